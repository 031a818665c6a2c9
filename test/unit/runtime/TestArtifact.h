//===- TestArtifact.h - Artifacts built by the runtime tests ----*- C++ -*-===//
//
// The test module "main"(x: f32[N], w: f32[N]) -> (y: f32[N]) computes
//   t = x + 1.0 * w                 (launch 0, arena value)
//   y = t + 0.5 * c + k             (launch 1, c a constant f32[N], k a
//                                    constant f32[1] added by a score hook)
// with the kernels of TestKernels.c (ATTUNE_TEST_KERNELS_SO).
//
//===----------------------------------------------------------------------===//

#ifndef ATTUNE_TEST_UNIT_RUNTIME_TESTARTIFACT_H
#define ATTUNE_TEST_UNIT_RUNTIME_TESTARTIFACT_H

#include "attune/artifact/Artifact.h"

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <vector>

namespace attune::test {

/// The test kernels' shared object; the environment variable
/// ATTUNE_TEST_KERNELS_SO overrides the path of the build (for a test binary
/// carried to another machine).
inline std::vector<uint8_t> testKernelsBytes() {
  const char *path = std::getenv("ATTUNE_TEST_KERNELS_SO");
  std::ifstream in(path && *path ? path : ATTUNE_TEST_KERNELS_SO,
                   std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in),
                              std::istreambuf_iterator<char>());
}

inline constexpr int64_t kN = 1000;

inline float constantC(int64_t i) { return 0.25f * static_cast<float>(i % 7); }
inline constexpr float kK = 3.0f;

inline artifact::ModuleDesc testModule() {
  using namespace artifact;
  ModuleDesc m;
  m.compilerVersion = "attune-test 0.1";
  m.targets = {"cpu"};
  m.cpuArch = "x86-64";
  m.cpuSharedObject = testKernelsBytes();
  uint64_t bytes = kN * 4;
  // c at 0, k at the next 64-byte boundary.
  uint64_t kOffset = (bytes + 63) / 64 * 64;
  m.constants.assign(kOffset + 64, 0);
  for (int64_t i = 0; i < kN; ++i) {
    float c = constantC(i);
    std::memcpy(m.constants.data() + 4 * i, &c, 4);
  }
  std::memcpy(m.constants.data() + kOffset, &kK, 4);

  FunctionDesc f;
  f.name = "main";
  f.arguments = {{"x", DType::F32, {kN}}, {"w", DType::F32, {kN}}};
  f.results = {{"y", DType::F32, {kN}}};
  f.arenaBytes = bytes;
  f.values = {
      {ValueKind::Argument, 0, 0, bytes, DType::F32, {kN}},   // 0 x
      {ValueKind::Argument, 1, 0, bytes, DType::F32, {kN}},   // 1 w
      {ValueKind::Arena, -1, 0, bytes, DType::F32, {kN}},     // 2 t
      {ValueKind::Constant, -1, 0, bytes, DType::F32, {kN}},  // 3 c
      {ValueKind::Constant, -1, kOffset, 4, DType::F32, {1}}, // 4 k
      {ValueKind::Output, 0, 0, bytes, DType::F32, {kN}},     // 5 y
  };
  LaunchDesc add0;
  add0.kernel = "attune_cpu_testadd_f32";
  add0.buffers = {0, 1, 2};
  add0.ints = {kN};
  add0.floats = {1.0};
  add0.op = "attune.add";
  add0.location = "model.mlir:3:8";
  LaunchDesc add1 = add0;
  add1.buffers = {2, 3, 5};
  add1.floats = {0.5};
  add1.captures = {4};
  add1.hooks = {"", "attune_hook_test_add_capture_score"};
  add1.location = "model.mlir:4:8";
  f.launches = {add0, add1};
  m.functions.push_back(f);
  return m;
}

inline float expectedY(float x, float w, int64_t i) {
  float t = x + 1.0f * w;
  return (t + 0.5f * constantC(i)) + kK;
}

} // namespace attune::test

#endif // ATTUNE_TEST_UNIT_RUNTIME_TESTARTIFACT_H
