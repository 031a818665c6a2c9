//===- PtxEmuLoad.cpp - Load PTX files into the interpreter ---------------===//
//
// ptxemu-load FILE...: parses each PTX file as the fake driver's "ptx" mode
// would and prints its kernels, or the first unsupported construct (line
// and text). The lit suites run it on every kernel the cuda target emits,
// so a new instruction shows up here before a test trips over it.
//
//===----------------------------------------------------------------------===//

#include "PtxEmu.h"

#include <cstdio>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>

int main(int argc, char **argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: ptxemu-load FILE.ptx...\n");
    return 2;
  }
  int failures = 0;
  for (int i = 1; i < argc; ++i) {
    std::ifstream in(argv[i], std::ios::binary);
    if (!in) {
      std::fprintf(stderr, "ptxemu-load: cannot read %s\n", argv[i]);
      return 2;
    }
    std::stringstream ss;
    ss << in.rdbuf();
    std::string text = ss.str();
    char log[1024] = {0};
    ptxemu_module *m = ptxemu_load(text.c_str(), log, sizeof log);
    if (!m) {
      std::printf("%s: %s\n", argv[i], log);
      ++failures;
      continue;
    }
    // The entries, in file order, with what the launcher needs.
    std::regex entry(R"(\.entry\s+([A-Za-z_$][A-Za-z0-9_$]*))");
    int kernels = 0;
    for (std::sregex_iterator it(text.begin(), text.end(), entry), end;
         it != end; ++it) {
      ptxemu_kernel_info info;
      std::string name = (*it)[1];
      if (ptxemu_find_kernel(m, name.c_str(), &info) != 0) {
        std::printf("%s: kernel %s not found after loading\n", argv[i],
                    name.c_str());
        ++failures;
        continue;
      }
      std::printf("kernel %s: %d params (%d bytes), %d bytes static shared, "
                  "at most %d threads\n",
                  name.c_str(), info.num_params, info.params_bytes,
                  info.static_shared_bytes, info.max_threads);
      ++kernels;
    }
    std::printf("%s: loaded, %d kernels\n", argv[i], kernels);
    ptxemu_unload(m);
  }
  return failures ? 1 : 0;
}
