//===- RuntimeTest.cpp - Loading and running artifacts through the C API --===//

#include "TestArtifact.h"
#include "RuntimeTestUtil.h"

#include "attune/attune_runtime.hpp"
#include "attune/runtime/TensorIO.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

using namespace attune;
using namespace attune::artifact;
using namespace attune::test;

namespace {


rt::Result loadError(const ModuleDesc &m) {
  std::vector<uint8_t> bytes = serialize(m);
  rt::Module module;
  return rt::Module::loadFromMemory(bytes.data(), bytes.size(), module);
}

std::vector<float> ramp(float start, float step) {
  std::vector<float> v(test::kN);
  for (int64_t i = 0; i < test::kN; ++i)
    v[i] = start + step * static_cast<float>(i);
  return v;
}

void expectCorrect(rt::Session &s, const std::vector<float> &x,
                   const std::vector<float> &w) {
  std::vector<float> y;
  rt::Result r = s.copyResult("y", y);
  ASSERT_TRUE(r.ok()) << r.message();
  ASSERT_EQ(y.size(), static_cast<size_t>(test::kN));
  for (int64_t i = 0; i < test::kN; ++i)
    ASSERT_FLOAT_EQ(y[i], test::expectedY(x[i], w[i], i)) << "at " << i;
}

// Load, set inputs, run on 4 threads: every element is right, twice over.
TEST(Runtime, LoadAndRun) {
  rt::Module module = load(test::testModule());
  ASSERT_TRUE(module);
  EXPECT_EQ(module.functionNames(), std::vector<std::string>{"main"});
  rt::Session s;
  ASSERT_TRUE(rt::Session::create(module, "main", 4, s).ok());
  std::vector<rt::TensorInfo> args = s.arguments();
  ASSERT_EQ(args.size(), 2u);
  EXPECT_EQ(args[1].name, "w");
  EXPECT_EQ(args[1].dtype, ATTUNE_DTYPE_F32);
  EXPECT_EQ(args[1].shape, std::vector<int64_t>{test::kN});
  EXPECT_EQ(args[1].byteSize, 4000u);

  std::vector<float> x = ramp(1, 0.5f), w = ramp(-3, 0.25f);
  ASSERT_TRUE(s.setInput("x", {test::kN}, x).ok());
  ASSERT_TRUE(s.setInput("w", {test::kN}, w).ok());
  rt::Result r = s.run();
  ASSERT_TRUE(r.ok()) << r.message();
  expectCorrect(s, x, w);

  x = ramp(7, -1);
  ASSERT_TRUE(s.setInput("x", {test::kN}, x).ok());
  ASSERT_TRUE(s.run().ok());
  expectCorrect(s, x, w);

  attune_tensor_view view;
  ASSERT_TRUE(s.result(0, view).ok());
  EXPECT_STREQ(view.name, "y");
  EXPECT_EQ(view.byte_size, 4000u);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(view.data) % 64, 0u);
}

// One thread, and more threads than work items, give the same answer.
TEST(Runtime, ThreadCounts) {
  rt::Module module = load(test::testModule());
  for (uint32_t threads : {1u, 3u, 64u}) {
    rt::Session s;
    ASSERT_TRUE(rt::Session::create(module, "", threads, s).ok());
    std::vector<float> x = ramp(2, 1), w = ramp(0, -1);
    ASSERT_TRUE(s.setInput("x", {test::kN}, x).ok());
    ASSERT_TRUE(s.setInput("w", {test::kN}, w).ok());
    ASSERT_TRUE(s.run().ok());
    expectCorrect(s, x, w);
  }
}

// Sessions of one module run concurrently from several threads.
TEST(Runtime, ConcurrentSessions) {
  rt::Module module = load(test::testModule());
  const int kThreads = 4, kRuns = 40;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      rt::Session s;
      if (!rt::Session::create(module, "main", 2, s).ok()) {
        ++failures;
        return;
      }
      for (int run = 0; run < kRuns; ++run) {
        std::vector<float> x = ramp(float(t * 100 + run), 1.0f),
                           w = ramp(float(-t), 0.5f);
        std::vector<float> y;
        if (!s.setInput("x", {test::kN}, x).ok() ||
            !s.setInput("w", {test::kN}, w).ok() || !s.run().ok() ||
            !s.copyResult("y", y).ok()) {
          ++failures;
          return;
        }
        for (int64_t i = 0; i < test::kN; ++i)
          if (y[i] != test::expectedY(x[i], w[i], i)) {
            ++failures;
            return;
          }
      }
    });
  for (auto &t : threads)
    t.join();
  EXPECT_EQ(failures.load(), 0);
}

