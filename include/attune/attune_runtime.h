/*===- attune_runtime.h - The Attune runtime C API ------------------*- C
 *-*-===//
 *
 * Load a compiled module (.atm artifact), create a session for one of its
 * functions, bind weights and inputs, run, read the results.
 *
 * Devices: a session runs on the CPU (the artifact's cpu target) or on a
 * CUDA GPU (its cuda target), chosen by attune_session_options. The runtime
 * opens the NVIDIA driver (libcuda.so.1) only when asked for the cuda device
 * or a probe, and needs neither it nor the CUDA toolkit otherwise.
 *
 * Conventions
 *   - Objects are opaque handles; functions are attune_<object>_<verb>.
 *   - Fallible calls return an attune_status; ATTUNE_OK (0) is success.
 *     After a failure, attune_last_error_message() returns the message of
 *     that failure: it is per thread, and stays valid until the next failing
 *     call on the same thread (successful calls do not change it).
 *   - Outputs come last and are named out_*; on failure they are left
 *     unchanged.
 *   - Ownership: the caller owns what *_create returns and releases it with
 *     the matching *_destroy (NULL is accepted and ignored). Pointers into an
 *     object (names, shapes, result data) are borrowed: they stay valid while
 *     that object lives (result views: until the next run of the session).
 *     A session keeps its module alive: a module may be destroyed while
 *     sessions created from it still exist.
 *   - Threads: a module is immutable after creation and may be used from
 *     any number of threads. A session is not thread-safe, but separate
 *     sessions (of one module or several) run concurrently from separate
 *     threads.
 *
 *===----------------------------------------------------------------------===*/

#ifndef ATTUNE_ATTUNE_RUNTIME_H
#define ATTUNE_ATTUNE_RUNTIME_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Status codes (mirror attune::StatusCode). */
typedef enum attune_status {
  ATTUNE_OK = 0,
  ATTUNE_INVALID_ARGUMENT = 1,   /* malformed request: bad name, dtype, shape */
  ATTUNE_NOT_FOUND = 2,          /* a file, function, argument or result */
  ATTUNE_OUT_OF_RANGE = 3,       /* an index outside its bounds, a bad id */
  ATTUNE_DATA_LOSS = 4,          /* a truncated or corrupt file */
  ATTUNE_UNIMPLEMENTED = 5,      /* unsupported version, target or CPU */
  ATTUNE_INTERNAL = 6,           /* a kernel or runtime invariant failed */
  ATTUNE_IO_ERROR = 7,           /* the operating system refused */
  ATTUNE_FAILED_PRECONDITION = 8 /* e.g. results read before any run */
} attune_status;

/* Element types; the codes are stable and follow the order of attune::DType. */
typedef enum attune_dtype {
  ATTUNE_DTYPE_F64 = 0,
  ATTUNE_DTYPE_F32 = 1,
  ATTUNE_DTYPE_F16 = 2,
  ATTUNE_DTYPE_BF16 = 3,
  ATTUNE_DTYPE_I64 = 4,
  ATTUNE_DTYPE_I32 = 5,
  ATTUNE_DTYPE_I16 = 6,
  ATTUNE_DTYPE_I8 = 7,
  ATTUNE_DTYPE_U8 = 8,
  ATTUNE_DTYPE_BOOL = 9 /* one byte, 0 or 1 */
} attune_dtype;

typedef struct attune_module attune_module;
typedef struct attune_function attune_function; /* borrowed from a module */
typedef struct attune_session attune_session;

/* The signature of one argument or result. */
typedef struct attune_tensor_info {
  const char *name;
  attune_dtype dtype;
  size_t rank;
  const int64_t *shape; /* rank dims */
  size_t byte_size;     /* elements * dtype size */
} attune_tensor_info;

/* A result of the last run: borrowed, valid until the next run. */
typedef struct attune_tensor_view {
  const char *name;
  attune_dtype dtype;
  size_t rank;
  const int64_t *shape;
  const void *data;
  size_t byte_size;
} attune_tensor_view;

/* Where a session runs. */
typedef enum attune_device {
  ATTUNE_DEVICE_CPU = 0, /* the artifact's cpu target, on a thread pool */
  ATTUNE_DEVICE_CUDA = 1 /* the artifact's cuda target, on an NVIDIA GPU */
} attune_device;

typedef struct attune_session_options {
  /* Worker threads of the session's pool, the calling thread included;
   * 0 = the number of hardware threads. Unused on the cuda device. */
  uint32_t num_threads;
  /* The device; ATTUNE_DEVICE_CPU by default (also when the struct is
   * zero-initialized). */
  attune_device device;
  /* The CUDA device ordinal (as CUDA_VISIBLE_DEVICES numbers them) for
   * ATTUNE_DEVICE_CUDA; default 0. */
  int32_t cuda_device;
} attune_session_options;

/*===---------------------------------------------------------------------===*
 * Errors and versions
 *===---------------------------------------------------------------------===*/

/* Message of the last failing call on this thread ("" if none). */
const char *attune_last_error_message(void);
/* "OK", "INVALID_ARGUMENT", ... */
const char *attune_status_name(attune_status status);
/* "f32", "bf16", ...; "?" for an invalid code. */
const char *attune_dtype_name(attune_dtype dtype);
/* Bytes of one element; 0 for an invalid code. */
size_t attune_dtype_size(attune_dtype dtype);
/* The kernel ABI version this runtime runs (ATTUNE_KERNEL_ABI_VERSION). */
uint32_t attune_runtime_kernel_abi_version(void);

