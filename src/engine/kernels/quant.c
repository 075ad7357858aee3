/*
 * quant.c: row conversion between float and every supported storage type:
 * dequantization (the loader, tests, embeddings), weight quantization (the
 * GGUF writer) and the activation quantizers the dot products consume.
 * Scalar only; the SIMD files have their own activation quantizers.
 */
#include <math.h>
#include <string.h>

#include "kernels_int.h"

/* Round to nearest, ties to even, as rintf and the SIMD conversions do in
 * the default rounding mode, without a libm call (baseline x86-64 has no
 * rounding instruction): adding 1.5 * 2^23 leaves no fraction bits. Values
 * are clamped to +-4e6 first (far beyond any level; keeps the trick exact)
 * and NaN gives 0. */
static inline int round_even(float v)
{
    if (!(v == v)) return 0;
    v = v > 4e6f ? 4e6f : v < -4e6f ? -4e6f : v;
    return (int)((v + 12582912.0f) - 12582912.0f);
}
/* To int8, saturating. Finite activations never leave -127..127; a block
 * whose largest value is subnormal overflows its inverse scale to inf and
 * round_even's +-4e6 clamp, which must not reach an int8 conversion (UB;
 * found by fuzz_model). -128 is what the SIMD conversions give there. */
static inline int8_t sat_i8(int v)
{
    return (int8_t)(v < -128 ? -128 : v > 127 ? 127 : v);
}
/* max / min without the libm call (no NaN semantics needed here) */
static inline float max_f(float a, float b)
{
    return a > b ? a : b;
}
static inline float min_f(float a, float b)
{
    return a < b ? a : b;
}

/* ---- dequantization ---- */

static void dequant_q8_0(const blk_q8_0 *b, float *y, int64_t nb)
{
    for (int64_t i = 0; i < nb; i++) {
        float d = sw_fp16_to_f32(b[i].d);
        for (int j = 0; j < QK32; j++)
            y[i * QK32 + j] = d * (float)b[i].qs[j];
    }
}

static void dequant_q4_0(const blk_q4_0 *b, float *y, int64_t nb)
{
    for (int64_t i = 0; i < nb; i++) {
        float d = sw_fp16_to_f32(b[i].d);
        for (int j = 0; j < QK32 / 2; j++) {
            y[i * QK32 + j] = d * (float)((b[i].qs[j] & 0xF) - 8);
            y[i * QK32 + j + 16] = d * (float)((b[i].qs[j] >> 4) - 8);
        }
    }
}

static void dequant_q4_1(const blk_q4_1 *b, float *y, int64_t nb)
{
    for (int64_t i = 0; i < nb; i++) {
        float d = sw_fp16_to_f32(b[i].d), m = sw_fp16_to_f32(b[i].m);
        for (int j = 0; j < QK32 / 2; j++) {
            y[i * QK32 + j] = d * (float)(b[i].qs[j] & 0xF) + m;
            y[i * QK32 + j + 16] = d * (float)(b[i].qs[j] >> 4) + m;
        }
    }
}

static inline uint32_t qh32(const uint8_t qh[4])
{
    return (uint32_t)qh[0] | (uint32_t)qh[1] << 8 | (uint32_t)qh[2] << 16 | (uint32_t)qh[3] << 24;
}

/* 5-bit value of element j (0..31) of a Q5 block: nibble | qh bit << 4 */
static inline int q5_get(const uint8_t *qs, uint32_t qh, int j)
{
    int lo = j < 16 ? (qs[j] & 0xF) : (qs[j - 16] >> 4);
    return lo | (int)((qh >> j) & 1) << 4;
}

static void dequant_q5_0(const blk_q5_0 *b, float *y, int64_t nb)
{
    for (int64_t i = 0; i < nb; i++) {
        float d = sw_fp16_to_f32(b[i].d);
        uint32_t qh = qh32(b[i].qh);
        for (int j = 0; j < QK32; j++)
            y[i * QK32 + j] = d * (float)(q5_get(b[i].qs, qh, j) - 16);
    }
}

static void dequant_q5_1(const blk_q5_1 *b, float *y, int64_t nb)
{
    for (int64_t i = 0; i < nb; i++) {
        float d = sw_fp16_to_f32(b[i].d), m = sw_fp16_to_f32(b[i].m);
        uint32_t qh = qh32(b[i].qh);
        for (int j = 0; j < QK32; j++)
            y[i * QK32 + j] = d * (float)q5_get(b[i].qs, qh, j) + m;
    }
}

static void dequant_q4_k(const blk_q4_k *b, float *y, int64_t nb)
{
    for (int64_t i = 0; i < nb; i++) {
        float d = sw_fp16_to_f32(b[i].d), dmin = sw_fp16_to_f32(b[i].dmin);
        const uint8_t *q = b[i].qs;
        for (int j = 0; j < 4; j++) { /* 64 elements: two sub-blocks share 32 bytes */
            uint8_t sc0, m0, sc1, m1;
            sw_q4k_scale_min(2 * j, b[i].scales, &sc0, &m0);
            sw_q4k_scale_min(2 * j + 1, b[i].scales, &sc1, &m1);
            float d0 = d * sc0, mm0 = dmin * m0, d1 = d * sc1, mm1 = dmin * m1;
            for (int l = 0; l < 32; l++) {
                y[l] = d0 * (float)(q[l] & 0xF) - mm0;
                y[l + 32] = d1 * (float)(q[l] >> 4) - mm1;
            }
            y += 64;
            q += 32;
        }
    }
}

