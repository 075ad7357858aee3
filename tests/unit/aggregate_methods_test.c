/* aggregate_methods_test.c: every aggregation method on in-memory items: the
 * paper's three worked examples (exact), weightings, tie-breaks, order
 * independence, text methods, hierarchical, and every rejected input. */
#include <float.h>
#include <math.h>
#include <string.h>

#include "check.h"
#include "core/core_int.h"
#include "swarm/aggregate.h"

static swarm_agg_item num(const char *node, double v, double w)
{
    swarm_agg_item it;
    memset(&it, 0, sizeof(it));
    it.node = node;
    it.value = v;
    it.has_weight = true;
    it.weight = w;
    return it;
}

static swarm_agg_item txt(const char *node, const char *t, double w)
{
    swarm_agg_item it = num(node, 0, w);
    it.is_text = true;
    it.text = t;
    return it;
}

static swarm_agg_item pr(const char *node, double v, double p, double r)
{
    swarm_agg_item it = num(node, v, 0);
    it.has_weight = false;
    it.p = p;
    it.r = r;
    return it;
}

static swarm_agg_spec spec_of(swarm_agg_method m)
{
    swarm_agg_spec s = swarm_agg_spec_default();
    s.method = m;
    return s;
}

static swarm_agg_result *agg_ok(const swarm_agg_spec *s, const swarm_agg_item *it, size_t n)
{
    swarm_agg_result *r = NULL;
    swarm_diag d = {{0}};
    swarm_err rc = swarm_aggregate(s, it, n, &r, &d);
    if (rc != SWARM_OK) print_error("aggregate failed: %s\n", d.msg);
    assert_int_equal(rc, SWARM_OK);
    return r;
}

static void agg_err(const swarm_agg_spec *s, const swarm_agg_item *it, size_t n, const char *want)
{
    swarm_agg_result *r = NULL;
    swarm_diag d = {{0}};
    CHECK_ERR(swarm_aggregate(s, it, n, &r, &d), SWARM_EINVAL);
    assert_null(r);
    if (strstr(d.msg, want) == NULL) {
        print_error("message '%s' lacks '%s'\n", d.msg, want);
        fail();
    }
}

// --- the paper's examples ------------------------------------------------------

static void test_paper_sentiment(void **state)
{
    (void)state;
    swarm_agg_item it[] = {num("SLM_1", 1, 0.5), num("SLM_2", -1, 0.3), num("SLM_3", 1, 0.2)};
    swarm_agg_spec s = spec_of(SWARM_AGG_WEIGHTED_AVERAGE);
    s.decide = SWARM_AGG_DECIDE_SIGN;
    swarm_agg_result *r = agg_ok(&s, it, 3);
    assert_false(r->is_text);
    assert_true(r->value == 0.4);
    assert_string_equal(r->decision, "positive");
    assert_null(r->winner);
    assert_int_equal(r->n, 3);
    assert_true(fabs(r->weights[0] - 0.5) < 1e-15 && fabs(r->weights[1] - 0.3) < 1e-15);
    char buf[40];
    assert_string_equal(swarm_agg_format_number(r->value, buf, sizeof(buf)), "0.4");
    swarm_agg_result_destroy(r);
}

static void test_paper_translation(void **state)
{
    (void)state;
    swarm_agg_item it[] = {txt("SLM_1", "The weather is great today.", 0.85),
                           txt("SLM_2", "Today, the weather is wonderful.", 0.92),
                           txt("SLM_3", "It's a nice day outside.", 0.78)};
    swarm_agg_spec s = spec_of(SWARM_AGG_MAX_WEIGHT);
    swarm_agg_result *r = agg_ok(&s, it, 3);
    assert_true(r->is_text);
    assert_string_equal(r->text, "Today, the weather is wonderful.");
    assert_string_equal(r->winner, "SLM_2");
    assert_int_equal(r->winner_index, 1);
    assert_null(r->decision);
    double sum = r->weights[0] + r->weights[1] + r->weights[2];
    assert_true(fabs(sum - 1.0) < 1e-12);
    assert_true(fabs(r->weights[1] - 0.92 / 2.55) < 1e-12);
    swarm_agg_result_destroy(r);
}

