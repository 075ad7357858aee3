/*
 * engine_reference_test.c: the forward pass against llama.cpp's logits for
 * the 21 tiny GGUF files in ../shared/models/reference/ (llama, tied llama,
 * qwen2 x F32 F16 BF16 Q8_0 Q4_0 Q4_K Q6_K): 16 tokens in one batched call,
 * then a 5-token prompt and 24 greedy steps through the KV cache. Prints a
 * per-file table (max abs error, argmax and greedy agreement) to stderr.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "engine/forward.h"
#include "engine_ref.h"

#define N_VOCAB 512
#define N_POS 16

typedef struct ref_case {
    const char *variant; /* tiny-llama, tiny-llama-tied, tiny-qwen2 */
    const char *type;
    double tol;          /* max abs logit error allowed */
    int min_prefix;      /* greedy ids that must match llama.cpp's, from the start */
} ref_case;

/* Per-file tolerances: twice the error measured on this engine (AVX-512 and
 * AMX paths, 2026-12), with a floor of 1e-5 for files that agree to float
 * rounding (measured 5e-7..3.2e-6). A biased kernel moves the error well
 * past these; the old blanket 0.15 let it through. Measured max abs errors:
 * Q8_0 2.24e-2 / 1.00e-2 / 2.62e-2, Q4_K llama 4.23e-2, Q6_K llama 3.48e-3
 * (llama / tied / qwen2). Greedy: every file follows llama.cpp's 24 ids
 * except tiny-qwen2 Q8_0, which leaves them at step 16 here (at 21 on an AMD
 * machine without AMX: an open question of the engine issue), so its floor
 * is the measured prefix. */
static const ref_case ref_cases[] = {
    {"tiny-llama", "F32", 1e-5, 24},      {"tiny-llama-tied", "F32", 1e-5, 24},
    {"tiny-qwen2", "F32", 1e-5, 24},      {"tiny-llama", "F16", 1e-5, 24},
    {"tiny-llama-tied", "F16", 1e-5, 24}, {"tiny-qwen2", "F16", 1e-5, 24},
    {"tiny-llama", "BF16", 1e-5, 24},     {"tiny-llama-tied", "BF16", 1e-5, 24},
    {"tiny-qwen2", "BF16", 1e-5, 24},     {"tiny-llama", "Q8_0", 0.045, 24},
    {"tiny-llama-tied", "Q8_0", 0.02, 24}, {"tiny-qwen2", "Q8_0", 0.053, 16},
    {"tiny-llama", "Q4_0", 1e-5, 24},     {"tiny-llama-tied", "Q4_0", 1e-5, 24},
    {"tiny-qwen2", "Q4_0", 1e-5, 24},     {"tiny-llama", "Q4_K", 0.085, 24},
    {"tiny-llama-tied", "Q4_K", 1e-5, 24}, {"tiny-qwen2", "Q4_K", 1e-5, 24},
    {"tiny-llama", "Q6_K", 0.007, 24},    {"tiny-llama-tied", "Q6_K", 1e-5, 24},
    {"tiny-qwen2", "Q6_K", 1e-5, 24},
};

/* ------------------------------------------------------------------------ */


static void run_case(const ref_case *c, int n_threads)
{
    char rel[128], path[512], jpath[512];
    snprintf(rel, sizeof(rel), "models/reference/%s-%s.gguf", c->variant, c->type);
    REQUIRE_SHARED(path, rel);
    snprintf(rel, sizeof(rel), "models/reference/%s-%s.json", c->variant, c->type);
    REQUIRE_SHARED(jpath, rel);
    char *json = NULL;
    size_t jlen = 0;
    CHECK_OK(sw_read_file(jpath, &json, &jlen, NULL));
    static double want[N_POS * N_VOCAB];
    double toks[N_POS], gp[8], gg[32];
    assert_int_equal(check_json_numbers(json, "tokens", toks, N_POS), N_POS);
    assert_int_equal(check_json_numbers(json, "logits", want, N_POS * N_VOCAB), N_POS * N_VOCAB);
    assert_int_equal(check_json_numbers(json, "greedy_prompt", gp, 8), 5);
    assert_int_equal(check_json_numbers(json, "greedy", gg, 32), 24);
    sw_free(json);

    loaded L;
    load(path, &L);
    /* the three variants exercise tied output, biases and NEOX rope */
    bool tied = strstr(c->variant, "tied") != NULL, qwen = strstr(c->variant, "qwen2") != NULL;
    assert_int_equal(L.hp.tied_output, tied);
    assert_int_equal(L.hp.has_qkv_bias, qwen);
    assert_int_equal(L.hp.rope_style, qwen ? SW_ROPE_NEOX : SW_ROPE_NORMAL);
    assert_int_equal(L.hp.n_vocab, N_VOCAB);

    sw_fwd *f = NULL;
    CHECK_OK(sw_fwd_create(&L.hp, &L.w, L.freq, 256, 16, n_threads, &f));
    int32_t ids[N_POS];
    for (int i = 0; i < N_POS; i++) ids[i] = (int32_t)toks[i];
    const float *lg = sw_fwd_eval(f, ids, N_POS, 0, SW_LOGITS_ALL);
    double max_err = 0.0;
    int argmax_ok = 0;
    for (int t = 0; t < N_POS; t++) {
        const float *row = lg + (size_t)t * N_VOCAB;
        const double *w = want + (size_t)t * N_VOCAB;
        int wa = 0;
        for (int v = 0; v < N_VOCAB; v++) {
            double e = fabs((double)row[v] - w[v]);
            if (!(e <= max_err)) max_err = e; /* NaN propagates */
            if (w[v] > w[wa]) wa = v;
        }
        argmax_ok += sw_argmax(row, N_VOCAB) == wa;
    }

    /* greedy: prompt as one batch, then one token at a time */
    int32_t prompt[5];
    for (int i = 0; i < 5; i++) prompt[i] = (int32_t)gp[i];
    const float *last = sw_fwd_eval(f, prompt, 5, 0, SW_LOGITS_LAST);
    int greedy_ok = 0, prefix = 0;
    bool diverged = false;
    for (int step = 0; step < 24; step++) {
        int32_t next = sw_argmax(last, N_VOCAB);
        if (next == (int32_t)gg[step]) greedy_ok++;
        if (!diverged && next == (int32_t)gg[step]) prefix++;
        else diverged = true;
        last = sw_fwd_eval(f, &next, 1, 5 + step, SW_LOGITS_LAST);
    }
    fprintf(stderr, "reference %-16s %-5s threads %d: max abs err %.3e (tol %.0e), argmax %2d/16, "
            "greedy prefix %2d/24\n",
            c->variant, c->type, n_threads, max_err, c->tol, argmax_ok, prefix);
    sw_fwd_destroy(f);
    unload(&L);
    assert_true(max_err <= c->tol);
    assert_int_equal(argmax_ok, N_POS);
    assert_true(prefix >= c->min_prefix);
}

