/*
 * runtime_int.h: internals of the runtime shared across its files: the
 * transport and backend interfaces, messages, hybrid logical clock, failure
 * detector, bounded priority queue, fault-injection spec and journal.
 * Never installed.
 */
#ifndef SW_RUNTIME_INT_H
#define SW_RUNTIME_INT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "../core/core_int.h"
#include "swarm/runtime.h"
#include "transport.h"

/* ---- limits: what the runtime handles per subtask. The task parser's caps
 * (plan_int.h) stay within them (tests/unit/runtime_limits_test.c), and a
 * run refuses a plan beyond them before any work (plan_feasible). ---- */
#define SW_RT_MAX_REDUNDANCY 64     /* copies of one subtask placed together */
#define SW_RT_MAX_LABELS 256        /* labels of one classify subtask */
/* Ensemble members placed by one joint solve on distinct nodes; a larger
 * ensemble is placed wave by wave (members still on distinct nodes). */
#define SW_RT_MAX_JOINT_MEMBERS 64
/* Longest swarm file path the calibration write-back takes (its temp file
 * name adds a suffix; longer is refused, never truncated). */
#define SW_SWARMFILE_MAX_PATH 4096

/* ------------------------------------------------------------------------ */
/* hybrid logical clock: (physical ms << 16) | logical counter              */

typedef struct sw_hlc {
    _Atomic uint64_t last;
} sw_hlc;

/* Timestamp for a local or send event at physical time pt_ms. */
uint64_t sw_hlc_now(sw_hlc *c, uint64_t pt_ms);
/* Merges a received timestamp; returns the new local timestamp (> msg). */
uint64_t sw_hlc_recv(sw_hlc *c, uint64_t msg, uint64_t pt_ms);
static inline uint64_t sw_hlc_physical(uint64_t h) { return h >> 16; }

/* ------------------------------------------------------------------------ */
/* failure detection                                                         */

#define SW_PHI_WINDOW 200
typedef struct sw_phi {
    double iv[SW_PHI_WINDOW]; /* recent heartbeat inter-arrival times (ms) */
    int n, head;
    double sum, sumsq;
    double last_ms;           /* arrival time of the last heartbeat; < 0 before any */
    double first_ms;          /* bootstrap interval (the configured heartbeat period) */
    double pause_ms, min_std_ms;
} sw_phi;

void sw_phi_init(sw_phi *p, double heartbeat_ms, double acceptable_pause_ms, double min_std_ms);
void sw_phi_heartbeat(sw_phi *p, double now_ms);
/* Suspicion level at now_ms (0 before the first heartbeat). */
double sw_phi_value(const sw_phi *p, double now_ms);
/* Shifts the last arrival (the observer itself stalled: do not convict). */
void sw_phi_forgive(sw_phi *p, double now_ms);

/* Re-admission of a convicted node, as pure functions of a clock so that
 * the policy is tested on a simulated one. A node convicted for the n-th
 * time stays out at least flap_backoff_ms x (n - 1), x 10 at most (B5: a
 * flapping node cannot oscillate); it is re-admitted after `heartbeats`
 * consecutive heartbeats, where a gap longer than 2 intervals plus the
 * acceptable pause starts the count again. */
typedef struct sw_readmit_rule {
    double heartbeat_ms, acceptable_pause_ms, flap_backoff_ms;
    int32_t heartbeats;
} sw_readmit_rule;
double sw_readmit_not_before(const sw_readmit_rule *r, double convicted_ms, int32_t n_convictions);
/* One heartbeat of a dead node at now_ms (the previous one at last_hb_ms):
 * updates *count and returns true when the node is re-admitted now. */
bool sw_readmit_heartbeat(const sw_readmit_rule *r, int32_t *count, double last_hb_ms,
                          double now_ms, double not_before_ms);

/* ------------------------------------------------------------------------ */
/* fault injection (--chaos SPEC)                                           */

