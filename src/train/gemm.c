/*
 * gemm.c: the trainer's one matrix kernel, C (+)= A * B^T with both operands
 * row-major over the contraction axis, and a transpose. Every product of the
 * trainer is put in this shape (the backward pass transposes a weight or an
 * activation first: O(n^2) copies for O(n^3) work). A 2x4 register tile
 * with AVX2 FMA where the CPU has it, plain C otherwise. The work is split
 * over whole output rows or columns, never over k, so each element is the
 * same sum in the same order whatever the thread count: training is
 * deterministic for a seed on a given machine.
 */
#include <string.h>

#include "train_int.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define HAVE_X86 1
#endif

typedef struct gemm_job {
    float *C;
    const float *A, *B;
    int64_t M, R, K;
    bool acc, split_m, fma;
} gemm_job;

static inline float dot_ref(const float *a, const float *b, int64_t n)
{
    float s[4] = {0, 0, 0, 0};
    int64_t i = 0;
    for (; i + 4 <= n; i += 4)
        for (int j = 0; j < 4; j++) s[j] += a[i + j] * b[i + j];
    float r = (s[0] + s[1]) + (s[2] + s[3]);
    for (; i < n; i++) r += a[i] * b[i];
    return r;
}

static void tile_ref(const gemm_job *j, int64_t m0, int64_t m1, int64_t r0, int64_t r1)
{
    for (int64_t m = m0; m < m1; m++) {
        const float *a = j->A + m * j->K;
        float *c = j->C + m * j->R;
        for (int64_t r = r0; r < r1; r++) {
            float v = dot_ref(a, j->B + r * j->K, j->K);
            c[r] = j->acc ? c[r] + v : v;
        }
    }
}

#ifdef HAVE_X86
__attribute__((target("avx2,fma"))) static inline float hsum8(__m256 v)
{
    __m128 lo = _mm256_castps256_ps128(v), hi = _mm256_extractf128_ps(v, 1);
    lo = _mm_add_ps(lo, hi);
    lo = _mm_add_ps(lo, _mm_movehl_ps(lo, lo));
    lo = _mm_add_ss(lo, _mm_movehdup_ps(lo));
    return _mm_cvtss_f32(lo);
}

/* The same dot product as the tile below computes for one element. */
__attribute__((target("avx2,fma"))) static float dot_fma(const float *a, const float *b, int64_t n)
{
    __m256 s = _mm256_setzero_ps();
    int64_t k = 0;
    for (; k + 8 <= n; k += 8) s = _mm256_fmadd_ps(_mm256_loadu_ps(a + k), _mm256_loadu_ps(b + k), s);
    float r = hsum8(s);
    for (; k < n; k++) r += a[k] * b[k];
    return r;
}