/* Element e (0..255) of a Q6_K block as a signed 6-bit value (-32..31). */
static inline int q6k_get(const blk_q6_k *b, int e)
{
    int half = e / 128, l = e % 128, grp = l / 32, k = l % 32;
    const uint8_t *ql = b->ql + (size_t)64 * half, *qh = b->qh + (size_t)32 * half;
    int lo = (grp & 1) ? ql[k + 32] : ql[k];
    lo = (grp & 2) ? (lo >> 4) : (lo & 0xF);
    int hi = (qh[k] >> (2 * grp)) & 3;
    return (lo | (hi << 4)) - 32;
}

static void dequant_q6_k(const blk_q6_k *b, float *y, int64_t nb)
{
    for (int64_t i = 0; i < nb; i++) {
        float d = sw_fp16_to_f32(b[i].d);
        for (int e = 0; e < QKK; e++) {
            int g = e / 16; /* the scale of the 16 values e is in */
            y[i * QKK + e] = d * (float)b[i].scales[g] * (float)q6k_get(&b[i], e);
        }
    }
}

static void dequant_q2_k(const blk_q2_k *b, float *y, int64_t nb)
{
    for (int64_t i = 0; i < nb; i++) {
        float d = sw_fp16_to_f32(b[i].d), dmin = sw_fp16_to_f32(b[i].dmin);
        /* element 128h + 32j + l is bits 2j..2j+1 of qs[32h + l]; scale of 16 */
        for (int e = 0; e < QKK; e++) {
            int h = e / 128, j = (e % 128) / 32, l = e % 32;
            int q = (b[i].qs[32 * h + l] >> (2 * j)) & 3;
            uint8_t sc = b[i].scales[e / 16];
            y[i * QKK + e] = d * (float)(sc & 0xF) * (float)q - dmin * (float)(sc >> 4);
        }
    }
}

static void dequant_q3_k(const blk_q3_k *b, float *y, int64_t nb)
{
    for (int64_t i = 0; i < nb; i++) {
        float d = sw_fp16_to_f32(b[i].d);
        int8_t sc[16];
        sw_q3k_scales(b[i].scales, sc);
        for (int e = 0; e < QKK; e++) {
            int h = e / 128, j = (e % 128) / 32, l = e % 32;
            int q = (b[i].qs[32 * h + l] >> (2 * j)) & 3;
            if (!((b[i].hmask[l] >> (e / 32)) & 1)) q -= 4;
            y[i * QKK + e] = d * (float)sc[e / 16] * (float)q;
        }
    }
}

static void dequant_q5_k(const blk_q5_k *b, float *y, int64_t nb)
{
    for (int64_t i = 0; i < nb; i++) {
        float d = sw_fp16_to_f32(b[i].d), dmin = sw_fp16_to_f32(b[i].dmin);
        const uint8_t *q = b[i].qs;
        for (int c = 0; c < 4; c++) {
            uint8_t sc0, m0, sc1, m1;
            sw_q4k_scale_min(2 * c, b[i].scales, &sc0, &m0);
            sw_q4k_scale_min(2 * c + 1, b[i].scales, &sc1, &m1);
            float d0 = d * sc0, mm0 = dmin * m0, d1 = d * sc1, mm1 = dmin * m1;
            for (int l = 0; l < 32; l++) {
                int hi0 = (b[i].qh[l] >> (2 * c)) & 1, hi1 = (b[i].qh[l] >> (2 * c + 1)) & 1;
                y[l] = d0 * (float)((q[l] & 0xF) | hi0 << 4) - mm0;
                y[l + 32] = d1 * (float)((q[l] >> 4) | hi1 << 4) - mm1;
            }
            y += 64;
            q += 32;
        }
    }
}

static void dequant_iq4_nl(const blk_iq4_nl *b, float *y, int64_t nb)
{
    for (int64_t i = 0; i < nb; i++) {
        float d = sw_fp16_to_f32(b[i].d);
        for (int j = 0; j < QK32 / 2; j++) {
            y[i * QK32 + j] = d * (float)sw_iq4nl_values[b[i].qs[j] & 0xF];
            y[i * QK32 + j + 16] = d * (float)sw_iq4nl_values[b[i].qs[j] >> 4];
        }
    }
}

static void dequant_iq4_xs(const blk_iq4_xs *b, float *y, int64_t nb)
{
    for (int64_t i = 0; i < nb; i++) {
        float d = sw_fp16_to_f32(b[i].d);
        for (int ib = 0; ib < 8; ib++) {
            float dl = d * (float)sw_iq4xs_scale(&b[i], ib);
            const uint8_t *qs = b[i].qs + 16 * ib;
            for (int j = 0; j < 16; j++) {
                y[j] = dl * (float)sw_iq4nl_values[qs[j] & 0xF];
                y[j + 16] = dl * (float)sw_iq4nl_values[qs[j] >> 4];
            }
            y += 32;
        }
    }
}

