/*
 * dot_avx512.c: AVX-512 tile kernels (F/BW/VL + VNNI; BF16 dot products
 * where the CPU has AVX512_BF16), compiled under a target pragma and
 * chosen at run time. Kernels are register-blocked: R weight rows x T
 * tokens per pass (4x1 for generation, 2x4 for prompt batches), so weight
 * blocks are unpacked once per T tokens and activation blocks loaded once
 * per R rows. Integer sums equal the reference's; float order differs.
 */
#include <stddef.h>
#include <string.h>

#include "kernels_int.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

/* clang has no GCC target pragma; its attribute pragma does the same */
#if defined(__clang__)
#pragma clang attribute push(                                                                      \
    __attribute__((                                                                                \
        target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,avx512bf16,avx2,fma,f16c"))),        \
    apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,avx512bf16,avx2,fma,f16c")
#endif

/* The R x T loops carry an unroll pragma (UNR) that clang-format cannot
 * place; this part keeps its hand layout. */
/* clang-format off */
#define MAXR 4
#define MAXT 4
#define INL static inline __attribute__((always_inline))
/* the r / t loops must unroll fully so the accumulators live in registers */
#define UNR _Pragma("GCC unroll 16")

INL float hsum16(__m512 v) { return _mm512_reduce_add_ps(v); }
INL float hsum8(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}
INL float h2f(uint16_t h) { return _cvtsh_ss(h); }
/* [f(h0) x 8 | f(h1) x 8] */
INL __m512 bcast_h2(uint16_t h0, uint16_t h1)
{
    return _mm512_cvtph_ps(_mm256_inserti128_si256(_mm256_castsi128_si256(_mm_set1_epi16((short)h0)),
                                                   _mm_set1_epi16((short)h1), 1));
}

/* Arguments every kernel takes: R weight rows starting at W (stride ws),
 * T activation rows starting at X (stride xs); res[r * MAXT + t]. */
#define KARGS int64_t n, const uint8_t *W, size_t ws, const uint8_t *X, size_t xs, float *res

/* Prefetch for a group of R rows: the R rows are contiguous and the next
 * groups follow them; while step i of the current rows is read, the
 * matching part of the group after next is fetched: a linear stream two
 * groups (a few KiB) ahead. i counts loop steps and step = bytes per row
 * read per loop step (not per element: float loops pass i / elements-per-step,
 * or only a fraction of the lines read get prefetched). Without it a
 * matvec streamed at ~60% of a plain read loop's bandwidth. */
#define PF_NEXT(i, step)                                                                 \
    do {                                                                                 \
        const uint8_t *pf_ = W + (size_t)(2 * R) * ws + (size_t)(i) * (size_t)R * (step);     \
        UNR for (int k_ = 0; k_ < R * (int)(step); k_ += 64) __builtin_prefetch(pf_ + k_, 0, 3); \
    } while (0)

/* ---- float types ---- */

INL void k_f32(KARGS, const int R, const int T)
{
    __m512 acc[MAXR][MAXT];
    UNR for (int r = 0; r < R; r++)
        UNR for (int t = 0; t < T; t++) acc[r][t] = _mm512_setzero_ps();
    int64_t i = 0;
    for (; i < n; i += 16) {
        __mmask16 m = n - i >= 16 ? 0xffff : (__mmask16)((1u << (n - i)) - 1);
        __m512 w[MAXR];
        PF_NEXT(i / 16, 64);
        UNR for (int r = 0; r < R; r++) {
            const float *a = (const float *)(W + r * ws) + i;
            w[r] = _mm512_maskz_loadu_ps(m, a);
        }
        UNR for (int t = 0; t < T; t++) {
            __m512 x = _mm512_maskz_loadu_ps(m, (const float *)(X + t * xs) + i);
            UNR for (int r = 0; r < R; r++) acc[r][t] = _mm512_fmadd_ps(w[r], x, acc[r][t]);
        }
    }
    UNR for (int r = 0; r < R; r++)
        UNR for (int t = 0; t < T; t++) res[r * MAXT + t] = hsum16(acc[r][t]);
}

INL void k_f16(KARGS, const int R, const int T)
{
    __m512 acc[MAXR][MAXT];
    UNR for (int r = 0; r < R; r++)
        UNR for (int t = 0; t < T; t++) acc[r][t] = _mm512_setzero_ps();
    for (int64_t i = 0; i < n; i += 16) {
        __mmask16 m = n - i >= 16 ? 0xffff : (__mmask16)((1u << (n - i)) - 1);
        __m512 w[MAXR];
        PF_NEXT(i / 16, 32);
        UNR for (int r = 0; r < R; r++) {
            const uint16_t *a = (const uint16_t *)(W + r * ws) + i;
            w[r] = _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, a));
        }
        UNR for (int t = 0; t < T; t++) {
            __m512 x = _mm512_maskz_loadu_ps(m, (const float *)(X + t * xs) + i);
            UNR for (int r = 0; r < R; r++) acc[r][t] = _mm512_fmadd_ps(w[r], x, acc[r][t]);
        }
    }
    UNR for (int r = 0; r < R; r++)
        UNR for (int t = 0; t < T; t++) res[r * MAXT + t] = hsum16(acc[r][t]);
}

INL void k_bf16(KARGS, const int R, const int T)
{
    __m512 acc[MAXR][MAXT];
    UNR for (int r = 0; r < R; r++)
        UNR for (int t = 0; t < T; t++) acc[r][t] = _mm512_setzero_ps();
    for (int64_t i = 0; i < n; i += 32) {
        /* a zero-padded tail; an odd tail pairs its last element with zeros */
        __mmask32 m = n - i >= 32 ? 0xffffffffu : (__mmask32)((1ull << (n - i)) - 1);
        __m512bh w[MAXR];
        PF_NEXT(i / 32, 64);
        UNR for (int r = 0; r < R; r++) {
            const uint16_t *a = (const uint16_t *)(W + r * ws) + i;
            w[r] = (__m512bh)_mm512_maskz_loadu_epi16(m, a);
        }
        UNR for (int t = 0; t < T; t++) {
            __m512bh x = (__m512bh)_mm512_maskz_loadu_epi16(m, (const uint16_t *)(X + t * xs) + i);
            UNR for (int r = 0; r < R; r++) acc[r][t] = _mm512_dpbf16_ps(acc[r][t], w[r], x);
        }
    }
    UNR for (int r = 0; r < R; r++)
        UNR for (int t = 0; t < T; t++) res[r * MAXT + t] = hsum16(acc[r][t]);
}

/* ---- Q8_0 / Q4_0 against Q8_0 activations ---- */

