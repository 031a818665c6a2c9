//===- Elementwise.cpp - unary and binary families ------------------------===//
//
// Work item = a block of 4096 output elements. Math in f32 (AVX2 exp/tanh
// polynomials of ElementwiseMath.h; log, erf and pow per lane with libm).
// binary walks the output in runs along its last dim; runs whose operand
// strides are 1 or 0 (broadcast) are vectorized, others gathered.
//
//===----------------------------------------------------------------------===//

#include "ElementwiseMath.h"

namespace attune::cpu {
namespace {

constexpr int64_t kBlock = 4096;

//===----------------------------------------------------------------------===//
// unary
//===----------------------------------------------------------------------===//

enum UnaryKind {
  UN_NEG,
  UN_EXP,
  UN_LOG,
  UN_TANH,
  UN_SQRT,
  UN_RSQRT,
  UN_SIGMOID,
  UN_ABS,
  UN_SILU,
  UN_GELU,
  UN_GELU_TANH,
  UN_RELU,
  UN_COUNT
};

template <typename T>
int unaryCheck(const attune_kernel_args *a, int64_t *grid, char *err,
               size_t cap) {
  const char *f = "unary";
  ATTUNE_TRY(checkCounts(a, f, 2, ATTUNE_UN_NUM_FIXED, 0, err, cap));
  ATTUNE_TRY(checkNonNegative(a->ints, 1, f, "n", err, cap));
  const int64_t n = a->ints[ATTUNE_UN_N], kind = a->ints[ATTUNE_UN_KIND];
  if (kind < 0 || kind >= UN_COUNT)
    return formatError(err, cap, ATTUNE_KERNEL_INVALID_ARGUMENT,
                       "%s: kind = %lld; expected 0..%d (neg exp log tanh sqrt "
                       "rsqrt sigmoid abs silu gelu gelu_tanh relu)",
                       f, (long long)kind, UN_COUNT - 1);
  ATTUNE_TRY(checkBuffer(a, 0, f, "x", n, sizeof(T), err, cap));
  ATTUNE_TRY(checkBuffer(a, 1, f, "y", n, sizeof(T), err, cap));
  *grid = (n + kBlock - 1) / kBlock;
  return ATTUNE_KERNEL_OK;
}

inline __m256 perLane(__m256 v, float (*fn)(float)) {
  alignas(32) float t[8];
  _mm256_store_ps(t, v);
  for (float &x : t)
    x = fn(x);
  return _mm256_load_ps(t);
}

inline __m256 unaryOp(int64_t kind, __m256 v) {
  switch (kind) {
  case UN_NEG:
    return _mm256_xor_ps(v, _mm256_set1_ps(-0.0f));
  case UN_EXP:
    return exp8(v);
  case UN_LOG:
    return perLane(v, [](float x) { return std::log(x); });
  case UN_TANH:
    return tanh8(v);
  case UN_SQRT:
    return _mm256_sqrt_ps(v);
  case UN_RSQRT:
    return _mm256_div_ps(_mm256_set1_ps(1.0f), _mm256_sqrt_ps(v));
  case UN_SIGMOID:
    return sigmoid8(v);
  case UN_ABS:
    return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), v);
  case UN_SILU:
    return silu8(v);
  case UN_GELU:
    return gelu8(v);
  case UN_GELU_TANH:
    return geluTanh8(v);
  default:
    return relu8(v);
  }
}

template <typename T>
int unaryKernel(const attune_kernel_args *a, attune_kernel_ctx *, int64_t begin,
                int64_t end) {
  const int64_t n = a->ints[ATTUNE_UN_N], kind = a->ints[ATTUNE_UN_KIND];
  const T *x = static_cast<const T *>(a->buffers[0]);
  T *y = static_cast<T *>(a->buffers[1]);
  const int64_t e0 = begin * kBlock, e1 = std::min(n, end * kBlock);
  int64_t i = e0;
  for (; i + 8 <= e1; i += 8)
    store8(y + i, unaryOp(kind, load8(x + i)));
  if (i < e1)
    storeN(y + i, unaryOp(kind, loadN(x + i, e1 - i)), e1 - i);
  return ATTUNE_KERNEL_OK;
}

//===----------------------------------------------------------------------===//
// binary
//===----------------------------------------------------------------------===//

enum BinaryKind {
  BIN_ADD,
  BIN_SUB,
  BIN_MUL,
  BIN_DIV,
  BIN_MAX,
  BIN_MIN,
  BIN_POW,
  BIN_COUNT
};

constexpr int64_t kMaxRank = ATTUNE_CPU_MAX_RANK;

