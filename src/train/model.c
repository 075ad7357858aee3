/*
 * model.c: the trainer's model: parameter layout and initialisation, the
 * forward pass that keeps every activation the backward pass needs, the
 * cross-entropy loss, and the backward pass. The arithmetic mirrors the
 * engine's forward.c (same RMSNorm, interleaved-pair RoPE with the same
 * angle tables, causal grouped-query attention with 1/sqrt(head_dim)
 * scaling, SwiGLU) so a saved checkpoint gives the same logits there.
 * All products go through gemm.c (forward: W transposed, then the row-panel
 * kernel; backward: sw_gemm_nn / sw_gemm_tn); attention and the loss are split over
 * the pool by (sequence, head) and by row. Everything else is serial and in
 * a fixed order, so a step is deterministic for a given machine.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "train_int.h"

/* ------------------------------------------------------------------------ */
/* layout                                                                   */

static void add_tensor(swarm_trainer *t, const char *name, int64_t rows, int64_t cols, bool decay,
                       size_t *off)
{
    sw_tparam *p = &t->tensors[t->n_tensors++];
    snprintf(p->name, sizeof(p->name), "%s", name);
    p->off = t->n_params;
    p->rows = rows;
    p->cols = cols;
    p->decay = decay;
    *off = t->n_params;
    t->n_params += (size_t)(rows * cols);
}

swarm_err sw_train_layout(swarm_trainer *t)
{
    const swarm_train_hparams *hp = &t->hp;
    t->head_dim = hp->dim / hp->n_heads;
    t->qd = hp->n_heads * t->head_dim;
    t->kvd = hp->n_kv_heads * t->head_dim;
    int64_t D = hp->dim, F = hp->ffn_dim, V = hp->n_vocab;
    t->layers = sw_calloc((size_t)hp->n_layers, sizeof(sw_tlayer));
    t->tensors = sw_calloc((size_t)hp->n_layers * 9 + 3, sizeof(sw_tparam));
    if (t->layers == NULL || t->tensors == NULL) return SWARM_ENOMEM;
    add_tensor(t, "token_embd.weight", V, D, true, &t->tok_embd);
    for (int32_t l = 0; l < hp->n_layers; l++) {
        sw_tlayer *L = &t->layers[l];
        char n[48];
#define T(field, suffix, r, c, dec)                         \
    snprintf(n, sizeof(n), "blk.%d.%s", (int)l, suffix);    \
    add_tensor(t, n, r, c, dec, &L->field)
        T(attn_norm, "attn_norm.weight", 1, D, false);
        T(wq, "attn_q.weight", t->qd, D, true);
        T(wk, "attn_k.weight", t->kvd, D, true);
        T(wv, "attn_v.weight", t->kvd, D, true);
        T(wo, "attn_output.weight", D, t->qd, true);
        T(ffn_norm, "ffn_norm.weight", 1, D, false);
        T(w_gate, "ffn_gate.weight", F, D, true);
        T(w_up, "ffn_up.weight", F, D, true);
        T(w_down, "ffn_down.weight", D, F, true);
#undef T
    }
    add_tensor(t, "output_norm.weight", 1, D, false, &t->out_norm);
    if (hp->tied)
        t->output = t->tok_embd;
    else
        add_tensor(t, "output.weight", V, D, true, &t->output);
    size_t n = t->n_params;
    t->params = sw_calloc(n, sizeof(float));
    t->grads = sw_calloc(n, sizeof(float));
    t->adam_m = sw_calloc(n, sizeof(float));
    t->adam_v = sw_calloc(n, sizeof(float));
    int32_t half = t->head_dim / 2;
    t->rope_cos = sw_calloc((size_t)hp->n_ctx * (size_t)half, sizeof(float));
    t->rope_sin = sw_calloc((size_t)hp->n_ctx * (size_t)half, sizeof(float));
    if (!t->params || !t->grads || !t->adam_m || !t->adam_v || !t->rope_cos || !t->rope_sin)
        return SWARM_ENOMEM;
    /* the engine's tables (forward.c): float angle per pair, then pos * f */
    for (int32_t j = 0; j < half; j++) {
        float f = 1.0f / powf(hp->rope_base, (float)(2 * j) / (float)t->head_dim);
        for (int32_t pos = 0; pos < hp->n_ctx; pos++) {
            float val = (float)pos * f;
            t->rope_cos[(size_t)pos * half + j] = cosf(val);
            t->rope_sin[(size_t)pos * half + j] = sinf(val);
        }
    }
    return SWARM_OK;
}

