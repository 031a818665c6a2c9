//===- BlockMapTest.cpp - include/attune/abi/BlockMap.h --------------------===//
//
// classifyTile is checked exhaustively against allowed() on small random
// programs (never EMPTY with an allowed pair, never FULL with a disallowed
// one), allowed() against the reference attention's mask semantics, rowMask
// against allowed(), and malformed programs give errors.

#include "AttentionTestCommon.h"
#include "attune/abi/BlockMap.h"

#include <gtest/gtest.h>

using namespace attune;
using namespace attune::kernels::testing;
using ref::MaskTerm;

namespace {

MaskTerm randomTerm(std::mt19937_64 &rng, int depth, int64_t lq, int64_t lk, int64_t hq) {
  int kinds = depth < 2 ? 10 : 8;
  switch (rng() % kinds) {
  case 0: return causal(rng() % 2);
  case 1: return window(rng() % 6, rng() % 6, rng() % 2);
  case 2: {
    std::vector<int64_t> t;
    int n = rng() % 4;
    for (int i = 0; i < n; ++i)
      t.push_back(rng() % std::max(lq, lk));
    return globalTokens(t);
  }
  case 3: {
    int64_t bq = 1 + rng() % 7, bk = 1 + rng() % 7;
    return blockSparse(bq, bk, rng() % 2 ? hq : 0, (lq + bq - 1) / bq + rng() % 2,
                       (lk + bk - 1) / bk, rng);
  }
  case 4: return strided(1 + rng() % 5);
  case 5: {
    int64_t rate = 1 + rng() % 3, seg = rate * (1 + rng() % 4);
    std::optional<int64_t> off;
    if (rng() % 2)
      off = int64_t(rng() % rate);
    return dilated(seg, rate, off);
  }
  case 6: return document();
  case 7: return prefixLM(rng() % (lk + 1));
  default: {
    std::vector<MaskTerm> ch;
    int n = rng() % 4;
    for (int i = 0; i < n; ++i)
      ch.push_back(randomTerm(rng, depth + 1, lq, lk, hq));
    return both(ch, rng() % 2);
  }
  }
}

} // namespace

