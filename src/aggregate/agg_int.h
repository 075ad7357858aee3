/*
 * agg_int.h: aggregate internals shared with the plan module: the strict
 * JSON reading of an aggregation spec (the same object in `swarm aggregate`
 * input and in a task's "aggregation") and a nesting-depth pre-check.
 */
#ifndef SW_AGG_INT_H
#define SW_AGG_INT_H

#include <jansson.h>
#include <stdbool.h>

#include "../core/core_int.h"
#include "swarm/aggregate.h"

/* Deepest JSON nesting we accept (task files and aggregate inputs are flat). */
#define SW_JSON_MAX_DEPTH 64

/*
 * Reads the spec keys of obj (method, decide, weighting, top_k, inner,
 * outer) into *out, starting from swarm_agg_spec_default(). Keys not in that
 * list are left for the caller, which checks unknown keys itself.
 * require_method: "method" must be present. where: prefix for messages
 * ("aggregation" or ""). SWARM_EFORMAT with d->msg on a bad value.
 */
swarm_err sw_agg_spec_from_json(const json_t *obj, bool require_method, const char *where,
                                swarm_agg_spec *out, swarm_diag *d);
/* True when key is one of the spec keys sw_agg_spec_from_json reads. */
bool sw_agg_spec_key(const char *key);

/*
 * Loads JSON text strictly: duplicate keys rejected, nesting deeper than
 * SW_JSON_MAX_DEPTH rejected before parsing (jansson would recurse), NUL
 * bytes rejected. On failure returns NULL with d->msg "line L column C: ...".
 */
json_t *sw_json_load_strict(const char *text, size_t len, swarm_diag *d);

/* Human name of a JSON value's type ("string", "number", "array", ...). */
const char *sw_json_type_name(const json_t *v);

#endif /* SW_AGG_INT_H */
