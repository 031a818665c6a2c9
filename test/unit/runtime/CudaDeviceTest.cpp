//===- CudaDeviceTest.cpp - Running artifacts on a CUDA GPU ---------------===//
//
// Label `gpu`: every test skips, with the probe's message, when
// attune_cuda_probe finds no usable driver or device. The kernels are the
// hand-written PTX of CudaTestKernels.ptx, JIT-compiled by the driver (and
// assembled into cubins with ptxas where there is one).
//
// Paths of the build, for a binary carried to another machine: the
// environment variables ATTUNE_TEST_CUDA_PTX, ATTUNE_TEST_KERNELS_SO and
// ATTUNE_TEST_PTXAS override them.
//
// Without a GPU the unit tests run this suite on FakeCudaDriver.c's host
// emulation of a device; its counters let the tests also check what went
// to the driver (copies, graph launches, everything released).
//
//===----------------------------------------------------------------------===//

#include "CudaTestArtifact.h"
#include "RuntimeTestUtil.h"

#include "attune/attune_runtime.hpp"
#include "attune/runtime/TensorIO.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <thread>
#include <unistd.h>

using namespace attune;
using namespace attune::artifact;
using namespace attune::test;

namespace {




void expectCudaOnlyY(rt::Session &s, const std::vector<float> &x) {
  std::vector<float> y;
  rt::Result r = s.copyResult("y", y);
  ASSERT_TRUE(r.ok()) << r.message();
  ASSERT_EQ(y.size(), static_cast<size_t>(test::kN));
  for (int64_t i = 0; i < test::kN; ++i)
    ASSERT_EQ(y[i], test::expectedCudaOnlyY(x[i], i)) << "at " << i;
}

/// What FakeCudaDriver.c counted, when it is the driver (fake = true).
struct Counters {
  bool fake = false;
  long retained = 0, allocations = 0, modules = 0, streams = 0, events = 0,
       graphs = 0, uploads = 0, downloads = 0, graphLaunches = 0,
       kernelRuns = 0;
};

Counters counters() {
  Counters c;
  void *h = dlopen("libcuda.so.1", RTLD_NOW | RTLD_NOLOAD);
  if (!h)
    return c;
  using Fn = int (*)(long *, int);
  auto fn = reinterpret_cast<Fn>(dlsym(h, "attune_fake_cuda_counters"));
  if (fn) {
    long v[10] = {};
    if (fn(v, 10) == 10) {
      c.fake = true;
      c.retained = v[0];
      c.allocations = v[1];
      c.modules = v[2];
      c.streams = v[3];
      c.events = v[4];
      c.graphs = v[5];
      c.uploads = v[6];
      c.downloads = v[7];
      c.graphLaunches = v[8];
      c.kernelRuns = v[9];
    }
  }
  dlclose(h);
  return c;
}

bool envIs(const char *name, const char *value) {
  const char *v = std::getenv(name);
  return v && std::strcmp(v, value) == 0;
}

/// Whether sessions should replay CUDA graphs here.
bool graphsExpected() {
  return !envIs("CUDA_LAUNCH_BLOCKING", "1") &&
         !envIs("ATTUNE_FAKE_CUDA_NO_CAPTURE", "1");
}

class CudaDevice : public testing::Test {
protected:
  void SetUp() override {
    int count = 0;
    if (attune_cuda_probe(&count) != ATTUNE_OK)
      GTEST_SKIP() << "no usable CUDA device: " << attune_last_error_message();
    ASSERT_GE(count, 1);
    ASSERT_FALSE(test::cudaTestPtx().empty())
        << "cannot read the test kernels " << test::cudaTestPtxPath()
        << " (set ATTUNE_TEST_CUDA_PTX)";
    ASSERT_FALSE(test::testKernelsBytes().empty())
        << "cannot read the cpu test kernels (set ATTUNE_TEST_KERNELS_SO)";
  }
};

// PTX JIT-compiled, two launches of two and one steps over arena, constant,
// argument and output values; repeated runs replay the captured graph and
// see every new input.
TEST_F(CudaDevice, RunsAndReplays) {
  rt::Module module = load(test::cudaOnlyModule());
  rt::Session s;
  rt::Result r = createSession(module, "main", ATTUNE_DEVICE_CUDA, s);
  ASSERT_TRUE(r.ok()) << r.message();
  const Counters before = counters();
  std::vector<float> x = ramp(1, 0.5f);
  ASSERT_TRUE(s.setInput("x", {test::kN}, x).ok());
  r = s.run();
  ASSERT_TRUE(r.ok()) << r.message();
  expectCudaOnlyY(s, x);

  attune_tensor_view view;
  ASSERT_TRUE(s.result(0, view).ok());
  EXPECT_EQ(view.byte_size, 4000u);

  for (int run = 0; run < 5; ++run) {
    x = ramp(static_cast<float>(run * 10), -0.25f);
    ASSERT_TRUE(s.setInput("x", {test::kN}, x).ok());
    r = s.run();
    ASSERT_TRUE(r.ok()) << r.message();
    expectCudaOnlyY(s, x);
  }
  // Unchanged inputs are not copied again and give the same results.
  ASSERT_TRUE(s.run().ok());
  expectCudaOnlyY(s, x);
  if (Counters after = counters(); after.fake) {
    // 7 runs: x copied for 6, the result and the error record back for
    // each; 3 steps each, from the graph captured on the first run.
    EXPECT_EQ(after.uploads - before.uploads, 6);
    EXPECT_EQ(after.downloads - before.downloads, 14);
    EXPECT_EQ(after.kernelRuns - before.kernelRuns, 21);
    EXPECT_EQ(after.graphLaunches - before.graphLaunches,
              graphsExpected() ? 7 : 0);
  }

  // A second session shares the module's code and constants on the device.
  rt::Session other;
  ASSERT_TRUE(createSession(module, "main", ATTUNE_DEVICE_CUDA, other).ok());
  std::vector<float> x2 = ramp(-5, 2);
  ASSERT_TRUE(other.setInput("x", {test::kN}, x2).ok());
  ASSERT_TRUE(other.run().ok());
  expectCudaOnlyY(other, x2);
  ASSERT_TRUE(s.run().ok());
  expectCudaOnlyY(s, x);
}

// Sessions of one module run concurrently from several threads.
TEST_F(CudaDevice, ConcurrentSessions) {
  rt::Module module = load(test::cudaOnlyModule());
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      rt::Session s;
      if (!createSession(module, "main", ATTUNE_DEVICE_CUDA, s).ok()) {
        ++failures;
        return;
      }
      for (int run = 0; run < 20; ++run) {
        std::vector<float> x = ramp(float(t * 100 + run), 1.0f), y;
        if (!s.setInput("x", {test::kN}, x).ok() || !s.run().ok() ||
            !s.copyResult("y", y).ok()) {
          ++failures;
          return;
        }
        for (int64_t i = 0; i < test::kN; ++i)
          if (y[i] != test::expectedCudaOnlyY(x[i], i)) {
            ++failures;
            return;
          }
      }
    });
  for (auto &t : threads)
    t.join();
  EXPECT_EQ(failures.load(), 0);
}

