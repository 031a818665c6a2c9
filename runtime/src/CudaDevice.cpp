//===- CudaDevice.cpp - Running compiled modules on a CUDA GPU ------------===//

#include "CudaDevice.h"

#include "CudaDriver.h"
#include "attune/abi/GpuABI.h"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <initializer_list>
#include <map>
#include <mutex>
#include <type_traits>

namespace attune::cuda_device {

using namespace driver;

static_assert(sizeof(attune_gpu_error_record) == 64,
              "GpuABI.h: the error record is 64 bytes");

//===----------------------------------------------------------------------===//
// The driver
//===----------------------------------------------------------------------===//

namespace {

/// libcuda.so.1, its entry points and the outcome of cuInit; loaded once.
struct Driver {
  void *handle = nullptr;
  Status status; // ok when the driver can be used
  int deviceCount = 0;
  int version = 0; // cuDriverGetVersion, e.g. 12040; 0 when unknown

  PFN_cuGetErrorName getErrorName = nullptr;
  PFN_cuGetErrorString getErrorString = nullptr;
  PFN_cuInit init = nullptr;
  PFN_cuDriverGetVersion driverGetVersion = nullptr;
  PFN_cuDeviceGetCount deviceGetCount = nullptr;
  PFN_cuDeviceGet deviceGet = nullptr;
  PFN_cuDeviceGetName deviceGetName = nullptr;
  PFN_cuDeviceGetAttribute deviceGetAttribute = nullptr;
  PFN_cuDevicePrimaryCtxRetain primaryCtxRetain = nullptr;
  PFN_cuDevicePrimaryCtxRelease primaryCtxRelease = nullptr;
  PFN_cuCtxPushCurrent ctxPushCurrent = nullptr;
  PFN_cuCtxPopCurrent ctxPopCurrent = nullptr;
  PFN_cuModuleLoadData moduleLoadData = nullptr;
  PFN_cuModuleLoadDataEx moduleLoadDataEx = nullptr;
  PFN_cuModuleUnload moduleUnload = nullptr;
  PFN_cuModuleGetFunction moduleGetFunction = nullptr;
  PFN_cuFuncGetAttribute funcGetAttribute = nullptr;
  PFN_cuFuncSetAttribute funcSetAttribute = nullptr;
  PFN_cuMemAlloc memAlloc = nullptr;
  PFN_cuMemFree memFree = nullptr;
  PFN_cuMemcpyHtoD memcpyHtoD = nullptr;
  PFN_cuMemcpyHtoDAsync memcpyHtoDAsync = nullptr;
  PFN_cuMemcpyDtoHAsync memcpyDtoHAsync = nullptr;
  PFN_cuMemsetD8 memsetD8 = nullptr;
  PFN_cuMemsetD8Async memsetD8Async = nullptr;
  PFN_cuStreamCreate streamCreate = nullptr;
  PFN_cuStreamDestroy streamDestroy = nullptr;
  PFN_cuStreamSynchronize streamSynchronize = nullptr;
  PFN_cuLaunchKernel launchKernel = nullptr;
  PFN_cuEventCreate eventCreate = nullptr;
  PFN_cuEventRecord eventRecord = nullptr;
  PFN_cuEventSynchronize eventSynchronize = nullptr;
  PFN_cuEventElapsedTime eventElapsedTime = nullptr;
  PFN_cuEventDestroy eventDestroy = nullptr;
  // Optional: without them sessions launch step by step.
  PFN_cuStreamBeginCapture streamBeginCapture = nullptr;
  PFN_cuStreamEndCapture streamEndCapture = nullptr;
  PFN_cuGraphInstantiateWithFlags graphInstantiateWithFlags = nullptr;
  PFN_cuGraphInstantiateLegacy graphInstantiateLegacy = nullptr;
  PFN_cuGraphLaunch graphLaunch = nullptr;
  PFN_cuGraphExecDestroy graphExecDestroy = nullptr;
  PFN_cuGraphDestroy graphDestroy = nullptr;

