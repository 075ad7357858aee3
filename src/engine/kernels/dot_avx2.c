/*
 * dot_avx2.c: AVX2 (+FMA, F16C) tile kernels. The file is compiled under a
 * target pragma so the rest of the build stays baseline x86-64; the table
 * getter at the bottom is compiled without it and checks the CPU first.
 * Integer sums match the scalar reference exactly; only the order of the
 * float accumulation differs.
 */
#include <string.h>

#include "kernels_int.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

/* clang has no GCC target pragma; its attribute pragma does the same */
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,fma,f16c"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx2,fma,f16c")
#endif

static inline float hsum8(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

static inline int hsum_i32_8(__m256i v)
{
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_unpackhi_epi64(s, s));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 1));
    return _mm_cvtsi128_si32(s);
}

static inline float h2f(uint16_t h)
{
    return _cvtsh_ss(h);
}

/* 32 unsigned x 32 signed bytes -> 8 int32 partial sums (no saturation for
 * |u| <= 127 or u <= 63 with |s| <= 127). */
static inline __m256i dot_us8(__m256i u, __m256i s)
{
    return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1));
}

/* ---- float types ---- */

static inline __m256 ld_bf16(const uint16_t *p)
{
    __m256i v = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)p));
    return _mm256_castsi256_ps(_mm256_slli_epi32(v, 16));
}

static float dot_bf16(int64_t n, const uint16_t *a, const uint16_t *b)
{
    __m256 s0 = _mm256_setzero_ps(), s1 = s0;
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        sw_prefetch(a + i, 0);
        s0 = _mm256_fmadd_ps(ld_bf16(a + i), ld_bf16(b + i), s0);
        s1 = _mm256_fmadd_ps(ld_bf16(a + i + 8), ld_bf16(b + i + 8), s1);
    }
    for (; i + 8 <= n; i += 8)
        s0 = _mm256_fmadd_ps(ld_bf16(a + i), ld_bf16(b + i), s0);
    float s = hsum8(_mm256_add_ps(s0, s1));
    for (; i < n; i++)
        s += sw_bf16_to_f32(a[i]) * sw_bf16_to_f32(b[i]);
    return s;
}

/* ---- 8-bit and 4-bit blocks of 32 ---- */

/* The 32 nibbles of a Q4_0 block as bytes 0..15 in element order. */
static inline __m256i q4_0_unpack(const uint8_t *qs)
{
    __m128i v = _mm_loadu_si128((const __m128i *)qs);
    __m128i m = _mm_set1_epi8(0xF);
    return _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(v, 4), m), _mm_and_si128(v, m));
}

/* 32 bits -> 32 bytes, 0xFF where the bit is set */
static inline __m256i bits_to_bytes(const uint8_t qh[4])
{
    uint32_t h;
    __builtin_memcpy(&h, qh, 4);
    const __m256i idx =
        _mm256_set_epi64x(0x0303030303030303, 0x0202020202020202, 0x0101010101010101, 0);
    const __m256i sel = _mm256_set1_epi64x((long long)0x8040201008040201ull);
    __m256i b = _mm256_shuffle_epi8(_mm256_set1_epi32((int)h), idx);
    return _mm256_cmpeq_epi8(_mm256_and_si256(b, sel), sel);
}

static inline float dot_qx_1(int64_t n, const uint8_t *w, const blk_q8_1 *b, int five)
{
    __m256 acc = _mm256_setzero_ps();
    const __m256i b5 = _mm256_set1_epi8(0x10);
    const size_t bsz = five ? sizeof(blk_q5_1) : sizeof(blk_q4_1);
    float macc = 0.0f;
    for (int64_t i = 0; i < n / QK32; i++, w += bsz) {
        sw_prefetch(w, 0);
        __m256i q;
        float d, m;
        if (five) {
            const blk_q5_1 *a = (const blk_q5_1 *)w;
            q = _mm256_or_si256(q4_0_unpack(a->qs), _mm256_and_si256(bits_to_bytes(a->qh), b5));
            d = h2f(a->d);
            m = h2f(a->m);
        } else {
            const blk_q4_1 *a = (const blk_q4_1 *)w;
            q = q4_0_unpack(a->qs);
            d = h2f(a->d);
            m = h2f(a->m);
        }
        __m256i p = dot_us8(q, _mm256_loadu_si256((const __m256i *)b[i].qs));
        acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), _mm256_set1_ps(d * h2f(b[i].d)), acc);
        macc += m * h2f(b[i].s);
    }
    return hsum8(acc) + macc;
}
static float dot_q4_1(int64_t n, const uint8_t *w, const blk_q8_1 *b)
{
    return dot_qx_1(n, w, b, 0);
}
static float dot_q5_1(int64_t n, const uint8_t *w, const blk_q8_1 *b)
{
    return dot_qx_1(n, w, b, 1);
}

/* ---- activation quantizers, bit-identical to the scalar ones ---- */

static inline float hmax8(__m256 v)
{
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_movehdup_ps(m));
    return _mm_cvtss_f32(m);
}

