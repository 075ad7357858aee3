/*
 * kernels_test.c: tensor types, fp16/bf16, quantization quality, the real
 * llama-quantize'd reference files, and sw_matmul: the scalar path against
 * a double-precision dot, and every SIMD path against the scalar one.
 *
 * Tolerances (also in docs/performance.md "## Kernels"):
 *  - ref matmul vs double dot over the dequantized weights and dequantized
 *    (quantized) activations: |err| <= 1e-5 * sum|w*x| + 1e-6 (1e-4 for
 *    Q4_1 / Q5_1, whose Q8_1 activations keep d * sum(q) in fp16);
 *  - ref matmul vs double dot over dequantized weights and the original x:
 *    |err| <= 5e-3 * sum|w*x| (8-bit activations), 1e-3 (bf16), 1e-5 (F32/F16);
 *  - SIMD vs ref: |err| <= 2e-5 * sum|w*x| + 1e-5 (same integer sums; only the
 *    float summation order differs).
 */
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "check.h"
#include "core/core_int.h"
#include "engine/kernels/kernels.h"
#include "engine/kernels/kernels_int.h"

static const uint32_t supported[] = {SW_TYPE_F32,  SW_TYPE_F16,  SW_TYPE_BF16, SW_TYPE_Q8_0,
                                     SW_TYPE_Q4_0, SW_TYPE_Q4_K, SW_TYPE_Q6_K, SW_TYPE_Q4_1,
                                     SW_TYPE_Q5_0, SW_TYPE_Q5_1};
#define N_SUPPORTED (sizeof(supported) / sizeof(supported[0]))

/* deterministic xorshift + Box-Muller */
static uint64_t rng_state = 88172645463325252ull;
static double urand(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return ((rng_state >> 11) + 0.5) * (1.0 / 9007199254740992.0);
}
static float nrand(void)
{
    return (float)(sqrt(-2.0 * log(urand())) * cos(6.283185307179586 * urand()));
}

static void fill_normal(float *x, int64_t n, float scale)
{
    for (int64_t i = 0; i < n; i++)
        x[i] = scale * nrand();
}

/* ---- types ---- */

static void test_traits(void **state)
{
    (void)state;
    const sw_type_traits *t = sw_type_get(SW_TYPE_Q4_K);
    assert_non_null(t);
    assert_string_equal(t->name, "Q4_K");
    assert_int_equal(t->block_size, 256);
    assert_int_equal(t->type_size, 144);
    assert_true(t->supported);
    assert_int_equal(sw_type_get(SW_TYPE_Q8_0)->type_size, 34);
    assert_int_equal(sw_type_get(SW_TYPE_Q4_0)->type_size, 18);
    assert_int_equal(sw_type_get(SW_TYPE_Q6_K)->type_size, 210);
    assert_int_equal(sw_type_get(SW_TYPE_BF16)->type_size, 2);
    assert_false(sw_type_get(16 /* IQ2_XXS */)->supported);
    assert_false(sw_type_get(SW_TYPE_Q8_K)->supported);
    assert_null(sw_type_get(4));
    assert_null(sw_type_get(39));
    assert_null(sw_type_get(1000));
    uint32_t ty = 99;
    assert_true(sw_type_from_name("q6_k", &ty));
    assert_int_equal(ty, SW_TYPE_Q6_K);
    assert_true(sw_type_from_name("BF16", &ty));
    assert_int_equal(ty, SW_TYPE_BF16);
    assert_false(sw_type_from_name("Q9_9", &ty));
    size_t b = 0;
    assert_true(sw_type_row_bytes(SW_TYPE_Q4_K, 512, &b));
    assert_int_equal(b, 288);
    assert_false(sw_type_row_bytes(SW_TYPE_Q4_K, 100, &b));
    assert_false(sw_type_row_bytes(SW_TYPE_F32, INT64_MAX, &b));
    assert_false(sw_type_row_bytes(SW_TYPE_F32, -4, &b));
    assert_false(sw_type_row_bytes(77, 32, &b));
}

static void test_half(void **state)
{
    (void)state;
    assert_true(sw_fp16_to_f32(0x3c00) == 1.0f);
    assert_true(sw_fp16_to_f32(0xc000) == -2.0f);
    assert_true(sw_fp16_to_f32(0x7bff) == 65504.0f);
    assert_true(sw_fp16_to_f32(0x0001) == ldexpf(1.0f, -24));
    assert_true(isinf(sw_fp16_to_f32(0x7c00)));
    assert_true(isnan(sw_fp16_to_f32(0x7e00)));
    /* every finite half round-trips exactly */
    for (uint32_t h = 0; h < 65536; h++) {
        if ((h & 0x7c00) == 0x7c00) continue;
        assert_int_equal(sw_f32_to_fp16(sw_fp16_to_f32((uint16_t)h)), h);
    }
    /* rounding: ties to even, overflow to inf, underflow to zero */
    assert_int_equal(sw_f32_to_fp16(1.0f + ldexpf(1.0f, -11)), 0x3c00);     /* tie -> even */
    assert_int_equal(sw_f32_to_fp16(1.0f + 3 * ldexpf(1.0f, -11)), 0x3c02); /* tie -> even */
    assert_int_equal(sw_f32_to_fp16(1.0f + ldexpf(1.0f, -11) + ldexpf(1.0f, -20)), 0x3c01);
    assert_int_equal(sw_f32_to_fp16(65520.0f), 0x7c00);
    assert_int_equal(sw_f32_to_fp16(65519.0f), 0x7bff);
    assert_int_equal(sw_f32_to_fp16(ldexpf(1.0f, -26)), 0);
    assert_int_equal(sw_f32_to_fp16(-ldexpf(3.0f, -25)), 0x8002);
    assert_int_equal(sw_f32_to_fp16(INFINITY), 0x7c00);
    assert_true((sw_f32_to_fp16(NAN) & 0x7fff) > 0x7c00);
    /* bf16 */
    assert_true(sw_bf16_to_f32(0x3f80) == 1.0f);
    assert_int_equal(sw_f32_to_bf16(1.0f), 0x3f80);
    assert_int_equal(sw_f32_to_bf16(1.0f + ldexpf(1.0f, -8)), 0x3f80);     /* tie -> even */
    assert_int_equal(sw_f32_to_bf16(1.0f + 3 * ldexpf(1.0f, -8)), 0x3f82); /* tie -> even */
    assert_int_equal(sw_f32_to_bf16(1.0f + ldexpf(1.0f, -8) + ldexpf(1.0f, -12)), 0x3f81);
    assert_true(isnan(sw_bf16_to_f32(sw_f32_to_bf16(NAN))));
}

