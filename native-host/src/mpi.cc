// MPI forwarding to the system libmpi. roam's MPI core (engine/mpi) does matching,
// communicators and collectives; this file moves bytes between world ranks, zero-copy:
// sends read and receives write the guest's linear memory through the Uint8Array view
// the caller passes (a view of the Wasm memory's ArrayBuffer, already bounds-checked).
#include <mpi.h>
#include <node_api.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <time.h>
#include <cerrno>
#include <unistd.h>
#include <cstdint>
#include <cstdlib>
#include <unordered_map>
#include <vector>

void RoamMpiWinFinalize();  // mpi-win.cc

namespace {

struct Pending {
  MPI_Request req;
  napi_ref keep;  // keeps the ArrayBuffer alive while MPI reads it
};
std::unordered_map<int32_t, Pending> sends;
int32_t next_id = 1;
int tag_ub = 32767;  // MPI_COMM_WORLD's MPI_TAG_UB, read at init
int my_rank = 0;     // MPI_COMM_WORLD rank, read at init (the call report names it)
// Sends up to this many bytes are one blocking MPI_Send (see SendW); ROAM_MPI_BLOCKING_SEND overrides.
long blocking_send = 4096;

#define CHECK(call)                                                   \
  do {                                                                \
    if ((call) != napi_ok) {                                          \
      napi_throw_error(env, nullptr, "roam native-host: N-API failed"); \
      return nullptr;                                                 \
    }                                                                 \
  } while (0)

napi_value Throw(napi_env env, const char* what, int rc) {
  char msg[MPI_MAX_ERROR_STRING + 64];
  char err[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, err, &len);
  snprintf(msg, sizeof msg, "%s failed: %s", what, err);
  napi_throw_error(env, nullptr, msg);
  return nullptr;
}

napi_value Num(napi_env env, double v) {
  napi_value r;
  napi_create_double(env, v, &r);
  return r;
}

// Keeps `view` alive while the send is in flight and returns the id testSend polls.
napi_value Track(napi_env env, Pending s, napi_value view) {
  CHECK(napi_create_reference(env, view, 1, &s.keep));
  int32_t id = next_id++;
  sends[id] = s;
  return Num(env, id);
}

bool Args(napi_env env, napi_callback_info info, size_t n, napi_value* argv) {
  size_t argc = n;
  return napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) == napi_ok && argc >= n;
}

int32_t I32(napi_env env, napi_value v) {
  int32_t r = 0;
  napi_get_value_int32(env, v, &r);
  return r;
}

// A Uint8Array's bytes (pointer into its ArrayBuffer: zero copy).
bool Bytes(napi_env env, napi_value v, uint8_t** data, size_t* len) {
  napi_typedarray_type type;
  napi_value ab;
  size_t off;
  void* p;
  if (napi_get_typedarray_info(env, v, &type, len, &p, &ab, &off) != napi_ok || type != napi_uint8_array) return false;
  *data = static_cast<uint8_t*>(p);
  return true;
}

napi_value Init(napi_env env, napi_callback_info) {
  // A rank dies with its launcher's proxy (its parent): when `roam mpirun --timeout` has to kill a
  // slow mpiexec, ranks spinning in a deadlock would otherwise live on, holding the job's pipes.
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  int flag = 0;
  MPI_Initialized(&flag);
  if (!flag) {
    int provided;
    int rc = MPI_Init_thread(nullptr, nullptr, MPI_THREAD_SINGLE, &provided);
    if (rc != MPI_SUCCESS) return Throw(env, "MPI_Init_thread", rc);
  }
  if (const char* b = getenv("ROAM_MPI_BLOCKING_SEND")) blocking_send = atol(b);
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  int rank, size, *tagub, ok;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  my_rank = rank;
  MPI_Comm_get_attr(MPI_COMM_WORLD, MPI_TAG_UB, &tagub, &ok);
  napi_value r;
  CHECK(napi_create_object(env, &r));
  napi_set_named_property(env, r, "rank", Num(env, rank));
  napi_set_named_property(env, r, "size", Num(env, size));
  if (ok) tag_ub = *tagub;
  napi_set_named_property(env, r, "tagUb", Num(env, tag_ub));
  return r;
}