/* ------------------------------------------------------------------------ */
/* activations                                                              */

static size_t up64(size_t n) { return (n + 15) & ~(size_t)15; } /* floats: 64 bytes */

swarm_err sw_train_reserve(swarm_trainer *t, int32_t n_seq, int32_t len)
{
    size_t N = (size_t)n_seq * (size_t)len;
    if (N <= t->cap_rows && len <= t->cap_len) return SWARM_OK;
    if (t->cap_len > len) len = t->cap_len;
    if (t->cap_rows > N) N = t->cap_rows;
    if (n_seq < 1) n_seq = 1;
    const swarm_train_hparams *hp = &t->hp;
    size_t D = (size_t)hp->dim, F = (size_t)hp->ffn_dim, V = (size_t)hp->n_vocab;
    size_t QD = (size_t)t->qd, KVD = (size_t)t->kvd, T = (size_t)len, H = (size_t)hp->n_heads;
    /* attention probabilities for N rows: at most N/T sequences of T x T each */
    size_t att = ((N + T - 1) / T) * H * T * T;
    size_t per_layer = up64(N * D) * 4 + up64(N) * 2 + up64(N * QD) * 2 + up64(N * KVD) * 2 +
                       up64(att) + up64(N * F) * 3;
    size_t wmax = V > F ? V : F;
    if (D > wmax) wmax = D;
    if (QD > wmax) wmax = QD;
    size_t tr = N * wmax;
    size_t wsz[] = {V * D, F * D, QD * D};
    for (int i = 0; i < 3; i++)
        if (wsz[i] > tr) tr = wsz[i];
    size_t total = per_layer * (size_t)hp->n_layers + up64(N * D) * 3 + up64(N) + up64(N * V) +
                   up64(N * D) * 3 + up64(N * QD) * 2 + up64(N * KVD) * 2 + up64(N * F) * 3 +
                   up64((size_t)t->n_threads * T) + up64(tr) * 2 + 16;
    double bytes = (double)total * 4.0;
    if (bytes > 64.0 * 1024 * 1024 * 1024) return SWARM_ENOMEM;
    float *arena = sw_malloc(total * sizeof(float));
    double *rl = sw_calloc(N, sizeof(double));
    sw_tlayer_act *act = sw_calloc((size_t)hp->n_layers, sizeof(sw_tlayer_act));
    if (arena == NULL || rl == NULL || act == NULL) {
        sw_free(arena);
        sw_free(rl);
        sw_free(act);
        return SWARM_ENOMEM;
    }
    sw_free(t->act_arena);
    sw_free(t->row_loss);
    sw_free(t->act);
    t->act_arena = arena;
    t->row_loss = rl;
    t->act = act;
    float *p = (float *)(((uintptr_t)arena + 63) & ~(uintptr_t)63);
#define TAKE(ptr, n)    \
    do {                \
        (ptr) = p;      \
        p += up64(n);   \
    } while (0)
    for (int32_t l = 0; l < hp->n_layers; l++) {
        sw_tlayer_act *a = &act[l];
        TAKE(a->x_in, N * D);
        TAKE(a->rms1, N);
        TAKE(a->xn1, N * D);
        TAKE(a->q, N * QD);
        TAKE(a->k, N * KVD);
        TAKE(a->v, N * KVD);
        TAKE(a->att, att);
        TAKE(a->ao, N * QD);
        TAKE(a->x_mid, N * D);
        TAKE(a->rms2, N);
        TAKE(a->xn2, N * D);
        TAKE(a->g, N * F);
        TAKE(a->u, N * F);
        TAKE(a->h, N * F);
    }
    TAKE(t->x_fin, N * D);
    TAKE(t->rmsf, N);
    TAKE(t->xnf, N * D);
    TAKE(t->logits, N * V);
    TAKE(t->dx, N * D);
    TAKE(t->dxn, N * D);
    TAKE(t->tmp, N * D);
    TAKE(t->dq, N * QD);
    TAKE(t->dao, N * QD);
    TAKE(t->dk, N * KVD);
    TAKE(t->dv, N * KVD);
    TAKE(t->dg, N * F);
    TAKE(t->du, N * F);
    TAKE(t->dh, N * F);
    TAKE(t->datt, (size_t)t->n_threads * T);
    TAKE(t->tr_a, tr);
    TAKE(t->tr_b, tr);
#undef TAKE
    t->cap_rows = N;
    t->cap_len = len;
    return SWARM_OK;
}