/* ---- quantization quality ---- */

static double rms_rel_error(uint32_t type, const float *x, int64_t n)
{
    size_t rb = 0;
    assert_true(sw_type_row_bytes(type, n, &rb));
    void *q = malloc(rb);
    float *y = malloc((size_t)n * sizeof(float));
    sw_quantize_row(type, x, q, n);
    sw_dequantize_row(type, q, y, n);
    double e = 0, s = 0;
    for (int64_t i = 0; i < n; i++) {
        e += ((double)y[i] - x[i]) * ((double)y[i] - x[i]);
        s += (double)x[i] * x[i];
    }
    free(q);
    free(y);
    return sqrt(e / s);
}

static void test_quant_quality(void **state)
{
    (void)state;
    /* RMS error relative to RMS(x) for gaussian data; the bounds sit a
     * little above what llama.cpp's quantizers reach on such data
     * (measured: Q8_0 0.53%, Q6_K 1.8%, Q4_K 7.1%, see the reference-file test). */
    static const struct {
        uint32_t type;
        double bound;
    } cases[] = {{SW_TYPE_F32, 0.0},     {SW_TYPE_F16, 5e-4},    {SW_TYPE_BF16, 4e-3},
                 {SW_TYPE_Q8_0, 6e-3},   {SW_TYPE_Q6_K, 2.2e-2}, {SW_TYPE_Q4_K, 8e-2},
                 {SW_TYPE_Q4_0, 1.2e-1}, {SW_TYPE_Q4_1, 1.2e-1}, {SW_TYPE_Q5_0, 6e-2},
                 {SW_TYPE_Q5_1, 6e-2}};
    int64_t n = 4096;
    float *x = malloc((size_t)n * sizeof(float));
    fill_normal(x, n, 0.05f);
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        double e = rms_rel_error(cases[c].type, x, n);
        print_message("quantize %-5s rms rel error %.5f (bound %.4f)\n",
                      sw_type_get(cases[c].type)->name, e, cases[c].bound);
        assert_true(e <= cases[c].bound);
    }
    /* all-zero blocks and a constant block stay finite and exact */
    memset(x, 0, 512 * sizeof(float));
    for (size_t c = 0; c < N_SUPPORTED; c++) {
        size_t rb = 0;
        assert_true(sw_type_row_bytes(supported[c], 512, &rb));
        void *q = malloc(rb);
        float y[512];
        sw_quantize_row(supported[c], x, q, 512);
        sw_dequantize_row(supported[c], q, y, 512);
        for (int i = 0; i < 512; i++)
            assert_true(y[i] == 0.0f);
        free(q);
    }
    free(x);
}

/* ---- the llama-quantize'd reference files ---- */

/* A minimal GGUF walk (the real reader lives in the engine module, which
 * this test does not link): finds a tensor's type and data. */
typedef struct {
    unsigned char *buf;
    size_t len, pos;
    int ok;
} rd;
static uint64_t rd_u(rd *r, int bytes)
{
    uint64_t v = 0;
    if (r->pos + (size_t)bytes > r->len) {
        r->ok = 0;
        return 0;
    }
    for (int i = 0; i < bytes; i++)
        v |= (uint64_t)r->buf[r->pos + i] << (8 * i);
    r->pos += (size_t)bytes;
    return v;
}
static void rd_skip_val(rd *r, uint32_t type)
{
    static const int sz[] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};
    if (type == 8) {
        uint64_t n = rd_u(r, 8);
        if (n > r->len)
            r->ok = 0;
        else
            r->pos += n;
    } else if (type == 9) {
        uint32_t et = (uint32_t)rd_u(r, 4);
        uint64_t n = rd_u(r, 8);
        for (uint64_t i = 0; i < n && r->ok; i++)
            rd_skip_val(r, et);
    } else if (type < 13) {
        r->pos += (size_t)sz[type];
    } else {
        r->ok = 0;
    }
}

typedef struct {
    uint32_t type;
    int64_t ne0, ne1;
    const void *data;
} tinfo;

static unsigned char *load_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc((size_t)n);
    if (fread(b, 1, (size_t)n, f) != (size_t)n) {
        free(b);
        b = NULL;
    }
    fclose(f);
    *len = (size_t)n;
    return b;
}

