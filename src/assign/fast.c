/*
 * fast.c: the fast assignment heuristic: candidate lists from one pass over
 * the (SLM, subtask) pairs, greedy by regret under capacities, Lagrangian
 * multipliers for capacity and p_min (subgradient; from a sample of the
 * subtasks on large instances), searches on p_min and eps_time multipliers,
 * then local search (shift, swap, ejection and pair moves). Each pass is
 * linear in n*m and also gives a Lagrangian lower bound. docs/assign.md.
 */
#include <float.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "assign_int.h"

/* Pairs per pass of the sampled subproblem on large instances: keeps a solve
 * of 10^7 pairs near 100 ms (docs/performance.md). */
#define SW_SAMPLE_PAIRS 3e5
/* Pairs read from the open SLMs' rows when buying compatibility (buy_repair):
 * 2e6 cost ~12 ms at 1000 x 10,000 for 0.02-0.06 % better objectives than 1e6. */
#ifndef SW_BUY_PAIRS
#define SW_BUY_PAIRS 1e6
#endif
/* Rounds of the perturbation search on small instances (perturb_search). */
#ifndef SW_PERTURB_ROUNDS
#define SW_PERTURB_ROUNDS 300
#endif
#ifndef SW_PERTURB_STALL
#define SW_PERTURB_STALL 40
#endif
#ifndef SW_PERTURB_WORK
#define SW_PERTURB_WORK 1.0
#endif
/* Subgradient steps on the sample (measured at 1000 x 10,000, tight, against
 * 50): 80 gain 0.8-1.0 % on the objective for ~8 ms more, 120 no more than
 * 80; 30 lose 3.7 %, 20 lose 7 %. 50 keeps the solve well under 100 ms
 * on a loaded machine (docs/performance.md). */
#ifndef SW_SAMPLE_STEPS
#define SW_SAMPLE_STEPS 50
#endif

typedef struct fctx {
    const sw_asg *a;
    int32_t n, m, r, L;
    /* candidate lists: the L best eligible SLMs of subtask k by reduced cost */
    int32_t *ci;  /* [m*L] */
    double *cq;   /* [m*L] ascending */
    double *cC;   /* [m*L] C_ik of each candidate (relist re-prices mu without a pass) */
    int32_t *cn;  /* [m] */
    int32_t *x;   /* [m*r] current assignment, -1 = open slot */
    double *resc; /* [n] residual capacity */
    double *resz; /* [n] residual load under the makespan cap, NULL when none */
    double zcap;  /* per-SLM load cap (INFINITY = none) */
    int32_t *order, *defer; /* [m] */
    double *regret;         /* [m] */
    int32_t *best;          /* [m*r] best feasible found */
    int32_t *alt;           /* [m*r] scratch */
    double best_obj;
    bool have_best;
    double lb; /* best Lagrangian lower bound of the inner objective */
    /* slot lists per SLM for swap moves */
    int32_t *head, *nxt, *prv; /* [n], [m*r], [m*r] */
    size_t work;               /* pair evaluations so far (budget) */
    double *lam, *glam, *best_lam; /* [n] Lagrangian multipliers, subgradient, best */
    double ls_scale;               /* local search budget factor (polishing uses less) */
    int iters_cap;                 /* subgradient steps per solve at most */
    double cap_scale;              /* capacity factor in the relaxation (sampled subproblem) */
    struct pmove *pbuf;            /* [pbuf_cap] pair-move scratch, NULL for large instances */
    int32_t pbuf_cap;
    int32_t *sorder;               /* [n] SLM order for sorted_fill */
    double *cmin_row;              /* [n] smallest c_ik of each SLM (from the last full pass) */
    double *worst;                 /* [m] pass scratch */
    double *sbase;                 /* [n] its keys */
    bool pre_done, pre_infeasible; /* the late presolve (a->presolve_late) ran / proved infeasibility */
    char pre_reason[256];
} fctx;

/* Inner objective coefficients of one run. */
typedef struct fcost {
    double ce, ct; /* cost = ce*E + ct*T */
    double mu;     /* multiplier of p_min: reduced cost - mu*C */
    double cw;     /* capacity multipliers lambda_i = cw / B_i: reduced cost + lambda_i*c_ik */
    double cc;     /* local search only: cost - cc*C (cc = 1 with ce = ct = 0 maximises C) */
    const double *lam; /* [n] explicit capacity multipliers (overrides cw), or NULL */
} fcost;

static swarm_err fctx_init(fctx *f, const sw_asg *a);
static void fctx_fini(fctx *f);

static inline double qcost(const fctx *f, const fcost *w, int32_t i, int32_t k)
{
    double q = w->ce * sw_asg_E(f->a, i, k) + w->ct * sw_asg_T(f->a, i, k);
    if (w->lam) q += w->lam[i] * sw_asg_cu(f->a, i, k);
    return w->cc != 0 ? q - w->cc * sw_asg_C(f->a, i, k) : q;
}

/*
 * One pass: candidate lists for the subtasks in ks (all when NULL) by
 * reduced cost q - mu*C. With residual, only SLMs with room left now count.
 * Returns the Lagrangian value sum_k (r best) when it covered every subtask
 * statically, else NAN.
 */
/* Inserts SLM i with reduced cost q into subtask k's sorted candidate list. */
static inline void cand_insert(fctx *f, int32_t k, int32_t i, double q, double C)
{
    int32_t L = f->L;
    size_t b = (size_t)k * (size_t)L;
    int32_t pos = f->cn[k];
    if (pos < L) f->cn[k] = pos + 1;
    else pos = L - 1;
    while (pos > 0 && f->cq[b + pos - 1] > q) {
        f->cq[b + pos] = f->cq[b + pos - 1];
        f->ci[b + pos] = f->ci[b + pos - 1];
        f->cC[b + pos] = f->cC[b + pos - 1];
        pos--;
    }
    f->cq[b + pos] = q;
    f->ci[b + pos] = i;
    f->cC[b + pos] = C;
    if (f->cn[k] == L) f->worst[k] = f->cq[b + L - 1];
}

static double pass(fctx *f, const fcost *w, const int32_t *ks, int32_t nks, bool residual)
{
    const sw_asg *a = f->a;
    const swarm_assign_problem *p = a->p;
    int32_t m = f->m, L = f->L;
    int32_t cnt = ks ? nks : m;
    double lam_b = 0; /* sum_i lambda_i B_i */
    double *worst = f->worst; /* [m] the L-th best so far (+inf while the list is short) */
    for (int32_t t = 0; t < cnt; t++) {
        int32_t k = ks ? ks[t] : t;
        f->cn[k] = 0;
        worst[k] = INFINITY;
    }
    for (int32_t i = 0; i < f->n; i++) {
        if (p->available && !p->available[i]) continue;
        size_t row = (size_t)i * (size_t)m;
        const double *Cr = p->C + row;
        const double *Er = p->E_ik ? p->E_ik + row : NULL;
        const double *Tr = p->T_ik ? p->T_ik + row : NULL;
        const double *cr = p->c ? p->c + row : NULL;
        double Ei = Er ? 0 : p->E[i], Ti = Tr ? 0 : p->T[i];
        double qi = w->ce * Ei + w->ct * Ti;
        double cap = (residual ? f->resc[i] : p->B[i]) + 1e-9;
        double zc = (residual && f->resz ? f->resz[i] : f->zcap) + 1e-9;
        double cmin = p->c_min, mu = w->mu;
        double lam = w->lam ? w->lam[i] : (w->cw > 0 ? w->cw / fmax(p->B[i], 1e-9) : 0);
        if (!residual) lam_b += lam * p->B[i] * f->cap_scale;
        if (cr == NULL && cap < 1) continue;
        if (Tr == NULL && Ti > zc) continue;
        double rowmin = INFINITY;
        if (!ks && !Er && !Tr && !cr) {
            /* the common case (per-SLM E and T, unit capacity use): one
             * sequential compare against worst[k] decides almost every pair */
            double base = qi + lam;
            for (int32_t k = 0; k < cnt; k++) {
                double C = Cr[k], q = base - mu * C;
                if (q >= worst[k] || C < cmin) continue;
                cand_insert(f, k, i, q, C);
            }
        } else if (!ks && !Er && !Tr) {
            for (int32_t k = 0; k < cnt; k++) {
                double C = Cr[k], cu = cr[k];
                rowmin = cu < rowmin ? cu : rowmin;
                double q = qi + lam * cu - mu * C;
                if (q >= worst[k] || C < cmin || cu > cap) continue;
                cand_insert(f, k, i, q, C);
            }
        } else {
            for (int32_t t = 0; t < cnt; t++) {
                int32_t k = ks ? ks[t] : t;
                double C = Cr[k], cu = cr ? cr[k] : 1.0;
                rowmin = cu < rowmin ? cu : rowmin;
                double q = w->ce * (Er ? Er[k] : Ei) + w->ct * (Tr ? Tr[k] : Ti) + lam * cu - mu * C;
                if (q >= worst[k] || C < cmin || cu > cap) continue;
                if (Tr && Tr[k] > zc) continue;
                cand_insert(f, k, i, q, C);
            }
        }
        if (!ks && !residual) f->cmin_row[i] = cr ? rowmin : 1.0;
    }
    f->work += (size_t)f->n * (size_t)cnt;
    if (ks || residual) return NAN;
    double v = 0;
    for (int32_t k = 0; k < m; k++) {
        if (f->cn[k] < f->r) return NAN;
        for (int32_t j = 0; j < f->r; j++) v += f->cq[(size_t)k * L + j];
    }
    return v - lam_b;
}

static bool zone_clash(const fctx *f, int32_t k, int32_t i, int32_t skip_slot)
{
    const int32_t *xs = f->x + (size_t)k * f->r;
    bool zones = sw_asg_zones_on(f->a);
    for (int32_t j = 0; j < f->r; j++) {
        if (j == skip_slot || xs[j] < 0) continue;
        if (xs[j] == i) return true;
        if (zones && sw_asg_zone(f->a, xs[j]) == sw_asg_zone(f->a, i)) return true;
    }
    return false;
}

