/*
 * fuzz_aggregate.c: libFuzzer target for the `swarm aggregate` input:
 * swarm_agg_input_parse, then swarm_aggregate with the parsed spec and with
 * every other method on the same items, then the --json rendering. Checks
 * that a result's weights are finite, non-negative and sum to 1, that its
 * winner index is in range, and that a numeric result lies within the
 * values (every numeric method is a mean or a pick).
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "swarm/aggregate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void run(const swarm_agg_spec *spec, const swarm_agg_item *items, size_t n)
{
    swarm_diag d = {0};
    swarm_agg_result *r = NULL;
    if (swarm_aggregate(spec, items, n, &r, &d) != SWARM_OK) return;
    if (r == NULL || r->n != n || r->weights == NULL) abort();
    double sum = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(r->weights[i]) || r->weights[i] < 0) abort();
        sum += r->weights[i];
    }
    if (fabs(sum - 1.0) > 1e-6) abort();
    if (r->winner_index < -1 || r->winner_index >= (int64_t)n) abort();
    if (r->support < 0 || r->support > 1 + 1e-9) abort();
    if (!r->is_text) {
        double lo = INFINITY, hi = -INFINITY;
        for (size_t i = 0; i < n; i++) {
            lo = fmin(lo, items[i].value);
            hi = fmax(hi, items[i].value);
        }
        /* the result is rounded to 12 significant digits */
        if (!isfinite(r->value) || r->value < swarm_agg_round(lo) - 1e-11 * fabs(lo) ||
            r->value > swarm_agg_round(hi) + 1e-11 * fabs(hi))
            abort();
    }
    char *json = NULL;
    if (swarm_agg_result_json(r, items, &json) != SWARM_OK || json == NULL) abort();
    swarm_free(json);
    swarm_agg_result_destroy(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    swarm_diag d = {0};
    swarm_agg_input *in = NULL;
    if (swarm_agg_input_parse((const char *)data, size, &in, &d) != SWARM_OK) return 0;
    size_t n = 0;
    const swarm_agg_item *items = swarm_agg_input_items(in, &n);
    const swarm_agg_spec *spec = swarm_agg_input_spec(in);
    if (items == NULL || n == 0 || spec == NULL) abort();
    run(spec, items, n);
    for (int m = 0; m < SWARM_AGG_METHOD_COUNT; m++) {
        if (m == (int)spec->method) continue;
        swarm_agg_spec s = *spec;
        s.method = (swarm_agg_method)m;
        run(&s, items, n);
    }
    swarm_agg_input_destroy(in);
    return 0;
}
