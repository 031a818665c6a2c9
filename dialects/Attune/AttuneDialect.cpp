//===- AttuneDialect.cpp - attune dialect and attributes ------------------===//
//
// Attribute verifiers check what an attribute can check alone (a window size
// below zero); verifyForAttention checks a mask term against the attention it
// is used in (a block layout that does not cover the sequence).
//
//===----------------------------------------------------------------------===//

#include "attune/Dialect/Attune/AttuneOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

#include <cmath>

using namespace mlir;
using namespace mlir::attune;

#include "attune/Dialect/Attune/AttuneAttrInterfaces.cpp.inc"
#include "attune/Dialect/Attune/AttuneDialect.cpp.inc"
#include "attune/Dialect/Attune/AttuneEnums.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "attune/Dialect/Attune/AttuneAttrs.cpp.inc"

void AttuneDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "attune/Dialect/Attune/AttuneOps.cpp.inc"
      >();
  addAttributes<
#define GET_ATTRDEF_LIST
#include "attune/Dialect/Attune/AttuneAttrs.cpp.inc"
      >();
}

namespace {
/// "128", or "?" for a dynamic size.
std::string dimStr(int64_t d) {
  return ShapedType::isDynamic(d) ? std::string("?") : std::to_string(d);
}

/// ceil(a / b) for a static a, or dynamic (a >= 0, b > 0; no overflow for a
/// large b).
int64_t ceilDivOrDynamic(int64_t a, int64_t b) {
  return ShapedType::isDynamic(a) ? ShapedType::kDynamic
                                  : a / b + (a % b != 0 ? 1 : 0);
}

LogicalResult verifyTerms(function_ref<InFlightDiagnostic()> emitError,
                          ArrayAttr terms, StringRef name) {
  for (auto [i, term] : llvm::enumerate(terms))
    if (!llvm::isa<MaskAttrInterface>(term))
      return emitError() << "expected every term of #attune." << name
                         << " to be a mask term (#attune.causal, "
                            "#attune.sliding_window, ...), got "
                         << term << " at position " << i;
  return success();
}

LogicalResult
verifyTermsForAttention(function_ref<InFlightDiagnostic()> emitError,
                        ArrayAttr terms, int64_t numHeads, int64_t queryLength,
                        int64_t keyLength, bool hasDocumentIds) {
  for (Attribute term : terms)
    if (failed(llvm::cast<MaskAttrInterface>(term).verifyForAttention(
            emitError, numHeads, queryLength, keyLength, hasDocumentIds)))
      return failure();
  return success();
}
} // namespace

//===----------------------------------------------------------------------===//
// Attribute verifiers
//===----------------------------------------------------------------------===//

LogicalResult
SlidingWindowAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                          int64_t left, int64_t right, Alignment) {
  if (left < 0)
    return emitError() << "expected #attune.sliding_window left >= 0 (keys "
                          "before the query), got "
                       << left;
  if (right < 0)
    return emitError() << "expected #attune.sliding_window right >= 0 (keys "
                          "after the query), got "
                       << right;
  return success();
}

LogicalResult GlobalAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                 ArrayRef<int64_t> tokens) {
  if (tokens.empty())
    return emitError() << "expected #attune.global to list at least one token";
  for (size_t i = 0; i < tokens.size(); ++i) {
    if (tokens[i] < 0)
      return emitError() << "expected #attune.global tokens >= 0, got "
                         << tokens[i] << " at position " << i;
    if (i > 0 && tokens[i] <= tokens[i - 1])
      return emitError() << "expected #attune.global tokens in strictly "
                            "increasing order, got "
                         << tokens[i] << " after " << tokens[i - 1];
  }
  return success();
}

LogicalResult
BlockSparseAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                        int64_t blockQ, int64_t blockK,
                        DenseIntElementsAttr layout) {
  if (blockQ <= 0 || blockK <= 0)
    return emitError() << "expected #attune.block_sparse block sizes > 0, got "
                          "block_q = "
                       << blockQ << ", block_k = " << blockK;
  auto type = llvm::cast<ShapedType>(layout.getType());
  if (!type.getElementType().isInteger(1))
    return emitError() << "expected #attune.block_sparse layout of i1, got "
                       << type.getElementType();
  if (type.getRank() != 2 && type.getRank() != 3)
    return emitError() << "expected #attune.block_sparse layout of rank 2 "
                          "[q blocks, k blocks] or 3 [heads, q blocks, k "
                          "blocks], got rank "
                       << type.getRank();
  return success();
}

LogicalResult StridedAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                  int64_t stride) {
  if (stride <= 0)
    return emitError() << "expected #attune.strided stride > 0, got " << stride;
  return success();
}

LogicalResult DilatedAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                  int64_t segment, int64_t rate,
                                  std::optional<int64_t> offset) {
  if (segment <= 0)
    return emitError() << "expected #attune.dilated segment > 0, got "
                       << segment;
  if (rate <= 0)
    return emitError() << "expected #attune.dilated rate > 0, got " << rate;
  if (segment % rate != 0)
    return emitError() << "expected #attune.dilated rate " << rate
                       << " to divide segment " << segment;
  if (offset && (*offset < 0 || *offset >= rate))
    return emitError() << "expected #attune.dilated offset in [0, " << rate
                       << "), got " << *offset;
  return success();
}

