/*===- main.c - The Attune runtime from C ---------------------------------===//
 *
 * attune-c-example MODEL.atm [--function F] [--weights W.safetensors]...
 *   [NAME=FILE.bin]...
 *
 * Loads an artifact, lists its functions with their arguments and results,
 * then runs one function: each argument comes from a raw little-endian file
 * given as NAME=FILE.bin (exactly the argument's byte size), from a weights
 * file, or is zero-filled. Prints each result's type and first values.
 * Uses only attune_runtime.h.
 *
 *===----------------------------------------------------------------------===*/

#include "attune/attune_runtime.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(const char *what) {
  fprintf(stderr, "attune-c-example: %s: %s\n", what,
          attune_last_error_message());
  return 1;
}

static void printInfo(const char *kind, const attune_tensor_info *t) {
  printf("    %s %s: %s[", kind, t->name, attune_dtype_name(t->dtype));
  for (size_t d = 0; d < t->rank; ++d)
    printf("%s%lld", d ? ", " : "", (long long)t->shape[d]);
  printf("]\n");
}

/* Element i of a result as a double (16-bit floats decoded by hand). */
static double element(const attune_tensor_view *v, size_t i) {
  const unsigned char *p = (const unsigned char *)v->data;
  switch (v->dtype) {
  case ATTUNE_DTYPE_F64: {
    double x;
    memcpy(&x, p + 8 * i, 8);
    return x;
  }
  case ATTUNE_DTYPE_F32: {
    float x;
    memcpy(&x, p + 4 * i, 4);
    return x;
  }
  case ATTUNE_DTYPE_BF16: {
    uint16_t h;
    uint32_t u;
    float x;
    memcpy(&h, p + 2 * i, 2);
    u = (uint32_t)h << 16;
    memcpy(&x, &u, 4);
    return x;
  }
  case ATTUNE_DTYPE_F16: {
    uint16_t h;
    memcpy(&h, p + 2 * i, 2);
    int e = (h >> 10) & 31, m = h & 1023;
    double s = (h & 0x8000) ? -1 : 1;
    if (e == 0)
      return s * ldexp(m, -24);
    if (e == 31)
      return m ? NAN : s * INFINITY;
    return s * ldexp(m + 1024, e - 25);
  }
  case ATTUNE_DTYPE_I64: {
    int64_t x;
    memcpy(&x, p + 8 * i, 8);
    return (double)x;
  }
  case ATTUNE_DTYPE_I32: {
    int32_t x;
    memcpy(&x, p + 4 * i, 4);
    return x;
  }
  case ATTUNE_DTYPE_I16: {
    int16_t x;
    memcpy(&x, p + 2 * i, 2);
    return x;
  }
  case ATTUNE_DTYPE_I8:
    return (int8_t)p[i];
  case ATTUNE_DTYPE_U8:
  case ATTUNE_DTYPE_BOOL:
    return p[i];
  }
  return 0;
}

/* Reads a whole file into a malloc'ed buffer. */
static void *readFile(const char *path, size_t *size) {
  FILE *f = fopen(path, "rb");
  if (!f)
    return NULL;
  size_t cap = 1 << 16, n = 0, got;
  unsigned char *buf = malloc(cap);
  while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
    n += got;
    if (n == cap) {
      unsigned char *bigger = realloc(buf, cap *= 2);
      if (!bigger) {
        free(buf);
        buf = NULL;
      }
      buf = bigger;
    }
  }
  fclose(f);
  *size = n;
  return buf;
}

