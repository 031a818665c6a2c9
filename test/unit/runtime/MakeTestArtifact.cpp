// Writes the test module of TestArtifact.h to argv[1] (for the attune-run
// tests), with a second path an .npy of x = 0, 1, 2, ..., and with a third
// the same module with the cuda target too (CudaTestArtifact.h).
#include "CudaTestArtifact.h"

#include "attune/runtime/TensorIO.h"

#include <cstdio>

int main(int argc, char **argv) {
  if (argc < 2) {
    std::fprintf(stderr,
                 "usage: make-test-artifact OUT.atm [X.npy [CUDA.atm]]\n");
    return 2;
  }
  attune::Status s =
      attune::artifact::writeArtifactFile(attune::test::testModule(), argv[1]);
  if (s.isOk() && argc > 2) {
    attune::HostTensor x(attune::DType::F32, {attune::test::kN});
    for (int64_t i = 0; i < attune::test::kN; ++i)
      x.setDouble(i, static_cast<double>(i));
    s = attune::writeNpy(argv[2], x);
  }
  if (s.isOk() && argc > 3)
    s = attune::artifact::writeArtifactFile(attune::test::testModuleWithCuda(),
                                            argv[3]);
  if (!s.isOk()) {
    std::fprintf(stderr, "make-test-artifact: %s\n", s.message().c_str());
    return 1;
  }
  return 0;
}
