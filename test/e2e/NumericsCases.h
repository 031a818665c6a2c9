//===- NumericsCases.h - What the numerics tests share ----------*- C++ -*-===//
//
// What test/e2e/CompiledNumericsTest.cpp (compiled for the CPU, run in
// process) and test/gpu/GenerateGpuCases.cpp (compiled for cuda, run on a GPU
// machine) share, so that both hold the compiler to the same cases in the
// same way:
//   - the inputs: explicit ones, else normals from Philox (seed 11, one
//     stream per argument, from 1 in argument order) rounded to the dtype;
//   - the reference: gold (f64) and lowp (the model's own precision);
//   - the floor of the tolerance rule (DESIGN.md section 6):
//       max|out - gold| <= 2 max|lowp - gold| + floor * max(1, max|gold|);
//   - the attention function builder, its mask/score region texts, and the
//     op models (MLIR text in which `DT` stands for the float dtype and
//     `@f(` for the function).
//
// Header-only; needs the compiler's libraries (MLIR, the reference
// evaluator).
//
//===----------------------------------------------------------------------===//

#ifndef ATTUNE_TEST_E2E_NUMERICSCASES_H
#define ATTUNE_TEST_E2E_NUMERICSCASES_H

#include "attune/Reference/Interpreter.h"
#include "attune/runtime/Philox.h"

#include "mlir/IR/BuiltinOps.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace attune::numerics {

using ref::RefTensor;

/// What both tests know of a case; each adds its own fields.
struct NumericsCase {
  std::string name;
  std::string mlir;
  std::map<std::string, RefTensor> inputs; ///< explicit arguments by name
  double floorF32 = 1e-5, floorLow = 2e-3; ///< times max(1, max|gold|)
  double scale = 1.0;                      ///< of the random normals
};

//===------------------------------- inputs -------------------------------===//

/// Normals (Philox seed 11, `stream`) times `scale`, rounded to `dtype`.
inline RefTensor randomTensor(DType dtype, const std::vector<int64_t> &shape,
                              uint32_t stream, double scale) {
  RefTensor t(dtype, shape);
  for (int64_t i = 0; i < t.numElements(); ++i)
    t.data[i] = roundToDType(scale * philoxNormal(11, stream, i), dtype);
  return t;
}

/// Element i is f(i).
inline RefTensor ints(DType dtype, std::vector<int64_t> shape,
                      const std::function<int64_t(int64_t)> &f) {
  RefTensor t(dtype, std::move(shape));
  for (int64_t i = 0; i < t.numElements(); ++i)
    t.data[i] = static_cast<double>(f(i));
  return t;
}

/// One input per argument: the explicit one of that name, else normals
/// (streams from 1 in argument order).
inline std::vector<RefTensor>
drawInputs(const std::vector<ref::ValueInfo> &args,
           const std::map<std::string, RefTensor> &explicitInputs,
           double scale) {
  std::vector<RefTensor> in;
  uint32_t stream = 1;
  for (const ref::ValueInfo &info : args) {
    auto it = explicitInputs.find(info.name);
    in.push_back(it != explicitInputs.end()
                     ? it->second
                     : randomTensor(info.dtype, info.shape, stream, scale));
    ++stream;
  }
  return in;
}

//===------------------------------ reference -----------------------------===//

/// gold (f64) and lowp (the model's precision) of `function`; "" or what
/// failed.
inline std::string evaluateReference(mlir::ModuleOp module,
                                     const std::string &function,
                                     const std::vector<RefTensor> &args,
                                     std::vector<RefTensor> &gold,
                                     std::vector<RefTensor> &lowp) {
  Status s =
      ref::runFunction(module, function, args, ref::Precision::F64, gold);
  if (!s.isOk())
    return "reference (f64): " + s.message();
  s = ref::runFunction(module, function, args, ref::Precision::Native, lowp);
  if (!s.isOk())
    return "reference (native): " + s.message();
  return "";
}

/// The floor of a result: floorLow for bf16/f16 results, else floorF32,
/// times max(1, max|gold|) over its finite elements.
inline double toleranceFloor(const RefTensor &gold, double floorF32,
                             double floorLow) {
  double mx = 0;
  for (double v : gold.data)
    if (std::isfinite(v))
      mx = std::max(mx, std::fabs(v));
  bool low = gold.dtype == DType::BF16 || gold.dtype == DType::F16;
  return (low ? floorLow : floorF32) * std::max(1.0, mx);
}

