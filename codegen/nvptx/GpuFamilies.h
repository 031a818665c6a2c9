//===- GpuFamilies.h - The cuda target's kernel families --------*- C++ -*-===//
//
// Each family turns one launch of the target-independent schedule (its
// parameters are those of include/attune/abi/Families.h) into GPU steps. A
// family builds its kernels through GpuLaunch::kernel, which specializes a
// gpu.func for the launch and reuses an identical one when another launch
// asks for the same specialization.
//
//===----------------------------------------------------------------------===//

#ifndef ATTUNE_CODEGEN_NVPTX_GPUFAMILIES_H
#define ATTUNE_CODEGEN_NVPTX_GPUFAMILIES_H

#include "KernelBuilder.h"

#include "attune/artifact/Artifact.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Support/LogicalResult.h"

#include <array>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace attune::codegen::nvptx {

/// Parameters and values of one launch, and the module kernels go into.
class GpuLaunch {
public:
  GpuLaunch(mlir::gpu::GPUModuleOp module, artifact::FunctionDesc &fn,
            size_t launchIndex, mlir::Operation *op,
            std::vector<uint8_t> &constants,
            std::map<std::string, std::string> &kernelNames)
      : module(module), fn(fn), index(launchIndex), op(op),
        constants(constants), kernelNames(kernelNames) {}

  artifact::LaunchDesc &launch() { return fn.launches[index]; }
  int64_t i(size_t k) { return launch().ints.at(k); }
  double f(size_t k) { return launch().floats.at(k); }
  int buffer(size_t k) { return launch().buffers.at(k); }
  /// The value behind buffer k (k must name a present buffer).
  const artifact::ValueDesc &value(int id) {
    return fn.values.at(static_cast<size_t>(id));
  }
  mlir::MLIRContext *context() { return module.getContext(); }
  mlir::InFlightDiagnostic error() { return op->emitError(); }
  /// The op the launch came from (may be null for synthesized launches).
  mlir::Operation *operation() { return op; }

  /// The static memref a kernel sees value `id` through: memref<N x T, 1>
  /// with T the storage type (bool as i8).
  mlir::MemRefType memrefOf(int id);
  mlir::MemRefType memrefOf(mlir::Type element, int64_t n);
  /// memrefOf of each value, in order (a kernel's argument types).
  std::vector<mlir::MemRefType> memrefsOf(const std::vector<int> &ids) {
    std::vector<mlir::MemRefType> types;
    for (int id : ids)
      types.push_back(memrefOf(id));
    return types;
  }
  /// A new Arena value only GPU steps use (scratch).
  int addScratch(DType dtype, int64_t elements);
  /// A new Constant value with these bytes.
  int addConstant(DType dtype, const std::vector<uint8_t> &bytes);

  using Body = std::function<void(KernelBuilder &, llvm::ArrayRef<mlir::Value>
                                                       args,
                                  mlir::Value err, mlir::Value site)>;
  /// The name of a kernel taking memrefs of `argTypes` (plus GpuABI.h's
  /// trailing error record and launch index) with `body`, built the first
  /// time `key` is seen. `key` must determine the body completely.
  std::string kernel(llvm::StringRef family, const std::string &key,
                     llvm::ArrayRef<mlir::MemRefType> argTypes,
                     unsigned blockThreads, const Body &body);
  /// Appends a GPU step; arg bytes are taken from the values.
  void step(const std::string &kernel, const std::vector<int> &args,
            std::array<uint32_t, 3> grid, unsigned blockThreads,
            uint32_t sharedBytes = 0);

  /// Records a data-dependent error (GpuABI.h) from one thread.
  static void reportError(KernelBuilder &k, mlir::Value err, mlir::Value site,
                          int64_t code, llvm::ArrayRef<mlir::Value> details);

private:
  mlir::gpu::GPUModuleOp module;
  artifact::FunctionDesc &fn;
  size_t index;
  mlir::Operation *op;
  std::vector<uint8_t> &constants;
  std::map<std::string, std::string> &kernelNames;
};

/// Grid for `n` work items in blocks of `threads` (a grid-stride loop
/// covers the rest beyond 2^31 - 1 blocks).
std::array<uint32_t, 3> gridFor(int64_t n, unsigned threads);
/// Emits `for (i = global thread id; i < n; i += grid stride) body(i)`.
void gridStride(KernelBuilder &k, int64_t n, unsigned threads,
                const std::function<void(mlir::Value)> &body);

// Helpers shared by the families of Layout.cpp, Rows.cpp and Gemm.cpp.
/// A workgroup (shared memory) array of `n` elements: a workgroup
/// attribution of the gpu.func being built.
mlir::Value workgroupArray(KernelBuilder &k, mlir::Type element, int64_t n);
/// Text of the launch's ints, floats (exact, %a) and which buffers are
/// present: the part of a kernel key every family shares.
std::string launchKey(GpuLaunch &l);
/// memref.load / memref.store with the element's natural alignment (every
/// value starts 64-byte aligned): without it the NVPTX data layout's 4-byte
/// i64 alignment splits each i64 access into two 32-bit ones.
mlir::Value loadNat(KernelBuilder &k, mlir::Value memref, mlir::Value i);
void storeNat(KernelBuilder &k, mlir::Value v, mlir::Value memref,
              mlir::Value i);
/// An integer element (i32 or i64) as i64, naturally aligned.
mlir::Value loadIntNat(KernelBuilder &k, mlir::Value memref, mlir::Value i);
/// Blocks for `items` work items of one block each (at least 1).
uint32_t blocksFor(int64_t items);
/// Calls body(item) for the block's work items: item = block id when the
/// grid covers them (blocksFor), else a block-stride loop. Bodies with
/// barriers get uniform control flow either way.
void blockItems(KernelBuilder &k, int64_t items,
                const std::function<void(mlir::Value)> &body);

// Families. Each returns failure after emitting a diagnostic on the op.
mlir::LogicalResult emitAttention(GpuLaunch &l, llvm::StringRef dtype);
mlir::LogicalResult emitDilatedAttention(GpuLaunch &l, llvm::StringRef dtype);
mlir::LogicalResult emitLshAttention(GpuLaunch &l, llvm::StringRef dtype);
mlir::LogicalResult emitElementwiseFamily(GpuLaunch &l, llvm::StringRef family,
                                          llvm::StringRef dtype);
/// cast, slice, concat, transpose, reduce (Layout.cpp).
mlir::LogicalResult emitLayoutFamily(GpuLaunch &l, llvm::StringRef family,
                                     llvm::StringRef dtype);
/// rms_norm, layer_norm, softmax, rope, embedding, cross_entropy (Rows.cpp).
mlir::LogicalResult emitRowFamily(GpuLaunch &l, llvm::StringRef family,
                                  llvm::StringRef dtype);
/// linear, matmul, mlp (Gemm.cpp).
mlir::LogicalResult emitGemmFamily(GpuLaunch &l, llvm::StringRef family,
                                   llvm::StringRef dtype);

} // namespace attune::codegen::nvptx

#endif // ATTUNE_CODEGEN_NVPTX_GPUFAMILIES_H
