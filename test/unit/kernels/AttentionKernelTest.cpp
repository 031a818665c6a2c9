//===- AttentionKernelTest.cpp - attune_cpu_attention_* vs the reference ---===//

#include "AttentionTestCommon.h"
#include "attune/abi/BlockMap.h"

#include <chrono>
#include <ctime>
#include <cmath>
#include <cstdio>
#include <gtest/gtest.h>

ATTUNE_DECLARE_TYPED(attention)

using namespace attune;
using namespace attune::kernels::testing;
using ref::MaskTerm;
using ref::RefTensor;
using ref::ScoreMod;

namespace {

// Test hooks with the ABI signatures. The mask hook drops pairs with
// (q + 2k + h) % 7 == 3; the score hook adds a relative bias read from
// capture 0: bias[h][q - k + Lk - 1] ([Hq, Lq + Lk - 1] f32), capture 1 holds
// {Lq, Lk} as int64.
extern "C" void testMaskHook(void *const *, int64_t, int64_t h, int64_t q,
                             int64_t k0, int64_t n, uint8_t *allowed) {
  for (int64_t j = 0; j < n; ++j)
    allowed[j] = (q + 2 * (k0 + j) + h) % 7 != 3;
}
extern "C" void testScoreHook(void *const *caps, float *s, int64_t, int64_t h,
                              int64_t q, int64_t k0, int64_t n) {
  const float *bias = static_cast<const float *>(caps[0]);
  const int64_t *dims = static_cast<const int64_t *>(caps[1]);
  int64_t lq = dims[0], lk = dims[1], w = lq + lk - 1;
  for (int64_t j = 0; j < n; ++j)
    s[j] += bias[h * w + (q - (k0 + j) + lk - 1)];
}

struct Case {
  int64_t B = 1, Hq = 2, Hkv = 1, Lq = 37, Lk = 37, D = 64, Dv = 64;
  DType dt = DType::F32;
  std::optional<MaskTerm> mask;
  std::vector<ScoreMod> mods;
  int docBits = 0; // 0: no doc ids
  int64_t numDocs = 3;
  bool maskHook = false, scoreHook = false;
  int mapMode = 0; // 0 none, 1 shared (MAP_HEADS 1), 2 per head, 3 shared
                   // and built without document ids (compile time)
  int threads = 3;
  int64_t BQ = ATTUNE_CPU_ATTN_BLOCK_Q, BK = ATTUNE_CPU_ATTN_BLOCK_K;
  uint64_t seed = 1;
  double scale = 0; // 0: 1/sqrt(D)
  bool qNaN = false;
  bool qInf = false; ///< +inf in q: scores of +-inf, NaN where the reference has it
};

struct Outputs {
  HostTensor out, lse;
  RunResult rr;
};

attune_cpu_kernel_fn kernelFor(DType dt) {
  return dt == DType::F32 ? attune_cpu_attention_f32
         : dt == DType::BF16 ? attune_cpu_attention_bf16
                             : attune_cpu_attention_f16;
}
attune_cpu_check_fn checkFor(DType dt) {
  return dt == DType::F32 ? attune_cpu_attention_f32_check
         : dt == DType::BF16 ? attune_cpu_attention_bf16_check
                             : attune_cpu_attention_f16_check;
}

struct Problem {
  Case c;
  RefTensor q, k, v, qd, kd, bias;
  HostTensor hq, hk, hv, hqd, hkd, hbias, hdims, map;
  std::vector<int64_t> ints;
  std::vector<double> floats;
  ref::AttentionSpec spec;

