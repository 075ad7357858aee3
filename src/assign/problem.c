/*
 * problem.c: the public entry points of the assignment optimizer: input
 * validation, the normalised view, evaluation of an assignment, the presolve
 * that explains infeasible problems, and the method dispatch (exact / fast /
 * auto).
 */
#include <float.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "assign_int.h"

swarm_assign_options swarm_assign_options_default(void)
{
    swarm_assign_options o;
    memset(&o, 0, sizeof(o));
    o.method = SWARM_ASSIGN_METHOD_AUTO;
    o.time_limit_s = 10.0;
    return o;
}

const char *swarm_assign_status_name(swarm_assign_status s)
{
    switch (s) {
    case SWARM_ASSIGN_OPTIMAL: return "optimal";
    case SWARM_ASSIGN_FEASIBLE: return "feasible";
    case SWARM_ASSIGN_INFEASIBLE: return "infeasible";
    default: return "unknown";
    }
}

void swarm_assign_result_destroy(swarm_assign_result *r)
{
    if (r == NULL) return;
    sw_free(r->assign);
    sw_free(r);
}

/* ---- validation ---- */

static swarm_err check_array(const double *v, size_t len, const char *name, bool nonneg,
                             int32_t m, swarm_diag *d)
{
    /* A fast scan first, on the bits: for u = the IEEE-754 pattern of a
     * double, u + 2^52 has its top bit set exactly when the value is negative
     * (sign bit; -0.0 included) or infinite or NaN (exponent all ones). One
     * add and one or per value; the exact position (and the -0.0 case) is
     * only looked into when the scan finds something. */
    if (nonneg) {
        uint64_t acc0 = 0, acc1 = 0;
        size_t j = 0;
        for (; j + 2 <= len; j += 2) {
            uint64_t u0, u1;
            memcpy(&u0, &v[j], sizeof(u0));
            memcpy(&u1, &v[j + 1], sizeof(u1));
            acc0 |= u0 + ((uint64_t)1 << 52);
            acc1 |= u1 + ((uint64_t)1 << 52);
        }
        for (; j < len; j++) {
            uint64_t u;
            memcpy(&u, &v[j], sizeof(u));
            acc0 |= u + ((uint64_t)1 << 52);
        }
        if (((acc0 | acc1) >> 63) == 0) return SWARM_OK;
    }
    for (size_t j = 0; j < len; j++) {
        if (!isfinite(v[j]))
            return m > 0 ? sw_diag_set(d, SWARM_EINVAL, "%s[%zu][%zu] is not a finite number",
                                       name, j / (size_t)m, j % (size_t)m)
                         : sw_diag_set(d, SWARM_EINVAL, "%s[%zu] is not a finite number", name, j);
        if (nonneg && v[j] < 0) /* -0.0 passes here: it is a zero */
            return m > 0 ? sw_diag_set(d, SWARM_EINVAL, "%s[%zu][%zu] = %g is negative", name,
                                       j / (size_t)m, j % (size_t)m, v[j])
                         : sw_diag_set(d, SWARM_EINVAL, "%s[%zu] = %g is negative", name, j, v[j]);
    }
    return SWARM_OK;
}

