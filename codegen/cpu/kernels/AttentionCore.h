//===- AttentionCore.h - AVX2 building blocks of the attention families -*- C++ -*-===//
//
// Shared by Attention.cpp, DilatedAttention.cpp and LshAttention.cpp:
//   - exp256: an accurate AVX2 expf (max relative error ~1e-7), exp(-inf) = 0,
//     NaN in, NaN out;
//   - packing of K into 16-column panels (K^T per panel) and of V rows;
//   - gemmQK: S = Q K^T with a 6x16 register-blocked FMA micro-kernel;
//   - softmaxRows: the online-softmax update of FlashAttention-2 (running max
//     m, sum l, rescale of the O rows), P written over S;
//   - gemmPV: O += P V, 6x16 register blocks;
//   - a grow-only, thread_local, 64-byte aligned scratch arena (no allocation
//     per tile).
//
//===----------------------------------------------------------------------===//

#ifndef ATTUNE_CPU_KERNELS_ATTENTIONCORE_H
#define ATTUNE_CPU_KERNELS_ATTENTIONCORE_H

#include "Common.h"

#include <cmath>
#include <cstdlib>
#include <immintrin.h>
#include <limits>

namespace attune::cpu::attn {

constexpr int64_t kMaxHeadDim = ATTUNE_CPU_MAX_HEAD_DIM; ///< D and Dv cap of the families
constexpr int64_t kPanel = 16;        ///< columns per K panel
constexpr int64_t kMaxBlockQ = 1024;  ///< BLOCK_Q cap of softmaxRows
constexpr float kNegInf = -std::numeric_limits<float>::infinity();

inline int64_t roundUp(int64_t x, int64_t m) { return (x + m - 1) / m * m; }

/// Grow-only aligned scratch, one per thread and slot.
struct Arena {
  float *p = nullptr;
  size_t cap = 0;
  ~Arena() { std::free(p); }
  float *get(size_t floats) {
    if (floats > cap) {
      std::free(p);
      size_t bytes = (floats * sizeof(float) + 63) / 64 * 64;
      p = static_cast<float *>(std::aligned_alloc(64, bytes));
      cap = p ? floats : 0;
    }
    return p;
  }
};
inline float *arena(int slot, size_t floats) {
  static thread_local Arena a[4];
  return a[slot].get(floats < 16 ? 16 : floats);
}

//===-- exp ----------------------------------------------------------------===//

/// e^x for x <= 0 (softmax arguments s - max): x < -87.33 gives 0 (so
/// exp(-inf) = 0), NaN stays NaN. Cody-Waite reduction, Cephes degree-6
/// polynomial: max relative error ~1.2e-7 on [-87.3, 0].
static inline __m256 exp256(__m256 x) {
  const __m256 lo = _mm256_set1_ps(-87.3365478515625f);
  __m256 tiny = _mm256_cmp_ps(x, lo, _CMP_LT_OQ);
  __m256 xc = _mm256_max_ps(lo, x); // NaN passes through
  // t = x log2(e) + 1.5 * 2^23 + 127: its low mantissa bits are n + 127
  // with n = round(x log2 e).
  const __m256 magic = _mm256_set1_ps(12582912.0f + 127.0f);
  __m256 t = _mm256_fmadd_ps(xc, _mm256_set1_ps(1.44269504088896341f), magic);
  __m256 n = _mm256_sub_ps(t, magic);
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), xc);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
  __m256 y = _mm256_set1_ps(1.9875691500E-4f);
  y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(1.3981999507E-3f));
  y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(8.3334519073E-3f));
  y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(4.1665795894E-2f));
  y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(1.6666665459E-1f));
  y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(5.0000001201E-1f));
  __m256 r2 = _mm256_mul_ps(r, r);
  y = _mm256_fmadd_ps(y, r2, r);
  y = _mm256_add_ps(y, _mm256_set1_ps(1.0f));
  __m256 p2 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_castps_si256(t), 23));
  return _mm256_andnot_ps(tiny, _mm256_mul_ps(y, p2));
}

static inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}
static inline float hmax(__m256 v) {
  __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_max_ps(s, _mm_movehl_ps(s, s));
  s = _mm_max_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

//===-- conversions ---------------------------------------------------------===//

/// dst[i] = float(src[i]) * mul for i < n.
template <typename T>
inline void loadRow(const T *src, float *dst, int64_t n, float mul);
template <>
inline void loadRow<float>(const float *src, float *dst, int64_t n, float mul) {
  int64_t i = 0;
  __m256 m = _mm256_set1_ps(mul);
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(dst + i, _mm256_mul_ps(_mm256_loadu_ps(src + i), m));
  for (; i < n; ++i)
    dst[i] = src[i] * mul;
}
template <>
inline void loadRow<bf16>(const bf16 *src, float *dst, int64_t n, float mul) {
  int64_t i = 0;
  __m256 m = _mm256_set1_ps(mul);
  for (; i + 8 <= n; i += 8) {
    __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i *>(src + i));
    __m256i w = _mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16);
    _mm256_storeu_ps(dst + i, _mm256_mul_ps(_mm256_castsi256_ps(w), m));
  }
  for (; i < n; ++i)
    dst[i] = toFloat(src[i]) * mul;
}
template <>
inline void loadRow<f16>(const f16 *src, float *dst, int64_t n, float mul) {
  int64_t i = 0;
  __m256 m = _mm256_set1_ps(mul);
  for (; i + 8 <= n; i += 8) {
    __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i *>(src + i));
    _mm256_storeu_ps(dst + i, _mm256_mul_ps(_mm256_cvtph_ps(h), m));
  }
  for (; i < n; ++i)
    dst[i] = toFloat(src[i]) * mul;
}

template <typename T> inline void storeRow(const float *src, T *dst, int64_t n) {
  for (int64_t i = 0; i < n; ++i)
    dst[i] = fromFloat<T>(src[i]);
}
template <> inline void storeRow<float>(const float *src, float *dst, int64_t n) {
  std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(float));
}

//===-- packing -------------------------------------------------------------===//

/// Packs nk rows of K (row stride D, storage T) into panels of 16 columns:
/// Kp[p][d][c] = K[p*16 + c][d], zero beyond nk. Kp holds roundUp(nk,16)*D.
/// `rows` (optional) gives the row index of each of the nk keys.
template <typename T>
inline void packK(const T *K, int64_t D, int64_t nk, const int64_t *rows,
                  float *Kp, float *tmp /* 16 * D */) {
  int64_t np = roundUp(nk, kPanel) / kPanel;
  for (int64_t p = 0; p < np; ++p) {
    float *dst = Kp + p * D * kPanel;
    int64_t cn = std::min<int64_t>(kPanel, nk - p * kPanel);
    for (int64_t c = 0; c < cn; ++c) {
      int64_t r = rows ? rows[p * kPanel + c] : p * kPanel + c;
      loadRow<T>(K + r * D, tmp + c * D, D, 1.0f);
    }
    for (int64_t c = cn; c < kPanel; ++c)
      std::memset(tmp + c * D, 0, static_cast<size_t>(D) * sizeof(float));
    // 16 x D -> D x 16, eight columns at a time.
    int64_t d = 0;
    for (; d + 8 <= D; d += 8) {
      for (int64_t half = 0; half < 2; ++half) {
        const float *s = tmp + half * 8 * D + d;
        __m256 r0 = _mm256_loadu_ps(s + 0 * D), r1 = _mm256_loadu_ps(s + 1 * D);
        __m256 r2 = _mm256_loadu_ps(s + 2 * D), r3 = _mm256_loadu_ps(s + 3 * D);
        __m256 r4 = _mm256_loadu_ps(s + 4 * D), r5 = _mm256_loadu_ps(s + 5 * D);
        __m256 r6 = _mm256_loadu_ps(s + 6 * D), r7 = _mm256_loadu_ps(s + 7 * D);
        __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1);
        __m256 t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3);
        __m256 t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5);
        __m256 t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
        __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
        __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
        __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
        __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
        float *o = dst + d * kPanel + half * 8;
        _mm256_storeu_ps(o + 0 * kPanel, _mm256_permute2f128_ps(u0, u4, 0x20));
        _mm256_storeu_ps(o + 1 * kPanel, _mm256_permute2f128_ps(u1, u5, 0x20));
        _mm256_storeu_ps(o + 2 * kPanel, _mm256_permute2f128_ps(u2, u6, 0x20));
        _mm256_storeu_ps(o + 3 * kPanel, _mm256_permute2f128_ps(u3, u7, 0x20));
        _mm256_storeu_ps(o + 4 * kPanel, _mm256_permute2f128_ps(u0, u4, 0x31));
        _mm256_storeu_ps(o + 5 * kPanel, _mm256_permute2f128_ps(u1, u5, 0x31));
        _mm256_storeu_ps(o + 6 * kPanel, _mm256_permute2f128_ps(u2, u6, 0x31));
        _mm256_storeu_ps(o + 7 * kPanel, _mm256_permute2f128_ps(u3, u7, 0x31));
      }
    }
    for (; d < D; ++d)
      for (int64_t c = 0; c < kPanel; ++c)
        dst[d * kPanel + c] = tmp[c * D + d];
  }
}

