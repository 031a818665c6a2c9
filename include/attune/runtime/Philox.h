//===- Philox.h - Counter-based random numbers ------------------*- C++ -*-===//
//
// Philox-4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2,
// 3", SC'11) and the normal/uniform streams built on it. Every backend draws
// random tensors (LSH rotations, dropout later) from these exact functions,
// keyed by a seed and indexed by element, so a recomputed forward pass and a
// different device see the same numbers.
//
//===----------------------------------------------------------------------===//

#ifndef ATTUNE_RUNTIME_PHILOX_H
#define ATTUNE_RUNTIME_PHILOX_H

#include <array>
#include <cstdint>
#include <vector>

namespace attune {

/// Ten rounds of Philox-4x32 on `counter` with `key`.
std::array<uint32_t, 4> philox4x32_10(std::array<uint32_t, 4> counter,
                                      std::array<uint32_t, 2> key);

/// Uniform double in the open interval (0, 1) from one 32-bit word:
/// (u + 0.5) * 2^-32.
double philoxUniform(uint32_t u);

/// Element `index` of the standard-normal stream keyed by `seed`.
/// Block n = index / 4 is philox4x32_10({lo32(n), hi32(n), stream, 0},
/// {lo32(seed), hi32(seed)}) = x0..x3; with u_i = philoxUniform(x_i),
/// r0 = sqrt(-2 ln u0), r1 = sqrt(-2 ln u2):
///   index%4 == 0: r0 cos(2 pi u1)    index%4 == 1: r0 sin(2 pi u1)
///   index%4 == 2: r1 cos(2 pi u3)    index%4 == 3: r1 sin(2 pi u3)
/// computed in double. `stream` separates independent tensors drawn from
/// one seed.
double philoxNormal(uint64_t seed, uint32_t stream, uint64_t index);

/// Element `index` of the deterministic random input that attune-ref and
/// attune-run give argument number `argument` of shape `shape` for
/// --random-inputs SEED: rank 1 (norm weights) 1 + 0.1 z; otherwise
/// z / sqrt(last dim) (1 for rank 0 or an empty last dim); z =
/// philoxNormal(seed, argument, index). One definition, so that both tools
/// draw the same inputs.
double randomInputValue(uint64_t seed, uint32_t argument,
                        const std::vector<int64_t> &shape, uint64_t index);

} // namespace attune

#endif // ATTUNE_RUNTIME_PHILOX_H
