/*
 * bench_train.c: the trainer's speed. For each shape and thread count: one
 * warm-up step, then `steps` timed optimizer steps on random tokens;
 * tokens/s and the model FLOPs per second (swarm_trainer_step_flops: the
 * matmuls' 6 N per token plus causal attention) over the peak measured just
 * before with the same threads: 12 independent AVX2 FMA chains per thread
 * (2 x 8 flops per instruction), the instruction set the trainer's kernel
 * uses. The machine is shared, so compare figures of one run (ratios).
 */
#include "bench_train.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/kernels/kernels.h"
#include "swarm/train.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define HAVE_X86 1
#endif

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

typedef struct peak_job {
    long iters;
    float sink[SW_BENCH_TRAIN_MAX_THREADS * 64];
} peak_job;

#ifdef HAVE_X86
/* Twelve named accumulators (an array would be kept in memory): twelve
 * independent chains cover the FMA latency on both pipes. */
__attribute__((target("avx2,fma"))) static float fma_loop(long iters)
{
    __m256 m = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-7f);
    __m256 a0 = _mm256_set1_ps(0), a1 = _mm256_set1_ps(1), a2 = _mm256_set1_ps(2);
    __m256 a3 = _mm256_set1_ps(3), a4 = _mm256_set1_ps(4), a5 = _mm256_set1_ps(5);
    __m256 a6 = _mm256_set1_ps(6), a7 = _mm256_set1_ps(7), a8 = _mm256_set1_ps(8);
    __m256 a9 = _mm256_set1_ps(9), a10 = _mm256_set1_ps(10), a11 = _mm256_set1_ps(11);
    for (long k = 0; k < iters; k++) {
        a0 = _mm256_fmadd_ps(a0, m, c), a1 = _mm256_fmadd_ps(a1, m, c);
        a2 = _mm256_fmadd_ps(a2, m, c), a3 = _mm256_fmadd_ps(a3, m, c);
        a4 = _mm256_fmadd_ps(a4, m, c), a5 = _mm256_fmadd_ps(a5, m, c);
        a6 = _mm256_fmadd_ps(a6, m, c), a7 = _mm256_fmadd_ps(a7, m, c);
        a8 = _mm256_fmadd_ps(a8, m, c), a9 = _mm256_fmadd_ps(a9, m, c);
        a10 = _mm256_fmadd_ps(a10, m, c), a11 = _mm256_fmadd_ps(a11, m, c);
        __asm__ volatile("" : "+x"(a0), "+x"(a1), "+x"(a2), "+x"(a3), "+x"(a4), "+x"(a5));
    }
    __m256 s = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)),
                             _mm256_add_ps(_mm256_add_ps(a4, a5), _mm256_add_ps(a6, a7)));
    s = _mm256_add_ps(s, _mm256_add_ps(_mm256_add_ps(a8, a9), _mm256_add_ps(a10, a11)));
    float out[8];
    _mm256_storeu_ps(out, s);
    return out[0];
}
#else
static float fma_loop(long iters)
{
    float a[12];
    for (int i = 0; i < 12; i++) a[i] = (float)i;
    for (long k = 0; k < iters; k++)
        for (int i = 0; i < 12; i++) a[i] = a[i] * 0.999999f + 1e-7f;
    return a[0];
}
#endif

static void peak_worker(void *arg, int ith, int nth)
{
    (void)nth;
    peak_job *j = arg;
    j->sink[ith * 64] = fma_loop(j->iters);
}

/* Flops per second of n threads running independent FMA chains. */
static double measure_peak(int n)
{
    sw_pool *p = NULL;
    if (sw_pool_create(n, &p) != SWARM_OK) return 0;
    peak_job j = {.iters = 400000};
    sw_pool_run(p, peak_worker, &j); /* warm-up (clocks up) */
    double best = 0;
    /* best of 7: on a shared machine the fastest run is the one least
     * disturbed by other processes */
    for (int r = 0; r < 7; r++) {
        double t0 = now_s();
        sw_pool_run(p, peak_worker, &j);
        double dt = now_s() - t0;
#ifdef HAVE_X86
        double flops = (double)n * j.iters * 12 * 16;
#else
        double flops = (double)n * j.iters * 12 * 2;
#endif
        if (flops / dt > best) best = flops / dt;
    }
    sw_pool_destroy(p);
    return best;
}