/* 4 x 8 int32 (each within int8 range) -> 32 int8 in order */
static inline __m256i pack32(__m256i a, __m256i b, __m256i c, __m256i d)
{
    __m256i p = _mm256_packs_epi16(_mm256_packs_epi32(a, b), _mm256_packs_epi32(c, d));
    return _mm256_permutevar8x32_epi32(p, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

static inline float q8_block(const float *x, int8_t *qs, int *sum)
{
    const __m256 sign = _mm256_set1_ps(-0.0f);
    __m256 v[4], a = _mm256_setzero_ps();
    for (int k = 0; k < 4; k++) {
        v[k] = _mm256_loadu_ps(x + (size_t)8 * k);
        a = _mm256_max_ps(a, _mm256_andnot_ps(sign, v[k]));
    }
    float d = hmax8(a) / 127.0f;
    float id = d != 0.0f ? 1.0f / d : 0.0f;
    __m256 vid = _mm256_set1_ps(id);
    __m256i q[4];
    for (int k = 0; k < 4; k++)
        q[k] = _mm256_cvtps_epi32(_mm256_mul_ps(v[k], vid));
    _mm256_storeu_si256((__m256i *)qs, pack32(q[0], q[1], q[2], q[3]));
    if (sum) {
        __m256i s = _mm256_add_epi32(_mm256_add_epi32(q[0], q[1]), _mm256_add_epi32(q[2], q[3]));
        __m128i t = _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
        t = _mm_add_epi32(t, _mm_unpackhi_epi64(t, t));
        t = _mm_add_epi32(t, _mm_shuffle_epi32(t, 1));
        *sum = _mm_cvtsi128_si32(t);
    }
    return d;
}

static void act_q8_0(const float *x, void *dst, int64_t n)
{
    blk_q8_0 *b = dst;
    for (int64_t i = 0; i < n / QK32; i++)
        b[i].d = sw_f32_to_fp16(q8_block(x + QK32 * i, b[i].qs, NULL));
}

static void act_q8_1(const float *x, void *dst, int64_t n)
{
    blk_q8_1 *b = dst;
    for (int64_t i = 0; i < n / QK32; i++) {
        int sum = 0;
        float d = q8_block(x + QK32 * i, b[i].qs, &sum);
        b[i].d = sw_f32_to_fp16(d);
        b[i].s = sw_f32_to_fp16((float)sum * d);
    }
}

static void act_q8_k(const float *x, void *dst, int64_t n)
{
    blk_q8_k *b = dst;
    const __m256 sign = _mm256_set1_ps(-0.0f);
    for (int64_t i = 0; i < n / QKK; i++, x += QKK) {
        __m256 a = _mm256_setzero_ps();
        for (int k = 0; k < 32; k++)
            a = _mm256_max_ps(a, _mm256_andnot_ps(sign, _mm256_loadu_ps(x + (size_t)8 * k)));
        float amax = hmax8(a);
        if (amax == 0.0f) {
            memset(&b[i], 0, sizeof(b[i]));
            continue;
        }
        /* the first element of largest magnitude gives the sign (scalar rule) */
        __m256 va = _mm256_set1_ps(amax);
        float max = 0.0f;
        for (int k = 0; k < 32; k++) {
            int m = _mm256_movemask_ps(_mm256_cmp_ps(
                _mm256_andnot_ps(sign, _mm256_loadu_ps(x + (size_t)8 * k)), va, _CMP_EQ_OQ));
            if (m) {
                max = x[8 * k + __builtin_ctz((unsigned)m)];
                break;
            }
        }
        float iscale = -127.0f / max;
        __m256 vs = _mm256_set1_ps(iscale);
        const __m256i lim = _mm256_set1_epi32(127);
        for (int k = 0; k < 8; k++) {
            __m256i q[4];
            for (int j = 0; j < 4; j++)
                q[j] =
                    _mm256_min_epi32(_mm256_cvtps_epi32(_mm256_mul_ps(
                                         _mm256_loadu_ps(x + (size_t)32 * k + (size_t)8 * j), vs)),
                                     lim);
            _mm256_storeu_si256((__m256i *)(b[i].qs + (size_t)32 * k),
                                pack32(q[0], q[1], q[2], q[3]));
            for (int g = 0; g < 2; g++) {
                __m256i s = _mm256_add_epi32(q[(size_t)2 * g], q[(size_t)2 * g + 1]);
                __m128i t =
                    _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
                t = _mm_add_epi32(t, _mm_unpackhi_epi64(t, t));
                t = _mm_add_epi32(t, _mm_shuffle_epi32(t, 1));
                b[i].bsums[2 * k + g] = (int16_t)_mm_cvtsi128_si32(t);
            }
        }
        b[i].d = 1.0f / iscale;
    }
}

static void act_bf16(const float *x, void *dst, int64_t n)
{
    uint16_t *h = dst;
    int64_t i = 0;
    const __m256i one = _mm256_set1_epi32(1), bias = _mm256_set1_epi32(0x7fff);
    const __m256i absmask = _mm256_set1_epi32(0x7fffffff), inf = _mm256_set1_epi32(0x7f800000);
    const __m256i qnan = _mm256_set1_epi32(0x40);
    for (; i + 16 <= n; i += 16) {
        __m256i r[2];
        for (int k = 0; k < 2; k++) {
            __m256i u = _mm256_loadu_si256((const __m256i *)(x + i + (size_t)8 * k));
            __m256i v =
                _mm256_srli_epi32(_mm256_add_epi32(_mm256_add_epi32(u, bias),
                                                   _mm256_and_si256(_mm256_srli_epi32(u, 16), one)),
                                  16);
            __m256i nan = _mm256_cmpgt_epi32(_mm256_and_si256(u, absmask), inf);
            r[k] = _mm256_blendv_epi8(v, _mm256_or_si256(_mm256_srli_epi32(u, 16), qnan), nan);
        }
        /* values are < 65536: unsigned pack is exact; fix the lane order */
        __m256i p = _mm256_permute4x64_epi64(_mm256_packus_epi32(r[0], r[1]), 0xD8);
        _mm256_storeu_si256((__m256i *)(h + i), p);
    }
    for (; i < n; i++)
        h[i] = sw_f32_to_bf16(x[i]);
}

/* ---- K-quants against Q8_K ---- */

/* The R x T loops carry an unroll pragma (UNR) that clang-format cannot
 * place; this part keeps its hand layout. */
/* clang-format off */
/* ---- register-blocked kernels: R weight rows x T tokens per pass ---- */

#define MAXR 4
#define MAXT 4
#define INL static inline __attribute__((always_inline))
#define UNR _Pragma("GCC unroll 16")
#define KARGS int64_t n, const uint8_t *W, size_t ws, const uint8_t *X, size_t xs, float *res
/* prefetch the rows two groups ahead, as one linear stream (see dot_avx512.c) */
#define PF_NEXT(i, step)                                                                     \
    do {                                                                                     \
        const uint8_t *pf_ = W + (size_t)(2 * R) * ws + (size_t)(i) * (size_t)R * (step);    \
        UNR for (int k_ = 0; k_ < R * (int)(step); k_ += 64) __builtin_prefetch(pf_ + k_, 0, 3); \
    } while (0)

INL void k_f32(KARGS, const int R, const int T)
{
    __m256 acc[MAXR][MAXT];
    UNR for (int r = 0; r < R; r++) UNR for (int t = 0; t < T; t++) acc[r][t] = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        PF_NEXT(i / 8, 32);
        __m256 w[MAXR];
        UNR for (int r = 0; r < R; r++) w[r] = _mm256_loadu_ps((const float *)(W + r * ws) + i);
        UNR for (int t = 0; t < T; t++) {
            __m256 x = _mm256_loadu_ps((const float *)(X + t * xs) + i);
            UNR for (int r = 0; r < R; r++) acc[r][t] = _mm256_fmadd_ps(w[r], x, acc[r][t]);
        }
    }
    UNR for (int r = 0; r < R; r++)
        UNR for (int t = 0; t < T; t++) {
            float s = hsum8(acc[r][t]);
            for (int64_t k = i; k < n; k++) s += ((const float *)(W + r * ws))[k] * ((const float *)(X + t * xs))[k];
            res[r * MAXT + t] = s;
        }
}

INL void k_f16(KARGS, const int R, const int T)
{
    __m256 acc[MAXR][MAXT];
    UNR for (int r = 0; r < R; r++) UNR for (int t = 0; t < T; t++) acc[r][t] = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        PF_NEXT(i / 8, 16);
        __m256 w[MAXR];
        UNR for (int r = 0; r < R; r++)
            w[r] = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)((const uint16_t *)(W + r * ws) + i)));
        UNR for (int t = 0; t < T; t++) {
            __m256 x = _mm256_loadu_ps((const float *)(X + t * xs) + i);
            UNR for (int r = 0; r < R; r++) acc[r][t] = _mm256_fmadd_ps(w[r], x, acc[r][t]);
        }
    }
    UNR for (int r = 0; r < R; r++)
        UNR for (int t = 0; t < T; t++) {
            float s = hsum8(acc[r][t]);
            for (int64_t k = i; k < n; k++)
                s += h2f(((const uint16_t *)(W + r * ws))[k]) * ((const float *)(X + t * xs))[k];
            res[r * MAXT + t] = s;
        }
}

