// The cuda target has a kernel for every non-attention family: each function
// below compiles to specialized gpu.func kernels (irregular shapes, every
// storage dtype), ptxas assembles them for sm_80 and sm_90a without spills,
// and the PTX shows each family's shape: global loads and stores, shuffle
// trees and barriers for row reductions, shared-memory tiles for GEMMs and
// transposes, the error record's compare-and-swap for ids and labels.
// REQUIRES: ptxas
// RUN: rm -rf %t && mkdir -p %t
// RUN: attune-compile %s -o %t/m.atm --target=cuda:sm_80,sm_90a --keep-temps %t/k --ptxas-info -q > %t/info.txt
// RUN: FileCheck %s --input-file=%t/k/kernels.ptx
// RUN: FileCheck %s --check-prefix=INFO --input-file=%t/info.txt
// RUN: not grep -E "[1-9][0-9]* bytes spill" %t/info.txt
// RUN: attune-compile --print-info %t/m.atm | FileCheck %s --check-prefix=STEPS
// The PTX interpreter (test/ptxemu) supports every instruction of it.
// RUN: ptxemu-load %t/k/kernels.ptx | FileCheck %s --check-prefix=EMU

// CHECK: .target sm_80
// EMU: kernels.ptx: loaded, 22 kernels

// cast: f64 -> bf16 rounds once (round to odd in f32, then to bf16).
func.func @cast(%x: tensor<3x37xf64>, %h: tensor<5x7xf16>) -> (tensor<3x37xbf16>, tensor<5x7xf32>) {
  %0 = attune.cast %x : tensor<3x37xf64> to tensor<3x37xbf16>
  %1 = attune.cast %h : tensor<5x7xf16> to tensor<5x7xf32>
  return %0, %1 : tensor<3x37xbf16>, tensor<5x7xf32>
}
// CHECK-LABEL: .visible .entry attune_cast_
// CHECK: ld.global.b64
// CHECK: cvt.rn.f32.f64
// CHECK: cvt.rn.bf16.f32
// CHECK: st.global.b16
// CHECK-LABEL: .visible .entry attune_cast_
// CHECK: cvt.f32.f16
// CHECK: st.global.b32

// slice and concat copy words; concat picks the input of a word.
func.func @slice_concat(%x: tensor<3x17x5xbf16>, %a: tensor<2x3x7xf32>, %b: tensor<2x5x7xf32>) -> (tensor<3x6x5xbf16>, tensor<2x8x7xf32>) {
  %0 = attune.slice %x {axis = 1 : i64, start = 3 : i64, size = 6 : i64} : (tensor<3x17x5xbf16>) -> tensor<3x6x5xbf16>
  %1 = attune.concat %a, %b {axis = 1 : i64} : (tensor<2x3x7xf32>, tensor<2x5x7xf32>) -> tensor<2x8x7xf32>
  return %0, %1 : tensor<3x6x5xbf16>, tensor<2x8x7xf32>
}
// CHECK-LABEL: .visible .entry attune_slice_
// CHECK: ld.global.b16
// CHECK: st.global.b16
// CHECK-LABEL: .visible .entry attune_concat_
// CHECK: ld.global.b32
// CHECK: st.global.b32

// transpose of the two inner dims: 32x32 tiles through shared memory.
func.func @transpose(%x: tensor<3x37x45xf16>) -> tensor<3x45x37xf16> {
  %0 = attune.transpose %x {permutation = array<i64: 0, 2, 1>} : (tensor<3x37x45xf16>) -> tensor<3x45x37xf16>
  return %0 : tensor<3x45x37xf16>
}
// CHECK-LABEL: .visible .entry attune_transpose_
// CHECK: .shared
// CHECK: ld.global.b16
// CHECK: st.shared.b16
// CHECK: bar.sync
// CHECK: ld.shared.b16
// CHECK: st.global.b16

