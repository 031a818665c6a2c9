// attune-opt knows the upstream dialects Attune builds on: a shard grid and
// sharding annotations on attune values, linalg, scf and math ops round-trip
// next to attune ops, and the shard passes are registered.
// RUN: attune-opt %s | attune-opt | FileCheck %s
// RUN: attune-opt --help | FileCheck %s --check-prefix=PASSES

// CHECK: shard.grid @grid(shape = 2)
shard.grid @grid(shape = 2)

// CHECK-LABEL: func.func @mixed
func.func @mixed(%x: tensor<4x8xf32>, %w: tensor<16x8xf32>, %m: tensor<8x8xf32>) -> tensor<4x16xf32> {
  // CHECK: shard.sharding @grid split_axes = {{\[\[}}0]] : !shard.sharding
  %s = shard.sharding @grid split_axes = [[0]] : !shard.sharding
  // CHECK: shard.shard %{{.*}} to %{{.*}} : tensor<4x8xf32>
  %xs = shard.shard %x to %s : tensor<4x8xf32>
  %y = attune.linear %xs, %w : (tensor<4x8xf32>, tensor<16x8xf32>) -> tensor<4x16xf32>
  %init = tensor.empty() : tensor<8x8xf32>
  // CHECK: linalg.matmul
  %p = linalg.matmul ins(%m, %m : tensor<8x8xf32>, tensor<8x8xf32>) outs(%init : tensor<8x8xf32>) -> tensor<8x8xf32>
  %c0 = arith.constant 0 : index
  %c2 = arith.constant 2 : index
  %c1 = arith.constant 1 : index
  // CHECK: scf.for
  %r = scf.for %i = %c0 to %c2 step %c1 iter_args(%acc = %y) -> (tensor<4x16xf32>) {
    %e = attune.exp %acc : tensor<4x16xf32>
    scf.yield %e : tensor<4x16xf32>
  }
  %f = arith.constant 2.0 : f32
  // CHECK: math.tanh
  %t = math.tanh %f : f32
  return %r : tensor<4x16xf32>
}
// PASSES-DAG: --attune-infer-shapes
// PASSES-DAG: --sharding-propagation
// PASSES-DAG: --shard-partition
// PASSES-DAG: --canonicalize
