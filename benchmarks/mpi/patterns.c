/* patterns: the measurements of a standard MPI micro-benchmark suite, in one program built both
 * with `roam cc` and with MPICH's mpicc (benchmarks/mpi/run.ts runs both in one invocation).
 * Usage: patterns p2p|coll [ITERS]. Every size gets WARMUP untimed iterations first, as the
 * usual suites do, and the first size is reported like the others (it pays any warm-up left).
 *   latency B us     blocking ping-pong (MPI_Send / MPI_Recv with a status), one-way
 *   bw B MB/s        64 x MPI_Isend (rank 0) / MPI_Irecv (rank 1), MPI_Waitall, 4-byte ack
 *   bibw B MB/s      the same in both directions at once
 *   coll NAME B us   allreduce (doubles, sum), bcast, reduce, alltoall (B per peer), barrier
 */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WARMUP 100
#define WINDOW 64
static int rank, size;

static void latency(char *buf, int bytes, int iters) {
  MPI_Status st;
  double t0 = 0;
  for (int i = 0; i < WARMUP + iters; i++) {
    if (i == WARMUP) { MPI_Barrier(MPI_COMM_WORLD); t0 = MPI_Wtime(); }
    if (rank == 0) {
      MPI_Send(buf, bytes, MPI_CHAR, 1, 1, MPI_COMM_WORLD);
      MPI_Recv(buf, bytes, MPI_CHAR, 1, 1, MPI_COMM_WORLD, &st);
    } else if (rank == 1) {
      MPI_Recv(buf, bytes, MPI_CHAR, 0, 1, MPI_COMM_WORLD, &st);
      MPI_Send(buf, bytes, MPI_CHAR, 0, 1, MPI_COMM_WORLD);
    }
  }
  if (rank == 0) printf("latency %d %.3f\n", bytes, (MPI_Wtime() - t0) * 1e6 / (2.0 * iters));
}

static void bandwidth(char *sbuf, char *rbuf, int bytes, int iters, int bidir) {
  MPI_Request req[2 * WINDOW];
  double t0 = 0;
  int ack = 0;
  for (int i = 0; i < WARMUP / 10 + iters; i++) {
    if (i == WARMUP / 10) { MPI_Barrier(MPI_COMM_WORLD); t0 = MPI_Wtime(); }
    int n = 0;
    if (rank == 0 || (bidir && rank == 1)) {
      int peer = 1 - rank;
      if (bidir) for (int k = 0; k < WINDOW; k++) MPI_Irecv(rbuf + (size_t)k * bytes, bytes, MPI_CHAR, peer, 2, MPI_COMM_WORLD, &req[n++]);
      for (int k = 0; k < WINDOW; k++) MPI_Isend(sbuf + (size_t)k * bytes, bytes, MPI_CHAR, peer, 2, MPI_COMM_WORLD, &req[n++]);
      MPI_Waitall(n, req, MPI_STATUSES_IGNORE);
      if (!bidir) MPI_Recv(&ack, 1, MPI_INT, 1, 3, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    } else if (rank == 1) {
      for (int k = 0; k < WINDOW; k++) MPI_Irecv(rbuf + (size_t)k * bytes, bytes, MPI_CHAR, 0, 2, MPI_COMM_WORLD, &req[n++]);
      MPI_Waitall(n, req, MPI_STATUSES_IGNORE);
      MPI_Send(&ack, 1, MPI_INT, 0, 3, MPI_COMM_WORLD);
    }
  }
  double s = MPI_Wtime() - t0;
  if (rank == 0) printf("%s %d %.1f\n", bidir ? "bibw" : "bw", bytes, (double)bytes * WINDOW * iters * (bidir ? 2 : 1) / s / 1e6);
}

static void coll(const char *name, char *a, char *b, int bytes, int iters) {
  double t0 = 0;
  int n = bytes / 8 > 0 ? bytes / 8 : 1;
  for (int i = 0; i < WARMUP + iters; i++) {
    if (i == WARMUP) { MPI_Barrier(MPI_COMM_WORLD); t0 = MPI_Wtime(); }
    if (!strcmp(name, "allreduce")) MPI_Allreduce(a, b, n, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
    else if (!strcmp(name, "reduce")) MPI_Reduce(a, b, n, MPI_DOUBLE, MPI_SUM, 0, MPI_COMM_WORLD);
    else if (!strcmp(name, "bcast")) MPI_Bcast(a, bytes, MPI_CHAR, 0, MPI_COMM_WORLD);
    else if (!strcmp(name, "alltoall")) MPI_Alltoall(a, bytes, MPI_CHAR, b, bytes, MPI_CHAR, MPI_COMM_WORLD);
    else MPI_Barrier(MPI_COMM_WORLD);
  }
  double us = (MPI_Wtime() - t0) * 1e6 / iters, max;
  MPI_Reduce(&us, &max, 1, MPI_DOUBLE, MPI_MAX, 0, MPI_COMM_WORLD);
  if (rank == 0) printf("coll %s %d %.3f\n", name, bytes, max);
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  const char *what = argc > 1 ? argv[1] : "p2p";
  int iters = argc > 2 ? atoi(argv[2]) : 1000;
  size_t max = 64 << 10; /* the largest size measured (x WINDOW per buffer) */
  char *a = malloc(max * WINDOW), *b = malloc(max * WINDOW);
  memset(a, 1, max * WINDOW);
  memset(b, 2, max * WINDOW);
  if (!strcmp(what, "p2p") || !strcmp(what, "bw")) {
    int lat[] = {0, 8, 64, 1024, 4096, 65536};
    if (what[0] == 'p') for (int i = 0; i < 6; i++) latency(a, lat[i], lat[i] >= 65536 ? iters / 10 : iters);
    int bws[] = {8, 64, 1024, 4096, 65536};
    for (int i = 0; i < 5; i++) bandwidth(a, b, bws[i], bws[i] >= 65536 ? iters / 100 + 5 : iters / 10, 0);
    for (int i = 0; i < 5; i++) bandwidth(a, b, bws[i], bws[i] >= 65536 ? iters / 100 + 5 : iters / 10, 1);
  } else {
    const char *names[] = {"allreduce", "bcast", "reduce", "alltoall"};
    int sizes[] = {8, 64, 1024, 65536};
    for (int k = 0; k < 4; k++)
      for (int i = 0; i < 4; i++) coll(names[k], a, b, sizes[i], sizes[i] >= 65536 ? iters / 10 : iters);
    coll("barrier", a, b, 0, iters);
  }
  MPI_Finalize();
  return 0;
}
