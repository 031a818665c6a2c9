//===- demo.cpp - Run the compiled Llama block from C++ -------------------===//
//
// llama-block-demo MODEL.atm WEIGHTS.safetensors DOC_IDS.npy [--runs N]
//   [--threads T] [--seed S] [--device cpu|cuda]
//
// Loads the compiled block, binds its weights by name from a safetensors
// file, sets x to deterministic random values and doc_ids from an .npy
// file, runs N times and prints the output's shape, mean, abs max, first
// values and the throughput in tokens/s. Uses only attune_runtime.hpp.
//
// Make the inputs with:
//   attune-compile llama_block.mlir -o llama_block.atm
//     (add --target=cpu --target=cuda:sm_80,sm_90a for --device cuda)
//   attune-run llama_block.atm --write-random-weights w.safetensors \
//     --skip x --skip doc_ids
//
//===----------------------------------------------------------------------===//

#include "attune/attune_runtime.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace {

int fail(const std::string &message) {
  std::fprintf(stderr, "llama-block-demo: error: %s\n", message.c_str());
  return 1;
}

/// A minimal .npy reader for what the demo needs: C-order little-endian
/// i4 or i8 arrays, format 1.0 to 3.0. Every length is checked.
bool readNpyIds(const std::string &path, std::vector<int64_t> &shape,
                std::vector<int32_t> &ids, std::string &error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = "cannot open '" + path + "'";
    return false;
  }
  std::vector<unsigned char> b((std::istreambuf_iterator<char>(in)),
                               std::istreambuf_iterator<char>());
  if (b.size() < 10 || std::memcmp(b.data(), "\x93NUMPY", 6) != 0) {
    error = "'" + path + "' is not an .npy file (no \\x93NUMPY magic)";
    return false;
  }
  size_t lenBytes = b[6] == 1 ? 2 : 4, start = 8 + lenBytes;
  if (b[6] < 1 || b[6] > 3 || b.size() < start) {
    error = "'" + path + "': unsupported .npy version or truncated header";
    return false;
  }
  size_t hlen = 0;
  for (size_t i = 0; i < lenBytes; ++i)
    hlen |= static_cast<size_t>(b[8 + i]) << (8 * i);
  if (hlen > b.size() - start) {
    error = "'" + path + "': header longer than the file";
    return false;
  }
  std::string h(b.begin() + start, b.begin() + start + hlen);
  size_t elem;
  if (h.find("'<i4'") != std::string::npos)
    elem = 4;
  else if (h.find("'<i8'") != std::string::npos)
    elem = 8;
  else {
    error = "'" + path + "': expected dtype <i4 or <i8, header is " + h;
    return false;
  }
  if (h.find("'fortran_order': False") == std::string::npos) {
    error = "'" + path + "': expected a C-order array";
    return false;
  }
  size_t open = h.find("'shape': (");
  size_t close = open == std::string::npos ? open : h.find(')', open);
  if (close == std::string::npos) {
    error = "'" + path + "': no shape in the header";
    return false;
  }
  shape.clear();
  std::string dims = h.substr(open + 10, close - open - 10);
  int64_t n = 1;
  for (size_t p = 0; p < dims.size();) {
    while (p < dims.size() && (dims[p] == ' ' || dims[p] == ','))
      ++p;
    if (p == dims.size())
      break;
    char *end = nullptr;
    long long d = std::strtoll(dims.c_str() + p, &end, 10);
    if (end == dims.c_str() + p || d < 0 || d > (1 << 30)) {
      error = "'" + path + "': bad shape (" + dims + ")";
      return false;
    }
    shape.push_back(d);
    n *= d;
    if (n > (1 << 30)) {
      error = "'" + path + "': too many elements";
      return false;
    }
    p = static_cast<size_t>(end - dims.c_str());
  }
  size_t data = start + hlen;
  if (b.size() - data != static_cast<size_t>(n) * elem) {
    error = "'" + path + "': expected " + std::to_string(n * elem) +
            " data bytes, the file has " + std::to_string(b.size() - data);
    return false;
  }
  ids.resize(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    int64_t v = 0;
    if (elem == 4) {
      int32_t x;
      std::memcpy(&x, b.data() + data + 4 * i, 4);
      v = x;
    } else {
      std::memcpy(&v, b.data() + data + 8 * i, 8);
    }
    ids[static_cast<size_t>(i)] = static_cast<int32_t>(v);
  }
  return true;
}

/// Deterministic standard normals (SplitMix64 + Box-Muller).
struct Normal {
  uint64_t state;
  uint64_t next() {
    uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  double uniform() {
    return (static_cast<double>(next() >> 11) + 0.5) / 9007199254740992.0;
  }
  float operator()() {
    double u = uniform(), v = uniform();
    return static_cast<float>(std::sqrt(-2 * std::log(u)) *
                              std::cos(6.283185307179586 * v));
  }
};

} // namespace

