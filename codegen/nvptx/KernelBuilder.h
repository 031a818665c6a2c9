//===- KernelBuilder.h - Helpers for emitting gpu.func kernels --*- C++ -*-===//
//
// The cuda target writes every kernel as a gpu.func specialized for one
// launch: shapes, strides and attributes are constants, buffers are static
// 1-D memrefs in global memory (one bare pointer each after lowering), and
// the GpuABI.h trailing parameters (error record, launch index) come last.
// KernelBuilder wraps an OpBuilder with the arithmetic, memory and
// reduction helpers the families share, so that a family reads as the
// algorithm rather than as op construction.
//
//===----------------------------------------------------------------------===//

#ifndef ATTUNE_CODEGEN_NVPTX_KERNELBUILDER_H
#define ATTUNE_CODEGEN_NVPTX_KERNELBUILDER_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/Builders.h"

#include <array>
#include <functional>

namespace attune::codegen::nvptx {

/// Address spaces of the NVPTX backend.
inline constexpr unsigned kGlobal = 1;

class KernelBuilder {
public:
  KernelBuilder(mlir::OpBuilder &b, mlir::Location loc) : b(b), loc(loc) {}

  mlir::OpBuilder &b;
  mlir::Location loc;

  // --- types --------------------------------------------------------------
  mlir::Type f32() { return b.getF32Type(); }
  mlir::Type i1() { return b.getI1Type(); }
  mlir::Type i32() { return b.getI32Type(); }
  mlir::Type i64() { return b.getI64Type(); }
  mlir::Type index() { return b.getIndexType(); }

  // --- constants ----------------------------------------------------------
  mlir::Value idx(int64_t v) {
    return mlir::arith::ConstantIndexOp::create(b, loc, v);
  }
  mlir::Value ci32(int64_t v) {
    return mlir::arith::ConstantIntOp::create(b, loc, v, 32);
  }
  mlir::Value ci64(int64_t v) {
    return mlir::arith::ConstantIntOp::create(b, loc, v, 64);
  }
  mlir::Value cbool(bool v) {
    return mlir::arith::ConstantIntOp::create(b, loc, v ? 1 : 0, 1);
  }
  mlir::Value cf32(double v) {
    return mlir::arith::ConstantFloatOp::create(
        b, loc, b.getF32Type(), llvm::APFloat(static_cast<float>(v)));
  }

  // --- integer (index or iN) arithmetic ----------------------------------
  mlir::Value add(mlir::Value x, mlir::Value y) {
    return mlir::arith::AddIOp::create(b, loc, x, y);
  }
  mlir::Value sub(mlir::Value x, mlir::Value y) {
    return mlir::arith::SubIOp::create(b, loc, x, y);
  }
  mlir::Value mul(mlir::Value x, mlir::Value y) {
    return mlir::arith::MulIOp::create(b, loc, x, y);
  }
  mlir::Value divu(mlir::Value x, mlir::Value y) {
    return mlir::arith::DivUIOp::create(b, loc, x, y);
  }
  mlir::Value remu(mlir::Value x, mlir::Value y) {
    return mlir::arith::RemUIOp::create(b, loc, x, y);
  }
  mlir::Value divs(mlir::Value x, mlir::Value y) {
    return mlir::arith::DivSIOp::create(b, loc, x, y);
  }
  mlir::Value rems(mlir::Value x, mlir::Value y) {
    return mlir::arith::RemSIOp::create(b, loc, x, y);
  }
  mlir::Value mins(mlir::Value x, mlir::Value y) {
    return mlir::arith::MinSIOp::create(b, loc, x, y);
  }
  mlir::Value maxs(mlir::Value x, mlir::Value y) {
    return mlir::arith::MaxSIOp::create(b, loc, x, y);
  }
  mlir::Value xori(mlir::Value x, mlir::Value y) {
    return mlir::arith::XOrIOp::create(b, loc, x, y);
  }
  mlir::Value andi(mlir::Value x, mlir::Value y) {
    return mlir::arith::AndIOp::create(b, loc, x, y);
  }
  mlir::Value ori(mlir::Value x, mlir::Value y) {
    return mlir::arith::OrIOp::create(b, loc, x, y);
  }
  mlir::Value shli(mlir::Value x, mlir::Value y) {
    return mlir::arith::ShLIOp::create(b, loc, x, y);
  }
  mlir::Value cmpi(mlir::arith::CmpIPredicate p, mlir::Value x, mlir::Value y) {
    return mlir::arith::CmpIOp::create(b, loc, p, x, y);
  }
  mlir::Value lt(mlir::Value x, mlir::Value y) {
    return cmpi(mlir::arith::CmpIPredicate::slt, x, y);
  }
  mlir::Value le(mlir::Value x, mlir::Value y) {
    return cmpi(mlir::arith::CmpIPredicate::sle, x, y);
  }
  mlir::Value ge(mlir::Value x, mlir::Value y) {
    return cmpi(mlir::arith::CmpIPredicate::sge, x, y);
  }
  mlir::Value eq(mlir::Value x, mlir::Value y) {
    return cmpi(mlir::arith::CmpIPredicate::eq, x, y);
  }
  mlir::Value ne(mlir::Value x, mlir::Value y) {
    return cmpi(mlir::arith::CmpIPredicate::ne, x, y);
  }
  mlir::Value select(mlir::Value c, mlir::Value x, mlir::Value y) {
    return mlir::arith::SelectOp::create(b, loc, c, x, y);
  }
  mlir::Value toIndex(mlir::Value v) {
    if (v.getType().isIndex())
      return v;
    return mlir::arith::IndexCastOp::create(b, loc, b.getIndexType(), v);
  }
  mlir::Value toI64(mlir::Value v) {
    if (v.getType().isInteger(64))
      return v;
    if (v.getType().isIndex())
      return mlir::arith::IndexCastOp::create(b, loc, i64(), v);
    return mlir::arith::ExtSIOp::create(b, loc, i64(), v);
  }
  mlir::Value toI32(mlir::Value v) {
    if (v.getType().isInteger(32))
      return v;
    if (v.getType().isIndex())
      return mlir::arith::IndexCastOp::create(b, loc, i32(), v);
    return mlir::arith::TruncIOp::create(b, loc, i32(), v);
  }

