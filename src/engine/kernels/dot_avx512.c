/*
 * dot_avx512.c: AVX-512 tile kernels (F/BW/VL + VNNI; BF16 dot products
 * where the CPU has AVX512_BF16), compiled under a target pragma and
 * chosen at run time. Each kernel computes one weight row against up to 4
 * tokens at once, so a weight block is loaded and unpacked once per 4
 * tokens during prompt processing. Integer sums equal the reference's.
 */
#include "kernels_int.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,avx512bf16,avx2,fma,f16c")

#ifndef SW_PF
#define SW_PF 4096
#endif
#define MAXT 4 /* tokens per kernel call */
#define INL static inline __attribute__((always_inline))

INL float hsum16(__m512 v) { return _mm512_reduce_add_ps(v); }
INL float hsum8(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}
INL float h2f(uint16_t h) { return _cvtsh_ss(h); }

/* ---- float types: a row against NT float (or bf16) activation rows ---- */

INL void dot_f32_n(int64_t n, const float *a, const uint8_t *X, size_t xs, int NT, float *res)
{
    __m512 acc[MAXT];
    for (int t = 0; t < NT; t++) acc[t] = _mm512_setzero_ps();
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        sw_prefetch(a + i, 0);
        __m512 w = _mm512_loadu_ps(a + i);
        for (int t = 0; t < NT; t++)
            acc[t] = _mm512_fmadd_ps(w, _mm512_loadu_ps((const float *)(X + t * xs) + i), acc[t]);
    }
    if (i < n) {
        __mmask16 m = (__mmask16)((1u << (n - i)) - 1);
        __m512 w = _mm512_maskz_loadu_ps(m, a + i);
        for (int t = 0; t < NT; t++)
            acc[t] = _mm512_fmadd_ps(w, _mm512_maskz_loadu_ps(m, (const float *)(X + t * xs) + i), acc[t]);
    }
    for (int t = 0; t < NT; t++) res[t] = hsum16(acc[t]);
}

INL void dot_f16_n(int64_t n, const uint16_t *a, const uint8_t *X, size_t xs, int NT, float *res)
{
    __m512 acc[MAXT];
    for (int t = 0; t < NT; t++) acc[t] = _mm512_setzero_ps();
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        sw_prefetch(a + i, 0);
        __m512 w = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(a + i)));
        for (int t = 0; t < NT; t++)
            acc[t] = _mm512_fmadd_ps(w, _mm512_loadu_ps((const float *)(X + t * xs) + i), acc[t]);
    }
    if (i < n) {
        __mmask16 m = (__mmask16)((1u << (n - i)) - 1);
        __m512 w = _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, a + i));
        for (int t = 0; t < NT; t++)
            acc[t] = _mm512_fmadd_ps(w, _mm512_maskz_loadu_ps(m, (const float *)(X + t * xs) + i), acc[t]);
    }
    for (int t = 0; t < NT; t++) res[t] = hsum16(acc[t]);
}

INL void dot_bf16_n(int64_t n, const uint16_t *a, const uint8_t *X, size_t xs, int NT, float *res)
{
    __m512 acc[MAXT];
    for (int t = 0; t < NT; t++) acc[t] = _mm512_setzero_ps();
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        sw_prefetch(a + i, 0);
        __m512bh w = (__m512bh)_mm512_loadu_si512(a + i);
        for (int t = 0; t < NT; t++)
            acc[t] = _mm512_dpbf16_ps(acc[t], w,
                                      (__m512bh)_mm512_loadu_si512((const uint16_t *)(X + t * xs) + i));
    }
    if (i < n) {
        /* zero-padded tail; an odd tail pairs its last element with a zero */
        __mmask32 m = (__mmask32)((1ull << (n - i)) - 1);
        __m512bh w = (__m512bh)_mm512_maskz_loadu_epi16(m, a + i);
        for (int t = 0; t < NT; t++)
            acc[t] = _mm512_dpbf16_ps(
                acc[t], w, (__m512bh)_mm512_maskz_loadu_epi16(m, (const uint16_t *)(X + t * xs) + i));
    }
    for (int t = 0; t < NT; t++) res[t] = hsum16(acc[t]);
}

/* ---- Q8_0 / Q4_0 against Q8_0 activations ---- */

INL __m256i dpbusd0(__m256i u, __m256i s) { return _mm256_dpbusd_epi32(_mm256_setzero_si256(), u, s); }