int main(int argc, char **argv) {
  std::vector<std::string> positional;
  long runs = 10, threads = 0;
  attune_device device = ATTUNE_DEVICE_CPU;
  unsigned long long seed = 0;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&](long long lo, long long hi, long long &out) {
      if (i + 1 >= argc)
        return false;
      char *end = nullptr;
      out = std::strtoll(argv[++i], &end, 10);
      return *end == '\0' && out >= lo && out <= hi;
    };
    long long v;
    if (a == "--runs") {
      if (!value(1, 1000000, v))
        return fail("--runs expects an integer in [1, 1000000]");
      runs = static_cast<long>(v);
    } else if (a == "--threads") {
      if (!value(0, 1024, v))
        return fail("--threads expects an integer in [0, 1024]");
      threads = static_cast<long>(v);
    } else if (a == "--device") {
      std::string d = i + 1 < argc ? argv[++i] : "";
      if (d == "cpu")
        device = ATTUNE_DEVICE_CPU;
      else if (d == "cuda")
        device = ATTUNE_DEVICE_CUDA;
      else
        return fail("--device expects cpu or cuda; got '" + d + "'");
    } else if (a == "--seed") {
      if (!value(0, INT64_MAX, v))
        return fail("--seed expects a non-negative integer");
      seed = static_cast<unsigned long long>(v);
    } else if (!a.empty() && a[0] == '-') {
      return fail("unknown option '" + a + "'");
    } else {
      positional.push_back(a);
    }
  }
  if (positional.size() != 3)
    return fail("usage: llama-block-demo MODEL.atm WEIGHTS.safetensors "
                "DOC_IDS.npy [--runs N] [--threads T] [--seed S] "
                "[--device cpu|cuda]");

  attune::rt::Module module;
  if (auto r = attune::rt::Module::load(positional[0], module); !r)
    return fail(r.message());
  attune::rt::Session session;
  attune_session_options options;
  attune_session_options_init(&options);
  options.num_threads = static_cast<uint32_t>(threads);
  options.device = device;
  if (auto r = attune::rt::Session::create(module, "", options, session); !r)
    return fail(r.message());
  size_t bound = 0;
  if (auto r = session.bindWeights(positional[1], &bound); !r)
    return fail(r.message());
  std::printf("function %s: bound %zu weights from %s\n",
              session.functionName().c_str(), bound, positional[1].c_str());

  // x: deterministic random values of the argument's shape.
  attune::rt::TensorInfo xInfo;
  for (const auto &a : session.arguments())
    if (a.name == "x")
      xInfo = a;
  if (xInfo.name.empty() || xInfo.dtype != ATTUNE_DTYPE_F32 ||
      xInfo.shape.empty() || xInfo.shape.back() <= 0)
    return fail("the model has no f32 argument 'x' of rank >= 1");
  std::vector<float> x(static_cast<size_t>(xInfo.numElements()));
  Normal normal{seed};
  for (float &v : x)
    v = normal();
  if (auto r = session.setInput("x", xInfo.shape, x); !r)
    return fail(r.message());

  std::vector<int64_t> idShape;
  std::vector<int32_t> ids;
  std::string error;
  if (!readNpyIds(positional[2], idShape, ids, error))
    return fail(error);
  if (auto r = session.setInput("doc_ids", idShape, ids); !r)
    return fail(r.message());

  auto t0 = std::chrono::steady_clock::now();
  for (long i = 0; i < runs; ++i)
    if (auto r = session.run(); !r)
      return fail(r.message());
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
          .count();

  attune_tensor_view y;
  if (auto r = session.result(0, y); !r)
    return fail(r.message());
  if (y.dtype != ATTUNE_DTYPE_F32)
    return fail(std::string("expected an f32 result, got ") +
                attune_dtype_name(y.dtype));
  const float *p = static_cast<const float *>(y.data);
  size_t n = y.byte_size / sizeof(float);
  double sum = 0, absMax = 0;
  for (size_t i = 0; i < n; ++i) {
    sum += p[i];
    absMax = std::max(absMax, std::fabs(static_cast<double>(p[i])));
  }
  std::string shape = "[";
  for (size_t d = 0; d < y.rank; ++d)
    shape += (d ? ", " : "") + std::to_string(y.shape[d]);
  shape += "]";
  std::printf("%s: f32%s mean %.6g abs-max %.6g\n  first values:", y.name,
              shape.c_str(), n ? sum / static_cast<double>(n) : 0.0, absMax);
  for (size_t i = 0; i < std::min<size_t>(n, 6); ++i)
    std::printf(" %.6g", p[i]);
  // Tokens: every position of x (all dims but the hidden size).
  double tokens = static_cast<double>(xInfo.numElements()) /
                  static_cast<double>(xInfo.shape.back());
  std::printf("\n%ld runs in %.3f s: %.1f tokens/s (%.3f ms per run)\n", runs,
              seconds, tokens * static_cast<double>(runs) / seconds,
              1000 * seconds / static_cast<double>(runs));
  return 0;
}
