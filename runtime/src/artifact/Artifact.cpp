//===- Artifact.cpp - Writing, reading and validating artifacts -----------===//
//
// The container layout is documented in Artifact.h. The reader checks, in
// order: magic, major version, file size (truncation), header size, header
// CRC, the section table (kinds, canonical offsets, zero padding), each
// section's CRC, the metadata flatbuffer (flatbuffers::Verifier), and then
// the semantics of the metadata (validate).
//
//===----------------------------------------------------------------------===//

#include "attune/artifact/Artifact.h"
#include "attune/runtime/Files.h"
#include "artifact/ArtifactInternal.h"

#include "attune/artifact/artifact_generated.h"

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <limits>
#include <map>
#include <set>

namespace attune::artifact {

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the artifact reader assumes a little-endian host"
#endif

static const uint8_t kMagic[8] = {0x89, 'A', 'T', 'M', '\r', '\n', 0x1a, '\n'};
static constexpr uint64_t kFixedHeader = 32;
static constexpr uint64_t kSectionEntry = 32;
/// Bounds that keep a corrupt header from asking for absurd work.
static constexpr uint32_t kMaxSections = 1024;
static constexpr uint32_t kMaxVersionLength = 4096;

//===----------------------------------------------------------------------===//
// CRC-32C
//===----------------------------------------------------------------------===//

namespace {
struct Crc32cTables {
  uint32_t t[8][256];
  Crc32cTables() {
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k)
        c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
      t[0][i] = c;
    }
    for (int k = 1; k < 8; ++k)
      for (uint32_t i = 0; i < 256; ++i)
        t[k][i] = (t[k - 1][i] >> 8) ^ t[0][t[k - 1][i] & 0xff];
  }
};
} // namespace

uint32_t crc32c(const uint8_t *p, size_t n, uint32_t crc) {
  static const Crc32cTables tables;
  const auto &t = tables.t;
  crc = ~crc;
  while (n >= 8) {
    uint64_t w;
    std::memcpy(&w, p, 8);
    w ^= crc;
    crc = t[7][w & 0xff] ^ t[6][(w >> 8) & 0xff] ^ t[5][(w >> 16) & 0xff] ^
          t[4][(w >> 24) & 0xff] ^ t[3][(w >> 32) & 0xff] ^
          t[2][(w >> 40) & 0xff] ^ t[1][(w >> 48) & 0xff] ^ t[0][w >> 56];
    p += 8;
    n -= 8;
  }
  while (n--)
    crc = t[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
  return ~crc;
}

//===----------------------------------------------------------------------===//
// Small helpers
//===----------------------------------------------------------------------===//

const char *valueKindName(ValueKind k) {
  switch (k) {
  case ValueKind::Argument:
    return "Argument";
  case ValueKind::Constant:
    return "Constant";
  case ValueKind::Arena:
    return "Arena";
  case ValueKind::Output:
    return "Output";
  }
  return "?";
}

const char *sectionKindName(SectionKind k) {
  switch (k) {
  case SectionKind::Metadata:
    return "metadata";
  case SectionKind::Constants:
    return "constants";
  case SectionKind::CpuSharedObject:
    return "cpu shared object";
  case SectionKind::Cubin:
    return "cubin";
  case SectionKind::Ptx:
    return "ptx";
  }
  return "?";
}

static bool knownSectionKind(uint32_t k) { return k >= 1 && k <= 5; }

static std::string hex32(uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "0x%08" PRIx32, v);
  return buf;
}

static uint64_t alignUp(uint64_t v, uint64_t a) { return (v + a - 1) / a * a; }

template <typename T> static T loadLE(const uint8_t *p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

template <typename T> static void storeLE(uint8_t *p, T v) {
  std::memcpy(p, &v, sizeof(T));
}

static bool validDType(DType t) {
  return static_cast<unsigned>(t) <= static_cast<unsigned>(DType::Bool);
}

static std::string dtName(DType t) {
  return validDType(t)
             ? std::string(dtypeName(t))
             : "invalid dtype #" + std::to_string(static_cast<unsigned>(t));
}

static std::string typeString(DType t, const std::vector<int64_t> &shape) {
  return dtName(t) + shapeToString(shape);
}

/// A C identifier: what dlsym can find in an object built from C/C++.
static bool validSymbol(const std::string &s) {
  if (s.empty() || s.size() > 1024 || (s[0] >= '0' && s[0] <= '9'))
    return false;
  for (char c : s)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
          (c >= '0' && c <= '9') || c == '_'))
      return false;
  return true;
}

static std::string quoted(const std::string &s) {
  std::string out = "'";
  for (char c : s.substr(0, 200)) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\x%02x", u);
      out += buf;
    } else {
      out += c;
    }
  }
  if (s.size() > 200)
    out += "...";
  return out + "'";
}

//===----------------------------------------------------------------------===//
// Semantic validation
//===----------------------------------------------------------------------===//

/// Bytes of a dense tensor; false on a negative dim or overflow.
static bool denseBytes(DType t, const std::vector<int64_t> &shape,
                       uint64_t &out) {
  int64_t n = numElements(shape);
  if (n < 0)
    return false;
  uint64_t size = dtypeSize(t);
  if (size && static_cast<uint64_t>(n) > UINT64_MAX / size)
    return false;
  out = static_cast<uint64_t>(n) * size;
  return true;
}

static Status checkTensorDesc(const std::string &where, const TensorDesc &t) {
  if (t.name.empty())
    return invalidArgument(where + " has an empty name; expected a name");
  if (!validDType(t.dtype))
    return invalidArgument(where + " " + quoted(t.name) + " has " +
                           dtName(t.dtype) +
                           "; expected one of f64 f32 f16 "
                           "bf16 i64 i32 i16 i8 ui8 i1");
  for (int64_t d : t.shape)
    if (d < 0)
      return invalidArgument(where + " " + quoted(t.name) + " has shape " +
                             shapeToString(t.shape) +
                             "; expected static non-negative dims");
  uint64_t bytes;
  if (!denseBytes(t.dtype, t.shape, bytes))
    return invalidArgument(where + " " + quoted(t.name) + " has shape " +
                           shapeToString(t.shape) +
                           " whose size does not fit in 64 bits");
  return Status::ok();
}

