//===- AttentionParams.h - Parameter checks of the attention family -*- C++ -*-===//
//
// parseAttention() is the whole of attune_cpu_attention_*_check: every
// parameter against the buffer sizes (overflow-safe), the mask program
// (BlockMap.h decoder) and the score program; the kernel runs it again so
// that it never trusts an unchecked launch.
//
//===----------------------------------------------------------------------===//

#ifndef ATTUNE_CPU_KERNELS_ATTENTIONPARAMS_H
#define ATTUNE_CPU_KERNELS_ATTENTIONPARAMS_H

#include "AttentionCore.h"
#include "attune/abi/BlockMap.h"

#include <cmath>
#include <string>

namespace attune::cpu::attn {

constexpr int64_t kMaxScoreMods = ATTUNE_CPU_MAX_SCORE_MODS;

struct ScoreModP {
  int64_t kind = 0;
  int64_t first = 0, n = 0; ///< ALiBi: slopes at floats[first .. first+n)
  float cap = 0;            ///< softcap
};

/// The ALiBi paper's slope of head h of H (ref::alibiSlopes).
inline double alibiSlope(int64_t H, int64_t h) {
  int64_t n = 1;
  while (n * 2 <= H)
    n *= 2;
  if (h < n)
    return std::exp2(-8.0 * static_cast<double>(h + 1) / static_cast<double>(n));
  int64_t i = 2 * (h - n);
  return std::exp2(-8.0 * static_cast<double>(i + 1) /
                   static_cast<double>(2 * n));
}

struct AttnParams {
  int64_t B = 0, Hq = 0, Hkv = 0, Lq = 0, Lk = 0, D = 0, Dv = 0, BQ = 0, BK = 0;
  int64_t docBits = 0, mapHeads = 0, nQT = 0, nKT = 0, grid = 0;
  float scalef = 0;
  abi::MaskProgram mask;
  ScoreModP mods[kMaxScoreMods];
  int64_t numMods = 0;
  float slope(int64_t m, int64_t h, const double *floats) const {
    const ScoreModP &s = mods[m];
    return static_cast<float>(s.n == 0 ? alibiSlope(Hq, h) : floats[s.first + h]);
  }
};

/// Buffer i holds at least elems * bytes (an empty tensor may be absent).
inline bool holdsOrEmpty(const attune_kernel_args *a, int64_t i, int64_t elems,
                         int64_t bytes) {
  if (elems == 0)
    return true;
  return holds(a, i, elems, bytes);
}

inline bool mul3(int64_t a, int64_t b, int64_t c, int64_t &out) {
  int64_t t;
  return mulSize(a, b, t) && mulSize(t, c, out);
}
inline bool mul4(int64_t a, int64_t b, int64_t c, int64_t d, int64_t &out) {
  int64_t t;
  return mul3(a, b, c, t) && mulSize(t, d, out);
}

inline int parseAttention(const attune_kernel_args *a, int64_t elemBytes,
                          AttnParams &p, char *err, size_t cap) {
  const int bad = ATTUNE_KERNEL_INVALID_ARGUMENT;
  if (!a)
    return formatError(err, cap, bad, "attention: no arguments");
  if (a->num_ints < ATTUNE_ATTN_NUM_FIXED || !a->ints)
    return formatError(err, cap, bad,
                       "attention: %lld ints; expected at least %d fixed ones",
                       (long long)a->num_ints, (int)ATTUNE_ATTN_NUM_FIXED);
  const int64_t *I = a->ints;
  p.B = I[ATTUNE_ATTN_B];
  p.Hq = I[ATTUNE_ATTN_HQ];
  p.Hkv = I[ATTUNE_ATTN_HKV];
  p.Lq = I[ATTUNE_ATTN_LQ];
  p.Lk = I[ATTUNE_ATTN_LK];
  p.D = I[ATTUNE_ATTN_D];
  p.Dv = I[ATTUNE_ATTN_DV];
  p.BQ = I[ATTUNE_ATTN_BLOCK_Q];
  p.BK = I[ATTUNE_ATTN_BLOCK_K];
  p.docBits = I[ATTUNE_ATTN_DOC_BITS];
  p.mapHeads = I[ATTUNE_ATTN_MAP_HEADS];
  const int64_t maskLen = I[ATTUNE_ATTN_MASK_LEN], scoreLen = I[ATTUNE_ATTN_SCORE_LEN];
  if (maskLen < 0 || scoreLen < 0 ||
      maskLen > a->num_ints - ATTUNE_ATTN_NUM_FIXED ||
      scoreLen != a->num_ints - ATTUNE_ATTN_NUM_FIXED - maskLen)
    return formatError(err, cap, bad,
                       "attention: MASK_LEN = %lld, SCORE_LEN = %lld do not "
                       "match %lld ints (expected %d + MASK_LEN + SCORE_LEN)",
                       (long long)maskLen, (long long)scoreLen,
                       (long long)a->num_ints, (int)ATTUNE_ATTN_NUM_FIXED);
  if (p.B < 0 || p.Hq < 0 || p.Lq < 0 || p.Lk < 0 || p.D < 0 || p.Dv < 0)
    return formatError(err, cap, bad,
                       "attention: negative dim (B %lld, Hq %lld, Lq %lld, Lk "
                       "%lld, D %lld, Dv %lld)",
                       (long long)p.B, (long long)p.Hq, (long long)p.Lq,
                       (long long)p.Lk, (long long)p.D, (long long)p.Dv);
  if (p.Hkv <= 0 || p.Hq % p.Hkv != 0)
    return formatError(err, cap, bad,
                       "attention: Hq = %lld must be a multiple of Hkv = %lld "
                       "(Hkv >= 1)",
                       (long long)p.Hq, (long long)p.Hkv);
  if (p.D > kMaxHeadDim || p.Dv > kMaxHeadDim)
    return formatError(err, cap, bad,
                       "attention: head dims D = %lld, Dv = %lld; the CPU "
                       "kernel supports at most %lld",
                       (long long)p.D, (long long)p.Dv, (long long)kMaxHeadDim);
  if (p.BQ < 1 || p.BQ > 1024 || p.BK < 1 || p.BK > 1024)
    return formatError(err, cap, bad,
                       "attention: BLOCK_Q = %lld, BLOCK_K = %lld; expected "
                       "both in [1, 1024]",
                       (long long)p.BQ, (long long)p.BK);
  if (a->num_buffers < 5 || a->num_buffers > 8 || !a->buffers || !a->sizes)
    return formatError(err, cap, bad,
                       "attention: %lld buffers; expected 5 to 8 (q k v out "
                       "lse [q_doc kv_doc [block_map]])",
                       (long long)a->num_buffers);
  int64_t nq, nk, nv, no, nl;
  if (!mul4(p.B, p.Hq, p.Lq, p.D, nq) || !mul4(p.B, p.Hkv, p.Lk, p.D, nk) ||
      !mul4(p.B, p.Hkv, p.Lk, p.Dv, nv) || !mul4(p.B, p.Hq, p.Lq, p.Dv, no) ||
      !mul3(p.B, p.Hq, p.Lq, nl))
    return formatError(err, cap, bad, "attention: tensor sizes overflow");
  const char *names[5] = {"q", "k", "v", "out", "lse"};
  const int64_t elems[5] = {nq, nk, nv, no, nl};
  for (int i = 0; i < 5; ++i) {
    int64_t eb = i == 4 ? 4 : elemBytes;
    if (!holdsOrEmpty(a, i, elems[i], eb))
      return formatError(err, cap, bad,
                         "attention: buffer %d (%s) has %llu bytes; expected "
                         "%lld elements of %lld bytes",
                         i, names[i], (unsigned long long)a->sizes[i],
                         (long long)elems[i], (long long)eb);
  }
  p.nQT = (p.Lq + p.BQ - 1) / p.BQ;
  p.nKT = (p.Lk + p.BK - 1) / p.BK;
  if (!mul3(p.B, p.Hq, p.nQT, p.grid))
    return formatError(err, cap, bad, "attention: grid overflows");
  if (a->num_floats < 1 || !a->floats || !std::isfinite(a->floats[0]))
    return formatError(err, cap, bad,
                       "attention: floats[0] must be a finite scale (%lld "
                       "floats)",
                       (long long)a->num_floats);
  p.scalef = static_cast<float>(a->floats[0]);

  // Mask program.
  std::string msg;
  const int64_t *prog = I + ATTUNE_ATTN_NUM_FIXED;
  if (!abi::decodeMask(prog, maskLen, p.mask, msg) ||
      !abi::validateMaskFor(p.mask, p.Lq, p.Lk, p.Hq, msg))
    return formatError(err, cap, bad, "attention: %s", msg.c_str());
  if (p.docBits != 0 && p.docBits != 32 && p.docBits != 64)
    return formatError(err, cap, bad,
                       "attention: DOC_BITS = %lld; expected 0, 32 or 64",
                       (long long)p.docBits);
  if (p.mask.needsDocs && p.docBits == 0)
    return formatError(err, cap, bad,
                       "attention: a DOCUMENT mask needs document ids "
                       "(DOC_BITS 32 or 64, buffers 5 and 6)");
  if (p.docBits) {
    int64_t nqd, nkd;
    if (!mulSize(p.B, p.Lq, nqd) || !mulSize(p.B, p.Lk, nkd) ||
        !holdsOrEmpty(a, 5, nqd, p.docBits / 8) ||
        !holdsOrEmpty(a, 6, nkd, p.docBits / 8))
      return formatError(err, cap, bad,
                         "attention: document ids need buffer 5 [B, Lq] and "
                         "buffer 6 [B, Lk] of %lld-bit integers",
                         (long long)p.docBits);
  }
  // Block map.
  if (p.mapHeads != 0) {
    if (p.mapHeads != 1 && p.mapHeads != p.Hq)
      return formatError(err, cap, bad,
                         "attention: MAP_HEADS = %lld; expected 0, 1 or Hq = "
                         "%lld",
                         (long long)p.mapHeads, (long long)p.Hq);
    int64_t n;
    if (!mul3(p.mapHeads, p.nQT, p.nKT, n) || a->num_buffers < 8 ||
        (n > 0 && !a->buffers[7]) || a->sizes[7] != static_cast<uint64_t>(n))
      return formatError(err, cap, bad,
                         "attention: block map (buffer 7) must be %lld x %lld "
                         "x %lld bytes (MAP_HEADS x ceil(Lq/BLOCK_Q) x "
                         "ceil(Lk/BLOCK_K)), got %llu",
                         (long long)p.mapHeads, (long long)p.nQT,
                         (long long)p.nKT,
                         (unsigned long long)(a->num_buffers >= 8 ? a->sizes[7] : 0));
  }
  // Score program.
  const int64_t *sp = prog + maskLen;
  p.numMods = 0;
  if (scoreLen > 0) {
    int64_t count = sp[0], pos = 1;
    if (count < 0 || count > kMaxScoreMods)
      return formatError(err, cap, bad,
                         "attention: score program count %lld; expected 0 to "
                         "%lld",
                         (long long)count, (long long)kMaxScoreMods);
    for (int64_t m = 0; m < count; ++m) {
      if (pos >= scoreLen)
        return formatError(err, cap, bad,
                           "attention: score program truncated at mod %lld",
                           (long long)m);
      ScoreModP &s = p.mods[m];
      s.kind = sp[pos++];
      if (s.kind == ATTUNE_SCORE_ALIBI) {
        if (pos + 2 > scoreLen)
          return formatError(err, cap, bad,
                             "attention: score program truncated in ALIBI");
        s.first = sp[pos++];
        s.n = sp[pos++];
        if (s.n != 0 && s.n != p.Hq)
          return formatError(err, cap, bad,
                             "attention: ALIBI has %lld slopes; expected 0 "
                             "(default slopes) or Hq = %lld",
                             (long long)s.n, (long long)p.Hq);
        if (s.n > 0 &&
            (s.first < 1 || s.first > a->num_floats || s.n > a->num_floats - s.first))
          return formatError(err, cap, bad,
                             "attention: ALIBI slopes floats[%lld .. %lld) "
                             "outside the %lld floats",
                             (long long)s.first, (long long)(s.first + s.n),
                             (long long)a->num_floats);
        for (int64_t i = 0; i < s.n; ++i)
          if (!std::isfinite(a->floats[s.first + i]))
            return formatError(err, cap, bad,
                               "attention: ALIBI slope %lld is not finite",
                               (long long)i);
      } else if (s.kind == ATTUNE_SCORE_SOFTCAP) {
        if (pos + 1 > scoreLen)
          return formatError(err, cap, bad,
                             "attention: score program truncated in SOFTCAP");
        int64_t fi = sp[pos++];
        if (fi < 1 || fi >= a->num_floats)
          return formatError(err, cap, bad,
                             "attention: SOFTCAP float index %lld outside "
                             "[1, %lld)",
                             (long long)fi, (long long)a->num_floats);
        double c = a->floats[fi];
        if (!(c > 0) || !std::isfinite(c))
          return formatError(err, cap, bad,
                             "attention: softcap cap = %g; expected a finite "
                             "value > 0",
                             c);
        s.cap = static_cast<float>(c);
      } else {
        return formatError(err, cap, bad,
                           "attention: unknown score mod kind %lld",
                           (long long)s.kind);
      }
    }
    if (pos != scoreLen)
      return formatError(err, cap, bad,
                         "attention: %lld trailing ints in the score program",
                         (long long)(scoreLen - pos));
    p.numMods = count;
  }
  if (a->num_hooks < 0 || a->num_hooks > 2 || (a->num_hooks > 0 && !a->hooks))
    return formatError(err, cap, bad,
                       "attention: %lld hooks; expected at most 2 (mask, score)",
                       (long long)a->num_hooks);
  return ATTUNE_KERNEL_OK;
}

} // namespace attune::cpu::attn

#endif // ATTUNE_CPU_KERNELS_ATTENTIONPARAMS_H
