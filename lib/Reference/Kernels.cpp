//===- Kernels.cpp - Reference semantics of every attune op ---------------===//
//
// Straightforward loops, written for clarity and for bit-for-bit determinism:
// every accumulation runs in one fixed order, so repeated runs agree exactly.
// Results are built in locals and moved into the output arguments last, so
// an output may alias an input.
//
//===----------------------------------------------------------------------===//

#include "attune/Reference/Kernels.h"
#include "attune/runtime/Philox.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <numeric>

namespace attune::ref {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

/// Rounds to the nearest f32 (RNE), overflowing to infinity. The explicit
/// overflow test keeps the narrowing conversion defined.
static double toF32(double x) {
  if (std::fabs(x) >= 0x1.ffffffp127)
    return std::copysign(kInf, x);
  return static_cast<double>(static_cast<float>(x));
}

namespace {
/// The rounding of one accumulation step: f32 in Native mode for non-f64
/// dtypes, nothing otherwise. Hoisted out of the inner loops as a flag.
struct Acc {
  bool lowp;
  Acc(DType t, Precision p) : lowp(p == Precision::Native && t != DType::F64) {}
  double operator()(double x) const { return lowp ? toF32(x) : x; }
};
} // namespace

static std::string str(const std::vector<int64_t> &shape) {
  return shapeToString(shape);
}

static std::string num(double v) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.9g", v);
  return buf;
}

/// Checks that a tensor's data matches its shape.
static Status checkTensor(const RefTensor &t, const std::string &name) {
  int64_t n = numElements(t.shape);
  if (n < 0)
    return invalidArgument(name + ": shape " + str(t.shape) +
                           " is invalid (negative or overflowing dims)");
  if (n != static_cast<int64_t>(t.data.size()))
    return invalidArgument(name + ": shape " + str(t.shape) + " needs " +
                           std::to_string(n) + " values, got " +
                           std::to_string(t.data.size()));
  return Status::ok();
}

static Status checkRank(const RefTensor &t, const std::string &name,
                        int64_t rank) {
  ATTUNE_RETURN_IF_ERROR(checkTensor(t, name));
  if (t.rank() != rank)
    return invalidArgument(name + ": expected rank " + std::to_string(rank) +
                           ", got shape " + str(t.shape));
  return Status::ok();
}

static Status checkMinRank(const RefTensor &t, const std::string &name,
                           int64_t rank) {
  ATTUNE_RETURN_IF_ERROR(checkTensor(t, name));
  if (t.rank() < rank)
    return invalidArgument(name + ": expected rank >= " + std::to_string(rank) +
                           ", got shape " + str(t.shape));
  return Status::ok();
}

static Status checkFloat(const RefTensor &t, const std::string &name) {
  if (!isFloatDType(t.dtype))
    return invalidArgument(name + ": expected a float dtype, got " +
                           std::string(dtypeName(t.dtype)));
  return Status::ok();
}

static Status checkDim(const RefTensor &t, const std::string &name,
                       int64_t axis, int64_t expected,
                       const std::string &what) {
  if (t.dim(axis) != expected)
    return invalidArgument(name + ": dim " + std::to_string(axis) + " is " +
                           std::to_string(t.dim(axis)) + ", expected " +
                           std::to_string(expected) + " (" + what + ")");
  return Status::ok();
}

/// Reads an integer id; non-integral values are an error.
static Status intValue(const RefTensor &t, int64_t i, const std::string &name,
                       int64_t &out) {
  double v = t.data[i];
  if (!(std::trunc(v) == v) || std::fabs(v) > 0x1p62)
    return invalidArgument(name + ": element " + std::to_string(i) + " is " +
                           num(v) + ", expected an integer");
  out = static_cast<int64_t>(v);
  return Status::ok();
}

/// Multi-index of linear index `i` in `shape`, for messages.
static std::string indexString(int64_t i, const std::vector<int64_t> &shape) {
  std::vector<int64_t> idx(shape.size());
  for (int64_t d = static_cast<int64_t>(shape.size()) - 1; d >= 0; --d) {
    if (shape[d] > 0) {
      idx[d] = i % shape[d];
      i /= shape[d];
    }
  }
  return str(idx);
}

static Status normalizeAxis(int64_t axis, int64_t rank, const std::string &name,
                            int64_t &out) {
  if (axis < -rank || axis >= rank)
    return invalidArgument(name + ": axis " + std::to_string(axis) +
                           " is out of range for rank " + std::to_string(rank) +
                           " (expected [" + std::to_string(-rank) + ", " +
                           std::to_string(rank) + "))");
  out = axis < 0 ? axis + rank : axis;
  return Status::ok();
}

static int64_t product(const std::vector<int64_t> &s, size_t from, size_t to) {
  int64_t n = 1;
  for (size_t i = from; i < to; ++i)
    n *= s[i];
  return n;
}

//===----------------------------------------------------------------------===//
// Attention internals
//===----------------------------------------------------------------------===//

namespace {
struct MaskCtx {
  int64_t lq, lk, hq;
  const RefTensor *qDoc, *kDoc;
};
} // namespace

static bool maskAllows(const MaskTerm &m, const MaskCtx &c, int64_t b,
                       int64_t h, int64_t q, int64_t k) {
  using K = MaskTerm::Kind;
  switch (m.kind) {
  case K::Causal: {
    int64_t qa = q + (m.bottomRight ? c.lk - c.lq : 0);
    return k <= qa;
  }
  case K::SlidingWindow: {
    int64_t qa = q + (m.bottomRight ? c.lk - c.lq : 0);
    // Written as differences so that huge left/right cannot overflow.
    return qa - k <= m.left && k - qa <= m.right;
  }
  case K::Global:
    return std::find(m.tokens.begin(), m.tokens.end(), q) != m.tokens.end() ||
           std::find(m.tokens.begin(), m.tokens.end(), k) != m.tokens.end();
  case K::BlockSparse: {
    size_t r = m.layoutShape.size();
    int64_t nqb = m.layoutShape[r - 2], nkb = m.layoutShape[r - 1];
    int64_t hh = r == 3 ? h : 0;
    return m.layout[(hh * nqb + q / m.blockQ) * nkb + k / m.blockK] != 0;
  }
  case K::Strided:
    return (q - k) % m.stride == 0;
  case K::Dilated: {
    if (q / m.segment != k / m.segment)
      return false;
    int64_t o = m.offset ? *m.offset : h % m.rate;
    return (q % m.segment) % m.rate == o && (k % m.segment) % m.rate == o;
  }
  case K::Document:
    return c.qDoc->data[b * c.lq + q] == c.kDoc->data[b * c.lk + k];
  case K::PrefixLM:
    return k < m.prefix || k <= q;
  case K::And:
    for (const MaskTerm &ch : m.children)
      if (!maskAllows(ch, c, b, h, q, k))
        return false;
    return true;
  case K::Or:
    for (const MaskTerm &ch : m.children)
      if (maskAllows(ch, c, b, h, q, k))
        return true;
    return false;
  }
  return false;
}

static int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

/// max() that lets NaN through: std::max(-inf, NaN) is -inf, which would
/// make a row of NaN scores look fully masked and hide the NaN.
static double maxOrNaN(double a, double b) {
  return std::isnan(a) || std::isnan(b) ? kNaN : std::max(a, b);
}