/* Q8_0: with xu = x + 128 (unsigned), sum w*x = dpbusd(xu, w) - 128 * sum w;
 * the correction seeds the accumulator, so each (row, token) pair costs
 * one dpbusd. Activations never hold -128 (they are scaled to +-127). */
INL void k_q8_0(KARGS, const int R, const int T)
{
    /* two blocks per 512-bit step, as k_q45_0; an odd last block on 256 bits */
    __m512 acc[MAXR][MAXT];
    UNR for (int r = 0; r < R; r++)
        UNR for (int t = 0; t < T; t++) acc[r][t] = _mm512_setzero_ps();
    const __m512i b80 = _mm512_set1_epi8((char)0x80);
    const int64_t nb = n / QK32;
    int64_t i = 0;
    for (; i + 2 <= nb; i += 2) {
        __m512i w[MAXR], corr[MAXR];
        __m512 dw[MAXR];
        PF_NEXT(i, sizeof(blk_q8_0));
        PF_NEXT(i + 1, sizeof(blk_q8_0));
        UNR for (int r = 0; r < R; r++) {
            const blk_q8_0 *a = (const blk_q8_0 *)(W + r * ws) + i;
            w[r] = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)a[0].qs)),
                                      _mm256_loadu_si256((const __m256i *)a[1].qs), 1);
            corr[r] = _mm512_sub_epi32(_mm512_setzero_si512(),
                                       _mm512_dpbusd_epi32(_mm512_setzero_si512(), b80, w[r]));
            dw[r] = bcast_h2(a[0].d, a[1].d);
        }
        UNR for (int t = 0; t < T; t++) {
            const blk_q8_0 *b = (const blk_q8_0 *)(X + t * xs) + i;
            __m512i xu = _mm512_xor_si512(
                _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)b[0].qs)),
                                   _mm256_loadu_si256((const __m256i *)b[1].qs), 1), b80);
            __m512 dx = bcast_h2(b[0].d, b[1].d);
            UNR for (int r = 0; r < R; r++) {
                __m512i p = _mm512_dpbusd_epi32(corr[r], xu, w[r]);
                acc[r][t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(p), _mm512_mul_ps(dw[r], dx), acc[r][t]);
            }
        }
    }
    for (; i < nb; i++) { /* odd last block */
        const __m256i c80 = _mm512_castsi512_si256(b80);
        UNR for (int r = 0; r < R; r++) {
            const blk_q8_0 *a = (const blk_q8_0 *)(W + r * ws) + i;
            __m256i w = _mm256_loadu_si256((const __m256i *)a->qs);
            __m256i corr = _mm256_sub_epi32(_mm256_setzero_si256(),
                                            _mm256_dpbusd_epi32(_mm256_setzero_si256(), c80, w));
            float dw = h2f(a->d);
            UNR for (int t = 0; t < T; t++) {
                const blk_q8_0 *b = (const blk_q8_0 *)(X + t * xs) + i;
                __m256i xu = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)b->qs), c80);
                __m256i p = _mm256_dpbusd_epi32(corr, xu, w);
                __m256 f = _mm256_mul_ps(_mm256_cvtepi32_ps(p), _mm256_set1_ps(dw * h2f(b->d)));
                acc[r][t] = _mm512_add_ps(acc[r][t], _mm512_castps256_ps512(f));
            }
        }
    }
    UNR for (int r = 0; r < R; r++)
        UNR for (int t = 0; t < T; t++) res[r * MAXT + t] = hsum16(acc[r][t]);
}


/* The 32 values of a Q4/Q5 block as bytes in element order; with qh, the
 * 5th bits come from a 32-bit mask (AVX512BW byte masking). */
INL __m256i unpack_nib(const uint8_t *qs)
{
    const __m128i m4 = _mm_set1_epi8(0xF);
    __m128i v = _mm_loadu_si128((const __m128i *)qs);
    return _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(v, 4), m4), _mm_and_si128(v, m4));
}
INL __m256i add_5th_bits(__m256i q, const uint8_t qh[4])
{
    uint32_t h;
    __builtin_memcpy(&h, qh, 4);
    return _mm256_or_si256(q, _mm256_maskz_mov_epi8((__mmask32)h, _mm256_set1_epi8(0x10)));
}

/* Q4_0 / Q5_0: q in 0..15 (0..31) is unsigned already; sum (q - off) x =
 * dpbusd(q, x) - off * sum x, and -off * sum x (per token) seeds the
 * accumulator. Two blocks per 512-bit step: the nibbles of blocks i, i+1
 * land in lanes [lo i | hi i | lo i+1 | hi i+1] (two 128-bit broadcasts and
 * a blend), the scales in [i x 8 | i+1 x 8]; an odd last block takes the
 * 256-bit step. */
