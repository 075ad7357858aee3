/*
 * forward.c: the transformer forward pass (llama, qwen2/3, gemma2/3, phi3): token
 * embedding, per layer RMSNorm -> Q/K/V (+biases) -> RoPE (normal or NEOX)
 * -> causal grouped-query attention over an F32 KV cache -> output
 * projection, RMSNorm -> SwiGLU FFN, then final norm and output head.
 * A batch of tokens goes through each weight matrix in one sw_matmul call;
 * attention is split over (token, head) pairs on the session's thread pool.
 * All buffers come from one arena allocated at create: eval never allocates.
 * The matrix kernels themselves live in kernels/.
 */
#include <math.h>
#include <string.h>

#include "forward.h"

struct sw_fwd {
    sw_hparams hp;
    const sw_weights *w;
    int32_t n_ctx, n_batch;
    int32_t n_logit_rows; /* rows of logits SW_LOGITS_ALL can return (<= n_batch) */
    int32_t q_dim, kv_dim; /* n_heads * head_dim, n_kv_heads * head_dim */
    size_t embd_row_bytes;
    sw_pool *pool;   /* n_threads */
    sw_pool *pool1;  /* the caller alone: for matmuls too small to be worth a wake-up */
    void *arena; /* the one allocation behind every pointer below */
    float *x;        /* (n_batch, dim)      residual stream */
    float *xb;       /* (n_batch, dim)      normed input of a matmul */
    float *xb2;      /* (n_batch, dim)      matmul output added to x */
    float *q;        /* (n_batch, q_dim)    queries */
    float *att_out;  /* (n_batch, q_dim)    attention output per head */
    float *hb;       /* (n_batch, ffn_dim)  gate, then silu(gate) * up */
    float *hb2;      /* (n_batch, ffn_dim)  up */
    float *att;      /* (n_threads, group, n_ctx) attention scores, per thread */
    float *k_cache;  /* (n_layers, n_ctx, kv_dim) */
    float *v_cache;  /* (n_layers, n_ctx, kv_dim) */
    float *rope_cos; /* (n_ctx, rope_dim/2) */
    float *rope_sin; /* (n_ctx, rope_dim/2) */
    float *rope_cos_swa; /* (n_ctx, rope_dim/2) sliding layers' own base (gemma3) */
    float *rope_sin_swa;
    float *logits;   /* (n_logit_rows, n_vocab) */
    const float *last_logits;
    int n_threads;
    sw_fwd_profile *prof; /* NULL: no timing */
};

/* Timing of one step into f->prof (a clock read per step when profiling). */
#define PROF_BEGIN(f) double prof_t0_ = (f)->prof ? sw_now_ms() : 0.0
#define PROF_END(f, op)                                                                            \
    do {                                                                                           \
        if ((f)->prof) {                                                                           \
            double prof_t1_ = sw_now_ms();                                                         \
            (f)->prof->ms[op] += prof_t1_ - prof_t0_;                                              \
            prof_t0_ = prof_t1_;                                                                   \
        }                                                                                          \
    } while (0)

const char *sw_fwd_op_name(enum sw_fwd_op op)
{
    static const char *const names[SW_OP_COUNT] = {"embed", "norm",    "qkv",  "qk-norm+rope",
                                                   "attention", "wo", "residual", "gate+up",
                                                   "activation", "down", "head"};
    return op < SW_OP_COUNT ? names[op] : "?";
}

void sw_fwd_set_profile(sw_fwd *f, sw_fwd_profile *p) { f->prof = p; }

/* ------------------------------------------------------------------------ */
/* rope tables                                                              */

