/*
 * task_run.c: one task's run, the state machine the coordinator
 * (coordinator.c) steps for every task it holds: the plan DAG's subtasks
 * from pending to a terminal state, per-wave assignment
 * (swarm_assign_solve) or dynamic load balancing over the residual
 * capacity, deadlines, retries with backoff and a budget, hedging,
 * redundancy with first-good-result, early-stop voting, cascade
 * escalation, epoch fencing, the journal (runlog.c) and the trace, and the
 * result with its aggregation. Node health is health.c's; this file only
 * reports failures and successes to it. Written once over
 * sw_transport_ops; it never knows whether a node is a thread or a process.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runlog.h"
#include "runtime_int.h"
#include "sched_int.h"
#include "swarm/aggregate.h"

/* Subtasks per assignment solve. The fast solver's local search grows
 * faster than linearly in m: measured on 4 nodes, waves of 1024 cost
 * 1.5 us per subtask against 12 us at 4096 (docs/performance.md). */
#define MAX_WAVE 1024


static bool terminal(int s) { return s == S_DONE || s == S_FAILED || s == S_CANCELED; }

/* The one place a subtask's terminal transition is recorded (assigned is
 * recorded in dispatch, its one place). */
static void record_terminal(sw_run *R, int32_t k, int state, const char *note)
{
    sub_rt *s = &R->subs[k];
    switch (state) {
    case S_DONE:
        sw_runlog_sub_done(&R->log, k, s->epochs, s->node, s->text, s->value, s->confidence);
        break;
    case S_FAILED: sw_runlog_sub_failed(&R->log, k, s->epochs, s->node, note); break;
    default: sw_runlog_sub_canceled(&R->log, k, s->epochs, s->node, note); break;
    }
}

static bool node_available(sw_run *R, size_t i) { return sw_node_available(R->rt, i); }
static int32_t node_free(sw_run *R, size_t i) { return sw_node_free(R->rt, i); }

static void ready_push(sw_run *R, int32_t k)
{
    sub_rt *s = &R->subs[k];
    if (s->queued || terminal(s->state)) return;
    s->queued = true;
    s->state = S_READY;
    R->ready[(R->rq_head + R->rq_n) % R->m] = k;
    R->rq_n++;
}

static int32_t ready_pop(sw_run *R)
{
    while (R->rq_n > 0) {
        int32_t k = R->ready[R->rq_head];
        R->rq_head = (R->rq_head + 1) % R->m;
        R->rq_n--;
        R->subs[k].queued = false;
        if (!terminal(R->subs[k].state)) return k;
    }
    return -1;
}

static void ready_unpop(sw_run *R, int32_t k)
{
    R->rq_head = (R->rq_head + R->m - 1) % R->m;
    R->ready[R->rq_head] = k;
    R->rq_n++;
    R->subs[k].queued = true;
}

/* C_ik of node i for a skill within this task: 0 for a node the task's
 * "nodes" allow-list leaves out (the solver and every placement treat C = 0
 * as infeasible). */
static double run_compat(const sw_run *R, size_t i, const char *skill)
{
    if (R->allowed && !R->allowed[i]) return 0;
    return swarm_node_compat(swarm_swarm_node(R->rt->swarm, i), skill);
}

/* Do the ensemble's members still fit on distinct live nodes? */
static bool members_fit(const sw_run *R)
{
    size_t alive = 0;
    for (size_t i = 0; i < R->rt->n; i++) alive += !R->rt->nodes[i].dead;
    return R->n_members <= alive;
}

static bool excluded(sw_run *R, sub_rt *s, size_t i)
{
    if (s->excluded && s->excluded[i]) return true;
    for (size_t a = 0; a < s->n_att; a++) {
        row_rt *rw = &R->rows[s->att[a]];
        if (rw->r.outcome == SWARM_OUTCOME_RUNNING && (size_t)rw->r.node == i) return true;
    }
    /* Ensemble members ask k different SLMs: a node already running or
     * having answered another member is out, while k <= the nodes alive
     * (after a node died a member may share a node rather than wait for
     * ever for a k-th one). */
    if (R->ens_distinct && s->st->is_output && members_fit(R)) {
        for (size_t k = 0; k < R->m; k++) {
            sub_rt *o = &R->subs[k];
            if (o == s || !o->st->is_output) continue;
            if (o->state == S_DONE && o->node == (int32_t)i) return true;
            for (size_t a = 0; a < o->n_att; a++) {
                row_rt *rw = &R->rows[o->att[a]];
                if (rw->r.outcome == SWARM_OUTCOME_RUNNING && (size_t)rw->r.node == i) return true;
            }
        }
    }
    return false;
}

static void exclude(sw_run *R, sub_rt *s, size_t i)
{
    if (s->excluded == NULL) s->excluded = sw_calloc(R->rt->n, sizeof(bool));
    if (s->excluded) s->excluded[i] = true;
}

static bool zone_taken(sw_run *R, sub_rt *s, size_t i, const int32_t *chosen, int32_t nc);

static int32_t copies_wanted(sw_run *R, sub_rt *s)
{
    int32_t r = s->st->redundancy > 0 ? s->st->redundancy : 1;
    return r;
}

/* ------------------------------------------------------------------------ */
/* dispatch                                                                  */

static void schedule_retry(sw_run *R, int32_t k, const char *why);

/* The sampling seed of subtask k: from the task's sampling seed if it
 * gives one, else the runtime's seed (--seed), and the task and subtask, so ensemble members draw differently and a run is
 * reproducible. Not from the attempt: a subtask retried or reassigned
 * after a fault draws the same text, so a fault never changes the answer. */
static uint64_t subtask_seed(const sw_run *R, int32_t k)
{
    const swarm_task_sampling *ts = swarm_task_sampling_of(R->task);
    uint64_t base = ts->set & SWARM_SAMPLING_SEED ? ts->seed : R->rt->seed;
    uint64_t x = base ^ sw_fnv1a(swarm_task_name(R->task)) ^
                 sw_fnv1a(swarm_task_input(R->task)) ^ (0x9E3779B97F4A7C15ull * (uint64_t)(k + 1));
    uint64_t seed = sw_rand64(&x);
    return seed ? seed : 1;
}

static swarm_err dispatch(sw_run *R, int32_t k, int32_t node, bool hedge)
{
    swarm_runtime *rt = R->rt;
    sub_rt *s = &R->subs[k];
    if (R->n_rows == R->cap_rows) {
        size_t nc = R->cap_rows ? R->cap_rows * 2 : 64;
        row_rt *nr = sw_realloc(R->rows, nc * sizeof(*nr));
        if (nr == NULL) return SWARM_ENOMEM;
        R->rows = nr;
        R->cap_rows = nc;
    }
    if (s->n_att == s->cap_att) {
        size_t nc = s->cap_att ? s->cap_att * 2 : 2;
        int32_t *na = sw_realloc(s->att, nc * sizeof(*na));
        if (na == NULL) return SWARM_ENOMEM;
        s->att = na;
        s->cap_att = nc;
    }
    if (R->n_running == R->cap_running) {
        size_t nc = R->cap_running ? R->cap_running * 2 : 64;
        int32_t *nr = sw_realloc(R->running, nc * sizeof(*nr));
        if (nr == NULL) return SWARM_ENOMEM;
        R->running = nr;
        R->cap_running = nc;
    }
    const char *prompt = s->prompt ? s->prompt : (s->st->prompt ? s->st->prompt : "");
    sw_dispatch *msg = sw_dispatch_new(node, k, s->st->kind, prompt, s->st->labels,
                                       s->st->n_labels, s->st->max_tokens);
    if (msg == NULL) return SWARM_ENOMEM;
    uint32_t epoch = ++s->epochs;
    msg->epoch = epoch;
    msg->run = R->run_id;
    msg->stream = R->o.stream && R->o.on_event && s->st->kind == SWARM_SUBTASK_GENERATE;
    msg->seed = subtask_seed(R, k);
    msg->sampling = *swarm_task_sampling_of(R->task);
    int32_t rid = (int32_t)R->n_rows++;
    row_rt *rw = &R->rows[rid];
    memset(rw, 0, sizeof(*rw));
    rw->r.subtask = k;
    rw->r.subtask_name = s->st->name;
    rw->r.node = node;
    rw->r.node_name = swarm_swarm_node(rt->swarm, (size_t)node)->name;
    rw->r.epoch = epoch;
    rw->r.retry = s->retries;
    rw->r.hedge = hedge;
    rw->r.start_ms = R->now - R->t0;
    rw->r.end_ms = -1;
    rw->r.outcome = SWARM_OUTCOME_RUNNING;
    rw->r.note = "";
    rw->last_progress = R->now;
    rw->holds_slot = true;
    s->att[s->n_att++] = rid;
    R->running[R->n_running++] = rid;
    s->live++;
    s->state = S_RUNNING;
    rt->nodes[node].inflight++;
    sw_runlog_sub_assigned(&R->log, k, epoch, node);
    swarm_err rc = rt->tp->ops->send(rt->tp, msg);
    if (rc != SWARM_OK) {
        /* The message never left: the attempt failed at once (as a node
         * that answered with an error would), the slot is free again and
         * the subtask retries or fails through the usual path. */
        rw = &R->rows[rid];
        rw->r.outcome = SWARM_OUTCOME_FAILED;
        rw->r.note = "send failed";
        rw->r.end_ms = R->now - R->t0;
        rw->holds_slot = false;
        if (rt->nodes[node].inflight > 0) rt->nodes[node].inflight--;
        s->live--;
        if (s->live == 0) schedule_retry(R, k, rw->r.note);
    }
    return rc;
}

/* After a failed dispatch: a subtask left with no attempt running, no
 * retry pending and no place in the ready queue goes back to the queue, so
 * no failure path can lose it (an out-of-memory dispatch changed nothing;
 * a failed send already scheduled a retry). */
