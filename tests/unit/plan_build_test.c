/* plan_build_test.c: the subtask DAG of each strategy (names, kinds,
 * dependencies, groups, levels, outputs, estimates) and prompt rendering
 * from dependency outputs, including injection safety and alloc failures. */
#include <string.h>

#include "check.h"
#include "core/core_int.h"
#include "swarm/plan.h"

static swarm_plan *build(const char *json, swarm_task **out_task)
{
    swarm_task *t = NULL;
    swarm_plan *p = NULL;
    swarm_diag d = {{0}};
    swarm_err rc = swarm_task_parse(json, strlen(json), &t, &d);
    if (rc == SWARM_OK) rc = swarm_plan_build(t, &p, &d);
    if (rc != SWARM_OK) {
        print_error("%s\n  %s\n", d.msg, json);
        fail();
    }
    if (out_task) *out_task = t;
    else swarm_task_destroy(t);
    return p;
}

static char *render(const swarm_plan *p, size_t i, const char *const *outs)
{
    char *s = NULL;
    CHECK_OK(swarm_plan_render(p, i, outs, &s));
    return s;
}

/* Every plan: ids are positions and dependencies point backwards. */
static void check_topological(const swarm_plan *p)
{
    for (size_t i = 0; i < swarm_plan_count(p); i++) {
        const swarm_subtask *s = swarm_plan_get(p, i);
        assert_int_equal(s->id, (int32_t)i);
        for (size_t j = 0; j < s->n_deps; j++) assert_true(s->deps[j] < s->id);
        assert_true(s->est_tokens > 0);
        assert_int_equal(s->redundancy >= 1, 1);
    }
    assert_null(swarm_plan_get(p, swarm_plan_count(p)));
}

static void test_single(void **state)
{
    (void)state;
    swarm_plan *p = build("{\"input\": \"Tom had a dog.\", \"prompt\": \"Story: {{input}} Then\", "
                          "\"redundancy\": 2, \"limits\": {\"max_tokens\": 10}}",
                          NULL);
    check_topological(p);
    assert_int_equal(swarm_plan_count(p), 1);
    const swarm_subtask *s = swarm_plan_get(p, 0);
    assert_string_equal(s->name, "main");
    assert_string_equal(s->prompt, "Story: Tom had a dog. Then");
    assert_string_equal(s->skill, "general");
    assert_int_equal(s->redundancy, 2);
    assert_int_equal(s->max_tokens, 10);
    assert_int_equal(s->est_tokens, 6 + 10);
    assert_true(s->is_output);
    assert_int_equal(s->level, -1);
    char *r = render(p, 0, NULL);
    assert_string_equal(r, s->prompt);
    swarm_free(r);
    swarm_plan_destroy(p);
}

static void test_ensemble_classify(void **state)
{
    (void)state;
    swarm_plan *p = build("{\"input\": \"Lily had fun.\", \"kind\": \"classify\", \"skill\": \"s\","
                          " \"labels\": [\" good\", \" bad\"], \"prompt\": \"{{input}} It was\","
                          " \"decomposition\": {\"strategy\": \"ensemble\", \"k\": 4}}",
                          NULL);
    check_topological(p);
    assert_int_equal(swarm_plan_count(p), 4);
    for (size_t i = 0; i < 4; i++) {
        const swarm_subtask *s = swarm_plan_get(p, i);
        char name[16];
        snprintf(name, sizeof(name), "member-%zu", i);
        assert_string_equal(s->name, name);
        assert_int_equal(s->kind, SWARM_SUBTASK_CLASSIFY);
        assert_int_equal(s->n_labels, 2);
        assert_string_equal(s->labels[0], " good");
        assert_string_equal(s->labels[1], " bad");
        assert_string_equal(s->prompt, "Lily had fun. It was");
        assert_int_equal(s->n_deps, 0);
        assert_int_equal(s->group, 0);
        assert_true(s->is_output);
    }
    swarm_plan_destroy(p);
}

