// The cuda target's attention kernel: FlashAttention-2 on tensor cores.
// Every kernel is assembled by ptxas for sm_80 and sm_90a without register
// spills at head dims 64 and 128, and the PTX has the tensor-core
// (mma.sync m16n8k16, ldmatrix) and async-copy (cp.async) instructions.
// REQUIRES: ptxas
// RUN: rm -rf %t && mkdir -p %t
// RUN: attune-compile %s -o %t/a.atm --target=cuda:sm_80,sm_90a --keep-temps %t -q
// RUN: FileCheck %s --check-prefix=PTX < %t/kernels.ptx
// RUN: %ptxas -v -arch=sm_80 %t/kernels.ptx -o %t/80.cubin 2>&1 | FileCheck %s --check-prefix=SPILLS
// RUN: %ptxas -v -arch=sm_90a %t/kernels.ptx -o %t/90.cubin 2>&1 | FileCheck %s --check-prefix=SPILLS
// RUN: attune-compile --print-info %t/a.atm | FileCheck %s --check-prefix=INFO
// The PTX interpreter (test/ptxemu) supports every instruction of it.
// RUN: ptxemu-load %t/kernels.ptx | FileCheck %s --check-prefix=EMU

// PTX-DAG: .visible .entry attune_attention_
// PTX-DAG: .visible .entry attune_doc_ranges_
// PTX-DAG: .visible .entry attune_doc_tiles_
// PTX-DAG: .visible .entry attune_lsh_sort_
// PTX-DAG: add.rn.f64
// PTX-DAG: mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32
// PTX-DAG: mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32
// PTX-DAG: ldmatrix.sync.aligned.m8n8.x4.shared.b16
// PTX-DAG: ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16
// PTX-DAG: cp.async.cg.shared.global
// PTX-DAG: cp.async.commit_group
// PTX-DAG: cp.async.wait_group
// PTX-DAG: ex2.approx.ftz.f32
// PTX-DAG: fma.rn.f32

// Twenty-four kernels (eleven attention, the two steps of the document
// mask's tile lists, LSH's hash, sort, gather and combine, the dilated
// branches' init, two gathers, three merges and finish), none spilling.
// SPILLS-COUNT-24: 0 bytes spill stores, 0 bytes spill loads
// EMU: kernels.ptx: loaded, 24 kernels
// SPILLS-NOT: bytes spill

// INFO: targets: cuda
// INFO: cubin sm_80
// INFO: cubin sm_90a
// INFO: ptx
// INFO-LABEL: causal128(
// INFO: gpu attune_attention_{{[0-9a-f]+}} grid 136x1x1 block 128x1x1 smem 69632
// INFO-LABEL: gqa64(
// INFO: gpu attune_attention_{{[0-9a-f]+}} grid 32x1x1 block 128x1x1 smem 36864
// INFO-LABEL: document128(
// INFO: gpu attune_doc_ranges_
// INFO-NEXT: gpu attune_doc_tiles_
// INFO-NEXT: gpu attune_attention_{{[0-9a-f]+}} grid 40x1x1 block 128x1x1 smem 69632
// A head dim of 256 splits the V columns over two CTAs per query tile.
// INFO-LABEL: wide256(
// INFO: gpu attune_attention_{{[0-9a-f]+}} grid 8x1x1 block 128x1x1 smem 118784
// LongNet's branches are passes of one kernel over one softmax state.
// INFO-LABEL: dilated64(
// The rate-1 branch attends in place; the rate-2 branch gathers the rows of
// each offset (heads 0, 2, 4, 6 and 1, 3, 5, 7: 4 heads of 128 rows) and
// attends within segments of 64 compact rows; each pass merges into one
// f32 mix, which the last step rounds.
// INFO: attune_cpu_dilated_attention_f16
// INFO-NEXT: gpu attune_dilated_init_
// INFO-NEXT: gpu attune_attention_{{[0-9a-f]+}} grid 32x1x1 block 128x1x1 smem 36864
// INFO-NEXT: gpu attune_dilated_merge_
// INFO-NEXT: gpu attune_dilated_gather_{{[0-9a-f]+}} grid 4x1x1
// INFO-NEXT: gpu attune_attention_[[COMPACT:[0-9a-f]+]] grid 8x1x1 block 128x1x1 smem 36864
// INFO-NEXT: gpu attune_dilated_merge_
// INFO-NEXT: gpu attune_dilated_gather_
// INFO-NEXT: gpu attune_attention_[[COMPACT]] grid 8x1x1
// INFO-NEXT: gpu attune_dilated_merge_
// INFO-NEXT: gpu attune_dilated_finish_
// INFO-LABEL: lsh64(
// INFO: gpu attune_lsh_hash_
// INFO-NEXT: gpu attune_lsh_sort_
// INFO-NEXT: gpu attune_lsh_gather_
// INFO-NEXT: gpu attune_attention_{{[0-9a-f]+}} grid 32x1x1 block 128x1x1 smem 36864
// INFO-NEXT: gpu attune_lsh_combine_
// INFO-LABEL: regions64(
// INFO: gpu attune_attention_{{[0-9a-f]+}} grid 4x1x1 block 128x1x1 smem 36864

