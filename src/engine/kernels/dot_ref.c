/*
 * dot_ref.c: the portable scalar dot products, one per weight type, wrapped
 * as tile kernels. This is the oracle every SIMD path is tested against and
 * the fallback on CPUs without AVX2. Integer sums as llama.cpp forms them:
 * per block sum of int products, then scaled by both block scales.
 */
#include <math.h>

#include "kernels_int.h"

static float dot_f32(int64_t n, const void *w, const void *x)
{
    const float *a = w, *b = x;
    float s = 0.0f;
    for (int64_t i = 0; i < n; i++)
        s += a[i] * b[i];
    return s;
}

static float dot_f16(int64_t n, const void *w, const void *x)
{
    const uint16_t *a = w;
    const float *b = x;
    float s = 0.0f;
    for (int64_t i = 0; i < n; i++)
        s += sw_fp16_to_f32(a[i]) * b[i];
    return s;
}

static float dot_bf16(int64_t n, const void *w, const void *x)
{
    const uint16_t *a = w, *b = x;
    float s = 0.0f;
    for (int64_t i = 0; i < n; i++)
        s += sw_bf16_to_f32(a[i]) * sw_bf16_to_f32(b[i]);
    return s;
}

static float dot_q8_0(int64_t n, const void *w, const void *x)
{
    const blk_q8_0 *a = w, *b = x;
    float s = 0.0f;
    for (int64_t i = 0; i < n / QK32; i++) {
        int sumi = 0;
        for (int j = 0; j < QK32; j++)
            sumi += a[i].qs[j] * b[i].qs[j];
        s += (float)sumi * (sw_fp16_to_f32(a[i].d) * sw_fp16_to_f32(b[i].d));
    }
    return s;
}

static float dot_q4_0(int64_t n, const void *w, const void *x)
{
    const blk_q4_0 *a = w;
    const blk_q8_0 *b = x;
    float s = 0.0f;
    for (int64_t i = 0; i < n / QK32; i++) {
        int sumi = 0;
        for (int j = 0; j < QK32 / 2; j++) {
            sumi += ((a[i].qs[j] & 0xF) - 8) * b[i].qs[j];
            sumi += ((a[i].qs[j] >> 4) - 8) * b[i].qs[j + 16];
        }
        s += (float)sumi * (sw_fp16_to_f32(a[i].d) * sw_fp16_to_f32(b[i].d));
    }
    return s;
}

static inline uint32_t qh32(const uint8_t qh[4])
{
    return (uint32_t)qh[0] | (uint32_t)qh[1] << 8 | (uint32_t)qh[2] << 16 | (uint32_t)qh[3] << 24;
}

static float dot_q5_0(int64_t n, const void *w, const void *x)
{
    const blk_q5_0 *a = w;
    const blk_q8_0 *b = x;
    float s = 0.0f;
    for (int64_t i = 0; i < n / QK32; i++) {
        uint32_t qh = qh32(a[i].qh);
        int sumi = 0;
        for (int j = 0; j < QK32 / 2; j++) {
            int q0 = (a[i].qs[j] & 0xF) | (int)((qh >> j) & 1) << 4;
            int q1 = (a[i].qs[j] >> 4) | (int)((qh >> (j + 16)) & 1) << 4;
            sumi += (q0 - 16) * b[i].qs[j] + (q1 - 16) * b[i].qs[j + 16];
        }
        s += (float)sumi * (sw_fp16_to_f32(a[i].d) * sw_fp16_to_f32(b[i].d));
    }
    return s;
}

/* Q4_1 / Q5_1 against Q8_1: sum (q d + m) x = d dx sum q qx + m s */
static float dot_q4_1(int64_t n, const void *w, const void *x)
{
    const blk_q4_1 *a = w;
    const blk_q8_1 *b = x;
    float s = 0.0f;
    for (int64_t i = 0; i < n / QK32; i++) {
        int sumi = 0;
        for (int j = 0; j < QK32 / 2; j++)
            sumi += (a[i].qs[j] & 0xF) * b[i].qs[j] + (a[i].qs[j] >> 4) * b[i].qs[j + 16];
        s += (float)sumi * (sw_fp16_to_f32(a[i].d) * sw_fp16_to_f32(b[i].d)) +
             sw_fp16_to_f32(a[i].m) * sw_fp16_to_f32(b[i].s);
    }
    return s;
}

