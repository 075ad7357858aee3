/*
 * estimates.c: the estimates of T_i and E_i the assignment is solved with
 * (moved out of sched.c as is: issue 13, item 2): an EWMA of the measured
 * time per token per (node, skill), and energy from watts, J/token or FLOPs.
 */
#include <string.h>

#include "sched_int.h"

/* ------------------------------------------------------------------------ */
/* estimates: EWMA of time per token per (node, skill)                        */

static skill_est *est_get(swarm_runtime *rt, size_t i, const char *skill, bool create)
{
    node_state *ns = &rt->nodes[i];
    const char *k = skill ? skill : "";
    for (size_t j = 0; j < ns->n_est; j++)
        if (strcmp(ns->est[j].skill, k) == 0) return &ns->est[j];
    if (!create) return NULL;
    skill_est *ne = sw_realloc(ns->est, (ns->n_est + 1) * sizeof(*ne));
    if (ne == NULL) return NULL;
    ns->est = ne;
    skill_est *e = &ns->est[ns->n_est];
    if ((e->skill = sw_strdup(k)) == NULL) return NULL;
    e->ms_per_token = swarm_swarm_node(rt->swarm, i)->time_per_token_ms;
    e->n = 0;
    ns->n_est++;
    return e;
}

double sw_est_ms_per_token(swarm_runtime *rt, size_t i, const char *skill)
{
    skill_est *e = est_get(rt, i, skill, false);
    return e ? e->ms_per_token : swarm_swarm_node(rt->swarm, i)->time_per_token_ms;
}

double sw_runtime_ms_per_token(swarm_runtime *rt, size_t node, const char *skill)
{
    sw_runtime_pause(rt); /* the coordinator thread owns the estimates */
    double v = sw_est_ms_per_token(rt, node, skill);
    sw_runtime_resume(rt);
    return v;
}

void sw_est_update(swarm_runtime *rt, size_t i, const char *skill, double busy_ms,
                   int64_t tokens)
{
    if (tokens <= 0 || !(busy_ms >= 0)) return;
    skill_est *e = est_get(rt, i, skill, true);
    if (e == NULL) return;
    double x = busy_ms / (double)tokens;
    e->ms_per_token = e->n == 0 ? x : (1 - SW_EWMA_ALPHA) * e->ms_per_token + SW_EWMA_ALPHA * x;
    e->n++;
}

double sw_est_energy(swarm_runtime *rt, size_t i, double busy_ms, int64_t tokens)
{
    const swarm_node_spec *n = swarm_swarm_node(rt->swarm, i);
    if (n->power_watts > 0) return busy_ms / 1000.0 * n->power_watts;
    if (n->energy_per_token_j > 0) return (double)tokens * n->energy_per_token_j;
    return 2.0 * (double)rt->backends[i]->n_params * (double)tokens * SW_JOULES_PER_FLOP;
}