static swarm_err validate(const swarm_assign_problem *p, swarm_diag *d)
{
    if (p == NULL) return sw_diag_set(d, SWARM_EINVAL, "no problem given");
    if (p->n < 1) return sw_diag_set(d, SWARM_EINVAL, "need at least one SLM (n = %d)", (int)p->n);
    if (p->m < 0) return sw_diag_set(d, SWARM_EINVAL, "negative subtask count m = %d", (int)p->m);
    size_t nm;
    if (!sw_mul_ok((size_t)p->n, (size_t)p->m, &nm) || nm > (size_t)1 << 31)
        return sw_diag_set(d, SWARM_EINVAL, "problem too large: %d SLMs x %d subtasks", (int)p->n,
                           (int)p->m);
    if ((p->E == NULL && p->E_ik == NULL) || (p->T == NULL && p->T_ik == NULL))
        return sw_diag_set(d, SWARM_EINVAL, "E and T are required");
    if (p->B == NULL) return sw_diag_set(d, SWARM_EINVAL, "B (capacity) is required");
    if (p->C == NULL && p->m > 0) return sw_diag_set(d, SWARM_EINVAL, "C (compatibility) is required");
    size_t n = (size_t)p->n;
    swarm_err rc;
    if (p->E && (rc = check_array(p->E, n, "E", true, 0, d)) != SWARM_OK) return rc;
    if (p->T && (rc = check_array(p->T, n, "T", true, 0, d)) != SWARM_OK) return rc;
    if ((rc = check_array(p->B, n, "B", true, 0, d)) != SWARM_OK) return rc;
    if (p->E_ik && (rc = check_array(p->E_ik, nm, "E_ik", true, p->m, d)) != SWARM_OK) return rc;
    if (p->T_ik && (rc = check_array(p->T_ik, nm, "T_ik", true, p->m, d)) != SWARM_OK) return rc;
    if (p->C && (rc = check_array(p->C, nm, "C", true, p->m, d)) != SWARM_OK) return rc;
    if (p->c && (rc = check_array(p->c, nm, "c", true, p->m, d)) != SWARM_OK) return rc;
    if (!isfinite(p->p_min) || p->p_min < 0)
        return sw_diag_set(d, SWARM_EINVAL, "p_min = %g must be a finite number >= 0", p->p_min);
    if (!isfinite(p->c_min) || p->c_min < 0)
        return sw_diag_set(d, SWARM_EINVAL, "c_min = %g must be a finite number >= 0", p->c_min);
    if (p->redundancy < 0)
        return sw_diag_set(d, SWARM_EINVAL, "redundancy = %d must be >= 1", (int)p->redundancy);
    if (!isfinite(p->w_energy) || p->w_energy < 0 || !isfinite(p->w_time) || p->w_time < 0)
        return sw_diag_set(d, SWARM_EINVAL, "weights must be finite numbers >= 0 (energy %g, time %g)",
                           p->w_energy, p->w_time);
    if (!isfinite(p->eps_time) || p->eps_time < 0)
        return sw_diag_set(d, SWARM_EINVAL, "eps_time = %g must be a finite number >= 0", p->eps_time);
    if (p->time_obj != SWARM_ASSIGN_OBJ_SUM && p->time_obj != SWARM_ASSIGN_OBJ_MAKESPAN)
        return sw_diag_set(d, SWARM_EINVAL, "unknown time objective %d", (int)p->time_obj);
    return SWARM_OK;
}

/* ---- view and evaluation ---- */

void sw_asg_init(sw_asg *a, const swarm_assign_problem *p)
{
    memset(a, 0, sizeof(*a));
    a->p = p;
    a->n = p->n;
    a->m = p->m;
    a->r = p->redundancy > 0 ? p->redundancy : 1;
    a->we = p->w_energy;
    a->wt = p->w_time;
    if (a->we == 0 && a->wt == 0) a->we = a->wt = 1.0;
    a->makespan = p->time_obj == SWARM_ASSIGN_OBJ_MAKESPAN;
    if (p->eps_time > 0) {
        /* epsilon-constraint: min energy s.t. time <= eps */
        a->we = 1.0;
        a->wt = 0.0;
        a->has_time_cap = true;
        a->time_cap = p->eps_time;
    }
}

double sw_asg_objective(const sw_asg *a, double energy, double time)
{
    return a->we * energy + a->wt * time;
}

void sw_asg_eval(const sw_asg *a, const int32_t *x, double *energy, double *time, double *compat,
                 bool *feasible)
{
    int32_t n = a->n, m = a->m, r = a->r;
    double e = 0, t = 0, cs = 0;
    bool ok = true;
    double *use = sw_calloc((size_t)n * 2, sizeof(double));
    double *load = use ? use + n : NULL;
    for (int32_t k = 0; k < m; k++) {
        for (int32_t j = 0; j < r; j++) {
            int32_t i = x[(size_t)k * r + j];
            if (i < 0 || i >= n) {
                ok = false;
                continue;
            }
            for (int32_t j2 = 0; j2 < j; j2++) {
                int32_t i2 = x[(size_t)k * r + j2];
                if (i2 == i) ok = false;
                if (sw_asg_zones_on(a) && i2 >= 0 && i2 < n && sw_asg_zone(a, i2) == sw_asg_zone(a, i))
                    ok = false;
            }
            if (a->p->available && !a->p->available[i]) ok = false;
            double C = sw_asg_C(a, i, k);
            if (a->p->c_min > 0 && C < a->p->c_min) ok = false;
            double T = sw_asg_T(a, i, k);
            e += sw_asg_E(a, i, k);
            t += T;
            cs += C;
            if (use) {
                use[i] += sw_asg_cu(a, i, k);
                load[i] += T;
            }
        }
    }
    double tt = t;
    if (use) {
        if (a->makespan) {
            tt = 0;
            for (int32_t i = 0; i < n; i++)
                if (load[i] > tt) tt = load[i];
        }
        for (int32_t i = 0; i < n; i++)
            if (use[i] > a->p->B[i] + SW_ASG_TOL * (1 + a->p->B[i])) ok = false;
    } else {
        ok = false; /* cannot check capacity without memory: say "not feasible" */
    }
    if (cs < a->p->p_min - SW_ASG_TOL * (1 + a->p->p_min)) ok = false;
    if (a->has_time_cap && tt > a->time_cap + SW_ASG_CAP_TOL * (1 + a->time_cap)) ok = false;
    if (a->has_energy_cap && e > a->energy_cap + SW_ASG_CAP_TOL * (1 + fabs(a->energy_cap))) ok = false;
    sw_free(use);
    *energy = e;
    *time = tt;
    *compat = cs;
    *feasible = ok;
}