// reduce: kept last dim (columns x partitions), reduced last dim (a warp
// per output).
func.func @reduce(%x: tensor<3x37x45xbf16>) -> (tensor<3x45xbf16>, tensor<37xbf16>) {
  %0 = attune.reduce %x {kind = #attune.reduce_kind<sum>, axes = array<i64: 1>} : (tensor<3x37x45xbf16>) -> tensor<3x45xbf16>
  %1 = attune.reduce %x {kind = #attune.reduce_kind<max>, axes = array<i64: 0, 2>} : (tensor<3x37x45xbf16>) -> tensor<37xbf16>
  return %0, %1 : tensor<3x45xbf16>, tensor<37xbf16>
}
// CHECK-LABEL: .visible .entry attune_reduce_
// CHECK: ld.global.b16
// CHECK: add.rn.f32
// CHECK: bar.sync
// CHECK: cvt.rn.bf16.f32
// CHECK-LABEL: .visible .entry attune_reduce_
// CHECK: max.NaN.f32
// CHECK: shfl.sync.bfly.b32
// CHECK: cvt.rn.bf16.f32

// Norms: a block per long row (block reduction through shared memory), a
// warp per short row.
func.func @norms(%x: tensor<3x37x100xbf16>, %w: tensor<100xbf16>, %b: tensor<100xbf16>, %y: tensor<5x3000xf32>) -> (tensor<3x37x100xbf16>, tensor<5x3000xf32>) {
  %0 = attune.layer_norm %x weight %w bias %b : (tensor<3x37x100xbf16>, tensor<100xbf16>, tensor<100xbf16>) -> tensor<3x37x100xbf16>
  %1 = attune.rms_norm %y {epsilon = 1.0e-05 : f64} : (tensor<5x3000xf32>) -> tensor<5x3000xf32>
  return %0, %1 : tensor<3x37x100xbf16>, tensor<5x3000xf32>
}
// CHECK-LABEL: .visible .entry attune_layer_norm_
// CHECK: shfl.sync.bfly.b32
// CHECK: sqrt.rn.f32
// CHECK: st.global.b16
// CHECK-LABEL: .visible .entry attune_rms_norm_
// CHECK: .shared
// CHECK: shfl.sync.bfly.b32
// CHECK: bar.sync
// CHECK: sqrt.rn.f32
// CHECK: div.rn.f32
// CHECK: st.global.b32

// softmax over the last dim (rows) and over a middle dim (columns).
func.func @softmax(%x: tensor<3x37x45xf16>) -> (tensor<3x37x45xf16>, tensor<3x37x45xf16>) {
  %0 = attune.softmax %x : (tensor<3x37x45xf16>) -> tensor<3x37x45xf16>
  %1 = attune.softmax %x {axis = 1 : i64} : (tensor<3x37x45xf16>) -> tensor<3x37x45xf16>
  return %0, %1 : tensor<3x37x45xf16>, tensor<3x37x45xf16>
}
// CHECK-LABEL: .visible .entry attune_softmax_
// CHECK: max.NaN.f32
// CHECK: shfl.sync.bfly.b32
// CHECK: ex2.approx
// CHECK: st.global.b16
// CHECK-LABEL: .visible .entry attune_softmax_
// CHECK: ex2.approx
// CHECK: st.global.b16

// rope: a cos/sin table in f64 math, then one thread per rotated pair.
func.func @rope(%x: tensor<2x3x37x70xbf16>, %p: tensor<2x37xi32>) -> tensor<2x3x37x70xbf16> {
  %0 = attune.rope %x positions %p {interleaved, rotary_dim = 34 : i64} : (tensor<2x3x37x70xbf16>, tensor<2x37xi32>) -> tensor<2x3x37x70xbf16>
  return %0 : tensor<2x3x37x70xbf16>
}
// CHECK-LABEL: .visible .entry attune_rope_table_
// CHECK: ld.global.b32
// CHECK: cvt.rn.f64.s32
// CHECK: cvt.rn.f32.f64
// CHECK: st.global.b32
// CHECK-LABEL: .visible .entry attune_rope_
// CHECK: fma.rn.f32
// CHECK: st.global.b16

// embedding: an id outside [0, V) claims the error record.
func.func @embedding(%ids: tensor<3x37xi64>, %t: tensor<1000x70xf16>) -> tensor<3x37x70xf16> {
  %0 = attune.embedding %ids, %t : (tensor<3x37xi64>, tensor<1000x70xf16>) -> tensor<3x37x70xf16>
  return %0 : tensor<3x37x70xf16>
}
// CHECK-LABEL: .visible .entry attune_embedding_
// CHECK: ld.global.b64
// CHECK-DAG: st.global.b32
// CHECK-DAG: atom.{{.*}}global.cas.b64

// cross_entropy with a mean: per-row losses, then one block adds them.
func.func @cross_entropy(%l: tensor<37x1003xbf16>, %lab: tensor<37xi32>) -> tensor<bf16> {
  %0 = attune.cross_entropy %l, %lab {ignore_index = 0 : i64} : (tensor<37x1003xbf16>, tensor<37xi32>) -> tensor<bf16>
  return %0 : tensor<bf16>
}
// CHECK-LABEL: .visible .entry attune_cross_entropy_
// CHECK: atom.{{.*}}global.cas.b64
// CHECK: max.NaN.f32
// CHECK: bar.sync
// CHECK: st.global.b32
// CHECK-LABEL: .visible .entry attune_cross_entropy_reduce_
// CHECK: .maxntid 1024, 1, 1
// CHECK: bar.sync
// CHECK: div.rn.f32
// CHECK: st.global.b16

// GEMMs (K % 8 != 0 here): 64x64 tiles through shared memory, f32 fma,
// masked edges.
func.func @gemms(%x: tensor<3x37x100xbf16>, %w: tensor<70x100xbf16>, %bias: tensor<70xbf16>,
                 %a: tensor<5x1x33x20xf16>, %b: tensor<4x20x19xf16>,
                 %up: tensor<150x100xbf16>, %gate: tensor<150x100xbf16>, %down: tensor<90x150xbf16>)
    -> (tensor<3x37x70xbf16>, tensor<5x4x33x19xf16>, tensor<3x37x90xbf16>) {
  %0 = attune.linear %x, %w bias %bias : (tensor<3x37x100xbf16>, tensor<70x100xbf16>, tensor<70xbf16>) -> tensor<3x37x70xbf16>
  %1 = attune.matmul %a, %b : (tensor<5x1x33x20xf16>, tensor<4x20x19xf16>) -> tensor<5x4x33x19xf16>
  %2 = attune.mlp %x, %up, %down gate %gate {activation = #attune.activation<silu>} : (tensor<3x37x100xbf16>, tensor<150x100xbf16>, tensor<90x150xbf16>, tensor<150x100xbf16>) -> tensor<3x37x90xbf16>
  return %0, %1, %2 : tensor<3x37x70xbf16>, tensor<5x4x33x19xf16>, tensor<3x37x90xbf16>
}
// CHECK-LABEL: .visible .entry attune_linear_
// CHECK: .shared
// CHECK: ld.global.b16
// CHECK: st.shared.b32
// CHECK: bar.sync
// CHECK: ld.shared.v4.b32
// CHECK: fma.rn.f32
// CHECK: cvt.rn.bf16.f32
// CHECK: st.global.b16
// CHECK-LABEL: .visible .entry attune_matmul_
// CHECK: ld.shared.v4.b32
// CHECK: fma.rn.f32
// CHECK: cvt.rn.f16.f32
// CHECK-LABEL: .visible .entry attune_mlp_up_
// CHECK: ld.shared.v4.b32
// CHECK: fma.rn.f32
// CHECK: ex2.approx
// CHECK: cvt.rn.bf16.f32
// CHECK-LABEL: .visible .entry attune_mlp_down_
// CHECK: fma.rn.f32
// CHECK: st.global.b16

// bf16/f16 with K % 8 == 0 (and N % 8 == 0 for matmul): tensor cores
// (mma.sync m16n8k16, f32 accumulators), 16-byte global loads, A and W[N, K]
// fragments by ldmatrix (B[K, N] by ldmatrix .trans).
func.func @gemms_tc(%x: tensor<3x37x96xbf16>, %w: tensor<70x96xbf16>, %a: tensor<2x33x24xf16>, %b: tensor<24x40xf16>) -> (tensor<3x37x70xbf16>, tensor<2x33x40xf16>) {
  %0 = attune.linear %x, %w : (tensor<3x37x96xbf16>, tensor<70x96xbf16>) -> tensor<3x37x70xbf16>
  %1 = attune.matmul %a, %b : (tensor<2x33x24xf16>, tensor<24x40xf16>) -> tensor<2x33x40xf16>
  return %0, %1 : tensor<3x37x70xbf16>, tensor<2x33x40xf16>
}
// CHECK-LABEL: .visible .entry attune_linear_
// CHECK: .maxntid 128, 1, 1
// CHECK: ld.global.v4.b32
// CHECK: bar.sync
// CHECK: ldmatrix.sync.aligned.m8n8.x4.shared.b16
// CHECK: mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32
// CHECK: cvt.rn.bf16.f32
// CHECK: st.global.b32
// CHECK-LABEL: .visible .entry attune_matmul_
// CHECK: ld.global.v4.b32
// CHECK: ldmatrix.sync.aligned.m8n8.x4.shared.b16
// CHECK: ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16
// CHECK: mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32
// CHECK: cvt.rn.f16.f32

// Every kernel for both architectures.
// INFO-DAG: sm_80 attune_cast_{{[0-9a-f]+}}: {{[0-9]+}} registers, 0 bytes spill stores, 0 bytes spill loads
// INFO-DAG: sm_90a attune_cast_{{[0-9a-f]+}}: {{[0-9]+}} registers, 0 bytes spill stores, 0 bytes spill loads
// INFO-DAG: sm_80 attune_slice_
// INFO-DAG: sm_80 attune_concat_
// INFO-DAG: sm_80 attune_transpose_
// INFO-DAG: sm_80 attune_reduce_
// INFO-DAG: sm_80 attune_layer_norm_
// INFO-DAG: sm_80 attune_rms_norm_
// INFO-DAG: sm_80 attune_softmax_
// INFO-DAG: sm_80 attune_rope_table_
// INFO-DAG: sm_80 attune_rope_{{[0-9a-f]+}}:
// INFO-DAG: sm_80 attune_embedding_
// INFO-DAG: sm_80 attune_cross_entropy_{{[0-9a-f]+}}:
// INFO-DAG: sm_80 attune_cross_entropy_reduce_
// INFO-DAG: sm_80 attune_linear_
// INFO-DAG: sm_80 attune_matmul_
// INFO-DAG: sm_80 attune_mlp_up_
// INFO-DAG: sm_80 attune_mlp_down_
// INFO-DAG: sm_90a attune_mlp_down_{{[0-9a-f]+}}: {{[0-9]+}} registers, 0 bytes spill stores, 0 bytes spill loads

// The steps: rope and cross_entropy (mean) and mlp take two.
// STEPS: targets: {{.*}}cuda
// STEPS-LABEL: rope(
// STEPS: attune_cpu_rope_bf16
// STEPS-NEXT: gpu attune_rope_table_{{[0-9a-f]+}} grid {{[0-9]+}}x1x1 block 256x1x1
// STEPS-NEXT: gpu attune_rope_{{[0-9a-f]+}} grid
// STEPS-LABEL: cross_entropy(
// STEPS: gpu attune_cross_entropy_{{[0-9a-f]+}} grid 37x1x1 block 128x1x1
// STEPS-NEXT: gpu attune_cross_entropy_reduce_{{[0-9a-f]+}} grid 1x1x1 block 1024x1x1
// STEPS-LABEL: gemms(
// STEPS: gpu attune_linear_{{[0-9a-f]+}} grid 4x1x1 block 256x1x1
// STEPS: gpu attune_matmul_{{[0-9a-f]+}} grid 20x1x1 block 256x1x1
// STEPS: gpu attune_mlp_up_{{[0-9a-f]+}} grid 6x1x1 block 256x1x1
// STEPS-NEXT: gpu attune_mlp_down_{{[0-9a-f]+}} grid 4x1x1 block 256x1x1
// STEPS-LABEL: gemms_tc(
// STEPS: gpu attune_linear_{{[0-9a-f]+}} grid 4x1x1 block 128x1x1
// STEPS: gpu attune_matmul_{{[0-9a-f]+}} grid 2x1x1 block 128x1x1
