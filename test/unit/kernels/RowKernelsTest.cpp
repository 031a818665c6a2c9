//===- RowKernelsTest.cpp - norms, softmax, cross_entropy, rope, embedding ===//

#include "FamilyTestUtil.h"

#include <cmath>

ATTUNE_DECLARE_TYPED(rms_norm)
ATTUNE_DECLARE_TYPED(layer_norm)
ATTUNE_DECLARE_TYPED(softmax)
ATTUNE_DECLARE_TYPED(cross_entropy)
ATTUNE_DECLARE_TYPED(rope)
ATTUNE_DECLARE_TYPED(embedding)

using namespace attune;
using namespace attune::kernels::testing;
using ref::Precision;

namespace {

const DType kAll[] = {DType::F32, DType::BF16, DType::F16};
const int64_t kRows[] = {1, 3, 17, 113, 239, 1025};

HostTensor runNorm(bool layer, DType dt, const ref::RefTensor &x,
                   const ref::RefTensor *w, const ref::RefTensor *b, double eps,
                   int threads) {
  const int64_t D = x.shape.back(), rows = x.numElements() / D;
  HostTensor hx = toStorage(x, dt), hy(dt, x.shape);
  HostTensor hw = w ? toStorage(*w, dt) : HostTensor(),
             hb = b ? toStorage(*b, dt) : HostTensor();
  Launch l;
  if (layer)
    l.buffers = {&hx, w ? &hw : nullptr, b ? &hb : nullptr, &hy};
  else
    l.buffers = {&hx, w ? &hw : nullptr, &hy};
  l.ints = {rows, D};
  l.floats = {eps};
  RunResult r = layer ? run(ATTUNE_FAMILY(layer_norm, dt), l, threads)
                      : run(ATTUNE_FAMILY(rms_norm, dt), l, threads);
  EXPECT_TRUE(r.ok()) << r.message;
  if (r.ok())
    EXPECT_EQ(r.grid, rows);
  return hy;
}

TEST(RowKernels, RmsAndLayerNorm) {
  uint32_t seed = 1;
  for (DType dt : kAll)
    for (int64_t rows : kRows) {
      if (dt == DType::F16 && rows > 17)
        continue;
      for (int64_t D : {1, 7, 64, 133}) {
        ref::RefTensor x = randomRef(dt, {rows, D}, ++seed, -2, 3);
        ref::RefTensor w = randomRef(dt, {D}, ++seed),
                       b = randomRef(dt, {D}, ++seed);
        for (bool affine : {false, true}) {
          ref::RefTensor gold, lowp;
          ASSERT_TRUE(
              ref::rmsNorm(x, affine ? &w : nullptr, 1e-5, Precision::F64, gold)
                  .isOk());
          ASSERT_TRUE(ref::rmsNorm(x, affine ? &w : nullptr, 1e-5,
                                   Precision::Native, lowp)
                          .isOk());
          EXPECT_TRUE(matches(
              runNorm(false, dt, x, affine ? &w : nullptr, nullptr, 1e-5, 3),
              gold, lowp, defaultFloor(dt)))
              << "rms " << dtName(dt) << " rows=" << rows << " D=" << D;
          ASSERT_TRUE(ref::layerNorm(x, affine ? &w : nullptr,
                                     affine ? &b : nullptr, 1e-5,
                                     Precision::F64, gold)
                          .isOk());
          ASSERT_TRUE(ref::layerNorm(x, affine ? &w : nullptr,
                                     affine ? &b : nullptr, 1e-5,
                                     Precision::Native, lowp)
                          .isOk());
          EXPECT_TRUE(matches(runNorm(true, dt, x, affine ? &w : nullptr,
                                      affine ? &b : nullptr, 1e-5, 3),
                              gold, lowp, defaultFloor(dt)))
              << "layer " << dtName(dt) << " rows=" << rows << " D=" << D;
        }
      }
    }
}

TEST(RowKernels, NormDeterministicAndErrors) {
  ref::RefTensor x = randomRef(DType::BF16, {239, 100}, 5);
  EXPECT_TRUE(
      sameBytes(runNorm(true, DType::BF16, x, nullptr, nullptr, 1e-6, 1),
                runNorm(true, DType::BF16, x, nullptr, nullptr, 1e-6, 5)));
  HostTensor hx(DType::F32, {4, 8}), hy(DType::F32, {4, 8}),
      hw(DType::F32, {7});
  Launch l;
  l.buffers = {&hx, &hw, &hy};
  l.ints = {4, 8};
  l.floats = {1e-5};
  RunResult r = run(ATTUNE_FAMILY(rms_norm, DType::F32), l);
  EXPECT_NE(r.message.find("buffer 1 (weight [D])"), std::string::npos)
      << r.message;
  l.buffers = {&hx, nullptr, &hy};
  l.floats = {-1};
  r = run(ATTUNE_FAMILY(rms_norm, DType::F32), l);
  EXPECT_NE(r.message.find("eps = -1"), std::string::npos) << r.message;
  l.floats = {};
  r = run(ATTUNE_FAMILY(rms_norm, DType::F32), l);
  EXPECT_NE(r.message.find("expected 1 floats"), std::string::npos)
      << r.message;
}

void checkSoftmax(DType dt, std::vector<int64_t> shape, int64_t axis,
                  uint32_t seed, bool special = false) {
  ref::RefTensor x = randomRef(dt, shape, seed, -4, 4);
  int64_t outer = 1, inner = 1;
  for (int64_t i = 0; i < axis; ++i)
    outer *= shape[i];
  for (size_t i = axis + 1; i < shape.size(); ++i)
    inner *= shape[i];
  if (special && inner == 1 &&
      outer >= 2) { // an all -inf row and a partly -inf row
    for (int64_t j = 0; j < shape[axis]; ++j)
      x.data[j] = -INFINITY;
    x.data[shape[axis]] = -INFINITY;
  }
  ref::RefTensor gold, lowp;
  ASSERT_TRUE(ref::softmax(x, axis, Precision::F64, gold).isOk());
  ASSERT_TRUE(ref::softmax(x, axis, Precision::Native, lowp).isOk());
  HostTensor hx = toStorage(x, dt), hy(dt, shape);
  Launch l;
  l.buffers = {&hx, &hy};
  l.ints = {outer, shape[axis], inner};
  RunResult r = run(ATTUNE_FAMILY(softmax, dt), l);
  ASSERT_TRUE(r.ok()) << r.message;
  EXPECT_TRUE(matches(hy, gold, lowp, defaultFloor(dt)))
      << dtName(dt) << " axis " << axis << " of rank " << shape.size();
}

TEST(RowKernels, Softmax) {
  uint32_t seed = 10;
  for (DType dt : kAll) {
    for (int64_t n : {1, 3, 17, 113, 1025})
      checkSoftmax(dt, {3, n}, 1, ++seed, true);
    checkSoftmax(dt, {4, 17, 5}, 1, ++seed);
    checkSoftmax(dt, {17, 3, 13}, 0, ++seed);
    checkSoftmax(dt, {2, 239, 9}, 1, ++seed);
  }
}

void checkCrossEntropy(DType dt, int64_t N, int64_t C, int red, int bits,
                       uint32_t seed) {
  ref::RefTensor logits = randomRef(dt, {N, C}, seed, -5, 5);
  ref::RefTensor labels(bits == 32 ? DType::I32 : DType::I64, {N});
  std::mt19937 rng(seed);
  for (int64_t i = 0; i < N; ++i)
    labels.data[i] = (i % 5 == 3) ? -100 : static_cast<double>(rng() % C);
  ref::RefTensor gold, lowp;
  const auto r = static_cast<ref::Reduction>(red);
  ASSERT_TRUE(
      ref::crossEntropy(logits, labels, -100, r, Precision::F64, gold).isOk());
  ASSERT_TRUE(
      ref::crossEntropy(logits, labels, -100, r, Precision::Native, lowp)
          .isOk());
  HostTensor hl = toStorage(logits, dt), hlab = labels.toHost(),
             hy(dt,
                red == 0 ? std::vector<int64_t>{N} : std::vector<int64_t>{});
  Launch l;
  l.buffers = {&hl, &hlab, &hy};
  l.ints = {N, C, bits, -100, red};
  RunResult res = run(ATTUNE_FAMILY(cross_entropy, dt), l);
  ASSERT_TRUE(res.ok()) << res.message;
  EXPECT_EQ(res.grid, red == 0 ? N : 1);
  EXPECT_TRUE(matches(hy, gold, lowp, defaultFloor(dt) * (red ? 10 : 1)))
      << dtName(dt) << " N=" << N << " C=" << C << " red=" << red;
}

TEST(RowKernels, CrossEntropy) {
  uint32_t seed = 50;
  for (DType dt : {DType::F32, DType::BF16})
    for (int red : {0, 1, 2})
      for (auto nc :
           {std::pair<int64_t, int64_t>{1, 1}, {3, 17}, {113, 239}, {17, 1025}})
      {
        int bits = (seed & 1) ? 32 : 64;
        ++seed;
        checkCrossEntropy(dt, nc.first, nc.second, red, bits, seed);
      }
  checkCrossEntropy(DType::F16, 17, 100, 1, 64, 3);
}

TEST(RowKernels, CrossEntropyBadLabel) {
  HostTensor logits(DType::F32, {4, 10}), labels(DType::I64, {4}),
      loss(DType::F32, {4});
  labels.setDouble(0, 1);
  labels.setDouble(1, -100);
  labels.setDouble(2, 10);
  labels.setDouble(3, 2);
  Launch l;
  l.buffers = {&logits, &labels, &loss};
  l.ints = {4, 10, 64, -100, 0};
  RunResult r = run(ATTUNE_FAMILY(cross_entropy, DType::F32), l);
  EXPECT_EQ(r.code, ATTUNE_KERNEL_OUT_OF_RANGE);
  EXPECT_NE(r.message.find("label 10 of row 2 is outside [0, 10)"),
            std::string::npos)
      << r.message;
  HostTensor scalar(DType::F32, {});
  l.buffers = {&logits, &labels, &scalar};
  l.ints = {4, 10, 64, -100, 1};
  r = run(ATTUNE_FAMILY(cross_entropy, DType::F32), l);
  EXPECT_EQ(r.code, ATTUNE_KERNEL_OUT_OF_RANGE);
  l.ints = {4, 10, 16, -100, 1};
  r = run(ATTUNE_FAMILY(cross_entropy, DType::F32), l);
  EXPECT_NE(r.message.find("label_bits = 16"), std::string::npos) << r.message;
}

void checkRope(DType dt, int64_t B, int64_t H, int64_t L, int64_t D, int64_t rd,
               bool interleaved, int posKind, int bits, double theta,
               uint32_t seed, int64_t posScale = 1) {
  ref::RefTensor x = randomRef(dt, {B, H, L, D}, seed);
  ref::RefTensor pos;
  if (posKind == 1)
    pos = ref::RefTensor(bits == 32 ? DType::I32 : DType::I64, {L});
  else if (posKind == 2)
    pos = ref::RefTensor(bits == 32 ? DType::I32 : DType::I64, {B, L});
  std::mt19937 rng(seed);
  for (double &p : pos.data)
    p = static_cast<double>(rng() % (1000 * posScale));
  const ref::RefTensor *pp = posKind ? &pos : nullptr;
  ref::RefTensor gold, lowp;
  ASSERT_TRUE(
      ref::rope(x, pp, theta, interleaved, rd, Precision::F64, gold).isOk());
  ASSERT_TRUE(
      ref::rope(x, pp, theta, interleaved, rd, Precision::Native, lowp).isOk());
  HostTensor hx = toStorage(x, dt), hp = posKind ? pos.toHost() : HostTensor(),
             hy(dt, x.shape);
  Launch l;
  l.buffers = {&hx, posKind ? &hp : nullptr, &hy};
  l.ints = {
      B * H,      L, D, B, posKind, posKind ? bits : 0, interleaved ? 1 : 0,
      rd ? rd : D};
  l.floats = {theta};
  RunResult r = run(ATTUNE_FAMILY(rope, dt), l);
  ASSERT_TRUE(r.ok()) << r.message;
  EXPECT_TRUE(matches(hy, gold, lowp, defaultFloor(dt)))
      << dtName(dt) << " L=" << L << " D=" << D << " rd=" << rd
      << " inter=" << interleaved << " pos=" << posKind;
}

TEST(RowKernels, Rope) {
  uint32_t seed = 70;
  for (DType dt : {DType::F32, DType::BF16})
    for (bool inter : {false, true})
      for (int posKind : {0, 1, 2}) {
        checkRope(dt, 2, 3, 17, 64, 0, inter, posKind, 64, 10000, ++seed);
        checkRope(dt, 1, 2, 113, 40, 24, inter, posKind, 32, 500000, ++seed);
        checkRope(dt, 2, 1, 3, 6, 2, inter, posKind, 64, 10000, ++seed);
      }
  // Large positions: angles in double keep them right.
  checkRope(DType::F32, 1, 2, 9, 128, 0, false, 1, 64, 500000, 3, 500);
  checkRope(DType::F16, 1, 2, 9, 32, 0, true, 2, 32, 10000, 4);
}

TEST(RowKernels, RopeCheckErrors) {
  HostTensor x(DType::F32, {2, 4, 8}), y(DType::F32, {2, 4, 8});
  Launch l;
  l.buffers = {&x, nullptr, &y};
  l.ints = {2, 4, 8, 1, 0, 0, 0, 8};
  l.floats = {10000};
  EXPECT_TRUE(run(ATTUNE_FAMILY(rope, DType::F32), l).ok());
  l.ints = {2, 4, 8, 1, 0, 0, 0, 7};
  RunResult r = run(ATTUNE_FAMILY(rope, DType::F32), l);
  EXPECT_NE(r.message.find("rotary_dim = 7"), std::string::npos) << r.message;
  l.ints = {2, 4, 8, 1, 1, 64, 0, 8};
  r = run(ATTUNE_FAMILY(rope, DType::F32), l);
  EXPECT_NE(r.message.find("positions [L]"), std::string::npos) << r.message;
}

TEST(RowKernels, Embedding) {
  for (DType dt : kAll)
    for (int bits : {32, 64}) {
      ref::RefTensor table = randomRef(dt, {50, 17}, 9);
      ref::RefTensor ids(bits == 32 ? DType::I32 : DType::I64, {113});
      for (int64_t i = 0; i < 113; ++i)
        ids.data[i] = static_cast<double>((i * 7) % 50);
      ref::RefTensor gold;
      ASSERT_TRUE(ref::embedding(ids, table, gold).isOk());
      HostTensor ht = toStorage(table, dt), hi = ids.toHost(),
                 hy(dt, {113, 17});
      Launch l;
      l.buffers = {&hi, &ht, &hy};
      l.ints = {113, 50, 17, bits};
      RunResult r = run(ATTUNE_FAMILY(embedding, dt), l);
      ASSERT_TRUE(r.ok()) << r.message;
      EXPECT_TRUE(matches(hy, gold, gold, 0));
      // An id out of range names its position and value.
      hi.setDouble(77, 50);
      r = run(ATTUNE_FAMILY(embedding, dt), l);
      EXPECT_EQ(r.code, ATTUNE_KERNEL_OUT_OF_RANGE);
      EXPECT_NE(
          r.message.find("id 50 at position 77 is outside the table's [0, 50)"),
          std::string::npos)
          << r.message;
      hi.setDouble(77, -3);
      r = run(ATTUNE_FAMILY(embedding, dt), l);
      EXPECT_NE(r.message.find("id -3 at position 77"), std::string::npos)
          << r.message;
    }
}

} // namespace
