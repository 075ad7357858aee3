/*
 * runtime.h: the embedded swarm runtime: the swarm file (which nodes exist),
 * a coordinator thread that runs many submitted tasks at once over the
 * shared nodes (tickets, cancel, wait, poll, streamed tokens, membership),
 * node workers behind one transport interface, the scheduler (assignment,
 * capacity, retries, hedging, redundancy, early-stop voting, cascade),
 * failure detection (phi-accrual heartbeats, progress watchdog, health probe,
 * circuit breaker), epoch fencing, hybrid logical clocks, the per-task trace,
 * fault injection and the SQLite journal. docs/runtime.md explains the model.
 */
#ifndef SWARM_RUNTIME_H
#define SWARM_RUNTIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "swarm/assign.h"
#include "swarm/engine.h"
#include "swarm/plan.h"
#include "swarm/swarm.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------ */
/* the swarm file (docs/swarm-file.md)                                       */

typedef enum {
    SWARM_BACKEND_LOCAL,  /* our engine on a model file */
    SWARM_BACKEND_OPENAI, /* an OpenAI-compatible server (later issue: parse only) */
    SWARM_BACKEND_ECHO,   /* instant deterministic stub for tests and benchmarks */
    SWARM_BACKEND_COUNT
} swarm_backend_type;

typedef struct swarm_node_spec {
    const char *name;
    swarm_backend_type backend;
    /* local */
    const char *model_path;     /* resolved: ${VAR:-default} expanded, relative to the file */
    const char *tokenizer_path; /* NULL for GGUF */
    int32_t threads;            /* engine threads per session (default 1) */
    int32_t n_ctx;              /* session context (0 = engine default) */
    swarm_sampling sampling;    /* node's sampling defaults */
    /* openai */
    const char *base_url, *api_model, *api_key_env;
    /* echo */
    double echo_latency_ms;
    /* scheduling and aggregation attributes */
    int32_t capacity;           /* B_i: concurrent subtasks (default 1) */
    const char *zone;           /* "" when absent */
    double x, y;                /* coordinates (distance d_ij) */
    double power_watts;         /* 0 = unknown: FLOP-based energy estimate */
    double time_per_token_ms;   /* declared T per token (default 1) */
    double energy_per_token_j;  /* declared E per token (0 = derive from watts or FLOPs) */
    double accuracy, relevance; /* P_i, R_i (default 1, 1) */
    size_t n_skills;
    const char *const *skill_names;
    const double *skill_compat; /* C for each skill in [0,1] */
} swarm_node_spec;

typedef struct swarm_swarm swarm_swarm;

/* Parses a swarm file strictly (unknown keys, wrong types, duplicates are
 * SWARM_EFORMAT with d naming the field). base_dir resolves relative model
 * paths (NULL = current directory). *out is released with swarm_swarm_destroy. */
SWARM_API swarm_err swarm_swarm_parse(const char *json, size_t len, const char *base_dir,
                                      swarm_swarm **out, swarm_diag *d);
/* Reads path and parses it with base_dir = the file's directory. */
SWARM_API swarm_err swarm_swarm_load(const char *path, swarm_swarm **out, swarm_diag *d);
SWARM_API void swarm_swarm_destroy(swarm_swarm *s);
SWARM_API size_t swarm_swarm_count(const swarm_swarm *s);
/* Borrowed; NULL when out of range. */
SWARM_API const swarm_node_spec *swarm_swarm_node(const swarm_swarm *s, size_t i);
/* Index of the node named name, or -1. */
SWARM_API int32_t swarm_swarm_find(const swarm_swarm *s, const char *name);
/* C_ik of node for skill: the skill's value, else the "*" entry, else 0. */
SWARM_API double swarm_node_compat(const swarm_node_spec *n, const char *skill);
/* Euclidean distance between two nodes' coordinates. */
SWARM_API double swarm_swarm_distance(const swarm_swarm *s, size_t i, size_t j);
/* Replaces every local node's model path (and clears the tokenizer for a
 * .gguf file); used by `make run MODEL=...`. */
SWARM_API swarm_err swarm_swarm_override_model(swarm_swarm *s, const char *model_path,
                                               const char *tokenizer_path);
/* What a calibration measured, node by node ([n] arrays in swarm file
 * order; NULL: not measured; an entry NaN: keep the file's value). */
