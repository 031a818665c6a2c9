//===- Hooks.cpp - Attention regions as hook functions --------------------===//
//
// An attention op's mask or score region becomes a function with the hook
// signature of include/attune/abi/KernelABI.h that evaluates the region for
// one tile row, k = k0 .. k0+n-1, in a loop LLVM can vectorize. Outer tensors
// the region reads with tensor.extract are passed as captures (raw pointers
// in the launch's capture list); outer scalar constants are cloned in.
//
//===----------------------------------------------------------------------===//

#include "Hooks.h"

#include "attune/Dialect/Attune/AttuneOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/Matchers.h"

#include <map>

using namespace mlir;

namespace attune::codegen {

LogicalResult buildHook(Region &region, bool isScore, StringRef name,
                        ModuleOp hooks, SmallVectorImpl<Value> &captures) {
  MLIRContext *ctx = hooks.getContext();
  Operation *parent = region.getParentOp();
  Location loc = parent->getLoc();
  OpBuilder b(ctx);
  b.setInsertionPointToEnd(hooks.getBody());

  Type ptr = LLVM::LLVMPointerType::get(ctx), i64 = b.getI64Type(),
       index = b.getIndexType();
  // mask:  (caps, b, h, q, k0, n, allowed)   score: (caps, s, b, h, q, k0, n)
  SmallVector<Type> params =
      isScore ? SmallVector<Type>{ptr, ptr, i64, i64, i64, i64, i64}
              : SmallVector<Type>{ptr, i64, i64, i64, i64, i64, ptr};
  auto fn = func::FuncOp::create(b, loc, name, b.getFunctionType(params, {}));
  Block *entry = fn.addEntryBlock();
  b.setInsertionPointToStart(entry);
  Value caps = entry->getArgument(0);
  unsigned first = isScore ? 2 : 1;
  auto asIndex = [&](unsigned i) {
    return arith::IndexCastOp::create(b, loc, index, entry->getArgument(i))
        .getResult();
  };
  Value bI = asIndex(first), hI = asIndex(first + 1), qI = asIndex(first + 2),
        k0 = asIndex(first + 3), n = asIndex(first + 4);
  Value out = isScore ? entry->getArgument(1) : entry->getArgument(6);

  // Outer values: scalar constants are cloned, tensors become captures.
  // captureBytes: the bytes the hook reads through each capture index, for
  // the descriptor the runtime checks the launch against.
  IRMapping map;
  std::map<int64_t, int64_t> captureBytes;
  DenseMap<Value, Value> capturePtr;
  auto captureOf = [&](Value t) -> Value {
    auto it = capturePtr.find(t);
    if (it != capturePtr.end())
      return it->second;
    auto pos = llvm::find(captures, t);
    int64_t i = pos - captures.begin();
    if (pos == captures.end())
      captures.push_back(t);
    OpBuilder::InsertionGuard g(b);
    b.setInsertionPointToStart(entry);
    Value slot = LLVM::GEPOp::create(b, loc, ptr, ptr, caps,
                                       ArrayRef<LLVM::GEPArg>{
                                           static_cast<int32_t>(i)});
    Value p = LLVM::LoadOp::create(b, loc, ptr, slot);
    capturePtr[t] = p;
    return p;
  };
  WalkResult walk = region.walk([&](Operation *op) -> WalkResult {
    for (Value v : op->getOperands()) {
      if (region.isAncestor(v.getParentRegion()) || map.contains(v))
        continue;
      if (isa<RankedTensorType>(v.getType())) {
        if (!isa<tensor::ExtractOp>(op)) {
          op->emitError() << "attune-compile reads outer tensors in "
                             "attention regions through tensor.extract only";
          return WalkResult::interrupt();
        }
        continue;
      }
      Operation *def = v.getDefiningOp();
      if (!def || !def->hasTrait<OpTrait::ConstantLike>()) {
        op->emitError() << "attention regions may read outer scalar "
                           "constants and outer tensors only; this operand "
                           "is defined by "
                        << (def ? def->getName().getStringRef()
                                : StringRef("a block argument"));
        return WalkResult::interrupt();
      }
      OpBuilder::InsertionGuard g(b);
      b.setInsertionPointToStart(entry);
      map.map(v, b.clone(*def)->getResult(0));
    }
    return WalkResult::advance();
  });
  if (walk.wasInterrupted())
    return failure();

  Value c0 = arith::ConstantIndexOp::create(b, loc, 0);
  Value c1 = arith::ConstantIndexOp::create(b, loc, 1);
  auto loop = scf::ForOp::create(b, loc, c0, n, c1);
  b.setInsertionPointToStart(loop.getBody());
  Value j = loop.getInductionVar();
  Value k = arith::AddIOp::create(b, loc, k0, j);
  Value j64 = arith::IndexCastOp::create(b, loc, i64, j);

  Block &body = region.front();
  Value sPtr;
  if (isScore) {
    sPtr = LLVM::GEPOp::create(b, loc, ptr, b.getF32Type(), out,
                                 ArrayRef<LLVM::GEPArg>{j64});
    Value s = LLVM::LoadOp::create(b, loc, b.getF32Type(), sPtr);
    map.map(body.getArgument(0), s);
    map.map(body.getArgument(1), bI);
    map.map(body.getArgument(2), hI);
    map.map(body.getArgument(3), qI);
    map.map(body.getArgument(4), k);
  } else {
    map.map(body.getArgument(0), bI);
    map.map(body.getArgument(1), hI);
    map.map(body.getArgument(2), qI);
    map.map(body.getArgument(3), k);
  }

  // Clones the body; an extract from an outer tensor becomes a load through
  // its capture pointer, with indices clamped into the tensor so that a
  // region cannot read outside it.
  for (Operation &op : body.without_terminator()) {
    auto ex = dyn_cast<tensor::ExtractOp>(&op);
    if (!ex || region.isAncestor(ex.getTensor().getParentRegion())) {
      Operation *c = b.clone(op, map);
      // Nested extracts from outer tensors (inside scf.if and the like).
      WalkResult w = c->walk([&](tensor::ExtractOp inner) -> WalkResult {
        if (fn.getBody().isAncestor(inner.getTensor().getParentRegion()))
          return WalkResult::advance();
        inner->emitError() << "attune-compile reads outer tensors in "
                              "attention regions at the region's top level "
                              "only";
        return WalkResult::interrupt();
      });
      if (w.wasInterrupted())
        return failure();
      continue;
    }
    auto type = cast<RankedTensorType>(ex.getTensor().getType());
    if (!type.hasStaticShape() || type.getNumElements() == 0)
      return ex.emitError() << "attune-compile reads tensors of a static, "
                               "non-empty shape in attention regions; got "
                            << type;
    Value base = captureOf(ex.getTensor());
    {
      int64_t index = llvm::find(captures, ex.getTensor()) - captures.begin();
      int64_t elemBytes =
          type.getElementType().isInteger(1) ? 1
          : type.getElementType().isIndex()
              ? 8
              : type.getElementType().getIntOrFloatBitWidth() / 8;
      captureBytes[index] = type.getNumElements() * elemBytes;
    }
    Value lin = c0;
    for (auto [d, idx] : llvm::enumerate(ex.getIndices())) {
      Value i = map.lookupOrDefault(idx);
      int64_t dim = type.getDimSize(d);
      Value hi = arith::ConstantIndexOp::create(b, loc, dim - 1);
      i = arith::MinUIOp::create(b, loc, i, hi);
      lin = arith::AddIOp::create(b, 
          loc, arith::MulIOp::create(b, 
                   loc, lin, arith::ConstantIndexOp::create(b, loc, dim)),
          i);
    }
    Value lin64 = arith::IndexCastOp::create(b, loc, i64, lin);
    Type elem = type.getElementType();
    Type stored = elem.isInteger(1) ? b.getI8Type()
                  : elem.isIndex()  ? i64
                                    : elem;
    Value p = LLVM::GEPOp::create(b, loc, ptr, stored, base,
                                    ArrayRef<LLVM::GEPArg>{lin64});
    Value v = LLVM::LoadOp::create(b, loc, stored, p);
    if (elem.isInteger(1))
      v = arith::TruncIOp::create(b, loc, elem, v);
    else if (elem.isIndex())
      v = arith::IndexCastOp::create(b, loc, elem, v);
    map.map(ex.getResult(), v);
  }
  Value y = map.lookupOrDefault(body.getTerminator()->getOperand(0));
  if (isScore) {
    LLVM::StoreOp::create(b, loc, y, sPtr);
  } else {
    Value byte = arith::ExtUIOp::create(b, loc, b.getI8Type(), y);
    Value p = LLVM::GEPOp::create(b, loc, ptr, b.getI8Type(), out,
                                    ArrayRef<LLVM::GEPArg>{j64});
    LLVM::StoreOp::create(b, loc, byte, p);
  }
  b.setInsertionPointToEnd(entry);
  func::ReturnOp::create(b, loc);

  // <name>_captures = {n, index_0, bytes_0, ...}: which captures the hook
  // reads and how many bytes of each, so that the runtime can refuse a
  // launch whose capture list does not match (KernelABI.h).
  std::vector<int64_t> desc = {static_cast<int64_t>(captureBytes.size())};
  for (auto [index, bytes] : captureBytes) {
    desc.push_back(index);
    desc.push_back(bytes);
  }
  b.setInsertionPointToEnd(hooks.getBody());
  auto arrayType =
      LLVM::LLVMArrayType::get(i64, static_cast<unsigned>(desc.size()));
  auto valueType = RankedTensorType::get(
      {static_cast<int64_t>(desc.size())}, i64);
  LLVM::GlobalOp::create(b, loc, arrayType, /*isConstant=*/true,
                         LLVM::Linkage::External, (name + "_captures").str(),
                         DenseElementsAttr::get(valueType,
                                                ArrayRef<int64_t>(desc)));
  return success();
}

} // namespace attune::codegen