static bool fits(const fctx *f, int32_t i, int32_t k)
{
    if (f->resc[i] + 1e-9 < sw_asg_cu(f->a, i, k)) return false;
    if (f->resz && f->resz[i] + 1e-9 < sw_asg_T(f->a, i, k)) return false;
    return true;
}


static void use(fctx *f, int32_t i, int32_t k, double sign)
{
    f->resc[i] -= sign * sw_asg_cu(f->a, i, k);
    f->resz[i] -= sign * sw_asg_T(f->a, i, k);
}

static void reset_resources(fctx *f)
{
    const swarm_assign_problem *p = f->a->p;
    for (int32_t i = 0; i < f->n; i++) {
        bool on = !p->available || p->available[i];
        f->resc[i] = on ? p->B[i] : 0;
        f->resz[i] = on ? f->zcap : 0;
    }
}

/* Places subtask k on its best candidates that still fit; returns the count placed. */
static int32_t fill(fctx *f, int32_t k)
{
    int32_t r = f->r, placed = 0;
    int32_t *xs = f->x + (size_t)k * r;
    while (placed < r && xs[placed] >= 0) placed++;
    size_t b = (size_t)k * f->L;
    for (int32_t j = 0; j < f->cn[k] && placed < r; j++) {
        int32_t i = f->ci[b + j];
        if (zone_clash(f, k, i, -1) || !fits(f, i, k)) continue;
        xs[placed++] = i;
        use(f, i, k, 1);
    }
    return placed;
}

/*
 * Completes subtask k when no SLM with room is left for it: moves another
 * subtask k2 from an SLM i2 that k could use to a third SLM i3 with room,
 * then puts k on i2. O(m*r*n) per open slot, so bounded by a work budget.
 */
static bool eject_repair(fctx *f, int32_t k)
{
    const sw_asg *a = f->a;
    int32_t r = f->r, mr = f->m * f->r;
    int32_t *xs = f->x + (size_t)k * r;
    for (int32_t j = 0; j < r; j++) {
        if (xs[j] >= 0) continue;
        bool done = false;
        for (int32_t s2 = 0; s2 < mr && !done; s2++) {
            int32_t i2 = f->x[s2], k2 = s2 / r;
            if (i2 < 0 || k2 == k || !sw_asg_eligible(a, i2, k) || zone_clash(f, k, i2, -1)) continue;
            if (f->resc[i2] + sw_asg_cu(a, i2, k2) - sw_asg_cu(a, i2, k) < -1e-9) continue;
            if (f->resz[i2] + sw_asg_T(a, i2, k2) - sw_asg_T(a, i2, k) < -1e-9) continue;
            if (f->work > ((size_t)200 << 20)) return false;
            f->work += (size_t)f->n;
            for (int32_t i3 = 0; i3 < f->n; i3++) {
                if (i3 == i2 || !sw_asg_eligible(a, i3, k2) || !fits(f, i3, k2) ||
                    zone_clash(f, k2, i3, s2 % r))
                    continue;
                use(f, i2, k2, -1);
                use(f, i3, k2, 1);
                f->x[s2] = i3;
                use(f, i2, k, 1);
                xs[j] = i2;
                done = true;
                break;
            }
        }
        if (!done) return false;
    }
    return true;
}

static int cmp_regret(const void *x, const void *y, void *ctx)
{
    const double *rg = ctx;
    int32_t a = *(const int32_t *)x, b = *(const int32_t *)y;
    if (rg[a] != rg[b]) return rg[a] > rg[b] ? -1 : 1;
    return a < b ? -1 : a > b;
}

static int cmp_base(const void *x, const void *y, void *ctx)
{
    const double *b = ctx;
    int32_t a = *(const int32_t *)x, c = *(const int32_t *)y;
    if (b[a] != b[c]) return b[a] < b[c] ? -1 : 1;
    return a < c ? -1 : a > c;
}

/*
 * Places the deferred subtasks when their candidate lists are exhausted:
 * when costs barely depend on the subtask, every list names the same few
 * SLMs and refilling lists round after round costs a pass each. Instead the
 * open SLMs are ordered once by their subtask-independent reduced cost and
 * each deferred subtask takes the first that fits. Returns the count left.
 */
static int32_t sorted_fill(fctx *f, const fcost *w, int32_t nd)
{
    const swarm_assign_problem *p = f->a->p;
    int32_t n = f->n, r = f->r, cnt = 0;
    for (int32_t i = 0; i < n; i++) {
        if ((p->available && !p->available[i]) || f->resc[i] <= 1e-9) continue;
        double lam = w->lam ? w->lam[i] : (w->cw > 0 ? w->cw / fmax(p->B[i], 1e-9) : 0);
        f->sbase[i] = w->ce * (p->E_ik ? 0 : p->E[i]) + w->ct * (p->T_ik ? 0 : p->T[i]) + lam;
        f->sorder[cnt++] = i;
    }
    qsort_r(f->sorder, (size_t)cnt, sizeof(int32_t), cmp_base, f->sbase);
    int32_t first = 0, left = 0;
    for (int32_t t = 0; t < nd; t++) {
        int32_t k = f->defer[t];
        int32_t *xs = f->x + (size_t)k * r;
        int32_t placed = 0;
        while (placed < r && xs[placed] >= 0) placed++;
        if (t % 32 == 0) {
            /* drop SLMs that cannot take any subtask any more (less room than
             * their smallest c_ik): with tight capacities most of the list */
            int32_t keep = first;
            for (int32_t u = first; u < cnt; u++) {
                int32_t i = f->sorder[u];
                if (f->resc[i] + 1e-9 >= f->cmin_row[i]) f->sorder[keep++] = i;
            }
            cnt = keep;
        }
        /* unit capacity use: SLMs with less than 1 left are done for good */
        while (first < cnt && p->c == NULL && f->resc[f->sorder[first]] < 1 - 1e-9) first++;
        /* among the first few SLMs with room in that order, the best by the
         * full reduced cost (so that mu still favours compatible ones) */
        while (placed < r) {
            int32_t bi = -1, seen = 0;
            double bq = INFINITY;
            for (int32_t u = first; u < cnt && seen < 16; u++) {
                int32_t i = f->sorder[u];
                if (!fits(f, i, k) || !sw_asg_eligible(f->a, i, k) || zone_clash(f, k, i, -1)) continue;
                seen++;
                double lam = w->lam ? w->lam[i] : (w->cw > 0 ? w->cw / fmax(p->B[i], 1e-9) : 0);
                double q = qcost(f, w, i, k) + lam * sw_asg_cu(f->a, i, k) - w->mu * sw_asg_C(f->a, i, k);
                if (q < bq) {
                    bq = q;
                    bi = i;
                }
            }
            f->work += (size_t)(cnt - first);
            if (bi < 0) break;
            xs[placed++] = bi;
            use(f, bi, k, 1);
        }
        if (placed < r) f->defer[left++] = k;
    }
    return left;
}

/*
 * Greedy by regret: subtasks whose best choice is much better than the next
 * (or that have few alternatives) pick first. Subtasks left without room get
 * fresh candidate lists from the SLMs that still have room. *lagr gets the
 * static pass's Lagrangian value (NAN if none). Returns true when complete.
 */
static bool greedy_place(fctx *f, const fcost *w);

static bool greedy(fctx *f, const fcost *w, double *lagr)
{
    *lagr = pass(f, w, NULL, 0, false);
    return greedy_place(f, w);
}

/*
 * Re-prices the candidate lists from multiplier mu_old to mu_new (q - mu*C)
 * and re-sorts them, without a pass: the lists stay the L best at mu_old, a
 * good approximation for a nearby mu. For the p_min retries of large instances.
 */
static void relist(fctx *f, double mu_old, double mu_new)
{
    int32_t L = f->L;
    double dmu = mu_new - mu_old;
    for (int32_t k = 0; k < f->m; k++) {
        size_t b = (size_t)k * L;
        for (int32_t j = 0; j < f->cn[k]; j++) {
            double q = f->cq[b + j] - dmu * f->cC[b + j], C = f->cC[b + j];
            int32_t i = f->ci[b + j], pos = j;
            while (pos > 0 && f->cq[b + pos - 1] > q) {
                f->cq[b + pos] = f->cq[b + pos - 1];
                f->ci[b + pos] = f->ci[b + pos - 1];
                f->cC[b + pos] = f->cC[b + pos - 1];
                pos--;
            }
            f->cq[b + pos] = q;
            f->ci[b + pos] = i;
            f->cC[b + pos] = C;
        }
    }
    f->work += (size_t)f->m * L;
}

/* Greedy by regret on the current candidate lists (see greedy). */
static bool greedy_place(fctx *f, const fcost *w)
{
    double t0 = sw_now_ms();
    size_t w0 = f->work;
    int32_t m = f->m, r = f->r, L = f->L;
    reset_resources(f);
    for (size_t s = 0; s < (size_t)m * r; s++) f->x[s] = -1;
    for (int32_t k = 0; k < m; k++) {
        size_t b = (size_t)k * L;
        f->regret[k] = f->cn[k] > r ? f->cq[b + r] - f->cq[b + r - 1] : DBL_MAX;
        f->order[k] = k;
    }
    qsort_r(f->order, (size_t)m, sizeof(int32_t), cmp_regret, f->regret);
    int32_t nd = 0;
    for (int32_t t = 0; t < m; t++) {
        int32_t k = f->order[t];
        if (fill(f, k) < r) f->defer[nd++] = k;
    }
    sw_log_debug("assign: greedy: first fill %.1f ms, %d deferred", sw_now_ms() - t0, (int)nd);
    int rounds = 0;
    /* refill rounds honour per-subtask preferences but cost a pass each.
     * Above 2*10^6 pairs none: measured at 1000 x 10,000, a refill pass
     * (~35-45 ms, a gather over the deferred columns) placed 2-18 % of the
     * deferred subtasks and sorted_fill the rest anyway; without it the
     * objective moved by +0.02 % (tight) and 0 (loose). */
    int max_rounds = (double)f->n * f->m > 2e6 ? 0 : 2;
    while (nd > 0 && (rounds++ < max_rounds || (double)f->n * nd < 2e5)) {
        pass(f, w, f->defer, nd, true);
        bool progress = false;
        int32_t nd2 = 0;
        for (int32_t t = 0; t < nd; t++) {
            int32_t k = f->defer[t];
            int32_t before = 0;
            while (before < r && f->x[(size_t)k * r + before] >= 0) before++;
            int32_t after = fill(f, k);
            if (after > before) progress = true;
            if (after < r) f->defer[nd2++] = k;
        }
        nd = nd2;
        if (!progress) break;
    }
    if (nd > 0) nd = sorted_fill(f, w, nd);
    sw_log_debug("assign: greedy: %.1f ms, %.1f passes, %d left", sw_now_ms() - t0,
                (double)(f->work - w0) / ((double)f->n * f->m), (int)nd);
    for (int32_t t = 0; t < nd; t++)
        if (!eject_repair(f, f->defer[t])) return false;
    return true;
}

