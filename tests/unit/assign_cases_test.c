/*
 * assign_cases_test.c: hand-made assignment instances with known answers
 * (optimum, redundancy and zone distinctness, capacity with c_ik, makespan,
 * epsilon-constraint, removed SLMs), infeasibility reasons that name the
 * constraint and the amounts, and malformed problems (JSON and API).
 */
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/core_int.h"
#include "swarm/assign.h"

static swarm_assign_result *solve_json(const char *json, swarm_assign_method method)
{
    swarm_assign_input *in = NULL;
    swarm_diag d = {{0}};
    swarm_err rc = swarm_assign_input_parse(json, strlen(json), &in, &d);
    if (rc != SWARM_OK) print_error("parse: %s\n", d.msg);
    CHECK_OK(rc);
    swarm_assign_options o = swarm_assign_options_default();
    o.method = method;
    o.time_limit_s = 5;
    swarm_assign_result *res = NULL;
    CHECK_OK(swarm_assign_solve(swarm_assign_input_problem(in), &o, &res, &d));
    swarm_assign_input_destroy(in);
    return res;
}

static const swarm_assign_method methods[] = {SWARM_ASSIGN_METHOD_EXACT, SWARM_ASSIGN_METHOD_FAST,
                                              SWARM_ASSIGN_METHOD_AUTO};

/* Three SLMs, four subtasks: the cheap SLM 0 (cost 2) may take only subtasks
 * 0 and 1 (C < c_min for 2 and 3), SLM 1 costs 5, SLM 2 costs 10. Optimum by
 * hand: subtasks 0,1 -> SLM 0, 2,3 -> SLM 1: 2 + 2 + 5 + 5 = 14. */
static void test_known_optimum(void **state)
{
    (void)state;
    const char *json = "{\"E\": [1, 2, 6], \"T\": [1, 3, 4], \"B\": [2, 3, 4],"
                       " \"C\": [[0.9, 0.9, 0.4, 0.1], [0.8, 0.8, 0.8, 0.9], [0.9, 0.9, 0.9, 0.9]],"
                       " \"c_min\": 0.5, \"p_min\": 1.0}";
    for (size_t j = 0; j < sizeof(methods) / sizeof(methods[0]); j++) {
        swarm_assign_result *r = solve_json(json, methods[j]);
        assert_int_not_equal(r->status, SWARM_ASSIGN_INFEASIBLE);
        assert_true(fabs(r->objective - 14.0) < 1e-9);
        assert_true(fabs(r->energy - 6.0) < 1e-9);
        assert_true(fabs(r->time - 8.0) < 1e-9);
        assert_int_equal(r->assign[3], 1);
        assert_int_equal(r->assign[0], 0);
        assert_int_equal(r->assign[1], 0);
        if (methods[j] == SWARM_ASSIGN_METHOD_EXACT) assert_int_equal(r->status, SWARM_ASSIGN_OPTIMAL);
        swarm_assign_result_destroy(r);
    }
}

/* Redundancy 2 with zones: SLMs 0 and 1 share zone 7, so no subtask may use both. */
static void test_redundancy_and_zones(void **state)
{
    (void)state;
    const char *json = "{\"E\": [1, 1, 5, 5], \"T\": [1, 1, 5, 5], \"B\": [3, 3, 3, 3],"
                       " \"C\": [[1,1,1],[1,1,1],[1,1,1],[1,1,1]], \"redundancy\": 2,"
                       " \"zones\": [7, 7, 8, 9]}";
    for (size_t j = 0; j < sizeof(methods) / sizeof(methods[0]); j++) {
        swarm_assign_result *r = solve_json(json, methods[j]);
        assert_int_not_equal(r->status, SWARM_ASSIGN_INFEASIBLE);
        assert_int_equal(r->r, 2);
        static const int zone[] = {7, 7, 8, 9};
        for (int k = 0; k < 3; k++) {
            int a = r->assign[k * 2], b = r->assign[k * 2 + 1];
            assert_true(a != b);
            assert_true(zone[a] != zone[b]);
        }
        /* optimum: each subtask = one cheap (cost 2) + one expensive (cost 10) */
        assert_true(fabs(r->objective - 36.0) < 1e-9);
        swarm_assign_result_destroy(r);
    }
    /* without zones the two cheap SLMs pair up where capacity allows */
    const char *nz = "{\"E\": [1, 1, 5, 5], \"T\": [1, 1, 5, 5], \"B\": [3, 3, 3, 3],"
                     " \"C\": [[1,1,1],[1,1,1],[1,1,1],[1,1,1]], \"redundancy\": 2}";
    swarm_assign_result *r = solve_json(nz, SWARM_ASSIGN_METHOD_EXACT);
    assert_true(fabs(r->objective - 12.0) < 1e-9);
    for (int k = 0; k < 3; k++) assert_true(r->assign[2 * k] != r->assign[2 * k + 1]);
    swarm_assign_result_destroy(r);
}

