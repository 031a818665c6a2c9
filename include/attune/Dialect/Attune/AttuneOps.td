//===- AttuneOps.td - attune operations -------------------------*- tablegen -*-===//
//
// Every op infers its result types from its operands (InferTypeOpAdaptor);
// the checks that make an op well formed live in inferReturnTypes so that a
// bad op is reported once, with the operand, the value found and what was
// expected. Result types may be less static than the inferred ones
// (isCompatibleReturnTypes); `attune-infer-shapes` refines them.
//
//===----------------------------------------------------------------------===//

#ifndef ATTUNE_OPS_TD
#define ATTUNE_OPS_TD

include "attune/Dialect/Attune/AttuneBase.td"
include "mlir/Interfaces/InferTypeOpInterface.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/Interfaces/ControlFlowInterfaces.td"
include "mlir/IR/OpAsmInterface.td"

class Attune_Op<string mnemonic, list<Trait> traits = []>
    : Op<Attune_Dialect, mnemonic, traits>;

/// Ops whose result types follow from their operands.
class Attune_InferOp<string mnemonic, list<Trait> traits = []>
    : Attune_Op<mnemonic, !listconcat(traits,
                                      [Pure, InferTypeOpAdaptorWithIsCompatible])>;

def Attune_FloatTensor : RankedTensorOf<[F64, F32, F16, BF16]>;
def Attune_IntTensor : RankedTensorOf<[AnySignlessInteger, Index]>;
def Attune_AnyTensor : RankedTensorOf<[AnyType]>;

//===----------------------------------------------------------------------===//
// Attention
//===----------------------------------------------------------------------===//

def Attune_AttentionOp : Attune_InferOp<"attention", [AttrSizedOperandSegments,
    RecursiveMemoryEffects]> {
  let summary = "softmax attention with mask terms, score mods and regions";
  let description = [{
    `q [B, Hq, Lq, D]`, `k [B, Hkv, Lk, D]`, `v [B, Hkv, Lk, Dv]` with
    `Hq % Hkv == 0` (GQA; MQA when Hkv = 1). Scores are `scale * q.k`
    (default `1/sqrt(D)`), then each `score_mods` entry in order
    (`#attune.alibi`, `#attune.softcap`), then the `score` region. A pair is
    attended when the `mask` attribute and the `mask` region both allow it.
    Results: `out [B, Hq, Lq, Dv]` in q's element type and
    `lse [B, Hq, Lq]` (f32, natural log). A row that allows no key gives
    out = 0 and lse = -inf.

    The `mask` region receives `(b, h, q_idx, kv_idx : index)` and yields an
    `i1`; the `score` region receives `(s : f32, b, h, q_idx, kv_idx : index)`
    and yields an `f32`, as FlexAttention's mask_mod and score_mod. Both may
    read tensors defined above (`tensor.extract`), e.g. a relative bias table.
    `doc(%q_ids, %kv_ids)` gives the `[B, Lq]` and `[B, Lk]` document ids of
    `#attune.document`.

    ```mlir
    %out, %lse = attune.attention %q, %k, %v doc(%ids, %ids) {
        mask = #attune.and<[#attune.causal, #attune.document]>,
        score_mods = [#attune.softcap<30.0>]}
      score {
      ^bb0(%s: f32, %b: index, %h: index, %i: index, %j: index):
        %bias = tensor.extract %rel[%h, %i, %j] : tensor<8x128x128xf32>
        %t = arith.addf %s, %bias : f32
        attune.yield %t : f32
      }
      : (tensor<2x8x128x64xbf16>, tensor<2x2x128x64xbf16>,
         tensor<2x2x128x64xbf16>, tensor<2x128xi32>, tensor<2x128xi32>)
      -> (tensor<2x8x128x64xbf16>, tensor<2x8x128xf32>)
    ```
  }];
  let arguments = (ins Attune_FloatTensor:$query, Attune_FloatTensor:$key,
                       Attune_FloatTensor:$value,
                       Optional<Attune_IntTensor>:$q_doc_ids,
                       Optional<Attune_IntTensor>:$kv_doc_ids,
                       OptionalAttr<F64Attr>:$scale,
                       OptionalAttr<Attune_MaskAttrInterface>:$mask,
                       OptionalAttr<ArrayAttr>:$score_mods);
  let results = (outs Attune_FloatTensor:$out, Attune_FloatTensor:$lse);
  let regions = (region MaxSizedRegion<1>:$mask_fn,
                        MaxSizedRegion<1>:$score_fn);
  let assemblyFormat = [{
    $query `,` $key `,` $value
    (`doc` `(` $q_doc_ids^ `,` $kv_doc_ids `)`)?
    attr-dict
    (`mask` $mask_fn^)?
    (`score` $score_fn^)?
    `:` functional-type(operands, results)
  }];
  let hasRegionVerifier = 1;
}