/* ---- local search ---- */

static void list_build(fctx *f)
{
    for (int32_t i = 0; i < f->n; i++) f->head[i] = -1;
    for (int32_t s = 0; s < f->m * f->r; s++) {
        int32_t i = f->x[s];
        f->prv[s] = -1;
        f->nxt[s] = f->head[i];
        if (f->head[i] >= 0) f->prv[f->head[i]] = s;
        f->head[i] = s;
    }
}

static void list_move(fctx *f, int32_t s, int32_t from, int32_t to)
{
    if (f->prv[s] >= 0) f->nxt[f->prv[s]] = f->nxt[s];
    else f->head[from] = f->nxt[s];
    if (f->nxt[s] >= 0) f->prv[f->nxt[s]] = f->prv[s];
    f->prv[s] = -1;
    f->nxt[s] = f->head[to];
    if (f->head[to] >= 0) f->prv[f->head[to]] = s;
    f->head[to] = s;
}

/* Side constraints during local search: compatibility (>= p_min) and the
 * summed-time cap. A move may not break a satisfied one, nor worsen a broken one. */
typedef struct slack {
    double c, t;
    bool use_t;
} slack;

static inline bool slack_ok(double s, double d)
{
    return s + d >= -1e-9 || d >= 0;
}

static void move_slot(fctx *f, slack *sl, int32_t s, int32_t to)
{
    int32_t k = s / f->r, from = f->x[s];
    use(f, from, k, -1);
    use(f, to, k, 1);
    sl->c += sw_asg_C(f->a, to, k) - sw_asg_C(f->a, from, k);
    sl->t -= sw_asg_T(f->a, to, k) - sw_asg_T(f->a, from, k);
    f->x[s] = to;
    list_move(f, s, from, to);
}

/* A candidate single shift for pair moves: slot s to SLM i2, cost and C change. */
typedef struct pmove {
    int32_t s, i2;
    double dq, dc;
} pmove;

static int cmp_pmove_ratio(const void *x, const void *y)
{
    /* buying moves: least cost per unit of compatibility first */
    const pmove *a = x, *b = y;
    double ra = a->dq / a->dc, rb = b->dq / b->dc;
    return ra < rb ? -1 : ra > rb;
}

/*
 * With p_min binding, a shift that saves cost but loses compatibility is
 * blocked, and one that buys compatibility costs more: together they may
 * gain. Pairs the best saving shifts with the cheapest buying shifts.
 * Returns true when a pair was applied.
 */
static bool pair_moves(fctx *f, const fcost *w, slack *sl, pmove *buf, int32_t cap)
{
    const sw_asg *a = f->a;
    int32_t r = f->r, L = f->L, mr = f->m * f->r;
    int32_t ns = 0, nu = 0, half = cap / 2;
    pmove *save = buf, *buy = buf + half;
    for (int32_t s = 0; s < mr; s++) {
        int32_t k = s / r, i = f->x[s];
        double cur = qcost(f, w, i, k), ci = sw_asg_C(a, i, k);
        size_t b = (size_t)k * L;
        pmove bs = {-1, -1, 0, 0}, bu = {-1, -1, 0, 0};
        for (int32_t j = 0; j < f->cn[k]; j++) {
            int32_t i2 = f->ci[b + j];
            if (i2 == i || zone_clash(f, k, i2, s % r) || !fits(f, i2, k)) continue;
            double dq = qcost(f, w, i2, k) - cur, dc = sw_asg_C(a, i2, k) - ci;
            if (sl->use_t && !slack_ok(sl->t, sw_asg_T(a, i, k) - sw_asg_T(a, i2, k))) continue;
            if (dq < 0 && dc < 0 && (bs.s < 0 || dq / -dc < bs.dq / -bs.dc)) bs = (pmove){s, i2, dq, dc};
            if (dc > 0 && (bu.s < 0 || dq / dc < bu.dq / bu.dc)) bu = (pmove){s, i2, dq, dc};
        }
        if (bs.s >= 0 && ns < half) save[ns++] = bs;
        if (bu.s >= 0 && nu < half) buy[nu++] = bu;
    }
    f->work += (size_t)mr * L;
    if (ns == 0 || nu == 0) return false;
    qsort(buy, (size_t)nu, sizeof(pmove), cmp_pmove_ratio);
    bool applied = false;
    for (int32_t x = 0; x < ns; x++) {
        pmove *sv = &save[x];
        if (f->x[sv->s] < 0) continue;
        for (int32_t y = 0; y < nu && y < 64; y++) {
            pmove *u = &buy[y];
            if (u->s / r == sv->s / r) continue;
            if (sv->dq + u->dq >= -1e-12 * (1 + fabs(sv->dq))) break; /* sorted by ratio: no cheaper buy */
            if (sl->c + sv->dc + u->dc < -1e-9) continue;
            /* both still valid now (earlier pairs may have changed things) */
            int32_t i_s = f->x[sv->s], i_u = f->x[u->s];
            int32_t ks = sv->s / r, ku = u->s / r;
            if (i_s == sv->i2 || i_u == u->i2) continue;
            double dqs = qcost(f, w, sv->i2, ks) - qcost(f, w, i_s, ks);
            double dcs = sw_asg_C(a, sv->i2, ks) - sw_asg_C(a, i_s, ks);
            double dqu = qcost(f, w, u->i2, ku) - qcost(f, w, i_u, ku);
            double dcu = sw_asg_C(a, u->i2, ku) - sw_asg_C(a, i_u, ku);
            if (dqs + dqu >= -1e-12 * (1 + fabs(dqs)) || sl->c + dcs + dcu < -1e-9) continue;
            if (zone_clash(f, ks, sv->i2, sv->s % r) || !fits(f, sv->i2, ks)) continue;
            if (zone_clash(f, ku, u->i2, u->s % r) || !fits(f, u->i2, ku)) continue;
            if (sl->use_t && !slack_ok(sl->t, sw_asg_T(a, i_s, ks) - sw_asg_T(a, sv->i2, ks) +
                                                  sw_asg_T(a, i_u, ku) - sw_asg_T(a, u->i2, ku)))
                continue;
            move_slot(f, sl, u->s, u->i2);
            if (zone_clash(f, ks, sv->i2, sv->s % r) || !fits(f, sv->i2, ks)) {
                move_slot(f, sl, u->s, i_u); /* undo: the buy took the room */
                continue;
            }
            move_slot(f, sl, sv->s, sv->i2);
            applied = true;
            break;
        }
    }
    return applied;
}

/*
 * Repairs a complete assignment short of p_min by the cheapest purchases of
 * compatibility: for every slot the shift that gains C at the least cost per
 * unit (cost w, mu ignored), among its listed candidates and the SLMs that
 * still have room (with tight capacities the listed ones are all full: the
 * rows of the open SLMs are read sequentially, at most ~2*10^6 pairs), applied
 * in that order (re-checked for room) until the deficit is covered. resc and
 * resz must be current. Returns true when p_min holds afterwards.
 */