INL void k_q45_0(KARGS, const int R, const int T, const int five)
{
    __m512 acc[MAXR][MAXT];
    UNR for (int r = 0; r < R; r++)
        UNR for (int t = 0; t < T; t++) acc[r][t] = _mm512_setzero_ps();
    const size_t bsz = five ? sizeof(blk_q5_0) : sizeof(blk_q4_0);
    const size_t qoff = five ? offsetof(blk_q5_0, qs) : offsetof(blk_q4_0, qs);
    const __m512i m4 = _mm512_set1_epi8(0xF), off = _mm512_set1_epi8(five ? 16 : 8);
    const __m512i b5 = _mm512_set1_epi8(0x10);
    const int64_t nb = n / QK32;
    int64_t i = 0;
    for (; i + 2 <= nb; i += 2) {
        __m512i q[MAXR];
        __m512 dw[MAXR];
        PF_NEXT(i, bsz);
        PF_NEXT(i + 1, bsz);
        UNR for (int r = 0; r < R; r++) {
            const uint8_t *b0 = W + r * ws + (size_t)i * bsz, *b1 = b0 + bsz;
            __m512i v = _mm512_inserti64x4(
                _mm512_castsi256_si512(_mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)(b0 + qoff)))),
                _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)(b1 + qoff))), 1);
            q[r] = _mm512_mask_blend_epi64(0xCC, _mm512_and_si512(v, m4),
                                           _mm512_and_si512(_mm512_srli_epi16(v, 4), m4));
            if (five) {
                uint32_t h0, h1;
                __builtin_memcpy(&h0, ((const blk_q5_0 *)b0)->qh, 4);
                __builtin_memcpy(&h1, ((const blk_q5_0 *)b1)->qh, 4);
                q[r] = _mm512_or_si512(q[r], _mm512_maskz_mov_epi8((__mmask64)h0 | (__mmask64)h1 << 32, b5));
            }
            uint16_t d0, d1;
            __builtin_memcpy(&d0, b0, 2);
            __builtin_memcpy(&d1, b1, 2);
            dw[r] = bcast_h2(d0, d1);
        }
        UNR for (int t = 0; t < T; t++) {
            const blk_q8_0 *b = (const blk_q8_0 *)(X + t * xs) + i;
            __m512i x = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)b[0].qs)),
                                           _mm256_loadu_si256((const __m256i *)b[1].qs), 1);
            __m512i corr = _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_dpbusd_epi32(_mm512_setzero_si512(), off, x));
            __m512 dx = bcast_h2(b[0].d, b[1].d);
            UNR for (int r = 0; r < R; r++) {
                __m512i p = _mm512_dpbusd_epi32(corr, q[r], x);
                acc[r][t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(p), _mm512_mul_ps(dw[r], dx), acc[r][t]);
            }
        }
    }
    for (; i < nb; i++) { /* odd last block */
        UNR for (int r = 0; r < R; r++) {
            const uint8_t *b0 = W + r * ws + (size_t)i * bsz;
            __m256i q = unpack_nib(b0 + qoff);
            if (five) q = add_5th_bits(q, ((const blk_q5_0 *)b0)->qh);
            uint16_t d0;
            __builtin_memcpy(&d0, b0, 2);
            float dw = h2f(d0);
            UNR for (int t = 0; t < T; t++) {
                const blk_q8_0 *b = (const blk_q8_0 *)(X + t * xs) + i;
                __m256i x = _mm256_loadu_si256((const __m256i *)b->qs);
                __m256i corr = _mm256_sub_epi32(_mm256_setzero_si256(),
                    _mm256_dpbusd_epi32(_mm256_setzero_si256(), _mm512_castsi512_si256(off), x));
                __m256i p = _mm256_dpbusd_epi32(corr, q, x);
                __m256 f = _mm256_mul_ps(_mm256_cvtepi32_ps(p), _mm256_set1_ps(dw * h2f(b->d)));
                acc[r][t] = _mm512_add_ps(acc[r][t], _mm512_castps256_ps512(f));
            }
        }
    }
    UNR for (int r = 0; r < R; r++)
        UNR for (int t = 0; t < T; t++) res[r * MAXT + t] = hsum16(acc[r][t]);
}
INL void k_q4_0(KARGS, const int R, const int T) { k_q45_0(n, W, ws, X, xs, res, R, T, 0); }
INL void k_q5_0(KARGS, const int R, const int T) { k_q45_0(n, W, ws, X, xs, res, R, T, 1); }

/* Q4_1 / Q5_1 against Q8_1: d dx sum q qx + m s, the offsets summed apart. */
INL void k_qx_1(KARGS, const int R, const int T, const int five)
{
    __m256 acc[MAXR][MAXT];
    float macc[MAXR][MAXT];
    UNR for (int r = 0; r < R; r++)
        UNR for (int t = 0; t < T; t++) {
            acc[r][t] = _mm256_setzero_ps();
            macc[r][t] = 0.0f;
        }
    const size_t bsz = five ? sizeof(blk_q5_1) : sizeof(blk_q4_1);
    for (int64_t i = 0; i < n / QK32; i++) {
        __m256i q[MAXR];
        __m256 dw[MAXR];
        float mw[MAXR];
        PF_NEXT(i, bsz);
        UNR for (int r = 0; r < R; r++) {
            const uint8_t *blk = W + r * ws + (size_t)i * bsz;
            if (five) {
                const blk_q5_1 *a = (const blk_q5_1 *)blk;
                q[r] = add_5th_bits(unpack_nib(a->qs), a->qh);
                dw[r] = _mm256_set1_ps(h2f(a->d));
                mw[r] = h2f(a->m);
            } else {
                const blk_q4_1 *a = (const blk_q4_1 *)blk;
                q[r] = unpack_nib(a->qs);
                dw[r] = _mm256_set1_ps(h2f(a->d));
                mw[r] = h2f(a->m);
            }
        }
        UNR for (int t = 0; t < T; t++) {
            const blk_q8_1 *b = (const blk_q8_1 *)(X + t * xs) + i;
            __m256i x = _mm256_loadu_si256((const __m256i *)b->qs);
            __m256 dx = _mm256_set1_ps(h2f(b->d));
            float sx = h2f(b->s);
            UNR for (int r = 0; r < R; r++) {
                __m256i p = _mm256_dpbusd_epi32(_mm256_setzero_si256(), q[r], x);
                acc[r][t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), _mm256_mul_ps(dw[r], dx), acc[r][t]);
                macc[r][t] += mw[r] * sx;
            }
        }
    }
    UNR for (int r = 0; r < R; r++)
        UNR for (int t = 0; t < T; t++) res[r * MAXT + t] = hsum8(acc[r][t]) + macc[r][t];
}
INL void k_q4_1(KARGS, const int R, const int T) { k_qx_1(n, W, ws, X, xs, res, R, T, 0); }
INL void k_q5_1(KARGS, const int R, const int T) { k_qx_1(n, W, ws, X, xs, res, R, T, 1); }

/* ---- K-quants against Q8_K activations ---- */

