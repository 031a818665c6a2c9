//===- AttuneOps.cpp - attune op shape inference and verification ---------===//
//
// Every check that makes an op well formed lives in its inferReturnTypes:
// the InferTypeOpInterface verifier runs it before anything else, so a bad
// op's first message names the operand or attribute, the value found and
// what was expected (MLIR then adds "failed to infer returned types").
// Results may be less static than inferred.
//
//===----------------------------------------------------------------------===//

#include "attune/Dialect/Attune/AttuneOps.h"

#include "mlir/Dialect/Traits.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/IR/TypeUtilities.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallSet.h"
#include "llvm/Support/MathExtras.h"

using namespace mlir;
using namespace mlir::attune;

namespace {

/// Emits errors from inferReturnTypes as "'attune.x' op ..." at the op's
/// location; without a location (a builder probing types) it stays silent.
class Diag {
public:
  Diag(std::optional<Location> loc, StringRef opName)
      : loc(loc), opName(opName) {}

  InFlightDiagnostic operator()() const {
    if (!loc)
      return InFlightDiagnostic();
    InFlightDiagnostic d = mlir::emitError(*loc);
    d << "'attune." << opName << "' op ";
    return d;
  }

private:
  std::optional<Location> loc;
  StringRef opName;
};

std::string dimStr(int64_t d) {
  return ShapedType::isDynamic(d) ? std::string("?") : std::to_string(d);
}

std::string shapeStr(ArrayRef<int64_t> shape) {
  std::string s = "[";
  for (auto [i, d] : llvm::enumerate(shape)) {
    if (i)
      s += ", ";
    s += dimStr(d);
  }
  return s + "]";
}

bool sameDim(int64_t a, int64_t b) {
  return ShapedType::isDynamic(a) || ShapedType::isDynamic(b) || a == b;
}

/// A known dimension when either is known.
int64_t joinDim(int64_t a, int64_t b) {
  return ShapedType::isDynamic(a) ? b : a;
}

RankedTensorType tensorOf(Value v) {
  return llvm::cast<RankedTensorType>(v.getType());
}

/// Checks the rank of a tensor operand.
LogicalResult expectRank(const Diag &diag, StringRef name, Value v,
                         int64_t rank, StringRef layout) {
  int64_t got = tensorOf(v).getRank();
  if (got != rank)
    return diag() << "expected " << name << " of rank " << rank << " " << layout
                  << ", got rank " << got << " "
                  << shapeStr(tensorOf(v).getShape());
  return success();
}

LogicalResult expectMinRank(const Diag &diag, StringRef name, Value v,
                            int64_t rank) {
  int64_t got = tensorOf(v).getRank();
  if (got < rank)
    return diag() << "expected " << name << " of rank >= " << rank
                  << ", got rank " << got;
  return success();
}

/// Checks that `what` (a dimension of `name`) equals `want`.
LogicalResult expectDim(const Diag &diag, StringRef name, int64_t dimIndex,
                        StringRef meaning, int64_t got, int64_t want,
                        StringRef wantFrom) {
  if (!sameDim(got, want))
    return diag() << "expected " << name << " dim " << dimIndex << " ("
                  << meaning << ") to be " << dimStr(want) << " (" << wantFrom
                  << "), got " << dimStr(got);
  return success();
}

LogicalResult expectSameElementType(const Diag &diag, StringRef name, Value v,
                                    StringRef refName, Value ref) {
  Type got = tensorOf(v).getElementType();
  Type want = tensorOf(ref).getElementType();
  if (got != want)
    return diag() << "expected " << name << " element type " << want << " (the "
                  << refName << "'s), got " << got;
  return success();
}

/// Normalizes an axis in [-rank, rank) to [0, rank).
FailureOr<int64_t> normalizeAxis(const Diag &diag, StringRef name, int64_t axis,
                                 int64_t rank) {
  if (axis < -rank || axis >= rank) {
    diag() << "expected " << name << " in [" << -rank << ", " << rank
           << ") for a rank-" << rank << " input, got " << axis;
    return failure();
  }
  return axis < 0 ? axis + rank : axis;
}

bool compatibleTensorTypes(TypeRange l, TypeRange r) {
  if (l.size() != r.size())
    return false;
  for (auto [a, b] : llvm::zip(l, r)) {
    auto ta = llvm::dyn_cast<RankedTensorType>(a);
    auto tb = llvm::dyn_cast<RankedTensorType>(b);
    if (!ta || !tb) {
      if (a != b)
        return false;
      continue;
    }
    if (ta.getElementType() != tb.getElementType() ||
        failed(verifyCompatibleShape(ta.getShape(), tb.getShape())))
      return false;
  }
  return true;
}

/// Shape checks shared by attention and dilated attention; returns the
/// result types (out, lse).
LogicalResult inferAttentionTypes(const Diag &diag, Value q, Value k, Value v,
                                  SmallVectorImpl<Type> &types) {
  if (failed(expectRank(diag, "query", q, 4, "[B, Hq, Lq, D]")) ||
      failed(expectRank(diag, "key", k, 4, "[B, Hkv, Lk, D]")) ||
      failed(expectRank(diag, "value", v, 4, "[B, Hkv, Lk, Dv]")) ||
      failed(expectSameElementType(diag, "key", k, "query", q)) ||
      failed(expectSameElementType(diag, "value", v, "query", q)))
    return failure();
  ArrayRef<int64_t> qs = tensorOf(q).getShape(), ks = tensorOf(k).getShape(),
                    vs = tensorOf(v).getShape();
  if (failed(expectDim(diag, "key", 0, "batch", ks[0], qs[0], "the query's")) ||
      failed(
          expectDim(diag, "value", 0, "batch", vs[0], qs[0], "the query's")) ||
      failed(
          expectDim(diag, "key", 3, "head dim", ks[3], qs[3], "the query's")) ||
      failed(
          expectDim(diag, "value", 1, "kv heads", vs[1], ks[1], "the key's")) ||
      failed(
          expectDim(diag, "value", 2, "key length", vs[2], ks[2], "the key's")))
    return failure();
  if (qs[3] == 0)
    return diag() << "expected head dim D (query dim 3) > 0, got 0";
  int64_t hq = qs[1], hkv = joinDim(ks[1], vs[1]);
  if (!ShapedType::isDynamic(hkv) && hkv == 0)
    return diag() << "expected key/value heads > 0, got 0";
  if (!ShapedType::isDynamic(hq) && !ShapedType::isDynamic(hkv) &&
      hq % hkv != 0)
    return diag() << "expected query heads (" << hq
                  << ") to be a multiple of key/value heads (" << hkv
                  << ") for grouped-query attention";
  MLIRContext *ctx = q.getContext();
  int64_t batch = joinDim(qs[0], joinDim(ks[0], vs[0]));
  types.push_back(RankedTensorType::get({batch, hq, qs[2], vs[3]},
                                        tensorOf(q).getElementType()));
  types.push_back(
      RankedTensorType::get({batch, hq, qs[2]}, Float32Type::get(ctx)));
  return success();
}

LogicalResult checkScale(const Diag &diag, std::optional<APFloat> scale) {
  if (!scale)
    return success();
  double s = scale->convertToDouble();
  if (!(s > 0) || std::isinf(s))
    return diag() << "expected scale > 0 and finite, got " << s;
  return success();
}

/// Verifies a region's block arguments and yielded types.
LogicalResult verifyBody(Operation *op, Region &region, StringRef name,
                         TypeRange argTypes, TypeRange yieldTypes) {
  Block &block = region.front();
  if (block.getNumArguments() != argTypes.size())
    return op->emitOpError()
           << "expected the " << name << " region to take " << argTypes.size()
           << " arguments, got " << block.getNumArguments();
  for (auto [i, arg] : llvm::enumerate(block.getArguments()))
    if (arg.getType() != argTypes[i])
      return op->emitOpError()
             << "expected " << name << " region argument #" << i << " of type "
             << argTypes[i] << ", got " << arg.getType();
  auto yield = llvm::dyn_cast<YieldOp>(block.getTerminator());
  if (!yield)
    return op->emitOpError()
           << "expected the " << name << " region to end in attune.yield";
  if (yield.getValues().size() != yieldTypes.size())
    return op->emitOpError()
           << "expected the " << name << " region to yield "
           << yieldTypes.size() << " values, got " << yield.getValues().size();
  // Yielded types need only be compatible with the expected ones, as attune
  // results need only be compatible with their inferred types (so that
  // attune-infer-shapes may refine the ops inside a region).
  for (auto [i, v] : llvm::enumerate(yield.getValues()))
    if (!compatibleTensorTypes(v.getType(), yieldTypes[i]))
      return op->emitOpError()
             << "expected " << name << " region to yield " << yieldTypes[i]
             << " as value #" << i << ", got " << v.getType();
  return success();
}

} // namespace