/* Q8_0 / Q4_0 / Q5_0 against Q8_0 activations. Q8_0 uses the sign trick
 * (|w| unsigned, x with w's sign); Q4_0 / Q5_0 multiply the unsigned
 * values and subtract offset * sum(x), formed once per token. */
INL void k_q32(KARGS, const int R, const int T, const uint32_t type)
{
    __m256 acc[MAXR][MAXT];
    UNR for (int r = 0; r < R; r++) UNR for (int t = 0; t < T; t++) acc[r][t] = _mm256_setzero_ps();
    const size_t bsz = type == SW_TYPE_Q8_0 ? sizeof(blk_q8_0) : type == SW_TYPE_Q4_0 ? sizeof(blk_q4_0) : sizeof(blk_q5_0);
    const __m256i off = _mm256_set1_epi8(type == SW_TYPE_Q4_0 ? 8 : 16), b5 = _mm256_set1_epi8(0x10);
    for (int64_t i = 0; i < n / QK32; i++) {
        PF_NEXT(i, bsz);
        __m256i w[MAXR], aw[MAXR];
        __m256 dw[MAXR];
        UNR for (int r = 0; r < R; r++) {
            const uint8_t *blk = W + r * ws + (size_t)i * bsz;
            if (type == SW_TYPE_Q8_0) {
                const blk_q8_0 *a = (const blk_q8_0 *)blk;
                w[r] = _mm256_loadu_si256((const __m256i *)a->qs);
                aw[r] = _mm256_sign_epi8(w[r], w[r]);
                dw[r] = _mm256_set1_ps(h2f(a->d));
            } else if (type == SW_TYPE_Q4_0) {
                const blk_q4_0 *a = (const blk_q4_0 *)blk;
                w[r] = q4_0_unpack(a->qs);
                dw[r] = _mm256_set1_ps(h2f(a->d));
            } else {
                const blk_q5_0 *a = (const blk_q5_0 *)blk;
                w[r] = _mm256_or_si256(q4_0_unpack(a->qs), _mm256_and_si256(bits_to_bytes(a->qh), b5));
                dw[r] = _mm256_set1_ps(h2f(a->d));
            }
        }
        UNR for (int t = 0; t < T; t++) {
            const blk_q8_0 *b = (const blk_q8_0 *)(X + t * xs) + i;
            __m256i x = _mm256_loadu_si256((const __m256i *)b->qs);
            __m256 dx = _mm256_set1_ps(h2f(b->d));
            __m256i corr = _mm256_setzero_si256();
            if (type != SW_TYPE_Q8_0) corr = dot_us8(off, x);
            UNR for (int r = 0; r < R; r++) {
                __m256i p = type == SW_TYPE_Q8_0 ? dot_us8(aw[r], _mm256_sign_epi8(x, w[r]))
                                                 : _mm256_sub_epi32(dot_us8(w[r], x), corr);
                acc[r][t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), _mm256_mul_ps(dw[r], dx), acc[r][t]);
            }
        }
    }
    UNR for (int r = 0; r < R; r++) UNR for (int t = 0; t < T; t++) res[r * MAXT + t] = hsum8(acc[r][t]);
}
INL void k_q8_0(KARGS, const int R, const int T) { k_q32(n, W, ws, X, xs, res, R, T, SW_TYPE_Q8_0); }
INL void k_q4_0(KARGS, const int R, const int T) { k_q32(n, W, ws, X, xs, res, R, T, SW_TYPE_Q4_0); }
INL void k_q5_0(KARGS, const int R, const int T) { k_q32(n, W, ws, X, xs, res, R, T, SW_TYPE_Q5_0); }

