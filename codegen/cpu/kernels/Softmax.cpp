//===- Softmax.cpp - softmax family ---------------------------------------===//
//
// x viewed as [outer, n, inner]. inner == 1: one work item per row, vectors
// along the row. inner > 1: one work item per (outer, block of 8 inner
// columns), vectors across the columns (contiguous), walking the axis.
// A slice with a NaN gives NaN; an all -inf slice gives zeros.
//
//===----------------------------------------------------------------------===//

#include "ElementwiseMath.h"

namespace attune::cpu {
namespace {

template <typename T>
int softmaxCheck(const attune_kernel_args *a, int64_t *grid, char *err,
                 size_t cap) {
  const char *f = "softmax";
  ATTUNE_TRY(checkCounts(a, f, 2, ATTUNE_SMAX_NUM_FIXED, 0, err, cap));
  ATTUNE_TRY(checkNonNegative(a->ints, 3, f, "outer axis inner", err, cap));
  const int64_t outer = a->ints[0], n = a->ints[1], inner = a->ints[2];
  int64_t t, total;
  if (!mulSize(outer, n, t) || !mulSize(t, inner, total))
    return formatError(err, cap, ATTUNE_KERNEL_INVALID_ARGUMENT,
                       "%s: outer * axis * inner overflows", f);
  ATTUNE_TRY(checkBuffer(a, 0, f, "x", total, sizeof(T), err, cap));
  ATTUNE_TRY(checkBuffer(a, 1, f, "y", total, sizeof(T), err, cap));
  *grid = inner == 1 ? outer : outer * ((inner + 7) / 8);
  return ATTUNE_KERNEL_OK;
}

inline __m256 laneMask(int64_t n) {
  return _mm256_castsi256_ps(
      _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(n)),
                         _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7)));
}

template <typename T> void softmaxRow(const T *x, T *y, int64_t n) {
  const __m256 ninf = _mm256_set1_ps(-INFINITY);
  __m256 m = ninf, nan = _mm256_setzero_ps();
  for (int64_t j = 0; j < n; j += 8) {
    const int64_t k = std::min<int64_t>(8, n - j);
    __m256 v = k == 8 ? load8(x + j)
                      : _mm256_blendv_ps(ninf, loadN(x + j, k), laneMask(k));
    nan = _mm256_or_ps(nan, _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
    m = _mm256_max_ps(m, v);
  }
  alignas(32) float t[8];
  _mm256_store_ps(t, m);
  float mx = t[0];
  for (int i = 1; i < 8; ++i)
    mx = std::max(mx, t[i]);
  if (_mm256_movemask_ps(nan)) {
    for (int64_t j = 0; j < n; ++j)
      y[j] = fromFloat<T>(NAN);
    return;
  }
  if (mx == -INFINITY) {
    for (int64_t j = 0; j < n; ++j)
      y[j] = fromFloat<T>(0.0f);
    return;
  }
  const __m256 mv = _mm256_set1_ps(mx);
  __m256 s = _mm256_setzero_ps();
  for (int64_t j = 0; j < n; j += 8) {
    const int64_t k = std::min<int64_t>(8, n - j);
    __m256 v = k == 8 ? load8(x + j)
                      : _mm256_blendv_ps(ninf, loadN(x + j, k), laneMask(k));
    s = _mm256_add_ps(s, exp8(_mm256_sub_ps(v, mv)));
  }
  const __m256 sv = _mm256_set1_ps(hsum8(s));
  for (int64_t j = 0; j < n; j += 8) {
    const int64_t k = std::min<int64_t>(8, n - j);
    __m256 v = k == 8 ? load8(x + j) : loadN(x + j, k);
    v = _mm256_div_ps(exp8(_mm256_sub_ps(v, mv)), sv);
    if (k == 8)
      store8(y + j, v);
    else
      storeN(y + j, v, k);
  }
}

/// Columns [c0, c0 + w) (w <= 8) of an [n, inner] slice.
template <typename T>
void softmaxCols(const T *x, T *y, int64_t n, int64_t inner, int64_t w) {
  const __m256 ninf = _mm256_set1_ps(-INFINITY);
  auto ld = [&](int64_t j) {
    return w == 8 ? load8(x + j * inner) : loadN(x + j * inner, w);
  };
  __m256 m = ninf, nan = _mm256_setzero_ps();
  for (int64_t j = 0; j < n; ++j) {
    __m256 v = ld(j);
    nan = _mm256_or_ps(nan, _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
    m = _mm256_max_ps(m, v);
  }
  // Lanes with a NaN -> NaN; all -inf lanes -> 0 (exp(-inf - -inf) is NaN).
  const __m256 allNinf = _mm256_cmp_ps(m, ninf, _CMP_EQ_OQ);
  const __m256 msafe = _mm256_blendv_ps(m, _mm256_setzero_ps(), allNinf);
  __m256 s = _mm256_setzero_ps();
  for (int64_t j = 0; j < n; ++j)
    s = _mm256_add_ps(s, exp8(_mm256_sub_ps(ld(j), msafe)));
  for (int64_t j = 0; j < n; ++j) {
    __m256 v = _mm256_div_ps(exp8(_mm256_sub_ps(ld(j), msafe)), s);
    v = _mm256_blendv_ps(v, _mm256_setzero_ps(), allNinf);
    v = _mm256_blendv_ps(v, _mm256_set1_ps(NAN), nan);
    if (w == 8)
      store8(y + j * inner, v);
    else
      storeN(y + j * inner, v, w);
  }
}

template <typename T>
int softmaxKernel(const attune_kernel_args *a, attune_kernel_ctx *,
                  int64_t begin, int64_t end) {
  const int64_t n = a->ints[1], inner = a->ints[2];
  const T *x = static_cast<const T *>(a->buffers[0]);
  T *y = static_cast<T *>(a->buffers[1]);
  if (inner == 1) {
    for (int64_t r = begin; r < end; ++r)
      softmaxRow(x + r * n, y + r * n, n);
    return ATTUNE_KERNEL_OK;
  }
  const int64_t blocks = (inner + 7) / 8;
  for (int64_t item = begin; item < end; ++item) {
    const int64_t o = item / blocks, c0 = (item % blocks) * 8;
    const int64_t off = o * n * inner + c0;
    softmaxCols(x + off, y + off, n, inner, std::min<int64_t>(8, inner - c0));
  }
  return ATTUNE_KERNEL_OK;
}

} // namespace
} // namespace attune::cpu

using namespace attune::cpu;
ATTUNE_EXPORT_TYPED(softmax, softmaxKernel, softmaxCheck)