// ---- the call a blocked rank is in, for `roam mpirun --timeout` ----
// The JS thread may be blocked inside libmpi, so no JS can answer. engine/mpi stores the current
// call and its arguments in `call_slot` (an Int32Array, call-state.ts) on entry to every MPI call;
// on SIGUSR1, which mpiexec (hydra, Open MPI) forwards to every rank on every host, this handler
// writes it to stderr as one marker, "\0roam-mpi-call:RANK:i0,...,i12\0", which the launcher's
// stderr forwarding brings to roam mpirun. Only write(2) and plain loads: async-signal-safe.
const int kSlotInts = 13;
int32_t* call_slot = nullptr;
napi_ref call_keep = nullptr;

void PutInt(char* buf, size_t& n, int64_t v) {
  char t[24];
  int k = 0;
  uint64_t u = v < 0 ? (uint64_t)(-v) : (uint64_t)v;
  do {
    t[k++] = (char)('0' + u % 10);
    u /= 10;
  } while (u);
  if (v < 0) buf[n++] = '-';
  while (k) buf[n++] = t[--k];
}

void OnReportSignal(int) {
  int saved = errno;
  char buf[256];
  size_t n = 0;
  const char* prefix = "roam-mpi-call:";
  buf[n++] = '\0';
  for (const char* p = prefix; *p; p++) buf[n++] = *p;
  PutInt(buf, n, my_rank);
  buf[n++] = ':';
  for (int i = 0; i < kSlotInts; i++) {
    if (i) buf[n++] = ',';
    PutInt(buf, n, call_slot ? call_slot[i] : 0);
  }
  buf[n++] = '\0';
  ssize_t w = write(2, buf, n);
  (void)w;
  errno = saved;
}

// reportCallOnSignal(Int32Array(13)): the call slot, and SIGUSR1 now writes it to stderr (replacing
// Node's SIGUSR1 handler, which would open the inspector: a rank under roam mpirun is not debugged so).
napi_value ReportCallOnSignal(napi_env env, napi_callback_info info) {
  napi_value a[1];
  if (!Args(env, info, 1, a)) return nullptr;
  napi_typedarray_type type;
  napi_value ab;
  size_t n, off;
  void* p;
  if (napi_get_typedarray_info(env, a[0], &type, &n, &p, &ab, &off) != napi_ok || type != napi_int32_array || n < (size_t)kSlotInts) {
    napi_throw_type_error(env, nullptr, "reportCallOnSignal: expected an Int32Array(13)");
    return nullptr;
  }
  if (call_keep) napi_delete_reference(env, call_keep);
  CHECK(napi_create_reference(env, a[0], 1, &call_keep));
  call_slot = static_cast<int32_t*>(p);
  struct sigaction sa = {};
  sa.sa_handler = OnReportSignal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  sigaction(SIGUSR1, &sa, nullptr);
  return nullptr;
}

// Completes every send still in flight (Ssend acks and MPI_Request_free'd sends are never
// tested by roam's core) before MPI_Finalize: finalizing with live requests is erroneous MPI.
napi_value Finalize(napi_env env, napi_callback_info) {
  int flag = 0;
  MPI_Finalized(&flag);
  if (flag) return nullptr;
  for (auto& [id, s] : sends) {
    MPI_Wait(&s.req, MPI_STATUS_IGNORE);
    if (s.keep) napi_delete_reference(env, s.keep);
  }
  sends.clear();
  RoamMpiWinFinalize();
  MPI_Finalize();
  return nullptr;
}

// isend(dest, tag, bytes, sync) -> id: MPI_Isend (MPI_Issend when sync) of the view's bytes, no copy.
// A synchronous send is libmpi's own, so it completes only once matched: no ack message on this wire.
napi_value Isend(napi_env env, napi_callback_info info) {
  napi_value a[4];
  if (!Args(env, info, 4, a)) return nullptr;
  uint8_t* p;
  size_t n;
  if (!Bytes(env, a[2], &p, &n)) {
    napi_throw_type_error(env, nullptr, "isend: bytes must be a Uint8Array");
    return nullptr;
  }
  Pending s;
  bool sync = false;
  napi_get_value_bool(env, a[3], &sync);
  int rc = (sync ? MPI_Issend : MPI_Isend)(p, (int)n, MPI_BYTE, I32(env, a[0]), I32(env, a[1]), MPI_COMM_WORLD, &s.req);
  if (rc != MPI_SUCCESS) return Throw(env, "MPI_Isend", rc);
  return Track(env, s, a[2]);
}