static void requeue_if_idle(sw_run *R, int32_t k)
{
    sub_rt *s = &R->subs[k];
    if (terminal(s->state) || s->live > 0 || s->delayed || s->queued) return;
    R->dispatch_failures++;
    sw_log_info("subtask %d: dispatch failed (out of memory); back in the ready queue", (int)k);
    ready_push(R, k);
}

/* dispatch() whose failure leaves the subtask where the scheduler finds it
 * again; true when the attempt is running. */
static bool dispatch_checked(sw_run *R, int32_t k, int32_t node, bool hedge)
{
    if (dispatch(R, k, node, hedge) == SWARM_OK) return true;
    requeue_if_idle(R, k);
    return false;
}

static void cancel_row(sw_run *R, row_rt *rw, const char *note)
{
    rw->r.outcome = SWARM_OUTCOME_CANCELED;
    rw->r.note = note;
    rw->r.end_ms = R->now - R->t0;
    R->subs[rw->r.subtask].live--;
    R->n_canceled++;
    R->rt->tp->ops->cancel(R->rt->tp, rw->r.node, rw->r.subtask, rw->r.epoch);
}

/* ------------------------------------------------------------------------ */
/* subtask completion and the DAG                                             */

static void sub_terminal(sw_run *R, int32_t k);

static void sub_set_terminal(sw_run *R, int32_t k, int state, const char *note)
{
    sub_rt *s = &R->subs[k];
    if (terminal(s->state)) return;
    for (size_t a = 0; a < s->n_att; a++) {
        row_rt *rw = &R->rows[s->att[a]];
        if (rw->r.outcome == SWARM_OUTCOME_RUNNING)
            cancel_row(R, rw, state == S_DONE ? "loser" : note);
    }
    s->state = state;
    s->note = note;
    record_terminal(R, k, state, note);
    sub_terminal(R, k);
}

static bool is_cascade(sw_run *R, const sub_rt *s) { return R->decomp == SWARM_DECOMP_CASCADE && s->st->level >= 0; }

static void cascade_next(sw_run *R, int32_t k)
{
    /* release the next level (the plan lists levels in order) */
    for (size_t j = (size_t)k + 1; j < R->m; j++) {
        sub_rt *n = &R->subs[j];
        if (is_cascade(R, n) && n->held) {
            n->held = false;
            ready_push(R, (int32_t)j);
            return;
        }
    }
}

static void cascade_cancel_rest(sw_run *R, int32_t k, const char *note)
{
    for (size_t j = (size_t)k + 1; j < R->m; j++) {
        sub_rt *n = &R->subs[j];
        if (is_cascade(R, n) && !terminal(n->state)) {
            n->held = false;
            sub_set_terminal(R, (int32_t)j, S_CANCELED, note);
        }
    }
}

static double agg_weight(const swarm_agg_spec *sp, const swarm_node_spec *n)
{
    switch (sp ? sp->weighting : SWARM_AGG_F_PRODUCT) {
    case SWARM_AGG_F_P: return n->accuracy;
    case SWARM_AGG_F_R: return n->relevance;
    case SWARM_AGG_F_POWER: return pow(n->accuracy, sp->pow_a) * pow(n->relevance, sp->pow_b);
    default: return n->accuracy * n->relevance;
    }
}

/* Adaptive consistency: once the leading answer cannot be overtaken by the
 * members still running, the rest are canceled. */
static void early_stop_check(sw_run *R)
{
    if (!R->rt->p.early_stop || R->decomp != SWARM_DECOMP_ENSEMBLE || R->agg == NULL ||
        (R->agg->method != SWARM_AGG_VOTE && R->agg->method != SWARM_AGG_WEIGHTED_VOTE))
        return;
    bool weighted = R->agg->method == SWARM_AGG_WEIGHTED_VOTE;
    double maxw = 0;
    for (size_t i = 0; i < R->rt->n; i++) {
        double w = agg_weight(R->agg, swarm_swarm_node(R->rt->swarm, i));
        if (w > maxw) maxw = w;
    }
    /* tally by answer text: members are few (ensemble size), so O(k^2) is fine */
    double best = 0, second = 0, remaining = 0;
    const char *best_key = NULL;
    for (size_t k = 0; k < R->m; k++) {
        sub_rt *s = &R->subs[k];
        if (!s->st->is_output) continue;
        if (!terminal(s->state)) {
            remaining += weighted ? maxw : 1;
            continue;
        }
        if (s->state != S_DONE || s->text == NULL) continue;
        bool seen = false;
        for (size_t j = 0; j < k; j++)
            if (R->subs[j].st->is_output && R->subs[j].state == S_DONE && R->subs[j].text &&
                strcmp(R->subs[j].text, s->text) == 0)
                seen = true;
        if (seen) continue;
        double tally = 0;
        for (size_t j = k; j < R->m; j++)
            if (R->subs[j].st->is_output && R->subs[j].state == S_DONE && R->subs[j].text &&
                strcmp(R->subs[j].text, s->text) == 0)
                tally += weighted ? agg_weight(R->agg, swarm_swarm_node(R->rt->swarm, (size_t)R->subs[j].node)) : 1;
        if (tally > best) {
            second = best;
            best = tally;
            best_key = s->text;
        } else if (tally > second) {
            second = tally;
        }
    }
    if (best_key == NULL || remaining == 0) return;
    if (best > second + remaining) {
        for (size_t k = 0; k < R->m; k++) {
            sub_rt *s = &R->subs[k];
            if (s->st->is_output && !terminal(s->state))
                sub_set_terminal(R, (int32_t)k, S_CANCELED, "early-stop");
        }
    }
}

static void sub_terminal(sw_run *R, int32_t k)
{
    sub_rt *s = &R->subs[k];
    R->n_terminal++;
    if (s->state == S_DONE) R->outputs[k] = s->text;
    if (is_cascade(R, s)) {
        if (s->state == S_DONE && s->confidence >= R->threshold) {
            cascade_cancel_rest(R, k, "cascade: confident");
        } else if (s->state != S_CANCELED) {
            cascade_next(R, k);
        }
    }
    if (s->state == S_DONE && s->st->is_output) early_stop_check(R);
    for (int32_t e = R->dep_off[k]; e < R->dep_off[k + 1]; e++) {
        int32_t j = R->dep_list[e];
        sub_rt *d = &R->subs[j];
        if (terminal(d->state) || is_cascade(R, d)) continue;
        if (s->state != S_DONE) {
            sub_set_terminal(R, j, s->state == S_CANCELED ? S_CANCELED : S_FAILED,
                             "dependency not done");
            continue;
        }
        if (--d->deps_left == 0) {
            char *p = NULL;
            if (swarm_plan_render(R->plan, (size_t)j, R->outputs, &p) != SWARM_OK) {
                sub_set_terminal(R, j, S_FAILED, "prompt render failed");
                continue;
            }
            d->prompt = p;
            ready_push(R, j);
        }
    }
}

static void schedule_retry(sw_run *R, int32_t k, const char *why)
{
    sub_rt *s = &R->subs[k];
    if (terminal(s->state)) return;
    if (s->retries >= R->max_retries || R->retries_used >= R->retry_cap) {
        sub_set_terminal(R, k, S_FAILED, why);
        return;
    }
    s->retries++;
    R->retries_used++;
    double backoff = R->rt->p.retry_backoff_ms * (double)(1 << (s->retries - 1));
    backoff *= 0.5 + sw_rand01(&R->rt->rng); /* jitter: retries do not march in step */
    s->ready_at = R->now + backoff;
    s->state = S_READY;
    if (!s->delayed) {
        s->delayed = true;
        R->delayed[R->n_delayed++] = k;
    }
}

/* ------------------------------------------------------------------------ */
/* node health, as one run sees it (health.c holds the node's state)         */

static void breaker_failure(sw_run *R, size_t i)
{
    if (sw_health_failure(R->rt, i)) R->n_ejections++;
}

void sw_run_node_gone(sw_run *R, size_t i, const char *why)
{
    swarm_runtime *rt = R->rt;
    for (size_t q = 0; q < R->n_running; q++) {
        row_rt *rw = &R->rows[R->running[q]];
        if (rw->r.outcome != SWARM_OUTCOME_RUNNING || (size_t)rw->r.node != i) continue;
        rw->r.outcome = SWARM_OUTCOME_REASSIGNED;
        rw->r.note = why;
        rw->r.end_ms = R->now - R->t0;
        rw->holds_slot = false;
        sub_rt *s = &R->subs[rw->r.subtask];
        s->live--;
        R->n_reassigned++;
        rt->tp->ops->cancel(rt->tp, (int32_t)i, rw->r.subtask, rw->r.epoch);
        /* Not a retry: the subtask goes straight back to the ready queue and
         * the next solve sees the node as unavailable. */
        if (!terminal(s->state) && !s->delayed) ready_push(R, rw->r.subtask);
    }
}

/* ------------------------------------------------------------------------ */
/* events                                                                    */

