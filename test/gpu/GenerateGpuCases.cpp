//===- GenerateGpuCases.cpp - Cases for the GPU numerics tests -----------===//
//
//   attune-gpu-cases OUTDIR [--filter SUBSTR]... [--list] [--jobs N]
//                    [--ptxas PATH] [--keep-ptx] [--extended]
//                    [--target cuda|cpu]
//
// Writes the case directory that GpuNumericsTest (which links only the
// runtime) checks on a GPU machine, which has CUDA but no LLVM. For every
// case of the grid below (every op the cuda target lowers, in f32, f16 and
// bf16, over irregular shapes: attention with every mask term, score
// modification and mask/score regions, dilated and LSH attention, the other
// ops), it draws the inputs and evaluates gold (the reference evaluator in
// f64) and lowp (the evaluator in the model's precision) exactly as
// test/e2e/CompiledNumericsTest.cpp does (the code both use is in
// test/e2e/NumericsCases.h), and records each result's allowed error
// (DESIGN.md section 6):
//   bound = 2 max|lowp - gold| + floor * max(1, max|gold|)
// with CompiledNumericsTest's floors (1e-5 for f32/f64 results, 2e-3 for
// bf16/f16 ones). The format is in GpuCaseFormat.h.
//
// The cases of one group (attention, attention with regions, dilated
// attention, LSH attention or other ops, per dtype) are functions
// of one module, compiled for cuda sm_80 and sm_90a (ptxas once per group
// and architecture; the artifact keeps the cubins, the PTX only with
// --keep-ptx). Each module is compiled in a child process (this executable
// with --compile-one), so that a compiler crash fails a module, not the
// generator; when a group does not compile, each of its cases is compiled
// alone, so that the failures name their cases and the others still run.
// A case whose kernels spill registers (ptxas -v, either architecture)
// fails: every generated kernel must fit its registers.
//
// --extended adds attention cases for the PTX interpreter (test/ptxemu):
// head dims beyond the grid's and many-tile grids (extendedAttentionCases).
//
// --target cpu writes the same cases compiled for the CPU: GpuNumericsTest
// runs them on the CPU device (ATTUNE_GPU_CASES_DEVICE=cpu), a check of the
// harness (files, bounds, names) on machines without a GPU.
//
// Exit status: 0 when every case was written; 1 when some failed (each is
// named on stdout, in full in OUTDIR/FAILED.txt; the rest are written) or
// OUTDIR exceeds 40 MiB without --keep-ptx; 2 for a usage error; 77 when
// ptxas is not found (ctest reports the test as skipped).
//
//===----------------------------------------------------------------------===//

#include "GpuCaseFormat.h"
#include "NumericsCases.h"

#include "attune/Codegen/Codegen.h"
#include "attune/Codegen/CpuTarget.h"
#include "attune/Codegen/CudaTarget.h"
#include "attune/Init/InitAll.h"
#include "attune/Reference/Interpreter.h"
#include "attune/artifact/Artifact.h"
#include "attune/runtime/HostTensor.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cctype>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <functional>
#include <iostream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

using namespace attune;
using attune::ref::RefTensor;
namespace fs = std::filesystem;