static int find_tensor(unsigned char *buf, size_t len, const char *want, tinfo *out)
{
    rd r = {buf, len, 0, 1};
    if (rd_u(&r, 4) != 0x46554747u) return 0; /* "GGUF" */
    rd_u(&r, 4);
    uint64_t n_t = rd_u(&r, 8), n_kv = rd_u(&r, 8);
    uint64_t align = 32;
    for (uint64_t i = 0; i < n_kv && r.ok; i++) {
        uint64_t kl = rd_u(&r, 8);
        int is_align =
            kl == 17 && r.pos + kl <= len && memcmp(buf + r.pos, "general.alignment", 17) == 0;
        r.pos += kl;
        uint32_t vt = (uint32_t)rd_u(&r, 4);
        if (is_align && vt == 4) {
            align = rd_u(&r, 4);
            continue;
        }
        rd_skip_val(&r, vt);
    }
    int found = 0;
    uint64_t off = 0;
    for (uint64_t i = 0; i < n_t && r.ok; i++) {
        uint64_t nl = rd_u(&r, 8);
        int match = nl == strlen(want) && r.pos + nl <= len && memcmp(buf + r.pos, want, nl) == 0;
        r.pos += nl;
        uint32_t nd = (uint32_t)rd_u(&r, 4);
        int64_t ne[4] = {1, 1, 1, 1};
        for (uint32_t d = 0; d < nd && d < 4; d++)
            ne[d] = (int64_t)rd_u(&r, 8);
        uint32_t ty = (uint32_t)rd_u(&r, 4);
        uint64_t o = rd_u(&r, 8);
        if (match) {
            found = 1;
            out->type = ty;
            out->ne0 = ne[0];
            out->ne1 = ne[1];
            off = o;
        }
    }
    if (!r.ok || !found) return 0;
    size_t data = (r.pos + align - 1) / align * align;
    out->data = buf + data + off;
    return 1;
}

static void test_reference_files(void **state)
{
    (void)state;
    char path[1024];
    REQUIRE_SHARED(path, "models/reference/tiny-llama-F32.gguf");
    size_t flen = 0;
    unsigned char *fbuf = load_file(path, &flen);
    assert_non_null(fbuf);
    static const struct {
        const char *suffix;
        uint32_t type;
        double max_rel; /* bound on RMS(err)/RMS(w) for the whole tensor */
    } files[] = {{"F16", SW_TYPE_F16, 5e-4},   {"BF16", SW_TYPE_BF16, 4e-3},
                 {"Q8_0", SW_TYPE_Q8_0, 6e-3}, {"Q6_K", SW_TYPE_Q6_K, 2.2e-2},
                 {"Q4_K", SW_TYPE_Q4_K, 8e-2}, {"Q4_0", SW_TYPE_Q4_0, 1.2e-1}};
    static const char *names[] = {"token_embd.weight", "blk.0.attn_q.weight",
                                  "blk.1.ffn_down.weight", "output.weight"};
    for (size_t f = 0; f < sizeof(files) / sizeof(files[0]); f++) {
        char rel[256];
        snprintf(rel, sizeof(rel), "models/reference/tiny-llama-%s.gguf", files[f].suffix);
        REQUIRE_SHARED(path, rel);
        size_t qlen = 0;
        unsigned char *qbuf = load_file(path, &qlen);
        assert_non_null(qbuf);
        for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
            tinfo ft, qt;
            assert_true(find_tensor(fbuf, flen, names[k], &ft));
            assert_true(find_tensor(qbuf, qlen, names[k], &qt));
            assert_int_equal(ft.type, SW_TYPE_F32);
            assert_int_equal(qt.type, files[f].type);
            assert_int_equal(ft.ne0, qt.ne0);
            assert_int_equal(ft.ne1, qt.ne1);
            size_t rb = 0;
            assert_true(sw_type_row_bytes(qt.type, qt.ne0, &rb));
            float *row = malloc((size_t)qt.ne0 * sizeof(float));
            double e = 0, s = 0, e_ours = 0;
            void *requant = malloc(rb);
            float *row2 = malloc((size_t)qt.ne0 * sizeof(float));
            for (int64_t r = 0; r < qt.ne1; r++) {
                const float *w = (const float *)ft.data + r * ft.ne0;
                sw_dequantize_row(qt.type, (const uint8_t *)qt.data + (size_t)r * rb, row, qt.ne0);
                /* our quantizer on the same weights, for comparison */
                sw_quantize_row(qt.type, w, requant, qt.ne0);
                sw_dequantize_row(qt.type, requant, row2, qt.ne0);
                for (int64_t c = 0; c < qt.ne0; c++) {
                    e += ((double)row[c] - w[c]) * ((double)row[c] - w[c]);
                    e_ours += ((double)row2[c] - w[c]) * ((double)row2[c] - w[c]);
                    s += (double)w[c] * w[c];
                }
            }
            double rel_ref = sqrt(e / s), rel_ours = sqrt(e_ours / s);
            print_message("%-5s %-22s llama-quantize rms rel %.5f, ours %.5f\n", files[f].suffix,
                          names[k], rel_ref, rel_ours);
            assert_true(rel_ref <= files[f].max_rel);
            /* our quantizer is at least about as good as llama-quantize's */
            assert_true(rel_ours <= rel_ref * 1.1 + 1e-7);
            free(row);
            free(row2);
            free(requant);
        }
        free(qbuf);
    }
    free(fbuf);
}

/* ---- matmul ---- */

/* Activations as the kernel sees them: x run through the type's activation
 * format and back. */
static void act_roundtrip(uint32_t type, const float *x, float *y, int64_t n)
{
    uint32_t at = SW_TYPE_F32;
    if (type == SW_TYPE_Q8_0 || type == SW_TYPE_Q4_0 || type == SW_TYPE_Q5_0) at = SW_TYPE_Q8_0;
    if (type == SW_TYPE_Q4_1 || type == SW_TYPE_Q5_1) at = SW_TYPE_Q8_1;
    if (type == SW_TYPE_Q4_K || type == SW_TYPE_Q6_K) at = SW_TYPE_Q8_K;
    if (type == SW_TYPE_BF16) at = SW_TYPE_BF16;
    size_t rb = 0;
    if (at == SW_TYPE_Q8_K)
        rb = (size_t)(n / 256) * 292; /* Q8_K has no public row size use */
    else
        assert_true(sw_type_row_bytes(at, n, &rb));
    void *q = malloc(rb);
    sw_quantize_row(at, x, q, n);
    sw_dequantize_row(at, q, y, n);
    free(q);
}