// testSend(id) -> bool
napi_value TestSend(napi_env env, napi_callback_info info) {
  napi_value a[1];
  if (!Args(env, info, 1, a)) return nullptr;
  auto it = sends.find(I32(env, a[0]));
  bool done = true;
  if (it != sends.end()) {
    int flag = 0;
    int rc = MPI_Test(&it->second.req, &flag, MPI_STATUS_IGNORE);
    if (rc != MPI_SUCCESS) return Throw(env, "MPI_Test", rc);
    done = flag != 0;
    if (done) {
      if (it->second.keep) napi_delete_reference(env, it->second.keep);
      sends.erase(it);
    }
  }
  napi_value r;
  napi_get_boolean(env, done, &r);
  return r;
}

// One message matched by MPI_(I)mprobe and not yet received: roam's core takes it next (recv),
// so matching order is libmpi's own and no other receive can steal it.
MPI_Message held = MPI_MESSAGE_NULL;
int held_src = 0, held_tag = 0, held_len = 0;

bool Hold(MPI_Message m, MPI_Status& st) {
  held = m;
  held_src = st.MPI_SOURCE;
  held_tag = st.MPI_TAG;
  MPI_Get_count(&st, MPI_BYTE, &held_len);
  return true;
}

// iprobe() -> [src, tag, len] | null: the held message, else the next one (MPI_Improbe).
napi_value Iprobe(napi_env env, napi_callback_info) {
  napi_value r;
  if (held == MPI_MESSAGE_NULL) {
    int flag = 0;
    MPI_Message m;
    MPI_Status st;
    int rc = MPI_Improbe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, &m, &st);
    if (rc != MPI_SUCCESS) return Throw(env, "MPI_Improbe", rc);
    if (!flag) {
      napi_get_null(env, &r);
      return r;
    }
    Hold(m, st);
  }
  napi_create_array_with_length(env, 3, &r);
  napi_set_element(env, r, 0, Num(env, held_src));
  napi_set_element(env, r, 1, Num(env, held_tag));
  napi_set_element(env, r, 2, Num(env, held_len));
  return r;
}

// recv(bytes): receives the held message straight into the view (MPI_Mrecv).
napi_value Recv(napi_env env, napi_callback_info info) {
  napi_value a[1];
  if (!Args(env, info, 1, a)) return nullptr;
  uint8_t* p;
  size_t n;
  if (!Bytes(env, a[0], &p, &n)) {
    napi_throw_type_error(env, nullptr, "recv: bytes must be a Uint8Array");
    return nullptr;
  }
  if (held == MPI_MESSAGE_NULL) {
    napi_throw_error(env, nullptr, "recv: no probed message");
    return nullptr;
  }
  int rc = MPI_Mrecv(p, held_len, MPI_BYTE, &held, MPI_STATUS_IGNORE);
  held = MPI_MESSAGE_NULL;
  if (rc != MPI_SUCCESS) return Throw(env, "MPI_Mrecv", rc);
  return nullptr;
}

// ---- direct point-to-point for a guest's blocking MPI_Send/MPI_Recv ----
// The hot path of a ping-pong: one call per operation with no N-API argument or result
// conversions (each costs tens of ns, as much as libmpi's whole shared-memory send): arguments
// and results go through `io`, an Int32Array shared with JS, and guest memory is addressed by
// offsets into `mem`, the Wasm memory's bytes, re-bound by JS whenever memory.buffer changes.
int32_t* io = nullptr;
napi_ref io_keep = nullptr;
uint8_t* mem = nullptr;
size_t mem_len = 0;

// bindIo(Int32Array(16)): the argument/result slots of sendW/recvW (backed by its own ArrayBuffer,
// so its storage never moves).
napi_value BindIo(napi_env env, napi_callback_info info) {
  napi_value a[1];
  if (!Args(env, info, 1, a)) return nullptr;
  napi_typedarray_type type;
  napi_value ab;
  size_t n, off;
  void* p;
  if (napi_get_typedarray_info(env, a[0], &type, &n, &p, &ab, &off) != napi_ok || type != napi_int32_array || n < 16) {
    napi_throw_type_error(env, nullptr, "bindIo: io must be an Int32Array(16)");
    return nullptr;
  }
  if (io_keep) napi_delete_reference(env, io_keep);
  CHECK(napi_create_reference(env, a[0], 1, &io_keep));
  io = static_cast<int32_t*>(p);
  return nullptr;
}