static Status validateMask(const MaskTerm &m, const MaskCtx &c,
                           const std::string &path, int depth,
                           bool &needsDocs) {
  using K = MaskTerm::Kind;
  if (depth > 64)
    return invalidArgument(path + ": mask nesting deeper than 64");
  auto bad = [&](const std::string &what) {
    return invalidArgument(path + ": " + what);
  };
  switch (m.kind) {
  case K::Causal:
    return Status::ok();
  case K::SlidingWindow:
    if (m.left < 0 || m.right < 0)
      return bad("sliding window left = " + std::to_string(m.left) +
                 ", right = " + std::to_string(m.right) +
                 "; expected both >= 0");
    return Status::ok();
  case K::Global: {
    int64_t lmax = std::max(c.lq, c.lk);
    for (int64_t t : m.tokens)
      if (t < 0 || t >= lmax)
        return outOfRange(path + ": global token " + std::to_string(t) +
                          " is outside [0, " + std::to_string(lmax) + ")");
    return Status::ok();
  }
  case K::BlockSparse: {
    if (m.blockQ <= 0 || m.blockK <= 0)
      return bad("block sizes blockQ = " + std::to_string(m.blockQ) +
                 ", blockK = " + std::to_string(m.blockK) +
                 "; expected both > 0");
    size_t r = m.layoutShape.size();
    if (r != 2 && r != 3)
      return bad("layout shape " + str(m.layoutShape) +
                 "; expected [nQB, nKB] or [H, nQB, nKB]");
    int64_t n = numElements(m.layoutShape);
    if (n < 0 || static_cast<size_t>(n) != m.layout.size())
      return bad("layout shape " + str(m.layoutShape) + " needs " +
                 std::to_string(n) + " entries, layout has " +
                 std::to_string(m.layout.size()));
    int64_t nqb = ceilDiv(c.lq, m.blockQ), nkb = ceilDiv(c.lk, m.blockK);
    if (r == 3 && m.layoutShape[0] != c.hq)
      return bad("layout shape " + str(m.layoutShape) + " has " +
                 std::to_string(m.layoutShape[0]) +
                 " heads; expected Hq = " + std::to_string(c.hq));
    if (m.layoutShape[r - 2] < nqb || m.layoutShape[r - 1] < nkb)
      return bad("layout shape " + str(m.layoutShape) +
                 " does not cover ceil(Lq/blockQ) x ceil(Lk/blockK) = " +
                 std::to_string(nqb) + " x " + std::to_string(nkb) + " blocks");
    return Status::ok();
  }
  case K::Strided:
    if (m.stride <= 0)
      return bad("stride = " + std::to_string(m.stride) + "; expected > 0");
    return Status::ok();
  case K::Dilated:
    if (m.segment <= 0 || m.rate <= 0 || m.segment % m.rate != 0)
      return bad("dilated segment = " + std::to_string(m.segment) +
                 ", rate = " + std::to_string(m.rate) +
                 "; expected both > 0 with rate dividing segment");
    if (m.offset && (*m.offset < 0 || *m.offset >= m.rate))
      return bad("dilated offset = " + std::to_string(*m.offset) +
                 "; expected in [0, rate = " + std::to_string(m.rate) + ")");
    return Status::ok();
  case K::Document:
    needsDocs = true;
    return Status::ok();
  case K::PrefixLM:
    if (m.prefix < 0)
      return bad("prefix = " + std::to_string(m.prefix) + "; expected >= 0");
    return Status::ok();
  case K::And:
  case K::Or:
    for (size_t i = 0; i < m.children.size(); ++i)
      ATTUNE_RETURN_IF_ERROR(validateMask(
          m.children[i], c, path + ".children[" + std::to_string(i) + "]",
          depth + 1, needsDocs));
    return Status::ok();
  }
  return bad("unknown mask kind");
}

/// The attention scale: the given one, else 1/sqrt(D); it must be finite.
static Status resolveScale(std::optional<double> scale, int64_t D,
                           const std::string &who, double &out) {
  if (!scale && D <= 0)
    return invalidArgument(who + ": head dim D = 0 has no default scale "
                                 "1/sqrt(D); pass a scale");
  out = scale ? *scale : 1.0 / std::sqrt(static_cast<double>(D));
  if (!std::isfinite(out))
    return invalidArgument(who + ": scale = " + num(out) +
                           "; expected a finite value");
  return Status::ok();
}

/// Softmax over one row's allowed scores and the weighted sum of their value
/// rows. Two passes: the maximum, then the sum. `keys` index rows of
/// `vBase` (stride dv).
static void finishRow(const std::vector<int64_t> &keys,
                      const std::vector<double> &scores, const double *vBase,
                      int64_t dv, DType dtype, const Acc &acc, Precision p,
                      std::vector<double> &accum, double *outRow,
                      double &lseOut) {
  double m = -kInf;
  for (double s : scores)
    m = maxOrNaN(m, s);
  if (std::isnan(m)) {
    std::fill(outRow, outRow + dv, kNaN);
    lseOut = kNaN;
    return;
  }
  if (keys.empty() || m == -kInf) {
    std::fill(outRow, outRow + dv, 0.0);
    lseOut = -kInf;
    return;
  }
  double l = 0;
  for (double s : scores)
    l = acc(l + acc(std::exp(acc(s - m))));
  double lse = acc(m + acc(std::log(l)));
  accum.assign(dv, 0.0);
  for (size_t j = 0; j < keys.size(); ++j) {
    double pj = std::exp(acc(scores[j] - lse));
    if (acc.lowp)
      pj = roundToDType(toF32(pj), dtype);
    const double *vr = vBase + keys[j] * dv;
    if (acc.lowp) {
      for (int64_t d = 0; d < dv; ++d)
        accum[d] = toF32(accum[d] + toF32(pj * vr[d]));
    } else {
      for (int64_t d = 0; d < dv; ++d)
        accum[d] += pj * vr[d];
    }
  }
  for (int64_t d = 0; d < dv; ++d)
    outRow[d] = roundOut(accum[d], dtype, p);
  lseOut = roundOut(lse, DType::F32, p);
}

static double dot(const double *a, const double *b, int64_t n, const Acc &acc) {
  double s = 0;
  if (acc.lowp) {
    for (int64_t i = 0; i < n; ++i)
      s = toF32(s + toF32(a[i] * b[i]));
  } else {
    for (int64_t i = 0; i < n; ++i)
      s += a[i] * b[i];
  }
  return s;
}

/// NumPy broadcasting of two shapes.
static Status broadcastShapes(const std::vector<int64_t> &a,
                              const std::vector<int64_t> &b,
                              const std::string &what,
                              std::vector<int64_t> &out) {
  size_t r = std::max(a.size(), b.size());
  out.assign(r, 1);
  for (size_t i = 0; i < r; ++i) {
    int64_t da = i < r - a.size() ? 1 : a[i - (r - a.size())];
    int64_t db = i < r - b.size() ? 1 : b[i - (r - b.size())];
    if (da != db && da != 1 && db != 1)
      return invalidArgument(what + ": shapes " + str(a) + " and " + str(b) +
                             " do not broadcast (dim " + std::to_string(i) +
                             ": " + std::to_string(da) + " vs " +
                             std::to_string(db) + ")");
    out[i] = da == 1 ? db : da;
  }
  return Status::ok();
}

/// Strides of `shape` aligned to an output of rank `rank`, 0 on broadcast
/// dims.
static std::vector<int64_t>
broadcastStrides(const std::vector<int64_t> &shape,
                 const std::vector<int64_t> &outShape) {
  size_t r = outShape.size();
  std::vector<int64_t> strides(r, 0);
  int64_t s = 1;
  for (size_t i = shape.size(); i-- > 0;) {
    size_t o = i + (r - shape.size());
    strides[o] = (shape[i] == 1 && outShape[o] != 1) ? 0 : s;
    s *= shape[i];
  }
  return strides;
}

/// Calls f(outIndex, offsetA, offsetB) over a row-major walk of `outShape`.
template <typename F>
static void forEachBroadcast(const std::vector<int64_t> &outShape,
                             const std::vector<int64_t> &sa,
                             const std::vector<int64_t> &sb, F f) {
  int64_t n = numElements(outShape);
  size_t r = outShape.size();
  std::vector<int64_t> idx(r, 0);
  int64_t oa = 0, ob = 0;
  for (int64_t i = 0; i < n; ++i) {
    f(i, oa, ob);
    for (size_t d = r; d-- > 0;) {
      if (++idx[d] < outShape[d]) {
        oa += sa[d];
        ob += sb[d];
        break;
      }
      oa -= sa[d] * (outShape[d] - 1);
      ob -= sb[d] * (outShape[d] - 1);
      idx[d] = 0;
    }
  }
}

//===----------------------------------------------------------------------===//
// RefTensor and rounding
//===----------------------------------------------------------------------===//

RefTensor::RefTensor(DType dtype, std::vector<int64_t> shape)
    : dtype(dtype), shape(std::move(shape)) {
  int64_t n = attune::numElements(this->shape);
  data.assign(n > 0 ? static_cast<size_t>(n) : 0, 0.0);
}

RefTensor RefTensor::fromHost(const HostTensor &t) {
  RefTensor r(t.dtype(), t.shape());
  for (int64_t i = 0, n = std::min<int64_t>(r.numElements(), t.numElements());
       i < n; ++i)
    r.data[i] = t.getDouble(i);
  return r;
}

HostTensor RefTensor::toHost() const {
  HostTensor t(dtype, shape);
  for (int64_t i = 0, n = std::min<int64_t>(numElements(), t.numElements());
       i < n; ++i)
    t.setDouble(i, data[i]);
  return t;
}

double roundOut(double x, DType t, Precision p) {
  return p == Precision::F64 ? x : roundToDType(x, t);
}

double roundAcc(double x, DType t, Precision p) {
  return (p == Precision::Native && t != DType::F64) ? toF32(x) : x;
}

//===----------------------------------------------------------------------===//
// Attention
//===----------------------------------------------------------------------===//

std::vector<double> alibiSlopes(int64_t numHeads) {
  if (numHeads <= 0)
    return {};
  auto pow2Slopes = [](int64_t n) {
    std::vector<double> s(n);
    for (int64_t i = 0; i < n; ++i)
      s[i] =
          std::exp2(-8.0 * static_cast<double>(i + 1) / static_cast<double>(n));
    return s;
  };
  int64_t n = 1;
  while (n * 2 <= numHeads)
    n *= 2;
  std::vector<double> slopes = pow2Slopes(n);
  if (n == numHeads)
    return slopes;
  std::vector<double> extra = pow2Slopes(2 * n);
  for (int64_t i = 0; static_cast<int64_t>(slopes.size()) < numHeads; i += 2)
    slopes.push_back(extra[i]);
  return slopes;
}

