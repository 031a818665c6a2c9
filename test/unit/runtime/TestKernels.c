/*===- TestKernels.c - A tiny kernel library for runtime tests ------------===//
 *
 * Built as a shared object whose bytes the tests put into artifacts, so that
 * the runtime's loader, checks, thread pool and error paths are tested
 * without the compiler. Follows include/attune/abi/KernelABI.h.
 *
 * attune_cpu_testadd_f32: y[i] = a[i] + alpha * b[i], then the optional
 *   score hook over y[begin, end)
 *   buffers: 0 a f32[n], 1 b f32[n], 2 y f32[n]; ints: n; floats: alpha
 *   hooks: 0 mask hook (unused, NULL), 1 score hook or NULL (the slots of
 *   attention); grid: n
 * attune_cpu_testids_f32: y[i] = (float)ids[i], OUT_OF_RANGE when an id is
 *   outside [0, limit)
 *   buffers: 0 ids i32[n], 1 y f32[n]; ints: n limit; grid: n
 * attune_hook_test_add_capture_score: score hook, s[j] += captures[0][0] (f32)
 *
 *===----------------------------------------------------------------------===*/

#include "attune/abi/KernelABI.h"

#include <stdarg.h>
#include <stdio.h>

#define EXPORT __attribute__((visibility("default")))

static int fail(char *error, size_t capacity, int code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  if (capacity)
    vsnprintf(error, capacity, fmt, ap);
  va_end(ap);
  return code;
}

static int holds(const attune_kernel_args *a, int64_t i, int64_t n,
                 int64_t elem) {
  return i < a->num_buffers && a->buffers[i] && n >= 0 &&
         (uint64_t)n * (uint64_t)elem <= a->sizes[i];
}

EXPORT int attune_cpu_testadd_f32_check(const attune_kernel_args *a,
                                        int64_t *grid, char *error,
                                        size_t capacity) {
  if (a->num_buffers != 3 || a->num_ints != 1 || a->num_floats != 1)
    return fail(error, capacity, ATTUNE_KERNEL_INVALID_ARGUMENT,
                "testadd expects 3 buffers, 1 int and 1 float, got %lld, "
                "%lld and %lld",
                (long long)a->num_buffers, (long long)a->num_ints,
                (long long)a->num_floats);
  int64_t n = a->ints[0];
  for (int i = 0; i < 3; ++i)
    if (!holds(a, i, n, 4))
      return fail(error, capacity, ATTUNE_KERNEL_INVALID_ARGUMENT,
                  "testadd: buffer %d holds %llu bytes, expected %lld f32 "
                  "(n = %lld)",
                  i, (unsigned long long)a->sizes[i], (long long)n,
                  (long long)n);
  if (a->num_hooks > 2 || (a->num_hooks >= 1 && a->hooks[0]) ||
      (a->num_hooks == 2 && a->hooks[1] && a->num_captures < 1))
    return fail(error, capacity, ATTUNE_KERNEL_INVALID_ARGUMENT,
                "testadd: the score hook needs one capture");
  *grid = n;
  return ATTUNE_KERNEL_OK;
}

EXPORT int attune_cpu_testadd_f32(const attune_kernel_args *a,
                                  attune_kernel_ctx *ctx, int64_t begin,
                                  int64_t end) {
  const float *x = (const float *)a->buffers[0];
  const float *w = (const float *)a->buffers[1];
  float *y = (float *)a->buffers[2];
  float alpha = (float)a->floats[0];
  (void)ctx;
  for (int64_t i = begin; i < end; ++i)
    y[i] = x[i] + alpha * w[i];
  if (a->num_hooks == 2 && a->hooks[1]) {
    attune_score_hook hook = (attune_score_hook)a->hooks[1];
    hook(a->captures, y + begin, 0, 0, 0, begin, end - begin);
  }
  return ATTUNE_KERNEL_OK;
}

EXPORT int attune_cpu_testids_f32_check(const attune_kernel_args *a,
                                        int64_t *grid, char *error,
                                        size_t capacity) {
  if (a->num_buffers != 2 || a->num_ints != 2)
    return fail(error, capacity, ATTUNE_KERNEL_INVALID_ARGUMENT,
                "testids expects 2 buffers and 2 ints");
  int64_t n = a->ints[0];
  if (!holds(a, 0, n, 4) || !holds(a, 1, n, 4))
    return fail(error, capacity, ATTUNE_KERNEL_INVALID_ARGUMENT,
                "testids: buffers too small for n = %lld", (long long)n);
  *grid = n;
  return ATTUNE_KERNEL_OK;
}

EXPORT int attune_cpu_testids_f32(const attune_kernel_args *a,
                                  attune_kernel_ctx *ctx, int64_t begin,
                                  int64_t end) {
  const int32_t *ids = (const int32_t *)a->buffers[0];
  float *y = (float *)a->buffers[1];
  int64_t limit = a->ints[1];
  for (int64_t i = begin; i < end; ++i) {
    if (ids[i] < 0 || ids[i] >= limit)
      return fail(ctx->error, ctx->error_capacity, ATTUNE_KERNEL_OUT_OF_RANGE,
                  "id %d at position %lld is outside [0, %lld)", ids[i],
                  (long long)i, (long long)limit);
    y[i] = (float)ids[i];
  }
  return ATTUNE_KERNEL_OK;
}

/* Reads 4 bytes of capture #0 (KernelABI.h capture descriptor). */
EXPORT const int64_t attune_hook_test_add_capture_score_captures[] = {1, 0, 4};

EXPORT void attune_hook_test_add_capture_score(void *const *captures, float *s, int64_t b,
                                    int64_t h, int64_t q, int64_t k0,
                                    int64_t n) {
  float c = ((const float *)captures[0])[0];
  (void)b;
  (void)h;
  (void)q;
  (void)k0;
  for (int64_t j = 0; j < n; ++j)
    s[j] += c;
}
