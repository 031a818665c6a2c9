//===- Interpreter.cpp - Run attune functions on host tensors -------------===//
//
// A tree-walking interpreter over SSA values. Tensors go to the reference
// kernels; scalars (in mask and score regions) are doubles or int64s. It
// trusts nothing about its inputs: arguments are checked against the
// signature and kernel failures come back as Statuses naming the op.
//
//===----------------------------------------------------------------------===//

#include "attune/Reference/Interpreter.h"

#include "attune/Dialect/Attune/AttuneOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/TypeSwitch.h"
#include "llvm/Support/raw_ostream.h"

#include <cmath>
#include <memory>

using namespace mlir;
namespace A = mlir::attune;

namespace attune::ref {

StatusOr<DType> dtypeOf(Type t) {
  if (t.isF64())
    return DType::F64;
  if (t.isF32())
    return DType::F32;
  if (t.isF16())
    return DType::F16;
  if (t.isBF16())
    return DType::BF16;
  if (t.isIndex() || t.isInteger(64))
    return DType::I64;
  if (t.isInteger(32))
    return DType::I32;
  if (t.isInteger(16))
    return DType::I16;
  if (t.isInteger(8))
    return DType::I8;
  if (t.isInteger(1))
    return DType::Bool;
  std::string s;
  llvm::raw_string_ostream os(s);
  os << t;
  return unimplemented("the reference evaluator has no element type " + s);
}

namespace {

std::string str(Type t) {
  std::string s;
  llvm::raw_string_ostream os(s);
  os << t;
  return s;
}

std::string str(Location loc) {
  std::string s;
  llvm::raw_string_ostream os(s);
  os << loc;
  return s;
}

/// A runtime value: a tensor, or a scalar of a region.
struct Val {
  enum class Kind { Tensor, Float, Int } kind = Kind::Tensor;
  RefTensor tensor;
  double f = 0;
  int64_t i = 0;

  static Val ofTensor(RefTensor t) {
    Val v;
    v.tensor = std::move(t);
    return v;
  }
  static Val ofFloat(double f) {
    Val v;
    v.kind = Kind::Float;
    v.f = f;
    return v;
  }
  static Val ofInt(int64_t i) {
    Val v;
    v.kind = Kind::Int;
    v.i = i;
    return v;
  }
};

StatusOr<std::vector<ValueInfo>> describe(TypeRange types, func::FuncOp func,
                                          bool results) {
  std::vector<ValueInfo> infos;
  for (auto [i, type] : llvm::enumerate(types)) {
    auto tensor = llvm::dyn_cast<RankedTensorType>(type);
    std::string what = (results ? "result #" : "argument #") +
                       std::to_string(i) + " of @" + func.getName().str();
    if (!tensor)
      return unimplemented(what + " has type " + str(type) +
                           "; the reference evaluator takes ranked tensors");
    StatusOr<DType> dtype = dtypeOf(tensor.getElementType());
    if (!dtype)
      return invalidArgument(what + ": " + dtype.status().message());
    ValueInfo info;
    StringAttr name =
        results ? func.getResultAttrOfType<StringAttr>(i, "attune.name")
                : func.getArgAttrOfType<StringAttr>(i, "attune.name");
    info.name =
        name ? name.str() : (results ? "result" : "arg") + std::to_string(i);
    info.dtype = *dtype;
    for (int64_t d : tensor.getShape())
      info.shape.push_back(ShapedType::isDynamic(d) ? -1 : d);
    infos.push_back(std::move(info));
  }
  return infos;
}

} // namespace

MaskTerm maskTermFromAttr(Attribute attr) {
  MaskTerm t;
  llvm::TypeSwitch<Attribute>(attr)
      .Case([&](A::CausalAttr a) {
        t.kind = MaskTerm::Kind::Causal;
        t.bottomRight = a.getAlign() == A::Alignment::BottomRight;
      })
      .Case([&](A::SlidingWindowAttr a) {
        t.kind = MaskTerm::Kind::SlidingWindow;
        t.left = a.getLeft();
        t.right = a.getRight();
        t.bottomRight = a.getAlign() == A::Alignment::BottomRight;
      })
      .Case([&](A::GlobalAttr a) {
        t.kind = MaskTerm::Kind::Global;
        t.tokens.assign(a.getTokens().begin(), a.getTokens().end());
      })
      .Case([&](A::BlockSparseAttr a) {
        t.kind = MaskTerm::Kind::BlockSparse;
        t.blockQ = a.getBlockQ();
        t.blockK = a.getBlockK();
        auto type = llvm::cast<ShapedType>(a.getLayout().getType());
        t.layoutShape.assign(type.getShape().begin(), type.getShape().end());
        for (APInt v : a.getLayout().getValues<APInt>())
          t.layout.push_back(v.isZero() ? 0 : 1);
      })
      .Case([&](A::StridedAttr a) {
        t.kind = MaskTerm::Kind::Strided;
        t.stride = a.getStride();
      })
      .Case([&](A::DilatedAttr a) {
        t.kind = MaskTerm::Kind::Dilated;
        t.segment = a.getSegment();
        t.rate = a.getRate();
        t.offset = a.getOffset();
      })
      .Case([&](A::DocumentAttr) { t.kind = MaskTerm::Kind::Document; })
      .Case([&](A::PrefixLMAttr a) {
        t.kind = MaskTerm::Kind::PrefixLM;
        t.prefix = a.getPrefix();
      })
      .Case([&](A::AndAttr a) {
        t.kind = MaskTerm::Kind::And;
        for (Attribute c : a.getTerms())
          t.children.push_back(maskTermFromAttr(c));
      })
      .Case([&](A::OrAttr a) {
        t.kind = MaskTerm::Kind::Or;
        for (Attribute c : a.getTerms())
          t.children.push_back(maskTermFromAttr(c));
      });
  return t;
}

std::vector<ScoreMod> scoreModsFromAttr(ArrayAttr mods) {
  std::vector<ScoreMod> out;
  for (Attribute m : mods) {
    ScoreMod mod;
    if (auto alibi = llvm::dyn_cast<A::AlibiAttr>(m)) {
      mod.kind = ScoreMod::Kind::Alibi;
      if (DenseF64ArrayAttr slopes = alibi.getSlopes())
        mod.slopes.assign(slopes.asArrayRef().begin(),
                          slopes.asArrayRef().end());
    } else {
      mod.kind = ScoreMod::Kind::Softcap;
      mod.cap = llvm::cast<A::SoftcapAttr>(m).getCap().convertToDouble();
    }
    out.push_back(mod);
  }
  return out;
}

namespace {

class Interpreter {
public:
  Interpreter(ModuleOp module, Precision precision)
      : module(module), precision(precision) {}