//===----------------------------------------------------------------------===//
// Result-type compatibility, shared by every op that infers its types
//===----------------------------------------------------------------------===//

#define ATTUNE_COMPATIBLE_RETURN_TYPES(OP)                                     \
  bool OP::isCompatibleReturnTypes(TypeRange l, TypeRange r) {                 \
    return compatibleTensorTypes(l, r);                                        \
  }
ATTUNE_COMPATIBLE_RETURN_TYPES(AttentionOp)
ATTUNE_COMPATIBLE_RETURN_TYPES(DilatedAttentionOp)
ATTUNE_COMPATIBLE_RETURN_TYPES(LshAttentionOp)
ATTUNE_COMPATIBLE_RETURN_TYPES(RMSNormOp)
ATTUNE_COMPATIBLE_RETURN_TYPES(LayerNormOp)
ATTUNE_COMPATIBLE_RETURN_TYPES(RopeOp)
ATTUNE_COMPATIBLE_RETURN_TYPES(LinearOp)
ATTUNE_COMPATIBLE_RETURN_TYPES(MLPOp)
ATTUNE_COMPATIBLE_RETURN_TYPES(EmbeddingOp)
ATTUNE_COMPATIBLE_RETURN_TYPES(SoftmaxOp)
ATTUNE_COMPATIBLE_RETURN_TYPES(CrossEntropyOp)
ATTUNE_COMPATIBLE_RETURN_TYPES(AddOp)
ATTUNE_COMPATIBLE_RETURN_TYPES(SubOp)
ATTUNE_COMPATIBLE_RETURN_TYPES(MulOp)
ATTUNE_COMPATIBLE_RETURN_TYPES(DivOp)
ATTUNE_COMPATIBLE_RETURN_TYPES(MaxOp)
ATTUNE_COMPATIBLE_RETURN_TYPES(MinOp)
ATTUNE_COMPATIBLE_RETURN_TYPES(PowOp)
ATTUNE_COMPATIBLE_RETURN_TYPES(MatmulOp)
ATTUNE_COMPATIBLE_RETURN_TYPES(TransposeOp)
ATTUNE_COMPATIBLE_RETURN_TYPES(ReduceOp)
ATTUNE_COMPATIBLE_RETURN_TYPES(ConcatOp)
ATTUNE_COMPATIBLE_RETURN_TYPES(SliceOp)
#undef ATTUNE_COMPATIBLE_RETURN_TYPES

