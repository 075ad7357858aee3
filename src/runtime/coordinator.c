/*
 * coordinator.c: the runtime's lifecycle and its coordinator: one thread
 * that runs every submitted task at once over the shared node pool. It
 * owns the transport (send, cancel, recv), routes each event to node
 * health (health.c) or to the task whose run id it carries (task_run.c),
 * steps every task's timers, and shares the free node slots between tasks
 * in assignment waves with a fairness rule. Callers reach it through
 * tickets (submit, cancel, wait, poll) and one-off execs, guarded by one
 * mutex; everything else here is the coordinator thread's alone.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "runtime_int.h"
#include "sched_int.h"

#define RECV_BATCH 512
#define LOOP_TICK_MS 10.0   /* while tasks run: timers (deadlines, hedges) this often */
#define IDLE_TICK_MS 50.0   /* no task: heartbeats are drained this often */

swarm_runtime_params swarm_runtime_params_default(void)
{
    swarm_runtime_params p = {0};
    p.dispatch = SWARM_DISPATCH_ASSIGN;
    p.assign_method = SWARM_ASSIGN_METHOD_FAST;
    p.heartbeat_ms = 100;
    p.detector = SWARM_DETECT_PHI;
    p.phi_threshold = 8;
    p.acceptable_pause_ms = 200;
    p.min_std_ms = 20;
    p.timeout_ms = 500;
    p.max_local_pause_ms = 1000;
    p.progress_timeout_ms = 10000;
    p.probe_timeout_ms = 2000;
    p.breaker_failures = 5;
    p.breaker_cooldown_ms = 5000;
    p.max_ejected_fraction = 0.5;
    p.readmit_heartbeats = 3;
    p.flap_backoff_ms = 30000;
    p.comm_weight = 0;
    p.hedge = true;
    p.hedge_min_samples = 20;
    p.retry_backoff_ms = 10;
    p.retry_budget = 0.2;
    p.early_stop = true;
    p.queue_cap = 64;
    p.unavailable_timeout_ms = 5000;
    return p;
}

/* ------------------------------------------------------------------------ */
/* synchronisation helpers                                                   */

static int init_sync(swarm_runtime *rt)
{
    pthread_condattr_t ca;
    if (pthread_condattr_init(&ca) != 0) return -1;
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    int e = pthread_mutex_init(&rt->mu, NULL);
    if (e == 0 && (e = pthread_cond_init(&rt->cv, &ca)) != 0) pthread_mutex_destroy(&rt->mu);
    pthread_condattr_destroy(&ca);
    rt->mu_ready = e == 0;
    return e;
}

/* Waits on rt->cv until the absolute monotonic time end_ms (< 0: no
 * limit); false when the time has passed. */
static bool wait_until(swarm_runtime *rt, double end_ms)
{
    if (end_ms < 0) {
        pthread_cond_wait(&rt->cv, &rt->mu);
        return true;
    }
    double left = end_ms - sw_now_ms();
    if (left <= 0) return false;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    long long ns = ts.tv_nsec + (long long)(left * 1e6);
    ts.tv_sec += (time_t)(ns / 1000000000LL);
    ts.tv_nsec = (long)(ns % 1000000000LL);
    return pthread_cond_timedwait(&rt->cv, &rt->mu, &ts) != ETIMEDOUT || sw_now_ms() < end_ms;
}

/* ------------------------------------------------------------------------ */
/* slots of finished tasks                                                   */

void sw_orphan_add(swarm_runtime *rt, int32_t node, uint32_t run, int32_t sub, uint32_t epoch)
{
    if (rt->n_orphans == rt->cap_orphans) {
        size_t nc = rt->cap_orphans ? rt->cap_orphans * 2 : 16;
        sw_orphan *no = sw_realloc(rt->orphans, nc * sizeof(*no));
        if (no == NULL) {
            /* cannot remember it: free the slot now (the node may be
             * overbooked by one until its canceled attempt ends) */
            if (rt->nodes[node].inflight > 0) rt->nodes[node].inflight--;
            return;
        }
        rt->orphans = no;
        rt->cap_orphans = nc;
    }
    sw_orphan o = {node, sub, run, epoch, rt->now};
    rt->orphans[rt->n_orphans++] = o;
}

static void orphan_release(swarm_runtime *rt, size_t o)
{
    node_state *ns = &rt->nodes[rt->orphans[o].node];
    if (ns->inflight > 0) ns->inflight--;
    rt->orphans[o] = rt->orphans[--rt->n_orphans];
}

/* The node answered an attempt of a finished task: its slot is free. */
static void orphan_answered(swarm_runtime *rt, const sw_event *ev)
{
    for (size_t o = 0; o < rt->n_orphans; o++) {
        const sw_orphan *x = &rt->orphans[o];
        if (x->node == ev->node && x->run == ev->run && x->sub == ev->sub && x->epoch == ev->epoch) {
            orphan_release(rt, o);
            return;
        }
    }
}

/* An answer that never comes (lost, or the node is stuck) does not hold a
 * slot for ever: after progress_timeout_ms it is free again. */
