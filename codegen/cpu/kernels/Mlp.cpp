//===- Mlp.cpp - The fused mlp family -------------------------------------===//
//
// Work item = a block of rows (the kernel interface has no barrier, so a
// work item must hold whole rows of h): for its rows the item computes the
// gate and up projections (gemm::gemmNT into per-thread f32 buffers
// [mb, F]), h = act(gate) * (up + b_up) (or act(up + b_up)), rounds h to T
// (as the reference's Native mode) and then runs the down projection
// y = h w_down^T + b_down on the rounded h. Row blocks are <= 96 rows and
// there are at least min(8, ceil(M/32)) of them so that small M still gives
// the thread pool work (each block streams all three weights, so blocks of
// fewer than ~32 rows become weight-bandwidth bound).
//
//===----------------------------------------------------------------------===//

#include "Gemm.h"

#ifndef ATTUNE_MLP_MAXB
#define ATTUNE_MLP_MAXB 8
#endif
#ifndef ATTUNE_MLP_MINROWS
#define ATTUNE_MLP_MINROWS 32
#endif

namespace attune::cpu {
namespace {

using gemm::ceilDiv;
using gemm::roundUp;

struct MlpTiling {
  int64_t mb = 0, blocks = 0;
};

MlpTiling mlpTile(int64_t M) {
  MlpTiling t;
  if (M <= 0)
    return t;
  t.blocks = std::max(
      ceilDiv(M, gemm::kMaxMB),
      std::min<int64_t>(ATTUNE_MLP_MAXB, ceilDiv(M, ATTUNE_MLP_MINROWS)));
  t.mb = std::min(M, roundUp(ceilDiv(M, t.blocks), 3));
  t.blocks = ceilDiv(M, t.mb);
  return t;
}

template <typename T>
int mlpCheck(const attune_kernel_args *a, int64_t *grid, char *err,
             size_t cap) {
  const char *f = "mlp";
  ATTUNE_TRY(checkCounts(a, f, 7, ATTUNE_MLP_NUM_FIXED, 0, err, cap));
  ATTUNE_TRY(checkNonNegative(a->ints, 4, f, "M Din F Dout", err, cap));
  const int64_t M = a->ints[ATTUNE_MLP_M], Din = a->ints[ATTUNE_MLP_DIN],
                F = a->ints[ATTUNE_MLP_F], Dout = a->ints[ATTUNE_MLP_DOUT];
  const int64_t act = a->ints[ATTUNE_MLP_ACT],
                gated = a->ints[ATTUNE_MLP_GATED];
  if (act < 0 || act > 3)
    return formatError(err, cap, ATTUNE_KERNEL_INVALID_ARGUMENT,
                       "%s: activation %lld; expected 0 (silu), 1 (gelu), 2 "
                       "(gelu_tanh) or 3 (relu)",
                       f, (long long)act);
  if (gated != 0 && gated != 1)
    return formatError(err, cap, ATTUNE_KERNEL_INVALID_ARGUMENT,
                       "%s: gated = %lld; expected 0 or 1", f,
                       (long long)gated);
  int64_t md, fd, df, mo, mf;
  if (!mulSize(M, Din, md) || !mulSize(F, Din, fd) || !mulSize(Dout, F, df) ||
      !mulSize(M, Dout, mo) || !mulSize(M, F, mf))
    return formatError(err, cap, ATTUNE_KERNEL_INVALID_ARGUMENT,
                       "%s: sizes overflow", f);
  ATTUNE_TRY(checkBuffer(a, 0, f, "x [M,Din]", md, sizeof(T), err, cap));
  ATTUNE_TRY(checkBuffer(a, 1, f, "w_up [F,Din]", fd, sizeof(T), err, cap));
  ATTUNE_TRY(checkBuffer(a, 2, f, "w_down [Dout,F]", df, sizeof(T), err, cap));
  if (gated)
    ATTUNE_TRY(checkBuffer(a, 3, f, "w_gate [F,Din]", fd, sizeof(T), err, cap));
  else if (present(a, 3))
    return formatError(err, cap, ATTUNE_KERNEL_INVALID_ARGUMENT,
                       "%s: w_gate given but gated = 0", f);
  if (present(a, 4))
    ATTUNE_TRY(checkBuffer(a, 4, f, "b_up [F]", F, sizeof(T), err, cap));
  if (present(a, 5))
    ATTUNE_TRY(
        checkBuffer(a, 5, f, "b_down [Dout]", Dout, sizeof(T), err, cap));
  ATTUNE_TRY(checkBuffer(a, 6, f, "y [M,Dout]", mo, sizeof(T), err, cap));
  *grid = mlpTile(M).blocks;
  return ATTUNE_KERNEL_OK;
}

template <typename T>
int mlpKernel(const attune_kernel_args *a, attune_kernel_ctx *ctx,
              int64_t begin, int64_t end) {
  const int64_t M = a->ints[ATTUNE_MLP_M], Din = a->ints[ATTUNE_MLP_DIN],
                F = a->ints[ATTUNE_MLP_F], Dout = a->ints[ATTUNE_MLP_DOUT];
  const int64_t act = a->ints[ATTUNE_MLP_ACT];
  const bool gated = a->ints[ATTUNE_MLP_GATED] != 0;
  const T *x = static_cast<const T *>(a->buffers[0]);
  const T *wUp = static_cast<const T *>(a->buffers[1]);
  const T *wDown = static_cast<const T *>(a->buffers[2]);
  const T *wGate = gated ? static_cast<const T *>(a->buffers[3]) : nullptr;
  const T *bUp =
      present(a, 4) ? static_cast<const T *>(a->buffers[4]) : nullptr;
  const T *bDown =
      present(a, 5) ? static_cast<const T *>(a->buffers[5]) : nullptr;
  T *y = static_cast<T *>(a->buffers[6]);
  const MlpTiling t = mlpTile(M);
  const int64_t kMax = std::max<int64_t>(std::max(Din, F), 1);
  float *h = gemm::scratch(2, t.mb * std::max<int64_t>(F, 1));
  float *g = gated ? gemm::scratch(3, t.mb * std::max<int64_t>(F, 1)) : nullptr;
  float *c = gemm::scratch(4, t.mb * std::max<int64_t>(Dout, 1));
  if (!h || (gated && !g) || !c || !gemm::reserve(kMax))
    return formatError(ctx->error, ctx->error_capacity, ATTUNE_KERNEL_INTERNAL,
                       "mlp: out of memory for per-thread buffers");
  for (int64_t item = begin; item < end; ++item) {
    const int64_t m0 = item * t.mb, mb = std::min(t.mb, M - m0);
    const T *xb = x + m0 * Din;
    gemm::gemmNT(xb, Din, wUp, Din, mb, F, Din, h, F);
    if (gated)
      gemm::gemmNT(xb, Din, wGate, Din, mb, F, Din, g, F);
    for (int64_t i = 0; i < mb; ++i) {
      float *hr = h + i * F;
      const float *gr = gated ? g + i * F : nullptr;
      int64_t j = 0;
      for (; j + 8 <= F; j += 8) {
        __m256 u = _mm256_loadu_ps(hr + j);
        if (bUp)
          u = _mm256_add_ps(u, load8(bUp + j));
        __m256 v =
            gated ? _mm256_mul_ps(activate8(act, _mm256_loadu_ps(gr + j)), u)
                  : activate8(act, u);
        _mm256_storeu_ps(hr + j, roundTo<T>(v));
      }
      if (j < F) {
        const int64_t n = F - j;
        __m256 u = loadN(hr + j, n);
        if (bUp)
          u = _mm256_add_ps(u, loadN(bUp + j, n));
        __m256 v = gated ? _mm256_mul_ps(activate8(act, loadN(gr + j, n)), u)
                         : activate8(act, u);
        storeN(hr + j, roundTo<T>(v), n);
      }
    }
    gemm::gemmNT(h, F, wDown, F, mb, Dout, F, c, Dout);
    gemm::storeTile(c, Dout, bDown, y + m0 * Dout, Dout, mb, Dout);
  }
  return ATTUNE_KERNEL_OK;
}

} // namespace
} // namespace attune::cpu

using namespace attune::cpu;
ATTUNE_EXPORT_TYPED(mlp, mlpKernel, mlpCheck)
