//===- TensorIOTest.cpp - .npy and safetensors readers and writers --------===//

#include "attune/runtime/TensorIO.h"

#include <gtest/gtest.h>

#include <cstring>
#include <random>

using namespace attune;

namespace {

const DType kAllDTypes[] = {DType::F64, DType::F32, DType::F16, DType::BF16,
                            DType::I64, DType::I32, DType::I16, DType::I8,
                            DType::U8,  DType::Bool};

/// A tensor with distinct, exactly representable values (negative ones too
/// where the dtype has them).
HostTensor makeTensor(DType t, std::vector<int64_t> shape) {
  HostTensor h(t, std::move(shape));
  for (int64_t i = 0; i < h.numElements(); ++i) {
    double v = (i % 7) - 3 + 0.5 * (i % 2);
    if (t == DType::U8)
      v = double(i % 200);
    else if (t == DType::Bool)
      v = double(i % 3 == 0);
    h.setDouble(i, v);
  }
  return h;
}

bool sameBytes(const HostTensor &a, const HostTensor &b) {
  return a.dtype() == b.dtype() && a.shape() == b.shape() &&
         a.byteSize() == b.byteSize() &&
         (a.byteSize() == 0 ||
          std::memcmp(a.data(), b.data(), a.byteSize()) == 0);
}

bool contains(const std::string &s, const std::string &part) {
  return s.find(part) != std::string::npos;
}

/// An .npy image with a hand-written header (padded to a multiple of 16 as
/// numpy's old writers did) and raw data bytes.
std::vector<uint8_t> npyImage(int major, std::string header,
                              const std::vector<uint8_t> &data) {
  size_t prefix = major == 1 ? 10 : 12;
  while ((prefix + header.size() + 1) % 16)
    header += ' ';
  header += '\n';
  std::vector<uint8_t> out = {0x93, 'N', 'U', 'M', 'P', 'Y', uint8_t(major), 0};
  for (size_t i = 0; i < prefix - 8; ++i)
    out.push_back(uint8_t(header.size() >> (8 * i)));
  out.insert(out.end(), header.begin(), header.end());
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

template <typename T> std::vector<uint8_t> rawBytes(std::vector<T> v) {
  std::vector<uint8_t> out(v.size() * sizeof(T));
  std::memcpy(out.data(), v.data(), out.size());
  return out;
}

StatusOr<HostTensor> parse(const std::vector<uint8_t> &b) {
  return parseNpy(b.data(), b.size());
}

std::string tempPath(const std::string &name) {
  return ::testing::TempDir() + "/attune_tensorio_" + name;
}

//===----------------------------------------------------------------------===//
// .npy
//===----------------------------------------------------------------------===//

TEST(Npy, RoundTripEveryDTypeAndRank) {
  const std::vector<std::vector<int64_t>> shapes = {
      {}, {5}, {2, 3}, {2, 1, 3}, {1, 2, 2, 3}, {3, 0}};
  for (DType t : kAllDTypes)
    for (const auto &shape : shapes) {
      HostTensor h = makeTensor(t, shape);
      std::vector<uint8_t> bytes = serializeNpy(h);
      ASSERT_GE(bytes.size(), 10u);
      EXPECT_EQ(bytes[6], 1) << "version 1.0";
      EXPECT_EQ(bytes[7], 0);
      size_t headerLen = bytes[8] | (bytes[9] << 8);
      EXPECT_EQ((10 + headerLen) % 64, 0u) << "data must start 64-aligned";
      EXPECT_EQ(bytes[10 + headerLen - 1], '\n');
      StatusOr<HostTensor> back = parse(bytes);
      ASSERT_TRUE(back.isOk()) << back.status().message();
      if (t == DType::BF16) {
        // Written as f4, exactly.
        ASSERT_EQ(back->dtype(), DType::F32);
        ASSERT_EQ(back->shape(), h.shape());
        for (int64_t i = 0; i < h.numElements(); ++i)
          EXPECT_EQ(back->getDouble(i), h.getDouble(i));
      } else {
        EXPECT_TRUE(sameBytes(*back, h))
            << dtypeName(t) << " " << shapeToString(shape);
      }
    }
}

std::string npyHeaderText(const std::vector<uint8_t> &bytes) {
  size_t len = bytes[8] | (bytes[9] << 8);
  return std::string(bytes.begin() + 10, bytes.begin() + 10 + len);
}

TEST(Npy, WriterHeaderText) {
  std::string text =
      npyHeaderText(serializeNpy(makeTensor(DType::F32, {2, 3})));
  EXPECT_EQ(
      text.rfind("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }",
                 0),
      0u)
      << text;
  EXPECT_EQ(text.size() + 10, 128u);
  EXPECT_EQ(text.find_first_not_of(' ', 60), text.size() - 1) << "space padded";
  text = npyHeaderText(serializeNpy(makeTensor(DType::I8, {4})));
  EXPECT_TRUE(contains(text, "'descr': '|i1'"));
  EXPECT_TRUE(contains(text, "'shape': (4,)"));
  text = npyHeaderText(serializeNpy(makeTensor(DType::Bool, {})));
  EXPECT_TRUE(contains(text, "'descr': '|b1'"));
  EXPECT_TRUE(contains(text, "'shape': ()"));
  text = npyHeaderText(serializeNpy(makeTensor(DType::BF16, {1})));
  EXPECT_TRUE(contains(text, "'descr': '<f4'"));
}

TEST(Npy, FileRoundTrip) {
  HostTensor h = makeTensor(DType::F16, {3, 4});
  std::string path = tempPath("roundtrip.npy");
  ASSERT_TRUE(writeNpy(path, h).isOk());
  StatusOr<HostTensor> back = readNpy(path);
  ASSERT_TRUE(back.isOk()) << back.status().message();
  EXPECT_TRUE(sameBytes(*back, h));
}

TEST(Npy, MissingFileIsNotFound) {
  StatusOr<HostTensor> r = readNpy(tempPath("does_not_exist.npy"));
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().code(), StatusCode::NotFound);
  EXPECT_TRUE(contains(r.status().message(), "does_not_exist.npy"));
}

TEST(Npy, HandWrittenVersion1) {
  auto img =
      npyImage(1, "{'descr': '<i4', 'fortran_order': False, 'shape': (3,), }",
               rawBytes<int32_t>({7, -8, 9}));
  StatusOr<HostTensor> t = parse(img);
  ASSERT_TRUE(t.isOk()) << t.status().message();
  EXPECT_EQ(t->dtype(), DType::I32);
  EXPECT_EQ(t->shape(), std::vector<int64_t>({3}));
  EXPECT_EQ(t->getInt(0), 7);
  EXPECT_EQ(t->getInt(1), -8);
  EXPECT_EQ(t->getInt(2), 9);
}

TEST(Npy, HandWrittenVersion2BigEndianKeysReordered) {
  // Big-endian f8 1.5 and -2.0, keys in another order, double quotes, no
  // trailing comma in the dict, and a trailing comma inside the shape.
  std::vector<uint8_t> data = {0x3f, 0xf8, 0, 0, 0, 0, 0, 0,
                               0xc0, 0x00, 0, 0, 0, 0, 0, 0};
  auto img = npyImage(
      2, "{\"shape\": (1, 2,), \"fortran_order\": False, \"descr\": \">f8\"}",
      data);
  StatusOr<HostTensor> t = parse(img);
  ASSERT_TRUE(t.isOk()) << t.status().message();
  EXPECT_EQ(t->dtype(), DType::F64);
  EXPECT_EQ(t->shape(), std::vector<int64_t>({1, 2}));
  EXPECT_EQ(t->getDouble(0), 1.5);
  EXPECT_EQ(t->getDouble(1), -2.0);
}

TEST(Npy, HandWrittenVersion3AndBigEndianHalf) {
  // 0x3c00 = 1.0 and 0xc000 = -2.0 as big-endian halves.
  auto img = npyImage(3, "{'descr':'>f2','fortran_order':False,'shape':(2,)}",
                      {0x3c, 0x00, 0xc0, 0x00});
  StatusOr<HostTensor> t = parse(img);
  ASSERT_TRUE(t.isOk()) << t.status().message();
  EXPECT_EQ(t->getDouble(0), 1.0);
  EXPECT_EQ(t->getDouble(1), -2.0);
}

TEST(Npy, RankZeroAndPython2Longs) {
  auto img =
      npyImage(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (), }",
               rawBytes<float>({3.25f}));
  StatusOr<HostTensor> t = parse(img);
  ASSERT_TRUE(t.isOk()) << t.status().message();
  EXPECT_EQ(t->rank(), 0);
  EXPECT_EQ(t->getDouble(0), 3.25);

