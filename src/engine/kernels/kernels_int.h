/*
 * kernels_int.h: private to src/engine/kernels/: block layouts, the
 * activation formats the dot products consume, and the per-ISA tables of
 * tile kernels that matmul.c dispatches to. Never included outside kernels/.
 */
#ifndef SW_KERNELS_INT_H
#define SW_KERNELS_INT_H

#include "kernels.h"

#define QK32 32 /* Q4_0 / Q8_0 block */
#define QKK 256 /* K-quant super-block */

/* Block layouts as stored in GGUF (ggml); all packed, no padding. */
typedef struct {
    uint16_t d; /* fp16 scale */
    int8_t qs[QK32];
} blk_q8_0;
typedef struct {
    uint16_t d;           /* fp16 scale */
    uint8_t qs[QK32 / 2]; /* low nibble: element j, high nibble: element j+16 */
} blk_q4_0;
typedef struct {
    uint16_t d, m; /* fp16 scale and offset: x = q * d + m */
    uint8_t qs[QK32 / 2];
} blk_q4_1;
typedef struct {
    uint16_t d;
    uint8_t qh[4];        /* 5th bit of element j is bit j of qh (little-endian) */
    uint8_t qs[QK32 / 2]; /* low 4 bits, as Q4_0 */
} blk_q5_0;
typedef struct {
    uint16_t d, m;
    uint8_t qh[4];
    uint8_t qs[QK32 / 2];
} blk_q5_1;
typedef struct {
    uint16_t d, s; /* fp16 scale and d * sum(qs) */
    int8_t qs[QK32];
} blk_q8_1;
typedef struct {
    uint16_t d, dmin;    /* fp16 super-block scales for the scales and the mins */
    uint8_t scales[12];  /* 8 x (6-bit scale, 6-bit min), packed */
    uint8_t qs[QKK / 2]; /* per 64 elements: 32 bytes, low nibbles first 32 */
} blk_q4_k;
typedef struct {
    uint8_t ql[QKK / 2]; /* low 4 bits */
    uint8_t qh[QKK / 4]; /* high 2 bits */
    int8_t scales[QKK / 16];
    uint16_t d; /* fp16 super-block scale */
} blk_q6_k;
typedef struct {
    uint8_t scales[QKK / 16]; /* per 16 elements: low nibble scale, high nibble min */
    uint8_t qs[QKK / 4];      /* 2 bits each; per 128 elements 32 bytes, 4 shifts */
    uint16_t d, dmin;
} blk_q2_k;
typedef struct {
    uint8_t hmask[QKK / 8]; /* 3rd bit: element e is bit e/32 of hmask[e%32] (set: no -4) */
    uint8_t qs[QKK / 4];    /* low 2 bits, laid out as Q2_K */
    uint8_t scales[12];     /* 16 x 6-bit scales (+32), packed */
    uint16_t d;
} blk_q3_k;
typedef struct {
    uint16_t d, dmin;
    uint8_t scales[12];  /* as Q4_K */
    uint8_t qh[QKK / 8]; /* 5th bit: element 64c+l is bit 2c of qh[l], 64c+32+l bit 2c+1 */
    uint8_t qs[QKK / 2]; /* low 4 bits, laid out as Q4_K */
} blk_q5_k;
typedef struct {
    uint16_t d;
    uint8_t qs[QK32 / 2]; /* indices into sw_iq4nl_values, nibbles as Q4_0 */
} blk_iq4_nl;
typedef struct {
    uint16_t d;
    uint16_t scales_h;     /* high 2 bits of the 8 6-bit sub-block scales */
    uint8_t scales_l[4];   /* low 4 bits, two per byte */
    uint8_t qs[QKK / 2];   /* per 32 elements 16 bytes, nibbles as IQ4_NL */
} blk_iq4_xs;
typedef struct {
    float d;
    int8_t qs[QKK];
    int16_t bsums[QKK / 16]; /* sums of qs in groups of 16 */
} blk_q8_k;

