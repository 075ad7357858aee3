/*
 * pareto.c: the energy/time Pareto front. Exact: lexicographic epsilon-
 * constraint steps (min energy s.t. time <= eps, then min time s.t. that
 * energy), moving eps just below the last point's time until the minimum
 * time is reached. Fast: a grid of epsilon-constraint solves between the two
 * single-objective extremes. Dominated points are filtered out either way.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "assign_int.h"

#define PARETO_MAX_POINTS 200

typedef struct plist {
    swarm_assign_result **v;
    size_t n, cap;
} plist;

static swarm_err plist_push(plist *l, swarm_assign_result *r)
{
    if (l->n == l->cap) {
        size_t nc = l->cap ? l->cap * 2 : 16;
        swarm_assign_result **nv = sw_realloc(l->v, nc * sizeof(*nv));
        if (nv == NULL) return SWARM_ENOMEM;
        l->v = nv;
        l->cap = nc;
    }
    l->v[l->n++] = r;
    return SWARM_OK;
}

static void plist_free(plist *l)
{
    for (size_t j = 0; j < l->n; j++) swarm_assign_result_destroy(l->v[j]);
    sw_free(l->v);
}

/*
 * One lexicographic point: min energy (s.t. time <= eps when has_eps), then
 * min time s.t. energy <= that minimum (exact only). *out NULL when infeasible.
 */
static swarm_err lex_point(const sw_asg *base, const swarm_assign_options *o, bool exact,
                           bool time_first, bool has_eps, double eps, swarm_assign_result **out,
                           swarm_assign_result **infeasible, swarm_diag *d)
{
    sw_asg a = *base;
    a.we = time_first ? 0 : 1;
    a.wt = time_first ? 1 : 0;
    a.has_time_cap = has_eps;
    a.time_cap = eps;
    a.has_energy_cap = false;
    if (!exact) {
        /* near-lexicographic weights for the heuristic */
        if (time_first) a.we = 1e-6;
        else a.wt = 1e-6;
    }
    swarm_assign_result *r1 = NULL;
    swarm_err rc = sw_asg_solve_view(&a, o, &r1, d);
    if (rc != SWARM_OK) return rc;
    *out = NULL;
    if (r1->status == SWARM_ASSIGN_INFEASIBLE) {
        if (infeasible && *infeasible == NULL) *infeasible = r1;
        else swarm_assign_result_destroy(r1);
        return SWARM_OK;
    }
    if (!exact) {
        *out = r1;
        return SWARM_OK;
    }
    /* second stage: hold the first criterion, improve the other */
    sw_asg b = *base;
    b.has_time_cap = b.has_energy_cap = false;
    if (time_first) {
        b.we = 1;
        b.wt = 0;
        b.has_time_cap = true;
        b.time_cap = r1->time * (1 + 1e-9) + 1e-12;
    } else {
        b.we = 0;
        b.wt = 1;
        b.has_energy_cap = true;
        b.energy_cap = r1->energy * (1 + 1e-9) + 1e-12;
        if (has_eps) {
            b.has_time_cap = true;
            b.time_cap = eps;
        }
    }
    swarm_assign_result *r2 = NULL;
    rc = sw_asg_solve_view(&b, o, &r2, d);
    if (rc != SWARM_OK) {
        swarm_assign_result_destroy(r1);
        return rc;
    }
    bool better = r2->status != SWARM_ASSIGN_INFEASIBLE &&
                  (time_first ? r2->energy <= r1->energy : r2->time <= r1->time);
    if (better) {
        if (r1->status != SWARM_ASSIGN_OPTIMAL) r2->status = SWARM_ASSIGN_FEASIBLE;
        swarm_assign_result_destroy(r1);
        *out = r2;
    } else {
        swarm_assign_result_destroy(r2);
        *out = r1;
    }
    return SWARM_OK;
}

static int cmp_point(const void *x, const void *y)
{
    const swarm_assign_result *a = *(swarm_assign_result *const *)x;
    const swarm_assign_result *b = *(swarm_assign_result *const *)y;
    if (a->time != b->time) return a->time < b->time ? -1 : 1;
    if (a->energy != b->energy) return a->energy < b->energy ? -1 : 1;
    return 0;
}