swarm_err swarm_assign_evaluate(const swarm_assign_problem *p, const int32_t *assign,
                                double *out_energy, double *out_time, double *out_compat,
                                bool *out_feasible)
{
    swarm_err rc = validate(p, NULL);
    if (rc != SWARM_OK) return rc;
    if (assign == NULL && p->m > 0) return SWARM_EINVAL;
    sw_asg a;
    sw_asg_init(&a, p);
    double e, t, c;
    bool f;
    sw_asg_eval(&a, assign, &e, &t, &c, &f);
    if (out_energy) *out_energy = e;
    if (out_time) *out_time = t;
    if (out_compat) *out_compat = c;
    if (out_feasible) *out_feasible = f;
    return SWARM_OK;
}

swarm_assign_result *sw_asg_result_new(const sw_asg *a)
{
    swarm_assign_result *res = sw_calloc(1, sizeof(*res));
    if (res == NULL) return NULL;
    size_t len = (size_t)a->m * (size_t)a->r;
    res->assign = sw_malloc((len ? len : 1) * sizeof(int32_t));
    if (res->assign == NULL) {
        sw_free(res);
        return NULL;
    }
    for (size_t j = 0; j < len; j++) res->assign[j] = -1;
    res->m = a->m;
    res->r = a->r;
    res->status = SWARM_ASSIGN_INFEASIBLE;
    res->bound = -INFINITY;
    res->method = "none";
    return res;
}

void sw_asg_result_fill(const sw_asg *a, swarm_assign_result *res)
{
    bool feas;
    sw_asg_eval(a, res->assign, &res->energy, &res->time, &res->compatibility, &feas);
    res->objective = sw_asg_objective(a, res->energy, res->time);
}

/* ---- presolve: certain infeasibility with a reason ---- */

/* Inserts v into the sorted (ascending) array top[0..*cnt) of capacity cap. */
static void top_insert(double *top, int32_t *cnt, int32_t cap, double v)
{
    int32_t pos;
    if (*cnt < cap) {
        pos = (*cnt)++;
    } else if (v < top[cap - 1]) {
        pos = cap - 1;
    } else {
        return;
    }
    while (pos > 0 && top[pos - 1] > v) {
        top[pos] = top[pos - 1];
        pos--;
    }
    top[pos] = v;
}

static int cmp_zone_idx(const void *x, const void *y, void *ctx)
{
    const int32_t *zone = ctx;
    int32_t a = *(const int32_t *)x, b = *(const int32_t *)y;
    if (zone[a] != zone[b]) return zone[a] < zone[b] ? -1 : 1;
    return a < b ? -1 : a > b;
}