#define SW_CHAOS_MAX_PAUSES 8
typedef struct sw_chaos_node {
    double kill_at_ms;  /* < 0: never. Heartbeats stop and the worker goes silent */
    int32_t kill_at_job; /* > 0: dies on receiving its n-th subtask (while running it) */
    /* zombie windows: silent from pause_at_ms for pause_ms, then answers
     * late; several windows make a flapping node (B5) */
    double pause_at_ms[SW_CHAOS_MAX_PAUSES], pause_ms[SW_CHAOS_MAX_PAUSES];
    int n_pauses;
    double stuck_at_ms; /* alive (heartbeats) but every generation hangs */
    double stuck_until_ms; /* the stuck window ends (+inf: never) */
    double slow;        /* latency factor (1 = normal) */
    double slow_p;      /* share of its subtasks that are slowed (default 1) */
    bool corrupt;       /* results corrupted in transit (checksum catches it) */
    double corrupt_from_ms, corrupt_until_ms; /* the corrupt window (default: always) */
} sw_chaos_node;

typedef struct sw_chaos {
    bool active;
    double p_kill;      /* per subtask: the node dies while running it */
    size_t n;
    sw_chaos_node *nodes; /* [n] */
} sw_chaos;

swarm_err sw_chaos_parse(const char *spec, const swarm_swarm *s, sw_chaos *out, swarm_diag *d);
void sw_chaos_fini(sw_chaos *c);

