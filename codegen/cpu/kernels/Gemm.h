//===- Gemm.h - The f32 GEMM engine of linear, matmul and mlp ---*- C++ -*-===//
//
// C[mb, nb] (f32, ldc) = A[mb, K] * W[nb, K]^T: A and W both row-major with K
// contiguous (x and a PyTorch [out, in] weight), stored as float, bf16 or f16
// and converted to f32 while they are copied into cache blocks.
//
// Blocking: K in blocks of KC; per block the A rows (<= kMaxMB of them, zero
// padded to a multiple of 3 rows and the block to a multiple of 8) are copied
// into an L2-resident buffer, then for each group of 4 W rows (copied and
// converted into an L1-resident buffer; ATTUNE_GEMM_DIRECT_W=1 reads f32
// weights in place instead, which measured slower) the 3x4
// micro-kernel sweeps all A row triples. The micro-kernel keeps 12 ymm
// accumulators of 8 partial dot products each (3 A loads + 4 W loads per 12
// FMAs) and reduces them with hadd at the end of the block, adding into C.
// The order of every sum depends on K only: results are bitwise identical
// whatever range of work items a thread computes.
//
// Buffers are per thread and grow-only (no allocation per tile).
//
// A BLIS-style 16x6 broadcast micro-kernel (A transposed into 16-row panels,
// C^T tiles transposed back) was tried: its kernel alone ran ~10% faster in
// L1, but whole GEMMs (packing and transposes included) measured no faster
// than this dot-product form on the target EPYC, so this simpler form stays.
//
//===----------------------------------------------------------------------===//

#ifndef ATTUNE_CPU_KERNELS_GEMM_H
#define ATTUNE_CPU_KERNELS_GEMM_H

#include "ElementwiseMath.h"

#include <algorithm>
#include <cstdlib>
#include <type_traits>

