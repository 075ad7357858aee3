/*
 * transport_inproc.c: the in-process transport: a queue and worker threads
 * per node (one per capacity slot, each with its own backend slot/session),
 * a heartbeat thread per node, and one event queue back to the coordinator.
 * Faults (--chaos) are not applied here: fault.c wraps any transport.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "runtime_int.h"

#define PROGRESS_EVERY_MS 50.0
#define MAX_SLOT_THREADS 64
/* Worker slots plus heartbeats per process: 4096 nodes of capacity 64 would
 * ask for 266,000 threads; refusing up front beats failing half-way. */
#define MAX_THREADS 16384

typedef struct inproc inproc;

typedef struct node_rt {
    int32_t idx;
    inproc *tp;
    sw_backend *be;
    size_t n_threads;
    pthread_t *threads;
    bool *started;
    pthread_t hb;
    bool hb_started;
    pthread_mutex_t mu;
    pthread_cond_t cv;   /* workers wait here for dispatches */
    pthread_cond_t hbcv; /* the heartbeat thread sleeps here */
    sw_dispatch *head, *tail;
    sw_dispatch **running; /* [n_threads] */
    size_t idle;
    sw_hlc hlc;
} node_rt;

struct inproc {
    sw_transport base;
    sw_node_env *env;
    size_t n;
    node_rt *nodes;
    pthread_mutex_t emu;
    pthread_cond_t ecv;
    sw_event *evq;
    size_t ehead, ecount, ecap;
    bool waiting;
    bool woken; /* wake() since the last recv */
    _Atomic bool stop;
};

typedef struct worker_arg {
    node_rt *node;
    size_t slot;
} worker_arg;

/* ------------------------------------------------------------------------ */
/* event queue (worker -> coordinator) */

static void push_event(inproc *tp, const sw_event *ev)
{
    pthread_mutex_lock(&tp->emu);
    if (tp->ecount == tp->ecap) {
        size_t ncap = tp->ecap ? tp->ecap * 2 : 256;
        sw_event *nq = sw_malloc(ncap * sizeof(*nq));
        if (nq == NULL) {
            /* Dropping an event equals a lost message: the coordinator's
             * deadline, watchdog and detector recover the work. */
            pthread_mutex_unlock(&tp->emu);
            sw_free(ev->text);
            return;
        }
        for (size_t i = 0; i < tp->ecount; i++) nq[i] = tp->evq[(tp->ehead + i) % tp->ecap];
        sw_free(tp->evq);
        tp->evq = nq;
        tp->ehead = 0;
        tp->ecap = ncap;
    }
    tp->evq[(tp->ehead + tp->ecount) % tp->ecap] = *ev;
    tp->ecount++;
    if (tp->waiting) pthread_cond_signal(&tp->ecv);
    pthread_mutex_unlock(&tp->emu);
}

static void abs_deadline(struct timespec *ts, double ms)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    long long ns = ts->tv_nsec + (long long)(ms * 1e6);
    ts->tv_sec += ns / 1000000000LL;
    ts->tv_nsec = ns % 1000000000LL;
}

static size_t inproc_recv(sw_transport *t, sw_event *evs, size_t max, double timeout_ms)
{
    inproc *tp = (inproc *)t;
    pthread_mutex_lock(&tp->emu);
    if (tp->ecount == 0 && timeout_ms > 0) {
        struct timespec ts;
        abs_deadline(&ts, timeout_ms);
        tp->waiting = true;
        while (tp->ecount == 0 && !tp->woken && !atomic_load(&tp->stop))
            if (pthread_cond_timedwait(&tp->ecv, &tp->emu, &ts) != 0) break;
        tp->waiting = false;
    }
    tp->woken = false;
    size_t n = tp->ecount < max ? tp->ecount : max;
    for (size_t i = 0; i < n; i++) evs[i] = tp->evq[(tp->ehead + i) % tp->ecap];
    tp->ehead = tp->ecap ? (tp->ehead + n) % tp->ecap : 0;
    tp->ecount -= n;
    pthread_mutex_unlock(&tp->emu);
    return n;
}

/* ------------------------------------------------------------------------ */
/* workers */

typedef struct run_ctx {
    node_rt *node;
    sw_dispatch *msg;
    double last_progress;
} run_ctx;

