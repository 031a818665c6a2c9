//===- InitAll.h - Register what Attune's tools understand ------*- C++ -*-===//

#ifndef ATTUNE_INIT_INITALL_H
#define ATTUNE_INIT_INITALL_H

namespace mlir {
class DialectRegistry;
} // namespace mlir

namespace attune {

/// The attune dialect and the upstream dialects Attune uses (func, arith,
/// math, tensor, linalg, shard, scf), with their interface models.
void registerAllDialects(mlir::DialectRegistry &registry);

/// Attune's passes and the upstream passes its pipelines use.
void registerAllPasses();

} // namespace attune

#endif // ATTUNE_INIT_INITALL_H