//===------------------------------ MLIR text -----------------------------===//

/// "tensor<2x3xf32>" from {2, 3} and "f32".
inline std::string shapeStr(const std::vector<int64_t> &s,
                            const std::string &dt) {
  std::string r = "tensor<";
  for (int64_t d : s)
    r += std::to_string(d) + "x";
  return r + dt + ">";
}

inline void replaceAll(std::string &s, const std::string &from,
                       const std::string &to) {
  for (size_t p = s.find(from); p != std::string::npos;
       p = s.find(from, p + to.size()))
    s.replace(p, from.size(), to);
}

struct AttnShape {
  int64_t B, Hq, Hkv, Lq, Lk, D;
};

/// `func.func @<fname>` of one attune.attention with the attribute
/// dictionary `attrs`, optional doc ids (arguments dq, dk), regions (text
/// after the attributes) and extra arguments (text after the others, for
/// the tensors the regions read). Results o and lse.
inline std::string attentionFunction(const std::string &fname,
                                     const AttnShape &s, const std::string &dt,
                                     const std::string &attrs, bool doc,
                                     const std::string &regions = "",
                                     const std::string &extraArgs = "") {
  std::string q = shapeStr({s.B, s.Hq, s.Lq, s.D}, dt),
              k = shapeStr({s.B, s.Hkv, s.Lk, s.D}, dt),
              l = shapeStr({s.B, s.Hq, s.Lq}, "f32"),
              dq = shapeStr({s.B, s.Lq}, "i32"),
              dk = shapeStr({s.B, s.Lk}, "i32");
  std::ostringstream m;
  m << "func.func @" << fname << "(%q: " << q
    << " {attune.name = \"q\"}, %k: " << k
    << " {attune.name = \"k\"}, %v: " << k << " {attune.name = \"v\"}";
  if (doc)
    m << ", %dq: " << dq << " {attune.name = \"dq\"}, %dk: " << dk
      << " {attune.name = \"dk\"}";
  m << extraArgs << ") -> (" << q << " {attune.name = \"o\"}, " << l
    << " {attune.name = \"lse\"}) {\n";
  m << "  %o, %l = attune.attention %q, %k, %v";
  if (doc)
    m << " doc(%dq, %dk)";
  m << " " << attrs << regions << " : (" << q << ", " << k << ", " << k;
  if (doc)
    m << ", " << dq << ", " << dk;
  m << ") -> (" << q << ", " << l << ")\n";
  m << "  return %o, %l : " << q << ", " << l << "\n}\n";
  return m.str();
}

/// A mask region written by hand: a band of 9 keys ending at the query
/// (top-left aligned).
inline std::string bandMaskRegion() {
  return " mask {\n^bb0(%b: index, %h: index, %i: index, %j: index):\n"
         "  %d = arith.subi %i, %j : index\n  %c = arith.constant 9 : index\n"
         "  %lt = arith.cmpi ult, %d, %c : index\n"
         "  attune.yield %lt : i1\n}";
}

/// A score region adding a relative-bias table [heads, Lk] captured from
/// outside (the extra argument %rel of relBiasArgument).
inline std::string relBiasScoreRegion(int64_t heads, int64_t lk) {
  return " score {\n^bb0(%s: f32, %b: index, %h: index, %i: index, %j: "
         "index):\n"
         "  %x = tensor.extract %rel[%h, %j] : " +
         shapeStr({heads, lk}, "f32") +
         "\n"
         "  %t = arith.addf %s, %x : f32\n  attune.yield %t : f32\n}";
}

inline std::string relBiasArgument(int64_t heads, int64_t lk) {
  return ", %rel: " + shapeStr({heads, lk}, "f32") + " {attune.name = \"rel\"}";
}

//===------------------------------ op models -----------------------------===//

/// An op model: MLIR text with `DT` for the float dtype and `@f(` for the
/// function.
struct OpModel {
  std::string kind; ///< for summaries: "rms_norm", "rope:half", ...
  std::string name; ///< case names are <name>_<dtype>
  std::string text;
  std::map<std::string, RefTensor> inputs = {};
  double scale = 1.0;
};

/// The text of `m` for dtype `dt`, its function named `fname`.
inline std::string instantiate(const OpModel &m, const std::string &dt,
                               const std::string &fname) {
  std::string t = m.text;
  replaceAll(t, "@f(", "@" + fname + "(");
  replaceAll(t, "DT", dt);
  return t;
}

