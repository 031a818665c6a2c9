//===- Layout.cpp - GPU kernels of cast, slice, concat, transpose, reduce -===//
//
// cast: one thread per element (grid-stride), converting exactly as the CPU
//   family (codegen/cpu/kernels/Layout.cpp): float targets round once from
//   the source value (through f64 for f64, i64 and i32 sources), integer
//   targets truncate and saturate (NaN -> 0), i1 is "nonzero".
// slice, concat: copies in the widest word (1..8 bytes) that divides every
//   contiguous run, one thread per word; concat takes up to 16 inputs per
//   step and picks the input of a word with a switch.
// transpose: dims collapsed (size-1 dims dropped, runs that stay adjacent
//   merged); when the output's last dim is contiguous in x, a gather per
//   element, else 32x32 tiles through shared memory (both sides coalesced).
// reduce: dims collapsed as the CPU family does. Last dim kept: a block of
//   32 columns x 8 partitions of the reduced index, partials combined in
//   partition order. Last dim reduced: a warp (fewer than 1024 elements per
//   output) or a block per output, a fixed strided partition and a
//   shuffle-tree reduction. Either way the order of operations depends only
//   on the shape: results are bitwise repeatable.
//
// Also the helpers the families share (GpuFamilies.h).
//
//===----------------------------------------------------------------------===//

#include "GpuFamilies.h"

#include "attune/abi/Families.h"

#include "mlir/Dialect/SCF/IR/SCF.h"

#include <cmath>
#include <cstdio>

using namespace mlir;