  img = npyImage(
      1, "{'descr': '<i2', 'fortran_order': False, 'shape': (2L, 1L), }",
      rawBytes<int16_t>({-1, 2}));
  t = parse(img);
  ASSERT_TRUE(t.isOk()) << t.status().message();
  EXPECT_EQ(t->shape(), std::vector<int64_t>({2, 1}));
  EXPECT_EQ(t->getInt(0), -1);
}

TEST(Npy, BoolAndNativeOrder) {
  auto img =
      npyImage(1, "{'descr': '|b1', 'fortran_order': False, 'shape': (3,), }",
               {0, 1, 5});
  StatusOr<HostTensor> t = parse(img);
  ASSERT_TRUE(t.isOk()) << t.status().message();
  EXPECT_EQ(t->data()[2], 1) << "nonzero bools normalize to 1";
  img = npyImage(1, "{'descr': '=u1', 'fortran_order': False, 'shape': (1,), }",
                 {200});
  t = parse(img);
  ASSERT_TRUE(t.isOk()) << t.status().message();
  EXPECT_EQ(t->dtype(), DType::U8);
  EXPECT_EQ(t->getInt(0), 200);
}

TEST(Npy, FortranOrderRejected) {
  auto img =
      npyImage(1, "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }",
               rawBytes<float>({1, 2, 3, 4}));
  StatusOr<HostTensor> t = parse(img);
  ASSERT_FALSE(t.isOk());
  EXPECT_TRUE(contains(t.status().message(), "fortran_order"))
      << t.status().message();
}