INL void k_q4_k(KARGS, const int R, const int T)
{
    __m512 acc[MAXR][MAXT];
    __m128 macc[MAXR][MAXT]; /* the min terms, summed separately */
    UNR for (int r = 0; r < R; r++)
        UNR for (int t = 0; t < T; t++) {
            acc[r][t] = _mm512_setzero_ps();
            macc[r][t] = _mm_setzero_ps();
        }
    const __m512i m4z = _mm512_set1_epi8(0xF);
    for (int64_t i = 0; i < n / QKK; i++) {
        __m512i scv[MAXR];
        __m128i mnv[MAXR];
        float dw[MAXR], dmw[MAXR];
        PF_NEXT(i, sizeof(blk_q4_k));
        UNR for (int r = 0; r < R; r++) {
            const blk_q4_k *a = (const blk_q4_k *)(W + r * ws) + i;
            /* 6-bit scales and mins: low 4 sub-blocks in bytes 0..7, high 4
             * split over bytes 8..11 (low bits) and the top bits of 0..7 */
            uint32_t u[3];
            __builtin_memcpy(u, a->scales, 12);
            uint32_t sc_lo = u[0] & 0x3f3f3f3f, mn_lo = u[1] & 0x3f3f3f3f;
            uint32_t sc_hi = (u[2] & 0x0f0f0f0f) | ((u[0] >> 2) & 0x30303030);
            uint32_t mn_hi = ((u[2] >> 4) & 0x0f0f0f0f) | ((u[1] >> 2) & 0x30303030);
            scv[r] = _mm512_castsi256_si512(
                _mm256_cvtepu8_epi16(_mm_set_epi32(0, 0, (int)sc_hi, (int)sc_lo)));
            mnv[r] = _mm_cvtepu8_epi16(_mm_set_epi32(0, 0, (int)mn_hi, (int)mn_lo));
            dw[r] = h2f(a->d);
            dmw[r] = h2f(a->dmin);
        }
        float yd[MAXT];
        UNR for (int t = 0; t < T; t++) {
            const blk_q8_k *b = (const blk_q8_k *)(X + t * xs) + i;
            yd[t] = b->d;
            /* 16 sums of 16 activations -> 8 sums of 32, one per sub-block */
            __m256i bs = _mm256_loadu_si256((const __m256i *)b->bsums);
            __m128i bs2 = _mm256_cvtepi32_epi16(_mm256_madd_epi16(bs, _mm256_set1_epi16(1)));
            UNR for (int r = 0; r < R; r++)
                macc[r][t] = _mm_fmadd_ps(_mm_cvtepi32_ps(_mm_madd_epi16(bs2, mnv[r])),
                                          _mm_set1_ps(dmw[r] * yd[t]), macc[r][t]);
        }
        __m512i sumi[MAXR][MAXT];
        UNR for (int r = 0; r < R; r++)
            UNR for (int t = 0; t < T; t++) sumi[r][t] = _mm512_setzero_si512();
        /* 128 elements (64 bytes of nibbles) per step: the low nibbles are
         * sub-blocks 4jj and 4jj+2, the high ones 4jj+1 and 4jj+3; the
         * activations are re-paired to match with two 128-bit lane shuffles
         * per token (shared by the R rows). */
        UNR for (int jj = 0; jj < 2; jj++) {
            const __m512i ilo = _mm512_inserti64x4(_mm512_set1_epi16((short)(4 * jj)),
                                                   _mm256_set1_epi16((short)(4 * jj + 2)), 1);
            const __m512i ihi = _mm512_inserti64x4(_mm512_set1_epi16((short)(4 * jj + 1)),
                                                   _mm256_set1_epi16((short)(4 * jj + 3)), 1);
            __m512i qlo[MAXR], qhi[MAXR], slo[MAXR], shi[MAXR];
            UNR for (int r = 0; r < R; r++) {
                const blk_q4_k *a = (const blk_q4_k *)(W + r * ws) + i;
                __m512i q = _mm512_loadu_si512(a->qs + (size_t)64 * jj);
                qlo[r] = _mm512_and_si512(q, m4z);
                qhi[r] = _mm512_and_si512(_mm512_srli_epi16(q, 4), m4z);
                slo[r] = _mm512_permutexvar_epi16(ilo, scv[r]);
                shi[r] = _mm512_permutexvar_epi16(ihi, scv[r]);
            }
            UNR for (int t = 0; t < T; t++) {
                const blk_q8_k *b = (const blk_q8_k *)(X + t * xs) + i;
                __m512i y01 = _mm512_loadu_si512(b->qs + (size_t)128 * jj);      /* sub-blocks 4jj, 4jj+1 */
                __m512i y23 = _mm512_loadu_si512(b->qs + (size_t)128 * jj + 64); /* 4jj+2, 4jj+3 */
                __m512i ylo = _mm512_shuffle_i64x2(y01, y23, 0x44);      /* 4jj, 4jj+2 */
                __m512i yhi = _mm512_shuffle_i64x2(y01, y23, 0xEE);      /* 4jj+1, 4jj+3 */
                UNR for (int r = 0; r < R; r++) {
                    sumi[r][t] = _mm512_dpwssd_epi32(sumi[r][t], _mm512_maddubs_epi16(qlo[r], ylo), slo[r]);
                    sumi[r][t] = _mm512_dpwssd_epi32(sumi[r][t], _mm512_maddubs_epi16(qhi[r], yhi), shi[r]);
                }
            }
        }
        UNR for (int r = 0; r < R; r++)
            UNR for (int t = 0; t < T; t++)
                acc[r][t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(sumi[r][t]), _mm512_set1_ps(dw[r] * yd[t]),
                                            acc[r][t]);
    }
    UNR for (int r = 0; r < R; r++)
        UNR for (int t = 0; t < T; t++) {
            __m128 m = macc[r][t];
            m = _mm_add_ps(m, _mm_movehl_ps(m, m));
            m = _mm_add_ss(m, _mm_movehdup_ps(m));
            res[r * MAXT + t] = hsum16(acc[r][t]) - _mm_cvtss_f32(m);
        }
}

/* Q5_K: k_q4_k with the 5th bits (qh bit 2c: low nibbles of chunk c, bit
 * 2c+1: high nibbles), shifted per 256-bit half with a variable shift. */
