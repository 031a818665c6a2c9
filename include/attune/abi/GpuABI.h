/*===- GpuABI.h - How the runtime launches compiled CUDA kernels ---*- C -*-===//
 *
 * The cuda target of attune-compile implements every launch of a function's
 * schedule (the target-independent family launches of Families.h) as one or
 * more GPU steps. Each step names a kernel of the artifact's CUDA module (a
 * cubin per architecture plus PTX), the values it reads and writes, and its
 * launch geometry:
 *
 *   kernel        entry point (a C identifier) of the CUDA module
 *   args          value ids of the function, in parameter order; -1 = NULL
 *   arg_bytes     for each arg, how many bytes from its start the kernel may
 *                 read or write; the runtime refuses a step whose value is
 *                 smaller (so a schedule that does not match its buffers is
 *                 a load error, never an out-of-bounds access)
 *   grid, block   x, y, z
 *   shared_bytes  dynamic shared memory; the runtime refuses a step above
 *                 the device's opt-in limit and raises the kernel's
 *                 CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES above 48 KiB
 *
 * Kernel parameters: one 64-bit device pointer per arg (NULL for -1), then
 * the session's error record (a 64-bit device pointer to
 * attune_gpu_error_record), then the launch index within the function
 * (int64). Every kernel has these two trailing parameters whether or not it
 * can fail. Shapes, strides and attributes are compiled into the kernel.
 *
 * Data-dependent errors (an embedding id or a label out of range): the
 * kernel atomically swaps `code` from 0 to its error code; the thread that
 * succeeds writes `launch` and `detail`. After a run the runtime reads the
 * record, turns a nonzero code into an error naming the launch's op,
 * location and details, and clears it. Outputs of a failed run are
 * unspecified.
 *
 * Steps of one launch run in order on one stream; a step may use arena
 * values that only GPU steps touch (scratch: block maps built at run time,
 * LSH buckets and permutations).
 *
 *===----------------------------------------------------------------------===*/

#ifndef ATTUNE_ABI_GPUABI_H
#define ATTUNE_ABI_GPUABI_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Bumped with any change of meaning in this file (stored next to
 * ATTUNE_KERNEL_ABI_VERSION; both must match). */
#define ATTUNE_GPU_ABI_VERSION 1

enum {
  ATTUNE_GPU_ERROR_NONE = 0,
  /* detail: position, id, vocabulary size */
  ATTUNE_GPU_ERROR_ID_OUT_OF_RANGE = 1,
  /* detail: row, label, number of classes */
  ATTUNE_GPU_ERROR_LABEL_OUT_OF_RANGE = 2
};

typedef struct attune_gpu_error_record {
  int64_t code;   /* ATTUNE_GPU_ERROR_* */
  int64_t launch; /* index of the launch in the function's schedule */
  int64_t detail[6];
} attune_gpu_error_record;

/* Cubin sections store the architecture as sm * 10 + (1 for the
 * architecture-specific "a" variants): 800 = sm_80, 901 = sm_90a. A cubin
 * for sm_XY runs on devices of compute capability X.Z with Z >= Y for the
 * plain variants and exactly X.Y for "a" variants; otherwise the runtime
 * JIT-compiles the PTX section. */
#define ATTUNE_CUBIN_ARCH(sm, a) ((uint32_t)(sm) * 10u + ((a) ? 1u : 0u))

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* ATTUNE_ABI_GPUABI_H */