Status attention(const RefTensor &q, const RefTensor &k, const RefTensor &v,
                 const AttentionSpec &spec, Precision p, RefTensor &out,
                 RefTensor &lse) {
  ATTUNE_RETURN_IF_ERROR(checkRank(q, "attention q", 4));
  ATTUNE_RETURN_IF_ERROR(checkRank(k, "attention k", 4));
  ATTUNE_RETURN_IF_ERROR(checkRank(v, "attention v", 4));
  ATTUNE_RETURN_IF_ERROR(checkFloat(q, "attention q"));
  if (k.dtype != q.dtype || v.dtype != q.dtype)
    return invalidArgument("attention: q, k and v must share a dtype, got " +
                           std::string(dtypeName(q.dtype)) + ", " +
                           std::string(dtypeName(k.dtype)) + ", " +
                           std::string(dtypeName(v.dtype)));
  const int64_t B = q.dim(0), hq = q.dim(1), lq = q.dim(2), D = q.dim(3);
  const int64_t hkv = k.dim(1), lk = k.dim(2), dv = v.dim(3);
  ATTUNE_RETURN_IF_ERROR(checkDim(k, "attention k", 0, B, "batch of q"));
  ATTUNE_RETURN_IF_ERROR(checkDim(v, "attention v", 0, B, "batch of q"));
  ATTUNE_RETURN_IF_ERROR(checkDim(k, "attention k", 3, D, "head dim of q"));
  ATTUNE_RETURN_IF_ERROR(checkDim(v, "attention v", 1, hkv, "heads of k"));
  ATTUNE_RETURN_IF_ERROR(checkDim(v, "attention v", 2, lk, "length of k"));
  if (hkv <= 0 || hq % hkv != 0)
    return invalidArgument("attention: query heads Hq = " + std::to_string(hq) +
                           " must be a multiple of kv "
                           "heads Hkv = " +
                           std::to_string(hkv) +
                           " (expected Hkv >= 1 dividing Hq)");
  double scale0;
  ATTUNE_RETURN_IF_ERROR(resolveScale(spec.scale, D, "attention", scale0));

  MaskCtx ctx{lq, lk, hq, spec.qDocIds, spec.kvDocIds};
  if (spec.mask) {
    bool needsDocs = false;
    ATTUNE_RETURN_IF_ERROR(
        validateMask(*spec.mask, ctx, "attention mask", 0, needsDocs));
    if (needsDocs) {
      if (!spec.qDocIds || !spec.kvDocIds)
        return invalidArgument(
            "attention: a Document mask needs qDocIds "
            "[B, Lq] and kvDocIds [B, Lk]; " +
            std::string(!spec.qDocIds ? "qDocIds" : "kvDocIds") +
            " is missing");
      ATTUNE_RETURN_IF_ERROR(checkRank(*spec.qDocIds, "attention qDocIds", 2));
      ATTUNE_RETURN_IF_ERROR(
          checkRank(*spec.kvDocIds, "attention kvDocIds", 2));
      if (spec.qDocIds->shape != std::vector<int64_t>{B, lq})
        return invalidArgument("attention qDocIds: shape " +
                               str(spec.qDocIds->shape) +
                               ", expected [B, Lq] = " + str({B, lq}));
      if (spec.kvDocIds->shape != std::vector<int64_t>{B, lk})
        return invalidArgument("attention kvDocIds: shape " +
                               str(spec.kvDocIds->shape) +
                               ", expected [B, Lk] = " + str({B, lk}));
    }
  }

  // Per-head ALiBi slopes, resolved once.
  std::vector<std::vector<double>> alibi(spec.scoreMods.size());
  for (size_t i = 0; i < spec.scoreMods.size(); ++i) {
    const ScoreMod &mod = spec.scoreMods[i];
    std::string where = "attention scoreMods[" + std::to_string(i) + "]";
    if (mod.kind == ScoreMod::Kind::Alibi) {
      if (mod.slopes.empty()) {
        alibi[i] = alibiSlopes(hq);
      } else if (static_cast<int64_t>(mod.slopes.size()) != hq) {
        return invalidArgument(where + ": " +
                               std::to_string(mod.slopes.size()) +
                               " ALiBi slopes, expected one per query head (" +
                               std::to_string(hq) + ")");
      } else {
        alibi[i] = mod.slopes;
      }
      for (double s : alibi[i])
        if (!std::isfinite(s))
          return invalidArgument(where + ": ALiBi slope " + num(s) +
                                 " is not finite");
    } else if (mod.kind == ScoreMod::Kind::Softcap) {
      if (!(mod.cap > 0) || !std::isfinite(mod.cap))
        return invalidArgument(where + ": softcap cap = " + num(mod.cap) +
                               "; expected a finite value > 0");
    } else {
      return invalidArgument(where + ": unknown score mod kind");
    }
  }

  const DType dt = q.dtype;
  const Acc acc(dt, p);
  const double scale = acc(scale0);
  for (auto &sl : alibi)
    for (double &s : sl)
      s = acc(s);

  RefTensor o(dt, {B, hq, lq, dv});
  RefTensor l(DType::F32, {B, hq, lq});
  const int64_t group = hkv > 0 ? hq / hkv : 1;
  std::vector<int64_t> keys;
  std::vector<double> scores, accum;
  keys.reserve(lk);
  scores.reserve(lk);
  for (int64_t b = 0; b < B; ++b) {
    for (int64_t h = 0; h < hq; ++h) {
      const int64_t kvh = h / group;
      const double *kBase = k.data.data() + ((b * hkv + kvh) * lk) * D;
      const double *vBase = v.data.data() + ((b * hkv + kvh) * lk) * dv;
      for (int64_t i = 0; i < lq; ++i) {
        const double *qRow = q.data.data() + ((b * hq + h) * lq + i) * D;
        keys.clear();
        scores.clear();
        for (int64_t j = 0; j < lk; ++j) {
          if (spec.mask && !maskAllows(*spec.mask, ctx, b, h, i, j))
            continue;
          if (spec.maskFn) {
            bool allowed = false;
            ATTUNE_RETURN_IF_ERROR(spec.maskFn(b, h, i, j, allowed));
            if (!allowed)
              continue;
          }
          double s = acc(scale * dot(qRow, kBase + j * D, D, acc));
          for (size_t m = 0; m < spec.scoreMods.size(); ++m) {
            const ScoreMod &mod = spec.scoreMods[m];
            if (mod.kind == ScoreMod::Kind::Alibi) {
              double dist = static_cast<double>(std::llabs(i + lk - lq - j));
              s = acc(s - acc(alibi[m][h] * dist));
            } else {
              s = acc(mod.cap * acc(std::tanh(acc(s / mod.cap))));
            }
          }
          if (spec.scoreFn) {
            double r = s;
            ATTUNE_RETURN_IF_ERROR(spec.scoreFn(s, b, h, i, j, r));
            s = acc(r);
          }
          keys.push_back(j);
          scores.push_back(s);
        }
        finishRow(keys, scores, vBase, dv, dt, acc, p, accum,
                  o.data.data() + ((b * hq + h) * lq + i) * dv,
                  l.data[(b * hq + h) * lq + i]);
      }
    }
  }
  out = std::move(o);
  lse = std::move(l);
  return Status::ok();
}