INL void k_q5_k(KARGS, const int R, const int T)
{
    __m512 acc[MAXR][MAXT];
    __m128 macc[MAXR][MAXT]; /* the min terms, summed separately */
    UNR for (int r = 0; r < R; r++)
        UNR for (int t = 0; t < T; t++) {
            acc[r][t] = _mm512_setzero_ps();
            macc[r][t] = _mm_setzero_ps();
        }
    const __m512i m4z = _mm512_set1_epi8(0xF), one = _mm512_set1_epi8(1);
    for (int64_t i = 0; i < n / QKK; i++) {
        __m512i scv[MAXR];
        __m128i mnv[MAXR];
        float dw[MAXR], dmw[MAXR];
        PF_NEXT(i, sizeof(blk_q5_k));
        UNR for (int r = 0; r < R; r++) {
            const blk_q5_k *a = (const blk_q5_k *)(W + r * ws) + i;
            /* 6-bit scales and mins: low 4 sub-blocks in bytes 0..7, high 4
             * split over bytes 8..11 (low bits) and the top bits of 0..7 */
            uint32_t u[3];
            __builtin_memcpy(u, a->scales, 12);
            uint32_t sc_lo = u[0] & 0x3f3f3f3f, mn_lo = u[1] & 0x3f3f3f3f;
            uint32_t sc_hi = (u[2] & 0x0f0f0f0f) | ((u[0] >> 2) & 0x30303030);
            uint32_t mn_hi = ((u[2] >> 4) & 0x0f0f0f0f) | ((u[1] >> 2) & 0x30303030);
            scv[r] = _mm512_castsi256_si512(
                _mm256_cvtepu8_epi16(_mm_set_epi32(0, 0, (int)sc_hi, (int)sc_lo)));
            mnv[r] = _mm_cvtepu8_epi16(_mm_set_epi32(0, 0, (int)mn_hi, (int)mn_lo));
            dw[r] = h2f(a->d);
            dmw[r] = h2f(a->dmin);
        }
        float yd[MAXT];
        UNR for (int t = 0; t < T; t++) {
            const blk_q8_k *b = (const blk_q8_k *)(X + t * xs) + i;
            yd[t] = b->d;
            /* 16 sums of 16 activations -> 8 sums of 32, one per sub-block */
            __m256i bs = _mm256_loadu_si256((const __m256i *)b->bsums);
            __m128i bs2 = _mm256_cvtepi32_epi16(_mm256_madd_epi16(bs, _mm256_set1_epi16(1)));
            UNR for (int r = 0; r < R; r++)
                macc[r][t] = _mm_fmadd_ps(_mm_cvtepi32_ps(_mm_madd_epi16(bs2, mnv[r])),
                                          _mm_set1_ps(dmw[r] * yd[t]), macc[r][t]);
        }
        __m512i sumi[MAXR][MAXT];
        UNR for (int r = 0; r < R; r++)
            UNR for (int t = 0; t < T; t++) sumi[r][t] = _mm512_setzero_si512();
        /* 128 elements (64 bytes of nibbles) per step: the low nibbles are
         * sub-blocks 4jj and 4jj+2, the high ones 4jj+1 and 4jj+3; the
         * activations are re-paired to match with two 128-bit lane shuffles
         * per token (shared by the R rows). */
        UNR for (int jj = 0; jj < 2; jj++) {
            const __m512i ilo = _mm512_inserti64x4(_mm512_set1_epi16((short)(4 * jj)),
                                                   _mm256_set1_epi16((short)(4 * jj + 2)), 1);
            const __m512i ihi = _mm512_inserti64x4(_mm512_set1_epi16((short)(4 * jj + 1)),
                                                   _mm256_set1_epi16((short)(4 * jj + 3)), 1);
            __m512i qlo[MAXR], qhi[MAXR], slo[MAXR], shi[MAXR];
            /* chunks 2jj (first half) and 2jj+1 (second half) */
            const __m512i sh_lo = _mm512_inserti64x4(_mm512_set1_epi16((short)(4 * jj)),
                                                     _mm256_set1_epi16((short)(4 * jj + 2)), 1);
            const __m512i sh_hi = _mm512_inserti64x4(_mm512_set1_epi16((short)(4 * jj + 1)),
                                                     _mm256_set1_epi16((short)(4 * jj + 3)), 1);
            UNR for (int r = 0; r < R; r++) {
                const blk_q5_k *a = (const blk_q5_k *)(W + r * ws) + i;
                __m512i q = _mm512_loadu_si512(a->qs + (size_t)64 * jj);
                __m512i qh = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)a->qh));
                __m512i hlo = _mm512_slli_epi16(_mm512_and_si512(_mm512_srlv_epi16(qh, sh_lo), one), 4);
                __m512i hhi = _mm512_slli_epi16(_mm512_and_si512(_mm512_srlv_epi16(qh, sh_hi), one), 4);
                qlo[r] = _mm512_or_si512(_mm512_and_si512(q, m4z), hlo);
                qhi[r] = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(q, 4), m4z), hhi);
                slo[r] = _mm512_permutexvar_epi16(ilo, scv[r]);
                shi[r] = _mm512_permutexvar_epi16(ihi, scv[r]);
            }
            UNR for (int t = 0; t < T; t++) {
                const blk_q8_k *b = (const blk_q8_k *)(X + t * xs) + i;
                __m512i y01 = _mm512_loadu_si512(b->qs + (size_t)128 * jj);      /* sub-blocks 4jj, 4jj+1 */
                __m512i y23 = _mm512_loadu_si512(b->qs + (size_t)128 * jj + 64); /* 4jj+2, 4jj+3 */
                __m512i ylo = _mm512_shuffle_i64x2(y01, y23, 0x44);      /* 4jj, 4jj+2 */
                __m512i yhi = _mm512_shuffle_i64x2(y01, y23, 0xEE);      /* 4jj+1, 4jj+3 */
                UNR for (int r = 0; r < R; r++) {
                    sumi[r][t] = _mm512_dpwssd_epi32(sumi[r][t], _mm512_maddubs_epi16(qlo[r], ylo), slo[r]);
                    sumi[r][t] = _mm512_dpwssd_epi32(sumi[r][t], _mm512_maddubs_epi16(qhi[r], yhi), shi[r]);
                }
            }
        }
        UNR for (int r = 0; r < R; r++)
            UNR for (int t = 0; t < T; t++)
                acc[r][t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(sumi[r][t]), _mm512_set1_ps(dw[r] * yd[t]),
                                            acc[r][t]);
    }
    UNR for (int r = 0; r < R; r++)
        UNR for (int t = 0; t < T; t++) {
            __m128 m = macc[r][t];
            m = _mm_add_ps(m, _mm_movehl_ps(m, m));
            m = _mm_add_ss(m, _mm_movehdup_ps(m));
            res[r * MAXT + t] = hsum16(acc[r][t]) - _mm_cvtss_f32(m);
        }
}

/* IQ4_NL against Q8_0: the nibbles (two blocks per step, laid out as in
 * k_q45_0) index the 16 levels with one byte shuffle; then the Q8_0 trick:
 * dpbusd(x + 128, w) - 128 * sum w, the correction seeding the sum. */
