/*===- FakeCudaDriver.c - A libcuda.so.1 without a GPU, for tests ---------===//
 *
 * Built as fake-cuda/libcuda.so.1; tests put it on LD_LIBRARY_PATH to run
 * the runtime's cuda device on a machine without a GPU. ATTUNE_FAKE_CUDA
 * selects what it does:
 *
 *   no-device     cuInit returns CUDA_ERROR_NO_DEVICE (100)
 *   stub          cuInit returns CUDA_ERROR_STUB_LIBRARY (34), and
 *                 cuGetErrorName/String know no names (as the stub)
 *   zero-devices  cuInit succeeds and cuDeviceGetCount reports 0
 *   emulate       one device like an H100 (compute capability 9.0) that
 *                 runs the kernels of CudaTestKernels.ptx on the host:
 *                 device memory is host memory, work runs when it is
 *                 enqueued, stream capture records launches into a graph
 *                 that cuGraphLaunch replays. It checks what a driver
 *                 checks where the tests rely on it (unknown kernels, PTX
 *                 without the test kernels, dynamic shared memory above the
 *                 kernel's limit) and counts launches and copies.
 *
 *   ptx           one device (compute capability 12.0, so that the runtime
 *                 finds no cubin for it and JIT-compiles the artifact's
 *                 PTX) that runs any PTX module on the host through the PTX
 *                 interpreter (test/ptxemu): every kernel attune-compile
 *                 emits, with global accesses checked against the live
 *                 allocations and shared memory raced-checked. A kernel
 *                 that faults fails its launch with CUDA_ERROR_LAUNCH_FAILED
 *                 (the interpreter's message goes to stderr) and every later
 *                 synchronization returns the same error, as on a device.
 *                 ATTUNE_PTXEMU_THREADS sets the host threads (default:
 *                 all cores).
 *
 * With ATTUNE_FAKE_CUDA_NO_CAPTURE=1, cuStreamBeginCapture fails (the
 * runtime must fall back to launching step by step).
 *
 * "emulate" checks the runtime's side of the driver API (parameter layout,
 * addresses, ordering, graph use, error record, messages); "ptx" checks the
 * generated kernels' logic as the PTX ISA defines it. Neither checks what
 * only a GPU shows: ptxas, timing, the hardware's approximations.
 *
 *===----------------------------------------------------------------------===*/

#include "PtxEmu.h"

#include <pthread.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define EXPORT __attribute__((visibility("default")))

typedef int CUresult;
typedef unsigned long long CUdeviceptr;

enum {
  SUCCESS = 0,
  INVALID_VALUE = 1,
  OUT_OF_MEMORY = 2,
  INVALID_IMAGE = 200,
  INVALID_PTX = 218,
  LAUNCH_FAILED = 719,
  NOT_FOUND = 500,
  NOT_SUPPORTED = 801,
  CAPTURE_INVALIDATED = 901,
};

static int is(const char *mode) {
  const char *m = getenv("ATTUNE_FAKE_CUDA");
  return m && strcmp(m, mode) == 0;
}

/* A device is present (the host emulations). */
static int hasDevice(void) { return is("emulate") || is("ptx"); }

/* The first kernel fault in ptx mode: later synchronizations return it. */
static CUresult gStickyError;

//===----------------------------------------------------------------------===//
// Initialization
//===----------------------------------------------------------------------===//

EXPORT CUresult cuGetErrorName(CUresult r, const char **out) {
  if (is("stub"))
    return INVALID_VALUE;
  switch (r) {
  case 100:
    *out = "CUDA_ERROR_NO_DEVICE";
    return SUCCESS;
  case NOT_FOUND:
    *out = "CUDA_ERROR_NOT_FOUND";
    return SUCCESS;
  case INVALID_PTX:
    *out = "CUDA_ERROR_INVALID_PTX";
    return SUCCESS;
  case NOT_SUPPORTED:
    *out = "CUDA_ERROR_NOT_SUPPORTED";
    return SUCCESS;
  case LAUNCH_FAILED:
    *out = "CUDA_ERROR_LAUNCH_FAILED";
    return SUCCESS;
  case INVALID_IMAGE:
    *out = "CUDA_ERROR_INVALID_IMAGE";
    return SUCCESS;
  }
  return INVALID_VALUE;
}