// The kernel's error record becomes an error naming the launch; it is
// cleared, so the next good run succeeds.
TEST_F(CudaDevice, ErrorRecordNamesLaunch) {
  rt::Module module = load(test::cudaOnlyModule());
  rt::Session s;
  ASSERT_TRUE(createSession(module, "ids", ATTUNE_DEVICE_CUDA, s).ok());
  std::vector<int32_t> ids = {0, 1, 2, 3, 4, 0, 1, 2};
  ASSERT_TRUE(s.setInput("ids", {8}, ids).ok());
  rt::Result r = s.run();
  ASSERT_TRUE(r.ok()) << r.message();
  std::vector<float> y;
  ASSERT_TRUE(s.copyResult("y", y).ok());
  for (size_t i = 0; i < ids.size(); ++i)
    EXPECT_EQ(y[i], static_cast<float>(ids[i]));

  ids[6] = 7;
  ASSERT_TRUE(s.setInput("ids", {8}, ids).ok());
  r = s.run();
  EXPECT_EQ(r.code(), ATTUNE_OUT_OF_RANGE);
  EXPECT_EQ(r.message(), "launch #0 (attune.embedding at model.mlir:9:3) of "
                         "function 'ids': id 7 at position 6 is outside "
                         "[0, 5)");
  attune_tensor_view v;
  EXPECT_EQ(s.result(0, v).code(), ATTUNE_FAILED_PRECONDITION);
  // Again through the graph, and through time_runs.
  r = s.run();
  EXPECT_EQ(r.code(), ATTUNE_OUT_OF_RANGE) << r.message();
  double median = 0, min = 0;
  r = s.timeRuns(3, median, min);
  EXPECT_EQ(r.code(), ATTUNE_OUT_OF_RANGE) << r.message();

  ids[6] = 4;
  ASSERT_TRUE(s.setInput("ids", {8}, ids).ok());
  r = s.run();
  ASSERT_TRUE(r.ok()) << r.message();
  ASSERT_TRUE(s.copyResult("y", y).ok());
  EXPECT_EQ(y[6], 4.0f);
}

