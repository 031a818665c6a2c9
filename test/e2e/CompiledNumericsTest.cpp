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

#include "TensorTestUtil.h"
#include "attune/Codegen/Codegen.h"
#include "attune/Codegen/CpuTarget.h"
#include "attune/Init/InitAll.h"
#include "attune/Reference/Interpreter.h"
#include "attune/artifact/Artifact.h"
#include "attune/attune_runtime.h"
#include "attune/runtime/Philox.h"

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

/// How a case fills an argument that it does not give explicitly.
using Filler = std::function<RefTensor(const ref::ValueInfo &)>;

struct Case {
  std::string name;
  std::string mlir;
  std::map<std::string, RefTensor> inputs; ///< explicit arguments by name
  double floorF32 = 1e-5, floorLow = 2e-3; ///< times max(1, max|gold|)
  double scale = 1.0;                      ///< of the random normals
  bool perturb = false; ///< test of the harness: corrupt one output value
};

RefTensor randomTensor(DType dtype, const std::vector<int64_t> &shape,
                       uint32_t stream, double scale) {
  RefTensor t(dtype, shape);
  for (int64_t i = 0; i < t.numElements(); ++i)
    t.data[i] = roundToDType(scale * philoxNormal(11, stream, i), dtype);
  return t;
}

RefTensor ints(DType dtype, std::vector<int64_t> shape,
               std::function<int64_t(int64_t)> f) {
  RefTensor t(dtype, std::move(shape));
  for (int64_t i = 0; i < t.numElements(); ++i)
    t.data[i] = static_cast<double>(f(i));
  return t;
}

std::string shapeStr(const std::vector<int64_t> &s, const std::string &dt) {
  std::string r = "tensor<";
  for (int64_t d : s)
    r += std::to_string(d) + "x";
  return r + dt + ">";
}

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
    std::vector<RefTensor> args;
    uint32_t stream = 1;
    for (const ref::ValueInfo &info : *infos) {
      auto it = c.inputs.find(info.name);
      if (it != c.inputs.end())
        args.push_back(it->second);
      else
        args.push_back(randomTensor(info.dtype, info.shape, stream, c.scale));
      ++stream;
    }
    std::vector<RefTensor> gold, lowp;
    Status s = ref::runFunction(*refModule, fname, args, ref::Precision::F64,
                                gold);
    if (!s.isOk())
      return "reference (f64): " + s.message();
    s = ref::runFunction(*refModule, fname, args, ref::Precision::Native, lowp);
    if (!s.isOk())
      return "reference (native): " + s.message();

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
    s = artifact::writeArtifact(lowered->desc, bytes);
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
          double mx = 0;
          for (double v : gold[i].data)
            if (std::isfinite(v))
              mx = std::max(mx, std::fabs(v));
          bool low = gold[i].dtype == DType::BF16 ||
                     gold[i].dtype == DType::F16;
          double floor = (low ? c.floorLow : c.floorF32) * std::max(1.0, mx);
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

struct AttnShape {
  int64_t B, Hq, Hkv, Lq, Lk, D;
};

