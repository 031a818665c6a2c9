//===- Attention.cpp - FlashAttention-2 forward for the cuda target -------===//
//
// One CTA of 4 warps per (query tile of 64 rows, head, batch); each warp
// owns 16 query rows. The Q tile is loaded once (cp.async) and kept in
// registers as mma A fragments (ldmatrix). K and V tiles of 64 keys stream
// through shared memory with cp.async: K double-buffered (the next K tile
// loads while the current one is used and while P·V runs), V loading while
// S = Q·Kᵀ is computed. S and O += P·V run on tensor cores (mma.sync
// m16n8k16, f32 accumulators); the online softmax is in f32 with exp2, and P
// is rounded to the input type for the P·V product, as FlashAttention does.
//
// Tiles come from a list per (query tile, mask layer): every tile for an
// unmasked launch; a compile-time list (CSR constants) of the non-empty
// tiles with their class for static masks; a list built at run time by two
// small kernels for masks that read document ids. The mask is evaluated per
// element only on partial tiles (and on the last key tile when Lk is not a
// multiple of 64); full tiles only apply the score modifications.
//
// Row and column padding: shared-memory rows are padded by 16 bytes so that
// ldmatrix's 8 row addresses fall in different banks; head dims are padded
// to a multiple of 16 with zeros.
//
//===----------------------------------------------------------------------===//

#include "GpuFamilies.h"

#include "attune/Reference/Kernels.h"
#include "attune/abi/BlockMap.h"
#include "attune/abi/Families.h"
#include "attune/abi/Philox4x32.h"

#include "attune/Dialect/Attune/AttuneOps.h"

#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/IRMapping.h"

#include <cmath>
#include <cstdio>
#include <cstring>

using namespace mlir;

namespace attune::codegen::nvptx {

namespace {

constexpr int kBQ = 64, kBK = 64, kWarps = 4, kThreads = kWarps * 32;
constexpr int kMaxHeadDim = 256;
/// f32 tiles take twice the shared memory: 151 KiB at 128.
constexpr int kMaxHeadDimF32 = 128;
/// Head dims (padded) up to this keep Q's mma fragments in registers.
constexpr int64_t kQInRegisters = 128;
/// Tile lists beyond this many entries are not built at compile time: the
/// kernel then evaluates the mask on every tile (correct, slower).
constexpr int64_t kMaxListEntries = int64_t(1) << 24;
constexpr double kLog2e = 1.4426950408889634;

enum TileSource { kAllTiles, kStaticList, kDynamicList };

/// Everything the kernel is specialized on.
struct AttnSpec {
  int64_t B, Hq, Hkv, Lq, Lk, D, Dv;
  int64_t Dp, Dvp;     // padded to 16
  /// Wide V (Dvp > 192): dvSplit CTAs share a query tile, each
  /// accumulating Dvq (padded) output columns, so that the accumulators
  /// fit in registers; they recompute S.
  int64_t dvSplit = 1, Dvq = 0;
  int64_t nQT, nKT;
  Type elem;           // bf16 or f16
  bool asyncQK, asyncV; // rows are 16-byte multiples: cp.async
  double scale;
  abi::MaskProgram mask;
  std::vector<int64_t> maskInts;
  int64_t docBits = 0;
  int64_t layers = 1; // mask layers (1, or Hq when the mask reads the head)
  TileSource source = kAllTiles;
  struct Mod {
    bool alibi;
    float cap;
    int slopesArg = -1;
  };
  std::vector<Mod> mods;
  /// Reformer LSH in sorted order (B = batch * heads * rounds, one head):
  /// query i may see key j of chunk(i) or the chunk before it (chunk 0: the
  /// last), with pos[j] <= pos[i] when causal, and not itself unless alone.
  bool lsh = false, lshCausal = false;
  int64_t lshChunk = 0;
  /// FlexAttention-style regions of the op (null when absent), evaluated
  /// per element: the mask region on every tile, the score region after
  /// the named score modifications.
  Region *maskFn = nullptr, *scoreFn = nullptr;
};

/// Kernel argument slots (indices into the kernel's memref args).
struct AttnArgs {
  int q = 0, k = 1, v = 2, out = 3, lse = 4;
  int qdoc = -1, kdoc = -1;
  int rowptr = -1, entries = -1, dyn = -1;
  int lshPos = -1, lshAlone = -1;
  /// Kernel arg of each outer tensor the regions read (tensor.extract).
  llvm::DenseMap<Value, int> captures;
  std::map<int64_t, int> nodeTable; // mask node -> its table arg
};

bool dependsOnHead(const abi::MaskProgram &m) {
  for (const abi::MaskNode &n : m.nodes)
    if ((n.kind == ATTUNE_MASK_BLOCK_SPARSE && n.c != 0) ||
        (n.kind == ATTUNE_MASK_DILATED && n.c < 0))
      return true;
  return false;
}

//===----------------------------------------------------------------------===//
// Fragment helpers
//===----------------------------------------------------------------------===//

struct Frag {
  KernelBuilder &k;
  Type elem;

  Type half2() { return VectorType::get({2}, elem); }
  Type f16x2() { return VectorType::get({2}, k.b.getF16Type()); }

  Value toI32(Value v2) {
    Value i = vector::BitCastOp::create(
        k.b, k.loc, VectorType::get({1}, k.i32()), v2);
    return vector::ExtractOp::create(k.b, k.loc, i, ArrayRef<int64_t>{0});
  }
  /// Packs two f32 into one register of two `elem` values (x in the low
  /// half), rounding to nearest even.
  Value pack(Value x, Value y) {
    Value v = vector::FromElementsOp::create(
        k.b, k.loc, VectorType::get({2}, k.f32()), ValueRange{x, y});
    Value t = arith::TruncFOp::create(k.b, k.loc, half2(), v);
    return toI32(t);
  }
  /// D = A·B + C for one m16n8k16 tile.
  std::array<Value, 4> mma(ArrayRef<Value> a, ArrayRef<Value> b,
                           ArrayRef<Value> c) {
    MLIRContext *ctx = k.b.getContext();
    Type f32 = k.f32();
    Type res = LLVM::LLVMStructType::getLiteral(ctx, {f32, f32, f32, f32});
    NVVM::MMATypes t =
        elem.isBF16() ? NVVM::MMATypes::bf16 : NVVM::MMATypes::f16;
    SmallVector<Value> A(a.begin(), a.end()), Bv(b.begin(), b.end());
    if (!elem.isBF16()) {
      // f16 operands are vector<2xf16> registers.
      auto toHalf = [&](Value i) {
        Value v = vector::FromElementsOp::create(
            k.b, k.loc, VectorType::get({1}, k.i32()), ValueRange{i});
        return vector::BitCastOp::create(k.b, k.loc, f16x2(), v).getResult();
      };
      for (Value &v : A)
        v = toHalf(v);
      for (Value &v : Bv)
        v = toHalf(v);
    }
    Value d = NVVM::MmaOp::create(
        k.b, k.loc, res, A, Bv, c, ArrayRef<int64_t>{16, 8, 16}, std::nullopt,
        std::nullopt, std::array<NVVM::MMATypes, 2>{t, t},
        std::array<NVVM::MMALayout, 2>{NVVM::MMALayout::row,
                                       NVVM::MMALayout::col});
    std::array<Value, 4> r;
    for (int i = 0; i < 4; ++i)
      r[i] = LLVM::ExtractValueOp::create(k.b, k.loc, d, ArrayRef<int64_t>{i});
    return r;
  }
};

//===----------------------------------------------------------------------===//
// Mask evaluation for one element
//===----------------------------------------------------------------------===//

struct MaskEmitter {
  KernelBuilder &k;
  const AttnSpec &s;
  const AttnArgs &slots;
  ArrayRef<Value> args;
  Value b, h; // index

  Value node(int64_t i, Value q, Value kk) {
    const abi::MaskNode &nd = s.mask.nodes[static_cast<size_t>(i)];
    switch (nd.kind) {
    case ATTUNE_MASK_AND:
    case ATTUNE_MASK_OR: {
      bool isAnd = nd.kind == ATTUNE_MASK_AND;
      Value acc = k.cbool(isAnd);
      for (int64_t c = 0; c < nd.count; ++c) {
        Value v = node(s.mask.kids[static_cast<size_t>(nd.first + c)], q, kk);
        acc = isAnd ? k.andi(acc, v) : k.ori(acc, v);
      }
      return acc;
    }
    case ATTUNE_MASK_CAUSAL:
      return k.le(kk, k.add(q, k.idx(nd.a ? s.Lk - s.Lq : 0)));
    case ATTUNE_MASK_WINDOW: {
      Value qa = k.add(q, k.idx(nd.c ? s.Lk - s.Lq : 0));
      // Saturate: left/right may exceed any distance.
      Value c1 = nd.a >= s.Lq + s.Lk ? k.cbool(true)
                                     : k.le(k.sub(qa, kk), k.idx(nd.a));
      Value c2 = nd.b >= s.Lq + s.Lk ? k.cbool(true)
                                     : k.le(k.sub(kk, qa), k.idx(nd.b));
      return k.andi(c1, c2);
    }
    case ATTUNE_MASK_GLOBAL: {
      Value t = args[slots.nodeTable.at(i)];
      int64_t n = std::max(s.Lq, s.Lk);
      auto flag = [&](Value p) {
        Value pc = k.mins(p, k.idx(n - 1));
        return k.ne(k.load(t, pc), arith::ConstantIntOp::create(k.b, k.loc, 0, 8));
      };
      return k.ori(flag(q), flag(kk));
    }
    case ATTUNE_MASK_BLOCK_SPARSE: {
      Value t = args[slots.nodeTable.at(i)];
      Value hh = nd.c == 0 ? k.idx(0) : h;
      Value qb = k.mins(k.divu(q, k.idx(nd.a)), k.idx(nd.d - 1));
      Value kb = k.mins(k.divu(kk, k.idx(nd.b)), k.idx(nd.e - 1));
      Value at = k.add(k.mul(k.add(k.mul(hh, k.idx(nd.d)), qb), k.idx(nd.e)),
                       kb);
      return k.ne(k.load(t, at), arith::ConstantIntOp::create(k.b, k.loc, 0, 8));
    }
    case ATTUNE_MASK_STRIDED:
      return k.eq(k.rems(k.sub(q, kk), k.idx(nd.a)), k.idx(0));
    case ATTUNE_MASK_DILATED: {
      Value seg = k.idx(nd.a), rate = k.idx(nd.b);
      Value o = nd.c >= 0 ? k.idx(nd.c) : k.remu(h, rate);
      Value same = k.eq(k.divu(q, seg), k.divu(kk, seg));
      Value qo = k.eq(k.remu(k.remu(q, seg), rate), o);
      Value ko = k.eq(k.remu(k.remu(kk, seg), rate), o);
      return k.andi(same, k.andi(qo, ko));
    }
    case ATTUNE_MASK_DOCUMENT: {
      // Padded rows and keys (q >= Lq, k >= Lk) read a valid id; their
      // scores are never used.
      Value qd = k.load(args[slots.qdoc],
                        k.add(k.mul(b, k.idx(s.Lq)),
                              k.mins(q, k.idx(s.Lq - 1))));
      Value kd = k.load(args[slots.kdoc],
                        k.add(k.mul(b, k.idx(s.Lk)),
                              k.mins(kk, k.idx(std::max<int64_t>(s.Lk, 1) - 1))));
      return k.eq(qd, kd);
    }
    case ATTUNE_MASK_PREFIX_LM:
      return k.ori(k.lt(kk, k.idx(nd.a)), k.le(kk, q));
    }
    return k.cbool(false);
  }
};

//===----------------------------------------------------------------------===//
// Tile lists
//===----------------------------------------------------------------------===//

/// Entry encoding: kt | class << 24 (| docEmptyClass << 26 for the
/// candidates of a run-time list).
constexpr int kClassShift = 24, kEmptyShift = 26;

struct StaticLists {
  std::vector<int32_t> rowptr, entries;
};

/// Lists of the non-empty tiles of every (layer, q tile). With document
/// ids, `full` classifies with every id equal (document term full) and
/// `empty` with q and k ids different (document term empty); a candidate is
/// non-empty under `full` and records both classes.
StaticLists buildStaticLists(const AttnSpec &s) {
  StaticLists out;
  if (s.lsh) {
    int64_t cs = s.lshChunk, nC = (s.Lq + cs - 1) / cs;
    out.rowptr.push_back(0);
    for (int64_t qt = 0; qt < s.nQT; ++qt) {
      std::vector<bool> touched(static_cast<size_t>(s.nKT), false);
      int64_t q0 = qt * kBQ, q1 = std::min(s.Lq, q0 + kBQ);
      for (int64_t c = q0 / cs; c <= (q1 - 1) / cs; ++c)
        for (int64_t ch : {c, c == 0 ? nC - 1 : c - 1}) {
          int64_t k0 = ch * cs, k1 = std::min(s.Lk, k0 + cs);
          for (int64_t kt = k0 / kBK; kt <= (k1 - 1) / kBK; ++kt)
            touched[static_cast<size_t>(kt)] = true;
        }
      for (int64_t kt = 0; kt < s.nKT; ++kt)
        if (touched[static_cast<size_t>(kt)])
          out.entries.push_back(static_cast<int32_t>(kt) |
                                (ATTUNE_TILE_PARTIAL << kClassShift));
      out.rowptr.push_back(static_cast<int32_t>(out.entries.size()));
    }
    return out;
  }
  bool docs = s.docBits != 0;
  std::vector<int64_t> zq(static_cast<size_t>(std::max<int64_t>(s.Lq, 1)), 0),
      zk(static_cast<size_t>(std::max<int64_t>(s.Lk, 1)), 0),
      ok(static_cast<size_t>(std::max<int64_t>(s.Lk, 1)), 1);
  abi::DocIds same{zq.data(), zk.data(), 64, s.Lq, s.Lk};
  abi::DocIds differ{zq.data(), ok.data(), 64, s.Lq, s.Lk};
  out.rowptr.push_back(0);
  for (int64_t layer = 0; layer < s.layers; ++layer)
    for (int64_t qt = 0; qt < s.nQT; ++qt) {
      int64_t q0 = qt * kBQ, q1 = std::min(s.Lq, q0 + kBQ);
      for (int64_t kt = 0; kt < s.nKT; ++kt) {
        int64_t k0 = kt * kBK, k1 = std::min(s.Lk, k0 + kBK);
        int cf = abi::classifyTile(s.mask, 0, layer, q0, q1, k0, k1, s.Lq,
                                   s.Lk, docs ? &same : nullptr);
        if (cf == ATTUNE_TILE_EMPTY)
          continue;
        int32_t e = static_cast<int32_t>(kt) | (cf << kClassShift);
        if (docs) {
          int ce = abi::classifyTile(s.mask, 0, layer, q0, q1, k0, k1, s.Lq,
                                     s.Lk, &differ);
          e |= ce << kEmptyShift;
        }
        out.entries.push_back(e);
      }
      out.rowptr.push_back(static_cast<int32_t>(out.entries.size()));
    }
  return out;
}

std::vector<uint8_t> bytesOf(const std::vector<int32_t> &v) {
  std::vector<uint8_t> b(v.size() * 4);
  if (!v.empty())
    std::memcpy(b.data(), v.data(), b.size());
  return b;
}

//===----------------------------------------------------------------------===//
// The attention kernel
//===----------------------------------------------------------------------===//

/// Outer tensors the regions read, in the order attune-compile's hooks
/// list them (Hooks.cpp): mask region first, top-level tensor.extract ops
/// in order of appearance.
SmallVector<Value> regionCaptures(Region *maskFn, Region *scoreFn) {
  SmallVector<Value> out;
  for (Region *r : {maskFn, scoreFn}) {
    if (!r || r->empty())
      continue;
    for (Operation &op : r->front().without_terminator())
      if (auto ex = dyn_cast<tensor::ExtractOp>(&op))
        if (!r->isAncestor(ex.getTensor().getParentRegion()) &&
            !llvm::is_contained(out, ex.getTensor()))
          out.push_back(ex.getTensor());
  }
  return out;
}

/// Inlines `region` for one element: block arguments are `argValues`;
/// outer tensors read through their capture memrefs with indices clamped
/// into the tensor; outer scalar constants are cloned.
Value inlineRegion(KernelBuilder &k, Region &region, ArrayRef<Value> argValues,
                   const llvm::DenseMap<Value, int> &captures,
                   ArrayRef<Value> args) {
  Block &body = region.front();
  IRMapping map;
  for (auto [a, v] : llvm::zip(body.getArguments(), argValues))
    map.map(a, v);
  for (Operation &op : body.without_terminator()) {
    // Outer scalars (constants) the op reads.
    op.walk([&](Operation *inner) {
      for (Value v : inner->getOperands()) {
        if (map.contains(v) || region.isAncestor(v.getParentRegion()) ||
            isa<RankedTensorType>(v.getType()))
          continue;
        if (Operation *def = v.getDefiningOp())
          map.map(v, k.b.clone(*def)->getResult(0));
      }
    });
    auto ex = dyn_cast<tensor::ExtractOp>(&op);
    if (!ex || region.isAncestor(ex.getTensor().getParentRegion())) {
      k.b.clone(op, map);
      continue;
    }
    auto type = cast<RankedTensorType>(ex.getTensor().getType());
    Value mem = args[captures.lookup(ex.getTensor())];
    Value lin = k.idx(0);
    for (auto [d, idx] : llvm::enumerate(ex.getIndices())) {
      Value i = map.lookupOrDefault(idx);
      int64_t dim = type.getDimSize(d);
      i = arith::MinUIOp::create(k.b, k.loc, i, k.idx(dim - 1));
      lin = k.add(k.mul(lin, k.idx(dim)), i);
    }
    Value v = k.load(mem, lin);
    Type elem = type.getElementType();
    if (elem.isInteger(1))
      v = arith::TruncIOp::create(k.b, k.loc, elem, v);
    else if (elem.isIndex())
      v = k.toIndex(v);
    map.map(ex.getResult(), v);
  }
  return map.lookupOrDefault(body.getTerminator()->getOperand(0));
}

class AttentionKernel {
public:
  /// One pass per (spec, arg slots); passes share geometry, Q and the
  /// online-softmax state, so their key sets combine as one softmax over
  /// their (multiset) union (LongNet's lse-weighted mix of branches).
  AttentionKernel(KernelBuilder &k,
                  ArrayRef<std::pair<const AttnSpec *, const AttnArgs *>> passes,
                  ArrayRef<Value> args)
      : k(k), passes(passes), sp(passes[0].first), ap(passes[0].second),
        args(args), fr{k, passes[0].first->elem} {}

