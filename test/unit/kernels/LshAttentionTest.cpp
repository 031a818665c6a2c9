//===- LshAttentionTest.cpp - attune_cpu_lsh_attention_* -------------------===//

#include "AttentionTestCommon.h"
#include "attune/abi/Philox4x32.h"
#include "attune/runtime/Philox.h"

#include <cmath>
#include <gtest/gtest.h>

ATTUNE_DECLARE_TYPED(lsh_attention)

using namespace attune;
using namespace attune::kernels::testing;
using ref::RefTensor;

namespace {

struct LCase {
  int64_t B = 1, H = 2, L = 113, D = 64, Dv = 64;
  int64_t nb = 8, rounds = 2, chunk = 16;
  uint64_t seed = 7;
  bool causal = false, giveRot = false;
  DType dt = DType::F32;
  uint64_t dataSeed = 1;
};

struct LRun {
  HostTensor out, lse;
  RunResult rr;
  RefTensor x, v, rot;
};

LRun runLsh(const LCase &c, int threads = 3) {
  LRun r;
  std::mt19937_64 rng(c.dataSeed);
  r.x = randomTensor(c.dt, {c.B, c.H, c.L, c.D}, rng);
  r.v = randomTensor(c.dt, {c.B, c.H, c.L, c.Dv}, rng);
  HostTensor hx = toStorage(r.x, c.dt), hv = toStorage(r.v, c.dt), hr;
  r.out = HostTensor(c.dt, {c.B, c.H, c.L, c.Dv});
  r.lse = HostTensor(DType::F32, {c.B, c.H, c.L});
  Launch l;
  l.buffers = {&hx, &hv, &r.out, &r.lse};
  if (c.giveRot) {
    r.rot = randomTensor(c.dt, {c.rounds, c.D, c.nb / 2}, rng);
    hr = toStorage(r.rot, c.dt);
    l.buffers.push_back(&hr);
  }
  l.ints = {c.B, c.H, c.L, c.D, c.Dv, c.nb, c.rounds, c.chunk, int64_t(c.seed), c.causal ? 1 : 0};
  l.floats = {1.0 / std::sqrt(double(c.D))};
  auto kern = c.dt == DType::F32    ? attune_cpu_lsh_attention_f32
              : c.dt == DType::BF16 ? attune_cpu_lsh_attention_bf16
                                    : attune_cpu_lsh_attention_f16;
  auto chk = c.dt == DType::F32    ? attune_cpu_lsh_attention_f32_check
             : c.dt == DType::BF16 ? attune_cpu_lsh_attention_bf16_check
                                   : attune_cpu_lsh_attention_f16_check;
  r.rr = runKernel(kern, chk, l, threads);
  return r;
}

void expectMatches(const LCase &c, const std::string &what) {
  LRun r = runLsh(c);
  ASSERT_TRUE(r.rr.ok()) << what << ": " << r.rr.message;
  ref::LshSpec spec;
  spec.numBuckets = c.nb;
  spec.numRounds = c.rounds;
  spec.chunkSize = c.chunk;
  spec.seed = c.seed;
  spec.causal = c.causal;
  RefTensor gO, gL, nO, nL;
  const RefTensor *rot = c.giveRot ? &r.rot : nullptr;
  ASSERT_TRUE(ref::lshAttention(r.x, r.v, rot, spec, ref::Precision::F64, gO, gL).isOk());
  ASSERT_TRUE(ref::lshAttention(r.x, r.v, rot, spec, ref::Precision::Native, nO, nL).isOk());
  double floor = c.dt == DType::F32 ? 1e-6 : 1e-3;
  auto t1 = ref::checkTolerance(fromStorage(r.out), gO, nO, floor);
  EXPECT_TRUE(t1.ok) << what << " out: " << t1.message;
  auto t2 = ref::checkTolerance(fromStorage(r.lse), gL, nL, floor);
  EXPECT_TRUE(t2.ok) << what << " lse: " << t2.message;
}

} // namespace

TEST(LshAttentionKernel, PhiloxHeaderMatchesRuntime) {
  for (uint64_t seed : {0ull, 1ull, 0xdeadbeefcafef00dull})
    for (uint32_t stream : {0u, 3u})
      for (uint64_t i = 0; i < 4000; i += 7)
        ASSERT_EQ(attune::abi::philoxNormal(seed, stream, i), attune::philoxNormal(seed, stream, i));
}

TEST(LshAttentionKernel, MatchesReference) {
  uint64_t s = 0;
  for (int64_t L : {1, 3, 113, 239})
    for (bool causal : {false, true}) {
      LCase c;
      c.L = L;
      c.causal = causal;
      c.dataSeed = ++s;
      expectMatches(c, "L=" + std::to_string(L) + (causal ? " causal" : ""));
    }
}

TEST(LshAttentionKernel, Variants) {
  LCase c;
  c.nb = 1;
  expectMatches(c, "one bucket");
  c.nb = 4;
  c.rounds = 3;
  c.chunk = 1;
  expectMatches(c, "chunk 1");
  c.chunk = 200;
  expectMatches(c, "one chunk");
  c.chunk = 57;
  expectMatches(c, "two chunks");
  c.chunk = 20;
  c.giveRot = true;
  c.causal = true;
  expectMatches(c, "rotations given, causal");
  c.giveRot = false;
  c.D = 40;
  c.Dv = 13;
  c.nb = 16;
  c.chunk = 70;
  expectMatches(c, "D40 Dv13 chunk 70 (key blocks > 64)");
  c.D = c.Dv = 64;
  c.dt = DType::BF16;
  expectMatches(c, "bf16");
  c.dt = DType::F16;
  c.giveRot = true;
  expectMatches(c, "f16 rotations");
  c.dt = DType::F32;
  c.giveRot = false;
  c.L = 1025;
  c.H = 1;
  c.nb = 32;
  c.chunk = 64;
  c.rounds = 2;
  expectMatches(c, "L1025");
}

TEST(LshAttentionKernel, BitwiseRepeatableAcrossThreads) {
  LCase c;
  c.B = 2;
  c.H = 3;
  c.L = 239;
  c.causal = true;
  LRun a = runLsh(c, 1);
  ASSERT_TRUE(a.rr.ok());
  for (int t : {1, 2, 4, 6}) {
    LRun b = runLsh(c, t);
    ASSERT_TRUE(b.rr.ok());
    EXPECT_EQ(std::memcmp(a.out.data(), b.out.data(), a.out.byteSize()), 0) << t;
    EXPECT_EQ(std::memcmp(a.lse.data(), b.lse.data(), a.lse.byteSize()), 0) << t;
  }
}

TEST(LshAttentionKernel, CheckRejects) {
  LCase c;
  c.nb = 3;
  LRun r = runLsh(c);
  EXPECT_FALSE(r.rr.ok());
  EXPECT_NE(r.rr.message.find("num_buckets"), std::string::npos) << r.rr.message;
  c.nb = 4;
  c.chunk = 0;
  r = runLsh(c);
  EXPECT_NE(r.rr.message.find("chunk_size"), std::string::npos) << r.rr.message;
  c.chunk = 4;
  c.rounds = 0;
  r = runLsh(c);
  EXPECT_NE(r.rr.message.find("num_rounds"), std::string::npos) << r.rr.message;
}
