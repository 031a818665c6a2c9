//===- Gemm.cpp - Per-thread buffers of the GEMM engine -------------------===//

#include "Gemm.h"

namespace attune::cpu::gemm {

namespace {
struct Slots {
  float *p[8] = {};
  int64_t cap[8] = {};
  ~Slots() {
    for (float *q : p)
      std::free(q);
  }
};
thread_local Slots tlsSlots;
} // namespace

float *scratch(int slot, int64_t floats) {
  Slots &s = tlsSlots;
  if (floats < 1)
    floats = 1;
  if (s.cap[slot] < floats) {
    std::free(s.p[slot]);
    size_t bytes = static_cast<size_t>(roundUp(floats * 4, 64));
    s.p[slot] = static_cast<float *>(std::aligned_alloc(64, bytes));
    s.cap[slot] = s.p[slot] ? floats : 0;
  }
  return s.p[slot];
}

} // namespace attune::cpu::gemm
