//===- TensorIO.cpp - .npy and safetensors readers and writers ------------===//
//
// Every length and offset read from a file is checked against the buffer
// before it is used. nlohmann-json may throw; every exception is caught here
// so that none crosses the (exception-free) public API.
//
//===----------------------------------------------------------------------===//

#include "attune/runtime/TensorIO.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>
#include <set>

namespace attune {

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the tensor readers assume a little-endian host"
#endif

//===----------------------------------------------------------------------===//
// Files
//===----------------------------------------------------------------------===//


static Status writeFileBytes(const std::string &path,
                             const std::vector<uint8_t> &bytes) {
  errno = 0;
  std::FILE *f = std::fopen(path.c_str(), "wb");
  if (!f)
    return ioError("cannot create '" + path + "': " + std::strerror(errno));
  size_t written =
      bytes.empty() ? 0 : std::fwrite(bytes.data(), 1, bytes.size(), f);
  bool failed = written != bytes.size();
  if (std::fclose(f) != 0)
    failed = true;
  if (failed)
    return ioError("error while writing " + std::to_string(bytes.size()) +
                   " bytes to '" + path + "'");
  return Status::ok();
}

/// numel * itemSize, or false when it does not fit a size_t.
static bool byteCount(int64_t numel, size_t itemSize, size_t &out) {
  if (numel < 0 || static_cast<uint64_t>(numel) >
                       std::numeric_limits<size_t>::max() / itemSize)
    return false;
  out = static_cast<size_t>(numel) * itemSize;
  return true;
}

/// Bool tensors hold 0 or 1; files may hold any nonzero byte for true.
static void normalizeBools(HostTensor &t) {
  if (t.dtype() != DType::Bool)
    return;
  for (size_t i = 0; i < t.byteSize(); ++i)
    t.data()[i] = t.data()[i] ? 1 : 0;
}

//===----------------------------------------------------------------------===//
// .npy header: a Python dict literal
//===----------------------------------------------------------------------===//

namespace {

/// The subset of Python literals an .npy header can contain.
struct PyValue {
  enum class Kind { Str, Bool, None, Int, Tuple, List, Dict };
  Kind kind = Kind::None;
  std::string str;
  bool boolean = false;
  int64_t integer = 0;
  std::vector<PyValue> items;                          // Tuple, List
  std::vector<std::pair<std::string, PyValue>> fields; // Dict
};

/// Recursive-descent parser over [text, text + size); it never reads past
/// the end and bounds its nesting depth.
class PyLiteralParser {
public:
  PyLiteralParser(const char *text, size_t size) : s_(text), n_(size) {}

  Status parseDict(PyValue &out) {
    ATTUNE_RETURN_IF_ERROR(parseValue(out, 0));
    skipSpace();
    if (pos_ != n_)
      return error("unexpected text after the header dict");
    if (out.kind != PyValue::Kind::Dict)
      return error("the header is not a dict");
    return Status::ok();
  }

private:
  static constexpr int kMaxDepth = 16;

  Status error(const std::string &what) const {
    return invalidArgument(".npy header: " + what + " at offset " +
                           std::to_string(pos_));
  }

  void skipSpace() {
    while (pos_ < n_ && (s_[pos_] == ' ' || s_[pos_] == '\t' ||
                         s_[pos_] == '\n' || s_[pos_] == '\r'))
      ++pos_;
  }

  bool consume(char c) {
    skipSpace();
    if (pos_ < n_ && s_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }

  bool consumeWord(const char *w) {
    size_t len = std::strlen(w);
    if (n_ - pos_ >= len && std::memcmp(s_ + pos_, w, len) == 0) {
      pos_ += len;
      return true;
    }
    return false;
  }

  Status parseString(std::string &out) {
    char quote = s_[pos_++];
    while (pos_ < n_ && s_[pos_] != quote) {
      char c = s_[pos_++];
      if (c == '\\') {
        if (pos_ >= n_)
          break;
        c = s_[pos_++];
      }
      out += c;
    }
    if (pos_ >= n_)
      return error("unterminated string");
    ++pos_;
    return Status::ok();
  }

  Status parseInt(int64_t &out) {
    bool neg = false;
    if (s_[pos_] == '-' || s_[pos_] == '+')
      neg = s_[pos_++] == '-';
    if (pos_ >= n_ || s_[pos_] < '0' || s_[pos_] > '9')
      return error("expected digits");
    uint64_t v = 0;
    while (pos_ < n_ && s_[pos_] >= '0' && s_[pos_] <= '9') {
      uint64_t d = static_cast<uint64_t>(s_[pos_++] - '0');
      if (v >
          (static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) - d) / 10)
        return error("integer does not fit in 64 bits");
      v = v * 10 + d;
    }
    // Python 2 era files write longs as "3L".
    if (pos_ < n_ && (s_[pos_] == 'L' || s_[pos_] == 'l'))
      ++pos_;
    out = neg ? -static_cast<int64_t>(v) : static_cast<int64_t>(v);
    return Status::ok();
  }