/// Packs nk rows of V (row stride Dv, storage T) as f32 rows of stride ldv
/// (>= Dv, a multiple of 8), zero-padded.
template <typename T>
inline void packV(const T *V, int64_t Dv, int64_t nk, const int64_t *rows,
                  float *Vp, int64_t ldv) {
  for (int64_t j = 0; j < nk; ++j) {
    int64_t r = rows ? rows[j] : j;
    loadRow<T>(V + r * Dv, Vp + j * ldv, Dv, 1.0f);
    for (int64_t d = Dv; d < ldv; ++d)
      Vp[j * ldv + d] = 0.0f;
  }
}

//===-- S = Q K^T -------------------------------------------------------------===//

template <int MR>
static inline void qkMicro(const float *Q, int64_t ldq, int64_t D,
                           const float *Kp, float *S, int64_t lds) {
  __m256 c0[MR], c1[MR];
  for (int r = 0; r < MR; ++r)
    c0[r] = c1[r] = _mm256_setzero_ps();
  for (int64_t d = 0; d < D; ++d) {
    __m256 b0 = _mm256_loadu_ps(Kp + d * kPanel);
    __m256 b1 = _mm256_loadu_ps(Kp + d * kPanel + 8);
    for (int r = 0; r < MR; ++r) {
      __m256 a = _mm256_broadcast_ss(Q + r * ldq + d);
      c0[r] = _mm256_fmadd_ps(a, b0, c0[r]);
      c1[r] = _mm256_fmadd_ps(a, b1, c1[r]);
    }
  }
  for (int r = 0; r < MR; ++r) {
    _mm256_storeu_ps(S + r * lds, c0[r]);
    _mm256_storeu_ps(S + r * lds + 8, c1[r]);
  }
}

/// S[i][j] = sum_d Q[i][d] Kp(j, d) for i < nq, j < np*16 (np panels).
inline void gemmQK(const float *Q, int64_t ldq, int64_t nq, int64_t D,
                   const float *Kp, int64_t np, float *S, int64_t lds) {
  int64_t i = 0;
  for (; i + 6 <= nq; i += 6)
    for (int64_t p = 0; p < np; ++p)
      qkMicro<6>(Q + i * ldq, ldq, D, Kp + p * D * kPanel, S + i * lds + p * kPanel,
                 lds);
  int64_t rem = nq - i;
  for (int64_t p = 0; p < np && rem > 0; ++p) {
    const float *kp = Kp + p * D * kPanel;
    float *s = S + i * lds + p * kPanel;
    switch (rem) {
    case 1: qkMicro<1>(Q + i * ldq, ldq, D, kp, s, lds); break;
    case 2: qkMicro<2>(Q + i * ldq, ldq, D, kp, s, lds); break;
    case 3: qkMicro<3>(Q + i * ldq, ldq, D, kp, s, lds); break;
    case 4: qkMicro<4>(Q + i * ldq, ldq, D, kp, s, lds); break;
    default: qkMicro<5>(Q + i * ldq, ldq, D, kp, s, lds); break;
    }
  }
}

