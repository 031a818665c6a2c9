//===- Rope.cpp - rope family ---------------------------------------------===//
//
// x viewed as [N0, L, D]. Work item = (position group, l): with [B, L]
// positions a group is one batch (N0 / B rows), otherwise all N0 rows; the
// item computes cos/sin of its position once (angles pos * theta^(-2i/rd) in
// double, cos/sin in double, rounded to f32) and rotates every row of the
// group at l. Dims >= rotary_dim are copied.
//
//===----------------------------------------------------------------------===//

#include "ElementwiseMath.h"

#include <cstdlib>

namespace attune::cpu {
namespace {

template <typename T>
int ropeCheck(const attune_kernel_args *a, int64_t *grid, char *err,
              size_t cap) {
  const char *f = "rope";
  ATTUNE_TRY(checkCounts(a, f, 3, ATTUNE_ROPE_NUM_FIXED, 1, err, cap));
  ATTUNE_TRY(checkNonNegative(a->ints, 4, f, "N0 L D B", err, cap));
  const int64_t N0 = a->ints[ATTUNE_ROPE_N0], L = a->ints[ATTUNE_ROPE_L],
                D = a->ints[ATTUNE_ROPE_D], B = a->ints[ATTUNE_ROPE_B],
                kind = a->ints[ATTUNE_ROPE_POS_KIND],
                bits = a->ints[ATTUNE_ROPE_POS_BITS],
                inter = a->ints[ATTUNE_ROPE_INTERLEAVED],
                rd = a->ints[ATTUNE_ROPE_ROTARY_DIM];
  if (kind < 0 || kind > 2)
    return formatError(
        err, cap, ATTUNE_KERNEL_INVALID_ARGUMENT,
        "%s: pos_kind = %lld; expected 0 (none), 1 ([L]) or 2 ([B,L])", f,
        (long long)kind);
  if (kind != 0 && bits != 32 && bits != 64)
    return formatError(err, cap, ATTUNE_KERNEL_INVALID_ARGUMENT,
                       "%s: pos_bits = %lld; expected 32 or 64", f,
                       (long long)bits);
  if (inter != 0 && inter != 1)
    return formatError(err, cap, ATTUNE_KERNEL_INVALID_ARGUMENT,
                       "%s: interleaved = %lld; expected 0 or 1", f,
                       (long long)inter);
  if (rd <= 0 || rd > D || rd % 2 != 0)
    return formatError(
        err, cap, ATTUNE_KERNEL_INVALID_ARGUMENT,
        "%s: rotary_dim = %lld; expected even and in (0, D = %lld]", f,
        (long long)rd, (long long)D);
  if (kind == 2 && (B <= 0 || N0 % B != 0))
    return formatError(
        err, cap, ATTUNE_KERNEL_INVALID_ARGUMENT,
        "%s: B = %lld must be > 0 and divide N0 = %lld for [B,L] positions", f,
        (long long)B, (long long)N0);
  const double theta = a->floats[0];
  if (!(theta > 0) || !std::isfinite(theta))
    return formatError(err, cap, ATTUNE_KERNEL_INVALID_ARGUMENT,
                       "%s: theta = %g; expected a finite value > 0", f, theta);
  int64_t t, n, bl;
  if (!mulSize(N0, L, t) || !mulSize(t, D, n) || !mulSize(B, L, bl))
    return formatError(err, cap, ATTUNE_KERNEL_INVALID_ARGUMENT,
                       "%s: sizes overflow", f);
  ATTUNE_TRY(checkBuffer(a, 0, f, "x [N0,L,D]", n, sizeof(T), err, cap));
  if (kind == 1)
    ATTUNE_TRY(checkBuffer(a, 1, f, "positions [L]", L, bits / 8, err, cap));
  else if (kind == 2)
    ATTUNE_TRY(checkBuffer(a, 1, f, "positions [B,L]", bl, bits / 8, err, cap));
  ATTUNE_TRY(checkBuffer(a, 2, f, "y [N0,L,D]", n, sizeof(T), err, cap));
  *grid = (kind == 2 ? B : (N0 > 0 ? 1 : 0)) * L;
  return ATTUNE_KERNEL_OK;
}

template <typename T>
int ropeKernel(const attune_kernel_args *a, attune_kernel_ctx *ctx,
               int64_t begin, int64_t end) {
  const int64_t N0 = a->ints[ATTUNE_ROPE_N0], L = a->ints[ATTUNE_ROPE_L],
                D = a->ints[ATTUNE_ROPE_D], B = a->ints[ATTUNE_ROPE_B],
                kind = a->ints[ATTUNE_ROPE_POS_KIND],
                bits = a->ints[ATTUNE_ROPE_POS_BITS],
                rd = a->ints[ATTUNE_ROPE_ROTARY_DIM];
  const bool inter = a->ints[ATTUNE_ROPE_INTERLEAVED] != 0;
  const double theta = a->floats[0];
  const T *x = static_cast<const T *>(a->buffers[0]);
  T *y = static_cast<T *>(a->buffers[2]);
  const int64_t half = rd / 2;
  const int64_t groupRows = kind == 2 ? N0 / B : N0;
  // cos in cs[0, half), sin in cs[half, rd); on the stack when small.
  // and the inverse frequencies (double) in invF[0, half).
  float stackBuf[512];
  double stackInv[256];
  float *cs = rd <= 512 ? stackBuf
                        : static_cast<float *>(std::malloc(sizeof(float) * rd));
  double *invF =
      rd <= 512 ? stackInv
                : static_cast<double *>(std::malloc(sizeof(double) * half));
  if (!cs || !invF) {
    if (cs != stackBuf)
      std::free(cs);
    if (invF != stackInv)
      std::free(invF);
    return formatError(ctx->error, ctx->error_capacity, ATTUNE_KERNEL_INTERNAL,
                       "rope: out of memory");
  }
  for (int64_t i = 0; i < half; ++i)
    invF[i] = std::pow(theta,
                       -2.0 * static_cast<double>(i) / static_cast<double>(rd));
  for (int64_t item = begin; item < end; ++item) {
    const int64_t g = item / L, l = item % L;
    double pos = static_cast<double>(l);
    if (kind == 1)
      pos = static_cast<double>(loadInt(a->buffers[1], bits, l));
    else if (kind == 2)
      pos = static_cast<double>(loadInt(a->buffers[1], bits, g * L + l));
    for (int64_t i = 0; i < half; ++i) {
      const double ang = pos * invF[i];
      cs[i] = static_cast<float>(std::cos(ang));
      cs[half + i] = static_cast<float>(std::sin(ang));
    }
    for (int64_t r = 0; r < groupRows; ++r) {
      const int64_t n0 = g * groupRows + r;
      const T *xr = x + (n0 * L + l) * D;
      T *yr = y + (n0 * L + l) * D;
      if (!inter) {
        int64_t i = 0;
        for (; i + 8 <= half; i += 8) {
          __m256 xa = load8(xr + i), xb = load8(xr + half + i);
          __m256 c = _mm256_loadu_ps(cs + i),
                 s = _mm256_loadu_ps(cs + half + i);
          store8(yr + i, _mm256_fmsub_ps(xa, c, _mm256_mul_ps(xb, s)));
          store8(yr + half + i, _mm256_fmadd_ps(xa, s, _mm256_mul_ps(xb, c)));
        }
        for (; i < half; ++i) {
          const float xa = toFloat(xr[i]), xb = toFloat(xr[half + i]);
          const float c = cs[i], s = cs[half + i];
          yr[i] = fromFloat<T>(xa * c - xb * s);
          yr[half + i] = fromFloat<T>(xa * s + xb * c);
        }
      } else {
        for (int64_t i = 0; i < half; ++i) {
          const float xa = toFloat(xr[2 * i]), xb = toFloat(xr[2 * i + 1]);
          const float c = cs[i], s = cs[half + i];
          yr[2 * i] = fromFloat<T>(xa * c - xb * s);
          yr[2 * i + 1] = fromFloat<T>(xa * s + xb * c);
        }
      }
      for (int64_t d = rd; d < D; ++d)
        yr[d] = xr[d];
    }
  }
  if (cs != stackBuf)
    std::free(cs);
  if (invF != stackInv)
    std::free(invF);
  return ATTUNE_KERNEL_OK;
}

} // namespace
} // namespace attune::cpu

using namespace attune::cpu;
ATTUNE_EXPORT_TYPED(rope, ropeKernel, ropeCheck)
