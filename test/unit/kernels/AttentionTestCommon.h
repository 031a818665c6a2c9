//===- AttentionTestCommon.h - Shared by the attention kernel tests -*- C++ -*-===//

#ifndef ATTUNE_TEST_UNIT_KERNELS_ATTENTIONTESTCOMMON_H
#define ATTUNE_TEST_UNIT_KERNELS_ATTENTIONTESTCOMMON_H

#include "KernelTestUtil.h"

#include <cstring>
#include <random>

namespace attune::kernels::testing {

/// Random tensor of `shape`, values representable in `dt` (normal * sd).
inline ref::RefTensor randomTensor(DType dt, std::vector<int64_t> shape,
                                   std::mt19937_64 &rng, double sd = 1.0) {
  HostTensor h(dt, shape);
  std::normal_distribution<double> n(0.0, sd);
  for (int64_t i = 0; i < h.numElements(); ++i)
    h.setDouble(i, n(rng));
  return ref::RefTensor::fromHost(h);
}

inline void encodeMask(const ref::MaskTerm &m, std::vector<int64_t> &p) {
  using K = ref::MaskTerm::Kind;
  switch (m.kind) {
  case K::And:
  case K::Or:
    p.push_back(m.kind == K::And ? ATTUNE_MASK_AND : ATTUNE_MASK_OR);
    p.push_back(static_cast<int64_t>(m.children.size()));
    for (const auto &c : m.children)
      encodeMask(c, p);
    return;
  case K::Causal:
    p.insert(p.end(), {ATTUNE_MASK_CAUSAL, m.bottomRight ? 1 : 0});
    return;
  case K::SlidingWindow:
    p.insert(p.end(), {ATTUNE_MASK_WINDOW, m.left, m.right, m.bottomRight ? 1 : 0});
    return;
  case K::Global:
    p.push_back(ATTUNE_MASK_GLOBAL);
    p.push_back(static_cast<int64_t>(m.tokens.size()));
    p.insert(p.end(), m.tokens.begin(), m.tokens.end());
    return;
  case K::BlockSparse: {
    p.insert(p.end(), {ATTUNE_MASK_BLOCK_SPARSE, m.blockQ, m.blockK});
    size_t r = m.layoutShape.size();
    p.push_back(r == 3 ? m.layoutShape[0] : 0);
    p.push_back(m.layoutShape[r - 2]);
    p.push_back(m.layoutShape[r - 1]);
    for (uint8_t v : m.layout)
      p.push_back(v);
    return;
  }
  case K::Strided:
    p.insert(p.end(), {ATTUNE_MASK_STRIDED, m.stride});
    return;
  case K::Dilated:
    p.insert(p.end(), {ATTUNE_MASK_DILATED, m.segment, m.rate, m.offset ? *m.offset : -1});
    return;
  case K::Document:
    p.push_back(ATTUNE_MASK_DOCUMENT);
    return;
  case K::PrefixLM:
    p.insert(p.end(), {ATTUNE_MASK_PREFIX_LM, m.prefix});
    return;
  }
}

inline ref::MaskTerm causal(bool br = false) {
  ref::MaskTerm m;
  m.kind = ref::MaskTerm::Kind::Causal;
  m.bottomRight = br;
  return m;
}
inline ref::MaskTerm window(int64_t l, int64_t r, bool br = false) {
  ref::MaskTerm m;
  m.kind = ref::MaskTerm::Kind::SlidingWindow;
  m.left = l;
  m.right = r;
  m.bottomRight = br;
  return m;
}
inline ref::MaskTerm globalTokens(std::vector<int64_t> t) {
  ref::MaskTerm m;
  m.kind = ref::MaskTerm::Kind::Global;
  m.tokens = std::move(t);
  return m;
}
inline ref::MaskTerm strided(int64_t s) {
  ref::MaskTerm m;
  m.kind = ref::MaskTerm::Kind::Strided;
  m.stride = s;
  return m;
}
inline ref::MaskTerm dilated(int64_t seg, int64_t rate, std::optional<int64_t> off) {
  ref::MaskTerm m;
  m.kind = ref::MaskTerm::Kind::Dilated;
  m.segment = seg;
  m.rate = rate;
  m.offset = off;
  return m;
}
inline ref::MaskTerm document() {
  ref::MaskTerm m;
  m.kind = ref::MaskTerm::Kind::Document;
  return m;
}
inline ref::MaskTerm prefixLM(int64_t n) {
  ref::MaskTerm m;
  m.kind = ref::MaskTerm::Kind::PrefixLM;
  m.prefix = n;
  return m;
}
inline ref::MaskTerm blockSparse(int64_t bq, int64_t bk, int64_t heads, int64_t nqb,
                                 int64_t nkb, std::mt19937_64 &rng) {
  ref::MaskTerm m;
  m.kind = ref::MaskTerm::Kind::BlockSparse;
  m.blockQ = bq;
  m.blockK = bk;
  if (heads)
    m.layoutShape = {heads, nqb, nkb};
  else
    m.layoutShape = {nqb, nkb};
  int64_t n = (heads ? heads : 1) * nqb * nkb;
  for (int64_t i = 0; i < n; ++i)
    m.layout.push_back(static_cast<uint8_t>(rng() % 3 == 0 ? 0 : 1));
  return m;
}
inline ref::MaskTerm both(std::vector<ref::MaskTerm> c, bool isAnd = true) {
  ref::MaskTerm m;
  m.kind = isAnd ? ref::MaskTerm::Kind::And : ref::MaskTerm::Kind::Or;
  m.children = std::move(c);
  return m;
}

} // namespace attune::kernels::testing

#endif
