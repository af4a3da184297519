/*
 * File mappings for emulated persistent memory: map, msync, unmap.
 *
 * A mapping is an ArrayBuffer over the mapped pages. `unmap` detaches it (every view of it then
 * has length 0, so a stale view reads nothing instead of faulting) and releases the mapping at
 * once: a closed region must not hold its file and an address range until a collection. A
 * mapping never unmapped is released when its ArrayBuffer is collected.
 *
 * Written against V8's API rather than Node-API for one thing Node-API cannot say: that the
 * buffer's bytes are not memory V8 allocated. V8 counts an ArrayBuffer's bytes as external
 * memory unless its backing store has the empty deleter, and past 64 MB more than at the last
 * mark-compact it starts one to free them ("external memory pressure"). No collection frees a
 * file's pages, and a restarted replica mapping its table started a mark-compact under its
 * recovery (46 ms of marking and finalizing at 100k keys). So the backing store gets the empty
 * deleter, and a weak handle unmaps a buffer that is collected.
 */
#include <errno.h>
#include <node.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <memory>
#include <unordered_map>
#include <unordered_set>

namespace {

using v8::ArrayBuffer;
using v8::BackingStore;
using v8::Context;
using v8::Exception;
using v8::FunctionCallbackInfo;
using v8::Global;
using v8::Isolate;
using v8::Local;
using v8::Object;
using v8::String;
using v8::Value;

struct Mapping {
  void* addr;
  size_t size;
  bool unmapped;
  Global<ArrayBuffer> buffer;
};

/*
 * This thread's mappings not unmapped, by address, and every Mapping not yet deleted (each worker
 * thread has its own isolate and addon state).
 */
thread_local std::unordered_map<void*, Mapping*> mappings;
thread_local std::unordered_set<Mapping*> structs;
thread_local bool cleanup_registered = false;

void Throw(Isolate* isolate, bool type_error, const char* message) {
  Local<String> text = String::NewFromUtf8(isolate, message).ToLocalChecked();
  Local<Value> error = type_error ? Exception::TypeError(text) : Exception::Error(text);
  Local<Context> context = isolate->GetCurrentContext();
  error.As<Object>()
      ->Set(context, String::NewFromUtf8Literal(isolate, "code"),
            String::NewFromUtf8Literal(isolate, "ERR_PMEM_MAPPING"))
      .Check();
  isolate->ThrowException(error);
}

void ThrowErrno(Isolate* isolate, const char* what, int err) {
  char message[160];
  snprintf(message, sizeof message, "%s failed: %s (errno %d)", what, strerror(err), err);
  Throw(isolate, false, message);
}

/* A JS number that is an integer in [0, max], or -1. */
int64_t IntegerArg(Local<Value> value, int64_t max) {
  if (!value->IsNumber()) return -1;
  double d = value.As<v8::Number>()->Value();
  if (!(d >= 0 && d <= static_cast<double>(max)) || d != static_cast<double>(static_cast<int64_t>(d)))
    return -1;
  return static_cast<int64_t>(d);
}

/* The Mapping of a buffer map() returned and unmap() did not detach, or null (with an exception pending). */
Mapping* MappingOf(Isolate* isolate, Local<Value> value) {
  if (value->IsArrayBuffer()) {
    auto found = mappings.find(value.As<ArrayBuffer>()->Data());
    if (found != mappings.end()) return found->second;
  }
  Throw(isolate, true, "expected an ArrayBuffer returned by map() and not unmapped");
  return nullptr;
}

void Release(Mapping* mapping) {
  mapping->buffer.Reset();
  if (!mapping->unmapped) {
    mappings.erase(mapping->addr);
    munmap(mapping->addr, mapping->size);
  }
  structs.erase(mapping);
  delete mapping;
}

void Collected(const v8::WeakCallbackInfo<Mapping>& info) { Release(info.GetParameter()); }

/* A thread's environment ends (a worker terminated): V8 runs no weak callback then. */
void ReleaseAll(void*) {
  while (!structs.empty()) Release(*structs.begin());
  cleanup_registered = false;
}

/*
 * map(fd, sizeBytes[, copyOnWrite]): the first sizeBytes of fd mapped read and write, MAP_SHARED;
 * with copyOnWrite true MAP_PRIVATE (stores stay in this process; fd may be read-only).
 */
void Map(const FunctionCallbackInfo<Value>& args) {
  Isolate* isolate = args.GetIsolate();
  if (args.Length() != 2 && args.Length() != 3)
    return Throw(isolate, true, "map(fd, sizeBytes[, copyOnWrite]) takes two or three arguments");
  int64_t fd = IntegerArg(args[0], INT32_MAX);
  int64_t size = IntegerArg(args[1], INT64_C(1) << 40);
  if (fd < 0) return Throw(isolate, true, "map: fd must be a file descriptor");
  if (size <= 0) return Throw(isolate, true, "map: sizeBytes must be a positive integer");
  if (args.Length() == 3 && !args[2]->IsBoolean())
    return Throw(isolate, true, "map: copyOnWrite must be a boolean");
  bool copy_on_write = args.Length() == 3 && args[2].As<v8::Boolean>()->Value();
  void* addr = mmap(nullptr, static_cast<size_t>(size), PROT_READ | PROT_WRITE,
                    copy_on_write ? MAP_PRIVATE : MAP_SHARED, static_cast<int>(fd), 0);
  if (addr == MAP_FAILED) return ThrowErrno(isolate, "mmap", errno);
  std::unique_ptr<BackingStore> store = ArrayBuffer::NewBackingStore(
      addr, static_cast<size_t>(size), BackingStore::EmptyDeleter, nullptr);
  Local<ArrayBuffer> buffer = ArrayBuffer::New(isolate, std::move(store));
  auto* mapping = new Mapping{addr, static_cast<size_t>(size), false, {}};
  mapping->buffer.Reset(isolate, buffer);
  mapping->buffer.SetWeak(mapping, Collected, v8::WeakCallbackType::kParameter);
  mappings[addr] = mapping;
  structs.insert(mapping);
  if (!cleanup_registered) {
    node::AddEnvironmentCleanupHook(isolate, ReleaseAll, nullptr);
    cleanup_registered = true;
  }
  args.GetReturnValue().Set(buffer);
}

/* sync(buffer, offset, lengthBytes): msync(MS_SYNC) of a page-aligned range of the mapping. */
void Sync(const FunctionCallbackInfo<Value>& args) {
  Isolate* isolate = args.GetIsolate();
  if (args.Length() != 3)
    return Throw(isolate, true, "sync(buffer, offset, lengthBytes) takes three arguments");
  Mapping* mapping = MappingOf(isolate, args[0]);
  if (mapping == nullptr) return;
  int64_t offset = IntegerArg(args[1], static_cast<int64_t>(mapping->size));
  int64_t length = IntegerArg(args[2], static_cast<int64_t>(mapping->size));
  long page = sysconf(_SC_PAGESIZE);
  if (offset < 0 || length <= 0 || offset + length > static_cast<int64_t>(mapping->size) ||
      offset % page != 0)
    return Throw(isolate, true,
                 "sync: the range must be non-empty, inside the mapping and start on a page");
  if (msync(static_cast<char*>(mapping->addr) + offset, static_cast<size_t>(length), MS_SYNC) != 0)
    return ThrowErrno(isolate, "msync", errno);
}

/* unmap(buffer): detaches the ArrayBuffer and releases the mapping now; again: nothing. */
void Unmap(const FunctionCallbackInfo<Value>& args) {
  Isolate* isolate = args.GetIsolate();
  if (args.Length() != 1) return Throw(isolate, true, "unmap(buffer) takes one argument");
  if (args[0]->IsArrayBuffer() && args[0].As<ArrayBuffer>()->WasDetached()) return;
  Mapping* mapping = MappingOf(isolate, args[0]);
  if (mapping == nullptr) return;
  /* From here the weak callback only deletes the struct: the address may be mapped again. */
  mapping->unmapped = true;
  mappings.erase(mapping->addr);
#if V8_MAJOR_VERSION >= 11
  if (args[0].As<ArrayBuffer>()->Detach(Local<Value>()).IsNothing()) return;
#else
  args[0].As<ArrayBuffer>()->Detach();
#endif
  if (munmap(mapping->addr, mapping->size) != 0) return ThrowErrno(isolate, "munmap", errno);
}

}  // namespace

NODE_MODULE_INIT(/* exports, module, context */) {
  Isolate* isolate = context->GetIsolate();
  exports
      ->Set(context, String::NewFromUtf8Literal(isolate, "PAGESIZE"),
            v8::Number::New(isolate, static_cast<double>(sysconf(_SC_PAGESIZE))))
      .Check();
  NODE_SET_METHOD(exports, "map", Map);
  NODE_SET_METHOD(exports, "sync", Sync);
  NODE_SET_METHOD(exports, "unmap", Unmap);
}
