//===- AttuneBase.td - The attune dialect, enums and attributes -*- tablegen -*-===//
//
// Mask terms and score modifications are attributes so that every backend
// can see them statically (block maps are built from them at compile time);
// the attention op's regions cover what the named terms do not.
//
//===----------------------------------------------------------------------===//

#ifndef ATTUNE_BASE_TD
#define ATTUNE_BASE_TD

include "mlir/IR/OpBase.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/EnumAttr.td"
include "mlir/IR/BuiltinAttributeInterfaces.td"

def Attune_Dialect : Dialect {
  let name = "attune";
  let cppNamespace = "::mlir::attune";
  let summary = "Transformer attention graphs: attention variants, norms, MLPs";
  let description = [{
    The `attune` dialect describes transformer layers on ranked tensors.
    Attention tensors use the `[B, H, L, D]` layout of PyTorch's
    `scaled_dot_product_attention`; linear weights are `[out, in]` as in
    PyTorch checkpoints. Element types are f32, f16, bf16 (and f64 for
    reference computations); attention accumulates in f32 and returns the
    log-sum-exp of every row beside its output.

    The exact numeric meaning of every op is the reference evaluator's
    (`include/attune/Reference/Kernels.h`); all backends are tested against
    it.

    ```mlir
    %out, %lse = attune.attention %q, %k, %v {mask = #attune.causal}
        : (tensor<1x8x128x64xbf16>, tensor<1x2x128x64xbf16>,
           tensor<1x2x128x64xbf16>)
        -> (tensor<1x8x128x64xbf16>, tensor<1x8x128xf32>)
    ```
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::math::MathDialect",
    "::mlir::tensor::TensorDialect"
  ];
  let useDefaultAttributePrinterParser = 1;
}

class Attune_Attr<string name, string attrMnemonic, list<Trait> traits = []>
    : AttrDef<Attune_Dialect, name, traits> {
  let mnemonic = attrMnemonic;
}

//===----------------------------------------------------------------------===//
// Enums
//===----------------------------------------------------------------------===//

def Attune_Alignment : I32EnumAttr<"Alignment",
    "how query positions align with key positions when Lq != Lk", [
      I32EnumAttrCase<"TopLeft", 0, "top_left">,
      I32EnumAttrCase<"BottomRight", 1, "bottom_right">
    ]> {
  let cppNamespace = "::mlir::attune";
  let genSpecializedAttr = 0;
}

def Attune_Activation : I32EnumAttr<"Activation", "MLP activation", [
      I32EnumAttrCase<"Silu", 0, "silu">,
      I32EnumAttrCase<"Gelu", 1, "gelu">,
      I32EnumAttrCase<"GeluTanh", 2, "gelu_tanh">,
      I32EnumAttrCase<"Relu", 3, "relu">
    ]> {
  let cppNamespace = "::mlir::attune";
  let genSpecializedAttr = 0;
}
def Attune_ActivationAttr : EnumAttr<Attune_Dialect, Attune_Activation,
                                     "activation"> {
  let description = [{
    The activation of `attune.mlp`: silu (SwiGLU when gated), gelu (GeGLU
    when gated), gelu_tanh or relu.

    ```mlir
    {activation = #attune.activation<silu>}
    ```
  }];
  let assemblyFormat = "`<` $value `>`";
}

def Attune_Reduction : I32EnumAttr<"Reduction", "loss reduction", [
      I32EnumAttrCase<"None", 0, "none">,
      I32EnumAttrCase<"Mean", 1, "mean">,
      I32EnumAttrCase<"Sum", 2, "sum">
    ]> {
  let cppNamespace = "::mlir::attune";
  let genSpecializedAttr = 0;
}
def Attune_ReductionAttr : EnumAttr<Attune_Dialect, Attune_Reduction,
                                    "reduction"> {
  let description = [{
    How `attune.cross_entropy` reduces per-row losses.

    ```mlir
    {reduction = #attune.reduction<none>}
    ```
  }];
  let assemblyFormat = "`<` $value `>`";
}

def Attune_ReduceKind : I32EnumAttr<"ReduceKind", "tensor reduction", [
      I32EnumAttrCase<"Sum", 0, "sum">,
      I32EnumAttrCase<"Mean", 1, "mean">,
      I32EnumAttrCase<"Max", 2, "max">
    ]> {
  let cppNamespace = "::mlir::attune";
  let genSpecializedAttr = 0;
}
def Attune_ReduceKindAttr : EnumAttr<Attune_Dialect, Attune_ReduceKind,
                                     "reduce_kind"> {
  let description = [{
    The reduction of `attune.reduce`.

    ```mlir
    {kind = #attune.reduce_kind<mean>}
    ```
  }];
  let assemblyFormat = "`<` $value `>`";
}

//===----------------------------------------------------------------------===//
// Mask terms
//===----------------------------------------------------------------------===//

def Attune_MaskAttrInterface : AttrInterface<"MaskAttrInterface"> {
  let cppNamespace = "::mlir::attune";
  let description = [{
    A term of an attention mask: a predicate `allowed(b, h, q, k)` over query
    position q in [0, Lq) and key position k in [0, Lk). Terms compose with
    `#attune.and` and `#attune.or`.
  }];
  let methods = [
    InterfaceMethod<[{
        Checks the term against the attention it is used in; `numHeads` is
        Hq, lengths are ShapedType::kDynamic when unknown.
      }], "::llvm::LogicalResult", "verifyForAttention",
      (ins "::llvm::function_ref<::mlir::InFlightDiagnostic()>":$emitError,
           "int64_t":$numHeads, "int64_t":$queryLength, "int64_t":$keyLength,
           "bool":$hasDocumentIds)>
  ];
}

class Attune_MaskAttr<string name, string mnemonic>
    : Attune_Attr<name, mnemonic,
                  [DeclareAttrInterfaceMethods<Attune_MaskAttrInterface>]>;

def Attune_CausalAttr : Attune_MaskAttr<"Causal", "causal"> {
  let summary = "causal mask: k <= q (top-left) or k <= q + Lk - Lq (bottom-right)";
  let description = [{
    Top-left alignment (the default) lets query i see keys 0..i; bottom-right
    alignment treats the queries as the last Lq positions of the keys, as
    decoding with a KV cache does.

    ```mlir
    #attune.causal
    #attune.causal<bottom_right>
    ```
  }];
  let parameters = (ins DefaultValuedParameter<"::mlir::attune::Alignment",
                        "::mlir::attune::Alignment::TopLeft">:$align);
  let assemblyFormat = "(`<` $align^ `>`)?";
}

def Attune_SlidingWindowAttr : Attune_MaskAttr<"SlidingWindow", "sliding_window"> {
  let summary = "local window: q' - left <= k <= q' + right";
  let description = [{
    `q'` is the aligned query position (see `#attune.causal`). A causal
    window of W tokens is `left = W - 1, right = 0`.

    ```mlir
    #attune.sliding_window<left = 127, right = 0>
    #attune.sliding_window<left = 256, right = 256, align = bottom_right>
    ```
  }];
  let parameters = (ins "int64_t":$left, "int64_t":$right,
                        DefaultValuedParameter<"::mlir::attune::Alignment",
                        "::mlir::attune::Alignment::TopLeft">:$align);
  let assemblyFormat = "`<` struct(params) `>`";
  let genVerifyDecl = 1;
}

def Attune_GlobalAttr : Attune_MaskAttr<"Global", "global"> {
  let summary = "global tokens: q or k is one of the listed positions";
  let description = [{
    Longformer's global attention: the listed tokens attend to every position
    and every position attends to them. Combine with a window by `#attune.or`.

    ```mlir
    #attune.or<[#attune.sliding_window<left = 64, right = 64>,
                #attune.global<[0, 1]>]>
    ```
  }];
  let parameters = (ins ArrayRefParameter<"int64_t">:$tokens);
  let assemblyFormat = "`<` `[` $tokens `]` `>`";
  let genVerifyDecl = 1;
}

def Attune_BlockSparseAttr : Attune_MaskAttr<"BlockSparse", "block_sparse"> {
  let summary = "block-sparse layout: layout[(h,) q / block_q][k / block_k]";
  let description = [{
    A boolean layout over (query block, key block), shared by all heads
    (rank 2) or given per query head (rank 3), as in the Sparse Transformer
    and BigBird. With static lengths its last two dims must be exactly
    ceil(Lq / block_q) x ceil(Lk / block_k) (a rank-3 layout has Hq heads).

    ```mlir
    #attune.block_sparse<block_q = 64, block_k = 64,
        layout = dense<[[true, false], [true, true]]> : tensor<2x2xi1>>
    ```
  }];
  let parameters = (ins "int64_t":$block_q, "int64_t":$block_k,
                        "::mlir::DenseIntElementsAttr":$layout);
  let assemblyFormat = "`<` struct(params) `>`";
  let genVerifyDecl = 1;
}

def Attune_StridedAttr : Attune_MaskAttr<"Strided", "strided"> {
  let summary = "strided pattern: (q - k) mod stride == 0";
  let description = [{
    The Sparse Transformer's strided heads; `#attune.and` it with
    `#attune.causal` and `#attune.or` it with a window for the full pattern.

    ```mlir
    #attune.strided<16>
    ```
  }];
  let parameters = (ins "int64_t":$stride);
  let assemblyFormat = "`<` $stride `>`";
  let genVerifyDecl = 1;
}

def Attune_DilatedAttr : Attune_MaskAttr<"Dilated", "dilated"> {
  let summary = "LongNet dilation: same segment, every rate-th position";
  let description = [{
    q and k must lie in the same segment of `segment` positions and both sit
    at an in-segment index i with i mod rate == offset. Without `offset`,
    head h uses h mod rate, as LongNet spreads offsets over heads. `rate`
    must divide `segment`.

    ```mlir
    #attune.dilated<segment = 2048, rate = 4>
    #attune.dilated<segment = 64, rate = 2, offset = 1>
    ```
  }];
  let parameters = (ins "int64_t":$segment, "int64_t":$rate,
                        OptionalParameter<"std::optional<int64_t>">:$offset);
  let assemblyFormat = "`<` struct(params) `>`";
  let genVerifyDecl = 1;
}

def Attune_DocumentAttr : Attune_MaskAttr<"Document", "document"> {
  let summary = "document masking: q_doc_ids[b, q] == kv_doc_ids[b, k]";
  let description = [{
    Packed sequences: a token attends only within its own document. Needs the
    attention's `doc(%q_ids, %kv_ids)` operands.

    ```mlir
    #attune.and<[#attune.causal, #attune.document]>
    ```
  }];
}

def Attune_PrefixLMAttr : Attune_MaskAttr<"PrefixLM", "prefix_lm"> {
  let summary = "prefix LM: k < prefix or k <= q";
  let description = [{
    Bidirectional over the first `prefix` tokens, causal after them.

    ```mlir
    #attune.prefix_lm<32>
    ```
  }];
  let parameters = (ins "int64_t":$prefix);
  let assemblyFormat = "`<` $prefix `>`";
  let genVerifyDecl = 1;
}

def Attune_AndAttr : Attune_MaskAttr<"And", "and"> {
  let summary = "intersection of mask terms";
  let description = [{
    ```mlir
    #attune.and<[#attune.causal, #attune.sliding_window<left = 255, right = 0>]>
    ```
  }];
  let parameters = (ins "::mlir::ArrayAttr":$terms);
  let assemblyFormat = "`<` $terms `>`";
  let genVerifyDecl = 1;
}

def Attune_OrAttr : Attune_MaskAttr<"Or", "or"> {
  let summary = "union of mask terms";
  let description = [{
    ```mlir
    #attune.or<[#attune.prefix_lm<8>, #attune.global<[0]>]>
    ```
  }];
  let parameters = (ins "::mlir::ArrayAttr":$terms);
  let assemblyFormat = "`<` $terms `>`";
  let genVerifyDecl = 1;
}

//===----------------------------------------------------------------------===//
// Score modifications
//===----------------------------------------------------------------------===//

def Attune_AlibiAttr : Attune_Attr<"Alibi", "alibi"> {
  let summary = "ALiBi: s - slope[h] * |q' - k| (q' bottom-right aligned)";
  let description = [{
    Without slopes, head h of H gets the ALiBi paper's geometric slope
    (2^(-8(h+1)/H) for a power of two H). Explicit slopes give one per query
    head.

    ```mlir
    #attune.alibi
    #attune.alibi<[0.5, 0.25]>
    ```
  }];
  let parameters = (ins OptionalParameter<"::mlir::DenseF64ArrayAttr">:$slopes);
  let assemblyFormat = "(`<` $slopes^ `>`)?";
  let genVerifyDecl = 1;
}

def Attune_SoftcapAttr : Attune_Attr<"Softcap", "softcap"> {
  let summary = "soft capping: cap * tanh(s / cap)";
  let description = [{
    Gemma 2's logit soft capping, on the scaled score.

    ```mlir
    #attune.softcap<50.0>
    ```
  }];
  let parameters = (ins APFloatParameter<"cap">:$cap);
  let assemblyFormat = "`<` $cap `>`";
  let genVerifyDecl = 1;
}

#endif // ATTUNE_BASE_TD