static void orphans_expire(swarm_runtime *rt)
{
    for (size_t o = 0; o < rt->n_orphans;) {
        if (rt->now - rt->orphans[o].since_ms > rt->p.progress_timeout_ms) orphan_release(rt, o);
        else o++;
    }
}

/* ------------------------------------------------------------------------ */
/* one-off execs (swarm_runtime_exec)                                        */

/* Under rt->mu: sends new exec requests and the cancels of timed-out ones. */
static void exec_send_locked(swarm_runtime *rt)
{
    for (sw_exec_req **pp = &rt->execs; *pp;) {
        sw_exec_req *q = *pp;
        if (q->msg == NULL) {
            pp = &q->next;
            continue;
        }
        sw_dispatch *msg = q->msg;
        q->msg = NULL;
        swarm_err rc = rt->tp->ops->send(rt->tp, msg);
        if (rc == SWARM_OK) {
            pp = &q->next;
            continue;
        }
        q->done = true; /* the caller returns the error; out of the list */
        q->rc = rc;
        *pp = q->next;
        pthread_cond_broadcast(&rt->cv);
    }
    for (size_t k = 0; k < rt->n_exec_cancel; k++)
        rt->tp->ops->cancel(rt->tp, rt->exec_cancel[k].node, SW_SUB_EXEC, rt->exec_cancel[k].epoch);
    rt->n_exec_cancel = 0;
}

static void exec_answered(swarm_runtime *rt, sw_event *ev)
{
    pthread_mutex_lock(&rt->mu);
    for (sw_exec_req **pp = &rt->execs; *pp; pp = &(*pp)->next) {
        sw_exec_req *q = *pp;
        if (q->epoch != ev->epoch || q->node != ev->node || q->done) continue;
        q->rc = ev->rc;
        if (q->rc == SWARM_OK && (ev->text ? sw_crc32(ev->text, strlen(ev->text)) : 0) != ev->crc)
            q->rc = SWARM_EFORMAT;
        if (q->rc == SWARM_OK && ev->tokens > 0 && ev->busy_ms >= 0) {
            node_state *ns = &rt->nodes[ev->node];
            double x = ev->busy_ms / (double)ev->tokens;
            ns->exec_ms_per_token = ns->exec_samples++ == 0
                                        ? x
                                        : (1 - SW_EWMA_ALPHA) * ns->exec_ms_per_token + SW_EWMA_ALPHA * x;
        }
        if (q->rc == SWARM_OK) {
            q->text = ev->text;
            ev->text = NULL;
            q->value = ev->value;
            q->confidence = ev->confidence;
        }
        q->done = true;
        *pp = q->next;
        pthread_cond_broadcast(&rt->cv);
        break;
    }
    pthread_mutex_unlock(&rt->mu);
    sw_free(ev->text);
}

/* ------------------------------------------------------------------------ */
/* tickets                                                                   */

static sw_ticket *ticket_find(swarm_runtime *rt, uint64_t id)
{
    for (sw_ticket *t = rt->tickets; t; t = t->next)
        if (t->id == id) return t;
    return NULL;
}

static void ticket_unlink(swarm_runtime *rt, sw_ticket *tk)
{
    for (sw_ticket **pp = &rt->tickets; *pp; pp = &(*pp)->next)
        if (*pp == tk) {
            *pp = tk->next;
            rt->n_tickets--;
            return;
        }
}

/* The task is over (or could not start): its run is freed, then the ticket
 * is marked, so a waiter that returns never races the coordinator for the
 * caller's task. */
static void ticket_finish(swarm_runtime *rt, sw_run *R, swarm_err rc, const swarm_diag *dg,
                          swarm_run_result *res)
{
    sw_ticket *tk = R->tk;
    if (R->o.on_event) {
        swarm_task_event te = {0};
        te.type = SWARM_TASK_EVENT_DONE;
        te.ticket = R->ticket;
        te.done = R->n_terminal;
        te.total = R->m;
        te.status = rc ? rc : res ? res->status : SWARM_ENOMEM;
        R->o.on_event(R->o.ud, &te);
    }
    sw_run_free(R);
    pthread_mutex_lock(&rt->mu);
    tk->R = NULL;
    tk->rc = rc;
    if (dg) tk->diag = *dg;
    tk->res = res;
    tk->finished = true;
    tk->finish_seq = ++rt->finish_seq;
    pthread_cond_broadcast(&rt->cv);
    pthread_mutex_unlock(&rt->mu);
}

/* ------------------------------------------------------------------------ */
/* the coordinator thread                                                    */

static swarm_err runs_push(swarm_runtime *rt, sw_run *R)
{
    if (rt->n_runs == rt->cap_runs) {
        size_t nc = rt->cap_runs ? rt->cap_runs * 2 : 16;
        sw_run **nr = sw_realloc(rt->runs, nc * sizeof(*nr));
        sw_run **no = sw_realloc(rt->wave_order, nc * sizeof(*no));
        if (nr) rt->runs = nr;
        if (no) rt->wave_order = no;
        if (nr == NULL || no == NULL) return SWARM_ENOMEM;
        rt->cap_runs = nc;
    }
    rt->runs[rt->n_runs++] = R;
    return SWARM_OK;
}