namespace attune::codegen::nvptx {

//===----------------------------------------------------------------------===//
// Shared helpers
//===----------------------------------------------------------------------===//

Value workgroupArray(KernelBuilder &k, Type element, int64_t n) {
  Operation *op = k.b.getInsertionBlock()->getParentOp();
  auto fn = dyn_cast<gpu::GPUFuncOp>(op);
  if (!fn)
    fn = op->getParentOfType<gpu::GPUFuncOp>();
  auto space = gpu::AddressSpaceAttr::get(k.b.getContext(),
                                          gpu::AddressSpace::Workgroup);
  auto t = MemRefType::get({std::max<int64_t>(n, 1)}, element,
                           MemRefLayoutAttrInterface(), space);
  Value v = fn.addWorkgroupAttribution(t, k.loc);
  // 16-byte aligned, whatever the element type: the kernels store vectors
  // and ldmatrix rows of 16 bytes into these arrays (the lowering would
  // otherwise align an i8 array to 1 byte).
  fn.setWorkgroupAttributionAttr(
      fn.getNumWorkgroupAttributions() - 1,
      LLVM::LLVMDialect::getAlignAttrName(),
      k.b.getI64IntegerAttr(16));
  return v;
}

std::string launchKey(GpuLaunch &l) {
  std::string s = "i";
  for (int64_t v : l.launch().ints)
    s += ":" + std::to_string(v);
  s += "|f";
  for (double v : l.launch().floats) {
    char buf[48];
    std::snprintf(buf, sizeof buf, ":%a", v);
    s += buf;
  }
  s += "|b";
  for (int v : l.launch().buffers)
    s += v < 0 ? "0" : "1";
  return s;
}

static llvm::MaybeAlign naturalAlign(Value memref) {
  Type t = cast<MemRefType>(memref.getType()).getElementType();
  int64_t lanes = 1;
  if (auto v = dyn_cast<VectorType>(t)) {
    lanes = v.getNumElements();
    t = v.getElementType();
  }
  int64_t bytes = lanes * t.getIntOrFloatBitWidth() / 8;
  return llvm::MaybeAlign(static_cast<uint64_t>(std::max<int64_t>(bytes, 1)));
}

Value loadNat(KernelBuilder &k, Value memref, Value i) {
  return memref::LoadOp::create(k.b, k.loc, memref, ValueRange{i},
                                /*nontemporal=*/false, naturalAlign(memref));
}

void storeNat(KernelBuilder &k, Value v, Value memref, Value i) {
  memref::StoreOp::create(k.b, k.loc, v, memref, ValueRange{i},
                          /*nontemporal=*/false, naturalAlign(memref));
}

Value loadIntNat(KernelBuilder &k, Value memref, Value i) {
  return k.toI64(loadNat(k, memref, i));
}

static constexpr int64_t kMaxGridX = 2147483647;

uint32_t blocksFor(int64_t items) {
  return static_cast<uint32_t>(
      std::min<int64_t>(std::max<int64_t>(items, 1), kMaxGridX));
}

void blockItems(KernelBuilder &k, int64_t items,
                const std::function<void(Value)> &body) {
  if (items <= 0)
    return;
  if (items <= kMaxGridX) {
    body(k.bid());
    return;
  }
  k.forLoop(k.bid(), k.idx(items), k.idx(kMaxGridX), body);
}

namespace {

constexpr unsigned kThreads = 256;

/// Largest word (8, 4, 2 or 1 bytes) dividing every count in `bytes`.
int64_t wordFor(std::initializer_list<int64_t> bytes) {
  for (int64_t w : {8, 4, 2}) {
    bool ok = true;
    for (int64_t b : bytes)
      ok = ok && b % w == 0;
    if (ok)
      return w;
  }
  return 1;
}
/// Value `id` seen as words of `w` bytes.
MemRefType wordsOf(GpuLaunch &l, int id, int64_t w) {
  return l.memrefOf(IntegerType::get(l.context(), static_cast<unsigned>(w * 8)),
                    static_cast<int64_t>(l.value(id).bytes) / w);
}

//===----------------------------------------------------------------------===//
// cast
//===----------------------------------------------------------------------===//

bool isFloatDt(int64_t dt) {
  return dt == ATTUNE_DT_F32 || dt == ATTUNE_DT_F16 || dt == ATTUNE_DT_BF16 ||
         dt == ATTUNE_DT_F64;
}

Type dtType(MLIRContext *ctx, int64_t dt) {
  switch (dt) {
  case ATTUNE_DT_F32:
    return Float32Type::get(ctx);
  case ATTUNE_DT_F16:
    return Float16Type::get(ctx);
  case ATTUNE_DT_BF16:
    return BFloat16Type::get(ctx);
  case ATTUNE_DT_F64:
    return Float64Type::get(ctx);
  case ATTUNE_DT_I32:
    return IntegerType::get(ctx, 32);
  case ATTUNE_DT_I64:
    return IntegerType::get(ctx, 64);
  case ATTUNE_DT_I16:
    return IntegerType::get(ctx, 16);
  case ATTUNE_DT_I1:
  case ATTUNE_DT_I8:
    return IntegerType::get(ctx, 8);
  default:
    return Type();
  }
}

/// The source element as an exact f64 (CPU loadAs; i64 rounds to double as
/// static_cast<double> does).
Value castSourceF64(KernelBuilder &k, Value v, int64_t from) {
  Type f64 = k.b.getF64Type();
  switch (from) {
  case ATTUNE_DT_F64:
    return v;
  case ATTUNE_DT_F32:
  case ATTUNE_DT_F16:
  case ATTUNE_DT_BF16:
    return arith::ExtFOp::create(k.b, k.loc, f64, v);
  case ATTUNE_DT_I1: {
    Value nz = k.ne(v, arith::ConstantIntOp::create(k.b, k.loc, 0, 8));
    return arith::UIToFPOp::create(k.b, k.loc, f64, nz);
  }
  default:
    return arith::SIToFPOp::create(k.b, k.loc, f64, v);
  }
}

/// The source element as an exact f32; only for sources whose values f32
/// holds exactly (f32, f16, bf16, i1, i8, i16).
Value castSourceF32(KernelBuilder &k, Value v, int64_t from) {
  switch (from) {
  case ATTUNE_DT_F32:
    return v;
  case ATTUNE_DT_F16:
  case ATTUNE_DT_BF16:
    return k.toF32(v);
  case ATTUNE_DT_I1: {
    Value nz = k.ne(v, arith::ConstantIntOp::create(k.b, k.loc, 0, 8));
    return arith::UIToFPOp::create(k.b, k.loc, k.f32(), nz);
  }
  default:
    return arith::SIToFPOp::create(k.b, k.loc, k.f32(), v);
  }
}

/// An integer source as an exact i64 (i1: 0 or 1).
Value castSourceI64(KernelBuilder &k, Value v, int64_t from) {
  if (from == ATTUNE_DT_I1) {
    Value nz = k.ne(v, arith::ConstantIntOp::create(k.b, k.loc, 0, 8));
    return arith::ExtUIOp::create(k.b, k.loc, k.i64(), nz);
  }
  return k.toI64(v);
}

Value castValue(KernelBuilder &k, Value v, int64_t from, int64_t to) {
  MLIRContext *ctx = k.b.getContext();
  Type target = dtType(ctx, to);
  if (from == to)
    return v;
  if (isFloatDt(to)) {
    // ref::cast: f64, i64 and i32 sources round once from the double value;
    // the others hold exact f32 values, rounded once from f32.
    if (from == ATTUNE_DT_F64 || from == ATTUNE_DT_I64 ||
        from == ATTUNE_DT_I32) {
      Value d = castSourceF64(k, v, from);
      if (to == ATTUNE_DT_F64)
        return d;
      return arith::TruncFOp::create(k.b, k.loc, target, d);
    }
    Value f = castSourceF32(k, v, from);
    return k.fromF32(f, target);
  }
  unsigned width = to == ATTUNE_DT_I1 || to == ATTUNE_DT_I8 ? 8
                   : to == ATTUNE_DT_I16                    ? 16
                   : to == ATTUNE_DT_I32                    ? 32
                                                            : 64;
  Type it = IntegerType::get(ctx, width);
  if (to == ATTUNE_DT_I1) {
    Value nz;
    if (isFloatDt(from)) // NaN != 0: true
      nz = k.cmpf(arith::CmpFPredicate::UNE, v,
                  arith::ConstantFloatOp::create(
                      k.b, k.loc, cast<FloatType>(v.getType()),
                      APFloat::getZero(
                          cast<FloatType>(v.getType()).getFloatSemantics())));
    else
      nz = k.ne(v, arith::ConstantIntOp::create(k.b, k.loc, v.getType(), 0));
    return arith::ExtUIOp::create(k.b, k.loc, it, nz);
  }
  int64_t lo = width == 8 ? INT8_MIN : width == 16 ? INT16_MIN
               : width == 32                       ? INT32_MIN
                                                   : INT64_MIN;
  int64_t hi = width == 8 ? INT8_MAX : width == 16 ? INT16_MAX
               : width == 32                       ? INT32_MAX
                                                   : INT64_MAX;
  if (!isFloatDt(from)) {
    // Integers saturate (exact: the CPU's double path saturates the same).
    Value x = castSourceI64(k, v, from);
    if (width < 64)
      x = k.mins(k.maxs(x, k.ci64(lo)), k.ci64(hi));
    return width == 64 ? x : arith::TruncIOp::create(k.b, k.loc, it, x);
  }
  // Floats: truncate toward zero, saturate, NaN -> 0 (truncSat).
  Value d = castSourceF64(k, v, from);
  auto cf64 = [&](double c) {
    return arith::ConstantFloatOp::create(k.b, k.loc, k.b.getF64Type(),
                                          APFloat(c));
  };
  Value isNan = k.cmpf(arith::CmpFPredicate::UNO, d, d);
  Value r;
  if (width < 64) {
    Value c = arith::MinNumFOp::create(
        k.b, k.loc,
        arith::MaxNumFOp::create(k.b, k.loc, d, cf64(static_cast<double>(lo))),
        cf64(static_cast<double>(hi)));
    r = arith::FPToSIOp::create(k.b, k.loc, k.i32(), c);
    if (width < 32)
      r = arith::TruncIOp::create(k.b, k.loc, it, r);
  } else {
    const double two63 = 9223372036854775808.0;
    Value c = arith::MinNumFOp::create(
        k.b, k.loc, arith::MaxNumFOp::create(k.b, k.loc, d, cf64(-two63)),
        cf64(std::nextafter(two63, 0.0)));
    r = arith::FPToSIOp::create(k.b, k.loc, k.i64(), c);
    r = k.select(k.cmpf(arith::CmpFPredicate::OGE, d, cf64(two63)),
                 k.ci64(INT64_MAX), r);
  }
  return k.select(isNan, arith::ConstantIntOp::create(k.b, k.loc, it, 0), r);
}

LogicalResult emitCast(GpuLaunch &l) {
  int x = l.buffer(0), y = l.buffer(1);
  int64_t n = l.i(ATTUNE_CAST_N), from = l.i(ATTUNE_CAST_FROM),
          to = l.i(ATTUNE_CAST_TO);
  MLIRContext *ctx = l.context();
  Type tf = dtType(ctx, from), tt = dtType(ctx, to);
  if (!tf || !tt)
    return l.error() << "internal: cast dtype codes " << from << " -> " << to;
  MemRefType mx = l.memrefOf(x), my = l.memrefOf(y);
  if (mx.getElementType() != tf || my.getElementType() != tt)
    return l.error() << "internal: cast " << from << " -> " << to
                     << " on buffers of " << mx.getElementType() << " and "
                     << my.getElementType();
  std::string name = l.kernel(
      "cast", launchKey(l), {mx, my}, kThreads,
      [&](KernelBuilder &k, ArrayRef<Value> a, Value, Value) {
        gridStride(k, n, kThreads, [&](Value i) {
          storeNat(k, castValue(k, loadNat(k, a[0], i), from, to), a[1], i);
        });
      });
  l.step(name, {x, y}, gridFor(n, kThreads), kThreads);
  return success();
}

//===----------------------------------------------------------------------===//
// slice and concat
//===----------------------------------------------------------------------===//

LogicalResult emitSlice(GpuLaunch &l) {
  int x = l.buffer(0), y = l.buffer(1);
  int64_t eb = l.i(ATTUNE_SL_ELEM), outer = l.i(ATTUNE_SL_OUTER),
          axis = l.i(ATTUNE_SL_AXIS), inner = l.i(ATTUNE_SL_INNER),
          start = l.i(ATTUNE_SL_START), size = l.i(ATTUNE_SL_SIZE);
  int64_t w = wordFor({inner * eb});
  int64_t unitRow = inner * eb / w;       // words per axis entry
  int64_t rowLen = size * unitRow;        // words per output row
  int64_t srcStride = axis * unitRow;     // words per input row
  int64_t srcOff = start * unitRow;
  int64_t n = outer * rowLen;
  std::string key = launchKey(l) + "|w" + std::to_string(w);
  std::string name = l.kernel(
      "slice", key, {wordsOf(l, x, w), wordsOf(l, y, w)}, kThreads,
      [&](KernelBuilder &k, ArrayRef<Value> a, Value, Value) {
        gridStride(k, n, kThreads, [&](Value i) {
          Value src = i;
          if (srcStride != rowLen || srcOff != 0) {
            Value o = k.divu(i, k.idx(rowLen)), j = k.remu(i, k.idx(rowLen));
            src = k.add(k.mul(o, k.idx(srcStride)), k.add(j, k.idx(srcOff)));
          }
          storeNat(k, loadNat(k, a[0], src), a[1], i);
        });
      });
  l.step(name, {x, y}, gridFor(n, kThreads), kThreads);
  return success();
}

LogicalResult emitConcat(GpuLaunch &l) {
  int64_t eb = l.i(ATTUNE_CAT_ELEM), nIn = l.i(ATTUNE_CAT_N),
          outer = l.i(ATTUNE_CAT_OUTER), inner = l.i(ATTUNE_CAT_INNER);
  int y = l.buffer(static_cast<size_t>(nIn));
  std::vector<int64_t> ext;
  int64_t total = 0;
  for (int64_t i = 0; i < nIn; ++i) {
    ext.push_back(l.i(ATTUNE_CAT_NUM_FIXED + static_cast<size_t>(i)));
    total += ext.back();
  }
  int64_t w = wordFor({inner * eb}); // every run is a multiple of inner*eb
  int64_t unit = inner * eb / w;     // words per axis entry
  int64_t totalRow = total * unit;
  // Inputs with data, in order, with their output offsets (words in a row).
  struct In {
    int value;
    int64_t row, dst;
  };
  std::vector<In> ins;
  int64_t before = 0;
  for (int64_t i = 0; i < nIn; ++i) {
    if (ext[i] > 0 && outer > 0 && unit > 0)
      ins.push_back({l.buffer(static_cast<size_t>(i)), ext[i] * unit,
                     before * unit});
    before += ext[i];
  }
  const size_t kGroup = 16;
  MemRefType my = wordsOf(l, y, w);
  if (ins.empty()) {
    // Nothing to copy: one empty step keeps the launch's shape.
    std::string name = l.kernel(
        "concat", launchKey(l) + "|empty", {my}, kThreads,
        [&](KernelBuilder &, ArrayRef<Value>, Value, Value) {});
    l.step(name, {y}, {1, 1, 1}, kThreads);
    return success();
  }
  for (size_t g0 = 0; g0 < ins.size(); g0 += kGroup) {
    size_t g1 = std::min(ins.size(), g0 + kGroup);
    int64_t groupRow = 0, groupDst = ins[g0].dst;
    std::vector<int64_t> cum; // start of each input within the group row
    std::string key = launchKey(l) + "|w" + std::to_string(w) + "|g";
    SmallVector<MemRefType> types;
    std::vector<int> args;
    for (size_t j = g0; j < g1; ++j) {
      cum.push_back(groupRow);
      groupRow += ins[j].row;
      key += std::to_string(ins[j].row) + ",";
      types.push_back(wordsOf(l, ins[j].value, w));
      args.push_back(ins[j].value);
    }
    key += "@" + std::to_string(groupDst);
    types.push_back(my);
    args.push_back(y);
    int64_t n = outer * groupRow;
    size_t m = g1 - g0;
    std::string name = l.kernel(
        "concat", key, types, kThreads,
        [&](KernelBuilder &k, ArrayRef<Value> a, Value, Value) {
          gridStride(k, n, kThreads, [&](Value i) {
            Value o = k.divu(i, k.idx(groupRow)),
                  r = k.remu(i, k.idx(groupRow));
            Value dst = k.add(k.mul(o, k.idx(totalRow)),
                              k.add(r, k.idx(groupDst)));
            auto loadFrom = [&](size_t j) {
              Value local = k.sub(r, k.idx(cum[j]));
              Value src =
                  k.add(k.mul(o, k.idx(ins[g0 + j].row)), local);
              return loadNat(k, a[j], src);
            };
            if (m == 1) {
              storeNat(k, loadFrom(0), a[m], dst);
              return;
            }
            // Which input: the number of group starts <= r, minus one.
            Value which = k.idx(0);
            for (size_t j = 1; j < m; ++j)
              which = k.add(which, k.select(k.ge(r, k.idx(cum[j])), k.idx(1),
                                            k.idx(0)));
            SmallVector<int64_t> cases;
            for (size_t j = 0; j + 1 < m; ++j)
              cases.push_back(static_cast<int64_t>(j));
            Type wt = k.elementType(a[m]);
            auto sw = scf::IndexSwitchOp::create(k.b, k.loc, TypeRange{wt},
                                                 which, cases, cases.size());
            for (size_t j = 0; j < m; ++j) {
              Region &reg = j + 1 < m ? sw.getCaseRegions()[j]
                                      : sw.getDefaultRegion();
              Block *blk = k.b.createBlock(&reg);
              OpBuilder::InsertionGuard g(k.b);
              k.b.setInsertionPointToEnd(blk);
              Value v = loadFrom(j);
              scf::YieldOp::create(k.b, k.loc, v);
            }
            k.b.setInsertionPointAfter(sw);
            storeNat(k, sw.getResult(0), a[m], dst);
          });
        });
    l.step(name, args, gridFor(n, kThreads), kThreads);
  }
  return success();
}

//===----------------------------------------------------------------------===//
// transpose
//===----------------------------------------------------------------------===//

LogicalResult emitTranspose(GpuLaunch &l) {
  int x = l.buffer(0), y = l.buffer(1);
  int64_t eb = l.i(ATTUNE_TR_ELEM), rank = l.i(ATTUNE_TR_RANK);
  if (eb != 1 && eb != 2 && eb != 4 && eb != 8)
    return l.error() << "the cuda transpose moves elements of 1, 2, 4 or 8 "
                        "bytes; got "
                     << eb;
  std::vector<int64_t> dims, perm, xs(static_cast<size_t>(rank));
  for (int64_t d = 0; d < rank; ++d)
    dims.push_back(l.i(ATTUNE_TR_NUM_FIXED + static_cast<size_t>(d)));
  for (int64_t d = 0; d < rank; ++d)
    perm.push_back(l.i(ATTUNE_TR_NUM_FIXED + static_cast<size_t>(rank + d)));
  int64_t acc = 1, total = 1;
  for (int64_t d = rank; d-- > 0;) {
    xs[static_cast<size_t>(d)] = acc;
    acc *= dims[static_cast<size_t>(d)];
  }
  total = acc;
  // Output dims (extent, x stride), size-1 dims dropped, mergeable runs
  // merged (output dims i, i+1 that are adjacent in x in the same order).
  std::vector<int64_t> oe, os;
  for (int64_t i = 0; i < rank; ++i) {
    int64_t e = dims[static_cast<size_t>(perm[static_cast<size_t>(i)])];
    int64_t s = xs[static_cast<size_t>(perm[static_cast<size_t>(i)])];
    if (e == 1)
      continue;
    if (!oe.empty() && os.back() == s * e) {
      oe.back() *= e;
      os.back() = s;
      continue;
    }
    oe.push_back(e);
    os.push_back(s);
  }
  int64_t r = static_cast<int64_t>(oe.size());
  std::vector<int64_t> ys(static_cast<size_t>(r));
  acc = 1;
  for (int64_t d = r; d-- > 0;) {
    ys[static_cast<size_t>(d)] = acc;
    acc *= oe[static_cast<size_t>(d)];
  }
  Type et = IntegerType::get(l.context(), static_cast<unsigned>(eb * 8));
  MemRefType mx = l.memrefOf(et, static_cast<int64_t>(l.value(x).bytes) / eb),
             my = l.memrefOf(et, static_cast<int64_t>(l.value(y).bytes) / eb);
  std::string key = launchKey(l);

  // x's contiguous dim among the output dims (after collapsing, the one of
  // stride 1).
  int64_t p = -1;
  for (int64_t d = 0; d < r; ++d)
    if (os[static_cast<size_t>(d)] == 1)
      p = d;
  bool tiled = r > 1 && os.back() != 1 && total > 0 && p >= 0 &&
               oe[static_cast<size_t>(p)] >= 8 && oe.back() >= 8;
  if (!tiled) {
    // The output's last dim is contiguous in x (or one side of the tile
    // would be short): a gather per element, coalesced on the y side and
    // on x when the last dim is contiguous there.
    std::string name = l.kernel(
        "transpose", key + "|gather", {mx, my}, kThreads,
        [&](KernelBuilder &k, ArrayRef<Value> a, Value, Value) {
          gridStride(k, total, kThreads, [&](Value i) {
            Value src = k.idx(0), rest = i;
            for (int64_t d = r; d-- > 0;) {
              size_t du = static_cast<size_t>(d);
              Value c = d == 0 ? rest : k.remu(rest, k.idx(oe[du]));
              if (d > 0)
                rest = k.divu(rest, k.idx(oe[du]));
              src = k.add(src, os[du] == 1 ? c : k.mul(c, k.idx(os[du])));
            }
            storeNat(k, loadNat(k, a[0], src), a[1], i);
          });
        });
    l.step(name, {x, y}, gridFor(total, kThreads), kThreads);
    return success();
  }
  // 32x32 tiles over (output dim p, which is x's contiguous dim; output's
  // last dim L); the other output dims are a batch.
  size_t pu = static_cast<size_t>(p), lu = static_cast<size_t>(r - 1);
  int64_t eP = oe[pu], eL = oe[lu], xsL = os[lu], ysP = ys[pu];
  std::vector<int64_t> be, bxs, bys;
  for (int64_t d = 0; d < r - 1; ++d)
    if (d != p) {
      be.push_back(oe[static_cast<size_t>(d)]);
      bxs.push_back(os[static_cast<size_t>(d)]);
      bys.push_back(ys[static_cast<size_t>(d)]);
    }
  int64_t batch = 1;
  for (int64_t e : be)
    batch *= e;
  const int64_t T = 32, R = 8; // tile, rows of threads
  int64_t tP = (eP + T - 1) / T, tL = (eL + T - 1) / T;
  int64_t items = batch * tP * tL;
  std::string name = l.kernel(
      "transpose", key + "|tiled", {mx, my}, kThreads,
      [&](KernelBuilder &k, ArrayRef<Value> a, Value, Value) {
        Value tile = workgroupArray(k, et, T * (T + 1));
        Value t = k.tid();
        Value tx = k.remu(t, k.idx(T)), ty = k.divu(t, k.idx(T));
        blockItems(k, items, [&](Value item) {
          Value tl = k.remu(item, k.idx(tL));
          Value rest = k.divu(item, k.idx(tL));
          Value tp = k.remu(rest, k.idx(tP));
          Value bi = k.divu(rest, k.idx(tP));
          Value xo = k.idx(0), yo = k.idx(0);
          for (int64_t d = static_cast<int64_t>(be.size()); d-- > 0;) {
            size_t du = static_cast<size_t>(d);
            Value c = d == 0 ? bi : k.remu(bi, k.idx(be[du]));
            if (d > 0)
              bi = k.divu(bi, k.idx(be[du]));
            xo = k.add(xo, k.mul(c, k.idx(bxs[du])));
            yo = k.add(yo, k.mul(c, k.idx(bys[du])));
          }
          Value p0 = k.mul(tp, k.idx(T)), l0 = k.mul(tl, k.idx(T));
          // Read: threads along p (contiguous in x).
          for (int64_t j = 0; j < T / R; ++j) {
            Value row = k.add(ty, k.idx(j * R)); // local L coordinate
            Value gp = k.add(p0, tx), gl = k.add(l0, row);
            Value ok = k.cbool(true);
            if (eP % T)
              ok = k.lt(gp, k.idx(eP));
            if (eL % T)
              ok = k.andi(ok, k.lt(gl, k.idx(eL)));
            auto body = [&] {
              Value src = k.add(xo, k.add(gp, k.mul(gl, k.idx(xsL))));
              k.store(loadNat(k, a[0], src), tile,
                      k.add(k.mul(row, k.idx(T + 1)), tx));
            };
            if (eP % T || eL % T)
              k.ifThen(ok, body);
            else
              body();
          }
          k.barrier();
          // Write: threads along L (contiguous in y).
          for (int64_t j = 0; j < T / R; ++j) {
            Value row = k.add(ty, k.idx(j * R)); // local p coordinate
            Value gp = k.add(p0, row), gl = k.add(l0, tx);
            Value ok = k.cbool(true);
            if (eP % T)
              ok = k.lt(gp, k.idx(eP));
            if (eL % T)
              ok = k.andi(ok, k.lt(gl, k.idx(eL)));
            auto body = [&] {
              Value dst = k.add(yo, k.add(k.mul(gp, k.idx(ysP)), gl));
              storeNat(k, k.load(tile, k.add(k.mul(tx, k.idx(T + 1)), row)),
                       a[1], dst);
            };
            if (eP % T || eL % T)
              k.ifThen(ok, body);
            else
              body();
          }
          if (items > kMaxGridX)
            k.barrier();
        });
      });
  l.step(name, {x, y}, {blocksFor(items), 1, 1}, kThreads);
  return success();
}

//===----------------------------------------------------------------------===//
// reduce
//===----------------------------------------------------------------------===//

enum { RED_SUM, RED_MEAN, RED_MAX };

/// The CPU family's collapsed shape (codegen/cpu/kernels/Reduce.cpp).
struct RedShape {
  std::vector<int64_t> ext, stride;
  std::vector<bool> red;
  int64_t count = 1, outputs = 1;
  bool lastKept() const { return ext.empty() || !red.back(); }
};

RedShape collapse(const std::vector<int64_t> &dims,
                  const std::vector<int64_t> &flags) {
  RedShape s;
  size_t rank = dims.size();
  std::vector<int64_t> st(rank);
  int64_t acc = 1;
  for (size_t d = rank; d-- > 0;) {
    st[d] = acc;
    acc *= dims[d];
  }
  for (size_t d = 0; d < rank; ++d) {
    if (flags[d])
      s.count *= dims[d];
    else
      s.outputs *= dims[d];
    if (dims[d] == 1)
      continue;
    bool rd = flags[d] != 0;
    if (!s.ext.empty() && s.red.back() == rd &&
        s.stride.back() == st[d] * dims[d]) {
      s.ext.back() *= dims[d];
      s.stride.back() = st[d];
    } else {
      s.ext.push_back(dims[d]);
      s.stride.push_back(st[d]);
      s.red.push_back(rd);
    }
  }
  return s;
}

/// Offset of flat index t over dims (ext, stride), innermost last.
Value unravel(KernelBuilder &k, Value t, const std::vector<int64_t> &ext,
              const std::vector<int64_t> &stride) {
  Value off = k.idx(0);
  for (size_t d = ext.size(); d-- > 0;) {
    Value c = d == 0 ? t : k.remu(t, k.idx(ext[d]));
    if (d > 0)
      t = k.divu(t, k.idx(ext[d]));
    off = k.add(off, stride[d] == 1 ? c : k.mul(c, k.idx(stride[d])));
  }
  return off;
}

LogicalResult emitReduce(GpuLaunch &l) {
  int x = l.buffer(0), y = l.buffer(1);
  int64_t kind = l.i(ATTUNE_RED_KIND), rank = l.i(ATTUNE_RED_RANK);
  if (kind < 0 || kind > 2)
    return l.error() << "internal: reduce kind " << kind;
  std::vector<int64_t> dims, flags;
  for (int64_t d = 0; d < rank; ++d) {
    dims.push_back(l.i(ATTUNE_RED_NUM_FIXED + static_cast<size_t>(d)));
    flags.push_back(l.i(ATTUNE_RED_NUM_FIXED + static_cast<size_t>(rank + d)));
  }
  RedShape s = collapse(dims, flags);
  bool isMax = kind == RED_MAX;
  float fcount = static_cast<float>(s.count);
  MemRefType mx = l.memrefOf(x), my = l.memrefOf(y);
  auto combine = [&](KernelBuilder &k, Value acc, Value v) {
    return isMax ? k.fmax(acc, v) : k.fadd(acc, v);
  };
  auto finish = [&](KernelBuilder &k, Value v) {
    return kind == RED_MEAN ? k.fdiv(v, k.cf32(fcount)) : v;
  };
  auto init = [&](KernelBuilder &k) {
    return isMax ? k.cf32(-INFINITY) : k.cf32(0.0);
  };
  std::string key = launchKey(l);
  int64_t r = static_cast<int64_t>(s.ext.size());
  // Kept and reduced dims other than the last.
  std::vector<int64_t> kExt, kSt, rExt, rSt;
  for (int64_t d = 0; d + 1 < r; ++d) {
    size_t du = static_cast<size_t>(d);
    if (s.red[du]) {
      rExt.push_back(s.ext[du]);
      rSt.push_back(s.stride[du]);
    } else {
      kExt.push_back(s.ext[du]);
      kSt.push_back(s.stride[du]);
    }
  }

  if (s.lastKept()) {
    int64_t I = r ? s.ext.back() : 1;
    // Columns (up to 32, a power of two covering I) and partitions of the
    // reduced index per block: narrow outputs get more partitions.
    int64_t C = 1;
    while (C < 32 && C < I)
      C *= 2;
    const int64_t P = kThreads / C;
    int64_t rTotal = 1;
    for (int64_t e : rExt)
      rTotal *= e;
    int64_t prefixes = I > 0 ? s.outputs / I : 0;
    int64_t cBlocks = (I + C - 1) / C;
    int64_t items = s.outputs > 0 ? prefixes * cBlocks : 0;
    std::string name = l.kernel(
        "reduce", key + "|cols" + std::to_string(C), {mx, my}, kThreads,
        [&](KernelBuilder &k, ArrayRef<Value> a, Value, Value) {
          Value part = workgroupArray(k, k.f32(), C * P);
          Value t = k.tid();
          Value tx = k.remu(t, k.idx(C)), ty = k.divu(t, k.idx(C));
          blockItems(k, items, [&](Value item) {
            Value o = k.divu(item, k.idx(cBlocks));
            Value c = k.add(k.mul(k.remu(item, k.idx(cBlocks)), k.idx(C)), tx);
            Value active = k.lt(c, k.idx(I));
            Value base = k.add(unravel(k, o, kExt, kSt), c);
            Value acc = k.ifElse(
                active, {k.f32()},
                [&]() -> SmallVector<Value> {
                  return k.forLoop(
                      ty, k.idx(rTotal), k.idx(P), {init(k)},
                      [&](Value tt, ValueRange it) -> SmallVector<Value> {
                        Value off = k.add(base, unravel(k, tt, rExt, rSt));
                        return {combine(k, it[0], k.loadF(a[0], off))};
                      });
                },
                [&]() -> SmallVector<Value> { return {init(k)}; })[0];
            k.store(acc, part, k.add(k.mul(ty, k.idx(C)), tx));
            k.barrier();
            k.ifThen(k.andi(k.eq(ty, k.idx(0)), active), [&] {
              Value v = k.load(part, tx);
              for (int64_t q = 1; q < P; ++q)
                v = combine(k, v, k.load(part, k.add(k.idx(q * C), tx)));
              k.storeF(finish(k, v), a[1], k.add(k.mul(o, k.idx(I)), c));
            });
            if (items > kMaxGridX)
              k.barrier();
          });
        });
    l.step(name, {x, y}, {blocksFor(items), 1, 1}, kThreads);
    return success();
  }

  // Last dim reduced: all reduced dims (with the last, contiguous) per output.
  rExt.push_back(s.ext.back());
  rSt.push_back(s.stride.back());
  int64_t count = s.count;
  bool warpPer = count < 1024;
  int64_t perBlock = warpPer ? kThreads / 32 : 1;
  int64_t G = warpPer ? 32 : kThreads; // threads per output
  int64_t items = (s.outputs + perBlock - 1) / perBlock;
  std::string name = l.kernel(
      "reduce", key + (warpPer ? "|warp" : "|block"), {mx, my}, kThreads,
      [&](KernelBuilder &k, ArrayRef<Value> a, Value, Value) {
        Value scratch = warpPer ? Value() : workgroupArray(k, k.f32(), 32);
        Value t = k.tid();
        Value lane = warpPer ? k.remu(t, k.idx(32)) : t;
        Value sub = warpPer ? k.divu(t, k.idx(32)) : k.idx(0);
        blockItems(k, items, [&](Value item) {
          Value o = k.add(k.mul(item, k.idx(perBlock)), sub);
          Value inRange =
              s.outputs % perBlock ? k.lt(o, k.idx(s.outputs)) : k.cbool(true);
          Value oc = s.outputs % perBlock
                         ? k.mins(o, k.idx(s.outputs - 1))
                         : o; // a warp past the end reduces a valid output
          Value base = unravel(k, oc, kExt, kSt);
          Value acc = k.forLoop(
              lane, k.idx(count), k.idx(G), {init(k)},
              [&](Value tt, ValueRange it) -> SmallVector<Value> {
                Value off = k.add(base, unravel(k, tt, rExt, rSt));
                return {combine(k, it[0], k.loadF(a[0], off))};
              })[0];
          Value v = warpPer ? (isMax ? k.warpMax(acc) : k.warpSum(acc))
                            : k.blockReduce(acc, isMax, kThreads, scratch);
          k.ifThen(k.andi(k.eq(lane, k.idx(0)), inRange),
                   [&] { k.storeF(finish(k, v), a[1], o); });
        });
      });
  l.step(name, {x, y}, {blocksFor(items), 1, 1}, kThreads);
  return success();
}

} // namespace

LogicalResult emitLayoutFamily(GpuLaunch &l, StringRef family,
                               StringRef dtype) {
  (void)dtype;
  if (family == "cast")
    return emitCast(l);
  if (family == "slice")
    return emitSlice(l);
  if (family == "concat")
    return emitConcat(l);
  if (family == "transpose")
    return emitTranspose(l);
  if (family == "reduce")
    return emitReduce(l);
  return l.error() << "internal: no layout family '" << family << "'";
}

} // namespace attune::codegen::nvptx
