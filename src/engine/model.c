/*
 * model.c: binds a parsed GGUF file to the engine's model description:
 * hyperparameters from "<arch>.*" metadata (llama and qwen2) and a view of
 * every weight, each checked for presence, shape and type with messages that
 * name the tensor. It does not parse the file (gguf.c) or run it (forward.c).
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "forward.h"

#define MAX_DIM (1 << 17)
#define MAX_FFN (1 << 20)
#define MAX_LAYERS 4096
#define MAX_HEADS 4096
#define MAX_VOCAB (1 << 24)

typedef struct binder {
    const sw_gguf *g;
    char arch[16];
    swarm_diag *d;
} binder;

static bool key_u32(const binder *b, const char *suffix, uint32_t *out)
{
    char key[128];
    snprintf(key, sizeof(key), "%s.%s", b->arch, suffix);
    return sw_gguf_get_u32(b->g, key, out);
}

static bool key_f32(const binder *b, const char *suffix, float *out)
{
    char key[128];
    snprintf(key, sizeof(key), "%s.%s", b->arch, suffix);
    return sw_gguf_get_f32(b->g, key, out);
}

static swarm_err need_u32(const binder *b, const char *suffix, uint32_t lo, uint32_t hi,
                          uint32_t *out)
{
    if (!key_u32(b, suffix, out))
        return sw_diag_set(b->d, SWARM_EFORMAT, "missing or non-integer metadata '%s.%s'",
                           b->arch, suffix);
    if (*out < lo || *out > hi)
        return sw_diag_set(b->d, SWARM_EFORMAT, "metadata '%s.%s' = %u is out of range [%u, %u]",
                           b->arch, suffix, *out, lo, hi);
    return SWARM_OK;
}

/* What a tensor must look like: a vector of n (always F32) or a matrix of
 * rows x cols in any type the kernels support. */
static swarm_err bind(const binder *b, const char *name, bool vector, int64_t cols, int64_t rows,
                      bool optional, sw_tensor *out)
{
    const sw_gguf_tensor *t = sw_gguf_find_tensor(b->g, name);
    if (t == NULL) {
        if (optional) {
            memset(out, 0, sizeof(*out));
            return SWARM_OK;
        }
        return sw_diag_set(b->d, SWARM_EFORMAT, "tensor '%s' is missing", name);
    }
    if (t->ne[0] != cols || t->ne[1] != rows || t->ne[2] != 1 || t->ne[3] != 1) {
        if (vector)
            return sw_diag_set(b->d, SWARM_EFORMAT,
                               "tensor '%s' has shape [%lld, %lld, %lld, %lld], expected [%lld]",
                               name, (long long)t->ne[0], (long long)t->ne[1],
                               (long long)t->ne[2], (long long)t->ne[3], (long long)cols);
        return sw_diag_set(b->d, SWARM_EFORMAT,
                           "tensor '%s' has shape [%lld, %lld, %lld, %lld], expected [%lld, %lld]",
                           name, (long long)t->ne[0], (long long)t->ne[1], (long long)t->ne[2],
                           (long long)t->ne[3], (long long)cols, (long long)rows);
    }
    const sw_type_traits *tr = sw_type_get(t->type);
    if (tr == NULL)
        return sw_diag_set(b->d, SWARM_EFORMAT, "tensor '%s' has unknown type %u", name, t->type);
    if (vector && t->type != SW_TYPE_F32)
        return sw_diag_set(b->d, SWARM_EUNSUPPORTED, "tensor '%s' has type %s; expected F32", name,
                           tr->name);
    if (!tr->supported)
        return sw_diag_set(b->d, SWARM_EUNSUPPORTED,
                           "tensor '%s' has type %s, which the engine does not support", name,
                           tr->name);
    size_t row_bytes, need;
    if (!sw_type_row_bytes(t->type, cols, &row_bytes) ||
        !sw_mul_ok(row_bytes, (size_t)rows, &need))
        return sw_diag_set(b->d, SWARM_EFORMAT,
                           "tensor '%s': row length %lld does not fit type %s", name,
                           (long long)cols, tr->name);
    if (t->data == NULL || t->nbytes < need)
        return sw_diag_set(b->d, SWARM_EFORMAT, "tensor '%s' data is too short (%zu < %zu bytes)",
                           name, t->nbytes, need);
    if (t->type == SW_TYPE_F32 && ((uintptr_t)t->data & 3u) != 0)
        return sw_diag_set(b->d, SWARM_EFORMAT, "tensor '%s' data is not 4-byte aligned", name);
    out->type = t->type;
    out->cols = cols;
    out->rows = rows;
    out->data = t->data;
    return SWARM_OK;
}

