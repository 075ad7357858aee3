/*
 * dot_amx.c: prompt batches on Intel AMX (tile registers, TDPBSSD) for the
 * weight types that take Q8_0 activations (Q8_0, Q4_0, Q5_0). One call
 * computes 16 weight rows against every token: the rows are unpacked to
 * signed bytes once per 2048 columns, the tokens come repacked 16 at a time
 * in the tile (VNNI) layout, and each 16 x 16 x 32 block product is scaled
 * by its block scales in AVX-512, exactly as the dot-product kernels do.
 */
#include <string.h>
#include <unistd.h>

#include "kernels_int.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#include <stdatomic.h>

#define KCHUNK 64 /* 2048 columns unpacked at a time: 16 x 2048 bytes on the stack */

/* Linux: a process must ask for the AMX tile state before using it
 * (arch_prctl(ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA)). The raw syscall
 * number keeps <sys/...> headers out of this module. */
#define SYS_ARCH_PRCTL_X86_64 158
#define ARCH_REQ_XCOMP_PERM 0x1023
#define XFEATURE_XTILEDATA 18

static _Atomic int amx_state; /* 0 unknown, 1 usable, -1 not: asked once per process */

bool sw_amx_available(void)
{
    int s = atomic_load(&amx_state);
    if (s == 0) {
        __builtin_cpu_init();
        bool ok = sw_cpu_has_amx_int8() && __builtin_cpu_supports("avx512f") &&
                  __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
                  __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vnni") &&
                  sw_cpu_has_f16c();
        if (ok) ok = syscall(SYS_ARCH_PRCTL_X86_64, ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA) == 0;
        s = ok ? 1 : -1;
        atomic_store(&amx_state, s);
    }
    return s == 1;
}

/* clang has no GCC target pragma; its attribute pragma does the same */
#if defined(__clang__)
#pragma clang attribute push(                                                                      \
    __attribute__((                                                                                \
        target("amx-tile,amx-int8,avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,avx2,fma,f16c"))), \
    apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("amx-tile,amx-int8,avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,avx2,fma,f16c")
#endif

typedef struct {
    uint8_t palette, start_row;
    uint8_t reserved[14];
    uint16_t colsb[16];
    uint8_t rows[16];
} __attribute__((packed)) tile_config;

static inline float h2f(uint16_t h)
{
    return _cvtsh_ss(h);
}

/*
 * Formats. A "block" here is the unit one tile product covers: 32 values
 * (Q8_0, Q4_0, Q5_0 blocks and Q4_K sub-blocks). Per token group and block,
 * the packed activations hold kb * 16 bytes of tile data (kb / 4 rows of 16
 * tokens x 4 bytes), the 16 tokens' scales, and for Q4_K the 16 tokens'
 * scale * (sum of the block's activations), which the mins multiply.
 * Q6_K is left to the AVX-512 kernel: its scales change every 16 values,
 * and 16-deep tile products measured slower than the VNNI kernel.
 */
static int amx_kb(uint32_t type)
{
    (void)type;
    return 32;
}
static bool amx_mins(uint32_t type)
{
    return type == SW_TYPE_Q4_K;
}
static size_t amx_block_bytes(uint32_t type)
{
    return (size_t)amx_kb(type) * 16 + 64 + (amx_mins(type) ? 64 : 0);
}

bool sw_amx_type(uint32_t type)
{
    return type == SW_TYPE_Q8_0 || type == SW_TYPE_Q4_0 || type == SW_TYPE_Q5_0 ||
           type == SW_TYPE_Q4_K;
}

size_t sw_amx_bytes(uint32_t type, int64_t cols, int64_t n_tok)
{
    return (size_t)((n_tok + 15) / 16) * (size_t)(cols / amx_kb(type)) * amx_block_bytes(type);
}

void sw_amx_pack_group(uint32_t type, const uint8_t *X, size_t xs, int64_t n_tok, int64_t cols,
                       int64_t g, uint8_t *dst)
{
    int kb = amx_kb(type);
    int64_t nb = cols / kb;
    size_t tb = (size_t)kb * 16;
    uint8_t *B = dst + (size_t)g * (size_t)nb * amx_block_bytes(type);
    float *S = (float *)(B + (size_t)nb * tb);
    float *YS = S + nb * 16;
    memset(B, 0, (size_t)nb * amx_block_bytes(type));
    for (int t = 0; t < 16 && 16 * g + t < n_tok; t++) {
        const uint8_t *row = X + (size_t)(16 * g + t) * xs;
        for (int64_t i = 0; i < nb; i++) {
            const int8_t *qs;
            float d, ys = 0.0f;
            if (type == SW_TYPE_Q4_K) {
                const blk_q8_k *x = (const blk_q8_k *)row + (i * kb) / QKK;
                int j = (int)((i * kb) % QKK) / kb;
                qs = x->qs + (size_t)kb * (size_t)j;
                d = x->d;
                if (type == SW_TYPE_Q4_K)
                    ys = d * (float)(x->bsums[(size_t)2 * j] + x->bsums[(size_t)2 * j + 1]);
            } else {
                const blk_q8_0 *x = (const blk_q8_0 *)row + i;
                qs = x->qs;
                d = h2f(x->d);
            }
            /* B[k/4][t*4 + k%4] = x[k]: 4 consecutive k of a token are one dword */
            uint8_t *Bi = B + (size_t)i * tb + (size_t)4 * t;
            for (int k4 = 0; k4 < kb / 4; k4++)
                memcpy(Bi + (size_t)64 * k4, qs + (size_t)4 * k4, 4);
            S[i * 16 + t] = d;
            if (amx_mins(type)) YS[i * 16 + t] = ys;
        }
    }
}

