//===- BlockMap.h - Attention mask programs and tile classification -*- C++ -*-===//
//
// Header-only and dependency-free (C++17 standard library only): both the
// compiler (static block maps at compile time) and the CPU kernels (tiles the
// launch gives no block map for) include it.
//
// A mask program is the prefix form of include/attune/abi/Families.h
// (attention section). decodeMask() turns it into a MaskProgram or an error
// string (a malformed program never reads out of bounds); validateMaskFor()
// checks it against the launch's dims. Then
//   allowed(prog, b, h, q, k, docs)          per element, exactly the
//                                            semantics of ref::MaskTerm;
//   rowMask(prog, b, h, q, k0, n, docs, out) the same for n consecutive keys;
//   classifyTile(prog, b, h, q0, q1, k0, k1, Lq, Lk, docs)
//                                            EMPTY / PARTIAL / FULL for the
//                                            tile [q0,q1) x [k0,k1),
// exact or conservative: never EMPTY when a pair of the tile is allowed,
// never FULL when one is disallowed. DOCUMENT needs the document ids: with
// docs == nullptr (compile time) its tiles are PARTIAL.
//
//===----------------------------------------------------------------------===//

#ifndef ATTUNE_ABI_BLOCKMAP_H
#define ATTUNE_ABI_BLOCKMAP_H

#include "attune/abi/Families.h"

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