  explicit Problem(const Case &cc) : c(cc) {
    std::mt19937_64 rng(c.seed);
    q = randomTensor(c.dt, {c.B, c.Hq, c.Lq, c.D}, rng);
    k = randomTensor(c.dt, {c.B, c.Hkv, c.Lk, c.D}, rng);
    v = randomTensor(c.dt, {c.B, c.Hkv, c.Lk, c.Dv}, rng);
    if (c.qNaN)
      q.data[std::min<int64_t>(5, q.numElements() - 1)] = NAN;
    if (c.qInf)
      q.data[std::min<int64_t>(5, q.numElements() - 1)] = INFINITY;
    hq = toStorage(q, c.dt);
    hk = toStorage(k, c.dt);
    hv = toStorage(v, c.dt);
    double scale = c.scale ? c.scale : 1.0 / std::sqrt(double(c.D));
    spec.scale = scale;
    spec.mask = c.mask;
    spec.scoreMods = c.mods;
    ints = {c.B, c.Hq, c.Hkv, c.Lq, c.Lk, c.D, c.Dv, c.BQ, c.BK, c.docBits, 0, 0, 0};
    std::vector<int64_t> mp, spg;
    if (c.mask)
      encodeMask(*c.mask, mp);
    floats = {scale};
    if (!c.mods.empty()) {
      spg.push_back(static_cast<int64_t>(c.mods.size()));
      for (const ScoreMod &m : c.mods) {
        if (m.kind == ScoreMod::Kind::Alibi) {
          spg.push_back(ATTUNE_SCORE_ALIBI);
          spg.push_back(static_cast<int64_t>(floats.size()));
          spg.push_back(static_cast<int64_t>(m.slopes.size()));
          floats.insert(floats.end(), m.slopes.begin(), m.slopes.end());
        } else {
          spg.push_back(ATTUNE_SCORE_SOFTCAP);
          spg.push_back(static_cast<int64_t>(floats.size()));
          floats.push_back(m.cap);
        }
      }
    }
    ints[ATTUNE_ATTN_MASK_LEN] = static_cast<int64_t>(mp.size());
    ints[ATTUNE_ATTN_SCORE_LEN] = static_cast<int64_t>(spg.size());
    ints.insert(ints.end(), mp.begin(), mp.end());
    ints.insert(ints.end(), spg.begin(), spg.end());
    if (c.docBits) {
      DType it = c.docBits == 32 ? DType::I32 : DType::I64;
      qd = RefTensor(it, {c.B, c.Lq});
      kd = RefTensor(it, {c.B, c.Lk});
      // Sorted document ids (packed sequences), a few docs per batch, and
      // the kv side offset so that some query rows see no key.
      for (int64_t b = 0; b < c.B; ++b) {
        for (int64_t i = 0; i < c.Lq; ++i)
          qd.data[b * c.Lq + i] = double((i * c.numDocs) / c.Lq + b);
        for (int64_t i = 0; i < c.Lk; ++i)
          kd.data[b * c.Lk + i] = double((i * c.numDocs) / c.Lk + b + (i % 5 == 0));
      }
      hqd = toStorage(qd, it);
      hkd = toStorage(kd, it);
      spec.qDocIds = &qd;
      spec.kvDocIds = &kd;
    }
    if (c.scoreHook) {
      bias = randomTensor(DType::F32, {c.Hq, c.Lq + c.Lk - 1}, rng, 0.5);
      hbias = toStorage(bias, DType::F32);
      hdims = HostTensor(DType::I64, {2});
      hdims.setDouble(0, double(c.Lq));
      hdims.setDouble(1, double(c.Lk));
      const RefTensor *bp = &bias;
      int64_t lq = c.Lq, lk = c.Lk;
      spec.scoreFn = [bp, lq, lk](double s, int64_t, int64_t h, int64_t qi,
                                  int64_t kj, double &r) {
        r = s + bp->data[h * (lq + lk - 1) + qi - kj + lk - 1];
        return Status::ok();
      };
    }
    if (c.maskHook)
      spec.maskFn = [](int64_t, int64_t h, int64_t qi, int64_t kj, bool &ok) {
        ok = (qi + 2 * kj + h) % 7 != 3;
        return Status::ok();
      };
    if (c.mapMode) {
      std::vector<int64_t> mp2(ints.begin() + ATTUNE_ATTN_NUM_FIXED,
                               ints.begin() + ATTUNE_ATTN_NUM_FIXED + ints[ATTUNE_ATTN_MASK_LEN]);
      attune::abi::MaskProgram prog;
      std::string err;
      EXPECT_TRUE(attune::abi::decodeMask(mp2.data(), int64_t(mp2.size()), prog, err)) << err;
      int64_t nqt = (c.Lq + c.BQ - 1) / c.BQ, nkt = (c.Lk + c.BK - 1) / c.BK;
      int64_t heads = c.mapMode == 2 ? c.Hq : 1;
      map = HostTensor(DType::U8, {heads, nqt, nkt});
      attune::abi::DocIds docs;
      if (c.docBits) {
        docs.q = hqd.data();
        docs.k = hkd.data();
        docs.bits = c.docBits;
        docs.lq = c.Lq;
        docs.lk = c.Lk;
      }
      // A shared map must hold for every head and batch: without heads or
      // docs in the program it does; tests only use mapMode 1 then.
      for (int64_t h = 0; h < heads; ++h)
        for (int64_t i = 0; i < nqt; ++i)
          for (int64_t j = 0; j < nkt; ++j)
            map.data()[(h * nqt + i) * nkt + j] = static_cast<uint8_t>(attune::abi::classifyTile(
                prog, 0, h, i * c.BQ, std::min(c.Lq, (i + 1) * c.BQ), j * c.BK,
                std::min(c.Lk, (j + 1) * c.BK), c.Lq, c.Lk,
                (c.docBits && c.mapMode != 3) ? &docs : nullptr));
      ints[ATTUNE_ATTN_MAP_HEADS] = heads;
    }
  }

