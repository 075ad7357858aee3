/*
 * health.c: what the coordinator knows of each node's health, shared by
 * every task that runs on it: the failure detector (phi-accrual or a
 * timeout over heartbeats), conviction and re-admission with a flap
 * back-off, the circuit breaker (open, cooldown, half-open), and the
 * one-token probe that clears a node whose attempt got stuck. Called from
 * the coordinator thread only (coordinator.c, sched.c).
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "sched_int.h"

bool sw_node_available(const swarm_runtime *rt, size_t i)
{
    const node_state *ns = &rt->nodes[i];
    return !ns->dead && !ns->ejected && !ns->unhealthy && ns->admin == SWARM_NODE_ACTIVE;
}

void sw_health_admin(swarm_runtime *rt, size_t i, swarm_node_admin to)
{
    node_state *ns = &rt->nodes[i];
    if (ns->admin == SWARM_NODE_REMOVED || ns->admin == to) return;
    ns->admin = to;
    sw_log_info("node %s: %s", swarm_swarm_node(rt->swarm, i)->name,
                to == SWARM_NODE_ACTIVE ? "active" : to == SWARM_NODE_DRAINING ? "draining" : "removed");
    if (to != SWARM_NODE_REMOVED) return;
    /* its work moves on now, as if it had died (without a conviction) */
    for (size_t r = 0; r < rt->n_runs; r++) sw_run_node_gone(rt->runs[r], i, "node removed");
    ns->inflight = 0;
    size_t w = 0;
    for (size_t o = 0; o < rt->n_orphans; o++)
        if ((size_t)rt->orphans[o].node != i) rt->orphans[w++] = rt->orphans[o];
    rt->n_orphans = w;
}

int32_t sw_node_free(const swarm_runtime *rt, size_t i)
{
    int32_t f = swarm_swarm_node(rt->swarm, i)->capacity - rt->nodes[i].inflight;
    return f > 0 ? f : 0;
}

/* ------------------------------------------------------------------------ */
/* circuit breaker                                                           */

bool sw_health_failure(swarm_runtime *rt, size_t i)
{
    node_state *ns = &rt->nodes[i];
    if (++ns->consec_fail < rt->p.breaker_failures || ns->ejected) return false;
    size_t ej = 0;
    for (size_t j = 0; j < rt->n; j++) ej += rt->nodes[j].ejected;
    size_t cap = (size_t)floor(rt->p.max_ejected_fraction * (double)rt->n);
    if (cap < 1) cap = 1; /* at least one host is always ejectable */
    if (ej >= cap) return false;
    ns->ejected = true;
    ns->half_open = false;
    ns->n_ejections++;
    ns->eject_until = rt->now + rt->p.breaker_cooldown_ms * ns->n_ejections;
    ns->consec_fail = 0;
    sw_log_info("node %s: circuit open for %.0f ms after %d consecutive failures",
                swarm_swarm_node(rt->swarm, i)->name, rt->p.breaker_cooldown_ms * ns->n_ejections,
                rt->p.breaker_failures);
    return true;
}

bool sw_health_success(swarm_runtime *rt, size_t i)
{
    node_state *ns = &rt->nodes[i];
    ns->consec_fail = 0;
    if (!ns->half_open) return false;
    ns->half_open = false; /* the half-open breaker closes on a success */
    return true;
}

/* Every running task saw it: node-level events count in each one's stats. */
static void count_readmitted(swarm_runtime *rt)
{
    for (size_t r = 0; r < rt->n_runs; r++) rt->runs[r]->n_readmitted++;
}

/* ------------------------------------------------------------------------ */
/* probes                                                                    */

static void send_probe(swarm_runtime *rt, size_t i)
{
    node_state *ns = &rt->nodes[i];
    sw_dispatch *msg = sw_dispatch_new((int32_t)i, SW_SUB_PROBE, SWARM_SUBTASK_GENERATE, "Once", NULL, 0, 1);
    if (msg == NULL) return;
    msg->epoch = ++ns->probe_epoch;
    msg->probe = true;
    ns->probe_sent_ms = rt->now;
    /* a probe that did not go out is sent again on a later tick */
    ns->probing = rt->tp->ops->send(rt->tp, msg) == SWARM_OK;
}

void sw_health_stuck(swarm_runtime *rt, size_t i)
{
    /* alive but stuck: only a real one-token generation clears it */
    rt->nodes[i].unhealthy = true;
    send_probe(rt, i);
}

static void on_probe_answer(swarm_runtime *rt, const sw_event *ev)
{
    node_state *ns = &rt->nodes[ev->node];
    if (ev->epoch != ns->probe_epoch) return;
    ns->probing = false;
    if (ev->rc != SWARM_OK) return;
    if (ns->unhealthy) count_readmitted(rt); /* the probe passed */
    ns->unhealthy = false;
    ns->consec_fail = 0;
}

/* ------------------------------------------------------------------------ */
/* the failure detector: conviction and re-admission                         */

static sw_readmit_rule readmit_rule(const swarm_runtime *rt)
{
    sw_readmit_rule r = {rt->p.heartbeat_ms, rt->p.acceptable_pause_ms, rt->p.flap_backoff_ms,
                         rt->p.readmit_heartbeats};
    return r;
}