bool sw_asg_presolve_infeasible(const sw_asg *a, char *reason, size_t cap)
{
    int32_t n = a->n, m = a->m, r = a->r;
    const swarm_assign_problem *p = a->p;
    int32_t n_avail = 0;
    for (int32_t i = 0; i < n; i++)
        if (!p->available || p->available[i]) n_avail++;
    if (r > n_avail) {
        snprintf(reason, cap, "redundancy %d > %d available SLMs", (int)r, (int)n_avail);
        return true;
    }
    if (m == 0) {
        if (p->p_min > SW_ASG_TOL) {
            snprintf(reason, cap, "compatibility: best achievable sum C = 0 < p_min %g", p->p_min);
            return true;
        }
        return false;
    }
    /* Per subtask: eligible count, and the r best values of c (smallest),
     * -C (largest C), T and E. Skipped (except the count) when m*r is huge. */
    size_t mr = (size_t)m * (size_t)r;
    bool tops = mr <= (size_t)4 << 20;
    int32_t *cnt = sw_calloc((size_t)m, sizeof(int32_t));
    int32_t *tc = tops ? sw_calloc(mr * 4, sizeof(int32_t)) : NULL;
    double *tv = tops ? sw_malloc(mr * 4 * sizeof(double)) : NULL;
    if (cnt == NULL || (tops && (tc == NULL || tv == NULL))) {
        sw_free(cnt);
        sw_free(tc);
        sw_free(tv);
        return false; /* no memory: let the solver decide */
    }
    /* only the quantities some check needs, with a plain loop for r = 1 */
    bool need_c = p->c != NULL, need_C = p->p_min > 0, need_T = a->has_time_cap,
         need_E = a->has_energy_cap;
    if (r == 1 && tops) {
        /* minima per subtask as separate arrays (+inf = no eligible SLM yet);
         * rows where every pair is eligible take a branch-free loop */
        for (size_t j = 0; j < (size_t)m * 4; j++) tv[j] = INFINITY;
        double *t0 = tv, *t1 = tv + m, *t2 = tv + 2 * (size_t)m, *t3 = tv + 3 * (size_t)m;
        int32_t all_rows = 0;
        bool simple = p->c == NULL && p->c_min <= 0 && !(a->makespan && a->has_time_cap);
        for (int32_t i = 0; i < n; i++) {
            if (p->available && !p->available[i]) continue;
            const double *Cr = p->C + (size_t)i * m;
            if (simple) {
                if (p->B[i] + 1e-9 < 1) continue;
                all_rows++;
                if (need_C)
                    for (int32_t k = 0; k < m; k++) t1[k] = -Cr[k] < t1[k] ? -Cr[k] : t1[k];
                for (int32_t k = 0; need_T && k < m; k++) {
                    double v = sw_asg_T(a, i, k);
                    t2[k] = v < t2[k] ? v : t2[k];
                }
                for (int32_t k = 0; need_E && k < m; k++) {
                    double v = sw_asg_E(a, i, k);
                    t3[k] = v < t3[k] ? v : t3[k];
                }
                continue;
            }
            if (p->c && !need_T && !need_E && !(a->makespan && a->has_time_cap)) {
                /* capacity use per pair, nothing else per pair: row pointers, no calls */
                const double *cr = p->c + (size_t)i * m;
                double cap = p->B[i] + 1e-9, cmin = p->c_min;
                for (int32_t k = 0; k < m; k++) {
                    double C = Cr[k], cu = cr[k];
                    if (C < cmin || cu > cap) continue;
                    cnt[k]++;
                    t0[k] = cu < t0[k] ? cu : t0[k];
                    t1[k] = -C < t1[k] ? -C : t1[k];
                }
                continue;
            }
            for (int32_t k = 0; k < m; k++) {
                if (!sw_asg_eligible(a, i, k)) continue;
                cnt[k]++;
                double v0 = need_c ? sw_asg_cu(a, i, k) : 1, v1 = need_C ? -Cr[k] : 0;
                double v2 = need_T ? sw_asg_T(a, i, k) : 0, v3 = need_E ? sw_asg_E(a, i, k) : 0;
                t0[k] = v0 < t0[k] ? v0 : t0[k];
                t1[k] = v1 < t1[k] ? v1 : t1[k];
                t2[k] = v2 < t2[k] ? v2 : t2[k];
                t3[k] = v3 < t3[k] ? v3 : t3[k];
            }
        }
        /* back to the interleaved layout the checks below read */
        double *tmp4 = sw_malloc((size_t)m * 4 * sizeof(double));
        if (tmp4 == NULL) {
            sw_free(cnt);
            sw_free(tc);
            sw_free(tv);
            return false;
        }
        for (int32_t k = 0; k < m; k++) {
            cnt[k] += all_rows;
            tmp4[(size_t)k * 4] = need_c ? t0[k] : 1;
            tmp4[(size_t)k * 4 + 1] = need_C ? t1[k] : 0;
            tmp4[(size_t)k * 4 + 2] = need_T ? t2[k] : 0;
            tmp4[(size_t)k * 4 + 3] = need_E ? t3[k] : 0;
        }
        memcpy(tv, tmp4, (size_t)m * 4 * sizeof(double));
        sw_free(tmp4);
    }
    for (int32_t i = 0; i < n && !(r == 1 && tops); i++) {
        if (p->available && !p->available[i]) continue;
        for (int32_t k = 0; k < m; k++) {
            if (!sw_asg_eligible(a, i, k)) continue;
            cnt[k]++;
            if (!tops) continue;
            size_t b = (size_t)k * r * 4;
            top_insert(tv + b, tc + (size_t)k * 4, r, sw_asg_cu(a, i, k));
            top_insert(tv + b + r, tc + (size_t)k * 4 + 1, r, -sw_asg_C(a, i, k));
            top_insert(tv + b + 2 * (size_t)r, tc + (size_t)k * 4 + 2, r, sw_asg_T(a, i, k));
            top_insert(tv + b + 3 * (size_t)r, tc + (size_t)k * 4 + 3, r, sw_asg_E(a, i, k));
        }
    }
    bool bad = false;
    for (int32_t k = 0; k < m && !bad; k++) {
        if (cnt[k] < r) {
            snprintf(reason, cap, "redundancy %d > %d eligible SLMs for subtask %d%s", (int)r,
                     (int)cnt[k], (int)k,
                     p->c_min > 0 ? " (eligible: available, C_ik >= c_min, c_ik <= B_i)"
                                  : " (eligible: available, c_ik <= B_i)");
            bad = true;
        }
    }
    if (!bad && sw_asg_zones_on(a)) {
        /* distinct zones among each subtask's eligible SLMs, SLMs visited zone by zone */
        int32_t *ord = sw_malloc((size_t)n * sizeof(int32_t));
        int32_t *zc = sw_calloc((size_t)m, sizeof(int32_t));
        int32_t *last = sw_malloc((size_t)m * sizeof(int32_t));
        if (ord && zc && last) {
            for (int32_t i = 0; i < n; i++) ord[i] = i;
            qsort_r(ord, (size_t)n, sizeof(int32_t), cmp_zone_idx, (void *)p->zone);
            for (int32_t k = 0; k < m; k++) last[k] = -1;
            for (int32_t t = 0; t < n; t++) {
                int32_t i = ord[t];
                if (p->available && !p->available[i]) continue;
                for (int32_t k = 0; k < m; k++) {
                    if (!sw_asg_eligible(a, i, k)) continue;
                    /* sorted by zone: a new zone starts when the last eligible one differs */
                    if (last[k] < 0 || p->zone[ord[last[k]]] != p->zone[i]) zc[k]++;
                    last[k] = t;
                }
            }
            for (int32_t k = 0; k < m && !bad; k++)
                if (zc[k] < r) {
                    snprintf(reason, cap,
                             "zones: subtask %d has eligible SLMs in only %d distinct zones < "
                             "redundancy %d",
                             (int)k, (int)zc[k], (int)r);
                    bad = true;
                }
        }
        sw_free(ord);
        sw_free(zc);
        sw_free(last);
    }
    if (!bad) {
        /* capacity: total capacity vs the least possible demand */
        double total = 0;
        for (int32_t i = 0; i < n; i++) {
            if (p->available && !p->available[i]) continue;
            total += p->c ? p->B[i] : floor(p->B[i] + 1e-9);
        }
        if (p->c == NULL) {
            if (total + 0.5 < (double)mr) {
                snprintf(reason, cap, "capacity: total capacity %.0f < demand %zu (r=%d, %d subtasks)",
                         total, mr, (int)r, (int)m);
                bad = true;
            }
        } else if (tops) {
            double need = 0;
            for (int32_t k = 0; k < m; k++)
                for (int32_t j = 0; j < r; j++) need += tv[(size_t)k * r * 4 + j];
            if (total < need - SW_ASG_TOL * (1 + need)) {
                snprintf(reason, cap,
                         "capacity: total capacity %g < minimum demand %g (sum of the %d smallest "
                         "c_ik per subtask, %d subtasks)",
                         total, need, (int)r, (int)m);
                bad = true;
            }
        }
    }
    if (!bad && tops) {
        double cbest = 0, tmin = 0, emin = 0;
        for (int32_t k = 0; k < m; k++) {
            size_t b = (size_t)k * r * 4;
            for (int32_t j = 0; j < r; j++) {
                cbest -= tv[b + r + j];
                tmin += tv[b + 2 * (size_t)r + j];
                emin += tv[b + 3 * (size_t)r + j];
            }
        }
        if (cbest < p->p_min - SW_ASG_TOL * (1 + p->p_min)) {
            snprintf(reason, cap, "compatibility: best achievable sum C = %g < p_min %g", cbest,
                     p->p_min);
            bad = true;
        } else if (a->has_time_cap && !a->makespan &&
                   tmin > a->time_cap + SW_ASG_CAP_TOL * (1 + a->time_cap)) {
            snprintf(reason, cap, "time: minimum achievable total time %g > eps_time %g", tmin,
                     a->time_cap);
            bad = true;
        } else if (a->has_time_cap && a->makespan &&
                   tmin / n_avail > a->time_cap + SW_ASG_CAP_TOL * (1 + a->time_cap)) {
            snprintf(reason, cap,
                     "time: makespan is at least %g (least total time %g over %d SLMs) > eps_time %g",
                     tmin / n_avail, tmin, (int)n_avail, a->time_cap);
            bad = true;
        } else if (a->has_energy_cap && emin > a->energy_cap + SW_ASG_CAP_TOL * (1 + a->energy_cap)) {
            snprintf(reason, cap, "energy: minimum achievable energy %g > cap %g", emin, a->energy_cap);
            bad = true;
        }
    }
    sw_free(cnt);
    sw_free(tc);
    sw_free(tv);
    return bad;
}