TEST(Npy, MalformedHeaders) {
  struct Case {
    std::string header;
    std::string expect; // a part of the message
  };
  const Case cases[] = {
      {"{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }", "<c8"},
      {"{'descr': '<U4', 'fortran_order': False, 'shape': (1,), }", "<U4"},
      {"{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }",
       "structured"},
      {"{'fortran_order': False, 'shape': (1,), }", "descr"},
      {"{'descr': '<f4', 'shape': (1,), }", "fortran_order"},
      {"{'descr': '<f4', 'fortran_order': False, }", "shape"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }",
       "negative"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (1.5,), }", "header"},
      {"{'descr': '<f4', 'fortran_order': 0, 'shape': (1,), }",
       "fortran_order"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': [1], }", "shape"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (1,)", "expected"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (1,), } x", "after"},
      {"{'descr: '<f4'}", "header"},
      {"", "header"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': "
       "(99999999999999999999,), }",
       "64 bits"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': "
       "(4294967296, 4294967296, 4294967296), }",
       "too many"},
      {"((((((((((((((((((((((((((((((((((((((((", "deep"},
  };
  for (const Case &c : cases) {
    StatusOr<HostTensor> t = parse(npyImage(1, c.header, rawBytes<float>({1})));
    ASSERT_FALSE(t.isOk()) << c.header;
    EXPECT_TRUE(contains(t.status().message(), c.expect))
        << c.header << " -> " << t.status().message();
  }
}

TEST(Npy, BadMagicAndVersion) {
  std::vector<uint8_t> img = serializeNpy(makeTensor(DType::F32, {2}));
  img[1] = 'X';
  StatusOr<HostTensor> t = parse(img);
  ASSERT_FALSE(t.isOk());
  EXPECT_EQ(t.status().code(), StatusCode::InvalidArgument);
  EXPECT_TRUE(contains(t.status().message(), "magic"));
  img = serializeNpy(makeTensor(DType::F32, {2}));
  img[6] = 4;
  t = parse(img);
  ASSERT_FALSE(t.isOk());
  EXPECT_TRUE(contains(t.status().message(), "4.0"));
}