typedef struct swarm_calibration {
    size_t n;
    const char *skill;           /* the skill whose C is written */
    const double *accuracy;      /* P_i -> "accuracy" */
    const double *compat;        /* C_ik for skill -> "skills": {skill: ...} */
    const double *ms_per_token;  /* measured T per token -> "time_per_token_ms" */
} swarm_calibration;
/* Rewrites the swarm file at path atomically (temp file + rename) with the
 * calibration's values; other content is kept. */
SWARM_API swarm_err swarm_swarm_write_calibration(const char *path, const swarm_calibration *c,
                                                  swarm_diag *d);

/* ------------------------------------------------------------------------ */
/* the runtime                                                               */

typedef enum {
    SWARM_DISPATCH_ASSIGN,      /* swarm_assign_solve per wave (default) */
    SWARM_DISPATCH_ROUND_ROBIN, /* dynamic load balancing, assignment off */
    SWARM_DISPATCH_LEAST_CONN,
    SWARM_DISPATCH_PRIORITY,    /* highest accuracy P_i first, then lowest T */
    SWARM_DISPATCH_COUNT
} swarm_dispatch_policy;

typedef enum { SWARM_DETECT_PHI, SWARM_DETECT_TIMEOUT, SWARM_DETECT_COUNT } swarm_detector;

typedef enum {
    SWARM_TRANSPORT_INPROC,  /* worker threads in this process (default) */
    SWARM_TRANSPORT_PROCESS, /* one child process per node (fork + socketpair) */
    SWARM_TRANSPORT_COUNT
} swarm_transport_kind;

/* Option names: dispatch "assign", "round-robin", "least-conn", "priority";
 * detector "phi", "timeout"; transport "inproc", "process". _name never
 * returns NULL ("unknown" out of range); _from_name returns false (and
 * leaves *out) for any other word. Thread-safe. */
SWARM_API const char *swarm_dispatch_policy_name(swarm_dispatch_policy p);
SWARM_API bool swarm_dispatch_policy_from_name(const char *name, swarm_dispatch_policy *out);
SWARM_API const char *swarm_detector_name(swarm_detector d);
SWARM_API bool swarm_detector_from_name(const char *name, swarm_detector *out);
SWARM_API const char *swarm_transport_kind_name(swarm_transport_kind t);
SWARM_API bool swarm_transport_kind_from_name(const char *name, swarm_transport_kind *out);

typedef struct swarm_runtime_params {
    swarm_dispatch_policy dispatch;
    swarm_transport_kind transport;    /* default INPROC */
    const char *transport_url;         /* "inproc:" or "proc:"; NULL (default): the URL of
                                          `transport`. An unknown scheme is SWARM_EINVAL. */
    swarm_assign_method assign_method; /* default FAST */
    double heartbeat_ms;               /* worker heartbeat interval (100) */
    swarm_detector detector;           /* PHI (default) or TIMEOUT */
    double phi_threshold;              /* 8 */
    double acceptable_pause_ms;        /* 200 */
    double min_std_ms;                 /* sigma_min 20 */
    double timeout_ms;                 /* TIMEOUT detector: silence before conviction (500) */
    double max_local_pause_ms;         /* observer stall longer than this: no conviction (1000) */
    double progress_timeout_ms;        /* no token for this long: stuck (10000) */
    double probe_timeout_ms;           /* health probe answer limit (2000) */
    int32_t breaker_failures;          /* consecutive failures that open a node's breaker (5) */
    double breaker_cooldown_ms;        /* cooldown x n-th ejection (5000) */
    double max_ejected_fraction;       /* at most this share of the pool ejected (0.5) */
    int32_t readmit_heartbeats;        /* consecutive heartbeats before re-admission (3) */
    double flap_backoff_ms;            /* from a node's 2nd conviction on it stays out at
                                        * least this x (convictions - 1), x 10 at most
                                        * (30000; B5: a flapping node cannot oscillate) */
    bool hedge;                        /* hedged duplicate after the class p95 (true) */
    int32_t hedge_min_samples;         /* latency samples before hedging starts (20) */
    double retry_backoff_ms;           /* first retry delay, doubled each time (10) */
    double retry_budget;               /* retries <= budget x subtasks + 3 (0.2) */
    bool early_stop;                   /* voting stops once the majority is certain (true) */
    bool distinct_zones;               /* the r copies of a subtask go to distinct zones */
    double comm_weight;                /* communication cost: seconds added to T_ik per
                                        * (coordinate distance x KiB) of each dependency's
                                        * output moved to node i (0 = off, the default) */
    size_t queue_cap;                  /* tasks submitted and not collected (64) */
    const char *chaos;                 /* fault-injection spec or NULL (copied) */
    uint64_t seed;                     /* chaos and sampling seed (0 = from the clock) */
    const char *journal_path;          /* SQLite journal or NULL (copied) */
    bool resume;                       /* with a journal: continue an interrupted run of the
                                        * same task (done subtasks are not run again) */
    bool force_echo;                   /* every node uses the echo backend */
    double unavailable_timeout_ms;     /* no node able to run ready work this long: fail (5000) */
} swarm_runtime_params;