// Unary ops print only their input's type (`attune.neg %x : T`), so their
// result must have exactly that type: anything else would not round-trip.
#define ATTUNE_EXACT_RETURN_TYPES(OP)                                          \
  bool OP::isCompatibleReturnTypes(TypeRange l, TypeRange r) { return l == r; }
ATTUNE_EXACT_RETURN_TYPES(NegOp)
ATTUNE_EXACT_RETURN_TYPES(ExpOp)
ATTUNE_EXACT_RETURN_TYPES(LogOp)
ATTUNE_EXACT_RETURN_TYPES(TanhOp)
ATTUNE_EXACT_RETURN_TYPES(SqrtOp)
ATTUNE_EXACT_RETURN_TYPES(RsqrtOp)
ATTUNE_EXACT_RETURN_TYPES(SigmoidOp)
ATTUNE_EXACT_RETURN_TYPES(AbsOp)
ATTUNE_EXACT_RETURN_TYPES(SiluOp)
ATTUNE_EXACT_RETURN_TYPES(GeluOp)
ATTUNE_EXACT_RETURN_TYPES(GeluTanhOp)
ATTUNE_EXACT_RETURN_TYPES(ReluOp)
#undef ATTUNE_EXACT_RETURN_TYPES

//===----------------------------------------------------------------------===//
// Attention
//===----------------------------------------------------------------------===//

LogicalResult AttentionOp::inferReturnTypes(MLIRContext *,
                                            std::optional<Location> loc,
                                            Adaptor adaptor,
                                            SmallVectorImpl<Type> &types) {
  Diag diag(loc, "attention");
  if (failed(inferAttentionTypes(diag, adaptor.getQuery(), adaptor.getKey(),
                                 adaptor.getValue(), types)) ||
      failed(checkScale(diag, adaptor.getScale())))
    return failure();
  ArrayRef<int64_t> qs = tensorOf(adaptor.getQuery()).getShape();
  ArrayRef<int64_t> ks = tensorOf(adaptor.getKey()).getShape();
  Value qIds = adaptor.getQDocIds(), kvIds = adaptor.getKvDocIds();
  if (bool(qIds) != bool(kvIds))
    return diag() << "expected both q_doc_ids and kv_doc_ids or neither, got "
                  << (qIds ? "only q_doc_ids" : "only kv_doc_ids");
  if (qIds) {
    if (failed(expectRank(diag, "q_doc_ids", qIds, 2, "[B, Lq]")) ||
        failed(expectRank(diag, "kv_doc_ids", kvIds, 2, "[B, Lk]")))
      return failure();
    ArrayRef<int64_t> qi = tensorOf(qIds).getShape(),
                      ki = tensorOf(kvIds).getShape();
    if (failed(expectDim(diag, "q_doc_ids", 0, "batch", qi[0], qs[0],
                         "the query's")) ||
        failed(expectDim(diag, "q_doc_ids", 1, "query length", qi[1], qs[2],
                         "the query's")) ||
        failed(expectDim(diag, "kv_doc_ids", 0, "batch", ki[0], qs[0],
                         "the query's")) ||
        failed(expectDim(diag, "kv_doc_ids", 1, "key length", ki[1], ks[2],
                         "the key's")))
      return failure();
  }
  if (MaskAttrInterface mask = adaptor.getMaskAttr())
    if (failed(mask.verifyForAttention(diag, qs[1], qs[2], ks[2], bool(qIds))))
      return failure();
  if (ArrayAttr mods = adaptor.getScoreModsAttr()) {
    for (auto [i, mod] : llvm::enumerate(mods)) {
      if (auto alibi = llvm::dyn_cast<AlibiAttr>(mod)) {
        size_t n = alibi.getSlopes() ? alibi.getSlopes().size() : 0;
        if (n != 0 && !ShapedType::isDynamic(qs[1]) &&
            static_cast<int64_t>(n) != qs[1])
          return diag() << "expected #attune.alibi to give one slope per "
                           "query head ("
                        << qs[1] << "), got " << n;
        continue;
      }
      if (llvm::isa<SoftcapAttr>(mod))
        continue;
      return diag() << "expected score_mods entries to be #attune.alibi or "
                       "#attune.softcap, got "
                    << mod << " at position " << i;
    }
  }
  return success();
}

LogicalResult AttentionOp::verifyRegions() {
  MLIRContext *ctx = getContext();
  Type index = IndexType::get(ctx), f32 = Float32Type::get(ctx);
  if (!getMaskFn().empty() && failed(verifyBody(*this, getMaskFn(), "mask",
                                                {index, index, index, index},
                                                {IntegerType::get(ctx, 1)})))
    return failure();
  if (!getScoreFn().empty() &&
      failed(verifyBody(*this, getScoreFn(), "score",
                        {f32, index, index, index, index}, {f32})))
    return failure();
  return success();
}

LogicalResult
DilatedAttentionOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                     Adaptor adaptor,
                                     SmallVectorImpl<Type> &types) {
  Diag diag(loc, "dilated_attention");
  if (failed(inferAttentionTypes(diag, adaptor.getQuery(), adaptor.getKey(),
                                 adaptor.getValue(), types)) ||
      failed(checkScale(diag, adaptor.getScale())))
    return failure();
  ArrayRef<int64_t> segments = adaptor.getSegments(),
                    rates = adaptor.getRates();
  if (segments.empty())
    return diag() << "expected at least one branch in segments";
  if (segments.size() != rates.size())
    return diag() << "expected as many rates as segments (" << segments.size()
                  << "), got " << rates.size();
  for (size_t i = 0; i < segments.size(); ++i) {
    if (segments[i] <= 0)
      return diag() << "expected segment > 0 in branch " << i << ", got "
                    << segments[i];
    if (rates[i] <= 0)
      return diag() << "expected rate > 0 in branch " << i << ", got "
                    << rates[i];
    if (segments[i] % rates[i] != 0)
      return diag() << "expected rate " << rates[i] << " to divide segment "
                    << segments[i] << " in branch " << i;
  }
  return success();
}

