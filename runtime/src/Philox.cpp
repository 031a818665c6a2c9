//===- Philox.cpp - Counter-based random numbers --------------------------===//
//
// Philox-4x32-10 as in Random123 (philox.h), with its standard multipliers and
// Weyl key increments.
//
//===----------------------------------------------------------------------===//

#include "attune/runtime/Philox.h"

#include "attune/abi/Philox4x32.h"

#include <cmath>

// One implementation: the header-only one the CPU kernels (LSH rotations)
// also compile, so the runtime, the reference and every backend draw the same
// bits.

namespace attune {

std::array<uint32_t, 4> philox4x32_10(std::array<uint32_t, 4> counter,
                                      std::array<uint32_t, 2> key) {
  abi::Philox4 r = abi::philox4x32_10(
      abi::Philox4{{counter[0], counter[1], counter[2], counter[3]}}, key[0],
      key[1]);
  return {r.v[0], r.v[1], r.v[2], r.v[3]};
}

double philoxUniform(uint32_t u) { return abi::philoxUniform(u); }

double philoxNormal(uint64_t seed, uint32_t stream, uint64_t index) {
  return abi::philoxNormal(seed, stream, index);
}

double randomInputValue(uint64_t seed, uint32_t argument,
                        const std::vector<int64_t> &shape, uint64_t index) {
  double z = philoxNormal(seed, argument, index);
  if (shape.size() == 1)
    return 1.0 + 0.1 * z;
  if (shape.empty() || shape.back() <= 0)
    return z;
  return z / std::sqrt(static_cast<double>(shape.back()));
}

} // namespace attune