static void hedge_sample(sw_run *R, const sub_rt *s, double lat)
{
    swarm_runtime *rt = R->rt;
    char key[160];
    snprintf(key, sizeof(key), "%d/%s", (int)s->st->kind, s->st->skill ? s->st->skill : "");
    hedge_class *h = NULL;
    for (size_t i = 0; i < rt->n_hc; i++)
        if (strcmp(rt->hc[i].key, key) == 0) h = &rt->hc[i];
    if (h == NULL) {
        hedge_class *nh = sw_realloc(rt->hc, (rt->n_hc + 1) * sizeof(*nh));
        if (nh == NULL) return;
        rt->hc = nh;
        h = &rt->hc[rt->n_hc];
        memset(h, 0, sizeof(*h));
        if ((h->key = sw_strdup(key)) == NULL) return;
        rt->n_hc++;
    }
    h->lat[h->head] = lat;
    h->head = (h->head + 1) % HEDGE_WINDOW;
    if (h->n < HEDGE_WINDOW) h->n++;
    if (++h->since_p95 >= 8 || h->p95 == 0) {
        double tmp[HEDGE_WINDOW];
        memcpy(tmp, h->lat, h->n * sizeof(double));
        /* insertion sort of <= 128 values, every 8 samples */
        for (size_t a = 1; a < h->n; a++) {
            double v = tmp[a];
            size_t b = a;
            while (b > 0 && tmp[b - 1] > v) {
                tmp[b] = tmp[b - 1];
                b--;
            }
            tmp[b] = v;
        }
        h->p95 = tmp[(size_t)(0.95 * (double)(h->n - 1))];
        h->since_p95 = 0;
    }
}

static double hedge_p95(sw_run *R, const sub_rt *s)
{
    swarm_runtime *rt = R->rt;
    char key[160];
    snprintf(key, sizeof(key), "%d/%s", (int)s->st->kind, s->st->skill ? s->st->skill : "");
    for (size_t i = 0; i < rt->n_hc; i++)
        if (strcmp(rt->hc[i].key, key) == 0)
            return rt->hc[i].n >= (size_t)rt->p.hedge_min_samples ? rt->hc[i].p95 : -1;
    return -1;
}

/* Why a running attempt is given up by the timers (none: still live). */
enum attempt_expiry { ATTEMPT_LIVE, ATTEMPT_DEADLINE, ATTEMPT_STUCK, ATTEMPT_EXPIRY_COUNT };

/* The trace note of an expiry (static strings: rows keep the pointer). */
static const char *attempt_expiry_note(enum attempt_expiry ex)
{
    switch (ex) {
    case ATTEMPT_DEADLINE: return "deadline";
    case ATTEMPT_STUCK: return "stuck (no progress)";
    default: return "";
    }
}

static void on_result(sw_run *R, sw_event *ev)
{
    swarm_runtime *rt = R->rt;
    node_state *ns = &rt->nodes[ev->node];
    if (ev->run != R->run_id || ev->sub < 0 || (size_t)ev->sub >= R->m) {
        sw_free(ev->text); /* from an earlier run: never counted */
        return;
    }
    sub_rt *s = &R->subs[ev->sub];
    if (ev->epoch <= s->epoch0 || ev->epoch - s->epoch0 > s->n_att) {
        sw_free(ev->text);
        return;
    }
    row_rt *rw = &R->rows[s->att[ev->epoch - s->epoch0 - 1]];
    if ((size_t)rw->r.node != (size_t)ev->node) {
        sw_free(ev->text);
        return;
    }
    sw_hlc_recv(&rt->hlc, ev->hlc, sw_wall_ms());
    if (rw->holds_slot) {
        rw->holds_slot = false;
        if (ns->inflight > 0) ns->inflight--;
    }
    rw->r.tokens = ev->tokens;
    rw->r.hlc = ev->hlc;
    double e = sw_est_energy(rt, (size_t)ev->node, ev->busy_ms, ev->tokens);
    rw->r.energy_j = e;
    R->energy += e;
    R->tokens += ev->tokens;
    bool ok = ev->rc == SWARM_OK && !ev->canceled &&
              (ev->text ? sw_crc32(ev->text, strlen(ev->text)) : 0) == ev->crc;
    if (rw->r.outcome != SWARM_OUTCOME_RUNNING) {
        /* Epoch fencing: this attempt was superseded (node declared dead,
         * deadline, loser of a race). Its result is never counted. */
        if (ok) {
            rw->r.outcome = SWARM_OUTCOME_DISCARDED_LATE;
            rw->r.note = terminal(s->state) ? "late: subtask already done" : "late: superseded epoch";
            R->n_discarded++;
        }
        sw_free(ev->text);
        return;
    }
    rw->r.end_ms = R->now - R->t0;
    s->live--;
    /* an answer after the deadline is a missed deadline, whenever the
     * timers would have looked */
    bool late = ok && R->deadline_ms > 0 && rw->r.end_ms - rw->r.start_ms > R->deadline_ms;
    if (!ok || late) {
        rw->r.outcome = SWARM_OUTCOME_FAILED;
        rw->r.note = late ? attempt_expiry_note(ATTEMPT_DEADLINE)
                     : ev->rc == SWARM_OK ? "corrupt (checksum mismatch)"
                                          : swarm_strerror(ev->rc);
        sw_free(ev->text);
        breaker_failure(R, (size_t)ev->node);
        exclude(R, s, (size_t)ev->node);
        if (s->live == 0) schedule_retry(R, ev->sub, rw->r.note);
        return;
    }
    if (sw_health_success(rt, (size_t)ev->node)) R->n_readmitted++;
    sw_est_update(rt, (size_t)ev->node, s->st->skill, ev->busy_ms, ev->tokens);
    hedge_sample(R, s, rw->r.end_ms - rw->r.start_ms);
    rw->r.outcome = SWARM_OUTCOME_DONE;
    s->text = ev->text;
    s->value = ev->value;
    s->confidence = ev->confidence;
    s->node = ev->node;
    s->hlc = ev->hlc;
    sub_set_terminal(R, ev->sub, S_DONE, "");
}

/* A token piece of a running attempt, streamed to the task's caller. */
static void emit_token(sw_run *R, const row_rt *rw, const char *text)
{
    if (!R->o.stream || R->o.on_event == NULL || text == NULL || text[0] == '\0') return;
    swarm_task_event te = {0};
    te.type = SWARM_TASK_EVENT_TOKEN;
    te.ticket = R->ticket;
    te.subtask = rw->r.subtask;
    te.subtask_name = rw->r.subtask_name;
    te.node_name = rw->r.node_name;
    te.epoch = rw->r.epoch;
    te.text = text;
    te.len = strlen(text);
    R->o.on_event(R->o.ud, &te);
}

void sw_run_event(sw_run *R, sw_event *ev)
{
    if (ev->type == SW_EV_RESULT) {
        on_result(R, ev);
        return;
    }
    if (ev->type == SW_EV_PROGRESS && ev->sub >= 0 && (size_t)ev->sub < R->m &&
        ev->epoch > R->subs[ev->sub].epoch0 &&
        ev->epoch - R->subs[ev->sub].epoch0 <= R->subs[ev->sub].n_att) {
        sub_rt *ps = &R->subs[ev->sub];
        row_rt *rw = &R->rows[ps->att[ev->epoch - ps->epoch0 - 1]];
        if ((size_t)rw->r.node == (size_t)ev->node && rw->r.outcome == SWARM_OUTCOME_RUNNING) {
            rw->last_progress = R->now;
            emit_token(R, rw, ev->text);
        }
    }
    sw_free(ev->text);
}

/* ------------------------------------------------------------------------ */
/* timers: detector, breaker cooldown, deadlines, watchdog, hedging, retries */

void sw_run_timers(sw_run *R)
{
    swarm_runtime *rt = R->rt;
    size_t w = 0;
    for (size_t q = 0; q < R->n_running; q++) {
        int32_t rid = R->running[q];
        row_rt *rw = &R->rows[rid];
        if (rw->r.outcome != SWARM_OUTCOME_RUNNING) continue;
        R->running[w++] = rid;
        sub_rt *s = &R->subs[rw->r.subtask];
        double age = R->now - (R->t0 + rw->r.start_ms);
        enum attempt_expiry ex = ATTEMPT_LIVE;
        if (R->deadline_ms > 0 && age > R->deadline_ms) ex = ATTEMPT_DEADLINE;
        else if (R->now - rw->last_progress > rt->p.progress_timeout_ms) ex = ATTEMPT_STUCK;
        if (ex != ATTEMPT_LIVE) {
            const char *why = attempt_expiry_note(ex);
            rw->r.outcome = SWARM_OUTCOME_FAILED;
            rw->r.note = why;
            rw->r.end_ms = R->now - R->t0;
            s->live--;
            rt->tp->ops->cancel(rt->tp, rw->r.node, rw->r.subtask, rw->r.epoch);
            exclude(R, s, (size_t)rw->r.node);
            breaker_failure(R, (size_t)rw->r.node);
            if (ex == ATTEMPT_STUCK) sw_health_stuck(rt, (size_t)rw->r.node);
            w--;
            if (s->live == 0) schedule_retry(R, rw->r.subtask, why);
            continue;
        }
        /* Hedging: one duplicate once the attempt is slower than the class p95. */
        if (rt->p.hedge && !s->hedged && s->live == 1 && !is_cascade(R, s)) {
            double p95 = hedge_p95(R, s);
            if (p95 > 0 && age > p95 * 1.0 + 1.0) {
                int32_t best = -1;
                for (size_t i = 0; i < rt->n; i++) {
                    if (!node_available(R, i) || node_free(R, i) == 0 || excluded(R, s, i)) continue;
                    if (run_compat(R, i, s->st->skill) <= 0) continue;
                    if (rt->p.distinct_zones && copies_wanted(R, s) > 1 && zone_taken(R, s, i, NULL, 0))
                        continue;
                    if (best < 0 || rt->nodes[i].inflight < rt->nodes[best].inflight) best = (int32_t)i;
                }
                if (best >= 0) {
                    /* rows may move: the hedge appends one */
                    int32_t sub = rw->r.subtask;
                    s->hedged = true;
                    R->n_hedges++;
                    if (!dispatch_checked(R, sub, best, true)) {
                        s->hedged = false; /* none went out: a later tick may try again */
                        R->n_hedges--;
                    }
                }
            }
        }
    }
    R->n_running = w;
    size_t dw = 0;
    for (size_t q = 0; q < R->n_delayed; q++) {
        int32_t k = R->delayed[q];
        sub_rt *s = &R->subs[k];
        if (terminal(s->state)) {
            s->delayed = false;
            continue;
        }
        if (R->now >= s->ready_at) {
            s->delayed = false;
            ready_push(R, k);
        } else {
            R->delayed[dw++] = k;
        }
    }
    R->n_delayed = dw;
}

