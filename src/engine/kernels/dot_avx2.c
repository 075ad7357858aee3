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

static inline float h2f(uint16_t h) { return _cvtsh_ss(h); }

/* 32 unsigned x 32 signed bytes -> 8 int32 partial sums (no saturation for
 * |u| <= 127 or u <= 63 with |s| <= 127). */
static inline __m256i dot_us8(__m256i u, __m256i s)
{
    return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1));
}

/* ---- float types ---- */

static float dot_f32(int64_t n, const float *a, const float *b)
{
    __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        sw_prefetch(a + i, 0);
        sw_prefetch(a + i, 64);
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
        s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), s1);
        s2 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 16), _mm256_loadu_ps(b + i + 16), s2);
        s3 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 24), _mm256_loadu_ps(b + i + 24), s3);
    }
    for (; i + 8 <= n; i += 8) s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
    float s = hsum8(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
    for (; i < n; i++) s += a[i] * b[i];
    return s;
}

static float dot_f16(int64_t n, const uint16_t *a, const float *b)
{
    __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
    int64_t i = 0;
#define LDH(p) _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(p)))
    for (; i + 32 <= n; i += 32) {
        sw_prefetch(a + i, 0);
        s0 = _mm256_fmadd_ps(LDH(a + i), _mm256_loadu_ps(b + i), s0);
        s1 = _mm256_fmadd_ps(LDH(a + i + 8), _mm256_loadu_ps(b + i + 8), s1);
        s2 = _mm256_fmadd_ps(LDH(a + i + 16), _mm256_loadu_ps(b + i + 16), s2);
        s3 = _mm256_fmadd_ps(LDH(a + i + 24), _mm256_loadu_ps(b + i + 24), s3);
    }
    for (; i + 8 <= n; i += 8) s0 = _mm256_fmadd_ps(LDH(a + i), _mm256_loadu_ps(b + i), s0);
#undef LDH
    float s = hsum8(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
    for (; i < n; i++) s += h2f(a[i]) * b[i];
    return s;
}

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
    for (; i + 8 <= n; i += 8) s0 = _mm256_fmadd_ps(ld_bf16(a + i), ld_bf16(b + i), s0);
    float s = hsum8(_mm256_add_ps(s0, s1));
    for (; i < n; i++) s += sw_bf16_to_f32(a[i]) * sw_bf16_to_f32(b[i]);
    return s;
}

/* ---- 8-bit and 4-bit blocks of 32 ---- */

static float dot_q8_0(int64_t n, const blk_q8_0 *a, const blk_q8_0 *b)
{
    __m256 acc0 = _mm256_setzero_ps(), acc1 = acc0;
    int64_t nb = n / QK32, i = 0;
    for (; i + 2 <= nb; i += 2) {
        sw_prefetch(&a[i], 0);
        sw_prefetch(&a[i], 64);
        __m256i w0 = _mm256_loadu_si256((const __m256i *)a[i].qs);
        __m256i x0 = _mm256_loadu_si256((const __m256i *)b[i].qs);
        __m256i w1 = _mm256_loadu_si256((const __m256i *)a[i + 1].qs);
        __m256i x1 = _mm256_loadu_si256((const __m256i *)b[i + 1].qs);
        __m256i p0 = dot_us8(_mm256_sign_epi8(w0, w0), _mm256_sign_epi8(x0, w0));
        __m256i p1 = dot_us8(_mm256_sign_epi8(w1, w1), _mm256_sign_epi8(x1, w1));
        acc0 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p0), _mm256_set1_ps(h2f(a[i].d) * h2f(b[i].d)), acc0);
        acc1 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p1),
                               _mm256_set1_ps(h2f(a[i + 1].d) * h2f(b[i + 1].d)), acc1);
    }
    for (; i < nb; i++) {
        __m256i w0 = _mm256_loadu_si256((const __m256i *)a[i].qs);
        __m256i x0 = _mm256_loadu_si256((const __m256i *)b[i].qs);
        __m256i p0 = dot_us8(_mm256_sign_epi8(w0, w0), _mm256_sign_epi8(x0, w0));
        acc0 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p0), _mm256_set1_ps(h2f(a[i].d) * h2f(b[i].d)), acc0);
    }
    return hsum8(_mm256_add_ps(acc0, acc1));
}

