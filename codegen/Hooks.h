//===- Hooks.h - Attention regions as hook functions -------------*- C++ -*-===//

#ifndef ATTUNE_CODEGEN_HOOKS_H
#define ATTUNE_CODEGEN_HOOKS_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Region.h"
#include "mlir/Support/LogicalResult.h"

namespace attune::codegen {

/// Builds `name`, a function with the mask or score hook signature of
/// include/attune/abi/KernelABI.h that evaluates `region` for one tile row,
/// into `hooks`. Outer tensors the region reads are looked up in, or
/// appended to, `captures`: the hook reads capture i from position i of the
/// launch's capture list.
mlir::LogicalResult buildHook(mlir::Region &region, bool isScore,
                              llvm::StringRef name, mlir::ModuleOp hooks,
                              llvm::SmallVectorImpl<mlir::Value> &captures);

} // namespace attune::codegen

#endif // ATTUNE_CODEGEN_HOOKS_H
