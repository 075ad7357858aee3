/*
 * train_grad_test.c: the trainer's analytic gradients against central finite
 * differences, for every tensor of the layout (token embedding, both norms
 * of a layer, Q/K/V/O with grouped-query attention, gate/up/down, final
 * norm, separate and tied output head), with masked targets; and the
 * optimizer step's determinism across thread counts.
 *
 * Tolerance: the model runs in float; the loss is summed in double. With
 * weights drawn at std 0.3 (gradients of order 1e-2..1) and h = 1e-2, the
 * central difference's truncation error is O(h^2 * f''') and its rounding
 * error ~1e-7 / h, so we require |analytic - numeric| <= 2e-3 + 3e-2 |numeric|
 * per element, and the relative error summed over each tensor's checked
 * elements below 2 %.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "train/train_int.h"

static swarm_trainer *tiny(bool tied, int threads)
{
    swarm_train_hparams hp = {.dim = 8, .ffn_dim = 12, .n_layers = 2, .n_heads = 4,
                              .n_kv_heads = 2, .n_vocab = 11, .n_ctx = 8, .rope_base = 10000.0f,
                              .norm_eps = 1e-5f, .tied = tied};
    swarm_trainer *t = NULL;
    CHECK_OK(swarm_trainer_create(&hp, 7, threads, &t, NULL));
    /* larger weights than the init: a non-trivial, non-linear regime */
    uint64_t s = 99;
    for (size_t i = 0; i < t->n_params; i++) t->params[i] = (float)(0.3 * sw_train_rng_normal(&s));
    /* norms near 1 so the rms path is exercised with both signs of change */
    for (size_t k = 0; k < t->n_tensors; k++)
        if (!t->tensors[k].decay)
            for (int64_t j = 0; j < t->tensors[k].cols; j++)
                t->params[t->tensors[k].off + j] = 1.0f + 0.2f * (float)sw_train_rng_normal(&s);
    return t;
}

/* 2 sequences of 6 inputs + 1; a few positions are inputs but not targets */
static const int32_t k_tokens[14] = {1, 5, ~3, 7, 2, 9, 4, 10, 0, 6, ~6, 2, 8, 3};

static double loss_of(swarm_trainer *t)
{
    CHECK_OK(sw_train_reserve(t, 2, 6));
    return sw_train_forward(t, k_tokens, 2, 6, 7, true, false, NULL);
}

static void check_grads(bool tied)
{
    swarm_trainer *t = tiny(tied, 1);
    CHECK_OK(sw_train_reserve(t, 2, 6));
    memset(t->grads, 0, t->n_params * sizeof(float));
    int64_t n = 0;
    sw_train_forward(t, k_tokens, 2, 6, 7, true, true, &n);
    assert_int_equal(n, 10);
    sw_train_backward(t, k_tokens, 2, 6, 7);
    float *g = malloc(t->n_params * sizeof(float));
    memcpy(g, t->grads, t->n_params * sizeof(float));
    const double h = 1e-2;
    double worst = 0;
    for (size_t k = 0; k < t->n_tensors; k++) {
        const sw_tparam *p = &t->tensors[k];
        size_t n_el = (size_t)(p->rows * p->cols);
        double num_sum = 0, err_sum = 0;
        /* every element of small tensors, a spread of 24 of large ones */
        size_t step = n_el > 24 ? n_el / 24 : 1;
        for (size_t e = 0; e < n_el; e += step) {
            float *w = &t->params[p->off + e];
            float w0 = *w;
            *w = (float)(w0 + h);
            double lp = loss_of(t);
            *w = (float)(w0 - h);
            double lm = loss_of(t);
            *w = w0;
            double num = (lp - lm) / (2 * h), an = g[p->off + e];
            double err = fabs(an - num);
            if (err > 2e-3 + 3e-2 * fabs(num))
                fail_msg("%s[%zu] (%s): analytic %.6g numeric %.6g", p->name, e,
                         tied ? "tied" : "untied", an, num);
            num_sum += fabs(num);
            err_sum += err;
        }
        double rel = err_sum / (num_sum + 1e-12);
        if (rel > worst) worst = rel;
        if (num_sum > 1e-6 && rel > 0.02)
            fail_msg("%s: summed relative error %.4f", p->name, rel);
        /* every tensor must matter: a gradient identically zero would pass */
        assert_true(num_sum > 1e-6);
    }
    print_message("%s: worst summed relative error over tensors %.2e\n", tied ? "tied" : "untied",
                  worst);
    free(g);
    swarm_trainer_destroy(t);
}