static Status validateFunction(const ModuleDesc &m, const FunctionDesc &f) {
  std::string fn = "function " + quoted(f.name);
  std::set<std::string> names;
  for (size_t i = 0; i < f.arguments.size(); ++i) {
    ATTUNE_RETURN_IF_ERROR(checkTensorDesc(
        fn + ": argument #" + std::to_string(i), f.arguments[i]));
    if (!names.insert(f.arguments[i].name).second)
      return invalidArgument(fn + ": argument name " +
                             quoted(f.arguments[i].name) +
                             " appears twice; expected unique names");
  }
  names.clear();
  for (size_t i = 0; i < f.results.size(); ++i) {
    ATTUNE_RETURN_IF_ERROR(
        checkTensorDesc(fn + ": result #" + std::to_string(i), f.results[i]));
    if (!names.insert(f.results[i].name).second)
      return invalidArgument(fn + ": result name " + quoted(f.results[i].name) +
                             " appears twice; expected unique names");
  }
  if (f.arenaBytes > kMaxArenaBytes)
    return invalidArgument(fn + ": arena of " + std::to_string(f.arenaBytes) +
                           " bytes; expected at most " +
                           std::to_string(kMaxArenaBytes));
  if (f.values.size() > static_cast<size_t>(INT32_MAX))
    return invalidArgument(fn + ": too many values");

  // Values no launch touches are never given an address: their offsets are
  // not bounds-checked (a compiler may leave dead values unplanned).
  std::vector<bool> referenced(f.values.size(), false);
  for (const LaunchDesc &l : f.launches) {
    for (int32_t id : l.buffers)
      if (id >= 0 && static_cast<size_t>(id) < f.values.size())
        referenced[static_cast<size_t>(id)] = true;
    for (int32_t id : l.captures)
      if (id >= 0 && static_cast<size_t>(id) < f.values.size())
        referenced[static_cast<size_t>(id)] = true;
    for (const GpuStepDesc &g : l.gpu)
      for (int32_t id : g.args)
        if (id >= 0 && static_cast<size_t>(id) < f.values.size())
          referenced[static_cast<size_t>(id)] = true;
  }
  std::vector<bool> resultWritten(f.results.size(), false);
  for (size_t v = 0; v < f.values.size(); ++v) {
    const ValueDesc &val = f.values[v];
    std::string where = fn + ": value #" + std::to_string(v);
    unsigned kind = static_cast<unsigned>(val.kind);
    if (kind > static_cast<unsigned>(ValueKind::Output))
      return invalidArgument(where + " has kind #" + std::to_string(kind) +
                             "; expected Argument, Constant, Arena or Output");
    where += " (" + std::string(valueKindName(val.kind)) + ")";
    if (!validDType(val.dtype))
      return invalidArgument(where + " has " + dtName(val.dtype) +
                             "; expected a valid dtype");
    for (int64_t d : val.shape)
      if (d < 0)
        return invalidArgument(where + " has shape " +
                               shapeToString(val.shape) +
                               "; expected static non-negative dims");
    uint64_t expectBytes;
    if (!denseBytes(val.dtype, val.shape, expectBytes))
      return invalidArgument(where + " has shape " + shapeToString(val.shape) +
                             " whose size does not fit in 64 bits");
    if (val.bytes != expectBytes)
      return invalidArgument(where + ": bytes is " + std::to_string(val.bytes) +
                             "; expected " + std::to_string(expectBytes) +
                             " for " + typeString(val.dtype, val.shape));
    if (val.kind == ValueKind::Argument || val.kind == ValueKind::Output) {
      const auto &list =
          val.kind == ValueKind::Argument ? f.arguments : f.results;
      const char *what =
          val.kind == ValueKind::Argument ? "argument" : "result";
      if (val.index < 0 || static_cast<uint64_t>(val.index) >= list.size())
        return invalidArgument(
            where + ": " + what + " index " + std::to_string(val.index) +
            "; expected 0.." +
            std::to_string(static_cast<int64_t>(list.size()) - 1) +
            " (the function has " + std::to_string(list.size()) + " " + what +
            "s)");
      const TensorDesc &t = list[static_cast<size_t>(val.index)];
      if (t.dtype != val.dtype || t.shape != val.shape)
        return invalidArgument(where + " has type " +
                               typeString(val.dtype, val.shape) +
                               "; expected " + typeString(t.dtype, t.shape) +
                               " of " + what + " " + quoted(t.name));
      // The offset of an Argument or Output value means nothing: ignored.
      // A result is written by the launch that references its value (an
      // empty result needs none).
      if (val.kind == ValueKind::Output && (referenced[v] || val.bytes == 0))
        resultWritten[static_cast<size_t>(val.index)] = true;
      continue;
    }
    if (val.index != -1)
      return invalidArgument(where + ": index " + std::to_string(val.index) +
                             "; expected -1");
    if (!referenced[v])
      continue;
    uint64_t limit =
        val.kind == ValueKind::Constant ? m.constants.size() : f.arenaBytes;
    const char *space =
        val.kind == ValueKind::Constant ? "constants section" : "arena";
    if (val.offset > limit || val.bytes > limit - val.offset)
      return invalidArgument(where + ": bytes [" + std::to_string(val.offset) +
                             ", " + std::to_string(val.offset) + " + " +
                             std::to_string(val.bytes) + ") exceed the " +
                             space + " of " + std::to_string(limit) + " bytes");
    uint64_t align = dtypeSize(val.dtype);
    if (val.offset % align != 0)
      return invalidArgument(where + ": offset " + std::to_string(val.offset) +
                             " in the " + space +
                             "; expected a multiple of the element size " +
                             std::to_string(align));
  }
  for (size_t r = 0; r < resultWritten.size(); ++r)
    if (!resultWritten[r])
      return invalidArgument(fn + ": result " + quoted(f.results[r].name) +
                             " has no Output value that a launch writes; "
                             "expected one");

  for (size_t l = 0; l < f.launches.size(); ++l) {
    const LaunchDesc &L = f.launches[l];
    std::string where = fn + ": launch #" + std::to_string(l);
    if (!L.op.empty())
      where +=
          " (" + L.op + (L.location.empty() ? "" : " at " + L.location) + ")";
    if (!validSymbol(L.kernel))
      return invalidArgument(where + ": kernel symbol " + quoted(L.kernel) +
                             "; expected a non-empty C identifier");
    auto checkIds = [&](const std::vector<int32_t> &ids, const char *what,
                        bool allowAbsent) -> Status {
      for (size_t i = 0; i < ids.size(); ++i) {
        int32_t id = ids[i];
        if ((allowAbsent && id == -1) ||
            (id >= 0 && static_cast<size_t>(id) < f.values.size()))
          continue;
        return invalidArgument(
            where + ": " + what + " #" + std::to_string(i) + " is value id " +
            std::to_string(id) + "; expected " +
            (allowAbsent ? "-1 (absent) or " : "") + "0.." +
            std::to_string(static_cast<int64_t>(f.values.size()) - 1));
      }
      return Status::ok();
    };
    ATTUNE_RETURN_IF_ERROR(checkIds(L.buffers, "buffer", true));
    ATTUNE_RETURN_IF_ERROR(checkIds(L.captures, "capture", false));
    // Hook slots have fixed signatures (KernelABI.h): #0 a mask hook, #1 a
    // score hook, named so by attune-compile. A symbol in the wrong slot
    // would be called with the other signature.
    if (L.hooks.size() > 2)
      return invalidArgument(where + ": " + std::to_string(L.hooks.size()) +
                             " hooks; expected at most 2 (mask, score)");
    for (size_t h = 0; h < L.hooks.size(); ++h) {
      const std::string &name = L.hooks[h];
      if (name.empty())
        continue;
      const std::string suffix = h == 0 ? "_mask" : "_score";
      bool named = name.rfind("attune_hook_", 0) == 0 &&
                   name.size() > suffix.size() &&
                   name.compare(name.size() - suffix.size(), suffix.size(),
                                suffix) == 0;
      if (!validSymbol(name) || !named)
        return invalidArgument(where + ": hook #" + std::to_string(h) +
                               " symbol " + quoted(name) +
                               "; expected \"\" or a C identifier " +
                               "attune_hook_..." + suffix);
    }
    for (size_t g = 0; g < L.gpu.size(); ++g) {
      const GpuStepDesc &S = L.gpu[g];
      std::string sw = where + ": gpu step #" + std::to_string(g);
      if (!validSymbol(S.kernel))
        return invalidArgument(sw + ": kernel " + quoted(S.kernel) +
                               "; expected a non-empty C identifier");
      ATTUNE_RETURN_IF_ERROR(checkIds(S.args, "gpu arg", true));
      if (S.argBytes.size() != S.args.size())
        return invalidArgument(sw + ": " + std::to_string(S.argBytes.size()) +
                               " arg sizes for " +
                               std::to_string(S.args.size()) +
                               " args; expected one per arg");
      for (size_t a = 0; a < S.args.size(); ++a) {
        uint64_t have = S.args[a] < 0
                            ? 0
                            : f.values[static_cast<size_t>(S.args[a])].bytes;
        if (S.argBytes[a] > have)
          return invalidArgument(
              sw + ": arg #" + std::to_string(a) + " may touch " +
              std::to_string(S.argBytes[a]) + " bytes; expected at most " +
              std::to_string(have) + " (the size of " +
              (S.args[a] < 0 ? std::string("a NULL arg")
                             : "value #" + std::to_string(S.args[a])) +
              ")");
      }
      for (int d = 0; d < 3; ++d)
        if (S.grid[d] == 0 || S.block[d] == 0)
          return invalidArgument(sw + ": grid " + std::to_string(S.grid[0]) +
                                 "x" + std::to_string(S.grid[1]) + "x" +
                                 std::to_string(S.grid[2]) + ", block " +
                                 std::to_string(S.block[0]) + "x" +
                                 std::to_string(S.block[1]) + "x" +
                                 std::to_string(S.block[2]) +
                                 "; expected nonzero extents");
    }
  }
  return Status::ok();
}