EXPORT CUresult cuGetErrorString(CUresult r, const char **out) {
  if (is("stub"))
    return INVALID_VALUE;
  switch (r) {
  case 100:
    *out = "no CUDA-capable device is detected";
    return SUCCESS;
  case NOT_FOUND:
    *out = "named symbol not found";
    return SUCCESS;
  case INVALID_PTX:
    *out = "a PTX JIT compilation failed";
    return SUCCESS;
  case NOT_SUPPORTED:
    *out = "operation not supported";
    return SUCCESS;
  case LAUNCH_FAILED:
    *out = "unspecified launch failure";
    return SUCCESS;
  case INVALID_IMAGE:
    *out = "device kernel image is invalid";
    return SUCCESS;
  }
  return INVALID_VALUE;
}

EXPORT CUresult cuDriverGetVersion(int *version) {
  *version = 12040;
  return SUCCESS;
}

EXPORT CUresult cuInit(unsigned flags) {
  (void)flags;
  if (is("no-device"))
    return 100;
  if (is("stub"))
    return 34;
  return SUCCESS;
}

EXPORT CUresult cuDeviceGetCount(int *count) {
  *count = hasDevice() ? 1 : 0;
  return SUCCESS;
}

EXPORT CUresult cuDeviceGet(int *device, int ordinal) {
  if (!hasDevice() || ordinal != 0)
    return 101; /* CUDA_ERROR_INVALID_DEVICE */
  *device = 0;
  return SUCCESS;
}

EXPORT CUresult cuDeviceGetName(char *name, int len, int device) {
  (void)device;
  strncpy(name, is("ptx") ? "PTX interpreter (ptxemu, host)"
                          : "Fake H100 (host emulation)",
          (size_t)len);
  if (len > 0)
    name[len - 1] = '\0';
  return SUCCESS;
}

EXPORT CUresult cuDeviceGetAttribute(int *value, int attr, int device) {
  (void)device;
  switch (attr) {
  case 1: /* MAX_THREADS_PER_BLOCK */
  case 2: /* MAX_BLOCK_DIM_X */
  case 3: /* MAX_BLOCK_DIM_Y */
    *value = 1024;
    return SUCCESS;
  case 4: /* MAX_BLOCK_DIM_Z */
    *value = 64;
    return SUCCESS;
  case 5: /* MAX_GRID_DIM_X */
    *value = 2147483647;
    return SUCCESS;
  case 6: /* MAX_GRID_DIM_Y */
  case 7: /* MAX_GRID_DIM_Z */
    *value = 65535;
    return SUCCESS;
  case 75: /* COMPUTE_CAPABILITY_MAJOR */
    *value = is("ptx") ? 12 : 9;
    return SUCCESS;
  case 76: /* COMPUTE_CAPABILITY_MINOR */
    *value = 0;
    return SUCCESS;
  case 97: /* MAX_SHARED_MEMORY_PER_BLOCK_OPTIN */
    *value = 232448;
    return SUCCESS;
  }
  return INVALID_VALUE;
}

//===----------------------------------------------------------------------===//
// Contexts (one, the primary context; a thread-local stack depth)
//===----------------------------------------------------------------------===//

static int gContext;
static __thread int tDepth;

/* What the emulation saw, for attune_fake_cuda_counters. */
enum {
  C_RETAINED,    /* primary context references */
  C_ALLOCATIONS, /* live device allocations */
  C_MODULES,     /* loaded modules */
  C_STREAMS,     /* live streams */
  C_EVENTS,      /* live events */
  C_GRAPHS,      /* live graphs and executable graphs */
  C_UPLOADS,     /* cuMemcpyHtoDAsync calls */
  C_DOWNLOADS,   /* cuMemcpyDtoHAsync calls */
  C_GRAPH_LAUNCHES,
  C_KERNEL_RUNS, /* kernels run (directly or in a graph) */
  C_COUNT
};
static long gCounters[C_COUNT];
static pthread_mutex_t gMu = PTHREAD_MUTEX_INITIALIZER;

