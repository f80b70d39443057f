// roam_ucx: UCX (UCP) for roam's remote regions (engine/rdma). One context and one worker per JS thread,
// progressed from that thread's event loop: a uv_poll on the worker's event fd, a uv_prepare that
// progresses and re-arms the worker before the loop sleeps whenever a JS call progressed it, and a
// 100 ms uv_timer so keepalive still finds dead peers when nothing else happens.
//
// Completions reach JS in batches: onEvents(n, comps, events) with comps an Int32Array of n
// (request id, status) pairs and events (rare: endpoint errors, active messages, revocations) an array
// or undefined. An operation first spins up to `spinNs` on the worker and returns 0 when it completed
// in that time (no batch entry); 1 means pending (its completion comes in a batch), < 0 an error.
//
// Regions: `register` maps existing memory (a view on an ArrayBuffer, SharedArrayBuffer or POSIX shm
// mapping); `rkey` packs roam's key: [magic, id, gen, uuid, base, len, UCX packed rkey]. A client
// unpacks it against an endpoint, then reads, writes and runs atomics by offset (bounds-checked here)
// either one-sided (ucp_get/put/atomic_op_nbx) or as a request answered by the owner's addon in its
// active-message handler (mode 'am': no JS runs at the owner), per key.
// `deregister` refuses the key at once for 'am' requests, tells every connected peer (REVOKE), waits
// for each to flush its endpoints and acknowledge (or die; 2 s at most), then unmaps.
#include <node_api.h>
#include <v8.h>
#include <uv.h>
#include <ucp/api/ucp.h>

#include <sys/syscall.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <random>
#include <set>
#include <tuple>
#include <string>
#include <unordered_map>
#include <vector>

