//===- ReferenceKernelsTest.cpp - The reference kernels -------------------===//
//
// Hand-derived cases, comparisons against naive re-implementations written
// here from the specification, and the property tests of the kernels.
//
//===----------------------------------------------------------------------===//

#include "TensorTestUtil.h"
#include "attune/Reference/Kernels.h"
#include "attune/runtime/Philox.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <random>

using namespace attune;
using namespace attune::ref;
using attune::ref::testing::maxAbsDiff;

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

#define ASSERT_OK(expr)                                                        \
  do {                                                                         \
    ::attune::Status s_ = (expr);                                              \
    ASSERT_TRUE(s_.isOk()) << s_.message();                                    \
  } while (false)

/// Expects an error whose message contains every one of `parts`.
void expectError(const Status &s, StatusCode code,
                 std::initializer_list<std::string> parts) {
  ASSERT_FALSE(s.isOk()) << "expected an error";
  EXPECT_EQ(s.code(), code) << s.message();
  for (const std::string &part : parts)
    EXPECT_NE(s.message().find(part), std::string::npos)
        << "'" << part << "' not in: " << s.message();
}

RefTensor randomTensor(DType t, std::vector<int64_t> shape, uint32_t seed,
                       double lo = -1, double hi = 1) {
  RefTensor r(t, std::move(shape));
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> u(lo, hi);
  for (double &x : r.data)
    x = roundToDType(u(rng), t);
  return r;
}

RefTensor fromValues(DType t, std::vector<int64_t> shape,
                     std::vector<double> values) {
  RefTensor r(t, std::move(shape));
  EXPECT_EQ(r.data.size(), values.size());
  r.data = std::move(values);
  return r;
}

bool bitwiseEqual(const RefTensor &a, const RefTensor &b) {
  return a.shape == b.shape && a.dtype == b.dtype &&
         a.data.size() == b.data.size() &&
         (a.data.empty() || std::memcmp(a.data.data(), b.data.data(),
                                        a.data.size() * sizeof(double)) == 0);
}

//===----------------------------------------------------------------------===//
// A naive attention, written from the specification
//===----------------------------------------------------------------------===//

using Allow = std::function<bool(int64_t b, int64_t h, int64_t q, int64_t k)>;
using Mod =
    std::function<double(double s, int64_t b, int64_t h, int64_t q, int64_t k)>;

struct Naive {
  RefTensor out, lse;
};

Naive naiveAttention(const RefTensor &q, const RefTensor &k, const RefTensor &v,
                     double scale, const Allow &allow,
                     const Mod &mod = nullptr) {
  int64_t B = q.dim(0), Hq = q.dim(1), Lq = q.dim(2), D = q.dim(3);
  int64_t Hkv = k.dim(1), Lk = k.dim(2), Dv = v.dim(3);
  Naive r{RefTensor(q.dtype, {B, Hq, Lq, Dv}),
          RefTensor(DType::F32, {B, Hq, Lq})};
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < Hq; ++h)
      for (int64_t i = 0; i < Lq; ++i) {
        int64_t kh = h / (Hq / Hkv);
        std::vector<double> s(Lk, -kInf);
        double m = -kInf;
        for (int64_t j = 0; j < Lk; ++j) {
          if (allow && !allow(b, h, i, j))
            continue;
          double d = 0;
          for (int64_t c = 0; c < D; ++c)
            d += q.data[((b * Hq + h) * Lq + i) * D + c] *
                 k.data[((b * Hkv + kh) * Lk + j) * D + c];
          s[j] = scale * d;
          if (mod)
            s[j] = mod(s[j], b, h, i, j);
          m = std::max(m, s[j]);
        }
        int64_t row = (b * Hq + h) * Lq + i;
        if (m == -kInf) {
          r.lse.data[row] = -kInf;
          continue;
        }
        double sum = 0;
        for (int64_t j = 0; j < Lk; ++j)
          sum += std::exp(s[j] - m);
        for (int64_t j = 0; j < Lk; ++j) {
          double w = std::exp(s[j] - m) / sum;
          for (int64_t c = 0; c < Dv; ++c)
            r.out.data[row * Dv + c] +=
                w * v.data[((b * Hkv + kh) * Lk + j) * Dv + c];
        }
        r.lse.data[row] = m + std::log(sum);
      }
  return r;
}

struct Attn {
  RefTensor out, lse;
};

Attn runAttention(const RefTensor &q, const RefTensor &k, const RefTensor &v,
                  const AttentionSpec &spec, Precision p) {
  Attn a;
  Status s = attention(q, k, v, spec, p, a.out, a.lse);
  EXPECT_TRUE(s.isOk()) << s.message();
  return a;
}

//===----------------------------------------------------------------------===//
// Attention: hand-derived cases
//===----------------------------------------------------------------------===//

TEST(Attention, SingleKeyReturnsV) {
  RefTensor q = randomTensor(DType::F32, {1, 1, 1, 8}, 1);
  RefTensor k = randomTensor(DType::F32, {1, 1, 1, 8}, 2);
  RefTensor v = randomTensor(DType::F32, {1, 1, 1, 5}, 3);
  for (Precision p : {Precision::F64, Precision::Native}) {
    Attn a = runAttention(q, k, v, {}, p);
    EXPECT_EQ(a.out.shape, std::vector<int64_t>({1, 1, 1, 5}));
    EXPECT_EQ(a.out.data, v.data);
    double s = 0;
    for (int i = 0; i < 8; ++i)
      s += q.data[i] * k.data[i];
    EXPECT_NEAR(a.lse.data[0], s / std::sqrt(8.0), 1e-6);
  }
}

TEST(Attention, TwoKeysKnownWeights) {
  // D = 1, scale 1: scores 0 and ln 3 give weights 1/4 and 3/4.
  RefTensor q = fromValues(DType::F64, {1, 1, 1, 1}, {1.0});
  RefTensor k = fromValues(DType::F64, {1, 1, 2, 1}, {0.0, std::log(3.0)});
  RefTensor v = fromValues(DType::F64, {1, 1, 2, 2}, {4.0, -4.0, 8.0, 0.0});
  Attn a = runAttention(q, k, v, {}, Precision::F64);
  EXPECT_NEAR(a.out.data[0], 0.25 * 4 + 0.75 * 8, 1e-14);
  EXPECT_NEAR(a.out.data[1], 0.25 * -4, 1e-14);
  EXPECT_NEAR(a.lse.data[0], std::log(4.0), 1e-14);
  // An explicit scale of 2 doubles the scores: weights 1/10 and 9/10.
  AttentionSpec spec;
  spec.scale = 2.0;
  a = runAttention(q, k, v, spec, Precision::F64);
  EXPECT_NEAR(a.out.data[0], 0.1 * 4 + 0.9 * 8, 1e-14);
  EXPECT_NEAR(a.lse.data[0], std::log(10.0), 1e-14);
}

TEST(Attention, FullyMaskedRowsGiveZeroAndMinusInf) {
  // Bottom-right causal with Lq = 4 > Lk = 2: rows 0 and 1 see no key.
  RefTensor q = randomTensor(DType::BF16, {1, 2, 4, 8}, 4);
  RefTensor k = randomTensor(DType::BF16, {1, 2, 2, 8}, 5);
  RefTensor v = randomTensor(DType::BF16, {1, 2, 2, 6}, 6);
  AttentionSpec spec;
  MaskTerm causal;
  causal.kind = MaskTerm::Kind::Causal;
  causal.bottomRight = true;
  spec.mask = causal;
  for (Precision p : {Precision::F64, Precision::Native}) {
    Attn a = runAttention(q, k, v, spec, p);
    for (int64_t h = 0; h < 2; ++h)
      for (int64_t i = 0; i < 4; ++i) {
        double lse = a.lse.data[h * 4 + i];
        EXPECT_FALSE(std::isnan(lse));
        if (i < 2) {
          EXPECT_EQ(lse, -kInf) << "row " << i;
          for (int64_t c = 0; c < 6; ++c)
            EXPECT_EQ(a.out.data[(h * 4 + i) * 6 + c], 0.0);
        } else {
          EXPECT_TRUE(std::isfinite(lse)) << "row " << i;
        }
      }
    // Row 2 (aligned q' = 0) sees exactly key 0: it returns v[0].
    for (int64_t c = 0; c < 6; ++c)
      EXPECT_EQ(a.out.data[2 * 6 + c], v.data[c]);
  }
  // A maskFn that allows nothing.
  AttentionSpec none;
  none.maskFn = [](int64_t, int64_t, int64_t, int64_t, bool &allowed) {
    allowed = false;
    return Status::ok();
  };
  Attn a = runAttention(q, k, v, none, Precision::Native);
  for (double x : a.out.data)
    EXPECT_EQ(x, 0.0);
  for (double x : a.lse.data)
    EXPECT_EQ(x, -kInf);
}

TEST(Attention, ScoresOfMinusInfinityCountAsMasked) {
  RefTensor q = randomTensor(DType::F32, {1, 1, 3, 4}, 7);
  RefTensor k = randomTensor(DType::F32, {1, 1, 3, 4}, 8);
  RefTensor v = randomTensor(DType::F32, {1, 1, 3, 4}, 9);
  AttentionSpec spec;
  spec.scoreFn = [](double s, int64_t, int64_t, int64_t q, int64_t, double &r) {
    r = q == 1 ? -kInf : s;
    return Status::ok();
  };
  Attn a = runAttention(q, k, v, spec, Precision::F64);
  EXPECT_EQ(a.lse.data[1], -kInf);
  for (int c = 0; c < 4; ++c)
    EXPECT_EQ(a.out.data[4 + c], 0.0);
  EXPECT_TRUE(std::isfinite(a.lse.data[0]));
}

float bf16(float x) { return bf16BitsToFloat(floatToBF16Bits(x)); }