/*===---------------------------------------------------------------------===*
 * Modules
 *===---------------------------------------------------------------------===*/

/* Reads, verifies and loads an artifact: checksums, metadata, kernel ABI
 * version, CPU features, and every kernel, check and hook symbol. */
attune_status attune_module_create_from_file(const char *path,
                                             attune_module **out_module);
/* As above from memory; the bytes are copied and need not outlive the call. */
attune_status attune_module_create_from_memory(const void *data, size_t size,
                                               attune_module **out_module);
void attune_module_destroy(attune_module *module);

/* Human-readable description (header, sections, functions, launches); the
 * string is owned by the module. */
const char *attune_module_describe(const attune_module *module);

size_t attune_module_function_count(const attune_module *module);
attune_status attune_module_function(const attune_module *module, size_t index,
                                     const attune_function **out_function);
attune_status attune_module_find_function(const attune_module *module,
                                          const char *name,
                                          const attune_function **out_function);

const char *attune_function_name(const attune_function *function);
size_t attune_function_argument_count(const attune_function *function);
size_t attune_function_result_count(const attune_function *function);
attune_status attune_function_argument(const attune_function *function,
                                       size_t index,
                                       attune_tensor_info *out_info);
attune_status attune_function_result(const attune_function *function,
                                     size_t index,
                                     attune_tensor_info *out_info);

/*===---------------------------------------------------------------------===*
 * Sessions
 *===---------------------------------------------------------------------===*/

/* Defaults: num_threads = 0, device = ATTUNE_DEVICE_CPU, cuda_device = 0. */
void attune_session_options_init(attune_session_options *options);

/* Whether CUDA devices can be used: ATTUNE_OK with their number in
 * `out_device_count` (may be NULL), or an error whose message is one line
 * saying why not (the driver libcuda.so.1 is not found, cuInit failed, e.g.
 * with the toolkit's stub library or no device, or the driver reports no
 * devices). The driver is opened once per process. */
attune_status attune_cuda_probe(int *out_device_count);

/* A session for the function named `function_name` (NULL: the module's
 * only function; an error names the choices when there are several).
 * `options` may be NULL. Allocates the arena, argument and result buffers,
 * starts the thread pool and runs every launch's check.
 *
 * On ATTUNE_DEVICE_CUDA the module must have been compiled for cuda (else
 * an error says for what it was compiled); the session loads the module's
 * CUDA code on the device (once per module and device: the cubin for the
 * device's compute capability, else its PTX through the driver's JIT),
 * resolves every kernel and checks every launch's geometry and shared
 * memory against the device, and allocates its buffers in device memory.
 * Without a usable driver or device it fails with attune_cuda_probe's
 * message. */
attune_status attune_session_create(attune_module *module,
                                    const char *function_name,
                                    const attune_session_options *options,
                                    attune_session **out_session);
void attune_session_destroy(attune_session *session);

const attune_function *attune_session_function(const attune_session *session);

/* Binds every tensor of a safetensors file whose name matches an argument
 * (others are ignored); a dtype or shape mismatch is an error naming the
 * argument, expected and got. `out_bound` (may be NULL) receives the number
 * of arguments bound. */
attune_status attune_session_bind_weights_file(attune_session *session,
                                               const char *path,
                                               size_t *out_bound);
attune_status attune_session_bind_weights_memory(attune_session *session,
                                                 const void *data, size_t size,
                                                 size_t *out_bound);

/* Copies a caller buffer into the named argument. dtype, rank and shape
 * must equal the argument's and byte_size its size; errors name the
 * argument, expected and got. */
attune_status attune_session_set_input(attune_session *session,
                                       const char *name, attune_dtype dtype,
                                       const int64_t *shape, size_t rank,
                                       const void *data, size_t byte_size);

/* 1 when argument `index` has been set or bound, else 0 (also for an index
 * out of range). */
int attune_session_argument_bound(const attune_session *session, size_t index);

/* Runs the function. Every argument must be bound (an error names the first
 * unbound one and its type). A kernel error stops the run with
 * "<op> at <location>: <message>"; on cuda, with
 * "launch #<i> (<op> at <location>) of function '<f>': <message>".
 * On cuda, arguments set or bound since the last run are copied to the
 * device first; the results are copied back before the call returns. */
attune_status attune_session_run(attune_session *session);

/* Runs the function `iterations` (>= 1) times with the inputs currently
 * bound and returns the median and the minimum time of one run in
 * milliseconds (either output may be NULL). On cuda each run is timed on
 * the device with CUDA events; inputs are copied to the device once before
 * the first run and results back after the last, not between runs. On cpu
 * each run is timed with a steady clock. The results of the last run are
 * then readable as after attune_session_run. */
attune_status attune_session_time_runs(attune_session *session,
                                       uint32_t iterations,
                                       double *out_median_ms,
                                       double *out_min_ms);

size_t attune_session_result_count(const attune_session *session);
attune_status attune_session_find_result(const attune_session *session,
                                         const char *name, size_t *out_index);
/* The result of the last successful run. */
attune_status attune_session_result(const attune_session *session, size_t index,
                                    attune_tensor_view *out_view);
/* Copies a result out; `byte_size` must be at least the result's size. */
attune_status attune_session_copy_result(const attune_session *session,
                                         size_t index, void *dst,
                                         size_t byte_size);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* ATTUNE_ATTUNE_RUNTIME_H */