  Status call(func::FuncOp func, std::vector<RefTensor> args,
              std::vector<RefTensor> &results, int depth);

private:
  Status evalBlock(Block &block, ArrayRef<Val> args,
                   SmallVectorImpl<Val> &yields, int depth);
  Status evalOp(Operation &op, int depth);
  Status evalAttune(Operation &op, int depth);
  Status evalScalar(Operation &op);

  const Val *lookup(Value v) const {
    auto it = env.find(v);
    return it == env.end() ? nullptr : it->second.get();
  }
  /// Binds `v`. Values live behind pointers so that a kernel can hold
  /// references to its operands while its regions bind new values (and grow
  /// the map); a rebinding (a region evaluated again) reuses the slot.
  void bind(Value v, Val val) {
    std::unique_ptr<Val> &slot = env[v];
    if (slot)
      *slot = std::move(val);
    else
      slot = std::make_unique<Val>(std::move(val));
  }
  const RefTensor *tensor(Value v) const {
    if (!v)
      return nullptr;
    const Val *val = lookup(v);
    return val && val->kind == Val::Kind::Tensor ? &val->tensor : nullptr;
  }
  Status opError(Operation &op, const Status &s) const {
    return Status(s.code(), "'" + op.getName().getStringRef().str() + "' at " +
                                str(op.getLoc()) + ": " + s.message());
  }