LogicalResult LshAttentionOp::inferReturnTypes(MLIRContext *ctx,
                                               std::optional<Location> loc,
                                               Adaptor adaptor,
                                               SmallVectorImpl<Type> &types) {
  Diag diag(loc, "lsh_attention");
  Value qk = adaptor.getQk(), v = adaptor.getValue();
  if (failed(expectRank(diag, "qk", qk, 4, "[B, H, L, D]")) ||
      failed(expectRank(diag, "value", v, 4, "[B, H, L, Dv]")) ||
      failed(expectSameElementType(diag, "value", v, "qk", qk)) ||
      failed(checkScale(diag, adaptor.getScale())))
    return failure();
  ArrayRef<int64_t> s = tensorOf(qk).getShape(), vs = tensorOf(v).getShape();
  for (int64_t i = 0; i < 3; ++i)
    if (failed(expectDim(diag, "value", i,
                         i == 0   ? "batch"
                         : i == 1 ? "heads"
                                  : "length",
                         vs[i], s[i], "qk's")))
      return failure();
  if (s[3] == 0)
    return diag() << "expected head dim D (qk dim 3) > 0, got 0";
  int64_t nb = adaptor.getNumBuckets(), rounds = adaptor.getNumRounds();
  if (nb < 1 || (nb != 1 && nb % 2 != 0))
    return diag() << "expected num_buckets to be 1 or a positive even number "
                     "(buckets come from argmax over [xR, -xR]), got "
                  << nb;
  // Far above what Reformer uses (a few thousand buckets, at most 16
  // rounds); the reference kernel enforces the same bounds.
  if (nb > (int64_t(1) << 16))
    return diag() << "expected num_buckets <= 65536, got " << nb;
  if (rounds < 1)
    return diag() << "expected num_rounds >= 1, got " << rounds;
  if (rounds > 256)
    return diag() << "expected num_rounds <= 256, got " << rounds;
  int64_t chunk = static_cast<int64_t>(adaptor.getChunkSize());
  if (chunk < 1)
    return diag() << "expected chunk_size >= 1, got " << chunk;
  if (Value rot = adaptor.getRotations()) {
    if (nb == 1)
      return diag() << "expected no rotations with num_buckets = 1 (nothing "
                       "is hashed)";
    if (failed(expectRank(diag, "rotations", rot, 3,
                          "[num_rounds, D, num_buckets / 2]")))
      return failure();
    ArrayRef<int64_t> rs = tensorOf(rot).getShape();
    if (failed(expectDim(diag, "rotations", 0, "rounds", rs[0], rounds,
                         "num_rounds")) ||
        failed(
            expectDim(diag, "rotations", 1, "head dim", rs[1], s[3], "qk's")) ||
        failed(expectDim(diag, "rotations", 2, "buckets / 2", rs[2], nb / 2,
                         "num_buckets / 2")))
      return failure();
  }
  int64_t b = joinDim(s[0], vs[0]), h = joinDim(s[1], vs[1]),
          l = joinDim(s[2], vs[2]);
  types.push_back(
      RankedTensorType::get({b, h, l, vs[3]}, tensorOf(qk).getElementType()));
  types.push_back(RankedTensorType::get({b, h, l}, Float32Type::get(ctx)));
  return success();
}

//===----------------------------------------------------------------------===//
// Norms, position encodings, projections
//===----------------------------------------------------------------------===//

namespace {
/// A per-feature vector operand ([D] matching the input's last dim).
LogicalResult expectFeatureVector(const Diag &diag, StringRef name, Value vec,
                                  Value input) {
  if (!vec)
    return success();
  if (failed(expectRank(diag, name, vec, 1, "[D]")) ||
      failed(expectSameElementType(diag, name, vec, "input", input)))
    return failure();
  int64_t d = tensorOf(input).getShape().back();
  return expectDim(diag, name, 0, "features", tensorOf(vec).getDimSize(0), d,
                   "the input's last dim");
}

LogicalResult checkEpsilon(const Diag &diag, APFloat eps) {
  double e = eps.convertToDouble();
  if (!(e >= 0) || std::isinf(e))
    return diag() << "expected epsilon >= 0 and finite, got " << e;
  return success();
}
} // namespace

LogicalResult RMSNormOp::inferReturnTypes(MLIRContext *,
                                          std::optional<Location> loc,
                                          Adaptor adaptor,
                                          SmallVectorImpl<Type> &types) {
  Diag diag(loc, "rms_norm");
  Value x = adaptor.getInput();
  if (failed(expectMinRank(diag, "input", x, 1)) ||
      failed(expectFeatureVector(diag, "weight", adaptor.getWeight(), x)) ||
      failed(checkEpsilon(diag, adaptor.getEpsilon())))
    return failure();
  types.push_back(x.getType());
  return success();
}

LogicalResult LayerNormOp::inferReturnTypes(MLIRContext *,
                                            std::optional<Location> loc,
                                            Adaptor adaptor,
                                            SmallVectorImpl<Type> &types) {
  Diag diag(loc, "layer_norm");
  Value x = adaptor.getInput();
  if (failed(expectMinRank(diag, "input", x, 1)) ||
      failed(expectFeatureVector(diag, "weight", adaptor.getWeight(), x)) ||
      failed(expectFeatureVector(diag, "bias", adaptor.getBias(), x)) ||
      failed(checkEpsilon(diag, adaptor.getEpsilon())))
    return failure();
  types.push_back(x.getType());
  return success();
}