// A session keeps its module alive; loading the same object again works.
TEST(Runtime, SessionOutlivesModuleAndReload) {
  rt::Session s;
  {
    rt::Module module = load(test::testModule());
    ASSERT_TRUE(rt::Session::create(module, "main", 2, s).ok());
  }
  for (int i = 0; i < 5; ++i) {
    rt::Module again = load(test::testModule()); // loaded and unloaded
    ASSERT_TRUE(again);
  }
  std::vector<float> x = ramp(0, 1), w = ramp(1, 1);
  ASSERT_TRUE(s.setInput("x", {test::kN}, x).ok());
  ASSERT_TRUE(s.setInput("w", {test::kN}, w).ok());
  ASSERT_TRUE(s.run().ok());
  expectCorrect(s, x, w);
}

// Inputs are checked: name, dtype, rank, shape and size, each message
// naming the argument, what it expects and what it got.
TEST(Runtime, InputErrorsNameArgumentExpectedAndGot) {
  rt::Module module = load(test::testModule());
  rt::Session s;
  ASSERT_TRUE(rt::Session::create(module, "main", 1, s).ok());
  std::vector<float> x = ramp(0, 1);
  std::vector<int32_t> xi(test::kN);

  rt::Result r = s.setInput("nope", {test::kN}, x);
  EXPECT_EQ(r.code(), ATTUNE_NOT_FOUND);
  EXPECT_TRUE(contains(r.message(), "function 'main' has no argument 'nope'"))
      << r.message();
  EXPECT_TRUE(contains(r.message(), "x: f32[1000], w: f32[1000]"))
      << r.message();

  r = s.setInput("x", {test::kN}, xi);
  EXPECT_EQ(r.code(), ATTUNE_INVALID_ARGUMENT);
  EXPECT_TRUE(contains(r.message(), "argument 'x' of function 'main' expects "
                                    "f32[1000], got dtype i32"))
      << r.message();

  r = s.setInput("x", ATTUNE_DTYPE_F32, {10, 100}, x.data(), 4000);
  EXPECT_TRUE(contains(r.message(), "argument 'x' of function 'main' expects "
                                    "f32[1000] (rank 1), got rank 2 "
                                    "(f32[10, 100])"))
      << r.message();

  r = s.setInput("x", ATTUNE_DTYPE_F32, {999}, x.data(), 3996);
  EXPECT_TRUE(contains(r.message(),
                       "argument 'x' of function 'main' expects f32[1000], "
                       "got shape [999]"))
      << r.message();

  r = s.setInput("x", ATTUNE_DTYPE_F32, {test::kN}, x.data(), 400);
  EXPECT_TRUE(contains(r.message(), "expects f32[1000] (4000 bytes), got 400 "
                                    "bytes"))
      << r.message();

  // 15 is no dtype but lies within the enum's value range (valid C++).
  r = s.setInput("x", static_cast<attune_dtype>(15), {test::kN}, x.data(),
                 4000);
  EXPECT_TRUE(contains(r.message(), "got invalid dtype code 15"))
      << r.message();
}

// Running with an unbound argument names it and what it expects; results
// before a successful run are refused.
TEST(Runtime, MissingArgumentAtRun) {
  rt::Module module = load(test::testModule());
  rt::Session s;
  ASSERT_TRUE(rt::Session::create(module, "main", 1, s).ok());
  ASSERT_TRUE(s.setInput("x", {test::kN}, ramp(0, 1)).ok());
  EXPECT_FALSE(s.argumentBound(1));
  rt::Result r = s.run();
  EXPECT_EQ(r.code(), ATTUNE_INVALID_ARGUMENT);
  EXPECT_TRUE(contains(r.message(), "argument 'w' of function 'main' is not "
                                    "bound; expected f32[1000]"))
      << r.message();
  attune_tensor_view v;
  r = s.result(0, v);
  EXPECT_EQ(r.code(), ATTUNE_FAILED_PRECONDITION);
  EXPECT_TRUE(contains(r.message(), "no results")) << r.message();
  r = s.result(5, v);
  EXPECT_EQ(r.code(), ATTUNE_OUT_OF_RANGE);
}