SWARM_API swarm_runtime_params swarm_runtime_params_default(void);

typedef struct swarm_runtime swarm_runtime;

/* Loads every distinct model file once (nodes sharing a file share the
 * mmap), starts a worker per node slot and the heartbeats. The swarm must
 * outlive the runtime. SWARM_EUNSUPPORTED for an openai node ("openai
 * backend not available in this build"), SWARM_EINVAL for a bad chaos spec;
 * d says why. */
SWARM_API swarm_err swarm_runtime_create(const swarm_swarm *s, const swarm_runtime_params *p,
                                         swarm_runtime **out, swarm_diag *d);
SWARM_API void swarm_runtime_destroy(swarm_runtime *rt);
/* The seed actually used (for printing and replay). */
SWARM_API uint64_t swarm_runtime_seed(const swarm_runtime *rt);

typedef enum {
    SWARM_OUTCOME_DONE,           /* its result was accepted (committed) */
    SWARM_OUTCOME_FAILED,         /* error, timeout, stuck or corrupt */
    SWARM_OUTCOME_DISCARDED_LATE, /* a result for a superseded epoch or a done subtask */
    SWARM_OUTCOME_CANCELED,       /* loser of redundancy/hedge, or not needed */
    SWARM_OUTCOME_REASSIGNED,     /* its node was declared dead; the work moved on */
    SWARM_OUTCOME_RUNNING,        /* still in flight when the run ended (stuck) */
    SWARM_OUTCOME_PENDING,        /* subtask never dispatched (lost) */
    SWARM_OUTCOME_COUNT
} swarm_outcome;

SWARM_API const char *swarm_outcome_name(swarm_outcome o); /* "done", "discarded-late", ... */

/* One dispatch of one subtask (an attempt). */
typedef struct swarm_trace_row {
    int32_t subtask;          /* plan id */
    const char *subtask_name; /* borrowed from the result */
    int32_t node;             /* node index */
    const char *node_name;
    uint32_t epoch;           /* per-subtask dispatch number, from 1 */
    int32_t retry;            /* 0 = first try; n = n-th retry */
    bool hedge;               /* a hedged duplicate */
    double start_ms, end_ms;  /* since the run started; end < 0 when never answered */
    int64_t tokens;
    double energy_j;          /* estimated */
    uint64_t hlc;             /* HLC of the result (0 if none) */
    swarm_outcome outcome;
    const char *note;         /* why (e.g. "node dead", "deadline", "early-stop"), or "" */
} swarm_trace_row;

typedef struct swarm_subtask_result {
    int32_t id;
    const char *name;
    swarm_outcome state;      /* DONE, FAILED or CANCELED */
    char *text;               /* generate: text; classify: winning label */
    double value;             /* classify: score in [-1,1]; score: the number */
    double confidence;        /* classify: probability of the label */
    int32_t node;             /* node whose result was accepted, or -1 */
    uint64_t hlc;
} swarm_subtask_result;

typedef struct swarm_run_result {
    swarm_err status;         /* SWARM_OK when the task produced an answer */
    char error[256];          /* why not, otherwise "" */
    bool is_text;
    double value;
    char *text;
    const char *decision;     /* borrowed static string or NULL */
    char *winner;             /* node name or NULL */
    uint64_t seed;
    double wall_ms, energy_j;
    int64_t tokens;
    int32_t n_reassigned, n_retries, n_hedges, n_discarded, n_canceled;
    int32_t n_ejections;      /* circuit breaker openings in this run */
    int32_t n_readmitted;     /* half-open breakers closed by a success, probes passed */
    int32_t n_convicted;      /* nodes declared dead by the failure detector in this run */
    double sum_c;             /* Σ C_ik of the committed results (the node that gave each) */
    double p_min;             /* the task's P_min (0 = none); sum_c < p_min: not met */
    char *task_name, *decomp;
    size_t n_subtasks;
    swarm_subtask_result *subtasks;
    size_t n_trace;
    swarm_trace_row *trace;   /* in dispatch order */
} swarm_run_result;