/* Progress: every token's text when the dispatch streams (a piece that
 * cannot be copied is left out of the stream, never out of the result),
 * else a token count every PROGRESS_EVERY_MS for the watchdog. */
static int worker_tick(void *ud, int64_t tokens, const char *piece, size_t len)
{
    run_ctx *rc = ud;
    node_rt *nd = rc->node;
    if (atomic_load(&rc->msg->cancel) || atomic_load(&nd->tp->stop)) return 1;
    double now = sw_now_ms();
    if (rc->msg->stream && piece && len > 0) {
        char *text = sw_malloc(len + 1);
        if (text) {
            memcpy(text, piece, len);
            text[len] = '\0';
            rc->last_progress = now;
            sw_event ev = {.type = SW_EV_PROGRESS, .node = nd->idx, .sub = rc->msg->sub,
                           .epoch = rc->msg->epoch, .run = rc->msg->run, .tokens = tokens,
                           .text = text};
            push_event(nd->tp, &ev);
            return 0;
        }
    }
    if (now - rc->last_progress >= PROGRESS_EVERY_MS) {
        rc->last_progress = now;
        sw_event ev = {.type = SW_EV_PROGRESS, .node = nd->idx, .sub = rc->msg->sub,
                       .epoch = rc->msg->epoch, .run = rc->msg->run, .tokens = tokens};
        push_event(nd->tp, &ev);
    }
    return 0;
}

static void free_dispatch(sw_dispatch *m)
{
    if (m == NULL) return;
    sw_free(m->prompt);
    sw_free(m);
}

static void run_one(node_rt *nd, void *slot, swarm_err slot_rc, sw_dispatch *m)
{
    inproc *tp = nd->tp;
    sw_event ev = {.type = SW_EV_RESULT, .node = nd->idx, .sub = m->sub, .epoch = m->epoch,
                   .run = m->run, .probe = m->probe};
    double t0 = sw_now_ms();
    if (atomic_load(&m->cancel)) {
        ev.rc = SWARM_ECANCELED;
        ev.canceled = true;
    } else if (slot_rc != SWARM_OK) {
        ev.rc = slot_rc;
    } else {
        run_ctx rc = {nd, m, t0};
        sw_work w = {m->kind, m->probe, m->prompt, m->labels, m->n_labels, m->max_tokens, m->seed,
                     &m->sampling,
                     worker_tick, &rc};
        sw_work_out out = {0};
        ev.rc = nd->be->ops->run(nd->be, slot, &w, &out);
        if (ev.rc == SWARM_OK && atomic_load(&m->cancel)) ev.rc = SWARM_ECANCELED;
        if (ev.rc == SWARM_ECANCELED) ev.canceled = true;
        if (ev.rc == SWARM_OK) {
            ev.text = out.text;
            ev.value = out.value;
            ev.confidence = out.confidence;
            ev.tokens = out.tokens;
        } else {
            sw_free(out.text);
        }
    }
    ev.busy_ms = sw_now_ms() - t0;
    ev.crc = ev.text ? sw_crc32(ev.text, strlen(ev.text)) : 0;
    ev.hlc = sw_hlc_now(&nd->hlc, sw_wall_ms());
    push_event(tp, &ev);
}

static void *worker_main(void *arg)
{
    worker_arg *wa = arg;
    node_rt *nd = wa->node;
    size_t k = wa->slot;
    sw_free(wa);
    void *slot = NULL;
    swarm_err slot_rc = nd->be->ops->slot_open(nd->be, &slot);
    if (slot_rc) sw_log_error("node %d: worker slot failed: %s", nd->idx, swarm_strerror(slot_rc));
    for (;;) {
        pthread_mutex_lock(&nd->mu);
        nd->idle++;
        while (!atomic_load(&nd->tp->stop) && nd->head == NULL) pthread_cond_wait(&nd->cv, &nd->mu);
        nd->idle--;
        if (atomic_load(&nd->tp->stop)) {
            pthread_mutex_unlock(&nd->mu);
            break;
        }
        sw_dispatch *m = nd->head;
        nd->head = m->next;
        if (nd->head == NULL) nd->tail = NULL;
        nd->running[k] = m;
        pthread_mutex_unlock(&nd->mu);
        run_one(nd, slot, slot_rc, m);
        pthread_mutex_lock(&nd->mu);
        nd->running[k] = NULL;
        pthread_mutex_unlock(&nd->mu);
        free_dispatch(m);
    }
    if (slot_rc == SWARM_OK) nd->be->ops->slot_close(nd->be, slot);
    return NULL;
}

