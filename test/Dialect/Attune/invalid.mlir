// RUN: attune-opt %s -split-input-file -verify-diagnostics -allow-unregistered-dialect

// Every error message of the attune dialect (attribute verifiers, mask checks
// against the attention they are used in, op inference/verification and
// region checks), one case per split. Errors found by inferReturnTypes are
// followed by MLIR's generic "failed to infer returned types".
// -allow-unregistered-dialect only serves the splits that end a region with a
// terminator other than attune.yield. Attribute verifier errors are reported
// while parsing, at the attribute; the cases follow the order of
// AttuneDialect.cpp, then of AttuneOps.cpp.


// A term of #attune.and must be a mask term.
func.func @and_non_mask_term(%q: tensor<1x2x16x8xf32>) {
  %out, %lse = attune.attention %q, %q, %q {
    // expected-error @+1 {{expected every term of #attune.and to be a mask term (#attune.causal, #attune.sliding_window, ...), got 5 : i64 at position 1}}
    mask = #attune.and<[#attune.causal, 5 : i64]>}
    : (tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>) -> (tensor<1x2x16x8xf32>, tensor<1x2x16xf32>)
  return
}

// -----

// A score modification is not a mask term of #attune.or.
func.func @or_non_mask_term(%q: tensor<1x2x16x8xf32>) {
  %out, %lse = attune.attention %q, %q, %q {
    // expected-error @+1 {{expected every term of #attune.or to be a mask term (#attune.causal, #attune.sliding_window, ...), got #attune.softcap<3.000000e+01> at position 0}}
    mask = #attune.or<[#attune.softcap<30.0>, #attune.causal]>}
    : (tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>) -> (tensor<1x2x16x8xf32>, tensor<1x2x16xf32>)
  return
}

// -----

// A sliding window cannot reach a negative number of keys to the left.
func.func @sliding_window_negative_left(%q: tensor<1x2x16x8xf32>) {
  %out, %lse = attune.attention %q, %q, %q {
    // expected-error @+1 {{expected #attune.sliding_window left >= 0 (keys before the query), got -1}}
    mask = #attune.sliding_window<left = -1, right = 0>}
    : (tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>) -> (tensor<1x2x16x8xf32>, tensor<1x2x16xf32>)
  return
}

// -----

// A sliding window cannot reach a negative number of keys to the right.
func.func @sliding_window_negative_right(%q: tensor<1x2x16x8xf32>) {
  %out, %lse = attune.attention %q, %q, %q {
    // expected-error @+1 {{expected #attune.sliding_window right >= 0 (keys after the query), got -3}}
    mask = #attune.sliding_window<left = 4, right = -3, align = bottom_right>}
    : (tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>) -> (tensor<1x2x16x8xf32>, tensor<1x2x16xf32>)
  return
}

// -----

// Global token positions cannot be negative.
func.func @global_negative_token(%q: tensor<1x2x16x8xf32>) {
  %out, %lse = attune.attention %q, %q, %q {
    // expected-error @+1 {{expected #attune.global tokens >= 0, got -2 at position 1}}
    mask = #attune.global<[0, -2]>}
    : (tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>) -> (tensor<1x2x16x8xf32>, tensor<1x2x16xf32>)
  return
}

// -----

// Global token positions must be listed once, in increasing order.
func.func @global_repeated_token(%q: tensor<1x2x16x8xf32>) {
  %out, %lse = attune.attention %q, %q, %q {
    // expected-error @+1 {{expected #attune.global tokens in strictly increasing order, got 4 after 4}}
    mask = #attune.global<[0, 4, 4]>}
    : (tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>) -> (tensor<1x2x16x8xf32>, tensor<1x2x16xf32>)
  return
}

// -----

// Block-sparse blocks must hold at least one position.
func.func @block_sparse_zero_block(%q: tensor<1x2x16x8xf32>) {
  %out, %lse = attune.attention %q, %q, %q {
    // expected-error @+1 {{expected #attune.block_sparse block sizes > 0, got block_q = 0, block_k = 8}}
    mask = #attune.block_sparse<block_q = 0, block_k = 8, layout = dense<true> : tensor<1x2xi1>>}
    : (tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>) -> (tensor<1x2x16x8xf32>, tensor<1x2x16xf32>)
  return
}

// -----

// A block-sparse layout is boolean.
func.func @block_sparse_layout_not_i1(%q: tensor<1x2x16x8xf32>) {
  %out, %lse = attune.attention %q, %q, %q {
    // expected-error @+1 {{expected #attune.block_sparse layout of i1, got 'i32'}}
    mask = #attune.block_sparse<block_q = 8, block_k = 8, layout = dense<1> : tensor<2x2xi32>>}
    : (tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>) -> (tensor<1x2x16x8xf32>, tensor<1x2x16xf32>)
  return
}

// -----

// A block-sparse layout is [q blocks, k blocks] or [heads, q blocks, k blocks].
func.func @block_sparse_layout_rank(%q: tensor<1x2x16x8xf32>) {
  %out, %lse = attune.attention %q, %q, %q {
    // expected-error @+1 {{expected #attune.block_sparse layout of rank 2 [q blocks, k blocks] or 3 [heads, q blocks, k blocks], got rank 1}}
    mask = #attune.block_sparse<block_q = 8, block_k = 8, layout = dense<true> : tensor<4xi1>>}
    : (tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>) -> (tensor<1x2x16x8xf32>, tensor<1x2x16xf32>)
  return
}

// -----

// A stride of zero selects nothing.
func.func @strided_zero(%q: tensor<1x2x16x8xf32>) {
  %out, %lse = attune.attention %q, %q, %q {
    // expected-error @+1 {{expected #attune.strided stride > 0, got 0}}
    mask = #attune.strided<0>}
    : (tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>) -> (tensor<1x2x16x8xf32>, tensor<1x2x16xf32>)
  return
}

// -----

// A dilation segment holds at least one position.
func.func @dilated_zero_segment(%q: tensor<1x2x16x8xf32>) {
  %out, %lse = attune.attention %q, %q, %q {
    // expected-error @+1 {{expected #attune.dilated segment > 0, got 0}}
    mask = #attune.dilated<segment = 0, rate = 1>}
    : (tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>) -> (tensor<1x2x16x8xf32>, tensor<1x2x16xf32>)
  return
}

// -----

// A dilation rate below one is rejected.
func.func @dilated_negative_rate(%q: tensor<1x2x16x8xf32>) {
  %out, %lse = attune.attention %q, %q, %q {
    // expected-error @+1 {{expected #attune.dilated rate > 0, got -2}}
    mask = #attune.dilated<segment = 8, rate = -2>}
    : (tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>) -> (tensor<1x2x16x8xf32>, tensor<1x2x16xf32>)
  return
}

// -----

// The dilation rate must divide the segment.
func.func @dilated_rate_not_dividing_segment(%q: tensor<1x2x16x8xf32>) {
  %out, %lse = attune.attention %q, %q, %q {
    // expected-error @+1 {{expected #attune.dilated rate 3 to divide segment 8}}
    mask = #attune.dilated<segment = 8, rate = 3>}
    : (tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>) -> (tensor<1x2x16x8xf32>, tensor<1x2x16xf32>)
  return
}

// -----

// A dilation offset is an in-segment index modulo the rate.
func.func @dilated_offset_out_of_range(%q: tensor<1x2x16x8xf32>) {
  %out, %lse = attune.attention %q, %q, %q {
    // expected-error @+1 {{expected #attune.dilated offset in [0, 4), got 4}}
    mask = #attune.dilated<segment = 8, rate = 4, offset = 4>}
    : (tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>) -> (tensor<1x2x16x8xf32>, tensor<1x2x16xf32>)
  return
}

// -----

// A negative dilation offset is rejected too.
func.func @dilated_negative_offset(%q: tensor<1x2x16x8xf32>) {
  %out, %lse = attune.attention %q, %q, %q {
    // expected-error @+1 {{expected #attune.dilated offset in [0, 2), got -1}}
    mask = #attune.dilated<segment = 8, rate = 2, offset = -1>}
    : (tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>) -> (tensor<1x2x16x8xf32>, tensor<1x2x16xf32>)
  return
}

// -----

// A prefix-LM prefix cannot be negative.
func.func @prefix_lm_negative(%q: tensor<1x2x16x8xf32>) {
  %out, %lse = attune.attention %q, %q, %q {
    // expected-error @+1 {{expected #attune.prefix_lm prefix >= 0, got -8}}
    mask = #attune.prefix_lm<-8>}
    : (tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>) -> (tensor<1x2x16x8xf32>, tensor<1x2x16xf32>)
  return
}

// -----

// An invalid term nested inside and/or is reported at the term (then the
// enclosing terms fail to parse).
func.func @nested_invalid_term(%q: tensor<1x2x16x8xf32>) {
  %out, %lse = attune.attention %q, %q, %q {
    // expected-error @+3 {{expected #attune.strided stride > 0, got -4}}
    // expected-error @+2 {{failed to parse Attune_OrAttr parameter 'terms'}}
    // expected-error @+1 {{failed to parse Attune_AndAttr parameter 'terms'}}
    mask = #attune.and<[#attune.causal, #attune.or<[#attune.prefix_lm<2>, #attune.strided<-4>]>]>}
    : (tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>) -> (tensor<1x2x16x8xf32>, tensor<1x2x16xf32>)
  return
}

// -----

// A soft cap of zero would divide by zero.
func.func @softcap_zero(%q: tensor<1x2x16x8xf32>) {
  %out, %lse = attune.attention %q, %q, %q {
    // expected-error @+1 {{expected #attune.softcap cap > 0 and finite, got 0.000000e+00}}
    score_mods = [#attune.softcap<0.0>]}
    : (tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>) -> (tensor<1x2x16x8xf32>, tensor<1x2x16xf32>)
  return
}

// -----

// An infinite soft cap is rejected (no capping is written by leaving it out).
func.func @softcap_infinite(%q: tensor<1x2x16x8xf32>) {
  %out, %lse = attune.attention %q, %q, %q {
    // expected-error @+1 {{expected #attune.softcap cap > 0 and finite, got INF}}
    score_mods = [#attune.softcap<0x7FF0000000000000>]}
    : (tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>) -> (tensor<1x2x16x8xf32>, tensor<1x2x16xf32>)
  return
}

// -----

// A global token must lie inside the sequence.
func.func @global_token_beyond_sequence(%q: tensor<1x2x16x8xf32>, %k: tensor<1x2x32x8xf32>) {
  // expected-error @+2 {{'attune.attention' op expected #attune.global tokens below the sequence length (Lq = 16, Lk = 32), got 32}}
  // expected-error @+1 {{'attune.attention' op failed to infer returned types}}
  %out, %lse = attune.attention %q, %k, %k {mask = #attune.global<[0, 32]>}
    : (tensor<1x2x16x8xf32>, tensor<1x2x32x8xf32>, tensor<1x2x32x8xf32>) -> (tensor<1x2x16x8xf32>, tensor<1x2x16xf32>)
  return
}

// -----

// A per-head block layout needs one layout per query head.
func.func @block_sparse_heads_mismatch(%q: tensor<1x4x16x8xf32>, %k: tensor<1x2x16x8xf32>) {
  // expected-error @+2 {{'attune.attention' op expected #attune.block_sparse layout dim 0 to equal the query heads 4, got 2}}
  // expected-error @+1 {{'attune.attention' op failed to infer returned types}}
  %out, %lse = attune.attention %q, %k, %k {mask = #attune.block_sparse<block_q = 8, block_k = 8, layout = dense<true> : tensor<2x2x2xi1>>}
    : (tensor<1x4x16x8xf32>, tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>) -> (tensor<1x4x16x8xf32>, tensor<1x4x16xf32>)
  return
}

// -----

// A block layout must cover ceil(Lq / block_q) x ceil(Lk / block_k) blocks.
func.func @block_sparse_layout_not_covering(%q: tensor<1x2x128x8xf32>) {
  // expected-error @+2 {{'attune.attention' op expected #attune.block_sparse layout to cover 2 x 2 blocks (ceil(Lq / block_q) x ceil(Lk / block_k)), got 2 x 3}}
  // expected-error @+1 {{'attune.attention' op failed to infer returned types}}
  %out, %lse = attune.attention %q, %q, %q {mask = #attune.block_sparse<block_q = 64, block_k = 64, layout = dense<true> : tensor<2x3xi1>>}
    : (tensor<1x2x128x8xf32>, tensor<1x2x128x8xf32>, tensor<1x2x128x8xf32>) -> (tensor<1x2x128x8xf32>, tensor<1x2x128xf32>)
  return
}

// -----

// With a dynamic query length only the key blocks are checked (ceil(100 / 32) = 4).
func.func @block_sparse_layout_dynamic_length(%q: tensor<1x2x?x8xf32>, %k: tensor<1x2x100x8xf32>) {
  // expected-error @+2 {{'attune.attention' op expected #attune.block_sparse layout to cover ? x 4 blocks (ceil(Lq / block_q) x ceil(Lk / block_k)), got 7 x 3}}
  // expected-error @+1 {{'attune.attention' op failed to infer returned types}}
  %out, %lse = attune.attention %q, %k, %k {mask = #attune.block_sparse<block_q = 32, block_k = 32, layout = dense<true> : tensor<7x3xi1>>}
    : (tensor<1x2x?x8xf32>, tensor<1x2x100x8xf32>, tensor<1x2x100x8xf32>) -> (tensor<1x2x?x8xf32>, tensor<1x2x?xf32>)
  return
}

// -----

// Huge blocks cover a sequence with one block (no overflow in ceil(L / block)).
func.func @block_sparse_huge_block(%q: tensor<1x2x128x8xf32>) {
  // expected-error @+2 {{'attune.attention' op expected #attune.block_sparse layout to cover 1 x 1 blocks (ceil(Lq / block_q) x ceil(Lk / block_k)), got 2 x 1}}
  // expected-error @+1 {{'attune.attention' op failed to infer returned types}}
  %out, %lse = attune.attention %q, %q, %q {mask = #attune.block_sparse<block_q = 9223372036854775807, block_k = 9223372036854775807, layout = dense<true> : tensor<2x1xi1>>}
    : (tensor<1x2x128x8xf32>, tensor<1x2x128x8xf32>, tensor<1x2x128x8xf32>) -> (tensor<1x2x128x8xf32>, tensor<1x2x128xf32>)
  return
}

// -----

// #attune.document needs the doc(%q_ids, %kv_ids) operands, also when nested.
func.func @document_without_ids(%q: tensor<1x2x16x8xf32>) {
  // expected-error @+2 {{'attune.attention' op #attune.document needs document ids: add doc(%q_ids, %kv_ids) operands}}
  // expected-error @+1 {{'attune.attention' op failed to infer returned types}}
  %out, %lse = attune.attention %q, %q, %q {mask = #attune.and<[#attune.causal, #attune.or<[#attune.document, #attune.prefix_lm<4>]>]>}
    : (tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>) -> (tensor<1x2x16x8xf32>, tensor<1x2x16xf32>)
  return
}

// -----

// The query is [B, Hq, Lq, D].
func.func @attention_query_rank(%q: tensor<8x128x64xf32>, %k: tensor<1x8x128x64xf32>) {
  // expected-error @+2 {{'attune.attention' op expected query of rank 4 [B, Hq, Lq, D], got rank 3 [8, 128, 64]}}
  // expected-error @+1 {{'attune.attention' op failed to infer returned types}}
  %out, %lse = attune.attention %q, %k, %k
    : (tensor<8x128x64xf32>, tensor<1x8x128x64xf32>, tensor<1x8x128x64xf32>) -> (tensor<1x8x128x64xf32>, tensor<1x8x128xf32>)
  return
}

// -----

// The key is [B, Hkv, Lk, D].
func.func @attention_key_rank(%q: tensor<1x8x128x64xf32>, %k: tensor<1x8x128x64x1xf32>) {
  // expected-error @+2 {{'attune.attention' op expected key of rank 4 [B, Hkv, Lk, D], got rank 5 [1, 8, 128, 64, 1]}}
  // expected-error @+1 {{'attune.attention' op failed to infer returned types}}
  %out, %lse = attune.attention %q, %k, %q
    : (tensor<1x8x128x64xf32>, tensor<1x8x128x64x1xf32>, tensor<1x8x128x64xf32>) -> (tensor<1x8x128x64xf32>, tensor<1x8x128xf32>)
  return
}

// -----

// The value is [B, Hkv, Lk, Dv].
func.func @attention_value_rank(%q: tensor<1x8x128x64xf32>, %v: tensor<?x?xf32>) {
  // expected-error @+2 {{'attune.attention' op expected value of rank 4 [B, Hkv, Lk, Dv], got rank 2 [?, ?]}}
  // expected-error @+1 {{'attune.attention' op failed to infer returned types}}
  %out, %lse = attune.attention %q, %q, %v
    : (tensor<1x8x128x64xf32>, tensor<1x8x128x64xf32>, tensor<?x?xf32>) -> (tensor<1x8x128x64xf32>, tensor<1x8x128xf32>)
  return
}

// -----

// q and k share an element type.
func.func @attention_key_element_type(%q: tensor<1x8x128x64xf32>, %k: tensor<1x8x128x64xbf16>) {
  // expected-error @+2 {{'attune.attention' op expected key element type 'f32' (the query's), got 'bf16'}}
  // expected-error @+1 {{'attune.attention' op failed to infer returned types}}
  %out, %lse = attune.attention %q, %k, %q
    : (tensor<1x8x128x64xf32>, tensor<1x8x128x64xbf16>, tensor<1x8x128x64xf32>) -> (tensor<1x8x128x64xf32>, tensor<1x8x128xf32>)
  return
}

// -----

// q and v share an element type.
func.func @attention_value_element_type(%q: tensor<1x8x128x64xf16>, %v: tensor<1x8x128x64xf32>) {
  // expected-error @+2 {{'attune.attention' op expected value element type 'f16' (the query's), got 'f32'}}
  // expected-error @+1 {{'attune.attention' op failed to infer returned types}}
  %out, %lse = attune.attention %q, %q, %v
    : (tensor<1x8x128x64xf16>, tensor<1x8x128x64xf16>, tensor<1x8x128x64xf32>) -> (tensor<1x8x128x64xf16>, tensor<1x8x128xf32>)
  return
}

// -----

// q and k share the batch.
func.func @attention_key_batch(%q: tensor<2x8x128x64xf32>, %k: tensor<3x8x128x64xf32>) {
  // expected-error @+2 {{'attune.attention' op expected key dim 0 (batch) to be 2 (the query's), got 3}}
  // expected-error @+1 {{'attune.attention' op failed to infer returned types}}
  %out, %lse = attune.attention %q, %k, %k
    : (tensor<2x8x128x64xf32>, tensor<3x8x128x64xf32>, tensor<3x8x128x64xf32>) -> (tensor<2x8x128x64xf32>, tensor<2x8x128xf32>)
  return
}

// -----

// q and v share the batch.
func.func @attention_value_batch(%q: tensor<2x8x128x64xf32>, %v: tensor<1x8x128x64xf32>) {
  // expected-error @+2 {{'attune.attention' op expected value dim 0 (batch) to be 2 (the query's), got 1}}
  // expected-error @+1 {{'attune.attention' op failed to infer returned types}}
  %out, %lse = attune.attention %q, %q, %v
    : (tensor<2x8x128x64xf32>, tensor<2x8x128x64xf32>, tensor<1x8x128x64xf32>) -> (tensor<2x8x128x64xf32>, tensor<2x8x128xf32>)
  return
}

// -----

// The head dim of k must equal q's.
func.func @attention_head_dim_mismatch(%q: tensor<1x8x128x64xf32>, %k: tensor<1x8x128x32xf32>) {
  // expected-error @+2 {{'attune.attention' op expected key dim 3 (head dim) to be 64 (the query's), got 32}}
  // expected-error @+1 {{'attune.attention' op failed to infer returned types}}
  %out, %lse = attune.attention %q, %k, %k
    : (tensor<1x8x128x64xf32>, tensor<1x8x128x32xf32>, tensor<1x8x128x32xf32>) -> (tensor<1x8x128x32xf32>, tensor<1x8x128xf32>)
  return
}

// -----

// k and v have the same number of heads.
func.func @attention_value_heads(%q: tensor<1x8x128x64xf32>, %k: tensor<1x2x128x64xf32>, %v: tensor<1x4x128x64xf32>) {
  // expected-error @+2 {{'attune.attention' op expected value dim 1 (kv heads) to be 2 (the key's), got 4}}
  // expected-error @+1 {{'attune.attention' op failed to infer returned types}}
  %out, %lse = attune.attention %q, %k, %v
    : (tensor<1x8x128x64xf32>, tensor<1x2x128x64xf32>, tensor<1x4x128x64xf32>) -> (tensor<1x8x128x64xf32>, tensor<1x8x128xf32>)
  return
}

// -----

// k and v have the same length.
func.func @attention_value_length(%q: tensor<1x8x128x64xf32>, %k: tensor<1x8x128x64xf32>, %v: tensor<1x8x64x64xf32>) {
  // expected-error @+2 {{'attune.attention' op expected value dim 2 (key length) to be 128 (the key's), got 64}}
  // expected-error @+1 {{'attune.attention' op failed to infer returned types}}
  %out, %lse = attune.attention %q, %k, %v
    : (tensor<1x8x128x64xf32>, tensor<1x8x128x64xf32>, tensor<1x8x64x64xf32>) -> (tensor<1x8x128x64xf32>, tensor<1x8x128xf32>)
  return
}

// -----

// At least one key/value head.
func.func @attention_zero_kv_heads(%q: tensor<1x8x128x64xf32>, %k: tensor<1x0x128x64xf32>) {
  // expected-error @+2 {{'attune.attention' op expected key/value heads > 0, got 0}}
  // expected-error @+1 {{'attune.attention' op failed to infer returned types}}
  %out, %lse = attune.attention %q, %k, %k
    : (tensor<1x8x128x64xf32>, tensor<1x0x128x64xf32>, tensor<1x0x128x64xf32>) -> (tensor<1x8x128x64xf32>, tensor<1x8x128xf32>)
  return
}

// -----

// Grouped-query attention needs Hq to be a multiple of Hkv.
func.func @attention_gqa_heads(%q: tensor<1x6x128x64xf32>, %k: tensor<1x4x128x64xf32>) {
  // expected-error @+2 {{'attune.attention' op expected query heads (6) to be a multiple of key/value heads (4) for grouped-query attention}}
  // expected-error @+1 {{'attune.attention' op failed to infer returned types}}
  %out, %lse = attune.attention %q, %k, %k
    : (tensor<1x6x128x64xf32>, tensor<1x4x128x64xf32>, tensor<1x4x128x64xf32>) -> (tensor<1x6x128x64xf32>, tensor<1x6x128xf32>)
  return
}

// -----

// The Hkv taken from v when k's is dynamic must still divide Hq.
func.func @attention_gqa_heads_from_value(%q: tensor<1x8x128x64xf32>, %k: tensor<1x?x128x64xf32>, %v: tensor<1x3x128x64xf32>) {
  // expected-error @+2 {{'attune.attention' op expected query heads (8) to be a multiple of key/value heads (3) for grouped-query attention}}
  // expected-error @+1 {{'attune.attention' op failed to infer returned types}}
  %out, %lse = attune.attention %q, %k, %v
    : (tensor<1x8x128x64xf32>, tensor<1x?x128x64xf32>, tensor<1x3x128x64xf32>) -> (tensor<1x8x128x64xf32>, tensor<1x8x128xf32>)
  return
}

// -----

// The score scale must be positive.
func.func @attention_negative_scale(%q: tensor<1x2x16x8xf32>) {
  // expected-error @+2 {{'attune.attention' op expected scale > 0 and finite, got -1.250000e-01}}
  // expected-error @+1 {{'attune.attention' op failed to infer returned types}}
  %out, %lse = attune.attention %q, %q, %q {scale = -0.125 : f64}
    : (tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>) -> (tensor<1x2x16x8xf32>, tensor<1x2x16xf32>)
  return
}

// -----

// Query document ids without key/value ids (only writable in generic form).
func.func @attention_only_q_doc_ids(%q: tensor<1x2x16x8xf32>, %ids: tensor<1x16xi32>) {
  // expected-error @+2 {{'attune.attention' op expected both q_doc_ids and kv_doc_ids or neither, got only q_doc_ids}}
  // expected-error @+1 {{'attune.attention' op failed to infer returned types}}
  %out, %lse = "attune.attention"(%q, %q, %q, %ids) <{operandSegmentSizes = array<i32: 1, 1, 1, 1, 0>}> ({}, {})
    : (tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>, tensor<1x16xi32>) -> (tensor<1x2x16x8xf32>, tensor<1x2x16xf32>)
  return
}

// -----

// Key/value document ids without query ids (only writable in generic form).
func.func @attention_only_kv_doc_ids(%q: tensor<1x2x16x8xf32>, %ids: tensor<1x16xi32>) {
  // expected-error @+2 {{'attune.attention' op expected both q_doc_ids and kv_doc_ids or neither, got only kv_doc_ids}}
  // expected-error @+1 {{'attune.attention' op failed to infer returned types}}
  %out, %lse = "attune.attention"(%q, %q, %q, %ids) <{operandSegmentSizes = array<i32: 1, 1, 1, 0, 1>}> ({}, {})
    : (tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>, tensor<1x16xi32>) -> (tensor<1x2x16x8xf32>, tensor<1x2x16xf32>)
  return
}

// -----

// Query document ids are [B, Lq].
func.func @attention_q_doc_ids_rank(%q: tensor<1x2x16x8xf32>, %qids: tensor<16xi32>, %kvids: tensor<1x16xi32>) {
  // expected-error @+2 {{'attune.attention' op expected q_doc_ids of rank 2 [B, Lq], got rank 1 [16]}}
  // expected-error @+1 {{'attune.attention' op failed to infer returned types}}
  %out, %lse = attune.attention %q, %q, %q doc(%qids, %kvids)
    : (tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>, tensor<16xi32>, tensor<1x16xi32>) -> (tensor<1x2x16x8xf32>, tensor<1x2x16xf32>)
  return
}

// -----

// Key/value document ids are [B, Lk].
func.func @attention_kv_doc_ids_rank(%q: tensor<1x2x16x8xf32>, %qids: tensor<1x16xi32>, %kvids: tensor<1x1x16xi32>) {
  // expected-error @+2 {{'attune.attention' op expected kv_doc_ids of rank 2 [B, Lk], got rank 3 [1, 1, 16]}}
  // expected-error @+1 {{'attune.attention' op failed to infer returned types}}
  %out, %lse = attune.attention %q, %q, %q doc(%qids, %kvids)
    : (tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>, tensor<1x16xi32>, tensor<1x1x16xi32>) -> (tensor<1x2x16x8xf32>, tensor<1x2x16xf32>)
  return
}

// -----

// Query document ids have the query's batch.
func.func @attention_q_doc_ids_batch(%q: tensor<2x2x16x8xf32>, %qids: tensor<3x16xi32>, %kvids: tensor<2x16xi32>) {
  // expected-error @+2 {{'attune.attention' op expected q_doc_ids dim 0 (batch) to be 2 (the query's), got 3}}
  // expected-error @+1 {{'attune.attention' op failed to infer returned types}}
  %out, %lse = attune.attention %q, %q, %q doc(%qids, %kvids)
    : (tensor<2x2x16x8xf32>, tensor<2x2x16x8xf32>, tensor<2x2x16x8xf32>, tensor<3x16xi32>, tensor<2x16xi32>) -> (tensor<2x2x16x8xf32>, tensor<2x2x16xf32>)
  return
}

// -----

// Query document ids have the query's length.
func.func @attention_q_doc_ids_length(%q: tensor<2x2x16x8xf32>, %k: tensor<2x2x32x8xf32>, %ids: tensor<2x32xi32>) {
  // expected-error @+2 {{'attune.attention' op expected q_doc_ids dim 1 (query length) to be 16 (the query's), got 32}}
  // expected-error @+1 {{'attune.attention' op failed to infer returned types}}
  %out, %lse = attune.attention %q, %k, %k doc(%ids, %ids)
    : (tensor<2x2x16x8xf32>, tensor<2x2x32x8xf32>, tensor<2x2x32x8xf32>, tensor<2x32xi32>, tensor<2x32xi32>) -> (tensor<2x2x16x8xf32>, tensor<2x2x16xf32>)
  return
}

// -----

// Key/value document ids have the query's batch.
func.func @attention_kv_doc_ids_batch(%q: tensor<2x2x16x8xf32>, %qids: tensor<2x16xi32>, %kvids: tensor<1x16xi32>) {
  // expected-error @+2 {{'attune.attention' op expected kv_doc_ids dim 0 (batch) to be 2 (the query's), got 1}}
  // expected-error @+1 {{'attune.attention' op failed to infer returned types}}
  %out, %lse = attune.attention %q, %q, %q doc(%qids, %kvids)
    : (tensor<2x2x16x8xf32>, tensor<2x2x16x8xf32>, tensor<2x2x16x8xf32>, tensor<2x16xi32>, tensor<1x16xi32>) -> (tensor<2x2x16x8xf32>, tensor<2x2x16xf32>)
  return
}

// -----

// Key/value document ids have the key's length.
func.func @attention_kv_doc_ids_length(%q: tensor<2x2x16x8xf32>, %k: tensor<2x2x32x8xf32>, %ids: tensor<2x16xi32>) {
  // expected-error @+2 {{'attune.attention' op expected kv_doc_ids dim 1 (key length) to be 32 (the key's), got 16}}
  // expected-error @+1 {{'attune.attention' op failed to infer returned types}}
  %out, %lse = attune.attention %q, %k, %k doc(%ids, %ids)
    : (tensor<2x2x16x8xf32>, tensor<2x2x32x8xf32>, tensor<2x2x32x8xf32>, tensor<2x16xi32>, tensor<2x16xi32>) -> (tensor<2x2x16x8xf32>, tensor<2x2x16xf32>)
  return
}

// -----

// Explicit ALiBi slopes give one slope per query head.
func.func @alibi_slope_count(%q: tensor<1x8x16x8xf32>, %k: tensor<1x2x16x8xf32>) {
  // expected-error @+2 {{'attune.attention' op expected #attune.alibi to give one slope per query head (8), got 2}}
  // expected-error @+1 {{'attune.attention' op failed to infer returned types}}
  %out, %lse = attune.attention %q, %k, %k {score_mods = [#attune.alibi<[0.5, 0.25]>]}
    : (tensor<1x8x16x8xf32>, tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>) -> (tensor<1x8x16x8xf32>, tensor<1x8x16xf32>)
  return
}

// -----

// score_mods holds only score modifications, not mask terms.
func.func @score_mods_mask_term(%q: tensor<1x2x16x8xf32>) {
  // expected-error @+2 {{'attune.attention' op expected score_mods entries to be #attune.alibi or #attune.softcap, got #attune.causal at position 1}}
  // expected-error @+1 {{'attune.attention' op failed to infer returned types}}
  %out, %lse = attune.attention %q, %q, %q {score_mods = [#attune.alibi, #attune.causal]}
    : (tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>) -> (tensor<1x2x16x8xf32>, tensor<1x2x16xf32>)
  return
}

// -----

// A result type that contradicts the inferred one (Dv = 32, not 64).
func.func @attention_incompatible_result(%q: tensor<1x2x16x64xf32>, %v: tensor<1x2x16x32xf32>) {
  // expected-error @+2 {{'attune.attention' op inferred type(s) 'tensor<1x2x16x32xf32>', 'tensor<1x2x16xf32>' are incompatible with return type(s) of operation 'tensor<1x2x16x64xf32>', 'tensor<1x2x16xf32>'}}
  // expected-error @+1 {{'attune.attention' op failed to infer returned types}}
  %out, %lse = attune.attention %q, %q, %v
    : (tensor<1x2x16x64xf32>, tensor<1x2x16x64xf32>, tensor<1x2x16x32xf32>) -> (tensor<1x2x16x64xf32>, tensor<1x2x16xf32>)
  return
}

// -----

// The log-sum-exp result is f32 whatever the input type.
func.func @attention_lse_element_type(%q: tensor<1x2x16x8xbf16>) {
  // expected-error @+2 {{'attune.attention' op inferred type(s) 'tensor<1x2x16x8xbf16>', 'tensor<1x2x16xf32>' are incompatible with return type(s) of operation 'tensor<1x2x16x8xbf16>', 'tensor<1x2x16xbf16>'}}
  // expected-error @+1 {{'attune.attention' op failed to infer returned types}}
  %out, %lse = attune.attention %q, %q, %q
    : (tensor<1x2x16x8xbf16>, tensor<1x2x16x8xbf16>, tensor<1x2x16x8xbf16>) -> (tensor<1x2x16x8xbf16>, tensor<1x2x16xbf16>)
  return
}

// -----

// The mask region takes (b, h, q_idx, kv_idx).
func.func @mask_region_arg_count(%q: tensor<1x2x16x8xf32>) {
  // expected-error @+1 {{'attune.attention' op expected the mask region to take 4 arguments, got 3}}
  %out, %lse = attune.attention %q, %q, %q mask {
  ^bb0(%h: index, %i: index, %j: index):
    %c = arith.cmpi ule, %j, %i : index
    attune.yield %c : i1
  } : (tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>) -> (tensor<1x2x16x8xf32>, tensor<1x2x16xf32>)
  return
}

// -----

// The score region receives the score as f32.
func.func @score_region_arg_type(%q: tensor<1x2x16x8xf16>) {
  // expected-error @+1 {{'attune.attention' op expected score region argument #0 of type 'f32', got 'f16'}}
  %out, %lse = attune.attention %q, %q, %q score {
  ^bb0(%s: f16, %b: index, %h: index, %i: index, %j: index):
    %t = arith.extf %s : f16 to f32
    attune.yield %t : f32
  } : (tensor<1x2x16x8xf16>, tensor<1x2x16x8xf16>, tensor<1x2x16x8xf16>) -> (tensor<1x2x16x8xf16>, tensor<1x2x16xf32>)
  return
}

// -----

// Mask region indices are index, not i64.
func.func @mask_region_index_type(%q: tensor<1x2x16x8xf32>) {
  // expected-error @+1 {{'attune.attention' op expected mask region argument #3 of type 'index', got 'i64'}}
  %out, %lse = attune.attention %q, %q, %q mask {
  ^bb0(%b: index, %h: index, %i: index, %j: i64):
    %c = arith.constant true
    attune.yield %c : i1
  } : (tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>) -> (tensor<1x2x16x8xf32>, tensor<1x2x16xf32>)
  return
}

// -----

// A region ends in attune.yield, not in another terminator.
func.func @mask_region_foreign_terminator(%q: tensor<1x2x16x8xf32>) {
  // expected-error @+1 {{'attune.attention' op expected the mask region to end in attune.yield}}
  %out, %lse = attune.attention %q, %q, %q mask {
  ^bb0(%b: index, %h: index, %i: index, %j: index):
    %c = arith.cmpi ule, %j, %i : index
    "test.return"(%c) : (i1) -> ()
  } : (tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>) -> (tensor<1x2x16x8xf32>, tensor<1x2x16xf32>)
  return
}

// -----

// The mask region yields one i1.
func.func @mask_region_yield_count(%q: tensor<1x2x16x8xf32>) {
  // expected-error @+1 {{'attune.attention' op expected the mask region to yield 1 values, got 2}}
  %out, %lse = attune.attention %q, %q, %q mask {
  ^bb0(%b: index, %h: index, %i: index, %j: index):
    %c = arith.cmpi ule, %j, %i : index
    attune.yield %c, %c : i1, i1
  } : (tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>) -> (tensor<1x2x16x8xf32>, tensor<1x2x16xf32>)
  return
}

// -----

// The mask region yields an i1, not an index.
func.func @mask_region_yield_type(%q: tensor<1x2x16x8xf32>) {
  // expected-error @+1 {{'attune.attention' op expected mask region to yield 'i1' as value #0, got 'index'}}
  %out, %lse = attune.attention %q, %q, %q mask {
  ^bb0(%b: index, %h: index, %i: index, %j: index):
    attune.yield %i : index
  } : (tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>) -> (tensor<1x2x16x8xf32>, tensor<1x2x16xf32>)
  return
}

// -----

// The score region yields an f32 score.
func.func @score_region_yield_type(%q: tensor<1x2x16x8xf32>) {
  // expected-error @+1 {{'attune.attention' op expected score region to yield 'f32' as value #0, got 'f64'}}
  %out, %lse = attune.attention %q, %q, %q score {
  ^bb0(%s: f32, %b: index, %h: index, %i: index, %j: index):
    %t = arith.extf %s : f32 to f64
    attune.yield %t : f64
  } : (tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>) -> (tensor<1x2x16x8xf32>, tensor<1x2x16xf32>)
  return
}

// -----

// Dilated attention shares attention's shape checks.
func.func @dilated_attention_gqa_heads(%q: tensor<1x6x64x8xf32>, %k: tensor<1x4x64x8xf32>) {
  // expected-error @+2 {{'attune.dilated_attention' op expected query heads (6) to be a multiple of key/value heads (4) for grouped-query attention}}
  // expected-error @+1 {{'attune.dilated_attention' op failed to infer returned types}}
  %out, %lse = attune.dilated_attention %q, %k, %k {segments = array<i64: 64>, rates = array<i64: 1>}
    : (tensor<1x6x64x8xf32>, tensor<1x4x64x8xf32>, tensor<1x4x64x8xf32>) -> (tensor<1x6x64x8xf32>, tensor<1x6x64xf32>)
  return
}

// -----

// Dilated attention checks its scale.
func.func @dilated_attention_zero_scale(%q: tensor<1x2x64x8xf32>) {
  // expected-error @+2 {{'attune.dilated_attention' op expected scale > 0 and finite, got 0.000000e+00}}
  // expected-error @+1 {{'attune.dilated_attention' op failed to infer returned types}}
  %out, %lse = attune.dilated_attention %q, %q, %q {segments = array<i64: 64>, rates = array<i64: 1>, scale = 0.0 : f64}
    : (tensor<1x2x64x8xf32>, tensor<1x2x64x8xf32>, tensor<1x2x64x8xf32>) -> (tensor<1x2x64x8xf32>, tensor<1x2x64xf32>)
  return
}

// -----

// Dilated attention needs at least one (segment, rate) branch.
func.func @dilated_attention_no_branch(%q: tensor<1x2x64x8xf32>) {
  // expected-error @+2 {{'attune.dilated_attention' op expected at least one branch in segments}}
  // expected-error @+1 {{'attune.dilated_attention' op failed to infer returned types}}
  %out, %lse = attune.dilated_attention %q, %q, %q {segments = array<i64>, rates = array<i64>}
    : (tensor<1x2x64x8xf32>, tensor<1x2x64x8xf32>, tensor<1x2x64x8xf32>) -> (tensor<1x2x64x8xf32>, tensor<1x2x64xf32>)
  return
}

// -----

// Every segment has a rate.
func.func @dilated_attention_rate_count(%q: tensor<1x2x64x8xf32>) {
  // expected-error @+2 {{'attune.dilated_attention' op expected as many rates as segments (2), got 1}}
  // expected-error @+1 {{'attune.dilated_attention' op failed to infer returned types}}
  %out, %lse = attune.dilated_attention %q, %q, %q {segments = array<i64: 32, 64>, rates = array<i64: 1>}
    : (tensor<1x2x64x8xf32>, tensor<1x2x64x8xf32>, tensor<1x2x64x8xf32>) -> (tensor<1x2x64x8xf32>, tensor<1x2x64xf32>)
  return
}

// -----

// Every segment holds at least one position.
func.func @dilated_attention_zero_segment(%q: tensor<1x2x64x8xf32>) {
  // expected-error @+2 {{'attune.dilated_attention' op expected segment > 0 in branch 1, got 0}}
  // expected-error @+1 {{'attune.dilated_attention' op failed to infer returned types}}
  %out, %lse = attune.dilated_attention %q, %q, %q {segments = array<i64: 32, 0>, rates = array<i64: 1, 1>}
    : (tensor<1x2x64x8xf32>, tensor<1x2x64x8xf32>, tensor<1x2x64x8xf32>) -> (tensor<1x2x64x8xf32>, tensor<1x2x64xf32>)
  return
}

// -----

// Every rate is positive.
func.func @dilated_attention_negative_rate(%q: tensor<1x2x64x8xf32>) {
  // expected-error @+2 {{'attune.dilated_attention' op expected rate > 0 in branch 0, got -2}}
  // expected-error @+1 {{'attune.dilated_attention' op failed to infer returned types}}
  %out, %lse = attune.dilated_attention %q, %q, %q {segments = array<i64: 32>, rates = array<i64: -2>}
    : (tensor<1x2x64x8xf32>, tensor<1x2x64x8xf32>, tensor<1x2x64x8xf32>) -> (tensor<1x2x64x8xf32>, tensor<1x2x64xf32>)
  return
}

// -----

// Each rate divides its segment.
func.func @dilated_attention_rate_not_dividing(%q: tensor<1x2x64x8xf32>) {
  // expected-error @+2 {{'attune.dilated_attention' op expected rate 3 to divide segment 64 in branch 1}}
  // expected-error @+1 {{'attune.dilated_attention' op failed to infer returned types}}
  %out, %lse = attune.dilated_attention %q, %q, %q {segments = array<i64: 32, 64>, rates = array<i64: 2, 3>}
    : (tensor<1x2x64x8xf32>, tensor<1x2x64x8xf32>, tensor<1x2x64x8xf32>) -> (tensor<1x2x64x8xf32>, tensor<1x2x64xf32>)
  return
}

// -----

// LSH attention's shared query/key is [B, H, L, D].
func.func @lsh_qk_rank(%qk: tensor<4x512x64xf32>, %v: tensor<1x4x512x64xf32>) {
  // expected-error @+2 {{'attune.lsh_attention' op expected qk of rank 4 [B, H, L, D], got rank 3 [4, 512, 64]}}
  // expected-error @+1 {{'attune.lsh_attention' op failed to infer returned types}}
  %out, %lse = attune.lsh_attention %qk, %v {num_buckets = 8 : i64, num_rounds = 1 : i64, chunk_size = 64 : i64, seed = 0 : i64}
    : (tensor<4x512x64xf32>, tensor<1x4x512x64xf32>) -> (tensor<1x4x512x64xf32>, tensor<1x4x512xf32>)
  return
}

// -----

// LSH attention's value is [B, H, L, Dv].
func.func @lsh_value_rank(%qk: tensor<1x4x512x64xf32>, %v: tensor<4x512x64xf32>) {
  // expected-error @+2 {{'attune.lsh_attention' op expected value of rank 4 [B, H, L, Dv], got rank 3 [4, 512, 64]}}
  // expected-error @+1 {{'attune.lsh_attention' op failed to infer returned types}}
  %out, %lse = attune.lsh_attention %qk, %v {num_buckets = 8 : i64, num_rounds = 1 : i64, chunk_size = 64 : i64, seed = 0 : i64}
    : (tensor<1x4x512x64xf32>, tensor<4x512x64xf32>) -> (tensor<1x4x512x64xf32>, tensor<1x4x512xf32>)
  return
}

// -----

// LSH attention's qk and value share an element type.
func.func @lsh_value_element_type(%qk: tensor<1x4x512x64xf32>, %v: tensor<1x4x512x64xf16>) {
  // expected-error @+2 {{'attune.lsh_attention' op expected value element type 'f32' (the qk's), got 'f16'}}
  // expected-error @+1 {{'attune.lsh_attention' op failed to infer returned types}}
  %out, %lse = attune.lsh_attention %qk, %v {num_buckets = 8 : i64, num_rounds = 1 : i64, chunk_size = 64 : i64, seed = 0 : i64}
    : (tensor<1x4x512x64xf32>, tensor<1x4x512x64xf16>) -> (tensor<1x4x512x64xf32>, tensor<1x4x512xf32>)
  return
}

// -----

// LSH attention checks its scale.
func.func @lsh_infinite_scale(%qk: tensor<1x4x512x64xf32>) {
  // expected-error @+2 {{'attune.lsh_attention' op expected scale > 0 and finite, got INF}}
  // expected-error @+1 {{'attune.lsh_attention' op failed to infer returned types}}
  %out, %lse = attune.lsh_attention %qk, %qk {num_buckets = 8 : i64, num_rounds = 1 : i64, chunk_size = 64 : i64, seed = 0 : i64, scale = 0x7FF0000000000000 : f64}
    : (tensor<1x4x512x64xf32>, tensor<1x4x512x64xf32>) -> (tensor<1x4x512x64xf32>, tensor<1x4x512xf32>)
  return
}

// -----

// LSH attention's value has qk's batch.
func.func @lsh_value_batch(%qk: tensor<2x4x512x64xf32>, %v: tensor<1x4x512x64xf32>) {
  // expected-error @+2 {{'attune.lsh_attention' op expected value dim 0 (batch) to be 2 (qk's), got 1}}
  // expected-error @+1 {{'attune.lsh_attention' op failed to infer returned types}}
  %out, %lse = attune.lsh_attention %qk, %v {num_buckets = 8 : i64, num_rounds = 1 : i64, chunk_size = 64 : i64, seed = 0 : i64}
    : (tensor<2x4x512x64xf32>, tensor<1x4x512x64xf32>) -> (tensor<2x4x512x64xf32>, tensor<2x4x512xf32>)
  return
}

// -----

// LSH attention has no grouped heads: value has qk's heads.
func.func @lsh_value_heads(%qk: tensor<1x4x512x64xf32>, %v: tensor<1x2x512x64xf32>) {
  // expected-error @+2 {{'attune.lsh_attention' op expected value dim 1 (heads) to be 4 (qk's), got 2}}
  // expected-error @+1 {{'attune.lsh_attention' op failed to infer returned types}}
  %out, %lse = attune.lsh_attention %qk, %v {num_buckets = 8 : i64, num_rounds = 1 : i64, chunk_size = 64 : i64, seed = 0 : i64}
    : (tensor<1x4x512x64xf32>, tensor<1x2x512x64xf32>) -> (tensor<1x4x512x64xf32>, tensor<1x4x512xf32>)
  return
}

// -----

// LSH attention's value has qk's length.
func.func @lsh_value_length(%qk: tensor<1x4x512x64xf32>, %v: tensor<1x4x256x64xf32>) {
  // expected-error @+2 {{'attune.lsh_attention' op expected value dim 2 (length) to be 512 (qk's), got 256}}
  // expected-error @+1 {{'attune.lsh_attention' op failed to infer returned types}}
  %out, %lse = attune.lsh_attention %qk, %v {num_buckets = 8 : i64, num_rounds = 1 : i64, chunk_size = 64 : i64, seed = 0 : i64}
    : (tensor<1x4x512x64xf32>, tensor<1x4x256x64xf32>) -> (tensor<1x4x512x64xf32>, tensor<1x4x512xf32>)
  return
}

// -----

// An odd number of LSH buckets cannot come from argmax over [xR, -xR].
func.func @lsh_odd_buckets(%qk: tensor<1x4x512x64xf32>) {
  // expected-error @+2 {{'attune.lsh_attention' op expected num_buckets to be 1 or a positive even number (buckets come from argmax over [xR, -xR]), got 7}}
  // expected-error @+1 {{'attune.lsh_attention' op failed to infer returned types}}
  %out, %lse = attune.lsh_attention %qk, %qk {num_buckets = 7 : i64, num_rounds = 1 : i64, chunk_size = 64 : i64, seed = 0 : i64}
    : (tensor<1x4x512x64xf32>, tensor<1x4x512x64xf32>) -> (tensor<1x4x512x64xf32>, tensor<1x4x512xf32>)
  return
}

// -----

// Zero LSH buckets is rejected.
func.func @lsh_zero_buckets(%qk: tensor<1x4x512x64xf32>) {
  // expected-error @+2 {{'attune.lsh_attention' op expected num_buckets to be 1 or a positive even number (buckets come from argmax over [xR, -xR]), got 0}}
  // expected-error @+1 {{'attune.lsh_attention' op failed to infer returned types}}
  %out, %lse = attune.lsh_attention %qk, %qk {num_buckets = 0 : i64, num_rounds = 1 : i64, chunk_size = 64 : i64, seed = 0 : i64}
    : (tensor<1x4x512x64xf32>, tensor<1x4x512x64xf32>) -> (tensor<1x4x512x64xf32>, tensor<1x4x512xf32>)
  return
}

// -----

// LSH attention hashes at least once.
func.func @lsh_zero_rounds(%qk: tensor<1x4x512x64xf32>) {
  // expected-error @+2 {{'attune.lsh_attention' op expected num_rounds >= 1, got 0}}
  // expected-error @+1 {{'attune.lsh_attention' op failed to infer returned types}}
  %out, %lse = attune.lsh_attention %qk, %qk {num_buckets = 8 : i64, num_rounds = 0 : i64, chunk_size = 64 : i64, seed = 0 : i64}
    : (tensor<1x4x512x64xf32>, tensor<1x4x512x64xf32>) -> (tensor<1x4x512x64xf32>, tensor<1x4x512xf32>)
  return
}

// -----

// A negative LSH chunk size is rejected (not read as a huge unsigned one).
func.func @lsh_negative_chunk(%qk: tensor<1x4x512x64xf32>) {
  // expected-error @+2 {{'attune.lsh_attention' op expected chunk_size >= 1, got -64}}
  // expected-error @+1 {{'attune.lsh_attention' op failed to infer returned types}}
  %out, %lse = attune.lsh_attention %qk, %qk {num_buckets = 8 : i64, num_rounds = 1 : i64, chunk_size = -64 : i64, seed = 0 : i64}
    : (tensor<1x4x512x64xf32>, tensor<1x4x512x64xf32>) -> (tensor<1x4x512x64xf32>, tensor<1x4x512xf32>)
  return
}

// -----

// With a single bucket nothing is hashed, so rotations make no sense.
func.func @lsh_rotations_one_bucket(%qk: tensor<1x4x512x64xf32>, %rot: tensor<1x64x1xf32>) {
  // expected-error @+2 {{'attune.lsh_attention' op expected no rotations with num_buckets = 1 (nothing is hashed)}}
  // expected-error @+1 {{'attune.lsh_attention' op failed to infer returned types}}
  %out, %lse = attune.lsh_attention %qk, %qk rotations %rot {num_buckets = 1 : i64, num_rounds = 1 : i64, chunk_size = 64 : i64, seed = 0 : i64}
    : (tensor<1x4x512x64xf32>, tensor<1x4x512x64xf32>, tensor<1x64x1xf32>) -> (tensor<1x4x512x64xf32>, tensor<1x4x512xf32>)
  return
}

// -----

// LSH rotations are [num_rounds, D, num_buckets / 2].
func.func @lsh_rotations_rank(%qk: tensor<1x4x512x64xf32>, %rot: tensor<64x4xf32>) {
  // expected-error @+2 {{'attune.lsh_attention' op expected rotations of rank 3 [num_rounds, D, num_buckets / 2], got rank 2 [64, 4]}}
  // expected-error @+1 {{'attune.lsh_attention' op failed to infer returned types}}
  %out, %lse = attune.lsh_attention %qk, %qk rotations %rot {num_buckets = 8 : i64, num_rounds = 1 : i64, chunk_size = 64 : i64, seed = 0 : i64}
    : (tensor<1x4x512x64xf32>, tensor<1x4x512x64xf32>, tensor<64x4xf32>) -> (tensor<1x4x512x64xf32>, tensor<1x4x512xf32>)
  return
}

// -----

// LSH rotations hold one rotation per round.
func.func @lsh_rotations_rounds(%qk: tensor<1x4x512x64xf32>, %rot: tensor<3x64x4xf32>) {
  // expected-error @+2 {{'attune.lsh_attention' op expected rotations dim 0 (rounds) to be 2 (num_rounds), got 3}}
  // expected-error @+1 {{'attune.lsh_attention' op failed to infer returned types}}
  %out, %lse = attune.lsh_attention %qk, %qk rotations %rot {num_buckets = 8 : i64, num_rounds = 2 : i64, chunk_size = 64 : i64, seed = 0 : i64}
    : (tensor<1x4x512x64xf32>, tensor<1x4x512x64xf32>, tensor<3x64x4xf32>) -> (tensor<1x4x512x64xf32>, tensor<1x4x512xf32>)
  return
}

// -----

// LSH rotations act on qk's head dim.
func.func @lsh_rotations_head_dim(%qk: tensor<1x4x512x64xf32>, %rot: tensor<2x32x4xf32>) {
  // expected-error @+2 {{'attune.lsh_attention' op expected rotations dim 1 (head dim) to be 64 (qk's), got 32}}
  // expected-error @+1 {{'attune.lsh_attention' op failed to infer returned types}}
  %out, %lse = attune.lsh_attention %qk, %qk rotations %rot {num_buckets = 8 : i64, num_rounds = 2 : i64, chunk_size = 64 : i64, seed = 0 : i64}
    : (tensor<1x4x512x64xf32>, tensor<1x4x512x64xf32>, tensor<2x32x4xf32>) -> (tensor<1x4x512x64xf32>, tensor<1x4x512xf32>)
  return
}

// -----

// LSH rotations give num_buckets / 2 directions.
func.func @lsh_rotations_buckets(%qk: tensor<1x4x512x64xf32>, %rot: tensor<2x64x8xf32>) {
  // expected-error @+2 {{'attune.lsh_attention' op expected rotations dim 2 (buckets / 2) to be 4 (num_buckets / 2), got 8}}
  // expected-error @+1 {{'attune.lsh_attention' op failed to infer returned types}}
  %out, %lse = attune.lsh_attention %qk, %qk rotations %rot {num_buckets = 8 : i64, num_rounds = 2 : i64, chunk_size = 64 : i64, seed = 0 : i64}
    : (tensor<1x4x512x64xf32>, tensor<1x4x512x64xf32>, tensor<2x64x8xf32>) -> (tensor<1x4x512x64xf32>, tensor<1x4x512xf32>)
  return
}

// -----

// RMSNorm normalizes the last dimension, so a scalar has none.
func.func @rms_norm_rank0(%x: tensor<f32>) {
  // expected-error @+2 {{'attune.rms_norm' op expected input of rank >= 1, got rank 0}}
  // expected-error @+1 {{'attune.rms_norm' op failed to infer returned types}}
  %y = attune.rms_norm %x : (tensor<f32>) -> tensor<f32>
  return
}

// -----

// The RMSNorm weight is a [D] vector.
func.func @rms_norm_weight_rank(%x: tensor<2x128x512xf32>, %w: tensor<1x512xf32>) {
  // expected-error @+2 {{'attune.rms_norm' op expected weight of rank 1 [D], got rank 2 [1, 512]}}
  // expected-error @+1 {{'attune.rms_norm' op failed to infer returned types}}
  %y = attune.rms_norm %x weight %w : (tensor<2x128x512xf32>, tensor<1x512xf32>) -> tensor<2x128x512xf32>
  return
}

// -----

// The RMSNorm weight has the input's element type.
func.func @rms_norm_weight_element_type(%x: tensor<2x128x512xbf16>, %w: tensor<512xf32>) {
  // expected-error @+2 {{'attune.rms_norm' op expected weight element type 'bf16' (the input's), got 'f32'}}
  // expected-error @+1 {{'attune.rms_norm' op failed to infer returned types}}
  %y = attune.rms_norm %x weight %w : (tensor<2x128x512xbf16>, tensor<512xf32>) -> tensor<2x128x512xbf16>
  return
}

// -----

// The RMSNorm weight has one entry per feature.
func.func @rms_norm_weight_size(%x: tensor<2x128x512xf32>, %w: tensor<256xf32>) {
  // expected-error @+2 {{'attune.rms_norm' op expected weight dim 0 (features) to be 512 (the input's last dim), got 256}}
  // expected-error @+1 {{'attune.rms_norm' op failed to infer returned types}}
  %y = attune.rms_norm %x weight %w : (tensor<2x128x512xf32>, tensor<256xf32>) -> tensor<2x128x512xf32>
  return
}

// -----

// RMSNorm's epsilon cannot be negative.
func.func @rms_norm_negative_epsilon(%x: tensor<2x128x512xf32>) {
  // expected-error @+2 {{'attune.rms_norm' op expected epsilon >= 0 and finite, got -1.000000e-05}}
  // expected-error @+1 {{'attune.rms_norm' op failed to infer returned types}}
  %y = attune.rms_norm %x {epsilon = -1.0e-05 : f64} : (tensor<2x128x512xf32>) -> tensor<2x128x512xf32>
  return
}

// -----

// LayerNorm normalizes the last dimension, so a scalar has none.
func.func @layer_norm_rank0(%x: tensor<f16>) {
  // expected-error @+2 {{'attune.layer_norm' op expected input of rank >= 1, got rank 0}}
  // expected-error @+1 {{'attune.layer_norm' op failed to infer returned types}}
  %y = attune.layer_norm %x : (tensor<f16>) -> tensor<f16>
  return
}

// -----

// The LayerNorm weight has one entry per feature.
func.func @layer_norm_weight_size(%x: tensor<2x128x512xf32>, %w: tensor<128xf32>) {
  // expected-error @+2 {{'attune.layer_norm' op expected weight dim 0 (features) to be 512 (the input's last dim), got 128}}
  // expected-error @+1 {{'attune.layer_norm' op failed to infer returned types}}
  %y = attune.layer_norm %x weight %w : (tensor<2x128x512xf32>, tensor<128xf32>) -> tensor<2x128x512xf32>
  return
}

// -----

// The LayerNorm bias is a [D] vector.
func.func @layer_norm_bias_rank(%x: tensor<2x128x512xf32>, %b: tensor<f32>) {
  // expected-error @+2 {{'attune.layer_norm' op expected bias of rank 1 [D], got rank 0 []}}
  // expected-error @+1 {{'attune.layer_norm' op failed to infer returned types}}
  %y = attune.layer_norm %x bias %b : (tensor<2x128x512xf32>, tensor<f32>) -> tensor<2x128x512xf32>
  return
}

// -----

// The LayerNorm bias has the input's element type.
func.func @layer_norm_bias_element_type(%x: tensor<2x128x512xf32>, %w: tensor<512xf32>, %b: tensor<512xf64>) {
  // expected-error @+2 {{'attune.layer_norm' op expected bias element type 'f32' (the input's), got 'f64'}}
  // expected-error @+1 {{'attune.layer_norm' op failed to infer returned types}}
  %y = attune.layer_norm %x weight %w bias %b : (tensor<2x128x512xf32>, tensor<512xf32>, tensor<512xf64>) -> tensor<2x128x512xf32>
  return
}

// -----

// The LayerNorm bias has one entry per feature.
func.func @layer_norm_bias_size(%x: tensor<2x128x512xf32>, %b: tensor<1024xf32>) {
  // expected-error @+2 {{'attune.layer_norm' op expected bias dim 0 (features) to be 512 (the input's last dim), got 1024}}
  // expected-error @+1 {{'attune.layer_norm' op failed to infer returned types}}
  %y = attune.layer_norm %x bias %b : (tensor<2x128x512xf32>, tensor<1024xf32>) -> tensor<2x128x512xf32>
  return
}

// -----

// LayerNorm's epsilon must be finite.
func.func @layer_norm_infinite_epsilon(%x: tensor<2x128x512xf32>) {
  // expected-error @+2 {{'attune.layer_norm' op expected epsilon >= 0 and finite, got INF}}
  // expected-error @+1 {{'attune.layer_norm' op failed to infer returned types}}
  %y = attune.layer_norm %x {epsilon = 0x7FF0000000000000 : f64} : (tensor<2x128x512xf32>) -> tensor<2x128x512xf32>
  return
}

// -----

// RoPE needs [..., L, D].
func.func @rope_rank1(%x: tensor<64xf32>) {
  // expected-error @+2 {{'attune.rope' op expected input of rank >= 2, got rank 1}}
  // expected-error @+1 {{'attune.rope' op failed to infer returned types}}
  %y = attune.rope %x : (tensor<64xf32>) -> tensor<64xf32>
  return
}

// -----

// The RoPE base must be positive.
func.func @rope_zero_theta(%x: tensor<1x8x128x64xf32>) {
  // expected-error @+2 {{'attune.rope' op expected theta > 0 and finite, got 0.000000e+00}}
  // expected-error @+1 {{'attune.rope' op failed to infer returned types}}
  %y = attune.rope %x {theta = 0.0 : f64} : (tensor<1x8x128x64xf32>) -> tensor<1x8x128x64xf32>
  return
}

// -----

// RoPE rotates pairs, so rotary_dim is even.
func.func @rope_odd_rotary_dim(%x: tensor<1x8x128x64xf32>) {
  // expected-error @+2 {{'attune.rope' op expected rotary_dim to be positive and even, got 33}}
  // expected-error @+1 {{'attune.rope' op failed to infer returned types}}
  %y = attune.rope %x {rotary_dim = 33 : i64} : (tensor<1x8x128x64xf32>) -> tensor<1x8x128x64xf32>
  return
}

// -----

// rotary_dim is positive.
func.func @rope_negative_rotary_dim(%x: tensor<1x8x128x64xf32>) {
  // expected-error @+2 {{'attune.rope' op expected rotary_dim to be positive and even, got -2}}
  // expected-error @+1 {{'attune.rope' op failed to infer returned types}}
  %y = attune.rope %x {rotary_dim = -2 : i64} : (tensor<1x8x128x64xf32>) -> tensor<1x8x128x64xf32>
  return
}

// -----

// rotary_dim cannot exceed the head dim.
func.func @rope_rotary_dim_too_large(%x: tensor<1x8x128x64xf32>) {
  // expected-error @+2 {{'attune.rope' op expected rotary_dim <= the head dim 64, got 128}}
  // expected-error @+1 {{'attune.rope' op failed to infer returned types}}
  %y = attune.rope %x {rotary_dim = 128 : i64} : (tensor<1x8x128x64xf32>) -> tensor<1x8x128x64xf32>
  return
}

// -----

// Without rotary_dim the whole (odd) head dim would be rotated in pairs.
func.func @rope_odd_head_dim(%x: tensor<1x8x128x63xf32>) {
  // expected-error @+2 {{'attune.rope' op expected an even head dim (last dim) to rotate in pairs, got 63}}
  // expected-error @+1 {{'attune.rope' op failed to infer returned types}}
  %y = attune.rope %x : (tensor<1x8x128x63xf32>) -> tensor<1x8x128x63xf32>
  return
}

// -----

// RoPE positions are [L] or [B, L].
func.func @rope_positions_rank(%x: tensor<1x8x128x64xf32>, %p: tensor<1x1x128xi64>) {
  // expected-error @+2 {{'attune.rope' op expected positions of rank 1 [L] or 2 [B, L], got rank 3}}
  // expected-error @+1 {{'attune.rope' op failed to infer returned types}}
  %y = attune.rope %x positions %p : (tensor<1x8x128x64xf32>, tensor<1x1x128xi64>) -> tensor<1x8x128x64xf32>
  return
}

// -----

// RoPE gives one position per token.
func.func @rope_positions_length(%x: tensor<1x8x128x64xf32>, %p: tensor<1x64xi32>) {
  // expected-error @+2 {{'attune.rope' op expected positions dim 1 (length) to be 128 (the input's dim -2), got 64}}
  // expected-error @+1 {{'attune.rope' op failed to infer returned types}}
  %y = attune.rope %x positions %p : (tensor<1x8x128x64xf32>, tensor<1x64xi32>) -> tensor<1x8x128x64xf32>
  return
}

// -----

// [B, L] positions have the input's batch.
func.func @rope_positions_batch(%x: tensor<2x8x128x64xf32>, %p: tensor<4x128xi32>) {
  // expected-error @+2 {{'attune.rope' op expected positions dim 0 (batch) to be 2 (the input's dim 0), got 4}}
  // expected-error @+1 {{'attune.rope' op failed to infer returned types}}
  %y = attune.rope %x positions %p : (tensor<2x8x128x64xf32>, tensor<4x128xi32>) -> tensor<2x8x128x64xf32>
  return
}

// -----

// A linear layer needs at least a feature dimension.
func.func @linear_rank0(%x: tensor<f32>, %w: tensor<4x4xf32>) {
  // expected-error @+2 {{'attune.linear' op expected input of rank >= 1, got rank 0}}
  // expected-error @+1 {{'attune.linear' op failed to infer returned types}}
  %y = attune.linear %x, %w : (tensor<f32>, tensor<4x4xf32>) -> tensor<4xf32>
  return
}

// -----

// The linear weight is [out, in].
func.func @linear_weight_rank(%x: tensor<2x512xf32>, %w: tensor<512xf32>) {
  // expected-error @+2 {{'attune.linear' op expected weight of rank 2 [out, in], got rank 1 [512]}}
  // expected-error @+1 {{'attune.linear' op failed to infer returned types}}
  %y = attune.linear %x, %w : (tensor<2x512xf32>, tensor<512xf32>) -> tensor<2x512xf32>
  return
}

// -----

// The linear weight has the input's element type.
func.func @linear_weight_element_type(%x: tensor<2x512xf32>, %w: tensor<1024x512xbf16>) {
  // expected-error @+2 {{'attune.linear' op expected weight element type 'f32' (the input's), got 'bf16'}}
  // expected-error @+1 {{'attune.linear' op failed to infer returned types}}
  %y = attune.linear %x, %w : (tensor<2x512xf32>, tensor<1024x512xbf16>) -> tensor<2x1024xf32>
  return
}

// -----

// The linear weight is [out, in], not [in, out].
func.func @linear_weight_transposed(%x: tensor<2x512xf32>, %w: tensor<512x1024xf32>) {
  // expected-error @+2 {{'attune.linear' op expected weight dim 1 (in features) to be 512 (the input's last dim), got 1024}}
  // expected-error @+1 {{'attune.linear' op failed to infer returned types}}
  %y = attune.linear %x, %w : (tensor<2x512xf32>, tensor<512x1024xf32>) -> tensor<2x512xf32>
  return
}

// -----

// The linear bias is [out].
func.func @linear_bias_rank(%x: tensor<2x512xf32>, %w: tensor<1024x512xf32>, %b: tensor<1x1024xf32>) {
  // expected-error @+2 {{'attune.linear' op expected bias of rank 1 [out], got rank 2 [1, 1024]}}
  // expected-error @+1 {{'attune.linear' op failed to infer returned types}}
  %y = attune.linear %x, %w bias %b : (tensor<2x512xf32>, tensor<1024x512xf32>, tensor<1x1024xf32>) -> tensor<2x1024xf32>
  return
}

// -----

// The linear bias has the input's element type.
func.func @linear_bias_element_type(%x: tensor<2x512xf16>, %w: tensor<1024x512xf16>, %b: tensor<1024xf32>) {
  // expected-error @+2 {{'attune.linear' op expected bias element type 'f16' (the input's), got 'f32'}}
  // expected-error @+1 {{'attune.linear' op failed to infer returned types}}
  %y = attune.linear %x, %w bias %b : (tensor<2x512xf16>, tensor<1024x512xf16>, tensor<1024xf32>) -> tensor<2x1024xf16>
  return
}

// -----

// The linear bias has one entry per output feature.
func.func @linear_bias_size(%x: tensor<2x512xf32>, %w: tensor<1024x512xf32>, %b: tensor<512xf32>) {
  // expected-error @+2 {{'attune.linear' op expected bias dim 0 (out features) to be 1024 (the weight's dim 0), got 512}}
  // expected-error @+1 {{'attune.linear' op failed to infer returned types}}
  %y = attune.linear %x, %w bias %b : (tensor<2x512xf32>, tensor<1024x512xf32>, tensor<512xf32>) -> tensor<2x1024xf32>
  return
}

// -----

// An MLP needs at least a feature dimension.
func.func @mlp_rank0(%x: tensor<f32>, %up: tensor<16x8xf32>, %down: tensor<8x16xf32>) {
  // expected-error @+2 {{'attune.mlp' op expected input of rank >= 1, got rank 0}}
  // expected-error @+1 {{'attune.mlp' op failed to infer returned types}}
  %y = attune.mlp %x, %up, %down {activation = #attune.activation<relu>} : (tensor<f32>, tensor<16x8xf32>, tensor<8x16xf32>) -> tensor<8xf32>
  return
}

// -----

// W_up is [F, Din].
func.func @mlp_w_up_rank(%x: tensor<4x8xf32>, %up: tensor<16x8x1xf32>, %down: tensor<8x16xf32>) {
  // expected-error @+2 {{'attune.mlp' op expected w_up of rank 2 [F, Din], got rank 3 [16, 8, 1]}}
  // expected-error @+1 {{'attune.mlp' op failed to infer returned types}}
  %y = attune.mlp %x, %up, %down {activation = #attune.activation<relu>} : (tensor<4x8xf32>, tensor<16x8x1xf32>, tensor<8x16xf32>) -> tensor<4x8xf32>
  return
}

// -----

// W_down is [Dout, F].
func.func @mlp_w_down_rank(%x: tensor<4x8xf32>, %up: tensor<16x8xf32>, %down: tensor<16xf32>) {
  // expected-error @+2 {{'attune.mlp' op expected w_down of rank 2 [Dout, F], got rank 1 [16]}}
  // expected-error @+1 {{'attune.mlp' op failed to infer returned types}}
  %y = attune.mlp %x, %up, %down {activation = #attune.activation<relu>} : (tensor<4x8xf32>, tensor<16x8xf32>, tensor<16xf32>) -> tensor<4x8xf32>
  return
}

// -----

// W_up has the input's element type.
func.func @mlp_w_up_element_type(%x: tensor<4x8xf32>, %up: tensor<16x8xf16>, %down: tensor<8x16xf32>) {
  // expected-error @+2 {{'attune.mlp' op expected w_up element type 'f32' (the input's), got 'f16'}}
  // expected-error @+1 {{'attune.mlp' op failed to infer returned types}}
  %y = attune.mlp %x, %up, %down {activation = #attune.activation<relu>} : (tensor<4x8xf32>, tensor<16x8xf16>, tensor<8x16xf32>) -> tensor<4x8xf32>
  return
}

// -----

// W_down has the input's element type.
func.func @mlp_w_down_element_type(%x: tensor<4x8xf32>, %up: tensor<16x8xf32>, %down: tensor<8x16xbf16>) {
  // expected-error @+2 {{'attune.mlp' op expected w_down element type 'f32' (the input's), got 'bf16'}}
  // expected-error @+1 {{'attune.mlp' op failed to infer returned types}}
  %y = attune.mlp %x, %up, %down {activation = #attune.activation<relu>} : (tensor<4x8xf32>, tensor<16x8xf32>, tensor<8x16xbf16>) -> tensor<4x8xf32>
  return
}

// -----

// W_up takes the input's features.
func.func @mlp_w_up_in_features(%x: tensor<4x8xf32>, %up: tensor<16x4xf32>, %down: tensor<8x16xf32>) {
  // expected-error @+2 {{'attune.mlp' op expected w_up dim 1 (in features) to be 8 (the input's last dim), got 4}}
  // expected-error @+1 {{'attune.mlp' op failed to infer returned types}}
  %y = attune.mlp %x, %up, %down {activation = #attune.activation<relu>} : (tensor<4x8xf32>, tensor<16x4xf32>, tensor<8x16xf32>) -> tensor<4x8xf32>
  return
}

// -----

// W_down takes the hidden features W_up produces.
func.func @mlp_w_down_hidden(%x: tensor<4x8xf32>, %up: tensor<16x8xf32>, %down: tensor<8x32xf32>) {
  // expected-error @+2 {{'attune.mlp' op expected w_down dim 1 (hidden features) to be 16 (w_up's dim 0), got 32}}
  // expected-error @+1 {{'attune.mlp' op failed to infer returned types}}
  %y = attune.mlp %x, %up, %down {activation = #attune.activation<relu>} : (tensor<4x8xf32>, tensor<16x8xf32>, tensor<8x32xf32>) -> tensor<4x8xf32>
  return
}

// -----

// W_gate is [F, Din].
func.func @mlp_w_gate_rank(%x: tensor<4x8xf32>, %up: tensor<16x8xf32>, %down: tensor<8x16xf32>, %gate: tensor<128xf32>) {
  // expected-error @+2 {{'attune.mlp' op expected w_gate of rank 2 [F, Din], got rank 1 [128]}}
  // expected-error @+1 {{'attune.mlp' op failed to infer returned types}}
  %y = attune.mlp %x, %up, %down gate %gate {activation = #attune.activation<silu>} : (tensor<4x8xf32>, tensor<16x8xf32>, tensor<8x16xf32>, tensor<128xf32>) -> tensor<4x8xf32>
  return
}

// -----

// W_gate has the input's element type.
func.func @mlp_w_gate_element_type(%x: tensor<4x8xf32>, %up: tensor<16x8xf32>, %down: tensor<8x16xf32>, %gate: tensor<16x8xf64>) {
  // expected-error @+2 {{'attune.mlp' op expected w_gate element type 'f32' (the input's), got 'f64'}}
  // expected-error @+1 {{'attune.mlp' op failed to infer returned types}}
  %y = attune.mlp %x, %up, %down gate %gate {activation = #attune.activation<silu>} : (tensor<4x8xf32>, tensor<16x8xf32>, tensor<8x16xf32>, tensor<16x8xf64>) -> tensor<4x8xf32>
  return
}

// -----

// W_gate produces as many hidden features as W_up.
func.func @mlp_w_gate_hidden(%x: tensor<4x8xf32>, %up: tensor<16x8xf32>, %down: tensor<8x16xf32>, %gate: tensor<12x8xf32>) {
  // expected-error @+2 {{'attune.mlp' op expected w_gate dim 0 (hidden features) to be 16 (w_up's dim 0), got 12}}
  // expected-error @+1 {{'attune.mlp' op failed to infer returned types}}
  %y = attune.mlp %x, %up, %down gate %gate {activation = #attune.activation<silu>} : (tensor<4x8xf32>, tensor<16x8xf32>, tensor<8x16xf32>, tensor<12x8xf32>) -> tensor<4x8xf32>
  return
}

// -----

// W_gate takes the input's features.
func.func @mlp_w_gate_in_features(%x: tensor<4x8xf32>, %up: tensor<16x8xf32>, %down: tensor<8x16xf32>, %gate: tensor<16x6xf32>) {
  // expected-error @+2 {{'attune.mlp' op expected w_gate dim 1 (in features) to be 8 (the input's last dim), got 6}}
  // expected-error @+1 {{'attune.mlp' op failed to infer returned types}}
  %y = attune.mlp %x, %up, %down gate %gate {activation = #attune.activation<silu>} : (tensor<4x8xf32>, tensor<16x8xf32>, tensor<8x16xf32>, tensor<16x6xf32>) -> tensor<4x8xf32>
  return
}

// -----

// The up bias is a vector.
func.func @mlp_b_up_rank(%x: tensor<4x8xf32>, %up: tensor<16x8xf32>, %down: tensor<8x16xf32>, %b: tensor<1x16xf32>) {
  // expected-error @+2 {{'attune.mlp' op expected b_up of rank 1 [features], got rank 2 [1, 16]}}
  // expected-error @+1 {{'attune.mlp' op failed to infer returned types}}
  %y = attune.mlp %x, %up, %down up_bias %b {activation = #attune.activation<gelu>} : (tensor<4x8xf32>, tensor<16x8xf32>, tensor<8x16xf32>, tensor<1x16xf32>) -> tensor<4x8xf32>
  return
}

// -----

// The up bias has the input's element type.
func.func @mlp_b_up_element_type(%x: tensor<4x8xf32>, %up: tensor<16x8xf32>, %down: tensor<8x16xf32>, %b: tensor<16xf16>) {
  // expected-error @+2 {{'attune.mlp' op expected b_up element type 'f32' (the input's), got 'f16'}}
  // expected-error @+1 {{'attune.mlp' op failed to infer returned types}}
  %y = attune.mlp %x, %up, %down up_bias %b {activation = #attune.activation<gelu>} : (tensor<4x8xf32>, tensor<16x8xf32>, tensor<8x16xf32>, tensor<16xf16>) -> tensor<4x8xf32>
  return
}

// -----

// The up bias has one entry per hidden feature.
func.func @mlp_b_up_size(%x: tensor<4x8xf32>, %up: tensor<16x8xf32>, %down: tensor<8x16xf32>, %b: tensor<8xf32>) {
  // expected-error @+2 {{'attune.mlp' op expected b_up dim 0 (features) to be 16 (w_up's dim 0), got 8}}
  // expected-error @+1 {{'attune.mlp' op failed to infer returned types}}
  %y = attune.mlp %x, %up, %down up_bias %b {activation = #attune.activation<gelu>} : (tensor<4x8xf32>, tensor<16x8xf32>, tensor<8x16xf32>, tensor<8xf32>) -> tensor<4x8xf32>
  return
}

// -----

// The down bias is a vector.
func.func @mlp_b_down_rank(%x: tensor<4x8xf32>, %up: tensor<16x8xf32>, %down: tensor<8x16xf32>, %b: tensor<f32>) {
  // expected-error @+2 {{'attune.mlp' op expected b_down of rank 1 [features], got rank 0 []}}
  // expected-error @+1 {{'attune.mlp' op failed to infer returned types}}
  %y = attune.mlp %x, %up, %down down_bias %b {activation = #attune.activation<gelu>} : (tensor<4x8xf32>, tensor<16x8xf32>, tensor<8x16xf32>, tensor<f32>) -> tensor<4x8xf32>
  return
}

// -----

// The down bias has the input's element type.
func.func @mlp_b_down_element_type(%x: tensor<4x8xbf16>, %up: tensor<16x8xbf16>, %down: tensor<8x16xbf16>, %b: tensor<8xf32>) {
  // expected-error @+2 {{'attune.mlp' op expected b_down element type 'bf16' (the input's), got 'f32'}}
  // expected-error @+1 {{'attune.mlp' op failed to infer returned types}}
  %y = attune.mlp %x, %up, %down down_bias %b {activation = #attune.activation<gelu>} : (tensor<4x8xbf16>, tensor<16x8xbf16>, tensor<8x16xbf16>, tensor<8xf32>) -> tensor<4x8xbf16>
  return
}

// -----

// The down bias has one entry per output feature.
func.func @mlp_b_down_size(%x: tensor<4x8xf32>, %up: tensor<16x8xf32>, %down: tensor<8x16xf32>, %b: tensor<16xf32>) {
  // expected-error @+2 {{'attune.mlp' op expected b_down dim 0 (features) to be 8 (w_down's dim 0), got 16}}
  // expected-error @+1 {{'attune.mlp' op failed to infer returned types}}
  %y = attune.mlp %x, %up, %down down_bias %b {activation = #attune.activation<gelu>} : (tensor<4x8xf32>, tensor<16x8xf32>, tensor<8x16xf32>, tensor<16xf32>) -> tensor<4x8xf32>
  return
}

// -----

// An embedding table is [vocab, D].
func.func @embedding_table_rank(%ids: tensor<2x128xi32>, %table: tensor<32000xf32>) {
  // expected-error @+2 {{'attune.embedding' op expected table of rank 2 [vocab, D], got rank 1 [32000]}}
  // expected-error @+1 {{'attune.embedding' op failed to infer returned types}}
  %x = attune.embedding %ids, %table : (tensor<2x128xi32>, tensor<32000xf32>) -> tensor<2x128xf32>
  return
}

// -----

// Softmax needs an axis to normalize along.
func.func @softmax_rank0(%x: tensor<f32>) {
  // expected-error @+2 {{'attune.softmax' op expected input of rank >= 1, got rank 0}}
  // expected-error @+1 {{'attune.softmax' op failed to infer returned types}}
  %y = attune.softmax %x : (tensor<f32>) -> tensor<f32>
  return
}

// -----

// The softmax axis lies in [-rank, rank).
func.func @softmax_axis(%x: tensor<4x16xf32>) {
  // expected-error @+2 {{'attune.softmax' op expected axis in [-2, 2) for a rank-2 input, got -3}}
  // expected-error @+1 {{'attune.softmax' op failed to infer returned types}}
  %y = attune.softmax %x {axis = -3 : i64} : (tensor<4x16xf32>) -> tensor<4x16xf32>
  return
}

// -----

// Cross-entropy logits are [N, C].
func.func @cross_entropy_logits_rank(%logits: tensor<2x128x32000xf32>, %labels: tensor<256xi64>) {
  // expected-error @+2 {{'attune.cross_entropy' op expected logits of rank 2 [N, C], got rank 3 [2, 128, 32000]}}
  // expected-error @+1 {{'attune.cross_entropy' op failed to infer returned types}}
  %l = attune.cross_entropy %logits, %labels : (tensor<2x128x32000xf32>, tensor<256xi64>) -> tensor<f32>
  return
}

// -----

// Cross-entropy labels are [N].
func.func @cross_entropy_labels_rank(%logits: tensor<256x32000xf32>, %labels: tensor<2x128xi64>) {
  // expected-error @+2 {{'attune.cross_entropy' op expected labels of rank 1 [N], got rank 2 [2, 128]}}
  // expected-error @+1 {{'attune.cross_entropy' op failed to infer returned types}}
  %l = attune.cross_entropy %logits, %labels : (tensor<256x32000xf32>, tensor<2x128xi64>) -> tensor<f32>
  return
}

// -----

// Cross-entropy has one label per row of logits.
func.func @cross_entropy_labels_rows(%logits: tensor<256x32000xf32>, %labels: tensor<128xi64>) {
  // expected-error @+2 {{'attune.cross_entropy' op expected labels dim 0 (rows) to be 256 (the logits' dim 0), got 128}}
  // expected-error @+1 {{'attune.cross_entropy' op failed to infer returned types}}
  %l = attune.cross_entropy %logits, %labels {reduction = #attune.reduction<none>} : (tensor<256x32000xf32>, tensor<128xi64>) -> tensor<256xf32>
  return
}

// -----

// A reduced cross-entropy is a scalar, not one loss per row.
func.func @cross_entropy_reduced_result(%logits: tensor<256x32000xf32>, %labels: tensor<256xi64>) {
  // expected-error @+2 {{'attune.cross_entropy' op inferred type(s) 'tensor<f32>' are incompatible with return type(s) of operation 'tensor<256xf32>'}}
  // expected-error @+1 {{'attune.cross_entropy' op failed to infer returned types}}
  %l = attune.cross_entropy %logits, %labels {reduction = #attune.reduction<sum>} : (tensor<256x32000xf32>, tensor<256xi64>) -> tensor<256xf32>
  return
}

// -----

// A unary op's result has its input's type (generic form, where the result
// type is written out).
func.func @unary_incompatible_result(%x: tensor<4x4xf32>) {
  // expected-error @+2 {{'attune.gelu' op inferred type(s) 'tensor<4x4xf32>' are incompatible with return type(s) of operation 'tensor<4x5xf32>'}}
  // expected-error @+1 {{'attune.gelu' op failed to infer returned types}}
  %y = "attune.gelu"(%x) : (tensor<4x4xf32>) -> tensor<4x5xf32>
  return
}

// -----

// A unary op's result cannot even be less static than its input: the custom
// form prints one type, so anything else would not round-trip.
func.func @unary_less_static_result(%x: tensor<4x4xf32>) {
  // expected-error @+2 {{'attune.exp' op inferred type(s) 'tensor<4x4xf32>' are incompatible with return type(s) of operation 'tensor<?x4xf32>'}}
  // expected-error @+1 {{'attune.exp' op failed to infer returned types}}
  %y = "attune.exp"(%x) : (tensor<4x4xf32>) -> tensor<?x4xf32>
  return
}

// -----

// Binary operands share an element type (no implicit promotion).
func.func @binary_element_types(%a: tensor<4xf32>, %b: tensor<4xf16>) {
  // expected-error @+2 {{'attune.add' op expected rhs element type 'f32' (the lhs's), got 'f16'}}
  // expected-error @+1 {{'attune.add' op failed to infer returned types}}
  %y = attune.add %a, %b : (tensor<4xf32>, tensor<4xf16>) -> tensor<4xf32>
  return
}

// -----

// Binary operand shapes must broadcast as in NumPy.
func.func @binary_no_broadcast(%a: tensor<2x3xf32>, %b: tensor<4xf32>) {
  // expected-error @+2 {{'attune.mul' op expected operand shapes that broadcast, got [2, 3] and [4]}}
  // expected-error @+1 {{'attune.mul' op failed to infer returned types}}
  %y = attune.mul %a, %b : (tensor<2x3xf32>, tensor<4xf32>) -> tensor<2x3xf32>
  return
}

// -----

// A broadcast result has the broadcast shape.
func.func @binary_incompatible_result(%a: tensor<2x1xf32>, %b: tensor<1x3xf32>) {
  // expected-error @+2 {{'attune.pow' op inferred type(s) 'tensor<2x3xf32>' are incompatible with return type(s) of operation 'tensor<2x1xf32>'}}
  // expected-error @+1 {{'attune.pow' op failed to infer returned types}}
  %y = attune.pow %a, %b : (tensor<2x1xf32>, tensor<1x3xf32>) -> tensor<2x1xf32>
  return
}

// -----

// A cast changes the element type, never the shape.
func.func @cast_shape(%x: tensor<2x64xbf16>) {
  // expected-error @+1 {{'attune.cast' op expected the result shape to equal the input shape [2, 64], got [64, 2]}}
  %y = attune.cast %x : tensor<2x64xbf16> to tensor<64x2xf32>
  return
}

// -----

// The matmul lhs is [..., M, K].
func.func @matmul_lhs_rank(%a: tensor<32xf32>, %b: tensor<32x16xf32>) {
  // expected-error @+2 {{'attune.matmul' op expected lhs of rank >= 2, got rank 1}}
  // expected-error @+1 {{'attune.matmul' op failed to infer returned types}}
  %c = attune.matmul %a, %b : (tensor<32xf32>, tensor<32x16xf32>) -> tensor<16xf32>
  return
}

// -----

// The matmul rhs is [..., K, N].
func.func @matmul_rhs_rank(%a: tensor<8x32xf32>, %b: tensor<32xf32>) {
  // expected-error @+2 {{'attune.matmul' op expected rhs of rank >= 2, got rank 1}}
  // expected-error @+1 {{'attune.matmul' op failed to infer returned types}}
  %c = attune.matmul %a, %b : (tensor<8x32xf32>, tensor<32xf32>) -> tensor<8xf32>
  return
}

// -----

// Matmul operands share an element type.
func.func @matmul_element_types(%a: tensor<8x32xf32>, %b: tensor<32x16xbf16>) {
  // expected-error @+2 {{'attune.matmul' op expected rhs element type 'f32' (the lhs's), got 'bf16'}}
  // expected-error @+1 {{'attune.matmul' op failed to infer returned types}}
  %c = attune.matmul %a, %b : (tensor<8x32xf32>, tensor<32x16xbf16>) -> tensor<8x16xf32>
  return
}

// -----

// The contraction dims of a matmul agree.
func.func @matmul_contraction(%a: tensor<8x64x32xf32>, %b: tensor<16x32xf32>) {
  // expected-error @+2 {{'attune.matmul' op expected rhs dim 0 (contraction) to be 32 (the lhs's last dim), got 16}}
  // expected-error @+1 {{'attune.matmul' op failed to infer returned types}}
  %c = attune.matmul %a, %b : (tensor<8x64x32xf32>, tensor<16x32xf32>) -> tensor<8x64x32xf32>
  return
}

// -----

// Matmul batch dims broadcast.
func.func @matmul_batch(%a: tensor<8x64x32xf32>, %b: tensor<4x32x16xf32>) {
  // expected-error @+2 {{'attune.matmul' op expected batch dims that broadcast, got [8] and [4]}}
  // expected-error @+1 {{'attune.matmul' op failed to infer returned types}}
  %c = attune.matmul %a, %b : (tensor<8x64x32xf32>, tensor<4x32x16xf32>) -> tensor<8x64x16xf32>
  return
}

// -----

// A permutation names every dim of the input.
func.func @transpose_permutation_size(%x: tensor<2x3x4xf32>) {
  // expected-error @+2 {{'attune.transpose' op expected a permutation of 3 dims (the input's rank), got 2}}
  // expected-error @+1 {{'attune.transpose' op failed to infer returned types}}
  %y = attune.transpose %x {permutation = array<i64: 1, 0>} : (tensor<2x3x4xf32>) -> tensor<3x2x4xf32>
  return
}

// -----

// A permutation names each dim once.
func.func @transpose_not_a_permutation(%x: tensor<2x3x4xf32>) {
  // expected-error @+2 {{'attune.transpose' op expected permutation to hold each of 0..2 once, got [0, 2, 0]}}
  // expected-error @+1 {{'attune.transpose' op failed to infer returned types}}
  %y = attune.transpose %x {permutation = array<i64: 0, 2, 0>} : (tensor<2x3x4xf32>) -> tensor<2x4x2xf32>
  return
}

// -----

// A permutation entry beyond the rank is rejected.
func.func @transpose_permutation_out_of_range(%x: tensor<2x3xf32>) {
  // expected-error @+2 {{'attune.transpose' op expected permutation to hold each of 0..1 once, got [2, 0]}}
  // expected-error @+1 {{'attune.transpose' op failed to infer returned types}}
  %y = attune.transpose %x {permutation = array<i64: 2, 0>} : (tensor<2x3xf32>) -> tensor<3x2xf32>
  return
}

// -----

// A reshape keeps the element type.
func.func @reshape_element_type(%x: tensor<2x6xf32>) {
  // expected-error @+1 {{'attune.reshape' op expected the result element type 'f32' (the input's), got 'f16'}}
  %y = attune.reshape %x : tensor<2x6xf32> to tensor<3x4xf16>
  return
}

// -----

// A reshape produces a static shape.
func.func @reshape_dynamic_result(%x: tensor<2x6xf32>) {
  // expected-error @+1 {{'attune.reshape' op expected a static result shape, got [?, 4]}}
  %y = attune.reshape %x : tensor<2x6xf32> to tensor<?x4xf32>
  return
}

// -----

// A reshape keeps the number of elements.
func.func @reshape_element_count(%x: tensor<3x4xf32>) {
  // expected-error @+1 {{'attune.reshape' op expected the result to hold 12 elements (the input's [3, 4]), got 10 in [2, 5]}}
  %y = attune.reshape %x : tensor<3x4xf32> to tensor<2x5xf32>
  return
}

// -----

// A reduction reduces at least one axis.
func.func @reduce_no_axis(%x: tensor<4x16xf32>) {
  // expected-error @+2 {{'attune.reduce' op expected at least one axis to reduce}}
  // expected-error @+1 {{'attune.reduce' op failed to infer returned types}}
  %y = attune.reduce %x {kind = #attune.reduce_kind<sum>, axes = array<i64>} : (tensor<4x16xf32>) -> tensor<4x16xf32>
  return
}

// -----

// Reduction axes lie in [0, rank); negative axes are not accepted.
func.func @reduce_negative_axis(%x: tensor<4x16xf32>) {
  // expected-error @+2 {{'attune.reduce' op expected axes in [0, 2), got -1}}
  // expected-error @+1 {{'attune.reduce' op failed to infer returned types}}
  %y = attune.reduce %x {kind = #attune.reduce_kind<max>, axes = array<i64: -1>} : (tensor<4x16xf32>) -> tensor<4xf32>
  return
}

// -----

// Reduction axes are listed once, in increasing order.
func.func @reduce_unsorted_axes(%x: tensor<4x16x8xf32>) {
  // expected-error @+2 {{'attune.reduce' op expected axes in strictly increasing order, got [2, 0]}}
  // expected-error @+1 {{'attune.reduce' op failed to infer returned types}}
  %y = attune.reduce %x {kind = #attune.reduce_kind<mean>, axes = array<i64: 2, 0>} : (tensor<4x16x8xf32>) -> tensor<16xf32>
  return
}

// -----

// keep_dims keeps reduced dims as 1.
func.func @reduce_keep_dims_result(%x: tensor<4x16xf32>) {
  // expected-error @+2 {{'attune.reduce' op inferred type(s) 'tensor<4x1xf32>' are incompatible with return type(s) of operation 'tensor<4xf32>'}}
  // expected-error @+1 {{'attune.reduce' op failed to infer returned types}}
  %y = attune.reduce %x {kind = #attune.reduce_kind<sum>, axes = array<i64: 1>, keep_dims} : (tensor<4x16xf32>) -> tensor<4xf32>
  return
}

// -----

// A concatenation needs an input.
func.func @concat_no_input() {
  // expected-error @+2 {{'attune.concat' op expected at least one input}}
  // expected-error @+1 {{'attune.concat' op failed to infer returned types}}
  %y = attune.concat {axis = 0 : i64} : () -> tensor<0xf32>
  return
}

// -----

// The concatenation axis lies in [-rank, rank).
func.func @concat_axis(%a: tensor<2x3xf32>) {
  // expected-error @+2 {{'attune.concat' op expected axis in [-2, 2) for a rank-2 input, got 2}}
  // expected-error @+1 {{'attune.concat' op failed to infer returned types}}
  %y = attune.concat %a, %a {axis = 2 : i64} : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x6xf32>
  return
}

// -----

// Concatenated inputs share rank and element type.
func.func @concat_element_type(%a: tensor<2x3xf32>, %b: tensor<2x3xf16>) {
  // expected-error @+2 {{'attune.concat' op expected input #1 to be a rank-2 tensor of 'f32' like input #0, got 'tensor<2x3xf16>'}}
  // expected-error @+1 {{'attune.concat' op failed to infer returned types}}
  %y = attune.concat %a, %b {axis = 1 : i64} : (tensor<2x3xf32>, tensor<2x3xf16>) -> tensor<2x6xf32>
  return
}

// -----

// Concatenated inputs agree off the axis.
func.func @concat_off_axis_dim(%a: tensor<2x3xf32>, %b: tensor<2x3xf32>, %c: tensor<3x3xf32>) {
  // expected-error @+2 {{'attune.concat' op expected input #2 dim 0 to be 2 (input #0's), got 3}}
  // expected-error @+1 {{'attune.concat' op failed to infer returned types}}
  %y = attune.concat %a, %b, %c {axis = 1 : i64} : (tensor<2x3xf32>, tensor<2x3xf32>, tensor<3x3xf32>) -> tensor<2x9xf32>
  return
}

// -----

// The concatenated size must be representable.
func.func @concat_overflow(%a: tensor<9223372036854775807xf32>, %b: tensor<2xf32>) {
  // expected-error @+2 {{'attune.concat' op expected the concatenated dim 0 to fit in int64, got 9223372036854775807 + 2 at input #1}}
  // expected-error @+1 {{'attune.concat' op failed to infer returned types}}
  %y = attune.concat %a, %b {axis = 0 : i64} : (tensor<9223372036854775807xf32>, tensor<2xf32>) -> tensor<?xf32>
  return
}

// -----

// The slice axis lies in [-rank, rank).
func.func @slice_axis(%x: tensor<2x8x64xf32>) {
  // expected-error @+2 {{'attune.slice' op expected axis in [-3, 3) for a rank-3 input, got -4}}
  // expected-error @+1 {{'attune.slice' op failed to infer returned types}}
  %y = attune.slice %x {axis = -4 : i64, start = 0 : i64, size = 1 : i64} : (tensor<2x8x64xf32>) -> tensor<1x8x64xf32>
  return
}

// -----

// A slice starts at a non-negative position.
func.func @slice_negative_start(%x: tensor<2x8x64xf32>) {
  // expected-error @+2 {{'attune.slice' op expected start >= 0 and size >= 0, got start = -1, size = 4}}
  // expected-error @+1 {{'attune.slice' op failed to infer returned types}}
  %y = attune.slice %x {axis = 2 : i64, start = -1 : i64, size = 4 : i64} : (tensor<2x8x64xf32>) -> tensor<2x8x4xf32>
  return
}

// -----

// A slice ends inside the input.
func.func @slice_past_end(%x: tensor<2x8x64xf32>) {
  // expected-error @+2 {{'attune.slice' op expected start + size <= 64 (dim 2), got 60 + 8}}
  // expected-error @+1 {{'attune.slice' op failed to infer returned types}}
  %y = attune.slice %x {axis = -1 : i64, start = 60 : i64, size = 8 : i64} : (tensor<2x8x64xf32>) -> tensor<2x8x8xf32>
  return
}

// -----

// A slice whose start + size overflows int64 is past the end too.
func.func @slice_overflow(%x: tensor<4xf32>) {
  // expected-error @+2 {{'attune.slice' op expected start + size <= 4 (dim 0), got 2 + 9223372036854775807}}
  // expected-error @+1 {{'attune.slice' op failed to infer returned types}}
  %y = attune.slice %x {axis = 0 : i64, start = 2 : i64, size = 9223372036854775807 : i64} : (tensor<4xf32>) -> tensor<?xf32>
  return
}

// -----

// The f region of a reversible block takes one argument (x2).
func.func @reversible_f_arg_count(%x1: tensor<4x8xf32>, %x2: tensor<4x16xf32>, %w: tensor<8x16xf32>) {
  // expected-error @+1 {{'attune.reversible' op expected the f region to take 1 arguments, got 2}}
  %y1, %y2 = attune.reversible %x1, %x2 f {
  ^bb0(%a: tensor<4x16xf32>, %b: tensor<4x16xf32>):
    %t = attune.linear %a, %w : (tensor<4x16xf32>, tensor<8x16xf32>) -> tensor<4x8xf32>
    attune.yield %t : tensor<4x8xf32>
  } g {
  ^bb0(%a: tensor<4x8xf32>):
    %t = attune.concat %a, %a {axis = 1 : i64} : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x16xf32>
    attune.yield %t : tensor<4x16xf32>
  } : tensor<4x8xf32>, tensor<4x16xf32>
  return
}

// -----

// The f region maps x2's type (not x1's) to x1's.
func.func @reversible_f_arg_type(%x1: tensor<4x8xf32>, %x2: tensor<4x16xf32>) {
  // expected-error @+1 {{'attune.reversible' op expected f region argument #0 of type 'tensor<4x16xf32>', got 'tensor<4x8xf32>'}}
  %y1, %y2 = attune.reversible %x1, %x2 f {
  ^bb0(%a: tensor<4x8xf32>):
    attune.yield %a : tensor<4x8xf32>
  } g {
  ^bb0(%a: tensor<4x8xf32>):
    %t = attune.concat %a, %a {axis = 1 : i64} : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x16xf32>
    attune.yield %t : tensor<4x16xf32>
  } : tensor<4x8xf32>, tensor<4x16xf32>
  return
}

// -----

// The g region yields one value of x2's type.
func.func @reversible_g_yield_count(%x1: tensor<4x8xf32>, %x2: tensor<4x8xf32>) {
  // expected-error @+1 {{'attune.reversible' op expected the g region to yield 1 values, got 0}}
  %y1, %y2 = attune.reversible %x1, %x2 f {
  ^bb0(%a: tensor<4x8xf32>):
    attune.yield %a : tensor<4x8xf32>
  } g {
  ^bb0(%a: tensor<4x8xf32>):
    attune.yield
  } : tensor<4x8xf32>, tensor<4x8xf32>
  return
}

// -----

// The g region yields x2's type.
func.func @reversible_g_yield_type(%x1: tensor<4x8xf32>, %x2: tensor<4x16xf32>, %w: tensor<8x16xf32>) {
  // expected-error @+1 {{'attune.reversible' op expected g region to yield 'tensor<4x16xf32>' as value #0, got 'tensor<4x8xf32>'}}
  %y1, %y2 = attune.reversible %x1, %x2 f {
  ^bb0(%a: tensor<4x16xf32>):
    %t = attune.linear %a, %w : (tensor<4x16xf32>, tensor<8x16xf32>) -> tensor<4x8xf32>
    attune.yield %t : tensor<4x8xf32>
  } g {
  ^bb0(%a: tensor<4x8xf32>):
    attune.yield %a : tensor<4x8xf32>
  } : tensor<4x8xf32>, tensor<4x16xf32>
  return
}

// -----

// The checkpoint body takes one argument per operand.
func.func @checkpoint_arg_count(%x: tensor<4x8xf32>, %w: tensor<8x8xf32>) {
  // expected-error @+1 {{'attune.checkpoint' op expected the body region to take 2 arguments, got 1}}
  %r = attune.checkpoint (%x, %w) {
  ^bb0(%a: tensor<4x8xf32>):
    attune.yield %a : tensor<4x8xf32>
  } : (tensor<4x8xf32>, tensor<8x8xf32>) -> tensor<4x8xf32>
  return
}

// -----

// The checkpoint body's arguments have the operands' types.
func.func @checkpoint_arg_type(%x: tensor<4x8xf32>) {
  // expected-error @+1 {{'attune.checkpoint' op expected body region argument #0 of type 'tensor<4x8xf32>', got 'tensor<?x8xf32>'}}
  %r = attune.checkpoint (%x) {
  ^bb0(%a: tensor<?x8xf32>):
    %t = attune.gelu %a : tensor<?x8xf32>
    attune.yield %t : tensor<?x8xf32>
  } : (tensor<4x8xf32>) -> tensor<?x8xf32>
  return
}

// -----

// The checkpoint body ends in attune.yield.
func.func @checkpoint_foreign_terminator(%x: tensor<4x8xf32>) {
  // expected-error @+1 {{'attune.checkpoint' op expected the body region to end in attune.yield}}
  %r = attune.checkpoint (%x) {
  ^bb0(%a: tensor<4x8xf32>):
    "test.return"(%a) : (tensor<4x8xf32>) -> ()
  } : (tensor<4x8xf32>) -> tensor<4x8xf32>
  return
}

// -----

// The checkpoint body yields one value per result.
func.func @checkpoint_yield_count(%x: tensor<4x8xf32>) {
  // expected-error @+1 {{'attune.checkpoint' op expected the body region to yield 1 values, got 2}}
  %r = attune.checkpoint (%x) {
  ^bb0(%a: tensor<4x8xf32>):
    attune.yield %a, %a : tensor<4x8xf32>, tensor<4x8xf32>
  } : (tensor<4x8xf32>) -> tensor<4x8xf32>
  return
}

// -----

// The checkpoint body yields its results' types.
func.func @checkpoint_yield_type(%x: tensor<4x8xf32>) {
  // expected-error @+1 {{'attune.checkpoint' op expected body region to yield 'tensor<4x8xf16>' as value #0, got 'tensor<4x8xf32>'}}
  %r = attune.checkpoint (%x) {
  ^bb0(%a: tensor<4x8xf32>):
    attune.yield %a : tensor<4x8xf32>
  } : (tensor<4x8xf32>) -> tensor<4x8xf16>
  return
}

// -----

// The chunked axis lies in [0, rank).
func.func @chunked_axis(%x: tensor<1x512x256xf32>) {
  // expected-error @+1 {{'attune.chunked' op expected axis in [0, 3), got 3}}
  %y = attune.chunked %x along 3 by 64 {
  ^bb0(%c: tensor<1x512x256xf32>):
    attune.yield %c : tensor<1x512x256xf32>
  } : (tensor<1x512x256xf32>) -> tensor<1x512x256xf32>
  return
}

// -----

// A chunk holds at least one position.
func.func @chunked_zero_chunk(%x: tensor<1x512x256xf32>) {
  // expected-error @+1 {{'attune.chunked' op expected chunk_size >= 1, got 0}}
  %y = attune.chunked %x along 1 by 0 {
  ^bb0(%c: tensor<1x0x256xf32>):
    attune.yield %c : tensor<1x0x256xf32>
  } : (tensor<1x512x256xf32>) -> tensor<1x512x256xf32>
  return
}

// -----

// The chunk size divides the chunked dimension.
func.func @chunked_not_dividing(%x: tensor<1x512x256xf32>) {
  // expected-error @+1 {{'attune.chunked' op expected chunk_size 48 to divide dim 1 of the input (512)}}
  %y = attune.chunked %x along 1 by 48 {
  ^bb0(%c: tensor<1x48x256xf32>):
    attune.yield %c : tensor<1x48x256xf32>
  } : (tensor<1x512x256xf32>) -> tensor<1x512x256xf32>
  return
}

// -----

// Every result is concatenated along the axis, so it has that axis.
func.func @chunked_result_rank(%x: tensor<1x512x256xf32>) {
  // expected-error @+1 {{'attune.chunked' op expected result #1 of rank > 1 to concatenate along axis 1, got rank 1}}
  %y:2 = attune.chunked %x along 1 by 64 {
  ^bb0(%c: tensor<1x64x256xf32>):
    %s = attune.reduce %c {kind = #attune.reduce_kind<sum>, axes = array<i64: 1, 2>} : (tensor<1x64x256xf32>) -> tensor<1xf32>
    attune.yield %c, %s : tensor<1x64x256xf32>, tensor<1xf32>
  } : (tensor<1x512x256xf32>) -> (tensor<1x512x256xf32>, tensor<1xf32>)
  return
}

// -----

// Results have the input's size along the axis.
func.func @chunked_result_dim(%x: tensor<1x512x256xf32>) {
  // expected-error @+1 {{'attune.chunked' op expected result #0 dim 1 to be 512 (the input's), got 256}}
  %y = attune.chunked %x along 1 by 64 {
  ^bb0(%c: tensor<1x64x256xf32>):
    attune.yield %c : tensor<1x64x256xf32>
  } : (tensor<1x512x256xf32>) -> tensor<1x256x256xf32>
  return
}

// -----

// The body receives one chunk, not the whole input.
func.func @chunked_body_arg_type(%x: tensor<1x512x256xf32>) {
  // expected-error @+1 {{'attune.chunked' op expected body region argument #0 of type 'tensor<1x64x256xf32>', got 'tensor<1x512x256xf32>'}}
  %y = attune.chunked %x along 1 by 64 {
  ^bb0(%c: tensor<1x512x256xf32>):
    attune.yield %c : tensor<1x512x256xf32>
  } : (tensor<1x512x256xf32>) -> tensor<1x512x256xf32>
  return
}

// -----

// The body yields chunks of the results.
func.func @chunked_body_yield_type(%x: tensor<1x512x256xf32>, %w: tensor<128x256xf32>) {
  // expected-error @+1 {{'attune.chunked' op expected body region to yield 'tensor<1x64x256xf32>' as value #0, got 'tensor<1x64x128xf32>'}}
  %y = attune.chunked %x along 1 by 64 {
  ^bb0(%c: tensor<1x64x256xf32>):
    %t = attune.linear %c, %w : (tensor<1x64x256xf32>, tensor<128x256xf32>) -> tensor<1x64x128xf32>
    attune.yield %t : tensor<1x64x128xf32>
  } : (tensor<1x512x256xf32>) -> tensor<1x512x256xf32>
  return
}

// -----

// An explicit ALiBi slope list cannot be empty.
func.func @alibi_empty_slopes(%q: tensor<1x2x16x8xf32>) {
  %out, %lse = attune.attention %q, %q, %q {
    // expected-error @+1 {{expected #attune.alibi to list one slope per query head, got none (omit the list for the paper's slopes)}}
    score_mods = [#attune.alibi<[]>]}
    : (tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>) -> (tensor<1x2x16x8xf32>, tensor<1x2x16xf32>)
  return
}

// -----

// ALiBi slopes must be finite.
func.func @alibi_infinite_slope(%q: tensor<1x2x16x8xf32>) {
  %out, %lse = attune.attention %q, %q, %q {
    // expected-error @+1 {{expected finite #attune.alibi slopes, got INF at position 1}}
    score_mods = [#attune.alibi<[0.5, 0x7FF0000000000000]>]}
    : (tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>) -> (tensor<1x2x16x8xf32>, tensor<1x2x16xf32>)
  return
}

// -----

// A reshape of a partly dynamic input must produce a multiple of the input's
// static part: 20 elements cannot come from [?, 6].
func.func @reshape_dynamic_count(%x: tensor<?x6xf32>) {
  // expected-error @+1 {{expected the result's 20 elements to be a multiple of 6 (the static part of the input [?, 6])}}
  %y = attune.reshape %x : tensor<?x6xf32> to tensor<4x5xf32>
  return
}

// -----

// Rotations must have num_buckets / 2 columns.
func.func @lsh_rotations_columns(%qk: tensor<1x2x16x8xf32>, %r: tensor<1x8x3xf32>) {
  // expected-error @+2 {{expected rotations dim 2 (buckets / 2) to be 2 (num_buckets / 2), got 3}}
  // expected-error @+1 {{failed to infer returned types}}
  %out, %lse = attune.lsh_attention %qk, %qk rotations %r {num_buckets = 4 : i64, num_rounds = 1 : i64, chunk_size = 4 : i64, seed = 0 : i64}
    : (tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>, tensor<1x8x3xf32>) -> (tensor<1x2x16x8xf32>, tensor<1x2x16xf32>)
  return
}

// -----

// LSH bucket counts are bounded (Reformer uses a few thousand at most).
func.func @lsh_too_many_buckets(%qk: tensor<1x2x16x8xf32>) {
  // expected-error @+2 {{expected num_buckets <= 65536, got 131072}}
  // expected-error @+1 {{failed to infer returned types}}
  %out, %lse = attune.lsh_attention %qk, %qk {num_buckets = 131072 : i64, num_rounds = 1 : i64, chunk_size = 4 : i64, seed = 0 : i64}
    : (tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>) -> (tensor<1x2x16x8xf32>, tensor<1x2x16xf32>)
  return
}

// -----

// LSH round counts are bounded.
func.func @lsh_too_many_rounds(%qk: tensor<1x2x16x8xf32>) {
  // expected-error @+2 {{expected num_rounds <= 256, got 4611686018427387904}}
  // expected-error @+1 {{failed to infer returned types}}
  %out, %lse = attune.lsh_attention %qk, %qk {num_buckets = 2 : i64, num_rounds = 4611686018427387904 : i64, chunk_size = 4 : i64, seed = 0 : i64}
    : (tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>) -> (tensor<1x2x16x8xf32>, tensor<1x2x16xf32>)
  return
}

// -----

// LSH needs a non-empty head dim.
func.func @lsh_zero_head_dim(%qk: tensor<1x2x16x0xf32>) {
  // expected-error @+2 {{expected head dim D (qk dim 3) > 0, got 0}}
  // expected-error @+1 {{failed to infer returned types}}
  %out, %lse = attune.lsh_attention %qk, %qk {num_buckets = 2 : i64, num_rounds = 1 : i64, chunk_size = 4 : i64, seed = 0 : i64}
    : (tensor<1x2x16x0xf32>, tensor<1x2x16x0xf32>) -> (tensor<1x2x16x0xf32>, tensor<1x2x16xf32>)
  return
}

// -----

// Attention needs a non-empty head dim (the default scale is 1/sqrt(D)).
func.func @attention_zero_head_dim(%q: tensor<1x2x16x0xf32>) {
  // expected-error @+2 {{expected head dim D (query dim 3) > 0, got 0}}
  // expected-error @+1 {{failed to infer returned types}}
  %out, %lse = attune.attention %q, %q, %q
    : (tensor<1x2x16x0xf32>, tensor<1x2x16x0xf32>, tensor<1x2x16x0xf32>) -> (tensor<1x2x16x0xf32>, tensor<1x2x16xf32>)
  return
}

// -----

// Rank-1 positions give one position per token along dim -2.
func.func @rope_positions_length(%x: tensor<1x2x16x8xf32>, %p: tensor<15xi64>) {
  // expected-error @+2 {{expected positions dim 0 (length) to be 16 (the input's dim -2), got 15}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = attune.rope %x positions %p : (tensor<1x2x16x8xf32>, tensor<15xi64>) -> tensor<1x2x16x8xf32>
  return
}

// -----

// Positions [B, L] need a batch dim in the input, which a rank-2 input lacks.
func.func @rope_batched_positions_rank2(%x: tensor<16x8xf32>, %p: tensor<16x16xi64>) {
  // expected-error @+2 {{expected positions of rank 1 [L] for a rank-2 input (positions [B, L] need an input of rank >= 3 with B at dim 0)}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = attune.rope %x positions %p : (tensor<16x8xf32>, tensor<16x16xi64>) -> tensor<16x8xf32>
  return
}

// -----

// A max has no value over an empty dim.
func.func @reduce_max_empty(%x: tensor<4x0xf32>) {
  // expected-error @+2 {{expected a non-empty dim 1 to take a max over, got size 0}}
  // expected-error @+1 {{failed to infer returned types}}
  %y = attune.reduce %x {kind = #attune.reduce_kind<max>, axes = array<i64: 1>} : (tensor<4x0xf32>) -> tensor<4xf32>
  return
}

// -----

// Element counts must fit in int64.
func.func @reshape_count_overflow(%x: tensor<4294967296x4294967296xf32>) {
  // expected-error @+1 {{expected element counts that fit in int64, got [4294967296, 4294967296] to [4294967296, 4294967296, 1]}}
  %y = attune.reshape %x : tensor<4294967296x4294967296xf32> to tensor<4294967296x4294967296x1xf32>
  return
}
