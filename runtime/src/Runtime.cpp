//===- Runtime.cpp - Modules, sessions and the C API ----------------------===//
//
// A module is the verified artifact plus its loaded shared object, resolved
// symbols and read-only constants; it never changes after load, so any number
// of sessions may use it from any threads. A session owns everything a run
// writes: its arena, its argument and result buffers, and its thread pool.
// Every launch's kernel arguments are fixed when the session is created
// (all buffers are allocated then), which is also when each launch's _check
// runs and yields its grid.
//
// A session on the cuda device (CudaDevice.h) keeps the host copies of its
// arguments and results here and everything else on the GPU: an argument is
// copied to the device before the first run after it was set or bound, and
// the results are copied back after every run. The module's CUDA code and
// constants are loaded on a device once, by the first session there.
//
// No exception leaves this file: every C entry point catches (allocation
// failure, thread creation failure) and reports a status.
//
//===----------------------------------------------------------------------===//

#include "attune/attune_runtime.h"

#include "CpuDevice.h"
#include "CudaDevice.h"
#include "artifact/ArtifactInternal.h"
#include "attune/abi/KernelABI.h"
#include "attune/artifact/Artifact.h"
#include "attune/runtime/TensorIO.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <new>
#include <string>
#include <thread>
#include <vector>

using attune::DType;
using attune::Status;
using attune::StatusCode;
using attune::StatusOr;
namespace art = attune::artifact;
namespace dev = attune::cpu_device;
namespace cuda = attune::cuda_device;

//===----------------------------------------------------------------------===//
// Errors
//===----------------------------------------------------------------------===//

static thread_local std::string tLastError;

static attune_status toCStatus(StatusCode c) {
  switch (c) {
  case StatusCode::Ok:
    return ATTUNE_OK;
  case StatusCode::InvalidArgument:
    return ATTUNE_INVALID_ARGUMENT;
  case StatusCode::NotFound:
    return ATTUNE_NOT_FOUND;
  case StatusCode::OutOfRange:
    return ATTUNE_OUT_OF_RANGE;
  case StatusCode::DataLoss:
    return ATTUNE_DATA_LOSS;
  case StatusCode::Unimplemented:
    return ATTUNE_UNIMPLEMENTED;
  case StatusCode::Internal:
    return ATTUNE_INTERNAL;
  case StatusCode::IoError:
    return ATTUNE_IO_ERROR;
  }
  return ATTUNE_INTERNAL;
}

static attune_status fail(attune_status code, std::string message) {
  try {
    tLastError = std::move(message);
  } catch (...) {
    tLastError.clear();
  }
  return code;
}

static attune_status report(const Status &s) {
  if (s.isOk())
    return ATTUNE_OK;
  return fail(toCStatus(s.code()), s.message());
}

/// Runs `body` (returning attune_status) with every exception turned into a
/// status.
template <typename F> static attune_status guarded(const char *what, F body) {
  try {
    return body();
  } catch (const std::bad_alloc &) {
    return fail(ATTUNE_INTERNAL, std::string(what) + ": out of memory");
  } catch (const std::exception &e) {
    return fail(ATTUNE_INTERNAL, std::string(what) + ": " + e.what());
  } catch (...) {
    return fail(ATTUNE_INTERNAL, std::string(what) + ": unknown exception");
  }
}

#define ATTUNE_CHECK_ARG(cond, what, msg)                                      \
  do {                                                                         \
    if (!(cond))                                                               \
      return fail(ATTUNE_INVALID_ARGUMENT, std::string(what) + ": " + (msg));  \
  } while (false)

//===----------------------------------------------------------------------===//
// dtypes
//===----------------------------------------------------------------------===//

// attune_dtype codes follow the order of attune::DType (callers convert with
// a cast); the table below is that order.
static_assert(static_cast<int>(DType::F64) == ATTUNE_DTYPE_F64 &&
                  static_cast<int>(DType::BF16) == ATTUNE_DTYPE_BF16 &&
                  static_cast<int>(DType::Bool) == ATTUNE_DTYPE_BOOL,
              "attune_dtype must follow attune::DType");
static const DType kDTypes[] = {DType::F64, DType::F32, DType::F16, DType::BF16,
                                DType::I64, DType::I32, DType::I16, DType::I8,
                                DType::U8,  DType::Bool};

static attune_dtype toCDType(DType t) {
  for (unsigned i = 0; i < sizeof(kDTypes) / sizeof(kDTypes[0]); ++i)
    if (kDTypes[i] == t)
      return static_cast<attune_dtype>(i);
  return ATTUNE_DTYPE_F32;
}

static bool fromCDType(attune_dtype t, DType &out) {
  unsigned i = static_cast<unsigned>(t);
  if (i >= sizeof(kDTypes) / sizeof(kDTypes[0]))
    return false;
  out = kDTypes[i];
  return true;
}

static std::string typeString(DType t, const std::vector<int64_t> &shape) {
  return std::string(attune::dtypeName(t)) + attune::shapeToString(shape);
}

//===----------------------------------------------------------------------===//
// Module
//===----------------------------------------------------------------------===//

namespace {
/// A launch's symbols, resolved once per module.
struct ResolvedLaunch {
  attune_cpu_kernel_fn kernel = nullptr;
  attune_cpu_check_fn check = nullptr;
  std::vector<void *> hooks;
  std::string where; // "<op> at <location>" or "launch #i (kernel)"
};

struct ModuleImpl;
} // namespace

/// A function of a module: its signature and resolved launches.
struct attune_function {
  const ModuleImpl *module = nullptr;
  art::FunctionDesc desc;
  std::vector<ResolvedLaunch> launches;
  std::vector<uint64_t> argumentBytes, resultBytes;
};