static bool buy_repair(fctx *f, const fcost *w, double compat)
{
    const sw_asg *a = f->a;
    const swarm_assign_problem *p = a->p;
    int32_t n = f->n, r = f->r, L = f->L, mr = f->m * f->r;
    double pmin = p->p_min, need = pmin - compat + SW_ASG_TOL * (1 + pmin);
    if (need <= 0) return true;
    pmove *buy = sw_malloc((size_t)mr * sizeof(*buy));
    double *cur = sw_malloc((size_t)mr * 2 * sizeof(double));
    if (buy == NULL || cur == NULL) {
        sw_free(buy);
        sw_free(cur);
        return false;
    }
    double *curc = cur + mr;
    double tslack = INFINITY;
    if (a->has_time_cap && !a->makespan) {
        double e, t, c;
        bool ok;
        sw_asg_eval(a, f->x, &e, &t, &c, &ok);
        tslack = a->time_cap - t;
    }
    for (int32_t s = 0; s < mr; s++) {
        int32_t k = s / r, i = f->x[s];
        cur[s] = qcost(f, w, i, k);
        curc[s] = sw_asg_C(a, i, k);
        buy[s] = (pmove){-1, -1, 0, 0};
        size_t b = (size_t)k * L;
        for (int32_t j = 0; j < f->cn[k]; j++) {
            int32_t i2 = f->ci[b + j];
            double dc = f->cC[b + j] - curc[s];
            /* no room for any subtask: skip without reading c_ik */
            if (i2 == i || dc <= 0 || f->resc[i2] + 1e-9 < f->cmin_row[i2]) continue;
            double dq = qcost(f, w, i2, k) - cur[s];
            if (buy[s].s >= 0 && dq / dc >= buy[s].dq / buy[s].dc) continue;
            if (zone_clash(f, k, i2, s % r) || !fits(f, i2, k)) continue;
            buy[s] = (pmove){s, i2, dq, dc};
        }
    }
    f->work += (size_t)mr * L;
    /* the open SLMs, most room first */
    int32_t no = 0;
    for (int32_t i = 0; i < n; i++)
        if ((!p->available || p->available[i]) && f->resc[i] + 1e-9 >= f->cmin_row[i] &&
            f->resc[i] > 1e-9) {
            f->sorder[no++] = i;
            f->sbase[i] = -f->resc[i];
        }
    qsort_r(f->sorder, (size_t)no, sizeof(int32_t), cmp_base, f->sbase);
    int32_t rows = (int32_t)fmin((double)no, fmax(16.0, SW_BUY_PAIRS / fmax(1.0, (double)mr)));
    /* the best ratio so far per slot, compared without a division */
    double *ratio = cur; /* cur[s] is folded into rq below */
    for (int32_t s = 0; s < mr; s++) {
        double rq = buy[s].s >= 0 ? buy[s].dq / buy[s].dc : INFINITY;
        buy[s].dq = cur[s]; /* keep the current cost here until the scan ends */
        ratio[s] = rq;
    }
    bool simple = !p->E_ik && !p->T_ik && w->lam == NULL && w->cc == 0;
    for (int32_t u = 0; u < rows; u++) {
        int32_t i2 = f->sorder[u];
        const double *Cr = p->C + (size_t)i2 * f->m;
        double qi = simple ? w->ce * p->E[i2] + w->ct * p->T[i2] : 0;
        /* k and the slot j in nested loops: a division s / r per pair costs
         * more than the rest of the loop */
        for (int32_t k = 0, s = 0; k < f->m; k++)
            for (int32_t j = 0; j < r; j++, s++) {
                double dc = Cr[k] - curc[s];
                if (dc <= 0 || f->x[s] == i2) continue;
                double dq = (simple ? qi : qcost(f, w, i2, k)) - buy[s].dq;
                if (dq >= ratio[s] * dc) continue;
                if (!sw_asg_eligible(a, i2, k) || zone_clash(f, k, i2, j) || !fits(f, i2, k)) continue;
                ratio[s] = dq / dc;
                buy[s].s = s;
                buy[s].i2 = i2;
                buy[s].dc = dc;
            }
    }
    for (int32_t s = 0; s < mr; s++) /* back to the cost change */
        if (buy[s].s >= 0) buy[s].dq = ratio[s] * buy[s].dc;
    f->work += (size_t)rows * mr;
    int32_t nu = 0;
    for (int32_t s = 0; s < mr; s++)
        if (buy[s].s >= 0) buy[nu++] = buy[s];
    qsort(buy, (size_t)nu, sizeof(pmove), cmp_pmove_ratio);
    for (int32_t u = 0; u < nu && need > 0; u++) {
        int32_t s = buy[u].s, k = s / r, i = f->x[s], i2 = buy[u].i2;
        if (zone_clash(f, k, i2, s % r) || !fits(f, i2, k)) continue;
        double dt = sw_asg_T(a, i2, k) - sw_asg_T(a, i, k);
        if (dt > 0 && dt > tslack) continue;
        use(f, i, k, -1);
        use(f, i2, k, 1);
        f->x[s] = i2;
        need -= buy[u].dc;
        tslack -= dt;
    }
    sw_log_debug("assign: buy_repair: %d open SLMs (%d read), %d shifts found, %g short after", (int)no,
                 (int)rows, (int)nu, need);
    sw_free(buy);
    sw_free(cur);
    return need <= 0;
}

/*
 * Improves the complete assignment f->x for cost w (mu ignored) with shift
 * moves, swaps of two subtasks between SLMs, and ejections (k1 takes k2's
 * place on i2, k2 moves to a third SLM). Candidate lists must be current.
 */
static void local_search(fctx *f, const fcost *w)
{
    const sw_asg *a = f->a;
    int32_t r = f->r, L = f->L, mr = f->m * f->r;
    reset_resources(f);
    slack sl = {0, 0, a->has_time_cap && !a->makespan};
    for (int32_t s = 0; s < mr; s++) {
        int32_t k = s / r, i = f->x[s];
        use(f, i, k, 1);
        sl.c += sw_asg_C(a, i, k);
        sl.t += sw_asg_T(a, i, k);
    }
    sl.c -= a->p->p_min;
    sl.t = sl.use_t ? a->time_cap - sl.t : INFINITY;
    list_build(f);
    /* move evaluations touch C and c at random: bounded so that large
     * instances stay within tens of milliseconds */
    double mrl = (double)mr * L;
    size_t budget = f->work + (size_t)(f->ls_scale * fmin(1e6, fmax(2e5, 200 * mrl)));
    for (int round = 0; round < 100 && f->work < budget; round++) {
        bool improved = false;
        /* shifts */
        for (int32_t s = 0; s < mr; s++) {
            int32_t k = s / r, i = f->x[s];
            double cur = qcost(f, w, i, k), bestd = -1e-12 * (1 + fabs(cur));
            int32_t bi = -1;
            size_t b = (size_t)k * L;
            for (int32_t j = 0; j < f->cn[k]; j++) {
                int32_t i2 = f->ci[b + j];
                if (i2 == i) continue;
                double d = qcost(f, w, i2, k) - cur;
                if (d >= bestd || zone_clash(f, k, i2, s % r) || !fits(f, i2, k)) continue;
                if (!slack_ok(sl.c, sw_asg_C(a, i2, k) - sw_asg_C(a, i, k))) continue;
                if (sl.use_t && !slack_ok(sl.t, sw_asg_T(a, i, k) - sw_asg_T(a, i2, k))) continue;
                bestd = d;
                bi = i2;
            }
            if (bi >= 0) {
                move_slot(f, &sl, s, bi);
                improved = true;
            }
        }
        f->work += (size_t)mr * L;
        /* swaps and ejections */
        for (int32_t s1 = 0; s1 < mr && f->work < budget; s1++) {
            int32_t k1 = s1 / r, i1 = f->x[s1];
            double cur1 = qcost(f, w, i1, k1);
            double bestd = -1e-12 * (1 + fabs(cur1));
            int32_t b_s2 = -1, b_i2 = -1, b_i3 = -1;
            size_t b1 = (size_t)k1 * L;
            for (int32_t j = 0; j < f->cn[k1]; j++) {
                int32_t i2 = f->ci[b1 + j];
                if (i2 == i1) continue;
                /* room on i2 means a plain shift, tried above */
                if (fits(f, i2, k1)) continue;
                double d1 = qcost(f, w, i2, k1) - cur1;
                if (d1 >= 0 || zone_clash(f, k1, i2, s1 % r)) continue;
                double dc1 = sw_asg_C(a, i2, k1) - sw_asg_C(a, i1, k1);
                double dt1 = sw_asg_T(a, i1, k1) - sw_asg_T(a, i2, k1);
                for (int32_t s2 = f->head[i2]; s2 >= 0; s2 = f->nxt[s2]) {
                    int32_t k2 = s2 / r;
                    f->work++;
                    if (k2 == k1) continue;
                    /* i2 must fit k1 once k2 leaves */
                    if (f->resc[i2] + sw_asg_cu(a, i2, k2) - sw_asg_cu(a, i2, k1) < -1e-9) continue;
                    if (f->resz[i2] + sw_asg_T(a, i2, k2) - sw_asg_T(a, i2, k1) < -1e-9) continue;
                    double q22 = qcost(f, w, i2, k2);
                    double c22 = sw_asg_C(a, i2, k2), t22 = sw_asg_T(a, i2, k2);
                    /* swap: k2 goes to i1 */
                    if (sw_asg_eligible(a, i1, k2) && !zone_clash(f, k2, i1, s2 % r) &&
                        f->resc[i1] + sw_asg_cu(a, i1, k1) - sw_asg_cu(a, i1, k2) >= -1e-9 &&
                        f->resz[i1] + sw_asg_T(a, i1, k1) - sw_asg_T(a, i1, k2) >= -1e-9) {
                        double d = d1 + qcost(f, w, i1, k2) - q22;
                        if (d < bestd && slack_ok(sl.c, dc1 + sw_asg_C(a, i1, k2) - c22) &&
                            (!sl.use_t || slack_ok(sl.t, dt1 + t22 - sw_asg_T(a, i1, k2)))) {
                            bestd = d;
                            b_s2 = s2;
                            b_i2 = i2;
                            b_i3 = i1;
                        }
                    }
                    /* ejection: k2 goes to a third SLM with room */
                    size_t b2 = (size_t)k2 * L;
                    f->work += (size_t)f->cn[k2];
                    for (int32_t j3 = 0; j3 < f->cn[k2]; j3++) {
                        int32_t i3 = f->ci[b2 + j3];
                        if (i3 == i1 || i3 == i2) continue;
                        double d = d1 + qcost(f, w, i3, k2) - q22;
                        if (d >= bestd || zone_clash(f, k2, i3, s2 % r) || !fits(f, i3, k2)) continue;
                        if (!slack_ok(sl.c, dc1 + sw_asg_C(a, i3, k2) - c22)) continue;
                        if (sl.use_t && !slack_ok(sl.t, dt1 + t22 - sw_asg_T(a, i3, k2))) continue;
                        bestd = d;
                        b_s2 = s2;
                        b_i2 = i2;
                        b_i3 = i3;
                    }
                }
            }
            if (b_s2 >= 0) {
                /* move k2 out first so that i2 has room for k1 */
                move_slot(f, &sl, b_s2, b_i3);
                move_slot(f, &sl, s1, b_i2);
                improved = true;
            }
        }
        if (!improved && f->pbuf && a->p->p_min > 0 && f->work < budget)
            improved = pair_moves(f, w, &sl, f->pbuf, f->pbuf_cap);
        if (!improved) break;
    }
}

/* ---- drivers ---- */

static double inner_cost(const fctx *f, const fcost *w, const int32_t *x, double *compat,
                         double *tsum)
{
    double q = 0, c = 0, t = 0;
    for (int32_t s = 0; s < f->m * f->r; s++) {
        int32_t k = s / f->r, i = x[s];
        q += qcost(f, w, i, k);
        c += sw_asg_C(f->a, i, k);
        t += sw_asg_T(f->a, i, k);
    }
    *compat = c;
    *tsum = t;
    return q;
}

static bool compat_ok(const fctx *f, double c)
{
    return c >= f->a->p->p_min - SW_ASG_TOL * (1 + f->a->p->p_min);
}

/*
 * Lagrangian relaxation of capacity (lambda_i) and p_min (mu) by subgradient
 * steps with a Polyak step size: the multipliers price crowded SLMs; greedy
 * on the reduced costs every greedy_every steps gives feasible points (kept
 * in out when better than *best_q, the multipliers in f->best_lam); every
 * dual value is a lower bound. The last multipliers stay in f->lam, *mu_last.
 */