TEST(Attention, NativeBf16MatchesAnF32Emulation) {
  // The Native rule written with float arithmetic (each float operation is
  // one f32 rounding): f32 dots and scores, two-pass softmax in f32, P
  // rounded to bf16 before P.V, f32 accumulation, out rounded to bf16.
  const int64_t H = 2, Lq = 9, Lk = 13, D = 24, Dv = 7;
  RefTensor q = randomTensor(DType::BF16, {1, H, Lq, D}, 251, -3, 3);
  RefTensor k = randomTensor(DType::BF16, {1, 1, Lk, D}, 252, -3, 3);
  RefTensor v = randomTensor(DType::BF16, {1, 1, Lk, Dv}, 253);
  AttentionSpec spec;
  MaskTerm c;
  c.kind = MaskTerm::Kind::Causal;
  c.bottomRight = true;
  spec.mask = c;
  Attn a = runAttention(q, k, v, spec, Precision::Native);
  const float scale = float(1 / std::sqrt(double(D)));
  int64_t differsFromF64 = 0;
  Attn gold = runAttention(q, k, v, spec, Precision::F64);
  for (int64_t h = 0; h < H; ++h)
    for (int64_t i = 0; i < Lq; ++i) {
      std::vector<float> s;
      for (int64_t j = 0; j <= i + Lk - Lq; ++j) {
        float dot = 0;
        for (int64_t d = 0; d < D; ++d)
          dot += float(q.data[(h * Lq + i) * D + d]) * float(k.data[j * D + d]);
        s.push_back(scale * dot);
      }
      float m = -std::numeric_limits<float>::infinity();
      for (float x : s)
        m = std::max(m, x);
      float l = 0;
      for (float x : s)
        l += float(std::exp(double(x - m)));
      float lse = m + float(std::log(double(l)));
      std::vector<float> acc(Dv, 0.0f);
      for (size_t j = 0; j < s.size(); ++j) {
        float p = bf16(float(std::exp(double(s[j] - lse))));
        for (int64_t d = 0; d < Dv; ++d)
          acc[d] += p * float(v.data[j * Dv + d]);
      }
      int64_t row = h * Lq + i;
      ASSERT_EQ(a.lse.data[row], double(lse)) << "row " << row;
      for (int64_t d = 0; d < Dv; ++d) {
        ASSERT_EQ(a.out.data[row * Dv + d], double(bf16(acc[d])))
            << "row " << row << " d " << d;
        differsFromF64 +=
            a.out.data[row * Dv + d] != gold.out.data[row * Dv + d];
      }
    }
  EXPECT_GT(differsFromF64, 0);
}

//===----------------------------------------------------------------------===//
// Attention: every mask term against a brute-force predicate
//===----------------------------------------------------------------------===//

class MaskTermTest : public ::testing::Test {
protected:
  static constexpr int64_t B = 2, Hq = 4, Hkv = 2, Lq = 7, Lk = 11, D = 8,
                           Dv = 5;
  RefTensor q = randomTensor(DType::F32, {B, Hq, Lq, D}, 21);
  RefTensor k = randomTensor(DType::F32, {B, Hkv, Lk, D}, 22);
  RefTensor v = randomTensor(DType::F32, {B, Hkv, Lk, Dv}, 23);
  RefTensor qDoc = fromValues(DType::I32, {B, Lq},
                              {0, 0, 0, 1, 1, 2, 2, /**/ 5, 5, 6, 6, 6, 6, 7});
  RefTensor kDoc =
      fromValues(DType::I32, {B, Lk}, {0,      0, 1, 1, 1, 1, 2, 2, 2, 3, 3,
                                       /**/ 5, 6, 6, 6, 6, 6, 6, 7, 7, 7, 7});

  /// The kernel under `term` must equal the naive attention under `allow`,
  /// and `allow` must be selective (neither all nor nothing) unless said.
  void check(const MaskTerm &term, const Allow &allow, bool trivial = false) {
    int64_t allowed = 0;
    for (int64_t b = 0; b < B; ++b)
      for (int64_t h = 0; h < Hq; ++h)
        for (int64_t i = 0; i < Lq; ++i)
          for (int64_t j = 0; j < Lk; ++j)
            allowed += allow(b, h, i, j);
    if (!trivial) {
      EXPECT_GT(allowed, 0) << "predicate allows nothing";
      EXPECT_LT(allowed, B * Hq * Lq * Lk) << "predicate allows everything";
    }
    AttentionSpec spec;
    spec.mask = term;
    spec.qDocIds = &qDoc;
    spec.kvDocIds = &kDoc;
    Attn a = runAttention(q, k, v, spec, Precision::F64);
    Naive n = naiveAttention(q, k, v, 1 / std::sqrt(double(D)), allow);
    EXPECT_LT(maxAbsDiff(a.out, n.out), 1e-12);
    EXPECT_LT(maxAbsDiff(a.lse, n.lse), 1e-12);
    for (size_t i = 0; i < a.lse.data.size(); ++i)
      EXPECT_EQ(std::isinf(a.lse.data[i]), std::isinf(n.lse.data[i])) << i;
  }
};

MaskTerm term(MaskTerm::Kind kind) {
  MaskTerm t;
  t.kind = kind;
  return t;
}

TEST_F(MaskTermTest, Causal) {
  MaskTerm t = term(MaskTerm::Kind::Causal);
  check(t, [](int64_t, int64_t, int64_t i, int64_t j) { return j <= i; });
  t.bottomRight = true;
  check(t, [](int64_t, int64_t, int64_t i, int64_t j) {
    return j <= i + (Lk - Lq);
  });
}

TEST_F(MaskTermTest, SlidingWindow) {
  MaskTerm t = term(MaskTerm::Kind::SlidingWindow);
  t.left = 2;
  t.right = 1;
  check(t, [](int64_t, int64_t, int64_t i, int64_t j) {
    return j >= i - 2 && j <= i + 1;
  });
  t.bottomRight = true;
  check(t, [](int64_t, int64_t, int64_t i, int64_t j) {
    int64_t qa = i + Lk - Lq;
    return j >= qa - 2 && j <= qa + 1;
  });
}

TEST_F(MaskTermTest, Global) {
  MaskTerm t = term(MaskTerm::Kind::Global);
  t.tokens = {0, 5, 9};
  check(t, [](int64_t, int64_t, int64_t i, int64_t j) {
    return i == 0 || i == 5 || j == 0 || j == 5 || j == 9;
  });
}

TEST_F(MaskTermTest, BlockSparse) {
  // ceil(7/3) x ceil(11/4) = 3 x 3 blocks.
  MaskTerm t = term(MaskTerm::Kind::BlockSparse);
  t.blockQ = 3;
  t.blockK = 4;
  t.layoutShape = {3, 3};
  t.layout = {1, 0, 0, /**/ 1, 1, 0, /**/ 0, 1, 1};
  std::vector<uint8_t> l2 = t.layout;
  check(t, [&](int64_t, int64_t, int64_t i, int64_t j) {
    return l2[(i / 3) * 3 + j / 4] != 0;
  });
  // Per head, a layout larger than needed (covering is enough).
  t.layoutShape = {Hq, 4, 3};
  t.layout.assign(Hq * 4 * 3, 0);
  std::mt19937 rng(5);
  for (auto &x : t.layout)
    x = rng() % 2;
  std::vector<uint8_t> l3 = t.layout;
  check(t, [&](int64_t, int64_t h, int64_t i, int64_t j) {
    return l3[(h * 4 + i / 3) * 3 + j / 4] != 0;
  });
}

TEST_F(MaskTermTest, Strided) {
  MaskTerm t = term(MaskTerm::Kind::Strided);
  t.stride = 3;
  check(t, [](int64_t, int64_t, int64_t i, int64_t j) {
    return ((i - j) % 3 + 3) % 3 == 0;
  });
}

TEST_F(MaskTermTest, Dilated) {
  MaskTerm t = term(MaskTerm::Kind::Dilated);
  t.segment = 4;
  t.rate = 2;
  check(t, [](int64_t, int64_t h, int64_t i, int64_t j) {
    return i / 4 == j / 4 && (i % 4) % 2 == h % 2 && (j % 4) % 2 == h % 2;
  });
  t.offset = 1;
  check(t, [](int64_t, int64_t, int64_t i, int64_t j) {
    return i / 4 == j / 4 && (i % 4) % 2 == 1 && (j % 4) % 2 == 1;
  });
}

TEST_F(MaskTermTest, Document) {
  MaskTerm t = term(MaskTerm::Kind::Document);
  check(t, [&](int64_t b, int64_t, int64_t i, int64_t j) {
    return qDoc.data[b * Lq + i] == kDoc.data[b * Lk + j];
  });
}

TEST_F(MaskTermTest, PrefixLM) {
  MaskTerm t = term(MaskTerm::Kind::PrefixLM);
  t.prefix = 3;
  check(t,
        [](int64_t, int64_t, int64_t i, int64_t j) { return j < 3 || j <= i; });
}

TEST_F(MaskTermTest, AndOr) {
  MaskTerm causal = term(MaskTerm::Kind::Causal);
  MaskTerm window = term(MaskTerm::Kind::SlidingWindow);
  window.left = 1;
  MaskTerm global = term(MaskTerm::Kind::Global);
  global.tokens = {2};
  MaskTerm both = term(MaskTerm::Kind::And);
  both.children = {causal, window};
  MaskTerm either = term(MaskTerm::Kind::Or);
  either.children = {both, global};
  check(either, [](int64_t, int64_t, int64_t i, int64_t j) {
    return (j <= i && j >= i - 1) || i == 2 || j == 2;
  });
  check(
      term(MaskTerm::Kind::And),
      [](int64_t, int64_t, int64_t, int64_t) { return true; },
      /*trivial=*/true);
  check(
      term(MaskTerm::Kind::Or),
      [](int64_t, int64_t, int64_t, int64_t) { return false; },
      /*trivial=*/true);
}

TEST_F(MaskTermTest, MaskFnIsAndedWithMask) {
  AttentionSpec spec;
  spec.mask = term(MaskTerm::Kind::Causal);
  spec.maskFn = [](int64_t, int64_t h, int64_t i, int64_t j, bool &allowed) {
    allowed = (i + j + h) % 2 == 0;
    return Status::ok();
  };
  Attn a = runAttention(q, k, v, spec, Precision::F64);
  Naive n = naiveAttention(q, k, v, 1 / std::sqrt(double(D)),
                           [](int64_t, int64_t h, int64_t i, int64_t j) {
                             return j <= i && (i + j + h) % 2 == 0;
                           });
  EXPECT_LT(maxAbsDiff(a.out, n.out), 1e-12);
  EXPECT_LT(maxAbsDiff(a.lse, n.lse), 1e-12);
}

TEST_F(MaskTermTest, CallbackErrorsPropagate) {
  AttentionSpec spec;
  spec.maskFn = [](int64_t, int64_t, int64_t i, int64_t, bool &allowed) {
    allowed = true;
    return i == 3 ? invalidArgument("mask region failed at row 3")
                  : Status::ok();
  };
  RefTensor out, lse;
  expectError(attention(q, k, v, spec, Precision::F64, out, lse),
              StatusCode::InvalidArgument, {"row 3"});
  AttentionSpec spec2;
  spec2.scoreFn = [](double, int64_t, int64_t, int64_t, int64_t, double &) {
    return outOfRange("score region failed");
  };
  expectError(attention(q, k, v, spec2, Precision::F64, out, lse),
              StatusCode::OutOfRange, {"score region failed"});
}

//===----------------------------------------------------------------------===//
// Score modifications
//===----------------------------------------------------------------------===//