  bool hasGraphs() const {
    return streamBeginCapture && streamEndCapture &&
           (graphInstantiateWithFlags || graphInstantiateLegacy) &&
           graphLaunch && graphExecDestroy && graphDestroy;
  }
};

/// Names and strings of the errors a probe reports, for drivers whose
/// cuGetErrorName/cuGetErrorString cannot answer (e.g. the stub library).
struct KnownError {
  CUresult code;
  const char *name, *text;
};
const KnownError kKnownErrors[] = {
    {CUDA_ERROR_INVALID_VALUE, "CUDA_ERROR_INVALID_VALUE", "invalid argument"},
    {CUDA_ERROR_OUT_OF_MEMORY, "CUDA_ERROR_OUT_OF_MEMORY", "out of memory"},
    {CUDA_ERROR_NOT_INITIALIZED, "CUDA_ERROR_NOT_INITIALIZED",
     "initialization error"},
    {CUDA_ERROR_STUB_LIBRARY, "CUDA_ERROR_STUB_LIBRARY",
     "CUDA driver is a stub library"},
    {CUDA_ERROR_NO_DEVICE, "CUDA_ERROR_NO_DEVICE",
     "no CUDA-capable device is detected"},
    {CUDA_ERROR_INVALID_DEVICE, "CUDA_ERROR_INVALID_DEVICE",
     "invalid device ordinal"},
    {CUDA_ERROR_UNKNOWN, "CUDA_ERROR_UNKNOWN", "unknown error"},
};

/// `s` with line breaks and tabs turned into spaces and trailing blanks cut.
std::string oneLine(std::string s) {
  for (char &c : s)
    if (c == '\n' || c == '\r' || c == '\t')
      c = ' ';
  while (!s.empty() && s.back() == ' ')
    s.pop_back();
  return s;
}

/// "CUDA_ERROR_NO_DEVICE (100: no CUDA-capable device is detected)".
std::string errorText(const Driver &d, CUresult r) {
  const char *name = nullptr, *text = nullptr;
  if (d.getErrorName && d.getErrorName(r, &name) != CUDA_SUCCESS)
    name = nullptr;
  if (d.getErrorString && d.getErrorString(r, &text) != CUDA_SUCCESS)
    text = nullptr;
  for (const KnownError &k : kKnownErrors)
    if (k.code == r) {
      if (!name || !*name)
        name = k.name;
      if (!text || !*text)
        text = k.text;
    }
  std::string s = name && *name ? name : "CUDA error";
  s += " (" + std::to_string(r);
  if (text && *text)
    s += ": " + oneLine(text);
  return s + ")";
}

std::string versionText(int v) {
  return std::to_string(v / 1000) + "." + std::to_string(v % 1000 / 10);
}

const Driver &loadDriver() {
  // Never freed: modules destroyed during exit may still call the driver.
  static const Driver *loaded = [] {
    auto *d = new Driver();
    const char *lib = "libcuda.so.1";
    dlerror();
    d->handle = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
    if (!d->handle) {
      const char *e = dlerror();
      std::string why = oneLine(e ? e : "dlopen failed");
      // dlerror() usually starts with the file name already.
      std::string prefix = std::string(lib) + ": ";
      if (why.compare(0, prefix.size(), prefix) == 0)
        why = why.substr(prefix.size());
      d->status = notFound("CUDA driver not found (" + std::string(lib) + ": " +
                           why + ")");
      return d;
    }
    auto sym = [&](const char *name) { return dlsym(d->handle, name); };
    std::string missing;
    // The first name the driver exports wins; `required` ones are listed
    // when none is found.
    auto resolve = [&](auto &fn, std::initializer_list<const char *> names,
                       bool required) {
      for (const char *n : names)
        if (void *p = sym(n)) {
          fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(p);
          return;
        }
      if (required)
        missing += (missing.empty() ? "" : ", ") + std::string(*names.begin());
    };
    resolve(d->getErrorName, {"cuGetErrorName"}, false);
    resolve(d->getErrorString, {"cuGetErrorString"}, false);
    resolve(d->driverGetVersion, {"cuDriverGetVersion"}, false);
    resolve(d->init, {"cuInit"}, true);
    if (!d->init) {
      d->status = notFound("CUDA driver not usable: " + std::string(lib) +
                           " has no cuInit (expected the NVIDIA driver "
                           "library)");
      return d;
    }
    if (d->driverGetVersion && d->driverGetVersion(&d->version) != 0)
      d->version = 0;
    std::string driverName =
        std::string(lib) +
        (d->version ? ", CUDA " + versionText(d->version) : std::string());
    CUresult r = d->init(0);
    if (r != CUDA_SUCCESS) {
      std::string msg = "CUDA driver initialization failed: cuInit returned " +
                        errorText(*d, r);
      if (r == CUDA_ERROR_STUB_LIBRARY)
        msg += "; " + std::string(lib) +
               " is the CUDA toolkit's stub library, not an installed NVIDIA "
               "driver";
      else if (r == CUDA_ERROR_NO_DEVICE)
        msg += "; no GPU is visible to this process (check the NVIDIA driver "
               "and CUDA_VISIBLE_DEVICES)";
      d->status = r == CUDA_ERROR_STUB_LIBRARY || r == CUDA_ERROR_NO_DEVICE
                      ? notFound(msg)
                      : internalError(msg);
      return d;
    }
    resolve(d->deviceGetCount, {"cuDeviceGetCount"}, true);
    resolve(d->deviceGet, {"cuDeviceGet"}, true);
    resolve(d->deviceGetName, {"cuDeviceGetName"}, true);
    resolve(d->deviceGetAttribute, {"cuDeviceGetAttribute"}, true);
    resolve(d->primaryCtxRetain, {"cuDevicePrimaryCtxRetain"}, true);
    resolve(d->primaryCtxRelease,
            {"cuDevicePrimaryCtxRelease_v2", "cuDevicePrimaryCtxRelease"},
            true);
    resolve(d->ctxPushCurrent, {"cuCtxPushCurrent_v2"}, true);
    resolve(d->ctxPopCurrent, {"cuCtxPopCurrent_v2"}, true);
    resolve(d->moduleLoadData, {"cuModuleLoadData"}, true);
    resolve(d->moduleLoadDataEx, {"cuModuleLoadDataEx"}, true);
    resolve(d->moduleUnload, {"cuModuleUnload"}, true);
    resolve(d->moduleGetFunction, {"cuModuleGetFunction"}, true);
    resolve(d->funcGetAttribute, {"cuFuncGetAttribute"}, true);
    resolve(d->funcSetAttribute, {"cuFuncSetAttribute"}, true);
    resolve(d->memAlloc, {"cuMemAlloc_v2"}, true);
    resolve(d->memFree, {"cuMemFree_v2"}, true);
    resolve(d->memcpyHtoD, {"cuMemcpyHtoD_v2"}, true);
    resolve(d->memcpyHtoDAsync, {"cuMemcpyHtoDAsync_v2"}, true);
    resolve(d->memcpyDtoHAsync, {"cuMemcpyDtoHAsync_v2"}, true);
    resolve(d->memsetD8, {"cuMemsetD8_v2"}, true);
    resolve(d->memsetD8Async, {"cuMemsetD8Async"}, true);
    resolve(d->streamCreate, {"cuStreamCreate"}, true);
    resolve(d->streamDestroy, {"cuStreamDestroy_v2"}, true);
    resolve(d->streamSynchronize, {"cuStreamSynchronize"}, true);
    resolve(d->launchKernel, {"cuLaunchKernel"}, true);
    resolve(d->eventCreate, {"cuEventCreate"}, true);
    resolve(d->eventRecord, {"cuEventRecord"}, true);
    resolve(d->eventSynchronize, {"cuEventSynchronize"}, true);
    resolve(d->eventElapsedTime,
            {"cuEventElapsedTime_v2", "cuEventElapsedTime"}, true);
    resolve(d->eventDestroy, {"cuEventDestroy_v2"}, true);
    resolve(d->streamBeginCapture, {"cuStreamBeginCapture_v2"}, false);
    resolve(d->streamEndCapture, {"cuStreamEndCapture"}, false);
    resolve(d->graphInstantiateWithFlags, {"cuGraphInstantiateWithFlags"},
            false);
    resolve(d->graphInstantiateLegacy,
            {"cuGraphInstantiate_v2", "cuGraphInstantiate"}, false);
    resolve(d->graphLaunch, {"cuGraphLaunch"}, false);
    resolve(d->graphExecDestroy, {"cuGraphExecDestroy"}, false);
    resolve(d->graphDestroy, {"cuGraphDestroy"}, false);
    if (!missing.empty()) {
      d->status = unimplemented("CUDA driver (" + driverName +
                                ") lacks the entry points " + missing +
                                "; this runtime needs a newer NVIDIA driver");
      return d;
    }
    int count = 0;
    r = d->deviceGetCount(&count);
    if (r != CUDA_SUCCESS) {
      d->status = internalError("CUDA driver (" + driverName +
                                ") cannot count devices: cuDeviceGetCount "
                                "returned " +
                                errorText(*d, r));
      return d;
    }
    if (count <= 0) {
      d->status = notFound("CUDA driver found (" + driverName +
                           ") but it reports no CUDA devices");
      return d;
    }
    d->deviceCount = count;
    return d;
  }();
  return *loaded;
}

/// Pushes a context for the lifetime of the scope.
class ContextScope {
public:
  ContextScope(const Driver &d, CUcontext c) : d_(d) {
    result_ = d.ctxPushCurrent(c);
  }
  ~ContextScope() {
    if (result_ == CUDA_SUCCESS) {
      CUcontext popped = nullptr;
      d_.ctxPopCurrent(&popped);
    }
  }
  ContextScope(const ContextScope &) = delete;
  ContextScope &operator=(const ContextScope &) = delete;
  CUresult result() const { return result_; }

private:
  const Driver &d_;
  CUresult result_;
};

/// Errors after which the context cannot run anything again.
bool isSticky(CUresult r) {
  return r == CUDA_ERROR_ILLEGAL_ADDRESS || r == CUDA_ERROR_LAUNCH_TIMEOUT ||
         (r >= CUDA_ERROR_HARDWARE_STACK_ERROR &&
          r <= CUDA_ERROR_LAUNCH_FAILED);
}

std::string dims(const uint32_t d[3]) {
  return std::to_string(d[0]) + "x" + std::to_string(d[1]) + "x" +
         std::to_string(d[2]);
}

} // namespace

StatusOr<int> probe() {
  const Driver &d = loadDriver();
  if (!d.status)
    return d.status;
  return d.deviceCount;
}

int selectCubin(const std::vector<uint32_t> &archs, int major, int minor) {
  if (major < 0 || minor < 0 || minor > 9)
    return -1;
  const uint32_t device = static_cast<uint32_t>(major * 10 + minor);
  int exact = -1, best = -1;
  uint32_t bestSm = 0;
  for (size_t i = 0; i < archs.size(); ++i) {
    uint32_t sm = archs[i] / 10;
    bool specific = archs[i] % 10 == 1;
    if (specific) {
      // sm_XYa runs on compute capability X.Y only.
      if (sm == device)
        exact = static_cast<int>(i);
      continue;
    }
    // sm_XY runs on X.Z for Z >= Y.
    if (sm / 10 == static_cast<uint32_t>(major) && sm <= device &&
        (best < 0 || sm > bestSm)) {
      best = static_cast<int>(i);
      bestSm = sm;
    }
  }
  return exact >= 0 ? exact : best;
}

std::string launchName(const artifact::FunctionDesc &f, size_t launch) {
  const artifact::LaunchDesc &l = f.launches[launch];
  std::string s = "launch #" + std::to_string(launch);
  if (!l.op.empty())
    s += " (" + l.op + (l.location.empty() ? "" : " at " + l.location) + ")";
  return s + " of function '" + f.name + "'";
}

Status checkGpuSteps(const artifact::FunctionDesc &f) {
  for (size_t i = 0; i < f.launches.size(); ++i)
    if (f.launches[i].gpu.empty())
      return invalidArgument(launchName(f, i) +
                             " has no GPU steps; expected at least one for "
                             "the cuda device (the artifact's cuda code does "
                             "not cover its kernel '" +
                             f.launches[i].kernel + "')");
  return Status::ok();
}

//===----------------------------------------------------------------------===//
// DeviceModule
//===----------------------------------------------------------------------===//

class DeviceModule {
public:
  struct Kernel {
    CUfunction fn = nullptr;
    int maxThreads = 0;
    int staticShared = 0;
    int maxDynamicShared = 0; // the current attribute value
  };

