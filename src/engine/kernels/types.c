/*
 * types.c: the table of ggml tensor types (block size, bytes per block,
 * whether we compute with it), name lookup, row sizes, and the scalar
 * fp16 / bf16 conversions. Block sizes follow the GGUF spec / ggml.
 */
#include <math.h>
#include <string.h>
#include <strings.h>

#include "kernels_int.h"

/* Indexed by ggml type number; name == NULL marks a hole in the numbering. */
static const sw_type_traits type_table[SW_TYPE_COUNT] = {
    [0] = {"F32", 1, 4, true},
    [1] = {"F16", 1, 2, true},
    [2] = {"Q4_0", 32, 18, true},
    [3] = {"Q4_1", 32, 20, true},
    /* 4 and 5 (Q4_2, Q4_3) were removed from ggml long ago */
    [6] = {"Q5_0", 32, 22, true},
    [7] = {"Q5_1", 32, 24, true},
    [8] = {"Q8_0", 32, 34, true},
    /* Q8_1 only ever holds activations (for Q4_1 / Q5_1). */
    [9] = {"Q8_1", 32, 36, false},
    [10] = {"Q2_K", 256, 84, true},
    [11] = {"Q3_K", 256, 110, true},
    [12] = {"Q4_K", 256, 144, true},
    [13] = {"Q5_K", 256, 176, true},
    [14] = {"Q6_K", 256, 210, true},
    /* Q8_K only ever holds activations; no file should store it. */
    [15] = {"Q8_K", 256, 292, false},
    [16] = {"IQ2_XXS", 256, 66, false},
    [17] = {"IQ2_XS", 256, 74, false},
    [18] = {"IQ3_XXS", 256, 98, false},
    [19] = {"IQ1_S", 256, 50, false},
    [20] = {"IQ4_NL", 32, 18, true},
    [21] = {"IQ3_S", 256, 110, false},
    [22] = {"IQ2_S", 256, 82, false},
    [23] = {"IQ4_XS", 256, 136, true},
    [24] = {"I8", 1, 1, false},
    [25] = {"I16", 1, 2, false},
    [26] = {"I32", 1, 4, false},
    [27] = {"I64", 1, 8, false},
    [28] = {"F64", 1, 8, false},
    [29] = {"IQ1_M", 256, 56, false},
    [30] = {"BF16", 1, 2, true},
    /* 31..33: the Q4_0_4_4 family, removed from the file format */
    [34] = {"TQ1_0", 256, 54, false},
    [35] = {"TQ2_0", 256, 66, false},
};

const sw_type_traits *sw_type_get(uint32_t type)
{
    if (type >= SW_TYPE_COUNT || type_table[type].name == NULL) return NULL;
    return &type_table[type];
}

bool sw_type_from_name(const char *name, uint32_t *out)
{
    if (name == NULL) return false;
    for (uint32_t t = 0; t < SW_TYPE_COUNT; t++) {
        if (type_table[t].name != NULL && strcasecmp(type_table[t].name, name) == 0) {
            *out = t;
            return true;
        }
    }
    return false;
}

bool sw_type_row_bytes(uint32_t type, int64_t n, size_t *out)
{
    const sw_type_traits *tr = sw_type_get(type);
    if (tr == NULL || n < 0 || n % tr->block_size != 0) return false;
    size_t bytes;
    if (!sw_mul_ok((size_t)(n / tr->block_size), tr->type_size, &bytes)) return false;
    *out = bytes;
    return true;
}

/* ---- fp16 / bf16 ---- */

static inline uint32_t f32_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}
static inline float bits_f32(uint32_t u)
{
    float f;
    memcpy(&f, &u, 4);
    return f;
}

float sw_fp16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t exp = (h >> 10) & 0x1f;
    uint32_t mant = h & 0x3ff;
    if (exp == 0) {
        /* zero or subnormal: mant * 2^-24, exact in float */
        float v = (float)mant * (1.0f / 16777216.0f);
        return bits_f32(f32_bits(v) | sign);
    }
    if (exp == 31) return bits_f32(sign | 0x7f800000u | (mant << 13));
    return bits_f32(sign | ((exp + 112) << 23) | (mant << 13));
}

uint16_t sw_f32_to_fp16(float f)
{
    uint32_t x = f32_bits(f);
    uint16_t sign = (uint16_t)((x >> 16) & 0x8000);
    uint32_t ax = x & 0x7fffffffu;
    if (ax > 0x7f800000u) return (uint16_t)(sign | 0x7e00);  /* NaN stays NaN */
    if (ax >= 0x477ff000u) return (uint16_t)(sign | 0x7c00); /* rounds to inf */
    if (ax < 0x38800000u) {
        /* below the smallest normal: count units of 2^-24, ties to even
         * (the scaling by a power of two is exact) */
        float v = bits_f32(ax) * 16777216.0f;
        return (uint16_t)(sign | (uint16_t)rintf(v));
    }
    uint32_t h = (((ax >> 23) - 112) << 10) | ((ax >> 13) & 0x3ff);
    uint32_t rest = ax & 0x1fff;
    if (rest > 0x1000 || (rest == 0x1000 && (h & 1))) h++; /* may carry into exp: fine */
    return (uint16_t)(sign | h);
}

float sw_bf16_to_f32(uint16_t h)
{
    return bits_f32((uint32_t)h << 16);
}

uint16_t sw_f32_to_bf16(float f)
{
    uint32_t x = f32_bits(f);
    if ((x & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((x >> 16) | 0x40); /* quiet NaN */
    return (uint16_t)((x + 0x7fff + ((x >> 16) & 1)) >> 16);                  /* nearest even */
}