/* ------------------------------------------------------------------------ */
/* pieces                                                                   */

static void rmsnorm_fwd(float *y, float *rinv, const float *x, const float *w, size_t N, int32_t D,
                        float eps)
{
    for (size_t i = 0; i < N; i++) {
        const float *xi = x + i * D;
        float *yi = y + i * D;
        /* as the engine: float sum in index order */
        float ss = 0.0f;
        for (int32_t j = 0; j < D; j++) ss += xi[j] * xi[j];
        ss /= (float)D;
        ss += eps;
        ss = 1.0f / sqrtf(ss);
        rinv[i] = ss;
        for (int32_t j = 0; j < D; j++) yi[j] = w[j] * (ss * xi[j]);
    }
}

/* dx (+)= d/dx of y = w * x * r; dw += sum_i dy * x * r. */
static void rmsnorm_bwd(float *dx, float *dw, const float *dy, const float *x, const float *rinv,
                        const float *w, size_t N, int32_t D, bool accumulate)
{
    for (size_t i = 0; i < N; i++) {
        const float *xi = x + i * D, *dyi = dy + i * D;
        float *dxi = dx + i * D;
        float r = rinv[i];
        double dot = 0.0;
        for (int32_t j = 0; j < D; j++) {
            dot += (double)(w[j] * dyi[j]) * xi[j];
            dw[j] += dyi[j] * xi[j] * r;
        }
        float c = (float)(dot * (double)r * r * r / D);
        for (int32_t j = 0; j < D; j++) {
            float g = r * w[j] * dyi[j] - c * xi[j];
            dxi[j] = accumulate ? dxi[j] + g : g;
        }
    }
}

/* Rotates (sign = +1) or back-rotates gradients (sign = -1) of n_head heads. */
static void rope(const swarm_trainer *t, float *v, int32_t n_head, int32_t pos, float sign)
{
    int32_t hd = t->head_dim, half = hd / 2;
    const float *cs = t->rope_cos + (size_t)pos * half, *sn = t->rope_sin + (size_t)pos * half;
    for (int32_t h = 0; h < n_head; h++) {
        float *x = v + (size_t)h * hd;
        for (int32_t j = 0; j < half; j++) {
            float a = x[2 * j], b = x[2 * j + 1], s = sign * sn[j];
            x[2 * j] = a * cs[j] - b * s;
            x[2 * j + 1] = a * s + b * cs[j];
        }
    }
}