namespace {

// Active-message ids: below kAmBase for users, the rest roam's own.
constexpr unsigned kAmBase = 60000, AM_REQ = kAmBase, AM_REPLY = kAmBase + 1, AM_REVOKE = kAmBase + 2, AM_ACK = kAmBase + 3;
constexpr uint32_t kMagic = 0x31594b52;  // "RKY1"
// roam's status codes beside UCS's (all negative): see engine/rdma/errors.ts.
constexpr int32_t E_REVOKED = -1000, E_BOUNDS = -1001, E_ALIGN = -1002, E_NOKEY = -1003, E_DEAD = -1004, E_CLOSED = -1005, E_EXITED = -1006, E_BUSY = -1007, E_TIMEOUT = -1008;
enum Op : uint8_t { OP_GET = 1, OP_PUT = 2, OP_ATOMIC = 3, OP_SEQREAD = 4 };
constexpr int kSeqTries = 1000;  // per request; the client asks again on E_BUSY (seqlock.ts)
enum Ev : int32_t { EV_EP_ERROR = 1, EV_AM = 2, EV_REVOKED = 3 };

#pragma pack(push, 1)
// flags bit 0: UCX-allocated memory (a peer on this machine maps it: one-sided access is direct).
struct KeyHdr { uint32_t magic, id, gen, packedLen; uint64_t uuid, base, len; uint32_t flags, pad; };
struct ReqHdr { uint8_t op, aop, width, pad; uint32_t id, gen, len; uint64_t off, a, b; uint32_t token; };
struct RepHdr { uint32_t token; int32_t status; uint64_t old; };
struct RevHdr { uint64_t uuid; uint32_t id, gen, token; };
#pragma pack(pop)

// allocated: UCX's own memory (alloc), shown to JS as a SharedArrayBuffer; unmapped only once both
// revoked and no longer referenced from JS (jsHeld), since the buffer points into it.
struct Region {
  uint8_t* base = nullptr;
  size_t len = 0;
  ucp_mem_h memh = nullptr;
  uint32_t gen = 0;
  bool live = false, revoking = false, allocated = false, jsHeld = false;
  napi_ref keep = nullptr;
};
// An endpoint to a peer on this machine (its pid known) uses UCX's shared-memory transports, which
// in UCX 1.13 refuse UCP_ERR_HANDLING_MODE_PEER: its death is seen here instead, through a pidfd.
// closing: disconnected while JS still holds a mapping of a key unpacked on it; UCX wants keys destroyed
// before their endpoint, so the close waits for the last mapping to be collected.
struct Ep { ucp_ep_h ep = nullptr; int32_t err = 0; bool live = false, peerMode = true; int pidfd = -1; uv_poll_t* watch = nullptr; bool closing = false; };
// jsMaps: SharedArrayBuffers over the peer's memory (map) still alive; a key dropped meanwhile is a
// zombie (refused, its slot kept) until they are collected: destroying it would unmap their memory.
struct Rkey {
  ucp_rkey_h rkey = nullptr;
  uint32_t ep = 0, id = 0, gen = 0;
  uint64_t uuid = 0, base = 0, len = 0;
  bool am = false, live = false, revoked = false;
  uint32_t slotGen = 0;
  int32_t jsMaps = 0;
  bool zombie = false;
};
struct Req {
  uint32_t id = 0, ep = 0, token = 0;
  int32_t status = 0;
  uint64_t deadline = 0;  // 'am' requests: failed E_TIMEOUT past it (an owner alive but not answering)
  bool sync = false, done = false, abandoned = false;
  napi_ref keep = nullptr;
  uint8_t* local = nullptr;  // get: destination; atomic: [operand, result]
  size_t localLen = 0;
  ReqHdr hdr{};               // 'am' requests: the header stays valid until the send completes
};
struct Revocation { uint32_t region; std::set<uint32_t> waiting; uint64_t deadline; };

struct State {
  napi_env env = nullptr;
  ucp_context_h ctx = nullptr;
  ucp_worker_h worker = nullptr;
  uv_poll_t poll;
  uv_prepare_t prep;
  uv_timer_t timer;
  bool dirty = false, open = false;
  napi_ref onEvents = nullptr, comps[2] = {nullptr, nullptr};
  int32_t* compsData[2] = {nullptr, nullptr};
  int flip = 0;
  napi_async_context async = nullptr;
  std::vector<int32_t> done;  // (id, status) pairs not yet given to JS
  struct Event { int32_t kind, a, b; std::vector<uint8_t> h, d; };
  std::vector<Event> events;
  std::vector<Region> regions;
  std::vector<Ep> eps;
  std::vector<Rkey> rkeys;
  std::unordered_map<uint32_t, Req*> amReqs;
  std::set<Req*> pendingRma;  // issued one-sided requests not yet completed (failed here when a local peer exits)
  std::unordered_map<uint32_t, Revocation> revocations;
  std::set<std::tuple<uint64_t, uint32_t, uint32_t>> revokedKeys;  // (owner uuid, id, gen) revoked by their owners
  uint32_t nextToken = 1, nextRevocation = 1;
  uint64_t uuid = 0, spinNs = 20000, amTimeoutNs = 10000000000ull;
  int64_t pending = 0;
  std::string lastError;
};
constexpr int kCompCap = 4096;  // pairs per JS call
thread_local State* S = nullptr;

uint64_t NowNs() {
  timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return uint64_t(t.tv_sec) * 1000000000ull + uint64_t(t.tv_nsec);
}

napi_value Throw(napi_env env, const std::string& msg) {
  napi_throw_error(env, "E_UCX", msg.c_str());
  return nullptr;
}
napi_value Int(napi_env env, int32_t v) { napi_value r; napi_create_int32(env, v, &r); return r; }
napi_value Undef(napi_env env) { napi_value r; napi_get_undefined(env, &r); return r; }

void Args(napi_env env, napi_callback_info info, size_t n, napi_value* argv) {
  size_t argc = n;
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  for (size_t i = argc; i < n; i++) napi_get_undefined(env, &argv[i]);
}
int32_t I32(napi_env env, napi_value v) { int32_t r = 0; napi_get_value_int32(env, v, &r); return r; }
double F64(napi_env env, napi_value v) { double r = 0; napi_get_value_double(env, v, &r); return r; }
bool Bytes(napi_env env, napi_value v, uint8_t** p, size_t* n) {
  bool is = false;
  napi_is_typedarray(env, v, &is);
  if (!is) return false;
  napi_typedarray_type t;
  size_t len;
  void* data;
  napi_value ab;
  size_t off;
  if (napi_get_typedarray_info(env, v, &t, &len, &data, &ab, &off) != napi_ok) return false;
  size_t el = (t == napi_int8_array || t == napi_uint8_array || t == napi_uint8_clamped_array) ? 1
              : (t == napi_int16_array || t == napi_uint16_array) ? 2
              : (t == napi_bigint64_array || t == napi_biguint64_array || t == napi_float64_array) ? 8 : 4;
  *p = static_cast<uint8_t*>(data);
  *n = len * el;
  return true;
}

// ---- the exported functions' shared prologue ------------------------------------------------------

// A typed array's bytes (any element type); `ok` false when the value is not a typed array.
struct View {
  uint8_t* p = nullptr;
  size_t n = 0;
  bool ok = false;
};

// An exported function's N arguments, read at once (missing ones undefined), with typed readers.
template <size_t N>
struct Argv {
  napi_env env;
  napi_value v[N ? N : 1];
  napi_value operator[](size_t i) const { return v[i]; }
  int32_t i32(size_t i) const { return I32(env, v[i]); }
  double f64(size_t i) const { return F64(env, v[i]); }
  bool boolean(size_t i) const { bool b = false; napi_get_value_bool(env, v[i], &b); return b; }
  View view(size_t i) const { View w; w.ok = Bytes(env, v[i], &w.p, &w.n); return w; }
};

napi_value Copy(napi_env env, const void* p, size_t n) {
  void* d;
  napi_value ab;
  napi_create_arraybuffer(env, n, &d, &ab);
  if (n) memcpy(d, p, n);
  return ab;
}

// ---- completions ---------------------------------------------------------------------------------

void Release(Req* r) {
  if (r->keep) napi_delete_reference(S->env, r->keep);
  delete r;
}

// A request finished. Spun-on requests are finished by their caller; the rest go to the next batch.
void Complete(Req* r, int32_t status) {
  if (r->abandoned) { delete r; return; }  // failed when its peer exited; UCX lets go of it only now
  if (r->sync) { r->done = true; r->status = status; return; }
  S->pendingRma.erase(r);
  S->done.push_back(int32_t(r->id));
  S->done.push_back(status);
  S->pending--;
  Release(r);
}

void OnSent(void* request, ucs_status_t status, void* user) {
  Complete(static_cast<Req*>(user), status);
  ucp_request_free(request);
}

// 'am' requests: the send completing only matters when it failed (the reply completes them).
void OnReqSent(void* request, ucs_status_t status, void* user) {
  uint32_t token = uint32_t(reinterpret_cast<uintptr_t>(user));
  ucp_request_free(request);
  if (status == UCS_OK) return;
  auto it = S->amReqs.find(token);
  if (it == S->amReqs.end()) return;
  Req* r = it->second;
  S->amReqs.erase(it);
  Complete(r, status);
}

void OnFreeSent(void* request, ucs_status_t, void* user) {
  free(user);
  ucp_request_free(request);
}

void FailAmReqs(uint32_t ep, int32_t status) {
  for (auto it = S->amReqs.begin(); it != S->amReqs.end();) {
    if (it->second->ep == ep) { Req* r = it->second; it = S->amReqs.erase(it); Complete(r, status); }
    else ++it;
  }
}

void FinishRevocation(uint32_t token);

void StopWatch(Ep& e) {
  if (e.watch) { uv_close(reinterpret_cast<uv_handle_t*>(e.watch), [](uv_handle_t* h) { delete reinterpret_cast<uv_poll_t*>(h); }); e.watch = nullptr; }
  if (e.pidfd >= 0) { close(e.pidfd); e.pidfd = -1; }
}

// ucs_status_t is one byte (a packed enum): roam's statuses travel as int32_t.
void FailEp(uint32_t i, int32_t status) {
  if (i >= S->eps.size() || !S->eps[i].live || S->eps[i].err) return;
  S->eps[i].err = status;
  FailAmReqs(i, status);
  if (!S->eps[i].peerMode) {
    // UCX will not fail these itself: fail them now, and free them whenever UCX lets them go.
    for (auto it = S->pendingRma.begin(); it != S->pendingRma.end();) {
      Req* r = *it;
      if (r->ep != i) { ++it; continue; }
      it = S->pendingRma.erase(it);
      S->done.push_back(int32_t(r->id));
      S->done.push_back(status);
      S->pending--;
      if (r->keep) napi_delete_reference(S->env, r->keep);
      r->keep = nullptr;
      r->abandoned = true;
    }
    StopWatch(S->eps[i]);
  }
  S->events.push_back({EV_EP_ERROR, int32_t(i), status, {}, {}});
  std::vector<uint32_t> finished;
  for (auto& [tok, rv] : S->revocations) if (rv.waiting.erase(i) && rv.waiting.empty()) finished.push_back(tok);
  for (uint32_t t : finished) FinishRevocation(t);
}

void OnEpError(void* arg, ucp_ep_h, ucs_status_t status) { FailEp(uint32_t(reinterpret_cast<uintptr_t>(arg)), status); }

// Hands what completed to JS, kCompCap pairs per call, through the two Int32Arrays in turn (a call
// made from inside onEvents cannot overwrite what it is still reading).
void Deliver() {
  if (S->done.empty() && S->events.empty()) return;
  napi_env env = S->env;
  napi_handle_scope scope;
  napi_open_handle_scope(env, &scope);
  std::vector<int32_t> done;
  done.swap(S->done);
  std::vector<State::Event> events;
  events.swap(S->events);
  napi_value fn, recv, result;
  napi_get_reference_value(env, S->onEvents, &fn);
  napi_get_global(env, &recv);
  size_t pairs = done.size() / 2, at = 0;
  do {
    size_t n = pairs - at < size_t(kCompCap) ? pairs - at : size_t(kCompCap);
    S->flip ^= 1;
    if (n) memcpy(S->compsData[S->flip], done.data() + at * 2, n * 8);
    at += n;
    napi_value argv[3];
    argv[0] = Int(env, int32_t(n));
    napi_get_reference_value(env, S->comps[S->flip], &argv[1]);
    argv[2] = Undef(env);
    if (at == pairs && !events.empty()) {
      napi_create_array_with_length(env, events.size(), &argv[2]);
      for (size_t i = 0; i < events.size(); i++) {
        napi_value e;
        napi_create_array_with_length(env, 5, &e);
        napi_set_element(env, e, 0, Int(env, events[i].kind));
        napi_set_element(env, e, 1, Int(env, events[i].a));
        napi_set_element(env, e, 2, Int(env, events[i].b));
        napi_set_element(env, e, 3, Copy(env, events[i].h.data(), events[i].h.size()));
        napi_set_element(env, e, 4, Copy(env, events[i].d.data(), events[i].d.size()));
        napi_set_element(env, argv[2], uint32_t(i), e);
      }
    }
    if (napi_make_callback(env, S->async, recv, fn, 3, argv, &result) == napi_pending_exception) {
      napi_value e;
      napi_get_and_clear_last_exception(env, &e);
      napi_fatal_exception(env, e);
    }
  } while (at < pairs);
  napi_close_handle_scope(env, scope);
}

void UpdateRef() {
  if (S->pending > 0) uv_ref(reinterpret_cast<uv_handle_t*>(&S->poll));
  else uv_unref(reinterpret_cast<uv_handle_t*>(&S->poll));
}

// Progress until quiet, then arm the event fd (UCS_ERR_BUSY: events arrived meanwhile; go again).
void Drain() {
  if (!S || !S->open) return;
  for (;;) {
    while (ucp_worker_progress(S->worker)) {}
    if (ucp_worker_arm(S->worker) != UCS_ERR_BUSY) break;
  }
  S->dirty = false;
  Deliver();
  if (S && S->open) UpdateRef();
}

// SharedArrayBuffers over allocated regions are freed by V8 on any thread: queued here, unmapped by
// the owning thread's timer.
struct Freed { State* s; uint32_t idx, gen; bool key; };  // key: a mapping of a peer's key, else an allocated region
std::mutex freedLock;
std::vector<Freed> freedList;
void SabFreed(void*, size_t, void* data) {
  Freed* f = static_cast<Freed*>(data);
  std::lock_guard<std::mutex> l(freedLock);
  freedList.push_back(*f);
  delete f;
}
// Forgets a key: destroyed now, or a zombie while JS holds mappings of it.
void ReleaseKey(Rkey& k) {
  if (!k.live) return;
  k.live = false;
  if (k.jsMaps > 0) { k.zombie = true; return; }
  ucp_rkey_destroy(k.rkey);
  k.rkey = nullptr;
}

ucs_status_ptr_t CloseEp(Ep& e);
void FinishClose(uint32_t i) {
  Ep& e = S->eps[i];
  for (Rkey& k : S->rkeys) if (k.zombie && k.ep == i) return;  // a mapping still lives
  ucs_status_ptr_t sp = CloseEp(e);
  if (UCS_PTR_IS_PTR(sp)) {
    uint64_t end = NowNs() + 1000000000ull;
    while (ucp_request_check_status(sp) == UCS_INPROGRESS && NowNs() < end) ucp_worker_progress(S->worker);
    ucp_request_free(sp);
  }
  e = Ep{};
}

void KeyMapFreed(uint32_t idx, uint32_t slotGen) {
  if (idx >= S->rkeys.size()) return;
  Rkey& k = S->rkeys[idx];
  if (k.slotGen != slotGen || --k.jsMaps > 0 || !k.zombie) return;
  ucp_rkey_destroy(k.rkey);
  k.rkey = nullptr;
  k.zombie = false;
  if (S->eps[k.ep].closing) FinishClose(k.ep);
}

void UnmapFreed() {
  std::vector<Freed> mine;
  {
    std::lock_guard<std::mutex> l(freedLock);
    for (size_t i = 0; i < freedList.size();) {
      if (freedList[i].s == S) { mine.push_back(freedList[i]); freedList[i] = freedList.back(); freedList.pop_back(); }
      else i++;
    }
  }
  for (Freed& f : mine) {
    if (f.key) { KeyMapFreed(f.idx, f.gen); continue; }
    Region& g = S->regions[f.idx];
    if (g.gen != f.gen || !g.allocated) continue;
    g.jsHeld = false;
    if (!g.live && g.memh) { ucp_mem_unmap(S->ctx, g.memh); g.memh = nullptr; }
  }
}

void OnPoll(uv_poll_t*, int, int) { Drain(); }
void OnPeerExit(uv_poll_t* h, int, int) {
  if (!S || !S->open) return;
  FailEp(uint32_t(reinterpret_cast<uintptr_t>(h->data)), E_EXITED);
  Drain();
}
void OnPrepare(uv_prepare_t*) { if (S && S->dirty) Drain(); }
void OnTimer(uv_timer_t*) {
  if (!S || !S->open) return;
  uint64_t now = NowNs();
  std::vector<uint32_t> late;
  for (auto& [tok, rv] : S->revocations) if (now > rv.deadline) late.push_back(tok);
  for (uint32_t t : late) FinishRevocation(t);
  for (auto it = S->amReqs.begin(); it != S->amReqs.end();) {
    if (it->second->deadline > now) { ++it; continue; }
    Req* r = it->second;
    it = S->amReqs.erase(it);  // a reply coming later finds no request and is dropped
    Complete(r, E_TIMEOUT);
  }
  UnmapFreed();
  Drain();
}

// Spins up to spinNs for a request just posted; 0 done, < 0 failed, 1 pending (completion batched).
int32_t Finish(Req* r, ucs_status_ptr_t sp, napi_value keep) {
  if (sp == nullptr) { Release(r); return 0; }
  if (UCS_PTR_IS_ERR(sp)) { Release(r); return UCS_PTR_STATUS(sp); }
  S->dirty = true;
  r->sync = true;
  if (S->spinNs && S->pending == 0) {  // with requests already in flight the caller pipelines: no spin
    uint64_t end = NowNs() + S->spinNs;
    while (!r->done) {
      if (!ucp_worker_progress(S->worker) && NowNs() > end) break;
    }
  }
  if (r->done) { int32_t st = r->status; Release(r); return st; }
  r->sync = false;
  if (keep) napi_create_reference(S->env, keep, 1, &r->keep);
  S->pending++;
  S->pendingRma.insert(r);
  UpdateRef();
  return 1;
}

// An 'am' request waits for its reply, not its send.
int32_t FinishAm(Req* r, napi_value keep) {
  r->token = S->nextToken++;
  r->hdr.token = r->token;
  r->deadline = NowNs() + S->amTimeoutNs;
  r->sync = true;
  S->amReqs[r->token] = r;
  ucp_request_param_t p{};
  p.op_attr_mask = UCP_OP_ATTR_FIELD_CALLBACK | UCP_OP_ATTR_FIELD_USER_DATA | UCP_OP_ATTR_FIELD_FLAGS;
  p.flags = UCP_AM_SEND_FLAG_REPLY;
  p.cb.send = OnReqSent;
  p.user_data = reinterpret_cast<void*>(uintptr_t(r->token));
  const void* data = r->hdr.op == OP_PUT ? r->local : nullptr;
  size_t dlen = r->hdr.op == OP_PUT ? r->localLen : 0;
  ucs_status_ptr_t sp = ucp_am_send_nbx(S->eps[r->ep].ep, AM_REQ, &r->hdr, sizeof(ReqHdr), data, dlen, &p);
  S->dirty = true;
  if (UCS_PTR_IS_ERR(sp)) { S->amReqs.erase(r->token); Release(r); return UCS_PTR_STATUS(sp); }
  // A put's data must outlive a pending send: wait for the reply (which comes after the data landed).
  uint64_t end = NowNs() + (S->pending == 0 ? S->spinNs : 0);
  while (!r->done) {
    if (!ucp_worker_progress(S->worker) && NowNs() > end) break;
  }
  if (r->done) { int32_t st = r->status; Release(r); return st; }
  r->sync = false;
  if (keep) napi_create_reference(S->env, keep, 1, &r->keep);
  S->pending++;
  UpdateRef();
  return 1;
}

// ---- the owner's side of 'am' requests --------------------------------------------------------------

int32_t CheckRegion(uint32_t id, uint32_t gen, uint64_t off, uint64_t len, uint32_t align, Region** out) {
  if (id == 0 || id > S->regions.size()) return E_NOKEY;
  Region& g = S->regions[id - 1];
  if (!g.live || g.gen != gen) return E_REVOKED;
  if (g.revoking) return E_REVOKED;
  if (off > g.len || len > g.len - off) return E_BOUNDS;
  if (align > 1 && ((reinterpret_cast<uintptr_t>(g.base) + off) % align)) return E_ALIGN;
  *out = &g;
  return 0;
}

void Reply(ucp_ep_h ep, uint32_t token, int32_t status, uint64_t old, const void* data, size_t len) {
  uint8_t* buf = static_cast<uint8_t*>(malloc(sizeof(RepHdr) + len));
  RepHdr h{token, status, old};
  memcpy(buf, &h, sizeof h);
  if (len) memcpy(buf + sizeof h, data, len);
  ucp_request_param_t p{};
  p.op_attr_mask = UCP_OP_ATTR_FIELD_CALLBACK | UCP_OP_ATTR_FIELD_USER_DATA;
  p.cb.send = OnFreeSent;
  p.user_data = buf;
  ucs_status_ptr_t sp = ucp_am_send_nbx(ep, AM_REPLY, buf, sizeof h, buf + sizeof h, len, &p);
  if (!UCS_PTR_IS_PTR(sp)) free(buf);
}

uint64_t DoAtomic(uint8_t* at, uint8_t op, uint8_t width, uint64_t a, uint64_t b) {
  if (width == 4) {
    uint32_t* p = reinterpret_cast<uint32_t*>(at);
    uint32_t x = uint32_t(a), y = uint32_t(b);
    switch (op) {
      case UCP_ATOMIC_OP_ADD: return __atomic_fetch_add(p, x, __ATOMIC_SEQ_CST);
      case UCP_ATOMIC_OP_SWAP: return __atomic_exchange_n(p, x, __ATOMIC_SEQ_CST);
      default: __atomic_compare_exchange_n(p, &x, y, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST); return x;
    }
  }
  uint64_t* p = reinterpret_cast<uint64_t*>(at);
  switch (op) {
    case UCP_ATOMIC_OP_ADD: return __atomic_fetch_add(p, a, __ATOMIC_SEQ_CST);
    case UCP_ATOMIC_OP_SWAP: return __atomic_exchange_n(p, a, __ATOMIC_SEQ_CST);
    default: __atomic_compare_exchange_n(p, &a, b, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST); return a;
  }
}

// A seqlocked record (u32 version first, odd while a writer holds it, as kv's slots): copied whole
// while the version stays even and unchanged, so one round trip gives the client a consistent copy.
void SeqRead(ucp_ep_h ep, uint32_t token, uint8_t* at, uint32_t len) {
  std::vector<uint8_t> copy(len);
  uint32_t* ver = reinterpret_cast<uint32_t*>(at);
  for (int t = 0; t < kSeqTries; t++) {
    uint32_t v = __atomic_load_n(ver, __ATOMIC_ACQUIRE);
    if (v & 1) {
#if defined(__x86_64__) || defined(__i386__)
      __builtin_ia32_pause();  // let the writer's core finish
#endif
      continue;
    }
    memcpy(copy.data(), at, len);
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    uint32_t first;
    memcpy(&first, copy.data(), 4);
    if (first == v && __atomic_load_n(ver, __ATOMIC_ACQUIRE) == v) return Reply(ep, token, 0, v, copy.data(), len);
  }
  Reply(ep, token, E_BUSY, 0, nullptr, 0);
}

struct PutRecv { ucp_ep_h ep; uint32_t token; };
void OnPutData(void* request, ucs_status_t status, size_t, void* user) {
  PutRecv* pr = static_cast<PutRecv*>(user);
  Reply(pr->ep, pr->token, status, 0, nullptr, 0);
  delete pr;
  ucp_request_free(request);
}

ucs_status_t OnReq(void*, const void* header, size_t hlen, void* data, size_t len, const ucp_am_recv_param_t* prm) {
  bool rndv = prm->recv_attr & UCP_AM_RECV_ATTR_FLAG_RNDV;
  if (hlen != sizeof(ReqHdr) || !(prm->recv_attr & UCP_AM_RECV_ATTR_FIELD_REPLY_EP)) {
    if (rndv) ucp_am_data_release(S->worker, data);
    return UCS_OK;
  }
  ReqHdr h;
  memcpy(&h, header, sizeof h);
  // Refused: answered with the status, and rendezvous data the request brought let go of.
  auto refuse = [&](int32_t status) {
    if (rndv) ucp_am_data_release(S->worker, data);
    Reply(prm->reply_ep, h.token, status, 0, nullptr, 0);
    return UCS_OK;
  };
  Region* g = nullptr;
  if (h.op < OP_GET || h.op > OP_SEQREAD || (h.op == OP_ATOMIC && h.aop > UCP_ATOMIC_OP_CSWAP)) return refuse(E_NOKEY);
  if (rndv && h.op != OP_PUT) return refuse(E_BOUNDS);
  uint32_t align = h.op == OP_ATOMIC ? h.width : h.op == OP_SEQREAD ? 4 : 1;
  if (h.op == OP_SEQREAD && h.len < 4) return refuse(E_BOUNDS);
  uint64_t n = h.op == OP_ATOMIC ? h.width : h.len;
  if (h.op == OP_ATOMIC && h.width != 4 && h.width != 8) return refuse(E_ALIGN);
  if (h.op == OP_PUT && len != h.len) return refuse(E_BOUNDS);
  int32_t st = CheckRegion(h.id, h.gen, h.off, n, align, &g);
  if (st) return refuse(st);
  uint8_t* at = g->base + h.off;
  if (h.op == OP_SEQREAD) SeqRead(prm->reply_ep, h.token, at, h.len);
  else if (h.op == OP_GET) Reply(prm->reply_ep, h.token, 0, 0, at, h.len);
  else if (h.op == OP_ATOMIC) Reply(prm->reply_ep, h.token, 0, DoAtomic(at, h.aop, h.width, h.a, h.b), nullptr, 0);
  else if (h.op == OP_PUT && (prm->recv_attr & UCP_AM_RECV_ATTR_FLAG_RNDV)) {
    PutRecv* pr = new PutRecv{prm->reply_ep, h.token};
    ucp_request_param_t p{};
    p.op_attr_mask = UCP_OP_ATTR_FIELD_CALLBACK | UCP_OP_ATTR_FIELD_USER_DATA;
    p.cb.recv_am = OnPutData;
    p.user_data = pr;
    ucs_status_ptr_t sp = ucp_am_recv_data_nbx(S->worker, data, at, len, &p);
    if (!UCS_PTR_IS_PTR(sp)) { Reply(prm->reply_ep, h.token, UCS_PTR_STATUS(sp), 0, nullptr, 0); delete pr; }
  } else if (h.op == OP_PUT) {
    memcpy(at, data, len);
    Reply(prm->reply_ep, h.token, 0, 0, nullptr, 0);
  }
  return UCS_OK;
}

void OnGetData(void* request, ucs_status_t status, size_t, void* user) {
  Complete(static_cast<Req*>(user), status);
  ucp_request_free(request);
}

ucs_status_t OnReply(void*, const void* header, size_t hlen, void* data, size_t len, const ucp_am_recv_param_t* prm) {
  if (hlen != sizeof(RepHdr)) return UCS_OK;
  RepHdr h;
  memcpy(&h, header, sizeof h);
  auto it = S->amReqs.find(h.token);
  if (it == S->amReqs.end()) return UCS_OK;
  Req* r = it->second;
  S->amReqs.erase(it);
  if (h.status == 0 && r->hdr.op == OP_ATOMIC) memcpy(r->local + 8, &h.old, r->hdr.width);
  if (h.status == 0 && (r->hdr.op == OP_GET || r->hdr.op == OP_SEQREAD)) {
    size_t n = len < r->localLen ? len : r->localLen;
    if (prm->recv_attr & UCP_AM_RECV_ATTR_FLAG_RNDV) {
      ucp_request_param_t p{};
      p.op_attr_mask = UCP_OP_ATTR_FIELD_CALLBACK | UCP_OP_ATTR_FIELD_USER_DATA;
      p.cb.recv_am = OnGetData;
      p.user_data = r;
      ucs_status_ptr_t sp = ucp_am_recv_data_nbx(S->worker, data, r->local, n, &p);
      if (!UCS_PTR_IS_PTR(sp)) Complete(r, UCS_PTR_STATUS(sp));
      return UCS_OK;
    }
    memcpy(r->local, data, n);
  }
  Complete(r, h.status);
  return UCS_OK;
}

// ---- revocation ---------------------------------------------------------------------------------------

void FinishRevocation(uint32_t token) {
  auto it = S->revocations.find(token);
  if (it == S->revocations.end()) return;
  uint32_t idx = it->second.region;
  int32_t late = int32_t(it->second.waiting.size());
  S->revocations.erase(it);
  Region& g = S->regions[idx];
  if (g.memh && !(g.allocated && g.jsHeld)) { ucp_mem_unmap(S->ctx, g.memh); g.memh = nullptr; }
  g.live = g.revoking = false;
  if (g.keep) napi_delete_reference(S->env, g.keep);
  g.keep = nullptr;
  S->events.push_back({EV_REVOKED, int32_t(idx + 1), late, {}, {}});
}

struct AckSend { uint32_t ep; RevHdr h; };
void SendAck(uint32_t ep, const RevHdr& h) {
  if (ep >= S->eps.size() || !S->eps[ep].live || S->eps[ep].err) return;
  RevHdr* buf = static_cast<RevHdr*>(malloc(sizeof(RevHdr)));
  *buf = h;
  ucp_request_param_t p{};
  p.op_attr_mask = UCP_OP_ATTR_FIELD_CALLBACK | UCP_OP_ATTR_FIELD_USER_DATA;
  p.cb.send = OnFreeSent;
  p.user_data = buf;
  ucs_status_ptr_t sp = ucp_am_send_nbx(S->eps[ep].ep, AM_ACK, buf, sizeof(RevHdr), nullptr, 0, &p);
  if (!UCS_PTR_IS_PTR(sp)) free(buf);
}
void OnFlushed(void* request, ucs_status_t, void* user) {
  AckSend* a = static_cast<AckSend*>(user);
  SendAck(a->ep, a->h);
  delete a;
  ucp_request_free(request);
}

// A peer revoked one of its keys: refuse it from now on, let what was issued on it finish (flush),
// then acknowledge on the same endpoint so the owner may unmap.
ucs_status_t OnRevoke(void*, const void* header, size_t hlen, void*, size_t, const ucp_am_recv_param_t* prm) {
  if (hlen != sizeof(RevHdr)) return UCS_OK;
  RevHdr h;
  memcpy(&h, header, sizeof h);
  std::set<uint32_t> eps;
  S->revokedKeys.insert({h.uuid, h.id, h.gen});
  for (Rkey& k : S->rkeys)
    if (k.live && k.uuid == h.uuid && k.id == h.id && k.gen == h.gen) { k.revoked = true; eps.insert(k.ep); }
  if (eps.empty()) {
    if (prm->recv_attr & UCP_AM_RECV_ATTR_FIELD_REPLY_EP) {
      RevHdr* buf = static_cast<RevHdr*>(malloc(sizeof(RevHdr)));
      *buf = h;
      ucp_request_param_t p{};
      p.op_attr_mask = UCP_OP_ATTR_FIELD_CALLBACK | UCP_OP_ATTR_FIELD_USER_DATA;
      p.cb.send = OnFreeSent;
      p.user_data = buf;
      ucs_status_ptr_t sp = ucp_am_send_nbx(prm->reply_ep, AM_ACK, buf, sizeof(RevHdr), nullptr, 0, &p);
      if (!UCS_PTR_IS_PTR(sp)) free(buf);
    }
    return UCS_OK;
  }
  for (uint32_t ep : eps) {
    if (!S->eps[ep].live || S->eps[ep].err) continue;
    AckSend* a = new AckSend{ep, h};
    ucp_request_param_t p{};
    p.op_attr_mask = UCP_OP_ATTR_FIELD_CALLBACK | UCP_OP_ATTR_FIELD_USER_DATA;
    p.cb.send = OnFlushed;
    p.user_data = a;
    ucs_status_ptr_t sp = ucp_ep_flush_nbx(S->eps[ep].ep, &p);
    if (!UCS_PTR_IS_PTR(sp)) { SendAck(ep, h); delete a; }
  }
  return UCS_OK;
}

// The ack carries the revoking endpoint's index in its token's low 16 bits.
ucs_status_t OnAck(void*, const void* header, size_t hlen, void*, size_t, const ucp_am_recv_param_t*) {
  if (hlen != sizeof(RevHdr)) return UCS_OK;
  RevHdr h;
  memcpy(&h, header, sizeof h);
  auto it = S->revocations.find(h.token >> 16);
  if (it == S->revocations.end() || h.uuid != S->uuid) return UCS_OK;
  it->second.waiting.erase(h.token & 0xffff);
  if (it->second.waiting.empty()) FinishRevocation(h.token >> 16);
  return UCS_OK;
}

// ---- user active messages ---------------------------------------------------------------------------

void OnUserData(void* request, ucs_status_t status, size_t, void* user) {
  State::Event* e = static_cast<State::Event*>(user);
  if (status == UCS_OK) S->events.push_back(std::move(*e));
  delete e;
  ucp_request_free(request);
}

// A peer decides how much it sends: messages above this are dropped, not buffered.
constexpr size_t kMaxUserAm = 64u << 20;

ucs_status_t OnUserAm(void* arg, const void* header, size_t hlen, void* data, size_t len, const ucp_am_recv_param_t* prm) {
  if (len > kMaxUserAm) {
    if (prm->recv_attr & UCP_AM_RECV_ATTR_FLAG_RNDV) ucp_am_data_release(S->worker, data);
    return UCS_OK;
  }
  State::Event e{EV_AM, int32_t(reinterpret_cast<uintptr_t>(arg)), 0,
                 std::vector<uint8_t>(static_cast<const uint8_t*>(header), static_cast<const uint8_t*>(header) + hlen), {}};
  if (prm->recv_attr & UCP_AM_RECV_ATTR_FLAG_RNDV) {
    State::Event* pe = new State::Event(std::move(e));
    pe->d.resize(len);
    ucp_request_param_t p{};
    p.op_attr_mask = UCP_OP_ATTR_FIELD_CALLBACK | UCP_OP_ATTR_FIELD_USER_DATA;
    p.cb.recv_am = OnUserData;
    p.user_data = pe;
    ucs_status_ptr_t sp = ucp_am_recv_data_nbx(S->worker, data, pe->d.data(), len, &p);
    if (!UCS_PTR_IS_PTR(sp)) { if (sp == nullptr) S->events.push_back(std::move(*pe)); delete pe; }
    return UCS_OK;
  }
  e.d.assign(static_cast<uint8_t*>(data), static_cast<uint8_t*>(data) + len);
  S->events.push_back(std::move(e));
  return UCS_OK;
}

bool SetAm(unsigned id, ucp_am_recv_callback_t cb, void* arg) {
  ucp_am_handler_param_t p{};
  p.field_mask = UCP_AM_HANDLER_PARAM_FIELD_ID | UCP_AM_HANDLER_PARAM_FIELD_CB | UCP_AM_HANDLER_PARAM_FIELD_ARG |
                 UCP_AM_HANDLER_PARAM_FIELD_FLAGS;
  p.id = id;
  p.cb = cb;
  p.arg = arg;
  p.flags = UCP_AM_FLAG_WHOLE_MSG;
  return ucp_worker_set_am_recv_handler(S->worker, &p) == UCS_OK;
}

// ---- JS functions -------------------------------------------------------------------------------------

// F as an N-API callback: the worker must be open (`NeedOpen`: every function but open and
// statusString) and N arguments are read, so each function starts at its own work.
template <size_t N, napi_value (*F)(napi_env, const Argv<N>&), bool NeedOpen = true>
napi_value Api(napi_env env, napi_callback_info info) {
  if (NeedOpen && (!S || !S->open)) return Throw(env, "ucx: not open (call open first)");
  Argv<N> a{env, {}};
  Args(env, info, N, a.v);
  return F(env, a);
}

void CloseAll(bool fromHook);
void Cleanup(void*) { CloseAll(true); }

// open(onEvents) -> { address: ArrayBuffer, uuid: bigint }
napi_value Open(napi_env env, const Argv<1>& a) {
  if (S && S->open) return Throw(env, "ucx: already open on this thread");
  napi_valuetype t;
  napi_typeof(env, a[0], &t);
  if (t != napi_function) return Throw(env, "ucx.open(onEvents)");
  ucp_config_t* config;
  ucs_status_t st = ucp_config_read(nullptr, nullptr, &config);
  if (st != UCS_OK) return Throw(env, std::string("ucp_config_read: ") + ucs_status_string(st));
  ucp_params_t params{};
  params.field_mask = UCP_PARAM_FIELD_FEATURES | UCP_PARAM_FIELD_MT_WORKERS_SHARED;
  params.features = UCP_FEATURE_RMA | UCP_FEATURE_AMO32 | UCP_FEATURE_AMO64 | UCP_FEATURE_AM | UCP_FEATURE_WAKEUP;
  params.mt_workers_shared = 0;
  State* s = new State();
  st = ucp_init(&params, config, &s->ctx);
  ucp_config_release(config);
  if (st != UCS_OK) { delete s; return Throw(env, std::string("ucp_init: ") + ucs_status_string(st)); }
  ucp_worker_params_t wp{};
  wp.field_mask = UCP_WORKER_PARAM_FIELD_THREAD_MODE;
  wp.thread_mode = UCS_THREAD_MODE_SINGLE;
  st = ucp_worker_create(s->ctx, &wp, &s->worker);
  if (st != UCS_OK) { ucp_cleanup(s->ctx); delete s; return Throw(env, std::string("ucp_worker_create: ") + ucs_status_string(st)); }
  int fd = -1;
  st = ucp_worker_get_efd(s->worker, &fd);
  if (st != UCS_OK) {
    ucp_worker_destroy(s->worker);
    ucp_cleanup(s->ctx);
    delete s;
    return Throw(env, std::string("ucp_worker_get_efd: ") + ucs_status_string(st));
  }
  S = s;
  s->env = env;
  s->open = true;
  std::random_device rd;
  s->uuid = (uint64_t(rd()) << 32) ^ rd() ^ (uint64_t(getpid()) << 20) ^ NowNs();
  napi_create_reference(env, a[0], 1, &s->onEvents);
  for (int i = 0; i < 2; i++) {
    void* d;
    napi_value ab, arr;
    napi_create_arraybuffer(env, kCompCap * 8, &d, &ab);
    napi_create_typedarray(env, napi_int32_array, kCompCap * 2, ab, 0, &arr);
    napi_create_reference(env, arr, 1, &s->comps[i]);
    s->compsData[i] = static_cast<int32_t*>(d);
  }
  napi_value name, resource;
  napi_create_string_utf8(env, "roam.ucx", NAPI_AUTO_LENGTH, &name);
  napi_create_object(env, &resource);
  napi_async_init(env, resource, name, &s->async);
  uv_loop_t* loop;
  napi_get_uv_event_loop(env, &loop);
  uv_poll_init(loop, &s->poll, fd);
  uv_poll_start(&s->poll, UV_READABLE, OnPoll);
  uv_unref(reinterpret_cast<uv_handle_t*>(&s->poll));
  uv_prepare_init(loop, &s->prep);
  uv_prepare_start(&s->prep, OnPrepare);
  uv_unref(reinterpret_cast<uv_handle_t*>(&s->prep));
  uv_timer_init(loop, &s->timer);
  uv_timer_start(&s->timer, OnTimer, 100, 100);
  uv_unref(reinterpret_cast<uv_handle_t*>(&s->timer));
  SetAm(AM_REQ, OnReq, nullptr);
  SetAm(AM_REPLY, OnReply, nullptr);
  SetAm(AM_REVOKE, OnRevoke, nullptr);
  SetAm(AM_ACK, OnAck, nullptr);
  napi_add_env_cleanup_hook(env, Cleanup, nullptr);
  s->dirty = true;

  ucp_address_t* addr;
  size_t alen;
  st = ucp_worker_get_address(s->worker, &addr, &alen);
  if (st != UCS_OK) return Throw(env, std::string("ucp_worker_get_address: ") + ucs_status_string(st));
  napi_value out, address, u;
  napi_create_object(env, &out);
  address = Copy(env, addr, alen);
  ucp_worker_release_address(s->worker, addr);
  napi_create_bigint_uint64(env, s->uuid, &u);
  napi_set_named_property(env, out, "address", address);
  napi_set_named_property(env, out, "uuid", u);
  return out;
}

void Closed(uv_handle_t*) {}

// A live peer's endpoint is flushed and closed gracefully; a failed one is forced (in peer mode UCX
// fails what is outstanding; to an exited local peer there is nobody left to confuse).
ucs_status_ptr_t CloseEp(Ep& e) {
  ucp_request_param_t p{};
  if (e.peerMode || e.err) { p.op_attr_mask = UCP_OP_ATTR_FIELD_FLAGS; p.flags = UCP_EP_CLOSE_FLAG_FORCE; }
  StopWatch(e);
  return ucp_ep_close_nbx(e.ep, &p);
}

void CloseAll(bool fromHook) {
  State* s = S;
  if (!s || !s->open) return;
  // Keys JS still maps are left attached (leaked to process exit): their memory must stay readable.
  for (Rkey& k : s->rkeys) if ((k.live || k.zombie) && k.jsMaps == 0) { ucp_rkey_destroy(k.rkey); k.live = false; }
  std::vector<ucs_status_ptr_t> closing;
  for (Ep& e : s->eps) {
    if (!e.live) continue;
    ucs_status_ptr_t sp = CloseEp(e);
    if (UCS_PTR_IS_PTR(sp)) closing.push_back(sp);
    e.live = false;
  }
  for (ucs_status_ptr_t sp : closing) {
    uint64_t end = NowNs() + 1000000000ull;
    while (ucp_request_check_status(sp) == UCS_INPROGRESS && NowNs() < end) ucp_worker_progress(s->worker);
    ucp_request_free(sp);
  }
  for (auto& [tok, r] : s->amReqs) { (void)tok; if (r->keep) napi_delete_reference(s->env, r->keep); delete r; }
  s->amReqs.clear();
  bool held = false;
  for (Region& g : s->regions) {
    if (g.allocated && g.jsHeld) { held = true; continue; }  // JS may still read it: leave it mapped
    if (g.memh) ucp_mem_unmap(s->ctx, g.memh);
    if (g.keep) napi_delete_reference(s->env, g.keep);
    g = Region{};
  }
  s->open = false;
  uv_close(reinterpret_cast<uv_handle_t*>(&s->poll), Closed);
  uv_close(reinterpret_cast<uv_handle_t*>(&s->prep), Closed);
  uv_close(reinterpret_cast<uv_handle_t*>(&s->timer), Closed);
  ucp_worker_destroy(s->worker);
  if (!held) ucp_cleanup(s->ctx);
  if (!fromHook) napi_remove_env_cleanup_hook(s->env, Cleanup, nullptr);
  // The uv handles live in s until their close callbacks ran: keep s (one per thread, a few KB).
  S = nullptr;
}

napi_value Close(napi_env env, napi_callback_info) {
  CloseAll(false);
  return Undef(env);
}

// connect(address) -> endpoint index. Peer failure mode: a dead peer fails its requests, not hangs.
napi_value Connect(napi_env env, const Argv<2>& a) {
  const auto [p, n, isView] = a.view(0);
  if (!isView || n == 0 || n > 65536) return Throw(env, "ucx.connect(address: Uint8Array of a worker address, peerPid)");
  int32_t pid = a.i32(1);
  int pidfd = -1;
  if (pid > 0) {
    pidfd = int(syscall(SYS_pidfd_open, pid, 0));
    if (pidfd < 0) return Throw(env, std::string("pidfd_open(") + std::to_string(pid) + "): " + strerror(errno) + " (is the peer on this machine and alive?)");
  }
  uint32_t idx = uint32_t(S->eps.size());
  for (uint32_t i = 0; i < S->eps.size(); i++) if (!S->eps[i].live && !S->eps[i].closing) { idx = i; break; }
  if (idx == S->eps.size()) S->eps.emplace_back();
  ucp_ep_params_t ep{};
  ep.field_mask = UCP_EP_PARAM_FIELD_REMOTE_ADDRESS | UCP_EP_PARAM_FIELD_ERR_HANDLING_MODE | UCP_EP_PARAM_FIELD_ERR_HANDLER;
  ep.address = reinterpret_cast<const ucp_address_t*>(p);
  ep.err_mode = pidfd >= 0 ? UCP_ERR_HANDLING_MODE_NONE : UCP_ERR_HANDLING_MODE_PEER;
  ep.err_handler.cb = OnEpError;
  ep.err_handler.arg = reinterpret_cast<void*>(uintptr_t(idx));
  ucp_ep_h h;
  ucs_status_t st = ucp_ep_create(S->worker, &ep, &h);
  if (st != UCS_OK) {
    if (pidfd >= 0) close(pidfd);
    return Throw(env, std::string("ucp_ep_create: ") + ucs_status_string(st));
  }
  S->eps[idx] = Ep{h, 0, true, pidfd < 0, pidfd, nullptr};
  if (pidfd >= 0) {
    uv_loop_t* loop;
    napi_get_uv_event_loop(env, &loop);
    uv_poll_t* w = new uv_poll_t;
    uv_poll_init(loop, w, pidfd);
    w->data = reinterpret_cast<void*>(uintptr_t(idx));
    uv_poll_start(w, UV_READABLE, OnPeerExit);
    uv_unref(reinterpret_cast<uv_handle_t*>(w));
    S->eps[idx].watch = w;
  }
  S->dirty = true;
  return Int(env, int32_t(idx));
}

Ep* GetEp(int32_t i) {
  if (i < 0 || size_t(i) >= S->eps.size() || !S->eps[i].live) return nullptr;
  return &S->eps[i];
}

napi_value Disconnect(napi_env env, const Argv<1>& a) {
  Ep* e = GetEp(a.i32(0));
  if (!e) return Undef(env);
  uint32_t i = uint32_t(e - S->eps.data());
  for (Rkey& k : S->rkeys) if (k.live && k.ep == i) ReleaseKey(k);
  FailAmReqs(i, E_CLOSED);
  for (auto it = S->revocations.begin(); it != S->revocations.end();) {
    uint32_t tok = it->first;
    ++it;
    auto& rv = S->revocations[tok];
    if (rv.waiting.erase(i) && rv.waiting.empty()) FinishRevocation(tok);
  }
  e->live = false;
  e->closing = true;
  StopWatch(*e);
  FinishClose(i);  // now, or when the last mapping of one of its keys is collected
  S->dirty = true;
  return Undef(env);
}

// epInfo(ep) -> ucp_ep_print_info's text (its lanes name the transports in use).
napi_value EpInfo(napi_env env, const Argv<1>& a) {
  Ep* e = GetEp(a.i32(0));
  if (!e) return Throw(env, "ucx.epInfo: no such endpoint");
  char* buf = nullptr;
  size_t n = 0;
  FILE* f = open_memstream(&buf, &n);
  ucp_ep_print_info(e->ep, f);
  fclose(f);
  napi_value r;
  napi_create_string_utf8(env, buf, n, &r);
  free(buf);
  return r;
}

napi_value ContextInfo(napi_env env, const Argv<0>&) {
  char* buf = nullptr;
  size_t n = 0;
  FILE* f = open_memstream(&buf, &n);
  ucp_context_print_info(S->ctx, f);
  ucp_worker_print_info(S->worker, f);
  fclose(f);
  napi_value r;
  napi_create_string_utf8(env, buf, n, &r);
  free(buf);
  return r;
}

// register(view) -> region id (1-based). The view's memory must stay where it is: ArrayBuffers that
// may be detached or resized are the caller's to avoid (engine/rdma checks).
napi_value Register(napi_env env, const Argv<1>& a) {
  const auto [p, n, isView] = a.view(0);
  if (!isView || n == 0) return Throw(env, "ucx.register(view: a non-empty typed array)");
  ucp_mem_map_params_t mp{};
  mp.field_mask = UCP_MEM_MAP_PARAM_FIELD_ADDRESS | UCP_MEM_MAP_PARAM_FIELD_LENGTH;
  mp.address = p;
  mp.length = n;
  ucp_mem_h memh;
  ucs_status_t st = ucp_mem_map(S->ctx, &mp, &memh);
  if (st != UCS_OK) return Throw(env, std::string("ucp_mem_map: ") + ucs_status_string(st));
  uint32_t idx = uint32_t(S->regions.size());
  for (uint32_t i = 0; i < S->regions.size(); i++) if (!S->regions[i].live && !S->regions[i].memh) { idx = i; break; }
  if (idx == S->regions.size()) S->regions.emplace_back();
  Region& g = S->regions[idx];
  g.base = p;
  g.len = n;
  g.memh = memh;
  g.gen++;
  g.live = true;
  g.revoking = g.allocated = g.jsHeld = false;
  napi_create_reference(env, a[0], 1, &g.keep);
  return Int(env, int32_t(idx + 1));
}

// alloc(length) -> [region id, SharedArrayBuffer]: memory from UCX (ucp_mem_map ALLOCATE), so its
// shared-memory transports can map it into a peer on this machine (posix: rkey_ptr, no copy through
// the kernel); registered existing memory reaches them only through cma or emulation.
napi_value Alloc(napi_env env, const Argv<1>& a) {
  double dn = a.f64(0);
  if (!(dn >= 1 && dn <= 1e12)) return Throw(env, "ucx.alloc(length: 1 byte to 1 TB)");
  size_t n = size_t(dn);
  ucp_mem_map_params_t mp{};
  mp.field_mask = UCP_MEM_MAP_PARAM_FIELD_ADDRESS | UCP_MEM_MAP_PARAM_FIELD_LENGTH | UCP_MEM_MAP_PARAM_FIELD_FLAGS;
  mp.address = nullptr;
  mp.length = n;
  mp.flags = UCP_MEM_MAP_ALLOCATE;
  ucp_mem_h memh;
  ucs_status_t st = ucp_mem_map(S->ctx, &mp, &memh);
  if (st != UCS_OK) return Throw(env, std::string("ucp_mem_map(ALLOCATE): ") + ucs_status_string(st));
  ucp_mem_attr_t attr{};
  attr.field_mask = UCP_MEM_ATTR_FIELD_ADDRESS | UCP_MEM_ATTR_FIELD_LENGTH;
  ucp_mem_query(memh, &attr);
  uint32_t idx = uint32_t(S->regions.size());
  for (uint32_t i = 0; i < S->regions.size(); i++) if (!S->regions[i].live && !S->regions[i].memh) { idx = i; break; }
  if (idx == S->regions.size()) S->regions.emplace_back();
  Region& g = S->regions[idx];
  g.base = static_cast<uint8_t*>(attr.address);
  g.len = n;
  g.memh = memh;
  g.gen++;
  g.live = g.allocated = g.jsHeld = true;
  g.revoking = false;
  memset(g.base, 0, n);
  // Node 20's N-API cannot make a SharedArrayBuffer: V8's API does, and a napi_value is a
  // v8::Local<v8::Value> underneath (both one pointer; Node converts them so).
  v8::Isolate* iso = v8::Isolate::GetCurrent();
  std::unique_ptr<v8::BackingStore> bs = v8::SharedArrayBuffer::NewBackingStore(g.base, n, SabFreed, new Freed{S, idx, g.gen, false});
  v8::Local<v8::Value> sab = v8::SharedArrayBuffer::New(iso, std::shared_ptr<v8::BackingStore>(std::move(bs)));
  napi_value out, arr;
  static_assert(sizeof(out) == sizeof(sab), "napi_value is a v8::Local");
  memcpy(&out, &sab, sizeof out);
  napi_create_array_with_length(env, 2, &arr);
  napi_set_element(env, arr, 0, Int(env, int32_t(idx + 1)));
  napi_set_element(env, arr, 1, out);
  return arr;
}

Region* GetRegion(int32_t id) {
  if (id < 1 || size_t(id) > S->regions.size() || !S->regions[id - 1].live || S->regions[id - 1].revoking) return nullptr;
  return &S->regions[id - 1];
}

// rkey(region) -> roam key bytes: KeyHdr then UCX's packed rkey.
napi_value PackKey(napi_env env, const Argv<1>& a) {
  Region* g = GetRegion(a.i32(0));
  if (!g) return Throw(env, "ucx.rkey: no such region (deregistered?)");
  void* packed;
  size_t plen;
  ucs_status_t st = ucp_rkey_pack(S->ctx, g->memh, &packed, &plen);
  if (st != UCS_OK) return Throw(env, std::string("ucp_rkey_pack: ") + ucs_status_string(st));
  std::vector<uint8_t> out(sizeof(KeyHdr) + plen);
  KeyHdr h{kMagic, uint32_t(g - S->regions.data()) + 1, g->gen, uint32_t(plen), S->uuid, uint64_t(uintptr_t(g->base)), g->len, g->allocated ? 1u : 0u, 0};
  memcpy(out.data(), &h, sizeof h);
  memcpy(out.data() + sizeof h, packed, plen);
  ucp_rkey_buffer_release(packed);
  return Copy(env, out.data(), out.size());
}

// deregister(region) -> revocation token (its EV_REVOKED event says when the memory was unmapped).
napi_value Deregister(napi_env env, const Argv<1>& a) {
  Region* g = GetRegion(a.i32(0));
  if (!g) return Throw(env, "ucx.deregister: no such region");
  uint32_t idx = uint32_t(g - S->regions.data());
  g->revoking = true;
  uint32_t tok = S->nextRevocation++ & 0xffff;
  if (tok == 0) tok = S->nextRevocation++ & 0xffff;
  Revocation rv{idx, {}, NowNs() + 2000000000ull};
  for (uint32_t i = 0; i < S->eps.size() && i < 0x10000; i++) {
    Ep& e = S->eps[i];
    if (!e.live || e.err) continue;
    RevHdr* buf = static_cast<RevHdr*>(malloc(sizeof(RevHdr)));
    *buf = RevHdr{S->uuid, idx + 1, g->gen, (tok << 16) | i};
    ucp_request_param_t p{};
    p.op_attr_mask = UCP_OP_ATTR_FIELD_CALLBACK | UCP_OP_ATTR_FIELD_USER_DATA | UCP_OP_ATTR_FIELD_FLAGS;
    p.flags = UCP_AM_SEND_FLAG_REPLY;
    p.cb.send = OnFreeSent;
    p.user_data = buf;
    ucs_status_ptr_t sp = ucp_am_send_nbx(e.ep, AM_REVOKE, buf, sizeof(RevHdr), nullptr, 0, &p);
    if (!UCS_PTR_IS_PTR(sp)) free(buf);
    if (!UCS_PTR_IS_ERR(sp)) rv.waiting.insert(i);
  }
  S->revocations[tok] = std::move(rv);
  if (S->revocations[tok].waiting.empty()) FinishRevocation(tok);
  S->dirty = true;
  return Int(env, int32_t(tok));
}

// unpack(ep, keyBytes, am) -> rkey index.
napi_value Unpack(napi_env env, const Argv<3>& a) {
  Ep* e = GetEp(a.i32(0));
  if (!e) return Throw(env, "ucx.unpack: no such endpoint");
  const auto [p, n, isView] = a.view(1);
  if (!isView || n < sizeof(KeyHdr) || n > 65536) return Throw(env, "ucx.unpack: the key is not a roam key (too short or too long)");
  KeyHdr h;
  memcpy(&h, p, sizeof h);
  if (h.magic != kMagic || sizeof(KeyHdr) + h.packedLen != n) return Throw(env, "ucx.unpack: the key is not a roam key (bad magic or length)");
  if (S->revokedKeys.count({h.uuid, h.id, h.gen})) {
    napi_throw_error(env, "E_RDMA_REVOKED", "ucx.unpack: the region was deregistered by its owner (key revoked)");
    return nullptr;
  }
  bool am = a.boolean(2);
  ucp_rkey_h rk;
  ucs_status_t st = ucp_ep_rkey_unpack(e->ep, p + sizeof(KeyHdr), &rk);
  if (st != UCS_OK) return Throw(env, std::string("ucp_ep_rkey_unpack: ") + ucs_status_string(st));
  uint32_t idx = uint32_t(S->rkeys.size());
  for (uint32_t i = 0; i < S->rkeys.size(); i++) if (!S->rkeys[i].live && !S->rkeys[i].zombie) { idx = i; break; }
  if (idx == S->rkeys.size()) S->rkeys.emplace_back();
  uint32_t slotGen = S->rkeys[idx].slotGen + 1;
  S->rkeys[idx] = Rkey{rk, uint32_t(e - S->eps.data()), h.id, h.gen, h.uuid, h.base, h.len, am, true, false, slotGen, 0, false};
  return Int(env, int32_t(idx));
}

napi_value DropKey(napi_env env, const Argv<1>& a) {
  int32_t i = a.i32(0);
  if (i >= 0 && size_t(i) < S->rkeys.size()) ReleaseKey(S->rkeys[i]);
  return Undef(env);
}

// Resolves (rkey, offset, length) to a usable key or a status.
int32_t UseKey(int32_t i, double off, uint64_t len, Rkey** out) {
  if (i < 0 || size_t(i) >= S->rkeys.size() || !S->rkeys[i].live) return E_NOKEY;
  Rkey& k = S->rkeys[i];
  if (k.revoked) return E_REVOKED;
  Ep& e = S->eps[k.ep];
  if (!e.live) return E_CLOSED;
  if (e.err) return E_DEAD;
  if (!(off >= 0) || off > double(k.len) || len > k.len - uint64_t(off)) return E_BOUNDS;
  *out = &k;
  return 0;
}

ucp_request_param_t SendParam(Req* r) {
  ucp_request_param_t p{};
  p.op_attr_mask = UCP_OP_ATTR_FIELD_CALLBACK | UCP_OP_ATTR_FIELD_USER_DATA;
  p.cb.send = OnSent;
  p.user_data = r;
  return p;
}

// get(rkey, offset, dest view, id) / put(rkey, offset, src view, id): 0 done, 1 pending, < 0 status.
napi_value Rma(napi_env env, const Argv<4>& a, bool get) {
  const auto [p, n, isView] = a.view(2);
  if (!isView) return Throw(env, get ? "ucx.get(rkey, offset, dest, id)" : "ucx.put(rkey, offset, src, id)");
  double off = a.f64(1);
  Rkey* k;
  int32_t st = UseKey(a.i32(0), off, n, &k);
  if (st) return Int(env, st);
  Req* r = new Req();
  r->id = uint32_t(a.i32(3));
  r->ep = k->ep;
  r->local = p;
  r->localLen = n;
  if (k->am) {
    r->hdr = ReqHdr{uint8_t(get ? OP_GET : OP_PUT), 0, 0, 0, k->id, k->gen, uint32_t(n), uint64_t(off), 0, 0, 0};
    if (n > 0xffffffffu) { delete r; return Int(env, E_BOUNDS); }
    return Int(env, FinishAm(r, a[2]));
  }
  ucp_request_param_t prm = SendParam(r);
  ucp_ep_h ep = S->eps[k->ep].ep;
  ucs_status_ptr_t sp = get ? ucp_get_nbx(ep, p, n, k->base + uint64_t(off), k->rkey, &prm)
                            : ucp_put_nbx(ep, p, n, k->base + uint64_t(off), k->rkey, &prm);
  return Int(env, Finish(r, sp, a[2]));
}
napi_value Get(napi_env env, const Argv<4>& a) { return Rma(env, a, true); }
napi_value Put(napi_env env, const Argv<4>& a) { return Rma(env, a, false); }

// map(rkey) -> SharedArrayBuffer over the peer's whole region, where UCX can map it here (ucp_rkey_ptr:
// posix/sysv shared memory, UCX-allocated at the owner). Reads, writes and Atomics on it go straight
// to the owner's memory, with no call into UCX at all. The mapping outlives a revocation or the peer's
// exit (the memory stays attached until collected), so revocation cannot stop it: see engine/rdma.
napi_value Map(napi_env env, const Argv<1>& a) {
  int32_t i = a.i32(0);
  if (i < 0 || size_t(i) >= S->rkeys.size() || !S->rkeys[i].live) return Throw(env, "ucx.map: no such key");
  Rkey& k = S->rkeys[i];
  if (k.revoked) { napi_throw_error(env, "E_RDMA_REVOKED", "ucx.map: the region was deregistered by its owner (key revoked)"); return nullptr; }
  void* p = nullptr;
  ucs_status_t st = ucp_rkey_ptr(k.rkey, k.base, &p);
  if (st != UCS_OK || !p) {
    napi_throw_error(env, "E_RDMA_MAP", (std::string("ucx.map: UCX cannot map this region here (") + ucs_status_string(st) +
                                         "): the owner is on another host or its region is not UCX-allocated").c_str());
    return nullptr;
  }
  v8::Isolate* iso = v8::Isolate::GetCurrent();
  std::unique_ptr<v8::BackingStore> bs = v8::SharedArrayBuffer::NewBackingStore(p, k.len, SabFreed, new Freed{S, uint32_t(i), k.slotGen, true});
  v8::Local<v8::Value> sab = v8::SharedArrayBuffer::New(iso, std::shared_ptr<v8::BackingStore>(std::move(bs)));
  k.jsMaps++;
  napi_value out;
  memcpy(&out, &sab, sizeof out);
  return out;
}

// seqRead(rkey, offset, dest, id): a seqlocked record copied consistently by its owner ('am' keys).
napi_value SeqReadJs(napi_env env, const Argv<4>& a) {
  const auto [p, n, isView] = a.view(2);
  if (!isView || n < 4 || n > 0xffffffffu) return Throw(env, "ucx.seqRead(rkey, offset, dest of at least 4 bytes, id)");
  double off = a.f64(1);
  Rkey* k;
  int32_t st = UseKey(a.i32(0), off, n, &k);
  if (st) return Int(env, st);
  if (!k->am) return Throw(env, "ucx.seqRead: only for 'am' keys (one-sided keys read the record and its version themselves)");
  if ((k->base + uint64_t(off)) % 4) return Int(env, E_ALIGN);
  Req* r = new Req();
  r->id = uint32_t(a.i32(3));
  r->ep = k->ep;
  r->local = p;
  r->localLen = n;
  r->hdr = ReqHdr{OP_SEQREAD, 0, 0, 0, k->id, k->gen, uint32_t(n), uint64_t(off), 0, 0, 0};
  return Int(env, FinishAm(r, a[2]));
}

// atomic(rkey, offset, op, width, io, id): io is 16 bytes: [operand (add/swap value; cswap: compare),
// result (cswap: in the swap value; out the old value)]. op: 0 add, 1 swap, 2 cswap (UCP's numbering).
napi_value Atomic(napi_env env, const Argv<6>& a) {
  const auto [io, n, isView] = a.view(4);
  int32_t op = a.i32(2), width = a.i32(3);
  if (!isView || n < 16 || (op != UCP_ATOMIC_OP_ADD && op != UCP_ATOMIC_OP_SWAP && op != UCP_ATOMIC_OP_CSWAP) ||
      (width != 4 && width != 8))
    return Throw(env, "ucx.atomic(rkey, offset, op 0|1|2, width 4|8, io: 16 bytes, id)");
  double off = a.f64(1);
  Rkey* k;
  int32_t st = UseKey(a.i32(0), off, uint64_t(width), &k);
  if (st) return Int(env, st);
  if ((k->base + uint64_t(off)) % uint64_t(width)) return Int(env, E_ALIGN);
  Req* r = new Req();
  r->id = uint32_t(a.i32(5));
  r->ep = k->ep;
  r->local = io;
  r->localLen = n;
  if (k->am) {
    uint64_t x = 0, y = 0;
    memcpy(&x, io, width);
    memcpy(&y, io + 8, width);
    r->hdr = ReqHdr{OP_ATOMIC, uint8_t(op), uint8_t(width), 0, k->id, k->gen, 0, uint64_t(off), x, y, 0};
    return Int(env, FinishAm(r, a[4]));
  }
  ucp_request_param_t prm = SendParam(r);
  prm.op_attr_mask |= UCP_OP_ATTR_FIELD_DATATYPE | UCP_OP_ATTR_FIELD_REPLY_BUFFER;
  prm.datatype = ucp_dt_make_contig(width);
  prm.reply_buffer = io + 8;
  ucs_status_ptr_t sp = ucp_atomic_op_nbx(S->eps[k->ep].ep, ucp_atomic_op_t(op), io, 1, k->base + uint64_t(off), k->rkey, &prm);
  return Int(env, Finish(r, sp, a[4]));
}

// amSend(ep, amId, header, data, id): the views must stay unchanged until the completion.
napi_value AmSend(napi_env env, const Argv<5>& a) {
  Ep* e = GetEp(a.i32(0));
  if (!e) return Int(env, E_CLOSED);
  if (e->err) return Int(env, E_DEAD);
  int32_t id = a.i32(1);
  const auto [h, hn, isHeader] = a.view(2);
  const auto [d, dn, isData] = a.view(3);
  if (id < 0 || unsigned(id) >= kAmBase || !isHeader || !isData)
    return Throw(env, "ucx.amSend(ep, id < 60000, header, data, requestId)");
  Req* r = new Req();
  r->id = uint32_t(a.i32(4));
  r->ep = uint32_t(e - S->eps.data());
  ucp_request_param_t prm = SendParam(r);
  prm.op_attr_mask |= UCP_OP_ATTR_FIELD_FLAGS;
  prm.flags = UCP_AM_SEND_FLAG_REPLY;
  ucs_status_ptr_t sp = ucp_am_send_nbx(e->ep, unsigned(id), h, hn, d, dn, &prm);
  // Keep both views alive while pending: an array holding them.
  napi_value keep;
  napi_create_array_with_length(env, 2, &keep);
  napi_set_element(env, keep, 0, a[2]);
  napi_set_element(env, keep, 1, a[3]);
  return Int(env, Finish(r, sp, keep));
}

napi_value AmListen(napi_env env, const Argv<1>& a) {
  int32_t id = a.i32(0);
  if (id < 0 || unsigned(id) >= kAmBase) return Throw(env, "ucx.amListen(id < 60000)");
  if (!SetAm(unsigned(id), OnUserAm, reinterpret_cast<void*>(uintptr_t(id)))) return Throw(env, "ucp_worker_set_am_recv_handler failed");
  return Undef(env);
}

// flush(ep, id): ucp_ep_flush_nbx as a request, so JS can wait until what it issued on the endpoint
// completed at the target.
napi_value Flush(napi_env env, const Argv<2>& a) {
  Ep* e = GetEp(a.i32(0));
  if (!e) return Int(env, E_CLOSED);
  if (e->err) return Int(env, E_DEAD);
  Req* r = new Req();
  r->id = uint32_t(a.i32(1));
  r->ep = uint32_t(e - S->eps.data());
  ucp_request_param_t prm = SendParam(r);
  return Int(env, Finish(r, ucp_ep_flush_nbx(e->ep, &prm), nullptr));
}

napi_value Progress(napi_env env, const Argv<0>&) {
  unsigned n = 0, k;
  while ((k = ucp_worker_progress(S->worker))) n += k;
  S->dirty = true;
  return Int(env, int32_t(n));
}

napi_value SetSpin(napi_env env, const Argv<1>& a) {
  double ns = a.f64(0);
  S->spinNs = ns > 0 ? uint64_t(ns < 1e9 ? ns : 1e9) : 0;
  return Undef(env);
}

// setTimeout(ms): how long an 'am' request may wait for its owner's answer (default 10 s).
napi_value SetTimeoutJs(napi_env env, const Argv<1>& a) {
  double ms = a.f64(0);
  if (!(ms >= 1 && ms <= 3.6e6)) return Throw(env, "ucx.setTimeout(ms: 1 ms to 1 hour)");
  S->amTimeoutNs = uint64_t(ms * 1e6);
  return Undef(env);
}

// Holds the event loop open (e.g. while serving) or lets it go (pending requests still hold it).
napi_value Ref(napi_env env, const Argv<1>& a) {
  bool on = false;
  napi_get_value_bool(env, a[0], &on);
  if (on) uv_ref(reinterpret_cast<uv_handle_t*>(&S->timer));
  else uv_unref(reinterpret_cast<uv_handle_t*>(&S->timer));
  return Undef(env);
}

napi_value StatusString(napi_env env, const Argv<1>& a) {
  int32_t st = a.i32(0);
  const char* s;
  switch (st) {
    case E_REVOKED: s = "the region was deregistered by its owner (key revoked)"; break;
    case E_BOUNDS: s = "offset or length outside the region"; break;
    case E_ALIGN: s = "atomic offset not aligned to its width"; break;
    case E_NOKEY: s = "no such key"; break;
    case E_DEAD: s = "the peer failed (endpoint error)"; break;
    case E_CLOSED: s = "the endpoint was closed"; break;
    case E_EXITED: s = "the peer process exited"; break;
    case E_TIMEOUT: s = "the owner did not answer in time (alive but stopped, or overloaded)"; break;
    case E_BUSY: s = "the record stayed locked by writers (seqlock retries exhausted)"; break;
    default: s = ucs_status_string(ucs_status_t(st));
  }
  napi_value r;
  napi_create_string_utf8(env, s, NAPI_AUTO_LENGTH, &r);
  return r;
}

// The bare cost of a call into the addon (benchmarks/rdma.ts prints it beside ucx_perftest).
napi_value Nop(napi_env env, napi_callback_info) { return nullptr; }

napi_value Version(napi_env env, napi_callback_info) {
  napi_value r;
  napi_create_string_utf8(env, ucp_get_version_string(), NAPI_AUTO_LENGTH, &r);
  return r;
}

napi_value Init(napi_env env, napi_value exports) {
  struct { const char* name; napi_callback fn; } fns[] = {
      {"open", Api<1, Open, false>}, {"close", Close}, {"connect", Api<2, Connect>}, {"disconnect", Api<1, Disconnect>},
      {"epInfo", Api<1, EpInfo>}, {"contextInfo", Api<0, ContextInfo>}, {"register", Api<1, Register>}, {"alloc", Api<1, Alloc>},
      {"rkey", Api<1, PackKey>}, {"deregister", Api<1, Deregister>}, {"unpack", Api<3, Unpack>}, {"dropKey", Api<1, DropKey>},
      {"get", Api<4, Get>}, {"put", Api<4, Put>}, {"atomic", Api<6, Atomic>}, {"seqRead", Api<4, SeqReadJs>}, {"map", Api<1, Map>},
      {"amSend", Api<5, AmSend>}, {"amListen", Api<1, AmListen>}, {"flush", Api<2, Flush>}, {"progress", Api<0, Progress>},
      {"setSpin", Api<1, SetSpin>}, {"setTimeout", Api<1, SetTimeoutJs>}, {"ref", Api<1, Ref>},
      {"statusString", Api<1, StatusString, false>}, {"version", Version}, {"nop", Nop},
  };
  for (auto& f : fns) {
    napi_value v;
    napi_create_function(env, f.name, NAPI_AUTO_LENGTH, f.fn, nullptr, &v);
    napi_set_named_property(env, exports, f.name, v);
  }
  return exports;
}

}  // namespace

NAPI_MODULE(roam_ucx, Init)