// bindMemory(ArrayBuffer): the guest's linear memory as it is now (after a memory.grow the old
// buffer is detached and JS binds the new one before the next call).
napi_value BindMemory(napi_env env, napi_callback_info info) {
  napi_value a[1];
  if (!Args(env, info, 1, a)) return nullptr;
  void* p;
  size_t n;
  if (napi_get_arraybuffer_info(env, a[0], &p, &n) != napi_ok) {
    napi_throw_type_error(env, nullptr, "bindMemory: expected the Wasm memory's ArrayBuffer");
    return nullptr;
  }
  mem = static_cast<uint8_t*>(p);
  mem_len = n;
  return nullptr;
}

// JS checks bounds before calling; this second check keeps a stale binding from ever reaching libmpi.
bool InMem(napi_env env, int32_t off, int32_t len) {
  if (io && mem && off >= 0 && len >= 0 && (size_t)off + (size_t)len <= mem_len) return true;
  napi_throw_range_error(env, nullptr, "roam native-host: guest buffer outside the bound memory");
  return false;
}

// sendW(): io = [off, len, dest, ctx, tag] -> 0 when the send completed, else an id for testSend.
// Up to `blocking_send` bytes one MPI_Send (below). Larger: MPI_Isend + MPI_Test, then keeps testing here for up to 2 ms
// (a rendezvous send waits for the receiver) before handing the wait to JS, whose loop also
// drains incoming messages, so head-to-head large sends cannot deadlock. While it tests here it
// does not probe: the reply to this very send would otherwise be pulled into a JS buffer and copied.
napi_value SendW(napi_env env, napi_callback_info) {
  if (!InMem(env, io ? io[0] : -1, io ? io[1] : -1)) return nullptr;
  int64_t wire = (int64_t)io[3] << 16 | io[4];
  if (wire > tag_ub) {
    napi_throw_range_error(env, nullptr, "sendW: context does not fit this MPI's tag range (MPI_TAG_UB)");
    return nullptr;
  }
  // Small sends are eager (buffered at the receiver or in shared memory), so MPI_Send returns without
  // waiting for a matching receive and two ranks sending to each other at once cannot deadlock; it is
  // also cheaper than MPI_Isend + MPI_Test, whose first test often finds a 4 KiB send still in progress
  // (0.63 vs 0.67 µs one-way at 4 KiB, native 0.58). MPICH 4.0 ch4:ucx here sends up to 8 KiB eagerly
  // (16 KiB deadlocks head to head natively); an MPI with a smaller eager limit wants
  // ROAM_MPI_BLOCKING_SEND lower (0: always Isend).
  if (io[1] <= blocking_send) {
    int rc = MPI_Send(mem + io[0], io[1], MPI_BYTE, io[2], (int)wire, MPI_COMM_WORLD);
    if (rc != MPI_SUCCESS) return Throw(env, "MPI_Send", rc);
    return Num(env, 0);
  }
  Pending s;
  int rc = MPI_Isend(mem + io[0], io[1], MPI_BYTE, io[2], (int)wire, MPI_COMM_WORLD, &s.req);
  if (rc != MPI_SUCCESS) return Throw(env, "MPI_Isend", rc);
  double t0 = 0;
  for (int i = 0;; i++) {
    int flag = 0;
    rc = MPI_Test(&s.req, &flag, MPI_STATUS_IGNORE);
    if (rc != MPI_SUCCESS) return Throw(env, "MPI_Test", rc);
    if (flag) return Num(env, 0);
    if (i == 0) t0 = MPI_Wtime();
    else if ((i & 63) == 0 && MPI_Wtime() - t0 > 2e-3) break;
  }
  s.keep = nullptr;  // guest memory lives as long as the instance; blocking sends finish before it can grow
  int32_t id = next_id++;
  sends[id] = s;
  return Num(env, id);
}

