//===- TensorIO.h - .npy and safetensors readers and writers ----*- C++ -*-===//
//
// Readers never trust their input: every length, offset and shape is checked
// against the buffer before use, and a malformed file yields a Status that
// says what was wrong, never a crash.
//
//===----------------------------------------------------------------------===//

#ifndef ATTUNE_RUNTIME_TENSORIO_H
#define ATTUNE_RUNTIME_TENSORIO_H

#include "attune/runtime/Files.h"
#include "attune/runtime/HostTensor.h"

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace attune {



//===----------------------------------------------------------------------===//
// NumPy .npy (format versions 1.0, 2.0 and 3.0)
//===----------------------------------------------------------------------===//

/// Parses an .npy image. Supported descrs: f8 f4 f2 i8 i4 i2 i1 u1 b1, either
/// byte order ('<', '>', '|', '='), C order only (fortran_order: True is an
/// error that says so). There is no numpy bf16: see writeNpy.
StatusOr<HostTensor> parseNpy(const uint8_t *data, size_t size);
StatusOr<HostTensor> readNpy(const std::string &path);

/// Serializes as .npy version 1.0, little endian. A BF16 tensor is written as
/// f4 (exactly: every bf16 value is an f32 value).
std::vector<uint8_t> serializeNpy(const HostTensor &t);
Status writeNpy(const std::string &path, const HostTensor &t);

//===----------------------------------------------------------------------===//
// safetensors
//===----------------------------------------------------------------------===//

/// A parsed safetensors file: an 8-byte little-endian header length, a JSON
/// header mapping names to {dtype, shape, data_offsets}, then the data.
/// Supported dtypes: F64 F32 F16 BF16 I64 I32 I16 I8 U8 BOOL.
class SafeTensors {
public:
  static StatusOr<SafeTensors> parse(std::vector<uint8_t> bytes);
  static StatusOr<SafeTensors> read(const std::string &path);

  /// Tensor names in file order of their data offsets.
  const std::vector<std::string> &names() const { return names_; }
  bool contains(const std::string &name) const;
  /// A copy of the named tensor; NotFound names the missing tensor and lists
  /// what the file holds.
  StatusOr<HostTensor> get(const std::string &name) const;
  /// The `__metadata__` string map (empty when absent).
  const std::map<std::string, std::string> &metadata() const {
    return metadata_;
  }

private:
  struct Entry {
    DType dtype;
    std::vector<int64_t> shape;
    size_t begin, end; // offsets into bytes_, absolute
  };
  std::vector<uint8_t> bytes_;
  std::vector<std::string> names_;
  std::map<std::string, Entry> entries_;
  std::map<std::string, std::string> metadata_;
};

std::vector<uint8_t>
serializeSafeTensors(const std::vector<std::pair<std::string, HostTensor>> &ts,
                     const std::map<std::string, std::string> &metadata = {});
Status
writeSafeTensors(const std::string &path,
                 const std::vector<std::pair<std::string, HostTensor>> &ts,
                 const std::map<std::string, std::string> &metadata = {});

} // namespace attune

#endif // ATTUNE_RUNTIME_TENSORIO_H