static void test_map_reduce(void **state)
{
    (void)state;
    swarm_task *t = NULL;
    swarm_plan *p = build("{\"input\": \"One. Two. Three. Four. Five.\", \"kind\": \"generate\","
                          " \"decomposition\": {\"strategy\": \"map-reduce\","
                          " \"chunk\": {\"by\": \"sentences\", \"size\": 2, \"overlap\": 1},"
                          " \"map_prompt\": \"Part: {{chunk}}\","
                          " \"reduce_prompt\": \"All of {{input}} gives: {{results}} End\"}}",
                          &t);
    check_topological(p);
    assert_int_equal(swarm_task_decomp(t), SWARM_DECOMP_MAP_REDUCE);
    assert_int_equal(swarm_plan_decomp(p), SWARM_DECOMP_MAP_REDUCE);
    swarm_task_destroy(t); /* the plan owns copies */
    assert_int_equal(swarm_plan_count(p), 5);
    const char *want[] = {"Part: One. Two.", "Part: Two. Three.", "Part: Three. Four.",
                          "Part: Four. Five."};
    for (size_t i = 0; i < 4; i++) {
        const swarm_subtask *s = swarm_plan_get(p, i);
        assert_string_equal(s->prompt, want[i]);
        assert_false(s->is_output);
        assert_int_equal(s->group, 0);
        assert_int_equal(s->n_deps, 0);
    }
    const swarm_subtask *r = swarm_plan_get(p, 4);
    assert_string_equal(r->name, "reduce");
    assert_int_equal(r->n_deps, 4);
    for (size_t j = 0; j < 4; j++) assert_int_equal(r->deps[j], (int32_t)j);
    assert_true(r->is_output);
    assert_int_equal(r->group, 1);
    const char *outs[5] = {"A", "B", "C", "D", NULL};
    char *txt = render(p, 4, outs);
    assert_string_equal(txt, "All of One. Two. Three. Four. Five. gives: A\n\nB\n\nC\n\nD End");
    swarm_free(txt);
    /* A dependency not done yet: refused. */
    outs[2] = NULL;
    char *none = NULL;
    CHECK_ERR(swarm_plan_render(p, 4, outs, &none), SWARM_EINVAL);
    assert_null(none);
    CHECK_ERR(swarm_plan_render(p, 4, NULL, &none), SWARM_EINVAL);
    CHECK_ERR(swarm_plan_render(p, 5, outs, &none), SWARM_EINVAL);
    swarm_plan_destroy(p);
}

/* reduce_fanin: a tree of reduces, at most F results each, so no reduce
 * prompt carries every map result (issue 13, defect 3). 20 maps, F = 4:
 * round 1 has 5 reduces, round 2 has 2, the final reduce takes those 2. */