namespace {
struct ModuleImpl {
  art::ModuleDesc desc; // functions moved out into `functions`
  std::vector<std::unique_ptr<attune_function>> functions;
  std::unique_ptr<dev::SharedObject> so;
  dev::ReadOnlyMemory constants;
  std::string description;
  bool cpu = false, cuda = false; // the artifact's targets

  /// The CUDA code and constants on each device, loaded by the first
  /// session there.
  StatusOr<std::shared_ptr<cuda::DeviceModule>> cudaModule(int ordinal) {
    std::lock_guard<std::mutex> lock(cudaMu);
    auto it = cudaModules.find(ordinal);
    if (it != cudaModules.end())
      return it->second;
    auto m = cuda::loadModule(ordinal, desc.cubins, desc.ptx, constants.data(),
                              constants.size());
    if (!m)
      return m.status();
    cudaModules.emplace(ordinal, *m);
    return *m;
  }

private:
  std::mutex cudaMu;
  std::map<int, std::shared_ptr<cuda::DeviceModule>> cudaModules;
};
} // namespace

struct attune_module {
  std::shared_ptr<ModuleImpl> impl;
};

static std::string launchWhere(const art::LaunchDesc &l, size_t i) {
  if (!l.op.empty())
    return l.op + (l.location.empty() ? "" : " at " + l.location);
  return "launch #" + std::to_string(i) + " (" + l.kernel + ")";
}

static StatusOr<std::shared_ptr<ModuleImpl>> loadModule(const uint8_t *data,
                                                        size_t size) {
  StatusOr<art::ModuleDesc> read = art::readArtifact(data, size);
  if (!read)
    return read.status();
  auto impl = std::make_shared<ModuleImpl>();
  impl->desc = std::move(*read);
  art::ModuleDesc &m = impl->desc;
  impl->description = art::detail::describe(m, data, size);

  if (m.kernelAbiVersion != ATTUNE_KERNEL_ABI_VERSION)
    return attune::unimplemented(
        "artifact uses kernel ABI version " +
        std::to_string(m.kernelAbiVersion) + "; this runtime runs version " +
        std::to_string(ATTUNE_KERNEL_ABI_VERSION) +
        " (compile the model with a matching attune-compile)");

  // The cpu code is loaded and checked here; the cuda code is loaded on a
  // device by the first session there (a module loads without a GPU).
  bool cpu =
      std::find(m.targets.begin(), m.targets.end(), "cpu") != m.targets.end();
  impl->cpu = cpu;
  impl->cuda =
      std::find(m.targets.begin(), m.targets.end(), "cuda") != m.targets.end();
  if (cpu) {
    ATTUNE_RETURN_IF_ERROR(dev::checkCpuArch(m.cpuArch));
    auto so = dev::SharedObject::load(m.cpuSharedObject.data(),
                                      m.cpuSharedObject.size());
    if (!so)
      return so.status();
    impl->so = std::move(*so);
    // The bytes live on in the loaded object; drop the copy.
    std::vector<uint8_t>().swap(m.cpuSharedObject);
  }
  ATTUNE_RETURN_IF_ERROR(
      impl->constants.assign(m.constants.data(), m.constants.size()));
  std::vector<uint8_t>().swap(m.constants);

  for (auto &fd : m.functions) {
    auto fn = std::make_unique<attune_function>();
    fn->module = impl.get();
    fn->desc = std::move(fd);
    for (const auto &t : fn->desc.arguments)
      fn->argumentBytes.push_back(
          static_cast<uint64_t>(attune::numElements(t.shape)) *
          attune::dtypeSize(t.dtype));
    for (const auto &t : fn->desc.results)
      fn->resultBytes.push_back(
          static_cast<uint64_t>(attune::numElements(t.shape)) *
          attune::dtypeSize(t.dtype));
    for (size_t i = 0; i < fn->desc.launches.size(); ++i) {
      const art::LaunchDesc &l = fn->desc.launches[i];
      ResolvedLaunch r;
      r.where = launchWhere(l, i);
      if (!cpu) {
        fn->launches.push_back(std::move(r));
        continue;
      }
      auto need = [&](const std::string &sym) -> void * {
        return impl->so ? impl->so->symbol(sym) : nullptr;
      };
      std::string owner =
          " of " + r.where + " in function '" + fn->desc.name + "'";
      r.kernel = reinterpret_cast<attune_cpu_kernel_fn>(need(l.kernel));
      if (!r.kernel)
        return attune::notFound("artifact shared object has no symbol '" +
                                l.kernel + "' (the kernel" + owner +
                                "); expected it to be exported");
      std::string checkName = l.kernel + "_check";
      r.check = reinterpret_cast<attune_cpu_check_fn>(need(checkName));
      if (!r.check)
        return attune::notFound("artifact shared object has no symbol '" +
                                checkName + "' (the check of the kernel" +
                                owner + "); expected it to be exported");
      for (size_t h = 0; h < l.hooks.size(); ++h) {
        if (l.hooks[h].empty()) {
          r.hooks.push_back(nullptr);
          continue;
        }
        void *p = need(l.hooks[h]);
        if (!p)
          return attune::notFound("artifact shared object has no symbol '" +
                                  l.hooks[h] + "' (hook #" + std::to_string(h) +
                                  owner + "); expected it to be exported");
        // The hook's capture descriptor (KernelABI.h) against the launch.
        const std::string descName = l.hooks[h] + "_captures";
        const int64_t *desc = static_cast<const int64_t *>(need(descName));
        if (!desc)
          return attune::notFound("artifact shared object has no symbol '" +
                                  descName + "' (the capture descriptor of "
                                  "hook #" + std::to_string(h) + owner +
                                  "); expected it to be exported");
        if (desc[0] < 0 || desc[0] > 4096)
          return attune::invalidArgument(
              descName + owner + " lists " + std::to_string(desc[0]) +
              " captures; expected 0..4096");
        for (int64_t c = 0; c < desc[0]; ++c) {
          int64_t index = desc[1 + 2 * c], bytes = desc[2 + 2 * c];
          if (index < 0 || index >= static_cast<int64_t>(l.captures.size()))
            return attune::invalidArgument(
                "hook '" + l.hooks[h] + "'" + owner + " reads capture #" +
                std::to_string(index) + "; the launch passes " +
                std::to_string(l.captures.size()));
          const auto &v = fn->desc.values[static_cast<size_t>(
              l.captures[static_cast<size_t>(index)])];
          if (bytes < 0 || v.bytes < static_cast<uint64_t>(bytes))
            return attune::invalidArgument(
                "hook '" + l.hooks[h] + "'" + owner + " reads " +
                std::to_string(bytes) + " bytes of capture #" +
                std::to_string(index) + "; the launch passes a buffer of " +
                std::to_string(v.bytes));
        }
        r.hooks.push_back(p);
      }
      fn->launches.push_back(std::move(r));
    }
    impl->functions.push_back(std::move(fn));
  }
  m.functions.clear();
  return impl;
}