  Outputs run(int threads) {
    Outputs o;
    o.out = HostTensor(c.dt, {c.B, c.Hq, c.Lq, c.Dv});
    o.lse = HostTensor(DType::F32, {c.B, c.Hq, c.Lq});
    Launch l;
    l.buffers = {&hq, &hk, &hv, &o.out, &o.lse};
    if (c.docBits || c.mapMode) {
      l.buffers.push_back(c.docBits ? &hqd : nullptr);
      l.buffers.push_back(c.docBits ? &hkd : nullptr);
    }
    if (c.mapMode)
      l.buffers.push_back(&map);
    l.ints = ints;
    l.floats = floats;
    if (c.scoreHook)
      l.captures = {&hbias, &hdims};
    if (c.maskHook || c.scoreHook) {
      l.hooks.push_back(c.maskHook ? reinterpret_cast<void *>(&testMaskHook) : nullptr);
      l.hooks.push_back(c.scoreHook ? reinterpret_cast<void *>(&testScoreHook) : nullptr);
    }
    o.rr = runKernel(kernelFor(c.dt), checkFor(c.dt), l, threads);
    return o;
  }
};

void expectMatches(const Case &c, const std::string &what) {
  Problem p(c);
  Outputs o = p.run(c.threads);
  ASSERT_TRUE(o.rr.ok()) << what << ": " << o.rr.message;
  RefTensor gOut, gLse, nOut, nLse;
  ASSERT_TRUE(ref::attention(p.q, p.k, p.v, p.spec, ref::Precision::F64, gOut, gLse).isOk());
  ASSERT_TRUE(ref::attention(p.q, p.k, p.v, p.spec, ref::Precision::Native, nOut, nLse).isOk());
  double floor = c.dt == DType::F32 ? 1e-6 : 1e-3;
  if (c.qNaN || c.qInf) {
    // NaN propagation: compare NaN positions with the reference.
    RefTensor out = fromStorage(o.out);
    for (int64_t i = 0; i < out.numElements(); ++i)
      ASSERT_EQ(std::isnan(out.data[i]), std::isnan(gOut.data[i])) << what << " at " << i;
    return;
  }
  ref::ToleranceReport r1 = ref::checkTolerance(fromStorage(o.out), gOut, nOut, floor);
  EXPECT_TRUE(r1.ok) << what << " out: " << r1.message;
  ref::ToleranceReport r2 = ref::checkTolerance(fromStorage(o.lse), gLse, nLse, floor);
  EXPECT_TRUE(r2.ok) << what << " lse: " << r2.message;
}

bool sameBits(const HostTensor &a, const HostTensor &b) {
  return a.byteSize() == b.byteSize() && std::memcmp(a.data(), b.data(), a.byteSize()) == 0;
}

} // namespace

TEST(AttentionKernel, IrregularLengthsDense) {
  const int64_t Ls[] = {1, 3, 113, 239};
  uint64_t seed = 10;
  for (int64_t lq : Ls)
    for (int64_t lk : Ls) {
      Case c;
      c.Lq = lq;
      c.Lk = lk;
      c.seed = ++seed;
      c.D = c.Dv = (seed % 3 == 0) ? 96 : 64;
      expectMatches(c, "dense Lq=" + std::to_string(lq) + " Lk=" + std::to_string(lk));
      c.mask = causal(seed % 2 == 0);
      expectMatches(c, "causal Lq=" + std::to_string(lq) + " Lk=" + std::to_string(lk));
    }
}