typedef struct {
    void *W;
    float *Wd; /* dequantized weights */
    float *x, *xd;
    int64_t rows, cols, n_tok;
    uint32_t type;
} mm_case;

static void case_make(mm_case *c, uint32_t type, int64_t rows, int64_t cols, int64_t n_tok)
{
    c->type = type;
    c->rows = rows;
    c->cols = cols;
    c->n_tok = n_tok;
    size_t rb = 0;
    assert_true(sw_type_row_bytes(type, cols, &rb));
    c->W = malloc(rb * (size_t)rows);
    c->Wd = malloc(sizeof(float) * (size_t)(rows * cols));
    c->x = malloc(sizeof(float) * (size_t)(n_tok * cols));
    c->xd = malloc(sizeof(float) * (size_t)(n_tok * cols));
    float *tmp = malloc(sizeof(float) * (size_t)cols);
    for (int64_t r = 0; r < rows; r++) {
        fill_normal(tmp, cols, 0.05f);
        sw_quantize_row(type, tmp, (uint8_t *)c->W + (size_t)r * rb, cols);
        sw_dequantize_row(type, (uint8_t *)c->W + (size_t)r * rb, c->Wd + r * cols, cols);
    }
    fill_normal(c->x, n_tok * cols, 1.0f);
    for (int64_t t = 0; t < n_tok; t++)
        act_roundtrip(type, c->x + t * cols, c->xd + t * cols, cols);
    free(tmp);
}

static void case_free(mm_case *c)
{
    free(c->W);
    free(c->Wd);
    free(c->x);
    free(c->xd);
}

static void run_matmul(const mm_case *c, int threads, float *out)
{
    sw_pool *p = NULL;
    CHECK_OK(sw_pool_create(threads, &p));
    CHECK_OK(sw_pool_reserve(p, sw_matmul_scratch_bytes(c->type, c->cols, c->n_tok)));
    sw_matmul(p, out, c->W, c->type, c->rows, c->cols, c->x, c->n_tok);
    sw_pool_destroy(p);
}

static void test_matmul_ref_vs_double(void **state)
{
    (void)state;
    assert_true(sw_kernels_select("ref"));
    for (size_t k = 0; k < N_SUPPORTED; k++) {
        uint32_t type = supported[k];
        mm_case c;
        case_make(&c, type, 23, 512, 3);
        float *out = malloc(sizeof(float) * (size_t)(c.rows * c.n_tok));
        run_matmul(&c, 2, out);
        double loose = type == SW_TYPE_F32 || type == SW_TYPE_F16 ? 1e-5
                       : type == SW_TYPE_BF16                     ? 1e-3
                                                                  : 5e-3;
        /* Q8_1 stores s = d * sum(q) in fp16 (as llama.cpp does): the offset
         * term m * s carries that rounding on top of the summation error */
        double tight = type == SW_TYPE_Q4_1 || type == SW_TYPE_Q5_1 ? 1e-4 : 1e-5;
        double worst_tight = 0, worst_loose = 0;
        for (int64_t t = 0; t < c.n_tok; t++) {
            for (int64_t r = 0; r < c.rows; r++) {
                double d_q = 0, d_x = 0, mag = 0;
                for (int64_t i = 0; i < c.cols; i++) {
                    double w = c.Wd[r * c.cols + i];
                    d_q += w * c.xd[t * c.cols + i];
                    d_x += w * c.x[t * c.cols + i];
                    mag += fabs(w * c.x[t * c.cols + i]);
                }
                double got = out[t * c.rows + r];
                double et = fabs(got - d_q) / (mag + 1e-6), el = fabs(got - d_x) / (mag + 1e-6);
                worst_tight = fmax(worst_tight, et);
                worst_loose = fmax(worst_loose, el);
                if (fabs(got - d_q) > tight * mag + 1e-6 || fabs(got - d_x) > loose * mag) {
                    print_error("%s r=%ld t=%ld got %.8g want %.8g (exact x: %.8g)\n",
                                sw_type_get(type)->name, (long)r, (long)t, got, d_q, d_x);
                    fail();
                }
            }
        }
        print_message("ref %-5s vs f64: rel err %.2e (quantized x), %.2e (original x)\n",
                      sw_type_get(type)->name, worst_tight, worst_loose);
        free(out);
        case_free(&c);
    }
    assert_true(sw_kernels_select("auto"));
}

/* SIMD result within float rounding of the scalar path, scaled by the
 * magnitude of the dot product. */
static bool close_to_ref(const mm_case *c, const float *got, const float *want, const char *path)
{
    for (int64_t t = 0; t < c->n_tok; t++) {
        for (int64_t r = 0; r < c->rows; r++) {
            double mag = 0;
            for (int64_t i = 0; i < c->cols; i++)
                mag += fabs((double)c->Wd[r * c->cols + i] * c->xd[t * c->cols + i]);
            double g = got[t * c->rows + r], w = want[t * c->rows + r];
            if (!(fabs(g - w) <= 2e-5 * mag + 1e-5)) {
                print_error("%s %s rows=%ld cols=%ld n_tok=%ld r=%ld t=%ld: %.8g vs ref %.8g\n", path,
                            sw_type_get(c->type)->name, (long)c->rows, (long)c->cols,
                            (long)c->n_tok, (long)r, (long)t, g, w);
                return false;
            }
        }
    }
    return true;
}

