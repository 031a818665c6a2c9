//===- ElementwiseMath.h - AVX2 loads/stores and f32 math --------*- C++
//-*-===//
//
// Shared by the non-attention CPU families (and usable by any family):
//   - load8/store8: 8 lanes of a storage type <-> __m256 (bf16/f16 converted,
//     stores round to nearest even like fromFloat<T>), plus loadN/storeN for
//     tails of n < 8 lanes;
//   - exp8, tanh8, sigmoid8, silu8, geluTanh8, gelu8: f32 vector math with
//     ~1-2 ulp error (exp is the Cephes expf polynomial with a two-step
//     scaling so that subnormal results and overflow to inf are right);
// Header-only; the archive is compiled for x86-64-v3 (AVX2, FMA, F16C).
//
//===----------------------------------------------------------------------===//

#ifndef ATTUNE_CPU_KERNELS_ELEMENTWISEMATH_H
#define ATTUNE_CPU_KERNELS_ELEMENTWISEMATH_H

#include "Common.h"

#include <cmath>
#include <immintrin.h>

namespace attune::cpu {

//===----------------------------------------------------------------------===//
// Loads and stores of 8 lanes
//===----------------------------------------------------------------------===//

inline __m256 load8(const float *p) { return _mm256_loadu_ps(p); }
inline __m256 load8(const bf16 *p) {
  __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i *>(p));
  return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}
inline __m256 load8(const f16 *p) {
  return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i *>(p)));
}

inline void store8(float *p, __m256 v) { _mm256_storeu_ps(p, v); }
inline void store8(bf16 *p, __m256 v) {
  __m256i u = _mm256_castps_si256(v);
  __m256i absu = _mm256_and_si256(u, _mm256_set1_epi32(0x7fffffff));
  __m256i isNan = _mm256_cmpgt_epi32(absu, _mm256_set1_epi32(0x7f800000));
  __m256i lsb =
      _mm256_and_si256(_mm256_srli_epi32(u, 16), _mm256_set1_epi32(1));
  __m256i r = _mm256_srli_epi32(
      _mm256_add_epi32(_mm256_add_epi32(u, _mm256_set1_epi32(0x7fff)), lsb),
      16);
  __m256i q =
      _mm256_or_si256(_mm256_srli_epi32(u, 16), _mm256_set1_epi32(0x40));
  r = _mm256_blendv_epi8(r, q, isNan);
  __m128i lo = _mm256_castsi256_si128(r), hi = _mm256_extracti128_si256(r, 1);
  _mm_storeu_si128(reinterpret_cast<__m128i *>(p), _mm_packus_epi32(lo, hi));
}
inline void store8(f16 *p, __m256 v) {
  _mm_storeu_si128(reinterpret_cast<__m128i *>(p),
                   _mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT));
}

/// n < 8 lanes (the rest of the vector is zero).
template <typename T> inline __m256 loadN(const T *p, int64_t n) {
  alignas(32) float t[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  for (int64_t i = 0; i < n; ++i)
    t[i] = toFloat(p[i]);
  return _mm256_load_ps(t);
}
template <typename T> inline void storeN(T *p, __m256 v, int64_t n) {
  alignas(32) float t[8];
  _mm256_store_ps(t, v);
  for (int64_t i = 0; i < n; ++i)
    p[i] = fromFloat<T>(t[i]);
}

/// dst[i] = float(src[i]) for i < n.
template <typename T>
inline void convertRow(const T *src, float *dst, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(dst + i, load8(src + i));
  for (; i < n; ++i)
    dst[i] = toFloat(src[i]);
}
/// dst[i] = T(src[i]) (RNE) for i < n.
template <typename T>
inline void storeRow(const float *src, T *dst, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    store8(dst + i, _mm256_loadu_ps(src + i));
  for (; i < n; ++i)
    dst[i] = fromFloat<T>(src[i]);
}

/// Rounds each lane to T and back (the value a T store would keep).
template <typename T> inline __m256 roundTo(__m256 v);
template <> inline __m256 roundTo<float>(__m256 v) { return v; }
template <> inline __m256 roundTo<f16>(__m256 v) {
  return _mm256_cvtph_ps(_mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT));
}
template <> inline __m256 roundTo<bf16>(__m256 v) {
  alignas(32) uint16_t t[8];
  store8(reinterpret_cast<bf16 *>(t), v);
  return load8(reinterpret_cast<const bf16 *>(t));
}

