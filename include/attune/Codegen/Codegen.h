//===- Codegen.h - From attune functions to an artifact ---------*- C++ -*-===//
//
// The target-independent half of attune-compile: every public function of a
// module becomes a launch schedule over the kernel families of
// include/attune/abi/Families.h with a static buffer plan; attention regions
// become hook functions in a separate MLIR module that a target compiles.
// The CPU target (CpuTarget.h) turns those hooks and the kernel archive into
// the artifact's shared object.
//
//===----------------------------------------------------------------------===//

#ifndef ATTUNE_CODEGEN_CODEGEN_H
#define ATTUNE_CODEGEN_CODEGEN_H

#include "attune/artifact/Artifact.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include "mlir/Support/LogicalResult.h"

#include <set>
#include <string>
#include <vector>

namespace attune::codegen {

struct LoweredModule {
  /// Functions, constants and metadata; the target fills in its sections.
  artifact::ModuleDesc desc;
  /// One func.func per region hook (signatures of KernelABI.h), in the
  /// func/arith/math/scf/llvm dialects.
  mlir::OwningOpRef<mlir::ModuleOp> hooks;
  /// Every kernel symbol the schedules launch (each needs its _check too).
  std::set<std::string> kernels;
  /// For each function of desc, the op each launch came from (its regions
  /// and operands stay valid while the input module lives).
  std::vector<std::vector<mlir::Operation *>> launchOps;
};

/// Assigns arena offsets to every Arena value a launch (or a GPU step)
/// touches, from live ranges over the launch sequence (first fit, 64-byte
/// aligned), and sets arenaBytes. Deterministic; a target that adds values
/// or GPU steps plans again.
void planArena(artifact::FunctionDesc &desc);

/// Runs the graph pipeline (inlining, shape inference, canonicalization) on
/// `module` in place and lowers the named functions (all public ones when
/// `functions` is empty). Errors are emitted as diagnostics on the ops.
mlir::FailureOr<LoweredModule>
lowerModule(mlir::ModuleOp module, const std::vector<std::string> &functions);

} // namespace attune::codegen

#endif // ATTUNE_CODEGEN_CODEGEN_H