  explicit DeviceModule(const Driver &d) : d(d) {}
  ~DeviceModule();
  DeviceModule(const DeviceModule &) = delete;
  DeviceModule &operator=(const DeviceModule &) = delete;

  /// "CUDA device 0 (NVIDIA H100, compute capability 9.0)".
  std::string deviceText() const {
    return "CUDA device " + std::to_string(ordinal) + " (" + name +
           ", compute capability " + std::to_string(ccMajor) + "." +
           std::to_string(ccMinor) + ")";
  }

  /// The kernel named `kernel`, resolved once (context must be current).
  StatusOr<Kernel> kernel(const std::string &kernel);
  /// Raises the kernel's dynamic shared memory limit to at least `bytes`.
  Status allowDynamicShared(const std::string &kernel, uint32_t bytes);

  const Driver &d;
  int ordinal = 0;
  CUdevice device = 0;
  CUcontext context = nullptr;
  bool retained = false;
  std::string name;
  int ccMajor = 0, ccMinor = 0;
  int maxBlock[3] = {0, 0, 0}, maxGrid[3] = {0, 0, 0};
  int maxSharedOptin = 0;
  CUmodule module = nullptr;
  CUdeviceptr constants = 0;
  uint64_t constantsSize = 0;

private:
  std::mutex mu_;
  std::map<std::string, Kernel> kernels_;
};

DeviceModule::~DeviceModule() {
  if (context) {
    ContextScope scope(d, context);
    if (scope.result() == CUDA_SUCCESS) {
      if (constants)
        d.memFree(constants);
      if (module)
        d.moduleUnload(module);
    }
  }
  if (retained)
    d.primaryCtxRelease(device);
}

StatusOr<DeviceModule::Kernel> DeviceModule::kernel(const std::string &k) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = kernels_.find(k);
  if (it != kernels_.end())
    return it->second;
  Kernel info;
  CUresult r = d.moduleGetFunction(&info.fn, module, k.c_str());
  if (r != CUDA_SUCCESS)
    return notFound("the artifact's CUDA module has no kernel '" + k +
                    "' (cuModuleGetFunction returned " + errorText(d, r) + ")");
  struct {
    CUfunction_attribute attr;
    int *out;
    const char *name;
  } attrs[] = {
      {CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK, &info.maxThreads,
       "CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK"},
      {CU_FUNC_ATTRIBUTE_SHARED_SIZE_BYTES, &info.staticShared,
       "CU_FUNC_ATTRIBUTE_SHARED_SIZE_BYTES"},
      {CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, &info.maxDynamicShared,
       "CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES"},
  };
  for (const auto &a : attrs) {
    r = d.funcGetAttribute(a.out, a.attr, info.fn);
    if (r != CUDA_SUCCESS)
      return internalError("cannot read " + std::string(a.name) +
                           " of kernel '" + k + "' on " + deviceText() + ": " +
                           errorText(d, r));
  }
  kernels_.emplace(k, info);
  return info;
}

