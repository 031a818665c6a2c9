// RUN: attune-opt %s --attune-infer-shapes | FileCheck %s
// The output is valid IR that parses back, and the pass is idempotent.
// RUN: attune-opt %s --attune-infer-shapes | attune-opt --attune-infer-shapes | FileCheck %s

// The example of the pass description: one op, its function's result.
// CHECK-LABEL: func.func @single_op(%arg0: tensor<2x8xf32>, %arg1: tensor<8xf32>) -> tensor<2x8xf32>
// CHECK:      %[[V0:[a-z0-9_]+]] = attune.rms_norm %arg0 weight %arg1 : (tensor<2x8xf32>, tensor<8xf32>) -> tensor<2x8xf32>
// CHECK-NEXT: return %[[V0]] : tensor<2x8xf32>
func.func @single_op(%x: tensor<2x8xf32>, %w: tensor<8xf32>) -> tensor<?x8xf32> {
  %y = attune.rms_norm %x weight %w : (tensor<2x8xf32>, tensor<8xf32>) -> tensor<?x8xf32>
  return %y : tensor<?x8xf32>
}

// A chain of ops is refined in program order: each op sees its operands'
// refined types.
// CHECK-LABEL: func.func @chain(%arg0: tensor<2x16xi32>, %arg1: tensor<100x32xf32>, %arg2: tensor<64x32xf32>, %arg3: tensor<64xf32>) -> tensor<*xf32>
// CHECK:      %[[V0:[a-z0-9_]+]] = attune.embedding %arg0, %arg1 : (tensor<2x16xi32>, tensor<100x32xf32>) -> tensor<2x16x32xf32>
// CHECK-NEXT: %[[V1:[a-z0-9_]+]] = attune.rms_norm %[[V0]] : (tensor<2x16x32xf32>) -> tensor<2x16x32xf32>
// CHECK-NEXT: %[[V2:[a-z0-9_]+]] = attune.linear %[[V1]], %arg2 : (tensor<2x16x32xf32>, tensor<64x32xf32>) -> tensor<2x16x64xf32>
// CHECK-NEXT: %[[V3:[a-z0-9_]+]] = attune.add %[[V2]], %arg3 : (tensor<2x16x64xf32>, tensor<64xf32>) -> tensor<2x16x64xf32>
// CHECK-NEXT: %[[V4:[a-z0-9_]+]] = attune.softmax %[[V3]] : (tensor<2x16x64xf32>) -> tensor<2x16x64xf32>
// CHECK-NEXT: %[[V5:[a-z0-9_]+]] = attune.reduce %[[V4]] {axes = array<i64: 2>, kind = #attune.reduce_kind<max>} : (tensor<2x16x64xf32>) -> tensor<2x16xf32>
// CHECK-NEXT: %[[V6:[a-z0-9_]+]] = tensor.cast %[[V5]] : tensor<2x16xf32> to tensor<*xf32>
// CHECK-NEXT: return %[[V6]] : tensor<*xf32>
func.func @chain(%ids: tensor<2x16xi32>, %table: tensor<100x32xf32>, %w: tensor<64x32xf32>, %b: tensor<64xf32>) -> tensor<*xf32> {
  %x = attune.embedding %ids, %table : (tensor<2x16xi32>, tensor<100x32xf32>) -> tensor<?x?x?xf32>
  %n = attune.rms_norm %x : (tensor<?x?x?xf32>) -> tensor<?x?x?xf32>
  %h = attune.linear %n, %w : (tensor<?x?x?xf32>, tensor<64x32xf32>) -> tensor<?x?x?xf32>
  %a = attune.add %h, %b : (tensor<?x?x?xf32>, tensor<64xf32>) -> tensor<?x?x?xf32>
  %s = attune.softmax %a : (tensor<?x?x?xf32>) -> tensor<?x?x?xf32>
  %r = attune.reduce %s {kind = #attune.reduce_kind<max>, axes = array<i64: 2>} : (tensor<?x?x?xf32>) -> tensor<?x?xf32>
  %c = tensor.cast %r : tensor<?x?xf32> to tensor<*xf32>
  return %c : tensor<*xf32>
}

// Both attention results are refined; the batch comes from k when q's is
// unknown.
// CHECK-LABEL: func.func @attention(%arg0: tensor<?x8x16x64xbf16>, %arg1: tensor<2x2x16x64xbf16>, %arg2: tensor<2x2x16x32xbf16>) -> (tensor<2x8x16x32xbf16>, tensor<2x8x16xf32>)
// CHECK:      %[[V0:[a-z0-9_]+]], %[[V1:[a-z0-9_]+]] = attune.attention %arg0, %arg1, %arg2 {mask = #attune.causal} : (tensor<?x8x16x64xbf16>, tensor<2x2x16x64xbf16>, tensor<2x2x16x32xbf16>) -> (tensor<2x8x16x32xbf16>, tensor<2x8x16xf32>)
// CHECK-NEXT: return %[[V0]], %[[V1]] : tensor<2x8x16x32xbf16>, tensor<2x8x16xf32>
func.func @attention(%q: tensor<?x8x16x64xbf16>, %k: tensor<2x2x16x64xbf16>, %v: tensor<2x2x16x32xbf16>) -> (tensor<?x?x?x?xbf16>, tensor<?x?x?xf32>) {
  %out, %lse = attune.attention %q, %k, %v {mask = #attune.causal} : (tensor<?x8x16x64xbf16>, tensor<2x2x16x64xbf16>, tensor<2x2x16x32xbf16>) -> (tensor<?x?x?x?xbf16>, tensor<?x?x?xf32>)
  return %out, %lse : tensor<?x?x?x?xbf16>, tensor<?x?x?xf32>
}

// Only what the operands determine is refined: an unknown batch stays `?`.
// CHECK-LABEL: func.func @partial(%arg0: tensor<?x128x512xf32>, %arg1: tensor<1024x512xf32>) -> tensor<?x128x1024xf32>
// CHECK:      %[[V0:[a-z0-9_]+]] = attune.linear %arg0, %arg1 : (tensor<?x128x512xf32>, tensor<1024x512xf32>) -> tensor<?x128x1024xf32>
// CHECK-NEXT: return %[[V0]] : tensor<?x128x1024xf32>
func.func @partial(%x: tensor<?x128x512xf32>, %w: tensor<1024x512xf32>) -> tensor<?x?x?xf32> {
  %y = attune.linear %x, %w : (tensor<?x128x512xf32>, tensor<1024x512xf32>) -> tensor<?x?x?xf32>
  return %y : tensor<?x?x?xf32>
}

// A callee's result type follows what it returns, and so do its calls (and
// the caller's own result type, which returns the call's result).
// CHECK-LABEL: func.func @callee(%arg0: tensor<4x16xf32>) -> tensor<16x4xf32>
// CHECK:      %[[V0:[a-z0-9_]+]] = attune.transpose %arg0 {permutation = array<i64: 1, 0>} : (tensor<4x16xf32>) -> tensor<16x4xf32>
// CHECK-NEXT: return %[[V0]] : tensor<16x4xf32>
// CHECK-LABEL: func.func @caller(%arg0: tensor<4x16xf32>) -> (tensor<16x4xf32>, tensor<?xf32>)
// CHECK:      %[[V0:[a-z0-9_]+]] = call @callee(%arg0) : (tensor<4x16xf32>) -> tensor<16x4xf32>
// CHECK-NEXT: %[[V1:[a-z0-9_]+]] = call @external(%arg0) : (tensor<4x16xf32>) -> tensor<?xf32>
// CHECK-NEXT: return %[[V0]], %[[V1]] : tensor<16x4xf32>, tensor<?xf32>
// CHECK-LABEL: func.func private @external(tensor<4x16xf32>) -> tensor<?xf32>
func.func @callee(%x: tensor<4x16xf32>) -> tensor<?x?xf32> {
  %y = attune.transpose %x {permutation = array<i64: 1, 0>} : (tensor<4x16xf32>) -> tensor<?x?xf32>
  return %y : tensor<?x?xf32>
}
func.func @caller(%x: tensor<4x16xf32>) -> (tensor<?x?xf32>, tensor<?xf32>) {
  %0 = call @callee(%x) : (tensor<4x16xf32>) -> tensor<?x?xf32>
  %1 = call @external(%x) : (tensor<4x16xf32>) -> tensor<?xf32>
  return %0, %1 : tensor<?x?xf32>, tensor<?xf32>
}
func.func private @external(tensor<4x16xf32>) -> tensor<?xf32>

// Ops inside checkpoint and chunked bodies are refined; the region ops' own
// results (which are not inferred) are left as they are.
// CHECK-LABEL: func.func @regions(%arg0: tensor<1x64x32xf32>, %arg1: tensor<128x32xf32>, %arg2: tensor<32x128xf32>) -> (tensor<?x?x?xf32>, tensor<1x64x?xf32>)
// CHECK:      %[[V0:[a-z0-9_]+]] = attune.checkpoint(%arg0) {
// CHECK-NEXT: ^bb0(%arg3: tensor<1x64x32xf32>):
// CHECK-NEXT: %[[V1:[a-z0-9_]+]] = attune.layer_norm %arg3 : (tensor<1x64x32xf32>) -> tensor<1x64x32xf32>
// CHECK-NEXT: attune.yield %[[V1]] : tensor<1x64x32xf32>
// CHECK-NEXT: } : (tensor<1x64x32xf32>) -> tensor<?x?x?xf32>
// CHECK-NEXT: %[[V2:[a-z0-9_]+]] = attune.chunked %arg0 along 1 by 16 {
// CHECK-NEXT: ^bb0(%arg3: tensor<1x16x32xf32>):
// CHECK-NEXT: %[[V1:[a-z0-9_]+]] = attune.mlp %arg3, %arg1, %arg2 {activation = #attune.activation<gelu>} : (tensor<1x16x32xf32>, tensor<128x32xf32>, tensor<32x128xf32>) -> tensor<1x16x32xf32>
// CHECK-NEXT: attune.yield %[[V1]] : tensor<1x16x32xf32>
// CHECK-NEXT: } : (tensor<1x64x32xf32>) -> tensor<1x64x?xf32>
// CHECK-NEXT: return %[[V0]], %[[V2]] : tensor<?x?x?xf32>, tensor<1x64x?xf32>
func.func @regions(%x: tensor<1x64x32xf32>, %w1: tensor<128x32xf32>, %w2: tensor<32x128xf32>) -> (tensor<?x?x?xf32>, tensor<1x64x?xf32>) {
  %c = attune.checkpoint (%x) {
  ^bb0(%a: tensor<1x64x32xf32>):
    %t = attune.layer_norm %a : (tensor<1x64x32xf32>) -> tensor<?x?x?xf32>
    attune.yield %t : tensor<?x?x?xf32>
  } : (tensor<1x64x32xf32>) -> tensor<?x?x?xf32>
  %y = attune.chunked %x along 1 by 16 {
  ^bb0(%a: tensor<1x16x32xf32>):
    %t = attune.mlp %a, %w1, %w2 {activation = #attune.activation<gelu>} : (tensor<1x16x32xf32>, tensor<128x32xf32>, tensor<32x128xf32>) -> tensor<1x16x?xf32>
    attune.yield %t : tensor<1x16x?xf32>
  } : (tensor<1x64x32xf32>) -> tensor<1x64x?xf32>
  return %c, %y : tensor<?x?x?xf32>, tensor<1x64x?xf32>
}

// Nothing to refine: static results stay, and so do results whose operands
// are dynamic themselves.
// CHECK-LABEL: func.func @nothing_changes(%arg0: tensor<2x8xf32>, %arg1: tensor<?x?xf32>) -> (tensor<2x8xf32>, tensor<?x?xf32>)
// CHECK:      %[[V0:[a-z0-9_]+]] = attune.softmax %arg0 : (tensor<2x8xf32>) -> tensor<2x8xf32>
// CHECK-NEXT: %[[V1:[a-z0-9_]+]] = attune.matmul %arg1, %arg1 : (tensor<?x?xf32>, tensor<?x?xf32>) -> tensor<?x?xf32>
// CHECK-NEXT: return %[[V0]], %[[V1]] : tensor<2x8xf32>, tensor<?x?xf32>
func.func @nothing_changes(%x: tensor<2x8xf32>, %d: tensor<?x?xf32>) -> (tensor<2x8xf32>, tensor<?x?xf32>) {
  %0 = attune.softmax %x : (tensor<2x8xf32>) -> tensor<2x8xf32>
  %1 = attune.matmul %d, %d : (tensor<?x?xf32>, tensor<?x?xf32>) -> tensor<?x?xf32>
  return %0, %1 : tensor<2x8xf32>, tensor<?x?xf32>
}

// Regressions: types only narrow; uses that cannot take a narrowed value
// (a call argument, an op of another dialect, attune.reversible, whose
// types must match) read a tensor.cast back to the type they saw; a caller
// written before its callee is refined once the callee's signature is.

// A result declared more static than inference can tell stays as declared.
// CHECK-LABEL: func.func @never_widen(%arg0: tensor<?x8xf32>) -> tensor<4x8xf32>
// CHECK-NEXT: %[[S:[a-z0-9_]+]] = attune.softmax %arg0 : (tensor<?x8xf32>) -> tensor<4x8xf32>
// CHECK-NEXT: %[[A:[a-z0-9_]+]] = arith.addf %[[S]], %[[S]] : tensor<4x8xf32>
func.func @never_widen(%x: tensor<?x8xf32>) -> tensor<4x8xf32> {
  %s = attune.softmax %x : (tensor<?x8xf32>) -> tensor<4x8xf32>
  %a = arith.addf %s, %s : tensor<4x8xf32>
  return %a : tensor<4x8xf32>
}

// CHECK-LABEL: func.func @early_caller(%arg0: tensor<4x16xf32>, %arg1: tensor<1x4x16xf32>) -> (tensor<4x16xf32>, tensor<?x?x?xf32>)
// CHECK-NEXT: %[[C:[a-z0-9_]+]] = call @late_callee(%arg0) : (tensor<4x16xf32>) -> tensor<16x4xf32>
// CHECK-NEXT: %[[T:[a-z0-9_]+]] = attune.transpose %[[C]] {permutation = array<i64: 1, 0>} : (tensor<16x4xf32>) -> tensor<4x16xf32>
// CHECK-NEXT: %[[CAST:[a-z0-9_]+]] = tensor.cast %[[T]] : tensor<4x16xf32> to tensor<?x?xf32>
// CHECK-NEXT: %[[D:[a-z0-9_]+]] = call @takes_dynamic(%[[CAST]]) : (tensor<?x?xf32>) -> tensor<?x?xf32>
// CHECK-NEXT: %[[N:[a-z0-9_]+]] = attune.gelu %arg1 : tensor<1x4x16xf32>
// CHECK-NEXT: %[[R:[a-z0-9_]+]] = attune.rms_norm %[[N]] : (tensor<1x4x16xf32>) -> tensor<1x4x16xf32>
// CHECK-NEXT: %[[RC:[a-z0-9_]+]] = tensor.cast %[[R]] : tensor<1x4x16xf32> to tensor<1x4x?xf32>
// CHECK-NEXT: %{{.*}}, %{{.*}} = attune.reversible %[[RC]], %[[RC]] f {
// CHECK:      return %[[T]], %{{.*}} : tensor<4x16xf32>, tensor<?x?x?xf32>
// CHECK-LABEL: func.func @late_callee(%arg0: tensor<4x16xf32>) -> tensor<16x4xf32>
func.func @early_caller(%x: tensor<4x16xf32>, %y: tensor<1x4x16xf32>) -> (tensor<?x?xf32>, tensor<?x?x?xf32>) {
  %c = call @late_callee(%x) : (tensor<4x16xf32>) -> tensor<?x?xf32>
  %t = attune.transpose %c {permutation = array<i64: 1, 0>} : (tensor<?x?xf32>) -> tensor<?x?xf32>
  %d = call @takes_dynamic(%t) : (tensor<?x?xf32>) -> tensor<?x?xf32>
  %n = attune.gelu %y : tensor<1x4x16xf32>
  %r = attune.rms_norm %n : (tensor<1x4x16xf32>) -> tensor<1x4x?xf32>
  %y1, %y2 = attune.reversible %r, %r f {
  ^bb0(%a: tensor<1x4x?xf32>):
    attune.yield %a : tensor<1x4x?xf32>
  } g {
  ^bb0(%a: tensor<1x4x?xf32>):
    attune.yield %a : tensor<1x4x?xf32>
  } : tensor<1x4x?xf32>, tensor<1x4x?xf32>
  %o = attune.cast %y1 : tensor<1x4x?xf32> to tensor<?x?x?xf32>
  return %t, %o : tensor<?x?xf32>, tensor<?x?x?xf32>
}
func.func @late_callee(%x: tensor<4x16xf32>) -> tensor<?x?xf32> {
  %t = attune.transpose %x {permutation = array<i64: 1, 0>} : (tensor<4x16xf32>) -> tensor<?x?xf32>
  return %t : tensor<?x?xf32>
}
func.func private @takes_dynamic(tensor<?x?xf32>) -> tensor<?x?xf32>