static void subgrad(fctx *f, const fcost *w, int iters, int greedy_every, bool polish, int32_t *out,
                    double *best_q, double *best_mu, bool *have, bool *use_lam, double *lb,
                    double *mu_last)
{
    const swarm_assign_problem *p = f->a->p;
    const double pmin = p->p_min;
    size_t mr = (size_t)f->m * f->r;
    double *lam = f->lam, *glam = f->glam;
    for (int32_t i = 0; i < f->n; i++) lam[i] = 0;
    double mu = 0, alpha = 2.0, best_l = -INFINITY, lagr, q, c, t;
    int stall = 0;
    fcost wl = *w;
    wl.lam = lam;
    for (int it = 0; it < iters; it++) {
        wl.mu = mu;
        double v = pass(f, &wl, NULL, 0, false);
        if (isnan(v)) break;
        double l = v + mu * pmin;
        if (l > *lb) *lb = l;
        if (l > best_l + 1e-9 * (1 + fabs(best_l))) {
            best_l = l;
            stall = 0;
        } else if (++stall >= 8) {
            alpha *= 0.5;
            stall = 0;
        }
        /* subgradient: capacity use minus B_i, and p_min minus compatibility */
        for (int32_t i = 0; i < f->n; i++)
            glam[i] = -(p->available && !p->available[i] ? 0 : p->B[i] * f->cap_scale);
        double gc = pmin;
        for (int32_t k = 0; k < f->m; k++)
            for (int32_t j = 0; j < f->r; j++) {
                int32_t i = f->ci[(size_t)k * f->L + j];
                glam[i] += sw_asg_cu(f->a, i, k);
                gc -= sw_asg_C(f->a, i, k);
            }
        double norm = 0;
        for (int32_t i = 0; i < f->n; i++) {
            if (lam[i] <= 0 && glam[i] < 0) glam[i] = 0;
            norm += glam[i] * glam[i];
        }
        if (mu <= 0 && gc < 0) gc = 0;
        norm += gc * gc;
        bool last = it == iters - 1 || norm <= 0;
        if (greedy_every > 0 && (it % greedy_every == greedy_every - 1 || last)) {
            if (greedy(f, &wl, &lagr)) {
                q = inner_cost(f, w, f->x, &c, &t);
                if (polish && !compat_ok(f, c) && mu > 0) {
                    /* short of p_min: buy compatibility at a raised price */
                    f->ls_scale = 0.25;
                    for (int tr = 0; tr < 3 && !compat_ok(f, c); tr++) {
                        fcost lp = *w;
                        lp.cc = mu * (1.25 + 0.5 * tr);
                        local_search(f, &lp);
                        q = inner_cost(f, w, f->x, &c, &t);
                    }
                    f->ls_scale = 1.0;
                }
                if (polish && compat_ok(f, c)) {
                    /* local search on every greedy point: the best after
                     * polishing is rarely the best before */
                    f->ls_scale = 0.25;
                    if (mu > 0) {
                        fcost lp = *w;
                        lp.cc = mu;
                        local_search(f, &lp);
                    }
                    local_search(f, w);
                    f->ls_scale = 1.0;
                    q = inner_cost(f, w, f->x, &c, &t);
                }
                if (compat_ok(f, c) && q < *best_q) {
                    memcpy(out, f->x, mr * sizeof(int32_t));
                    memcpy(f->best_lam, lam, (size_t)f->n * sizeof(double));
                    *best_q = q;
                    *best_mu = mu;
                    *have = true;
                    *use_lam = true;
                }
            }
        }
        if (norm <= 0) break;
        double target = *have ? *best_q : fabs(l) * 1.05 + 1;
        double theta = alpha * fmax(target - l, 1e-9 * (1 + fabs(l))) / norm;
        for (int32_t i = 0; i < f->n; i++) lam[i] = fmax(0, lam[i] + theta * glam[i]);
        mu = fmax(0, mu + theta * gc);
    }
    if (mu_last) *mu_last = mu;
}

/*
 * Multipliers for a large instance from a sample of its subtasks (capacities
 * and p_min scaled to the sample): the subgradient steps then cost a sample
 * pass each instead of a full one. Writes lambda to f->best_lam and *mu_out.
 *
 * The sample is stored transposed (subtask-major: the n SLMs of one subtask
 * contiguous) and in float: a step only needs, per subtask, its r best SLMs
 * by reduced cost, a running minimum over one contiguous row kept in
 * registers (no candidate lists), and the arrays are half the size. The
 * multipliers are only a price guide for greedy, so float rounding (~1e-7
 * relative) is harmless; the reported bound comes from the full passes.
 * Same steps as subgrad (Polyak step, target 1.05 |l| + 1, step halved after
 * 8 steps without a better dual value); the last multipliers are returned.
 */
static bool sample_multipliers(fctx *f, const fcost *w, double *mu_out)
{
    const sw_asg *a = f->a;
    const swarm_assign_problem *p = a->p;
    int32_t n = f->n, m = f->m, r = f->r;
    int32_t ms = (int32_t)fmax(64.0, SW_SAMPLE_PAIRS / n);
    if ((int64_t)ms * 2 > m) return false;
    size_t nms = (size_t)n * (size_t)ms;
    float *C = sw_malloc(nms * sizeof(float));
    float *c = p->c ? sw_malloc(nms * sizeof(float)) : NULL;
    float *qk = (p->E_ik || p->T_ik) ? sw_malloc(nms * sizeof(float)) : NULL;
    double *base = sw_malloc((size_t)n * 3 * sizeof(double));
    int32_t *bi = sw_malloc((size_t)ms * r * sizeof(int32_t));
    float *bq = sw_malloc((size_t)r * sizeof(float));
    bool ok = false;
    if (!C || (p->c && !c) || ((p->E_ik || p->T_ik) && !qk) || !base || !bi || !bq) goto done;
    double *lam = f->lam, *glam = f->glam, *cap = base + n;
    double *bs = base + 2 * (size_t)n; /* B_i * scale (0 for removed SLMs) */
    double scale = (double)ms / m, pmin = p->p_min * scale;
    float cmin = (float)p->c_min;
    /* a removed SLM, or one with less than one unit when c_ik = 1, takes nothing */
    for (int32_t i = 0; i < n; i++) {
        bool on = !p->available || p->available[i];
        base[i] = w->ce * (p->E_ik ? 0 : p->E[i]) + w->ct * (p->T_ik ? 0 : p->T[i]);
        cap[i] = on && (p->c || p->B[i] + 1e-9 >= 1) ? p->B[i] + 1e-9 : -1;
        bs[i] = on ? p->B[i] * scale : 0;
        lam[i] = 0;
    }
    /* the sample: every (m/ms)-th subtask; gathered in blocks of 16 SLMs so
     * that the transposed writes stay within a few cache lines */
    for (int32_t j = 0; j < ms; j++) bi[j] = (int32_t)((int64_t)j * m / ms); /* subtask index */
    for (int32_t i0 = 0; i0 < n; i0 += 16) {
        int32_t i1 = i0 + 16 < n ? i0 + 16 : n;
        for (int32_t j = 0; j < ms; j++)
            for (int32_t i = i0; i < i1; i++) {
                size_t k = (size_t)i * m + (size_t)bi[j], t = (size_t)j * n + i;
                C[t] = (float)p->C[k];
                if (c) c[t] = (float)p->c[k];
                if (qk)
                    qk[t] = (float)(w->ce * (p->E_ik ? p->E_ik[k] : 0) + w->ct * (p->T_ik ? p->T_ik[k] : 0));
            }
    }
    double mu = 0, alpha = 2.0, best_l = -INFINITY;
    int stall = 0;
    float *lamf = sw_malloc((size_t)n * 2 * sizeof(float));
    if (lamf == NULL) goto done;
    float *basef = lamf + n;
    for (int it = 0; it < SW_SAMPLE_STEPS; it++) {
        double v = 0, lam_b = 0;
        bool complete = true;
        for (int32_t i = 0; i < n; i++) {
            lamf[i] = (float)lam[i];
            basef[i] = (float)(base[i] + (c ? 0 : lam[i]));
            lam_b += lam[i] * bs[i];
        }
        float muf = (float)mu;
        for (int32_t j = 0; j < ms && complete; j++) {
            const float *Cj = C + (size_t)j * n, *cj = c ? c + (size_t)j * n : NULL;
            const float *qj = qk ? qk + (size_t)j * n : NULL;
            int32_t *bij = bi + (size_t)j * r, cnt = 0;
            for (int32_t u = 0; u < r; u++) bq[u] = INFINITY;
            for (int32_t i = 0; i < n; i++) {
                float q = basef[i] - muf * Cj[i];
                if (cj) q += lamf[i] * cj[i];
                if (qj) q += qj[i];
                if (!(q < bq[r - 1])) continue;
                if (Cj[i] < cmin || (cj ? cj[i] : 1.0f) > cap[i]) continue;
                int32_t pos = cnt < r ? cnt++ : r - 1;
                while (pos > 0 && bq[pos - 1] > q) {
                    bq[pos] = bq[pos - 1];
                    bij[pos] = bij[pos - 1];
                    pos--;
                }
                bq[pos] = q;
                bij[pos] = i;
            }
            if (cnt < r) complete = false;
            for (int32_t u = 0; u < cnt; u++) v += bq[u];
        }
        if (!complete) break;
        double l = v - lam_b + mu * pmin;
        if (l > best_l + 1e-9 * (1 + fabs(best_l))) {
            best_l = l;
            stall = 0;
        } else if (++stall >= 8) {
            alpha *= 0.5;
            stall = 0;
        }
        /* subgradient: capacity use minus B_i, and p_min minus compatibility */
        for (int32_t i = 0; i < n; i++) glam[i] = -bs[i];
        double gc = pmin;
        for (int32_t j = 0; j < ms; j++)
            for (int32_t u = 0; u < r; u++) {
                int32_t i = bi[(size_t)j * r + u];
                size_t t = (size_t)j * n + i;
                glam[i] += c ? c[t] : 1.0;
                gc -= C[t];
            }
        double norm = 0;
        for (int32_t i = 0; i < n; i++) {
            if (lam[i] <= 0 && glam[i] < 0) glam[i] = 0;
            norm += glam[i] * glam[i];
        }
        if (mu <= 0 && gc < 0) gc = 0;
        norm += gc * gc;
        if (norm <= 0) break;
        double theta = alpha * fmax(fabs(l) * 1.05 + 1 - l, 1e-9 * (1 + fabs(l))) / norm;
        for (int32_t i = 0; i < n; i++) lam[i] = fmax(0, lam[i] + theta * glam[i]);
        mu = fmax(0, mu + theta * gc);
    }
    sw_free(lamf);
    memcpy(f->best_lam, lam, (size_t)n * sizeof(double));
    *mu_out = mu;
    f->work += (size_t)SW_SAMPLE_STEPS * nms;
    ok = true;
done:
    sw_free(C);
    sw_free(c);
    sw_free(qk);
    sw_free(base);
    sw_free(bi);
    sw_free(bq);
    return ok;
}