/// The op models that both tests run (the GPU cases add wider rows; the CPU
/// test adds dilated and LSH attention). rms_norm comes first.
inline std::vector<OpModel> opModels() {
  std::vector<OpModel> ms;
  ms.push_back({"rms_norm", "rms_norm", R"(
func.func @f(%x: tensor<3x113x96xDT> {attune.name = "x"}, %w: tensor<96xDT> {attune.name = "w"}) -> tensor<3x113x96xDT> {
  %y = attune.rms_norm %x weight %w {epsilon = 1.0e-05 : f64} : (tensor<3x113x96xDT>, tensor<96xDT>) -> tensor<3x113x96xDT>
  return %y : tensor<3x113x96xDT>
})"});
  ms.push_back({"layer_norm", "layer_norm", R"(
func.func @f(%x: tensor<239x64xDT> {attune.name = "x"}, %w: tensor<64xDT> {attune.name = "w"}, %b: tensor<64xDT> {attune.name = "b"}) -> tensor<239x64xDT> {
  %y = attune.layer_norm %x weight %w bias %b : (tensor<239x64xDT>, tensor<64xDT>, tensor<64xDT>) -> tensor<239x64xDT>
  return %y : tensor<239x64xDT>
})"});
  ms.push_back({"rope:half", "rope_half", R"(
func.func @f(%x: tensor<2x4x113x64xDT> {attune.name = "x"}) -> tensor<2x4x113x64xDT> {
  %y = attune.rope %x {theta = 500000.0 : f64} : (tensor<2x4x113x64xDT>) -> tensor<2x4x113x64xDT>
  return %y : tensor<2x4x113x64xDT>
})"});
  ms.push_back({"rope:interleaved", "rope_interleaved_positions", R"(
func.func @f(%x: tensor<2x3x17x32xDT> {attune.name = "x"}, %p: tensor<2x17xi64> {attune.name = "p"}) -> tensor<2x3x17x32xDT> {
  %y = attune.rope %x positions %p {interleaved, rotary_dim = 16 : i64} : (tensor<2x3x17x32xDT>, tensor<2x17xi64>) -> tensor<2x3x17x32xDT>
  return %y : tensor<2x3x17x32xDT>
})",
                {{"p", ints(DType::I64, {2, 17},
                            [](int64_t i) { return i * 37 % 1000; })}}});
  ms.push_back({"linear", "linear_bias", R"(
func.func @f(%x: tensor<3x113x239xDT> {attune.name = "x"}, %w: tensor<17x239xDT> {attune.name = "w"}, %b: tensor<17xDT> {attune.name = "b"}) -> tensor<3x113x17xDT> {
  %y = attune.linear %x, %w bias %b : (tensor<3x113x239xDT>, tensor<17x239xDT>, tensor<17xDT>) -> tensor<3x113x17xDT>
  return %y : tensor<3x113x17xDT>
})"});
  ms.push_back({"mlp:swiglu", "mlp_swiglu", R"(
func.func @f(%x: tensor<1x113x64xDT> {attune.name = "x"}, %g: tensor<172x64xDT> {attune.name = "g"}, %u: tensor<172x64xDT> {attune.name = "u"}, %d: tensor<64x172xDT> {attune.name = "d"}) -> tensor<1x113x64xDT> {
  %y = attune.mlp %x, %u, %d gate %g {activation = #attune.activation<silu>} : (tensor<1x113x64xDT>, tensor<172x64xDT>, tensor<64x172xDT>, tensor<172x64xDT>) -> tensor<1x113x64xDT>
  return %y : tensor<1x113x64xDT>
})",
                {},
                0.5});
  ms.push_back({"mlp:gelu_tanh_bias", "mlp_gelu_bias", R"(
func.func @f(%x: tensor<17x48xDT> {attune.name = "x"}, %u: tensor<96x48xDT> {attune.name = "u"}, %d: tensor<40x96xDT> {attune.name = "d"}, %bu: tensor<96xDT> {attune.name = "bu"}, %bd: tensor<40xDT> {attune.name = "bd"}) -> tensor<17x40xDT> {
  %y = attune.mlp %x, %u, %d up_bias %bu down_bias %bd {activation = #attune.activation<gelu_tanh>} : (tensor<17x48xDT>, tensor<96x48xDT>, tensor<40x96xDT>, tensor<96xDT>, tensor<40xDT>) -> tensor<17x40xDT>
  return %y : tensor<17x40xDT>
})",
                {},
                0.5});
  ms.push_back({"embedding", "embedding", R"(
func.func @f(%ids: tensor<2x17xi32> {attune.name = "ids"}, %t: tensor<50x24xDT> {attune.name = "t"}) -> tensor<2x17x24xDT> {
  %y = attune.embedding %ids, %t : (tensor<2x17xi32>, tensor<50x24xDT>) -> tensor<2x17x24xDT>
  return %y : tensor<2x17x24xDT>
})",
                {{"ids", ints(DType::I32, {2, 17},
                              [](int64_t i) { return i * 13 % 50; })}}});
  ms.push_back({"softmax", "softmax_axis0", R"(
func.func @f(%x: tensor<113x3x7xDT> {attune.name = "x"}) -> (tensor<113x3x7xDT> {attune.name = "axis0"}, tensor<113x3x7xDT> {attune.name = "last"}) {
  %a = attune.softmax %x {axis = 0 : i64} : (tensor<113x3x7xDT>) -> tensor<113x3x7xDT>
  %b = attune.softmax %x : (tensor<113x3x7xDT>) -> tensor<113x3x7xDT>
  return %a, %b : tensor<113x3x7xDT>, tensor<113x3x7xDT>
})",
                {},
                3.0});
  for (const char *red : {"none", "mean", "sum"}) {
    std::string r = std::string(red) == "none" ? "113x" : "";
    ms.push_back({std::string("cross_entropy:") + red,
                  std::string("cross_entropy_") + red,
                  R"(
func.func @f(%x: tensor<113x50xDT> {attune.name = "x"}, %l: tensor<113xi64> {attune.name = "l"}) -> tensor<)" +
                      r + R"(f32> {
  %c = attune.cast %x : tensor<113x50xDT> to tensor<113x50xf32>
  %y = attune.cross_entropy %c, %l {reduction = #attune.reduction<)" +
                      red + R"(>} : (tensor<113x50xf32>, tensor<113xi64>) -> tensor<)" +
                      r + R"(f32>
  return %y : tensor<)" + r + R"(f32>
})",
                  {{"l", ints(DType::I64, {113}, [](int64_t i) {
                      return i % 9 == 0 ? -100 : i * 7 % 50;
                    })}},
                  2.0});
  }
  for (const char *u : {"neg", "exp", "log", "tanh", "sqrt", "rsqrt", "sigmoid",
                        "abs", "silu", "gelu", "gelu_tanh", "relu"})
    ms.push_back({std::string("unary:") + u, std::string("unary_") + u,
                  std::string(R"(
func.func @f(%x: tensor<3x239xDT> {attune.name = "x"}) -> tensor<3x239xDT> {
  %a = attune.abs %x : tensor<3x239xDT>
  %y = attune.)") + u + R"( %a : tensor<3x239xDT>
  return %y : tensor<3x239xDT>
})",
                  {},
                  2.0});
  for (const char *bk : {"add", "sub", "mul", "div", "max", "min", "pow"})
    ms.push_back({std::string("binary:") + bk, std::string("binary_") + bk,
                  std::string(R"(
func.func @f(%x: tensor<3x1x113xDT> {attune.name = "x"}, %z: tensor<7x1xDT> {attune.name = "z"}) -> tensor<3x7x113xDT> {
  %a = attune.abs %x : tensor<3x1x113xDT>
  %b = attune.abs %z : tensor<7x1xDT>
  %y = attune.)") + bk + R"( %a, %b : (tensor<3x1x113xDT>, tensor<7x1xDT>) -> tensor<3x7x113xDT>
  return %y : tensor<3x7x113xDT>
})"});
  ms.push_back({"matmul", "matmul_broadcast", R"(
func.func @f(%a: tensor<2x3x17x40xDT> {attune.name = "a"}, %b: tensor<3x40x23xDT> {attune.name = "b"}) -> tensor<2x3x17x23xDT> {
  %y = attune.matmul %a, %b : (tensor<2x3x17x40xDT>, tensor<3x40x23xDT>) -> tensor<2x3x17x23xDT>
  return %y : tensor<2x3x17x23xDT>
})"});
  ms.push_back({"layout:transpose_slice_concat_reshape", "layout", R"(
func.func @f(%x: tensor<2x17x3x8xDT> {attune.name = "x"}) -> (tensor<3x2x8x17xDT> {attune.name = "transpose"}, tensor<2x17x5x8xDT> {attune.name = "concat"}, tensor<2x51x8xDT> {attune.name = "reshape"}) {
  %t = attune.transpose %x {permutation = array<i64: 2, 0, 3, 1>} : (tensor<2x17x3x8xDT>) -> tensor<3x2x8x17xDT>
  %s = attune.slice %x {axis = 2 : i64, start = 1 : i64, size = 2 : i64} : (tensor<2x17x3x8xDT>) -> tensor<2x17x2x8xDT>
  %c = attune.concat %x, %s {axis = 2 : i64} : (tensor<2x17x3x8xDT>, tensor<2x17x2x8xDT>) -> tensor<2x17x5x8xDT>
  %r = attune.reshape %x : tensor<2x17x3x8xDT> to tensor<2x51x8xDT>
  return %t, %c, %r : tensor<3x2x8x17xDT>, tensor<2x17x5x8xDT>, tensor<2x51x8xDT>
})"});
  ms.push_back({"layout:negative_axes_chunked", "layout_negative_axes", R"(
func.func @f(%x: tensor<2x17x6xDT> {attune.name = "x"}) -> (tensor<2x17x9xDT> {attune.name = "concat"}, tensor<2x17x6xDT> {attune.name = "chunked"}) {
  %s = attune.slice %x {axis = -1 : i64, start = 2 : i64, size = 3 : i64} : (tensor<2x17x6xDT>) -> tensor<2x17x3xDT>
  %c = attune.concat %x, %s {axis = -1 : i64} : (tensor<2x17x6xDT>, tensor<2x17x3xDT>) -> tensor<2x17x9xDT>
  %z = attune.chunked %x along 1 by 1 {
  ^bb0(%a: tensor<2x1x6xDT>):
    %t = attune.exp %a : tensor<2x1x6xDT>
    attune.yield %t : tensor<2x1x6xDT>
  } : (tensor<2x17x6xDT>) -> tensor<2x17x6xDT>
  return %c, %z : tensor<2x17x9xDT>, tensor<2x17x6xDT>
})"});
  ms.push_back({"reduce", "reduce", R"(
func.func @f(%x: tensor<5x113x7xDT> {attune.name = "x"}) -> (tensor<7xDT> {attune.name = "sum01"}, tensor<5x1x7xDT> {attune.name = "mean1"}, tensor<113xDT> {attune.name = "max02"}) {
  %a = attune.reduce %x {kind = #attune.reduce_kind<sum>, axes = array<i64: 0, 1>} : (tensor<5x113x7xDT>) -> tensor<7xDT>
  %b = attune.reduce %x {kind = #attune.reduce_kind<mean>, axes = array<i64: 1>, keep_dims} : (tensor<5x113x7xDT>) -> tensor<5x1x7xDT>
  %c = attune.reduce %x {kind = #attune.reduce_kind<max>, axes = array<i64: 0, 2>} : (tensor<5x113x7xDT>) -> tensor<113xDT>
  return %a, %b, %c : tensor<7xDT>, tensor<5x1x7xDT>, tensor<113xDT>
})"});
  ms.push_back({"cast", "cast_roundtrip", R"(
func.func @f(%x: tensor<3x113xf32> {attune.name = "x"}) -> (tensor<3x113xDT> {attune.name = "to_dt"}, tensor<3x113xf16> {attune.name = "to_f16"}) {
  %a = attune.cast %x : tensor<3x113xf32> to tensor<3x113xDT>
  %b = attune.cast %a : tensor<3x113xDT> to tensor<3x113xf16>
  return %a, %b : tensor<3x113xDT>, tensor<3x113xf16>
})"});
  ms.push_back({"structure:checkpoint_reversible_chunked", "structure", R"(
func.func @f(%x: tensor<1x64x32xDT> {attune.name = "x"}, %u: tensor<48x32xDT> {attune.name = "u"}, %d: tensor<32x48xDT> {attune.name = "d"}) -> (tensor<1x64x32xDT> {attune.name = "y1"}, tensor<1x64x32xDT> {attune.name = "y2"}, tensor<1x64x32xDT> {attune.name = "z"}) {
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
})",
                {},
                0.5});
  return ms;
}

} // namespace attune::numerics

#endif // ATTUNE_TEST_E2E_NUMERICSCASES_H