Status validate(const ModuleDesc &m) {
  std::set<std::string> targets;
  for (const std::string &t : m.targets) {
    if (t != "cpu" && t != "cuda")
      return invalidArgument("artifact target " + quoted(t) +
                             "; expected \"cpu\" or \"cuda\"");
    if (!targets.insert(t).second)
      return invalidArgument("artifact target " + quoted(t) + " appears twice");
  }
  bool cpu = targets.count("cpu") != 0;
  if (cpu && m.cpuSharedObject.empty())
    return invalidArgument("artifact targets cpu but has no cpu shared object "
                           "section; expected one");
  if (!cpu && !m.cpuSharedObject.empty())
    return invalidArgument("artifact has a cpu shared object of " +
                           std::to_string(m.cpuSharedObject.size()) +
                           " bytes but its targets do not include \"cpu\"");
  if (cpu && m.cpuArch.empty())
    return invalidArgument(
        "artifact targets cpu but names no cpu arch; expected e.g. x86-64-v3");
  if (targets.count("cuda") && m.cubins.empty() && m.ptx.empty())
    return invalidArgument(
        "artifact targets cuda but has neither cubin nor ptx sections");
  std::set<uint32_t> archs;
  for (const GpuBinary &b : m.cubins) {
    if (b.arch < 100 || b.arch % 10 > 1 || b.bytes.empty())
      return invalidArgument("artifact cubin with arch code " +
                             std::to_string(b.arch) + " of " +
                             std::to_string(b.bytes.size()) +
                             " bytes; expected sm*10 + (0 or 1 for 'a') and "
                             "code");
    if (!archs.insert(b.arch).second)
      return invalidArgument("artifact has two cubins for " +
                             cubinArchName(b.arch));
  }
  if (!targets.count("cuda") && (!m.cubins.empty() || !m.ptx.empty()))
    return invalidArgument("artifact has GPU code but its targets do not "
                           "include \"cuda\"");
  std::set<std::string> fnNames;
  for (const FunctionDesc &f : m.functions) {
    if (f.name.empty())
      return invalidArgument("artifact has a function with an empty name");
    if (!fnNames.insert(f.name).second)
      return invalidArgument("artifact function name " + quoted(f.name) +
                             " appears twice; expected unique names");
    ATTUNE_RETURN_IF_ERROR(validateFunction(m, f));
  }
  return Status::ok();
}

