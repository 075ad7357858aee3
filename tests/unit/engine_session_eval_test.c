/*
 * engine_session_eval_test.c: the public token-id entry point
 * (swarm_session_eval / swarm_session_n_filled): one batch equals the same
 * ids one at a time, greedy decoding through it reproduces swarm_generate's
 * tokens, rewinding recomputes, a new architecture (reference2 qwen3) runs
 * through the public API, batched decoding of several sessions
 * (swarm_sessions_eval_next) equals each alone, and every bad argument is
 * SWARM_EINVAL.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/core_int.h"
#include "swarm/engine.h"

static swarm_model *load(const char *path)
{
    swarm_model_params mp = swarm_model_params_default();
    mp.path = path;
    swarm_model *m = NULL;
    swarm_diag d = {{0}};
    swarm_err rc = swarm_model_load(&mp, &m, &d);
    if (rc != SWARM_OK) print_error("%s: %s\n", swarm_err_name(rc), d.msg);
    assert_int_equal(rc, SWARM_OK);
    return m;
}

static swarm_session *session(swarm_model *m, int32_t n_ctx, int32_t threads)
{
    swarm_session_params sp = {.n_ctx = n_ctx, .n_threads = threads};
    swarm_session *s = NULL;
    CHECK_OK(swarm_session_create(m, &sp, &s));
    return s;
}

static int32_t argmax(const float *x, int32_t n)
{
    int32_t b = 0;
    for (int32_t i = 1; i < n; i++)
        if (x[i] > x[b]) b = i;
    return b;
}

static double max_diff(const float *a, const float *b, int32_t n)
{
    double m = 0;
    for (int32_t i = 0; i < n; i++) m = fmax(m, fabs((double)a[i] - b[i]));
    return m;
}

static void test_eval_batch_sequential_generate(void **st)
{
    (void)st;
    char path[512];
    REQUIRE_SHARED(path, "models/stories260K.gguf");
    swarm_model *m = load(path);
    swarm_session *s = session(m, 64, 2);
    int32_t *ids = NULL;
    size_t n = 0;
    CHECK_OK(swarm_model_tokenize(m, "Once upon a time, there was a little dog", &ids, &n));
    assert_true(n >= 5 && n < 40);
    assert_int_equal(swarm_session_n_filled(s), 0);

    int32_t nv = 0;
    CHECK_OK(swarm_session_eval(s, ids, (int32_t)n, 0));
    assert_int_equal(swarm_session_n_filled(s), (int32_t)n);
    const float *lg = swarm_session_logits(s, &nv);
    assert_non_null(lg);
    float *batch = malloc(sizeof(float) * (size_t)nv);
    memcpy(batch, lg, sizeof(float) * (size_t)nv);

    for (size_t i = 0; i < n; i++) CHECK_OK(swarm_session_eval(s, ids + i, 1, (int32_t)i));
    double d = max_diff(batch, swarm_session_logits(s, NULL), nv);
    fprintf(stderr, "batch vs one at a time: max abs diff %.3e\n", d);
    assert_true(d < 1e-5);

    /* rewind to position 2 and continue: equals a fresh evaluation */
    CHECK_OK(swarm_session_eval(s, ids + 2, (int32_t)n - 2, 2));
    d = max_diff(batch, swarm_session_logits(s, NULL), nv);
    assert_true(d < 1e-5);

    /* greedy through eval reproduces swarm_generate at temperature 0 */
    swarm_gen_params gp = {.prompt = "Once upon a time, there was a little dog", .max_tokens = 12};
    gp.sampling = swarm_sampling_default();
    gp.sampling.temperature = 0.0f;
    swarm_gen_result *r = NULL;
    CHECK_OK(swarm_generate(s, &gp, &r));
    assert_int_equal(swarm_session_n_filled(s), 0); /* generate took the cache */
    assert_int_equal(r->n_prompt, n);
    CHECK_OK(swarm_session_eval(s, ids, (int32_t)n, 0));
    for (size_t k = n; k < r->n_tokens; k++) {
        int32_t next = argmax(swarm_session_logits(s, NULL), nv);
        assert_int_equal(next, r->tokens[k]);
        CHECK_OK(swarm_session_eval(s, &next, 1, (int32_t)k));
    }
    fprintf(stderr, "greedy via swarm_session_eval = swarm_generate for %zu tokens\n",
            r->n_tokens - n);
    assert_true(r->n_tokens > n);
    swarm_gen_result_destroy(r);

    /* score overwrites the cache too */
    double lp = 0;
    CHECK_OK(swarm_score(s, "Once upon", " a time", &lp, NULL));
    assert_int_equal(swarm_session_n_filled(s), 0);
    CHECK_ERR(swarm_session_eval(s, ids, 1, 1), SWARM_EINVAL);

    free(batch);
    swarm_free(ids);
    swarm_session_destroy(s);
    swarm_model_destroy(m);
}