/* Capacity in c_ik units: SLM 0 (cheap) has B = 4; subtask sizes 3, 2, 2: it
 * can take the two size-2 subtasks, not the size-3 one with another. */
static void test_capacity_with_sizes(void **state)
{
    (void)state;
    const char *json = "{\"E\": [1, 4], \"T\": [0, 0], \"B\": [4, 10],"
                       " \"C\": [[1,1,1],[1,1,1]], \"c\": [[3,2,2],[3,2,2]]}";
    for (size_t j = 0; j < sizeof(methods) / sizeof(methods[0]); j++) {
        swarm_assign_result *r = solve_json(json, methods[j]);
        assert_int_not_equal(r->status, SWARM_ASSIGN_INFEASIBLE);
        assert_int_equal(r->assign[0], 1);
        assert_int_equal(r->assign[1], 0);
        assert_int_equal(r->assign[2], 0);
        assert_true(fabs(r->energy - 6.0) < 1e-9);
        swarm_assign_result_destroy(r);
    }
}

/* Makespan: two equal SLMs, four unit subtasks: the busiest load is 2, not 4. */
static void test_makespan(void **state)
{
    (void)state;
    const char *json = "{\"E\": [1, 1], \"T\": [1, 1], \"B\": [4, 4], \"C\": [[1,1,1,1],[1,1,1,1]],"
                       " \"makespan\": true, \"weights\": {\"energy\": 0, \"time\": 1}}";
    for (size_t j = 0; j < sizeof(methods) / sizeof(methods[0]); j++) {
        swarm_assign_result *r = solve_json(json, methods[j]);
        assert_true(fabs(r->time - 2.0) < 1e-9);
        swarm_assign_result_destroy(r);
    }
}

/* Epsilon-constraint: min energy s.t. total time <= 7 (fast SLM 1 costs energy). */
static void test_eps_constraint(void **state)
{
    (void)state;
    const char *json = "{\"E\": [1, 3], \"T\": [3, 1], \"B\": [3, 3], \"C\": [[1,1,1],[1,1,1]],"
                       " \"eps_time\": 7}";
    for (size_t j = 0; j < sizeof(methods) / sizeof(methods[0]); j++) {
        swarm_assign_result *r = solve_json(json, methods[j]);
        /* times 9 (all slow), 7 (one fast): the best within 7 uses energy 5 */
        assert_true(r->time <= 7 + 1e-9);
        assert_true(fabs(r->energy - 5.0) < 1e-9);
        assert_true(fabs(r->objective - 5.0) < 1e-9);
        swarm_assign_result_destroy(r);
    }
}

/* A removed SLM (available false) is never used, even when it is the cheapest. */
static void test_unavailable(void **state)
{
    (void)state;
    const char *json = "{\"E\": [1, 5, 6], \"T\": [1, 1, 1], \"B\": [9, 9, 9], \"C\": [[1,1],[1,1],[1,1]],"
                       " \"available\": [false, true, true]}";
    for (size_t j = 0; j < sizeof(methods) / sizeof(methods[0]); j++) {
        swarm_assign_result *r = solve_json(json, methods[j]);
        assert_int_equal(r->assign[0], 1);
        assert_int_equal(r->assign[1], 1);
        swarm_assign_result_destroy(r);
    }
}

static void expect_infeasible(const char *json, const char *needle)
{
    for (size_t j = 0; j < sizeof(methods) / sizeof(methods[0]); j++) {
        swarm_assign_result *r = solve_json(json, methods[j]);
        if (r->status != SWARM_ASSIGN_INFEASIBLE || strstr(r->reason, needle) == NULL)
            print_error("want infeasible with '%s', got %s: '%s'\n", needle,
                        swarm_assign_status_name(r->status), r->reason);
        assert_int_equal(r->status, SWARM_ASSIGN_INFEASIBLE);
        assert_non_null(strstr(r->reason, needle));
        swarm_assign_result_destroy(r);
    }
}