void sw_rope_freqs(const sw_hparams *hp, const float *factors, float *out)
{
    int32_t half = hp->rope_dim / 2;
    for (int32_t j = 0; j < half; j++) {
        /* written like llama2.c's run.c so the angles match it bit for bit */
        float f = 1.0f / powf(hp->rope_base, (float)(2 * j) / (float)hp->rope_dim);
        if (hp->rope_scale_factor > 0.0f && hp->rope_orig_ctx > 0 &&
            hp->rope_high_freq_factor > hp->rope_low_freq_factor) {
            /* llama3 frequency scaling: long wavelengths slowed by the factor,
             * short ones kept, a smooth blend in between */
            double old_ctx = hp->rope_orig_ctx;
            double low_wl = old_ctx / hp->rope_low_freq_factor;
            double high_wl = old_ctx / hp->rope_high_freq_factor;
            double wl = 2.0 * M_PI / f;
            double fs = f;
            if (wl > low_wl) {
                fs = f / hp->rope_scale_factor;
            } else if (wl >= high_wl) {
                double smooth = (old_ctx / wl - hp->rope_low_freq_factor) /
                                (hp->rope_high_freq_factor - hp->rope_low_freq_factor);
                fs = (1.0 - smooth) * f / hp->rope_scale_factor + smooth * f;
            }
            f = (float)fs;
        }
        if (factors != NULL) f /= factors[j];
        out[j] = f;
    }
}

/* ------------------------------------------------------------------------ */
/* create / destroy                                                         */

#define LOGITS_BUDGET_BYTES (16u << 20)

static size_t round_up64(size_t n) { return (n + 63) & ~(size_t)63; }