static void test_map_reduce_tree(void **state)
{
    (void)state;
    char in[256] = "";
    for (int i = 0; i < 20; i++) snprintf(in + strlen(in), sizeof(in) - strlen(in), "%sw%d", i ? " " : "", i);
    char j[1024];
    snprintf(j, sizeof(j),
             "{\"input\": \"%s\", \"decomposition\": {\"strategy\": \"map-reduce\", \"chunk\":"
             " {\"by\": \"tokens\", \"size\": 1, \"overlap\": 0}, \"map_prompt\": \"{{chunk}}\","
             " \"reduce_prompt\": \"[{{results}}]\", \"reduce_fanin\": 4}}",
             in);
    swarm_task *t = NULL;
    swarm_plan *p = build(j, &t);
    check_topological(p);
    assert_int_equal(swarm_plan_count(p), 20 + 5 + 2 + 1);
    const char *want_name[] = {"reduce-1-0", "reduce-1-1", "reduce-1-2", "reduce-1-3", "reduce-1-4",
                               "reduce-2-0", "reduce-2-1", "reduce"};
    const size_t want_deps[] = {4, 4, 4, 4, 4, 4, 1, 2};
    for (size_t k = 0; k < 8; k++) {
        const swarm_subtask *s = swarm_plan_get(p, 20 + k);
        assert_string_equal(s->name, want_name[k]);
        assert_int_equal(s->n_deps, want_deps[k]);
        assert_true(s->is_output == (k == 7));
        assert_true(s->n_deps <= 4);
    }
    /* in input order: reduce-2-0 takes round 1's first four, reduce-2-1 the fifth */
    const swarm_subtask *r20 = swarm_plan_get(p, 25);
    for (size_t q = 0; q < 4; q++) assert_int_equal(r20->deps[q], 20 + (int32_t)q);
    assert_int_equal(swarm_plan_get(p, 26)->deps[0], 24);
    /* rendering follows the tree */
    const char *outs[28] = {NULL};
    char names[20][8];
    for (int i = 0; i < 20; i++) {
        snprintf(names[i], sizeof(names[i]), "m%d", i);
        outs[i] = names[i];
    }
    char *txt = render(p, 20, outs);
    assert_string_equal(txt, "[m0\n\nm1\n\nm2\n\nm3]");
    swarm_free(txt);
    swarm_task_destroy(t);
    swarm_plan_destroy(p);
    /* refused: fan-in 1, and a fan-in without a reduce */
    const char *bad[] = {"{\"input\": \"a b\", \"decomposition\": {\"strategy\": \"map-reduce\", \"chunk\":"
                         " {\"by\": \"tokens\", \"size\": 1}, \"map_prompt\": \"{{chunk}}\", \"reduce_prompt\":"
                         " \"{{results}}\", \"reduce_fanin\": 1}}",
                         "{\"input\": \"a b\", \"decomposition\": {\"strategy\": \"map-reduce\", \"chunk\":"
                         " {\"by\": \"tokens\", \"size\": 1}, \"map_prompt\": \"{{chunk}}\", \"reduce_fanin\": 4}}",
                         "{\"input\": \"a\", \"decomposition\": {\"strategy\": \"single\", \"reduce_fanin\": 4}}"};
    for (size_t k = 0; k < 3; k++) {
        swarm_task *bt = NULL;
        swarm_diag d = {{0}};
        CHECK_ERR(swarm_task_parse(bad[k], strlen(bad[k]), &bt, &d), SWARM_EFORMAT);
        assert_non_null(strstr(d.msg, "reduce_fanin"));
    }
}

/* A task's sampling overrides: kept field by field, bad ones refused by name. */
static void test_task_sampling(void **state)
{
    (void)state;
    swarm_task *t = NULL;
    swarm_diag d = {{0}};
    const char *ok = "{\"input\": \"q\", \"sampling\": {\"temperature\": 0.5, \"seed\": 9}}";
    CHECK_OK(swarm_task_parse(ok, strlen(ok), &t, &d));
    const swarm_task_sampling *sm = swarm_task_sampling_of(t);
    assert_int_equal(sm->set, SWARM_SAMPLING_TEMPERATURE | SWARM_SAMPLING_SEED);
    assert_true(sm->temperature == 0.5 && sm->seed == 9);
    swarm_task_destroy(t);
    const char *bad[] = {"{\"input\": \"q\", \"sampling\": {\"temperature\": -1}}",
                         "{\"input\": \"q\", \"sampling\": {\"top_p\": 0}}",
                         "{\"input\": \"q\", \"sampling\": {\"top_k\": 1.5}}",
                         "{\"input\": \"q\", \"sampling\": {\"heat\": 1}}",
                         "{\"input\": \"q\", \"sampling\": 1}"};
    for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
        t = NULL;
        CHECK_ERR(swarm_task_parse(bad[k], strlen(bad[k]), &t, &d), SWARM_EFORMAT);
        assert_non_null(strstr(d.msg, "sampling"));
    }
}

static void test_map_only_classify(void **state)
{
    (void)state;
    /* Without reduce_prompt the maps are the results (aggregated by the spec). */
    swarm_plan *p = build("{\"input\": \"a b c d e\", \"kind\": \"classify\", \"labels\": [\"x\", "
                          "\"y\"], \"decomposition\": {\"strategy\": \"map-reduce\", \"chunk\": "
                          "{\"by\": \"tokens\", \"size\": 2}, \"map_prompt\": \"{{chunk}}\"}}",
                          NULL);
    assert_int_equal(swarm_plan_count(p), 3);
    for (size_t i = 0; i < 3; i++) {
        const swarm_subtask *s = swarm_plan_get(p, i);
        assert_true(s->is_output);
        assert_int_equal(s->kind, SWARM_SUBTASK_CLASSIFY);
        assert_int_equal(s->n_labels, 2);
    }
    assert_string_equal(swarm_plan_get(p, 2)->prompt, "e");
    swarm_plan_destroy(p);
}