// Device times; inputs set before timing are used and the results of the
// last run are readable.
TEST_F(CudaDevice, TimeRuns) {
  rt::Module module = load(test::cudaOnlyModule());
  rt::Session s;
  ASSERT_TRUE(createSession(module, "main", ATTUNE_DEVICE_CUDA, s).ok());
  std::vector<float> x = ramp(3, 0.125f);
  ASSERT_TRUE(s.setInput("x", {test::kN}, x).ok());
  double median = -1, min = -1;
  const Counters before = counters();
  rt::Result r = s.timeRuns(10, median, min);
  ASSERT_TRUE(r.ok()) << r.message();
  EXPECT_GT(min, 0.0);
  EXPECT_GE(median, min);
  EXPECT_LT(median, 1000.0);
  expectCudaOnlyY(s, x);
  if (Counters after = counters(); after.fake) {
    // x copied once; the result and the error record back once.
    EXPECT_EQ(after.uploads - before.uploads, 1);
    EXPECT_EQ(after.downloads - before.downloads, 2);
    EXPECT_EQ(after.kernelRuns - before.kernelRuns, 30);
    EXPECT_EQ(after.graphLaunches - before.graphLaunches,
              graphsExpected() ? 10 : 0);
  }

  x = ramp(-1, 1);
  ASSERT_TRUE(s.setInput("x", {test::kN}, x).ok());
  r = s.timeRuns(1, median, min);
  ASSERT_TRUE(r.ok()) << r.message();
  EXPECT_EQ(median, min);
  expectCudaOnlyY(s, x);
  ASSERT_TRUE(s.run().ok());
  expectCudaOnlyY(s, x);
}

// One artifact with both targets gives the same results on either device;
// weights bound from a file reach the device.
TEST_F(CudaDevice, SameResultsAsCpu) {
  rt::Module module = load(test::testModuleWithCuda());
  rt::Session cpu, gpu;
  ASSERT_TRUE(createSession(module, "main", ATTUNE_DEVICE_CPU, cpu).ok());
  rt::Result r = createSession(module, "main", ATTUNE_DEVICE_CUDA, gpu);
  ASSERT_TRUE(r.ok()) << r.message();

  HostTensor w(DType::F32, {test::kN});
  std::vector<float> wv = ramp(5, -0.5f);
  std::memcpy(w.data(), wv.data(), 4000);
  std::string path = testing::TempDir() + "/cuda_weights.safetensors";
  ASSERT_TRUE(writeSafeTensors(path, {{"w", w}}).isOk());
  for (rt::Session *s : {&cpu, &gpu}) {
    size_t bound = 0;
    ASSERT_TRUE(s->bindWeights(path, &bound).ok());
    EXPECT_EQ(bound, 1u);
  }
  for (int run = 0; run < 3; ++run) {
    std::vector<float> x = ramp(float(run), 0.75f), yc, yg;
    for (rt::Session *s : {&cpu, &gpu}) {
      ASSERT_TRUE(s->setInput("x", {test::kN}, x).ok());
      r = s->run();
      ASSERT_TRUE(r.ok()) << r.message();
    }
    ASSERT_TRUE(cpu.copyResult("y", yc).ok());
    ASSERT_TRUE(gpu.copyResult("y", yg).ok());
    for (int64_t i = 0; i < test::kN; ++i) {
      ASSERT_FLOAT_EQ(yg[i], test::expectedY(x[i], wv[i], i)) << "at " << i;
      ASSERT_FLOAT_EQ(yg[i], yc[i]) << "at " << i;
    }
  }
}