Status DeviceModule::allowDynamicShared(const std::string &k, uint32_t bytes) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = kernels_.find(k);
  if (it == kernels_.end())
    return internalError("kernel '" + k +
                         "' was not resolved before its "
                         "shared memory limit was set");
  if (static_cast<int64_t>(bytes) <= it->second.maxDynamicShared)
    return Status::ok();
  CUresult r = d.funcSetAttribute(
      it->second.fn, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
      static_cast<int>(bytes));
  if (r != CUDA_SUCCESS)
    return internalError(
        "cannot raise CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES of "
        "kernel '" +
        k + "' to " + std::to_string(bytes) + " bytes on " + deviceText() +
        ": " + errorText(d, r));
  it->second.maxDynamicShared = static_cast<int>(bytes);
  return Status::ok();
}

static std::string archList(const std::vector<artifact::GpuBinary> &cubins) {
  std::string s;
  for (const auto &c : cubins)
    s += (s.empty() ? "" : ", ") + artifact::cubinArchName(c.arch);
  return s;
}

/// Loads the PTX with the JIT; the error carries the JIT's log.
static Status loadPtx(DeviceModule &m, const std::vector<uint8_t> &ptx) {
  const Driver &d = m.d;
  std::string text(ptx.begin(), ptx.end()); // c_str() adds the NUL
  std::vector<char> log(16384, '\0');
  CUjit_option options[] = {CU_JIT_ERROR_LOG_BUFFER,
                            CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES};
  void *values[] = {
      log.data(), reinterpret_cast<void *>(static_cast<uintptr_t>(log.size()))};
  CUresult r = d.moduleLoadDataEx(&m.module, text.c_str(), 2, options, values);
  if (r == CUDA_SUCCESS)
    return Status::ok();
  m.module = nullptr;
  log.back() = '\0';
  std::string jitLog = oneLine(log.data());
  std::string hint;
  if (r == CUDA_ERROR_UNSUPPORTED_PTX_VERSION)
    hint =
        "; the NVIDIA driver" +
        (d.version ? " (CUDA " + versionText(d.version) + ")" : std::string()) +
        " is older than the PTX: update it, or compile the module with "
        "a cubin for sm_" +
        std::to_string(m.ccMajor) + std::to_string(m.ccMinor);
  return invalidArgument("cannot JIT-compile the artifact's PTX for " +
                         m.deviceText() + ": " + errorText(d, r) + hint +
                         (jitLog.empty() ? "" : "; JIT log: " + jitLog));
}