static void test_infeasible_reasons(void **state)
{
    (void)state;
    /* 9 unit subtasks, capacities 3 + 2 + 2 = 7 */
    expect_infeasible("{\"E\": [1,1,1], \"T\": [1,1,1], \"B\": [3,2,2],"
                      " \"C\": [[1,1,1,1,1,1,1,1,1],[1,1,1,1,1,1,1,1,1],[1,1,1,1,1,1,1,1,1]]}",
                      "capacity: total capacity 7 < demand 9 (r=1, 9 subtasks)");
    /* best C per subtask: 0.9 + 0.8 + 0.7 + 1.0 = 3.4 < 4.0 */
    expect_infeasible("{\"E\": [1,1], \"T\": [1,1], \"B\": [4,4],"
                      " \"C\": [[0.9,0.1,0.7,1.0],[0.2,0.8,0.3,0.5]], \"p_min\": 4.0}",
                      "compatibility: best achievable sum C = 3.4 < p_min 4");
    /* subtask 1 has only two SLMs with C >= c_min */
    expect_infeasible("{\"E\": [1,1,1], \"T\": [1,1,1], \"B\": [4,4,4],"
                      " \"C\": [[1,0.9],[1,0.1],[1,0.8]], \"c_min\": 0.5, \"redundancy\": 3}",
                      "redundancy 3 > 2 eligible SLMs for subtask 1");
    /* zones: three SLMs but only two zones, redundancy 3 */
    expect_infeasible("{\"E\": [1,1,1], \"T\": [1,1,1], \"B\": [4,4,4],"
                      " \"C\": [[1,1],[1,1],[1,1]], \"redundancy\": 3, \"zones\": [0, 0, 1]}",
                      "zones: subtask 0 has eligible SLMs in only 2 distinct zones < redundancy 3");
    /* capacity in c units: sizes 2 each, total 5 < 6 */
    expect_infeasible("{\"E\": [1,1], \"T\": [1,1], \"B\": [2.5, 2.5],"
                      " \"C\": [[1,1,1],[1,1,1]], \"c\": [[2,2,2],[2,2,2]]}",
                      "capacity: total capacity 5 < minimum demand 6");
    /* time: every subtask takes >= 2, three of them, eps 5 */
    expect_infeasible("{\"E\": [1,1], \"T\": [2,3], \"B\": [4,4], \"C\": [[1,1,1],[1,1,1]],"
                      " \"eps_time\": 5}",
                      "time: minimum achievable total time 6 > eps_time 5");
}

/* Capacity and compatibility that each hold alone but not together: the MIP
 * proves it and the reason names compatibility under capacity. */
static void test_infeasible_combined(void **state)
{
    (void)state;
    const char *json = "{\"E\": [1,1], \"T\": [1,1], \"B\": [1, 3],"
                       " \"C\": [[1,1,1],[0.1,0.1,0.1]], \"p_min\": 2.0}";
    swarm_assign_result *r = solve_json(json, SWARM_ASSIGN_METHOD_EXACT);
    assert_int_equal(r->status, SWARM_ASSIGN_INFEASIBLE);
    print_message("combined: %s\n", r->reason);
    assert_non_null(strstr(r->reason, "compatibility: best achievable sum C under capacity = 1.2 < p_min 2"));
    swarm_assign_result_destroy(r);
}

static void expect_einval(const char *json, const char *needle)
{
    swarm_assign_input *in = NULL;
    swarm_diag d = {{0}};
    swarm_err rc = swarm_assign_input_parse(json, strlen(json), &in, &d);
    if (rc != SWARM_EINVAL || strstr(d.msg, needle) == NULL)
        print_error("json %s: rc %s msg '%s', want '%s'\n", json, swarm_err_name(rc), d.msg, needle);
    assert_int_equal(rc, SWARM_EINVAL);
    assert_null(in);
    assert_non_null(strstr(d.msg, needle));
}