INL void k_iq4_nl(KARGS, const int R, const int T)
{
    __m512 acc[MAXR][MAXT];
    UNR for (int r = 0; r < R; r++)
        UNR for (int t = 0; t < T; t++) acc[r][t] = _mm512_setzero_ps();
    const __m512i m4 = _mm512_set1_epi8(0xF), b80 = _mm512_set1_epi8((char)0x80);
    const __m512i tab = _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)sw_iq4nl_values));
    const int64_t nb = n / QK32;
    int64_t i = 0;
    for (; i + 2 <= nb; i += 2) {
        __m512i w[MAXR], corr[MAXR];
        __m512 dw[MAXR];
        PF_NEXT(i, sizeof(blk_iq4_nl));
        PF_NEXT(i + 1, sizeof(blk_iq4_nl));
        UNR for (int r = 0; r < R; r++) {
            const blk_iq4_nl *a = (const blk_iq4_nl *)(W + r * ws) + i;
            __m512i v = _mm512_inserti64x4(
                _mm512_castsi256_si512(_mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)a[0].qs))),
                _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)a[1].qs)), 1);
            __m512i idx = _mm512_mask_blend_epi64(0xCC, _mm512_and_si512(v, m4),
                                                  _mm512_and_si512(_mm512_srli_epi16(v, 4), m4));
            w[r] = _mm512_shuffle_epi8(tab, idx);
            corr[r] = _mm512_sub_epi32(_mm512_setzero_si512(),
                                       _mm512_dpbusd_epi32(_mm512_setzero_si512(), b80, w[r]));
            dw[r] = bcast_h2(a[0].d, a[1].d);
        }
        UNR for (int t = 0; t < T; t++) {
            const blk_q8_0 *b = (const blk_q8_0 *)(X + t * xs) + i;
            __m512i xu = _mm512_xor_si512(
                _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)b[0].qs)),
                                   _mm256_loadu_si256((const __m256i *)b[1].qs), 1), b80);
            __m512 dx = bcast_h2(b[0].d, b[1].d);
            UNR for (int r = 0; r < R; r++) {
                __m512i p = _mm512_dpbusd_epi32(corr[r], xu, w[r]);
                acc[r][t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(p), _mm512_mul_ps(dw[r], dx), acc[r][t]);
            }
        }
    }
    for (; i < nb; i++) { /* odd last block */
        const __m256i c80 = _mm512_castsi512_si256(b80);
        UNR for (int r = 0; r < R; r++) {
            const blk_iq4_nl *a = (const blk_iq4_nl *)(W + r * ws) + i;
            __m256i w = _mm256_shuffle_epi8(_mm512_castsi512_si256(tab), unpack_nib(a->qs));
            __m256i corr = _mm256_sub_epi32(_mm256_setzero_si256(),
                                            _mm256_dpbusd_epi32(_mm256_setzero_si256(), c80, w));
            float dw = h2f(a->d);
            UNR for (int t = 0; t < T; t++) {
                const blk_q8_0 *b = (const blk_q8_0 *)(X + t * xs) + i;
                __m256i xu = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)b->qs), c80);
                __m256i p = _mm256_dpbusd_epi32(corr, xu, w);
                __m256 f = _mm256_mul_ps(_mm256_cvtepi32_ps(p), _mm256_set1_ps(dw * h2f(b->d)));
                acc[r][t] = _mm512_add_ps(acc[r][t], _mm512_castps256_ps512(f));
            }
        }
    }
    UNR for (int r = 0; r < R; r++)
        UNR for (int t = 0; t < T; t++) res[r * MAXT + t] = hsum16(acc[r][t]);
}

INL void k_q6_k(KARGS, const int R, const int T)
{
    __m512 acc[MAXR][MAXT];
    UNR for (int r = 0; r < R; r++)
        UNR for (int t = 0; t < T; t++) acc[r][t] = _mm512_setzero_ps();
    const __m512i m4 = _mm512_set1_epi8(0xF), m2 = _mm512_set1_epi8(3);
    /* lane k (of 32 int16) belongs to group k/8 of the 64 elements */
    const __m512i gidx = _mm512_set_epi16(3, 3, 3, 3, 3, 3, 3, 3, 2, 2, 2, 2, 2, 2, 2, 2, 1, 1, 1, 1,
                                          1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0);
    for (int64_t i = 0; i < n / QKK; i++) {
        __m512i sc16[MAXR];
        float dw[MAXR];
        PF_NEXT(i, sizeof(blk_q6_k));
        UNR for (int r = 0; r < R; r++) {
            const blk_q6_k *a = (const blk_q6_k *)(W + r * ws) + i;
            sc16[r] = _mm512_castsi256_si512(_mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)a->scales)));
            dw[r] = h2f(a->d);
        }
        __m512i sumi[MAXR][MAXT];
        float yd[MAXT];
        UNR for (int t = 0; t < T; t++) {
            const blk_q8_k *b = (const blk_q8_k *)(X + t * xs) + i;
            yd[t] = b->d;
            /* stored values are q + 32: start from -32 * sum_g sc[g] * bsums[g] */
            __m256i bs = _mm256_loadu_si256((const __m256i *)b->bsums);
            UNR for (int r = 0; r < R; r++) {
                __m256i corr = _mm256_slli_epi32(_mm256_madd_epi16(bs, _mm512_castsi512_si256(sc16[r])), 5);
                sumi[r][t] = _mm512_zextsi256_si512(_mm256_sub_epi32(_mm256_setzero_si256(), corr));
            }
        }
        for (int h = 0; h < 2; h++) {
            __m512i q01[MAXR], q23[MAXR], s01[MAXR], s23[MAXR];
            const __m512i i01 = _mm512_add_epi16(gidx, _mm512_set1_epi16((short)(8 * h)));
            const __m512i i23 = _mm512_add_epi16(gidx, _mm512_set1_epi16((short)(8 * h + 4)));
            UNR for (int r = 0; r < R; r++) {
                const blk_q6_k *a = (const blk_q6_k *)(W + r * ws) + i;
                __m512i ql = _mm512_loadu_si512(a->ql + (size_t)64 * h); /* [ql0 | ql1] */
                __m256i qh = _mm256_loadu_si256((const __m256i *)(a->qh + (size_t)32 * h));
                __m512i qh2 = _mm512_inserti64x4(_mm512_castsi256_si512(qh), _mm256_srli_epi16(qh, 2), 1);
                /* elements 0..63 of this half, then 64..127, as unsigned 0..63 */
                q01[r] = _mm512_or_si512(_mm512_and_si512(ql, m4),
                                         _mm512_slli_epi16(_mm512_and_si512(qh2, m2), 4));
                q23[r] = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(ql, 4), m4),
                                         _mm512_slli_epi16(_mm512_and_si512(_mm512_srli_epi16(qh2, 4), m2), 4));
                s01[r] = _mm512_permutexvar_epi16(i01, sc16[r]);
                s23[r] = _mm512_permutexvar_epi16(i23, sc16[r]);
            }
            UNR for (int t = 0; t < T; t++) {
                const blk_q8_k *b = (const blk_q8_k *)(X + t * xs) + i;
                __m512i y01 = _mm512_loadu_si512(b->qs + (size_t)128 * h);
                __m512i y23 = _mm512_loadu_si512(b->qs + (size_t)128 * h + 64);
                UNR for (int r = 0; r < R; r++) {
                    sumi[r][t] = _mm512_dpwssd_epi32(sumi[r][t], _mm512_maddubs_epi16(q01[r], y01), s01[r]);
                    sumi[r][t] = _mm512_dpwssd_epi32(sumi[r][t], _mm512_maddubs_epi16(q23[r], y23), s23[r]);
                }
            }
        }
        UNR for (int r = 0; r < R; r++)
            UNR for (int t = 0; t < T; t++)
                acc[r][t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(sumi[r][t]), _mm512_set1_ps(dw[r] * yd[t]),
                                            acc[r][t]);
    }
    UNR for (int r = 0; r < R; r++)
        UNR for (int t = 0; t < T; t++) res[r * MAXT + t] = hsum16(acc[r][t]);
}

/* clang-format on */

