//===- Rows.cpp - GPU kernels of the row families -------------------------===//
//
// rms_norm, layer_norm, softmax over the last dim and cross_entropy: a group
// of threads per row (a warp for rows of at most 256 elements, 8 rows to a
// block of 256 threads; else a block of 64..512 threads), each thread owning
// columns lane, lane + G, ... and holding them in registers when there are
// at most 16 of them (else re-reading them per pass). Row sums and maxima
// run over the thread's columns in order, then through the warp shuffle
// tree (and the block's per-warp partials): a fixed order, bitwise
// repeatable. Arithmetic is f32 as in the CPU families
// (codegen/cpu/kernels/{Norm,Softmax,CrossEntropy}.cpp), results rounded to
// the storage type.
//
// softmax with inner > 1: one thread per (outer, inner) column walking the
// axis (coalesced across columns).
// rope: step 1 computes cos/sin per (position group, l, i) as the CPU does
// (angle pos * theta^(-2i/rd) in f64 with the inverse frequencies computed
// on the host, cos/sin in f64 rounded to f32) into a scratch table; step 2
// rotates one pair per thread and copies dims >= rotary_dim.
// embedding: one thread per word of an output row; an id outside [0, V)
// reports ATTUNE_GPU_ERROR_ID_OUT_OF_RANGE (position, id, V).
// cross_entropy: step 1 one row per group (loss in f32; a label outside
// [0, C) that is not ignore_index reports
// ATTUNE_GPU_ERROR_LABEL_OUT_OF_RANGE (row, label, C)); with mean or sum
// the losses go to a scratch buffer and step 2 (one block) adds them in a
// fixed order and counts the rows that are not ignored.
//
//===----------------------------------------------------------------------===//

#include "GpuFamilies.h"

#include "attune/abi/Families.h"
#include "attune/abi/GpuABI.h"

#include <cmath>
#include <cstring>

using namespace mlir;

namespace attune::codegen::nvptx {

namespace {

constexpr unsigned kThreads = 256;

/// How a row of D elements is spread over threads.
struct RowPlan {
  int64_t D = 0;
  int64_t T = 256;    // threads of the block
  int64_t G = 256;    // threads per row (32: a warp, else the block)
  int64_t V = 0;      // columns per thread when cached, else 0
  int64_t perBlock() const { return T / G; }
  std::string key() const {
    return "|T" + std::to_string(T) + "G" + std::to_string(G) + "V" +
           std::to_string(V);
  }
};

RowPlan planRow(int64_t D) {
  RowPlan p;
  p.D = D;
  if (D <= 256) {
    p.T = kThreads;
    p.G = 32;
  } else {
    int64_t t = 64;
    while (t < 512 && t * 8 < D)
      t *= 2;
    p.T = p.G = t;
  }
  int64_t v = (D + p.G - 1) / p.G;
  p.V = v <= 16 ? v : 0;
  return p;
}

/// The columns one thread owns of a row, with the row's reductions.
class Row {
public:
  Row(KernelBuilder &k, const RowPlan &p, Value lane, Value scratch)
      : k(k), p(p), lane(lane), scratch(scratch) {}

  /// Loads the thread's columns (cached plans) of row `base` of `x`.
  void load(Value x, Value base) {
    mem = x;
    rowBase = base;
    vals.clear();
    cols.clear();
    actives.clear();
    for (int64_t v = 0; v < p.V; ++v) {
      Value col = k.add(lane, k.idx(v * p.G));
      bool full = (v + 1) * p.G <= p.D;
      Value active = full ? Value() : k.lt(col, k.idx(p.D));
      Value at = full ? col : k.select(active, col, k.idx(0));
      Value xv = k.loadF(x, k.add(base, at));
      cols.push_back(col);
      actives.push_back(active);
      vals.push_back(xv);
    }
  }

  /// Folds step(acc, col, x) over the thread's columns in order.
  Value fold(Value init,
             const std::function<Value(Value, Value, Value)> &step) {
    if (p.V > 0) {
      Value acc = init;
      for (size_t v = 0; v < vals.size(); ++v) {
        Value next = step(acc, cols[v], vals[v]);
        acc = actives[v] ? k.select(actives[v], next, acc) : next;
      }
      return acc;
    }
    return k.forLoop(lane, k.idx(p.D), k.idx(p.G), {init},
                     [&](Value col, ValueRange it) -> SmallVector<Value> {
                       Value xv = k.loadF(mem, k.add(rowBase, col));
                       return {step(it[0], col, xv)};
                     })[0];
  }

