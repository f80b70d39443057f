// One-sided communication on the system libmpi: MPI windows over the guest's linear memory.
// engine/mpi/win-native.ts checks every argument (handles, epochs, bounds in the target's window)
// before calling; this file only translates to libmpi. Arguments come through `rio`, an
// Int32Array shared with JS (no N-API conversions per call), as [op, args...].
//
// Guest memory: a window is created over memory + offset as bound now. A non-shared wasm32
// memory on a 64-bit V8 is reserved whole up front and grows in place, so the base address stays;
// every call checks that it has (a host that moved it would get a clear error, not a stale write).
#include <mpi.h>
#include <node_api.h>
#include <cstdint>
#include <unordered_map>
#include <vector>

uint8_t* RoamMpiMem(size_t* len);
MPI_Datatype RoamMpiDt(int h);
MPI_Op RoamMpiOp(int h);
napi_value RoamMpiThrow(napi_env env, const char* what, int rc);

namespace {

struct Win {
  MPI_Win win = MPI_WIN_NULL;
  uint8_t* base = nullptr;  // the guest memory's address when the window was created
  MPI_Group group = MPI_GROUP_NULL;
};
std::vector<Win> wins;                      // id = index + 1
std::vector<MPI_Datatype> types;            // id = index + 1
std::vector<MPI_Datatype> created;          // the ones made here (freed before MPI_Finalize)
std::unordered_map<int, MPI_Comm> comms;    // roam communicator id -> libmpi communicator
int32_t* rio = nullptr;
napi_ref rio_keep = nullptr;
const int RIO = 64;

napi_value Int(napi_env env, int32_t v) {
  napi_value r;
  napi_create_int32(env, v, &r);
  return r;
}
napi_value Err(napi_env env, const char* msg) {
  napi_throw_error(env, nullptr, msg);
  return nullptr;
}
bool Ok(napi_env env, int rc, const char* what) {
  if (rc == MPI_SUCCESS) return true;
  RoamMpiThrow(env, what, rc);
  return false;
}
Win* GetWin(napi_env env, int id) {
  if (id < 1 || (size_t)id > wins.size() || wins[id - 1].win == MPI_WIN_NULL) {
    Err(env, "roam native-host: invalid window id");
    return nullptr;
  }
  Win* w = &wins[id - 1];
  size_t len;
  if (RoamMpiMem(&len) != w->base) {
    Err(env, "roam native-host: the guest's memory moved (memory.grow) while a window was open over it");
    return nullptr;
  }
  return w;
}
MPI_Datatype Type(int id) { return id >= 1 && (size_t)id <= types.size() ? types[id - 1] : MPI_DATATYPE_NULL; }
uint8_t* At(int32_t off) {
  size_t len;
  return RoamMpiMem(&len) + off;
}
// ABI assertion bits (MPI_MODE_NOCHECK 1024 ...) -> this libmpi's.
int Assert(int a) {
  int r = 0;
  if (a & 1024) r |= MPI_MODE_NOCHECK;
  if (a & 2048) r |= MPI_MODE_NOPRECEDE;
  if (a & 4096) r |= MPI_MODE_NOPUT;
  if (a & 8192) r |= MPI_MODE_NOSTORE;
  if (a & 16384) r |= MPI_MODE_NOSUCCEED;
  return r;
}
MPI_Op RmaOp(int h) { return h == 0x3c ? MPI_REPLACE : h == 0x3d ? MPI_NO_OP : RoamMpiOp(h); }

// rmaBindIo(Int32Array(64))
napi_value BindIo(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value a[1];
  napi_get_cb_info(env, info, &argc, a, nullptr, nullptr);
  napi_typedarray_type type;
  napi_value ab;
  size_t n, off;
  void* p;
  if (argc < 1 || napi_get_typedarray_info(env, a[0], &type, &n, &p, &ab, &off) != napi_ok || type != napi_int32_array || n < RIO)
    return Err(env, "rmaBindIo: expected an Int32Array(64)");
  if (rio_keep) napi_delete_reference(env, rio_keep);
  napi_create_reference(env, a[0], 1, &rio_keep);
  rio = static_cast<int32_t*>(p);
  return nullptr;
}

// rmaComm(): rio = [roam comm id, n, world ranks...] -> libmpi communicator over those ranks, in that
// order (MPI_Comm_create_group: collective over its members only), cached by roam id; 0 = world.
napi_value CommOf(napi_env env, napi_callback_info) {
  int id = rio[0], n = rio[1];
  if (id == 1) return Int(env, id);
  if (comms.count(id)) return Int(env, id);
  if (n < 1 || n > RIO - 2) return Err(env, "rmaComm: windows on communicators of more than 62 ranks are not supported on the system MPI");
  MPI_Group world, g;
  MPI_Comm c;
  MPI_Comm_group(MPI_COMM_WORLD, &world);
  MPI_Group_incl(world, n, rio + 2, &g);
  int rc = MPI_Comm_create_group(MPI_COMM_WORLD, g, id & 0x7fff, &c);
  MPI_Group_free(&g);
  MPI_Group_free(&world);
  if (!Ok(env, rc, "MPI_Comm_create_group")) return nullptr;
  comms[id] = c;
  return Int(env, id);
}
MPI_Comm Comm(int id) { return id == 1 ? MPI_COMM_WORLD : comms[id]; }

// rmaType(Int32Array [base ABI handle, extent, n, (byte offset, elements) x n]) -> type id.
napi_value TypeOf(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value a[1];
  napi_get_cb_info(env, info, &argc, a, nullptr, nullptr);
  napi_typedarray_type tt;
  napi_value ab;
  size_t len, off;
  void* p;
  if (argc < 1 || napi_get_typedarray_info(env, a[0], &tt, &len, &p, &ab, &off) != napi_ok || tt != napi_int32_array || len < 3)
    return Err(env, "rmaType: expected an Int32Array");
  int32_t* d = static_cast<int32_t*>(p);
  MPI_Datatype base = RoamMpiDt(d[0]);
  if (base == MPI_DATATYPE_NULL) base = MPI_BYTE;
  int n = d[2];
  if ((size_t)(3 + 2 * n) > len) return Err(env, "rmaType: short block list");
  int bsize;
  MPI_Type_size(base, &bsize);
  MPI_Datatype t = base;
  if (!(n == 1 && d[3] == 0 && d[4] == 1 && d[1] == bsize)) {
    std::vector<int> lens(n);
    std::vector<MPI_Aint> displs(n);
    for (int i = 0; i < n; i++) {
      displs[i] = d[3 + 2 * i];
      lens[i] = d[4 + 2 * i];
    }
    MPI_Datatype h;
    if (!Ok(env, MPI_Type_create_hindexed(n, lens.data(), displs.data(), base, &h), "MPI_Type_create_hindexed")) return nullptr;
    if (!Ok(env, MPI_Type_create_resized(h, 0, d[1], &t), "MPI_Type_create_resized")) return nullptr;
    MPI_Type_free(&h);
    MPI_Type_commit(&t);
    created.push_back(t);
  }
  types.push_back(t);
  return Int(env, (int32_t)types.size());
}

// rmaWin(): rio = [comm id, offset, size, disp unit] -> window id (collective over the communicator).
napi_value WinCreate(napi_env env, napi_callback_info) {
  size_t len;
  uint8_t* m = RoamMpiMem(&len);
  if (!m || rio[1] < 0 || rio[2] < 0 || (size_t)rio[1] + (size_t)rio[2] > len) return Err(env, "rmaWin: window outside the bound guest memory");
  Win w;
  w.base = m;
  if (!Ok(env, MPI_Win_create(m + rio[1], rio[2], rio[3], MPI_INFO_NULL, Comm(rio[0]), &w.win), "MPI_Win_create")) return nullptr;
  MPI_Win_set_errhandler(w.win, MPI_ERRORS_RETURN);
  MPI_Win_get_group(w.win, &w.group);
  wins.push_back(w);
  return Int(env, (int32_t)wins.size());
}

// rmaOp(): rio = [op, window id, args...] (see win-native.ts) -> 0, or the flag of MPI_Win_test.
napi_value RmaOp(napi_env env, napi_callback_info) {
  const int32_t* r = rio;
  Win* w = GetWin(env, r[1]);
  if (!w) return nullptr;
  int rc = MPI_SUCCESS, flag = 0;
  const char* what = "MPI one-sided call";
  switch (r[0]) {
    case 1: what = "MPI_Put"; rc = MPI_Put(At(r[2]), r[3], Type(r[4]), r[5], r[6], r[7], Type(r[8]), w->win); break;
    case 2: what = "MPI_Get"; rc = MPI_Get(At(r[2]), r[3], Type(r[4]), r[5], r[6], r[7], Type(r[8]), w->win); break;
    case 3: what = "MPI_Accumulate"; rc = MPI_Accumulate(At(r[2]), r[3], Type(r[4]), r[5], r[6], r[7], Type(r[8]), RmaOp(r[9]), w->win); break;
    case 4:
      what = "MPI_Get_accumulate";
      rc = MPI_Get_accumulate(At(r[2]), r[3], Type(r[4]), At(r[5]), r[6], Type(r[7]), r[8], r[9], r[10], Type(r[11]), RmaOp(r[12]), w->win);
      break;
    case 5: what = "MPI_Fetch_and_op"; rc = MPI_Fetch_and_op(At(r[2]), At(r[3]), Type(r[4]), r[5], r[6], RmaOp(r[7]), w->win); break;
    case 6: what = "MPI_Compare_and_swap"; rc = MPI_Compare_and_swap(At(r[2]), At(r[3]), At(r[4]), Type(r[5]), r[6], r[7], w->win); break;
    case 10: what = "MPI_Win_fence"; rc = MPI_Win_fence(Assert(r[2]), w->win); break;
    case 11: what = "MPI_Win_lock"; rc = MPI_Win_lock(r[2] == 301 ? MPI_LOCK_EXCLUSIVE : MPI_LOCK_SHARED, r[3], Assert(r[4]), w->win); break;
    case 12: what = "MPI_Win_unlock"; rc = MPI_Win_unlock(r[2], w->win); break;
    case 13: what = "MPI_Win_lock_all"; rc = MPI_Win_lock_all(Assert(r[2]), w->win); break;
    case 14: what = "MPI_Win_unlock_all"; rc = MPI_Win_unlock_all(w->win); break;
    case 15: what = "MPI_Win_flush"; rc = MPI_Win_flush(r[2], w->win); break;
    case 16: what = "MPI_Win_flush_all"; rc = MPI_Win_flush_all(w->win); break;
    case 17: what = "MPI_Win_flush_local"; rc = MPI_Win_flush_local(r[2], w->win); break;
    case 18: what = "MPI_Win_flush_local_all"; rc = MPI_Win_flush_local_all(w->win); break;
    case 19: what = "MPI_Win_sync"; rc = MPI_Win_sync(w->win); break;
    case 20:
    case 21: {
      // [op, win, assert, n, ranks in the window's communicator...]
      what = r[0] == 20 ? "MPI_Win_post" : "MPI_Win_start";
      if (r[3] < 0 || r[3] > RIO - 4) return Err(env, "rmaOp: group too large");
      MPI_Group g;
      MPI_Group_incl(w->group, r[3], const_cast<int*>(r + 4), &g);
      rc = r[0] == 20 ? MPI_Win_post(g, Assert(r[2]), w->win) : MPI_Win_start(g, Assert(r[2]), w->win);
      MPI_Group_free(&g);
      break;
    }
    case 22: what = "MPI_Win_complete"; rc = MPI_Win_complete(w->win); break;
    case 23: what = "MPI_Win_wait"; rc = MPI_Win_wait(w->win); break;
    case 24: what = "MPI_Win_test"; rc = MPI_Win_test(w->win, &flag); break;
    case 30:
      what = "MPI_Win_free";
      MPI_Group_free(&w->group);
      rc = MPI_Win_free(&w->win);
      w->win = MPI_WIN_NULL;
      break;
    default: return Err(env, "rmaOp: unknown operation");
  }
  if (!Ok(env, rc, what)) return nullptr;
  return Int(env, flag);
}

}  // namespace

// Before MPI_Finalize: frees what this file made (windows the guest left open, types, communicators).
void RoamMpiWinFinalize() {
  for (auto& w : wins)
    if (w.win != MPI_WIN_NULL) {
      MPI_Group_free(&w.group);
      MPI_Win_free(&w.win);
    }
  for (auto& t : created) MPI_Type_free(&t);
  for (auto& [id, c] : comms) MPI_Comm_free(&c);
  wins.clear();
  created.clear();
  comms.clear();
}

void RoamMpiWinInit(napi_env env, napi_value o) {
  struct { const char* name; napi_callback cb; } fns[] = {
      {"rmaBindIo", BindIo}, {"rmaComm", CommOf}, {"rmaType", TypeOf}, {"rmaWin", WinCreate}, {"rmaOp", RmaOp},
  };
  for (auto& f : fns) {
    napi_value fn;
    napi_create_function(env, f.name, NAPI_AUTO_LENGTH, f.cb, nullptr, &fn);
    napi_set_named_property(env, o, f.name, fn);
  }
}