// recvW(): io = [off, cap, src (-1 any), ctx, tag (-1 any)] -> io[5..7] = [src, wire tag, bytes] and
//   1 received; 0 another message is held for the core; -1 the message is longer than cap (its length
//   in io[7]); -2 truncated by MPI_Recv (the message is gone and its length unknown).
// A specific tag is one posted MPI_Recv on the exact wire tag (ctx << 16 | tag): libmpi matches it
// as the message arrives and writes guest memory once, the cheapest receive there is (MPI_Mprobe +
// MPI_Mrecv cost ~0.08 us more per message here). MPI_Recv's truncation error loses the message's
// length, so the receive may run on past cap into the rest of linear memory (never past its end):
// truncation is fatal in roam (the job aborts before the guest runs again), so those bytes are
// never seen, and the error can name the real length. MPI_ANY_TAG cannot be one wire tag: it
// blocks in MPI_Mprobe on (src, any tag) and checks the context here. A message already held (an
// earlier probe of the core's) may match first and is looked at first.
napi_value RecvW(napi_env env, napi_callback_info) {
  if (!InMem(env, io ? io[0] : -1, io ? io[1] : -1)) return nullptr;
  int32_t off = io[0], cap = io[1], src = io[2], ctx = io[3], tag = io[4];
  MPI_Status st;
  if (held == MPI_MESSAGE_NULL && tag >= 0) {
    size_t room = mem_len - off < INT32_MAX ? mem_len - off : INT32_MAX;
    int rc = MPI_Recv(mem + off, (int)room, MPI_BYTE, src < 0 ? MPI_ANY_SOURCE : src, ctx << 16 | tag, MPI_COMM_WORLD, &st);
    io[5] = st.MPI_SOURCE;
    io[6] = st.MPI_TAG;
    int cls = 0;
    if (rc != MPI_SUCCESS) MPI_Error_class(rc, &cls);
    if (cls == MPI_ERR_TRUNCATE) return Num(env, -2);
    if (rc != MPI_SUCCESS) return Throw(env, "MPI_Recv", rc);
    MPI_Get_count(&st, MPI_BYTE, &io[7]);
    return Num(env, io[7] > cap ? -1 : 1);
  }
  if (held == MPI_MESSAGE_NULL) {
    MPI_Message m;
    int rc = MPI_Mprobe(src < 0 ? MPI_ANY_SOURCE : src, MPI_ANY_TAG, MPI_COMM_WORLD, &m, &st);
    if (rc != MPI_SUCCESS) return Throw(env, "MPI_Mprobe", rc);
    Hold(m, st);
  }
  io[5] = held_src;
  io[6] = held_tag;
  io[7] = held_len;
  bool match = (src < 0 || held_src == src) && (held_tag >> 16) == ctx && (tag < 0 || (held_tag & 0xffff) == tag);
  if (!match) return Num(env, 0);
  if (held_len > cap) return Num(env, -1);
  int rc = MPI_Mrecv(mem + off, held_len, MPI_BYTE, &held, MPI_STATUS_IGNORE);
  held = MPI_MESSAGE_NULL;
  if (rc != MPI_SUCCESS) return Throw(env, "MPI_Mrecv", rc);
  return Num(env, 1);
}

// ---- direct nonblocking point-to-point (MPI_Isend/MPI_Irecv of contiguous guest buffers) ----
// One libmpi request per guest request, on guest memory, arguments in `io` like sendW/recvW. A receive is
// posted on the exact wire tag, so libmpi matches it itself and writes the guest buffer once (the core's
// Improbe + Mrecv + JS objects per message are what made a 64-message window 4-19x slower than native).
std::vector<MPI_Request> dreqs;  // id = index + 1
std::vector<int32_t> dfree;

int32_t DirectSlot(MPI_Request r) {
  if (dfree.empty()) {
    dreqs.push_back(r);
    return (int32_t)dreqs.size();
  }
  int32_t id = dfree.back();
  dfree.pop_back();
  dreqs[id - 1] = r;
  return id;
}

// isendW(): io = [off, len, dest, ctx, tag, sync] -> request id.
napi_value IsendW(napi_env env, napi_callback_info) {
  if (!InMem(env, io ? io[0] : -1, io ? io[1] : -1)) return nullptr;
  MPI_Request r;
  int rc = (io[5] ? MPI_Issend : MPI_Isend)(mem + io[0], io[1], MPI_BYTE, io[2], io[3] << 16 | io[4], MPI_COMM_WORLD, &r);
  if (rc != MPI_SUCCESS) return Throw(env, "MPI_Isend", rc);
  return Num(env, DirectSlot(r));
}