LogicalResult RopeOp::inferReturnTypes(MLIRContext *,
                                       std::optional<Location> loc,
                                       Adaptor adaptor,
                                       SmallVectorImpl<Type> &types) {
  Diag diag(loc, "rope");
  Value x = adaptor.getInput();
  if (failed(expectMinRank(diag, "input", x, 2)))
    return failure();
  ArrayRef<int64_t> s = tensorOf(x).getShape();
  int64_t d = s.back(), l = s[s.size() - 2];
  double theta = adaptor.getTheta().convertToDouble();
  if (!(theta > 0) || std::isinf(theta))
    return diag() << "expected theta > 0 and finite, got " << theta;
  if (std::optional<uint64_t> rd = adaptor.getRotaryDim()) {
    int64_t r = static_cast<int64_t>(*rd);
    if (r <= 0 || r % 2 != 0)
      return diag() << "expected rotary_dim to be positive and even, got " << r;
    if (!ShapedType::isDynamic(d) && r > d)
      return diag() << "expected rotary_dim <= the head dim " << d << ", got "
                    << r;
  } else if (!ShapedType::isDynamic(d) && d % 2 != 0) {
    return diag() << "expected an even head dim (last dim) to rotate in "
                     "pairs, got "
                  << d;
  }
  if (Value pos = adaptor.getPositions()) {
    int64_t pr = tensorOf(pos).getRank();
    ArrayRef<int64_t> ps = tensorOf(pos).getShape();
    if (pr != 1 && pr != 2)
      return diag() << "expected positions of rank 1 [L] or 2 [B, L], got rank "
                    << pr;
    if (pr == 2 && s.size() < 3)
      return diag() << "expected positions of rank 1 [L] for a rank-"
                    << s.size()
                    << " input (positions [B, L] need an input of rank >= 3 "
                       "with B at dim 0)";
    if (failed(expectDim(diag, "positions", pr - 1, "length", ps.back(), l,
                         "the input's dim -2")))
      return failure();
    if (pr == 2 && failed(expectDim(diag, "positions", 0, "batch", ps[0], s[0],
                                    "the input's dim 0")))
      return failure();
  }
  types.push_back(x.getType());
  return success();
}

LogicalResult LinearOp::inferReturnTypes(MLIRContext *,
                                         std::optional<Location> loc,
                                         Adaptor adaptor,
                                         SmallVectorImpl<Type> &types) {
  Diag diag(loc, "linear");
  Value x = adaptor.getInput(), w = adaptor.getWeight();
  if (failed(expectMinRank(diag, "input", x, 1)) ||
      failed(expectRank(diag, "weight", w, 2, "[out, in]")) ||
      failed(expectSameElementType(diag, "weight", w, "input", x)))
    return failure();
  ArrayRef<int64_t> xs = tensorOf(x).getShape(), ws = tensorOf(w).getShape();
  if (failed(expectDim(diag, "weight", 1, "in features", ws[1], xs.back(),
                       "the input's last dim")))
    return failure();
  if (Value b = adaptor.getBias()) {
    if (failed(expectRank(diag, "bias", b, 1, "[out]")) ||
        failed(expectSameElementType(diag, "bias", b, "input", x)) ||
        failed(expectDim(diag, "bias", 0, "out features",
                         tensorOf(b).getDimSize(0), ws[0],
                         "the weight's dim 0")))
      return failure();
  }
  SmallVector<int64_t> shape(xs);
  shape.back() = ws[0];
  types.push_back(RankedTensorType::get(shape, tensorOf(x).getElementType()));
  return success();
}

LogicalResult MLPOp::inferReturnTypes(MLIRContext *,
                                      std::optional<Location> loc,
                                      Adaptor adaptor,
                                      SmallVectorImpl<Type> &types) {
  Diag diag(loc, "mlp");
  Value x = adaptor.getInput(), up = adaptor.getWUp(),
        down = adaptor.getWDown();
  if (failed(expectMinRank(diag, "input", x, 1)) ||
      failed(expectRank(diag, "w_up", up, 2, "[F, Din]")) ||
      failed(expectRank(diag, "w_down", down, 2, "[Dout, F]")) ||
      failed(expectSameElementType(diag, "w_up", up, "input", x)) ||
      failed(expectSameElementType(diag, "w_down", down, "input", x)))
    return failure();
  ArrayRef<int64_t> xs = tensorOf(x).getShape(), us = tensorOf(up).getShape(),
                    ds = tensorOf(down).getShape();
  if (failed(expectDim(diag, "w_up", 1, "in features", us[1], xs.back(),
                       "the input's last dim")) ||
      failed(expectDim(diag, "w_down", 1, "hidden features", ds[1], us[0],
                       "w_up's dim 0")))
    return failure();
  if (Value gate = adaptor.getWGate()) {
    if (failed(expectRank(diag, "w_gate", gate, 2, "[F, Din]")) ||
        failed(expectSameElementType(diag, "w_gate", gate, "input", x)))
      return failure();
    ArrayRef<int64_t> gs = tensorOf(gate).getShape();
    if (failed(expectDim(diag, "w_gate", 0, "hidden features", gs[0], us[0],
                         "w_up's dim 0")) ||
        failed(expectDim(diag, "w_gate", 1, "in features", gs[1], xs.back(),
                         "the input's last dim")))
      return failure();
  }
  for (auto [name, bias, want, from] :
       {std::make_tuple("b_up", adaptor.getBUp(), us[0], "w_up's dim 0"),
        std::make_tuple("b_down", adaptor.getBDown(), ds[0],
                        "w_down's dim 0")}) {
    if (!bias)
      continue;
    if (failed(expectRank(diag, name, bias, 1, "[features]")) ||
        failed(expectSameElementType(diag, name, bias, "input", x)) ||
        failed(expectDim(diag, name, 0, "features",
                         tensorOf(bias).getDimSize(0), want, from)))
      return failure();
  }
  SmallVector<int64_t> shape(xs);
  shape.back() = ds[0];
  types.push_back(RankedTensorType::get(shape, tensorOf(x).getElementType()));
  return success();
}