/* The 32 nibbles of a Q4_0 block as bytes 0..15 in element order. */
static inline __m256i q4_0_unpack(const uint8_t *qs)
{
    __m128i v = _mm_loadu_si128((const __m128i *)qs);
    __m128i m = _mm_set1_epi8(0xF);
    return _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(v, 4), m), _mm_and_si128(v, m));
}

static float dot_q4_0(int64_t n, const blk_q4_0 *a, const blk_q8_0 *b)
{
    __m256 acc0 = _mm256_setzero_ps(), acc1 = acc0;
    const __m256i eight = _mm256_set1_epi8(8);
    int64_t nb = n / QK32, i = 0;
    for (; i < nb; i++) {
        sw_prefetch(&a[i], 0);
        /* (q - 8) * x with the sign trick, as for Q8_0 */
        __m256i w = _mm256_sub_epi8(q4_0_unpack(a[i].qs), eight);
        __m256i x = _mm256_loadu_si256((const __m256i *)b[i].qs);
        __m256i p = dot_us8(_mm256_sign_epi8(w, w), _mm256_sign_epi8(x, w));
        __m256 d = _mm256_set1_ps(h2f(a[i].d) * h2f(b[i].d));
        if (i & 1)
            acc1 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), d, acc1);
        else
            acc0 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), d, acc0);
    }
    return hsum8(_mm256_add_ps(acc0, acc1));
}

/* 32 bits -> 32 bytes, 0xFF where the bit is set */
static inline __m256i bits_to_bytes(const uint8_t qh[4])
{
    uint32_t h;
    __builtin_memcpy(&h, qh, 4);
    const __m256i idx = _mm256_set_epi64x(0x0303030303030303, 0x0202020202020202, 0x0101010101010101, 0);
    const __m256i sel = _mm256_set1_epi64x((long long)0x8040201008040201ull);
    __m256i b = _mm256_shuffle_epi8(_mm256_set1_epi32((int)h), idx);
    return _mm256_cmpeq_epi8(_mm256_and_si256(b, sel), sel);
}