  /// Items up to `close`, comma separated, trailing comma allowed.
  Status parseSequence(char close, std::vector<PyValue> &items, int depth,
                       bool &sawComma) {
    sawComma = false;
    while (true) {
      if (consume(close))
        return Status::ok();
      PyValue item;
      ATTUNE_RETURN_IF_ERROR(parseValue(item, depth + 1));
      items.push_back(std::move(item));
      if (consume(',')) {
        sawComma = true;
        continue;
      }
      if (consume(close))
        return Status::ok();
      return error(std::string("expected ',' or '") + close + "'");
    }
  }

  Status parseValue(PyValue &out, int depth) {
    if (depth > kMaxDepth)
      return error("nesting too deep");
    skipSpace();
    if (pos_ >= n_)
      return error("unexpected end of header");
    char c = s_[pos_];
    if (c == '\'' || c == '"') {
      out.kind = PyValue::Kind::Str;
      return parseString(out.str);
    }
    if (c == '-' || c == '+' || (c >= '0' && c <= '9')) {
      out.kind = PyValue::Kind::Int;
      return parseInt(out.integer);
    }
    if (consumeWord("True")) {
      out.kind = PyValue::Kind::Bool;
      out.boolean = true;
      return Status::ok();
    }
    if (consumeWord("False")) {
      out.kind = PyValue::Kind::Bool;
      out.boolean = false;
      return Status::ok();
    }
    if (consumeWord("None")) {
      out.kind = PyValue::Kind::None;
      return Status::ok();
    }
    bool sawComma;
    if (c == '(') {
      ++pos_;
      out.kind = PyValue::Kind::Tuple;
      ATTUNE_RETURN_IF_ERROR(parseSequence(')', out.items, depth, sawComma));
      // "(3)" is a parenthesized int in Python, not a tuple.
      if (out.items.size() == 1 && !sawComma) {
        PyValue inner = std::move(out.items[0]);
        out = std::move(inner);
      }
      return Status::ok();
    }
    if (c == '[') {
      ++pos_;
      out.kind = PyValue::Kind::List;
      return parseSequence(']', out.items, depth, sawComma);
    }
    if (c == '{') {
      ++pos_;
      out.kind = PyValue::Kind::Dict;
      // Key -> position in out.fields. A linear search per key made a
      // header with many keys quadratic: 40k keys (0.5 MB) took seconds and
      // a hostile multi-megabyte header would hang the reader.
      std::map<std::string, size_t> index;
      while (true) {
        if (consume('}'))
          return Status::ok();
        PyValue key;
        ATTUNE_RETURN_IF_ERROR(parseValue(key, depth + 1));
        if (key.kind != PyValue::Kind::Str)
          return error("dict keys must be strings");
        if (!consume(':'))
          return error("expected ':' after key '" + key.str + "'");
        PyValue value;
        ATTUNE_RETURN_IF_ERROR(parseValue(value, depth + 1));
        // A repeated key replaces the earlier one, as in Python.
        auto [it, inserted] = index.emplace(key.str, out.fields.size());
        if (inserted)
          out.fields.emplace_back(key.str, std::move(value));
        else
          out.fields[it->second].second = std::move(value);
        if (consume(','))
          continue;
        if (consume('}'))
          return Status::ok();
        return error("expected ',' or '}'");
      }
    }
    return error(std::string("unexpected character '") + c + "'");
  }

