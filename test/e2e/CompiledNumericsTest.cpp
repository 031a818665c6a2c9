//===- CompiledNumericsTest.cpp - attune-compile + runtime vs the oracle --===//
//
// Each case is an attune function written out as MLIR text. It is compiled in
// process (lowerModule, the CPU shared object, writeArtifact), loaded from
// memory through the C API, run on random inputs, and every result is held to
// the tolerance rule of DESIGN.md section 6 against the reference evaluator:
//   max|out - gold| <= 2 max|lowp - gold| + floor
// with gold = f64 and lowp = the evaluator in the model's own precision. A
// second run (and a run on one thread) must be bitwise identical.
//
//===----------------------------------------------------------------------===//

#include "NumericsCases.h"
#include "TensorTestUtil.h"
#include "attune/Codegen/Codegen.h"
#include "attune/Codegen/CpuTarget.h"
#include "attune/Init/InitAll.h"
#include "attune/Reference/Interpreter.h"
#include "attune/artifact/Artifact.h"
#include "attune/attune_runtime.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <functional>
#include <map>
#include <sstream>

using namespace attune;
using attune::ref::RefTensor;

namespace {

using namespace attune::numerics;

struct Case : NumericsCase {
  bool perturb = false; ///< test of the harness: corrupt one output value
};

class Compiled {
public:
  explicit Compiled(const Case &c) : c(c) {
    mlir::DialectRegistry registry;
    attune::registerAllDialects(registry);
    registry.insert<mlir::LLVM::LLVMDialect>();
    context.appendDialectRegistry(registry);
    context.loadAllAvailableDialects();
  }

  /// Compiles, runs and checks; returns "" or a failure message.
  std::string run() {
    std::string diags;
    mlir::ScopedDiagnosticHandler handler(&context, [&](mlir::Diagnostic &d) {
      diags += d.str() + "\n";
      return mlir::success();
    });
    auto refModule = mlir::parseSourceString<mlir::ModuleOp>(c.mlir, &context);
    auto module = mlir::parseSourceString<mlir::ModuleOp>(c.mlir, &context);
    if (!refModule || !module)
      return "parse failed: " + diags;
    auto func = *refModule->getOps<mlir::func::FuncOp>().begin();
    std::string fname = func.getName().str();
    StatusOr<std::vector<ref::ValueInfo>> infos = ref::describeArguments(func);
    if (!infos)
      return infos.status().message();

    // Inputs: explicit ones, else normals rounded to the dtype.
    std::vector<RefTensor> args = drawInputs(*infos, c.inputs, c.scale);
    std::vector<RefTensor> gold, lowp;
    std::string refError =
        evaluateReference(*refModule, fname, args, gold, lowp);
    if (!refError.empty())
      return refError;

    mlir::FailureOr<codegen::LoweredModule> lowered =
        codegen::lowerModule(*module, {});
    if (failed(lowered))
      return "lowering failed: " + diags;
    codegen::CpuOptions cpu = codegen::defaultCpuOptions("attune-test");
    std::string error;
    if (failed(codegen::buildCpuSharedObject(*lowered->hooks, lowered->kernels,
                                             cpu,
                                             lowered->desc.cpuSharedObject,
                                             error)))
      return "shared object: " + error + "\n" + diags;
    lowered->desc.compilerVersion = "test";
    lowered->desc.targets = {"cpu"};
    lowered->desc.cpuArch = cpu.arch;
    std::vector<uint8_t> bytes;
    Status s = artifact::writeArtifact(lowered->desc, bytes);
    if (!s.isOk())
      return "writeArtifact: " + s.message();

    std::vector<std::vector<uint8_t>> first;
    for (uint32_t threads : {3u, 1u, 3u}) {
      std::vector<std::vector<uint8_t>> outs;
      std::string e = execute(bytes, fname, *infos, args, threads, outs);
      if (!e.empty())
        return e;
      if (outs.size() != gold.size())
        return "the compiled function returned " + std::to_string(outs.size()) +
               " results, the reference " + std::to_string(gold.size());
      if (first.empty()) {
        first = outs;
        // Tolerance against the oracle.
        for (size_t i = 0; i < outs.size(); ++i) {
          RefTensor out = fromBytes(gold[i], outs[i]);
          if (c.perturb && out.numElements() > 0)
            out.data[out.numElements() / 2] += 1e-3;
          double floor = toleranceFloor(gold[i], c.floorF32, c.floorLow);
          ref::ToleranceReport r =
              ref::checkTolerance(out, gold[i], lowp[i], floor);
          if (!r.ok)
            return "result #" + std::to_string(i) + ": " + r.message;
        }
      } else if (outs != first) {
        return "results differ between runs (threads " +
               std::to_string(threads) + ")";
      }
    }
    return "";
  }

private:
  static RefTensor fromBytes(const RefTensor &like,
                             const std::vector<uint8_t> &b) {
    HostTensor h(like.dtype, like.shape);
    std::memcpy(h.data(), b.data(), std::min(b.size(), h.byteSize()));
    return RefTensor::fromHost(h);
  }

