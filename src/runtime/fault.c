/*
 * fault.c: fault injection (--chaos) as a wrapper around any transport.
 * The faults act on what crosses the transport, so they work the same for
 * worker threads (inproc:), worker processes (proc:) and later remote nodes:
 *
 *   kill     the node falls silent for good: its heartbeats, progress and
 *            answers are dropped, dispatches to it are lost (at a time, on
 *            its n-th subtask, or with probability p_kill per subtask)
 *   pause    silent for a window (heartbeats and progress dropped), then
 *            its answers arrive late: a zombie; several windows flap
 *   stuck    alive (heartbeats) but an attempt started in the window makes
 *            no progress and answers only when canceled (ECANCELED) or
 *            when the window ends
 *   slow     an answer arrives (factor - 1) x its busy time later
 *   corrupt  an answer's text is altered in transit (the checksum catches it)
 *
 * Held answers sit in a list with the time they are due; recv waits no
 * longer than the next one. One coordinator thread calls it, as any
 * transport (transport.h).
 */
#include <string.h>

#include "runtime_int.h"

typedef enum { HOLD_PAUSE, HOLD_SLOW, HOLD_STUCK } hold_kind;

typedef struct held {
    sw_event ev;
    double due_ms; /* absolute (sw_now_ms); +inf: until canceled */
    hold_kind kind;
} held;

/* An attempt started while its node was stuck (its answer is held). */
typedef struct stuck_att {
    int32_t node, sub;
    uint32_t epoch;
    bool canceled;
} stuck_att;

typedef struct fnode {
    const sw_chaos_node *c; /* NULL: no fault on it */
    bool dead;
    int32_t jobs;
    uint64_t rng;
} fnode;

typedef struct fault {
    sw_transport base;
    sw_transport *inner; /* owned */
    const sw_chaos *chaos;
    sw_node_env *env;
    size_t n;
    fnode *nodes;
    held *hold;
    size_t n_hold, cap_hold;
    stuck_att *stuck;
    size_t n_stuck, cap_stuck;
    sw_event *out; /* ready to return */
    size_t n_out, cap_out;
} fault;

static double rel_ms(const fault *f)
{
    uint64_t t0 = atomic_load(&f->env->t0_ns);
    if (t0 == 0) return -1e300; /* no run started yet: faults not armed */
    return (double)(sw_now_ns() - t0) / 1e6;
}

static bool node_dead(fault *f, int32_t i)
{
    fnode *nd = &f->nodes[i];
    if (nd->dead) return true;
    if (nd->c && nd->c->kill_at_ms >= 0 && rel_ms(f) >= nd->c->kill_at_ms) {
        nd->dead = true;
        sw_log_info("chaos: node %d killed", (int)i);
    }
    return nd->dead;
}

/* ms left in a pause window of node i (0: not paused). */
static double pause_left(fault *f, int32_t i)
{
    const sw_chaos_node *c = f->nodes[i].c;
    if (c == NULL || c->n_pauses == 0) return 0;
    double t = rel_ms(f);
    for (int w = 0; w < c->n_pauses; w++) {
        double end = c->pause_at_ms[w] + c->pause_ms[w];
        if (t >= c->pause_at_ms[w] && t < end) return end - t;
    }
    return 0;
}

static bool node_stuck(fault *f, int32_t i)
{
    const sw_chaos_node *c = f->nodes[i].c;
    if (c == NULL || c->stuck_at_ms < 0) return false;
    double t = rel_ms(f);
    return t >= c->stuck_at_ms && t < c->stuck_until_ms;
}

static bool node_corrupts(fault *f, int32_t i)
{
    const sw_chaos_node *c = f->nodes[i].c;
    if (c == NULL || !c->corrupt) return false;
    double t = rel_ms(f);
    return t >= c->corrupt_from_ms && t < c->corrupt_until_ms;
}

/* Grows an array of elements of size sz to hold one more; false on OOM. */
static bool grow(void **p, size_t *cap, size_t n, size_t sz)
{
    if (n < *cap) return true;
    size_t nc = *cap ? *cap * 2 : 64;
    void *np = sw_realloc(*p, nc * sz);
    if (np == NULL) return false;
    *p = np;
    *cap = nc;
    return true;
}

/* Queues ev to be returned; a dropped event (out of memory) is a lost
 * message, which the detector and deadlines cover. */
static void deliver(fault *f, sw_event *ev)
{
    if (ev->type == SW_EV_RESULT && ev->rc == SWARM_OK && node_corrupts(f, ev->node)) {
        if (ev->text && ev->text[0]) ev->text[0] ^= 0x20;
        else ev->crc ^= 1u;
    }
    if (!grow((void **)&f->out, &f->cap_out, f->n_out, sizeof(sw_event))) {
        sw_free(ev->text);
        return;
    }
    f->out[f->n_out++] = *ev;
}