/* Vector helpers for attention (head_dim long rows): AVX2 FMA where the
 * CPU has it (t->fma), plain loops otherwise. */
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
__attribute__((target("avx2,fma"))) static float dot_fma(const float *a, const float *b, int32_t n)
{
    __m256 s = _mm256_setzero_ps();
    int32_t i = 0;
    for (; i + 8 <= n; i += 8) s = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s);
    __m128 lo = _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1));
    lo = _mm_add_ps(lo, _mm_movehl_ps(lo, lo));
    lo = _mm_add_ss(lo, _mm_movehdup_ps(lo));
    float r = _mm_cvtss_f32(lo);
    for (; i < n; i++) r += a[i] * b[i];
    return r;
}
/* o += x * v */
__attribute__((target("avx2,fma"))) static void axpy_fma(float *o, float x, const float *v, int32_t n)
{
    __m256 xv = _mm256_set1_ps(x);
    int32_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(o + i, _mm256_fmadd_ps(xv, _mm256_loadu_ps(v + i), _mm256_loadu_ps(o + i)));
    for (; i < n; i++) o[i] += x * v[i];
}
#define HAVE_FMA_HELPERS 1
#endif

static inline float vdot(bool fma, const float *a, const float *b, int32_t n)
{
#ifdef HAVE_FMA_HELPERS
    if (fma) return dot_fma(a, b, n);
#endif
    float d = 0.0f;
    for (int32_t i = 0; i < n; i++) d += a[i] * b[i];
    return d;
}

static inline void vaxpy(bool fma, float *o, float x, const float *v, int32_t n)
{
#ifdef HAVE_FMA_HELPERS
    if (fma) {
        axpy_fma(o, x, v, n);
        return;
    }
#endif
    for (int32_t i = 0; i < n; i++) o[i] += x * v[i];
}

typedef struct att_job {
    swarm_trainer *t;
    sw_tlayer_act *a;
    int32_t n_seq, len;
    bool fma;
} att_job;

static void att_fwd_worker(void *arg, int ith, int nth)
{
    const att_job *j = arg;
    swarm_trainer *t = j->t;
    int32_t H = t->hp.n_heads, hd = t->head_dim, T = j->len;
    int32_t group = H / t->hp.n_kv_heads;
    float scale = 1.0f / sqrtf((float)hd);
    for (int32_t it = ith; it < j->n_seq * H; it += nth) {
        int32_t s = it / H, h = it % H, kvh = h / group;
        float *att = j->a->att + (size_t)it * T * T;
        for (int32_t tq = 0; tq < T; tq++) {
            size_t row = (size_t)s * T + tq;
            const float *q = j->a->q + row * t->qd + (size_t)h * hd;
            float *a = att + (size_t)tq * T;
            float mx = -INFINITY;
            for (int32_t p = 0; p <= tq; p++) {
                const float *k = j->a->k + ((size_t)s * T + p) * t->kvd + (size_t)kvh * hd;
                a[p] = vdot(j->fma, q, k, hd) * scale;
                if (a[p] > mx) mx = a[p];
            }
            float sum = 0.0f;
            for (int32_t p = 0; p <= tq; p++) {
                a[p] = expf(a[p] - mx);
                sum += a[p];
            }
            float inv = 1.0f / sum;
            for (int32_t p = 0; p <= tq; p++) a[p] *= inv;
            for (int32_t p = tq + 1; p < T; p++) a[p] = 0.0f;
            float *o = j->a->ao + row * t->qd + (size_t)h * hd;
            memset(o, 0, (size_t)hd * sizeof(float));
            for (int32_t p = 0; p <= tq; p++) {
                const float *v = j->a->v + ((size_t)s * T + p) * t->kvd + (size_t)kvh * hd;
                vaxpy(j->fma, o, a[p], v, hd);
            }
        }
    }
}

/* One item = one sequence x one KV head with all its query heads, so the
 * item alone writes its rows of dk and dv. */