  std::string execute(const std::vector<uint8_t> &bytes,
                      const std::string &fname,
                      const std::vector<ref::ValueInfo> &infos,
                      const std::vector<RefTensor> &args, uint32_t threads,
                      std::vector<std::vector<uint8_t>> &outs) {
    attune_module *m = nullptr;
    if (attune_module_create_from_memory(bytes.data(), bytes.size(), &m) !=
        ATTUNE_OK)
      return std::string("load: ") + attune_last_error_message();
    attune_session_options o;
    attune_session_options_init(&o);
    o.num_threads = threads;
    attune_session *sess = nullptr;
    if (attune_session_create(m, fname.c_str(), &o, &sess) != ATTUNE_OK) {
      std::string e = std::string("session: ") + attune_last_error_message();
      attune_module_destroy(m);
      return e;
    }
    std::string err;
    for (size_t i = 0; i < infos.size() && err.empty(); ++i) {
      HostTensor h = args[i].toHost();
      if (attune_session_set_input(
              sess, infos[i].name.c_str(),
              static_cast<attune_dtype>(static_cast<int>(h.dtype())),
              h.shape().data(), h.shape().size(), h.data(),
              h.byteSize()) != ATTUNE_OK)
        err = std::string("input: ") + attune_last_error_message();
    }
    if (err.empty() && attune_session_run(sess) != ATTUNE_OK)
      err = std::string("run: ") + attune_last_error_message();
    if (err.empty())
      for (size_t i = 0; i < attune_session_result_count(sess); ++i) {
        attune_tensor_view v;
        attune_session_result(sess, i, &v);
        const uint8_t *p = static_cast<const uint8_t *>(v.data);
        outs.emplace_back(p, p + v.byte_size);
      }
    attune_session_destroy(sess);
    attune_module_destroy(m);
    return err;
  }