static void test_map_reduce_empty_input(void **state)
{
    (void)state;
    const char *j = "{\"input\": \"  \\n \", \"decomposition\": {\"strategy\": \"map-reduce\","
                    " \"chunk\": {\"by\": \"paragraphs\", \"size\": 1}, \"map_prompt\": "
                    "\"{{chunk}}\", \"reduce_prompt\": \"{{results}}\"}}";
    swarm_task *t = NULL;
    swarm_plan *p = NULL;
    swarm_diag d = {{0}};
    CHECK_OK(swarm_task_parse(j, strlen(j), &t, &d));
    CHECK_ERR(swarm_plan_build(t, &p, &d), SWARM_EINVAL);
    assert_null(p);
    assert_non_null(strstr(d.msg, "input is empty"));
    swarm_task_destroy(t);
}

static void test_map_reduce_prompt_budget(void **state)
{
    (void)state;
    /* 1 MB of input, 400 chunks whose prompts each repeat the whole input:
     * 400 MB of prompts is refused instead of allocated. */
    size_t n = 1 << 20;
    char *j = sw_malloc(n + 512);
    assert_non_null(j);
    int k = snprintf(j, 512, "{\"decomposition\": {\"strategy\": \"map-reduce\", \"chunk\": "
                             "{\"by\": \"tokens\", \"size\": 1}, \"map_prompt\": \"{{chunk}} "
                             "of {{input}}\"}, \"input\": \"");
    size_t at = (size_t)k;
    for (size_t i = 0; i < n; i++) j[at++] = (i % 2600 == 2599) ? ' ' : 'w';
    at += (size_t)snprintf(j + at, 16, "\"}");
    swarm_task *t = NULL;
    swarm_plan *p = NULL;
    swarm_diag d = {{0}};
    CHECK_OK(swarm_task_parse(j, at, &t, &d));
    CHECK_ERR(swarm_plan_build(t, &p, &d), SWARM_EINVAL);
    assert_non_null(strstr(d.msg, "map prompts would total"));
    swarm_task_destroy(t);
    sw_free(j);
}

/* JSON text of a task whose prompt-like field `field` holds `reps` copies of
 * `var` and whose input is `words` words of 10 bytes; sw_malloc'd. */
static char *repeat_task(const char *head, const char *var, size_t reps, const char *mid,
                         size_t words, size_t *out_len)
{
    size_t cap = strlen(head) + reps * strlen(var) + strlen(mid) + words * 10 + 64;
    char *j = sw_malloc(cap);
    assert_non_null(j);
    size_t at = (size_t)snprintf(j, cap, "%s", head);
    for (size_t i = 0; i < reps; i++) at += (size_t)snprintf(j + at, cap - at, "%s", var);
    at += (size_t)snprintf(j + at, cap - at, "%s", mid);
    for (size_t i = 0; i < words; i++) at += (size_t)snprintf(j + at, cap - at, "wwwwwwwww ");
    at += (size_t)snprintf(j + at, cap - at, "\"}");
    *out_len = at;
    return j;
}

/* Regression (fuzzjson): a short template repeating a variable multiplied a
 * large value with no bound: 300 {{input}} over 1 MB of input asked for 300 MB
 * for one prompt; 300 {{chunk}} in map_prompt slipped past the map-reduce
 * budget, which counted each chunk once; 300 {{steps.a}} over a 1 MB output at
 * render time. All three are refused before anything that size is allocated. */
