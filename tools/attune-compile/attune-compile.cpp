//===- attune-compile.cpp - attune MLIR to a compiled artifact ------------===//
//
//   attune-compile MODEL.mlir -o MODEL.atm [--target=cpu] [--function F]...
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

using namespace llvm;

static cl::opt<std::string> inputPath(cl::Positional,
                                      cl::desc("<model.mlir | artifact.atm>"));
static cl::opt<std::string> outputPath("o", cl::desc("artifact to write"),
                                       cl::value_desc("file"));
static cl::opt<std::string> targetName("target", cl::init("cpu"),
                                       cl::desc("target: cpu"));
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
  if (targetName != "cpu")
    return fail("unknown --target '" + targetName +
                "' (this compiler targets: cpu)");
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

  attune::codegen::CpuOptions cpu =
      attune::codegen::defaultCpuOptions(argv[0]);
  if (!kernelLibrary.empty())
    cpu.kernelLibrary = kernelLibrary;
  if (!linkerPath.empty())
    cpu.linker = linkerPath;
  cpu.keepDir = keepTemps;
  std::string error;
  attune::artifact::ModuleDesc &desc = lowered->desc;
  if (failed(attune::codegen::buildCpuSharedObject(
          *lowered->hooks, lowered->kernels, cpu, desc.cpuSharedObject,
          error)))
    return fail(error);
  desc.compilerVersion = std::string("attune-compile ") + ATTUNE_VERSION;
  desc.targets = {"cpu"};
  desc.cpuArch = cpu.arch;

  attune::Status st = attune::artifact::writeArtifactFile(desc, outputPath);
  if (!st.ok())
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
           << " launches, " << lowered->kernels.size() << " kernels, "
           << desc.cpuSharedObject.size() / 1024 << " KiB code, "
           << format("%.0f", ms) << " ms)\n";
  }
  return 0;
}