Status combineByLse(const std::vector<RefTensor> &outs,
                    const std::vector<RefTensor> &lses, Precision p,
                    RefTensor &out, RefTensor &lse) {
  if (outs.empty())
    return invalidArgument("combineByLse: no partial results; expected >= 1");
  if (outs.size() != lses.size())
    return invalidArgument("combineByLse: " + std::to_string(outs.size()) +
                           " outputs but " + std::to_string(lses.size()) +
                           " lse tensors; expected equal counts");
  for (size_t i = 0; i < outs.size(); ++i) {
    std::string oi = "combineByLse outs[" + std::to_string(i) + "]";
    std::string li = "combineByLse lses[" + std::to_string(i) + "]";
    ATTUNE_RETURN_IF_ERROR(checkMinRank(outs[i], oi, 1));
    ATTUNE_RETURN_IF_ERROR(checkTensor(lses[i], li));
    if (outs[i].shape != outs[0].shape || outs[i].dtype != outs[0].dtype)
      return invalidArgument(oi + ": shape " + str(outs[i].shape) + " " +
                             std::string(dtypeName(outs[i].dtype)) +
                             ", expected " + str(outs[0].shape) + " " +
                             std::string(dtypeName(outs[0].dtype)) +
                             " like outs[0]");
    std::vector<int64_t> want(outs[0].shape.begin(), outs[0].shape.end() - 1);
    if (lses[i].shape != want)
      return invalidArgument(li + ": shape " + str(lses[i].shape) +
                             ", expected " + str(want) +
                             " (the outputs' shape without the last dim)");
  }
  const DType dt = outs[0].dtype;
  const Acc acc(dt, p);
  const int64_t dv = outs[0].shape.back();
  const int64_t rows = lses[0].numElements();
  const size_t n = outs.size();
  RefTensor o(dt, outs[0].shape);
  RefTensor l(DType::F32, lses[0].shape);
  std::vector<double> accum(dv);
  for (int64_t r = 0; r < rows; ++r) {
    double m = -kInf;
    for (size_t i = 0; i < n; ++i)
      m = maxOrNaN(m, lses[i].data[r]);
    if (std::isnan(m)) {
      std::fill(o.data.begin() + r * dv, o.data.begin() + (r + 1) * dv, kNaN);
      l.data[r] = kNaN;
      continue;
    }
    if (m == -kInf) {
      l.data[r] = -kInf; // o's row is already zero
      continue;
    }
    double sum = 0;
    for (size_t i = 0; i < n; ++i)
      sum = acc(sum + acc(std::exp(acc(lses[i].data[r] - m))));
    double total = acc(m + acc(std::log(sum)));
    std::fill(accum.begin(), accum.end(), 0.0);
    for (size_t i = 0; i < n; ++i) {
      if (lses[i].data[r] == -kInf)
        continue; // weight 0; also keeps an all-zero row from adding 0 * NaN
      double w = acc(std::exp(acc(lses[i].data[r] - total)));
      const double *src = outs[i].data.data() + r * dv;
      for (int64_t d = 0; d < dv; ++d)
        accum[d] = acc(accum[d] + acc(w * src[d]));
    }
    for (int64_t d = 0; d < dv; ++d)
      o.data[r * dv + d] = roundOut(accum[d], dt, p);
    l.data[r] = roundOut(total, DType::F32, p);
  }
  out = std::move(o);
  lse = std::move(l);
  return Status::ok();
}

Status dilatedAttention(const RefTensor &q, const RefTensor &k,
                        const RefTensor &v,
                        const std::vector<DilatedBranch> &branches, bool causal,
                        std::optional<double> scale, Precision p,
                        RefTensor &out, RefTensor &lse) {
  if (branches.empty())
    return invalidArgument("dilatedAttention: no branches; expected >= 1 "
                           "(segment, rate) pair");
  for (size_t i = 0; i < branches.size(); ++i) {
    const DilatedBranch &br = branches[i];
    if (br.segment <= 0 || br.rate <= 0 || br.segment % br.rate != 0)
      return invalidArgument("dilatedAttention branches[" + std::to_string(i) +
                             "]: segment = " + std::to_string(br.segment) +
                             ", rate = " + std::to_string(br.rate) +
                             "; expected both > 0 with rate dividing segment");
  }
  std::vector<RefTensor> outs(branches.size()), lses(branches.size());
  for (size_t i = 0; i < branches.size(); ++i) {
    MaskTerm dil;
    dil.kind = MaskTerm::Kind::Dilated;
    dil.segment = branches[i].segment;
    dil.rate = branches[i].rate; // offset absent: h % rate
    AttentionSpec spec;
    spec.scale = scale;
    if (causal) {
      MaskTerm both;
      both.kind = MaskTerm::Kind::And;
      MaskTerm c;
      c.kind = MaskTerm::Kind::Causal;
      both.children = {dil, c};
      spec.mask = both;
    } else {
      spec.mask = dil;
    }
    ATTUNE_RETURN_IF_ERROR(attention(q, k, v, spec, p, outs[i], lses[i]));
  }
  return combineByLse(outs, lses, p, out, lse);
}

Status lshAttention(const RefTensor &qk, const RefTensor &v,
                    const RefTensor *rotations, const LshSpec &spec,
                    Precision p, RefTensor &out, RefTensor &lse) {
  ATTUNE_RETURN_IF_ERROR(checkRank(qk, "lshAttention qk", 4));
  ATTUNE_RETURN_IF_ERROR(checkRank(v, "lshAttention v", 4));
  ATTUNE_RETURN_IF_ERROR(checkFloat(qk, "lshAttention qk"));
  if (v.dtype != qk.dtype)
    return invalidArgument("lshAttention: qk and v must share a dtype, got " +
                           std::string(dtypeName(qk.dtype)) + " and " +
                           std::string(dtypeName(v.dtype)));
  const int64_t B = qk.dim(0), H = qk.dim(1), L = qk.dim(2), D = qk.dim(3);
  const int64_t dv = v.dim(3);
  ATTUNE_RETURN_IF_ERROR(checkDim(v, "lshAttention v", 0, B, "batch of qk"));
  ATTUNE_RETURN_IF_ERROR(checkDim(v, "lshAttention v", 1, H, "heads of qk"));
  ATTUNE_RETURN_IF_ERROR(checkDim(v, "lshAttention v", 2, L, "length of qk"));
  const int64_t nb = spec.numBuckets;
  if (nb < 1 || (nb != 1 && nb % 2 != 0))
    return invalidArgument("lshAttention: numBuckets = " + std::to_string(nb) +
                           "; expected 1 or an even number >= 2");
  if (spec.numRounds < 1)
    return invalidArgument("lshAttention: numRounds = " +
                           std::to_string(spec.numRounds) + "; expected >= 1");
  if (spec.chunkSize < 1)
    return invalidArgument("lshAttention: chunkSize = " +
                           std::to_string(spec.chunkSize) + "; expected >= 1");
  // The same bounds as the op verifier: far above what Reformer uses (a few
  // thousand buckets, at most 16 rounds), low enough that the rotations and
  // per-round partial results always fit in memory.
  if (nb > kMaxLshBuckets)
    return invalidArgument("lshAttention: numBuckets = " + std::to_string(nb) +
                           "; expected at most " +
                           std::to_string(kMaxLshBuckets));
  if (spec.numRounds > kMaxLshRounds)
    return invalidArgument(
        "lshAttention: numRounds = " + std::to_string(spec.numRounds) +
        "; expected at most " + std::to_string(kMaxLshRounds));
  double scale0;
  ATTUNE_RETURN_IF_ERROR(resolveScale(spec.scale, D, "lshAttention", scale0));
  const int64_t half = nb / 2, rounds = spec.numRounds;
  if (rotations) {
    ATTUNE_RETURN_IF_ERROR(checkTensor(*rotations, "lshAttention rotations"));
    std::vector<int64_t> want{rounds, D, half};
    if (rotations->shape != want)
      return invalidArgument(
          "lshAttention rotations: shape " + str(rotations->shape) +
          ", expected [numRounds, D, numBuckets/2] = " + str(want));
  }
  // R[r][d][j], drawn once: every batch and head hashes with the same
  // rotations.
  std::vector<double> rot(static_cast<size_t>(rounds * D * half));
  for (int64_t r = 0; r < rounds; ++r)
    for (int64_t i = 0; i < D * half; ++i)
      rot[r * D * half + i] =
          rotations ? rotations->data[r * D * half + i]
                    : philoxNormal(spec.seed, static_cast<uint32_t>(r),
                                   static_cast<uint64_t>(i));

  const DType dt = qk.dtype;
  const Acc acc(dt, p);
  const double scale = acc(scale0);
  std::vector<RefTensor> outs(rounds, RefTensor(dt, {B, H, L, dv}));
  std::vector<RefTensor> lses(rounds, RefTensor(DType::F32, {B, H, L}));
  const int64_t numChunks = L > 0 ? ceilDiv(L, spec.chunkSize) : 0;
  std::vector<double> keyRows(static_cast<size_t>(L * D));
  std::vector<int64_t> bucket(L), order(L), rankOf(L), keys;
  std::vector<double> proj(half), scores, accum;
  for (int64_t b = 0; b < B; ++b) {
    for (int64_t h = 0; h < H; ++h) {
      const double *x = qk.data.data() + ((b * H + h) * L) * D;
      const double *vBase = v.data.data() + ((b * H + h) * L) * dv;
      // Keys: the unit-norm queries (a zero vector stays zero).
      for (int64_t i = 0; i < L; ++i) {
        double norm = acc(std::sqrt(dot(x + i * D, x + i * D, D, acc)));
        for (int64_t d = 0; d < D; ++d)
          keyRows[i * D + d] =
              norm == 0 ? 0.0 : roundOut(acc(x[i * D + d] / norm), dt, p);
      }
      for (int64_t r = 0; r < rounds; ++r) {
        // Buckets, in f64 in both precisions: argmax of [xR, -xR].
        const double *R = rot.data() + r * D * half;
        for (int64_t i = 0; i < L; ++i) {
          bucket[i] = 0;
          if (nb == 1)
            continue;
          std::fill(proj.begin(), proj.end(), 0.0);
          for (int64_t d = 0; d < D; ++d)
            for (int64_t j = 0; j < half; ++j)
              proj[j] += x[i * D + d] * R[d * half + j];
          double best = -kInf;
          for (int64_t j = 0; j < nb; ++j) {
            double c = j < half ? proj[j] : -proj[j - half];
            if (c > best) {
              best = c;
              bucket[i] = j;
            }
          }
        }
        std::iota(order.begin(), order.end(), 0);
        std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t c) {
          return bucket[a] < bucket[c];
        });
        for (int64_t s = 0; s < L; ++s)
          rankOf[order[s]] = s;
        for (int64_t i = 0; i < L; ++i) {
          int64_t c = rankOf[i] / spec.chunkSize;
          int64_t prev = c == 0 ? numChunks - 1 : c - 1;
          keys.clear();
          auto addChunk = [&](int64_t chunk) {
            int64_t lo = chunk * spec.chunkSize;
            int64_t hi = std::min(L, lo + spec.chunkSize);
            for (int64_t s = lo; s < hi; ++s)
              if (!spec.causal || order[s] <= i)
                keys.push_back(order[s]);
          };
          addChunk(c);
          if (prev != c)
            addChunk(prev);
          // Ascending positions: the same summation order as dense
          // attention.
          std::sort(keys.begin(), keys.end());
          if (keys.size() > 1)
            keys.erase(std::remove(keys.begin(), keys.end(), i), keys.end());
          scores.resize(keys.size());
          for (size_t j = 0; j < keys.size(); ++j)
            scores[j] = acc(
                scale * dot(x + i * D, keyRows.data() + keys[j] * D, D, acc));
          finishRow(keys, scores, vBase, dv, dt, acc, p, accum,
                    outs[r].data.data() + ((b * H + h) * L + i) * dv,
                    lses[r].data[(b * H + h) * L + i]);
        }
      }
    }
  }
  return combineByLse(outs, lses, p, out, lse);
}

