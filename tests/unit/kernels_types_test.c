/*
 * kernels_types_test.c: the weight types added for the SLMs people run
 * (Q4_1, Q5_0, Q5_1, Q5_K, Q3_K, Q2_K, IQ4_NL, IQ4_XS):
 * - quantize -> dequantize keeps the rms error within a per-type bound;
 * - the scalar dot products (the judge) equal a double-precision dot of the
 *   dequantized weights and dequantized activations, so the dot and the
 *   dequantizer read the same layout (the reference2 test checks that
 *   layout against llama.cpp's files);
 * - every SIMD path this CPU has equals the scalar path, on quantizer output
 *   and on random block bytes (every bit pattern of scales, high bits and
 *   indices), with odd block counts, row counts that are not a multiple of
 *   the kernels' 4- or 2-row unroll, 1-row and 1-token (column) matrices, at
 *   1 and 2 threads. Paths the CPU lacks are printed as skipped by name.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "engine/kernels/kernels.h"

typedef struct type_case {
    uint32_t type;
    double rms_bound; /* quantize -> dequantize, relative to the rms of N(0,1) data */
    int n_f16;        /* fp16 fields per block (scales) to keep finite in random blocks */
    size_t f16_off[2];
} type_case;

/* rms bounds: measured on N(0,1) rows of 512 with these quantizers (Q4_1
 * 0.078, Q5_0 0.043, Q5_1 0.038, Q5_K 0.036, Q3_K 0.143, Q2_K 0.271, IQ4_NL
 * 0.075, IQ4_XS 0.075) plus 10-35%. */