  const char *s_;
  size_t n_;
  size_t pos_ = 0;
};

} // namespace

static const char kNpyMagic[] = "\x93NUMPY";
static constexpr size_t kNpyMagicLen = 6;

/// Maps an .npy descr to a dtype and whether its bytes need swapping.
static Status parseDescr(const std::string &descr, DType &dtype, bool &swap) {
  auto unsupported = [&](const std::string &why) {
    return unimplemented(".npy descr '" + descr + "' is not supported (" + why +
                         "); expected one of f8 f4 f2 i8 i4 i2 i1 u1 b1 with "
                         "byte order '<', '>', '|' or '='");
  };
  if (descr.size() != 3)
    return unsupported("unknown type");
  char order = descr[0];
  if (order != '<' && order != '>' && order != '|' && order != '=')
    return unsupported("unknown byte order");
  std::string kind = descr.substr(1);
  if (kind == "f8")
    dtype = DType::F64;
  else if (kind == "f4")
    dtype = DType::F32;
  else if (kind == "f2")
    dtype = DType::F16;
  else if (kind == "i8")
    dtype = DType::I64;
  else if (kind == "i4")
    dtype = DType::I32;
  else if (kind == "i2")
    dtype = DType::I16;
  else if (kind == "i1")
    dtype = DType::I8;
  else if (kind == "u1")
    dtype = DType::U8;
  else if (kind == "b1")
    dtype = DType::Bool;
  else
    return unsupported("unknown type");
  swap = order == '>' && dtypeSize(dtype) > 1;
  return Status::ok();
}

StatusOr<HostTensor> parseNpy(const uint8_t *data, size_t size) {
  if (!data && size)
    return invalidArgument(".npy: null buffer of nonzero size");
  if (size < kNpyMagicLen || std::memcmp(data, kNpyMagic, kNpyMagicLen) != 0) {
    size_t cmp = std::min(size, kNpyMagicLen);
    if (size < kNpyMagicLen &&
        (cmp == 0 || std::memcmp(data, kNpyMagic, cmp) == 0))
      return dataLoss(".npy: file is " + std::to_string(size) +
                      " bytes, too short for the magic string");
    return invalidArgument(".npy: missing the \\x93NUMPY magic string");
  }
  if (size < 8)
    return dataLoss(".npy: file is " + std::to_string(size) +
                    " bytes, too short for the format version");
  unsigned major = data[6], minor = data[7];
  if (major < 1 || major > 3 || minor != 0)
    return unimplemented(".npy: format version " + std::to_string(major) + "." +
                         std::to_string(minor) +
                         " is not supported; expected 1.0, 2.0 or 3.0");
  size_t lenBytes = major == 1 ? 2 : 4;
  size_t prefix = 8 + lenBytes;
  if (size < prefix)
    return dataLoss(".npy: file is " + std::to_string(size) +
                    " bytes, too short for the header length field");
  uint64_t headerLen = 0;
  for (size_t i = 0; i < lenBytes; ++i)
    headerLen |= static_cast<uint64_t>(data[8 + i]) << (8 * i);
  if (headerLen > size - prefix)
    return dataLoss(".npy: header needs " + std::to_string(headerLen) +
                    " bytes but only " + std::to_string(size - prefix) +
                    " follow the header length field");

  PyValue dict;
  PyLiteralParser parser(reinterpret_cast<const char *>(data + prefix),
                         static_cast<size_t>(headerLen));
  ATTUNE_RETURN_IF_ERROR(parser.parseDict(dict));

  const PyValue *descr = nullptr, *fortran = nullptr, *shape = nullptr;
  for (auto &f : dict.fields) {
    if (f.first == "descr")
      descr = &f.second;
    else if (f.first == "fortran_order")
      fortran = &f.second;
    else if (f.first == "shape")
      shape = &f.second;
    // Other keys carry nothing we need; tolerate them.
  }
  if (!descr || !fortran || !shape)
    return invalidArgument(".npy header: missing key '" +
                           std::string(!descr     ? "descr"
                                       : !fortran ? "fortran_order"
                                                  : "shape") +
                           "'; expected 'descr', 'fortran_order' and 'shape'");
  if (descr->kind != PyValue::Kind::Str)
    return unimplemented(".npy header: 'descr' is not a simple type string "
                         "(structured dtypes are not supported)");
  if (fortran->kind != PyValue::Kind::Bool)
    return invalidArgument(
        ".npy header: 'fortran_order' must be True or False");
  if (fortran->boolean)
    return unimplemented(".npy: fortran_order is True; only C-order arrays are "
                         "supported (save with np.ascontiguousarray)");
  if (shape->kind != PyValue::Kind::Tuple)
    return invalidArgument(".npy header: 'shape' must be a tuple of integers");
  std::vector<int64_t> dims;
  for (auto &d : shape->items) {
    if (d.kind != PyValue::Kind::Int)
      return invalidArgument(
          ".npy header: 'shape' must be a tuple of integers");
    if (d.integer < 0)
      return invalidArgument(".npy header: negative dimension " +
                             std::to_string(d.integer) + " in shape");
    dims.push_back(d.integer);
  }

  DType dtype = DType::F32;
  bool swap = false;
  ATTUNE_RETURN_IF_ERROR(parseDescr(descr->str, dtype, swap));

  int64_t numel = numElements(dims);
  size_t itemSize = dtypeSize(dtype);
  size_t expected;
  if (numel < 0 || !byteCount(numel, itemSize, expected))
    return invalidArgument(".npy: shape " + shapeToString(dims) +
                           " has too many elements");
  size_t dataStart = prefix + static_cast<size_t>(headerLen);
  size_t got = size - dataStart;
  if (got != expected)
    return dataLoss(".npy: shape " + shapeToString(dims) + " of " +
                    std::string(dtypeName(dtype)) + " needs " +
                    std::to_string(expected) + " data bytes, the file has " +
                    std::to_string(got));

  HostTensor t(dtype, dims);
  if (expected)
    std::memcpy(t.data(), data + dataStart, expected);
  if (swap) {
    for (size_t i = 0; i < expected; i += itemSize)
      std::reverse(t.data() + i, t.data() + i + itemSize);
  }
  normalizeBools(t);
  return t;
}

StatusOr<HostTensor> readNpy(const std::string &path) {
  StatusOr<std::vector<uint8_t>> bytes = readFileBytes(path);
  if (!bytes)
    return bytes.status();
  StatusOr<HostTensor> t = parseNpy(bytes->data(), bytes->size());
  if (!t)
    return Status(t.status().code(), path + ": " + t.status().message());
  return t;
}

static const char *npyDescr(DType t) {
  switch (t) {
  case DType::F64:
    return "<f8";
  case DType::F32:
  case DType::BF16:
    return "<f4";
  case DType::F16:
    return "<f2";
  case DType::I64:
    return "<i8";
  case DType::I32:
    return "<i4";
  case DType::I16:
    return "<i2";
  case DType::I8:
    return "|i1";
  case DType::U8:
    return "|u1";
  case DType::Bool:
    return "|b1";
  }
  return "<f4";
}

std::vector<uint8_t> serializeNpy(const HostTensor &t) {
  std::string header = std::string("{'descr': '") + npyDescr(t.dtype()) +
                       "', 'fortran_order': False, 'shape': (";
  for (size_t i = 0; i < t.shape().size(); ++i) {
    if (i)
      header += " ";
    header += std::to_string(t.shape()[i]) + ",";
  }
  // numpy writes "(3,)" for rank 1 and "(2, 3)" otherwise.
  if (t.shape().size() > 1)
    header.pop_back();
  header += "), }";
  // Pad with spaces and a final newline so the data starts on a multiple of
  // 64 bytes, as numpy does. Version 2.0 only when the header outgrows u16.
  size_t prefix = 10;
  size_t total = prefix + header.size() + 1;
  size_t padded = (total + 63) / 64 * 64;
  if (padded - prefix > 0xffff) {
    prefix = 12;
    total = prefix + header.size() + 1;
    padded = (total + 63) / 64 * 64;
  }
  header.append(padded - total, ' ');
  header += '\n';

  std::vector<uint8_t> out(kNpyMagic, kNpyMagic + kNpyMagicLen);
  out.push_back(prefix == 10 ? 1 : 2);
  out.push_back(0);
  size_t hlen = header.size();
  for (size_t i = 0; i < prefix - 8; ++i)
    out.push_back(static_cast<uint8_t>(hlen >> (8 * i)));
  out.insert(out.end(), header.begin(), header.end());
  if (t.dtype() == DType::BF16) {
    for (int64_t i = 0, n = t.numElements(); i < n; ++i) {
      float f = static_cast<float>(t.getDouble(i));
      uint8_t b[4];
      std::memcpy(b, &f, 4);
      out.insert(out.end(), b, b + 4);
    }
  } else {
    out.insert(out.end(), t.data(), t.data() + t.byteSize());
  }
  return out;
}

Status writeNpy(const std::string &path, const HostTensor &t) {
  return writeFileBytes(path, serializeNpy(t));
}

//===----------------------------------------------------------------------===//
// safetensors
//===----------------------------------------------------------------------===//

/// The safetensors format's own cap on the header (100 MB), well beyond any
/// real header; a larger length means a corrupt or hostile file.
static constexpr uint64_t kMaxSafetensorsHeader = 100000000;

static const char *safetensorsDTypeName(DType t) {
  switch (t) {
  case DType::F64:
    return "F64";
  case DType::F32:
    return "F32";
  case DType::F16:
    return "F16";
  case DType::BF16:
    return "BF16";
  case DType::I64:
    return "I64";
  case DType::I32:
    return "I32";
  case DType::I16:
    return "I16";
  case DType::I8:
    return "I8";
  case DType::U8:
    return "U8";
  case DType::Bool:
    return "BOOL";
  }
  return "F32";
}

static bool safetensorsDTypeFromName(const std::string &name, DType &out) {
  static const DType all[] = {DType::F64, DType::F32, DType::F16, DType::BF16,
                              DType::I64, DType::I32, DType::I16, DType::I8,
                              DType::U8,  DType::Bool};
  for (DType t : all)
    if (name == safetensorsDTypeName(t)) {
      out = t;
      return true;
    }
  return false;
}

/// Reads a non-negative JSON integer.
static bool jsonToSize(const nlohmann::json &j, uint64_t &out) {
  if (j.is_number_unsigned()) {
    out = j.get<uint64_t>();
    return true;
  }
  if (j.is_number_integer() && j.get<int64_t>() >= 0) {
    out = static_cast<uint64_t>(j.get<int64_t>());
    return true;
  }
  return false;
}

static std::string jsonTypeName(const nlohmann::json &j) {
  if (j.is_number_integer() && !j.is_number_unsigned())
    return "negative integer " + std::to_string(j.get<int64_t>());
  if (j.is_number_float())
    return "non-integer number";
  return j.type_name();
}

namespace {
/// The validated entries of a header, before they become SafeTensors state.
struct ParsedEntry {
  std::string name;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  uint64_t begin = 0, end = 0; // relative to the data section
};
} // namespace

static Status parseSafeTensorsHeader(const uint8_t *text, size_t len,
                                     uint64_t dataSize,
                                     std::vector<ParsedEntry> &entries,
                                     std::map<std::string, std::string> &meta) {
  nlohmann::json header =
      nlohmann::json::parse(text, text + len, /*cb=*/nullptr,
                            /*allow_exceptions=*/false);
  if (header.is_discarded())
    return invalidArgument("safetensors: the header is not valid JSON");
  if (!header.is_object())
    return invalidArgument("safetensors: the header is a JSON " +
                           std::string(header.type_name()) +
                           "; expected an object");
  for (auto it = header.begin(); it != header.end(); ++it) {
    const std::string &name = it.key();
    const nlohmann::json &value = it.value();
    if (name == "__metadata__") {
      if (!value.is_object())
        return invalidArgument("safetensors: '__metadata__' is a " +
                               std::string(value.type_name()) +
                               "; expected an object of strings");
      for (auto m = value.begin(); m != value.end(); ++m) {
        if (!m.value().is_string())
          return invalidArgument(
              "safetensors: '__metadata__' entry '" + m.key() + "' is a " +
              std::string(m.value().type_name()) + "; expected a string");
        meta[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    std::string where = "safetensors: tensor '" + name + "': ";
    if (!value.is_object())
      return invalidArgument(where + "entry is a " +
                             std::string(value.type_name()) +
                             "; expected an object with dtype, shape and "
                             "data_offsets");
    auto dt = value.find("dtype");
    auto sh = value.find("shape");
    auto off = value.find("data_offsets");
    if (dt == value.end() || sh == value.end() || off == value.end())
      return invalidArgument(where + "missing '" +
                             std::string(dt == value.end()   ? "dtype"
                                         : sh == value.end() ? "shape"
                                                             : "data_offsets") +
                             "'");
    if (!dt->is_string())
      return invalidArgument(where + "'dtype' is a " +
                             std::string(dt->type_name()) +
                             "; expected a string");
    ParsedEntry e;
    e.name = name;
    std::string dtName = dt->get<std::string>();
    if (!safetensorsDTypeFromName(dtName, e.dtype))
      return unimplemented(where + "dtype '" + dtName +
                           "' is not supported; expected one of F64 F32 F16 "
                           "BF16 I64 I32 I16 I8 U8 BOOL");
    if (!sh->is_array())
      return invalidArgument(where + "'shape' is a " +
                             std::string(sh->type_name()) +
                             "; expected an array of non-negative integers");
    for (const auto &d : *sh) {
      uint64_t v;
      if (!jsonToSize(d, v) ||
          v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
        return invalidArgument(where + "shape holds a " + jsonTypeName(d) +
                               "; expected non-negative integers");
      e.shape.push_back(static_cast<int64_t>(v));
    }
    if (!off->is_array() || off->size() != 2)
      return invalidArgument(where + "'data_offsets' must be an array [begin, "
                                     "end] of two integers");
    if (!jsonToSize((*off)[0], e.begin) || !jsonToSize((*off)[1], e.end))
      return invalidArgument(
          where + "'data_offsets' holds a " +
          jsonTypeName(jsonToSize((*off)[0], e.begin) ? (*off)[1] : (*off)[0]) +
          "; expected non-negative integers");
    if (e.begin > e.end)
      return invalidArgument(where + "data_offsets [" +
                             std::to_string(e.begin) + ", " +
                             std::to_string(e.end) + "] end before they begin");
    if (e.end > dataSize)
      return dataLoss(where + "data_offsets [" + std::to_string(e.begin) +
                      ", " + std::to_string(e.end) + "] go past the " +
                      std::to_string(dataSize) + " bytes of data");
    int64_t numel = numElements(e.shape);
    size_t expected;
    if (numel < 0 || !byteCount(numel, dtypeSize(e.dtype), expected))
      return invalidArgument(where + "shape " + shapeToString(e.shape) +
                             " has too many elements");
    if (e.end - e.begin != expected)
      return invalidArgument(
          where + "shape " + shapeToString(e.shape) + " of " + dtName +
          " needs " + std::to_string(expected) +
          " bytes but data_offsets span " + std::to_string(e.end - e.begin));
    entries.push_back(std::move(e));
  }

  // Two tensors sharing bytes is corruption (the reference implementation
  // rejects it too); empty tensors overlap nothing.
  std::sort(entries.begin(), entries.end(), [](const auto &a, const auto &b) {
    return a.begin != b.begin ? a.begin < b.begin : a.name < b.name;
  });
  const ParsedEntry *prev = nullptr;
  for (const auto &e : entries) {
    if (e.begin == e.end)
      continue;
    if (prev && prev->end > e.begin)
      return invalidArgument("safetensors: tensors '" + prev->name + "' [" +
                             std::to_string(prev->begin) + ", " +
                             std::to_string(prev->end) + ") and '" + e.name +
                             "' [" + std::to_string(e.begin) + ", " +
                             std::to_string(e.end) + ") overlap");
    prev = &e;
  }
  return Status::ok();
}

StatusOr<SafeTensors> SafeTensors::parse(std::vector<uint8_t> bytes) {
  size_t size = bytes.size();
  if (size < 8)
    return dataLoss("safetensors: file is " + std::to_string(size) +
                    " bytes, too short for the 8-byte header length");
  uint64_t n = 0;
  for (int i = 0; i < 8; ++i)
    n |= static_cast<uint64_t>(bytes[i]) << (8 * i);
  if (n > kMaxSafetensorsHeader)
    return invalidArgument("safetensors: header length " + std::to_string(n) +
                           " exceeds the format's limit of " +
                           std::to_string(kMaxSafetensorsHeader) + " bytes");
  if (n > size - 8)
    return dataLoss("safetensors: header length " + std::to_string(n) +
                    " exceeds the " + std::to_string(size - 8) +
                    " bytes after the length field");
  std::vector<ParsedEntry> entries;
  std::map<std::string, std::string> meta;
  try {
    ATTUNE_RETURN_IF_ERROR(parseSafeTensorsHeader(
        bytes.data() + 8, static_cast<size_t>(n), size - 8 - n, entries, meta));
  } catch (const nlohmann::json::exception &e) {
    return invalidArgument(std::string("safetensors: malformed header: ") +
                           e.what());
  } catch (const std::exception &e) {
    return internalError(std::string("safetensors: ") + e.what());
  }
  SafeTensors st;
  for (auto &e : entries) {
    st.names_.push_back(e.name);
    st.entries_[e.name] =
        Entry{e.dtype, std::move(e.shape), static_cast<size_t>(8 + n + e.begin),
              static_cast<size_t>(8 + n + e.end)};
  }
  st.metadata_ = std::move(meta);
  st.bytes_ = std::move(bytes);
  return st;
}

StatusOr<SafeTensors> SafeTensors::read(const std::string &path) {
  StatusOr<std::vector<uint8_t>> bytes = readFileBytes(path);
  if (!bytes)
    return bytes.status();
  StatusOr<SafeTensors> st = parse(std::move(*bytes));
  if (!st)
    return Status(st.status().code(), path + ": " + st.status().message());
  return st;
}

bool SafeTensors::contains(const std::string &name) const {
  return entries_.count(name) != 0;
}

StatusOr<HostTensor> SafeTensors::get(const std::string &name) const {
  auto it = entries_.find(name);
  if (it == entries_.end()) {
    std::string held;
    for (const auto &n : names_)
      held += (held.empty() ? "'" : ", '") + n + "'";
    return notFound("safetensors: no tensor named '" + name +
                    "'; the file holds " +
                    (held.empty() ? std::string("no tensors") : held));
  }
  const Entry &e = it->second;
  HostTensor t(e.dtype, e.shape);
  if (e.end > e.begin)
    std::memcpy(t.data(), bytes_.data() + e.begin, e.end - e.begin);
  normalizeBools(t);
  return t;
}

std::vector<uint8_t>
serializeSafeTensors(const std::vector<std::pair<std::string, HostTensor>> &ts,
                     const std::map<std::string, std::string> &metadata) {
  // Sorted by name; of repeated names the first wins and a tensor named
  // "__metadata__" is dropped (writeSafeTensors rejects both up front).
  std::map<std::string, const HostTensor *> sorted;
  for (const auto &[name, t] : ts)
    if (name != "__metadata__")
      sorted.emplace(name, &t);

  std::string headerText;
  try {
    nlohmann::json header = nlohmann::json::object();
    if (!metadata.empty()) {
      nlohmann::json meta = nlohmann::json::object();
      for (const auto &[k, v] : metadata)
        meta[k] = v;
      header["__metadata__"] = std::move(meta);
    }
    uint64_t offset = 0;
    for (const auto &[name, t] : sorted) {
      nlohmann::json e = nlohmann::json::object();
      e["dtype"] = safetensorsDTypeName(t->dtype());
      e["shape"] = t->shape();
      e["data_offsets"] = {offset, offset + t->byteSize()};
      offset += t->byteSize();
      header[name] = std::move(e);
    }
    // Invalid UTF-8 in a name is replaced rather than thrown on.
    headerText =
        header.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  } catch (const std::exception &) {
    // Only allocation failure can get here; an empty result signals it.
    return {};
  }
  // Pad with spaces so the data section starts 8-byte aligned.
  headerText.append((8 - headerText.size() % 8) % 8, ' ');

  std::vector<uint8_t> out;
  uint64_t n = headerText.size();
  for (int i = 0; i < 8; ++i)
    out.push_back(static_cast<uint8_t>(n >> (8 * i)));
  out.insert(out.end(), headerText.begin(), headerText.end());
  for (const auto &entry : sorted)
    out.insert(out.end(), entry.second->data(),
               entry.second->data() + entry.second->byteSize());
  return out;
}

Status
writeSafeTensors(const std::string &path,
                 const std::vector<std::pair<std::string, HostTensor>> &ts,
                 const std::map<std::string, std::string> &metadata) {
  std::set<std::string> seen;
  for (const auto &entry : ts) {
    if (entry.first == "__metadata__")
      return invalidArgument("safetensors: '__metadata__' is reserved and "
                             "cannot name a tensor");
    if (!seen.insert(entry.first).second)
      return invalidArgument("safetensors: tensor name '" + entry.first +
                             "' appears twice");
  }
  std::vector<uint8_t> bytes = serializeSafeTensors(ts, metadata);
  if (bytes.empty())
    return internalError("safetensors: out of memory while serializing");
  return writeFileBytes(path, bytes);
}

} // namespace attune
