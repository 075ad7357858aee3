/*
 * sched_int.h: the coordinator's state shared by the files that split
 * sched.c by job (issue 13, item 2): the runtime object with its
 * per-node state shared by every task, one task's run, the coordinator's
 * tickets, node health (health.c), the estimates of T_i and E_i
 * (estimates.c). Never installed.
 */
#ifndef SW_SCHED_INT_H
#define SW_SCHED_INT_H

#include <pthread.h>

#include "runlog.h"
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
    swarm_node_admin admin;  /* membership: active, draining or removed */
    double exec_ms_per_token; /* EWMA over exec answers (guarded by the runtime's mu) */
    int64_t exec_samples;
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

/* ------------------------------------------------------------------------ */
/* one task's run (sched.c)                                                  */

enum { S_PENDING, S_READY, S_RUNNING, S_DONE, S_FAILED, S_CANCELED };

typedef struct sub_rt {
    const swarm_subtask *st;
    char *prompt;        /* rendered prompt (owned) or NULL = st->prompt */
    int state;
    int32_t deps_left;
    int32_t live;        /* attempts RUNNING */
    uint32_t epochs;     /* highest epoch dispatched so far */
    uint32_t epoch0;     /* epochs before this run (from a journal); att[e - epoch0 - 1] */
    int32_t retries;
    double ready_at;     /* retry backoff */
    bool queued, delayed, hedged, held;
    int32_t *att;        /* trace row of epoch e at att[e-1] */
    size_t n_att, cap_att;
    bool *excluded;      /* [n] nodes that failed it, lazily allocated */
    char *text;
    double value, confidence;
    int32_t node;
    uint64_t hlc;
    const char *note;
} sub_rt;

typedef struct row_rt {
    swarm_trace_row r;
    double last_progress;
    bool holds_slot;
} row_rt;

struct sw_run {
    swarm_runtime *rt;
    const swarm_task *task;
    swarm_plan *plan;            /* owned */
    /* the coordinator's view (coordinator.c) */
    uint64_t ticket;
    struct sw_ticket *tk;        /* its ticket (guarded by the runtime's mu) */
    swarm_submit_opts o;
    int32_t wave_inflight;       /* fair_waves' sort keys: attempts in flight, */
    uint64_t last_served;        /* and when it last got a slot (round robin) */
    double submitted_ms;         /* o.deadline_ms counts from here */
    bool cancel_asked;           /* swarm_runtime_cancel or the deadline: finish now */
    swarm_err cancel_why;        /* SWARM_ECANCELED or SWARM_ETIMEDOUT */
    size_t last_terminal;        /* progress events: terminal subtasks last told */
    swarm_decomp decomp;
    const swarm_agg_spec *agg;
    size_t m;
    sub_rt *subs;
    int32_t *dep_off, *dep_list; /* reverse edges: dependents of i */
    row_rt *rows;
    size_t n_rows, cap_rows;
    int32_t *ready;              /* ring of sub ids */
    size_t rq_head, rq_n;
    int32_t *delayed;
    size_t n_delayed;
    int32_t *running;            /* row ids possibly RUNNING */
    size_t n_running, cap_running;
    size_t n_terminal;
    double t0, now;
    double deadline_ms, p_min, w_e, w_t, threshold;
    int32_t max_retries, retries_used, retry_cap;
    int32_t n_reassigned, n_hedges, n_discarded, n_canceled;
    int32_t n_ejections, n_readmitted, n_convicted;
    double energy;
    int64_t tokens;
    sw_runlog log;               /* the run's record: every transition goes through it */
    double stall_since;
    int32_t dispatch_failures;   /* dispatches that failed before any attempt ran */
    const char **outputs;        /* [m] for rendering */
    uint32_t rr;                 /* round-robin cursor */
    bool ens_distinct;           /* ensemble with k <= nodes: members on distinct nodes */
    size_t n_members;            /* the ensemble's k */
    bool *allowed;               /* [n] the task's "nodes" allow-list, or NULL: all */
    uint32_t run_id;
    /* scratch for assignment */
    double *E, *T, *B, *C;
    int32_t *av;
};


typedef struct sw_run sw_run;

/* ------------------------------------------------------------------------ */
/* the coordinator's bookkeeping (coordinator.c)                             */

/* A submitted task, from submit until wait or poll collects it. Guarded by
 * swarm_runtime.mu; R is the coordinator thread's while the task runs. */
typedef struct sw_ticket {
    uint64_t id;
    sw_run *R;                  /* set by submit; NULL once finished */
    bool started, finished;
    bool cancel;                /* swarm_runtime_cancel asked for it */
    uint64_t finish_seq;        /* poll returns the earliest finished */
    swarm_err rc;               /* of starting it (journal), else SWARM_OK */
    swarm_diag diag;
    swarm_run_result *res;
    struct sw_ticket *next;
} sw_ticket;

/* A swarm_runtime_exec call waiting for its node (guarded by mu). */
typedef struct sw_exec_req {
    sw_dispatch *msg;           /* to send; the coordinator takes it (NULL after) */
    int32_t node;
    uint32_t epoch;
    bool done;
    swarm_err rc;
    char *text;
    double value, confidence;
    struct sw_exec_req *next;
} sw_exec_req;

/* A slot still held by an attempt of a finished task: released when the
 * node answers (its canceled attempt) or after progress_timeout_ms. */