  void emit();

private:
  KernelBuilder &k;
  ArrayRef<std::pair<const AttnSpec *, const AttnArgs *>> passes;
  const AttnSpec *sp;   // the pass being emitted
  const AttnArgs *ap;
  ArrayRef<Value> args;
  Frag fr;

  Value smemQ, smemK, smemV;       // elem-typed views (cp.async / stores)
  Value smemQh, smemKh, smemVh;    // f16-typed views (ldmatrix)
  Value smemP;                     // f32 path: P [64][68]
  /// f32 inputs: the same tiles, softmax and pipeline with SIMT dot
  /// products in place of mma.sync (which has no f32 form).
  bool simt() const { return sp->elem.isF32(); }
  int64_t strideQK = 0, strideV = 0;

  Value b, h, kvh, qt, q0, warp, lane, g, t4;
  Value part, dv0; // this CTA's part of the V columns (dvSplit)
  Value qRowL, qColL; // this lane's ldmatrix address in the Q tile
  Value kRowL, kColL, vRowL, vColL;
  std::vector<std::array<Value, 4>> qf; // Q fragments (head dims <= 128)

  Value anyGroup; // a group token for the waits (their lowering ignores it)

  void loadTile(Value global, Value base, int64_t rowStride, Value colsValid,
                bool partialCols, int64_t colsP, Value rowsValid,
                bool raggedRows, Value smem, Value smemRow0, bool async);
  void commit();
  void wait(int pending);
  std::pair<Value, Value> entryAt(Value e, Value listBase);
  SmallVector<Value> scores(ArrayRef<Value> S, Value kt, Value cls);
  /// Without score modifications and with a positive scale, the scale
  /// (in log2 units) is applied inside the softmax's exponent as one FMA
  /// per score, as FlashAttention does, instead of a multiply per score
  /// before the row max and a subtraction after it: scores() then returns
  /// raw (masked) scores.
  bool foldScale() const {
    return sp->mods.empty() && !sp->scoreFn && sp->scale > 0;
  }
  SmallVector<Value> runPass(ArrayRef<Value> state);
  Value lshAllowed(Value q, Value kk);

