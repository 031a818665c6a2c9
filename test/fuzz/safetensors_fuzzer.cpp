// Fuzzes the safetensors parser: any input is parsed without a crash, leak
// or UB; every tensor of an accepted file can be read, and writing the
// tensors and metadata back gives a file that parses to the same tensors.
#include "attune/runtime/TensorIO.h"

#include <cstdlib>
#include <cstring>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  attune::StatusOr<attune::SafeTensors> st =
      attune::SafeTensors::parse(std::vector<uint8_t>(data, data + size));
  if (!st) {
    if (st.status().message().empty())
      std::abort(); // every error explains itself
    return 0;
  }
  std::vector<std::pair<std::string, attune::HostTensor>> tensors;
  for (const std::string &name : st->names()) {
    attune::StatusOr<attune::HostTensor> t = st->get(name);
    if (!t)
      std::abort();
    tensors.emplace_back(name, std::move(*t));
  }
  (void)st->get("\x01missing");
  std::vector<uint8_t> again =
      attune::serializeSafeTensors(tensors, st->metadata());
  attune::StatusOr<attune::SafeTensors> back =
      attune::SafeTensors::parse(std::move(again));
  if (!back || back->metadata() != st->metadata() ||
      back->names().size() != tensors.size())
    std::abort();
  for (const auto &[name, t] : tensors) {
    attune::StatusOr<attune::HostTensor> u = back->get(name);
    if (!u || u->dtype() != t.dtype() || u->shape() != t.shape() ||
        u->byteSize() != t.byteSize() ||
        (t.byteSize() && std::memcmp(u->data(), t.data(), t.byteSize()) != 0))
      std::abort();
  }
  return 0;
}
