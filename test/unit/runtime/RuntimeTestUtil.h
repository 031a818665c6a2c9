//===- RuntimeTestUtil.h - Helpers of the runtime's session tests -*- C++ -*-===//
//
// Serializing a ModuleDesc, loading it through the C++ wrapper, creating a
// session on a device and the ramp inputs, shared by RuntimeTest,
// CudaSessionTest and CudaDeviceTest.
//
//===----------------------------------------------------------------------===//

#ifndef ATTUNE_TEST_UNIT_RUNTIME_RUNTIMETESTUTIL_H
#define ATTUNE_TEST_UNIT_RUNTIME_RUNTIMETESTUTIL_H

#include "TestArtifact.h"
#include "attune/artifact/Artifact.h"
#include "attune/attune_runtime.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace attune::test {

inline bool contains(const std::string &s, const std::string &sub) {
  return s.find(sub) != std::string::npos;
}

inline std::vector<uint8_t> serialize(const artifact::ModuleDesc &m) {
  std::vector<uint8_t> bytes;
  Status s = artifact::writeArtifact(m, bytes);
  EXPECT_TRUE(s.isOk()) << s.message();
  return bytes;
}

inline rt::Module load(const artifact::ModuleDesc &m) {
  std::vector<uint8_t> bytes = serialize(m);
  rt::Module module;
  rt::Result r = rt::Module::loadFromMemory(bytes.data(), bytes.size(), module);
  EXPECT_TRUE(r.ok()) << r.message();
  return module;
}

/// A session of two threads on `device`.
inline rt::Result createSession(const rt::Module &module, const std::string &fn,
                                attune_device device, rt::Session &out,
                                int32_t cudaDevice = 0) {
  attune_session_options o;
  attune_session_options_init(&o);
  o.num_threads = 2;
  o.device = device;
  o.cuda_device = cudaDevice;
  return rt::Session::create(module, fn, o, out);
}

/// start, start + step, ... (kN values).
inline std::vector<float> ramp(float start, float step) {
  std::vector<float> v(kN);
  for (int64_t i = 0; i < kN; ++i)
    v[i] = start + step * static_cast<float>(i);
  return v;
}

} // namespace attune::test

#endif // ATTUNE_TEST_UNIT_RUNTIME_RUNTIMETESTUTIL_H