static void test_repeated_variable_budget(void **state)
{
    (void)state;
    size_t len;
    swarm_task *t = NULL;
    swarm_plan *p = NULL;
    swarm_diag d = {{0}};

    char *j = repeat_task("{\"decomposition\": {\"strategy\": \"ensemble\", \"k\": 2}, "
                          "\"prompt\": \"",
                          "{{input}}", 300, "\", \"input\": \"", 100000, &len);
    CHECK_OK(swarm_task_parse(j, len, &t, &d));
    CHECK_ERR(swarm_plan_build(t, &p, &d), SWARM_EINVAL);
    assert_non_null(strstr(d.msg, "larger than the limit"));
    swarm_task_destroy(t);
    sw_free(j);

    j = repeat_task("{\"decomposition\": {\"strategy\": \"map-reduce\", \"chunk\": {\"by\": "
                    "\"tokens\", \"size\": 50000}, \"map_prompt\": \"",
                    "{{chunk}}", 300, "\"}, \"input\": \"", 100000, &len);
    CHECK_OK(swarm_task_parse(j, len, &t, &d));
    CHECK_ERR(swarm_plan_build(t, &p, &d), SWARM_EINVAL);
    assert_non_null(strstr(d.msg, "map prompts would total"));
    swarm_task_destroy(t);
    sw_free(j);

    j = repeat_task("{\"input\": \"x\", \"decomposition\": {\"strategy\": \"pipeline\", "
                    "\"steps\": [{\"name\": \"a\", \"prompt\": \"{{input}}\"}, {\"name\": "
                    "\"b\", \"depends_on\": [\"a\"], \"prompt\": \"",
                    "{{steps.a}}", 300, "\"}]}, \"name\": \"", 1, &len);
    CHECK_OK(swarm_task_parse(j, len, &t, &d));
    CHECK_OK(swarm_plan_build(t, &p, &d));
    size_t big = 1 << 20;
    char *out0 = sw_malloc(big + 1);
    assert_non_null(out0);
    memset(out0, 'o', big);
    out0[big] = '\0';
    const char *outs[2] = {out0, NULL};
    char *r = NULL;
    CHECK_ERR(swarm_plan_render(p, 1, outs, &r), SWARM_EINVAL);
    assert_null(r);
    swarm_plan_destroy(p);
    swarm_task_destroy(t);
    sw_free(out0);
    sw_free(j);
}

static void test_pipeline_order_and_render(void **state)
{
    (void)state;
    /* Declared out of order: "final" first; plan order must be topological
     * and otherwise follow declaration order. */
    swarm_plan *p = build(
        "{\"input\": \"a cat\", \"skill\": \"story\", \"decomposition\": {\"strategy\": "
        "\"pipeline\", \"steps\": ["
        " {\"name\": \"final\", \"prompt\": \"{{steps.mid}} / {{steps.start}} / {{results}}\","
        "  \"depends_on\": [\"start\", \"mid\"], \"kind\": \"classify\", \"labels\": [\"p\", \"q\"]},"
        " {\"name\": \"start\", \"prompt\": \"There was {{input}}.\", \"max_tokens\": 5},"
        " {\"name\": \"side\", \"prompt\": \"Side {{input}}\", \"skill\": \"other\"},"
        " {\"name\": \"mid\", \"prompt\": \"{{ steps.start }} Then {{input}}\", \"depends_on\": "
        "[\"start\"]}]}}",
        NULL);
    check_topological(p);
    assert_int_equal(swarm_plan_count(p), 4);
    const char *order[] = {"start", "side", "mid", "final"};
    for (size_t i = 0; i < 4; i++) assert_string_equal(swarm_plan_get(p, i)->name, order[i]);
    const swarm_subtask *start = swarm_plan_get(p, 0), *side = swarm_plan_get(p, 1),
                        *mid = swarm_plan_get(p, 2), *fin = swarm_plan_get(p, 3);
    assert_string_equal(start->prompt, "There was a cat.");
    assert_int_equal(start->max_tokens, 5);
    assert_false(start->is_output);
    assert_true(side->is_output); /* a sink */
    assert_string_equal(side->skill, "other");
    assert_string_equal(mid->skill, "story");
    assert_false(mid->is_output);
    assert_true(fin->is_output);
    assert_int_equal(fin->kind, SWARM_SUBTASK_CLASSIFY);
    assert_int_equal(fin->n_deps, 2);
    assert_int_equal(fin->deps[0], 0);
    assert_int_equal(fin->deps[1], 2);
    /* Outputs that contain template syntax are not re-scanned. */
    const char *outs[4] = {"S {{input}}", "unused", "M {{steps.start}}", NULL};
    char *r = render(p, 2, outs);
    assert_string_equal(r, "S {{input}} Then a cat");
    swarm_free(r);
    r = render(p, 3, outs);
    assert_string_equal(r, "M {{steps.start}} / S {{input}} / S {{input}}\n\nM {{steps.start}}");
    swarm_free(r);
    swarm_plan_destroy(p);
}

