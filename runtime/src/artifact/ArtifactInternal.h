//===- ArtifactInternal.h - Reader internals for fuzzers --------*- C++ -*-===//
//
// Not installed. The fuzzers reach the metadata verifier and the semantic
// checks without first having to forge CRCs, through these entry points.
//
//===----------------------------------------------------------------------===//

#ifndef ATTUNE_RUNTIME_ARTIFACT_ARTIFACTINTERNAL_H
#define ATTUNE_RUNTIME_ARTIFACT_ARTIFACTINTERNAL_H

#include "attune/artifact/Artifact.h"

namespace attune::artifact::detail {

/// One row of the section table.
struct Section {
  SectionKind kind;
  uint32_t arch;
  uint64_t offset, size;
  uint32_t crc;
};

/// The parsed container header.
struct Container {
  uint16_t major = 0, minor = 0;
  uint64_t headerSize = 0, fileSize = 0;
  std::string compilerVersion;
  uint32_t headerCrc = 0;
  std::vector<Section> sections;
};

/// Parses and checks the container. With `verifyChecksums` false the CRCs
/// are not compared (fuzzing only); every bound is still checked.
Status parseContainer(const uint8_t *data, size_t size, bool verifyChecksums,
                      Container &out);

/// Verifies and converts a metadata flatbuffer (any alignment) into `m`
/// (functions, targets, ...); sections are not touched.
Status parseMetadata(const uint8_t *data, size_t size, ModuleDesc &m);

/// describe() of a module read from [data, data + size) (size 0: of the
/// module serialized).
std::string describe(const ModuleDesc &m, const uint8_t *data, size_t size);

/// readArtifact with an option to skip the CRC comparison (fuzzing only).
StatusOr<ModuleDesc> readArtifactImpl(const uint8_t *data, size_t size,
                                      bool verifyChecksums);

} // namespace attune::artifact::detail

#endif // ATTUNE_RUNTIME_ARTIFACT_ARTIFACTINTERNAL_H
