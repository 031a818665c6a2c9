//===- CpuTarget.cpp - The artifact's x86-64 shared object ----------------===//

#include "attune/Codegen/CpuTarget.h"

#include "mlir/Conversion/ArithToLLVM/ArithToLLVM.h"
#include "mlir/Conversion/ControlFlowToLLVM/ControlFlowToLLVM.h"
#include "mlir/Conversion/FuncToLLVM/ConvertFuncToLLVMPass.h"
#include "mlir/Conversion/IndexToLLVM/IndexToLLVM.h"
#include "mlir/Conversion/MathToLLVM/MathToLLVM.h"
#include "mlir/Conversion/ReconcileUnrealizedCasts/ReconcileUnrealizedCasts.h"
#include "mlir/Conversion/SCFToControlFlow/SCFToControlFlow.h"
#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Export.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Passes/PassBuilder.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/Target/TargetOptions.h"
#include "llvm/TargetParser/Triple.h"

using namespace mlir;

namespace attune::codegen {
namespace {

/// Lowers the hooks (func/arith/math/scf/llvm) to the LLVM dialect. Math
/// functions with polynomial approximations (exp, tanh, erf, log...) are
/// expanded so that a hook's loop vectorizes instead of calling libm.
LogicalResult lowerToLLVMDialect(ModuleOp m) {
  {
    RewritePatternSet patterns(m.getContext());
    populateMathPolynomialApproximationPatterns(patterns);
    if (failed(applyPatternsGreedily(m, std::move(patterns))))
      return failure();
  }
  PassManager pm(m.getContext());
  pm.addPass(createSCFToControlFlowPass());
  pm.addPass(createArithToLLVMConversionPass());
  pm.addPass(createConvertMathToLLVMPass());
  pm.addPass(createConvertIndexToLLVMPass());
  pm.addPass(createConvertControlFlowToLLVMPass());
  pm.addPass(createConvertFuncToLLVMPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
  return pm.run(m);
}

std::string readAll(const std::string &path) {
  auto buf = llvm::MemoryBuffer::getFile(path);
  return buf ? (*buf)->getBuffer().str() : std::string();
}

} // namespace

CpuOptions defaultCpuOptions(const char *argv0) {
  CpuOptions o;
  o.arch = ATTUNE_CPU_ARCH;
  o.linker = ATTUNE_LLD_PATH;
  std::string exe =
      llvm::sys::fs::getMainExecutable(argv0, (void *)&defaultCpuOptions);
  llvm::SmallString<256> installed(llvm::sys::path::parent_path(exe));
  llvm::sys::path::append(installed, "..", "lib", "attune",
                          "libattune_cpu_kernels.a");
  o.kernelLibrary = llvm::sys::fs::exists(installed)
                        ? std::string(installed)
                        : std::string(ATTUNE_BUILD_KERNEL_LIBRARY);
  return o;
}

LogicalResult buildCpuSharedObject(ModuleOp hooks,
                                   const std::set<std::string> &kernels,
                                   const CpuOptions &options,
                                   std::vector<uint8_t> &so,
                                   std::string &error) {
  if (!llvm::sys::fs::exists(options.kernelLibrary)) {
    error = "kernel library '" + options.kernelLibrary +
            "' not found (pass --kernel-library)";
    return failure();
  }
  if (!llvm::sys::fs::can_execute(options.linker)) {
    error = "linker '" + options.linker +
            "' not found or not executable (pass --linker; it is ld.lld from "
            "the lld-22 package)";
    return failure();
  }
  if (failed(lowerToLLVMDialect(hooks))) {
    error = "lowering the attention regions to the LLVM dialect failed (see "
            "the diagnostics above)";
    return failure();
  }

  DialectRegistry registry;
  registerBuiltinDialectTranslation(registry);
  registerLLVMDialectTranslation(registry);
  hooks.getContext()->appendDialectRegistry(registry);
  llvm::LLVMContext llvmContext;
  std::unique_ptr<llvm::Module> module =
      translateModuleToLLVMIR(hooks, llvmContext, "attune_hooks");
  if (!module) {
    error = "translating the attention regions to LLVM IR failed";
    return failure();
  }

  llvm::InitializeNativeTarget();
  llvm::InitializeNativeTargetAsmPrinter();
  llvm::Triple triple("x86_64-unknown-linux-gnu");
  std::string lookupError;
  const llvm::Target *target =
      llvm::TargetRegistry::lookupTarget(triple, lookupError);
  if (!target) {
    error = "no x86-64 target in this LLVM: " + lookupError;
    return failure();
  }
  llvm::TargetOptions targetOptions;
  std::unique_ptr<llvm::TargetMachine> tm(target->createTargetMachine(
      triple, options.arch, "", targetOptions, llvm::Reloc::PIC_,
      std::nullopt, llvm::CodeGenOptLevel::Aggressive));
  if (!tm) {
    error = "cannot create a target machine for -march=" + options.arch;
    return failure();
  }
  module->setTargetTriple(triple);
  module->setDataLayout(tm->createDataLayout());
  for (llvm::Function &f : *module)
    if (!f.isDeclaration()) {
      f.addFnAttr("target-cpu", options.arch);
      f.addFnAttr(llvm::Attribute::NoUnwind);
    }

  {
    llvm::LoopAnalysisManager lam;
    llvm::FunctionAnalysisManager fam;
    llvm::CGSCCAnalysisManager cgam;
    llvm::ModuleAnalysisManager mam;
    llvm::PassBuilder pb(tm.get());
    pb.registerModuleAnalyses(mam);
    pb.registerCGSCCAnalyses(cgam);
    pb.registerFunctionAnalyses(fam);
    pb.registerLoopAnalyses(lam);
    pb.crossRegisterProxies(lam, fam, cgam, mam);
    llvm::ModulePassManager mpm =
        pb.buildPerModuleDefaultPipeline(llvm::OptimizationLevel::O3);
    mpm.run(*module, mam);
  }

  llvm::SmallVector<char, 0> object;
  {
    llvm::raw_svector_ostream os(object);
    llvm::legacy::PassManager pm;
    if (tm->addPassesToEmitFile(pm, os, nullptr,
                                llvm::CodeGenFileType::ObjectFile)) {
      error = "the x86-64 target cannot emit an object file";
      return failure();
    }
    pm.run(*module);
  }

  // Link: hooks + the kernels the schedule names (pulled from the archive
  // with -u) into a shared object that needs libc, libm and (for the
  // kernels' thread-local scratch) libstdc++.
  llvm::SmallString<128> dir;
  if (!options.keepDir.empty()) {
    dir = options.keepDir;
    llvm::sys::fs::create_directories(dir);
  } else if (std::error_code ec =
                 llvm::sys::fs::createUniqueDirectory("attune-cpu", dir)) {
    error = "cannot create a temporary directory: " + ec.message();
    return failure();
  }
  auto path = [&](llvm::StringRef name) {
    llvm::SmallString<128> p(dir);
    llvm::sys::path::append(p, name);
    return std::string(p);
  };
  std::string objPath = path("hooks.o"), soPath = path("module.so"),
              logPath = path("link.log");
  auto cleanup = [&] {
    if (options.keepDir.empty())
      llvm::sys::fs::remove_directories(dir);
  };
  {
    std::error_code ec;
    llvm::raw_fd_ostream f(objPath, ec);
    if (ec) {
      error = "cannot write " + objPath + ": " + ec.message();
      cleanup();
      return failure();
    }
    f.write(object.data(), object.size());
  }
  std::vector<std::string> args = {options.linker, "-shared", "-o", soPath,
                                   "--build-id=none", "--gc-sections",
                                   "--as-needed", "-z", "defs", "-z",
                                   "now", "--hash-style=gnu", objPath};
  for (const std::string &k : kernels) {
    args.push_back("-u");
    args.push_back(k);
    args.push_back("-u");
    args.push_back(k + "_check");
  }
  args.push_back(options.kernelLibrary);
  for (const char *d : {ATTUNE_LIBSTDCXX_DIR, "/usr/lib/x86_64-linux-gnu",
                        "/lib/x86_64-linux-gnu"})
    args.push_back(std::string("-L") + d);
  for (const char *l : {"-lstdc++", "-lm", "-lc"})
    args.push_back(l);
  llvm::SmallVector<llvm::StringRef> argRefs(args.begin(), args.end());
  std::optional<llvm::StringRef> redirects[] = {std::nullopt, logPath,
                                                logPath};
  std::string execError;
  int rc = llvm::sys::ExecuteAndWait(options.linker, argRefs, std::nullopt,
                                     redirects, 0, 0, &execError);
  std::string log = readAll(logPath);
  if (rc != 0) {
    error = "linking the shared object failed (" +
            (execError.empty() ? "exit " + std::to_string(rc) : execError) +
            "): " + log;
    cleanup();
    return failure();
  }
  auto buf = llvm::MemoryBuffer::getFile(soPath);
  if (!buf) {
    error = "cannot read the linked shared object " + soPath;
    cleanup();
    return failure();
  }
  so.assign((*buf)->getBufferStart(), (*buf)->getBufferEnd());
  cleanup();
  return success();
}

} // namespace attune::codegen