static void test_paper_anomaly(void **state)
{
    (void)state;
    swarm_agg_item it[] = {num("SLM_1", 0.9, 0.4), num("SLM_2", 0.2, 0.3), num("SLM_3", 0.7, 0.3)};
    swarm_agg_spec s = spec_of(SWARM_AGG_WEIGHTED_AVERAGE);
    s.decide = SWARM_AGG_DECIDE_THRESHOLD;
    s.threshold = 0.6;
    swarm_agg_result *r = agg_ok(&s, it, 3);
    assert_true(r->value == 0.63);
    assert_string_equal(r->decision, "alert");
    swarm_agg_result_destroy(r);
    s.threshold = 0.63; /* R >= theta: equality alerts */
    r = agg_ok(&s, it, 3);
    assert_string_equal(r->decision, "alert");
    swarm_agg_result_destroy(r);
    s.threshold = 0.7;
    r = agg_ok(&s, it, 3);
    assert_string_equal(r->decision, "normal");
    swarm_agg_result_destroy(r);
}

// --- weights -------------------------------------------------------------------

static void test_weightings(void **state)
{
    (void)state;
    swarm_agg_item it[] = {pr("a", 1, 0.9, 0.5), pr("b", 0, 0.6, 1.0)};
    swarm_agg_spec s = spec_of(SWARM_AGG_WEIGHTED_AVERAGE);
    struct {
        swarm_agg_weighting w;
        double a, b, fa, fb;
    } cases[] = {
        {SWARM_AGG_F_PRODUCT, 1, 1, 0.45, 0.6},
        {SWARM_AGG_F_P, 1, 1, 0.9, 0.6},
        {SWARM_AGG_F_R, 1, 1, 0.5, 1.0},
        {SWARM_AGG_F_POWER, 2, 0.5, 0.81 * sqrt(0.5), 0.36},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        s.weighting = cases[i].w;
        s.pow_a = cases[i].a;
        s.pow_b = cases[i].b;
        swarm_agg_result *r = agg_ok(&s, it, 2);
        double want = cases[i].fa / (cases[i].fa + cases[i].fb);
        assert_true(fabs(r->value - want) < 1e-11);
        assert_true(fabs(r->weights[0] - want) < 1e-15);
        swarm_agg_result_destroy(r);
    }
}

static void test_explicit_weights_are_normalised(void **state)
{
    (void)state;
    swarm_agg_item it[] = {num("a", 1, 2), num("b", 0, 1), num("c", 0, 1)};
    swarm_agg_spec s = spec_of(SWARM_AGG_WEIGHTED_AVERAGE);
    swarm_agg_result *r = agg_ok(&s, it, 3);
    assert_true(r->value == 0.5);
    assert_true(r->weights[0] == 0.5 && r->weights[1] == 0.25 && r->weights[2] == 0.25);
    swarm_agg_result_destroy(r);
}

static void test_sign_neutral_absorbs_rounding_noise(void **state)
{
    (void)state;
    /* 0.1/0.8 - 0.4/0.8 + 0.3/0.8 is -5.6e-17 in doubles; exactly 0 in reals. */
    swarm_agg_item it[] = {num("a", 1, 0.1), num("b", -1, 0.4), num("c", 1, 0.3)};
    swarm_agg_spec s = spec_of(SWARM_AGG_WEIGHTED_AVERAGE);
    s.decide = SWARM_AGG_DECIDE_SIGN;
    swarm_agg_result *r = agg_ok(&s, it, 3);
    assert_true(r->value == 0.0);
    assert_string_equal(r->decision, "neutral");
    swarm_agg_result_destroy(r);
    it[1].weight = 0.5; /* now really negative */
    r = agg_ok(&s, it, 3);
    assert_string_equal(r->decision, "negative");
    assert_true(r->value < 0);
    swarm_agg_result_destroy(r);
}