/* ---- dispatch ---- */

static bool have_mip(void)
{
#if defined(SWARM_HAVE_CBC) || defined(SWARM_HAVE_GLPK)
    return true;
#else
    return false;
#endif
}

/* After the MIP proved infeasibility: find which constraint is to blame by
 * maximising sum C under the remaining constraints (without p_min). */
static void explain_mip_infeasible(const sw_asg *a, swarm_assign_solver solver, double tl,
                                   swarm_assign_result *res)
{
    const char *who = res->method;
    if (a->p->p_min > 0) {
        swarm_assign_problem q = *a->p;
        q.p_min = 0;
        sw_asg b = *a;
        b.p = &q;
        /* maximise C: objective weights E -> 0, T -> 0 is not expressible, so
         * use per-pair energy = 1 - C (C in [0,1] scaled by max C) */
        double cmax = 0;
        size_t nm = (size_t)a->n * (size_t)a->m;
        for (size_t j = 0; j < nm; j++)
            if (a->p->C[j] > cmax) cmax = a->p->C[j];
        double *e = sw_malloc((nm ? nm : 1) * sizeof(double));
        swarm_assign_result *tmp = sw_asg_result_new(a);
        if (e && tmp) {
            for (size_t j = 0; j < nm; j++) e[j] = cmax - a->p->C[j];
            q.E_ik = e;
            b.we = 1;
            b.wt = 0;
            b.has_time_cap = b.has_energy_cap = false;
            bool makespan_cap = a->makespan && a->has_time_cap;
            if (makespan_cap) { /* keep the per-SLM load cap: it is a capacity */
                b.has_time_cap = true;
                b.time_cap = a->time_cap;
            }
            if (sw_asg_mip(&b, solver, tl, NULL, tmp) == SWARM_OK && tmp->status != SWARM_ASSIGN_INFEASIBLE) {
                double ee, tt, cc;
                bool f;
                sw_asg_eval(&b, tmp->assign, &ee, &tt, &cc, &f);
                if (cc < a->p->p_min - SW_ASG_TOL * (1 + a->p->p_min)) {
                    snprintf(res->reason, sizeof(res->reason),
                             "compatibility: best achievable sum C under capacity%s = %g < p_min %g "
                             "(proved by %s)",
                             makespan_cap ? " and eps_time" : "", cc, a->p->p_min, who);
                    sw_free(e);
                    swarm_assign_result_destroy(tmp);
                    return;
                }
            }
        }
        sw_free(e);
        swarm_assign_result_destroy(tmp);
    }
    if (a->has_time_cap)
        snprintf(res->reason, sizeof(res->reason),
                 "time: no assignment meets eps_time %g together with capacity and p_min (proved by %s)",
                 a->time_cap, who);
    else
        snprintf(res->reason, sizeof(res->reason),
                 "capacity: no assignment fits the capacities B_i with redundancy %d%s (proved by %s)",
                 (int)a->r, sw_asg_zones_on(a) ? " and distinct zones" : "", who);
}

