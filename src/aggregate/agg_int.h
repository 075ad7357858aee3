/*
 * agg_int.h: aggregate internals shared with the plan module: the strict
 * JSON reading of an aggregation spec (the same object in `swarm aggregate`
 * input and in a task's "aggregation"). JSON is loaded with core's strict
 * loader (json_int.h).
 */
#ifndef SW_AGG_INT_H
#define SW_AGG_INT_H

#include <stdbool.h>

#include "../core/json_int.h"
#include "swarm/aggregate.h"

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

#endif /* SW_AGG_INT_H */