INL void dot_q8_0_n(int64_t n, const blk_q8_0 *a, const uint8_t *X, size_t xs, int NT, float *res)
{
    __m256 acc[MAXT];
    const blk_q8_0 *b[MAXT];
    for (int t = 0; t < NT; t++) {
        acc[t] = _mm256_setzero_ps();
        b[t] = (const blk_q8_0 *)(X + t * xs);
    }
    for (int64_t i = 0; i < n / QK32; i++) {
        sw_prefetch(&a[i], 0);
        __m256i w = _mm256_loadu_si256((const __m256i *)a[i].qs);
        __m256i aw = _mm256_sign_epi8(w, w);
        float dw = h2f(a[i].d);
        for (int t = 0; t < NT; t++) {
            __m256i x = _mm256_loadu_si256((const __m256i *)b[t][i].qs);
            __m256i p = dpbusd0(aw, _mm256_sign_epi8(x, w));
            acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), _mm256_set1_ps(dw * h2f(b[t][i].d)), acc[t]);
        }
    }
    for (int t = 0; t < NT; t++) res[t] = hsum8(acc[t]);
}

INL void dot_q4_0_n(int64_t n, const blk_q4_0 *a, const uint8_t *X, size_t xs, int NT, float *res)
{
    __m256 acc[MAXT];
    const blk_q8_0 *b[MAXT];
    for (int t = 0; t < NT; t++) {
        acc[t] = _mm256_setzero_ps();
        b[t] = (const blk_q8_0 *)(X + t * xs);
    }
    const __m128i m4 = _mm_set1_epi8(0xF);
    const __m256i eight = _mm256_set1_epi8(8);
    for (int64_t i = 0; i < n / QK32; i++) {
        sw_prefetch(&a[i], 0);
        __m128i v = _mm_loadu_si128((const __m128i *)a[i].qs);
        __m256i q = _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(v, 4), m4), _mm_and_si128(v, m4));
        float dw = h2f(a[i].d);
        for (int t = 0; t < NT; t++) {
            __m256i x = _mm256_loadu_si256((const __m256i *)b[t][i].qs);
            /* sum (q - 8) x = sum q x - 8 sum x */
            __m256i p = _mm256_sub_epi32(dpbusd0(q, x), dpbusd0(eight, x));
            acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), _mm256_set1_ps(dw * h2f(b[t][i].d)), acc[t]);
        }
    }
    for (int t = 0; t < NT; t++) res[t] = hsum8(acc[t]);
}

/* ---- K-quants against Q8_K activations ---- */

INL void dot_q4_k_n(int64_t n, const blk_q4_k *a, const uint8_t *X, size_t xs, int NT, float *res)
{
    __m512 acc[MAXT];
    float mins[MAXT];
    const blk_q8_k *b[MAXT];
    for (int t = 0; t < NT; t++) {
        acc[t] = _mm512_setzero_ps();
        mins[t] = 0.0f;
        b[t] = (const blk_q8_k *)(X + t * xs);
    }
    const __m256i m4 = _mm256_set1_epi8(0xF);
    for (int64_t i = 0; i < n / QKK; i++) {
        sw_prefetch(&a[i], 0);
        sw_prefetch(&a[i], 64);
        sw_prefetch(&a[i], 128);
        /* 6-bit scales and mins, unpacked with 32-bit shifts as a vector would */
        uint32_t u[3];
        __builtin_memcpy(u, a[i].scales, 12);
        uint32_t sc_lo = u[0] & 0x3f3f3f3f, mn_lo = u[1] & 0x3f3f3f3f;
        uint32_t sc_hi = (u[2] & 0x0f0f0f0f) | ((u[0] >> 2) & 0x30303030);
        uint32_t mn_hi = ((u[2] >> 4) & 0x0f0f0f0f) | ((u[1] >> 2) & 0x30303030);
        __m512i scv = _mm512_cvtepu8_epi16(_mm256_castsi128_si256(
            _mm_set_epi32(0, 0, (int)sc_hi, (int)sc_lo))); /* 8 scales as int16, lanes 0..7 */
        __m128i mnv = _mm_cvtepu8_epi16(_mm_set_epi32(0, 0, (int)mn_hi, (int)mn_lo));
        float dw = h2f(a[i].d), dmw = h2f(a[i].dmin);
        __m512i sumi[MAXT];
        for (int t = 0; t < NT; t++) {
            sumi[t] = _mm512_setzero_si512();
            /* sum over sub-blocks of min * (sum of 32 activations) */
            __m256i bs = _mm256_loadu_si256((const __m256i *)b[t][i].bsums);
            __m128i bs2 = _mm256_cvtepi32_epi16(
                _mm256_madd_epi16(bs, _mm256_set1_epi16(1))); /* pairs of 16 -> 8 sums of 32 */
            __m128i mm = _mm_madd_epi16(bs2, mnv);
            mm = _mm_add_epi32(mm, _mm_unpackhi_epi64(mm, mm));
            mm = _mm_add_epi32(mm, _mm_shuffle_epi32(mm, 1));
            mins[t] += dmw * b[t][i].d * (float)_mm_cvtsi128_si32(mm);
        }
        for (int j = 0; j < 4; j++) {
            __m256i q = _mm256_loadu_si256((const __m256i *)(a[i].qs + 32 * j));
            __m512i qq = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_and_si256(q, m4)),
                                            _mm256_and_si256(_mm256_srli_epi16(q, 4), m4), 1);
            /* lanes 0..15: scale of sub-block 2j, lanes 16..31: of 2j+1 */
            __m512i idx = _mm512_inserti64x4(_mm512_set1_epi16((short)(2 * j)),
                                             _mm256_set1_epi16((short)(2 * j + 1)), 1);
            __m512i s = _mm512_permutexvar_epi16(idx, scv);
            for (int t = 0; t < NT; t++) {
                __m512i y = _mm512_loadu_si512(b[t][i].qs + 64 * j);
                sumi[t] = _mm512_dpwssd_epi32(sumi[t], _mm512_maddubs_epi16(qq, y), s);
            }
        }
        for (int t = 0; t < NT; t++)
            acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(sumi[t]), _mm512_set1_ps(dw * b[t][i].d), acc[t]);
    }
    for (int t = 0; t < NT; t++) res[t] = hsum16(acc[t]) - mins[t];
}

