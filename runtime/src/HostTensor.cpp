//===- HostTensor.cpp - Element types and host tensors --------------------===//
//
// Conversions between f32/f64 and the 16-bit float formats, rounding to a
// dtype, and the HostTensor container.
//
//===----------------------------------------------------------------------===//

#include "attune/runtime/HostTensor.h"

#include <cmath>
#include <cstring>
#include <limits>

namespace attune {

static_assert(sizeof(float) == 4 && std::numeric_limits<float>::is_iec559,
              "the runtime assumes IEEE-754 binary32 floats");
static_assert(sizeof(double) == 8 && std::numeric_limits<double>::is_iec559,
              "the runtime assumes IEEE-754 binary64 doubles");

size_t dtypeSize(DType t) {
  switch (t) {
  case DType::F64:
  case DType::I64:
    return 8;
  case DType::F32:
  case DType::I32:
    return 4;
  case DType::F16:
  case DType::BF16:
  case DType::I16:
    return 2;
  case DType::I8:
  case DType::U8:
  case DType::Bool:
    return 1;
  }
  return 0;
}

std::string_view dtypeName(DType t) {
  switch (t) {
  case DType::F64:
    return "f64";
  case DType::F32:
    return "f32";
  case DType::F16:
    return "f16";
  case DType::BF16:
    return "bf16";
  case DType::I64:
    return "i64";
  case DType::I32:
    return "i32";
  case DType::I16:
    return "i16";
  case DType::I8:
    return "i8";
  case DType::U8:
    // MLIR spells unsigned integers with a "ui" prefix.
    return "ui8";
  case DType::Bool:
    return "i1";
  }
  return "?";
}

StatusOr<DType> dtypeFromName(std::string_view name) {
  static const DType all[] = {DType::F64, DType::F32, DType::F16, DType::BF16,
                              DType::I64, DType::I32, DType::I16, DType::I8,
                              DType::U8,  DType::Bool};
  for (DType t : all)
    if (name == dtypeName(t))
      return t;
  // Aliases that people write by hand.
  if (name == "u8")
    return DType::U8;
  if (name == "bool")
    return DType::Bool;
  return invalidArgument(
      "unknown element type '" + std::string(name) +
      "'; expected one of f64, f32, f16, bf16, i64, i32, i16, i8, ui8, i1");
}

bool isFloatDType(DType t) {
  return t == DType::F64 || t == DType::F32 || t == DType::F16 ||
         t == DType::BF16;
}

//===----------------------------------------------------------------------===//
// 16-bit floats
//===----------------------------------------------------------------------===//

static uint32_t floatBits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

static float bitsToFloat(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

uint16_t floatToHalfBits(float f) {
  uint32_t x = floatBits(f);
  uint16_t sign = static_cast<uint16_t>((x >> 16) & 0x8000u);
  uint32_t a = x & 0x7fffffffu;
  if (a >= 0x7f800000u) {
    if (a == 0x7f800000u)
      return sign | 0x7c00u;
    // Keep the top payload bits and force the quiet bit so a NaN never turns
    // into an infinity.
    return static_cast<uint16_t>(sign | 0x7e00u | ((a >> 13) & 0x3ffu));
  }
  // 65520 is halfway between the largest half (65504) and 2^16; the tie goes
  // to the even neighbour, which is the overflow.
  if (a >= 0x477ff000u)
    return sign | 0x7c00u;
  if (a >= 0x38800000u) {
    // Normal half: rebias the exponent and round away 13 mantissa bits. A
    // carry out of the mantissa correctly increments the exponent.
    uint32_t h = (a >> 13) - (112u << 10);
    uint32_t rem = a & 0x1fffu;
    if (rem > 0x1000u || (rem == 0x1000u && (h & 1u)))
      ++h;
    return static_cast<uint16_t>(sign | h);
  }
  // Half subnormals are multiples of 2^-24; 2^-25 (a tie with zero) and below
  // round to zero.
  if (a <= 0x33000000u)
    return sign;
  uint32_t e = a >> 23;
  uint32_t m = (a & 0x7fffffu) | 0x800000u;
  uint32_t shift = 126u - e; // in [14, 24]
  uint32_t h = m >> shift;
  uint32_t rem = m & ((1u << shift) - 1u);
  uint32_t half = 1u << (shift - 1u);
  if (rem > half || (rem == half && (h & 1u)))
    ++h; // may carry into the smallest normal, which is right
  return static_cast<uint16_t>(sign | h);
}

float halfBitsToFloat(uint16_t h) {
  uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  uint32_t e = (h >> 10) & 0x1fu;
  uint32_t m = h & 0x3ffu;
  if (e == 0x1f)
    return bitsToFloat(sign | 0x7f800000u | (m << 13));
  if (e == 0) {
    // Subnormal (or zero): m * 2^-24 is exact in f32.
    float v = static_cast<float>(m) * 5.9604644775390625e-8f;
    return sign ? -v : v;
  }
  return bitsToFloat(sign | ((e + 112u) << 23) | (m << 13));
}

uint16_t floatToBF16Bits(float f) {
  uint32_t x = floatBits(f);
  if ((x & 0x7fffffffu) > 0x7f800000u)
    return static_cast<uint16_t>((x >> 16) | 0x40u); // quiet NaN stays NaN
  // Round to nearest even on the low 16 bits; overflow carries into inf.
  x += 0x7fffu + ((x >> 16) & 1u);
  return static_cast<uint16_t>(x >> 16);
}

float bf16BitsToFloat(uint16_t b) {
  return bitsToFloat(static_cast<uint32_t>(b) << 16);
}

/// Rounds a double directly to a binary format with `p` significand bits,
/// minimum normal exponent `emin` and largest finite value `maxFinite`.
/// Rounding straight from double avoids the double-rounding error of going
/// through f32 first.
static double roundToFormat(double x, int p, int emin, double maxFinite) {
  if (!std::isfinite(x) || x == 0)
    return x;
  double a = std::fabs(x);
  int e = std::ilogb(a);
  if (e < emin)
    e = emin; // subnormals share the spacing of the smallest binade
  double ulp = std::ldexp(1.0, e - p + 1);
  // a / ulp is exact (power-of-two scaling); nearbyint rounds half to even in
  // the default rounding mode.
  double r = std::nearbyint(a / ulp) * ulp;
  if (r > maxFinite)
    r = std::numeric_limits<double>::infinity();
  return std::copysign(r, x);
}

static double roundToF32(double x) {
  // Values at or beyond FLT_MAX + ulp/2 round to infinity; converting them
  // with a cast would be undefined behaviour.
  if (std::fabs(x) >= 0x1.ffffffp127)
    return std::copysign(std::numeric_limits<double>::infinity(), x);
  return static_cast<double>(static_cast<float>(x));
}

/// Truncates toward zero and saturates to [lo, hi]; NaN becomes 0.
static double truncSaturate(double x, double lo, double hi) {
  if (std::isnan(x))
    return 0;
  x = std::trunc(x);
  return x < lo ? lo : (x > hi ? hi : x);
}

double roundToDType(double x, DType t) {
  switch (t) {
  case DType::F64:
    return x;
  case DType::F32:
    return roundToF32(x);
  case DType::F16:
    return roundToFormat(x, 11, -14, 65504.0);
  case DType::BF16:
    return roundToFormat(x, 8, -126, 0x1.fep127);
  case DType::I64:
    return truncSaturate(x, -0x1p63, 0x1p63);
  case DType::I32:
    return truncSaturate(x, -2147483648.0, 2147483647.0);
  case DType::I16:
    return truncSaturate(x, -32768.0, 32767.0);
  case DType::I8:
    return truncSaturate(x, -128.0, 127.0);
  case DType::U8:
    return truncSaturate(x, 0.0, 255.0);
  case DType::Bool:
    // As numpy's astype(bool): anything nonzero (NaN included) is true.
    return x != 0 ? 1.0 : 0.0;
  }
  return x;
}

int64_t numElements(const std::vector<int64_t> &shape) {
  // -1 flags an invalid shape (a negative dim or a product beyond int64).
  // A zero dim makes the product 0 wherever it stands: [2^40, 2^40, 0] is
  // as empty as [0, 2^40, 2^40] (checking overflow first rejected one order).
  bool empty = false;
  for (int64_t d : shape) {
    if (d < 0)
      return -1;
    empty |= d == 0;
  }
  if (empty)
    return 0;
  int64_t n = 1;
  for (int64_t d : shape) {
    if (n > std::numeric_limits<int64_t>::max() / d)
      return -1;
    n *= d;
  }
  return n;
}

std::string shapeToString(const std::vector<int64_t> &shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i)
      s += ", ";
    s += shape[i] < 0 ? std::string("?") : std::to_string(shape[i]);
  }
  return s + "]";
}