/* Rows [0, 16) of W, blocks [i0, i0 + n), as bytes A[(i*16 + row)*kb + k]
 * (signed, except Q4_K's unsigned nibbles), scales D[i][row] and, for Q4_K,
 * mins M[i][row]. */
static void unpack_rows(uint32_t type, const uint8_t *W, size_t ws, int64_t i0, int64_t n,
                        int8_t *A, float (*D)[16], float (*M)[16])
{
    const __m128i m4 = _mm_set1_epi8(0xF);
    int kb = amx_kb(type);
    for (int r = 0; r < 16; r++) {
        const uint8_t *row = W + (size_t)r * ws;
        for (int64_t i = 0; i < n; i++) {
            int8_t *a = A + (i * 16 + r) * kb;
            int64_t bi = i0 + i;
            if (type == SW_TYPE_Q8_0) {
                const blk_q8_0 *b = (const blk_q8_0 *)row + bi;
                _mm256_storeu_si256((__m256i *)a, _mm256_loadu_si256((const __m256i *)b->qs));
                D[i][r] = h2f(b->d);
            } else if (type == SW_TYPE_Q4_0 || type == SW_TYPE_Q5_0) {
                const uint8_t *qs;
                uint16_t dh;
                __m256i off;
                uint32_t h = 0;
                if (type == SW_TYPE_Q4_0) {
                    const blk_q4_0 *b = (const blk_q4_0 *)row + bi;
                    qs = b->qs;
                    dh = b->d;
                    off = _mm256_set1_epi8(8);
                } else {
                    const blk_q5_0 *b = (const blk_q5_0 *)row + bi;
                    qs = b->qs;
                    dh = b->d;
                    memcpy(&h, b->qh, 4);
                    off = _mm256_set1_epi8(16);
                }
                __m128i v = _mm_loadu_si128((const __m128i *)qs);
                __m256i q =
                    _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(v, 4), m4), _mm_and_si128(v, m4));
                q = _mm256_or_si256(q, _mm256_maskz_mov_epi8((__mmask32)h, _mm256_set1_epi8(0x10)));
                _mm256_storeu_si256((__m256i *)a, _mm256_sub_epi8(q, off));
                D[i][r] = h2f(dh);
            } else if (type == SW_TYPE_Q4_K) {
                const blk_q4_k *b = (const blk_q4_k *)row + bi / 8;
                int j = (int)(bi % 8);
                uint8_t sc, mn;
                sw_q4k_scale_min(j, b->scales, &sc, &mn);
                __m256i q = _mm256_loadu_si256((const __m256i *)(b->qs + (size_t)32 * (j / 2)));
                if (j & 1) q = _mm256_srli_epi16(q, 4);
                _mm256_storeu_si256((__m256i *)a, _mm256_and_si256(q, _mm256_set1_epi8(0xF)));
                D[i][r] = h2f(b->d) * (float)sc;
                M[i][r] = h2f(b->dmin) * (float)mn;
            }
        }
    }
}

/* acc[r] (16 tokens) += C[r] * D[r] * S (+ the mins term) */
static inline __attribute__((always_inline)) void scale_block(__m512 acc[16], int32_t C[16][16],
                                                              const float *S, const float *D,
                                                              bool mins, const float *YS,
                                                              const float *M)
{
    __m512 sx = _mm512_loadu_ps(S);
    for (int r = 0; r < 16; r++)
        acc[r] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_load_si512(C[r])),
                                 _mm512_mul_ps(sx, _mm512_set1_ps(D[r])), acc[r]);
    if (mins) {
        __m512 ys = _mm512_loadu_ps(YS);
        for (int r = 0; r < 16; r++)
            acc[r] = _mm512_fnmadd_ps(ys, _mm512_set1_ps(M[r]), acc[r]);
    }
}