static float dot_q5_0(int64_t n, const blk_q5_0 *a, const blk_q8_0 *b)
{
    __m256 acc0 = _mm256_setzero_ps(), acc1 = acc0;
    const __m256i sixteen = _mm256_set1_epi8(16), b5 = _mm256_set1_epi8(0x10);
    for (int64_t i = 0; i < n / QK32; i++) {
        sw_prefetch(&a[i], 0);
        __m256i q = _mm256_or_si256(q4_0_unpack(a[i].qs), _mm256_and_si256(bits_to_bytes(a[i].qh), b5));
        __m256i w = _mm256_sub_epi8(q, sixteen);
        __m256i x = _mm256_loadu_si256((const __m256i *)b[i].qs);
        __m256i p = dot_us8(_mm256_sign_epi8(w, w), _mm256_sign_epi8(x, w));
        __m256 d = _mm256_set1_ps(h2f(a[i].d) * h2f(b[i].d));
        if (i & 1)
            acc1 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), d, acc1);
        else
            acc0 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), d, acc0);
    }
    return hsum8(_mm256_add_ps(acc0, acc1));
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
static float dot_q4_1(int64_t n, const uint8_t *w, const blk_q8_1 *b) { return dot_qx_1(n, w, b, 0); }
static float dot_q5_1(int64_t n, const uint8_t *w, const blk_q8_1 *b) { return dot_qx_1(n, w, b, 1); }

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
        v[k] = _mm256_loadu_ps(x + 8 * k);
        a = _mm256_max_ps(a, _mm256_andnot_ps(sign, v[k]));
    }
    float d = hmax8(a) / 127.0f;
    float id = d != 0.0f ? 1.0f / d : 0.0f;
    __m256 vid = _mm256_set1_ps(id);
    __m256i q[4];
    for (int k = 0; k < 4; k++) q[k] = _mm256_cvtps_epi32(_mm256_mul_ps(v[k], vid));
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
    for (int64_t i = 0; i < n / QK32; i++) b[i].d = sw_f32_to_fp16(q8_block(x + QK32 * i, b[i].qs, NULL));
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
        for (int k = 0; k < 32; k++) a = _mm256_max_ps(a, _mm256_andnot_ps(sign, _mm256_loadu_ps(x + 8 * k)));
        float amax = hmax8(a);
        if (amax == 0.0f) {
            memset(&b[i], 0, sizeof(b[i]));
            continue;
        }
        /* the first element of largest magnitude gives the sign (scalar rule) */
        __m256 va = _mm256_set1_ps(amax);
        float max = 0.0f;
        for (int k = 0; k < 32; k++) {
            int m = _mm256_movemask_ps(_mm256_cmp_ps(_mm256_andnot_ps(sign, _mm256_loadu_ps(x + 8 * k)), va, _CMP_EQ_OQ));
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
                q[j] = _mm256_min_epi32(_mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + 32 * k + 8 * j), vs)), lim);
            _mm256_storeu_si256((__m256i *)(b[i].qs + 32 * k), pack32(q[0], q[1], q[2], q[3]));
            for (int g = 0; g < 2; g++) {
                __m256i s = _mm256_add_epi32(q[2 * g], q[2 * g + 1]);
                __m128i t = _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
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
            __m256i u = _mm256_loadu_si256((const __m256i *)(x + i + 8 * k));
            __m256i v = _mm256_srli_epi32(
                _mm256_add_epi32(_mm256_add_epi32(u, bias), _mm256_and_si256(_mm256_srli_epi32(u, 16), one)), 16);
            __m256i nan = _mm256_cmpgt_epi32(_mm256_and_si256(u, absmask), inf);
            r[k] = _mm256_blendv_epi8(v, _mm256_or_si256(_mm256_srli_epi32(u, 16), qnan), nan);
        }
        /* values are < 65536: unsigned pack is exact; fix the lane order */
        __m256i p = _mm256_permute4x64_epi64(_mm256_packus_epi32(r[0], r[1]), 0xD8);
        _mm256_storeu_si256((__m256i *)(h + i), p);
    }
    for (; i < n; i++) h[i] = sw_f32_to_bf16(x[i]);
}

/* ---- K-quants against Q8_K ---- */

static float dot_q4_k(int64_t n, const blk_q4_k *a, const blk_q8_k *b)
{
    __m256 acc = _mm256_setzero_ps();
    const __m256i m4 = _mm256_set1_epi8(0xF);
    float mins = 0.0f;
    for (int64_t i = 0; i < n / QKK; i++) {
        for (int k = 0; k < 3; k++) sw_prefetch(&a[i], 64 * k);
        uint8_t sc[8], mn[8];
        for (int j = 0; j < 8; j++) sw_q4k_scale_min(j, a[i].scales, &sc[j], &mn[j]);
        int summ = 0;
        for (int j = 0; j < 8; j++) summ += mn[j] * (b[i].bsums[2 * j] + b[i].bsums[2 * j + 1]);
        __m256i sumi = _mm256_setzero_si256();
        for (int j = 0; j < 4; j++) {
            __m256i q = _mm256_loadu_si256((const __m256i *)(a[i].qs + 32 * j));
            __m256i lo = _mm256_and_si256(q, m4), hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), m4);
            __m256i ylo = _mm256_loadu_si256((const __m256i *)(b[i].qs + 64 * j));
            __m256i yhi = _mm256_loadu_si256((const __m256i *)(b[i].qs + 64 * j + 32));
            __m256i plo = _mm256_madd_epi16(_mm256_maddubs_epi16(lo, ylo), _mm256_set1_epi16(sc[2 * j]));
            __m256i phi = _mm256_madd_epi16(_mm256_maddubs_epi16(hi, yhi), _mm256_set1_epi16(sc[2 * j + 1]));
            sumi = _mm256_add_epi32(sumi, _mm256_add_epi32(plo, phi));
        }
        float yd = b[i].d;
        acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sumi), _mm256_set1_ps(h2f(a[i].d) * yd), acc);
        mins += h2f(a[i].dmin) * yd * (float)summ;
    }
    return hsum8(acc) - mins;
}