static void att_bwd_worker(void *arg, int ith, int nth)
{
    const att_job *j = arg;
    swarm_trainer *t = j->t;
    const sw_tlayer_act *A = j->a;
    int32_t H = t->hp.n_heads, KVH = t->hp.n_kv_heads, hd = t->head_dim, T = j->len;
    int32_t group = H / KVH;
    float scale = 1.0f / sqrtf((float)hd);
    float *dA = t->datt + (size_t)ith * T;
    for (int32_t it = ith; it < j->n_seq * KVH; it += nth) {
        int32_t s = it / KVH, kvh = it % KVH;
        for (int32_t p = 0; p < T; p++) {
            size_t row = (size_t)s * T + p;
            memset(t->dk + row * t->kvd + (size_t)kvh * hd, 0, (size_t)hd * sizeof(float));
            memset(t->dv + row * t->kvd + (size_t)kvh * hd, 0, (size_t)hd * sizeof(float));
        }
        for (int32_t h = kvh * group; h < (kvh + 1) * group; h++) {
            const float *att = A->att + ((size_t)s * H + h) * T * T;
            for (int32_t tq = 0; tq < T; tq++) {
                size_t row = (size_t)s * T + tq;
                const float *a = att + (size_t)tq * T;
                const float *dout = t->dao + row * t->qd + (size_t)h * hd;
                const float *q = A->q + row * t->qd + (size_t)h * hd;
                float *dq = t->dq + row * t->qd + (size_t)h * hd;
                float dot = 0.0f;
                for (int32_t p = 0; p <= tq; p++) {
                    size_t pr = ((size_t)s * T + p) * t->kvd + (size_t)kvh * hd;
                    const float *v = A->v + pr;
                    float *dv = t->dv + pr;
                    float d = vdot(j->fma, dout, v, hd);
                    vaxpy(j->fma, dv, a[p], dout, hd);
                    dA[p] = d;
                    dot += a[p] * d;
                }
                memset(dq, 0, (size_t)hd * sizeof(float));
                for (int32_t p = 0; p <= tq; p++) {
                    float ds = a[p] * (dA[p] - dot) * scale;
                    size_t pr = ((size_t)s * T + p) * t->kvd + (size_t)kvh * hd;
                    const float *k = A->k + pr;
                    float *dk = t->dk + pr;
                    vaxpy(j->fma, dq, ds, k, hd);
                    vaxpy(j->fma, dk, ds, q, hd);
                }
            }
        }
    }
}

typedef struct ce_job {
    swarm_trainer *t;
    const int32_t *tokens;
    int32_t n_seq, len, stride;
    bool grad;
    float inv_n; /* 1 / targets counted */
} ce_job;

/* Softmax cross-entropy per row: row_loss[i] (NaN marks "no target");
 * with grad the logits become (p - onehot) / n. */
static void ce_worker(void *arg, int ith, int nth)
{
    const ce_job *j = arg;
    swarm_trainer *t = j->t;
    int32_t V = t->hp.n_vocab;
    size_t N = (size_t)j->n_seq * j->len;
    for (size_t i = (size_t)ith; i < N; i += (size_t)nth) {
        size_t s = i / (size_t)j->len, tt = i % (size_t)j->len;
        int32_t tgt = j->tokens[s * j->stride + tt + 1];
        float *l = t->logits + i * V;
        if (tgt < 0) {
            t->row_loss[i] = NAN;
            if (j->grad) memset(l, 0, (size_t)V * sizeof(float));
            continue;
        }
        float mx = l[0];
        for (int32_t v = 1; v < V; v++)
            if (l[v] > mx) mx = l[v];
        double sum = 0.0;
        for (int32_t v = 0; v < V; v++) sum += exp((double)(l[v] - mx));
        t->row_loss[i] = log(sum) + (double)mx - (double)l[tgt];
        if (j->grad) {
            float isum = (float)(1.0 / sum);
            for (int32_t v = 0; v < V; v++) l[v] = expf(l[v] - mx) * isum * j->inv_n;
            l[tgt] -= j->inv_n;
        }
    }
}

/* ------------------------------------------------------------------------ */
/* forward                                                                  */

/* Y (+)= X W^T for X: N x C, W: R x C. W is transposed first (R*C copies for
 * N*R*C multiply-adds) so the product runs in the row-panel kernel. */
