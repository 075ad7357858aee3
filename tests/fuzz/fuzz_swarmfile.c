/*
 * fuzz_swarmfile.c: libFuzzer target for the swarm file parser
 * (swarm_swarm_parse only: parsing never opens or loads a model, backend.c
 * does that). Checks the accessors on whatever parsed: names unique and
 * findable, attributes in their documented ranges, compatibilities in [0,1].
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "swarm/runtime.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The parser's only tie to the engine is this defaults function; engine.c
 * (and all it pulls in) is not linked, so the harness gives the same values. */
swarm_sampling swarm_sampling_default(void)
{
    swarm_sampling s = {.temperature = 1.0f, .top_k = 0, .top_p = 0.9f, .min_p = 0.0f, .seed = 0};
    return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    swarm_diag d = {0};
    swarm_swarm *s = NULL;
    /* a relative base directory, so relative model paths get joined too */
    if (swarm_swarm_parse((const char *)data, size, "base/dir", &s, &d) != SWARM_OK) return 0;
    size_t n = swarm_swarm_count(s);
    if (n == 0 || swarm_swarm_node(s, n) != NULL) abort();
    for (size_t i = 0; i < n; i++) {
        const swarm_node_spec *ns = swarm_swarm_node(s, i);
        if (ns == NULL || ns->name == NULL || ns->zone == NULL) abort();
        if (swarm_swarm_find(s, ns->name) != (int32_t)i) abort();
        if (ns->backend == SWARM_BACKEND_LOCAL && ns->model_path == NULL) abort();
        if (ns->backend == SWARM_BACKEND_OPENAI && (ns->base_url == NULL || ns->api_model == NULL))
            abort();
        if (ns->capacity < 1 || !(ns->accuracy >= 0 && ns->accuracy <= 1)) abort();
        for (size_t k = 0; k < ns->n_skills; k++) {
            double c = swarm_node_compat(ns, ns->skill_names[k]);
            if (!(c >= 0 && c <= 1)) abort();
        }
        if (!isfinite(swarm_swarm_distance(s, 0, i))) abort();
    }
    swarm_swarm_destroy(s);
    return 0;
}
