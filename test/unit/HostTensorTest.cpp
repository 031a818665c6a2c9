//===- HostTensorTest.cpp - dtype conversions and HostTensor --------------===//

#include "attune/runtime/HostTensor.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>

using namespace attune;

namespace {

float bitsToFloat(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

const DType kAllDTypes[] = {DType::F64, DType::F32, DType::F16, DType::BF16,
                            DType::I64, DType::I32, DType::I16, DType::I8,
                            DType::U8,  DType::Bool};

//===----------------------------------------------------------------------===//
// f16
//===----------------------------------------------------------------------===//

TEST(Half, KnownBitPatterns) {
  EXPECT_EQ(floatToHalfBits(0.0f), 0x0000);
  EXPECT_EQ(floatToHalfBits(-0.0f), 0x8000);
  EXPECT_EQ(floatToHalfBits(1.0f), 0x3c00);
  EXPECT_EQ(floatToHalfBits(-2.0f), 0xc000);
  EXPECT_EQ(floatToHalfBits(0.5f), 0x3800);
  EXPECT_EQ(floatToHalfBits(65504.0f), 0x7bff);              // largest finite
  EXPECT_EQ(floatToHalfBits(std::ldexp(1.0f, -14)), 0x0400); // smallest normal
  EXPECT_EQ(floatToHalfBits(std::ldexp(1.0f, -24)),
            0x0001); // smallest subnormal
  EXPECT_EQ(floatToHalfBits(std::ldexp(1023.0f, -24)),
            0x03ff); // largest subnormal
  EXPECT_EQ(floatToHalfBits(0.1f), 0x2e66);
  EXPECT_EQ(floatToHalfBits(1.0f / 3.0f), 0x3555);
}

TEST(Half, RoundsHalfToEven) {
  // 1 + 2^-11 is halfway between 1 (even mantissa) and 1 + 2^-10.
  EXPECT_EQ(floatToHalfBits(1.0f + std::ldexp(1.0f, -11)), 0x3c00);
  // 1 + 3 * 2^-11 is halfway between 0x3c01 (odd) and 0x3c02 (even).
  EXPECT_EQ(floatToHalfBits(1.0f + 3 * std::ldexp(1.0f, -11)), 0x3c02);
  // Just above a tie rounds up.
  EXPECT_EQ(floatToHalfBits(std::nextafter(1.0f + std::ldexp(1.0f, -11), 2.0f)),
            0x3c01);
  // Subnormal ties: 2^-25 (between 0 and 2^-24) goes to 0, 3 * 2^-25 to 2.
  EXPECT_EQ(floatToHalfBits(std::ldexp(1.0f, -25)), 0x0000);
  EXPECT_EQ(floatToHalfBits(std::nextafter(std::ldexp(1.0f, -25), 1.0f)),
            0x0001);
  EXPECT_EQ(floatToHalfBits(3 * std::ldexp(1.0f, -25)), 0x0002);
  EXPECT_EQ(floatToHalfBits(std::ldexp(1.0f, -30)), 0x0000);
  // Rounding the largest subnormal upward carries into the smallest normal.
  EXPECT_EQ(floatToHalfBits(std::ldexp(2047.0f, -25)), 0x0400);
}

TEST(Half, OverflowInfAndNaN) {
  // 65520 is the tie between 65504 (odd mantissa) and 2^16: it overflows.
  EXPECT_EQ(floatToHalfBits(65520.0f), 0x7c00);
  EXPECT_EQ(floatToHalfBits(std::nextafter(65520.0f, 0.0f)), 0x7bff);
  EXPECT_EQ(floatToHalfBits(-1e6f), 0xfc00);
  EXPECT_EQ(floatToHalfBits(std::numeric_limits<float>::infinity()), 0x7c00);
  EXPECT_EQ(floatToHalfBits(-std::numeric_limits<float>::infinity()), 0xfc00);
  uint16_t nan = floatToHalfBits(std::numeric_limits<float>::quiet_NaN());
  EXPECT_EQ(nan & 0x7c00, 0x7c00);
  EXPECT_NE(nan & 0x03ff, 0);
  // A signalling NaN whose payload lives only in low bits must stay NaN.
  uint16_t snan = floatToHalfBits(bitsToFloat(0x7f800001u));
  EXPECT_EQ(snan & 0x7c00, 0x7c00);
  EXPECT_NE(snan & 0x03ff, 0);
}

TEST(Half, BitsToFloat) {
  EXPECT_EQ(halfBitsToFloat(0x3c00), 1.0f);
  EXPECT_EQ(halfBitsToFloat(0x7bff), 65504.0f);
  EXPECT_EQ(halfBitsToFloat(0x0001), std::ldexp(1.0f, -24));
  EXPECT_EQ(halfBitsToFloat(0x03ff), std::ldexp(1023.0f, -24));
  EXPECT_EQ(halfBitsToFloat(0x3555), 0.333251953125f);
  EXPECT_TRUE(std::signbit(halfBitsToFloat(0x8000)));
  EXPECT_EQ(halfBitsToFloat(0x8000), 0.0f);
  EXPECT_EQ(halfBitsToFloat(0xfc00), -std::numeric_limits<float>::infinity());
  EXPECT_TRUE(std::isnan(halfBitsToFloat(0x7e00)));
  EXPECT_TRUE(std::isnan(halfBitsToFloat(0x7c01)));
}

TEST(Half, ExhaustiveRoundTripAndMidpoints) {
  for (uint32_t h = 0; h < 0x10000; ++h) {
    float f = halfBitsToFloat(uint16_t(h));
    if (std::isnan(f)) {
      ASSERT_TRUE(std::isnan(halfBitsToFloat(floatToHalfBits(f)))) << h;
      continue;
    }
    ASSERT_EQ(floatToHalfBits(f), h) << "bits " << h;
    ASSERT_EQ(roundToDType(f, DType::F16), double(f)) << "bits " << h;
  }
  // Every midpoint between positive finite neighbours rounds to the even one,
  // and its float and double neighbours round to the nearer side.
  for (uint32_t h = 0; h < 0x7bff; ++h) {
    float lo = halfBitsToFloat(uint16_t(h)),
          hi = halfBitsToFloat(uint16_t(h + 1));
    float mid = lo + (hi - lo) / 2; // exact: one more bit than a half holds
    uint16_t even = (h % 2 == 0) ? uint16_t(h) : uint16_t(h + 1);
    ASSERT_EQ(floatToHalfBits(mid), even) << "bits " << h;
    ASSERT_EQ(floatToHalfBits(std::nextafter(mid, 0.0f)), h) << "bits " << h;
    ASSERT_EQ(floatToHalfBits(std::nextafter(mid, 1e9f)), h + 1)
        << "bits " << h;
    ASSERT_EQ(roundToDType(mid, DType::F16), halfBitsToFloat(even));
    // Double neighbours closer than any float: no double rounding via f32.
    ASSERT_EQ(roundToDType(std::nextafter(double(mid), 0.0), DType::F16),
              double(lo))
        << "bits " << h;
    ASSERT_EQ(roundToDType(std::nextafter(double(mid), 1e9), DType::F16),
              double(hi))
        << "bits " << h;
  }
}

//===----------------------------------------------------------------------===//
// bf16
//===----------------------------------------------------------------------===//

TEST(BF16, KnownBitPatterns) {
  EXPECT_EQ(floatToBF16Bits(1.0f), 0x3f80);
  EXPECT_EQ(floatToBF16Bits(-2.0f), 0xc000);
  EXPECT_EQ(floatToBF16Bits(-0.0f), 0x8000);
  EXPECT_EQ(floatToBF16Bits(3.140625f), 0x4049);
  EXPECT_EQ(floatToBF16Bits(0.1f), 0x3dcd);
  // Ties to even: 1 + 2^-8 -> 1 (even); 1 + 3 * 2^-8 -> 1 + 2^-6 (0x3f82).
  EXPECT_EQ(floatToBF16Bits(1.0f + std::ldexp(1.0f, -8)), 0x3f80);
  EXPECT_EQ(floatToBF16Bits(1.0f + 3 * std::ldexp(1.0f, -8)), 0x3f82);
  EXPECT_EQ(floatToBF16Bits(std::nextafter(1.0f + std::ldexp(1.0f, -8), 2.0f)),
            0x3f81);
  // Subnormals: f32 subnormal 2^-133 is bf16 subnormal 0x0001; 2^-134 is a
  // tie with zero.
  EXPECT_EQ(floatToBF16Bits(std::ldexp(1.0f, -133)), 0x0001);
  EXPECT_EQ(floatToBF16Bits(std::ldexp(1.0f, -134)), 0x0000);
  EXPECT_EQ(floatToBF16Bits(3 * std::ldexp(1.0f, -134)), 0x0002);
  EXPECT_EQ(bf16BitsToFloat(0x0001), std::ldexp(1.0f, -133));
}

TEST(BF16, OverflowInfAndNaN) {
  EXPECT_EQ(floatToBF16Bits(std::numeric_limits<float>::max()), 0x7f80);
  EXPECT_EQ(floatToBF16Bits(bf16BitsToFloat(0x7f7f)), 0x7f7f);
  EXPECT_EQ(floatToBF16Bits(std::numeric_limits<float>::infinity()), 0x7f80);
  EXPECT_EQ(floatToBF16Bits(-std::numeric_limits<float>::infinity()), 0xff80);
  // A NaN whose payload sits in the low half must not become an infinity.
  uint16_t nan = floatToBF16Bits(bitsToFloat(0x7f800001u));
  EXPECT_TRUE(std::isnan(bf16BitsToFloat(nan)));
  EXPECT_TRUE(std::isnan(bf16BitsToFloat(
      floatToBF16Bits(std::numeric_limits<float>::quiet_NaN()))));
}

TEST(BF16, ExhaustiveRoundTripAndMidpoints) {
  for (uint32_t b = 0; b < 0x10000; ++b) {
    float f = bf16BitsToFloat(uint16_t(b));
    if (std::isnan(f))
      continue;
    ASSERT_EQ(floatToBF16Bits(f), b) << "bits " << b;
    ASSERT_EQ(roundToDType(f, DType::BF16), double(f)) << "bits " << b;
  }
  for (uint32_t b = 0; b < 0x7f7f; ++b) {
    float lo = bf16BitsToFloat(uint16_t(b)),
          hi = bf16BitsToFloat(uint16_t(b + 1));
    float mid = lo + (hi - lo) / 2; // lo + hi could overflow
    uint16_t even = (b % 2 == 0) ? uint16_t(b) : uint16_t(b + 1);
    ASSERT_EQ(floatToBF16Bits(mid), even) << "bits " << b;
    ASSERT_EQ(roundToDType(mid, DType::BF16), bf16BitsToFloat(even));
    ASSERT_EQ(roundToDType(std::nextafter(double(mid), 0.0), DType::BF16),
              double(lo));
    ASSERT_EQ(roundToDType(std::nextafter(double(mid), 1e300), DType::BF16),
              double(hi));
  }
}

//===----------------------------------------------------------------------===//
// roundToDType
//===----------------------------------------------------------------------===//

TEST(RoundToDType, FloatsRoundOnceFromDouble) {
  // 1 + 2^-8 + 2^-30: through f32 it would become the tie 1 + 2^-8 and then
  // round to 1; rounded directly it is above the tie.
  EXPECT_EQ(roundToDType(1.0 + 0x1p-8 + 0x1p-30, DType::BF16), 1.0 + 0x1p-7);
  EXPECT_EQ(roundToDType(1.0 + 0x1p-11 + 0x1p-40, DType::F16), 1.0 + 0x1p-10);
  EXPECT_EQ(roundToDType(0.1, DType::F32), double(0.1f));
  EXPECT_EQ(roundToDType(0.1, DType::F64), 0.1);
  EXPECT_EQ(roundToDType(65519.0, DType::F16), 65504.0);
  EXPECT_EQ(roundToDType(65520.0, DType::F16),
            std::numeric_limits<double>::infinity());
  EXPECT_EQ(roundToDType(-1e300, DType::F32),
            -std::numeric_limits<double>::infinity());
  EXPECT_EQ(roundToDType(double(std::numeric_limits<float>::max()), DType::F32),
            double(std::numeric_limits<float>::max()));
  // FLT_MAX + half an ulp is the overflow tie (FLT_MAX's mantissa is odd).
  EXPECT_EQ(roundToDType(0x1.ffffffp127, DType::F32),
            std::numeric_limits<double>::infinity());
  EXPECT_EQ(roundToDType(0x1.fffffefp127, DType::F32),
            double(std::numeric_limits<float>::max()));
  EXPECT_EQ(roundToDType(1e-50, DType::F32), 0.0);
  EXPECT_EQ(roundToDType(0x1p-149, DType::F32), 0x1p-149);
  EXPECT_TRUE(std::isnan(roundToDType(std::nan(""), DType::F16)));
  EXPECT_TRUE(std::isnan(roundToDType(std::nan(""), DType::BF16)));
  EXPECT_TRUE(std::signbit(roundToDType(-1e-30, DType::F16)));
}

TEST(RoundToDType, AgreesWithBitConversionsOnRandomFloats) {
  std::mt19937 rng(7);
  std::uniform_int_distribution<uint32_t> bits;
  for (int i = 0; i < 200000; ++i) {
    float f = bitsToFloat(bits(rng));
    if (std::isnan(f))
      continue;
    ASSERT_EQ(roundToDType(f, DType::F16),
              double(halfBitsToFloat(floatToHalfBits(f))))
        << f;
    ASSERT_EQ(roundToDType(f, DType::BF16),
              double(bf16BitsToFloat(floatToBF16Bits(f))))
        << f;
  }
}

TEST(RoundToDType, IntegersTruncateAndSaturate) {
  EXPECT_EQ(roundToDType(3.7, DType::I32), 3.0);
  EXPECT_EQ(roundToDType(-3.7, DType::I32), -3.0);
  EXPECT_EQ(roundToDType(1e10, DType::I32), 2147483647.0);
  EXPECT_EQ(roundToDType(-1e10, DType::I32), -2147483648.0);
  EXPECT_EQ(roundToDType(200.9, DType::I8), 127.0);
  EXPECT_EQ(roundToDType(-200.0, DType::I8), -128.0);
  EXPECT_EQ(roundToDType(40000.0, DType::I16), 32767.0);
  EXPECT_EQ(roundToDType(300.0, DType::U8), 255.0);
  EXPECT_EQ(roundToDType(-5.0, DType::U8), 0.0);
  EXPECT_EQ(roundToDType(1e30, DType::I64), 0x1p63);
  EXPECT_EQ(roundToDType(-1e30, DType::I64), -0x1p63);
  EXPECT_EQ(roundToDType(std::nan(""), DType::I32), 0.0);
  EXPECT_EQ(roundToDType(0.5, DType::Bool), 1.0);
  EXPECT_EQ(roundToDType(-0.0, DType::Bool), 0.0);
  EXPECT_EQ(roundToDType(-3.0, DType::Bool), 1.0);
}

//===----------------------------------------------------------------------===//
// Names, shapes, HostTensor
//===----------------------------------------------------------------------===//

TEST(DTypeNames, RoundTrip) {
  for (DType t : kAllDTypes) {
    StatusOr<DType> back = dtypeFromName(dtypeName(t));
    ASSERT_TRUE(back.isOk()) << dtypeName(t);
    EXPECT_EQ(*back, t);
  }
  EXPECT_EQ(dtypeName(DType::BF16), "bf16");
  EXPECT_EQ(dtypeName(DType::Bool), "i1");
  EXPECT_EQ(*dtypeFromName("u8"), DType::U8);
  StatusOr<DType> bad = dtypeFromName("f8");
  ASSERT_FALSE(bad.isOk());
  EXPECT_EQ(bad.status().code(), StatusCode::InvalidArgument);
  EXPECT_NE(bad.status().message().find("'f8'"), std::string::npos);
}

TEST(DTypeNames, SizesAndKinds) {
  EXPECT_EQ(dtypeSize(DType::F64), 8u);
  EXPECT_EQ(dtypeSize(DType::BF16), 2u);
  EXPECT_EQ(dtypeSize(DType::Bool), 1u);
  EXPECT_EQ(dtypeSize(DType::I32), 4u);
  EXPECT_TRUE(isFloatDType(DType::BF16));
  EXPECT_FALSE(isFloatDType(DType::I64));
  EXPECT_FALSE(isFloatDType(DType::Bool));
}

TEST(Shapes, NumElementsAndString) {
  EXPECT_EQ(numElements({}), 1);
  EXPECT_EQ(numElements({2, 3, 4}), 24);
  EXPECT_EQ(numElements({2, 0, 4}), 0);
  EXPECT_EQ(numElements({2, -1}), -1);
  EXPECT_EQ(numElements({int64_t(1) << 40, int64_t(1) << 40}), -1);
  EXPECT_EQ(shapeToString({2, 3, 4}), "[2, 3, 4]");
  EXPECT_EQ(shapeToString({}), "[]");
  EXPECT_EQ(shapeToString({-1, 8}), "[?, 8]"); // unknown dims
}

TEST(HostTensorTest, SetGetEveryDType) {
  for (DType t : kAllDTypes) {
    HostTensor h(t, {2, 3});
    EXPECT_EQ(h.numElements(), 6);
    EXPECT_EQ(h.byteSize(), 6 * dtypeSize(t));
    EXPECT_EQ(h.getDouble(5), 0.0) << dtypeName(t);
    h.setDouble(1, 2.75);
    h.setDouble(2, -1.25);
    double want1 = roundToDType(2.75, t), want2 = roundToDType(-1.25, t);
    EXPECT_EQ(h.getDouble(1), want1) << dtypeName(t);
    EXPECT_EQ(h.getDouble(2), want2) << dtypeName(t);
    EXPECT_EQ(h.getInt(1), int64_t(roundToDType(want1, DType::I64)))
        << dtypeName(t);
  }
}

TEST(HostTensorTest, RoundsOnStore) {
  HostTensor h(DType::BF16, {1});
  h.setDouble(0, 1.0 + 0x1p-8 + 0x1p-30);
  EXPECT_EQ(h.getDouble(0), 1.0 + 0x1p-7);
  HostTensor i64(DType::I64, {2});
  i64.setDouble(0, 1e300);
  i64.setDouble(1, -1e300);
  EXPECT_EQ(i64.getInt(0), std::numeric_limits<int64_t>::max());
  EXPECT_EQ(i64.getInt(1), std::numeric_limits<int64_t>::min());
  HostTensor f(DType::F32, {1});
  f.setDouble(0, -7.9);
  EXPECT_EQ(f.getInt(0), -7);
  HostTensor b(DType::Bool, {1});
  b.setDouble(0, 42.0);
  EXPECT_EQ(b.data()[0], 1);
}

TEST(HostTensorTest, RankZeroAndEmpty) {
  HostTensor s(DType::F32, {});
  EXPECT_EQ(s.rank(), 0);
  EXPECT_EQ(s.numElements(), 1);
  HostTensor e(DType::F32, {3, 0});
  EXPECT_EQ(e.numElements(), 0);
  EXPECT_EQ(e.byteSize(), 0u);
  HostTensor bad(DType::F32, {-2});
  EXPECT_EQ(bad.byteSize(), 0u);
}

} // namespace