/* splitmix64: small seeded generator; state advanced in place. */
static inline uint64_t sw_rand64(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
static inline double sw_rand01(uint64_t *s) { return (double)(sw_rand64(s) >> 11) / 9007199254740992.0; }

uint32_t sw_crc32(const void *data, size_t n);
uint64_t sw_fnv1a(const char *s);

/* ------------------------------------------------------------------------ */
/* backends: what runs a subtask on a node                                   */

typedef struct sw_work {
    swarm_subtask_kind kind;
    bool probe;                   /* health probe: one-token generation */
    const char *prompt;
    const char *const *labels;
    size_t n_labels;
    int32_t max_tokens;
    uint64_t seed;                /* sampling seed (0: the node's own) */
    const swarm_task_sampling *sampling; /* the task's overrides, or NULL */
    /* Called per generated token with its text (piece, len; NULL when the
     * work yields no text, as label scoring); non-zero stops the work
     * (cancellation). The pieces of a generation, in order, make its text. */
    int (*tick)(void *ud, int64_t tokens, const char *piece, size_t len);
    void *ud;
} sw_work;

typedef struct sw_work_out {
    char *text;        /* sw_malloc'd (generate text, classify label) */
    double value, confidence;
    int64_t tokens;
} sw_work_out;

typedef struct sw_backend sw_backend;
typedef struct sw_backend_ops {
    /* Per worker-thread state (an engine session); *slot may stay NULL. */
    swarm_err (*slot_open)(sw_backend *b, void **slot);
    void (*slot_close)(sw_backend *b, void *slot);
    swarm_err (*run)(sw_backend *b, void *slot, const sw_work *w, sw_work_out *out);
    void (*destroy)(sw_backend *b);
} sw_backend_ops;

struct sw_backend {
    const sw_backend_ops *ops;
    int64_t n_params;  /* for the FLOP energy estimate (0 unknown) */
    int32_t max_slot_threads; /* worker threads this backend wants per node (0 = capacity) */
};

/* Shared model files: each distinct (model, tokenizer) pair loaded once. */
typedef struct sw_model_cache sw_model_cache;
swarm_err sw_model_cache_create(sw_model_cache **out);
void sw_model_cache_destroy(sw_model_cache *c);
size_t sw_model_cache_count(const sw_model_cache *c);

swarm_err sw_backend_create(const swarm_node_spec *n, bool force_echo, sw_model_cache *mc,
                            sw_backend **out, swarm_diag *d);
swarm_err sw_backend_echo_create(double latency_ms, sw_backend **out);
/* Deterministic echo outputs (exposed for tests). */
void sw_echo_compute(const sw_work *w, sw_work_out *out);

/* ------------------------------------------------------------------------ */
/* transport: the contract is transport.h; these are its implementations   */

/* What node workers need to know, shared by transport implementations. */
struct sw_node_env {
    size_t n;
    const swarm_swarm *swarm;
    sw_backend **backends;      /* [n], borrowed */
    uint64_t seed;
    double heartbeat_ms;
    _Atomic uint64_t t0_ns;     /* chaos times are relative to this (first run start) */
    int32_t only;               /* >= 0: this process runs only that node (-1 = all) */
};

swarm_err sw_transport_inproc_create(sw_node_env *env, sw_transport **out, swarm_diag *d);
/* Every node in a child process (fork), talking over a socketpair with
 * length-prefixed frames; the child runs the in-process workers for its
 * one node. Must be created before the caller starts any thread. */
swarm_err sw_transport_proc_create(sw_node_env *env, sw_transport **out, swarm_diag *d);
/* Fault injection (--chaos) as a wrapper around any transport (fault.c):
 * takes ownership of inner. chaos and env must outlive the wrapper. */
swarm_err sw_transport_fault_wrap(sw_transport *inner, const sw_chaos *chaos, sw_node_env *env,
                                  sw_transport **out);
/* The transport under any fault wrapper (t itself when none). */
sw_transport *sw_transport_unwrap(sw_transport *t);
/* Child pid of node i (tests kill it), or -1; looks through a fault wrapper. */
int sw_transport_proc_pid(sw_transport *t, size_t i);
sw_transport *sw_runtime_transport(swarm_runtime *rt);
/* Tests: parks the coordinator thread (it touches neither the transport
 * nor the nodes' state until resumed), so a test may look at them. */
void sw_runtime_pause(swarm_runtime *rt);
void sw_runtime_resume(swarm_runtime *rt);
/* Tests: distinct model files loaded; the current T estimate (ms/token). */
size_t sw_runtime_model_count(const swarm_runtime *rt);
double sw_runtime_ms_per_token(swarm_runtime *rt, size_t node, const char *skill);

/* ------------------------------------------------------------------------ */
/* journal (SQLite)                                                          */

typedef struct sw_journal sw_journal;
swarm_err sw_journal_open(const char *path, sw_journal **out, swarm_diag *d);
void sw_journal_close(sw_journal *j);
swarm_err sw_journal_task_begin(sw_journal *j, const char *name, const char *digest,
                                size_t n_subtasks, const char *const *sub_names,
                                int64_t *out_task_id);
/* Records one transition; batched into the current transaction. */
void sw_journal_transition(sw_journal *j, int64_t task, int32_t sub, const char *to,
                           uint32_t epoch, int32_t node, const char *output, double value,
                           double confidence);
void sw_journal_task_end(sw_journal *j, int64_t task, const char *state, const char *result);
/* Commits the current batch (fsync'd by SQLite). */
swarm_err sw_journal_flush(sw_journal *j);

/* What the journal knows of one subtask of an unfinished task. */
enum { SW_J_OPEN, SW_J_DONE, SW_J_FAILED, SW_J_CANCELED };
typedef struct sw_journal_sub {
    int state;       /* SW_J_*: OPEN = pending or assigned (runs again) */
    uint32_t epoch;  /* highest epoch assigned so far */
    int32_t node;
    char *output;    /* sw_malloc'd when done */
    double value, confidence;
} sw_journal_sub;
/* Finds the newest task still 'running' with this name, digest and subtask
 * count (a coordinator died during it) and reads its subtasks into subs[n].
 * SWARM_ENOTFOUND when there is none. */
swarm_err sw_journal_resume(sw_journal *j, const char *name, const char *digest, size_t n,
                            int64_t *out_task, sw_journal_sub *subs);

/* ------------------------------------------------------------------------ */
/* estimates                                                                 */

#define SW_EWMA_ALPHA 0.2
/* Energy per FLOP for the estimate when a node declares no watts: a CPU core
 * doing ~10 GFLOP/s at ~1 W per GFLOP/s-ish efficiency class (documented in
 * docs/runtime.md). */
#define SW_JOULES_PER_FLOP 1e-10

#endif