TEST(ScoreMods, AlibiSlopes) {
  std::vector<double> s8 = alibiSlopes(8);
  ASSERT_EQ(s8.size(), 8u);
  for (int i = 0; i < 8; ++i)
    EXPECT_DOUBLE_EQ(s8[i], std::pow(2.0, -(i + 1)));
  // 6 heads: the 4-head slopes 2^-2, 2^-4, 2^-6, 2^-8, then every other
  // 8-head slope: 2^-1, 2^-3.
  std::vector<double> s6 = alibiSlopes(6);
  std::vector<double> want6 = {0.25, 0.0625, 0.015625, 0.00390625, 0.5, 0.125};
  ASSERT_EQ(s6.size(), want6.size());
  for (size_t i = 0; i < want6.size(); ++i)
    EXPECT_DOUBLE_EQ(s6[i], want6[i]);
  EXPECT_EQ(alibiSlopes(1), std::vector<double>({std::pow(2.0, -8)}));
  EXPECT_TRUE(alibiSlopes(0).empty());
}

TEST(ScoreMods, AlibiThenSoftcapMatchNaive) {
  const int64_t Hq = 3, Lq = 5, Lk = 9, D = 16;
  RefTensor q = randomTensor(DType::F64, {1, Hq, Lq, D}, 31, -2, 2);
  RefTensor k = randomTensor(DType::F64, {1, Hq, Lk, D}, 32, -2, 2);
  RefTensor v = randomTensor(DType::F64, {1, Hq, Lk, 4}, 33);
  std::vector<double> slopes = alibiSlopes(Hq);
  ASSERT_EQ(slopes.size(), 3u);
  const double scale = 1 / std::sqrt(double(D));

  AttentionSpec alibi;
  alibi.scoreMods.push_back({ScoreMod::Kind::Alibi, {}, 0});
  Attn a = runAttention(q, k, v, alibi, Precision::F64);
  Naive n = naiveAttention(
      q, k, v, scale, nullptr,
      [&](double s, int64_t, int64_t h, int64_t i, int64_t j) {
        return s - slopes[h] * std::fabs(double(i + Lk - Lq - j));
      });
  EXPECT_LT(maxAbsDiff(a.out, n.out), 1e-12);
  EXPECT_LT(maxAbsDiff(a.lse, n.lse), 1e-12);

  AttentionSpec both;
  both.scoreMods.push_back({ScoreMod::Kind::Alibi, {0.5, 0.25, 2.0}, 0});
  both.scoreMods.push_back({ScoreMod::Kind::Softcap, {}, 1.5});
  std::vector<double> mine = {0.5, 0.25, 2.0};
  a = runAttention(q, k, v, both, Precision::F64);
  n = naiveAttention(q, k, v, scale, nullptr,
                     [&](double s, int64_t, int64_t h, int64_t i, int64_t j) {
                       s -= mine[h] * std::fabs(double(i + Lk - Lq - j));
                       return 1.5 * std::tanh(s / 1.5);
                     });
  EXPECT_LT(maxAbsDiff(a.out, n.out), 1e-12);
  EXPECT_LT(maxAbsDiff(a.lse, n.lse), 1e-12);
  // The softcap bounds every score, hence the lse, by cap + log(Lk).
  for (double l : a.lse.data)
    EXPECT_LE(l, 1.5 + std::log(double(Lk)) + 1e-12);
}

TEST(ScoreMods, ScoreFnRunsAfterMods) {
  RefTensor q = randomTensor(DType::F64, {1, 1, 4, 8}, 41);
  RefTensor k = randomTensor(DType::F64, {1, 1, 6, 8}, 42);
  RefTensor v = randomTensor(DType::F64, {1, 1, 6, 3}, 43);
  AttentionSpec spec;
  spec.scoreMods.push_back({ScoreMod::Kind::Softcap, {}, 0.5});
  spec.scoreFn = [](double s, int64_t, int64_t, int64_t i, int64_t j,
                    double &r) {
    r = 3 * s + 0.1 * double(i - j);
    return Status::ok();
  };
  Attn a = runAttention(q, k, v, spec, Precision::F64);
  Naive n = naiveAttention(
      q, k, v, 1 / std::sqrt(8.0), nullptr,
      [](double s, int64_t, int64_t, int64_t i, int64_t j) {
        return 3 * (0.5 * std::tanh(s / 0.5)) + 0.1 * double(i - j);
      });
  EXPECT_LT(maxAbsDiff(a.out, n.out), 1e-12);
}

//===----------------------------------------------------------------------===//
// Attention argument validation
//===----------------------------------------------------------------------===//

TEST(AttentionValidation, ErrorsNameTheArgument) {
  RefTensor q = randomTensor(DType::F32, {1, 3, 4, 8}, 1);
  RefTensor k = randomTensor(DType::F32, {1, 2, 5, 8}, 2);
  RefTensor v = randomTensor(DType::F32, {1, 2, 5, 8}, 3);
  RefTensor out, lse;
  expectError(attention(q, k, v, {}, Precision::F64, out, lse),
              StatusCode::InvalidArgument, {"Hq = 3", "Hkv = 2"});

  RefTensor q4 = randomTensor(DType::F32, {1, 4, 4, 8}, 1);
  RefTensor kBadD = randomTensor(DType::F32, {1, 2, 5, 7}, 2);
  expectError(attention(q4, kBadD, v, {}, Precision::F64, out, lse),
              StatusCode::InvalidArgument, {"attention k", "7", "8"});
  RefTensor vBadL = randomTensor(DType::F32, {1, 2, 6, 8}, 2);
  expectError(attention(q4, k, vBadL, {}, Precision::F64, out, lse),
              StatusCode::InvalidArgument, {"attention v", "6", "5"});
  RefTensor q3 = randomTensor(DType::F32, {4, 4, 8}, 1);
  expectError(attention(q3, k, v, {}, Precision::F64, out, lse),
              StatusCode::InvalidArgument, {"attention q", "rank 4"});
  RefTensor broken = q4;
  broken.data.pop_back();
  expectError(attention(broken, k, v, {}, Precision::F64, out, lse),
              StatusCode::InvalidArgument, {"attention q", "127"});
  RefTensor kBf = randomTensor(DType::BF16, {1, 2, 5, 8}, 2);
  expectError(attention(q4, kBf, v, {}, Precision::F64, out, lse),
              StatusCode::InvalidArgument, {"bf16"});

  auto withMask = [&](MaskTerm m) {
    AttentionSpec s;
    s.mask = std::move(m);
    return attention(q4, k, v, s, Precision::F64, out, lse);
  };
  MaskTerm bs = term(MaskTerm::Kind::BlockSparse);
  bs.blockQ = 2;
  bs.blockK = 2;
  bs.layoutShape = {2, 2}; // needs 2 x 3
  bs.layout = {1, 1, 1, 1};
  expectError(withMask(bs), StatusCode::InvalidArgument, {"2 x 3", "[2, 2]"});
  bs.layoutShape = {3, 2, 3}; // 3 heads, Hq is 4
  bs.layout.assign(18, 1);
  expectError(withMask(bs), StatusCode::InvalidArgument, {"Hq = 4"});
  bs.layoutShape = {2, 3};
  bs.layout.assign(5, 1);
  expectError(withMask(bs), StatusCode::InvalidArgument, {"layout has 5"});
  bs.layout.assign(6, 1);
  bs.blockK = 0;
  expectError(withMask(bs), StatusCode::InvalidArgument, {"blockK = 0"});

  MaskTerm dil = term(MaskTerm::Kind::Dilated);
  dil.segment = 6;
  dil.rate = 4;
  expectError(withMask(dil), StatusCode::InvalidArgument,
              {"segment = 6", "rate = 4"});
  dil.rate = 3;
  dil.offset = 3;
  expectError(withMask(dil), StatusCode::InvalidArgument, {"offset = 3"});

  MaskTerm sw = term(MaskTerm::Kind::SlidingWindow);
  sw.left = -1;
  expectError(withMask(sw), StatusCode::InvalidArgument, {"left = -1"});
  MaskTerm st = term(MaskTerm::Kind::Strided);
  expectError(withMask(st), StatusCode::InvalidArgument, {"stride = 0"});
  MaskTerm gl = term(MaskTerm::Kind::Global);
  gl.tokens = {5};
  expectError(withMask(gl), StatusCode::OutOfRange, {"token 5"});
  MaskTerm pre = term(MaskTerm::Kind::PrefixLM);
  pre.prefix = -2;
  expectError(withMask(pre), StatusCode::InvalidArgument, {"prefix = -2"});

  // A Document term nested in an Or still needs the ids.
  MaskTerm orDoc = term(MaskTerm::Kind::Or);
  orDoc.children = {term(MaskTerm::Kind::Causal),
                    term(MaskTerm::Kind::Document)};
  expectError(withMask(orDoc), StatusCode::InvalidArgument, {"qDocIds"});
  AttentionSpec docs;
  docs.mask = term(MaskTerm::Kind::Document);
  RefTensor qd(DType::I32, {1, 4}), kd(DType::I32, {1, 4});
  docs.qDocIds = &qd;
  docs.kvDocIds = &kd;
  expectError(attention(q4, k, v, docs, Precision::F64, out, lse),
              StatusCode::InvalidArgument, {"kvDocIds", "[1, 4]", "[1, 5]"});

  AttentionSpec slopes;
  slopes.scoreMods.push_back({ScoreMod::Kind::Alibi, {0.5, 0.25}, 0});
  expectError(attention(q4, k, v, slopes, Precision::F64, out, lse),
              StatusCode::InvalidArgument, {"2 ALiBi slopes", "(4)"});
  AttentionSpec cap;
  cap.scoreMods.push_back({ScoreMod::Kind::Softcap, {}, 0});
  expectError(attention(q4, k, v, cap, Precision::F64, out, lse),
              StatusCode::InvalidArgument, {"cap = 0"});
}

//===----------------------------------------------------------------------===//
// combineByLse
//===----------------------------------------------------------------------===//

TEST(CombineByLse, DisjointKeySetsRecombineToTheWhole) {
  RefTensor q = randomTensor(DType::F64, {1, 2, 6, 8}, 51);
  RefTensor k = randomTensor(DType::F64, {1, 2, 10, 8}, 52);
  RefTensor v = randomTensor(DType::F64, {1, 2, 10, 4}, 53);
  // Three parts: keys < 3, keys in [3, 10) and an empty part.
  AttentionSpec lo, hi, none;
  lo.maskFn = [](int64_t, int64_t, int64_t, int64_t j, bool &a) {
    a = j < 3;
    return Status::ok();
  };
  hi.maskFn = [](int64_t, int64_t, int64_t, int64_t j, bool &a) {
    a = j >= 3;
    return Status::ok();
  };
  none.mask = term(MaskTerm::Kind::Or);
  Attn whole = runAttention(q, k, v, {}, Precision::F64);
  Attn a = runAttention(q, k, v, lo, Precision::F64);
  Attn b = runAttention(q, k, v, hi, Precision::F64);
  Attn c = runAttention(q, k, v, none, Precision::F64);
  RefTensor out, lse;
  ASSERT_OK(combineByLse({a.out, b.out, c.out}, {a.lse, b.lse, c.lse},
                         Precision::F64, out, lse));
  EXPECT_LT(maxAbsDiff(out, whole.out), 1e-13);
  EXPECT_LT(maxAbsDiff(lse, whole.lse), 1e-13);
  // All parts empty: zeros and -inf.
  ASSERT_OK(combineByLse({c.out, c.out}, {c.lse, c.lse}, Precision::Native, out,
                         lse));
  for (double x : out.data)
    EXPECT_EQ(x, 0.0);
  for (double x : lse.data)
    EXPECT_EQ(x, -kInf);
}