// irecvW(): io = [off, cap, src (-1 any), ctx, tag] -> request id.
napi_value IrecvW(napi_env env, napi_callback_info) {
  if (!InMem(env, io ? io[0] : -1, io ? io[1] : -1)) return nullptr;
  MPI_Request r;
  int rc = MPI_Irecv(mem + io[0], io[1], MPI_BYTE, io[2] < 0 ? MPI_ANY_SOURCE : io[2], io[3] << 16 | io[4], MPI_COMM_WORLD, &r);
  if (rc != MPI_SUCCESS) return Throw(env, "MPI_Irecv", rc);
  return Num(env, DirectSlot(r));
}

// testW(): io[8] = id -> 0 pending; 1 done (io[5..7] = [src, wire tag, bytes]); -2 truncated (receive);
// 2 cancelled. A done request's id is free again.
napi_value TestW(napi_env env, napi_callback_info) {
  int32_t id = io[8];
  if (id < 1 || (size_t)id > dreqs.size()) {
    napi_throw_range_error(env, nullptr, "testW: invalid request id");
    return nullptr;
  }
  MPI_Status st;
  int flag = 0;
  int rc = MPI_Test(&dreqs[id - 1], &flag, &st);
  if (rc != MPI_SUCCESS && rc != MPI_ERR_IN_STATUS) {
    int cls = 0;
    MPI_Error_class(rc, &cls);
    if (cls != MPI_ERR_TRUNCATE) return Throw(env, "MPI_Test", rc);
    flag = 1;
  }
  if (!flag) return Num(env, 0);
  dfree.push_back(id);
  int cancelled = 0;
  MPI_Test_cancelled(&st, &cancelled);
  if (cancelled) return Num(env, 2);
  io[5] = st.MPI_SOURCE;
  io[6] = st.MPI_TAG;
  int cls = 0;
  if (st.MPI_ERROR != MPI_SUCCESS && rc != MPI_SUCCESS) MPI_Error_class(st.MPI_ERROR, &cls);
  if (rc != MPI_SUCCESS && (cls == MPI_ERR_TRUNCATE || rc == MPI_ERR_TRUNCATE)) return Num(env, -2);
  MPI_Get_count(&st, MPI_BYTE, &io[7]);
  return Num(env, 1);
}

// cancelW(): io[8] = id: MPI_Cancel (testW then reports 2 if it was cancelled).
napi_value CancelW(napi_env env, napi_callback_info) {
  int32_t id = io[8];
  if (id < 1 || (size_t)id > dreqs.size()) return nullptr;
  int rc = MPI_Cancel(&dreqs[id - 1]);
  if (rc != MPI_SUCCESS) return Throw(env, "MPI_Cancel", rc);
  return nullptr;
}

// nop(): nothing; benchmarks/mpi/floor.ts times it (the cost of a JS -> N-API call on this machine).
napi_value Nop(napi_env, napi_callback_info) { return nullptr; }

// yield(spins): lets other ranks run when this one has nothing to do (ranks may outnumber cores).
napi_value Yield(napi_env env, napi_callback_info info) {
  napi_value a[1];
  if (!Args(env, info, 1, a)) return nullptr;
  if (I32(env, a[0]) < 200) {
    sched_yield();
  } else {
    struct timespec ts = {0, 20000};
    nanosleep(&ts, nullptr);
  }
  return nullptr;
}

// ABI handle (wasm32 sizes) -> this libmpi's datatype, or MPI_DATATYPE_NULL when roam's own
// reduction must run instead (the caller then falls back).
MPI_Datatype Dt(int h) {
  switch (h) {
    case 0x201: return MPI_INT32_T;       // MPI_AINT: 4 bytes on wasm32
    case 0x202: case 0x203: return MPI_INT64_T;
    case 0x208: return MPI_SHORT;
    case 0x209: case 0x250: case 0x20a: return MPI_INT32_T;  // int, int32_t, long (4 bytes on wasm32)
    case 0x20b: case 0x258: return MPI_INT64_T;
    case 0x20c: case 0x249: return MPI_UINT16_T;
    case 0x20d: case 0x251: case 0x20e: return MPI_UINT32_T;
    case 0x20f: case 0x259: return MPI_UINT64_T;
    case 0x210: return MPI_FLOAT;
    case 0x214: return MPI_DOUBLE;
    case 0x229: return MPI_DOUBLE_INT;   // {double, int} padded to 16 on both
    case 0x22b: return MPI_2INT;
    case 0x228: return MPI_FLOAT_INT;
    case 0x240: case 0x243: case 0x244: return MPI_INT8_T;
    case 0x241: case 0x245: return MPI_UINT8_T;
    case 0x247: return MPI_BYTE;
    case 0x248: return MPI_INT16_T;
    default: return MPI_DATATYPE_NULL;
  }
}
MPI_Op Op(int h) {
  switch (h) {
    case 0x21: return MPI_SUM; case 0x22: return MPI_MIN; case 0x23: return MPI_MAX; case 0x24: return MPI_PROD;
    case 0x28: return MPI_BAND; case 0x29: return MPI_BOR; case 0x2a: return MPI_BXOR;
    case 0x30: return MPI_LAND; case 0x31: return MPI_LOR; case 0x32: return MPI_LXOR;
    case 0x38: return MPI_MINLOC; case 0x39: return MPI_MAXLOC;
    default: return MPI_OP_NULL;
  }
}