typedef struct shape {
    const char *name;
    swarm_train_hparams hp;
    int32_t n_seq, len;
} shape;

static const shape k_shapes[] = {
    {"1m", {128, 352, 4, 4, 4, 1024, 128, 10000.0f, 1e-5f, true}, 8, 128},
    {"10m", {320, 864, 8, 5, 5, 4096, 256, 10000.0f, 1e-5f, true}, 4, 256},
};

int sw_bench_train_run(const sw_bench_train_opts *o, FILE *out)
{
    if (o->json) fprintf(out, "{\"runs\": [");
    else
        fprintf(out, "%-5s %10s %7s %10s %10s %12s %12s %8s\n", "shape", "params", "threads",
                "tok/s", "mean tok/s", "model GF/s", "peak GF/s", "MFU");
    int first = 1;
    for (size_t s = 0; s < sizeof(k_shapes) / sizeof(k_shapes[0]); s++) {
        const shape *sh = &k_shapes[s];
        /* o->shapes is a comma list of exact names */
        char list[64];
        snprintf(list, sizeof(list), ",%s,", o->shapes);
        char want[16];
        snprintf(want, sizeof(want), ",%s,", sh->name);
        if (strstr(list, want) == NULL) continue;
        size_t nt = (size_t)sh->n_seq * (sh->len + 1);
        int32_t *tok = malloc(nt * sizeof(int32_t));
        if (tok == NULL) return 1;
        uint64_t r = 12345;
        for (size_t i = 0; i < nt; i++) {
            r = r * 6364136223846793005ull + 1442695040888963407ull;
            tok[i] = (int32_t)((r >> 33) % (uint64_t)sh->hp.n_vocab);
        }
        for (int ti = 0; ti < o->n_threads; ti++) {
            int th = o->threads[ti];
            double peak = measure_peak(th);
            swarm_trainer *t = NULL;
            if (swarm_trainer_create(&sh->hp, 1, th, &t, NULL) != SWARM_OK) {
                free(tok);
                return 1;
            }
            swarm_train_opt opt = swarm_train_opt_default();
            double loss;
            swarm_trainer_step(t, tok, sh->n_seq, sh->len, &opt, &loss); /* warm-up */
            /* the fastest step (least disturbed), and the mean */
            double best = 1e30, total = 0;
            for (int k = 0; k < o->steps; k++) {
                double t0 = now_s();
                swarm_trainer_step(t, tok, sh->n_seq, sh->len, &opt, &loss);
                double dt = now_s() - t0;
                total += dt;
                if (dt < best) best = dt;
            }
            double toks = (double)sh->n_seq * sh->len / best;
            double toks_mean = (double)o->steps * sh->n_seq * sh->len / total;
            double fl = swarm_trainer_step_flops(t, sh->n_seq, sh->len) / best;
            long long np = (long long)swarm_trainer_n_params(t);
            swarm_trainer_destroy(t);
            if (o->json)
                fprintf(out,
                        "%s{\"shape\": \"%s\", \"params\": %lld, \"threads\": %d, \"tok_s\": %.1f, "
                        "\"tok_s_mean\": %.1f, \"model_gflops\": %.2f, \"peak_gflops\": %.2f, \"mfu\": %.4f}",
                        first ? "" : ", ", sh->name, np, th, toks, toks_mean, fl / 1e9, peak / 1e9,
                        fl / peak);
            else
                fprintf(out, "%-5s %10lld %7d %10.0f %10.0f %12.2f %12.2f %7.1f%%\n", sh->name, np, th,
                        toks, toks_mean, fl / 1e9, peak / 1e9, 100.0 * fl / peak);
            first = 0;
            fflush(out);
        }
        free(tok);
    }
    if (o->json) fprintf(out, "]}\n");
    return 0;
}