TEST(AttentionKernel, LongLengths) {
  Case c;
  c.Hq = 2;
  c.Hkv = 1;
  c.Lq = 1025;
  c.Lk = 1023;
  c.D = c.Dv = 64;
  c.mask = causal(true);
  expectMatches(c, "1025x1023 causal br");
  c.Lq = 1023;
  c.Lk = 1025;
  c.D = c.Dv = 128;
  c.Hq = 1;
  c.mask = window(100, 0);
  expectMatches(c, "1023x1025 window");
}

TEST(AttentionKernel, HeadDims) {
  const int64_t dims[][2] = {{32, 32}, {96, 96}, {128, 128}, {8, 8}, {40, 72}, {72, 40},
                             {3, 5}, {256, 256}, {17, 13}};
  uint64_t seed = 100;
  for (auto &d : dims) {
    Case c;
    c.D = d[0];
    c.Dv = d[1];
    c.Lq = 70;
    c.Lk = 131;
    c.seed = ++seed;
    c.mask = causal(true);
    expectMatches(c, "D=" + std::to_string(d[0]) + " Dv=" + std::to_string(d[1]));
  }
}

TEST(AttentionKernel, GqaTwelveToTwo) {
  Case c;
  c.B = 2;
  c.Hq = 12;
  c.Hkv = 2;
  c.Lq = 113;
  c.Lk = 239;
  c.mask = causal(true);
  expectMatches(c, "gqa 12:2");
  c.B = 1;
  c.Hkv = 1;
  c.mask.reset();
  c.Lq = 3;
  expectMatches(c, "mqa 12:1");
}

TEST(AttentionKernel, EveryMaskTerm) {
  std::mt19937_64 rng(5);
  const int64_t lq = 113, lk = 150;
  std::vector<std::pair<std::string, MaskTerm>> terms = {
      {"causal tl", causal(false)},
      {"causal br", causal(true)},
      {"window", window(17, 3)},
      {"window br", window(5, 40, true)},
      {"window huge", window(INT64_MAX, INT64_MAX)},
      {"global", globalTokens({0, 7, 64, 140})},
      {"block sparse shared", blockSparse(16, 32, 0, 8, 5, rng)},
      {"block sparse heads", blockSparse(40, 24, 2, 3, 7, rng)},
      {"strided", strided(7)},
      {"dilated", dilated(32, 4, 1)},
      {"dilated h%r", dilated(48, 3, std::nullopt)},
      {"prefix", prefixLM(20)},
      {"and", both({causal(), window(30, 0), prefixLM(5)})},
      {"or", both({strided(9), window(3, 3), globalTokens({100})}, false)},
      {"and of or", both({both({causal(true), globalTokens({1, 2})}, false), strided(2)})},
      {"empty and", both({})},
      {"empty or (all masked)", both({}, false)},
  };
  uint64_t seed = 200;
  for (auto &[name, m] : terms) {
    Case c;
    c.Lq = lq;
    c.Lk = lk;
    c.mask = m;
    c.seed = ++seed;
    c.BQ = (seed % 2) ? 64 : 32;
    c.BK = (seed % 3) ? 64 : 48;
    expectMatches(c, name);
  }
}

TEST(AttentionKernel, DocumentMask) {
  for (int bits : {32, 64}) {
    Case c;
    c.B = 2;
    c.Lq = 130;
    c.Lk = 97;
    c.docBits = bits;
    c.mask = document();
    c.seed = 300 + bits;
    expectMatches(c, "document " + std::to_string(bits));
    c.mask = both({document(), causal(true)});
    expectMatches(c, "document & causal " + std::to_string(bits));
  }
}

