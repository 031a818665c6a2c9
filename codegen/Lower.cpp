//===- Lower.cpp - attune functions to launch schedules -------------------===//
//
// Each op of a function becomes zero or more launches of a kernel family
// (include/attune/abi/Families.h): reshape and tensor.cast alias their input,
// checkpoint and reversible are inlined, chunked is unrolled into slices, a
// body per chunk and a concat. Values get ids; arguments, constants and
// results keep their own storage and every intermediate gets an offset in one
// arena, assigned from live ranges over the launch sequence so that storage
// is reused as soon as a value is dead.
//
//===----------------------------------------------------------------------===//

#include "attune/Codegen/Codegen.h"

#include "Hooks.h"

#include "attune/Dialect/Attune/AttuneDialect.h"
#include "attune/Dialect/Attune/AttuneOps.h"
#include "attune/Passes/Passes.h"
#include "attune/Reference/Interpreter.h"
#include "attune/Reference/Kernels.h"
#include "attune/abi/BlockMap.h"
#include "attune/abi/Families.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Transforms/Passes.h"
#include "llvm/ADT/TypeSwitch.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>

using namespace mlir;
namespace A = mlir::attune;

namespace attune::codegen {
namespace {

using artifact::FunctionDesc;
using artifact::LaunchDesc;
using artifact::ValueDesc;
using artifact::ValueKind;

constexpr uint64_t kAlign = 64;
uint64_t alignUp(uint64_t x) { return (x + kAlign - 1) / kAlign * kAlign; }

std::string locString(Location loc) {
  if (auto f = dyn_cast<FileLineColLoc>(loc))
    return (f.getFilename().strref() + ":" + Twine(f.getLine()) + ":" +
            Twine(f.getColumn()))
        .str();
  if (auto n = dyn_cast<NameLoc>(loc))
    return locString(n.getChildLoc());
  if (auto f = dyn_cast<FusedLoc>(loc))
    for (Location l : f.getLocations()) {
      std::string s = locString(l);
      if (!s.empty())
        return s;
    }
  if (auto c = dyn_cast<CallSiteLoc>(loc))
    return locString(c.getCallee());
  return "";
}

int64_t product(ArrayRef<int64_t> dims) {
  int64_t n = 1;
  for (int64_t d : dims)
    n *= d;
  return n;
}

/// The Families.h dtype code of an element type, or -1.
int64_t dtypeCode(Type t) {
  if (t.isF32())
    return ATTUNE_DT_F32;
  if (t.isF16())
    return ATTUNE_DT_F16;
  if (t.isBF16())
    return ATTUNE_DT_BF16;
  if (t.isF64())
    return ATTUNE_DT_F64;
  if (t.isIndex() || t.isInteger(64))
    return ATTUNE_DT_I64;
  if (t.isInteger(32))
    return ATTUNE_DT_I32;
  if (t.isInteger(16))
    return ATTUNE_DT_I16;
  if (t.isInteger(8))
    return ATTUNE_DT_I8;
  if (t.isInteger(1))
    return ATTUNE_DT_I1;
  return -1;
}

FailureOr<DType> storageDType(Type t) {
  StatusOr<DType> dt = ref::dtypeOf(t);
  if (!dt)
    return failure();
  return *dt;
}

/// Bits of an integer index tensor (ids, labels, positions, document ids):
/// the families read i32 and i64.
FailureOr<int64_t> indexBits(Operation *op, Value v, StringRef what) {
  int64_t code = dtypeCode(cast<RankedTensorType>(v.getType()).getElementType());
  if (code == ATTUNE_DT_I32)
    return 32;
  if (code == ATTUNE_DT_I64)
    return 64;
  op->emitError() << "attune-compile reads " << what
                  << " as i32, i64 or index; got "
                  << cast<RankedTensorType>(v.getType()).getElementType()
                  << " (cast them first)";
  return failure();
}

class FunctionLowering {
public:
  FunctionLowering(func::FuncOp func, LoweredModule &out)
      : func(func), out(out) {}

  LogicalResult run();
  FunctionDesc desc;
  /// The op each launch of desc came from.
  std::vector<Operation *> ops;

private:
  // --- values -------------------------------------------------------------
  FailureOr<int> newValue(Location loc, ValueKind kind, RankedTensorType type,
                          int64_t index = -1);
  FailureOr<int> idOf(Value v);
  RankedTensorType typeOf(Value v) {
    return cast<RankedTensorType>(v.getType());
  }
  FailureOr<int> result(Value v) {
    FailureOr<int> id = newValue(v.getLoc(), ValueKind::Arena, typeOf(v));
    if (succeeded(id))
      ids[v] = *id;
    return id;
  }
  LogicalResult constant(arith::ConstantOp op);

  // --- launches -----------------------------------------------------------
  LaunchDesc &launch(Operation *op, std::string kernel);
  FailureOr<std::string> suffix(Operation *op, Type elementType);

  LogicalResult lowerBlock(Block &block, ArrayRef<int> args,
                           SmallVectorImpl<int> &yields);
  LogicalResult lowerOp(Operation &op);
  LogicalResult lowerAttention(A::AttentionOp op);
  LogicalResult lowerHooks(A::AttentionOp op, LaunchDesc &l);
  LogicalResult lowerChunked(A::ChunkedOp op);
  LogicalResult lowerReversible(A::ReversibleOp op);
  FailureOr<int> emitBinary(Operation *op, int64_t kind, int a,
                            ArrayRef<int64_t> aShape, int b,
                            ArrayRef<int64_t> bShape, RankedTensorType type);
  LogicalResult emitCopy(Operation *op, int from, int to);
  FailureOr<int> emitSlice(Operation *op, int from, RankedTensorType fromType,
                           int64_t axis, int64_t start, int64_t size);