_Static_assert(sizeof(blk_q8_0) == 34, "q8_0 layout");
_Static_assert(sizeof(blk_q4_0) == 18, "q4_0 layout");
_Static_assert(sizeof(blk_q4_k) == 144, "q4_k layout");
_Static_assert(sizeof(blk_q4_1) == 20, "q4_1 layout");
_Static_assert(sizeof(blk_q5_0) == 22, "q5_0 layout");
_Static_assert(sizeof(blk_q5_1) == 24, "q5_1 layout");
_Static_assert(sizeof(blk_q8_1) == 36, "q8_1 layout");
_Static_assert(sizeof(blk_q6_k) == 210, "q6_k layout");
_Static_assert(sizeof(blk_q8_k) == 292, "q8_k layout");
_Static_assert(sizeof(blk_q2_k) == 84, "q2_k layout");
_Static_assert(sizeof(blk_q3_k) == 110, "q3_k layout");
_Static_assert(sizeof(blk_q5_k) == 176, "q5_k layout");
_Static_assert(sizeof(blk_iq4_nl) == 18, "iq4_nl layout");
_Static_assert(sizeof(blk_iq4_xs) == 136, "iq4_xs layout");

/* The 16 levels of IQ4_NL / IQ4_XS (ggml's kvalues_iq4nl). */
static const int8_t sw_iq4nl_values[16] = {-127, -104, -83, -65, -49, -35, -22, -10,
                                           1,    13,   25,  38,  53,  69,  89,  113};

/* The 16 signed 6-bit scales of a Q3_K block (-32..31), unpacked. */
static inline void sw_q3k_scales(const uint8_t sc[12], int8_t out[16])
{
    for (int j = 0; j < 16; j++) {
        int lo = j < 8 ? (sc[j] & 0xF) : (sc[j - 8] >> 4);
        int hi = (sc[8 + j % 4] >> (2 * (j / 4))) & 3;
        out[j] = (int8_t)((lo | hi << 4) - 32);
    }
}

/* Scale (6-bit, unsigned) of sub-block ib (0..7) of an IQ4_XS block, minus 32. */
static inline int sw_iq4xs_scale(const blk_iq4_xs *b, int ib)
{
    int ls = ((b->scales_l[ib / 2] >> (4 * (ib % 2))) & 0xF) | (((b->scales_h >> (2 * ib)) & 3) << 4);
    return ls - 32;
}

