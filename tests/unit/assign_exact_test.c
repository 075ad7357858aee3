/*
 * assign_exact_test.c: the exact solver against brute-force enumeration on
 * many tiny random instances (every constraint and objective variant), the
 * fast method's feasibility and gap on the same instances, and the Pareto
 * front (non-dominated, sorted, holding both single-objective optima).
 */
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "swarm/assign.h"

#define MAXN 4
#define MAXM 6

typedef struct inst {
    int n, m, r;
    double E[MAXN], T[MAXN], B[MAXN], C[MAXN * MAXM], c[MAXN * MAXM], Eik[MAXN * MAXM];
    int32_t zone[MAXN];
    bool avail[MAXN];
    swarm_assign_problem p;
} inst;

static uint64_t rng_state;
static double urand(void)
{
    rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(rng_state >> 11) / 9007199254740992.0;
}
static int irand(int lo, int hi) /* inclusive */
{
    return lo + (int)(urand() * (hi - lo + 1));
}

/* A random tiny instance; variant bits switch on c_ik, zones, c_min,
 * makespan, eps_time, availability, per-pair energy. */
static void make_inst(inst *in, uint64_t seed)
{
    rng_state = seed * 2654435761ULL + 17;
    memset(in, 0, sizeof(*in));
    in->n = irand(2, MAXN);
    in->m = irand(1, MAXM);
    in->r = (in->n >= 3 && urand() < 0.3) ? 2 : 1;
    for (int i = 0; i < in->n; i++) {
        in->E[i] = (double)irand(1, 9);
        in->T[i] = (double)irand(1, 9);
        in->B[i] = (double)irand(1, in->m);
        in->zone[i] = irand(0, 2);
        in->avail[i] = urand() > 0.1;
    }
    for (int j = 0; j < in->n * in->m; j++) {
        in->C[j] = (double)irand(0, 10) / 10.0;
        in->c[j] = (double)irand(1, 3);
        in->Eik[j] = (double)irand(1, 9);
    }
    swarm_assign_problem *p = &in->p;
    p->n = in->n;
    p->m = in->m;
    p->E = in->E;
    p->T = in->T;
    p->B = in->B;
    p->C = in->C;
    p->redundancy = in->r;
    p->w_energy = (double)irand(0, 3);
    p->w_time = (double)irand(0, 3);
    if (urand() < 0.3) p->c = in->c;
    if (urand() < 0.3) {
        p->zone = in->zone;
        p->distinct_zones = true;
    }
    if (urand() < 0.2) p->c_min = 0.2;
    if (urand() < 0.25) p->time_obj = SWARM_ASSIGN_OBJ_MAKESPAN;
    if (urand() < 0.2) p->available = in->avail;
    if (urand() < 0.2) p->E_ik = in->Eik;
    p->p_min = urand() * 0.6 * in->m * in->r;
    if (urand() < 0.2) p->eps_time = (double)irand(2, 20);
}

/* Independent checker: true when x ([m*r]) satisfies every constraint. */
static bool brute_eval(const swarm_assign_problem *p, const int *x, double *obj, double *en,
                       double *tm)
{
    int n = p->n, m = p->m, r = p->redundancy > 0 ? p->redundancy : 1;
    double use[MAXN] = {0}, load[MAXN] = {0}, e = 0, t = 0, cs = 0;
    for (int k = 0; k < m; k++)
        for (int j = 0; j < r; j++) {
            int i = x[k * r + j];
            for (int j2 = 0; j2 < j; j2++) {
                if (x[k * r + j2] == i) return false;
                if (p->distinct_zones && p->zone && p->zone[x[k * r + j2]] == p->zone[i]) return false;
            }
            if (p->available && !p->available[i]) return false;
            double C = p->C[i * m + k];
            if (p->c_min > 0 && C < p->c_min) return false;
            use[i] += p->c ? p->c[i * m + k] : 1;
            load[i] += p->T[i];
            e += p->E_ik ? p->E_ik[i * m + k] : p->E[i];
            t += p->T[i];
            cs += C;
        }
    for (int i = 0; i < n; i++)
        if (use[i] > p->B[i] + 1e-9) return false;
    if (cs < p->p_min - 1e-9) return false;
    if (p->time_obj == SWARM_ASSIGN_OBJ_MAKESPAN) {
        t = 0;
        for (int i = 0; i < n; i++) t = load[i] > t ? load[i] : t;
    }
    if (p->eps_time > 0 && t > p->eps_time + 1e-9) return false;
    double we = p->w_energy, wt = p->w_time;
    if (we == 0 && wt == 0) we = wt = 1;
    *obj = p->eps_time > 0 ? e : we * e + wt * t;
    *en = e;
    *tm = t;
    return true;
}

