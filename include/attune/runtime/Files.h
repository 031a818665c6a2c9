//===- Files.h - Reading whole files ----------------------------*- C++ -*-===//

#ifndef ATTUNE_RUNTIME_FILES_H
#define ATTUNE_RUNTIME_FILES_H

#include "attune/runtime/Status.h"

#include <cstdint>
#include <string>
#include <vector>

namespace attune {

/// Reads a whole file. A missing file is NotFound, any other failure an
/// IoError; the message names the path and the system's reason.
StatusOr<std::vector<uint8_t>> readFileBytes(const std::string &path);

} // namespace attune

#endif // ATTUNE_RUNTIME_FILES_H