/* ------------------------------------------------------------------------ */
/* waves: assignment of ready subtasks to nodes with free slots               */

static double est_T(sw_run *R, size_t i, const sub_rt *s)
{
    int64_t tok = s->st->est_tokens > 0 ? s->st->est_tokens : (int64_t)s->st->max_tokens + 1;
    return sw_est_ms_per_token(R->rt, i, s->st->skill) * (double)tok / 1000.0;
}

static double est_E(sw_run *R, size_t i, const sub_rt *s)
{
    int64_t tok = s->st->est_tokens > 0 ? s->st->est_tokens : (int64_t)s->st->max_tokens + 1;
    return sw_est_energy(R->rt, i, est_T(R, i, s) * 1000.0, tok);
}

/* The paper's communication term sum d_ij v_ij for subtask s on node i:
 * its dependencies' outputs (v in KiB) move from the nodes that produced
 * them, over the distance between node coordinates; comm_weight turns it
 * into seconds added to T_ik. The producers are known when s is ready, so
 * the term is linear in x_ik and the solver needs no third criterion. */
static double comm_s(sw_run *R, size_t i, const sub_rt *s)
{
    double w = R->rt->p.comm_weight;
    if (!(w > 0) || s->st->n_deps == 0) return 0;
    double sum = 0;
    for (size_t e = 0; e < s->st->n_deps; e++) {
        const sub_rt *dep = &R->subs[s->st->deps[e]];
        if (dep->state != S_DONE || dep->node < 0 || dep->text == NULL) continue;
        double kib = (double)strlen(dep->text) / 1024.0;
        sum += swarm_swarm_distance(R->rt->swarm, i, (size_t)dep->node) * kib;
    }
    return w * sum;
}

/* With distinct zones: is node i's zone already held by a running copy of
 * s, or by one of the nc nodes chosen for it in this placement? */
static bool zone_taken(sw_run *R, sub_rt *s, size_t i, const int32_t *chosen, int32_t nc)
{
    const char *z = swarm_swarm_node(R->rt->swarm, i)->zone;
    for (int32_t c = 0; c < nc; c++)
        if (strcmp(swarm_swarm_node(R->rt->swarm, (size_t)chosen[c])->zone, z) == 0) return true;
    for (size_t a = 0; a < s->n_att; a++) {
        row_rt *rw = &R->rows[s->att[a]];
        if (rw->r.outcome == SWARM_OUTCOME_RUNNING &&
            strcmp(swarm_swarm_node(R->rt->swarm, (size_t)rw->r.node)->zone, z) == 0)
            return true;
    }
    return false;
}

/* Dynamic choice for one copy (assignment off, cascade, and fallback);
 * with zones, nodes whose zone is taken (zone_taken) are skipped. */
static int32_t pick_node_ex(sw_run *R, sub_rt *s, swarm_dispatch_policy pol, bool zones,
                            const int32_t *chosen, int32_t nc)
{
    swarm_runtime *rt = R->rt;
    int32_t best = -1;
    double best_key = 0;
    for (size_t t = 0; t < rt->n; t++) {
        size_t i = pol == SWARM_DISPATCH_ROUND_ROBIN ? (R->rr + t) % rt->n : t;
        if (!node_available(R, i) || node_free(R, i) == 0 || excluded(R, s, i)) continue;
        if (zones && zone_taken(R, s, i, chosen, nc)) continue;
        const swarm_node_spec *n = swarm_swarm_node(rt->swarm, i);
        if (run_compat(R, i, s->st->skill) <= 0) continue;
        double key;
        switch (pol) {
        case SWARM_DISPATCH_ROUND_ROBIN: R->rr = (uint32_t)((i + 1) % rt->n); return (int32_t)i;
        case SWARM_DISPATCH_LEAST_CONN: key = (double)rt->nodes[i].inflight / n->capacity; break;
        case SWARM_DISPATCH_PRIORITY: key = -n->accuracy * 1e6 + est_T(R, i, s); break;
        default: key = R->w_e * est_E(R, i, s) + R->w_t * (est_T(R, i, s) + comm_s(R, i, s)); break;
        }
        if (best < 0 || key < best_key) {
            best = (int32_t)i;
            best_key = key;
        }
    }
    return best;
}

/* How many more copies of s could run now ignoring load: alive feasible
 * nodes not already running one (with distinct zones: their distinct zones
 * not already held by a running copy). Only asked for r > 1. */
static int32_t copies_possible(sw_run *R, sub_rt *s)
{
    swarm_runtime *rt = R->rt;
    bool zones = rt->p.distinct_zones;
    int32_t n = 0;
    for (size_t i = 0; i < rt->n; i++) {
        if (!node_available(R, i) || (s->excluded && s->excluded[i])) continue;
        if (run_compat(R, i, s->st->skill) <= 0) continue;
        if (zones ? zone_taken(R, s, i, NULL, 0) : excluded(R, s, i)) continue;
        bool dup = false;
        for (size_t j = 0; zones && j < i && !dup; j++) {
            if (!node_available(R, j) || (s->excluded && s->excluded[j])) continue;
            if (run_compat(R, j, s->st->skill) <= 0) continue;
            dup = strcmp(swarm_swarm_node(rt->swarm, j)->zone, swarm_swarm_node(rt->swarm, i)->zone) == 0;
        }
        n += !dup;
    }
    return n;
}

/* Places need copies of subtask k one by one with pol. With distinct zones
 * (and r > 1) the copies' zones must differ from each other and from those
 * of its running copies; when that cannot be met now nothing is dispatched
 * and the subtask waits for a slot in another zone (never a silent
 * same-zone copy: the user asked for zone-level fault tolerance). */
static void place_copies(sw_run *R, int32_t k, int32_t need, swarm_dispatch_policy pol)
{
    sub_rt *s = &R->subs[k];
    bool zones = R->rt->p.distinct_zones && copies_wanted(R, s) > 1;
    int32_t chosen[SW_RT_MAX_REDUNDANCY], nc = 0;
    SWARM_ASSERT(need <= SW_RT_MAX_REDUNDANCY); /* plan_feasible refused more */
    for (int32_t c = 0; c < need; c++) {
        int32_t i = pick_node_ex(R, s, pol, zones, chosen, nc);
        if (i < 0) break;
        if (zones) chosen[nc++] = i;
        else if (!dispatch_checked(R, k, i, false)) break;
    }
    if (zones && nc == need)
        for (int32_t c = 0; c < nc; c++)
            if (!dispatch_checked(R, k, chosen[c], false)) break;
    if (s->live == 0) ready_push(R, k);
}

/* Could any node ever take it (ignoring load)? */
static bool sub_placeable(sw_run *R, sub_rt *s)
{
    for (size_t i = 0; i < R->rt->n; i++) {
        if (s->excluded && s->excluded[i]) continue;
        if (run_compat(R, i, s->st->skill) > 0) return true;
    }
    return false;
}

static void cascade_dispatch(sw_run *R, int32_t k)
{
    sub_rt *s = &R->subs[k];
    /* the cheapest feasible node not used by an earlier level */
    int32_t best = -1;
    double be = 0;
    for (int pass = 0; pass < 2 && best < 0; pass++) {
        for (size_t i = 0; i < R->rt->n; i++) {
            if (!node_available(R, i) || node_free(R, i) == 0 || excluded(R, s, i)) continue;
            if (run_compat(R, i, s->st->skill) <= 0) continue;
            bool used = false;
            for (size_t j = 0; pass == 0 && j < (size_t)k; j++)
                if (is_cascade(R, &R->subs[j]) && R->subs[j].node == (int32_t)i) used = true;
            if (used) continue;
            double e = est_E(R, i, s) + 1e-9 * est_T(R, i, s);
            if (best < 0 || e < be) {
                best = (int32_t)i;
                be = e;
            }
        }
    }
    if (best < 0) ready_unpop(R, k);
    else dispatch_checked(R, k, best, false); /* a failure requeues it: the wave stops */
}

/* The first dispatch of an ensemble is the paper's problem for one subtask
 * with redundancy k: k distinct nodes, chosen by the solver together. */
static bool ensemble_wave(sw_run *R, int32_t n_av)
{
    swarm_runtime *rt = R->rt;
    int32_t members[SW_RT_MAX_JOINT_MEMBERS], k = 0;
    for (size_t q = 0; q < R->rq_n && k < SW_RT_MAX_JOINT_MEMBERS; q++) {
        int32_t id = R->ready[(R->rq_head + q) % R->m];
        sub_rt *s = &R->subs[id];
        if (!s->st->is_output || s->n_att > 0 || terminal(s->state)) return false;
        members[k++] = id;
    }
    if (k < 2 || k != (int32_t)R->rq_n || k > n_av) return false;
    size_t n = (size_t)n_av;
    double *E = sw_malloc(5 * n * sizeof(double));
    if (E == NULL) return false;
    double *T = E + n, *C = T + n, *Bv = C + n, *Z = Bv + n;
    sub_rt *s0 = &R->subs[members[0]];
    for (size_t a = 0; a < n; a++) {
        size_t i = (size_t)R->av[a];
        E[a] = est_E(R, i, s0);
        T[a] = est_T(R, i, s0);
        C[a] = run_compat(R, i, s0->st->skill);
        Bv[a] = node_free(R, i);
        Z[a] = 0;
    }
    swarm_assign_problem pr = {0};
    pr.n = (int32_t)n;
    pr.m = 1;
    pr.E = Z;
    pr.T = Z;
    pr.E_ik = E;
    pr.T_ik = T;
    pr.B = Bv;
    pr.C = C;
    pr.c_min = 1e-9;
    pr.redundancy = k;
    pr.w_energy = R->w_e;
    pr.w_time = R->w_t;
    pr.p_min = R->p_min;
    swarm_assign_options o = swarm_assign_options_default();
    o.method = rt->p.assign_method;
    o.time_limit_s = 1;
    swarm_assign_result *res = NULL;
    bool ok = false;
    if (swarm_assign_solve(&pr, &o, &res, NULL) != SWARM_OK) goto out;
    if (res->status == SWARM_ASSIGN_INFEASIBLE && pr.p_min > 0) {
        swarm_assign_result_destroy(res);
        res = NULL;
        pr.p_min = 0;
        if (swarm_assign_solve(&pr, &o, &res, NULL) != SWARM_OK) goto out;
    }
    ok = res->status != SWARM_ASSIGN_INFEASIBLE && res->assign && res->r == k;
    if (ok) {
        while (ready_pop(R) >= 0) {
        }
        for (int32_t c = 0; c < k; c++) dispatch_checked(R, members[c], R->av[res->assign[c]], false);
    }
out:
    swarm_assign_result_destroy(res);
    sw_free(E);
    return ok;
}

