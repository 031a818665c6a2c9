//===- Common.cpp - Shared helpers of the CPU kernel families -------------===//

#include "Common.h"

#include <cstdio>

namespace attune::cpu {

int formatError(char *error, size_t capacity, int code, const char *fmt, ...) {
  if (error && capacity > 0) {
    va_list ap;
    va_start(ap, fmt);
    std::vsnprintf(error, capacity, fmt, ap);
    va_end(ap);
  }
  return code;
}

} // namespace attune::cpu
