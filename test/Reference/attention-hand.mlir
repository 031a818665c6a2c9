// Attention against numbers derived by hand: with scale 1, q = 1 and keys
// 0 and ln 3, the second query weighs the values 0 and 4 by 1/4 and 3/4
// (out = 3, lse = ln 4); under the causal mask the first query sees only
// key 0 (out = 0, lse = 0).
// RUN: attune-ref %s --function causal | FileCheck %s --check-prefix=CAUSAL
// RUN: attune-ref %s --function masked_row | FileCheck %s --check-prefix=MASKED
// RUN: attune-ref %s --function causal --precision native | FileCheck %s --check-prefix=CAUSAL

func.func @causal() -> (tensor<1x1x2x1xf32> {attune.name = "out"}, tensor<1x1x2xf32> {attune.name = "lse"}) {
  %q = arith.constant dense<1.0> : tensor<1x1x2x1xf32>
  %k = arith.constant dense<[[[[0.0], [1.0986122886681098]]]]> : tensor<1x1x2x1xf32>
  %v = arith.constant dense<[[[[0.0], [4.0]]]]> : tensor<1x1x2x1xf32>
  %out, %lse = attune.attention %q, %k, %v {scale = 1.0 : f64, mask = #attune.causal}
    : (tensor<1x1x2x1xf32>, tensor<1x1x2x1xf32>, tensor<1x1x2x1xf32>) -> (tensor<1x1x2x1xf32>, tensor<1x1x2xf32>)
  return %out, %lse : tensor<1x1x2x1xf32>, tensor<1x1x2xf32>
}
// CAUSAL: out: f32 [1, 1, 2, 1]
// CAUSAL-NEXT: values: 0 3{{$}}
// CAUSAL: lse: f32 [1, 1, 2]
// CAUSAL-NEXT: values: 0 1.38629{{$}}

// A mask region that rejects every key of query 0 leaves that row at
// out = 0 and lse = -inf (never NaN); query 1 still sees both keys.
func.func @masked_row() -> (tensor<1x1x2x1xf32> {attune.name = "out"}, tensor<1x1x2xf32> {attune.name = "lse"}) {
  %q = arith.constant dense<1.0> : tensor<1x1x2x1xf32>
  %k = arith.constant dense<[[[[0.0], [1.0986122886681098]]]]> : tensor<1x1x2x1xf32>
  %v = arith.constant dense<[[[[0.0], [4.0]]]]> : tensor<1x1x2x1xf32>
  %out, %lse = attune.attention %q, %k, %v {scale = 1.0 : f64} mask {
  ^bb0(%b: index, %h: index, %i: index, %j: index):
    %c0 = arith.constant 0 : index
    %ok = arith.cmpi ne, %i, %c0 : index
    attune.yield %ok : i1
  } : (tensor<1x1x2x1xf32>, tensor<1x1x2x1xf32>, tensor<1x1x2x1xf32>) -> (tensor<1x1x2x1xf32>, tensor<1x1x2xf32>)
  return %out, %lse : tensor<1x1x2x1xf32>, tensor<1x1x2xf32>
}
// MASKED: out: f32 [1, 1, 2, 1] {{.*}} non-finite 0
// MASKED-NEXT: values: 0 3{{$}}
// MASKED: lse: f32 [1, 1, 2] {{.*}} non-finite 1
// MASKED-NEXT: values: -inf 1.38629{{$}}