  // --- float arithmetic (f32) ----------------------------------------------
  mlir::Value fadd(mlir::Value x, mlir::Value y) {
    return mlir::arith::AddFOp::create(b, loc, x, y);
  }
  mlir::Value fsub(mlir::Value x, mlir::Value y) {
    return mlir::arith::SubFOp::create(b, loc, x, y);
  }
  mlir::Value fmul(mlir::Value x, mlir::Value y) {
    return mlir::arith::MulFOp::create(b, loc, x, y);
  }
  mlir::Value fdiv(mlir::Value x, mlir::Value y) {
    return mlir::arith::DivFOp::create(b, loc, x, y);
  }
  mlir::Value fma(mlir::Value x, mlir::Value y, mlir::Value z) {
    return mlir::math::FmaOp::create(b, loc, x, y, z);
  }
  /// IEEE maximum with NaN propagation (arith.maximumf).
  mlir::Value fmax(mlir::Value x, mlir::Value y) {
    return mlir::arith::MaximumFOp::create(b, loc, x, y);
  }
  mlir::Value fmin(mlir::Value x, mlir::Value y) {
    return mlir::arith::MinimumFOp::create(b, loc, x, y);
  }
  mlir::Value fneg(mlir::Value x) {
    return mlir::arith::NegFOp::create(b, loc, x);
  }
  mlir::Value cmpf(mlir::arith::CmpFPredicate p, mlir::Value x, mlir::Value y) {
    return mlir::arith::CmpFOp::create(b, loc, p, x, y);
  }
  mlir::Value sitofp(mlir::Value v) {
    return mlir::arith::SIToFPOp::create(b, loc, f32(), v);
  }
  /// exp2 with PTX's ex2.approx.ftz (the FlashAttention softmax's exp).
  mlir::Value exp2Approx(mlir::Value x) {
    return mlir::LLVM::InlineAsmOp::create(
               b, loc, f32(), mlir::ValueRange{x},
               "ex2.approx.ftz.f32 $0, $1;", "=f,f",
               /*has_side_effects=*/false, /*is_align_stack=*/false,
               mlir::LLVM::TailCallKind::None,
               mlir::LLVM::AsmDialectAttr::get(
                   b.getContext(), mlir::LLVM::AsmDialect::AD_ATT),
               mlir::ArrayAttr())
        .getResult(0);
  }

  /// Correctly rounded sqrt (sqrt.rn.f32), as the CPU's std::sqrt;
  /// math.sqrt would become libdevice's approximate sqrtf.
  mlir::Value sqrtRn(mlir::Value x) {
    return mlir::LLVM::InlineAsmOp::create(
               b, loc, f32(), mlir::ValueRange{x}, "sqrt.rn.f32 $0, $1;",
               "=f,f", /*has_side_effects=*/false, /*is_align_stack=*/false,
               mlir::LLVM::TailCallKind::None,
               mlir::LLVM::AsmDialectAttr::get(
                   b.getContext(), mlir::LLVM::AsmDialect::AD_ATT),
               mlir::ArrayAttr())
        .getResult(0);
  }