TEST(CombineByLse, Validation) {
  RefTensor o(DType::F32, {2, 3}), l(DType::F32, {2}), lBad(DType::F32, {3});
  RefTensor out, lse;
  expectError(combineByLse({}, {}, Precision::F64, out, lse),
              StatusCode::InvalidArgument, {"no partial"});
  expectError(combineByLse({o}, {l, l}, Precision::F64, out, lse),
              StatusCode::InvalidArgument, {"1 outputs", "2 lse"});
  expectError(combineByLse({o}, {lBad}, Precision::F64, out, lse),
              StatusCode::InvalidArgument, {"lses[0]", "[3]", "[2]"});
}

//===----------------------------------------------------------------------===//
// Property tests
//===----------------------------------------------------------------------===//

// (a) A sliding window wider than the sequence is dense attention.
TEST(AttentionProperties, WideSlidingWindowEqualsDense) {
  for (auto [lq, lk] :
       {std::pair<int64_t, int64_t>{113, 113}, {3, 17}, {1, 1}}) {
    RefTensor q = randomTensor(DType::BF16, {1, 2, lq, 64}, 61);
    RefTensor k = randomTensor(DType::BF16, {1, 2, lk, 64}, 62);
    RefTensor v = randomTensor(DType::BF16, {1, 2, lk, 96}, 63);
    MaskTerm w = term(MaskTerm::Kind::SlidingWindow);
    w.left = w.right = std::max(lq, lk) + 3;
    AttentionSpec spec;
    spec.mask = w;
    for (Precision p : {Precision::F64, Precision::Native}) {
      Attn dense = runAttention(q, k, v, {}, p);
      Attn win = runAttention(q, k, v, spec, p);
      EXPECT_TRUE(bitwiseEqual(dense.out, win.out)) << lq << "x" << lk;
      EXPECT_TRUE(bitwiseEqual(dense.lse, win.lse));
    }
  }
}

// (b) LSH with one bucket and one chunk is dense attention with q = x,
// k = x/|x| and the self-masking rule.
TEST(LshProperties, OneBucketOneChunkEqualsDense) {
  for (int64_t L : {1, 3, 113}) {
    const int64_t H = 2, D = 64, Dv = 96;
    RefTensor x = randomTensor(DType::F32, {1, H, L, D}, 71);
    RefTensor v = randomTensor(DType::F32, {1, H, L, Dv}, 72);
    RefTensor keys = x;
    for (int64_t r = 0; r < H * L; ++r) {
      double n = 0;
      for (int64_t d = 0; d < D; ++d)
        n += x.data[r * D + d] * x.data[r * D + d];
      for (int64_t d = 0; d < D; ++d)
        keys.data[r * D + d] = x.data[r * D + d] / std::sqrt(n);
    }
    AttentionSpec spec;
    spec.maskFn = [L](int64_t, int64_t, int64_t i, int64_t j, bool &a) {
      a = j != i || L == 1; // with L = 1 the query is its only candidate
      return Status::ok();
    };
    Attn dense = runAttention(x, keys, v, spec, Precision::F64);
    for (int64_t chunk : {L, L + 5}) {
      LshSpec ls;
      ls.numBuckets = 1;
      ls.chunkSize = chunk;
      RefTensor out, lse;
      ASSERT_OK(lshAttention(x, v, nullptr, ls, Precision::F64, out, lse));
      EXPECT_LT(maxAbsDiff(out, dense.out), 1e-12) << "L = " << L;
      EXPECT_LT(maxAbsDiff(lse, dense.lse), 1e-12) << "L = " << L;
      if (L == 1) { // attends to itself: returns v
        EXPECT_EQ(out.data, v.data);
      }
    }
  }
}

TEST(LshProperties, HandBucketedExample) {
  // D = 1, nb = 2 with rotation +1: positive x goes to bucket 0, negative to
  // bucket 1. x = [1,-1,2,-2,3,-3] sorts to positions [0,2,4,1,3,5]; chunks of
  // 2 are {0,2}, {4,1}, {3,5}. Keys are sign(x).
  RefTensor x = fromValues(DType::F64, {1, 1, 6, 1}, {1, -1, 2, -2, 3, -3});
  RefTensor v = randomTensor(DType::F64, {1, 1, 6, 3}, 81);
  RefTensor rot = fromValues(DType::F64, {1, 1, 1}, {1.0});
  RefTensor keys = fromValues(DType::F64, {1, 1, 6, 1}, {1, -1, 1, -1, 1, -1});
  const std::vector<std::vector<int>> sets = {{2, 3, 5}, {0, 2, 4}, {0, 3, 5},
                                              {1, 4, 5}, {0, 1, 2}, {1, 3, 4}};
  const std::vector<std::vector<int>> causalSets = {{0}, {0},       {0},
                                                    {1}, {0, 1, 2}, {1, 3, 4}};
  for (bool causal : {false, true}) {
    const auto &allowed = causal ? causalSets : sets;
    LshSpec ls;
    ls.numBuckets = 2;
    ls.chunkSize = 2;
    ls.causal = causal;
    RefTensor out, lse;
    ASSERT_OK(lshAttention(x, v, &rot, ls, Precision::F64, out, lse));
    Naive n = naiveAttention(x, keys, v, 1.0,
                             [&](int64_t, int64_t, int64_t i, int64_t j) {
                               for (int a : allowed[i])
                                 if (a == j)
                                   return true;
                               return false;
                             });
    EXPECT_LT(maxAbsDiff(out, n.out), 1e-13) << "causal " << causal;
    EXPECT_LT(maxAbsDiff(lse, n.lse), 1e-13) << "causal " << causal;
  }
}

TEST(LshProperties, FourBucketsTwoRoundsDeterministicAndCausal) {
  const int64_t L = 113, D = 64, Dv = 64;
  RefTensor x = randomTensor(DType::BF16, {1, 2, L, D}, 91);
  RefTensor v = randomTensor(DType::BF16, {1, 2, L, Dv}, 92);
  LshSpec ls;
  ls.numBuckets = 4;
  ls.numRounds = 2;
  ls.chunkSize = 16;
  ls.seed = 1234;
  ls.causal = true;
  for (Precision p : {Precision::F64, Precision::Native}) {
    RefTensor out1, lse1, out2, lse2;
    ASSERT_OK(lshAttention(x, v, nullptr, ls, p, out1, lse1));
    ASSERT_OK(lshAttention(x, v, nullptr, ls, p, out2, lse2));
    EXPECT_TRUE(bitwiseEqual(out1, out2));
    EXPECT_TRUE(bitwiseEqual(lse1, lse2));
    for (double l : lse1.data)
      EXPECT_TRUE(std::isfinite(l)) << "causal LSH always has a candidate";

    // Changing the values of the future never changes the past.
    const int64_t j0 = 60;
    RefTensor v2 = v;
    for (int64_t h = 0; h < 2; ++h)
      for (int64_t j = j0; j < L; ++j)
        for (int64_t d = 0; d < Dv; ++d)
          v2.data[((h * L) + j) * Dv + d] += 0.5;
    RefTensor out3, lse3;
    ASSERT_OK(lshAttention(x, v2, nullptr, ls, p, out3, lse3));
    int64_t changedLater = 0;
    for (int64_t h = 0; h < 2; ++h)
      for (int64_t i = 0; i < L; ++i)
        for (int64_t d = 0; d < Dv; ++d) {
          int64_t idx = ((h * L) + i) * Dv + d;
          if (i < j0)
            ASSERT_EQ(out1.data[idx], out3.data[idx]) << "row " << i;
          else
            changedLater += out1.data[idx] != out3.data[idx];
        }
    EXPECT_GT(changedLater, 0);
  }
  // A different seed hashes differently.
  LshSpec other = ls;
  other.seed = 99;
  RefTensor outA, lseA, outB, lseB;
  ASSERT_OK(lshAttention(x, v, nullptr, ls, Precision::F64, outA, lseA));
  ASSERT_OK(lshAttention(x, v, nullptr, other, Precision::F64, outB, lseB));
  EXPECT_GT(maxAbsDiff(outA, outB), 0.0);
}

TEST(LshProperties, ExplicitRotationsMatchPhilox) {
  const int64_t L = 37, D = 16, nb = 6, rounds = 3;
  RefTensor x = randomTensor(DType::F32, {2, 1, L, D}, 93);
  RefTensor v = randomTensor(DType::F32, {2, 1, L, 8}, 94);
  LshSpec ls;
  ls.numBuckets = nb;
  ls.numRounds = rounds;
  ls.chunkSize = 5;
  ls.seed = 0xfeedbeefcafeull;
  RefTensor rot(DType::F64, {rounds, D, nb / 2});
  for (int64_t r = 0; r < rounds; ++r)
    for (int64_t i = 0; i < D * nb / 2; ++i)
      rot.data[r * D * nb / 2 + i] = philoxNormal(ls.seed, uint32_t(r), i);
  RefTensor out1, lse1, out2, lse2;
  ASSERT_OK(lshAttention(x, v, nullptr, ls, Precision::Native, out1, lse1));
  ASSERT_OK(lshAttention(x, v, &rot, ls, Precision::Native, out2, lse2));
  EXPECT_TRUE(bitwiseEqual(out1, out2));
  EXPECT_TRUE(bitwiseEqual(lse1, lse2));
  RefTensor bad(DType::F64, {rounds, D, nb});
  expectError(lshAttention(x, v, &bad, ls, Precision::F64, out1, lse1),
              StatusCode::InvalidArgument, {"rotations", "[3, 16, 3]"});
}

TEST(LshProperties, Validation) {
  RefTensor x = randomTensor(DType::F32, {1, 1, 4, 4}, 1);
  RefTensor v = randomTensor(DType::F32, {1, 1, 4, 4}, 2);
  RefTensor out, lse;
  LshSpec ls;
  ls.numBuckets = 3;
  expectError(lshAttention(x, v, nullptr, ls, Precision::F64, out, lse),
              StatusCode::InvalidArgument, {"numBuckets = 3"});
  ls.numBuckets = 2;
  ls.chunkSize = 0;
  expectError(lshAttention(x, v, nullptr, ls, Precision::F64, out, lse),
              StatusCode::InvalidArgument, {"chunkSize = 0"});
  ls.chunkSize = 2;
  ls.numRounds = 0;
  expectError(lshAttention(x, v, nullptr, ls, Precision::F64, out, lse),
              StatusCode::InvalidArgument, {"numRounds = 0"});
  RefTensor v5 = randomTensor(DType::F32, {1, 1, 5, 4}, 2);
  ls.numRounds = 1;
  expectError(lshAttention(x, v5, nullptr, ls, Precision::F64, out, lse),
              StatusCode::InvalidArgument, {"lshAttention v", "5", "4"});
}

