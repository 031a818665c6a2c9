//===- CudaTarget.cpp - GPU steps, PTX and cubins for an artifact ---------===//
//
// For every launch of every function: the family (from the launch's CPU
// symbol attune_cpu_<family>[_<dtype>]) emits specialized gpu.func kernels
// into one gpu.module and appends GPU steps to the launch. The module then
// goes through MLIR's NVVM path (TOOLCHAIN.md: nvgpu -> nvvm before scf ->
// cf, bare-pointer memrefs, nvvm -> llvm) to PTX, which ptxas assembles for
// each requested architecture.
//
//===----------------------------------------------------------------------===//

#include "attune/Codegen/CudaTarget.h"

#include "GpuFamilies.h"

#include "mlir/Conversion/GPUToNVVM/GPUToNVVMPass.h"
#include "mlir/Dialect/DLTI/DLTI.h"
#include "mlir/Conversion/NVGPUToNVVM/NVGPUToNVVM.h"
#include "mlir/Conversion/NVVMToLLVM/NVVMToLLVM.h"
#include "mlir/Conversion/ReconcileUnrealizedCasts/ReconcileUnrealizedCasts.h"
#include "mlir/Conversion/SCFToControlFlow/SCFToControlFlow.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/GPU/Transforms/Passes.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Target/LLVM/NVVM/Target.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/GPU/GPUToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/NVVM/NVVMToLLVMIRTranslation.h"
#include "mlir/Transforms/Passes.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdlib>
#include <sstream>

using namespace mlir;

namespace attune::codegen {

std::string CudaArch::name() const {
  return "sm_" + std::to_string(sm) + (specific ? "a" : "");
}

LogicalResult parseCudaTarget(llvm::StringRef spec, CudaOptions &options,
                              std::string &error) {
  if (!spec.consume_front("cuda")) {
    error = "target '" + spec.str() + "' is not a cuda target";
    return failure();
  }
  options.archs.clear();
  if (spec.empty()) {
    options.archs = {{80, false}, {90, true}};
    return success();
  }
  if (!spec.consume_front(":")) {
    error = "cuda target '" + spec.str() +
            "'; expected cuda or cuda:sm_80,sm_90a";
    return failure();
  }
  llvm::SmallVector<llvm::StringRef> parts;
  spec.split(parts, ',');
  for (llvm::StringRef p : parts) {
    llvm::StringRef orig = p;
    CudaArch a;
    a.specific = p.consume_back("a");
    unsigned sm = 0;
    if (!p.consume_front("sm_") || p.getAsInteger(10, sm) || sm < 80 ||
        sm > 999) {
      error = "cuda architecture '" + orig.str() +
              "'; expected sm_XY or sm_XYa with XY >= 80 (e.g. sm_80, sm_90a)";
      return failure();
    }
    a.sm = sm;
    for (const CudaArch &o : options.archs)
      if (o.sm == a.sm && o.specific == a.specific) {
        error = "cuda architecture " + a.name() + " is listed twice";
        return failure();
      }
    options.archs.push_back(a);
  }
  return success();
}

std::string findPtxas() {
  std::vector<std::string> dirs;
  if (const char *home = std::getenv("CUDA_HOME"))
    dirs.push_back(std::string(home) + "/bin");
  dirs.push_back("/usr/local/cuda/bin");
  for (const std::string &d : dirs) {
    std::string p = d + "/ptxas";
    if (llvm::sys::fs::can_execute(p))
      return p;
  }
  if (auto p = llvm::sys::findProgramByName("ptxas"))
    return *p;
  return "";
}

namespace nvptx {

//===----------------------------------------------------------------------===//
// GpuLaunch
//===----------------------------------------------------------------------===//

static Type storageType(MLIRContext *ctx, DType t) {
  switch (t) {
  case DType::F64:
    return Float64Type::get(ctx);
  case DType::F32:
    return Float32Type::get(ctx);
  case DType::F16:
    return Float16Type::get(ctx);
  case DType::BF16:
    return BFloat16Type::get(ctx);
  case DType::I64:
    return IntegerType::get(ctx, 64);
  case DType::I32:
    return IntegerType::get(ctx, 32);
  case DType::I16:
    return IntegerType::get(ctx, 16);
  case DType::I8:
  case DType::U8:
  case DType::Bool:
    return IntegerType::get(ctx, 8);
  }
  return IntegerType::get(ctx, 8);
}

MemRefType GpuLaunch::memrefOf(Type element, int64_t n) {
  return MemRefType::get({std::max<int64_t>(n, 1)}, element,
                         MemRefLayoutAttrInterface(),
                         IntegerAttr::get(IntegerType::get(context(), 64),
                                          kGlobal));
}

MemRefType GpuLaunch::memrefOf(int id) {
  const artifact::ValueDesc &v = value(id);
  uint64_t size = dtypeSize(v.dtype);
  return memrefOf(storageType(context(), v.dtype),
                  static_cast<int64_t>(v.bytes / size));
}

int GpuLaunch::addScratch(DType dtype, int64_t elements) {
  artifact::ValueDesc v;
  v.kind = artifact::ValueKind::Arena;
  v.dtype = dtype;
  v.shape = {elements};
  v.bytes = static_cast<uint64_t>(elements) * dtypeSize(dtype);
  fn.values.push_back(v);
  return static_cast<int>(fn.values.size() - 1);
}

int GpuLaunch::addConstant(DType dtype, const std::vector<uint8_t> &bytes) {
  constants.resize((constants.size() + 63) / 64 * 64);
  artifact::ValueDesc v;
  v.kind = artifact::ValueKind::Constant;
  v.dtype = dtype;
  v.offset = constants.size();
  v.shape = {static_cast<int64_t>(bytes.size() / dtypeSize(dtype))};
  v.bytes = bytes.size();
  constants.insert(constants.end(), bytes.begin(), bytes.end());
  fn.values.push_back(v);
  return static_cast<int>(fn.values.size() - 1);
}

static std::string typeString(Type t) {
  std::string s;
  llvm::raw_string_ostream os(s);
  os << t;
  return s;
}

std::string GpuLaunch::kernel(llvm::StringRef family, const std::string &key,
                              llvm::ArrayRef<MemRefType> argTypes,
                              unsigned blockThreads, const Body &body) {
  std::string full = family.str() + "|" + std::to_string(blockThreads);
  for (MemRefType t : argTypes)
    full += "|" + typeString(t);
  full += "|" + key;
  auto it = kernelNames.find(full);
  if (it != kernelNames.end())
    return it->second;
  // FNV-1a of the key names the kernel; a collision gets a suffix.
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : full)
    h = (h ^ c) * 1099511628211ull;
  std::string name = ("attune_" + family + "_" + llvm::utohexstr(h, true)).str();
  while (module.lookupSymbol(name))
    name += "_";
  kernelNames[full] = name;