static void test_number_format(void **state)
{
    (void)state;
    char b[40];
    assert_string_equal(swarm_agg_format_number(0.1 + 0.2, b, sizeof(b)), "0.3");
    assert_string_equal(swarm_agg_format_number(0.63, b, sizeof(b)), "0.63");
    assert_string_equal(swarm_agg_format_number(-0.0, b, sizeof(b)), "0");
    assert_string_equal(swarm_agg_format_number(1e-20, b, sizeof(b)), "1e-20");
    assert_string_equal(swarm_agg_format_number(-1, b, sizeof(b)), "-1");
    assert_string_equal(swarm_agg_format_number(1.0 / 3.0, b, sizeof(b)), "0.333333333333");
    assert_true(swarm_agg_round(0.1 + 0.2) == 0.3);
}

// --- order and ties --------------------------------------------------------------

static void test_order_independent(void **state)
{
    (void)state;
    swarm_agg_item a[] = {num("n1", 0.3, 0.1), num("n2", 0.7, 0.2), num("n3", 0.11, 0.3),
                          num("n4", 0.9, 0.4)};
    for (int i = 0; i < 4; i++) a[i].hlc = (uint64_t)(10 + i);
    swarm_agg_item b[] = {a[3], a[1], a[0], a[2]};
    swarm_agg_spec s = spec_of(SWARM_AGG_WEIGHTED_AVERAGE);
    swarm_agg_result *ra = agg_ok(&s, a, 4), *rb = agg_ok(&s, b, 4);
    assert_memory_equal(&ra->value, &rb->value, sizeof(double)); /* bit for bit */
    assert_true(ra->weights[0] == rb->weights[2]); /* weights stay in input order */
    swarm_agg_result_destroy(ra);
    swarm_agg_result_destroy(rb);
}

static void test_max_weight_tie_earliest_hlc_then_node(void **state)
{
    (void)state;
    swarm_agg_item it[] = {txt("zed", "late", 0.5), txt("amy", "early", 0.5),
                           txt("bob", "light", 0.1)};
    it[0].hlc = 7;
    it[1].hlc = 3;
    swarm_agg_spec s = spec_of(SWARM_AGG_MAX_WEIGHT);
    swarm_agg_result *r = agg_ok(&s, it, 3);
    assert_string_equal(r->winner, "amy");
    assert_string_equal(r->text, "early");
    swarm_agg_result_destroy(r);
    it[0].hlc = it[1].hlc = 5; /* same clock: node name decides */
    it[0].node = "carl";
    r = agg_ok(&s, it, 3);
    assert_string_equal(r->winner, "amy");
    swarm_agg_result_destroy(r);
    it[0].node = "aaron";
    r = agg_ok(&s, it, 3);
    assert_string_equal(r->winner, "aaron");
    assert_int_equal(r->winner_index, 0);
    swarm_agg_result_destroy(r);
}

// --- votes ---------------------------------------------------------------------------

static void test_vote_trims_and_counts(void **state)
{
    (void)state;
    swarm_agg_item it[] = {txt("a", " good", 0.2), txt("b", "bad", 0.9), txt("c", "good \n", 0.3),
                           txt("d", "bad ", 0.1), txt("e", "good", 0.1)};
    swarm_agg_spec s = spec_of(SWARM_AGG_VOTE);
    swarm_agg_result *r = agg_ok(&s, it, 5);
    assert_string_equal(r->text, "good");
    assert_string_equal(r->winner, "c"); /* heaviest supporter */
    assert_true(fabs(r->support - 0.6) < 1e-12);
    swarm_agg_result_destroy(r);
    s.method = SWARM_AGG_WEIGHTED_VOTE; /* bad: 1.0 vs good: 0.6 */
    r = agg_ok(&s, it, 5);
    assert_string_equal(r->text, "bad");
    assert_string_equal(r->winner, "b");
    assert_true(fabs(r->support - 1.0 / 1.6) < 1e-12);
    swarm_agg_result_destroy(r);
}