TEST(Npy, DataSizeMismatchNamesByteCounts) {
  auto img =
      npyImage(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }",
               rawBytes<float>({1, 2, 3, 4, 5}));
  StatusOr<HostTensor> t = parse(img);
  ASSERT_FALSE(t.isOk());
  EXPECT_EQ(t.status().code(), StatusCode::DataLoss);
  EXPECT_TRUE(contains(t.status().message(), "24")) << t.status().message();
  EXPECT_TRUE(contains(t.status().message(), "20")) << t.status().message();
  // Extra bytes are an error too.
  img = npyImage(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }",
                 rawBytes<float>({1, 2}));
  EXPECT_FALSE(parse(img).isOk());
}

TEST(Npy, EveryTruncationFailsCleanly) {
  for (DType t : {DType::F32, DType::I16, DType::Bool}) {
    std::vector<uint8_t> full = serializeNpy(makeTensor(t, {3, 5}));
    ASSERT_TRUE(parse(full).isOk());
    size_t dataStart = full.size() - 15 * dtypeSize(t);
    for (size_t len = 0; len < full.size(); ++len) {
      // An exact-size heap copy, so a sanitizer sees any over-read.
      std::vector<uint8_t> prefix(full.begin(), full.begin() + len);
      StatusOr<HostTensor> r = parseNpy(prefix.data(), prefix.size());
      ASSERT_FALSE(r.isOk()) << "prefix of " << len << " bytes parsed";
      EXPECT_FALSE(r.status().message().empty());
      if (len >= dataStart) {
        EXPECT_EQ(r.status().code(), StatusCode::DataLoss) << len;
        EXPECT_TRUE(contains(r.status().message(),
                             "the file has " + std::to_string(len - dataStart)))
            << r.status().message();
      }
    }
  }
}

TEST(Npy, RandomCorruptionNeverCrashes) {
  std::vector<uint8_t> full = serializeNpy(makeTensor(DType::F32, {4, 2}));
  std::mt19937 rng(11);
  int parsed = 0;
  for (int iter = 0; iter < 3000; ++iter) {
    std::vector<uint8_t> img = full;
    int flips = 1 + iter % 4;
    for (int f = 0; f < flips; ++f)
      img[rng() % 80] = uint8_t(rng());
    StatusOr<HostTensor> r = parse(img);
    if (r.isOk()) {
      ++parsed;
      EXPECT_LE(r->byteSize(), img.size() - 10);
    }
  }
  // Most single-byte flips inside the padding keep the file valid; the rest
  // must fail without crashing. Either way something was exercised.
  EXPECT_GT(parsed, 0);
  EXPECT_LT(parsed, 3000);
}

//===----------------------------------------------------------------------===//
// safetensors
//===----------------------------------------------------------------------===//

