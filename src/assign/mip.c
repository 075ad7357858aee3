/*
 * mip.c: the exact method: the assignment problem as a mixed-integer program
 * (one binary per eligible SLM/subtask pair, a continuous makespan variable
 * when asked), solved by COIN-OR CBC when built with it, else GLPK; and its
 * LP relaxation, the lower bound the benchmark compares the fast method to.
 */
#include <float.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "assign_int.h"

#ifdef SWARM_HAVE_CBC
#include <Cbc_C_Interface.h>
#include <Clp_C_Interface.h>
#endif
#ifdef SWARM_HAVE_GLPK
#include <glpk.h>
#endif

#if defined(SWARM_HAVE_CBC) || defined(SWARM_HAVE_GLPK)
/* The model in compressed sparse columns, with row bounds (+-DBL_MAX = none). */
typedef struct model {
    int ncols, nrows, nx; /* nx binary columns first, then z (makespan) if any */
    int *start;           /* [ncols+1] */
    int *index;           /* [nnz] row of each entry */
    double *value;        /* [nnz] */
    double *obj, *colub;  /* [ncols] */
    double *rowlb, *rowub;
    int32_t *col_i, *col_k; /* [nx] pair of each binary column */
    bool has_z;
} model;

static void model_free(model *md)
{
    sw_free(md->start);
    sw_free(md->index);
    sw_free(md->value);
    sw_free(md->obj);
    sw_free(md->colub);
    sw_free(md->rowlb);
    sw_free(md->rowub);
    sw_free(md->col_i);
    sw_free(md->col_k);
    memset(md, 0, sizeof(*md));
}

static int cmp_int32(const void *x, const void *y)
{
    int32_t a = *(const int32_t *)x, b = *(const int32_t *)y;
    return a < b ? -1 : a > b;
}