static void test_vote_ties(void **state)
{
    (void)state;
    /* 2 vs 2 votes: the heavier class wins a plain vote tie. */
    swarm_agg_item it[] = {txt("a", "x", 1), txt("b", "y", 2), txt("c", "x", 1), txt("d", "y", 1)};
    swarm_agg_spec s = spec_of(SWARM_AGG_VOTE);
    swarm_agg_result *r = agg_ok(&s, it, 4);
    assert_string_equal(r->text, "y");
    swarm_agg_result_destroy(r);
    /* Equal count and weight: the class voted first (in hlc order) wins. */
    it[1].weight = 1;
    it[0].hlc = 9;
    it[1].hlc = 1;
    it[2].hlc = 9;
    it[3].hlc = 9;
    r = agg_ok(&s, it, 4);
    assert_string_equal(r->text, "y");
    swarm_agg_result_destroy(r);
    it[1].hlc = 10;
    it[3].hlc = 10;
    r = agg_ok(&s, it, 4);
    assert_string_equal(r->text, "x");
    swarm_agg_result_destroy(r);
    /* Weighted vote tie on weight: more votes win. */
    swarm_agg_item w[] = {txt("a", "x", 2), txt("b", "y", 1), txt("c", "y", 1)};
    s.method = SWARM_AGG_WEIGHTED_VOTE;
    r = agg_ok(&s, w, 3);
    assert_string_equal(r->text, "y");
    swarm_agg_result_destroy(r);
}

static void test_vote_numbers_with_decision(void **state)
{
    (void)state;
    swarm_agg_item it[] = {num("a", -1, 1), num("b", 1, 1), num("c", -1, 1)};
    swarm_agg_spec s = spec_of(SWARM_AGG_VOTE);
    s.decide = SWARM_AGG_DECIDE_SIGN;
    swarm_agg_result *r = agg_ok(&s, it, 3);
    assert_false(r->is_text);
    assert_true(r->value == -1);
    assert_string_equal(r->decision, "negative");
    swarm_agg_result_destroy(r);
}

// --- hybrid, consensus, judge, hierarchical ---------------------------------------------

static void test_hybrid_top_k(void **state)
{
    (void)state;
    swarm_agg_item it[] = {num("a", 10, 0.1), num("b", 1, 0.4), num("c", 3, 0.4), num("d", 100, 0.1)};
    swarm_agg_spec s = spec_of(SWARM_AGG_HYBRID);
    s.top_k = 2;
    swarm_agg_result *r = agg_ok(&s, it, 4);
    assert_true(r->value == 2); /* (0.4*1 + 0.4*3) / 0.8 */
    assert_true(fabs(r->support - 0.8) < 1e-12);
    swarm_agg_result_destroy(r);
    s.top_k = 0; /* default: half, rounded up = 2 */
    r = agg_ok(&s, it, 4);
    assert_true(r->value == 2);
    swarm_agg_result_destroy(r);
    s.top_k = 99; /* more than n: everything */
    r = agg_ok(&s, it, 4);
    assert_true(fabs(r->value - (1.0 + 0.4 + 1.2 + 10)) < 1e-9);
    swarm_agg_result_destroy(r);
}

static void test_consensus_picks_the_medoid(void **state)
{
    (void)state;
    swarm_agg_item it[] = {txt("a", "The cat sat on the mat.", 1),
                           txt("b", "Dogs ran in parks!", 1),
                           txt("c", "the cat sat on a mat", 1),
                           txt("d", "The cat is on the mat.", 1)};
    swarm_agg_spec s = spec_of(SWARM_AGG_CONSENSUS);
    swarm_agg_result *r = agg_ok(&s, it, 4);
    assert_string_equal(r->winner, "a");
    assert_string_equal(r->text, "The cat sat on the mat.");
    assert_true(r->support > 0.5 && r->support <= 1.0);
    swarm_agg_result_destroy(r);
    /* Weight moves it: the outlier with almost all the weight wins. */
    it[1].weight = 100;
    r = agg_ok(&s, it, 4);
    assert_string_equal(r->winner, "b");
    swarm_agg_result_destroy(r);
    /* Hybrid over text = consensus among the top k by weight. */
    it[1].weight = 1;
    it[0].weight = 0.1;
    s.method = SWARM_AGG_HYBRID;
    s.top_k = 3;
    r = agg_ok(&s, it, 4);
    assert_true(strcmp(r->winner, "c") == 0 || strcmp(r->winner, "d") == 0);
    swarm_agg_result_destroy(r);
}

