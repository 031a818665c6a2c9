//===- attune-run.cpp - Run a function of a compiled Attune module --------===//
//
// attune-run MODEL.atm [--function F] [--weights W.safetensors]...
//   [--input NAME=FILE.npy]... [--random-inputs SEED] [--output-dir DIR]
//   [--repeat N] [--threads N] [--print-info]
//   [--device cpu|cuda] [--cuda-device N] [--time-device N]
// attune-run MODEL.atm --write-random-weights W.safetensors [--seed S]
//   [--skip NAME]... [--function F]
//
// Runs one function and prints a line per result (name, dtype, shape, mean,
// abs-max, first values); --output-dir writes DIR/<name>.npy. .npy has no
// bf16: an f32 file may feed a bf16 or f16 argument and is rounded to it
// (as attune-ref does), and bf16 results are written as f32.
//
// --random-inputs fills every unbound float argument exactly as attune-ref
// --random-inputs does (Philox normal, stream = argument index; rank 1:
// 1 + 0.1 z, else z / sqrt(last dim)), so that the two tools can be compared.
//
// --device cuda runs the artifact's cuda code on GPU --cuda-device N
// (default 0); without a usable driver or device it fails with one line.
// --time-device N runs the function N more times with the same inputs and
// prints "device time per run: median X ms, min Y ms over N runs" (CUDA
// events on cuda, a steady clock on cpu; inputs are not copied again and
// results not copied back between those runs).
//
// --write-random-weights writes deterministic weights for every float
// argument not named by --skip: names ending in "norm.weight" are ones,
// names ending in "bias" zeros, rank >= 2 tensors Philox normal / sqrt(fan-in)
// (fan-in = last dim), others Philox normal (stream = argument index).
//
// Links only attune_runtime.
//
//===----------------------------------------------------------------------===//

#include "attune/attune_runtime.hpp"
#include "attune/runtime/HostTensor.h"
#include "attune/runtime/Philox.h"
#include "attune/runtime/TensorIO.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

using namespace attune;