static void test_malformed_json(void **state)
{
    (void)state;
    expect_einval("{\"E\": [1, 2], \"T\": [1, 2]", "invalid JSON");
    expect_einval("[1, 2]", "must be a JSON object");
    expect_einval("{\"T\": [1], \"B\": [1], \"C\": [[1]]}", "required");
    expect_einval("{\"E\": [1, 2], \"T\": [1], \"B\": [1, 1], \"C\": [[1],[1]]}",
                  "\"T\" has 1 entries, expected 2");
    expect_einval("{\"E\": [1, 2], \"T\": [1, 1], \"B\": [1, 1], \"C\": [[1, 1],[1]]}", "\"C\"[1]");
    expect_einval("{\"E\": [1, 2], \"T\": [1, 1], \"B\": [1, 1], \"C\": [[1],[1]], \"c\": [[1, 2],[1, 2]]}",
                  "\"c\"[0]");
    expect_einval("{\"E\": [1, -2], \"T\": [1, 1], \"B\": [1, 1], \"C\": [[1],[1]]}", "E[1] = -2 is negative");
    expect_einval("{\"E\": [1, \"x\"], \"T\": [1, 1], \"B\": [1, 1], \"C\": [[1],[1]]}", "\"E\"[1] must be a number");
    expect_einval("{\"E\": [1], \"T\": [1], \"B\": [1], \"C\": [[1]], \"redundancy\": 0}", "redundancy");
    expect_einval("{\"E\": [1], \"T\": [1], \"B\": [1], \"C\": [[1]], \"redundancy\": 1.5}", "redundancy");
    expect_einval("{\"E\": [1], \"T\": [1], \"B\": [1], \"C\": [[1]], \"p_min\": -1}", "p_min");
    expect_einval("{\"E\": [1], \"T\": [1], \"B\": [1], \"C\": [[1]], \"weights\": {\"energy\": 1, \"cost\": 2}}",
                  "weights.cost");
    expect_einval("{\"E\": [1], \"T\": [1], \"B\": [1], \"C\": [[1]], \"pmin\": 1}", "unknown key \"pmin\"");
    expect_einval("{\"E\": [], \"T\": [], \"B\": [], \"C\": []}", "need 1..");
    expect_einval("{\"E\": [1], \"T\": [1], \"B\": [1], \"C\": [[1]], \"zones\": [0, 1]}", "zones");
    expect_einval("{\"E\": [1], \"T\": [1], \"B\": [1], \"C\": [[1]], \"E\": [2]}", "duplicate");
}

/* The API rejects NaN, negative and inconsistent values with EINVAL. */
static void test_malformed_api(void **state)
{
    (void)state;
    double E[2] = {1, 1}, T[2] = {1, 1}, B[2] = {2, 2}, C[4] = {1, 1, 1, 1};
    swarm_assign_problem p;
    memset(&p, 0, sizeof(p));
    p.n = 2, p.m = 2, p.E = E, p.T = T, p.B = B, p.C = C;
    swarm_assign_result *r = NULL;
    swarm_diag d = {{0}};
    CHECK_OK(swarm_assign_solve(&p, NULL, &r, &d));
    assert_int_equal(r->status, SWARM_ASSIGN_OPTIMAL);
    swarm_assign_result_destroy(r);
    r = NULL;
    C[3] = NAN;
    CHECK_ERR(swarm_assign_solve(&p, NULL, &r, &d), SWARM_EINVAL);
    assert_null(r);
    assert_non_null(strstr(d.msg, "C[1][1] is not a finite number"));
    C[3] = 1;
    B[0] = -1;
    CHECK_ERR(swarm_assign_solve(&p, NULL, &r, &d), SWARM_EINVAL);
    B[0] = 2;
    p.w_time = INFINITY;
    CHECK_ERR(swarm_assign_solve(&p, NULL, &r, &d), SWARM_EINVAL);
    p.w_time = 0;
    p.n = 0;
    CHECK_ERR(swarm_assign_solve(&p, NULL, &r, &d), SWARM_EINVAL);
    p.n = 2;
    p.B = NULL;
    CHECK_ERR(swarm_assign_solve(&p, NULL, &r, &d), SWARM_EINVAL);
    p.B = B;
    swarm_assign_options o = swarm_assign_options_default();
    o.method = (swarm_assign_method)99;
    CHECK_ERR(swarm_assign_solve(&p, &o, &r, &d), SWARM_EINVAL);
    assert_null(r);
}

/* swarm_assign_evaluate agrees with a solve and flags broken assignments. */
static void test_evaluate(void **state)
{
    (void)state;
    double E[2] = {1, 2}, T[2] = {3, 1}, B[2] = {1, 2}, C[4] = {1, 0.5, 0.5, 1};
    swarm_assign_problem p;
    memset(&p, 0, sizeof(p));
    p.n = 2, p.m = 2, p.E = E, p.T = T, p.B = B, p.C = C;
    p.p_min = 1.5;
    int32_t ok[2] = {0, 1}, over[2] = {0, 0}, bad[2] = {0, 5};
    double e, t, c;
    bool f;
    CHECK_OK(swarm_assign_evaluate(&p, ok, &e, &t, &c, &f));
    assert_true(f);
    assert_true(fabs(e - 3) < 1e-12 && fabs(t - 4) < 1e-12 && fabs(c - 2) < 1e-12);
    CHECK_OK(swarm_assign_evaluate(&p, over, &e, &t, &c, &f));
    assert_false(f); /* SLM 0 has capacity 1 */
    CHECK_OK(swarm_assign_evaluate(&p, bad, &e, &t, &c, &f));
    assert_false(f);
}