/* ---- activation quantizers: bit-identical to the scalar ones (same float
 * operations, round-to-nearest-even conversions) ---- */

static void act_q8_0(const float *x, void *dst, int64_t n)
{
    blk_q8_0 *b = dst;
    const __m512 sign = _mm512_set1_ps(-0.0f);
    for (int64_t i = 0; i < n / QK32; i++, x += QK32) {
        __m512 v0 = _mm512_loadu_ps(x), v1 = _mm512_loadu_ps(x + 16);
        __m512 a = _mm512_max_ps(_mm512_andnot_ps(sign, v0), _mm512_andnot_ps(sign, v1));
        float amax = _mm512_reduce_max_ps(a);
        float d = amax / 127.0f;
        float id = d != 0.0f ? 1.0f / d : 0.0f;
        b[i].d = sw_f32_to_fp16(d);
        __m512 vid = _mm512_set1_ps(id);
        __m128i q0 = _mm512_cvtsepi32_epi8(_mm512_cvtps_epi32(_mm512_mul_ps(v0, vid)));
        __m128i q1 = _mm512_cvtsepi32_epi8(_mm512_cvtps_epi32(_mm512_mul_ps(v1, vid)));
        _mm_storeu_si128((__m128i *)b[i].qs, q0);
        _mm_storeu_si128((__m128i *)(b[i].qs + 16), q1);
    }
}

static void act_q8_1(const float *x, void *dst, int64_t n)
{
    blk_q8_1 *b = dst;
    const __m512 sign = _mm512_set1_ps(-0.0f);
    for (int64_t i = 0; i < n / QK32; i++, x += QK32) {
        __m512 v0 = _mm512_loadu_ps(x), v1 = _mm512_loadu_ps(x + 16);
        __m512 a = _mm512_max_ps(_mm512_andnot_ps(sign, v0), _mm512_andnot_ps(sign, v1));
        float amax = _mm512_reduce_max_ps(a);
        float d = amax / 127.0f;
        float id = d != 0.0f ? 1.0f / d : 0.0f;
        __m512 vid = _mm512_set1_ps(id);
        __m512i i0 = _mm512_cvtps_epi32(_mm512_mul_ps(v0, vid));
        __m512i i1 = _mm512_cvtps_epi32(_mm512_mul_ps(v1, vid));
        _mm_storeu_si128((__m128i *)b[i].qs, _mm512_cvtsepi32_epi8(i0));
        _mm_storeu_si128((__m128i *)(b[i].qs + 16), _mm512_cvtsepi32_epi8(i1));
        int sum = _mm512_reduce_add_epi32(_mm512_add_epi32(i0, i1));
        b[i].d = sw_f32_to_fp16(d);
        b[i].s = sw_f32_to_fp16((float)sum * d);
    }
}

static void act_q8_k(const float *x, void *dst, int64_t n)
{
    blk_q8_k *b = dst;
    const __m512 sign = _mm512_set1_ps(-0.0f);
    for (int64_t i = 0; i < n / QKK; i++, x += QKK) {
        __m512 a = _mm512_setzero_ps();
        for (int k = 0; k < 16; k++)
            a = _mm512_max_ps(a, _mm512_andnot_ps(sign, _mm512_loadu_ps(x + (size_t)16 * k)));
        float amax = _mm512_reduce_max_ps(a);
        if (amax == 0.0f) {
            memset(&b[i], 0, sizeof(b[i]));
            continue;
        }
        /* the first element of largest magnitude gives the sign, as in the
         * scalar loop (which keeps the first strict maximum) */
        __m512 va = _mm512_set1_ps(amax);
        float max = 0.0f;
        for (int k = 0; k < 16; k++) {
            __mmask16 m = _mm512_cmp_ps_mask(
                _mm512_andnot_ps(sign, _mm512_loadu_ps(x + (size_t)16 * k)), va, _CMP_EQ_OQ);
            if (m) {
                max = x[16 * k + __builtin_ctz(m)];
                break;
            }
        }
        float iscale = -127.0f / max;
        __m512 vs = _mm512_set1_ps(iscale);
        const __m512i lim = _mm512_set1_epi32(127);
        for (int k = 0; k < 16; k++) {
            __m512i q = _mm512_min_epi32(
                _mm512_cvtps_epi32(_mm512_mul_ps(_mm512_loadu_ps(x + (size_t)16 * k), vs)), lim);
            _mm_storeu_si128((__m128i *)(b[i].qs + (size_t)16 * k), _mm512_cvtsepi32_epi8(q));
            b[i].bsums[k] = (int16_t)_mm512_reduce_add_epi32(q);
        }
        b[i].d = 1.0f / iscale;
    }
}

static void act_bf16(const float *x, void *dst, int64_t n)
{
    uint16_t *h = dst;
    int64_t i = 0;
    const __m512i one = _mm512_set1_epi32(1), bias = _mm512_set1_epi32(0x7fff);
    const __m512i absmask = _mm512_set1_epi32(0x7fffffff), inf = _mm512_set1_epi32(0x7f800000);
    for (; i + 16 <= n; i += 16) {
        __m512i u = _mm512_loadu_si512(x + i);
        __m512i r =
            _mm512_srli_epi32(_mm512_add_epi32(_mm512_add_epi32(u, bias),
                                               _mm512_and_si512(_mm512_srli_epi32(u, 16), one)),
                              16);
        /* NaN: keep it a (quiet) NaN */
        __mmask16 nan = _mm512_cmpgt_epi32_mask(_mm512_and_si512(u, absmask), inf);
        r = _mm512_mask_mov_epi32(
            r, nan, _mm512_or_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(0x40)));
        _mm256_storeu_si256((__m256i *)(h + i), _mm512_cvtepi32_epi16(r));
    }
    for (; i < n; i++)
        h[i] = sw_f32_to_bf16(x[i]);
}

/* ---- tiles ---- */

/*
 * One tile: generation (nt == 1) walks rows 4 at a time (4 weight streams
 * against one activation row); prompt batches walk rows 2 at a time against
 * 4 tokens. Each (R, T) is its own instantiation of the kernel.
 */