  ModuleOp module;
  Precision precision;
  llvm::DenseMap<Value, std::unique_ptr<Val>> env;
};

Status Interpreter::call(func::FuncOp func, std::vector<RefTensor> args,
                         std::vector<RefTensor> &results, int depth) {
  if (depth > 64)
    return invalidArgument("call depth above 64 at @" + func.getName().str() +
                           ": recursion is not supported");
  if (func.isExternal())
    return invalidArgument("@" + func.getName().str() +
                           " is a declaration without a body");
  StatusOr<std::vector<ValueInfo>> infos =
      describe(func.getArgumentTypes(), func, /*results=*/false);
  if (!infos)
    return infos.status();
  if (args.size() != infos->size())
    return invalidArgument("@" + func.getName().str() + " takes " +
                           std::to_string(infos->size()) + " arguments, got " +
                           std::to_string(args.size()));
  std::vector<Val> vals;
  for (size_t i = 0; i < args.size(); ++i) {
    const ValueInfo &info = (*infos)[i];
    const RefTensor &a = args[i];
    std::string what = "argument #" + std::to_string(i) + " ('" + info.name +
                       "') of @" + func.getName().str();
    if (a.dtype != info.dtype)
      return invalidArgument(what + ": expected dtype " +
                             std::string(dtypeName(info.dtype)) + ", got " +
                             std::string(dtypeName(a.dtype)));
    bool shapeOk = a.shape.size() == info.shape.size();
    for (size_t d = 0; shapeOk && d < a.shape.size(); ++d)
      shapeOk = info.shape[d] < 0 || info.shape[d] == a.shape[d];
    if (!shapeOk)
      return invalidArgument(what + ": expected shape " +
                             shapeToString(info.shape) + ", got " +
                             shapeToString(a.shape));
    vals.push_back(Val::ofTensor(std::move(args[i])));
  }
  SmallVector<Val> yields;
  ATTUNE_RETURN_IF_ERROR(
      evalBlock(func.getBody().front(), vals, yields, depth));
  results.clear();
  for (Val &v : yields)
    results.push_back(std::move(v.tensor));
  return Status::ok();
}

Status Interpreter::evalBlock(Block &block, ArrayRef<Val> args,
                              SmallVectorImpl<Val> &yields, int depth) {
  for (auto [arg, val] : llvm::zip(block.getArguments(), args))
    bind(arg, val);
  for (Operation &op : block) {
    if (op.hasTrait<OpTrait::IsTerminator>()) {
      yields.clear();
      for (Value v : op.getOperands()) {
        const Val *val = lookup(v);
        if (!val)
          return internalError("no value for a yielded operand at " +
                               str(op.getLoc()));
        yields.push_back(*val);
      }
      return Status::ok();
    }
    ATTUNE_RETURN_IF_ERROR(evalOp(op, depth));
  }
  return internalError("block without a terminator");
}

Status Interpreter::evalOp(Operation &op, int depth) {
  if (llvm::isa<A::AttuneDialect>(op.getDialect()))
    return evalAttune(op, depth);
  if (auto callOp = llvm::dyn_cast<func::CallOp>(op)) {
    auto callee = module.lookupSymbol<func::FuncOp>(callOp.getCallee());
    if (!callee)
      return opError(op, notFound("no function @" + callOp.getCallee().str()));
    std::vector<RefTensor> args, results;
    for (Value v : callOp.getOperands()) {
      const RefTensor *t = tensor(v);
      if (!t)
        return opError(op, invalidArgument("call operands must be tensors"));
      args.push_back(*t);
    }
    ATTUNE_RETURN_IF_ERROR(call(callee, std::move(args), results, depth + 1));
    for (auto [r, t] : llvm::zip(callOp.getResults(), results))
      bind(r, Val::ofTensor(std::move(t)));
    return Status::ok();
  }
  if (auto cst = llvm::dyn_cast<arith::ConstantOp>(op)) {
    Attribute value = cst.getValue();
    if (auto dense = llvm::dyn_cast<DenseElementsAttr>(value)) {
      auto type = llvm::cast<RankedTensorType>(dense.getType());
      StatusOr<DType> dtype = dtypeOf(type.getElementType());
      if (!dtype)
        return opError(op, dtype.status());
      RefTensor t(*dtype, std::vector<int64_t>(type.getShape().begin(),
                                               type.getShape().end()));
      int64_t i = 0;
      if (isFloatDType(*dtype)) {
        for (APFloat v : dense.getValues<APFloat>())
          t.data[i++] = v.convertToDouble();
      } else {
        bool isBool = type.getElementType().isInteger(1);
        for (APInt v : dense.getValues<APInt>())
          t.data[i++] = static_cast<double>(isBool ? int64_t(v.getZExtValue())
                                                   : v.getSExtValue());
      }
      bind(cst.getResult(), Val::ofTensor(std::move(t)));
      return Status::ok();
    }
    if (auto f = llvm::dyn_cast<FloatAttr>(value)) {
      bind(cst.getResult(), Val::ofFloat(f.getValueAsDouble()));
      return Status::ok();
    }
    if (auto iv = llvm::dyn_cast<IntegerAttr>(value)) {
      bind(cst.getResult(),
           Val::ofInt(iv.getType().isInteger(1)
                          ? int64_t(iv.getValue().getZExtValue())
                          : iv.getValue().getSExtValue()));
      return Status::ok();
    }
    return opError(op, unimplemented("unsupported constant"));
  }
  if (auto extract = llvm::dyn_cast<tensor::ExtractOp>(op)) {
    const RefTensor *t = tensor(extract.getTensor());
    if (!t)
      return opError(op, internalError("tensor operand not evaluated"));
    int64_t linear = 0;
    for (auto [d, idx] : llvm::enumerate(extract.getIndices())) {
      const Val *v = lookup(idx);
      int64_t i = v ? v->i : -1;
      if (i < 0 || i >= t->shape[d])
        return opError(op,
                       outOfRange("index " + std::to_string(i) +
                                  " out of range for dim " + std::to_string(d) +
                                  " of size " + std::to_string(t->shape[d])));
      linear = linear * t->shape[d] + i;
    }
    double x = t->data[linear];
    bind(extract.getResult(), isFloatDType(t->dtype)
                                  ? Val::ofFloat(x)
                                  : Val::ofInt(static_cast<int64_t>(x)));
    return Status::ok();
  }
  return evalScalar(op);
}

/// Scalar arith and math ops, as mask and score regions use them.
Status Interpreter::evalScalar(Operation &op) {
  auto in = [&](unsigned i) -> const Val & {
    return *lookup(op.getOperand(i));
  };
  for (Value v : op.getOperands())
    if (!lookup(v) || lookup(v)->kind == Val::Kind::Tensor)
      return opError(
          op, unimplemented("the reference evaluator supports this op on "
                            "scalars only"));
  if (op.getNumResults() != 1)
    return opError(op, unimplemented("op not supported by the reference "
                                     "evaluator"));
  Value result = op.getResult(0);
  Type rt = result.getType();
  auto setF = [&](double x) {
    StatusOr<DType> d = dtypeOf(rt);
    bind(result, Val::ofFloat(d ? roundOut(x, *d, precision) : x));
    return Status::ok();
  };
  auto wrapInt = [&](int64_t x) -> int64_t {
    unsigned w = rt.isIndex() ? 64 : rt.getIntOrFloatBitWidth();
    if (w == 1)
      return x & 1;
    if (w >= 64)
      return x;
    return llvm::SignExtend64(static_cast<uint64_t>(x), w);
  };
  auto setI = [&](int64_t x) {
    bind(result, Val::ofInt(wrapInt(x)));
    return Status::ok();
  };
  auto f = [&](unsigned i) { return in(i).f; };
  auto iv = [&](unsigned i) { return in(i).i; };

  return llvm::TypeSwitch<Operation *, Status>(&op)
      .Case([&](arith::AddFOp) { return setF(f(0) + f(1)); })
      .Case([&](arith::SubFOp) { return setF(f(0) - f(1)); })
      .Case([&](arith::MulFOp) { return setF(f(0) * f(1)); })
      .Case([&](arith::DivFOp) { return setF(f(0) / f(1)); })
      .Case([&](arith::NegFOp) { return setF(-f(0)); })
      .Case([&](arith::MaximumFOp) {
        return setF(
            std::isnan(f(0)) || std::isnan(f(1)) ? NAN : std::max(f(0), f(1)));
      })
      .Case([&](arith::MinimumFOp) {
        return setF(
            std::isnan(f(0)) || std::isnan(f(1)) ? NAN : std::min(f(0), f(1)));
      })
      .Case([&](arith::MaxNumFOp) { return setF(std::fmax(f(0), f(1))); })
      .Case([&](arith::MinNumFOp) { return setF(std::fmin(f(0), f(1))); })
      .Case([&](arith::AddIOp) { return setI(iv(0) + iv(1)); })
      .Case([&](arith::SubIOp) { return setI(iv(0) - iv(1)); })
      .Case([&](arith::MulIOp) { return setI(iv(0) * iv(1)); })
      .Case([&](arith::DivSIOp) -> Status {
        if (iv(1) == 0)
          return opError(op, invalidArgument("integer division by zero"));
        // INT64_MIN / -1 overflows (and traps): it wraps, as arith defines.
        if (iv(1) == -1)
          return setI(static_cast<int64_t>(0 - static_cast<uint64_t>(iv(0))));
        return setI(iv(0) / iv(1));
      })
      .Case([&](arith::RemSIOp) -> Status {
        if (iv(1) == 0)
          return opError(op, invalidArgument("integer remainder by zero"));
        if (iv(1) == -1)
          return setI(0);
        return setI(iv(0) % iv(1));
      })
      .Case([&](arith::DivUIOp) -> Status {
        if (iv(1) == 0)
          return opError(op, invalidArgument("integer division by zero"));
        return setI(static_cast<int64_t>(uint64_t(iv(0)) / uint64_t(iv(1))));
      })
      .Case([&](arith::RemUIOp) -> Status {
        if (iv(1) == 0)
          return opError(op, invalidArgument("integer remainder by zero"));
        return setI(static_cast<int64_t>(uint64_t(iv(0)) % uint64_t(iv(1))));
      })
      .Case([&](arith::MaxSIOp) { return setI(std::max(iv(0), iv(1))); })
      .Case([&](arith::MinSIOp) { return setI(std::min(iv(0), iv(1))); })
      .Case([&](arith::AndIOp) { return setI(iv(0) & iv(1)); })
      .Case([&](arith::OrIOp) { return setI(iv(0) | iv(1)); })
      .Case([&](arith::XOrIOp) { return setI(iv(0) ^ iv(1)); })
      .Case([&](arith::CmpIOp c) {
        int64_t a = iv(0), b = iv(1);
        uint64_t ua = a, ub = b;
        bool r = false;
        switch (c.getPredicate()) {
        case arith::CmpIPredicate::eq:
          r = a == b;
          break;
        case arith::CmpIPredicate::ne:
          r = a != b;
          break;
        case arith::CmpIPredicate::slt:
          r = a < b;
          break;
        case arith::CmpIPredicate::sle:
          r = a <= b;
          break;
        case arith::CmpIPredicate::sgt:
          r = a > b;
          break;
        case arith::CmpIPredicate::sge:
          r = a >= b;
          break;
        case arith::CmpIPredicate::ult:
          r = ua < ub;
          break;
        case arith::CmpIPredicate::ule:
          r = ua <= ub;
          break;
        case arith::CmpIPredicate::ugt:
          r = ua > ub;
          break;
        case arith::CmpIPredicate::uge:
          r = ua >= ub;
          break;
        }
        return setI(r);
      })
      .Case([&](arith::CmpFOp c) {
        double a = f(0), b = f(1);
        bool unordered = std::isnan(a) || std::isnan(b);
        bool r = false;
        using P = arith::CmpFPredicate;
        switch (c.getPredicate()) {
        case P::AlwaysFalse:
          r = false;
          break;
        case P::AlwaysTrue:
          r = true;
          break;
        case P::OEQ:
          r = !unordered && a == b;
          break;
        case P::OGT:
          r = !unordered && a > b;
          break;
        case P::OGE:
          r = !unordered && a >= b;
          break;
        case P::OLT:
          r = !unordered && a < b;
          break;
        case P::OLE:
          r = !unordered && a <= b;
          break;
        case P::ONE:
          r = !unordered && a != b;
          break;
        case P::ORD:
          r = !unordered;
          break;
        case P::UEQ:
          r = unordered || a == b;
          break;
        case P::UGT:
          r = unordered || a > b;
          break;
        case P::UGE:
          r = unordered || a >= b;
          break;
        case P::ULT:
          r = unordered || a < b;
          break;
        case P::ULE:
          r = unordered || a <= b;
          break;
        case P::UNE:
          r = unordered || a != b;
          break;
        case P::UNO:
          r = unordered;
          break;
        }
        return setI(r);
      })
      .Case([&](arith::SelectOp) {
        const Val &chosen = in(0).i ? in(1) : in(2);
        bind(result, chosen);
        return Status::ok();
      })
      .Case([&](arith::IndexCastOp) { return setI(iv(0)); })
      .Case([&](arith::ExtSIOp) { return setI(iv(0)); })
      .Case([&](arith::TruncIOp) { return setI(iv(0)); })
      .Case([&](arith::SIToFPOp) { return setF(static_cast<double>(iv(0))); })
      .Case([&](arith::UIToFPOp) {
        return setF(static_cast<double>(static_cast<uint64_t>(iv(0))));
      })
      .Case([&](arith::FPToSIOp) {
        return setI(static_cast<int64_t>(std::trunc(f(0))));
      })
      .Case([&](arith::ExtFOp) { return setF(f(0)); })
      .Case([&](arith::TruncFOp) -> Status {
        // A truncation rounds in both precisions, as attune.cast does.
        StatusOr<DType> d = dtypeOf(rt);
        if (!d)
          return opError(op, d.status());
        bind(result, Val::ofFloat(roundToDType(f(0), *d)));
        return Status::ok();
      })
      .Case([&](math::ExpOp) { return setF(std::exp(f(0))); })
      .Case([&](math::Exp2Op) { return setF(std::exp2(f(0))); })
      .Case([&](math::LogOp) { return setF(std::log(f(0))); })
      .Case([&](math::Log2Op) { return setF(std::log2(f(0))); })
      .Case([&](math::TanhOp) { return setF(std::tanh(f(0))); })
      .Case([&](math::SqrtOp) { return setF(std::sqrt(f(0))); })
      .Case([&](math::RsqrtOp) { return setF(1.0 / std::sqrt(f(0))); })
      .Case([&](math::AbsFOp) { return setF(std::fabs(f(0))); })
      .Case([&](math::AbsIOp) { return setI(iv(0) < 0 ? -iv(0) : iv(0)); })
      .Case([&](math::ErfOp) { return setF(std::erf(f(0))); })
      .Case([&](math::PowFOp) { return setF(std::pow(f(0), f(1))); })
      .Default([&](Operation *) {
        return opError(
            op, unimplemented("op not supported by the reference evaluator"));
      });
}

Activation toActivation(A::Activation a) {
  switch (a) {
  case A::Activation::Silu:
    return Activation::Silu;
  case A::Activation::Gelu:
    return Activation::Gelu;
  case A::Activation::GeluTanh:
    return Activation::GeluTanh;
  case A::Activation::Relu:
    return Activation::Relu;
  }
  return Activation::Silu;
}

Status Interpreter::evalAttune(Operation &op, int depth) {
  // Every tensor operand must have been computed before its use.
  for (Value v : op.getOperands())
    if (!tensor(v))
      return opError(op, internalError("operand not evaluated"));
  Precision p = precision;
  auto t = [&](Value v) -> const RefTensor & { return *tensor(v); };
  auto opt = [&](Value v) -> const RefTensor * { return tensor(v); };
  auto set1 = [&](RefTensor r) {
    bind(op.getResult(0), Val::ofTensor(std::move(r)));
  };
  auto set2 = [&](RefTensor a, RefTensor b) {
    bind(op.getResult(0), Val::ofTensor(std::move(a)));
    bind(op.getResult(1), Val::ofTensor(std::move(b)));
  };
  auto scaleOf = [](std::optional<APFloat> s) -> std::optional<double> {
    if (!s)
      return std::nullopt;
    return s->convertToDouble();
  };

  Status status =
      llvm::TypeSwitch<Operation *, Status>(&op)
          .Case([&](A::AttentionOp a) -> Status {
            AttentionSpec spec;
            spec.scale = scaleOf(a.getScale());
            if (A::MaskAttrInterface mask = a.getMaskAttr())
              spec.mask = maskTermFromAttr(mask);
            if (ArrayAttr mods = a.getScoreModsAttr())
              spec.scoreMods = scoreModsFromAttr(mods);
            spec.qDocIds = opt(a.getQDocIds());
            spec.kvDocIds = opt(a.getKvDocIds());
            if (!a.getMaskFn().empty()) {
              Block *block = &a.getMaskFn().front();
              spec.maskFn = [this, block, depth](int64_t b, int64_t h,
                                                 int64_t q, int64_t k,
                                                 bool &allowed) {
                Val args[] = {Val::ofInt(b), Val::ofInt(h), Val::ofInt(q),
                              Val::ofInt(k)};
                SmallVector<Val> y;
                ATTUNE_RETURN_IF_ERROR(evalBlock(*block, args, y, depth));
                allowed = y[0].i != 0;
                return Status::ok();
              };
            }
            if (!a.getScoreFn().empty()) {
              Block *block = &a.getScoreFn().front();
              spec.scoreFn = [this, block, depth](double s, int64_t b,
                                                  int64_t h, int64_t q,
                                                  int64_t k, double &out) {
                Val args[] = {Val::ofFloat(s), Val::ofInt(b), Val::ofInt(h),
                              Val::ofInt(q), Val::ofInt(k)};
                SmallVector<Val> y;
                ATTUNE_RETURN_IF_ERROR(evalBlock(*block, args, y, depth));
                out = y[0].f;
                return Status::ok();
              };
            }
            RefTensor out, lse;
            ATTUNE_RETURN_IF_ERROR(attention(t(a.getQuery()), t(a.getKey()),
                                             t(a.getValue()), spec, p, out,
                                             lse));
            set2(std::move(out), std::move(lse));
            return Status::ok();
          })
          .Case([&](A::DilatedAttentionOp a) -> Status {
            std::vector<DilatedBranch> branches;
            for (auto [w, r] : llvm::zip(a.getSegments(), a.getRates()))
              branches.push_back({w, r});
            RefTensor out, lse;
            ATTUNE_RETURN_IF_ERROR(dilatedAttention(
                t(a.getQuery()), t(a.getKey()), t(a.getValue()), branches,
                a.getCausal(), scaleOf(a.getScale()), p, out, lse));
            set2(std::move(out), std::move(lse));
            return Status::ok();
          })
          .Case([&](A::LshAttentionOp a) -> Status {
            LshSpec spec;
            spec.numBuckets = static_cast<int64_t>(a.getNumBuckets());
            spec.numRounds = static_cast<int64_t>(a.getNumRounds());
            spec.chunkSize = static_cast<int64_t>(a.getChunkSize());
            spec.seed = a.getSeed();
            spec.causal = a.getCausal();
            spec.scale = scaleOf(a.getScale());
            RefTensor out, lse;
            ATTUNE_RETURN_IF_ERROR(lshAttention(t(a.getQk()), t(a.getValue()),
                                                opt(a.getRotations()), spec, p,
                                                out, lse));
            set2(std::move(out), std::move(lse));
            return Status::ok();
          })
          .Case([&](A::RMSNormOp a) -> Status {
            RefTensor y;
            ATTUNE_RETURN_IF_ERROR(rmsNorm(t(a.getInput()), opt(a.getWeight()),
                                           a.getEpsilon().convertToDouble(), p,
                                           y));
            set1(std::move(y));
            return Status::ok();
          })
          .Case([&](A::LayerNormOp a) -> Status {
            RefTensor y;
            ATTUNE_RETURN_IF_ERROR(
                layerNorm(t(a.getInput()), opt(a.getWeight()), opt(a.getBias()),
                          a.getEpsilon().convertToDouble(), p, y));
            set1(std::move(y));
            return Status::ok();
          })
          .Case([&](A::RopeOp a) -> Status {
            RefTensor y;
            int64_t rd =
                a.getRotaryDim() ? static_cast<int64_t>(*a.getRotaryDim()) : 0;
            ATTUNE_RETURN_IF_ERROR(rope(t(a.getInput()), opt(a.getPositions()),
                                        a.getTheta().convertToDouble(),
                                        a.getInterleaved(), rd, p, y));
            set1(std::move(y));
            return Status::ok();
          })
          .Case([&](A::LinearOp a) -> Status {
            RefTensor y;
            ATTUNE_RETURN_IF_ERROR(linear(t(a.getInput()), t(a.getWeight()),
                                          opt(a.getBias()), p, y));
            set1(std::move(y));
            return Status::ok();
          })
          .Case([&](A::MLPOp a) -> Status {
            RefTensor y;
            ATTUNE_RETURN_IF_ERROR(mlp(t(a.getInput()), opt(a.getWGate()),
                                       t(a.getWUp()), t(a.getWDown()),
                                       opt(a.getBUp()), opt(a.getBDown()),
                                       toActivation(a.getActivation()), p, y));
            set1(std::move(y));
            return Status::ok();
          })
          .Case([&](A::EmbeddingOp a) -> Status {
            RefTensor y;
            ATTUNE_RETURN_IF_ERROR(
                embedding(t(a.getIds()), t(a.getTable()), y));
            set1(std::move(y));
            return Status::ok();
          })
          .Case([&](A::SoftmaxOp a) -> Status {
            RefTensor y;
            ATTUNE_RETURN_IF_ERROR(softmax(
                t(a.getInput()), static_cast<int64_t>(a.getAxis()), p, y));
            set1(std::move(y));
            return Status::ok();
          })
          .Case([&](A::CrossEntropyOp a) -> Status {
            Reduction r =
                a.getReduction() == A::Reduction::None  ? Reduction::None
                : a.getReduction() == A::Reduction::Sum ? Reduction::Sum
                                                        : Reduction::Mean;
            RefTensor y;
            ATTUNE_RETURN_IF_ERROR(crossEntropy(
                t(a.getLogits()), t(a.getLabels()),
                static_cast<int64_t>(a.getIgnoreIndex()), r, p, y));
            set1(std::move(y));
            return Status::ok();
          })
          .Case<A::NegOp, A::ExpOp, A::LogOp, A::TanhOp, A::SqrtOp, A::RsqrtOp,
                A::SigmoidOp, A::AbsOp, A::SiluOp, A::GeluOp, A::GeluTanhOp,
                A::ReluOp>([&](Operation *u) -> Status {
            UnaryKind kind =
                llvm::TypeSwitch<Operation *, UnaryKind>(u)
                    .Case([](A::NegOp) { return UnaryKind::Neg; })
                    .Case([](A::ExpOp) { return UnaryKind::Exp; })
                    .Case([](A::LogOp) { return UnaryKind::Log; })
                    .Case([](A::TanhOp) { return UnaryKind::Tanh; })
                    .Case([](A::SqrtOp) { return UnaryKind::Sqrt; })
                    .Case([](A::RsqrtOp) { return UnaryKind::Rsqrt; })
                    .Case([](A::SigmoidOp) { return UnaryKind::Sigmoid; })
                    .Case([](A::AbsOp) { return UnaryKind::Abs; })
                    .Case([](A::SiluOp) { return UnaryKind::Silu; })
                    .Case([](A::GeluOp) { return UnaryKind::Gelu; })
                    .Case([](A::GeluTanhOp) { return UnaryKind::GeluTanh; })
                    .Default([](Operation *) { return UnaryKind::Relu; });
            RefTensor y;
            ATTUNE_RETURN_IF_ERROR(unary(kind, t(u->getOperand(0)), p, y));
            set1(std::move(y));
            return Status::ok();
          })
          .Case<A::AddOp, A::SubOp, A::MulOp, A::DivOp, A::MaxOp, A::MinOp,
                A::PowOp>([&](Operation *b) -> Status {
            BinaryKind kind =
                llvm::TypeSwitch<Operation *, BinaryKind>(b)
                    .Case([](A::AddOp) { return BinaryKind::Add; })
                    .Case([](A::SubOp) { return BinaryKind::Sub; })
                    .Case([](A::MulOp) { return BinaryKind::Mul; })
                    .Case([](A::DivOp) { return BinaryKind::Div; })
                    .Case([](A::MaxOp) { return BinaryKind::Max; })
                    .Case([](A::MinOp) { return BinaryKind::Min; })
                    .Default([](Operation *) { return BinaryKind::Pow; });
            RefTensor y;
            ATTUNE_RETURN_IF_ERROR(
                binary(kind, t(b->getOperand(0)), t(b->getOperand(1)), p, y));
            set1(std::move(y));
            return Status::ok();
          })
          .Case([&](A::CastOp a) -> Status {
            StatusOr<DType> d =
                dtypeOf(a.getOutput().getType().getElementType());
            if (!d)
              return d.status();
            RefTensor y;
            ATTUNE_RETURN_IF_ERROR(cast(t(a.getInput()), *d, y));
            set1(std::move(y));
            return Status::ok();
          })
          .Case([&](A::MatmulOp a) -> Status {
            RefTensor y;
            ATTUNE_RETURN_IF_ERROR(matmul(t(a.getLhs()), t(a.getRhs()), p, y));
            set1(std::move(y));
            return Status::ok();
          })
          .Case([&](A::TransposeOp a) -> Status {
            RefTensor y;
            std::vector<int64_t> perm(a.getPermutation().begin(),
                                      a.getPermutation().end());
            ATTUNE_RETURN_IF_ERROR(transpose(t(a.getInput()), perm, y));
            set1(std::move(y));
            return Status::ok();
          })
          .Case([&](A::ReshapeOp a) -> Status {
            RefTensor y;
            ArrayRef<int64_t> s = a.getOutput().getType().getShape();
            ATTUNE_RETURN_IF_ERROR(reshape(
                t(a.getInput()), std::vector<int64_t>(s.begin(), s.end()), y));
            set1(std::move(y));
            return Status::ok();
          })
          .Case([&](A::ReduceOp a) -> Status {
            ReduceKind kind =
                a.getKind() == A::ReduceKind::Sum    ? ReduceKind::Sum
                : a.getKind() == A::ReduceKind::Mean ? ReduceKind::Mean
                                                     : ReduceKind::Max;
            RefTensor y;
            std::vector<int64_t> axes(a.getAxes().begin(), a.getAxes().end());
            ATTUNE_RETURN_IF_ERROR(
                reduce(kind, t(a.getInput()), axes, a.getKeepDims(), p, y));
            set1(std::move(y));
            return Status::ok();
          })
          .Case([&](A::ConcatOp a) -> Status {
            std::vector<RefTensor> xs;
            for (Value v : a.getInputs())
              xs.push_back(t(v));
            int64_t axis = static_cast<int64_t>(a.getAxis());
            if (axis < 0)
              axis += a.getOutput().getType().getRank();
            RefTensor y;
            ATTUNE_RETURN_IF_ERROR(concat(xs, axis, y));
            set1(std::move(y));
            return Status::ok();
          })
          .Case([&](A::SliceOp a) -> Status {
            int64_t axis = static_cast<int64_t>(a.getAxis());
            if (axis < 0)
              axis += a.getInput().getType().getRank();
            RefTensor y;
            ATTUNE_RETURN_IF_ERROR(slice(t(a.getInput()), axis,
                                         static_cast<int64_t>(a.getStart()),
                                         static_cast<int64_t>(a.getSize()), y));
            set1(std::move(y));
            return Status::ok();
          })
          .Case([&](A::ReversibleOp a) -> Status {
            // y1 = x1 + F(x2); y2 = x2 + G(y1).
            SmallVector<Val> fOut, gOut;
            RefTensor x1 = t(a.getX1()), x2 = t(a.getX2());
            ATTUNE_RETURN_IF_ERROR(
                evalBlock(a.getF().front(), {Val::ofTensor(x2)}, fOut, depth));
            RefTensor y1, y2;
            ATTUNE_RETURN_IF_ERROR(
                binary(BinaryKind::Add, x1, fOut[0].tensor, p, y1));
            ATTUNE_RETURN_IF_ERROR(
                evalBlock(a.getG().front(), {Val::ofTensor(y1)}, gOut, depth));
            ATTUNE_RETURN_IF_ERROR(
                binary(BinaryKind::Add, x2, gOut[0].tensor, p, y2));
            set2(std::move(y1), std::move(y2));
            return Status::ok();
          })
          .Case([&](A::CheckpointOp a) -> Status {
            SmallVector<Val> args, out;
            for (Value v : a.getInputs()) {
              const Val *val = lookup(v);
              if (!val)
                return internalError("checkpoint operand not evaluated");
              args.push_back(*val);
            }
            ATTUNE_RETURN_IF_ERROR(
                evalBlock(a.getBody().front(), args, out, depth));
            for (auto [r, v] : llvm::zip(a.getResults(), out))
              bind(r, v);
            return Status::ok();
          })
          .Case([&](A::ChunkedOp a) -> Status {
            const RefTensor &x = t(a.getInput());
            int64_t axis = static_cast<int64_t>(a.getAxis());
            int64_t chunk = static_cast<int64_t>(a.getChunkSize());
            int64_t n = x.shape[axis];
            if (n % chunk != 0)
              return invalidArgument("chunk_size " + std::to_string(chunk) +
                                     " does not divide dim " +
                                     std::to_string(axis) + " of the input (" +
                                     std::to_string(n) + ")");
            if (n == 0) {
              // No chunk to run: each result is empty along `axis`, with the
              // other dims its type gives.
              for (Value r : a.getResults()) {
                auto type = llvm::cast<RankedTensorType>(r.getType());
                StatusOr<DType> d = dtypeOf(type.getElementType());
                if (!d)
                  return d.status();
                std::vector<int64_t> shape(type.getShape().begin(),
                                           type.getShape().end());
                shape[axis] = 0;
                for (int64_t dim : shape)
                  if (ShapedType::isDynamic(dim))
                    return invalidArgument(
                        "the input is empty along the chunked axis and result "
                        "type " +
                        str(type) + " leaves a dim unknown");
                bind(r, Val::ofTensor(RefTensor(*d, shape)));
              }
              return Status::ok();
            }
            std::vector<std::vector<RefTensor>> pieces(a.getNumResults());
            for (int64_t start = 0; start < n; start += chunk) {
              RefTensor piece;
              ATTUNE_RETURN_IF_ERROR(slice(x, axis, start, chunk, piece));
              SmallVector<Val> out;
              ATTUNE_RETURN_IF_ERROR(
                  evalBlock(a.getBody().front(),
                            {Val::ofTensor(std::move(piece))}, out, depth));
              for (size_t r = 0; r < out.size(); ++r)
                pieces[r].push_back(std::move(out[r].tensor));
            }
            for (auto [r, ps] : llvm::zip(a.getResults(), pieces)) {
              RefTensor y;
              ATTUNE_RETURN_IF_ERROR(concat(ps, axis, y));
              bind(r, Val::ofTensor(std::move(y)));
            }
            return Status::ok();
          })
          .Default([&](Operation *) {
            return unimplemented("op not supported by the reference evaluator");
          });
  if (!status.isOk())
    return opError(op, status);

  // A kernel must produce what the op's result types promise.
  for (Value r : op.getResults()) {
    auto type = llvm::dyn_cast<RankedTensorType>(r.getType());
    const RefTensor *got = tensor(r);
    if (!type || !got)
      continue;
    bool ok = got->rank() == type.getRank();
    for (int64_t d = 0; ok && d < type.getRank(); ++d)
      ok = type.isDynamicDim(d) || type.getDimSize(d) == got->shape[d];
    if (!ok)
      return opError(op, invalidArgument("result shape " +
                                         shapeToString(got->shape) +
                                         " does not match the result type " +
                                         str(r.getType())));
  }
  return Status::ok();
}

} // namespace

StatusOr<std::vector<ValueInfo>> describeArguments(func::FuncOp func) {
  return describe(func.getArgumentTypes(), func, /*results=*/false);
}

StatusOr<std::vector<ValueInfo>> describeResults(func::FuncOp func) {
  return describe(func.getResultTypes(), func, /*results=*/true);
}

Status runFunction(ModuleOp module, llvm::StringRef function,
                   const std::vector<RefTensor> &args, Precision precision,
                   std::vector<RefTensor> &results) {
  auto func = module.lookupSymbol<func::FuncOp>(function);
  if (!func) {
    std::string names;
    for (auto f : module.getOps<func::FuncOp>())
      names += (names.empty() ? "@" : ", @") + f.getName().str();
    return notFound("no function @" + function.str() +
                    " in the module (it has " +
                    (names.empty() ? std::string("none") : names) + ")");
  }
  Interpreter interp(module, precision);
  return interp.call(func, args, results, 0);
}

} // namespace attune::ref