std::vector<uint8_t> stImage(const std::string &json,
                             const std::vector<uint8_t> &data) {
  std::vector<uint8_t> out;
  uint64_t n = json.size();
  for (int i = 0; i < 8; ++i)
    out.push_back(uint8_t(n >> (8 * i)));
  out.insert(out.end(), json.begin(), json.end());
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

TEST(SafeTensorsTest, RoundTripWithMetadata) {
  std::vector<std::pair<std::string, HostTensor>> ts;
  const std::vector<std::vector<int64_t>> shapes = {{2, 3}, {}, {5}, {1, 0, 2}};
  int i = 0;
  for (DType t : kAllDTypes) {
    const auto &shape = shapes[i % shapes.size()];
    // Names out of order on purpose: the writer sorts them.
    ts.emplace_back("t" + std::to_string(9 - i) + "_" +
                        std::string(dtypeName(t)),
                    makeTensor(t, shape));
    ++i;
  }
  std::map<std::string, std::string> meta = {{"format", "pt"},
                                             {"note", "quote \" and ünïcode"}};
  std::string path = tempPath("roundtrip.safetensors");
  ASSERT_TRUE(writeSafeTensors(path, ts, meta).isOk());

  StatusOr<std::vector<uint8_t>> raw = readFileBytes(path);
  ASSERT_TRUE(raw.isOk());
  uint64_t n = 0;
  for (int b = 0; b < 8; ++b)
    n |= uint64_t((*raw)[b]) << (8 * b);
  EXPECT_EQ((8 + n) % 8, 0u) << "data must start 8-byte aligned";
  EXPECT_EQ((*raw)[8], '{');

  StatusOr<SafeTensors> st = SafeTensors::read(path);
  ASSERT_TRUE(st.isOk()) << st.status().message();
  EXPECT_EQ(st->metadata(), meta);
  std::vector<std::string> sortedNames;
  for (const auto &p : ts)
    sortedNames.push_back(p.first);
  std::sort(sortedNames.begin(), sortedNames.end());
  // Zero-size tensors share an offset with their successor; names() orders
  // by offset, then name, which for this writer is the sorted name order.
  EXPECT_EQ(st->names(), sortedNames);
  for (const auto &[name, t] : ts) {
    ASSERT_TRUE(st->contains(name));
    StatusOr<HostTensor> got = st->get(name);
    ASSERT_TRUE(got.isOk()) << got.status().message();
    EXPECT_TRUE(sameBytes(*got, t)) << name;
  }
}

TEST(SafeTensorsTest, GetMissingNamesWhatExists) {
  std::vector<std::pair<std::string, HostTensor>> ts = {
      {"alpha", makeTensor(DType::F32, {2})},
      {"beta", makeTensor(DType::I8, {3})}};
  StatusOr<SafeTensors> st = SafeTensors::parse(serializeSafeTensors(ts));
  ASSERT_TRUE(st.isOk()) << st.status().message();
  EXPECT_TRUE(st->metadata().empty());
  StatusOr<HostTensor> r = st->get("gamma");
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().code(), StatusCode::NotFound);
  EXPECT_TRUE(contains(r.status().message(), "'gamma'"));
  EXPECT_TRUE(contains(r.status().message(), "'alpha'"));
  EXPECT_TRUE(contains(r.status().message(), "'beta'"));
}

TEST(SafeTensorsTest, NamesInOffsetOrder) {
  // Hand-written: "b" holds the first bytes, "a" the next.
  auto img = stImage(R"({"a":{"dtype":"U8","shape":[2],"data_offsets":[2,4]},)"
                     R"("b":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}})",
                     {1, 2, 3, 4});
  StatusOr<SafeTensors> st = SafeTensors::parse(img);
  ASSERT_TRUE(st.isOk()) << st.status().message();
  EXPECT_EQ(st->names(), std::vector<std::string>({"b", "a"}));
  EXPECT_EQ(st->get("a")->getInt(0), 3);
  EXPECT_EQ(st->get("b")->getInt(1), 2);
}

TEST(SafeTensorsTest, MalformedHeaders) {
  struct Case {
    std::string json;
    StatusCode code;
    std::string expect;
  };
  const std::vector<uint8_t> data(16, 0);
  const Case cases[] = {
      {R"({"x":)", StatusCode::InvalidArgument, "not valid JSON"},
      {R"([1, 2])", StatusCode::InvalidArgument, "expected an object"},
      {R"({"x": 3})", StatusCode::InvalidArgument, "'x'"},
      {R"({"x":{"shape":[1],"data_offsets":[0,4]}})",
       StatusCode::InvalidArgument, "missing 'dtype'"},
      {R"({"x":{"dtype":5,"shape":[1],"data_offsets":[0,4]}})",
       StatusCode::InvalidArgument, "'dtype' is a number"},
      {R"({"x":{"dtype":"F8_E4M3","shape":[1],"data_offsets":[0,1]}})",
       StatusCode::Unimplemented, "F8_E4M3"},
      {R"({"x":{"dtype":"F32","shape":"1","data_offsets":[0,4]}})",
       StatusCode::InvalidArgument, "'shape' is a string"},
      {R"({"x":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})",
       StatusCode::InvalidArgument, "negative integer -1"},
      {R"({"x":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}})",
       StatusCode::InvalidArgument, "non-integer"},
      {R"({"x":{"dtype":"F32","shape":[1],"data_offsets":[0]}})",
       StatusCode::InvalidArgument, "data_offsets"},
      {R"({"x":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}})",
       StatusCode::InvalidArgument, "data_offsets"},
      {R"({"x":{"dtype":"F32","shape":[1],"data_offsets":[8,4]}})",
       StatusCode::InvalidArgument, "end before"},
      {R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[12,20]}})",
       StatusCode::DataLoss, "16 bytes of data"},
      {R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}})",
       StatusCode::InvalidArgument, "needs 8 bytes but data_offsets span 4"},
      {R"({"x":{"dtype":"F32","shape":[4611686018427387904, 4],"data_offsets":[0,4]}})",
       StatusCode::InvalidArgument, "too many elements"},
      {R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
       R"("y":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
       StatusCode::InvalidArgument, "overlap"},
      {R"({"__metadata__":{"k":1}})", StatusCode::InvalidArgument, "'k'"},
      {R"({"__metadata__":[]})", StatusCode::InvalidArgument, "__metadata__"},
  };
  for (const Case &c : cases) {
    StatusOr<SafeTensors> st = SafeTensors::parse(stImage(c.json, data));
    ASSERT_FALSE(st.isOk()) << c.json;
    EXPECT_EQ(st.status().code(), c.code)
        << c.json << " -> " << st.status().message();
    EXPECT_TRUE(contains(st.status().message(), c.expect))
        << c.json << " -> " << st.status().message();
  }
}