TEST(AttentionKernel, FullyMaskedRows) {
  Case c;
  c.Lq = 70;
  c.Lk = 20;
  c.mask = causal(false); // rows... all have k=0; use a window that leaves rows empty
  c.mask = window(0, 0);  // q' == k: rows q >= Lk see nothing
  Problem p(c);
  Outputs o = p.run(3);
  ASSERT_TRUE(o.rr.ok()) << o.rr.message;
  RefTensor lse = fromStorage(o.lse), out = fromStorage(o.out);
  for (int64_t h = 0; h < c.Hq; ++h)
    for (int64_t i = c.Lk; i < c.Lq; ++i) {
      EXPECT_EQ(lse.data[h * c.Lq + i], -INFINITY);
      for (int64_t d = 0; d < c.Dv; ++d)
        EXPECT_EQ(out.data[(h * c.Lq + i) * c.Dv + d], 0.0);
    }
  expectMatches(c, "window(0,0)");
}

TEST(AttentionKernel, NaNPropagates) {
  Case c;
  c.Lq = 20;
  c.Lk = 30;
  c.qNaN = true;
  expectMatches(c, "nan in q");
}

TEST(AttentionKernel, InfiniteScoreGivesNaNAsTheReference) {
  Case c;
  c.Lq = 20;
  c.Lk = 30;
  c.qInf = true;
  expectMatches(c, "inf in q");
}

TEST(AttentionKernel, ScoreModsAndHooks) {
  Case c;
  c.Hq = 4;
  c.Hkv = 2;
  c.Lq = 97;
  c.Lk = 140;
  ScoreMod alibi;
  alibi.kind = ScoreMod::Kind::Alibi; // default slopes
  ScoreMod alibi2;
  alibi2.kind = ScoreMod::Kind::Alibi;
  alibi2.slopes = {0.5, 0.25, 0.1, 0.03};
  ScoreMod cap;
  cap.kind = ScoreMod::Kind::Softcap;
  cap.cap = 2.5;
  c.mods = {alibi};
  c.mask = causal(true);
  expectMatches(c, "alibi default");
  c.mods = {alibi2, cap};
  expectMatches(c, "alibi slopes + softcap");
  c.mods = {cap};
  c.scale = 0.9;
  expectMatches(c, "softcap big scale");
  c.scale = 0;
  c.mods = {};
  c.maskHook = true;
  expectMatches(c, "mask hook");
  c.maskHook = false;
  c.scoreHook = true;
  expectMatches(c, "score hook");
  c.maskHook = true;
  c.mods = {alibi};
  c.mask = window(30, 30);
  expectMatches(c, "both hooks + alibi + window");
}

TEST(AttentionKernel, LowPrecision) {
  Case c;
  c.dt = DType::BF16;
  c.Hq = 4;
  c.Hkv = 2;
  c.Lq = 113;
  c.Lk = 239;
  c.mask = causal(true);
  expectMatches(c, "bf16 causal");
  c.mask = both({window(40, 0), globalTokens({3})});
  c.D = c.Dv = 40;
  expectMatches(c, "bf16 window|global D40");
  c.dt = DType::F16;
  c.D = c.Dv = 64;
  c.mask = causal(false);
  expectMatches(c, "f16 causal");
}

TEST(AttentionKernel, BlockMapGivenIsBitwiseSame) {
  std::mt19937_64 rng(9);
  std::vector<std::pair<MaskTerm, int>> masks = {
      {causal(true), 1},
      {window(20, 5), 1},
      {both({document(), causal()}), 2},
      {both({document(), causal()}), 3},
      {blockSparse(16, 16, 2, 8, 8, rng), 2},
      {dilated(32, 2, std::nullopt), 2}};
  for (auto &[m, mode] : masks) {
    Case c;
    c.Lq = 113;
    c.Lk = 100;
    c.mask = m;
    c.docBits = 64;
    c.BQ = 32;
    c.BK = 16;
    Problem plain(c);
    Outputs a = plain.run(3);
    c.mapMode = mode;
    Problem mapped(c);
    Outputs b = mapped.run(2);
    ASSERT_TRUE(a.rr.ok()) << a.rr.message;
    ASSERT_TRUE(b.rr.ok()) << b.rr.message;
    EXPECT_TRUE(sameBits(a.out, b.out));
    EXPECT_TRUE(sameBits(a.lse, b.lse));
  }
}