__attribute__((target("avx2,fma"))) static void tile_fma(const gemm_job *j, int64_t m0, int64_t m1,
                                                        int64_t r0, int64_t r1)
{
    const int64_t K = j->K, R = j->R;
    int64_t K8 = K & ~(int64_t)7;
    int64_t m = m0;
    for (; m + 2 <= m1; m += 2) {
        const float *a0 = j->A + m * K, *a1 = a0 + K;
        float *c0 = j->C + m * R, *c1 = c0 + R;
        int64_t r = r0;
        for (; r + 4 <= r1; r += 4) {
            const float *b0 = j->B + r * K, *b1 = b0 + K, *b2 = b1 + K, *b3 = b2 + K;
            __m256 s00 = _mm256_setzero_ps(), s01 = s00, s02 = s00, s03 = s00;
            __m256 s10 = s00, s11 = s00, s12 = s00, s13 = s00;
            for (int64_t k = 0; k < K8; k += 8) {
                __m256 x0 = _mm256_loadu_ps(a0 + k), x1 = _mm256_loadu_ps(a1 + k);
                __m256 w = _mm256_loadu_ps(b0 + k);
                s00 = _mm256_fmadd_ps(x0, w, s00);
                s10 = _mm256_fmadd_ps(x1, w, s10);
                w = _mm256_loadu_ps(b1 + k);
                s01 = _mm256_fmadd_ps(x0, w, s01);
                s11 = _mm256_fmadd_ps(x1, w, s11);
                w = _mm256_loadu_ps(b2 + k);
                s02 = _mm256_fmadd_ps(x0, w, s02);
                s12 = _mm256_fmadd_ps(x1, w, s12);
                w = _mm256_loadu_ps(b3 + k);
                s03 = _mm256_fmadd_ps(x0, w, s03);
                s13 = _mm256_fmadd_ps(x1, w, s13);
            }
            float v[8] = {hsum8(s00), hsum8(s01), hsum8(s02), hsum8(s03),
                          hsum8(s10), hsum8(s11), hsum8(s12), hsum8(s13)};
            for (int64_t k = K8; k < K; k++) {
                v[0] += a0[k] * b0[k], v[1] += a0[k] * b1[k], v[2] += a0[k] * b2[k];
                v[3] += a0[k] * b3[k], v[4] += a1[k] * b0[k], v[5] += a1[k] * b1[k];
                v[6] += a1[k] * b2[k], v[7] += a1[k] * b3[k];
            }
            for (int i = 0; i < 4; i++) {
                c0[r + i] = j->acc ? c0[r + i] + v[i] : v[i];
                c1[r + i] = j->acc ? c1[r + i] + v[4 + i] : v[4 + i];
            }
        }
        for (; r < r1; r++) {
            float v0 = dot_fma(a0, j->B + r * K, K), v1 = dot_fma(a1, j->B + r * K, K);
            c0[r] = j->acc ? c0[r] + v0 : v0;
            c1[r] = j->acc ? c1[r] + v1 : v1;
        }
    }
    for (; m < m1; m++) {
        const float *a = j->A + m * K;
        float *c = j->C + m * R;
        for (int64_t r = r0; r < r1; r++) {
            float v = dot_fma(a, j->B + r * K, K);
            c[r] = j->acc ? c[r] + v : v;
        }
    }
}
#endif

/* Rows of B per cache block: about 64 KiB of B stays in L2 while the rows of
 * A stream past it. */
static int64_t r_block(int64_t K)
{
    int64_t b = (64 * 1024) / (4 * (K > 0 ? K : 1));
    if (b < 4) b = 4;
    return b & ~(int64_t)3;
}

static void gemm_worker(void *arg, int ith, int nth)
{
    const gemm_job *j = arg;
    int64_t n = j->split_m ? j->M : j->R;
    /* even (2- or 4-aligned) shares keep the register tiles whole */
    int64_t align = j->split_m ? 2 : 4;
    int64_t units = (n + align - 1) / align;
    int64_t u0 = units * ith / nth, u1 = units * (ith + 1) / nth;
    int64_t lo = u0 * align, hi = u1 * align < n ? u1 * align : n;
    if (lo >= hi) return;
    int64_t m0 = j->split_m ? lo : 0, m1 = j->split_m ? hi : j->M;
    int64_t r0 = j->split_m ? 0 : lo, r1 = j->split_m ? j->R : hi;
    int64_t rb = r_block(j->K);
    for (int64_t rr = r0; rr < r1; rr += rb) {
        int64_t re = rr + rb < r1 ? rr + rb : r1;
#ifdef HAVE_X86
        if (j->fma) {
            tile_fma(j, m0, m1, rr, re);
            continue;
        }
#endif
        tile_ref(j, m0, m1, rr, re);
    }
}

void sw_gemm_nt(sw_pool *pool, float *C, const float *A, const float *B, int64_t M, int64_t R,
                int64_t K, bool accumulate)
{
    if (M <= 0 || R <= 0) return;
    gemm_job j = {.C = C, .A = A, .B = B, .M = M, .R = R, .K = K, .acc = accumulate,
                  .split_m = M >= R};
#ifdef HAVE_X86
    j.fma = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#endif
    double work = (double)M * (double)R * (double)K;
    if (pool == NULL || sw_pool_threads(pool) == 1 || work < 65536.0)
        gemm_worker(&j, 0, 1);
    else
        sw_pool_run(pool, gemm_worker, &j);
}

/* ------------------------------------------------------------------------ */
/* C (+)= A * B with A read through strides (plain or transposed) and B
 * row-major: the backward pass's two shapes without transposing anything.  */

typedef struct nn_job {
    float *C;
    const float *A, *B;
    int64_t M, N, K;     /* C: M x N, contraction over K */
    int64_t sai, sak;    /* A(i, k) = A[i * sai + k * sak] */
    int64_t ldb;         /* B(k, j) = B[k * ldb + j] */
    bool acc, split_m, fma;
} nn_job;