/* One assignment against each constraint the evaluator checks, alone: the
 * base assignment is feasible, and each case breaks exactly one constraint
 * (or sits exactly on its bound, which is feasible). */
typedef struct eval_case {
    const char *what;
    bool feasible;
} eval_case;

static bool eval_feasible(const swarm_assign_problem *p, const int32_t *x, double *compat)
{
    double e, t, c;
    bool f = true;
    CHECK_OK(swarm_assign_evaluate(p, x, &e, &t, &c, &f));
    if (compat) *compat = c;
    return f;
}

static void base_problem(swarm_assign_problem *p, double *E, double *T, double *B, double *C)
{
    /* 3 SLMs x 2 subtasks, every C_ik 0.9, capacity 2 each. */
    E[0] = 1, E[1] = 2, E[2] = 3;
    T[0] = 3, T[1] = 1, T[2] = 2;
    for (int i = 0; i < 3; i++) B[i] = 2;
    for (int j = 0; j < 6; j++) C[j] = 0.9;
    memset(p, 0, sizeof(*p));
    p->n = 3, p->m = 2, p->E = E, p->T = T, p->B = B, p->C = C;
}

static void test_evaluate_each_constraint(void **state)
{
    (void)state;
    double E[3], T[3], B[3], C[6], c_use[6];
    swarm_assign_problem p;
    int32_t x[2] = {0, 1};
    double cs = 0;

    base_problem(&p, E, T, B, C);
    p.p_min = 1.8; /* exactly the sum of C: on the bound */
    assert_true(eval_feasible(&p, x, &cs));
    assert_true(fabs(cs - 1.8) < 1e-12);
    p.p_min = 1.81; /* P_min: one hundredth short */
    assert_false(eval_feasible(&p, x, &cs));
    p.p_min = 2.5;
    assert_false(eval_feasible(&p, x, NULL));

    base_problem(&p, E, T, B, C);
    C[1 * 2 + 1] = 0.2; /* SLM 1 on subtask 1 under c_min */
    p.c_min = 0.5;
    assert_false(eval_feasible(&p, x, NULL));
    p.c_min = 0.2; /* on the bound */
    assert_true(eval_feasible(&p, x, NULL));

    base_problem(&p, E, T, B, C);
    bool avail[3] = {true, false, true};
    p.available = avail;
    assert_false(eval_feasible(&p, x, NULL));
    int32_t around[2] = {0, 2};
    assert_true(eval_feasible(&p, around, NULL));

    base_problem(&p, E, T, B, C);
    B[0] = 1; /* capacity: SLM 0 twice */
    int32_t twice[2] = {0, 0};
    assert_false(eval_feasible(&p, twice, NULL));
    B[0] = 2;
    assert_true(eval_feasible(&p, twice, NULL));
    for (int j = 0; j < 6; j++) c_use[j] = 1;
    c_use[0 * 2 + 0] = 2.5; /* capacity use c_ik above B_0 on its own */
    p.c = c_use;
    assert_false(eval_feasible(&p, x, NULL));

    base_problem(&p, E, T, B, C);
    int32_t out_of_range[2] = {0, 3}, negative[2] = {-1, 1};
    assert_false(eval_feasible(&p, out_of_range, NULL));
    assert_false(eval_feasible(&p, negative, NULL));

    /* Redundancy 2: distinct SLMs per subtask, and distinct zones when asked. */
    base_problem(&p, E, T, B, C);
    p.redundancy = 2;
    int32_t dup[4] = {0, 0, 1, 2}, distinct[4] = {0, 1, 0, 2}, zoned[4] = {0, 2, 1, 2};
    assert_false(eval_feasible(&p, dup, NULL));
    assert_true(eval_feasible(&p, distinct, NULL));
    int32_t zone[3] = {0, 0, 1};
    p.zone = zone;
    p.distinct_zones = true;
    assert_false(eval_feasible(&p, distinct, NULL)); /* SLMs 0 and 1 share zone 0 */
    assert_true(eval_feasible(&p, zoned, NULL));
    p.distinct_zones = false;
    assert_true(eval_feasible(&p, distinct, NULL));

    /* Time cap (epsilon constraint): sum of times 3 + 1 = 4. */
    base_problem(&p, E, T, B, C);
    p.eps_time = 3.5;
    assert_false(eval_feasible(&p, x, NULL));
    p.eps_time = 4;
    assert_true(eval_feasible(&p, x, NULL));
    /* Makespan: SLM 0 twice carries 6 time units. */
    p.time_obj = SWARM_ASSIGN_OBJ_MAKESPAN;
    p.eps_time = 5;
    assert_false(eval_feasible(&p, twice, NULL));
    assert_true(eval_feasible(&p, x, NULL)); /* loads 3 and 1 */
}