inline float hsum8(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

//===----------------------------------------------------------------------===//
// Math
//===----------------------------------------------------------------------===//

/// e^x, max error ~1 ulp; inf/0/NaN at the extremes as expf.
inline __m256 exp8(__m256 x) {
  const __m256 hiLimit = _mm256_set1_ps(88.72283935546875f);
  const __m256 loLimit = _mm256_set1_ps(-103.972084045410f);
  __m256 xc = _mm256_min_ps(_mm256_max_ps(x, loLimit), hiLimit);
  __m256 n =
      _mm256_round_ps(_mm256_mul_ps(xc, _mm256_set1_ps(1.44269504088896341f)),
                      _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), xc);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
  __m256 p = _mm256_set1_ps(1.9875691500E-4f);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507E-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073E-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894E-2f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459E-1f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201E-1f));
  __m256 r2 = _mm256_mul_ps(r, r);
  p = _mm256_fmadd_ps(p, r2, _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
  // 2^n in two factors (n in [-150, 128]) so that neither over/underflows.
  __m256i ni = _mm256_cvtps_epi32(n);
  __m256i n1 = _mm256_srai_epi32(ni, 1);
  __m256i n2 = _mm256_sub_epi32(ni, n1);
  __m256 s1 = _mm256_castsi256_ps(
      _mm256_slli_epi32(_mm256_add_epi32(n1, _mm256_set1_epi32(127)), 23));
  __m256 s2 = _mm256_castsi256_ps(
      _mm256_slli_epi32(_mm256_add_epi32(n2, _mm256_set1_epi32(127)), 23));
  __m256 y = _mm256_mul_ps(_mm256_mul_ps(p, s1), s2);
  y = _mm256_blendv_ps(y, _mm256_set1_ps(INFINITY),
                       _mm256_cmp_ps(x, hiLimit, _CMP_GT_OQ));
  y = _mm256_blendv_ps(y, _mm256_setzero_ps(),
                       _mm256_cmp_ps(x, loLimit, _CMP_LT_OQ));
  return _mm256_blendv_ps(y, x, _mm256_cmp_ps(x, x, _CMP_UNORD_Q)); // NaN
}

/// tanh(x): odd polynomial (Cephes tanhf) for |x| < 0.625, else
/// 1 - 2 / (e^{2|x|} + 1), sign restored.
inline __m256 tanh8(__m256 x) {
  const __m256 signMask = _mm256_set1_ps(-0.0f);
  __m256 ax = _mm256_andnot_ps(signMask, x);
  __m256 z = _mm256_mul_ps(x, x);
  __m256 p = _mm256_set1_ps(-5.70498872745E-3f);
  p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(2.06390887954E-2f));
  p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(-5.37397155531E-2f));
  p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(1.33314422036E-1f));
  p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(-3.33332819422E-1f));
  __m256 small = _mm256_fmadd_ps(_mm256_mul_ps(p, z), x, x);
  __m256 e = exp8(_mm256_add_ps(ax, ax));
  __m256 big =
      _mm256_sub_ps(_mm256_set1_ps(1.0f),
                    _mm256_div_ps(_mm256_set1_ps(2.0f),
                                  _mm256_add_ps(e, _mm256_set1_ps(1.0f))));
  big = _mm256_or_ps(big, _mm256_and_ps(x, signMask));
  return _mm256_blendv_ps(
      big, small, _mm256_cmp_ps(ax, _mm256_set1_ps(0.625f), _CMP_LT_OQ));
}

/// 1 / (1 + e^-x).
inline __m256 sigmoid8(__m256 x) {
  __m256 e = exp8(_mm256_sub_ps(_mm256_setzero_ps(), x));
  return _mm256_div_ps(_mm256_set1_ps(1.0f),
                       _mm256_add_ps(_mm256_set1_ps(1.0f), e));
}
/// x / (1 + e^-x).
inline __m256 silu8(__m256 x) {
  __m256 e = exp8(_mm256_sub_ps(_mm256_setzero_ps(), x));
  return _mm256_div_ps(x, _mm256_add_ps(_mm256_set1_ps(1.0f), e));
}
/// 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).
inline __m256 geluTanh8(__m256 x) {
  __m256 x3 = _mm256_mul_ps(_mm256_mul_ps(x, x), x);
  __m256 u = _mm256_mul_ps(_mm256_set1_ps(0.7978845608028654f),
                           _mm256_fmadd_ps(_mm256_set1_ps(0.044715f), x3, x));
  __m256 hx = _mm256_mul_ps(_mm256_set1_ps(0.5f), x);
  return _mm256_fmadd_ps(hx, tanh8(u), hx);
}
/// 0.5 x (1 + erf(x / sqrt 2)) with libm erff per lane.
inline __m256 gelu8(__m256 x) {
  alignas(32) float t[8];
  _mm256_store_ps(t, x);
  for (float &v : t)
    v = 0.5f * v * (1.0f + std::erf(v * 0.70710678118654752f));
  return _mm256_load_ps(t);
}
/// max(x, 0), NaN kept.
inline __m256 relu8(__m256 x) {
  __m256 r = _mm256_max_ps(x, _mm256_setzero_ps());
  return _mm256_blendv_ps(r, x, _mm256_cmp_ps(x, x, _CMP_UNORD_Q));
}

