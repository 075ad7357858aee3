/*
 * engine_batch_test.c: batched decoding (sw_fwd_eval_multi): several
 * sequences at different positions decode in one forward pass, and every
 * row equals what decoding that sequence alone gives (sw_fwd_eval of one
 * token), step after step, for llama (F32, Q8_0), qwen2 biases, qwen3 q/k
 * norms and gemma2 sliding windows and soft-caps. Prints the largest
 * difference per file.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "engine/forward.h"

#define NSEQ 5
#define STEPS 12

typedef struct loaded {
    sw_gguf g;
    sw_hparams hp;
    sw_weights w;
    float freq[256];
} loaded;

static void load(const char *path, loaded *L)
{
    swarm_diag d = {{0}};
    memset(L, 0, sizeof(*L));
    CHECK_OK(sw_gguf_open(path, &L->g, &d));
    CHECK_OK(sw_model_bind_gguf(&L->g, &L->hp, &L->w, &d));
    const float *factors = NULL;
    CHECK_OK(sw_model_rope_factors(&L->g, &L->hp, &factors, &d));
    sw_rope_freqs(&L->hp, factors, L->freq);
}

static void run_file(const char *rel, double tol)
{
    char path[512];
    REQUIRE_SHARED(path, rel);
    loaded L;
    load(path, &L);
    int32_t nv = L.hp.n_vocab;
    sw_fwd *batched[NSEQ], *alone[NSEQ];
    int32_t pos[NSEQ], tok[NSEQ];
    for (int i = 0; i < NSEQ; i++) {
        /* sequence 0 is also the batch's workspace: 2 threads */
        CHECK_OK(sw_fwd_create(&L.hp, &L.w, L.freq, 64, 16, i == 0 ? 2 : 1, &batched[i]));
        CHECK_OK(sw_fwd_create(&L.hp, &L.w, L.freq, 64, 16, 1, &alone[i]));
        /* prompts of different lengths (3 + 2i tokens, up to 11: past gemma2's window 8) */
        int32_t prompt[16];
        int32_t np = 3 + 2 * i;
        for (int k = 0; k < np; k++) prompt[k] = (int32_t)((1 + 37 * k + 101 * i) % nv);
        prompt[0] = 1;
        sw_fwd_eval(batched[i], prompt, np, 0, SW_LOGITS_LAST);
        const float *lg = sw_fwd_eval(alone[i], prompt, np, 0, SW_LOGITS_LAST);
        pos[i] = np;
        tok[i] = sw_argmax(lg, nv);
    }
    double worst = 0;
    int agree = 0;
    for (int step = 0; step < STEPS; step++) {
        const float *rows = sw_fwd_eval_multi(batched[0], batched, tok, pos, NSEQ);
        static float keep[NSEQ * 4096];
        assert_true(nv <= 4096);
        memcpy(keep, rows, sizeof(float) * (size_t)NSEQ * (size_t)nv);
        for (int i = 0; i < NSEQ; i++) {
            const float *want = sw_fwd_eval(alone[i], &tok[i], 1, pos[i], SW_LOGITS_LAST);
            const float *got = keep + (size_t)i * nv;
            for (int32_t v = 0; v < nv; v++) {
                double e = fabs((double)got[v] - want[v]);
                if (!(e <= worst)) worst = e;
            }
            int32_t a = sw_argmax(got, nv), b = sw_argmax(want, nv);
            agree += a == b;
            tok[i] = b; /* both continue with the same token */
            pos[i]++;
        }
    }
    fprintf(stderr, "batched decoding %-40s %d sequences x %d steps: max abs diff %.3e (tol %.0e), "
            "argmax %d/%d\n",
            rel, NSEQ, STEPS, worst, tol, agree, NSEQ * STEPS);
    for (int i = 0; i < NSEQ; i++) {
        sw_fwd_destroy(batched[i]);
        sw_fwd_destroy(alone[i]);
    }
    sw_free(L.w.layers);
    sw_gguf_close(&L.g);
    assert_true(worst <= tol);
    assert_int_equal(agree, NSEQ * STEPS);
}

static void test_batch_llama_f32(void **st) { (void)st; run_file("models/reference/tiny-llama-F32.gguf", 1e-5); }
static void test_batch_llama_q8_0(void **st) { (void)st; run_file("models/reference/tiny-llama-Q8_0.gguf", 1e-5); }
static void test_batch_qwen2_q4_k(void **st) { (void)st; run_file("models/reference/tiny-qwen2-Q4_K.gguf", 1e-5); }
static void test_batch_qwen3_f32(void **st) { (void)st; run_file("models/reference2/tiny-qwen3-F32.gguf", 1e-5); }
static void test_batch_gemma2_f32(void **st) { (void)st; run_file("models/reference2/tiny-gemma2-F32.gguf", 1e-5); }

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_batch_llama_f32),  cmocka_unit_test(test_batch_llama_q8_0),
        cmocka_unit_test(test_batch_qwen2_q4_k), cmocka_unit_test(test_batch_qwen3_f32),
        cmocka_unit_test(test_batch_gemma2_f32),
    };
    return CHECK_RUN(tests, NULL, NULL);
}
