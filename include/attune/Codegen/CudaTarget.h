//===- CudaTarget.h - The artifact's NVPTX kernels ---------------*- C++ -*-===//
//
// The cuda target turns every launch of a lowered module (Codegen.h) into
// GPU steps (include/attune/abi/GpuABI.h): kernels emitted as gpu.func with
// nvgpu/nvvm ops, specialized for the launch's shapes and attributes,
// lowered through MLIR's NVVM path to PTX and assembled by ptxas into one
// cubin per requested architecture. The PTX is kept for newer GPUs.
//
//===----------------------------------------------------------------------===//

#ifndef ATTUNE_CODEGEN_CUDATARGET_H
#define ATTUNE_CODEGEN_CUDATARGET_H

#include "attune/Codegen/Codegen.h"

#include "mlir/Support/LogicalResult.h"

#include <string>
#include <vector>

namespace attune::codegen {

struct CudaArch {
  unsigned sm = 80;      ///< e.g. 80, 90
  bool specific = false; ///< the "a" variant (sm_90a)
  std::string name() const;
};

struct CudaOptions {
  std::vector<CudaArch> archs; ///< cubins to build; PTX targets the lowest
  std::string ptxas;           ///< path of ptxas
  std::string keepDir;         ///< when set, kernels.mlir/.ptx/.cubin go here
};

/// Parses "cuda:sm_80,sm_90a" (the part after --target=). Accepts sm_XY
/// and sm_XYa with XY >= 80 (the tensor-core kernels need sm_80).
mlir::LogicalResult parseCudaTarget(llvm::StringRef spec, CudaOptions &options,
                                    std::string &error);

/// ptxas from $CUDA_HOME/bin, /usr/local/cuda/bin or PATH ("" if none).
std::string findPtxas();

/// Per-kernel resource use that ptxas reported for one architecture.
struct PtxasKernelInfo {
  std::string kernel;
  std::string arch;
  int registers = 0;
  int spillStores = 0; ///< bytes
  int spillLoads = 0;  ///< bytes
  int sharedBytes = 0; ///< static shared memory
};

/// Adds GPU steps to every launch of `lowered.desc`, replans the arenas,
/// and fills desc.cubins and desc.ptx. Errors about the model are emitted
/// as diagnostics on its ops; tool errors (ptxas) are one line in `error`.
mlir::LogicalResult buildCudaCode(LoweredModule &lowered,
                                  const CudaOptions &options,
                                  std::vector<PtxasKernelInfo> &report,
                                  std::string &error);

} // namespace attune::codegen

#endif // ATTUNE_CODEGEN_CUDATARGET_H