namespace {

struct Options {
  std::string model;
  std::string function;
  std::vector<std::string> weights;
  std::vector<std::string> inputs;
  std::string outputDir;
  long repeat = 1;
  long threads = 0;
  bool printInfo = false;
  long long randomInputs = -1;
  std::string writeWeights;
  unsigned long long seed = 0;
  std::vector<std::string> skip;
  long printValues = 6;
  attune_device device = ATTUNE_DEVICE_CPU;
  int cudaDevice = 0;
  long timeDevice = 0;
};

int fail(const std::string &message) {
  std::fprintf(stderr, "attune-run: error: %s\n", message.c_str());
  return 1;
}

const char *kUsage =
    "usage: attune-run MODEL.atm [--function F] [--weights W.safetensors]...\n"
    "         [--input NAME=FILE.npy]... [--random-inputs SEED]\n"
    "         [--output-dir DIR] [--repeat N] [--threads N] [--print-info]\n"
    "         [--print-values N] [--device cpu|cuda] [--cuda-device N]\n"
    "         [--time-device N]\n"
    "       attune-run MODEL.atm --write-random-weights W.safetensors\n"
    "         [--seed S] [--skip NAME]... [--function F]\n";

bool parseInt(const std::string &s, long long lo, long long hi,
              long long &out) {
  if (s.empty())
    return false;
  char *end = nullptr;
  errno = 0;
  long long v = std::strtoll(s.c_str(), &end, 10);
  if (errno || *end || v < lo || v > hi)
    return false;
  out = v;
  return true;
}

/// Returns 0 on success, else an exit code (after printing).
int parseArgs(int argc, char **argv, Options &o, bool &done) {
  done = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    std::string value;
    bool hasValue = false;
    if (a.rfind("--", 0) == 0) {
      size_t eq = a.find('=');
      // --opt=value; the value of --input=NAME=FILE keeps its own '='.
      if (eq != std::string::npos) {
        value = a.substr(eq + 1);
        a = a.substr(0, eq);
        hasValue = true;
      }
    }
    auto next = [&](std::string &out) -> bool {
      if (hasValue) {
        out = value;
        return true;
      }
      if (i + 1 >= argc)
        return false;
      out = argv[++i];
      return true;
    };
    auto intOpt = [&](long long lo, long long hi, long long &out) -> int {
      std::string v;
      if (!next(v))
        return fail(a + " expects a value");
      if (!parseInt(v, lo, hi, out))
        return fail(a + " expects an integer in [" + std::to_string(lo) + ", " +
                    std::to_string(hi) + "], got '" + v + "'");
      return 0;
    };
    long long n;
    std::string v;
    if (a == "-h" || a == "--help") {
      std::fputs(kUsage, stdout);
      done = true;
      return 0;
    } else if (a == "--function") {
      if (!next(o.function))
        return fail("--function expects a name");
    } else if (a == "--weights") {
      if (!next(v))
        return fail("--weights expects a file");
      o.weights.push_back(v);
    } else if (a == "--input") {
      if (!next(v))
        return fail("--input expects NAME=FILE.npy");
      o.inputs.push_back(v);
    } else if (a == "--output-dir") {
      if (!next(o.outputDir))
        return fail("--output-dir expects a directory");
    } else if (a == "--repeat") {
      if (int rc = intOpt(1, 1000000, n))
        return rc;
      o.repeat = static_cast<long>(n);
    } else if (a == "--threads") {
      if (int rc = intOpt(0, 1024, n))
        return rc;
      o.threads = static_cast<long>(n);
    } else if (a == "--print-values") {
      if (int rc = intOpt(0, 1000000, n))
        return rc;
      o.printValues = static_cast<long>(n);
    } else if (a == "--random-inputs") {
      if (int rc = intOpt(0, INT64_MAX, n))
        return rc;
      o.randomInputs = n;
    } else if (a == "--device") {
      if (!next(v))
        return fail("--device expects cpu or cuda");
      if (v == "cpu")
        o.device = ATTUNE_DEVICE_CPU;
      else if (v == "cuda")
        o.device = ATTUNE_DEVICE_CUDA;
      else
        return fail("--device expects cpu or cuda, got '" + v + "'");
    } else if (a == "--cuda-device") {
      if (int rc = intOpt(0, 1023, n))
        return rc;
      o.cudaDevice = static_cast<int>(n);
    } else if (a == "--time-device") {
      if (int rc = intOpt(1, 1000000, n))
        return rc;
      o.timeDevice = static_cast<long>(n);
    } else if (a == "--print-info") {
      o.printInfo = true;
    } else if (a == "--write-random-weights") {
      if (!next(o.writeWeights))
        return fail("--write-random-weights expects a file");
    } else if (a == "--seed") {
      if (int rc = intOpt(0, INT64_MAX, n))
        return rc;
      o.seed = static_cast<unsigned long long>(n);
    } else if (a == "--skip") {
      if (!next(v))
        return fail("--skip expects an argument name");
      o.skip.push_back(v);
    } else if (a.rfind("-", 0) == 0 && a.size() > 1) {
      std::fputs(kUsage, stderr);
      return fail("unknown option '" + a + "'");
    } else if (o.model.empty()) {
      o.model = a;
    } else {
      return fail("more than one model given: '" + o.model + "' and '" + a +
                  "'");
    }
  }
  if (o.model.empty()) {
    std::fputs(kUsage, stderr);
    return fail("no model given");
  }
  return 0;
}

DType toDType(attune_dtype d) {
  static const DType table[] = {DType::F64, DType::F32, DType::F16, DType::BF16,
                                DType::I64, DType::I32, DType::I16, DType::I8,
                                DType::U8,  DType::Bool};
  return table[static_cast<unsigned>(d)];
}

std::string typeString(const rt::TensorInfo &t) {
  return std::string(dtypeName(toDType(t.dtype))) + shapeToString(t.shape);
}

