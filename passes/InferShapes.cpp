//===- InferShapes.cpp - Refine attune result types -----------------------===//
//
// Attune ops accept results less static than their operands imply, so that a
// model imported with unknown dimensions verifies; this pass re-runs each
// op's type inference in program order and narrows result types, then the
// signatures of functions and their calls, until nothing changes. Types only
// narrow; a user that cannot take a narrowed value gets a tensor.cast back to
// the type it saw, so the IR stays valid whatever consumes attune results.
//
//===----------------------------------------------------------------------===//

#include "attune/Passes/Passes.h"

#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"
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

/// The more static of two compatible ranked tensor types, or null when they
/// are not compatible (then nothing is refined).
RankedTensorType narrowest(Type current, Type inferred) {
  auto cur = llvm::dyn_cast<RankedTensorType>(current);
  auto inf = llvm::dyn_cast<RankedTensorType>(inferred);
  if (!cur || !inf || cur.getElementType() != inf.getElementType() ||
      cur.getRank() != inf.getRank())
    return nullptr;
  SmallVector<int64_t> shape;
  for (auto [a, b] : llvm::zip(cur.getShape(), inf.getShape())) {
    if (!ShapedType::isDynamic(a) && !ShapedType::isDynamic(b) && a != b)
      return nullptr;
    shape.push_back(ShapedType::isDynamic(a) ? b : a);
  }
  return RankedTensorType::get(shape, cur.getElementType(), cur.getEncoding());
}

/// Whether `user` accepts an operand whose type got more static: attune ops
/// that infer their types (they are refined after it in program order) as
/// long as no region argument mirrors an operand type (attention's regions
/// take scalars; reversible's take its operands' types), attune.yield (region
/// verifiers take compatible types), tensor.cast (any compatible source will
/// do) and returns (the signature follows them).
bool acceptsRefinedOperand(Operation *user) {
  if (llvm::isa<func::ReturnOp, YieldOp, tensor::CastOp, AttentionOp>(user))
    return true;
  return llvm::isa<AttuneDialect>(user->getDialect()) &&
         llvm::isa<InferTypeOpInterface>(user) && user->getNumRegions() == 0;
}

/// Gives `value` the type `refined`; uses that cannot take it read a cast
/// back to the old type. Returns true when the type changed.
bool refineValue(Value value, Type refined) {
  Type old = value.getType();
  if (old == refined)
    return false;
  SmallVector<OpOperand *> uses;
  for (OpOperand &use : value.getUses())
    if (!acceptsRefinedOperand(use.getOwner()))
      uses.push_back(&use);
  value.setType(refined);
  llvm::SmallDenseMap<Operation *, Value> castFor; // one cast per user
  for (OpOperand *use : uses) {
    Operation *user = use->getOwner();
    Value &cast = castFor[user];
    if (!cast) {
      OpBuilder builder(user);
      cast = tensor::CastOp::create(builder, user->getLoc(), old, value);
    }
    use->set(cast);
  }
  return true;
}

/// Refines the results of one attune op from its operands.
bool refineOp(InferTypeOpInterface op) {
  SmallVector<Type> inferred;
  if (failed(op.inferReturnTypes(op->getContext(), /*location=*/std::nullopt,
                                 op->getOperands(), op->getAttrDictionary(),
                                 op->getPropertiesStorage(), op->getRegions(),
                                 inferred)))
    return false;
  bool changed = false;
  for (auto [result, type] : llvm::zip(op->getResults(), inferred))
    if (RankedTensorType narrow = narrowest(result.getType(), type))
      changed |= refineValue(result, narrow);
  return changed;
}

struct InferShapesPass
    : public mlir::attune::impl::AttuneInferShapesBase<InferShapesPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    // Each round can only make types more static, so this terminates; the
    // bound guards against a bug turning into a hang.
    for (int round = 0; round < 64; ++round)
      if (!refineOnce(module))
        return;
    module.emitError("attune-infer-shapes did not converge in 64 rounds");
    signalPassFailure();
  }

  bool refineOnce(ModuleOp module) {
    bool changed = false;
    module.walk<WalkOrder::PreOrder>([&](Operation *op) {
      if (llvm::isa<AttuneDialect>(op->getDialect()))
        if (auto infer = llvm::dyn_cast<InferTypeOpInterface>(op))
          changed |= refineOp(infer);
    });

    // Function results follow what the functions return; calls follow the
    // functions.
    for (auto func : module.getOps<func::FuncOp>()) {
      if (func.isExternal())
        continue;
      auto ret =
          llvm::dyn_cast<func::ReturnOp>(func.getBody().back().getTerminator());
      if (!ret)
        continue;
      // func.return's operands had the signature's types before this pass
      // and only narrowed since, so they are the new result types.
      FunctionType type = func.getFunctionType();
      SmallVector<Type> results(ret.getOperandTypes());
      if (TypeRange(results) == type.getResults())
        continue;
      func.setFunctionType(
          FunctionType::get(&getContext(), type.getInputs(), results));
      changed = true;
      std::optional<SymbolTable::UseRange> uses = func.getSymbolUses(module);
      if (!uses)
        continue;
      for (const SymbolTable::SymbolUse &use : *uses)
        if (auto call = llvm::dyn_cast<func::CallOp>(use.getUser()))
          for (auto [r, t] : llvm::zip(call.getResults(), results))
            refineValue(r, t);
    }
    return changed;
  }
};

} // namespace