static void count(int counter, long delta) {
  pthread_mutex_lock(&gMu);
  gCounters[counter] += delta;
  pthread_mutex_unlock(&gMu);
}

EXPORT CUresult cuDevicePrimaryCtxRetain(void **ctx, int device) {
  (void)device;
  count(C_RETAINED, 1);
  *ctx = &gContext;
  return SUCCESS;
}

EXPORT CUresult cuDevicePrimaryCtxRelease_v2(int device) {
  (void)device;
  count(C_RETAINED, -1);
  return SUCCESS;
}

EXPORT CUresult cuCtxPushCurrent_v2(void *ctx) {
  if (ctx != &gContext)
    return INVALID_VALUE;
  ++tDepth;
  return SUCCESS;
}

EXPORT CUresult cuCtxPopCurrent_v2(void **ctx) {
  if (tDepth == 0)
    return INVALID_VALUE;
  --tDepth;
  if (ctx)
    *ctx = &gContext;
  return SUCCESS;
}

/* Every call below needs the context current, as the real driver does. */
#define NEED_CONTEXT()                                                         \
  do {                                                                         \
    if (tDepth == 0)                                                           \
      return 201; /* CUDA_ERROR_INVALID_CONTEXT */                             \
  } while (0)

//===----------------------------------------------------------------------===//
// Modules and kernels
//===----------------------------------------------------------------------===//

typedef enum { K_ADD, K_AXPBK, K_IDS, K_COUNT } KernelId;
static const char *const kKernelNames[K_COUNT] = {
    "attune_test_add_f32", "attune_test_axpbk_f32", "attune_test_ids_f32"};

typedef struct Function {
  KernelId id;
  int maxDynamicShared;
  ptxemu_kernel_info info; /* ptx mode */
  struct Module *module;
  struct Function *next;
} Function;

typedef struct Module {
  Function functions[K_COUNT];
  ptxemu_module *emu;    /* ptx mode */
  Function *emuKernels;  /* the functions cuModuleGetFunction made */
} Module;

static CUresult loadModule(void **module, const char *ptx, int isText,
                           char *log, size_t logSize) {
  NEED_CONTEXT();
  if (is("ptx")) {
    if (!isText)
      return INVALID_IMAGE; /* a cubin: not for this device */
    ptxemu_module *emu = ptxemu_load(ptx, log, logSize);
    if (!emu)
      return INVALID_PTX;
    Module *m = calloc(1, sizeof(Module));
    if (!m) {
      ptxemu_unload(emu);
      return OUT_OF_MEMORY;
    }
    m->emu = emu;
    count(C_MODULES, 1);
    *module = m;
    return SUCCESS;
  }
  /* PTX must define every test kernel; a cubin is taken as it is. */
  if (isText)
    for (int k = 0; k < K_COUNT; ++k) {
      char entry[96];
      strcpy(entry, ".entry ");
      strcat(entry, kKernelNames[k]);
      strcat(entry, "(");
      if (!strstr(ptx, entry))
        return INVALID_PTX;
    }
  Module *m = calloc(1, sizeof(Module));
  if (!m)
    return OUT_OF_MEMORY;
  for (int k = 0; k < K_COUNT; ++k) {
    m->functions[k].id = (KernelId)k;
    m->functions[k].maxDynamicShared = 48 * 1024;
  }
  count(C_MODULES, 1);
  *module = m;
  return SUCCESS;
}

