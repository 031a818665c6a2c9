//===- Gemm.cpp - GPU kernels of linear, matmul and mlp -------------------===//
//
// One SIMT GEMM generator, specialized per launch:
//   C[M, N] = A[M, K] B, B either W[N, K]^T (linear, mlp: a PyTorch weight)
//   or B[K, N] (matmul), batched with broadcast strides (matmul).
// Tiles of 64 x 64 outputs per block of 256 threads, K in steps of 16: the
// A and B tiles go through shared memory (k-major, f32), each thread
// accumulates a 4 x 4 register tile in f32 with fma in k order (so every
// output's sum runs over k in order: bitwise repeatable), and the next
// tile's global loads are issued before the current tile's math (register
// prefetch). Edges are masked (loads clamped to valid addresses and zeroed,
// stores guarded), so any M, N, K works.
//
// Epilogues: linear and mlp's down projection add the bias in f32 and round
// to T as the CPU's storeTile does; matmul rounds. mlp's first step computes
// the up (and gate) tiles of the same x tile together and stores
// h = act(x Wgate^T) * (x Wup^T + b_up) (gated) or act(x Wup^T + b_up),
// rounded to T as the CPU family rounds h (roundTo<T>), into a scratch
// [M, F] of T; the second step is the linear kernel on it.
//
//===----------------------------------------------------------------------===//

#include "GpuFamilies.h"

#include "attune/abi/Families.h"

#include <cmath>

using namespace mlir;