LogicalResult EmbeddingOp::inferReturnTypes(MLIRContext *,
                                            std::optional<Location> loc,
                                            Adaptor adaptor,
                                            SmallVectorImpl<Type> &types) {
  Diag diag(loc, "embedding");
  Value table = adaptor.getTable();
  if (failed(expectRank(diag, "table", table, 2, "[vocab, D]")))
    return failure();
  SmallVector<int64_t> shape(tensorOf(adaptor.getIds()).getShape());
  shape.push_back(tensorOf(table).getDimSize(1));
  types.push_back(
      RankedTensorType::get(shape, tensorOf(table).getElementType()));
  return success();
}

LogicalResult SoftmaxOp::inferReturnTypes(MLIRContext *,
                                          std::optional<Location> loc,
                                          Adaptor adaptor,
                                          SmallVectorImpl<Type> &types) {
  Diag diag(loc, "softmax");
  Value x = adaptor.getInput();
  if (failed(expectMinRank(diag, "input", x, 1)) ||
      failed(normalizeAxis(diag, "axis", adaptor.getAxis(),
                           tensorOf(x).getRank())))
    return failure();
  types.push_back(x.getType());
  return success();
}

LogicalResult CrossEntropyOp::inferReturnTypes(MLIRContext *,
                                               std::optional<Location> loc,
                                               Adaptor adaptor,
                                               SmallVectorImpl<Type> &types) {
  Diag diag(loc, "cross_entropy");
  Value logits = adaptor.getLogits(), labels = adaptor.getLabels();
  if (failed(expectRank(diag, "logits", logits, 2, "[N, C]")) ||
      failed(expectRank(diag, "labels", labels, 1, "[N]")))
    return failure();
  int64_t n = tensorOf(logits).getDimSize(0);
  if (failed(expectDim(diag, "labels", 0, "rows",
                       tensorOf(labels).getDimSize(0), n, "the logits' dim 0")))
    return failure();
  Type elt = tensorOf(logits).getElementType();
  if (adaptor.getReduction() == Reduction::None)
    types.push_back(RankedTensorType::get(
        {joinDim(n, tensorOf(labels).getDimSize(0))}, elt));
  else
    types.push_back(RankedTensorType::get({}, elt));
  return success();
}

//===----------------------------------------------------------------------===//
// Elementwise
//===----------------------------------------------------------------------===//

#define ATTUNE_UNARY_INFER(OP)                                                 \
  LogicalResult OP::inferReturnTypes(MLIRContext *, std::optional<Location>,   \
                                     Adaptor adaptor,                          \
                                     SmallVectorImpl<Type> &types) {           \
    types.push_back(adaptor.getInput().getType());                             \
    return success();                                                          \
  }
ATTUNE_UNARY_INFER(NegOp)
ATTUNE_UNARY_INFER(ExpOp)
ATTUNE_UNARY_INFER(LogOp)
ATTUNE_UNARY_INFER(TanhOp)
ATTUNE_UNARY_INFER(SqrtOp)
ATTUNE_UNARY_INFER(RsqrtOp)
ATTUNE_UNARY_INFER(SigmoidOp)
ATTUNE_UNARY_INFER(AbsOp)
ATTUNE_UNARY_INFER(SiluOp)
ATTUNE_UNARY_INFER(GeluOp)
ATTUNE_UNARY_INFER(GeluTanhOp)
ATTUNE_UNARY_INFER(ReluOp)
#undef ATTUNE_UNARY_INFER

namespace {
LogicalResult inferBinary(const Diag &diag, Value lhs, Value rhs,
                          SmallVectorImpl<Type> &types) {
  if (failed(expectSameElementType(diag, "rhs", rhs, "lhs", lhs)))
    return failure();
  SmallVector<int64_t> shape;
  if (!OpTrait::util::getBroadcastedShape(tensorOf(lhs).getShape(),
                                          tensorOf(rhs).getShape(), shape))
    return diag() << "expected operand shapes that broadcast, got "
                  << shapeStr(tensorOf(lhs).getShape()) << " and "
                  << shapeStr(tensorOf(rhs).getShape());
  types.push_back(RankedTensorType::get(shape, tensorOf(lhs).getElementType()));
  return success();
}
} // namespace

#define ATTUNE_BINARY_INFER(OP, NAME)                                          \
  LogicalResult OP::inferReturnTypes(                                          \
      MLIRContext *, std::optional<Location> loc, Adaptor adaptor,             \
      SmallVectorImpl<Type> &types) {                                          \
    return inferBinary(Diag(loc, NAME), adaptor.getLhs(), adaptor.getRhs(),    \
                       types);                                                 \
  }
ATTUNE_BINARY_INFER(AddOp, "add")
ATTUNE_BINARY_INFER(SubOp, "sub")
ATTUNE_BINARY_INFER(MulOp, "mul")
ATTUNE_BINARY_INFER(DivOp, "div")
ATTUNE_BINARY_INFER(MaxOp, "max")
ATTUNE_BINARY_INFER(MinOp, "min")
ATTUNE_BINARY_INFER(PowOp, "pow")
#undef ATTUNE_BINARY_INFER

LogicalResult CastOp::verify() {
  if (failed(
          verifyCompatibleShape(getInput().getType(), getOutput().getType())))
    return emitOpError() << "expected the result shape to equal the input "
                            "shape "
                         << shapeStr(getInput().getType().getShape())
                         << ", got "
                         << shapeStr(getOutput().getType().getShape());
  return success();
}

