/*
 * chaos.c: the fault-injection spec of `--chaos`: comma-separated items
 *   kill=NODE@150ms   the node dies at t (heartbeats stop, it goes silent)
 *   kill=NODE#3       the node dies on receiving its 3rd subtask, while running it
 *                     (a kill point chosen by progress: it always fires mid-work)
 *   pause=NODE@100ms+800ms  zombie: silent for a while, then answers late
 *                     (up to 8 windows per node, in time order: flapping)
 *   stuck=NODE@100ms  alive (heartbeats) but every generation hangs
 *                     (stuck=NODE@100ms+300ms: only for a while, then healthy)
 *   p_kill=0.1        per subtask, the node dies while running it
 *   slow=NODEx4       latency multiplied by 4 (slow=NODEx10:0.05: on 5 % of subtasks)
 *   corrupt=NODE      results corrupted in transit (corrupt=NODE@T+DUR: in a window)
 * Times are relative to the first run's start. The workers apply it.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime_int.h"

static bool parse_ms(const char *s, double *out)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || !isfinite(v) || v < 0) return false;
    if (strcmp(end, "ms") == 0 || *end == 0) *out = v;
    else if (strcmp(end, "s") == 0) *out = v * 1000;
    else return false;
    return true;
}

static swarm_err node_of(const char *name, const swarm_swarm *s, int32_t *out, swarm_diag *d)
{
    int32_t i = swarm_swarm_find(s, name);
    if (i < 0) return sw_diag_set(d, SWARM_EINVAL, "--chaos: unknown node \"%s\"", name);
    *out = i;
    return SWARM_OK;
}

swarm_err sw_chaos_parse(const char *spec, const swarm_swarm *s, sw_chaos *out, swarm_diag *d)
{
    sw_chaos c = {0};
    c.n = swarm_swarm_count(s);
    c.nodes = sw_calloc(c.n ? c.n : 1, sizeof(*c.nodes));
    if (c.nodes == NULL) return SWARM_ENOMEM;
    for (size_t i = 0; i < c.n; i++) {
        c.nodes[i].kill_at_ms = c.nodes[i].stuck_at_ms = -1;
        c.nodes[i].stuck_until_ms = c.nodes[i].corrupt_until_ms = INFINITY;
        c.nodes[i].slow = 1;
        c.nodes[i].slow_p = 1;
    }
    swarm_err rc = SWARM_OK;
    char *copy = sw_strdup(spec ? spec : "");
    if (copy == NULL) {
        sw_free(c.nodes);
        return SWARM_ENOMEM;
    }
    char *save = NULL;
    for (char *item = strtok_r(copy, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
        while (*item == ' ') item++;
        char *eq = strchr(item, '=');
        if (eq == NULL) {
            rc = sw_diag_set(d, SWARM_EINVAL, "--chaos: \"%s\" is not KEY=VALUE", item);
            goto fail;
        }
        *eq = 0;
        char *key = item, *val = eq + 1;
        int32_t n = -1;
        c.active = true;
        char *hash = strcmp(key, "kill") == 0 ? strchr(val, '#') : NULL;
        if (hash) {
            *hash = 0;
            if ((rc = node_of(val, s, &n, d))) goto fail;
            char *end;
            long job = strtol(hash + 1, &end, 10);
            if (end == hash + 1 || *end || job < 1 || job > 1000000) {
                rc = sw_diag_set(d, SWARM_EINVAL, "--chaos: kill=%s#%s: want NODE#N with N >= 1",
                                 val, hash + 1);
                goto fail;
            }
            if (c.nodes[n].kill_at_ms >= 0 || c.nodes[n].kill_at_job > 0) {
                rc = sw_diag_set(d, SWARM_EINVAL, "--chaos: kill given twice for node \"%s\"", val);
                goto fail;
            }
            c.nodes[n].kill_at_job = (int32_t)job;
        } else if (strcmp(key, "kill") == 0 || strcmp(key, "stuck") == 0 ||
                   strcmp(key, "pause") == 0) {
            char *at = strchr(val, '@');
            if (at == NULL) {
                rc = sw_diag_set(d, SWARM_EINVAL, "--chaos: %s=%s: want NODE@TIME", key, val);
                goto fail;
            }
            *at = 0;
            if ((rc = node_of(val, s, &n, d))) goto fail;
            char *plus = strchr(at + 1, '+');
            if (plus) *plus = 0;
            double t, dur = 0;
            if (!parse_ms(at + 1, &t) || (plus && !parse_ms(plus + 1, &dur)) ||
                (strcmp(key, "pause") == 0 && plus == NULL) ||
                (strcmp(key, "kill") == 0 && plus != NULL)) {
                rc = sw_diag_set(d, SWARM_EINVAL,
                                 "--chaos: %s: bad time (want e.g. 150ms, 2s; pause=N@T+DUR, "
                                 "stuck=N@T[+DUR])",
                                 key);
                goto fail;
            }
            sw_chaos_node *cn = &c.nodes[n];
            if ((key[0] == 'k' && (cn->kill_at_ms >= 0 || cn->kill_at_job > 0)) || (key[0] == 's' && cn->stuck_at_ms >= 0)) {
                rc = sw_diag_set(d, SWARM_EINVAL, "--chaos: %s given twice for node \"%s\"", key, val);
                goto fail;
            }
            if (key[0] == 'k') cn->kill_at_ms = t;
            else if (key[0] == 's') {
                cn->stuck_at_ms = t;
                if (plus) cn->stuck_until_ms = t + dur;
            }
            else {
                /* windows in time order, not overlapping */
                if (cn->n_pauses == SW_CHAOS_MAX_PAUSES ||
                    (cn->n_pauses > 0 &&
                     t < cn->pause_at_ms[cn->n_pauses - 1] + cn->pause_ms[cn->n_pauses - 1])) {
                    rc = sw_diag_set(d, SWARM_EINVAL,
                                     "--chaos: pause windows of node \"%s\" must be in time order, "
                                     "not overlapping, at most %d",
                                     val, SW_CHAOS_MAX_PAUSES);
                    goto fail;
                }
                cn->pause_at_ms[cn->n_pauses] = t;
                cn->pause_ms[cn->n_pauses] = dur;
                cn->n_pauses++;
            }
        } else if (strcmp(key, "p_kill") == 0) {
            char *end;
            c.p_kill = strtod(val, &end);
            if (end == val || *end || !(c.p_kill >= 0 && c.p_kill <= 1)) {
                rc = sw_diag_set(d, SWARM_EINVAL, "--chaos: p_kill=%s: want a probability", val);
                goto fail;
            }
        } else if (strcmp(key, "slow") == 0) {
            char *colon = strchr(val, ':');
            double sp = 1;
            if (colon) {
                char *pe;
                *colon = 0;
                sp = strtod(colon + 1, &pe);
                if (pe == colon + 1 || *pe || !(sp > 0 && sp <= 1)) {
                    rc = sw_diag_set(d, SWARM_EINVAL, "--chaos: slow: share after ':' must be in (0, 1]");
                    goto fail;
                }
            }
            char *x = strrchr(val, 'x');
            char *end = NULL;
            double f = x ? strtod(x + 1, &end) : 0;
            if (x == NULL || end == x + 1 || *end || !(f >= 1 && f <= 1000)) {
                rc = sw_diag_set(d, SWARM_EINVAL, "--chaos: slow=%s: want NODExFACTOR (1..1000)",
                                 val);
                goto fail;
            }
            *x = 0;
            if ((rc = node_of(val, s, &n, d))) goto fail;
            if (c.nodes[n].slow != 1) {
                rc = sw_diag_set(d, SWARM_EINVAL, "--chaos: slow given twice for node \"%s\"", val);
                goto fail;
            }
            c.nodes[n].slow = f;
            c.nodes[n].slow_p = sp;
        } else if (strcmp(key, "corrupt") == 0) {
            /* corrupt=NODE or corrupt=NODE@T+DUR (a window) */
            char *at = strchr(val, '@');
            double t = 0, dur = INFINITY;
            if (at) {
                *at = 0;
                char *plus = strchr(at + 1, '+');
                if (plus) *plus = 0;
                if (!plus || !parse_ms(at + 1, &t) || !parse_ms(plus + 1, &dur)) {
                    rc = sw_diag_set(d, SWARM_EINVAL,
                                     "--chaos: corrupt: want NODE or NODE@TIME+DURATION");
                    goto fail;
                }
            }
            if ((rc = node_of(val, s, &n, d))) goto fail;
            if (c.nodes[n].corrupt) {
                rc = sw_diag_set(d, SWARM_EINVAL, "--chaos: corrupt given twice for node \"%s\"", val);
                goto fail;
            }
            c.nodes[n].corrupt = true;
            c.nodes[n].corrupt_from_ms = t;
            c.nodes[n].corrupt_until_ms = t + dur;
        } else {
            rc = sw_diag_set(d, SWARM_EINVAL,
                             "--chaos: unknown fault \"%s\" (kill, pause, stuck, p_kill, slow, "
                             "corrupt)",
                             key);
            goto fail;
        }
    }
    sw_free(copy);
    *out = c;
    return SWARM_OK;
fail:
    sw_free(copy);
    sw_free(c.nodes);
    return rc;
}

void sw_chaos_fini(sw_chaos *c)
{
    sw_free(c->nodes);
    c->nodes = NULL;
    c->n = 0;
}