static void clock_tick(swarm_runtime *rt)
{
    rt->now = sw_now_ms();
    for (size_t r = 0; r < rt->n_runs; r++) rt->runs[r]->now = rt->now;
}

/* Starts a submitted task; one that cannot start finishes at once with the
 * error (its journal could not record it). */
static void start_run(swarm_runtime *rt, sw_run *R)
{
    if (rt->n_runs == 0) sw_health_wake(rt); /* the first task after an idle spell */
    swarm_diag dg = {{0}};
    swarm_err rc = sw_run_start(R, &dg);
    if (rc == SWARM_OK) rc = runs_push(rt, R);
    if (rc != SWARM_OK) ticket_finish(rt, R, rc, &dg, NULL);
}

static void cancel_run(sw_run *R, swarm_err why)
{
    if (R->cancel_asked) return;
    R->cancel_asked = true;
    R->cancel_why = why;
    sw_run_cancel(R, why == SWARM_ETIMEDOUT ? "task deadline" : "canceled by the caller");
}

/* Takes what callers asked for since the last loop: new tasks, cancels,
 * execs, a pause. false when the runtime is stopping. */
static bool take_requests(swarm_runtime *rt)
{
    sw_run *fresh[64];
    size_t n_fresh = 0;
    pthread_mutex_lock(&rt->mu);
    while (rt->pause && !rt->stop) { /* tests look at the transport meanwhile */
        rt->parked = true;
        pthread_cond_broadcast(&rt->cv);
        pthread_cond_wait(&rt->cv, &rt->mu);
    }
    rt->parked = false;
    if (rt->stop) {
        pthread_mutex_unlock(&rt->mu);
        return false;
    }
    clock_tick(rt);
    exec_send_locked(rt);
    for (size_t k = 0; k < rt->n_admin_req; k++)
        sw_health_admin(rt, rt->admin_req[k].node, rt->admin_req[k].to);
    rt->n_admin_req = 0;
    if (rt->have_fresh || rt->have_cancel) {
        bool more = false;
        for (sw_ticket *t = rt->tickets; t; t = t->next) {
            if (t->R == NULL) continue;
            if (!t->started) {
                if (n_fresh == sizeof(fresh) / sizeof(fresh[0])) {
                    more = true; /* the rest on the next loop */
                    continue;
                }
                t->started = true;
                fresh[n_fresh++] = t->R;
            }
        }
        rt->have_fresh = more;
    }
    /* cancels are applied below, after the new tasks started: collect the
     * tickets (a task that failed to start is freed by then) */
    uint64_t canceled[64];
    size_t n_canceled = 0;
    if (rt->have_cancel) {
        rt->have_cancel = false;
        for (sw_ticket *t = rt->tickets; t; t = t->next)
            if (t->cancel && t->R && !t->R->cancel_asked) {
                if (n_canceled == sizeof(canceled) / sizeof(canceled[0])) {
                    rt->have_cancel = true;
                    break;
                }
                canceled[n_canceled++] = t->id;
            }
    }
    pthread_mutex_unlock(&rt->mu);
    for (size_t k = 0; k < n_fresh; k++) start_run(rt, fresh[k]);
    clock_tick(rt);
    for (size_t k = 0; k < n_canceled; k++) {
        pthread_mutex_lock(&rt->mu);
        sw_ticket *t = ticket_find(rt, canceled[k]);
        sw_run *R = t ? t->R : NULL;
        if (R && R->run_id == 0) rt->have_cancel = true; /* not started yet: next loop */
        pthread_mutex_unlock(&rt->mu);
        if (R && R->run_id != 0) cancel_run(R, SWARM_ECANCELED);
    }
    return true;
}

static sw_run *run_by_id(swarm_runtime *rt, uint32_t id)
{
    for (size_t r = 0; r < rt->n_runs; r++)
        if (rt->runs[r]->run_id == id) return rt->runs[r];
    return NULL;
}

/* Every event goes to one owner: node health, an exec, or the task whose
 * run id it carries (the run-id fence: a stale answer finds no task, or a
 * task whose subtask and epoch checks refuse it). */
static void route_event(swarm_runtime *rt, sw_event *ev)
{
    if (ev->node < 0 || (size_t)ev->node >= rt->n) {
        sw_free(ev->text);
        return;
    }
    if (ev->type != SW_EV_RESULT && ev->type != SW_EV_PROGRESS) {
        sw_health_event(rt, ev);
        sw_free(ev->text);
        return;
    }
    if (ev->probe) {
        if (ev->type == SW_EV_RESULT) sw_health_event(rt, ev);
        sw_free(ev->text);
        return;
    }
    if (ev->sub == SW_SUB_EXEC) {
        if (ev->type == SW_EV_RESULT) exec_answered(rt, ev);
        else sw_free(ev->text);
        return;
    }
    sw_run *R = run_by_id(rt, ev->run);
    if (R) {
        sw_run_event(R, ev);
        return;
    }
    if (ev->type == SW_EV_RESULT) orphan_answered(rt, ev);
    sw_free(ev->text);
}

/* One task's wave; a task that got a slot is marked as served now. */
static void serve(swarm_runtime *rt, sw_run *R, int32_t limit)
{
    size_t before = R->n_rows;
    sw_run_wave(R, limit);
    if (R->n_rows != before) R->last_served = ++rt->serve_seq;
}