/// Activation codes of ATTUNE_ACT_*.
inline __m256 activate8(int64_t act, __m256 x) {
  switch (act) {
  case ATTUNE_ACT_SILU:
    return silu8(x);
  case ATTUNE_ACT_GELU:
    return gelu8(x);
  case ATTUNE_ACT_GELU_TANH:
    return geluTanh8(x);
  default:
    return relu8(x);
  }
}

//===----------------------------------------------------------------------===//
// Parameter checks shared by the families
//===----------------------------------------------------------------------===//

/// OK when the launch has exactly `buffers` buffers, `ints` ints and
/// `floats` floats (ints < 0: at least -ints).
inline int checkCounts(const attune_kernel_args *a, const char *family,
                       int64_t buffers, int64_t ints, int64_t floats,
                       char *error, size_t capacity) {
  if (a->num_buffers != buffers)
    return formatError(error, capacity, ATTUNE_KERNEL_INVALID_ARGUMENT,
                       "%s: expected %lld buffers, got %lld", family,
                       (long long)buffers, (long long)a->num_buffers);
  if (ints >= 0 ? a->num_ints != ints : a->num_ints < -ints)
    return formatError(error, capacity, ATTUNE_KERNEL_INVALID_ARGUMENT,
                       "%s: expected %s%lld ints, got %lld", family,
                       ints >= 0 ? "" : "at least ",
                       (long long)(ints >= 0 ? ints : -ints),
                       (long long)a->num_ints);
  if (a->num_floats != floats)
    return formatError(error, capacity, ATTUNE_KERNEL_INVALID_ARGUMENT,
                       "%s: expected %lld floats, got %lld", family,
                       (long long)floats, (long long)a->num_floats);
  return ATTUNE_KERNEL_OK;
}

/// OK when buffer i is present and holds `elems` elements of `elemBytes`
/// (overflow-safe); an empty tensor may have any pointer.
inline int checkBuffer(const attune_kernel_args *a, int64_t i,
                       const char *family, const char *name, int64_t elems,
                       int64_t elemBytes, char *error, size_t capacity) {
  int64_t bytes = 0;
  if (!mulSize(elems, elemBytes, bytes))
    return formatError(error, capacity, ATTUNE_KERNEL_INVALID_ARGUMENT,
                       "%s: %s needs %lld elements of %lld bytes, which "
                       "overflows",
                       family, name, (long long)elems, (long long)elemBytes);
  if (elems == 0 && i < a->num_buffers)
    return ATTUNE_KERNEL_OK; // nothing is read or written: any pointer will do
  if (!holds(a, i, elems, elemBytes))
    return formatError(
        error, capacity, ATTUNE_KERNEL_INVALID_ARGUMENT,
        "%s: buffer %lld (%s) %s %llu bytes; needs %lld", family, (long long)i,
        name, (i < a->num_buffers && a->buffers[i]) ? "holds" : "is absent,",
        (unsigned long long)(i < a->num_buffers ? a->sizes[i] : 0),
        (long long)bytes);
  return ATTUNE_KERNEL_OK;
}

/// OK when every v[i] >= 0 (names for the message in `names`, space
/// separated).
inline int checkNonNegative(const int64_t *v, int64_t n, const char *family,
                            const char *names, char *error, size_t capacity) {
  for (int64_t i = 0; i < n; ++i)
    if (v[i] < 0)
      return formatError(error, capacity, ATTUNE_KERNEL_INVALID_ARGUMENT,
                         "%s: int %lld of (%s) is %lld; expected >= 0", family,
                         (long long)i, names, (long long)v[i]);
  return ATTUNE_KERNEL_OK;
}

inline bool present(const attune_kernel_args *a, int64_t i) {
  return i < a->num_buffers && a->buffers[i] != nullptr;
}

#define ATTUNE_TRY(expr)                                                       \
  do {                                                                         \
    int attune_try_rc = (expr);                                                \
    if (attune_try_rc != ATTUNE_KERNEL_OK)                                     \
      return attune_try_rc;                                                    \
  } while (0)

} // namespace attune::cpu

#endif // ATTUNE_CPU_KERNELS_ELEMENTWISEMATH_H
