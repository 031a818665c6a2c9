//===- Norm.cpp - rms_norm and layer_norm families ------------------------===//
//
// One work item per row (grid = rows). Sums use 8 f32 lanes reduced in a
// fixed order, so a row's result does not depend on the thread split.
//
//===----------------------------------------------------------------------===//

#include "ElementwiseMath.h"

namespace attune::cpu {
namespace {

template <typename T>
int rowCheck(const attune_kernel_args *a, const char *f, int64_t nbuf,
             int64_t *grid, char *err, size_t cap) {
  ATTUNE_TRY(checkCounts(a, f, nbuf, ATTUNE_ROW_NUM_FIXED, 1, err, cap));
  ATTUNE_TRY(checkNonNegative(a->ints, 2, f, "rows D", err, cap));
  const int64_t rows = a->ints[ATTUNE_ROW_ROWS], D = a->ints[ATTUNE_ROW_D];
  int64_t n;
  if (!mulSize(rows, D, n))
    return formatError(err, cap, ATTUNE_KERNEL_INVALID_ARGUMENT,
                       "%s: rows * D overflows", f);
  const double eps = a->floats[0];
  if (!(eps >= 0) || !std::isfinite(eps))
    return formatError(err, cap, ATTUNE_KERNEL_INVALID_ARGUMENT,
                       "%s: eps = %g; expected a finite value >= 0", f, eps);
  ATTUNE_TRY(checkBuffer(a, 0, f, "x [rows,D]", n, sizeof(T), err, cap));
  for (int64_t i = 1; i + 1 < nbuf; ++i)
    if (present(a, i))
      ATTUNE_TRY(checkBuffer(a, i, f, i == 1 ? "weight [D]" : "bias [D]", D,
                             sizeof(T), err, cap));
  ATTUNE_TRY(checkBuffer(a, nbuf - 1, f, "y [rows,D]", n, sizeof(T), err, cap));
  *grid = rows;
  return ATTUNE_KERNEL_OK;
}

template <typename T>
int rmsNormCheck(const attune_kernel_args *a, int64_t *grid, char *err,
                 size_t cap) {
  return rowCheck<T>(a, "rms_norm", 3, grid, err, cap);
}
template <typename T>
int layerNormCheck(const attune_kernel_args *a, int64_t *grid, char *err,
                   size_t cap) {
  return rowCheck<T>(a, "layer_norm", 4, grid, err, cap);
}

template <typename T>
int rmsNormKernel(const attune_kernel_args *a, attune_kernel_ctx *,
                  int64_t begin, int64_t end) {
  const int64_t D = a->ints[ATTUNE_ROW_D];
  const float eps = static_cast<float>(a->floats[0]);
  const T *x = static_cast<const T *>(a->buffers[0]);
  const T *w = present(a, 1) ? static_cast<const T *>(a->buffers[1]) : nullptr;
  T *y = static_cast<T *>(a->buffers[2]);
  for (int64_t r = begin; r < end; ++r) {
    const T *xr = x + r * D;
    T *yr = y + r * D;
    __m256 s0 = _mm256_setzero_ps(), s1 = s0;
    int64_t d = 0;
    for (; d + 16 <= D; d += 16) {
      __m256 v0 = load8(xr + d), v1 = load8(xr + d + 8);
      s0 = _mm256_fmadd_ps(v0, v0, s0);
      s1 = _mm256_fmadd_ps(v1, v1, s1);
    }
    for (; d < D; d += 8) {
      __m256 v = D - d >= 8 ? load8(xr + d) : loadN(xr + d, D - d);
      s0 = _mm256_fmadd_ps(v, v, s0);
    }
    const float ss = hsum8(_mm256_add_ps(s0, s1));
    const float denom = std::sqrt(ss / static_cast<float>(D) + eps);
    const __m256 dv = _mm256_set1_ps(denom);
    for (d = 0; d < D; d += 8) {
      const int64_t n = std::min<int64_t>(8, D - d);
      __m256 v = n == 8 ? load8(xr + d) : loadN(xr + d, n);
      v = _mm256_div_ps(v, dv);
      if (w)
        v = _mm256_mul_ps(v, n == 8 ? load8(w + d) : loadN(w + d, n));
      if (n == 8)
        store8(yr + d, v);
      else
        storeN(yr + d, v, n);
    }
  }
  return ATTUNE_KERNEL_OK;
}

template <typename T>
int layerNormKernel(const attune_kernel_args *a, attune_kernel_ctx *,
                    int64_t begin, int64_t end) {
  const int64_t D = a->ints[ATTUNE_ROW_D];
  const float eps = static_cast<float>(a->floats[0]);
  const T *x = static_cast<const T *>(a->buffers[0]);
  const T *w = present(a, 1) ? static_cast<const T *>(a->buffers[1]) : nullptr;
  const T *b = present(a, 2) ? static_cast<const T *>(a->buffers[2]) : nullptr;
  T *y = static_cast<T *>(a->buffers[3]);
  const float fD = static_cast<float>(D);
  for (int64_t r = begin; r < end; ++r) {
    const T *xr = x + r * D;
    T *yr = y + r * D;
    __m256 s = _mm256_setzero_ps();
    for (int64_t d = 0; d < D; d += 8)
      s = _mm256_add_ps(s, D - d >= 8 ? load8(xr + d) : loadN(xr + d, D - d));
    const __m256 mean = _mm256_set1_ps(hsum8(s) / fD);
    __m256 v2 = _mm256_setzero_ps();
    for (int64_t d = 0; d < D; d += 8) {
      const int64_t n = std::min<int64_t>(8, D - d);
      __m256 c = _mm256_sub_ps(n == 8 ? load8(xr + d) : loadN(xr + d, n), mean);
      if (n < 8) // zero the padding lanes (loadN gave 0 - mean there)
        c = _mm256_and_ps(c, _mm256_castsi256_ps(_mm256_cmpgt_epi32(
                                 _mm256_set1_epi32(static_cast<int>(n)),
                                 _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7))));
      v2 = _mm256_fmadd_ps(c, c, v2);
    }
    const float var = hsum8(v2) / fD;
    const __m256 dv = _mm256_set1_ps(std::sqrt(var + eps));
    for (int64_t d = 0; d < D; d += 8) {
      const int64_t n = std::min<int64_t>(8, D - d);
      __m256 v = _mm256_div_ps(
          _mm256_sub_ps(n == 8 ? load8(xr + d) : loadN(xr + d, n), mean), dv);
      if (w)
        v = _mm256_mul_ps(v, n == 8 ? load8(w + d) : loadN(w + d, n));
      if (b)
        v = _mm256_add_ps(v, n == 8 ? load8(b + d) : loadN(b + d, n));
      if (n == 8)
        store8(yr + d, v);
      else
        storeN(yr + d, v, n);
    }
  }
  return ATTUNE_KERNEL_OK;
}

} // namespace
} // namespace attune::cpu

using namespace attune::cpu;
ATTUNE_EXPORT_TYPED(rms_norm, rmsNormKernel, rmsNormCheck)
ATTUNE_EXPORT_TYPED(layer_norm, layerNormKernel, layerNormCheck)
