//===- FamilyTestUtil.h - Helpers of the non-attention family tests -*- C++
//-*-===//
//
// Random inputs representable in a dtype, and a comparison of
// a kernel result with the reference in both precisions.
//
//===----------------------------------------------------------------------===//

#ifndef ATTUNE_TEST_UNIT_KERNELS_FAMILYTESTUTIL_H
#define ATTUNE_TEST_UNIT_KERNELS_FAMILYTESTUTIL_H

#include "KernelTestUtil.h"

#include <gtest/gtest.h>

#include <cstring>
#include <random>

namespace attune::kernels::testing {

struct Family {
  attune_cpu_kernel_fn kernel;
  attune_cpu_check_fn check;
};

/// The family variant for a storage dtype.
#define ATTUNE_FAMILY(family, dtype)                                           \
  ((dtype) == ::attune::DType::F32                                             \
       ? ::attune::kernels::testing::Family{attune_cpu_##family##_f32,         \
                                            attune_cpu_##family##_f32_check}   \
   : (dtype) == ::attune::DType::BF16                                          \
       ? ::attune::kernels::testing::Family{attune_cpu_##family##_bf16,        \
                                            attune_cpu_##family##_bf16_check}  \
       : ::attune::kernels::testing::Family{attune_cpu_##family##_f16,         \
                                            attune_cpu_##family##_f16_check})

inline RunResult run(Family f, Launch &l, int threads = 3) {
  return runKernel(f.kernel, f.check, l, threads);
}

/// Uniform values in [lo, hi) rounded to dtype.
inline ref::RefTensor randomRef(DType dt, std::vector<int64_t> shape,
                                uint32_t seed, double lo = -1, double hi = 1) {
  ref::RefTensor t(dt, std::move(shape));
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> u(lo, hi);
  for (double &v : t.data)
    v = roundToDType(u(rng), dt);
  return t;
}

inline double defaultFloor(DType dt) { return dt == DType::F32 ? 1e-6 : 1e-3; }

/// Compares a kernel output with gold (F64) and lowp (Native).
inline ::testing::AssertionResult matches(const HostTensor &out,
                                          const ref::RefTensor &gold,
                                          const ref::RefTensor &lowp,
                                          double floor) {
  ref::RefTensor o = fromStorage(out);
  o.shape = gold.shape; // kernels see flat buffers; shapes are the test's
  ref::ToleranceReport r = ref::checkTolerance(o, gold, lowp, floor);
  if (r.ok)
    return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << r.message;
}

inline bool sameBytes(const HostTensor &a, const HostTensor &b) {
  return a.byteSize() == b.byteSize() &&
         std::memcmp(a.data(), b.data(), a.byteSize()) == 0;
}

inline const char *dtName(DType dt) {
  return dt == DType::F32 ? "f32" : dt == DType::BF16 ? "bf16" : "f16";
}

} // namespace attune::kernels::testing

#endif // ATTUNE_TEST_UNIT_KERNELS_FAMILYTESTUTIL_H