static float dot_q5_1(int64_t n, const void *w, const void *x)
{
    const blk_q5_1 *a = w;
    const blk_q8_1 *b = x;
    float s = 0.0f;
    for (int64_t i = 0; i < n / QK32; i++) {
        uint32_t qh = qh32(a[i].qh);
        int sumi = 0;
        for (int j = 0; j < QK32 / 2; j++) {
            int q0 = (a[i].qs[j] & 0xF) | (int)((qh >> j) & 1) << 4;
            int q1 = (a[i].qs[j] >> 4) | (int)((qh >> (j + 16)) & 1) << 4;
            sumi += q0 * b[i].qs[j] + q1 * b[i].qs[j + 16];
        }
        s += (float)sumi * (sw_fp16_to_f32(a[i].d) * sw_fp16_to_f32(b[i].d)) +
             sw_fp16_to_f32(a[i].m) * sw_fp16_to_f32(b[i].s);
    }
    return s;
}

static float dot_q4_k(int64_t n, const void *w, const void *x)
{
    const blk_q4_k *a = w;
    const blk_q8_k *b = x;
    float s = 0.0f;
    for (int64_t i = 0; i < n / QKK; i++) {
        const uint8_t *q = a[i].qs;
        const int8_t *y = b[i].qs;
        int sumi = 0, summ = 0;
        for (int j = 0; j < 4; j++) {
            uint8_t sc0, m0, sc1, m1;
            sw_q4k_scale_min(2 * j, a[i].scales, &sc0, &m0);
            sw_q4k_scale_min(2 * j + 1, a[i].scales, &sc1, &m1);
            int s0 = 0, s1 = 0;
            for (int l = 0; l < 32; l++) {
                s0 += (q[l] & 0xF) * y[l];
                s1 += (q[l] >> 4) * y[l + 32];
            }
            sumi += sc0 * s0 + sc1 * s1;
            summ += m0 * (b[i].bsums[(size_t)4 * j] + b[i].bsums[(size_t)4 * j + 1]) +
                    m1 * (b[i].bsums[4 * j + 2] + b[i].bsums[4 * j + 3]);
            q += 32;
            y += 64;
        }
        s += b[i].d * sw_fp16_to_f32(a[i].d) * (float)sumi -
             b[i].d * sw_fp16_to_f32(a[i].dmin) * (float)summ;
    }
    return s;
}