  const Case &c;
  mlir::MLIRContext context;
};

//===----------------------------------------------------------------------===//
// Cases
//===----------------------------------------------------------------------===//

/// An attention function with the given attribute dictionary and optional
/// doc ids / regions.
Case attentionCase(const std::string &name, AttnShape s, const std::string &dt,
                   const std::string &attrs, bool doc = false,
                   const std::string &regions = "",
                   const std::string &extraArgs = "") {
  Case c;
  c.name = name;
  c.mlir = attentionFunction("f", s, dt, attrs, doc, regions, extraArgs);
  if (doc) {
    // Documents of irregular lengths; q and kv ids end aligned.
    auto docOf = [](int64_t i) { return (i * 7 / 97) % 5; };
    int64_t off = s.Lk - s.Lq;
    c.inputs["dq"] = ints(DType::I32, {s.B, s.Lq}, [&](int64_t i) {
      return docOf(i % s.Lq + std::max<int64_t>(off, 0));
    });
    c.inputs["dk"] = ints(DType::I32, {s.B, s.Lk},
                          [&](int64_t i) { return docOf(i % s.Lk); });
  }
  return c;
}

std::vector<Case> allCases() {
  std::vector<Case> cases;
  const std::vector<std::pair<std::string, std::string>> masks = {
      {"dense", ""},
      {"causal", "{mask = #attune.causal}"},
      {"causal_br", "{mask = #attune.causal<bottom_right>}"},
      {"window", "{mask = #attune.sliding_window<left = 17, right = 5>}"},
      {"global", "{mask = #attune.or<[#attune.sliding_window<left = 8, "
                 "right = 8>, #attune.global<[0, 2, 50]>]>}"},
      {"strided", "{mask = #attune.or<[#attune.causal, #attune.strided<7>]>}"},
      {"dilated", "{mask = #attune.dilated<segment = 32, rate = 4>}"},
      {"prefix_lm", "{mask = #attune.prefix_lm<20>}"},
      {"and", "{mask = #attune.and<[#attune.causal, #attune.sliding_window<"
              "left = 40, right = 0>]>}"},
  };
  const std::vector<AttnShape> shapes = {
      {1, 2, 1, 1, 1, 64},   {1, 2, 2, 3, 3, 96},   {2, 2, 1, 113, 239, 128},
      {1, 3, 1, 239, 113, 64}, {1, 2, 1, 1025, 1023, 64}};
  for (auto &[mname, attrs0] : masks)
    for (const AttnShape &s : shapes) {
      std::string attrs = attrs0;
      if (mname == "global" && std::min(s.Lq, s.Lk) <= 50)
        attrs = "{mask = #attune.global<[0]>}";
      std::string n = "attention_" + mname + "_" + std::to_string(s.Lq) +
                      "x" + std::to_string(s.Lk) + "_d" + std::to_string(s.D);
      cases.push_back(attentionCase(n + "_f32", s, "f32", attrs));
      if (s.Lq == 113 || s.Lq == 3)
        cases.push_back(attentionCase(n + "_bf16", s, "bf16", attrs));
    }
  // GQA 12:2 and L 1023/1025.
  cases.push_back(attentionCase("attention_gqa12_2_causal_f32",
                                {1, 12, 2, 239, 239, 128}, "f32",
                                "{mask = #attune.causal}"));
  cases.push_back(attentionCase("attention_gqa12_2_dense_bf16",
                                {1, 12, 2, 113, 113, 64}, "bf16", ""));
  cases.push_back(attentionCase("attention_causal_1023_f32",
                                {1, 1, 1, 1023, 1023, 64}, "f32",
                                "{mask = #attune.causal}"));
  // Document masking (and fully masked rows through mismatched ids).
  cases.push_back(attentionCase("attention_document_f32",
                                {2, 2, 1, 239, 239, 64}, "f32",
                                "{mask = #attune.document}", true));
  cases.push_back(attentionCase("attention_document_causal_bf16",
                                {1, 2, 2, 113, 239, 96}, "bf16",
                                "{mask = #attune.and<[#attune.document, "
                                "#attune.causal<bottom_right>]>}",
                                true));
  // Block-sparse, score mods and regions, each in f32 and bf16.
  for (std::string dt : {"f32", "bf16"}) {
    // 113 x 239 with 32 x 64 blocks -> a 4 x 4 layout.
    cases.push_back(attentionCase(
        "attention_block_sparse_" + dt, {1, 2, 1, 113, 239, 64}, dt,
        "{mask = #attune.block_sparse<block_q = 32, block_k = 64, layout = "
        "dense<[[true, false, false, true], [false, true, false, false], "
        "[true, true, true, false], [false, false, false, false]]> : "
        "tensor<4x4xi1>>}"));
    cases.push_back(attentionCase("attention_alibi_causal_" + dt,
                                  {1, 4, 2, 113, 113, 64}, dt,
                                  "{mask = #attune.causal, score_mods = "
                                  "[#attune.alibi]}"));
    cases.push_back(attentionCase("attention_softcap_" + dt,
                                  {1, 2, 1, 239, 113, 128}, dt,
                                  "{score_mods = [#attune.softcap<30.0>]}"));
    // A mask region (a band written by hand) and a score region reading a
    // relative-bias table captured from outside.
    cases.push_back(attentionCase("attention_mask_region_" + dt,
                                  {1, 2, 1, 113, 113, 64}, dt, "", false,
                                  bandMaskRegion()));
    cases.push_back(attentionCase(
        "attention_score_region_bias_" + dt, {1, 2, 1, 113, 239, 64}, dt,
        "{mask = #attune.causal<bottom_right>}", false,
        relBiasScoreRegion(2, 239), relBiasArgument(2, 239)));
  }
  return cases;
}

/// A case from MLIR text with `DT` standing for the float dtype; one case
/// per dtype.
void both(std::vector<Case> &cases, const OpModel &m) {
  for (const char *dt : {"f32", "bf16"}) {
    Case c;
    c.name = m.name + "_" + dt;
    c.mlir = instantiate(m, dt, "f");
    c.inputs = m.inputs;
    c.scale = m.scale;
    cases.push_back(c);
  }
}

std::vector<Case> opCases() {
  std::vector<Case> cases;
  for (const OpModel &m : opModels())
    both(cases, m);
  both(cases, {"dilated_attention", "dilated_attention", R"(
func.func @f(%q: tensor<1x4x239x64xDT> {attune.name = "q"}, %k: tensor<1x2x239x64xDT> {attune.name = "k"}, %v: tensor<1x2x239x64xDT> {attune.name = "v"}) -> (tensor<1x4x239x64xDT>, tensor<1x4x239xf32>) {
  %o, %l = attune.dilated_attention %q, %k, %v {segments = array<i64: 16, 64, 256>, rates = array<i64: 1, 4, 16>, causal} : (tensor<1x4x239x64xDT>, tensor<1x2x239x64xDT>, tensor<1x2x239x64xDT>) -> (tensor<1x4x239x64xDT>, tensor<1x4x239xf32>)
  return %o, %l : tensor<1x4x239x64xDT>, tensor<1x4x239xf32>
})"});
  both(cases, {"lsh_attention", "lsh_attention", R"(
func.func @f(%x: tensor<2x2x113x64xDT> {attune.name = "x"}, %v: tensor<2x2x113x64xDT> {attune.name = "v"}) -> (tensor<2x2x113x64xDT>, tensor<2x2x113xf32>) {
  %o, %l = attune.lsh_attention %x, %v {num_buckets = 8 : i64, num_rounds = 2 : i64, chunk_size = 16 : i64, seed = 5 : i64, causal} : (tensor<2x2x113x64xDT>, tensor<2x2x113x64xDT>) -> (tensor<2x2x113x64xDT>, tensor<2x2x113xf32>)
  return %o, %l : tensor<2x2x113x64xDT>, tensor<2x2x113xf32>
})"});
  return cases;
}

void PrintTo(const Case &c, std::ostream *os) { *os << c.name; }

class CompiledNumerics : public ::testing::TestWithParam<Case> {};

TEST_P(CompiledNumerics, MeetsToleranceAndRepeats) {
  Compiled c(GetParam());
  std::string failure = c.run();
  EXPECT_EQ(failure, "") << GetParam().mlir;
}

// The harness must be able to fail: a result off by 1e-3 in one element is
// caught, as is a model the compiler cannot lower.
TEST(CompiledHarness, CatchesAWrongValue) {
  std::vector<Case> cases = opCases();
  Case c = cases.front(); // rms_norm f32
  c.perturb = true;
  Compiled compiled(c);
  EXPECT_NE(compiled.run().find("result #0"), std::string::npos);
}

TEST(CompiledHarness, ReportsWhatCannotBeLowered) {
  Case c;
  c.name = "dynamic";
  c.mlir = R"(
func.func @f(%x: tensor<?x8xf32> {attune.name = "x"}) -> tensor<?x8xf32> {
  %y = attune.exp %x : tensor<?x8xf32>
  return %y : tensor<?x8xf32>
})";
  c.inputs["x"] = RefTensor(DType::F32, {3, 8});
  Compiled compiled(c);
  std::string r = compiled.run();
  EXPECT_NE(r.find("static shapes"), std::string::npos) << r;
}

INSTANTIATE_TEST_SUITE_P(
    Attention, CompiledNumerics, ::testing::ValuesIn(allCases()),
    [](const ::testing::TestParamInfo<Case> &i) { return i.param.name; });
INSTANTIATE_TEST_SUITE_P(
    Ops, CompiledNumerics, ::testing::ValuesIn(opCases()),
    [](const ::testing::TestParamInfo<Case> &i) { return i.param.name; });

} // namespace
