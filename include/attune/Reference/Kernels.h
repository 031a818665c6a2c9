//===- Kernels.h - Reference semantics of every attune op -------*- C++ -*-===//
//
// The numerics oracle. Each function here defines what its attune op means;
// every backend is tested against it by the tolerance rule of DESIGN.md
// section 6. Two precisions:
//   - Precision::F64: every operation in double, nothing rounded ("gold").
//   - Precision::Native: what a backend computes for the tensors' dtype:
//     inputs are taken as stored, every multiply/add of an accumulation is
//     rounded to f32 (f32 accumulation), and each op output is rounded to its
//     dtype. This is "ref_lowp" of the tolerance rule.
// This library links no LLVM/MLIR: the interpreter (Interpreter.h) maps attune
// ops and attributes onto these functions.
//
//===----------------------------------------------------------------------===//

#ifndef ATTUNE_REFERENCE_KERNELS_H
#define ATTUNE_REFERENCE_KERNELS_H

#include "attune/runtime/HostTensor.h"

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace attune::ref {

enum class Precision { F64, Native };

/// A dense row-major tensor of doubles with a logical dtype. In Native mode
/// every stored value is representable in `dtype`.
struct RefTensor {
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  std::vector<double> data;

  RefTensor() = default;
  RefTensor(DType dtype, std::vector<int64_t> shape); // zero-filled
  int64_t numElements() const { return static_cast<int64_t>(data.size()); }
  int64_t rank() const { return static_cast<int64_t>(shape.size()); }
  int64_t dim(int64_t i) const { return shape[i < 0 ? i + rank() : i]; }

  static RefTensor fromHost(const HostTensor &t);
  /// Converts to a HostTensor of `dtype` (rounding as HostTensor does).
  HostTensor toHost() const;
};

/// Rounds a value produced by an op to the op's output dtype (Native) or
/// leaves it alone (F64).
double roundOut(double x, DType t, Precision p);
/// Rounds an intermediate accumulation step: to f32 in Native mode unless the
/// dtype is f64.
double roundAcc(double x, DType t, Precision p);

//===----------------------------------------------------------------------===//
// Attention
//===----------------------------------------------------------------------===//

/// One term of an attention mask; `allowed(b, h, q, k)` is defined per kind.
/// Positions q in [0, Lq), k in [0, Lk). Aligned query position
/// q' = q + (bottomRight ? Lk - Lq : 0).
struct MaskTerm {
  enum class Kind {
    Causal,        ///< k <= q'
    SlidingWindow, ///< q' - left <= k <= q' + right
    Global,        ///< q in tokens or k in tokens (Longformer global tokens)
    BlockSparse,   ///< layout[(h,)q / blockQ][k / blockK] != 0
    Strided,       ///< (q - k) mod stride == 0 (Sparse Transformer)
    Dilated,       ///< same segment (q/segment == k/segment) and both
                   ///< (q%segment)%rate == o and (k%segment)%rate == o, with
                   ///< o = offset, or h % rate when offset is absent (LongNet)
    Document,      ///< qDocIds[b][q] == kvDocIds[b][k]
    PrefixLM,      ///< k < prefix or k <= q
    And,           ///< all children allow (empty: true)
    Or,            ///< some child allows (empty: false)
  };
  Kind kind = Kind::Causal;
  bool bottomRight = false;       ///< Causal, SlidingWindow
  int64_t left = 0, right = 0;    ///< SlidingWindow, both >= 0
  std::vector<int64_t> tokens;    ///< Global
  int64_t blockQ = 0, blockK = 0; ///< BlockSparse
  std::vector<int64_t>
      layoutShape;                ///< BlockSparse: [nQB, nKB] or [H, nQB, nKB]
  std::vector<uint8_t> layout;    ///< BlockSparse, row-major
  int64_t stride = 0;             ///< Strided
  int64_t segment = 0, rate = 0;  ///< Dilated
  std::optional<int64_t> offset;  ///< Dilated
  int64_t prefix = 0;             ///< PrefixLM
  std::vector<MaskTerm> children; ///< And, Or
};

/// A named score modification, applied to the scaled score s.
struct ScoreMod {
  enum class Kind {
    Alibi,   ///< s - slope[h] * |q' - k|, q' bottom-right aligned
    Softcap, ///< cap * tanh(s / cap)
  };
  Kind kind = Kind::Softcap;
  /// Alibi: one slope per query head; empty means the ALiBi paper's slopes
  /// for Hq heads (alibiSlopes).
  std::vector<double> slopes;
  double cap = 0; ///< Softcap, > 0
};

/// The ALiBi paper's head slopes: for a power of two n, 2^(-8(i+1)/n); for
/// other H, the slopes of the nearest lower power of two n followed by every
/// other slope of 2n, H in all.
std::vector<double> alibiSlopes(int64_t numHeads);

/// User mask and score functions (the op's regions). They may fail.
using MaskFn = std::function<Status(int64_t b, int64_t h, int64_t q, int64_t k,
                                    bool &allowed)>;
using ScoreFn = std::function<Status(double s, int64_t b, int64_t h, int64_t q,
                                     int64_t k, double &result)>;

struct AttentionSpec {
  std::optional<double> scale;         ///< default 1/sqrt(D)
  std::optional<MaskTerm> mask;        ///< absent: every pair allowed
  std::vector<ScoreMod> scoreMods;     ///< applied in order, before scoreFn
  const RefTensor *qDocIds = nullptr;  ///< [B, Lq] integers, for Document
  const RefTensor *kvDocIds = nullptr; ///< [B, Lk] integers, for Document
  MaskFn maskFn;                       ///< ANDed with `mask` when set
  ScoreFn scoreFn;                     ///< applied after scoreMods when set
};

/// Softmax attention. q [B, Hq, Lq, D], k [B, Hkv, Lk, D], v [B, Hkv, Lk, Dv]
/// with Hq % Hkv == 0; query head h reads kv head h / (Hq / Hkv).
/// s = scale * q.k, then scoreMods, then scoreFn; pairs the mask disallows
/// are excluded. out [B, Hq, Lq, Dv] (dtype of q), lse [B, Hq, Lq] (f32,
/// natural log). A row with no allowed key gives out = 0 and lse = -inf.
/// Native: dots accumulate in f32, scores stay f32, P = exp(s - lse) is
/// rounded to the dtype before P.V (as FlashAttention does), out rounded.
Status attention(const RefTensor &q, const RefTensor &k, const RefTensor &v,
                 const AttentionSpec &spec, Precision p, RefTensor &out,
                 RefTensor &lse);

/// Merges partial attention results over disjoint or overlapping key sets:
/// lse = log sum_i exp(lse_i), out = sum_i exp(lse_i - lse) out_i; rows whose
/// every lse_i is -inf give out = 0, lse = -inf.
Status combineByLse(const std::vector<RefTensor> &outs,
                    const std::vector<RefTensor> &lses, Precision p,
                    RefTensor &out, RefTensor &lse);

struct DilatedBranch {
  int64_t segment = 0; ///< w_i > 0
  int64_t rate = 0;    ///< r_i > 0, divides w_i
};

/// LongNet dilated attention: branch i is attention under the mask
/// Dilated(w_i, r_i, offset h % r_i) (ANDed with top-left Causal if causal);
/// the branches are combined by combineByLse, i.e. weighted by their softmax
/// denominators.
Status dilatedAttention(const RefTensor &q, const RefTensor &k,
                        const RefTensor &v,
                        const std::vector<DilatedBranch> &branches, bool causal,
                        std::optional<double> scale, Precision p,
                        RefTensor &out, RefTensor &lse);

/// Bounds on LSH attributes (the op verifier enforces the same).
constexpr int64_t kMaxLshBuckets = 1 << 16;
constexpr int64_t kMaxLshRounds = 256;

struct LshSpec {
  int64_t numBuckets = 2; ///< 1, or even
  int64_t numRounds = 1;  ///< >= 1
  int64_t chunkSize = 64; ///< >= 1
  uint64_t seed = 0;
  bool causal = false;
  std::optional<double> scale; ///< default 1/sqrt(D)
};

/// Reformer LSH attention with shared QK. qk [B, H, L, D], v [B, H, L, Dv].
/// For each round r: rotations R_r [D, nb/2] are `rotations[r]` when given
/// ([rounds, D, nb/2]) else R_r[d][j] = philoxNormal(seed, r, d*(nb/2)+j);
/// the bucket of x is argmax over [xR_r, -xR_r] (first maximum wins, computed
/// in f64 in both precisions; nb == 1 puts every token in bucket 0). Positions
/// are stably sorted by bucket and cut into chunks of chunkSize (the last may
/// be shorter); a query in chunk c may attend to the set of positions in
/// chunks c and c-1 (chunk 0 looks back at the last chunk); causal removes
/// k > q; the query itself is removed unless it is the only candidate. Keys
/// are x/|x| (0 for x = 0); s = scale * q.k. Rounds combine by combineByLse.
Status lshAttention(const RefTensor &qk, const RefTensor &v,
                    const RefTensor *rotations, const LshSpec &spec,
                    Precision p, RefTensor &out, RefTensor &lse);

//===----------------------------------------------------------------------===//
// Norms, position encodings, projections
//===----------------------------------------------------------------------===//

/// y = x / sqrt(mean(x^2 over the last dim) + eps) * weight; weight [D] or
/// none.
Status rmsNorm(const RefTensor &x, const RefTensor *weight, double eps,
               Precision p, RefTensor &y);

/// y = (x - mean) / sqrt(var + eps) * weight + bias over the last dim (biased
/// variance); weight and bias [D] or none.
Status layerNorm(const RefTensor &x, const RefTensor *weight,
                 const RefTensor *bias, double eps, Precision p, RefTensor &y);

/// Rotary embedding on x [..., L, D] (L = dim -2). Pairs (i, i + rd/2)
/// (half-split) or (2i, 2i+1) (interleaved) for i < rd/2, rd = rotaryDim
/// (even, <= D; 0 means D), rotate by angle pos * theta^(-2i/rd):
/// (a, b) -> (a cos - b sin, a sin + b cos). Dims >= rd pass through.
/// positions: none (0..L-1), [L], or [B, L] with B = dim 0 of x.
Status rope(const RefTensor &x, const RefTensor *positions, double theta,
            bool interleaved, int64_t rotaryDim, Precision p, RefTensor &y);

/// y = x W^T + b: x [..., in], w [out, in], b [out] or none.
Status linear(const RefTensor &x, const RefTensor &w, const RefTensor *b,
              Precision p, RefTensor &y);

enum class Activation { Silu, Gelu, GeluTanh, Relu };
/// silu: x sigmoid(x); gelu: 0.5x(1+erf(x/sqrt 2)); gelu_tanh:
/// 0.5x(1+tanh(sqrt(2/pi)(x+0.044715x^3))); relu: max(x, 0).
double activate(Activation a, double x);

/// Fused MLP. h = x Wup^T + bUp; gated: h = act(x Wgate^T) * h, else
/// h = act(h); y = h Wdown^T + bDown. wUp/wGate [F, Din], wDown [Dout, F].
/// Native: h is rounded to the dtype before the down projection.
Status mlp(const RefTensor &x, const RefTensor *wGate, const RefTensor &wUp,
           const RefTensor &wDown, const RefTensor *bUp, const RefTensor *bDown,
           Activation act, Precision p, RefTensor &y);

/// y[..., :] = table[ids[...], :]; an id outside [0, V) is an OutOfRange error
/// naming its position and value. y has the table's dtype.
Status embedding(const RefTensor &ids, const RefTensor &table, RefTensor &y);

/// Softmax along `axis` (negative counts from the back). A slice that is all
/// -inf gives zeros.
Status softmax(const RefTensor &x, int64_t axis, Precision p, RefTensor &y);

enum class Reduction { None, Mean, Sum };
/// loss_i = logsumexp(logits_i) - logits_i[labels_i] for logits [N, C], labels
/// [N]; rows with labels_i == ignoreIndex get loss 0 and are not counted.
/// None: [N]; Sum: rank 0; Mean: sum / count of counted rows (0 if none).
/// A label outside [0, C) that is not ignoreIndex is an OutOfRange error.
Status crossEntropy(const RefTensor &logits, const RefTensor &labels,
                    int64_t ignoreIndex, Reduction r, Precision p,
                    RefTensor &loss);

//===----------------------------------------------------------------------===//
// Elementwise and layout
//===----------------------------------------------------------------------===//

enum class UnaryKind {
  Neg,
  Exp,
  Log,
  Tanh,
  Sqrt,
  Rsqrt,
  Sigmoid,
  Abs,
  Silu,
  Gelu,
  GeluTanh,
  Relu
};
Status unary(UnaryKind kind, const RefTensor &x, Precision p, RefTensor &y);

enum class BinaryKind { Add, Sub, Mul, Div, Max, Min, Pow };
/// NumPy broadcasting; the result has a's dtype (a and b share it).
Status binary(BinaryKind kind, const RefTensor &a, const RefTensor &b,
              Precision p, RefTensor &y);

/// Converts to `dtype` (rounding in both precisions: a cast is a cast).
Status cast(const RefTensor &x, DType dtype, RefTensor &y);

/// a [..., M, K] @ b [..., K, N] with NumPy broadcasting of the batch dims;
/// f32 accumulation in Native mode.
Status matmul(const RefTensor &a, const RefTensor &b, Precision p,
              RefTensor &y);

/// y = x permuted: y.shape[i] = x.shape[perm[i]].
Status transpose(const RefTensor &x, const std::vector<int64_t> &perm,
                 RefTensor &y);
/// Same elements, new shape (element counts must match).
Status reshape(const RefTensor &x, const std::vector<int64_t> &shape,
               RefTensor &y);

enum class ReduceKind { Sum, Mean, Max };
/// Reduces over `axes` (sorted, distinct, non-negative); keepDims keeps them as
/// size 1.
Status reduce(ReduceKind kind, const RefTensor &x,
              const std::vector<int64_t> &axes, bool keepDims, Precision p,
              RefTensor &y);

/// Concatenates along `axis`; shapes must agree elsewhere.
Status concat(const std::vector<RefTensor> &xs, int64_t axis, RefTensor &y);
/// y = x[..., start:start+size, ...] along `axis`.
Status slice(const RefTensor &x, int64_t axis, int64_t start, int64_t size,
             RefTensor &y);

//===----------------------------------------------------------------------===//
// The tolerance rule (DESIGN.md section 6)
//===----------------------------------------------------------------------===//

struct ToleranceReport {
  bool ok = false;
  double maxError = 0;     ///< max |out - gold|
  double refError = 0;     ///< max |lowp - gold|
  double bound = 0;        ///< 2 * refError + floor
  int64_t worstIndex = -1; ///< where maxError is reached
  std::string message;     ///< one line for a test failure
};

/// max|out - gold| <= 2 max|lowp - gold| + floor, elementwise over tensors of
/// one shape. Infinities must match exactly (same sign, same place) and NaN
/// anywhere fails.
ToleranceReport checkTolerance(const RefTensor &out, const RefTensor &gold,
                               const RefTensor &lowp, double floor);

} // namespace attune::ref

#endif // ATTUNE_REFERENCE_KERNELS_H
