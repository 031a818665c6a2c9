//===- Philox4x32.h - Header-only Philox-4x32-10 and its normal stream -*- C++ -*-===//
//
// The same functions as include/attune/runtime/Philox.h (runtime/src/
// Philox.cpp), header-only so that code which cannot link the runtime (the
// CPU kernel archive) draws bit-identical numbers. Keep the two in sync (or
// let runtime/src/Philox.cpp forward to these).
//
//===----------------------------------------------------------------------===//

#ifndef ATTUNE_ABI_PHILOX4X32_H
#define ATTUNE_ABI_PHILOX4X32_H

#include <cmath>
#include <cstdint>

namespace attune::abi {

struct Philox4 {
  uint32_t v[4];
};

inline Philox4 philox4x32_10(Philox4 c, uint32_t k0, uint32_t k1) {
  constexpr uint32_t kM0 = 0xD2511F53u, kM1 = 0xCD9E8D57u;
  constexpr uint32_t kW0 = 0x9E3779B9u, kW1 = 0xBB67AE85u;
  for (int r = 0; r < 10; ++r) {
    if (r > 0) {
      k0 += kW0;
      k1 += kW1;
    }
    uint64_t p0 = static_cast<uint64_t>(kM0) * c.v[0];
    uint64_t p1 = static_cast<uint64_t>(kM1) * c.v[2];
    uint32_t hi0 = static_cast<uint32_t>(p0 >> 32), lo0 = static_cast<uint32_t>(p0);
    uint32_t hi1 = static_cast<uint32_t>(p1 >> 32), lo1 = static_cast<uint32_t>(p1);
    c = Philox4{{hi1 ^ c.v[1] ^ k0, lo1, hi0 ^ c.v[3] ^ k1, lo0}};
  }
  return c;
}

inline double philoxUniform(uint32_t u) {
  return (static_cast<double>(u) + 0.5) * 0x1p-32;
}

/// Element `index` of the standard-normal stream keyed by `seed`
/// (attune::philoxNormal, bit for bit).
inline double philoxNormal(uint64_t seed, uint32_t stream, uint64_t index) {
#ifdef __clang__
#pragma clang fp contract(off)
#endif
  uint64_t n = index / 4;
  Philox4 x = philox4x32_10(
      Philox4{{static_cast<uint32_t>(n), static_cast<uint32_t>(n >> 32), stream, 0u}},
      static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32));
  const double twoPi = 6.283185307179586476925286766559;
  unsigned lane = static_cast<unsigned>(index % 4);
  if (lane < 2) {
    double r0 = std::sqrt(-2.0 * std::log(philoxUniform(x.v[0])));
    double t = twoPi * philoxUniform(x.v[1]);
    return lane == 0 ? r0 * std::cos(t) : r0 * std::sin(t);
  }
  double r1 = std::sqrt(-2.0 * std::log(philoxUniform(x.v[2])));
  double t = twoPi * philoxUniform(x.v[3]);
  return lane == 2 ? r1 * std::cos(t) : r1 * std::sin(t);
}

} // namespace attune::abi

#endif // ATTUNE_ABI_PHILOX4X32_H