//===----------------------------------------------------------------------===//
// Session
//===----------------------------------------------------------------------===//

namespace {
/// A launch with every argument fixed.
struct PreparedLaunch {
  attune_cpu_kernel_fn kernel = nullptr;
  const std::string *where = nullptr;
  const std::string *kernelName = nullptr;
  std::vector<void *> buffers;
  std::vector<uint64_t> sizes;
  std::vector<void *> captures;
  std::vector<uint64_t> captureSizes;
  attune_kernel_args args{};
  int64_t grid = 0;
};
} // namespace

struct attune_session {
  std::shared_ptr<ModuleImpl> module;
  const attune_function *fn = nullptr;
  attune_device device = ATTUNE_DEVICE_CPU;
  int cudaOrdinal = 0;
  /// Arguments and results in host memory (on cuda: the host copies).
  std::vector<dev::AlignedBuffer> arguments, results;
  std::vector<bool> bound;
  bool haveResults = false;
  // cpu
  dev::AlignedBuffer arena;
  std::vector<PreparedLaunch> launches;
  std::unique_ptr<dev::ThreadPool> pool;
  std::vector<std::vector<char>> errors; // one message buffer per thread
  // cuda
  std::unique_ptr<cuda::Session> cuda;
  /// Arguments set or bound since they were last copied to the device.
  std::vector<bool> dirty;
};

static constexpr size_t kErrorCapacity = 1024;

static Status prepareSession(attune_session &s) {
  const art::FunctionDesc &f = s.fn->desc;
  std::string fname = "function '" + f.name + "'";
  s.arguments.resize(f.arguments.size());
  for (size_t i = 0; i < f.arguments.size(); ++i)
    if (!s.arguments[i].allocate(s.fn->argumentBytes[i]))
      return attune::internalError(
          "cannot allocate " + std::to_string(s.fn->argumentBytes[i]) +
          " bytes for argument '" + f.arguments[i].name + "' of " + fname);
  s.results.resize(f.results.size());
  for (size_t i = 0; i < f.results.size(); ++i)
    if (!s.results[i].allocate(s.fn->resultBytes[i]))
      return attune::internalError(
          "cannot allocate " + std::to_string(s.fn->resultBytes[i]) +
          " bytes for result '" + f.results[i].name + "' of " + fname);
  s.bound.assign(f.arguments.size(), false);
  s.dirty.assign(f.arguments.size(), false);
  if (s.device == ATTUNE_DEVICE_CUDA) {
    StatusOr<std::shared_ptr<cuda::DeviceModule>> m =
        s.module->cudaModule(s.cudaOrdinal);
    if (!m)
      return m.status();
    auto session =
        cuda::Session::create(*m, f, s.fn->argumentBytes, s.fn->resultBytes);
    if (!session)
      return session.status();
    s.cuda = std::move(*session);
    return Status::ok();
  }

  if (!s.arena.allocate(f.arenaBytes))
    return attune::internalError("cannot allocate the " +
                                 std::to_string(f.arenaBytes) +
                                 "-byte arena of " + fname);
  // Value id -> address (validate() checked every index and bound).
  // Only values a launch references get an address (validate() checks the
  // bounds of exactly those).
  std::vector<bool> referenced(f.values.size(), false);
  for (const art::LaunchDesc &l : f.launches) {
    for (int32_t id : l.buffers)
      if (id >= 0)
        referenced[static_cast<size_t>(id)] = true;
    for (int32_t id : l.captures)
      referenced[static_cast<size_t>(id)] = true;
  }
  std::vector<void *> addr(f.values.size(), nullptr);
  for (size_t v = 0; v < f.values.size(); ++v) {
    const art::ValueDesc &val = f.values[v];
    if (!referenced[v])
      continue;
    size_t idx = static_cast<size_t>(val.index);
    switch (val.kind) {
    case art::ValueKind::Argument:
      addr[v] = s.arguments[idx].data();
      break;
    case art::ValueKind::Output:
      addr[v] = s.results[idx].data();
      break;
    case art::ValueKind::Arena:
      addr[v] = s.arena.data() + val.offset;
      break;
    case art::ValueKind::Constant:
      addr[v] = s.module->constants.data() + val.offset;
      break;
    }
  }

  s.launches.resize(f.launches.size());
  std::vector<char> error(kErrorCapacity);
  for (size_t i = 0; i < f.launches.size(); ++i) {
    const art::LaunchDesc &l = f.launches[i];
    const ResolvedLaunch &r = s.fn->launches[i];
    PreparedLaunch &p = s.launches[i];
    p.kernel = r.kernel;
    p.where = &r.where;
    p.kernelName = &l.kernel;
    for (int32_t id : l.buffers) {
      p.buffers.push_back(id < 0 ? nullptr : addr[static_cast<size_t>(id)]);
      p.sizes.push_back(id < 0 ? 0 : f.values[static_cast<size_t>(id)].bytes);
    }
    for (int32_t id : l.captures) {
      p.captures.push_back(addr[static_cast<size_t>(id)]);
      p.captureSizes.push_back(f.values[static_cast<size_t>(id)].bytes);
    }
    attune_kernel_args &a = p.args;
    a.buffers = p.buffers.data();
    a.sizes = p.sizes.data();
    a.num_buffers = static_cast<int64_t>(p.buffers.size());
    a.ints = l.ints.data();
    a.num_ints = static_cast<int64_t>(l.ints.size());
    a.floats = l.floats.data();
    a.num_floats = static_cast<int64_t>(l.floats.size());
    a.captures = p.captures.data();
    a.capture_sizes = p.captureSizes.data();
    a.num_captures = static_cast<int64_t>(p.captures.size());
    a.hooks = r.hooks.data();
    a.num_hooks = static_cast<int64_t>(r.hooks.size());

    std::fill(error.begin(), error.end(), '\0');
    int64_t grid = -1;
    int rc = r.check(&a, &grid, error.data(), error.size());
    error.back() = '\0';
    if (rc != ATTUNE_KERNEL_OK)
      return attune::invalidArgument(
          r.where + ": " + l.kernel + "_check rejected the launch of " + fname +
          ": " + (error[0] ? error.data() : "(no message)") + " (code " +
          std::to_string(rc) + ")");
    // A grid beyond INT64_MAX / 4 is no real launch: refuse it, so that chunk
    // arithmetic never comes near overflow.
    if (grid < 0 || grid > INT64_MAX / 4)
      return attune::internalError(
          r.where + ": " + l.kernel + "_check returned grid " +
          std::to_string(grid) + "; expected a count in [0, " +
          std::to_string(INT64_MAX / 4) + "]");
    p.grid = grid;
  }
  return Status::ok();
}