EXPORT CUresult cuModuleLoadData(void **module, const void *image) {
  /* An ELF image (cubin) or PTX text. */
  const unsigned char *p = image;
  int elf = p[0] == 0x7f && p[1] == 'E' && p[2] == 'L' && p[3] == 'F';
  return loadModule(module, image, !elf, NULL, 0);
}

EXPORT CUresult cuModuleLoadDataEx(void **module, const void *image, unsigned n,
                                   int *options, void **values) {
  char *log = NULL;
  size_t logSize = 0;
  for (unsigned i = 0; i < n; ++i)
    if (options[i] == 5 /* CU_JIT_ERROR_LOG_BUFFER */)
      for (unsigned j = 0; j < n; ++j)
        if (options[j] == 6)
          log = values[i], logSize = (size_t)(uintptr_t)values[j];
  CUresult r = loadModule(module, image, 1, log, logSize);
  if (r == INVALID_PTX && !is("ptx") && log && logSize > 0) {
    strncpy(log,
            "fake JIT: line 4: unknown instruction\n"
            "fake JIT: the test kernels are missing",
            logSize);
    log[logSize - 1] = '\0';
  }
  return r;
}

EXPORT CUresult cuModuleUnload(void *module) {
  NEED_CONTEXT();
  count(C_MODULES, -1);
  Module *m = module;
  if (m->emu)
    ptxemu_unload(m->emu);
  for (Function *f = m->emuKernels; f;) {
    Function *next = f->next;
    free(f);
    f = next;
  }
  free(module);
  return SUCCESS;
}

EXPORT CUresult cuModuleGetFunction(void **fn, void *module, const char *name) {
  NEED_CONTEXT();
  Module *m = module;
  if (m->emu) {
    ptxemu_kernel_info info;
    if (ptxemu_find_kernel(m->emu, name, &info) != 0)
      return NOT_FOUND;
    for (Function *f = m->emuKernels; f; f = f->next)
      if (f->info.index == info.index) {
        *fn = f;
        return SUCCESS;
      }
    Function *f = calloc(1, sizeof(Function));
    if (!f)
      return OUT_OF_MEMORY;
    f->info = info;
    f->module = m;
    f->maxDynamicShared = 48 * 1024 - info.static_shared_bytes;
    f->next = m->emuKernels;
    m->emuKernels = f;
    *fn = f;
    return SUCCESS;
  }
  for (int k = 0; k < K_COUNT; ++k)
    if (strcmp(name, kKernelNames[k]) == 0) {
      *fn = &m->functions[k];
      return SUCCESS;
    }
  return NOT_FOUND;
}

EXPORT CUresult cuFuncGetAttribute(int *value, int attr, void *fn) {
  NEED_CONTEXT();
  Function *f = fn;
  switch (attr) {
  case 0: /* MAX_THREADS_PER_BLOCK */
    *value = f->module && f->module->emu ? f->info.max_threads : 1024;
    return SUCCESS;
  case 1: /* SHARED_SIZE_BYTES */
    *value = f->module && f->module->emu ? f->info.static_shared_bytes : 0;
    return SUCCESS;
  case 8: /* MAX_DYNAMIC_SHARED_SIZE_BYTES */
    *value = f->maxDynamicShared;
    return SUCCESS;
  }
  return INVALID_VALUE;
}

EXPORT CUresult cuFuncSetAttribute(void *fn, int attr, int value) {
  NEED_CONTEXT();
  Function *f = fn;
  if (attr != 8 || value < 0 || value > 232448)
    return INVALID_VALUE;
  f->maxDynamicShared = value;
  return SUCCESS;
}

//===----------------------------------------------------------------------===//
// Memory
//===----------------------------------------------------------------------===//

/* The live allocations, sorted by address: ptx mode checks every global
 * access of a kernel against them. */
typedef struct Allocation {
  uint64_t begin, end;
} Allocation;
static Allocation *gAllocs;
static size_t gAllocCount, gAllocCapacity;

