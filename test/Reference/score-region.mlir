// A score region that adds a bias read from a tensor defined outside the
// region (a relative-position table) shifts the weights as derived by hand:
// bias ln 3 on key 1 turns equal scores into weights 1/4, 3/4 (out = 3).
// RUN: attune-ref %s | FileCheck %s

func.func @bias() -> (tensor<1x1x1x1xf32> {attune.name = "out"}) {
  %q = arith.constant dense<0.0> : tensor<1x1x1x1xf32>
  %k = arith.constant dense<0.0> : tensor<1x1x2x1xf32>
  %v = arith.constant dense<[[[[0.0], [4.0]]]]> : tensor<1x1x2x1xf32>
  %rel = arith.constant dense<[0.0, 1.0986122886681098]> : tensor<2xf32>
  %out, %lse = attune.attention %q, %k, %v score {
  ^bb0(%s: f32, %b: index, %h: index, %i: index, %j: index):
    %bias = tensor.extract %rel[%j] : tensor<2xf32>
    %t = arith.addf %s, %bias : f32
    attune.yield %t : f32
  } : (tensor<1x1x1x1xf32>, tensor<1x1x2x1xf32>, tensor<1x1x2x1xf32>) -> (tensor<1x1x1x1xf32>, tensor<1x1x1xf32>)
  return %out : tensor<1x1x1x1xf32>
}
// CHECK: out: f32 [1, 1, 1, 1]
// CHECK-NEXT: values: 3{{$}}
