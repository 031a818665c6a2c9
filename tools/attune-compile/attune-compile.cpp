//===- attune-compile.cpp - attune MLIR to a compiled artifact ------------===//
//
//   attune-compile MODEL.mlir -o MODEL.atm [--target=cpu]
//                  [--target=cuda:sm_80,sm_90a] [--function F]...
//   attune-compile --print-info MODEL.atm
//
// Lowers every public function (or the named ones) to launch schedules over
// the kernel families with a static buffer plan, compiles the attention
// regions and links the kernels into a shared object, and writes one
// artifact file (include/attune/artifact/Artifact.h).
//
//===----------------------------------------------------------------------===//

#include "attune/Codegen/Codegen.h"
#include "attune/Codegen/CpuTarget.h"
#include "attune/Codegen/CudaTarget.h"
#include "attune/Init/InitAll.h"
#include "attune/artifact/Artifact.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Support/FileUtilities.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

#include <chrono>
#include <set>

using namespace llvm;

static cl::opt<std::string> inputPath(cl::Positional,
                                      cl::desc("<model.mlir | artifact.atm>"));
static cl::opt<std::string> outputPath("o", cl::desc("artifact to write"),
                                       cl::value_desc("file"));
static cl::list<std::string>
    targetNames("target",
                cl::desc("target: cpu (the default) or cuda[:sm_80,sm_90a,..]; "
                         "repeat for both"));
static cl::opt<std::string> ptxasPath("ptxas",
                                      cl::desc("ptxas for the cuda target"));
static cl::opt<bool> ptxasInfo(
    "ptxas-info",
    cl::desc("print each GPU kernel's registers, spills and shared memory"));
static cl::list<std::string>
    functionNames("function",
                  cl::desc("function to compile (default: every public one)"));
static cl::opt<bool> printInfo("print-info",
                               cl::desc("describe an artifact and exit"));
static cl::opt<std::string>
    kernelLibrary("kernel-library",
                  cl::desc("libattune_cpu_kernels.a to link (default: the "
                           "installed or built one)"));
static cl::opt<std::string> linkerPath("linker",
                                       cl::desc("ld.lld to link with"));
static cl::opt<std::string>
    keepTemps("keep-temps", cl::desc("keep the object and shared object in DIR"),
              cl::value_desc("DIR"));
static cl::opt<bool> quiet("q", cl::desc("print nothing on success"));

/// Distinct kernels of the artifact: CPU families and GPU kernels.
static size_t kernelCount(const attune::artifact::ModuleDesc &desc, bool cpu,
                          const attune::codegen::LoweredModule &lowered) {
  std::set<std::string> gpu;
  for (const auto &f : desc.functions)
    for (const auto &l : f.launches)
      for (const auto &s : l.gpu)
        gpu.insert(s.kernel);
  return (cpu ? lowered.kernels.size() : 0) + gpu.size();
}

static int fail(const std::string &message) {
  errs() << "attune-compile: error: " << message << "\n";
  return 1;
}

int main(int argc, char **argv) {
  InitLLVM init(argc, argv);
  cl::ParseCommandLineOptions(
      argc, argv,
      "Attune compiler: lowers an attune model to one artifact file\n");
  if (inputPath.empty())
    return fail("no input file (attune-compile MODEL.mlir -o MODEL.atm)");

  if (printInfo) {
    attune::StatusOr<attune::artifact::ModuleDesc> m =
        attune::artifact::readArtifactFile(inputPath);
    if (!m)
      return fail(m.status().message());
    outs() << attune::artifact::describe(*m);
    return 0;
  }
  bool wantCpu = targetNames.empty();
  bool wantCuda = false;
  attune::codegen::CudaOptions cuda;
  for (const std::string &t : targetNames) {
    if (t == "cpu") {
      wantCpu = true;
      continue;
    }
    if (StringRef(t).starts_with("cuda")) {
      std::string err;
      if (failed(attune::codegen::parseCudaTarget(t, cuda, err)))
        return fail(err);
      wantCuda = true;
      continue;
    }
    return fail("unknown --target '" + t +
                "'; expected cpu or cuda[:sm_80,sm_90a,...]");
  }
  if (outputPath.empty())
    return fail("no output file (-o MODEL.atm)");

  auto start = std::chrono::steady_clock::now();
  mlir::DialectRegistry registry;
  attune::registerAllDialects(registry);
  registry.insert<mlir::LLVM::LLVMDialect>();
  mlir::MLIRContext context(registry);
  context.loadAllAvailableDialects();
  SourceMgr sourceMgr;
  mlir::SourceMgrDiagnosticHandler handler(sourceMgr, &context);
  mlir::OwningOpRef<mlir::ModuleOp> module =
      mlir::parseSourceFile<mlir::ModuleOp>(inputPath, sourceMgr,
                                            mlir::ParserConfig(&context));
  if (!module)
    return fail("could not parse '" + inputPath + "'");

  std::vector<std::string> functions(functionNames.begin(),
                                     functionNames.end());
  mlir::FailureOr<attune::codegen::LoweredModule> lowered =
      attune::codegen::lowerModule(*module, functions);
  if (failed(lowered))
    return fail("could not lower '" + inputPath + "' (see above)");

  std::string error;
  attune::artifact::ModuleDesc &desc = lowered->desc;
  attune::codegen::CpuOptions cpu =
      attune::codegen::defaultCpuOptions(argv[0]);
  if (wantCpu) {
    if (!kernelLibrary.empty())
      cpu.kernelLibrary = kernelLibrary;
    if (!linkerPath.empty())
      cpu.linker = linkerPath;
    cpu.keepDir = keepTemps;
    if (failed(attune::codegen::buildCpuSharedObject(
            *lowered->hooks, lowered->kernels, cpu, desc.cpuSharedObject,
            error)))
      return fail(error);
    desc.targets.push_back("cpu");
    desc.cpuArch = cpu.arch;
  }
  if (wantCuda) {
    cuda.ptxas = ptxasPath.empty() ? attune::codegen::findPtxas()
                                   : std::string(ptxasPath);
    cuda.keepDir = keepTemps;
    std::vector<attune::codegen::PtxasKernelInfo> report;
    if (failed(attune::codegen::buildCudaCode(*lowered, cuda, report, error)))
      return fail(error.empty() ? "could not compile the cuda kernels (see "
                                  "above)"
                                : error);
    desc.targets.push_back("cuda");
    if (ptxasInfo)
      for (const auto &r : report)
        outs() << r.arch << " " << r.kernel << ": " << r.registers
               << " registers, " << r.spillStores << " bytes spill stores, "
               << r.spillLoads << " bytes spill loads, " << r.sharedBytes
               << " bytes static smem\n";
  }
  desc.compilerVersion = std::string("attune-compile ") + ATTUNE_VERSION;

  attune::Status st = attune::artifact::writeArtifactFile(desc, outputPath);
  if (!st.isOk())
    return fail(st.message());
  if (!quiet) {
    double ms = std::chrono::duration<double, std::milli>(
                    std::chrono::steady_clock::now() - start)
                    .count();
    size_t launches = 0;
    for (auto &f : desc.functions)
      launches += f.launches.size();
    outs() << "attune-compile: wrote " << outputPath << " ("
           << desc.functions.size() << " function(s), " << launches
           << " launches, " << kernelCount(desc, wantCpu, *lowered)
           << " kernels, "
           << (desc.cpuSharedObject.size() + desc.ptx.size()) / 1024
           << " KiB code, "
           << format("%.0f", ms) << " ms)\n";
  }
  return 0;
}