StatusOr<std::shared_ptr<DeviceModule>>
loadModule(int ordinal, const std::vector<artifact::GpuBinary> &cubins,
           const std::vector<uint8_t> &ptx, const uint8_t *constants,
           size_t constantsSize) {
  StatusOr<int> count = probe();
  if (!count)
    return count.status();
  if (ordinal < 0 || ordinal >= *count)
    return outOfRange("cuda_device " + std::to_string(ordinal) +
                      " is out of range: the CUDA driver reports " +
                      std::to_string(*count) + " device" +
                      (*count == 1 ? "" : "s") + " (ordinals 0.." +
                      std::to_string(*count - 1) + ")");
  const Driver &d = loadDriver();
  auto m = std::make_shared<DeviceModule>(d);
  m->ordinal = ordinal;
  std::string dev = "CUDA device " + std::to_string(ordinal);
  CUresult r = d.deviceGet(&m->device, ordinal);
  if (r != CUDA_SUCCESS)
    return internalError("cannot open " + dev + ": cuDeviceGet returned " +
                         errorText(d, r));
  char name[256] = {0};
  if (d.deviceGetName(name, sizeof(name) - 1, m->device) == CUDA_SUCCESS)
    m->name = oneLine(name);
  if (m->name.empty())
    m->name = "unnamed";
  struct {
    CUdevice_attribute attr;
    int *out;
    const char *name;
  } attrs[] = {
      {CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, &m->ccMajor,
       "COMPUTE_CAPABILITY_MAJOR"},
      {CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, &m->ccMinor,
       "COMPUTE_CAPABILITY_MINOR"},
      {CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_X, &m->maxBlock[0], "MAX_BLOCK_DIM_X"},
      {CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_Y, &m->maxBlock[1], "MAX_BLOCK_DIM_Y"},
      {CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_Z, &m->maxBlock[2], "MAX_BLOCK_DIM_Z"},
      {CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_X, &m->maxGrid[0], "MAX_GRID_DIM_X"},
      {CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_Y, &m->maxGrid[1], "MAX_GRID_DIM_Y"},
      {CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_Z, &m->maxGrid[2], "MAX_GRID_DIM_Z"},
      {CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN,
       &m->maxSharedOptin, "MAX_SHARED_MEMORY_PER_BLOCK_OPTIN"},
  };
  for (const auto &a : attrs) {
    r = d.deviceGetAttribute(a.out, a.attr, m->device);
    if (r != CUDA_SUCCESS)
      return internalError("cannot read CU_DEVICE_ATTRIBUTE_" +
                           std::string(a.name) + " of " + dev + ": " +
                           errorText(d, r));
  }
  r = d.primaryCtxRetain(&m->context, m->device);
  if (r != CUDA_SUCCESS) {
    m->context = nullptr;
    return internalError("cannot create the CUDA context of " +
                         m->deviceText() + ": " + errorText(d, r));
  }
  m->retained = true;
  ContextScope scope(d, m->context);
  if (scope.result() != CUDA_SUCCESS)
    return internalError("cannot make the CUDA context of " + m->deviceText() +
                         " current: " + errorText(d, scope.result()));

  // The code: the cubin for this compute capability, else the PTX.
  std::vector<uint32_t> archs;
  for (const auto &c : cubins)
    archs.push_back(c.arch);
  int pick = selectCubin(archs, m->ccMajor, m->ccMinor);
  std::string cubinWhy;
  if (pick >= 0) {
    const artifact::GpuBinary &c = cubins[static_cast<size_t>(pick)];
    r = d.moduleLoadData(&m->module, c.bytes.data());
    if (r != CUDA_SUCCESS) {
      m->module = nullptr;
      cubinWhy = "its " + artifact::cubinArchName(c.arch) +
                 " cubin does not load (" + errorText(d, r) + ")";
      if (ptx.empty())
        return invalidArgument("cannot load the artifact's CUDA code on " +
                               m->deviceText() + ": " + cubinWhy +
                               " and it has no PTX to JIT-compile");
    }
  }
  if (!m->module) {
    std::string sm =
        "sm_" + std::to_string(m->ccMajor) + std::to_string(m->ccMinor);
    if (ptx.empty())
      return invalidArgument(
          "the artifact has no CUDA code for " + m->deviceText() +
          ": its cubins are for " +
          (cubins.empty() ? std::string("no architecture") : archList(cubins)) +
          ", none of which runs on compute capability " +
          std::to_string(m->ccMajor) + "." + std::to_string(m->ccMinor) +
          ", and it has no PTX to JIT-compile (compile with "
          "--target=cuda:" +
          sm + ")");
    Status s = loadPtx(*m, ptx);
    if (!s)
      return Status(s.code(),
                    s.message() + (cubinWhy.empty() ? "" : "; " + cubinWhy));
  }

  // The constants, uploaded once for every session on this device.
  m->constantsSize = constantsSize;
  size_t alloc = std::max<size_t>(constantsSize, 64);
  r = d.memAlloc(&m->constants, alloc);
  if (r != CUDA_SUCCESS) {
    m->constants = 0;
    return internalError("cannot allocate " + std::to_string(constantsSize) +
                         " bytes of device memory for the artifact's "
                         "constants on " +
                         m->deviceText() + ": " + errorText(d, r));
  }
  r = constantsSize ? d.memcpyHtoD(m->constants, constants, constantsSize)
                    : d.memsetD8(m->constants, 0, alloc);
  if (r != CUDA_SUCCESS)
    return internalError("cannot copy the artifact's constants (" +
                         std::to_string(constantsSize) + " bytes) to " +
                         m->deviceText() + ": " + errorText(d, r));
  return m;
}

//===----------------------------------------------------------------------===//
// Session
//===----------------------------------------------------------------------===//

namespace {
/// One cuLaunchKernel with its parameters fixed.
struct Step {
  size_t launch = 0, index = 0; // launch in the schedule, step in the launch
  std::string kernelName;
  CUfunction fn = nullptr;
  uint32_t grid[3] = {1, 1, 1}, block[3] = {1, 1, 1};
  uint32_t shared = 0;
  std::vector<CUdeviceptr> pointers; // args..., then the error record
  int64_t launchIndex = 0;
  std::vector<void *> params; // into pointers and launchIndex
};
} // namespace

struct Session::Impl {
  std::shared_ptr<DeviceModule> m;
  const Driver &d;
  std::string function;
  std::vector<std::string> launchNames, argumentNames, resultNames;
  std::vector<uint64_t> argumentBytes, resultBytes;
  CUstream stream = nullptr;
  CUevent start = nullptr, stop = nullptr;
  CUdeviceptr arena = 0, errorRecord = 0;
  std::vector<CUdeviceptr> arguments, results;
  std::vector<Step> steps;
  enum class Graph { Untried, Ready, Unavailable } graph = Graph::Untried;
  std::string graphWhy; // why steps are launched one by one
  CUgraph cuGraph = nullptr;
  CUgraphExec cuGraphExec = nullptr;
  bool blocking = false; // CUDA_LAUNCH_BLOCKING=1
  std::string broken;    // set after a sticky error

  explicit Impl(std::shared_ptr<DeviceModule> module)
      : m(std::move(module)), d(m->d) {}
  ~Impl();

  Status allocate(CUdeviceptr &p, uint64_t bytes, const std::string &what);
  std::string stepText(const Step &s) const {
    return launchNames[s.launch] + ": gpu step #" + std::to_string(s.index) +
           " (kernel '" + s.kernelName + "', grid " + dims(s.grid) +
           ", block " + dims(s.block) + ", " + std::to_string(s.shared) +
           " bytes of dynamic shared memory)";
  }
  CUresult launch(const Step &s) {
    return d.launchKernel(s.fn, s.grid[0], s.grid[1], s.grid[2], s.block[0],
                          s.block[1], s.block[2], s.shared, stream,
                          const_cast<void **>(s.params.data()), nullptr);
  }
  Status driverError(const std::string &what, CUresult r) {
    std::string msg = what + " on " + m->deviceText() + ": " + errorText(d, r);
    if (isSticky(r)) {
      msg += "; the device's CUDA context cannot be used again in this "
             "process";
      broken = msg;
    }
    return internalError(msg);
  }
  void tryCapture();
  Status launchAll();
  Status execute(const std::vector<const void *> &uploads, uint32_t iterations,
                 const std::vector<void *> &results, std::vector<double> *ms);
};

Session::Impl::~Impl() {
  ContextScope scope(d, m->context);
  if (scope.result() != CUDA_SUCCESS)
    return; // the context is gone: nothing can be released
  if (stream)
    d.streamSynchronize(stream);
  if (cuGraphExec)
    d.graphExecDestroy(cuGraphExec);
  if (cuGraph)
    d.graphDestroy(cuGraph);
  if (start)
    d.eventDestroy(start);
  if (stop)
    d.eventDestroy(stop);
  for (CUdeviceptr p : arguments)
    if (p)
      d.memFree(p);
  for (CUdeviceptr p : results)
    if (p)
      d.memFree(p);
  if (arena)
    d.memFree(arena);
  if (errorRecord)
    d.memFree(errorRecord);
  if (stream)
    d.streamDestroy(stream);
}