  SmallVector<Value> pendingTokens;
};

void AttentionKernel::commit() {
  // Every commit is one group, even an empty one (a head dim of 0 copies
  // nothing), so that wait_group counts stay exact.
  if (pendingTokens.empty() && !(sp->asyncQK || sp->asyncV))
    return;
  Type tok = nvgpu::DeviceAsyncTokenType::get(k.b.getContext());
  Value grp = nvgpu::DeviceAsyncCreateGroupOp::create(k.b, k.loc, tok,
                                                      pendingTokens);
  if (!anyGroup)
    anyGroup = grp;
  pendingTokens.clear();
}

void AttentionKernel::wait(int pending) {
  if (!anyGroup)
    return;
  nvgpu::DeviceAsyncWaitOp::create(k.b, k.loc, anyGroup,
                                   k.b.getI32IntegerAttr(pending));
}

/// Copies rows [0, 64) x cols [0, colsP) of a row-major global matrix
/// starting at element `base` (row stride `rowStride`) into smem rows
/// smemRow0.. ; rows >= rowsValid (checked when raggedRows: some tile may
/// have fewer than 64) and columns >= colsValid (checked when partialCols)
/// are zero.
void AttentionKernel::loadTile(Value global, Value base, int64_t rowStride,
                               Value colsValid, bool partialCols,
                               int64_t colsP, Value rowsValid, bool raggedRows,
                               Value smem, Value smemRow0, bool async) {
  Value tid = k.tid();
  if (async) {
    int64_t epc = 16 / (k.elementType(global).getIntOrFloatBitWidth() / 8);
    int64_t cpr = colsP / epc; // 16-byte chunks per row
    int64_t iters = 64 * cpr / kThreads;
    Type tok = nvgpu::DeviceAsyncTokenType::get(k.b.getContext());
    bool copy16 =
        epc * (k.elementType(global).getIntOrFloatBitWidth() / 8) == 16;
    // The f32 (SIMT) kernels keep the per-chunk form: with the hoisted
    // addresses live across the tile loop, ptxas spilled a few bytes in
    // some of them (f32 is not the tensor-core path; registers matter more).
    if (kThreads % cpr == 0 && !k.elementType(global).isF32()) {
      // Every chunk of this thread is in the same column, rowStep rows
      // apart: one address per tile, constant offsets from it, and no
      // bounds arithmetic at all when every tile is whole (the index math
      // would otherwise cost about one 64-bit instruction per mma).
      int64_t rowStep = kThreads / cpr;
      Value row0 = k.divu(tid, k.idx(cpr));
      Value col = k.mul(k.remu(tid, k.idx(cpr)), k.idx(epc));
      Value src0 = k.add(base, k.add(k.mul(row0, k.idx(rowStride)), col));
      Value left = k.sub(rowsValid, row0); // rows from row0 this tile has
      Value colOk = partialCols ? k.lt(col, colsValid) : Value();
      for (int64_t i = 0; i < iters; ++i) {
        Value src = k.add(src0, k.idx(i * rowStep * rowStride));
        Value n = k.idx(epc);
        if (raggedRows || partialCols) {
          Value valid = raggedRows ? k.lt(k.idx(i * rowStep), left) : colOk;
          if (raggedRows && partialCols)
            valid = k.andi(valid, colOk);
          src = k.select(valid, src, k.idx(0));
          n = k.select(valid, k.idx(epc), k.idx(0));
        }
        Value t = nvgpu::DeviceAsyncCopyOp::create(
            k.b, k.loc, tok, smem,
            ValueRange{k.add(smemRow0, k.add(row0, k.idx(i * rowStep))), col},
            global, ValueRange{src}, k.b.getIndexAttr(epc), n,
            copy16 ? k.b.getUnitAttr() : UnitAttr());
        pendingTokens.push_back(t);
      }
      return;
    }
    for (int64_t i = 0; i < iters; ++i) {
      Value id = k.add(tid, k.idx(i * kThreads));
      Value row = k.divu(id, k.idx(cpr)), cc = k.remu(id, k.idx(cpr));
      Value col = k.mul(cc, k.idx(epc));
      Value valid = k.lt(row, rowsValid);
      if (partialCols)
        valid = k.andi(valid, k.lt(col, colsValid));
      Value src = k.select(
          valid, k.add(base, k.add(k.mul(row, k.idx(rowStride)), col)),
          k.idx(0));
      Value n = k.select(valid, k.idx(epc), k.idx(0));
      Value t = nvgpu::DeviceAsyncCopyOp::create(
          k.b, k.loc, tok, smem, ValueRange{k.add(smemRow0, row), col}, global,
          ValueRange{src}, k.b.getIndexAttr(epc), n,
          epc * (k.elementType(global).getIntOrFloatBitWidth() / 8) == 16
              ? k.b.getUnitAttr()
              : UnitAttr());
      pendingTokens.push_back(t);
    }
    return;
  }
  int64_t total = 64 * colsP;
  k.forLoop(tid, k.idx(total), k.idx(kThreads), [&](Value id) {
    Value row = k.divu(id, k.idx(colsP)), col = k.remu(id, k.idx(colsP));
    Value valid = k.andi(k.lt(row, rowsValid), k.lt(col, colsValid));
    Type et = k.elementType(global);
    Value zero = arith::ConstantOp::create(k.b, k.loc, et,
                                           k.b.getFloatAttr(et, 0.0));
    Value v = k.ifElse(valid, {et},
                       [&]() -> SmallVector<Value> {
                         return {k.load(global,
                                        k.add(base, k.add(k.mul(row, k.idx(rowStride)), col)))};
                       },
                       [&]() -> SmallVector<Value> { return {zero}; })[0];
    k.store(v, smem, ValueRange{k.add(smemRow0, row), col});
  });
}


/// (kt, class) of entry e of this CTA's tile list.
std::pair<Value, Value> AttentionKernel::entryAt(Value e, Value listBase) {
  const AttnSpec &s = *sp;
  const AttnArgs &slots = *ap;
  switch (s.source) {
  case kAllTiles:
    return {e, k.idx(s.mask.empty() && !s.lsh ? ATTUNE_TILE_FULL
                                              : ATTUNE_TILE_PARTIAL)};
  case kStaticList:
  case kDynamicList: {
    Value list = args[s.source == kStaticList ? slots.entries : slots.dyn];
    Value ent = k.toIndex(k.load(list, k.add(listBase, e)));
    Value kt = k.andi(ent, k.idx((1 << kClassShift) - 1));
    Value cls = k.andi(arith::ShRUIOp::create(k.b, k.loc, ent,
                                                   k.idx(kClassShift)),
                       k.idx(3));
    return {kt, cls};
  }
  }
  return {e, k.idx(ATTUNE_TILE_PARTIAL)};
}

/// Scores in log2 units (raw scores when foldScale()): scale, score
/// modifications, then the mask (on partial tiles and the ragged last key
/// tile) as -inf.
SmallVector<Value> AttentionKernel::scores(ArrayRef<Value> S, Value kt,
                                           Value cls) {
  const AttnSpec &s = *sp;
  const AttnArgs &slots = *ap;
  bool hasMods = !s.mods.empty() || s.scoreFn;
  double pre = hasMods ? s.scale : s.scale * kLog2e;
  SmallVector<Value> x;
  for (Value v : S)
    x.push_back(foldScale() ? v : k.fmul(v, k.cf32(pre)));
  Value k0 = k.mul(kt, k.idx(kBK));
  auto qOf = [&](int half) {
    return k.add(q0, k.add(k.mul(warp, k.idx(16)), k.add(g, k.idx(8 * half))));
  };
  auto kOf = [&](int j, int e2) {
    return k.add(k0, k.add(k.idx(8 * j + e2), k.mul(t4, k.idx(2))));
  };
  if (hasMods) {
    for (const AttnSpec::Mod &m : s.mods) {
      Value slope;
      if (m.alibi)
        slope = k.load(args[m.slopesArg], h);
      for (int j = 0; j < 8; ++j)
        for (int c = 0; c < 4; ++c) {
          Value &v = x[j * 4 + c];
          if (m.alibi) {
            Value qa = k.add(qOf(c / 2), k.idx(s.Lk - s.Lq));
            Value d = k.sub(qa, kOf(j, c % 2));
            Value ad = k.toI64(k.select(k.lt(d, k.idx(0)),
                                        k.sub(k.idx(0), d), d));
            v = k.fsub(v, k.fmul(slope, k.sitofp(ad)));
          } else {
            Value cap = k.cf32(m.cap);
            v = k.fmul(cap, math::TanhOp::create(k.b, k.loc, k.fdiv(v, cap)));
          }
        }
    }
    if (s.scoreFn)
      for (int j = 0; j < 8; ++j)
        for (int c = 0; c < 4; ++c) {
          Value &v = x[j * 4 + c];
          v = inlineRegion(k, *s.scoreFn,
                           {v, b, h, k.mins(qOf(c / 2), k.idx(s.Lq - 1)),
                            k.mins(kOf(j, c % 2),
                                   k.idx(std::max<int64_t>(s.Lk, 1) - 1))},
                           slots.captures, args);
        }
    for (Value &v : x)
      v = k.fmul(v, k.cf32(kLog2e));
  }
  bool ragged = s.Lk % kBK != 0;
  bool masked = !s.mask.empty() || s.lsh;
  if (!masked && !ragged && !s.maskFn)
    return x;
  Value need = !masked ? k.cbool(false)
                       : k.eq(cls, k.idx(ATTUNE_TILE_PARTIAL));
  if (s.maskFn) // the block lists cover the attribute mask only
    need = k.cbool(true);
  if (ragged)
    need = k.ori(need, k.eq(kt, k.idx(s.nKT - 1)));
  SmallVector<Type> types(x.size(), k.f32());
  return k.ifElse(
      need, types,
      [&]() -> SmallVector<Value> {
        MaskEmitter me{k, s, slots, args, b, h};
        SmallVector<Value> y = x;
        Value ninf = k.cf32(-INFINITY);
        for (int half = 0; half < 2; ++half) {
          Value q = qOf(half);
          for (int j = 0; j < 8; ++j)
            for (int e2 = 0; e2 < 2; ++e2) {
              Value kk = kOf(j, e2);
              Value ok = k.lt(kk, k.idx(s.Lk));
              if (!s.mask.empty())
                ok = k.andi(ok, me.node(0, q, kk));
              if (s.lsh)
                ok = k.andi(ok, lshAllowed(q, kk));
              // Regions see valid indices only (padded rows and keys are
              // clamped; their scores are discarded), as on the CPU.
              if (s.maskFn)
                ok = k.andi(ok, inlineRegion(
                                    k, *s.maskFn,
                                    {b, h, k.mins(q, k.idx(s.Lq - 1)),
                                     k.mins(kk, k.idx(s.Lk - 1))},
                                    slots.captures, args));
              Value &v = y[j * 4 + half * 2 + e2];
              v = k.select(ok, v, ninf);
            }
        }
        return y;
      },
      [&]() -> SmallVector<Value> { return x; });
}

void AttentionKernel::emit() {
  const AttnSpec &s = *sp;
  const AttnArgs &slots = *ap;
  MLIRContext *ctx = k.b.getContext();
  // One grid dimension (y and z stop at 65535): x = ((qtIdx * B + b) * Hq
  // + h) * dvSplit + part, so the longest (causal) query tiles of every
  // head start first.
  Value bx = k.bid(gpu::Dimension::x);
  part = k.remu(bx, k.idx(s.dvSplit));
  Value rest = k.divu(bx, k.idx(s.dvSplit));
  h = k.remu(rest, k.idx(s.Hq));
  rest = k.divu(rest, k.idx(s.Hq));
  b = k.remu(rest, k.idx(s.B));
  qt = k.sub(k.idx(s.nQT - 1), k.divu(rest, k.idx(s.B)));
  dv0 = k.mul(part, k.idx(s.Dvq));
  kvh = k.divu(h, k.idx(s.Hq / s.Hkv));
  q0 = k.mul(qt, k.idx(kBQ));
  Value tid = k.tid();
  warp = k.divu(tid, k.idx(32));
  lane = k.remu(tid, k.idx(32));
  g = k.divu(lane, k.idx(4));
  t4 = k.remu(lane, k.idx(4));

  // Shared memory: Q [64][Dp+8], K [2*64][Dp+8], V [64][Dvq+8].
  strideQK = s.Dp + 8;
  strideV = s.Dvq + 8;
  int64_t eb = s.elem.getIntOrFloatBitWidth() / 8;
  int64_t qBytes = kBQ * strideQK * eb, kBytes = 2 * kBK * strideQK * eb;
  int64_t vBytes = kBK * strideV * eb;
  auto ws = gpu::AddressSpaceAttr::get(ctx, gpu::AddressSpace::Workgroup);
  Value raw = gpu::DynamicSharedMemoryOp::create(
      k.b, k.loc,
      MemRefType::get({ShapedType::kDynamic}, k.b.getI8Type(),
                      MemRefLayoutAttrInterface(), ws));
  auto view = [&](int64_t offset, int64_t rows, int64_t stride, Type et) {
    return memref::ViewOp::create(
               k.b, k.loc,
               MemRefType::get({rows, stride}, et, MemRefLayoutAttrInterface(),
                               ws),
               raw, k.idx(offset), ValueRange{})
        .getResult();
  };
  Type f16 = k.b.getF16Type();
  smemQ = view(0, kBQ, strideQK, s.elem);
  smemQh = view(0, kBQ, strideQK, f16);
  smemK = view(qBytes, 2 * kBK, strideQK, s.elem);
  smemKh = view(qBytes, 2 * kBK, strideQK, f16);
  smemV = view(qBytes + kBytes, kBK, strideV, s.elem);
  smemVh = view(qBytes + kBytes, kBK, strideV, f16);
  if (simt())
    smemP = view(qBytes + kBytes + vBytes, kBQ, kBK + 4, k.f32());

  // A group token at the top level for every wait to name (the lowering
  // ignores it; it must dominate waits in every pass).
  commit();
  Value qBase = k.mul(k.add(k.mul(k.add(k.mul(b, k.idx(s.Hq)), h),
                                  k.idx(s.Lq)),
                            q0),
                      k.idx(s.D));
  // Prologue: Q (kept in registers below).
  loadTile(args[slots.q], qBase, s.D, k.idx(s.D), s.D != s.Dp, s.Dp,
           k.sub(k.idx(s.Lq), q0), s.Lq % kBQ != 0, smemQ, k.idx(0),
           s.asyncQK);
  commit();
  wait(0);
  k.barrier();
  // Q fragments stay in registers.
  {
    Value r = k.add(k.mul(warp, k.idx(16)),
                    k.add(k.remu(lane, k.idx(8)),
                          k.mul(k.remu(k.divu(lane, k.idx(8)), k.idx(2)),
                                k.idx(8))));
    Value c = k.mul(k.divu(lane, k.idx(16)), k.idx(8));
    qRowL = r;
    qColL = c;
    // Beyond 128 the Q fragments would crowd out the accumulators: they are
    // read from shared memory again for every key tile instead.
    if (!simt() && s.Dp <= kQInRegisters)
      for (int64_t kk = 0; kk < s.Dp / 16; ++kk)
        qf.push_back(k.ldmatrix4(smemQh, r, k.add(c, k.idx(kk * 16)), false));
  }

  int64_t nO = s.Dvq / 8; // n8 tiles of the output row block
  SmallVector<Value> init;
  for (int64_t i = 0; i < nO * 4; ++i)
    init.push_back(k.cf32(0.0));
  Value ninf = k.cf32(-INFINITY);
  init.append({ninf, ninf, k.cf32(0.0), k.cf32(0.0)}); // m0 m1 l0 l1

  // Per-lane ldmatrix coordinates.
  kRowL = k.add(k.mul(k.divu(lane, k.idx(16)), k.idx(8)),
                      k.remu(lane, k.idx(8)));
  kColL = k.mul(k.remu(k.divu(lane, k.idx(8)), k.idx(2)), k.idx(8));
  vRowL = k.add(k.mul(k.remu(k.divu(lane, k.idx(8)), k.idx(2)),
                            k.idx(8)),
                      k.remu(lane, k.idx(8)));
  vColL = k.mul(k.divu(lane, k.idx(16)), k.idx(8));

  // The passes, each over its own tile list, carry one softmax state.
  SmallVector<Value> state = init;
  for (auto [passSpec, passArgs] : passes) {
    sp = passSpec;
    ap = passArgs;
    state = runPass(state);
  }
  sp = passes[0].first;
  ap = passes[0].second;
  SmallVector<Value> fin = state;

  // Epilogue: normalize, write out and lse.
  Value headRow = k.mul(k.add(k.mul(b, k.idx(s.Hq)), h), k.idx(s.Lq));
  Value nan = k.cf32(NAN);
  for (int half = 0; half < 2; ++half) {
    Value m = fin[nO * 4 + half];
    Value l = fin[nO * 4 + 2 + half];
    l = k.fadd(l, k.shuffleXor(l, 1));
    l = k.fadd(l, k.shuffleXor(l, 2));
    Value isNan = k.cmpf(arith::CmpFPredicate::UNO, l, l);
    Value pos = k.cmpf(arith::CmpFPredicate::OGT, l, k.cf32(0.0));
    Value inv = k.select(pos, k.fdiv(k.cf32(1.0), l),
                         k.select(isNan, nan, k.cf32(0.0)));
    Value row = k.add(q0, k.add(k.mul(warp, k.idx(16)),
                                k.add(g, k.idx(8 * half))));
    k.ifThen(k.lt(row, k.idx(s.Lq)), [&] {
      Value outBase = k.add(k.mul(k.add(headRow, row), k.idx(s.Dv)), dv0);
      Value dvHere = k.sub(k.idx(s.Dv), dv0);
      for (int64_t n = 0; n < nO; ++n)
        for (int e2 = 0; e2 < 2; ++e2) {
          int64_t colStatic = 8 * n + e2;
          if (s.dvSplit == 1 && colStatic >= s.Dv)
            continue;
          Value col = k.add(k.idx(colStatic), k.mul(t4, k.idx(2)));
          Value v = k.fmul(fin[n * 4 + half * 2 + e2], inv);
          auto store = [&] { k.storeF(v, args[slots.out], k.add(outBase, col)); };
          if (s.dvSplit > 1 || colStatic + 6 >= s.Dv)
            k.ifThen(k.lt(col, dvHere), store);
          else
            store();
        }
      k.ifThen(k.andi(k.eq(t4, k.idx(0)), k.eq(part, k.idx(0))), [&] {
        Value finite = k.andi(pos, k.cmpf(arith::CmpFPredicate::ONE, m,
                                          k.cf32(-INFINITY)));
        Value lse = k.fmul(k.fadd(m, math::Log2Op::create(k.b, k.loc, l)),
                           k.cf32(1.0 / kLog2e));
        lse = k.select(finite, lse, k.cf32(-INFINITY));
        lse = k.select(isNan, nan, lse);
        k.store(lse, args[slots.lse], k.add(headRow, row));
      });
    });
  }
}

/// The LSH chunk pattern in sorted order (AttnSpec::lsh).
Value AttentionKernel::lshAllowed(Value q, Value kk) {
  const AttnSpec &s = *sp;
  const AttnArgs &slots = *ap;
  int64_t nC = (s.Lq + s.lshChunk - 1) / s.lshChunk;
  Value cs = k.idx(s.lshChunk);
  Value qc = k.divu(q, cs), kc = k.divu(kk, cs);
  Value prev = k.select(k.eq(qc, k.idx(0)), k.idx(nC - 1),
                        k.sub(qc, k.idx(1)));
  Value ok = k.ori(k.eq(kc, qc), k.eq(kc, prev));
  Value row = k.mul(b, k.idx(s.Lq));
  Value qs = k.mins(q, k.idx(s.Lq - 1)), ks = k.mins(kk, k.idx(s.Lk - 1));
  if (s.lshCausal) {
    Value pq = k.load(args[slots.lshPos], k.add(row, qs));
    Value pk = k.load(args[slots.lshPos], k.add(row, ks));
    ok = k.andi(ok, k.cmpi(arith::CmpIPredicate::sle, pk, pq));
  }
  Value alone = k.ne(k.load(args[slots.lshAlone], k.add(row, qs)),
                     arith::ConstantIntOp::create(k.b, k.loc, 0, 8));
  return k.andi(ok, k.ori(k.ne(q, kk), alone));
}

SmallVector<Value> AttentionKernel::runPass(ArrayRef<Value> state) {
  const AttnSpec &s = *sp;
  const AttnArgs &slots = *ap;
  int64_t nO = s.Dvq / 8;
  Value ninf = k.cf32(-INFINITY);
  // This CTA's tile list.
  Value layer = s.layers == 1 ? k.idx(0) : h;
  Value listBase = k.idx(0), count = k.idx(s.nKT);
  if (s.source == kStaticList) {
    Value row = k.add(k.mul(layer, k.idx(s.nQT)), qt);
    listBase = k.toIndex(k.load(args[slots.rowptr], row));
    count = k.sub(k.toIndex(k.load(args[slots.rowptr], k.add(row, k.idx(1)))),
                  listBase);
  } else if (s.source == kDynamicList) {
    Value row = k.add(
        k.mul(k.add(k.mul(b, k.idx(s.layers)), layer), k.idx(s.nQT)), qt);
    Value base = k.mul(row, k.idx(s.nKT + 1));
    count = k.toIndex(k.load(args[slots.dyn], base));
    listBase = k.add(base, k.idx(1));
  }

  Value kvRow0 = k.mul(k.add(k.mul(b, k.idx(s.Hkv)), kvh), k.idx(s.Lk));
  auto kBase = [&](Value kt) {
    return k.mul(k.add(kvRow0, k.mul(kt, k.idx(kBK))), k.idx(s.D));
  };
  auto vBase = [&](Value kt) {
    return k.mul(k.add(kvRow0, k.mul(kt, k.idx(kBK))), k.idx(s.Dv));
  };
  auto kRows = [&](Value kt) {
    return k.sub(k.idx(s.Lk), k.mul(kt, k.idx(kBK)));
  };
  const bool raggedK = s.Lk % kBK != 0; // the last key tile is short

  // The first K tile of this pass.
  k.ifThen(k.lt(k.idx(0), count), [&] {
    Value kt0 = entryAt(k.idx(0), listBase).first;
    loadTile(args[slots.k], kBase(kt0), s.D, k.idx(s.D), s.D != s.Dp, s.Dp,
             kRows(kt0), raggedK, smemK, k.idx(0), s.asyncQK);
    commit();
  });
  wait(0);
  k.barrier();
  SmallVector<Value> fin = k.forLoop(
      k.idx(0), count, k.idx(1), state,
      [&](Value e, ValueRange it) -> SmallVector<Value> {
        SmallVector<Value> O(it.begin(), it.begin() + nO * 4);
        Value m[2] = {it[nO * 4], it[nO * 4 + 1]};
        Value l[2] = {it[nO * 4 + 2], it[nO * 4 + 3]};
        auto [kt, cls] = entryAt(e, listBase);
        Value buf = k.remu(e, k.idx(2));
        Value kRow0 = k.mul(buf, k.idx(kBK));

        // V of this tile loads while S is computed.
        loadTile(args[slots.v], k.add(vBase(kt), dv0), s.Dv,
                 k.sub(k.idx(s.Dv), dv0), s.dvSplit > 1 || s.Dv != s.Dvq,
                 s.Dvq, kRows(kt), raggedK, smemV, k.idx(0), s.asyncV);
        commit();

        SmallVector<Value> S(32, k.cf32(0.0));
        if (simt()) {
          // f32: this thread's 32 elements of S (the mma C layout) by
          // dot products over the head dim from shared memory.
          Value r0 = k.add(k.mul(warp, k.idx(16)), g);
          Value r1 = k.add(r0, k.idx(8));
          S = k.forLoop(k.idx(0), k.idx(s.D), k.idx(1), S,
                        [&](Value d, ValueRange acc) -> SmallVector<Value> {
                          SmallVector<Value> nx(acc.begin(), acc.end());
                          Value q0v = k.load(smemQ, ValueRange{r0, d});
                          Value q1v = k.load(smemQ, ValueRange{r1, d});
                          for (int j = 0; j < 8; ++j)
                            for (int e2 = 0; e2 < 2; ++e2) {
                              Value col = k.add(
                                  kRow0, k.add(k.idx(8 * j + e2),
                                               k.mul(t4, k.idx(2))));
                              Value kv = k.load(smemK, ValueRange{col, d});
                              nx[j * 4 + e2] = k.fma(q0v, kv, nx[j * 4 + e2]);
                              nx[j * 4 + 2 + e2] =
                                  k.fma(q1v, kv, nx[j * 4 + 2 + e2]);
                            }
                          return nx;
                        });
        }
        for (int64_t kk = 0; !simt() && kk < s.Dp / 16; ++kk) {
          std::array<Value, 4> qa =
              s.Dp <= kQInRegisters
                  ? qf[kk]
                  : k.ldmatrix4(smemQh, qRowL,
                                 k.add(qColL, k.idx(kk * 16)), false);
          for (int jp = 0; jp < 4; ++jp) {
            auto kb = k.ldmatrix4(
                smemKh, k.add(kRow0, k.add(kRowL, k.idx(jp * 16))),
                k.add(kColL, k.idx(kk * 16)), false);
            for (int h2 = 0; h2 < 2; ++h2) {
              int j = 2 * jp + h2;
              auto r = fr.mma(qa, {kb[2 * h2], kb[2 * h2 + 1]},
                              ArrayRef<Value>(S).slice(j * 4, 4));
              for (int c = 0; c < 4; ++c)
                S[j * 4 + c] = r[c];
            }
          }
        }

        // The next K tile loads during the softmax and P·V.
        Value next = k.add(e, k.idx(1));
        Value hasNext = k.lt(next, count);
        k.ifThen(hasNext, [&] {
          Value ktn = entryAt(next, listBase).first;
          loadTile(args[slots.k], kBase(ktn), s.D, k.idx(s.D), s.D != s.Dp,
                   s.Dp, kRows(ktn), raggedK, smemK, k.sub(k.idx(kBK), kRow0),
                   s.asyncQK);
          commit();
        });

        SmallVector<Value> x = scores(S, kt, cls);
        // Online softmax per row half (rows g and g + 8 of the warp).
        SmallVector<Value> P(32);
        Value mOut[2], lOut[2];
        const bool fold = foldScale();
        Value pre = k.cf32(s.scale * kLog2e);
        for (int half = 0; half < 2; ++half) {
          // The row max (of raw scores when folding: the scale is positive,
          // so it commutes with the max), in log2 units.
          Value mx = fold ? ninf : m[half];
          for (int j = 0; j < 8; ++j)
            for (int e2 = 0; e2 < 2; ++e2)
              mx = k.fmax(mx, x[j * 4 + half * 2 + e2]);
          mx = k.fmax(mx, k.shuffleXor(mx, 1));
          mx = k.fmax(mx, k.shuffleXor(mx, 2));
          if (fold)
            mx = k.fmax(m[half], k.fmul(mx, pre));
          Value safe = k.select(
              k.cmpf(arith::CmpFPredicate::OEQ, mx, ninf), k.cf32(0.0), mx);
          Value alpha = k.exp2Approx(k.fsub(m[half], safe));
          Value negSafe = k.fneg(safe);
          Value sum = k.cf32(0.0);
          for (int j = 0; j < 8; ++j)
            for (int e2 = 0; e2 < 2; ++e2) {
              int i = j * 4 + half * 2 + e2;
              P[i] = k.exp2Approx(fold ? k.fma(x[i], pre, negSafe)
                                       : k.fsub(x[i], safe));
              sum = k.fadd(sum, P[i]);
            }
          lOut[half] = k.fadd(k.fmul(l[half], alpha), sum);
          mOut[half] = mx;
          for (int64_t n = 0; n < nO; ++n)
            for (int e2 = 0; e2 < 2; ++e2) {
              Value &o = O[n * 4 + half * 2 + e2];
              o = k.fmul(o, alpha);
            }
        }

        // P as mma A fragments (rounded to the input type), packed now so
        // that 16 registers rather than 32 live across the wait.
        std::array<std::array<Value, 4>, 4> pa;
        if (simt()) {
          // f32: P goes through shared memory (rows are the warp's own).
          for (int half = 0; half < 2; ++half) {
            Value row = k.add(k.mul(warp, k.idx(16)), k.add(g, k.idx(8 * half)));
            for (int j = 0; j < 8; ++j)
              for (int e2 = 0; e2 < 2; ++e2)
                k.store(P[j * 4 + half * 2 + e2], smemP,
                        ValueRange{row, k.add(k.idx(8 * j + e2),
                                              k.mul(t4, k.idx(2)))});
          }
        }
        for (int kk = 0; !simt() && kk < 4; ++kk)
          pa[kk] = {fr.pack(P[(2 * kk) * 4 + 0], P[(2 * kk) * 4 + 1]),
                    fr.pack(P[(2 * kk) * 4 + 2], P[(2 * kk) * 4 + 3]),
                    fr.pack(P[(2 * kk + 1) * 4 + 0], P[(2 * kk + 1) * 4 + 1]),
                    fr.pack(P[(2 * kk + 1) * 4 + 2], P[(2 * kk + 1) * 4 + 3])};
        // Wait for V (the next K may stay in flight).
        k.ifElse(hasNext, {}, [&]() -> SmallVector<Value> {
          wait(1);
          return {};
        }, [&]() -> SmallVector<Value> {
          wait(0);
          return {};
        });
        k.barrier();
        if (simt()) {
          Value r0 = k.add(k.mul(warp, k.idx(16)), g);
          Value r1 = k.add(r0, k.idx(8));
          SmallVector<Value> o = k.forLoop(
              k.idx(0), k.idx(kBK), k.idx(1), O,
              [&](Value key, ValueRange acc) -> SmallVector<Value> {
                SmallVector<Value> nx(acc.begin(), acc.end());
                Value p0 = k.load(smemP, ValueRange{r0, key});
                Value p1 = k.load(smemP, ValueRange{r1, key});
                for (int64_t n = 0; n < nO; ++n)
                  for (int e2 = 0; e2 < 2; ++e2) {
                    Value col = k.add(k.idx(8 * n + e2), k.mul(t4, k.idx(2)));
                    Value vv = k.load(smemV, ValueRange{key, col});
                    nx[n * 4 + e2] = k.fma(p0, vv, nx[n * 4 + e2]);
                    nx[n * 4 + 2 + e2] = k.fma(p1, vv, nx[n * 4 + 2 + e2]);
                  }
                return nx;
              });
          O.assign(o.begin(), o.end());
        }
        for (int kk = 0; !simt() && kk < 4; ++kk) {
          const std::array<Value, 4> &a = pa[kk];
          for (int64_t np = 0; np < s.Dvq / 16; ++np) {
            auto vb = k.ldmatrix4(smemVh, k.add(vRowL, k.idx(kk * 16)),
                                   k.add(vColL, k.idx(np * 16)), true);
            for (int h2 = 0; h2 < 2; ++h2) {
              int64_t n = 2 * np + h2;
              auto r = fr.mma(a, {vb[2 * h2], vb[2 * h2 + 1]},
                              ArrayRef<Value>(O).slice(n * 4, 4));
              for (int c = 0; c < 4; ++c)
                O[n * 4 + c] = r[c];
            }
          }
        }
        // The next K has landed and every warp is done with V.
        wait(0);
        k.barrier();
        SmallVector<Value> out = O;
        out.append({mOut[0], mOut[1], lOut[0], lOut[1]});
        return out;
      });

  return fin;
}

/// The run-time tile lists of a mask that reads document ids: per-tile
/// min/max of the ids, then the list of each (batch, layer, q tile).
void emitDocumentSteps(GpuLaunch &l, const AttnSpec &s, int qdoc, int kdoc,
                       int rowptr, int entries, int dyn) {
  int qr = l.addScratch(DType::I64, s.B * s.nQT * 2);
  int kr = l.addScratch(DType::I64, s.B * s.nKT * 2);
  int64_t M = std::max(s.nQT, s.nKT);
  int64_t n = s.B * M;
  const unsigned T = 128;
  std::string key = std::to_string(s.B) + "," + std::to_string(s.Lq) + "," +
                    std::to_string(s.Lk);
  std::string ranges = l.kernel(
      "doc_ranges", key,
      {l.memrefOf(qdoc), l.memrefOf(kdoc), l.memrefOf(qr), l.memrefOf(kr)}, T,
      [&](KernelBuilder &k, ArrayRef<Value> a, Value, Value) {
        gridStride(k, n, T, [&](Value i) {
          Value bb = k.divu(i, k.idx(M)), t = k.remu(i, k.idx(M));
          auto range = [&](Value ids, int64_t L, int64_t nT, Value out) {
            k.ifThen(k.lt(t, k.idx(nT)), [&] {
              Value lo = k.mul(t, k.idx(64));
              Value hi = k.mins(k.add(lo, k.idx(64)), k.idx(L));
              Value rowBase = k.mul(bb, k.idx(L));
              Value first = k.loadI64(ids, k.add(rowBase, lo));
              auto mm = k.forLoop(
                  k.add(lo, k.idx(1)), hi, k.idx(1), ValueRange{first, first},
                  [&](Value p, ValueRange it) -> SmallVector<Value> {
                    Value v = k.loadI64(ids, k.add(rowBase, p));
                    return {k.mins(it[0], v), k.maxs(it[1], v)};
                  });
              Value at = k.mul(k.add(k.mul(bb, k.idx(nT)), t), k.idx(2));
              k.store(mm[0], out, at);
              k.store(mm[1], out, k.add(at, k.idx(1)));
            });
          };
          range(a[0], s.Lq, s.nQT, a[2]);
          range(a[1], s.Lk, s.nKT, a[3]);
        });
      });
  l.step(ranges, {qdoc, kdoc, qr, kr}, gridFor(n, T), T);

  int64_t rows = s.B * s.layers * s.nQT;
  std::string lists = l.kernel(
      "doc_tiles", key + "," + std::to_string(s.layers),
      {l.memrefOf(qr), l.memrefOf(kr), l.memrefOf(rowptr), l.memrefOf(entries),
       l.memrefOf(dyn)},
      T, [&](KernelBuilder &k, ArrayRef<Value> a, Value, Value) {
        gridStride(k, rows, T, [&](Value r) {
          Value qt = k.remu(r, k.idx(s.nQT));
          Value layer = k.remu(k.divu(r, k.idx(s.nQT)), k.idx(s.layers));
          Value bb = k.divu(r, k.idx(s.nQT * s.layers));
          Value qa = k.mul(k.add(k.mul(bb, k.idx(s.nQT)), qt), k.idx(2));
          Value qmin = k.load(a[0], qa), qmax = k.load(a[0], k.add(qa, k.idx(1)));
          Value srow = k.add(k.mul(layer, k.idx(s.nQT)), qt);
          Value e0 = k.toIndex(k.load(a[2], srow));
          Value e1 = k.toIndex(k.load(a[2], k.add(srow, k.idx(1))));
          Value base = k.mul(r, k.idx(s.nKT + 1));
          auto cnt = k.forLoop(
              e0, e1, k.idx(1), ValueRange{k.idx(0)},
              [&](Value e, ValueRange it) -> SmallVector<Value> {
                Value ent = k.load(a[3], e);
                Value kt = k.toIndex(k.andi(ent, k.ci32((1 << kClassShift) - 1)));
                Value cf = k.andi(arith::ShRUIOp::create(k.b, k.loc, ent, k.ci32(kClassShift)), k.ci32(3));
                Value ce = k.andi(arith::ShRUIOp::create(k.b, k.loc, ent, k.ci32(kEmptyShift)), k.ci32(3));
                Value ka = k.mul(k.add(k.mul(bb, k.idx(s.nKT)), kt), k.idx(2));
                Value kmin = k.load(a[1], ka), kmax = k.load(a[1], k.add(ka, k.idx(1)));
                Value full = k.andi(k.andi(k.eq(qmin, qmax), k.eq(kmin, kmax)),
                                    k.eq(qmin, kmin));
                Value empty = k.ori(k.lt(qmax, kmin), k.lt(kmax, qmin));
                Value partial = k.select(k.eq(ce, cf), ce, k.ci32(ATTUNE_TILE_PARTIAL));
                Value cls = k.select(empty, ce, k.select(full, cf, partial));
                Value keep = k.ne(cls, k.ci32(ATTUNE_TILE_EMPTY));
                k.ifThen(keep, [&] {
                  Value enc = k.ori(k.toI32(kt),
                                    k.shli(cls, k.ci32(kClassShift)));
                  k.store(enc, a[4], k.add(base, k.add(it[0], k.idx(1))));
                });
                return {k.select(keep, k.add(it[0], k.idx(1)), it[0])};
              });
          k.store(k.toI32(cnt[0]), a[4], base);
        });
      });
  l.step(lists, {qr, kr, rowptr, entries, dyn}, gridFor(rows, T), T);
}

} // namespace

/// Shapes derived from B, H, L, D and the storage type; refuses what the
/// kernel does not handle.
LogicalResult initGeometry(GpuLaunch &l, AttnSpec &s, StringRef dtype) {
  s.Dp = (s.D + 15) / 16 * 16;
  s.Dvp = (s.Dv + 15) / 16 * 16;
  s.dvSplit = s.Dvp > 192 ? 2 : 1;
  s.Dvq = s.dvSplit == 1 ? s.Dvp : (s.Dvp / 2 + 15) / 16 * 16;
  s.nQT = (s.Lq + kBQ - 1) / kBQ;
  s.nKT = (s.Lk + kBK - 1) / kBK;
  s.elem = dtype == "bf16"  ? Type(BFloat16Type::get(l.context()))
           : dtype == "f16" ? Type(Float16Type::get(l.context()))
                            : Type(Float32Type::get(l.context()));
  if (s.elem.isF32() && (s.D > kMaxHeadDimF32 || s.Dv > kMaxHeadDimF32))
    return l.error() << "the cuda attention kernel supports f32 head dims up "
                        "to "
                     << kMaxHeadDimF32 << " (bf16/f16: " << kMaxHeadDim
                     << "); got D = " << s.D << ", Dv = " << s.Dv;
  if (s.D > kMaxHeadDim || s.Dv > kMaxHeadDim)
    return l.error() << "the cuda attention kernel supports head dims up to "
                     << kMaxHeadDim << "; got D = " << s.D << ", Dv = " << s.Dv;
  if (s.Hkv <= 0 || s.Hq % std::max<int64_t>(s.Hkv, 1) != 0)
    return l.error() << "internal: " << s.Hq << " query heads over " << s.Hkv
                     << " key/value heads";
  if (s.nQT * s.dvSplit * s.Hq * s.B > INT32_MAX)
    return l.error() << "the cuda attention grid of " << s.nQT << " query tiles x "
                     << s.Hq << " heads x " << s.B
                     << " batches exceeds 2^31 - 1 blocks";
  int64_t epc = s.elem.isF32() ? 4 : 8; // elements per 16-byte copy
  bool async = s.D % epc == 0 && s.Dv % epc == 0;
  s.asyncQK = s.asyncV = async;
  return success();
}

LogicalResult emitNoop(GpuLaunch &l) {
  std::string name = l.kernel("noop", "", {}, 32,
                              [](KernelBuilder &, ArrayRef<Value>, Value,
                                 Value) {});
  l.step(name, {}, {1, 1, 1}, 32);
  return success();
}

/// The tables of the pass's global and block-sparse terms and its tile
/// lists (with the run-time steps a document mask needs), appended to the
/// kernel's arguments `ids`.
LogicalResult preparePass(GpuLaunch &l, AttnSpec &s, AttnArgs &slots,
                          std::vector<int> &ids, int qdoc, int kdoc) {
  if (s.docBits) {
    slots.qdoc = static_cast<int>(ids.size());
    ids.push_back(qdoc);
    slots.kdoc = static_cast<int>(ids.size());
    ids.push_back(kdoc);
  }
  // Tables of the global and block-sparse terms.
  for (size_t i = 0; i < s.mask.nodes.size(); ++i) {
    const abi::MaskNode &nd = s.mask.nodes[i];
    if (nd.kind == ATTUNE_MASK_GLOBAL) {
      std::vector<uint8_t> flags(
          static_cast<size_t>(std::max<int64_t>(std::max(s.Lq, s.Lk), 1)), 0);
      for (int64_t t = 0; t < nd.count; ++t) {
        int64_t tok = s.mask.tokens[static_cast<size_t>(nd.first + t)];
        if (tok >= 0 && tok < static_cast<int64_t>(flags.size()))
          flags[static_cast<size_t>(tok)] = 1;
      }
      slots.nodeTable[static_cast<int64_t>(i)] = static_cast<int>(ids.size());
      ids.push_back(l.addConstant(DType::U8, flags));
    } else if (nd.kind == ATTUNE_MASK_BLOCK_SPARSE) {
      int64_t heads = nd.c == 0 ? 1 : nd.c;
      std::vector<uint8_t> layout(static_cast<size_t>(heads * nd.d * nd.e));
      for (size_t j = 0; j < layout.size(); ++j)
        layout[j] = nd.data[j] != 0;
      slots.nodeTable[static_cast<int64_t>(i)] = static_cast<int>(ids.size());
      ids.push_back(l.addConstant(DType::U8, layout));
    }
  }
  // Tile lists.
  if (!s.mask.empty() || s.lsh) {
    s.layers = dependsOnHead(s.mask) ? s.Hq : 1;
    if (s.layers * s.nQT * s.nKT <= kMaxListEntries) {
      StaticLists lists = buildStaticLists(s);
      if (lists.entries.empty())
        lists.entries.push_back(0);
      int rowptr = l.addConstant(DType::I32, bytesOf(lists.rowptr));
      int entries = l.addConstant(DType::I32, bytesOf(lists.entries));
      if (s.docBits) {
        s.source = kDynamicList;
        int dyn = l.addScratch(DType::I32, s.B * s.layers * s.nQT * (s.nKT + 1));
        emitDocumentSteps(l, s, qdoc, kdoc, rowptr, entries, dyn);
        slots.dyn = static_cast<int>(ids.size());
        ids.push_back(dyn);
      } else {
        s.source = kStaticList;
        slots.rowptr = static_cast<int>(ids.size());
        ids.push_back(rowptr);
        slots.entries = static_cast<int>(ids.size());
        ids.push_back(entries);
      }
    }
  }

  return success();
}

/// Everything of a pass the kernel body depends on. A launch may emit
/// several attention steps (LongNet's gathered branches), so the launch's
/// own parameters do not determine a step's kernel.
std::string passKey(const AttnSpec &s, const AttnArgs &a) {
  std::string k;
  auto add = [&](int64_t v) { k += std::to_string(v) + ","; };
  for (int64_t v : {s.B, s.Hq, s.Hkv, s.Lq, s.Lk, s.D, s.Dv, s.Dp, s.Dvp,
                    s.dvSplit, s.Dvq, s.nQT, s.nKT, s.docBits, s.layers,
                    int64_t(s.source), int64_t(s.asyncQK), int64_t(s.asyncV),
                    int64_t(s.lsh), int64_t(s.lshCausal), s.lshChunk,
                    int64_t(s.elem.getIntOrFloatBitWidth()),
                    int64_t(s.elem.isBF16())})
    add(v);
  uint64_t scaleBits;
  std::memcpy(&scaleBits, &s.scale, sizeof scaleBits);
  k += "s" + std::to_string(scaleBits) + "|m";
  for (int64_t v : s.maskInts)
    add(v);
  k += "|mod";
  for (const AttnSpec::Mod &m : s.mods) {
    uint32_t capBits;
    std::memcpy(&capBits, &m.cap, sizeof capBits);
    add(m.alibi);
    add(capBits);
    add(m.slopesArg);
  }
  k += "|a";
  for (int v : {a.q, a.k, a.v, a.out, a.lse, a.qdoc, a.kdoc, a.rowptr,
                a.entries, a.dyn, a.lshPos, a.lshAlone})
    add(v);
  for (auto [node, arg] : a.nodeTable) {
    add(node);
    add(arg);
  }
  return k;
}

/// One step of the attention kernel over `passes`.
void emitAttentionStep(
    GpuLaunch &l,
    ArrayRef<std::pair<const AttnSpec *, const AttnArgs *>> passes,
    const std::vector<int> &ids) {
  const AttnSpec &s = *passes[0].first;
  const auto &L = l.launch();
  std::vector<MemRefType> types = l.memrefsOf(ids);
  std::string key = L.kernel + "|" + launchKey(l);
  // Regions: one kernel per op's regions (its hooks' names are unique).
  for (const std::string &h : L.hooks)
    key += "|" + h;
  for (auto [ps, pa] : passes)
    key += "|" + passKey(*ps, *pa);
  int64_t eb = s.elem.getIntOrFloatBitWidth() / 8;
  int64_t smem =
      (kBQ * (s.Dp + 8) + 2 * kBK * (s.Dp + 8) + kBK * (s.Dvq + 8)) * eb +
      (s.elem.isF32() ? kBQ * (kBK + 4) * 4 : 0);
  std::string name = l.kernel(
      "attention", key, types, kThreads,
      [&](KernelBuilder &k, ArrayRef<Value> args, Value, Value) {
        AttentionKernel(k, passes, args).emit();
      });
  l.step(name, ids,
         {static_cast<uint32_t>(s.nQT * s.dvSplit * s.Hq * s.B), 1, 1},
         kThreads, static_cast<uint32_t>(smem));
}

LogicalResult emitAttention(GpuLaunch &l, StringRef dtype) {
  const auto &L = l.launch();
  AttnSpec s;
  s.B = l.i(ATTUNE_ATTN_B);
  s.Hq = l.i(ATTUNE_ATTN_HQ);
  s.Hkv = l.i(ATTUNE_ATTN_HKV);
  s.Lq = l.i(ATTUNE_ATTN_LQ);
  s.Lk = l.i(ATTUNE_ATTN_LK);
  s.D = l.i(ATTUNE_ATTN_D);
  s.Dv = l.i(ATTUNE_ATTN_DV);
  s.docBits = l.i(ATTUNE_ATTN_DOC_BITS);
  if (failed(initGeometry(l, s, dtype)))
    return failure();
  s.scale = l.f(0);
  int64_t maskLen = l.i(ATTUNE_ATTN_MASK_LEN);
  int64_t scoreLen = l.i(ATTUNE_ATTN_SCORE_LEN);
  s.maskInts.assign(L.ints.begin() + ATTUNE_ATTN_NUM_FIXED,
                    L.ints.begin() + ATTUNE_ATTN_NUM_FIXED + maskLen);
  std::string err;
  if (!abi::decodeMask(s.maskInts.data(), maskLen, s.mask, err))
    return l.error() << "internal: mask program rejected: " << err;

  // Output-only launches with no work still need a step.
  if (s.B == 0 || s.Hq == 0 || s.Lq == 0)
    return emitNoop(l);

  // Kernel arguments.
  std::vector<int> ids = {l.buffer(0), l.buffer(1), l.buffer(2), l.buffer(3),
                          l.buffer(4)};
  AttnArgs slots;
  // Regions: inlined into the kernel; the outer tensors they read are
  // kernel arguments (the launch's captures, in the hooks' order).
  if (auto op = dyn_cast_or_null<mlir::attune::AttentionOp>(l.operation())) {
    if (!op.getMaskFn().empty())
      s.maskFn = &op.getMaskFn();
    if (!op.getScoreFn().empty())
      s.scoreFn = &op.getScoreFn();
    SmallVector<Value> caps = regionCaptures(s.maskFn, s.scoreFn);
    if (caps.size() != L.captures.size())
      return l.error() << "internal: the regions read " << caps.size()
                       << " outer tensors; the launch captures "
                       << L.captures.size();
    for (auto [i, v] : llvm::enumerate(caps)) {
      slots.captures[v] = static_cast<int>(ids.size());
      ids.push_back(L.captures[i]);
    }
  } else if (llvm::any_of(L.hooks,
                          [](const std::string &h) { return !h.empty(); })) {
    return l.error() << "internal: attention launch with regions but no op";
  }
  // Score modifications.
  const int64_t *sp = L.ints.data() + ATTUNE_ATTN_NUM_FIXED + maskLen;
  if (scoreLen > 0) {
    int64_t count = sp[0], pos = 1;
    for (int64_t m = 0; m < count; ++m) {
      AttnSpec::Mod mod{};
      if (sp[pos] == ATTUNE_SCORE_ALIBI) {
        int64_t first = sp[pos + 1], n = sp[pos + 2];
        pos += 3;
        mod.alibi = true;
        std::vector<float> slopes(static_cast<size_t>(s.Hq));
        for (int64_t hh = 0; hh < s.Hq; ++hh) {
          double v;
          if (n == 0)
            v = ref::alibiSlopes(s.Hq)[static_cast<size_t>(hh)];
          else
            v = l.f(static_cast<size_t>(first + hh));
          slopes[static_cast<size_t>(hh)] = static_cast<float>(v);
        }
        std::vector<uint8_t> bytes(slopes.size() * 4);
        std::memcpy(bytes.data(), slopes.data(), bytes.size());
        mod.slopesArg = static_cast<int>(ids.size());
        ids.push_back(l.addConstant(DType::F32, bytes));
      } else {
        mod.alibi = false;
        mod.cap = static_cast<float>(l.f(static_cast<size_t>(sp[pos + 1])));
        pos += 2;
      }
      s.mods.push_back(mod);
    }
  }
  if (failed(preparePass(l, s, slots, ids, l.buffer(5), l.buffer(6))))
    return failure();
  emitAttentionStep(l, {{&s, &slots}}, ids);
  return success();
}

/// The AttnSpec of one attention pass over (B, Hq, Hkv, Lq, Lk) rows with
/// mask DILATED(segment, 1, 0), and top-left causal when asked.
LogicalResult segmentPass(GpuLaunch &l, const AttnSpec &base, StringRef dtype,
                          int64_t B, int64_t Hq, int64_t Hkv, int64_t Lq,
                          int64_t Lk, int64_t segment, bool causal,
                          AttnSpec &s) {
  s = base;
  s.B = B;
  s.Hq = Hq;
  s.Hkv = Hkv;
  s.Lq = Lq;
  s.Lk = Lk;
  if (failed(initGeometry(l, s, dtype)))
    return failure();
  s.maskInts.clear();
  if (causal)
    s.maskInts = {ATTUNE_MASK_AND, 2, ATTUNE_MASK_CAUSAL, 0};
  std::vector<int64_t> dil = {ATTUNE_MASK_DILATED, segment, 1, 0};
  s.maskInts.insert(s.maskInts.end(), dil.begin(), dil.end());
  std::string err;
  if (!abi::decodeMask(s.maskInts.data(),
                       static_cast<int64_t>(s.maskInts.size()), s.mask, err))
    return l.error() << "internal: dilated segment mask: " << err;
  return success();
}

/// LongNet branches with rates above 1, by gathering: the rows a branch
/// selects (p % r == h % r, so (p % w) % r == h % r as r divides w) are
/// copied out per offset o = h % r (heads o, o + r, ... share one set of
/// rows), attended densely within segments of w / r compact rows (causal
/// on compact rows is causal on the original ones: the map is monotonic),
/// and merged into one f32 accumulator and running lse at their rows (an
/// online logaddexp, branch after branch), which is the lse-weighted mix
/// the one shared softmax of the mask-based form computes. The mask-based
/// form computes every pair of the tiles a segment covers, r^2 times the
/// pairs a branch selects. A rate-1 branch attends in place and merges at
/// every row.
LogicalResult emitGatheredDilated(GpuLaunch &l, const AttnSpec &base,
                                  StringRef dtype, bool causal, int64_t nb) {
  const int64_t B = base.B, Hq = base.Hq, Hkv = base.Hkv, Lq = base.Lq,
                Lk = base.Lk, D = base.D, Dv = base.Dv;
  const int q = l.buffer(0), kk = l.buffer(1), v = l.buffer(2),
            out = l.buffer(3), lse = l.buffer(4);
  const DType T = l.value(q).dtype;
  const unsigned kT = 128;
  const std::string key = l.launch().kernel + "|" + launchKey(l);
  const int64_t rows = B * Hq * Lq, dv = std::max<int64_t>(Dv, 1);
  // The running mix: an f32 accumulator of normalized outputs and its lse.
  const int acc = l.addScratch(DType::F32, rows * dv);
  const int run = l.addScratch(DType::F32, rows);
  {
    std::vector<int> ids = {acc, run};
    std::string name = l.kernel(
        "dilated_init", key, l.memrefsOf(ids), kT,
        [&](KernelBuilder &k, ArrayRef<Value> a, Value, Value) {
          gridStride(k, rows, kT, [&](Value e) {
            k.store(k.cf32(-INFINITY), a[1], e);
            k.forLoop(k.idx(0), k.idx(Dv), k.idx(1), [&](Value d) {
              k.store(k.cf32(0.0), a[0], k.add(k.mul(e, k.idx(Dv)), d));
            });
          });
        });
    l.step(name, ids, gridFor(rows, kT), kT);
  }
  // Merges a pass's f32 rows (out, lse) into the mix: compact row e of head
  // hi (B x nh heads of Lc rows) is row o + e r of head o + hi r.
  auto merge = [&](const std::string &mkey, int oc, int lc, int64_t nh,
                   int64_t Lc, int64_t o, int64_t r) {
    std::vector<int> ids = {oc, lc, acc, run};
    const int64_t n = B * nh * Lc;
    std::string name = l.kernel(
        "dilated_merge", mkey, l.memrefsOf(ids), kT,
        [&](KernelBuilder &k, ArrayRef<Value> a, Value, Value) {
          gridStride(k, n, kT, [&](Value e) {
            Value bh = k.divu(e, k.idx(Lc)), j = k.remu(e, k.idx(Lc));
            Value b = k.divu(bh, k.idx(nh)), hi = k.remu(bh, k.idx(nh));
            Value h = k.add(k.idx(o), k.mul(hi, k.idx(r)));
            Value row = k.add(k.mul(k.add(k.mul(b, k.idx(Hq)), h), k.idx(Lq)),
                              k.add(k.idx(o), k.mul(j, k.idx(r))));
            Value lr = k.load(a[3], row), li = k.load(a[1], e);
            Value ninf = k.cf32(-INFINITY);
            Value m = k.fmax(lr, li);
            Value none = k.cmpf(arith::CmpFPredicate::OEQ, m, ninf);
            Value safe = k.select(none, k.cf32(0.0), m);
            Value wr = math::ExpOp::create(k.b, k.loc, k.fsub(lr, safe));
            Value wi = math::ExpOp::create(k.b, k.loc, k.fsub(li, safe));
            Value den = k.fadd(wr, wi);
            Value pos = k.cmpf(arith::CmpFPredicate::OGT, den, k.cf32(0.0));
            Value nan = k.cmpf(arith::CmpFPredicate::UNO, den, den);
            // NaN scores give NaN rows, as in the attention kernel.
            Value inv = k.select(pos, k.fdiv(k.cf32(1.0), den),
                                 k.select(nan, k.cf32(NAN), k.cf32(0.0)));
            k.forLoop(k.idx(0), k.idx(Dv), k.idx(1), [&](Value d) {
              Value at = k.add(k.mul(row, k.idx(Dv)), d);
              Value x = k.fadd(k.fmul(wr, k.load(a[2], at)),
                               k.fmul(wi, k.load(a[0], k.add(k.mul(e, k.idx(Dv)), d))));
              k.store(k.fmul(x, inv), a[2], at);
            });
            Value nl = k.fadd(safe, math::LogOp::create(k.b, k.loc, den));
            nl = k.select(pos, nl, ninf);
            k.store(k.select(nan, k.cf32(NAN), nl), a[3], row);
          });
        });
    l.step(name, ids, gridFor(n, kT), kT);
  };
  for (int64_t i = 0; i < nb; ++i) {
    const int64_t w = l.i(ATTUNE_DIL_NUM_FIXED + i);
    const int64_t r = l.i(ATTUNE_DIL_NUM_FIXED + nb + i);
    if (r < 1 || w % r != 0)
      return l.error() << "internal: dilated branch segment " << w
                       << ", rate " << r;
    const std::string bkey = key + "|b" + std::to_string(i);
    if (r == 1) {
      int oc = l.addScratch(DType::F32, rows * dv);
      int lc = l.addScratch(DType::F32, rows);
      AttnSpec s;
      AttnArgs slots;
      if (failed(segmentPass(l, base, dtype, B, Hq, Hkv, Lq, Lk, w, causal, s)))
        return failure();
      std::vector<int> ids = {q, kk, v, oc, lc};
      if (failed(preparePass(l, s, slots, ids, -1, -1)))
        return failure();
      emitAttentionStep(l, {{&s, &slots}}, ids);
      merge(bkey, oc, lc, Hq, Lq, 0, 1);
      continue;
    }
    for (int64_t o = 0; o < std::min(r, Hq); ++o) {
      const int64_t nh = (Hq - o + r - 1) / r;
      const int64_t Lqc = Lq > o ? (Lq - o + r - 1) / r : 0;
      const int64_t Lkc = Lk > o ? (Lk - o + r - 1) / r : 0;
      if (nh == 0 || Lqc == 0 || Lkc == 0)
        continue; // no row or no key: these rows get nothing from the branch
      const std::string gkey = bkey + "o" + std::to_string(o);
      int qc = l.addScratch(T, B * nh * Lqc * std::max<int64_t>(D, 1));
      int kc = l.addScratch(T, B * nh * Lkc * std::max<int64_t>(D, 1));
      int vc = l.addScratch(T, B * nh * Lkc * dv);
      // Gather: compact row j of head hi is row o + j r of head o + hi r
      // (keys and values of its kv head).
      {
        std::vector<int> ids = {q, kk, v, qc, kc, vc};
        const int64_t nQ = B * nh * Lqc, nK = B * nh * Lkc;
        std::string name = l.kernel(
            "dilated_gather", gkey, l.memrefsOf(ids), kT,
            [&](KernelBuilder &k, ArrayRef<Value> a, Value, Value) {
              auto copyRows = [&](int64_t n, int64_t Lc, int64_t Lsrc,
                                  int64_t Hsrc, bool kv,
                                  ArrayRef<std::pair<int, int>> srcDst) {
                gridStride(k, n, kT, [&](Value e) {
                  Value bh = k.divu(e, k.idx(Lc)), j = k.remu(e, k.idx(Lc));
                  Value b = k.divu(bh, k.idx(nh)), hi = k.remu(bh, k.idx(nh));
                  Value h = k.add(k.idx(o), k.mul(hi, k.idx(r)));
                  if (kv)
                    h = k.divu(h, k.idx(Hq / Hkv));
                  Value row = k.add(k.mul(k.add(k.mul(b, k.idx(Hsrc)), h),
                                          k.idx(Lsrc)),
                                    k.add(k.idx(o), k.mul(j, k.idx(r))));
                  for (const std::pair<int, int> &sd : srcDst) {
                    int src = sd.first, dst = sd.second;
                    int64_t width = src == 2 ? Dv : D;
                    k.forLoop(k.idx(0), k.idx(width), k.idx(1), [&](Value d) {
                      k.store(k.load(a[src], k.add(k.mul(row, k.idx(width)), d)),
                              a[dst], k.add(k.mul(e, k.idx(width)), d));
                    });
                  }
                });
              };
              copyRows(nQ, Lqc, Lq, Hq, false, {{0, 3}});
              copyRows(nK, Lkc, Lk, Hkv, true, {{1, 4}, {2, 5}});
            });
        l.step(name, ids, gridFor(std::max(nQ, nK), kT), kT);
      }
      // Attention within segments of w / r compact rows, then the merge.
      int oc = l.addScratch(DType::F32, B * nh * Lqc * dv);
      int lc = l.addScratch(DType::F32, B * nh * Lqc);
      AttnSpec s;
      AttnArgs slots;
      if (failed(segmentPass(l, base, dtype, B, nh, nh, Lqc, Lkc, w / r,
                             causal, s)))
        return failure();
      std::vector<int> ids = {qc, kc, vc, oc, lc};
      if (failed(preparePass(l, s, slots, ids, -1, -1)))
        return failure();
      emitAttentionStep(l, {{&s, &slots}}, ids);
      merge(gkey, oc, lc, nh, Lqc, o, r);
    }
  }
  // The mix, rounded to the output's type, and its lse.
  std::vector<int> ids = {acc, run, out, lse};
  std::string name = l.kernel(
      "dilated_finish", key, l.memrefsOf(ids), kT,
      [&](KernelBuilder &k, ArrayRef<Value> a, Value, Value) {
        gridStride(k, rows, kT, [&](Value e) {
          k.store(k.load(a[1], e), a[3], e);
          k.forLoop(k.idx(0), k.idx(Dv), k.idx(1), [&](Value d) {
            Value at = k.add(k.mul(e, k.idx(Dv)), d);
            k.storeF(k.load(a[0], at), a[2], at);
          });
        });
      });
  l.step(name, ids, gridFor(rows, kT), kT);
  return success();
}

LogicalResult emitDilatedAttention(GpuLaunch &l, StringRef dtype) {
  const auto &L = l.launch();
  AttnSpec base;
  base.B = l.i(ATTUNE_DIL_B);
  base.Hq = l.i(ATTUNE_DIL_HQ);
  base.Hkv = l.i(ATTUNE_DIL_HKV);
  base.Lq = l.i(ATTUNE_DIL_LQ);
  base.Lk = l.i(ATTUNE_DIL_LK);
  base.D = l.i(ATTUNE_DIL_D);
  base.Dv = l.i(ATTUNE_DIL_DV);
  if (failed(initGeometry(l, base, dtype)))
    return failure();
  base.scale = l.f(0);
  int64_t causal = l.i(ATTUNE_DIL_CAUSAL), nb = l.i(ATTUNE_DIL_NUM_BRANCHES);
  if (nb < 1 || static_cast<int64_t>(L.ints.size()) != ATTUNE_DIL_NUM_FIXED + 2 * nb)
    return l.error() << "internal: dilated_attention has " << L.ints.size()
                     << " ints for " << nb << " branches";
  if (base.B == 0 || base.Hq == 0 || base.Lq == 0)
    return emitNoop(l);
  std::vector<int> ids = {l.buffer(0), l.buffer(1), l.buffer(2), l.buffer(3),
                          l.buffer(4)};
  for (int64_t i = 0; i < nb; ++i)
    if (l.i(ATTUNE_DIL_NUM_FIXED + nb + i) > 1)
      return emitGatheredDilated(l, base, dtype, causal != 0, nb);
  // Branch i is the attention of the DILATED mask term (segment w_i, rate
  // r_i, offset h % r_i), and causal k <= q when asked; all branches feed
  // one online softmax, which is LongNet's lse-weighted combination.
  std::vector<AttnSpec> specs(static_cast<size_t>(nb), base);
  std::vector<AttnArgs> slots(static_cast<size_t>(nb));
  for (int64_t i = 0; i < nb; ++i) {
    int64_t seg = l.i(ATTUNE_DIL_NUM_FIXED + i);
    int64_t rate = l.i(ATTUNE_DIL_NUM_FIXED + nb + i);
    AttnSpec &s = specs[static_cast<size_t>(i)];
    std::vector<int64_t> dil = {ATTUNE_MASK_DILATED, seg, rate, -1};
    if (causal)
      s.maskInts = {ATTUNE_MASK_AND, 2, ATTUNE_MASK_CAUSAL, 0};
    s.maskInts.insert(s.maskInts.end(), dil.begin(), dil.end());
    std::string err;
    if (!abi::decodeMask(s.maskInts.data(),
                         static_cast<int64_t>(s.maskInts.size()), s.mask,
                         err))
      return l.error() << "dilated_attention branch " << i << " (segment "
                       << seg << ", rate " << rate << "): " << err;
    if (failed(preparePass(l, s, slots[static_cast<size_t>(i)], ids, -1, -1)))
      return failure();
  }
  std::vector<std::pair<const AttnSpec *, const AttnArgs *>> passes;
  for (int64_t i = 0; i < nb; ++i)
    passes.push_back({&specs[static_cast<size_t>(i)],
                      &slots[static_cast<size_t>(i)]});
  emitAttentionStep(l, passes, ids);
  return success();
}


/// f64 arithmetic with an explicit rounding mode: ptxas never contracts it
/// into FMAs, so hashes match the reference's (no contraction) bit for bit.
static Value f64Op(KernelBuilder &k, const char *op, Value x, Value y) {
  std::string asmStr = std::string(op) + ".rn.f64 $0, $1, $2;";
  return LLVM::InlineAsmOp::create(
             k.b, k.loc, k.b.getF64Type(), ValueRange{x, y}, asmStr,
             "=d,d,d", /*has_side_effects=*/false, /*is_align_stack=*/false,
             LLVM::TailCallKind::None,
             LLVM::AsmDialectAttr::get(k.b.getContext(),
                                       LLVM::AsmDialect::AD_ATT),
             ArrayAttr())
      .getResult(0);
}

LogicalResult emitLshAttention(GpuLaunch &l, StringRef dtype) {
  const int64_t B = l.i(ATTUNE_LSH_B), H = l.i(ATTUNE_LSH_H),
                L = l.i(ATTUNE_LSH_L), D = l.i(ATTUNE_LSH_D),
                Dv = l.i(ATTUNE_LSH_DV), nb = l.i(ATTUNE_LSH_NUM_BUCKETS),
                R = l.i(ATTUNE_LSH_NUM_ROUNDS), cs = l.i(ATTUNE_LSH_CHUNK),
                causal = l.i(ATTUNE_LSH_CAUSAL);
  const uint64_t seed = static_cast<uint64_t>(l.i(ATTUNE_LSH_SEED));
  const int64_t half = nb / 2, BH = B * H, S = BH * R;
  if (BH == 0 || L == 0 || R == 0)
    return emitNoop(l);
  if (cs <= 0 || nb < 1 || (nb > 1 && nb % 2))
    return l.error() << "internal: lsh_attention chunk " << cs << ", buckets "
                     << nb;
  int x = l.buffer(0), v = l.buffer(1), out = l.buffer(2), lse = l.buffer(3),
      rotBuf = l.buffer(4);
  DType T = l.value(x).dtype;
  const unsigned kT = 128;
  std::string key = l.launch().kernel + "|" + launchKey(l);

  // Rotations as f64: the given tensor, or the seed's Philox normals (known
  // now, so they are a constant).
  int rot = -1;
  if (nb > 1 && rotBuf < 0) {
    std::vector<double> r(static_cast<size_t>(R * D * half));
    for (int64_t rr = 0; rr < R; ++rr)
      for (int64_t i = 0; i < D * half; ++i)
        r[static_cast<size_t>(rr * D * half + i)] = abi::philoxNormal(
            seed, static_cast<uint32_t>(rr), static_cast<uint64_t>(i));
    std::vector<uint8_t> bytes(r.size() * 8);
    std::memcpy(bytes.data(), r.data(), bytes.size());
    rot = l.addConstant(DType::F64, bytes);
  } else if (nb > 1) {
    rot = rotBuf;
  }

  // 1. Unit keys and buckets of every round, one thread per (bh, position).
  int kn = l.addScratch(T, BH * L * std::max<int64_t>(D, 1));
  int bucket = l.addScratch(DType::I32, S * L);
  {
    std::vector<int> ids = {x, kn, bucket};
    if (rot >= 0)
      ids.push_back(rot);
    std::vector<MemRefType> types = l.memrefsOf(ids);
    int64_t n = BH * L;
    std::string name = l.kernel(
        "lsh_hash", key + (rot == rotBuf ? "|given" : "|seed"), types, kT,
        [&](KernelBuilder &k, ArrayRef<Value> a, Value, Value) {
          gridStride(k, n, kT, [&](Value i) {
            Value bh = k.divu(i, k.idx(L)), pos = k.remu(i, k.idx(L));
            Value rowBase = k.mul(i, k.idx(D));
            Value ss = k.forLoop(k.idx(0), k.idx(D), k.idx(1),
                                 ValueRange{k.cf32(0.0)},
                                 [&](Value d, ValueRange it)
                                     -> SmallVector<Value> {
                                   Value xv = k.loadF(a[0], k.add(rowBase, d));
                                   return {k.fadd(it[0], k.fmul(xv, xv))};
                                 })[0];
            Value norm = k.sqrtRn(ss);
            Value zero = k.cmpf(arith::CmpFPredicate::OEQ, norm, k.cf32(0.0));
            k.forLoop(k.idx(0), k.idx(D), k.idx(1), [&](Value d) {
              Value xv = k.loadF(a[0], k.add(rowBase, d));
              k.storeF(k.select(zero, k.cf32(0.0), k.fdiv(xv, norm)), a[1],
                       k.add(rowBase, d));
            });
            for (int64_t r = 0; r < R; ++r) {
              Value bk = k.idx(0);
              if (nb > 1) {
                Type f64 = k.b.getF64Type();
                Value ninf = arith::ConstantOp::create(
                    k.b, k.loc, f64, k.b.getF64FloatAttr(-INFINITY));
                Value zero64 = arith::ConstantOp::create(
                    k.b, k.loc, f64, k.b.getF64FloatAttr(0.0));
                // Best of +proj (indices 0..half) and of -proj, first
                // maximum winning in each; +proj wins ties.
                auto best = k.forLoop(
                    k.idx(0), k.idx(half), k.idx(1),
                    ValueRange{ninf, k.idx(0), ninf, k.idx(0)},
                    [&](Value j, ValueRange it) -> SmallVector<Value> {
                      Value proj = k.forLoop(
                          k.idx(0), k.idx(D), k.idx(1), ValueRange{zero64},
                          [&](Value d, ValueRange acc) -> SmallVector<Value> {
                            Value xd = arith::ExtFOp::create(
                                k.b, k.loc, f64,
                                k.loadF(a[0], k.add(rowBase, d)));
                            Value ri = k.add(
                                k.mul(k.add(k.mul(k.idx(r), k.idx(D)), d),
                                      k.idx(half)),
                                j);
                            Value rv = k.load(a[3], ri);
                            if (!rv.getType().isF64())
                              rv = arith::ExtFOp::create(k.b, k.loc, f64,
                                                         k.toF32(rv));
                            return {f64Op(k, "add", acc[0],
                                          f64Op(k, "mul", xd, rv))};
                          })[0];
                      Value neg = arith::NegFOp::create(k.b, k.loc, proj);
                      Value up = k.cmpf(arith::CmpFPredicate::OGT, proj, it[0]);
                      Value un = k.cmpf(arith::CmpFPredicate::OGT, neg, it[2]);
                      return {k.select(up, proj, it[0]),
                              k.select(up, j, it[1]),
                              k.select(un, neg, it[2]),
                              k.select(un, j, it[3])};
                    });
                Value negWins =
                    k.cmpf(arith::CmpFPredicate::OGT, best[2], best[0]);
                bk = k.select(negWins, k.add(best[3], k.idx(half)), best[1]);
              }
              Value seg = k.add(k.mul(bh, k.idx(R)), k.idx(r));
              k.store(k.toI32(bk), a[2], k.add(k.mul(seg, k.idx(L)), pos));
            }
          });
        });
    l.step(name, ids, gridFor(n, kT), kT);
  }

  // 2. Stable counting sort by bucket per (bh, round), the inverse
  //    permutation, and whether each sorted query is alone.
  const int64_t nC = (L + cs - 1) / cs;
  int order = l.addScratch(DType::I32, S * L);
  int inv = l.addScratch(DType::I32, S * L);
  int cmin = l.addScratch(DType::I32, S * nC);
  int alone = l.addScratch(DType::U8, S * L);
  // The smallest position of each chunk, then whether each sorted query
  // is alone in its key set (own chunk and the previous one), for segment
  // `seg`, with threads starting at `first` and striding by `stride`.
  auto chunkInfo = [&](KernelBuilder &k, Value seg, Value orderA, Value cminA,
                       Value aloneA, Value first, int64_t stride,
                       bool barrierBetween) {
    Value lb = k.mul(seg, k.idx(L));
    Value chb = k.mul(seg, k.idx(nC));
    k.forLoop(first, k.idx(nC), k.idx(stride), [&](Value c) {
      Value lo = k.mul(c, k.idx(cs));
      Value hi = k.mins(k.add(lo, k.idx(cs)), k.idx(L));
      Value m = k.forLoop(lo, hi, k.idx(1), ValueRange{k.ci32(INT32_MAX)},
                          [&](Value i, ValueRange it) -> SmallVector<Value> {
                            return {k.mins(it[0],
                                           k.load(orderA, k.add(lb, i)))};
                          })[0];
      k.store(m, cminA, k.add(chb, c));
    });
    if (barrierBetween)
      k.barrier();
    k.forLoop(first, k.idx(L), k.idx(stride), [&](Value i) {
      Value c = k.divu(i, k.idx(cs));
      Value prev = k.select(k.eq(c, k.idx(0)), k.idx(nC - 1),
                            k.sub(c, k.idx(1)));
      Value isAlone;
      if (causal) {
        Value m = k.mins(k.load(cminA, k.add(chb, c)),
                         k.load(cminA, k.add(chb, prev)));
        isAlone = k.eq(k.load(orderA, k.add(lb, i)), m);
      } else {
        // The key set is the chunk and the previous one.
        Value lo = k.mul(c, k.idx(cs));
        Value size = k.sub(k.mins(k.add(lo, k.idx(cs)), k.idx(L)), lo);
        Value plo = k.mul(prev, k.idx(cs));
        Value psize = k.sub(k.mins(k.add(plo, k.idx(cs)), k.idx(L)), plo);
        size = k.add(size, k.select(k.ne(prev, c), psize, k.idx(0)));
        isAlone = k.eq(size, k.idx(1));
      }
      k.store(arith::ExtUIOp::create(k.b, k.loc, k.b.getI8Type(), isAlone),
              aloneA, k.add(lb, i));
    });
  };
  // One CTA of P threads per segment when the (bucket, thread) counters fit
  // in static shared memory: thread t counts the buckets of its contiguous
  // block of positions, an exclusive scan in bucket-major order gives every
  // (bucket, block) its first slot, and each thread scatters its block in
  // order, so the sort stays stable. Otherwise (thousands of buckets) one
  // thread per segment runs the serial counting sort.
  constexpr int64_t kSortCounters = 11264; // i32s: 44 KiB of shared memory
  int64_t P = 256;
  while (P > 32 && P * nb > kSortCounters)
    P /= 2;
  if (P * nb <= kSortCounters && S <= INT32_MAX) {
    std::vector<int> ids = {bucket, order, inv, cmin, alone};
    std::vector<MemRefType> types = l.memrefsOf(ids);
    std::string name = l.kernel(
        "lsh_sort", key + "|parallel", types, static_cast<unsigned>(P),
        [&](KernelBuilder &k, ArrayRef<Value> a, Value, Value) {
          Value cnt = workgroupArray(k, k.i32(), P * nb);
          Value sums = workgroupArray(k, k.i32(), P);
          Value t = k.tid(), seg = k.bid();
          Value lb = k.mul(seg, k.idx(L));
          int64_t per = (L + P - 1) / P;
          Value lo = k.mins(k.mul(t, k.idx(per)), k.idx(L));
          Value hi = k.mins(k.add(lo, k.idx(per)), k.idx(L));
          Value c0 = k.ci32(0), c1 = k.ci32(1);
          // The counter of (bucket of position i, this thread).
          auto counter = [&](Value i) {
            Value bk = k.toIndex(k.load(a[0], k.add(lb, i)));
            return k.add(k.mul(bk, k.idx(P)), t);
          };
          k.forLoop(t, k.idx(P * nb), k.idx(P),
                    [&](Value e) { k.store(c0, cnt, e); });
          k.barrier();
          k.forLoop(lo, hi, k.idx(1), [&](Value i) {
            Value at = counter(i);
            k.store(k.add(k.load(cnt, at), c1), cnt, at);
          });
          k.barrier();
          // Exclusive scan of the P * nb counters: each thread sums a run
          // of nb, thread 0 scans the P sums, each thread rewrites its run.
          Value r0 = k.mul(t, k.idx(nb)), r1 = k.add(r0, k.idx(nb));
          Value part = k.forLoop(r0, r1, k.idx(1), ValueRange{c0},
                                 [&](Value e, ValueRange it)
                                     -> SmallVector<Value> {
                                   return {k.add(it[0], k.load(cnt, e))};
                                 })[0];
          k.store(part, sums, t);
          k.barrier();
          k.ifThen(k.eq(t, k.idx(0)), [&] {
            k.forLoop(k.idx(0), k.idx(P), k.idx(1), ValueRange{c0},
                      [&](Value j, ValueRange it) -> SmallVector<Value> {
                        Value v = k.load(sums, j);
                        k.store(it[0], sums, j);
                        return {k.add(it[0], v)};
                      });
          });
          k.barrier();
          k.forLoop(r0, r1, k.idx(1), ValueRange{k.load(sums, t)},
                    [&](Value e, ValueRange it) -> SmallVector<Value> {
                      Value v = k.load(cnt, e);
                      k.store(it[0], cnt, e);
                      return {k.add(it[0], v)};
                    });
          k.barrier();
          k.forLoop(lo, hi, k.idx(1), [&](Value i) {
            Value at = counter(i);
            Value slot = k.load(cnt, at);
            k.store(k.add(slot, c1), cnt, at);
            k.store(k.toI32(i), a[1], k.add(lb, k.toIndex(slot)));
            k.store(slot, a[2], k.add(lb, i));
          });
          k.barrier(); // the CTA's order writes before the chunk minima
          chunkInfo(k, seg, a[1], a[3], a[4], t, P, /*barrierBetween=*/true);
        });
    l.step(name, ids, {static_cast<uint32_t>(S), 1, 1},
           static_cast<unsigned>(P));
  } else {
    int counts = l.addScratch(DType::I32, S * (nb + 1));
    std::vector<int> ids = {bucket, counts, order, inv, cmin, alone};
    std::vector<MemRefType> types = l.memrefsOf(ids);
    std::string name = l.kernel(
        "lsh_sort", key, types, 32,
        [&](KernelBuilder &k, ArrayRef<Value> a, Value, Value) {
          gridStride(k, S, 32, [&](Value seg) {
            Value cb = k.mul(seg, k.idx(nb + 1)), lb = k.mul(seg, k.idx(L));
            Value c0 = k.ci32(0), c1 = k.ci32(1);
            k.forLoop(k.idx(0), k.idx(nb + 1), k.idx(1),
                      [&](Value j) { k.store(c0, a[1], k.add(cb, j)); });
            k.forLoop(k.idx(0), k.idx(L), k.idx(1), [&](Value i) {
              Value at = k.add(k.add(cb, k.toIndex(k.load(a[0], k.add(lb, i)))),
                               k.idx(1));
              k.store(k.add(k.load(a[1], at), c1), a[1], at);
            });
            k.forLoop(k.idx(0), k.idx(nb), k.idx(1), [&](Value j) {
              Value at = k.add(cb, j);
              Value nx = k.add(at, k.idx(1));
              k.store(k.add(k.load(a[1], nx), k.load(a[1], at)), a[1], nx);
            });
            k.forLoop(k.idx(0), k.idx(L), k.idx(1), [&](Value i) {
              Value at = k.add(cb, k.toIndex(k.load(a[0], k.add(lb, i))));
              Value slot = k.load(a[1], at);
              k.store(k.add(slot, c1), a[1], at);
              k.store(k.toI32(i), a[2], k.add(lb, k.toIndex(slot)));
              k.store(slot, a[3], k.add(lb, i));
            });
            chunkInfo(k, seg, a[2], a[4], a[5], k.idx(0), 1,
                      /*barrierBetween=*/false);
          });
        });
    l.step(name, ids, gridFor(S, 32), 32);
  }

  // 3. Queries, unit keys and values in sorted order.
  int qs = l.addScratch(T, S * L * std::max<int64_t>(D, 1));
  int ks = l.addScratch(T, S * L * std::max<int64_t>(D, 1));
  int vs = l.addScratch(T, S * L * std::max<int64_t>(Dv, 1));
  {
    std::vector<int> ids = {x, kn, v, order, qs, ks, vs};
    std::vector<MemRefType> types = l.memrefsOf(ids);
    int64_t n = S * L;
    std::string name = l.kernel(
        "lsh_gather", key, types, kT,
        [&](KernelBuilder &k, ArrayRef<Value> a, Value, Value) {
          gridStride(k, n, kT, [&](Value i) {
            Value seg = k.divu(i, k.idx(L));
            Value bh = k.divu(seg, k.idx(R));
            Value src = k.add(k.mul(bh, k.idx(L)), k.toIndex(k.load(a[3], i)));
            k.forLoop(k.idx(0), k.idx(D), k.idx(1), [&](Value d) {
              Value from = k.add(k.mul(src, k.idx(D)), d);
              Value to = k.add(k.mul(i, k.idx(D)), d);
              k.store(k.load(a[0], from), a[4], to);
              k.store(k.load(a[1], from), a[5], to);
            });
            k.forLoop(k.idx(0), k.idx(Dv), k.idx(1), [&](Value d) {
              k.store(k.load(a[2], k.add(k.mul(src, k.idx(Dv)), d)), a[6],
                      k.add(k.mul(i, k.idx(Dv)), d));
            });
          });
        });
    l.step(name, ids, gridFor(n, kT), kT);
  }

  // 4. Chunked attention of every (bh, round) in sorted order, f32 out.
  int outS = l.addScratch(DType::F32, S * L * std::max<int64_t>(Dv, 1));
  int lseS = l.addScratch(DType::F32, S * L);
  AttnSpec s;
  s.B = S;
  s.Hq = s.Hkv = 1;
  s.Lq = s.Lk = L;
  s.D = D;
  s.Dv = Dv;
  if (failed(initGeometry(l, s, dtype)))
    return failure();
  s.scale = l.f(0);
  s.lsh = true;
  s.lshCausal = causal != 0;
  s.lshChunk = cs;
  std::vector<int> ids = {qs, ks, vs, outS, lseS};
  AttnArgs slots;
  slots.lshPos = static_cast<int>(ids.size());
  ids.push_back(order);
  slots.lshAlone = static_cast<int>(ids.size());
  ids.push_back(alone);
  if (failed(preparePass(l, s, slots, ids, -1, -1)))
    return failure();
  emitAttentionStep(l, {{&s, &slots}}, ids);

  // 5. Unsort and combine the rounds by their lse.
  {
    std::vector<int> ids2 = {outS, lseS, inv, out, lse};
    std::vector<MemRefType> types = l.memrefsOf(ids2);
    int64_t n = BH * L;
    std::string name = l.kernel(
        "lsh_combine", key, types, kT,
        [&](KernelBuilder &k, ArrayRef<Value> a, Value, Value) {
          gridStride(k, n, kT, [&](Value i) {
            Value bh = k.divu(i, k.idx(L)), pos = k.remu(i, k.idx(L));
            auto rowOf = [&](int64_t r) {
              Value seg = k.add(k.mul(bh, k.idx(R)), k.idx(r));
              Value si = k.toIndex(
                  k.load(a[2], k.add(k.mul(seg, k.idx(L)), pos)));
              return k.add(k.mul(seg, k.idx(L)), si);
            };
            Value m = k.cf32(-INFINITY);
            for (int64_t r = 0; r < R; ++r)
              m = k.fmax(m, k.load(a[1], rowOf(r)));
            Value isInf = k.cmpf(arith::CmpFPredicate::OEQ, m,
                                 k.cf32(-INFINITY));
            Value safe = k.select(isInf, k.cf32(0.0), m);
            SmallVector<Value> w;
            Value den = k.cf32(0.0);
            for (int64_t r = 0; r < R; ++r) {
              w.push_back(math::ExpOp::create(
                  k.b, k.loc, k.fsub(k.load(a[1], rowOf(r)), safe)));
              den = k.fadd(den, w.back());
            }
            Value pos0 = k.cmpf(arith::CmpFPredicate::OGT, den, k.cf32(0.0));
            Value inv0 = k.select(pos0, k.fdiv(k.cf32(1.0), den), k.cf32(0.0));
            k.forLoop(k.idx(0), k.idx(Dv), k.idx(1), [&](Value d) {
              Value acc = k.cf32(0.0);
              for (int64_t r = 0; r < R; ++r)
                acc = k.fadd(acc, k.fmul(w[static_cast<size_t>(r)],
                                         k.load(a[0], k.add(k.mul(rowOf(r),
                                                                  k.idx(Dv)),
                                                            d))));
              k.storeF(k.fmul(acc, inv0), a[3],
                       k.add(k.mul(i, k.idx(Dv)), d));
            });
            Value l = k.fadd(safe, math::LogOp::create(k.b, k.loc, den));
            l = k.select(pos0, l, k.cf32(-INFINITY));
            Value nan = k.cmpf(arith::CmpFPredicate::UNO, den, den);
            k.store(k.select(nan, k.cf32(NAN), l), a[4], i);
          });
        });
    l.step(name, ids2, gridFor(n, kT), kT);
  }
  return success();
}

} // namespace attune::codegen::nvptx