//===----------------------------------------------------------------------===//
// Norms, position encodings, projections
//===----------------------------------------------------------------------===//

static Status checkVector(const RefTensor *t, const std::string &name,
                          int64_t n) {
  if (!t)
    return Status::ok();
  ATTUNE_RETURN_IF_ERROR(checkTensor(*t, name));
  if (t->shape != std::vector<int64_t>{n})
    return invalidArgument(name + ": shape " + str(t->shape) + ", expected [" +
                           std::to_string(n) + "]");
  return Status::ok();
}

static Status checkEps(double eps, const std::string &name) {
  if (!(eps >= 0) || !std::isfinite(eps))
    return invalidArgument(name + ": eps = " + num(eps) +
                           "; expected a finite value >= 0");
  return Status::ok();
}

Status rmsNorm(const RefTensor &x, const RefTensor *weight, double eps,
               Precision p, RefTensor &y) {
  ATTUNE_RETURN_IF_ERROR(checkMinRank(x, "rmsNorm x", 1));
  const int64_t D = x.dim(-1);
  ATTUNE_RETURN_IF_ERROR(checkVector(weight, "rmsNorm weight", D));
  ATTUNE_RETURN_IF_ERROR(checkEps(eps, "rmsNorm"));
  const Acc acc(x.dtype, p);
  const double e = acc(eps);
  RefTensor r(x.dtype, x.shape);
  const int64_t rows = D > 0 ? x.numElements() / D : 0;
  for (int64_t row = 0; row < rows; ++row) {
    const double *xr = x.data.data() + row * D;
    double ss = dot(xr, xr, D, acc);
    double denom = acc(std::sqrt(acc(acc(ss / static_cast<double>(D)) + e)));
    for (int64_t d = 0; d < D; ++d) {
      double t = acc(xr[d] / denom);
      if (weight)
        t = acc(t * weight->data[d]);
      r.data[row * D + d] = roundOut(t, x.dtype, p);
    }
  }
  y = std::move(r);
  return Status::ok();
}

Status layerNorm(const RefTensor &x, const RefTensor *weight,
                 const RefTensor *bias, double eps, Precision p, RefTensor &y) {
  ATTUNE_RETURN_IF_ERROR(checkMinRank(x, "layerNorm x", 1));
  const int64_t D = x.dim(-1);
  ATTUNE_RETURN_IF_ERROR(checkVector(weight, "layerNorm weight", D));
  ATTUNE_RETURN_IF_ERROR(checkVector(bias, "layerNorm bias", D));
  ATTUNE_RETURN_IF_ERROR(checkEps(eps, "layerNorm"));
  const Acc acc(x.dtype, p);
  const double e = acc(eps);
  const double dD = static_cast<double>(D);
  RefTensor r(x.dtype, x.shape);
  std::vector<double> centered(D);
  const int64_t rows = D > 0 ? x.numElements() / D : 0;
  for (int64_t row = 0; row < rows; ++row) {
    const double *xr = x.data.data() + row * D;
    double sum = 0;
    for (int64_t d = 0; d < D; ++d)
      sum = acc(sum + xr[d]);
    double mean = acc(sum / dD);
    double var = 0;
    for (int64_t d = 0; d < D; ++d) {
      centered[d] = acc(xr[d] - mean);
      var = acc(var + acc(centered[d] * centered[d]));
    }
    var = acc(var / dD);
    double denom = acc(std::sqrt(acc(var + e)));
    for (int64_t d = 0; d < D; ++d) {
      double t = acc(centered[d] / denom);
      if (weight)
        t = acc(t * weight->data[d]);
      if (bias)
        t = acc(t + bias->data[d]);
      r.data[row * D + d] = roundOut(t, x.dtype, p);
    }
  }
  y = std::move(r);
  return Status::ok();
}

Status rope(const RefTensor &x, const RefTensor *positions, double theta,
            bool interleaved, int64_t rotaryDim, Precision p, RefTensor &y) {
  ATTUNE_RETURN_IF_ERROR(checkMinRank(x, "rope x", 2));
  const int64_t L = x.dim(-2), D = x.dim(-1);
  if (rotaryDim < 0 || rotaryDim > D)
    return invalidArgument("rope: rotaryDim = " + std::to_string(rotaryDim) +
                           "; expected in [0, D = " + std::to_string(D) + "]");
  const int64_t rd = rotaryDim == 0 ? D : rotaryDim;
  if (rd % 2 != 0)
    return invalidArgument("rope: rotary dim " + std::to_string(rd) +
                           (rotaryDim == 0 ? " (rotaryDim 0 means D)" : "") +
                           " is odd; expected an even value");
  if (!(theta > 0) || !std::isfinite(theta))
    return invalidArgument("rope: theta = " + num(theta) +
                           "; expected a finite value > 0");
  const int64_t B = x.dim(0);
  if (positions) {
    ATTUNE_RETURN_IF_ERROR(checkTensor(*positions, "rope positions"));
    if (positions->rank() == 1) {
      if (positions->shape[0] != L)
        return invalidArgument("rope positions: shape " +
                               str(positions->shape) + ", expected [L] = [" +
                               std::to_string(L) + "]");
    } else if (positions->rank() == 2 && x.rank() >= 3) {
      if (positions->shape != std::vector<int64_t>{B, L})
        return invalidArgument("rope positions: shape " +
                               str(positions->shape) +
                               ", expected [B, L] = " + str({B, L}));
    } else {
      return invalidArgument(
          "rope positions: shape " + str(positions->shape) +
          ", expected [L] or (for x of rank >= 3) [B, L] with B = dim 0 of x");
    }
    for (int64_t i = 0; i < positions->numElements(); ++i)
      if (!std::isfinite(positions->data[i]))
        return invalidArgument("rope positions: element " + std::to_string(i) +
                               " is " + num(positions->data[i]) +
                               ", expected a finite position");
  }
  const Acc acc(x.dtype, p);
  const int64_t halfRd = rd / 2;
  std::vector<double> invFreq(halfRd);
  for (int64_t i = 0; i < halfRd; ++i)
    invFreq[i] = acc(std::pow(theta, -2.0 * static_cast<double>(i) /
                                         static_cast<double>(rd)));
  RefTensor r = x;
  const int64_t rows = D > 0 ? x.numElements() / D : 0;
  const int64_t rowsPerBatch = B > 0 ? rows / B : 0;
  for (int64_t row = 0; row < rows; ++row) {
    const int64_t l = row % L;
    double pos = static_cast<double>(l);
    if (positions)
      pos = positions->rank() == 1
                ? positions->data[l]
                : positions->data[(row / rowsPerBatch) * L + l];
    const double *xr = x.data.data() + row * D;
    double *yr = r.data.data() + row * D;
    for (int64_t i = 0; i < halfRd; ++i) {
      int64_t ia = interleaved ? 2 * i : i;
      int64_t ib = interleaved ? 2 * i + 1 : i + halfRd;
      double angle = acc(pos * invFreq[i]);
      double c = acc(std::cos(angle)), s = acc(std::sin(angle));
      double a = xr[ia], bb = xr[ib];
      yr[ia] = roundOut(acc(acc(a * c) - acc(bb * s)), x.dtype, p);
      yr[ib] = roundOut(acc(acc(a * s) + acc(bb * c)), x.dtype, p);
    }
  }
  y = std::move(r);
  return Status::ok();
}