template <typename T>
int binaryCheck(const attune_kernel_args *a, int64_t *grid, char *err,
                size_t cap) {
  const char *f = "binary";
  ATTUNE_TRY(checkCounts(a, f, 3, -ATTUNE_BIN_NUM_FIXED, 0, err, cap));
  const int64_t kind = a->ints[ATTUNE_BIN_KIND],
                rank = a->ints[ATTUNE_BIN_RANK];
  if (kind < 0 || kind >= BIN_COUNT)
    return formatError(
        err, cap, ATTUNE_KERNEL_INVALID_ARGUMENT,
        "%s: kind = %lld; expected 0..%d (add sub mul div max min pow)", f,
        (long long)kind, BIN_COUNT - 1);
  if (rank < 0 || rank > kMaxRank ||
      a->num_ints != ATTUNE_BIN_NUM_FIXED + 3 * rank)
    return formatError(
        err, cap, ATTUNE_KERNEL_INVALID_ARGUMENT,
        "%s: rank = %lld with %lld ints; expected rank in [0, %lld] "
        "and 2 + 3 * rank ints",
        f, (long long)rank, (long long)a->num_ints, (long long)kMaxRank);
  const int64_t *dims = a->ints + ATTUNE_BIN_NUM_FIXED;
  ATTUNE_TRY(checkNonNegative(dims, 3 * rank, f, "dims and strides", err, cap));
  int64_t n = 1, maxA = 0, maxB = 0;
  bool ok = true;
  for (int64_t d = 0; ok && d < rank; ++d) {
    ok = mulSize(n, dims[d], n);
    int64_t da, db;
    if (ok && dims[d] > 0)
      ok = mulSize(dims[d] - 1, dims[rank + d], da) &&
           mulSize(dims[d] - 1, dims[2 * rank + d], db) &&
           !__builtin_add_overflow(maxA, da, &maxA) &&
           !__builtin_add_overflow(maxB, db, &maxB);
  }
  if (!ok)
    return formatError(err, cap, ATTUNE_KERNEL_INVALID_ARGUMENT,
                       "%s: sizes overflow", f);
  if (n > 0) {
    ATTUNE_TRY(checkBuffer(a, 0, f, "a", maxA + 1, sizeof(T), err, cap));
    ATTUNE_TRY(checkBuffer(a, 1, f, "b", maxB + 1, sizeof(T), err, cap));
  }
  ATTUNE_TRY(checkBuffer(a, 2, f, "y", n, sizeof(T), err, cap));
  *grid = (n + kBlock - 1) / kBlock;
  return ATTUNE_KERNEL_OK;
}

inline __m256 binaryOp(int64_t kind, __m256 u, __m256 v) {
  switch (kind) {
  case BIN_ADD:
    return _mm256_add_ps(u, v);
  case BIN_SUB:
    return _mm256_sub_ps(u, v);
  case BIN_MUL:
    return _mm256_mul_ps(u, v);
  case BIN_DIV:
    return _mm256_div_ps(u, v);
  case BIN_MAX:
  case BIN_MIN: {
    __m256 r = kind == BIN_MAX ? _mm256_max_ps(u, v) : _mm256_min_ps(u, v);
    __m256 nan = _mm256_cmp_ps(u, v, _CMP_UNORD_Q);
    return _mm256_blendv_ps(r, _mm256_set1_ps(NAN), nan);
  }
  default: {
    alignas(32) float p[8], q[8];
    _mm256_store_ps(p, u);
    _mm256_store_ps(q, v);
    for (int i = 0; i < 8; ++i)
      p[i] = std::pow(p[i], q[i]);
    return _mm256_load_ps(p);
  }
  }
}

template <typename T>
inline __m256 loadStrided(const T *p, int64_t stride, int64_t n) {
  if (stride == 1)
    return n == 8 ? load8(p) : loadN(p, n);
  if (stride == 0)
    return _mm256_set1_ps(toFloat(p[0]));
  alignas(32) float t[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  for (int64_t i = 0; i < n; ++i)
    t[i] = toFloat(p[i * stride]);
  return _mm256_load_ps(t);
}

template <typename T>
int binaryKernel(const attune_kernel_args *a, attune_kernel_ctx *,
                 int64_t begin, int64_t end) {
  const int64_t kind = a->ints[ATTUNE_BIN_KIND],
                rank = a->ints[ATTUNE_BIN_RANK];
  const int64_t *dims = a->ints + ATTUNE_BIN_NUM_FIXED;
  const int64_t *sa = dims + rank, *sb = dims + 2 * rank;
  int64_t n = 1;
  for (int64_t d = 0; d < rank; ++d)
    n *= dims[d];
  const T *A = static_cast<const T *>(a->buffers[0]);
  const T *B = static_cast<const T *>(a->buffers[1]);
  T *y = static_cast<T *>(a->buffers[2]);
  const int64_t inner = rank ? dims[rank - 1] : 1;
  const int64_t ia = rank ? sa[rank - 1] : 0, ib = rank ? sb[rank - 1] : 0;
  const int64_t e1 = std::min(n, end * kBlock);
  for (int64_t e = begin * kBlock; e < e1;) {
    int64_t offA = 0, offB = 0, rem = e;
    for (int64_t d = rank; d-- > 0;) {
      const int64_t idx = rem % dims[d];
      rem /= dims[d];
      offA += idx * sa[d];
      offB += idx * sb[d];
    }
    const int64_t len = std::min(e1 - e, inner - e % inner);
    const T *pa = A + offA, *pb = B + offB;
    T *py = y + e;
    int64_t i = 0;
    for (; i + 8 <= len; i += 8)
      store8(py + i, binaryOp(kind, loadStrided(pa + i * ia, ia, 8),
                              loadStrided(pb + i * ib, ib, 8)));
    if (i < len)
      storeN(py + i,
             binaryOp(kind, loadStrided(pa + i * ia, ia, len - i),
                      loadStrided(pb + i * ib, ib, len - i)),
             len - i);
    e += len;
  }
  return ATTUNE_KERNEL_OK;
}

} // namespace
} // namespace attune::cpu

using namespace attune::cpu;
ATTUNE_EXPORT_TYPED(unary, unaryKernel, unaryCheck)
ATTUNE_EXPORT_TYPED(binary, binaryKernel, binaryCheck)