LogicalResult MatmulOp::inferReturnTypes(MLIRContext *,
                                         std::optional<Location> loc,
                                         Adaptor adaptor,
                                         SmallVectorImpl<Type> &types) {
  Diag diag(loc, "matmul");
  Value a = adaptor.getLhs(), b = adaptor.getRhs();
  if (failed(expectMinRank(diag, "lhs", a, 2)) ||
      failed(expectMinRank(diag, "rhs", b, 2)) ||
      failed(expectSameElementType(diag, "rhs", b, "lhs", a)))
    return failure();
  ArrayRef<int64_t> as = tensorOf(a).getShape(), bs = tensorOf(b).getShape();
  int64_t ar = as.size(), br = bs.size();
  if (failed(expectDim(diag, "rhs", br - 2, "contraction", bs[br - 2],
                       as[ar - 1], "the lhs's last dim")))
    return failure();
  SmallVector<int64_t> batch;
  if (!OpTrait::util::getBroadcastedShape(as.drop_back(2), bs.drop_back(2),
                                          batch))
    return diag() << "expected batch dims that broadcast, got "
                  << shapeStr(as.drop_back(2)) << " and "
                  << shapeStr(bs.drop_back(2));
  batch.push_back(as[ar - 2]);
  batch.push_back(bs[br - 1]);
  types.push_back(RankedTensorType::get(batch, tensorOf(a).getElementType()));
  return success();
}

LogicalResult TransposeOp::inferReturnTypes(MLIRContext *,
                                            std::optional<Location> loc,
                                            Adaptor adaptor,
                                            SmallVectorImpl<Type> &types) {
  Diag diag(loc, "transpose");
  ArrayRef<int64_t> perm = adaptor.getPermutation();
  ArrayRef<int64_t> s = tensorOf(adaptor.getInput()).getShape();
  if (perm.size() != s.size())
    return diag() << "expected a permutation of " << s.size()
                  << " dims (the input's rank), got " << perm.size();
  SmallVector<bool> seen(s.size(), false);
  SmallVector<int64_t> shape;
  for (int64_t p : perm) {
    if (p < 0 || p >= static_cast<int64_t>(s.size()) || seen[p])
      return diag() << "expected permutation to hold each of 0.."
                    << s.size() - 1 << " once, got " << shapeStr(perm);
    seen[p] = true;
    shape.push_back(s[p]);
  }
  types.push_back(RankedTensorType::get(
      shape, tensorOf(adaptor.getInput()).getElementType()));
  return success();
}

LogicalResult ReshapeOp::verify() {
  RankedTensorType in = getInput().getType(), out = getOutput().getType();
  if (in.getElementType() != out.getElementType())
    return emitOpError() << "expected the result element type "
                         << in.getElementType() << " (the input's), got "
                         << out.getElementType();
  if (!out.hasStaticShape())
    return emitOpError() << "expected a static result shape, got "
                         << shapeStr(out.getShape());
  // Element counts of the static dims, checked for int64 overflow.
  auto staticCount = [](ArrayRef<int64_t> shape) -> std::optional<int64_t> {
    int64_t n = 1;
    for (int64_t d : shape)
      if (!ShapedType::isDynamic(d) && llvm::MulOverflow(n, d, n))
        return std::nullopt;
    return n;
  };
  std::optional<int64_t> inCount = staticCount(in.getShape());
  std::optional<int64_t> outCount = staticCount(out.getShape());
  if (!inCount || !outCount)
    return emitOpError() << "expected element counts that fit in int64, got "
                         << shapeStr(in.getShape()) << " to "
                         << shapeStr(out.getShape());
  if (!in.hasStaticShape()) {
    // Unknown dims scale the known part: the result must be a multiple of it.
    if (*inCount != 0 && *outCount % *inCount != 0)
      return emitOpError() << "expected the result's " << *outCount
                           << " elements to be a multiple of " << *inCount
                           << " (the static part of the input "
                           << shapeStr(in.getShape()) << ")";
    return success();
  }
  if (*inCount != *outCount)
    return emitOpError() << "expected the result to hold " << *inCount
                         << " elements (the input's " << shapeStr(in.getShape())
                         << "), got " << *outCount << " in "
                         << shapeStr(out.getShape());
  return success();
}

LogicalResult ReduceOp::inferReturnTypes(MLIRContext *,
                                         std::optional<Location> loc,
                                         Adaptor adaptor,
                                         SmallVectorImpl<Type> &types) {
  Diag diag(loc, "reduce");
  RankedTensorType t = tensorOf(adaptor.getInput());
  ArrayRef<int64_t> axes = adaptor.getAxes();
  if (axes.empty())
    return diag() << "expected at least one axis to reduce";
  for (size_t i = 0; i < axes.size(); ++i) {
    if (axes[i] < 0 || axes[i] >= t.getRank())
      return diag() << "expected axes in [0, " << t.getRank() << "), got "
                    << axes[i];
    if (i > 0 && axes[i] <= axes[i - 1])
      return diag() << "expected axes in strictly increasing order, got "
                    << shapeStr(axes);
  }
  if (adaptor.getKind() == ReduceKind::Max)
    for (int64_t a : axes)
      if (t.getDimSize(a) == 0)
        return diag() << "expected a non-empty dim " << a
                      << " to take a max over, got size 0";
  SmallVector<int64_t> shape;
  for (int64_t i = 0; i < t.getRank(); ++i) {
    if (!llvm::is_contained(axes, i))
      shape.push_back(t.getDimSize(i));
    else if (adaptor.getKeepDims())
      shape.push_back(1);
  }
  types.push_back(RankedTensorType::get(shape, t.getElementType()));
  return success();
}