  // --- conversions between storage and f32 ---------------------------------
  /// f32 value of a float element of any storage type.
  mlir::Value toF32(mlir::Value v) {
    if (v.getType().isF32())
      return v;
    if (v.getType().isF64())
      return mlir::arith::TruncFOp::create(b, loc, f32(), v);
    return mlir::arith::ExtFOp::create(b, loc, f32(), v);
  }
  /// f32 to a float storage type, rounding to nearest even.
  mlir::Value fromF32(mlir::Value v, mlir::Type t) {
    if (t.isF32())
      return v;
    if (t.isF64())
      return mlir::arith::ExtFOp::create(b, loc, t, v);
    return mlir::arith::TruncFOp::create(b, loc, t, v);
  }

  // --- memory ----------------------------------------------------------------
  mlir::Value load(mlir::Value memref, mlir::Value i) {
    return mlir::memref::LoadOp::create(b, loc, memref, mlir::ValueRange{i});
  }
  mlir::Value load(mlir::Value memref, mlir::ValueRange is) {
    return mlir::memref::LoadOp::create(b, loc, memref, is);
  }
  void store(mlir::Value v, mlir::Value memref, mlir::Value i) {
    mlir::memref::StoreOp::create(b, loc, v, memref, mlir::ValueRange{i});
  }
  void store(mlir::Value v, mlir::Value memref, mlir::ValueRange is) {
    mlir::memref::StoreOp::create(b, loc, v, memref, is);
  }
  mlir::Type elementType(mlir::Value memref) {
    return llvm::cast<mlir::MemRefType>(memref.getType()).getElementType();
  }
  /// Loads a float element as f32.
  mlir::Value loadF(mlir::Value memref, mlir::Value i) {
    return toF32(load(memref, i));
  }
  /// Stores an f32 value, rounded to the memref's float element type.
  void storeF(mlir::Value v, mlir::Value memref, mlir::Value i) {
    store(fromF32(v, elementType(memref)), memref, i);
  }
  /// Loads an integer element (i32 or i64) as i64.
  mlir::Value loadI64(mlir::Value memref, mlir::Value i) {
    return toI64(load(memref, i));
  }

  // --- tensor-core fragments ------------------------------------------------
  /// The four 32-bit registers of an ldmatrix .x4 from an f16-typed 2-D
  /// view of shared memory: lane l gives the address of row `row`, column
  /// `col` (its own row of one of the four 8 x 8 matrices).
  std::array<mlir::Value, 4> ldmatrix4(mlir::Value smem, mlir::Value row,
                                       mlir::Value col, bool trans) {
    mlir::Type res = mlir::VectorType::get({4, 2}, b.getF16Type());
    mlir::Value m = mlir::nvgpu::LdMatrixOp::create(
        b, loc, res, smem, mlir::ValueRange{row, col}, b.getBoolAttr(trans),
        b.getI32IntegerAttr(4));
    std::array<mlir::Value, 4> r;
    for (int i = 0; i < 4; ++i) {
      mlir::Value v2 = mlir::vector::ExtractOp::create(
          b, loc, m, llvm::ArrayRef<int64_t>{i});
      mlir::Value w = mlir::vector::BitCastOp::create(
          b, loc, mlir::VectorType::get({1}, i32()), v2);
      r[i] = mlir::vector::ExtractOp::create(b, loc, w,
                                             llvm::ArrayRef<int64_t>{0});
    }
    return r;
  }
  /// A typed view at byte 0 of a workgroup i8 array (memref.view).
  mlir::Value sharedView(mlir::Value bytes, llvm::ArrayRef<int64_t> shape,
                         mlir::Type element) {
    auto space = mlir::gpu::AddressSpaceAttr::get(
        b.getContext(), mlir::gpu::AddressSpace::Workgroup);
    auto t = mlir::MemRefType::get(shape, element,
                                   mlir::MemRefLayoutAttrInterface(), space);
    return mlir::memref::ViewOp::create(b, loc, t, bytes, idx(0),
                                        mlir::ValueRange{});
  }

  // --- thread geometry (index) ---------------------------------------------
  mlir::Value tid() {
    return mlir::gpu::ThreadIdOp::create(b, loc, mlir::gpu::Dimension::x);
  }
  mlir::Value bid(mlir::gpu::Dimension d = mlir::gpu::Dimension::x) {
    return mlir::gpu::BlockIdOp::create(b, loc, d);
  }
  void barrier() { mlir::gpu::BarrierOp::create(b, loc); }