static void test_judge(void **state)
{
    (void)state;
    swarm_agg_item it[] = {txt("a", "one", 1), txt("b", "two", 1), txt("c", "three", 5)};
    it[0].has_score = it[1].has_score = it[2].has_score = true;
    it[0].score = -0.5;
    it[1].score = -0.2;
    it[2].score = -0.9;
    swarm_agg_spec s = spec_of(SWARM_AGG_JUDGE);
    swarm_agg_result *r = agg_ok(&s, it, 3);
    assert_string_equal(r->winner, "b");
    swarm_agg_result_destroy(r);
    it[2].has_score = false;
    agg_err(&s, it, 3, "judge needs a score");
}

static void test_hierarchical(void **state)
{
    (void)state;
    /* Group 0: mean 0.5 (weight 2); group 1: mean 1.0 (weight 1) -> 2/3. */
    swarm_agg_item it[] = {num("a", 0, 1), num("b", 1, 1), num("c", 1, 0.5), num("d", 1, 0.5)};
    it[2].group = it[3].group = 1;
    swarm_agg_spec s = spec_of(SWARM_AGG_HIERARCHICAL);
    s.decide = SWARM_AGG_DECIDE_THRESHOLD;
    s.threshold = 0.6;
    swarm_agg_result *r = agg_ok(&s, it, 4);
    assert_true(r->value == swarm_agg_round(2.0 / 3.0));
    assert_string_equal(r->decision, "alert");
    swarm_agg_result_destroy(r);
    /* Max-weight across groups picks group 0's value; winner is group 0's
     * inner winner when the inner method selects. */
    s.inner = SWARM_AGG_MAX_WEIGHT;
    s.outer = SWARM_AGG_MAX_WEIGHT;
    s.decide = SWARM_AGG_DECIDE_NONE;
    it[1].weight = 1.5;
    r = agg_ok(&s, it, 4);
    assert_string_equal(r->winner, "b");
    assert_true(r->value == 1);
    swarm_agg_result_destroy(r);
    /* Text falls back to max-weight for a weighted-average stage. */
    swarm_agg_item t[] = {txt("a", "x", 1), txt("b", "y", 2), txt("c", "z", 2.5)};
    t[2].group = 1;
    s = spec_of(SWARM_AGG_HIERARCHICAL);
    r = agg_ok(&s, t, 3);
    assert_string_equal(r->text, "y"); /* group 0 weighs 3 > 2.5 */
    swarm_agg_result_destroy(r);
}

// --- rejected input --------------------------------------------------------------------