void sw_run_wave(sw_run *R, int32_t limit)
{
    swarm_runtime *rt = R->rt;
    if (R->rq_n == 0 || limit <= 0) return;
    int32_t free_total = 0, n_av = 0;
    for (size_t i = 0; i < rt->n; i++)
        if (node_available(R, i) && node_free(R, i) > 0) {
            free_total += node_free(R, i);
            R->av[n_av++] = (int32_t)i;
        }
    if (free_total == 0) return;
    if (free_total > limit) free_total = limit; /* this task's share (coordinator.c) */
    if (R->ens_distinct && rt->p.dispatch == SWARM_DISPATCH_ASSIGN && ensemble_wave(R, n_av))
        return;
    int32_t batch[MAX_WAVE];
    int32_t nb = 0, need0 = -1, copies = 0;
    while (nb < MAX_WAVE) {
        int32_t k = ready_pop(R);
        if (k < 0) break;
        sub_rt *s = &R->subs[k];
        if (!sub_placeable(R, s)) {
            sub_set_terminal(R, k, S_FAILED, "no feasible node (skill missing or all failed it)");
            continue;
        }
        if (is_cascade(R, s)) {
            cascade_dispatch(R, k);
            if (s->queued) break; /* could not place it now */
            continue;
        }
        int32_t need = copies_wanted(R, s) - s->live;
        if (need > 1) {
            /* r copies on r distinct nodes (zones): fewer only when fewer
             * are alive to take them; busy ones are waited for, so a full
             * swarm does not quietly run redundant work once. */
            int32_t possible = copies_possible(R, s);
            if (need > possible) need = possible;
            if (need > n_av) {
                ready_unpop(R, k);
                break;
            }
        }
        if (need <= 0) {
            s->state = s->live > 0 ? S_RUNNING : S_READY;
            if (s->live == 0) {
                ready_unpop(R, k);
                break;
            }
            continue;
        }
        if ((need0 >= 0 && need != need0) || copies + need > free_total) {
            ready_unpop(R, k);
            break;
        }
        need0 = need;
        copies += need;
        batch[nb++] = k;
    }
    if (nb == 0) return;
    if (rt->p.dispatch != SWARM_DISPATCH_ASSIGN) {
        for (int32_t b = 0; b < nb; b++) place_copies(R, batch[b], need0, rt->p.dispatch);
        return;
    }
    /* Build the paper's problem over the available nodes and this batch. */
    size_t n = (size_t)n_av, m = (size_t)nb;
    double *E = sw_malloc(n * m * sizeof(double)), *T = sw_malloc(n * m * sizeof(double));
    double *C = sw_malloc(n * m * sizeof(double));
    double *Bv = sw_malloc(n * sizeof(double)), *E0 = sw_calloc(n, sizeof(double));
    int32_t *zid = NULL; /* zone ids, when zones are asked for */
    swarm_assign_result *res = NULL;
    if (!E || !T || !C || !Bv || !E0) goto fallback;
    double csum_total = 0;
    for (size_t a = 0; a < n; a++) {
        size_t i = (size_t)R->av[a];
        Bv[a] = node_free(R, i);
        for (size_t b = 0; b < m; b++) {
            sub_rt *s = &R->subs[batch[b]];
            E[a * m + b] = est_E(R, i, s);
            T[a * m + b] = est_T(R, i, s) + comm_s(R, i, s);
            /* a copy in the zone of one already running is infeasible too */
            bool out = excluded(R, s, i) ||
                       (rt->p.distinct_zones && s->live > 0 && zone_taken(R, s, i, NULL, 0));
            C[a * m + b] = out ? 0 : run_compat(R, i, s->st->skill);
        }
    }
    (void)csum_total;
    swarm_assign_problem pr = {0};
    pr.n = (int32_t)n;
    pr.m = (int32_t)m;
    pr.E = E0;
    pr.T = E0;
    pr.E_ik = E;
    pr.T_ik = T;
    pr.B = Bv;
    pr.C = C;
    pr.c_min = 1e-9; /* a node without the skill (C = 0) is not feasible */
    pr.redundancy = need0;
    /* zone ids for every available node: no cap, a silent one dropped the
     * zone constraint for swarms of more than 4096 nodes */
    if (rt->p.distinct_zones && need0 > 1) {
        zid = sw_malloc(n * sizeof(int32_t));
        if (zid == NULL) goto fallback; /* one by one: zones still hold there */
        /* zone names -> small ids (first node of a zone names it) */
        for (size_t a = 0; a < n; a++) {
            const char *za = swarm_swarm_node(rt->swarm, (size_t)R->av[a])->zone;
            zid[a] = (int32_t)a;
            for (size_t b = 0; b < a; b++)
                if (strcmp(swarm_swarm_node(rt->swarm, (size_t)R->av[b])->zone, za) == 0) {
                    zid[a] = zid[b];
                    break;
                }
        }
        pr.zone = zid;
        pr.distinct_zones = true;
    }
    pr.w_energy = R->w_e;
    pr.w_time = R->w_t;
    /* P_min is a total over the task: each wave must carry its share. */
    pr.p_min = R->p_min * (double)m / (double)R->m;
    swarm_assign_options o = swarm_assign_options_default();
    o.method = rt->p.assign_method;
    o.time_limit_s = 1;
    swarm_diag d;
    if (swarm_assign_solve(&pr, &o, &res, &d) != SWARM_OK) goto fallback;
    if (res->status == SWARM_ASSIGN_INFEASIBLE && pr.p_min > 0) {
        swarm_assign_result_destroy(res);
        res = NULL;
        pr.p_min = 0;
        if (swarm_assign_solve(&pr, &o, &res, &d) != SWARM_OK) goto fallback;
    }
    if (res->status == SWARM_ASSIGN_INFEASIBLE || res->assign == NULL) goto fallback;
    for (size_t b = 0; b < m; b++)
        for (int32_t c = 0; c < res->r; c++) {
            int32_t a = res->assign[b * (size_t)res->r + (size_t)c];
            if (a >= 0 && (size_t)a < n) dispatch_checked(R, batch[b], R->av[a], false);
        }
    goto out;
fallback:
    /* The solver could not place this batch (exclusions, capacity, zones):
     * place copies one by one on the best free feasible node; the rest
     * waits. P_min is relaxed for this wave; distinct zones never are. */
    for (size_t b = 0; b < m; b++) place_copies(R, batch[b], need0, SWARM_DISPATCH_ASSIGN);
out:
    swarm_assign_result_destroy(res);
    sw_free(E);
    sw_free(T);
    sw_free(C);
    sw_free(Bv);
    sw_free(E0);
    sw_free(zid);
}

/* ------------------------------------------------------------------------ */
/* the run                                                                   */

static swarm_err build_result(sw_run *R, swarm_run_result **out); /* the result, below */

static void run_free(sw_run *R)
{
    for (size_t k = 0; R->subs && k < R->m; k++) {
        sw_free(R->subs[k].prompt);
        sw_free(R->subs[k].att);
        sw_free(R->subs[k].excluded);
        sw_free(R->subs[k].text);
    }
    sw_free(R->subs);
    sw_free(R->dep_off);
    sw_free(R->dep_list);
    sw_free(R->rows);
    sw_free(R->ready);
    sw_free(R->delayed);
    sw_free(R->running);
    sw_free(R->outputs);
    sw_free(R->av);
    sw_free(R->allowed);
}

/* The runtime's named limits (runtime_int.h): a plan beyond them is refused
 * before any work, never truncated. The task parser stays within them, so
 * this holds plans built some other way. */
static bool plan_within_limits(sw_run *R, char *why, size_t cap)
{
    for (size_t k = 0; k < R->m; k++) {
        const swarm_subtask *st = R->subs[k].st;
        if (st->redundancy > SW_RT_MAX_REDUNDANCY || st->n_labels > SW_RT_MAX_LABELS) {
            snprintf(why, cap,
                     "subtask \"%.64s\": redundancy %d and %zu labels; the runtime's limits are "
                     "%d copies and %d labels",
                     st->name ? st->name : "", (int)st->redundancy, st->n_labels,
                     SW_RT_MAX_REDUNDANCY, SW_RT_MAX_LABELS);
            return false;
        }
    }
    return true;
}

/* Static checks of the plan against the whole swarm (health ignored): every
 * subtask needs a node with C > 0 for its skill, and r distinct such nodes
 * for redundancy r. Refusing here beats waiting unavailable_timeout_ms for
 * a node that cannot exist. */