INL void k_q4_k(KARGS, const int R, const int T)
{
    __m256 acc[MAXR][MAXT];
    float mins[MAXR][MAXT];
    UNR for (int r = 0; r < R; r++) UNR for (int t = 0; t < T; t++) {
        acc[r][t] = _mm256_setzero_ps();
        mins[r][t] = 0.0f;
    }
    const __m256i m4 = _mm256_set1_epi8(0xF);
    for (int64_t i = 0; i < n / QKK; i++) {
        PF_NEXT(i, sizeof(blk_q4_k));
        uint8_t sc[MAXR][8];
        __m128i mnv[MAXR];
        float dw[MAXR], dmw[MAXR];
        UNR for (int r = 0; r < R; r++) {
            const blk_q4_k *a = (const blk_q4_k *)(W + r * ws) + i;
            /* 6-bit scales and mins, unpacked 4 at a time in 32-bit words */
            uint32_t u[3], v[2];
            memcpy(u, a->scales, 12);
            v[0] = u[0] & 0x3f3f3f3f;
            v[1] = (u[2] & 0x0f0f0f0f) | ((u[0] >> 2) & 0x30303030);
            memcpy(sc[r], v, 8);
            uint32_t mn_lo = u[1] & 0x3f3f3f3f, mn_hi = ((u[2] >> 4) & 0x0f0f0f0f) | ((u[1] >> 2) & 0x30303030);
            mnv[r] = _mm_cvtepu8_epi16(_mm_set_epi32(0, 0, (int)mn_hi, (int)mn_lo));
            dw[r] = h2f(a->d);
            dmw[r] = h2f(a->dmin);
        }
        __m256i sumi[MAXR][MAXT];
        UNR for (int r = 0; r < R; r++) UNR for (int t = 0; t < T; t++) sumi[r][t] = _mm256_setzero_si256();
        UNR for (int t = 0; t < T; t++) {
            const blk_q8_k *b = (const blk_q8_k *)(X + t * xs) + i;
            /* 16 sums of 16 activations -> 8 sums of 32 (they fit int16) */
            __m256i bs = _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)b->bsums), _mm256_set1_epi16(1));
            __m128i bs2 = _mm_packs_epi32(_mm256_castsi256_si128(bs), _mm256_extracti128_si256(bs, 1));
            UNR for (int r = 0; r < R; r++) {
                __m128i m = _mm_madd_epi16(bs2, mnv[r]);
                m = _mm_add_epi32(m, _mm_unpackhi_epi64(m, m));
                m = _mm_add_epi32(m, _mm_shuffle_epi32(m, 1));
                mins[r][t] += dmw[r] * b->d * (float)_mm_cvtsi128_si32(m);
            }
        }
        for (int j = 0; j < 4; j++) {
            __m256i lo[MAXR], hi[MAXR];
            UNR for (int r = 0; r < R; r++) {
                const blk_q4_k *a = (const blk_q4_k *)(W + r * ws) + i;
                __m256i q = _mm256_loadu_si256((const __m256i *)(a->qs + (size_t)32 * j));
                lo[r] = _mm256_and_si256(q, m4);
                hi[r] = _mm256_and_si256(_mm256_srli_epi16(q, 4), m4);
            }
            UNR for (int t = 0; t < T; t++) {
                const blk_q8_k *b = (const blk_q8_k *)(X + t * xs) + i;
                __m256i ylo = _mm256_loadu_si256((const __m256i *)(b->qs + (size_t)64 * j));
                __m256i yhi = _mm256_loadu_si256((const __m256i *)(b->qs + (size_t)64 * j + 32));
                UNR for (int r = 0; r < R; r++) {
                    __m256i plo = _mm256_madd_epi16(_mm256_maddubs_epi16(lo[r], ylo), _mm256_set1_epi16(sc[r][(size_t)2 * j]));
                    __m256i phi = _mm256_madd_epi16(_mm256_maddubs_epi16(hi[r], yhi), _mm256_set1_epi16(sc[r][2 * j + 1]));
                    sumi[r][t] = _mm256_add_epi32(sumi[r][t], _mm256_add_epi32(plo, phi));
                }
            }
        }
        UNR for (int t = 0; t < T; t++) {
            float yd = ((const blk_q8_k *)(X + t * xs) + i)->d;
            UNR for (int r = 0; r < R; r++)
                acc[r][t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sumi[r][t]), _mm256_set1_ps(dw[r] * yd), acc[r][t]);
        }
    }
    UNR for (int r = 0; r < R; r++) UNR for (int t = 0; t < T; t++) res[r * MAXT + t] = hsum8(acc[r][t]) - mins[r][t];
}