/* Enumerates every assignment (r-subsets per subtask); best objective or INFINITY. */
static void enum_rec(const swarm_assign_problem *p, int *x, int k, double *best)
{
    int r = p->redundancy > 0 ? p->redundancy : 1;
    if (k == p->m) {
        double o, e, t;
        if (brute_eval(p, x, &o, &e, &t) && o < *best) *best = o;
        return;
    }
    if (r == 1) {
        for (int i = 0; i < p->n; i++) {
            x[k] = i;
            enum_rec(p, x, k + 1, best);
        }
    } else { /* r == 2 */
        for (int i = 0; i < p->n; i++)
            for (int i2 = i + 1; i2 < p->n; i2++) {
                x[2 * k] = i;
                x[2 * k + 1] = i2;
                enum_rec(p, x, k + 1, best);
            }
    }
}

static double brute_best(const swarm_assign_problem *p)
{
    int x[MAXM * 2];
    double best = INFINITY;
    enum_rec(p, x, 0, &best);
    return best;
}

static void check_result_consistent(const swarm_assign_problem *p, const swarm_assign_result *res)
{
    int x[MAXM * 2];
    for (int j = 0; j < p->m * res->r; j++) x[j] = res->assign[j];
    double o, e, t;
    assert_true(brute_eval(p, x, &o, &e, &t));
    assert_true(fabs(o - res->objective) < 1e-6 * (1 + fabs(o)));
    assert_true(fabs(e - res->energy) < 1e-6 * (1 + fabs(e)));
    assert_true(fabs(t - res->time) < 1e-6 * (1 + fabs(t)));
}

#define SEEDS 1000

static void exact_vs_brute(swarm_assign_solver solver, int seeds)
{
    swarm_assign_options o = swarm_assign_options_default();
    o.method = SWARM_ASSIGN_METHOD_EXACT;
    o.solver = solver;
    /* a limit, not a target: a solve returns once optimal. Generous, so a
     * sanitizer build on a loaded machine does not fall back to greedy */
    o.time_limit_s = 60;
    int n_feasible = 0, n_infeasible = 0;
    for (uint64_t seed = 1; seed <= (uint64_t)seeds; seed++) {
        inst in;
        make_inst(&in, seed);
        double best = brute_best(&in.p);
        swarm_assign_result *res = NULL;
        swarm_err rc = swarm_assign_solve(&in.p, &o, &res, NULL);
        if (rc == SWARM_EUNSUPPORTED) {
            CHECK_SKIP("solver %d not built in", (int)solver);
        }
        CHECK_OK(rc);
        if (isinf(best)) {
            if (res->status != SWARM_ASSIGN_INFEASIBLE)
                print_error("seed %llu: brute force infeasible, solver %s obj %g\n",
                            (unsigned long long)seed, swarm_assign_status_name(res->status), res->objective);
            assert_int_equal(res->status, SWARM_ASSIGN_INFEASIBLE);
            assert_true(strlen(res->reason) > 0);
            n_infeasible++;
        } else {
            if (res->status != SWARM_ASSIGN_OPTIMAL || fabs(res->objective - best) > 1e-6 * (1 + best))
                print_error("seed %llu: brute %g, solver %s %g (%s) %s\n", (unsigned long long)seed, best,
                            swarm_assign_status_name(res->status), res->objective, res->method, res->reason);
            assert_int_equal(res->status, SWARM_ASSIGN_OPTIMAL);
            assert_true(fabs(res->objective - best) <= 1e-6 * (1 + best));
            check_result_consistent(&in.p, res);
            n_feasible++;
        }
        swarm_assign_result_destroy(res);
    }
    /* the generator must exercise both outcomes */
    assert_true(n_feasible > seeds / 5);
    assert_true(n_infeasible > seeds / 20);
}