// (c) Dilated attention with the single branch (w = L, r = 1) is dense.
TEST(DilatedProperties, OneFullBranchEqualsDense) {
  for (int64_t L : {1, 3, 113}) {
    RefTensor q = randomTensor(DType::F32, {1, 2, L, 64}, 101);
    RefTensor k = randomTensor(DType::F32, {1, 2, L, 64}, 102);
    RefTensor v = randomTensor(DType::F32, {1, 2, L, 96}, 103);
    AttentionSpec causalSpec;
    causalSpec.mask = term(MaskTerm::Kind::Causal);
    for (bool causal : {false, true}) {
      Attn dense = runAttention(q, k, v, causal ? causalSpec : AttentionSpec{},
                                Precision::F64);
      RefTensor out, lse;
      ASSERT_OK(dilatedAttention(q, k, v, {{L, 1}}, causal, std::nullopt,
                                 Precision::F64, out, lse));
      EXPECT_LT(maxAbsDiff(out, dense.out), 1e-12) << "L = " << L;
      EXPECT_LT(maxAbsDiff(lse, dense.lse), 1e-12) << "L = " << L;
    }
  }
}

TEST(DilatedProperties, BranchesWeightedByDenominators) {
  const int64_t H = 3, L = 23, D = 16;
  RefTensor q = randomTensor(DType::F64, {1, H, L, D}, 111);
  RefTensor k = randomTensor(DType::F64, {1, H, L, D}, 112);
  RefTensor v = randomTensor(DType::F64, {1, H, L, 4}, 113);
  const std::vector<DilatedBranch> branches = {{4, 1}, {8, 2}, {16, 4}};
  for (bool causal : {false, true}) {
    RefTensor out, lse;
    ASSERT_OK(dilatedAttention(q, k, v, branches, causal, 0.3, Precision::F64,
                               out, lse));
    // Naive: per branch, then sum exp(lse_i) out_i / sum exp(lse_i).
    std::vector<Naive> parts;
    for (const DilatedBranch &br : branches)
      parts.push_back(naiveAttention(
          q, k, v, 0.3, [&](int64_t, int64_t h, int64_t i, int64_t j) {
            int64_t w = br.segment, r = br.rate;
            return i / w == j / w && (i % w) % r == h % r &&
                   (j % w) % r == h % r && (!causal || j <= i);
          }));
    int64_t emptyRows = 0;
    for (int64_t row = 0; row < H * L; ++row) {
      double z = 0;
      for (const Naive &n : parts)
        z += std::exp(n.lse.data[row]);
      if (z == 0) {
        ++emptyRows;
        EXPECT_EQ(lse.data[row], -kInf);
        continue;
      }
      EXPECT_NEAR(lse.data[row], std::log(z), 1e-12);
      for (int64_t d = 0; d < 4; ++d) {
        double o = 0;
        for (const Naive &n : parts)
          o += std::exp(n.lse.data[row]) / z * n.out.data[row * 4 + d];
        EXPECT_NEAR(out.data[row * 4 + d], o, 1e-12);
      }
    }
    // Branch (4, 1) covers every row; nothing is empty.
    EXPECT_EQ(emptyRows, 0);
  }
  RefTensor out, lse;
  expectError(dilatedAttention(q, k, v, {{6, 4}}, false, std::nullopt,
                               Precision::F64, out, lse),
              StatusCode::InvalidArgument, {"segment = 6", "rate = 4"});
  expectError(dilatedAttention(q, k, v, {}, false, std::nullopt, Precision::F64,
                               out, lse),
              StatusCode::InvalidArgument, {"no branches"});
}

// (d) GQA equals MHA with the K/V heads repeated.
TEST(AttentionProperties, GqaEqualsRepeatedHeads) {
  const int64_t Hq = 12, Hkv = 2, Lq = 29, Lk = 41, D = 64, Dv = 32;
  RefTensor q = randomTensor(DType::BF16, {2, Hq, Lq, D}, 121);
  RefTensor k = randomTensor(DType::BF16, {2, Hkv, Lk, D}, 122);
  RefTensor v = randomTensor(DType::BF16, {2, Hkv, Lk, Dv}, 123);
  RefTensor kr(DType::BF16, {2, Hq, Lk, D}), vr(DType::BF16, {2, Hq, Lk, Dv});
  for (int64_t b = 0; b < 2; ++b)
    for (int64_t h = 0; h < Hq; ++h) {
      int64_t src = h / (Hq / Hkv);
      std::copy_n(k.data.begin() + (b * Hkv + src) * Lk * D, Lk * D,
                  kr.data.begin() + (b * Hq + h) * Lk * D);
      std::copy_n(v.data.begin() + (b * Hkv + src) * Lk * Dv, Lk * Dv,
                  vr.data.begin() + (b * Hq + h) * Lk * Dv);
    }
  AttentionSpec spec;
  MaskTerm c = term(MaskTerm::Kind::Causal);
  c.bottomRight = true;
  spec.mask = c;
  for (Precision p : {Precision::F64, Precision::Native}) {
    Attn gqa = runAttention(q, k, v, spec, p);
    Attn mha = runAttention(q, kr, vr, spec, p);
    EXPECT_TRUE(bitwiseEqual(gqa.out, mha.out));
    EXPECT_TRUE(bitwiseEqual(gqa.lse, mha.lse));
  }
  // MQA too: one kv head.
  RefTensor k1 = randomTensor(DType::BF16, {2, 1, Lk, D}, 124);
  RefTensor v1 = randomTensor(DType::BF16, {2, 1, Lk, Dv}, 125);
  Attn mqa = runAttention(q, k1, v1, {}, Precision::F64);
  Naive n = naiveAttention(q, k1, v1, 1 / std::sqrt(double(D)), nullptr);
  EXPECT_LT(maxAbsDiff(mqa.out, n.out), 1e-12);
}

// (e) RoPE is a rotation of each pair, and q.k depends on relative position.
TEST(RopeProperties, NormPreservingAndRelative) {
  const int64_t D = 96;
  const double theta = 500000;
  for (bool interleaved : {false, true}) {
    SCOPED_TRACE(interleaved ? "interleaved" : "half-split");
    RefTensor x = randomTensor(DType::F64, {2, 3, 17, D}, 131, -2, 2);
    RefTensor y;
    ASSERT_OK(rope(x, nullptr, theta, interleaved, 0, Precision::F64, y));
    int64_t moved = 0;
    for (int64_t row = 0; row < 2 * 3 * 17; ++row)
      for (int64_t i = 0; i < D / 2; ++i) {
        int64_t a = interleaved ? 2 * i : i;
        int64_t b = interleaved ? 2 * i + 1 : i + D / 2;
        const double *xr = x.data.data() + row * D;
        const double *yr = y.data.data() + row * D;
        EXPECT_NEAR(std::hypot(yr[a], yr[b]), std::hypot(xr[a], xr[b]), 1e-12);
        moved += std::fabs(yr[a] - xr[a]) > 1e-6;
      }
    EXPECT_GT(moved, 0) << "rope changed nothing";
    // Position 0 is the identity.
    for (int64_t d = 0; d < D; ++d)
      EXPECT_NEAR(y.data[d], x.data[d], 1e-15);

    // q at p, k at p + d versus q at p + t, k at p + t + d.
    RefTensor qk = randomTensor(DType::F64, {1, 2, D}, 132);
    auto rotatedDot = [&](double pq, double pk) {
      RefTensor pos = fromValues(DType::I64, {2}, {pq, pk});
      RefTensor out;
      EXPECT_TRUE(
          rope(qk, &pos, theta, interleaved, 0, Precision::F64, out).isOk());
      double s = 0;
      for (int64_t c = 0; c < D; ++c)
        s += out.data[c] * out.data[D + c];
      return s;
    };
    for (auto [p, d, t] : {std::tuple<double, double, double>{3, 17, 1000},
                           {0, 1, 4096},
                           {50, 5, 77}}) {
      double s1 = rotatedDot(p, p + d), s2 = rotatedDot(p + t, p + t + d);
      EXPECT_NEAR(s1, s2, 1e-9) << p << " " << d << " " << t;
    }
    // And it does depend on the distance.
    EXPECT_GT(std::fabs(rotatedDot(0, 1) - rotatedDot(0, 40)), 1e-6);
  }
}

TEST(RopeProperties, PartialRotaryDimAndBatchedPositions) {
  RefTensor x = randomTensor(DType::F32, {2, 1, 5, 12}, 141);
  RefTensor pos =
      fromValues(DType::I64, {2, 5}, {0, 1, 2, 3, 4, /**/ 10, 11, 12, 13, 14});
  RefTensor y;
  ASSERT_OK(rope(x, &pos, 10000, false, 8, Precision::F64, y));
  for (int64_t row = 0; row < 10; ++row)
    for (int64_t d = 8; d < 12; ++d)
      EXPECT_EQ(y.data[row * 12 + d], x.data[row * 12 + d]);
  // Batch 1 at position 10 + l equals batch 1 rotated by the [L] positions
  // 10..14.
  RefTensor x1(DType::F32, {1, 1, 5, 12});
  std::copy_n(x.data.begin() + 60, 60, x1.data.begin());
  RefTensor pos1 = fromValues(DType::I64, {5}, {10, 11, 12, 13, 14});
  RefTensor y1;
  ASSERT_OK(rope(x1, &pos1, 10000, false, 8, Precision::F64, y1));
  for (int64_t i = 0; i < 60; ++i)
    EXPECT_EQ(y.data[60 + i], y1.data[i]);
  // Hand check: one pair at position 1, theta irrelevant for i = 0.
  RefTensor two = fromValues(DType::F64, {1, 2}, {1.0, 0.0});
  RefTensor p1 = fromValues(DType::I64, {1}, {1});
  ASSERT_OK(rope(two, &p1, 10000, false, 0, Precision::F64, y));
  EXPECT_DOUBLE_EQ(y.data[0], std::cos(1.0));
  EXPECT_DOUBLE_EQ(y.data[1], std::sin(1.0));

  expectError(rope(x, nullptr, 10000, false, 7, Precision::F64, y),
              StatusCode::InvalidArgument, {"rotary dim 7"});
  expectError(rope(x, nullptr, 10000, false, 14, Precision::F64, y),
              StatusCode::InvalidArgument, {"rotaryDim = 14"});
  RefTensor badPos(DType::I64, {4});
  expectError(rope(x, &badPos, 10000, false, 0, Precision::F64, y),
              StatusCode::InvalidArgument, {"[4]", "[5]"});
}

