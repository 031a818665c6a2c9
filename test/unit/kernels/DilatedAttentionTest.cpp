//===- DilatedAttentionTest.cpp - attune_cpu_dilated_attention_* -----------===//

#include "AttentionTestCommon.h"

#include <cmath>
#include <gtest/gtest.h>

ATTUNE_DECLARE_TYPED(dilated_attention)

using namespace attune;
using namespace attune::kernels::testing;
using ref::RefTensor;

namespace {

struct DCase {
  int64_t B = 1, Hq = 4, Hkv = 2, Lq = 113, Lk = 113, D = 64, Dv = 64;
  DType dt = DType::F32;
  std::vector<ref::DilatedBranch> branches{{16, 1}, {32, 2}, {64, 4}};
  bool causal = false;
  uint64_t seed = 1;
};

struct DRun {
  HostTensor out, lse;
  RunResult rr;
  RefTensor q, k, v;
};

DRun runDilated(const DCase &c, int threads = 3) {
  DRun r;
  std::mt19937_64 rng(c.seed);
  r.q = randomTensor(c.dt, {c.B, c.Hq, c.Lq, c.D}, rng);
  r.k = randomTensor(c.dt, {c.B, c.Hkv, c.Lk, c.D}, rng);
  r.v = randomTensor(c.dt, {c.B, c.Hkv, c.Lk, c.Dv}, rng);
  HostTensor hq = toStorage(r.q, c.dt), hk = toStorage(r.k, c.dt), hv = toStorage(r.v, c.dt);
  r.out = HostTensor(c.dt, {c.B, c.Hq, c.Lq, c.Dv});
  r.lse = HostTensor(DType::F32, {c.B, c.Hq, c.Lq});
  Launch l;
  l.buffers = {&hq, &hk, &hv, &r.out, &r.lse};
  l.ints = {c.B, c.Hq, c.Hkv, c.Lq, c.Lk, c.D, c.Dv, c.causal ? 1 : 0,
            int64_t(c.branches.size())};
  for (auto &b : c.branches)
    l.ints.push_back(b.segment);
  for (auto &b : c.branches)
    l.ints.push_back(b.rate);
  l.floats = {1.0 / std::sqrt(double(c.D))};
  auto kern = c.dt == DType::F32    ? attune_cpu_dilated_attention_f32
              : c.dt == DType::BF16 ? attune_cpu_dilated_attention_bf16
                                    : attune_cpu_dilated_attention_f16;
  auto chk = c.dt == DType::F32    ? attune_cpu_dilated_attention_f32_check
             : c.dt == DType::BF16 ? attune_cpu_dilated_attention_bf16_check
                                   : attune_cpu_dilated_attention_f16_check;
  r.rr = runKernel(kern, chk, l, threads);
  return r;
}

void expectMatches(const DCase &c, const std::string &what) {
  DRun r = runDilated(c);
  ASSERT_TRUE(r.rr.ok()) << what << ": " << r.rr.message;
  RefTensor gO, gL, nO, nL;
  ASSERT_TRUE(ref::dilatedAttention(r.q, r.k, r.v, c.branches, c.causal, std::nullopt,
                                    ref::Precision::F64, gO, gL).isOk());
  ASSERT_TRUE(ref::dilatedAttention(r.q, r.k, r.v, c.branches, c.causal, std::nullopt,
                                    ref::Precision::Native, nO, nL).isOk());
  double floor = c.dt == DType::F32 ? 1e-6 : 1e-3;
  auto t1 = ref::checkTolerance(fromStorage(r.out), gO, nO, floor);
  EXPECT_TRUE(t1.ok) << what << " out: " << t1.message;
  auto t2 = ref::checkTolerance(fromStorage(r.lse), gL, nL, floor);
  EXPECT_TRUE(t2.ok) << what << " lse: " << t2.message;
}

} // namespace

TEST(DilatedAttentionKernel, MatchesReference) {
  const int64_t Ls[][2] = {{1, 1}, {3, 3}, {113, 113}, {239, 113}, {113, 239}, {300, 260}};
  uint64_t seed = 1;
  for (auto &L : Ls)
    for (bool causal : {false, true}) {
      DCase c;
      c.Lq = L[0];
      c.Lk = L[1];
      c.causal = causal;
      c.seed = ++seed;
      expectMatches(c, "L " + std::to_string(L[0]) + "x" + std::to_string(L[1]) +
                           (causal ? " causal" : ""));
    }
}

TEST(DilatedAttentionKernel, BranchShapesAndDims) {
  DCase c;
  c.Lq = c.Lk = 1025;
  c.Hq = 2;
  c.Hkv = 1;
  c.branches = {{256, 1}, {512, 4}, {1024, 16}};
  c.causal = true;
  expectMatches(c, "longnet-like 1025");
  c.Lq = c.Lk = 239;
  c.branches = {{6, 3}, {10, 5}, {7, 1}, {500, 250}};
  c.D = 40;
  c.Dv = 72;
  c.causal = false;
  expectMatches(c, "odd segments, D40 Dv72");
  c.causal = true;
  c.D = 96;
  c.Dv = 13;
  expectMatches(c, "odd segments causal, Dv13");
  c.dt = DType::BF16;
  c.D = c.Dv = 64;
  expectMatches(c, "bf16");
  c.dt = DType::F16;
  c.causal = false;
  expectMatches(c, "f16");
}

TEST(DilatedAttentionKernel, RepeatableAcrossThreads) {
  DCase c;
  c.Lq = c.Lk = 300;
  c.causal = true;
  DRun a = runDilated(c, 1);
  for (int t : {2, 3, 7}) {
    DRun b = runDilated(c, t);
    ASSERT_TRUE(b.rr.ok());
    EXPECT_EQ(std::memcmp(a.out.data(), b.out.data(), a.out.byteSize()), 0);
    EXPECT_EQ(std::memcmp(a.lse.data(), b.lse.data(), a.lse.byteSize()), 0);
  }
}

TEST(DilatedAttentionKernel, CheckRejects) {
  DCase c;
  c.branches = {{10, 3}};
  DRun r = runDilated(c);
  EXPECT_FALSE(r.rr.ok());
  EXPECT_NE(r.rr.message.find("rate dividing segment"), std::string::npos) << r.rr.message;
  c.branches = {{8, 2}};
  c.Hkv = 3;
  r = runDilated(c);
  EXPECT_FALSE(r.rr.ok());
  EXPECT_NE(r.rr.message.find("multiple of Hkv"), std::string::npos) << r.rr.message;
}
