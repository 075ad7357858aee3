/* aggregate_json_test.c: the `swarm aggregate` input format (strict parsing,
 * every malformed-input class) and the --json rendering of a result. */
#include <string.h>

#include "check.h"
#include "core/core_int.h"
#include "swarm/aggregate.h"

static const char *SENTIMENT =
    "{\"method\": \"weighted-average\", \"decide\": \"sign\", \"results\": ["
    "{\"node\": \"SLM_1\", \"value\": 1, \"weight\": 0.5},"
    "{\"node\": \"SLM_2\", \"value\": -1, \"weight\": 0.3},"
    "{\"node\": \"SLM_3\", \"value\": 1, \"weight\": 0.2}]}";

static void test_parse_and_render_sentiment(void **state)
{
    (void)state;
    swarm_agg_input *in = NULL;
    swarm_diag d = {{0}};
    CHECK_OK(swarm_agg_input_parse(SENTIMENT, strlen(SENTIMENT), &in, &d));
    size_t n = 0;
    const swarm_agg_item *it = swarm_agg_input_items(in, &n);
    assert_int_equal(n, 3);
    assert_string_equal(it[1].node, "SLM_2");
    assert_true(it[1].value == -1 && it[1].has_weight && it[1].weight == 0.3);
    const swarm_agg_spec *s = swarm_agg_input_spec(in);
    assert_int_equal(s->method, SWARM_AGG_WEIGHTED_AVERAGE);
    assert_int_equal(s->decide, SWARM_AGG_DECIDE_SIGN);
    swarm_agg_result *r = NULL;
    CHECK_OK(swarm_aggregate(s, it, n, &r, &d));
    char *js = NULL;
    CHECK_OK(swarm_agg_result_json(r, it, &js));
    assert_string_equal(js, "{\"value\": 0.4, \"decision\": \"positive\", \"winner\": null, "
                            "\"support\": 1.0, \"weights\": [{\"node\": \"SLM_1\", \"weight\": "
                            "0.5}, {\"node\": \"SLM_2\", \"weight\": 0.3}, {\"node\": \"SLM_3\", "
                            "\"weight\": 0.2}]}");
    swarm_free(js);
    swarm_agg_result_destroy(r);
    swarm_agg_input_destroy(in);
}

static void test_parse_options(void **state)
{
    (void)state;
    const char *j = "{\"method\": \"hybrid\", \"top_k\": 2, \"weighting\": {\"p\": 2, \"r\": 0.5},"
                    " \"decide\": {\"threshold\": 0.25}, \"results\": ["
                    "{\"node\": \"a\", \"value\": 0.5, \"p\": 0.9, \"r\": 0.8, \"hlc\": 12, "
                    "\"group\": 3, \"score\": -1.5},"
                    "{\"node\": \"b\", \"value\": 0.1, \"weight\": 2}]}";
    swarm_agg_input *in = NULL;
    swarm_diag d = {{0}};
    CHECK_OK(swarm_agg_input_parse(j, strlen(j), &in, &d));
    const swarm_agg_spec *s = swarm_agg_input_spec(in);
    assert_int_equal(s->method, SWARM_AGG_HYBRID);
    assert_int_equal(s->top_k, 2);
    assert_int_equal(s->weighting, SWARM_AGG_F_POWER);
    assert_true(s->pow_a == 2 && s->pow_b == 0.5);
    assert_int_equal(s->decide, SWARM_AGG_DECIDE_THRESHOLD);
    assert_true(s->threshold == 0.25);
    size_t n;
    const swarm_agg_item *it = swarm_agg_input_items(in, &n);
    assert_false(it[0].has_weight);
    assert_true(it[0].p == 0.9 && it[0].r == 0.8 && it[0].hlc == 12 && it[0].group == 3);
    assert_true(it[0].has_score && it[0].score == -1.5);
    swarm_agg_input_destroy(in);

    /* vote, consensus and judge default a missing weight to 1. */
    const char *v = "{\"method\": \"vote\", \"results\": [{\"node\": \"a\", \"value\": \"x\"}]}";
    CHECK_OK(swarm_agg_input_parse(v, strlen(v), &in, &d));
    it = swarm_agg_input_items(in, &n);
    assert_true(it[0].has_weight && it[0].weight == 1 && it[0].is_text);
    swarm_agg_input_destroy(in);
}

