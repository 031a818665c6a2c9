//===- attune-ref.cpp - Run an attune function in the reference evaluator -===//
//
// attune-ref MODEL.mlir [--function F] [--input NAME=FILE.npy]...
//   [--weights W.safetensors]... [--random-inputs SEED] [--precision
//   f64|native]
//   [--output-dir DIR] [--signature]
//
// Arguments bind by name: a function argument's name is its `attune.name`
// attribute (else argN). .npy has no bf16, so an f32 file may feed a bf16 or
// f16 argument and is rounded to it; any other dtype mismatch is an error.
//
//===----------------------------------------------------------------------===//

#include "attune/Init/InitAll.h"
#include "attune/Reference/Interpreter.h"
#include "attune/runtime/Philox.h"
#include "attune/runtime/TensorIO.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

#include <cmath>
#include <map>
#include <set>

using namespace attune;
namespace cl = llvm::cl;

static cl::opt<std::string> modelPath(cl::Positional, cl::Required,
                                      cl::desc("<model.mlir>"));
static cl::opt<std::string>
    functionName("function", cl::desc("function to run (default: the only "
                                      "function, else @main)"));
static cl::list<std::string>
    inputs("input", cl::desc("NAME=FILE.npy: bind an argument"));
static cl::list<std::string>
    weights("weights", cl::desc("safetensors file whose tensors bind "
                                "arguments of the same name"));
static cl::opt<int64_t> randomSeed(
    "random-inputs", cl::init(-1),
    cl::desc("fill unbound float arguments from Philox normals with this seed "
             "(rank 1: 1 + 0.1 z, otherwise z / sqrt(last dim))"));
static cl::opt<std::string>
    precisionName("precision", cl::init("f64"),
                  cl::desc("f64 (the oracle) or native (dtype rounding, f32 "
                           "accumulation)"));
static cl::opt<std::string>
    outputDir("output-dir", cl::desc("write each result as DIR/<name>.npy"));
static cl::opt<bool> signatureOnly("signature",
                                   cl::desc("print the function signature and "
                                            "exit"));
static cl::opt<int> printCount("print-values", cl::init(6),
                               cl::desc("values of each result to print"));

static int fail(const std::string &message) {
  llvm::errs() << "attune-ref: error: " << message << "\n";
  return 1;
}