swarm_err sw_fwd_create(const sw_hparams *hp, const sw_weights *w, const float *rope_freq,
                        int32_t n_ctx, int32_t n_batch, int n_threads, sw_fwd **out)
{
    SWARM_ASSERT(hp != NULL && w != NULL && rope_freq != NULL && out != NULL);
    if (n_ctx <= 0 || n_batch <= 0 || n_threads <= 0) return SWARM_EINVAL;
    sw_fwd *f = sw_calloc(1, sizeof(*f));
    if (f == NULL) return SWARM_ENOMEM;
    swarm_err rc = SWARM_OK;
    f->hp = *hp;
    f->w = w;
    f->n_ctx = n_ctx;
    f->n_batch = n_batch;
    /* all-positions logits are only for scoring and tests: keep them near
     * 16 MB even for 150k-token vocabularies, at least 16 rows */
    int64_t lr = (int64_t)(LOGITS_BUDGET_BYTES / (4u * (uint64_t)hp->n_vocab));
    if (lr < 16) lr = 16;
    f->n_logit_rows = lr < n_batch ? (int32_t)lr : n_batch;
    f->n_threads = n_threads;
    f->q_dim = hp->n_heads * hp->head_dim;
    f->kv_dim = hp->n_kv_heads * hp->head_dim;
    if (!sw_type_row_bytes(w->tok_embd.type, hp->dim, &f->embd_row_bytes)) {
        rc = SWARM_EINVAL;
        goto fail;
    }

    /* One block for everything; each piece 64-byte aligned. Sizes are in
     * floats; the size_t products are checked because n_ctx comes from the
     * caller. */
    size_t nb = (size_t)n_batch, half = (size_t)hp->rope_dim / 2;
    size_t dim = (size_t)hp->dim, ffn = (size_t)hp->ffn_dim, vocab = (size_t)hp->n_vocab;
    size_t qd = (size_t)f->q_dim, kvd = (size_t)f->kv_dim;
    size_t cache = 0, sizes[20];
    int np = 0;
    if (!sw_mul_ok((size_t)hp->n_layers * (size_t)n_ctx, kvd, &cache)) {
        rc = SWARM_ENOMEM;
        goto fail;
    }
    sizes[np++] = nb * dim;                    /* x */
    sizes[np++] = nb * (dim > qd ? dim : qd);  /* xb */
    sizes[np++] = nb * dim;                    /* xb2 */
    sizes[np++] = nb * qd;                     /* q */
    sizes[np++] = nb * qd;                     /* att_out */
    sizes[np++] = nb * ffn;                    /* hb */
    sizes[np++] = nb * ffn;                    /* hb2 */
    sizes[np++] = (size_t)n_threads * (size_t)(hp->n_heads / hp->n_kv_heads) * (size_t)n_ctx; /* att */
    sizes[np++] = cache;                       /* k_cache */
    sizes[np++] = cache;                       /* v_cache */
    sizes[np++] = (size_t)n_ctx * half;        /* rope_cos */
    sizes[np++] = (size_t)n_ctx * half;        /* rope_sin */
    sizes[np++] = (size_t)n_ctx * half;        /* rope_cos_swa */
    sizes[np++] = (size_t)n_ctx * half;        /* rope_sin_swa */
    sizes[np++] = (size_t)f->n_logit_rows * vocab; /* logits */
    size_t total = 0;
    for (int i = 0; i < np; i++) {
        size_t b;
        if (!sw_mul_ok(sizes[i], sizeof(float), &b) || !sw_add_ok(total, round_up64(b), &total)) {
            rc = SWARM_ENOMEM;
            goto fail;
        }
    }
    if (!sw_add_ok(total, 64, &total) || (f->arena = sw_malloc(total)) == NULL) {
        rc = SWARM_ENOMEM;
        goto fail;
    }
    uint8_t *p = (uint8_t *)(((uintptr_t)f->arena + 63) & ~(uintptr_t)63);
    float **dst[] = {&f->x,       &f->xb,      &f->xb2,     &f->q,
                     &f->att_out, &f->hb,      &f->hb2,     &f->att,      &f->k_cache,
                     &f->v_cache, &f->rope_cos, &f->rope_sin, &f->rope_cos_swa,
                     &f->rope_sin_swa, &f->logits};
    for (int i = 0; i < np; i++) {
        *dst[i] = (float *)p;
        p += round_up64(sizes[i] * sizeof(float));
    }
    /* zeroed so a bug reading unwritten cache rows is deterministic */
    memset(f->k_cache, 0, cache * sizeof(float));
    memset(f->v_cache, 0, cache * sizeof(float));

    for (int32_t pos = 0; pos < n_ctx; pos++) {
        for (size_t j = 0; j < half; j++) {
            float val = (float)pos * rope_freq[j];
            f->rope_cos[(size_t)pos * half + j] = cosf(val);
            f->rope_sin[(size_t)pos * half + j] = sinf(val);
        }
    }
    if (hp->rope_base_swa > 0.0f && hp->rope_base_swa != hp->rope_base) {
        sw_hparams hs = *hp;
        hs.rope_base = hp->rope_base_swa;
        float freq_swa[512];
        SWARM_ASSERT(half <= sizeof(freq_swa) / sizeof(freq_swa[0]));
        sw_rope_freqs(&hs, NULL, freq_swa);
        for (int32_t pos = 0; pos < n_ctx; pos++) {
            for (size_t j = 0; j < half; j++) {
                float val = (float)pos * freq_swa[j];
                f->rope_cos_swa[(size_t)pos * half + j] = cosf(val);
                f->rope_sin_swa[(size_t)pos * half + j] = sinf(val);
            }
        }
    } else {
        memcpy(f->rope_cos_swa, f->rope_cos, (size_t)n_ctx * half * sizeof(float));
        memcpy(f->rope_sin_swa, f->rope_sin, (size_t)n_ctx * half * sizeof(float));
    }

    if ((rc = sw_pool_create(n_threads, &f->pool)) != SWARM_OK) goto fail;
    /* reserve the kernels' activation scratch for the largest shape we use */
    size_t scratch = 0;
    const sw_tensor *mats[] = {&w->output};
    for (int i = 0; i < 1; i++) {
        size_t s = sw_matmul_scratch_bytes(mats[i]->type, mats[i]->cols, n_batch);
        if (s > scratch) scratch = s;
    }
    for (int32_t l = 0; l < hp->n_layers; l++) {
        const sw_layer *L = &w->layers[l];
        const sw_tensor *lm[] = {&L->wq, &L->wk, &L->wv, &L->wo, &L->w_gate, &L->w_up,
                                 &L->w_down};
        for (int i = 0; i < 7; i++) {
            size_t s = sw_matmul_scratch_bytes(lm[i]->type, lm[i]->cols, n_batch);
            if (s > scratch) scratch = s;
        }
    }
    if ((rc = sw_pool_reserve(f->pool, scratch)) != SWARM_OK) goto fail;
    if ((rc = sw_pool_create(1, &f->pool1)) != SWARM_OK) goto fail;
    if ((rc = sw_pool_reserve(f->pool1, scratch)) != SWARM_OK) goto fail;
    *out = f;
    return SWARM_OK;
fail:
    sw_fwd_destroy(f);
    return rc;
}