swarm_err swarm_assign_pareto(const swarm_assign_problem *p, const swarm_assign_options *o,
                              swarm_assign_result ***out, size_t *out_n, swarm_diag *d)
{
    if (out == NULL || out_n == NULL) return sw_diag_set(d, SWARM_EINVAL, "no output pointer");
    swarm_err rc = sw_asg_validate(p, d);
    if (rc != SWARM_OK) return rc;
    swarm_assign_options opt = o ? *o : swarm_assign_options_default();
    sw_asg base;
    sw_asg_init(&base, p);
    /* the sweep owns the time cap; the problem's weights only score the points */
    double we = p->w_energy, wt = p->w_time;
    if (we == 0 && wt == 0) we = wt = 1;
    base.has_time_cap = false;
    size_t pairs = (size_t)p->n * (size_t)p->m;
    bool exact = opt.method == SWARM_ASSIGN_METHOD_EXACT ||
                 (opt.method == SWARM_ASSIGN_METHOD_AUTO && pairs <= SW_ASSIGN_AUTO_EXACT_PAIRS);
#if !defined(SWARM_HAVE_CBC) && !defined(SWARM_HAVE_GLPK)
    if (opt.method == SWARM_ASSIGN_METHOD_EXACT)
        return sw_diag_set(d, SWARM_EUNSUPPORTED, "built without a MIP solver (CBC or GLPK)");
    exact = false;
#endif
    opt.method = exact ? SWARM_ASSIGN_METHOD_EXACT : SWARM_ASSIGN_METHOD_FAST;
    plist l = {0};
    swarm_assign_result *infeasible = NULL, *pa = NULL, *pb = NULL;
    /* extremes: least time (A) and least energy (B) */
    if ((rc = lex_point(&base, &opt, exact, true, false, 0, &pa, &infeasible, d)) != SWARM_OK) goto fail;
    if (pa == NULL) {
        if ((rc = plist_push(&l, infeasible)) != SWARM_OK) goto fail;
        infeasible = NULL;
        goto done;
    }
    if ((rc = plist_push(&l, pa)) != SWARM_OK) {
        swarm_assign_result_destroy(pa);
        goto fail;
    }
    if ((rc = lex_point(&base, &opt, exact, false, false, 0, &pb, NULL, d)) != SWARM_OK) goto fail;
    if (pb == NULL) goto done;
    if ((rc = plist_push(&l, pb)) != SWARM_OK) {
        swarm_assign_result_destroy(pb);
        goto fail;
    }
    double tmin = pa->time, tmax = pb->time;
    double span = tmax - tmin;
    if (span > 1e-9 * (1 + fabs(tmax))) {
        if (exact) {
            /* walk down from B: each step's eps is just below the last time */
            /* the step: large enough that a MIP solver's feasibility tolerance
             * (GLPK accepts ~3e-7 relative violations) cannot return the last
             * point again; points closer than 1e-4 of the range are merged */
            double last = tmax, delta = fmax(1e-4 * span, 1e-7 * (1 + fabs(tmax)));
            double t_start = sw_now_ms();
            double budget_ms = 1000.0 * (opt.time_limit_s > 0 ? opt.time_limit_s : 10.0) * 10;
            for (int it = 0; it < PARETO_MAX_POINTS; it++) {
                double eps = last - delta;
                if (eps < tmin + 0.5 * delta) break;
                if (sw_now_ms() - t_start > budget_ms) break;
                swarm_assign_result *pt = NULL;
                if ((rc = lex_point(&base, &opt, true, false, true, eps, &pt, NULL, d)) != SWARM_OK)
                    goto fail;
                if (pt == NULL) {
                    sw_log_debug("assign: pareto: eps %g: infeasible, walk ends", eps);
                    break;
                }
                sw_log_debug("assign: pareto: eps %g -> time %g energy %g (%s)", eps, pt->time, pt->energy,
                             pt->method);
                if (pt->time >= last - 0.5 * delta) { /* no progress: numerical floor */
                    swarm_assign_result_destroy(pt);
                    break;
                }
                last = pt->time;
                if ((rc = plist_push(&l, pt)) != SWARM_OK) {
                    swarm_assign_result_destroy(pt);
                    goto fail;
                }
            }
        } else {
            int grid = 16;
            for (int g = 1; g < grid; g++) {
                double eps = tmax - span * g / grid;
                swarm_assign_result *pt = NULL;
                if ((rc = lex_point(&base, &opt, false, false, true, eps, &pt, NULL, d)) != SWARM_OK)
                    goto fail;
                if (pt == NULL) continue;
                if ((rc = plist_push(&l, pt)) != SWARM_OK) {
                    swarm_assign_result_destroy(pt);
                    goto fail;
                }
            }
        }
    }
done:
    /* score with the problem's weights, sort by time, drop dominated points */
    for (size_t j = 0; j < l.n; j++)
        if (l.v[j]->status != SWARM_ASSIGN_INFEASIBLE) {
            l.v[j]->objective = we * l.v[j]->energy + wt * l.v[j]->time;
            l.v[j]->bound = -INFINITY;
        }
    if (l.n > 1) {
        qsort(l.v, l.n, sizeof(*l.v), cmp_point);
        size_t kept = 0;
        double best_e = INFINITY;
        for (size_t j = 0; j < l.n; j++) {
            swarm_assign_result *r = l.v[j];
            if (kept == 0 || r->energy < best_e - 1e-9 * (1 + fabs(best_e))) {
                best_e = r->energy;
                l.v[kept++] = r;
            } else {
                swarm_assign_result_destroy(r);
            }
        }
        l.n = kept;
    }
    swarm_assign_result_destroy(infeasible);
    *out = l.v;
    *out_n = l.n;
    return SWARM_OK;
fail:
    swarm_assign_result_destroy(infeasible);
    plist_free(&l);
    return rc;
}