static void test_matmul_simd_vs_ref(void **state)
{
    (void)state;
    static const char *paths[] = {"avx2", "avx512"};
    static const int64_t row_counts[] = {1, 7, 37, 100};
    for (size_t pi = 0; pi < 2; pi++) {
        if (!sw_kernels_select(paths[pi])) {
            print_message("path %s not available on this CPU/build: skipped\n", paths[pi]);
            continue;
        }
        int checked = 0;
        for (size_t k = 0; k < N_SUPPORTED; k++) {
            uint32_t type = supported[k];
            for (int64_t n_tok = 1; n_tok <= 9; n_tok++) {
                int64_t rows = row_counts[n_tok % 4];
                int64_t cols = (n_tok % 3 == 0) ? 768 : (n_tok % 3 == 1 ? 256 : 512);
                /* float types take any length: exercise the SIMD tails */
                bool flt = type == SW_TYPE_F32 || type == SW_TYPE_F16 || type == SW_TYPE_BF16;
                if (flt && (n_tok & 1)) cols += 2 * n_tok + 1;
                /* blocks of 32: an odd block count (the paired kernels' tail) */
                bool k256 = type == SW_TYPE_Q4_K || type == SW_TYPE_Q6_K;
                if (!flt && !k256 && (n_tok == 1 || n_tok == 5)) cols = 288;
                int threads = 1 + (int)(n_tok % 3);
                mm_case c;
                case_make(&c, type, rows, cols, n_tok);
                float *got = malloc(sizeof(float) * (size_t)(rows * n_tok));
                float *want = malloc(sizeof(float) * (size_t)(rows * n_tok));
                assert_true(sw_kernels_select(paths[pi]));
                run_matmul(&c, threads, got);
                assert_true(sw_kernels_select("ref"));
                run_matmul(&c, 1, want);
                if (!close_to_ref(&c, got, want, paths[pi])) {
                    print_error("(%d threads)\n", threads);
                    fail();
                }
                checked++;
                free(got);
                free(want);
                case_free(&c);
            }
        }
        print_message("path %s: %d shapes checked against ref\n", paths[pi], checked);
    }
    assert_true(sw_kernels_select("auto"));
}

/* Every kernel path against the scalar reference on the awkward shapes:
 * odd block counts (the paired kernels' tail), row lengths that are not a
 * multiple of any unroll, one row, one token (a 1-column activation), and
 * token counts around the tile sizes. Paths this CPU lacks are reported as
 * skipped by name. */
static void test_matmul_awkward_shapes(void **state)
{
    (void)state;
    static const char *paths[] = {"avx2", "avx512", "amx"};
    static const int64_t blocks32[] = {1, 2, 3, 5, 7, 9, 11, 17, 33};
    static const int64_t blocks256[] = {1, 2, 3, 5};
    static const int64_t floats[] = {1, 3, 7, 15, 17, 31, 33, 47, 63, 65, 129};
    static const int64_t rows_list[] = {1, 2, 3, 5, 17};
    static const int64_t tok_list[] = {1, 2, 3, 5, 16, 17, 33};
    int ran = 0;
    for (size_t pi = 0; pi < sizeof(paths) / sizeof(paths[0]); pi++) {
        if (!sw_kernels_select(paths[pi])) {
            print_message("SKIP path %s: not available on this CPU or build\n", paths[pi]);
            continue;
        }
        int checked = 0;
        for (size_t k = 0; k < N_SUPPORTED; k++) {
            uint32_t type = supported[k];
            bool flt = type == SW_TYPE_F32 || type == SW_TYPE_F16 || type == SW_TYPE_BF16;
            bool k256 = type == SW_TYPE_Q4_K || type == SW_TYPE_Q6_K;
            const int64_t *lens = flt ? floats : k256 ? blocks256 : blocks32;
            size_t n_lens = flt ? sizeof(floats) / sizeof(floats[0])
                                : k256 ? sizeof(blocks256) / sizeof(blocks256[0])
                                       : sizeof(blocks32) / sizeof(blocks32[0]);
            int64_t unit = flt ? 1 : k256 ? 256 : 32;
            for (size_t li = 0; li < n_lens; li++) {
                for (size_t ri = 0; ri < sizeof(rows_list) / sizeof(rows_list[0]); ri++) {
                    /* every length with every row count, and one token count each
                     * (cycling), plus the 1-token case everywhere */
                    int64_t toks[2] = {1, tok_list[(li + ri) % (sizeof(tok_list) / sizeof(tok_list[0]))]};
                    for (int ti = 0; ti < 2; ti++) {
                        if (ti == 1 && toks[1] == 1) continue;
                        mm_case c;
                        case_make(&c, type, rows_list[ri], lens[li] * unit, toks[ti]);
                        size_t n_out = (size_t)(c.rows * c.n_tok);
                        float *got = malloc(sizeof(float) * n_out);
                        float *want = malloc(sizeof(float) * n_out);
                        assert_true(sw_kernels_select(paths[pi]));
                        run_matmul(&c, 1 + (int)((li + ti) % 2), got);
                        assert_true(sw_kernels_select("ref"));
                        run_matmul(&c, 1, want);
                        bool ok = close_to_ref(&c, got, want, paths[pi]);
                        free(got);
                        free(want);
                        case_free(&c);
                        if (!ok) fail();
                        checked++;
                    }
                }
            }
        }
        print_message("path %s: %d awkward shapes checked against ref\n", paths[pi], checked);
        ran++;
    }
    assert_true(sw_kernels_select("auto"));
    if (ran == 0) print_message("SKIP: no SIMD path on this CPU; only the scalar path ran\n");
}

/* SIMD activation quantizers must produce the very bytes the scalar ones do
 * (the integer dot products are then equal across paths). */