def Attune_DilatedAttentionOp : Attune_InferOp<"dilated_attention"> {
  let summary = "LongNet dilated attention over (segment, rate) branches";
  let description = [{
    Branch i attends within segments of `segments[i]` positions to every
    `rates[i]`-th position (offset h mod rate for head h); the branch outputs
    are mixed with weights proportional to their softmax denominators
    (equivalently, combined by their log-sum-exp). Shapes as
    `attune.attention`; `causal` adds a top-left causal mask to each branch.

    ```mlir
    %out, %lse = attune.dilated_attention %q, %k, %v {
        segments = array<i64: 512, 1024, 2048>, rates = array<i64: 1, 2, 4>}
      : (tensor<1x8x2048x64xf16>, tensor<1x8x2048x64xf16>,
         tensor<1x8x2048x64xf16>)
      -> (tensor<1x8x2048x64xf16>, tensor<1x8x2048xf32>)
    ```
  }];
  let arguments = (ins Attune_FloatTensor:$query, Attune_FloatTensor:$key,
                       Attune_FloatTensor:$value,
                       DenseI64ArrayAttr:$segments, DenseI64ArrayAttr:$rates,
                       UnitAttr:$causal, OptionalAttr<F64Attr>:$scale);
  let results = (outs Attune_FloatTensor:$out, Attune_FloatTensor:$lse);
  let assemblyFormat = [{
    $query `,` $key `,` $value attr-dict `:` functional-type(operands, results)
  }];
}

def Attune_LshAttentionOp : Attune_InferOp<"lsh_attention"> {
  let summary = "Reformer LSH attention with shared query/key";
  let description = [{
    `qk [B, H, L, D]` serves as queries and (normalized) keys. Each of
    `num_rounds` rounds hashes positions into `num_buckets` buckets by a random
    rotation (argmax over [xR, -xR]), sorts them stably by bucket, and lets each
    chunk of `chunk_size` sorted positions attend to itself and the previous
    chunk (chunk 0 to the last chunk; the two as a set, so one chunk is never
    counted twice); `causal` removes later positions; a position attends to
    itself only when nothing else is available.
    Rounds combine by log-sum-exp. Rotations `[num_rounds, D, num_buckets/2]`
    come from the optional operand or from Philox-4x32-10 keyed by `seed`.

    ```mlir
    %out, %lse = attune.lsh_attention %qk, %v {num_buckets = 8,
        num_rounds = 2, chunk_size = 64, seed = 42, causal}
      : (tensor<1x4x512x64xf32>, tensor<1x4x512x64xf32>)
      -> (tensor<1x4x512x64xf32>, tensor<1x4x512xf32>)
    ```
  }];
  let arguments = (ins Attune_FloatTensor:$qk, Attune_FloatTensor:$value,
                       Optional<Attune_FloatTensor>:$rotations,
                       I64Attr:$num_buckets, I64Attr:$num_rounds,
                       I64Attr:$chunk_size, I64Attr:$seed, UnitAttr:$causal,
                       OptionalAttr<F64Attr>:$scale);
  let results = (outs Attune_FloatTensor:$out, Attune_FloatTensor:$lse);
  let assemblyFormat = [{
    $qk `,` $value (`rotations` $rotations^)? attr-dict
    `:` functional-type(operands, results)
  }];
}

//===----------------------------------------------------------------------===//
// Norms, position encodings, projections
//===----------------------------------------------------------------------===//

