//===- InitAll.cpp - Register what Attune's tools understand --------------===//

#include "attune/Init/InitAll.h"

#include "attune/Dialect/Attune/AttuneOps.h"
#include "attune/Passes/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/Extensions/InlinerExtension.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Shard/IR/ShardDialect.h"
#include "mlir/Dialect/Shard/IR/ShardOps.h"
#include "mlir/Dialect/Shard/Transforms/Passes.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/Transforms/Passes.h"

void attune::registerAllDialects(mlir::DialectRegistry &registry) {
  registry.insert<mlir::attune::AttuneDialect, mlir::func::FuncDialect,
                  mlir::arith::ArithDialect, mlir::math::MathDialect,
                  mlir::tensor::TensorDialect, mlir::linalg::LinalgDialect,
                  mlir::shard::ShardDialect, mlir::scf::SCFDialect>();
  mlir::func::registerInlinerExtension(registry);
}

void attune::registerAllPasses() {
  mlir::attune::registerAttunePasses();
  // The generic transforms (canonicalize, cse, inline, ...) and the shard
  // dialect's propagation and partitioning, which later issues build on.
  mlir::registerTransformsPasses();
  mlir::shard::registerShardPasses();
}