TEST(AttentionKernel, RepeatableAcrossRunsAndThreads) {
  Case c;
  c.Hq = 4;
  c.Hkv = 2;
  c.Lq = 239;
  c.Lk = 113;
  c.mask = both({causal(true), strided(3)}, false);
  Problem p(c);
  Outputs ref1 = p.run(1);
  ASSERT_TRUE(ref1.rr.ok());
  for (int t : {1, 2, 3, 5, 8}) {
    Outputs o = p.run(t);
    ASSERT_TRUE(o.rr.ok());
    EXPECT_TRUE(sameBits(ref1.out, o.out)) << t << " threads";
    EXPECT_TRUE(sameBits(ref1.lse, o.lse)) << t << " threads";
  }
}

TEST(AttentionKernel, CheckRejectsBadParameters) {
  Case c;
  c.mask = causal();
  auto expectReject = [&](const std::function<void(Problem &, Launch &)> &edit,
                          const std::string &needle) {
    Problem p(c);
    HostTensor out(c.dt, {c.B, c.Hq, c.Lq, c.Dv}), lse(DType::F32, {c.B, c.Hq, c.Lq});
    Launch l;
    l.buffers = {&p.hq, &p.hk, &p.hv, &out, &lse};
    l.ints = p.ints;
    l.floats = p.floats;
    edit(p, l);
    RunResult r = runKernel(attune_cpu_attention_f32, attune_cpu_attention_f32_check, l);
    EXPECT_FALSE(r.ok()) << needle;
    EXPECT_NE(r.message.find(needle), std::string::npos) << r.message;
  };
  HostTensor small(DType::F32, {3});
  expectReject([&](Problem &, Launch &l) { l.buffers[1] = &small; }, "buffer 1 (k)");
  expectReject([&](Problem &, Launch &l) { l.ints[ATTUNE_ATTN_HKV] = 3; }, "multiple of Hkv");
  expectReject([&](Problem &, Launch &l) { l.ints[ATTUNE_ATTN_BLOCK_Q] = 0; }, "BLOCK_Q");
  expectReject([&](Problem &, Launch &l) { l.ints[ATTUNE_ATTN_BLOCK_K] = 2048; }, "BLOCK_K");
  expectReject([&](Problem &, Launch &l) { l.ints.pop_back(); }, "MASK_LEN");
  expectReject([&](Problem &, Launch &l) { l.ints[ATTUNE_ATTN_NUM_FIXED] = 99; }, "unknown opcode");
  expectReject([&](Problem &, Launch &l) { l.ints[ATTUNE_ATTN_D] = 2000; l.ints[ATTUNE_ATTN_DV] = 2000; },
               "at most");
  expectReject([&](Problem &, Launch &l) { l.floats.clear(); }, "scale");
  expectReject([&](Problem &, Launch &l) {
    l.ints = {c.B, c.Hq, c.Hkv, c.Lq, c.Lk, c.D, c.Dv, 64, 64, 0, 0, 1, 0, ATTUNE_MASK_DOCUMENT};
  }, "DOCUMENT");
  expectReject([&](Problem &, Launch &l) {
    l.ints = {c.B, c.Hq, c.Hkv, c.Lq, c.Lk, c.D, c.Dv, 64, 64, 0, 0, 0, 3, 1, ATTUNE_SCORE_SOFTCAP, 7};
  }, "SOFTCAP float index");
  expectReject([&](Problem &, Launch &l) {
    l.ints = {c.B, c.Hq, c.Hkv, c.Lq, c.Lk, c.D, c.Dv, 64, 64, 0, 0, 0, 3, 1, ATTUNE_SCORE_SOFTCAP, 1};
    l.floats.push_back(-1.0);
  }, "softcap cap");
  expectReject([&](Problem &, Launch &l) {
    l.ints[ATTUNE_ATTN_MAP_HEADS] = 1;
  }, "block map");
  expectReject([&](Problem &, Launch &l) { l.hooks = {nullptr, nullptr, nullptr}; }, "hooks");
  expectReject([&](Problem &, Launch &l) {
    l.ints = {c.B, c.Hq, c.Hkv, c.Lq, c.Lk, c.D, c.Dv, 64, 64, 0, 0, 4, 0, ATTUNE_MASK_WINDOW, -1, 0, 0};
  }, "left");
}

