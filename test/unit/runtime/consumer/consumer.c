/* Uses the C API of an installed runtime: a corrupt module is refused with a
 * message. */
#include <attune/attune_runtime.h>

#include <stdio.h>
#include <string.h>

int consumer_cpp(void);

int main(void) {
  attune_module *m = NULL;
  const char junk[] = "not an artifact";
  attune_status s = attune_module_create_from_memory(junk, sizeof(junk), &m);
  if (s != ATTUNE_INVALID_ARGUMENT || m != NULL ||
      strstr(attune_last_error_message(), "not an Attune artifact") == NULL) {
    fprintf(stderr, "unexpected: %s: %s\n", attune_status_name(s),
            attune_last_error_message());
    return 1;
  }
  return consumer_cpp();
}
