/*
 * File mappings for emulated persistent memory: map, msync, unmap.
 *
 * A mapping is an external ArrayBuffer. `unmap` detaches it (every view of it then has length
 * 0, so a stale view reads nothing instead of faulting) and releases the mapping at once: a
 * closed region must not hold its file and an address range until a major GC, which V8 does
 * not schedule for memory it does not know about. A mapping never unmapped is released when
 * its ArrayBuffer is collected.
 */
#define NAPI_VERSION 8
#include <errno.h>
#include <stdbool.h>
#include <node_api.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

typedef struct {
  void* addr;
  size_t size;
  int unmapped;
} Mapping;

#define CHECK(env, call)                                              \
  do {                                                                \
    if ((call) != napi_ok) {                                          \
      napi_throw_error((env), "ERR_PMEM_MAPPING", #call " failed");   \
      return NULL;                                                    \
    }                                                                 \
  } while (0)

static napi_value throw_errno(napi_env env, const char* what, int err) {
  char message[160];
  snprintf(message, sizeof message, "%s failed: %s (errno %d)", what, strerror(err), err);
  napi_throw_error(env, "ERR_PMEM_MAPPING", message);
  return NULL;
}

static napi_value throw_argument(napi_env env, const char* message) {
  napi_throw_type_error(env, "ERR_PMEM_MAPPING", message);
  return NULL;
}

/* The call's arguments, exactly `n` of them; false (with an exception pending) otherwise. */
static bool get_args(napi_env env, napi_callback_info info, size_t n, napi_value* argv,
                     const char* usage) {
  size_t argc = n;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) {
    napi_throw_error(env, "ERR_PMEM_MAPPING", "cannot read the call's arguments");
    return false;
  }
  if (argc != n) {
    throw_argument(env, usage);
    return false;
  }
  return true;
}

/* A JS number that is an integer in [0, max], or -1. */
static int64_t integer_arg(napi_env env, napi_value value, int64_t max) {
  double d;
  if (napi_get_value_double(env, value, &d) != napi_ok) return -1;
  if (!(d >= 0 && d <= (double)max) || d != (double)(int64_t)d) return -1;
  return (int64_t)d;
}

/* The ArrayBuffer's Mapping, or NULL (with an exception pending) if it is not one of ours. */
static Mapping* mapping_of(napi_env env, napi_value buffer) {
  Mapping* mapping = NULL;
  if (napi_unwrap(env, buffer, (void**)&mapping) != napi_ok || mapping == NULL) {
    throw_argument(env, "expected an ArrayBuffer returned by map()");
    return NULL;
  }
  return mapping;
}

static void finalize_mapping(napi_env env, void* data, void* hint) {
  (void)env;
  (void)data;
  Mapping* mapping = hint;
  if (!mapping->unmapped) munmap(mapping->addr, mapping->size);
  free(mapping);
}

/* map(fd, sizeBytes): the first sizeBytes of fd mapped MAP_SHARED, read and write. */
static napi_value map_file(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (!get_args(env, info, 2, argv, "map(fd, sizeBytes) takes two arguments")) return NULL;
  int64_t fd = integer_arg(env, argv[0], INT32_MAX);
  int64_t size = integer_arg(env, argv[1], INT64_C(1) << 40);
  if (fd < 0) return throw_argument(env, "map: fd must be a file descriptor");
  if (size <= 0) return throw_argument(env, "map: sizeBytes must be a positive integer");

  void* addr = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_SHARED, (int)fd, 0);
  if (addr == MAP_FAILED) return throw_errno(env, "mmap", errno);
  Mapping* mapping = malloc(sizeof *mapping);
  if (mapping == NULL) {
    munmap(addr, (size_t)size);
    return throw_errno(env, "malloc", ENOMEM);
  }
  mapping->addr = addr;
  mapping->size = (size_t)size;
  mapping->unmapped = 0;

  napi_value buffer;
  if (napi_create_external_arraybuffer(env, addr, (size_t)size, finalize_mapping, mapping,
                                       &buffer) != napi_ok) {
    munmap(addr, (size_t)size);
    free(mapping);
    napi_throw_error(env, "ERR_PMEM_MAPPING", "cannot wrap the mapping in an ArrayBuffer");
    return NULL;
  }
  /* The wrap only finds the Mapping again; the ArrayBuffer's finalizer owns it. */
  CHECK(env, napi_wrap(env, buffer, mapping, NULL, NULL, NULL));
  return buffer;
}

/* sync(buffer, offset, lengthBytes): msync(MS_SYNC) of a page-aligned range of the mapping. */
static napi_value sync_range(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  if (!get_args(env, info, 3, argv, "sync(buffer, offset, lengthBytes) takes three arguments"))
    return NULL;
  Mapping* mapping = mapping_of(env, argv[0]);
  if (mapping == NULL) return NULL;
  int64_t offset = integer_arg(env, argv[1], (int64_t)mapping->size);
  int64_t length = integer_arg(env, argv[2], (int64_t)mapping->size);
  long page = sysconf(_SC_PAGESIZE);
  if (offset < 0 || length <= 0 || offset + length > (int64_t)mapping->size || offset % page != 0)
    return throw_argument(env, "sync: the range must be non-empty, inside the mapping and start on a page");
  if (msync((char*)mapping->addr + offset, (size_t)length, MS_SYNC) != 0)
    return throw_errno(env, "msync", errno);
  return NULL;
}

/* unmap(buffer): detaches the ArrayBuffer and releases the mapping now; again: nothing. */
static napi_value unmap_buffer(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!get_args(env, info, 1, argv, "unmap(buffer) takes one argument")) return NULL;
  bool detached = false;
  CHECK(env, napi_is_detached_arraybuffer(env, argv[0], &detached));
  if (detached) return NULL;
  Mapping* mapping = mapping_of(env, argv[0]);
  if (mapping == NULL) return NULL;
  void* addr = mapping->addr;
  size_t size = mapping->size;
  /* The finalizer, from detach on, only frees the struct (now or later): never touch it again. */
  mapping->unmapped = 1;
  CHECK(env, napi_remove_wrap(env, argv[0], NULL));
  CHECK(env, napi_detach_arraybuffer(env, argv[0]));
  if (munmap(addr, size) != 0) return throw_errno(env, "munmap", errno);
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_value page_size;
  CHECK(env, napi_create_int64(env, sysconf(_SC_PAGESIZE), &page_size));
  napi_property_descriptor properties[] = {
      {"PAGESIZE", NULL, NULL, NULL, NULL, page_size, napi_enumerable, NULL},
      {"map", NULL, map_file, NULL, NULL, NULL, napi_enumerable, NULL},
      {"sync", NULL, sync_range, NULL, NULL, NULL, napi_enumerable, NULL},
      {"unmap", NULL, unmap_buffer, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  CHECK(env, napi_define_properties(env, exports, sizeof properties / sizeof *properties, properties));
  return exports;
}

NAPI_MODULE_INIT() { return init(env, exports); }