/// y[row, o] = sum_i x[row, i] w[o, i] (+ b[o]) with the accumulation
/// rounding of `acc`; the result is not yet rounded to a dtype.
static void project(const double *x, int64_t rows, int64_t in,
                    const RefTensor &w, const RefTensor *b, int64_t outDim,
                    const Acc &acc, double *y) {
  for (int64_t row = 0; row < rows; ++row)
    for (int64_t o = 0; o < outDim; ++o) {
      double s = dot(x + row * in, w.data.data() + o * in, in, acc);
      if (b)
        s = acc(s + b->data[o]);
      y[row * outDim + o] = s;
    }
}

Status linear(const RefTensor &x, const RefTensor &w, const RefTensor *b,
              Precision p, RefTensor &y) {
  ATTUNE_RETURN_IF_ERROR(checkMinRank(x, "linear x", 1));
  ATTUNE_RETURN_IF_ERROR(checkRank(w, "linear w", 2));
  const int64_t in = x.dim(-1), outDim = w.dim(0);
  ATTUNE_RETURN_IF_ERROR(checkDim(w, "linear w", 1, in, "last dim of x"));
  ATTUNE_RETURN_IF_ERROR(checkVector(b, "linear b", outDim));
  std::vector<int64_t> shape = x.shape;
  shape.back() = outDim;
  RefTensor r(x.dtype, shape);
  const Acc acc(x.dtype, p);
  const int64_t rows = product(x.shape, 0, x.shape.size() - 1);
  project(x.data.data(), rows, in, w, b, outDim, acc, r.data.data());
  for (double &v : r.data)
    v = roundOut(v, x.dtype, p);
  y = std::move(r);
  return Status::ok();
}

double activate(Activation a, double x) {
  switch (a) {
  case Activation::Silu:
    // x * sigmoid(x), in a form that overflows neither way.
    return x >= 0 ? x / (1 + std::exp(-x))
                  : x * std::exp(x) / (1 + std::exp(x));
  case Activation::Gelu:
    return 0.5 * x * (1 + std::erf(x / std::sqrt(2.0)));
  case Activation::GeluTanh: {
    const double k = std::sqrt(2.0 / 3.14159265358979323846);
    return 0.5 * x * (1 + std::tanh(k * (x + 0.044715 * x * x * x)));
  }
  case Activation::Relu:
    return x > 0 ? x : (std::isnan(x) ? x : 0.0);
  }
  return x;
}

Status mlp(const RefTensor &x, const RefTensor *wGate, const RefTensor &wUp,
           const RefTensor &wDown, const RefTensor *bUp, const RefTensor *bDown,
           Activation act, Precision p, RefTensor &y) {
  ATTUNE_RETURN_IF_ERROR(checkMinRank(x, "mlp x", 1));
  ATTUNE_RETURN_IF_ERROR(checkRank(wUp, "mlp wUp", 2));
  ATTUNE_RETURN_IF_ERROR(checkRank(wDown, "mlp wDown", 2));
  const int64_t din = x.dim(-1), F = wUp.dim(0), dout = wDown.dim(0);
  ATTUNE_RETURN_IF_ERROR(checkDim(wUp, "mlp wUp", 1, din, "last dim of x"));
  if (wGate) {
    ATTUNE_RETURN_IF_ERROR(checkRank(*wGate, "mlp wGate", 2));
    if (wGate->shape != wUp.shape)
      return invalidArgument("mlp wGate: shape " + str(wGate->shape) +
                             ", expected [F, Din] = " + str(wUp.shape) +
                             " like wUp");
  }
  ATTUNE_RETURN_IF_ERROR(checkDim(wDown, "mlp wDown", 1, F, "rows F of wUp"));
  ATTUNE_RETURN_IF_ERROR(checkVector(bUp, "mlp bUp", F));
  ATTUNE_RETURN_IF_ERROR(checkVector(bDown, "mlp bDown", dout));
  const Acc acc(x.dtype, p);
  const int64_t rows = product(x.shape, 0, x.shape.size() - 1);
  std::vector<double> h(static_cast<size_t>(rows * F)), g;
  project(x.data.data(), rows, din, wUp, bUp, F, acc, h.data());
  if (wGate) {
    g.resize(h.size());
    project(x.data.data(), rows, din, *wGate, nullptr, F, acc, g.data());
    for (size_t i = 0; i < h.size(); ++i)
      h[i] = acc(acc(activate(act, g[i])) * h[i]);
  } else {
    for (double &v : h)
      v = acc(activate(act, v));
  }
  for (double &v : h)
    v = roundOut(v, x.dtype, p);
  std::vector<int64_t> shape = x.shape;
  shape.back() = dout;
  RefTensor r(x.dtype, shape);
  project(h.data(), rows, F, wDown, bDown, dout, acc, r.data.data());
  for (double &v : r.data)
    v = roundOut(v, x.dtype, p);
  y = std::move(r);
  return Status::ok();
}

Status embedding(const RefTensor &ids, const RefTensor &table, RefTensor &y) {
  ATTUNE_RETURN_IF_ERROR(checkTensor(ids, "embedding ids"));
  ATTUNE_RETURN_IF_ERROR(checkRank(table, "embedding table", 2));
  const int64_t V = table.dim(0), E = table.dim(1);
  std::vector<int64_t> shape = ids.shape;
  shape.push_back(E);
  RefTensor r(table.dtype, shape);
  for (int64_t i = 0; i < ids.numElements(); ++i) {
    int64_t id;
    ATTUNE_RETURN_IF_ERROR(intValue(ids, i, "embedding ids", id));
    if (id < 0 || id >= V)
      return outOfRange("embedding: id " + std::to_string(id) +
                        " at position " + indexString(i, ids.shape) +
                        " is outside the table's [0, " + std::to_string(V) +
                        ")");
    std::copy(table.data.begin() + id * E, table.data.begin() + (id + 1) * E,
              r.data.begin() + i * E);
  }
  y = std::move(r);
  return Status::ok();
}

Status softmax(const RefTensor &x, int64_t axis, Precision p, RefTensor &y) {
  ATTUNE_RETURN_IF_ERROR(checkTensor(x, "softmax x"));
  int64_t ax;
  ATTUNE_RETURN_IF_ERROR(normalizeAxis(axis, x.rank(), "softmax", ax));
  const int64_t n = x.shape[ax];
  const int64_t outer = product(x.shape, 0, ax);
  const int64_t inner = product(x.shape, ax + 1, x.shape.size());
  const Acc acc(x.dtype, p);
  RefTensor r(x.dtype, x.shape);
  std::vector<double> e(n);
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t in = 0; in < inner; ++in) {
      auto at = [&](int64_t j) { return (o * n + j) * inner + in; };
      double m = -kInf;
      for (int64_t j = 0; j < n; ++j)
        m = maxOrNaN(m, x.data[at(j)]);
      if (std::isnan(m)) {
        for (int64_t j = 0; j < n; ++j)
          r.data[at(j)] = kNaN;
        continue;
      }
      if (m == -kInf)
        continue; // an all -inf slice gives zeros
      double sum = 0;
      for (int64_t j = 0; j < n; ++j) {
        e[j] = acc(std::exp(acc(x.data[at(j)] - m)));
        sum = acc(sum + e[j]);
      }
      for (int64_t j = 0; j < n; ++j)
        r.data[at(j)] = roundOut(acc(e[j] / sum), x.dtype, p);
    }
  y = std::move(r);
  return Status::ok();
}

Status crossEntropy(const RefTensor &logits, const RefTensor &labels,
                    int64_t ignoreIndex, Reduction red, Precision p,
                    RefTensor &loss) {
  ATTUNE_RETURN_IF_ERROR(checkRank(logits, "crossEntropy logits", 2));
  ATTUNE_RETURN_IF_ERROR(checkRank(labels, "crossEntropy labels", 1));
  const int64_t N = logits.dim(0), C = logits.dim(1);
  ATTUNE_RETURN_IF_ERROR(
      checkDim(labels, "crossEntropy labels", 0, N, "rows N of logits"));
  const Acc acc(logits.dtype, p);
  std::vector<double> rowLoss(N, 0.0);
  int64_t counted = 0;
  for (int64_t i = 0; i < N; ++i) {
    int64_t label;
    ATTUNE_RETURN_IF_ERROR(intValue(labels, i, "crossEntropy labels", label));
    if (label == ignoreIndex)
      continue;
    if (label < 0 || label >= C)
      return outOfRange("crossEntropy: label " + std::to_string(label) +
                        " of row " + std::to_string(i) + " is outside [0, " +
                        std::to_string(C) + ") and is not ignoreIndex " +
                        std::to_string(ignoreIndex));
    const double *row = logits.data.data() + i * C;
    double m = -kInf;
    for (int64_t c = 0; c < C; ++c)
      m = maxOrNaN(m, row[c]);
    double lseRow = m;
    if (std::isfinite(m)) {
      double sum = 0;
      for (int64_t c = 0; c < C; ++c)
        sum = acc(sum + acc(std::exp(acc(row[c] - m))));
      lseRow = acc(m + acc(std::log(sum)));
    }
    rowLoss[i] = acc(lseRow - row[label]);
    ++counted;
  }
  RefTensor r;
  if (red == Reduction::None) {
    r = RefTensor(logits.dtype, {N});
    for (int64_t i = 0; i < N; ++i)
      r.data[i] = roundOut(rowLoss[i], logits.dtype, p);
  } else {
    double sum = 0;
    for (double v : rowLoss)
      sum = acc(sum + v);
    if (red == Reduction::Mean)
      sum = counted ? acc(sum / static_cast<double>(counted)) : 0.0;
    r = RefTensor(logits.dtype, {});
    r.data[0] = roundOut(sum, logits.dtype, p);
  }
  loss = std::move(r);
  return Status::ok();
}