static void *heartbeat_main(void *arg)
{
    node_rt *nd = arg;
    inproc *tp = nd->tp;
    pthread_mutex_lock(&nd->mu);
    while (!atomic_load(&tp->stop)) {
        struct timespec ts;
        abs_deadline(&ts, tp->env->heartbeat_ms);
        while (!atomic_load(&tp->stop) && pthread_cond_timedwait(&nd->hbcv, &nd->mu, &ts) == 0) {
        }
        if (atomic_load(&tp->stop)) break;
        pthread_mutex_unlock(&nd->mu);
        sw_event ev = {.type = SW_EV_HEARTBEAT, .node = nd->idx,
                       .hlc = sw_hlc_now(&nd->hlc, sw_wall_ms())};
        push_event(tp, &ev);
        pthread_mutex_lock(&nd->mu);
    }
    pthread_mutex_unlock(&nd->mu);
    return NULL;
}

/* ------------------------------------------------------------------------ */
/* ops */

static swarm_err inproc_send(sw_transport *t, sw_dispatch *m)
{
    inproc *tp = (inproc *)t;
    if (m->node < 0 || (size_t)m->node >= tp->n) {
        free_dispatch(m);
        return SWARM_EINVAL;
    }
    node_rt *nd = &tp->nodes[m->node];
    m->next = NULL;
    pthread_mutex_lock(&nd->mu);
    if (nd->tail) nd->tail->next = m;
    else nd->head = m;
    nd->tail = m;
    if (nd->idle > 0) pthread_cond_signal(&nd->cv);
    pthread_mutex_unlock(&nd->mu);
    return SWARM_OK;
}

static void inproc_cancel(sw_transport *t, int32_t node, int32_t sub, uint32_t epoch)
{
    inproc *tp = (inproc *)t;
    if (node < 0 || (size_t)node >= tp->n) return;
    node_rt *nd = &tp->nodes[node];
    pthread_mutex_lock(&nd->mu);
    for (sw_dispatch *m = nd->head; m; m = m->next)
        if (m->sub == sub && m->epoch == epoch) atomic_store(&m->cancel, 1);
    for (size_t k = 0; k < nd->n_threads; k++) {
        sw_dispatch *m = nd->running[k];
        if (m && m->sub == sub && m->epoch == epoch) atomic_store(&m->cancel, 1);
    }
    pthread_mutex_unlock(&nd->mu);
}

static void inproc_destroy(sw_transport *t)
{
    inproc *tp = (inproc *)t;
    if (tp == NULL) return;
    atomic_store(&tp->stop, true);
    for (size_t i = 0; i < tp->n; i++) {
        node_rt *nd = &tp->nodes[i];
        pthread_mutex_lock(&nd->mu);
        pthread_cond_broadcast(&nd->cv);
        pthread_cond_broadcast(&nd->hbcv);
        pthread_mutex_unlock(&nd->mu);
    }
    pthread_mutex_lock(&tp->emu);
    pthread_cond_broadcast(&tp->ecv);
    pthread_mutex_unlock(&tp->emu);
    for (size_t i = 0; i < tp->n; i++) {
        node_rt *nd = &tp->nodes[i];
        for (size_t k = 0; k < nd->n_threads; k++)
            if (nd->started && nd->started[k]) pthread_join(nd->threads[k], NULL);
        if (nd->hb_started) pthread_join(nd->hb, NULL);
        for (sw_dispatch *m = nd->head, *nx; m; m = nx) {
            nx = m->next;
            free_dispatch(m);
        }
        pthread_mutex_destroy(&nd->mu);
        pthread_cond_destroy(&nd->cv);
        pthread_cond_destroy(&nd->hbcv);
        sw_free(nd->threads);
        sw_free(nd->started);
        sw_free(nd->running);
    }
    for (size_t i = 0; i < tp->ecount; i++) sw_free(tp->evq[(tp->ehead + i) % tp->ecap].text);
    sw_free(tp->evq);
    pthread_mutex_destroy(&tp->emu);
    pthread_cond_destroy(&tp->ecv);
    sw_free(tp->nodes);
    sw_free(tp);
}