static int wave_order_cmp(const void *a, const void *b)
{
    const sw_run *x = *(sw_run *const *)a, *y = *(sw_run *const *)b;
    if (x->o.priority != y->o.priority) return x->o.priority > y->o.priority ? -1 : 1;
    if (x->wave_inflight != y->wave_inflight) return x->wave_inflight < y->wave_inflight ? -1 : 1;
    if (x->last_served != y->last_served) return x->last_served < y->last_served ? -1 : 1;
    return x->ticket < y->ticket ? -1 : x->ticket > y->ticket;
}

/*
 * The fairness rule. Tasks with ready work are served in order: higher
 * priority first, then the one with the fewest attempts in flight, then
 * the one served least recently (round robin: a task that just got a slot
 * goes to the back), then the oldest. In a first pass each takes at most
 * its share of the free slots (free / tasks waiting, rounded up); slots
 * left over go, in the same order, to whoever can still use them. A small
 * task thus gets a slot as soon as one frees up, however large the task
 * that holds the others, and no task of equal priority waits for ever.
 */
static void fair_waves(swarm_runtime *rt)
{
    size_t nw = 0;
    for (size_t r = 0; r < rt->n_runs; r++)
        if (rt->runs[r]->rq_n > 0) rt->wave_order[nw++] = rt->runs[r];
    if (nw == 0) return;
    int32_t free_total = 0;
    for (size_t i = 0; i < rt->n; i++)
        if (sw_node_available(rt, i)) free_total += sw_node_free(rt, i);
    if (free_total == 0) return;
    if (nw == 1) {
        serve(rt, rt->wave_order[0], free_total);
        return;
    }
    for (size_t k = 0; k < nw; k++) rt->wave_order[k]->wave_inflight = sw_run_inflight(rt->wave_order[k]);
    qsort(rt->wave_order, nw, sizeof(sw_run *), wave_order_cmp);
    int32_t share = (free_total + (int32_t)nw - 1) / (int32_t)nw;
    for (size_t k = 0; k < nw; k++) serve(rt, rt->wave_order[k], share);
    for (size_t k = 0; k < nw; k++)
        if (rt->wave_order[k]->rq_n > 0) serve(rt, rt->wave_order[k], free_total);
}

/* One loop's work between the events: deadlines, health, timers, waves,
 * and the tasks that finished. */
static void step(swarm_runtime *rt)
{
    for (size_t r = 0; r < rt->n_runs; r++) {
        sw_run *R = rt->runs[r];
        if (R->o.deadline_ms > 0 && rt->now - R->submitted_ms > R->o.deadline_ms)
            cancel_run(R, SWARM_ETIMEDOUT);
    }
    if (rt->n_runs > 0) sw_health_tick(rt);
    for (size_t r = 0; r < rt->n_runs; r++) sw_run_timers(rt->runs[r]);
    fair_waves(rt);
    orphans_expire(rt);
    size_t w = 0;
    for (size_t r = 0; r < rt->n_runs; r++) {
        sw_run *R = rt->runs[r];
        sw_run_after_loop(R);
        if (!sw_run_finished(R)) {
            rt->runs[w++] = R;
            continue;
        }
        swarm_run_result *res = NULL;
        swarm_err rc = sw_run_end(R, &res);
        ticket_finish(rt, R, rc, NULL, res);
    }
    rt->n_runs = w;
}

static bool work_ready(const swarm_runtime *rt)
{
    for (size_t r = 0; r < rt->n_runs; r++)
        if (rt->runs[r]->rq_n > 0) return true;
    return false;
}

/* Stopping: every task still running ends canceled (its waiter, if any,
 * gets the result; destroy frees the rest). */
static void drain_runs(swarm_runtime *rt)
{
    clock_tick(rt);
    for (size_t r = 0; r < rt->n_runs; r++) {
        sw_run *R = rt->runs[r];
        cancel_run(R, SWARM_ECANCELED);
        swarm_run_result *res = NULL;
        swarm_err rc = sw_run_end(R, &res);
        ticket_finish(rt, R, rc, NULL, res);
    }
    rt->n_runs = 0;
}

static void *coordinator_main(void *arg)
{
    swarm_runtime *rt = arg;
    sw_event *evs = rt->evs;
    double last_loop = sw_now_ms();
    while (take_requests(rt)) {
        /* new tasks are placed before waiting for events */
        step(rt);
        double timeout = rt->n_runs == 0 ? IDLE_TICK_MS : work_ready(rt) ? 1 : LOOP_TICK_MS;
        /* no later than the next deadline or retry: timers fire on time */
        for (size_t r = 0; r < rt->n_runs; r++) {
            double due = sw_run_next_due(rt->runs[r]) - sw_now_ms();
            if (due < timeout) timeout = due > 0 ? due : 0;
        }
        size_t ne = rt->tp->ops->recv(rt->tp, evs, RECV_BATCH, timeout);
        clock_tick(rt);
        if (rt->now - last_loop > rt->p.max_local_pause_ms) {
            /* The observer itself stalled: silence it saw is its own fault. */
            for (size_t i = 0; i < rt->n; i++) sw_phi_forgive(&rt->nodes[i].phi, rt->now);
        }
        last_loop = rt->now;
        for (size_t q = 0; q < ne; q++) route_event(rt, &evs[q]);
        while (ne == RECV_BATCH && (ne = rt->tp->ops->recv(rt->tp, evs, RECV_BATCH, 0)) > 0)
            for (size_t q = 0; q < ne; q++) route_event(rt, &evs[q]);
    }
    drain_runs(rt);
    return NULL;
}

