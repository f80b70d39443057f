// roam_netio: TCP connections served from the Node event loop without Node's streams.
//
// Why: at small pipelined messages Node's socket machinery (a Buffer per read, the Readable/Writable
// state machines, a write request per write) costs ~1 µs per request, as much as redis-server's whole
// work. Here a connection is an fd watched by a uv_poll_t on the main loop: when readable it is read into
// one fixed input buffer and JS is called once with (id, bytes); JS writes replies with write(id, view,
// len), a plain write(2) (what the kernel does not take at once is kept here and sent when writable).
//
//   init(onEvent) -> ArrayBuffer      the input buffer; onEvent(id, n): n > 0 bytes at [0, n), 0 closed,
//                                     -1 drained (queued replies all sent after some had to wait)
//   attach(fd) -> id                  dup(fd) (the caller then closes its own), non-blocking, NODELAY
//   write(id, view, len) -> bool      false when the connection is gone
//   end(id)                           flush, then shutdown(SHUT_WR); closed when the peer closes
//   destroy(id)                       close now (onEvent(id, 0) follows)
//   pause(id, bool)                   stop (true) / start (false) reading (backpressure: a peer that does not read its
//                                     replies is not read from either)
//   pending(id) -> bytes              queued here, not yet taken by the kernel
//   stats() -> [reads, writes, queuedWrites]
#include <node_api.h>
#include <uv.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <cstdlib>
#include <cstring>
#include <string>
#include <unordered_map>