static void test_grads_untied(void **state)
{
    (void)state;
    check_grads(false);
}

static void test_grads_tied(void **state)
{
    (void)state;
    check_grads(true);
}

/* The step's result does not depend on the thread count, and equal seeds
 * give equal bits. */
static void test_deterministic(void **state)
{
    (void)state;
    swarm_train_hparams hp = {.dim = 64, .ffn_dim = 160, .n_layers = 2, .n_heads = 4,
                              .n_kv_heads = 2, .n_vocab = 97, .n_ctx = 32, .rope_base = 10000.0f,
                              .norm_eps = 1e-5f, .tied = false};
    int32_t tok[4 * 33];
    for (int i = 0; i < 4 * 33; i++) tok[i] = (i * 37 + i / 5) % 97;
    swarm_train_opt o = swarm_train_opt_default();
    float *p[3];
    double l[3];
    int threads[3] = {1, 2, 1};
    for (int r = 0; r < 3; r++) {
        swarm_trainer *t = NULL;
        CHECK_OK(swarm_trainer_create(&hp, 42, threads[r], &t, NULL));
        for (int s = 0; s < 3; s++) CHECK_OK(swarm_trainer_step(t, tok, 4, 32, &o, &l[r]));
        p[r] = malloc(t->n_params * sizeof(float));
        memcpy(p[r], t->params, t->n_params * sizeof(float));
        size_t n = t->n_params;
        swarm_trainer_destroy(t);
        if (r > 0) assert_memory_equal(p[0], p[r], n * sizeof(float));
    }
    assert_true(l[0] == l[1] && l[1] == l[2]);
    for (int r = 0; r < 3; r++) free(p[r]);
    /* a different seed gives different weights */
    swarm_trainer *a = NULL, *b = NULL;
    CHECK_OK(swarm_trainer_create(&hp, 1, 1, &a, NULL));
    CHECK_OK(swarm_trainer_create(&hp, 2, 1, &b, NULL));
    assert_true(memcmp(a->params, b->params, a->n_params * sizeof(float)) != 0);
    swarm_trainer_destroy(a);
    swarm_trainer_destroy(b);
}

static void test_bad_input(void **state)
{
    (void)state;
    swarm_train_hparams hp = {.dim = 6, .ffn_dim = 8, .n_layers = 1, .n_heads = 4, .n_kv_heads = 2,
                              .n_vocab = 11, .n_ctx = 8, .rope_base = 10000.0f, .norm_eps = 1e-5f};
    swarm_trainer *t = NULL;
    swarm_diag d = {{0}};
    CHECK_ERR(swarm_trainer_create(&hp, 1, 1, &t, &d), SWARM_EINVAL); /* 6 / 4 heads */
    assert_non_null(strstr(d.msg, "head"));
    hp.dim = 8;
    hp.n_kv_heads = 3;
    CHECK_ERR(swarm_trainer_create(&hp, 1, 1, &t, &d), SWARM_EINVAL);
    hp.n_kv_heads = 2;
    CHECK_OK(swarm_trainer_create(&hp, 1, 1, &t, &d));
    swarm_train_opt o = swarm_train_opt_default();
    int32_t bad[9] = {1, 2, 11, 3, 4, 5, 6, 7, 8};
    double l;
    CHECK_ERR(swarm_trainer_step(t, bad, 1, 8, &o, &l), SWARM_EINVAL); /* id 11 >= vocab */
    CHECK_ERR(swarm_trainer_step(t, bad, 1, 9, &o, &l), SWARM_EINVAL); /* longer than ctx */
    swarm_trainer_destroy(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_grads_untied),
        cmocka_unit_test(test_grads_tied),
        cmocka_unit_test(test_deterministic),
        cmocka_unit_test(test_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