static int recordAllocation(uint64_t begin, uint64_t bytes) {
  pthread_mutex_lock(&gMu);
  if (gAllocCount == gAllocCapacity) {
    size_t capacity = gAllocCapacity ? 2 * gAllocCapacity : 64;
    Allocation *grown = realloc(gAllocs, capacity * sizeof(Allocation));
    if (!grown) {
      pthread_mutex_unlock(&gMu);
      return 0;
    }
    gAllocs = grown;
    gAllocCapacity = capacity;
  }
  size_t i = gAllocCount;
  while (i > 0 && gAllocs[i - 1].begin > begin) {
    gAllocs[i] = gAllocs[i - 1];
    --i;
  }
  gAllocs[i].begin = begin;
  gAllocs[i].end = begin + bytes;
  ++gAllocCount;
  pthread_mutex_unlock(&gMu);
  return 1;
}

static void forgetAllocation(uint64_t begin) {
  pthread_mutex_lock(&gMu);
  for (size_t i = 0; i < gAllocCount; ++i)
    if (gAllocs[i].begin == begin) {
      memmove(&gAllocs[i], &gAllocs[i + 1],
              (gAllocCount - i - 1) * sizeof(Allocation));
      --gAllocCount;
      break;
    }
  pthread_mutex_unlock(&gMu);
}

/* A launch's snapshot of the allocations (ptxemu_global_check). */
typedef struct AllocSnapshot {
  const Allocation *a;
  size_t n;
} AllocSnapshot;