#define AVX512_TILE(name)                                                                          \
    static void rt_##name(int R, int T, KARGS)                                                     \
    {                                                                                              \
        switch (R * 8 + T) {                                                                       \
        case 4 * 8 + 1:                                                                            \
            k_##name(n, W, ws, X, xs, res, 4, 1);                                                  \
            break;                                                                                 \
        case 2 * 8 + 4:                                                                            \
            k_##name(n, W, ws, X, xs, res, 2, 4);                                                  \
            break;                                                                                 \
        case 2 * 8 + 3:                                                                            \
            k_##name(n, W, ws, X, xs, res, 2, 3);                                                  \
            break;                                                                                 \
        case 2 * 8 + 2:                                                                            \
            k_##name(n, W, ws, X, xs, res, 2, 2);                                                  \
            break;                                                                                 \
        case 2 * 8 + 1:                                                                            \
            k_##name(n, W, ws, X, xs, res, 2, 1);                                                  \
            break;                                                                                 \
        case 1 * 8 + 4:                                                                            \
            k_##name(n, W, ws, X, xs, res, 1, 4);                                                  \
            break;                                                                                 \
        case 1 * 8 + 3:                                                                            \
            k_##name(n, W, ws, X, xs, res, 1, 3);                                                  \
            break;                                                                                 \
        case 1 * 8 + 2:                                                                            \
            k_##name(n, W, ws, X, xs, res, 1, 2);                                                  \
            break;                                                                                 \
        default:                                                                                   \
            k_##name(n, W, ws, X, xs, res, 1, 1);                                                  \
            break;                                                                                 \
        }                                                                                          \
    }                                                                                              \
    static void tile_##name(int64_t n, const uint8_t *W, size_t ws, int64_t nr, const uint8_t *X,  \
                            size_t xs, int64_t nt, float *out, int64_t os)                         \
    {                                                                                              \
        float res[MAXR * MAXT];                                                                    \
        int rb = nt == 1 ? 4 : 2;                                                                  \
        for (int64_t r = 0; r < nr;) {                                                             \
            int R = nr - r >= rb ? rb : 1;                                                         \
            for (int64_t t = 0; t < nt; t += 4) {                                                  \
                int T = nt - t >= 4 ? 4 : (int)(nt - t);                                           \
                rt_##name(R, T, n, W + r * ws, ws, X + t * xs, xs, res);                           \
                for (int i = 0; i < R; i++)                                                        \
                    UNR for (int k = 0; k < T; k++) out[(t + k) * os + r + i] = res[i * MAXT + k]; \
            }                                                                                      \
            r += R;                                                                                \
        }                                                                                          \
    }
AVX512_TILE(f32)
AVX512_TILE(f16)
AVX512_TILE(bf16)
AVX512_TILE(q8_0)
AVX512_TILE(q4_0)
AVX512_TILE(q5_0)
AVX512_TILE(q4_1)
AVX512_TILE(q5_1)
AVX512_TILE(q4_k)
AVX512_TILE(q6_k)
AVX512_TILE(q5_k)
AVX512_TILE(iq4_nl)

#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif

/* Q5_K and IQ4_NL have AVX-512 kernels; Q2_K, Q3_K and IQ4_XS use the AVX2 tiles. */
#define AVX512_MORE_TILES                                                                          \
    [SW_TYPE_Q5_K] = tile_q5_k, [SW_TYPE_Q2_K] = sw_avx2_tile_q2_k,                                \
    [SW_TYPE_Q3_K] = sw_avx2_tile_q3_k, [SW_TYPE_IQ4_NL] = tile_iq4_nl,                            \
    [SW_TYPE_IQ4_XS] = sw_avx2_tile_iq4_xs,

static const sw_kernel_table table_avx512 = {
    .name = "avx512",
    .tile =
        {
            [SW_TYPE_F32] = tile_f32,
            [SW_TYPE_F16] = tile_f16,
            [SW_TYPE_BF16] = tile_bf16,
            [SW_TYPE_Q8_0] = tile_q8_0,
            [SW_TYPE_Q4_0] = tile_q4_0,
            [SW_TYPE_Q5_0] = tile_q5_0,
            [SW_TYPE_Q4_1] = tile_q4_1,
            [SW_TYPE_Q5_1] = tile_q5_1,
            [SW_TYPE_Q4_K] = tile_q4_k,
            [SW_TYPE_Q6_K] = tile_q6_k,
            AVX512_MORE_TILES
        },
    .act = {[SW_ACT_Q8_0] = act_q8_0,
            [SW_ACT_Q8_K] = act_q8_k,
            [SW_ACT_BF16] = act_bf16,
            [SW_ACT_Q8_1] = act_q8_1},
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
            [SW_TYPE_Q5_0] = tile_q5_0,
            [SW_TYPE_Q4_1] = tile_q4_1,
            [SW_TYPE_Q5_1] = tile_q5_1,
            [SW_TYPE_Q4_K] = tile_q4_k,
            [SW_TYPE_Q6_K] = tile_q6_k,
            AVX512_MORE_TILES
        },
    /* the same activation quantizers as table_avx512 (they did not fall
     * back to the scalar ones on purpose) */
    .act = {[SW_ACT_Q8_0] = act_q8_0,
            [SW_ACT_Q8_K] = act_q8_k,
            [SW_ACT_BF16] = act_bf16,
            [SW_ACT_Q8_1] = act_q8_1},
};

/* avx512 plus AMX for prompt batches (needs AVX512_BF16 too: the CPUs
 * with AMX all have it). */
static const sw_kernel_table table_amx = {
    .name = "amx",
    .amx = true,
    .tile =
        {
            [SW_TYPE_F32] = tile_f32,
            [SW_TYPE_F16] = tile_f16,
            [SW_TYPE_BF16] = tile_bf16,
            [SW_TYPE_Q8_0] = tile_q8_0,
            [SW_TYPE_Q4_0] = tile_q4_0,
            [SW_TYPE_Q5_0] = tile_q5_0,
            [SW_TYPE_Q4_1] = tile_q4_1,
            [SW_TYPE_Q5_1] = tile_q5_1,
            [SW_TYPE_Q4_K] = tile_q4_k,
            [SW_TYPE_Q6_K] = tile_q6_k,
            AVX512_MORE_TILES
        },
    .act = {[SW_ACT_Q8_0] = act_q8_0,
            [SW_ACT_Q8_K] = act_q8_k,
            [SW_ACT_BF16] = act_bf16,
            [SW_ACT_Q8_1] = act_q8_1},
};

const sw_kernel_table *sw_kernels_amx(void)
{
    const sw_kernel_table *t = sw_kernels_avx512();
    if (t != &table_avx512 || !sw_amx_available()) return NULL;
    return &table_amx;
}

const sw_kernel_table *sw_kernels_avx512(void)
{
    __builtin_cpu_init();
    if (!(__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
          __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
          __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx2") &&
          __builtin_cpu_supports("fma") && sw_cpu_has_f16c()))
        return NULL;
    return __builtin_cpu_supports("avx512bf16") ? &table_avx512 : &table_avx512_nobf16;
}

#else
const sw_kernel_table *sw_kernels_avx512(void)
{
    return NULL;
}
const sw_kernel_table *sw_kernels_amx(void)
{
    return NULL;
}
#endif
