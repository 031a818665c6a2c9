//===- Common.h - Shared helpers of the CPU kernel families -----*- C++ -*-===//
//
// Storage types and their f32 conversions, parameter access with bounds
// checks, and error reporting in the form the runtime expects
// (include/attune/abi/KernelABI.h). Header-only apart from formatError.
//
//===----------------------------------------------------------------------===//

#ifndef ATTUNE_CPU_KERNELS_COMMON_H
#define ATTUNE_CPU_KERNELS_COMMON_H

#include "attune/abi/Families.h"
#include "attune/abi/KernelABI.h"

#include <cstdarg>
#include <cstdint>
#include <cstring>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

/// Every family exports attune_cpu_<family>_{f32,bf16,f16} and their _check
/// companions this way.
#define ATTUNE_KEXPORT extern "C" __attribute__((visibility("default")))

/// Exports attune_cpu_<family>_{f32,bf16,f16} and their _check companions
/// from templates impl<T>(args, ctx, begin, end) and check<T>(args, grid,
/// error, capacity).
#define ATTUNE_EXPORT_TYPED_ONE(family, sfx, T, impl, check)                   \
  ATTUNE_KEXPORT int attune_cpu_##family##_##sfx(const attune_kernel_args *a,  \
                                                 attune_kernel_ctx *c,         \
                                                 int64_t b, int64_t e) {       \
    return impl<T>(a, c, b, e);                                                \
  }                                                                            \
  ATTUNE_KEXPORT int attune_cpu_##family##_##sfx##_check(                      \
      const attune_kernel_args *a, int64_t *g, char *err, size_t cap) {        \
    return check<T>(a, g, err, cap);                                           \
  }
#define ATTUNE_EXPORT_TYPED(family, impl, check)                               \
  ATTUNE_EXPORT_TYPED_ONE(family, f32, float, impl, check)                     \
  ATTUNE_EXPORT_TYPED_ONE(family, bf16, ::attune::cpu::bf16, impl, check)      \
  ATTUNE_EXPORT_TYPED_ONE(family, f16, ::attune::cpu::f16, impl, check)

namespace attune::cpu {

/// bf16 and f16 storage: 16 raw bits.
struct bf16 {
  uint16_t bits;
};
struct f16 {
  uint16_t bits;
};

inline float toFloat(float x) { return x; }
inline float toFloat(bf16 x) {
  uint32_t u = static_cast<uint32_t>(x.bits) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
inline float toFloat(f16 x) { return _cvtsh_ss(x.bits); }

/// Round to nearest even (NaN stays NaN), as ref::roundOut does.
template <typename T> inline T fromFloat(float x);
template <> inline float fromFloat<float>(float x) { return x; }
template <> inline bf16 fromFloat<bf16>(float x) {
  uint32_t u;
  std::memcpy(&u, &x, 4);
  if ((u & 0x7fffffffu) > 0x7f800000u) // NaN: keep it quiet, keep the sign
    return bf16{static_cast<uint16_t>((u >> 16) | 0x40)};
  u += 0x7fffu + ((u >> 16) & 1u);
  return bf16{static_cast<uint16_t>(u >> 16)};
}
template <> inline f16 fromFloat<f16>(float x) {
  return f16{static_cast<uint16_t>(_cvtss_sh(x, _MM_FROUND_TO_NEAREST_INT))};
}

/// Reads an integer id of `bits` (32 or 64) at index i.
inline int64_t loadInt(const void *p, int64_t bits, int64_t i) {
  return bits == 32 ? static_cast<const int32_t *>(p)[i]
                    : static_cast<const int64_t *>(p)[i];
}

/// Writes "fmt..." into (error, capacity), always NUL-terminated; returns
/// `code` so that callers can `return fail(...)`.
int formatError(char *error, size_t capacity, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/// Checked a*b for sizes: false on overflow or a negative factor.
inline bool mulSize(int64_t a, int64_t b, int64_t &out) {
  if (a < 0 || b < 0)
    return false;
  return !__builtin_mul_overflow(a, b, &out);
}

/// True when buffer i is present and holds at least `elems` elements of
/// `elemBytes` bytes each (overflow-safe).
inline bool holds(const attune_kernel_args *a, int64_t i, int64_t elems,
                  int64_t elemBytes) {
  int64_t bytes;
  if (i >= a->num_buffers || !a->buffers[i] || !mulSize(elems, elemBytes, bytes))
    return false;
  return a->sizes[i] >= static_cast<uint64_t>(bytes);
}

} // namespace attune::cpu

#endif // ATTUNE_CPU_KERNELS_COMMON_H