// Weights bind by name from safetensors; mismatches name the argument,
// expected and got; other tensors are ignored.
TEST(Runtime, BindWeights) {
  rt::Module module = load(test::testModule());
  rt::Session s;
  ASSERT_TRUE(rt::Session::create(module, "main", 2, s).ok());
  std::string dir = testing::TempDir();

  HostTensor w(DType::F32, {test::kN}), other(DType::F32, {3});
  std::vector<float> wv = ramp(5, -0.5f);
  std::memcpy(w.data(), wv.data(), 4000);
  std::string good = dir + "/runtime_good.safetensors";
  ASSERT_TRUE(writeSafeTensors(good, {{"w", w}, {"unused", other}}).isOk());
  size_t bound = 0;
  rt::Result r = s.bindWeights(good, &bound);
  ASSERT_TRUE(r.ok()) << r.message();
  EXPECT_EQ(bound, 1u);
  EXPECT_TRUE(s.argumentBound(1));
  std::vector<float> x = ramp(1, 2);
  ASSERT_TRUE(s.setInput("x", {test::kN}, x).ok());
  ASSERT_TRUE(s.run().ok());
  expectCorrect(s, x, wv);

  std::string badShape = dir + "/runtime_bad_shape.safetensors";
  ASSERT_TRUE(
      writeSafeTensors(badShape, {{"w", HostTensor(DType::F32, {10})}}).isOk());
  r = s.bindWeights(badShape);
  EXPECT_EQ(r.code(), ATTUNE_INVALID_ARGUMENT);
  EXPECT_TRUE(contains(r.message(), "argument 'w' of function 'main' expects "
                                    "f32[1000], got f32[10]"))
      << r.message();

  std::string badType = dir + "/runtime_bad_type.safetensors";
  ASSERT_TRUE(
      writeSafeTensors(badType, {{"w", HostTensor(DType::BF16, {test::kN})}})
          .isOk());
  r = s.bindWeights(badType);
  EXPECT_TRUE(contains(r.message(), "expects f32[1000], got bf16[1000]"))
      << r.message();

  r = s.bindWeights(dir + "/does_not_exist.safetensors");
  EXPECT_EQ(r.code(), ATTUNE_NOT_FOUND);
  EXPECT_TRUE(contains(r.message(), "does_not_exist.safetensors"));

  // A fresh session bound to a file without w still reports w missing.
  rt::Session fresh;
  ASSERT_TRUE(rt::Session::create(module, "main", 1, fresh).ok());
  std::string none = dir + "/runtime_none.safetensors";
  ASSERT_TRUE(writeSafeTensors(none, {{"unused", other}}).isOk());
  ASSERT_TRUE(fresh.bindWeights(none, &bound).ok());
  EXPECT_EQ(bound, 0u);
  ASSERT_TRUE(fresh.setInput("x", {test::kN}, x).ok());
  r = fresh.run();
  EXPECT_TRUE(contains(r.message(), "argument 'w' of function 'main' is not "
                                    "bound; expected f32[1000]"))
      << r.message();
}

// A kernel's error stops the run: "<op> at <location>: <message>".
TEST(Runtime, KernelErrorNamesOpAndLocation) {
  ModuleDesc m = test::testModule();
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
  f.launches = {l};
  m.functions.push_back(f);
  rt::Module module = load(m);
  rt::Session s;
  rt::Result r = rt::Session::create(module, "", 2, s);
  EXPECT_TRUE(contains(r.message(), "'main', 'ids'")) << r.message();
  ASSERT_TRUE(rt::Session::create(module, "ids", 2, s).ok());
  std::vector<int32_t> ids = {0, 1, 2, 3, 4, 0, 1, 2};
  ASSERT_TRUE(s.setInput("ids", {8}, ids).ok());
  ASSERT_TRUE(s.run().ok());
  ids[6] = 7;
  ASSERT_TRUE(s.setInput("ids", {8}, ids).ok());
  r = s.run();
  EXPECT_EQ(r.code(), ATTUNE_OUT_OF_RANGE);
  EXPECT_EQ(r.message(), "attune.embedding at model.mlir:9:3: id 7 at "
                         "position 6 is outside [0, 5)");
  attune_tensor_view v;
  EXPECT_EQ(s.result(0, v).code(), ATTUNE_FAILED_PRECONDITION);
}

