//===- Embedding.cpp - embedding family -----------------------------------===//
//
// y[i, :] = table[ids[i], :]; one work item per id (grid N). An id outside
// [0, V) is OUT_OF_RANGE naming its position and value.
//
//===----------------------------------------------------------------------===//

#include "ElementwiseMath.h"

namespace attune::cpu {
namespace {

template <typename T>
int embeddingCheck(const attune_kernel_args *a, int64_t *grid, char *err,
                   size_t cap) {
  const char *f = "embedding";
  ATTUNE_TRY(checkCounts(a, f, 3, ATTUNE_EMB_NUM_FIXED, 0, err, cap));
  ATTUNE_TRY(checkNonNegative(a->ints, 3, f, "N V D", err, cap));
  const int64_t N = a->ints[ATTUNE_EMB_N], V = a->ints[ATTUNE_EMB_V],
                D = a->ints[ATTUNE_EMB_D], bits = a->ints[ATTUNE_EMB_ID_BITS];
  if (bits != 32 && bits != 64)
    return formatError(err, cap, ATTUNE_KERNEL_INVALID_ARGUMENT,
                       "%s: id_bits = %lld; expected 32 or 64", f,
                       (long long)bits);
  int64_t vd, nd;
  if (!mulSize(V, D, vd) || !mulSize(N, D, nd))
    return formatError(err, cap, ATTUNE_KERNEL_INVALID_ARGUMENT,
                       "%s: sizes overflow", f);
  ATTUNE_TRY(checkBuffer(a, 0, f, "ids [N]", N, bits / 8, err, cap));
  ATTUNE_TRY(checkBuffer(a, 1, f, "table [V,D]", vd, sizeof(T), err, cap));
  ATTUNE_TRY(checkBuffer(a, 2, f, "y [N,D]", nd, sizeof(T), err, cap));
  *grid = N;
  return ATTUNE_KERNEL_OK;
}

template <typename T>
int embeddingKernel(const attune_kernel_args *a, attune_kernel_ctx *ctx,
                    int64_t begin, int64_t end) {
  const int64_t V = a->ints[ATTUNE_EMB_V], D = a->ints[ATTUNE_EMB_D],
                bits = a->ints[ATTUNE_EMB_ID_BITS];
  const T *table = static_cast<const T *>(a->buffers[1]);
  T *y = static_cast<T *>(a->buffers[2]);
  for (int64_t i = begin; i < end; ++i) {
    const int64_t id = loadInt(a->buffers[0], bits, i);
    if (id < 0 || id >= V)
      return formatError(ctx->error, ctx->error_capacity,
                         ATTUNE_KERNEL_OUT_OF_RANGE,
                         "embedding: id %lld at position %lld is outside the "
                         "table's [0, %lld)",
                         (long long)id, (long long)i, (long long)V);
    std::memcpy(y + i * D, table + id * D, sizeof(T) * D);
  }
  return ATTUNE_KERNEL_OK;
}

} // namespace
} // namespace attune::cpu

using namespace attune::cpu;
ATTUNE_EXPORT_TYPED(embedding, embeddingKernel, embeddingCheck)