//===----------------------------------------------------------------------===//
// Elementwise and layout
//===----------------------------------------------------------------------===//

Status unary(UnaryKind kind, const RefTensor &x, Precision p, RefTensor &y) {
  ATTUNE_RETURN_IF_ERROR(checkTensor(x, "unary x"));
  RefTensor r(x.dtype, x.shape);
  for (int64_t i = 0; i < x.numElements(); ++i) {
    double v = x.data[i], o = 0;
    switch (kind) {
    case UnaryKind::Neg:
      o = -v;
      break;
    case UnaryKind::Exp:
      o = std::exp(v);
      break;
    case UnaryKind::Log:
      o = std::log(v);
      break;
    case UnaryKind::Tanh:
      o = std::tanh(v);
      break;
    case UnaryKind::Sqrt:
      o = std::sqrt(v);
      break;
    case UnaryKind::Rsqrt:
      o = 1.0 / std::sqrt(v);
      break;
    case UnaryKind::Sigmoid:
      o = v >= 0 ? 1.0 / (1.0 + std::exp(-v))
                 : std::exp(v) / (1.0 + std::exp(v));
      break;
    case UnaryKind::Abs:
      o = std::fabs(v);
      break;
    case UnaryKind::Silu:
      o = activate(Activation::Silu, v);
      break;
    case UnaryKind::Gelu:
      o = activate(Activation::Gelu, v);
      break;
    case UnaryKind::GeluTanh:
      o = activate(Activation::GeluTanh, v);
      break;
    case UnaryKind::Relu:
      o = activate(Activation::Relu, v);
      break;
    }
    r.data[i] = roundOut(o, x.dtype, p);
  }
  y = std::move(r);
  return Status::ok();
}

Status binary(BinaryKind kind, const RefTensor &a, const RefTensor &b,
              Precision p, RefTensor &y) {
  ATTUNE_RETURN_IF_ERROR(checkTensor(a, "binary a"));
  ATTUNE_RETURN_IF_ERROR(checkTensor(b, "binary b"));
  if (a.dtype != b.dtype)
    return invalidArgument("binary: operands must share a dtype, got " +
                           std::string(dtypeName(a.dtype)) + " and " +
                           std::string(dtypeName(b.dtype)));
  std::vector<int64_t> shape;
  ATTUNE_RETURN_IF_ERROR(broadcastShapes(a.shape, b.shape, "binary", shape));
  RefTensor r(a.dtype, shape);
  std::vector<int64_t> sa = broadcastStrides(a.shape, shape);
  std::vector<int64_t> sb = broadcastStrides(b.shape, shape);
  forEachBroadcast(shape, sa, sb, [&](int64_t i, int64_t ia, int64_t ib) {
    double u = a.data[ia], v = b.data[ib], o = 0;
    switch (kind) {
    case BinaryKind::Add:
      o = u + v;
      break;
    case BinaryKind::Sub:
      o = u - v;
      break;
    case BinaryKind::Mul:
      o = u * v;
      break;
    case BinaryKind::Div:
      o = u / v;
      break;
    case BinaryKind::Max:
      // NaN propagates, as numpy.maximum.
      o = (std::isnan(u) || std::isnan(v)) ? kNaN : std::max(u, v);
      break;
    case BinaryKind::Min:
      o = (std::isnan(u) || std::isnan(v)) ? kNaN : std::min(u, v);
      break;
    case BinaryKind::Pow:
      o = std::pow(u, v);
      break;
    }
    r.data[i] = roundOut(o, a.dtype, p);
  });
  y = std::move(r);
  return Status::ok();
}

Status cast(const RefTensor &x, DType dtype, RefTensor &y) {
  ATTUNE_RETURN_IF_ERROR(checkTensor(x, "cast x"));
  RefTensor r(dtype, x.shape);
  for (int64_t i = 0; i < x.numElements(); ++i)
    r.data[i] = roundToDType(x.data[i], dtype);
  y = std::move(r);
  return Status::ok();
}

Status matmul(const RefTensor &a, const RefTensor &b, Precision p,
              RefTensor &y) {
  ATTUNE_RETURN_IF_ERROR(checkMinRank(a, "matmul a", 2));
  ATTUNE_RETURN_IF_ERROR(checkMinRank(b, "matmul b", 2));
  if (a.dtype != b.dtype)
    return invalidArgument("matmul: operands must share a dtype, got " +
                           std::string(dtypeName(a.dtype)) + " and " +
                           std::string(dtypeName(b.dtype)));
  const int64_t M = a.dim(-2), K = a.dim(-1), N = b.dim(-1);
  if (b.dim(-2) != K)
    return invalidArgument("matmul: a " + str(a.shape) + " @ b " +
                           str(b.shape) + ": contraction dims differ (" +
                           std::to_string(K) + " vs " +
                           std::to_string(b.dim(-2)) + ")");
  std::vector<int64_t> ba(a.shape.begin(), a.shape.end() - 2);
  std::vector<int64_t> bb(b.shape.begin(), b.shape.end() - 2);
  std::vector<int64_t> batch;
  ATTUNE_RETURN_IF_ERROR(broadcastShapes(ba, bb, "matmul batch dims", batch));
  std::vector<int64_t> shape = batch;
  shape.push_back(M);
  shape.push_back(N);
  RefTensor r(a.dtype, shape);
  const Acc acc(a.dtype, p);
  std::vector<int64_t> sa = broadcastStrides(ba, batch);
  std::vector<int64_t> sb = broadcastStrides(bb, batch);
  std::vector<double> col(K);
  forEachBroadcast(batch, sa, sb, [&](int64_t i, int64_t ia, int64_t ib) {
    const double *am = a.data.data() + ia * M * K;
    const double *bm = b.data.data() + ib * K * N;
    double *ym = r.data.data() + i * M * N;
    for (int64_t n = 0; n < N; ++n) {
      for (int64_t kk = 0; kk < K; ++kk)
        col[kk] = bm[kk * N + n];
      for (int64_t m = 0; m < M; ++m)
        ym[m * N + n] =
            roundOut(dot(am + m * K, col.data(), K, acc), a.dtype, p);
    }
  });
  y = std::move(r);
  return Status::ok();
}

Status transpose(const RefTensor &x, const std::vector<int64_t> &perm,
                 RefTensor &y) {
  ATTUNE_RETURN_IF_ERROR(checkTensor(x, "transpose x"));
  const int64_t rank = x.rank();
  std::vector<bool> seen(rank, false);
  bool ok = static_cast<int64_t>(perm.size()) == rank;
  for (int64_t i = 0; ok && i < rank; ++i) {
    if (perm[i] < 0 || perm[i] >= rank || seen[perm[i]])
      ok = false;
    else
      seen[perm[i]] = true;
  }
  if (!ok)
    return invalidArgument(
        "transpose: perm " + str(perm) + " is not a permutation of [0, " +
        std::to_string(rank) + ") for x of shape " + str(x.shape));
  std::vector<int64_t> shape(rank), xStrides(rank), srcStrides(rank);
  int64_t s = 1;
  for (int64_t i = rank; i-- > 0;) {
    xStrides[i] = s;
    s *= x.shape[i];
  }
  for (int64_t i = 0; i < rank; ++i) {
    shape[i] = x.shape[perm[i]];
    srcStrides[i] = xStrides[perm[i]];
  }
  RefTensor r(x.dtype, shape);
  std::vector<int64_t> zero(rank, 0);
  forEachBroadcast(
      shape, srcStrides, zero,
      [&](int64_t i, int64_t src, int64_t) { r.data[i] = x.data[src]; });
  y = std::move(r);
  return Status::ok();
}