static bool plan_feasible(sw_run *R, char *why, size_t cap)
{
    for (size_t k = 0; k < R->m; k++) {
        const swarm_subtask *st = R->subs[k].st;
        size_t able = 0;
        for (size_t i = 0; i < R->rt->n; i++)
            able += run_compat(R, i, st->skill) > 0;
        int32_t r = st->redundancy > 0 ? st->redundancy : 1;
        if (able == 0) {
            snprintf(why, cap, "subtask \"%.64s\": no node of the swarm has skill \"%.64s\" (C > 0)",
                     st->name ? st->name : "", st->skill ? st->skill : "");
            return false;
        }
        if (R->rt->p.distinct_zones && r > 1) {
            size_t zones = 0;
            for (size_t i = 0; i < R->rt->n; i++) {
                const swarm_node_spec *ni = swarm_swarm_node(R->rt->swarm, i);
                if (run_compat(R, i, st->skill) <= 0) continue;
                bool seen = false;
                for (size_t j = 0; j < i && !seen; j++) {
                    const swarm_node_spec *nj = swarm_swarm_node(R->rt->swarm, j);
                    seen = run_compat(R, j, st->skill) > 0 && strcmp(nj->zone, ni->zone) == 0;
                }
                zones += !seen;
            }
            if ((size_t)r > zones) {
                snprintf(why, cap,
                         "subtask \"%.64s\": redundancy %d in distinct zones needs %d zones with "
                         "skill \"%.64s\", the swarm has %zu",
                         st->name ? st->name : "", (int)r, (int)r, st->skill ? st->skill : "",
                         zones);
                return false;
            }
        }
        if ((size_t)r > able) {
            snprintf(why, cap,
                     "subtask \"%.64s\": redundancy %d needs %d distinct nodes with skill "
                     "\"%.64s\", the swarm has %zu",
                     st->name ? st->name : "", (int)r, (int)r, st->skill ? st->skill : "", able);
            return false;
        }
    }
    return true;
}

/* Best achievable total compatibility (capacity ignored: it is per wave). */
static bool p_min_feasible(sw_run *R, char *why, size_t cap)
{
    if (R->p_min <= 0) return true;
    double total = 0;
    double *c = sw_malloc(R->rt->n * sizeof(double));
    if (c == NULL) return true;
    for (size_t k = 0; k < R->m; k++) {
        const swarm_subtask *st = R->subs[k].st;
        for (size_t i = 0; i < R->rt->n; i++)
            c[i] = run_compat(R, i, st->skill);
        int32_t r = st->redundancy > 0 ? st->redundancy : 1;
        for (int32_t t = 0; t < r; t++) {
            size_t bi = 0;
            for (size_t i = 1; i < R->rt->n; i++)
                if (c[i] > c[bi]) bi = i;
            total += c[bi] > 0 ? c[bi] : 0;
            c[bi] = -1;
        }
    }
    sw_free(c);
    if (total + 1e-9 >= R->p_min) return true;
    snprintf(why, cap,
             "P_min = %g cannot be met: the best total compatibility of this swarm for the plan "
             "is %g (short by %g)",
             R->p_min, total, R->p_min - total);
    return false;
}

/* The reverse edges of the DAG (dependents of each subtask), after
 * checking that every dependency comes before its dependent. */
static swarm_err build_dependents(sw_run *R, swarm_diag *d)
{
    size_t n_edges = 0;
    for (size_t k = 0; k < R->m; k++) {
        const swarm_subtask *st = R->subs[k].st;
        for (size_t e = 0; e < st->n_deps; e++) {
            int32_t dep = st->deps[e];
            if (dep < 0 || (size_t)dep >= k)
                return sw_diag_set(d, SWARM_EINVAL, "subtask %zu depends on %d (not before it)", k,
                                   dep);
            R->dep_off[dep + 1]++;
            n_edges++;
        }
    }
    for (size_t k = 0; k < R->m; k++) R->dep_off[k + 1] += R->dep_off[k];
    R->dep_list = sw_calloc(n_edges ? n_edges : 1, sizeof(int32_t));
    int32_t *fill = sw_calloc(R->m, sizeof(int32_t));
    if (!R->dep_list || !fill) {
        sw_free(fill);
        return SWARM_ENOMEM;
    }
    for (size_t k = 0; k < R->m; k++) {
        const swarm_subtask *st = R->subs[k].st;
        for (size_t e = 0; e < st->n_deps; e++) {
            int32_t dep = st->deps[e];
            R->dep_list[R->dep_off[dep] + fill[dep]++] = (int32_t)k;
        }
    }
    sw_free(fill);
    return SWARM_OK;
}

/* The task's node allow-list as a flag per node; a name the swarm does not
 * have is refused (a typo must not silently widen or empty the list). */
static swarm_err build_allowed(sw_run *R, swarm_diag *d)
{
    size_t n = 0;
    const char *const *names = swarm_task_nodes(R->task, &n);
    if (n == 0) return SWARM_OK;
    if ((R->allowed = sw_calloc(R->rt->n ? R->rt->n : 1, sizeof(bool))) == NULL) return SWARM_ENOMEM;
    for (size_t k = 0; k < n; k++) {
        int32_t i = swarm_swarm_find(R->rt->swarm, names[k]);
        if (i < 0)
            return sw_diag_set(d, SWARM_EINVAL, "task \"%.64s\" names node \"%.64s\"; the swarm has "
                               "no node of that name", swarm_task_name(R->task), names[k]);
        R->allowed[i] = true;
    }
    return SWARM_OK;
}

swarm_err sw_run_prepare(swarm_runtime *rt, const swarm_task *task, swarm_plan *plan,
                         sw_run **out, swarm_diag *d)
{
    sw_run *R = sw_calloc(1, sizeof(*R));
    if (R == NULL) {
        swarm_plan_destroy(plan);
        return SWARM_ENOMEM;
    }
    R->rt = rt;
    R->task = task;
    R->plan = plan;
    R->m = swarm_plan_count(plan);
    R->decomp = swarm_plan_decomp(plan);
    R->agg = swarm_task_agg(task);
    R->deadline_ms = swarm_task_deadline_ms(task);
    R->p_min = swarm_task_p_min(task);
    swarm_task_objective(task, &R->w_e, &R->w_t);
    if (R->w_e == 0 && R->w_t == 0) R->w_e = R->w_t = 1;
    R->threshold = swarm_task_cascade_threshold(task);
    R->max_retries = swarm_task_max_retries(task);
    if (R->max_retries < 0) R->max_retries = 0;
    R->retry_cap = (int32_t)(rt->p.retry_budget * (double)R->m) + 3;
    swarm_err rc = SWARM_ENOMEM;
    if (R->m == 0) {
        rc = sw_diag_set(d, SWARM_EINVAL, "the plan has no subtasks");
        goto fail;
    }
    R->subs = sw_calloc(R->m, sizeof(sub_rt));
    R->dep_off = sw_calloc(R->m + 1, sizeof(int32_t));
    R->ready = sw_calloc(R->m, sizeof(int32_t));
    R->delayed = sw_calloc(R->m, sizeof(int32_t));
    R->outputs = sw_calloc(R->m, sizeof(char *));
    R->av = sw_calloc(rt->n ? rt->n : 1, sizeof(int32_t));
    if (!R->subs || !R->dep_off || !R->ready || !R->delayed || !R->outputs || !R->av) goto fail;
    for (size_t k = 0; k < R->m; k++) {
        R->subs[k].st = swarm_plan_get(plan, k);
        R->subs[k].node = -1;
    }
    if ((rc = build_dependents(R, d))) goto fail;
    if ((rc = build_allowed(R, d))) goto fail;
    char why[256] = "";
    if (!plan_within_limits(R, why, sizeof(why))) {
        rc = sw_diag_set(d, SWARM_EINVAL, "%s", why);
        goto fail;
    }
    if (!plan_feasible(R, why, sizeof(why)) || !p_min_feasible(R, why, sizeof(why))) {
        rc = sw_diag_set(d, SWARM_EINFEASIBLE, "%s", why);
        goto fail;
    }
    *out = R;
    return SWARM_OK;
fail:
    sw_run_free(R);
    return rc;
}

static void free_resumed(sw_journal_sub *resumed, size_t m)
{
    for (size_t k = 0; resumed && k < m; k++) sw_free(resumed[k].output);
    sw_free(resumed);
}

/* With a journal: records the task, and when resuming an interrupted run
 * of the same task, reads its subtasks into *resumed (NULL when there is
 * none to resume). */
static swarm_err journal_begin(sw_run *R, sw_journal_sub **resumed, swarm_diag *d)
{
    swarm_runtime *rt = R->rt;
    *resumed = NULL;
    swarm_err rc = sw_runlog_add_sink(&R->log, &sw_journal_sink_ops, rt->journal);
    if (rc) return rc;
    char digest[32];
    snprintf(digest, sizeof(digest), "%016llx",
             (unsigned long long)(sw_fnv1a(swarm_task_input(R->task)) ^
                                  sw_fnv1a(swarm_decomp_name(R->decomp))));
    const char **names = sw_calloc(R->m, sizeof(char *));
    sw_journal_sub *subs = rt->p.resume ? sw_calloc(R->m, sizeof(*subs)) : NULL;
    if (names == NULL || (rt->p.resume && subs == NULL)) {
        sw_free(names);
        sw_free(subs);
        return SWARM_ENOMEM;
    }
    for (size_t k = 0; k < R->m; k++) names[k] = R->subs[k].st->name;
    bool was_resumed = false;
    rc = sw_runlog_task_begin(&R->log, swarm_task_name(R->task), digest, R->m, names,
                              rt->p.resume, subs, &was_resumed);
    sw_free(names);
    if (rc) {
        free_resumed(subs, R->m);
        return sw_diag_set(d, rc, "journal: cannot %s the task",
                           rt->p.resume ? "read the interrupted task or record" : "record");
    }
    if (was_resumed) *resumed = subs;
    else free_resumed(subs, R->m);
    return SWARM_OK;
}