napi_value Bool(napi_env env, bool b) {
  napi_value r;
  napi_get_boolean(env, b, &r);
  return r;
}

// allreduce(send | null (in place), recv, count, typeHandle, opHandle) -> false when unmapped.
napi_value Allreduce(napi_env env, napi_callback_info info) {
  napi_value a[5];
  if (!Args(env, info, 5, a)) return nullptr;
  MPI_Datatype dt = Dt(I32(env, a[3]));
  MPI_Op op = Op(I32(env, a[4]));
  if (dt == MPI_DATATYPE_NULL || op == MPI_OP_NULL) return Bool(env, false);
  uint8_t *sp = nullptr, *rp;
  size_t sn, rn;
  napi_valuetype t;
  napi_typeof(env, a[0], &t);
  if (t != napi_null && !Bytes(env, a[0], &sp, &sn)) return Bool(env, false);
  if (!Bytes(env, a[1], &rp, &rn)) return Bool(env, false);
  int rc = MPI_Allreduce(sp ? (void*)sp : MPI_IN_PLACE, rp, I32(env, a[2]), dt, op, MPI_COMM_WORLD);
  if (rc != MPI_SUCCESS) return Throw(env, "MPI_Allreduce", rc);
  return Bool(env, true);
}

// bcast(view, root): the view's bytes from root on MPI_COMM_WORLD.
napi_value Bcast(napi_env env, napi_callback_info info) {
  napi_value a[2];
  if (!Args(env, info, 2, a)) return nullptr;
  uint8_t* p;
  size_t n;
  if (!Bytes(env, a[0], &p, &n)) return Bool(env, false);
  int rc = MPI_Bcast(p, (int)n, MPI_BYTE, I32(env, a[1]), MPI_COMM_WORLD);
  if (rc != MPI_SUCCESS) return Throw(env, "MPI_Bcast", rc);
  return Bool(env, true);
}

napi_value Barrier(napi_env env, napi_callback_info) {
  int rc = MPI_Barrier(MPI_COMM_WORLD);
  if (rc != MPI_SUCCESS) return Throw(env, "MPI_Barrier", rc);
  return Bool(env, true);
}

// ---- collectives on MPI_COMM_WORLD through io (no N-API arguments, no views per call) ----
// io[9..14] = [send offset (-1: MPI_IN_PLACE), recv offset, count, type handle, op handle, root], offsets
// into the bound guest memory (JS checked the extents); each returns 1, or 0 when the type or op has
// no libmpi twin (JS then runs roam's own algorithm).
uint8_t* Off(int32_t off) { return off < 0 ? (uint8_t*)MPI_IN_PLACE : mem + off; }
bool InMem2(napi_env env, int32_t off, int64_t len) { return off < 0 || InMem(env, off, (int32_t)len); }