static swarm_err start_coordinator(swarm_runtime *rt, swarm_diag *d)
{
    rt->now = sw_now_ms();
    if ((rt->evs = sw_malloc(RECV_BATCH * sizeof(sw_event))) == NULL) return SWARM_ENOMEM;
    int e = pthread_create(&rt->thread, NULL, coordinator_main, rt);
    if (e != 0) return sw_diag_set(d, SWARM_ESYS, "cannot start the coordinator thread: %s", strerror(e));
    rt->thread_started = true;
    return SWARM_OK;
}

static void stop_coordinator(swarm_runtime *rt)
{
    if (!rt->thread_started) return;
    pthread_mutex_lock(&rt->mu);
    rt->stop = true;
    pthread_cond_broadcast(&rt->cv);
    pthread_mutex_unlock(&rt->mu);
    rt->tp->ops->wake(rt->tp);
    pthread_join(rt->thread, NULL);
    rt->thread_started = false;
}

static void free_bookkeeping(swarm_runtime *rt)
{
    for (sw_ticket *t = rt->tickets, *nx; t; t = nx) {
        nx = t->next;
        sw_run_free(t->R); /* submitted but never started */
        swarm_run_result_destroy(t->res);
        sw_free(t);
    }
    for (sw_exec_req *q = rt->execs; q; q = q->next) {
        if (q->msg) {
            sw_free(q->msg->prompt);
            sw_free(q->msg);
        }
    }
    for (size_t r = 0; r < rt->n_runs; r++) sw_run_free(rt->runs[r]);
    sw_free(rt->runs);
    sw_free(rt->wave_order);
    sw_free(rt->orphans);
    sw_free(rt->evs);
    if (rt->mu_ready) {
        pthread_mutex_destroy(&rt->mu);
        pthread_cond_destroy(&rt->cv);
    }
}

/* ------------------------------------------------------------------------ */
/* lifecycle                                                                 */

void swarm_runtime_destroy(swarm_runtime *rt)
{
    if (rt == NULL) return;
    stop_coordinator(rt);
    if (rt->tp) rt->tp->ops->destroy(rt->tp);
    for (size_t i = 0; rt->backends && i < rt->n; i++)
        if (rt->backends[i]) rt->backends[i]->ops->destroy(rt->backends[i]);
    sw_free(rt->backends);
    sw_model_cache_destroy(rt->mc);
    sw_chaos_fini(&rt->chaos);
    sw_journal_close(rt->journal);
    for (size_t i = 0; rt->nodes && i < rt->n; i++) {
        for (size_t k = 0; k < rt->nodes[i].n_est; k++) sw_free(rt->nodes[i].est[k].skill);
        sw_free(rt->nodes[i].est);
    }
    sw_free(rt->nodes);
    for (size_t i = 0; i < rt->n_hc; i++) sw_free(rt->hc[i].key);
    sw_free(rt->hc);
    sw_free(rt->chaos_spec);
    sw_free(rt->journal_path);
    free_bookkeeping(rt);
    sw_free(rt);
}

