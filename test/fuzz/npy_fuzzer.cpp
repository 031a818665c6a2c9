// Fuzzes the .npy parser: any input is parsed without a crash, leak or UB;
// an accepted tensor has as many bytes as its shape says and serializes.
#include "attune/runtime/TensorIO.h"

#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  attune::StatusOr<attune::HostTensor> t = attune::parseNpy(data, size);
  if (!t) {
    if (t.status().message().empty())
      std::abort(); // every error explains itself
    return 0;
  }
  int64_t n = attune::numElements(t->shape());
  if (n < 0 ||
      static_cast<uint64_t>(n) * attune::dtypeSize(t->dtype()) != t->byteSize())
    std::abort();
  std::vector<uint8_t> again = attune::serializeNpy(*t);
  attune::StatusOr<attune::HostTensor> back =
      attune::parseNpy(again.data(), again.size());
  if (!back || back->shape() != t->shape())
    std::abort();
  return 0;
}
