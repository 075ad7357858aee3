/*
 * fuzz_assign_input.c: libFuzzer target for the `swarm assign` problem
 * format: swarm_assign_input_parse, then, for small problems, the fast
 * method (greedy + local search; this build has no MIP back end) and
 * swarm_assign_evaluate of its answer. Checks that a feasible answer uses
 * valid SLM indices and that the evaluator agrees it is feasible.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "swarm/assign.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Keeps each input well under the 1 s per-input budget under ASan. */
#define FUZZ_MAX_PAIRS 4096

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    swarm_diag d = {0};
    swarm_assign_input *in = NULL;
    if (swarm_assign_input_parse((const char *)data, size, &in, &d) != SWARM_OK) return 0;
    const swarm_assign_problem *p = swarm_assign_input_problem(in);
    if (p == NULL || p->n < 1 || p->m < 0) abort();
    if ((int64_t)p->n * p->m <= FUZZ_MAX_PAIRS && p->redundancy <= 64) {
        swarm_assign_options o = swarm_assign_options_default();
        o.method = SWARM_ASSIGN_METHOD_FAST;
        swarm_assign_result *r = NULL;
        if (swarm_assign_solve(p, &o, &r, &d) == SWARM_OK) {
            if (r->status != SWARM_ASSIGN_INFEASIBLE) {
                int32_t rr = r->r;
                if (r->assign == NULL || r->m != p->m || rr < 1) abort();
                for (int64_t j = 0; j < (int64_t)p->m * rr; j++)
                    if (r->assign[j] < 0 || r->assign[j] >= p->n) abort();
                double e, t, c;
                bool feasible = false;
                if (swarm_assign_evaluate(p, r->assign, &e, &t, &c, &feasible) != SWARM_OK ||
                    !feasible)
                    abort();
            }
            swarm_assign_result_destroy(r);
        }
    }
    swarm_assign_input_destroy(in);
    return 0;
}