/// Converts a tensor read from a file to the argument's dtype: exact dtype
/// matches pass, f32 data may be rounded to bf16/f16; anything else fails.
static StatusOr<ref::RefTensor> bindTensor(const HostTensor &host,
                                           const ref::ValueInfo &info,
                                           const std::string &source) {
  ref::RefTensor t = ref::RefTensor::fromHost(host);
  if (t.dtype != info.dtype) {
    bool lowp = info.dtype == DType::BF16 || info.dtype == DType::F16;
    if (!(lowp && t.dtype == DType::F32))
      return invalidArgument("argument '" + info.name + "' expects dtype " +
                             std::string(dtypeName(info.dtype)) + ", but " +
                             source + " holds " +
                             std::string(dtypeName(t.dtype)));
    for (double &x : t.data)
      x = roundToDType(x, info.dtype);
    t.dtype = info.dtype;
  }
  bool ok = t.shape.size() == info.shape.size();
  for (size_t d = 0; ok && d < t.shape.size(); ++d)
    ok = info.shape[d] < 0 || info.shape[d] == t.shape[d];
  if (!ok)
    return invalidArgument("argument '" + info.name + "' expects shape " +
                           shapeToString(info.shape) + ", but " + source +
                           " holds " + shapeToString(t.shape));
  return t;
}

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  cl::ParseCommandLineOptions(argc, argv,
                              "Attune reference evaluator: runs an attune "
                              "function in f64 or in its own precision\n");

  ref::Precision precision;
  if (precisionName == "f64")
    precision = ref::Precision::F64;
  else if (precisionName == "native")
    precision = ref::Precision::Native;
  else
    return fail("--precision must be f64 or native, got '" + precisionName +
                "'");

  mlir::DialectRegistry registry;
  attune::registerAllDialects(registry);
  mlir::MLIRContext context(registry);
  context.loadAllAvailableDialects();
  llvm::SourceMgr sourceMgr;
  mlir::SourceMgrDiagnosticHandler handler(sourceMgr, &context);
  mlir::OwningOpRef<mlir::ModuleOp> module =
      mlir::parseSourceFile<mlir::ModuleOp>(modelPath, sourceMgr,
                                            mlir::ParserConfig(&context));
  if (!module)
    return fail("could not parse '" + modelPath + "'");

  std::string name = functionName;
  if (name.empty()) {
    auto funcs = module->getOps<mlir::func::FuncOp>();
    if (std::distance(funcs.begin(), funcs.end()) == 1)
      name = (*funcs.begin()).getName().str();
    else
      name = "main";
  }
  auto func = module->lookupSymbol<mlir::func::FuncOp>(name);
  if (!func)
    return fail("no function @" + name + " in '" + modelPath +
                "' (use --function)");
  StatusOr<std::vector<ref::ValueInfo>> args = ref::describeArguments(func);
  if (!args)
    return fail(args.status().message());
  StatusOr<std::vector<ref::ValueInfo>> resultInfos =
      ref::describeResults(func);
  if (!resultInfos)
    return fail(resultInfos.status().message());

  if (signatureOnly) {
    llvm::outs() << "@" << name << "\n";
    for (const ref::ValueInfo &a : *args)
      llvm::outs() << "  arg    " << a.name << ": " << dtypeName(a.dtype) << " "
                   << shapeToString(a.shape) << "\n";
    for (const ref::ValueInfo &r : *resultInfos)
      llvm::outs() << "  result " << r.name << ": " << dtypeName(r.dtype) << " "
                   << shapeToString(r.shape) << "\n";
    return 0;
  }

  std::map<std::string, size_t> index;
  for (size_t i = 0; i < args->size(); ++i)
    index[(*args)[i].name] = i;
  std::vector<std::optional<ref::RefTensor>> bound(args->size());

  for (const std::string &spec : inputs) {
    size_t eq = spec.find('=');
    if (eq == std::string::npos || eq == 0)
      return fail("--input expects NAME=FILE.npy, got '" + spec + "'");
    std::string argName = spec.substr(0, eq), path = spec.substr(eq + 1);
    auto it = index.find(argName);
    if (it == index.end())
      return fail("--input names '" + argName +
                  "', which is not an argument "
                  "of @" +
                  name + " (see --signature)");
    StatusOr<HostTensor> host = readNpy(path);
    if (!host) // the reader's message names the file
      return fail(host.status().message());
    StatusOr<ref::RefTensor> t = bindTensor(*host, (*args)[it->second], path);
    if (!t)
      return fail(t.status().message());
    bound[it->second] = std::move(*t);
  }
  for (const std::string &path : weights) {
    StatusOr<SafeTensors> file = SafeTensors::read(path);
    if (!file) // the reader's message names the file
      return fail(file.status().message());
    for (size_t i = 0; i < args->size(); ++i) {
      if (bound[i] || !file->contains((*args)[i].name))
        continue;
      StatusOr<HostTensor> host = file->get((*args)[i].name);
      if (!host)
        return fail(path + ": " + host.status().message());
      StatusOr<ref::RefTensor> t =
          bindTensor(*host, (*args)[i], path + ":" + (*args)[i].name);
      if (!t)
        return fail(t.status().message());
      bound[i] = std::move(*t);
    }
  }

  std::vector<ref::RefTensor> argTensors;
  for (size_t i = 0; i < args->size(); ++i) {
    const ref::ValueInfo &info = (*args)[i];
    if (bound[i]) {
      argTensors.push_back(std::move(*bound[i]));
      continue;
    }
    bool dynamic = false;
    for (int64_t d : info.shape)
      dynamic |= d < 0;
    if (randomSeed < 0 || !isFloatDType(info.dtype) || dynamic)
      return fail("argument '" + info.name + "' (" +
                  std::string(dtypeName(info.dtype)) + " " +
                  shapeToString(info.shape) + ") is not bound: pass --input " +
                  info.name + "=FILE.npy or --weights" +
                  (isFloatDType(info.dtype) && !dynamic
                       ? std::string(", or --random-inputs SEED")
                       : std::string("")));
    ref::RefTensor t(info.dtype, info.shape);
    for (int64_t e = 0; e < t.numElements(); ++e) {
      double v = randomInputValue(static_cast<uint64_t>(randomSeed),
                                  static_cast<uint32_t>(i), info.shape, e);
      t.data[e] = roundToDType(v, info.dtype);
    }
    argTensors.push_back(std::move(t));
  }

  std::vector<ref::RefTensor> results;
  Status s = ref::runFunction(*module, name, argTensors, precision, results);
  if (!s)
    return fail(s.message());

  if (!outputDir.empty())
    if (std::error_code ec = llvm::sys::fs::create_directories(outputDir))
      return fail("cannot create '" + outputDir + "': " + ec.message());
  for (size_t r = 0; r < results.size(); ++r) {
    const ref::RefTensor &t = results[r];
    const std::string &rname = (*resultInfos)[r].name;
    double sum = 0, sq = 0, mn = INFINITY, mx = -INFINITY;
    int64_t nonFinite = 0;
    for (double x : t.data) {
      if (!std::isfinite(x)) {
        ++nonFinite;
        continue;
      }
      sum += x;
      sq += x * x;
      mn = std::min(mn, x);
      mx = std::max(mx, x);
    }
    int64_t n = t.numElements() - nonFinite;
    double mean = n ? sum / n : 0, var = n ? sq / n - mean * mean : 0;
    llvm::outs() << llvm::format(
        "%s: %s %s mean %.6g std %.6g min %.6g max %.6g non-finite %lld\n",
        rname.c_str(), std::string(dtypeName(t.dtype)).c_str(),
        shapeToString(t.shape).c_str(), mean, std::sqrt(std::max(var, 0.0)), mn,
        mx, static_cast<long long>(nonFinite));
    llvm::outs() << "  values:";
    for (int64_t e = 0; e < std::min<int64_t>(printCount, t.numElements()); ++e)
      llvm::outs() << llvm::format(" %.6g", t.data[e]);
    llvm::outs() << "\n";
    if (!outputDir.empty()) {
      llvm::SmallString<256> path(outputDir);
      llvm::sys::path::append(path, rname + ".npy");
      if (Status w = writeNpy(std::string(path), t.toHost()); !w)
        return fail(w.message());
    }
  }
  return 0;
}
