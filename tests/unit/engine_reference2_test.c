/*
 * engine_reference2_test.c: the forward pass against llama.cpp's logits for
 * the 20 tiny GGUF files in ../shared/models/reference2/ (architectures
 * qwen3, gemma3, phi3, gemma2 as F32 / Q8_0 / Q4_K, and tiny-llama in Q4_1,
 * Q5_0, Q5_1, Q5_K, Q3_K, Q2_K, IQ4_NL, IQ4_XS), checked as engine_reference_test
 * checks ../reference: 16 tokens in one batched call (max abs logit error,
 * argmax agreement), then a 5-token prompt and 24 greedy steps through the
 * KV cache (greedy prefix). Every case runs on every kernel path this CPU
 * has (scalar reference, AVX2, AVX-512); paths it lacks are reported as
 * skipped by name. Prints one line per file and path to stderr.
 *
 * Tolerances (per file below, with the measured worst case over the three
 * paths and 1-2 threads on an AMD EPYC with AVX-512, no AMX):
 * - F32 qwen3 / phi3: 2e-5, about 5x the measured error (float order).
 *   F32 gemma2 / gemma3: 1e-3; the GELU here is the exact tanh form,
 *   llama.cpp reads an FP16 table (measured 1.8e-4 / 3.9e-4; emulating the
 *   table brings both to 2e-5, so the rest of the graph is exact).
 * - Quantized files: 2x the measured error, at least 0.05 (gemma2: 0.04, under
 *   the 0.044 a missing attention soft-cap would cost). Most match
 *   llama.cpp to ~1e-6 (same activation quantization, same integer sums);
 *   when a float-order difference of one ulp moves one activation across a
 *   rounding boundary of its 8-bit quantization, logits move by ~1e-2, which
 *   is the size of the larger figures (up to 3.0e-2) and of the floor.
 * - argmax: all 16 for F32, one near-tie allowed for quantized files.
 * - Greedy, free-running: all 24 ids for F32; quantized at least 8 (the
 *   README calls greedy ids a soft check there: measured 11 for gemma3-Q8_0,
 *   17 for Q4_1 on the ref path, 12 for Q5_0 on the avx512 path, 24 elsewhere).
 * - Greedy, teacher-forced (llama.cpp's ids fed back): at every step
 *   llama.cpp's id must be within 2 x tol of our top logit, i.e. every
 *   divergence is a near-tie our logit error can explain, never a wrong pick.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "engine/forward.h"
#include "engine_ref.h"
#include "engine/kernels/kernels.h"

#define N_VOCAB 512
#define N_POS 16

typedef struct ref2_case {
    const char *file;  /* under models/reference2/ (or reference/ for the F32 json) */
    const char *json;  /* NULL: same stem as file */
    double tol;        /* max abs logit error allowed */
    int min_argmax;    /* of 16 */
    int min_prefix;    /* of 24 greedy ids */
} ref2_case;

static const ref2_case cases[] = {
    {"tiny-qwen3-F32", NULL, 2e-5, 16, 24},    /* measured 4.3e-6 (ref path) */
    {"tiny-qwen3-Q8_0", NULL, 0.05, 15, 8},    /* 7.4e-7 */
    {"tiny-qwen3-Q4_K", NULL, 0.05, 15, 8},    /* 1.6e-6 */
    {"tiny-gemma3-F32", NULL, 1e-3, 16, 24},   /* 1.8e-4: exact GELU vs llama.cpp's FP16 table */
    {"tiny-gemma3-Q8_0", NULL, 0.05, 15, 8},   /* 7.0e-3, greedy prefix 11 (GELU, see below) */
    {"tiny-gemma3-Q4_K", NULL, 0.05, 14, 8},   /* 1.3e-2, argmax 15/16 on avx512 */
    {"tiny-phi3-F32", NULL, 2e-5, 16, 24},     /* 4.2e-6 */
    {"tiny-phi3-Q8_0", NULL, 0.05, 15, 8},     /* 6.2e-3 (ref, avx512), 5e-7 (avx2) */
    {"tiny-phi3-Q4_K", NULL, 0.05, 15, 8},     /* 2.4e-2 */
    {"tiny-gemma2-F32", NULL, 1e-3, 16, 24},   /* 3.9e-4 */
    {"tiny-gemma2-Q8_0", NULL, 0.04, 15, 8},   /* 1.5e-2 */
    {"tiny-gemma2-Q4_K", NULL, 0.04, 15, 8},   /* 2.0e-2 (a missing attention soft-cap moves 0.044) */
    {"tiny-llama-Q4_1", NULL, 0.05, 15, 8},    /* 9.7e-7, greedy prefix 17 on ref */
    {"tiny-llama-Q5_0", NULL, 0.05, 15, 8},    /* 2.8e-3, greedy prefix 12 on avx512 */
    {"tiny-llama-Q5_1", NULL, 0.06, 15, 8},    /* 3.0e-2 */
    {"tiny-llama-Q5_K", NULL, 0.05, 15, 8},    /* 1.6e-6 */
    {"tiny-llama-Q3_K", NULL, 0.05, 15, 8},    /* 1.6e-2 (avx2/avx512), 1.7e-6 (ref) */
    {"tiny-llama-Q2_K", NULL, 0.05, 15, 8},    /* 1.7e-6 */
    {"tiny-llama-IQ4_NL", NULL, 0.05, 15, 8},  /* 2.4e-2 (avx2/avx512), 8.5e-7 (ref) */
    {"tiny-llama-IQ4_XS", NULL, 0.05, 15, 8},  /* 1.1e-6 */
};
#define N_CASES (sizeof(cases) / sizeof(cases[0]))