/* Unpacks the 6-bit scale and min of sub-block j (0..7) of a Q4_K block. */
static inline void sw_q4k_scale_min(int j, const uint8_t *q, uint8_t *sc, uint8_t *m)
{
    if (j < 4) {
        *sc = q[j] & 63;
        *m = q[j + 4] & 63;
    } else {
        *sc = (uint8_t)((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
        *m = (uint8_t)((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
    }
}

/* CPU features __builtin_cpu_supports does not name in every compiler
 * (clang 14 knows neither f16c nor AMX). */
#if defined(__x86_64__) && defined(__GNUC__)
#include <cpuid.h>
static inline bool sw_cpu_has_f16c(void)
{
    unsigned a, b, c, d;
    return __get_cpuid(1, &a, &b, &c, &d) && ((c >> 29) & 1);
}
static inline bool sw_cpu_has_amx_int8(void)
{
    unsigned a, b, c, d;
    /* CPUID.7.0:EDX bit 24 AMX-TILE, bit 25 AMX-INT8 */
    return __get_cpuid_count(7, 0, &a, &b, &c, &d) && ((d >> 24) & 1) && ((d >> 25) & 1);
}
#endif

/* Software prefetch distance for weight streams. Measured on the dev VM
 * (Sapphire Rapids class): without it a matvec reached ~60% of a plain read
 * loop's bandwidth, with 2 KiB ahead it beats that loop (docs/performance.md). */
#define SW_PF_BYTES 2048
static inline void sw_prefetch(const void *p, int off)
{
    __builtin_prefetch((const char *)p + SW_PF_BYTES + off, 0, 3);
}

/* The format activations are converted to before the dot product. */
enum sw_act {
    SW_ACT_F32,  /* used as is */
    SW_ACT_Q8_0, /* blk_q8_0 per 32 */
    SW_ACT_Q8_K, /* blk_q8_k per 256 */
    SW_ACT_BF16, /* uint16_t per element */
    SW_ACT_Q8_1, /* blk_q8_1 per 32 (for Q4_1 / Q5_1: their offsets need sum(x)) */
    SW_ACT_COUNT
};
enum sw_act sw_act_of(uint32_t type);
/* Bytes of one converted activation row of n elements. */
size_t sw_act_row_bytes(enum sw_act a, int64_t n);

/* Activation quantizers (scalar, the reference; SIMD tables may override). */
void sw_quantize_q8_0_ref(const float *x, void *dst, int64_t n);
void sw_quantize_q8_k_ref(const float *x, void *dst, int64_t n);
void sw_quantize_bf16_ref(const float *x, void *dst, int64_t n);
void sw_quantize_q8_1_ref(const float *x, void *dst, int64_t n);

/*
 * A tile kernel: out[t*out_stride + r] = dot(W row r, activation row t) for
 * r < nr, t < nt. W rows are w_stride bytes apart, activation rows x_stride
 * bytes apart (in the type's activation format), n = columns.
 */
typedef void (*sw_tile_fn)(int64_t n, const uint8_t *W, size_t w_stride, int64_t nr,
                           const uint8_t *X, size_t x_stride, int64_t nt, float *out,
                           int64_t out_stride);
typedef void (*sw_act_fn)(const float *x, void *dst, int64_t n);

typedef struct sw_kernel_table {
    const char *name;
    bool amx;                       /* prompt batches of Q8_0 / Q4_0 / Q5_0 go to the AMX GEMM */
    sw_tile_fn tile[SW_TYPE_COUNT]; /* NULL: fall back to the reference */
    sw_act_fn act[SW_ACT_COUNT];    /* per enum sw_act; NULL: reference */
} sw_kernel_table;

extern const sw_kernel_table sw_kernels_ref;
/* NULL when the build has no such path. */
const sw_kernel_table *sw_kernels_avx2(void);
const sw_kernel_table *sw_kernels_avx512(void);

/* AVX2 tiles, reused by the AVX-512 table where it has nothing better. */
#define SW_TILE_DECL(name)                                                                         \
    void name(int64_t n, const uint8_t *W, size_t ws, int64_t nr, const uint8_t *X, size_t xs,     \
              int64_t nt, float *out, int64_t os)
SW_TILE_DECL(sw_avx2_tile_f32);
SW_TILE_DECL(sw_avx2_tile_f16);
SW_TILE_DECL(sw_avx2_tile_bf16);
SW_TILE_DECL(sw_avx2_tile_q8_0);
SW_TILE_DECL(sw_avx2_tile_q4_0);
SW_TILE_DECL(sw_avx2_tile_q4_k);
SW_TILE_DECL(sw_avx2_tile_q6_k);
SW_TILE_DECL(sw_avx2_tile_q5_0);
SW_TILE_DECL(sw_avx2_tile_q4_1);
SW_TILE_DECL(sw_avx2_tile_q5_1);
SW_TILE_DECL(sw_avx2_tile_q5_k);
SW_TILE_DECL(sw_avx2_tile_q2_k);
SW_TILE_DECL(sw_avx2_tile_q3_k);
SW_TILE_DECL(sw_avx2_tile_iq4_nl);
SW_TILE_DECL(sw_avx2_tile_iq4_xs);

/* ---- AMX (dot_amx.c) ---- */
/* True when the CPU has AMX-INT8 and the OS granted the tile state (asked
 * once per process). */
bool sw_amx_available(void);
/* Weight types the AMX GEMM takes (Q8_0, Q4_0, Q5_0, Q4_K). */
bool sw_amx_type(uint32_t type);
/* Bytes of the repacked activations of n_tok rows of cols. */
size_t sw_amx_bytes(uint32_t type, int64_t cols, int64_t n_tok);
/* Repacks tokens [16g, 16g + 16) of the activation rows X (the type's
 * usual format, stride xs) into group g of dst (zero-padded past n_tok). */
void sw_amx_pack_group(uint32_t type, const uint8_t *X, size_t xs, int64_t n_tok, int64_t cols,
                       int64_t g, uint8_t *dst);
/* out[t * os + r] for 16 weight rows starting at W, every token. */
void sw_amx_gemm_rows(uint32_t type, const uint8_t *W, size_t ws, int64_t cols,
                      const uint8_t *packed, int64_t n_tok, float *out, int64_t os);
const sw_kernel_table *sw_kernels_amx(void);

/* The currently selected table (never NULL). */
const sw_kernel_table *sw_kernels_current(void);

/* Like sw_pool_run, but for work any subset of threads can finish (items
 * claimed from a shared counter): workers that wake after the caller has
 * finished fn skip the run instead of making the caller wait for a
 * descheduled thread, and after several runs in which workers held the
 * caller up, the next runs go to the caller alone for a while. fn(arg, 0,
 * nth) must complete all remaining work. */
void sw_pool_run_optional(sw_pool *p, void (*fn)(void *arg, int ith, int nth), void *arg);

/* Tests: how many more optional runs the caller will do alone. */
int sw_pool_solo_runs_left(const sw_pool *p);

/* The pool's scratch buffer (64-byte aligned) and its size. */
void *sw_pool_scratch(sw_pool *p, size_t *cap);

#endif /* SW_KERNELS_INT_H */