static void expect_bad(const char *json, const char *want)
{
    swarm_agg_input *in = NULL;
    swarm_diag d = {{0}};
    swarm_err rc = swarm_agg_input_parse(json, strlen(json), &in, &d);
    if (rc != SWARM_EFORMAT || strstr(d.msg, want) == NULL) {
        print_error("input %s\n -> %s '%s', want EFORMAT with '%s'\n", json, swarm_err_name(rc),
                    d.msg, want);
        fail();
    }
    assert_null(in);
}

#define R1 "\"results\": [{\"node\": \"a\", \"value\": 1, \"weight\": 1}]"

static void test_rejects_bad_input(void **state)
{
    (void)state;
    expect_bad("", "line 1");
    expect_bad("{\"method\": ", "line 1");
    expect_bad("[1, 2]", "must be a JSON object");
    expect_bad("{" R1 "}", "missing \"method\"");
    expect_bad("{\"method\": \"avg\", " R1 "}", "unknown method 'avg'");
    expect_bad("{\"method\": 3, " R1 "}", "method must be a string");
    expect_bad("{\"method\": \"vote\", \"method\": \"vote\", " R1 "}", "duplicate");
    expect_bad("{\"method\": \"vote\", \"colour\": 1, " R1 "}", "unknown key \"colour\"");
    expect_bad("{\"method\": \"vote\"}", "missing \"results\"");
    expect_bad("{\"method\": \"vote\", \"results\": {}}", "results must be an array");
    expect_bad("{\"method\": \"vote\", \"results\": []}", "results is empty");
    expect_bad("{\"method\": \"vote\", \"results\": [7]}", "results[0] must be an object");
    expect_bad("{\"method\": \"vote\", \"results\": [{\"value\": 1}]}", "results[0].node is missing");
    expect_bad("{\"method\": \"vote\", \"results\": [{\"node\": 1, \"value\": 1}]}",
               "node must be a string");
    expect_bad("{\"method\": \"vote\", \"results\": [{\"node\": \"a\"}]}", "value is missing");
    expect_bad("{\"method\": \"vote\", \"results\": [{\"node\": \"a\", \"value\": true}]}",
               "value must be a number or a string");
    expect_bad("{\"method\": \"vote\", \"results\": [{\"node\": \"a\", \"value\": 1, \"x\": 1}]}",
               "results[0].x: unknown key");
    expect_bad("{\"method\": \"max-weight\", \"results\": [{\"node\": \"a\", \"value\": 1}]}",
               "weight (or p and r) is missing");
    expect_bad("{\"method\": \"max-weight\", \"results\": [{\"node\": \"a\", \"value\": 1, "
               "\"weight\": 1, \"p\": 1, \"r\": 1}]}",
               "either weight or p and r");
    expect_bad("{\"method\": \"max-weight\", \"results\": [{\"node\": \"a\", \"value\": 1, "
               "\"p\": 1}]}",
               "r is missing");
    expect_bad("{\"method\": \"max-weight\", \"results\": [{\"node\": \"a\", \"value\": 1, "
               "\"weight\": \"1\"}]}",
               "weight must be a number");
    expect_bad("{\"method\": \"max-weight\", \"results\": [{\"node\": \"a\", \"value\": 1, "
               "\"weight\": -1}]}",
               "weight must be >= 0");
    expect_bad("{\"method\": \"max-weight\", \"results\": [{\"node\": \"a\", \"value\": 1e999, "
               "\"weight\": 1}]}",
               "overflow");
    expect_bad("{\"method\": \"max-weight\", \"results\": [{\"node\": \"a\", \"value\": NaN, "
               "\"weight\": 1}]}",
               "line 1");
    expect_bad("{\"method\": \"vote\", \"results\": [{\"node\": \"a\", \"value\": 1, \"hlc\": -1}]}",
               "hlc must be an integer >= 0");
    expect_bad("{\"method\": \"vote\", \"results\": [{\"node\": \"a\", \"value\": 1, \"group\": "
               "1.5}]}",
               "group must be an integer");
    expect_bad("{\"method\": \"vote\", \"decide\": \"maybe\", " R1 "}", "decide must be");
    expect_bad("{\"method\": \"vote\", \"decide\": {\"threshold\": \"x\"}, " R1 "}",
               "threshold must be a number");
    expect_bad("{\"method\": \"vote\", \"decide\": {\"threshold\": 1, \"y\": 2}, " R1 "}",
               "exactly {\"threshold\"");
    expect_bad("{\"method\": \"vote\", \"weighting\": \"sum\", " R1 "}", "weighting must be");
    expect_bad("{\"method\": \"vote\", \"weighting\": {\"p\": 1}, " R1 "}", "weighting object");
    expect_bad("{\"method\": \"vote\", \"top_k\": 2, " R1 "}", "top_k only applies to method hybrid");
    expect_bad("{\"method\": \"hybrid\", \"top_k\": -2, " R1 "}", "top_k must be an integer");
    expect_bad("{\"method\": \"vote\", \"inner\": \"vote\", " R1 "}", "inner only applies");
    expect_bad("{\"method\": \"hierarchical\", \"outer\": \"hierarchical\", " R1 "}",
               "cannot itself be hierarchical");

    /* Deep nesting is refused before jansson recurses into it. */
    char deep[4000];
    size_t k = 0;
    k += (size_t)snprintf(deep, sizeof(deep), "{\"method\": \"vote\", \"results\": ");
    for (int i = 0; i < 1000; i++) deep[k++] = '[';
    deep[k] = '\0';
    expect_bad(deep, "nested deeper than 64");
    /* Brackets inside strings do not count. */
    const char *s = "{\"method\": \"vote\", \"results\": [{\"node\": \"[[[[[[[[[[[[[[[[[[[[[[[["
                    "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\", "
                    "\"value\": \"{\\\"\"}]}";
    swarm_agg_input *in = NULL;
    swarm_diag d = {{0}};
    CHECK_OK(swarm_agg_input_parse(s, strlen(s), &in, &d));
    swarm_agg_input_destroy(in);
}

