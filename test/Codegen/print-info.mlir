// attune-compile lowers the example block to one launch per op that does
// work (reshape aliases its input, so it launches nothing), with the static
// causal+document mask left for the kernel to classify (document ids are
// data) and an arena smaller than the sum of the intermediates.
// RUN: attune-compile %S/../../python-free-examples/llama_block/llama_block.mlir -o %t.atm -q
// RUN: attune-compile --print-info %t.atm | FileCheck %s

// CHECK: Attune artifact, format 1.
// CHECK: targets: cpu
// CHECK: cpu arch: x86-64-v3
// CHECK: metadata
// CHECK: cpu shared object
// CHECK: llama_block(x: f32[1, 64, 256], doc_ids: i32[1, 64], input_layernorm.weight: f32[256]
// CHECK-SAME: -> (y: f32[1, 64, 256])
// CHECK-NEXT: 16 launches, {{[0-9]+}} values, arena 196608 bytes
// CHECK: attune_cpu_rms_norm_f32 (attune.rms_norm at {{.*}}llama_block.mlir:
// CHECK: attune_cpu_linear_f32
// CHECK: attune_cpu_transpose
// CHECK: attune_cpu_rope_f32
// CHECK: attune_cpu_attention_f32 (attune.attention at
// CHECK: attune_cpu_binary_f32 (attune.add at
// CHECK: attune_cpu_mlp_f32