static void test_rejects(void **state)
{
    (void)state;
    swarm_agg_spec s = spec_of(SWARM_AGG_WEIGHTED_AVERAGE);
    swarm_agg_item ok[] = {num("a", 1, 1), num("b", 2, 1)};
    agg_err(&s, ok, 0, "no results");

    swarm_agg_item z[] = {num("a", 1, 0), num("b", 2, 0)};
    agg_err(&s, z, 2, "all 2 weights are zero");

    swarm_agg_item neg[] = {num("a", 1, 1), num("b", 2, -0.5)};
    agg_err(&s, neg, 2, "weight must be a finite number >= 0");

    swarm_agg_item nanv[] = {num("a", NAN, 1)};
    agg_err(&s, nanv, 1, "not a finite number");

    swarm_agg_item infw[] = {num("a", 1, INFINITY)};
    agg_err(&s, infw, 1, "weight must be a finite");

    swarm_agg_item nanp[] = {pr("a", 1, NAN, 1)};
    agg_err(&s, nanp, 1, "p and r must be finite");

    swarm_agg_item negp[] = {pr("a", 1, -1, 1)};
    agg_err(&s, negp, 1, "p and r must be finite numbers >= 0");

    swarm_agg_item mixed[] = {num("a", 1, 1), txt("b", "x", 1)};
    agg_err(&s, mixed, 2, "all be numbers or all be text");

    swarm_agg_item text[] = {txt("a", "x", 1)};
    agg_err(&s, text, 1, "needs numeric results");

    swarm_agg_item notext[] = {txt("a", NULL, 1)};
    agg_err(&s, notext, 1, "has no text");

    swarm_agg_spec d = spec_of(SWARM_AGG_MAX_WEIGHT);
    d.decide = SWARM_AGG_DECIDE_SIGN;
    agg_err(&d, text, 1, "needs a numeric result");

    swarm_agg_spec c = spec_of(SWARM_AGG_CONSENSUS);
    agg_err(&c, ok, 2, "consensus needs text");

    swarm_agg_spec bad = spec_of((swarm_agg_method)77);
    agg_err(&bad, ok, 2, "unknown aggregation method");

    swarm_agg_spec h = spec_of(SWARM_AGG_HIERARCHICAL);
    h.inner = SWARM_AGG_HIERARCHICAL;
    agg_err(&h, ok, 2, "non-hierarchical");

    swarm_agg_spec pw = spec_of(SWARM_AGG_WEIGHTED_AVERAGE);
    pw.weighting = SWARM_AGG_F_POWER;
    pw.pow_a = -1;
    swarm_agg_item zp[] = {pr("a", 1, 0, 1)};
    agg_err(&pw, zp, 1, "not finite"); /* 0^-1 */

    swarm_agg_spec th = spec_of(SWARM_AGG_WEIGHTED_AVERAGE);
    th.decide = SWARM_AGG_DECIDE_THRESHOLD;
    th.threshold = NAN;
    agg_err(&th, ok, 2, "threshold must be a finite");

    swarm_agg_spec k = spec_of(SWARM_AGG_HYBRID);
    k.top_k = -1;
    agg_err(&k, ok, 2, "top_k");

    swarm_agg_item big[] = {num("a", 1, 1e308), num("b", 1, 1e308)};
    agg_err(&s, big, 2, "overflows");
}

static void test_alloc_failures(void **state)
{
    (void)state;
    swarm_agg_item it[] = {txt("a", "The cat sat.", 1), txt("b", "The cat ran.", 2),
                           txt("c", "A dog sat.", 1)};
    it[2].group = 1;
    swarm_agg_method ms[] = {SWARM_AGG_CONSENSUS, SWARM_AGG_VOTE, SWARM_AGG_HIERARCHICAL,
                             SWARM_AGG_HYBRID};
    for (size_t m = 0; m < sizeof(ms) / sizeof(ms[0]); m++) {
        swarm_agg_spec s = spec_of(ms[m]);
        bool done = false;
        for (long i = 0; i < 200 && !done; i++) {
            swarm_agg_result *r = NULL;
            sw_alloc_fail_after(i);
            swarm_err rc = swarm_aggregate(&s, it, 3, &r, NULL);
            sw_alloc_fail_after(-1);
            if (rc == SWARM_OK) {
                done = true;
                swarm_agg_result_destroy(r);
            } else {
                assert_int_equal(rc, SWARM_ENOMEM);
                assert_null(r);
            }
        }
        assert_true(done);
    }
}

static void test_method_names(void **state)
{
    (void)state;
    for (int m = 0; m < SWARM_AGG_METHOD_COUNT; m++) {
        swarm_agg_method back;
        CHECK_OK(swarm_agg_method_from_name(swarm_agg_method_name((swarm_agg_method)m), &back));
        assert_int_equal(back, m);
    }
    swarm_agg_method x;
    CHECK_ERR(swarm_agg_method_from_name("average", &x), SWARM_EINVAL);
    CHECK_ERR(swarm_agg_method_from_name(NULL, &x), SWARM_EINVAL);
}