/// An attention function with the given attribute dictionary and optional
/// doc ids / regions.
Case attentionCase(const std::string &name, AttnShape s, const std::string &dt,
                   const std::string &attrs, bool doc = false,
                   const std::string &regions = "",
                   const std::string &extraArgs = "") {
  std::string q = shapeStr({s.B, s.Hq, s.Lq, s.D}, dt),
              k = shapeStr({s.B, s.Hkv, s.Lk, s.D}, dt),
              o = shapeStr({s.B, s.Hq, s.Lq, s.D}, dt),
              l = shapeStr({s.B, s.Hq, s.Lq}, "f32"),
              dq = shapeStr({s.B, s.Lq}, "i32"),
              dk = shapeStr({s.B, s.Lk}, "i32");
  std::ostringstream m;
  m << "func.func @f(%q: " << q << " {attune.name = \"q\"}, %k: " << k
    << " {attune.name = \"k\"}, %v: " << k << " {attune.name = \"v\"}";
  if (doc)
    m << ", %dq: " << dq << " {attune.name = \"dq\"}, %dk: " << dk
      << " {attune.name = \"dk\"}";
  m << extraArgs << ") -> (" << o << ", " << l << ") {\n";
  m << "  %o, %l = attune.attention %q, %k, %v";
  if (doc)
    m << " doc(%dq, %dk)";
  m << " " << attrs << regions << " : (" << q << ", " << k << ", " << k;
  if (doc)
    m << ", " << dq << ", " << dk;
  m << ") -> (" << o << ", " << l << ")\n";
  m << "  return %o, %l : " << o << ", " << l << "\n}\n";
  Case c;
  c.name = name;
  c.mlir = m.str();
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
    cases.push_back(attentionCase(
        "attention_mask_region_" + dt, {1, 2, 1, 113, 113, 64}, dt, "", false,
        " mask {\n^bb0(%b: index, %h: index, %i: index, %j: index):\n"
        "  %d = arith.subi %i, %j : index\n  %c = arith.constant 9 : index\n"
        "  %lt = arith.cmpi ult, %d, %c : index\n"
        "  attune.yield %lt : i1\n}"));
    cases.push_back(attentionCase(
        "attention_score_region_bias_" + dt, {1, 2, 1, 113, 239, 64}, dt,
        "{mask = #attune.causal<bottom_right>}", false,
        " score {\n^bb0(%s: f32, %b: index, %h: index, %i: index, %j: "
        "index):\n"
        "  %x = tensor.extract %rel[%h, %j] : tensor<2x239xf32>\n"
        "  %t = arith.addf %s, %x : f32\n  attune.yield %t : f32\n}",
        ", %rel: tensor<2x239xf32> {attune.name = \"rel\"}"));
  }
  return cases;
}

/// A case from MLIR text with `DT` standing for the float dtype; one case
/// per dtype.
void both(std::vector<Case> &cases, const std::string &name,
          const std::string &text,
          const std::map<std::string, RefTensor> &inputs = {},
          double scale = 1.0) {
  for (const char *dt : {"f32", "bf16"}) {
    Case c;
    c.name = name + "_" + dt;
    c.mlir = text;
    for (size_t p = c.mlir.find("DT"); p != std::string::npos;
         p = c.mlir.find("DT", p))
      c.mlir.replace(p, 2, dt);
    c.inputs = inputs;
    c.scale = scale;
    cases.push_back(c);
  }
}