//===-- O += P V ---------------------------------------------------------------===//

template <int MR, int NV>
static inline void pvMicro(const float *P, int64_t lds, int64_t nk,
                           const float *V, int64_t ldv, float *O, int64_t ldo,
                           const float *alpha = nullptr) {
  __m256 c[MR][NV];
  if (alpha) {
    for (int r = 0; r < MR; ++r) {
      __m256 av = _mm256_broadcast_ss(alpha + r);
      for (int v = 0; v < NV; ++v)
        c[r][v] = _mm256_mul_ps(_mm256_loadu_ps(O + r * ldo + v * 8), av);
    }
  } else {
    for (int r = 0; r < MR; ++r)
      for (int v = 0; v < NV; ++v)
        c[r][v] = _mm256_loadu_ps(O + r * ldo + v * 8);
  }
  for (int64_t j = 0; j < nk; ++j) {
    __m256 b[NV];
    for (int v = 0; v < NV; ++v)
      b[v] = _mm256_loadu_ps(V + j * ldv + v * 8);
    for (int r = 0; r < MR; ++r) {
      __m256 a = _mm256_broadcast_ss(P + r * lds + j);
      for (int v = 0; v < NV; ++v)
        c[r][v] = _mm256_fmadd_ps(a, b[v], c[r][v]);
    }
  }
  for (int r = 0; r < MR; ++r)
    for (int v = 0; v < NV; ++v)
      _mm256_storeu_ps(O + r * ldo + v * 8, c[r][v]);
}

template <int MR>
static inline void pvRows(const float *P, int64_t lds, int64_t nk,
                          const float *V, int64_t ldv, int64_t dvp, float *O,
                          int64_t ldo, const float *alpha) {
  int64_t c = 0;
  for (; c + 16 <= dvp; c += 16)
    pvMicro<MR, 2>(P, lds, nk, V + c, ldv, O + c, ldo, alpha);
  if (c < dvp)
    pvMicro<MR, 1>(P, lds, nk, V + c, ldv, O + c, ldo, alpha);
}

/// O[i][0..dvp) = alpha[i] * O[i][0..dvp) + sum_{j<nk} P[i][j] V[j][0..dvp)
/// for i < nq (alpha null: no scaling); dvp % 8 == 0.
inline void gemmPV(const float *P, int64_t lds, int64_t nq, int64_t nk,
                   const float *V, int64_t ldv, int64_t dvp, float *O,
                   int64_t ldo, const float *alpha = nullptr) {
  int64_t i = 0;
  auto al = [&](int64_t r) { return alpha ? alpha + r : nullptr; };
  for (; i + 6 <= nq; i += 6)
    pvRows<6>(P + i * lds, lds, nk, V, ldv, dvp, O + i * ldo, ldo, al(i));
  switch (nq - i) {
  case 1: pvRows<1>(P + i * lds, lds, nk, V, ldv, dvp, O + i * ldo, ldo, al(i)); break;
  case 2: pvRows<2>(P + i * lds, lds, nk, V, ldv, dvp, O + i * ldo, ldo, al(i)); break;
  case 3: pvRows<3>(P + i * lds, lds, nk, V, ldv, dvp, O + i * ldo, ldo, al(i)); break;
  case 4: pvRows<4>(P + i * lds, lds, nk, V, ldv, dvp, O + i * ldo, ldo, al(i)); break;
  case 5: pvRows<5>(P + i * lds, lds, nk, V, ldv, dvp, O + i * ldo, ldo, al(i)); break;
  default: break;
  }
}

