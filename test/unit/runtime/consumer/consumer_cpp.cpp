// Uses the C++ wrapper and the artifact writer of an installed runtime.
#include <attune/artifact/Artifact.h>
#include <attune/attune_runtime.hpp>

#include <cstdio>

extern "C" int consumer_cpp(void) {
  attune::artifact::ModuleDesc m;
  m.compilerVersion = "consumer";
  attune::artifact::FunctionDesc f;
  f.name = "empty";
  m.functions.push_back(f);
  std::vector<uint8_t> bytes;
  if (!attune::artifact::writeArtifact(m, bytes).isOk())
    return 1;
  attune::rt::Module module;
  attune::rt::Result r =
      attune::rt::Module::loadFromMemory(bytes.data(), bytes.size(), module);
  if (!r) {
    std::fprintf(stderr, "load failed: %s\n", r.message().c_str());
    return 1;
  }
  attune::rt::Session s;
  if (!attune::rt::Session::create(module, "empty", 1, s) || !s.run()) {
    std::fprintf(stderr, "session failed\n");
    return 1;
  }
  std::printf("consumer ok: %s", module.describe().c_str());
  return 0;
}