//===----------------------------------------------------------------------===//
// Metadata <-> flatbuffer
//===----------------------------------------------------------------------===//

namespace fbs = attune::artifact::fb;

static fbs::DType toFb(DType t) {
  switch (t) {
  case DType::F64:
    return fbs::DType_F64;
  case DType::F32:
    return fbs::DType_F32;
  case DType::F16:
    return fbs::DType_F16;
  case DType::BF16:
    return fbs::DType_BF16;
  case DType::I64:
    return fbs::DType_I64;
  case DType::I32:
    return fbs::DType_I32;
  case DType::I16:
    return fbs::DType_I16;
  case DType::I8:
    return fbs::DType_I8;
  case DType::U8:
    return fbs::DType_U8;
  case DType::Bool:
    return fbs::DType_Bool;
  }
  return fbs::DType_F32;
}

static bool fromFb(uint8_t code, DType &out) {
  static const DType table[] = {DType::F64, DType::F32, DType::F16, DType::BF16,
                                DType::I64, DType::I32, DType::I16, DType::I8,
                                DType::U8,  DType::Bool};
  if (code >= sizeof(table) / sizeof(table[0]))
    return false;
  out = table[code];
  return true;
}

static std::vector<uint8_t> buildMetadata(const ModuleDesc &m) {
  flatbuffers::FlatBufferBuilder b(4096);
  auto tensor = [&](const TensorDesc &t) {
    return fbs::CreateTensor(b, b.CreateString(t.name), toFb(t.dtype),
                             b.CreateVector(t.shape));
  };
  std::vector<flatbuffers::Offset<fbs::Function>> fns;
  for (const FunctionDesc &f : m.functions) {
    std::vector<flatbuffers::Offset<fbs::Tensor>> args, results;
    for (const auto &t : f.arguments)
      args.push_back(tensor(t));
    for (const auto &t : f.results)
      results.push_back(tensor(t));
    std::vector<flatbuffers::Offset<fbs::Value>> values;
    for (const ValueDesc &v : f.values)
      values.push_back(fbs::CreateValue(
          b, static_cast<fbs::ValueKind>(static_cast<uint8_t>(v.kind)), v.index,
          v.offset, v.bytes, toFb(v.dtype), b.CreateVector(v.shape)));
    std::vector<flatbuffers::Offset<fbs::Launch>> launches;
    for (const LaunchDesc &l : f.launches) {
      std::vector<flatbuffers::Offset<flatbuffers::String>> hooks;
      for (const auto &h : l.hooks)
        hooks.push_back(b.CreateString(h));
      std::vector<flatbuffers::Offset<fbs::GpuStep>> steps;
      for (const GpuStepDesc &g : l.gpu)
        steps.push_back(fbs::CreateGpuStep(
            b, b.CreateString(g.kernel), b.CreateVector(g.args),
            b.CreateVector(g.argBytes),
            b.CreateVector(std::vector<uint32_t>(g.grid, g.grid + 3)),
            b.CreateVector(std::vector<uint32_t>(g.block, g.block + 3)),
            g.sharedBytes));
      launches.push_back(fbs::CreateLaunch(
          b, b.CreateString(l.kernel), b.CreateVector(l.buffers),
          b.CreateVector(l.ints), b.CreateVector(l.floats),
          b.CreateVector(l.captures), b.CreateVector(hooks),
          b.CreateString(l.op), b.CreateString(l.location),
          b.CreateVector(steps)));
    }
    fns.push_back(
        fbs::CreateFunction(b, b.CreateString(f.name), b.CreateVector(args),
                            b.CreateVector(results), b.CreateVector(values),
                            b.CreateVector(launches), f.arenaBytes));
  }
  std::vector<flatbuffers::Offset<flatbuffers::String>> targets;
  for (const auto &t : m.targets)
    targets.push_back(b.CreateString(t));
  auto root = fbs::CreateModule(b, b.CreateString(m.compilerVersion),
                                m.kernelAbiVersion, b.CreateVector(targets),
                                b.CreateString(m.cpuArch), b.CreateVector(fns));
  fbs::FinishModuleBuffer(b, root);
  return std::vector<uint8_t>(b.GetBufferPointer(),
                              b.GetBufferPointer() + b.GetSize());
}

/// Copies a scalar vector. The verifier checks the alignment of a vector's
/// length word only, so 8-byte elements may sit at 4 mod 8: memcpy, never
/// a typed load.
template <typename T>
static std::vector<T> vec(const flatbuffers::Vector<T> *v) {
  std::vector<T> out;
  if (!v || v->size() == 0)
    return out;
  out.resize(v->size());
  std::memcpy(out.data(), v->Data(), sizeof(T) * out.size());
  return out;
}

static std::string str(const flatbuffers::String *s) {
  return s ? s->str() : std::string();
}

static Status convertTensor(const fbs::Tensor *t, const std::string &where,
                            TensorDesc &out) {
  if (!t)
    return dataLoss("artifact metadata: " + where + " is missing");
  out.name = str(t->name());
  if (!fromFb(t->dtype(), out.dtype))
    return dataLoss("artifact metadata: " + where + " " + quoted(out.name) +
                    " has dtype code " + std::to_string(t->dtype()) +
                    "; expected 0..9");
  out.shape = vec(t->shape());
  return Status::ok();
}

