/*===- PtxEmu.h - A PTX interpreter for testing kernels without a GPU ----===//
 *
 * ptxemu runs the PTX that attune-compile's cuda target emits on the host,
 * one CTA at a time, so that the GPU kernels are checked against the
 * reference evaluator on machines without a GPU (CI included). It is test
 * infrastructure: the fake driver (test/unit/runtime/FakeCudaDriver.c, mode
 * "ptx") loads modules and launches kernels through this C API, and the
 * runtime's CUDA device runs on top of it unchanged.
 *
 * What it models (the PTX ISA's semantics, not an SM's timing):
 *   - every thread has its own registers and program counter; a thread runs
 *     until it reaches a warp collective (mma.sync, ldmatrix, shfl.sync),
 *     a CTA barrier or its end. A collective executes once every live
 *     thread of the warp waits at that same instruction; a barrier releases
 *     once every live thread of the CTA waits at it. Threads of one warp
 *     waiting at different collectives, or a CTA that can make no progress,
 *     is an error (hardware would hang or be undefined).
 *   - cp.async reads its source when issued and fills the destination with
 *     a NaN pattern; the data lands when cp.async.wait_group retires its
 *     group. Reading a destination before the wait therefore reads NaN.
 *   - shared memory starts as the NaN pattern too. Accesses are checked
 *     against their state space: global addresses against the live device
 *     allocations (the fake driver's) and the module's globals, shared
 *     against the CTA's static + dynamic size, local against the frame.
 *   - racecheck: two accesses to the same shared byte from different warps
 *     between the same pair of barriers, at least one of them a write, are
 *     an error.
 *
 * Approximate instructions (ex2.approx, rcp.approx, ...) use the host's
 * correctly rounded functions: results can differ from a GPU's in the last
 * bits, never in behavior. The supported subset is what the NVPTX backend
 * emits for our kernels; anything else fails at load with the line and
 * the instruction named.
 *
 *===----------------------------------------------------------------------===*/

#ifndef ATTUNE_TEST_PTXEMU_PTXEMU_H
#define ATTUNE_TEST_PTXEMU_PTXEMU_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ptxemu_module ptxemu_module;

/* Parses PTX text. On failure returns NULL and writes the reason to log. */
ptxemu_module *ptxemu_load(const char *ptx, char *log, size_t log_size);
void ptxemu_unload(ptxemu_module *m);

typedef struct ptxemu_kernel_info {
  int index;                /* for ptxemu_launch */
  int num_params;
  int param_sizes[64];      /* bytes of each .param, in order */
  int param_offsets[64];    /* offset of each in the packed buffer */
  int params_bytes;         /* size of the packed buffer */
  int static_shared_bytes;  /* .shared variables, module and function */
  int max_threads;          /* .maxntid product, or 1024 */
} ptxemu_kernel_info;

/* 0 and fills info if the module has an .entry of that name, else -1. */
int ptxemu_find_kernel(const ptxemu_module *m, const char *name,
                       ptxemu_kernel_info *info);

/* Says whether [addr, addr + size) lies in memory a kernel may access
 * through a global address (the caller's device allocations). */
typedef int (*ptxemu_global_check)(uint64_t addr, uint64_t size, void *ctx);

/* Runs a kernel to completion. params: the packed parameter buffer laid out
 * as ptxemu_kernel_info says. threads: host threads to spread CTAs over (0:
 * the machine's cores). Returns 0, or -1 with the first error (which
 * thread, which PTX line, what was wrong) in err. */
int ptxemu_launch(ptxemu_module *m, int kernel, const unsigned grid[3],
                  const unsigned block[3], unsigned dynamic_shared,
                  const void *params, ptxemu_global_check check,
                  void *check_ctx, int threads, char *err, size_t err_size);

#ifdef __cplusplus
}
#endif

#endif /* ATTUNE_TEST_PTXEMU_PTXEMU_H */