LogicalResult PrefixLMAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                   int64_t prefix) {
  if (prefix < 0)
    return emitError() << "expected #attune.prefix_lm prefix >= 0, got "
                       << prefix;
  return success();
}

LogicalResult AndAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                              ArrayAttr terms) {
  return verifyTerms(emitError, terms, "and");
}

LogicalResult OrAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                             ArrayAttr terms) {
  return verifyTerms(emitError, terms, "or");
}

LogicalResult AlibiAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                DenseF64ArrayAttr slopes) {
  if (!slopes)
    return success();
  if (slopes.empty())
    return emitError() << "expected #attune.alibi to list one slope per "
                          "query head, got none (omit the list for the "
                          "paper's slopes)";
  for (auto [i, slope] : llvm::enumerate(slopes.asArrayRef()))
    if (!std::isfinite(slope))
      return emitError() << "expected finite #attune.alibi slopes, got "
                         << slope << " at position " << i;
  return success();
}

LogicalResult SoftcapAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                  APFloat cap) {
  double c = cap.convertToDouble();
  if (!(c > 0) || std::isinf(c))
    return emitError() << "expected #attune.softcap cap > 0 and finite, got "
                       << c;
  return success();
}

//===----------------------------------------------------------------------===//
// MaskAttrInterface
//===----------------------------------------------------------------------===//

LogicalResult CausalAttr::verifyForAttention(function_ref<InFlightDiagnostic()>,
                                             int64_t, int64_t, int64_t,
                                             bool) const {
  return success();
}

LogicalResult
SlidingWindowAttr::verifyForAttention(function_ref<InFlightDiagnostic()>,
                                      int64_t, int64_t, int64_t, bool) const {
  return success();
}

LogicalResult
GlobalAttr::verifyForAttention(function_ref<InFlightDiagnostic()> emitError,
                               int64_t, int64_t queryLength, int64_t keyLength,
                               bool) const {
  if (ShapedType::isDynamic(queryLength) || ShapedType::isDynamic(keyLength))
    return success();
  int64_t last = getTokens().back();
  if (last >= std::max(queryLength, keyLength))
    return emitError() << "expected #attune.global tokens below the sequence "
                          "length (Lq = "
                       << queryLength << ", Lk = " << keyLength << "), got "
                       << last;
  return success();
}

LogicalResult BlockSparseAttr::verifyForAttention(
    function_ref<InFlightDiagnostic()> emitError, int64_t numHeads,
    int64_t queryLength, int64_t keyLength, bool) const {
  auto shape = llvm::cast<ShapedType>(getLayout().getType()).getShape();
  int64_t rank = shape.size();
  int64_t wantQ = ceilDivOrDynamic(queryLength, getBlockQ());
  int64_t wantK = ceilDivOrDynamic(keyLength, getBlockK());
  auto mismatch = [](int64_t want, int64_t got) {
    return !ShapedType::isDynamic(want) && want != got;
  };
  if (rank == 3 && mismatch(numHeads, shape[0]))
    return emitError() << "expected #attune.block_sparse layout dim 0 to equal "
                          "the query heads "
                       << numHeads << ", got " << shape[0];
  if (mismatch(wantQ, shape[rank - 2]) || mismatch(wantK, shape[rank - 1]))
    return emitError() << "expected #attune.block_sparse layout to cover "
                       << dimStr(wantQ) << " x " << dimStr(wantK)
                       << " blocks (ceil(Lq / block_q) x ceil(Lk / block_k)), "
                          "got "
                       << shape[rank - 2] << " x " << shape[rank - 1];
  return success();
}

LogicalResult
StridedAttr::verifyForAttention(function_ref<InFlightDiagnostic()>, int64_t,
                                int64_t, int64_t, bool) const {
  return success();
}

LogicalResult
DilatedAttr::verifyForAttention(function_ref<InFlightDiagnostic()>, int64_t,
                                int64_t, int64_t, bool) const {
  return success();
}

LogicalResult
DocumentAttr::verifyForAttention(function_ref<InFlightDiagnostic()> emitError,
                                 int64_t, int64_t, int64_t,
                                 bool hasDocumentIds) const {
  if (!hasDocumentIds)
    return emitError() << "#attune.document needs document ids: add "
                          "doc(%q_ids, %kv_ids) operands";
  return success();
}

LogicalResult
PrefixLMAttr::verifyForAttention(function_ref<InFlightDiagnostic()>, int64_t,
                                 int64_t, int64_t, bool) const {
  return success();
}

LogicalResult
AndAttr::verifyForAttention(function_ref<InFlightDiagnostic()> emitError,
                            int64_t numHeads, int64_t queryLength,
                            int64_t keyLength, bool hasDocumentIds) const {
  return verifyTermsForAttention(emitError, getTerms(), numHeads, queryLength,
                                 keyLength, hasDocumentIds);
}

LogicalResult
OrAttr::verifyForAttention(function_ref<InFlightDiagnostic()> emitError,
                           int64_t numHeads, int64_t queryLength,
                           int64_t keyLength, bool hasDocumentIds) const {
  return verifyTermsForAttention(emitError, getTerms(), numHeads, queryLength,
                                 keyLength, hasDocumentIds);
}
