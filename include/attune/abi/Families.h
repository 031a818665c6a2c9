/*===- Families.h - Parameter layouts of the CPU kernel families ---*- C -*-===//
 *
 * One section per family: its symbols, buffers (in order), ints and floats.
 * Semantics are those of include/attune/Reference/Kernels.h; the compiled
 * result must meet the tolerance rule of DESIGN.md section 6 against it.
 * All tensors are dense, row-major and contiguous. "T" is the family's
 * storage dtype (symbol suffix f32, bf16 or f16). Integer tensors carry
 * their width in an int parameter (32 or 64).
 *
 * The enums give the index of each int parameter; variable-length parts
 * follow the fixed ones in the order stated.
 *
 *===----------------------------------------------------------------------===*/

#ifndef ATTUNE_ABI_FAMILIES_H
#define ATTUNE_ABI_FAMILIES_H

#include "attune/abi/KernelABI.h"

/* Storage dtype codes, used where a family is not specialized by suffix. */
enum {
  ATTUNE_DT_F32 = 0,
  ATTUNE_DT_F16 = 1,
  ATTUNE_DT_BF16 = 2,
  ATTUNE_DT_F64 = 3,
  ATTUNE_DT_I32 = 4,
  ATTUNE_DT_I64 = 5,
  ATTUNE_DT_I1 = 6, /* one byte, 0 or 1 */
  ATTUNE_DT_I8 = 7,
  ATTUNE_DT_I16 = 8
};

/*===------------------------------------------------------------------------===
 * attention: attune_cpu_attention_{f32,bf16,f16}
 *   buffers: 0 q [B,Hq,Lq,D] T, 1 k [B,Hkv,Lk,D] T, 2 v [B,Hkv,Lk,Dv] T,
 *            3 out [B,Hq,Lq,Dv] T, 4 lse [B,Hq,Lq] f32,
 *            5 q_doc_ids [B,Lq] (optional), 6 kv_doc_ids [B,Lk] (optional),
 *            7 block map (optional): uint8 [MAP_HEADS, nQT, nKT] with
 *              nQT = ceil(Lq/BLOCK_Q), nKT = ceil(Lk/BLOCK_K); entry 0 =
 *              empty tile (skipped), 1 = partial (mask evaluated per
 *              element), 2 = full (no mask evaluated). MAP_HEADS is 1 (same
 *              for every head) or Hq. It covers the attribute mask only: the
 *              kernel still evaluates the mask hook on full tiles.
 *              Without it the kernel classifies tiles itself (BlockMap.h).
 *   ints:    see ATTUNE_ATTN_*; then MASK_LEN ints of mask program, then
 *            SCORE_LEN ints of score program.
 *   floats:  0 scale; then the floats the score program points at.
 *   hooks:   0 mask hook (attune_mask_hook) or NULL,
 *            1 score hook (attune_score_hook) or NULL.
 *   grid:    B * Hq * ceil(Lq / BLOCK_Q); items write disjoint query tiles.
 *
 * Mask program (prefix form, empty = every pair allowed):
 *   AND n <n terms> | OR n <n terms> | CAUSAL bottom_right
 *   | WINDOW left right bottom_right | GLOBAL n t_0 .. t_{n-1}
 *   | BLOCK_SPARSE block_q block_k heads nqb nkb <heads*nqb*nkb bytes as
 *     ints>   (heads = 0 for a [nqb,nkb] layout shared by all heads)
 *   | STRIDED stride | DILATED segment rate offset (offset -1: h % rate)
 *   | DOCUMENT | PREFIX_LM prefix
 * Score program: count, then per modification
 *   ALIBI first_float num_slopes (slopes in floats[first_float ..])
 *   | SOFTCAP float_index
 * applied in order, before the score hook.
 *===------------------------------------------------------------------------===*/
