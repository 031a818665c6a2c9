//===- Interpreter.h - Run attune functions on host tensors -----*- C++ -*-===//
//
// The reference evaluator: interprets a func.func of attune ops (plus the
// arith/math/tensor.extract ops that mask and score regions use) by calling
// the kernels of Kernels.h, in f64 (the oracle) or in the tensors' own
// precision (the tolerance rule's low-precision reference).
//
//===----------------------------------------------------------------------===//

#ifndef ATTUNE_REFERENCE_INTERPRETER_H
#define ATTUNE_REFERENCE_INTERPRETER_H

#include "attune/Reference/Kernels.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Types.h"
#include "llvm/ADT/StringRef.h"

#include <string>
#include <vector>

namespace mlir::func {
class FuncOp;
} // namespace mlir::func

namespace attune::ref {

/// The runtime dtype of an MLIR element type (index maps to i64).
StatusOr<DType> dtypeOf(mlir::Type elementType);

/// An argument or result of a function as the evaluator sees it.
struct ValueInfo {
  std::string name;           ///< `attune.name` attribute, else argN/resultN
  DType dtype;                ///< element type
  std::vector<int64_t> shape; ///< -1 for a dynamic dimension
};

/// Describes the arguments and results of `func`.
StatusOr<std::vector<ValueInfo>> describeArguments(mlir::func::FuncOp func);
StatusOr<std::vector<ValueInfo>> describeResults(mlir::func::FuncOp func);

/// Runs the function named `function` of `module` on `args`. Arguments are
/// checked against the signature (count, dtype, rank, static dims) and every
/// error names the argument, what was expected and what was found. A failure
/// inside an op names the op and its location.
/// The reference's view of an attention op's attributes: a mask attribute
/// (#attune.causal, #attune.and, ...) as a MaskTerm tree, and score_mods as
/// ScoreMods. Backends lower from these too, so both read attributes one way.
/// The attributes must have passed the op verifier.
MaskTerm maskTermFromAttr(mlir::Attribute attr);
std::vector<ScoreMod> scoreModsFromAttr(mlir::ArrayAttr mods);

Status runFunction(mlir::ModuleOp module, llvm::StringRef function,
                   const std::vector<RefTensor> &args, Precision precision,
                   std::vector<RefTensor> &results);

} // namespace attune::ref

#endif // ATTUNE_REFERENCE_INTERPRETER_H