void sw_fwd_destroy(sw_fwd *f)
{
    if (f == NULL) return;
    if (f->pool != NULL) sw_pool_destroy(f->pool);
    if (f->pool1 != NULL) sw_pool_destroy(f->pool1);
    sw_free(f->arena);
    sw_free(f);
}

int32_t sw_fwd_n_ctx(const sw_fwd *f) { return f->n_ctx; }
int32_t sw_fwd_n_batch(const sw_fwd *f) { return f->n_batch; }
int32_t sw_fwd_n_logit_rows(const sw_fwd *f) { return f->n_logit_rows; }
const float *sw_fwd_last_logits(const sw_fwd *f) { return f->last_logits; }

/* ------------------------------------------------------------------------ */
/* elementwise pieces                                                       */

/* Accumulates in float in index order, as llama2.c's run.c does. */
static void rmsnorm(float *o, const float *x, const float *wt, int32_t n, float eps)
{
    float ss = 0.0f;
    for (int32_t j = 0; j < n; j++) ss += x[j] * x[j];
    ss /= (float)n;
    ss += eps;
    ss = 1.0f / sqrtf(ss);
    for (int32_t j = 0; j < n; j++) o[j] = wt[j] * (ss * x[j]);
}

static void add_bias(float *v, const sw_tensor *b, int32_t n_tok, int32_t rows)
{
    if (b->data == NULL) return;
    const float *bb = b->data;
    for (int32_t t = 0; t < n_tok; t++)
        for (int32_t r = 0; r < rows; r++) v[(size_t)t * rows + r] += bb[r];
}

/* Rotates each head of v (n_head heads of head_dim) for one position, with
 * the sliding layers' table when swa. */
static void rope_apply(const sw_fwd *f, float *v, int32_t n_head, int32_t pos, bool swa)
{
    int32_t hd = f->hp.head_dim, half = f->hp.rope_dim / 2;
    const float *cs = (swa ? f->rope_cos_swa : f->rope_cos) + (size_t)pos * half;
    const float *sn = (swa ? f->rope_sin_swa : f->rope_sin) + (size_t)pos * half;
    for (int32_t h = 0; h < n_head; h++) {
        float *x = v + (size_t)h * hd;
        if (f->hp.rope_style == SW_ROPE_NEOX) {
            for (int32_t j = 0; j < half; j++) {
                float a = x[j], b = x[j + half];
                x[j] = a * cs[j] - b * sn[j];
                x[j + half] = a * sn[j] + b * cs[j];
            }
        } else {
            for (size_t j = 0; j < (size_t)half; j++) {
                float a = x[2 * j], b = x[2 * j + 1];
                x[2 * j] = a * cs[j] - b * sn[j];
                x[2 * j + 1] = a * sn[j] + b * cs[j];
            }
        }
    }
}

/* GELU, tanh form (gemma's GeGLU). Exact here; llama.cpp reads an FP16
 * table for |x| < 10, which differs by up to ~4e-4 in the reference logits. */
static inline float gelu_tanh(float x)
{
    return 0.5f * x * (1.0f + tanhf(0.7978845608f * x * (1.0f + 0.044715f * x * x)));
}

/* RMSNorm of each head_dim slice of the n_head heads at v, in place. */
static void head_norm(float *v, const sw_tensor *w, int32_t n_head, int32_t hd, float eps)
{
    for (int32_t h = 0; h < n_head; h++) rmsnorm(v + (size_t)h * hd, v + (size_t)h * hd, w->data, hd, eps);
}

/* x = c tanh(x / c) over n values */
static void softcap(float *x, size_t n, float c)
{
    for (size_t i = 0; i < n; i++) x[i] = c * tanhf(x[i] / c);
}

/* ------------------------------------------------------------------------ */
/* attention, threaded over (token, head) pairs                             */

/* Dot product with eight independent partial sums: the compiler turns the
 * inner loop into vector code without needing to reorder a single sum. */
static inline float dot8(const float *a, const float *b, int32_t n)
{
    float acc[8] = {0};
    int32_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++) acc[j] += a[i + j] * b[i + j];
    float s = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
    for (; i < n; i++) s += a[i] * b[i];
    return s;
}

/* o += a * v */
static inline void axpy(float *restrict o, float a, const float *restrict v, int32_t n)
{
    int32_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++) o[i + j] += a * v[i + j];
    for (; i < n; i++) o[i] += a * v[i];
}