static float dot_q6_k(int64_t n, const void *w, const void *x)
{
    const blk_q6_k *a = w;
    const blk_q8_k *b = x;
    float s = 0.0f;
    for (int64_t i = 0; i < n / QKK; i++) {
        int sumi = 0;
        for (int half = 0; half < 2; half++) {
            const uint8_t *ql = a[i].ql + (size_t)64 * half, *qh = a[i].qh + (size_t)32 * half;
            const int8_t *y = b[i].qs + (size_t)128 * half;
            const int8_t *sc = a[i].scales + (size_t)8 * half;
            int g[8] = {0};
            for (int l = 0; l < 32; l++) {
                int q1 = ((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
                int q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
                int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
                int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
                int is = l / 16;
                g[is + 0] += q1 * y[l];
                g[is + 2] += q2 * y[l + 32];
                g[is + 4] += q3 * y[l + 64];
                g[is + 6] += q4 * y[l + 96];
            }
            for (int k = 0; k < 8; k++)
                sumi += sc[k] * g[k];
        }
        s += sw_fp16_to_f32(a[i].d) * b[i].d * (float)sumi;
    }
    return s;
}

/* Q2_K: sum over 16-element groups of scale * sum(q y), minus the mins
 * times the activation group sums (bsums), as llama.cpp forms it. */
static float dot_q2_k(int64_t n, const void *w, const void *x)
{
    const blk_q2_k *a = w;
    const blk_q8_k *b = x;
    float s = 0.0f;
    for (int64_t i = 0; i < n / QKK; i++) {
        int summs = 0, isum = 0;
        for (int g = 0; g < 16; g++)
            summs += (a[i].scales[g] >> 4) * b[i].bsums[g];
        for (int g = 0; g < 16; g++) { /* group g: elements 16g .. 16g+15 */
            int e0 = 16 * g, h = e0 / 128, j = (e0 % 128) / 32, l0 = e0 % 32;
            int sumi = 0;
            for (int l = 0; l < 16; l++)
                sumi += ((a[i].qs[32 * h + l0 + l] >> (2 * j)) & 3) * b[i].qs[e0 + l];
            isum += (a[i].scales[g] & 0xF) * sumi;
        }
        s += b[i].d * sw_fp16_to_f32(a[i].d) * (float)isum -
             b[i].d * sw_fp16_to_f32(a[i].dmin) * (float)summs;
    }
    return s;
}

static float dot_q3_k(int64_t n, const void *w, const void *x)
{
    const blk_q3_k *a = w;
    const blk_q8_k *b = x;
    float s = 0.0f;
    for (int64_t i = 0; i < n / QKK; i++) {
        int8_t sc[16];
        sw_q3k_scales(a[i].scales, sc);
        int isum = 0;
        for (int g = 0; g < 16; g++) {
            int sumi = 0;
            for (int k = 0; k < 16; k++) {
                int e = 16 * g + k, h = e / 128, j = (e % 128) / 32, l = e % 32;
                int q = (a[i].qs[32 * h + l] >> (2 * j)) & 3;
                if (!((a[i].hmask[l] >> (e / 32)) & 1)) q -= 4;
                sumi += q * b[i].qs[e];
            }
            isum += sc[g] * sumi;
        }
        s += sw_fp16_to_f32(a[i].d) * b[i].d * (float)isum;
    }
    return s;
}

static float dot_q5_k(int64_t n, const void *w, const void *x)
{
    const blk_q5_k *a = w;
    const blk_q8_k *b = x;
    float s = 0.0f;
    for (int64_t i = 0; i < n / QKK; i++) {
        const uint8_t *q = a[i].qs;
        const int8_t *y = b[i].qs;
        int sumi = 0, summ = 0;
        for (int c = 0; c < 4; c++) {
            uint8_t sc0, m0, sc1, m1;
            sw_q4k_scale_min(2 * c, a[i].scales, &sc0, &m0);
            sw_q4k_scale_min(2 * c + 1, a[i].scales, &sc1, &m1);
            int s0 = 0, s1 = 0;
            for (int l = 0; l < 32; l++) {
                int hi0 = (a[i].qh[l] >> (2 * c)) & 1, hi1 = (a[i].qh[l] >> (2 * c + 1)) & 1;
                s0 += ((q[l] & 0xF) | hi0 << 4) * y[l];
                s1 += ((q[l] >> 4) | hi1 << 4) * y[l + 32];
            }
            sumi += sc0 * s0 + sc1 * s1;
            summ += m0 * (b[i].bsums[(size_t)4 * c] + b[i].bsums[(size_t)4 * c + 1]) +
                    m1 * (b[i].bsums[4 * c + 2] + b[i].bsums[4 * c + 3]);
            q += 32;
            y += 64;
        }
        s += b[i].d * sw_fp16_to_f32(a[i].d) * (float)sumi -
             b[i].d * sw_fp16_to_f32(a[i].dmin) * (float)summ;
    }
    return s;
}

static float dot_iq4_nl(int64_t n, const void *w, const void *x)
{
    const blk_iq4_nl *a = w;
    const blk_q8_0 *b = x;
    float s = 0.0f;
    for (int64_t i = 0; i < n / QK32; i++) {
        int sumi = 0;
        for (int j = 0; j < QK32 / 2; j++)
            sumi += sw_iq4nl_values[a[i].qs[j] & 0xF] * b[i].qs[j] +
                    sw_iq4nl_values[a[i].qs[j] >> 4] * b[i].qs[j + 16];
        s += (float)sumi * (sw_fp16_to_f32(a[i].d) * sw_fp16_to_f32(b[i].d));
    }
    return s;
}

static float dot_iq4_xs(int64_t n, const void *w, const void *x)
{
    const blk_iq4_xs *a = w;
    const blk_q8_k *b = x;
    float s = 0.0f;
    for (int64_t i = 0; i < n / QKK; i++) {
        int isum = 0;
        for (int ib = 0; ib < 8; ib++) {
            const uint8_t *qs = a[i].qs + 16 * ib;
            const int8_t *y = b[i].qs + 32 * ib;
            int sumi = 0;
            for (int j = 0; j < 16; j++)
                sumi += sw_iq4nl_values[qs[j] & 0xF] * y[j] + sw_iq4nl_values[qs[j] >> 4] * y[j + 16];
            isum += sw_iq4xs_scale(&a[i], ib) * sumi;
        }
        s += sw_fp16_to_f32(a[i].d) * b[i].d * (float)isum;
    }
    return s;
}

typedef float (*dot_fn)(int64_t n, const void *w, const void *x);

static inline void tile_generic(dot_fn dot, int64_t n, const uint8_t *W, size_t ws, int64_t nr,
                                const uint8_t *X, size_t xs, int64_t nt, float *out, int64_t os)
{
    for (int64_t r = 0; r < nr; r++)
        for (int64_t t = 0; t < nt; t++)
            out[t * os + r] = dot(n, W + r * ws, X + t * xs);
}

#define REF_TILE(name)                                                                             \
    static void tile_##name(int64_t n, const uint8_t *W, size_t ws, int64_t nr, const uint8_t *X,  \
                            size_t xs, int64_t nt, float *out, int64_t os)                         \
    {                                                                                              \
        tile_generic(dot_##name, n, W, ws, nr, X, xs, nt, out, os);                                \
    }
REF_TILE(f32)
REF_TILE(f16)
REF_TILE(bf16)
REF_TILE(q8_0)
REF_TILE(q4_0)
REF_TILE(q4_1)
REF_TILE(q5_0)
REF_TILE(q5_1)
REF_TILE(q4_k)
REF_TILE(q6_k)
REF_TILE(q2_k)
REF_TILE(q3_k)
REF_TILE(q5_k)
REF_TILE(iq4_nl)
REF_TILE(iq4_xs)

const sw_kernel_table sw_kernels_ref = {
    .name = "ref",
    .tile =
        {
            [SW_TYPE_F32] = tile_f32,
            [SW_TYPE_F16] = tile_f16,
            [SW_TYPE_BF16] = tile_bf16,
            [SW_TYPE_Q8_0] = tile_q8_0,
            [SW_TYPE_Q4_0] = tile_q4_0,
            [SW_TYPE_Q4_1] = tile_q4_1,
            [SW_TYPE_Q5_0] = tile_q5_0,
            [SW_TYPE_Q5_1] = tile_q5_1,
            [SW_TYPE_Q4_K] = tile_q4_k,
            [SW_TYPE_Q6_K] = tile_q6_k,
            [SW_TYPE_Q2_K] = tile_q2_k,
            [SW_TYPE_Q3_K] = tile_q3_k,
            [SW_TYPE_Q5_K] = tile_q5_k,
            [SW_TYPE_IQ4_NL] = tile_iq4_nl,
            [SW_TYPE_IQ4_XS] = tile_iq4_xs,
        },
    .act =
        {
            [SW_ACT_Q8_1] = sw_quantize_q8_1_ref,
            [SW_ACT_Q8_0] = sw_quantize_q8_0_ref,
            [SW_ACT_Q8_K] = sw_quantize_q8_k_ref,
            [SW_ACT_BF16] = sw_quantize_bf16_ref,
        },
};