static float dot_q6_k(int64_t n, const blk_q6_k *a, const blk_q8_k *b)
{
    __m256 acc = _mm256_setzero_ps();
    const __m256i m4 = _mm256_set1_epi8(0xF), m2 = _mm256_set1_epi8(3);
    for (int64_t i = 0; i < n / QKK; i++) {
        for (int k = 0; k < 4; k++) sw_prefetch(&a[i], 64 * k);
        const int8_t *sc = a[i].scales;
        __m256i sumi = _mm256_setzero_si256();
        for (int h = 0; h < 2; h++) {
            __m256i l0 = _mm256_loadu_si256((const __m256i *)(a[i].ql + 64 * h));
            __m256i l1 = _mm256_loadu_si256((const __m256i *)(a[i].ql + 64 * h + 32));
            __m256i qh = _mm256_loadu_si256((const __m256i *)(a[i].qh + 32 * h));
            __m256i q[4];
            q[0] = _mm256_or_si256(_mm256_and_si256(l0, m4), _mm256_slli_epi16(_mm256_and_si256(qh, m2), 4));
            q[1] = _mm256_or_si256(_mm256_and_si256(l1, m4),
                                   _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2), m2), 4));
            q[2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), m4),
                                   _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 4), m2), 4));
            q[3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), m4),
                                   _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 6), m2), 4));
            for (int k = 0; k < 4; k++) {
                __m256i y = _mm256_loadu_si256((const __m256i *)(b[i].qs + 128 * h + 32 * k));
                int g = 8 * h + 2 * k;
                __m256i s = _mm256_set_m128i(_mm_set1_epi16(sc[g + 1]), _mm_set1_epi16(sc[g]));
                sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(_mm256_maddubs_epi16(q[k], y), s));
            }
        }
        /* the stored values are q + 32: subtract 32 * sum_g sc[g] * bsums[g] */
        __m256i bs = _mm256_loadu_si256((const __m256i *)b[i].bsums);
        __m256i sc16 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)sc));
        sumi = _mm256_sub_epi32(sumi, _mm256_slli_epi32(_mm256_madd_epi16(bs, sc16), 5));
        acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sumi), _mm256_set1_ps(h2f(a[i].d) * b[i].d), acc);
    }
    return hsum8(acc);
}

/* ---- tiles ---- */

#define AVX2_TILE(name, WT, XT)                                                                   \
    void sw_avx2_tile_##name(int64_t n, const uint8_t *W, size_t ws, int64_t nr, const uint8_t *X, \
                             size_t xs, int64_t nt, float *out, int64_t os)                       \
    {                                                                                             \
        for (int64_t r = 0; r < nr; r++)                                                          \
            for (int64_t t = 0; t < nt; t++)                                                      \
                out[t * os + r] = dot_##name(n, (const WT *)(W + r * ws), (const XT *)(X + t * xs)); \
    }
AVX2_TILE(f32, float, float)
AVX2_TILE(f16, uint16_t, float)
AVX2_TILE(bf16, uint16_t, uint16_t)
AVX2_TILE(q8_0, blk_q8_0, blk_q8_0)
AVX2_TILE(q4_0, blk_q4_0, blk_q8_0)
AVX2_TILE(q5_0, blk_q5_0, blk_q8_0)
AVX2_TILE(q4_1, uint8_t, blk_q8_1)
AVX2_TILE(q5_1, uint8_t, blk_q8_1)
AVX2_TILE(q4_k, blk_q4_k, blk_q8_k)
AVX2_TILE(q6_k, blk_q6_k, blk_q8_k)

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
        },
    .act = {[SW_ACT_Q8_0] = act_q8_0, [SW_ACT_Q8_K] = act_q8_k, [SW_ACT_BF16] = act_bf16, [SW_ACT_Q8_1] = act_q8_1},
};

const sw_kernel_table *sw_kernels_avx2(void)
{
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
        sw_cpu_has_f16c())
        return &table_avx2;
    return NULL;
}

#else
const sw_kernel_table *sw_kernels_avx2(void) { return NULL; }
#endif