INL void k_q6_k(KARGS, const int R, const int T)
{
    __m256 acc[MAXR][MAXT];
    UNR for (int r = 0; r < R; r++) UNR for (int t = 0; t < T; t++) acc[r][t] = _mm256_setzero_ps();
    const __m256i m4 = _mm256_set1_epi8(0xF), m2 = _mm256_set1_epi8(3);
    for (int64_t i = 0; i < n / QKK; i++) {
        PF_NEXT(i, sizeof(blk_q6_k));
        __m256i sumi[MAXR][MAXT];
        UNR for (int t = 0; t < T; t++) {
            /* the stored values are q + 32: start from -32 * sum_g sc[g] * bsums[g] */
            __m256i bs = _mm256_loadu_si256((const __m256i *)((const blk_q8_k *)(X + t * xs) + i)->bsums);
            UNR for (int r = 0; r < R; r++) {
                const blk_q6_k *a = (const blk_q6_k *)(W + r * ws) + i;
                __m256i sc16 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)a->scales));
                sumi[r][t] = _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_slli_epi32(_mm256_madd_epi16(bs, sc16), 5));
            }
        }
        for (int h = 0; h < 2; h++) {
            UNR for (int k = 0; k < 4; k++) {
                __m256i q[MAXR], s[MAXR];
                UNR for (int r = 0; r < R; r++) {
                    const blk_q6_k *a = (const blk_q6_k *)(W + r * ws) + i;
                    __m256i l = _mm256_loadu_si256((const __m256i *)(a->ql + (size_t)64 * h + (size_t)32 * (k & 1)));
                    __m256i qh = _mm256_loadu_si256((const __m256i *)(a->qh + (size_t)32 * h));
                    if (k & 2) l = _mm256_srli_epi16(l, 4);
                    q[r] = _mm256_or_si256(_mm256_and_si256(l, m4),
                                           _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2 * k), m2), 4));
                    int g = 8 * h + 2 * k;
                    s[r] = _mm256_set_m128i(_mm_set1_epi16(a->scales[g + 1]), _mm_set1_epi16(a->scales[g]));
                }
                UNR for (int t = 0; t < T; t++) {
                    __m256i y = _mm256_loadu_si256((const __m256i *)(((const blk_q8_k *)(X + t * xs) + i)->qs + (size_t)128 * h + (size_t)32 * k));
                    UNR for (int r = 0; r < R; r++)
                        sumi[r][t] = _mm256_add_epi32(sumi[r][t], _mm256_madd_epi16(_mm256_maddubs_epi16(q[r], y), s[r]));
                }
            }
        }
        UNR for (int t = 0; t < T; t++) {
            float yd = ((const blk_q8_k *)(X + t * xs) + i)->d;
            UNR for (int r = 0; r < R; r++) {
                float dw = h2f(((const blk_q6_k *)(W + r * ws) + i)->d);
                acc[r][t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sumi[r][t]), _mm256_set1_ps(dw * yd), acc[r][t]);
            }
        }
    }
    UNR for (int r = 0; r < R; r++) UNR for (int t = 0; t < T; t++) res[r * MAXT + t] = hsum8(acc[r][t]);
}

/* Q5_K: Q4_K with the 5th bits of chunk j (64 elements) in bits 2j, 2j+1 of qh. */
INL void k_q5_k(KARGS, const int R, const int T)
{
    __m256 acc[MAXR][MAXT];
    float mins[MAXR][MAXT];
    UNR for (int r = 0; r < R; r++) UNR for (int t = 0; t < T; t++) {
        acc[r][t] = _mm256_setzero_ps();
        mins[r][t] = 0.0f;
    }
    const __m256i m4 = _mm256_set1_epi8(0xF), one = _mm256_set1_epi8(1);
    for (int64_t i = 0; i < n / QKK; i++) {
        PF_NEXT(i, sizeof(blk_q5_k));
        uint8_t sc[MAXR][8];
        __m128i mnv[MAXR];
        __m256i qh[MAXR];
        float dw[MAXR], dmw[MAXR];
        UNR for (int r = 0; r < R; r++) {
            const blk_q5_k *a = (const blk_q5_k *)(W + r * ws) + i;
            uint32_t u[3], v[2];
            memcpy(u, a->scales, 12);
            v[0] = u[0] & 0x3f3f3f3f;
            v[1] = (u[2] & 0x0f0f0f0f) | ((u[0] >> 2) & 0x30303030);
            memcpy(sc[r], v, 8);
            uint32_t mn_lo = u[1] & 0x3f3f3f3f, mn_hi = ((u[2] >> 4) & 0x0f0f0f0f) | ((u[1] >> 2) & 0x30303030);
            mnv[r] = _mm_cvtepu8_epi16(_mm_set_epi32(0, 0, (int)mn_hi, (int)mn_lo));
            qh[r] = _mm256_loadu_si256((const __m256i *)a->qh);
            dw[r] = h2f(a->d);
            dmw[r] = h2f(a->dmin);
        }
        __m256i sumi[MAXR][MAXT];
        UNR for (int r = 0; r < R; r++) UNR for (int t = 0; t < T; t++) sumi[r][t] = _mm256_setzero_si256();
        UNR for (int t = 0; t < T; t++) {
            const blk_q8_k *b = (const blk_q8_k *)(X + t * xs) + i;
            __m256i bs = _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)b->bsums), _mm256_set1_epi16(1));
            __m128i bs2 = _mm_packs_epi32(_mm256_castsi256_si128(bs), _mm256_extracti128_si256(bs, 1));
            UNR for (int r = 0; r < R; r++) {
                __m128i m = _mm_madd_epi16(bs2, mnv[r]);
                m = _mm_add_epi32(m, _mm_unpackhi_epi64(m, m));
                m = _mm_add_epi32(m, _mm_shuffle_epi32(m, 1));
                mins[r][t] += dmw[r] * b->d * (float)_mm_cvtsi128_si32(m);
            }
        }
        for (int j = 0; j < 4; j++) {
            __m256i lo[MAXR], hi[MAXR];
            UNR for (int r = 0; r < R; r++) {
                const blk_q5_k *a = (const blk_q5_k *)(W + r * ws) + i;
                __m256i q = _mm256_loadu_si256((const __m256i *)(a->qs + (size_t)32 * j));
                __m256i h0 = _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh[r], 2 * j), one), 4);
                __m256i h1 = _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh[r], 2 * j + 1), one), 4);
                lo[r] = _mm256_or_si256(_mm256_and_si256(q, m4), h0);
                hi[r] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(q, 4), m4), h1);
            }
            UNR for (int t = 0; t < T; t++) {
                const blk_q8_k *b = (const blk_q8_k *)(X + t * xs) + i;
                __m256i ylo = _mm256_loadu_si256((const __m256i *)(b->qs + (size_t)64 * j));
                __m256i yhi = _mm256_loadu_si256((const __m256i *)(b->qs + (size_t)64 * j + 32));
                UNR for (int r = 0; r < R; r++) {
                    __m256i plo = _mm256_madd_epi16(_mm256_maddubs_epi16(lo[r], ylo), _mm256_set1_epi16(sc[r][(size_t)2 * j]));
                    __m256i phi = _mm256_madd_epi16(_mm256_maddubs_epi16(hi[r], yhi), _mm256_set1_epi16(sc[r][2 * j + 1]));
                    sumi[r][t] = _mm256_add_epi32(sumi[r][t], _mm256_add_epi32(plo, phi));
                }
            }
        }
        UNR for (int t = 0; t < T; t++) {
            float yd = ((const blk_q8_k *)(X + t * xs) + i)->d;
            UNR for (int r = 0; r < R; r++)
                acc[r][t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sumi[r][t]), _mm256_set1_ps(dw[r] * yd), acc[r][t]);
        }
    }
    UNR for (int r = 0; r < R; r++) UNR for (int t = 0; t < T; t++) res[r * MAXT + t] = hsum8(acc[r][t]) - mins[r][t];
}

