//===- CrossEntropy.cpp - cross_entropy family ----------------------------===//
//
// loss_i = logsumexp(logits_i) - logits_i[label_i]; ignored rows give 0 and
// are not counted. Reduction none: one work item per row (grid N). Mean and
// sum: grid 1 (the sum runs over rows in order, as the reference does).
//
//===----------------------------------------------------------------------===//

#include "ElementwiseMath.h"

namespace attune::cpu {
namespace {

template <typename T>
int ceCheck(const attune_kernel_args *a, int64_t *grid, char *err, size_t cap) {
  const char *f = "cross_entropy";
  ATTUNE_TRY(checkCounts(a, f, 3, ATTUNE_CE_NUM_FIXED, 0, err, cap));
  ATTUNE_TRY(checkNonNegative(a->ints, 2, f, "N C", err, cap));
  const int64_t N = a->ints[ATTUNE_CE_N], C = a->ints[ATTUNE_CE_C];
  const int64_t bits = a->ints[ATTUNE_CE_LABEL_BITS],
                red = a->ints[ATTUNE_CE_REDUCTION];
  if (bits != 32 && bits != 64)
    return formatError(err, cap, ATTUNE_KERNEL_INVALID_ARGUMENT,
                       "%s: label_bits = %lld; expected 32 or 64", f,
                       (long long)bits);
  if (red < 0 || red > 2)
    return formatError(
        err, cap, ATTUNE_KERNEL_INVALID_ARGUMENT,
        "%s: reduction = %lld; expected 0 (none), 1 (mean) or 2 (sum)", f,
        (long long)red);
  int64_t nc;
  if (!mulSize(N, C, nc))
    return formatError(err, cap, ATTUNE_KERNEL_INVALID_ARGUMENT,
                       "%s: N * C overflows", f);
  ATTUNE_TRY(checkBuffer(a, 0, f, "logits [N,C]", nc, sizeof(T), err, cap));
  ATTUNE_TRY(checkBuffer(a, 1, f, "labels [N]", N, bits / 8, err, cap));
  ATTUNE_TRY(checkBuffer(a, 2, f, red == 0 ? "loss [N]" : "loss []",
                         red == 0 ? N : 1, sizeof(T), err, cap));
  *grid = red == 0 ? N : 1;
  return ATTUNE_KERNEL_OK;
}

/// The loss of one row (f32), or an error for a bad label; *counted tells
/// whether the row counts.
template <typename T>
int rowLoss(const attune_kernel_args *a, attune_kernel_ctx *ctx, int64_t i,
            float &loss, bool &counted) {
  const int64_t C = a->ints[ATTUNE_CE_C], ignore = a->ints[ATTUNE_CE_IGNORE];
  const int64_t label =
      loadInt(a->buffers[1], a->ints[ATTUNE_CE_LABEL_BITS], i);
  loss = 0.0f;
  counted = false;
  if (label == ignore)
    return ATTUNE_KERNEL_OK;
  if (label < 0 || label >= C)
    return formatError(
        ctx->error, ctx->error_capacity, ATTUNE_KERNEL_OUT_OF_RANGE,
        "cross_entropy: label %lld of row %lld is outside [0, %lld) "
        "and is not ignore_index %lld",
        (long long)label, (long long)i, (long long)C, (long long)ignore);
  const T *row = static_cast<const T *>(a->buffers[0]) + i * C;
  const __m256 ninf = _mm256_set1_ps(-INFINITY);
  __m256 m = ninf, nan = _mm256_setzero_ps();
  for (int64_t c = 0; c < C; c += 8) {
    const int64_t k = std::min<int64_t>(8, C - c);
    __m256 v = k == 8 ? load8(row + c) : loadN(row + c, k);
    if (k < 8)
      v = _mm256_blendv_ps(ninf, v,
                           _mm256_castsi256_ps(_mm256_cmpgt_epi32(
                               _mm256_set1_epi32(static_cast<int>(k)),
                               _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7))));
    nan = _mm256_or_ps(nan, _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
    m = _mm256_max_ps(m, v);
  }
  alignas(32) float t[8];
  _mm256_store_ps(t, m);
  float mx = t[0];
  for (int j = 1; j < 8; ++j)
    mx = std::max(mx, t[j]);
  if (_mm256_movemask_ps(nan))
    mx = NAN;
  float lse = mx;
  if (std::isfinite(mx)) {
    const __m256 mv = _mm256_set1_ps(mx);
    __m256 s = _mm256_setzero_ps();
    for (int64_t c = 0; c < C; c += 8) {
      const int64_t k = std::min<int64_t>(8, C - c);
      __m256 e =
          exp8(_mm256_sub_ps(k == 8 ? load8(row + c) : loadN(row + c, k), mv));
      if (k < 8)
        e = _mm256_and_ps(e, _mm256_castsi256_ps(_mm256_cmpgt_epi32(
                                 _mm256_set1_epi32(static_cast<int>(k)),
                                 _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7))));
      s = _mm256_add_ps(s, e);
    }
    lse = mx + std::log(hsum8(s));
  }
  loss = lse - toFloat(row[label]);
  counted = true;
  return ATTUNE_KERNEL_OK;
}

template <typename T>
int ceKernel(const attune_kernel_args *a, attune_kernel_ctx *ctx, int64_t begin,
             int64_t end) {
  const int64_t N = a->ints[ATTUNE_CE_N], red = a->ints[ATTUNE_CE_REDUCTION];
  T *out = static_cast<T *>(a->buffers[2]);
  if (red == 0) {
    for (int64_t i = begin; i < end; ++i) {
      float l;
      bool counted;
      ATTUNE_TRY(rowLoss<T>(a, ctx, i, l, counted));
      out[i] = fromFloat<T>(l);
    }
    return ATTUNE_KERNEL_OK;
  }
  if (begin > 0 || end < 1)
    return ATTUNE_KERNEL_OK;
  float sum = 0.0f;
  int64_t count = 0;
  for (int64_t i = 0; i < N; ++i) {
    float l;
    bool counted;
    ATTUNE_TRY(rowLoss<T>(a, ctx, i, l, counted));
    sum += l;
    count += counted;
  }
  if (red == 1)
    sum = count ? sum / static_cast<float>(count) : 0.0f;
  out[0] = fromFloat<T>(sum);
  return ATTUNE_KERNEL_OK;
}

} // namespace
} // namespace attune::cpu

using namespace attune::cpu;
ATTUNE_EXPORT_TYPED(cross_entropy, ceKernel, ceCheck)