void sw_dequantize_row(uint32_t type, const void *src, float *dst, int64_t n)
{
    switch (type) {
    case SW_TYPE_F32:
        memcpy(dst, src, (size_t)n * sizeof(float));
        return;
    case SW_TYPE_F16: {
        const uint16_t *h = src;
        for (int64_t i = 0; i < n; i++)
            dst[i] = sw_fp16_to_f32(h[i]);
        return;
    }
    case SW_TYPE_BF16: {
        const uint16_t *h = src;
        for (int64_t i = 0; i < n; i++)
            dst[i] = sw_bf16_to_f32(h[i]);
        return;
    }
    case SW_TYPE_Q8_0:
        dequant_q8_0(src, dst, n / QK32);
        return;
    case SW_TYPE_Q4_0:
        dequant_q4_0(src, dst, n / QK32);
        return;
    case SW_TYPE_Q4_K:
        dequant_q4_k(src, dst, n / QKK);
        return;
    case SW_TYPE_Q6_K:
        dequant_q6_k(src, dst, n / QKK);
        return;
    case SW_TYPE_Q4_1:
        dequant_q4_1(src, dst, n / QK32);
        return;
    case SW_TYPE_Q5_0:
        dequant_q5_0(src, dst, n / QK32);
        return;
    case SW_TYPE_Q5_1:
        dequant_q5_1(src, dst, n / QK32);
        return;
    case SW_TYPE_Q2_K:
        dequant_q2_k(src, dst, n / QKK);
        return;
    case SW_TYPE_Q3_K:
        dequant_q3_k(src, dst, n / QKK);
        return;
    case SW_TYPE_Q5_K:
        dequant_q5_k(src, dst, n / QKK);
        return;
    case SW_TYPE_IQ4_NL:
        dequant_iq4_nl(src, dst, n / QK32);
        return;
    case SW_TYPE_IQ4_XS:
        dequant_iq4_xs(src, dst, n / QKK);
        return;
    case SW_TYPE_Q8_1: {
        const blk_q8_1 *b = src;
        for (int64_t i = 0; i < n / QK32; i++) {
            float d = sw_fp16_to_f32(b[i].d);
            for (int j = 0; j < QK32; j++)
                dst[i * QK32 + j] = d * (float)b[i].qs[j];
        }
        return;
    }
    case SW_TYPE_Q8_K: {
        const blk_q8_k *b = src;
        for (int64_t i = 0; i < n / QKK; i++)
            for (int j = 0; j < QKK; j++)
                dst[i * QKK + j] = b[i].d * (float)b[i].qs[j];
        return;
    }
    default:
        SWARM_ASSERT(!"sw_dequantize_row: unsupported type");
    }
}

/* ---- activation / simple weight quantizers ---- */

/* Q8_0: scale = block max / 127, round to nearest (ties to even, which is
 * what the SIMD rounding instructions do, so every path agrees bit for bit). */
void sw_quantize_q8_0_ref(const float *x, void *dst, int64_t n)
{
    blk_q8_0 *b = dst;
    for (int64_t i = 0; i < n / QK32; i++, x += QK32) {
        float amax = 0.0f;
        for (int j = 0; j < QK32; j++)
            amax = max_f(amax, fabsf(x[j]));
        float d = amax / 127.0f;
        float id = d != 0.0f ? 1.0f / d : 0.0f;
        b[i].d = sw_f32_to_fp16(d);
        for (int j = 0; j < QK32; j++)
            b[i].qs[j] = sat_i8(round_even(x[j] * id));
    }
}

/* Q8_1 (activations for Q4_1 / Q5_1): Q8_0 plus s = d * sum(qs), which
 * multiplies the weight block's offset m. */
void sw_quantize_q8_1_ref(const float *x, void *dst, int64_t n)
{
    blk_q8_1 *b = dst;
    for (int64_t i = 0; i < n / QK32; i++, x += QK32) {
        float amax = 0.0f;
        for (int j = 0; j < QK32; j++)
            amax = max_f(amax, fabsf(x[j]));
        float d = amax / 127.0f;
        float id = d != 0.0f ? 1.0f / d : 0.0f;
        int sum = 0;
        for (int j = 0; j < QK32; j++) {
            b[i].qs[j] = sat_i8(round_even(x[j] * id));
            sum += b[i].qs[j];
        }
        b[i].d = sw_f32_to_fp16(d);
        b[i].s = sw_f32_to_fp16((float)sum * d);
    }
}

/* Q8_K (activations for K-quants): the value of largest magnitude maps to
 * -127, bsums hold sums of 16 quants for the K-quant min terms. */
void sw_quantize_q8_k_ref(const float *x, void *dst, int64_t n)
{
    blk_q8_k *b = dst;
    for (int64_t i = 0; i < n / QKK; i++, x += QKK) {
        float amax = 0.0f, max = 0.0f;
        for (int j = 0; j < QKK; j++) {
            if (fabsf(x[j]) > amax) {
                amax = fabsf(x[j]);
                max = x[j];
            }
        }
        if (amax == 0.0f) {
            memset(&b[i], 0, sizeof(b[i]));
            continue;
        }
        float iscale = -127.0f / max;
        for (int j = 0; j < QKK; j++) {
            float v = (float)round_even(iscale * x[j]);
            b[i].qs[j] = sat_i8((int)v);
        }
        for (int g = 0; g < QKK / 16; g++) {
            int s = 0;
            for (int j = 0; j < 16; j++)
                s += b[i].qs[16 * g + j];
            b[i].bsums[g] = (int16_t)s;
        }
        b[i].d = 1.0f / iscale;
    }
}