static void test_render_text_result(void **state)
{
    (void)state;
    swarm_agg_item it[2];
    memset(it, 0, sizeof(it));
    it[0].node = "n\"1";
    it[0].is_text = true;
    it[0].text = "caf\xc3\xa9 \"quoted\"";
    it[0].has_weight = true;
    it[0].weight = 3;
    it[1] = it[0];
    it[1].node = "n2";
    it[1].text = "bad \xff byte";
    it[1].weight = 1;
    swarm_agg_spec s = swarm_agg_spec_default();
    s.method = SWARM_AGG_MAX_WEIGHT;
    swarm_agg_result *r = NULL;
    CHECK_OK(swarm_aggregate(&s, it, 2, &r, NULL));
    char *js = NULL;
    CHECK_OK(swarm_agg_result_json(r, it, &js));
    assert_string_equal(js, "{\"value\": \"caf\xc3\xa9 \\\"quoted\\\"\", \"decision\": null, "
                            "\"winner\": \"n\\\"1\", \"support\": 1.0, \"weights\": [{\"node\": "
                            "\"n\\\"1\", \"weight\": 0.75}, {\"node\": \"n2\", \"weight\": 0.25}]}");
    swarm_free(js);
    swarm_agg_result_destroy(r);
    /* Invalid UTF-8 becomes '?' instead of failing the report. */
    it[1].weight = 10;
    CHECK_OK(swarm_aggregate(&s, it, 2, &r, NULL));
    CHECK_OK(swarm_agg_result_json(r, it, &js));
    assert_non_null(strstr(js, "\"value\": \"bad ? byte\""));
    swarm_free(js);
    swarm_agg_result_destroy(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_and_render_sentiment),
        cmocka_unit_test(test_parse_options),
        cmocka_unit_test(test_rejects_bad_input),
        cmocka_unit_test(test_render_text_result),
    };
    return CHECK_RUN(tests, NULL, NULL);
}