  MLIRContext *ctx = context();
  OpBuilder b(ctx);
  b.setInsertionPointToEnd(module.getBody());
  Location loc = op ? op->getLoc() : UnknownLoc::get(ctx);
  SmallVector<Type> params(argTypes.begin(), argTypes.end());
  params.push_back(memrefOf(IntegerType::get(ctx, 64), 8));
  params.push_back(IntegerType::get(ctx, 64));
  auto fnOp = gpu::GPUFuncOp::create(b, loc, name,
                                     b.getFunctionType(params, {}));
  fnOp->setAttr(gpu::GPUDialect::getKernelFuncAttrName(), b.getUnitAttr());
  int32_t dims[3] = {static_cast<int32_t>(blockThreads), 1, 1};
  fnOp.setKnownBlockSizeAttr(b.getDenseI32ArrayAttr(dims));
  fnOp->setAttr("nvvm.maxntid", b.getDenseI32ArrayAttr(dims));
  Block &entry = fnOp.getBody().front();
  b.setInsertionPointToStart(&entry);
  KernelBuilder k(b, loc);
  SmallVector<Value> args;
  for (size_t a = 0; a < argTypes.size(); ++a)
    args.push_back(entry.getArgument(a));
  body(k, args, entry.getArgument(argTypes.size()),
       entry.getArgument(argTypes.size() + 1));
  gpu::ReturnOp::create(b, loc);
  return name;
}

void GpuLaunch::step(const std::string &kernel, const std::vector<int> &args,
                     std::array<uint32_t, 3> grid, unsigned blockThreads,
                     uint32_t sharedBytes) {
  artifact::GpuStepDesc s;
  s.kernel = kernel;
  for (int a : args) {
    s.args.push_back(a);
    s.argBytes.push_back(a < 0 ? 0 : value(a).bytes);
  }
  for (int d = 0; d < 3; ++d)
    s.grid[d] = grid[static_cast<size_t>(d)];
  s.block[0] = blockThreads;
  s.sharedBytes = sharedBytes;
  launch().gpu.push_back(std::move(s));
}

void GpuLaunch::reportError(KernelBuilder &k, Value err, Value site,
                            int64_t code, llvm::ArrayRef<Value> details) {
  // Claim the record: only the thread that swaps the code from 0 writes the
  // details.
  auto rmw = memref::GenericAtomicRMWOp::create(k.b, k.loc, err,
                                                ValueRange{k.idx(0)});
  {
    OpBuilder::InsertionGuard g(k.b);
    k.b.setInsertionPointToStart(rmw.getBody());
    Value cur = rmw.getCurrentValue();
    Value next = k.select(k.eq(cur, k.ci64(0)), k.ci64(code), cur);
    memref::AtomicYieldOp::create(k.b, k.loc, next);
  }
  Value old = rmw.getResult();
  k.ifThen(k.eq(old, k.ci64(0)), [&] {
    k.store(site, err, k.idx(1));
    for (size_t i = 0; i < details.size() && i < 6; ++i)
      k.store(k.toI64(details[i]), err, k.idx(static_cast<int64_t>(2 + i)));
  });
}

std::array<uint32_t, 3> gridFor(int64_t n, unsigned threads) {
  int64_t blocks = (std::max<int64_t>(n, 1) + threads - 1) / threads;
  blocks = std::min<int64_t>(blocks, int64_t(1) << 20);
  return {static_cast<uint32_t>(blocks), 1, 1};
}

void gridStride(KernelBuilder &k, int64_t n, unsigned threads,
                const std::function<void(Value)> &body) {
  std::array<uint32_t, 3> g = gridFor(n, threads);
  Value start = k.add(k.mul(k.bid(), k.idx(threads)), k.tid());
  Value stride = k.idx(static_cast<int64_t>(g[0]) * threads);
  k.forLoop(start, k.idx(n), stride, body);
}

} // namespace nvptx