/*
 * Iterated local search for small instances: from the best assignment, a
 * few random feasible moves (shifts to a listed SLM with room, or swaps of
 * two subtasks between SLMs) that keep every constraint, then local search
 * (priced with mu first when p_min binds); kept when better. Reaches the
 * 3-move improvements single moves cannot (small tight instances: sizes
 * c_ik of 1-3, ~5 subtasks per SLM). Deterministic (fixed seed); the number
 * of rounds shrinks with the instance so that the work stays ~2*10^6
 * evaluations. f->x in and out; candidate lists must be current.
 */
static void perturb_search(fctx *f, const fcost *lsc, double mu)
{
    const sw_asg *a = f->a;
    int32_t r = f->r, mr = f->m * f->r, L = f->L;
    double pmin = a->p->p_min;
    bool use_t = a->has_time_cap && !a->makespan;
    int rounds = (int)fmin(SW_PERTURB_ROUNDS, 2e6 / ((double)mr * L * 4 + f->n));
    if (rounds < 1 || a->has_energy_cap) return;
    int32_t *bestx = sw_malloc((size_t)mr * sizeof(int32_t));
    if (bestx == NULL) return;
    double c, t;
    double bq = inner_cost(f, lsc, f->x, &c, &t);
    memcpy(bestx, f->x, (size_t)mr * sizeof(int32_t));
    uint64_t rs = 0x9E3779B97F4A7C15ULL ^ (uint64_t)mr;
    /* at most as much work again as the solve so far: where single moves
     * already reach the optimum (loose instances) the rounds only cost */
    size_t w0 = f->work, wmax = w0 + (size_t)(SW_PERTURB_WORK * (double)w0);
    int kept = 0, since = 0, it = 0;
    for (; it < rounds && since < SW_PERTURB_STALL && f->work < wmax; it++, since++) {
        memcpy(f->x, bestx, (size_t)mr * sizeof(int32_t));
        reset_resources(f);
        for (int32_t s = 0; s < mr; s++) use(f, f->x[s], s / r, 1);
        double cs = c - pmin, ts = use_t ? a->time_cap - t : INFINITY;
        int done = 0;
        for (int att = 0; att < 40 && done < 3; att++) {
            rs ^= rs << 13, rs ^= rs >> 7, rs ^= rs << 17;
            int32_t s1 = (int32_t)(rs % (uint64_t)mr), k1 = s1 / r, i1 = f->x[s1];
            double dc, dt;
            if ((rs >> 40) & 1) {
                if (f->cn[k1] == 0) continue;
                int32_t i2 = f->ci[(size_t)k1 * L + (int32_t)((rs >> 20) % (uint64_t)f->cn[k1])];
                if (i2 == i1 || zone_clash(f, k1, i2, s1 % r) || !fits(f, i2, k1)) continue;
                dc = sw_asg_C(a, i2, k1) - sw_asg_C(a, i1, k1);
                dt = sw_asg_T(a, i2, k1) - sw_asg_T(a, i1, k1);
                if (cs + dc < -1e-9 || ts - dt < -1e-9) continue;
                use(f, i1, k1, -1);
                use(f, i2, k1, 1);
                f->x[s1] = i2;
            } else {
                int32_t s2 = (int32_t)((rs >> 20) % (uint64_t)mr), k2 = s2 / r, i2 = f->x[s2];
                if (i2 == i1 || k2 == k1 || !sw_asg_eligible(a, i2, k1) || !sw_asg_eligible(a, i1, k2))
                    continue;
                if (zone_clash(f, k1, i2, s1 % r) || zone_clash(f, k2, i1, s2 % r)) continue;
                if (f->resc[i1] + sw_asg_cu(a, i1, k1) - sw_asg_cu(a, i1, k2) < -1e-9 ||
                    f->resc[i2] + sw_asg_cu(a, i2, k2) - sw_asg_cu(a, i2, k1) < -1e-9 ||
                    f->resz[i1] + sw_asg_T(a, i1, k1) - sw_asg_T(a, i1, k2) < -1e-9 ||
                    f->resz[i2] + sw_asg_T(a, i2, k2) - sw_asg_T(a, i2, k1) < -1e-9)
                    continue;
                dc = sw_asg_C(a, i2, k1) + sw_asg_C(a, i1, k2) - sw_asg_C(a, i1, k1) - sw_asg_C(a, i2, k2);
                dt = sw_asg_T(a, i2, k1) + sw_asg_T(a, i1, k2) - sw_asg_T(a, i1, k1) - sw_asg_T(a, i2, k2);
                if (cs + dc < -1e-9 || ts - dt < -1e-9) continue;
                use(f, i1, k1, -1);
                use(f, i2, k2, -1);
                use(f, i2, k1, 1);
                use(f, i1, k2, 1);
                f->x[s1] = i2;
                f->x[s2] = i1;
            }
            cs += dc;
            ts -= dt;
            done++;
        }
        if (done == 0) continue;
        if (mu > 0) {
            fcost lp = *lsc;
            lp.cc = mu;
            local_search(f, &lp);
        }
        local_search(f, lsc);
        double c2, t2, q = inner_cost(f, lsc, f->x, &c2, &t2);
        if (compat_ok(f, c2) && (!use_t || t2 <= a->time_cap + SW_ASG_CAP_TOL * (1 + a->time_cap)) &&
            q < bq - 1e-9 * (1 + fabs(bq))) {
            bq = q;
            c = c2;
            t = t2;
            memcpy(bestx, f->x, (size_t)mr * sizeof(int32_t));
            kept++;
            since = 0;
        }
    }
    memcpy(f->x, bestx, (size_t)mr * sizeof(int32_t));
    sw_log_debug("assign: perturbation: %d rounds, %d kept, work %.2fx the solve's", it, kept,
                 (double)(f->work - w0) / (double)(w0 ? w0 : 1));
    sw_free(bestx);
}

/* Large instances skip the presolve up front (solve_view): at the first
 * failure of the fast method it runs once; true when it proved the problem
 * infeasible (the reason in f->pre_reason). */
static bool late_presolve_infeasible(fctx *f)
{
    if (f->a->presolve_late && !f->pre_done) {
        f->pre_done = true;
        f->pre_infeasible = sw_asg_presolve_infeasible(f->a, f->pre_reason, sizeof(f->pre_reason));
    }
    return f->pre_infeasible;
}

/*
 * Minimises ce*E + ct*T subject to capacity, p_min and the per-SLM load cap
 * f->zcap: greedy, then a search on the p_min multiplier mu when greedy
 * falls short, then local search on the best with cost ls (NULL: the same
 * cost). Result in out ([m*r]); *lb is a Lagrangian lower bound of the inner
 * objective (-inf if none).
 */