func.func @causal128(%q: tensor<2x4x1025x128xbf16>, %k: tensor<2x4x1025x128xbf16>, %v: tensor<2x4x1025x128xbf16>) -> (tensor<2x4x1025x128xbf16>, tensor<2x4x1025xf32>) {
  %o, %l = attune.attention %q, %k, %v {mask = #attune.causal} : (tensor<2x4x1025x128xbf16>, tensor<2x4x1025x128xbf16>, tensor<2x4x1025x128xbf16>) -> (tensor<2x4x1025x128xbf16>, tensor<2x4x1025xf32>)
  return %o, %l : tensor<2x4x1025x128xbf16>, tensor<2x4x1025xf32>
}

// GQA 8:2 in f16, Lq != Lk.
func.func @gqa64(%q: tensor<2x8x113x64xf16>, %k: tensor<2x2x239x64xf16>, %v: tensor<2x2x239x64xf16>) -> (tensor<2x8x113x64xf16>, tensor<2x8x113xf32>) {
  %o, %l = attune.attention %q, %k, %v : (tensor<2x8x113x64xf16>, tensor<2x2x239x64xf16>, tensor<2x2x239x64xf16>) -> (tensor<2x8x113x64xf16>, tensor<2x8x113xf32>)
  return %o, %l : tensor<2x8x113x64xf16>, tensor<2x8x113xf32>
}

func.func @window128(%q: tensor<1x4x300x128xbf16>) -> (tensor<1x4x300x128xbf16>, tensor<1x4x300xf32>) {
  %o, %l = attune.attention %q, %q, %q {mask = #attune.sliding_window<left = 100, right = 0>} : (tensor<1x4x300x128xbf16>, tensor<1x4x300x128xbf16>, tensor<1x4x300x128xbf16>) -> (tensor<1x4x300x128xbf16>, tensor<1x4x300xf32>)
  return %o, %l : tensor<1x4x300x128xbf16>, tensor<1x4x300xf32>
}

func.func @document128(%q: tensor<2x4x300x128xbf16>, %ids: tensor<2x300xi32>) -> (tensor<2x4x300x128xbf16>, tensor<2x4x300xf32>) {
  %o, %l = attune.attention %q, %q, %q doc(%ids, %ids) {mask = #attune.and<[#attune.causal, #attune.document]>} : (tensor<2x4x300x128xbf16>, tensor<2x4x300x128xbf16>, tensor<2x4x300x128xbf16>, tensor<2x300xi32>, tensor<2x300xi32>) -> (tensor<2x4x300x128xbf16>, tensor<2x4x300xf32>)
  return %o, %l : tensor<2x4x300x128xbf16>, tensor<2x4x300xf32>
}

func.func @mods64(%q: tensor<1x4x113x64xbf16>) -> (tensor<1x4x113x64xbf16>, tensor<1x4x113xf32>) {
  %o, %l = attune.attention %q, %q, %q {mask = #attune.causal, score_mods = [#attune.softcap<5.000000e+01>, #attune.alibi]} : (tensor<1x4x113x64xbf16>, tensor<1x4x113x64xbf16>, tensor<1x4x113x64xbf16>) -> (tensor<1x4x113x64xbf16>, tensor<1x4x113xf32>)
  return %o, %l : tensor<1x4x113x64xbf16>, tensor<1x4x113xf32>
}

func.func @wide256(%q: tensor<1x2x100x256xbf16>) -> (tensor<1x2x100x256xbf16>, tensor<1x2x100xf32>) {
  %o, %l = attune.attention %q, %q, %q {mask = #attune.causal} : (tensor<1x2x100x256xbf16>, tensor<1x2x100x256xbf16>, tensor<1x2x100x256xbf16>) -> (tensor<1x2x100x256xbf16>, tensor<1x2x100xf32>)
  return %o, %l : tensor<1x2x100x256xbf16>, tensor<1x2x100xf32>
}

func.func @dilated64(%q: tensor<1x8x256x64xf16>, %k: tensor<1x8x256x64xf16>) -> (tensor<1x8x256x64xf16>, tensor<1x8x256xf32>) {
  %o, %l = attune.dilated_attention %q, %k, %k {causal, rates = array<i64: 1, 2>, segments = array<i64: 64, 128>} : (tensor<1x8x256x64xf16>, tensor<1x8x256x64xf16>, tensor<1x8x256x64xf16>) -> (tensor<1x8x256x64xf16>, tensor<1x8x256xf32>)
  return %o, %l : tensor<1x8x256x64xf16>, tensor<1x8x256xf32>
}

// Reformer LSH: hash (f64, no contraction), counting sort per round, gather,
// the attention kernel over the chunk pattern, unsort and combine by lse.
func.func @lsh64(%qk: tensor<1x4x239x64xbf16>, %v: tensor<1x4x239x64xbf16>) -> (tensor<1x4x239x64xbf16>, tensor<1x4x239xf32>) {
  %o, %l = attune.lsh_attention %qk, %v {causal, chunk_size = 32 : i64, num_buckets = 8 : i64, num_rounds = 2 : i64, seed = 42 : i64} : (tensor<1x4x239x64xbf16>, tensor<1x4x239x64xbf16>) -> (tensor<1x4x239x64xbf16>, tensor<1x4x239xf32>)
  return %o, %l : tensor<1x4x239x64xbf16>, tensor<1x4x239xf32>
}

// FlexAttention-style regions, inlined into the kernel: a band mask and a
// relative bias read from a captured table.
func.func @regions64(%q: tensor<1x2x113x64xbf16>, %rel: tensor<2x113xf32>) -> (tensor<1x2x113x64xbf16>, tensor<1x2x113xf32>) {
  %o, %l = attune.attention %q, %q, %q mask {
  ^bb0(%b: index, %h: index, %i: index, %j: index):
    %d = arith.subi %i, %j : index
    %c = arith.constant 9 : index
    %lt = arith.cmpi ult, %d, %c : index
    attune.yield %lt : i1
  } score {
  ^bb0(%s: f32, %b: index, %h: index, %i: index, %j: index):
    %x = tensor.extract %rel[%h, %j] : tensor<2x113xf32>
    %t = arith.addf %s, %x : f32
    attune.yield %t : f32
  } : (tensor<1x2x113x64xbf16>, tensor<1x2x113x64xbf16>, tensor<1x2x113x64xbf16>) -> (tensor<1x2x113x64xbf16>, tensor<1x2x113xf32>)
  return %o, %l : tensor<1x2x113x64xbf16>, tensor<1x2x113xf32>
}

// f32: the same kernel with SIMT dot products (mma.sync has no f32 form).
func.func @f32_128(%q: tensor<1x4x113x128xf32>, %k: tensor<1x2x239x128xf32>) -> (tensor<1x4x113x128xf32>, tensor<1x4x113xf32>) {
  %o, %l = attune.attention %q, %k, %k {mask = #attune.causal<bottom_right>} : (tensor<1x4x113x128xf32>, tensor<1x2x239x128xf32>, tensor<1x2x239x128xf32>) -> (tensor<1x4x113x128xf32>, tensor<1x4x113xf32>)
  return %o, %l : tensor<1x4x113x128xf32>, tensor<1x4x113xf32>
}