//===----------------------------------------------------------------------===//
// HostTensor
//===----------------------------------------------------------------------===//

HostTensor::HostTensor(DType dtype, std::vector<int64_t> shape)
    : dtype_(dtype), shape_(std::move(shape)) {
  // The constructor cannot fail: an invalid shape yields no storage.
  int64_t n = attune::numElements(shape_);
  bytes_.assign(n > 0 ? static_cast<size_t>(n) * dtypeSize(dtype_) : 0, 0);
}

int64_t HostTensor::numElements() const {
  return static_cast<int64_t>(bytes_.size() / dtypeSize(dtype_));
}

template <typename T> static T load(const uint8_t *p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

template <typename T> static void store(uint8_t *p, T v) {
  std::memcpy(p, &v, sizeof(T));
}

double HostTensor::getDouble(int64_t i) const {
  const uint8_t *p = bytes_.data() + static_cast<size_t>(i) * dtypeSize(dtype_);
  switch (dtype_) {
  case DType::F64:
    return load<double>(p);
  case DType::F32:
    return load<float>(p);
  case DType::F16:
    return halfBitsToFloat(load<uint16_t>(p));
  case DType::BF16:
    return bf16BitsToFloat(load<uint16_t>(p));
  case DType::I64:
    return static_cast<double>(load<int64_t>(p));
  case DType::I32:
    return load<int32_t>(p);
  case DType::I16:
    return load<int16_t>(p);
  case DType::I8:
    return load<int8_t>(p);
  case DType::U8:
    return load<uint8_t>(p);
  case DType::Bool:
    return load<uint8_t>(p) ? 1.0 : 0.0;
  }
  return 0;
}

void HostTensor::setDouble(int64_t i, double v) {
  uint8_t *p = bytes_.data() + static_cast<size_t>(i) * dtypeSize(dtype_);
  // Round once, from double, to the target; the subsequent narrowing
  // conversions are then exact.
  double r = roundToDType(v, dtype_);
  switch (dtype_) {
  case DType::F64:
    store<double>(p, r);
    return;
  case DType::F32:
    store<float>(p, static_cast<float>(r));
    return;
  case DType::F16:
    store<uint16_t>(p, floatToHalfBits(static_cast<float>(r)));
    return;
  case DType::BF16:
    store<uint16_t>(p, floatToBF16Bits(static_cast<float>(r)));
    return;
  case DType::I64:
    // 2^63 is the saturated value as a double; it does not fit an int64.
    store<int64_t>(p, r >= 0x1p63 ? std::numeric_limits<int64_t>::max()
                                  : static_cast<int64_t>(r));
    return;
  case DType::I32:
    store<int32_t>(p, static_cast<int32_t>(r));
    return;
  case DType::I16:
    store<int16_t>(p, static_cast<int16_t>(r));
    return;
  case DType::I8:
    store<int8_t>(p, static_cast<int8_t>(r));
    return;
  case DType::U8:
  case DType::Bool:
    store<uint8_t>(p, static_cast<uint8_t>(r));
    return;
  }
}

int64_t HostTensor::getInt(int64_t i) const {
  const uint8_t *p = bytes_.data() + static_cast<size_t>(i) * dtypeSize(dtype_);
  switch (dtype_) {
  case DType::I64:
    return load<int64_t>(p);
  case DType::I32:
    return load<int32_t>(p);
  case DType::I16:
    return load<int16_t>(p);
  case DType::I8:
    return load<int8_t>(p);
  case DType::U8:
    return load<uint8_t>(p);
  case DType::Bool:
    return load<uint8_t>(p) ? 1 : 0;
  case DType::F64:
  case DType::F32:
  case DType::F16:
  case DType::BF16: {
    double r = roundToDType(getDouble(i), DType::I64);
    return r >= 0x1p63 ? std::numeric_limits<int64_t>::max()
                       : static_cast<int64_t>(r);
  }
  }
  return 0;
}

} // namespace attune