static bool solve_mu(fctx *f, double ce, double ct, const fcost *ls, int32_t *out, double *out_q,
                     double *lb)
{
    const double pmin = f->a->p->p_min;
    size_t mr = (size_t)f->m * f->r;
    if (f->pre_infeasible) return false;
    fcost w = {ce, ct, 0, 0, 0, NULL};
    double lagr, c, t, q;
    bool have = false, have_complete = false;
    double best_q = INFINITY, best_mu = 0;
    *lb = -INFINITY;
    /* when the capacities do not let greedy place everything, charge capacity
     * use (c_ik / B_i) more and more: the packing view of MTHG */
    double cs0 = 0;
    for (int32_t i = 0; i < f->n; i++) {
        double e = f->a->p->E ? f->a->p->E[i] : 1, tt = f->a->p->T ? f->a->p->T[i] : 1;
        cs0 = fmax(cs0, fabs(ce) * e + fabs(ct) * tt);
    }
    if (cs0 <= 0) cs0 = 1;
    static const double cw_levels[] = {0, 0.5, 2, 8, 64, 1e4};
    bool ok = false, sampled = false, use_lam = false;
    if (!f->a->makespan && (double)f->n * f->m > 2e6) {
        /* large: multipliers from a sample, then a few greedy runs raising mu */
        double mu_s = 0, tsm = sw_now_ms();
        bool sm = sample_multipliers(f, &w, &mu_s);
        sw_log_debug("assign: sample: %.1f ms, mu %g", sw_now_ms() - tsm, mu_s);
        if (sm) {
            fcost ws = w;
            ws.lam = f->best_lam;
            ws.mu = mu_s;
            bool gok = greedy(f, &ws, &lagr);
            if (!isnan(lagr) && lagr + ws.mu * pmin > *lb) *lb = lagr + ws.mu * pmin;
            if (!gok && late_presolve_infeasible(f)) return false;
            if (gok && pmin > 0) {
                /* short of p_min: the cheapest shifts that buy compatibility,
                 * then (when these do not cover it) greedy runs with a
                 * slightly higher mu */
                inner_cost(f, &w, f->x, &c, &t);
                double tb = sw_now_ms();
                if (!compat_ok(f, c) && buy_repair(f, &w, c)) {
                    inner_cost(f, &w, f->x, &c, &t);
                    sw_log_debug("assign: p_min bought: C %g of %g, %.1f ms", c, pmin, sw_now_ms() - tb);
                }
                if (!compat_ok(f, c) && late_presolve_infeasible(f)) return false;
                for (int tries = 0; tries < 3 && gok && !compat_ok(f, c); tries++) {
                    /* re-priced lists instead of a pass each (no bound from these) */
                    double mu0 = ws.mu;
                    ws.mu = ws.mu > 0 ? ws.mu * 1.15 : 0.05 * cs0 / fmax(1e-9, pmin / fmax(1, (double)f->m));
                    relist(f, mu0, ws.mu);
                    gok = greedy_place(f, &ws);
                    inner_cost(f, &w, f->x, &c, &t);
                    sw_log_debug("assign: p_min retry %d: mu %g, C %g of %g", tries, ws.mu, c, pmin);
                }
            }
            if (gok) {
                q = inner_cost(f, &w, f->x, &c, &t);
                if (!compat_ok(f, c)) {
                    /* short of p_min: buy compatibility by local search priced
                     * with a raised multiplier instead of more greedy passes */
                    f->ls_scale = 3.0;
                    for (int tries = 0; tries < 6 && !compat_ok(f, c); tries++) {
                        fcost lp = w;
                        lp.cc = (mu_s > 0 ? mu_s : cs0) * (1.5 + tries);
                        local_search(f, &lp);
                        q = inner_cost(f, &w, f->x, &c, &t);
                        sw_log_debug("assign: p_min repair %d: C %g of %g", tries, c, pmin);
                    }
                    f->ls_scale = 1.0;
                }
                if (compat_ok(f, c)) {
                    memcpy(out, f->x, mr * sizeof(int32_t));
                    best_q = q;
                    best_mu = ws.mu;
                    have = sampled = use_lam = ok = true;
                }
            }
        }
    }
    if (!ok && late_presolve_infeasible(f)) return false;
    for (size_t lv = 0; lv < sizeof(cw_levels) / sizeof(cw_levels[0]) && !ok; lv++) {
        w.cw = cw_levels[lv] * cs0;
        ok = greedy(f, &w, &lagr);
        if (!isnan(lagr) && lagr > *lb) *lb = lagr;
    }
    if (ok && !sampled) {
        q = inner_cost(f, &w, f->x, &c, &t);
        memcpy(out, f->x, mr * sizeof(int32_t));
        have_complete = true;
        if (compat_ok(f, c)) {
            best_q = q;
            have = true;
        }
    }
    /* Lagrangian relaxation of capacity and p_min (see subgrad) */
    int iters = sampled ? 0 : (int)fmin((double)f->iters_cap, 3e7 / ((double)f->n * f->m + 1));
    if (iters >= 3) subgrad(f, &w, iters, 10, ls == NULL, out, &best_q, &best_mu, &have, &use_lam, lb, NULL);
    if (!have && pmin > 0) {
        /* scale of mu: cost per unit of compatibility */
        double qs = 0, cs = 0;
        for (int32_t k = 0; k < f->m; k++) {
            if (f->cn[k] == 0) continue;
            int32_t i = f->ci[(size_t)k * f->L];
            qs += fabs(qcost(f, &w, i, k));
            cs += sw_asg_C(f->a, i, k);
        }
        double mu_lo = 0, mu_hi = cs > 0 ? (qs > 0 ? qs / cs : 1.0) : 1.0;
        bool found = false;
        int max_doublings = (size_t)f->n * f->m > 2000000 ? 12 : 60;
        for (int it = 0; it < max_doublings && !found; it++) {
            w.mu = mu_hi;
            ok = greedy(f, &w, &lagr);
            if (!isnan(lagr) && lagr + mu_hi * pmin > *lb) *lb = lagr + mu_hi * pmin;
            if (ok) {
                q = inner_cost(f, &w, f->x, &c, &t);
                memcpy(out, f->x, mr * sizeof(int32_t));
                have_complete = true;
                if (compat_ok(f, c)) {
                    found = true;
                    best_q = q;
                    best_mu = mu_hi;
                    have = true;
                    break;
                }
            }
            mu_lo = mu_hi;
            mu_hi *= 2;
        }
        int steps = (size_t)f->n * f->m > 2000000 ? 4 : 14;
        for (int it = 0; found && it < steps; it++) {
            w.mu = 0.5 * (mu_lo + mu_hi);
            ok = greedy(f, &w, &lagr);
            if (!isnan(lagr) && lagr + w.mu * pmin > *lb) *lb = lagr + w.mu * pmin;
            bool good = false;
            if (ok) {
                q = inner_cost(f, &w, f->x, &c, &t);
                good = compat_ok(f, c);
                if (good && q < best_q) {
                    memcpy(out, f->x, mr * sizeof(int32_t));
                    best_q = q;
                    best_mu = w.mu;
                }
            }
            if (good) mu_hi = w.mu;
            else mu_lo = w.mu;
        }
    }
    if (!have && have_complete && pmin > 0) {
        /* repair: maximise compatibility under the capacities by local search
         * from the last complete assignment, on candidate lists ranked by C */
        fcost wc = {0, 0, 1, w.cw, 0, NULL};
        pass(f, &wc, NULL, 0, false);
        memcpy(f->x, out, mr * sizeof(int32_t));
        fcost lc = {0, 0, 0, 0, 1, NULL};
        local_search(f, &lc);
        inner_cost(f, &w, f->x, &c, &t);
        if (compat_ok(f, c)) {
            memcpy(out, f->x, mr * sizeof(int32_t));
            have = true;
            best_mu = -1; /* candidate lists below: by cost, plus C-ranked ones */
        }
    }
    if (!have) return false;
    /* local search from the best, on candidate lists of its multiplier */
    w.mu = best_mu >= 0 ? best_mu : 0;
    if (use_lam) w.lam = f->best_lam;
    /* the sampled path's greedy left lists for exactly these multipliers */
    if (!sampled) pass(f, &w, NULL, 0, false);
    w.lam = NULL;
    memcpy(f->x, out, mr * sizeof(int32_t));
    w.mu = 0;
    w.cw = 0;
    /* local search never breaks a satisfied constraint, so its result stands */
    const fcost *lsc = ls ? ls : &w;
    sw_log_debug("assign: best from %s, mu %g, q %g", use_lam ? "subgradient" : "greedy/mu-search", best_mu,
                 best_q);
    double tls = sw_now_ms();
    /* sampled (large) instances: a quarter of the budget. Its evaluations are
     * cache misses (~20 ns each: 1e6 cost ~20 ms) and on the bench families
     * the full budget found nothing (per-SLM costs: swaps are neutral, the
     * listed SLMs full; p_min binding blocks shifts) */
    if (sampled) f->ls_scale = 0.25;
    local_search(f, lsc);
    f->ls_scale = 1.0;
    sw_log_debug("assign: ls: %.1f ms, cost %g -> %g", sw_now_ms() - tls, inner_cost(f, lsc, out, &c, &t),
                 inner_cost(f, lsc, f->x, &c, &t));
    double q1 = inner_cost(f, lsc, f->x, &c, &t);
    if (pmin > 0 && best_mu > 0 && !sampled) {
        /* with p_min binding, single moves that lose compatibility are blocked;
         * a pass priced with the multiplier (cost - mu*C) trades compatibility
         * between subtasks first, then the plain pass finishes */
        int32_t *alt = f->alt;
        memcpy(alt, f->x, mr * sizeof(int32_t));
        memcpy(f->x, out, mr * sizeof(int32_t));
        fcost lp = *lsc;
        lp.cc = best_mu;
        local_search(f, &lp);
        local_search(f, lsc);
        double q2 = inner_cost(f, lsc, f->x, &c, &t);
        if (!(q2 < q1 && compat_ok(f, c))) memcpy(f->x, alt, mr * sizeof(int32_t));
        else q1 = q2;
    }
    if (use_lam && !sampled) {
        /* priced with the capacity multipliers too (cost + lambda_i c_ik - mu C):
         * packs subtasks where they use little capacity, then the plain pass */
        memcpy(f->alt, f->x, mr * sizeof(int32_t));
        memcpy(f->x, out, mr * sizeof(int32_t));
        fcost lp = *lsc;
        lp.cc = best_mu;
        lp.lam = f->best_lam;
        local_search(f, &lp);
        local_search(f, lsc);
        double q3 = inner_cost(f, lsc, f->x, &c, &t);
        if (!(q3 < q1 && compat_ok(f, c))) memcpy(f->x, f->alt, mr * sizeof(int32_t));
    }
    if (!sampled && (double)f->n * f->m <= SW_ASSIGN_AUTO_EXACT_PAIRS)
        perturb_search(f, lsc, pmin > 0 && best_mu > 0 ? best_mu : 0);
    memcpy(out, f->x, mr * sizeof(int32_t));
    *out_q = inner_cost(f, &w, f->x, &c, &t);
    return true;
}

static void keep_if_better(fctx *f, const int32_t *x)
{
    double e, t, c;
    bool feas;
    sw_asg_eval(f->a, x, &e, &t, &c, &feas);
    if (!feas) return;
    double obj = sw_asg_objective(f->a, e, t);
    if (!f->have_best || obj < f->best_obj) {
        memcpy(f->best, x, (size_t)f->m * f->r * sizeof(int32_t));
        f->best_obj = obj;
        f->have_best = true;
    }
}

/* min we*E + wt*T (summed time), optionally s.t. T <= time_cap via a search
 * on the time multiplier nu. */
