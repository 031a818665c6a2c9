//===- Files.cpp - Reading whole files ------------------------------------===//

#include "attune/runtime/Files.h"

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace attune {

StatusOr<std::vector<uint8_t>> readFileBytes(const std::string &path) {
  errno = 0;
  std::FILE *f = std::fopen(path.c_str(), "rb");
  if (!f) {
    int err = errno;
    std::string why = std::strerror(err);
    if (err == ENOENT)
      return notFound("cannot open '" + path + "': " + why);
    return ioError("cannot open '" + path + "': " + why);
  }
  std::vector<uint8_t> bytes;
  uint8_t buf[1 << 16];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0)
    bytes.insert(bytes.end(), buf, buf + n);
  bool failed = std::ferror(f) != 0;
  std::fclose(f);
  if (failed)
    return ioError("error while reading '" + path + "'");
  return bytes;
}

} // namespace attune