static void test_eval_bad_arguments(void **st)
{
    (void)st;
    char path[512];
    REQUIRE_SHARED(path, "models/stories260K.gguf");
    swarm_model *m = load(path);
    swarm_session *s = session(m, 16, 1);
    int32_t nv = swarm_model_get_info(m)->n_vocab;
    int32_t ok[4] = {1, 2, 3, 4}, bad_hi[2] = {1, nv}, bad_lo[2] = {1, -1};
    int32_t big[17] = {0};
    CHECK_ERR(swarm_session_eval(NULL, ok, 1, 0), SWARM_EINVAL);
    CHECK_ERR(swarm_session_eval(s, NULL, 1, 0), SWARM_EINVAL);
    CHECK_ERR(swarm_session_eval(s, ok, 0, 0), SWARM_EINVAL);
    CHECK_ERR(swarm_session_eval(s, ok, -3, 0), SWARM_EINVAL);
    CHECK_ERR(swarm_session_eval(s, ok, 1, -1), SWARM_EINVAL);
    CHECK_ERR(swarm_session_eval(s, ok, 1, 1), SWARM_EINVAL); /* nothing filled yet */
    CHECK_ERR(swarm_session_eval(s, bad_hi, 2, 0), SWARM_EINVAL);
    CHECK_ERR(swarm_session_eval(s, bad_lo, 2, 0), SWARM_EINVAL);
    CHECK_ERR(swarm_session_eval(s, big, 17, 0), SWARM_EINVAL); /* past n_ctx 16 */
    assert_int_equal(swarm_session_n_filled(s), 0);
    CHECK_OK(swarm_session_eval(s, ok, 4, 0));
    CHECK_ERR(swarm_session_eval(s, ok, 4, 5), SWARM_EINVAL); /* a gap */
    CHECK_ERR(swarm_session_eval(s, big, 13, 4), SWARM_EINVAL); /* 4 + 13 > 16 */
    CHECK_OK(swarm_session_eval(s, big, 12, 4));                /* exactly full */
    assert_int_equal(swarm_session_n_filled(s), 16);
    CHECK_ERR(swarm_session_eval(s, ok, 1, 16), SWARM_EINVAL);
    assert_int_equal(swarm_session_n_filled(NULL), 0);
    swarm_session_destroy(s);
    swarm_model_destroy(m);
}

/* A new architecture through the public API: the reference2 qwen3 file's
 * 16 logits rows, row by row, within the reference test's F32 tolerance. */
static void test_eval_qwen3_reference(void **st)
{
    (void)st;
    char path[512], jpath[512];
    REQUIRE_SHARED(path, "models/reference2/tiny-qwen3-F32.gguf");
    REQUIRE_SHARED(jpath, "models/reference2/tiny-qwen3-F32.json");
    swarm_model *m = load(path);
    assert_string_equal(swarm_model_get_info(m)->arch, "qwen3");
    swarm_session *s = session(m, 32, 2);
    char *json = NULL;
    size_t len = 0;
    CHECK_OK(sw_read_file(jpath, &json, &len, NULL));
    /* "tokens": [16 ids], "logits": [[512] x 16] */
    const char *p = strstr(json, "\"tokens\":");
    assert_non_null(p);
    p = strchr(p, '[') + 1;
    int32_t ids[16];
    for (int i = 0; i < 16; i++) {
        char *end;
        ids[i] = (int32_t)strtol(p, &end, 10);
        p = end + 1;
    }
    p = strstr(json, "\"logits\":");
    assert_non_null(p);
    p = strchr(p, '[') + 1;
    double worst = 0;
    for (int t = 0; t < 16; t++) {
        CHECK_OK(swarm_session_eval(s, ids + t, 1, t));
        const float *lg = swarm_session_logits(s, NULL);
        p = strchr(p, '[') + 1;
        for (int v = 0; v < 512; v++) {
            char *end;
            double want = strtod(p, &end);
            p = end + 1;
            worst = fmax(worst, fabs(want - lg[v]));
        }
    }
    fprintf(stderr, "qwen3 F32 through swarm_session_eval: max abs err %.3e\n", worst);
    assert_true(worst < 2e-5);
    sw_free(json);
    swarm_session_destroy(s);
    swarm_model_destroy(m);
}

