//===- TensorIORegressionTest.cpp - Reader bugs found while fuzzing -------===//

#include "attune/runtime/TensorIO.h"

#include <gtest/gtest.h>

using namespace attune;

namespace {

std::vector<uint8_t> npyImage(const std::string &header, size_t dataBytes) {
  // Format 2.0: a 4-byte little-endian header length.
  std::vector<uint8_t> b = {0x93, 'N', 'U', 'M', 'P', 'Y', 2, 0};
  for (int i = 0; i < 4; ++i)
    b.push_back(static_cast<uint8_t>(header.size() >> (8 * i)));
  b.insert(b.end(), header.begin(), header.end());
  b.resize(b.size() + dataBytes, 0);
  return b;
}

// A zero dim empties a shape wherever it stands: the element count of
// [2^62, 2^62, 0] is 0, not an overflow (it used to depend on dim order).
TEST(TensorIORegression, ZeroDimAfterHugeDims) {
  EXPECT_EQ(numElements({int64_t(1) << 62, int64_t(1) << 62, 0}), 0);
  EXPECT_EQ(numElements({0, int64_t(1) << 62, int64_t(1) << 62}), 0);
  EXPECT_EQ(numElements({int64_t(1) << 62, int64_t(1) << 62}), -1);
  EXPECT_EQ(numElements({int64_t(1) << 62, -1, 0}), -1);

  std::vector<uint8_t> img =
      npyImage("{'descr': '<f4', 'fortran_order': False, 'shape': "
               "(4611686018427387904, 4611686018427387904, 0), }\n",
               0);
  StatusOr<HostTensor> t = parseNpy(img.data(), img.size());
  ASSERT_TRUE(t.isOk()) << t.status().message();
  EXPECT_EQ(t->byteSize(), 0u);
  EXPECT_EQ(t->shape().size(), 3u);

  std::string json = "{\"a\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904,"
                     "4611686018427387904,0],\"data_offsets\":[0,0]}}";
  std::vector<uint8_t> st(8, 0);
  st[0] = static_cast<uint8_t>(json.size());
  st.insert(st.end(), json.begin(), json.end());
  StatusOr<SafeTensors> s = SafeTensors::parse(st);
  ASSERT_TRUE(s.isOk()) << s.status().message();
  EXPECT_TRUE(s->get("a").isOk());
}

// Header keys are looked up in a map: 300k keys (4 MB) parse in well under
// the test's timeout, where the linear search per key took minutes. A
// repeated key still replaces the earlier one, as in Python.
TEST(TensorIORegression, ManyHeaderKeysAreNotQuadratic) {
  std::string h = "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), ";
  for (int i = 0; i < 300000; ++i)
    h += "'k" + std::to_string(i) + "': " + std::to_string(i) + ", ";
  h += "'shape': (1,), }\n";
  std::vector<uint8_t> img = npyImage(h, 4);
  StatusOr<HostTensor> t = parseNpy(img.data(), img.size());
  ASSERT_TRUE(t.isOk()) << t.status().message();
  EXPECT_EQ(t->shape(), std::vector<int64_t>{1});
}

} // namespace
