//===- Linear.cpp - linear and matmul families ----------------------------===//
//
// linear: y[M,N] = x[M,K] w[N,K]^T + b. Work item = (row block of <= 96
// rows, column block of 32..512 columns), enough items for the thread pool;
// each item runs gemm::gemmNT into a per-thread f32 tile and stores it with
// the bias added (f32) and rounded to T.
// matmul: batched a[.., M, K] b[.., K, N]; item = (batch, row block, column
// block); the item's b columns are transposed (and converted) into a
// per-thread [nb, K] f32 buffer, then as linear.
//
//===----------------------------------------------------------------------===//

#include "Gemm.h"

namespace attune::cpu {
namespace {

using gemm::ceilDiv;
using gemm::roundUp;

/// Splits M x N (x batch) into work items.
struct Tiling {
  int64_t mb = 0, nb = 0, mBlocks = 0, nBlocks = 0;
  int64_t items() const { return mBlocks * nBlocks; }
};

Tiling tile(int64_t M, int64_t N, int64_t batch) {
  Tiling t;
  if (M <= 0 || N <= 0 || batch <= 0)
    return t;
  // Row blocks are multiples of 3 (the micro-kernel's rows).
  t.mb = std::min(M, roundUp(ceilDiv(M, ceilDiv(M, gemm::kMaxMB)), 3));
  t.mBlocks = ceilDiv(M, t.mb);
  const int64_t want = 32;
  int64_t nBlocks = ceilDiv(want, t.mBlocks * batch);
  int64_t nb = roundUp(ceilDiv(N, nBlocks), 8);
  nb = std::max<int64_t>(32, std::min<int64_t>(512, nb));
  t.nb = std::min(nb, N);
  t.nBlocks = ceilDiv(N, t.nb);
  return t;
}

//===----------------------------------------------------------------------===//
// linear
//===----------------------------------------------------------------------===//

template <typename T>
int linearCheck(const attune_kernel_args *a, int64_t *grid, char *err,
                size_t cap) {
  const char *f = "linear";
  ATTUNE_TRY(checkCounts(a, f, 4, ATTUNE_LIN_NUM_FIXED, 0, err, cap));
  const int64_t M = a->ints[ATTUNE_LIN_M], N = a->ints[ATTUNE_LIN_N],
                K = a->ints[ATTUNE_LIN_K];
  ATTUNE_TRY(checkNonNegative(a->ints, 3, f, "M N K", err, cap));
  int64_t mk, nk, mn;
  if (!mulSize(M, K, mk) || !mulSize(N, K, nk) || !mulSize(M, N, mn))
    return formatError(err, cap, ATTUNE_KERNEL_INVALID_ARGUMENT,
                       "%s: M N K = %lld %lld %lld overflow", f, (long long)M,
                       (long long)N, (long long)K);
  ATTUNE_TRY(checkBuffer(a, 0, f, "x [M,K]", mk, sizeof(T), err, cap));
  ATTUNE_TRY(checkBuffer(a, 1, f, "w [N,K]", nk, sizeof(T), err, cap));
  if (present(a, 2))
    ATTUNE_TRY(checkBuffer(a, 2, f, "bias [N]", N, sizeof(T), err, cap));
  ATTUNE_TRY(checkBuffer(a, 3, f, "y [M,N]", mn, sizeof(T), err, cap));
  *grid = tile(M, N, 1).items();
  return ATTUNE_KERNEL_OK;
}

template <typename T>
int linearKernel(const attune_kernel_args *a, attune_kernel_ctx *ctx,
                 int64_t begin, int64_t end) {
  const int64_t M = a->ints[ATTUNE_LIN_M], N = a->ints[ATTUNE_LIN_N],
                K = a->ints[ATTUNE_LIN_K];
  const T *x = static_cast<const T *>(a->buffers[0]);
  const T *w = static_cast<const T *>(a->buffers[1]);
  const T *bias =
      present(a, 2) ? static_cast<const T *>(a->buffers[2]) : nullptr;
  T *y = static_cast<T *>(a->buffers[3]);
  const Tiling t = tile(M, N, 1);
  float *c = gemm::scratch(2, t.mb * t.nb);
  if (!c || !gemm::reserve(K))
    return formatError(ctx->error, ctx->error_capacity, ATTUNE_KERNEL_INTERNAL,
                       "linear: out of memory for per-thread buffers");
  for (int64_t item = begin; item < end; ++item) {
    const int64_t mi = item / t.nBlocks, ni = item % t.nBlocks;
    const int64_t m0 = mi * t.mb, n0 = ni * t.nb;
    const int64_t mb = std::min(t.mb, M - m0), nb = std::min(t.nb, N - n0);
    gemm::gemmNT(x + m0 * K, K, w + n0 * K, K, mb, nb, K, c, t.nb);
    gemm::storeTile(c, t.nb, bias ? bias + n0 : nullptr, y + m0 * N + n0, N, mb,
                    nb);
  }
  return ATTUNE_KERNEL_OK;
}

//===----------------------------------------------------------------------===//
// matmul
//===----------------------------------------------------------------------===//

struct MatmulShape {
  int64_t M, N, K, nbatch, batch;
  const int64_t *ext, *sa, *sb;
};

MatmulShape matmulShape(const attune_kernel_args *a) {
  MatmulShape s;
  s.M = a->ints[ATTUNE_MM_M];
  s.N = a->ints[ATTUNE_MM_N];
  s.K = a->ints[ATTUNE_MM_K];
  s.nbatch = a->ints[ATTUNE_MM_NBATCH];
  s.ext = a->ints + ATTUNE_MM_NUM_FIXED;
  s.sa = s.ext + s.nbatch;
  s.sb = s.sa + s.nbatch;
  s.batch = 1;
  for (int64_t i = 0; i < s.nbatch; ++i)
    s.batch *= s.ext[i];
  return s;
}

template <typename T>
int matmulCheck(const attune_kernel_args *a, int64_t *grid, char *err,
                size_t cap) {
  const char *f = "matmul";
  ATTUNE_TRY(checkCounts(a, f, 3, -ATTUNE_MM_NUM_FIXED, 0, err, cap));
  ATTUNE_TRY(checkNonNegative(a->ints, 4, f, "M N K nbatch", err, cap));
  const int64_t nbatch = a->ints[ATTUNE_MM_NBATCH];
  if (nbatch > 64 || a->num_ints != ATTUNE_MM_NUM_FIXED + 3 * nbatch)
    return formatError(
        err, cap, ATTUNE_KERNEL_INVALID_ARGUMENT,
        "%s: nbatch = %lld needs %lld ints, got %lld (nbatch <= "
        "64)",
        f, (long long)nbatch,
        (long long)(ATTUNE_MM_NUM_FIXED + 3 * std::min<int64_t>(nbatch, 64)),
        (long long)a->num_ints);
  ATTUNE_TRY(checkNonNegative(a->ints + ATTUNE_MM_NUM_FIXED, 3 * nbatch, f,
                              "batch extents and strides", err, cap));
  const int64_t M = a->ints[ATTUNE_MM_M], N = a->ints[ATTUNE_MM_N],
                K = a->ints[ATTUNE_MM_K];
  const int64_t *ext = a->ints + ATTUNE_MM_NUM_FIXED;
  int64_t batch = 1, maxA = 0, maxB = 0, mk, kn, mn, out;
  bool ok = mulSize(M, K, mk) && mulSize(K, N, kn) && mulSize(M, N, mn);
  for (int64_t i = 0; ok && i < nbatch; ++i) {
    ok = mulSize(batch, ext[i], batch);
    int64_t da, db;
    if (ext[i] > 0 && ok) {
      ok = mulSize(ext[i] - 1, ext[nbatch + i], da) &&
           mulSize(ext[i] - 1, ext[2 * nbatch + i], db) &&
           !__builtin_add_overflow(maxA, da, &maxA) &&
           !__builtin_add_overflow(maxB, db, &maxB);
    }
  }
  ok = ok && mulSize(batch, mn, out);
  int64_t needA = 0, needB = 0;
  ok = ok && !__builtin_add_overflow(maxA, mk, &needA) &&
       !__builtin_add_overflow(maxB, kn, &needB);
  if (!ok)
    return formatError(err, cap, ATTUNE_KERNEL_INVALID_ARGUMENT,
                       "%s: sizes overflow (M N K = %lld %lld %lld)", f,
                       (long long)M, (long long)N, (long long)K);
  if (batch > 0) {
    ATTUNE_TRY(checkBuffer(a, 0, f, "a", needA, sizeof(T), err, cap));
    ATTUNE_TRY(checkBuffer(a, 1, f, "b", needB, sizeof(T), err, cap));
  }
  ATTUNE_TRY(checkBuffer(a, 2, f, "y [batch,M,N]", out, sizeof(T), err, cap));
  *grid = tile(M, N, batch).items() * batch;
  return ATTUNE_KERNEL_OK;
}

template <typename T>
int matmulKernel(const attune_kernel_args *a, attune_kernel_ctx *ctx,
                 int64_t begin, int64_t end) {
  const MatmulShape s = matmulShape(a);
  const int64_t M = s.M, N = s.N, K = s.K;
  const T *A = static_cast<const T *>(a->buffers[0]);
  const T *B = static_cast<const T *>(a->buffers[1]);
  T *y = static_cast<T *>(a->buffers[2]);
  const Tiling t = tile(M, N, s.batch);
  const int64_t per = t.items();
  float *c = gemm::scratch(2, t.mb * t.nb);
  float *bt = gemm::scratch(3, t.nb * std::max<int64_t>(K, 1));
  if (!c || !bt || !gemm::reserve(K))
    return formatError(ctx->error, ctx->error_capacity, ATTUNE_KERNEL_INTERNAL,
                       "matmul: out of memory for per-thread buffers");
  int64_t lastB = -1, lastN0 = -1;
  for (int64_t item = begin; item < end; ++item) {
    const int64_t bi = item / per, r = item % per;
    const int64_t mi = r / t.nBlocks, ni = r % t.nBlocks;
    int64_t offA = 0, offB = 0, rem = bi;
    for (int64_t d = s.nbatch; d-- > 0;) {
      int64_t idx = rem % s.ext[d];
      rem /= s.ext[d];
      offA += idx * s.sa[d];
      offB += idx * s.sb[d];
    }
    const int64_t m0 = mi * t.mb, n0 = ni * t.nb;
    const int64_t mb = std::min(t.mb, M - m0), nb = std::min(t.nb, N - n0);
    const T *bm = B + offB;
    if (offB != lastB || n0 != lastN0) {
      // bt[j, k] = b[k, n0 + j], in blocks of 8 k so that writes are rows.
      for (int64_t k0 = 0; k0 < K; k0 += 8) {
        const int64_t kk = std::min<int64_t>(8, K - k0);
        for (int64_t j = 0; j < nb; ++j) {
          float *dst = bt + j * K + k0;
          for (int64_t q = 0; q < kk; ++q)
            dst[q] = toFloat(bm[(k0 + q) * N + n0 + j]);
        }
      }
      lastB = offB;
      lastN0 = n0;
    }
    gemm::gemmNT(A + offA + m0 * K, K, bt, K, mb, nb, K, c, t.nb);
    gemm::storeTile<T>(c, t.nb, nullptr, y + bi * M * N + m0 * N + n0, N, mb,
                       nb);
  }
  return ATTUNE_KERNEL_OK;
}

} // namespace
} // namespace attune::cpu

using namespace attune::cpu;
ATTUNE_EXPORT_TYPED(linear, linearKernel, linearCheck)
ATTUNE_EXPORT_TYPED(matmul, matmulKernel, matmulCheck)