std::vector<Case> opCases() {
  std::vector<Case> cases;
  both(cases, "rms_norm", R"(
func.func @f(%x: tensor<3x113x96xDT> {attune.name = "x"}, %w: tensor<96xDT> {attune.name = "w"}) -> tensor<3x113x96xDT> {
  %y = attune.rms_norm %x weight %w {epsilon = 1.0e-05 : f64} : (tensor<3x113x96xDT>, tensor<96xDT>) -> tensor<3x113x96xDT>
  return %y : tensor<3x113x96xDT>
})");
  both(cases, "layer_norm", R"(
func.func @f(%x: tensor<239x64xDT> {attune.name = "x"}, %w: tensor<64xDT> {attune.name = "w"}, %b: tensor<64xDT> {attune.name = "b"}) -> tensor<239x64xDT> {
  %y = attune.layer_norm %x weight %w bias %b : (tensor<239x64xDT>, tensor<64xDT>, tensor<64xDT>) -> tensor<239x64xDT>
  return %y : tensor<239x64xDT>
})");
  both(cases, "rope_half", R"(
func.func @f(%x: tensor<2x4x113x64xDT> {attune.name = "x"}) -> tensor<2x4x113x64xDT> {
  %y = attune.rope %x {theta = 500000.0 : f64} : (tensor<2x4x113x64xDT>) -> tensor<2x4x113x64xDT>
  return %y : tensor<2x4x113x64xDT>
})");
  both(cases, "rope_interleaved_positions", R"(
func.func @f(%x: tensor<2x3x17x32xDT> {attune.name = "x"}, %p: tensor<2x17xi64> {attune.name = "p"}) -> tensor<2x3x17x32xDT> {
  %y = attune.rope %x positions %p {interleaved, rotary_dim = 16 : i64} : (tensor<2x3x17x32xDT>, tensor<2x17xi64>) -> tensor<2x3x17x32xDT>
  return %y : tensor<2x3x17x32xDT>
})",
       {{"p", ints(DType::I64, {2, 17}, [](int64_t i) { return i * 37 % 1000; })}});
  both(cases, "linear_bias", R"(
func.func @f(%x: tensor<3x113x239xDT> {attune.name = "x"}, %w: tensor<17x239xDT> {attune.name = "w"}, %b: tensor<17xDT> {attune.name = "b"}) -> tensor<3x113x17xDT> {
  %y = attune.linear %x, %w bias %b : (tensor<3x113x239xDT>, tensor<17x239xDT>, tensor<17xDT>) -> tensor<3x113x17xDT>
  return %y : tensor<3x113x17xDT>
})");
  both(cases, "mlp_swiglu", R"(
func.func @f(%x: tensor<1x113x64xDT> {attune.name = "x"}, %g: tensor<172x64xDT> {attune.name = "g"}, %u: tensor<172x64xDT> {attune.name = "u"}, %d: tensor<64x172xDT> {attune.name = "d"}) -> tensor<1x113x64xDT> {
  %y = attune.mlp %x, %u, %d gate %g {activation = #attune.activation<silu>} : (tensor<1x113x64xDT>, tensor<172x64xDT>, tensor<64x172xDT>, tensor<172x64xDT>) -> tensor<1x113x64xDT>
  return %y : tensor<1x113x64xDT>
})", {}, 0.5);
  both(cases, "mlp_gelu_bias", R"(
func.func @f(%x: tensor<17x48xDT> {attune.name = "x"}, %u: tensor<96x48xDT> {attune.name = "u"}, %d: tensor<40x96xDT> {attune.name = "d"}, %bu: tensor<96xDT> {attune.name = "bu"}, %bd: tensor<40xDT> {attune.name = "bd"}) -> tensor<17x40xDT> {
  %y = attune.mlp %x, %u, %d up_bias %bu down_bias %bd {activation = #attune.activation<gelu_tanh>} : (tensor<17x48xDT>, tensor<96x48xDT>, tensor<40x96xDT>, tensor<96xDT>, tensor<40xDT>) -> tensor<17x40xDT>
  return %y : tensor<17x40xDT>
})", {}, 0.5);
  both(cases, "embedding", R"(
func.func @f(%ids: tensor<2x17xi32> {attune.name = "ids"}, %t: tensor<50x24xDT> {attune.name = "t"}) -> tensor<2x17x24xDT> {
  %y = attune.embedding %ids, %t : (tensor<2x17xi32>, tensor<50x24xDT>) -> tensor<2x17x24xDT>
  return %y : tensor<2x17x24xDT>
})",
       {{"ids", ints(DType::I32, {2, 17}, [](int64_t i) { return i * 13 % 50; })}});
  both(cases, "softmax_axis0", R"(
func.func @f(%x: tensor<113x3x7xDT> {attune.name = "x"}) -> (tensor<113x3x7xDT>, tensor<113x3x7xDT>) {
  %a = attune.softmax %x {axis = 0 : i64} : (tensor<113x3x7xDT>) -> tensor<113x3x7xDT>
  %b = attune.softmax %x : (tensor<113x3x7xDT>) -> tensor<113x3x7xDT>
  return %a, %b : tensor<113x3x7xDT>, tensor<113x3x7xDT>
})", {}, 3.0);
  for (const char *red : {"none", "mean", "sum"})
    both(cases, std::string("cross_entropy_") + red, std::string(R"(
func.func @f(%x: tensor<113x50xDT> {attune.name = "x"}, %l: tensor<113xi64> {attune.name = "l"}) -> tensor<)") +
                 (std::string(red) == "none" ? "113x" : "") + R"(f32> {
  %c = attune.cast %x : tensor<113x50xDT> to tensor<113x50xf32>
  %y = attune.cross_entropy %c, %l {reduction = #attune.reduction<)" + red +
                 R"(>} : (tensor<113x50xf32>, tensor<113xi64>) -> tensor<)" +
                 (std::string(red) == "none" ? "113x" : "") + R"(f32>
  return %y : tensor<)" + (std::string(red) == "none" ? "113x" : "") +
                 R"(f32>
})",
         {{"l", ints(DType::I64, {113}, [](int64_t i) {
             return i % 9 == 0 ? -100 : i * 7 % 50;
           })}},
         2.0);
  for (const char *u : {"neg", "exp", "log", "tanh", "sqrt", "rsqrt", "sigmoid",
                        "abs", "silu", "gelu", "gelu_tanh", "relu"}) {
    std::string body = std::string(R"(
func.func @f(%x: tensor<3x239xDT> {attune.name = "x"}) -> tensor<3x239xDT> {
  %a = attune.abs %x : tensor<3x239xDT>
  %y = attune.)") + u + R"( %a : tensor<3x239xDT>
  return %y : tensor<3x239xDT>
})";
    both(cases, std::string("unary_") + u, body, {}, 2.0);
  }
  for (const char *bk : {"add", "sub", "mul", "div", "max", "min", "pow"}) {
    std::string body = std::string(R"(
func.func @f(%x: tensor<3x1x113xDT> {attune.name = "x"}, %z: tensor<7x1xDT> {attune.name = "z"}) -> tensor<3x7x113xDT> {
  %a = attune.abs %x : tensor<3x1x113xDT>
  %b = attune.abs %z : tensor<7x1xDT>
  %y = attune.)") + bk + R"( %a, %b : (tensor<3x1x113xDT>, tensor<7x1xDT>) -> tensor<3x7x113xDT>
  return %y : tensor<3x7x113xDT>
})";
    both(cases, std::string("binary_") + bk, body);
  }
  both(cases, "matmul_broadcast", R"(
func.func @f(%a: tensor<2x3x17x40xDT> {attune.name = "a"}, %b: tensor<3x40x23xDT> {attune.name = "b"}) -> tensor<2x3x17x23xDT> {
  %y = attune.matmul %a, %b : (tensor<2x3x17x40xDT>, tensor<3x40x23xDT>) -> tensor<2x3x17x23xDT>
  return %y : tensor<2x3x17x23xDT>
})");
  both(cases, "layout", R"(
func.func @f(%x: tensor<2x17x3x8xDT> {attune.name = "x"}) -> (tensor<3x2x8x17xDT>, tensor<2x17x5x8xDT>, tensor<2x51x8xDT>) {
  %t = attune.transpose %x {permutation = array<i64: 2, 0, 3, 1>} : (tensor<2x17x3x8xDT>) -> tensor<3x2x8x17xDT>
  %s = attune.slice %x {axis = 2 : i64, start = 1 : i64, size = 2 : i64} : (tensor<2x17x3x8xDT>) -> tensor<2x17x2x8xDT>
  %c = attune.concat %x, %s {axis = 2 : i64} : (tensor<2x17x3x8xDT>, tensor<2x17x2x8xDT>) -> tensor<2x17x5x8xDT>
  %r = attune.reshape %x : tensor<2x17x3x8xDT> to tensor<2x51x8xDT>
  return %t, %c, %r : tensor<3x2x8x17xDT>, tensor<2x17x5x8xDT>, tensor<2x51x8xDT>
})");
  both(cases, "layout_negative_axes", R"(
func.func @f(%x: tensor<2x17x6xDT> {attune.name = "x"}) -> (tensor<2x17x9xDT>, tensor<2x17x6xDT>) {
  %s = attune.slice %x {axis = -1 : i64, start = 2 : i64, size = 3 : i64} : (tensor<2x17x6xDT>) -> tensor<2x17x3xDT>
  %c = attune.concat %x, %s {axis = -1 : i64} : (tensor<2x17x6xDT>, tensor<2x17x3xDT>) -> tensor<2x17x9xDT>
  %z = attune.chunked %x along 1 by 1 {
  ^bb0(%a: tensor<2x1x6xDT>):
    %t = attune.exp %a : tensor<2x1x6xDT>
    attune.yield %t : tensor<2x1x6xDT>
  } : (tensor<2x17x6xDT>) -> tensor<2x17x6xDT>
  return %c, %z : tensor<2x17x9xDT>, tensor<2x17x6xDT>
})");
  both(cases, "reduce", R"(
func.func @f(%x: tensor<5x113x7xDT> {attune.name = "x"}) -> (tensor<7xDT>, tensor<5x1x7xDT>, tensor<113xDT>) {
  %a = attune.reduce %x {kind = #attune.reduce_kind<sum>, axes = array<i64: 0, 1>} : (tensor<5x113x7xDT>) -> tensor<7xDT>
  %b = attune.reduce %x {kind = #attune.reduce_kind<mean>, axes = array<i64: 1>, keep_dims} : (tensor<5x113x7xDT>) -> tensor<5x1x7xDT>
  %c = attune.reduce %x {kind = #attune.reduce_kind<max>, axes = array<i64: 0, 2>} : (tensor<5x113x7xDT>) -> tensor<113xDT>
  return %a, %b, %c : tensor<7xDT>, tensor<5x1x7xDT>, tensor<113xDT>
})");
  both(cases, "cast_roundtrip", R"(
func.func @f(%x: tensor<3x113xf32> {attune.name = "x"}) -> (tensor<3x113xDT>, tensor<3x113xf16>) {
  %a = attune.cast %x : tensor<3x113xf32> to tensor<3x113xDT>
  %b = attune.cast %a : tensor<3x113xDT> to tensor<3x113xf16>
  return %a, %b : tensor<3x113xDT>, tensor<3x113xf16>
})");
  both(cases, "structure", R"(
func.func @f(%x: tensor<1x64x32xDT> {attune.name = "x"}, %u: tensor<48x32xDT> {attune.name = "u"}, %d: tensor<32x48xDT> {attune.name = "d"}) -> (tensor<1x64x32xDT>, tensor<1x64x32xDT>, tensor<1x64x32xDT>) {
  %c = attune.checkpoint (%x) {
  ^bb0(%a: tensor<1x64x32xDT>):
    %t = attune.gelu %a : tensor<1x64x32xDT>
    attune.yield %t : tensor<1x64x32xDT>
  } : (tensor<1x64x32xDT>) -> tensor<1x64x32xDT>
  %y1, %y2 = attune.reversible %x, %c f {
  ^bb0(%a: tensor<1x64x32xDT>):
    %t = attune.rms_norm %a : (tensor<1x64x32xDT>) -> tensor<1x64x32xDT>
    attune.yield %t : tensor<1x64x32xDT>
  } g {
  ^bb0(%a: tensor<1x64x32xDT>):
    %t = attune.tanh %a : tensor<1x64x32xDT>
    attune.yield %t : tensor<1x64x32xDT>
  } : tensor<1x64x32xDT>, tensor<1x64x32xDT>
  %z = attune.chunked %y2 along 1 by 16 {
  ^bb0(%a: tensor<1x16x32xDT>):
    %t = attune.mlp %a, %u, %d {activation = #attune.activation<relu>} : (tensor<1x16x32xDT>, tensor<48x32xDT>, tensor<32x48xDT>) -> tensor<1x16x32xDT>
    attune.yield %t : tensor<1x16x32xDT>
  } : (tensor<1x64x32xDT>) -> tensor<1x64x32xDT>
  return %y1, %y2, %z : tensor<1x64x32xDT>, tensor<1x64x32xDT>, tensor<1x64x32xDT>
})", {}, 0.5);
  both(cases, "dilated_attention", R"(
func.func @f(%q: tensor<1x4x239x64xDT> {attune.name = "q"}, %k: tensor<1x2x239x64xDT> {attune.name = "k"}, %v: tensor<1x2x239x64xDT> {attune.name = "v"}) -> (tensor<1x4x239x64xDT>, tensor<1x4x239xf32>) {
  %o, %l = attune.dilated_attention %q, %k, %v {segments = array<i64: 16, 64, 256>, rates = array<i64: 1, 4, 16>, causal} : (tensor<1x4x239x64xDT>, tensor<1x2x239x64xDT>, tensor<1x2x239x64xDT>) -> (tensor<1x4x239x64xDT>, tensor<1x4x239xf32>)
  return %o, %l : tensor<1x4x239x64xDT>, tensor<1x4x239xf32>
})");
  both(cases, "lsh_attention", R"(
func.func @f(%x: tensor<2x2x113x64xDT> {attune.name = "x"}, %v: tensor<2x2x113x64xDT> {attune.name = "v"}) -> (tensor<2x2x113x64xDT>, tensor<2x2x113xf32>) {
  %o, %l = attune.lsh_attention %x, %v {num_buckets = 8 : i64, num_rounds = 2 : i64, chunk_size = 16 : i64, seed = 5 : i64, causal} : (tensor<2x2x113x64xDT>, tensor<2x2x113x64xDT>) -> (tensor<2x2x113x64xDT>, tensor<2x2x113xf32>)
  return %o, %l : tensor<2x2x113x64xDT>, tensor<2x2x113xf32>
})");
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