Status Session::Impl::allocate(CUdeviceptr &p, uint64_t bytes,
                               const std::string &what) {
  if (bytes > SIZE_MAX - 64)
    return internalError("cannot allocate " + std::to_string(bytes) +
                         " bytes for " + what + " on " + m->deviceText());
  // Zero-byte values still get a distinct address.
  CUresult r = d.memAlloc(&p, std::max<size_t>(static_cast<size_t>(bytes), 64));
  if (r != CUDA_SUCCESS) {
    p = 0;
    return internalError("cannot allocate " + std::to_string(bytes) +
                         " bytes of device memory for " + what + " on " +
                         m->deviceText() + ": " + errorText(d, r));
  }
  return Status::ok();
}

StatusOr<std::unique_ptr<Session>>
Session::create(std::shared_ptr<DeviceModule> module,
                const artifact::FunctionDesc &f,
                const std::vector<uint64_t> &argumentBytes,
                const std::vector<uint64_t> &resultBytes) {
  ATTUNE_RETURN_IF_ERROR(checkGpuSteps(f));
  auto impl = std::make_unique<Impl>(std::move(module));
  Impl &s = *impl;
  DeviceModule &m = *s.m;
  const Driver &d = s.d;
  ContextScope scope(d, m.context);
  if (scope.result() != CUDA_SUCCESS)
    return internalError("cannot make the CUDA context of " + m.deviceText() +
                         " current: " + errorText(d, scope.result()));
  const char *blocking = std::getenv("CUDA_LAUNCH_BLOCKING");
  s.blocking = blocking && std::strcmp(blocking, "1") == 0;
  s.function = f.name;
  std::string fname = "function '" + f.name + "'";
  for (size_t i = 0; i < f.launches.size(); ++i)
    s.launchNames.push_back(launchName(f, i));
  for (const auto &a : f.arguments)
    s.argumentNames.push_back(a.name);
  for (const auto &r : f.results)
    s.resultNames.push_back(r.name);
  s.argumentBytes = argumentBytes;
  s.resultBytes = resultBytes;

  CUresult r = d.streamCreate(&s.stream, CU_STREAM_NON_BLOCKING);
  if (r != CUDA_SUCCESS) {
    s.stream = nullptr;
    return s.driverError("cannot create a stream for " + fname, r);
  }
  if ((r = d.eventCreate(&s.start, CU_EVENT_DEFAULT)) != CUDA_SUCCESS ||
      (r = d.eventCreate(&s.stop, CU_EVENT_DEFAULT)) != CUDA_SUCCESS)
    return s.driverError("cannot create the timing events of " + fname, r);

  ATTUNE_RETURN_IF_ERROR(
      s.allocate(s.arena, f.arenaBytes, "the arena of " + fname));
  s.arguments.assign(f.arguments.size(), 0);
  for (size_t i = 0; i < f.arguments.size(); ++i)
    ATTUNE_RETURN_IF_ERROR(
        s.allocate(s.arguments[i], argumentBytes[i],
                   "argument '" + f.arguments[i].name + "' of " + fname));
  s.results.assign(f.results.size(), 0);
  for (size_t i = 0; i < f.results.size(); ++i)
    ATTUNE_RETURN_IF_ERROR(
        s.allocate(s.results[i], resultBytes[i],
                   "result '" + f.results[i].name + "' of " + fname));
  ATTUNE_RETURN_IF_ERROR(s.allocate(s.errorRecord,
                                    sizeof(attune_gpu_error_record),
                                    "the error record of " + fname));
  r = d.memsetD8(s.errorRecord, 0, sizeof(attune_gpu_error_record));
  if (r != CUDA_SUCCESS)
    return s.driverError("cannot clear the error record of " + fname, r);

  // Value id -> device address, as the CPU device maps them.
  auto address = [&](int32_t id, CUdeviceptr &out) -> Status {
    const artifact::ValueDesc &v = f.values[static_cast<size_t>(id)];
    size_t idx = static_cast<size_t>(v.index);
    switch (v.kind) {
    case artifact::ValueKind::Argument:
      if (v.index < 0 || idx >= s.arguments.size())
        break;
      out = s.arguments[idx];
      return Status::ok();
    case artifact::ValueKind::Output:
      if (v.index < 0 || idx >= s.results.size())
        break;
      out = s.results[idx];
      return Status::ok();
    case artifact::ValueKind::Arena:
      if (v.offset > f.arenaBytes || v.bytes > f.arenaBytes - v.offset)
        break;
      out = s.arena + v.offset;
      return Status::ok();
    case artifact::ValueKind::Constant:
      if (v.offset > m.constantsSize || v.bytes > m.constantsSize - v.offset)
        break;
      out = m.constants + v.offset;
      return Status::ok();
    }
    return internalError(fname + ": value #" + std::to_string(id) + " (" +
                         artifact::valueKindName(v.kind) +
                         ") lies outside its buffer");
  };

  for (size_t i = 0; i < f.launches.size(); ++i) {
    const artifact::LaunchDesc &l = f.launches[i];
    for (size_t g = 0; g < l.gpu.size(); ++g) {
      const artifact::GpuStepDesc &gs = l.gpu[g];
      std::string where = s.launchNames[i] + ": gpu step #" +
                          std::to_string(g) + " (kernel '" + gs.kernel + "')";
      StatusOr<DeviceModule::Kernel> k = m.kernel(gs.kernel);
      if (!k)
        return Status(k.status().code(), where + ": " + k.status().message());
      uint64_t threads = 1;
      for (int a = 0; a < 3; ++a) {
        static const char axis[] = {'x', 'y', 'z'};
        if (gs.block[a] == 0 || gs.grid[a] == 0)
          return invalidArgument(where + ": grid " + dims(gs.grid) +
                                 ", block " + dims(gs.block) +
                                 "; expected nonzero extents");
        if (gs.block[a] > static_cast<uint32_t>(m.maxBlock[a]))
          return invalidArgument(where + ": block " + dims(gs.block) + " has " +
                                 std::to_string(gs.block[a]) + " threads in " +
                                 axis[a] + "; " + m.deviceText() +
                                 " allows at most " +
                                 std::to_string(m.maxBlock[a]));
        if (gs.grid[a] > static_cast<uint32_t>(m.maxGrid[a]))
          return invalidArgument(
              where + ": grid " + dims(gs.grid) + " exceeds the maximum grid " +
              std::to_string(m.maxGrid[0]) + "x" +
              std::to_string(m.maxGrid[1]) + "x" +
              std::to_string(m.maxGrid[2]) + " of " + m.deviceText());
        threads *= gs.block[a];
      }
      if (threads > static_cast<uint64_t>(k->maxThreads))
        return invalidArgument(
            where + ": block " + dims(gs.block) + " has " +
            std::to_string(threads) + " threads; the kernel allows at most " +
            std::to_string(k->maxThreads) + " per block on " + m.deviceText() +
            " (CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK)");
      int64_t sharedLimit = static_cast<int64_t>(m.maxSharedOptin) -
                            static_cast<int64_t>(k->staticShared);
      if (static_cast<int64_t>(gs.sharedBytes) > sharedLimit)
        return invalidArgument(
            where + ": asks for " + std::to_string(gs.sharedBytes) +
            " bytes of dynamic shared memory; expected at most " +
            std::to_string(std::max<int64_t>(sharedLimit, 0)) + " on " +
            m.deviceText() + " (" + std::to_string(m.maxSharedOptin) +
            " bytes per block opt-in minus the kernel's " +
            std::to_string(k->staticShared) +
            " bytes of static shared "
            "memory)");
      ATTUNE_RETURN_IF_ERROR(m.allowDynamicShared(gs.kernel, gs.sharedBytes));
      if (gs.argBytes.size() != gs.args.size())
        return invalidArgument(
            where + ": " + std::to_string(gs.argBytes.size()) +
            " arg sizes for " + std::to_string(gs.args.size()) +
            " args; expected one per arg");

      Step st;
      st.launch = i;
      st.index = g;
      st.kernelName = gs.kernel;
      st.fn = k->fn;
      std::copy(gs.grid, gs.grid + 3, st.grid);
      std::copy(gs.block, gs.block + 3, st.block);
      st.shared = gs.sharedBytes;
      st.launchIndex = static_cast<int64_t>(i);
      for (size_t a = 0; a < gs.args.size(); ++a) {
        int32_t id = gs.args[a];
        if (id < 0) {
          if (gs.argBytes[a] != 0)
            return invalidArgument(where + ": arg #" + std::to_string(a) +
                                   " is NULL but may touch " +
                                   std::to_string(gs.argBytes[a]) +
                                   " bytes; expected 0");
          st.pointers.push_back(0);
          continue;
        }
        if (static_cast<size_t>(id) >= f.values.size())
          return invalidArgument(where + ": arg #" + std::to_string(a) +
                                 " is value id " + std::to_string(id) +
                                 "; expected -1 or 0.." +
                                 std::to_string(f.values.size() - 1));
        const artifact::ValueDesc &v = f.values[static_cast<size_t>(id)];
        if (v.bytes < gs.argBytes[a])
          return invalidArgument(
              where + ": arg #" + std::to_string(a) + " may touch " +
              std::to_string(gs.argBytes[a]) + " bytes; value #" +
              std::to_string(id) + " holds " + std::to_string(v.bytes));
        CUdeviceptr p = 0;
        ATTUNE_RETURN_IF_ERROR(address(id, p));
        st.pointers.push_back(p);
      }
      st.pointers.push_back(s.errorRecord);
      s.steps.push_back(std::move(st));
    }
  }
  // Parameter arrays point into each step's own storage: fill them once
  // the steps no longer move.
  for (Step &st : s.steps) {
    for (CUdeviceptr &p : st.pointers)
      st.params.push_back(&p);
    st.params.push_back(&st.launchIndex);
  }
  return std::unique_ptr<Session>(new Session(std::move(impl)));
}

