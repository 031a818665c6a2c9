// Fuzzes the artifact reader three ways: as a file (checksums on), as a file
// with checksums off (so that mutations reach the section table, the
// FlatBuffers verifier and the semantic checks), and as a bare metadata
// flatbuffer. No crash, leak or UB; an accepted module describes itself and
// survives a write/read round trip.
#include "artifact/ArtifactInternal.h"

#include <cstdlib>

using namespace attune::artifact;

static void accepted(const ModuleDesc &m) {
  (void)describe(m);
  std::vector<uint8_t> bytes;
  if (!writeArtifact(m, bytes).isOk())
    std::abort(); // the reader accepted what the writer refuses
  attune::StatusOr<ModuleDesc> back = readArtifact(bytes.data(), bytes.size());
  if (!back || back->functions.size() != m.functions.size())
    std::abort();
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  attune::StatusOr<ModuleDesc> m = readArtifact(data, size);
  if (m)
    accepted(*m);
  else if (m.status().message().empty())
    std::abort();
  attune::StatusOr<ModuleDesc> unchecked =
      detail::readArtifactImpl(data, size, /*verifyChecksums=*/false);
  if (unchecked)
    accepted(*unchecked);
  ModuleDesc meta;
  if (detail::parseMetadata(data, size, meta).isOk() && validate(meta).isOk())
    (void)describe(meta);
  return 0;
}
