/*
 * kernels.h: tensor types (GGUF/ggml numbering), quantization, and the
 * matrix kernels the forward pass calls. The scalar reference path is the
 * oracle; AVX2 / AVX-512 variants are chosen once at run time and tested
 * against it. The thread pool the kernels split work over lives here too.
 */
#ifndef SW_KERNELS_H
#define SW_KERNELS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../../core/core_int.h"

/* ggml_type numbering, as stored in GGUF tensor infos. */
enum sw_type {
    SW_TYPE_F32 = 0,
    SW_TYPE_F16 = 1,
    SW_TYPE_Q4_0 = 2,
    SW_TYPE_Q4_1 = 3,
    SW_TYPE_Q5_0 = 6,
    SW_TYPE_Q5_1 = 7,
    SW_TYPE_Q8_0 = 8,
    SW_TYPE_Q8_1 = 9,
    SW_TYPE_Q2_K = 10,
    SW_TYPE_Q3_K = 11,
    SW_TYPE_Q4_K = 12,
    SW_TYPE_Q5_K = 13,
    SW_TYPE_Q6_K = 14,
    SW_TYPE_Q8_K = 15,
    SW_TYPE_IQ4_NL = 20,
    SW_TYPE_IQ4_XS = 23,
    SW_TYPE_BF16 = 30,
    SW_TYPE_COUNT = 40 /* upper bound of the numbering we know names for */
};

typedef struct sw_type_traits {
    const char *name;     /* "Q4_K" */
    int64_t block_size;   /* elements per block (1 for F32/F16/BF16) */
    size_t type_size;     /* bytes per block */
    bool supported;       /* the engine can compute with it */
} sw_type_traits;

/* Traits of a ggml type number; NULL when the number is unknown. Types whose
 * layout is known but that the engine cannot compute with have
 * supported == false (the loader reports them by name). */
const sw_type_traits *sw_type_get(uint32_t type);
/* Parses "Q8_0" etc. (case-insensitive); false when unknown. */
bool sw_type_from_name(const char *name, uint32_t *out);
/* Bytes of a row of n elements; false when n is not a multiple of the block
 * size or the product overflows. */
bool sw_type_row_bytes(uint32_t type, int64_t n, size_t *out);

/* Converts one row of n elements to float. n is a multiple of the block size. */
void sw_dequantize_row(uint32_t type, const void *src, float *dst, int64_t n);
/* Quantizes one row (for the GGUF writer and tests). dst holds
 * sw_type_row_bytes(type, n) bytes. Supported for every type with supported == true. */
void sw_quantize_row(uint32_t type, const float *src, void *dst, int64_t n);

/* fp16 / bf16 scalar conversions. */
float sw_fp16_to_f32(uint16_t h);
uint16_t sw_f32_to_fp16(float f);
float sw_bf16_to_f32(uint16_t h);
uint16_t sw_f32_to_bf16(float f);

/* ---- thread pool: fork-join over a fixed set of threads ---- */
typedef struct sw_pool sw_pool;
/* n_threads >= 1 (the caller counts as one thread). */
swarm_err sw_pool_create(int n_threads, sw_pool **out);
void sw_pool_destroy(sw_pool *p);
int sw_pool_threads(const sw_pool *p);
/* Runs fn(arg, ith, nth) for every ith in 0..nth-1, each exactly once, in
 * parallel on the pool's threads (ith = 0 on the caller), and returns when
 * all have finished. A share whose worker has not started it when the
 * caller is done with its own runs on the caller instead (the worker is
 * asleep or descheduled), so fn must not wait for other shares (no barrier
 * inside fn). Not reentrant; one caller at a time. */
void sw_pool_run(sw_pool *p, void (*fn)(void *arg, int ith, int nth), void *arg);

/* Grows the pool's scratch to at least bytes (activation quantization
 * buffers); call once at session creation so sw_matmul never allocates.
 * sw_matmul_scratch_bytes gives what a matmul of that shape needs. */
swarm_err sw_pool_reserve(sw_pool *p, size_t bytes);
size_t sw_matmul_scratch_bytes(uint32_t type, int64_t cols, int64_t n_tok);

/* ---- matrix kernels ---- */
/*
 * out[t*rows + r] = sum_c W[r, c] * x[t*cols + c] for t < n_tok, r < rows.
 * W is rows x cols in `type` (row-major, each row sw_type_row_bytes(type, cols)
 * bytes). For quantized W the activations are quantized like llama.cpp does
 * (Q8_0 for Q4_0/Q5_0/Q8_0/IQ4_NL, Q8_1 for Q4_1/Q5_1, Q8_K for K-quants and
 * IQ4_XS, BF16 for BF16). pool is required;
 * its scratch must have been reserved (sw_pool_reserve) for this shape.
 */
void sw_matmul(sw_pool *pool, float *out, const void *W, uint32_t type, int64_t rows,
               int64_t cols, const float *x, int64_t n_tok);

/* Selects the implementation: "auto" (best the CPU has), "ref", "avx2", "avx512".
 * Returns false when the named path is not available on this CPU. For tests
 * and benchmarks; the default is "auto". Process-wide. */
bool sw_kernels_select(const char *name);
const char *sw_kernels_selected(void);

#endif /* SW_KERNELS_H */