/* o += a0 v0 + a1 v1 + a2 v2 + a3 v3 (the four summed first, in pairs) */
static inline void axpy4(float *restrict o, float a0, float a1, float a2, float a3,
                         const float *restrict v0, const float *restrict v1,
                         const float *restrict v2, const float *restrict v3, int32_t n)
{
    int32_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++)
            o[i + j] += (a0 * v0[i + j] + a1 * v1[i + j]) + (a2 * v2[i + j] + a3 * v3[i + j]);
    for (; i < n; i++) o[i] += (a0 * v0[i] + a1 * v1[i]) + (a2 * v2[i] + a3 * v3[i]);
}

/* The clone is picked by an ifunc resolver that runs while the program is
 * relocated, before ThreadSanitizer's runtime is up: an instrumented
 * resolver crashes there, so TSan builds use the plain function. */
#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define SW_TSAN 1
#endif
#endif
#if defined(__SANITIZE_THREAD__)
#define SW_TSAN 1
#endif
#if defined(__x86_64__) && defined(__GNUC__) && !defined(SW_TSAN)
#define ATT_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define ATT_CLONES
#endif

typedef struct att_job {
    sw_fwd *f;
    int32_t layer, n_tok, pos0;
    int32_t n_chunks, chunk; /* the query heads of a KV head, split for parallelism */
    sw_fwd *const *seqs;     /* batched decoding: token t's cache is seqs[t]'s (NULL: f's) */
    const int32_t *positions; /* and its position (NULL: pos0 + t) */
} att_job;

/*
 * One item = one token x one KV head x a chunk of the query heads sharing
 * it: each K and V row is loaded once for all of them, which is what bounds
 * attention at long contexts. Per head the arithmetic (and so every bit of
 * the result) is the same as computing the heads one by one.
 * Built for AVX2 as well as the baseline; the loader picks one at start-up.
 * Without FMA contraction (ISO C mode) both give the same bits.
 */
ATT_CLONES
static void attention_worker(void *arg, int ith, int nth)
{
    const att_job *j = arg;
    sw_fwd *f = j->f;
    const sw_hparams *hp = &f->hp;
    int32_t hd = hp->head_dim, kvd = f->kv_dim, qd = f->q_dim, n_ctx = f->n_ctx;
    int32_t group = hp->n_heads / hp->n_kv_heads;
    float scale = hp->attn_scale > 0.0f ? hp->attn_scale : 1.0f / sqrtf((float)hd);
    float cap = hp->attn_softcap;
    bool swa = sw_layer_swa(hp, j->layer);
    float *att = f->att + (size_t)ith * group * n_ctx; /* (group, n_ctx) */
    int32_t per_tok = hp->n_kv_heads * j->n_chunks;
    int32_t n_items = j->n_tok * per_tok;
    for (int32_t it = ith; it < n_items; it += nth) {
        int32_t t = it / per_tok, r = it % per_tok;
        int32_t kvh = r / j->n_chunks, c = r % j->n_chunks;
        int32_t h0 = kvh * group + c * j->chunk;
        int32_t h1 = h0 + j->chunk < (kvh + 1) * group ? h0 + j->chunk : (kvh + 1) * group;
        int32_t G = h1 - h0, pos = j->positions ? j->positions[t] : j->pos0 + t;
        if (G <= 0) continue;
        const sw_fwd *src = j->seqs ? j->seqs[t] : f; /* same n_ctx as f */
        const float *kc = src->k_cache + (size_t)j->layer * n_ctx * kvd;
        const float *vc = src->v_cache + (size_t)j->layer * n_ctx * kvd;
        /* sliding layers: key p is seen when pos - p < window (llama.cpp's rule) */
        int32_t p0 = swa && pos - hp->swa_window + 1 > 0 ? pos - hp->swa_window + 1 : 0;
        const float *q = f->q + (size_t)t * qd + (size_t)h0 * hd;
        size_t koff = (size_t)kvh * hd;
        for (int32_t p = p0; p <= pos; p++) {
            const float *k = kc + (size_t)p * kvd + koff;
            for (int32_t g = 0; g < G; g++)
                att[(size_t)g * n_ctx + p] = dot8(q + (size_t)g * hd, k, hd) * scale;
        }
        for (int32_t g = 0; g < G; g++) {
            float *a = att + (size_t)g * n_ctx;
            if (cap > 0.0f) /* gemma2 soft-capping, before the softmax */
                for (int32_t p = p0; p <= pos; p++) a[p] = cap * tanhf(a[p] / cap);
            float mx = -INFINITY;
            for (int32_t p = p0; p <= pos; p++)
                if (a[p] > mx) mx = a[p];
            float sum = 0.0f;
            for (int32_t p = p0; p <= pos; p++) {
                a[p] = expf(a[p] - mx);
                sum += a[p];
            }
            float inv = 1.0f / sum;
            for (int32_t p = p0; p <= pos; p++) a[p] *= inv;
        }
        float *o = f->att_out + (size_t)t * qd + (size_t)h0 * hd;
        memset(o, 0, (size_t)G * hd * sizeof(float));
        /* four positions per pass over o: a quarter of the loads and stores */
        int32_t p = p0;
        for (; p + 4 <= pos + 1; p += 4) {
            const float *v = vc + (size_t)p * kvd + koff;
            for (int32_t g = 0; g < G; g++) {
                const float *a = att + (size_t)g * n_ctx + p;
                axpy4(o + (size_t)g * hd, a[0], a[1], a[2], a[3], v, v + kvd, v + 2 * (size_t)kvd,
                      v + 3 * (size_t)kvd, hd);
            }
        }
        for (; p <= pos; p++) {
            const float *v = vc + (size_t)p * kvd + koff;
            for (int32_t g = 0; g < G; g++)
                axpy(o + (size_t)g * hd, att[(size_t)g * n_ctx + p], v, hd);
        }
    }
}