static void linear_fwd(swarm_trainer *t, float *Y, const float *X, const float *W, size_t N,
                       int64_t R, int64_t C, bool acc)
{
    sw_transpose(t->pool, t->tr_b, W, R, C); /* C x R */
    sw_gemm_nn(t->pool, Y, X, t->tr_b, (int64_t)N, R, C, acc);
}

double sw_train_forward(swarm_trainer *t, const int32_t *tokens, int32_t n_seq, int32_t len,
                        int32_t stride, bool with_targets, bool grad, int64_t *n_targets)
{
    const swarm_train_hparams *hp = &t->hp;
    int32_t D = hp->dim, F = hp->ffn_dim, V = hp->n_vocab, QD = t->qd, KVD = t->kvd;
    size_t N = (size_t)n_seq * len;
    const float *P = t->params;
    float *x = t->x_fin; /* the running residual; the last layer's output stays here */
    for (size_t i = 0; i < N; i++) {
        int32_t tok = tokens[(i / len) * stride + i % len];
        if (tok < 0) tok = ~tok; /* an input that is not a target */
        memcpy(x + i * D, P + t->tok_embd + (size_t)tok * D, (size_t)D * sizeof(float));
    }
    for (int32_t l = 0; l < hp->n_layers; l++) {
        const sw_tlayer *L = &t->layers[l];
        sw_tlayer_act *a = &t->act[l];
        memcpy(a->x_in, x, N * D * sizeof(float));
        rmsnorm_fwd(a->xn1, a->rms1, a->x_in, P + L->attn_norm, N, D, hp->norm_eps);
        linear_fwd(t, a->q, a->xn1, P + L->wq, N, QD, D, false);
        linear_fwd(t, a->k, a->xn1, P + L->wk, N, KVD, D, false);
        linear_fwd(t, a->v, a->xn1, P + L->wv, N, KVD, D, false);
        for (size_t i = 0; i < N; i++) {
            int32_t pos = (int32_t)(i % len);
            rope(t, a->q + i * QD, hp->n_heads, pos, 1.0f);
            rope(t, a->k + i * KVD, hp->n_kv_heads, pos, 1.0f);
        }
        att_job aj = {t, a, n_seq, len, t->fma};
        sw_pool_run(t->pool, att_fwd_worker, &aj);
        memcpy(a->x_mid, a->x_in, N * D * sizeof(float));
        linear_fwd(t, a->x_mid, a->ao, P + L->wo, N, D, QD, true);
        rmsnorm_fwd(a->xn2, a->rms2, a->x_mid, P + L->ffn_norm, N, D, hp->norm_eps);
        linear_fwd(t, a->g, a->xn2, P + L->w_gate, N, F, D, false);
        linear_fwd(t, a->u, a->xn2, P + L->w_up, N, F, D, false);
        for (size_t i = 0; i < N * F; i++) {
            float g = a->g[i];
            a->h[i] = g * (1.0f / (1.0f + expf(-g))) * a->u[i];
        }
        memcpy(x, a->x_mid, N * D * sizeof(float));
        linear_fwd(t, x, a->h, P + L->w_down, N, D, F, true);
    }
    rmsnorm_fwd(t->xnf, t->rmsf, x, P + t->out_norm, N, D, hp->norm_eps);
    linear_fwd(t, t->logits, t->xnf, P + t->output, N, V, D, false);
    if (n_targets) *n_targets = 0;
    if (!with_targets) return 0.0;
    int64_t n = 0;
    for (size_t i = 0; i < N; i++) n += tokens[(i / len) * stride + i % len + 1] >= 0;
    if (n_targets) *n_targets = n;
    ce_job cj = {t, tokens, n_seq, len, stride, grad, n > 0 ? 1.0f / (float)n : 0.0f};
    sw_pool_run(t->pool, ce_worker, &cj);
    double sum = 0.0;
    for (size_t i = 0; i < N; i++)
        if (!isnan(t->row_loss[i])) sum += t->row_loss[i];
    return n > 0 ? sum / (double)n : 0.0;
}

/* ------------------------------------------------------------------------ */
/* backward                                                                 */