def Attune_RMSNormOp : Attune_InferOp<"rms_norm"> {
  let summary = "RMSNorm over the last dimension";
  let description = [{
    `y = x / sqrt(mean(x^2) + epsilon) * weight`; `weight [D]` is optional.

    ```mlir
    %y = attune.rms_norm %x weight %w {epsilon = 1.0e-05 : f64}
      : (tensor<2x128x512xbf16>, tensor<512xbf16>) -> tensor<2x128x512xbf16>
    ```
  }];
  let arguments = (ins Attune_FloatTensor:$input,
                       Optional<Attune_FloatTensor>:$weight,
                       DefaultValuedAttr<F64Attr, "1.0e-6">:$epsilon);
  let results = (outs Attune_FloatTensor:$output);
  let assemblyFormat = [{
    $input (`weight` $weight^)? attr-dict `:` functional-type(operands, results)
  }];
}

def Attune_LayerNormOp : Attune_InferOp<"layer_norm", [AttrSizedOperandSegments]> {
  let summary = "LayerNorm over the last dimension";
  let description = [{
    `y = (x - mean) / sqrt(var + epsilon) * weight + bias` with the biased
    variance; `weight` and `bias` are `[D]` and optional.

    ```mlir
    %y = attune.layer_norm %x weight %w bias %b {epsilon = 1.0e-05 : f64}
      : (tensor<2x128x512xf32>, tensor<512xf32>, tensor<512xf32>)
      -> tensor<2x128x512xf32>
    ```
  }];
  let arguments = (ins Attune_FloatTensor:$input,
                       Optional<Attune_FloatTensor>:$weight,
                       Optional<Attune_FloatTensor>:$bias,
                       DefaultValuedAttr<F64Attr, "1.0e-5">:$epsilon);
  let results = (outs Attune_FloatTensor:$output);
  let assemblyFormat = [{
    $input (`weight` $weight^)? (`bias` $bias^)? attr-dict
    `:` functional-type(operands, results)
  }];
}

def Attune_RopeOp : Attune_InferOp<"rope"> {
  let summary = "rotary position embedding (half-split or interleaved)";
  let description = [{
    Rotates pairs of the last dimension of `x [..., L, D]` by `pos * theta^(-2i/rd)`:
    pairs (i, i + rd/2) by default (Llama, GPT-NeoX), (2i, 2i+1) with
    `interleaved` (GPT-J). `rotary_dim` (rd, even, default D) leaves the
    dimensions above it alone. `positions` (`[L]` or `[B, L]`, integers)
    default to 0..L-1.

    ```mlir
    %y = attune.rope %x positions %pos {theta = 500000.0 : f64}
      : (tensor<1x8x128x64xf32>, tensor<128xi64>) -> tensor<1x8x128x64xf32>
    ```
  }];
  let arguments = (ins Attune_FloatTensor:$input,
                       Optional<Attune_IntTensor>:$positions,
                       DefaultValuedAttr<F64Attr, "10000.0">:$theta,
                       UnitAttr:$interleaved,
                       OptionalAttr<I64Attr>:$rotary_dim);
  let results = (outs Attune_FloatTensor:$output);
  let assemblyFormat = [{
    $input (`positions` $positions^)? attr-dict
    `:` functional-type(operands, results)
  }];
}

def Attune_LinearOp : Attune_InferOp<"linear"> {
  let summary = "y = x W^T + b with W in PyTorch's [out, in] layout";
  let description = [{
    ```mlir
    %y = attune.linear %x, %w bias %b
      : (tensor<2x128x512xf32>, tensor<1024x512xf32>, tensor<1024xf32>)
      -> tensor<2x128x1024xf32>
    ```
  }];
  let arguments = (ins Attune_FloatTensor:$input, Attune_FloatTensor:$weight,
                       Optional<Attune_FloatTensor>:$bias);
  let results = (outs Attune_FloatTensor:$output);
  let assemblyFormat = [{
    $input `,` $weight (`bias` $bias^)? attr-dict
    `:` functional-type(operands, results)
  }];
}