enum {
  ATTUNE_ATTN_B = 0,
  ATTUNE_ATTN_HQ,
  ATTUNE_ATTN_HKV,
  ATTUNE_ATTN_LQ,
  ATTUNE_ATTN_LK,
  ATTUNE_ATTN_D,
  ATTUNE_ATTN_DV,
  ATTUNE_ATTN_BLOCK_Q,
  ATTUNE_ATTN_BLOCK_K,
  ATTUNE_ATTN_DOC_BITS, /* 0 (no doc ids), 32 or 64 */
  ATTUNE_ATTN_MAP_HEADS, /* 0 (no block map), 1 or Hq */
  ATTUNE_ATTN_MASK_LEN,
  ATTUNE_ATTN_SCORE_LEN,
  ATTUNE_ATTN_NUM_FIXED
};
enum {
  ATTUNE_MASK_AND = 1,
  ATTUNE_MASK_OR = 2,
  ATTUNE_MASK_CAUSAL = 3,
  ATTUNE_MASK_WINDOW = 4,
  ATTUNE_MASK_GLOBAL = 5,
  ATTUNE_MASK_BLOCK_SPARSE = 6,
  ATTUNE_MASK_STRIDED = 7,
  ATTUNE_MASK_DILATED = 8,
  ATTUNE_MASK_DOCUMENT = 9,
  ATTUNE_MASK_PREFIX_LM = 10
};
enum { ATTUNE_SCORE_ALIBI = 1, ATTUNE_SCORE_SOFTCAP = 2 };
enum { ATTUNE_TILE_EMPTY = 0, ATTUNE_TILE_PARTIAL = 1, ATTUNE_TILE_FULL = 2 };
/* Limits of the CPU families; attune-compile refuses models beyond them. */
#define ATTUNE_CPU_MAX_HEAD_DIM 1024      /* D and Dv of the attention families */
#define ATTUNE_CPU_MAX_SCORE_MODS 16      /* named score modifications */
#define ATTUNE_CPU_MAX_DILATED_BRANCHES 64
#define ATTUNE_CPU_MAX_RANK 16            /* binary, reduce, transpose */
/* The tile sizes attune-compile asks for (and builds block maps with). */
#define ATTUNE_CPU_ATTN_BLOCK_Q 64
#define ATTUNE_CPU_ATTN_BLOCK_K 64

/*===------------------------------------------------------------------------===
 * dilated attention (LongNet): attune_cpu_dilated_attention_{f32,bf16,f16}
 *   buffers: 0 q, 1 k, 2 v, 3 out, 4 lse (as attention)
 *   ints:    B Hq Hkv Lq Lk D Dv causal num_branches, then num_branches
 *            segments, then num_branches rates
 *   floats:  0 scale
 *===------------------------------------------------------------------------===*/
enum {
  ATTUNE_DIL_B = 0,
  ATTUNE_DIL_HQ,
  ATTUNE_DIL_HKV,
  ATTUNE_DIL_LQ,
  ATTUNE_DIL_LK,
  ATTUNE_DIL_D,
  ATTUNE_DIL_DV,
  ATTUNE_DIL_CAUSAL,
  ATTUNE_DIL_NUM_BRANCHES,
  ATTUNE_DIL_NUM_FIXED
};

/*===------------------------------------------------------------------------===
 * LSH attention (Reformer): attune_cpu_lsh_attention_{f32,bf16,f16}
 *   buffers: 0 qk [B,H,L,D] T, 1 v [B,H,L,Dv] T, 2 out [B,H,L,Dv] T,
 *            3 lse [B,H,L] f32, 4 rotations [rounds, D, nb/2] T (optional)
 *   ints:    B H L D Dv num_buckets num_rounds chunk_size seed (the uint64
 *            seed's bits) causal
 *   floats:  0 scale
 *   Buckets are hashed in f64 exactly as the reference does.
 *===------------------------------------------------------------------------===*/
enum {
  ATTUNE_LSH_B = 0,
  ATTUNE_LSH_H,
  ATTUNE_LSH_L,
  ATTUNE_LSH_D,
  ATTUNE_LSH_DV,
  ATTUNE_LSH_NUM_BUCKETS,
  ATTUNE_LSH_NUM_ROUNDS,
  ATTUNE_LSH_CHUNK,
  ATTUNE_LSH_SEED,
  ATTUNE_LSH_CAUSAL,
  ATTUNE_LSH_NUM_FIXED
};

