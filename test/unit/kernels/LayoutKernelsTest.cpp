//===- LayoutKernelsTest.cpp - cast, transpose, concat, slice, copy -------===//

#include "FamilyTestUtil.h"

#include <cmath>
#include <numeric>

ATTUNE_DECLARE_KERNEL(attune_cpu_cast)
ATTUNE_DECLARE_KERNEL(attune_cpu_transpose)
ATTUNE_DECLARE_KERNEL(attune_cpu_concat)
ATTUNE_DECLARE_KERNEL(attune_cpu_slice)
ATTUNE_DECLARE_KERNEL(attune_cpu_copy)

using namespace attune;
using namespace attune::kernels::testing;

namespace {

const Family kCast{attune_cpu_cast, attune_cpu_cast_check};
const Family kTranspose{attune_cpu_transpose, attune_cpu_transpose_check};
const Family kConcat{attune_cpu_concat, attune_cpu_concat_check};
const Family kSlice{attune_cpu_slice, attune_cpu_slice_check};
const Family kCopy{attune_cpu_copy, attune_cpu_copy_check};

int64_t code(DType dt) {
  switch (dt) {
  case DType::F32:
    return ATTUNE_DT_F32;
  case DType::F16:
    return ATTUNE_DT_F16;
  case DType::BF16:
    return ATTUNE_DT_BF16;
  case DType::F64:
    return ATTUNE_DT_F64;
  case DType::I32:
    return ATTUNE_DT_I32;
  case DType::I64:
    return ATTUNE_DT_I64;
  case DType::I16:
    return ATTUNE_DT_I16;
  case DType::I8:
    return ATTUNE_DT_I8;
  default:
    return ATTUNE_DT_I1;
  }
}

TEST(LayoutKernels, CastAmongDtypes) {
  const DType all[] = {DType::F32, DType::BF16, DType::F16, DType::F64,
                       DType::I32, DType::I64,  DType::I16, DType::I8};
  std::mt19937 rng(5);
  std::uniform_real_distribution<double> u(-300, 300);
  for (DType from : all)
    for (DType to : all) {
      const int64_t n = 20000 + 17;
      ref::RefTensor x(from, {n});
      for (double &v : x.data)
        v = roundToDType(u(rng) * (rng() % 3 == 0 ? 1e-3 : 1), from) +
            0.0; // no -0 ints
      x.data[0] =
          roundToDType(70000.5, from); // overflows f16, saturates i8/i16
      x.data[1] = roundToDType(-1.5, from);
      x.data[2] = roundToDType(2.5, from);
      x.data[3] =
          roundToDType(1.0009765625 + 0x1p-20, from); // rounding of f16/bf16
      x.data[4] = roundToDType(-1e-3, from) + 0.0;
      ref::RefTensor gold;
      ASSERT_TRUE(ref::cast(x, to, gold).isOk());
      HostTensor hx = x.toHost(), hy(to, {n});
      Launch l;
      l.buffers = {&hx, &hy};
      l.ints = {n, code(from), code(to)};
      RunResult r = run(kCast, l);
      ASSERT_TRUE(r.ok()) << r.message;
      HostTensor want = gold.toHost();
      EXPECT_TRUE(sameBytes(hy, want))
          << dtypeName(from) << " -> " << dtypeName(to);
    }
}

TEST(LayoutKernels, CastNaNAndCheck) {
  HostTensor x(DType::F32, {3}), y(DType::I32, {3});
  x.setDouble(0, NAN);
  x.setDouble(1, 1e20);
  x.setDouble(2, -1e20);
  Launch l;
  l.buffers = {&x, &y};
  l.ints = {3, ATTUNE_DT_F32, ATTUNE_DT_I32};
  ASSERT_TRUE(run(kCast, l).ok());
  EXPECT_EQ(y.getInt(0), 0);
  EXPECT_EQ(y.getInt(1), 2147483647);
  EXPECT_EQ(y.getInt(2), -2147483648LL);
  l.ints = {3, ATTUNE_DT_F32, 42};
  RunResult r = run(kCast, l);
  EXPECT_NE(r.message.find("dtype codes 0 -> 42"), std::string::npos)
      << r.message;
  l.ints = {3, ATTUNE_DT_F32, ATTUNE_DT_I64};
  r = run(kCast, l);
  EXPECT_NE(r.message.find("buffer 1 (y) holds 12 bytes; needs 24"),
            std::string::npos)
      << r.message;
}

void checkTranspose(DType dt, std::vector<int64_t> shape,
                    std::vector<int64_t> perm, uint32_t seed) {
  ref::RefTensor x = randomRef(dt, shape, seed, -100, 100);
  ref::RefTensor gold;
  ASSERT_TRUE(ref::transpose(x, perm, gold).isOk());
  HostTensor hx = x.toHost(), hy(dt, gold.shape);
  Launch l;
  l.buffers = {&hx, &hy};
  l.ints = {static_cast<int64_t>(dtypeSize(dt)),
            static_cast<int64_t>(shape.size())};
  l.ints.insert(l.ints.end(), shape.begin(), shape.end());
  l.ints.insert(l.ints.end(), perm.begin(), perm.end());
  RunResult r = run(kTranspose, l);
  ASSERT_TRUE(r.ok()) << r.message;
  EXPECT_TRUE(sameBytes(hy, gold.toHost()));
}

TEST(LayoutKernels, TransposePermutations) {
  uint32_t seed = 1;
  for (DType dt : {DType::F32, DType::BF16, DType::F64, DType::I8}) {
    checkTranspose(dt, {17, 33}, {1, 0}, ++seed);
    checkTranspose(dt, {2, 3, 113, 8}, {0, 2, 1, 3},
                   ++seed); // [B,H,L,D] -> [B,L,H,D]
    checkTranspose(dt, {2, 3, 5, 7}, {3, 1, 0, 2}, ++seed);
    checkTranspose(dt, {4, 5, 6}, {0, 1, 2}, ++seed);
    checkTranspose(dt, {1025}, {0}, ++seed);
    checkTranspose(dt, {}, {}, ++seed);
  }
  HostTensor x(DType::F32, {6}), y(DType::F32, {6});
  Launch l;
  l.buffers = {&x, &y};
  l.ints = {4, 2, 2, 3, 0, 0};
  RunResult r = run(kTranspose, l);
  EXPECT_NE(r.message.find("perm is not a permutation"), std::string::npos)
      << r.message;
}

TEST(LayoutKernels, ConcatAndSlice) {
  for (DType dt : {DType::F32, DType::BF16, DType::I64}) {
    for (int64_t axis : {0, 1, 2}) {
      std::vector<ref::RefTensor> xs;
      std::vector<HostTensor> hs;
      for (int i = 0; i < 3; ++i) {
        std::vector<int64_t> s = {3, 4, 5};
        s[axis] = i + 1 + (i == 2 ? 14 : 0);
        xs.push_back(randomRef(dt, s, 10 + i + 3 * axis, -50, 50));
      }
      ref::RefTensor gold;
      ASSERT_TRUE(ref::concat(xs, axis, gold).isOk());
      for (auto &x : xs)
        hs.push_back(x.toHost());
      HostTensor hy(dt, gold.shape);
      Launch l;
      for (auto &h : hs)
        l.buffers.push_back(&h);
      l.buffers.push_back(&hy);
      int64_t outer = 1, inner = 1;
      for (int64_t d = 0; d < axis; ++d)
        outer *= gold.shape[d];
      for (int64_t d = axis + 1; d < 3; ++d)
        inner *= gold.shape[d];
      l.ints = {static_cast<int64_t>(dtypeSize(dt)), 3, outer, inner};
      for (auto &x : xs)
        l.ints.push_back(x.shape[axis]);
      RunResult r = run(kConcat, l);
      ASSERT_TRUE(r.ok()) << r.message;
      EXPECT_TRUE(sameBytes(hy, gold.toHost())) << "concat axis " << axis;

      // Slice the middle input back out.
      const int64_t n = gold.shape[axis], start = xs[0].shape[axis],
                    size = xs[1].shape[axis];
      ref::RefTensor sl;
      ASSERT_TRUE(ref::slice(gold, axis, start, size, sl).isOk());
      HostTensor hs2(dt, sl.shape);
      Launch s;
      s.buffers = {&hy, &hs2};
      s.ints = {
          static_cast<int64_t>(dtypeSize(dt)), outer, n, inner, start, size};
      r = run(kSlice, s);
      ASSERT_TRUE(r.ok()) << r.message;
      EXPECT_TRUE(sameBytes(hs2, xs[1].toHost())) << "slice axis " << axis;
      s.ints = {static_cast<int64_t>(dtypeSize(dt)), outer, n, inner, n - 1, 2};
      r = run(kSlice, s);
      EXPECT_NE(r.message.find("is outside [0, " + std::to_string(n) + ")"),
                std::string::npos)
          << r.message;
    }
  }
  HostTensor a(DType::F32, {2, 3}), y(DType::F32, {2, 5});
  Launch l;
  l.buffers = {&a, &a, &y};
  l.ints = {4, 2, 2, 1, 3, 3}; // y too small for 2 x 6
  RunResult r = run(kConcat, l);
  EXPECT_NE(r.message.find("buffer 2 (y)"), std::string::npos) << r.message;
}

TEST(LayoutKernels, Copy) {
  HostTensor x(DType::I8, {3 * (1 << 20) + 5}),
      y(DType::I8, {3 * (1 << 20) + 5});
  for (int64_t i = 0; i < x.numElements(); ++i)
    x.data()[i] = static_cast<uint8_t>(i * 31);
  Launch l;
  l.buffers = {&x, &y};
  l.ints = {x.numElements()};
  RunResult r = run(kCopy, l);
  ASSERT_TRUE(r.ok()) << r.message;
  EXPECT_EQ(r.grid, 4);
  EXPECT_TRUE(sameBytes(x, y));
  l.ints = {x.numElements() + 1};
  r = run(kCopy, l);
  EXPECT_EQ(r.code, ATTUNE_KERNEL_INVALID_ARGUMENT);
}

} // namespace