/* ------------------------------------------------------------------------ */
/* the forward pass                                                         */

/* Below this many multiply-adds a matmul takes a few microseconds, less
 * than waking the other threads costs on a busy machine. */
#define MATMUL_THREAD_MIN (1 << 17)

static void matmul(sw_fwd *f, float *out, const sw_tensor *w, const float *x, int32_t n_tok)
{
    double work = (double)w->rows * (double)w->cols * (double)n_tok;
    sw_pool *p = work < MATMUL_THREAD_MIN ? f->pool1 : f->pool;
    sw_matmul(p, out, w->data, w->type, w->rows, w->cols, x, n_tok);
}

/*
 * One forward pass over n tokens. Single sequence (seqs == NULL): positions
 * pos0.. of f's cache, the K/V rows written in place. Batched decoding:
 * token t belongs to seqs[t] at positions[t]; the matmuls run once over
 * all n rows (the weights are read once), the K/V rows go through f's FFN
 * buffers into each sequence's cache, and attention reads each token's own cache.
 */
static const float *eval_core(sw_fwd *f, sw_fwd *const *seqs, const int32_t *tokens, int32_t n,
                              int32_t pos0, const int32_t *positions, enum sw_logits_mode mode)
{
    const sw_hparams *hp = &f->hp;
    const sw_weights *w = f->w;
    int32_t dim = hp->dim, ffn = hp->ffn_dim, qd = f->q_dim, kvd = f->kv_dim;
    int32_t group = hp->n_heads / hp->n_kv_heads;
    PROF_BEGIN(f);
    if (f->prof) f->prof->evals++;

    /* token embeddings (dequantized rows) */
    for (int32_t t = 0; t < n; t++) {
        SWARM_ASSERT(tokens[t] >= 0 && tokens[t] < hp->n_vocab);
        const uint8_t *row = (const uint8_t *)w->tok_embd.data + (size_t)tokens[t] * f->embd_row_bytes;
        sw_dequantize_row(w->tok_embd.type, row, f->x + (size_t)t * dim, dim);
        if (hp->embd_scale > 0.0f)
            for (int32_t i = 0; i < dim; i++) f->x[(size_t)t * dim + i] *= hp->embd_scale;
    }
    PROF_END(f, SW_OP_EMBED);

    int32_t max_pos = pos0 + n - 1;
    if (positions != NULL)
        for (int32_t t = 0; t < n; t++) max_pos = positions[t] > max_pos ? positions[t] : max_pos;
#define POS(t) (positions != NULL ? positions[t] : pos0 + (t))

    for (int32_t l = 0; l < hp->n_layers; l++) {
        const sw_layer *L = &w->layers[l];
        /* single sequence: straight into the cache; batched: staged in hb / hb2 */
        float *kc = seqs ? f->hb : f->k_cache + ((size_t)l * f->n_ctx + pos0) * kvd;
        float *vc = seqs ? f->hb2 : f->v_cache + ((size_t)l * f->n_ctx + pos0) * kvd;

        for (int32_t t = 0; t < n; t++)
            rmsnorm(f->xb + (size_t)t * dim, f->x + (size_t)t * dim, L->attn_norm.data, dim,
                    hp->norm_eps);
        PROF_END(f, SW_OP_NORM);
        /* the K and V rows of these positions are contiguous in the cache,
         * so the matmuls write them in place */
        matmul(f, f->q, &L->wq, f->xb, n);
        matmul(f, kc, &L->wk, f->xb, n);
        matmul(f, vc, &L->wv, f->xb, n);
        add_bias(f->q, &L->bq, n, qd);
        add_bias(kc, &L->bk, n, kvd);
        add_bias(vc, &L->bv, n, kvd);
        PROF_END(f, SW_OP_QKV);
        bool swa = sw_layer_swa(hp, l);
        for (int32_t t = 0; t < n; t++) {
            if (L->q_norm.data != NULL) {
                head_norm(f->q + (size_t)t * qd, &L->q_norm, hp->n_heads, hp->head_dim, hp->norm_eps);
                head_norm(kc + (size_t)t * kvd, &L->k_norm, hp->n_kv_heads, hp->head_dim,
                          hp->norm_eps);
            }
            rope_apply(f, f->q + (size_t)t * qd, hp->n_heads, POS(t), swa);
            rope_apply(f, kc + (size_t)t * kvd, hp->n_kv_heads, POS(t), swa);
        }
        if (seqs != NULL)
            for (int32_t t = 0; t < n; t++) {
                size_t off = ((size_t)l * f->n_ctx + (size_t)positions[t]) * kvd;
                memcpy(seqs[t]->k_cache + off, kc + (size_t)t * kvd, (size_t)kvd * sizeof(float));
                memcpy(seqs[t]->v_cache + off, vc + (size_t)t * kvd, (size_t)kvd * sizeof(float));
            }
        PROF_END(f, SW_OP_ROPE);

        /* small jobs are cheaper on this thread than a pool wake-up */
        double work = (double)n * hp->n_heads * (max_pos + 1) * hp->head_dim;
        bool threaded = f->n_threads > 1 && work > 32768.0;
        att_job job = {.f = f, .layer = l, .n_tok = n, .pos0 = pos0, .n_chunks = 1, .chunk = group,
                       .seqs = seqs, .positions = positions};
        if (threaded) {
            /* at least two items per thread, splitting head groups if needed */
            int32_t items = n * hp->n_kv_heads, want = 2 * f->n_threads;
            if (items < want) {
                job.n_chunks = (want + items - 1) / items;
                if (job.n_chunks > group) job.n_chunks = group;
                job.chunk = (group + job.n_chunks - 1) / job.n_chunks;
            }
            sw_pool_run(f->pool, attention_worker, &job);
        } else {
            attention_worker(&job, 0, 1);
        }
        PROF_END(f, SW_OP_ATTN);

        matmul(f, f->xb2, &L->wo, f->att_out, n);
        PROF_END(f, SW_OP_WO);
        if (L->post_attn_norm.data != NULL)
            for (int32_t t = 0; t < n; t++)
                rmsnorm(f->xb2 + (size_t)t * dim, f->xb2 + (size_t)t * dim, L->post_attn_norm.data,
                        dim, hp->norm_eps);
        PROF_END(f, SW_OP_NORM);
        for (size_t i = 0; i < (size_t)n * dim; i++) f->x[i] += f->xb2[i];
        PROF_END(f, SW_OP_RESID);

        for (int32_t t = 0; t < n; t++)
            rmsnorm(f->xb + (size_t)t * dim, f->x + (size_t)t * dim, L->ffn_norm.data, dim,
                    hp->norm_eps);
        PROF_END(f, SW_OP_NORM);
        matmul(f, f->hb, &L->w_gate, f->xb, n);
        matmul(f, f->hb2, &L->w_up, f->xb, n);
        PROF_END(f, SW_OP_GATE_UP);
        if (hp->geglu) {
            for (size_t i = 0; i < (size_t)n * ffn; i++) f->hb[i] = gelu_tanh(f->hb[i]) * f->hb2[i];
        } else {
            for (size_t i = 0; i < (size_t)n * ffn; i++) {
                float g = f->hb[i];
                g *= 1.0f / (1.0f + expf(-g)); /* SiLU */
                f->hb[i] = g * f->hb2[i];
            }
        }
        PROF_END(f, SW_OP_ACT);
        matmul(f, f->xb2, &L->w_down, f->hb, n);
        PROF_END(f, SW_OP_DOWN);
        if (L->post_ffn_norm.data != NULL)
            for (int32_t t = 0; t < n; t++)
                rmsnorm(f->xb2 + (size_t)t * dim, f->xb2 + (size_t)t * dim, L->post_ffn_norm.data,
                        dim, hp->norm_eps);
        PROF_END(f, SW_OP_NORM);
        for (size_t i = 0; i < (size_t)n * dim; i++) f->x[i] += f->xb2[i];
        PROF_END(f, SW_OP_RESID);
    }

    if (mode == SW_LOGITS_NONE) return NULL;
    SWARM_ASSERT(mode != SW_LOGITS_ALL || n <= f->n_logit_rows);
    int32_t first = mode == SW_LOGITS_ALL ? 0 : n - 1;
    int32_t rows = n - first;
    for (int32_t t = 0; t < rows; t++)
        rmsnorm(f->xb + (size_t)t * dim, f->x + (size_t)(first + t) * dim, w->out_norm.data, dim,
                hp->norm_eps);
    matmul(f, f->logits, &w->output, f->xb, rows);
    if (hp->final_softcap > 0.0f)
        softcap(f->logits, (size_t)rows * (size_t)hp->n_vocab, hp->final_softcap);
    PROF_END(f, SW_OP_HEAD);
    f->last_logits = f->logits + (size_t)(rows - 1) * hp->n_vocab;
    return f->logits;
#undef POS
}