/* ------------------------------------------------------------------------ */
/* the coordinator: many tasks at once (docs/runtime.md)                     */
/*
 * A runtime has one coordinator thread, started by swarm_runtime_create,
 * that runs every submitted task at once over the shared node pool: a
 * node's capacity B_i counts the attempts of all tasks, each assignment
 * wave sees the residual capacity, and a fairness rule (higher priority
 * first; within one priority the task with the fewest attempts in flight
 * first, each task at most its share of the free slots per wave) keeps
 * one huge task from starving small ones.
 *
 * Thread-safety: swarm_runtime_submit, _cancel, _wait, _poll, _active,
 * _run and _exec may be called from any thread, concurrently. Event
 * callbacks run on the coordinator thread: they must return quickly, may
 * call submit and cancel, and must not call wait, run, exec or destroy.
 */

typedef enum {
    SWARM_TASK_EVENT_PROGRESS, /* a subtask reached a terminal state: done of total */
    SWARM_TASK_EVENT_TOKEN,    /* generated text of a running attempt (with stream) */
    SWARM_TASK_EVENT_DONE,     /* finished: swarm_runtime_wait returns at once now */
    SWARM_TASK_EVENT_COUNT
} swarm_task_event_type;

typedef struct swarm_task_event {
    swarm_task_event_type type;
    uint64_t ticket;
    size_t done, total;       /* PROGRESS (and DONE): terminal subtasks of all */
    /* TOKEN: which attempt produced the text (several may stream at once:
     * redundancy, hedges, ensemble members) and the piece, borrowed for the
     * call, not NUL-terminated inside a larger text (use len) */
    int32_t subtask;
    const char *subtask_name;
    const char *node_name;
    uint32_t epoch;
    const char *text;
    size_t len;
    swarm_err status;         /* DONE: SWARM_OK when the task produced an answer */
} swarm_task_event;

typedef struct swarm_submit_opts {
    int32_t priority;         /* higher runs first when capacity is short (0) */
    double deadline_ms;       /* the whole task: after this long it is canceled and
                               * finishes with SWARM_ETIMEDOUT (0 = none) */
    bool stream;              /* TOKEN events with the generated text */
    void (*on_event)(void *ud, const swarm_task_event *ev); /* NULL = none */
    void *ud;
} swarm_submit_opts;

SWARM_API swarm_submit_opts swarm_submit_opts_default(void);

/* Submits a task (the plan is built and checked here: an invalid or
 * infeasible plan fails at once with d saying why) and returns its ticket.
 * The task is borrowed until its ticket is collected by wait or poll.
 * SWARM_EFULL when queue_cap tasks are already submitted and not collected
 * (back-pressure: fail fast, never block); SWARM_ECLOSED while the runtime
 * is being destroyed. o may be NULL (swarm_submit_opts_default). */
SWARM_API swarm_err swarm_runtime_submit(swarm_runtime *rt, const swarm_task *task,
                                         const swarm_submit_opts *o, uint64_t *out_ticket,
                                         swarm_diag *d);
/* Cancels a task: its attempts are canceled and its node slots freed as
 * the nodes answer; it finishes with SWARM_ECANCELED (still collected by
 * wait). SWARM_ENOTFOUND for an unknown or collected ticket. */
SWARM_API swarm_err swarm_runtime_cancel(swarm_runtime *rt, uint64_t ticket);
/* Waits up to timeout_ms (< 0: without limit) for a task to finish and
 * collects it: on SWARM_OK *out holds its result (release with
 * swarm_run_result_destroy; its status says whether the task produced an
 * answer). A task the coordinator could not start (its journal failed)
 * returns that error with d saying why. SWARM_ETIMEDOUT when it is still
 * running (the ticket stays valid), SWARM_ENOTFOUND for an unknown or
 * already collected ticket. */
SWARM_API swarm_err swarm_runtime_wait(swarm_runtime *rt, uint64_t ticket, double timeout_ms,
                                       swarm_run_result **out, swarm_diag *d);
/* Collects any one finished task (the earliest finished first) without
 * waiting: *out_ticket and *out as for wait. SWARM_ENOTFOUND when none has
 * finished. */
SWARM_API swarm_err swarm_runtime_poll(swarm_runtime *rt, uint64_t *out_ticket,
                                       swarm_run_result **out, swarm_diag *d);
/* Tasks submitted and not yet collected. */
SWARM_API size_t swarm_runtime_active(swarm_runtime *rt);