namespace detail {

Status parseMetadata(const uint8_t *data, size_t size, ModuleDesc &m) {
  // FlatBuffers reads scalars in place: give it 8-byte aligned storage.
  std::vector<uint64_t> aligned((size + 7) / 8);
  if (size)
    std::memcpy(aligned.data(), data, size);
  const uint8_t *buf = reinterpret_cast<const uint8_t *>(aligned.data());
  if (size > FLATBUFFERS_MAX_BUFFER_SIZE)
    return dataLoss("artifact metadata section of " + std::to_string(size) +
                    " bytes exceeds the FlatBuffers limit");
  flatbuffers::Verifier verifier(buf, size, /*max_depth=*/64,
                                 /*max_tables=*/10000000);
  if (!fbs::VerifyModuleBuffer(verifier))
    return dataLoss("artifact metadata section (" + std::to_string(size) +
                    " bytes) is not a valid attune.artifact.fb.Module "
                    "flatbuffer (identifier ATMD); the FlatBuffers verifier "
                    "rejected it");
  const fbs::Module *root = fbs::GetModule(buf);
  m.compilerVersion = str(root->compiler_version());
  m.kernelAbiVersion = root->kernel_abi_version();
  m.cpuArch = str(root->cpu_arch());
  m.targets.clear();
  if (root->targets())
    for (const auto *t : *root->targets())
      m.targets.push_back(str(t));
  m.functions.clear();
  if (!root->functions())
    return Status::ok();
  for (flatbuffers::uoffset_t fi = 0; fi < root->functions()->size(); ++fi) {
    const fbs::Function *f = root->functions()->Get(fi);
    std::string fw = "function #" + std::to_string(fi);
    if (!f)
      return dataLoss("artifact metadata: " + fw + " is missing");
    FunctionDesc fd;
    fd.name = str(f->name());
    fw = "function " + quoted(fd.name);
    fd.arenaBytes = f->arena_bytes();
    if (f->arguments())
      for (flatbuffers::uoffset_t i = 0; i < f->arguments()->size(); ++i) {
        fd.arguments.emplace_back();
        ATTUNE_RETURN_IF_ERROR(convertTensor(
            f->arguments()->Get(i), fw + ": argument #" + std::to_string(i),
            fd.arguments.back()));
      }
    if (f->results())
      for (flatbuffers::uoffset_t i = 0; i < f->results()->size(); ++i) {
        fd.results.emplace_back();
        ATTUNE_RETURN_IF_ERROR(convertTensor(
            f->results()->Get(i), fw + ": result #" + std::to_string(i),
            fd.results.back()));
      }
    if (f->values())
      for (flatbuffers::uoffset_t i = 0; i < f->values()->size(); ++i) {
        const fbs::Value *v = f->values()->Get(i);
        std::string vw = fw + ": value #" + std::to_string(i);
        if (!v)
          return dataLoss("artifact metadata: " + vw + " is missing");
        ValueDesc vd;
        uint8_t kind = static_cast<uint8_t>(v->kind());
        if (kind > static_cast<uint8_t>(ValueKind::Output))
          return dataLoss("artifact metadata: " + vw + " has kind code " +
                          std::to_string(kind) + "; expected 0..3");
        vd.kind = static_cast<ValueKind>(kind);
        vd.index = v->index();
        vd.offset = v->offset();
        vd.bytes = v->bytes();
        if (!fromFb(v->dtype(), vd.dtype))
          return dataLoss("artifact metadata: " + vw + " has dtype code " +
                          std::to_string(v->dtype()) + "; expected 0..9");
        vd.shape = vec(v->shape());
        fd.values.push_back(std::move(vd));
      }
    if (f->launches())
      for (flatbuffers::uoffset_t i = 0; i < f->launches()->size(); ++i) {
        const fbs::Launch *l = f->launches()->Get(i);
        if (!l)
          return dataLoss("artifact metadata: " + fw + ": launch #" +
                          std::to_string(i) + " is missing");
        LaunchDesc ld;
        ld.kernel = str(l->kernel());
        ld.buffers = vec(l->buffers());
        ld.ints = vec(l->ints());
        ld.floats = vec(l->floats());
        ld.captures = vec(l->captures());
        if (l->hooks())
          for (const auto *h : *l->hooks())
            ld.hooks.push_back(str(h));
        ld.op = str(l->op());
        ld.location = str(l->location());
        if (l->gpu())
          for (flatbuffers::uoffset_t g = 0; g < l->gpu()->size(); ++g) {
            const fbs::GpuStep *st = l->gpu()->Get(g);
            std::string gw = fw + ": launch #" + std::to_string(i) +
                             ": gpu step #" + std::to_string(g);
            if (!st)
              return dataLoss("artifact metadata: " + gw + " is missing");
            GpuStepDesc gd;
            gd.kernel = str(st->kernel());
            gd.args = vec(st->args());
            gd.argBytes = vec(st->arg_bytes());
            std::vector<uint32_t> grid = vec(st->grid()),
                                  block = vec(st->block());
            if (grid.size() != 3 || block.size() != 3)
              return dataLoss("artifact metadata: " + gw + " has " +
                              std::to_string(grid.size()) + " grid and " +
                              std::to_string(block.size()) +
                              " block extents; expected 3 each");
            for (int d = 0; d < 3; ++d) {
              gd.grid[d] = grid[static_cast<size_t>(d)];
              gd.block[d] = block[static_cast<size_t>(d)];
            }
            gd.sharedBytes = st->shared_bytes();
            ld.gpu.push_back(std::move(gd));
          }
        fd.launches.push_back(std::move(ld));
      }
    m.functions.push_back(std::move(fd));
  }
  return Status::ok();
}

} // namespace detail

//===----------------------------------------------------------------------===//
// Container
//===----------------------------------------------------------------------===//

namespace {
struct PendingSection {
  SectionKind kind;
  uint32_t arch;
  const std::vector<uint8_t> *bytes;
};
} // namespace