void sw_amx_gemm_rows(uint32_t type, const uint8_t *W, size_t ws, int64_t cols,
                      const uint8_t *packed, int64_t n_tok, float *out, int64_t os)
{
    const int kb = amx_kb(type);
    const bool mins = amx_mins(type);
    const int64_t nb = cols / kb, n_groups = (n_tok + 15) / 16;
    const size_t tb = (size_t)kb * 16, gstride = (size_t)nb * amx_block_bytes(type);
    const int64_t chunk = KCHUNK * 32 / kb; /* 2048 columns */
    int8_t A[KCHUNK * 16 * 32] __attribute__((aligned(64)));
    float D[KCHUNK][16] __attribute__((aligned(64)));
    float M[KCHUNK][16] __attribute__((aligned(64)));
    int32_t C[2][16][16] __attribute__((aligned(64)));
    tile_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.palette = 1;
    cfg.rows[0] = 16; /* C: 16 weight rows x 16 tokens, int32 */
    cfg.colsb[0] = 64;
    cfg.rows[1] = 16; /* A: 16 rows x kb bytes */
    cfg.colsb[1] = (uint16_t)kb;
    cfg.rows[2] = (uint8_t)(kb / 4); /* B: kb / 4 rows x (16 tokens x 4 bytes) */
    cfg.colsb[2] = 64;
    for (int k = 3; k < 6; k++) { /* a second set: tiles 3, 4, 5 as 0, 1, 2 */
        cfg.rows[k] = cfg.rows[k - 3];
        cfg.colsb[k] = cfg.colsb[k - 3];
    }
    _tile_loadconfig(&cfg);
    for (int64_t i0 = 0; i0 < nb; i0 += chunk) {
        int64_t n = nb - i0 < chunk ? nb - i0 : chunk;
        unpack_rows(type, W, ws, i0, n, A, D, M);
        for (int64_t g = 0; g < n_groups; g++) {
            const uint8_t *B = packed + (size_t)g * gstride;
            const float *S = (const float *)(B + (size_t)nb * tb);
            const float *YS = S + nb * 16;
            __m512 acc[16];
            for (int r = 0; r < 16; r++)
                acc[r] = _mm512_setzero_ps();
            /* two blocks per step on two sets of tiles, so the tile unit
             * works on one product while the vector unit scales another */
            int64_t i = 0;
            for (; i + 2 <= n; i += 2) {
                _tile_zero(0);
                _tile_loadd(1, A + i * 16 * kb, kb);
                _tile_loadd(2, B + (size_t)(i0 + i) * tb, 64);
                _tile_zero(3);
                _tile_loadd(4, A + (i + 1) * 16 * kb, kb);
                _tile_loadd(5, B + (size_t)(i0 + i + 1) * tb, 64);
                if (type == SW_TYPE_Q4_K) {
                    _tile_dpbusd(0, 1, 2); /* unsigned nibbles x signed activations */
                    _tile_dpbusd(3, 4, 5);
                } else {
                    _tile_dpbssd(0, 1, 2);
                    _tile_dpbssd(3, 4, 5);
                }
                _tile_stored(0, C[0], 64);
                _tile_stored(3, C[1], 64);
                for (int h = 0; h < 2; h++)
                    scale_block(acc, C[h], S + (i0 + i + h) * 16, D[i + h], mins,
                                YS + (i0 + i + h) * 16, M[i + h]);
            }
            if (i < n) {
                _tile_zero(0);
                _tile_loadd(1, A + i * 16 * kb, kb);
                _tile_loadd(2, B + (size_t)(i0 + i) * tb, 64);
                if (type == SW_TYPE_Q4_K)
                    _tile_dpbusd(0, 1, 2);
                else
                    _tile_dpbssd(0, 1, 2);
                _tile_stored(0, C[0], 64);
                scale_block(acc, C[0], S + (i0 + i) * 16, D[i], mins, YS + (i0 + i) * 16, M[i]);
            }
            int nt = n_tok - 16 * g < 16 ? (int)(n_tok - 16 * g) : 16;
            for (int r = 0; r < 16; r++) {
                float v[16];
                _mm512_storeu_ps(v, acc[r]);
                for (int t = 0; t < nt; t++) {
                    float *o = out + (16 * g + t) * os + r;
                    *o = i0 == 0 ? v[t] : *o + v[t];
                }
            }
        }
    }
    _tile_release();
}

#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif

#else
bool sw_amx_available(void)
{
    return false;
}
bool sw_amx_type(uint32_t type)
{
    return false;
}
size_t sw_amx_bytes(uint32_t type, int64_t cols, int64_t n_tok)
{
    return 0;
}
void sw_amx_pack_group(uint32_t type, const uint8_t *X, size_t xs, int64_t n_tok, int64_t cols,
                       int64_t g, uint8_t *dst)
{
}
void sw_amx_gemm_rows(uint32_t type, const uint8_t *W, size_t ws, int64_t cols,
                      const uint8_t *packed, int64_t n_tok, float *out, int64_t os)
{
}
#endif
