/*
 * engine_sampler_test.c: the sampler: greedy ties and NaNs, seeded
 * reproducibility, and that temperature, top-k, top-p and min-p keep exactly
 * the tokens they should, with frequencies close to the probabilities.
 */
#include <math.h>
#include <string.h>

#include "check.h"
#include "engine/forward.h"

static sw_prob cand[64];

static swarm_sampling cfg(float temp, int32_t k, float p, float min_p, uint64_t seed)
{
    swarm_sampling s = {.temperature = temp, .top_k = k, .top_p = p, .min_p = min_p, .seed = seed};
    return s;
}

static void test_sampler_argmax_ties_and_nan(void **st)
{
    (void)st;
    float a[] = {1.0f, 3.0f, 3.0f, 2.0f};
    assert_int_equal(sw_argmax(a, 4), 1);
    float b[] = {NAN, -1.0f, NAN, -0.5f};
    assert_int_equal(sw_argmax(b, 4), 3);
    float c[] = {-INFINITY, -INFINITY};
    assert_int_equal(sw_argmax(c, 2), 0);
    sw_sampler s;
    swarm_sampling g = cfg(0.0f, 0, 1.0f, 0.0f, 1);
    sw_sampler_init(&s, &g, 4, cand);
    for (int i = 0; i < 10; i++) assert_int_equal(sw_sampler_sample(&s, a), 1);
}

static void test_sampler_seeded_reproducible(void **st)
{
    (void)st;
    float lg[32];
    for (int i = 0; i < 32; i++) lg[i] = (float)((i * 7) % 11) * 0.3f;
    int32_t seq[3][200];
    uint64_t seeds[3] = {42, 42, 43};
    for (int r = 0; r < 3; r++) {
        sw_sampler s;
        swarm_sampling c = cfg(1.0f, 0, 0.9f, 0.0f, seeds[r]);
        sw_sampler_init(&s, &c, 32, cand);
        for (int i = 0; i < 200; i++) seq[r][i] = sw_sampler_sample(&s, lg);
    }
    assert_memory_equal(seq[0], seq[1], sizeof(seq[0]));
    assert_true(memcmp(seq[0], seq[2], sizeof(seq[0])) != 0);
    /* seed 0 is a valid seed, not a stuck generator */
    sw_sampler s;
    swarm_sampling c = cfg(1.0f, 0, 1.0f, 0.0f, 0);
    sw_sampler_init(&s, &c, 32, cand);
    float first = sw_sampler_rand(&s);
    bool varies = false;
    for (int i = 0; i < 10; i++) varies = varies || sw_sampler_rand(&s) != first;
    assert_true(varies);
}

/* Frequencies of 20000 draws. */
static void histogram(const swarm_sampling *c, const float *lg, int n, int *count)
{
    sw_sampler s;
    sw_sampler_init(&s, c, n, cand);
    memset(count, 0, (size_t)n * sizeof(int));
    for (int i = 0; i < 20000; i++) {
        int32_t id = sw_sampler_sample(&s, lg);
        assert_true(id >= 0 && id < n);
        count[id]++;
    }
}

/* Pearson's chi-square of 20000 draws against the distribution want[] (0 =
 * never drawn: any draw fails). The bound is the 0.1 % critical value for
 * the degrees of freedom, so a correct sampler fails one seed in a thousand
 * and the seeds here are fixed. */
static void assert_chi_square(const char *what, const int *cnt, const double *want, int n)
{
    static const double crit[] = {0, 10.83, 13.82, 16.27, 18.47}; /* df 1..4, alpha 0.001 */
    double chi = 0;
    int df = -1;
    for (int i = 0; i < n; i++) {
        if (want[i] == 0) {
            if (cnt[i] != 0) fail_msg("%s: token %d drawn %d times, want never", what, i, cnt[i]);
            continue;
        }
        double e = want[i] * 20000.0;
        chi += (cnt[i] - e) * (cnt[i] - e) / e;
        df++;
    }
    assert_true(df >= 1 && df <= 4);
    print_message("%-24s chi-square %7.2f (df %d, bound %.2f)\n", what, chi, df, crit[df]);
    if (!(chi <= crit[df])) fail_msg("%s: chi-square %.2f above %.2f", what, chi, crit[df]);
}

/* p_i^(1/T), normalised: the distribution at temperature T of base p. */
static void tempered(const double *p, double temp, double *out, int n)
{
    double z = 0;
    for (int i = 0; i < n; i++) z += out[i] = pow(p[i], 1.0 / temp);
    for (int i = 0; i < n; i++) out[i] /= z;
}

