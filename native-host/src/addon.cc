// roam native-host addon entry: each capability registers its functions here
// (MPI forwarding in mpi.cc; shared memory and others add their own file and Init call).
#include <node_api.h>

napi_value RoamMpiInit(napi_env env, napi_value exports);

static napi_value Init(napi_env env, napi_value exports) {
  napi_value mpi = RoamMpiInit(env, exports);
  napi_set_named_property(env, exports, "mpi", mpi);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