/* Solves view a (already validated) with the chosen method into a fresh result. */
static swarm_err solve_view(const sw_asg *a, const swarm_assign_options *o,
                            swarm_assign_result **out, swarm_diag *d)
{
    double t0 = sw_now_ms();
    swarm_assign_result *res = sw_asg_result_new(a);
    if (res == NULL) return sw_diag_set(d, SWARM_ENOMEM, "out of memory for the result");
    swarm_err rc = SWARM_OK;
    swarm_assign_method meth = o->method;
    size_t pairs = (size_t)a->n * (size_t)a->m;
    if (meth == SWARM_ASSIGN_METHOD_AUTO)
        meth = (have_mip() && pairs <= SW_ASSIGN_AUTO_EXACT_PAIRS) ? SWARM_ASSIGN_METHOD_EXACT
                                                                  : SWARM_ASSIGN_METHOD_FAST;
    /* The presolve is a full pass over the pairs (~18 ms at 10^7 pairs with
     * c_ik). Any feasible assignment proves it would have found nothing, so
     * on large instances the fast method goes first and the presolve only
     * runs (for its reason) when that finds no assignment. */
    bool pre_late = meth == SWARM_ASSIGN_METHOD_FAST && (double)pairs > SW_ASG_PRESOLVE_LATE_PAIRS;
    bool pre = !pre_late && sw_asg_presolve_infeasible(a, res->reason, sizeof(res->reason));
    sw_log_debug("assign: presolve: %.1f ms", sw_now_ms() - t0);
    if (pre) {
        res->status = SWARM_ASSIGN_INFEASIBLE;
        res->method = "presolve";
        res->bound = INFINITY;
        goto done;
    }
    if (meth == SWARM_ASSIGN_METHOD_EXACT && !have_mip()) {
        rc = sw_diag_set(d, SWARM_EUNSUPPORTED, "built without a MIP solver (CBC or GLPK)");
        goto fail;
    }
#ifndef SWARM_HAVE_CBC
    if (o->solver == SWARM_ASSIGN_SOLVER_CBC && meth == SWARM_ASSIGN_METHOD_EXACT) {
        rc = sw_diag_set(d, SWARM_EUNSUPPORTED, "built without CBC");
        goto fail;
    }
#endif
#ifndef SWARM_HAVE_GLPK
    if (o->solver == SWARM_ASSIGN_SOLVER_GLPK && meth == SWARM_ASSIGN_METHOD_EXACT) {
        rc = sw_diag_set(d, SWARM_EUNSUPPORTED, "built without GLPK");
        goto fail;
    }
#endif
    /* the fast method runs first in both cases: it is the warm start of the MIP */
    sw_asg al = *a;
    al.presolve_late = pre_late; /* the fast method runs it at its first failure */
    if ((rc = sw_asg_fast(&al, res)) != SWARM_OK) {
        sw_diag_set(d, rc, "fast assignment failed: %s", swarm_strerror(rc));
        goto fail;
    }
    if (pre_late && res->status == SWARM_ASSIGN_INFEASIBLE && strcmp(res->method, "presolve") != 0 &&
        sw_asg_presolve_infeasible(a, res->reason, sizeof(res->reason))) {
        res->method = "presolve";
        res->bound = INFINITY;
    }
    if (res->status == SWARM_ASSIGN_INFEASIBLE && strcmp(res->method, "presolve") == 0) goto done;
    /* a small instance the heuristic could not place goes to the MIP (rare: single
     * feasible points that need 3-moves); the method string says so */
    bool fallback = meth == SWARM_ASSIGN_METHOD_FAST && res->status == SWARM_ASSIGN_INFEASIBLE &&
                    have_mip() && pairs <= SW_ASSIGN_AUTO_EXACT_PAIRS;
    if (meth == SWARM_ASSIGN_METHOD_EXACT || fallback) {
        swarm_assign_result *ex = sw_asg_result_new(a);
        if (ex == NULL) {
            rc = sw_diag_set(d, SWARM_ENOMEM, "out of memory");
            goto fail;
        }
        double tl = o->time_limit_s > 0 ? o->time_limit_s : 10.0;
        if (fallback && tl > 2) tl = 2;
        /* the limit covers the whole solve: the MIP gets what the fast
         * method left (its child process is killed at that deadline) */
        tl -= (sw_now_ms() - t0) / 1000.0;
        bool warm = res->status != SWARM_ASSIGN_INFEASIBLE;
        if (tl < SW_ASSIGN_MIN_MIP_S) {
            swarm_assign_result_destroy(ex);
            if (!warm)
                snprintf(res->reason, sizeof(res->reason),
                         "no feasible assignment found within the time limit of %g s (not proven "
                         "infeasible)",
                         o->time_limit_s > 0 ? o->time_limit_s : 10.0);
            goto done;
        }
        rc = sw_asg_mip(a, o->solver, tl, warm ? res->assign : NULL, ex);
        if (rc != SWARM_OK) {
            swarm_assign_result_destroy(ex);
            sw_diag_set(d, rc, "MIP solver failed: %s", swarm_strerror(rc));
            goto fail;
        }
        if (ex->status == SWARM_ASSIGN_INFEASIBLE && !warm && ex->bound == INFINITY) {
            explain_mip_infeasible(a, o->solver, tl, ex);
            swarm_assign_result_destroy(res);
            res = ex;
        } else if (ex->status == SWARM_ASSIGN_INFEASIBLE) {
            /* no incumbent within the time limit: keep the heuristic's, with the MIP bound */
            if (ex->bound > res->bound) res->bound = ex->bound;
            if (!warm)
                snprintf(res->reason, sizeof(res->reason),
                         "no feasible assignment found within the time limit of %g s (not proven "
                         "infeasible)",
                         tl);
            swarm_assign_result_destroy(ex);
        } else {
            /* the solver's own tolerances can be looser than ours on the caps:
             * an assignment that fails our check does not replace the warm one */
            double e, t, c;
            bool ok;
            sw_asg_eval(a, ex->assign, &e, &t, &c, &ok);
            if (!ok && warm) {
                if (ex->bound > res->bound) res->bound = ex->bound;
                swarm_assign_result_destroy(ex);
            } else {
                if (res->bound > ex->bound) ex->bound = res->bound;
                swarm_assign_result_destroy(res);
                res = ex;
            }
        }
        if (fallback && res->status != SWARM_ASSIGN_INFEASIBLE)
            res->method = strcmp(res->method, "cbc") == 0 ? "greedy+local, cbc fallback"
                                                          : "greedy+local, glpk fallback";
    }
done:
    if (res->status != SWARM_ASSIGN_INFEASIBLE) {
        sw_asg_result_fill(a, res);
        /* a bound that meets the objective proves optimality */
        double tol = 1e-9 * (1 + fabs(res->objective));
        if (res->status == SWARM_ASSIGN_FEASIBLE && res->bound >= res->objective - tol)
            res->status = SWARM_ASSIGN_OPTIMAL;
        if (res->bound > res->objective) res->bound = res->objective;
    }
    res->solve_ms = sw_now_ms() - t0;
    *out = res;
    return SWARM_OK;
fail:
    swarm_assign_result_destroy(res);
    return rc;
}