static const type_case types[] = {
    {SW_TYPE_Q4_1, 0.095, 2, {0, 2}},   {SW_TYPE_Q5_0, 0.051, 1, {0, 0}},
    {SW_TYPE_Q5_1, 0.046, 2, {0, 2}},   {SW_TYPE_Q5_K, 0.040, 2, {0, 2}},
    {SW_TYPE_Q3_K, 0.20, 1, {108, 0}},  {SW_TYPE_Q2_K, 0.36, 2, {80, 82}},
    {SW_TYPE_IQ4_NL, 0.090, 1, {0, 0}}, {SW_TYPE_IQ4_XS, 0.092, 1, {0, 0}},
};
#define N_TYPES (sizeof(types) / sizeof(types[0]))

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t next_u64(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}
static float gauss(void)
{
    double u1 = ((double)(next_u64() >> 11) + 0.5) / 9007199254740992.0;
    double u2 = (double)(next_u64() >> 11) / 9007199254740992.0;
    return (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
}

static uint32_t act_type(uint32_t type)
{
    switch (type) {
    case SW_TYPE_Q5_0:
    case SW_TYPE_IQ4_NL:
        return SW_TYPE_Q8_0;
    case SW_TYPE_Q4_1:
    case SW_TYPE_Q5_1:
        return SW_TYPE_Q8_1;
    default:
        return SW_TYPE_Q8_K;
    }
}

static void test_round_trip(void **st)
{
    (void)st;
    enum { N = 512, ROWS = 64 };
    static float x[N], y[N];
    static uint8_t q[N * 2];
    for (size_t k = 0; k < N_TYPES; k++) {
        const sw_type_traits *tr = sw_type_get(types[k].type);
        assert_non_null(tr);
        assert_true(tr->supported);
        double se = 0, sx = 0;
        for (int r = 0; r < ROWS; r++) {
            for (int i = 0; i < N; i++) x[i] = gauss();
            sw_quantize_row(types[k].type, x, q, N);
            sw_dequantize_row(types[k].type, q, y, N);
            for (int i = 0; i < N; i++) {
                se += (double)(x[i] - y[i]) * (x[i] - y[i]);
                sx += (double)x[i] * x[i];
            }
        }
        double rel = sqrt(se / sx);
        print_message("quantize %-6s rms rel error %.4f (bound %.3f)\n", tr->name, rel,
                      types[k].rms_bound);
        assert_true(rel <= types[k].rms_bound);
        assert_true(rel > 0.001); /* it does quantize */
    }
}

/* W (rows x cols of type) filled from N(0,1) through the quantizer, or with
 * random bytes whose fp16 scale fields are set to small finite values. */
static void *make_weights(const type_case *tc, int64_t rows, int64_t cols, bool random_bytes)
{
    size_t rb = 0;
    assert_true(sw_type_row_bytes(tc->type, cols, &rb));
    uint8_t *w = malloc(rb * (size_t)rows);
    float *row = malloc(sizeof(float) * (size_t)cols);
    const sw_type_traits *tr = sw_type_get(tc->type);
    for (int64_t r = 0; r < rows; r++) {
        uint8_t *dst = w + (size_t)r * rb;
        if (!random_bytes) {
            for (int64_t i = 0; i < cols; i++) row[i] = gauss();
            sw_quantize_row(tc->type, row, dst, cols);
            continue;
        }
        for (size_t i = 0; i < rb; i++) dst[i] = (uint8_t)next_u64();
        for (int64_t b = 0; b < cols / tr->block_size; b++)
            for (int f = 0; f < tc->n_f16; f++) {
                uint16_t h = sw_f32_to_fp16((float)((int)(next_u64() % 200) - 100) / 4000.0f);
                memcpy(dst + (size_t)b * tr->type_size + tc->f16_off[f], &h, 2);
            }
    }
    free(row);
    return w;
}

static void run_mm(uint32_t type, const void *W, int64_t rows, int64_t cols, const float *x,
                   int64_t n_tok, int threads, float *out)
{
    sw_pool *p = NULL;
    CHECK_OK(sw_pool_create(threads, &p));
    CHECK_OK(sw_pool_reserve(p, sw_matmul_scratch_bytes(type, cols, n_tok)));
    sw_matmul(p, out, W, type, rows, cols, x, n_tok);
    sw_pool_destroy(p);
}

/* The scalar path against a double dot of the dequantized operands. */
static void test_ref_equals_dequantized(void **st)
{
    (void)st;
    assert_true(sw_kernels_select("ref"));
    enum { ROWS = 5, COLS = 768, NT = 3 };
    static float x[NT * COLS], xd[COLS], wd[COLS], out[NT * ROWS];
    static uint8_t xq[COLS * 2];
    for (size_t k = 0; k < N_TYPES; k++) {
        for (int rnd = 0; rnd < 2; rnd++) {
            void *W = make_weights(&types[k], ROWS, COLS, rnd == 1);
            for (int i = 0; i < NT * COLS; i++) x[i] = gauss();
            run_mm(types[k].type, W, ROWS, COLS, x, NT, 1, out);
            size_t rb = 0;
            sw_type_row_bytes(types[k].type, COLS, &rb);
            uint32_t at = act_type(types[k].type);
            for (int t = 0; t < NT; t++) {
                sw_quantize_row(at, x + t * COLS, xq, COLS);
                sw_dequantize_row(at, xq, xd, COLS);
                for (int r = 0; r < ROWS; r++) {
                    sw_dequantize_row(types[k].type, (uint8_t *)W + r * rb, wd, COLS);
                    double want = 0, mag = 0;
                    for (int i = 0; i < COLS; i++) {
                        want += (double)wd[i] * xd[i];
                        mag += fabs((double)wd[i] * xd[i]);
                    }
                    /* Q8_1 stores s = d * sum(q) as fp16 (as llama.cpp does): the
                     * offsets m multiply that rounded sum */
                    double slack = 0;
                    if (at == SW_TYPE_Q8_1) {
                        const uint8_t *wb = (const uint8_t *)W + r * rb;
                        for (int b = 0; b < COLS / 32; b++) {
                            uint16_t mh, dh, sh;
                            memcpy(&mh, wb + (size_t)b * sw_type_get(types[k].type)->type_size + 2, 2);
                            memcpy(&dh, xq + (size_t)b * 36, 2);
                            memcpy(&sh, xq + (size_t)b * 36 + 2, 2);
                            int sum = 0;
                            for (int j = 0; j < 32; j++) sum += (int8_t)xq[(size_t)b * 36 + 4 + j];
                            slack += fabs((double)sw_fp16_to_f32(mh)) *
                                     fabs((double)sw_fp16_to_f32(sh) -
                                          (double)sw_fp16_to_f32(dh) * sum);
                        }
                    }
                    double got = out[t * ROWS + r];
                    if (!(fabs(got - want) <= 1e-5 * mag + 1e-6 + 1.01 * slack)) {
                        print_error("%s %s r=%d t=%d: ref %.8g, dequantized %.8g (mag %g)\n",
                                    sw_type_get(types[k].type)->name, rnd ? "random" : "quantized",
                                    r, t, got, want, mag);
                        fail();
                    }
                }
            }
            free(W);
        }
    }
    assert_true(sw_kernels_select("auto"));
}

static void test_simd_equals_ref(void **st)
{
    (void)st;
    static const char *const paths[] = {"avx2", "avx512"};
    static const int64_t row_counts[] = {1, 3, 5, 37};
    static const int64_t toks[] = {1, 2, 3, 5};
    for (size_t p = 0; p < 2; p++) {
        if (!sw_kernels_select(paths[p])) {
            print_message("SKIP path %s: not available on this CPU or build\n", paths[p]);
            continue;
        }
        int checked = 0;
        for (size_t k = 0; k < N_TYPES; k++) {
            int64_t bs = sw_type_get(types[k].type)->block_size;
            /* 1, 3 and 5 blocks for K-types; 1, 3 and 9 for blocks of 32 */
            int64_t col_counts[3] = {bs, 3 * bs, bs == 256 ? 5 * bs : 9 * bs};
            for (int ci = 0; ci < 3; ci++) {
                for (int ri = 0; ri < 4; ri++) {
                    for (int ti = 0; ti < 4; ti++) {
                        int64_t rows = row_counts[ri], cols = col_counts[ci], nt = toks[ti];
                        bool rnd = (ci + ri + ti) % 2 == 1;
                        int threads = 1 + (ri + ti) % 2;
                        void *W = make_weights(&types[k], rows, cols, rnd);
                        float *x = malloc(sizeof(float) * (size_t)(nt * cols));
                        float *got = malloc(sizeof(float) * (size_t)(nt * rows));
                        float *want = malloc(sizeof(float) * (size_t)(nt * rows));
                        for (int64_t i = 0; i < nt * cols; i++) x[i] = gauss();
                        assert_true(sw_kernels_select(paths[p]));
                        run_mm(types[k].type, W, rows, cols, x, nt, threads, got);
                        assert_true(sw_kernels_select("ref"));
                        run_mm(types[k].type, W, rows, cols, x, nt, 1, want);
                        size_t rb = 0;
                        sw_type_row_bytes(types[k].type, cols, &rb);
                        float *wd = malloc(sizeof(float) * (size_t)cols);
                        for (int64_t r = 0; r < rows; r++) {
                            sw_dequantize_row(types[k].type, (uint8_t *)W + r * rb, wd, cols);
                            for (int64_t t = 0; t < nt; t++) {
                                double mag = 0;
                                for (int64_t i = 0; i < cols; i++)
                                    mag += fabs((double)wd[i] * x[t * cols + i]);
                                /* integer sums are equal; only the float order of
                                 * the per-block products differs */
                                double g = got[t * rows + r], w = want[t * rows + r];
                                if (!(fabs(g - w) <= 2e-6 * mag + 1e-6)) {
                                    print_error("%s %s (%s) rows=%ld cols=%ld n_tok=%ld thr=%d "
                                                "r=%ld t=%ld: %.8g vs ref %.8g\n",
                                                paths[p], sw_type_get(types[k].type)->name,
                                                rnd ? "random bytes" : "quantized", (long)rows,
                                                (long)cols, (long)nt, threads, (long)r, (long)t, g,
                                                w);
                                    fail();
                                }
                            }
                        }
                        checked++;
                        free(wd);
                        free(W);
                        free(x);
                        free(got);
                        free(want);
                    }
                }
            }
        }
        print_message("path %s: %d shapes of the new types equal to ref\n", paths[p], checked);
    }
    assert_true(sw_kernels_select("auto"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_ref_equals_dequantized),
        cmocka_unit_test(test_simd_equals_ref),
    };
    return CHECK_RUN(tests, NULL, NULL);
}