namespace attune::abi {

constexpr int kMaxMaskDepth = 64;

struct MaskNode {
  int64_t kind = 0;
  // AND/OR: children are kids[first .. first + count).
  int64_t first = 0, count = 0;
  // CAUSAL: a = bottom_right. WINDOW: a = left, b = right, c = bottom_right.
  // BLOCK_SPARSE: a = block_q, b = block_k, c = heads, d = nqb, e = nkb,
  //   layout = program ints at data. STRIDED: a = stride.
  // DILATED: a = segment, b = rate, c = offset (-1: h % rate).
  // PREFIX_LM: a = prefix. GLOBAL: tokens = sorted unique at tokens[first..
  //   first + count).
  int64_t a = 0, b = 0, c = 0, d = 0, e = 0;
  const int64_t *data = nullptr;
};

struct MaskProgram {
  std::vector<MaskNode> nodes; // nodes[0] is the root when non-empty
  std::vector<int32_t> kids;
  std::vector<int64_t> tokens;
  bool needsDocs = false;
  bool empty() const { return nodes.empty(); }
};

/// Document ids of one launch: q [B, Lq], k [B, Lk], integers of `bits`.
struct DocIds {
  const void *q = nullptr, *k = nullptr;
  int64_t bits = 32, lq = 0, lk = 0;
  int64_t qAt(int64_t b, int64_t i) const {
    return bits == 32 ? static_cast<const int32_t *>(q)[b * lq + i]
                      : static_cast<const int64_t *>(q)[b * lq + i];
  }
  int64_t kAt(int64_t b, int64_t i) const {
    return bits == 32 ? static_cast<const int32_t *>(k)[b * lk + i]
                      : static_cast<const int64_t *>(k)[b * lk + i];
  }
};

namespace detail {
struct Decoder {
  const int64_t *p;
  int64_t n, pos = 0;
  MaskProgram &m;
  std::string &err;
  bool fail(const std::string &what) {
    err = "mask program: " + what + " (at int " + std::to_string(pos) + ")";
    return false;
  }
  bool take(int64_t &v, const char *what) {
    if (pos >= n)
      return fail(std::string("truncated, expected ") + what);
    v = p[pos++];
    return true;
  }
  bool term(int depth, int64_t &index) {
    if (depth > kMaxMaskDepth)
      return fail("nesting deeper than " + std::to_string(kMaxMaskDepth));
    int64_t op;
    if (!take(op, "an opcode"))
      return false;
    index = static_cast<int64_t>(m.nodes.size());
    m.nodes.emplace_back();
    MaskNode nd;
    nd.kind = op;
    switch (op) {
    case ATTUNE_MASK_AND:
    case ATTUNE_MASK_OR: {
      int64_t cnt;
      if (!take(cnt, "a child count"))
        return false;
      if (cnt < 0 || cnt > n - pos)
        return fail("child count " + std::to_string(cnt) +
                    " is negative or exceeds the program");
      std::vector<int64_t> ch(static_cast<size_t>(cnt));
      for (int64_t i = 0; i < cnt; ++i)
        if (!term(depth + 1, ch[static_cast<size_t>(i)]))
          return false;
      nd.first = static_cast<int64_t>(m.kids.size());
      nd.count = cnt;
      for (int64_t c : ch)
        m.kids.push_back(static_cast<int32_t>(c));
      break;
    }
    case ATTUNE_MASK_CAUSAL:
      if (!take(nd.a, "bottom_right"))
        return false;
      if (nd.a != 0 && nd.a != 1)
        return fail("causal bottom_right = " + std::to_string(nd.a) +
                    "; expected 0 or 1");
      break;
    case ATTUNE_MASK_WINDOW:
      if (!take(nd.a, "window left") || !take(nd.b, "window right") ||
          !take(nd.c, "window bottom_right"))
        return false;
      if (nd.a < 0 || nd.b < 0)
        return fail("sliding window left = " + std::to_string(nd.a) +
                    ", right = " + std::to_string(nd.b) +
                    "; expected both >= 0");
      if (nd.c != 0 && nd.c != 1)
        return fail("window bottom_right = " + std::to_string(nd.c) +
                    "; expected 0 or 1");
      break;
    case ATTUNE_MASK_GLOBAL: {
      int64_t cnt;
      if (!take(cnt, "a token count"))
        return false;
      if (cnt < 0 || cnt > n - pos)
        return fail("global token count " + std::to_string(cnt) +
                    " is negative or exceeds the program");
      nd.first = static_cast<int64_t>(m.tokens.size());
      for (int64_t i = 0; i < cnt; ++i) {
        if (p[pos] < 0)
          return fail("global token " + std::to_string(p[pos]) +
                      " is negative");
        m.tokens.push_back(p[pos++]);
      }
      std::sort(m.tokens.begin() + nd.first, m.tokens.end());
      m.tokens.erase(std::unique(m.tokens.begin() + nd.first, m.tokens.end()),
                     m.tokens.end());
      nd.count = static_cast<int64_t>(m.tokens.size()) - nd.first;
      break;
    }
    case ATTUNE_MASK_BLOCK_SPARSE: {
      if (!take(nd.a, "block_q") || !take(nd.b, "block_k") ||
          !take(nd.c, "heads") || !take(nd.d, "nqb") || !take(nd.e, "nkb"))
        return false;
      if (nd.a <= 0 || nd.b <= 0 || nd.c < 0 || nd.d <= 0 || nd.e <= 0)
        return fail("block sparse block_q = " + std::to_string(nd.a) +
                    ", block_k = " + std::to_string(nd.b) +
                    ", heads = " + std::to_string(nd.c) +
                    ", nqb = " + std::to_string(nd.d) +
                    ", nkb = " + std::to_string(nd.e) +
                    "; expected sizes > 0 and heads >= 0");
      int64_t cells, total;
      if (__builtin_mul_overflow(nd.d, nd.e, &cells) ||
          __builtin_mul_overflow(cells, nd.c == 0 ? 1 : nd.c, &total) ||
          total > n - pos)
        return fail("block sparse layout needs more ints than the program "
                    "has");
      nd.data = p + pos;
      for (int64_t i = 0; i < total; ++i)
        if (p[pos + i] < 0 || p[pos + i] > 255)
          return fail("block sparse layout entry " + std::to_string(p[pos + i]) +
                      " is not a byte");
      pos += total;
      break;
    }
    case ATTUNE_MASK_STRIDED:
      if (!take(nd.a, "stride"))
        return false;
      if (nd.a <= 0)
        return fail("stride = " + std::to_string(nd.a) + "; expected > 0");
      break;
    case ATTUNE_MASK_DILATED:
      if (!take(nd.a, "segment") || !take(nd.b, "rate") ||
          !take(nd.c, "offset"))
        return false;
      if (nd.a <= 0 || nd.b <= 0 || nd.a % nd.b != 0)
        return fail("dilated segment = " + std::to_string(nd.a) +
                    ", rate = " + std::to_string(nd.b) +
                    "; expected both > 0 with rate dividing segment");
      if (nd.c < -1 || nd.c >= nd.b)
        return fail("dilated offset = " + std::to_string(nd.c) +
                    "; expected -1 (h % rate) or in [0, rate)");
      break;
    case ATTUNE_MASK_DOCUMENT:
      m.needsDocs = true;
      break;
    case ATTUNE_MASK_PREFIX_LM:
      if (!take(nd.a, "prefix"))
        return false;
      if (nd.a < 0)
        return fail("prefix = " + std::to_string(nd.a) + "; expected >= 0");
      break;
    default:
      --pos;
      return fail("unknown opcode " + std::to_string(op));
    }
    m.nodes[static_cast<size_t>(index)] = nd;
    return true;
  }
};
} // namespace detail

/// Decodes `n` ints of mask program; false with `err` set when malformed.
/// n == 0 is the empty program (every pair allowed).
inline bool decodeMask(const int64_t *p, int64_t n, MaskProgram &m,
                       std::string &err) {
  m = MaskProgram();
  if (n < 0 || (n > 0 && !p)) {
    err = "mask program: negative length or missing ints";
    return false;
  }
  if (n == 0)
    return true;
  detail::Decoder d{p, n, 0, m, err};
  int64_t root;
  if (!d.term(0, root))
    return false;
  if (d.pos != n) {
    err = "mask program: " + std::to_string(n - d.pos) +
          " trailing ints after the root term";
    return false;
  }
  return true;
}

/// Checks a decoded program against the launch: global tokens in
/// [0, max(Lq, Lk)), block-sparse layouts cover ceil(Lq/bq) x ceil(Lk/bk)
/// blocks with heads 0 or Hq.
inline bool validateMaskFor(const MaskProgram &m, int64_t lq, int64_t lk,
                            int64_t hq, std::string &err) {
  int64_t lmax = std::max(lq, lk);
  for (const MaskNode &nd : m.nodes) {
    if (nd.kind == ATTUNE_MASK_GLOBAL) {
      for (int64_t i = 0; i < nd.count; ++i)
        if (m.tokens[static_cast<size_t>(nd.first + i)] >= lmax) {
          err = "mask program: global token " +
                std::to_string(m.tokens[static_cast<size_t>(nd.first + i)]) +
                " is outside [0, " + std::to_string(lmax) + ")";
          return false;
        }
    } else if (nd.kind == ATTUNE_MASK_BLOCK_SPARSE) {
      if (nd.c != 0 && nd.c != hq) {
        err = "mask program: block sparse layout has " + std::to_string(nd.c) +
              " heads; expected 0 (shared) or Hq = " + std::to_string(hq);
        return false;
      }
      int64_t nqb = (lq + nd.a - 1) / nd.a, nkb = (lk + nd.b - 1) / nd.b;
      if (nd.d < nqb || nd.e < nkb) {
        err = "mask program: block sparse layout " + std::to_string(nd.d) +
              " x " + std::to_string(nd.e) +
              " does not cover ceil(Lq/block_q) x ceil(Lk/block_k) = " +
              std::to_string(nqb) + " x " + std::to_string(nkb) + " blocks";
        return false;
      }
    }
  }
  return true;
}

namespace detail {
inline bool hasToken(const MaskProgram &m, const MaskNode &nd, int64_t x) {
  const int64_t *b = m.tokens.data() + nd.first, *e = b + nd.count;
  return std::binary_search(b, e, x);
}
inline int64_t countTokens(const MaskProgram &m, const MaskNode &nd,
                           int64_t lo, int64_t hi) { // in [lo, hi)
  const int64_t *b = m.tokens.data() + nd.first, *e = b + nd.count;
  return std::lower_bound(b, e, hi) - std::lower_bound(b, e, lo);
}
inline int64_t aligned(const MaskNode &nd, int64_t br, int64_t lq,
                       int64_t lk) {
  (void)nd;
  return br ? lk - lq : 0;
}

inline bool allowedNode(const MaskProgram &m, int64_t i, int64_t b, int64_t h,
                        int64_t q, int64_t k, int64_t lq, int64_t lk,
                        const DocIds *docs) {
  const MaskNode &nd = m.nodes[static_cast<size_t>(i)];
  switch (nd.kind) {
  case ATTUNE_MASK_AND:
    for (int64_t c = 0; c < nd.count; ++c)
      if (!allowedNode(m, m.kids[static_cast<size_t>(nd.first + c)], b, h, q, k,
                       lq, lk, docs))
        return false;
    return true;
  case ATTUNE_MASK_OR:
    for (int64_t c = 0; c < nd.count; ++c)
      if (allowedNode(m, m.kids[static_cast<size_t>(nd.first + c)], b, h, q, k,
                      lq, lk, docs))
        return true;
    return false;
  case ATTUNE_MASK_CAUSAL:
    return k <= q + aligned(nd, nd.a, lq, lk);
  case ATTUNE_MASK_WINDOW: {
    int64_t qa = q + aligned(nd, nd.c, lq, lk);
    return qa - k <= nd.a && k - qa <= nd.b;
  }
  case ATTUNE_MASK_GLOBAL:
    return hasToken(m, nd, q) || hasToken(m, nd, k);
  case ATTUNE_MASK_BLOCK_SPARSE: {
    int64_t hh = nd.c == 0 ? 0 : h;
    return nd.data[(hh * nd.d + q / nd.a) * nd.e + k / nd.b] != 0;
  }
  case ATTUNE_MASK_STRIDED:
    return (q - k) % nd.a == 0;
  case ATTUNE_MASK_DILATED: {
    if (q / nd.a != k / nd.a)
      return false;
    int64_t o = nd.c >= 0 ? nd.c : h % nd.b;
    return (q % nd.a) % nd.b == o && (k % nd.a) % nd.b == o;
  }
  case ATTUNE_MASK_DOCUMENT:
    return docs && docs->qAt(b, q) == docs->kAt(b, k);
  case ATTUNE_MASK_PREFIX_LM:
    return k < nd.a || k <= q;
  }
  return false;
}

/// out[j] = allowed(q, k0 + j) for j < n (n <= 1024 per call).
inline void rowNode(const MaskProgram &m, int64_t i, int64_t b, int64_t h,
                    int64_t q, int64_t k0, int64_t n, int64_t lq, int64_t lk,
                    const DocIds *docs, uint8_t *out) {
  const MaskNode &nd = m.nodes[static_cast<size_t>(i)];
  auto fillRange = [&](int64_t lo, int64_t hi) { // allowed k in [lo, hi]
    for (int64_t j = 0; j < n; ++j) {
      int64_t k = k0 + j;
      out[j] = static_cast<uint8_t>(k >= lo && k <= hi);
    }
  };
  switch (nd.kind) {
  case ATTUNE_MASK_AND:
  case ATTUNE_MASK_OR: {
    bool isAnd = nd.kind == ATTUNE_MASK_AND;
    for (int64_t j = 0; j < n; ++j)
      out[j] = isAnd ? 1 : 0;
    uint8_t tmp[1024];
    for (int64_t c = 0; c < nd.count; ++c) {
      rowNode(m, m.kids[static_cast<size_t>(nd.first + c)], b, h, q, k0, n, lq,
              lk, docs, tmp);
      if (isAnd)
        for (int64_t j = 0; j < n; ++j)
          out[j] &= tmp[j];
      else
        for (int64_t j = 0; j < n; ++j)
          out[j] |= tmp[j];
    }
    return;
  }
  case ATTUNE_MASK_CAUSAL:
    fillRange(INT64_MIN, q + aligned(nd, nd.a, lq, lk));
    return;
  case ATTUNE_MASK_WINDOW: {
    int64_t qa = q + aligned(nd, nd.c, lq, lk);
    for (int64_t j = 0; j < n; ++j) {
      int64_t k = k0 + j;
      out[j] = static_cast<uint8_t>(qa - k <= nd.a && k - qa <= nd.b);
    }
    return;
  }
  case ATTUNE_MASK_PREFIX_LM:
    for (int64_t j = 0; j < n; ++j) {
      int64_t k = k0 + j;
      out[j] = static_cast<uint8_t>(k < nd.a || k <= q);
    }
    return;
  case ATTUNE_MASK_STRIDED: {
    int64_t r = ((q - k0) % nd.a + nd.a) % nd.a; // k0 + r is the first hit
    for (int64_t j = 0; j < n; ++j)
      out[j] = 0;
    for (int64_t j = r; j < n; j += nd.a)
      out[j] = 1;
    return;
  }
  case ATTUNE_MASK_GLOBAL:
    if (hasToken(m, nd, q)) {
      for (int64_t j = 0; j < n; ++j)
        out[j] = 1;
    } else {
      for (int64_t j = 0; j < n; ++j)
        out[j] = 0;
      const int64_t *tb = m.tokens.data() + nd.first, *te = tb + nd.count;
      for (const int64_t *t = std::lower_bound(tb, te, k0);
           t != te && *t < k0 + n; ++t)
        out[*t - k0] = 1;
    }
    return;
  default:
    for (int64_t j = 0; j < n; ++j)
      out[j] = static_cast<uint8_t>(
          allowedNode(m, i, b, h, q, k0 + j, lq, lk, docs));
    return;
  }
}

struct TileCtx {
  int64_t b, h, q0, q1, k0, k1, lq, lk;
  const DocIds *docs;
  bool docDone = false;
  int64_t qmin = 0, qmax = 0, kmin = 0, kmax = 0;
};

inline int classifyNode(const MaskProgram &m, int64_t i, TileCtx &t) {
  const MaskNode &nd = m.nodes[static_cast<size_t>(i)];
  const int64_t q0 = t.q0, ql = t.q1 - 1, k0 = t.k0, kl = t.k1 - 1;
  switch (nd.kind) {
  case ATTUNE_MASK_AND: {
    bool allFull = true;
    for (int64_t c = 0; c < nd.count; ++c) {
      int r = classifyNode(m, m.kids[static_cast<size_t>(nd.first + c)], t);
      if (r == ATTUNE_TILE_EMPTY)
        return ATTUNE_TILE_EMPTY;
      allFull &= r == ATTUNE_TILE_FULL;
    }
    return allFull ? ATTUNE_TILE_FULL : ATTUNE_TILE_PARTIAL;
  }
  case ATTUNE_MASK_OR: {
    bool allEmpty = true;
    for (int64_t c = 0; c < nd.count; ++c) {
      int r = classifyNode(m, m.kids[static_cast<size_t>(nd.first + c)], t);
      if (r == ATTUNE_TILE_FULL)
        return ATTUNE_TILE_FULL;
      allEmpty &= r == ATTUNE_TILE_EMPTY;
    }
    return allEmpty ? ATTUNE_TILE_EMPTY : ATTUNE_TILE_PARTIAL;
  }
  case ATTUNE_MASK_CAUSAL: {
    int64_t off = aligned(nd, nd.a, t.lq, t.lk);
    if (kl <= q0 + off)
      return ATTUNE_TILE_FULL;
    if (k0 > ql + off)
      return ATTUNE_TILE_EMPTY;
    return ATTUNE_TILE_PARTIAL;
  }
  case ATTUNE_MASK_WINDOW: {
    int64_t off = aligned(nd, nd.c, t.lq, t.lk);
    // d = qa - k ranges over [dlo, dhi]; allowed iff -right <= d <= left.
    int64_t dlo = q0 + off - kl, dhi = ql + off - k0;
    if (dhi <= nd.a && -dlo <= nd.b)
      return ATTUNE_TILE_FULL;
    if (dlo > nd.a || -dhi > nd.b)
      return ATTUNE_TILE_EMPTY;
    return ATTUNE_TILE_PARTIAL;
  }
  case ATTUNE_MASK_PREFIX_LM:
    if (kl < nd.a || kl <= q0)
      return ATTUNE_TILE_FULL;
    if (k0 >= nd.a && k0 > ql)
      return ATTUNE_TILE_EMPTY;
    return ATTUNE_TILE_PARTIAL;
  case ATTUNE_MASK_GLOBAL: {
    int64_t nq = countTokens(m, nd, q0, ql + 1),
            nk = countTokens(m, nd, k0, kl + 1);
    if (nq == ql - q0 + 1 || nk == kl - k0 + 1)
      return ATTUNE_TILE_FULL;
    if (nq == 0 && nk == 0)
      return ATTUNE_TILE_EMPTY;
    return ATTUNE_TILE_PARTIAL;
  }
  case ATTUNE_MASK_BLOCK_SPARSE: {
    int64_t hh = nd.c == 0 ? 0 : t.h;
    bool any = false, all = true;
    for (int64_t qb = q0 / nd.a; qb <= ql / nd.a; ++qb)
      for (int64_t kb = k0 / nd.b; kb <= kl / nd.b; ++kb) {
        bool v = nd.data[(hh * nd.d + qb) * nd.e + kb] != 0;
        any |= v;
        all &= v;
      }
    return all ? ATTUNE_TILE_FULL : any ? ATTUNE_TILE_PARTIAL : ATTUNE_TILE_EMPTY;
  }
  case ATTUNE_MASK_STRIDED: {
    if (nd.a == 1)
      return ATTUNE_TILE_FULL;
    int64_t dlo = q0 - kl, dhi = ql - k0; // q - k in [dlo, dhi]
    // first multiple of stride >= dlo
    int64_t r = ((dlo % nd.a) + nd.a) % nd.a;
    int64_t first = r == 0 ? dlo : dlo + (nd.a - r);
    if (first > dhi)
      return ATTUNE_TILE_EMPTY;
    if (dlo == dhi)
      return ATTUNE_TILE_FULL;
    return ATTUNE_TILE_PARTIAL;
  }
  case ATTUNE_MASK_DILATED: {
    int64_t seg = nd.a, rate = nd.b;
    int64_t o = nd.c >= 0 ? nd.c : t.h % rate;
    // Segments overlap?
    if (ql / seg < k0 / seg || kl / seg < q0 / seg)
      return ATTUNE_TILE_EMPTY;
    // rate divides seg, so (x % seg) % rate == x % rate.
    auto hit = [&](int64_t lo, int64_t hi) { // some x in [lo, hi], x%rate==o
      int64_t r = lo % rate;
      int64_t first = lo + ((o - r) % rate + rate) % rate;
      return first <= hi;
    };
    if (!hit(q0, ql) || !hit(k0, kl))
      return ATTUNE_TILE_EMPTY;
    if (rate == 1 && q0 / seg == ql / seg && k0 / seg == kl / seg &&
        q0 / seg == k0 / seg)
      return ATTUNE_TILE_FULL;
    if (q0 == ql && k0 == kl)
      return (q0 / seg == k0 / seg) ? ATTUNE_TILE_FULL : ATTUNE_TILE_EMPTY;
    return ATTUNE_TILE_PARTIAL;
  }
  case ATTUNE_MASK_DOCUMENT: {
    if (!t.docs || !t.docs->q || !t.docs->k)
      return ATTUNE_TILE_PARTIAL;
    if (!t.docDone) {
      t.qmin = t.qmax = t.docs->qAt(t.b, q0);
      for (int64_t q = q0 + 1; q <= ql; ++q) {
        int64_t v = t.docs->qAt(t.b, q);
        t.qmin = std::min(t.qmin, v);
        t.qmax = std::max(t.qmax, v);
      }
      t.kmin = t.kmax = t.docs->kAt(t.b, k0);
      for (int64_t k = k0 + 1; k <= kl; ++k) {
        int64_t v = t.docs->kAt(t.b, k);
        t.kmin = std::min(t.kmin, v);
        t.kmax = std::max(t.kmax, v);
      }
      t.docDone = true;
    }
    if (t.qmin == t.qmax && t.kmin == t.kmax && t.qmin == t.kmin)
      return ATTUNE_TILE_FULL;
    if (t.qmax < t.kmin || t.kmax < t.qmin)
      return ATTUNE_TILE_EMPTY;
    return ATTUNE_TILE_PARTIAL;
  }
  }
  return ATTUNE_TILE_PARTIAL;
}
} // namespace detail

/// Whether query q may attend to key k (b, h: batch and query head).
inline bool allowed(const MaskProgram &m, int64_t b, int64_t h, int64_t q,
                    int64_t k, int64_t lq, int64_t lk,
                    const DocIds *docs = nullptr) {
  return m.empty() || detail::allowedNode(m, 0, b, h, q, k, lq, lk, docs);
}

/// out[j] = allowed(b, h, q, k0 + j) for 0 <= j < n.
inline void rowMask(const MaskProgram &m, int64_t b, int64_t h, int64_t q,
                    int64_t k0, int64_t n, int64_t lq, int64_t lk,
                    const DocIds *docs, uint8_t *out) {
  if (m.empty()) {
    for (int64_t j = 0; j < n; ++j)
      out[j] = 1;
    return;
  }
  for (int64_t s = 0; s < n; s += 1024)
    detail::rowNode(m, 0, b, h, q, k0 + s, std::min<int64_t>(1024, n - s), lq,
                    lk, docs, out + s);
}

/// ATTUNE_TILE_{EMPTY,PARTIAL,FULL} of the tile [q0, q1) x [k0, k1) (both
/// non-empty). Exact for every term except DILATED (conservative
/// PARTIAL where the selected rows and keys fall in different segments),
/// DOCUMENT (min/max of the tile's ids; PARTIAL without ids) and their
/// AND/OR compositions.
inline int classifyTile(const MaskProgram &m, int64_t b, int64_t h, int64_t q0,
                        int64_t q1, int64_t k0, int64_t k1, int64_t lq,
                        int64_t lk, const DocIds *docs = nullptr) {
  if (m.empty())
    return ATTUNE_TILE_FULL;
  detail::TileCtx t{b, h, q0, q1, k0, k1, lq, lk, docs};
  return detail::classifyNode(m, 0, t);
}

} // namespace attune::abi

#endif // ATTUNE_ABI_BLOCKMAP_H