Status writeArtifact(const ModuleDesc &m, std::vector<uint8_t> &bytes) {
  ATTUNE_RETURN_IF_ERROR(validate(m));
  if (m.compilerVersion.size() > kMaxVersionLength)
    return invalidArgument(
        "compiler version of " + std::to_string(m.compilerVersion.size()) +
        " bytes; expected at most " + std::to_string(kMaxVersionLength));
  std::vector<uint8_t> metadata = buildMetadata(m);
  std::vector<PendingSection> sections;
  sections.push_back({SectionKind::Metadata, 0, &metadata});
  if (!m.constants.empty())
    sections.push_back({SectionKind::Constants, 0, &m.constants});
  if (!m.cpuSharedObject.empty())
    sections.push_back({SectionKind::CpuSharedObject, 0, &m.cpuSharedObject});
  for (const GpuBinary &c : m.cubins)
    sections.push_back({SectionKind::Cubin, c.arch, &c.bytes});
  if (!m.ptx.empty())
    sections.push_back({SectionKind::Ptx, 0, &m.ptx});

  uint64_t versionLen = m.compilerVersion.size();
  uint64_t headerSize = kFixedHeader + alignUp(versionLen, 8) +
                        kSectionEntry * sections.size() + 8;
  uint64_t offset = alignUp(headerSize, kSectionAlignment);
  std::vector<uint64_t> offsets;
  for (const auto &s : sections) {
    offsets.push_back(offset);
    offset = alignUp(offset + s.bytes->size(), kSectionAlignment);
  }
  uint64_t fileSize = offset;

  bytes.assign(fileSize, 0);
  uint8_t *p = bytes.data();
  std::memcpy(p, kMagic, 8);
  storeLE<uint16_t>(p + 8, kFormatMajor);
  storeLE<uint16_t>(p + 10, kFormatMinor);
  storeLE<uint32_t>(p + 12, static_cast<uint32_t>(headerSize));
  storeLE<uint64_t>(p + 16, fileSize);
  storeLE<uint32_t>(p + 24, static_cast<uint32_t>(sections.size()));
  storeLE<uint32_t>(p + 28, static_cast<uint32_t>(versionLen));
  if (versionLen)
    std::memcpy(p + kFixedHeader, m.compilerVersion.data(), versionLen);
  uint8_t *table = p + kFixedHeader + alignUp(versionLen, 8);
  for (size_t i = 0; i < sections.size(); ++i) {
    const auto &s = sections[i];
    uint8_t *e = table + kSectionEntry * i;
    storeLE<uint32_t>(e, static_cast<uint32_t>(s.kind));
    storeLE<uint32_t>(e + 4, s.arch);
    storeLE<uint64_t>(e + 8, offsets[i]);
    storeLE<uint64_t>(e + 16, s.bytes->size());
    storeLE<uint32_t>(e + 24, crc32c(s.bytes->data(), s.bytes->size()));
    storeLE<uint32_t>(e + 28, 0);
    if (!s.bytes->empty())
      std::memcpy(p + offsets[i], s.bytes->data(), s.bytes->size());
  }
  storeLE<uint64_t>(p + headerSize - 8, crc32c(p, headerSize - 8));
  return Status::ok();
}

Status writeArtifactFile(const ModuleDesc &m, const std::string &path) {
  std::vector<uint8_t> bytes;
  ATTUNE_RETURN_IF_ERROR(writeArtifact(m, bytes));
  errno = 0;
  std::FILE *f = std::fopen(path.c_str(), "wb");
  if (!f)
    return ioError("cannot create '" + path + "': " + std::strerror(errno));
  bool ok = std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
  ok = (std::fclose(f) == 0) && ok;
  if (!ok)
    return ioError("error while writing " + std::to_string(bytes.size()) +
                   " bytes to '" + path + "'");
  return Status::ok();
}

static bool allZero(const uint8_t *p, uint64_t n, uint64_t &firstNonZero) {
  for (uint64_t i = 0; i < n; ++i)
    if (p[i]) {
      firstNonZero = i;
      return false;
    }
  return true;
}