static Status checkBound(const attune_session &s) {
  const art::FunctionDesc &f = s.fn->desc;
  for (size_t i = 0; i < f.arguments.size(); ++i)
    if (!s.bound[i])
      return attune::invalidArgument(
          "argument '" + f.arguments[i].name + "' of function '" + f.name +
          "' is not bound; expected " +
          typeString(f.arguments[i].dtype, f.arguments[i].shape) +
          " (set it as an input or bind it from a weights file)");
  return Status::ok();
}

/// Runs every launch on the session's thread pool.
static Status runCpu(attune_session &s) {
  int threads = s.pool->numThreads();
  for (PreparedLaunch &p : s.launches) {
    if (p.grid == 0)
      continue;
    // Guided self-scheduling: a thread takes 1/(2*threads) of what is left,
    // at least minChunk items. Large chunks first keep the per-call overhead
    // low; the small ones at the end balance uneven items (causal attention's
    // q-tiles grow in cost) and a core that was interrupted. Items are
    // independent, so the split never changes the results.
    const int64_t minChunk = std::max<int64_t>(1, p.grid / (int64_t(threads) * 32));
    std::atomic<int64_t> next{0};
    std::atomic<bool> failed{false};
    std::atomic<int> failedThread{-1};
    std::vector<int> codes(static_cast<size_t>(threads), ATTUNE_KERNEL_OK);
    auto task = [&](int t) {
      attune_kernel_ctx ctx;
      ctx.thread_index = t;
      ctx.num_threads = threads;
      ctx.error = s.errors[static_cast<size_t>(t)].data();
      ctx.error_capacity = kErrorCapacity;
      ctx.error[0] = '\0';
      while (!failed.load(std::memory_order_relaxed)) {
        int64_t begin = next.load(std::memory_order_relaxed), end = 0;
        do {
          if (begin >= p.grid)
            break;
          int64_t chunk = std::max<int64_t>(
              minChunk, (p.grid - begin) / (int64_t(threads) * 2));
          end = std::min(begin + chunk, p.grid);
        } while (!next.compare_exchange_weak(begin, end, std::memory_order_relaxed));
        if (begin >= p.grid)
          break;
        int rc = p.kernel(&p.args, &ctx, begin, end);
        if (rc != ATTUNE_KERNEL_OK) {
          codes[static_cast<size_t>(t)] = rc;
          int expected = -1;
          failedThread.compare_exchange_strong(expected, t);
          failed.store(true);
          break;
        }
      }
    };
    if (p.grid == 1 || threads == 1)
      task(0);
    else
      s.pool->run(task);
    if (failed.load()) {
      int t = failedThread.load();
      int rc = codes[static_cast<size_t>(t)];
      char *msg = s.errors[static_cast<size_t>(t)].data();
      msg[kErrorCapacity - 1] = '\0';
      std::string text = *p.where + ": " +
                         (msg[0] ? std::string(msg)
                                 : *p.kernelName + " failed without a message");
      if (rc == ATTUNE_KERNEL_INVALID_ARGUMENT)
        return attune::invalidArgument(text);
      if (rc == ATTUNE_KERNEL_OUT_OF_RANGE)
        return attune::outOfRange(text);
      if (rc == ATTUNE_KERNEL_INTERNAL)
        return attune::internalError(text);
      return attune::internalError(text + " (unknown kernel status " +
                                   std::to_string(rc) + ")");
    }
  }
  return Status::ok();
}

/// The host copies of the arguments to copy to the device (null: the
/// device copy is current).
static std::vector<const void *> pendingUploads(const attune_session &s) {
  std::vector<const void *> uploads(s.arguments.size(), nullptr);
  for (size_t i = 0; i < uploads.size(); ++i)
    if (s.dirty[i])
      uploads[i] = s.arguments[i].data();
  return uploads;
}

