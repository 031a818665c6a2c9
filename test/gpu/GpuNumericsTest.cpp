//===- GpuNumericsTest.cpp - Compiled cuda kernels vs the oracle ----------===//
//
// Runs every case that attune-gpu-cases wrote (GenerateGpuCases.cpp; format
// in GpuCaseFormat.h) on a CUDA device through the runtime's C API, and
// holds each result to the bound recorded with it (DESIGN.md section 6:
// max|out - gold| <= 2 max|lowp - gold| + floor, over the elements where
// gold is finite; NaN and +-inf exactly where gold has them). A second run
// must give bitwise identical results.
//
// Links only attune_runtime (no LLVM): it runs on the GPU machine. The case
// directory is $ATTUNE_GPU_CASES, else the build tree's gpu-cases (baked in
// at compile time). Without a usable CUDA driver or device every test is
// skipped with attune_cuda_probe's message.
//
//===----------------------------------------------------------------------===//

#include "GpuCaseFormat.h"

#include "attune/attune_runtime.h"
#include "attune/runtime/HostTensor.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>

#ifndef ATTUNE_GPU_CASES_DEFAULT
#define ATTUNE_GPU_CASES_DEFAULT "gpu-cases"
#endif

using namespace attune;

namespace {

constexpr const char *kMissing = "MissingCaseDirectory";

std::string casesDir() {
  const char *env = std::getenv("ATTUNE_GPU_CASES");
  return env && *env ? env : ATTUNE_GPU_CASES_DEFAULT;
}

/// The case names of MANIFEST.txt, or {kMissing}.
std::vector<std::string> listCases() {
  std::string text;
  if (!gpucases::readFile(casesDir() + "/MANIFEST.txt", text))
    return {kMissing};
  std::vector<std::string> names;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (!line.empty() && line[0] != '#')
      names.push_back(line);
  if (names.empty())
    return {kMissing};
  return names;
}

struct Probe {
  bool ok = false;
  int devices = 0;
  std::string message;
};

const Probe &probe() {
  static const Probe p = [] {
    Probe r;
    int n = 0;
    if (attune_cuda_probe(&n) == ATTUNE_OK && n > 0) {
      r.ok = true;
      r.devices = n;
    } else {
      r.message = n == 0 && attune_last_error_message()[0] == 0
                      ? "the driver reports no CUDA devices"
                      : attune_last_error_message();
    }
    return r;
  }();
  return p;
}

/// ATTUNE_GPU_CASES_DEVICE=cpu runs cases written with attune-gpu-cases
/// --target cpu on the CPU device: a check of the harness without a GPU.
bool onCpu() {
  const char *env = std::getenv("ATTUNE_GPU_CASES_DEVICE");
  return env && std::string(env) == "cpu";
}

/// ATTUNE_GPU_CASES_PERTURB=1 moves one output value of each case past its
/// bound: every case must then fail (the harness's own test).
bool perturb() {
  const char *env = std::getenv("ATTUNE_GPU_CASES_PERTURB");
  return env && std::string(env) == "1";
}

int cudaOrdinal() {
  const char *env = std::getenv("ATTUNE_CUDA_DEVICE");
  return env && *env ? std::atoi(env) : 0;
}

/// Modules by path, loaded once (a group's artifact serves many cases) and
/// released at exit.
struct ModuleCache {
  ~ModuleCache() {
    for (auto &[path, m] : modules)
      attune_module_destroy(m);
  }
  attune_module *get(const std::string &path, std::string &error) {
    auto it = modules.find(path);
    if (it != modules.end())
      return it->second;
    attune_module *m = nullptr;
    if (attune_module_create_from_file(path.c_str(), &m) != ATTUNE_OK) {
      error = "loading " + path + ": " + attune_last_error_message();
      return nullptr;
    }
    modules[path] = m;
    return m;
  }
  std::map<std::string, attune_module *> modules;
};

ModuleCache &moduleCache() {
  static ModuleCache cache;
  return cache;
}

struct SessionDeleter {
  void operator()(attune_session *s) const { attune_session_destroy(s); }
};
using SessionPtr = std::unique_ptr<attune_session, SessionDeleter>;

std::string indexString(int64_t i, const std::vector<int64_t> &shape) {
  std::vector<int64_t> idx(shape.size());
  for (size_t d = shape.size(); d-- > 0;) {
    idx[d] = shape[d] ? i % shape[d] : 0;
    i = shape[d] ? i / shape[d] : 0;
  }
  std::string s = "[";
  for (size_t d = 0; d < idx.size(); ++d)
    s += (d ? ", " : "") + std::to_string(idx[d]);
  return s + "]";
}

std::string num(double v) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

/// Compares one result with its gold; "" when it is within the bound.
/// `ratio` receives max error / bound.
std::string compare(const gpucases::TensorRecord &r,
                    const attune_tensor_view &view, const std::string &gold,
                    bool perturbOne, double &ratio) {
  StatusOr<DType> dt = dtypeFromName(r.dtype);
  if (!dt)
    return "result '" + r.name + "': unknown dtype '" + r.dtype + "'";
  std::vector<int64_t> shape(view.shape, view.shape + view.rank);
  if (static_cast<int>(view.dtype) != static_cast<int>(*dt) ||
      shape != r.shape)
    return "result '" + r.name + "': expected " + r.dtype + " " +
           shapeToString(r.shape) + ", got " +
           attune_dtype_name(view.dtype) + " " + shapeToString(shape);
  HostTensor out(*dt, shape);
  if (view.byte_size != out.byteSize())
    return "result '" + r.name + "': " + std::to_string(view.byte_size) +
           " bytes, expected " + std::to_string(out.byteSize());
  std::memcpy(out.data(), view.data, out.byteSize());
  int64_t n = out.numElements();
  size_t gsize = r.goldDtype == "f32" ? 4 : 8;
  if (gold.size() != static_cast<size_t>(n) * gsize)
    return "result '" + r.name + "': the gold file " + r.file + " has " +
           std::to_string(gold.size()) + " bytes, expected " +
           std::to_string(n * gsize);
  auto goldAt = [&](int64_t i) {
    if (gsize == 4) {
      float f;
      std::memcpy(&f, gold.data() + i * 4, 4);
      return static_cast<double>(f);
    }
    double d;
    std::memcpy(&d, gold.data() + i * 8, 8);
    return d;
  };
  double maxErr = 0;
  int64_t worst = -1;
  for (int64_t i = 0; i < n; ++i) {
    double g = goldAt(i);
    double o = out.getDouble(i);
    if (perturbOne && std::isfinite(g) && std::isfinite(o)) {
      o += 2 * r.bound + 1e-3;
      out.setDouble(i, o);
      perturbOne = false;
    }
    if (!std::isfinite(g) || !std::isfinite(o)) {
      bool same = (std::isnan(g) && std::isnan(o)) || g == o;
      if (!same)
        return "result '" + r.name + "' at " + indexString(i, shape) +
               ": out " + num(o) + ", gold " + num(g) +
               " (non-finite values must match exactly)";
      continue;
    }
    double e = std::fabs(o - g);
    if (e > maxErr || worst < 0) {
      maxErr = e;
      worst = i;
    }
  }
  ratio = r.bound > 0 ? maxErr / r.bound : (maxErr > 0 ? INFINITY : 0);
  if (!(maxErr <= r.bound)) {
    double g = goldAt(worst);
    return "result '" + r.name + "' (" + r.dtype + " " +
           shapeToString(shape) + "): max|out - gold| = " + num(maxErr) +
           " at " + indexString(worst, shape) + " (out " +
           num(out.getDouble(worst)) + ", gold " + num(g) + ") exceeds the bound " +
           num(r.bound) + " = 2 * " + num(r.refError) + " (max|lowp - gold|) + " +
           num(r.floor) + " (floor); " + num(ratio) + "x the bound";
  }
  return "";
}

class GpuNumerics : public ::testing::TestWithParam<std::string> {
protected:
  void SetUp() override {
    if (onCpu())
      return;
    const Probe &p = probe();
    if (!p.ok)
      GTEST_SKIP() << "no usable CUDA device: " << p.message;
  }
};

TEST_P(GpuNumerics, MeetsToleranceAndRepeats) {
  const std::string dir = casesDir();
  if (GetParam() == kMissing)
    FAIL() << "the GPU case directory '" << dir
           << "' has no MANIFEST.txt (or lists no case). Generate it on a "
              "machine with the compiler and ptxas: `attune-gpu-cases DIR` "
              "(`ctest -L gpu` in the build tree writes <build>/gpu-cases); "
              "test/gpu/carry.sh stages it with this binary for a GPU "
              "machine; point ATTUNE_GPU_CASES at it.";
  const std::string caseDir = dir + "/" + GetParam();
  std::string text;
  ASSERT_TRUE(gpucases::readFile(caseDir + "/case.txt", text))
      << "cannot read " << caseDir << "/case.txt";
  gpucases::CaseRecord c;
  std::string err = gpucases::parseCase(text, c);
  ASSERT_EQ(err, "") << caseDir << "/case.txt";

  attune_module *m = moduleCache().get(caseDir + "/" + c.module, err);
  ASSERT_NE(m, nullptr) << err;
  attune_session_options o;
  attune_session_options_init(&o);
  o.device = onCpu() ? ATTUNE_DEVICE_CPU : ATTUNE_DEVICE_CUDA;
  o.cuda_device = cudaOrdinal();
  attune_session *raw = nullptr;
  ASSERT_EQ(attune_session_create(m, c.function.c_str(), &o, &raw), ATTUNE_OK)
      << "session for '" << c.function << "': " << attune_last_error_message();
  SessionPtr s(raw);

  for (const gpucases::TensorRecord &t : c.inputs) {
    std::string bytes;
    ASSERT_TRUE(gpucases::readFile(caseDir + "/" + t.file, bytes))
        << "cannot read " << caseDir << "/" << t.file;
    StatusOr<DType> dt = dtypeFromName(t.dtype);
    ASSERT_TRUE(dt.isOk()) << "input '" << t.name << "': dtype " << t.dtype;
    ASSERT_EQ(attune_session_set_input(
                  s.get(), t.name.c_str(),
                  static_cast<attune_dtype>(static_cast<int>(*dt)),
                  t.shape.data(), t.shape.size(), bytes.data(), bytes.size()),
              ATTUNE_OK)
        << "input '" << t.name << "': " << attune_last_error_message();
  }

  ASSERT_EQ(attune_session_run(s.get()), ATTUNE_OK)
      << "run: " << attune_last_error_message();
  ASSERT_EQ(attune_session_result_count(s.get()), c.results.size())
      << "the artifact's function has a different number of results than "
         "case.txt lists";

  std::vector<size_t> index(c.results.size());
  std::vector<std::string> first(c.results.size());
  std::string summary;
  for (size_t i = 0; i < c.results.size(); ++i) {
    const gpucases::TensorRecord &r = c.results[i];
    ASSERT_EQ(attune_session_find_result(s.get(), r.name.c_str(), &index[i]),
              ATTUNE_OK)
        << attune_last_error_message();
    attune_tensor_view v;
    ASSERT_EQ(attune_session_result(s.get(), index[i], &v), ATTUNE_OK)
        << attune_last_error_message();
    first[i].assign(static_cast<const char *>(v.data), v.byte_size);
    std::string gold;
    ASSERT_TRUE(gpucases::readFile(caseDir + "/" + r.file, gold))
        << "cannot read " << caseDir << "/" << r.file;
    double ratio = 0;
    std::string failure = compare(r, v, gold, perturb() && i == 0, ratio);
    EXPECT_EQ(failure, "") << GetParam();
    summary += " " + r.name + " " + num(ratio);
  }
  std::printf("[ numerics ] %s: max error / bound:%s\n", GetParam().c_str(),
              summary.c_str());

  // Bitwise repeatable.
  ASSERT_EQ(attune_session_run(s.get()), ATTUNE_OK)
      << "second run: " << attune_last_error_message();
  for (size_t i = 0; i < c.results.size(); ++i) {
    attune_tensor_view v;
    ASSERT_EQ(attune_session_result(s.get(), index[i], &v), ATTUNE_OK)
        << attune_last_error_message();
    std::string again(static_cast<const char *>(v.data), v.byte_size);
    if (again != first[i]) {
      size_t b = 0;
      while (b < again.size() && b < first[i].size() && again[b] == first[i][b])
        ++b;
      ADD_FAILURE() << "result '" << c.results[i].name
                    << "' differs between two runs with the same inputs "
                       "(first differing byte "
                    << b << " of " << again.size() << ")";
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    Cases, GpuNumerics, ::testing::ValuesIn(listCases()),
    [](const ::testing::TestParamInfo<std::string> &i) { return i.param; });

} // namespace
