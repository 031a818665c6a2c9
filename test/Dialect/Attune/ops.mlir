// RUN: attune-opt %s | attune-opt | FileCheck %s
// RUN: attune-opt %s -emit-bytecode | attune-opt | FileCheck %s
// RUN: attune-opt %s -mlir-print-op-generic | attune-opt | FileCheck %s

// Round trip of every attune op and attribute form: custom syntax, bytecode
// and the generic form must all print back to the same custom form. The CHECK
// lines pin the printed form, so a printer change shows up here.

// Attention: MHA with Dv != D, no attributes.
// CHECK-LABEL: func.func @attention_mha(
// CHECK:      %[[V0:[a-z0-9_]+]], %[[V1:[a-z0-9_]+]] = attune.attention %arg0, %arg1, %arg2 : (tensor<2x8x128x64xf32>, tensor<2x8x128x64xf32>, tensor<2x8x128x32xf32>) -> (tensor<2x8x128x32xf32>, tensor<2x8x128xf32>)
// CHECK-NEXT: return %[[V0]], %[[V1]] : tensor<2x8x128x32xf32>, tensor<2x8x128xf32>
func.func @attention_mha(%q: tensor<2x8x128x64xf32>, %k: tensor<2x8x128x64xf32>, %v: tensor<2x8x128x32xf32>) -> (tensor<2x8x128x32xf32>, tensor<2x8x128xf32>) {
  %out, %lse = attune.attention %q, %k, %v : (tensor<2x8x128x64xf32>, tensor<2x8x128x64xf32>, tensor<2x8x128x32xf32>) -> (tensor<2x8x128x32xf32>, tensor<2x8x128xf32>)
  return %out, %lse : tensor<2x8x128x32xf32>, tensor<2x8x128xf32>
}

