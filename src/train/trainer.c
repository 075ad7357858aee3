/*
 * trainer.c: the public trainer API: creation with seeded initialisation,
 * the optimizer step (forward, backward, global-norm clipping, AdamW with
 * decoupled weight decay on matrices only, warmup + cosine schedule),
 * validation loss, logits.
 */
#include <math.h>
#include <string.h>

#include "train_int.h"

swarm_train_opt swarm_train_opt_default(void)
{
    swarm_train_opt o = {.lr = 1e-3f, .min_lr = 1e-4f, .warmup = 20, .total_steps = 1000,
                         .beta1 = 0.9f, .beta2 = 0.95f, .eps = 1e-8f, .weight_decay = 0.1f,
                         .clip = 1.0f};
    return o;
}

uint64_t sw_train_rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

double sw_train_rng_normal(uint64_t *s)
{
    double u1 = ((double)(sw_train_rng_next(s) >> 11) + 0.5) / 9007199254740992.0;
    double u2 = (double)(sw_train_rng_next(s) >> 11) / 9007199254740992.0;
    return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

static swarm_err check_hparams(const swarm_train_hparams *hp, swarm_diag *d)
{
    if (hp->dim < 2 || hp->dim > 65536 || hp->ffn_dim < 1 || hp->ffn_dim > 1 << 20 ||
        hp->n_layers < 1 || hp->n_layers > 1024 || hp->n_heads < 1 || hp->n_vocab < 2 ||
        hp->n_vocab > 1 << 22 || hp->n_ctx < 2 || hp->n_ctx > 1 << 16)
        return sw_diag_set(d, SWARM_EINVAL,
                           "model shape out of range (dim %d, ffn %d, layers %d, heads %d, "
                           "vocab %d, context %d)",
                           hp->dim, hp->ffn_dim, hp->n_layers, hp->n_heads, hp->n_vocab, hp->n_ctx);
    if (hp->dim % hp->n_heads != 0 || (hp->dim / hp->n_heads) % 2 != 0)
        return sw_diag_set(d, SWARM_EINVAL, "dim %d must be heads (%d) x an even head size",
                           hp->dim, hp->n_heads);
    if (hp->n_kv_heads < 1 || hp->n_heads % hp->n_kv_heads != 0)
        return sw_diag_set(d, SWARM_EINVAL, "kv heads %d must divide heads %d", hp->n_kv_heads,
                           hp->n_heads);
    if (!(hp->rope_base > 1.0f) || !(hp->norm_eps > 0.0f && hp->norm_eps < 1.0f))
        return sw_diag_set(d, SWARM_EINVAL, "rope base must be > 1 and norm eps in (0, 1)");
    return SWARM_OK;
}

/* Allocates a trainer with its layout and pool; weights left zero. */
swarm_err sw_train_alloc(const swarm_train_hparams *hp, int n_threads, swarm_trainer **out,
                         swarm_diag *d)
{
    swarm_err rc = check_hparams(hp, d);
    if (rc) return rc;
    swarm_trainer *t = sw_calloc(1, sizeof(*t));
    if (t == NULL) return sw_diag_set(d, SWARM_ENOMEM, "out of memory");
    t->hp = *hp;
    t->n_threads = n_threads > 0 ? n_threads : sw_cpu_count();
#if defined(__x86_64__) && defined(__GNUC__)
    t->fma = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#endif
    if ((rc = sw_train_layout(t)) != SWARM_OK ||
        (rc = sw_pool_create(t->n_threads, &t->pool)) != SWARM_OK) {
        swarm_trainer_destroy(t);
        return sw_diag_set(d, rc, "out of memory for a model of this size");
    }
    *out = t;
    return SWARM_OK;
}

swarm_err swarm_trainer_create(const swarm_train_hparams *hp, uint64_t seed, int n_threads,
                               swarm_trainer **out, swarm_diag *d)
{
    if (hp == NULL || out == NULL) return sw_diag_set(d, SWARM_EINVAL, "no hyperparameters");
    swarm_trainer *t;
    swarm_err rc = sw_train_alloc(hp, n_threads, &t, d);
    if (rc) return rc;
    t->seed = seed;
    uint64_t s = seed ^ 0x5eed5eed5eedull;
    /* GPT-2 style: N(0, 0.02), residual projections scaled by 1/sqrt(2L) */
    double res_scale = 1.0 / sqrt(2.0 * hp->n_layers);
    for (size_t i = 0; i < t->n_tensors; i++) {
        const sw_tparam *p = &t->tensors[i];
        float *w = t->params + p->off;
        size_t n = (size_t)(p->rows * p->cols);
        if (!p->decay) {
            for (size_t k = 0; k < n; k++) w[k] = 1.0f;
            continue;
        }
        double std = 0.02;
        if (strstr(p->name, "attn_output") || strstr(p->name, "ffn_down")) std *= res_scale;
        for (size_t k = 0; k < n; k++) w[k] = (float)(std * sw_train_rng_normal(&s));
    }
    *out = t;
    return SWARM_OK;
}

void swarm_trainer_destroy(swarm_trainer *t)
{
    if (t == NULL) return;
    if (t->pool) sw_pool_destroy(t->pool);
    sw_free(t->layers);
    sw_free(t->tensors);
    sw_free(t->params);
    sw_free(t->grads);
    sw_free(t->adam_m);
    sw_free(t->adam_v);
    sw_free(t->rope_cos);
    sw_free(t->rope_sin);
    sw_free(t->act_arena);
    sw_free(t->act);
    sw_free(t->row_loss);
    sw_free(t);
}

const swarm_train_hparams *swarm_trainer_hparams(const swarm_trainer *t) { return &t->hp; }
int64_t swarm_trainer_n_params(const swarm_trainer *t) { return (int64_t)t->n_params; }
int64_t swarm_trainer_step_count(const swarm_trainer *t) { return t->step; }

double swarm_trainer_step_flops(const swarm_trainer *t, int32_t n_seq, int32_t len)
{
    const swarm_train_hparams *hp = &t->hp;
    double N = (double)n_seq * len, D = hp->dim, F = hp->ffn_dim;
    double mat = (double)hp->n_layers * (D * t->qd * 2 + D * t->kvd * 2 + 3 * D * F) +
                 (double)hp->n_vocab * D;
    /* per layer: QK^T and AV over the causal half, each 2 flops per MAC */
    double att = (double)hp->n_layers * n_seq * hp->n_heads * (len * (len + 1) / 2.0) *
                 t->head_dim * 2.0 * 2.0;
    /* backward costs twice the forward (input and weight gradients) */
    return 3.0 * (2.0 * N * mat + att);
}

float swarm_train_lr(const swarm_train_opt *o, int64_t step)
{
    if (o->warmup > 0 && step < o->warmup) return o->lr * (float)(step + 1) / (float)o->warmup;
    int64_t span = o->total_steps - o->warmup;
    if (span <= 0 || step >= o->total_steps) return o->min_lr;
    double frac = (double)(step - o->warmup) / (double)span;
    return o->min_lr + (float)(0.5 * (1.0 + cos(M_PI * frac))) * (o->lr - o->min_lr);
}

/* Ids are valid once a "not a target" mark (~id) is undone. */
static swarm_err check_batch(swarm_trainer *t, const int32_t *tokens, int32_t n_seq, int32_t len)
{
    if (tokens == NULL || n_seq < 1 || len < 1 || len > t->hp.n_ctx) return SWARM_EINVAL;
    for (size_t i = 0; i < (size_t)n_seq * (size_t)(len + 1); i++) {
        int32_t v = tokens[i] < 0 ? ~tokens[i] : tokens[i];
        if (v >= t->hp.n_vocab) return SWARM_EINVAL;
    }
    return sw_train_reserve(t, n_seq, len);
}

swarm_err swarm_trainer_step(swarm_trainer *t, const int32_t *tokens, int32_t n_seq, int32_t len,
                             const swarm_train_opt *o, double *loss)
{
    swarm_err rc = check_batch(t, tokens, n_seq, len);
    if (rc) return rc;
    memset(t->grads, 0, t->n_params * sizeof(float));
    int64_t n = 0;
    double l = sw_train_forward(t, tokens, n_seq, len, len + 1, true, true, &n);
    if (loss) *loss = l;
    if (n == 0) return SWARM_OK;
    sw_train_backward(t, tokens, n_seq, len, len + 1);
    double norm = 0.0;
    for (size_t i = 0; i < t->n_params; i++) norm += (double)t->grads[i] * t->grads[i];
    norm = sqrt(norm);
    if (!isfinite(norm) || !isfinite(l)) return SWARM_EINVAL;
    float gscale = (o->clip > 0 && norm > o->clip) ? (float)(o->clip / norm) : 1.0f;
    float lr = swarm_train_lr(o, t->step);
    t->step++;
    double bc1 = 1.0 - pow(o->beta1, (double)t->step), bc2 = 1.0 - pow(o->beta2, (double)t->step);
    for (size_t k = 0; k < t->n_tensors; k++) {
        const sw_tparam *p = &t->tensors[k];
        float wd = p->decay ? o->weight_decay : 0.0f;
        size_t n0 = p->off, n1 = p->off + (size_t)(p->rows * p->cols);
        for (size_t i = n0; i < n1; i++) {
            float g = t->grads[i] * gscale;
            float m = t->adam_m[i] = o->beta1 * t->adam_m[i] + (1.0f - o->beta1) * g;
            float v = t->adam_v[i] = o->beta2 * t->adam_v[i] + (1.0f - o->beta2) * g * g;
            float mh = (float)(m / bc1), vh = (float)(v / bc2);
            t->params[i] -= lr * (mh / (sqrtf(vh) + o->eps) + wd * t->params[i]);
        }
    }
    return SWARM_OK;
}

swarm_err swarm_trainer_eval(swarm_trainer *t, const int32_t *tokens, int32_t n_seq, int32_t len,
                             double *loss)
{
    swarm_err rc = check_batch(t, tokens, n_seq, len);
    if (rc) return rc;
    *loss = sw_train_forward(t, tokens, n_seq, len, len + 1, true, false, NULL);
    return SWARM_OK;
}

swarm_err swarm_trainer_logits(swarm_trainer *t, const int32_t *tokens, int32_t len, float *out)
{
    if (tokens == NULL || out == NULL || len < 1 || len > t->hp.n_ctx) return SWARM_EINVAL;
    for (int32_t i = 0; i < len; i++)
        if (tokens[i] < 0 || tokens[i] >= t->hp.n_vocab) return SWARM_EINVAL;
    swarm_err rc = sw_train_reserve(t, 1, len);
    if (rc) return rc;
    sw_train_forward(t, tokens, 1, len, len, false, false, NULL);
    memcpy(out, t->logits, (size_t)len * t->hp.n_vocab * sizeof(float));
    return SWARM_OK;
}