napi_value AllreduceW(napi_env env, napi_callback_info) {
  MPI_Datatype dt = Dt(io[12]);
  MPI_Op op = Op(io[13]);
  if (dt == MPI_DATATYPE_NULL || op == MPI_OP_NULL || !mem) return Num(env, 0);
  int rc = MPI_Allreduce(Off(io[9]), mem + io[10], io[11], dt, op, MPI_COMM_WORLD);
  if (rc != MPI_SUCCESS) return Throw(env, "MPI_Allreduce", rc);
  return Num(env, 1);
}
napi_value ReduceW(napi_env env, napi_callback_info) {
  MPI_Datatype dt = Dt(io[12]);
  MPI_Op op = Op(io[13]);
  if (dt == MPI_DATATYPE_NULL || op == MPI_OP_NULL || !mem) return Num(env, 0);
  int rc = MPI_Reduce(Off(io[9]), io[10] < 0 ? nullptr : mem + io[10], io[11], dt, op, io[14], MPI_COMM_WORLD);
  if (rc != MPI_SUCCESS) return Throw(env, "MPI_Reduce", rc);
  return Num(env, 1);
}
// bcastW(): io[10] = offset, io[11] = bytes, io[14] = root.
napi_value BcastW(napi_env env, napi_callback_info) {
  if (!mem) return Num(env, 0);
  int rc = MPI_Bcast(mem + io[10], io[11], MPI_BYTE, io[14], MPI_COMM_WORLD);
  if (rc != MPI_SUCCESS) return Throw(env, "MPI_Bcast", rc);
  return Num(env, 1);
}
// alltoallW(): io[9] = send offset (-1: in place), io[10] = recv offset, io[11] = bytes per peer.
napi_value AlltoallW(napi_env env, napi_callback_info) {
  if (!mem) return Num(env, 0);
  int rc = io[9] < 0 ? MPI_Alltoall(MPI_IN_PLACE, 0, MPI_BYTE, mem + io[10], io[11], MPI_BYTE, MPI_COMM_WORLD)
                     : MPI_Alltoall(mem + io[9], io[11], MPI_BYTE, mem + io[10], io[11], MPI_BYTE, MPI_COMM_WORLD);
  if (rc != MPI_SUCCESS) return Throw(env, "MPI_Alltoall", rc);
  return Num(env, 1);
}

napi_value Wtime(napi_env env, napi_callback_info) { return Num(env, MPI_Wtime()); }

// MPI_Abort ends this process with exit(), from inside a JS call while V8's platform threads
// still run; exit()'s static destructors then race them. An atexit handler registered last runs
// first and leaves at once with the abort code (output is already written: fd writes, sync pipes).
int abort_code = 1;
void ExitNow() { _exit(abort_code); }

napi_value Abort(napi_env env, napi_callback_info info) {
  napi_value a[1];
  if (!Args(env, info, 1, a)) return nullptr;
  abort_code = I32(env, a[0]);
  atexit(ExitNow);
  MPI_Abort(MPI_COMM_WORLD, abort_code);
  _exit(abort_code);  // MPI_Abort does not return; this is for an MPI that does
}

napi_value ProcessorName(napi_env env, napi_callback_info) {
  char name[MPI_MAX_PROCESSOR_NAME];
  int len = 0;
  MPI_Get_processor_name(name, &len);
  napi_value r;
  napi_create_string_utf8(env, name, len, &r);
  return r;
}

}  // namespace

// Shared with mpi-win.cc (one-sided communication): the bound guest memory and the ABI maps.
uint8_t* RoamMpiMem(size_t* len) {
  *len = mem_len;
  return mem;
}
MPI_Datatype RoamMpiDt(int h) { return Dt(h); }
MPI_Op RoamMpiOp(int h) { return Op(h); }
napi_value RoamMpiThrow(napi_env env, const char* what, int rc) { return Throw(env, what, rc); }
void RoamMpiWinInit(napi_env env, napi_value o);

napi_value RoamMpiInit(napi_env env, napi_value) {
  napi_value o;
  napi_create_object(env, &o);
  struct { const char* name; napi_callback cb; } fns[] = {
      {"init", Init}, {"finalize", Finalize}, {"isend", Isend}, {"testSend", TestSend}, {"iprobe", Iprobe},
      {"recv", Recv}, {"bindIo", BindIo}, {"bindMemory", BindMemory}, {"sendW", SendW}, {"recvW", RecvW}, {"isendW", IsendW}, {"irecvW", IrecvW}, {"testW", TestW}, {"cancelW", CancelW}, {"nop", Nop}, {"yield", Yield}, {"allreduce", Allreduce}, {"allreduceW", AllreduceW}, {"reduceW", ReduceW}, {"bcastW", BcastW}, {"alltoallW", AlltoallW}, {"bcast", Bcast}, {"barrier", Barrier}, {"wtime", Wtime}, {"abort", Abort}, {"processorName", ProcessorName}, {"reportCallOnSignal", ReportCallOnSignal},
  };
  for (auto& f : fns) {
    napi_value fn;
    napi_create_function(env, f.name, NAPI_AUTO_LENGTH, f.cb, nullptr, &fn);
    napi_set_named_property(env, o, f.name, fn);
  }
  RoamMpiWinInit(env, o);
  return o;
}