static swarm_err bind_layer(const binder *b, int l, const sw_hparams *hp, sw_layer *L)
{
    int64_t dim = hp->dim, ffn = hp->ffn_dim;
    int64_t qd = (int64_t)hp->n_heads * hp->head_dim, kvd = (int64_t)hp->n_kv_heads * hp->head_dim;
    bool need_bias = hp->arch == SW_ARCH_QWEN2;
    struct {
        const char *name;
        bool vector, optional;
        int64_t cols, rows;
        sw_tensor *out;
    } spec[] = {
        {"attn_norm.weight", true, false, dim, 1, &L->attn_norm},
        {"attn_q.weight", false, false, dim, qd, &L->wq},
        {"attn_k.weight", false, false, dim, kvd, &L->wk},
        {"attn_v.weight", false, false, dim, kvd, &L->wv},
        {"attn_output.weight", false, false, qd, dim, &L->wo},
        {"attn_q.bias", true, !need_bias, qd, 1, &L->bq},
        {"attn_k.bias", true, !need_bias, kvd, 1, &L->bk},
        {"attn_v.bias", true, !need_bias, kvd, 1, &L->bv},
        {"ffn_norm.weight", true, false, dim, 1, &L->ffn_norm},
        {"ffn_gate.weight", false, false, dim, ffn, &L->w_gate},
        {"ffn_up.weight", false, false, dim, ffn, &L->w_up},
        {"ffn_down.weight", false, false, ffn, dim, &L->w_down},
    };
    for (size_t i = 0; i < sizeof(spec) / sizeof(spec[0]); i++) {
        char name[96];
        snprintf(name, sizeof(name), "blk.%d.%s", l, spec[i].name);
        swarm_err rc = bind(b, name, spec[i].vector, spec[i].cols, spec[i].rows,
                            spec[i].optional, spec[i].out);
        if (rc != SWARM_OK) return rc;
    }
    return SWARM_OK;
}

static swarm_err read_rope_scaling(const binder *b, sw_hparams *hp)
{
    char key[128];
    snprintf(key, sizeof(key), "%s.rope.scaling.type", b->arch);
    sw_str type;
    if (!sw_gguf_get_str(b->g, key, &type) || sw_str_eq(type, "none")) return SWARM_OK;
    float factor = 1.0f;
    key_f32(b, "rope.scaling.factor", &factor);
    if (sw_str_eq(type, "linear") && factor == 1.0f) return SWARM_OK;
    if (sw_str_eq(type, "llama3")) {
        float lo = 1.0f, hi = 4.0f;
        uint32_t orig = 8192;
        key_f32(b, "rope.scaling.low_freq_factor", &lo);
        key_f32(b, "rope.scaling.high_freq_factor", &hi);
        key_u32(b, "rope.scaling.original_context_length", &orig);
        if (!(factor > 0.0f) || !(lo > 0.0f) || !(hi > lo) || orig == 0 || !isfinite(factor) ||
            !isfinite(hi))
            return sw_diag_set(b->d, SWARM_EFORMAT,
                               "llama3 rope scaling parameters are invalid (factor %g, low %g, "
                               "high %g, original context %u)",
                               factor, lo, hi, orig);
        hp->rope_scale_factor = factor;
        hp->rope_low_freq_factor = lo;
        hp->rope_high_freq_factor = hi;
        hp->rope_orig_ctx = (int32_t)(orig > INT32_MAX ? INT32_MAX : orig);
        return SWARM_OK;
    }
    return sw_diag_set(b->d, SWARM_EUNSUPPORTED, "rope scaling '%.*s' (factor %g) is not supported",
                       (int)(type.len > 32 ? 32 : type.len), type.ptr, factor);
}