// (f) RMSNorm output has unit RMS before the gain.
TEST(NormProperties, RmsNormUnitRms) {
  RefTensor x = randomTensor(DType::F32, {3, 5, 96}, 151, -4, 4);
  RefTensor ones(DType::F32, {96}), twos(DType::F32, {96});
  std::fill(ones.data.begin(), ones.data.end(), 1.0);
  std::fill(twos.data.begin(), twos.data.end(), 2.0);
  RefTensor yNone, yOnes, yTwos;
  ASSERT_OK(rmsNorm(x, nullptr, 1e-6, Precision::F64, yNone));
  ASSERT_OK(rmsNorm(x, &ones, 1e-6, Precision::F64, yOnes));
  ASSERT_OK(rmsNorm(x, &twos, 1e-6, Precision::F64, yTwos));
  EXPECT_TRUE(bitwiseEqual(yNone, yOnes));
  for (int64_t row = 0; row < 15; ++row) {
    double ss = 0, ss2 = 0;
    for (int64_t d = 0; d < 96; ++d) {
      ss += yNone.data[row * 96 + d] * yNone.data[row * 96 + d];
      ss2 += yTwos.data[row * 96 + d] * yTwos.data[row * 96 + d];
    }
    EXPECT_NEAR(std::sqrt(ss / 96), 1.0, 1e-5);
    EXPECT_NEAR(std::sqrt(ss2 / 96), 2.0, 2e-5);
  }
  // Native f32 agrees to f32 precision.
  RefTensor yNative;
  ASSERT_OK(rmsNorm(x, nullptr, 1e-6, Precision::Native, yNative));
  EXPECT_LT(maxAbsDiff(yNative, yNone), 1e-5);
  RefTensor bad(DType::F32, {95});
  expectError(rmsNorm(x, &bad, 1e-6, Precision::F64, yNone),
              StatusCode::InvalidArgument, {"rmsNorm weight", "[95]", "[96]"});
  expectError(rmsNorm(x, nullptr, -1, Precision::F64, yNone),
              StatusCode::InvalidArgument, {"eps = -1"});
}

TEST(NormProperties, LayerNormKnownValues) {
  RefTensor x = fromValues(DType::F64, {1, 4}, {1, 2, 3, 4});
  RefTensor w = fromValues(DType::F64, {4}, {1, 2, 1, 1});
  RefTensor b = fromValues(DType::F64, {4}, {0, 0, 0, 10});
  RefTensor y;
  ASSERT_OK(layerNorm(x, &w, &b, 0.0, Precision::F64, y));
  // mean 2.5, biased variance 1.25.
  double s = std::sqrt(1.25);
  EXPECT_NEAR(y.data[0], -1.5 / s, 1e-15);
  EXPECT_NEAR(y.data[1], 2 * -0.5 / s, 1e-15);
  EXPECT_NEAR(y.data[2], 0.5 / s, 1e-15);
  EXPECT_NEAR(y.data[3], 1.5 / s + 10, 1e-14);
}

// (g) Native bf16 stays near F64, and the tolerance rule accepts lowp and
// rejects a perturbation.
TEST(PrecisionProperties, NativeBf16NearF64AndToleranceRule) {
  const int64_t L = 113, D = 64;
  RefTensor q = randomTensor(DType::BF16, {1, 2, L, D}, 161, -2, 2);
  RefTensor k = randomTensor(DType::BF16, {1, 2, L, D}, 162, -2, 2);
  RefTensor v = randomTensor(DType::BF16, {1, 2, L, D}, 163);
  AttentionSpec spec;
  spec.mask = term(MaskTerm::Kind::Causal);
  Attn gold = runAttention(q, k, v, spec, Precision::F64);
  Attn lowp = runAttention(q, k, v, spec, Precision::Native);
  // Every Native output is a bf16 value; lse an f32 value.
  for (double x : lowp.out.data)
    ASSERT_EQ(x, roundToDType(x, DType::BF16));
  for (double x : lowp.lse.data)
    ASSERT_EQ(x, roundToDType(x, DType::F32));
  double err = maxAbsDiff(lowp.out, gold.out);
  EXPECT_GT(err, 0.0) << "Native rounded nothing";
  EXPECT_LT(err, 2e-2);
  EXPECT_LT(maxAbsDiff(lowp.lse, gold.lse), 1e-4);

  ToleranceReport ok = checkTolerance(lowp.out, gold.out, lowp.out, 0.0);
  EXPECT_TRUE(ok.ok) << ok.message;
  EXPECT_EQ(ok.refError, err);
  EXPECT_EQ(ok.maxError, err);
  EXPECT_EQ(ok.bound, 2 * err);

  RefTensor bad = lowp.out;
  const int64_t at = 1234;
  bad.data[at] = gold.out.data[at] + 3 * err + 1e-3;
  ToleranceReport fail = checkTolerance(bad, gold.out, lowp.out, 0.0);
  EXPECT_FALSE(fail.ok);
  EXPECT_EQ(fail.worstIndex, at);
  EXPECT_NE(fail.message.find("FAIL"), std::string::npos) << fail.message;
  // A floor large enough admits it.
  EXPECT_TRUE(checkTolerance(bad, gold.out, lowp.out, 1.0).ok);

  // Other ops in Native bf16 stay close to F64 as well.
  RefTensor w = randomTensor(DType::BF16, {48, D}, 164);
  RefTensor y64, ylow;
  ASSERT_OK(linear(q, w, nullptr, Precision::F64, y64));
  ASSERT_OK(linear(q, w, nullptr, Precision::Native, ylow));
  double lerr = maxAbsDiff(y64, ylow);
  EXPECT_GT(lerr, 0.0);
  EXPECT_LT(lerr, 0.25); // |y| up to ~30: a few bf16 ulps
}

TEST(Tolerance, InfinitiesNaNAndShapes) {
  RefTensor g = fromValues(DType::F32, {3}, {1, kInf, -kInf});
  RefTensor same = g;
  EXPECT_TRUE(checkTolerance(same, g, g, 0).ok);
  RefTensor flipped = fromValues(DType::F32, {3}, {1, -kInf, -kInf});
  ToleranceReport r = checkTolerance(flipped, g, g, 0);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.worstIndex, 1);
  RefTensor finite = fromValues(DType::F32, {3}, {1, 1e30, -kInf});
  EXPECT_FALSE(checkTolerance(finite, g, g, 1e40).ok);
  RefTensor nan = fromValues(DType::F32, {3}, {std::nan(""), kInf, -kInf});
  r = checkTolerance(nan, g, g, 1e9);
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.message.find("NaN"), std::string::npos);
  RefTensor other(DType::F32, {4});
  EXPECT_FALSE(checkTolerance(other, g, g, 1).ok);
  // Finite: exactly at the bound passes, above fails.
  RefTensor gold = fromValues(DType::F64, {2}, {0, 0});
  RefTensor lowp = fromValues(DType::F64, {2}, {0.25, 0});
  EXPECT_TRUE(
      checkTolerance(fromValues(DType::F64, {2}, {0, 0.5}), gold, lowp, 0).ok);
  EXPECT_FALSE(
      checkTolerance(fromValues(DType::F64, {2}, {0, 0.5001}), gold, lowp, 0)
          .ok);
}

// (h) Repeated runs are bitwise identical.
TEST(Determinism, RepeatedRunsAreBitwiseIdentical) {
  RefTensor q = randomTensor(DType::BF16, {1, 2, 113, 96}, 171);
  RefTensor k = randomTensor(DType::BF16, {1, 2, 113, 96}, 172);
  RefTensor v = randomTensor(DType::BF16, {1, 2, 113, 64}, 173);
  AttentionSpec spec;
  MaskTerm w = term(MaskTerm::Kind::SlidingWindow);
  w.left = 20;
  spec.mask = w;
  spec.scoreMods.push_back({ScoreMod::Kind::Softcap, {}, 30});
  for (Precision p : {Precision::F64, Precision::Native}) {
    Attn a = runAttention(q, k, v, spec, p), b = runAttention(q, k, v, spec, p);
    EXPECT_TRUE(bitwiseEqual(a.out, b.out));
    EXPECT_TRUE(bitwiseEqual(a.lse, b.lse));
    RefTensor o1, l1, o2, l2;
    ASSERT_OK(dilatedAttention(q, k, v, {{16, 2}, {64, 8}}, true, std::nullopt,
                               p, o1, l1));
    ASSERT_OK(dilatedAttention(q, k, v, {{16, 2}, {64, 8}}, true, std::nullopt,
                               p, o2, l2));
    EXPECT_TRUE(bitwiseEqual(o1, o2));
    EXPECT_TRUE(bitwiseEqual(l1, l2));
    RefTensor s1, s2;
    ASSERT_OK(softmax(q, -1, p, s1));
    ASSERT_OK(softmax(q, -1, p, s2));
    EXPECT_TRUE(bitwiseEqual(s1, s2));
  }
}

//===----------------------------------------------------------------------===//
// Projections, losses and the rest
//===----------------------------------------------------------------------===//

TEST(Rounding, RoundOutAndRoundAcc) {
  EXPECT_EQ(roundOut(0.1, DType::BF16, Precision::F64), 0.1);
  EXPECT_EQ(roundOut(0.1, DType::BF16, Precision::Native),
            double(bf16BitsToFloat(floatToBF16Bits(0.1f))));
  EXPECT_EQ(roundOut(0.1, DType::F64, Precision::Native), 0.1);
  EXPECT_EQ(roundAcc(0.1, DType::BF16, Precision::Native), double(0.1f));
  EXPECT_EQ(roundAcc(0.1, DType::F16, Precision::F64), 0.1);
  EXPECT_EQ(roundAcc(0.1, DType::F64, Precision::Native), 0.1);
}

TEST(Matmul, NativeAccumulatesInF32) {
  // 1 + 1e-8 is 1 in f32, so Native loses the 1e-8 that F64 keeps.
  RefTensor a = fromValues(DType::F32, {1, 3}, {1, double(1e-8f), -1});
  RefTensor b = fromValues(DType::F32, {3, 1}, {1, 1, 1});
  RefTensor y;
  ASSERT_OK(matmul(a, b, Precision::F64, y));
  EXPECT_EQ(y.data[0], double(1e-8f));
  ASSERT_OK(matmul(a, b, Precision::Native, y));
  EXPECT_EQ(y.data[0], 0.0);
  // f64 tensors are never rounded.
  a.dtype = b.dtype = DType::F64;
  ASSERT_OK(matmul(a, b, Precision::Native, y));
  EXPECT_EQ(y.data[0], double(1e-8f));
}