namespace attune::codegen::nvptx {

namespace {

constexpr int64_t BM = 64, BN = 64, BK = 16, TM = 4, TN = 4;
constexpr int64_t kPad = 4; // floats of padding per shared row
constexpr unsigned kThreads = 256;

struct GemmSpec {
  int64_t M = 0, N = 0, K = 0;
  bool bT = true; // B is W[N, K] (else B[K, N])
  std::vector<int64_t> bExt, sa, sb; // batch dims and strides (elements)
  int64_t batch = 1;
  bool mlp = false; // mlp step 1 epilogue
  bool gated = false;
  int64_t act = 0;
  bool bias = false;
  bool tc = false;     // tensor cores (bf16/f16, K % 8 == 0, ...)
  bool f16 = false;    // operands f16 (else bf16) on the tensor-core path
  bool yWords = false; // tensor-core path: y stored as pairs in i32 words
  std::string key() const {
    std::string s = tc ? "|mma" + std::string(f16 ? "f16" : "bf16") +
                             (yWords ? "w" : "")
                       : "|gemm" + std::to_string(BM) + "x" +
                             std::to_string(BN) + "x" + std::to_string(BK);
    s += std::string(bT ? "T" : "N") +
                    (mlp ? "mlp" : "") + (gated ? "g" : "") +
                    "a" + std::to_string(act) + (bias ? "b" : "");
    s += "|" + std::to_string(M) + "," + std::to_string(N) + "," +
         std::to_string(K) + "|";
    for (size_t i = 0; i < bExt.size(); ++i)
      s += std::to_string(bExt[i]) + ":" + std::to_string(sa[i]) + ":" +
           std::to_string(sb[i]) + ",";
    return s;
  }
};

/// ATTUNE_ACT_* as the CPU's activate8 computes it.
Value activate(KernelBuilder &k, int64_t act, Value x) {
  switch (act) {
  case ATTUNE_ACT_SILU: {
    Value e = math::ExpOp::create(k.b, k.loc, k.fneg(x));
    return k.fdiv(x, k.fadd(k.cf32(1.0), e));
  }
  case ATTUNE_ACT_GELU: {
    Value e = math::ErfOp::create(k.b, k.loc,
                                  k.fmul(x, k.cf32(0.70710678118654752)));
    return k.fmul(k.fmul(k.cf32(0.5), x), k.fadd(k.cf32(1.0), e));
  }
  case ATTUNE_ACT_GELU_TANH: {
    Value x3 = k.fmul(k.fmul(x, x), x);
    Value u = k.fmul(k.cf32(0.7978845608028654),
                     k.fma(k.cf32(0.044715), x3, x));
    Value hx = k.fmul(k.cf32(0.5), x);
    return k.fma(hx, math::TanhOp::create(k.b, k.loc, u), hx);
  }
  default: {
    Value isNan = k.cmpf(arith::CmpFPredicate::UNO, x, x);
    return k.select(isNan, x,
                    arith::MaxNumFOp::create(k.b, k.loc, x, k.cf32(0.0)));
  }
  }
}

/// The kernel body. A, B (and G, the gate weight, for gated mlp), bias
/// (or null), Y.
/// The K loop both GEMM bodies share: the next K tile is loaded from
/// global memory into registers while the current one, stored to shared
/// memory, is multiplied into the accumulators. The last iteration
/// prefetches the last tile again (a valid address, unused): one loop body,
/// so that the final tile's math is not sunk into the guarded stores of the
/// epilogue.
SmallVector<Value>
pipelinedKLoop(KernelBuilder &k, int64_t numK, ArrayRef<Value> acc,
               const std::function<SmallVector<Value>(Value)> &loadTile,
               const std::function<void(ValueRange)> &storeTile,
               const std::function<SmallVector<Value>(ValueRange)> &compute) {
  if (numK <= 0)
    return SmallVector<Value>(acc.begin(), acc.end());
  SmallVector<Value> init(acc.begin(), acc.end());
  SmallVector<Value> pre = loadTile(k.idx(0));
  init.append(pre.begin(), pre.end());
  size_t nAcc = acc.size();
  SmallVector<Value> res = k.forLoop(
      k.idx(0), k.idx(numK), k.idx(1), init,
      [&](Value kt, ValueRange it) -> SmallVector<Value> {
        storeTile(it.drop_front(nAcc));
        k.barrier();
        SmallVector<Value> next =
            loadTile(k.mins(k.add(kt, k.idx(1)), k.idx(numK - 1)));
        SmallVector<Value> out = compute(it.take_front(nAcc));
        k.barrier();
        out.append(next.begin(), next.end());
        return out;
      });
  return SmallVector<Value>(res.begin(), res.begin() + static_cast<long>(nAcc));
}

void gemmBody(KernelBuilder &k, const GemmSpec &s, Value A, Value B, Value G,
              Value bias, Value Y) {
  const int64_t M = s.M, N = s.N, K = s.K;
  const int64_t lda = BM + kPad, ldb = BN + kPad;
  const int nB = G ? 2 : 1; // B operands
  Value As = workgroupArray(k, k.f32(), BK * lda);
  Value Bs[2] = {workgroupArray(k, k.f32(), BK * ldb),
                 G ? workgroupArray(k, k.f32(), BK * ldb) : Value()};
  Value Bm[2] = {B, G};
  Value t = k.tid();
  Value tx = k.remu(t, k.idx(16)), ty = k.divu(t, k.idx(16));
  int64_t tilesM = (M + BM - 1) / BM, tilesN = (N + BN - 1) / BN;
  int64_t items = tilesM * tilesN * s.batch;
  int64_t numK = (K + BK - 1) / BK;
  bool maskM = M % BM != 0, maskN = N % BN != 0, maskK = K % BK != 0;
  const int64_t loads = BM * BK / kThreads; // per thread per operand: 4

  blockItems(k, items, [&](Value item) {
    Value tn = k.remu(item, k.idx(tilesN));
    Value rest = k.divu(item, k.idx(tilesN));
    Value tm = k.remu(rest, k.idx(tilesM));
    Value bi = k.divu(rest, k.idx(tilesM));
    Value offA = k.idx(0), offB = k.idx(0);
    {
      Value r = bi;
      for (size_t d = s.bExt.size(); d-- > 0;) {
        Value c = d == 0 ? r : k.remu(r, k.idx(s.bExt[d]));
        if (d > 0)
          r = k.divu(r, k.idx(s.bExt[d]));
        if (s.sa[d])
          offA = k.add(offA, k.mul(c, k.idx(s.sa[d])));
        if (s.sb[d])
          offB = k.add(offB, k.mul(c, k.idx(s.sb[d])));
      }
    }
    Value offY = s.batch > 1 ? k.mul(bi, k.idx(M * N)) : k.idx(0);
    Value m0 = k.mul(tm, k.idx(BM)), n0 = k.mul(tn, k.idx(BN));

    // Per-thread load plan. A (and B as W[N,K]): rows ty + 16 r, column tx.
    // B as [K,N]: rows t / 64 + 4 r, column t % 64.
    SmallVector<Value> aRow, aOk, bRow, bOk;
    for (int64_t r = 0; r < loads; ++r) {
      Value m = k.add(m0, k.add(ty, k.idx(16 * r)));
      aOk.push_back(maskM ? k.lt(m, k.idx(M)) : Value());
      Value mc = maskM ? k.mins(m, k.idx(M - 1)) : m;
      aRow.push_back(k.add(offA, k.mul(mc, k.idx(K))));
      if (s.bT) {
        Value n = k.add(n0, k.add(ty, k.idx(16 * r)));
        bOk.push_back(maskN ? k.lt(n, k.idx(N)) : Value());
        Value nc = maskN ? k.mins(n, k.idx(N - 1)) : n;
        bRow.push_back(k.add(offB, k.mul(nc, k.idx(K))));
      }
    }
    Value bCol, bColOk, bK0;
    if (!s.bT) {
      Value n = k.add(n0, k.remu(t, k.idx(BN)));
      bColOk = maskN ? k.lt(n, k.idx(N)) : Value();
      bCol = k.add(offB, maskN ? k.mins(n, k.idx(N - 1)) : n);
      bK0 = k.divu(t, k.idx(BN));
    }
    auto both = [&](Value a, Value b) -> Value {
      if (!a)
        return b;
      if (!b)
        return a;
      return k.andi(a, b);
    };
    auto masked = [&](Value v, Value ok) {
      return ok ? k.select(ok, v, k.cf32(0.0)) : v;
    };
    // Global loads of tile kt: loads values per operand, f32.
    auto loadTile = [&](Value kt) {
      SmallVector<Value> v;
      Value k0 = k.mul(kt, k.idx(BK));
      Value kk = k.add(k0, tx);
      Value kOk = maskK ? k.lt(kk, k.idx(K)) : Value();
      Value kc = maskK ? k.mins(kk, k.idx(K - 1)) : kk;
      for (int64_t r = 0; r < loads; ++r)
        v.push_back(masked(k.loadF(A, k.add(aRow[r], kc)), both(aOk[r], kOk)));
      for (int bo = 0; bo < nB; ++bo)
        for (int64_t r = 0; r < loads; ++r) {
          if (s.bT) {
            v.push_back(masked(k.loadF(Bm[bo], k.add(bRow[r], kc)),
                               both(bOk[r], kOk)));
          } else {
            Value kr = k.add(k0, k.add(bK0, k.idx(4 * r)));
            Value ok = maskK ? k.lt(kr, k.idx(K)) : Value();
            Value krc = maskK ? k.mins(kr, k.idx(K - 1)) : kr;
            v.push_back(masked(
                k.loadF(Bm[bo], k.add(bCol, k.mul(krc, k.idx(N)))),
                both(bColOk, ok)));
          }
        }
      return v;
    };
    auto storeTile = [&](ValueRange v) {
      for (int64_t r = 0; r < loads; ++r)
        k.store(v[r], As,
                k.add(k.mul(tx, k.idx(lda)), k.add(ty, k.idx(16 * r))));
      for (int bo = 0; bo < nB; ++bo)
        for (int64_t r = 0; r < loads; ++r) {
          Value val = v[(1 + bo) * loads + r];
          if (s.bT)
            k.store(val, Bs[bo],
                    k.add(k.mul(tx, k.idx(ldb)), k.add(ty, k.idx(16 * r))));
          else
            k.store(val, Bs[bo],
                    k.add(k.mul(k.add(bK0, k.idx(4 * r)), k.idx(ldb)),
                          k.remu(t, k.idx(BN))));
        }
    };
    Value aBase = k.mul(ty, k.idx(TM)), bBase = k.mul(tx, k.idx(TN));
    // acc layout: [bo][i][j].
    auto compute = [&](ValueRange acc) {
      SmallVector<Value> out(acc.begin(), acc.end());
      for (int64_t kk = 0; kk < BK; ++kk) {
        Value a[TM], b[2][TN];
        for (int64_t i = 0; i < TM; ++i)
          a[i] = k.load(As, k.add(aBase, k.idx(kk * lda + i)));
        for (int bo = 0; bo < nB; ++bo)
          for (int64_t j = 0; j < TN; ++j)
            b[bo][j] = k.load(Bs[bo], k.add(bBase, k.idx(kk * ldb + j)));
        for (int bo = 0; bo < nB; ++bo)
          for (int64_t i = 0; i < TM; ++i)
            for (int64_t j = 0; j < TN; ++j) {
              size_t q = static_cast<size_t>((bo * TM + i) * TN + j);
              out[q] = k.fma(a[i], b[bo][j], out[q]);
            }
      }
      return out;
    };
    SmallVector<Value> acc(static_cast<size_t>(nB * TM * TN), k.cf32(0.0));
    acc = pipelinedKLoop(k, numK, acc, loadTile, storeTile, compute);
    // Epilogue.
    SmallVector<Value> bv(TN), nOk(TN);
    SmallVector<Value> ns(TN);
    for (int64_t j = 0; j < TN; ++j) {
      ns[j] = k.add(n0, k.add(bBase, k.idx(j)));
      nOk[j] = maskN ? k.lt(ns[j], k.idx(N)) : Value();
      if (bias) {
        Value nc = maskN ? k.mins(ns[j], k.idx(N - 1)) : ns[j];
        bv[j] = k.loadF(bias, nc);
      }
    }
    for (int64_t i = 0; i < TM; ++i) {
      Value m = k.add(m0, k.add(aBase, k.idx(i)));
      Value mOk = maskM ? k.lt(m, k.idx(M)) : Value();
      Value rowOff = k.add(offY, k.mul(m, k.idx(N)));
      for (int64_t j = 0; j < TN; ++j) {
        size_t q = static_cast<size_t>(i * TN + j);
        auto st = [&] {
          Value v = acc[q];
          if (bias)
            v = k.fadd(v, bv[j]);
          if (s.mlp) {
            v = G ? k.fmul(activate(k, s.act, acc[TM * TN + q]), v)
                  : activate(k, s.act, v);
          }
          k.storeF(v, Y, k.add(rowOff, ns[j]));
        };
        Value ok = both(mOk, nOk[j]);
        if (ok)
          k.ifThen(ok, st);
        else
          st();
      }
    }
  });
}

//===----------------------------------------------------------------------===//
// Tensor-core path: mma.sync m16n8k16, bf16/f16 operands, f32 accumulators
//===----------------------------------------------------------------------===//

// Tiles of 64 x 64 outputs per block of 4 warps (2 x 2, 32 x 32 each: 2 x 4
// mma tiles of 16 x 8), K in steps of 32. Global memory is read in 16-byte
// chunks of 8 elements (K % 8 == 0, and N % 8 == 0 for B[K, N]), staged in
// registers one tile ahead and stored to shared memory as 32-bit words
// (pairs along k, or along n for B[K, N]), rows padded by 16 bytes so that
// fragment loads do not conflict. Fragments come by ldmatrix .x4: A and
// W[N, K] as the attention kernel reads Q and K, B[K, N] transposed as it
// reads V (a 16 x 16 A block or two n8 B tiles per instruction, instead of
// one 32-bit load per register). Each mma's k order is fixed by the
// hardware and every output's sum runs over the k steps in order: bitwise
// repeatable.
constexpr int64_t TBM = 64, TBN = 64, TBK = 32;
constexpr unsigned kTcThreads = 128;
constexpr int64_t kAW = TBK / 2 + 4; // words per A / W smem row
constexpr int64_t kBW = TBN / 2 + 4; // words per B[K, N] smem row

Value mmaSync(KernelBuilder &k, bool f16, ArrayRef<Value> a, ArrayRef<Value> b,
              ArrayRef<Value> c) {
  MLIRContext *ctx = k.b.getContext();
  auto asOperand = [&](Value w) -> Value {
    if (!f16)
      return w;
    return LLVM::BitcastOp::create(
        k.b, k.loc, VectorType::get({2}, Float16Type::get(ctx)), w);
  };
  SmallVector<Value> av, bv;
  for (Value v : a)
    av.push_back(asOperand(v));
  for (Value v : b)
    bv.push_back(asOperand(v));
  Type f32 = k.f32();
  auto st = LLVM::LLVMStructType::getLiteral(ctx, {f32, f32, f32, f32});
  NVVM::MMATypes t = f16 ? NVVM::MMATypes::f16 : NVVM::MMATypes::bf16;
  return NVVM::MmaOp::create(
      k.b, k.loc, st, av, bv, c, ArrayRef<int64_t>{16, 8, 16}, std::nullopt,
      std::nullopt, std::array<NVVM::MMATypes, 2>{t, t},
      std::array<NVVM::MMALayout, 2>{NVVM::MMALayout::row,
                                     NVVM::MMALayout::col});
}

/// A, B, G: memref<? x vector<4xi32>> views (8 elements a chunk); bias:
/// memref<N x T> or null; Y: memref<T>, or i32 words (pairs) when
/// s.yWords.
void gemmBodyTC(KernelBuilder &k, const GemmSpec &s, Type T, Value A, Value B,
                Value G, Value bias, Value Y) {
  const int64_t M = s.M, N = s.N, K = s.K;
  const int64_t K8 = K / 8, N8 = N / 8;
  const int nB = G ? 2 : 1;
  Type i32 = k.i32();
  auto vty = VectorType::get({4}, i32);
  // Shared tiles as words (the stores) and as f16 rows (ldmatrix): rows of
  // kAW words (80 bytes) for A and W[N, K], kBW (144 bytes) for B[K, N],
  // 16-byte aligned and bank conflict free.
  Value As, Ah, Bs[2], Bh[2];
  auto tile = [&](int64_t rows, int64_t rowWords, Value &words, Value &halves) {
    Value bytes = workgroupArray(k, k.b.getI8Type(), rows * rowWords * 4);
    words = k.sharedView(bytes, {rows * rowWords}, i32);
    halves = k.sharedView(bytes, {rows, 2 * rowWords}, k.b.getF16Type());
  };
  tile(TBM, kAW, As, Ah);
  for (int bo = 0; bo < nB; ++bo) // W[N, K] rows like A's; B[K, N] k rows
    tile(s.bT ? TBN : TBK, s.bT ? kAW : kBW, Bs[bo], Bh[bo]);
  Value Bm[2] = {B, G};
  Value t = k.tid();
  Value lane = k.remu(t, k.idx(32)), w = k.divu(t, k.idx(32));
  Value wm = k.remu(w, k.idx(2)), wn = k.divu(w, k.idx(2));
  Value g = k.divu(lane, k.idx(4)), tig = k.remu(lane, k.idx(4));
  int64_t tilesM = (M + TBM - 1) / TBM, tilesN = (N + TBN - 1) / TBN;
  int64_t items = tilesM * tilesN * s.batch;
  int64_t numK = (K + TBK - 1) / TBK;
  bool maskM = M % TBM != 0, maskN = N % TBN != 0, maskK = K % TBK != 0;
  const int64_t chunks = 2; // per thread per operand and tile
  Value zero = arith::ConstantOp::create(
      k.b, k.loc, DenseElementsAttr::get(vty, k.b.getI32IntegerAttr(0)));
  auto both = [&](Value a, Value b) -> Value {
    if (!a)
      return b;
    if (!b)
      return a;
    return k.andi(a, b);
  };

  blockItems(k, items, [&](Value item) {
    Value tn = k.remu(item, k.idx(tilesN));
    Value rest = k.divu(item, k.idx(tilesN));
    Value tm = k.remu(rest, k.idx(tilesM));
    Value bi = k.divu(rest, k.idx(tilesM));
    Value offA = k.idx(0), offB = k.idx(0);
    {
      Value r = bi;
      for (size_t d = s.bExt.size(); d-- > 0;) {
        Value c = d == 0 ? r : k.remu(r, k.idx(s.bExt[d]));
        if (d > 0)
          r = k.divu(r, k.idx(s.bExt[d]));
        if (s.sa[d])
          offA = k.add(offA, k.mul(c, k.idx(s.sa[d] / 8)));
        if (s.sb[d])
          offB = k.add(offB, k.mul(c, k.idx(s.sb[d] / 8)));
      }
    }
    Value offY = s.batch > 1 ? k.mul(bi, k.idx(M * N)) : k.idx(0);
    Value m0 = k.mul(tm, k.idx(TBM)), n0 = k.mul(tn, k.idx(TBN));

    // Chunk plan. A and W[N, K]: chunk c = t + 128 r is row c / 4, k chunk
    // c % 4. B[K, N]: k row c / 8, n chunk c % 8.
    Value kc = k.remu(t, k.idx(4));
    SmallVector<Value> aBase, aOk, bBase, bOk;
    for (int64_t r = 0; r < chunks; ++r) {
      Value row = k.add(k.divu(t, k.idx(4)), k.idx(32 * r));
      Value m = k.add(m0, row);
      aOk.push_back(maskM ? k.lt(m, k.idx(M)) : Value());
      Value mc = maskM ? k.mins(m, k.idx(M - 1)) : m;
      aBase.push_back(k.add(offA, k.mul(mc, k.idx(K8))));
      if (s.bT) {
        Value n = k.add(n0, row);
        bOk.push_back(maskN ? k.lt(n, k.idx(N)) : Value());
        Value nc = maskN ? k.mins(n, k.idx(N - 1)) : n;
        bBase.push_back(k.add(offB, k.mul(nc, k.idx(K8))));
      }
    }
    Value nnCol, nnColOk, nnRow0;
    if (!s.bT) {
      Value nch = k.add(k.divu(n0, k.idx(8)), k.remu(t, k.idx(8)));
      nnColOk = maskN ? k.lt(nch, k.idx(N8)) : Value();
      nnCol = k.add(offB, maskN ? k.mins(nch, k.idx(N8 - 1)) : nch);
      nnRow0 = k.divu(t, k.idx(8));
    }
    auto loadTile = [&](Value kt) {
      SmallVector<Value> v;
      Value k0 = k.mul(kt, k.idx(TBK));
      Value kcol = k.add(k.divu(k0, k.idx(8)), kc); // chunk along k
      Value kOk = maskK ? k.lt(kcol, k.idx(K8)) : Value();
      Value kcc = maskK ? k.mins(kcol, k.idx(K8 - 1)) : kcol;
      auto ld = [&](Value mem, Value at, Value ok) {
        Value x = loadNat(k, mem, at);
        return ok ? k.select(ok, x, zero) : x;
      };
      for (int64_t r = 0; r < chunks; ++r)
        v.push_back(ld(A, k.add(aBase[r], kcc), both(aOk[r], kOk)));
      for (int bo = 0; bo < nB; ++bo)
        for (int64_t r = 0; r < chunks; ++r) {
          if (s.bT) {
            v.push_back(ld(Bm[bo], k.add(bBase[r], kcc), both(bOk[r], kOk)));
          } else {
            Value kr = k.add(k0, k.add(nnRow0, k.idx(16 * r)));
            Value ok = maskK ? k.lt(kr, k.idx(K)) : Value();
            Value krc = maskK ? k.mins(kr, k.idx(K - 1)) : kr;
            v.push_back(ld(Bm[bo], k.add(nnCol, k.mul(krc, k.idx(N8))),
                           both(nnColOk, ok)));
          }
        }
      return v;
    };
    auto storeWords = [&](Value vec, Value mem, Value at) {
      for (int64_t e = 0; e < 4; ++e)
        k.store(vector::ExtractOp::create(k.b, k.loc, vec, e), mem,
                k.add(at, k.idx(e)));
    };
    auto storeTile = [&](ValueRange v) {
      for (int64_t r = 0; r < chunks; ++r) {
        Value row = k.add(k.divu(t, k.idx(4)), k.idx(32 * r));
        storeWords(v[r], As,
                   k.add(k.mul(row, k.idx(kAW)), k.mul(kc, k.idx(4))));
      }
      for (int bo = 0; bo < nB; ++bo)
        for (int64_t r = 0; r < chunks; ++r) {
          Value val = v[(1 + bo) * chunks + r];
          if (s.bT) {
            Value row = k.add(k.divu(t, k.idx(4)), k.idx(32 * r));
            storeWords(val, Bs[bo],
                       k.add(k.mul(row, k.idx(kAW)), k.mul(kc, k.idx(4))));
          } else {
            Value row = k.add(nnRow0, k.idx(16 * r));
            storeWords(val, Bs[bo],
                       k.add(k.mul(row, k.idx(kBW)),
                             k.mul(k.remu(t, k.idx(8)), k.idx(4))));
          }
        }
    };
    // Fragment rows and columns of this thread.
    Value aRow = k.add(k.mul(wm, k.idx(32)), g);   // + 16 mi (+ 8)
    // ldmatrix lanes: A's 16 x 16 (rows lane % 16, k half lane / 16) and
    // two n8 tiles of W (rows lane % 8 + 8 (lane / 16), k half (lane / 8)
    // % 2), as the attention kernel reads Q and K.
    Value aRowL = k.add(k.mul(wm, k.idx(32)), k.remu(lane, k.idx(16)));
    Value aColL = k.mul(k.divu(lane, k.idx(16)), k.idx(8));
    Value bRowL = k.add(k.mul(wn, k.idx(32)),
                        k.add(k.mul(k.divu(lane, k.idx(16)), k.idx(8)),
                              k.remu(lane, k.idx(8))));
    Value bColL = k.mul(k.remu(k.divu(lane, k.idx(8)), k.idx(2)), k.idx(8));
    // B[K, N] by ldmatrix .trans, as the attention kernel reads V: k rows
    // lane % 8 + 8 ((lane / 8) % 2), n columns 8 (lane / 16).
    Value tRowL = k.add(k.mul(k.remu(k.divu(lane, k.idx(8)), k.idx(2)),
                              k.idx(8)),
                        k.remu(lane, k.idx(8)));
    Value tColL = k.add(k.mul(wn, k.idx(32)),
                        k.mul(k.divu(lane, k.idx(16)), k.idx(8)));
    // acc layout: [bo][mi][nj][4].
    auto compute = [&](ValueRange acc) {
      SmallVector<Value> out(acc.begin(), acc.end());
      for (int64_t ks = 0; ks < TBK / 16; ++ks) {
        std::array<Value, 4> af[2];
        for (int64_t mi = 0; mi < 2; ++mi)
          af[mi] = k.ldmatrix4(Ah, k.add(aRowL, k.idx(16 * mi)),
                               k.add(aColL, k.idx(ks * 16)), false);
        for (int bo = 0; bo < nB; ++bo) {
          std::array<Value, 4> wf[2]; // n tiles (0, 1) and (2, 3)
          for (int64_t np = 0; np < 2; ++np)
            wf[np] = s.bT ? k.ldmatrix4(Bh[bo], k.add(bRowL, k.idx(16 * np)),
                                        k.add(bColL, k.idx(ks * 16)), false)
                          : k.ldmatrix4(Bh[bo], k.add(tRowL, k.idx(ks * 16)),
                                        k.add(tColL, k.idx(16 * np)), true);
          for (int64_t nj = 0; nj < 4; ++nj) {
            Value bf[2] = {wf[nj / 2][2 * (nj % 2)],
                           wf[nj / 2][2 * (nj % 2) + 1]};
            for (int64_t mi = 0; mi < 2; ++mi) {
              size_t q = static_cast<size_t>(((bo * 2 + mi) * 4 + nj) * 4);
              Value d = mmaSync(k, s.f16, af[mi], bf,
                                ArrayRef<Value>(out).slice(q, 4));
              for (int64_t c = 0; c < 4; ++c)
                out[q + static_cast<size_t>(c)] =
                    LLVM::ExtractValueOp::create(k.b, k.loc, d,
                                                 ArrayRef<int64_t>{c});
            }
          }
        }
      }
      return out;
    };
    SmallVector<Value> acc(static_cast<size_t>(nB * 2 * 4 * 4), k.cf32(0.0));
    acc = pipelinedKLoop(k, numK, acc, loadTile, storeTile, compute);
    // Epilogue: c0, c1 at (g, 2 tig + 0/1), c2, c3 at (g + 8, ...).
    Value nb = k.add(n0, k.add(k.mul(wn, k.idx(32)), k.mul(tig, k.idx(2))));
    Value mb = k.add(m0, aRow);
    auto bits = [&](Value v) {
      Value h = arith::BitcastOp::create(k.b, k.loc, k.b.getI16Type(),
                                         k.fromF32(v, T));
      return arith::ExtUIOp::create(k.b, k.loc, i32, h);
    };
    for (int64_t nj = 0; nj < 4; ++nj) {
      Value n = k.add(nb, k.idx(8 * nj));
      Value nOk0 = maskN ? k.lt(n, k.idx(N)) : Value();
      Value nOk1 = maskN ? k.lt(k.add(n, k.idx(1)), k.idx(N)) : Value();
      Value bv[2];
      if (bias)
        for (int64_t j = 0; j < 2; ++j) {
          Value nj1 = k.add(n, k.idx(j));
          bv[j] = k.loadF(bias, maskN ? k.mins(nj1, k.idx(N - 1)) : nj1);
        }
      for (int64_t mi = 0; mi < 2; ++mi)
        for (int64_t h = 0; h < 2; ++h) {
          Value m = k.add(mb, k.idx(16 * mi + 8 * h));
          Value mOk = maskM ? k.lt(m, k.idx(M)) : Value();
          Value at = k.add(offY, k.add(k.mul(m, k.idx(N)), n));
          Value v[2];
          for (int64_t j = 0; j < 2; ++j) {
            size_t q = static_cast<size_t>((mi * 4 + nj) * 4 + 2 * h + j);
            Value x = acc[q];
            if (bias)
              x = k.fadd(x, bv[j]);
            if (s.mlp)
              x = G ? k.fmul(activate(k, s.act, acc[32 + q]), x)
                    : activate(k, s.act, x);
            v[j] = x;
          }
          if (s.yWords) {
            // N even: the pair (n, n + 1) is one aligned word, both in range
            // when n is.
            auto st = [&] {
              Value word = k.ori(bits(v[0]), k.shli(bits(v[1]), k.ci32(16)));
              k.store(word, Y, k.divu(at, k.idx(2)));
            };
            Value ok = both(mOk, nOk0);
            if (ok)
              k.ifThen(ok, st);
            else
              st();
            continue;
          }
          for (int64_t j = 0; j < 2; ++j) {
            auto st = [&] {
              k.storeF(v[j], Y, j ? k.add(at, k.idx(1)) : at);
            };
            Value ok = both(mOk, j ? nOk1 : nOk0);
            if (ok)
              k.ifThen(ok, st);
            else
              st();
          }
        }
    }
  });
}

//===----------------------------------------------------------------------===//
// Steps
//===----------------------------------------------------------------------===//

struct GemmArgs {
  int a = -1, b = -1, gate = -1, bias = -1, y = -1;
};

/// One GEMM step: the tensor-core kernel where it applies, else SIMT.
void gemmStep(GpuLaunch &l, llvm::StringRef family, GemmSpec s,
              const GemmArgs &v) {
  DType dt = l.value(v.a).dtype;
  bool half = dt == DType::BF16 || dt == DType::F16;
  s.tc = half && s.K > 0 && s.K % 8 == 0 && (s.bT || s.N % 8 == 0);
  s.f16 = dt == DType::F16;
  s.yWords = s.tc && s.N % 2 == 0;
  MLIRContext *ctx = l.context();
  auto chunks = [&](int id) {
    return l.memrefOf(VectorType::get({4}, IntegerType::get(ctx, 32)),
                      static_cast<int64_t>(l.value(id).bytes) / 16);
  };
  auto operand = [&](int id) { return s.tc ? chunks(id) : l.memrefOf(id); };
  SmallVector<MemRefType> types = {operand(v.a), operand(v.b)};
  std::vector<int> args = {v.a, v.b};
  if (v.gate >= 0) {
    types.push_back(operand(v.gate));
    args.push_back(v.gate);
  }
  if (v.bias >= 0) {
    types.push_back(l.memrefOf(v.bias));
    args.push_back(v.bias);
  }
  types.push_back(s.yWords ? l.memrefOf(IntegerType::get(ctx, 32),
                                        static_cast<int64_t>(
                                            l.value(v.y).bytes) /
                                            4)
                           : l.memrefOf(v.y));
  args.push_back(v.y);
  Type T = l.memrefOf(v.y).getElementType();
  unsigned threads = s.tc ? kTcThreads : kThreads;
  std::string name = l.kernel(
      family, s.key(), types, threads,
      [&](KernelBuilder &k, ArrayRef<Value> a, Value, Value) {
        size_t i = 2;
        Value g = v.gate >= 0 ? a[i++] : Value();
        Value bias = v.bias >= 0 ? a[i++] : Value();
        if (s.tc)
          gemmBodyTC(k, s, T, a[0], a[1], g, bias, a.back());
        else
          gemmBody(k, s, a[0], a[1], g, bias, a.back());
      });
  int64_t bm = s.tc ? TBM : BM, bn = s.tc ? TBN : BN;
  int64_t items = (s.M + bm - 1) / bm * ((s.N + bn - 1) / bn) * s.batch;
  l.step(name, args, {blocksFor(items), 1, 1}, threads);
}

LogicalResult emitLinear(GpuLaunch &l) {
  GemmSpec s;
  s.M = l.i(ATTUNE_LIN_M);
  s.N = l.i(ATTUNE_LIN_N);
  s.K = l.i(ATTUNE_LIN_K);
  GemmArgs v;
  v.a = l.buffer(0);
  v.b = l.buffer(1);
  v.bias = l.buffer(2);
  v.y = l.buffer(3);
  s.bias = v.bias >= 0;
  gemmStep(l, "linear", s, v);
  return success();
}

LogicalResult emitMatmul(GpuLaunch &l) {
  GemmSpec s;
  s.M = l.i(ATTUNE_MM_M);
  s.N = l.i(ATTUNE_MM_N);
  s.K = l.i(ATTUNE_MM_K);
  s.bT = false;
  int64_t nb = l.i(ATTUNE_MM_NBATCH);
  for (int64_t d = 0; d < nb; ++d) {
    size_t du = static_cast<size_t>(d), n = static_cast<size_t>(nb);
    s.bExt.push_back(l.i(ATTUNE_MM_NUM_FIXED + du));
    s.sa.push_back(l.i(ATTUNE_MM_NUM_FIXED + n + du));
    s.sb.push_back(l.i(ATTUNE_MM_NUM_FIXED + 2 * n + du));
    s.batch *= s.bExt.back();
  }
  GemmArgs v;
  v.a = l.buffer(0);
  v.b = l.buffer(1);
  v.y = l.buffer(2);
  gemmStep(l, "matmul", s, v);
  return success();
}

LogicalResult emitMlp(GpuLaunch &l) {
  int64_t M = l.i(ATTUNE_MLP_M), Din = l.i(ATTUNE_MLP_DIN),
          F = l.i(ATTUNE_MLP_F), Dout = l.i(ATTUNE_MLP_DOUT),
          act = l.i(ATTUNE_MLP_ACT);
  bool gated = l.i(ATTUNE_MLP_GATED) != 0;
  int x = l.buffer(0), wUp = l.buffer(1), wDown = l.buffer(2),
      wGate = l.buffer(3), bUp = l.buffer(4), bDown = l.buffer(5),
      y = l.buffer(6);
  if (act < 0 || act > 3 || (gated && wGate < 0))
    return l.error() << "internal: mlp parameters";
  // h [M, F] in T: the CPU rounds h to T before the down projection.
  int h = l.addScratch(l.value(x).dtype, std::max<int64_t>(M * F, 1));
  GemmSpec up;
  up.M = M;
  up.N = F;
  up.K = Din;
  up.mlp = true;
  up.gated = gated;
  up.act = act;
  up.bias = bUp >= 0;
  GemmArgs vu;
  vu.a = x;
  vu.b = wUp;
  vu.gate = gated ? wGate : -1;
  vu.bias = bUp;
  vu.y = h;
  gemmStep(l, "mlp_up", up, vu);
  GemmSpec down;
  down.M = M;
  down.N = Dout;
  down.K = F;
  down.bias = bDown >= 0;
  GemmArgs vd;
  vd.a = h;
  vd.b = wDown;
  vd.bias = bDown;
  vd.y = y;
  gemmStep(l, "mlp_down", down, vd);
  return success();
}

} // namespace

LogicalResult emitGemmFamily(GpuLaunch &l, StringRef family, StringRef dtype) {
  (void)dtype;
  if (family == "linear")
    return emitLinear(l);
  if (family == "matmul")
    return emitMatmul(l);
  if (family == "mlp")
    return emitMlp(l);
  return l.error() << "internal: no gemm family '" << family << "'";
}

} // namespace attune::codegen::nvptx