swarm_err sw_model_bind_gguf(const sw_gguf *g, sw_hparams *hp, sw_weights *w, swarm_diag *d)
{
    binder b = {.g = g, .d = d};
    sw_str arch;
    if (!sw_gguf_get_str(g, "general.architecture", &arch))
        return sw_diag_set(d, SWARM_EFORMAT, "missing metadata 'general.architecture'");
    sw_hparams h = {0};
    if (sw_str_eq(arch, "llama")) {
        h.arch = SW_ARCH_LLAMA;
        h.rope_style = SW_ROPE_NORMAL;
    } else if (sw_str_eq(arch, "qwen2")) {
        h.arch = SW_ARCH_QWEN2;
        h.rope_style = SW_ROPE_NEOX;
    } else {
        return sw_diag_set(d, SWARM_EUNSUPPORTED,
                           "architecture '%.*s' is not supported (llama, qwen2)",
                           (int)(arch.len > 64 ? 64 : arch.len), arch.ptr);
    }
    memcpy(b.arch, arch.ptr, arch.len);
    b.arch[arch.len] = '\0';

    uint32_t v;
    swarm_err rc;
    if ((rc = need_u32(&b, "embedding_length", 1, MAX_DIM, &v)) != SWARM_OK) return rc;
    h.dim = (int32_t)v;
    if ((rc = need_u32(&b, "feed_forward_length", 1, MAX_FFN, &v)) != SWARM_OK) return rc;
    h.ffn_dim = (int32_t)v;
    if ((rc = need_u32(&b, "block_count", 1, MAX_LAYERS, &v)) != SWARM_OK) return rc;
    h.n_layers = (int32_t)v;
    if ((rc = need_u32(&b, "attention.head_count", 1, MAX_HEADS, &v)) != SWARM_OK) return rc;
    h.n_heads = (int32_t)v;
    h.n_kv_heads = h.n_heads;
    if (key_u32(&b, "attention.head_count_kv", &v)) {
        if (v == 0 || v > (uint32_t)h.n_heads || h.n_heads % (int32_t)v != 0)
            return sw_diag_set(d, SWARM_EFORMAT,
                               "metadata '%s.attention.head_count_kv' = %u does not divide "
                               "head_count %d",
                               b.arch, v, h.n_heads);
        h.n_kv_heads = (int32_t)v;
    }
    if (key_u32(&b, "attention.key_length", &v)) {
        if (v == 0 || v > MAX_DIM || v % 2 != 0)
            return sw_diag_set(d, SWARM_EFORMAT, "metadata '%s.attention.key_length' = %u is invalid",
                               b.arch, v);
        h.head_dim = (int32_t)v;
    } else {
        if (h.dim % h.n_heads != 0 || (h.dim / h.n_heads) % 2 != 0)
            return sw_diag_set(d, SWARM_EFORMAT,
                               "embedding_length %d is not a multiple of head_count %d with an "
                               "even head size",
                               h.dim, h.n_heads);
        h.head_dim = h.dim / h.n_heads;
    }
    if (key_u32(&b, "attention.value_length", &v) && (int32_t)v != h.head_dim)
        return sw_diag_set(d, SWARM_EUNSUPPORTED,
                           "attention.value_length %u differs from key_length %d", v, h.head_dim);
    h.rope_dim = h.head_dim;
    if (key_u32(&b, "rope.dimension_count", &v)) {
        if (v == 0 || v % 2 != 0 || v > (uint32_t)h.head_dim)
            return sw_diag_set(d, SWARM_EFORMAT,
                               "metadata '%s.rope.dimension_count' = %u is invalid (head size %d)",
                               b.arch, v, h.head_dim);
        h.rope_dim = (int32_t)v;
    }
    h.n_ctx_train = 2048;
    if (key_u32(&b, "context_length", &v) && v > 0) h.n_ctx_train = v > INT32_MAX ? INT32_MAX : (int32_t)v;
    h.rope_base = 10000.0f;
    float fv;
    if (key_f32(&b, "rope.freq_base", &fv)) {
        if (!(fv > 1.0f) || !isfinite(fv))
            return sw_diag_set(d, SWARM_EFORMAT, "metadata '%s.rope.freq_base' = %g is invalid",
                               b.arch, fv);
        h.rope_base = fv;
    }
    h.norm_eps = 1e-5f;
    if (key_f32(&b, "attention.layer_norm_rms_epsilon", &fv)) {
        if (!(fv > 0.0f) || !(fv < 1.0f))
            return sw_diag_set(d, SWARM_EFORMAT,
                               "metadata '%s.attention.layer_norm_rms_epsilon' = %g is invalid",
                               b.arch, fv);
        h.norm_eps = fv;
    }
    if ((rc = read_rope_scaling(&b, &h)) != SWARM_OK) return rc;

    const sw_gguf_tensor *te = sw_gguf_find_tensor(g, "token_embd.weight");
    if (te == NULL) return sw_diag_set(d, SWARM_EFORMAT, "tensor 'token_embd.weight' is missing");
    if (te->ne[1] < 1 || te->ne[1] > MAX_VOCAB)
        return sw_diag_set(d, SWARM_EFORMAT, "tensor 'token_embd.weight' has %lld rows",
                           (long long)te->ne[1]);
    h.n_vocab = (int32_t)te->ne[1];

    sw_weights ww = {0};
    if ((rc = bind(&b, "token_embd.weight", false, h.dim, h.n_vocab, false, &ww.tok_embd)) !=
        SWARM_OK)
        return rc;
    if ((rc = bind(&b, "output_norm.weight", true, h.dim, 1, false, &ww.out_norm)) != SWARM_OK)
        return rc;
    if ((rc = bind(&b, "output.weight", false, h.dim, h.n_vocab, true, &ww.output)) != SWARM_OK)
        return rc;
    h.tied_output = ww.output.data == NULL;
    if (h.tied_output) ww.output = ww.tok_embd;

    ww.layers = sw_calloc((size_t)h.n_layers, sizeof(sw_layer));
    if (ww.layers == NULL) return sw_diag_set(d, SWARM_ENOMEM, "out of memory");
    for (int l = 0; l < h.n_layers; l++) {
        if ((rc = bind_layer(&b, l, &h, &ww.layers[l])) != SWARM_OK) {
            sw_free(ww.layers);
            return rc;
        }
        if (ww.layers[l].bq.data || ww.layers[l].bk.data || ww.layers[l].bv.data)
            h.has_qkv_bias = true;
    }
    *hp = h;
    *w = ww;
    return SWARM_OK;
}

swarm_err sw_model_rope_factors(const sw_gguf *g, const sw_hparams *hp, const float **out,
                                swarm_diag *d)
{
    *out = NULL;
    if (sw_gguf_find_tensor(g, "rope_freqs.weight") == NULL) return SWARM_OK;
    binder b = {.g = g, .d = d};
    sw_tensor t;
    swarm_err rc = bind(&b, "rope_freqs.weight", true, hp->rope_dim / 2, 1, false, &t);
    if (rc != SWARM_OK) return rc;
    const float *f = t.data;
    for (int32_t i = 0; i < hp->rope_dim / 2; i++)
        if (!(f[i] > 0.0f) || !isfinite(f[i]))
            return sw_diag_set(d, SWARM_EFORMAT, "tensor 'rope_freqs.weight' holds %g at %d", f[i],
                               i);
    *out = f;
    return SWARM_OK;
}