typedef struct result {
    double max_err;
    int argmax_ok, prefix;
    double gap; /* at the first divergence: our top logit - ours for llama.cpp's id */
    double forced_gap; /* the same, largest over the teacher-forced steps */
} result;

static result run_one(loaded *L, const int32_t *ids, const double *want, const int32_t *prompt,
                      const double *greedy, int n_threads)
{
    result r = {0};
    sw_fwd *f = NULL;
    CHECK_OK(sw_fwd_create(&L->hp, &L->w, L->freq, 256, 16, n_threads, &f));
    const float *lg = sw_fwd_eval(f, ids, N_POS, 0, SW_LOGITS_ALL);
    for (int t = 0; t < N_POS; t++) {
        const float *row = lg + (size_t)t * N_VOCAB;
        const double *w = want + (size_t)t * N_VOCAB;
        int wa = 0;
        for (int v = 0; v < N_VOCAB; v++) {
            double e = fabs((double)row[v] - w[v]);
            if (!(e <= r.max_err)) r.max_err = e; /* NaN propagates */
            if (w[v] > w[wa]) wa = v;
        }
        r.argmax_ok += sw_argmax(row, N_VOCAB) == wa;
    }
    const float *last = sw_fwd_eval(f, prompt, 5, 0, SW_LOGITS_LAST);
    bool diverged = false;
    for (int step = 0; step < 24; step++) {
        int32_t next = sw_argmax(last, N_VOCAB);
        if (!diverged && next == (int32_t)greedy[step]) {
            r.prefix++;
        } else if (!diverged) {
            diverged = true;
            r.gap = (double)last[next] - (double)last[(int32_t)greedy[step]];
        }
        last = sw_fwd_eval(f, &next, 1, 5 + step, SW_LOGITS_LAST);
    }
    /* teacher-forced: llama.cpp's own ids fed back */
    last = sw_fwd_eval(f, prompt, 5, 0, SW_LOGITS_LAST);
    for (int step = 0; step < 24; step++) {
        int32_t want_id = (int32_t)greedy[step];
        double gap = (double)last[sw_argmax(last, N_VOCAB)] - (double)last[want_id];
        if (!(gap <= r.forced_gap)) r.forced_gap = gap;
        last = sw_fwd_eval(f, &want_id, 1, 5 + step, SW_LOGITS_LAST);
    }
    sw_fwd_destroy(f);
    return r;
}

static const char *const paths[] = {"ref", "avx2", "avx512"};

static void run_case(const ref2_case *c)
{
    char rel[160], path[512], jpath[512];
    snprintf(rel, sizeof(rel), "models/reference2/%s.gguf", c->file);
    REQUIRE_SHARED(path, rel);
    snprintf(rel, sizeof(rel), "models/reference2/%s.json", c->json ? c->json : c->file);
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
    int32_t ids[N_POS], prompt[5];
    for (int i = 0; i < N_POS; i++) ids[i] = (int32_t)toks[i];
    for (int i = 0; i < 5; i++) prompt[i] = (int32_t)gp[i];

    loaded L;
    load(path, &L);
    assert_int_equal(L.hp.n_vocab, N_VOCAB);
    bool failed = false;
    for (size_t p = 0; p < sizeof(paths) / sizeof(paths[0]); p++) {
        if (!sw_kernels_select(paths[p])) {
            fprintf(stderr, "reference2 %-18s SKIP path %s: not available on this CPU or build\n",
                    c->file, paths[p]);
            continue;
        }
        for (int nt = 1; nt <= 2; nt++) {
            result r = run_one(&L, ids, want, prompt, gg, nt);
            bool ok = r.max_err <= c->tol && r.argmax_ok >= c->min_argmax &&
                      r.prefix >= c->min_prefix && r.forced_gap <= 2 * c->tol;
            fprintf(stderr,
                    "reference2 %-18s %-6s threads %d: max abs err %.3e (tol %.0e), argmax "
                    "%2d/16 (min %d), greedy prefix %2d/24 (min %d)",
                    c->file, paths[p], nt, r.max_err, c->tol, r.argmax_ok, c->min_argmax,
                    r.prefix, c->min_prefix);
            if (r.prefix < 24) fprintf(stderr, ", top-1 gap at divergence %.2e", r.gap);
            fprintf(stderr, ", teacher-forced gap %.2e (max %.0e)", r.forced_gap, 2 * c->tol);
            fprintf(stderr, "%s\n", ok ? "" : "  FAIL");
            failed |= !ok;
        }
    }
    sw_kernels_select("auto");
    unload(&L);
    assert_false(failed);
}

static void test_reference2_case(void **st)
{
    run_case((const ref2_case *)*st);
}

int main(void)
{
    struct CMUnitTest tests[N_CASES];
    for (size_t i = 0; i < N_CASES; i++) {
        struct CMUnitTest t = cmocka_unit_test_prestate(test_reference2_case, (void *)&cases[i]);
        t.name = cases[i].file;
        tests[i] = t;
    }
    return check_exit(_cmocka_run_group_tests("engine_reference2", tests, N_CASES, NULL, NULL),
                      N_CASES);
}
