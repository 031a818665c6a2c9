/*===- KernelABI.h - How the runtime calls compiled CPU kernels ----*- C -*-===//
 *
 * The contract between three parties that never link each other:
 *   - the CPU kernel families (codegen/cpu/kernels), compiled at build time
 *     into libattune_cpu_kernels.a and linked by attune-compile into the
 *     shared object of every artifact;
 *   - attune-compile, which turns each op into launches of those families and
 *     compiles the ops' regions (attention mask/score functions) into hook
 *     functions in the same shared object;
 *   - the runtime's CPU device, which dlopens that shared object and runs the
 *     artifact's launch schedule on a thread pool.
 *
 * Plain C, no LLVM, no C++ types: the shared object and the runtime may be
 * built by different compilers.
 *
 * A launch names a kernel symbol, a grid (the number of independent work
 * items), its buffers, integer and float parameters, captured buffers and
 * hook symbols. The runtime splits [0, grid) into ranges and calls
 *     int kernel(const attune_kernel_args *args, attune_kernel_ctx *ctx,
 *                int64_t begin, int64_t end);
 * from several threads at once for disjoint ranges. Work items must write
 * disjoint parts of the outputs (or the family's grid is 1). A kernel returns
 * ATTUNE_KERNEL_OK or an error code after writing a one-line message into
 * ctx->error (always NUL-terminated, truncated to ctx->error_capacity).
 *
 * Kernel symbols are `attune_cpu_<family>_<dtype>` with dtype one of f32,
 * bf16, f16 (the storage type of the family's floating-point tensors;
 * computation is f32 with f32 accumulation). Integer tensors (ids, labels,
 * positions, document ids) are i32 or i64, given by a parameter.
 *
 * Every kernel symbol K also has a companion
 *     int K_check(const attune_kernel_args *args, int64_t *grid,
 *                 char *error, size_t capacity);
 * which the runtime calls once per launch when it loads an artifact. It
 * checks the parameters against the buffer byte sizes (args->sizes), so that
 * a schedule whose parameters do not match its buffers is a load error and
 * never an out-of-bounds access, and it returns the launch's grid (the kernel
 * chooses its own tiling). The parameter layout of each family is in
 * include/attune/abi/Families.h.
 *
 *===----------------------------------------------------------------------===*/

#ifndef ATTUNE_ABI_KERNELABI_H
#define ATTUNE_ABI_KERNELABI_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Bumped whenever anything in this file changes meaning. The compiler stores
 * it in the artifact; the runtime refuses a different one. */
#define ATTUNE_KERNEL_ABI_VERSION 1

enum {
  ATTUNE_KERNEL_OK = 0,
  ATTUNE_KERNEL_INVALID_ARGUMENT = 1, /* parameters do not match buffers */
  ATTUNE_KERNEL_OUT_OF_RANGE = 2,     /* data-dependent: an id, a label */
  ATTUNE_KERNEL_INTERNAL = 3
};

/* A mask hook: allowed[j] = mask_region(b, h, q, k0 + j) for 0 <= j < n
 * (1 or 0). `captures` are the tensors the region reads (tensor.extract), in
 * the launch's capture order. */
typedef void (*attune_mask_hook)(void *const *captures, int64_t b, int64_t h,
                                 int64_t q, int64_t k0, int64_t n,
                                 uint8_t *allowed);
/* A score hook: s[j] = score_region(s[j], b, h, q, k0 + j) for 0 <= j < n.
 *
 * Every hook H comes with a constant `const int64_t H_captures[]` =
 * {n, index_0, bytes_0, ..., index_{n-1}, bytes_{n-1}}: the capture indices H
 * reads and how many bytes of each. The runtime refuses a launch whose
 * capture list is shorter or whose captured buffers are smaller. */
typedef void (*attune_score_hook)(void *const *captures, float *s, int64_t b,
                                  int64_t h, int64_t q, int64_t k0, int64_t n);

typedef struct attune_kernel_args {
  /* The family's buffers, in the family's documented order; an absent
   * optional buffer is NULL with size 0. */
  void *const *buffers;
  const uint64_t *sizes; /* byte size of each buffer */
  int64_t num_buffers;
  const int64_t *ints;
  int64_t num_ints;
  const double *floats;
  int64_t num_floats;
  /* Tensors read by the hooks (regions), passed to them unchanged. */
  void *const *captures;
  const uint64_t *capture_sizes;
  int64_t num_captures;
  /* Hook function pointers, in the family's documented order (attention:
   * mask hook, score hook; either may be NULL). */
  void *const *hooks;
  int64_t num_hooks;
} attune_kernel_args;

typedef struct attune_kernel_ctx {
  int thread_index; /* 0 .. num_threads-1, stable for one call */
  int num_threads;
  char *error;      /* message buffer for a failing call */
  size_t error_capacity;
} attune_kernel_ctx;

typedef int (*attune_cpu_kernel_fn)(const attune_kernel_args *args,
                                    attune_kernel_ctx *ctx, int64_t begin,
                                    int64_t end);
typedef int (*attune_cpu_check_fn)(const attune_kernel_args *args,
                                   int64_t *grid, char *error,
                                   size_t capacity);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* ATTUNE_ABI_KERNELABI_H */