/* Resuming: subtasks the journal holds as done are committed from it (a
 * trace row "from journal"), and every epoch continues above the last one
 * assigned, so the journal's history stays legal. */
static swarm_err apply_resumed(sw_run *R, sw_journal_sub *resumed)
{
    swarm_runtime *rt = R->rt;
    R->log.replay = resumed;
    for (size_t k = 0; k < R->m; k++) R->subs[k].epochs = R->subs[k].epoch0 = resumed[k].epoch;
    for (size_t k = 0; k < R->m; k++) {
        sub_rt *s = &R->subs[k];
        if (resumed[k].state == SW_J_OPEN || terminal(s->state)) continue;
        if (is_cascade(R, s)) s->held = false;
        if (resumed[k].state != SW_J_DONE) {
            s->state = resumed[k].state == SW_J_FAILED ? S_FAILED : S_CANCELED;
            s->note = "from journal";
            sub_terminal(R, (int32_t)k);
            continue;
        }
        if (R->n_rows == R->cap_rows) {
            size_t nc = R->cap_rows ? R->cap_rows * 2 : 64;
            row_rt *nr = sw_realloc(R->rows, nc * sizeof(*nr));
            if (nr == NULL) {
                R->log.replay = NULL;
                return SWARM_ENOMEM;
            }
            R->rows = nr;
            R->cap_rows = nc;
        }
        row_rt *rw = &R->rows[R->n_rows++];
        memset(rw, 0, sizeof(*rw));
        int32_t node = resumed[k].node >= 0 && (size_t)resumed[k].node < rt->n ? resumed[k].node : 0;
        rw->r.subtask = (int32_t)k;
        rw->r.subtask_name = s->st->name;
        rw->r.node = node;
        rw->r.node_name = swarm_swarm_node(rt->swarm, (size_t)node)->name;
        rw->r.epoch = resumed[k].epoch;
        rw->r.outcome = SWARM_OUTCOME_DONE;
        rw->r.note = "from journal";
        rw->r.end_ms = 0;
        s->text = resumed[k].output;
        resumed[k].output = NULL;
        s->value = resumed[k].value;
        s->confidence = resumed[k].confidence;
        s->node = node;
        s->state = S_DONE;
        sub_terminal(R, (int32_t)k);
    }
    R->log.replay = NULL;
    return SWARM_OK;
}

swarm_err sw_run_start(sw_run *R, swarm_diag *d)
{
    swarm_runtime *rt = R->rt;
    R->run_id = ++rt->run_seq;
    R->t0 = R->now = rt->now;
    R->stall_since = -1;
    uint64_t zero = 0;
    atomic_compare_exchange_strong(&rt->env.t0_ns, &zero, sw_now_ns());
    for (size_t k = 0; k < R->m; k++) {
        sub_rt *s = &R->subs[k];
        s->deps_left = (int32_t)s->st->n_deps;
        if (is_cascade(R, s)) {
            s->deps_left = 0;
            s->held = true;
        }
    }
    if (rt->journal) {
        sw_journal_sub *resumed = NULL;
        swarm_err rc = journal_begin(R, &resumed, d);
        if (rc == SWARM_OK && resumed) rc = apply_resumed(R, resumed);
        free_resumed(resumed, R->m);
        if (rc) return rc;
    }
    /* the first cascade level starts; other roots are ready at once */
    bool first_level = true;
    for (size_t k = 0; k < R->m; k++) {
        sub_rt *s = &R->subs[k];
        if (is_cascade(R, s)) {
            if (first_level && s->held) {
                s->held = false;
                ready_push(R, (int32_t)k);
                first_level = false;
            }
        } else if (s->deps_left == 0) {
            ready_push(R, (int32_t)k);
        }
    }
    if (R->decomp == SWARM_DECOMP_ENSEMBLE) {
        size_t k = 0;
        for (size_t q = 0; q < R->m; q++) k += R->subs[q].st->is_output;
        R->n_members = k;
        R->ens_distinct = k <= rt->n;
    }
    return SWARM_OK;
}

double sw_run_next_due(const sw_run *R)
{
    double due = INFINITY;
    for (size_t q = 0; R->deadline_ms > 0 && q < R->n_running; q++) {
        const row_rt *rw = &R->rows[R->running[q]];
        if (rw->r.outcome != SWARM_OUTCOME_RUNNING) continue;
        double at = R->t0 + rw->r.start_ms + R->deadline_ms;
        if (at < due) due = at;
    }
    for (size_t q = 0; q < R->n_delayed; q++)
        if (R->subs[R->delayed[q]].ready_at < due) due = R->subs[R->delayed[q]].ready_at;
    return due;
}

int32_t sw_run_inflight(const sw_run *R)
{
    int32_t n = 0;
    for (size_t q = 0; q < R->n_running; q++) n += R->rows[R->running[q]].holds_slot;
    return n;
}

bool sw_run_finished(const sw_run *R) { return R->n_terminal >= R->m; }

void sw_run_cancel(sw_run *R, const char *why)
{
    for (size_t k = 0; k < R->m; k++)
        if (!terminal(R->subs[k].state)) sub_set_terminal(R, (int32_t)k, S_CANCELED, why);
}

static void emit_progress(sw_run *R)
{
    if (R->n_terminal == R->last_terminal || R->o.on_event == NULL) return;
    R->last_terminal = R->n_terminal;
    swarm_task_event te = {0};
    te.type = SWARM_TASK_EVENT_PROGRESS;
    te.ticket = R->ticket;
    te.done = R->n_terminal;
    te.total = R->m;
    R->o.on_event(R->o.ud, &te);
}

void sw_run_after_loop(sw_run *R)
{
    swarm_runtime *rt = R->rt;
    emit_progress(R);
    if (!R->log.broken && sw_runlog_commit(&R->log) != SWARM_OK) {
        /* The journal is the commit point: a failed write or fsync is fatal
         * for it (no retry-and-continue, the fsyncgate lesson). Work still
         * open fails visibly; the result says why. */
        sw_log_error("journal %s: write or commit failed; stopping the run",
                     rt->journal_path ? rt->journal_path : "");
        for (size_t k = 0; k < R->m; k++)
            if (!terminal(R->subs[k].state))
                sub_set_terminal(R, (int32_t)k, S_FAILED, "journal write failed");
    }
    /* Nothing in flight, work waiting, nobody able to take it: fail visibly
     * after unavailable_timeout instead of hanging. */
    bool inflight = false;
    for (size_t q = 0; q < R->n_running && !inflight; q++)
        inflight = R->rows[R->running[q]].r.outcome == SWARM_OUTCOME_RUNNING;
    if (inflight || (R->rq_n == 0 && R->n_delayed == 0) || R->n_terminal >= R->m) {
        R->stall_since = -1;
        return;
    }
    if (R->stall_since < 0) {
        R->stall_since = R->now;
    } else if (R->now - R->stall_since > rt->p.unavailable_timeout_ms) {
        /* say so when dispatching itself kept failing (out of memory) */
        const char *why = R->dispatch_failures > 0
                              ? "no node available (dispatches failed: out of memory)"
                              : "no node available";
        for (size_t k = 0; k < R->m; k++)
            if (!terminal(R->subs[k].state)) sub_set_terminal(R, (int32_t)k, S_FAILED, why);
    }
}

swarm_err sw_run_end(sw_run *R, swarm_run_result **out)
{
    swarm_runtime *rt = R->rt;
    emit_progress(R);
    /* Every subtask is terminal; attempts still running were canceled and
     * hold their node's slot until the node answers. */
    for (size_t q = 0; q < R->n_rows; q++) { /* canceled rows left the running list */
        row_rt *rw = &R->rows[q];
        if (!rw->holds_slot) continue;
        rw->holds_slot = false;
        sw_orphan_add(rt, rw->r.node, R->run_id, rw->r.subtask, rw->r.epoch);
    }
    swarm_err rc = build_result(R, out);
    if (!R->log.broken) {
        const swarm_run_result *res = *out;
        sw_runlog_task_end(&R->log, res && res->status == SWARM_OK, res && res->text ? res->text : "");
        (void)sw_runlog_commit(&R->log); /* a failure sets log.broken, reported below */
    }
    if (R->log.broken && rc == SWARM_OK && *out) {
        /* answers that are not durable are not reported as a success */
        (*out)->status = SWARM_ESYS;
        snprintf((*out)->error, sizeof((*out)->error),
                 "journal %.160s: write or commit failed, results are not durable",
                 rt->journal_path ? rt->journal_path : "");
    }
    if (rc == SWARM_OK && *out && R->cancel_asked) {
        (*out)->status = R->cancel_why;
        snprintf((*out)->error, sizeof((*out)->error), "%s",
                 R->cancel_why == SWARM_ETIMEDOUT ? "the task's deadline passed"
                                                  : "canceled by the caller");
    }
    return rc;
}

void sw_run_free(sw_run *R)
{
    if (R == NULL) return;
    run_free(R);
    swarm_plan_destroy(R->plan);
    sw_free(R);
}

/* ------------------------------------------------------------------------ */
/* result: aggregation over the output subtasks, ordered by HLC              */

static bool numeric_method(swarm_agg_method m)
{
    return m == SWARM_AGG_WEIGHTED_AVERAGE || m == SWARM_AGG_HYBRID || m == SWARM_AGG_HIERARCHICAL;
}

/* Votes compare and report labels trimmed (docs/aggregation.md); a classify
 * task's answer is its declared label, as a single subtask or a cascade
 * gives it, so a trimmed winner is mapped back to the label. */