int main(int argc, char **argv) {
  const char *model = NULL, *function = NULL;
  int first = argc;
  for (int i = 1; i < argc; ++i) {
    if (strcmp(argv[i], "--function") == 0 && i + 1 < argc)
      function = argv[++i];
    else if (strcmp(argv[i], "--weights") == 0 && i + 1 < argc)
      ++i; /* bound after the session exists */
    else if (!model && strchr(argv[i], '=') == NULL && argv[i][0] != '-')
      model = argv[i];
    else if (strchr(argv[i], '=') != NULL && first == argc)
      first = i;
  }
  if (!model) {
    fprintf(stderr, "usage: attune-c-example MODEL.atm [--function F] "
                    "[--weights W.safetensors]... [NAME=FILE.bin]...\n");
    return 2;
  }

  attune_module *module = NULL;
  if (attune_module_create_from_file(model, &module) != ATTUNE_OK)
    return fail("loading the module");
  size_t nfn = attune_module_function_count(module);
  printf("%s: %zu function(s)\n", model, nfn);
  for (size_t f = 0; f < nfn; ++f) {
    const attune_function *fn = NULL;
    if (attune_module_function(module, f, &fn) != ATTUNE_OK)
      return fail("listing functions");
    printf("  %s\n", attune_function_name(fn));
    for (size_t i = 0; i < attune_function_argument_count(fn); ++i) {
      attune_tensor_info t;
      if (attune_function_argument(fn, i, &t) == ATTUNE_OK)
        printInfo("argument", &t);
    }
    for (size_t i = 0; i < attune_function_result_count(fn); ++i) {
      attune_tensor_info t;
      if (attune_function_result(fn, i, &t) == ATTUNE_OK)
        printInfo("result", &t);
    }
  }

  attune_session_options options;
  attune_session_options_init(&options);
  attune_session *session = NULL;
  if (attune_session_create(module, function, &options, &session) !=
      ATTUNE_OK) {
    attune_module_destroy(module);
    return fail("creating the session");
  }
  attune_module_destroy(module); /* the session keeps it alive */
  const attune_function *fn = attune_session_function(session);
  int rc = 0;

  for (int i = 1; i < argc && rc == 0; ++i)
    if (strcmp(argv[i], "--weights") == 0 && i + 1 < argc) {
      size_t bound = 0;
      if (attune_session_bind_weights_file(session, argv[++i], &bound) !=
          ATTUNE_OK)
        rc = fail("binding weights");
      else
        printf("bound %zu weights from %s\n", bound, argv[i]);
    }
  for (int i = first; i < argc && rc == 0; ++i) {
    char *eq = strchr(argv[i], '=');
    if (!eq || argv[i][0] == '-')
      continue;
    *eq = '\0';
    const char *name = argv[i], *path = eq + 1;
    for (size_t a = 0; a < attune_function_argument_count(fn); ++a) {
      attune_tensor_info t;
      if (attune_function_argument(fn, a, &t) != ATTUNE_OK ||
          strcmp(t.name, name) != 0)
        continue;
      size_t size = 0;
      void *data = readFile(path, &size);
      if (!data) {
        fprintf(stderr, "attune-c-example: cannot read '%s'\n", path);
        rc = 1;
      } else if (attune_session_set_input(session, name, t.dtype, t.shape,
                                          t.rank, data, size) != ATTUNE_OK) {
        rc = fail(path);
      }
      free(data);
    }
  }
  /* Zeros for everything still unbound. */
  for (size_t a = 0; a < attune_function_argument_count(fn) && rc == 0; ++a) {
    attune_tensor_info t;
    if (attune_function_argument(fn, a, &t) != ATTUNE_OK ||
        attune_session_argument_bound(session, a))
      continue;
    void *zeros = calloc(t.byte_size ? t.byte_size : 1, 1);
    if (!zeros ||
        attune_session_set_input(session, t.name, t.dtype, t.shape, t.rank,
                                 zeros, t.byte_size) != ATTUNE_OK)
      rc = zeros ? fail(t.name) : 1;
    else
      printf("%s: zeros\n", t.name);
    free(zeros);
  }
  if (rc == 0 && attune_session_run(session) != ATTUNE_OK)
    rc = fail("running");
  for (size_t r = 0; rc == 0 && r < attune_session_result_count(session); ++r) {
    attune_tensor_view v;
    if (attune_session_result(session, r, &v) != ATTUNE_OK) {
      rc = fail("reading a result");
      break;
    }
    size_t n = attune_dtype_size(v.dtype)
                   ? v.byte_size / attune_dtype_size(v.dtype)
                   : 0;
    printf("%s: %s[", v.name, attune_dtype_name(v.dtype));
    for (size_t d = 0; d < v.rank; ++d)
      printf("%s%lld", d ? ", " : "", (long long)v.shape[d]);
    printf("]");
    for (size_t i = 0; i < n && i < 8; ++i)
      printf(" %g", element(&v, i));
    printf("%s\n", n > 8 ? " ..." : "");
  }
  attune_session_destroy(session);
  return rc;
}
