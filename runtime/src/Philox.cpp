//===- Philox.cpp - Counter-based random numbers --------------------------===//
//
// Philox-4x32-10 as in Random123 (philox.h), with its standard multipliers and
// Weyl key increments.
//
//===----------------------------------------------------------------------===//

#include "attune/runtime/Philox.h"

#include <cmath>

namespace attune {

namespace {
constexpr uint32_t kM0 = 0xD2511F53u;
constexpr uint32_t kM1 = 0xCD9E8D57u;
constexpr uint32_t kW0 = 0x9E3779B9u;
constexpr uint32_t kW1 = 0xBB67AE85u;

inline void round4x32(std::array<uint32_t, 4> &c,
                      const std::array<uint32_t, 2> &k) {
  uint64_t p0 = static_cast<uint64_t>(kM0) * c[0];
  uint64_t p1 = static_cast<uint64_t>(kM1) * c[2];
  uint32_t hi0 = static_cast<uint32_t>(p0 >> 32),
           lo0 = static_cast<uint32_t>(p0);
  uint32_t hi1 = static_cast<uint32_t>(p1 >> 32),
           lo1 = static_cast<uint32_t>(p1);
  c = {hi1 ^ c[1] ^ k[0], lo1, hi0 ^ c[3] ^ k[1], lo0};
}
} // namespace

std::array<uint32_t, 4> philox4x32_10(std::array<uint32_t, 4> counter,
                                      std::array<uint32_t, 2> key) {
  for (int r = 0; r < 10; ++r) {
    if (r > 0) {
      key[0] += kW0;
      key[1] += kW1;
    }
    round4x32(counter, key);
  }
  return counter;
}

double philoxUniform(uint32_t u) {
  return (static_cast<double>(u) + 0.5) * 0x1p-32;
}

double philoxNormal(uint64_t seed, uint32_t stream, uint64_t index) {
  uint64_t n = index / 4;
  std::array<uint32_t, 4> x = philox4x32_10(
      {static_cast<uint32_t>(n), static_cast<uint32_t>(n >> 32), stream, 0u},
      {static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32)});
  const double twoPi = 6.283185307179586476925286766559;
  // Box-Muller on two pairs of uniforms; only the pair this index needs.
  unsigned lane = static_cast<unsigned>(index % 4);
  if (lane < 2) {
    double r0 = std::sqrt(-2.0 * std::log(philoxUniform(x[0])));
    double t = twoPi * philoxUniform(x[1]);
    return lane == 0 ? r0 * std::cos(t) : r0 * std::sin(t);
  }
  double r1 = std::sqrt(-2.0 * std::log(philoxUniform(x[2])));
  double t = twoPi * philoxUniform(x[3]);
  return lane == 2 ? r1 * std::cos(t) : r1 * std::sin(t);
}

} // namespace attune