static void test_exact_matches_brute_force(void **state)
{
    (void)state;
    exact_vs_brute(SWARM_ASSIGN_SOLVER_AUTO, SEEDS);
}

static void test_glpk_matches_brute_force(void **state)
{
    (void)state;
    exact_vs_brute(SWARM_ASSIGN_SOLVER_GLPK, SEEDS / 3);
}

static void test_cbc_matches_brute_force(void **state)
{
    (void)state;
    exact_vs_brute(SWARM_ASSIGN_SOLVER_CBC, SEEDS / 3);
}

static void test_fast_feasible_and_close(void **state)
{
    (void)state;
    swarm_assign_options o = swarm_assign_options_default();
    o.method = SWARM_ASSIGN_METHOD_FAST;
    int n_feasible = 0, n_missed = 0, n_exact = 0, n_fallback = 0;
    double gap_sum = 0;
    for (uint64_t seed = 1; seed <= SEEDS; seed++) {
        inst in;
        make_inst(&in, seed);
        double best = brute_best(&in.p);
        swarm_assign_result *res = NULL;
        CHECK_OK(swarm_assign_solve(&in.p, &o, &res, NULL));
        if (isinf(best)) {
            assert_int_equal(res->status, SWARM_ASSIGN_INFEASIBLE);
        } else if (res->status == SWARM_ASSIGN_INFEASIBLE) {
            n_missed++;
            print_error("seed %llu: fast missed a feasible instance (opt %g): %s\n",
                        (unsigned long long)seed, best, res->reason);
            print_error("  n %d m %d r %d c %d zones %d cmin %g mk %d avail %d eps %g pmin %g\n", in.n, in.m, in.r,
                        in.p.c != NULL, in.p.distinct_zones, in.p.c_min, in.p.time_obj, in.p.available != NULL,
                        in.p.eps_time, in.p.p_min);
        } else {
            check_result_consistent(&in.p, res);
            if (strstr(res->method, "fallback")) n_fallback++;
            assert_true(res->objective >= best - 1e-9 * (1 + best));
            assert_true(res->bound <= best + 1e-6 * (1 + best)); /* a valid lower bound */
            n_feasible++;
            if (res->objective <= best + 1e-9 * (1 + best)) n_exact++;
            gap_sum += best > 0 ? (res->objective - best) / best : 0;
        }
        swarm_assign_result_destroy(res);
    }
    print_message("fast: %d feasible (%d by the MIP fallback), %d missed, %d optimal, mean gap %.3f%%\n",
                  n_feasible, n_fallback, n_missed, n_exact, 100 * gap_sum / (n_feasible ? n_feasible : 1));
    assert_int_equal(n_missed, 0);
    assert_true(n_fallback * 100 <= n_feasible); /* the heuristic itself places >= 99% */
    assert_true(n_exact >= n_feasible * 8 / 10);
    assert_true(gap_sum / (n_feasible ? n_feasible : 1) < 0.03);
}

/* Pareto: sorted by time, non-dominated, and its ends are the optima of each
 * criterion alone (checked by brute force). */