static void nn_ref(const nn_job *j, int64_t m0, int64_t m1, int64_t n0, int64_t n1)
{
    for (int64_t i = m0; i < m1; i++)
        for (int64_t c = n0; c < n1; c++) {
            float s = 0.0f;
            for (int64_t k = 0; k < j->K; k++) s += j->A[i * j->sai + k * j->sak] * j->B[k * j->ldb + c];
            float *o = j->C + i * j->N + c;
            *o = j->acc ? *o + s : s;
        }
}

#ifdef HAVE_X86
/* Tiles of rows i0.. x 16 or 8 columns from c, written out by hand so the
 * accumulators stay in registers; every element is the sum over k in
 * order, whatever the tile (so results do not depend on the split). */
#define NN_LOAD_A(r) _mm256_broadcast_ss(a + (r) * sai + k * sak)
__attribute__((target("avx2,fma"))) static void nn_tile_6x16(const nn_job *j, int64_t i0, int64_t c)
{
    const int64_t sai = j->sai, sak = j->sak, ldb = j->ldb, K = j->K;
    const float *a = j->A + i0 * sai, *b = j->B + c;
    __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
    __m256 c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
    for (int64_t k = 0; k < K; k++) {
        __m256 b0 = _mm256_loadu_ps(b + k * ldb), b1 = _mm256_loadu_ps(b + k * ldb + 8);
        __m256 x = NN_LOAD_A(0);
        c00 = _mm256_fmadd_ps(x, b0, c00), c01 = _mm256_fmadd_ps(x, b1, c01);
        x = NN_LOAD_A(1);
        c10 = _mm256_fmadd_ps(x, b0, c10), c11 = _mm256_fmadd_ps(x, b1, c11);
        x = NN_LOAD_A(2);
        c20 = _mm256_fmadd_ps(x, b0, c20), c21 = _mm256_fmadd_ps(x, b1, c21);
        x = NN_LOAD_A(3);
        c30 = _mm256_fmadd_ps(x, b0, c30), c31 = _mm256_fmadd_ps(x, b1, c31);
        x = NN_LOAD_A(4);
        c40 = _mm256_fmadd_ps(x, b0, c40), c41 = _mm256_fmadd_ps(x, b1, c41);
        x = NN_LOAD_A(5);
        c50 = _mm256_fmadd_ps(x, b0, c50), c51 = _mm256_fmadd_ps(x, b1, c51);
    }
    __m256 res[12] = {c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51};
    for (int r = 0; r < 6; r++)
        for (int v = 0; v < 2; v++) {
            float *o = j->C + (i0 + r) * j->N + c + 8 * v;
            __m256 val = res[r * 2 + v];
            if (j->acc) val = _mm256_add_ps(val, _mm256_loadu_ps(o));
            _mm256_storeu_ps(o, val);
        }
}

/* One row (or 8 columns): the same per-element k order as the 6x16 tile. */
__attribute__((target("avx2,fma"))) static void nn_tile_1xw(const nn_job *j, int64_t i, int64_t c,
                                                           int w)
{
    const int64_t sai = j->sai, sak = j->sak, ldb = j->ldb, K = j->K;
    const float *a = j->A + i * sai, *b = j->B + c;
    __m256 c0 = _mm256_setzero_ps(), c1 = c0;
    if (w == 16) {
        for (int64_t k = 0; k < K; k++) {
            __m256 x = _mm256_broadcast_ss(a + k * sak);
            c0 = _mm256_fmadd_ps(x, _mm256_loadu_ps(b + k * ldb), c0);
            c1 = _mm256_fmadd_ps(x, _mm256_loadu_ps(b + k * ldb + 8), c1);
        }
    } else {
        for (int64_t k = 0; k < K; k++)
            c0 = _mm256_fmadd_ps(_mm256_broadcast_ss(a + k * sak), _mm256_loadu_ps(b + k * ldb), c0);
    }
    float *o = j->C + i * j->N + c;
    if (j->acc) c0 = _mm256_add_ps(c0, _mm256_loadu_ps(o));
    _mm256_storeu_ps(o, c0);
    if (w == 16) {
        if (j->acc) c1 = _mm256_add_ps(c1, _mm256_loadu_ps(o + 8));
        _mm256_storeu_ps(o + 8, c1);
    }
}
#undef NN_LOAD_A