static void test_act_quant_identical(void **state)
{
    (void)state;
    const sw_kernel_table *tabs[] = {sw_kernels_avx2(), sw_kernels_avx512()};
    int64_t n = 2048 + 32; /* whole Q8_K blocks for the K path use 2048 */
    float *x = malloc(sizeof(float) * (size_t)n);
    uint8_t *a = malloc((size_t)n * 4), *b = malloc((size_t)n * 4);
    for (int round = 0; round < 6; round++) {
        fill_normal(x, n, round == 0 ? 1.0f : 0.01f * (float)round);
        if (round == 1) memset(x, 0, 256 * sizeof(float)); /* zero blocks */
        if (round == 2)
            for (int i = 0; i < 64; i++)
                x[i] = (float)(i % 7) - 3.0f; /* ties */
        if (round == 3) {
            x[5] = 4.0f;
            x[9] = -4.0f;
        } /* +-amax, first wins */
        if (round == 4) {
            x[5] = -4.0f;
            x[9] = 4.0f;
        }
        for (size_t k = 0; k < 2; k++) {
            if (tabs[k] == NULL) {
                if (round == 0) print_message("SKIP path %s: not available on this CPU or build\n",
                                              k ? "avx512" : "avx2");
                continue;
            }
            for (int act = SW_ACT_Q8_0; act < SW_ACT_COUNT; act++) {
                if (tabs[k]->act[act] == NULL) continue;
                int64_t len = act == SW_ACT_Q8_K ? 2048 : act == SW_ACT_BF16 ? n - 3 : n;
                size_t bytes = sw_act_row_bytes((enum sw_act)act, len);
                memset(a, 0xAA, bytes);
                memset(b, 0x55, bytes);
                sw_kernels_ref.act[act](x, a, len);
                tabs[k]->act[act](x, b, len);
                if (memcmp(a, b, bytes) != 0) {
                    print_error("%s act %d round %d differs from the scalar quantizer\n",
                                tabs[k]->name, act, round);
                    fail();
                }
            }
        }
    }
    free(x);
    free(a);
    free(b);
}

/* AMX takes prompt batches (>= 16 tokens) of Q8_0 / Q4_0 / Q5_0: token
 * groups with padding, row tiles with a remainder, and more than one
 * 2048-column chunk. */
static void test_matmul_amx_vs_ref(void **state)
{
    (void)state;
    if (!sw_kernels_select("amx")) {
        CHECK_SKIP("path amx: AMX not available on this CPU/OS");
    }
    static const uint32_t types[] = {SW_TYPE_Q8_0, SW_TYPE_Q4_0, SW_TYPE_Q5_0,
                                     SW_TYPE_Q4_K, SW_TYPE_Q6_K, SW_TYPE_Q4_1};
    static const struct {
        int64_t rows, cols, n_tok;
        int threads;
    } shapes[] = {{16, 256, 16, 1},  {37, 512, 17, 2}, {100, 2304, 33, 3},
                  {48, 4608, 40, 2}, {20, 96, 16, 2},  {33, 2336, 18, 2}}; /* odd block counts */
    int checked = 0;
    for (size_t k = 0; k < sizeof(types) / sizeof(types[0]); k++) {
        for (size_t s = 0; s < sizeof(shapes) / sizeof(shapes[0]); s++) {
            size_t rb;
            if (!sw_type_row_bytes(types[k], shapes[s].cols, &rb)) continue; /* K-quants: 256 */
            mm_case c;
            case_make(&c, types[k], shapes[s].rows, shapes[s].cols, shapes[s].n_tok);
            size_t n_out = (size_t)(c.rows * c.n_tok);
            float *got = malloc(sizeof(float) * n_out), *want = malloc(sizeof(float) * n_out);
            assert_true(sw_kernels_select("amx"));
            run_matmul(&c, shapes[s].threads, got);
            assert_true(sw_kernels_select("ref"));
            run_matmul(&c, 1, want);
            for (int64_t t = 0; t < c.n_tok; t++) {
                for (int64_t r = 0; r < c.rows; r++) {
                    double mag = 0;
                    for (int64_t i = 0; i < c.cols; i++)
                        mag += fabs((double)c.Wd[r * c.cols + i] * c.xd[t * c.cols + i]);
                    double g = got[t * c.rows + r], w = want[t * c.rows + r];
                    if (!(fabs(g - w) <= 2e-5 * mag + 1e-5)) {
                        print_error(
                            "amx %s rows=%ld cols=%ld n_tok=%ld r=%ld t=%ld: %.8g vs ref %.8g\n",
                            sw_type_get(types[k])->name, (long)c.rows, (long)c.cols, (long)c.n_tok,
                            (long)r, (long)t, g, w);
                        fail();
                    }
                }
            }
            checked++;
            free(got);
            free(want);
            case_free(&c);
        }
    }
    print_message("amx: %d shapes checked against ref\n", checked);
    assert_true(sw_kernels_select("auto"));
}

/* Weights are untrusted file bytes: any bit pattern (NaN / Inf scales,
 * out-of-range levels) must go through every path without a crash or UB. */
static void test_hostile_blocks(void **state)
{
    (void)state;
    static const char *paths[] = {"ref", "avx2", "avx512", "amx"};
    const int64_t rows = 33, cols = 512, n_tok = 17;
    float *x = malloc(sizeof(float) * (size_t)(cols * n_tok));
    float *out = malloc(sizeof(float) * (size_t)(rows * n_tok));
    float *deq = malloc(sizeof(float) * (size_t)cols);
    fill_normal(x, cols * n_tok, 1.0f);
    for (size_t k = 0; k < N_SUPPORTED; k++) {
        size_t rb = 0;
        assert_true(sw_type_row_bytes(supported[k], cols, &rb));
        uint8_t *w = malloc(rb * (size_t)rows);
        for (size_t i = 0; i < rb * (size_t)rows; i++)
            w[i] = (uint8_t)(urand() * 256.0);
        for (int64_t r = 0; r < rows; r++)
            sw_dequantize_row(supported[k], w + (size_t)r * rb, deq, cols);
        for (size_t pi = 0; pi < 4; pi++) {
            if (!sw_kernels_select(paths[pi])) {
                if (k == 0) print_message("SKIP path %s: not available on this CPU or build\n", paths[pi]);
                continue;
            }
            for (int64_t nt = 1; nt <= n_tok; nt += 16) {
                sw_pool *p = NULL;
                CHECK_OK(sw_pool_create(2, &p));
                CHECK_OK(sw_pool_reserve(p, sw_matmul_scratch_bytes(supported[k], cols, nt)));
                sw_matmul(p, out, w, supported[k], rows, cols, x, nt);
                sw_pool_destroy(p);
            }
        }
        free(w);
    }
    assert_true(sw_kernels_select("auto"));
    free(x);
    free(out);
    free(deq);
}