static int inAllocation(uint64_t addr, uint64_t size, void *ctx) {
  const AllocSnapshot *s = ctx;
  size_t lo = 0, hi = s->n;
  while (lo < hi) { /* the last allocation beginning at or below addr */
    size_t mid = (lo + hi) / 2;
    if (s->a[mid].begin <= addr)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo > 0 && addr + size <= s->a[lo - 1].end;
}

EXPORT CUresult cuMemAlloc_v2(CUdeviceptr *p, size_t bytes) {
  NEED_CONTEXT();
  if (bytes == 0)
    return INVALID_VALUE;
  void *m = aligned_alloc(256, (bytes + 255) / 256 * 256);
  if (!m)
    return OUT_OF_MEMORY;
  memset(m, 0xA5, bytes); /* device memory starts out as garbage */
  if (!recordAllocation((uint64_t)(uintptr_t)m, bytes)) {
    free(m);
    return OUT_OF_MEMORY;
  }
  count(C_ALLOCATIONS, 1);
  *p = (CUdeviceptr)(uintptr_t)m;
  return SUCCESS;
}

EXPORT CUresult cuMemFree_v2(CUdeviceptr p) {
  NEED_CONTEXT();
  count(C_ALLOCATIONS, -1);
  forgetAllocation(p);
  free((void *)(uintptr_t)p);
  return SUCCESS;
}

EXPORT CUresult cuMemcpyHtoD_v2(CUdeviceptr dst, const void *src, size_t n) {
  NEED_CONTEXT();
  memcpy((void *)(uintptr_t)dst, src, n);
  return SUCCESS;
}

EXPORT CUresult cuMemsetD8_v2(CUdeviceptr dst, unsigned char v, size_t n) {
  NEED_CONTEXT();
  memset((void *)(uintptr_t)dst, v, n);
  return SUCCESS;
}

//===----------------------------------------------------------------------===//
// Streams, graphs, events
//===----------------------------------------------------------------------===//

typedef struct Launch {
  Function *fn;
  unsigned grid[3], block[3];
  CUdeviceptr ptrs[8];
  int nptrs;
  int64_t launch;
  /* ptx mode: the parameters packed as the kernel declares them */
  unsigned dynamicShared;
  unsigned char packed[1024];
} Launch;

typedef struct Graph {
  Launch *launches;
  int count, capacity;
} Graph;

typedef struct Stream {
  int capturing;
  CUresult captureError;
  Graph *graph;
} Stream;

static int nPointers(KernelId k) {
  return k == K_ADD ? 3 : k == K_AXPBK ? 4 : 2;
}

#define AT(T, p) ((T *)(uintptr_t)(p))

/* ptx mode: the kernel on the PTX interpreter. */
static CUresult runPtx(const Launch *l) {
  if (gStickyError)
    return gStickyError;
  pthread_mutex_lock(&gMu);
  AllocSnapshot snap = {NULL, gAllocCount};
  Allocation *copy = malloc((gAllocCount ? gAllocCount : 1) * sizeof(Allocation));
  if (copy)
    memcpy(copy, gAllocs, gAllocCount * sizeof(Allocation));
  pthread_mutex_unlock(&gMu);
  if (!copy)
    return OUT_OF_MEMORY;
  snap.a = copy;
  const char *t = getenv("ATTUNE_PTXEMU_THREADS");
  char err[2048];
  int rc = ptxemu_launch(l->fn->module->emu, l->fn->info.index, l->grid,
                         l->block, l->dynamicShared, l->packed, inAllocation,
                         &snap, t ? atoi(t) : 0, err, sizeof err);
  free(copy);
  if (rc != 0) {
    fprintf(stderr, "%s\n", err);
    gStickyError = LAUNCH_FAILED;
    return LAUNCH_FAILED;
  }
  return SUCCESS;
}

/* The kernels of CudaTestKernels.ptx, one thread per index. */
static CUresult run(const Launch *l) {
  count(C_KERNEL_RUNS, 1);
  if (l->fn->module && l->fn->module->emu)
    return runPtx(l);
  uint64_t threads = (uint64_t)l->grid[0] * l->block[0];
  const CUdeviceptr *p = l->ptrs;
  int64_t *record = AT(int64_t, p[l->nptrs]);
  switch (l->fn->id) {
  case K_ADD:
    for (uint64_t i = 0; i < threads && i < 1000; ++i)
      AT(float, p[2])
      [i] = AT(float, p[0])[i] + (p[1] ? AT(float, p[1])[i] : 1.0f);
    break;
  case K_AXPBK:
    for (uint64_t i = 0; i < threads && i < 1000; ++i) {
      float scaled = AT(float, p[1])[i] * 0.5f;
      float sum = AT(float, p[0])[i] + scaled;
      AT(float, p[3])[i] = sum + AT(float, p[2])[0];
    }
    break;
  case K_IDS:
    for (uint64_t i = 0; i < threads && i < 8; ++i) {
      int32_t id = AT(int32_t, p[0])[i];
      if (id < 0 || id >= 5) {
        if (record[0] == 0) {
          record[0] = 1;
          record[1] = l->launch;
          record[2] = (int64_t)i;
          record[3] = id;
          record[4] = 5;
        }
        continue;
      }
      AT(float, p[1])[i] = (float)id;
    }
    break;
  case K_COUNT:
    break;
  }
  return SUCCESS;
}

EXPORT CUresult cuStreamCreate(void **stream, unsigned flags) {
  NEED_CONTEXT();
  (void)flags;
  Stream *s = calloc(1, sizeof(Stream));
  if (!s)
    return OUT_OF_MEMORY;
  count(C_STREAMS, 1);
  *stream = s;
  return SUCCESS;
}

EXPORT CUresult cuStreamDestroy_v2(void *stream) {
  NEED_CONTEXT();
  count(C_STREAMS, -1);
  free(stream);
  return SUCCESS;
}

EXPORT CUresult cuStreamSynchronize(void *stream) {
  NEED_CONTEXT();
  Stream *s = stream;
  if (gStickyError)
    return gStickyError;
  return s->capturing ? 900 /* CAPTURE_UNSUPPORTED */ : SUCCESS;
}

#define NOT_WHILE_CAPTURING(stream)                                            \
  do {                                                                         \
    Stream *s_ = (stream);                                                     \
    if (s_ && s_->capturing) {                                                 \
      s_->captureError = CAPTURE_INVALIDATED;                                  \
      return 900;                                                              \
    }                                                                          \
  } while (0)

EXPORT CUresult cuMemcpyHtoDAsync_v2(CUdeviceptr dst, const void *src, size_t n,
                                     void *stream) {
  NEED_CONTEXT();
  NOT_WHILE_CAPTURING(stream);
  memcpy((void *)(uintptr_t)dst, src, n);
  count(C_UPLOADS, 1);
  return SUCCESS;
}

EXPORT CUresult cuMemcpyDtoHAsync_v2(void *dst, CUdeviceptr src, size_t n,
                                     void *stream) {
  NEED_CONTEXT();
  NOT_WHILE_CAPTURING(stream);
  memcpy(dst, (const void *)(uintptr_t)src, n);
  count(C_DOWNLOADS, 1);
  return SUCCESS;
}

EXPORT CUresult cuMemsetD8Async(CUdeviceptr dst, unsigned char v, size_t n,
                                void *stream) {
  NEED_CONTEXT();
  NOT_WHILE_CAPTURING(stream);
  memset((void *)(uintptr_t)dst, v, n);
  return SUCCESS;
}

EXPORT CUresult cuLaunchKernel(void *fn, unsigned gx, unsigned gy, unsigned gz,
                               unsigned bx, unsigned by, unsigned bz,
                               unsigned shared, void *stream, void **params,
                               void **extra) {
  NEED_CONTEXT();
  Function *f = fn;
  if (!f || !params || extra || (int)shared > f->maxDynamicShared ||
      (uint64_t)bx * by * bz > 1024 || gy > 65535 || gz > 65535)
    return INVALID_VALUE;
  Launch l;
  memset(&l, 0, sizeof(l));
  l.fn = f;
  l.grid[0] = gx, l.grid[1] = gy, l.grid[2] = gz;
  l.block[0] = bx, l.block[1] = by, l.block[2] = bz;
  if (f->module && f->module->emu) {
    if (f->info.params_bytes > (int)sizeof(l.packed) ||
        (uint64_t)bx * by * bz > (uint64_t)f->info.max_threads)
      return INVALID_VALUE;
    for (int i = 0; i < f->info.num_params; ++i)
      memcpy(l.packed + f->info.param_offsets[i], params[i],
             (size_t)f->info.param_sizes[i]);
    l.dynamicShared = shared;
  } else {
    l.nptrs = nPointers(f->id);
    for (int i = 0; i <= l.nptrs; ++i) /* the args, then the error record */
      l.ptrs[i] = *(CUdeviceptr *)params[i];
    l.launch = *(int64_t *)params[l.nptrs + 1];
    if (!l.ptrs[l.nptrs])
      return INVALID_VALUE; /* every kernel gets the error record */
  }
  Stream *s = stream;
  if (s && s->capturing) {
    Graph *g = s->graph;
    if (g->count == g->capacity) {
      int capacity = g->capacity ? 2 * g->capacity : 8;
      Launch *grown = realloc(g->launches, (size_t)capacity * sizeof(Launch));
      if (!grown)
        return OUT_OF_MEMORY;
      g->launches = grown;
      g->capacity = capacity;
    }
    g->launches[g->count++] = l;
    return SUCCESS;
  }
  return run(&l);
}

EXPORT CUresult cuStreamBeginCapture_v2(void *stream, int mode) {
  NEED_CONTEXT();
  Stream *s = stream;
  const char *no = getenv("ATTUNE_FAKE_CUDA_NO_CAPTURE");
  if (no && strcmp(no, "1") == 0)
    return NOT_SUPPORTED;
  if (!s || s->capturing || mode != 1 /* THREAD_LOCAL */)
    return INVALID_VALUE;
  s->graph = calloc(1, sizeof(Graph));
  if (!s->graph)
    return OUT_OF_MEMORY;
  s->capturing = 1;
  s->captureError = SUCCESS;
  return SUCCESS;
}

EXPORT CUresult cuStreamEndCapture(void *stream, void **graph) {
  NEED_CONTEXT();
  Stream *s = stream;
  if (!s || !s->capturing)
    return INVALID_VALUE;
  s->capturing = 0;
  Graph *g = s->graph;
  s->graph = NULL;
  if (s->captureError != SUCCESS) {
    free(g->launches);
    free(g);
    *graph = NULL;
    return s->captureError;
  }
  count(C_GRAPHS, 1);
  *graph = g;
  return SUCCESS;
}

EXPORT CUresult cuGraphInstantiateWithFlags(void **exec, void *graph,
                                            unsigned long long flags) {
  NEED_CONTEXT();
  (void)flags;
  Graph *g = graph, *copy = calloc(1, sizeof(Graph));
  if (!copy)
    return OUT_OF_MEMORY;
  copy->launches = malloc((size_t)(g->count ? g->count : 1) * sizeof(Launch));
  if (!copy->launches) {
    free(copy);
    return OUT_OF_MEMORY;
  }
  memcpy(copy->launches, g->launches, (size_t)g->count * sizeof(Launch));
  copy->count = copy->capacity = g->count;
  count(C_GRAPHS, 1);
  *exec = copy;
  return SUCCESS;
}

EXPORT CUresult cuGraphLaunch(void *exec, void *stream) {
  NEED_CONTEXT();
  NOT_WHILE_CAPTURING(stream);
  Graph *g = exec;
  count(C_GRAPH_LAUNCHES, 1);
  for (int i = 0; i < g->count; ++i) {
    CUresult r = run(&g->launches[i]);
    if (r != SUCCESS)
      return r;
  }
  return SUCCESS;
}

static CUresult destroyGraph(void *graph) {
  NEED_CONTEXT();
  Graph *g = graph;
  count(C_GRAPHS, -1);
  free(g->launches);
  free(g);
  return SUCCESS;
}

EXPORT CUresult cuGraphExecDestroy(void *exec) { return destroyGraph(exec); }
EXPORT CUresult cuGraphDestroy(void *graph) { return destroyGraph(graph); }

typedef struct Event {
  struct timespec at;
} Event;

EXPORT CUresult cuEventCreate(void **event, unsigned flags) {
  NEED_CONTEXT();
  (void)flags;
  Event *e = calloc(1, sizeof(Event));
  if (!e)
    return OUT_OF_MEMORY;
  count(C_EVENTS, 1);
  *event = e;
  return SUCCESS;
}

EXPORT CUresult cuEventRecord(void *event, void *stream) {
  NEED_CONTEXT();
  NOT_WHILE_CAPTURING(stream);
  clock_gettime(CLOCK_MONOTONIC, &((Event *)event)->at);
  return SUCCESS;
}

EXPORT CUresult cuEventSynchronize(void *event) {
  NEED_CONTEXT();
  (void)event;
  return gStickyError;
}

EXPORT CUresult cuEventElapsedTime(float *ms, void *start, void *stop) {
  NEED_CONTEXT();
  const struct timespec *a = &((Event *)start)->at, *b = &((Event *)stop)->at;
  double d = (double)(b->tv_sec - a->tv_sec) * 1e3 +
             (double)(b->tv_nsec - a->tv_nsec) / 1e6;
  /* A real event pair is never closer than the timer's resolution. */
  *ms = (float)(d > 0.0005 ? d : 0.0005);
  return SUCCESS;
}

EXPORT CUresult cuEventDestroy_v2(void *event) {
  NEED_CONTEXT();
  count(C_EVENTS, -1);
  free(event);
  return SUCCESS;
}

//===----------------------------------------------------------------------===//
// For the tests (not driver API): what the emulation saw, in the order of
// the C_* counters above.
//===----------------------------------------------------------------------===//

EXPORT int attune_fake_cuda_counters(long *out, int n) {
  pthread_mutex_lock(&gMu);
  for (int i = 0; i < n && i < C_COUNT; ++i)
    out[i] = gCounters[i];
  pthread_mutex_unlock(&gMu);
  return C_COUNT;
}