/* Batched decoding through the public API: three sessions at different
 * positions step together; each equals a lone session fed the same ids. */
static void test_sessions_eval_next(void **st)
{
    (void)st;
    char path[512];
    REQUIRE_SHARED(path, "models/stories260K.gguf");
    swarm_model *m = load(path);
    enum { K = 3 };
    swarm_session *batch[K], *alone[K];
    int32_t next[K], nv = swarm_model_get_info(m)->n_vocab;
    const char *prompts[K] = {"Once upon a time", "The little dog", "Lily and Tom went to the park"};
    for (int i = 0; i < K; i++) {
        batch[i] = session(m, 64, i == 0 ? 2 : 1);
        alone[i] = session(m, 64, 1);
        int32_t *ids = NULL;
        size_t n = 0;
        CHECK_OK(swarm_model_tokenize(m, prompts[i], &ids, &n));
        CHECK_OK(swarm_session_eval(batch[i], ids, (int32_t)n, 0));
        CHECK_OK(swarm_session_eval(alone[i], ids, (int32_t)n, 0));
        next[i] = argmax(swarm_session_logits(alone[i], NULL), nv);
        swarm_free(ids);
    }
    double worst = 0;
    for (int step = 0; step < 10; step++) {
        CHECK_OK(swarm_sessions_eval_next(batch, next, K));
        for (int i = 0; i < K; i++) {
            CHECK_OK(swarm_session_eval(alone[i], &next[i], 1, swarm_session_n_filled(alone[i])));
            assert_int_equal(swarm_session_n_filled(batch[i]), swarm_session_n_filled(alone[i]));
            const float *a = swarm_session_logits(batch[i], NULL);
            const float *b = swarm_session_logits(alone[i], NULL);
            worst = fmax(worst, max_diff(a, b, nv));
            next[i] = argmax(b, nv);
        }
    }
    fprintf(stderr, "swarm_sessions_eval_next: 3 sessions x 10 steps, max abs diff %.3e\n", worst);
    assert_true(worst < 1e-5);
    /* errors: a session twice, different n_ctx, bad id, n out of range */
    swarm_session *twice[2] = {batch[0], batch[0]};
    int32_t two[2] = {1, 2};
    CHECK_ERR(swarm_sessions_eval_next(twice, two, 2), SWARM_EINVAL);
    swarm_session *other = session(m, 32, 1);
    swarm_session *mixed[2] = {batch[1], other};
    CHECK_ERR(swarm_sessions_eval_next(mixed, two, 2), SWARM_EINVAL);
    int32_t bad[2] = {1, nv};
    CHECK_ERR(swarm_sessions_eval_next(batch, bad, 2), SWARM_EINVAL);
    CHECK_ERR(swarm_sessions_eval_next(batch, two, 0), SWARM_EINVAL);
    CHECK_ERR(swarm_sessions_eval_next(NULL, two, 1), SWARM_EINVAL);
    swarm_session_destroy(other);
    for (int i = 0; i < K; i++) {
        swarm_session_destroy(batch[i]);
        swarm_session_destroy(alone[i]);
    }
    swarm_model_destroy(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_eval_batch_sequential_generate),
        cmocka_unit_test(test_eval_bad_arguments),
        cmocka_unit_test(test_eval_qwen3_reference),
        cmocka_unit_test(test_sessions_eval_next),
    };
    return CHECK_RUN(tests, NULL, NULL);
}
