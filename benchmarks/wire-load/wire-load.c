// wire-load: roam's counterpart of redis-benchmark, in C like it, so that both servers in the Redis
// comparison are driven by load generators of the same cost. It speaks the roam wire protocol
// (engine/wire/README.md): per connection it writes `pipeline` pre-encoded CALL frames in one write,
// waits for all their replies, then writes the next batch (redis-benchmark -P); one thread, poll().
// Payload: an 8-byte little-endian key drawn uniformly from 1..keys, then `value` bytes of 'x'.
// An ERROR reply containing "slot busy" (kv's "retry") is re-sent in the next batch, not counted.
// Prints one line of JSON: {"ops": requests per second, "retries": n, "seconds": s, "cpu_us": its own
// user + system CPU time}.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { HEADER = 16, MAX_CONNS = 64, MAX_PIPE = 1024, MAX_VALUE = 1024, KIND_CALL = 1, KIND_ERROR = 3 };

struct conn {
  int fd;
  int waiting;
  uint64_t keys[MAX_PIPE]; // the key each id of the current batch carries
  uint64_t again[MAX_PIPE]; // keys to re-send in the next batch
  int nagain;
  unsigned char in[1 << 16];
  size_t have;
};

static long requests_left;
static long retries;
static int pipeline, bundle, type, value_len, place;
static uint64_t nkeys;
static uint64_t rng = 88172645463325252ull;

static uint64_t next_key(void) {
  rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
  return rng % nkeys + 1;
}

static void put_u16(unsigned char *p, unsigned v) { p[0] = v; p[1] = v >> 8; }
static void put_u32(unsigned char *p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = v >> (8 * i); }
static uint32_t get_u32(const unsigned char *p) { return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24; }

static void die(const char *what) {
  fprintf(stderr, "wire-load: %s: %s\n", what, strerror(errno));
  exit(2);
}

/** Writes the connection's next batch (retries first); returns 0 when there is nothing left to send. */
static int send_batch(struct conn *c) {
  static unsigned char out[MAX_PIPE * (HEADER + 8 + MAX_VALUE)];
  int n = c->nagain;
  long fresh = pipeline - n < requests_left ? pipeline - n : requests_left;
  requests_left -= fresh;
  n += (int)fresh;
  if (n == 0) return 0;
  size_t at = 0;
  for (int i = 0; i < n; i++) {
    uint64_t k = i < c->nagain ? c->again[i] : next_key();
    c->keys[i] = k;
    unsigned char *f = out + at;
    f[0] = 0xB7; f[1] = 1; f[2] = KIND_CALL; f[3] = place & 0x0f;
    put_u32(f + 4, (uint32_t)i);
    put_u16(f + 8, bundle);
    put_u16(f + 10, type);
    put_u32(f + 12, 8 + value_len);
    for (int b = 0; b < 8; b++) f[HEADER + b] = k >> (8 * b);
    memset(f + HEADER + 8, 'x', value_len);
    at += HEADER + 8 + value_len;
  }
  c->nagain = 0;
  c->waiting = n;
  for (size_t done = 0; done < at;) {
    ssize_t w = write(c->fd, out + done, at - done);
    if (w < 0) die("write");
    done += (size_t)w;
  }
  return 1;
}

/** Consumes whole reply frames; returns -1 on an unexpected error reply. */
static int on_replies(struct conn *c) {
  size_t at = 0;
  while (c->have - at >= HEADER) {
    uint32_t len = get_u32(c->in + at + 12);
    if (len > sizeof c->in - HEADER) { fprintf(stderr, "wire-load: reply of %u bytes is larger than the buffer\n", len); exit(2); }
    if (c->have - at - HEADER < len) break;
    if (c->in[at + 2] == KIND_ERROR) {
      uint32_t id = get_u32(c->in + at + 4);
      if (memmem(c->in + at + HEADER, len, "slot busy", 9) != NULL && id < (uint32_t)pipeline) {
        c->again[c->nagain++] = c->keys[id];
        retries++;
      } else {
        fprintf(stderr, "wire-load: request failed: %.*s\n", (int)len, (const char *)c->in + at + HEADER);
        return -1;
      }
    }
    at += HEADER + len;
    c->waiting--;
  }
  memmove(c->in, c->in + at, c->have - at);
  c->have -= at;
  return 0;
}

int main(int argc, char **argv) {
  int port = 0, conns = 4;
  long requests = 100000;
  pipeline = 16; nkeys = 10000; type = 1;
  int opt;
  while ((opt = getopt(argc, argv, "p:c:P:n:b:t:k:d:l:")) != -1) {
    switch (opt) {
      case 'p': port = atoi(optarg); break;
      case 'c': conns = atoi(optarg); break;
      case 'P': pipeline = atoi(optarg); break;
      case 'n': requests = atol(optarg); break;
      case 'b': bundle = atoi(optarg); break;
      case 't': type = atoi(optarg); break;
      case 'k': nkeys = strtoull(optarg, NULL, 10); break;
      case 'd': value_len = atoi(optarg); break;
      case 'l': place = atoi(optarg); break;
      default:
        fprintf(stderr, "usage: wire-load -p port -b bundle [-t type] [-c conns] [-P pipeline] [-n requests] [-k keys] [-d value bytes] [-l place]\n");
        return 2;
    }
  }
  if (port <= 0 || conns < 1 || conns > MAX_CONNS || pipeline < 1 || pipeline > MAX_PIPE || value_len < 0 || value_len > MAX_VALUE || nkeys < 1) {
    fprintf(stderr, "wire-load: bad arguments (need -p, 1 <= -c <= %d, 1 <= -P <= %d, 0 <= -d <= %d)\n", MAX_CONNS, MAX_PIPE, MAX_VALUE);
    return 2;
  }
  requests_left = requests;
  static struct conn cs[MAX_CONNS];
  struct pollfd pf[MAX_CONNS];
  struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
  inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
  for (int i = 0; i < conns; i++) {
    cs[i].fd = socket(AF_INET, SOCK_STREAM, 0);
    if (cs[i].fd < 0 || connect(cs[i].fd, (struct sockaddr *)&a, sizeof a) != 0) die("connect");
    int one = 1;
    setsockopt(cs[i].fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    pf[i].fd = cs[i].fd;
    pf[i].events = POLLIN;
  }
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  int active = 0;
  for (int i = 0; i < conns; i++) active += send_batch(&cs[i]);
  while (active > 0) {
    if (poll(pf, conns, 10000) <= 0) die("poll (no reply in 10 s)");
    for (int i = 0; i < conns; i++) {
      if (!(pf[i].revents & (POLLIN | POLLHUP | POLLERR)) || pf[i].fd < 0) continue;
      struct conn *c = &cs[i];
      ssize_t r = read(c->fd, c->in + c->have, sizeof c->in - c->have);
      if (r <= 0) { fprintf(stderr, "wire-load: the server closed the connection\n"); return 2; }
      c->have += (size_t)r;
      if (on_replies(c) != 0) return 1;
      if (c->waiting == 0 && !send_batch(c)) {
        pf[i].fd = -1;
        active--;
      }
    }
  }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  double s = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  double cpu_us = (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e6 + ru.ru_utime.tv_usec + ru.ru_stime.tv_usec;
  printf("{\"ops\": %.1f, \"retries\": %ld, \"seconds\": %.4f, \"cpu_us\": %.0f}\n", requests / s, retries, s, cpu_us);
  return 0;
}
