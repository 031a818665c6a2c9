// The example Llama-style block runs in the reference evaluator in both
// precisions, names its arguments as Hugging Face checkpoints do, and gives
// finite outputs of the block's shape; the two precisions agree to f32
// rounding in the leading digits.
// RUN: attune-ref %S/../../python-free-examples/llama_block/llama_block.mlir --signature | FileCheck %s --check-prefix=SIG
// RUN: attune-ref %S/../../python-free-examples/llama_block/llama_block.mlir --random-inputs 0 --input doc_ids=%S/../../python-free-examples/llama_block/doc_ids.npy --output-dir %t | FileCheck %s
// RUN: attune-ref %S/../../python-free-examples/llama_block/llama_block.mlir --random-inputs 0 --input doc_ids=%S/../../python-free-examples/llama_block/doc_ids.npy --precision native | FileCheck %s
// RUN: test -s %t/y.npy

// SIG: @llama_block
// SIG: arg    x: f32 [1, 64, 256]
// SIG: arg    doc_ids: i32 [1, 64]
// SIG: arg    self_attn.k_proj.weight: f32 [64, 256]
// SIG: arg    mlp.down_proj.weight: f32 [256, 688]
// SIG: result y: f32 [1, 64, 256]

// CHECK: y: f32 [1, 64, 256] mean -0.01641{{[0-9]*}} std 0.7725{{[0-9]*}} {{.*}} non-finite 0
// CHECK-NEXT: values: -0.30716{{[0-9]*}} -0.61347{{[0-9]*}}