//===----------------------------------------------------------------------===//
// Driver
//===----------------------------------------------------------------------===//

static std::string readFile(const std::string &path) {
  auto buf = llvm::MemoryBuffer::getFile(path);
  return buf ? (*buf)->getBuffer().str() : std::string();
}

/// Parses `ptxas -v` output into per-kernel records.
static void parsePtxasLog(const std::string &log, const std::string &arch,
                          std::vector<PtxasKernelInfo> &out) {
  std::istringstream in(log);
  std::string line;
  PtxasKernelInfo *cur = nullptr;
  while (std::getline(in, line)) {
    llvm::StringRef l(line);
    size_t fp = l.find("Function properties for ");
    if (fp != llvm::StringRef::npos) {
      out.push_back({});
      cur = &out.back();
      cur->kernel = l.substr(fp + 24).trim().str();
      cur->arch = arch;
      continue;
    }
    if (!cur)
      continue;
    if (l.contains("bytes spill stores")) {
      // "N bytes stack frame, S bytes spill stores, L bytes spill loads"
      llvm::SmallVector<llvm::StringRef> parts;
      l.split(parts, ',');
      for (llvm::StringRef p : parts) {
        p = p.trim();
        int v = 0;
        llvm::StringRef num = p.take_while(llvm::isDigit);
        num.getAsInteger(10, v);
        if (p.contains("spill stores"))
          cur->spillStores = v;
        else if (p.contains("spill loads"))
          cur->spillLoads = v;
      }
    }
    size_t used = l.find("Used ");
    if (used != llvm::StringRef::npos && l.contains("registers")) {
      llvm::StringRef r = l.substr(used + 5);
      r.take_while(llvm::isDigit).getAsInteger(10, cur->registers);
      size_t sm = l.find("bytes smem");
      if (sm != llvm::StringRef::npos) {
        llvm::StringRef before = l.substr(0, sm).rtrim();
        size_t sp = before.find_last_of(", ");
        before.substr(sp + 1).getAsInteger(10, cur->sharedBytes);
      }
    }
  }
}

