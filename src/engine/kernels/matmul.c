/*
 * matmul.c: sw_matmul: converts the activations once into the format the
 * weight type's dot product wants, then splits (row chunk x token tile)
 * work items over the pool. Also the run-time choice of the kernel table.
 */
#include <stdatomic.h>
#include <string.h>

#include "kernels_int.h"

/* ---- kernel selection ---- */

static _Atomic(const sw_kernel_table *) selected; /* process-wide by contract */

static const sw_kernel_table *best_table(void)
{
    const sw_kernel_table *t = sw_kernels_amx();
    if (t == NULL) t = sw_kernels_avx512();
    if (t == NULL) t = sw_kernels_avx2();
    return t != NULL ? t : &sw_kernels_ref;
}

const sw_kernel_table *sw_kernels_current(void)
{
    const sw_kernel_table *t = atomic_load_explicit(&selected, memory_order_acquire);
    if (t == NULL) {
        t = best_table();
        atomic_store_explicit(&selected, t, memory_order_release);
    }
    return t;
}

bool sw_kernels_select(const char *name)
{
    const sw_kernel_table *t = NULL;
    if (name == NULL || strcmp(name, "auto") == 0)
        t = best_table();
    else if (strcmp(name, "ref") == 0)
        t = &sw_kernels_ref;
    else if (strcmp(name, "avx2") == 0)
        t = sw_kernels_avx2();
    else if (strcmp(name, "avx512") == 0)
        t = sw_kernels_avx512();
    else if (strcmp(name, "amx") == 0)
        t = sw_kernels_amx();
    if (t == NULL) return false;
    atomic_store_explicit(&selected, t, memory_order_release);
    return true;
}

const char *sw_kernels_selected(void)
{
    return sw_kernels_current()->name;
}

/* ---- matmul ---- */

/* The batch size from which the AMX GEMM pays. */
#define AMX_MIN_TOKENS 16

static size_t amx_offset(size_t std_bytes)
{
    return (std_bytes + 63) & ~(size_t)63;
}

size_t sw_matmul_scratch_bytes(uint32_t type, int64_t cols, int64_t n_tok)
{
    enum sw_act a = sw_act_of(type);
    if (a == SW_ACT_F32) return 0;
    size_t std_bytes = sw_act_row_bytes(a, cols) * (size_t)n_tok;
    /* room for the AMX repacking whether or not AMX ends up selected */
    if (sw_amx_type(type) && n_tok >= AMX_MIN_TOKENS)
        return amx_offset(std_bytes) + sw_amx_bytes(type, cols, n_tok);
    return std_bytes;
}

typedef struct mm_job {
    sw_tile_fn tile;
    const uint8_t *W;
    size_t w_stride;
    int64_t rows, cols;
    const uint8_t *X;
    size_t x_stride;
    int64_t n_tok;
    float *out;
    int64_t row_chunk, tok_tile;
    int64_t n_row_chunks, n_items;
    _Atomic int64_t next; /* next work item to claim */
} mm_job;

static void mm_worker(void *arg, int ith, int nth)
{
    mm_job *j = arg;
    for (;;) {
        int64_t it = atomic_fetch_add_explicit(&j->next, 1, memory_order_relaxed);
        if (it >= j->n_items) break;
        /* token tile outer, row chunk inner: threads sweep the weights together
         * while one tile of activations stays in cache */
        int64_t tt = it / j->n_row_chunks, rc = it % j->n_row_chunks;
        int64_t r0 = rc * j->row_chunk, t0 = tt * j->tok_tile;
        int64_t nr = j->rows - r0 < j->row_chunk ? j->rows - r0 : j->row_chunk;
        int64_t nt = j->n_tok - t0 < j->tok_tile ? j->n_tok - t0 : j->tok_tile;
        j->tile(j->cols, j->W + (size_t)r0 * j->w_stride, j->w_stride, nr,
                j->X + (size_t)t0 * j->x_stride, j->x_stride, nt, j->out + t0 * j->rows + r0,
                j->rows);
    }
}

typedef struct act_job {
    sw_act_fn q;
    const float *x;
    int64_t cols, n_tok;
    uint8_t *buf;
    size_t stride;
    _Atomic int64_t next;
} act_job;

static void act_worker(void *arg, int ith, int nth)
{
    act_job *j = arg;
    for (;;) {
        int64_t t = atomic_fetch_add_explicit(&j->next, 1, memory_order_relaxed);
        if (t >= j->n_tok) break;
        j->q(j->x + t * j->cols, j->buf + (size_t)t * j->stride, j->cols);
    }
}

typedef struct amx_job {
    uint32_t type;
    const uint8_t *W;
    size_t w_stride;
    int64_t rows, cols, n_tok;
    const uint8_t *X; /* standard Q8_0 rows, for the rows that do not fill a tile */
    size_t x_stride;
    uint8_t *packed;
    sw_tile_fn tile;
    float *out;
    int64_t n_items;
    _Atomic int64_t next;
} amx_job;

static void amx_pack_worker(void *arg, int ith, int nth)
{
    amx_job *j = arg;
    for (;;) {
        int64_t g = atomic_fetch_add_explicit(&j->next, 1, memory_order_relaxed);
        if (g >= j->n_items) break;
        sw_amx_pack_group(j->type, j->X, j->x_stride, j->n_tok, j->cols, g, j->packed);
    }
}