static void declare_dead(swarm_runtime *rt, size_t i, const char *why)
{
    node_state *ns = &rt->nodes[i];
    if (ns->dead) return;
    ns->dead = true;
    ns->healthy_hb = 0;
    ns->inflight = 0;
    /* Envoy-style ejection back-off for a node that keeps dying: the first
     * conviction may be a transient pause and readmits on heartbeats alone */
    ns->n_deaths++;
    sw_readmit_rule rule = readmit_rule(rt);
    ns->readmit_at = sw_readmit_not_before(&rule, rt->now, ns->n_deaths);
    sw_log_info("node %s: declared dead (%s)", swarm_swarm_node(rt->swarm, i)->name, why);
    for (size_t r = 0; r < rt->n_runs; r++) {
        rt->runs[r]->n_convicted++;
        sw_run_node_gone(rt->runs[r], i, why);
    }
    /* slots of finished tasks' attempts there are gone with it */
    size_t w = 0;
    for (size_t o = 0; o < rt->n_orphans; o++)
        if ((size_t)rt->orphans[o].node != i) rt->orphans[w++] = rt->orphans[o];
    rt->n_orphans = w;
}

static void on_heartbeat(swarm_runtime *rt, size_t i)
{
    node_state *ns = &rt->nodes[i];
    if (ns->dead) {
        /* Re-admission needs N consecutive heartbeats (a gap longer than
         * the detector's pause starts the count again) and, for a node
         * convicted before, its back-off to have passed. */
        sw_readmit_rule rule = readmit_rule(rt);
        if (sw_readmit_heartbeat(&rule, &ns->healthy_hb, ns->last_hb_ms, rt->now,
                                 ns->readmit_at)) {
            ns->dead = false;
            sw_phi_init(&ns->phi, rt->p.heartbeat_ms, rt->p.acceptable_pause_ms, rt->p.min_std_ms);
            sw_phi_heartbeat(&ns->phi, rt->now);
            sw_log_info("node %s: re-admitted", swarm_swarm_node(rt->swarm, i)->name);
        }
    } else {
        sw_phi_heartbeat(&ns->phi, rt->now);
    }
    ns->last_hb_ms = rt->now;
}

void sw_health_event(swarm_runtime *rt, sw_event *ev)
{
    switch (ev->type) {
    case SW_EV_HEARTBEAT: on_heartbeat(rt, (size_t)ev->node); break;
    case SW_EV_RESULT:
        if (ev->probe) on_probe_answer(rt, ev);
        break;
    case SW_EV_NODE_UP:
    case SW_EV_NODE_DOWN:
        /* Membership as the transport knows it. The failure detector stays
         * the judge (a gone node falls silent and is convicted as before);
         * dynamic membership (add, drain, remove) builds on these. */
        sw_log_debug("node %s: transport reports it %s",
                     swarm_swarm_node(rt->swarm, (size_t)ev->node)->name,
                     ev->type == SW_EV_NODE_UP ? "up" : "down");
        break;
    default: break;
    }
}

static bool convicted(const swarm_runtime *rt, const node_state *ns)
{
    if (rt->p.detector == SWARM_DETECT_TIMEOUT)
        return ns->phi.last_ms >= 0 && rt->now - ns->phi.last_ms > rt->p.timeout_ms;
    return sw_phi_value(&ns->phi, rt->now) > rt->p.phi_threshold;
}

/* B2: every suspicion is logged with phi and the history */
static void log_suspicion(const swarm_runtime *rt, size_t i)
{
    const sw_phi *ph = &rt->nodes[i].phi;
    double mean = ph->n ? ph->sum / ph->n : 0;
    double var = ph->n ? ph->sumsq / ph->n - mean * mean : 0;
    sw_log_warn("node %s: suspected: phi %.2f after %.0f ms of silence (heartbeat "
                "intervals: n %d, mean %.1f ms, sd %.1f ms)",
                swarm_swarm_node(rt->swarm, i)->name, sw_phi_value(ph, rt->now),
                rt->now - ph->last_ms, ph->n, mean, var > 0 ? sqrt(var) : 0);
}

void sw_health_tick(swarm_runtime *rt)
{
    for (size_t i = 0; i < rt->n; i++) {
        node_state *ns = &rt->nodes[i];
        if (ns->admin == SWARM_NODE_REMOVED) continue; /* nobody listens to it any more */
        if (!ns->dead && convicted(rt, ns)) {
            log_suspicion(rt, i);
            declare_dead(rt, i, "node dead (heartbeats stopped)");
        }
        if (ns->ejected && rt->now >= ns->eject_until) {
            ns->ejected = false; /* half-open: the next failure re-opens it */
            ns->half_open = true;
            ns->consec_fail = rt->p.breaker_failures - 1;
        }
        if (ns->unhealthy && !ns->dead &&
            (!ns->probing || rt->now - ns->probe_sent_ms > rt->p.probe_timeout_ms))
            send_probe(rt, i);
    }
}

void sw_health_wake(swarm_runtime *rt)
{
    for (size_t i = 0; i < rt->n; i++) {
        node_state *ns = &rt->nodes[i];
        if (!ns->dead) {
            sw_phi_init(&ns->phi, rt->p.heartbeat_ms, rt->p.acceptable_pause_ms, rt->p.min_std_ms);
            sw_phi_heartbeat(&ns->phi, rt->now);
        }
        ns->probing = false;
    }
}