TEST(BlockMap, ClassifyIsConservativeAndRowMaskExact) {
  std::mt19937_64 rng(42);
  int64_t exactTiles = 0, tiles = 0;
  for (int iter = 0; iter < 1500; ++iter) {
    const int64_t lq = 1 + rng() % 23, lk = 1 + rng() % 23, hq = 2, B = 2;
    MaskTerm m = randomTerm(rng, 0, lq, lk, hq);
    std::vector<int64_t> prog;
    encodeMask(m, prog);
    attune::abi::MaskProgram p;
    std::string err;
    ASSERT_TRUE(attune::abi::decodeMask(prog.data(), int64_t(prog.size()), p, err)) << err;
    ASSERT_TRUE(attune::abi::validateMaskFor(p, lq, lk, hq, err)) << err;
    std::vector<int64_t> qd(B * lq), kd(B * lk);
    for (auto &x : qd)
      x = rng() % 3;
    for (auto &x : kd)
      x = rng() % 3;
    if (iter % 2) { // sorted ids make FULL/EMPTY document tiles likely
      std::sort(qd.begin(), qd.begin() + lq);
      std::sort(kd.begin(), kd.begin() + lk);
    }
    attune::abi::DocIds docs{qd.data(), kd.data(), 64, lq, lk};
    // allowed() against the reference semantics, via attention on one-hot
    // values: out[b,h,q,:] is the mean of the allowed keys' one-hot rows.
    ref::RefTensor q(DType::F64, {B, hq, lq, 1}), k(DType::F64, {B, 1, lk, 1}),
        v(DType::F64, {B, 1, lk, lk});
    for (int64_t b = 0; b < B; ++b)
      for (int64_t j = 0; j < lk; ++j)
        v.data[(b * lk + j) * lk + j] = 1.0;
    ref::RefTensor qdt(DType::I64, {B, lq}), kdt(DType::I64, {B, lk});
    for (size_t i = 0; i < qd.size(); ++i)
      qdt.data[i] = double(qd[i]);
    for (size_t i = 0; i < kd.size(); ++i)
      kdt.data[i] = double(kd[i]);
    ref::AttentionSpec spec;
    spec.scale = 1.0;
    spec.mask = m;
    spec.qDocIds = &qdt;
    spec.kvDocIds = &kdt;
    ref::RefTensor out, lse;
    ASSERT_TRUE(ref::attention(q, k, v, spec, ref::Precision::F64, out, lse).isOk());
    for (int64_t b = 0; b < B; ++b)
      for (int64_t h = 0; h < hq; ++h)
        for (int64_t i = 0; i < lq; ++i) {
          uint8_t row[64];
          attune::abi::rowMask(p, b, h, i, 0, lk, lq, lk, &docs, row);
          for (int64_t j = 0; j < lk; ++j) {
            bool a = attune::abi::allowed(p, b, h, i, j, lq, lk, &docs);
            bool r = out.data[((b * hq + h) * lq + i) * lk + j] > 0;
            ASSERT_EQ(a, r) << "iter " << iter << " b" << b << " h" << h << " q" << i << " k" << j;
            ASSERT_EQ(row[j], a ? 1 : 0) << "rowMask iter " << iter;
          }
        }
    // Every tile of a few tilings.
    for (int t = 0; t < 3; ++t) {
      int64_t bq = 1 + rng() % 9, bk = 1 + rng() % 9;
      for (int64_t b = 0; b < B; ++b)
        for (int64_t h = 0; h < hq; ++h)
          for (int64_t q0 = 0; q0 < lq; q0 += bq)
            for (int64_t k0 = 0; k0 < lk; k0 += bk) {
              int64_t q1 = std::min(lq, q0 + bq), k1 = std::min(lk, k0 + bk);
              bool any = false, all = true;
              for (int64_t i = q0; i < q1; ++i)
                for (int64_t j = k0; j < k1; ++j) {
                  bool a = attune::abi::allowed(p, b, h, i, j, lq, lk, &docs);
                  any |= a;
                  all &= a;
                }
              int c = attune::abi::classifyTile(p, b, h, q0, q1, k0, k1, lq, lk, &docs);
              if (c == ATTUNE_TILE_EMPTY)
                ASSERT_FALSE(any) << "iter " << iter;
              if (c == ATTUNE_TILE_FULL)
                ASSERT_TRUE(all) << "iter " << iter;
              ++tiles;
              exactTiles += (c == ATTUNE_TILE_EMPTY) == !any && (c == ATTUNE_TILE_FULL) == all;
              // Without document ids (compile time) still conservative.
              if (!p.needsDocs) {
                int c2 = attune::abi::classifyTile(p, b, h, q0, q1, k0, k1, lq, lk, nullptr);
                ASSERT_EQ(c, c2);
              } else {
                int c2 = attune::abi::classifyTile(p, b, h, q0, q1, k0, k1, lq, lk, nullptr);
                if (c2 == ATTUNE_TILE_EMPTY)
                  ASSERT_FALSE(any);
                if (c2 == ATTUNE_TILE_FULL)
                  ASSERT_TRUE(all);
              }
            }
    }
  }
  // Most tiles are classified exactly (conservative only for dilated /
  // documents and compositions).
  EXPECT_GT(double(exactTiles) / double(tiles), 0.9);
}

TEST(BlockMap, SingleTermsAreExact) {
  std::mt19937_64 rng(3);
  std::vector<MaskTerm> terms = {causal(false), causal(true), window(3, 1), window(0, 4, true),
                                 globalTokens({2, 5, 9}), strided(3), prefixLM(4),
                                 blockSparse(3, 2, 0, 6, 9, rng)};
  for (const MaskTerm &m : terms) {
    std::vector<int64_t> prog;
    encodeMask(m, prog);
    attune::abi::MaskProgram p;
    std::string err;
    ASSERT_TRUE(attune::abi::decodeMask(prog.data(), int64_t(prog.size()), p, err)) << err;
    const int64_t lq = 15, lk = 17;
    for (int64_t bq = 1; bq <= 6; ++bq)
      for (int64_t bk = 1; bk <= 6; ++bk)
        for (int64_t q0 = 0; q0 < lq; q0 += bq)
          for (int64_t k0 = 0; k0 < lk; k0 += bk) {
            int64_t q1 = std::min(lq, q0 + bq), k1 = std::min(lk, k0 + bk);
            bool any = false, all = true;
            for (int64_t i = q0; i < q1; ++i)
              for (int64_t j = k0; j < k1; ++j) {
                bool a = attune::abi::allowed(p, 0, 0, i, j, lq, lk);
                any |= a;
                all &= a;
              }
            int want = all ? ATTUNE_TILE_FULL : any ? ATTUNE_TILE_PARTIAL : ATTUNE_TILE_EMPTY;
            ASSERT_EQ(attune::abi::classifyTile(p, 0, 0, q0, q1, k0, k1, lq, lk), want)
                << "kind " << int(m.kind) << " tile " << q0 << "," << k0;
          }
  }
}