// Destroying the sessions and the module frees every allocation, stream,
// event and graph, unloads the module and releases the context (counted by
// the fake driver; on a GPU this only runs the sequence).
TEST_F(CudaDevice, ReleasesEverything) {
  const Counters before = counters();
  {
    rt::Module module = load(test::cudaOnlyModule());
    rt::Session a, b, c;
    ASSERT_TRUE(createSession(module, "main", ATTUNE_DEVICE_CUDA, a).ok());
    ASSERT_TRUE(createSession(module, "main", ATTUNE_DEVICE_CUDA, b).ok());
    ASSERT_TRUE(createSession(module, "ids", ATTUNE_DEVICE_CUDA, c).ok());
    ASSERT_TRUE(a.setInput("x", {test::kN}, ramp(0, 1)).ok());
    ASSERT_TRUE(a.run().ok());
    ASSERT_TRUE(c.setInput("ids", {8}, std::vector<int32_t>(8, 9)).ok());
    EXPECT_EQ(c.run().code(), ATTUNE_OUT_OF_RANGE);
    if (Counters during = counters(); during.fake) {
      EXPECT_EQ(during.modules - before.modules, 1); // one per device
      EXPECT_GT(during.allocations, before.allocations);
    }
    module = rt::Module(); // sessions keep the module's code alive
    ASSERT_TRUE(a.run().ok());
  }
  Counters after = counters();
  if (!after.fake)
    return;
  EXPECT_EQ(after.allocations, before.allocations);
  EXPECT_EQ(after.modules, before.modules);
  EXPECT_EQ(after.streams, before.streams);
  EXPECT_EQ(after.events, before.events);
  EXPECT_EQ(after.graphs, before.graphs);
  EXPECT_EQ(after.retained, before.retained);
}

// Kernels, geometry and shared memory are checked when the session is
// created; errors name the launch, the step and the limit.
TEST_F(CudaDevice, LoadTimeChecks) {
  auto createError = [](const ModuleDesc &m) {
    rt::Module module = load(m);
    rt::Session s;
    return createSession(module, "main", ATTUNE_DEVICE_CUDA, s);
  };
  ModuleDesc m = test::cudaOnlyModule();
  m.functions[0].launches[1].gpu[0].kernel = "attune_test_nope";
  rt::Result r = createError(m);
  EXPECT_EQ(r.code(), ATTUNE_NOT_FOUND);
  EXPECT_TRUE(contains(r.message(),
                       "launch #1 (attune.add at gpu.mlir:2:1) of function "
                       "'main': gpu step #0 (kernel 'attune_test_nope'): the "
                       "artifact's CUDA module has no kernel "
                       "'attune_test_nope'"))
      << r.message();

  m = test::cudaOnlyModule();
  GpuStepDesc &st = m.functions[0].launches[0].gpu[1];
  st.block[0] = 32;
  st.block[1] = 32;
  st.block[2] = 2;
  r = createError(m);
  EXPECT_EQ(r.code(), ATTUNE_INVALID_ARGUMENT);
  EXPECT_TRUE(contains(r.message(), "gpu step #1 (kernel "
                                    "'attune_test_add_f32'): block 32x32x2 "
                                    "has 2048 threads; the kernel allows at "
                                    "most"))
      << r.message();

  m = test::cudaOnlyModule();
  m.functions[0].launches[0].gpu[0].grid[1] = 70000;
  r = createError(m);
  EXPECT_EQ(r.code(), ATTUNE_INVALID_ARGUMENT);
  EXPECT_TRUE(contains(r.message(), "grid 8x70000x1 exceeds the maximum grid"))
      << r.message();

  m = test::cudaOnlyModule();
  m.functions[0].launches[0].gpu[0].sharedBytes = 1u << 30;
  r = createError(m);
  EXPECT_EQ(r.code(), ATTUNE_INVALID_ARGUMENT);
  EXPECT_TRUE(contains(r.message(), "asks for 1073741824 bytes of dynamic "
                                    "shared memory; expected at most"))
      << r.message();

  // Above 48 KiB (every device of sm_80 and later opts in to more): the
  // kernel's limit is raised and the run is correct.
  m = test::cudaOnlyModule();
  m.functions[0].launches[0].gpu[0].sharedBytes = 64 * 1024;
  rt::Module module = load(m);
  rt::Session s;
  r = createSession(module, "main", ATTUNE_DEVICE_CUDA, s);
  ASSERT_TRUE(r.ok()) << r.message();
  std::vector<float> x = ramp(0, 1);
  ASSERT_TRUE(s.setInput("x", {test::kN}, x).ok());
  r = s.run();
  ASSERT_TRUE(r.ok()) << r.message();
  expectCudaOnlyY(s, x);

  module = load(test::cudaOnlyModule());
  r = createSession(module, "main", ATTUNE_DEVICE_CUDA, s, 1000);
  EXPECT_EQ(r.code(), ATTUNE_OUT_OF_RANGE);
  EXPECT_TRUE(contains(r.message(), "cuda_device 1000 is out of range"))
      << r.message();
}

