// Weights bind by argument name from a safetensors file (tensors the function
// does not use are ignored), inputs from .npy, and each result is written as
// <output-dir>/<name>.npy, which reads back unchanged: ids [3, 0, 1]
// pick rows (3, 13), (0, 10), (1, 11) of the table.
// RUN: rm -rf %t && attune-ref %s --weights %S/Inputs/embed_table.safetensors --input ids=%S/Inputs/i32_301.npy --output-dir %t | FileCheck %s
// RUN: attune-ref %S/Inputs/identity.mlir --input x=%t/rows.npy | FileCheck %s --check-prefix=READBACK

func.func @embed(%ids: tensor<3xi32> {attune.name = "ids"},
                 %table: tensor<4x2xf32> {attune.name = "table"})
    -> (tensor<3x2xf32> {attune.name = "rows"}) {
  %y = attune.embedding %ids, %table : (tensor<3xi32>, tensor<4x2xf32>) -> tensor<3x2xf32>
  return %y : tensor<3x2xf32>
}
// CHECK: rows: f32 [3, 2]
// CHECK-NEXT: values: 3 13 0 10 1 11{{$}}
// READBACK: y: f32 [3, 2]
// READBACK-NEXT: values: 3 13 0 10 1 11{{$}}