swarm_err swarm_runtime_create(const swarm_swarm *s, const swarm_runtime_params *p,
                               swarm_runtime **out, swarm_diag *d)
{
    SWARM_ASSERT(s != NULL && out != NULL);
    swarm_runtime_params def = swarm_runtime_params_default();
    if (p == NULL) p = &def;
    if (!(p->heartbeat_ms > 0) || !(p->phi_threshold > 0) || p->queue_cap == 0 ||
        p->breaker_failures < 1 || !(p->progress_timeout_ms > 0) || !(p->flap_backoff_ms >= 0) ||
        !(p->comm_weight >= 0 && p->comm_weight < 1e12) ||
        !(p->max_ejected_fraction >= 0 && p->max_ejected_fraction <= 1))
        return sw_diag_set(d, SWARM_EINVAL, "runtime parameters out of range");
    swarm_runtime *rt = sw_calloc(1, sizeof(*rt));
    if (rt == NULL) return SWARM_ENOMEM;
    swarm_err rc = SWARM_ENOMEM;
    if (init_sync(rt) != 0) {
        sw_free(rt);
        return sw_diag_set(d, SWARM_ESYS, "cannot create the coordinator's mutex");
    }
    rt->swarm = s;
    rt->p = *p;
    rt->n = swarm_swarm_count(s);
    rt->seed = p->seed ? p->seed : (sw_now_ns() ^ (sw_wall_ms() << 20));
    rt->rng = rt->seed;
    if (p->chaos && (rt->chaos_spec = sw_strdup(p->chaos)) == NULL) goto fail;
    if (p->journal_path && (rt->journal_path = sw_strdup(p->journal_path)) == NULL) goto fail;
    rt->p.chaos = rt->chaos_spec;
    rt->p.journal_path = rt->journal_path;
    if ((rc = sw_chaos_parse(rt->chaos_spec, s, &rt->chaos, d))) goto fail;
    rc = SWARM_ENOMEM;
    rt->nodes = sw_calloc(rt->n, sizeof(node_state));
    rt->backends = sw_calloc(rt->n, sizeof(sw_backend *));
    if (!rt->nodes || !rt->backends) goto fail;
    if ((rc = sw_model_cache_create(&rt->mc))) goto fail;
    for (size_t i = 0; i < rt->n; i++) {
        if ((rc = sw_backend_create(swarm_swarm_node(s, i), p->force_echo, rt->mc,
                                    &rt->backends[i], d)))
            goto fail;
        sw_phi_init(&rt->nodes[i].phi, p->heartbeat_ms, p->acceptable_pause_ms, p->min_std_ms);
    }
    if (rt->journal_path && (rc = sw_journal_open(rt->journal_path, &rt->journal, d))) goto fail;
    rt->env.n = rt->n;
    rt->env.swarm = s;
    rt->env.backends = rt->backends;
    rt->env.seed = rt->seed;
    rt->env.heartbeat_ms = p->heartbeat_ms;
    rt->env.only = -1;
    /* by URL: the transport_url given, else the kind's ("inproc:", "proc:") */
    rc = sw_transport_open(p->transport_url ? p->transport_url : sw_transport_url(p->transport),
                           &rt->env, &rt->tp, d);
    rt->p.transport_url = NULL; /* borrowed: only read here */
    if (rc) goto fail;
    /* Faults are injected by a wrapper around the transport (fault.c), so
     * they act alike on every transport; the workers run without them. */
    if (rt->chaos.active) {
        sw_transport *wrapped = NULL;
        if ((rc = sw_transport_fault_wrap(rt->tp, &rt->chaos, &rt->env, &wrapped))) goto fail;
        rt->tp = wrapped;
    }
    if ((rc = start_coordinator(rt, d))) goto fail;
    *out = rt;
    return SWARM_OK;
fail:
    swarm_runtime_destroy(rt);
    return rc;
}

uint64_t swarm_runtime_seed(const swarm_runtime *rt) { return rt->seed; }

sw_transport *sw_runtime_transport(swarm_runtime *rt) { return rt->tp; }

size_t sw_runtime_model_count(const swarm_runtime *rt) { return sw_model_cache_count(rt->mc); }

void sw_runtime_pause(swarm_runtime *rt)
{
    pthread_mutex_lock(&rt->mu);
    rt->pause = true;
    pthread_mutex_unlock(&rt->mu);
    rt->tp->ops->wake(rt->tp);
    pthread_mutex_lock(&rt->mu);
    while (!rt->parked && rt->thread_started && !rt->stop) pthread_cond_wait(&rt->cv, &rt->mu);
    pthread_mutex_unlock(&rt->mu);
}

void sw_runtime_resume(swarm_runtime *rt)
{
    pthread_mutex_lock(&rt->mu);
    rt->pause = false;
    pthread_cond_broadcast(&rt->cv);
    pthread_mutex_unlock(&rt->mu);
}

/* ------------------------------------------------------------------------ */
/* the API: submit, cancel, wait, poll                                       */

swarm_submit_opts swarm_submit_opts_default(void)
{
    swarm_submit_opts o = {0};
    return o;
}

swarm_err swarm_runtime_submit(swarm_runtime *rt, const swarm_task *task,
                               const swarm_submit_opts *o, uint64_t *out_ticket, swarm_diag *d)
{
    if (rt == NULL || task == NULL)
        return sw_diag_set(d, SWARM_EINVAL, "submit: no runtime or no task");
    swarm_submit_opts opts = o ? *o : swarm_submit_opts_default();
    if (!(opts.deadline_ms >= 0) || isinf(opts.deadline_ms))
        return sw_diag_set(d, SWARM_EINVAL, "submit: deadline_ms must be a finite number >= 0");
    pthread_mutex_lock(&rt->mu);
    swarm_err rc = SWARM_OK;
    if (rt->stop) rc = SWARM_ECLOSED;
    else if (rt->n_tickets >= rt->p.queue_cap) rc = SWARM_EFULL;
    else rt->n_tickets++; /* reserved while the plan is built */
    pthread_mutex_unlock(&rt->mu);
    if (rc == SWARM_EFULL)
        return sw_diag_set(d, rc, "%zu tasks are submitted and not collected (queue_cap)",
                           rt->p.queue_cap);
    if (rc) return sw_diag_set(d, rc, "the runtime is shutting down");
    swarm_plan *plan = NULL;
    sw_run *R = NULL;
    sw_ticket *tk = sw_calloc(1, sizeof(*tk));
    if (tk == NULL) rc = SWARM_ENOMEM;
    if (rc == SWARM_OK) rc = swarm_plan_build(task, &plan, d);
    if (rc == SWARM_OK) rc = sw_run_prepare(rt, task, plan, &R, d); /* owns plan */
    pthread_mutex_lock(&rt->mu);
    if (rc != SWARM_OK) {
        rt->n_tickets--;
        pthread_mutex_unlock(&rt->mu);
        sw_free(tk);
        return rc;
    }
    R->o = opts;
    R->submitted_ms = sw_now_ms();
    R->tk = tk;
    tk->R = R;
    tk->id = ++rt->next_ticket;
    R->ticket = tk->id;
    sw_ticket **pp = &rt->tickets;
    while (*pp) pp = &(*pp)->next;
    *pp = tk;
    rt->have_fresh = true;
    if (out_ticket) *out_ticket = tk->id;
    pthread_mutex_unlock(&rt->mu);
    rt->tp->ops->wake(rt->tp);
    return SWARM_OK;
}

