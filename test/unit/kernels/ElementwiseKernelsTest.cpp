//===- ElementwiseKernelsTest.cpp - unary, binary and reduce --------------===//

#include "FamilyTestUtil.h"

#include <cmath>

ATTUNE_DECLARE_TYPED(unary)
ATTUNE_DECLARE_TYPED(binary)
ATTUNE_DECLARE_TYPED(reduce)

using namespace attune;
using namespace attune::kernels::testing;
using ref::Precision;

namespace {

HostTensor runUnary(DType dt, int kind, const ref::RefTensor &x, int threads) {
  HostTensor hx = toStorage(x, dt), hy(dt, x.shape);
  Launch l;
  l.buffers = {&hx, &hy};
  l.ints = {x.numElements(), kind};
  RunResult r = run(ATTUNE_FAMILY(unary, dt), l, threads);
  EXPECT_TRUE(r.ok()) << r.message;
  return hy;
}

TEST(ElementwiseKernels, UnaryEveryKind) {
  const char *names[] = {"neg",     "exp", "log",  "tanh", "sqrt",      "rsqrt",
                         "sigmoid", "abs", "silu", "gelu", "gelu_tanh", "relu"};
  uint32_t seed = 1;
  for (DType dt : {DType::F32, DType::BF16, DType::F16})
    for (int kind = 0; kind < 12; ++kind)
      for (int64_t n : {1, 7, 17, 1025, 9000}) {
        const bool positive = kind == 2 || kind == 4 || kind == 5;
        ref::RefTensor x = randomRef(dt, {n}, ++seed, positive ? 0.05 : -3,
                                     kind == 1 ? 2.5 : 3);
        if (!positive && n > 8) { // tiny, zero and large values
          x.data[0] = 0;
          x.data[1] = roundToDType(1e-4, dt);
          x.data[2] = roundToDType(-8.5, dt);
          x.data[3] = kind == 1 ? -90 : 9;
        }
        ref::RefTensor gold, lowp;
        const auto k = static_cast<ref::UnaryKind>(kind);
        ASSERT_TRUE(ref::unary(k, x, Precision::F64, gold).isOk());
        ASSERT_TRUE(ref::unary(k, x, Precision::Native, lowp).isOk());
        EXPECT_TRUE(
            matches(runUnary(dt, kind, x, 3), gold, lowp, defaultFloor(dt)))
            << names[kind] << " " << dtName(dt) << " n=" << n;
      }
}

TEST(ElementwiseKernels, UnaryDeterministicAndErrors) {
  ref::RefTensor x = randomRef(DType::F32, {20000}, 3, -4, 4);
  EXPECT_TRUE(sameBytes(runUnary(DType::F32, 10, x, 1),
                        runUnary(DType::F32, 10, x, 4)));
  HostTensor hx(DType::F32, {8}), hy(DType::F32, {4});
  Launch l;
  l.buffers = {&hx, &hy};
  l.ints = {8, 0};
  RunResult r = run(ATTUNE_FAMILY(unary, DType::F32), l);
  EXPECT_NE(r.message.find("buffer 1 (y) holds 16 bytes; needs 32"),
            std::string::npos)
      << r.message;
  l.ints = {4, 12};
  r = run(ATTUNE_FAMILY(unary, DType::F32), l);
  EXPECT_NE(r.message.find("kind = 12"), std::string::npos) << r.message;
}

/// binary a (shape sa) op b (shape sb) with NumPy broadcasting.
void checkBinary(DType dt, int kind, std::vector<int64_t> sa,
                 std::vector<int64_t> sb, uint32_t seed) {
  const bool pow = kind == 6;
  ref::RefTensor a = randomRef(dt, sa, seed, pow ? 0.1 : -2, 2);
  ref::RefTensor b = randomRef(dt, sb, seed + 1, pow ? -2 : -2, 2);
  if (kind == 3) // keep divisors away from 0
    for (double &v : b.data)
      v = roundToDType(v >= 0 ? v + 0.5 : v - 0.5, dt);
  ref::RefTensor gold, lowp;
  const auto k = static_cast<ref::BinaryKind>(kind);
  ASSERT_TRUE(ref::binary(k, a, b, Precision::F64, gold).isOk());
  ASSERT_TRUE(ref::binary(k, a, b, Precision::Native, lowp).isOk());
  const int64_t rank = static_cast<int64_t>(gold.shape.size());
  std::vector<int64_t> ints = {kind, rank};
  for (int64_t d : gold.shape)
    ints.push_back(d);
  for (const auto *s : {&sa, &sb}) {
    std::vector<int64_t> st(rank, 0);
    int64_t acc = 1;
    const int64_t r = static_cast<int64_t>(s->size());
    for (int64_t i = r; i-- > 0;) {
      const int64_t o = i + (rank - r);
      st[o] = ((*s)[i] == 1 && gold.shape[o] != 1) ? 0 : acc;
      acc *= (*s)[i];
    }
    ints.insert(ints.end(), st.begin(), st.end());
  }
  HostTensor ha = toStorage(a, dt), hb = toStorage(b, dt), hy(dt, gold.shape);
  Launch l;
  l.buffers = {&ha, &hb, &hy};
  l.ints = ints;
  RunResult r = run(ATTUNE_FAMILY(binary, dt), l);
  ASSERT_TRUE(r.ok()) << r.message;
  EXPECT_TRUE(matches(hy, gold, lowp, defaultFloor(dt) * (pow ? 10 : 1)))
      << "kind " << kind << " " << dtName(dt);
}

TEST(ElementwiseKernels, BinaryEveryKindWithBroadcasting) {
  uint32_t seed = 20;
  for (DType dt : {DType::F32, DType::BF16})
    for (int kind = 0; kind < 7; ++kind) {
      checkBinary(dt, kind, {1025}, {1025}, seed += 2);
      checkBinary(dt, kind, {17, 33}, {33}, seed += 2);    // row broadcast
      checkBinary(dt, kind, {17, 33}, {17, 1}, seed += 2); // column broadcast
      checkBinary(dt, kind, {3, 1, 5}, {4, 1}, seed += 2); // both
      checkBinary(dt, kind, {}, {2, 9}, seed += 2);        // scalar a
      checkBinary(dt, kind, {2, 3, 113}, {2, 1, 113}, seed += 2);
    }
  checkBinary(DType::F16, 0, {5, 17}, {17}, 3);
  checkBinary(DType::F16, 3, {239}, {1}, 4);
}

TEST(ElementwiseKernels, BinaryNaNPropagatesThroughMaxMin) {
  for (int kind : {4, 5}) {
    HostTensor a(DType::F32, {3}), b(DType::F32, {3}), y(DType::F32, {3});
    a.setDouble(0, NAN);
    a.setDouble(1, 1);
    a.setDouble(2, 2);
    b.setDouble(0, 1);
    b.setDouble(1, NAN);
    b.setDouble(2, 3);
    Launch l;
    l.buffers = {&a, &b, &y};
    l.ints = {kind, 1, 3, 1, 1};
    ASSERT_TRUE(run(ATTUNE_FAMILY(binary, DType::F32), l).ok());
    EXPECT_TRUE(std::isnan(y.getDouble(0)));
    EXPECT_TRUE(std::isnan(y.getDouble(1)));
    EXPECT_EQ(y.getDouble(2), kind == 4 ? 3 : 2);
  }
}

TEST(ElementwiseKernels, BinaryCheckErrors) {
  HostTensor a(DType::F32, {4}), b(DType::F32, {3}), y(DType::F32, {4});
  Launch l;
  l.buffers = {&a, &b, &y};
  l.ints = {0, 1, 4, 1, 1};
  RunResult r = run(ATTUNE_FAMILY(binary, DType::F32), l);
  EXPECT_NE(r.message.find("buffer 1 (b)"), std::string::npos) << r.message;
  l.ints = {0, 2, 4, 1, 1};
  r = run(ATTUNE_FAMILY(binary, DType::F32), l);
  EXPECT_NE(r.message.find("rank = 2 with 5 ints"), std::string::npos)
      << r.message;
}

void checkReduce(DType dt, int kind, std::vector<int64_t> shape,
                 std::vector<int64_t> axes, uint32_t seed, int threads = 3,
                 HostTensor *out = nullptr) {
  ref::RefTensor x = randomRef(dt, shape, seed, -2, 2);
  ref::RefTensor gold, lowp;
  const auto k = static_cast<ref::ReduceKind>(kind);
  ASSERT_TRUE(ref::reduce(k, x, axes, false, Precision::F64, gold).isOk());
  ASSERT_TRUE(ref::reduce(k, x, axes, false, Precision::Native, lowp).isOk());
  std::vector<int64_t> ints = {kind, static_cast<int64_t>(shape.size())};
  ints.insert(ints.end(), shape.begin(), shape.end());
  for (size_t d = 0; d < shape.size(); ++d)
    ints.push_back(std::find(axes.begin(), axes.end(), int64_t(d)) !=
                   axes.end());
  HostTensor hx = toStorage(x, dt), hy(dt, gold.shape);
  Launch l;
  l.buffers = {&hx, &hy};
  l.ints = ints;
  RunResult r = run(ATTUNE_FAMILY(reduce, dt), l, threads);
  ASSERT_TRUE(r.ok()) << r.message;
  EXPECT_TRUE(matches(hy, gold, lowp, defaultFloor(dt) * 10))
      << "kind " << kind << " " << dtName(dt) << " axes " << axes.size();
  if (out)
    *out = hy;
}

TEST(ElementwiseKernels, ReduceOverAxes) {
  uint32_t seed = 40;
  for (DType dt : {DType::F32, DType::BF16})
    for (int kind = 0; kind < 3; ++kind) {
      checkReduce(dt, kind, {1025}, {0}, ++seed);
      checkReduce(dt, kind, {17, 113}, {1}, ++seed);
      checkReduce(dt, kind, {17, 113}, {0}, ++seed);
      checkReduce(dt, kind, {3, 17, 5, 9}, {1, 3}, ++seed);
      checkReduce(dt, kind, {3, 17, 5, 9}, {0, 2}, ++seed);
      checkReduce(dt, kind, {4, 1, 6, 70}, {0, 1, 2, 3}, ++seed);
      checkReduce(dt, kind, {2, 3, 239}, {}, ++seed);
      checkReduce(dt, kind, {239, 3, 1}, {1, 2}, ++seed);
    }
  checkReduce(DType::F16, 1, {9, 33}, {1}, 5);
}

TEST(ElementwiseKernels, ReduceDeterministicAndErrors) {
  HostTensor y1, y4;
  checkReduce(DType::F32, 0, {30, 200, 7}, {1}, 9, 1, &y1);
  checkReduce(DType::F32, 0, {30, 200, 7}, {1}, 9, 4, &y4);
  EXPECT_TRUE(sameBytes(y1, y4));
  HostTensor x(DType::F32, {0, 3}), y(DType::F32, {3});
  Launch l;
  l.buffers = {&x, &y};
  l.ints = {2, 2, 0, 3, 1, 0};
  RunResult r = run(ATTUNE_FAMILY(reduce, DType::F32), l);
  EXPECT_NE(r.message.find("max reduces empty slices"), std::string::npos)
      << r.message;
  l.ints = {0, 2, 0, 3, 1, 0}; // sum of nothing is 0
  ASSERT_TRUE(run(ATTUNE_FAMILY(reduce, DType::F32), l).ok());
  EXPECT_EQ(y.getDouble(0), 0);
}

} // namespace