/* Y = X W^T (X: N x C, W: R x C): dW += dY^T X, dX (+)= dY W. */
static void linear_bwd(swarm_trainer *t, const float *dY, const float *X, const float *W,
                       float *dW, float *dX, size_t N, int64_t R, int64_t C, bool acc_dx)
{
    sw_gemm_tn(t->pool, dW, dY, X, R, C, (int64_t)N, true);
    if (dX == NULL) return;
    sw_gemm_nn(t->pool, dX, dY, W, (int64_t)N, C, R, acc_dx);
}

void sw_train_backward(swarm_trainer *t, const int32_t *tokens, int32_t n_seq, int32_t len,
                       int32_t stride)
{
    const swarm_train_hparams *hp = &t->hp;
    int32_t D = hp->dim, F = hp->ffn_dim, V = hp->n_vocab, QD = t->qd, KVD = t->kvd;
    size_t N = (size_t)n_seq * len;
    const float *P = t->params;
    float *G = t->grads;
    /* head: logits already hold dlogits */
    linear_bwd(t, t->logits, t->xnf, P + t->output, G + t->output, t->dxn, N, V, D, false);
    rmsnorm_bwd(t->dx, G + t->out_norm, t->dxn, t->x_fin, t->rmsf, P + t->out_norm, N, D, false);
    for (int32_t l = hp->n_layers - 1; l >= 0; l--) {
        const sw_tlayer *L = &t->layers[l];
        sw_tlayer_act *a = &t->act[l];
        /* FFN: x_out = x_mid + h Wd^T */
        linear_bwd(t, t->dx, a->h, P + L->w_down, G + L->w_down, t->dh, N, D, F, false);
        for (size_t i = 0; i < N * F; i++) {
            float g = a->g[i], sg = 1.0f / (1.0f + expf(-g));
            float silu = g * sg;
            t->du[i] = t->dh[i] * silu;
            t->dg[i] = t->dh[i] * a->u[i] * sg * (1.0f + g * (1.0f - sg));
        }
        linear_bwd(t, t->dg, a->xn2, P + L->w_gate, G + L->w_gate, t->dxn, N, F, D, false);
        linear_bwd(t, t->du, a->xn2, P + L->w_up, G + L->w_up, t->dxn, N, F, D, true);
        rmsnorm_bwd(t->dx, G + L->ffn_norm, t->dxn, a->x_mid, a->rms2, P + L->ffn_norm, N, D,
                    true);
        /* attention: x_mid = x_in + ao Wo^T */
        linear_bwd(t, t->dx, a->ao, P + L->wo, G + L->wo, t->dao, N, D, QD, false);
        att_job aj = {t, a, n_seq, len, t->fma};
        sw_pool_run(t->pool, att_bwd_worker, &aj);
        for (size_t i = 0; i < N; i++) {
            int32_t pos = (int32_t)(i % len);
            rope(t, t->dq + i * QD, hp->n_heads, pos, -1.0f);
            rope(t, t->dk + i * KVD, hp->n_kv_heads, pos, -1.0f);
        }
        linear_bwd(t, t->dq, a->xn1, P + L->wq, G + L->wq, t->dxn, N, QD, D, false);
        linear_bwd(t, t->dk, a->xn1, P + L->wk, G + L->wk, t->dxn, N, KVD, D, true);
        linear_bwd(t, t->dv, a->xn1, P + L->wv, G + L->wv, t->dxn, N, KVD, D, true);
        rmsnorm_bwd(t->dx, G + L->attn_norm, t->dxn, a->x_in, a->rms1, P + L->attn_norm, N, D,
                    true);
    }
    for (size_t i = 0; i < N; i++) {
        int32_t tok = tokens[(i / len) * stride + i % len];
        if (tok < 0) tok = ~tok;
        float *ge = G + t->tok_embd + (size_t)tok * D;
        const float *dxi = t->dx + i * D;
        for (int32_t j = 0; j < D; j++) ge[j] += dxi[j];
    }
}