static void test_matmul_empty(void **state)
{
    (void)state;
    sw_pool *p = NULL;
    CHECK_OK(sw_pool_create(2, &p));
    float out[40];
    for (int i = 0; i < 40; i++)
        out[i] = 1.0f;
    uint8_t w[1] = {0};
    float x[1] = {0};
    sw_matmul(p, out, w, SW_TYPE_Q8_0, 20, 0, x, 2); /* no columns: zeros */
    for (int i = 0; i < 40; i++)
        assert_true(out[i] == 0.0f);
    out[0] = 7.0f;
    sw_matmul(p, out, w, SW_TYPE_Q4_K, 0, 256, x, 2); /* no rows, no tokens: nothing */
    sw_matmul(p, out, w, SW_TYPE_Q4_K, 4, 256, x, 0);
    assert_true(out[0] == 7.0f);
    sw_pool_destroy(p);
}

static void test_select(void **state)
{
    (void)state;
    assert_true(sw_kernels_select("ref"));
    assert_string_equal(sw_kernels_selected(), "ref");
    assert_false(sw_kernels_select("sse9"));
    assert_string_equal(sw_kernels_selected(), "ref");
    assert_true(sw_kernels_select("auto"));
    print_message("auto selects %s\n", sw_kernels_selected());
}

/* ---- micro-benchmark (only with SWARM_KERNELS_BENCH=1; not a test) ---- */

typedef struct {
    const char *name;
    int64_t dim, ffn, layers, kv_dim, vocab;
} shape;

typedef struct {
    const uint64_t *buf;
    int64_t n;
    uint64_t sums[8];
} rd_job;

/* xor-reduce: vectorizes, so it measures memory, not the adder */
static void read_fn(void *arg, int ith, int nth)
{
    rd_job *j = arg;
    int64_t lo = j->n * ith / nth, hi = j->n * (ith + 1) / nth;
    uint64_t s = 0;
    for (int64_t i = lo; i < hi; i++)
        s ^= j->buf[i];
    j->sums[ith] = s;
}

static void bench_shape(const shape *sh, uint32_t type, int threads)
{
    /* one layer = q, k, v, o, gate, up, down; plus the output head */
    int64_t mats[7][2] = {{sh->dim, sh->dim}, {sh->kv_dim, sh->dim}, {sh->kv_dim, sh->dim},
                          {sh->dim, sh->dim}, {sh->ffn, sh->dim},    {sh->ffn, sh->dim},
                          {sh->dim, sh->ffn}};
    int n_mats = (int)(sh->layers * 7 + 1);
    void **W = calloc((size_t)n_mats, sizeof(void *));
    int64_t(*dims)[2] = calloc((size_t)n_mats, sizeof(*dims));
    uint32_t *mtype = calloc((size_t)n_mats, sizeof(uint32_t));
    size_t total = 0;
    for (int m = 0; m < n_mats; m++) {
        int64_t rows = m == n_mats - 1 ? sh->vocab : mats[m % 7][0];
        int64_t cols = m == n_mats - 1 ? sh->dim : mats[m % 7][1];
        dims[m][0] = rows;
        dims[m][1] = cols;
        size_t rb = 0;
        /* like llama.cpp / bench-model: K-quants need rows of whole super-blocks */
        uint32_t mt = type;
        if (!sw_type_row_bytes(mt, cols, &rb))
            mt = type == SW_TYPE_Q4_K ? SW_TYPE_Q4_0 : SW_TYPE_Q8_0;
        assert_true(sw_type_row_bytes(mt, cols, &rb));
        mtype[m] = mt;
        W[m] = malloc(rb * (size_t)rows);
        /* 8 distinct quantized rows, repeated: realistic scales, cheap setup */
        float *tmp = malloc(sizeof(float) * (size_t)cols);
        for (int64_t r = 0; r < rows; r++) {
            if (r < 8) {
                fill_normal(tmp, cols, 0.05f);
                sw_quantize_row(mt, tmp, (uint8_t *)W[m] + r * rb, cols);
            } else {
                memcpy((uint8_t *)W[m] + r * rb, (uint8_t *)W[m] + (r % 8) * rb, rb);
            }
        }
        free(tmp);
        total += rb * (size_t)rows;
    }
    int64_t maxd = sh->ffn > sh->vocab ? sh->ffn : sh->vocab;
    if (sh->dim > maxd) maxd = sh->dim;
    float *x = malloc(sizeof(float) * (size_t)maxd), *out = malloc(sizeof(float) * (size_t)maxd);
    fill_normal(x, maxd, 1.0f);
    sw_pool *p = NULL;
    CHECK_OK(sw_pool_create(threads, &p));
    CHECK_OK(sw_pool_reserve(p, sw_matmul_scratch_bytes(SW_TYPE_Q8_0, maxd, 64) +
                                    sw_matmul_scratch_bytes(type, maxd, 64)));
    /* plain read bandwidth over a buffer of the same size */
    uint64_t *big = malloc(total);
    memset(big, 1, total);
    rd_job rj = {.buf = big, .n = (int64_t)(total / sizeof(uint64_t))};
    /* best of repeated runs: the cores are shared, the minimum is the machine */
    sw_pool_run(p, read_fn, &rj);
    double best_rd = 1e30, t_end = sw_now_ms() + 500;
    while (sw_now_ms() < t_end) {
        double t = sw_now_ms();
        sw_pool_run(p, read_fn, &rj);
        best_rd = fmin(best_rd, sw_now_ms() - t);
    }
    double bw = (double)total / (best_rd * 1e6);
    free(big);
    for (int m = 0; m < n_mats; m++)
        sw_matmul(p, out, W[m], mtype[m], dims[m][0], dims[m][1], x, 1);
    double ms = 1e30;
    t_end = sw_now_ms() + 1500;
    while (sw_now_ms() < t_end) {
        double t = sw_now_ms();
        for (int m = 0; m < n_mats; m++)
            sw_matmul(p, out, W[m], mtype[m], dims[m][0], dims[m][1], x, 1);
        ms = fmin(ms, sw_now_ms() - t);
    }
    double gbs = (double)total / (ms * 1e6);
    /* prompt: 64 tokens through the layer matrices only */
    int64_t nt = 64;
    float *xp = malloc(sizeof(float) * (size_t)(nt * maxd));
    float *op = malloc(sizeof(float) * (size_t)(nt * maxd));
    fill_normal(xp, nt * maxd, 1.0f);
    double pms = 1e30;
    for (int rep = 0; rep < 3; rep++) {
        double t0 = sw_now_ms();
        for (int m = 0; m < n_mats - 1; m++)
            sw_matmul(p, op, W[m], mtype[m], dims[m][0], dims[m][1], xp, nt);
        pms = fmin(pms, sw_now_ms() - t0);
    }
    print_message("bench %-12s %-5s thr=%d  weights %7.1f MB  gen %7.2f ms/tok (best)  %6.2f GB/s  "
                  "read bw %6.2f GB/s  (%3.0f%%)  prompt(64, no head) %7.1f tok/s\n",
                  sh->name, sw_type_get(type)->name, threads, total / 1e6, ms, gbs, bw,
                  100.0 * gbs / bw, nt * 1000.0 / pms);
    free(xp);
    free(op);
    sw_pool_destroy(p);
    for (int m = 0; m < n_mats; m++)
        free(W[m]);
    free(W);
    free(dims);
    free(mtype);
    free(x);
    free(out);
}