TEST(BlockMap, MalformedProgramsAreErrors) {
  auto bad = [](std::vector<int64_t> prog, const std::string &needle) {
    attune::abi::MaskProgram p;
    std::string err;
    EXPECT_FALSE(attune::abi::decodeMask(prog.data(), int64_t(prog.size()), p, err)) << needle;
    EXPECT_NE(err.find(needle), std::string::npos) << err;
  };
  bad({42}, "unknown opcode");
  bad({ATTUNE_MASK_CAUSAL}, "truncated");
  bad({ATTUNE_MASK_WINDOW, 1, 2}, "truncated");
  bad({ATTUNE_MASK_WINDOW, -1, 2, 0}, "left");
  bad({ATTUNE_MASK_AND, 5, ATTUNE_MASK_CAUSAL, 0}, "child count");
  bad({ATTUNE_MASK_AND, -1}, "child count");
  bad({ATTUNE_MASK_GLOBAL, 3, 1}, "token count");
  bad({ATTUNE_MASK_GLOBAL, 1, -4}, "negative");
  bad({ATTUNE_MASK_BLOCK_SPARSE, 4, 4, 0, 2, 2, 1, 1, 1}, "layout needs");
  bad({ATTUNE_MASK_BLOCK_SPARSE, 4, -4, 0, 1, 1, 1}, "expected sizes");
  bad({ATTUNE_MASK_BLOCK_SPARSE, 4, 4, 0, 1, 1, 300}, "byte");
  bad({ATTUNE_MASK_BLOCK_SPARSE, INT64_MAX, 4, 0, INT64_MAX, INT64_MAX, 1}, "layout needs");
  bad({ATTUNE_MASK_STRIDED, 0}, "stride");
  bad({ATTUNE_MASK_DILATED, 10, 3, 0}, "rate dividing");
  bad({ATTUNE_MASK_DILATED, 10, 5, 5}, "offset");
  bad({ATTUNE_MASK_PREFIX_LM, -2}, "prefix");
  bad({ATTUNE_MASK_CAUSAL, 0, ATTUNE_MASK_CAUSAL, 0}, "trailing");
  bad({ATTUNE_MASK_CAUSAL, 2}, "bottom_right");
  std::vector<int64_t> deep;
  for (int i = 0; i < 100; ++i)
    deep.insert(deep.end(), {ATTUNE_MASK_AND, 1});
  deep.insert(deep.end(), {ATTUNE_MASK_CAUSAL, 0});
  bad(deep, "deeper");
  // Validation against the launch.
  attune::abi::MaskProgram p;
  std::string err;
  std::vector<int64_t> g = {ATTUNE_MASK_GLOBAL, 1, 50};
  ASSERT_TRUE(attune::abi::decodeMask(g.data(), 3, p, err));
  EXPECT_FALSE(attune::abi::validateMaskFor(p, 10, 20, 1, err));
  std::vector<int64_t> bs = {ATTUNE_MASK_BLOCK_SPARSE, 4, 4, 0, 1, 1, 1};
  ASSERT_TRUE(attune::abi::decodeMask(bs.data(), int64_t(bs.size()), p, err));
  EXPECT_FALSE(attune::abi::validateMaskFor(p, 10, 3, 1, err));
  EXPECT_NE(err.find("cover"), std::string::npos);
  // Random garbage never crashes.
  std::mt19937_64 rng(1);
  for (int i = 0; i < 20000; ++i) {
    std::vector<int64_t> r(rng() % 12);
    for (auto &x : r)
      x = int64_t(rng() % 14) - 2;
    attune::abi::decodeMask(r.data(), int64_t(r.size()), p, err);
  }
}