TEST(Matmul, BroadcastBatchDims) {
  RefTensor a = randomTensor(DType::F64, {2, 1, 3, 4}, 181);
  RefTensor b = randomTensor(DType::F64, {5, 4, 2}, 182);
  RefTensor y;
  ASSERT_OK(matmul(a, b, Precision::F64, y));
  ASSERT_EQ(y.shape, std::vector<int64_t>({2, 5, 3, 2}));
  for (int64_t i = 0; i < 2; ++i)
    for (int64_t j = 0; j < 5; ++j)
      for (int64_t m = 0; m < 3; ++m)
        for (int64_t n = 0; n < 2; ++n) {
          double s = 0;
          for (int64_t kk = 0; kk < 4; ++kk)
            s += a.data[(i * 3 + m) * 4 + kk] * b.data[(j * 4 + kk) * 2 + n];
          EXPECT_NEAR(y.data[((i * 5 + j) * 3 + m) * 2 + n], s, 1e-15);
        }
  RefTensor bad = randomTensor(DType::F64, {3, 2}, 183);
  expectError(matmul(a, bad, Precision::F64, y), StatusCode::InvalidArgument,
              {"contraction", "4", "3"});
  RefTensor badBatch = randomTensor(DType::F64, {3, 4, 2}, 184);
  RefTensor a2 = randomTensor(DType::F64, {2, 3, 4}, 185);
  expectError(matmul(a2, badBatch, Precision::F64, y),
              StatusCode::InvalidArgument, {"broadcast"});
}

TEST(Linear, AndMlpComposition) {
  RefTensor x = randomTensor(DType::F64, {2, 3, 8}, 191);
  RefTensor wUp = randomTensor(DType::F64, {12, 8}, 192);
  RefTensor wGate = randomTensor(DType::F64, {12, 8}, 193);
  RefTensor wDown = randomTensor(DType::F64, {5, 12}, 194);
  RefTensor bUp = randomTensor(DType::F64, {12}, 195);
  RefTensor bDown = randomTensor(DType::F64, {5}, 196);
  // linear against a hand loop.
  RefTensor up;
  ASSERT_OK(linear(x, wUp, &bUp, Precision::F64, up));
  ASSERT_EQ(up.shape, std::vector<int64_t>({2, 3, 12}));
  for (int64_t r = 0; r < 6; ++r)
    for (int64_t o = 0; o < 12; ++o) {
      double s = bUp.data[o];
      for (int64_t i = 0; i < 8; ++i)
        s += x.data[r * 8 + i] * wUp.data[o * 8 + i];
      EXPECT_NEAR(up.data[r * 12 + o], s, 1e-14);
    }
  // Gated MLP = down(silu(gate(x)) * up(x)).
  RefTensor gate, act, h, want, y;
  ASSERT_OK(linear(x, wGate, nullptr, Precision::F64, gate));
  ASSERT_OK(unary(UnaryKind::Silu, gate, Precision::F64, act));
  ASSERT_OK(binary(BinaryKind::Mul, act, up, Precision::F64, h));
  ASSERT_OK(linear(h, wDown, &bDown, Precision::F64, want));
  ASSERT_OK(mlp(x, &wGate, wUp, wDown, &bUp, &bDown, Activation::Silu,
                Precision::F64, y));
  EXPECT_LT(maxAbsDiff(y, want), 1e-13);
  // Ungated relu MLP = down(relu(up(x))).
  ASSERT_OK(unary(UnaryKind::Relu, up, Precision::F64, act));
  ASSERT_OK(linear(act, wDown, nullptr, Precision::F64, want));
  ASSERT_OK(mlp(x, nullptr, wUp, wDown, &bUp, nullptr, Activation::Relu,
                Precision::F64, y));
  EXPECT_LT(maxAbsDiff(y, want), 1e-13);

  RefTensor wBad = randomTensor(DType::F64, {12, 7}, 197);
  expectError(linear(x, wBad, nullptr, Precision::F64, y),
              StatusCode::InvalidArgument, {"linear w", "7", "8"});
  expectError(mlp(x, &wBad, wUp, wDown, nullptr, nullptr, Activation::Gelu,
                  Precision::F64, y),
              StatusCode::InvalidArgument, {"wGate", "[12, 7]"});
}

TEST(Activations, KnownValues) {
  EXPECT_DOUBLE_EQ(activate(Activation::Relu, -2), 0.0);
  EXPECT_DOUBLE_EQ(activate(Activation::Relu, 3), 3.0);
  EXPECT_DOUBLE_EQ(activate(Activation::Silu, 0), 0.0);
  EXPECT_NEAR(activate(Activation::Silu, 1), 1 / (1 + std::exp(-1.0)), 1e-15);
  EXPECT_NEAR(activate(Activation::Silu, -800), 0.0, 1e-300);
  EXPECT_NEAR(activate(Activation::Gelu, 1), 0.8413447460685429, 1e-15);
  EXPECT_NEAR(activate(Activation::GeluTanh, 1), 0.8411919906082768, 1e-15);
  EXPECT_NEAR(activate(Activation::Gelu, -3), -0.0040496, 1e-7);
}

TEST(CrossEntropy, TinyKnownExample) {
  // Row 0: logits [0, ln 3], label 1: loss = ln 4 - ln 3. Row 1: label 0:
  // ln 4. Row 2 ignored.
  RefTensor logits = fromValues(DType::F64, {3, 2},
                                {0, std::log(3.0), 0, std::log(3.0), 5, 5});
  RefTensor labels = fromValues(DType::I64, {3}, {1, 0, -100});
  RefTensor loss;
  ASSERT_OK(crossEntropy(logits, labels, -100, Reduction::None, Precision::F64,
                         loss));
  ASSERT_EQ(loss.shape, std::vector<int64_t>({3}));
  EXPECT_NEAR(loss.data[0], std::log(4.0 / 3.0), 1e-15);
  EXPECT_NEAR(loss.data[1], std::log(4.0), 1e-15);
  EXPECT_EQ(loss.data[2], 0.0);
  ASSERT_OK(
      crossEntropy(logits, labels, -100, Reduction::Sum, Precision::F64, loss));
  EXPECT_EQ(loss.rank(), 0);
  EXPECT_NEAR(loss.data[0], std::log(16.0 / 3.0), 1e-15);
  ASSERT_OK(crossEntropy(logits, labels, -100, Reduction::Mean, Precision::F64,
                         loss));
  EXPECT_NEAR(loss.data[0], std::log(16.0 / 3.0) / 2, 1e-15);
  // Everything ignored: mean is 0.
  RefTensor allIgnored = fromValues(DType::I64, {3}, {-1, -1, -1});
  ASSERT_OK(crossEntropy(logits, allIgnored, -1, Reduction::Mean,
                         Precision::F64, loss));
  EXPECT_EQ(loss.data[0], 0.0);
  RefTensor bad = fromValues(DType::I64, {3}, {1, 2, 0});
  expectError(
      crossEntropy(logits, bad, -100, Reduction::None, Precision::F64, loss),
      StatusCode::OutOfRange, {"label 2", "row 1", "[0, 2)"});
  RefTensor frac = fromValues(DType::F32, {3}, {1, 0.5, 0});
  expectError(
      crossEntropy(logits, frac, -100, Reduction::None, Precision::F64, loss),
      StatusCode::InvalidArgument, {"0.5"});
}

TEST(Embedding, LookupAndOutOfRange) {
  RefTensor table = randomTensor(DType::BF16, {4, 3}, 201);
  RefTensor ids = fromValues(DType::I32, {2, 2}, {3, 0, 1, 3});
  RefTensor y;
  ASSERT_OK(embedding(ids, table, y));
  ASSERT_EQ(y.shape, std::vector<int64_t>({2, 2, 3}));
  EXPECT_EQ(y.dtype, DType::BF16);
  for (int64_t i = 0; i < 4; ++i)
    for (int64_t e = 0; e < 3; ++e)
      EXPECT_EQ(y.data[i * 3 + e], table.data[int64_t(ids.data[i]) * 3 + e]);
  RefTensor bad = fromValues(DType::I32, {2, 2}, {0, 1, 4, 2});
  expectError(embedding(bad, table, y), StatusCode::OutOfRange,
              {"id 4", "[1, 0]", "[0, 4)"});
  RefTensor neg = fromValues(DType::I32, {1}, {-1});
  expectError(embedding(neg, table, y), StatusCode::OutOfRange, {"id -1"});
}

TEST(Softmax, RowsSumToOneAndMaskedSlices) {
  RefTensor x = fromValues(DType::F64, {2, 3},
                           {0, std::log(3.0), -kInf, -kInf, -kInf, -kInf});
  RefTensor y;
  ASSERT_OK(softmax(x, 1, Precision::F64, y));
  EXPECT_NEAR(y.data[0], 0.25, 1e-15);
  EXPECT_NEAR(y.data[1], 0.75, 1e-15);
  EXPECT_EQ(y.data[2], 0.0);
  for (int i = 3; i < 6; ++i)
    EXPECT_EQ(y.data[i], 0.0);
  // Along axis 0 (negative axis -2).
  RefTensor r = randomTensor(DType::F32, {4, 5}, 211, -5, 5);
  ASSERT_OK(softmax(r, -2, Precision::Native, y));
  for (int64_t c = 0; c < 5; ++c) {
    double s = 0;
    for (int64_t row = 0; row < 4; ++row)
      s += y.data[row * 5 + c];
    EXPECT_NEAR(s, 1.0, 1e-6);
  }
  expectError(softmax(r, 2, Precision::F64, y), StatusCode::InvalidArgument,
              {"axis 2", "rank 2"});
}

TEST(Elementwise, BinaryBroadcasting) {
  RefTensor a = randomTensor(DType::F32, {2, 1, 3}, 221);
  RefTensor b = randomTensor(DType::F32, {4, 1}, 222);
  RefTensor y;
  ASSERT_OK(binary(BinaryKind::Sub, a, b, Precision::F64, y));
  ASSERT_EQ(y.shape, std::vector<int64_t>({2, 4, 3}));
  for (int64_t i = 0; i < 2; ++i)
    for (int64_t j = 0; j < 4; ++j)
      for (int64_t c = 0; c < 3; ++c)
        EXPECT_EQ(y.data[(i * 4 + j) * 3 + c], a.data[i * 3 + c] - b.data[j]);
  RefTensor s = fromValues(DType::F32, {}, {2});
  ASSERT_OK(binary(BinaryKind::Pow, a, s, Precision::F64, y));
  EXPECT_EQ(y.shape, a.shape);
  EXPECT_DOUBLE_EQ(y.data[4], a.data[4] * a.data[4]);
  RefTensor n = fromValues(DType::F32, {2}, {std::nan(""), 1});
  RefTensor z = fromValues(DType::F32, {2}, {0, 2});
  ASSERT_OK(binary(BinaryKind::Max, n, z, Precision::F64, y));
  EXPECT_TRUE(std::isnan(y.data[0]));
  EXPECT_EQ(y.data[1], 2.0);
  ASSERT_OK(binary(BinaryKind::Div, z, n, Precision::Native, y));
  EXPECT_EQ(y.data[1], 2.0);
  // Native rounds the result to the dtype.
  RefTensor third = fromValues(DType::BF16, {1}, {1});
  RefTensor three = fromValues(DType::BF16, {1}, {3});
  ASSERT_OK(binary(BinaryKind::Div, third, three, Precision::Native, y));
  EXPECT_EQ(y.data[0], roundToDType(1.0 / 3.0, DType::BF16));
  ASSERT_OK(binary(BinaryKind::Div, third, three, Precision::F64, y));
  EXPECT_EQ(y.data[0], 1.0 / 3.0);
  RefTensor c = randomTensor(DType::F32, {3, 2}, 223);
  expectError(binary(BinaryKind::Add, a, c, Precision::F64, y),
              StatusCode::InvalidArgument, {"[2, 1, 3]", "[3, 2]"});
  expectError(binary(BinaryKind::Add, a, third, Precision::F64, y),
              StatusCode::InvalidArgument, {"f32", "bf16"});
}