bool endsWith(const std::string &s, const std::string &suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

int writeRandomWeights(const Options &o, const rt::Module &module) {
  std::vector<rt::TensorInfo> args;
  if (rt::Result r = module.arguments(o.function, args); !r)
    return fail(r.message());
  for (const std::string &s : o.skip) {
    bool found = std::any_of(args.begin(), args.end(),
                             [&](auto &a) { return a.name == s; });
    if (!found) {
      std::string list;
      for (const auto &a : args)
        list += (list.empty() ? "" : ", ") + a.name;
      return fail("--skip " + s +
                  ": the function has no such argument; its "
                  "arguments are " +
                  list);
    }
  }
  std::vector<std::pair<std::string, HostTensor>> tensors;
  for (size_t i = 0; i < args.size(); ++i) {
    const rt::TensorInfo &a = args[i];
    DType dt = toDType(a.dtype);
    if (!isFloatDType(dt) ||
        std::find(o.skip.begin(), o.skip.end(), a.name) != o.skip.end())
      continue;
    HostTensor t(dt, a.shape);
    bool ones = endsWith(a.name, "norm.weight");
    bool zeros = endsWith(a.name, "bias");
    double scale = a.shape.size() >= 2 && a.shape.back() > 0
                       ? 1.0 / std::sqrt(static_cast<double>(a.shape.back()))
                       : 1.0;
    for (int64_t e = 0, n = t.numElements(); e < n; ++e) {
      double v = ones ? 1.0
                 : zeros
                     ? 0.0
                     : scale * philoxNormal(o.seed, static_cast<uint32_t>(i),
                                            static_cast<uint64_t>(e));
      t.setDouble(e, v);
    }
    std::printf("%s: %s %s\n", a.name.c_str(), typeString(a).c_str(),
                ones    ? "ones"
                : zeros ? "zeros"
                        : "normal / sqrt(fan-in)");
    tensors.emplace_back(a.name, std::move(t));
  }
  if (Status s = writeSafeTensors(
          o.writeWeights, tensors,
          {{"generator", "attune-run"}, {"seed", std::to_string(o.seed)}});
      !s)
    return fail(s.message());
  std::printf("wrote %zu tensors to %s\n", tensors.size(),
              o.writeWeights.c_str());
  return 0;
}

/// Converts a file's tensor to the argument's dtype: exact matches pass and
/// f32 may be rounded to bf16/f16; anything else is an error.
StatusOr<HostTensor> convertInput(HostTensor t, const rt::TensorInfo &a,
                                  const std::string &source) {
  DType want = toDType(a.dtype);
  if (t.dtype() != want) {
    bool lowp = want == DType::BF16 || want == DType::F16;
    if (!(lowp && t.dtype() == DType::F32))
      return invalidArgument("argument '" + a.name + "' expects " +
                             typeString(a) + ", but " + source + " holds " +
                             std::string(dtypeName(t.dtype())) +
                             shapeToString(t.shape()));
    HostTensor r(want, t.shape());
    for (int64_t e = 0, n = t.numElements(); e < n; ++e)
      r.setDouble(e, t.getDouble(e));
    t = std::move(r);
  }
  if (t.shape() != a.shape)
    return invalidArgument("argument '" + a.name + "' expects " +
                           typeString(a) + ", but " + source + " holds " +
                           std::string(dtypeName(t.dtype())) +
                           shapeToString(t.shape()));
  return t;
}

void printSummary(const attune_tensor_view &v, long printValues) {
  HostTensor t(toDType(v.dtype),
               std::vector<int64_t>(v.shape, v.shape + v.rank));
  if (t.byteSize())
    std::memcpy(t.data(), v.data, t.byteSize());
  double sum = 0, absMax = 0;
  int64_t nonFinite = 0, n = t.numElements();
  for (int64_t e = 0; e < n; ++e) {
    double x = t.getDouble(e);
    if (!std::isfinite(x)) {
      ++nonFinite;
      continue;
    }
    sum += x;
    absMax = std::max(absMax, std::fabs(x));
  }
  int64_t finite = n - nonFinite;
  std::printf("%s: %s %s mean %.6g abs-max %.6g", v.name,
              std::string(dtypeName(t.dtype())).c_str(),
              shapeToString(t.shape()).c_str(), finite ? sum / finite : 0.0,
              absMax);
  if (nonFinite)
    std::printf(" non-finite %lld", static_cast<long long>(nonFinite));
  std::printf("\n");
  if (printValues > 0 && n > 0) {
    std::printf("  values:");
    for (int64_t e = 0; e < std::min<int64_t>(printValues, n); ++e)
      std::printf(" %.6g", t.getDouble(e));
    std::printf("\n");
  }
}

int run(const Options &o) {
  rt::Module module;
  if (rt::Result r = rt::Module::load(o.model, module); !r)
    return fail(r.message());
  if (o.printInfo)
    std::fputs(module.describe().c_str(), stdout);
  if (!o.writeWeights.empty())
    return writeRandomWeights(o, module);
  if (o.printInfo && o.inputs.empty() && o.weights.empty() &&
      o.randomInputs < 0 && o.outputDir.empty() && o.repeat == 1 &&
      o.timeDevice == 0)
    return 0;

  attune_session_options options;
  attune_session_options_init(&options);
  options.num_threads = static_cast<uint32_t>(o.threads);
  options.device = o.device;
  options.cuda_device = o.cudaDevice;
  rt::Session session;
  if (rt::Result r = rt::Session::create(module, o.function, options, session);
      !r)
    return fail(r.message());
  std::vector<rt::TensorInfo> args = session.arguments();

  for (const std::string &w : o.weights) {
    size_t bound = 0;
    if (rt::Result r = session.bindWeights(w, &bound); !r)
      return fail(r.message());
    std::fprintf(stderr, "attune-run: bound %zu weights from %s\n", bound,
                 w.c_str());
  }
  for (const std::string &spec : o.inputs) {
    size_t eq = spec.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == spec.size())
      return fail("--input expects NAME=FILE.npy, got '" + spec + "'");
    std::string name = spec.substr(0, eq), path = spec.substr(eq + 1);
    auto it = std::find_if(args.begin(), args.end(),
                           [&](auto &a) { return a.name == name; });
    if (it == args.end()) {
      std::string list;
      for (const auto &a : args)
        list += (list.empty() ? "" : ", ") + a.name + ": " + typeString(a);
      return fail("--input " + spec + ": function '" + session.functionName() +
                  "' has no argument '" + name + "'; its arguments are " +
                  list);
    }
    StatusOr<HostTensor> t = readNpy(path);
    if (!t)
      return fail(t.status().message());
    StatusOr<HostTensor> c = convertInput(std::move(*t), *it, "'" + path + "'");
    if (!c)
      return fail(c.status().message());
    if (rt::Result r = session.setInput(name, it->dtype, c->shape(), c->data(),
                                        c->byteSize());
        !r)
      return fail(r.message());
  }
  if (o.randomInputs >= 0) {
    for (size_t i = 0; i < args.size(); ++i) {
      const rt::TensorInfo &a = args[i];
      DType dt = toDType(a.dtype);
      if (session.argumentBound(i) || !isFloatDType(dt))
        continue;
      HostTensor t(dt, a.shape);
      for (int64_t e = 0, n = t.numElements(); e < n; ++e)
        t.setDouble(e, randomInputValue(static_cast<uint64_t>(o.randomInputs),
                                        static_cast<uint32_t>(i), a.shape,
                                        static_cast<uint64_t>(e)));
      if (rt::Result r = session.setInput(a.name, a.dtype, a.shape, t.data(),
                                          t.byteSize());
          !r)
        return fail(r.message());
    }
  }

  std::vector<double> ms;
  for (long i = 0; i < o.repeat; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    if (rt::Result r = session.run(); !r)
      return fail(r.message());
    auto t1 = std::chrono::steady_clock::now();
    ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
  }
  double deviceMedian = 0, deviceMin = 0;
  if (o.timeDevice > 0)
    if (rt::Result r = session.timeRuns(static_cast<uint32_t>(o.timeDevice),
                                        deviceMedian, deviceMin);
        !r)
      return fail(r.message());

  if (!o.outputDir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(o.outputDir, ec);
    if (ec)
      return fail("cannot create '" + o.outputDir + "': " + ec.message());
  }
  for (size_t i = 0; i < session.resultCount(); ++i) {
    attune_tensor_view v;
    if (rt::Result r = session.result(i, v); !r)
      return fail(r.message());
    printSummary(v, o.printValues);
    if (!o.outputDir.empty()) {
      HostTensor t(toDType(v.dtype),
                   std::vector<int64_t>(v.shape, v.shape + v.rank));
      if (t.byteSize())
        std::memcpy(t.data(), v.data, t.byteSize());
      std::string path =
          (std::filesystem::path(o.outputDir) / (std::string(v.name) + ".npy"))
              .string();
      if (Status s = writeNpy(path, t); !s)
        return fail(s.message());
    }
  }
  if (o.repeat > 1) {
    std::vector<double> sorted = ms;
    std::sort(sorted.begin(), sorted.end());
    size_t n = sorted.size();
    double median =
        n % 2 ? sorted[n / 2] : 0.5 * (sorted[n / 2 - 1] + sorted[n / 2]);
    std::printf("latency over %zu runs: min %.3f ms, median %.3f ms, max "
                "%.3f ms\n",
                n, sorted.front(), median, sorted.back());
  }
  if (o.timeDevice > 0)
    std::printf("attune-run: device time per run: median %.4f ms, min %.4f ms "
                "over %ld runs\n",
                deviceMedian, deviceMin, o.timeDevice);
  return 0;
}

} // namespace

int main(int argc, char **argv) {
  Options o;
  bool done;
  if (int rc = parseArgs(argc, argv, o, done))
    return rc;
  if (done)
    return 0;
  return run(o);
}