/* Q2_K / Q3_K: per 128 elements 32 bytes of 2-bit fields, shift 2j giving
 * elements 32j..32j+31 (groups of 16 with their own scale). Q2_K subtracts
 * its mins through bsums; Q3_K stores q + 4 (the hmask bit is the 4) and
 * subtracts 4 * scale * bsum. */
INL void k_q23_k(KARGS, const int R, const int T, const int three)
{
    __m256 acc[MAXR][MAXT];
    float mins[MAXR][MAXT];
    UNR for (int r = 0; r < R; r++) UNR for (int t = 0; t < T; t++) {
        acc[r][t] = _mm256_setzero_ps();
        mins[r][t] = 0.0f;
    }
    const __m256i m2 = _mm256_set1_epi8(3), one = _mm256_set1_epi8(1);
    const size_t bsz = three ? sizeof(blk_q3_k) : sizeof(blk_q2_k);
    for (int64_t i = 0; i < n / QKK; i++) {
        PF_NEXT(i, bsz);
        int16_t sc[MAXR][16];
        __m256i sc16[MAXR], mn16[MAXR], hm[MAXR];
        float dw[MAXR], dmw[MAXR];
        UNR for (int r = 0; r < R; r++) {
            if (three) {
                const blk_q3_k *a = (const blk_q3_k *)(W + r * ws) + i;
                /* the 16 6-bit scales in four 32-bit words (as sw_q3k_scales) */
                uint32_t aux[4];
                memcpy(aux, a->scales, 12);
                uint32_t tmp = aux[2];
                aux[2] = ((aux[0] >> 4) & 0x0f0f0f0f) | (((tmp >> 4) & 0x03030303) << 4);
                aux[3] = ((aux[1] >> 4) & 0x0f0f0f0f) | (((tmp >> 6) & 0x03030303) << 4);
                aux[0] = (aux[0] & 0x0f0f0f0f) | (((tmp >> 0) & 0x03030303) << 4);
                aux[1] = (aux[1] & 0x0f0f0f0f) | (((tmp >> 2) & 0x03030303) << 4);
                __m128i s8 = _mm_sub_epi8(_mm_loadu_si128((const __m128i *)aux), _mm_set1_epi8(32));
                _mm256_storeu_si256((__m256i *)sc[r], _mm256_cvtepi8_epi16(s8));
                hm[r] = _mm256_loadu_si256((const __m256i *)a->hmask);
                dw[r] = h2f(a->d);
                dmw[r] = 0.0f;
            } else {
                const blk_q2_k *a = (const blk_q2_k *)(W + r * ws) + i;
                __m128i s = _mm_loadu_si128((const __m128i *)a->scales);
                mn16[r] = _mm256_cvtepu8_epi16(_mm_and_si128(_mm_srli_epi16(s, 4), _mm_set1_epi8(0xF)));
                _mm256_storeu_si256((__m256i *)sc[r], _mm256_cvtepu8_epi16(_mm_and_si128(s, _mm_set1_epi8(0xF))));
                dw[r] = h2f(a->d);
                dmw[r] = h2f(a->dmin);
            }
            sc16[r] = _mm256_loadu_si256((const __m256i *)sc[r]);
        }
        __m256i sumi[MAXR][MAXT];
        UNR for (int t = 0; t < T; t++) {
            const blk_q8_k *b = (const blk_q8_k *)(X + t * xs) + i;
            __m256i bs = _mm256_loadu_si256((const __m256i *)b->bsums);
            UNR for (int r = 0; r < R; r++) {
                if (three) { /* start from -4 * sum_g sc[g] bsums[g] */
                    sumi[r][t] = _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_slli_epi32(_mm256_madd_epi16(bs, sc16[r]), 2));
                } else {
                    sumi[r][t] = _mm256_setzero_si256();
                    __m256i m = _mm256_madd_epi16(bs, mn16[r]);
                    mins[r][t] += dmw[r] * b->d * (float)hsum_i32_8(m);
                }
            }
        }
        for (int h = 0; h < 2; h++) {
            __m256i q[MAXR];
            UNR for (int r = 0; r < R; r++) {
                const uint8_t *qs = three ? ((const blk_q3_k *)(W + r * ws) + i)->qs : ((const blk_q2_k *)(W + r * ws) + i)->qs;
                q[r] = _mm256_loadu_si256((const __m256i *)(qs + (size_t)32 * h));
            }
            for (int j = 0; j < 4; j++) {
                __m256i qj[MAXR], s[MAXR];
                int g = 8 * h + 2 * j;
                UNR for (int r = 0; r < R; r++) {
                    qj[r] = _mm256_and_si256(_mm256_srli_epi16(q[r], 2 * j), m2);
                    if (three)
                        qj[r] = _mm256_or_si256(qj[r], _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(hm[r], 4 * h + j), one), 2));
                    s[r] = _mm256_set_m128i(_mm_set1_epi16(sc[r][g + 1]), _mm_set1_epi16(sc[r][g]));
                }
                UNR for (int t = 0; t < T; t++) {
                    __m256i y = _mm256_loadu_si256((const __m256i *)(((const blk_q8_k *)(X + t * xs) + i)->qs + (size_t)128 * h + (size_t)32 * j));
                    UNR for (int r = 0; r < R; r++)
                        sumi[r][t] = _mm256_add_epi32(sumi[r][t], _mm256_madd_epi16(_mm256_maddubs_epi16(qj[r], y), s[r]));
                }
            }
        }
        UNR for (int t = 0; t < T; t++) {
            float yd = ((const blk_q8_k *)(X + t * xs) + i)->d;
            UNR for (int r = 0; r < R; r++)
                acc[r][t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sumi[r][t]), _mm256_set1_ps(dw[r] * yd), acc[r][t]);
        }
    }
    UNR for (int r = 0; r < R; r++) UNR for (int t = 0; t < T; t++) res[r * MAXT + t] = hsum8(acc[r][t]) - mins[r][t];
}
INL void k_q2_k(KARGS, const int R, const int T) { k_q23_k(n, W, ws, X, xs, res, R, T, 0); }
INL void k_q3_k(KARGS, const int R, const int T) { k_q23_k(n, W, ws, X, xs, res, R, T, 1); }

