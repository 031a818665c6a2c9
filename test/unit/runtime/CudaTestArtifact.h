//===- CudaTestArtifact.h - Test artifacts with cuda code -------*- C++ -*-===//
//
// The kernels are the hand-written PTX of CudaTestKernels.ptx
// (ATTUNE_TEST_CUDA_PTX), so the tests need neither the compiler nor the
// CUDA toolkit.
//
// testModuleWithCuda(): the module of TestArtifact.h with targets cpu and
//   cuda; each launch has one GPU step computing what its cpu kernel does.
// cudaOnlyModule(): targets cuda only (no shared object):
//   "main"(x: f32[1000]) -> (y: f32[1000])
//      launch 0: t1 = x + 1, t2 = t1 + 1   (two steps, arena values, a NULL
//                                           arg)
//      launch 1: y = t2 + c                (c a constant, constantC(i))
//   "ids"(ids: i32[8]) -> (y: f32[8])
//      launch 0: y = ids, an id outside [0, 5) sets the error record
//                (attune.embedding at model.mlir:9:3)
//
//===----------------------------------------------------------------------===//

#ifndef ATTUNE_TEST_UNIT_RUNTIME_CUDATESTARTIFACT_H
#define ATTUNE_TEST_UNIT_RUNTIME_CUDATESTARTIFACT_H

#include "TestArtifact.h"

namespace attune::test {

/// The path of CudaTestKernels.ptx; the environment variable
/// ATTUNE_TEST_CUDA_PTX overrides the source tree's.
inline std::string cudaTestPtxPath() {
  const char *path = std::getenv("ATTUNE_TEST_CUDA_PTX");
  return path && *path ? path : ATTUNE_TEST_CUDA_PTX;
}

inline std::vector<uint8_t> cudaTestPtx() {
  std::ifstream in(cudaTestPtxPath(), std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in),
                              std::istreambuf_iterator<char>());
}

/// A step over n elements with 128-thread blocks.
inline artifact::GpuStepDesc gpuStep(const std::string &kernel,
                                     std::vector<int32_t> args,
                                     std::vector<uint64_t> argBytes,
                                     uint32_t n) {
  artifact::GpuStepDesc s;
  s.kernel = kernel;
  s.args = std::move(args);
  s.argBytes = std::move(argBytes);
  s.block[0] = 128;
  s.grid[0] = (n + 127) / 128;
  return s;
}

inline artifact::ModuleDesc testModuleWithCuda() {
  using namespace artifact;
  ModuleDesc m = testModule();
  m.targets = {"cpu", "cuda"};
  m.ptx = cudaTestPtx();
  FunctionDesc &f = m.functions[0];
  const uint64_t b = kN * 4;
  // t = x + w (alpha 1); y = (t + 0.5 c) + k
  f.launches[0].gpu = {gpuStep("attune_test_add_f32", {0, 1, 2}, {b, b, b},
                               static_cast<uint32_t>(kN))};
  f.launches[1].gpu = {gpuStep("attune_test_axpbk_f32", {2, 3, 4, 5},
                               {b, b, 4, b}, static_cast<uint32_t>(kN))};
  return m;
}

inline float expectedCudaOnlyY(float x, int64_t i) {
  float t = x + 1.0f;
  t = t + 1.0f;
  return t + constantC(i);
}

/// The "ids" function: y = ids with ids in [0, 5).
inline artifact::FunctionDesc idsFunction() {
  using namespace artifact;
  FunctionDesc f;
  f.name = "ids";
  f.arguments = {{"ids", DType::I32, {8}}};
  f.results = {{"y", DType::F32, {8}}};
  f.values = {{ValueKind::Argument, 0, 0, 32, DType::I32, {8}},
              {ValueKind::Output, 0, 0, 32, DType::F32, {8}}};
  LaunchDesc l;
  l.kernel = "attune_cpu_testids_f32";
  l.buffers = {0, 1};
  l.ints = {8, 5};
  l.op = "attune.embedding";
  l.location = "model.mlir:9:3";
  artifact::GpuStepDesc s = gpuStep("attune_test_ids_f32", {0, 1}, {32, 32}, 8);
  s.block[0] = 32;
  l.gpu = {s};
  f.launches = {l};
  return f;
}

inline artifact::ModuleDesc cudaOnlyModule() {
  using namespace artifact;
  ModuleDesc m;
  m.compilerVersion = "attune-test 0.1";
  m.targets = {"cuda"};
  m.ptx = cudaTestPtx();
  const uint64_t b = kN * 4, t2Offset = (b + 63) / 64 * 64;
  m.constants.assign(t2Offset, 0);
  for (int64_t i = 0; i < kN; ++i) {
    float c = constantC(i);
    std::memcpy(m.constants.data() + 4 * i, &c, 4);
  }

  FunctionDesc f;
  f.name = "main";
  f.arguments = {{"x", DType::F32, {kN}}};
  f.results = {{"y", DType::F32, {kN}}};
  f.arenaBytes = t2Offset + b;
  f.values = {
      {ValueKind::Argument, 0, 0, b, DType::F32, {kN}},      // 0 x
      {ValueKind::Arena, -1, 0, b, DType::F32, {kN}},        // 1 t1
      {ValueKind::Arena, -1, t2Offset, b, DType::F32, {kN}}, // 2 t2
      {ValueKind::Constant, -1, 0, b, DType::F32, {kN}},     // 3 c
      {ValueKind::Output, 0, 0, b, DType::F32, {kN}},        // 4 y
  };
  const uint32_t n = static_cast<uint32_t>(kN);
  LaunchDesc l0;
  // The cpu kernel a cpu target would use; never resolved without one.
  l0.kernel = "attune_cpu_testadd_f32";
  l0.buffers = {0, 1};
  l0.op = "attune.add";
  l0.location = "gpu.mlir:1:1";
  l0.gpu = {gpuStep("attune_test_add_f32", {0, -1, 1}, {b, 0, b}, n),
            gpuStep("attune_test_add_f32", {1, -1, 2}, {b, 0, b}, n)};
  LaunchDesc l1 = l0;
  l1.buffers = {2, 3, 4};
  l1.location = "gpu.mlir:2:1";
  l1.gpu = {gpuStep("attune_test_add_f32", {2, 3, 4}, {b, b, b}, n)};
  f.launches = {l0, l1};
  m.functions.push_back(f);
  m.functions.push_back(idsFunction());
  return m;
}

} // namespace attune::test

#endif // ATTUNE_TEST_UNIT_RUNTIME_CUDATESTARTIFACT_H
