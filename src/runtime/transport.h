/*
 * transport.h: the contract between the coordinator and its nodes, the one
 * narrow interface a node is reached through, whether it is a thread of
 * this process (inproc:), a child process (proc:) or, later, a process on
 * another machine (nats:, the distributed issue). The coordinator never
 * knows which. Transports are opened by URL scheme (sw_transport_open).
 *
 *   send      a dispatch to a node (the transport owns the message)
 *   cancel    asks a node to stop one attempt (sub, epoch), if it still runs
 *   recv      results, progress and heartbeats, and membership events:
 *             SW_EV_NODE_UP when a node joins, SW_EV_NODE_DOWN when the
 *             transport knows it is gone (its process ended, its connection
 *             closed). The failure detector stays the judge of a silent node;
 *             a membership event is the transport saying what it knows.
 *
 * Delivery is at most once: a message to a dead node is lost, as on a
 * network, and the coordinator's detector and epochs cover it. Anything
 * that crosses a process boundary is encoded with the wire format
 * (wire.h). Fault injection (--chaos) is a wrapper around any transport
 * (fault.c). One coordinator thread calls a transport; its implementation
 * may run threads of its own; only wake may be called from any thread.
 * Never installed.
 */
#ifndef SW_TRANSPORT_H
#define SW_TRANSPORT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "swarm/plan.h"
#include "swarm/runtime.h"

/* What a message's subtask id holds besides a plan subtask's index (>= 0):
 * a health probe, or a one-off swarm_runtime_exec outside any run. Negative,
 * so a message for either is never confused with a plan subtask. */
enum sw_sub_id { SW_SUB_PROBE = -1, SW_SUB_EXEC = -2 };

typedef struct sw_dispatch {
    int32_t node, sub;          /* sub: a plan subtask index or an enum sw_sub_id */
    uint32_t epoch;
    uint32_t run;               /* run number: a zombie's answer to an old run is dropped */
    bool probe;
    swarm_subtask_kind kind;
    char *prompt;               /* owned */
    const char *const *labels;  /* borrowed from the plan (outlives the run) */
    size_t n_labels;
    int32_t max_tokens;
    bool stream;                /* the text of each token comes back in progress events */
    uint64_t seed;              /* sampling seed of this subtask (0 = the node's own) */
    swarm_task_sampling sampling; /* the task's overrides (sampling.set: which); its
                                   * seed field is unused: seed above is the draw's */
    _Atomic int cancel;
    struct sw_dispatch *next;
} sw_dispatch;

typedef enum {
    SW_EV_RESULT,
    SW_EV_HEARTBEAT,
    SW_EV_PROGRESS,  /* tokens so far; with stream, text is the new piece */
    SW_EV_NODE_UP,   /* membership: the node joined (or came back) */
    SW_EV_NODE_DOWN, /* membership: the transport knows the node is gone */
    SW_EV_TYPE_COUNT
} sw_ev_type;

typedef struct sw_event {
    sw_ev_type type;
    int32_t node, sub;
    uint32_t epoch;
    uint32_t run;               /* copied from the dispatch */
    bool probe, canceled;
    swarm_err rc;
    char *text;                 /* owned by the receiver after recv */
    double value, confidence;
    int64_t tokens;
    double busy_ms;
    uint64_t hlc;
    uint32_t crc;               /* checksum of text computed by the worker */
} sw_event;

typedef struct sw_transport sw_transport;
typedef struct sw_transport_ops {
    /* Queues msg for its node; the transport owns msg from then on, also
     * when it fails (SWARM_EINVAL: no such node; SWARM_ENOMEM: not sent). */
    swarm_err (*send)(sw_transport *t, sw_dispatch *msg);
    /* Asks the node to stop (sub, epoch) if still queued or running. */
    void (*cancel)(sw_transport *t, int32_t node, int32_t sub, uint32_t epoch);
    /* Waits up to timeout_ms for events; returns how many were written. */
    size_t (*recv)(sw_transport *t, sw_event *evs, size_t max, double timeout_ms);
    /* Makes a recv waiting in the coordinator thread return now (with what
     * it has, maybe nothing): a task was submitted or canceled. The one
     * call that may come from any thread. */
    void (*wake)(sw_transport *t);
    void (*destroy)(sw_transport *t);
} sw_transport_ops;

struct sw_transport {
    const sw_transport_ops *ops;
};

/* A dispatch owning copies of prompt and labels (a zombie worker may hold
 * it after the plan that made it is gone), the labels in the same
 * allocation; the caller sets epoch, run and the flags. NULL when out of
 * memory. Freed by the transport that takes it (sw_dispatch_free). */
sw_dispatch *sw_dispatch_new(int32_t node, int32_t sub, swarm_subtask_kind kind, const char *prompt,
                             const char *const *labels, size_t n_labels, int32_t max_tokens);

/* What node workers need (runtime_int.h: the swarm, backends, faults). */
typedef struct sw_node_env sw_node_env;

/*
 * Opens the transport a URL names: "inproc:" (worker threads in this
 * process) or "proc:" (one child process per node, the wire format over a
 * socketpair). Nothing may follow the scheme yet (a "nats://host" will).
 * An unknown scheme is SWARM_EINVAL with d naming the ones there are.
 */
swarm_err sw_transport_open(const char *url, sw_node_env *env, sw_transport **out,
                            swarm_diag *d);
/* The URL of a transport kind ("inproc:", "proc:"); NULL out of range. */
const char *sw_transport_url(swarm_transport_kind kind);

#endif /* SW_TRANSPORT_H */
