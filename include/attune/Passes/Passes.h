//===- Passes.h - Attune graph passes ---------------------------*- C++ -*-===//

#ifndef ATTUNE_PASSES_PASSES_H
#define ATTUNE_PASSES_PASSES_H

#include "attune/Dialect/Attune/AttuneOps.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

namespace mlir::attune {

#define GEN_PASS_DECL
#include "attune/Passes/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "attune/Passes/Passes.h.inc"

} // namespace mlir::attune

#endif // ATTUNE_PASSES_PASSES_H
