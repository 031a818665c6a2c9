// attune-compile reports what it cannot compile, at the op, and exits 1.
// RUN: split-file %s %t
// RUN: not attune-compile %t/f64.mlir -o %t/f64.atm 2>&1 | FileCheck %s --check-prefix=F64
// RUN: not attune-compile %t/dynamic.mlir -o %t/d.atm 2>&1 | FileCheck %s --check-prefix=DYN
// RUN: not attune-compile %t/foreign.mlir -o %t/x.atm 2>&1 | FileCheck %s --check-prefix=FOREIGN
// RUN: not attune-compile %t/nofunc.mlir -o %t/n.atm 2>&1 | FileCheck %s --check-prefix=NOFUNC
// RUN: not attune-compile %t/f64.mlir -o %t/t.atm --target=tpu 2>&1 | FileCheck %s --check-prefix=TARGET
// RUN: not attune-compile %t/ok.mlir -o %t/t.atm --target=cuda:sm_70 2>&1 | FileCheck %s --check-prefix=ARCH
// RUN: not attune-compile %t/ok.mlir -o %t/t.atm --target=cuda:sm_80,sm_80 2>&1 | FileCheck %s --check-prefix=TWICE
// RUN: not attune-compile %t/ok.mlir -o %t/t.atm --target=cuda:sm_80 --ptxas=%t/no-ptxas 2>&1 | FileCheck %s --check-prefix=PTXAS
// RUN: not attune-compile %t/attn32.mlir -o %t/a.atm --target=cuda:sm_80 2>&1 | FileCheck %s --check-prefix=ATTN32
// RUN: not attune-compile --print-info %t/f64.mlir 2>&1 | FileCheck %s --check-prefix=INFO
// RUN: not attune-compile %t/ok.mlir -o %t/ok.atm --kernel-library %t/none.a 2>&1 | FileCheck %s --check-prefix=KLIB
// RUN: not attune-compile %t/ids16.mlir -o %t/i.atm 2>&1 | FileCheck %s --check-prefix=IDS
// RUN: not attune-compile %t/rot.mlir -o %t/r.atm 2>&1 | FileCheck %s --check-prefix=ROT
// RUN: not attune-compile %t/headdim.mlir -o %t/h.atm 2>&1 | FileCheck %s --check-prefix=HEAD

//--- f64.mlir
func.func @f(%x: tensor<4xf64>) -> tensor<4xf64> {
  // F64: f64.mlir:3:8: error: attune-compile computes in f32, bf16 or f16; got 'f64'
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
// TARGET: attune-compile: error: unknown --target 'tpu'; expected cpu or cuda[:sm_80,sm_90a,...]
// ARCH: attune-compile: error: cuda architecture 'sm_70'; expected sm_XY or sm_XYa with XY >= 80 (e.g. sm_80, sm_90a)
// TWICE: attune-compile: error: cuda architecture sm_80 is listed twice
// PTXAS: attune-compile: error: ptxas not found (looked in $CUDA_HOME/bin, /usr/local/cuda/bin and PATH); install the CUDA toolkit or pass --ptxas=PATH
// INFO: attune-compile: error:
// KLIB: attune-compile: error: kernel library '{{.*}}none.a' not found (pass --kernel-library)

//--- ids16.mlir
func.func @f(%ids: tensor<4xi16>, %t: tensor<10x8xf32>) -> tensor<4x8xf32> {
  // IDS: ids16.mlir:3:8: error: attune-compile reads ids as i32, i64 or index; got 'i16' (cast them first)
  %y = attune.embedding %ids, %t : (tensor<4xi16>, tensor<10x8xf32>) -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

//--- rot.mlir
func.func @f(%x: tensor<1x1x8x4xbf16>, %r: tensor<1x4x1xf32>) -> tensor<1x1x8x4xbf16> {
  // ROT: rot.mlir:3:12: error: attune-compile reads rotations in the dtype of qk ('bf16'); got 'f32' (cast them)
  %o, %l = attune.lsh_attention %x, %x rotations %r {num_buckets = 2 : i64, num_rounds = 1 : i64, chunk_size = 4 : i64, seed = 1 : i64} : (tensor<1x1x8x4xbf16>, tensor<1x1x8x4xbf16>, tensor<1x4x1xf32>) -> (tensor<1x1x8x4xbf16>, tensor<1x1x8xf32>)
  return %o : tensor<1x1x8x4xbf16>
}

//--- headdim.mlir
func.func @f(%q: tensor<1x1x2x2048xf32>) -> tensor<1x1x2x2048xf32> {
  // HEAD: headdim.mlir:3:12: error: the CPU attention families take head dims up to 1024; got 2048
  %o, %l = attune.attention %q, %q, %q : (tensor<1x1x2x2048xf32>, tensor<1x1x2x2048xf32>, tensor<1x1x2x2048xf32>) -> (tensor<1x1x2x2048xf32>, tensor<1x1x2xf32>)
  return %o : tensor<1x1x2x2048xf32>
}

//--- attn32.mlir
func.func @f(%q: tensor<1x1x8x160xf32>) -> (tensor<1x1x8x160xf32>, tensor<1x1x8xf32>) {
  // ATTN32: attn32.mlir:3:12: error: the cuda attention kernel supports f32 head dims up to 128 (bf16/f16: 256); got D = 160, Dv = 160
  %o, %l = attune.attention %q, %q, %q : (tensor<1x1x8x160xf32>, tensor<1x1x8x160xf32>, tensor<1x1x8x160xf32>) -> (tensor<1x1x8x160xf32>, tensor<1x1x8xf32>)
  return %o, %l : tensor<1x1x8x160xf32>, tensor<1x1x8xf32>
}