// Timing harness (run with --gtest_also_run_disabled_tests
// --gtest_filter='*DISABLED_Bench*'): f32, B=1, H=8, 2 threads.
TEST(AttentionKernel, DISABLED_Bench) {
  struct Cfg { int64_t L, D; int kind; const char *name; };
  const Cfg cfgs[] = {{1024, 64, 0, "dense"}, {1024, 64, 1, "causal"}, {1024, 64, 2, "window256"},
                      {1024, 128, 0, "dense"}, {1024, 128, 1, "causal"}, {1024, 128, 2, "window256"},
                      {4096, 64, 0, "dense"}, {4096, 64, 1, "causal"}, {4096, 64, 2, "window256"},
                      {4096, 128, 0, "dense"}, {4096, 128, 1, "causal"}, {4096, 128, 2, "window256"}};
  const char *thr = std::getenv("ATTN_BENCH_THREADS");
  int threads = thr ? std::atoi(thr) : 2;
  const char *only = std::getenv("ATTN_BENCH_L");
  for (const Cfg &g : cfgs) {
    if (only && std::atoll(only) != g.L)
      continue;
    Case c;
    c.B = 1;
    c.Hq = c.Hkv = 8;
    c.Lq = c.Lk = g.L;
    c.D = c.Dv = g.D;
    if (g.kind == 1)
      c.mask = causal();
    if (g.kind == 2)
      c.mask = window(255, 0);
    Problem p(c);
    double frac = 1.0;
    if (g.kind == 1)
      frac = (g.L + 1) / (2.0 * g.L);
    if (g.kind == 2)
      frac = (256.0 * g.L - 255.0 * 256 / 2) / (double(g.L) * g.L);
    double flops = 4.0 * c.B * c.Hq * g.L * g.L * g.D * frac;
    p.run(threads);
    double best = 1e30, bestCpu = 1e30;
    auto cpuNow = [] {
      timespec ts;
      clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
      return ts.tv_sec + ts.tv_nsec * 1e-9;
    };
    for (int rep = 0; rep < 10; ++rep) {
      double c0 = cpuNow();
      auto t0 = std::chrono::steady_clock::now();
      Outputs o = p.run(threads);
      auto t1 = std::chrono::steady_clock::now();
      double c1 = cpuNow();
      ASSERT_TRUE(o.rr.ok());
      best = std::min(best, std::chrono::duration<double>(t1 - t0).count());
      bestCpu = std::min(bestCpu, c1 - c0);
    }
    // Wall-clock GFLOP/s, and GFLOP per CPU-second (per-core throughput,
    // insensitive to other processes preempting the run).
    std::printf("attention f32 %-9s L=%-5lld D=%-4lld H=8 threads=%d: %8.3f ms  %6.1f GFLOP/s  "
                "(%5.1f GFLOP/s per busy core)\n",
                g.name, (long long)g.L, (long long)g.D, threads, best * 1e3, flops / best * 1e-9,
                flops / bestCpu * 1e-9);
  }
}

TEST(AttentionKernel, ZeroSizes) {
  // Lk = 0: every row is fully masked.
  Case c;
  c.Lq = 5;
  c.Lk = 0;
  Problem p(c);
  Outputs o = p.run(2);
  ASSERT_TRUE(o.rr.ok()) << o.rr.message;
  RefTensor out = fromStorage(o.out), lse = fromStorage(o.lse);
  for (double x : out.data)
    EXPECT_EQ(x, 0.0);
  for (double x : lse.data)
    EXPECT_EQ(x, -INFINITY);
  // Lq = 0 and B = 0: an empty grid.
  Case e;
  e.Lq = 0;
  Problem pe(e);
  Outputs oe = pe.run(2);
  EXPECT_TRUE(oe.rr.ok()) << oe.rr.message;
  EXPECT_EQ(oe.rr.grid, 0);
}

TEST(AttentionKernel, OddTileSizes) {
  const int64_t tiles[][2] = {{1, 1}, {7, 13}, {1024, 1024}, {5, 1024}, {1024, 3}};
  uint64_t seed = 900;
  for (auto &t : tiles) {
    Case c;
    c.Lq = 67;
    c.Lk = 45;
    c.BQ = t[0];
    c.BK = t[1];
    c.seed = ++seed;
    c.mask = both({causal(true), globalTokens({0, 40})}, false);
    expectMatches(c, "tiles " + std::to_string(t[0]) + "x" + std::to_string(t[1]));
  }
}