/* ---- membership: nodes by name, changed while tasks run ---- */
typedef enum {
    SWARM_NODE_ACTIVE,   /* takes work */
    SWARM_NODE_DRAINING, /* takes no new work; its running attempts finish */
    SWARM_NODE_REMOVED,  /* out: its running attempts are reassigned at once */
    SWARM_NODE_ADMIN_COUNT
} swarm_node_admin;
/* Sets the membership state of the node named name; applied by the
 * coordinator at its next loop (within milliseconds). Draining a node and
 * making it active again is allowed; a removed node stays removed.
 * SWARM_ENOTFOUND for an unknown name, SWARM_EINVAL for a removed node,
 * SWARM_EFULL when 16 changes are already waiting. Thread-safe. */
SWARM_API swarm_err swarm_runtime_node_set(swarm_runtime *rt, const char *name,
                                           swarm_node_admin to);
/* The state last asked for the node (SWARM_NODE_ACTIVE for an unknown name
 * is not an answer: *out is written only on SWARM_OK). Thread-safe. */
SWARM_API swarm_err swarm_runtime_node_get(swarm_runtime *rt, const char *name,
                                           swarm_node_admin *out);

/* Node i's measured speed: an EWMA (alpha 0.2) of busy milliseconds per
 * token over its exec answers (what swarm calibrate runs); *samples 0 and
 * *ms_per_token NaN before any. SWARM_EINVAL for i out of range.
 * Thread-safe. */
SWARM_API swarm_err swarm_runtime_node_speed(swarm_runtime *rt, size_t i, double *ms_per_token,
                                             int64_t *samples);

/* The one-task use of the coordinator: submit with default options and
 * wait without limit. Plan errors and an infeasible plan are returned as
 * errors with d saying why; on SWARM_OK *out holds the result, whose status
 * may still be an error when the task itself failed visibly (a subtask
 * failed for good, no node could run it). Thread-safe. */
SWARM_API swarm_err swarm_runtime_run(swarm_runtime *rt, const swarm_task *task,
                                      swarm_run_result **out, swarm_diag *d);

/* Runs one subtask directly on node `node` (no plan, no assignment; used by
 * `swarm calibrate` and health checks) and waits up to timeout_ms. On
 * SWARM_OK *out_text (free with swarm_free; classify: the winning label),
 * *out_value and *out_confidence are written (each may be NULL).
 * SWARM_ETIMEDOUT when the node did not answer in time. Thread-safe: it
 * goes through the coordinator, beside running tasks (it takes no slot). */
SWARM_API swarm_err swarm_runtime_exec(swarm_runtime *rt, size_t node, swarm_subtask_kind kind,
                                       const char *prompt, const char *const *labels,
                                       size_t n_labels, int32_t max_tokens, double timeout_ms,
                                       char **out_text, double *out_value,
                                       double *out_confidence, swarm_diag *d);

SWARM_API void swarm_run_result_destroy(swarm_run_result *r);
/* {"task", "status", "value"/"text", "decision", "winner", "seed", "subtasks": [...],
 * "trace": [...], "stats": {...}}; *out sw_malloc'd, free with swarm_free. */
SWARM_API swarm_err swarm_run_result_json(const swarm_run_result *r, char **out);

/* The TESTPLAN A checker: classifies every subtask of a run from its trace. */
typedef struct swarm_run_check {
    size_t done_once;          /* committed exactly once, executed once */
    size_t duplicate_executed; /* committed once, executed more than once (allowed) */
    size_t double_committed;   /* more than one accepted result (must be 0) */
    size_t lost;               /* neither committed nor failed visibly (must be 0) */
    size_t stuck;              /* still in flight at the end (must be 0) */
    size_t failed;             /* failed visibly */
    size_t canceled;           /* not needed (early stop, cascade) */
} swarm_run_check;
SWARM_API void swarm_run_check_trace(const swarm_run_result *r, swarm_run_check *out);

/* ------------------------------------------------------------------------ */
/* the journal (docs/runtime.md): tasks and subtask state transitions        */

/* Audits a journal file: every transition legal (pending -> assigned(epoch)
 * -> done|failed|canceled, re-assignment with a higher epoch), no finished
 * task with a non-terminal subtask. Counts go to out_tasks and out_transitions; on
 * an illegal history SWARM_EFORMAT with d naming the first bad transition. */
SWARM_API swarm_err swarm_journal_audit(const char *path, int64_t *out_tasks,
                                        int64_t *out_transitions, swarm_diag *d);

#ifdef __cplusplus
}
#endif
#endif /* SWARM_RUNTIME_H */