/* Random corruptions of a valid problem (byte flips, truncation, inserted
 * characters): parsing returns OK or EINVAL with a message, and whatever
 * parses also solves (status or EINVAL), never a crash. */
static void test_corrupted_inputs(void **state)
{
    (void)state;
    const char *good = "{\"E\": [1, 2, 6], \"T\": [1, 3, 4], \"B\": [2, 3, 4], \"redundancy\": 1,"
                       " \"C\": [[0.9, 0.9, 0.4, 0.1], [0.8, 0.8, 0.8, 0.9], [0.9, 0.9, 0.9, 0.9]],"
                       " \"c\": [[1, 1, 2, 1], [1, 2, 1, 1], [3, 1, 1, 1]], \"zones\": [0, 1, 1],"
                       " \"c_min\": 0.5, \"p_min\": 1.0, \"weights\": {\"energy\": 1, \"time\": 2}}";
    size_t len = strlen(good);
    char buf[512];
    uint64_t s = 12345;
    static const char alphabet[] = "{}[],:\"-+.eE0123456789 truefalsn\\";
    int parsed = 0, rejected = 0;
    for (int it = 0; it < 3000; it++) {
        memcpy(buf, good, len + 1);
        size_t n = len;
        int edits = 1 + (int)(it % 4);
        for (int e = 0; e < edits; e++) {
            s = s * 6364136223846793005ULL + 1442695040888963407ULL;
            size_t pos = (size_t)(s >> 33) % n;
            int op = (int)((s >> 20) % 3);
            char ch = alphabet[(s >> 40) % (sizeof(alphabet) - 1)];
            if (op == 0) buf[pos] = ch;
            else if (op == 1) n = pos + 1; /* truncate */
            else if (n + 1 < sizeof(buf)) {
                memmove(buf + pos + 1, buf + pos, n - pos);
                buf[pos] = ch;
                n++;
            }
            buf[n] = '\0';
        }
        swarm_assign_input *in = NULL;
        swarm_diag d = {{0}};
        swarm_err rc = swarm_assign_input_parse(buf, n, &in, &d);
        if (rc == SWARM_OK) {
            parsed++;
            swarm_assign_options o = swarm_assign_options_default();
            o.method = SWARM_ASSIGN_METHOD_FAST;
            swarm_assign_result *r = NULL;
            rc = swarm_assign_solve(swarm_assign_input_problem(in), &o, &r, &d);
            assert_true(rc == SWARM_OK || rc == SWARM_EINVAL);
            swarm_assign_result_destroy(r);
            swarm_assign_input_destroy(in);
        } else {
            rejected++;
            assert_int_equal(rc, SWARM_EINVAL);
            assert_true(strlen(d.msg) > 0);
            assert_null(in);
        }
    }
    print_message("corrupted inputs: %d parsed, %d rejected\n", parsed, rejected);
    assert_true(parsed > 0 && rejected > 0);
}

/* The large-instance path (above 2e6 pairs: sampled multipliers, ordered
 * fill, budgeted local search) returns a feasible assignment, with a bound
 * below its objective, for unit and for variable capacity use. */