TEST(Elementwise, UnaryAndCast) {
  RefTensor x = fromValues(DType::F64, {5}, {-2, -0.5, 0, 0.25, 4});
  RefTensor y;
  ASSERT_OK(unary(UnaryKind::Abs, x, Precision::F64, y));
  EXPECT_EQ(y.data, std::vector<double>({2, 0.5, 0, 0.25, 4}));
  ASSERT_OK(unary(UnaryKind::Rsqrt, x, Precision::F64, y));
  EXPECT_EQ(y.data[4], 0.5);
  EXPECT_TRUE(std::isnan(y.data[0]));
  ASSERT_OK(unary(UnaryKind::Sigmoid, x, Precision::F64, y));
  EXPECT_DOUBLE_EQ(y.data[2], 0.5);
  EXPECT_NEAR(y.data[0], 1 / (1 + std::exp(2.0)), 1e-16);
  ASSERT_OK(unary(UnaryKind::Neg, x, Precision::F64, y));
  EXPECT_EQ(y.data[0], 2.0);
  ASSERT_OK(unary(UnaryKind::Log, x, Precision::F64, y));
  EXPECT_EQ(y.data[2], -kInf);
  RefTensor c;
  ASSERT_OK(
      cast(fromValues(DType::F64, {4}, {1.7, -1.7, 1e10, 0.1}), DType::I8, c));
  EXPECT_EQ(c.dtype, DType::I8);
  EXPECT_EQ(c.data, std::vector<double>({1, -1, 127, 0}));
  ASSERT_OK(cast(fromValues(DType::F64, {1}, {0.1}), DType::BF16, c));
  EXPECT_EQ(c.data[0], roundToDType(0.1, DType::BF16));
}

TEST(Layout, TransposeReshapeConcatSlice) {
  RefTensor x = randomTensor(DType::F32, {2, 3, 4}, 231);
  RefTensor t;
  ASSERT_OK(transpose(x, {2, 0, 1}, t));
  ASSERT_EQ(t.shape, std::vector<int64_t>({4, 2, 3}));
  for (int64_t a = 0; a < 2; ++a)
    for (int64_t b = 0; b < 3; ++b)
      for (int64_t c = 0; c < 4; ++c)
        EXPECT_EQ(t.data[(c * 2 + a) * 3 + b], x.data[(a * 3 + b) * 4 + c]);
  expectError(transpose(x, {0, 0, 1}, t), StatusCode::InvalidArgument,
              {"[0, 0, 1]"});

  RefTensor r;
  ASSERT_OK(reshape(x, {6, 4}, r));
  EXPECT_EQ(r.data, x.data);
  expectError(reshape(x, {5, 5}, r), StatusCode::InvalidArgument, {"24", "25"});

  RefTensor y = randomTensor(DType::F32, {2, 1, 4}, 232), cat;
  ASSERT_OK(concat({x, y}, 1, cat));
  ASSERT_EQ(cat.shape, std::vector<int64_t>({2, 4, 4}));
  for (int64_t a = 0; a < 2; ++a)
    for (int64_t c = 0; c < 4; ++c) {
      EXPECT_EQ(cat.data[(a * 4 + 2) * 4 + c], x.data[(a * 3 + 2) * 4 + c]);
      EXPECT_EQ(cat.data[(a * 4 + 3) * 4 + c], y.data[a * 4 + c]);
    }
  expectError(concat({x, y}, 2, cat), StatusCode::InvalidArgument,
              {"xs[1]", "[2, 1, 4]"});

  RefTensor s;
  ASSERT_OK(slice(cat, -2, 1, 2, s));
  ASSERT_EQ(s.shape, std::vector<int64_t>({2, 2, 4}));
  for (int64_t a = 0; a < 2; ++a)
    for (int64_t b = 0; b < 2; ++b)
      for (int64_t c = 0; c < 4; ++c)
        EXPECT_EQ(s.data[(a * 2 + b) * 4 + c],
                  cat.data[(a * 4 + b + 1) * 4 + c]);
  expectError(slice(cat, 1, 3, 2, s), StatusCode::OutOfRange,
              {"[3, 3 + 2)", "[0, 4)"});
}

TEST(Reduce, SumMeanMaxKeepDims) {
  RefTensor x = fromValues(DType::F64, {2, 3}, {1, 2, 3, 4, 5, 6});
  RefTensor y;
  ASSERT_OK(reduce(ReduceKind::Sum, x, {1}, false, Precision::F64, y));
  EXPECT_EQ(y.shape, std::vector<int64_t>({2}));
  EXPECT_EQ(y.data, std::vector<double>({6, 15}));
  ASSERT_OK(reduce(ReduceKind::Mean, x, {0}, true, Precision::F64, y));
  EXPECT_EQ(y.shape, std::vector<int64_t>({1, 3}));
  EXPECT_EQ(y.data, std::vector<double>({2.5, 3.5, 4.5}));
  ASSERT_OK(reduce(ReduceKind::Max, x, {0, 1}, false, Precision::F64, y));
  EXPECT_EQ(y.rank(), 0);
  EXPECT_EQ(y.data, std::vector<double>({6}));
  ASSERT_OK(reduce(ReduceKind::Sum, x, {}, false, Precision::F64, y));
  EXPECT_EQ(y.data, x.data);
  expectError(reduce(ReduceKind::Sum, x, {1, 0}, false, Precision::F64, y),
              StatusCode::InvalidArgument, {"[1, 0]"});
  expectError(reduce(ReduceKind::Sum, x, {2}, false, Precision::F64, y),
              StatusCode::InvalidArgument, {"[2]"});
  // Native sums accumulate in f32.
  RefTensor big = fromValues(DType::F32, {3}, {1, double(1e-8f), -1});
  ASSERT_OK(reduce(ReduceKind::Sum, big, {0}, false, Precision::Native, y));
  EXPECT_EQ(y.data[0], 0.0);
}

} // namespace

/// A NaN score is not a masked score: a row whose scores are NaN gives NaN
/// (not out = 0 / lse = -inf), and so does a softmax slice holding NaN and
/// an lse-combination over a NaN partial; fully masked rows stay 0 / -inf.
TEST(NaNPropagation, NaNIsNeverMistakenForMasked) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  RefTensor q(DType::F32, {1, 1, 2, 2}), k(DType::F32, {1, 1, 2, 2}),
      v(DType::F32, {1, 1, 2, 2});
  q.data = {nan, nan, 1, 0};
  k.data = {1, 0, 0, 1};
  v.data = {1, 2, 3, 4};
  AttentionSpec spec;
  MaskTerm causal;
  causal.kind = MaskTerm::Kind::Causal;
  spec.mask = causal;
  for (Precision p : {Precision::F64, Precision::Native}) {
    RefTensor out, lse;
    ASSERT_TRUE(attention(q, k, v, spec, p, out, lse).isOk());
    EXPECT_TRUE(std::isnan(out.data[0]) && std::isnan(out.data[1]));
    EXPECT_TRUE(std::isnan(lse.data[0]));
    EXPECT_FALSE(std::isnan(out.data[2]));
    EXPECT_TRUE(std::isfinite(lse.data[1]));
  }

  RefTensor x(DType::F32, {2, 3});
  x.data = {nan, nan, nan, -INFINITY, -INFINITY, -INFINITY};
  RefTensor y;
  ASSERT_TRUE(softmax(x, -1, Precision::F64, y).isOk());
  EXPECT_TRUE(std::isnan(y.data[0]) && std::isnan(y.data[2]));
  EXPECT_EQ(y.data[3], 0.0);
  EXPECT_EQ(y.data[5], 0.0);

  RefTensor o1(DType::F32, {1, 1}), l1(DType::F32, {1});
  RefTensor o2(DType::F32, {1, 1}), l2(DType::F32, {1});
  o1.data = {1};
  l1.data = {nan};
  o2.data = {2};
  l2.data = {-INFINITY};
  RefTensor o, l;
  ASSERT_TRUE(combineByLse({o1, o2}, {l1, l2}, Precision::F64, o, l).isOk());
  EXPECT_TRUE(std::isnan(o.data[0]) && std::isnan(l.data[0]));
}

/// The shared comparison helper cannot be fooled by NaN, opposite
/// infinities or shapes.
TEST(TestUtil, MaxAbsDiffSeesNaN) {
  RefTensor a(DType::F32, {2}), b(DType::F32, {2});
  a.data = {1, 2};
  b.data = {1, std::numeric_limits<double>::quiet_NaN()};
  EXPECT_TRUE(std::isinf(maxAbsDiff(a, b)));
  b.data = {1, 2};
  EXPECT_EQ(maxAbsDiff(a, b), 0.0);
  b.data = {INFINITY, 2};
  a.data = {-INFINITY, 2};
  EXPECT_TRUE(std::isinf(maxAbsDiff(a, b)));
  EXPECT_TRUE(std::isinf(maxAbsDiff(a, RefTensor(DType::F32, {3}))));
}

/// LSH sizes that would not fit in memory are refused, not attempted.
TEST(LshLimits, HugeBucketAndRoundCountsAreRefused) {
  RefTensor qk(DType::F32, {1, 1, 4, 2}), v(DType::F32, {1, 1, 4, 2});
  RefTensor out, lse;
  LshSpec spec;
  spec.numBuckets = int64_t(1) << 62;
  Status s = lshAttention(qk, v, nullptr, spec, Precision::F64, out, lse);
  EXPECT_FALSE(s.isOk());
  EXPECT_NE(s.message().find("at most 65536"), std::string::npos)
      << s.message();
  spec.numBuckets = 2;
  spec.numRounds = int64_t(1) << 62;
  s = lshAttention(qk, v, nullptr, spec, Precision::F64, out, lse);
  EXPECT_FALSE(s.isOk());
  EXPECT_NE(s.message().find("at most 256"), std::string::npos) << s.message();
}