def Attune_MLPOp : Attune_InferOp<"mlp", [AttrSizedOperandSegments]> {
  let summary = "fused MLP: gated (SwiGLU, GeGLU) or plain";
  let description = [{
    `h = x W_up^T + b_up`; with `gate`, `h = act(x W_gate^T) * h` (SwiGLU
    for silu, GeGLU for gelu), otherwise `h = act(h)`; `y = h W_down^T +
    b_down`. `W_up`, `W_gate` are `[F, Din]`, `W_down` is `[Dout, F]`.

    ```mlir
    %y = attune.mlp %x, %w_up, %w_down gate %w_gate
        {activation = #attune.activation<silu>}
      : (tensor<2x128x512xbf16>, tensor<1376x512xbf16>,
         tensor<512x1376xbf16>, tensor<1376x512xbf16>)
      -> tensor<2x128x512xbf16>
    ```
  }];
  let arguments = (ins Attune_FloatTensor:$input, Attune_FloatTensor:$w_up,
                       Attune_FloatTensor:$w_down,
                       Optional<Attune_FloatTensor>:$w_gate,
                       Optional<Attune_FloatTensor>:$b_up,
                       Optional<Attune_FloatTensor>:$b_down,
                       Attune_ActivationAttr:$activation);
  let results = (outs Attune_FloatTensor:$output);
  let assemblyFormat = [{
    $input `,` $w_up `,` $w_down (`gate` $w_gate^)? (`up_bias` $b_up^)?
    (`down_bias` $b_down^)? attr-dict `:` functional-type(operands, results)
  }];
}

def Attune_EmbeddingOp : Attune_InferOp<"embedding"> {
  let summary = "table lookup: y[..., :] = table[ids[...], :]";
  let description = [{
    An id outside [0, V) is a run-time error.

    ```mlir
    %x = attune.embedding %ids, %table
      : (tensor<2x128xi32>, tensor<32000x512xbf16>) -> tensor<2x128x512xbf16>
    ```
  }];
  let arguments = (ins Attune_IntTensor:$ids, Attune_FloatTensor:$table);
  let results = (outs Attune_FloatTensor:$output);
  let assemblyFormat = [{
    $ids `,` $table attr-dict `:` functional-type(operands, results)
  }];
}

def Attune_SoftmaxOp : Attune_InferOp<"softmax"> {
  let summary = "softmax along one axis";
  let description = [{
    A slice that is entirely -inf gives zeros, never NaN.

    ```mlir
    %p = attune.softmax %x {axis = -1 : i64} : (tensor<4x16xf32>) -> tensor<4x16xf32>
    ```
  }];
  let arguments = (ins Attune_FloatTensor:$input,
                       DefaultValuedAttr<I64Attr, "-1">:$axis);
  let results = (outs Attune_FloatTensor:$output);
  let assemblyFormat = [{
    $input attr-dict `:` functional-type(operands, results)
  }];
}

def Attune_CrossEntropyOp : Attune_InferOp<"cross_entropy"> {
  let summary = "softmax cross-entropy of logits [N, C] against labels [N]";
  let description = [{
    `loss_i = logsumexp(logits_i) - logits_i[label_i]`; rows labelled
    `ignore_index` count neither in the sum nor in the mean's denominator;
    a mean over no counted row is 0 (PyTorch gives NaN there).
    `none` returns `[N]`, `mean` and `sum` a rank-0 tensor.

    ```mlir
    %l = attune.cross_entropy %logits, %labels
        {reduction = #attune.reduction<mean>}
      : (tensor<256x32000xf32>, tensor<256xi64>) -> tensor<f32>
    ```
  }];
  let arguments = (ins Attune_FloatTensor:$logits, Attune_IntTensor:$labels,
                       DefaultValuedAttr<Attune_ReductionAttr,
                           "::mlir::attune::Reduction::Mean">:$reduction,
                       DefaultValuedAttr<I64Attr, "-100">:$ignore_index);
  let results = (outs Attune_FloatTensor:$loss);
  let assemblyFormat = [{
    $logits `,` $labels attr-dict `:` functional-type(operands, results)
  }];
}

//===----------------------------------------------------------------------===//
// Elementwise
//===----------------------------------------------------------------------===//

