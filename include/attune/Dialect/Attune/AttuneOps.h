//===- AttuneOps.h - attune operations --------------------------*- C++ -*-===//

#ifndef ATTUNE_DIALECT_ATTUNE_ATTUNEOPS_H
#define ATTUNE_DIALECT_ATTUNE_ATTUNEOPS_H

#include "attune/Dialect/Attune/AttuneAttrs.h"
#include "attune/Dialect/Attune/AttuneDialect.h"

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/Interfaces/ControlFlowInterfaces.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#define GET_OP_CLASSES
#include "attune/Dialect/Attune/AttuneOps.h.inc"

#endif // ATTUNE_DIALECT_ATTUNE_ATTUNEOPS_H
