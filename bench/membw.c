/*
 * membw.c: multi-threaded read-only sum over a large buffer (see membw.h).
 * Not a copy or write test: generation only reads weights, so a read stream
 * is the fair ceiling. The sum is kept so the compiler cannot drop the loads.
 */
#include "membw.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define MEMBW_X86 1
#endif

#include "engine/kernels/kernels.h"

/* 32-byte lanes: GCC/clang vector extension, lowered to whatever SIMD the
 * build targets; four independent accumulators keep enough loads in flight. */
typedef uint64_t v4u64 __attribute__((vector_size(32)));

/* Each thread reads its share either as one sequential stream or as four
 * streams in lockstep (four quarters of the share). On this machine (a VM)
 * one core's four streams read ~25% faster than one: more misses in flight
 * than the hardware prefetcher sustains on a single stream, which is also
 * what a prefetching matmul kernel gets. The passes alternate both and the
 * best counts, so the limit is not understated. */
#define MAX_STREAMS 4

typedef struct bw_job {
    bool avx2;             /* 32-byte loads: one core streams ~40% faster than with SSE2 */
    int streams;           /* 1 or MAX_STREAMS */
    const v4u64 *buf;
    size_t n_vec;          /* vectors in buf (a multiple of 4 * MAX_STREAMS * n threads) */
    uint64_t sums[64];     /* one per thread (n_threads <= 64) */
} bw_job;

#ifdef MEMBW_X86
/* n vectors from each of ns streams, stream k starting at p + k * stride. */
__attribute__((target("avx2"))) static uint64_t sum_avx2(const v4u64 *p, size_t n, int ns,
                                                         size_t stride)
{
    const __m256i *q = (const __m256i *)(const void *)p;
    __m256i acc[MAX_STREAMS];
    for (int k = 0; k < MAX_STREAMS; k++) acc[k] = _mm256_setzero_si256();
    if (ns == 1) {
        __m256i b = acc[1], c = acc[2], e = acc[3];
        for (size_t i = 0; i + 4 <= n; i += 4) {
            acc[0] = _mm256_add_epi64(acc[0], _mm256_load_si256(q + i));
            b = _mm256_add_epi64(b, _mm256_load_si256(q + i + 1));
            c = _mm256_add_epi64(c, _mm256_load_si256(q + i + 2));
            e = _mm256_add_epi64(e, _mm256_load_si256(q + i + 3));
        }
        acc[1] = b;
        acc[2] = c;
        acc[3] = e;
    } else {
        for (size_t i = 0; i + 2 <= n; i += 2)
            for (int k = 0; k < MAX_STREAMS; k++) {
                const __m256i *x = q + (size_t)k * stride + i;
                acc[k] = _mm256_add_epi64(acc[k], _mm256_add_epi64(_mm256_load_si256(x),
                                                                   _mm256_load_si256(x + 1)));
            }
    }
    __m256i a = _mm256_add_epi64(_mm256_add_epi64(acc[0], acc[1]),
                                 _mm256_add_epi64(acc[2], acc[3]));
    uint64_t o[4];
    _mm256_storeu_si256((__m256i *)(void *)o, a);
    return o[0] + o[1] + o[2] + o[3];
}
#endif

static uint64_t sum_generic(const v4u64 *p, size_t n, int ns, size_t stride)
{
    v4u64 acc[MAX_STREAMS] = {{0}};
    if (ns == 1) {
        for (size_t i = 0; i + 4 <= n; i += 4)
            for (int k = 0; k < 4; k++) acc[k] += p[i + (size_t)k];
    } else {
        for (size_t i = 0; i < n; i++)
            for (int k = 0; k < MAX_STREAMS; k++) acc[k] += p[(size_t)k * stride + i];
    }
    v4u64 s = acc[0] + acc[1] + acc[2] + acc[3];
    return s[0] + s[1] + s[2] + s[3];
}

static void bw_worker(void *arg, int ith, int nth)
{
    bw_job *j = arg;
    size_t per = j->n_vec / (size_t)nth;
    const v4u64 *p = j->buf + per * (size_t)ith;
    int ns = j->streams;
    size_t n = per / (size_t)ns; /* vectors per stream; the stride between streams */
#ifdef MEMBW_X86
    if (j->avx2) {
        j->sums[ith] = sum_avx2(p, ns == 1 ? per : n, ns, n);
        return;
    }
#endif
    j->sums[ith] = sum_generic(p, ns == 1 ? per : n, ns, n);
}

swarm_err sw_bench_membw(size_t bytes, int n_threads, int passes, double *out_bytes_per_s)
{
    if (n_threads < 1 || n_threads > 64 || passes < 1 || bytes < (1u << 20)) return SWARM_EINVAL;
    size_t unit = sizeof(v4u64) * 4 * MAX_STREAMS * (size_t)n_threads;
    size_t n_vec = (bytes / unit) * 4 * MAX_STREAMS * (size_t)n_threads;
    /* sw_malloc gives at least 16-byte alignment; over-allocate to align to 64. */
    uint8_t *raw = sw_malloc(n_vec * sizeof(v4u64) + 64);
    if (raw == NULL) return SWARM_ENOMEM;
    v4u64 *buf = (v4u64 *)(void *)(raw + (64 - (uintptr_t)raw % 64) % 64);
    /* Touch every page first so the passes measure reads, not page faults. */
    memset(buf, 1, n_vec * sizeof(v4u64));

    sw_pool *pool = NULL;
    swarm_err rc = sw_pool_create(n_threads, &pool);
    if (rc != SWARM_OK) {
        sw_free(raw);
        return rc;
    }
    bw_job job = {.buf = buf, .n_vec = n_vec};
#ifdef MEMBW_X86
    job.avx2 = __builtin_cpu_supports("avx2");
#endif
    double best = 0.0;
    volatile uint64_t sink = 0;
    /* One extra untimed pass wakes the pool threads and warms the TLB. */
    for (int pass = 0; pass <= passes; pass++) {
        job.streams = pass % 2 == 0 ? MAX_STREAMS : 1;
        double t0 = sw_now_ms();
        sw_pool_run(pool, bw_worker, &job);
        double ms = sw_now_ms() - t0;
        for (int t = 0; t < n_threads; t++) sink += job.sums[t];
        double bps = ms > 0 ? (double)(n_vec * sizeof(v4u64)) / (ms * 1e-3) : 0.0;
        if (pass > 0 && bps > best) best = bps;
    }
    (void)sink;
    sw_pool_destroy(pool);
    sw_free(raw);
    *out_bytes_per_s = best;
    return SWARM_OK;
}
