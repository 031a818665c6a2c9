//===- AttuneAttrs.h - attune enums, interfaces and attributes --*- C++ -*-===//

#ifndef ATTUNE_DIALECT_ATTUNE_ATTUNEATTRS_H
#define ATTUNE_DIALECT_ATTUNE_ATTUNEATTRS_H

#include "mlir/IR/Attributes.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/DialectImplementation.h"

#include <optional>

#include "attune/Dialect/Attune/AttuneEnums.h.inc"

namespace mlir {
/// Parses a floating-point attribute parameter (the softcap); upstream has
/// field parsers for integers but not for floats.
template <> struct FieldParser<llvm::APFloat> {
  static FailureOr<llvm::APFloat> parse(AsmParser &parser) {
    double value;
    if (parser.parseFloat(value))
      return failure();
    return llvm::APFloat(value);
  }
};
} // namespace mlir

#include "attune/Dialect/Attune/AttuneAttrInterfaces.h.inc"

#define GET_ATTRDEF_CLASSES
#include "attune/Dialect/Attune/AttuneAttrs.h.inc"

#endif // ATTUNE_DIALECT_ATTUNE_ATTUNEATTRS_H