static void test_large_instance_path(void **state)
{
    (void)state;
    const int32_t n = 300, m = 7000; /* 2.1e6 pairs */
    size_t nm = (size_t)n * m;
    double *E = malloc(n * sizeof(double)), *T = malloc(n * sizeof(double));
    double *B = malloc(n * sizeof(double)), *C = malloc(nm * sizeof(double)), *c = malloc(nm * sizeof(double));
    assert_non_null(E);
    assert_non_null(T);
    assert_non_null(B);
    assert_non_null(C);
    assert_non_null(c);
    uint64_t s = 99;
    for (int tight = 0; tight < 2; tight++) {
        for (int32_t i = 0; i < n; i++) {
            s = s * 6364136223846793005ULL + 1442695040888963407ULL;
            double q = (double)(s >> 11) / 9007199254740992.0;
            E[i] = 1 + 9 * q;
            T[i] = 1 + 9 * (double)((s >> 7) % 1000) / 1000.0;
            B[i] = tight ? 2.4 * m / n * (0.6 + 0.8 * (double)((s >> 17) % 1000) / 1000.0) : 3.0 * m / n;
            for (int32_t k = 0; k < m; k++) {
                s = s * 6364136223846793005ULL + 1442695040888963407ULL;
                C[(size_t)i * m + k] = 0.25 + 0.5 * q + 0.5 * ((double)(s >> 40) / 16777216.0 - 0.5);
                c[(size_t)i * m + k] = 1 + 2 * (double)((s >> 20) % 1000) / 1000.0;
            }
        }
        swarm_assign_problem p;
        memset(&p, 0, sizeof(p));
        p.n = n, p.m = m, p.E = E, p.T = T, p.B = B, p.C = C;
        p.c = tight ? c : NULL;
        p.p_min = (tight ? 0.6 : 0.4) * m;
        swarm_assign_options o = swarm_assign_options_default();
        o.method = SWARM_ASSIGN_METHOD_FAST;
        swarm_assign_result *r = NULL;
        CHECK_OK(swarm_assign_solve(&p, &o, &r, NULL));
        print_message("large %s: %s objective %.1f bound %.1f in %.0f ms\n", tight ? "tight" : "loose",
                      swarm_assign_status_name(r->status), r->objective, r->bound, r->solve_ms);
        assert_int_not_equal(r->status, SWARM_ASSIGN_INFEASIBLE);
        double e, t, cc;
        bool f;
        CHECK_OK(swarm_assign_evaluate(&p, r->assign, &e, &t, &cc, &f));
        assert_true(f);
        assert_true(cc >= p.p_min - 1e-6 * p.p_min);
        assert_true(fabs(e + t - r->objective) < 1e-6 * r->objective);
        assert_true(r->bound <= r->objective);
        swarm_assign_result_destroy(r);
    }
    free(E);
    free(T);
    free(B);
    free(C);
    free(c);
}

/* The large-instance path with redundancy 2, distinct zones, removed SLMs
 * and a binding p_min: the sampled multipliers keep the r best per subtask,
 * and the compatibility purchase (buy_repair) must respect zones and room. */
static void test_large_redundant_zones(void **state)
{
    (void)state;
    const int32_t n = 250, m = 9000; /* 2.25e6 pairs */
    size_t nm = (size_t)n * m;
    double *E = malloc(n * sizeof(double)), *T = malloc(n * sizeof(double));
    double *B = malloc(n * sizeof(double)), *C = malloc(nm * sizeof(double));
    int32_t *zone = malloc(n * sizeof(int32_t));
    bool *avail = malloc(n * sizeof(bool));
    assert_true(E && T && B && C && zone && avail);
    uint64_t s = 7;
    for (int32_t i = 0; i < n; i++) {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        double q = (double)(s >> 11) / 9007199254740992.0;
        E[i] = 1 + 9 * q;
        T[i] = 1 + 9 * (double)((s >> 7) % 1000) / 1000.0;
        B[i] = 2.0 * 2 * m / n * (0.7 + 0.6 * (double)((s >> 17) % 1000) / 1000.0);
        zone[i] = i % 5;
        avail[i] = i % 50 != 3;
        for (int32_t k = 0; k < m; k++) {
            s = s * 6364136223846793005ULL + 1442695040888963407ULL;
            double v = 0.25 + 0.5 * q + 0.5 * ((double)(s >> 40) / 16777216.0 - 0.5);
            C[(size_t)i * m + k] = v < 0 ? 0 : (v > 1 ? 1 : v);
        }
    }
    swarm_assign_problem p;
    memset(&p, 0, sizeof(p));
    p.n = n, p.m = m, p.E = E, p.T = T, p.B = B, p.C = C;
    p.redundancy = 2;
    p.zone = zone;
    p.distinct_zones = true;
    p.available = avail;
    swarm_assign_options o = swarm_assign_options_default();
    o.method = SWARM_ASSIGN_METHOD_FAST;
    /* p_min: off, then binding (at 0.68 per copy greedy at the sampled
     * multipliers falls short and buy_repair runs: SWARM_LOG=debug shows it) */
    for (int pass = 0; pass < 2; pass++) {
        p.p_min = pass == 0 ? 0 : 0.68 * 2 * m;
        swarm_assign_result *r = NULL;
        CHECK_OK(swarm_assign_solve(&p, &o, &r, NULL));
        print_message("large r=2 zones p_min %.0f: %s objective %.1f bound %.1f in %.0f ms\n", p.p_min,
                      swarm_assign_status_name(r->status), r->objective, r->bound, r->solve_ms);
        assert_int_not_equal(r->status, SWARM_ASSIGN_INFEASIBLE);
        double e, t, cc;
        bool f;
        CHECK_OK(swarm_assign_evaluate(&p, r->assign, &e, &t, &cc, &f));
        assert_true(f); /* distinct SLMs and zones, capacity, p_min, removed SLMs */
        assert_true(cc >= p.p_min - 1e-6 * (1 + p.p_min));
        assert_true(r->bound <= r->objective);
        swarm_assign_result_destroy(r);
    }
    free(E);
    free(T);
    free(B);
    free(C);
    free(zone);
    free(avail);
}

