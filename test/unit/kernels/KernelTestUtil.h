//===- KernelTestUtil.h - Calling CPU kernel families from tests -*- C++ -*-===//
//
// Builds attune_kernel_args from HostTensors, runs a family's _check and then
// the kernel over its grid on several threads (as the runtime does: disjoint
// ranges, one ctx per thread), and converts between RefTensor and storage.
//
//===----------------------------------------------------------------------===//

#ifndef ATTUNE_TEST_UNIT_KERNELS_KERNELTESTUTIL_H
#define ATTUNE_TEST_UNIT_KERNELS_KERNELTESTUTIL_H

#include "attune/Reference/Kernels.h"
#include "attune/abi/Families.h"
#include "attune/abi/KernelABI.h"
#include "attune/runtime/HostTensor.h"

#include <algorithm>
#include <string>
#include <thread>
#include <vector>

/// Declarations of family symbols: they have no header (the runtime finds
/// them by name in the artifact's shared object).
#define ATTUNE_DECLARE_KERNEL(sym)                                             \
  extern "C" int sym(const attune_kernel_args *, attune_kernel_ctx *, int64_t, \
                     int64_t);                                                 \
  extern "C" int sym##_check(const attune_kernel_args *, int64_t *, char *,    \
                             size_t);
#define ATTUNE_DECLARE_TYPED(family)                                           \
  ATTUNE_DECLARE_KERNEL(attune_cpu_##family##_f32)                             \
  ATTUNE_DECLARE_KERNEL(attune_cpu_##family##_bf16)                            \
  ATTUNE_DECLARE_KERNEL(attune_cpu_##family##_f16)

namespace attune::kernels::testing {

/// One launch: buffers (a null HostTensor pointer = absent optional buffer),
/// params, captures and hooks.
struct Launch {
  std::vector<HostTensor *> buffers;
  std::vector<int64_t> ints;
  std::vector<double> floats;
  std::vector<HostTensor *> captures;
  std::vector<void *> hooks;
};

struct RunResult {
  int code = ATTUNE_KERNEL_OK; ///< first failing code (check or kernel)
  std::string message;         ///< its message
  int64_t grid = -1;           ///< from _check
  bool ok() const { return code == ATTUNE_KERNEL_OK; }
};

/// Runs check, then kernel over [0, grid) split into `threads` contiguous
/// ranges (plus a few uneven ones so that range boundaries are exercised).
inline RunResult runKernel(attune_cpu_kernel_fn kernel, attune_cpu_check_fn check,
                           Launch &l, int threads = 3) {
  std::vector<void *> ptrs, caps;
  std::vector<uint64_t> sizes, capSizes;
  for (HostTensor *t : l.buffers) {
    ptrs.push_back(t ? t->data() : nullptr);
    sizes.push_back(t ? t->byteSize() : 0);
  }
  for (HostTensor *t : l.captures) {
    caps.push_back(t->data());
    capSizes.push_back(t->byteSize());
  }
  attune_kernel_args a{};
  a.buffers = ptrs.data();
  a.sizes = sizes.data();
  a.num_buffers = static_cast<int64_t>(ptrs.size());
  a.ints = l.ints.data();
  a.num_ints = static_cast<int64_t>(l.ints.size());
  a.floats = l.floats.data();
  a.num_floats = static_cast<int64_t>(l.floats.size());
  a.captures = caps.data();
  a.capture_sizes = capSizes.data();
  a.num_captures = static_cast<int64_t>(caps.size());
  a.hooks = l.hooks.data();
  a.num_hooks = static_cast<int64_t>(l.hooks.size());

  RunResult r;
  char err[512] = {0};
  r.code = check(&a, &r.grid, err, sizeof err);
  if (r.code != ATTUNE_KERNEL_OK) {
    r.message = err;
    return r;
  }
  int64_t grid = r.grid;
  threads = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(threads, grid)));
  std::vector<int> codes(threads, ATTUNE_KERNEL_OK);
  std::vector<std::string> msgs(threads);
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      char e[512] = {0};
      attune_kernel_ctx ctx{t, threads, e, sizeof e};
      int64_t begin = grid * t / threads, end = grid * (t + 1) / threads;
      if (begin < end)
        codes[t] = kernel(&a, &ctx, begin, end);
      msgs[t] = e;
    });
  }
  for (auto &th : pool)
    th.join();
  for (int t = 0; t < threads; ++t)
    if (codes[t] != ATTUNE_KERNEL_OK) {
      r.code = codes[t];
      r.message = msgs[t];
      break;
    }
  return r;
}

/// A RefTensor stored as `dtype` (rounding).
inline HostTensor toStorage(const ref::RefTensor &t, DType dtype) {
  HostTensor h(dtype, t.shape);
  for (int64_t i = 0; i < t.numElements(); ++i)
    h.setDouble(i, t.data[i]);
  return h;
}

/// A HostTensor read back as a RefTensor of its dtype.
inline ref::RefTensor fromStorage(const HostTensor &h) {
  return ref::RefTensor::fromHost(h);
}

} // namespace attune::kernels::testing

#endif // ATTUNE_TEST_UNIT_KERNELS_KERNELTESTUTIL_H