typedef struct sw_orphan {
    int32_t node, sub;
    uint32_t run, epoch;
    double since_ms;
} sw_orphan;

#define SW_EXEC_CANCELS 64      /* exec timeouts told to the nodes per loop */

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
    uint64_t seed, rng;
    node_state *nodes;
    sw_hlc hlc;
    hedge_class *hc;
    size_t n_hc;
    uint32_t run_seq;
    /* shared with callers: guarded by mu */
    pthread_mutex_t mu;
    pthread_cond_t cv;          /* tickets finished, exec answered, parked */
    bool mu_ready, thread_started;
    pthread_t thread;
    bool stop, pause, parked;
    sw_ticket *tickets;         /* submission order */
    size_t n_tickets;           /* submitted and not collected (<= queue_cap) */
    uint64_t next_ticket, finish_seq;
    bool have_fresh, have_cancel;
    /* membership changes asked for (node index, new state), applied by
     * the coordinator thread at its next loop */
    struct { size_t node; swarm_node_admin to; } admin_req[16];
    size_t n_admin_req;
    sw_exec_req *execs;
    uint32_t exec_epoch;
    struct { int32_t node; uint32_t epoch; } exec_cancel[SW_EXEC_CANCELS];
    size_t n_exec_cancel;
    /* the coordinator thread's own */
    double now;                 /* sw_now_ms() of this loop */
    sw_event *evs;              /* recv buffer */
    uint64_t serve_seq;         /* fair_waves' clock */
    sw_run **runs;              /* running tasks */
    sw_run **wave_order;        /* scratch of fair_waves, [cap_runs] */
    size_t n_runs, cap_runs;
    sw_orphan *orphans;
    size_t n_orphans, cap_orphans;
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

/* ---- node health (health.c): detector, breaker, probes, re-admission;
 * coordinator thread only ---- */

/* Alive, breaker closed, not waiting for a probe. */
bool sw_node_available(const swarm_runtime *rt, size_t i);
/* Free slots of node i: B_i minus the attempts of every task it holds. */
int32_t sw_node_free(const swarm_runtime *rt, size_t i);
/* A failed attempt on node i: counts toward its breaker; true when the
 * breaker opened now (an ejection). */
bool sw_health_failure(swarm_runtime *rt, size_t i);
/* A good result from node i; true when it closed a half-open breaker. */
bool sw_health_success(swarm_runtime *rt, size_t i);
/* An attempt on node i made no progress: it is unhealthy until a one-token
 * probe passes. */
void sw_health_stuck(swarm_runtime *rt, size_t i);
/* Membership: node i becomes active, draining or removed (its attempts
 * reassigned at once). A removed node stays removed. */
void sw_health_admin(swarm_runtime *rt, size_t i, swarm_node_admin to);
/* Heartbeats, probe answers and membership events. */
void sw_health_event(swarm_runtime *rt, sw_event *ev);
/* The detector's verdicts, breaker cooldowns, probes due (every loop while
 * tasks run). */
void sw_health_tick(swarm_runtime *rt);
/* Tasks start after an idle spell: every live node gets a fresh detector
 * history starting now (silence while idle is nobody's fault). */
void sw_health_wake(swarm_runtime *rt);

/* ---- one task's run (sched.c); coordinator thread only except prepare ---- */

/* Builds the run of a task (any thread: it reads only the swarm): the plan
 * (owned from then on), the DAG, and the checks that refuse a plan before
 * any work (limits, skills, redundancy, zones, P_min). */
swarm_err sw_run_prepare(swarm_runtime *rt, const swarm_task *task, swarm_plan *plan,
                         sw_run **out, swarm_diag *d);
/* Starts it: the journal (resume), the first ready subtasks. */
swarm_err sw_run_start(sw_run *R, swarm_diag *d);
/* A result or progress event stamped with this run's id (takes ev->text). */
void sw_run_event(sw_run *R, sw_event *ev);
/* Attempts past the deadline or stuck, hedges, retries due. */
void sw_run_timers(sw_run *R);
/* One assignment wave of this run's ready subtasks over at most limit
 * free slots. */
void sw_run_wave(sw_run *R, int32_t limit);
/* When the run's timers next have work (an attempt's deadline, a retry's
 * backoff ends), on the sw_now_ms clock; INFINITY when nothing is due. */
double sw_run_next_due(const sw_run *R);
/* Attempts of this run holding a node slot. */
int32_t sw_run_inflight(const sw_run *R);
/* After a loop: journal commit, progress events, "no node available". */
void sw_run_after_loop(sw_run *R);
/* Every subtask terminal. */
bool sw_run_finished(const sw_run *R);
/* Ends every open subtask (canceled with note why). */
void sw_run_cancel(sw_run *R, const char *why);
/* Node i is gone (declared dead, or removed): this run's attempts on it
 * move on (reassigned). */
void sw_run_node_gone(sw_run *R, size_t i, const char *why);
/* The result (aggregation, trace, stats) and the journal's end record; the
 * slots its canceled attempts still hold become orphans of the runtime. */
swarm_err sw_run_end(sw_run *R, swarm_run_result **out);
void sw_run_free(sw_run *R);
/* A slot of node held past its run (sw_orphan). */
void sw_orphan_add(swarm_runtime *rt, int32_t node, uint32_t run, int32_t sub, uint32_t epoch);

#endif /* SW_SCHED_INT_H */