// A launch whose check fails is a session-creation error naming the launch.
TEST(Runtime, CheckFailureIsLoadError) {
  ModuleDesc m = test::testModule();
  m.functions[0].launches[1].ints = {2000};
  rt::Module module = load(m);
  rt::Session s;
  rt::Result r = rt::Session::create(module, "main", 1, s);
  EXPECT_EQ(r.code(), ATTUNE_INVALID_ARGUMENT);
  EXPECT_TRUE(contains(r.message(),
                       "attune.add at model.mlir:4:8: "
                       "attune_cpu_testadd_f32_check rejected the launch of "
                       "function 'main': testadd: buffer 0 holds 4000 bytes, "
                       "expected 2000 f32"))
      << r.message();
}

// Load errors: a missing symbol, another kernel ABI, an unknown CPU arch.
TEST(Runtime, LoadErrors) {
  ModuleDesc m = test::testModule();
  m.functions[0].launches[0].kernel = "attune_cpu_nothere_f32";
  rt::Result r = loadError(m);
  EXPECT_EQ(r.code(), ATTUNE_NOT_FOUND);
  EXPECT_TRUE(contains(r.message(), "no symbol 'attune_cpu_nothere_f32' (the "
                                    "kernel of attune.add at model.mlir:3:8 "
                                    "in function 'main')"))
      << r.message();

  m = test::testModule();
  m.functions[0].launches[1].hooks = {"attune_hook_none_0_mask"};
  r = loadError(m);
  EXPECT_TRUE(contains(r.message(), "no symbol 'attune_hook_none_0_mask' (hook #0"))
      << r.message();

  // A capture list that does not match the hook's descriptor.
  m = test::testModule();
  m.functions[0].launches[1].captures.clear();
  r = loadError(m);
  EXPECT_TRUE(contains(r.message(), "reads capture #0; the launch passes 0"))
      << r.message();

  m = test::testModule();
  m.kernelAbiVersion = ATTUNE_KERNEL_ABI_VERSION + 1;
  r = loadError(m);
  EXPECT_EQ(r.code(), ATTUNE_UNIMPLEMENTED);
  EXPECT_TRUE(
      contains(r.message(), "kernel ABI version " +
                                std::to_string(ATTUNE_KERNEL_ABI_VERSION + 1) +
                                "; this runtime runs version " +
                                std::to_string(ATTUNE_KERNEL_ABI_VERSION)))
      << r.message();

  m = test::testModule();
  m.cpuArch = "x86-64-v9";
  r = loadError(m);
  EXPECT_EQ(r.code(), ATTUNE_UNIMPLEMENTED);
  EXPECT_TRUE(contains(r.message(), "cpu arch 'x86-64-v9'")) << r.message();

  m = test::testModule();
  m.cpuSharedObject = {0x7f, 'E', 'L', 'F', 0, 0, 0};
  r = loadError(m);
  EXPECT_EQ(r.code(), ATTUNE_INVALID_ARGUMENT);
  EXPECT_TRUE(contains(r.message(), "cannot load the artifact's cpu shared "
                                    "object"))
      << r.message();

  attune_module *raw = nullptr;
  EXPECT_EQ(attune_module_create_from_file("/nonexistent/model.atm", &raw),
            ATTUNE_NOT_FOUND);
  EXPECT_TRUE(contains(attune_last_error_message(), "/nonexistent/model.atm"));
}

// Errors are per thread: another thread's failure does not replace ours.
TEST(Runtime, LastErrorIsPerThread) {
  attune_module *m = nullptr;
  ASSERT_NE(attune_module_create_from_memory("xx", 2, &m), ATTUNE_OK);
  std::string mine = attune_last_error_message();
  std::thread([] {
    attune_module *o = nullptr;
    (void)attune_module_create_from_file("/nonexistent.atm", &o);
  }).join();
  EXPECT_EQ(mine, attune_last_error_message());
  EXPECT_STREQ(attune_status_name(ATTUNE_DATA_LOSS), "DATA_LOSS");
  EXPECT_STREQ(attune_dtype_name(ATTUNE_DTYPE_BF16), "bf16");
  EXPECT_EQ(attune_dtype_size(ATTUNE_DTYPE_I64), 8u);
}

} // namespace
