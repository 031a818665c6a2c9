//===- GemmKernelsTest.cpp - linear, matmul and mlp against the reference -===//

#include "FamilyTestUtil.h"

ATTUNE_DECLARE_TYPED(linear)
ATTUNE_DECLARE_TYPED(matmul)
ATTUNE_DECLARE_TYPED(mlp)

using namespace attune;
using namespace attune::kernels::testing;

namespace {

/// Runs linear for x [M,K], w [N,K], optional bias; returns y.
HostTensor runLinear(DType dt, const ref::RefTensor &x, const ref::RefTensor &w,
                     const ref::RefTensor *b, int threads,
                     RunResult *res = nullptr) {
  const int64_t M = x.shape[0], K = x.shape[1], N = w.shape[0];
  HostTensor hx = toStorage(x, dt), hw = toStorage(w, dt), hy(dt, {M, N});
  HostTensor hb = b ? toStorage(*b, dt) : HostTensor();
  Launch l;
  l.buffers = {&hx, &hw, b ? &hb : nullptr, &hy};
  l.ints = {M, N, K};
  RunResult r = run(ATTUNE_FAMILY(linear, dt), l, threads);
  EXPECT_TRUE(r.ok()) << r.message;
  if (res)
    *res = r;
  return hy;
}

void checkLinear(DType dt, int64_t M, int64_t K, int64_t N, bool bias,
                 uint32_t seed) {
  ref::RefTensor x = randomRef(dt, {M, K}, seed);
  ref::RefTensor w = randomRef(dt, {N, K}, seed + 1);
  ref::RefTensor b = randomRef(dt, {N}, seed + 2);
  HostTensor y = runLinear(dt, x, w, bias ? &b : nullptr, 3);
  ref::RefTensor gold, lowp;
  ASSERT_TRUE(
      ref::linear(x, w, bias ? &b : nullptr, ref::Precision::F64, gold).isOk());
  ASSERT_TRUE(
      ref::linear(x, w, bias ? &b : nullptr, ref::Precision::Native, lowp)
          .isOk());
  EXPECT_TRUE(matches(y, gold, lowp, defaultFloor(dt)))
      << dtName(dt) << " M=" << M << " K=" << K << " N=" << N
      << " bias=" << bias;
}

TEST(GemmKernels, LinearIrregularShapes) {
  const int64_t shapes[][3] = {{1, 1, 1},      {1, 17, 5},     {3, 8, 4},
                               {17, 33, 7},    {113, 65, 31},  {239, 96, 40},
                               {1025, 37, 19}, {97, 1025, 13}, {5, 3, 1030}};
  uint32_t seed = 1;
  for (DType dt : {DType::F32, DType::BF16})
    for (auto &s : shapes)
      for (bool bias : {false, true})
        checkLinear(dt, s[0], s[1], s[2], bias, seed += 3);
  checkLinear(DType::F16, 113, 70, 33, true, 7);
  checkLinear(DType::F16, 1, 520, 9, false, 8);
}

TEST(GemmKernels, LinearDeterministicAcrossThreads) {
  for (DType dt : {DType::F32, DType::BF16}) {
    ref::RefTensor x = randomRef(dt, {200, 600}, 11),
                   w = randomRef(dt, {300, 600}, 12);
    ref::RefTensor b = randomRef(dt, {300}, 13);
    RunResult r;
    HostTensor y1 = runLinear(dt, x, w, &b, 1, &r);
    EXPECT_GE(r.grid, 8); // enough work items for a thread pool
    for (int t : {2, 3, 7})
      EXPECT_TRUE(sameBytes(y1, runLinear(dt, x, w, &b, t))) << t << " threads";
  }
}

TEST(GemmKernels, LinearCheckErrors) {
  HostTensor x(DType::F32, {4, 8}), w(DType::F32, {3, 8}),
      y(DType::F32, {4, 3});
  HostTensor small(DType::F32, {2});
  Launch l;
  l.buffers = {&x, &w, nullptr, &y};
  l.ints = {4, 3, 8};
  EXPECT_TRUE(run(ATTUNE_FAMILY(linear, DType::F32), l).ok());
  l.ints = {4, 3};
  RunResult r = run(ATTUNE_FAMILY(linear, DType::F32), l);
  EXPECT_EQ(r.code, ATTUNE_KERNEL_INVALID_ARGUMENT);
  EXPECT_NE(r.message.find("expected 3 ints"), std::string::npos) << r.message;
  l.ints = {5, 3, 8};
  r = run(ATTUNE_FAMILY(linear, DType::F32), l);
  EXPECT_NE(r.message.find("buffer 0 (x [M,K])"), std::string::npos)
      << r.message;
  l.ints = {4, 3, 8};
  l.buffers = {&x, &w, &small, &y};
  r = run(ATTUNE_FAMILY(linear, DType::F32), l);
  EXPECT_NE(r.message.find("bias [N]"), std::string::npos) << r.message;
  l.buffers = {&x, &w, nullptr, &y};
  l.ints = {int64_t(1) << 40, int64_t(1) << 40, 8};
  r = run(ATTUNE_FAMILY(linear, DType::F32), l);
  EXPECT_NE(r.message.find("overflow"), std::string::npos) << r.message;
  l.ints = {-1, 3, 8};
  r = run(ATTUNE_FAMILY(linear, DType::F32), l);
  EXPECT_NE(r.message.find("expected >= 0"), std::string::npos) << r.message;
  // bf16 buffers hold half the bytes an f32 launch needs.
  HostTensor xb(DType::BF16, {4, 8});
  l.buffers = {&xb, &w, nullptr, &y};
  l.ints = {4, 3, 8};
  r = run(ATTUNE_FAMILY(linear, DType::F32), l);
  EXPECT_EQ(r.code, ATTUNE_KERNEL_INVALID_ARGUMENT);
}

/// matmul a [batchA.., M, K] @ b [batchB.., K, N] with NumPy broadcasting.
void checkMatmul(DType dt, std::vector<int64_t> sa, std::vector<int64_t> sb,
                 uint32_t seed, int threads = 3, HostTensor *out = nullptr) {
  ref::RefTensor a = randomRef(dt, sa, seed), b = randomRef(dt, sb, seed + 1);
  ref::RefTensor gold, lowp;
  ASSERT_TRUE(ref::matmul(a, b, ref::Precision::F64, gold).isOk());
  ASSERT_TRUE(ref::matmul(a, b, ref::Precision::Native, lowp).isOk());
  const int64_t M = sa[sa.size() - 2], K = sa.back(), N = sb.back();
  const int64_t nb = static_cast<int64_t>(gold.shape.size()) - 2;
  std::vector<int64_t> ints = {M, N, K, nb};
  for (int64_t i = 0; i < nb; ++i)
    ints.push_back(gold.shape[i]);
  auto strides = [&](const std::vector<int64_t> &s, int64_t mat) {
    std::vector<int64_t> st(nb, 0);
    int64_t acc = mat;
    const int64_t r = static_cast<int64_t>(s.size()) - 2;
    for (int64_t i = r; i-- > 0;) {
      const int64_t o = i + (nb - r);
      st[o] = s[i] == 1 ? 0 : acc;
      acc *= s[i];
    }
    return st;
  };
  for (int64_t v : strides(sa, M * K))
    ints.push_back(v);
  for (int64_t v : strides(sb, K * N))
    ints.push_back(v);
  HostTensor ha = toStorage(a, dt), hb = toStorage(b, dt), hy(dt, gold.shape);
  Launch l;
  l.buffers = {&ha, &hb, &hy};
  l.ints = ints;
  RunResult r = run(ATTUNE_FAMILY(matmul, dt), l, threads);
  ASSERT_TRUE(r.ok()) << r.message;
  EXPECT_TRUE(matches(hy, gold, lowp, defaultFloor(dt))) << dtName(dt);
  if (out)
    *out = hy;
}

TEST(GemmKernels, MatmulShapesAndBroadcast) {
  for (DType dt : {DType::F32, DType::BF16}) {
    checkMatmul(dt, {1, 1}, {1, 1}, 1);
    checkMatmul(dt, {17, 33}, {33, 9}, 2);
    checkMatmul(dt, {113, 70}, {70, 130}, 3);
    checkMatmul(dt, {2, 3, 17, 9}, {2, 3, 9, 11}, 4); // batched
    checkMatmul(dt, {3, 1, 5, 8}, {1, 4, 8, 6}, 5);   // both broadcast
    checkMatmul(dt, {4, 239, 20}, {20, 7}, 6);        // b shared
    checkMatmul(dt, {7, 12}, {2, 12, 1025 / 25}, 7);  // a shared
  }
  checkMatmul(DType::F16, {2, 31, 40}, {2, 40, 19}, 8);
}

TEST(GemmKernels, MatmulDeterministicAcrossThreads) {
  HostTensor y1, y3;
  checkMatmul(DType::F32, {3, 100, 300}, {3, 300, 70}, 9, 1, &y1);
  checkMatmul(DType::F32, {3, 100, 300}, {3, 300, 70}, 9, 4, &y3);
  EXPECT_TRUE(sameBytes(y1, y3));
}

TEST(GemmKernels, MatmulCheckErrors) {
  HostTensor a(DType::F32, {2, 4, 8}), b(DType::F32, {2, 8, 3}),
      y(DType::F32, {2, 4, 3});
  Launch l;
  l.buffers = {&a, &b, &y};
  l.ints = {4, 3, 8, 1, 2, 32, 24};
  EXPECT_TRUE(run(ATTUNE_FAMILY(matmul, DType::F32), l).ok());
  l.ints = {4, 3, 8, 1, 2, 32, 24, 0};
  RunResult r = run(ATTUNE_FAMILY(matmul, DType::F32), l);
  EXPECT_NE(r.message.find("nbatch = 1 needs 7 ints"), std::string::npos)
      << r.message;
  l.ints = {4, 3, 8, 1, 3, 32, 24}; // batch 3 reads past a
  r = run(ATTUNE_FAMILY(matmul, DType::F32), l);
  EXPECT_NE(r.message.find("buffer 0 (a)"), std::string::npos) << r.message;
}

struct MlpCase {
  DType dt;
  int64_t M, Din, F, Dout;
  int act;
  bool gated, bUp, bDown;
};

HostTensor checkMlp(const MlpCase &c, uint32_t seed, int threads = 3) {
  const DType dt = c.dt;
  ref::RefTensor x = randomRef(dt, {c.M, c.Din}, seed);
  ref::RefTensor wUp = randomRef(dt, {c.F, c.Din}, seed + 1, -0.5, 0.5);
  ref::RefTensor wGate = randomRef(dt, {c.F, c.Din}, seed + 2, -0.5, 0.5);
  ref::RefTensor wDown = randomRef(dt, {c.Dout, c.F}, seed + 3, -0.5, 0.5);
  ref::RefTensor bUp = randomRef(dt, {c.F}, seed + 4),
                 bDown = randomRef(dt, {c.Dout}, seed + 5);
  ref::RefTensor gold, lowp;
  const auto act = static_cast<ref::Activation>(c.act);
  for (auto p : {ref::Precision::F64, ref::Precision::Native}) {
    EXPECT_TRUE(ref::mlp(x, c.gated ? &wGate : nullptr, wUp, wDown,
                         c.bUp ? &bUp : nullptr, c.bDown ? &bDown : nullptr,
                         act, p, p == ref::Precision::F64 ? gold : lowp)
                    .isOk());
  }
  HostTensor hx = toStorage(x, dt), hu = toStorage(wUp, dt),
             hg = toStorage(wGate, dt), hd = toStorage(wDown, dt),
             hbu = toStorage(bUp, dt), hbd = toStorage(bDown, dt),
             hy(dt, {c.M, c.Dout});
  Launch l;
  l.buffers = {&hx,
               &hu,
               &hd,
               c.gated ? &hg : nullptr,
               c.bUp ? &hbu : nullptr,
               c.bDown ? &hbd : nullptr,
               &hy};
  l.ints = {c.M, c.Din, c.F, c.Dout, c.act, c.gated ? 1 : 0};
  RunResult r = run(ATTUNE_FAMILY(mlp, dt), l, threads);
  EXPECT_TRUE(r.ok()) << r.message;
  EXPECT_TRUE(matches(hy, gold, lowp, defaultFloor(dt)))
      << dtName(dt) << " M=" << c.M << " act=" << c.act << " gated=" << c.gated;
  return hy;
}

TEST(GemmKernels, MlpActivationsAndShapes) {
  uint32_t seed = 100;
  for (DType dt : {DType::F32, DType::BF16})
    for (int act = 0; act < 4; ++act)
      for (bool gated : {true, false}) {
        checkMlp({dt, 17, 40, 67, 23, act, gated, true, true}, seed += 7);
        checkMlp({dt, 1, 9, 5, 3, act, gated, !gated, false}, seed += 7);
      }
  checkMlp({DType::F32, 239, 64, 176, 48, 0, true, false, false}, 5);
  checkMlp({DType::BF16, 113, 96, 257, 33, 0, true, false, true}, 6);
  checkMlp({DType::F16, 33, 24, 40, 16, 2, true, true, true}, 7);
}

TEST(GemmKernels, MlpDeterministicAcrossThreads) {
  MlpCase c{DType::BF16, 150, 48, 100, 40, 0, true, true, true};
  HostTensor y1 = checkMlp(c, 77, 1), y4 = checkMlp(c, 77, 4);
  EXPECT_TRUE(sameBytes(y1, y4));
}

TEST(GemmKernels, MlpCheckErrors) {
  HostTensor x(DType::F32, {2, 4}), wu(DType::F32, {6, 4}),
      wd(DType::F32, {3, 6}), y(DType::F32, {2, 3});
  Launch l;
  l.buffers = {&x, &wu, &wd, nullptr, nullptr, nullptr, &y};
  l.ints = {2, 4, 6, 3, 0, 0};
  EXPECT_TRUE(run(ATTUNE_FAMILY(mlp, DType::F32), l).ok());
  l.ints = {2, 4, 6, 3, 0, 1};
  RunResult r = run(ATTUNE_FAMILY(mlp, DType::F32), l);
  EXPECT_NE(r.message.find("w_gate [F,Din]"), std::string::npos) << r.message;
  l.ints = {2, 4, 6, 3, 9, 0};
  r = run(ATTUNE_FAMILY(mlp, DType::F32), l);
  EXPECT_NE(r.message.find("activation 9"), std::string::npos) << r.message;
}

} // namespace