swarm_err swarm_runtime_cancel(swarm_runtime *rt, uint64_t ticket)
{
    pthread_mutex_lock(&rt->mu);
    sw_ticket *tk = ticket_find(rt, ticket);
    if (tk && !tk->finished) {
        tk->cancel = true;
        rt->have_cancel = true;
    }
    pthread_mutex_unlock(&rt->mu);
    if (tk == NULL) return SWARM_ENOTFOUND;
    rt->tp->ops->wake(rt->tp);
    return SWARM_OK;
}

/* Under rt->mu: hands a finished ticket's outcome to the caller. */
static swarm_err collect_locked(swarm_runtime *rt, sw_ticket *tk, swarm_run_result **out,
                                swarm_diag *d)
{
    ticket_unlink(rt, tk);
    swarm_err rc = tk->rc;
    if (rc && d) *d = tk->diag;
    *out = tk->res;
    sw_free(tk);
    return rc;
}

swarm_err swarm_runtime_wait(swarm_runtime *rt, uint64_t ticket, double timeout_ms,
                             swarm_run_result **out, swarm_diag *d)
{
    SWARM_ASSERT(rt && out);
    *out = NULL;
    double end = timeout_ms < 0 ? -1 : sw_now_ms() + timeout_ms;
    pthread_mutex_lock(&rt->mu);
    for (;;) {
        /* looked up again after every wake: another waiter may have
         * collected it */
        sw_ticket *tk = ticket_find(rt, ticket);
        if (tk == NULL) {
            pthread_mutex_unlock(&rt->mu);
            return sw_diag_set(d, SWARM_ENOTFOUND, "no task with ticket %llu (never submitted, "
                               "or collected already)", (unsigned long long)ticket);
        }
        if (tk->finished) {
            swarm_err rc = collect_locked(rt, tk, out, d);
            pthread_mutex_unlock(&rt->mu);
            return rc;
        }
        if (!wait_until(rt, end)) {
            pthread_mutex_unlock(&rt->mu);
            return sw_diag_set(d, SWARM_ETIMEDOUT, "task %llu still running after %.0f ms",
                               (unsigned long long)ticket, timeout_ms);
        }
    }
}

swarm_err swarm_runtime_poll(swarm_runtime *rt, uint64_t *out_ticket, swarm_run_result **out,
                             swarm_diag *d)
{
    SWARM_ASSERT(rt && out);
    *out = NULL;
    pthread_mutex_lock(&rt->mu);
    sw_ticket *best = NULL;
    for (sw_ticket *t = rt->tickets; t; t = t->next)
        if (t->finished && (best == NULL || t->finish_seq < best->finish_seq)) best = t;
    if (best == NULL) {
        pthread_mutex_unlock(&rt->mu);
        return SWARM_ENOTFOUND;
    }
    if (out_ticket) *out_ticket = best->id;
    swarm_err rc = collect_locked(rt, best, out, d);
    pthread_mutex_unlock(&rt->mu);
    return rc;
}

size_t swarm_runtime_active(swarm_runtime *rt)
{
    pthread_mutex_lock(&rt->mu);
    size_t n = rt->n_tickets;
    pthread_mutex_unlock(&rt->mu);
    return n;
}

swarm_err swarm_runtime_run(swarm_runtime *rt, const swarm_task *task, swarm_run_result **out,
                            swarm_diag *d)
{
    SWARM_ASSERT(rt && task && out);
    uint64_t ticket = 0;
    swarm_err rc = swarm_runtime_submit(rt, task, NULL, &ticket, d);
    if (rc) return rc;
    return swarm_runtime_wait(rt, ticket, -1, out, d);
}

/* ------------------------------------------------------------------------ */
/* membership                                                                */

/* The state asked last for node i: a waiting request, else the node's. */
static swarm_node_admin admin_asked_locked(const swarm_runtime *rt, size_t i)
{
    for (size_t k = rt->n_admin_req; k-- > 0;)
        if (rt->admin_req[k].node == i) return rt->admin_req[k].to;
    return rt->nodes[i].admin;
}