INL void dot_q6_k_n(int64_t n, const blk_q6_k *a, const uint8_t *X, size_t xs, int NT, float *res)
{
    __m512 acc[MAXT];
    const blk_q8_k *b[MAXT];
    for (int t = 0; t < NT; t++) {
        acc[t] = _mm512_setzero_ps();
        b[t] = (const blk_q8_k *)(X + t * xs);
    }
    const __m512i m4 = _mm512_set1_epi8(0xF), m2 = _mm512_set1_epi8(3);
    /* lane k (of 32 int16) belongs to group k/8 of the 64 elements */
    const __m512i gidx = _mm512_set_epi16(3, 3, 3, 3, 3, 3, 3, 3, 2, 2, 2, 2, 2, 2, 2, 2, 1, 1, 1, 1,
                                          1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0);
    for (int64_t i = 0; i < n / QKK; i++) {
        for (int k = 0; k < 4; k++) sw_prefetch(&a[i], 64 * k);
        __m512i sc16 = _mm512_castsi256_si512(
            _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)a[i].scales)));
        float dw = h2f(a[i].d);
        __m512i sumi[MAXT];
        for (int t = 0; t < NT; t++) sumi[t] = _mm512_setzero_si512();
        for (int h = 0; h < 2; h++) {
            __m512i ql = _mm512_loadu_si512(a[i].ql + 64 * h); /* [ql0 | ql1] */
            __m256i qh = _mm256_loadu_si256((const __m256i *)(a[i].qh + 32 * h));
            __m512i qh2 = _mm512_inserti64x4(_mm512_castsi256_si512(qh), _mm256_srli_epi16(qh, 2), 1);
            /* elements 0..63 of this half, then 64..127, as unsigned 0..63 */
            __m512i q01 = _mm512_or_si512(_mm512_and_si512(ql, m4),
                                          _mm512_slli_epi16(_mm512_and_si512(qh2, m2), 4));
            __m512i q23 = _mm512_or_si512(
                _mm512_and_si512(_mm512_srli_epi16(ql, 4), m4),
                _mm512_slli_epi16(_mm512_and_si512(_mm512_srli_epi16(qh2, 4), m2), 4));
            __m512i s01 = _mm512_permutexvar_epi16(_mm512_add_epi16(gidx, _mm512_set1_epi16((short)(8 * h))), sc16);
            __m512i s23 = _mm512_permutexvar_epi16(_mm512_add_epi16(gidx, _mm512_set1_epi16((short)(8 * h + 4))), sc16);
            for (int t = 0; t < NT; t++) {
                __m512i y01 = _mm512_loadu_si512(b[t][i].qs + 128 * h);
                __m512i y23 = _mm512_loadu_si512(b[t][i].qs + 128 * h + 64);
                sumi[t] = _mm512_dpwssd_epi32(sumi[t], _mm512_maddubs_epi16(q01, y01), s01);
                sumi[t] = _mm512_dpwssd_epi32(sumi[t], _mm512_maddubs_epi16(q23, y23), s23);
            }
        }
        for (int t = 0; t < NT; t++) {
            /* stored values are q + 32: subtract 32 * sum_g sc[g] * bsums[g] */
            __m256i bs = _mm256_loadu_si256((const __m256i *)b[t][i].bsums);
            __m256i corr = _mm256_slli_epi32(_mm256_madd_epi16(bs, _mm512_castsi512_si256(sc16)), 5);
            /* the upper half of the cast is undefined: mask it out of the sub */
            __m512i s = _mm512_mask_sub_epi32(sumi[t], 0x00ff, sumi[t], _mm512_castsi256_si512(corr));
            acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s), _mm512_set1_ps(dw * b[t][i].d), acc[t]);
        }
    }
    for (int t = 0; t < NT; t++) res[t] = hsum16(acc[t]);
}

