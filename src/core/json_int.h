/*
 * json_int.h: the one strict JSON loader every parser of untrusted JSON
 * uses (swarm files, task files, assignment inputs, aggregate inputs,
 * calibration files), so one policy holds everywhere: a size limit, a
 * nesting-depth limit checked before jansson recurses, duplicate keys,
 * NUL bytes, NaN / Infinity and overflowing numbers refused. Never installed.
 */
#ifndef SW_JSON_INT_H
#define SW_JSON_INT_H

#include <jansson.h>

#include "core_int.h"

/* Deepest JSON nesting we accept (every input of ours is flat). */
#define SW_JSON_MAX_DEPTH 64
/* Largest JSON text we parse: the largest input we accept (a dense
 * assignment instance read from stdin, cli/cmd_assign.c) is 512 MiB. */
#define SW_JSON_MAX_BYTES ((size_t)512 << 20)

/*
 * Loads JSON text strictly: longer than SW_JSON_MAX_BYTES refused, nesting
 * deeper than SW_JSON_MAX_DEPTH refused before parsing (jansson would
 * recurse), duplicate keys, NUL bytes (also \u0000), NaN, Infinity and
 * numbers that overflow a double refused, the top level must be an object
 * or an array and nothing may follow it. On failure returns NULL with
 * d->msg "line L column C: ..." (the caller picks the error code).
 */
json_t *sw_json_load_strict(const char *text, size_t len, swarm_diag *d);
/* The same with a caller's size limit (<= SW_JSON_MAX_BYTES applies too). */
json_t *sw_json_load_limited(const char *text, size_t len, size_t max_bytes, swarm_diag *d);
/* Reads path (at most SW_JSON_MAX_BYTES) and loads it strictly; messages
 * are prefixed with the path. */
json_t *sw_json_load_file(const char *path, swarm_diag *d);

/* Human name of a JSON value's type ("a string", "a number", "an array", ...). */
const char *sw_json_type_name(const json_t *v);

#endif /* SW_JSON_INT_H */