swarm_err swarm_runtime_node_set(swarm_runtime *rt, const char *name, swarm_node_admin to)
{
    if (rt == NULL || name == NULL || (unsigned)to >= SWARM_NODE_ADMIN_COUNT) return SWARM_EINVAL;
    int32_t i = swarm_swarm_find(rt->swarm, name);
    if (i < 0) return SWARM_ENOTFOUND;
    swarm_err rc = SWARM_OK;
    pthread_mutex_lock(&rt->mu);
    swarm_node_admin now = admin_asked_locked(rt, (size_t)i);
    if (now == SWARM_NODE_REMOVED && to != SWARM_NODE_REMOVED) rc = SWARM_EINVAL;
    else if (rt->n_admin_req == sizeof(rt->admin_req) / sizeof(rt->admin_req[0])) rc = SWARM_EFULL;
    else {
        rt->admin_req[rt->n_admin_req].node = (size_t)i;
        rt->admin_req[rt->n_admin_req].to = to;
        rt->n_admin_req++;
    }
    pthread_mutex_unlock(&rt->mu);
    if (rc == SWARM_OK) rt->tp->ops->wake(rt->tp);
    return rc;
}

swarm_err swarm_runtime_node_speed(swarm_runtime *rt, size_t i, double *ms_per_token,
                                   int64_t *samples)
{
    if (rt == NULL || i >= rt->n || ms_per_token == NULL) return SWARM_EINVAL;
    pthread_mutex_lock(&rt->mu);
    int64_t n = rt->nodes[i].exec_samples;
    *ms_per_token = n > 0 ? rt->nodes[i].exec_ms_per_token : NAN;
    pthread_mutex_unlock(&rt->mu);
    if (samples) *samples = n;
    return SWARM_OK;
}

swarm_err swarm_runtime_node_get(swarm_runtime *rt, const char *name, swarm_node_admin *out)
{
    if (rt == NULL || name == NULL || out == NULL) return SWARM_EINVAL;
    int32_t i = swarm_swarm_find(rt->swarm, name);
    if (i < 0) return SWARM_ENOTFOUND;
    pthread_mutex_lock(&rt->mu);
    *out = admin_asked_locked(rt, (size_t)i);
    pthread_mutex_unlock(&rt->mu);
    return SWARM_OK;
}

/* ------------------------------------------------------------------------ */
/* exec: one subtask on one node, outside any task                           */

swarm_err swarm_runtime_exec(swarm_runtime *rt, size_t node, swarm_subtask_kind kind,
                             const char *prompt, const char *const *labels, size_t n_labels,
                             int32_t max_tokens, double timeout_ms, char **out_text,
                             double *out_value, double *out_confidence, swarm_diag *d)
{
    if (rt == NULL || node >= rt->n || prompt == NULL || n_labels > SW_RT_MAX_LABELS ||
        !(timeout_ms > 0))
        return sw_diag_set(d, SWARM_EINVAL, "exec: bad node or arguments");
    sw_exec_req q = {0};
    q.node = (int32_t)node;
    /* outside any run: SW_SUB_EXEC is never confused with a plan subtask */
    q.msg = sw_dispatch_new((int32_t)node, SW_SUB_EXEC, kind, prompt, labels, n_labels, max_tokens);
    if (q.msg == NULL) return SWARM_ENOMEM;
    uint64_t zero = 0;
    atomic_compare_exchange_strong(&rt->env.t0_ns, &zero, sw_now_ns());
    double end = sw_now_ms() + timeout_ms;
    pthread_mutex_lock(&rt->mu);
    if (rt->stop) {
        pthread_mutex_unlock(&rt->mu);
        sw_free(q.msg->prompt);
        sw_free(q.msg);
        return sw_diag_set(d, SWARM_ECLOSED, "the runtime is shutting down");
    }
    q.epoch = q.msg->epoch = ++rt->exec_epoch;
    q.next = rt->execs;
    rt->execs = &q;
    pthread_mutex_unlock(&rt->mu);
    rt->tp->ops->wake(rt->tp);
    pthread_mutex_lock(&rt->mu);
    while (!q.done && wait_until(rt, end)) {
    }
    if (!q.done) {
        /* still listed: take it out, and tell the node when it went out */
        for (sw_exec_req **pp = &rt->execs; *pp; pp = &(*pp)->next)
            if (*pp == &q) {
                *pp = q.next;
                break;
            }
        if (q.msg == NULL && rt->n_exec_cancel < SW_EXEC_CANCELS) {
            rt->exec_cancel[rt->n_exec_cancel].node = q.node;
            rt->exec_cancel[rt->n_exec_cancel].epoch = q.epoch;
            rt->n_exec_cancel++;
        }
    }
    pthread_mutex_unlock(&rt->mu);
    if (!q.done) {
        if (q.msg) {
            sw_free(q.msg->prompt);
            sw_free(q.msg);
        }
        return sw_diag_set(d, SWARM_ETIMEDOUT, "node %s did not answer within %.0f ms",
                           swarm_swarm_node(rt->swarm, node)->name, timeout_ms);
    }
    if (q.rc != SWARM_OK) {
        sw_free(q.text);
        return sw_diag_set(d, q.rc, "node %s: %s", swarm_swarm_node(rt->swarm, node)->name,
                           q.rc == SWARM_EFORMAT ? "corrupt result" : swarm_strerror(q.rc));
    }
    if (out_value) *out_value = q.value;
    if (out_confidence) *out_confidence = q.confidence;
    if (out_text) *out_text = q.text;
    else sw_free(q.text);
    return SWARM_OK;
}
