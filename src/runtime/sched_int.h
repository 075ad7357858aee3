/*
 * sched_int.h: the coordinator's state shared by the files that split
 * sched.c by job (issue 13, item 2): the runtime object with its
 * persistent per-node state (survives across runs), and the estimates of
 * T_i and E_i (estimates.c). Never installed.
 */
#ifndef SW_SCHED_INT_H
#define SW_SCHED_INT_H

#include "runtime_int.h"

#define HEDGE_WINDOW 128       /* latency samples per subtask class */

/* ------------------------------------------------------------------------ */
/* persistent per-node state (survives across runs)                          */

typedef struct skill_est {
    char *skill;
    double ms_per_token; /* EWMA */
    int64_t n;
} skill_est;

typedef struct node_state {
    sw_phi phi;
    double last_hb_ms;
    bool dead;              /* convicted by the failure detector */
    int32_t healthy_hb;     /* consecutive heartbeats since conviction (re-admission) */
    int32_t n_deaths;       /* convictions so far (flap back-off) */
    double readmit_at;      /* not re-admitted before this (sw_now_ms clock) */
    bool ejected;           /* circuit breaker open */
    bool half_open;         /* cooldown over: the next result closes or re-opens it */
    double eject_until;
    int32_t n_ejections, consec_fail;
    bool unhealthy;         /* watchdog fired; probe pending or failed */
    bool probing;
    double probe_sent_ms;
    uint32_t probe_epoch;
    int32_t inflight;       /* attempts holding a slot */
    skill_est *est;
    size_t n_est;
} node_state;

typedef struct hedge_class {
    char *key;
    double lat[HEDGE_WINDOW];
    size_t n, head, since_p95;
    double p95;
} hedge_class;

struct swarm_runtime {
    const swarm_swarm *swarm;
    swarm_runtime_params p;
    char *chaos_spec, *journal_path;
    size_t n;
    sw_backend **backends;
    sw_model_cache *mc;
    sw_chaos chaos;
    sw_node_env env;
    sw_transport *tp;
    sw_journal *journal;
    sw_pq queue;
    uint64_t seed, rng;
    node_state *nodes;
    sw_hlc hlc;
    hedge_class *hc;
    size_t n_hc;
    uint32_t exec_epoch;
    uint32_t run_seq;
};

/* ---- estimates (estimates.c): EWMA of time per token per (node, skill) ---- */

/* ms per token of node i for skill (the swarm file's value until measured). */
double sw_est_ms_per_token(swarm_runtime *rt, size_t i, const char *skill);
/* Folds one measurement (busy_ms over tokens) into the EWMA (SW_EWMA_ALPHA);
 * no-op for tokens <= 0 or a negative or NaN time. */
void sw_est_update(swarm_runtime *rt, size_t i, const char *skill, double busy_ms,
                   int64_t tokens);
/* Energy (J) of busy_ms and tokens on node i: watts when declared, else the
 * declared J/token, else 2 x params x tokens x J/FLOP. */
double sw_est_energy(swarm_runtime *rt, size_t i, double busy_ms, int64_t tokens);

#endif /* SW_SCHED_INT_H */