namespace {

//===----------------------------------------------------------------------===//
// Cases
//===----------------------------------------------------------------------===//

using namespace attune::numerics;

/// A case: name (also the function's name in its group's module), mlir (one
/// func.func @<name>), explicit inputs, floors and the scale of the random
/// normals, as NumericsCases.h has them.
struct Case : NumericsCase {
  std::string group;  ///< the module it is compiled into
  std::string kind;   ///< for the summary: "attention:causal", "rms_norm", ...
  std::string dtype;  ///< the model's float dtype
};

//===------------------------------ attention -----------------------------===//

/// A pseudo-random block layout with some all-false rows (fully masked
/// query rows).
std::string blockLayout(int64_t heads, int64_t rows, int64_t cols) {
  std::ostringstream os;
  os << "dense<";
  if (heads > 0)
    os << "[";
  for (int64_t h = 0; h < std::max<int64_t>(heads, 1); ++h) {
    os << (h ? ", " : "") << "[";
    for (int64_t r = 0; r < rows; ++r) {
      os << (r ? ", " : "") << "[";
      for (int64_t c = 0; c < cols; ++c) {
        bool on = (r * 5 + c * 3 + h * 7) % 4 != 0;
        if (rows > 2 && r == 1)
          on = false;
        os << (c ? ", " : "") << (on ? "true" : "false");
      }
      os << "]";
    }
    os << "]";
  }
  if (heads > 0)
    os << "]";
  os << "> : tensor<";
  if (heads > 0)
    os << heads << "x";
  os << rows << "x" << cols << "xi1>";
  return os.str();
}

/// Terms whose cases carry mask/score regions (attentionRegions).
bool isRegionTerm(const std::string &term) {
  return term == "mask_region" || term == "score_region_bias" ||
         term == "regions_and_terms" || term == "document_mask_region";
}

/// The attribute dictionary of mask term (or score modification) `term`.
std::string attentionAttrs(const std::string &term, const AttnShape &s) {
  static const std::map<std::string, std::string> fixed = {
      {"dense", ""},
      {"causal", "{mask = #attune.causal}"},
      {"causal_br", "{mask = #attune.causal<bottom_right>}"},
      {"window", "{mask = #attune.sliding_window<left = 17, right = 5>}"},
      // bench/gpu's masks (gen_models.py's mask_attr).
      {"window1024", "{mask = #attune.sliding_window<left = 1023, right = 0>}"},
      {"document_causal", "{mask = #attune.and<[#attune.causal, "
                          "#attune.document]>}"},
      {"strided", "{mask = #attune.strided<7>}"},
      {"dilated", "{mask = #attune.dilated<segment = 32, rate = 4>}"},
      {"document", "{mask = #attune.document}"},
      {"document_causal_br", "{mask = #attune.and<[#attune.document, "
                             "#attune.causal<bottom_right>]>}"},
      {"prefix_lm", "{mask = #attune.prefix_lm<20>}"},
      {"alibi", "{mask = #attune.causal, score_mods = [#attune.alibi]}"},
      {"softcap", "{score_mods = [#attune.softcap<30.0>]}"},
      {"and", "{mask = #attune.and<[#attune.causal<bottom_right>, "
              "#attune.sliding_window<left = 40, right = 0, align = "
              "bottom_right>]>}"},
      // With regions (attentionRegions): alone, after a named mask, after a
      // named mask and a score modification, after document ids.
      {"mask_region", ""},
      {"score_region_bias", "{mask = #attune.causal<bottom_right>}"},
      {"regions_and_terms",
       "{mask = #attune.or<[#attune.causal, #attune.global<[0, 2]>]>, "
       "score_mods = [#attune.softcap<30.0>]}"},
      {"document_mask_region", "{mask = #attune.document}"},
  };
  auto it = fixed.find(term);
  if (it != fixed.end())
    return it->second;
  if (term == "global") {
    std::string toks;
    for (int64_t t : {0, 2, 50})
      if (t < std::max(s.Lq, s.Lk))
        toks += (toks.empty() ? "" : ", ") + std::to_string(t);
    return "{mask = #attune.or<[#attune.sliding_window<left = 8, right = 8>, "
           "#attune.global<[" +
           toks + "]>]>}";
  }
  if (term == "block_sparse" || term == "block_sparse_per_head") {
    int64_t bq = 32, bk = 64;
    return "{mask = #attune.block_sparse<block_q = 32, block_k = 64, layout = " +
           blockLayout(term == "block_sparse" ? 0 : s.Hq, (s.Lq + bq - 1) / bq,
                       (s.Lk + bk - 1) / bk) +
           ">}";
  }
  if (term == "alibi_softcap_window") {
    std::string slopes;
    for (int64_t h = 0; h < s.Hq; ++h)
      slopes += (h ? ", " : "") + std::string(h % 2 ? "0.25" : "0.5");
    return "{mask = #attune.sliding_window<left = 100, right = 0>, score_mods "
           "= [#attune.alibi<[" +
           slopes + "]>, #attune.softcap<20.0>]}";
  }
  std::cerr << "attune-gpu-cases: internal: no mask term '" << term << "'\n";
  std::exit(2);
}

/// A mask region reading the head: key j is dropped when (j + h) % 4 == 3.
std::string keysMaskRegion() {
  return " mask {\n^bb0(%b: index, %h: index, %i: index, %j: index):\n"
         "  %s = arith.addi %j, %h : index\n"
         "  %c4 = arith.constant 4 : index\n"
         "  %r = arith.remui %s, %c4 : index\n"
         "  %c3 = arith.constant 3 : index\n"
         "  %ne = arith.cmpi ne, %r, %c3 : index\n"
         "  attune.yield %ne : i1\n}";
}

/// The regions of a region term (text after the attribute dictionary) and
/// the arguments they capture; both empty for the other terms.
void attentionRegions(const std::string &term, const AttnShape &s,
                      std::string &regions, std::string &extraArgs) {
  regions.clear();
  extraArgs.clear();
  if (term == "mask_region") {
    regions = bandMaskRegion();
  } else if (term == "score_region_bias") {
    regions = relBiasScoreRegion(s.Hq, s.Lk);
    extraArgs = relBiasArgument(s.Hq, s.Lk);
  } else if (term == "regions_and_terms") {
    regions = keysMaskRegion() + relBiasScoreRegion(s.Hq, s.Lk);
    extraArgs = relBiasArgument(s.Hq, s.Lk);
  } else if (term == "document_mask_region") {
    regions = keysMaskRegion();
  }
}

Case attentionCase(const std::string &term, const std::string &tag,
                   AttnShape s, const std::string &dt) {
  bool doc = term.rfind("document", 0) == 0;
  std::string attrs = attentionAttrs(term, s), regions, extraArgs;
  attentionRegions(term, s, regions, extraArgs);
  Case c;
  c.name = "attention_" + term + (tag.empty() ? "" : "_" + tag) + "_b" +
           std::to_string(s.B) + "h" + std::to_string(s.Hq) + "_" +
           std::to_string(s.Hkv) + "_" + std::to_string(s.Lq) + "x" +
           std::to_string(s.Lk) + "_d" + std::to_string(s.D) + "_" + dt;
  // Region cases and f32 (the SIMT path) compile in modules of their own.
  c.group =
      std::string(isRegionTerm(term) ? "attention_regions_" : "attention_") +
      dt;
  c.kind = "attention:" + term + (tag.empty() ? "" : "_" + tag);
  c.dtype = dt;
  c.mlir = attentionFunction(c.name, s, dt, attrs, doc, regions, extraArgs);
  if (doc) {
    // Several documents of irregular lengths (ids repeat: 0..4, 0..4, ...),
    // q and kv ids end aligned, batches shifted; query row Lq/2 has an id no
    // key has: a fully masked row.
    auto docOf = [](int64_t i) { return (i * 7 / 97) % 5; };
    int64_t off = std::max<int64_t>(s.Lk - s.Lq, 0), Lq = s.Lq, Lk = s.Lk;
    c.inputs["dq"] = ints(DType::I32, {s.B, s.Lq}, [=](int64_t i) -> int64_t {
      int64_t b = i / Lq, p = i % Lq;
      if (Lq >= 3 && p == Lq / 2)
        return 9;
      return docOf(p + off + 13 * b);
    });
    c.inputs["dk"] = ints(DType::I32, {s.B, s.Lk}, [=](int64_t i) {
      return docOf(i % Lk + 13 * (i / Lk));
    });
  }
  return c;
}

/// Every mask term and score modification, each over four shapes (two per
/// dtype) that together cover L in {1, 3, 113, 239, 1023, 1025} (Lq != Lk)
/// and head dims 64, 96 and 128; then GQA 12:2, MQA, long sequences on both
/// sides and combinations; then f32 (a few terms) and mask/score regions (in
/// every dtype). Sizes are chosen to keep the case directory under 40 MiB:
/// the long-query shapes use D = 64 (their gold output is the largest
/// file), the 113 x 239 grids carry D = 96 and 128.
std::vector<Case> attentionCases() {
  const std::vector<std::string> terms = {
      "dense",    "causal",  "causal_br", "window",    "global",
      "block_sparse", "strided", "dilated", "document", "prefix_lm",
      "alibi",    "softcap", "and"};
  const int64_t Ds[3] = {64, 96, 128};
  std::vector<Case> cases;
  for (size_t t = 0; t < terms.size(); ++t) {
    bool odd = t % 2;
    int64_t dA = odd ? 96 : 128, dA2 = odd ? 128 : 96, dC = Ds[t % 3];
    int64_t B = terms[t] == "document" ? 2 : 1;
    // f16: one tile grid with both sides ragged, one long query side.
    cases.push_back(attentionCase(
        terms[t], "", {B, 2, 1, odd ? 239 : 113, odd ? 113 : 239, dA}, "f16"));
    cases.push_back(
        attentionCase(terms[t], "", {1, 1, 1, 1025, odd ? 3 : 1, 64}, "f16"));
    // bf16: the tile grid transposed, one long key side.
    cases.push_back(attentionCase(
        terms[t], "", {B, 2, 1, odd ? 113 : 239, odd ? 239 : 113, dA2},
        "bf16"));
    cases.push_back(
        attentionCase(terms[t], "", {1, 1, 1, odd ? 1 : 3, 1023, dC}, "bf16"));
  }
  // GQA 12:2 and MQA.
  cases.push_back(
      attentionCase("causal_br", "gqa", {1, 12, 2, 113, 239, 96}, "f16"));
  cases.push_back(
      attentionCase("causal", "gqa", {1, 12, 2, 113, 239, 64}, "bf16"));
  cases.push_back(
      attentionCase("window", "mqa", {2, 4, 1, 113, 239, 64}, "f16"));
  cases.push_back(
      attentionCase("dense", "mqa", {1, 4, 1, 239, 113, 96}, "bf16"));
  // Both sides long.
  cases.push_back(
      attentionCase("causal", "long", {1, 1, 1, 1023, 1025, 64}, "f16"));
  cases.push_back(
      attentionCase("causal_br", "long", {1, 1, 1, 1025, 1023, 128}, "bf16"));
  for (std::string dt : {"f16", "bf16"}) {
    cases.push_back(
        attentionCase("document_causal_br", "", {1, 2, 2, 113, 239, 96}, dt));
    cases.push_back(attentionCase("block_sparse_per_head", "",
                                  {1, 2, 1, 113, 239, 64}, dt));
    cases.push_back(attentionCase("alibi_softcap_window", "",
                                  {1, 2, 1, 239, 113, 64}, dt));
  }
  // f32: the SIMT path (head dims up to 128), over the same ragged grids.
  struct F32Case {
    const char *term, *tag;
    AttnShape shape;
  };
  for (const F32Case &f :
       {F32Case{"dense", "", {1, 2, 1, 113, 239, 128}},
        F32Case{"causal_br", "", {1, 2, 1, 239, 113, 96}},
        F32Case{"document", "", {1, 2, 1, 113, 239, 64}},
        F32Case{"block_sparse", "", {1, 2, 1, 239, 113, 128}},
        F32Case{"block_sparse_per_head", "", {1, 2, 1, 113, 239, 64}},
        F32Case{"causal", "gqa", {1, 4, 2, 113, 239, 64}},
        F32Case{"alibi_softcap_window", "", {1, 2, 1, 239, 113, 64}},
        F32Case{"causal_br", "long", {1, 1, 1, 3, 1023, 64}}})
    cases.push_back(attentionCase(f.term, f.tag, f.shape, "f32"));
  // Mask and score regions, in every dtype: CompiledNumericsTest's band mask
  // and relative-bias score, a mask region and a score region after a named
  // mask and a score modification, a mask region after document ids.
  for (std::string dt : {"f16", "bf16", "f32"}) {
    cases.push_back(
        attentionCase("mask_region", "", {1, 2, 1, 113, 113, 64}, dt));
    cases.push_back(
        attentionCase("score_region_bias", "", {1, 2, 1, 113, 239, 64}, dt));
    cases.push_back(
        attentionCase("regions_and_terms", "", {1, 2, 1, 239, 113, 64}, dt));
    cases.push_back(
        attentionCase("document_mask_region", "", {1, 2, 1, 113, 239, 64}, dt));
  }
  return cases;
}

//===------------------------- dilated, LSH attention ----------------------===//

std::string joined(const std::vector<int64_t> &v, const std::string &sep) {
  std::string r;
  for (size_t i = 0; i < v.size(); ++i)
    r += (i ? sep : "") + std::to_string(v[i]);
  return r;
}

/// attune.dilated_attention (LongNet): one branch per (segment, rate).
Case dilatedCase(AttnShape s, const std::vector<int64_t> &segments,
                 const std::vector<int64_t> &rates, bool causal,
                 const std::string &dt) {
  std::string q = shapeStr({s.B, s.Hq, s.Lq, s.D}, dt),
              k = shapeStr({s.B, s.Hkv, s.Lk, s.D}, dt),
              l = shapeStr({s.B, s.Hq, s.Lq}, "f32");
  Case c;
  c.name = std::string("dilated_attention_") + (causal ? "causal_" : "") + "s" +
           joined(segments, "_") + "_r" + joined(rates, "_") + "_b" +
           std::to_string(s.B) + "h" + std::to_string(s.Hq) + "_" +
           std::to_string(s.Hkv) + "_" + std::to_string(s.Lq) + "x" +
           std::to_string(s.Lk) + "_d" + std::to_string(s.D) + "_" + dt;
  c.group = "dilated_attention_" + dt;
  c.kind = std::string("dilated_attention") + (causal ? ":causal" : "") + ":" +
           std::to_string(segments.size()) + "_branches";
  c.dtype = dt;
  std::ostringstream m;
  m << "func.func @" << c.name << "(%q: " << q
    << " {attune.name = \"q\"}, %k: " << k
    << " {attune.name = \"k\"}, %v: " << k << " {attune.name = \"v\"}) -> ("
    << q << " {attune.name = \"o\"}, " << l << " {attune.name = \"lse\"}) {\n"
    << "  %o, %l = attune.dilated_attention %q, %k, %v {segments = "
       "array<i64: "
    << joined(segments, ", ") << ">, rates = array<i64: " << joined(rates, ", ")
    << ">" << (causal ? ", causal" : "") << "} : (" << q << ", " << k << ", "
    << k << ") -> (" << q << ", " << l << ")\n"
    << "  return %o, %l : " << q << ", " << l << "\n}\n";
  c.mlir = m.str();
  return c;
}

/// LongNet's branches (rates 1, 2, 4 over segments up to 128), causal or
/// not, over lengths that are and are not multiples of the largest segment
/// (113, 239; 192, 256), with GQA and Lq != Lk.
std::vector<Case> dilatedCases() {
  std::vector<Case> cases;
  auto add = [&](const std::string &dt, AttnShape s,
                 std::vector<int64_t> segments, std::vector<int64_t> rates,
                 bool causal) {
    cases.push_back(dilatedCase(s, segments, rates, causal, dt));
  };
  add("f16", {1, 2, 1, 239, 239, 64}, {32, 64, 128}, {1, 2, 4}, true);
  add("f16", {1, 2, 1, 192, 192, 96}, {32, 64}, {1, 2}, false);
  add("f16", {1, 2, 1, 113, 239, 128}, {16, 64, 128}, {1, 2, 4}, false);
  add("bf16", {1, 2, 1, 239, 239, 96}, {32, 64, 128}, {1, 2, 4}, false);
  add("bf16", {1, 2, 1, 113, 113, 128}, {64, 128}, {2, 4}, true);
  add("bf16", {1, 2, 1, 256, 256, 64}, {64, 128}, {1, 4}, true);
  add("f32", {1, 2, 1, 239, 239, 64}, {16, 64, 128}, {1, 2, 4}, true);
  add("f32", {1, 4, 2, 113, 113, 64}, {64, 128}, {2, 4}, false);
  add("f32", {1, 2, 1, 192, 192, 96}, {32, 64}, {1, 2}, true);
  // Two gathered branches of equal shapes but different segments: each
  // needs its own kernel.
  add("f16", {1, 2, 1, 256, 256, 64}, {96, 160}, {2, 2}, false);
  return cases;
}

/// attune.lsh_attention (Reformer): rotations from the seed, or given as an
/// input tensor of dtype `rotDt` (rotDt empty: from the seed).
Case lshCase(int64_t B, int64_t H, int64_t L, int64_t D, int64_t buckets,
             int64_t rounds, int64_t chunk, bool causal,
             const std::string &rotDt, int64_t seed, const std::string &dt) {
  std::string x = shapeStr({B, H, L, D}, dt), l = shapeStr({B, H, L}, "f32"),
              r = shapeStr({rounds, D, buckets / 2}, rotDt);
  Case c;
  c.name = std::string("lsh_attention_") + (causal ? "causal_" : "") + "nb" +
           std::to_string(buckets) + "_r" + std::to_string(rounds) + "_c" +
           std::to_string(chunk) + "_" +
           (rotDt.empty() ? "seed" + std::to_string(seed) : "rot_" + rotDt) +
           "_b" + std::to_string(B) + "h" + std::to_string(H) + "_" +
           std::to_string(L) + "_d" + std::to_string(D) + "_" + dt;
  c.group = "lsh_attention_" + dt;
  c.kind = std::string("lsh_attention") + (causal ? ":causal" : "") +
           (rotDt.empty() ? ":seed" : ":rotations");
  c.dtype = dt;
  std::ostringstream m;
  m << "func.func @" << c.name << "(%qk: " << x
    << " {attune.name = \"qk\"}, %v: " << x << " {attune.name = \"v\"}";
  if (!rotDt.empty())
    m << ", %rot: " << r << " {attune.name = \"rot\"}";
  m << ") -> (" << x << " {attune.name = \"o\"}, " << l
    << " {attune.name = \"lse\"}) {\n"
    << "  %o, %l = attune.lsh_attention %qk, %v";
  if (!rotDt.empty())
    m << " rotations %rot";
  m << " {num_buckets = " << buckets << " : i64, num_rounds = " << rounds
    << " : i64, chunk_size = " << chunk << " : i64, seed = " << seed << " : i64"
    << (causal ? ", causal" : "") << "} : (" << x << ", " << x;
  if (!rotDt.empty())
    m << ", " << r;
  m << ") -> (" << x << ", " << l << ")\n"
    << "  return %o, %l : " << x << ", " << l << "\n}\n";
  c.mlir = m.str();
  return c;
}

/// Two rounds, 4 or 8 buckets, chunks of 32 or 64 over L = 113 and 239
/// (ragged last chunks), causal or not, rotations from the seed or given
/// (in the model's dtype: the CPU backend, which checks the harness, reads
/// them in qk's dtype), in each dtype.
std::vector<Case> lshCases() {
  struct Row {
    const char *dt;
    int64_t B, L, D, buckets, chunk;
    bool causal;
    const char *rotDt; ///< "" for rotations from the seed
    int64_t seed;
  };
  // Each dtype: causal and not, 4 and 8 buckets, chunks of 32 and 64, L 113
  // and 239, rotations given and from the seed.
  const Row rows[] = {
      {"f16", 1, 239, 64, 8, 32, true, "f16", 5},
      {"f16", 1, 113, 128, 4, 64, false, "", 42},
      {"bf16", 1, 239, 96, 4, 64, true, "", 7},
      {"bf16", 1, 113, 64, 8, 32, false, "bf16", 11},
      {"f32", 1, 113, 96, 8, 64, true, "f32", 5},
      {"f32", 1, 239, 64, 4, 32, false, "", 42},
  };
  std::vector<Case> cases;
  for (const Row &r : rows)
    cases.push_back(lshCase(r.B, 2, r.L, r.D, r.buckets, 2, r.chunk, r.causal,
                            r.rotDt, r.seed, r.dt));
  return cases;
}

//===------------------------------ other ops -----------------------------===//

/// CompiledNumericsTest's op models (NumericsCases.h), plus rows longer than
/// a thread block, in f32, f16 and bf16.
std::vector<Case> opCases() {
  std::vector<OpModel> models = opModels();
  // Rows longer than a thread block (the GPU's reductions loop over them).
  models.push_back({"rms_norm", "rms_norm_wide", R"(
func.func @f(%x: tensor<3x1025xDT> {attune.name = "x"}, %w: tensor<1025xDT> {attune.name = "w"}) -> tensor<3x1025xDT> {
  %y = attune.rms_norm %x weight %w : (tensor<3x1025xDT>, tensor<1025xDT>) -> tensor<3x1025xDT>
  return %y : tensor<3x1025xDT>
})"});
  models.push_back({"layer_norm", "layer_norm_wide", R"(
func.func @f(%x: tensor<5x1023xDT> {attune.name = "x"}, %w: tensor<1023xDT> {attune.name = "w"}, %b: tensor<1023xDT> {attune.name = "b"}) -> tensor<5x1023xDT> {
  %y = attune.layer_norm %x weight %w bias %b : (tensor<5x1023xDT>, tensor<1023xDT>, tensor<1023xDT>) -> tensor<5x1023xDT>
  return %y : tensor<5x1023xDT>
})"});
  models.push_back({"linear", "linear_k1023", R"(
func.func @f(%x: tensor<17x1023xDT> {attune.name = "x"}, %w: tensor<96x1023xDT> {attune.name = "w"}) -> tensor<17x96xDT> {
  %y = attune.linear %x, %w : (tensor<17x1023xDT>, tensor<96x1023xDT>) -> tensor<17x96xDT>
  return %y : tensor<17x96xDT>
})",
                    {},
                    0.5});
  models.push_back({"mlp:gelu", "mlp_gelu", R"(
func.func @f(%x: tensor<3x113x96xDT> {attune.name = "x"}, %u: tensor<239x96xDT> {attune.name = "u"}, %d: tensor<96x239xDT> {attune.name = "d"}) -> tensor<3x113x96xDT> {
  %y = attune.mlp %x, %u, %d {activation = #attune.activation<gelu>} : (tensor<3x113x96xDT>, tensor<239x96xDT>, tensor<96x239xDT>) -> tensor<3x113x96xDT>
  return %y : tensor<3x113x96xDT>
})",
                    {},
                    0.5});
  models.push_back({"softmax", "softmax_wide", R"(
func.func @f(%x: tensor<5x1023xDT> {attune.name = "x"}) -> tensor<5x1023xDT> {
  %y = attune.softmax %x : (tensor<5x1023xDT>) -> tensor<5x1023xDT>
  return %y : tensor<5x1023xDT>
})",
                    {},
                    3.0});
  models.push_back({"cross_entropy:mean", "cross_entropy_wide_mean", R"(
func.func @f(%x: tensor<17x1025xDT> {attune.name = "x"}, %l: tensor<17xi64> {attune.name = "l"}) -> tensor<f32> {
  %c = attune.cast %x : tensor<17x1025xDT> to tensor<17x1025xf32>
  %y = attune.cross_entropy %c, %l {reduction = #attune.reduction<mean>} : (tensor<17x1025xf32>, tensor<17xi64>) -> tensor<f32>
  return %y : tensor<f32>
})",
                    {{"l", ints(DType::I64, {17},
                                [](int64_t i) { return i * 311 % 1025; })}},
                    2.0});
  models.push_back({"layout:transpose_2d", "transpose_2d", R"(
func.func @f(%x: tensor<113x239xDT> {attune.name = "x"}) -> tensor<239x113xDT> {
  %t = attune.transpose %x {permutation = array<i64: 1, 0>} : (tensor<113x239xDT>) -> tensor<239x113xDT>
  return %t : tensor<239x113xDT>
})"});
  models.push_back({"reduce", "reduce_wide", R"(
func.func @f(%x: tensor<3x1025xDT> {attune.name = "x"}) -> (tensor<3xDT> {attune.name = "sum"}, tensor<3xDT> {attune.name = "max"}) {
  %a = attune.reduce %x {kind = #attune.reduce_kind<sum>, axes = array<i64: 1>} : (tensor<3x1025xDT>) -> tensor<3xDT>
  %b = attune.reduce %x {kind = #attune.reduce_kind<max>, axes = array<i64: 1>} : (tensor<3x1025xDT>) -> tensor<3xDT>
  return %a, %b : tensor<3xDT>, tensor<3xDT>
})"});

  std::vector<Case> cases;
  for (const OpModel &m : models)
    for (const std::string dt : {"f32", "f16", "bf16"}) {
      Case c;
      c.name = m.name + "_" + dt;
      c.group = "ops_" + dt;
      c.kind = m.kind;
      c.dtype = dt;
      c.mlir = instantiate(m, dt, c.name);
      c.inputs = m.inputs;
      c.scale = m.scale;
      cases.push_back(c);
    }
  return cases;
}

/// --extended: attention cases for the PTX interpreter, which has no carry
/// budget (they stay on the build machine): the code paths of head dims
/// the grid above leaves out (beyond 128 Q is read from shared memory, beyond
/// 192 two CTAs split V's columns; 32 and 80 pad differently), and grids of
/// many tiles on both sides with several heads.
std::vector<Case> extendedAttentionCases() {
  std::vector<Case> cases;
  auto add = [&](const std::string &term, const std::string &tag,
                 AttnShape shape, const std::string &dt) {
    Case c = attentionCase(term, tag, shape, dt);
    c.group = "attention_ext_" + dt;
    cases.push_back(std::move(c));
  };
  for (int64_t D : {32, 80, 160, 192, 256}) {
    add("dense", "ext", {1, 2, 1, 239, 113, D}, "bf16");
    add("causal_br", "ext", {1, 2, 1, 113, 239, D}, "f16");
    add("window", "ext", {1, 2, 2, 239, 239, D}, "bf16");
  }
  add("causal", "ext_gqa", {1, 8, 2, 1025, 1025, 128}, "bf16");
  add("document", "ext", {2, 2, 1, 1025, 1025, 64}, "f16");
  add("window", "ext_long", {1, 2, 1, 1025, 1023, 96}, "bf16");
  add("alibi_softcap_window", "ext", {1, 4, 2, 1023, 1025, 128}, "f16");
  add("block_sparse", "ext", {2, 2, 1, 1025, 1025, 64}, "bf16");
  // Split V (head dim 256) with GQA, and the f32 (SIMT) path over long
  // lists.
  add("causal_br", "ext_gqa", {1, 6, 2, 239, 1025, 256}, "f16");
  add("document_causal_br", "ext", {2, 2, 1, 1025, 1025, 64}, "f32");
  // The benchmark's masks at its shortest-but-one length (L = 4096, whole
  // tiles, long tile lists): a 1024 window, documents, causal.
  add("window1024", "ext_bench", {1, 1, 1, 4096, 4096, 128}, "bf16");
  add("document_causal", "ext_bench", {1, 2, 1, 4096, 4096, 128}, "bf16");
  add("causal", "ext_bench", {1, 1, 1, 4096, 4096, 64}, "bf16");
  return cases;
}

std::vector<Case> allCases(bool extended) {
  std::vector<Case> cases;
  for (std::vector<Case> part :
       {attentionCases(), dilatedCases(), lshCases(), opCases()})
    cases.insert(cases.end(), part.begin(), part.end());
  if (extended) {
    for (Case &c : extendedAttentionCases())
      cases.push_back(std::move(c));
    // LongNet at length: the gathered branches of rates 2 to 8 with many
    // heads (every offset h % r), GQA, causal, and Lq != Lk.
    for (Case c :
         {dilatedCase({1, 8, 2, 1024, 1024, 64}, {256, 512, 1024}, {2, 4, 8},
                      true, "bf16"),
          dilatedCase({2, 4, 4, 1000, 1000, 128}, {128, 256}, {1, 4}, false,
                      "f16"),
          dilatedCase({1, 3, 1, 700, 1025, 64}, {64, 2048}, {2, 8}, false,
                      "bf16"),
          // Fewer rows than the rate: offsets without rows or keys.
          dilatedCase({1, 5, 1, 3, 2, 64}, {8, 16}, {4, 8}, true, "f16"),
          dilatedCase({1, 2, 1, 1, 7, 32}, {4, 8}, {2, 4}, false, "bf16")}) {
      c.group += "_ext";
      cases.push_back(std::move(c));
    }
    // LSH sorts: many positions per thread of the parallel sort (64 and
    // 16 buckets), and the serial sort of thousands of buckets.
    for (Case c : {lshCase(2, 2, 1024, 64, 64, 2, 64, true, "", 3, "bf16"),
                   lshCase(1, 2, 1000, 64, 16, 3, 32, false, "", 9, "f16"),
                   lshCase(1, 2, 300, 64, 1024, 2, 32, true, "", 4, "bf16"),
                   lshCase(1, 3, 512, 128, 32, 4, 64, false, "bf16", 21, "bf16")}) {
      c.group += "_ext"; // the name (also the function's) stays unique
      cases.push_back(std::move(c));
    }
  }
  return cases;
}

//===----------------------------------------------------------------------===//
// Generation
//===----------------------------------------------------------------------===//

std::unique_ptr<mlir::MLIRContext> makeContext() {
  mlir::DialectRegistry registry;
  attune::registerAllDialects(registry);
  registry.insert<mlir::LLVM::LLVMDialect>();
  auto ctx = std::make_unique<mlir::MLIRContext>(
      registry, mlir::MLIRContext::Threading::DISABLED);
  ctx->loadAllAvailableDialects();
  return ctx;
}

/// Collects a context's diagnostics as text.
struct DiagCollector {
  explicit DiagCollector(mlir::MLIRContext &ctx)
      : handler(&ctx, [this](mlir::Diagnostic &d) {
          std::string loc;
          llvm::raw_string_ostream os(loc);
          os << d.getLocation();
          text += loc + ": " + d.str() + "\n";
          for (mlir::Diagnostic &n : d.getNotes())
            text += "  note: " + n.str() + "\n";
          return mlir::success();
        }) {}
  std::string text;
  mlir::ScopedDiagnosticHandler handler;
};

bool writeBytes(const fs::path &p, const void *data, size_t n) {
  fs::create_directories(p.parent_path());
  std::ofstream f(p, std::ios::binary);
  f.write(static_cast<const char *>(data), static_cast<std::streamsize>(n));
  return static_cast<bool>(f);
}

bool writeText(const fs::path &p, const std::string &s) {
  return writeBytes(p, s.data(), s.size());
}

struct Options {
  fs::path out;
  std::vector<std::string> filters;
  bool list = false;
  bool keepPtx = false;
  bool extended = false; ///< add extendedAttentionCases()
  unsigned jobs = 2;
  std::string ptxas;
  /// cuda (the GPU cases), or cpu: the same cases for the CPU device, which
  /// checks the harness itself on a machine without a GPU.
  std::string target = "cuda";
  /// --compile-one IN OUT: the child mode of compileInChild.
  std::string compileIn, compileOut;
};

/// A case after the reference ran: its record (module path still empty)
/// and the files are written; `error` is set when it failed.
struct Prepared {
  const Case *c = nullptr;
  gpucases::CaseRecord record;
  std::string error;
  double seconds = 0;
};

/// Input files written so far (OUTDIR/inputs/<name>), shared by cases.
std::mutex inputFilesMu;
std::set<std::string> inputFiles;

/// Evaluates gold and lowp, computes the bounds and writes inputs/gold.
void prepare(const Options &opt, Prepared &p) {
  const Case &c = *p.c;
  auto t0 = std::chrono::steady_clock::now();
  auto ctx = makeContext();
  DiagCollector diags(*ctx);
  auto module = mlir::parseSourceString<mlir::ModuleOp>(c.mlir, ctx.get());
  if (!module) {
    p.error = "parse failed:\n" + diags.text;
    return;
  }
  auto func = module->lookupSymbol<mlir::func::FuncOp>(c.name);
  if (!func) {
    p.error = "internal: no function @" + c.name;
    return;
  }
  StatusOr<std::vector<ref::ValueInfo>> args = ref::describeArguments(func);
  StatusOr<std::vector<ref::ValueInfo>> results = ref::describeResults(func);
  if (!args || !results) {
    p.error = !args ? args.status().message() : results.status().message();
    return;
  }
  // Inputs and reference as CompiledNumericsTest has them (NumericsCases.h).
  std::vector<RefTensor> in = drawInputs(*args, c.inputs, c.scale);
  std::vector<RefTensor> gold, lowp;
  std::string refError = evaluateReference(*module, c.name, in, gold, lowp);
  if (!refError.empty()) {
    p.error = refError + "\n" + diags.text;
    return;
  }
  if (gold.size() != results->size() || lowp.size() != results->size()) {
    p.error = "internal: the reference returned " +
              std::to_string(gold.size()) + " results, the signature has " +
              std::to_string(results->size());
    return;
  }

  fs::path dir = opt.out / c.name;
  gpucases::CaseRecord &r = p.record;
  r.name = c.name;
  r.function = c.name;
  for (size_t i = 0; i < args->size(); ++i) {
    const ref::ValueInfo &info = (*args)[i];
    HostTensor h = in[i].toHost();
    gpucases::TensorRecord t;
    t.name = info.name;
    t.dtype = std::string(dtypeName(info.dtype));
    t.shape = h.shape();
    // Cases of one shape draw the same inputs: one file per content.
    uint64_t hash = 1469598103934665603ull;
    for (size_t b = 0; b < h.byteSize(); ++b)
      hash = (hash ^ h.data()[b]) * 1099511628211ull;
    char hex[17];
    std::snprintf(hex, sizeof hex, "%016llx",
                  static_cast<unsigned long long>(hash));
    std::string file = t.dtype + "_" + gpucases::shapeText(t.shape) + "_" +
                       hex + ".bin";
    t.file = "../inputs/" + file;
    {
      std::lock_guard<std::mutex> lock(inputFilesMu);
      if (inputFiles.insert(file).second &&
          !writeBytes(opt.out / "inputs" / file, h.data(), h.byteSize())) {
        p.error = "cannot write " + (opt.out / "inputs" / file).string();
        return;
      }
    }
    r.inputs.push_back(t);
  }
  for (size_t i = 0; i < results->size(); ++i) {
    const ref::ValueInfo &info = (*results)[i];
    const RefTensor &g = gold[i], &l = lowp[i];
    if (g.shape != l.shape || g.data.size() != l.data.size()) {
      p.error = "result '" + info.name + "': gold and lowp shapes differ";
      return;
    }
    double refErr = 0;
    for (size_t e = 0; e < g.data.size(); ++e) {
      double gv = g.data[e], lv = l.data[e];
      bool gFinite = std::isfinite(gv), lFinite = std::isfinite(lv);
      if (gFinite && lFinite) {
        refErr = std::max(refErr, std::fabs(lv - gv));
        continue;
      }
      bool same = (std::isnan(gv) && std::isnan(lv)) || gv == lv;
      if (!same) {
        p.error = "result '" + info.name + "': lowp and gold disagree on a "
                  "non-finite value at element " + std::to_string(e) +
                  " (gold " + gpucases::numberText(gv) + ", lowp " +
                  gpucases::numberText(lv) + "); no bound can be derived";
        return;
      }
    }
    gpucases::TensorRecord t;
    t.name = info.name;
    t.dtype = std::string(dtypeName(g.dtype));
    t.shape = g.shape;
    t.file = "gold/" + info.name + ".bin";
    bool f64 = g.dtype == DType::F64;
    t.goldDtype = f64 ? "f64" : "f32";
    t.refError = refErr;
    t.floor = toleranceFloor(g, c.floorF32, c.floorLow);
    t.bound = 2 * refErr + t.floor;
    bool ok;
    if (!f64) {
      std::vector<float> v(g.data.begin(), g.data.end());
      ok = writeBytes(dir / t.file, v.data(), v.size() * sizeof(float));
    } else {
      ok = writeBytes(dir / t.file, g.data.data(),
                      g.data.size() * sizeof(double));
    }
    if (!ok) {
      p.error = "cannot write " + (dir / t.file).string();
      return;
    }
    r.results.push_back(t);
  }
  p.seconds = std::chrono::duration<double>(
                  std::chrono::steady_clock::now() - t0)
                  .count();
}

/// Compiles `texts` (func.func definitions) as one module for cuda and
/// writes the artifact to `path`; "" or the error.
std::string compileModule(const Options &opt, const std::string &text,
                          const fs::path &path) {
  auto ctx = makeContext();
  DiagCollector diags(*ctx);
  auto module = mlir::parseSourceString<mlir::ModuleOp>(text, ctx.get());
  if (!module)
    return "parse failed:\n" + diags.text;
  mlir::FailureOr<codegen::LoweredModule> lowered =
      codegen::lowerModule(*module, {});
  if (failed(lowered))
    return "lowering failed:\n" + diags.text;
  artifact::ModuleDesc &desc = lowered->desc;
  std::string error;
  if (opt.target == "cpu") {
    codegen::CpuOptions cpu = codegen::defaultCpuOptions("attune-gpu-cases");
    if (failed(codegen::buildCpuSharedObject(*lowered->hooks, lowered->kernels,
                                             cpu, desc.cpuSharedObject,
                                             error)))
      return "shared object: " + error + "\n" + diags.text;
    desc.targets = {"cpu"};
    desc.cpuArch = cpu.arch;
  } else {
    codegen::CudaOptions cuda;
    if (failed(codegen::parseCudaTarget("cuda:sm_80,sm_90a", cuda, error)))
      return error;
    cuda.ptxas = opt.ptxas;
    std::vector<codegen::PtxasKernelInfo> report;
    if (failed(codegen::buildCudaCode(*lowered, cuda, report, error)))
      return "cuda code: " +
             (error.empty() ? std::string("(see below)") : error) + "\n" +
             diags.text;
    // Every kernel of every case, for both architectures, without register
    // spills (the lit tests check the same for their kernels).
    std::string spills;
    for (const codegen::PtxasKernelInfo &k : report)
      if (k.spillStores || k.spillLoads)
        spills += "  " + k.arch + " " + k.kernel + ": " +
                  std::to_string(k.spillStores) + " bytes spill stores, " +
                  std::to_string(k.spillLoads) + " bytes spill loads\n";
    if (!spills.empty())
      return "ptxas spills registers:\n" + spills;
    desc.targets = {"cuda"};
  }
  desc.compilerVersion = "attune-gpu-cases " ATTUNE_VERSION;
  // The GPU machines have cubins for their architecture (sm_80, sm_90a);
  // the PTX (for the driver's JIT on other GPUs) only adds size.
  if (!opt.keepPtx)
    desc.ptx.clear();
  std::vector<uint8_t> bytes;
  Status s = artifact::writeArtifact(desc, bytes);
  if (!s.isOk())
    return "writeArtifact: " + s.message();
  if (!writeBytes(path, bytes.data(), bytes.size()))
    return "cannot write " + path.string();
  return "";
}

/// Compiles in a child process (this executable with --compile-one), so
/// that a crash of the compiler fails the module, not the generator. The
/// MLIR and the child's output are kept in `failedDir` when it fails.
std::string compileInChild(const Options &opt, const std::string &text,
                           const fs::path &atm, const fs::path &failedDir) {
  fs::path mlirPath = atm, logPath = atm;
  mlirPath.replace_extension(".mlir");
  logPath.replace_extension(".log");
  if (!writeText(mlirPath, text))
    return "cannot write " + mlirPath.string();
  std::vector<std::string> args = {"attune-gpu-cases", "--compile-one",
                                   mlirPath.string(), atm.string(),
                                   "--target", opt.target};
  if (!opt.ptxas.empty()) {
    args.push_back("--ptxas");
    args.push_back(opt.ptxas);
  }
  if (opt.keepPtx)
    args.push_back("--keep-ptx");
  std::vector<char *> argv;
  for (std::string &a : args)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, logPath.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  pid_t pid = 0;
  int rc = posix_spawn(&pid, "/proc/self/exe", &actions, nullptr, argv.data(),
                       environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0)
    return std::string("cannot start the compiler process: ") +
           std::strerror(rc);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  std::error_code ec;
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
    fs::remove(mlirPath, ec);
    fs::remove(logPath, ec);
    return "";
  }
  std::string log;
  gpucases::readFile(logPath.string(), log);
  std::string how =
      WIFSIGNALED(status)
          ? "the compiler crashed (signal " + std::to_string(WTERMSIG(status)) +
                ")"
          : "the compiler failed (exit " +
                std::to_string(WEXITSTATUS(status)) + ")";
  std::string kept;
  if (!failedDir.empty()) {
    fs::create_directories(failedDir, ec);
    fs::rename(mlirPath, failedDir / mlirPath.filename(), ec);
    fs::rename(logPath, failedDir / logPath.filename(), ec);
    kept = "; model and log in " + failedDir.string();
  } else {
    fs::remove(mlirPath, ec);
    fs::remove(logPath, ec);
  }
  while (!log.empty() && std::isspace(static_cast<unsigned char>(log.back())))
    log.pop_back();
  return how + kept + "\n" + log;
}

uint64_t directorySize(const fs::path &p) {
  uint64_t n = 0;
  for (const auto &e : fs::recursive_directory_iterator(p))
    if (e.is_regular_file())
      n += e.file_size();
  return n;
}

/// Runs f(i) for i in [0, n) on `jobs` threads.
void parallelFor(size_t n, unsigned jobs, const std::function<void(size_t)> &f) {
  std::atomic<size_t> next{0};
  std::vector<std::thread> threads;
  for (unsigned j = 0; j < std::max(1u, jobs); ++j)
    threads.emplace_back([&] {
      for (size_t i = next++; i < n; i = next++)
        f(i);
    });
  for (std::thread &t : threads)
    t.join();
}

int usage(const std::string &why) {
  std::cerr << "attune-gpu-cases: " << why
            << "\nusage: attune-gpu-cases OUTDIR [--filter SUBSTR]... "
               "[--list] [--jobs N] [--ptxas PATH] [--keep-ptx] "
               "[--extended] [--target cuda|cpu]\n";
  return 2;
}

} // namespace

int main(int argc, char **argv) {
  Options opt;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&](const char *flag) -> std::string {
      if (i + 1 >= argc) {
        usage(std::string(flag) + " expects a value");
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--filter")
      opt.filters.push_back(value("--filter"));
    else if (a == "--list")
      opt.list = true;
    else if (a == "--keep-ptx")
      opt.keepPtx = true;
    else if (a == "--extended")
      opt.extended = true;
    else if (a == "--jobs")
      opt.jobs = static_cast<unsigned>(std::max(1, std::atoi(value("--jobs").c_str())));
    else if (a == "--ptxas")
      opt.ptxas = value("--ptxas");
    else if (a == "--target")
      opt.target = value("--target");
    else if (a == "--compile-one") {
      opt.compileIn = value("--compile-one");
      opt.compileOut = value("--compile-one");
    }
    else if (!a.empty() && a[0] == '-')
      return usage("unknown option '" + a + "'");
    else if (opt.out.empty())
      opt.out = a;
    else
      return usage("more than one OUTDIR");
  }

  if (opt.target != "cuda" && opt.target != "cpu")
    return usage("--target is cuda or cpu, not '" + opt.target + "'");
  if (!opt.compileIn.empty()) {
    // The child mode compileInChild runs.
    std::string text;
    if (!gpucases::readFile(opt.compileIn, text)) {
      std::cerr << "cannot read " << opt.compileIn << "\n";
      return 1;
    }
    std::string err = compileModule(opt, text, opt.compileOut);
    if (!err.empty()) {
      std::cerr << err << "\n";
      return 1;
    }
    return 0;
  }

  std::vector<Case> cases;
  {
    std::set<std::string> seen;
    for (Case &c : allCases(opt.extended)) {
      if (!seen.insert(c.name).second) {
        std::cerr << "attune-gpu-cases: internal: case '" << c.name
                  << "' is defined twice\n";
        return 2;
      }
      bool keep = opt.filters.empty();
      for (const std::string &f : opt.filters)
        keep |= c.name.find(f) != std::string::npos;
      if (keep)
        cases.push_back(std::move(c));
    }
  }
  if (opt.list) {
    for (const Case &c : cases)
      std::cout << c.name << "\n";
    return 0;
  }
  if (opt.out.empty())
    return usage("no OUTDIR");
  if (cases.empty())
    return usage("no case matches the filters");
  if (opt.ptxas.empty())
    opt.ptxas = codegen::findPtxas();
  if (opt.target == "cuda" && opt.ptxas.empty()) {
    std::cout << "attune-gpu-cases: SKIPPED: ptxas not found (looked in "
                 "$CUDA_HOME/bin, /usr/local/cuda/bin and PATH); install the "
                 "CUDA toolkit or pass --ptxas PATH to generate the GPU "
                 "cases\n";
    return 77;
  }

  // A fresh directory; only one of ours (or an empty one) is replaced.
  std::error_code ec;
  if (fs::exists(opt.out)) {
    if (!fs::is_directory(opt.out) ||
        (!fs::is_empty(opt.out) && !fs::exists(opt.out / "MANIFEST.txt"))) {
      std::cerr << "attune-gpu-cases: " << opt.out.string()
                << " exists and is not a case directory (no MANIFEST.txt); "
                   "refusing to replace it\n";
      return 2;
    }
    fs::remove_all(opt.out, ec);
  }
  fs::create_directories(opt.out / "modules", ec);
  if (ec) {
    std::cerr << "attune-gpu-cases: cannot create " << opt.out.string() << ": "
              << ec.message() << "\n";
    return 2;
  }
  auto start = std::chrono::steady_clock::now();
  auto elapsed = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() -
                                         start)
        .count();
  };

  // 1. The reference: gold, lowp, bounds, inputs and gold files.
  std::vector<Prepared> prepared(cases.size());
  for (size_t i = 0; i < cases.size(); ++i)
    prepared[i].c = &cases[i];
  std::mutex printMu;
  parallelFor(cases.size(), opt.jobs, [&](size_t i) { prepare(opt, prepared[i]); });
  std::cout << "attune-gpu-cases: reference results for " << cases.size()
            << " cases (" << static_cast<int>(elapsed()) << " s)\n";

  // 2. One module per group, for cuda; a group that fails is compiled case
  // by case.
  std::map<std::string, std::vector<Prepared *>> groups;
  for (Prepared &p : prepared)
    if (p.error.empty())
      groups[p.c->group].push_back(&p);
  std::vector<std::string> groupNames;
  for (auto &[g, _] : groups)
    groupNames.push_back(g);
  // The largest groups first, to balance the workers.
  std::sort(groupNames.begin(), groupNames.end(),
            [&](const std::string &a, const std::string &b) {
              if (groups[a].size() != groups[b].size())
                return groups[a].size() > groups[b].size();
              return a < b;
            });
  parallelFor(groupNames.size(), opt.jobs, [&](size_t gi) {
    const std::string &g = groupNames[gi];
    std::vector<Prepared *> &members = groups[g];
    auto t0 = std::chrono::steady_clock::now();
    std::string text;
    for (Prepared *p : members)
      text += p->c->mlir + "\n";
    std::string err =
        compileInChild(opt, text, opt.out / "modules" / (g + ".atm"), {});
    double sec = std::chrono::duration<double>(
                     std::chrono::steady_clock::now() - t0)
                     .count();
    if (err.empty()) {
      for (Prepared *p : members)
        p->record.module = "../modules/" + g + ".atm";
      std::lock_guard<std::mutex> lock(printMu);
      std::cout << "attune-gpu-cases: compiled " << g << " ("
                << members.size() << " functions, "
                << static_cast<int>(sec) << " s)\n";
      return;
    }
    {
      std::lock_guard<std::mutex> lock(printMu);
      std::cout << "attune-gpu-cases: group " << g
                << " did not compile; compiling its " << members.size()
                << " cases one by one to name the failures\n";
    }
    fs::remove(opt.out / "modules" / (g + ".atm"), ec);
    for (Prepared *p : members) {
      std::string e = compileInChild(
          opt, p->c->mlir, opt.out / "modules" / (p->c->name + ".atm"),
          opt.out / "failed");
      if (e.empty())
        p->record.module = "../modules/" + p->c->name + ".atm";
      else
        p->error = "compile (" + opt.target + "): " + e;
    }
  });

  // 3. case.txt for the cases that made it, MANIFEST.txt, the summary.
  std::vector<const Prepared *> failed;
  std::string manifest = "# attune GPU numerics cases (attune-gpu-cases; "
                         "format: test/gpu/GpuCaseFormat.h)\n";
  // kind -> dtype -> count
  std::map<std::string, std::map<std::string, int>> counts;
  size_t written = 0;
  for (const Prepared &p : prepared) {
    if (!p.error.empty()) {
      failed.push_back(&p);
      fs::remove_all(opt.out / p.c->name, ec);
      continue;
    }
    if (!writeText(opt.out / p.c->name / "case.txt",
                   gpucases::formatCase(p.record))) {
      std::cerr << "attune-gpu-cases: cannot write "
                << (opt.out / p.c->name / "case.txt").string() << "\n";
      return 1;
    }
    manifest += p.c->name + "\n";
    counts[p.c->kind][p.c->dtype]++;
    ++written;
  }
  for (const Prepared *p : failed)
    manifest += "# FAILED " + p->c->name + "\n";
  writeText(opt.out / "MANIFEST.txt", manifest);

  std::cout << "\ncases per op / mask / dtype:\n";
  std::printf("  %-44s %5s %5s %5s\n", "kind", "f32", "f16", "bf16");
  std::map<std::string, int> totals;
  for (auto &[kind, byDt] : counts) {
    std::printf("  %-44s %5d %5d %5d\n", kind.c_str(), byDt["f32"],
                byDt["f16"], byDt["bf16"]);
    for (auto &[dt, n] : byDt)
      totals[dt] += n;
  }
  std::printf("  %-44s %5d %5d %5d\n", "total", totals["f32"], totals["f16"],
              totals["bf16"]);

  uint64_t bytes = directorySize(opt.out);
  uint64_t moduleBytes = directorySize(opt.out / "modules");
  std::printf("\nattune-gpu-cases: wrote %zu of %zu cases to %s: %.1f MiB "
              "(artifacts %.1f MiB) in %.0f s\n",
              written, cases.size(), opt.out.string().c_str(),
              bytes / 1048576.0, moduleBytes / 1048576.0, elapsed());
  int rc = 0;
  const uint64_t limit = 40ull << 20;
  // The budget is for carrying cubin cases to the GPU machine; cases with
  // PTX are for the PTX interpreter here (test/ptxemu) and stay here.
  if (bytes > limit && !opt.keepPtx) {
    std::printf("attune-gpu-cases: error: %s is %.1f MiB, over the %.0f MiB "
                "budget (the GPU machine's carry limit is 64 MiB in all); "
                "shrink the case grid\n",
                opt.out.string().c_str(), bytes / 1048576.0, limit / 1048576.0);
    rc = 1;
  }
  if (!failed.empty()) {
    // Every message in full in FAILED.txt; a short one per case here.
    std::string full;
    std::printf("\nattune-gpu-cases: error: %zu case(s) failed (messages in "
                "full: %s):\n",
                failed.size(), (opt.out / "FAILED.txt").string().c_str());
    for (const Prepared *p : failed) {
      full += "FAILED " + p->c->name + " (" + p->c->kind + ", " +
              p->c->dtype + ")\n" + p->error + "\n\n";
      // The first lines, and for a crash the innermost attune frame, tell
      // the families apart.
      std::istringstream in(p->error);
      std::string line, head, frame;
      for (int n = 0; std::getline(in, line);) {
        if (n < 4 && line.find("Stack dump") == std::string::npos &&
            line.rfind("PLEASE", 0) != 0 && line.rfind(" #", 0) != 0 &&
            line.rfind("#", 0) != 0) {
          head += "      " + line.substr(0, 300) + "\n";
          ++n;
        }
        if (frame.empty() && line.find("attune::") != std::string::npos &&
            line.find('#') != std::string::npos)
          frame = "      innermost attune frame: " + line.substr(0, 300) +
                  "\n";
      }
      std::printf("  FAILED %s\n%s%s", p->c->name.c_str(), head.c_str(),
                  frame.c_str());
    }
    writeText(opt.out / "FAILED.txt", full);
    rc = 1;
  }
  std::fflush(stdout);
  return rc;
}