static int32_t zone_id(const int32_t *uz, int32_t nz, int32_t z)
{
    int32_t lo = 0, hi = nz - 1;
    while (lo < hi) {
        int32_t mid = (lo + hi) / 2;
        if (uz[mid] < z) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

static swarm_err model_build(const sw_asg *a, model *md)
{
    const swarm_assign_problem *p = a->p;
    int32_t n = a->n, m = a->m, r = a->r;
    memset(md, 0, sizeof(*md));
    swarm_err rc = SWARM_ENOMEM;
    bool zones = sw_asg_zones_on(a);
    int32_t *uz = NULL, nz = 0, *zrow = NULL, *caprow = NULL, *trow = NULL;
    double *capsum = NULL, *tsum = NULL;
    /* eligible pairs */
    int nx = 0;
    for (int32_t i = 0; i < n; i++)
        for (int32_t k = 0; k < m; k++)
            if (sw_asg_eligible(a, i, k)) nx++;
    bool makespan_obj = a->makespan && !a->has_time_cap && a->wt > 0;
    bool makespan_cap = a->makespan && a->has_time_cap;
    md->nx = nx;
    md->has_z = makespan_obj;
    md->ncols = nx + (makespan_obj ? 1 : 0);
    md->col_i = sw_malloc(((size_t)nx + 1) * sizeof(int32_t));
    md->col_k = sw_malloc(((size_t)nx + 1) * sizeof(int32_t));
    capsum = sw_calloc((size_t)n, sizeof(double));
    tsum = sw_calloc((size_t)n, sizeof(double));
    caprow = sw_malloc((size_t)n * sizeof(int32_t));
    trow = sw_malloc((size_t)n * sizeof(int32_t));
    if (!md->col_i || !md->col_k || !capsum || !tsum || !caprow || !trow) goto fail;
    int c = 0;
    for (int32_t i = 0; i < n; i++)
        for (int32_t k = 0; k < m; k++)
            if (sw_asg_eligible(a, i, k)) {
                md->col_i[c] = i;
                md->col_k[c] = k;
                capsum[i] += sw_asg_cu(a, i, k);
                tsum[i] += sw_asg_T(a, i, k);
                c++;
            }
    /* rows: m assignment rows, then the ones that can bind */
    int nr = m;
    for (int32_t i = 0; i < n; i++) caprow[i] = capsum[i] > p->B[i] + 1e-9 ? nr++ : -1;
    int row_c = p->p_min > 0 ? nr++ : -1;
    int row_t = a->has_time_cap && !a->makespan ? nr++ : -1;
    int row_e = a->has_energy_cap ? nr++ : -1;
    for (int32_t i = 0; i < n; i++)
        trow[i] = (makespan_obj && tsum[i] > 0) || (makespan_cap && tsum[i] > a->time_cap) ? nr++ : -1;
    if (zones) {
        uz = sw_malloc((size_t)n * sizeof(int32_t));
        if (!uz) goto fail;
        memcpy(uz, p->zone, (size_t)n * sizeof(int32_t));
        qsort(uz, (size_t)n, sizeof(int32_t), cmp_int32);
        for (int32_t i = 0; i < n; i++)
            if (i == 0 || uz[i] != uz[nz - 1]) uz[nz++] = uz[i];
        size_t mz = (size_t)m * (size_t)nz;
        zrow = sw_calloc(mz ? mz : 1, sizeof(int32_t)); /* counts, then row ids */
        if (!zrow) goto fail;
        for (int j = 0; j < nx; j++)
            zrow[(size_t)md->col_k[j] * nz + zone_id(uz, nz, p->zone[md->col_i[j]])]++;
        for (size_t t = 0; t < mz; t++) zrow[t] = zrow[t] >= 2 ? nr++ : -1;
    }
    md->nrows = nr;
    size_t per = 1 + 1 + (row_c >= 0) + (row_t >= 0) + (row_e >= 0) + 1 + (zones ? 1 : 0);
    size_t cap_nnz = (size_t)nx * per + (size_t)n + 1;
    md->start = sw_malloc(((size_t)md->ncols + 1) * sizeof(int));
    md->index = sw_malloc(cap_nnz * sizeof(int));
    md->value = sw_malloc(cap_nnz * sizeof(double));
    md->obj = sw_malloc(((size_t)md->ncols + 1) * sizeof(double));
    md->colub = sw_malloc(((size_t)md->ncols + 1) * sizeof(double));
    md->rowlb = sw_malloc(((size_t)nr + 1) * sizeof(double));
    md->rowub = sw_malloc(((size_t)nr + 1) * sizeof(double));
    if (!md->start || !md->index || !md->value || !md->obj || !md->colub || !md->rowlb || !md->rowub)
        goto fail;
    size_t e = 0;
    for (int j = 0; j < nx; j++) {
        int32_t i = md->col_i[j], k = md->col_k[j];
        double T = sw_asg_T(a, i, k);
        md->start[j] = (int)e;
        md->index[e] = k;
        md->value[e++] = 1;
        if (caprow[i] >= 0) {
            md->index[e] = caprow[i];
            md->value[e++] = sw_asg_cu(a, i, k);
        }
        if (row_c >= 0) {
            md->index[e] = row_c;
            md->value[e++] = sw_asg_C(a, i, k);
        }
        if (row_t >= 0) {
            md->index[e] = row_t;
            md->value[e++] = T;
        }
        if (row_e >= 0) {
            md->index[e] = row_e;
            md->value[e++] = sw_asg_E(a, i, k);
        }
        if (trow[i] >= 0) {
            md->index[e] = trow[i];
            md->value[e++] = T;
        }
        if (zones) {
            int32_t zr = zrow[(size_t)k * nz + zone_id(uz, nz, p->zone[i])];
            if (zr >= 0) {
                md->index[e] = zr;
                md->value[e++] = 1;
            }
        }
        md->obj[j] = a->we * sw_asg_E(a, i, k) + (a->makespan ? 0 : a->wt * T);
        md->colub[j] = 1;
    }
    if (makespan_obj) {
        md->start[nx] = (int)e;
        for (int32_t i = 0; i < n; i++)
            if (trow[i] >= 0) {
                md->index[e] = trow[i];
                md->value[e++] = -1;
            }
        md->obj[nx] = a->wt;
        md->colub[nx] = DBL_MAX;
    }
    md->start[md->ncols] = (int)e;
    for (int32_t k = 0; k < m; k++) md->rowlb[k] = md->rowub[k] = r;
    for (int32_t i = 0; i < n; i++)
        if (caprow[i] >= 0) {
            md->rowlb[caprow[i]] = -DBL_MAX;
            md->rowub[caprow[i]] = p->B[i];
        }
    if (row_c >= 0) {
        md->rowlb[row_c] = p->p_min;
        md->rowub[row_c] = DBL_MAX;
    }
    if (row_t >= 0) {
        md->rowlb[row_t] = -DBL_MAX;
        md->rowub[row_t] = a->time_cap;
    }
    if (row_e >= 0) {
        md->rowlb[row_e] = -DBL_MAX;
        md->rowub[row_e] = a->energy_cap;
    }
    for (int32_t i = 0; i < n; i++)
        if (trow[i] >= 0) {
            md->rowlb[trow[i]] = -DBL_MAX;
            md->rowub[trow[i]] = makespan_obj ? 0 : a->time_cap;
        }
    for (size_t t = 0; zones && t < (size_t)m * nz; t++)
        if (zrow[t] >= 0) {
            md->rowlb[zrow[t]] = -DBL_MAX;
            md->rowub[zrow[t]] = 1;
        }
    rc = SWARM_OK;
fail:
    sw_free(uz);
    sw_free(zrow);
    sw_free(caprow);
    sw_free(trow);
    sw_free(capsum);
    sw_free(tsum);
    if (rc != SWARM_OK) model_free(md);
    return rc;
}

/* Reads an assignment from column values; false if a subtask lacks r picks. */
static bool model_extract(const sw_asg *a, const model *md, const double *xv, int32_t *out)
{
    int32_t r = a->r;
    int32_t *fill = sw_calloc((size_t)a->m + 1, sizeof(int32_t));
    if (fill == NULL) return false;
    bool ok = true;
    for (int j = 0; j < md->nx; j++) {
        if (xv[j] < 0.5) continue;
        int32_t k = md->col_k[j];
        if (fill[k] >= r) {
            ok = false;
            break;
        }
        out[(size_t)k * r + fill[k]++] = md->col_i[j];
    }
    for (int32_t k = 0; ok && k < a->m; k++)
        if (fill[k] != r) ok = false;
    sw_free(fill);
    return ok;
}

#endif

#ifdef SWARM_HAVE_CBC

static swarm_err cbc_solve(const sw_asg *a, const model *md, double tl, const int32_t *warm,
                           swarm_assign_result *res)
{
    double *collb = sw_calloc((size_t)md->ncols + 1, sizeof(double));
    if (collb == NULL) return SWARM_ENOMEM;
    Cbc_Model *cm = Cbc_newModel();
    Cbc_loadProblem(cm, md->ncols, md->nrows, md->start, md->index, md->value, collb, md->colub,
                    md->obj, md->rowlb, md->rowub);
    for (int j = 0; j < md->nx; j++) Cbc_setInteger(cm, j);
    /* Quiet through CBC's own settings (the solve also runs in a child
     * whose stdout is /dev/null, see below; the caller's stdout is never
     * redirected: assign_stdout_test). Log levels 0 silence the message
     * handlers; the idiot crash prints with printf whatever the log level
     * and is turned off. (The LP relaxation, whose automatic method printed
     * too, is solved by clp_relax below.) */
    Cbc_setLogLevel(cm, 0);
    Cbc_setParameter(cm, "log", "0");
    Cbc_setParameter(cm, "slog", "0");
    Cbc_setParameter(cm, "idiot", "0");
    Cbc_setParameter(cm, "timeMode", "elapsed"); /* the limit is wall time, not CPU time */
    Cbc_setMaximumSeconds(cm, tl);
    Cbc_setAllowableFractionGap(cm, 1e-7);
    Cbc_setAllowableGap(cm, 1e-9);
    /* The warm start goes in as a cutoff (objective of the heuristic's
     * solution plus a hair): CBC 2.10's C MIP-start path looks columns up by
     * name and fails on unnamed models ("Illegal index ... getColumnName"),
     * and a failed start made it stop early. With the cutoff, "no solution"
     * means none better than the warm start, which the caller keeps. */
    double cutoff = INFINITY;
    if (warm) {
        double e, tt, cc;
        bool f;
        sw_asg_eval(a, warm, &e, &tt, &cc, &f);
        if (f) {
            cutoff = sw_asg_objective(a, e, tt);
            Cbc_setCutoff(cm, cutoff + 1e-7 * (1 + fabs(cutoff)));
        }
    }
    Cbc_solve(cm); /* its outcome is read from the model below */
    const double *sol = Cbc_bestSolution(cm);
    res->method = "cbc";
    if (Cbc_isProvenInfeasible(cm) && sol == NULL) {
        res->status = SWARM_ASSIGN_INFEASIBLE;
        res->bound = INFINITY;
    } else {
        res->bound = Cbc_getBestPossibleObjValue(cm);
        if (sol != NULL && model_extract(a, md, sol, res->assign)) {
            res->status = Cbc_isProvenOptimal(cm) ? SWARM_ASSIGN_OPTIMAL : SWARM_ASSIGN_FEASIBLE;
            if (res->status == SWARM_ASSIGN_OPTIMAL) res->bound = Cbc_getObjValue(cm);
        } else {
            res->status = SWARM_ASSIGN_INFEASIBLE; /* no incumbent within the limit */
        }
    }
    Cbc_deleteModel(cm);
    sw_free(collb);
    return SWARM_OK;
}

/* The LP relaxation with Clp itself: Cbc_solve on a model without integer
 * columns runs Clp's automatic method, which picks the sprint ("sifting")
 * crash for LPs as long and thin as ours (n x m columns, n + m rows) and
 * whose emergency mode prints "row inf" / "column inf" with printf whatever
 * the log level (seen at 200 x 1000). The dual simplex called directly has
 * no such path; log level 0 silences the rest. */
static swarm_err clp_relax(const model *md, double tl, double *lp_bound)
{
    double *collb = sw_calloc((size_t)md->ncols + 1, sizeof(double));
    if (collb == NULL) return SWARM_ENOMEM;
    Clp_Simplex *lp = Clp_newModel();
    Clp_setLogLevel(lp, 0);
    Clp_loadProblem(lp, md->ncols, md->nrows, md->start, md->index, md->value, collb, md->colub,
                    md->obj, md->rowlb, md->rowub);
    Clp_setMaximumSeconds(lp, tl);
    Clp_dual(lp, 0); /* its status is read below */
    swarm_err rc = SWARM_OK;
    if (Clp_isProvenPrimalInfeasible(lp))
        *lp_bound = INFINITY;
    else if (Clp_isProvenOptimal(lp) || Clp_dualFeasible(lp))
        *lp_bound = Clp_objectiveValue(lp); /* dual simplex: a dual-feasible basis bounds it */
    else
        rc = SWARM_ETIMEDOUT; /* no proven bound within the limit */
    Clp_deleteModel(lp);
    sw_free(collb);
    return rc;
}
#endif

#ifdef SWARM_HAVE_GLPK
typedef struct glpk_cb {
    const double *warm; /* 1-based column values, or NULL */
    bool warm_given;
    double bound;
} glpk_cb;

static void glpk_callback(glp_tree *tree, void *info)
{
    glpk_cb *cb = info;
    int reason = glp_ios_reason(tree);
    if (reason == GLP_IHEUR && cb->warm && !cb->warm_given) {
        glp_ios_heur_sol(tree, cb->warm);
        cb->warm_given = true;
    }
    int best = glp_ios_best_node(tree);
    if (best != 0) {
        double b = glp_ios_node_bound(tree, best);
        if (b > cb->bound || cb->bound == -INFINITY) cb->bound = b;
    }
}

static swarm_err glpk_solve(const sw_asg *a, const model *md, double tl, const int32_t *warm,
                            bool relax, swarm_assign_result *res, double *lp_bound)
{
    size_t nnz = (size_t)md->start[md->ncols];
    int *ia = sw_malloc((nnz + 1) * sizeof(int));
    int *ja = sw_malloc((nnz + 1) * sizeof(int));
    double *ar = sw_malloc((nnz + 1) * sizeof(double));
    double *wv = sw_calloc((size_t)md->ncols + 1, sizeof(double));
    if (!ia || !ja || !ar || !wv) {
        sw_free(ia);
        sw_free(ja);
        sw_free(ar);
        sw_free(wv);
        return SWARM_ENOMEM;
    }
    glp_term_out(GLP_OFF);
    glp_prob *lp = glp_create_prob();
    glp_set_obj_dir(lp, GLP_MIN);
    glp_add_rows(lp, md->nrows);
    for (int q = 0; q < md->nrows; q++) {
        double lo = md->rowlb[q], up = md->rowub[q];
        int type = lo == up ? GLP_FX : (lo == -DBL_MAX ? GLP_UP : GLP_LO);
        glp_set_row_bnds(lp, q + 1, type, lo == -DBL_MAX ? 0 : lo, up == DBL_MAX ? 0 : up);
    }
    glp_add_cols(lp, md->ncols);
    for (int j = 0; j < md->ncols; j++) {
        glp_set_obj_coef(lp, j + 1, md->obj[j]);
        if (j < md->nx) {
            glp_set_col_bnds(lp, j + 1, GLP_DB, 0, 1);
            if (!relax) glp_set_col_kind(lp, j + 1, GLP_BV);
        } else {
            glp_set_col_bnds(lp, j + 1, GLP_LO, 0, 0);
        }
        for (int e = md->start[j]; e < md->start[j + 1]; e++) {
            ia[e + 1] = md->index[e] + 1;
            ja[e + 1] = j + 1;
            ar[e + 1] = md->value[e];
        }
    }
    glp_load_matrix(lp, (int)nnz, ia, ja, ar);
    double t0 = sw_now_ms();
    glp_smcp sp;
    glp_init_smcp(&sp);
    sp.msg_lev = GLP_MSG_OFF;
    sp.presolve = GLP_ON;
    sp.tm_lim = (int)(tl * 1000 > 2e9 ? 2e9 : tl * 1000);
    int src = glp_simplex(lp, &sp);
    bool lp_ok = src == 0 && glp_get_status(lp) == GLP_OPT;
    bool lp_infeasible = src == GLP_ENOPFS || (src == 0 && glp_get_status(lp) == GLP_NOFEAS);
    double lpv = lp_ok ? glp_get_obj_val(lp) : -INFINITY;
    swarm_err rc = SWARM_OK;
    if (relax) {
        *lp_bound = lp_infeasible ? INFINITY : lpv;
        if (!lp_ok && !lp_infeasible) rc = SWARM_ETIMEDOUT;
    } else {
        res->method = "glpk";
        if (lp_infeasible) {
            res->status = SWARM_ASSIGN_INFEASIBLE;
            res->bound = INFINITY;
        } else {
            glpk_cb cb = {NULL, false, lpv};
            if (warm) {
                for (int j = 0; j < md->nx; j++)
                    for (int32_t t = 0; t < a->r; t++)
                        if (warm[(size_t)md->col_k[j] * a->r + t] == md->col_i[j]) wv[j + 1] = 1;
                if (md->has_z) {
                    /* makespan variable: the warm start's largest load */
                    double e, tt, cc;
                    bool f;
                    sw_asg_eval(a, warm, &e, &tt, &cc, &f);
                    wv[md->nx + 1] = tt;
                }
                cb.warm = wv;
            }
            glp_iocp ip;
            glp_init_iocp(&ip);
            ip.msg_lev = GLP_MSG_OFF;
            ip.presolve = lp_ok ? GLP_OFF : GLP_ON;
            ip.cb_func = glpk_callback;
            ip.cb_info = &cb;
            ip.mip_gap = 1e-7;
            double left = tl * 1000 - (sw_now_ms() - t0);
            ip.tm_lim = (int)(left < 1 ? 1 : (left > 2e9 ? 2e9 : left));
            int irc = glp_intopt(lp, &ip);
            int st = glp_mip_status(lp);
            double *xv = sw_malloc(((size_t)md->ncols + 1) * sizeof(double));
            if (xv == NULL) {
                rc = SWARM_ENOMEM;
            } else if (st == GLP_NOFEAS && irc == 0) {
                res->status = SWARM_ASSIGN_INFEASIBLE;
                res->bound = INFINITY;
            } else if (st == GLP_OPT || st == GLP_FEAS) {
                for (int j = 0; j < md->ncols; j++) xv[j] = glp_mip_col_val(lp, j + 1);
                if (model_extract(a, md, xv, res->assign)) {
                    res->status = st == GLP_OPT && irc == 0 ? SWARM_ASSIGN_OPTIMAL : SWARM_ASSIGN_FEASIBLE;
                    res->bound = res->status == SWARM_ASSIGN_OPTIMAL ? glp_mip_obj_val(lp) : cb.bound;
                } else {
                    res->status = SWARM_ASSIGN_INFEASIBLE;
                    res->bound = cb.bound;
                }
            } else {
                res->status = SWARM_ASSIGN_INFEASIBLE; /* nothing within the time limit */
                res->bound = cb.bound;
            }
            sw_free(xv);
        }
    }
    glp_delete_prob(lp);
    sw_free(ia);
    sw_free(ja);
    sw_free(ar);
    sw_free(wv);
    return rc;
}
#endif

/* ---- the solve runs in a child process ----
 * CBC cannot be stopped from outside and overruns its own limit in
 * preprocessing (1000 x 1000 with a 1 s limit took 10 s and 2.4 GB, and
 * minutes on a loaded machine), Clp prints to stdout whatever the log level,
 * and CbcMain keeps process-wide state. In a child with a hard deadline and
 * an address-space budget the time limit holds, memory stays bounded, the
 * caller's stdout is untouched and solves need no lock. */

#if defined(SWARM_HAVE_CBC) || defined(SWARM_HAVE_GLPK)
typedef struct mip_job {
    const sw_asg *a;
    swarm_assign_solver solver;
    double tl;
    const int32_t *warm;
    bool relax;
} mip_job;

/* The child's reply: then m x r int32 assignment entries. */
typedef struct mip_reply {
    int32_t status, has_assign;
    double bound, lp_bound;
} mip_reply;

#define MIP_DEADLINE_SLACK_MS 150.0  /* model build and process start beyond the solver's limit */
#define MIP_MEM_BASE (256u << 20)    /* address space for CBC beyond the caller's own */
#define MIP_MEM_PER_PAIR 512u        /* ... plus this per SLM/subtask pair */

static bool use_glpk(swarm_assign_solver solver)
{
#if defined(SWARM_HAVE_CBC) && defined(SWARM_HAVE_GLPK)
    return solver == SWARM_ASSIGN_SOLVER_GLPK;
#elif defined(SWARM_HAVE_CBC)
    (void)solver;
    return false;
#else
    (void)solver;
    return true;
#endif
}

static swarm_err solve_model(const mip_job *j, const model *md, swarm_assign_result *res,
                             double *lp)
{
#if defined(SWARM_HAVE_GLPK)
    if (use_glpk(j->solver)) return glpk_solve(j->a, md, j->tl, j->warm, j->relax, res, lp);
#endif
#if defined(SWARM_HAVE_CBC)
    return j->relax ? clp_relax(md, j->tl, lp) : cbc_solve(j->a, md, j->tl, j->warm, res);
#else
    return SWARM_EUNSUPPORTED;
#endif
}

static size_t mip_child(void *arg, void *out, size_t cap)
{
    const mip_job *j = arg;
    model md;
    if (model_build(j->a, &md) != SWARM_OK) return 0;
    swarm_assign_result *res = j->relax ? NULL : sw_asg_result_new(j->a);
    double lp = -INFINITY;
    swarm_err rc = j->relax || res ? solve_model(j, &md, res, &lp) : SWARM_ENOMEM;
    model_free(&md);
    size_t entries = res ? (size_t)res->m * (size_t)res->r : 0;
    size_t len = sizeof(mip_reply) + entries * sizeof(int32_t);
    if (rc != SWARM_OK || len > cap) {
        swarm_assign_result_destroy(res);
        return 0;
    }
    mip_reply *r = out;
    memset(r, 0, sizeof(*r));
    r->lp_bound = lp;
    if (res) {
        r->status = (int32_t)res->status;
        r->bound = res->bound;
        r->has_assign = res->status != SWARM_ASSIGN_INFEASIBLE;
        memcpy(r + 1, res->assign, entries * sizeof(int32_t));
    }
    swarm_assign_result_destroy(res);
    return len;
}

/* Runs job in a child; on success *reply holds its answer. why says what
 * went wrong otherwise (time limit, memory budget). */
static swarm_err mip_isolated(const mip_job *j, mip_reply **reply, char *why, size_t why_cap)
{
    const sw_asg *a = j->a;
    size_t entries = j->relax ? 0 : (size_t)a->m * (size_t)a->r;
    size_t cap = sizeof(mip_reply) + entries * sizeof(int32_t);
    mip_reply *buf = sw_malloc(cap);
    if (buf == NULL) return SWARM_ENOMEM;
    size_t pairs = (size_t)a->n * (size_t)a->m;
    size_t budget = MIP_MEM_BASE + MIP_MEM_PER_PAIR * pairs;
    size_t len = 0;
    sw_isolated_status st;
    swarm_err rc = sw_isolated_call(mip_child, (void *)j, buf, cap, &len,
                                    j->tl * 1000.0 + MIP_DEADLINE_SLACK_MS, budget, &st, why, why_cap);
    if (rc != SWARM_OK || st != SW_ISOLATED_OK) {
        sw_free(buf);
        *reply = NULL;
        return rc;
    }
    *reply = buf;
    return SWARM_OK;
}

#endif

swarm_err sw_asg_mip(const sw_asg *a, swarm_assign_solver solver, double tl, const int32_t *warm,
                     swarm_assign_result *res)
{
#ifndef SWARM_HAVE_CBC
    if (solver == SWARM_ASSIGN_SOLVER_CBC) return SWARM_EUNSUPPORTED;
#endif
#ifndef SWARM_HAVE_GLPK
    if (solver == SWARM_ASSIGN_SOLVER_GLPK) return SWARM_EUNSUPPORTED;
#endif
#if defined(SWARM_HAVE_CBC) || defined(SWARM_HAVE_GLPK)
    mip_job j = {a, solver, tl, warm, false};
    mip_reply *r = NULL;
    char why[160];
    swarm_err rc = mip_isolated(&j, &r, why, sizeof(why));
    if (rc != SWARM_OK) return rc;
    res->method = use_glpk(solver) ? "glpk" : "cbc";
    if (r == NULL) {
        /* stopped or failed without an incumbent: the caller keeps its own */
        sw_log_info("assign: %s %s", res->method, why);
        res->status = SWARM_ASSIGN_INFEASIBLE;
        res->bound = -INFINITY;
        snprintf(res->reason, sizeof(res->reason), "%s %s", res->method, why);
        return SWARM_OK;
    }
    res->status = (swarm_assign_status)r->status;
    res->bound = r->bound;
    if (r->has_assign)
        memcpy(res->assign, r + 1, (size_t)a->m * (size_t)a->r * sizeof(int32_t));
    sw_free(r);
    return SWARM_OK;
#else
    (void)a, (void)tl, (void)warm, (void)res;
    return SWARM_EUNSUPPORTED;
#endif
}

swarm_err sw_asg_lp_bound(const sw_asg *a, double tl, double *out_bound)
{
#if defined(SWARM_HAVE_CBC) || defined(SWARM_HAVE_GLPK)
    /* CBC's LP (Clp) solves the 200 x 1000 relaxations ~15x faster than GLPK's
     * simplex (2 s vs 30 s, measured) */
    mip_job j = {a, SWARM_ASSIGN_SOLVER_CBC, tl, NULL, true};
#ifndef SWARM_HAVE_CBC
    j.solver = SWARM_ASSIGN_SOLVER_GLPK;
#endif
    mip_reply *r = NULL;
    char why[160];
    swarm_err rc = mip_isolated(&j, &r, why, sizeof(why));
    if (rc != SWARM_OK) return rc;
    if (r == NULL) {
        sw_log_info("assign: LP bound %s", why);
        return SWARM_ETIMEDOUT;
    }
    *out_bound = r->lp_bound;
    sw_free(r);
    return SWARM_OK;
#else
    (void)a, (void)tl, (void)out_bound;
    return SWARM_EUNSUPPORTED;
#endif
}
