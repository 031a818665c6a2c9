//===- CudaDevice.h - Running compiled modules on a CUDA GPU ----*- C++ -*-===//
//
// Internal to the runtime. The CUDA device runs the GPU steps of an
// artifact's launches (include/attune/abi/GpuABI.h) through the CUDA driver
// API, which it opens at run time with dlopen("libcuda.so.1"): the runtime
// links neither libcuda nor cudart, and builds and runs without either.
//
//   probe()          the number of devices, or one line saying why there is
//                    none (driver not found, cuInit failure, no devices)
//   DeviceModule     an artifact's CUDA code loaded on one device (the cubin
//                    for its compute capability, else its PTX JIT-compiled),
//                    with the constants section uploaded once; shared by the
//                    module's sessions on that device
//   Session          one function's device memory (arena, arguments,
//                    results, error record), stream and resolved kernels;
//                    its launch sequence is captured as a CUDA graph on the
//                    first run and replayed afterwards
//
// Every entry point pushes the device's primary context for its duration
// and pops it again, so the caller's current context is left as it was.
// Setting CUDA_LAUNCH_BLOCKING=1 makes sessions launch step by step and
// synchronize after each, so that an asynchronous fault names its launch.
//
//===----------------------------------------------------------------------===//

#ifndef ATTUNE_RUNTIME_CUDADEVICE_H
#define ATTUNE_RUNTIME_CUDADEVICE_H

#include "attune/artifact/Artifact.h"
#include "attune/runtime/Status.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace attune::cuda_device {

/// The number of CUDA devices (>= 1), or an error whose message is one line:
/// "CUDA driver not found (libcuda.so.1: ...)", a cuInit failure with the
/// driver's error name and string (34: the toolkit's stub library, 100: no
/// device), or a driver that reports no devices. The driver is opened and
/// initialized once per process; later calls return the same answer.
StatusOr<int> probe();

/// Which of `archs` (ATTUNE_CUBIN_ARCH codes of GpuABI.h) runs on a device of
/// compute capability major.minor: the 'a' cubin of exactly that capability,
/// else the plain cubin of the same major with the highest minor <= minor;
/// -1 when none does (the caller JIT-compiles the PTX).
int selectCubin(const std::vector<uint32_t> &archs, int major, int minor);

/// "launch #3 (attune.embedding at model.mlir:9:3) of function 'main'".
std::string launchName(const artifact::FunctionDesc &f, size_t launch);

/// The checks of a function's GPU steps that need no device: every launch
/// has at least one step (an error names the first launch without).
Status checkGpuSteps(const artifact::FunctionDesc &f);

class DeviceModule;

/// Loads an artifact's CUDA code on device `ordinal` and uploads its
/// constants. Errors name the device, its compute capability and the
/// architectures the artifact has (or the PTX JIT log).
StatusOr<std::shared_ptr<DeviceModule>>
loadModule(int ordinal, const std::vector<artifact::GpuBinary> &cubins,
           const std::vector<uint8_t> &ptx, const uint8_t *constants,
           size_t constantsSize);

/// One function on one device. Not thread-safe (one per attune_session).
class Session {
public:
  /// Resolves every step's kernel and checks its launch geometry and shared
  /// memory against the kernel and the device; allocates the arena, one
  /// buffer per argument and per result, and the error record. Errors name
  /// the launch (index, op, location), the step and what was expected.
  static StatusOr<std::unique_ptr<Session>>
  create(std::shared_ptr<DeviceModule> module, const artifact::FunctionDesc &f,
         const std::vector<uint64_t> &argumentBytes,
         const std::vector<uint64_t> &resultBytes);
  ~Session();
  Session(const Session &) = delete;
  Session &operator=(const Session &) = delete;

  /// One run: copies argument i from uploads[i] (argumentBytes[i] bytes)
  /// where uploads[i] is not null, runs every step of every launch in
  /// schedule order, copies result i into results[i] (resultBytes[i]
  /// bytes), waits, and turns a nonzero error record into an error naming
  /// the launch.
  Status run(const std::vector<const void *> &uploads,
             const std::vector<void *> &results);

  /// As run, with the launch sequence executed `iterations` times (inputs
  /// copied once before the first, results after the last), each timed on
  /// the device with CUDA events; `ms` receives one time per iteration.
  Status timeRuns(const std::vector<const void *> &uploads, uint32_t iterations,
                  const std::vector<void *> &results, std::vector<double> &ms);

private:
  struct Impl;
  explicit Session(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

} // namespace attune::cuda_device

#endif // ATTUNE_RUNTIME_CUDADEVICE_H