class Attune_UnaryOp<string mnemonic, string formula>
    : Attune_InferOp<mnemonic> {
  let summary = "elementwise " # formula;
  let description = [{
    ```mlir
    %y = attune.}] # mnemonic # [{ %x : tensor<2x64xf32>
    ```
  }];
  let arguments = (ins Attune_FloatTensor:$input);
  let results = (outs Attune_FloatTensor:$output);
  let assemblyFormat = "$input attr-dict `:` type($input)";
}

def Attune_NegOp : Attune_UnaryOp<"neg", "-x">;
def Attune_ExpOp : Attune_UnaryOp<"exp", "exp(x)">;
def Attune_LogOp : Attune_UnaryOp<"log", "log(x)">;
def Attune_TanhOp : Attune_UnaryOp<"tanh", "tanh(x)">;
def Attune_SqrtOp : Attune_UnaryOp<"sqrt", "sqrt(x)">;
def Attune_RsqrtOp : Attune_UnaryOp<"rsqrt", "1/sqrt(x)">;
def Attune_SigmoidOp : Attune_UnaryOp<"sigmoid", "1/(1+exp(-x))">;
def Attune_AbsOp : Attune_UnaryOp<"abs", "|x|">;
def Attune_SiluOp : Attune_UnaryOp<"silu", "x * sigmoid(x)">;
def Attune_GeluOp : Attune_UnaryOp<"gelu", "0.5 x (1 + erf(x / sqrt 2))">;
def Attune_GeluTanhOp : Attune_UnaryOp<"gelu_tanh",
    "0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))">;
def Attune_ReluOp : Attune_UnaryOp<"relu", "max(x, 0)">;

class Attune_BinaryOp<string mnemonic, string formula>
    : Attune_InferOp<mnemonic> {
  let summary = "elementwise " # formula # " with NumPy broadcasting";
  let description = [{
    Both operands share an element type; shapes broadcast as in NumPy.

    ```mlir
    %y = attune.}] # mnemonic # [{ %a, %b
      : (tensor<2x128x512xf32>, tensor<512xf32>) -> tensor<2x128x512xf32>
    ```
  }];
  let arguments = (ins Attune_FloatTensor:$lhs, Attune_FloatTensor:$rhs);
  let results = (outs Attune_FloatTensor:$output);
  let assemblyFormat = [{
    $lhs `,` $rhs attr-dict `:` functional-type(operands, results)
  }];
}

def Attune_AddOp : Attune_BinaryOp<"add", "a + b">;
def Attune_SubOp : Attune_BinaryOp<"sub", "a - b">;
def Attune_MulOp : Attune_BinaryOp<"mul", "a * b">;
def Attune_DivOp : Attune_BinaryOp<"div", "a / b">;
def Attune_MaxOp : Attune_BinaryOp<"max", "max(a, b)">;
def Attune_MinOp : Attune_BinaryOp<"min", "min(a, b)">;
def Attune_PowOp : Attune_BinaryOp<"pow", "a ^ b">;

def Attune_CastOp : Attune_Op<"cast", [Pure]> {
  let summary = "element type conversion (round to nearest even)";
  let description = [{
    ```mlir
    %y = attune.cast %x : tensor<2x64xbf16> to tensor<2x64xf32>
    ```
  }];
  let arguments = (ins Attune_FloatTensor:$input);
  let results = (outs Attune_FloatTensor:$output);
  let assemblyFormat = "$input attr-dict `:` type($input) `to` type($output)";
  let hasVerifier = 1;
}

def Attune_MatmulOp : Attune_InferOp<"matmul"> {
  let summary = "batched matrix product with broadcast batch dimensions";
  let description = [{
    `a [..., M, K] @ b [..., K, N] -> [..., M, N]`, accumulating in f32.

    ```mlir
    %c = attune.matmul %a, %b
      : (tensor<8x64x32xf32>, tensor<32x16xf32>) -> tensor<8x64x16xf32>
    ```
  }];
  let arguments = (ins Attune_FloatTensor:$lhs, Attune_FloatTensor:$rhs);
  let results = (outs Attune_FloatTensor:$output);
  let assemblyFormat = [{
    $lhs `,` $rhs attr-dict `:` functional-type(operands, results)
  }];
}