  func::FuncOp func;
  LoweredModule &out;
  DenseMap<Value, int> ids;
  int hookCounter = 0;
  /// Hooks already built for an attention op (a chunked body lowers the same
  /// op once per chunk): names and the outer tensors they capture.
  DenseMap<Operation *, std::pair<std::vector<std::string>, SmallVector<Value>>>
      hookCache;
};

FailureOr<int> FunctionLowering::newValue(Location loc, ValueKind kind,
                                          RankedTensorType type,
                                          int64_t index) {
  if (!type.hasStaticShape()) {
    emitError(loc) << "attune-compile needs static shapes; got " << type
                   << " (give the function static argument types)";
    return failure();
  }
  FailureOr<DType> dt = storageDType(type.getElementType());
  if (failed(dt)) {
    emitError(loc) << "no storage type for element type "
                   << type.getElementType();
    return failure();
  }
  ValueDesc v;
  v.kind = kind;
  v.index = index;
  v.offset = 0;
  v.dtype = *dt;
  v.shape.assign(type.getShape().begin(), type.getShape().end());
  v.bytes = static_cast<uint64_t>(product(type.getShape())) * dtypeSize(*dt);
  desc.values.push_back(v);
  return static_cast<int>(desc.values.size() - 1);
}

FailureOr<int> FunctionLowering::idOf(Value v) {
  auto it = ids.find(v);
  if (it != ids.end())
    return it->second;
  Location loc = v.getLoc();
  emitError(loc) << "internal: value used before it was lowered";
  return failure();
}

LogicalResult FunctionLowering::constant(arith::ConstantOp op) {
  auto type = dyn_cast<RankedTensorType>(op.getType());
  if (!type)
    return success(); // scalars only feed regions; hooks clone them
  auto attr = dyn_cast<DenseElementsAttr>(op.getValue());
  if (!attr)
    return op.emitError("attune-compile lowers dense tensor constants only");
  FailureOr<int> id = newValue(op.getLoc(), ValueKind::Constant, type);
  if (failed(id))
    return failure();
  ValueDesc &v = desc.values[*id];
  std::vector<uint8_t> &c = out.desc.constants;
  c.resize(alignUp(c.size()));
  v.offset = c.size();
  c.resize(c.size() + v.bytes);
  uint8_t *dst = c.data() + v.offset;
  size_t elem = dtypeSize(v.dtype);
  int64_t i = 0;
  if (isa<FloatType>(type.getElementType())) {
    for (APFloat f : attr.getValues<APFloat>()) {
      uint64_t bits = f.bitcastToAPInt().getZExtValue();
      std::memcpy(dst + i++ * elem, &bits, elem);
    }
  } else {
    for (APInt n : attr.getValues<APInt>()) {
      uint64_t bits = n.getBitWidth() == 1 ? n.getZExtValue()
                                           : n.sextOrTrunc(64).getZExtValue();
      std::memcpy(dst + i++ * elem, &bits, elem);
    }
  }
  ids[op.getResult()] = *id;
  return success();
}

LaunchDesc &FunctionLowering::launch(Operation *op, std::string kernel) {
  LaunchDesc l;
  l.kernel = std::move(kernel);
  l.op = op->getName().getStringRef().str();
  l.location = locString(op->getLoc());
  out.kernels.insert(l.kernel);
  desc.launches.push_back(std::move(l));
  ops.push_back(op);
  return desc.launches.back();
}

FailureOr<std::string> FunctionLowering::suffix(Operation *op,
                                                Type elementType) {
  if (elementType.isF32())
    return std::string("f32");
  if (elementType.isBF16())
    return std::string("bf16");
  if (elementType.isF16())
    return std::string("f16");
  op->emitError() << "attune-compile computes in f32, bf16 or f16; got "
                  << elementType
                  << " (run f64 models in attune-ref, or cast them)";
  return failure();
}

LogicalResult FunctionLowering::run() {
  desc.name = func.getName().str();
  FunctionType ft = func.getFunctionType();
  auto nameOf = [&](bool isResult, unsigned i) {
    StringAttr n = isResult ? func.getResultAttrOfType<StringAttr>(i, "attune.name")
                            : func.getArgAttrOfType<StringAttr>(i, "attune.name");
    return n ? n.str() : (isResult ? "result" : "arg") + std::to_string(i);
  };
  SmallVector<int> argIds;
  for (auto [i, t] : llvm::enumerate(ft.getInputs())) {
    auto type = dyn_cast<RankedTensorType>(t);
    if (!type)
      return func.emitError() << "argument #" << i << " has type " << t
                              << "; compiled functions take ranked tensors";
    FailureOr<int> id = newValue(func.getArgument(i).getLoc(),
                                 ValueKind::Argument, type, i);
    if (failed(id))
      return failure();
    artifact::TensorDesc td;
    td.name = nameOf(false, i);
    td.dtype = desc.values[*id].dtype;
    td.shape = desc.values[*id].shape;
    desc.arguments.push_back(td);
    argIds.push_back(*id);
  }
  std::set<std::string> names;
  for (auto &a : desc.arguments)
    if (!names.insert(a.name).second)
      return func.emitError() << "two arguments are named '" << a.name
                              << "'; arguments bind by name";
  for (auto [i, t] : llvm::enumerate(ft.getResults())) {
    auto type = dyn_cast<RankedTensorType>(t);
    if (!type || !type.hasStaticShape())
      return func.emitError() << "result #" << i << " has type " << t
                              << "; compiled functions return static tensors";
    artifact::TensorDesc td;
    td.name = nameOf(true, i);
    FailureOr<DType> dt = storageDType(type.getElementType());
    if (failed(dt))
      return func.emitError() << "result #" << i << ": no storage type for "
                              << type.getElementType();
    td.dtype = *dt;
    td.shape.assign(type.getShape().begin(), type.getShape().end());
    desc.results.push_back(td);
  }

  SmallVector<int> yields;
  if (failed(lowerBlock(func.getBody().front(), argIds, yields)))
    return failure();

  // Results: a value produced by a launch into the arena becomes the output
  // buffer itself; anything else (an argument, a constant, a value returned
  // twice) is copied.
  std::vector<bool> claimed(desc.values.size(), false);
  Operation *ret = func.getBody().front().getTerminator();
  for (auto [i, id] : llvm::enumerate(yields)) {
    ValueDesc &v = desc.values[id];
    if (v.kind == ValueKind::Arena && !claimed[id]) {
      claimed[id] = true;
      v.kind = ValueKind::Output;
      v.index = static_cast<int64_t>(i);
      v.shape = desc.results[i].shape;
      continue;
    }
    FailureOr<int> o = newValue(
        ret->getLoc(), ValueKind::Output,
        cast<RankedTensorType>(ft.getResult(i)), static_cast<int64_t>(i));
    if (failed(o) || failed(emitCopy(ret, id, *o)))
      return failure();
  }
  planArena(desc);
  return success();
}

LogicalResult FunctionLowering::lowerBlock(Block &block, ArrayRef<int> args,
                                           SmallVectorImpl<int> &yields) {
  for (auto [arg, id] : llvm::zip(block.getArguments(), args))
    ids[arg] = id;
  for (Operation &op : block) {
    if (op.hasTrait<OpTrait::IsTerminator>()) {
      for (Value v : op.getOperands()) {
        FailureOr<int> id = idOf(v);
        if (failed(id))
          return failure();
        yields.push_back(*id);
      }
      return success();
    }
    if (failed(lowerOp(op)))
      return failure();
  }
  return success();
}

/// Strides (in elements) of `shape` broadcast to an output of rank `rank`:
/// right-aligned, 0 where the dimension is 1 and broadcast (or missing).
std::vector<int64_t> broadcastStrides(ArrayRef<int64_t> shape,
                                      ArrayRef<int64_t> outShape) {
  size_t rank = outShape.size();
  std::vector<int64_t> strides(rank, 0);
  int64_t s = 1;
  for (size_t j = 0; j < shape.size(); ++j) {
    size_t di = shape.size() - 1 - j, oi = rank - 1 - j;
    strides[oi] = (shape[di] == 1 && outShape[oi] != 1) ? 0 : s;
    s *= shape[di];
  }
  return strides;
}

LogicalResult FunctionLowering::lowerOp(Operation &op) {
  auto ids3 = [&](ArrayRef<Value> vs,
                  SmallVectorImpl<int32_t> &outIds) -> LogicalResult {
    for (Value v : vs) {
      if (!v) {
        outIds.push_back(-1);
        continue;
      }
      FailureOr<int> id = idOf(v);
      if (failed(id))
        return failure();
      outIds.push_back(*id);
    }
    return success();
  };
  // Emits `kernel` with operand buffers `ins`, then fresh results.
  auto simple = [&](StringRef family, Type elementType, ArrayRef<Value> ins,
                    std::vector<int64_t> ints,
                    std::vector<double> floats = {}) -> LogicalResult {
    std::string kernel = ("attune_cpu_" + family).str();
    if (elementType) {
      FailureOr<std::string> s = suffix(&op, elementType);
      if (failed(s))
        return failure();
      kernel += "_" + *s;
    }
    SmallVector<int32_t> bufs;
    if (failed(ids3(ins, bufs)))
      return failure();
    for (Value r : op.getResults()) {
      FailureOr<int> id = result(r);
      if (failed(id))
        return failure();
      bufs.push_back(*id);
    }
    LaunchDesc &l = launch(&op, kernel);
    l.buffers.assign(bufs.begin(), bufs.end());
    l.ints = std::move(ints);
    l.floats = std::move(floats);
    return success();
  };
  auto shapeOf = [&](Value v) { return typeOf(v).getShape(); };
  auto elemOf = [&](Value v) { return typeOf(v).getElementType(); };

  // Limits of the families, refused here rather than at load time.
  if (isa<A::AddOp, A::SubOp, A::MulOp, A::DivOp, A::MaxOp, A::MinOp,
          A::PowOp, A::ReduceOp, A::TransposeOp>(op))
    for (Type t : op.getOperandTypes())
      if (cast<RankedTensorType>(t).getRank() > ATTUNE_CPU_MAX_RANK)
        return op.emitError() << "attune-compile handles tensors of rank up "
                                 "to "
                              << ATTUNE_CPU_MAX_RANK << " here; got " << t;
  if (isa<A::AttentionOp, A::DilatedAttentionOp, A::LshAttentionOp>(op))
    for (Value v : op.getOperands().take_front(
             isa<A::LshAttentionOp>(op) ? 2 : 3)) {
      int64_t d = typeOf(v).getShape().back();
      if (d > ATTUNE_CPU_MAX_HEAD_DIM)
        return op.emitError() << "the CPU attention families take head dims "
                                 "up to "
                              << ATTUNE_CPU_MAX_HEAD_DIM << "; got " << d;
    }
  if (auto a = dyn_cast<A::AttentionOp>(op))
    if (ArrayAttr mods = a.getScoreModsAttr())
      if (static_cast<int64_t>(mods.size()) > ATTUNE_CPU_MAX_SCORE_MODS)
        return op.emitError() << "attune-compile applies at most "
                              << ATTUNE_CPU_MAX_SCORE_MODS
                              << " score modifications; got " << mods.size();
  if (auto d = dyn_cast<A::DilatedAttentionOp>(op))
    if (static_cast<int64_t>(d.getSegments().size()) >
        ATTUNE_CPU_MAX_DILATED_BRANCHES)
      return op.emitError() << "attune-compile mixes at most "
                            << ATTUNE_CPU_MAX_DILATED_BRANCHES
                            << " dilated branches; got "
                            << d.getSegments().size();
  auto elemBytes = [&](Value v) -> int64_t {
    FailureOr<DType> dt = storageDType(elemOf(v));
    return succeeded(dt) ? static_cast<int64_t>(dtypeSize(*dt)) : 0;
  };

  return llvm::TypeSwitch<Operation *, LogicalResult>(&op)
      .Case([&](arith::ConstantOp c) { return constant(c); })
      .Case([&](A::AttentionOp a) { return lowerAttention(a); })
      .Case([&](A::DilatedAttentionOp a) -> LogicalResult {
        auto q = shapeOf(a.getQuery()), k = shapeOf(a.getKey()),
             v = shapeOf(a.getValue());
        std::vector<int64_t> ints = {q[0], q[1], k[1], q[2], k[2], q[3], v[3],
                                     a.getCausal() ? 1 : 0,
                                     static_cast<int64_t>(a.getSegments().size())};
        ints.insert(ints.end(), a.getSegments().begin(), a.getSegments().end());
        ints.insert(ints.end(), a.getRates().begin(), a.getRates().end());
        double scale = a.getScale() ? a.getScale()->convertToDouble()
                                    : 1.0 / std::sqrt(double(q[3]));
        return simple("dilated_attention", elemOf(a.getQuery()),
                      {a.getQuery(), a.getKey(), a.getValue()}, ints, {scale});
      })
      .Case([&](A::LshAttentionOp a) -> LogicalResult {
        auto x = shapeOf(a.getQk()), v = shapeOf(a.getValue());
        if (Value r = a.getRotations())
          if (elemOf(r) != elemOf(a.getQk()))
            return a.emitError()
                   << "attune-compile reads rotations in the dtype of qk ("
                   << elemOf(a.getQk()) << "); got " << elemOf(r)
                   << " (cast them)";
        std::vector<int64_t> ints = {
            x[0], x[1], x[2], x[3], v[3],
            static_cast<int64_t>(a.getNumBuckets()),
            static_cast<int64_t>(a.getNumRounds()),
            static_cast<int64_t>(a.getChunkSize()),
            static_cast<int64_t>(a.getSeed()), a.getCausal() ? 1 : 0};
        double scale = a.getScale() ? a.getScale()->convertToDouble()
                                    : 1.0 / std::sqrt(double(x[3]));
        // Buffer order: qk, v, out, lse, rotations.
        SmallVector<int32_t> bufs;
        if (failed(ids3({a.getQk(), a.getValue()}, bufs)))
          return failure();
        for (Value r : a->getResults()) {
          FailureOr<int> id = result(r);
          if (failed(id))
            return failure();
          bufs.push_back(*id);
        }
        if (failed(ids3({a.getRotations()}, bufs)))
          return failure();
        FailureOr<std::string> s = suffix(&op, elemOf(a.getQk()));
        if (failed(s))
          return failure();
        LaunchDesc &l = launch(&op, "attune_cpu_lsh_attention_" + *s);
        l.buffers.assign(bufs.begin(), bufs.end());
        l.ints = ints;
        l.floats = {scale};
        return success();
      })
      .Case([&](A::RMSNormOp n) {
        auto x = shapeOf(n.getInput());
        return simple("rms_norm", elemOf(n.getInput()),
                      {n.getInput(), n.getWeight()},
                      {product(x.drop_back()), x.back()},
                      {n.getEpsilon().convertToDouble()});
      })
      .Case([&](A::LayerNormOp n) {
        auto x = shapeOf(n.getInput());
        return simple("layer_norm", elemOf(n.getInput()),
                      {n.getInput(), n.getWeight(), n.getBias()},
                      {product(x.drop_back()), x.back()},
                      {n.getEpsilon().convertToDouble()});
      })
      .Case([&](A::RopeOp r) -> LogicalResult {
        auto x = shapeOf(r.getInput());
        int64_t rank = x.size();
        int64_t L = x[rank - 2], D = x[rank - 1];
        int64_t n0 = product(x.take_front(rank - 2));
        int64_t posKind = 0, posBits = 0;
        if (Value p = r.getPositions()) {
          posKind = shapeOf(p).size() == 1 ? 1 : 2;
          FailureOr<int64_t> bits = indexBits(&op, p, "positions");
          if (failed(bits))
            return failure();
          posBits = *bits;
        }
        int64_t rd = r.getRotaryDim() ? static_cast<int64_t>(*r.getRotaryDim())
                                      : 0;
        if (rd == 0)
          rd = D;
        return simple("rope", elemOf(r.getInput()),
                      {r.getInput(), r.getPositions()},
                      {n0, L, D, rank >= 3 ? x[0] : 1, posKind, posBits,
                       r.getInterleaved() ? 1 : 0, rd},
                      {r.getTheta().convertToDouble()});
      })
      .Case([&](A::LinearOp l) {
        auto x = shapeOf(l.getInput()), w = shapeOf(l.getWeight());
        return simple("linear", elemOf(l.getInput()),
                      {l.getInput(), l.getWeight(), l.getBias()},
                      {product(x.drop_back()), w[0], w[1]});
      })
      .Case([&](A::MLPOp m) -> LogicalResult {
        auto x = shapeOf(m.getInput()), up = shapeOf(m.getWUp()),
             down = shapeOf(m.getWDown());
        int64_t act = 0;
        switch (m.getActivation()) {
        case A::Activation::Silu:
          act = ATTUNE_ACT_SILU;
          break;
        case A::Activation::Gelu:
          act = ATTUNE_ACT_GELU;
          break;
        case A::Activation::GeluTanh:
          act = ATTUNE_ACT_GELU_TANH;
          break;
        case A::Activation::Relu:
          act = ATTUNE_ACT_RELU;
          break;
        }
        return simple("mlp", elemOf(m.getInput()),
                      {m.getInput(), m.getWUp(), m.getWDown(), m.getWGate(),
                       m.getBUp(), m.getBDown()},
                      {product(x.drop_back()), x.back(), up[0], down[0], act,
                       m.getWGate() ? 1 : 0});
      })
      .Case([&](A::EmbeddingOp e) -> LogicalResult {
        auto ids = shapeOf(e.getIds()), t = shapeOf(e.getTable());
        FailureOr<int64_t> bits = indexBits(&op, e.getIds(), "ids");
        if (failed(bits))
          return failure();
        return simple("embedding", elemOf(e.getTable()),
                      {e.getIds(), e.getTable()},
                      {product(ids), t[0], t[1], *bits});
      })
      .Case([&](A::SoftmaxOp s) {
        auto x = shapeOf(s.getInput());
        int64_t rank = x.size();
        int64_t axis = static_cast<int64_t>(s.getAxis());
        if (axis < 0)
          axis += rank;
        return simple("softmax", elemOf(s.getInput()), {s.getInput()},
                      {product(x.take_front(axis)), x[axis],
                       product(x.drop_front(axis + 1))});
      })
      .Case([&](A::CrossEntropyOp c) -> LogicalResult {
        auto x = shapeOf(c.getLogits());
        FailureOr<int64_t> bits = indexBits(&op, c.getLabels(), "labels");
        if (failed(bits))
          return failure();
        int64_t red = c.getReduction() == A::Reduction::None   ? 0
                      : c.getReduction() == A::Reduction::Mean ? 1
                                                               : 2;
        return simple(
            "cross_entropy", elemOf(c.getLogits()),
            {c.getLogits(), c.getLabels()},
            {x[0], x[1], *bits, static_cast<int64_t>(c.getIgnoreIndex()),
             red});
      })
      .Case<A::NegOp, A::ExpOp, A::LogOp, A::TanhOp, A::SqrtOp, A::RsqrtOp,
            A::SigmoidOp, A::AbsOp, A::SiluOp, A::GeluOp, A::GeluTanhOp,
            A::ReluOp>([&](Operation *u) {
        int64_t kind = llvm::TypeSwitch<Operation *, int64_t>(u)
                           .Case([](A::NegOp) { return 0; })
                           .Case([](A::ExpOp) { return 1; })
                           .Case([](A::LogOp) { return 2; })
                           .Case([](A::TanhOp) { return 3; })
                           .Case([](A::SqrtOp) { return 4; })
                           .Case([](A::RsqrtOp) { return 5; })
                           .Case([](A::SigmoidOp) { return 6; })
                           .Case([](A::AbsOp) { return 7; })
                           .Case([](A::SiluOp) { return 8; })
                           .Case([](A::GeluOp) { return 9; })
                           .Case([](A::GeluTanhOp) { return 10; })
                           .Default([](Operation *) { return 11; });
        Value x = u->getOperand(0);
        return simple("unary", elemOf(x), {x}, {product(shapeOf(x)), kind});
      })
      .Case<A::AddOp, A::SubOp, A::MulOp, A::DivOp, A::MaxOp, A::MinOp,
            A::PowOp>([&](Operation *b) -> LogicalResult {
        int64_t kind = llvm::TypeSwitch<Operation *, int64_t>(b)
                           .Case([](A::AddOp) { return 0; })
                           .Case([](A::SubOp) { return 1; })
                           .Case([](A::MulOp) { return 2; })
                           .Case([](A::DivOp) { return 3; })
                           .Case([](A::MaxOp) { return 4; })
                           .Case([](A::MinOp) { return 5; })
                           .Default([](Operation *) { return 6; });
        FailureOr<int> x = idOf(b->getOperand(0)), y = idOf(b->getOperand(1));
        if (failed(x) || failed(y))
          return failure();
        auto rt = cast<RankedTensorType>(b->getResult(0).getType());
        FailureOr<int> r =
            emitBinary(b, kind, *x, shapeOf(b->getOperand(0)), *y,
                       shapeOf(b->getOperand(1)), rt);
        if (failed(r))
          return failure();
        ids[b->getResult(0)] = *r;
        return success();
      })
      .Case([&](A::CastOp c) -> LogicalResult {
        Type from = elemOf(c.getInput()),
             to = cast<RankedTensorType>(c.getType()).getElementType();
        if (from == to) {
          FailureOr<int> id = idOf(c.getInput());
          if (failed(id))
            return failure();
          ids[c.getResult()] = *id;
          return success();
        }
        return simple("cast", Type(), {c.getInput()},
                      {product(shapeOf(c.getInput())), dtypeCode(from),
                       dtypeCode(to)});
      })
      .Case([&](A::MatmulOp m) -> LogicalResult {
        auto a = shapeOf(m.getLhs()), b = shapeOf(m.getRhs());
        auto y = cast<RankedTensorType>(m.getType()).getShape();
        int64_t M = a[a.size() - 2], K = a.back(), N = b.back();
        ArrayRef<int64_t> batch = y.drop_back(2);
        std::vector<int64_t> ints = {M, N, K,
                                     static_cast<int64_t>(batch.size())};
        ints.insert(ints.end(), batch.begin(), batch.end());
        // Batch strides in elements of whole matrices.
        auto bs = [&](ArrayRef<int64_t> s, int64_t matrix) {
          std::vector<int64_t> st =
              broadcastStrides(s.drop_back(2), batch);
          for (int64_t &x : st)
            x *= matrix;
          return st;
        };
        std::vector<int64_t> sa = bs(a, M * K), sb = bs(b, K * N);
        ints.insert(ints.end(), sa.begin(), sa.end());
        ints.insert(ints.end(), sb.begin(), sb.end());
        return simple("matmul", elemOf(m.getLhs()), {m.getLhs(), m.getRhs()},
                      ints);
      })
      .Case([&](A::TransposeOp t) {
        auto x = shapeOf(t.getInput());
        std::vector<int64_t> ints = {elemBytes(t.getInput()),
                                     static_cast<int64_t>(x.size())};
        ints.insert(ints.end(), x.begin(), x.end());
        ints.insert(ints.end(), t.getPermutation().begin(),
                    t.getPermutation().end());
        return simple("transpose", Type(), {t.getInput()}, ints);
      })
      .Case<A::ReshapeOp, tensor::CastOp>([&](Operation *r) -> LogicalResult {
        FailureOr<int> id = idOf(r->getOperand(0));
        if (failed(id))
          return failure();
        ids[r->getResult(0)] = *id;
        return success();
      })
      .Case([&](A::ReduceOp r) {
        auto x = shapeOf(r.getInput());
        int64_t kind = r.getKind() == A::ReduceKind::Sum    ? 0
                       : r.getKind() == A::ReduceKind::Mean ? 1
                                                            : 2;
        std::vector<int64_t> ints = {kind, static_cast<int64_t>(x.size())};
        ints.insert(ints.end(), x.begin(), x.end());
        std::vector<int64_t> flags(x.size(), 0);
        for (int64_t a : r.getAxes())
          flags[a] = 1;
        ints.insert(ints.end(), flags.begin(), flags.end());
        return simple("reduce", elemOf(r.getInput()), {r.getInput()}, ints);
      })
      .Case([&](A::ConcatOp c) {
        auto y = cast<RankedTensorType>(c.getType()).getShape();
        int64_t axis = static_cast<int64_t>(c.getAxis());
        if (axis < 0)
          axis += static_cast<int64_t>(y.size());
        std::vector<int64_t> ints = {
            elemBytes(c.getResult()),
            static_cast<int64_t>(c.getInputs().size()),
            product(y.take_front(axis)), product(y.drop_front(axis + 1))};
        for (Value v : c.getInputs())
          ints.push_back(shapeOf(v)[axis]);
        SmallVector<Value> ins(c.getInputs().begin(), c.getInputs().end());
        return simple("concat", Type(), ins, ints);
      })
      .Case([&](A::SliceOp s) -> LogicalResult {
        FailureOr<int> x = idOf(s.getInput());
        if (failed(x))
          return failure();
        int64_t axis = static_cast<int64_t>(s.getAxis());
        if (axis < 0)
          axis += typeOf(s.getInput()).getRank();
        FailureOr<int> r = emitSlice(s, *x, typeOf(s.getInput()), axis,
                                     static_cast<int64_t>(s.getStart()),
                                     static_cast<int64_t>(s.getSize()));
        if (failed(r))
          return failure();
        ids[s.getResult()] = *r;
        return success();
      })
      .Case([&](A::CheckpointOp c) -> LogicalResult {
        // Forward semantics: the body on the operands.
        SmallVector<int> args, ys;
        for (Value v : c.getInputs()) {
          FailureOr<int> id = idOf(v);
          if (failed(id))
            return failure();
          args.push_back(*id);
        }
        if (failed(lowerBlock(c.getBody().front(), args, ys)))
          return failure();
        for (auto [r, id] : llvm::zip(c.getResults(), ys))
          ids[r] = id;
        return success();
      })
      .Case([&](A::ReversibleOp r) { return lowerReversible(r); })
      .Case([&](A::ChunkedOp c) { return lowerChunked(c); })
      .Default([&](Operation *o) -> LogicalResult {
        return o->emitError()
               << "attune-compile cannot lower '" << o->getName()
               << "' (it lowers attune ops, arith.constant and tensor.cast; "
                  "calls are inlined first)";
      });
}

FailureOr<int> FunctionLowering::emitBinary(Operation *op, int64_t kind, int a,
                                            ArrayRef<int64_t> aShape, int b,
                                            ArrayRef<int64_t> bShape,
                                            RankedTensorType type) {
  FailureOr<std::string> s = suffix(op, type.getElementType());
  if (failed(s))
    return failure();
  FailureOr<int> r = newValue(op->getLoc(), ValueKind::Arena, type);
  if (failed(r))
    return failure();
  ArrayRef<int64_t> y = type.getShape();
  std::vector<int64_t> ints = {kind, static_cast<int64_t>(y.size())};
  ints.insert(ints.end(), y.begin(), y.end());
  std::vector<int64_t> sa = broadcastStrides(aShape, y),
                       sb = broadcastStrides(bShape, y);
  ints.insert(ints.end(), sa.begin(), sa.end());
  ints.insert(ints.end(), sb.begin(), sb.end());
  LaunchDesc &l = launch(op, "attune_cpu_binary_" + *s);
  l.buffers = {a, b, *r};
  l.ints = ints;
  return r;
}

LogicalResult FunctionLowering::emitCopy(Operation *op, int from, int to) {
  LaunchDesc &l = launch(op, "attune_cpu_copy");
  l.buffers = {from, to};
  l.ints = {static_cast<int64_t>(desc.values[to].bytes)};
  return success();
}

FailureOr<int> FunctionLowering::emitSlice(Operation *op, int from,
                                           RankedTensorType fromType,
                                           int64_t axis, int64_t start,
                                           int64_t size) {
  SmallVector<int64_t> shape(fromType.getShape());
  shape[axis] = size;
  auto type = RankedTensorType::get(shape, fromType.getElementType());
  FailureOr<int> r = newValue(op->getLoc(), ValueKind::Arena, type);
  if (failed(r))
    return failure();
  ArrayRef<int64_t> x = fromType.getShape();
  LaunchDesc &l = launch(op, "attune_cpu_slice");
  l.buffers = {from, *r};
  l.ints = {static_cast<int64_t>(dtypeSize(desc.values[from].dtype)),
            product(x.take_front(axis)), x[axis],
            product(x.drop_front(axis + 1)), start, size};
  return r;
}

LogicalResult FunctionLowering::lowerReversible(A::ReversibleOp r) {
  // y1 = x1 + F(x2); y2 = x2 + G(y1).
  FailureOr<int> x1 = idOf(r.getX1()), x2 = idOf(r.getX2());
  if (failed(x1) || failed(x2))
    return failure();
  SmallVector<int> f, g;
  if (failed(lowerBlock(r.getF().front(), {*x2}, f)))
    return failure();
  ArrayRef<int64_t> s1 = typeOf(r.getY1()).getShape(),
                    s2 = typeOf(r.getY2()).getShape();
  FailureOr<int> y1 = emitBinary(r, 0, *x1, s1, f[0], s1, typeOf(r.getY1()));
  if (failed(y1))
    return failure();
  if (failed(lowerBlock(r.getG().front(), {*y1}, g)))
    return failure();
  FailureOr<int> y2 = emitBinary(r, 0, *x2, s2, g[0], s2, typeOf(r.getY2()));
  if (failed(y2))
    return failure();
  ids[r.getY1()] = *y1;
  ids[r.getY2()] = *y2;
  return success();
}

LogicalResult FunctionLowering::lowerChunked(A::ChunkedOp c) {
  FailureOr<int> x = idOf(c.getInput());
  if (failed(x))
    return failure();
  RankedTensorType xt = typeOf(c.getInput());
  int64_t axis = static_cast<int64_t>(c.getAxis()); // verified in [0, rank)
  int64_t chunk = static_cast<int64_t>(c.getChunkSize());
  int64_t n = xt.getDimSize(axis) / chunk;
  if (n == 0) {
    // An empty axis: the results are empty too; nothing runs.
    for (Value r : c.getResults()) {
      FailureOr<int> id = result(r);
      if (failed(id))
        return failure();
    }
    return success();
  }
  constexpr int64_t kMaxChunks = 4096;
  if (n > kMaxChunks)
    return c.emitError() << "chunked unrolls into " << n
                         << " chunks; attune-compile takes at most "
                         << kMaxChunks << " (use a larger chunk_size)";
  std::vector<SmallVector<int>> perChunk;
  for (int64_t i = 0; i < n; ++i) {
    int in = *x;
    if (n > 1) {
      FailureOr<int> s = emitSlice(c, *x, xt, axis, i * chunk, chunk);
      if (failed(s))
        return failure();
      in = *s;
    }
    SmallVector<int> ys;
    if (failed(lowerBlock(c.getBody().front(), {in}, ys)))
      return failure();
    perChunk.push_back(ys);
  }
  for (auto [j, r] : llvm::enumerate(c.getResults())) {
    if (n == 1) {
      ids[r] = perChunk[0][j];
      continue;
    }
    RankedTensorType rt = typeOf(r);
    FailureOr<int> y = newValue(c.getLoc(), ValueKind::Arena, rt);
    if (failed(y))
      return failure();
    ArrayRef<int64_t> s = rt.getShape();
    std::vector<int64_t> ints = {
        static_cast<int64_t>(dtypeSize(desc.values[*y].dtype)), n,
        product(s.take_front(axis)), product(s.drop_front(axis + 1))};
    LaunchDesc &l = launch(c, "attune_cpu_concat");
    for (int64_t i = 0; i < n; ++i) {
      l.buffers.push_back(perChunk[i][j]);
      ints.push_back(chunk);
    }
    l.buffers.push_back(*y);
    l.ints = ints;
    ids[r] = *y;
  }
  return success();
}

//===----------------------------------------------------------------------===//
// Attention
//===----------------------------------------------------------------------===//

void encodeMask(const ref::MaskTerm &t, std::vector<int64_t> &p) {
  using K = ref::MaskTerm::Kind;
  switch (t.kind) {
  case K::And:
  case K::Or:
    p.push_back(t.kind == K::And ? ATTUNE_MASK_AND : ATTUNE_MASK_OR);
    p.push_back(static_cast<int64_t>(t.children.size()));
    for (const ref::MaskTerm &c : t.children)
      encodeMask(c, p);
    return;
  case K::Causal:
    p.insert(p.end(), {ATTUNE_MASK_CAUSAL, t.bottomRight ? 1 : 0});
    return;
  case K::SlidingWindow:
    p.insert(p.end(),
             {ATTUNE_MASK_WINDOW, t.left, t.right, t.bottomRight ? 1 : 0});
    return;
  case K::Global:
    p.push_back(ATTUNE_MASK_GLOBAL);
    p.push_back(static_cast<int64_t>(t.tokens.size()));
    p.insert(p.end(), t.tokens.begin(), t.tokens.end());
    return;
  case K::BlockSparse: {
    bool perHead = t.layoutShape.size() == 3;
    p.insert(p.end(), {ATTUNE_MASK_BLOCK_SPARSE, t.blockQ, t.blockK,
                       perHead ? t.layoutShape[0] : 0,
                       t.layoutShape[perHead ? 1 : 0],
                       t.layoutShape[perHead ? 2 : 1]});
    for (uint8_t b : t.layout)
      p.push_back(b);
    return;
  }
  case K::Strided:
    p.insert(p.end(), {ATTUNE_MASK_STRIDED, t.stride});
    return;
  case K::Dilated:
    p.insert(p.end(), {ATTUNE_MASK_DILATED, t.segment, t.rate,
                       t.offset ? *t.offset : -1});
    return;
  case K::Document:
    p.push_back(ATTUNE_MASK_DOCUMENT);
    return;
  case K::PrefixLM:
    p.insert(p.end(), {ATTUNE_MASK_PREFIX_LM, t.prefix});
    return;
  }
}

/// True when the term's allowed set depends on the head (the block map then
/// has one layer per query head).
bool dependsOnHead(const ref::MaskTerm &t) {
  using K = ref::MaskTerm::Kind;
  if (t.kind == K::Dilated)
    return !t.offset.has_value();
  if (t.kind == K::BlockSparse)
    return t.layoutShape.size() == 3;
  for (const ref::MaskTerm &c : t.children)
    if (dependsOnHead(c))
      return true;
  return false;
}

bool usesDocuments(const ref::MaskTerm &t) {
  if (t.kind == ref::MaskTerm::Kind::Document)
    return true;
  for (const ref::MaskTerm &c : t.children)
    if (usesDocuments(c))
      return true;
  return false;
}

LogicalResult FunctionLowering::lowerAttention(A::AttentionOp a) {
  FailureOr<std::string> s = suffix(a, typeOf(a.getQuery()).getElementType());
  if (failed(s))
    return failure();
  auto q = typeOf(a.getQuery()).getShape(), k = typeOf(a.getKey()).getShape(),
       v = typeOf(a.getValue()).getShape();
  int64_t B = q[0], Hq = q[1], Hkv = k[1], Lq = q[2], Lk = k[2], D = q[3],
          Dv = v[3];
  const int64_t BQ = ATTUNE_CPU_ATTN_BLOCK_Q, BK = ATTUNE_CPU_ATTN_BLOCK_K;

  std::vector<int64_t> maskProg, scoreProg;
  std::vector<double> floats;
  floats.push_back(a.getScale() ? a.getScale()->convertToDouble()
                                : 1.0 / std::sqrt(static_cast<double>(D)));
  std::optional<ref::MaskTerm> mask;
  if (A::MaskAttrInterface m = a.getMaskAttr()) {
    mask = ref::maskTermFromAttr(m);
    encodeMask(*mask, maskProg);
  }
  if (ArrayAttr mods = a.getScoreModsAttr()) {
    std::vector<ref::ScoreMod> sm = ref::scoreModsFromAttr(mods);
    scoreProg.push_back(static_cast<int64_t>(sm.size()));
    for (const ref::ScoreMod &mod : sm) {
      if (mod.kind == ref::ScoreMod::Kind::Alibi) {
        std::vector<double> slopes =
            mod.slopes.empty() ? ref::alibiSlopes(Hq) : mod.slopes;
        scoreProg.insert(scoreProg.end(),
                         {ATTUNE_SCORE_ALIBI,
                          static_cast<int64_t>(floats.size()),
                          static_cast<int64_t>(slopes.size())});
        floats.insert(floats.end(), slopes.begin(), slopes.end());
      } else {
        scoreProg.insert(scoreProg.end(),
                         {ATTUNE_SCORE_SOFTCAP,
                          static_cast<int64_t>(floats.size())});
        floats.push_back(mod.cap);
      }
    }
  }

  // A static mask gets its block map now: one byte per (head layer, q tile,
  // k tile). Masks that read document ids are classified by the kernel.
  int64_t mapHeads = 0;
  int blockMap = -1;
  // Beyond kMaxBlockMapBytes the kernel classifies tiles itself (cheap per
  // tile) rather than the artifact carrying a map that grows with L^2.
  constexpr int64_t kMaxBlockMapBytes = 4 << 20;
  int64_t nQT = (Lq + BQ - 1) / BQ, nKT = (Lk + BK - 1) / BK;
  int64_t layers = mask && dependsOnHead(*mask) ? Hq : 1;
  if (mask && !usesDocuments(*mask) &&
      layers * nQT * nKT <= kMaxBlockMapBytes) {
    std::string err;
    ::attune::abi::MaskProgram prog;
    if (!::attune::abi::decodeMask(maskProg.data(),
                                 static_cast<int64_t>(maskProg.size()), prog,
                                 err) ||
        !::attune::abi::validateMaskFor(prog, Lq, Lk, Hq, err))
      return a.emitError() << "internal: mask program rejected: " << err;
    mapHeads = layers;
    auto mapType = RankedTensorType::get(
        {mapHeads, nQT, nKT}, IntegerType::get(a.getContext(), 8));
    FailureOr<int> id = newValue(a.getLoc(), ValueKind::Constant, mapType);
    if (failed(id))
      return failure();
    ValueDesc &mv = desc.values[*id];
    std::vector<uint8_t> &c = out.desc.constants;
    c.resize(alignUp(c.size()));
    mv.offset = c.size();
    for (int64_t h = 0; h < mapHeads; ++h)
      for (int64_t qt = 0; qt < nQT; ++qt)
        for (int64_t kt = 0; kt < nKT; ++kt)
          c.push_back(static_cast<uint8_t>(::attune::abi::classifyTile(
              prog, /*b=*/0, h, qt * BQ, std::min(Lq, (qt + 1) * BQ),
              kt * BK, std::min(Lk, (kt + 1) * BK), Lq, Lk)));
    blockMap = *id;
  }

  int64_t docBits = 0;
  if (Value d = a.getQDocIds()) {
    FailureOr<int64_t> qBits = indexBits(a, d, "document ids");
    FailureOr<int64_t> kBits = indexBits(a, a.getKvDocIds(), "document ids");
    if (failed(qBits) || failed(kBits))
      return failure();
    docBits = *qBits;
    if (*kBits != *qBits)
      return a.emitError()
             << "attune-compile needs q and kv document ids of one integer "
                "type; got "
             << typeOf(a.getQDocIds()).getElementType() << " and "
             << typeOf(a.getKvDocIds()).getElementType()
             << " (cast one of them)";
  }

  std::vector<int64_t> ints = {B,  Hq, Hkv, Lq,      Lk,       D,
                               Dv, BQ, BK,  docBits, mapHeads,
                               static_cast<int64_t>(maskProg.size()),
                               static_cast<int64_t>(scoreProg.size())};
  ints.insert(ints.end(), maskProg.begin(), maskProg.end());
  ints.insert(ints.end(), scoreProg.begin(), scoreProg.end());

  SmallVector<int32_t> bufs;
  for (Value in : {a.getQuery(), a.getKey(), a.getValue()}) {
    FailureOr<int> id = idOf(in);
    if (failed(id))
      return failure();
    bufs.push_back(*id);
  }
  for (Value r : a->getResults()) {
    FailureOr<int> id = result(r);
    if (failed(id))
      return failure();
    bufs.push_back(*id);
  }
  for (Value d : {a.getQDocIds(), a.getKvDocIds()}) {
    if (!d) {
      bufs.push_back(-1);
      continue;
    }
    FailureOr<int> id = idOf(d);
    if (failed(id))
      return failure();
    bufs.push_back(*id);
  }
  bufs.push_back(blockMap);

  LaunchDesc &l = launch(a, "attune_cpu_attention_" + *s);
  l.buffers.assign(bufs.begin(), bufs.end());
  l.ints = std::move(ints);
  l.floats = std::move(floats);
  return lowerHooks(a, l);
}

LogicalResult FunctionLowering::lowerHooks(A::AttentionOp a, LaunchDesc &l) {
  if (a.getMaskFn().empty() && a.getScoreFn().empty())
    return success();
  // `l` may move when launches grow: remember its index.
  size_t index = &l - desc.launches.data();
  auto cached = hookCache.find(a);
  if (cached == hookCache.end()) {
    std::vector<std::string> hooks = {"", ""};
    // Both hooks receive the launch's one capture list; each hook appends
    // the outer tensors it reads and indexes the list by position.
    SmallVector<Value> captures;
    // Symbols are C identifiers whatever the function is called.
    std::string fn = desc.name;
    for (char &ch : fn)
      if (!std::isalnum(static_cast<unsigned char>(ch)))
        ch = '_';
    for (int which = 0; which < 2; ++which) {
      Region &region = which == 0 ? a.getMaskFn() : a.getScoreFn();
      if (region.empty())
        continue;
      std::string name;
      do // unique in the module, even for functions that sanitize alike
        name = ("attune_hook_" + fn + "_" + Twine(hookCounter++) +
                (which ? "_score" : "_mask"))
                   .str();
      while (out.hooks->lookupSymbol(name));
      if (failed(buildHook(region, which == 1, name, *out.hooks, captures)))
        return failure();
      hooks[which] = name;
    }
    cached = hookCache.insert({a, {hooks, captures}}).first;
  }
  const std::vector<std::string> &hooks = cached->second.first;
  const SmallVector<Value> &captures = cached->second.second;
  std::vector<int32_t> captureIds;
  for (Value v : captures) {
    FailureOr<int> id = idOf(v);
    if (failed(id))
      return failure();
    captureIds.push_back(*id);
  }
  desc.launches[index].hooks = hooks;
  desc.launches[index].captures = captureIds;
  return success();
}

} // namespace

void planArena(FunctionDesc &desc) {
  // Live range of each arena value over launch indices.
  size_t n = desc.values.size();
  std::vector<int64_t> first(n, -1), last(n, -1);
  for (size_t i = 0; i < desc.launches.size(); ++i) {
    const LaunchDesc &l = desc.launches[i];
    auto touch = [&](int32_t id) {
      if (id < 0)
        return;
      if (first[id] < 0)
        first[id] = static_cast<int64_t>(i);
      last[id] = static_cast<int64_t>(i);
    };
    for (int32_t id : l.buffers)
      touch(id);
    for (int32_t id : l.captures)
      touch(id);
    for (const artifact::GpuStepDesc &g : l.gpu)
      for (int32_t id : g.args)
        touch(id);
  }
  std::vector<int> order;
  for (size_t i = 0; i < n; ++i)
    if (desc.values[i].kind == ValueKind::Arena && first[i] >= 0)
      order.push_back(static_cast<int>(i));
  std::stable_sort(order.begin(), order.end(),
                   [&](int x, int y) { return first[x] < first[y]; });
  // Greedy first fit over the blocks still live.
  struct Block {
    uint64_t offset, size;
    int64_t last;
  };
  std::vector<Block> live;
  uint64_t total = 0;
  for (int id : order) {
    live.erase(std::remove_if(live.begin(), live.end(),
                              [&](const Block &b) { return b.last < first[id]; }),
               live.end());
    std::sort(live.begin(), live.end(),
              [](const Block &x, const Block &y) { return x.offset < y.offset; });
    uint64_t size = alignUp(std::max<uint64_t>(desc.values[id].bytes, 1));
    uint64_t offset = 0;
    for (const Block &b : live) {
      if (offset + size <= b.offset)
        break;
      offset = std::max(offset, b.offset + b.size);
    }
    desc.values[id].offset = offset;
    live.push_back({offset, size, last[id]});
    total = std::max(total, offset + size);
  }
  desc.arenaBytes = total;
}

FailureOr<LoweredModule> lowerModule(ModuleOp module,
                                     const std::vector<std::string> &functions) {
  MLIRContext *ctx = module.getContext();
  // Graph pipeline: inline calls, narrow shapes, simplify.
  PassManager pm(ctx);
  pm.addPass(createInlinerPass());
  pm.addPass(A::createAttuneInferShapes());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  if (failed(pm.run(module)))
    return failure();

  LoweredModule out;
  out.hooks = ModuleOp::create(UnknownLoc::get(ctx));
  std::vector<func::FuncOp> todo;
  for (auto f : module.getOps<func::FuncOp>()) {
    if (f.isExternal())
      continue;
    bool wanted = functions.empty()
                      ? f.isPublic()
                      : llvm::is_contained(functions, f.getName().str());
    if (wanted)
      todo.push_back(f);
  }
  for (const std::string &name : functions)
    if (!module.lookupSymbol<func::FuncOp>(name)) {
      emitError(module.getLoc()) << "no function @" << name << " in the module";
      return failure();
    }
  if (todo.empty()) {
    emitError(module.getLoc()) << "no public function with a body to compile";
    return failure();
  }
  for (func::FuncOp f : todo) {
    FunctionLowering fl(f, out);
    if (failed(fl.run()))
      return failure();
    out.desc.functions.push_back(std::move(fl.desc));
    out.launchOps.push_back(std::move(fl.ops));
  }
  return out;
}

} // namespace attune::codegen