static void inproc_wake(sw_transport *t)
{
    inproc *tp = (inproc *)t;
    pthread_mutex_lock(&tp->emu);
    tp->woken = true;
    pthread_cond_signal(&tp->ecv);
    pthread_mutex_unlock(&tp->emu);
}

static const sw_transport_ops inproc_ops = {inproc_send, inproc_cancel, inproc_recv, inproc_wake,
                                            inproc_destroy};

swarm_err sw_transport_inproc_create(sw_node_env *env, sw_transport **out, swarm_diag *d)
{
    inproc *tp = sw_calloc(1, sizeof(*tp));
    if (tp == NULL) return SWARM_ENOMEM;
    tp->base.ops = &inproc_ops;
    tp->env = env;
    pthread_mutex_init(&tp->emu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&tp->ecv, &ca);
    tp->nodes = sw_calloc(env->n ? env->n : 1, sizeof(node_rt));
    if (tp->nodes == NULL) {
        pthread_condattr_destroy(&ca);
        pthread_mutex_destroy(&tp->emu);
        pthread_cond_destroy(&tp->ecv);
        sw_free(tp);
        return SWARM_ENOMEM;
    }
    tp->n = env->n;
    swarm_err rc = SWARM_OK;
    for (size_t i = 0; i < env->n; i++) {
        node_rt *nd = &tp->nodes[i];
        nd->idx = (int32_t)i;
        nd->tp = tp;
        nd->be = env->backends[i];
        pthread_mutex_init(&nd->mu, NULL);
        pthread_cond_init(&nd->cv, &ca);
        pthread_cond_init(&nd->hbcv, &ca);
        const swarm_node_spec *spec = swarm_swarm_node(env->swarm, i);
        size_t want = nd->be->max_slot_threads > 0 ? (size_t)nd->be->max_slot_threads
                                                    : (size_t)spec->capacity;
        if (want > MAX_SLOT_THREADS) want = MAX_SLOT_THREADS;
        if (want > (size_t)spec->capacity) want = (size_t)spec->capacity;
        if (env->only >= 0 && (size_t)env->only != i) want = 0; /* another process runs it */
        nd->n_threads = want;
        nd->threads = sw_calloc(want ? want : 1, sizeof(pthread_t));
        nd->started = sw_calloc(want ? want : 1, sizeof(bool));
        nd->running = sw_calloc(want ? want : 1, sizeof(sw_dispatch *));
        if (!nd->threads || !nd->started || !nd->running) {
            rc = SWARM_ENOMEM;
            break;
        }
    }
    pthread_condattr_destroy(&ca);
    size_t total = 0;
    for (size_t i = 0; rc == SWARM_OK && i < env->n; i++)
        total += tp->nodes[i].n_threads + (env->only < 0 || (size_t)env->only == i);
    if (rc == SWARM_OK && total > MAX_THREADS)
        rc = sw_diag_set(d, SWARM_EINVAL,
                         "the swarm needs %zu threads (worker slots and heartbeats), at most %d "
                         "per process: lower the nodes' capacity",
                         total, MAX_THREADS);
    for (size_t i = 0; rc == SWARM_OK && i < env->n; i++) {
        node_rt *nd = &tp->nodes[i];
        for (size_t k = 0; k < nd->n_threads; k++) {
            worker_arg *wa = sw_malloc(sizeof(*wa));
            if (wa == NULL) {
                rc = SWARM_ENOMEM;
                break;
            }
            wa->node = nd;
            wa->slot = k;
            if (pthread_create(&nd->threads[k], NULL, worker_main, wa) != 0) {
                sw_free(wa);
                rc = sw_diag_set(d, SWARM_ESYS, "cannot start a worker thread");
                break;
            }
            nd->started[k] = true;
        }
        if (rc == SWARM_OK && (env->only < 0 || (size_t)env->only == i)) {
            if (pthread_create(&nd->hb, NULL, heartbeat_main, nd) != 0)
                rc = sw_diag_set(d, SWARM_ESYS, "cannot start a heartbeat thread");
            else nd->hb_started = true;
        }
    }
    if (rc) {
        inproc_destroy(&tp->base);
        return rc;
    }
    *out = &tp->base;
    return SWARM_OK;
}