def Attune_TransposeOp : Attune_InferOp<"transpose"> {
  let summary = "permutes dimensions: out.shape[i] = in.shape[perm[i]]";
  let description = [{
    ```mlir
    %y = attune.transpose %x {permutation = array<i64: 0, 2, 1, 3>}
      : (tensor<2x128x8x64xf32>) -> tensor<2x8x128x64xf32>
    ```
  }];
  let arguments = (ins Attune_AnyTensor:$input,
                       DenseI64ArrayAttr:$permutation);
  let results = (outs Attune_AnyTensor:$output);
  let assemblyFormat = [{
    $input attr-dict `:` functional-type(operands, results)
  }];
}

def Attune_ReshapeOp : Attune_Op<"reshape", [Pure]> {
  let summary = "same elements in row-major order, new static shape";
  let description = [{
    ```mlir
    %y = attune.reshape %x : tensor<2x128x512xf32> to tensor<2x128x8x64xf32>
    ```
  }];
  let arguments = (ins Attune_AnyTensor:$input);
  let results = (outs Attune_AnyTensor:$output);
  let assemblyFormat = "$input attr-dict `:` type($input) `to` type($output)";
  let hasVerifier = 1;
}

def Attune_ReduceOp : Attune_InferOp<"reduce"> {
  let summary = "sum, mean or max over a set of axes";
  let description = [{
    ```mlir
    %s = attune.reduce %x {kind = #attune.reduce_kind<mean>,
                           axes = array<i64: 1>}
      : (tensor<4x16xf32>) -> tensor<4xf32>
    ```
  }];
  let arguments = (ins Attune_FloatTensor:$input,
                       Attune_ReduceKindAttr:$kind, DenseI64ArrayAttr:$axes,
                       UnitAttr:$keep_dims);
  let results = (outs Attune_FloatTensor:$output);
  let assemblyFormat = [{
    $input attr-dict `:` functional-type(operands, results)
  }];
}

def Attune_ConcatOp : Attune_InferOp<"concat"> {
  let summary = "concatenation along one axis";
  let description = [{
    ```mlir
    %y = attune.concat %a, %b {axis = 1 : i64}
      : (tensor<2x3xf32>, tensor<2x5xf32>) -> tensor<2x8xf32>
    ```
  }];
  let arguments = (ins Variadic<Attune_AnyTensor>:$inputs, I64Attr:$axis);
  let results = (outs Attune_AnyTensor:$output);
  let assemblyFormat = [{
    $inputs attr-dict `:` functional-type(operands, results)
  }];
}

def Attune_SliceOp : Attune_InferOp<"slice"> {
  let summary = "a contiguous range [start, start + size) along one axis";
  let description = [{
    ```mlir
    %y = attune.slice %x {axis = 2 : i64, start = 0 : i64, size = 32 : i64}
      : (tensor<2x8x64xf32>) -> tensor<2x8x32xf32>
    ```
  }];
  let arguments = (ins Attune_AnyTensor:$input, I64Attr:$axis, I64Attr:$start,
                       I64Attr:$size);
  let results = (outs Attune_AnyTensor:$output);
  let assemblyFormat = [{
    $input attr-dict `:` functional-type(operands, results)
  }];
}

//===----------------------------------------------------------------------===//
// Structure
//===----------------------------------------------------------------------===//

def Attune_YieldOp : Attune_Op<"yield", [Pure, ReturnLike, Terminator,
    ParentOneOf<["AttentionOp", "ReversibleOp", "CheckpointOp", "ChunkedOp"]>]> {
  let summary = "terminates an attune region, yielding its values";
  let description = [{
    ```mlir
    attune.yield %x : tensor<2x64xf32>
    ```
  }];
  let arguments = (ins Variadic<AnyType>:$values);
  let assemblyFormat = "($values^ `:` type($values))? attr-dict";
}