Session::Session(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Session::~Session() = default;

void Session::Impl::tryCapture() {
  graph = Graph::Unavailable;
  if (steps.empty()) {
    graphWhy = "the function has no GPU steps";
    return;
  }
  if (!d.hasGraphs()) {
    graphWhy = "the CUDA driver lacks the graph entry points";
    return;
  }
  CUresult r =
      d.streamBeginCapture(stream, CU_STREAM_CAPTURE_MODE_THREAD_LOCAL);
  if (r != CUDA_SUCCESS) {
    graphWhy = "cuStreamBeginCapture returned " + errorText(d, r);
    return;
  }
  CUresult launched = CUDA_SUCCESS;
  for (const Step &s : steps)
    if ((launched = launch(s)) != CUDA_SUCCESS)
      break;
  CUgraph g = nullptr;
  r = d.streamEndCapture(stream, &g);
  if (launched != CUDA_SUCCESS || r != CUDA_SUCCESS || !g) {
    if (g)
      d.graphDestroy(g);
    graphWhy =
        launched != CUDA_SUCCESS
            ? "cuLaunchKernel during capture returned " + errorText(d, launched)
            : "cuStreamEndCapture returned " + errorText(d, r);
    return;
  }
  CUgraphExec exec = nullptr;
  r = d.graphInstantiateWithFlags
          ? d.graphInstantiateWithFlags(&exec, g, 0)
          : d.graphInstantiateLegacy(&exec, g, nullptr, nullptr, 0);
  if (r != CUDA_SUCCESS || !exec) {
    d.graphDestroy(g);
    graphWhy = "instantiating the graph returned " + errorText(d, r);
    return;
  }
  cuGraph = g;
  cuGraphExec = exec;
  graph = Graph::Ready;
  graphWhy.clear();
}

Status Session::Impl::launchAll() {
  if (graph == Graph::Ready) {
    CUresult r = d.graphLaunch(cuGraphExec, stream);
    if (r != CUDA_SUCCESS)
      return driverError(
          "launching the CUDA graph of function '" + function + "'", r);
    return Status::ok();
  }
  for (const Step &s : steps) {
    CUresult r = launch(s);
    if (r != CUDA_SUCCESS)
      return driverError(
          stepText(s) + " could not be launched" +
              (graphWhy.empty() ? ""
                                : " (without a CUDA graph: " + graphWhy + ")"),
          r);
    if (blocking && (r = d.streamSynchronize(stream)) != CUDA_SUCCESS)
      return driverError(stepText(s) + " failed", r);
  }
  return Status::ok();
}

Status Session::Impl::execute(const std::vector<const void *> &uploads,
                              uint32_t iterations,
                              const std::vector<void *> &hostResults,
                              std::vector<double> *ms) {
  if (!broken.empty())
    return internalError("function '" + function +
                         "' cannot run: an earlier run failed with: " + broken);
  if (uploads.size() != arguments.size() ||
      hostResults.size() != results.size())
    return internalError("cuda session of function '" + function + "' got " +
                         std::to_string(uploads.size()) + " inputs and " +
                         std::to_string(hostResults.size()) +
                         " result buffers; expected " +
                         std::to_string(arguments.size()) + " and " +
                         std::to_string(results.size()));
  ContextScope scope(d, m->context);
  if (scope.result() != CUDA_SUCCESS)
    return driverError("cannot make the CUDA context current", scope.result());
  std::string fname = "function '" + function + "'";
  // A failure below leaves work queued: wait for it before returning so
  // that no copy touches host memory after the call.
  auto fail = [&](Status s) {
    d.streamSynchronize(stream);
    return s;
  };

  for (size_t i = 0; i < uploads.size(); ++i) {
    if (!uploads[i] || argumentBytes[i] == 0)
      continue;
    CUresult r =
        d.memcpyHtoDAsync(arguments[i], uploads[i],
                          static_cast<size_t>(argumentBytes[i]), stream);
    if (r != CUDA_SUCCESS)
      return fail(driverError("copying argument '" + argumentNames[i] + "' (" +
                                  std::to_string(argumentBytes[i]) +
                                  " bytes) of " + fname + " to the device",
                              r));
  }
  if (graph == Graph::Untried) {
    if (blocking) {
      graph = Graph::Unavailable;
      graphWhy = "CUDA_LAUNCH_BLOCKING=1: launching step by step";
    } else {
      tryCapture();
    }
  }

  for (uint32_t it = 0; it < iterations; ++it) {
    CUresult r;
    if (ms && (r = d.eventRecord(start, stream)) != CUDA_SUCCESS)
      return fail(driverError("recording a timing event", r));
    Status s = launchAll();
    if (!s)
      return fail(s);
    if (ms) {
      if ((r = d.eventRecord(stop, stream)) != CUDA_SUCCESS)
        return fail(driverError("recording a timing event", r));
      if ((r = d.eventSynchronize(stop)) != CUDA_SUCCESS)
        return fail(driverError(
            "running " + fname +
                " failed (the failing launch is unknown: kernels run "
                "asynchronously; set CUDA_LAUNCH_BLOCKING=1 to name it)",
            r));
      float elapsed = 0;
      if ((r = d.eventElapsedTime(&elapsed, start, stop)) != CUDA_SUCCESS)
        return fail(driverError("reading a timing event", r));
      ms->push_back(static_cast<double>(elapsed));
    }
  }

  for (size_t i = 0; i < results.size(); ++i) {
    if (resultBytes[i] == 0)
      continue;
    CUresult r = d.memcpyDtoHAsync(hostResults[i], results[i],
                                   static_cast<size_t>(resultBytes[i]), stream);
    if (r != CUDA_SUCCESS)
      return fail(driverError("copying result '" + resultNames[i] + "' (" +
                                  std::to_string(resultBytes[i]) +
                                  " bytes) of " + fname + " from the device",
                              r));
  }
  attune_gpu_error_record record;
  std::memset(&record, 0, sizeof(record));
  CUresult r = d.memcpyDtoHAsync(&record, errorRecord, sizeof(record), stream);
  if (r == CUDA_SUCCESS)
    r = d.streamSynchronize(stream);
  if (r != CUDA_SUCCESS)
    return fail(driverError(
        "running " + fname +
            " failed (the failing launch is unknown: kernels run "
            "asynchronously; set CUDA_LAUNCH_BLOCKING=1 to name it)",
        r));
  if (record.code == ATTUNE_GPU_ERROR_NONE)
    return Status::ok();

  // A kernel reported a data-dependent error: name its launch, clear it.
  r = d.memsetD8Async(errorRecord, 0, sizeof(record), stream);
  if (r == CUDA_SUCCESS)
    r = d.streamSynchronize(stream);
  if (r != CUDA_SUCCESS)
    return driverError("clearing the error record of " + fname, r);
  std::string where =
      record.launch >= 0 &&
              static_cast<uint64_t>(record.launch) < launchNames.size()
          ? launchNames[static_cast<size_t>(record.launch)]
          : "launch #" + std::to_string(record.launch) + " of " + fname +
                " (not in its schedule of " +
                std::to_string(launchNames.size()) + " launches)";
  auto detail = [&](int i) { return std::to_string(record.detail[i]); };
  switch (record.code) {
  case ATTUNE_GPU_ERROR_ID_OUT_OF_RANGE:
    return outOfRange(where + ": id " + detail(1) + " at position " +
                      detail(0) + " is outside [0, " + detail(2) + ")");
  case ATTUNE_GPU_ERROR_LABEL_OUT_OF_RANGE:
    return outOfRange(where + ": label " + detail(1) + " in row " + detail(0) +
                      " is outside [0, " + detail(2) + ")");
  default:
    break;
  }
  std::string details;
  for (int i = 0; i < 6; ++i)
    details += (i ? ", " : "") + detail(i);
  return internalError(where + ": unknown GPU error code " +
                       std::to_string(record.code) + " (details " + details +
                       ")");
}

Status Session::run(const std::vector<const void *> &uploads,
                    const std::vector<void *> &results) {
  return impl_->execute(uploads, 1, results, nullptr);
}

Status Session::timeRuns(const std::vector<const void *> &uploads,
                         uint32_t iterations,
                         const std::vector<void *> &results,
                         std::vector<double> &ms) {
  ms.clear();
  if (iterations == 0)
    return invalidArgument("iterations is 0; expected at least 1");
  return impl_->execute(uploads, iterations, results, &ms);
}

} // namespace attune::cuda_device