static void drive_sum(fctx *f, int32_t *tmp)
{
    const sw_asg *a = f->a;
    double q, lb;
    if (!a->has_time_cap) {
        if (solve_mu(f, a->we, a->wt, NULL, tmp, &q, &lb)) keep_if_better(f, tmp);
        f->lb = lb;
        return;
    }
    double cap = a->time_cap;
    fcost lsw = {a->we, a->wt, 0, 0, 0, NULL}; /* local search: the true cost, the cap as a constraint */
    /* energy-only first; raise nu until the time cap holds */
    double nu_lo = 0, nu_hi = 0;
    bool found = false;
    f->lb = -INFINITY;
    double es = 0, ts = 0;
    for (int32_t i = 0; i < f->n; i++) {
        es += a->p->E ? a->p->E[i] : 1;
        ts += a->p->T ? a->p->T[i] : 1;
    }
    double nu0 = ts > 0 ? (es > 0 ? es / ts : 1.0) : 1.0;
    for (int it = 0; it < 60; it++) {
        double nu = it == 0 ? 0 : (it == 1 ? nu0 : nu_hi * 2);
        if (solve_mu(f, a->we, nu, &lsw, tmp, &q, &lb)) {
            if (lb - nu * cap > f->lb) f->lb = lb - nu * cap;
            double c, t;
            fcost w = {a->we, 0, 0, 0, 0, NULL};
            inner_cost(f, &w, tmp, &c, &t);
            keep_if_better(f, tmp);
            if (t <= cap + SW_ASG_CAP_TOL * (1 + cap)) {
                nu_hi = nu;
                found = true;
                break;
            }
        }
        nu_lo = nu;
        nu_hi = nu == 0 ? nu0 / 2 : nu;
    }
    int steps = (size_t)f->n * f->m > 2000000 ? 5 : 10;
    for (int it = 0; found && it < steps && nu_hi > 0; it++) {
        double nu = 0.5 * (nu_lo + nu_hi);
        bool good = false;
        if (solve_mu(f, a->we, nu, &lsw, tmp, &q, &lb)) {
            if (lb - nu * cap > f->lb) f->lb = lb - nu * cap;
            double c, t;
            fcost w = {a->we, 0, 0, 0, 0, NULL};
            inner_cost(f, &w, tmp, &c, &t);
            keep_if_better(f, tmp);
            good = t <= cap + SW_ASG_CAP_TOL * (1 + cap);
        }
        if (good) nu_hi = nu;
        else nu_lo = nu;
    }
    if (!found) {
        /* last resort: least time (local search on time), then energy within the cap */
        fcost lt = {0, 1, 0, 0, 0, NULL};
        if (solve_mu(f, 0, 1, &lt, tmp, &q, &lb)) {
            fcost we = {a->we, 0, 0, 0, 0, NULL};
            pass(f, &we, NULL, 0, false);
            memcpy(f->x, tmp, (size_t)f->m * f->r * sizeof(int32_t));
            local_search(f, &lsw);
            keep_if_better(f, f->x);
        }
    }
}

/* Makespan: a per-SLM load cap Z turns it into capacities; scan Z between a
 * lower bound and the uncapped solution's makespan. */
static void drive_makespan(fctx *f, int32_t *tmp)
{
    const sw_asg *a = f->a;
    double q, lb;
    f->lb = -INFINITY;
    double ce = a->we, ct = a->we > 0 ? 1e-3 * a->wt : 1.0;
    if (a->has_time_cap) {
        f->zcap = a->time_cap;
        if (solve_mu(f, a->we, 0, NULL, tmp, &q, &lb)) keep_if_better(f, tmp);
        return;
    }
    f->zcap = INFINITY;
    if (!solve_mu(f, ce, ct, NULL, tmp, &q, &lb)) return;
    keep_if_better(f, tmp);
    double e0, zhi, c0;
    bool feas;
    sw_asg_eval(a, tmp, &e0, &zhi, &c0, &feas);
    /* lower bound of the makespan: least total time over the SLMs, and the
     * slowest subtask's r-th fastest SLM */
    fcost wt = {0, 1, 0, 0, 0, NULL};
    double tmin = pass(f, &wt, NULL, 0, false);
    int32_t n_avail = 0;
    for (int32_t i = 0; i < f->n; i++)
        if (!a->p->available || a->p->available[i]) n_avail++;
    double zlo = isnan(tmin) ? 0 : tmin / (n_avail > 0 ? n_avail : 1);
    for (int32_t k = 0; k < f->m; k++)
        if (f->cn[k] >= f->r && f->cq[(size_t)k * f->L + f->r - 1] > zlo)
            zlo = f->cq[(size_t)k * f->L + f->r - 1];
    if (zlo >= zhi) return;
    /* smallest feasible cap by bisection, then a grid above it; each of these
     * ~16 solves gets a shorter subgradient */
    f->iters_cap = 30;
    double lo = zlo, hi = zhi;
    int steps = (size_t)f->n * f->m > 2000000 ? 4 : 8;
    for (int it = 0; it < steps; it++) {
        f->zcap = 0.5 * (lo + hi);
        if (solve_mu(f, ce, ct, NULL, tmp, &q, &lb)) {
            keep_if_better(f, tmp);
            hi = f->zcap;
        } else {
            lo = f->zcap;
        }
    }
    for (int g = 1; g <= steps; g++) {
        f->zcap = hi + (zhi - hi) * g / (steps + 1);
        if (solve_mu(f, ce, ct, NULL, tmp, &q, &lb)) keep_if_better(f, tmp);
    }
    f->zcap = INFINITY;
    f->iters_cap = 150;
}

static void fctx_fini(fctx *f)
{
    sw_free(f->ci);
    sw_free(f->cq);
    sw_free(f->cC);
    sw_free(f->cn);
    sw_free(f->x);
    sw_free(f->best);
    sw_free(f->alt);
    sw_free(f->resc);
    sw_free(f->resz);
    sw_free(f->order);
    sw_free(f->defer);
    sw_free(f->regret);
    sw_free(f->head);
    sw_free(f->nxt);
    sw_free(f->prv);
    sw_free(f->lam);
    sw_free(f->sorder);
    sw_free(f->sbase);
    sw_free(f->cmin_row);
    sw_free(f->worst);
    sw_free(f->pbuf);
    memset(f, 0, sizeof(*f));
}

static swarm_err fctx_init(fctx *f, const sw_asg *a)
{
    memset(f, 0, sizeof(*f));
    f->a = a;
    f->n = a->n;
    f->m = a->m;
    f->r = a->r;
    f->L = a->r + 7 < a->n ? a->r + 7 : a->n;
    f->zcap = INFINITY;
    f->lb = -INFINITY;
    f->ls_scale = 1.0;
    f->iters_cap = 150;
    f->cap_scale = 1.0;
    size_t m = (size_t)a->m, n = (size_t)a->n, mr = m * (size_t)a->r, mL = m * (size_t)f->L;
    f->ci = sw_malloc(mL * sizeof(int32_t));
    f->cq = sw_malloc(mL * sizeof(double));
    f->cC = sw_malloc(mL * sizeof(double));
    f->cn = sw_malloc(m * sizeof(int32_t));
    f->x = sw_malloc(mr * sizeof(int32_t));
    f->best = sw_malloc(mr * sizeof(int32_t));
    f->alt = sw_malloc(mr * sizeof(int32_t));
    f->resc = sw_malloc(n * sizeof(double));
    f->resz = sw_malloc(n * sizeof(double));
    f->order = sw_malloc(m * sizeof(int32_t));
    f->defer = sw_malloc(m * sizeof(int32_t));
    f->regret = sw_malloc(m * sizeof(double));
    f->head = sw_malloc(n * sizeof(int32_t));
    f->nxt = sw_malloc(mr * sizeof(int32_t));
    f->prv = sw_malloc(mr * sizeof(int32_t));
    f->lam = sw_malloc(n * 3 * sizeof(double));
    f->glam = f->lam ? f->lam + n : NULL;
    f->best_lam = f->lam ? f->lam + 2 * n : NULL;
    if (mr <= 100000 && (double)n * m <= 2e6) { /* large ones: the time budget wins */
        f->pbuf_cap = (int32_t)(2 * mr);
        f->pbuf = sw_malloc((size_t)f->pbuf_cap * sizeof(*f->pbuf));
        if (f->pbuf == NULL) f->pbuf_cap = 0;
    }
    f->sorder = sw_malloc(n * sizeof(int32_t));
    f->sbase = sw_malloc(n * sizeof(double));
    f->cmin_row = sw_calloc(n, sizeof(double)); /* 0: nothing known, never dropped */
    f->worst = sw_malloc(m * sizeof(double));
    for (size_t i = 0; f->cmin_row && a->p->c == NULL && i < n; i++) f->cmin_row[i] = 1.0;
    if (!f->sorder || !f->sbase || !f->cmin_row || !f->worst || !f->ci || !f->cq || !f->cC || !f->cn || !f->x || !f->best || !f->alt || !f->resc || !f->resz ||
        !f->order || !f->defer || !f->regret || !f->head || !f->nxt || !f->prv || !f->lam) {
        fctx_fini(f);
        return SWARM_ENOMEM;
    }
    return SWARM_OK;
}

swarm_err sw_asg_fast(const sw_asg *a, swarm_assign_result *res)
{
    size_t mr = (size_t)a->m * (size_t)a->r;
    res->method = "greedy+local";
    if (a->m == 0) {
        res->status = SWARM_ASSIGN_OPTIMAL;
        res->bound = 0;
        return SWARM_OK;
    }
    fctx f;
    swarm_err rc = fctx_init(&f, a);
    if (rc != SWARM_OK) return rc;
    int32_t *tmp = sw_malloc(mr * sizeof(int32_t));
    if (tmp == NULL) {
        fctx_fini(&f);
        return SWARM_ENOMEM;
    }
    if (a->makespan) drive_makespan(&f, tmp);
    else drive_sum(&f, tmp);
    sw_log_debug("assign: fast: %.1f full-pass equivalents", (double)f.work / ((double)f.n * f.m));
    if (f.pre_infeasible) {
        res->status = SWARM_ASSIGN_INFEASIBLE;
        res->method = "presolve";
        res->bound = INFINITY;
        snprintf(res->reason, sizeof(res->reason), "%s", f.pre_reason);
    } else if (f.have_best) {
        memcpy(res->assign, f.best, mr * sizeof(int32_t));
        res->status = SWARM_ASSIGN_FEASIBLE;
        /* the Lagrangian bound is for the sum objective; none for makespan */
        res->bound = a->makespan ? -INFINITY : f.lb;
    } else {
        res->status = SWARM_ASSIGN_INFEASIBLE;
        res->bound = -INFINITY;
        snprintf(res->reason, sizeof(res->reason),
                 "the fast method found no feasible assignment (not proven infeasible; try "
                 "--method exact)");
    }
    sw_free(tmp);
    fctx_fini(&f);
    return SWARM_OK;
}