static void hold(fault *f, sw_event *ev, double due_ms, hold_kind kind)
{
    if (!grow((void **)&f->hold, &f->cap_hold, f->n_hold, sizeof(held))) {
        sw_free(ev->text);
        return;
    }
    f->hold[f->n_hold++] = (held){*ev, due_ms, kind};
}

static stuck_att *stuck_find(fault *f, int32_t node, int32_t sub, uint32_t epoch)
{
    for (size_t i = 0; i < f->n_stuck; i++)
        if (f->stuck[i].node == node && f->stuck[i].sub == sub && f->stuck[i].epoch == epoch)
            return &f->stuck[i];
    return NULL;
}

static void stuck_drop(fault *f, stuck_att *a) { *a = f->stuck[--f->n_stuck]; }

/* A canceled attempt answers at once, as the stuck worker did. */
static void as_canceled(sw_event *ev)
{
    sw_free(ev->text);
    ev->text = NULL;
    ev->rc = SWARM_ECANCELED;
    ev->canceled = true;
    ev->crc = 0;
}

/* ---- ops ---- */

static swarm_err fault_send(sw_transport *t, sw_dispatch *m)
{
    fault *f = (fault *)t;
    if (m->node < 0 || (size_t)m->node >= f->n) return f->inner->ops->send(f->inner, m);
    fnode *nd = &f->nodes[m->node];
    bool lost = node_dead(f, m->node);
    if (!lost && !m->probe && nd->c && nd->c->kill_at_job > 0 && ++nd->jobs == nd->c->kill_at_job) {
        nd->dead = lost = true;
        sw_log_info("chaos: node %d killed on its subtask #%d (%d)", (int)m->node,
                    (int)nd->c->kill_at_job, (int)m->sub);
    }
    if (!lost && !m->probe && f->chaos->p_kill > 0 && sw_rand01(&nd->rng) < f->chaos->p_kill) {
        nd->dead = lost = true;
        sw_log_info("chaos: node %d killed (p_kill) while running subtask %d", (int)m->node,
                    (int)m->sub);
    }
    if (lost) { /* a dead node answers nothing: the message is lost */
        sw_free(m->prompt);
        sw_free(m);
        return SWARM_OK;
    }
    if (node_stuck(f, m->node) &&
        grow((void **)&f->stuck, &f->cap_stuck, f->n_stuck, sizeof(stuck_att)))
        f->stuck[f->n_stuck++] = (stuck_att){m->node, m->sub, m->epoch, false};
    return f->inner->ops->send(f->inner, m);
}

static void fault_cancel(sw_transport *t, int32_t node, int32_t sub, uint32_t epoch)
{
    fault *f = (fault *)t;
    f->inner->ops->cancel(f->inner, node, sub, epoch);
    stuck_att *a = stuck_find(f, node, sub, epoch);
    if (a) a->canceled = true;
    /* a held stuck or slow answer is released now, as canceled */
    for (size_t i = 0; i < f->n_hold; i++) {
        held *h = &f->hold[i];
        if (h->kind == HOLD_PAUSE || h->ev.node != node || h->ev.sub != sub || h->ev.epoch != epoch)
            continue;
        sw_event ev = h->ev;
        f->hold[i--] = f->hold[--f->n_hold];
        if (a) stuck_drop(f, a), a = NULL;
        as_canceled(&ev);
        deliver(f, &ev);
    }
}

/* Applies the faults to one event from the inner transport. */
static void filter(fault *f, sw_event *ev)
{
    int32_t i = ev->node;
    if (i < 0 || (size_t)i >= f->n || f->nodes[i].c == NULL) {
        if (i >= 0 && (size_t)i < f->n && node_dead(f, i) && ev->type != SW_EV_NODE_DOWN) {
            sw_free(ev->text); /* p_kill may kill a node without a per-node fault */
            return;
        }
        deliver(f, ev);
        return;
    }
    if (ev->type == SW_EV_NODE_UP || ev->type == SW_EV_NODE_DOWN) {
        deliver(f, ev);
        return;
    }
    if (node_dead(f, i)) {
        sw_free(ev->text);
        return;
    }
    double pl = pause_left(f, i);
    stuck_att *a = stuck_find(f, i, ev->sub, ev->epoch); /* probes hang too */
    if (ev->type == SW_EV_HEARTBEAT) {
        if (pl == 0) deliver(f, ev);
        return;
    }
    if (ev->type == SW_EV_PROGRESS) {
        if (pl == 0 && a == NULL) deliver(f, ev);
        else sw_free(ev->text); /* a silent node streams nothing either */
        return;
    }
    /* a result */
    double now = sw_now_ms();
    if (a != NULL) {
        bool canceled = a->canceled;
        stuck_drop(f, a);
        if (canceled) {
            as_canceled(ev);
            deliver(f, ev);
            return;
        }
        if (node_stuck(f, i)) { /* until canceled or the window ends */
            double until = f->nodes[i].c->stuck_until_ms - rel_ms(f);
            hold(f, ev, until < 1e300 ? now + until : 1e300, HOLD_STUCK);
            return;
        }
    }
    const sw_chaos_node *c = f->nodes[i].c;
    if (ev->rc == SWARM_OK && c->slow > 1 && (c->slow_p >= 1 || sw_rand01(&f->nodes[i].rng) < c->slow_p)) {
        double extra = (c->slow - 1) * ev->busy_ms;
        ev->busy_ms += extra;
        hold(f, ev, now + extra, HOLD_SLOW);
        return;
    }
    if (pl > 0) { /* the zombie answers late */
        hold(f, ev, now + pl, HOLD_PAUSE);
        return;
    }
    deliver(f, ev);
}