/* Regression (fuzzjson): the weighted average of values near DBL_MAX. The
 * partial sums overflowed, and the infinite magnitude snapped the mean to 0:
 * 31 results of DBL_MAX averaged to 0. A mean stays within the values. */
static void test_average_near_dbl_max(void **state)
{
    (void)state;
    swarm_agg_item it[62];
    static const char *const names[2] = {"a", "b"};
    for (size_t i = 0; i < 62; i++) it[i] = num(names[i % 2], i % 2 ? -DBL_MAX : DBL_MAX, 1.0 + (double)(i % 3));
    swarm_agg_spec s = spec_of(SWARM_AGG_WEIGHTED_AVERAGE);
    swarm_agg_result *r = agg_ok(&s, it, 31); /* 16 x DBL_MAX, 15 x -DBL_MAX */
    assert_true(isfinite(r->value) && r->value > 0 && r->value <= DBL_MAX);
    swarm_agg_result_destroy(r);
    for (size_t i = 0; i < 31; i++) it[i] = num("c", DBL_MAX, 1.0 + (double)(i % 3));
    r = agg_ok(&s, it, 31);
    assert_true(r->value == swarm_agg_round(DBL_MAX));
    swarm_agg_result_destroy(r);
    s = spec_of(SWARM_AGG_HYBRID);
    s.top_k = 20;
    r = agg_ok(&s, it, 31);
    assert_true(r->value == swarm_agg_round(DBL_MAX));
    swarm_agg_result_destroy(r);
}

/* Regression (fuzzjson): consensus compares every pair of word sets; 2000
 * candidates of 500 distinct words each (5 MB of input) ran for seconds. It
 * is now refused up front, by the amount of work, with a message. */
static void test_consensus_work_bound(void **state)
{
    (void)state;
    size_t n = 2000, len = 0;
    char *text = sw_malloc(500 * 8);
    assert_non_null(text);
    for (int w = 0; w < 500; w++) len += (size_t)sprintf(text + len, "w%d ", w);
    swarm_agg_item *it = sw_calloc(n, sizeof(*it));
    assert_non_null(it);
    for (size_t i = 0; i < n; i++) it[i] = txt("n", text, 1.0);
    swarm_agg_spec s = spec_of(SWARM_AGG_CONSENSUS);
    agg_err(&s, it, n, "too much work");
    /* a modest case still runs */
    swarm_agg_result *r = agg_ok(&s, it, 50);
    assert_string_equal(r->text, text);
    swarm_agg_result_destroy(r);
    sw_free(it);
    sw_free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_paper_sentiment),
        cmocka_unit_test(test_paper_translation),
        cmocka_unit_test(test_paper_anomaly),
        cmocka_unit_test(test_weightings),
        cmocka_unit_test(test_explicit_weights_are_normalised),
        cmocka_unit_test(test_sign_neutral_absorbs_rounding_noise),
        cmocka_unit_test(test_number_format),
        cmocka_unit_test(test_order_independent),
        cmocka_unit_test(test_max_weight_tie_earliest_hlc_then_node),
        cmocka_unit_test(test_vote_trims_and_counts),
        cmocka_unit_test(test_vote_ties),
        cmocka_unit_test(test_vote_numbers_with_decision),
        cmocka_unit_test(test_hybrid_top_k),
        cmocka_unit_test(test_consensus_picks_the_medoid),
        cmocka_unit_test(test_judge),
        cmocka_unit_test(test_hierarchical),
        cmocka_unit_test(test_rejects),
        cmocka_unit_test(test_alloc_failures),
        cmocka_unit_test(test_method_names),
        cmocka_unit_test(test_average_near_dbl_max),
        cmocka_unit_test(test_consensus_work_bound),
    };
    return CHECK_RUN(tests, NULL, NULL);
}