const float *sw_fwd_eval(sw_fwd *f, const int32_t *tokens, int32_t n, int32_t pos0,
                         enum sw_logits_mode mode)
{
    SWARM_ASSERT(n >= 1 && n <= f->n_batch && pos0 >= 0 && pos0 + n <= f->n_ctx);
    return eval_core(f, NULL, tokens, n, pos0, NULL, mode);
}

const float *sw_fwd_eval_multi(sw_fwd *f, sw_fwd *const *seqs, const int32_t *tokens,
                               const int32_t *positions, int32_t n)
{
    SWARM_ASSERT(n >= 1 && n <= f->n_batch && n <= f->n_logit_rows && seqs && positions);
    /* the K/V rows are staged in the FFN buffers */
    SWARM_ASSERT(f->kv_dim <= f->hp.ffn_dim);
    for (int32_t t = 0; t < n; t++) {
        SWARM_ASSERT(seqs[t]->w == f->w && seqs[t]->n_ctx == f->n_ctx);
        SWARM_ASSERT(positions[t] >= 0 && positions[t] < f->n_ctx);
    }
    return eval_core(f, seqs, tokens, n, 0, positions, SW_LOGITS_ALL);
}

void sw_fwd_set_last_logits(sw_fwd *f, const float *row)
{
    /* memmove: row may be f's own row 0 (batched decoding's workspace) */
    memmove(f->logits, row, sizeof(float) * (size_t)f->hp.n_vocab);
    f->last_logits = f->logits;
}

const float *sw_fwd_eval_all(sw_fwd *f, const int32_t *tokens, int32_t n, int32_t pos)
{
    const float *lg = NULL;
    for (int32_t done = 0; done < n;) {
        int32_t k = n - done < f->n_batch ? n - done : f->n_batch;
        bool last = done + k == n;
        lg = sw_fwd_eval(f, tokens + done, k, pos + done, last ? SW_LOGITS_LAST : SW_LOGITS_NONE);
        done += k;
    }
    return lg;
}
