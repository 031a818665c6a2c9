//===- CpuTarget.h - The artifact's x86-64 shared object ---------*- C++ -*-===//
//
// Compiles the hook functions of a lowered module (Codegen.h) to an x86-64
// object through MLIR's LLVM dialect and LLVM -O3, and links it with the
// kernel families archive (libattune_cpu_kernels.a) into a shared object
// that exports every launched kernel, its _check companion and the hooks.
//
//===----------------------------------------------------------------------===//

#ifndef ATTUNE_CODEGEN_CPUTARGET_H
#define ATTUNE_CODEGEN_CPUTARGET_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Support/LogicalResult.h"

#include <cstdint>
#include <set>
#include <string>
#include <vector>

namespace attune::codegen {

struct CpuOptions {
  std::string kernelLibrary; ///< path of libattune_cpu_kernels.a
  std::string linker;        ///< path of ld.lld
  std::string arch;          ///< -march of the archive and the hooks
  std::string keepDir;       ///< when set, intermediate files are kept here
};

/// Default paths: next to the running executable's install tree, else the
/// build tree this compiler was built in.
CpuOptions defaultCpuOptions(const char *argv0);

/// Builds the shared object. Errors are one line in `error`.
mlir::LogicalResult buildCpuSharedObject(mlir::ModuleOp hooks,
                                         const std::set<std::string> &kernels,
                                         const CpuOptions &options,
                                         std::vector<uint8_t> &so,
                                         std::string &error);

} // namespace attune::codegen

#endif // ATTUNE_CODEGEN_CPUTARGET_H