static const char *label_of(sw_run *R, swarm_subtask_kind kind, const char *text)
{
    if (kind != SWARM_SUBTASK_CLASSIFY) return text;
    for (size_t k = 0; k < R->m; k++) {
        const swarm_subtask *st = R->subs[k].st;
        if (!st->is_output) continue;
        for (size_t j = 0; j < st->n_labels; j++) {
            const char *l = st->labels[j];
            while (*l == ' ' || *l == '\t' || *l == '\n' || *l == '\r') l++;
            size_t n = strlen(l);
            while (n > 0 && (l[n - 1] == ' ' || l[n - 1] == '\t' || l[n - 1] == '\n' || l[n - 1] == '\r'))
                n--;
            if (strcmp(st->labels[j], text) == 0 || (strlen(text) == n && strncmp(l, text, n) == 0))
                return st->labels[j];
        }
        break; /* output subtasks of one task share their labels */
    }
    return text;
}

static void aggregate_into(sw_run *R, swarm_run_result *res)
{
    swarm_runtime *rt = R->rt;
    size_t n_items = 0, n_out = 0, n_failed_out = 0;
    int32_t last_cascade = -1;
    for (size_t k = 0; k < R->m; k++) {
        sub_rt *s = &R->subs[k];
        if (!s->st->is_output) continue;
        n_out++;
        if (s->state == S_DONE) {
            n_items++;
            if (is_cascade(R, s)) last_cascade = (int32_t)k;
        } else if (s->state == S_FAILED) {
            n_failed_out++;
        }
    }
    if (R->decomp == SWARM_DECOMP_CASCADE && last_cascade >= 0) {
        sub_rt *s = &R->subs[last_cascade];
        res->is_text = s->st->kind != SWARM_SUBTASK_SCORE;
        res->text = s->text ? sw_strdup(s->text) : NULL;
        res->value = s->value;
        res->winner = sw_strdup(swarm_swarm_node(rt->swarm, (size_t)s->node)->name);
        return;
    }
    if (n_items == 0 || (n_failed_out > 0 && R->decomp != SWARM_DECOMP_ENSEMBLE)) {
        res->status = SWARM_EUNAVAIL;
        /* name the first failure and why (its note), e.g. "no node available" */
        const sub_rt *f = NULL;
        for (size_t k = 0; k < R->m && f == NULL; k++)
            if (R->subs[k].state == S_FAILED) f = &R->subs[k];
        snprintf(res->error, sizeof(res->error), "%zu of %zu output subtasks failed%s%.64s%s%.96s%s",
                 n_out - n_items, n_out, f ? " (first: " : "", f && f->st->name ? f->st->name : "",
                 f ? ": " : "", f && f->note ? f->note : (f ? "failed" : ""), f ? ")" : "");
        return;
    }
    swarm_agg_item *items = sw_calloc(n_items, sizeof(*items));
    if (items == NULL) {
        res->status = SWARM_ENOMEM;
        return;
    }
    swarm_agg_spec spec = R->agg ? *R->agg : swarm_agg_spec_default();
    size_t j = 0;
    swarm_subtask_kind kind = SWARM_SUBTASK_GENERATE;
    for (size_t k = 0; k < R->m; k++) {
        sub_rt *s = &R->subs[k];
        if (!s->st->is_output || s->state != S_DONE) continue;
        const swarm_node_spec *ns = swarm_swarm_node(rt->swarm, (size_t)s->node);
        swarm_agg_item *it = &items[j++];
        kind = s->st->kind;
        it->node = ns->name;
        it->is_text = kind == SWARM_SUBTASK_GENERATE ||
                      (kind == SWARM_SUBTASK_CLASSIFY && !numeric_method(spec.method));
        it->text = it->is_text ? (s->text ? s->text : "") : NULL;
        it->value = s->value;
        it->p = ns->accuracy;
        it->r = ns->relevance;
        it->hlc = s->hlc;
        it->group = s->st->group;
    }
    if (n_items == 1) {
        res->is_text = items[0].is_text;
        res->text = items[0].is_text ? sw_strdup(items[0].text) : NULL;
        res->value = items[0].value;
        res->winner = sw_strdup(items[0].node);
        if (!items[0].is_text && spec.decide != SWARM_AGG_DECIDE_NONE) {
            swarm_agg_result *ar = NULL;
            if (swarm_aggregate(&spec, items, 1, &ar, NULL) == SWARM_OK) {
                res->decision = ar->decision;
                swarm_agg_result_destroy(ar);
            }
        }
        sw_free(items);
        return;
    }
    swarm_agg_result *ar = NULL;
    swarm_diag d = {{0}};
    swarm_err rc = swarm_aggregate(&spec, items, n_items, &ar, &d);
    if (rc) {
        res->status = rc;
        snprintf(res->error, sizeof(res->error), "aggregation: %.200s", d.msg);
    } else {
        res->is_text = ar->is_text;
        res->value = ar->value;
        res->text = ar->text ? sw_strdup(label_of(R, kind, ar->text)) : NULL;
        res->decision = ar->decision;
        res->winner = ar->winner ? sw_strdup(ar->winner) : NULL;
        swarm_agg_result_destroy(ar);
    }
    sw_free(items);
}

/* An attempt given up without an answer (deadline, stuck, node dead,
 * canceled) still ran for a while: its energy is estimated from the time
 * it held the node (a late answer, when it comes in time, replaces it). */
static void account_unanswered(sw_run *R)
{
    for (size_t q = 0; q < R->n_rows; q++) {
        swarm_trace_row *t = &R->rows[q].r;
        if (t->hlc != 0 || t->energy_j != 0 || t->end_ms < 0 || t->outcome == SWARM_OUTCOME_DONE)
            continue;
        t->energy_j = sw_est_energy(R->rt, (size_t)t->node, t->end_ms - t->start_ms, t->tokens);
        R->energy += t->energy_j;
    }
}

/* The paper's P_min over what was committed: each accepted result counts
 * the C_ik of the node that gave it. Waves relax P_min when it cannot be
 * met with the nodes available; the result says so, and with
 * p_min_policy "fail" the task fails. */
static void check_p_min(sw_run *R, swarm_run_result *res)
{
    res->p_min = R->p_min;
    res->sum_c = 0;
    for (size_t k = 0; k < R->m; k++) {
        const sub_rt *s = &R->subs[k];
        if (s->state == S_DONE && s->node >= 0)
            res->sum_c += swarm_node_compat(swarm_swarm_node(R->rt->swarm, (size_t)s->node), s->st->skill);
    }
    if (R->p_min <= 0 || res->sum_c + 1e-9 >= R->p_min || res->status != SWARM_OK) return;
    if (swarm_task_p_min_policy(R->task) == SWARM_P_MIN_FAIL) {
        res->status = SWARM_EINFEASIBLE;
        snprintf(res->error, sizeof(res->error),
                 "P_min = %g not met: the committed results total C = %g (p_min_policy fail)",
                 R->p_min, res->sum_c);
        return;
    }
    sw_log_warn("task %s: P_min = %g not met: the committed results total C = %g",
                swarm_task_name(R->task), R->p_min, res->sum_c);
}

static swarm_err build_result(sw_run *R, swarm_run_result **out)
{
    swarm_runtime *rt = R->rt;
    swarm_run_result *res = sw_calloc(1, sizeof(*res));
    if (res == NULL) return SWARM_ENOMEM;
    res->seed = rt->seed;
    res->wall_ms = sw_now_ms() - R->t0;
    res->tokens = R->tokens;
    res->n_reassigned = R->n_reassigned;
    res->n_retries = R->retries_used;
    res->n_hedges = R->n_hedges;
    res->n_discarded = R->n_discarded;
    res->n_canceled = R->n_canceled;
    res->n_ejections = R->n_ejections;
    res->n_readmitted = R->n_readmitted;
    res->n_convicted = R->n_convicted;
    res->task_name = sw_strdup(swarm_task_name(R->task) ? swarm_task_name(R->task) : "");
    res->decomp = sw_strdup(swarm_decomp_name(R->decomp));
    res->n_subtasks = R->m;
    res->subtasks = sw_calloc(R->m, sizeof(*res->subtasks));
    res->n_trace = R->n_rows;
    res->trace = sw_calloc(R->n_rows ? R->n_rows : 1, sizeof(*res->trace));
    if (!res->task_name || !res->decomp || !res->subtasks || !res->trace) {
        swarm_run_result_destroy(res);
        return SWARM_ENOMEM;
    }
    for (size_t k = 0; k < R->m; k++) {
        sub_rt *s = &R->subs[k];
        swarm_subtask_result *o = &res->subtasks[k];
        o->id = (int32_t)k;
        o->name = s->st->name ? sw_strdup(s->st->name) : sw_strdup("");
        o->state = s->state == S_DONE ? SWARM_OUTCOME_DONE
                   : s->state == S_CANCELED ? SWARM_OUTCOME_CANCELED
                   : s->state == S_FAILED ? SWARM_OUTCOME_FAILED
                                          : SWARM_OUTCOME_PENDING;
        o->text = s->text; /* moved */
        s->text = NULL;
        R->outputs[k] = NULL;
        o->value = s->value;
        o->confidence = s->confidence;
        o->node = s->node;
        o->hlc = s->hlc;
    }
    account_unanswered(R);
    res->energy_j = R->energy;
    for (size_t q = 0; q < R->n_rows; q++) {
        res->trace[q] = R->rows[q].r;
        res->trace[q].subtask_name = res->subtasks[R->rows[q].r.subtask].name;
    }
    /* aggregation reads subtask texts: point the run at the moved copies */
    for (size_t k = 0; k < R->m; k++) R->subs[k].text = res->subtasks[k].text;
    aggregate_into(R, res);
    for (size_t k = 0; k < R->m; k++) R->subs[k].text = NULL;
    check_p_min(R, res);
    *out = res;
    return SWARM_OK;
}