static void amx_gemm_worker(void *arg, int ith, int nth)
{
    amx_job *j = arg;
    int64_t full = j->rows / 16;
    for (;;) {
        int64_t it = atomic_fetch_add_explicit(&j->next, 1, memory_order_relaxed);
        if (it >= j->n_items) break;
        if (it < full) {
            sw_amx_gemm_rows(j->type, j->W + (size_t)(16 * it) * j->w_stride, j->w_stride, j->cols,
                             j->packed, j->n_tok, j->out + 16 * it, j->rows);
        } else { /* the last rows % 16 rows: the ordinary kernel */
            int64_t r0 = 16 * full;
            j->tile(j->cols, j->W + (size_t)r0 * j->w_stride, j->w_stride, j->rows - r0, j->X,
                    j->x_stride, j->n_tok, j->out + r0, j->rows);
        }
    }
}

static void run(sw_pool *pool, void (*fn)(void *, int, int), void *arg)
{
    if (sw_pool_threads(pool) == 1)
        fn(arg, 0, 1);
    else
        sw_pool_run_optional(pool, fn, arg);
}

void sw_matmul(sw_pool *pool, float *out, const void *W, uint32_t type, int64_t rows, int64_t cols,
               const float *x, int64_t n_tok)
{
    SWARM_ASSERT(pool != NULL && rows >= 0 && cols >= 0 && n_tok >= 0 && type < SW_TYPE_COUNT);
    if (rows == 0 || n_tok == 0) return;
    if (cols == 0) { /* empty dot products (the kernels would leave out untouched) */
        memset(out, 0, sizeof(float) * (size_t)rows * (size_t)n_tok);
        return;
    }
    const sw_kernel_table *tbl = sw_kernels_current();
    sw_tile_fn tile = tbl->tile[type] ? tbl->tile[type] : sw_kernels_ref.tile[type];
    SWARM_ASSERT(tile != NULL); /* a type the loader should have rejected */
    size_t w_stride = 0;
    bool whole_blocks = sw_type_row_bytes(type, cols, &w_stride);
    SWARM_ASSERT(whole_blocks);

    enum sw_act a = sw_act_of(type);
    const uint8_t *X = (const uint8_t *)x;
    size_t x_stride = (size_t)cols * sizeof(float);
    if (a != SW_ACT_F32) {
        size_t cap = 0;
        uint8_t *buf = sw_pool_scratch(pool, &cap);
        x_stride = sw_act_row_bytes(a, cols);
        SWARM_ASSERT(cap >= x_stride * (size_t)n_tok); /* sw_pool_reserve was not called */
        sw_act_fn q = tbl->act[a] ? tbl->act[a] : sw_kernels_ref.act[a];
        if (n_tok >= 8 && sw_pool_threads(pool) > 1) {
            /* prompt batches: quantize the tokens in parallel too */
            act_job aj = {
                .q = q, .x = x, .cols = cols, .n_tok = n_tok, .buf = buf, .stride = x_stride};
            atomic_init(&aj.next, 0);
            sw_pool_run_optional(pool, act_worker, &aj);
        } else {
            for (int64_t t = 0; t < n_tok; t++)
                q(x + t * cols, buf + (size_t)t * x_stride, cols);
        }
        X = buf;
    }

    if (tbl->amx && sw_amx_type(type) && n_tok >= AMX_MIN_TOKENS && rows >= 16) {
        size_t cap = 0;
        uint8_t *buf = sw_pool_scratch(pool, &cap);
        size_t off = amx_offset(x_stride * (size_t)n_tok);
        SWARM_ASSERT(cap >= off + sw_amx_bytes(type, cols, n_tok));
        amx_job aj = {.type = type,
                      .W = W,
                      .w_stride = w_stride,
                      .rows = rows,
                      .cols = cols,
                      .n_tok = n_tok,
                      .X = X,
                      .x_stride = x_stride,
                      .packed = buf + off,
                      .tile = tile,
                      .out = out};
        aj.n_items = (n_tok + 15) / 16;
        atomic_init(&aj.next, 0);
        run(pool, amx_pack_worker, &aj);
        aj.n_items = rows / 16 + (rows % 16 != 0);
        atomic_store(&aj.next, 0);
        run(pool, amx_gemm_worker, &aj);
        return;
    }

    int nth = sw_pool_threads(pool);
    mm_job j = {.tile = tile,
                .W = W,
                .w_stride = w_stride,
                .rows = rows,
                .cols = cols,
                .X = X,
                .x_stride = x_stride,
                .n_tok = n_tok,
                .out = out};
    /* token tile: keep the tile's activations within ~256 KiB (L2) */
    int64_t tt = (int64_t)((256u << 10) / (x_stride ? x_stride : 1));
    if (tt < 1) tt = 1;
    if (tt > 64) tt = 64;
    if (tt > n_tok) tt = n_tok;
    j.tok_tile = tt;
    int64_t n_tt = (n_tok + tt - 1) / tt;
    /* row chunks: several per thread so a slow (shared) core does not hold
     * everyone up; multiples of 16 for the multi-row SIMD kernels */
    int64_t chunk = rows / ((int64_t)nth * 4);
    chunk = (chunk + 15) & ~(int64_t)15;
    if (chunk < 16) chunk = 16;
    j.row_chunk = chunk;
    j.n_row_chunks = (rows + chunk - 1) / chunk;
    j.n_items = j.n_row_chunks * n_tt;
    atomic_init(&j.next, 0);
    if (nth == 1 || j.n_items == 1)
        mm_worker(&j, 0, 1);
    else
        sw_pool_run_optional(pool, mm_worker, &j);
}