/* IQ4_NL (against Q8_0) / IQ4_XS (against Q8_K): the nibbles index the
 * 16 levels with one byte shuffle, then the Q8_0 sign trick (|w| unsigned,
 * x with w's sign). */
INL __m256i iq4_lookup(const uint8_t *qs)
{
    const __m256i tab = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)sw_iq4nl_values));
    return _mm256_shuffle_epi8(tab, q4_0_unpack(qs));
}

INL void k_iq4_nl(KARGS, const int R, const int T)
{
    __m256 acc[MAXR][MAXT];
    UNR for (int r = 0; r < R; r++) UNR for (int t = 0; t < T; t++) acc[r][t] = _mm256_setzero_ps();
    for (int64_t i = 0; i < n / QK32; i++) {
        PF_NEXT(i, sizeof(blk_iq4_nl));
        __m256i w[MAXR], aw[MAXR];
        __m256 dw[MAXR];
        UNR for (int r = 0; r < R; r++) {
            const blk_iq4_nl *a = (const blk_iq4_nl *)(W + r * ws) + i;
            w[r] = iq4_lookup(a->qs);
            aw[r] = _mm256_sign_epi8(w[r], w[r]);
            dw[r] = _mm256_set1_ps(h2f(a->d));
        }
        UNR for (int t = 0; t < T; t++) {
            const blk_q8_0 *b = (const blk_q8_0 *)(X + t * xs) + i;
            __m256i x = _mm256_loadu_si256((const __m256i *)b->qs);
            __m256 dx = _mm256_set1_ps(h2f(b->d));
            UNR for (int r = 0; r < R; r++) {
                __m256i p = dot_us8(aw[r], _mm256_sign_epi8(x, w[r]));
                acc[r][t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), _mm256_mul_ps(dw[r], dx), acc[r][t]);
            }
        }
    }
    UNR for (int r = 0; r < R; r++) UNR for (int t = 0; t < T; t++) res[r * MAXT + t] = hsum8(acc[r][t]);
}

INL void k_iq4_xs(KARGS, const int R, const int T)
{
    __m256 acc[MAXR][MAXT];
    UNR for (int r = 0; r < R; r++) UNR for (int t = 0; t < T; t++) acc[r][t] = _mm256_setzero_ps();
    for (int64_t i = 0; i < n / QKK; i++) {
        PF_NEXT(i, sizeof(blk_iq4_xs));
        __m256i sumi[MAXR][MAXT];
        UNR for (int r = 0; r < R; r++) UNR for (int t = 0; t < T; t++) sumi[r][t] = _mm256_setzero_si256();
        for (int ib = 0; ib < 8; ib++) {
            __m256i w[MAXR], aw[MAXR], s[MAXR];
            UNR for (int r = 0; r < R; r++) {
                const blk_iq4_xs *a = (const blk_iq4_xs *)(W + r * ws) + i;
                w[r] = iq4_lookup(a->qs + 16 * ib);
                aw[r] = _mm256_sign_epi8(w[r], w[r]);
                s[r] = _mm256_set1_epi16((short)sw_iq4xs_scale(a, ib));
            }
            UNR for (int t = 0; t < T; t++) {
                __m256i y = _mm256_loadu_si256((const __m256i *)(((const blk_q8_k *)(X + t * xs) + i)->qs + (size_t)32 * ib));
                UNR for (int r = 0; r < R; r++)
                    sumi[r][t] = _mm256_add_epi32(sumi[r][t], _mm256_madd_epi16(_mm256_maddubs_epi16(aw[r], _mm256_sign_epi8(y, w[r])), s[r]));
            }
        }
        UNR for (int t = 0; t < T; t++) {
            float yd = ((const blk_q8_k *)(X + t * xs) + i)->d;
            UNR for (int r = 0; r < R; r++) {
                float dw = h2f(((const blk_iq4_xs *)(W + r * ws) + i)->d);
                acc[r][t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sumi[r][t]), _mm256_set1_ps(dw * yd), acc[r][t]);
            }
        }
    }
    UNR for (int r = 0; r < R; r++) UNR for (int t = 0; t < T; t++) res[r * MAXT + t] = hsum8(acc[r][t]);
}