// Code the device cannot run: no matching cubin and no PTX, or PTX the JIT
// rejects (its log is in the message).
TEST_F(CudaDevice, NoCodeForTheDevice) {
  ModuleDesc m = test::cudaOnlyModule();
  m.ptx.clear();
  m.cubins.push_back({ATTUNE_CUBIN_ARCH(500, 0), {1, 2, 3, 4}});
  rt::Module module = load(m);
  rt::Session s;
  rt::Result r = createSession(module, "main", ATTUNE_DEVICE_CUDA, s);
  EXPECT_EQ(r.code(), ATTUNE_INVALID_ARGUMENT);
  EXPECT_TRUE(contains(r.message(), "the artifact has no CUDA code for CUDA "
                                    "device 0 ("))
      << r.message();
  EXPECT_TRUE(contains(r.message(), "its cubins are for sm_500, none of which "
                                    "runs on compute capability"))
      << r.message();

  m = test::cudaOnlyModule();
  const std::string bad = ".version 8.0\n.target sm_80\n.address_size 64\n"
                          ".visible .entry attune_test_add_f32() { bogus; }\n";
  m.ptx.assign(bad.begin(), bad.end());
  module = load(m);
  r = createSession(module, "main", ATTUNE_DEVICE_CUDA, s);
  EXPECT_EQ(r.code(), ATTUNE_INVALID_ARGUMENT);
  EXPECT_TRUE(contains(r.message(), "cannot JIT-compile the artifact's PTX "
                                    "for CUDA device 0"))
      << r.message();
  EXPECT_EQ(r.message().find('\n'), std::string::npos) << r.message();
}

// Cubins assembled by ptxas, without PTX: the one for the device's compute
// capability is chosen.
TEST_F(CudaDevice, RunsCubins) {
  const char *env = std::getenv("ATTUNE_TEST_PTXAS");
  std::string ptxas = env && *env ? env : ATTUNE_TEST_PTXAS;
  if (ptxas.empty() || access(ptxas.c_str(), X_OK) != 0)
    GTEST_SKIP() << "no ptxas ('" << ptxas
                 << "'; set ATTUNE_TEST_PTXAS to one) to build cubins";
  ModuleDesc m = test::cudaOnlyModule();
  struct Arch {
    const char *name;
    uint32_t code;
  } archs[] = {{"sm_75", ATTUNE_CUBIN_ARCH(75, 0)},
               {"sm_80", ATTUNE_CUBIN_ARCH(80, 0)},
               {"sm_86", ATTUNE_CUBIN_ARCH(86, 0)},
               {"sm_89", ATTUNE_CUBIN_ARCH(89, 0)},
               {"sm_90", ATTUNE_CUBIN_ARCH(90, 0)},
               {"sm_90a", ATTUNE_CUBIN_ARCH(90, 1)},
               {"sm_100", ATTUNE_CUBIN_ARCH(100, 0)},
               {"sm_103", ATTUNE_CUBIN_ARCH(103, 0)},
               {"sm_120", ATTUNE_CUBIN_ARCH(120, 0)}};
  std::string dir = testing::TempDir();
  std::string built;
  for (const Arch &a : archs) {
    std::string out = dir + "/cuda_test_kernels_" + a.name + ".cubin";
    std::string cmd = "'" + ptxas + "' -arch=" + a.name + " '" +
                      test::cudaTestPtxPath() + "' -o '" + out +
                      "' > /dev/null 2>&1";
    if (std::system(cmd.c_str()) != 0)
      continue; // this ptxas does not know the architecture
    std::ifstream in(out, std::ios::binary);
    std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                               std::istreambuf_iterator<char>());
    std::remove(out.c_str());
    if (bytes.empty())
      continue;
    m.cubins.push_back({a.code, std::move(bytes)});
    built += std::string(built.empty() ? "" : ", ") + a.name;
  }
  if (m.cubins.empty())
    GTEST_SKIP() << ptxas << " built no cubin";
  m.ptx.clear();
  rt::Module module = load(m);
  rt::Session s;
  rt::Result r = createSession(module, "main", ATTUNE_DEVICE_CUDA, s);
  if (!r.ok() && contains(r.message(), "has no CUDA code for"))
    GTEST_SKIP() << "the device is not among the architectures built (" << built
                 << "): " << r.message();
  ASSERT_TRUE(r.ok()) << r.message();
  std::vector<float> x = ramp(7, -0.5f);
  ASSERT_TRUE(s.setInput("x", {test::kN}, x).ok());
  r = s.run();
  ASSERT_TRUE(r.ok()) << r.message();
  expectCudaOnlyY(s, x);
}

} // namespace
