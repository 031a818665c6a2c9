//===- InferShapes.cpp - Refine attune result types -----------------------===//
//
// Attune ops accept results less static than their operands imply, so that a
// model imported with unknown dimensions verifies; this pass re-runs each
// op's type inference in program order and narrows result types, then the
// signatures of functions and their calls.
//
//===----------------------------------------------------------------------===//

#include "attune/Passes/Passes.h"

#include "mlir/IR/SymbolTable.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"

#define DEBUG_TYPE "attune-infer-shapes"

namespace mlir::attune {
#define GEN_PASS_DEF_ATTUNEINFERSHAPES
#include "attune/Passes/Passes.h.inc"
} // namespace mlir::attune

using namespace mlir;
using namespace mlir::attune;

namespace {

/// Narrows the result types of one op to its inferred types where the
/// inference is more static. Returns true when something changed.
bool refineOp(InferTypeOpInterface op) {
  SmallVector<Type> inferred;
  if (failed(op.inferReturnTypes(
          op->getContext(), /*location=*/std::nullopt, op->getOperands(),
          op->getAttrDictionary(), op->getPropertiesStorage(),
          op->getRegions(), inferred)))
    return false;
  bool changed = false;
  for (auto [result, type] : llvm::zip(op->getResults(), inferred)) {
    if (result.getType() == type)
      continue;
    result.setType(type);
    changed = true;
  }
  return changed;
}

struct InferShapesPass
    : public mlir::attune::impl::AttuneInferShapesBase<InferShapesPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    module.walk<WalkOrder::PreOrder>([&](Operation *op) {
      if (op->getDialect() &&
          op->getDialect()->getNamespace() == AttuneDialect::getDialectNamespace())
        if (auto infer = llvm::dyn_cast<InferTypeOpInterface>(op))
          refineOp(infer);
    });

    // Function results follow what the functions return; calls follow the
    // functions.
    for (auto func : module.getOps<func::FuncOp>()) {
      if (func.isExternal())
        continue;
      auto ret = llvm::dyn_cast<func::ReturnOp>(
          func.getBody().back().getTerminator());
      if (!ret)
        continue;
      FunctionType type = func.getFunctionType();
      SmallVector<Type> results(ret.getOperandTypes());
      if (TypeRange(results) == type.getResults())
        continue;
      func.setFunctionType(
          FunctionType::get(&getContext(), type.getInputs(), results));
      std::optional<SymbolTable::UseRange> uses = func.getSymbolUses(module);
      if (!uses)
        continue;
      for (const SymbolTable::SymbolUse &use : *uses)
        if (auto call = llvm::dyn_cast<func::CallOp>(use.getUser()))
          for (auto [r, t] : llvm::zip(call.getResults(), results))
            r.setType(t);
    }
  }
};

} // namespace
