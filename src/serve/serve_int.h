/* serve_int.h: helpers shared by the files of src/serve/. */
#ifndef SWARM_SERVE_INT_H
#define SWARM_SERVE_INT_H

#include <stddef.h>

/* A malloc'd copy of s[0..n) with every invalid UTF-8 byte (and NUL)
 * replaced by U+FFFD, so that any text can go into a JSON string; NULL
 * when out of memory. */
char *sw_utf8_clean(const char *s, size_t n);

#endif