static void run_type(const char *type)
{
    int found = 0;
    for (size_t i = 0; i < sizeof(ref_cases) / sizeof(ref_cases[0]); i++) {
        if (strcmp(ref_cases[i].type, type) != 0) continue;
        run_case(&ref_cases[i], 2);
        found++;
    }
    assert_int_equal(found, 3);
}

static void test_reference_f32(void **st) { (void)st; run_type("F32"); }
static void test_reference_f16(void **st) { (void)st; run_type("F16"); }
static void test_reference_bf16(void **st) { (void)st; run_type("BF16"); }
static void test_reference_q8_0(void **st) { (void)st; run_type("Q8_0"); }
static void test_reference_q4_0(void **st) { (void)st; run_type("Q4_0"); }
static void test_reference_q4_k(void **st) { (void)st; run_type("Q4_K"); }
static void test_reference_q6_k(void **st) { (void)st; run_type("Q6_K"); }

/* One thread must give the same logits as two (the split is over rows and
 * heads, never inside a sum). */
static void test_reference_threads_agree(void **st)
{
    (void)st;
    char path[512];
    REQUIRE_SHARED(path, "models/reference/tiny-qwen2-Q4_K.gguf");
    loaded L;
    load(path, &L);
    sw_fwd *f1 = NULL, *f2 = NULL;
    CHECK_OK(sw_fwd_create(&L.hp, &L.w, L.freq, 64, 16, 1, &f1));
    CHECK_OK(sw_fwd_create(&L.hp, &L.w, L.freq, 64, 16, 2, &f2));
    int32_t ids[40];
    for (int i = 0; i < 40; i++) ids[i] = (i * 37 + 1) % N_VOCAB;
    for (int i = 0; i < 40; i += 8) {
        const float *a = sw_fwd_eval(f1, ids + i, 8, i, SW_LOGITS_ALL);
        const float *b = sw_fwd_eval(f2, ids + i, 8, i, SW_LOGITS_ALL);
        assert_memory_equal(a, b, 8 * N_VOCAB * sizeof(float));
    }
    sw_fwd_destroy(f1);
    sw_fwd_destroy(f2);
    unload(&L);
}

/* A batch gives the same logits as the same tokens fed one at a time. */
static void test_reference_batch_equals_sequential(void **st)
{
    (void)st;
    char path[512];
    REQUIRE_SHARED(path, "models/reference/tiny-llama-F32.gguf");
    loaded L;
    load(path, &L);
    sw_fwd *f = NULL;
    CHECK_OK(sw_fwd_create(&L.hp, &L.w, L.freq, 64, 16, 2, &f));
    int32_t ids[12] = {1, 403, 407, 261, 378, 260, 300, 450, 12, 99, 500, 2};
    static float batch[12 * N_VOCAB];
    memcpy(batch, sw_fwd_eval(f, ids, 12, 0, SW_LOGITS_ALL), sizeof(batch));
    double max_err = 0.0;
    for (int t = 0; t < 12; t++) {
        const float *row = sw_fwd_eval(f, ids + t, 1, t, SW_LOGITS_LAST);
        for (int v = 0; v < N_VOCAB; v++) {
            double e = fabs((double)row[v] - batch[t * N_VOCAB + v]);
            if (e > max_err) max_err = e;
        }
    }
    sw_fwd_destroy(f);
    unload(&L);
    assert_true(max_err < 1e-5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reference_f32),
        cmocka_unit_test(test_reference_f16),
        cmocka_unit_test(test_reference_bf16),
        cmocka_unit_test(test_reference_q8_0),
        cmocka_unit_test(test_reference_q4_0),
        cmocka_unit_test(test_reference_q4_k),
        cmocka_unit_test(test_reference_q6_k),
        cmocka_unit_test(test_reference_threads_agree),
        cmocka_unit_test(test_reference_batch_equals_sequential),
    };
    return CHECK_RUN(tests, NULL, NULL);
}
