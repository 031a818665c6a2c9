//===- Artifact.h - The Attune artifact file (.atm) -------------*- C++ -*-===//
//
// One file holds everything the runtime needs to run a compiled module: the
// launch schedule and signatures (a FlatBuffers "metadata" section, schema in
// artifact.fbs), the constant tensors, the CPU shared object and, later, GPU
// code. attune-compile writes it through writeArtifact; the runtime reads it
// through readArtifact, which never trusts the bytes.
//
// Container layout (all integers little endian):
//
//   offset size
//   0      8    magic "\x89ATM\r\n\x1a\n"
//   8      2    format major (kFormatMajor; a reader refuses any other)
//   10     2    format minor (additions a reader of the same major may ignore)
//   12     4    header size H: bytes from 0 to the end of the header checksum
//   16     8    file size (the whole file; catches truncation up front)
//   24     4    section count S
//   28     4    compiler version length V
//   32     V    compiler version (UTF-8, no NUL), then zero bytes up to a
//               multiple of 8
//   ..     32*S section table: kind u32, arch u32 (cubin:
//               ATTUNE_CUBIN_ARCH of GpuABI.h, else 0), offset u64, size u64, CRC-32C u32, reserved u32 (0)
//   H-8    8    header checksum: CRC-32C of bytes [0, H-8) in the low 32
//               bits, high 32 bits zero
//   H ..        sections, each at a 64-byte aligned offset, in table order;
//               the bytes between sections and after the last one up to
//               the next multiple of 64 (the file size) are zero.
//
// Every byte is therefore covered by a checksum or by a field the reader
// checks exactly (sizes, padding that must be zero, reserved words), so a
// truncation or any single bit flip is a load error that names the section,
// what was expected and what was found.
//
// Checksum: CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), chosen
// because it detects every single-bit error and every burst of up to 32
// bits by construction, unlike a general-purpose hash that only makes them
// unlikely; it is computed table-driven (slicing by 8) in portable C++.
//
//===----------------------------------------------------------------------===//

#ifndef ATTUNE_ARTIFACT_ARTIFACT_H
#define ATTUNE_ARTIFACT_ARTIFACT_H

#include "attune/abi/GpuABI.h"
#include "attune/abi/KernelABI.h"
#include "attune/runtime/HostTensor.h"
#include "attune/runtime/Status.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace attune::artifact {

/// Container format version written by this library.
inline constexpr uint16_t kFormatMajor = 1;
inline constexpr uint16_t kFormatMinor = 0;
/// Alignment of every section and of each constant tensor.
inline constexpr uint64_t kSectionAlignment = 64;

/// Section kinds of the container's table.
enum class SectionKind : uint32_t {
  Metadata = 1,        ///< FlatBuffers Module (artifact.fbs), exactly one
  Constants = 2,       ///< constant tensors, at most one
  CpuSharedObject = 3, ///< ELF shared object of the cpu target, at most one
  Cubin = 4,           ///< one per GPU arch (arch = ATTUNE_CUBIN_ARCH)
  Ptx = 5,             ///< PTX for JIT on newer GPUs, at most one
};

struct TensorDesc {
  std::string name;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
};

enum class ValueKind : uint8_t { Argument, Constant, Arena, Output };

/// A buffer a launch reads or writes.
struct ValueDesc {
  ValueKind kind = ValueKind::Arena;
  /// Argument: argument index; Output: result index; else -1.
  int64_t index = -1;
  /// Arena: byte offset in the session arena; Constant: in the constants
  /// section. Must be a multiple of the element size (64 recommended).
  uint64_t offset = 0;
  /// numElements(shape) * dtypeSize(dtype).
  uint64_t bytes = 0;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
};

/// One kernel launch of the cuda target; see include/attune/abi/GpuABI.h.
struct GpuStepDesc {
  std::string kernel;
  /// Value ids in parameter order; -1 = NULL.
  std::vector<int32_t> args;
  /// Bytes the kernel may touch through each arg (same length as args).
  std::vector<uint64_t> argBytes;
  uint32_t grid[3] = {1, 1, 1};
  uint32_t block[3] = {1, 1, 1};
  uint32_t sharedBytes = 0;
};