void sw_quantize_bf16_ref(const float *x, void *dst, int64_t n)
{
    uint16_t *h = dst;
    for (int64_t i = 0; i < n; i++)
        h[i] = sw_f32_to_bf16(x[i]);
}

/* The value of largest magnitude, with its sign (first one on ties): the
 * symmetric 4/5-bit formats map it to their most negative level. */
static float signed_absmax(const float *x, int n)
{
    float amax = 0.0f, max = 0.0f;
    for (int j = 0; j < n; j++) {
        if (fabsf(x[j]) > amax) {
            amax = fabsf(x[j]);
            max = x[j];
        }
    }
    return max;
}

/* Q4_0: the value of largest magnitude maps to -8; q = round(x/d) + 8. */
static void quantize_q4_0(const float *x, blk_q4_0 *b, int64_t nb)
{
    for (int64_t i = 0; i < nb; i++, x += QK32) {
        float max = signed_absmax(x, QK32);
        float d = max / -8.0f;
        float id = d != 0.0f ? 1.0f / d : 0.0f;
        b[i].d = sw_f32_to_fp16(d);
        for (int j = 0; j < QK32 / 2; j++) {
            int q0 = round_even(x[j] * id) + 8, q1 = round_even(x[j + 16] * id) + 8;
            q0 = q0 < 0 ? 0 : q0 > 15 ? 15 : q0;
            q1 = q1 < 0 ? 0 : q1 > 15 ? 15 : q1;
            b[i].qs[j] = (uint8_t)(q0 | (q1 << 4));
        }
    }
}

/* Q5_0: like Q4_0 with 32 levels: the largest-magnitude value maps to -16. */
static void quantize_q5_0(const float *x, blk_q5_0 *b, int64_t nb)
{
    for (int64_t i = 0; i < nb; i++, x += QK32) {
        float max = signed_absmax(x, QK32);
        float d = max / -16.0f;
        float id = d != 0.0f ? 1.0f / d : 0.0f;
        b[i].d = sw_f32_to_fp16(d);
        uint32_t qh = 0;
        memset(b[i].qs, 0, sizeof(b[i].qs));
        for (int j = 0; j < QK32; j++) {
            int q = round_even(x[j] * id) + 16;
            q = q < 0 ? 0 : q > 31 ? 31 : q;
            b[i].qs[j % 16] |= (uint8_t)((q & 0xF) << (j < 16 ? 0 : 4));
            qh |= (uint32_t)(q >> 4) << j;
        }
        for (int k = 0; k < 4; k++)
            b[i].qh[k] = (uint8_t)(qh >> (8 * k));
    }
}

/* Q4_1 / Q5_1: x = q * d + m with m the block minimum, d = range / levels. */
static void quantize_qx_1(const float *x, void *dst, int64_t nb, int nmax)
{
    for (int64_t i = 0; i < nb; i++, x += QK32) {
        float lo = x[0], hi = x[0];
        for (int j = 1; j < QK32; j++) {
            lo = min_f(lo, x[j]);
            hi = max_f(hi, x[j]);
        }
        float d = (hi - lo) / (float)nmax;
        float id = d != 0.0f ? 1.0f / d : 0.0f;
        uint8_t qs[QK32 / 2] = {0};
        uint32_t qh = 0;
        for (int j = 0; j < QK32; j++) {
            int q = round_even((x[j] - lo) * id);
            q = q < 0 ? 0 : q > nmax ? nmax : q;
            qs[j % 16] |= (uint8_t)((q & 0xF) << (j < 16 ? 0 : 4));
            qh |= (uint32_t)(q >> 4) << j;
        }
        if (nmax == 15) {
            blk_q4_1 *b = (blk_q4_1 *)dst + i;
            b->d = sw_f32_to_fp16(d);
            b->m = sw_f32_to_fp16(lo);
            memcpy(b->qs, qs, sizeof(qs));
        } else {
            blk_q5_1 *b = (blk_q5_1 *)dst + i;
            b->d = sw_f32_to_fp16(d);
            b->m = sw_f32_to_fp16(lo);
            memcpy(b->qs, qs, sizeof(qs));
            for (int k = 0; k < 4; k++)
                b->qh[k] = (uint8_t)(qh >> (8 * k));
        }
    }
}

/* ---- K-quant weight quantizers ---- */

