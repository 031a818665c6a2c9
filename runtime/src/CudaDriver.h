//===- CudaDriver.h - The CUDA driver API the runtime calls -----*- C++ -*-===//
//
// Internal to the runtime. The runtime never links libcuda or cudart and
// never includes cuda.h (it builds without the CUDA toolkit): CudaDevice.cpp
// opens libcuda.so.1 with dlopen and resolves the entry points below with
// dlsym, by the versioned names the driver exports (cuMemAlloc_v2, ...).
//
// The types, enumerators and signatures are those of the driver API
// (cuda.h); only what the runtime calls is declared. Values are part of the
// driver's stable ABI.
//
//===----------------------------------------------------------------------===//

#ifndef ATTUNE_RUNTIME_CUDADRIVER_H
#define ATTUNE_RUNTIME_CUDADRIVER_H

#include <cstddef>

namespace attune::cuda_device::driver {

using CUresult = int;
using CUdevice = int;
using CUdeviceptr = unsigned long long;
using CUcontext = struct CUctx_st *;
using CUmodule = struct CUmod_st *;
using CUfunction = struct CUfunc_st *;
using CUstream = struct CUstream_st *;
using CUevent = struct CUevent_st *;
using CUgraph = struct CUgraph_st *;
using CUgraphExec = struct CUgraphExec_st *;
using CUgraphNode = struct CUgraphNode_st *;

// CUresult values the runtime names or treats specially.
enum : CUresult {
  CUDA_SUCCESS = 0,
  CUDA_ERROR_INVALID_VALUE = 1,
  CUDA_ERROR_OUT_OF_MEMORY = 2,
  CUDA_ERROR_NOT_INITIALIZED = 3,
  CUDA_ERROR_DEINITIALIZED = 4,
  CUDA_ERROR_STUB_LIBRARY = 34,
  CUDA_ERROR_NO_DEVICE = 100,
  CUDA_ERROR_INVALID_DEVICE = 101,
  CUDA_ERROR_NO_BINARY_FOR_GPU = 209,
  CUDA_ERROR_INVALID_PTX = 218,
  CUDA_ERROR_UNSUPPORTED_PTX_VERSION = 222,
  CUDA_ERROR_NOT_FOUND = 500,
  CUDA_ERROR_ILLEGAL_ADDRESS = 700,
  CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES = 701,
  CUDA_ERROR_LAUNCH_TIMEOUT = 702,
  CUDA_ERROR_HARDWARE_STACK_ERROR = 714,
  CUDA_ERROR_ILLEGAL_INSTRUCTION = 715,
  CUDA_ERROR_MISALIGNED_ADDRESS = 716,
  CUDA_ERROR_INVALID_ADDRESS_SPACE = 717,
  CUDA_ERROR_INVALID_PC = 718,
  CUDA_ERROR_LAUNCH_FAILED = 719,
  CUDA_ERROR_UNKNOWN = 999,
};

// CUdevice_attribute
enum CUdevice_attribute : int {
  CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_BLOCK = 1,
  CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_X = 2,
  CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_Y = 3,
  CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_Z = 4,
  CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_X = 5,
  CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_Y = 6,
  CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_Z = 7,
  CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR = 75,
  CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR = 76,
  CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN = 97,
};

// CUfunction_attribute
enum CUfunction_attribute : int {
  CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK = 0,
  CU_FUNC_ATTRIBUTE_SHARED_SIZE_BYTES = 1,
  CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES = 8,
};

// CUjit_option
enum CUjit_option : int {
  CU_JIT_INFO_LOG_BUFFER = 3,
  CU_JIT_INFO_LOG_BUFFER_SIZE_BYTES = 4,
  CU_JIT_ERROR_LOG_BUFFER = 5,
  CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES = 6,
};

// CUstreamCaptureMode
enum CUstreamCaptureMode : int {
  CU_STREAM_CAPTURE_MODE_GLOBAL = 0,
  CU_STREAM_CAPTURE_MODE_THREAD_LOCAL = 1,
  CU_STREAM_CAPTURE_MODE_RELAXED = 2,
};

// Flags.
enum : unsigned {
  CU_STREAM_NON_BLOCKING = 0x1,
  CU_EVENT_DEFAULT = 0x0,
};

// Entry points, by the name the driver exports.
using PFN_cuGetErrorName = CUresult (*)(CUresult, const char **);
using PFN_cuGetErrorString = CUresult (*)(CUresult, const char **);
using PFN_cuInit = CUresult (*)(unsigned);
using PFN_cuDriverGetVersion = CUresult (*)(int *);
using PFN_cuDeviceGetCount = CUresult (*)(int *);
using PFN_cuDeviceGet = CUresult (*)(CUdevice *, int);
using PFN_cuDeviceGetName = CUresult (*)(char *, int, CUdevice);
using PFN_cuDeviceGetAttribute = CUresult (*)(int *, CUdevice_attribute,
                                              CUdevice);
using PFN_cuDevicePrimaryCtxRetain = CUresult (*)(CUcontext *, CUdevice);
// cuDevicePrimaryCtxRelease_v2 (or the unversioned one of older drivers)
using PFN_cuDevicePrimaryCtxRelease = CUresult (*)(CUdevice);
using PFN_cuCtxPushCurrent = CUresult (*)(CUcontext);  // _v2
using PFN_cuCtxPopCurrent = CUresult (*)(CUcontext *); // _v2
using PFN_cuModuleLoadData = CUresult (*)(CUmodule *, const void *);
using PFN_cuModuleLoadDataEx = CUresult (*)(CUmodule *, const void *, unsigned,
                                            CUjit_option *, void **);
using PFN_cuModuleUnload = CUresult (*)(CUmodule);
using PFN_cuModuleGetFunction = CUresult (*)(CUfunction *, CUmodule,
                                             const char *);
using PFN_cuFuncGetAttribute = CUresult (*)(int *, CUfunction_attribute,
                                            CUfunction);
using PFN_cuFuncSetAttribute = CUresult (*)(CUfunction, CUfunction_attribute,
                                            int);
using PFN_cuMemAlloc = CUresult (*)(CUdeviceptr *, size_t);               // _v2
using PFN_cuMemFree = CUresult (*)(CUdeviceptr);                          // _v2
using PFN_cuMemcpyHtoD = CUresult (*)(CUdeviceptr, const void *, size_t); // _v2
using PFN_cuMemcpyHtoDAsync = CUresult (*)(CUdeviceptr, const void *, size_t,
                                           CUstream); // _v2
using PFN_cuMemcpyDtoHAsync = CUresult (*)(void *, CUdeviceptr, size_t,
                                           CUstream);                    // _v2
using PFN_cuMemsetD8 = CUresult (*)(CUdeviceptr, unsigned char, size_t); // _v2
using PFN_cuMemsetD8Async = CUresult (*)(CUdeviceptr, unsigned char, size_t,
                                         CUstream);
using PFN_cuStreamCreate = CUresult (*)(CUstream *, unsigned);
using PFN_cuStreamDestroy = CUresult (*)(CUstream); // _v2
using PFN_cuStreamSynchronize = CUresult (*)(CUstream);
using PFN_cuLaunchKernel = CUresult (*)(CUfunction, unsigned, unsigned,
                                        unsigned, unsigned, unsigned, unsigned,
                                        unsigned, CUstream, void **, void **);
using PFN_cuEventCreate = CUresult (*)(CUevent *, unsigned);
using PFN_cuEventRecord = CUresult (*)(CUevent, CUstream);
using PFN_cuEventSynchronize = CUresult (*)(CUevent);
// cuEventElapsedTime_v2 (CUDA 12.8+) or cuEventElapsedTime
using PFN_cuEventElapsedTime = CUresult (*)(float *, CUevent, CUevent);
using PFN_cuEventDestroy = CUresult (*)(CUevent); // _v2
using PFN_cuStreamBeginCapture = CUresult (*)(CUstream,
                                              CUstreamCaptureMode); // _v2
using PFN_cuStreamEndCapture = CUresult (*)(CUstream, CUgraph *);
using PFN_cuGraphInstantiateWithFlags = CUresult (*)(CUgraphExec *, CUgraph,
                                                     unsigned long long);
// cuGraphInstantiate_v2 / cuGraphInstantiate of drivers before 11.4
using PFN_cuGraphInstantiateLegacy = CUresult (*)(CUgraphExec *, CUgraph,
                                                  CUgraphNode *, char *,
                                                  size_t);
using PFN_cuGraphLaunch = CUresult (*)(CUgraphExec, CUstream);
using PFN_cuGraphExecDestroy = CUresult (*)(CUgraphExec);
using PFN_cuGraphDestroy = CUresult (*)(CUgraph);

} // namespace attune::cuda_device::driver

#endif // ATTUNE_RUNTIME_CUDADRIVER_H