namespace attune::cpu::gemm {

#ifndef ATTUNE_GEMM_KC
#define ATTUNE_GEMM_KC 512
#endif
#ifndef ATTUNE_GEMM_DIRECT_W
#define ATTUNE_GEMM_DIRECT_W 0
#endif
#ifndef ATTUNE_GEMM_SKEW
#define ATTUNE_GEMM_SKEW 8 // floats of padding per copied row
#endif
#ifndef ATTUNE_GEMM_MB
#define ATTUNE_GEMM_MB 96
#endif
constexpr int64_t KC = ATTUNE_GEMM_KC;     ///< K block
constexpr int64_t kMaxMB = ATTUNE_GEMM_MB; ///< rows of A per copied block

/// A grow-only, 64-byte aligned per-thread buffer; slot 0..7.
float *scratch(int slot, int64_t floats);

inline int64_t roundUp(int64_t a, int64_t b) { return (a + b - 1) / b * b; }
inline int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

/// 3 rows x 4 columns of dot products over kcp (multiple of 8) elements;
/// a rows at stride lda, w rows at stride ldw. Result rows in r[0..2].
inline void kernel3x4(const float *a, int64_t lda, const float *w, int64_t ldw,
                      int64_t kcp, __m128 r[3]) {
  __m256 c00 = _mm256_setzero_ps(), c01 = c00, c02 = c00, c03 = c00;
  __m256 c10 = c00, c11 = c00, c12 = c00, c13 = c00;
  __m256 c20 = c00, c21 = c00, c22 = c00, c23 = c00;
  const float *a0 = a, *a1 = a + lda, *a2 = a + 2 * lda;
  const float *w0 = w, *w1 = w + ldw, *w2 = w + 2 * ldw, *w3 = w + 3 * ldw;
  for (int64_t k = 0; k < kcp; k += 8) {
    __m256 x0 = _mm256_loadu_ps(a0 + k), x1 = _mm256_loadu_ps(a1 + k),
           x2 = _mm256_loadu_ps(a2 + k);
    __m256 v = _mm256_loadu_ps(w0 + k);
    c00 = _mm256_fmadd_ps(x0, v, c00);
    c10 = _mm256_fmadd_ps(x1, v, c10);
    c20 = _mm256_fmadd_ps(x2, v, c20);
    v = _mm256_loadu_ps(w1 + k);
    c01 = _mm256_fmadd_ps(x0, v, c01);
    c11 = _mm256_fmadd_ps(x1, v, c11);
    c21 = _mm256_fmadd_ps(x2, v, c21);
    v = _mm256_loadu_ps(w2 + k);
    c02 = _mm256_fmadd_ps(x0, v, c02);
    c12 = _mm256_fmadd_ps(x1, v, c12);
    c22 = _mm256_fmadd_ps(x2, v, c22);
    v = _mm256_loadu_ps(w3 + k);
    c03 = _mm256_fmadd_ps(x0, v, c03);
    c13 = _mm256_fmadd_ps(x1, v, c13);
    c23 = _mm256_fmadd_ps(x2, v, c23);
  }
  auto red = [](__m256 p, __m256 q, __m256 s, __m256 t) {
    __m256 u = _mm256_hadd_ps(_mm256_hadd_ps(p, q), _mm256_hadd_ps(s, t));
    return _mm_add_ps(_mm256_castps256_ps128(u), _mm256_extractf128_ps(u, 1));
  };
  r[0] = red(c00, c01, c02, c03);
  r[1] = red(c10, c11, c12, c13);
  r[2] = red(c20, c21, c22, c23);
}
/// Reserves gemmNT's per-thread buffers (slots 0 and 1); false when out of
/// memory.
inline bool reserve(int64_t K) {
  const int64_t kcMax =
      std::min<int64_t>(KC, roundUp(std::max<int64_t>(K, 1), 8));
  return scratch(0, roundUp(kMaxMB, 3) * (kcMax + ATTUNE_GEMM_SKEW)) &&
         scratch(1, 4 * (kcMax + ATTUNE_GEMM_SKEW));
}
/// C[mb, nb] = A[mb, K] W[nb, K]^T (overwrites C). TA/TW: float, bf16, f16.
template <typename TA, typename TW>
void gemmNT(const TA *A, int64_t lda, const TW *W, int64_t ldw, int64_t mb,
            int64_t nb, int64_t K, float *C, int64_t ldc) {
  if (mb <= 0 || nb <= 0)
    return;
  if (K <= 0) {
    for (int64_t i = 0; i < mb; ++i)
      for (int64_t j = 0; j < nb; ++j)
        C[i * ldc + j] = 0.0f;
    return;
  }
  const int64_t kcMax = std::min<int64_t>(KC, roundUp(K, 8));
  float *abuf = scratch(0, roundUp(kMaxMB, 3) * (kcMax + ATTUNE_GEMM_SKEW));
  float *wbuf = scratch(1, 4 * (kcMax + ATTUNE_GEMM_SKEW));
  for (int64_t m0 = 0; m0 < mb; m0 += kMaxMB) {
    const int64_t mc = std::min(kMaxMB, mb - m0), mcp = roundUp(mc, 3);
    for (int64_t k0 = 0; k0 < K; k0 += KC) {
      const int64_t kc = std::min(KC, K - k0), kcp = roundUp(kc, 8);
      const bool first = k0 == 0;
      // Rows skewed by ATTUNE_GEMM_SKEW floats: fewer L1 bank clashes.
      const int64_t lda2 = kcp + ATTUNE_GEMM_SKEW;
      for (int64_t i = 0; i < mcp; ++i) {
        float *dst = abuf + i * lda2;
        int64_t n = 0;
        if (i < mc) {
          convertRow(A + (m0 + i) * lda + k0, dst, kc);
          n = kc;
        }
        for (; n < kcp; ++n)
          dst[n] = 0.0f;
      }
      for (int64_t j0 = 0; j0 < nb; j0 += 4) {
        const int64_t nj = std::min<int64_t>(4, nb - j0);
        const float *wp;
        int64_t wld;
        if (ATTUNE_GEMM_DIRECT_W && std::is_same_v<TW, float> && nj == 4 &&
            kc == kcp) {
          wp = reinterpret_cast<const float *>(W + j0 * ldw + k0);
          wld = ldw;
        } else {
          for (int64_t j = 0; j < 4; ++j) {
            float *dst = wbuf + j * (kcp + ATTUNE_GEMM_SKEW);
            int64_t n = 0;
            if (j < nj) {
              convertRow(W + (j0 + j) * ldw + k0, dst, kc);
              n = kc;
            }
            for (; n < kcp; ++n)
              dst[n] = 0.0f;
          }
          wp = wbuf;
          wld = kcp + ATTUNE_GEMM_SKEW;
        }
        for (int64_t i0 = 0; i0 < mcp; i0 += 3) {
          __m128 r[3];
          kernel3x4(abuf + i0 * lda2, lda2, wp, wld, kcp, r);
          const int64_t ni = std::min<int64_t>(3, mc - i0);
          for (int64_t i = 0; i < ni; ++i) {
            float *c = C + (m0 + i0 + i) * ldc + j0;
            if (nj == 4)
              _mm_storeu_ps(c,
                            first ? r[i] : _mm_add_ps(_mm_loadu_ps(c), r[i]));
            else {
              alignas(16) float t[4];
              _mm_store_ps(t, r[i]);
              for (int64_t j = 0; j < nj; ++j)
                c[j] = first ? t[j] : c[j] + t[j];
            }
          }
        }
      }
    }
  }
}
/// y row segment = T(c + bias).
template <typename T>
inline void storeTile(const float *c, int64_t ldc, const T *bias, T *y,
                      int64_t ldy, int64_t rows, int64_t cols) {
  for (int64_t i = 0; i < rows; ++i) {
    const float *cr = c + i * ldc;
    T *yr = y + i * ldy;
    int64_t j = 0;
    for (; j + 8 <= cols; j += 8) {
      __m256 v = _mm256_loadu_ps(cr + j);
      if (bias)
        v = _mm256_add_ps(v, load8(bias + j));
      store8(yr + j, v);
    }
    for (; j < cols; ++j)
      yr[j] = fromFloat<T>(bias ? cr[j] + toFloat(bias[j]) : cr[j]);
  }
}

} // namespace attune::cpu::gemm

#endif // ATTUNE_CPU_KERNELS_GEMM_H
