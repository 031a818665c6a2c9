// attune-compile reports what it cannot compile, at the op, and exits 1.
// RUN: split-file %s %t
// RUN: not attune-compile %t/f64.mlir -o %t/f64.atm 2>&1 | FileCheck %s --check-prefix=F64
// RUN: not attune-compile %t/dynamic.mlir -o %t/d.atm 2>&1 | FileCheck %s --check-prefix=DYN
// RUN: not attune-compile %t/foreign.mlir -o %t/x.atm 2>&1 | FileCheck %s --check-prefix=FOREIGN
// RUN: not attune-compile %t/nofunc.mlir -o %t/n.atm 2>&1 | FileCheck %s --check-prefix=NOFUNC
// RUN: not attune-compile %t/f64.mlir -o %t/t.atm --target=tpu 2>&1 | FileCheck %s --check-prefix=TARGET
// RUN: not attune-compile --print-info %t/f64.mlir 2>&1 | FileCheck %s --check-prefix=INFO
// RUN: not attune-compile %t/ok.mlir -o %t/ok.atm --kernel-library %t/none.a 2>&1 | FileCheck %s --check-prefix=KLIB

//--- f64.mlir
func.func @f(%x: tensor<4xf64>) -> tensor<4xf64> {
  // F64: f64.mlir:3:8: error: the CPU backend computes in f32, bf16 or f16; got 'f64'
  %y = attune.exp %x : tensor<4xf64>
  return %y : tensor<4xf64>
}
// F64: attune-compile: error: could not lower

//--- dynamic.mlir
func.func @f(%x: tensor<?x4xf32>) -> tensor<?x4xf32> {
  %y = attune.exp %x : tensor<?x4xf32>
  return %y : tensor<?x4xf32>
}
// DYN: error: attune-compile needs static shapes; got 'tensor<?x4xf32>'

//--- foreign.mlir
func.func @f(%x: tensor<4xf32>) -> tensor<4xf32> {
  %e = tensor.empty() : tensor<4xf32>
  %y = attune.add %x, %e : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  return %y : tensor<4xf32>
}
// FOREIGN: foreign.mlir:2:8: error: attune-compile cannot lower 'tensor.empty'

//--- nofunc.mlir
func.func private @f(%x: tensor<4xf32>) -> tensor<4xf32>
// NOFUNC: error: no public function with a body to compile

//--- ok.mlir
func.func @f(%x: tensor<4xf32>) -> tensor<4xf32> {
  %y = attune.exp %x : tensor<4xf32>
  return %y : tensor<4xf32>
}
// TARGET: attune-compile: error: unknown --target 'tpu' (this compiler targets: cpu)
// INFO: attune-compile: error:
// KLIB: attune-compile: error: kernel library '{{.*}}none.a' not found (pass --kernel-library)
