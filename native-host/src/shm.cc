// roam_shm: POSIX shared memory as a SharedArrayBuffer, so host worker threads, the server and the DPU
// agent process all see the same bytes and Atomics work on them (within a process through V8, across
// processes because the CPU's atomic instructions act on the shared physical pages).
//   open(name, size, create) -> SharedArrayBuffer   (shm_open + ftruncate + mmap MAP_SHARED)
//   unlink(name)                                    (shm_unlink; mappings stay valid until released)
#include <node.h>
#include <v8.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cerrno>
#include <cstring>
#include <string>

namespace {
using v8::FunctionCallbackInfo;
using v8::Isolate;
using v8::Local;
using v8::Value;

void Throw(Isolate* iso, const std::string& msg) {
  iso->ThrowException(v8::Exception::Error(v8::String::NewFromUtf8(iso, msg.c_str()).ToLocalChecked()));
}

void Unmap(void* data, size_t length, void* /*deleter_data*/) { munmap(data, length); }

void Open(const FunctionCallbackInfo<Value>& args) {
  Isolate* iso = args.GetIsolate();
  if (args.Length() < 3 || !args[0]->IsString() || !args[1]->IsNumber()) return Throw(iso, "shm.open(name, size, create)");
  v8::String::Utf8Value name(iso, args[0]);
  double dsize = args[1].As<v8::Number>()->Value();
  bool create = args[2]->BooleanValue(iso);
  if (dsize <= 0 || dsize > 1e12) return Throw(iso, "shm.open: size must be positive");
  size_t size = static_cast<size_t>(dsize);
  int fd = shm_open(*name, create ? (O_RDWR | O_CREAT) : O_RDWR, 0600);
  if (fd < 0) return Throw(iso, std::string("shm_open ") + *name + ": " + strerror(errno));
  if (create && ftruncate(fd, static_cast<off_t>(size)) != 0) {
    int e = errno;
    close(fd);
    return Throw(iso, std::string("ftruncate ") + *name + ": " + strerror(e));
  }
  struct stat st;
  if (fstat(fd, &st) != 0 || static_cast<size_t>(st.st_size) < size) {
    close(fd);
    return Throw(iso, std::string("shm ") + *name + " is smaller than requested");
  }
  void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  close(fd);
  if (p == MAP_FAILED) return Throw(iso, std::string("mmap ") + *name + ": " + strerror(errno));
  std::unique_ptr<v8::BackingStore> bs = v8::SharedArrayBuffer::NewBackingStore(p, size, Unmap, nullptr);
  args.GetReturnValue().Set(v8::SharedArrayBuffer::New(iso, std::shared_ptr<v8::BackingStore>(std::move(bs))));
}

void Unlink(const FunctionCallbackInfo<Value>& args) {
  Isolate* iso = args.GetIsolate();
  if (args.Length() < 1 || !args[0]->IsString()) return Throw(iso, "shm.unlink(name)");
  v8::String::Utf8Value name(iso, args[0]);
  args.GetReturnValue().Set(shm_unlink(*name) == 0);
}

void Init(Local<v8::Object> exports, Local<Value>, Local<v8::Context>, void*) {
  NODE_SET_METHOD(exports, "open", Open);
  NODE_SET_METHOD(exports, "unlink", Unlink);
}
}  // namespace

// Context-aware so worker threads can load it too.
NODE_MODULE_CONTEXT_AWARE(roam_shm, Init)