static void test_cascade(void **state)
{
    (void)state;
    /* The input itself holds "{{": prompts are final and never re-rendered. */
    swarm_task *t = NULL;
    swarm_plan *p = build("{\"input\": \"odd {{ text\", \"kind\": \"classify\", \"labels\": "
                          "[\" good\", \" bad\"], \"decomposition\": {\"strategy\": \"cascade\", "
                          "\"levels\": 3, \"threshold\": 0.75}}",
                          &t);
    check_topological(p);
    assert_true(swarm_task_cascade_threshold(t) == 0.75);
    swarm_task_destroy(t);
    assert_int_equal(swarm_plan_count(p), 3);
    for (size_t i = 0; i < 3; i++) {
        const swarm_subtask *s = swarm_plan_get(p, i);
        assert_int_equal(s->level, (int32_t)i);
        assert_string_equal(s->prompt, "odd {{ text");
        assert_int_equal(s->n_deps, i == 0 ? 0 : 1);
        if (i > 0) assert_int_equal(s->deps[0], (int32_t)i - 1);
        char *r = render(p, i, NULL);
        assert_string_equal(r, "odd {{ text");
        swarm_free(r);
    }
    swarm_plan_destroy(p);
}

static void test_alloc_failures(void **state)
{
    (void)state;
    const char *tasks[] = {
        /* each task is one literal split over lines (parenthesised for clang) */
        ("{\"input\": \"a b c d e f\", \"decomposition\": {\"strategy\": \"map-reduce\", \"chunk\": "
         "{\"by\": \"tokens\", \"size\": 2, \"overlap\": 1}, \"map_prompt\": \"{{chunk}}\", "
         "\"reduce_prompt\": \"{{results}}\"}}"),
        ("{\"input\": \"x\", \"decomposition\": {\"strategy\": \"pipeline\", \"steps\": [{\"name\": "
         "\"a\", \"prompt\": \"{{input}}\"}, {\"name\": \"b\", \"prompt\": \"{{steps.a}}\", "
         "\"depends_on\": [\"a\"]}]}}"),
        ("{\"input\": \"x\", \"kind\": \"classify\", \"labels\": [\"a\", \"b\"], \"decomposition\": "
         "{\"strategy\": \"ensemble\", \"k\": 5}}"),
    };
    for (size_t k = 0; k < sizeof(tasks) / sizeof(tasks[0]); k++) {
        bool done = false;
        for (long i = 0; i < 500 && !done; i++) {
            swarm_task *t = NULL;
            swarm_plan *p = NULL;
            sw_alloc_fail_after(i);
            swarm_err rc = swarm_task_parse(tasks[k], strlen(tasks[k]), &t, NULL);
            if (rc == SWARM_OK) rc = swarm_plan_build(t, &p, NULL);
            sw_alloc_fail_after(-1);
            if (rc == SWARM_OK) {
                done = true;
                const char *outs[8] = {"o", "o", "o", "o", "o", "o", "o", "o"};
                char *r = NULL;
                CHECK_OK(swarm_plan_render(p, swarm_plan_count(p) - 1, outs, &r));
                swarm_free(r);
            } else {
                assert_int_equal(rc, SWARM_ENOMEM);
                assert_null(p);
            }
            swarm_plan_destroy(p);
            swarm_task_destroy(t);
        }
        assert_true(done);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_single),
        cmocka_unit_test(test_ensemble_classify),
        cmocka_unit_test(test_map_reduce),
        cmocka_unit_test(test_map_reduce_tree),
        cmocka_unit_test(test_task_sampling),
        cmocka_unit_test(test_map_only_classify),
        cmocka_unit_test(test_map_reduce_empty_input),
        cmocka_unit_test(test_map_reduce_prompt_budget),
        cmocka_unit_test(test_repeated_variable_budget),
        cmocka_unit_test(test_pipeline_order_and_render),
        cmocka_unit_test(test_cascade),
        cmocka_unit_test(test_alloc_failures),
    };
    return CHECK_RUN(tests, NULL, NULL);
}