/* Generation walks rows 4 at a time against one token; prompt batches take
 * 2 rows x 2 tokens (AVX2 has 16 vector registers). */
#define AVX2_RT_TILE(name)                                                                        \
    static void rt_##name(int R, int T, KARGS)                                                    \
    {                                                                                             \
        switch (R * 8 + T) {                                                                      \
        case 4 * 8 + 1: k_##name(n, W, ws, X, xs, res, 4, 1); break;                              \
        case 2 * 8 + 2: k_##name(n, W, ws, X, xs, res, 2, 2); break;                              \
        case 2 * 8 + 1: k_##name(n, W, ws, X, xs, res, 2, 1); break;                              \
        case 1 * 8 + 2: k_##name(n, W, ws, X, xs, res, 1, 2); break;                              \
        default: k_##name(n, W, ws, X, xs, res, 1, 1); break;                                     \
        }                                                                                         \
    }                                                                                             \
    void sw_avx2_tile_##name(int64_t n, const uint8_t *W, size_t ws, int64_t nr, const uint8_t *X, \
                             size_t xs, int64_t nt, float *out, int64_t os)                       \
    {                                                                                             \
        float res[MAXR * MAXT];                                                                   \
        int rb = nt == 1 ? 4 : 2;                                                                 \
        for (int64_t r = 0; r < nr;) {                                                            \
            int R = nr - r >= rb ? rb : 1;                                                        \
            for (int64_t t = 0; t < nt; t += 2) {                                                 \
                int T = nt - t >= 2 ? 2 : 1;                                                      \
                rt_##name(R, T, n, W + r * ws, ws, X + t * xs, xs, res);                          \
                for (int i = 0; i < R; i++)                                                       \
                    for (int k = 0; k < T; k++) out[(t + k) * os + r + i] = res[i * MAXT + k];    \
            }                                                                                     \
            r += R;                                                                               \
        }                                                                                         \
    }
AVX2_RT_TILE(f32)
AVX2_RT_TILE(f16)
AVX2_RT_TILE(q8_0)
AVX2_RT_TILE(q4_0)
AVX2_RT_TILE(q5_0)
AVX2_RT_TILE(q4_k)
AVX2_RT_TILE(q6_k)
AVX2_RT_TILE(q5_k)
AVX2_RT_TILE(q2_k)
AVX2_RT_TILE(q3_k)
AVX2_RT_TILE(iq4_nl)
AVX2_RT_TILE(iq4_xs)

/* clang-format on */

/* ---- single-row tiles for the rest ---- */

#define AVX2_TILE(name, WT, XT)                                                                    \
    void sw_avx2_tile_##name(int64_t n, const uint8_t *W, size_t ws, int64_t nr, const uint8_t *X, \
                             size_t xs, int64_t nt, float *out, int64_t os)                        \
    {                                                                                              \
        for (int64_t r = 0; r < nr; r++)                                                           \
            for (int64_t t = 0; t < nt; t++)                                                       \
                out[t * os + r] =                                                                  \
                    dot_##name(n, (const WT *)(W + r * ws), (const XT *)(X + t * xs));             \
    }
AVX2_TILE(bf16, uint16_t, uint16_t)
AVX2_TILE(q4_1, uint8_t, blk_q8_1)
AVX2_TILE(q5_1, uint8_t, blk_q8_1)

#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif

static const sw_kernel_table table_avx2 = {
    .name = "avx2",
    .tile =
        {
            [SW_TYPE_F32] = sw_avx2_tile_f32,
            [SW_TYPE_F16] = sw_avx2_tile_f16,
            [SW_TYPE_BF16] = sw_avx2_tile_bf16,
            [SW_TYPE_Q8_0] = sw_avx2_tile_q8_0,
            [SW_TYPE_Q4_0] = sw_avx2_tile_q4_0,
            [SW_TYPE_Q4_K] = sw_avx2_tile_q4_k,
            [SW_TYPE_Q6_K] = sw_avx2_tile_q6_k,
            [SW_TYPE_Q5_0] = sw_avx2_tile_q5_0,
            [SW_TYPE_Q4_1] = sw_avx2_tile_q4_1,
            [SW_TYPE_Q5_1] = sw_avx2_tile_q5_1,
            [SW_TYPE_Q5_K] = sw_avx2_tile_q5_k,
            [SW_TYPE_Q2_K] = sw_avx2_tile_q2_k,
            [SW_TYPE_Q3_K] = sw_avx2_tile_q3_k,
            [SW_TYPE_IQ4_NL] = sw_avx2_tile_iq4_nl,
            [SW_TYPE_IQ4_XS] = sw_avx2_tile_iq4_xs,
        },
    .act = {[SW_ACT_Q8_0] = act_q8_0,
            [SW_ACT_Q8_K] = act_q8_k,
            [SW_ACT_BF16] = act_bf16,
            [SW_ACT_Q8_1] = act_q8_1},
};

const sw_kernel_table *sw_kernels_avx2(void)
{
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && sw_cpu_has_f16c())
        return &table_avx2;
    return NULL;
}

#else
const sw_kernel_table *sw_kernels_avx2(void)
{
    return NULL;
}
#endif