/* Temperature, top-k, top-p and min-p give exactly their distributions. */
static void test_sampler_distributions(void **st)
{
    (void)st;
    const double base[4] = {0.4, 0.3, 0.2, 0.1};
    float lg[4];
    for (int i = 0; i < 4; i++) lg[i] = logf((float)base[i]);
    int cnt[4];
    double want[4];
    static const double temps[] = {1.0, 2.0, 0.5, 1.3};
    for (size_t t = 0; t < sizeof(temps) / sizeof(temps[0]); t++) {
        swarm_sampling c = cfg((float)temps[t], 0, 1.0f, 0.0f, 100 + t);
        histogram(&c, lg, 4, cnt);
        tempered(base, temps[t], want, 4);
        char what[32];
        snprintf(what, sizeof(what), "temperature %.1f", temps[t]);
        assert_chi_square(what, cnt, want, 4);
    }
    struct {
        const char *what;
        swarm_sampling c;
        double want[4];
    } cases[] = {
        {"top-k 2", cfg(1.0f, 2, 1.0f, 0.0f, 11), {4.0 / 7, 3.0 / 7, 0, 0}},
        {"top-k 3", cfg(1.0f, 3, 1.0f, 0.0f, 12), {4.0 / 9, 3.0 / 9, 2.0 / 9, 0}},
        {"top-p 0.5", cfg(1.0f, 0, 0.5f, 0.0f, 13), {4.0 / 7, 3.0 / 7, 0, 0}},
        {"top-p 0.75", cfg(1.0f, 0, 0.75f, 0.0f, 14), {4.0 / 9, 3.0 / 9, 2.0 / 9, 0}},
        {"top-p 0.95", cfg(1.0f, 0, 0.95f, 0.0f, 15), {0.4, 0.3, 0.2, 0.1}},
        {"min-p 0.45", cfg(1.0f, 0, 1.0f, 0.45f, 16), {4.0 / 9, 3.0 / 9, 2.0 / 9, 0}},
        {"min-p 0.6", cfg(1.0f, 0, 1.0f, 0.6f, 17), {4.0 / 7, 3.0 / 7, 0, 0}},
        {"min-p 0.2", cfg(1.0f, 0, 1.0f, 0.2f, 18), {0.4, 0.3, 0.2, 0.1}},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        histogram(&cases[i].c, lg, 4, cnt);
        assert_chi_square(cases[i].what, cnt, cases[i].want, 4);
    }
}

static void test_sampler_filters(void **st)
{
    (void)st;
    /* probabilities 0.4, 0.3, 0.2, 0.1 at temperature 1 */
    float lg[4] = {logf(0.4f), logf(0.3f), logf(0.2f), logf(0.1f)};
    int cnt[4];

    swarm_sampling plain = cfg(1.0f, 0, 1.0f, 0.0f, 1);
    histogram(&plain, lg, 4, cnt);
    double want[4] = {0.4, 0.3, 0.2, 0.1};
    for (int i = 0; i < 4; i++) assert_true(fabs(cnt[i] / 20000.0 - want[i]) < 0.02);

    swarm_sampling k2 = cfg(1.0f, 2, 1.0f, 0.0f, 2); /* top-k 2: 4/7, 3/7 */
    histogram(&k2, lg, 4, cnt);
    assert_int_equal(cnt[2] + cnt[3], 0);
    assert_true(fabs(cnt[0] / 20000.0 - 4.0 / 7.0) < 0.02);

    swarm_sampling p5 = cfg(1.0f, 0, 0.5f, 0.0f, 3); /* nucleus 0.5: {0, 1} */
    histogram(&p5, lg, 4, cnt);
    assert_int_equal(cnt[2] + cnt[3], 0);
    assert_true(cnt[1] > 0);

    swarm_sampling m5 = cfg(1.0f, 0, 1.0f, 0.45f, 4); /* min-p 0.45: p >= 0.18 */
    histogram(&m5, lg, 4, cnt);
    assert_int_equal(cnt[3], 0);
    assert_true(cnt[2] > 0);

    swarm_sampling hot = cfg(2.0f, 0, 1.0f, 0.0f, 5); /* higher temperature flattens */
    histogram(&hot, lg, 4, cnt);
    assert_true(cnt[3] / 20000.0 > 0.15);

    /* settings that leave one token act like greedy */
    swarm_sampling one[] = {cfg(1.0f, 1, 1.0f, 0.0f, 6), cfg(1.0f, 0, 0.01f, 0.0f, 7),
                            cfg(1.0f, 0, 1.0f, 1.0f, 8), cfg(0.7f, 3, 0.2f, 0.1f, 9)};
    for (size_t i = 0; i < sizeof(one) / sizeof(one[0]); i++) {
        histogram(&one[i], lg, 4, cnt);
        assert_int_equal(cnt[0], 20000);
    }
}

/* A large vocabulary with top-k uses the heap path; it must agree with a
 * full sort about which ids survive. */
static void test_sampler_top_k_large_vocab(void **st)
{
    (void)st;
    enum { N = 5000, K = 40 };
    static float lg[N];
    static sw_prob big[N];
    for (int i = 0; i < N; i++) lg[i] = (float)((i * 7919) % 1000) / 100.0f;
    /* the K largest values: 9.99 .. 9.60 (each appears N/1000 = 5 times) */
    swarm_sampling c = cfg(1.0f, K, 1.0f, 0.0f, 11);
    sw_sampler s;
    sw_sampler_init(&s, &c, N, big);
    for (int i = 0; i < 3000; i++) {
        int32_t id = sw_sampler_sample(&s, lg);
        assert_true(lg[id] >= 9.915f); /* ids with values 9.99..9.92 (8 values x 5) */
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sampler_argmax_ties_and_nan),
        cmocka_unit_test(test_sampler_seeded_reproducible),
        cmocka_unit_test(test_sampler_filters),
        cmocka_unit_test(test_sampler_distributions),
        cmocka_unit_test(test_sampler_top_k_large_vocab),
    };
    return CHECK_RUN(tests, NULL, NULL);
}