static std::vector<void *> resultPointers(attune_session &s) {
  std::vector<void *> out;
  for (auto &r : s.results)
    out.push_back(r.data());
  return out;
}

static Status runSession(attune_session &s) {
  ATTUNE_RETURN_IF_ERROR(checkBound(s));
  s.haveResults = false;
  if (s.cuda) {
    ATTUNE_RETURN_IF_ERROR(s.cuda->run(pendingUploads(s), resultPointers(s)));
    s.dirty.assign(s.dirty.size(), false);
  } else {
    ATTUNE_RETURN_IF_ERROR(runCpu(s));
  }
  s.haveResults = true;
  return Status::ok();
}

/// `iterations` runs with the bound inputs, one time per run in `ms`: on
/// cuda, device time between CUDA events (inputs copied before the first
/// run, results after the last); on cpu, the steady clock around each run.
static Status timeSession(attune_session &s, uint32_t iterations,
                          std::vector<double> &ms) {
  ATTUNE_RETURN_IF_ERROR(checkBound(s));
  if (iterations == 0)
    return attune::invalidArgument("iterations is 0; expected at least 1");
  s.haveResults = false;
  ms.clear();
  if (s.cuda) {
    ATTUNE_RETURN_IF_ERROR(
        s.cuda->timeRuns(pendingUploads(s), iterations, resultPointers(s), ms));
    s.dirty.assign(s.dirty.size(), false);
  } else {
    for (uint32_t i = 0; i < iterations; ++i) {
      auto t0 = std::chrono::steady_clock::now();
      ATTUNE_RETURN_IF_ERROR(runCpu(s));
      auto t1 = std::chrono::steady_clock::now();
      ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
    }
  }
  s.haveResults = true;
  return Status::ok();
}

static std::string argumentList(const art::FunctionDesc &f) {
  std::string list;
  for (const auto &a : f.arguments)
    list += (list.empty() ? "" : ", ") + a.name + ": " +
            typeString(a.dtype, a.shape);
  return list.empty() ? "none" : list;
}

static Status bindWeights(attune_session &s, const attune::SafeTensors &st,
                          const std::string &source, size_t &bound) {
  const art::FunctionDesc &f = s.fn->desc;
  // Check every match first so that a failure binds nothing.
  std::vector<std::pair<size_t, attune::HostTensor>> matches;
  for (size_t i = 0; i < f.arguments.size(); ++i) {
    const art::TensorDesc &a = f.arguments[i];
    if (!st.contains(a.name))
      continue;
    StatusOr<attune::HostTensor> t = st.get(a.name);
    if (!t)
      return t.status();
    if (t->dtype() != a.dtype || t->shape() != a.shape)
      return attune::invalidArgument("weight '" + a.name + "' from " + source +
                                     ": argument '" + a.name +
                                     "' of function '" + f.name + "' expects " +
                                     typeString(a.dtype, a.shape) + ", got " +
                                     typeString(t->dtype(), t->shape()));
    matches.emplace_back(i, std::move(*t));
  }
  for (auto &[i, t] : matches) {
    if (t.byteSize())
      std::memcpy(s.arguments[i].data(), t.data(), t.byteSize());
    s.bound[i] = true;
    s.dirty[i] = true;
  }
  bound = matches.size();
  return Status::ok();
}

//===----------------------------------------------------------------------===//
// C API
//===----------------------------------------------------------------------===//