static LogicalResult runPtxas(const CudaOptions &options, const CudaArch &arch,
                              const std::string &ptxPath,
                              const std::string &dir,
                              std::vector<uint8_t> &cubin,
                              std::vector<PtxasKernelInfo> &report,
                              std::string &error) {
  std::string out = dir + "/kernels." + arch.name() + ".cubin";
  std::string logPath = dir + "/ptxas." + arch.name() + ".log";
  std::vector<std::string> args = {options.ptxas, "-arch=" + arch.name(),
                                   "-O3", "-v", ptxPath, "-o", out};
  std::vector<llvm::StringRef> argRefs(args.begin(), args.end());
  std::optional<llvm::StringRef> redirects[] = {std::nullopt, logPath,
                                                logPath};
  std::string execError;
  int rc = llvm::sys::ExecuteAndWait(options.ptxas, argRefs, std::nullopt,
                                     redirects, 0, 0, &execError);
  std::string log = readFile(logPath);
  if (rc != 0) {
    error = "ptxas -arch=" + arch.name() + " failed (" +
            (execError.empty() ? "exit " + std::to_string(rc) : execError) +
            "): " + log;
    return failure();
  }
  parsePtxasLog(log, arch.name(), report);
  std::string bytes = readFile(out);
  if (bytes.empty()) {
    error = "ptxas wrote no cubin for " + arch.name() + " (" + out + ")";
    return failure();
  }
  cubin.assign(bytes.begin(), bytes.end());
  return success();
}

static std::string familyOf(llvm::StringRef kernel, std::string &dtype) {
  llvm::StringRef k = kernel;
  k.consume_front("attune_cpu_");
  for (llvm::StringRef d : {"_f32", "_bf16", "_f16"})
    if (k.consume_back(d)) {
      dtype = d.drop_front().str();
      return k.str();
    }
  dtype.clear();
  return k.str();
}

