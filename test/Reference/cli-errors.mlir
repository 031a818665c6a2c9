// attune-ref reports bad invocations in one line that names the argument,
// what it expected and what it got.
// RUN: not attune-ref %s 2>&1 | FileCheck %s --check-prefix=UNBOUND
// RUN: not attune-ref %s --input nope=%s 2>&1 | FileCheck %s --check-prefix=NAME
// RUN: not attune-ref %s --input ids=%S/Inputs/f32_2x3.npy 2>&1 | FileCheck %s --check-prefix=DTYPE
// RUN: not attune-ref %s --random-inputs 1 --input ids=%S/Inputs/i32_2.npy 2>&1 | FileCheck %s --check-prefix=SHAPE
// RUN: not attune-ref %s --random-inputs 1 --input ids=%S/Inputs/i32_3.npy 2>&1 | FileCheck %s --check-prefix=RANGE
// RUN: not attune-ref %s --precision f16 2>&1 | FileCheck %s --check-prefix=PRECISION
// RUN: not attune-ref %s --function other 2>&1 | FileCheck %s --check-prefix=FUNC
// RUN: not attune-ref %s --input ids=%S/Inputs/truncated.npy 2>&1 | FileCheck %s --check-prefix=TRUNC

func.func @embed(%ids: tensor<3xi32> {attune.name = "ids"},
                 %table: tensor<4x2xf32> {attune.name = "table"})
    -> tensor<3x2xf32> {
  %y = attune.embedding %ids, %table : (tensor<3xi32>, tensor<4x2xf32>) -> tensor<3x2xf32>
  return %y : tensor<3x2xf32>
}
// UNBOUND: attune-ref: error: argument 'ids' (i32 [3]) is not bound: pass --input ids=FILE.npy or --weights
// NAME: error: --input names 'nope', which is not an argument of @embed
// DTYPE: error: argument 'ids' expects dtype i32, but {{.*}}f32_2x3.npy holds f32
// SHAPE: error: argument 'ids' expects shape [3], but {{.*}}i32_2.npy holds [2]
// RANGE: error: 'attune.embedding' at {{.*}}cli-errors.mlir{{.*}}: {{.*}}7
// PRECISION: error: --precision must be f64 or native, got 'f16'
// FUNC: error: no function @other
// TRUNC: error: {{.*}}truncated.npy: {{.*}}
