//===- InterpreterTest.cpp - The reference evaluator on attune IR ---------===//
//
// The interpreter must map ops onto the kernels exactly: the example block
// is recomputed here by calling the kernels by hand and must agree bit for
// bit; regions must agree with the named terms they imitate; structural ops
// must keep their algebra.
//
//===----------------------------------------------------------------------===//

#include "attune/Reference/Interpreter.h"
#include "TensorTestUtil.h"
#include "attune/Init/InitAll.h"
#include "attune/runtime/Philox.h"
#include "attune/runtime/TensorIO.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"

#include <gtest/gtest.h>

#include <cmath>

using namespace attune;
using namespace attune::ref;
using attune::ref::testing::maxAbsDiff;

#ifndef ATTUNE_SOURCE_DIR
#error "ATTUNE_SOURCE_DIR must point at the source tree"
#endif

namespace {

class InterpreterTest : public ::testing::Test {
protected:
  InterpreterTest() {
    mlir::DialectRegistry registry;
    attune::registerAllDialects(registry);
    context.appendDialectRegistry(registry);
    context.loadAllAvailableDialects();
  }

  mlir::OwningOpRef<mlir::ModuleOp> parse(const std::string &text) {
    return mlir::parseSourceString<mlir::ModuleOp>(text, &context);
  }
  mlir::OwningOpRef<mlir::ModuleOp> parseFile(const std::string &path) {
    return mlir::parseSourceFile<mlir::ModuleOp>(path, &context);
  }

