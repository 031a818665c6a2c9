//===- HostTensor.h - Element types and host tensors ------------*- C++ -*-===//
//
// A dense, row-major tensor in host memory with an element type. This is the
// runtime's exchange type: the .npy and safetensors readers produce it and the
// reference evaluator consumes it. It links no LLVM.
//
//===----------------------------------------------------------------------===//

#ifndef ATTUNE_RUNTIME_HOSTTENSOR_H
#define ATTUNE_RUNTIME_HOSTTENSOR_H

#include "attune/runtime/Status.h"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace attune {

/// Element types. Floats are IEEE-754 little endian; BF16 is the upper half
/// of an f32; Bool is one byte holding 0 or 1.
enum class DType { F64, F32, F16, BF16, I64, I32, I16, I8, U8, Bool };

/// Size of one element in bytes.
size_t dtypeSize(DType t);
/// Lower-case name as the dialect spells it: "f32", "bf16", "i64", "i1" ...
std::string_view dtypeName(DType t);
/// Parses a name from dtypeName; nullopt-like failure as a Status.
StatusOr<DType> dtypeFromName(std::string_view name);
bool isFloatDType(DType t);

/// Round-to-nearest-even conversions. NaN stays NaN, overflow becomes inf.
uint16_t floatToHalfBits(float f);
float halfBitsToFloat(uint16_t h);
uint16_t floatToBF16Bits(float f);
float bf16BitsToFloat(uint16_t b);

/// Rounds `x` to the nearest value representable in `t` (for float types) and
/// returns it as a double. Integer types truncate toward zero and saturate.
double roundToDType(double x, DType t);

/// Number of elements of a shape (1 for rank 0). Negative dims are invalid.
int64_t numElements(const std::vector<int64_t> &shape);
/// "[2, 3, 4]" for messages; a negative dim (unknown, as in a signature with
/// dynamic dims) prints as "?".
std::string shapeToString(const std::vector<int64_t> &shape);

/// A dense row-major tensor that owns its bytes.
class HostTensor {
public:
  HostTensor() = default;
  /// Zero-filled tensor.
  HostTensor(DType dtype, std::vector<int64_t> shape);

  DType dtype() const { return dtype_; }
  const std::vector<int64_t> &shape() const { return shape_; }
  int64_t rank() const { return static_cast<int64_t>(shape_.size()); }
  int64_t numElements() const;
  size_t byteSize() const { return bytes_.size(); }
  uint8_t *data() { return bytes_.data(); }
  const uint8_t *data() const { return bytes_.data(); }

  /// Element `i` (linear, row-major) converted to double.
  double getDouble(int64_t i) const;
  /// Stores `v` into element `i`, converting (rounding) to the dtype.
  void setDouble(int64_t i, double v);
  /// Element `i` of an integer or bool tensor as int64 (floats truncate).
  int64_t getInt(int64_t i) const;

private:
  DType dtype_ = DType::F32;
  std::vector<int64_t> shape_;
  std::vector<uint8_t> bytes_;
};

} // namespace attune

#endif // ATTUNE_RUNTIME_HOSTTENSOR_H