namespace {

constexpr size_t kInput = 256 * 1024;
// A drained queue larger than this gives its memory back (a slow reader's burst must not stay resident).
constexpr size_t kKeep = 256 * 1024;

struct Conn {
  uv_poll_t poll;
  int fd;
  int id;
  std::string pending;  // bytes the kernel did not take yet
  bool ending = false;  // end(): shutdown once pending drains
  bool eof = false;     // the peer shut its side: close once pending drains, as Node's sockets do
  bool closed = false;
  bool paused = false;  // pause(): not read from until resume()
  size_t peak = 0;      // largest queue capacity seen: decides whether closing it is worth a malloc_trim
};

struct State {
  napi_env env = nullptr;
  napi_ref onEvent = nullptr;
  napi_async_context async = nullptr;
  char* input = nullptr;
  int nextId = 1;
  std::unordered_map<int, Conn*> conns;
  double reads = 0, writes = 0, queued = 0;
};
// Per thread: a worker thread has its own event loop and JS callback.
thread_local State* S = nullptr;

void Emit(int id, int n) {
  napi_env env = S->env;
  napi_handle_scope scope;
  napi_open_handle_scope(env, &scope);
  napi_value fn, recv, argv[2], result;
  napi_get_reference_value(env, S->onEvent, &fn);
  napi_get_global(env, &recv);  // make_callback wants an object receiver
  napi_create_int32(env, id, &argv[0]);
  napi_create_int32(env, n, &argv[1]);
  // make_callback: runs process.nextTick and microtasks after, as a socket 'data' event would.
  if (napi_make_callback(env, S->async, recv, fn, 2, argv, &result) == napi_pending_exception) {
    napi_value e;
    napi_get_and_clear_last_exception(env, &e);
    napi_fatal_exception(env, e);
  }
  napi_close_handle_scope(env, scope);
}

void OnClosed(uv_handle_t* h) {
  Conn* c = reinterpret_cast<Conn*>(h->data);
  bool big = c->peak > 4 * kKeep;
  delete c;
#ifdef __GLIBC__
  // glibc keeps freed heap for reuse; after a burst of MiBs queued for one peer, hand it back to the OS.
  if (big) malloc_trim(0);
#else
  (void)big;
#endif
}

// Frees a drained queue's memory when it grew large.
void Shrink(Conn* c) {
  if (c->pending.capacity() > c->peak) c->peak = c->pending.capacity();
  if (c->pending.empty() && c->pending.capacity() > kKeep) std::string().swap(c->pending);
}

// Closes the fd and tells JS once.
void Close(Conn* c) {
  if (c->closed) return;
  c->closed = true;
  S->conns.erase(c->id);
  uv_poll_stop(&c->poll);
  close(c->fd);
  uv_close(reinterpret_cast<uv_handle_t*>(&c->poll), OnClosed);
  Emit(c->id, 0);
}

void Watch(Conn* c);

// Writes as much of p[0, len) as the kernel takes now: the count, or -1 when the connection failed
// (and was closed).
ssize_t WriteSome(Conn* c, const char* p, size_t len) {
  size_t done = 0;
  while (done < len) {
    ssize_t n = ::write(c->fd, p + done, len - done);
    if (n > 0) done += static_cast<size_t>(n);
    else if (n < 0 && errno == EINTR) continue;
    else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    else {
      Close(c);
      return -1;
    }
  }
  return static_cast<ssize_t>(done);
}

// Writes what is pending; false when the connection is gone (it failed, or it drained after the peer's
// EOF and was closed).
bool Drain(Conn* c) {
  ssize_t n = WriteSome(c, c->pending.data(), c->pending.size());
  if (n < 0) return false;
  c->pending.erase(0, static_cast<size_t>(n));
  if (!c->pending.empty()) return true;
  Shrink(c);
  if (c->eof) {
    Close(c);
    return false;
  }
  if (c->ending) shutdown(c->fd, SHUT_WR);
  // JS may be holding the connection's input until its replies drain (backpressure): tell it.
  Emit(c->id, -1);
  return !c->closed;
}

void OnPoll(uv_poll_t* h, int status, int events) {
  Conn* c = reinterpret_cast<Conn*>(h->data);
  if (status < 0) return Close(c);
  if (events & UV_WRITABLE) {
    if (!Drain(c)) return;
    Watch(c);
  }
  if (!(events & UV_READABLE)) return;
  for (;;) {
    ssize_t n = ::read(c->fd, S->input, kInput);
    if (n > 0) {
      S->reads++;
      Emit(c->id, static_cast<int>(n));
      // JS may have destroyed or paused it; a full buffer means more is likely waiting.
      if (c->closed || c->paused || static_cast<size_t>(n) < kInput) return;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if (n == 0 && !c->pending.empty()) {
      // The peer half-closed with replies still queued here: send them, then close.
      c->eof = c->ending = true;
      return Watch(c);
    }
    return Close(c);  // 0: the peer closed; < 0: reset
  }
}

void Watch(Conn* c) {
  if (c->closed) return;
  // After the peer's EOF the fd stays readable for good: watch only for writability then.
  int events = c->pending.empty() ? 0 : UV_WRITABLE;
  if (!c->eof && !c->paused) events |= UV_READABLE;
  if (events == 0) uv_poll_stop(&c->poll);
  else uv_poll_start(&c->poll, events, OnPoll);
}

// The open connection whose id is the call's first argument (null when closed or unknown); the
// arguments land in argv.
Conn* Find(napi_env env, napi_callback_info info, size_t argc, napi_value* argv) {
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  int32_t id = 0;
  napi_get_value_int32(env, argv[0], &id);
  if (!S) return nullptr;
  auto it = S->conns.find(id);
  return it == S->conns.end() ? nullptr : it->second;
}

napi_value Throw(napi_env env, const char* msg) {
  napi_throw_error(env, "E_NETIO", msg);
  return nullptr;
}

napi_value Init(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  if (S) return Throw(env, "netio.init: already initialised in this thread (share one NativeNet per thread)");
  S = new State();
  S->env = env;
  napi_create_reference(env, argv[0], 1, &S->onEvent);
  napi_value name, resource;
  napi_create_string_utf8(env, "roam.netio", NAPI_AUTO_LENGTH, &name);
  napi_create_object(env, &resource);
  napi_async_init(env, resource, name, &S->async);
#ifdef __GLIBC__
  // Queues of MiBs (a slow reader's replies) are mapped and unmapped, not left in the heap: glibc's
  // dynamic threshold would otherwise move them to the brk heap after the first free, and a burst's
  // memory would stay resident after its connection closed (+60 MB measured after 400 MiB of replies).
  mallopt(M_MMAP_THRESHOLD, 1 << 20);
#endif
  S->input = static_cast<char*>(malloc(kInput));
  napi_value ab;
  napi_create_external_arraybuffer(env, S->input, kInput, nullptr, nullptr, &ab);
  return ab;
}

napi_value Attach(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  if (!S) return Throw(env, "netio.attach: call init first");
  int32_t fd = -1;
  napi_get_value_int32(env, argv[0], &fd);
  int own = dup(fd);
  if (own < 0) return Throw(env, strerror(errno));
  fcntl(own, F_SETFL, fcntl(own, F_GETFL) | O_NONBLOCK);
  int one = 1;
  setsockopt(own, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  uv_loop_t* loop;
  napi_get_uv_event_loop(env, &loop);
  Conn* c = new Conn();
  c->fd = own;
  c->id = S->nextId++;
  if (uv_poll_init(loop, &c->poll, own) != 0) {
    close(own);
    delete c;
    return Throw(env, "netio.attach: uv_poll_init failed");
  }
  c->poll.data = c;
  S->conns[c->id] = c;
  Watch(c);
  napi_value r;
  napi_create_int32(env, c->id, &r);
  return r;
}

napi_value Write(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  Conn* c = Find(env, info, 3, argv);
  napi_value r;
  if (!c || c->ending) {
    napi_get_boolean(env, false, &r);
    return r;
  }
  napi_typedarray_type type;
  size_t length, offset;
  void* data;
  napi_value ab;
  if (napi_get_typedarray_info(env, argv[1], &type, &length, &data, &ab, &offset) != napi_ok) return Throw(env, "netio.write: a Uint8Array");
  uint32_t len = 0;
  napi_get_value_uint32(env, argv[2], &len);
  if (len > length) return Throw(env, "netio.write: len beyond the view");
  S->writes++;
  const char* p = static_cast<const char*>(data);
  bool ok = true;
  if (c->pending.empty()) {
    ssize_t done = WriteSome(c, p, len);
    ok = done >= 0;
    if (ok && static_cast<size_t>(done) < len) {
      S->queued++;
      c->pending.assign(p + done, len - done);
      Watch(c);
    }
  } else {
    S->queued++;
    c->pending.append(p, len);
  }
  if (c->pending.capacity() > c->peak) c->peak = c->pending.capacity();
  napi_get_boolean(env, ok, &r);
  return r;
}

napi_value End(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  Conn* c = Find(env, info, 1, argv);
  if (c && !c->ending) {
    c->ending = true;
    if (c->pending.empty()) shutdown(c->fd, SHUT_WR);
  }
  return nullptr;
}

napi_value Destroy(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  Conn* c = Find(env, info, 1, argv);
  if (c) Close(c);
  return nullptr;
}

// pause(id, paused): backpressure from JS.
napi_value Pause(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  Conn* c = Find(env, info, 2, argv);
  bool paused = true;
  napi_get_value_bool(env, argv[1], &paused);
  if (c && c->paused != paused) {
    c->paused = paused;
    Watch(c);
  }
  return nullptr;
}

napi_value Pending(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  Conn* c = Find(env, info, 1, argv);
  napi_value r;
  napi_create_double(env, c ? static_cast<double>(c->pending.size()) : 0, &r);
  return r;
}

napi_value Stats(napi_env env, napi_callback_info) {
  napi_value arr, v;
  napi_create_array_with_length(env, 3, &arr);
  double xs[3] = {S ? S->reads : 0, S ? S->writes : 0, S ? S->queued : 0};
  for (uint32_t i = 0; i < 3; i++) {
    napi_create_double(env, xs[i], &v);
    napi_set_element(env, arr, i, v);
  }
  return arr;
}

// Hands freed heap back to the OS (glibc keeps it for reuse). Called by engine/wire/memory-relief.ts after a
// garbage collection that followed a connection with big output: V8 frees reply buffers only then.
napi_value Trim(napi_env env, napi_callback_info) {
  napi_value r;
#ifdef __GLIBC__
  napi_get_boolean(env, malloc_trim(0) != 0, &r);
#else
  napi_get_boolean(env, false, &r);
#endif
  return r;
}

napi_value ModuleInit(napi_env env, napi_value exports) {
  const napi_property_descriptor props[] = {
      {"init", nullptr, Init, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"attach", nullptr, Attach, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"write", nullptr, Write, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"end", nullptr, End, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"destroy", nullptr, Destroy, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"stats", nullptr, Stats, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"pause", nullptr, Pause, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"pending", nullptr, Pending, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"trim", nullptr, Trim, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

}  // namespace

NAPI_MODULE(roam_netio, ModuleInit)