  // --- control flow ----------------------------------------------------------
  /// for (i = lo; i < hi; i += step) body(i)
  void forLoop(mlir::Value lo, mlir::Value hi, mlir::Value step,
               const std::function<void(mlir::Value)> &body) {
    auto loop = mlir::scf::ForOp::create(b, loc, lo, hi, step);
    mlir::OpBuilder::InsertionGuard g(b);
    b.setInsertionPoint(loop.getBody()->getTerminator());
    body(loop.getInductionVar());
  }
  /// A loop carrying values: body(i, iters) returns the next iters.
  llvm::SmallVector<mlir::Value>
  forLoop(mlir::Value lo, mlir::Value hi, mlir::Value step,
          mlir::ValueRange init,
          const std::function<llvm::SmallVector<mlir::Value>(
              mlir::Value, mlir::ValueRange)> &body) {
    auto loop = mlir::scf::ForOp::create(b, loc, lo, hi, step, init);
    {
      mlir::OpBuilder::InsertionGuard g(b);
      mlir::Block *blk = loop.getBody();
      if (!blk->empty())
        blk->getTerminator()->erase();
      b.setInsertionPointToEnd(blk);
      llvm::SmallVector<mlir::Value> next =
          body(loop.getInductionVar(), loop.getRegionIterArgs());
      mlir::scf::YieldOp::create(b, loc, next);
    }
    return llvm::SmallVector<mlir::Value>(loop.getResults());
  }
  void ifThen(mlir::Value cond, const std::function<void()> &then) {
    auto op = mlir::scf::IfOp::create(b, loc, cond, /*withElse=*/false);
    mlir::OpBuilder::InsertionGuard g(b);
    b.setInsertionPoint(op.thenBlock()->getTerminator());
    then();
  }
  /// if/else yielding values of `types`.
  llvm::SmallVector<mlir::Value>
  ifElse(mlir::Value cond, mlir::TypeRange types,
         const std::function<llvm::SmallVector<mlir::Value>()> &then,
         const std::function<llvm::SmallVector<mlir::Value>()> &otherwise) {
    auto op = mlir::scf::IfOp::create(b, loc, types, cond, /*withElse=*/true);
    {
      mlir::OpBuilder::InsertionGuard g(b);
      b.setInsertionPointToStart(op.thenBlock());
      if (!op.thenBlock()->empty() &&
          op.thenBlock()->back().hasTrait<mlir::OpTrait::IsTerminator>())
        op.thenBlock()->back().erase();
      b.setInsertionPointToEnd(op.thenBlock());
      mlir::scf::YieldOp::create(b, loc, then());
      if (!op.elseBlock()->empty() &&
          op.elseBlock()->back().hasTrait<mlir::OpTrait::IsTerminator>())
        op.elseBlock()->back().erase();
      b.setInsertionPointToEnd(op.elseBlock());
      mlir::scf::YieldOp::create(b, loc, otherwise());
    }
    return llvm::SmallVector<mlir::Value>(op.getResults());
  }

  // --- warp and block reductions (f32, fixed order: bitwise repeatable) ----
  mlir::Value shuffleXor(mlir::Value v, int offset) {
    auto op = mlir::gpu::ShuffleOp::create(b, loc, v, ci32(offset), ci32(32),
                                           mlir::gpu::ShuffleMode::XOR);
    return op.getShuffleResult();
  }
  mlir::Value warpSum(mlir::Value v) {
    for (int o = 16; o >= 1; o /= 2)
      v = fadd(v, shuffleXor(v, o));
    return v;
  }
  mlir::Value warpMax(mlir::Value v) {
    for (int o = 16; o >= 1; o /= 2)
      v = fmax(v, shuffleXor(v, o));
    return v;
  }
  /// Every thread of a block of `threads` (a multiple of 32, at most 1024)
  /// gets the sum (or max) of `v` over the block. `scratch` is a
  /// workgroup memref<32xf32>; the call begins and ends with a barrier.
  mlir::Value blockReduce(mlir::Value v, bool isMax, int threads,
                          mlir::Value scratch) {
    v = isMax ? warpMax(v) : warpSum(v);
    int warps = threads / 32;
    if (warps == 1)
      return v;
    mlir::Value t = tid();
    mlir::Value lane = remu(t, idx(32)), warp = divu(t, idx(32));
    barrier();
    ifThen(eq(lane, idx(0)), [&] { store(v, scratch, warp); });
    barrier();
    mlir::Value w = select(lt(lane, idx(warps)), load(scratch, lane),
                           isMax ? cf32(-INFINITY) : cf32(0.0));
    w = isMax ? warpMax(w) : warpSum(w);
    barrier();
    return w;
  }
};

} // namespace attune::codegen::nvptx

#endif // ATTUNE_CODEGEN_NVPTX_KERNELBUILDER_H
