//===- Elementwise.cpp - GPU kernels of the elementwise families ----------===//
//
// copy, unary and binary: one thread per element in a grid-stride loop, f32
// arithmetic, results rounded to the storage type as the CPU families do.
// emitElementwiseFamily dispatches the other non-attention families to
// Layout.cpp, Rows.cpp and Gemm.cpp.
//
//===----------------------------------------------------------------------===//

#include "GpuFamilies.h"

#include "attune/abi/Families.h"

#include <cmath>

using namespace mlir;

namespace attune::codegen::nvptx {

namespace {

constexpr unsigned kThreads = 256;

/// The f32 math of ref::UnaryKind (neg exp log tanh sqrt rsqrt sigmoid abs
/// silu gelu gelu_tanh relu).
Value unaryOp(KernelBuilder &k, int64_t kind, Value x) {
  auto sigmoid = [&](Value v) {
    return k.fdiv(k.cf32(1.0), k.fadd(k.cf32(1.0), math::ExpOp::create(
                                                       k.b, k.loc, k.fneg(v))));
  };
  switch (kind) {
  case 0:
    return k.fneg(x);
  case 1:
    return math::ExpOp::create(k.b, k.loc, x);
  case 2:
    return math::LogOp::create(k.b, k.loc, x);
  case 3:
    return math::TanhOp::create(k.b, k.loc, x);
  case 4:
    return k.sqrtRn(x);
  case 5:
    return k.fdiv(k.cf32(1.0), k.sqrtRn(x));
  case 6:
    return sigmoid(x);
  case 7:
    return math::AbsFOp::create(k.b, k.loc, x);
  case 8:
    return k.fmul(x, sigmoid(x));
  case 9: {
    // 0.5 x (1 + erf(x / sqrt 2))
    Value e = math::ErfOp::create(k.b, k.loc,
                                  k.fmul(x, k.cf32(0.70710678118654752)));
    return k.fmul(k.fmul(k.cf32(0.5), x), k.fadd(k.cf32(1.0), e));
  }
  case 10: {
    // 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
    Value x3 = k.fmul(k.fmul(x, x), x);
    Value inner = k.fmul(k.cf32(0.7978845608028654),
                         k.fma(k.cf32(0.044715), x3, x));
    Value t = math::TanhOp::create(k.b, k.loc, inner);
    return k.fmul(k.fmul(k.cf32(0.5), x), k.fadd(k.cf32(1.0), t));
  }
  default: {
    // relu, NaN-propagating like the reference's max(x, 0).
    Value isNan = k.cmpf(arith::CmpFPredicate::UNO, x, x);
    return k.select(isNan, x, arith::MaxNumFOp::create(k.b, k.loc, x,
                                                       k.cf32(0.0)));
  }
  }
}

/// ref::BinaryKind: add sub mul div max min pow.
Value binaryOp(KernelBuilder &k, int64_t kind, Value a, Value b) {
  switch (kind) {
  case 0:
    return k.fadd(a, b);
  case 1:
    return k.fsub(a, b);
  case 2:
    return k.fmul(a, b);
  case 3:
    return k.fdiv(a, b);
  case 4:
    return k.fmax(a, b);
  case 5:
    return k.fmin(a, b);
  default:
    return math::PowFOp::create(k.b, k.loc, a, b);
  }
}

LogicalResult emitCopy(GpuLaunch &l) {
  int x = l.buffer(0), y = l.buffer(1);
  int64_t bytes = l.i(ATTUNE_COPY_BYTES);
  // Values are 64-byte aligned: copy words when the size allows.
  bool words = bytes % 4 == 0;
  Type elem = IntegerType::get(l.context(), words ? 32 : 8);
  int64_t n = words ? bytes / 4 : bytes;
  MemRefType t = l.memrefOf(elem, n);
  std::string name = l.kernel(
      "copy", std::to_string(n), {t, t}, kThreads,
      [&](KernelBuilder &k, ArrayRef<Value> a, Value, Value) {
        gridStride(k, n, kThreads,
                   [&](Value i) { k.store(k.load(a[0], i), a[1], i); });
      });
  l.step(name, {x, y}, gridFor(n, kThreads), kThreads);
  return success();
}

LogicalResult emitUnary(GpuLaunch &l) {
  int x = l.buffer(0), y = l.buffer(1);
  int64_t n = l.i(ATTUNE_UN_N), kind = l.i(ATTUNE_UN_KIND);
  if (kind < 0 || kind > 11)
    return l.error() << "internal: unary kind " << kind;
  std::string name = l.kernel(
      "unary", launchKey(l), {l.memrefOf(x), l.memrefOf(y)}, kThreads,
      [&](KernelBuilder &k, ArrayRef<Value> a, Value, Value) {
        gridStride(k, n, kThreads, [&](Value i) {
          k.storeF(unaryOp(k, kind, k.loadF(a[0], i)), a[1], i);
        });
      });
  l.step(name, {x, y}, gridFor(n, kThreads), kThreads);
  return success();
}

LogicalResult emitBinary(GpuLaunch &l) {
  int a = l.buffer(0), bb = l.buffer(1), y = l.buffer(2);
  int64_t kind = l.i(ATTUNE_BIN_KIND), rank = l.i(ATTUNE_BIN_RANK);
  std::vector<int64_t> dims, sa, sb;
  for (int64_t d = 0; d < rank; ++d) {
    dims.push_back(l.i(ATTUNE_BIN_NUM_FIXED + d));
    sa.push_back(l.i(ATTUNE_BIN_NUM_FIXED + rank + d));
    sb.push_back(l.i(ATTUNE_BIN_NUM_FIXED + 2 * rank + d));
  }
  int64_t n = 1;
  for (int64_t d : dims)
    n *= d;
  std::string name = l.kernel(
      "binary", launchKey(l), {l.memrefOf(a), l.memrefOf(bb), l.memrefOf(y)},
      kThreads, [&](KernelBuilder &k, ArrayRef<Value> m, Value, Value) {
        gridStride(k, n, kThreads, [&](Value i) {
          // Unravel i over the output dims (innermost last).
          Value ia = k.idx(0), ib = k.idx(0), rest = i;
          for (int64_t d = rank - 1; d >= 0; --d) {
            Value c = dims[d] == 1 ? k.idx(0) : k.remu(rest, k.idx(dims[d]));
            if (d > 0 && dims[d] != 1)
              rest = k.divu(rest, k.idx(dims[d]));
            if (sa[d] != 0)
              ia = k.add(ia, k.mul(c, k.idx(sa[d])));
            if (sb[d] != 0)
              ib = k.add(ib, k.mul(c, k.idx(sb[d])));
          }
          Value r = binaryOp(k, kind, k.loadF(m[0], ia), k.loadF(m[1], ib));
          k.storeF(r, m[2], i);
        });
      });
  l.step(name, {a, bb, y}, gridFor(n, kThreads), kThreads);
  return success();
}

} // namespace

LogicalResult emitElementwiseFamily(GpuLaunch &l, StringRef family,
                                    StringRef dtype) {
  if (family == "copy")
    return emitCopy(l);
  if (family == "unary")
    return emitUnary(l);
  if (family == "binary")
    return emitBinary(l);
  if (family == "cast" || family == "slice" || family == "concat" ||
      family == "transpose" || family == "reduce")
    return emitLayoutFamily(l, family, dtype);
  if (family == "rms_norm" || family == "layer_norm" || family == "softmax" ||
      family == "rope" || family == "embedding" || family == "cross_entropy")
    return emitRowFamily(l, family, dtype);
  if (family == "linear" || family == "matmul" || family == "mlp")
    return emitGemmFamily(l, family, dtype);
  return l.error() << "the cuda target has no kernel for the '" << family
                   << "' family yet (compile this model for --target=cpu)";
}

} // namespace attune::codegen::nvptx