  mlir::MLIRContext context;
};

RefTensor randomTensor(DType dtype, std::vector<int64_t> shape, uint32_t stream,
                       double scale = 1.0) {
  RefTensor t(dtype, std::move(shape));
  for (int64_t i = 0; i < t.numElements(); ++i)
    t.data[i] = roundToDType(scale * philoxNormal(7, stream, i), dtype);
  return t;
}

void expectBitwiseEqual(const RefTensor &a, const RefTensor &b) {
  ASSERT_EQ(a.shape, b.shape);
  ASSERT_EQ(a.dtype, b.dtype);
  for (int64_t i = 0; i < a.numElements(); ++i)
    ASSERT_EQ(a.data[i], b.data[i]) << "at element " << i;
}

void checkOk(const Status &s) { ASSERT_TRUE(s.isOk()) << s.message(); }

/// The Llama-style example block, recomputed with direct kernel calls in the
/// same order, in both precisions.
TEST_F(InterpreterTest, ExampleBlockMatchesHandWiredKernels) {
  auto module = parseFile(std::string(ATTUNE_SOURCE_DIR) +
                          "/python-free-examples/llama_block/llama_block.mlir");
  ASSERT_TRUE(module);
  const int64_t L = 64, Dm = 256, H = 8, Hkv = 2, D = 32, F = 688;
  RefTensor x = randomTensor(DType::F32, {1, L, Dm}, 0);
  RefTensor ids(DType::I32, {1, L});
  for (int64_t i = 0; i < L; ++i)
    ids.data[i] = i < 23 ? 0 : i < 50 ? 1 : 2;
  RefTensor n1 = randomTensor(DType::F32, {Dm}, 1, 0.1);
  for (double &v : n1.data)
    v = roundToDType(1 + v, DType::F32);
  RefTensor wq = randomTensor(DType::F32, {H * D, Dm}, 2, 0.0625);
  RefTensor wk = randomTensor(DType::F32, {Hkv * D, Dm}, 3, 0.0625);
  RefTensor wv = randomTensor(DType::F32, {Hkv * D, Dm}, 4, 0.0625);
  RefTensor wo = randomTensor(DType::F32, {Dm, H * D}, 5, 0.0625);
  RefTensor n2 = n1;
  RefTensor wg = randomTensor(DType::F32, {F, Dm}, 6, 0.0625);
  RefTensor wu = randomTensor(DType::F32, {F, Dm}, 7, 0.0625);
  RefTensor wd = randomTensor(DType::F32, {Dm, F}, 8, 0.038);

  for (Precision p : {Precision::F64, Precision::Native}) {
    std::vector<RefTensor> results;
    checkOk(runFunction(*module, "llama_block",
                        {x, ids, n1, wq, wk, wv, wo, n2, wg, wu, wd}, p,
                        results));
    ASSERT_EQ(results.size(), 1u);

    RefTensor h, q0, k0, v0, q1, k1, v1, q2, k2, v, q, k, attn, lse, o1, o2, o,
        x2, h2, m, y;
    checkOk(rmsNorm(x, &n1, 1e-5, p, h));
    checkOk(linear(h, wq, nullptr, p, q0));
    checkOk(linear(h, wk, nullptr, p, k0));
    checkOk(linear(h, wv, nullptr, p, v0));
    checkOk(reshape(q0, {1, L, H, D}, q1));
    checkOk(reshape(k0, {1, L, Hkv, D}, k1));
    checkOk(reshape(v0, {1, L, Hkv, D}, v1));
    checkOk(transpose(q1, {0, 2, 1, 3}, q2));
    checkOk(transpose(k1, {0, 2, 1, 3}, k2));
    checkOk(transpose(v1, {0, 2, 1, 3}, v));
    checkOk(rope(q2, nullptr, 500000.0, false, 0, p, q));
    checkOk(rope(k2, nullptr, 500000.0, false, 0, p, k));
    AttentionSpec spec;
    MaskTerm causal, doc, both;
    causal.kind = MaskTerm::Kind::Causal;
    doc.kind = MaskTerm::Kind::Document;
    both.kind = MaskTerm::Kind::And;
    both.children = {causal, doc};
    spec.mask = both;
    spec.qDocIds = &ids;
    spec.kvDocIds = &ids;
    checkOk(attention(q, k, v, spec, p, attn, lse));
    checkOk(transpose(attn, {0, 2, 1, 3}, o1));
    checkOk(reshape(o1, {1, L, H * D}, o2));
    checkOk(linear(o2, wo, nullptr, p, o));
    checkOk(binary(BinaryKind::Add, x, o, p, x2));
    checkOk(rmsNorm(x2, &n2, 1e-5, p, h2));
    checkOk(mlp(h2, &wg, wu, wd, nullptr, nullptr, Activation::Silu, p, m));
    checkOk(binary(BinaryKind::Add, x2, m, p, y));
    expectBitwiseEqual(results[0], y);

    // Repeated runs are bitwise identical.
    std::vector<RefTensor> again;
    checkOk(runFunction(*module, "llama_block",
                        {x, ids, n1, wq, wk, wv, wo, n2, wg, wu, wd}, p,
                        again));
    expectBitwiseEqual(results[0], again[0]);
  }
}

/// A mask region that spells out causality gives exactly the named term's
/// result, and a score region spelling out soft capping the named mod's.
TEST_F(InterpreterTest, RegionsMatchNamedTerms) {
  auto module = parse(R"mlir(
    func.func @named(%q: tensor<1x2x7x8xf32>, %k: tensor<1x2x5x8xf32>, %v: tensor<1x2x5x8xf32>)
        -> (tensor<1x2x7x8xf32>, tensor<1x2x7xf32>) {
      %o, %l = attune.attention %q, %k, %v {mask = #attune.causal<bottom_right>,
          score_mods = [#attune.softcap<2.0>]}
        : (tensor<1x2x7x8xf32>, tensor<1x2x5x8xf32>, tensor<1x2x5x8xf32>)
        -> (tensor<1x2x7x8xf32>, tensor<1x2x7xf32>)
      return %o, %l : tensor<1x2x7x8xf32>, tensor<1x2x7xf32>
    }
    func.func @regions(%q: tensor<1x2x7x8xf32>, %k: tensor<1x2x5x8xf32>, %v: tensor<1x2x5x8xf32>)
        -> (tensor<1x2x7x8xf32>, tensor<1x2x7xf32>) {
      %o, %l = attune.attention %q, %k, %v mask {
      ^bb0(%b: index, %h: index, %i: index, %j: index):
        // bottom-right causal with Lq = 7, Lk = 5: j <= i - 2
        %c2 = arith.constant 2 : index
        %j2 = arith.addi %j, %c2 : index
        %ok = arith.cmpi sle, %j2, %i : index
        attune.yield %ok : i1
      } score {
      ^bb0(%s: f32, %b: index, %h: index, %i: index, %j: index):
        %cap = arith.constant 2.0 : f32
        %d = arith.divf %s, %cap : f32
        %t = math.tanh %d : f32
        %r = arith.mulf %t, %cap : f32
        attune.yield %r : f32
      } : (tensor<1x2x7x8xf32>, tensor<1x2x5x8xf32>, tensor<1x2x5x8xf32>)
        -> (tensor<1x2x7x8xf32>, tensor<1x2x7xf32>)
      return %o, %l : tensor<1x2x7x8xf32>, tensor<1x2x7xf32>
    })mlir");
  ASSERT_TRUE(module);
  RefTensor q = randomTensor(DType::F32, {1, 2, 7, 8}, 10);
  RefTensor k = randomTensor(DType::F32, {1, 2, 5, 8}, 11);
  RefTensor v = randomTensor(DType::F32, {1, 2, 5, 8}, 12);
  std::vector<RefTensor> named, regions;
  checkOk(runFunction(*module, "named", {q, k, v}, Precision::F64, named));
  checkOk(runFunction(*module, "regions", {q, k, v}, Precision::F64, regions));
  EXPECT_LT(maxAbsDiff(named[0], regions[0]), 1e-12);
  // Rows 0 and 1 see no key under bottom-right alignment: -inf in both.
  EXPECT_TRUE(std::isinf(named[1].data[0]) && named[1].data[0] < 0);
  EXPECT_TRUE(std::isinf(regions[1].data[0]) && regions[1].data[0] < 0);
  for (int64_t i = 0; i < named[1].numElements(); ++i)
    if (!std::isinf(named[1].data[i]))
      EXPECT_NEAR(named[1].data[i], regions[1].data[i], 1e-12) << i;
}

/// chunked(position-wise body) equals the body on the whole input, a
/// checkpoint equals its body, and a reversible block inverts exactly as
/// RevNet says: x2 = y2 - G(y1), x1 = y1 - F(x2).
TEST_F(InterpreterTest, StructuralOpsKeepTheirAlgebra) {
  auto module = parse(R"mlir(
    func.func @whole(%x: tensor<1x12x8xf32>, %w1: tensor<16x8xf32>, %w2: tensor<8x16xf32>) -> tensor<1x12x8xf32> {
      %y = attune.mlp %x, %w1, %w2 {activation = #attune.activation<gelu>}
        : (tensor<1x12x8xf32>, tensor<16x8xf32>, tensor<8x16xf32>) -> tensor<1x12x8xf32>
      return %y : tensor<1x12x8xf32>
    }
    func.func @chunked(%x: tensor<1x12x8xf32>, %w1: tensor<16x8xf32>, %w2: tensor<8x16xf32>) -> tensor<1x12x8xf32> {
      %y = attune.chunked %x along 1 by 4 {
      ^bb0(%c: tensor<1x4x8xf32>):
        %t = attune.mlp %c, %w1, %w2 {activation = #attune.activation<gelu>}
          : (tensor<1x4x8xf32>, tensor<16x8xf32>, tensor<8x16xf32>) -> tensor<1x4x8xf32>
        attune.yield %t : tensor<1x4x8xf32>
      } : (tensor<1x12x8xf32>) -> tensor<1x12x8xf32>
      return %y : tensor<1x12x8xf32>
    }
    func.func @checkpointed(%x: tensor<1x12x8xf32>, %w1: tensor<16x8xf32>, %w2: tensor<8x16xf32>) -> tensor<1x12x8xf32> {
      %y = attune.checkpoint (%x) {
      ^bb0(%c: tensor<1x12x8xf32>):
        %t = attune.mlp %c, %w1, %w2 {activation = #attune.activation<gelu>}
          : (tensor<1x12x8xf32>, tensor<16x8xf32>, tensor<8x16xf32>) -> tensor<1x12x8xf32>
        attune.yield %t : tensor<1x12x8xf32>
      } : (tensor<1x12x8xf32>) -> tensor<1x12x8xf32>
      return %y : tensor<1x12x8xf32>
    }
    func.func @reversible(%x1: tensor<1x12x8xf32>, %x2: tensor<1x12x8xf32>, %w1: tensor<16x8xf32>, %w2: tensor<8x16xf32>)
        -> (tensor<1x12x8xf32>, tensor<1x12x8xf32>) {
      %y1, %y2 = attune.reversible %x1, %x2 f {
      ^bb0(%a: tensor<1x12x8xf32>):
        %t = attune.mlp %a, %w1, %w2 {activation = #attune.activation<gelu>}
          : (tensor<1x12x8xf32>, tensor<16x8xf32>, tensor<8x16xf32>) -> tensor<1x12x8xf32>
        attune.yield %t : tensor<1x12x8xf32>
      } g {
      ^bb0(%a: tensor<1x12x8xf32>):
        %t = attune.tanh %a : tensor<1x12x8xf32>
        attune.yield %t : tensor<1x12x8xf32>
      } : tensor<1x12x8xf32>, tensor<1x12x8xf32>
      return %y1, %y2 : tensor<1x12x8xf32>, tensor<1x12x8xf32>
    })mlir");
  ASSERT_TRUE(module);
  RefTensor x = randomTensor(DType::F32, {1, 12, 8}, 20);
  RefTensor x2 = randomTensor(DType::F32, {1, 12, 8}, 21);
  RefTensor w1 = randomTensor(DType::F32, {16, 8}, 22, 0.3);
  RefTensor w2 = randomTensor(DType::F32, {8, 16}, 23, 0.3);
  std::vector<RefTensor> whole, chunked, checkpointed, rev;
  for (Precision p : {Precision::F64, Precision::Native}) {
    checkOk(runFunction(*module, "whole", {x, w1, w2}, p, whole));
    checkOk(runFunction(*module, "chunked", {x, w1, w2}, p, chunked));
    checkOk(runFunction(*module, "checkpointed", {x, w1, w2}, p, checkpointed));
    expectBitwiseEqual(whole[0], chunked[0]);
    expectBitwiseEqual(whole[0], checkpointed[0]);
  }
  checkOk(
      runFunction(*module, "reversible", {x, x2, w1, w2}, Precision::F64, rev));
  // Invert: x2 = y2 - tanh(y1), x1 = y1 - F(x2).
  RefTensor g, rx2, f, rx1;
  checkOk(unary(UnaryKind::Tanh, rev[0], Precision::F64, g));
  checkOk(binary(BinaryKind::Sub, rev[1], g, Precision::F64, rx2));
  checkOk(mlp(rx2, nullptr, w1, w2, nullptr, nullptr, Activation::Gelu,
              Precision::F64, f));
  checkOk(binary(BinaryKind::Sub, rev[0], f, Precision::F64, rx1));
  EXPECT_LT(maxAbsDiff(rx2, x2), 1e-12);
  EXPECT_LT(maxAbsDiff(rx1, x), 1e-12);
}

/// Kernels hold references to their operands while regions and chunk bodies
/// bind new values: with enough values bound before the op that binding
/// grows the value map, those references must stay valid. (A DenseMap of
/// values used to move them and crash or read freed memory here.)
TEST_F(InterpreterTest, ManyValuesBeforeRegionOps) {
  // The map grows at a size that depends on its implementation: sweep the
  // number of values bound before the ops across several growth points.
  RefTensor x = randomTensor(DType::F32, {1, 2, 9, 8}, 50);
  RefTensor expX;
  checkOk(unary(UnaryKind::Exp, x, Precision::F64, expX));
  for (int n = 20; n < 150; ++n) {
    std::string text =
        "func.func @f(%x: tensor<1x2x9x8xf32>) -> (tensor<1x2x9x8xf32>, "
        "tensor<1x2x9x8xf32>, tensor<1x2x9x8xf32>) {\n  %v0 = attune.neg %x "
        ": tensor<1x2x9x8xf32>\n";
    for (int i = 1; i < n; ++i)
      text += "  %v" + std::to_string(i) + " = attune.neg %v" +
              std::to_string(i - 1) + " : tensor<1x2x9x8xf32>\n";
    std::string last = "%v" + std::to_string(n - 1);
    text += "  %o1, %l1 = attune.attention " + last + ", " + last + ", " +
            last + R"mlir( mask {
  ^bb0(%b: index, %h: index, %i: index, %j: index):
    %ok = arith.cmpi ule, %j, %i : index
    %t = arith.andi %ok, %ok : i1
    %u = arith.ori %t, %t : i1
    attune.yield %u : i1
  } : (tensor<1x2x9x8xf32>, tensor<1x2x9x8xf32>, tensor<1x2x9x8xf32>)
    -> (tensor<1x2x9x8xf32>, tensor<1x2x9xf32>)
)mlir" + "  %o2, %l2 = attune.attention " +
            last + ", " + last + ", " + last + R"mlir( {mask = #attune.causal}
    : (tensor<1x2x9x8xf32>, tensor<1x2x9x8xf32>, tensor<1x2x9x8xf32>)
    -> (tensor<1x2x9x8xf32>, tensor<1x2x9xf32>)
  %c = attune.chunked %x along 2 by 3 {
  ^bb0(%p: tensor<1x2x3x8xf32>):
    %a = attune.neg %p : tensor<1x2x3x8xf32>
    %b = attune.neg %a : tensor<1x2x3x8xf32>
    %e = attune.exp %b : tensor<1x2x3x8xf32>
    attune.yield %e : tensor<1x2x3x8xf32>
  } : (tensor<1x2x9x8xf32>) -> tensor<1x2x9x8xf32>
  return %o1, %o2, %c : tensor<1x2x9x8xf32>, tensor<1x2x9x8xf32>, tensor<1x2x9x8xf32>
})mlir";
    auto module = parse(text);
    ASSERT_TRUE(module) << "n = " << n;
    std::vector<RefTensor> out;
    checkOk(runFunction(*module, "f", {x}, Precision::F64, out));
    ASSERT_EQ(out.size(), 3u);
    SCOPED_TRACE("n = " + std::to_string(n));
    expectBitwiseEqual(out[0], out[1]); // region == named causal
    expectBitwiseEqual(out[2], expX);
  }
}

/// Scalar region arithmetic follows arith's definitions where C++ would trap
/// or not round: INT64_MIN / -1 wraps, remsi by -1 is 0, truncf rounds.
TEST_F(InterpreterTest, ScalarRegionEdgeCases) {
  auto module = parse(R"mlir(
    func.func @f(%q: tensor<1x1x2x1xf32>) -> (tensor<1x1x2x1xf32>, tensor<1x1x2xf32>) {
      %o, %l = attune.attention %q, %q, %q {scale = 1.0 : f64} mask {
      ^bb0(%b: index, %h: index, %i: index, %j: index):
        %min = arith.constant -9223372036854775808 : i64
        %m1 = arith.constant -1 : i64
        %d = arith.divsi %min, %m1 : i64
        %r = arith.remsi %min, %m1 : i64
        %c0 = arith.constant 0 : i64
        %wraps = arith.cmpi eq, %d, %min : i64
        %zero = arith.cmpi eq, %r, %c0 : i64
        %ok = arith.andi %wraps, %zero : i1
        attune.yield %ok : i1
      } score {
      ^bb0(%s: f32, %b: index, %h: index, %i: index, %j: index):
        // 1 + 2^-9 is not a bf16 value: truncf rounds it to 1.
        %x = arith.constant 1.001953125 : f32
        %t = arith.truncf %x : f32 to bf16
        %e = arith.extf %t : bf16 to f32
        %z = arith.subf %e, %e : f32
        %one = arith.constant 1.0 : f32
        %is1 = arith.cmpf oeq, %e, %one : f32
        %nan = arith.constant 0x7FC00000 : f32
        %r = arith.select %is1, %z, %nan : f32
        attune.yield %r : f32
      } : (tensor<1x1x2x1xf32>, tensor<1x1x2x1xf32>, tensor<1x1x2x1xf32>)
        -> (tensor<1x1x2x1xf32>, tensor<1x1x2xf32>)
      return %o, %l : tensor<1x1x2x1xf32>, tensor<1x1x2xf32>
    })mlir");
  ASSERT_TRUE(module);
  RefTensor q(DType::F32, {1, 1, 2, 1});
  q.data = {1.0, 3.0};
  for (Precision p : {Precision::F64, Precision::Native}) {
    std::vector<RefTensor> out;
    checkOk(runFunction(*module, "f", {q}, p, out));
    // Every key allowed, every score 0: out is the mean of v, lse = ln 2.
    EXPECT_EQ(out[0].data[0], 2.0);
    EXPECT_NEAR(out[1].data[0], std::log(2.0), 1e-6);
  }
}

/// A chunked op over an empty axis runs no chunk and returns empty results.
TEST_F(InterpreterTest, ChunkedOverEmptyAxis) {
  auto module = parse(R"mlir(
    func.func @f(%x: tensor<2x0x4xf32>) -> tensor<2x0x4xf32> {
      %y = attune.chunked %x along 1 by 2 {
      ^bb0(%c: tensor<2x2x4xf32>):
        %t = attune.relu %c : tensor<2x2x4xf32>
        attune.yield %t : tensor<2x2x4xf32>
      } : (tensor<2x0x4xf32>) -> tensor<2x0x4xf32>
      return %y : tensor<2x0x4xf32>
    })mlir");
  ASSERT_TRUE(module);
  std::vector<RefTensor> out;
  checkOk(runFunction(*module, "f", {RefTensor(DType::F32, {2, 0, 4})},
                      Precision::F64, out));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].shape, (std::vector<int64_t>{2, 0, 4}));
}

/// Wrong arguments are refused with the argument's name, the expectation and
/// what was given; a failing kernel names the op and its location.
TEST_F(InterpreterTest, ErrorsNameWhatWasWrong) {
  auto module = parse(R"mlir(
    func.func @f(%ids: tensor<3xi32> {attune.name = "token_ids"}, %t: tensor<4x2xf32>) -> tensor<3x2xf32> {
      %y = attune.embedding %ids, %t : (tensor<3xi32>, tensor<4x2xf32>) -> tensor<3x2xf32>
      return %y : tensor<3x2xf32>
    })mlir");
  ASSERT_TRUE(module);
  RefTensor ids(DType::I32, {3});
  RefTensor table = randomTensor(DType::F32, {4, 2}, 30);
  std::vector<RefTensor> out;

  Status s = runFunction(*module, "f", {ids}, Precision::F64, out);
  EXPECT_NE(s.message().find("takes 2 arguments, got 1"), std::string::npos)
      << s.message();

  RefTensor wrongType(DType::I64, {3});
  s = runFunction(*module, "f", {wrongType, table}, Precision::F64, out);
  EXPECT_NE(s.message().find("'token_ids'"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("expected dtype i32, got i64"), std::string::npos)
      << s.message();

  RefTensor wrongShape(DType::F32, {4, 3});
  s = runFunction(*module, "f", {ids, wrongShape}, Precision::F64, out);
  EXPECT_NE(s.message().find("expected shape [4, 2], got [4, 3]"),
            std::string::npos)
      << s.message();

  ids.data = {0, 4, 1};
  s = runFunction(*module, "f", {ids, table}, Precision::F64, out);
  EXPECT_EQ(s.code(), StatusCode::OutOfRange) << s.message();
  EXPECT_NE(s.message().find("'attune.embedding' at loc("), std::string::npos)
      << s.message();

  s = runFunction(*module, "g", {ids, table}, Precision::F64, out);
  EXPECT_EQ(s.code(), StatusCode::NotFound);
  EXPECT_NE(s.message().find("it has @f"), std::string::npos) << s.message();
}

/// The tolerance rule holds for a bf16 GQA attention with a sliding window
/// and ALiBi: native bf16 evaluation against the f64 oracle, with the f32
/// evaluation of the same inputs as the "backend" under test.
TEST_F(InterpreterTest, ToleranceRuleOnBf16Attention) {
  auto module = parse(R"mlir(
    func.func @attn(%q: tensor<1x12x113x64xbf16>, %k: tensor<1x2x239x64xbf16>, %v: tensor<1x2x239x64xbf16>)
        -> (tensor<1x12x113x64xbf16>, tensor<1x12x113xf32>) {
      %o, %l = attune.attention %q, %k, %v {
          mask = #attune.sliding_window<left = 64, right = 0, align = bottom_right>,
          score_mods = [#attune.alibi]}
        : (tensor<1x12x113x64xbf16>, tensor<1x2x239x64xbf16>, tensor<1x2x239x64xbf16>)
        -> (tensor<1x12x113x64xbf16>, tensor<1x12x113xf32>)
      return %o, %l : tensor<1x12x113x64xbf16>, tensor<1x12x113xf32>
    }
    func.func @attn32(%q: tensor<1x12x113x64xf32>, %k: tensor<1x2x239x64xf32>, %v: tensor<1x2x239x64xf32>)
        -> (tensor<1x12x113x64xf32>, tensor<1x12x113xf32>) {
      %o, %l = attune.attention %q, %k, %v {
          mask = #attune.sliding_window<left = 64, right = 0, align = bottom_right>,
          score_mods = [#attune.alibi]}
        : (tensor<1x12x113x64xf32>, tensor<1x2x239x64xf32>, tensor<1x2x239x64xf32>)
        -> (tensor<1x12x113x64xf32>, tensor<1x12x113xf32>)
      return %o, %l : tensor<1x12x113x64xf32>, tensor<1x12x113xf32>
    })mlir");
  ASSERT_TRUE(module);
  RefTensor q = randomTensor(DType::BF16, {1, 12, 113, 64}, 40);
  RefTensor k = randomTensor(DType::BF16, {1, 2, 239, 64}, 41);
  RefTensor v = randomTensor(DType::BF16, {1, 2, 239, 64}, 42);
  std::vector<RefTensor> gold, lowp;
  checkOk(runFunction(*module, "attn", {q, k, v}, Precision::F64, gold));
  checkOk(runFunction(*module, "attn", {q, k, v}, Precision::Native, lowp));
  // The "backend": the same bf16 values computed in f32, its output rounded
  // to bf16 as a bf16 kernel would store it.
  auto toF32 = [](RefTensor t) {
    t.dtype = DType::F32;
    return t;
  };
  std::vector<RefTensor> backend;
  checkOk(runFunction(*module, "attn32", {toF32(q), toF32(k), toF32(v)},
                      Precision::Native, backend));
  RefTensor out = backend[0];
  out.dtype = DType::BF16;
  for (double &x : out.data)
    x = roundToDType(x, DType::BF16);
  ToleranceReport report = checkTolerance(out, gold[0], lowp[0], 1e-6);
  EXPECT_TRUE(report.ok) << report.message;
  EXPECT_GT(report.refError, 0.0); // bf16 rounding is visible
  EXPECT_GT(report.maxError, 0.0); // and so is the backend's
  // A backend error of a quarter is far outside the bound.
  out.data[5] += 0.25;
  EXPECT_FALSE(checkTolerance(out, gold[0], lowp[0], 1e-6).ok);
}

} // namespace