namespace detail {

Status parseContainer(const uint8_t *data, size_t size, bool verifyChecksums,
                      Container &out) {
  if (!data && size)
    return invalidArgument("artifact: null buffer of nonzero size");
  size_t cmp = std::min<size_t>(size, 8);
  if (cmp == 0 || std::memcmp(data, kMagic, cmp) != 0) {
    std::string got;
    for (size_t i = 0; i < cmp; ++i) {
      char b[4];
      std::snprintf(b, sizeof(b), "%02x", data[i]);
      got += (i ? " " : "") + std::string(b);
    }
    return invalidArgument(
        "not an Attune artifact: expected the magic bytes 89 41 54 4d 0d 0a "
        "1a 0a (\"\\x89ATM\\r\\n\\x1a\\n\"), got " +
        (got.empty() ? std::string("an empty file") : got));
  }
  if (size < kFixedHeader)
    return dataLoss("artifact is truncated: " + std::to_string(size) +
                    " bytes, shorter than the " + std::to_string(kFixedHeader) +
                    "-byte fixed header");
  out.major = loadLE<uint16_t>(data + 8);
  out.minor = loadLE<uint16_t>(data + 10);
  if (out.major != kFormatMajor)
    return unimplemented("artifact format version " +
                         std::to_string(out.major) + "." +
                         std::to_string(out.minor) +
                         " is not supported; this reader reads format " +
                         std::to_string(kFormatMajor) + ".x (up to " +
                         std::to_string(kFormatMajor) + "." +
                         std::to_string(kFormatMinor) + ")");
  out.headerSize = loadLE<uint32_t>(data + 12);
  out.fileSize = loadLE<uint64_t>(data + 16);
  // One corrupt field must not read as a truncation and vice versa: the
  // header CRC is checked before the file size whenever the header is
  // present, and a header that does not fit is a truncation only when the
  // size field agrees that bytes are missing.
  if (out.headerSize < kFixedHeader + 8 || out.headerSize % 8 != 0)
    return dataLoss("artifact header is corrupt: its size field is " +
                    std::to_string(out.headerSize) +
                    "; expected a multiple of 8 of at least " +
                    std::to_string(kFixedHeader + 8));
  if (out.headerSize > size) {
    if (out.fileSize > size)
      return dataLoss("artifact is truncated: the header says " +
                      std::to_string(out.fileSize) + " bytes, got " +
                      std::to_string(size));
    return dataLoss("artifact header is corrupt: its size field is " +
                    std::to_string(out.headerSize) + "; expected at most the " +
                    std::to_string(size) + "-byte file");
  }
  uint64_t storedHeaderCrc = loadLE<uint64_t>(data + out.headerSize - 8);
  uint32_t headerCrc = crc32c(data, out.headerSize - 8);
  out.headerCrc = headerCrc;
  if (verifyChecksums && storedHeaderCrc != headerCrc)
    return dataLoss("artifact header (bytes [0, " +
                    std::to_string(out.headerSize - 8) +
                    ")) is corrupt: CRC-32C expected " +
                    hex32(static_cast<uint32_t>(storedHeaderCrc)) +
                    (storedHeaderCrc >> 32 ? " (with nonzero high bits)" : "") +
                    ", got " + hex32(headerCrc));
  if (out.fileSize != size) {
    if (out.fileSize > size)
      return dataLoss("artifact is truncated: the header says " +
                      std::to_string(out.fileSize) + " bytes, got " +
                      std::to_string(size));
    return dataLoss("artifact has " + std::to_string(size) +
                    " bytes; its header says " + std::to_string(out.fileSize) +
                    " (trailing bytes); expected exactly " +
                    std::to_string(out.fileSize));
  }
  uint32_t numSections = loadLE<uint32_t>(data + 24);
  uint32_t versionLen = loadLE<uint32_t>(data + 28);
  if (numSections > kMaxSections || versionLen > kMaxVersionLength)
    return dataLoss("artifact header: " + std::to_string(numSections) +
                    " sections and a " + std::to_string(versionLen) +
                    "-byte compiler version; expected at most " +
                    std::to_string(kMaxSections) + " and " +
                    std::to_string(kMaxVersionLength));
  uint64_t expectHeader = kFixedHeader + alignUp(versionLen, 8) +
                          kSectionEntry * uint64_t(numSections) + 8;
  if (expectHeader != out.headerSize)
    return dataLoss("artifact header size is " +
                    std::to_string(out.headerSize) + "; expected " +
                    std::to_string(expectHeader) + " for " +
                    std::to_string(numSections) + " sections and a " +
                    std::to_string(versionLen) + "-byte compiler version");
  out.compilerVersion.assign(
      reinterpret_cast<const char *>(data + kFixedHeader), versionLen);
  uint64_t nz;
  if (!allZero(data + kFixedHeader + versionLen,
               alignUp(versionLen, 8) - versionLen, nz))
    return dataLoss("artifact header: nonzero padding byte after the compiler "
                    "version; expected zeros");
  const uint8_t *table = data + kFixedHeader + alignUp(versionLen, 8);
  uint64_t expectOffset = alignUp(out.headerSize, kSectionAlignment);
  uint64_t prevEnd = out.headerSize;
  out.sections.clear();
  for (uint32_t i = 0; i < numSections; ++i) {
    const uint8_t *e = table + kSectionEntry * i;
    Section s;
    uint32_t kind = loadLE<uint32_t>(e);
    s.arch = loadLE<uint32_t>(e + 4);
    s.offset = loadLE<uint64_t>(e + 8);
    s.size = loadLE<uint64_t>(e + 16);
    s.crc = loadLE<uint32_t>(e + 24);
    uint32_t reserved = loadLE<uint32_t>(e + 28);
    std::string where = "artifact section #" + std::to_string(i);
    if (!knownSectionKind(kind))
      return dataLoss(where + " has kind " + std::to_string(kind) +
                      "; expected 1 (metadata) .. 5 (ptx)");
    s.kind = static_cast<SectionKind>(kind);
    where += " (" + std::string(sectionKindName(s.kind)) + ")";
    if ((s.kind == SectionKind::Cubin) != (s.arch != 0))
      return dataLoss(
          where + " has arch " + std::to_string(s.arch) + "; expected " +
          (s.kind == SectionKind::Cubin ? "a nonzero sm number" : "0"));
    if (reserved != 0)
      return dataLoss(where + " has reserved word " + hex32(reserved) +
                      "; expected 0");
    if (s.offset != expectOffset)
      return dataLoss(where + " starts at offset " + std::to_string(s.offset) +
                      "; expected " + std::to_string(expectOffset));
    if (s.offset > size || s.size > size - s.offset)
      return dataLoss(where + " [" + std::to_string(s.offset) + ", +" +
                      std::to_string(s.size) + ") goes past the end of the " +
                      std::to_string(size) + "-byte file");
    if (!allZero(data + prevEnd, s.offset - prevEnd, nz))
      return dataLoss("artifact: nonzero padding byte at offset " +
                      std::to_string(prevEnd + nz) + " before " + where +
                      "; expected zeros");
    if (verifyChecksums) {
      uint32_t got = crc32c(data + s.offset, s.size);
      if (got != s.crc)
        return dataLoss(where + " at offset " + std::to_string(s.offset) +
                        " (" + std::to_string(s.size) +
                        " bytes) is corrupt: CRC-32C expected " + hex32(s.crc) +
                        ", got " + hex32(got));
    }
    prevEnd = s.offset + s.size;
    expectOffset = alignUp(prevEnd, kSectionAlignment);
    out.sections.push_back(s);
  }
  if (expectOffset != size)
    return dataLoss("artifact is " + std::to_string(size) +
                    " bytes; its sections end at " + std::to_string(prevEnd) +
                    ", expected a file of " + std::to_string(expectOffset) +
                    " bytes");
  if (!allZero(data + prevEnd, size - prevEnd, nz))
    return dataLoss("artifact: nonzero padding byte at offset " +
                    std::to_string(prevEnd + nz) +
                    " after the last section; expected zeros");
  return Status::ok();
}

StatusOr<ModuleDesc> readArtifactImpl(const uint8_t *data, size_t size,
                                      bool verifyChecksums) {
  Container c;
  ATTUNE_RETURN_IF_ERROR(parseContainer(data, size, verifyChecksums, c));
  ModuleDesc m;
  const Section *metadata = nullptr;
  bool haveConstants = false, haveSo = false, havePtx = false;
  for (const Section &s : c.sections) {
    const uint8_t *p = data + s.offset;
    auto once = [&](bool &seen) -> Status {
      if (seen)
        return dataLoss("artifact has two " +
                        std::string(sectionKindName(s.kind)) +
                        " sections; expected at most one");
      seen = true;
      return Status::ok();
    };
    switch (s.kind) {
    case SectionKind::Metadata:
      if (metadata)
        return dataLoss("artifact has two metadata sections; expected one");
      metadata = &s;
      break;
    case SectionKind::Constants:
      ATTUNE_RETURN_IF_ERROR(once(haveConstants));
      m.constants.assign(p, p + s.size);
      break;
    case SectionKind::CpuSharedObject:
      ATTUNE_RETURN_IF_ERROR(once(haveSo));
      m.cpuSharedObject.assign(p, p + s.size);
      break;
    case SectionKind::Cubin:
      m.cubins.push_back({s.arch, std::vector<uint8_t>(p, p + s.size)});
      break;
    case SectionKind::Ptx:
      ATTUNE_RETURN_IF_ERROR(once(havePtx));
      m.ptx.assign(p, p + s.size);
      break;
    }
  }
  if (!metadata)
    return dataLoss("artifact has no metadata section; expected one");
  ATTUNE_RETURN_IF_ERROR(
      parseMetadata(data + metadata->offset, metadata->size, m));
  if (m.compilerVersion != c.compilerVersion)
    return dataLoss(
        "artifact compiler version in the header " + quoted(c.compilerVersion) +
        " differs from the metadata's " + quoted(m.compilerVersion));
  Status s = validate(m);
  if (!s)
    return dataLoss("artifact metadata is inconsistent: " + s.message());
  return m;
}

} // namespace detail