/*===------------------------------------------------------------------------===
 * linear: attune_cpu_linear_{f32,bf16,f16}    y[M,N] = x[M,K] w[N,K]^T + b[N]
 *   buffers: 0 x, 1 w, 2 bias (optional), 3 y
 *   ints:    M N K
 * matmul: attune_cpu_matmul_{f32,bf16,f16}    y[..,M,N] = a[..,M,K] b[..,K,N]
 *   buffers: 0 a, 1 b, 2 y
 *   ints:    M N K nbatch, then nbatch output batch extents, then nbatch
 *            a strides, then nbatch b strides (elements; 0 = broadcast)
 * mlp: attune_cpu_mlp_{f32,bf16,f16}
 *   buffers: 0 x [M,Din], 1 w_up [F,Din], 2 w_down [Dout,F],
 *            3 w_gate [F,Din] (optional), 4 b_up [F] (optional),
 *            5 b_down [Dout] (optional), 6 y [M,Dout]
 *   ints:    M Din F Dout activation (0 silu, 1 gelu, 2 gelu_tanh, 3 relu)
 *            gated (0/1)
 *===------------------------------------------------------------------------===*/
enum { ATTUNE_LIN_M = 0, ATTUNE_LIN_N, ATTUNE_LIN_K, ATTUNE_LIN_NUM_FIXED };
enum {
  ATTUNE_MM_M = 0,
  ATTUNE_MM_N,
  ATTUNE_MM_K,
  ATTUNE_MM_NBATCH,
  ATTUNE_MM_NUM_FIXED
};
enum {
  ATTUNE_MLP_M = 0,
  ATTUNE_MLP_DIN,
  ATTUNE_MLP_F,
  ATTUNE_MLP_DOUT,
  ATTUNE_MLP_ACT,
  ATTUNE_MLP_GATED,
  ATTUNE_MLP_NUM_FIXED
};
enum {
  ATTUNE_ACT_SILU = 0,
  ATTUNE_ACT_GELU = 1,
  ATTUNE_ACT_GELU_TANH = 2,
  ATTUNE_ACT_RELU = 3
};

/*===------------------------------------------------------------------------===
 * Row families (x viewed as [rows, D] over the last dim):
 * rms_norm: attune_cpu_rms_norm_{f32,bf16,f16}
 *   buffers: 0 x, 1 weight [D] (optional), 2 y; ints: rows D; floats: eps
 * layer_norm: attune_cpu_layer_norm_{f32,bf16,f16}
 *   buffers: 0 x, 1 weight (optional), 2 bias (optional), 3 y
 *   ints: rows D; floats: eps
 * softmax: attune_cpu_softmax_{f32,bf16,f16} over the middle dim of
 *   x viewed as [outer, axis, inner]
 *   buffers: 0 x, 1 y; ints: outer axis inner
 * cross_entropy: attune_cpu_cross_entropy_{f32,bf16,f16}
 *   buffers: 0 logits [N,C], 1 labels [N], 2 loss ([N] or [])
 *   ints: N C label_bits ignore_index reduction (0 none, 1 mean, 2 sum)
 *   A label outside [0, C) that is not ignore_index: OUT_OF_RANGE naming
 *   the row and the label.
 *===------------------------------------------------------------------------===*/
enum { ATTUNE_ROW_ROWS = 0, ATTUNE_ROW_D, ATTUNE_ROW_NUM_FIXED };
enum {
  ATTUNE_SMAX_OUTER = 0,
  ATTUNE_SMAX_AXIS,
  ATTUNE_SMAX_INNER,
  ATTUNE_SMAX_NUM_FIXED
};
enum {
  ATTUNE_CE_N = 0,
  ATTUNE_CE_C,
  ATTUNE_CE_LABEL_BITS,
  ATTUNE_CE_IGNORE,
  ATTUNE_CE_REDUCTION,
  ATTUNE_CE_NUM_FIXED
};

/*===------------------------------------------------------------------------===
 * rope: attune_cpu_rope_{f32,bf16,f16}, x viewed as [N0, L, D]
 *   buffers: 0 x, 1 positions (optional: [L] or [B, L]), 2 y
 *   ints: N0 L D B pos_kind (0 none, 1 [L], 2 [B,L]; batch of row n0 is
 *         n0 / (N0 / B)) pos_bits interleaved rotary_dim (even, 0 < rd <= D)
 *   floats: theta
 * embedding: attune_cpu_embedding_{f32,bf16,f16}
 *   buffers: 0 ids [N], 1 table [V, D], 2 y [N, D]
 *   ints: N V D id_bits. An id outside [0, V): OUT_OF_RANGE naming the
 *   position and the id.
 *===------------------------------------------------------------------------===*/