static void test_bench(void **state)
{
    (void)state;
    const char *env = getenv("SWARM_KERNELS_BENCH");
    if (env == NULL || env[0] == '\0') CHECK_SKIP("benchmark: set SWARM_KERNELS_BENCH=1 to run it");
    static const shape shapes[] = {{"smollm2-135m", 576, 1536, 30, 192, 49152},
                                   {"qwen2.5-0.5b", 896, 4864, 24, 128, 151936},
                                   {"k-1024", 1024, 2816, 16, 256, 32000}};
    static const shape in_cache = {"in-L3", 1024, 2816, 1, 256, 1024};
    static const uint32_t types[] = {SW_TYPE_Q8_0, SW_TYPE_Q4_K, SW_TYPE_Q4_0, SW_TYPE_Q6_K,
                                     SW_TYPE_F16,  SW_TYPE_BF16, SW_TYPE_F32};
    const char *sh_only = getenv("SWARM_KERNELS_BENCH_SHAPE");
    const char *only = getenv("SWARM_KERNELS_BENCH_TYPE");
    const char *path = getenv("SWARM_KERNELS_BENCH_PATH");
    assert_true(sw_kernels_select(path ? path : "auto"));
    print_message("kernels: %s\n", sw_kernels_selected());
    const char *thr_env = getenv("SWARM_KERNELS_BENCH_THREADS");
    int thr_lo = 1, thr_hi = 2;
    if (thr_env) thr_lo = thr_hi = (int)strtol(thr_env, NULL, 10);
    if (strcmp(env, "cache") == 0) {
        for (size_t t = 0; t < sizeof(types) / sizeof(types[0]); t++) {
            if (only && strcasecmp(only, sw_type_get(types[t])->name) != 0) continue;
            for (int thr = thr_lo; thr <= thr_hi; thr++)
                bench_shape(&in_cache, types[t], thr);
        }
        return;
    }
    for (size_t s = 0; s < 3; s++) {
        if (s == 1 && strcmp(env, "all") != 0) break;
        if (sh_only && strcmp(sh_only, shapes[s].name) != 0) continue;
        for (size_t t = 0; t < sizeof(types) / sizeof(types[0]); t++) {
            if (only && strcasecmp(only, sw_type_get(types[t])->name) != 0) continue;
            for (int thr = thr_lo; thr <= thr_hi; thr++)
                bench_shape(&shapes[s], types[t], thr);
        }
    }
    assert_true(sw_kernels_select("auto"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_traits),
        cmocka_unit_test(test_half),
        cmocka_unit_test(test_quant_quality),
        cmocka_unit_test(test_reference_files),
        cmocka_unit_test(test_matmul_ref_vs_double),
        cmocka_unit_test(test_matmul_simd_vs_ref),
        cmocka_unit_test(test_matmul_awkward_shapes),
        cmocka_unit_test(test_matmul_amx_vs_ref),
        cmocka_unit_test(test_act_quant_identical),
        cmocka_unit_test(test_matmul_empty),
        cmocka_unit_test(test_hostile_blocks),
        cmocka_unit_test(test_select),
        cmocka_unit_test(test_bench),
    };
    return CHECK_RUN(tests, NULL, NULL);
}