swarm_err sw_asg_solve_view(const sw_asg *a, const swarm_assign_options *o,
                            swarm_assign_result **out, swarm_diag *d)
{
    return solve_view(a, o, out, d);
}

swarm_err sw_asg_validate(const swarm_assign_problem *p, swarm_diag *d)
{
    return validate(p, d);
}

swarm_err swarm_assign_solve(const swarm_assign_problem *p, const swarm_assign_options *o,
                             swarm_assign_result **out, swarm_diag *d)
{
    if (out == NULL) return sw_diag_set(d, SWARM_EINVAL, "no output pointer");
    swarm_err rc = validate(p, d);
    if (rc != SWARM_OK) return rc;
    swarm_assign_options def = swarm_assign_options_default();
    if (o == NULL) o = &def;
    if (o->method < 0 || o->method >= SWARM_ASSIGN_METHOD_COUNT || o->solver < 0 ||
        o->solver >= SWARM_ASSIGN_SOLVER_COUNT || !isfinite(o->time_limit_s) || o->time_limit_s < 0)
        return sw_diag_set(d, SWARM_EINVAL, "invalid options (method %d, time limit %g)",
                           (int)o->method, o->time_limit_s);
    sw_asg a;
    sw_asg_init(&a, p);
    return solve_view(&a, o, out, d);
}