Status reshape(const RefTensor &x, const std::vector<int64_t> &shape,
               RefTensor &y) {
  ATTUNE_RETURN_IF_ERROR(checkTensor(x, "reshape x"));
  int64_t n = numElements(shape);
  if (n < 0)
    return invalidArgument("reshape: target shape " + str(shape) +
                           " is invalid (negative or overflowing dims)");
  if (n != x.numElements())
    return invalidArgument("reshape: x of shape " + str(x.shape) + " has " +
                           std::to_string(x.numElements()) +
                           " elements, target shape " + str(shape) + " has " +
                           std::to_string(n));
  RefTensor r;
  r.dtype = x.dtype;
  r.shape = shape;
  r.data = x.data;
  y = std::move(r);
  return Status::ok();
}

Status reduce(ReduceKind kind, const RefTensor &x,
              const std::vector<int64_t> &axes, bool keepDims, Precision p,
              RefTensor &y) {
  ATTUNE_RETURN_IF_ERROR(checkTensor(x, "reduce x"));
  const int64_t rank = x.rank();
  std::vector<bool> reduced(rank, false);
  for (size_t i = 0; i < axes.size(); ++i) {
    if (axes[i] < 0 || axes[i] >= rank || (i > 0 && axes[i] <= axes[i - 1]))
      return invalidArgument("reduce: axes " + str(axes) +
                             " must be sorted, distinct and in [0, " +
                             std::to_string(rank) + ") for x of shape " +
                             str(x.shape));
    reduced[axes[i]] = true;
  }
  std::vector<int64_t> outShape, keptShape(rank);
  int64_t count = 1;
  for (int64_t d = 0; d < rank; ++d) {
    keptShape[d] = reduced[d] ? 1 : x.shape[d];
    if (reduced[d])
      count *= x.shape[d];
    if (!reduced[d] || keepDims)
      outShape.push_back(keptShape[d]);
  }
  if (kind == ReduceKind::Max && count == 0)
    return invalidArgument("reduce: max over axes " + str(axes) + " of shape " +
                           str(x.shape) +
                           " reduces empty slices, which have no maximum");
  const Acc acc(x.dtype, p);
  RefTensor r(x.dtype, outShape);
  if (kind == ReduceKind::Max)
    std::fill(r.data.begin(), r.data.end(), -kInf);
  // Walk x in row-major order; each output accumulates its inputs in that
  // order. The output offset of x's element has stride 0 on reduced dims.
  std::vector<int64_t> outStrides(rank, 0);
  int64_t s = 1;
  for (int64_t d = rank; d-- > 0;) {
    if (!reduced[d]) {
      outStrides[d] = s;
      s *= x.shape[d];
    }
  }
  std::vector<int64_t> zero(rank, 0);
  forEachBroadcast(
      x.shape, outStrides, zero, [&](int64_t i, int64_t o, int64_t) {
        double v = x.data[i];
        double &dst = r.data[o];
        if (kind == ReduceKind::Max)
          dst = (std::isnan(v) || std::isnan(dst)) ? kNaN : std::max(dst, v);
        else
          dst = acc(dst + v);
      });
  for (double &v : r.data) {
    if (kind == ReduceKind::Mean)
      v = acc(v / static_cast<double>(count)); // 0/0 is NaN, as numpy
    v = roundOut(v, x.dtype, p);
  }
  y = std::move(r);
  return Status::ok();
}

Status concat(const std::vector<RefTensor> &xs, int64_t axis, RefTensor &y) {
  if (xs.empty())
    return invalidArgument("concat: no inputs; expected >= 1");
  for (size_t i = 0; i < xs.size(); ++i)
    ATTUNE_RETURN_IF_ERROR(
        checkMinRank(xs[i], "concat xs[" + std::to_string(i) + "]", 1));
  const int64_t rank = xs[0].rank();
  int64_t ax;
  ATTUNE_RETURN_IF_ERROR(normalizeAxis(axis, rank, "concat", ax));
  std::vector<int64_t> shape = xs[0].shape;
  shape[ax] = 0;
  for (size_t i = 0; i < xs.size(); ++i) {
    const RefTensor &t = xs[i];
    bool match = t.rank() == rank && t.dtype == xs[0].dtype;
    for (int64_t d = 0; match && d < rank; ++d)
      if (d != ax && t.shape[d] != xs[0].shape[d])
        match = false;
    if (!match)
      return invalidArgument(
          "concat xs[" + std::to_string(i) +
          "]: " + std::string(dtypeName(t.dtype)) + " " + str(t.shape) +
          " does not match xs[0] " + std::string(dtypeName(xs[0].dtype)) + " " +
          str(xs[0].shape) + " outside axis " + std::to_string(ax));
    shape[ax] += t.shape[ax];
  }
  RefTensor r(xs[0].dtype, shape);
  const int64_t outer = product(shape, 0, ax);
  const int64_t inner = product(shape, ax + 1, shape.size());
  double *dst = r.data.data();
  for (int64_t o = 0; o < outer; ++o)
    for (const RefTensor &t : xs) {
      int64_t block = t.shape[ax] * inner;
      std::copy(t.data.begin() + o * block, t.data.begin() + (o + 1) * block,
                dst);
      dst += block;
    }
  y = std::move(r);
  return Status::ok();
}

Status slice(const RefTensor &x, int64_t axis, int64_t start, int64_t size,
             RefTensor &y) {
  ATTUNE_RETURN_IF_ERROR(checkMinRank(x, "slice x", 1));
  int64_t ax;
  ATTUNE_RETURN_IF_ERROR(normalizeAxis(axis, x.rank(), "slice", ax));
  const int64_t n = x.shape[ax];
  if (start < 0 || size < 0 || start > n || size > n - start)
    return outOfRange(
        "slice: [" + std::to_string(start) + ", " + std::to_string(start) +
        " + " + std::to_string(size) + ") along axis " + std::to_string(ax) +
        " is outside [0, " + std::to_string(n) + ") of shape " + str(x.shape));
  std::vector<int64_t> shape = x.shape;
  shape[ax] = size;
  RefTensor r(x.dtype, shape);
  const int64_t outer = product(shape, 0, ax);
  const int64_t inner = product(shape, ax + 1, shape.size());
  for (int64_t o = 0; o < outer; ++o)
    std::copy(x.data.begin() + (o * n + start) * inner,
              x.data.begin() + (o * n + start + size) * inner,
              r.data.begin() + o * size * inner);
  y = std::move(r);
  return Status::ok();
}

//===----------------------------------------------------------------------===//
// The tolerance rule
//===----------------------------------------------------------------------===//

ToleranceReport checkTolerance(const RefTensor &out, const RefTensor &gold,
                               const RefTensor &lowp, double floor) {
  ToleranceReport rep;
  const std::pair<const RefTensor *, const char *> all[] = {
      {&out, "out"}, {&gold, "gold"}, {&lowp, "lowp"}};
  for (const auto &[t, name] : all) {
    Status s = checkTensor(*t, name);
    if (!s.isOk()) {
      rep.message = s.message();
      return rep;
    }
  }
  if (out.shape != gold.shape || lowp.shape != gold.shape) {
    rep.message = "shape mismatch: out " + str(out.shape) + ", gold " +
                  str(gold.shape) + ", lowp " + str(lowp.shape);
    return rep;
  }
  if (!(floor >= 0)) {
    rep.message = "floor = " + num(floor) + "; expected >= 0";
    return rep;
  }
  const auto &shape = gold.shape;
  for (int64_t i = 0; i < gold.numElements(); ++i) {
    double o = out.data[i], g = gold.data[i], l = lowp.data[i];
    for (const auto &[t, name] : all)
      if (std::isnan(t->data[i])) {
        rep.worstIndex = i;
        rep.maxError = kNaN;
        rep.message = std::string(name) + " is NaN at " + indexString(i, shape);
        return rep;
      }
    if (std::isinf(g) || std::isinf(o) || std::isinf(l)) {
      if (o != g || l != g) {
        rep.worstIndex = i;
        rep.maxError = kInf;
        rep.message = "infinities differ at " + indexString(i, shape) +
                      ": out " + num(o) + ", gold " + num(g) + ", lowp " +
                      num(l);
        return rep;
      }
      continue; // matching infinities carry no error
    }
    double err = std::fabs(o - g);
    if (err > rep.maxError || rep.worstIndex < 0) {
      rep.maxError = err;
      rep.worstIndex = i;
    }
    rep.refError = std::max(rep.refError, std::fabs(l - g));
  }
  rep.bound = 2 * rep.refError + floor;
  rep.ok = rep.maxError <= rep.bound;
  std::string where =
      rep.worstIndex >= 0 ? " at " + indexString(rep.worstIndex, shape) : "";
  rep.message = std::string(rep.ok ? "ok" : "FAIL") +
                ": max |out - gold| = " + num(rep.maxError) + where +
                (rep.ok ? " <= " : " > ") + "bound " + num(rep.bound) +
                " = 2 * max |lowp - gold| (" + num(rep.refError) +
                ") + floor " + num(floor);
  return rep;
}

} // namespace attune::ref