/* Above 2e6 pairs the fast method runs before the presolve (which only runs
 * when no assignment is found): an infeasible large problem must still be
 * reported with the presolve's reason, for p_min and for capacity. */
static void test_large_infeasible_reason(void **state)
{
    (void)state;
    const int32_t n = 300, m = 7000;
    size_t nm = (size_t)n * m;
    double *E = malloc(n * sizeof(double)), *T = malloc(n * sizeof(double));
    double *B = malloc(n * sizeof(double)), *C = malloc(nm * sizeof(double));
    assert_true(E && T && B && C);
    for (int32_t i = 0; i < n; i++) {
        E[i] = 1 + i % 7;
        T[i] = 1 + i % 5;
        for (int32_t k = 0; k < m; k++) C[(size_t)i * m + k] = 0.1 + 0.8 * (double)((i * 31 + k * 17) % 97) / 97;
    }
    swarm_assign_problem p;
    memset(&p, 0, sizeof(p));
    p.n = n, p.m = m, p.E = E, p.T = T, p.B = B, p.C = C;
    swarm_assign_options o = swarm_assign_options_default();
    o.method = SWARM_ASSIGN_METHOD_FAST;
    for (int v = 0; v < 2; v++) {
        for (int32_t i = 0; i < n; i++) B[i] = v == 0 ? 3.0 * m / n : 0.5 * m / n;
        p.p_min = v == 0 ? 0.95 * m : 0; /* C <= 0.9 */
        swarm_assign_result *r = NULL;
        CHECK_OK(swarm_assign_solve(&p, &o, &r, NULL));
        print_message("large infeasible %d: %s (%s) %s in %.0f ms\n", v, swarm_assign_status_name(r->status),
                      r->method, r->reason, r->solve_ms);
        assert_int_equal(r->status, SWARM_ASSIGN_INFEASIBLE);
        assert_string_equal(r->method, "presolve");
        assert_non_null(strstr(r->reason, v == 0 ? "compatibility" : "capacity"));
        swarm_assign_result_destroy(r);
    }
    free(E);
    free(T);
    free(B);
    free(C);
}

/* Regression (fuzzjson): a ragged matrix is refused before its n x m doubles
 * are allocated; the old parser sized the matrix from row 0 and n, allocated
 * it, then found row 1 short, so a long first row and many empty ones (a few
 * hundred KiB of JSON) asked for up to 800 MB. Allocation 4 (after the input
 * and E, T, B) fails: the shape error must still come back, not ENOMEM. */
static void test_ragged_matrix_before_alloc(void **state)
{
    (void)state;
    const char *json = "{\"E\": [1, 1, 1], \"T\": [1, 1, 1], \"B\": [1, 1, 1],"
                       " \"C\": [[1, 1, 1, 1], [], []]}";
    swarm_assign_input *in = NULL;
    swarm_diag d = {{0}};
    sw_alloc_fail_after(4);
    swarm_err rc = swarm_assign_input_parse(json, strlen(json), &in, &d);
    sw_alloc_fail_after(-1);
    assert_int_equal(rc, SWARM_EINVAL);
    assert_non_null(strstr(d.msg, "\"C\"[1]"));
    assert_null(in);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_optimum),
        cmocka_unit_test(test_redundancy_and_zones),
        cmocka_unit_test(test_capacity_with_sizes),
        cmocka_unit_test(test_makespan),
        cmocka_unit_test(test_eps_constraint),
        cmocka_unit_test(test_unavailable),
        cmocka_unit_test(test_infeasible_reasons),
        cmocka_unit_test(test_infeasible_combined),
        cmocka_unit_test(test_malformed_json),
        cmocka_unit_test(test_malformed_api),
        cmocka_unit_test(test_evaluate),
        cmocka_unit_test(test_evaluate_each_constraint),
        cmocka_unit_test(test_corrupted_inputs),
        cmocka_unit_test(test_large_instance_path),
        cmocka_unit_test(test_large_redundant_zones),
        cmocka_unit_test(test_large_infeasible_reason),
        cmocka_unit_test(test_ragged_matrix_before_alloc),
    };
    return CHECK_RUN(tests, NULL, NULL);
}