def Attune_ReversibleOp : Attune_Op<"reversible", [RecursiveMemoryEffects,
    SingleBlock, AllTypesMatch<["x1", "y1"]>,
    AllTypesMatch<["x2", "y2"]>]> {
  let summary = "RevNet residual block: y1 = x1 + F(x2), y2 = x2 + G(y1)";
  let description = [{
    The Reformer's reversible layer. Inputs are recomputable from outputs
    (x2 = y2 - G(y1), x1 = y1 - F(x2)), which is what lets training drop
    the block's activations. `f` maps x2's type to x1's, `g` y1's to x2's;
    both may use values defined above (weights).

    ```mlir
    %y1, %y2 = attune.reversible %x1, %x2 f {
    ^bb0(%a: tensor<1x64x256xf32>):
      %t = attune.rms_norm %a : (tensor<1x64x256xf32>) -> tensor<1x64x256xf32>
      attune.yield %t : tensor<1x64x256xf32>
    } g {
    ^bb0(%a: tensor<1x64x256xf32>):
      %t = attune.gelu %a : tensor<1x64x256xf32>
      attune.yield %t : tensor<1x64x256xf32>
    } : tensor<1x64x256xf32>, tensor<1x64x256xf32>
    ```
  }];
  let arguments = (ins Attune_FloatTensor:$x1, Attune_FloatTensor:$x2);
  let results = (outs Attune_FloatTensor:$y1, Attune_FloatTensor:$y2);
  let regions = (region SizedRegion<1>:$f, SizedRegion<1>:$g);
  let assemblyFormat = [{
    $x1 `,` $x2 `f` $f `g` $g attr-dict `:` type($x1) `,` type($x2)
  }];
  let hasRegionVerifier = 1;
}

def Attune_CheckpointOp : Attune_Op<"checkpoint", [RecursiveMemoryEffects,
    SingleBlock]> {
  let summary = "a region whose activations are recomputed in the backward pass";
  let description = [{
    Runs its body on the operands (as block arguments) and returns what it
    yields. Forward results are those of the body; the marker tells
    training passes to keep only the operands and recompute the rest.

    ```mlir
    %r = attune.checkpoint (%x) {
    ^bb0(%a: tensor<1x64x256xf32>):
      %t = attune.gelu %a : tensor<1x64x256xf32>
      attune.yield %t : tensor<1x64x256xf32>
    } : (tensor<1x64x256xf32>) -> tensor<1x64x256xf32>
    ```
  }];
  let arguments = (ins Variadic<AnyType>:$inputs);
  let results = (outs Variadic<AnyType>:$results);
  let regions = (region SizedRegion<1>:$body);
  let assemblyFormat = [{
    `(` $inputs `)` $body attr-dict `:` functional-type($inputs, results)
  }];
  let hasRegionVerifier = 1;
}

def Attune_ChunkedOp : Attune_Op<"chunked", [RecursiveMemoryEffects,
    SingleBlock]> {
  let summary = "applies a position-wise body to chunks along one axis";
  let description = [{
    Reformer's chunked feed-forward: the input is cut along `axis` into
    pieces of `chunk_size` (which must divide that dimension), the body runs
    on each piece, and each yielded value is concatenated back along `axis`.
    Peak memory falls to one chunk's intermediates; the result is the same as
    running the body on the whole input when the body is position-wise.

    ```mlir
    %y = attune.chunked %x along 1 by 64 {
    ^bb0(%c: tensor<1x64x256xf32>):
      %t = attune.mlp %c, %w1, %w2 {activation = #attune.activation<gelu>}
        : (tensor<1x64x256xf32>, tensor<1024x256xf32>, tensor<256x1024xf32>)
        -> tensor<1x64x256xf32>
      attune.yield %t : tensor<1x64x256xf32>
    } : (tensor<1x512x256xf32>) -> tensor<1x512x256xf32>
    ```
  }];
  let arguments = (ins Attune_AnyTensor:$input, I64Attr:$axis,
                       I64Attr:$chunk_size);
  let results = (outs Variadic<Attune_AnyTensor>:$results);
  let regions = (region SizedRegion<1>:$body);
  let assemblyFormat = [{
    $input `along` $axis `by` $chunk_size $body attr-dict
    `:` functional-type($input, results)
  }];
  let hasRegionVerifier = 1;
}

#endif // ATTUNE_OPS_TD