LogicalResult ConcatOp::inferReturnTypes(MLIRContext *,
                                         std::optional<Location> loc,
                                         Adaptor adaptor,
                                         SmallVectorImpl<Type> &types) {
  Diag diag(loc, "concat");
  ValueRange inputs = adaptor.getInputs();
  if (inputs.empty())
    return diag() << "expected at least one input";
  RankedTensorType first = tensorOf(inputs[0]);
  FailureOr<int64_t> axis =
      normalizeAxis(diag, "axis", adaptor.getAxis(), first.getRank());
  if (failed(axis))
    return failure();
  SmallVector<int64_t> shape(first.getShape());
  for (auto [i, in] : llvm::enumerate(inputs.drop_front())) {
    RankedTensorType t = tensorOf(in);
    if (t.getElementType() != first.getElementType() ||
        t.getRank() != first.getRank())
      return diag() << "expected input #" << i + 1 << " to be a rank-"
                    << first.getRank() << " tensor of "
                    << first.getElementType() << " like input #0, got " << t;
    for (int64_t d = 0; d < t.getRank(); ++d) {
      if (d == *axis) {
        int64_t sum;
        if (ShapedType::isDynamic(shape[d]) || t.isDynamicDim(d))
          shape[d] = ShapedType::kDynamic;
        else if (llvm::AddOverflow(shape[d], t.getDimSize(d), sum))
          return diag() << "expected the concatenated dim " << d
                        << " to fit in int64, got " << shape[d] << " + "
                        << t.getDimSize(d) << " at input #" << i + 1;
        else
          shape[d] = sum;
      } else if (!sameDim(shape[d], t.getDimSize(d))) {
        return diag() << "expected input #" << i + 1 << " dim " << d
                      << " to be " << dimStr(shape[d]) << " (input #0's), got "
                      << dimStr(t.getDimSize(d));
      }
    }
  }
  types.push_back(RankedTensorType::get(shape, first.getElementType()));
  return success();
}

LogicalResult SliceOp::inferReturnTypes(MLIRContext *,
                                        std::optional<Location> loc,
                                        Adaptor adaptor,
                                        SmallVectorImpl<Type> &types) {
  Diag diag(loc, "slice");
  RankedTensorType t = tensorOf(adaptor.getInput());
  FailureOr<int64_t> axis =
      normalizeAxis(diag, "axis", adaptor.getAxis(), t.getRank());
  if (failed(axis))
    return failure();
  int64_t start = adaptor.getStart(), size = adaptor.getSize();
  if (start < 0 || size < 0)
    return diag() << "expected start >= 0 and size >= 0, got start = " << start
                  << ", size = " << size;
  int64_t dim = t.getDimSize(*axis);
  // start > dim || size > dim - start is start + size > dim without overflow.
  if (!ShapedType::isDynamic(dim) && (start > dim || size > dim - start))
    return diag() << "expected start + size <= " << dim << " (dim " << *axis
                  << "), got " << start << " + " << size;
  SmallVector<int64_t> shape(t.getShape());
  shape[*axis] = size;
  types.push_back(RankedTensorType::get(shape, t.getElementType()));
  return success();
}

//===----------------------------------------------------------------------===//
// Structure
//===----------------------------------------------------------------------===//

LogicalResult ReversibleOp::verifyRegions() {
  Type t1 = getX1().getType(), t2 = getX2().getType();
  if (failed(verifyBody(*this, getF(), "f", {t2}, {t1})) ||
      failed(verifyBody(*this, getG(), "g", {t1}, {t2})))
    return failure();
  return success();
}

LogicalResult CheckpointOp::verifyRegions() {
  return verifyBody(*this, getBody(), "body", getInputs().getTypes(),
                    getResultTypes());
}

LogicalResult ChunkedOp::verifyRegions() {
  RankedTensorType in = getInput().getType();
  int64_t axis = getAxis(), chunk = getChunkSize();
  if (axis < 0 || axis >= in.getRank())
    return emitOpError() << "expected axis in [0, " << in.getRank() << "), got "
                         << axis;
  if (chunk < 1)
    return emitOpError() << "expected chunk_size >= 1, got " << chunk;
  int64_t dim = in.getDimSize(axis);
  if (!ShapedType::isDynamic(dim) && dim % chunk != 0)
    return emitOpError() << "expected chunk_size " << chunk << " to divide dim "
                         << axis << " of the input (" << dim << ")";
  SmallVector<int64_t> chunkShape(in.getShape());
  chunkShape[axis] = chunk;
  Type argType = RankedTensorType::get(chunkShape, in.getElementType());
  SmallVector<Type> yieldTypes;
  for (auto [i, r] : llvm::enumerate(getResults())) {
    auto rt = llvm::cast<RankedTensorType>(r.getType());
    if (rt.getRank() <= axis)
      return emitOpError() << "expected result #" << i << " of rank > " << axis
                           << " to concatenate along axis " << axis
                           << ", got rank " << rt.getRank();
    if (!sameDim(rt.getDimSize(axis), dim))
      return emitOpError() << "expected result #" << i << " dim " << axis
                           << " to be " << dimStr(dim) << " (the input's), got "
                           << dimStr(rt.getDimSize(axis));
    SmallVector<int64_t> ys(rt.getShape());
    ys[axis] = chunk;
    yieldTypes.push_back(RankedTensorType::get(ys, rt.getElementType()));
  }
  return verifyBody(*this, getBody(), "body", {argType}, yieldTypes);
}

#define GET_OP_CLASSES
#include "attune/Dialect/Attune/AttuneOps.cpp.inc"