struct LaunchDesc {
  /// Symbol, e.g. "attune_cpu_linear_f32"; its companion is kernel+"_check".
  std::string kernel;
  /// Value ids; -1 = absent optional buffer.
  std::vector<int32_t> buffers;
  std::vector<int64_t> ints;
  std::vector<double> floats;
  /// Value ids passed to the hooks.
  std::vector<int32_t> captures;
  /// Symbols in the shared object; "" = none.
  std::vector<std::string> hooks;
  /// For error messages: "<op> at <location>".
  std::string op;
  std::string location;
  /// The cuda target's steps for this launch (empty without that target).
  std::vector<GpuStepDesc> gpu;
};

struct FunctionDesc {
  std::string name;
  std::vector<TensorDesc> arguments;
  std::vector<TensorDesc> results;
  std::vector<ValueDesc> values;
  std::vector<LaunchDesc> launches;
  uint64_t arenaBytes = 0;
};

/// GPU code for one architecture.
struct GpuBinary {
  /// ATTUNE_CUBIN_ARCH(sm, a) of GpuABI.h: 800 = sm_80, 901 = sm_90a.
  uint32_t arch = 0;
  std::vector<uint8_t> bytes;
};

struct ModuleDesc {
  std::string compilerVersion;
  uint32_t kernelAbiVersion = ATTUNE_KERNEL_ABI_VERSION;
  /// e.g. {"cpu"}; known targets: "cpu", "cuda".
  std::vector<std::string> targets;
  /// ISA the shared object needs: "x86-64", "x86-64-v2", "x86-64-v3" or
  /// "x86-64-v4".
  std::string cpuArch;
  std::vector<FunctionDesc> functions;
  /// Constant tensors, each 64-byte aligned.
  std::vector<uint8_t> constants;
  std::vector<uint8_t> cpuSharedObject;
  std::vector<GpuBinary> cubins;
  std::vector<uint8_t> ptx;
};

/// Largest arena a function may ask for (1 TiB): a larger value is a corrupt
/// artifact, not a model.
inline constexpr uint64_t kMaxArenaBytes = uint64_t(1) << 40;

/// Checks everything the reader checks on the metadata: names, value ids,
/// offsets and sizes within their sections (overflow-safe), bytes ==
/// numElements * dtypeSize, non-negative static shapes, symbol names. The
/// message names the function, the value or launch, expected and got.
Status validate(const ModuleDesc &m);

/// Serializes `m` (after validate) into the container format.
Status writeArtifact(const ModuleDesc &m, std::vector<uint8_t> &bytes);
Status writeArtifactFile(const ModuleDesc &m, const std::string &path);

/// Parses and fully validates an artifact; never trusts the bytes.
StatusOr<ModuleDesc> readArtifact(const uint8_t *data, size_t size);
StatusOr<ModuleDesc> readArtifactFile(const std::string &path);

/// Human-readable summary: header, targets, sections (offset, size,
/// checksum), functions with signatures, launch count, arena size and the
/// kernel of every launch. `bytes` is the file the module was read from; when
/// empty the module is serialized to show the sections it would have.
std::string describe(const ModuleDesc &m);
std::string describe(const ModuleDesc &m, const std::vector<uint8_t> &bytes);

/// CRC-32C of [data, data + size), continuing from `crc` (0 to start).
uint32_t crc32c(const uint8_t *data, size_t size, uint32_t crc = 0);

/// "f32" ... as in HostTensor.h; "Argument", "Constant", ... for kinds.
const char *valueKindName(ValueKind k);
const char *sectionKindName(SectionKind k);
/// "sm_80", "sm_90a" for a cubin arch code (GpuABI.h).
std::string cubinArchName(uint32_t arch);

} // namespace attune::artifact

#endif // ATTUNE_ARTIFACT_ARTIFACT_H
