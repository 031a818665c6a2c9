//===- DilatedAttention.cpp - attune_cpu_dilated_attention_{f32,bf16,f16} --===//
//
// LongNet dilated attention (ref::dilatedAttention). Work item = (batch,
// query head, block of kRowsPerItem query rows). Branch i (segment w, rate
// r, offset o = h % r) lets query q see the keys of its segment with
// k % r == o (rate divides segment, so (x % w) % r == x % r), and k <= q when
// causal. Only those rows and keys are touched: the selected query rows of a
// segment are every r-th row of the item's f32 Q tile (a strided view, no
// copy), the selected keys are gathered into packed panels chunk by chunk
// (V is read in place, strided, for f32), and everything feeds one online
// softmax state per row. Combining the branches by their lse is the same as
// continuing that online softmax over the union (multiset) of the branches'
// key sets: sum_i exp(lse_i - lse) out_i = sum_i e^{m_i} O_i / sum_i e^{m_i} l_i.
//
//===----------------------------------------------------------------------===//

#include "AttentionCore.h"
#include "AttentionParams.h"

#include <type_traits>
#include <vector>

namespace attune::cpu::attn {
namespace {

constexpr int64_t kRowsPerItem = 128;
constexpr int64_t kKeyChunk = 64;
constexpr int64_t kMaxBranches = ATTUNE_CPU_MAX_DILATED_BRANCHES;

struct DilParams {
  int64_t B, Hq, Hkv, Lq, Lk, D, Dv, causal, nb, nQB, grid;
  const int64_t *seg, *rate;
  float scale;
};

int parseDilated(const attune_kernel_args *a, int64_t elemBytes, DilParams &p,
                 char *err, size_t cap) {
  const int bad = ATTUNE_KERNEL_INVALID_ARGUMENT;
  if (!a || a->num_ints < ATTUNE_DIL_NUM_FIXED || !a->ints)
    return formatError(err, cap, bad,
                       "dilated_attention: %lld ints; expected at least %d",
                       (long long)(a ? a->num_ints : 0), (int)ATTUNE_DIL_NUM_FIXED);
  const int64_t *I = a->ints;
  p.B = I[ATTUNE_DIL_B];
  p.Hq = I[ATTUNE_DIL_HQ];
  p.Hkv = I[ATTUNE_DIL_HKV];
  p.Lq = I[ATTUNE_DIL_LQ];
  p.Lk = I[ATTUNE_DIL_LK];
  p.D = I[ATTUNE_DIL_D];
  p.Dv = I[ATTUNE_DIL_DV];
  p.causal = I[ATTUNE_DIL_CAUSAL];
  p.nb = I[ATTUNE_DIL_NUM_BRANCHES];
  if (p.nb < 1 || p.nb > kMaxBranches)
    return formatError(err, cap, bad,
                       "dilated_attention: num_branches = %lld; expected 1 to %lld",
                       (long long)p.nb, (long long)kMaxBranches);
  if (a->num_ints != ATTUNE_DIL_NUM_FIXED + 2 * p.nb)
    return formatError(err, cap, bad,
                       "dilated_attention: %lld ints; expected %lld (%d fixed + "
                       "num_branches segments + num_branches rates)",
                       (long long)a->num_ints,
                       (long long)(ATTUNE_DIL_NUM_FIXED + 2 * p.nb),
                       (int)ATTUNE_DIL_NUM_FIXED);
  p.seg = I + ATTUNE_DIL_NUM_FIXED;
  p.rate = p.seg + p.nb;
  for (int64_t i = 0; i < p.nb; ++i)
    if (p.seg[i] <= 0 || p.rate[i] <= 0 || p.seg[i] % p.rate[i] != 0)
      return formatError(err, cap, bad,
                         "dilated_attention: branch %lld segment = %lld, rate = "
                         "%lld; expected both > 0 with rate dividing segment",
                         (long long)i, (long long)p.seg[i], (long long)p.rate[i]);
  if (p.causal != 0 && p.causal != 1)
    return formatError(err, cap, bad, "dilated_attention: causal = %lld; expected 0 or 1",
                       (long long)p.causal);
  if (p.B < 0 || p.Hq < 0 || p.Lq < 0 || p.Lk < 0 || p.D < 0 || p.Dv < 0)
    return formatError(err, cap, bad, "dilated_attention: negative dim");
  if (p.Hkv <= 0 || p.Hq % p.Hkv != 0)
    return formatError(err, cap, bad,
                       "dilated_attention: Hq = %lld must be a multiple of Hkv = "
                       "%lld (Hkv >= 1)",
                       (long long)p.Hq, (long long)p.Hkv);
  if (p.D > kMaxHeadDim || p.Dv > kMaxHeadDim)
    return formatError(err, cap, bad,
                       "dilated_attention: head dims D = %lld, Dv = %lld; the CPU "
                       "kernel supports at most %lld",
                       (long long)p.D, (long long)p.Dv, (long long)kMaxHeadDim);
  if (a->num_buffers != 5 || !a->buffers || !a->sizes)
    return formatError(err, cap, bad,
                       "dilated_attention: %lld buffers; expected 5 (q k v out lse)",
                       (long long)a->num_buffers);
  int64_t n[5];
  if (!mul4(p.B, p.Hq, p.Lq, p.D, n[0]) || !mul4(p.B, p.Hkv, p.Lk, p.D, n[1]) ||
      !mul4(p.B, p.Hkv, p.Lk, p.Dv, n[2]) || !mul4(p.B, p.Hq, p.Lq, p.Dv, n[3]) ||
      !mul3(p.B, p.Hq, p.Lq, n[4]))
    return formatError(err, cap, bad, "dilated_attention: tensor sizes overflow");
  const char *names[5] = {"q", "k", "v", "out", "lse"};
  for (int i = 0; i < 5; ++i) {
    int64_t eb = i == 4 ? 4 : elemBytes;
    if (!holdsOrEmpty(a, i, n[i], eb))
      return formatError(err, cap, bad,
                         "dilated_attention: buffer %d (%s) has %llu bytes; "
                         "expected %lld elements of %lld bytes",
                         i, names[i], (unsigned long long)a->sizes[i],
                         (long long)n[i], (long long)eb);
  }
  if (a->num_floats < 1 || !a->floats || !std::isfinite(a->floats[0]))
    return formatError(err, cap, bad,
                       "dilated_attention: floats[0] must be a finite scale");
  p.scale = static_cast<float>(a->floats[0]);
  p.nQB = (p.Lq + kRowsPerItem - 1) / kRowsPerItem;
  if (!mul3(p.B, p.Hq, p.nQB, p.grid))
    return formatError(err, cap, bad, "dilated_attention: grid overflows");
  return ATTUNE_KERNEL_OK;
}

template <typename T>
int runDilated(const attune_kernel_args *a, attune_kernel_ctx *ctx,
               int64_t begin, int64_t end) {
  DilParams p;
  if (int rc = parseDilated(a, sizeof(T), p, ctx->error, ctx->error_capacity))
    return rc;
  if (begin < 0 || end > p.grid || begin > end)
    return formatError(ctx->error, ctx->error_capacity,
                       ATTUNE_KERNEL_INVALID_ARGUMENT,
                       "dilated_attention: range [%lld, %lld) outside grid %lld",
                       (long long)begin, (long long)end, (long long)p.grid);
  if (begin == end)
    return ATTUNE_KERNEL_OK;
  const int64_t Hq = p.Hq, Hkv = p.Hkv, Lq = p.Lq, Lk = p.Lk, D = p.D, Dv = p.Dv;
  const int64_t D1 = std::max<int64_t>(D, 1);
  const T *qb = static_cast<const T *>(a->buffers[0]);
  const T *kb = static_cast<const T *>(a->buffers[1]);
  const T *vb = static_cast<const T *>(a->buffers[2]);
  T *ob = static_cast<T *>(a->buffers[3]);
  float *lseb = static_cast<float *>(a->buffers[4]);
  const int64_t Dvp = roundUp(Dv, 8);
  const bool vDirect = std::is_same<T, float>::value && Dv % 8 == 0;
  const int64_t QB = kRowsPerItem, KC = kKeyChunk;
  const size_t nQ = QB * D1, nS = QB * KC, nO = QB * Dvp, nK = KC * D1,
               nV = KC * Dvp;
  float *buf = arena(2, nQ + nS + nO + nK + nV + 2 * QB + 16 * D1 + QB / 4 + 64);
  if (!buf)
    return formatError(ctx->error, ctx->error_capacity, ATTUNE_KERNEL_INTERNAL,
                       "dilated_attention: out of memory for scratch");
  float *Qf = buf, *S = Qf + nQ, *O = S + nS, *Kp = O + nO, *Vp = Kp + nK,
        *mRow = Vp + nV, *lRow = mRow + QB, *tmp = lRow + QB;
  uint8_t *nanRow = reinterpret_cast<uint8_t *>(tmp + 16 * D1);
  int64_t keyIdx[kKeyChunk];
  const int64_t group = Hq / Hkv;

  for (int64_t it = begin; it < end; ++it) {
    const int64_t qt = it % p.nQB, bh = it / p.nQB, h = bh % Hq, b = bh / Hq;
    const int64_t kvh = h / group;
    const int64_t q0 = qt * QB, nq = std::min(QB, Lq - q0);
    const T *qrow = qb + ((b * Hq + h) * Lq + q0) * D;
    for (int64_t i = 0; i < nq; ++i)
      loadRow<T>(qrow + i * D, Qf + i * D1, D, p.scale);
    for (int64_t i = 0; i < nq; ++i) {
      mRow[i] = kNegInf;
      lRow[i] = 0.0f;
      nanRow[i] = 0;
    }
    std::memset(O, 0, sizeof(float) * static_cast<size_t>(nq * Dvp));
    const T *kBase = kb + (b * Hkv + kvh) * Lk * D;
    const T *vBase = vb + (b * Hkv + kvh) * Lk * Dv;

    for (int64_t br = 0; br < p.nb; ++br) {
      const int64_t w = p.seg[br], r = p.rate[br], o = h % r;
      for (int64_t sg = q0 / w; sg <= (q0 + nq - 1) / w; ++sg) {
        const int64_t sStart = sg * w;
        // Selected rows: q in [lo, hi), q % r == o.
        const int64_t lo = std::max(q0, sStart);
        const int64_t hi = std::min(q0 + nq, sStart + w);
        const int64_t qFirst = lo + ((o - lo % r) % r + r) % r;
        if (qFirst >= hi)
          continue;
        const int64_t nqg = (hi - 1 - qFirst) / r + 1;
        const int64_t qLast = qFirst + (nqg - 1) * r;
        // Selected keys: k in [sStart, min(sStart + w, Lk)), k % r == o,
        // and k <= qLast when causal.
        const int64_t kFirst = sStart + o;
        int64_t kEnd = std::min(sStart + w, Lk);
        if (p.causal)
          kEnd = std::min(kEnd, qLast + 1);
        if (kFirst >= kEnd)
          continue;
        const int64_t nkg = (kEnd - 1 - kFirst) / r + 1;
        // Strided views of the item's state.
        float *Qg = Qf + (qFirst - q0) * D1;
        float *Og = O + (qFirst - q0) * Dvp;
        const int64_t ldq = r * D1, ldo = r * Dvp, rs = r;
        for (int64_t c0 = 0; c0 < nkg; c0 += KC) {
          const int64_t nk = std::min(KC, nkg - c0);
          const int64_t np = roundUp(nk, kPanel) / kPanel, nkp = np * kPanel;
          for (int64_t j = 0; j < nk; ++j)
            keyIdx[j] = kFirst + (c0 + j) * r;
          packK<T>(kBase, D, nk, keyIdx, Kp, tmp);
          const float *Vt;
          int64_t ldv;
          if (vDirect) {
            Vt = reinterpret_cast<const float *>(vBase) + keyIdx[0] * Dv;
            ldv = r * Dv;
          } else {
            packV<T>(vBase, Dv, nk, keyIdx, Vp, Dvp);
            Vt = Vp;
            ldv = Dvp;
          }
          // Rows that see at least one key of this chunk.
          int64_t nrow = nqg;
          if (p.causal) {
            // row i sees keys j with kFirst + (c0 + j) r <= qFirst + i r.
            int64_t firstRow = 0;
            const int64_t k0 = keyIdx[0];
            if (k0 > qFirst)
              firstRow = (k0 - qFirst + r - 1) / r;
            if (firstRow >= nqg)
              continue;
            // rows before firstRow see nothing here: skip them.
            Qg = Qf + (qFirst + firstRow * r - q0) * D1;
            Og = O + (qFirst + firstRow * r - q0) * Dvp;
            nrow = nqg - firstRow;
            gemmQK(Qg, ldq, nrow, D, Kp, np, S, KC);
            for (int64_t i = 0; i < nrow; ++i) {
              const int64_t q = qFirst + (firstRow + i) * r;
              const int64_t cnt = std::min(nk, (q - k0) / r + 1);
              float *s = S + i * KC;
              for (int64_t j = cnt; j < nkp; ++j)
                s[j] = kNegInf;
              const int64_t ri = (q - q0);
              softmaxRow(s, nkp, mRow[ri], lRow[ri], O + ri * Dvp, Dvp, nanRow[ri]);
            }
            gemmPV(S, KC, nrow, nk, Vt, ldv, Dvp, Og, ldo);
            Qg = Qf + (qFirst - q0) * D1;
            Og = O + (qFirst - q0) * Dvp;
          } else {
            gemmQK(Qg, ldq, nrow, D, Kp, np, S, KC);
            for (int64_t i = 0; i < nrow; ++i) {
              float *s = S + i * KC;
              for (int64_t j = nk; j < nkp; ++j)
                s[j] = kNegInf;
              const int64_t ri = qFirst - q0 + i * rs;
              softmaxRow(s, nkp, mRow[ri], lRow[ri], O + ri * Dvp, Dvp, nanRow[ri]);
            }
            gemmPV(S, KC, nrow, nk, Vt, ldv, Dvp, Og, ldo);
          }
        }
      }
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
int checkDilated(const attune_kernel_args *a, int64_t *grid, char *error,
                 size_t capacity) {
  DilParams p;
  if (int rc = parseDilated(a, sizeof(T), p, error, capacity))
    return rc;
  if (grid)
    *grid = p.grid;
  return ATTUNE_KERNEL_OK;
}

} // namespace
} // namespace attune::cpu::attn

using namespace attune::cpu;
using namespace attune::cpu::attn;

ATTUNE_EXPORT_TYPED(dilated_attention, runDilated, checkDilated)
