//===- ArtifactTest.cpp - The .atm container: round trip and corruption ---===//

#include "TestArtifact.h"

#include "attune/attune_runtime.h"

#include <gtest/gtest.h>

#include <random>

using namespace attune;
using namespace attune::artifact;

namespace {

std::vector<uint8_t> serialize(const ModuleDesc &m) {
  std::vector<uint8_t> bytes;
  Status s = writeArtifact(m, bytes);
  EXPECT_TRUE(s.isOk()) << s.message();
  return bytes;
}

bool contains(const std::string &s, const std::string &sub) {
  return s.find(sub) != std::string::npos;
}

// The CRC-32C check value of the standard test vector.
TEST(Artifact, Crc32cCheckValue) {
  const char *v = "123456789";
  EXPECT_EQ(crc32c(reinterpret_cast<const uint8_t *>(v), 9), 0xE3069283u);
  // Chaining two halves gives the same CRC as one pass.
  uint32_t a = crc32c(reinterpret_cast<const uint8_t *>(v), 4);
  EXPECT_EQ(crc32c(reinterpret_cast<const uint8_t *>(v) + 4, 5, a),
            0xE3069283u);
}

// Everything written is read back unchanged.
TEST(Artifact, RoundTrip) {
  ModuleDesc m = test::testModule();
  m.cubins.push_back({ATTUNE_CUBIN_ARCH(90, 1), {1, 2, 3}});
  m.targets.push_back("cuda");
  m.ptx = {'p', 't', 'x'};
  std::vector<uint8_t> bytes = serialize(m);
  EXPECT_EQ(bytes.size() % kSectionAlignment, 0u);
  StatusOr<ModuleDesc> r = readArtifact(bytes.data(), bytes.size());
  ASSERT_TRUE(r.isOk()) << r.status().message();
  EXPECT_EQ(r->compilerVersion, m.compilerVersion);
  EXPECT_EQ(r->kernelAbiVersion, m.kernelAbiVersion);
  EXPECT_EQ(r->targets, m.targets);
  EXPECT_EQ(r->cpuArch, m.cpuArch);
  EXPECT_EQ(r->constants, m.constants);
  EXPECT_EQ(r->cpuSharedObject, m.cpuSharedObject);
  ASSERT_EQ(r->cubins.size(), 1u);
  EXPECT_EQ(r->cubins[0].arch, ATTUNE_CUBIN_ARCH(90, 1));
  EXPECT_EQ(r->cubins[0].bytes, m.cubins[0].bytes);
  EXPECT_EQ(r->ptx, m.ptx);
  ASSERT_EQ(r->functions.size(), 1u);
  const FunctionDesc &f = r->functions[0], &g = m.functions[0];
  EXPECT_EQ(f.name, g.name);
  EXPECT_EQ(f.arenaBytes, g.arenaBytes);
  ASSERT_EQ(f.values.size(), g.values.size());
  for (size_t i = 0; i < f.values.size(); ++i) {
    EXPECT_EQ(f.values[i].kind, g.values[i].kind);
    EXPECT_EQ(f.values[i].index, g.values[i].index);
    EXPECT_EQ(f.values[i].offset, g.values[i].offset);
    EXPECT_EQ(f.values[i].bytes, g.values[i].bytes);
    EXPECT_EQ(f.values[i].shape, g.values[i].shape);
  }
  ASSERT_EQ(f.launches.size(), 2u);
  EXPECT_EQ(f.launches[1].kernel, g.launches[1].kernel);
  EXPECT_EQ(f.launches[1].buffers, g.launches[1].buffers);
  EXPECT_EQ(f.launches[1].floats, g.launches[1].floats);
  EXPECT_EQ(f.launches[1].captures, g.launches[1].captures);
  EXPECT_EQ(f.launches[1].hooks, g.launches[1].hooks);
  EXPECT_EQ(f.launches[1].location, g.launches[1].location);
}

// describe names the header, every section and every launch's kernel.
TEST(Artifact, Describe) {
  ModuleDesc m = test::testModule();
  std::string d = describe(m);
  EXPECT_TRUE(contains(d, "format 1.0")) << d;
  EXPECT_TRUE(contains(d, "metadata")) << d;
  EXPECT_TRUE(contains(d, "constants")) << d;
  EXPECT_TRUE(contains(d, "cpu shared object")) << d;
  EXPECT_TRUE(contains(d, "CRC-32C 0x")) << d;
  EXPECT_TRUE(contains(d, "main(x: f32[1000], w: f32[1000]) -> (y: f32[1000])"))
      << d;
  EXPECT_TRUE(contains(d, "2 launches")) << d;
  EXPECT_TRUE(contains(d, "arena 4000 bytes")) << d;
  EXPECT_TRUE(contains(d, "#1 attune_cpu_testadd_f32  (attune.add at "
                          "model.mlir:4:8)"))
      << d;
}

// Truncating the file at any byte is an error that says it is truncated.
TEST(Artifact, TruncationAtEveryOffsetFails) {
  std::vector<uint8_t> bytes = serialize(test::testModule());
  for (size_t len = 0; len < bytes.size(); ++len) {
    StatusOr<ModuleDesc> r = readArtifact(bytes.data(), len);
    ASSERT_FALSE(r.isOk()) << "truncated to " << len << " bytes was accepted";
    const std::string &msg = r.status().message();
    if (len == 0)
      EXPECT_TRUE(contains(msg, "empty file")) << msg;
    else if (len >= 8)
      EXPECT_TRUE(contains(msg, "truncated")) << len << ": " << msg;
    else
      EXPECT_FALSE(msg.empty());
  }
  // And through the C API's loader, at a sample of offsets.
  for (size_t len = 0; len < bytes.size(); len += 97) {
    attune_module *m = nullptr;
    EXPECT_EQ(attune_module_create_from_memory(bytes.data(), len, &m),
              len < 8 ? ATTUNE_INVALID_ARGUMENT : ATTUNE_DATA_LOSS)
        << len;
    EXPECT_EQ(m, nullptr);
  }
}

// A single flipped bit anywhere is a load error naming what is corrupt.
TEST(Artifact, RandomBitFlipsFail) {
  std::vector<uint8_t> bytes = serialize(test::testModule());
  std::mt19937_64 rng(20261123);
  std::uniform_int_distribution<size_t> pos(0, bytes.size() * 8 - 1);
  const int kFlips = 12000;
  int viaLoader = 0;
  for (int i = 0; i < kFlips; ++i) {
    size_t bit = pos(rng);
    std::vector<uint8_t> bad = bytes;
    bad[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
    StatusOr<ModuleDesc> r = readArtifact(bad.data(), bad.size());
    ASSERT_FALSE(r.isOk()) << "flip of bit " << bit << " was accepted";
    const std::string &msg = r.status().message();
    bool clear = contains(msg, "corrupt") || contains(msg, "expected") ||
                 contains(msg, "not supported");
    EXPECT_TRUE(clear) << "bit " << bit << ": " << msg;
    if (i % 40 == 0) {
      attune_module *m = nullptr;
      EXPECT_NE(attune_module_create_from_memory(bad.data(), bad.size(), &m),
                ATTUNE_OK);
      EXPECT_EQ(m, nullptr);
      ++viaLoader;
    }
  }
  EXPECT_GT(viaLoader, 250);
}

// Flips inside a section say which section and show both checksums.
TEST(Artifact, CorruptSectionNamesItself) {
  std::vector<uint8_t> bytes = serialize(test::testModule());
  bytes[bytes.size() - 200] ^= 0x10; // in the shared object, the last section
  StatusOr<ModuleDesc> r = readArtifact(bytes.data(), bytes.size());
  ASSERT_FALSE(r.isOk());
  EXPECT_TRUE(contains(r.status().message(), "(cpu shared object)") ||
              contains(r.status().message(), "padding"))
      << r.status().message();
}

// Another major version is refused, naming both versions.
TEST(Artifact, OtherMajorVersionRefused) {
  std::vector<uint8_t> bytes = serialize(test::testModule());
  bytes[8] = 2;
  StatusOr<ModuleDesc> r = readArtifact(bytes.data(), bytes.size());
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().code(), StatusCode::Unimplemented);
  EXPECT_TRUE(contains(r.status().message(), "format version 2.0"))
      << r.status().message();
  EXPECT_TRUE(contains(r.status().message(), "reads format 1.x"))
      << r.status().message();
}

TEST(Artifact, BadMagic) {
  std::vector<uint8_t> bytes = serialize(test::testModule());
  bytes[1] = 'X';
  StatusOr<ModuleDesc> r = readArtifact(bytes.data(), bytes.size());
  ASSERT_FALSE(r.isOk());
  EXPECT_TRUE(contains(r.status().message(), "not an Attune artifact"));
  EXPECT_TRUE(contains(r.status().message(), "got 89 58 54 4d"))
      << r.status().message();
}

// The writer validates: each broken invariant is named with expected/got.
TEST(Artifact, WriterValidates) {
  struct Case {
    const char *what;
    void (*mutate)(ModuleDesc &);
    const char *message;
  };
  const Case cases[] = {
      {"value id out of range",
       [](ModuleDesc &m) { m.functions[0].launches[0].buffers[1] = 6; },
       "buffer #1 is value id 6; expected -1 (absent) or 0..5"},
      {"arena overflow",
       [](ModuleDesc &m) { m.functions[0].values[2].offset = 64; },
       "exceed the arena of 4000 bytes"},
      {"offset overflow",
       [](ModuleDesc &m) { m.functions[0].values[3].offset = UINT64_MAX - 7; },
       "exceed the constants section"},
      {"bytes mismatch",
       [](ModuleDesc &m) { m.functions[0].values[2].bytes = 12; },
       "bytes is 12; expected 4000 for f32[1000]"},
      {"negative dim",
       [](ModuleDesc &m) { m.functions[0].arguments[0].shape = {-1}; },
       "expected static non-negative dims"},
      {"argument type mismatch",
       [](ModuleDesc &m) { m.functions[0].values[0].dtype = DType::I32; },
       "has type i32[1000]; expected f32[1000] of argument 'x'"},
      {"empty kernel",
       [](ModuleDesc &m) { m.functions[0].launches[1].kernel = ""; },
       "kernel symbol ''; expected a non-empty C identifier"},
      {"bad hook",
       [](ModuleDesc &m) { m.functions[0].launches[1].hooks[0] = "a b"; },
       "hook #0 symbol 'a b'"},
      {"score hook in the mask slot",
       [](ModuleDesc &m) {
         m.functions[0].launches[1].hooks = {"attune_hook_f_0_score"};
       },
       "hook #0 symbol 'attune_hook_f_0_score'; expected \"\" or a C "
       "identifier attune_hook_..._mask"},
      {"three hooks",
       [](ModuleDesc &m) {
         m.functions[0].launches[1].hooks = {"", "", ""};
       },
       "3 hooks; expected at most 2 (mask, score)"},
      {"unwritten result",
       [](ModuleDesc &m) {
         m.functions[0].values[5].kind = ValueKind::Arena;
         m.functions[0].values[5].index = -1;
       },
       "result 'y' has no Output value"},
      {"result no launch writes",
       [](ModuleDesc &m) { m.functions[0].launches.pop_back(); },
       "result 'y' has no Output value that a launch writes"},
      {"duplicate argument",
       [](ModuleDesc &m) { m.functions[0].arguments[1].name = "x"; },
       "argument name 'x' appears twice"},
      {"unknown target", [](ModuleDesc &m) { m.targets = {"tpu"}; },
       "target 'tpu'"},
      {"no shared object", [](ModuleDesc &m) { m.cpuSharedObject.clear(); },
       "no cpu shared object"},
      {"bad dtype",
       [](ModuleDesc &m) {
         m.functions[0].results[0].dtype = static_cast<DType>(42);
       },
       "invalid dtype #42"},
  };
  for (const Case &c : cases) {
    ModuleDesc m = test::testModule();
    c.mutate(m);
    std::vector<uint8_t> bytes;
    Status s = writeArtifact(m, bytes);
    ASSERT_FALSE(s.isOk()) << c.what;
    EXPECT_TRUE(contains(s.message(), c.message))
        << c.what << ": " << s.message();
  }
}

// Files: written, read back, and a missing file is named.
TEST(Artifact, Files) {
  std::string path = testing::TempDir() + "/artifact_test.atm";
  ASSERT_TRUE(writeArtifactFile(test::testModule(), path).isOk());
  EXPECT_TRUE(readArtifactFile(path).isOk());
  StatusOr<ModuleDesc> r = readArtifactFile(path + ".missing");
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().code(), StatusCode::NotFound);
  EXPECT_TRUE(contains(r.status().message(), "artifact_test.atm.missing"));
}

} // namespace