LogicalResult buildCudaCode(LoweredModule &lowered, const CudaOptions &options,
                            std::vector<PtxasKernelInfo> &report,
                            std::string &error) {
  if (options.archs.empty()) {
    error = "no cuda architecture to build for";
    return failure();
  }
  MLIRContext *ctx = lowered.hooks->getContext();
  DialectRegistry registry;
  registry.insert<gpu::GPUDialect, NVVM::NVVMDialect, nvgpu::NVGPUDialect,
                  memref::MemRefDialect, vector::VectorDialect,
                  scf::SCFDialect, math::MathDialect, arith::ArithDialect,
                  LLVM::LLVMDialect, DLTIDialect>();
  // The conversion-to-LLVM interfaces of every dialect the kernels use
  // (convert-gpu-to-nvvm collects its patterns through them).
  registerAllExtensions(registry);
  NVVM::registerNVVMTargetInterfaceExternalModels(registry);
  registerBuiltinDialectTranslation(registry);
  registerLLVMDialectTranslation(registry);
  registerGPUDialectTranslation(registry);
  registerNVVMDialectTranslation(registry);
  ctx->appendDialectRegistry(registry);
  ctx->loadAllAvailableDialects();
  LLVMInitializeNVPTXTarget();
  LLVMInitializeNVPTXTargetInfo();
  LLVMInitializeNVPTXTargetMC();
  LLVMInitializeNVPTXAsmPrinter();

  Location loc = UnknownLoc::get(ctx);
  OwningOpRef<ModuleOp> module = ModuleOp::create(loc);
  (*module)->setAttr(gpu::GPUDialect::getContainerModuleAttrName(),
                     UnitAttr::get(ctx));
  OpBuilder b(ctx);
  b.setInsertionPointToEnd(module->getBody());
  auto gpuModule = gpu::GPUModuleOp::create(b, loc, "attune_kernels");
  // i64 is 8-byte aligned on NVPTX; without this the lowering assumes
  // LLVM's default (4) and splits every i64 access in two.
  Type i64 = IntegerType::get(ctx, 64);
  gpuModule->setAttr(
      DLTIDialect::kDataLayoutAttrName,
      DataLayoutSpecAttr::get(
          ctx, {DataLayoutEntryAttr::get(
                   i64, DenseIntElementsAttr::get(
                            VectorType::get({2}, i64),
                            ArrayRef<int64_t>{64, 64}))}));

  std::map<std::string, std::string> kernelNames;
  artifact::ModuleDesc &desc = lowered.desc;
  for (size_t f = 0; f < desc.functions.size(); ++f) {
    artifact::FunctionDesc &fn = desc.functions[f];
    for (size_t i = 0; i < fn.launches.size(); ++i) {
      Operation *op = f < lowered.launchOps.size() &&
                              i < lowered.launchOps[f].size()
                          ? lowered.launchOps[f][i]
                          : nullptr;
      nvptx::GpuLaunch gl(gpuModule, fn, i, op, desc.constants, kernelNames);
      std::string dtype;
      std::string family = familyOf(fn.launches[i].kernel, dtype);
      LogicalResult r =
          family == "attention" ? nvptx::emitAttention(gl, dtype)
          : family == "dilated_attention"
              ? nvptx::emitDilatedAttention(gl, dtype)
          : family == "lsh_attention"
              ? nvptx::emitLshAttention(gl, dtype)
              : nvptx::emitElementwiseFamily(gl, family, dtype);
      if (failed(r))
        return failure();
    }
    planArena(fn);
  }

  // The model's errors come first; the toolkit is needed from here on.
  if (options.ptxas.empty() || !llvm::sys::fs::can_execute(options.ptxas)) {
    error = "ptxas not found (looked in $CUDA_HOME/bin, /usr/local/cuda/bin "
            "and PATH); install the CUDA toolkit or pass --ptxas=PATH";
    return failure();
  }
  std::string dir = options.keepDir;
  llvm::SmallString<128> tmp;
  if (dir.empty()) {
    if (llvm::sys::fs::createUniqueDirectory("attune-cuda", tmp)) {
      error = "cannot create a temporary directory";
      return failure();
    }
    dir = tmp.str().str();
  } else {
    llvm::sys::fs::create_directories(dir);
  }
  auto cleanup = [&] {
    if (options.keepDir.empty())
      llvm::sys::fs::remove_directories(dir);
  };
  if (!options.keepDir.empty()) {
    std::error_code ec;
    llvm::raw_fd_ostream os(dir + "/kernels.mlir", ec);
    if (!ec)
      module->print(os);
  }

  // PTX for the lowest architecture: it is what the cubins are assembled
  // from and what newer GPUs JIT.
  CudaArch lowest = options.archs.front();
  for (const CudaArch &a : options.archs)
    if (a.sm < lowest.sm)
      lowest = a;
  PassManager pm(ctx);
  GpuNVVMAttachTargetOptions attach;
  attach.chip = lowest.name();
  attach.features = "+ptx80";
  attach.optLevel = 3;
  pm.addPass(createGpuNVVMAttachTarget(attach));
  OpPassManager &gm = pm.nest<gpu::GPUModuleOp>();
  gm.addPass(createConvertNVGPUToNVVMPass());
  gm.addPass(createSCFToControlFlowPass());
  ConvertGpuOpsToNVVMOpsOptions toNvvm;
  toNvvm.useBarePtrCallConv = true;
  gm.addPass(createConvertGpuOpsToNVVMOps(toNvvm));
  gm.addPass(createConvertNVVMToLLVMPass());
  gm.addPass(createCanonicalizerPass());
  gm.addPass(createCSEPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
  GpuModuleToBinaryPassOptions toBinary;
  toBinary.compilationTarget = "isa";
  // libdevice (the math functions) comes from the toolkit ptxas is part of,
  // whatever PATH says.
  toBinary.toolkitPath =
      llvm::sys::path::parent_path(llvm::sys::path::parent_path(options.ptxas))
          .str();
  pm.addPass(createGpuModuleToBinaryPass(toBinary));
  if (failed(pm.run(*module))) {
    error = "lowering the GPU kernels to PTX failed (see above)";
    cleanup();
    return failure();
  }
  std::string ptx;
  module->walk([&](gpu::BinaryOp bin) {
    for (Attribute a : bin.getObjects())
      if (auto obj = dyn_cast<gpu::ObjectAttr>(a))
        ptx = obj.getObject().str();
  });
  if (ptx.empty()) {
    error = "the NVVM path produced no PTX";
    cleanup();
    return failure();
  }
  std::string ptxPath = dir + "/kernels.ptx";
  {
    std::error_code ec;
    llvm::raw_fd_ostream os(ptxPath, ec);
    if (ec) {
      error = "cannot write " + ptxPath + ": " + ec.message();
      cleanup();
      return failure();
    }
    os << ptx;
  }
  desc.ptx.assign(ptx.begin(), ptx.end());
  desc.cubins.clear();
  for (const CudaArch &a : options.archs) {
    artifact::GpuBinary bin;
    bin.arch = ATTUNE_CUBIN_ARCH(a.sm, a.specific);
    if (failed(runPtxas(options, a, ptxPath, dir, bin.bytes, report, error))) {
      cleanup();
      return failure();
    }
    desc.cubins.push_back(std::move(bin));
  }
  cleanup();
  return success();
}

} // namespace attune::codegen
