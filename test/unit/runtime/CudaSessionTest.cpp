//===- CudaSessionTest.cpp - The cuda device without a GPU ----------------===//
//
// What the runtime does about the cuda device on any machine: choosing a
// cubin, refusing a session on a device the module has no code for,
// reporting a missing driver or device in one line, and the device-neutral
// parts of the API (options, attune_session_time_runs on cpu). The tests
// that need a GPU are in CudaDeviceTest.cpp (label gpu).
//
//===----------------------------------------------------------------------===//

#include "CudaTestArtifact.h"
#include "RuntimeTestUtil.h"

#include "CudaDevice.h"
#include "attune/attune_runtime.hpp"

#include <gtest/gtest.h>

using namespace attune;
using namespace attune::artifact;
using namespace attune::test;

namespace {

rt::Module load(const ModuleDesc &m) {
  std::vector<uint8_t> bytes;
  Status s = writeArtifact(m, bytes);
  EXPECT_TRUE(s.isOk()) << s.message();
  rt::Module module;
  rt::Result r = rt::Module::loadFromMemory(bytes.data(), bytes.size(), module);
  EXPECT_TRUE(r.ok()) << r.message();
  return module;
}



// sm_XYa only for exactly X.Y; sm_XY for X.Z with Z >= Y, the highest.
TEST(CudaSession, SelectCubin) {
  using cuda_device::selectCubin;
  const std::vector<uint32_t> archs = {
      ATTUNE_CUBIN_ARCH(80, 0), ATTUNE_CUBIN_ARCH(86, 0),
      ATTUNE_CUBIN_ARCH(90, 0), ATTUNE_CUBIN_ARCH(90, 1)};
  EXPECT_EQ(selectCubin(archs, 8, 0), 0);
  EXPECT_EQ(selectCubin(archs, 8, 6), 1);
  EXPECT_EQ(selectCubin(archs, 8, 9), 1); // sm_86 runs on 8.9
  EXPECT_EQ(selectCubin(archs, 9, 0), 3); // the 'a' cubin of exactly 9.0
  EXPECT_EQ(selectCubin(archs, 7, 5), -1);
  EXPECT_EQ(selectCubin(archs, 10, 0), -1); // another major: JIT the PTX
  EXPECT_EQ(selectCubin({ATTUNE_CUBIN_ARCH(90, 1)}, 9, 0), 0);
  EXPECT_EQ(selectCubin({ATTUNE_CUBIN_ARCH(100, 1)}, 10, 3), -1);
  EXPECT_EQ(selectCubin({ATTUNE_CUBIN_ARCH(100, 0)}, 10, 3), 0);
  EXPECT_EQ(selectCubin({ATTUNE_CUBIN_ARCH(120, 0), ATTUNE_CUBIN_ARCH(100, 0)},
                        12, 1),
            0);
  EXPECT_EQ(selectCubin({ATTUNE_CUBIN_ARCH(86, 0)}, 8, 0), -1);
  EXPECT_EQ(selectCubin({}, 9, 0), -1);
}

TEST(CudaSession, OptionsDefaultToCpu) {
  attune_session_options o;
  o.num_threads = 7;
  o.device = ATTUNE_DEVICE_CUDA;
  o.cuda_device = 3;
  attune_session_options_init(&o);
  EXPECT_EQ(o.num_threads, 0u);
  EXPECT_EQ(o.device, ATTUNE_DEVICE_CPU);
  EXPECT_EQ(o.cuda_device, 0);

  // A zero-initialized struct means cpu too.
  rt::Module module = load(test::testModule());
  attune_session_options zero = {};
  attune_session *s = nullptr;
  ASSERT_EQ(attune_session_create(module.get(), "main", &zero, &s), ATTUNE_OK)
      << attune_last_error_message();
  attune_session_destroy(s);
}

TEST(CudaSession, InvalidDeviceOptions) {
  rt::Module module = load(test::testModuleWithCuda());
  rt::Session s;
  rt::Result r =
      createSession(module, "main", static_cast<attune_device>(7), s);
  EXPECT_EQ(r.code(), ATTUNE_INVALID_ARGUMENT);
  EXPECT_EQ(r.message(), "device is 7; expected ATTUNE_DEVICE_CPU (0) or "
                         "ATTUNE_DEVICE_CUDA (1)");
  r = createSession(module, "main", ATTUNE_DEVICE_CUDA, s, -1);
  EXPECT_EQ(r.code(), ATTUNE_INVALID_ARGUMENT);
  EXPECT_EQ(r.message(), "cuda_device is -1; expected a device ordinal >= 0");
}

// A module for cuda only loads and describes without a GPU, and a cpu
// session on it names what it was compiled for.
TEST(CudaSession, CudaOnlyModuleLoadsWithoutGpu) {
  rt::Module module = load(test::cudaOnlyModule());
  ASSERT_TRUE(module);
  EXPECT_EQ(module.functionNames(), (std::vector<std::string>{"main", "ids"}));
  std::string d = module.describe();
  EXPECT_TRUE(contains(d, "cuda")) << d;
  EXPECT_TRUE(contains(d, "ptx")) << d;
  EXPECT_TRUE(contains(d, "attune_test_add_f32")) << d;
  std::vector<rt::TensorInfo> args;
  ASSERT_TRUE(module.arguments("ids", args).ok());
  ASSERT_EQ(args.size(), 1u);
  EXPECT_EQ(args[0].dtype, ATTUNE_DTYPE_I32);

  rt::Session s;
  rt::Result r = createSession(module, "main", ATTUNE_DEVICE_CPU, s);
  EXPECT_EQ(r.code(), ATTUNE_UNIMPLEMENTED);
  EXPECT_EQ(r.message(),
            "module was compiled for cuda; it has no cpu code (compile with "
            "--target=cpu, or create the session on the cuda device)");
}

TEST(CudaSession, CpuOnlyModuleOnCuda) {
  rt::Module module = load(test::testModule());
  rt::Session s;
  rt::Result r = createSession(module, "main", ATTUNE_DEVICE_CUDA, s);
  EXPECT_EQ(r.code(), ATTUNE_UNIMPLEMENTED);
  EXPECT_EQ(r.message(),
            "module was compiled for cpu; it has no cuda code (compile with "
            "--target=cuda:sm_XY for the GPU's architecture, e.g. "
            "--target=cuda:sm_80)");
}

// Checked before the driver is opened, so it is the same on every machine.
TEST(CudaSession, LaunchWithoutGpuStepsIsLoadError) {
  ModuleDesc m = test::testModuleWithCuda();
  m.functions[0].launches[1].gpu.clear();
  rt::Module module = load(m);
  rt::Session s;
  rt::Result r = createSession(module, "main", ATTUNE_DEVICE_CUDA, s);
  EXPECT_EQ(r.code(), ATTUNE_INVALID_ARGUMENT);
  EXPECT_EQ(r.message(),
            "launch #1 (attune.add at model.mlir:4:8) of function 'main' has "
            "no GPU steps; expected at least one for the cuda device (the "
            "artifact's cuda code does not cover its kernel "
            "'attune_cpu_testadd_f32')");
  // The cpu target of the same module is unaffected.
  ASSERT_TRUE(createSession(module, "main", ATTUNE_DEVICE_CPU, s).ok());
}

// Without a driver or device the probe and a cuda session fail with the
// same single line.
TEST(CudaSession, NoDeviceIsOneClearLine) {
  int count = -1;
  attune_status probe = attune_cuda_probe(&count);
  if (probe == ATTUNE_OK)
    GTEST_SKIP() << "a CUDA device is present (" << count << ")";
  EXPECT_EQ(count, -1); // outputs untouched on failure
  std::string message = attune_last_error_message();
  ASSERT_FALSE(message.empty());
  EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  EXPECT_EQ(message.rfind("CUDA driver", 0), 0u) << message;

  // The probe answers the same every time.
  int again = 0;
  rt::Result r = rt::cudaProbe(again);
  EXPECT_EQ(r.code(), probe);
  EXPECT_EQ(r.message(), message);

  for (const ModuleDesc &m :
       {test::cudaOnlyModule(), test::testModuleWithCuda()}) {
    rt::Module module = load(m);
    rt::Session s;
    r = createSession(module, "main", ATTUNE_DEVICE_CUDA, s);
    EXPECT_EQ(r.code(), probe);
    EXPECT_EQ(r.message(), message);
    EXPECT_FALSE(s.get());
  }
}

// A module with both targets runs on cpu exactly as before.
TEST(CudaSession, BothTargetsRunOnCpu) {
  rt::Module module = load(test::testModuleWithCuda());
  rt::Session s;
  ASSERT_TRUE(createSession(module, "main", ATTUNE_DEVICE_CPU, s).ok());
  std::vector<float> x = ramp(1, 0.5f), w = ramp(-3, 0.25f), y;
  ASSERT_TRUE(s.setInput("x", {test::kN}, x).ok());
  ASSERT_TRUE(s.setInput("w", {test::kN}, w).ok());
  ASSERT_TRUE(s.run().ok());
  ASSERT_TRUE(s.copyResult("y", y).ok());
  for (int64_t i = 0; i < test::kN; ++i)
    ASSERT_FLOAT_EQ(y[i], test::expectedY(x[i], w[i], i)) << "at " << i;
}

// attune_session_time_runs on cpu: steady-clock times; the results of the
// last run are readable afterwards.
TEST(CudaSession, TimeRunsOnCpu) {
  rt::Module module = load(test::testModule());
  rt::Session s;
  ASSERT_TRUE(createSession(module, "main", ATTUNE_DEVICE_CPU, s).ok());
  double median = -1, min = -1;
  ASSERT_TRUE(s.setInput("x", {test::kN}, ramp(0, 1)).ok());
  rt::Result r = s.timeRuns(3, median, min);
  EXPECT_EQ(r.code(), ATTUNE_INVALID_ARGUMENT);
  EXPECT_TRUE(contains(r.message(), "argument 'w' of function 'main' is not "
                                    "bound"))
      << r.message();
  EXPECT_EQ(median, -1);

  std::vector<float> x = ramp(2, 0.5f), w = ramp(1, -1), y;
  ASSERT_TRUE(s.setInput("x", {test::kN}, x).ok());
  ASSERT_TRUE(s.setInput("w", {test::kN}, w).ok());
  r = s.timeRuns(5, median, min);
  ASSERT_TRUE(r.ok()) << r.message();
  EXPECT_GE(min, 0.0);
  EXPECT_GE(median, min);
  ASSERT_TRUE(s.copyResult("y", y).ok());
  for (int64_t i = 0; i < test::kN; ++i)
    ASSERT_FLOAT_EQ(y[i], test::expectedY(x[i], w[i], i)) << "at " << i;

  EXPECT_EQ(attune_session_time_runs(s.get(), 0, &median, &min),
            ATTUNE_INVALID_ARGUMENT);
  EXPECT_TRUE(contains(attune_last_error_message(),
                       "iterations is 0; expected at least 1"));
  EXPECT_EQ(attune_session_time_runs(nullptr, 1, &median, &min),
            ATTUNE_INVALID_ARGUMENT);
  // Either output may be NULL.
  EXPECT_EQ(attune_session_time_runs(s.get(), 1, nullptr, nullptr), ATTUNE_OK);
}

} // namespace
