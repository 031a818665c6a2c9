//===- AttuneDialect.h - The attune dialect ---------------------*- C++ -*-===//

#ifndef ATTUNE_DIALECT_ATTUNE_ATTUNEDIALECT_H
#define ATTUNE_DIALECT_ATTUNE_ATTUNEDIALECT_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Dialect.h"

#include "attune/Dialect/Attune/AttuneDialect.h.inc"

#endif // ATTUNE_DIALECT_ATTUNE_ATTUNEDIALECT_H