  /// Calls f(col, x) for each of the thread's columns.
  void forEach(const std::function<void(Value, Value)> &f) {
    if (p.V > 0) {
      for (size_t v = 0; v < vals.size(); ++v) {
        if (actives[v])
          k.ifThen(actives[v], [&] { f(cols[v], vals[v]); });
        else
          f(cols[v], vals[v]);
      }
      return;
    }
    k.forLoop(lane, k.idx(p.D), k.idx(p.G), [&](Value col) {
      f(col, k.loadF(mem, k.add(rowBase, col)));
    });
  }

  /// Sum (or max) over the row's threads; every thread gets it.
  Value reduce(Value v, bool isMax) {
    if (p.G == 32)
      return isMax ? k.warpMax(v) : k.warpSum(v);
    return k.blockReduce(v, isMax, static_cast<int>(p.T), scratch);
  }
  Value sum(Value v) { return reduce(v, false); }
  Value max(Value v) { return reduce(v, true); }

private:
  KernelBuilder &k;
  const RowPlan &p;
  Value lane, scratch;
  Value mem, rowBase;
  SmallVector<Value> vals, cols, actives;
};

/// Runs body(row, lane, scratch) for each row of `rows` under plan p, with
/// the rows of a block's groups guarded.
void forRows(KernelBuilder &k, const RowPlan &p, int64_t rows,
             const std::function<void(Value, Value, Value)> &body) {
  Value scratch = p.G == 32 ? Value() : workgroupArray(k, k.f32(), 32);
  Value t = k.tid();
  int64_t per = p.perBlock();
  Value lane = per > 1 ? k.remu(t, k.idx(p.G)) : t;
  Value sub = per > 1 ? k.divu(t, k.idx(p.G)) : k.idx(0);
  int64_t items = (rows + per - 1) / per;
  blockItems(k, items, [&](Value item) {
    Value row = per > 1 ? k.add(k.mul(item, k.idx(per)), sub) : item;
    if (rows % per)
      k.ifThen(k.lt(row, k.idx(rows)), [&] { body(row, lane, scratch); });
    else
      body(row, lane, scratch);
  });
}

int64_t rowItems(const RowPlan &p, int64_t rows) {
  int64_t per = p.perBlock();
  return (rows + per - 1) / per;
}

/// e^x (math.exp: libdevice expf).
Value fexp(KernelBuilder &k, Value x) {
  return math::ExpOp::create(k.b, k.loc, x);
}
/// Correctly rounded sqrt, as the CPU's sqrt.
Value fsqrt(KernelBuilder &k, Value x) { return k.sqrtRn(x); }

//===----------------------------------------------------------------------===//
// rms_norm, layer_norm
//===----------------------------------------------------------------------===//

LogicalResult emitNorm(GpuLaunch &l, bool layer) {
  int x = l.buffer(0), w = l.buffer(1), bias = layer ? l.buffer(2) : -1,
      y = l.buffer(layer ? 3 : 2);
  int64_t rows = l.i(ATTUNE_ROW_ROWS), D = l.i(ATTUNE_ROW_D);
  float eps = static_cast<float>(l.f(0));
  float fD = static_cast<float>(D);
  RowPlan p = planRow(D);
  SmallVector<MemRefType> types = {l.memrefOf(x)};
  std::vector<int> args = {x};
  if (w >= 0) {
    types.push_back(l.memrefOf(w));
    args.push_back(w);
  }
  if (bias >= 0) {
    types.push_back(l.memrefOf(bias));
    args.push_back(bias);
  }
  types.push_back(l.memrefOf(y));
  args.push_back(y);
  std::string name = l.kernel(
      layer ? "layer_norm" : "rms_norm", launchKey(l) + p.key(), types,
      static_cast<unsigned>(p.T),
      [&](KernelBuilder &k, ArrayRef<Value> a, Value, Value) {
        size_t ai = 1;
        Value wm = w >= 0 ? a[ai++] : Value();
        Value bm = bias >= 0 ? a[ai++] : Value();
        Value ym = a[ai];
        forRows(k, p, rows, [&](Value row, Value lane, Value scratch) {
          Row r(k, p, lane, scratch);
          Value base = k.mul(row, k.idx(D));
          r.load(a[0], base);
          if (!layer) {
            Value ss =
                r.sum(r.fold(k.cf32(0.0), [&](Value acc, Value, Value v) {
                  return k.fma(v, v, acc);
                }));
            Value denom = fsqrt(k, k.fadd(k.fdiv(ss, k.cf32(fD)), k.cf32(eps)));
            r.forEach([&](Value col, Value v) {
              Value o = k.fdiv(v, denom);
              if (wm)
                o = k.fmul(o, k.loadF(wm, col));
              k.storeF(o, ym, k.add(base, col));
            });
            return;
          }
          Value s = r.sum(r.fold(k.cf32(0.0), [&](Value acc, Value, Value v) {
            return k.fadd(acc, v);
          }));
          Value mean = k.fdiv(s, k.cf32(fD));
          Value v2 = r.sum(r.fold(k.cf32(0.0), [&](Value acc, Value, Value v) {
            Value c = k.fsub(v, mean);
            return k.fma(c, c, acc);
          }));
          Value var = k.fdiv(v2, k.cf32(fD));
          Value dv = fsqrt(k, k.fadd(var, k.cf32(eps)));
          r.forEach([&](Value col, Value v) {
            Value o = k.fdiv(k.fsub(v, mean), dv);
            if (wm)
              o = k.fmul(o, k.loadF(wm, col));
            if (bm)
              o = k.fadd(o, k.loadF(bm, col));
            k.storeF(o, ym, k.add(base, col));
          });
        });
      });
  l.step(name, args, {blocksFor(rowItems(p, rows)), 1, 1},
         static_cast<unsigned>(p.T));
  return success();
}

//===----------------------------------------------------------------------===//
// softmax
//===----------------------------------------------------------------------===//

LogicalResult emitSoftmax(GpuLaunch &l) {
  int x = l.buffer(0), y = l.buffer(1);
  int64_t outer = l.i(ATTUNE_SMAX_OUTER), n = l.i(ATTUNE_SMAX_AXIS),
          inner = l.i(ATTUNE_SMAX_INNER);
  MemRefType mx = l.memrefOf(x), my = l.memrefOf(y);
  // NaN in a slice: NaN (maximumf propagates it through m, msafe and every
  // exp); an all -inf slice: zeros.
  if (inner == 1) {
    RowPlan p = planRow(n);
    std::string name = l.kernel(
        "softmax", launchKey(l) + p.key(), {mx, my},
        static_cast<unsigned>(p.T),
        [&](KernelBuilder &k, ArrayRef<Value> a, Value, Value) {
          forRows(k, p, outer, [&](Value row, Value lane, Value scratch) {
            Row r(k, p, lane, scratch);
            Value base = k.mul(row, k.idx(n));
            r.load(a[0], base);
            Value m = r.max(r.fold(k.cf32(-INFINITY),
                                   [&](Value acc, Value, Value v) {
                                     return k.fmax(acc, v);
                                   }));
            Value allNinf =
                k.cmpf(arith::CmpFPredicate::OEQ, m, k.cf32(-INFINITY));
            Value msafe = k.select(allNinf, k.cf32(0.0), m);
            Value s = r.sum(r.fold(k.cf32(0.0), [&](Value acc, Value, Value v) {
              return k.fadd(acc, fexp(k, k.fsub(v, msafe)));
            }));
            r.forEach([&](Value col, Value v) {
              Value o = k.fdiv(fexp(k, k.fsub(v, msafe)), s);
              k.storeF(k.select(allNinf, k.cf32(0.0), o), a[1],
                       k.add(base, col));
            });
          });
        });
    l.step(name, {x, y}, {blocksFor(rowItems(p, outer)), 1, 1},
           static_cast<unsigned>(p.T));
    return success();
  }
  int64_t cols = outer * inner;
  std::string name = l.kernel(
      "softmax", launchKey(l) + "|cols", {mx, my}, kThreads,
      [&](KernelBuilder &k, ArrayRef<Value> a, Value, Value) {
        gridStride(k, cols, kThreads, [&](Value i) {
          Value o = k.divu(i, k.idx(inner)), c = k.remu(i, k.idx(inner));
          Value base = k.add(k.mul(o, k.idx(n * inner)), c);
          auto at = [&](Value j) {
            return k.add(base, k.mul(j, k.idx(inner)));
          };
          using Iters = SmallVector<Value>;
          Value m = k.forLoop(k.idx(0), k.idx(n), k.idx(1),
                              {k.cf32(-INFINITY)},
                              [&](Value j, ValueRange it) -> Iters {
                                return {k.fmax(it[0], k.loadF(a[0], at(j)))};
                              })[0];
          Value allNinf =
              k.cmpf(arith::CmpFPredicate::OEQ, m, k.cf32(-INFINITY));
          Value msafe = k.select(allNinf, k.cf32(0.0), m);
          Value s = k.forLoop(k.idx(0), k.idx(n), k.idx(1), {k.cf32(0.0)},
                              [&](Value j, ValueRange it) -> Iters {
                                Value e = fexp(k, k.fsub(k.loadF(a[0], at(j)),
                                                         msafe));
                                return {k.fadd(it[0], e)};
                              })[0];
          k.forLoop(k.idx(0), k.idx(n), k.idx(1), [&](Value j) {
            Value e = fexp(k, k.fsub(k.loadF(a[0], at(j)), msafe));
            k.storeF(k.select(allNinf, k.cf32(0.0), k.fdiv(e, s)), a[1], at(j));
          });
        });
      });
  l.step(name, {x, y}, gridFor(cols, kThreads), kThreads);
  return success();
}

//===----------------------------------------------------------------------===//
// rope
//===----------------------------------------------------------------------===//

LogicalResult emitRope(GpuLaunch &l) {
  int x = l.buffer(0), pos = l.buffer(1), y = l.buffer(2);
  int64_t N0 = l.i(ATTUNE_ROPE_N0), L = l.i(ATTUNE_ROPE_L),
          D = l.i(ATTUNE_ROPE_D), B = l.i(ATTUNE_ROPE_B),
          kind = l.i(ATTUNE_ROPE_POS_KIND),
          inter = l.i(ATTUNE_ROPE_INTERLEAVED),
          rd = l.i(ATTUNE_ROPE_ROTARY_DIM);
  double theta = l.f(0);
  if (rd <= 0 || rd > D || rd % 2 || (kind == 2 && (B <= 0 || N0 % B)) ||
      (kind != 0 && pos < 0))
    return l.error() << "internal: rope parameters";
  int64_t half = rd / 2;
  int64_t groups = kind == 2 ? B : 1;
  int64_t groupRows = kind == 2 ? N0 / B : N0;
  // Inverse frequencies as the CPU family computes them (std::pow in f64).
  std::vector<uint8_t> invBytes(static_cast<size_t>(half) * 8);
  for (int64_t i = 0; i < half; ++i) {
    double v = std::pow(theta, -2.0 * static_cast<double>(i) /
                                   static_cast<double>(rd));
    std::memcpy(invBytes.data() + i * 8, &v, 8);
  }
  int inv = l.addConstant(DType::F64, invBytes);
  int64_t tabRows = groups * L;
  int tab = l.addScratch(DType::F32, std::max<int64_t>(tabRows * rd, 1));
  MemRefType mInv = l.memrefOf(inv), mTab = l.memrefOf(tab);
  std::string key = launchKey(l);

  // Step 1: cos in tab[gl, 0..half), sin in tab[gl, half..rd).
  {
    SmallVector<MemRefType> types = {mInv};
    std::vector<int> args = {inv};
    if (kind != 0) {
      types.push_back(l.memrefOf(pos));
      args.push_back(pos);
    }
    types.push_back(mTab);
    args.push_back(tab);
    int64_t n = N0 > 0 ? tabRows * half : 0;
    std::string name = l.kernel(
        "rope_table", key, types, kThreads,
        [&](KernelBuilder &k, ArrayRef<Value> a, Value, Value) {
          Value tm = a.back();
          Type f64 = k.b.getF64Type();
          gridStride(k, n, kThreads, [&](Value e) {
            Value i = k.remu(e, k.idx(half)), gl = k.divu(e, k.idx(half));
            Value lpos = k.remu(gl, k.idx(L));
            Value p;
            if (kind == 0)
              p = k.toI64(lpos);
            else if (kind == 1)
              p = loadIntNat(k, a[1], lpos);
            else
              p = loadIntNat(k, a[1], gl); // g * L + l
            Value pd = arith::SIToFPOp::create(k.b, k.loc, f64, p);
            Value ang = arith::MulFOp::create(k.b, k.loc, pd, k.load(a[0], i));
            Value c = arith::TruncFOp::create(
                k.b, k.loc, k.f32(), math::CosOp::create(k.b, k.loc, ang));
            Value s = arith::TruncFOp::create(
                k.b, k.loc, k.f32(), math::SinOp::create(k.b, k.loc, ang));
            Value at = k.add(k.mul(gl, k.idx(rd)), i);
            k.store(c, tm, at);
            k.store(s, tm, k.add(at, k.idx(half)));
          });
        });
    l.step(name, args, gridFor(n, kThreads), kThreads);
  }
  // Step 2: one thread per rotated pair, then the copied tail.
  {
    MemRefType mx = l.memrefOf(x), my = l.memrefOf(y);
    int64_t rowsAll = N0 * L;
    int64_t pairs = rowsAll * half, tail = rowsAll * (D - rd);
    std::array<uint32_t, 3> grid = gridFor(std::max(pairs, tail), kThreads);
    std::string name = l.kernel(
        "rope", key, {mx, mTab, my}, kThreads,
        [&](KernelBuilder &k, ArrayRef<Value> a, Value, Value) {
          // Both loops stride over the step's whole grid.
          Value start = k.add(k.mul(k.bid(), k.idx(kThreads)), k.tid());
          Value stride = k.idx(static_cast<int64_t>(grid[0]) * kThreads);
          k.forLoop(start, k.idx(pairs), stride, [&](Value e) {
            Value i = k.remu(e, k.idx(half)), row = k.divu(e, k.idx(half));
            Value lpos = k.remu(row, k.idx(L));
            Value gl = lpos;
            if (kind == 2) {
              Value g = k.divu(k.divu(row, k.idx(L)), k.idx(groupRows));
              gl = k.add(k.mul(g, k.idx(L)), lpos);
            }
            Value tb = k.add(k.mul(gl, k.idx(rd)), i);
            Value c = k.load(a[1], tb);
            Value s = k.load(a[1], k.add(tb, k.idx(half)));
            Value base = k.mul(row, k.idx(D));
            Value ia, ib;
            if (inter) {
              ia = k.add(base, k.mul(i, k.idx(2)));
              ib = k.add(ia, k.idx(1));
            } else {
              ia = k.add(base, i);
              ib = k.add(ia, k.idx(half));
            }
            Value xa = k.loadF(a[0], ia), xb = k.loadF(a[0], ib);
            // As the CPU's vector path: fmsub(xa, c, xb*s), fmadd(xa, s, xb*c).
            k.storeF(k.fma(xa, c, k.fneg(k.fmul(xb, s))), a[2], ia);
            k.storeF(k.fma(xa, s, k.fmul(xb, c)), a[2], ib);
          });
          if (tail > 0)
            k.forLoop(start, k.idx(tail), stride, [&](Value e) {
              int64_t w = D - rd;
              Value d = k.remu(e, k.idx(w)), row = k.divu(e, k.idx(w));
              Value at = k.add(k.mul(row, k.idx(D)), k.add(d, k.idx(rd)));
              k.store(k.load(a[0], at), a[2], at); // bits copied
            });
        });
    l.step(name, {x, tab, y}, grid, kThreads);
  }
  return success();
}

//===----------------------------------------------------------------------===//
// embedding
//===----------------------------------------------------------------------===//

LogicalResult emitEmbedding(GpuLaunch &l) {
  int ids = l.buffer(0), table = l.buffer(1), y = l.buffer(2);
  int64_t N = l.i(ATTUNE_EMB_N), V = l.i(ATTUNE_EMB_V), D = l.i(ATTUNE_EMB_D);
  int64_t es = static_cast<int64_t>(dtypeSize(l.value(table).dtype));
  int64_t rowBytes = D * es;
  int64_t w = 1;
  for (int64_t c : {8, 4, 2})
    if (rowBytes % c == 0) {
      w = c;
      break;
    }
  int64_t rowWords = rowBytes / w;
  Type wt = IntegerType::get(l.context(), static_cast<unsigned>(w * 8));
  MemRefType mt =
      l.memrefOf(wt, static_cast<int64_t>(l.value(table).bytes) / w);
  MemRefType my = l.memrefOf(wt, static_cast<int64_t>(l.value(y).bytes) / w);
  std::string name = l.kernel(
      "embedding", launchKey(l) + "|w" + std::to_string(w),
      {l.memrefOf(ids), mt, my}, kThreads,
      [&](KernelBuilder &k, ArrayRef<Value> a, Value err, Value site) {
        auto check = [&](Value n, Value id, Value ok) {
          k.ifThen(k.xori(ok, k.cbool(true)), [&] {
            GpuLaunch::reportError(k, err, site,
                                   ATTUNE_GPU_ERROR_ID_OUT_OF_RANGE,
                                   {k.toI64(n), id, k.ci64(V)});
          });
        };
        if (rowWords == 0) {
          gridStride(k, N, kThreads, [&](Value n) {
            Value id = loadIntNat(k, a[0], n);
            check(n, id, k.cmpi(arith::CmpIPredicate::ult, id, k.ci64(V)));
          });
          return;
        }
        gridStride(k, N * rowWords, kThreads, [&](Value e) {
          Value n = k.divu(e, k.idx(rowWords)), j = k.remu(e, k.idx(rowWords));
          Value id = loadIntNat(k, a[0], n);
          Value ok = k.cmpi(arith::CmpIPredicate::ult, id, k.ci64(V));
          k.ifThen(ok, [&] {
            Value src = k.add(k.mul(k.toIndex(id), k.idx(rowWords)), j);
            storeNat(k, loadNat(k, a[1], src), a[2], e);
          });
          k.ifThen(k.eq(j, k.idx(0)), [&] { check(n, id, ok); });
        });
      });
  l.step(name, {ids, table, y},
         gridFor(rowWords ? N * rowWords : N, kThreads), kThreads);
  return success();
}

//===----------------------------------------------------------------------===//
// cross_entropy
//===----------------------------------------------------------------------===//

/// Sum of an i32 over a block of `threads` (fixed order); every thread gets
/// it. `scratch` is a workgroup memref<32xi32>.
Value blockSumI32(KernelBuilder &k, Value v, int threads, Value scratch) {
  for (int o = 16; o >= 1; o /= 2) {
    auto sh = gpu::ShuffleOp::create(k.b, k.loc, v, k.ci32(o), k.ci32(32),
                                     gpu::ShuffleMode::XOR);
    v = k.add(v, sh.getShuffleResult());
  }
  int warps = threads / 32;
  if (warps == 1)
    return v;
  Value t = k.tid();
  Value lane = k.remu(t, k.idx(32)), warp = k.divu(t, k.idx(32));
  k.barrier();
  k.ifThen(k.eq(lane, k.idx(0)), [&] { k.store(v, scratch, warp); });
  k.barrier();
  Value w = k.select(k.lt(lane, k.idx(warps)), k.load(scratch, lane),
                     k.ci32(0));
  for (int o = 16; o >= 1; o /= 2) {
    auto sh = gpu::ShuffleOp::create(k.b, k.loc, w, k.ci32(o), k.ci32(32),
                                     gpu::ShuffleMode::XOR);
    w = k.add(w, sh.getShuffleResult());
  }
  k.barrier();
  return w;
}

LogicalResult emitCrossEntropy(GpuLaunch &l) {
  int logits = l.buffer(0), labels = l.buffer(1), loss = l.buffer(2);
  int64_t N = l.i(ATTUNE_CE_N), C = l.i(ATTUNE_CE_C),
          ignore = l.i(ATTUNE_CE_IGNORE), red = l.i(ATTUNE_CE_REDUCTION);
  if (red < 0 || red > 2)
    return l.error() << "internal: cross_entropy reduction " << red;
  if (N >= (int64_t(1) << 31))
    return l.error() << "the cuda cross_entropy takes fewer than 2^31 rows; "
                        "got "
                     << N;
  RowPlan p = planRow(C);
  int scratch =
      red == 0 ? -1 : l.addScratch(DType::F32, std::max<int64_t>(N, 1));
  int out = red == 0 ? loss : scratch;
  MemRefType mLog = l.memrefOf(logits), mLab = l.memrefOf(labels),
             mOut = l.memrefOf(out);
  std::string key = launchKey(l);
  std::string name = l.kernel(
      "cross_entropy", key + p.key(), {mLog, mLab, mOut},
      static_cast<unsigned>(p.T),
      [&](KernelBuilder &k, ArrayRef<Value> a, Value err, Value site) {
        forRows(k, p, N, [&](Value row, Value lane, Value sc) {
          Value label = loadIntNat(k, a[1], row);
          Value ignored = k.eq(label, k.ci64(ignore));
          Value inRange = k.cmpi(arith::CmpIPredicate::ult, label, k.ci64(C));
          Value bad = k.andi(k.xori(ignored, k.cbool(true)),
                             k.xori(inRange, k.cbool(true)));
          k.ifThen(k.andi(bad, k.eq(lane, k.idx(0))), [&] {
            GpuLaunch::reportError(k, err, site,
                                   ATTUNE_GPU_ERROR_LABEL_OUT_OF_RANGE,
                                   {k.toI64(row), label, k.ci64(C)});
          });
          // `skip` is uniform over the row's threads.
          Value skip = k.ori(ignored, bad);
          Value base = k.mul(row, k.idx(C));
          Value lv = k.ifElse(
              skip, {k.f32()},
              [&]() -> SmallVector<Value> { return {k.cf32(0.0)}; },
              [&]() -> SmallVector<Value> {
                Row r(k, p, lane, sc);
                r.load(a[0], base);
                Value m = r.max(r.fold(k.cf32(-INFINITY),
                                       [&](Value acc, Value, Value v) {
                                         return k.fmax(acc, v);
                                       }));
                Value s = r.sum(r.fold(k.cf32(0.0), [&](Value acc, Value,
                                                        Value v) {
                  return k.fadd(acc, fexp(k, k.fsub(v, m)));
                }));
                Value finite = k.cmpf(arith::CmpFPredicate::ONE,
                                      math::AbsFOp::create(k.b, k.loc, m),
                                      k.cf32(INFINITY));
                Value lse = k.select(
                    finite, k.fadd(m, math::LogOp::create(k.b, k.loc, s)), m);
                Value xl = k.loadF(a[0], k.add(base, k.toIndex(label)));
                return {k.fsub(lse, xl)};
              })[0];
          k.ifThen(k.eq(lane, k.idx(0)), [&] {
            if (red == 0)
              k.storeF(lv, a[2], row);
            else
              k.store(lv, a[2], row);
          });
        });
      });
  l.step(name, {logits, labels, out}, {blocksFor(rowItems(p, N)), 1, 1},
         static_cast<unsigned>(p.T));
  if (red == 0)
    return success();

  // Step 2: the mean or sum over the rows, in a fixed order.
  const int T = 1024;
  MemRefType mLoss = l.memrefOf(loss);
  std::string name2 = l.kernel(
      "cross_entropy_reduce", key, {mOut, mLab, mLoss}, T,
      [&](KernelBuilder &k, ArrayRef<Value> a, Value, Value) {
        Value fs = workgroupArray(k, k.f32(), 32);
        Value is = workgroupArray(k, k.i32(), 32);
        Value t = k.tid();
        SmallVector<Value> acc = k.forLoop(
            t, k.idx(N), k.idx(T), {k.cf32(0.0), k.ci32(0)},
            [&](Value i, ValueRange it) -> SmallVector<Value> {
              Value counted = k.ne(loadIntNat(k, a[1], i), k.ci64(ignore));
              Value c = k.add(it[1], k.select(counted, k.ci32(1), k.ci32(0)));
              return {k.fadd(it[0], k.load(a[0], i)), c};
            });
        Value sum = k.blockReduce(acc[0], false, T, fs);
        Value count = blockSumI32(k, acc[1], T, is);
        k.ifThen(k.eq(t, k.idx(0)), [&] {
          Value v = sum;
          if (red == 1) {
            Value fc = k.sitofp(count);
            v = k.select(k.eq(count, k.ci32(0)), k.cf32(0.0),
                         k.fdiv(sum, fc));
          }
          k.storeF(v, a[2], k.idx(0));
        });
      });
  l.step(name2, {out, labels, loss}, {1, 1, 1}, T);
  return success();
}

} // namespace

LogicalResult emitRowFamily(GpuLaunch &l, StringRef family, StringRef dtype) {
  (void)dtype;
  if (family == "rms_norm")
    return emitNorm(l, false);
  if (family == "layer_norm")
    return emitNorm(l, true);
  if (family == "softmax")
    return emitSoftmax(l);
  if (family == "rope")
    return emitRope(l);
  if (family == "embedding")
    return emitEmbedding(l);
  if (family == "cross_entropy")
    return emitCrossEntropy(l);
  return l.error() << "internal: no row family '" << family << "'";
}

} // namespace attune::codegen::nvptx