static inline int clampi(int v, int lo, int hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

/*
 * Fits x[i] ~= s * L[i] - m with L in 0..nmax, s >= 0, m >= 0 (the min is
 * clamped to <= 0 as the format stores it subtracted). Tries a sweep of
 * scales around (max-min)/nmax, refits s and m by least squares for each
 * set of levels, and keeps the lowest squared error.
 */
static inline int round_pos(float v)
{
    return (int)(v + 0.5f);
} /* v >= 0; no libm call */
static inline int round_any(float v)
{
    return v >= 0.0f ? round_pos(v) : -round_pos(-v);
}

static void fit_scale_min(const float *x, int n, int nmax, float *out_s, float *out_m)
{
    float lo = x[0], hi = x[0];
    double sx = 0, sxx = 0;
    for (int i = 0; i < n; i++) {
        lo = min_f(lo, x[i]);
        hi = max_f(hi, x[i]);
        sx += x[i];
        sxx += (double)x[i] * x[i];
    }
    if (lo > 0.0f) lo = 0.0f;
    if (hi <= lo) {
        *out_s = 0.0f;
        *out_m = -lo;
        return;
    }
    float best_s = (hi - lo) / (float)nmax, best_m = -lo;
    double best_err = INFINITY;
    for (int k = -10; k <= 10; k++) {
        float iscale = ((float)nmax + 0.1f * (float)k) / (hi - lo);
        /* integer sums are exact and vectorize; four float partials for x.L */
        int isl = 0, isll = 0;
        float p0 = 0, p1 = 0, p2 = 0, p3 = 0;
        for (int i = 0; i + 4 <= n; i += 4) {
            int l0 = clampi(round_pos(iscale * (x[i] - lo)), 0, nmax);
            int l1 = clampi(round_pos(iscale * (x[i + 1] - lo)), 0, nmax);
            int l2 = clampi(round_pos(iscale * (x[i + 2] - lo)), 0, nmax);
            int l3 = clampi(round_pos(iscale * (x[i + 3] - lo)), 0, nmax);
            isl += l0 + l1 + l2 + l3;
            isll += l0 * l0 + l1 * l1 + l2 * l2 + l3 * l3;
            p0 += x[i] * (float)l0;
            p1 += x[i + 1] * (float)l1;
            p2 += x[i + 2] * (float)l2;
            p3 += x[i + 3] * (float)l3;
        }
        double sl = isl, sll = isll, sxl = (double)((p0 + p1) + (p2 + p3));
        /* least squares for x = s*L + b */
        double det = n * sll - sl * sl;
        if (det <= 0) continue;
        double s = (n * sxl - sl * sx) / det;
        double b = (sx - s * sl) / n;
        if (b > 0) { /* the format needs b <= 0: refit s with b = 0 */
            b = 0;
            s = sll > 0 ? sxl / sll : 0;
        }
        if (s < 0) continue;
        /* sum (s L + b - x)^2, expanded over the sums */
        double err = sxx - 2 * s * sxl - 2 * b * sx + s * s * sll + 2 * s * b * sl + n * b * b;
        if (err < best_err) {
            best_err = err;
            best_s = (float)s;
            best_m = (float)-b;
        }
    }
    *out_s = best_s;
    *out_m = best_m;
}

static void quantize_q4_k(const float *x, blk_q4_k *b, int64_t nb)
{
    for (int64_t i = 0; i < nb; i++, x += QKK) {
        float s[8], m[8], max_s = 0, max_m = 0;
        for (int j = 0; j < 8; j++) {
            fit_scale_min(x + (size_t)32 * j, 32, 15, &s[j], &m[j]);
            max_s = max_f(max_s, s[j]);
            max_m = max_f(max_m, m[j]);
        }
        uint16_t dh = sw_f32_to_fp16(max_s / 63.0f), mh = sw_f32_to_fp16(max_m / 63.0f);
        float d = sw_fp16_to_f32(dh), dmin = sw_fp16_to_f32(mh);
        uint8_t sq[8], mq[8];
        for (int j = 0; j < 8; j++) {
            sq[j] = (uint8_t)(d > 0 ? clampi(round_even(s[j] / d), 0, 63) : 0);
            mq[j] = (uint8_t)(dmin > 0 ? clampi(round_even(m[j] / dmin), 0, 63) : 0);
        }
        memset(&b[i], 0, sizeof(b[i]));
        b[i].d = dh;
        b[i].dmin = mh;
        for (int j = 0; j < 4; j++) {
            b[i].scales[j] = (uint8_t)((sq[j] & 63) | ((sq[j + 4] >> 4) << 6));
            b[i].scales[j + 4] = (uint8_t)((mq[j] & 63) | ((mq[j + 4] >> 4) << 6));
            b[i].scales[j + 8] = (uint8_t)((sq[j + 4] & 0xF) | ((mq[j + 4] & 0xF) << 4));
        }
        /* requantize with the stored (rounded) scales */
        for (int e = 0; e < QKK; e++) {
            int j = e / 32;
            float ds = d * sq[j], dm = dmin * mq[j];
            int q = ds > 0 ? clampi(round_even((x[e] + dm) / ds), 0, 15) : 0;
            int chunk = e / 64, l = e % 64;
            if (l < 32)
                b[i].qs[32 * chunk + l] |= (uint8_t)q;
            else
                b[i].qs[32 * chunk + l - 32] |= (uint8_t)(q << 4);
        }
    }
}

/* Fits x[i] ~= s * L[i], L in -32..31, sweeping scales around the one that
 * maps the largest-magnitude value to -32 and refitting s by least squares. */
static float fit_scale_sym6(const float *x, int n)
{
    float amax = 0, max = 0;
    double sxx = 0;
    for (int i = 0; i < n; i++) {
        if (fabsf(x[i]) > amax) {
            amax = fabsf(x[i]);
            max = x[i];
        }
        sxx += (double)x[i] * x[i];
    }
    if (amax == 0) return 0;
    float best_s = max / -32.0f;
    double best_err = INFINITY;
    for (int k = -10; k <= 10; k++) {
        float iscale = -(32.0f + 0.1f * (float)k) / max;
        double sxl = 0, sll = 0;
        for (int i = 0; i < n; i++) {
            int l = clampi(round_any(iscale * x[i]), -32, 31);
            sxl += (double)x[i] * l;
            sll += (double)l * l;
        }
        if (sll <= 0) continue;
        double s = sxl / sll;
        double err = sxx - 2 * s * sxl + s * s * sll; /* sum (s L - x)^2 */
        if (err < best_err) {
            best_err = err;
            best_s = (float)s;
        }
    }
    return best_s;
}

static void quantize_q6_k(const float *x, blk_q6_k *b, int64_t nb)
{
    for (int64_t i = 0; i < nb; i++, x += QKK) {
        float s[16], amax = 0;
        for (int g = 0; g < 16; g++) {
            s[g] = fit_scale_sym6(x + (size_t)16 * g, 16);
            amax = max_f(amax, fabsf(s[g]));
        }
        memset(&b[i], 0, sizeof(b[i]));
        uint16_t dh = sw_f32_to_fp16(amax / 127.0f);
        float d = sw_fp16_to_f32(dh);
        b[i].d = dh;
        for (int g = 0; g < 16; g++)
            b[i].scales[g] = (int8_t)(d > 0 ? clampi(round_even(s[g] / d), -128, 127) : 0);
        uint8_t L[QKK];
        for (int e = 0; e < QKK; e++) {
            int g = e / 16;
            float ds = d * (float)b[i].scales[g];
            L[e] = (uint8_t)((ds != 0 ? clampi(round_even(x[e] / ds), -32, 31) : 0) + 32);
        }
        for (int half = 0; half < 2; half++) {
            const uint8_t *Lh = L + (size_t)128 * half;
            uint8_t *ql = b[i].ql + (size_t)64 * half, *qh = b[i].qh + (size_t)32 * half;
            for (int l = 0; l < 32; l++) {
                ql[l] = (uint8_t)((Lh[l] & 0xF) | ((Lh[l + 64] & 0xF) << 4));
                ql[l + 32] = (uint8_t)((Lh[l + 32] & 0xF) | ((Lh[l + 96] & 0xF) << 4));
                qh[l] = (uint8_t)((Lh[l] >> 4) | ((Lh[l + 32] >> 4) << 2) |
                                  ((Lh[l + 64] >> 4) << 4) | ((Lh[l + 96] >> 4) << 6));
            }
        }
    }
}

/* Q5_K: Q4_K with 5-bit levels (the 5th bits in qh). */
static void quantize_q5_k(const float *x, blk_q5_k *b, int64_t nb)
{
    for (int64_t i = 0; i < nb; i++, x += QKK) {
        float s[8], m[8], max_s = 0, max_m = 0;
        for (int j = 0; j < 8; j++) {
            fit_scale_min(x + (size_t)32 * j, 32, 31, &s[j], &m[j]);
            max_s = max_f(max_s, s[j]);
            max_m = max_f(max_m, m[j]);
        }
        uint16_t dh = sw_f32_to_fp16(max_s / 63.0f), mh = sw_f32_to_fp16(max_m / 63.0f);
        float d = sw_fp16_to_f32(dh), dmin = sw_fp16_to_f32(mh);
        uint8_t sq[8], mq[8];
        for (int j = 0; j < 8; j++) {
            sq[j] = (uint8_t)(d > 0 ? clampi(round_even(s[j] / d), 0, 63) : 0);
            mq[j] = (uint8_t)(dmin > 0 ? clampi(round_even(m[j] / dmin), 0, 63) : 0);
        }
        memset(&b[i], 0, sizeof(b[i]));
        b[i].d = dh;
        b[i].dmin = mh;
        for (int j = 0; j < 4; j++) {
            b[i].scales[j] = (uint8_t)((sq[j] & 63) | ((sq[j + 4] >> 4) << 6));
            b[i].scales[j + 4] = (uint8_t)((mq[j] & 63) | ((mq[j + 4] >> 4) << 6));
            b[i].scales[j + 8] = (uint8_t)((sq[j + 4] & 0xF) | ((mq[j + 4] & 0xF) << 4));
        }
        for (int e = 0; e < QKK; e++) {
            int j = e / 32;
            float ds = d * sq[j], dm = dmin * mq[j];
            int q = ds > 0 ? clampi(round_even((x[e] + dm) / ds), 0, 31) : 0;
            int chunk = e / 64, l = e % 64;
            if (l < 32)
                b[i].qs[32 * chunk + l] |= (uint8_t)(q & 0xF);
            else
                b[i].qs[32 * chunk + l - 32] |= (uint8_t)((q & 0xF) << 4);
            b[i].qh[l % 32] |= (uint8_t)((q >> 4) << (2 * chunk + (l >= 32)));
        }
    }
}

/* Q2_K: 16 sub-blocks of 16 with a 4-bit scale and min each, 2-bit levels. */
static void quantize_q2_k(const float *x, blk_q2_k *b, int64_t nb)
{
    for (int64_t i = 0; i < nb; i++, x += QKK) {
        float s[16], m[16], max_s = 0, max_m = 0;
        for (int j = 0; j < 16; j++) {
            fit_scale_min(x + (size_t)16 * j, 16, 3, &s[j], &m[j]);
            max_s = max_f(max_s, s[j]);
            max_m = max_f(max_m, m[j]);
        }
        uint16_t dh = sw_f32_to_fp16(max_s / 15.0f), mh = sw_f32_to_fp16(max_m / 15.0f);
        float d = sw_fp16_to_f32(dh), dmin = sw_fp16_to_f32(mh);
        memset(&b[i], 0, sizeof(b[i]));
        b[i].d = dh;
        b[i].dmin = mh;
        for (int j = 0; j < 16; j++) {
            int sq = d > 0 ? clampi(round_even(s[j] / d), 0, 15) : 0;
            int mq = dmin > 0 ? clampi(round_even(m[j] / dmin), 0, 15) : 0;
            b[i].scales[j] = (uint8_t)(sq | mq << 4);
        }
        for (int e = 0; e < QKK; e++) {
            uint8_t sc = b[i].scales[e / 16];
            float ds = d * (float)(sc & 0xF), dm = dmin * (float)(sc >> 4);
            int q = ds > 0 ? clampi(round_even((x[e] + dm) / ds), 0, 3) : 0;
            int h = e / 128, j = (e % 128) / 32, l = e % 32;
            b[i].qs[32 * h + l] |= (uint8_t)(q << (2 * j));
        }
    }
}

/* Fits x[i] ~= s * L[i], L in -nneg..nneg-1, as fit_scale_sym6. */
static float fit_scale_sym(const float *x, int n, int nneg)
{
    float max = signed_absmax(x, n);
    if (max == 0) return 0;
    double sxx = 0;
    for (int i = 0; i < n; i++)
        sxx += (double)x[i] * x[i];
    float best_s = max / -(float)nneg;
    double best_err = INFINITY;
    for (int k = -10; k <= 10; k++) {
        float iscale = -((float)nneg + 0.1f * (float)k) / max;
        double sxl = 0, sll = 0;
        for (int i = 0; i < n; i++) {
            int l = clampi(round_any(iscale * x[i]), -nneg, nneg - 1);
            sxl += (double)x[i] * l;
            sll += (double)l * l;
        }
        if (sll <= 0) continue;
        double s = sxl / sll;
        double err = sxx - 2 * s * sxl + s * s * sll;
        if (err < best_err) {
            best_err = err;
            best_s = (float)s;
        }
    }
    return best_s;
}

/* Q3_K: 16 sub-blocks of 16 with a signed 6-bit scale each, levels -4..3. */
static void quantize_q3_k(const float *x, blk_q3_k *b, int64_t nb)
{
    for (int64_t i = 0; i < nb; i++, x += QKK) {
        float s[16];
        for (int j = 0; j < 16; j++)
            s[j] = fit_scale_sym(x + (size_t)16 * j, 16, 4);
        float smax = signed_absmax(s, 16);
        memset(&b[i], 0, sizeof(b[i]));
        uint16_t dh = sw_f32_to_fp16(smax / -32.0f);
        float d = sw_fp16_to_f32(dh);
        b[i].d = dh;
        int8_t sc[16];
        for (int j = 0; j < 16; j++) {
            int l = d != 0 ? clampi(round_even(s[j] / d), -32, 31) : 0;
            sc[j] = (int8_t)l;
            int u = l + 32;
            if (j < 8)
                b[i].scales[j] = (uint8_t)(u & 0xF);
            else
                b[i].scales[j - 8] |= (uint8_t)((u & 0xF) << 4);
            b[i].scales[8 + j % 4] |= (uint8_t)((u >> 4) << (2 * (j / 4)));
        }
        for (int e = 0; e < QKK; e++) {
            float ds = d * (float)sc[e / 16];
            int q = ds != 0 ? clampi(round_even(x[e] / ds), -4, 3) : 0;
            q += 4; /* 0..7: bit 2 set means "no -4" */
            int h = e / 128, j = (e % 128) / 32, l = e % 32;
            b[i].qs[32 * h + l] |= (uint8_t)((q & 3) << (2 * j));
            if (q & 4) b[i].hmask[l] |= (uint8_t)(1u << (e / 32));
        }
    }
}

/* Nearest IQ4_NL level index for v (in units of the block scale). */
static int iq4_index(float v)
{
    int best = 0;
    float be = fabsf(v - (float)sw_iq4nl_values[0]);
    for (int k = 1; k < 16; k++) {
        float e = fabsf(v - (float)sw_iq4nl_values[k]);
        if (e < be) {
            be = e;
            best = k;
        }
    }
    return best;
}

/* Fits x ~= s * value[L]: sweeps scales around the one mapping the largest
 * magnitude to -127 and refits s by least squares for each set of levels. */
static float fit_scale_iq4(const float *x, int n)
{
    float max = signed_absmax(x, n);
    if (max == 0) return 0;
    double sxx = 0;
    for (int i = 0; i < n; i++)
        sxx += (double)x[i] * x[i];
    float best_s = max / -127.0f;
    double best_err = INFINITY;
    for (int k = -7; k <= 7; k++) {
        float s0 = max / (-127.0f + 2.0f * (float)k);
        double sxl = 0, sll = 0;
        for (int i = 0; i < n; i++) {
            float l = (float)sw_iq4nl_values[iq4_index(x[i] / s0)];
            sxl += (double)x[i] * l;
            sll += (double)l * l;
        }
        if (sll <= 0) continue;
        double s = sxl / sll;
        double err = sxx - 2 * s * sxl + s * s * sll;
        if (err < best_err) {
            best_err = err;
            best_s = (float)s;
        }
    }
    return best_s;
}

static void iq4_pack(const float *x, float d, uint8_t qs[16])
{
    float id = d != 0 ? 1.0f / d : 0.0f;
    for (int j = 0; j < 16; j++)
        qs[j] = (uint8_t)(iq4_index(x[j] * id) | iq4_index(x[j + 16] * id) << 4);
}

static void quantize_iq4_nl(const float *x, blk_iq4_nl *b, int64_t nb)
{
    for (int64_t i = 0; i < nb; i++, x += QK32) {
        b[i].d = sw_f32_to_fp16(fit_scale_iq4(x, QK32));
        iq4_pack(x, sw_fp16_to_f32(b[i].d), b[i].qs);
    }
}

static void quantize_iq4_xs(const float *x, blk_iq4_xs *b, int64_t nb)
{
    for (int64_t i = 0; i < nb; i++, x += QKK) {
        float s[8];
        for (int ib = 0; ib < 8; ib++)
            s[ib] = fit_scale_iq4(x + (size_t)32 * ib, 32);
        float smax = signed_absmax(s, 8);
        memset(&b[i], 0, sizeof(b[i]));
        uint16_t dh = sw_f32_to_fp16(smax / -32.0f);
        float d = sw_fp16_to_f32(dh);
        b[i].d = dh;
        for (int ib = 0; ib < 8; ib++) {
            int l = d != 0 ? clampi(round_even(s[ib] / d), -32, 31) : 0;
            int u = l + 32;
            b[i].scales_l[ib / 2] |= (uint8_t)((u & 0xF) << (4 * (ib % 2)));
            b[i].scales_h |= (uint16_t)((u >> 4) << (2 * ib));
            iq4_pack(x + (size_t)32 * ib, d * (float)l, b[i].qs + 16 * ib);
        }
    }
}

void sw_quantize_row(uint32_t type, const float *src, void *dst, int64_t n)
{
    switch (type) {
    case SW_TYPE_F32:
        memcpy(dst, src, (size_t)n * sizeof(float));
        return;
    case SW_TYPE_F16: {
        uint16_t *h = dst;
        for (int64_t i = 0; i < n; i++)
            h[i] = sw_f32_to_fp16(src[i]);
        return;
    }
    case SW_TYPE_BF16:
        sw_quantize_bf16_ref(src, dst, n);
        return;
    case SW_TYPE_Q8_0:
        sw_quantize_q8_0_ref(src, dst, n);
        return;
    case SW_TYPE_Q4_0:
        quantize_q4_0(src, dst, n / QK32);
        return;
    case SW_TYPE_Q4_K:
        quantize_q4_k(src, dst, n / QKK);
        return;
    case SW_TYPE_Q6_K:
        quantize_q6_k(src, dst, n / QKK);
        return;
    case SW_TYPE_Q8_K:
        sw_quantize_q8_k_ref(src, dst, n);
        return;
    case SW_TYPE_Q4_1:
        quantize_qx_1(src, dst, n / QK32, 15);
        return;
    case SW_TYPE_Q5_0:
        quantize_q5_0(src, dst, n / QK32);
        return;
    case SW_TYPE_Q5_1:
        quantize_qx_1(src, dst, n / QK32, 31);
        return;
    case SW_TYPE_Q8_1:
        sw_quantize_q8_1_ref(src, dst, n);
        return;
    case SW_TYPE_Q2_K:
        quantize_q2_k(src, dst, n / QKK);
        return;
    case SW_TYPE_Q3_K:
        quantize_q3_k(src, dst, n / QKK);
        return;
    case SW_TYPE_Q5_K:
        quantize_q5_k(src, dst, n / QKK);
        return;
    case SW_TYPE_IQ4_NL:
        quantize_iq4_nl(src, dst, n / QK32);
        return;
    case SW_TYPE_IQ4_XS:
        quantize_iq4_xs(src, dst, n / QKK);
        return;
    default:
        SWARM_ASSERT(!"sw_quantize_row: unsupported type");
    }
}

/* ---- activation formats ---- */

enum sw_act sw_act_of(uint32_t type)
{
    switch (type) {
    case SW_TYPE_Q8_0:
    case SW_TYPE_Q4_0:
    case SW_TYPE_Q5_0:
    case SW_TYPE_IQ4_NL:
        return SW_ACT_Q8_0;
    case SW_TYPE_Q4_1:
    case SW_TYPE_Q5_1:
        return SW_ACT_Q8_1;
    case SW_TYPE_Q4_K:
    case SW_TYPE_Q6_K:
    case SW_TYPE_Q2_K:
    case SW_TYPE_Q3_K:
    case SW_TYPE_Q5_K:
    case SW_TYPE_IQ4_XS:
        return SW_ACT_Q8_K;
    case SW_TYPE_BF16:
        return SW_ACT_BF16;
    default:
        return SW_ACT_F32;
    }
}

size_t sw_act_row_bytes(enum sw_act a, int64_t n)
{
    switch (a) {
    case SW_ACT_Q8_0:
        return (size_t)(n / QK32) * sizeof(blk_q8_0);
    case SW_ACT_Q8_K:
        return (size_t)(n / QKK) * sizeof(blk_q8_k);
    case SW_ACT_Q8_1:
        return (size_t)(n / QK32) * sizeof(blk_q8_1);
    case SW_ACT_BF16:
        return (size_t)n * 2;
    default:
        return (size_t)n * 4;
    }
}