/* ---- tiles: rows outer, tokens in groups of 4 ---- */

#define AVX512_TILE(name, WT)                                                                       \
    static void tile_##name(int64_t n, const uint8_t *W, size_t ws, int64_t nr, const uint8_t *X,   \
                            size_t xs, int64_t nt, float *out, int64_t os)                          \
    {                                                                                               \
        float res[MAXT];                                                                            \
        for (int64_t r = 0; r < nr; r++) {                                                          \
            const WT *w = (const WT *)(W + r * ws);                                                 \
            int64_t t = 0;                                                                          \
            for (; t + 4 <= nt; t += 4) {                                                           \
                dot_##name##_n(n, w, X + t * xs, xs, 4, res);                                       \
                for (int k = 0; k < 4; k++) out[(t + k) * os + r] = res[k];                         \
            }                                                                                       \
            switch (nt - t) {                                                                       \
            case 3: dot_##name##_n(n, w, X + t * xs, xs, 3, res); break;                            \
            case 2: dot_##name##_n(n, w, X + t * xs, xs, 2, res); break;                            \
            case 1: dot_##name##_n(n, w, X + t * xs, xs, 1, res); break;                            \
            default: break;                                                                         \
            }                                                                                       \
            for (int k = 0; k < nt - t; k++) out[(t + k) * os + r] = res[k];                        \
        }                                                                                           \
    }
AVX512_TILE(f32, float)
AVX512_TILE(f16, uint16_t)
AVX512_TILE(bf16, uint16_t)
AVX512_TILE(q8_0, blk_q8_0)
AVX512_TILE(q4_0, blk_q4_0)
AVX512_TILE(q4_k, blk_q4_k)
AVX512_TILE(q6_k, blk_q6_k)

#pragma GCC pop_options

static const sw_kernel_table table_avx512 = {
    .name = "avx512",
    .tile =
        {
            [SW_TYPE_F32] = tile_f32,
            [SW_TYPE_F16] = tile_f16,
            [SW_TYPE_BF16] = tile_bf16,
            [SW_TYPE_Q8_0] = tile_q8_0,
            [SW_TYPE_Q4_0] = tile_q4_0,
            [SW_TYPE_Q4_K] = tile_q4_k,
            [SW_TYPE_Q6_K] = tile_q6_k,
        },
};

/* The same without AVX512_BF16 (e.g. Ice Lake): BF16 takes the AVX2 tile. */
static const sw_kernel_table table_avx512_nobf16 = {
    .name = "avx512",
    .tile =
        {
            [SW_TYPE_F32] = tile_f32,
            [SW_TYPE_F16] = tile_f16,
            [SW_TYPE_BF16] = sw_avx2_tile_bf16,
            [SW_TYPE_Q8_0] = tile_q8_0,
            [SW_TYPE_Q4_0] = tile_q4_0,
            [SW_TYPE_Q4_K] = tile_q4_k,
            [SW_TYPE_Q6_K] = tile_q6_k,
        },
};

const sw_kernel_table *sw_kernels_avx512(void)
{
    __builtin_cpu_init();
    if (!(__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
          __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
          __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx2") &&
          __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c")))
        return NULL;
    return __builtin_cpu_supports("avx512bf16") ? &table_avx512 : &table_avx512_nobf16;
}

#else
const sw_kernel_table *sw_kernels_avx512(void) { return NULL; }
#endif
