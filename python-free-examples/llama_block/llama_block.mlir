// A Llama-style decoder block (Llama 3 conventions at a small size):
// RMSNorm -> q/k/v projections -> RoPE (theta 500000) -> grouped-query
// attention (8 query heads over 2 key/value heads) under a causal and
// document mask -> output projection -> residual -> RMSNorm -> SwiGLU MLP ->
// residual. Weights carry Hugging Face Llama names so a safetensors
// checkpoint binds without renaming.
//
//   attune-ref llama_block.mlir --random-inputs 0 --input doc_ids=doc_ids.npy

func.func @llama_block(
    %x: tensor<1x64x256xf32> {attune.name = "x"},
    %doc_ids: tensor<1x64xi32> {attune.name = "doc_ids"},
    %attn_norm: tensor<256xf32> {attune.name = "input_layernorm.weight"},
    %wq: tensor<256x256xf32> {attune.name = "self_attn.q_proj.weight"},
    %wk: tensor<64x256xf32> {attune.name = "self_attn.k_proj.weight"},
    %wv: tensor<64x256xf32> {attune.name = "self_attn.v_proj.weight"},
    %wo: tensor<256x256xf32> {attune.name = "self_attn.o_proj.weight"},
    %mlp_norm: tensor<256xf32> {attune.name = "post_attention_layernorm.weight"},
    %w_gate: tensor<688x256xf32> {attune.name = "mlp.gate_proj.weight"},
    %w_up: tensor<688x256xf32> {attune.name = "mlp.up_proj.weight"},
    %w_down: tensor<256x688xf32> {attune.name = "mlp.down_proj.weight"})
    -> (tensor<1x64x256xf32> {attune.name = "y"}) {
  %h = attune.rms_norm %x weight %attn_norm {epsilon = 1.0e-05 : f64}
    : (tensor<1x64x256xf32>, tensor<256xf32>) -> tensor<1x64x256xf32>

  // Projections, split into heads: [B, L, H*D] -> [B, H, L, D].
  %q0 = attune.linear %h, %wq
    : (tensor<1x64x256xf32>, tensor<256x256xf32>) -> tensor<1x64x256xf32>
  %k0 = attune.linear %h, %wk
    : (tensor<1x64x256xf32>, tensor<64x256xf32>) -> tensor<1x64x64xf32>
  %v0 = attune.linear %h, %wv
    : (tensor<1x64x256xf32>, tensor<64x256xf32>) -> tensor<1x64x64xf32>
  %q1 = attune.reshape %q0 : tensor<1x64x256xf32> to tensor<1x64x8x32xf32>
  %k1 = attune.reshape %k0 : tensor<1x64x64xf32> to tensor<1x64x2x32xf32>
  %v1 = attune.reshape %v0 : tensor<1x64x64xf32> to tensor<1x64x2x32xf32>
  %q2 = attune.transpose %q1 {permutation = array<i64: 0, 2, 1, 3>}
    : (tensor<1x64x8x32xf32>) -> tensor<1x8x64x32xf32>
  %k2 = attune.transpose %k1 {permutation = array<i64: 0, 2, 1, 3>}
    : (tensor<1x64x2x32xf32>) -> tensor<1x2x64x32xf32>
  %v = attune.transpose %v1 {permutation = array<i64: 0, 2, 1, 3>}
    : (tensor<1x64x2x32xf32>) -> tensor<1x2x64x32xf32>

  %q = attune.rope %q2 {theta = 500000.0 : f64}
    : (tensor<1x8x64x32xf32>) -> tensor<1x8x64x32xf32>
  %k = attune.rope %k2 {theta = 500000.0 : f64}
    : (tensor<1x2x64x32xf32>) -> tensor<1x2x64x32xf32>

  %attn, %lse = attune.attention %q, %k, %v doc(%doc_ids, %doc_ids)
      {mask = #attune.and<[#attune.causal, #attune.document]>}
    : (tensor<1x8x64x32xf32>, tensor<1x2x64x32xf32>, tensor<1x2x64x32xf32>,
       tensor<1x64xi32>, tensor<1x64xi32>)
    -> (tensor<1x8x64x32xf32>, tensor<1x8x64xf32>)

  // Merge heads and project: [B, H, L, D] -> [B, L, H*D].
  %o1 = attune.transpose %attn {permutation = array<i64: 0, 2, 1, 3>}
    : (tensor<1x8x64x32xf32>) -> tensor<1x64x8x32xf32>
  %o2 = attune.reshape %o1 : tensor<1x64x8x32xf32> to tensor<1x64x256xf32>
  %o = attune.linear %o2, %wo
    : (tensor<1x64x256xf32>, tensor<256x256xf32>) -> tensor<1x64x256xf32>
  %x2 = attune.add %x, %o
    : (tensor<1x64x256xf32>, tensor<1x64x256xf32>) -> tensor<1x64x256xf32>

  %h2 = attune.rms_norm %x2 weight %mlp_norm {epsilon = 1.0e-05 : f64}
    : (tensor<1x64x256xf32>, tensor<256xf32>) -> tensor<1x64x256xf32>
  %m = attune.mlp %h2, %w_up, %w_down gate %w_gate
      {activation = #attune.activation<silu>}
    : (tensor<1x64x256xf32>, tensor<688x256xf32>, tensor<256x688xf32>,
       tensor<688x256xf32>) -> tensor<1x64x256xf32>
  %y = attune.add %x2, %m
    : (tensor<1x64x256xf32>, tensor<1x64x256xf32>) -> tensor<1x64x256xf32>
  return %y : tensor<1x64x256xf32>
}