static void nn_fma(const nn_job *j, int64_t m0, int64_t m1, int64_t n0, int64_t n1)
{
    int64_t c = n0;
    for (; c + 16 <= n1; c += 16) {
        int64_t i = m0;
        for (; i + 6 <= m1; i += 6) nn_tile_6x16(j, i, c);
        for (; i < m1; i++) nn_tile_1xw(j, i, c, 16);
    }
    for (; c + 8 <= n1; c += 8)
        for (int64_t i = m0; i < m1; i++) nn_tile_1xw(j, i, c, 8);
    /* columns left over: the same k-ordered sum in scalar form (an FMA-free
     * product differs in rounding, but always for the same elements) */
    if (c < n1) nn_ref(j, m0, m1, c, n1);
}
#endif

static void nn_worker(void *arg, int ith, int nth)
{
    const nn_job *j = arg;
    int64_t n = j->split_m ? j->M : j->N;
    int64_t align = j->split_m ? 6 : 16;
    int64_t units = (n + align - 1) / align;
    int64_t u0 = units * ith / nth, u1 = units * (ith + 1) / nth;
    int64_t lo = u0 * align, hi = u1 * align < n ? u1 * align : n;
    if (lo >= hi) return;
    int64_t m0 = j->split_m ? lo : 0, m1 = j->split_m ? hi : j->M;
    int64_t n0 = j->split_m ? 0 : lo, n1 = j->split_m ? j->N : hi;
    /* blocks of 64 columns keep the B panel in cache across the rows */
    for (int64_t cb = n0; cb < n1; cb += 64) {
        int64_t ce = cb + 64 < n1 ? cb + 64 : n1;
#ifdef HAVE_X86
        if (j->fma) {
            nn_fma(j, m0, m1, cb, ce);
            continue;
        }
#endif
        nn_ref(j, m0, m1, cb, ce);
    }
}

static void nn_run(sw_pool *pool, nn_job *j)
{
#ifdef HAVE_X86
    j->fma = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#endif
    j->split_m = j->M >= j->N;
    double work = (double)j->M * (double)j->N * (double)j->K;
    if (pool == NULL || sw_pool_threads(pool) == 1 || work < 65536.0)
        nn_worker(j, 0, 1);
    else
        sw_pool_run(pool, nn_worker, j);
}

void sw_gemm_nn(sw_pool *pool, float *C, const float *A, const float *B, int64_t M, int64_t N,
                int64_t K, bool accumulate)
{
    if (M <= 0 || N <= 0) return;
    nn_job j = {.C = C, .A = A, .B = B, .M = M, .N = N, .K = K, .sai = K, .sak = 1, .ldb = N,
                .acc = accumulate};
    nn_run(pool, &j);
}

void sw_gemm_tn(sw_pool *pool, float *C, const float *A, const float *B, int64_t M, int64_t N,
                int64_t K, bool accumulate)
{
    if (M <= 0 || N <= 0) return;
    nn_job j = {.C = C, .A = A, .B = B, .M = M, .N = N, .K = K, .sai = 1, .sak = M, .ldb = N,
                .acc = accumulate};
    nn_run(pool, &j);
}

typedef struct tr_job {
    float *out;
    const float *in;
    int64_t rows, cols;
} tr_job;

static void tr_worker(void *arg, int ith, int nth)
{
    const tr_job *j = arg;
    int64_t c0 = j->cols * ith / nth, c1 = j->cols * (ith + 1) / nth;
    /* 32x32 blocks so both sides stay in cache lines */
    for (int64_t rb = 0; rb < j->rows; rb += 32)
        for (int64_t cb = c0; cb < c1; cb += 32) {
            int64_t re = rb + 32 < j->rows ? rb + 32 : j->rows;
            int64_t ce = cb + 32 < c1 ? cb + 32 : c1;
            for (int64_t r = rb; r < re; r++)
                for (int64_t c = cb; c < ce; c++) j->out[c * j->rows + r] = j->in[r * j->cols + c];
        }
}

void sw_transpose(sw_pool *pool, float *out, const float *in, int64_t rows, int64_t cols)
{
    tr_job j = {out, in, rows, cols};
    if (pool == NULL || (double)rows * (double)cols < 65536.0)
        tr_worker(&j, 0, 1);
    else
        sw_pool_run(pool, tr_worker, &j);
}
