//===- Layout.cpp - cast, transpose, concat, slice and copy ---------------===//
//
// Data movement families (no dtype suffix). cast converts as ref::cast
// (round to nearest even for floating targets, straight from the source
// value; truncation with saturation for integers, NaN -> 0; nonzero -> 1 for
// i1), with vector paths for f32 <-> bf16/f16. transpose walks output rows;
// concat/slice copy contiguous runs; copy copies bytes in 1 MiB items.
//
//===----------------------------------------------------------------------===//

#include "ElementwiseMath.h"

#include <cstdio>
#include <limits>

namespace attune::cpu {
namespace {

constexpr int64_t kCastBlock = 16384;
constexpr int64_t kMaxRank = ATTUNE_CPU_MAX_RANK;

int64_t dtypeBytes(int64_t dt) {
  switch (dt) {
  case ATTUNE_DT_F32:
  case ATTUNE_DT_I32:
    return 4;
  case ATTUNE_DT_F16:
  case ATTUNE_DT_BF16:
  case ATTUNE_DT_I16:
    return 2;
  case ATTUNE_DT_F64:
  case ATTUNE_DT_I64:
    return 8;
  case ATTUNE_DT_I1:
  case ATTUNE_DT_I8:
    return 1;
  default:
    return 0;
  }
}

double loadAs(const void *p, int64_t dt, int64_t i) {
  switch (dt) {
  case ATTUNE_DT_F32:
    return static_cast<const float *>(p)[i];
  case ATTUNE_DT_F16:
    return toFloat(static_cast<const f16 *>(p)[i]);
  case ATTUNE_DT_BF16:
    return toFloat(static_cast<const bf16 *>(p)[i]);
  case ATTUNE_DT_F64:
    return static_cast<const double *>(p)[i];
  case ATTUNE_DT_I32:
    return static_cast<const int32_t *>(p)[i];
  case ATTUNE_DT_I64:
    return static_cast<double>(static_cast<const int64_t *>(p)[i]);
  case ATTUNE_DT_I1:
    return static_cast<const uint8_t *>(p)[i] != 0 ? 1.0 : 0.0;
  case ATTUNE_DT_I8:
    return static_cast<const int8_t *>(p)[i];
  default:
    return static_cast<const int16_t *>(p)[i];
  }
}

/// Rounds straight from double to a format with p significand bits (as the
/// runtime's roundToFormat), so that f64 -> bf16/f16 rounds once.
double roundToFormat(double x, int p, int emin, double maxFinite) {
  if (!std::isfinite(x) || x == 0)
    return x;
  double a = std::fabs(x);
  int e = std::ilogb(a);
  if (e < emin)
    e = emin;
  double ulp = std::ldexp(1.0, e - p + 1);
  double r = std::nearbyint(a / ulp) * ulp;
  if (r > maxFinite)
    r = std::numeric_limits<double>::infinity();
  return std::copysign(r, x);
}

template <typename I> I truncSat(double x) {
  if (std::isnan(x))
    return 0;
  const double lo = static_cast<double>(std::numeric_limits<I>::min());
  const double hi = static_cast<double>(std::numeric_limits<I>::max());
  x = std::trunc(x);
  if (x <= lo)
    return std::numeric_limits<I>::min();
  if (x >= hi)
    return std::numeric_limits<I>::max();
  return static_cast<I>(x);
}

void storeAs(void *p, int64_t dt, int64_t i, double v, int64_t from) {
  switch (dt) {
  case ATTUNE_DT_F32: {
    float f;
    if (std::fabs(v) >= 0x1.ffffffp127 && std::isfinite(v))
      f = std::copysign(INFINITY, static_cast<float>(v > 0 ? 1 : -1));
    else
      f = static_cast<float>(v);
    static_cast<float *>(p)[i] = f;
    return;
  }
  case ATTUNE_DT_F16:
    if (from == ATTUNE_DT_F64 || from == ATTUNE_DT_I64 || from == ATTUNE_DT_I32)
      v = roundToFormat(v, 11, -14, 65504.0);
    static_cast<f16 *>(p)[i] = fromFloat<f16>(static_cast<float>(v));
    return;
  case ATTUNE_DT_BF16:
    if (from == ATTUNE_DT_F64 || from == ATTUNE_DT_I64 ||
        from == ATTUNE_DT_I32) {
      v = roundToFormat(v, 8, -126, 0x1.fep127);
      if (std::isinf(v)) {
        static_cast<bf16 *>(p)[i] =
            bf16{static_cast<uint16_t>(v > 0 ? 0x7f80 : 0xff80)};
        return;
      }
    }
    static_cast<bf16 *>(p)[i] = fromFloat<bf16>(static_cast<float>(v));
    return;
  case ATTUNE_DT_F64:
    static_cast<double *>(p)[i] = v;
    return;
  case ATTUNE_DT_I32:
    static_cast<int32_t *>(p)[i] = truncSat<int32_t>(v);
    return;
  case ATTUNE_DT_I64: {
    // Exact for integer sources (a double would lose low bits of an i64).
    static_cast<int64_t *>(p)[i] = truncSat<int64_t>(v);
    return;
  }
  case ATTUNE_DT_I1:
    static_cast<uint8_t *>(p)[i] = v != 0 ? 1 : 0; // NaN != 0: true
    return;
  case ATTUNE_DT_I8:
    static_cast<int8_t *>(p)[i] = truncSat<int8_t>(v);
    return;
  default:
    static_cast<int16_t *>(p)[i] = truncSat<int16_t>(v);
    return;
  }
}

bool isFloatDt(int64_t dt) {
  return dt == ATTUNE_DT_F32 || dt == ATTUNE_DT_F16 || dt == ATTUNE_DT_BF16 ||
         dt == ATTUNE_DT_F64;
}

int castCheck(const attune_kernel_args *a, int64_t *grid, char *err,
              size_t cap) {
  const char *f = "cast";
  ATTUNE_TRY(checkCounts(a, f, 2, 3, 0, err, cap));
  ATTUNE_TRY(checkNonNegative(a->ints, 1, f, "n", err, cap));
  const int64_t n = a->ints[ATTUNE_CAST_N], from = a->ints[ATTUNE_CAST_FROM],
                to = a->ints[ATTUNE_CAST_TO];
  if (!dtypeBytes(from) || !dtypeBytes(to))
    return formatError(
        err, cap, ATTUNE_KERNEL_INVALID_ARGUMENT,
        "%s: dtype codes %lld -> %lld; expected ATTUNE_DT_* (0..8)", f,
        (long long)from, (long long)to);
  ATTUNE_TRY(checkBuffer(a, 0, f, "x", n, dtypeBytes(from), err, cap));
  ATTUNE_TRY(checkBuffer(a, 1, f, "y", n, dtypeBytes(to), err, cap));
  *grid = (n + kCastBlock - 1) / kCastBlock;
  return ATTUNE_KERNEL_OK;
}

template <typename S, typename D>
void castVec(const S *x, D *y, int64_t b, int64_t e) {
  int64_t i = b;
  for (; i + 8 <= e; i += 8)
    store8(y + i, load8(x + i));
  for (; i < e; ++i)
    y[i] = fromFloat<D>(toFloat(x[i]));
}

int castKernel(const attune_kernel_args *a, attune_kernel_ctx *, int64_t begin,
               int64_t end) {
  const int64_t n = a->ints[ATTUNE_CAST_N], from = a->ints[ATTUNE_CAST_FROM],
                to = a->ints[ATTUNE_CAST_TO];
  const void *x = a->buffers[0];
  void *y = a->buffers[1];
  const int64_t b = begin * kCastBlock, e = std::min(n, end * kCastBlock);
  if (from == to) {
    const int64_t eb = dtypeBytes(from);
    if (e > b)
      std::memcpy(static_cast<uint8_t *>(y) + b * eb,
                  static_cast<const uint8_t *>(x) + b * eb, (e - b) * eb);
    return ATTUNE_KERNEL_OK;
  }
  auto f32 = [](const void *p) { return static_cast<const float *>(p); };
  if (from == ATTUNE_DT_F32 && to == ATTUNE_DT_BF16)
    castVec(f32(x), static_cast<bf16 *>(y), b, e);
  else if (from == ATTUNE_DT_F32 && to == ATTUNE_DT_F16)
    castVec(f32(x), static_cast<f16 *>(y), b, e);
  else if (from == ATTUNE_DT_BF16 && to == ATTUNE_DT_F32)
    castVec(static_cast<const bf16 *>(x), static_cast<float *>(y), b, e);
  else if (from == ATTUNE_DT_F16 && to == ATTUNE_DT_F32)
    castVec(static_cast<const f16 *>(x), static_cast<float *>(y), b, e);
  else if (from == ATTUNE_DT_BF16 && to == ATTUNE_DT_F16)
    castVec(static_cast<const bf16 *>(x), static_cast<f16 *>(y), b, e);
  else if (from == ATTUNE_DT_F16 && to == ATTUNE_DT_BF16)
    castVec(static_cast<const f16 *>(x), static_cast<bf16 *>(y), b, e);
  else if (from == ATTUNE_DT_I64 && !isFloatDt(to)) {
    // Integer to integer straight, without a double in between.
    for (int64_t i = b; i < e; ++i) {
      const int64_t v = static_cast<const int64_t *>(x)[i];
      switch (to) {
      case ATTUNE_DT_I32:
        static_cast<int32_t *>(y)[i] = static_cast<int32_t>(
            std::max<int64_t>(INT32_MIN, std::min<int64_t>(INT32_MAX, v)));
        break;
      default:
        storeAs(y, to, i, static_cast<double>(v), from);
      }
    }
  } else {
    for (int64_t i = b; i < e; ++i)
      storeAs(y, to, i, loadAs(x, from, i), from);
  }
  return ATTUNE_KERNEL_OK;
}

//===----------------------------------------------------------------------===//
// transpose
//===----------------------------------------------------------------------===//

int transposeCheck(const attune_kernel_args *a, int64_t *grid, char *err,
                   size_t cap) {
  const char *f = "transpose";
  ATTUNE_TRY(checkCounts(a, f, 2, -ATTUNE_TR_NUM_FIXED, 0, err, cap));
  const int64_t eb = a->ints[ATTUNE_TR_ELEM], rank = a->ints[ATTUNE_TR_RANK];
  if (eb <= 0 || eb > 64)
    return formatError(err, cap, ATTUNE_KERNEL_INVALID_ARGUMENT,
                       "%s: elem_bytes = %lld; expected 1..64", f,
                       (long long)eb);
  if (rank < 0 || rank > kMaxRank ||
      a->num_ints != ATTUNE_TR_NUM_FIXED + 2 * rank)
    return formatError(
        err, cap, ATTUNE_KERNEL_INVALID_ARGUMENT,
        "%s: rank = %lld with %lld ints; expected rank in [0, %lld] "
        "and 2 + 2 * rank ints",
        f, (long long)rank, (long long)a->num_ints, (long long)kMaxRank);
  const int64_t *dims = a->ints + ATTUNE_TR_NUM_FIXED, *perm = dims + rank;
  ATTUNE_TRY(checkNonNegative(dims, rank, f, "dims", err, cap));
  bool seen[kMaxRank] = {};
  for (int64_t i = 0; i < rank; ++i) {
    if (perm[i] < 0 || perm[i] >= rank || seen[perm[i]])
      return formatError(
          err, cap, ATTUNE_KERNEL_INVALID_ARGUMENT,
          "%s: perm is not a permutation of [0, %lld) (entry %lld is "
          "%lld)",
          f, (long long)rank, (long long)i, (long long)perm[i]);
    seen[perm[i]] = true;
  }
  int64_t n = 1;
  for (int64_t i = 0; i < rank; ++i)
    if (!mulSize(n, dims[i], n))
      return formatError(err, cap, ATTUNE_KERNEL_INVALID_ARGUMENT,
                         "%s: sizes overflow", f);
  ATTUNE_TRY(checkBuffer(a, 0, f, "x", n, eb, err, cap));
  ATTUNE_TRY(checkBuffer(a, 1, f, "y", n, eb, err, cap));
  const int64_t last = rank ? dims[perm[rank - 1]] : 1;
  *grid = last > 0 ? n / last : 0; // one output row per item
  return ATTUNE_KERNEL_OK;
}

template <typename E>
void gatherRow(const E *x, E *y, int64_t n, int64_t stride) {
  for (int64_t i = 0; i < n; ++i)
    y[i] = x[i * stride];
}

int transposeKernel(const attune_kernel_args *a, attune_kernel_ctx *,
                    int64_t begin, int64_t end) {
  const int64_t eb = a->ints[ATTUNE_TR_ELEM], rank = a->ints[ATTUNE_TR_RANK];
  const int64_t *dims = a->ints + ATTUNE_TR_NUM_FIXED, *perm = dims + rank;
  int64_t xs[kMaxRank], oe[kMaxRank], os[kMaxRank];
  int64_t s = 1;
  for (int64_t d = rank; d-- > 0;) {
    xs[d] = s;
    s *= dims[d];
  }
  for (int64_t i = 0; i < rank; ++i) {
    oe[i] = dims[perm[i]];
    os[i] = xs[perm[i]];
  }
  const int64_t last = rank ? oe[rank - 1] : 1, ls = rank ? os[rank - 1] : 1;
  const uint8_t *x = static_cast<const uint8_t *>(a->buffers[0]);
  uint8_t *y = static_cast<uint8_t *>(a->buffers[1]);
  for (int64_t row = begin; row < end; ++row) {
    int64_t off = 0, rem = row;
    for (int64_t d = rank - 1; d-- > 0;) {
      off += (rem % oe[d]) * os[d];
      rem /= oe[d];
    }
    const uint8_t *src = x + off * eb;
    uint8_t *dst = y + row * last * eb;
    if (ls == 1) {
      std::memcpy(dst, src, last * eb);
      continue;
    }
    switch (eb) {
    case 1:
      gatherRow(src, dst, last, ls);
      break;
    case 2:
      gatherRow(reinterpret_cast<const uint16_t *>(src),
                reinterpret_cast<uint16_t *>(dst), last, ls);
      break;
    case 4:
      gatherRow(reinterpret_cast<const uint32_t *>(src),
                reinterpret_cast<uint32_t *>(dst), last, ls);
      break;
    case 8:
      gatherRow(reinterpret_cast<const uint64_t *>(src),
                reinterpret_cast<uint64_t *>(dst), last, ls);
      break;
    default:
      for (int64_t i = 0; i < last; ++i)
        std::memcpy(dst + i * eb, src + i * ls * eb, eb);
    }
  }
  return ATTUNE_KERNEL_OK;
}

//===----------------------------------------------------------------------===//
// concat, slice, copy
//===----------------------------------------------------------------------===//

int concatCheck(const attune_kernel_args *a, int64_t *grid, char *err,
                size_t cap) {
  const char *f = "concat";
  if (a->num_ints < ATTUNE_CAT_NUM_FIXED)
    return formatError(err, cap, ATTUNE_KERNEL_INVALID_ARGUMENT,
                       "%s: expected at least %d ints, got %lld", f,
                       ATTUNE_CAT_NUM_FIXED, (long long)a->num_ints);
  const int64_t eb = a->ints[ATTUNE_CAT_ELEM], n = a->ints[ATTUNE_CAT_N],
                outer = a->ints[ATTUNE_CAT_OUTER],
                inner = a->ints[ATTUNE_CAT_INNER];
  if (n < 1 || n > 4096)
    return formatError(err, cap, ATTUNE_KERNEL_INVALID_ARGUMENT,
                       "%s: n = %lld inputs; expected 1..4096", f,
                       (long long)n);
  ATTUNE_TRY(checkCounts(a, f, n + 1, ATTUNE_CAT_NUM_FIXED + n, 0, err, cap));
  if (eb <= 0 || eb > 64)
    return formatError(err, cap, ATTUNE_KERNEL_INVALID_ARGUMENT,
                       "%s: elem_bytes = %lld; expected 1..64", f,
                       (long long)eb);
  ATTUNE_TRY(checkNonNegative(a->ints + 2, 2, f, "outer inner", err, cap));
  const int64_t *ext = a->ints + ATTUNE_CAT_NUM_FIXED;
  ATTUNE_TRY(checkNonNegative(ext, n, f, "axis extents", err, cap));
  int64_t total = 0;
  char name[32];
  for (int64_t i = 0; i < n; ++i) {
    int64_t t, elems;
    if (__builtin_add_overflow(total, ext[i], &total) ||
        !mulSize(outer, ext[i], t) || !mulSize(t, inner, elems))
      return formatError(err, cap, ATTUNE_KERNEL_INVALID_ARGUMENT,
                         "%s: sizes overflow", f);
    std::snprintf(name, sizeof name, "input %lld", (long long)i);
    if (elems > 0)
      ATTUNE_TRY(checkBuffer(a, i, f, name, elems, eb, err, cap));
  }
  int64_t t, elems;
  if (!mulSize(outer, total, t) || !mulSize(t, inner, elems))
    return formatError(err, cap, ATTUNE_KERNEL_INVALID_ARGUMENT,
                       "%s: sizes overflow", f);
  ATTUNE_TRY(checkBuffer(a, n, f, "y", elems, eb, err, cap));
  *grid = outer * n;
  return ATTUNE_KERNEL_OK;
}

int concatKernel(const attune_kernel_args *a, attune_kernel_ctx *,
                 int64_t begin, int64_t end) {
  const int64_t eb = a->ints[ATTUNE_CAT_ELEM], n = a->ints[ATTUNE_CAT_N],
                inner = a->ints[ATTUNE_CAT_INNER];
  const int64_t *ext = a->ints + ATTUNE_CAT_NUM_FIXED;
  int64_t total = 0;
  for (int64_t i = 0; i < n; ++i)
    total += ext[i];
  uint8_t *y = static_cast<uint8_t *>(a->buffers[n]);
  int64_t o = begin / n, i = begin % n, before = 0;
  for (int64_t j = 0; j < i; ++j)
    before += ext[j];
  for (int64_t item = begin; item < end; ++item) {
    const int64_t bytes = ext[i] * inner * eb;
    if (bytes > 0)
      std::memcpy(y + (o * total + before) * inner * eb,
                  static_cast<const uint8_t *>(a->buffers[i]) + o * bytes,
                  bytes);
    before += ext[i];
    if (++i == n) {
      i = 0;
      before = 0;
      ++o;
    }
  }
  return ATTUNE_KERNEL_OK;
}

int sliceCheck(const attune_kernel_args *a, int64_t *grid, char *err,
               size_t cap) {
  const char *f = "slice";
  ATTUNE_TRY(checkCounts(a, f, 2, 6, 0, err, cap));
  const int64_t eb = a->ints[ATTUNE_SL_ELEM], outer = a->ints[ATTUNE_SL_OUTER],
                n = a->ints[ATTUNE_SL_AXIS], inner = a->ints[ATTUNE_SL_INNER],
                start = a->ints[ATTUNE_SL_START],
                size = a->ints[ATTUNE_SL_SIZE];
  if (eb <= 0 || eb > 64)
    return formatError(err, cap, ATTUNE_KERNEL_INVALID_ARGUMENT,
                       "%s: elem_bytes = %lld; expected 1..64", f,
                       (long long)eb);
  ATTUNE_TRY(checkNonNegative(a->ints + 1, 3, f, "outer axis inner", err, cap));
  if (start < 0 || size < 0 || start > n || size > n - start)
    return formatError(err, cap, ATTUNE_KERNEL_INVALID_ARGUMENT,
                       "%s: [%lld, %lld + %lld) is outside [0, %lld)", f,
                       (long long)start, (long long)start, (long long)size,
                       (long long)n);
  int64_t t, xe, ye;
  if (!mulSize(outer, n, t) || !mulSize(t, inner, xe) ||
      !mulSize(outer, size, t) || !mulSize(t, inner, ye))
    return formatError(err, cap, ATTUNE_KERNEL_INVALID_ARGUMENT,
                       "%s: sizes overflow", f);
  ATTUNE_TRY(checkBuffer(a, 0, f, "x", xe, eb, err, cap));
  ATTUNE_TRY(checkBuffer(a, 1, f, "y", ye, eb, err, cap));
  *grid = outer;
  return ATTUNE_KERNEL_OK;
}

int sliceKernel(const attune_kernel_args *a, attune_kernel_ctx *, int64_t begin,
                int64_t end) {
  const int64_t eb = a->ints[ATTUNE_SL_ELEM], n = a->ints[ATTUNE_SL_AXIS],
                inner = a->ints[ATTUNE_SL_INNER],
                start = a->ints[ATTUNE_SL_START],
                size = a->ints[ATTUNE_SL_SIZE];
  const uint8_t *x = static_cast<const uint8_t *>(a->buffers[0]);
  uint8_t *y = static_cast<uint8_t *>(a->buffers[1]);
  const int64_t bytes = size * inner * eb;
  for (int64_t o = begin; o < end; ++o)
    if (bytes > 0)
      std::memcpy(y + o * bytes, x + (o * n + start) * inner * eb, bytes);
  return ATTUNE_KERNEL_OK;
}

constexpr int64_t kCopyBlock = 1 << 20;

int copyCheck(const attune_kernel_args *a, int64_t *grid, char *err,
              size_t cap) {
  const char *f = "copy";
  ATTUNE_TRY(checkCounts(a, f, 2, 1, 0, err, cap));
  ATTUNE_TRY(checkNonNegative(a->ints, 1, f, "bytes", err, cap));
  const int64_t bytes = a->ints[ATTUNE_COPY_BYTES];
  ATTUNE_TRY(checkBuffer(a, 0, f, "x", bytes, 1, err, cap));
  ATTUNE_TRY(checkBuffer(a, 1, f, "y", bytes, 1, err, cap));
  *grid = (bytes + kCopyBlock - 1) / kCopyBlock;
  return ATTUNE_KERNEL_OK;
}

int copyKernel(const attune_kernel_args *a, attune_kernel_ctx *, int64_t begin,
               int64_t end) {
  const int64_t bytes = a->ints[ATTUNE_COPY_BYTES];
  const int64_t b = begin * kCopyBlock, e = std::min(bytes, end * kCopyBlock);
  if (e > b)
    std::memcpy(static_cast<uint8_t *>(a->buffers[1]) + b,
                static_cast<const uint8_t *>(a->buffers[0]) + b, e - b);
  return ATTUNE_KERNEL_OK;
}

} // namespace
} // namespace attune::cpu

using namespace attune::cpu;

#define ATTUNE_EXPORT_PLAIN(family, impl, check)                               \
  ATTUNE_KEXPORT int attune_cpu_##family(const attune_kernel_args *a,          \
                                         attune_kernel_ctx *c, int64_t b,      \
                                         int64_t e) {                          \
    return impl(a, c, b, e);                                                   \
  }                                                                            \
  ATTUNE_KEXPORT int attune_cpu_##family##_check(                              \
      const attune_kernel_args *a, int64_t *g, char *err, size_t cap) {        \
    return check(a, g, err, cap);                                              \
  }

ATTUNE_EXPORT_PLAIN(cast, castKernel, castCheck)
ATTUNE_EXPORT_PLAIN(transpose, transposeKernel, transposeCheck)
ATTUNE_EXPORT_PLAIN(concat, concatKernel, concatCheck)
ATTUNE_EXPORT_PLAIN(slice, sliceKernel, sliceCheck)
ATTUNE_EXPORT_PLAIN(copy, copyKernel, copyCheck)
