//===- LshAttention.cpp - attune_cpu_lsh_attention_{f32,bf16,f16} ----------===//
//
// Reformer LSH attention with shared QK, ref::lshAttention semantics. Work
// item = (batch, head): it hashes every position in f64 exactly as the
// reference (same operation order, no FMA contraction; argmax over
// [xR, -xR], first maximum wins), sorts stably by bucket (a counting sort,
// which is stable by construction), and for each chunk runs dense attention
// of the chunk's queries (x * scale, f32) against the normalized keys of the
// chunk and the previous one (chunk 0 looks back at the last), with causal
// and "no self unless alone" masks, on the AVX2 micro-kernels of
// AttentionCore.h. Rounds are combined by lse, which is the online softmax
// continued over the rounds' key sets (one state per position). Everything
// an item computes depends only on its inputs: outputs are bitwise identical
// across runs and thread counts.
//
//===----------------------------------------------------------------------===//

#include "AttentionCore.h"
#include "AttentionParams.h"
#include "attune/abi/Philox4x32.h"

#include <algorithm>
#include <type_traits>
#include <vector>

namespace attune::cpu::attn {
namespace {

constexpr int64_t kMaxBuckets = 1 << 16;
constexpr int64_t kMaxRounds = 256;
constexpr int64_t kRowBlock = 64, kKeyBlock = 64;

struct LshParams {
  int64_t B, H, L, D, Dv, nb, rounds, chunk, causal, grid;
  uint64_t seed;
  float scale;
  bool haveRot;
};

int parseLsh(const attune_kernel_args *a, int64_t elemBytes, LshParams &p,
             char *err, size_t cap) {
  const int bad = ATTUNE_KERNEL_INVALID_ARGUMENT;
  if (!a || a->num_ints != ATTUNE_LSH_NUM_FIXED || !a->ints)
    return formatError(err, cap, bad, "lsh_attention: %lld ints; expected %d",
                       (long long)(a ? a->num_ints : 0), (int)ATTUNE_LSH_NUM_FIXED);
  const int64_t *I = a->ints;
  p.B = I[ATTUNE_LSH_B];
  p.H = I[ATTUNE_LSH_H];
  p.L = I[ATTUNE_LSH_L];
  p.D = I[ATTUNE_LSH_D];
  p.Dv = I[ATTUNE_LSH_DV];
  p.nb = I[ATTUNE_LSH_NUM_BUCKETS];
  p.rounds = I[ATTUNE_LSH_NUM_ROUNDS];
  p.chunk = I[ATTUNE_LSH_CHUNK];
  p.seed = static_cast<uint64_t>(I[ATTUNE_LSH_SEED]);
  p.causal = I[ATTUNE_LSH_CAUSAL];
  if (p.B < 0 || p.H < 0 || p.L < 0 || p.D < 0 || p.Dv < 0)
    return formatError(err, cap, bad,
                       "lsh_attention: negative dim (B %lld, H %lld, L %lld, D "
                       "%lld, Dv %lld)",
                       (long long)p.B, (long long)p.H, (long long)p.L,
                       (long long)p.D, (long long)p.Dv);
  if (p.D > kMaxHeadDim || p.Dv > kMaxHeadDim)
    return formatError(err, cap, bad,
                       "lsh_attention: head dims D = %lld, Dv = %lld; the CPU "
                       "kernel supports at most %lld",
                       (long long)p.D, (long long)p.Dv, (long long)kMaxHeadDim);
  if (p.nb < 1 || (p.nb != 1 && p.nb % 2 != 0) || p.nb > kMaxBuckets)
    return formatError(err, cap, bad,
                       "lsh_attention: num_buckets = %lld; expected 1 or an even "
                       "number in [2, %lld]",
                       (long long)p.nb, (long long)kMaxBuckets);
  if (p.rounds < 1 || p.rounds > kMaxRounds)
    return formatError(err, cap, bad,
                       "lsh_attention: num_rounds = %lld; expected 1 to %lld",
                       (long long)p.rounds, (long long)kMaxRounds);
  if (p.chunk < 1)
    return formatError(err, cap, bad, "lsh_attention: chunk_size = %lld; expected >= 1",
                       (long long)p.chunk);
  if (p.causal != 0 && p.causal != 1)
    return formatError(err, cap, bad, "lsh_attention: causal = %lld; expected 0 or 1",
                       (long long)p.causal);
  if (a->num_buffers < 4 || a->num_buffers > 5 || !a->buffers || !a->sizes)
    return formatError(err, cap, bad,
                       "lsh_attention: %lld buffers; expected 4 or 5 (qk v out "
                       "lse [rotations])",
                       (long long)a->num_buffers);
  int64_t n[4];
  if (!mul4(p.B, p.H, p.L, p.D, n[0]) || !mul4(p.B, p.H, p.L, p.Dv, n[1]) ||
      !mul4(p.B, p.H, p.L, p.Dv, n[2]) || !mul3(p.B, p.H, p.L, n[3]))
    return formatError(err, cap, bad, "lsh_attention: tensor sizes overflow");
  const char *names[4] = {"qk", "v", "out", "lse"};
  for (int i = 0; i < 4; ++i) {
    int64_t eb = i == 3 ? 4 : elemBytes;
    if (!holdsOrEmpty(a, i, n[i], eb))
      return formatError(err, cap, bad,
                         "lsh_attention: buffer %d (%s) has %llu bytes; "
                         "expected %lld elements of %lld bytes",
                         i, names[i], (unsigned long long)a->sizes[i],
                         (long long)n[i], (long long)eb);
  }
  p.haveRot = a->num_buffers == 5 && a->buffers[4] != nullptr;
  if (p.haveRot) {
    int64_t nr;
    if (!mul3(p.rounds, p.D, p.nb / 2, nr) ||
        a->sizes[4] != static_cast<uint64_t>(nr) * static_cast<uint64_t>(elemBytes))
      return formatError(err, cap, bad,
                         "lsh_attention: rotations (buffer 4) have %llu bytes; "
                         "expected [num_rounds, D, num_buckets/2] = [%lld, %lld, "
                         "%lld] elements of %lld bytes",
                         (unsigned long long)a->sizes[4], (long long)p.rounds,
                         (long long)p.D, (long long)(p.nb / 2), (long long)elemBytes);
  }
  if (a->num_floats < 1 || !a->floats || !std::isfinite(a->floats[0]))
    return formatError(err, cap, bad, "lsh_attention: floats[0] must be a finite scale");
  p.scale = static_cast<float>(a->floats[0]);
  if (!mulSize(p.B, p.H, p.grid))
    return formatError(err, cap, bad, "lsh_attention: grid overflows");
  return ATTUNE_KERNEL_OK;
}

/// Buckets of one round, exactly as ref::lshAttention: proj[j] = sum_d
/// x[d] R[d][j] in f64, in order of d, no contraction.
template <typename T>
void hashRound(const T *x, int64_t L, int64_t D, int64_t nb, const double *R,
               double *proj, double *xd, int32_t *bucket) {
#ifdef __clang__
#pragma clang fp contract(off)
#endif
  const int64_t half = nb / 2;
  for (int64_t i = 0; i < L; ++i) {
    bucket[i] = 0;
    if (nb == 1)
      continue;
    for (int64_t d = 0; d < D; ++d)
      xd[d] = static_cast<double>(toFloat(x[i * D + d]));
    for (int64_t j = 0; j < half; ++j)
      proj[j] = 0.0;
    for (int64_t d = 0; d < D; ++d) {
      const double xv = xd[d];
      const double *Rd = R + d * half;
      for (int64_t j = 0; j < half; ++j) {
        double t = xv * Rd[j];
        proj[j] = proj[j] + t;
      }
    }
    double best = -std::numeric_limits<double>::infinity();
    for (int64_t j = 0; j < nb; ++j) {
      double c = j < half ? proj[j] : -proj[j - half];
      if (c > best) {
        best = c;
        bucket[i] = static_cast<int32_t>(j);
      }
    }
  }
}

template <typename T>
int runLsh(const attune_kernel_args *a, attune_kernel_ctx *ctx, int64_t begin,
           int64_t end) {
  LshParams p;
  if (int rc = parseLsh(a, sizeof(T), p, ctx->error, ctx->error_capacity))
    return rc;
  if (begin < 0 || end > p.grid || begin > end)
    return formatError(ctx->error, ctx->error_capacity,
                       ATTUNE_KERNEL_INVALID_ARGUMENT,
                       "lsh_attention: range [%lld, %lld) outside grid %lld",
                       (long long)begin, (long long)end, (long long)p.grid);
  if (begin == end || p.L == 0)
    return ATTUNE_KERNEL_OK;
  const int64_t L = p.L, D = p.D, Dv = p.Dv, nb = p.nb, half = nb / 2,
                cs = p.chunk;
  const int64_t D1 = std::max<int64_t>(D, 1), Dvp = roundUp(Dv, 8);
  const T *xb = static_cast<const T *>(a->buffers[0]);
  const T *vb = static_cast<const T *>(a->buffers[1]);
  T *ob = static_cast<T *>(a->buffers[2]);
  float *lseb = static_cast<float *>(a->buffers[3]);

  // Rotations, once per call: R[r][d][j] as doubles.
  std::vector<double> rot(static_cast<size_t>(p.rounds * D * half));
  if (p.haveRot) {
    const T *rb = static_cast<const T *>(a->buffers[4]);
    for (size_t i = 0; i < rot.size(); ++i)
      rot[i] = static_cast<double>(toFloat(rb[i]));
  } else {
    for (int64_t r = 0; r < p.rounds; ++r)
      for (int64_t i = 0; i < D * half; ++i)
        rot[static_cast<size_t>(r * D * half + i)] = abi::philoxNormal(
            p.seed, static_cast<uint32_t>(r), static_cast<uint64_t>(i));
  }
  std::vector<double> proj(static_cast<size_t>(std::max<int64_t>(half, 1))),
      xd(static_cast<size_t>(D1));
  std::vector<int32_t> bucket(static_cast<size_t>(L)), order(static_cast<size_t>(L));
  std::vector<int64_t> counts(static_cast<size_t>(nb + 1)), keyPos, qPos;
  keyPos.reserve(static_cast<size_t>(std::min(L, 2 * cs)));

  // Scratch: Xs (scaled queries) and Kn (unit keys) [L, D1], O [L, Dvp],
  // m, l [L]; per block: Qc [64, D1], S [64, 64], Kp [64, D1], Vp [64, Dvp],
  // Oc [64, Dvp], mc, lc [64], tmp [16, D1].
  const size_t nL = static_cast<size_t>(L);
  float *big = arena(0, nL * D1 * 2 + nL * Dvp + 2 * nL + nL / 4 + 64);
  const size_t nBlk = kRowBlock * D1 + kRowBlock * kKeyBlock + kKeyBlock * D1 +
                      kKeyBlock * Dvp + kRowBlock * Dvp + 2 * kRowBlock + 16 * D1 + 64;
  float *blk = arena(2, nBlk);
  if (!big || !blk)
    return formatError(ctx->error, ctx->error_capacity, ATTUNE_KERNEL_INTERNAL,
                       "lsh_attention: out of memory for scratch");
  float *Xs = big, *Kn = Xs + nL * D1, *O = Kn + nL * D1, *mAll = O + nL * Dvp,
        *lAll = mAll + nL;
  uint8_t *nanAll = reinterpret_cast<uint8_t *>(lAll + nL);
  float *Qc = blk, *S = Qc + kRowBlock * D1, *Kp = S + kRowBlock * kKeyBlock,
        *Vp = Kp + kKeyBlock * D1, *Oc = Vp + kKeyBlock * Dvp,
        *mc = Oc + kRowBlock * Dvp, *lc = mc + kRowBlock, *tmp = lc + kRowBlock;
  uint8_t nanc[kRowBlock];
  int64_t idx[kKeyBlock];
  const int64_t numChunks = (L + cs - 1) / cs;

  for (int64_t it = begin; it < end; ++it) {
    const T *x = xb + it * L * D;
    const T *vBase = vb + it * L * Dv;
    // Scaled queries and unit keys (rounded to T like the reference).
    for (int64_t i = 0; i < L; ++i) {
      float *xs = Xs + i * D1, *kn = Kn + i * D1;
      loadRow<T>(x + i * D, kn, D, 1.0f);
      if (D == 0)
        xs[0] = kn[0] = 0.0f;
      float ss = 0.0f;
      for (int64_t d = 0; d < D; ++d)
        ss += kn[d] * kn[d];
      float norm = std::sqrt(ss);
      for (int64_t d = 0; d < D; ++d) {
        xs[d] = kn[d] * p.scale;
        kn[d] = norm == 0.0f ? 0.0f : toFloat(fromFloat<T>(kn[d] / norm));
      }
      mAll[i] = kNegInf;
      lAll[i] = 0.0f;
      nanAll[i] = 0;
    }
    std::memset(O, 0, sizeof(float) * nL * static_cast<size_t>(Dvp));

    for (int64_t r = 0; r < p.rounds; ++r) {
      hashRound<T>(x, L, D, nb, rot.data() + r * D * half, proj.data(), xd.data(),
                   bucket.data());
      // Stable counting sort by bucket.
      std::fill(counts.begin(), counts.end(), 0);
      for (int64_t i = 0; i < L; ++i)
        ++counts[static_cast<size_t>(bucket[i]) + 1];
      for (int64_t j = 0; j < nb; ++j)
        counts[j + 1] += counts[j];
      for (int64_t i = 0; i < L; ++i)
        order[static_cast<size_t>(counts[static_cast<size_t>(bucket[i])]++)] =
            static_cast<int32_t>(i);

      for (int64_t c = 0; c < numChunks; ++c) {
        const int64_t prev = c == 0 ? numChunks - 1 : c - 1;
        keyPos.clear();
        auto addChunk = [&](int64_t ch) {
          int64_t lo = ch * cs, hi = std::min(L, lo + cs);
          for (int64_t s = lo; s < hi; ++s)
            keyPos.push_back(order[static_cast<size_t>(s)]);
        };
        addChunk(c);
        if (prev != c)
          addChunk(prev);
        std::sort(keyPos.begin(), keyPos.end());
        const int64_t nKeys = static_cast<int64_t>(keyPos.size());
        const int64_t qlo = c * cs, qhi = std::min(L, qlo + cs);
        for (int64_t r0 = qlo; r0 < qhi; r0 += kRowBlock) {
          const int64_t nq = std::min(kRowBlock, qhi - r0);
          int64_t qp[kRowBlock], kLimit[kRowBlock];
          bool alone[kRowBlock];
          int64_t maxLimit = 0;
          for (int64_t i = 0; i < nq; ++i) {
            const int64_t q = order[static_cast<size_t>(r0 + i)];
            qp[i] = q;
            std::memcpy(Qc + i * D1, Xs + q * D1, sizeof(float) * static_cast<size_t>(D1));
            std::memcpy(Oc + i * Dvp, O + q * Dvp, sizeof(float) * static_cast<size_t>(Dvp));
            mc[i] = mAll[q];
            lc[i] = lAll[q];
            nanc[i] = nanAll[q];
            // Candidates: keys <= q (causal) or all; self is among them.
            int64_t below = std::lower_bound(keyPos.begin(), keyPos.end(), q) - keyPos.begin();
            kLimit[i] = p.causal ? below + 1 : nKeys; // keys [0, kLimit) allowed
            alone[i] = kLimit[i] == 1;
            maxLimit = std::max(maxLimit, kLimit[i]);
          }
          for (int64_t k0 = 0; k0 < maxLimit; k0 += kKeyBlock) {
            const int64_t nk = std::min(kKeyBlock, maxLimit - k0);
            const int64_t np = roundUp(nk, kPanel) / kPanel, nkp = np * kPanel;
            for (int64_t j = 0; j < nk; ++j)
              idx[j] = keyPos[static_cast<size_t>(k0 + j)];
            packK<float>(Kn, D1, nk, idx, Kp, tmp);
            packV<T>(vBase, Dv, nk, idx, Vp, Dvp);
            gemmQK(Qc, D1, nq, D1, Kp, np, S, kKeyBlock);
            for (int64_t i = 0; i < nq; ++i) {
              float *s = S + i * kKeyBlock;
              const int64_t lim = std::min(nk, std::max<int64_t>(0, kLimit[i] - k0));
              for (int64_t j = lim; j < nkp; ++j)
                s[j] = kNegInf;
              if (!alone[i])
                for (int64_t j = 0; j < lim; ++j)
                  if (idx[j] == qp[i])
                    s[j] = kNegInf;
              softmaxRow(s, nkp, mc[i], lc[i], Oc + i * Dvp, Dvp, nanc[i]);
            }
            gemmPV(S, kKeyBlock, nq, nk, Vp, Dvp, Dvp, Oc, Dvp);
          }
          for (int64_t i = 0; i < nq; ++i) {
            const int64_t q = qp[i];
            std::memcpy(O + q * Dvp, Oc + i * Dvp, sizeof(float) * static_cast<size_t>(Dvp));
            mAll[q] = mc[i];
            lAll[q] = lc[i];
            nanAll[q] = nanc[i];
          }
        }
      }
    }
    for (int64_t i = 0; i < L; ++i)
      finishRow<T>(O + i * Dvp, Dv, mAll[i], lAll[i], nanAll[i],
                   ob + (it * L + i) * Dv, lseb + it * L + i);
  }
  return ATTUNE_KERNEL_OK;
}

template <typename T>
int checkLsh(const attune_kernel_args *a, int64_t *grid, char *error,
             size_t capacity) {
  LshParams p;
  if (int rc = parseLsh(a, sizeof(T), p, error, capacity))
    return rc;
  if (grid)
    *grid = p.grid;
  return ATTUNE_KERNEL_OK;
}

} // namespace
} // namespace attune::cpu::attn

using namespace attune::cpu;
using namespace attune::cpu::attn;

ATTUNE_EXPORT_TYPED(lsh_attention, runLsh, checkLsh)