StatusOr<ModuleDesc> readArtifact(const uint8_t *data, size_t size) {
  return detail::readArtifactImpl(data, size, /*verifyChecksums=*/true);
}

StatusOr<ModuleDesc> readArtifactFile(const std::string &path) {
  StatusOr<std::vector<uint8_t>> bytes = readFileBytes(path);
  if (!bytes)
    return Status(bytes.status().code(),
                  "artifact: " + bytes.status().message());
  StatusOr<ModuleDesc> m = readArtifact(bytes->data(), bytes->size());
  if (!m)
    return Status(m.status().code(), path + ": " + m.status().message());
  return m;
}

//===----------------------------------------------------------------------===//
// describe
//===----------------------------------------------------------------------===//

static std::string signature(const std::vector<TensorDesc> &ts) {
  std::string s = "(";
  for (size_t i = 0; i < ts.size(); ++i)
    s += (i ? ", " : "") + ts[i].name + ": " +
         typeString(ts[i].dtype, ts[i].shape);
  return s + ")";
}

std::string describe(const ModuleDesc &m) {
  return detail::describe(m, nullptr, 0);
}

std::string describe(const ModuleDesc &m, const std::vector<uint8_t> &bytes) {
  return detail::describe(m, bytes.data(), bytes.size());
}

std::string detail::describe(const ModuleDesc &m, const uint8_t *data,
                             size_t size) {
  std::vector<uint8_t> own;
  std::string out;
  if (size == 0) {
    Status s = writeArtifact(m, own);
    if (!s)
      out += "(not serializable: " + s.message() + ")\n";
    data = own.data();
    size = own.size();
  }
  detail::Container c;
  bool haveContainer =
      size != 0 && detail::parseContainer(data, size, true, c).isOk();
  char line[256];
  if (haveContainer) {
    std::snprintf(line, sizeof(line),
                  "Attune artifact, format %u.%u, %" PRIu64 " bytes, header "
                  "%" PRIu64 " bytes (CRC-32C 0x%08" PRIx32 ")\n",
                  c.major, c.minor, c.fileSize, c.headerSize, c.headerCrc);
    out += line;
  }
  out += "compiler: " + m.compilerVersion + "\n";
  out += "kernel ABI: " + std::to_string(m.kernelAbiVersion) + "\n";
  std::string targets;
  for (const auto &t : m.targets)
    targets += (targets.empty() ? "" : ", ") + t;
  out +=
      "targets: " + (targets.empty() ? std::string("(none)") : targets) + "\n";
  if (!m.cpuArch.empty())
    out += "cpu arch: " + m.cpuArch + "\n";
  if (haveContainer) {
    out += "sections:\n";
    for (const auto &s : c.sections) {
      std::string kind = sectionKindName(s.kind);
      if (s.kind == SectionKind::Cubin)
        kind += " " + cubinArchName(s.arch);
      std::snprintf(line, sizeof(line),
                    "  %-18s offset %10" PRIu64 "  size %10" PRIu64
                    "  CRC-32C 0x%08" PRIx32 "\n",
                    kind.c_str(), s.offset, s.size, s.crc);
      out += line;
    }
  }
  out += "functions: " + std::to_string(m.functions.size()) + "\n";
  for (const FunctionDesc &f : m.functions) {
    out += "  " + f.name + signature(f.arguments) + " -> " +
           signature(f.results) + "\n";
    out += "    " + std::to_string(f.launches.size()) + " launches, " +
           std::to_string(f.values.size()) + " values, arena " +
           std::to_string(f.arenaBytes) + " bytes\n";
    for (size_t i = 0; i < f.launches.size(); ++i) {
      const LaunchDesc &l = f.launches[i];
      out += "    #" + std::to_string(i) + " " + l.kernel;
      if (!l.op.empty())
        out += "  (" + l.op + (l.location.empty() ? "" : " at " + l.location) +
               ")";
      out += "\n";
      for (const GpuStepDesc &g : l.gpu) {
        std::snprintf(line, sizeof(line),
                      "        gpu %s grid %ux%ux%u block %ux%ux%u smem %u\n",
                      g.kernel.c_str(), g.grid[0], g.grid[1], g.grid[2],
                      g.block[0], g.block[1], g.block[2], g.sharedBytes);
        out += line;
      }
    }
  }
  return out;
}

std::string cubinArchName(uint32_t arch) {
  return "sm_" + std::to_string(arch / 10) + (arch % 10 == 1 ? "a" : "");
}

} // namespace attune::artifact