static void pareto_vs_brute(swarm_assign_solver solver)
{
    swarm_assign_options o = swarm_assign_options_default();
    o.method = SWARM_ASSIGN_METHOD_EXACT;
    o.solver = solver;
    int fronts = 0, multi = 0;
    for (uint64_t seed = 1; seed <= 120; seed++) {
        inst in;
        make_inst(&in, seed);
        in.p.eps_time = 0;
        in.p.E_ik = NULL;
        swarm_assign_problem pe = in.p, pt = in.p;
        pe.w_energy = 1, pe.w_time = 0;
        pt.w_energy = 0, pt.w_time = 1;
        double emin = brute_best(&pe), tmin = brute_best(&pt);
        swarm_assign_result **pts = NULL;
        size_t np = 0;
        swarm_err rc = swarm_assign_pareto(&in.p, &o, &pts, &np, NULL);
        if (rc == SWARM_EUNSUPPORTED) {
            CHECK_SKIP("solver %d not built in", (int)solver);
        }
        CHECK_OK(rc);
        assert_true(np >= 1);
        if (isinf(emin)) {
            assert_int_equal(np, 1);
            assert_int_equal(pts[0]->status, SWARM_ASSIGN_INFEASIBLE);
        } else {
            fronts++;
            if (np > 2) multi++;
            for (size_t j = 0; j < np; j++) {
                check_result_consistent(&in.p, pts[j]);
                if (j > 0) {
                    assert_true(pts[j]->time > pts[j - 1]->time);
                    assert_true(pts[j]->energy < pts[j - 1]->energy);
                }
            }
            assert_true(fabs(pts[0]->time - tmin) < 1e-6 * (1 + tmin));
            assert_true(fabs(pts[np - 1]->energy - emin) < 1e-6 * (1 + emin));
            /* every point is optimal for its own time: no feasible assignment has
             * less energy within that time (brute force eps-constraint) */
            for (size_t j = 0; j < np; j++) {
                swarm_assign_problem q = in.p;
                q.eps_time = pts[j]->time + 1e-9;
                double e_eps = brute_best(&q);
                assert_true(fabs(e_eps - pts[j]->energy) < 1e-6 * (1 + e_eps));
            }
        }
        for (size_t j = 0; j < np; j++) swarm_assign_result_destroy(pts[j]);
        swarm_free(pts);
    }
    assert_true(fronts > 30);
    assert_true(multi > 5);
}

static void test_pareto_front(void **state)
{
    (void)state;
    pareto_vs_brute(SWARM_ASSIGN_SOLVER_AUTO);
}

/* GLPK accepts small violations of the time cap: the walk must still find
 * every point (it did not before the step was widened) */
static void test_pareto_front_glpk(void **state)
{
    (void)state;
    pareto_vs_brute(SWARM_ASSIGN_SOLVER_GLPK);
}

/* Fast Pareto: sorted and non-dominated, every point feasible. */
static void test_pareto_fast(void **state)
{
    (void)state;
    swarm_assign_options o = swarm_assign_options_default();
    o.method = SWARM_ASSIGN_METHOD_FAST;
    for (uint64_t seed = 1; seed <= 60; seed++) {
        inst in;
        make_inst(&in, seed);
        in.p.eps_time = 0;
        swarm_assign_result **pts = NULL;
        size_t np = 0;
        CHECK_OK(swarm_assign_pareto(&in.p, &o, &pts, &np, NULL));
        assert_true(np >= 1);
        for (size_t j = 0; j < np; j++) {
            if (pts[j]->status == SWARM_ASSIGN_INFEASIBLE) {
                assert_int_equal(np, 1);
                continue;
            }
            check_result_consistent(&in.p, pts[j]);
            if (j > 0) {
                assert_true(pts[j]->time > pts[j - 1]->time);
                assert_true(pts[j]->energy < pts[j - 1]->energy);
            }
        }
        for (size_t j = 0; j < np; j++) swarm_assign_result_destroy(pts[j]);
        swarm_free(pts);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exact_matches_brute_force),
        cmocka_unit_test(test_glpk_matches_brute_force),
        cmocka_unit_test(test_cbc_matches_brute_force),
        cmocka_unit_test(test_fast_feasible_and_close),
        cmocka_unit_test(test_pareto_front),
        cmocka_unit_test(test_pareto_front_glpk),
        cmocka_unit_test(test_pareto_fast),
    };
    return CHECK_RUN(tests, NULL, NULL);
}