extern "C" {

const char *attune_last_error_message(void) { return tLastError.c_str(); }

const char *attune_status_name(attune_status status) {
  switch (status) {
  case ATTUNE_OK:
    return "OK";
  case ATTUNE_INVALID_ARGUMENT:
    return "INVALID_ARGUMENT";
  case ATTUNE_NOT_FOUND:
    return "NOT_FOUND";
  case ATTUNE_OUT_OF_RANGE:
    return "OUT_OF_RANGE";
  case ATTUNE_DATA_LOSS:
    return "DATA_LOSS";
  case ATTUNE_UNIMPLEMENTED:
    return "UNIMPLEMENTED";
  case ATTUNE_INTERNAL:
    return "INTERNAL";
  case ATTUNE_IO_ERROR:
    return "IO_ERROR";
  case ATTUNE_FAILED_PRECONDITION:
    return "FAILED_PRECONDITION";
  }
  return "UNKNOWN";
}

const char *attune_dtype_name(attune_dtype dtype) {
  DType t;
  if (!fromCDType(dtype, t))
    return "?";
  return attune::dtypeName(t).data(); // string literals: NUL-terminated
}

size_t attune_dtype_size(attune_dtype dtype) {
  DType t;
  return fromCDType(dtype, t) ? attune::dtypeSize(t) : 0;
}

uint32_t attune_runtime_kernel_abi_version(void) {
  return ATTUNE_KERNEL_ABI_VERSION;
}

attune_status attune_module_create_from_memory(const void *data, size_t size,
                                               attune_module **out_module) {
  const char *what = "attune_module_create_from_memory";
  ATTUNE_CHECK_ARG(out_module, what, "out_module is NULL");
  ATTUNE_CHECK_ARG(data || size == 0, what, "data is NULL");
  return guarded(what, [&] {
    auto impl = loadModule(static_cast<const uint8_t *>(data), size);
    if (!impl)
      return report(impl.status());
    *out_module = new attune_module{std::move(*impl)};
    return ATTUNE_OK;
  });
}

attune_status attune_module_create_from_file(const char *path,
                                             attune_module **out_module) {
  const char *what = "attune_module_create_from_file";
  ATTUNE_CHECK_ARG(out_module, what, "out_module is NULL");
  ATTUNE_CHECK_ARG(path, what, "path is NULL");
  return guarded(what, [&] {
    StatusOr<std::vector<uint8_t>> bytes = attune::readFileBytes(path);
    if (!bytes)
      return report(bytes.status());
    auto impl = loadModule(bytes->data(), bytes->size());
    if (!impl)
      return report(Status(impl.status().code(),
                           std::string(path) + ": " + impl.status().message()));
    *out_module = new attune_module{std::move(*impl)};
    return ATTUNE_OK;
  });
}

void attune_module_destroy(attune_module *module) { delete module; }

const char *attune_module_describe(const attune_module *module) {
  return module ? module->impl->description.c_str() : "";
}

size_t attune_module_function_count(const attune_module *module) {
  return module ? module->impl->functions.size() : 0;
}

attune_status attune_module_function(const attune_module *module, size_t index,
                                     const attune_function **out_function) {
  const char *what = "attune_module_function";
  ATTUNE_CHECK_ARG(module && out_function, what,
                   "module and out_function must not be NULL");
  size_t n = module->impl->functions.size();
  if (index >= n)
    return fail(ATTUNE_OUT_OF_RANGE, "function index " + std::to_string(index) +
                                         " is out of range; the module has " +
                                         std::to_string(n) + " functions");
  *out_function = module->impl->functions[index].get();
  return ATTUNE_OK;
}

static std::string functionList(const ModuleImpl &m) {
  std::string list;
  for (const auto &f : m.functions)
    list += (list.empty() ? "'" : ", '") + f->desc.name + "'";
  return list.empty() ? "no functions" : list;
}

attune_status
attune_module_find_function(const attune_module *module, const char *name,
                            const attune_function **out_function) {
  const char *what = "attune_module_find_function";
  ATTUNE_CHECK_ARG(module && name && out_function, what,
                   "module, name and out_function must not be NULL");
  return guarded(what, [&] {
    for (const auto &f : module->impl->functions)
      if (f->desc.name == name) {
        *out_function = f.get();
        return ATTUNE_OK;
      }
    return fail(ATTUNE_NOT_FOUND, "the module has no function '" +
                                      std::string(name) + "'; it has " +
                                      functionList(*module->impl));
  });
}

const char *attune_function_name(const attune_function *function) {
  return function ? function->desc.name.c_str() : "";
}

size_t attune_function_argument_count(const attune_function *function) {
  return function ? function->desc.arguments.size() : 0;
}

size_t attune_function_result_count(const attune_function *function) {
  return function ? function->desc.results.size() : 0;
}

static attune_status tensorInfo(const attune_function *function, size_t index,
                                attune_tensor_info *out, bool argument) {
  const char *what =
      argument ? "attune_function_argument" : "attune_function_result";
  ATTUNE_CHECK_ARG(function && out, what,
                   "function and out_info must not be NULL");
  const auto &list =
      argument ? function->desc.arguments : function->desc.results;
  if (index >= list.size())
    return fail(ATTUNE_OUT_OF_RANGE,
                std::string(argument ? "argument" : "result") + " index " +
                    std::to_string(index) + " is out of range; function '" +
                    function->desc.name + "' has " +
                    std::to_string(list.size()));
  const art::TensorDesc &t = list[index];
  out->name = t.name.c_str();
  out->dtype = toCDType(t.dtype);
  out->rank = t.shape.size();
  out->shape = t.shape.data();
  out->byte_size = static_cast<size_t>(argument ? function->argumentBytes[index]
                                                : function->resultBytes[index]);
  return ATTUNE_OK;
}

attune_status attune_function_argument(const attune_function *function,
                                       size_t index,
                                       attune_tensor_info *out_info) {
  return tensorInfo(function, index, out_info, true);
}

attune_status attune_function_result(const attune_function *function,
                                     size_t index,
                                     attune_tensor_info *out_info) {
  return tensorInfo(function, index, out_info, false);
}

void attune_session_options_init(attune_session_options *options) {
  if (options) {
    options->num_threads = 0;
    options->device = ATTUNE_DEVICE_CPU;
    options->cuda_device = 0;
  }
}

attune_status attune_cuda_probe(int *out_device_count) {
  return guarded("attune_cuda_probe", [&] {
    StatusOr<int> n = cuda::probe();
    if (!n)
      return report(n.status());
    if (out_device_count)
      *out_device_count = *n;
    return ATTUNE_OK;
  });
}

/// Whether the module has code for `device` where the function needs it.
static Status checkTarget(const ModuleImpl &m, const attune_function &fn,
                          attune_device device) {
  std::string compiled;
  for (const auto &t : m.desc.targets)
    compiled += (compiled.empty() ? "" : " and ") + t;
  if (compiled.empty())
    compiled = "no target";
  if (device == ATTUNE_DEVICE_CUDA) {
    if (!m.cuda)
      return attune::unimplemented(
          "module was compiled for " + compiled +
          "; it has no cuda code (compile with --target=cuda:sm_XY for the "
          "GPU's architecture, e.g. --target=cuda:sm_80)");
    return cuda::checkGpuSteps(fn.desc);
  }
  // A function without launches runs anywhere.
  if (!m.cpu && !fn.desc.launches.empty())
    return attune::unimplemented(
        "module was compiled for " + compiled +
        "; it has no cpu code (compile with --target=cpu, or create the "
        "session on the cuda device)");
  return Status::ok();
}

attune_status attune_session_create(attune_module *module,
                                    const char *function_name,
                                    const attune_session_options *options,
                                    attune_session **out_session) {
  const char *what = "attune_session_create";
  ATTUNE_CHECK_ARG(module && out_session, what,
                   "module and out_session must not be NULL");
  return guarded(what, [&] {
    const ModuleImpl &m = *module->impl;
    const attune_function *fn = nullptr;
    if (function_name) {
      for (const auto &f : m.functions)
        if (f->desc.name == function_name)
          fn = f.get();
      if (!fn)
        return fail(ATTUNE_NOT_FOUND, "the module has no function '" +
                                          std::string(function_name) +
                                          "'; it has " + functionList(m));
    } else {
      if (m.functions.size() != 1)
        return fail(ATTUNE_INVALID_ARGUMENT,
                    "no function named and the module has " +
                        std::to_string(m.functions.size()) + " functions (" +
                        functionList(m) + "); expected exactly one or a name");
      fn = m.functions[0].get();
    }
    uint32_t threads = options ? options->num_threads : 0;
    if (threads == 0)
      threads = std::max(1u, std::thread::hardware_concurrency());
    if (threads > 1024)
      return fail(ATTUNE_INVALID_ARGUMENT,
                  "num_threads is " + std::to_string(threads) +
                      "; expected 0 (all hardware threads) to 1024");
    attune_device device = options ? options->device : ATTUNE_DEVICE_CPU;
    int32_t ordinal = options ? options->cuda_device : 0;
    if (device != ATTUNE_DEVICE_CPU && device != ATTUNE_DEVICE_CUDA)
      return fail(ATTUNE_INVALID_ARGUMENT,
                  "device is " + std::to_string(static_cast<int>(device)) +
                      "; expected ATTUNE_DEVICE_CPU (0) or ATTUNE_DEVICE_CUDA "
                      "(1)");
    if (device == ATTUNE_DEVICE_CUDA && ordinal < 0)
      return fail(ATTUNE_INVALID_ARGUMENT,
                  "cuda_device is " + std::to_string(ordinal) +
                      "; expected a device ordinal >= 0");
    if (Status t = checkTarget(m, *fn, device); !t)
      return report(t);
    auto s = std::make_unique<attune_session>();
    s->module = module->impl;
    s->fn = fn;
    s->device = device;
    s->cudaOrdinal = ordinal;
    Status st = prepareSession(*s);
    if (!st)
      return report(st);
    if (device == ATTUNE_DEVICE_CPU) {
      s->errors.assign(threads, std::vector<char>(kErrorCapacity, '\0'));
      s->pool = std::make_unique<dev::ThreadPool>(static_cast<int>(threads));
    }
    *out_session = s.release();
    return ATTUNE_OK;
  });
}

void attune_session_destroy(attune_session *session) { delete session; }

const attune_function *attune_session_function(const attune_session *session) {
  return session ? session->fn : nullptr;
}

attune_status attune_session_bind_weights_memory(attune_session *session,
                                                 const void *data, size_t size,
                                                 size_t *out_bound) {
  const char *what = "attune_session_bind_weights_memory";
  ATTUNE_CHECK_ARG(session, what, "session is NULL");
  ATTUNE_CHECK_ARG(data || size == 0, what, "data is NULL");
  return guarded(what, [&] {
    const uint8_t *p = static_cast<const uint8_t *>(data);
    StatusOr<attune::SafeTensors> st =
        attune::SafeTensors::parse(std::vector<uint8_t>(p, p + size));
    if (!st)
      return report(st.status());
    size_t bound = 0;
    attune_status rc =
        report(bindWeights(*session, *st, "safetensors in memory", bound));
    if (rc == ATTUNE_OK && out_bound)
      *out_bound = bound;
    return rc;
  });
}

attune_status attune_session_bind_weights_file(attune_session *session,
                                               const char *path,
                                               size_t *out_bound) {
  const char *what = "attune_session_bind_weights_file";
  ATTUNE_CHECK_ARG(session && path, what, "session and path must not be NULL");
  return guarded(what, [&] {
    StatusOr<attune::SafeTensors> st = attune::SafeTensors::read(path);
    if (!st)
      return report(st.status());
    size_t bound = 0;
    attune_status rc = report(
        bindWeights(*session, *st, "'" + std::string(path) + "'", bound));
    if (rc == ATTUNE_OK && out_bound)
      *out_bound = bound;
    return rc;
  });
}

attune_status attune_session_set_input(attune_session *session,
                                       const char *name, attune_dtype dtype,
                                       const int64_t *shape, size_t rank,
                                       const void *data, size_t byte_size) {
  const char *what = "attune_session_set_input";
  ATTUNE_CHECK_ARG(session && name, what, "session and name must not be NULL");
  ATTUNE_CHECK_ARG(shape || rank == 0, what, "shape is NULL but rank is not 0");
  ATTUNE_CHECK_ARG(data || byte_size == 0, what,
                   "data is NULL but byte_size is not 0");
  return guarded(what, [&] {
    const art::FunctionDesc &f = session->fn->desc;
    size_t idx = f.arguments.size();
    for (size_t i = 0; i < f.arguments.size(); ++i)
      if (f.arguments[i].name == name)
        idx = i;
    if (idx == f.arguments.size())
      return fail(ATTUNE_NOT_FOUND,
                  "function '" + f.name + "' has no argument '" + name +
                      "'; its arguments are " + argumentList(f));
    const art::TensorDesc &a = f.arguments[idx];
    std::string expects = "argument '" + a.name + "' of function '" + f.name +
                          "' expects " + typeString(a.dtype, a.shape);
    DType t;
    if (!fromCDType(dtype, t))
      return fail(ATTUNE_INVALID_ARGUMENT,
                  expects + ", got invalid dtype code " +
                      std::to_string(static_cast<int>(dtype)));
    std::vector<int64_t> got(shape, shape + rank);
    if (t != a.dtype)
      return fail(ATTUNE_INVALID_ARGUMENT,
                  expects + ", got dtype " + std::string(attune::dtypeName(t)) +
                      " (" + typeString(t, got) + ")");
    if (got.size() != a.shape.size())
      return fail(ATTUNE_INVALID_ARGUMENT,
                  expects + " (rank " + std::to_string(a.shape.size()) +
                      "), got rank " + std::to_string(got.size()) + " (" +
                      typeString(t, got) + ")");
    if (got != a.shape)
      return fail(ATTUNE_INVALID_ARGUMENT,
                  expects + ", got shape " + attune::shapeToString(got));
    uint64_t bytes = session->fn->argumentBytes[idx];
    if (byte_size != bytes)
      return fail(ATTUNE_INVALID_ARGUMENT,
                  expects + " (" + std::to_string(bytes) + " bytes), got " +
                      std::to_string(byte_size) + " bytes");
    if (bytes)
      std::memcpy(session->arguments[idx].data(), data, bytes);
    session->bound[idx] = true;
    session->dirty[idx] = true;
    return ATTUNE_OK;
  });
}

int attune_session_argument_bound(const attune_session *session, size_t index) {
  return session && index < session->bound.size() && session->bound[index];
}

attune_status attune_session_run(attune_session *session) {
  const char *what = "attune_session_run";
  ATTUNE_CHECK_ARG(session, what, "session is NULL");
  return guarded(what, [&] { return report(runSession(*session)); });
}

attune_status attune_session_time_runs(attune_session *session,
                                       uint32_t iterations,
                                       double *out_median_ms,
                                       double *out_min_ms) {
  const char *what = "attune_session_time_runs";
  ATTUNE_CHECK_ARG(session, what, "session is NULL");
  ATTUNE_CHECK_ARG(iterations > 0, what,
                   "iterations is 0; expected at least 1");
  return guarded(what, [&] {
    std::vector<double> ms;
    attune_status rc = report(timeSession(*session, iterations, ms));
    if (rc != ATTUNE_OK)
      return rc;
    if (ms.empty())
      return fail(ATTUNE_INTERNAL, std::string(what) + ": no run was timed");
    std::sort(ms.begin(), ms.end());
    size_t n = ms.size();
    double median = n % 2 ? ms[n / 2] : 0.5 * (ms[n / 2 - 1] + ms[n / 2]);
    if (out_median_ms)
      *out_median_ms = median;
    if (out_min_ms)
      *out_min_ms = ms.front();
    return ATTUNE_OK;
  });
}

size_t attune_session_result_count(const attune_session *session) {
  return session ? session->fn->desc.results.size() : 0;
}

attune_status attune_session_find_result(const attune_session *session,
                                         const char *name, size_t *out_index) {
  const char *what = "attune_session_find_result";
  ATTUNE_CHECK_ARG(session && name && out_index, what,
                   "session, name and out_index must not be NULL");
  return guarded(what, [&] {
    const art::FunctionDesc &f = session->fn->desc;
    for (size_t i = 0; i < f.results.size(); ++i)
      if (f.results[i].name == name) {
        *out_index = i;
        return ATTUNE_OK;
      }
    std::string list;
    for (const auto &r : f.results)
      list += (list.empty() ? "'" : ", '") + r.name + "'";
    return fail(ATTUNE_NOT_FOUND, "function '" + f.name + "' has no result '" +
                                      name + "'; its results are " +
                                      (list.empty() ? "none" : list));
  });
}

static attune_status checkResult(const attune_session *session, size_t index,
                                 const char *what) {
  const art::FunctionDesc &f = session->fn->desc;
  if (index >= f.results.size())
    return fail(ATTUNE_OUT_OF_RANGE,
                std::string(what) + ": result index " + std::to_string(index) +
                    " is out of range; function '" + f.name + "' has " +
                    std::to_string(f.results.size()) + " results");
  if (!session->haveResults)
    return fail(ATTUNE_FAILED_PRECONDITION,
                std::string(what) + ": function '" + f.name +
                    "' has no results: expected a successful "
                    "attune_session_run first");
  return ATTUNE_OK;
}

attune_status attune_session_result(const attune_session *session, size_t index,
                                    attune_tensor_view *out_view) {
  const char *what = "attune_session_result";
  ATTUNE_CHECK_ARG(session && out_view, what,
                   "session and out_view must not be NULL");
  attune_status rc = checkResult(session, index, what);
  if (rc != ATTUNE_OK)
    return rc;
  const art::TensorDesc &t = session->fn->desc.results[index];
  out_view->name = t.name.c_str();
  out_view->dtype = toCDType(t.dtype);
  out_view->rank = t.shape.size();
  out_view->shape = t.shape.data();
  out_view->data = session->results[index].data();
  out_view->byte_size = static_cast<size_t>(session->fn->resultBytes[index]);
  return ATTUNE_OK;
}

attune_status attune_session_copy_result(const attune_session *session,
                                         size_t index, void *dst,
                                         size_t byte_size) {
  const char *what = "attune_session_copy_result";
  ATTUNE_CHECK_ARG(session, what, "session is NULL");
  attune_status rc = checkResult(session, index, what);
  if (rc != ATTUNE_OK)
    return rc;
  uint64_t bytes = session->fn->resultBytes[index];
  const art::TensorDesc &t = session->fn->desc.results[index];
  if (byte_size < bytes)
    return fail(ATTUNE_INVALID_ARGUMENT,
                std::string(what) + ": result '" + t.name + "' (" +
                    typeString(t.dtype, t.shape) + ") needs " +
                    std::to_string(bytes) + " bytes, got a buffer of " +
                    std::to_string(byte_size));
  ATTUNE_CHECK_ARG(dst || bytes == 0, what, "dst is NULL");
  if (bytes)
    std::memcpy(dst, session->results[index].data(), bytes);
  return ATTUNE_OK;
}

} // extern "C"
