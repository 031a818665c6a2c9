// Data errors of the cuda target's kernels reach the caller through the
// error record (GpuABI.h): the generated embedding and cross-entropy kernels,
// run by attune-run --device cuda on the PTX interpreter (the fake driver's
// ptx mode), report an id or label out of range naming the op; in-range
// inputs run.
// REQUIRES: ptxas
// RUN: rm -rf %t && mkdir -p %t
// RUN: attune-compile %s -o %t/m.atm --target=cuda:sm_80,sm_90a -q
// RUN: python3 %S/Inputs/write_npy.py %t/ids_ok.npy int64 1x4 2,7,9,0
// RUN: python3 %S/Inputs/write_npy.py %t/ids_bad.npy int64 1x4 2,7,99,0
// RUN: python3 %S/Inputs/write_npy.py %t/labels_bad.npy int32 2 3,-4
// RUN: env ATTUNE_FAKE_CUDA=ptx LD_LIBRARY_PATH=%fake_cuda_dir attune-run %t/m.atm --function embed --device cuda --input ids=%t/ids_ok.npy --random-inputs 1 | FileCheck %s --check-prefix=OK
// RUN: env ATTUNE_FAKE_CUDA=ptx LD_LIBRARY_PATH=%fake_cuda_dir not attune-run %t/m.atm --function embed --device cuda --input ids=%t/ids_bad.npy --random-inputs 1 2>&1 | FileCheck %s --check-prefix=ID
// RUN: env ATTUNE_FAKE_CUDA=ptx LD_LIBRARY_PATH=%fake_cuda_dir not attune-run %t/m.atm --function loss --device cuda --input labels=%t/labels_bad.npy --random-inputs 1 2>&1 | FileCheck %s --check-prefix=LABEL

// OK: out: f16 [1, 4, 8] mean
// ID: error: launch #0 (attune.embedding at {{.*}}cuda-error-record.mlir:{{[0-9]+}}:{{[0-9]+}}) of function 'embed': id 99 at position 2 is outside [0, 10)
// LABEL: error: launch #{{[0-9]+}} (attune.cross_entropy at {{.*}}cuda-error-record.mlir:{{[0-9]+}}:{{[0-9]+}}) of function 'loss': label -4 in row 1 is outside [0, 11)

func.func @embed(%ids: tensor<1x4xi64> {attune.name = "ids"}, %t: tensor<10x8xf16> {attune.name = "table"}) -> (tensor<1x4x8xf16> {attune.name = "out"}) {
  %0 = attune.embedding %ids, %t : (tensor<1x4xi64>, tensor<10x8xf16>) -> tensor<1x4x8xf16>
  return %0 : tensor<1x4x8xf16>
}

func.func @loss(%l: tensor<2x11xf32> {attune.name = "logits"}, %lab: tensor<2xi32> {attune.name = "labels"}) -> (tensor<f32> {attune.name = "loss"}) {
  %0 = attune.cross_entropy %l, %lab : (tensor<2x11xf32>, tensor<2xi32>) -> tensor<f32>
  return %0 : tensor<f32>
}