enum {
  ATTUNE_ROPE_N0 = 0,
  ATTUNE_ROPE_L,
  ATTUNE_ROPE_D,
  ATTUNE_ROPE_B,
  ATTUNE_ROPE_POS_KIND,
  ATTUNE_ROPE_POS_BITS,
  ATTUNE_ROPE_INTERLEAVED,
  ATTUNE_ROPE_ROTARY_DIM,
  ATTUNE_ROPE_NUM_FIXED
};
enum {
  ATTUNE_EMB_N = 0,
  ATTUNE_EMB_V,
  ATTUNE_EMB_D,
  ATTUNE_EMB_ID_BITS,
  ATTUNE_EMB_NUM_FIXED
};

/*===------------------------------------------------------------------------===
 * Elementwise:
 * unary: attune_cpu_unary_{f32,bf16,f16}
 *   buffers: 0 x, 1 y; ints: n kind (order of ref::UnaryKind: neg exp log
 *   tanh sqrt rsqrt sigmoid abs silu gelu gelu_tanh relu)
 * binary: attune_cpu_binary_{f32,bf16,f16} with NumPy broadcasting
 *   buffers: 0 a, 1 b, 2 y
 *   ints: kind (order of ref::BinaryKind: add sub mul div max min pow) rank,
 *         then rank output dims, rank a strides, rank b strides (elements,
 *         0 where broadcast)
 * reduce: attune_cpu_reduce_{f32,bf16,f16}
 *   buffers: 0 x, 1 y
 *   ints: kind (sum mean max) rank, then rank input dims, then rank flags
 *         (1 = reduced axis)
 *===------------------------------------------------------------------------===*/
enum { ATTUNE_UN_N = 0, ATTUNE_UN_KIND, ATTUNE_UN_NUM_FIXED };
enum { ATTUNE_BIN_KIND = 0, ATTUNE_BIN_RANK, ATTUNE_BIN_NUM_FIXED };
enum { ATTUNE_RED_KIND = 0, ATTUNE_RED_RANK, ATTUNE_RED_NUM_FIXED };

/*===------------------------------------------------------------------------===
 * Data movement (no dtype suffix; element size or dtype codes in ints):
 * attune_cpu_cast: buffers 0 x, 1 y; ints: n from_dtype to_dtype
 *   (ATTUNE_DT_*; rounds to nearest even, as ref::cast)
 * attune_cpu_transpose: buffers 0 x, 1 y; ints: elem_bytes rank, then rank
 *   input dims, then rank perm entries (y.shape[i] = x.shape[perm[i]])
 * attune_cpu_concat: buffers 0..n-1 inputs, n y; ints: elem_bytes n outer
 *   inner, then n axis extents (x_i viewed as [outer, extent_i, inner])
 * attune_cpu_slice: buffers 0 x, 1 y; ints: elem_bytes outer axis inner
 *   start size
 * attune_cpu_copy: buffers 0 x, 1 y; ints: bytes
 *===------------------------------------------------------------------------===*/
enum { ATTUNE_CAST_N = 0, ATTUNE_CAST_FROM, ATTUNE_CAST_TO };
enum { ATTUNE_TR_ELEM = 0, ATTUNE_TR_RANK, ATTUNE_TR_NUM_FIXED };
enum {
  ATTUNE_CAT_ELEM = 0,
  ATTUNE_CAT_N,
  ATTUNE_CAT_OUTER,
  ATTUNE_CAT_INNER,
  ATTUNE_CAT_NUM_FIXED
};
enum {
  ATTUNE_SL_ELEM = 0,
  ATTUNE_SL_OUTER,
  ATTUNE_SL_AXIS,
  ATTUNE_SL_INNER,
  ATTUNE_SL_START,
  ATTUNE_SL_SIZE
};
enum { ATTUNE_COPY_BYTES = 0 };

#endif /* ATTUNE_ABI_FAMILIES_H */