/* Releases held answers that are due (still subject to pause and death). */
static void release_due(fault *f)
{
    double now = sw_now_ms();
    for (size_t k = 0; k < f->n_hold; k++) {
        held *h = &f->hold[k];
        if (h->due_ms > now) continue;
        sw_event ev = h->ev;
        f->hold[k--] = f->hold[--f->n_hold];
        if (node_dead(f, ev.node)) {
            sw_free(ev.text);
            continue;
        }
        double pl = pause_left(f, ev.node);
        if (pl > 0) {
            hold(f, &ev, now + pl, HOLD_PAUSE);
            continue;
        }
        deliver(f, &ev);
    }
}

static size_t fault_recv(sw_transport *t, sw_event *evs, size_t max, double timeout_ms)
{
    fault *f = (fault *)t;
    release_due(f);
    if (f->n_out == 0) {
        /* wait no longer than the next held answer is due */
        double now = sw_now_ms(), wait = timeout_ms;
        for (size_t k = 0; k < f->n_hold; k++)
            if (f->hold[k].due_ms - now < wait) wait = f->hold[k].due_ms - now;
        if (wait < 0) wait = 0;
        sw_event in[256];
        size_t n = f->inner->ops->recv(f->inner, in, max < 256 ? max : 256, wait);
        for (size_t k = 0; k < n; k++) filter(f, &in[k]);
        release_due(f);
    }
    size_t n = f->n_out < max ? f->n_out : max;
    if (n == 0) return 0; /* f->out may still be NULL (UBSan: memcpy from NULL) */
    memcpy(evs, f->out, n * sizeof(sw_event));
    memmove(f->out, f->out + n, (f->n_out - n) * sizeof(sw_event));
    f->n_out -= n;
    return n;
}

static void fault_destroy(sw_transport *t)
{
    fault *f = (fault *)t;
    if (f == NULL) return;
    if (f->inner) f->inner->ops->destroy(f->inner);
    for (size_t k = 0; k < f->n_hold; k++) sw_free(f->hold[k].ev.text);
    for (size_t k = 0; k < f->n_out; k++) sw_free(f->out[k].text);
    sw_free(f->hold);
    sw_free(f->stuck);
    sw_free(f->out);
    sw_free(f->nodes);
    sw_free(f);
}

static void fault_wake(sw_transport *t)
{
    fault *f = (fault *)t;
    f->inner->ops->wake(f->inner);
}

static const sw_transport_ops fault_ops = {fault_send, fault_cancel, fault_recv, fault_wake,
                                           fault_destroy};

sw_transport *sw_transport_unwrap(sw_transport *t)
{
    while (t != NULL && t->ops == &fault_ops) t = ((fault *)t)->inner;
    return t;
}

swarm_err sw_transport_fault_wrap(sw_transport *inner, const sw_chaos *chaos, sw_node_env *env,
                                  sw_transport **out)
{
    fault *f = sw_calloc(1, sizeof(*f));
    if (f == NULL) return SWARM_ENOMEM;
    f->nodes = sw_calloc(env->n ? env->n : 1, sizeof(fnode));
    if (f->nodes == NULL) {
        sw_free(f);
        return SWARM_ENOMEM;
    }
    f->base.ops = &fault_ops;
    f->inner = inner;
    f->chaos = chaos;
    f->env = env;
    f->n = env->n;
    for (size_t i = 0; i < f->n; i++) {
        f->nodes[i].c = chaos->active && i < chaos->n ? &chaos->nodes[i] : NULL;
        f->nodes[i].rng = env->seed ^ (0x9E3779B97F4A7C15ull * (i + 1));
    }
    *out = &f->base;
    return SWARM_OK;
}
