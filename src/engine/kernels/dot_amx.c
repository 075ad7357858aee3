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

#define KCHUNK 64 /* blocks of 32 unpacked at a time: 16 x 2048 bytes on the stack */

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
        bool ok = __builtin_cpu_supports("amx-tile") && __builtin_cpu_supports("amx-int8") &&
                  __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                  __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
                  __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("f16c");
        if (ok) ok = syscall(SYS_ARCH_PRCTL_X86_64, ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA) == 0;
        s = ok ? 1 : -1;
        atomic_store(&amx_state, s);
    }
    return s == 1;
}

#pragma GCC push_options
#pragma GCC target("amx-tile,amx-int8,avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,avx2,fma,f16c")

typedef struct {
    uint8_t palette, start_row;
    uint8_t reserved[14];
    uint16_t colsb[16];
    uint8_t rows[16];
} __attribute__((packed)) tile_config;

static inline float h2f(uint16_t h) { return _cvtsh_ss(h); }

void sw_amx_pack_group(const uint8_t *X, size_t xs, int64_t n_tok, int64_t nb, int64_t g,
                       uint8_t *dst)
{
    uint8_t *B = dst + (size_t)g * (size_t)nb * SW_AMX_GROUP_BYTES;
    float *S = (float *)(B + (size_t)nb * 512);
    memset(B, 0, (size_t)nb * SW_AMX_GROUP_BYTES);
    for (int t = 0; t < 16 && 16 * g + t < n_tok; t++) {
        const blk_q8_0 *x = (const blk_q8_0 *)(X + (size_t)(16 * g + t) * xs);
        for (int64_t i = 0; i < nb; i++) {
            /* B[k/4][t*4 + k%4] = x[k]: 4 consecutive k of a token are one dword */
            uint8_t *Bi = B + (size_t)i * 512 + 4 * t;
            for (int k4 = 0; k4 < 8; k4++) memcpy(Bi + 64 * k4, x[i].qs + 4 * k4, 4);
            S[i * 16 + t] = h2f(x[i].d);
        }
    }
}

/* Rows [0, 16) of W (type Q8_0/Q4_0/Q5_0), blocks [i0, i0 + n), as signed
 * bytes A[i][row][32] and float scales D[i][row]. */
static void unpack_rows(uint32_t type, const uint8_t *W, size_t ws, int64_t i0, int64_t n,
                        int8_t (*A)[16][32], float (*D)[16])
{
    const __m128i m4 = _mm_set1_epi8(0xF);
    for (int r = 0; r < 16; r++) {
        const uint8_t *row = W + (size_t)r * ws;
        for (int64_t i = 0; i < n; i++) {
            if (type == SW_TYPE_Q8_0) {
                const blk_q8_0 *b = (const blk_q8_0 *)row + i0 + i;
                _mm256_storeu_si256((__m256i *)A[i][r], _mm256_loadu_si256((const __m256i *)b->qs));
                D[i][r] = h2f(b->d);
            } else if (type == SW_TYPE_Q4_0) {
                const blk_q4_0 *b = (const blk_q4_0 *)row + i0 + i;
                __m128i v = _mm_loadu_si128((const __m128i *)b->qs);
                __m256i q = _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(v, 4), m4), _mm_and_si128(v, m4));
                _mm256_storeu_si256((__m256i *)A[i][r], _mm256_sub_epi8(q, _mm256_set1_epi8(8)));
                D[i][r] = h2f(b->d);
            } else {
                const blk_q5_0 *b = (const blk_q5_0 *)row + i0 + i;
                __m128i v = _mm_loadu_si128((const __m128i *)b->qs);
                __m256i q = _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(v, 4), m4), _mm_and_si128(v, m4));
                uint32_t h;
                memcpy(&h, b->qh, 4);
                q = _mm256_or_si256(q, _mm256_maskz_mov_epi8((__mmask32)h, _mm256_set1_epi8(0x10)));
                _mm256_storeu_si256((__m256i *)A[i][r], _mm256_sub_epi8(q, _mm256_set1_epi8(16)));
                D[i][r] = h2f(b->d);
            }
        }
    }
}

void sw_amx_gemm_rows(uint32_t type, const uint8_t *W, size_t ws, int64_t cols,
                      const uint8_t *packed, int64_t n_tok, float *out, int64_t os)
{
    int64_t nb = cols / QK32, n_groups = (n_tok + 15) / 16;
    int8_t A[KCHUNK][16][32] __attribute__((aligned(64)));
    float D[KCHUNK][16] __attribute__((aligned(64)));
    int32_t C[16][16] __attribute__((aligned(64)));
    tile_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.palette = 1;
    cfg.rows[0] = 16; /* C: 16 weight rows x 16 tokens, int32 */
    cfg.colsb[0] = 64;
    cfg.rows[1] = 16; /* A: 16 rows x 32 bytes */
    cfg.colsb[1] = 32;
    cfg.rows[2] = 8; /* B: 32 / 4 rows x (16 tokens x 4 bytes) */
    cfg.colsb[2] = 64;
    _tile_loadconfig(&cfg);
    for (int64_t i0 = 0; i0 < nb; i0 += KCHUNK) {
        int64_t n = nb - i0 < KCHUNK ? nb - i0 : KCHUNK;
        unpack_rows(type, W, ws, i0, n, A, D);
        for (int64_t g = 0; g < n_groups; g++) {
            const uint8_t *B = packed + (size_t)g * (size_t)nb * SW_AMX_GROUP_BYTES;
            const float *S = (const float *)(B + (size_t)nb * 512);
            __m512 acc[16];
            for (int r = 0; r < 16; r++) acc[r] = _mm512_setzero_ps();
            for (int64_t i = 0; i < n; i++) {
                _tile_zero(0);
                _tile_loadd(1, A[i], 32);
                _tile_loadd(2, B + (size_t)(i0 + i) * 512, 64);
                _tile_dpbssd(0, 1, 2);
                _tile_stored(0, C, 64);
                __m512 sx = _mm512_loadu_ps(S + (i0 + i) * 16);
                for (int r = 0; r < 16; r++)
                    acc[r] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_load_si512(C[r])),
                                             _mm512_mul_ps(sx, _mm512_set1_ps(D[i][r])), acc[r]);
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

#pragma GCC pop_options

#else
bool sw_amx_available(void) { return false; }
void sw_amx_pack_group(const uint8_t *X, size_t xs, int64_t n_tok, int64_t nb, int64_t g,
                       uint8_t *dst)
{
}
void sw_amx_gemm_rows(uint32_t type, const uint8_t *W, size_t ws, int64_t cols,
                      const uint8_t *packed, int64_t n_tok, float *out, int64_t os)
{
}
#endif
