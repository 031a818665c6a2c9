// attune-run on a compiled module gives the evaluator's results bit for bit
// where f32 arithmetic is exact or correctly rounded (add, mul, max, neg,
// relu, a transposed copy); the block map of a static mask is a constant.
// RUN: attune-compile %s -o %t.atm -q
// RUN: rm -rf %t.run %t.ref
// RUN: attune-run %t.atm --random-inputs 3 --output-dir %t.run | FileCheck %s --check-prefix=EXE
// RUN: attune-ref %s --random-inputs 3 --output-dir %t.ref
// RUN: cmp %t.run/y.npy %t.ref/y.npy
// RUN: cmp %t.run/t.npy %t.ref/t.npy
// RUN: attune-compile --print-info %t.atm | FileCheck %s --check-prefix=INFO
// REQUIRES: attune-ref

func.func @exact(%a: tensor<3x1x17xf32> {attune.name = "a"},
                 %b: tensor<5x1xf32> {attune.name = "b"})
    -> (tensor<3x5x17xf32> {attune.name = "y"},
        tensor<17x3xf32> {attune.name = "t"}) {
  %s = attune.add %a, %b : (tensor<3x1x17xf32>, tensor<5x1xf32>) -> tensor<3x5x17xf32>
  %m = attune.mul %s, %s : (tensor<3x5x17xf32>, tensor<3x5x17xf32>) -> tensor<3x5x17xf32>
  %n = attune.neg %m : tensor<3x5x17xf32>
  %r = attune.relu %n : tensor<3x5x17xf32>
  %y = attune.max %r, %s : (tensor<3x5x17xf32>, tensor<3x5x17xf32>) -> tensor<3x5x17xf32>
  %a2 = attune.reshape %a : tensor<3x1x17xf32> to tensor<3x17xf32>
  %t = attune.transpose %a2 {permutation = array<i64: 1, 0>} : (tensor<3x17xf32>) -> tensor<17x3xf32>
  return %y, %t : tensor<3x5x17xf32>, tensor<17x3xf32>
}
// EXE: y: f32 [3, 5, 17]
// EXE: t: f32 [17, 3]
// INFO: 6 launches