// GQA (Hq = 8, Hkv = 2) with an explicit scale and a causal mask.
// CHECK-LABEL: func.func @attention_gqa(
// CHECK:      %[[V0:[a-z0-9_]+]], %[[V1:[a-z0-9_]+]] = attune.attention %arg0, %arg1, %arg2 {mask = #attune.causal, scale = 1.250000e-01 : f64} : (tensor<1x8x128x64xbf16>, tensor<1x2x128x64xbf16>, tensor<1x2x128x64xbf16>) -> (tensor<1x8x128x64xbf16>, tensor<1x8x128xf32>)
// CHECK-NEXT: return %[[V0]], %[[V1]] : tensor<1x8x128x64xbf16>, tensor<1x8x128xf32>
func.func @attention_gqa(%q: tensor<1x8x128x64xbf16>, %k: tensor<1x2x128x64xbf16>, %v: tensor<1x2x128x64xbf16>) -> (tensor<1x8x128x64xbf16>, tensor<1x8x128xf32>) {
  %out, %lse = attune.attention %q, %k, %v {mask = #attune.causal, scale = 0.125 : f64} : (tensor<1x8x128x64xbf16>, tensor<1x2x128x64xbf16>, tensor<1x2x128x64xbf16>) -> (tensor<1x8x128x64xbf16>, tensor<1x8x128xf32>)
  return %out, %lse : tensor<1x8x128x64xbf16>, tensor<1x8x128xf32>
}

// MQA (Hkv = 1), decoding: Lq = 1 against Lk = 512, bottom-right causal.
// CHECK-LABEL: func.func @attention_mqa_decode(
// CHECK:      %[[V0:[a-z0-9_]+]], %[[V1:[a-z0-9_]+]] = attune.attention %arg0, %arg1, %arg2 {mask = #attune.causal<bottom_right>} : (tensor<4x16x1x128xf16>, tensor<4x1x512x128xf16>, tensor<4x1x512x128xf16>) -> (tensor<4x16x1x128xf16>, tensor<4x16x1xf32>)
// CHECK-NEXT: return %[[V0]], %[[V1]] : tensor<4x16x1x128xf16>, tensor<4x16x1xf32>
func.func @attention_mqa_decode(%q: tensor<4x16x1x128xf16>, %k: tensor<4x1x512x128xf16>, %v: tensor<4x1x512x128xf16>) -> (tensor<4x16x1x128xf16>, tensor<4x16x1xf32>) {
  %out, %lse = attune.attention %q, %k, %v {mask = #attune.causal<bottom_right>} : (tensor<4x16x1x128xf16>, tensor<4x1x512x128xf16>, tensor<4x1x512x128xf16>) -> (tensor<4x16x1x128xf16>, tensor<4x16x1xf32>)
  return %out, %lse : tensor<4x16x1x128xf16>, tensor<4x16x1xf32>
}

// Dynamic batch and lengths; results as dynamic as the operands.
// CHECK-LABEL: func.func @attention_dynamic(
// CHECK:      %[[V0:[a-z0-9_]+]], %[[V1:[a-z0-9_]+]] = attune.attention %arg0, %arg1, %arg2 {mask = #attune.causal} : (tensor<?x8x?x64xf32>, tensor<?x2x?x64xf32>, tensor<?x2x?x64xf32>) -> (tensor<?x8x?x64xf32>, tensor<?x8x?xf32>)
// CHECK-NEXT: return %[[V0]], %[[V1]] : tensor<?x8x?x64xf32>, tensor<?x8x?xf32>
func.func @attention_dynamic(%q: tensor<?x8x?x64xf32>, %k: tensor<?x2x?x64xf32>, %v: tensor<?x2x?x64xf32>) -> (tensor<?x8x?x64xf32>, tensor<?x8x?xf32>) {
  %out, %lse = attune.attention %q, %k, %v {mask = #attune.causal<top_left>} : (tensor<?x8x?x64xf32>, tensor<?x2x?x64xf32>, tensor<?x2x?x64xf32>) -> (tensor<?x8x?x64xf32>, tensor<?x8x?xf32>)
  return %out, %lse : tensor<?x8x?x64xf32>, tensor<?x8x?xf32>
}

// Results may be less static than inferred.
// CHECK-LABEL: func.func @attention_result_less_static(
// CHECK:      %[[V0:[a-z0-9_]+]], %[[V1:[a-z0-9_]+]] = attune.attention %arg0, %arg1, %arg2 : (tensor<1x4x16x8xf32>, tensor<1x4x16x8xf32>, tensor<1x4x16x8xf32>) -> (tensor<?x4x?x8xf32>, tensor<1x?x16xf32>)
// CHECK-NEXT: return %[[V0]], %[[V1]] : tensor<?x4x?x8xf32>, tensor<1x?x16xf32>
func.func @attention_result_less_static(%q: tensor<1x4x16x8xf32>, %k: tensor<1x4x16x8xf32>, %v: tensor<1x4x16x8xf32>) -> (tensor<?x4x?x8xf32>, tensor<1x?x16xf32>) {
  %out, %lse = attune.attention %q, %k, %v : (tensor<1x4x16x8xf32>, tensor<1x4x16x8xf32>, tensor<1x4x16x8xf32>) -> (tensor<?x4x?x8xf32>, tensor<1x?x16xf32>)
  return %out, %lse : tensor<?x4x?x8xf32>, tensor<1x?x16xf32>
}

// Document masking with separate query and key/value ids.
// CHECK-LABEL: func.func @attention_document(
// CHECK:      %[[V0:[a-z0-9_]+]], %[[V1:[a-z0-9_]+]] = attune.attention %arg0, %arg1, %arg2 doc(%arg3, %arg4) {mask = #attune.and<[#attune.causal<bottom_right>, #attune.document]>} : (tensor<2x4x64x16xf32>, tensor<2x4x32x16xf32>, tensor<2x4x32x16xf32>, tensor<2x64xi32>, tensor<2x32xi64>) -> (tensor<2x4x64x16xf32>, tensor<2x4x64xf32>)
// CHECK-NEXT: return %[[V0]] : tensor<2x4x64x16xf32>
func.func @attention_document(%q: tensor<2x4x64x16xf32>, %k: tensor<2x4x32x16xf32>, %v: tensor<2x4x32x16xf32>, %qids: tensor<2x64xi32>, %kvids: tensor<2x32xi64>) -> tensor<2x4x64x16xf32> {
  %out, %lse = attune.attention %q, %k, %v doc(%qids, %kvids) {mask = #attune.and<[#attune.causal<bottom_right>, #attune.document]>} : (tensor<2x4x64x16xf32>, tensor<2x4x32x16xf32>, tensor<2x4x32x16xf32>, tensor<2x64xi32>, tensor<2x32xi64>) -> (tensor<2x4x64x16xf32>, tensor<2x4x64xf32>)
  return %out : tensor<2x4x64x16xf32>
}

// Document ids alone (no mask) are accepted; index ids too.
// CHECK-LABEL: func.func @attention_doc_ids_no_mask(
// CHECK:      %[[V0:[a-z0-9_]+]], %[[V1:[a-z0-9_]+]] = attune.attention %arg0, %arg0, %arg0 doc(%arg1, %arg1) : (tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>, tensor<1x8xindex>, tensor<1x8xindex>) -> (tensor<1x2x8x4xf32>, tensor<1x2x8xf32>)
// CHECK-NEXT: return %[[V0]] : tensor<1x2x8x4xf32>
func.func @attention_doc_ids_no_mask(%q: tensor<1x2x8x4xf32>, %ids: tensor<1x8xindex>) -> tensor<1x2x8x4xf32> {
  %out, %lse = attune.attention %q, %q, %q doc(%ids, %ids) : (tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>, tensor<1x8xindex>, tensor<1x8xindex>) -> (tensor<1x2x8x4xf32>, tensor<1x2x8xf32>)
  return %out : tensor<1x2x8x4xf32>
}

// Every mask term on its own.
// CHECK-LABEL: func.func @mask_terms(
// CHECK:      %[[V0:[a-z0-9_]+]], %[[V1:[a-z0-9_]+]] = attune.attention %arg0, %arg0, %arg0 {mask = #attune.sliding_window<left = 127, right = 0>} : (tensor<1x4x128x32xf32>, tensor<1x4x128x32xf32>, tensor<1x4x128x32xf32>) -> (tensor<1x4x128x32xf32>, tensor<1x4x128xf32>)
// CHECK-NEXT: %[[V2:[a-z0-9_]+]], %[[V3:[a-z0-9_]+]] = attune.attention %arg0, %arg0, %arg0 {mask = #attune.sliding_window<left = 16, right = 16, align = bottom_right>} : (tensor<1x4x128x32xf32>, tensor<1x4x128x32xf32>, tensor<1x4x128x32xf32>) -> (tensor<1x4x128x32xf32>, tensor<1x4x128xf32>)
// CHECK-NEXT: %[[V4:[a-z0-9_]+]], %[[V5:[a-z0-9_]+]] = attune.attention %arg0, %arg0, %arg0 {mask = #attune.sliding_window<left = 0, right = 0>} : (tensor<1x4x128x32xf32>, tensor<1x4x128x32xf32>, tensor<1x4x128x32xf32>) -> (tensor<1x4x128x32xf32>, tensor<1x4x128xf32>)
// CHECK-NEXT: %[[V6:[a-z0-9_]+]], %[[V7:[a-z0-9_]+]] = attune.attention %arg0, %arg0, %arg0 {mask = #attune.global<[0, 5, 127]>} : (tensor<1x4x128x32xf32>, tensor<1x4x128x32xf32>, tensor<1x4x128x32xf32>) -> (tensor<1x4x128x32xf32>, tensor<1x4x128xf32>)
// CHECK-NEXT: %[[V8:[a-z0-9_]+]], %[[V9:[a-z0-9_]+]] = attune.attention %arg0, %arg0, %arg0 {mask = #attune.block_sparse<block_q = 64, block_k = 64, layout = dense<{{\[\[}}true, false], [true, true]]> : tensor<2x2xi1>>} : (tensor<1x4x128x32xf32>, tensor<1x4x128x32xf32>, tensor<1x4x128x32xf32>) -> (tensor<1x4x128x32xf32>, tensor<1x4x128xf32>)
// CHECK-NEXT: %[[V10:[a-z0-9_]+]], %[[V11:[a-z0-9_]+]] = attune.attention %arg0, %arg0, %arg0 {mask = #attune.block_sparse<block_q = 100, block_k = 32, layout = dense<true> : tensor<4x2x4xi1>>} : (tensor<1x4x128x32xf32>, tensor<1x4x128x32xf32>, tensor<1x4x128x32xf32>) -> (tensor<1x4x128x32xf32>, tensor<1x4x128xf32>)
// CHECK-NEXT: %[[V12:[a-z0-9_]+]], %[[V13:[a-z0-9_]+]] = attune.attention %arg0, %arg0, %arg0 {mask = #attune.strided<16>} : (tensor<1x4x128x32xf32>, tensor<1x4x128x32xf32>, tensor<1x4x128x32xf32>) -> (tensor<1x4x128x32xf32>, tensor<1x4x128xf32>)
// CHECK-NEXT: %[[V14:[a-z0-9_]+]], %[[V15:[a-z0-9_]+]] = attune.attention %arg0, %arg0, %arg0 {mask = #attune.dilated<segment = 64, rate = 4>} : (tensor<1x4x128x32xf32>, tensor<1x4x128x32xf32>, tensor<1x4x128x32xf32>) -> (tensor<1x4x128x32xf32>, tensor<1x4x128xf32>)
// CHECK-NEXT: %[[V16:[a-z0-9_]+]], %[[V17:[a-z0-9_]+]] = attune.attention %arg0, %arg0, %arg0 {mask = #attune.dilated<segment = 64, rate = 2, offset = 1>} : (tensor<1x4x128x32xf32>, tensor<1x4x128x32xf32>, tensor<1x4x128x32xf32>) -> (tensor<1x4x128x32xf32>, tensor<1x4x128xf32>)
// CHECK-NEXT: %[[V18:[a-z0-9_]+]], %[[V19:[a-z0-9_]+]] = attune.attention %arg0, %arg0, %arg0 {mask = #attune.prefix_lm<32>} : (tensor<1x4x128x32xf32>, tensor<1x4x128x32xf32>, tensor<1x4x128x32xf32>) -> (tensor<1x4x128x32xf32>, tensor<1x4x128xf32>)
// CHECK-NEXT: %[[V20:[a-z0-9_]+]], %[[V21:[a-z0-9_]+]] = attune.attention %arg0, %arg0, %arg0 {mask = #attune.prefix_lm<0>} : (tensor<1x4x128x32xf32>, tensor<1x4x128x32xf32>, tensor<1x4x128x32xf32>) -> (tensor<1x4x128x32xf32>, tensor<1x4x128xf32>)
// CHECK-NEXT: return
func.func @mask_terms(%q: tensor<1x4x128x32xf32>) {
  %o0, %l0 = attune.attention %q, %q, %q {mask = #attune.sliding_window<left = 127, right = 0>} : (tensor<1x4x128x32xf32>, tensor<1x4x128x32xf32>, tensor<1x4x128x32xf32>) -> (tensor<1x4x128x32xf32>, tensor<1x4x128xf32>)
  %o1, %l1 = attune.attention %q, %q, %q {mask = #attune.sliding_window<left = 16, right = 16, align = bottom_right>} : (tensor<1x4x128x32xf32>, tensor<1x4x128x32xf32>, tensor<1x4x128x32xf32>) -> (tensor<1x4x128x32xf32>, tensor<1x4x128xf32>)
  %o2, %l2 = attune.attention %q, %q, %q {mask = #attune.sliding_window<left = 0, right = 0, align = top_left>} : (tensor<1x4x128x32xf32>, tensor<1x4x128x32xf32>, tensor<1x4x128x32xf32>) -> (tensor<1x4x128x32xf32>, tensor<1x4x128xf32>)
  %o3, %l3 = attune.attention %q, %q, %q {mask = #attune.global<[0, 5, 127]>} : (tensor<1x4x128x32xf32>, tensor<1x4x128x32xf32>, tensor<1x4x128x32xf32>) -> (tensor<1x4x128x32xf32>, tensor<1x4x128xf32>)
  %o4, %l4 = attune.attention %q, %q, %q {mask = #attune.block_sparse<block_q = 64, block_k = 64, layout = dense<[[true, false], [true, true]]> : tensor<2x2xi1>>} : (tensor<1x4x128x32xf32>, tensor<1x4x128x32xf32>, tensor<1x4x128x32xf32>) -> (tensor<1x4x128x32xf32>, tensor<1x4x128xf32>)
  %o5, %l5 = attune.attention %q, %q, %q {mask = #attune.block_sparse<block_q = 100, block_k = 32, layout = dense<true> : tensor<4x2x4xi1>>} : (tensor<1x4x128x32xf32>, tensor<1x4x128x32xf32>, tensor<1x4x128x32xf32>) -> (tensor<1x4x128x32xf32>, tensor<1x4x128xf32>)
  %o6, %l6 = attune.attention %q, %q, %q {mask = #attune.strided<16>} : (tensor<1x4x128x32xf32>, tensor<1x4x128x32xf32>, tensor<1x4x128x32xf32>) -> (tensor<1x4x128x32xf32>, tensor<1x4x128xf32>)
  %o7, %l7 = attune.attention %q, %q, %q {mask = #attune.dilated<segment = 64, rate = 4>} : (tensor<1x4x128x32xf32>, tensor<1x4x128x32xf32>, tensor<1x4x128x32xf32>) -> (tensor<1x4x128x32xf32>, tensor<1x4x128xf32>)
  %o8, %l8 = attune.attention %q, %q, %q {mask = #attune.dilated<segment = 64, rate = 2, offset = 1>} : (tensor<1x4x128x32xf32>, tensor<1x4x128x32xf32>, tensor<1x4x128x32xf32>) -> (tensor<1x4x128x32xf32>, tensor<1x4x128xf32>)
  %o9, %l9 = attune.attention %q, %q, %q {mask = #attune.prefix_lm<32>} : (tensor<1x4x128x32xf32>, tensor<1x4x128x32xf32>, tensor<1x4x128x32xf32>) -> (tensor<1x4x128x32xf32>, tensor<1x4x128xf32>)
  %o10, %l10 = attune.attention %q, %q, %q {mask = #attune.prefix_lm<0>} : (tensor<1x4x128x32xf32>, tensor<1x4x128x32xf32>, tensor<1x4x128x32xf32>) -> (tensor<1x4x128x32xf32>, tensor<1x4x128xf32>)
  return
}

// Block layouts against dynamic lengths and heads are checked when known.
// CHECK-LABEL: func.func @mask_terms_dynamic(
// CHECK:      %[[V0:[a-z0-9_]+]], %[[V1:[a-z0-9_]+]] = attune.attention %arg0, %arg0, %arg0 {mask = #attune.block_sparse<block_q = 16, block_k = 16, layout = dense<false> : tensor<3x5x7xi1>>} : (tensor<1x?x?x32xf32>, tensor<1x?x?x32xf32>, tensor<1x?x?x32xf32>) -> (tensor<1x?x?x32xf32>, tensor<1x?x?xf32>)
// CHECK-NEXT: %[[V2:[a-z0-9_]+]], %[[V3:[a-z0-9_]+]] = attune.attention %arg0, %arg0, %arg0 {mask = #attune.global<[1000000]>} : (tensor<1x?x?x32xf32>, tensor<1x?x?x32xf32>, tensor<1x?x?x32xf32>) -> (tensor<1x?x?x32xf32>, tensor<1x?x?xf32>)
// CHECK-NEXT: return
func.func @mask_terms_dynamic(%q: tensor<1x?x?x32xf32>) {
  %o0, %l0 = attune.attention %q, %q, %q {mask = #attune.block_sparse<block_q = 16, block_k = 16, layout = dense<false> : tensor<3x5x7xi1>>} : (tensor<1x?x?x32xf32>, tensor<1x?x?x32xf32>, tensor<1x?x?x32xf32>) -> (tensor<1x?x?x32xf32>, tensor<1x?x?xf32>)
  %o1, %l1 = attune.attention %q, %q, %q {mask = #attune.global<[1000000]>} : (tensor<1x?x?x32xf32>, tensor<1x?x?x32xf32>, tensor<1x?x?x32xf32>) -> (tensor<1x?x?x32xf32>, tensor<1x?x?xf32>)
  return
}

// and / or, nested both ways; empty and/or.
// CHECK-LABEL: func.func @mask_composition(
// CHECK:      %[[V0:[a-z0-9_]+]], %[[V1:[a-z0-9_]+]] = attune.attention %arg0, %arg0, %arg0 {mask = #attune.and<[#attune.causal, #attune.sliding_window<left = 255, right = 0>]>} : (tensor<1x4x128x32xf32>, tensor<1x4x128x32xf32>, tensor<1x4x128x32xf32>) -> (tensor<1x4x128x32xf32>, tensor<1x4x128xf32>)
// CHECK-NEXT: %[[V2:[a-z0-9_]+]], %[[V3:[a-z0-9_]+]] = attune.attention %arg0, %arg0, %arg0 {mask = #attune.or<[#attune.sliding_window<left = 64, right = 64>, #attune.global<[0, 1]>]>} : (tensor<1x4x128x32xf32>, tensor<1x4x128x32xf32>, tensor<1x4x128x32xf32>) -> (tensor<1x4x128x32xf32>, tensor<1x4x128xf32>)
// CHECK-NEXT: %[[V4:[a-z0-9_]+]], %[[V5:[a-z0-9_]+]] = attune.attention %arg0, %arg0, %arg0 {mask = #attune.and<[#attune.causal, #attune.or<[#attune.strided<8>, #attune.sliding_window<left = 7, right = 0>]>]>} : (tensor<1x4x128x32xf32>, tensor<1x4x128x32xf32>, tensor<1x4x128x32xf32>) -> (tensor<1x4x128x32xf32>, tensor<1x4x128xf32>)
// CHECK-NEXT: %[[V6:[a-z0-9_]+]], %[[V7:[a-z0-9_]+]] = attune.attention %arg0, %arg0, %arg0 {mask = #attune.or<[#attune.prefix_lm<8>, #attune.and<[#attune.dilated<segment = 32, rate = 2>, #attune.causal<bottom_right>]>, #attune.block_sparse<block_q = 128, block_k = 128, layout = dense<true> : tensor<1x1xi1>>]>} : (tensor<1x4x128x32xf32>, tensor<1x4x128x32xf32>, tensor<1x4x128x32xf32>) -> (tensor<1x4x128x32xf32>, tensor<1x4x128xf32>)
// CHECK-NEXT: %[[V8:[a-z0-9_]+]], %[[V9:[a-z0-9_]+]] = attune.attention %arg0, %arg0, %arg0 {mask = #attune.and<[]>} : (tensor<1x4x128x32xf32>, tensor<1x4x128x32xf32>, tensor<1x4x128x32xf32>) -> (tensor<1x4x128x32xf32>, tensor<1x4x128xf32>)
// CHECK-NEXT: %[[V10:[a-z0-9_]+]], %[[V11:[a-z0-9_]+]] = attune.attention %arg0, %arg0, %arg0 {mask = #attune.or<[#attune.or<[#attune.and<[#attune.causal]>]>]>} : (tensor<1x4x128x32xf32>, tensor<1x4x128x32xf32>, tensor<1x4x128x32xf32>) -> (tensor<1x4x128x32xf32>, tensor<1x4x128xf32>)
// CHECK-NEXT: return
func.func @mask_composition(%q: tensor<1x4x128x32xf32>) {
  %o0, %l0 = attune.attention %q, %q, %q {mask = #attune.and<[#attune.causal, #attune.sliding_window<left = 255, right = 0>]>} : (tensor<1x4x128x32xf32>, tensor<1x4x128x32xf32>, tensor<1x4x128x32xf32>) -> (tensor<1x4x128x32xf32>, tensor<1x4x128xf32>)
  %o1, %l1 = attune.attention %q, %q, %q {mask = #attune.or<[#attune.sliding_window<left = 64, right = 64>, #attune.global<[0, 1]>]>} : (tensor<1x4x128x32xf32>, tensor<1x4x128x32xf32>, tensor<1x4x128x32xf32>) -> (tensor<1x4x128x32xf32>, tensor<1x4x128xf32>)
  %o2, %l2 = attune.attention %q, %q, %q {mask = #attune.and<[#attune.causal, #attune.or<[#attune.strided<8>, #attune.sliding_window<left = 7, right = 0>]>]>} : (tensor<1x4x128x32xf32>, tensor<1x4x128x32xf32>, tensor<1x4x128x32xf32>) -> (tensor<1x4x128x32xf32>, tensor<1x4x128xf32>)
  %o3, %l3 = attune.attention %q, %q, %q {mask = #attune.or<[#attune.prefix_lm<8>, #attune.and<[#attune.dilated<segment = 32, rate = 2>, #attune.causal<bottom_right>]>, #attune.block_sparse<block_q = 128, block_k = 128, layout = dense<true> : tensor<1x1xi1>>]>} : (tensor<1x4x128x32xf32>, tensor<1x4x128x32xf32>, tensor<1x4x128x32xf32>) -> (tensor<1x4x128x32xf32>, tensor<1x4x128xf32>)
  %o4, %l4 = attune.attention %q, %q, %q {mask = #attune.and<[]>} : (tensor<1x4x128x32xf32>, tensor<1x4x128x32xf32>, tensor<1x4x128x32xf32>) -> (tensor<1x4x128x32xf32>, tensor<1x4x128xf32>)
  %o5, %l5 = attune.attention %q, %q, %q {mask = #attune.or<[#attune.or<[#attune.and<[#attune.causal]>]>]>} : (tensor<1x4x128x32xf32>, tensor<1x4x128x32xf32>, tensor<1x4x128x32xf32>) -> (tensor<1x4x128x32xf32>, tensor<1x4x128xf32>)
  return
}

// Score modifications: ALiBi (default and explicit slopes) and soft capping.
// CHECK-LABEL: func.func @score_mods(
// CHECK:      %[[V0:[a-z0-9_]+]], %[[V1:[a-z0-9_]+]] = attune.attention %arg0, %arg0, %arg0 {score_mods = [#attune.alibi]} : (tensor<1x4x16x8xf32>, tensor<1x4x16x8xf32>, tensor<1x4x16x8xf32>) -> (tensor<1x4x16x8xf32>, tensor<1x4x16xf32>)
// CHECK-NEXT: %[[V2:[a-z0-9_]+]], %[[V3:[a-z0-9_]+]] = attune.attention %arg0, %arg0, %arg0 {score_mods = [#attune.alibi<[5.000000e-01, 2.500000e-01, 1.250000e-01, 6.250000e-02]>]} : (tensor<1x4x16x8xf32>, tensor<1x4x16x8xf32>, tensor<1x4x16x8xf32>) -> (tensor<1x4x16x8xf32>, tensor<1x4x16xf32>)
// CHECK-NEXT: %[[V4:[a-z0-9_]+]], %[[V5:[a-z0-9_]+]] = attune.attention %arg0, %arg0, %arg0 {mask = #attune.causal, scale = 1.000000e+00 : f64, score_mods = [#attune.softcap<5.000000e+01>, #attune.alibi]} : (tensor<1x4x16x8xf32>, tensor<1x4x16x8xf32>, tensor<1x4x16x8xf32>) -> (tensor<1x4x16x8xf32>, tensor<1x4x16xf32>)
// CHECK-NEXT: %[[V6:[a-z0-9_]+]], %[[V7:[a-z0-9_]+]] = attune.attention %arg0, %arg0, %arg0 {score_mods = []} : (tensor<1x4x16x8xf32>, tensor<1x4x16x8xf32>, tensor<1x4x16x8xf32>) -> (tensor<1x4x16x8xf32>, tensor<1x4x16xf32>)
// CHECK-NEXT: return
func.func @score_mods(%q: tensor<1x4x16x8xf32>) {
  %o0, %l0 = attune.attention %q, %q, %q {score_mods = [#attune.alibi]} : (tensor<1x4x16x8xf32>, tensor<1x4x16x8xf32>, tensor<1x4x16x8xf32>) -> (tensor<1x4x16x8xf32>, tensor<1x4x16xf32>)
  %o1, %l1 = attune.attention %q, %q, %q {score_mods = [#attune.alibi<[0.5, 0.25, 0.125, 0.0625]>]} : (tensor<1x4x16x8xf32>, tensor<1x4x16x8xf32>, tensor<1x4x16x8xf32>) -> (tensor<1x4x16x8xf32>, tensor<1x4x16xf32>)
  %o2, %l2 = attune.attention %q, %q, %q {mask = #attune.causal, score_mods = [#attune.softcap<50.0>, #attune.alibi], scale = 1.0 : f64} : (tensor<1x4x16x8xf32>, tensor<1x4x16x8xf32>, tensor<1x4x16x8xf32>) -> (tensor<1x4x16x8xf32>, tensor<1x4x16xf32>)
  %o3, %l3 = attune.attention %q, %q, %q {score_mods = []} : (tensor<1x4x16x8xf32>, tensor<1x4x16x8xf32>, tensor<1x4x16x8xf32>) -> (tensor<1x4x16x8xf32>, tensor<1x4x16xf32>)
  return
}

// mask and score regions, alone and together; the score region reads a
// tensor defined above.
// CHECK-LABEL: func.func @attention_regions(
// CHECK:      %[[V0:[a-z0-9_]+]], %[[V1:[a-z0-9_]+]] = attune.attention %arg0, %arg0, %arg0 mask {
// CHECK-NEXT: ^bb0(%arg2: index, %arg3: index, %arg4: index, %arg5: index):
// CHECK-NEXT: %[[V2:[a-z0-9_]+]] = arith.cmpi ule, %arg5, %arg4 : index
// CHECK-NEXT: attune.yield %[[V2]] : i1
// CHECK-NEXT: } : (tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>) -> (tensor<1x2x16x8xf32>, tensor<1x2x16xf32>)
// CHECK-NEXT: %[[V3:[a-z0-9_]+]], %[[V4:[a-z0-9_]+]] = attune.attention %arg0, %arg0, %arg0 score {
// CHECK-NEXT: ^bb0(%arg2: f32, %arg3: index, %arg4: index, %arg5: index, %arg6: index):
// CHECK-NEXT: %[[V5:[a-z0-9_]+]] = tensor.extract %arg1[%arg4, %arg5, %arg6] : tensor<2x16x16xf32>
// CHECK-NEXT: %[[V2:[a-z0-9_]+]] = arith.addf %arg2, %[[V5]] : f32
// CHECK-NEXT: attune.yield %[[V2]] : f32
// CHECK-NEXT: } : (tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>) -> (tensor<1x2x16x8xf32>, tensor<1x2x16xf32>)
// CHECK-NEXT: %[[V6:[a-z0-9_]+]], %[[V7:[a-z0-9_]+]] = attune.attention %arg0, %arg0, %arg0 {mask = #attune.sliding_window<left = 4, right = 4>} mask {
// CHECK-NEXT: ^bb0(%arg2: index, %arg3: index, %arg4: index, %arg5: index):
// CHECK-NEXT: %[[V2:[a-z0-9_]+]] = arith.cmpi ne, %arg4, %arg5 : index
// CHECK-NEXT: attune.yield %[[V2]] : i1
// CHECK-NEXT: } score {
// CHECK-NEXT: ^bb0(%arg2: f32, %arg3: index, %arg4: index, %arg5: index, %arg6: index):
// CHECK-NEXT: %[[V2:[a-z0-9_]+]] = math.tanh %arg2 : f32
// CHECK-NEXT: attune.yield %[[V2]] : f32
// CHECK-NEXT: } : (tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>) -> (tensor<1x2x16x8xf32>, tensor<1x2x16xf32>)
// CHECK-NEXT: return
func.func @attention_regions(%q: tensor<1x2x16x8xf32>, %rel: tensor<2x16x16xf32>) {
  %o0, %l0 = attune.attention %q, %q, %q mask {
  ^bb0(%b: index, %h: index, %i: index, %j: index):
    %c = arith.cmpi ule, %j, %i : index
    attune.yield %c : i1
  } : (tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>) -> (tensor<1x2x16x8xf32>, tensor<1x2x16xf32>)
  %o1, %l1 = attune.attention %q, %q, %q score {
  ^bb0(%s: f32, %b: index, %h: index, %i: index, %j: index):
    %bias = tensor.extract %rel[%h, %i, %j] : tensor<2x16x16xf32>
    %t = arith.addf %s, %bias : f32
    attune.yield %t : f32
  } : (tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>) -> (tensor<1x2x16x8xf32>, tensor<1x2x16xf32>)
  %o2, %l2 = attune.attention %q, %q, %q {mask = #attune.sliding_window<left = 4, right = 4>} mask {
  ^bb0(%b: index, %h: index, %i: index, %j: index):
    %c = arith.cmpi ne, %i, %j : index
    attune.yield %c : i1
  } score {
  ^bb0(%s: f32, %b: index, %h: index, %i: index, %j: index):
    %t = math.tanh %s : f32
    attune.yield %t : f32
  } : (tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>) -> (tensor<1x2x16x8xf32>, tensor<1x2x16xf32>)
  return
}

// LongNet dilated attention: several branches, causal, scale; GQA shapes.
// CHECK-LABEL: func.func @dilated_attention(
// CHECK:      %[[V0:[a-z0-9_]+]], %[[V1:[a-z0-9_]+]] = attune.dilated_attention %arg0, %arg1, %arg1 {rates = array<i64: 1, 2, 4>, segments = array<i64: 512, 1024, 2048>} : (tensor<1x8x2048x64xf16>, tensor<1x8x2048x64xf16>, tensor<1x8x2048x64xf16>) -> (tensor<1x8x2048x64xf16>, tensor<1x8x2048xf32>)
// CHECK-NEXT: %[[V2:[a-z0-9_]+]], %[[V3:[a-z0-9_]+]] = attune.dilated_attention %arg2, %arg3, %arg3 {causal, rates = array<i64: 2>, scale = 2.500000e-01 : f64, segments = array<i64: 64>} : (tensor<2x8x?x32xf32>, tensor<2x2x?x32xf32>, tensor<2x2x?x32xf32>) -> (tensor<2x8x?x32xf32>, tensor<2x8x?xf32>)
// CHECK-NEXT: return
func.func @dilated_attention(%q: tensor<1x8x2048x64xf16>, %kv: tensor<1x8x2048x64xf16>, %qg: tensor<2x8x?x32xf32>, %kg: tensor<2x2x?x32xf32>) {
  %o0, %l0 = attune.dilated_attention %q, %kv, %kv {segments = array<i64: 512, 1024, 2048>, rates = array<i64: 1, 2, 4>} : (tensor<1x8x2048x64xf16>, tensor<1x8x2048x64xf16>, tensor<1x8x2048x64xf16>) -> (tensor<1x8x2048x64xf16>, tensor<1x8x2048xf32>)
  %o1, %l1 = attune.dilated_attention %qg, %kg, %kg {segments = array<i64: 64>, rates = array<i64: 2>, causal, scale = 2.5e-01 : f64} : (tensor<2x8x?x32xf32>, tensor<2x2x?x32xf32>, tensor<2x2x?x32xf32>) -> (tensor<2x8x?x32xf32>, tensor<2x8x?xf32>)
  return
}

// Reformer LSH attention: seeded rotations, explicit rotations, one bucket.
// CHECK-LABEL: func.func @lsh_attention(
// CHECK:      %[[V0:[a-z0-9_]+]], %[[V1:[a-z0-9_]+]] = attune.lsh_attention %arg0, %arg1 {causal, chunk_size = 64 : i64, num_buckets = 8 : i64, num_rounds = 2 : i64, seed = 42 : i64} : (tensor<1x4x512x64xf32>, tensor<1x4x512x32xf32>) -> (tensor<1x4x512x32xf32>, tensor<1x4x512xf32>)
// CHECK-NEXT: %[[V2:[a-z0-9_]+]], %[[V3:[a-z0-9_]+]] = attune.lsh_attention %arg0, %arg1 rotations %arg2 {chunk_size = 32 : i64, num_buckets = 8 : i64, num_rounds = 2 : i64, scale = 5.000000e-01 : f64, seed = 0 : i64} : (tensor<1x4x512x64xf32>, tensor<1x4x512x32xf32>, tensor<2x64x4xf32>) -> (tensor<1x4x512x32xf32>, tensor<1x4x512xf32>)
// CHECK-NEXT: %[[V4:[a-z0-9_]+]], %[[V5:[a-z0-9_]+]] = attune.lsh_attention %arg0, %arg1 {chunk_size = 512 : i64, num_buckets = 1 : i64, num_rounds = 1 : i64, seed = 7 : i64} : (tensor<1x4x512x64xf32>, tensor<1x4x512x32xf32>) -> (tensor<1x4x512x32xf32>, tensor<1x4x512xf32>)
// CHECK-NEXT: return
func.func @lsh_attention(%qk: tensor<1x4x512x64xf32>, %v: tensor<1x4x512x32xf32>, %rot: tensor<2x64x4xf32>) {
  %o0, %l0 = attune.lsh_attention %qk, %v {num_buckets = 8 : i64, num_rounds = 2 : i64, chunk_size = 64 : i64, seed = 42 : i64, causal} : (tensor<1x4x512x64xf32>, tensor<1x4x512x32xf32>) -> (tensor<1x4x512x32xf32>, tensor<1x4x512xf32>)
  %o1, %l1 = attune.lsh_attention %qk, %v rotations %rot {num_buckets = 8 : i64, num_rounds = 2 : i64, chunk_size = 32 : i64, seed = 0 : i64, scale = 0.5 : f64} : (tensor<1x4x512x64xf32>, tensor<1x4x512x32xf32>, tensor<2x64x4xf32>) -> (tensor<1x4x512x32xf32>, tensor<1x4x512xf32>)
  %o2, %l2 = attune.lsh_attention %qk, %v {num_buckets = 1 : i64, num_rounds = 1 : i64, chunk_size = 512 : i64, seed = 7 : i64} : (tensor<1x4x512x64xf32>, tensor<1x4x512x32xf32>) -> (tensor<1x4x512x32xf32>, tensor<1x4x512xf32>)
  return
}

// Norms with and without their optional operands.
// CHECK-LABEL: func.func @norms(
// CHECK:      %[[V0:[a-z0-9_]+]] = attune.rms_norm %arg0 : (tensor<2x128x512xbf16>) -> tensor<2x128x512xbf16>
// CHECK-NEXT: %[[V1:[a-z0-9_]+]] = attune.rms_norm %arg0 weight %arg1 {epsilon = 1.000000e-05 : f64} : (tensor<2x128x512xbf16>, tensor<512xbf16>) -> tensor<2x128x512xbf16>
// CHECK-NEXT: %[[V2:[a-z0-9_]+]] = attune.layer_norm %arg0 : (tensor<2x128x512xbf16>) -> tensor<2x128x512xbf16>
// CHECK-NEXT: %[[V3:[a-z0-9_]+]] = attune.layer_norm %arg0 weight %arg1 : (tensor<2x128x512xbf16>, tensor<512xbf16>) -> tensor<2x128x512xbf16>
// CHECK-NEXT: %[[V4:[a-z0-9_]+]] = attune.layer_norm %arg0 bias %arg2 : (tensor<2x128x512xbf16>, tensor<512xbf16>) -> tensor<2x128x512xbf16>
// CHECK-NEXT: %[[V5:[a-z0-9_]+]] = attune.layer_norm %arg0 weight %arg1 bias %arg2 {epsilon = 0.000000e+00 : f64} : (tensor<2x128x512xbf16>, tensor<512xbf16>, tensor<512xbf16>) -> tensor<2x128x512xbf16>
// CHECK-NEXT: %[[V6:[a-z0-9_]+]] = attune.rms_norm %arg3 : (tensor<?x?x?xf32>) -> tensor<?x?x?xf32>
// CHECK-NEXT: return
func.func @norms(%x: tensor<2x128x512xbf16>, %w: tensor<512xbf16>, %b: tensor<512xbf16>, %xd: tensor<?x?x?xf32>) {
  %0 = attune.rms_norm %x : (tensor<2x128x512xbf16>) -> tensor<2x128x512xbf16>
  %1 = attune.rms_norm %x weight %w {epsilon = 1.0e-05 : f64} : (tensor<2x128x512xbf16>, tensor<512xbf16>) -> tensor<2x128x512xbf16>
  %2 = attune.layer_norm %x : (tensor<2x128x512xbf16>) -> tensor<2x128x512xbf16>
  %3 = attune.layer_norm %x weight %w : (tensor<2x128x512xbf16>, tensor<512xbf16>) -> tensor<2x128x512xbf16>
  %4 = attune.layer_norm %x bias %b : (tensor<2x128x512xbf16>, tensor<512xbf16>) -> tensor<2x128x512xbf16>
  %5 = attune.layer_norm %x weight %w bias %b {epsilon = 0.0 : f64} : (tensor<2x128x512xbf16>, tensor<512xbf16>, tensor<512xbf16>) -> tensor<2x128x512xbf16>
  %6 = attune.rms_norm %xd : (tensor<?x?x?xf32>) -> tensor<?x?x?xf32>
  return
}

// Rotary embeddings: default positions, [L] and [B, L] positions,
// interleaved, partial rotary_dim, theta.
// CHECK-LABEL: func.func @rope(
// CHECK:      %[[V0:[a-z0-9_]+]] = attune.rope %arg0 : (tensor<1x8x128x64xf32>) -> tensor<1x8x128x64xf32>
// CHECK-NEXT: %[[V1:[a-z0-9_]+]] = attune.rope %arg0 positions %arg1 {theta = 5.000000e+05 : f64} : (tensor<1x8x128x64xf32>, tensor<128xi64>) -> tensor<1x8x128x64xf32>
// CHECK-NEXT: %[[V2:[a-z0-9_]+]] = attune.rope %arg0 positions %arg2 {interleaved} : (tensor<1x8x128x64xf32>, tensor<1x128xi32>) -> tensor<1x8x128x64xf32>
// CHECK-NEXT: %[[V3:[a-z0-9_]+]] = attune.rope %arg0 {interleaved, rotary_dim = 32 : i64} : (tensor<1x8x128x64xf32>) -> tensor<1x8x128x64xf32>
// CHECK-NEXT: %[[V4:[a-z0-9_]+]] = attune.rope %arg3 {rotary_dim = 64 : i64} : (tensor<?x?x65xf32>) -> tensor<?x?x65xf32>
// CHECK-NEXT: return
func.func @rope(%x: tensor<1x8x128x64xf32>, %p1: tensor<128xi64>, %p2: tensor<1x128xi32>, %xd: tensor<?x?x65xf32>) {
  %0 = attune.rope %x : (tensor<1x8x128x64xf32>) -> tensor<1x8x128x64xf32>
  %1 = attune.rope %x positions %p1 {theta = 500000.0 : f64} : (tensor<1x8x128x64xf32>, tensor<128xi64>) -> tensor<1x8x128x64xf32>
  %2 = attune.rope %x positions %p2 {interleaved} : (tensor<1x8x128x64xf32>, tensor<1x128xi32>) -> tensor<1x8x128x64xf32>
  %3 = attune.rope %x {rotary_dim = 32 : i64, interleaved, theta = 1.0e4 : f64} : (tensor<1x8x128x64xf32>) -> tensor<1x8x128x64xf32>
  %4 = attune.rope %xd {rotary_dim = 64 : i64} : (tensor<?x?x65xf32>) -> tensor<?x?x65xf32>
  return
}

// Linear with and without bias; MLP plain, gated, with biases.
// CHECK-LABEL: func.func @projections(
// CHECK:      %[[V0:[a-z0-9_]+]] = attune.linear %arg0, %arg1 : (tensor<2x128x512xf32>, tensor<1024x512xf32>) -> tensor<2x128x1024xf32>
// CHECK-NEXT: %[[V1:[a-z0-9_]+]] = attune.linear %arg0, %arg1 bias %arg2 : (tensor<2x128x512xf32>, tensor<1024x512xf32>, tensor<1024xf32>) -> tensor<2x128x1024xf32>
// CHECK-NEXT: %[[V2:[a-z0-9_]+]] = attune.mlp %arg0, %arg3, %arg4 {activation = #attune.activation<gelu>} : (tensor<2x128x512xf32>, tensor<1376x512xf32>, tensor<512x1376xf32>) -> tensor<2x128x512xf32>
// CHECK-NEXT: %[[V3:[a-z0-9_]+]] = attune.mlp %arg0, %arg3, %arg4 gate %arg5 {activation = #attune.activation<silu>} : (tensor<2x128x512xf32>, tensor<1376x512xf32>, tensor<512x1376xf32>, tensor<1376x512xf32>) -> tensor<2x128x512xf32>
// CHECK-NEXT: %[[V4:[a-z0-9_]+]] = attune.mlp %arg0, %arg3, %arg4 gate %arg5 up_bias %arg6 down_bias %arg7 {activation = #attune.activation<gelu_tanh>} : (tensor<2x128x512xf32>, tensor<1376x512xf32>, tensor<512x1376xf32>, tensor<1376x512xf32>, tensor<1376xf32>, tensor<512xf32>) -> tensor<2x128x512xf32>
// CHECK-NEXT: %[[V5:[a-z0-9_]+]] = attune.mlp %arg0, %arg3, %arg4 down_bias %arg7 {activation = #attune.activation<relu>} : (tensor<2x128x512xf32>, tensor<1376x512xf32>, tensor<512x1376xf32>, tensor<512xf32>) -> tensor<2x128x512xf32>
// CHECK-NEXT: %[[V6:[a-z0-9_]+]] = attune.mlp %arg0, %arg3, %arg4 up_bias %arg6 {activation = #attune.activation<silu>} : (tensor<2x128x512xf32>, tensor<1376x512xf32>, tensor<512x1376xf32>, tensor<1376xf32>) -> tensor<2x128x512xf32>
// CHECK-NEXT: return
func.func @projections(%x: tensor<2x128x512xf32>, %w: tensor<1024x512xf32>, %bias: tensor<1024xf32>, %up: tensor<1376x512xf32>, %down: tensor<512x1376xf32>, %gate: tensor<1376x512xf32>, %bup: tensor<1376xf32>, %bdown: tensor<512xf32>) {
  %0 = attune.linear %x, %w : (tensor<2x128x512xf32>, tensor<1024x512xf32>) -> tensor<2x128x1024xf32>
  %1 = attune.linear %x, %w bias %bias : (tensor<2x128x512xf32>, tensor<1024x512xf32>, tensor<1024xf32>) -> tensor<2x128x1024xf32>
  %2 = attune.mlp %x, %up, %down {activation = #attune.activation<gelu>} : (tensor<2x128x512xf32>, tensor<1376x512xf32>, tensor<512x1376xf32>) -> tensor<2x128x512xf32>
  %3 = attune.mlp %x, %up, %down gate %gate {activation = #attune.activation<silu>} : (tensor<2x128x512xf32>, tensor<1376x512xf32>, tensor<512x1376xf32>, tensor<1376x512xf32>) -> tensor<2x128x512xf32>
  %4 = attune.mlp %x, %up, %down gate %gate up_bias %bup down_bias %bdown {activation = #attune.activation<gelu_tanh>} : (tensor<2x128x512xf32>, tensor<1376x512xf32>, tensor<512x1376xf32>, tensor<1376x512xf32>, tensor<1376xf32>, tensor<512xf32>) -> tensor<2x128x512xf32>
  %5 = attune.mlp %x, %up, %down down_bias %bdown {activation = #attune.activation<relu>} : (tensor<2x128x512xf32>, tensor<1376x512xf32>, tensor<512x1376xf32>, tensor<512xf32>) -> tensor<2x128x512xf32>
  %6 = attune.mlp %x, %up, %down up_bias %bup {activation = #attune.activation<silu>} : (tensor<2x128x512xf32>, tensor<1376x512xf32>, tensor<512x1376xf32>, tensor<1376xf32>) -> tensor<2x128x512xf32>
  return
}

// Embedding, softmax, cross-entropy with every reduction.
// CHECK-LABEL: func.func @embedding_softmax_loss(
// CHECK:      %[[V0:[a-z0-9_]+]] = attune.embedding %arg0, %arg1 : (tensor<2x128xi32>, tensor<32000x512xbf16>) -> tensor<2x128x512xbf16>
// CHECK-NEXT: %[[V1:[a-z0-9_]+]] = attune.softmax %arg2 : (tensor<4x16xf32>) -> tensor<4x16xf32>
// CHECK-NEXT: %[[V2:[a-z0-9_]+]] = attune.softmax %arg2 {axis = 0 : i64} : (tensor<4x16xf32>) -> tensor<4x16xf32>
// CHECK-NEXT: %[[V3:[a-z0-9_]+]] = attune.softmax %arg2 {axis = -2 : i64} : (tensor<4x16xf32>) -> tensor<4x16xf32>
// CHECK-NEXT: %[[V4:[a-z0-9_]+]] = attune.cross_entropy %arg3, %arg4 : (tensor<256x32000xf32>, tensor<256xi64>) -> tensor<f32>
// CHECK-NEXT: %[[V5:[a-z0-9_]+]] = attune.cross_entropy %arg3, %arg4 {reduction = #attune.reduction<none>} : (tensor<256x32000xf32>, tensor<256xi64>) -> tensor<256xf32>
// CHECK-NEXT: %[[V6:[a-z0-9_]+]] = attune.cross_entropy %arg3, %arg4 {ignore_index = 0 : i64, reduction = #attune.reduction<sum>} : (tensor<256x32000xf32>, tensor<256xi64>) -> tensor<f32>
// CHECK-NEXT: return
func.func @embedding_softmax_loss(%ids: tensor<2x128xi32>, %table: tensor<32000x512xbf16>, %x: tensor<4x16xf32>, %logits: tensor<256x32000xf32>, %labels: tensor<256xi64>) {
  %0 = attune.embedding %ids, %table : (tensor<2x128xi32>, tensor<32000x512xbf16>) -> tensor<2x128x512xbf16>
  %1 = attune.softmax %x : (tensor<4x16xf32>) -> tensor<4x16xf32>
  %2 = attune.softmax %x {axis = 0 : i64} : (tensor<4x16xf32>) -> tensor<4x16xf32>
  %3 = attune.softmax %x {axis = -2 : i64} : (tensor<4x16xf32>) -> tensor<4x16xf32>
  %4 = attune.cross_entropy %logits, %labels : (tensor<256x32000xf32>, tensor<256xi64>) -> tensor<f32>
  %5 = attune.cross_entropy %logits, %labels {reduction = #attune.reduction<none>} : (tensor<256x32000xf32>, tensor<256xi64>) -> tensor<256xf32>
  %6 = attune.cross_entropy %logits, %labels {reduction = #attune.reduction<sum>, ignore_index = 0 : i64} : (tensor<256x32000xf32>, tensor<256xi64>) -> tensor<f32>
  return
}

// Elementwise unary ops.
// CHECK-LABEL: func.func @unary(
// CHECK:      %[[V0:[a-z0-9_]+]] = attune.neg %arg0 : tensor<2x64xf32>
// CHECK-NEXT: %[[V1:[a-z0-9_]+]] = attune.exp %arg0 : tensor<2x64xf32>
// CHECK-NEXT: %[[V2:[a-z0-9_]+]] = attune.log %arg0 : tensor<2x64xf32>
// CHECK-NEXT: %[[V3:[a-z0-9_]+]] = attune.tanh %arg0 : tensor<2x64xf32>
// CHECK-NEXT: %[[V4:[a-z0-9_]+]] = attune.sqrt %arg0 : tensor<2x64xf32>
// CHECK-NEXT: %[[V5:[a-z0-9_]+]] = attune.rsqrt %arg0 : tensor<2x64xf32>
// CHECK-NEXT: %[[V6:[a-z0-9_]+]] = attune.sigmoid %arg0 : tensor<2x64xf32>
// CHECK-NEXT: %[[V7:[a-z0-9_]+]] = attune.abs %arg0 : tensor<2x64xf32>
// CHECK-NEXT: %[[V8:[a-z0-9_]+]] = attune.silu %arg0 : tensor<2x64xf32>
// CHECK-NEXT: %[[V9:[a-z0-9_]+]] = attune.gelu %arg0 : tensor<2x64xf32>
// CHECK-NEXT: %[[V10:[a-z0-9_]+]] = attune.gelu_tanh %arg0 : tensor<2x64xf32>
// CHECK-NEXT: %[[V11:[a-z0-9_]+]] = attune.relu %arg1 : tensor<?x3xf64>
// CHECK-NEXT: return
func.func @unary(%x: tensor<2x64xf32>, %y: tensor<?x3xf64>) {
  %0 = attune.neg %x : tensor<2x64xf32>
  %1 = attune.exp %x : tensor<2x64xf32>
  %2 = attune.log %x : tensor<2x64xf32>
  %3 = attune.tanh %x : tensor<2x64xf32>
  %4 = attune.sqrt %x : tensor<2x64xf32>
  %5 = attune.rsqrt %x : tensor<2x64xf32>
  %6 = attune.sigmoid %x : tensor<2x64xf32>
  %7 = attune.abs %x : tensor<2x64xf32>
  %8 = attune.silu %x : tensor<2x64xf32>
  %9 = attune.gelu %x : tensor<2x64xf32>
  %10 = attune.gelu_tanh %x : tensor<2x64xf32>
  %11 = attune.relu %y : tensor<?x3xf64>
  return
}

// Elementwise binary ops with NumPy broadcasting.
// CHECK-LABEL: func.func @binary(
// CHECK:      %[[V0:[a-z0-9_]+]] = attune.add %arg0, %arg1 : (tensor<2x128x512xf32>, tensor<512xf32>) -> tensor<2x128x512xf32>
// CHECK-NEXT: %[[V1:[a-z0-9_]+]] = attune.sub %arg1, %arg0 : (tensor<512xf32>, tensor<2x128x512xf32>) -> tensor<2x128x512xf32>
// CHECK-NEXT: %[[V2:[a-z0-9_]+]] = attune.mul %arg0, %arg0 : (tensor<2x128x512xf32>, tensor<2x128x512xf32>) -> tensor<2x128x512xf32>
// CHECK-NEXT: %[[V3:[a-z0-9_]+]] = attune.div %arg2, %arg3 : (tensor<?x1xf16>, tensor<1x7xf16>) -> tensor<?x7xf16>
// CHECK-NEXT: %[[V4:[a-z0-9_]+]] = attune.max %arg0, %arg1 : (tensor<2x128x512xf32>, tensor<512xf32>) -> tensor<2x128x512xf32>
// CHECK-NEXT: %[[V5:[a-z0-9_]+]] = attune.min %arg0, %arg1 : (tensor<2x128x512xf32>, tensor<512xf32>) -> tensor<2x128x512xf32>
// CHECK-NEXT: %[[V6:[a-z0-9_]+]] = attune.pow %arg0, %arg1 : (tensor<2x128x512xf32>, tensor<512xf32>) -> tensor<2x128x512xf32>
// CHECK-NEXT: return
func.func @binary(%a: tensor<2x128x512xf32>, %b: tensor<512xf32>, %c: tensor<?x1xf16>, %d: tensor<1x7xf16>) {
  %0 = attune.add %a, %b : (tensor<2x128x512xf32>, tensor<512xf32>) -> tensor<2x128x512xf32>
  %1 = attune.sub %b, %a : (tensor<512xf32>, tensor<2x128x512xf32>) -> tensor<2x128x512xf32>
  %2 = attune.mul %a, %a : (tensor<2x128x512xf32>, tensor<2x128x512xf32>) -> tensor<2x128x512xf32>
  %3 = attune.div %c, %d : (tensor<?x1xf16>, tensor<1x7xf16>) -> tensor<?x7xf16>
  %4 = attune.max %a, %b : (tensor<2x128x512xf32>, tensor<512xf32>) -> tensor<2x128x512xf32>
  %5 = attune.min %a, %b : (tensor<2x128x512xf32>, tensor<512xf32>) -> tensor<2x128x512xf32>
  %6 = attune.pow %a, %b : (tensor<2x128x512xf32>, tensor<512xf32>) -> tensor<2x128x512xf32>
  return
}

// Cast, matmul, transpose, reshape.
// CHECK-LABEL: func.func @shape_ops(
// CHECK:      %[[V0:[a-z0-9_]+]] = attune.cast %arg0 : tensor<2x64xbf16> to tensor<2x64xf32>
// CHECK-NEXT: %[[V1:[a-z0-9_]+]] = attune.cast %arg0 : tensor<2x64xbf16> to tensor<?x64xf64>
// CHECK-NEXT: %[[V2:[a-z0-9_]+]] = attune.matmul %arg1, %arg2 : (tensor<8x64x32xf32>, tensor<32x16xf32>) -> tensor<8x64x16xf32>
// CHECK-NEXT: %[[V3:[a-z0-9_]+]] = attune.transpose %arg3 {permutation = array<i64: 0, 2, 1, 3>} : (tensor<2x128x8x64xf32>) -> tensor<2x8x128x64xf32>
// CHECK-NEXT: %[[V4:[a-z0-9_]+]] = attune.transpose %arg5 {permutation = array<i64: 1, 0>} : (tensor<4x?xi32>) -> tensor<?x4xi32>
// CHECK-NEXT: %[[V5:[a-z0-9_]+]] = attune.reshape %arg4 : tensor<2x128x512xf32> to tensor<2x128x8x64xf32>
// CHECK-NEXT: %[[V6:[a-z0-9_]+]] = attune.reshape %arg5 : tensor<4x?xi32> to tensor<2x2x3xi32>
// CHECK-NEXT: return
func.func @shape_ops(%x: tensor<2x64xbf16>, %a: tensor<8x64x32xf32>, %b: tensor<32x16xf32>, %t: tensor<2x128x8x64xf32>, %r: tensor<2x128x512xf32>, %i: tensor<4x?xi32>) {
  %0 = attune.cast %x : tensor<2x64xbf16> to tensor<2x64xf32>
  %1 = attune.cast %x : tensor<2x64xbf16> to tensor<?x64xf64>
  %2 = attune.matmul %a, %b : (tensor<8x64x32xf32>, tensor<32x16xf32>) -> tensor<8x64x16xf32>
  %3 = attune.transpose %t {permutation = array<i64: 0, 2, 1, 3>} : (tensor<2x128x8x64xf32>) -> tensor<2x8x128x64xf32>
  %4 = attune.transpose %i {permutation = array<i64: 1, 0>} : (tensor<4x?xi32>) -> tensor<?x4xi32>
  %5 = attune.reshape %r : tensor<2x128x512xf32> to tensor<2x128x8x64xf32>
  %6 = attune.reshape %i : tensor<4x?xi32> to tensor<2x2x3xi32>
  return
}

// Reduce (each kind, keep_dims), concat, slice.
// CHECK-LABEL: func.func @reduce_concat_slice(
// CHECK:      %[[V0:[a-z0-9_]+]] = attune.reduce %arg0 {axes = array<i64: 1>, kind = #attune.reduce_kind<mean>} : (tensor<4x16xf32>) -> tensor<4xf32>
// CHECK-NEXT: %[[V1:[a-z0-9_]+]] = attune.reduce %arg0 {axes = array<i64: 0, 1>, kind = #attune.reduce_kind<sum>} : (tensor<4x16xf32>) -> tensor<f32>
// CHECK-NEXT: %[[V2:[a-z0-9_]+]] = attune.reduce %arg0 {axes = array<i64: 0>, keep_dims, kind = #attune.reduce_kind<max>} : (tensor<4x16xf32>) -> tensor<1x16xf32>
// CHECK-NEXT: %[[V3:[a-z0-9_]+]] = attune.concat %arg1, %arg2 {axis = 1 : i64} : (tensor<2x3xf32>, tensor<2x5xf32>) -> tensor<2x8xf32>
// CHECK-NEXT: %[[V4:[a-z0-9_]+]] = attune.concat %arg1, %arg2, %arg1 {axis = -1 : i64} : (tensor<2x3xf32>, tensor<2x5xf32>, tensor<2x3xf32>) -> tensor<2x11xf32>
// CHECK-NEXT: %[[V5:[a-z0-9_]+]] = attune.concat %arg4, %arg4 {axis = 0 : i64} : (tensor<2x?xi64>, tensor<2x?xi64>) -> tensor<4x?xi64>
// CHECK-NEXT: %[[V6:[a-z0-9_]+]] = attune.slice %arg3 {axis = 2 : i64, size = 32 : i64, start = 0 : i64} : (tensor<2x8x64xf32>) -> tensor<2x8x32xf32>
// CHECK-NEXT: %[[V7:[a-z0-9_]+]] = attune.slice %arg3 {axis = -1 : i64, size = 32 : i64, start = 32 : i64} : (tensor<2x8x64xf32>) -> tensor<2x8x32xf32>
// CHECK-NEXT: %[[V8:[a-z0-9_]+]] = attune.slice %arg4 {axis = 1 : i64, size = 0 : i64, start = 5 : i64} : (tensor<2x?xi64>) -> tensor<2x0xi64>
// CHECK-NEXT: return
func.func @reduce_concat_slice(%x: tensor<4x16xf32>, %a: tensor<2x3xf32>, %b: tensor<2x5xf32>, %s: tensor<2x8x64xf32>, %i: tensor<2x?xi64>) {
  %0 = attune.reduce %x {kind = #attune.reduce_kind<mean>, axes = array<i64: 1>} : (tensor<4x16xf32>) -> tensor<4xf32>
  %1 = attune.reduce %x {kind = #attune.reduce_kind<sum>, axes = array<i64: 0, 1>} : (tensor<4x16xf32>) -> tensor<f32>
  %2 = attune.reduce %x {kind = #attune.reduce_kind<max>, axes = array<i64: 0>, keep_dims} : (tensor<4x16xf32>) -> tensor<1x16xf32>
  %3 = attune.concat %a, %b {axis = 1 : i64} : (tensor<2x3xf32>, tensor<2x5xf32>) -> tensor<2x8xf32>
  %4 = attune.concat %a, %b, %a {axis = -1 : i64} : (tensor<2x3xf32>, tensor<2x5xf32>, tensor<2x3xf32>) -> tensor<2x11xf32>
  %5 = attune.concat %i, %i {axis = 0 : i64} : (tensor<2x?xi64>, tensor<2x?xi64>) -> tensor<4x?xi64>
  %6 = attune.slice %s {axis = 2 : i64, start = 0 : i64, size = 32 : i64} : (tensor<2x8x64xf32>) -> tensor<2x8x32xf32>
  %7 = attune.slice %s {axis = -1 : i64, start = 32 : i64, size = 32 : i64} : (tensor<2x8x64xf32>) -> tensor<2x8x32xf32>
  %8 = attune.slice %i {axis = 1 : i64, start = 5 : i64, size = 0 : i64} : (tensor<2x?xi64>) -> tensor<2x0xi64>
  return
}

// Reversible block: f maps x2's type to x1's, g y1's to x2's.
// CHECK-LABEL: func.func @reversible(
// CHECK:      %[[V0:[a-z0-9_]+]], %[[V1:[a-z0-9_]+]] = attune.reversible %arg0, %arg1 f {
// CHECK-NEXT: ^bb0(%arg3: tensor<1x64x256xf32>):
// CHECK-NEXT: %[[V2:[a-z0-9_]+]] = attune.rms_norm %arg3 weight %arg2 : (tensor<1x64x256xf32>, tensor<256xf32>) -> tensor<1x64x256xf32>
// CHECK-NEXT: attune.yield %[[V2]] : tensor<1x64x256xf32>
// CHECK-NEXT: } g {
// CHECK-NEXT: ^bb0(%arg3: tensor<1x64x256xf32>):
// CHECK-NEXT: %[[V2:[a-z0-9_]+]] = attune.gelu %arg3 : tensor<1x64x256xf32>
// CHECK-NEXT: attune.yield %[[V2]] : tensor<1x64x256xf32>
// CHECK-NEXT: } : tensor<1x64x256xf32>, tensor<1x64x256xf32>
// CHECK-NEXT: return %[[V0]], %[[V1]] : tensor<1x64x256xf32>, tensor<1x64x256xf32>
func.func @reversible(%x1: tensor<1x64x256xf32>, %x2: tensor<1x64x256xf32>, %w: tensor<256xf32>) -> (tensor<1x64x256xf32>, tensor<1x64x256xf32>) {
  %y1, %y2 = attune.reversible %x1, %x2 f {
  ^bb0(%a: tensor<1x64x256xf32>):
    %t = attune.rms_norm %a weight %w : (tensor<1x64x256xf32>, tensor<256xf32>) -> tensor<1x64x256xf32>
    attune.yield %t : tensor<1x64x256xf32>
  } g {
  ^bb0(%a: tensor<1x64x256xf32>):
    %t = attune.gelu %a : tensor<1x64x256xf32>
    attune.yield %t : tensor<1x64x256xf32>
  } : tensor<1x64x256xf32>, tensor<1x64x256xf32>
  return %y1, %y2 : tensor<1x64x256xf32>, tensor<1x64x256xf32>
}

// Checkpoint with one, several and no operands/results.
// CHECK-LABEL: func.func @checkpoint(
// CHECK:      %[[V0:[a-z0-9_]+]] = attune.checkpoint(%arg0) {
// CHECK-NEXT: ^bb0(%arg2: tensor<1x64x256xf32>):
// CHECK-NEXT: %[[V1:[a-z0-9_]+]] = attune.gelu %arg2 : tensor<1x64x256xf32>
// CHECK-NEXT: attune.yield %[[V1]] : tensor<1x64x256xf32>
// CHECK-NEXT: } : (tensor<1x64x256xf32>) -> tensor<1x64x256xf32>
// CHECK-NEXT: %[[V2:[a-z0-9_]+]]:2 = attune.checkpoint(%[[V0]], %arg1) {
// CHECK-NEXT: ^bb0(%arg2: tensor<1x64x256xf32>, %arg3: tensor<256x256xf32>):
// CHECK-NEXT: %[[V1:[a-z0-9_]+]] = attune.linear %arg2, %arg3 : (tensor<1x64x256xf32>, tensor<256x256xf32>) -> tensor<1x64x256xf32>
// CHECK-NEXT: attune.yield %[[V1]], %arg2 : tensor<1x64x256xf32>, tensor<1x64x256xf32>
// CHECK-NEXT: } : (tensor<1x64x256xf32>, tensor<256x256xf32>) -> (tensor<1x64x256xf32>, tensor<1x64x256xf32>)
// CHECK-NEXT: attune.checkpoint() {
// CHECK-NEXT: attune.yield
// CHECK-NEXT: } : () -> ()
// CHECK-NEXT: return %[[V2]]#0 : tensor<1x64x256xf32>
func.func @checkpoint(%x: tensor<1x64x256xf32>, %w: tensor<256x256xf32>) -> tensor<1x64x256xf32> {
  %r = attune.checkpoint (%x) {
  ^bb0(%a: tensor<1x64x256xf32>):
    %t = attune.gelu %a : tensor<1x64x256xf32>
    attune.yield %t : tensor<1x64x256xf32>
  } : (tensor<1x64x256xf32>) -> tensor<1x64x256xf32>
  %s:2 = attune.checkpoint (%r, %w) {
  ^bb0(%a: tensor<1x64x256xf32>, %m: tensor<256x256xf32>):
    %t = attune.linear %a, %m : (tensor<1x64x256xf32>, tensor<256x256xf32>) -> tensor<1x64x256xf32>
    attune.yield %t, %a : tensor<1x64x256xf32>, tensor<1x64x256xf32>
  } : (tensor<1x64x256xf32>, tensor<256x256xf32>) -> (tensor<1x64x256xf32>, tensor<1x64x256xf32>)
  attune.checkpoint () {
    attune.yield
  } : () -> ()
  return %s#0 : tensor<1x64x256xf32>
}

// Chunked feed-forward, one and two results, dynamic axis.
// CHECK-LABEL: func.func @chunked(
// CHECK:      %[[V0:[a-z0-9_]+]] = attune.chunked %arg0 along 1 by 64 {
// CHECK-NEXT: ^bb0(%arg4: tensor<1x64x256xf32>):
// CHECK-NEXT: %[[V1:[a-z0-9_]+]] = attune.mlp %arg4, %arg1, %arg2 {activation = #attune.activation<gelu>} : (tensor<1x64x256xf32>, tensor<1024x256xf32>, tensor<256x1024xf32>) -> tensor<1x64x256xf32>
// CHECK-NEXT: attune.yield %[[V1]] : tensor<1x64x256xf32>
// CHECK-NEXT: } : (tensor<1x512x256xf32>) -> tensor<1x512x256xf32>
// CHECK-NEXT: %[[V2:[a-z0-9_]+]]:2 = attune.chunked %arg3 along 0 by 4 {
// CHECK-NEXT: ^bb0(%arg4: tensor<4x8xf32>):
// CHECK-NEXT: %[[V1:[a-z0-9_]+]] = attune.softmax %arg4 : (tensor<4x8xf32>) -> tensor<4x8xf32>
// CHECK-NEXT: %[[V3:[a-z0-9_]+]] = attune.reduce %arg4 {axes = array<i64: 1>, kind = #attune.reduce_kind<sum>} : (tensor<4x8xf32>) -> tensor<4xf32>
// CHECK-NEXT: attune.yield %[[V1]], %[[V3]] : tensor<4x8xf32>, tensor<4xf32>
// CHECK-NEXT: } : (tensor<?x8xf32>) -> (tensor<?x8xf32>, tensor<?xf32>)
// CHECK-NEXT: return %[[V0]] : tensor<1x512x256xf32>
func.func @chunked(%x: tensor<1x512x256xf32>, %w1: tensor<1024x256xf32>, %w2: tensor<256x1024xf32>, %d: tensor<?x8xf32>) -> tensor<1x512x256xf32> {
  %y = attune.chunked %x along 1 by 64 {
  ^bb0(%c: tensor<1x64x256xf32>):
    %t = attune.mlp %c, %w1, %w2 {activation = #attune.activation<gelu>} : (tensor<1x64x256xf32>, tensor<1024x256xf32>, tensor<256x1024xf32>) -> tensor<1x64x256xf32>
    attune.yield %t : tensor<1x64x256xf32>
  } : (tensor<1x512x256xf32>) -> tensor<1x512x256xf32>
  %z:2 = attune.chunked %d along 0 by 4 {
  ^bb0(%c: tensor<4x8xf32>):
    %t = attune.softmax %c : (tensor<4x8xf32>) -> tensor<4x8xf32>
    %u = attune.reduce %c {kind = #attune.reduce_kind<sum>, axes = array<i64: 1>} : (tensor<4x8xf32>) -> tensor<4xf32>
    attune.yield %t, %u : tensor<4x8xf32>, tensor<4xf32>
  } : (tensor<?x8xf32>) -> (tensor<?x8xf32>, tensor<?xf32>)
  return %y : tensor<1x512x256xf32>
}

// Region bodies may yield values more (or less) static than the region op's
// results, as attune results need only be compatible with their inferred types.
// CHECK-LABEL: func.func @region_yield_compatible(
// CHECK:      %[[V0:[a-z0-9_]+]] = attune.checkpoint(%arg0) {
// CHECK-NEXT: ^bb0(%arg2: tensor<4x8xf32>):
// CHECK-NEXT: attune.yield %arg2 : tensor<4x8xf32>
// CHECK-NEXT: } : (tensor<4x8xf32>) -> tensor<?x8xf32>
// CHECK-NEXT: %[[V1:[a-z0-9_]+]] = attune.chunked %arg1 along 1 by 4 {
// CHECK-NEXT: ^bb0(%arg2: tensor<?x4xf32>):
// CHECK-NEXT: attune.yield %arg2 : tensor<?x4xf32>
// CHECK-NEXT: } : (tensor<?x8xf32>) -> tensor<4x8xf32>
// CHECK-NEXT: return %[[V0]], %[[V1]] : tensor<?x8xf32>, tensor<4x8xf32>
func.func @region_yield_compatible(%x: tensor<4x8xf32>, %d: tensor<?x8xf32>) -> (tensor<?x8xf32>, tensor<4x8xf32>) {
  %r = attune.checkpoint (%x) {
  ^bb0(%a: tensor<4x8xf32>):
    attune.yield %a : tensor<4x8xf32>
  } : (tensor<4x8xf32>) -> tensor<?x8xf32>
  %c = attune.chunked %d along 1 by 4 {
  ^bb0(%a: tensor<?x4xf32>):
    attune.yield %a : tensor<?x4xf32>
  } : (tensor<?x8xf32>) -> tensor<4x8xf32>
  return %r, %c : tensor<?x8xf32>, tensor<4x8xf32>
}