//===-- online softmax -----------------------------------------------------------===//

/// One row of the FlashAttention-2 update. s[0..nkp) holds the scores
/// (-inf where disallowed, including the padding beyond the valid keys);
/// updates m, l and the O row (rescaled by exp(m_old - m_new)) and writes
/// p = exp(s - m_new) over s. Sets nan when an allowed score is NaN.
/// Returns false when the row has no allowed key in this tile (p all 0).
inline bool softmaxRow(float *s, int64_t nkp, float &m, float &l, float *o,
                       int64_t dvp, uint8_t &nan) {
  __m256 mx = _mm256_set1_ps(kNegInf);
  __m256 un = _mm256_setzero_ps();
  for (int64_t j = 0; j < nkp; j += 8) {
    __m256 v = _mm256_loadu_ps(s + j);
    mx = _mm256_max_ps(mx, v);
    un = _mm256_or_ps(un, _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
  }
  if (_mm256_movemask_ps(un))
    nan = 1;
  float tmax = hmax(mx);
  if (tmax == kNegInf) { // nothing allowed here
    for (int64_t j = 0; j < nkp; j += 8)
      _mm256_storeu_ps(s + j, _mm256_setzero_ps());
    return false;
  }
  float mNew = tmax > m ? tmax : m;
  float alpha = m == kNegInf ? 0.0f : mNew == m ? 1.0f : std::exp(m - mNew);
  __m256 mv = _mm256_set1_ps(mNew);
  __m256 sum = _mm256_setzero_ps();
  for (int64_t j = 0; j < nkp; j += 8) {
    __m256 p = exp256(_mm256_sub_ps(_mm256_loadu_ps(s + j), mv));
    sum = _mm256_add_ps(sum, p);
    _mm256_storeu_ps(s + j, p);
  }
  if (alpha != 1.0f) {
    __m256 av = _mm256_set1_ps(alpha);
    for (int64_t d = 0; d < dvp; d += 8)
      _mm256_storeu_ps(o + d, _mm256_mul_ps(_mm256_loadu_ps(o + d), av));
  }
  l = l * alpha + hsum(sum);
  m = mNew;
  return true;
}

/// The online-softmax update of rows [0, nq) of a tile (S row stride lds,
/// nkp scores a row, as softmaxRow), eight rows at a time: the rescale
/// factors exp(m_old - m_new) come from one exp256 per eight rows and are
/// written to alpha[i] instead of being applied to O (gemmPV applies them
/// as it loads O; a row with no allowed key gets alpha 1). Returns false
/// when no row has an allowed key (then O needs no update at all).
inline bool softmaxRows(float *S, int64_t lds, int64_t nq, int64_t nkp,
                        float *mRow, float *lRow, float *alpha,
                        uint8_t *nanRow) {
  // In phases over all rows, so that no row's exponentials wait on its own
  // max reduction: (1) row maxima, (2) new maxima and rescale factors, eight
  // rows a vector, (3) p = exp(s - m) and the row sums.
  alignas(32) float mNew[kMaxBlockQ + 8];
  int64_t live = 0;
  for (int64_t i = 0; i < nq; ++i) {
    const float *s = S + i * lds;
    __m256 mx0 = _mm256_set1_ps(kNegInf), mx1 = mx0;
    __m256 un = _mm256_setzero_ps();
    int64_t j = 0;
    for (; j + 16 <= nkp; j += 16) {
      __m256 v0 = _mm256_loadu_ps(s + j), v1 = _mm256_loadu_ps(s + j + 8);
      mx0 = _mm256_max_ps(mx0, v0);
      mx1 = _mm256_max_ps(mx1, v1);
      un = _mm256_or_ps(un, _mm256_cmp_ps(v0, v1, _CMP_UNORD_Q));
    }
    for (; j < nkp; j += 8) {
      __m256 v = _mm256_loadu_ps(s + j);
      mx0 = _mm256_max_ps(mx0, v);
      un = _mm256_or_ps(un, _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
    }
    if (_mm256_movemask_ps(un))
      nanRow[i] = 1;
    mNew[i] = hmax(_mm256_max_ps(mx0, mx1)); // the tile max for now
  }
  for (int64_t i = nq; i < roundUp(nq, 8); ++i)
    mNew[i] = kNegInf;
  const __m256 ninf = _mm256_set1_ps(kNegInf), one = _mm256_set1_ps(1.0f);
  for (int64_t i = 0; i < nq; i += 8) {
    alignas(32) float mo[8];
    for (int r = 0; r < 8; ++r)
      mo[r] = i + r < nq ? mRow[i + r] : kNegInf;
    __m256 t = _mm256_load_ps(mNew + i), m = _mm256_load_ps(mo);
    __m256 dead = _mm256_cmp_ps(t, ninf, _CMP_EQ_OQ); // nothing allowed
    // mNew = t > m ? t : m (a NaN t keeps m; the row is marked NaN anyway).
    __m256 mn = _mm256_blendv_ps(m, t, _mm256_cmp_ps(t, m, _CMP_GT_OQ));
    // exp(m - mNew); m = -inf gives 0 (first tile); equal maxima give 1.
    __m256 al = exp256(_mm256_sub_ps(m, mn));
    al = _mm256_blendv_ps(al, one, _mm256_cmp_ps(mn, m, _CMP_EQ_OQ));
    al = _mm256_blendv_ps(al, one, dead);
    live |= _mm256_movemask_ps(_mm256_andnot_ps(dead, _mm256_castsi256_ps(
                                                        _mm256_set1_epi32(-1))));
    _mm256_store_ps(mNew + i, _mm256_blendv_ps(mn, ninf, dead));
    alignas(32) float av[8];
    _mm256_store_ps(av, al);
    for (int r = 0; r < 8 && i + r < nq; ++r)
      alpha[i + r] = av[r];
  }
  for (int64_t i = 0; i < nq; ++i) {
    float *s = S + i * lds;
    if (mNew[i] == kNegInf) { // nothing allowed here: p = 0, O kept
      for (int64_t j = 0; j < nkp; j += 8)
        _mm256_storeu_ps(s + j, _mm256_setzero_ps());
      continue;
    }
    const __m256 mv = _mm256_set1_ps(mNew[i]);
    __m256 sum0 = _mm256_setzero_ps();
#pragma clang loop unroll(disable)
    for (int64_t j = 0; j < nkp; j += 8) {
      __m256 p0 = exp256(_mm256_sub_ps(_mm256_loadu_ps(s + j), mv));
      sum0 = _mm256_add_ps(sum0, p0);
      _mm256_storeu_ps(s + j, p0);
    }
    lRow[i] = lRow[i] * alpha[i] + hsum(sum0);
    mRow[i] = mNew[i];
  }
  return live != 0;
}

/// Final normalization of one row: out = O / l, lse = m + log l; no allowed
/// key: 0 and -inf; NaN seen: NaN.
template <typename T>
inline void finishRow(const float *o, int64_t dv, float m, float l, uint8_t nan,
                      T *out, float *lse) {
  // A NaN score, or a +inf one (exp(inf - inf) makes l NaN): NaN, as the
  // reference gives.
  if (nan || std::isnan(l)) {
    for (int64_t d = 0; d < dv; ++d)
      out[d] = fromFloat<T>(std::numeric_limits<float>::quiet_NaN());
    *lse = std::numeric_limits<float>::quiet_NaN();
    return;
  }
  if (!(l > 0.0f) || m == kNegInf) {
    for (int64_t d = 0; d < dv; ++d)
      out[d] = fromFloat<T>(0.0f);
    *lse = kNegInf;
    return;
  }
  for (int64_t d = 0; d < dv; ++d)
    out[d] = fromFloat<T>(o[d] / l);
  *lse = m + std::log(l);
}

} // namespace attune::cpu::attn

#endif // ATTUNE_CPU_KERNELS_ATTENTIONCORE_H
