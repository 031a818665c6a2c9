//===- Attention.cpp - attune_cpu_attention_{f32,bf16,f16} -----------------===//
//
// FlashAttention-2 on the CPU (include/attune/abi/Families.h, attention
// section). One work item = (batch, query head, query tile of BLOCK_Q rows).
// Per item: the Q tile is converted to f32 and pre-scaled, K/V tiles of
// BLOCK_K keys are streamed; K tiles are packed once per (batch, kv head)
// and call into 16-column panels (reused by every query tile and every query
// head of a GQA group the call covers), S = Q K^T and O += P V run on 6x16
// AVX2 FMA register blocks, the softmax is online in f32. Empty tiles (block
// map from buffer 7, else classified by BlockMap.h) are skipped; the mask is
// evaluated on partial tiles only; the mask hook on every non-empty tile.
//
//===----------------------------------------------------------------------===//

#include "AttentionCore.h"
#include "AttentionParams.h"

#include <type_traits>
#include <vector>

namespace attune::cpu::attn {
namespace {

template <typename T>
int runAttention(const attune_kernel_args *a, attune_kernel_ctx *ctx,
                 int64_t begin, int64_t end) {
  AttnParams p;
  if (int rc = parseAttention(a, sizeof(T), p, ctx->error, ctx->error_capacity))
    return rc;
  if (begin < 0 || end > p.grid || begin > end)
    return formatError(ctx->error, ctx->error_capacity,
                       ATTUNE_KERNEL_INVALID_ARGUMENT,
                       "attention: range [%lld, %lld) outside grid %lld",
                       (long long)begin, (long long)end, (long long)p.grid);
  if (begin == end)
    return ATTUNE_KERNEL_OK;

  const int64_t Hq = p.Hq, Hkv = p.Hkv, Lq = p.Lq, Lk = p.Lk, D = p.D,
                Dv = p.Dv, BQ = p.BQ, BK = p.BK, nQT = p.nQT, nKT = p.nKT;
  const T *qb = static_cast<const T *>(a->buffers[0]);
  const T *kb = static_cast<const T *>(a->buffers[1]);
  const T *vb = static_cast<const T *>(a->buffers[2]);
  T *ob = static_cast<T *>(a->buffers[3]);
  float *lseb = static_cast<float *>(a->buffers[4]);
  const uint8_t *map =
      p.mapHeads > 0 ? static_cast<const uint8_t *>(a->buffers[7]) : nullptr;
  abi::DocIds docs;
  const abi::DocIds *docp = nullptr;
  if (p.docBits) {
    docs.q = a->buffers[5];
    docs.k = a->buffers[6];
    docs.bits = p.docBits;
    docs.lq = Lq;
    docs.lk = Lk;
    docp = &docs;
  }
  attune_mask_hook maskHook =
      a->num_hooks > 0 ? reinterpret_cast<attune_mask_hook>(a->hooks[0]) : nullptr;
  attune_score_hook scoreHook =
      a->num_hooks > 1 ? reinterpret_cast<attune_score_hook>(a->hooks[1]) : nullptr;

  const int64_t group = Hq / Hkv;
  const int64_t panelsT = roundUp(BK, kPanel) / kPanel, nkpT = panelsT * kPanel;
  const int64_t Dvp = roundUp(Dv, 8);
  const bool vDirect = std::is_same<T, float>::value && Dv % 8 == 0;
  const int64_t ldv = vDirect ? Dv : Dvp;
  const int64_t tileK = panelsT * kPanel * D, tileV = BK * Dvp;
  // Packed K/V tiles of the current (batch, kv head), up to ~16 MiB.
  const int64_t budget = int64_t(4) << 20;
  int64_t cacheTiles = std::max<int64_t>(
      1, std::min<int64_t>(nKT, budget / std::max<int64_t>(1, tileK + (vDirect ? 0 : tileV))));
  float *kCache = arena(0, static_cast<size_t>(cacheTiles * tileK));
  float *vCache = vDirect ? nullptr : arena(1, static_cast<size_t>(cacheTiles * tileV));
  // Per-item scratch: Q, S, O, m, l, packing tmp, then bytes.
  const size_t nQ = BQ * std::max<int64_t>(D, 1), nS = BQ * nkpT, nO = BQ * Dvp;
  float *item = arena(2, nQ + nS + nO + 3 * BQ + 16 * std::max<int64_t>(D, 1) +
                             (BQ + nkpT + 64) / 4 + 64);
  if (!kCache || (!vDirect && !vCache) || !item)
    return formatError(ctx->error, ctx->error_capacity, ATTUNE_KERNEL_INTERNAL,
                       "attention: out of memory for scratch");
  float *Qf = item, *S = Qf + nQ, *O = S + nS, *mRow = O + nO, *lRow = mRow + BQ,
        *alpha = lRow + BQ, *tmp = alpha + BQ;
  uint8_t *nanRow = reinterpret_cast<uint8_t *>(tmp + 16 * std::max<int64_t>(D, 1));
  uint8_t *mb = nanRow + BQ;
  std::vector<int64_t> tags(static_cast<size_t>(cacheTiles), -1);
  // Fast path of the commonest masks: one CAUSAL or WINDOW term.
  bool band = false;
  int64_t bandOff = 0, bandLeft = -1, bandRight = 0;
  if (!p.mask.empty()) {
    const abi::MaskNode &root = p.mask.nodes[0];
    if (root.kind == ATTUNE_MASK_CAUSAL) {
      band = true;
      bandOff = root.a ? Lk - Lq : 0;
    } else if (root.kind == ATTUNE_MASK_WINDOW) {
      band = true;
      bandOff = root.c ? Lk - Lq : 0;
      bandLeft = root.a;
      bandRight = root.b;
    }
  }

  for (int64_t it = begin; it < end; ++it) {
    const int64_t qt = it % nQT, bh = it / nQT, h = bh % Hq, b = bh / Hq;
    const int64_t kvh = h / group;
    const int64_t q0 = qt * BQ, nq = std::min(BQ, Lq - q0);
    const T *qrow = qb + ((b * Hq + h) * Lq + q0) * D;
    for (int64_t i = 0; i < nq; ++i)
      loadRow<T>(qrow + i * D, Qf + i * D, D, p.scalef);
    for (int64_t i = 0; i < nq; ++i) {
      mRow[i] = kNegInf;
      lRow[i] = 0.0f;
      nanRow[i] = 0;
    }
    std::memset(O, 0, sizeof(float) * static_cast<size_t>(nq * Dvp));
    float slopes[kMaxScoreMods];
    for (int64_t s = 0; s < p.numMods; ++s)
      slopes[s] = p.mods[s].kind == ATTUNE_SCORE_ALIBI ? p.slope(s, h, a->floats) : 0.0f;
    const int64_t kvBase = (b * Hkv + kvh) * Lk;
    const int64_t qAlign = Lk - Lq;

    for (int64_t kt = 0; kt < nKT; ++kt) {
      const int64_t k0 = kt * BK, nk = std::min(BK, Lk - k0);
      int cls;
      if (map) {
        cls = map[((p.mapHeads == 1 ? 0 : h) * nQT + qt) * nKT + kt];
        if (cls > ATTUNE_TILE_FULL)
          cls = ATTUNE_TILE_PARTIAL;
      } else {
        cls = abi::classifyTile(p.mask, b, h, q0, q0 + nq, k0, k0 + nk, Lq, Lk,
                                docp);
      }
      if (cls == ATTUNE_TILE_EMPTY)
        continue;
      const int64_t np = roundUp(nk, kPanel) / kPanel, nkp = np * kPanel;
      // The packed tile (cached per batch, kv head and call).
      const int64_t slot = kt % cacheTiles, tag = kvBase / Lk * nKT + kt;
      float *Kp = kCache + slot * tileK;
      float *Vp = vDirect ? nullptr : vCache + slot * tileV;
      if (tags[static_cast<size_t>(slot)] != tag) {
        packK<T>(kb + (kvBase + k0) * D, D, nk, nullptr, Kp, tmp);
        if (!vDirect)
          packV<T>(vb + (kvBase + k0) * Dv, Dv, nk, nullptr, Vp, Dvp);
        tags[static_cast<size_t>(slot)] = tag;
      }
      const float *Vt = vDirect ? reinterpret_cast<const float *>(vb) + (kvBase + k0) * Dv : Vp;

      gemmQK(Qf, D, nq, D, Kp, np, S, nkpT);
      for (int64_t i = 0; i < nq; ++i) {
        float *s = S + i * nkpT;
        const int64_t q = q0 + i;
        for (int64_t m = 0; m < p.numMods; ++m) {
          if (p.mods[m].kind == ATTUNE_SCORE_ALIBI) {
            const float sl = slopes[m];
            const int64_t qa = q + qAlign - k0;
            for (int64_t j = 0; j < nk; ++j) {
              int64_t dd = qa - j;
              s[j] -= sl * static_cast<float>(dd < 0 ? -dd : dd);
            }
          } else {
            const float cap = p.mods[m].cap;
            for (int64_t j = 0; j < nk; ++j)
              s[j] = cap * std::tanh(s[j] / cap);
          }
        }
        if (scoreHook)
          scoreHook(a->captures, s, b, h, q, k0, nk);
        if (cls == ATTUNE_TILE_PARTIAL) {
          if (band) {
            // A lone causal/window term: allowed keys are one interval
            // [jlo, jhi] of the tile (saturating: left/right may be huge).
            const int64_t rel = q + bandOff - k0; // aligned q minus k0
            int64_t jlo = 0, jhi = nk - 1;
            if (bandLeft >= 0 && bandLeft < rel)
              jlo = rel - bandLeft;
            if (bandRight < nk - 1 - rel)
              jhi = rel + bandRight;
            const int64_t a0 = std::min(jlo, nk), a1 = std::max<int64_t>(jhi + 1, 0);
            for (int64_t j = 0; j < a0; ++j)
              s[j] = kNegInf;
            for (int64_t j = std::max(a1, a0); j < nk; ++j)
              s[j] = kNegInf;
          } else {
            abi::rowMask(p.mask, b, h, q, k0, nk, Lq, Lk, docp, mb);
            for (int64_t j = 0; j < nk; ++j)
              s[j] = mb[j] ? s[j] : kNegInf;
          }
        }
        if (maskHook) {
          maskHook(a->captures, b, h, q, k0, nk, mb);
          for (int64_t j = 0; j < nk; ++j)
            s[j] = mb[j] ? s[j] : kNegInf;
        }
        for (int64_t j = nk; j < nkp; ++j)
          s[j] = kNegInf;
      }
      if (softmaxRows(S, nkpT, nq, nkp, mRow, lRow, alpha, nanRow))
        gemmPV(S, nkpT, nq, nk, Vt, ldv, Dvp, O, Dvp, alpha);
    }
    T *orow = ob + ((b * Hq + h) * Lq + q0) * Dv;
    float *lrow = lseb + (b * Hq + h) * Lq + q0;
    for (int64_t i = 0; i < nq; ++i)
      finishRow<T>(O + i * Dvp, Dv, mRow[i], lRow[i], nanRow[i], orow + i * Dv,
                   lrow + i);
  }
  return ATTUNE_KERNEL_OK;
}

template <typename T>
int checkAttention(const attune_kernel_args *a, int64_t *grid, char *error,
                   size_t capacity) {
  AttnParams p;
  if (int rc = parseAttention(a, sizeof(T), p, error, capacity))
    return rc;
  if (grid)
    *grid = p.grid;
  return ATTUNE_KERNEL_OK;
}

} // namespace
} // namespace attune::cpu::attn

using namespace attune::cpu;
using namespace attune::cpu::attn;

ATTUNE_EXPORT_TYPED(attention, runAttention, checkAttention)