TEST(SafeTensorsTest, AdjacentAndEmptyTensorsAreNotOverlaps) {
  auto img =
      stImage(R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
              R"("e":{"dtype":"F32","shape":[0],"data_offsets":[4,4]},)"
              R"("y":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}})",
              std::vector<uint8_t>(16, 0));
  StatusOr<SafeTensors> st = SafeTensors::parse(img);
  ASSERT_TRUE(st.isOk()) << st.status().message();
  EXPECT_EQ(st->get("e")->numElements(), 0);
}

TEST(SafeTensorsTest, HeaderLengthChecks) {
  std::vector<uint8_t> img = stImage("{}", {});
  ASSERT_TRUE(SafeTensors::parse(img).isOk());
  img[0] = 3; // one more than the file holds
  StatusOr<SafeTensors> st = SafeTensors::parse(img);
  ASSERT_FALSE(st.isOk());
  EXPECT_EQ(st.status().code(), StatusCode::DataLoss);
  EXPECT_TRUE(contains(st.status().message(), "header length 3"));
  img[0] = 0;
  img[6] = 1; // 2^48: absurd
  st = SafeTensors::parse(img);
  ASSERT_FALSE(st.isOk());
  EXPECT_TRUE(contains(st.status().message(), "header length"));
}

TEST(SafeTensorsTest, EveryTruncationFailsCleanly) {
  std::vector<std::pair<std::string, HostTensor>> ts = {
      {"w", makeTensor(DType::BF16, {3, 2})},
      {"b", makeTensor(DType::I32, {2})}};
  std::vector<uint8_t> full = serializeSafeTensors(ts, {{"k", "v"}});
  ASSERT_TRUE(SafeTensors::parse(full).isOk());
  for (size_t len = 0; len < full.size(); ++len) {
    StatusOr<SafeTensors> st = SafeTensors::parse(
        std::vector<uint8_t>(full.begin(), full.begin() + len));
    ASSERT_FALSE(st.isOk()) << "prefix of " << len << " bytes parsed";
    EXPECT_FALSE(st.status().message().empty());
  }
}

TEST(SafeTensorsTest, WriterRejectsDuplicateAndReservedNames) {
  std::vector<std::pair<std::string, HostTensor>> dup = {
      {"a", makeTensor(DType::F32, {1})}, {"a", makeTensor(DType::F32, {2})}};
  Status s = writeSafeTensors(tempPath("dup.safetensors"), dup);
  ASSERT_FALSE(s.isOk());
  EXPECT_TRUE(contains(s.message(), "'a'"));
  std::vector<std::pair<std::string, HostTensor>> reserved = {
      {"__metadata__", makeTensor(DType::F32, {1})}};
  EXPECT_FALSE(writeSafeTensors(tempPath("res.safetensors"), reserved).isOk());
}

TEST(SafeTensorsTest, MissingFileIsNotFound) {
  StatusOr<SafeTensors> st = SafeTensors::read(tempPath("nope.safetensors"));
  ASSERT_FALSE(st.isOk());
  EXPECT_EQ(st.status().code(), StatusCode::NotFound);
}

} // namespace
