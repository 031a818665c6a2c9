//===- Reduce.cpp - reduce family (sum, mean, max) ------------------------===//
//
// Dims are collapsed (size-1 dims dropped, neighbours with the same flag
// merged). When the last dim is kept (extent I), a work item is (kept
// prefix index, block of 64 columns) and sums the reduced slices in x's
// row-major order, vectorized across the columns (the reference's order).
// When the last dim is reduced, a work item is one output; the contiguous
// last dim is summed in 8 f32 lanes. Either way an output's order of
// operations depends only on the shape.
//
//===----------------------------------------------------------------------===//

#include "ElementwiseMath.h"

namespace attune::cpu {
namespace {

constexpr int64_t kMaxRank = ATTUNE_CPU_MAX_RANK;
constexpr int64_t kCols = 64;
enum { RED_SUM, RED_MEAN, RED_MAX };

struct Shape {
  int64_t r = 0;
  int64_t ext[kMaxRank], stride[kMaxRank];
  bool red[kMaxRank];
  int64_t count = 1; // elements per output
  int64_t outputs = 1;
  bool lastKept() const { return r == 0 || !red[r - 1]; }
};

Shape collapse(const int64_t *dims, const int64_t *flags, int64_t rank) {
  Shape s;
  int64_t st[kMaxRank], acc = 1;
  for (int64_t d = rank; d-- > 0;) {
    st[d] = acc;
    acc *= dims[d];
  }
  for (int64_t d = 0; d < rank; ++d) {
    if (flags[d])
      s.count *= dims[d];
    else
      s.outputs *= dims[d];
    if (dims[d] == 1)
      continue;
    const bool rd = flags[d] != 0;
    if (s.r > 0 && s.red[s.r - 1] == rd &&
        s.stride[s.r - 1] == st[d] * dims[d]) {
      s.ext[s.r - 1] *= dims[d];
      s.stride[s.r - 1] = st[d];
    } else {
      s.ext[s.r] = dims[d];
      s.stride[s.r] = st[d];
      s.red[s.r] = rd;
      ++s.r;
    }
  }
  return s;
}

template <typename T>
int reduceCheck(const attune_kernel_args *a, int64_t *grid, char *err,
                size_t cap) {
  const char *f = "reduce";
  ATTUNE_TRY(checkCounts(a, f, 2, -ATTUNE_RED_NUM_FIXED, 0, err, cap));
  const int64_t kind = a->ints[ATTUNE_RED_KIND],
                rank = a->ints[ATTUNE_RED_RANK];
  if (kind < 0 || kind > 2)
    return formatError(err, cap, ATTUNE_KERNEL_INVALID_ARGUMENT,
                       "%s: kind = %lld; expected 0 (sum), 1 (mean) or 2 (max)",
                       f, (long long)kind);
  if (rank < 0 || rank > kMaxRank ||
      a->num_ints != ATTUNE_RED_NUM_FIXED + 2 * rank)
    return formatError(
        err, cap, ATTUNE_KERNEL_INVALID_ARGUMENT,
        "%s: rank = %lld with %lld ints; expected rank in [0, %lld] "
        "and 2 + 2 * rank ints",
        f, (long long)rank, (long long)a->num_ints, (long long)kMaxRank);
  const int64_t *dims = a->ints + ATTUNE_RED_NUM_FIXED, *flags = dims + rank;
  ATTUNE_TRY(checkNonNegative(dims, rank, f, "dims", err, cap));
  int64_t n = 1, outputs = 1, count = 1;
  for (int64_t d = 0; d < rank; ++d) {
    if (flags[d] != 0 && flags[d] != 1)
      return formatError(err, cap, ATTUNE_KERNEL_INVALID_ARGUMENT,
                         "%s: flag %lld is %lld; expected 0 or 1", f,
                         (long long)d, (long long)flags[d]);
    if (!mulSize(n, dims[d], n) || !mulSize(flags[d] ? count : outputs, dims[d],
                                            flags[d] ? count : outputs))
      return formatError(err, cap, ATTUNE_KERNEL_INVALID_ARGUMENT,
                         "%s: sizes overflow", f);
  }
  if (kind == RED_MAX && count == 0 && outputs > 0)
    return formatError(err, cap, ATTUNE_KERNEL_INVALID_ARGUMENT,
                       "%s: max reduces empty slices, which have no maximum",
                       f);
  ATTUNE_TRY(checkBuffer(a, 0, f, "x", n, sizeof(T), err, cap));
  ATTUNE_TRY(checkBuffer(a, 1, f, "y", outputs, sizeof(T), err, cap));
  const Shape s = collapse(dims, flags, rank);
  if (outputs == 0)
    *grid = 0;
  else if (s.lastKept()) {
    const int64_t I = s.r ? s.ext[s.r - 1] : 1;
    *grid = outputs / I * ((I + kCols - 1) / kCols);
  } else {
    *grid = outputs;
  }
  return ATTUNE_KERNEL_OK;
}

inline __m256 combine(int kind, __m256 acc, __m256 v, __m256 &nan) {
  if (kind == RED_MAX) {
    nan = _mm256_or_ps(nan, _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
    return _mm256_max_ps(acc, v);
  }
  return _mm256_add_ps(acc, v);
}

template <typename T>
int reduceKernel(const attune_kernel_args *a, attune_kernel_ctx *,
                 int64_t begin, int64_t end) {
  const int kind = static_cast<int>(a->ints[ATTUNE_RED_KIND]);
  const int64_t rank = a->ints[ATTUNE_RED_RANK];
  const int64_t *dims = a->ints + ATTUNE_RED_NUM_FIXED, *flags = dims + rank;
  const Shape s = collapse(dims, flags, rank);
  const T *x = static_cast<const T *>(a->buffers[0]);
  T *y = static_cast<T *>(a->buffers[1]);
  const float init = kind == RED_MAX ? -INFINITY : 0.0f;
  const float fcount = static_cast<float>(s.count);
  // Kept dims other than the last kept run, and the reduced dims.
  int64_t kExt[kMaxRank], kSt[kMaxRank], rExt[kMaxRank], rSt[kMaxRank];
  int64_t nk = 0, nr = 0;
  const bool lastKept = s.lastKept();
  const int64_t lastDims = s.r ? s.r - 1 : 0;
  for (int64_t d = 0; d < lastDims; ++d) {
    if (s.red[d]) {
      rExt[nr] = s.ext[d];
      rSt[nr++] = s.stride[d];
    } else {
      kExt[nk] = s.ext[d];
      kSt[nk++] = s.stride[d];
    }
  }
  auto keptBase = [&](int64_t o) {
    int64_t off = 0;
    for (int64_t d = nk; d-- > 0;) {
      off += (o % kExt[d]) * kSt[d];
      o /= kExt[d];
    }
    return off;
  };
  auto finish = [&](float v, bool nan) {
    if (nan)
      return NAN;
    return kind == RED_MEAN ? v / fcount : v;
  };
  int64_t rIdx[kMaxRank];
  if (lastKept) {
    const int64_t I = s.r ? s.ext[s.r - 1] : 1;
    const int64_t blocks = (I + kCols - 1) / kCols;
    for (int64_t item = begin; item < end; ++item) {
      const int64_t o = item / blocks, c0 = (item % blocks) * kCols;
      const int64_t w = std::min(kCols, I - c0);
      const int64_t base = keptBase(o) + c0;
      __m256 acc[kCols / 8], nan[kCols / 8];
      for (int q = 0; q < kCols / 8; ++q) {
        acc[q] = _mm256_set1_ps(init);
        nan[q] = _mm256_setzero_ps();
      }
      int64_t total = 1;
      for (int64_t d = 0; d < nr; ++d) {
        total *= rExt[d];
        rIdx[d] = 0;
      }
      int64_t roff = 0;
      for (int64_t t = 0; t < total; ++t) {
        const T *p = x + base + roff;
        for (int64_t q = 0; q * 8 < w; ++q) {
          const int64_t k = std::min<int64_t>(8, w - q * 8);
          acc[q] =
              combine(kind, acc[q],
                      k == 8 ? load8(p + q * 8) : loadN(p + q * 8, k), nan[q]);
        }
        for (int64_t d = nr; d-- > 0;) {
          roff += rSt[d];
          if (++rIdx[d] < rExt[d])
            break;
          roff -= rSt[d] * rExt[d];
          rIdx[d] = 0;
        }
      }
      const int64_t outBase = o * I + c0;
      for (int64_t q = 0; q * 8 < w; ++q) {
        alignas(32) float v[8], m[8];
        _mm256_store_ps(v, acc[q]);
        _mm256_store_ps(m, nan[q]);
        for (int64_t i = 0; i < std::min<int64_t>(8, w - q * 8); ++i)
          y[outBase + q * 8 + i] = fromFloat<T>(finish(v[i], m[i] != 0.0f));
      }
    }
    return ATTUNE_KERNEL_OK;
  }
  const int64_t R = s.ext[s.r - 1];
  for (int64_t o = begin; o < end; ++o) {
    const int64_t base = keptBase(o);
    int64_t total = 1;
    for (int64_t d = 0; d < nr; ++d) {
      total *= rExt[d];
      rIdx[d] = 0;
    }
    float res = init;
    bool anyNan = false;
    int64_t roff = 0;
    for (int64_t t = 0; t < total; ++t) {
      const T *p = x + base + roff;
      __m256 acc = _mm256_set1_ps(init), nan = _mm256_setzero_ps();
      for (int64_t i = 0; i < R; i += 8) {
        const int64_t k = std::min<int64_t>(8, R - i);
        __m256 v = k == 8 ? load8(p + i) : loadN(p + i, k);
        if (k < 8 && kind == RED_MAX)
          v = _mm256_blendv_ps(_mm256_set1_ps(-INFINITY), v,
                               _mm256_castsi256_ps(_mm256_cmpgt_epi32(
                                   _mm256_set1_epi32(static_cast<int>(k)),
                                   _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7))));
        acc = combine(kind, acc, v, nan);
      }
      anyNan |= _mm256_movemask_ps(nan) != 0;
      if (kind == RED_MAX) {
        alignas(32) float v[8];
        _mm256_store_ps(v, acc);
        for (float z : v)
          res = std::max(res, z);
      } else {
        res += hsum8(acc);
      }
      for (int64_t d = nr; d-- > 0;) {
        roff += rSt[d];
        if (++rIdx[d] < rExt[d])
          break;
        roff -= rSt[d] * rExt[d];
        rIdx[d] = 0;
      }
    }
    y[o] = fromFloat<T>(finish(res, anyNan));
  }
  return ATTUNE_KERNEL_OK;
}

} // namespace
} // namespace attune::cpu

using namespace attune::cpu;
ATTUNE_EXPORT_TYPED(reduce, reduceKernel, reduceCheck)
