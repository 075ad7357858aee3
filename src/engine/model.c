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

/* Rows [r0, r0 + rows) of matrix m, as a matrix of its own. */
static sw_tensor row_view(const sw_tensor *m, int64_t r0, int64_t rows)
{
    size_t rb = 0;
    sw_type_row_bytes(m->type, m->cols, &rb); /* checked when m was bound */
    sw_tensor v = *m;
    v.rows = rows;
    v.data = (const uint8_t *)m->data + (size_t)r0 * rb;
    return v;
}

/* Phi-3's fused matrices: attn_qkv (q, k, v rows stacked) and ffn_up (gate
 * rows, then up rows), split into row views so the forward pass sees the
 * usual separate matrices. Separate attn_q/k/v are accepted too, as llama.cpp does. */
static swarm_err bind_phi3_fused(const binder *b, int l, const sw_hparams *hp, sw_layer *L)
{
    int64_t dim = hp->dim, ffn = hp->ffn_dim;
    int64_t qd = (int64_t)hp->n_heads * hp->head_dim, kvd = (int64_t)hp->n_kv_heads * hp->head_dim;
    char name[96];
    swarm_err rc;
    snprintf(name, sizeof(name), "blk.%d.attn_qkv.weight", l);
    if (sw_gguf_find_tensor(b->g, name) != NULL) {
        sw_tensor qkv;
        if ((rc = bind(b, name, false, dim, qd + 2 * kvd, false, &qkv)) != SWARM_OK) return rc;
        L->wq = row_view(&qkv, 0, qd);
        L->wk = row_view(&qkv, qd, kvd);
        L->wv = row_view(&qkv, qd + kvd, kvd);
    } else {
        const char *sep[3] = {"attn_q", "attn_k", "attn_v"};
        sw_tensor *dst[3] = {&L->wq, &L->wk, &L->wv};
        int64_t rows[3] = {qd, kvd, kvd};
        for (int i = 0; i < 3; i++) {
            snprintf(name, sizeof(name), "blk.%d.%s.weight", l, sep[i]);
            if ((rc = bind(b, name, false, dim, rows[i], false, dst[i])) != SWARM_OK) {
                if (i == 0)
                    return sw_diag_set(b->d, SWARM_EFORMAT,
                                       "tensor 'blk.%d.attn_qkv.weight' (or attn_q/k/v) is missing", l);
                return rc;
            }
        }
    }
    snprintf(name, sizeof(name), "blk.%d.ffn_up.weight", l);
    sw_tensor up;
    if ((rc = bind(b, name, false, dim, 2 * ffn, false, &up)) != SWARM_OK) return rc;
    L->w_gate = row_view(&up, 0, ffn);
    L->w_up = row_view(&up, ffn, ffn);
    return SWARM_OK;
}

static swarm_err bind_layer(const binder *b, int l, const sw_hparams *hp, sw_layer *L)
{
    int64_t dim = hp->dim, ffn = hp->ffn_dim;
    int64_t qd = (int64_t)hp->n_heads * hp->head_dim, kvd = (int64_t)hp->n_kv_heads * hp->head_dim;
    bool need_bias = hp->arch == SW_ARCH_QWEN2;
    bool phi3 = hp->arch == SW_ARCH_PHI3;
    if (phi3) {
        swarm_err rc = bind_phi3_fused(b, l, hp, L);
        if (rc != SWARM_OK) return rc;
    }
    struct {
        const char *name;
        bool vector, optional, skip;
        int64_t cols, rows;
        sw_tensor *out;
    } spec[] = {
        {"attn_norm.weight", true, false, false, dim, 1, &L->attn_norm},
        {"attn_q.weight", false, false, phi3, dim, qd, &L->wq},
        {"attn_k.weight", false, false, phi3, dim, kvd, &L->wk},
        {"attn_v.weight", false, false, phi3, dim, kvd, &L->wv},
        {"attn_output.weight", false, false, false, qd, dim, &L->wo},
        {"attn_q.bias", true, !need_bias, phi3, qd, 1, &L->bq},
        {"attn_k.bias", true, !need_bias, phi3, kvd, 1, &L->bk},
        {"attn_v.bias", true, !need_bias, phi3, kvd, 1, &L->bv},
        {"attn_q_norm.weight", true, !hp->qk_norm, false, hp->head_dim, 1, &L->q_norm},
        {"attn_k_norm.weight", true, !hp->qk_norm, false, hp->head_dim, 1, &L->k_norm},
        {"post_attention_norm.weight", true, !hp->post_norms, false, dim, 1, &L->post_attn_norm},
        {"ffn_norm.weight", true, false, false, dim, 1, &L->ffn_norm},
        {"ffn_gate.weight", false, false, phi3, dim, ffn, &L->w_gate},
        {"ffn_up.weight", false, false, phi3, dim, ffn, &L->w_up},
        {"ffn_down.weight", false, false, false, ffn, dim, &L->w_down},
        {"post_ffw_norm.weight", true, !hp->post_norms, false, dim, 1, &L->post_ffn_norm},
    };
    for (size_t i = 0; i < sizeof(spec) / sizeof(spec[0]); i++) {
        if (spec[i].skip) continue;
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

/* Gemma: embeddings scaled by sqrt(n_embd), sliding-window layers (gemma2:
 * every other one; gemma3: the key's pattern, llama.cpp's default 6) with
 * their own rope base (gemma3), soft-capping (gemma2), and the 27B sizes'
 * attention scale, which llama.cpp detects by layer count. */
static swarm_err read_gemma_keys(const binder *b, sw_hparams *h)
{
    if (h->arch != SW_ARCH_GEMMA2 && h->arch != SW_ARCH_GEMMA3) return SWARM_OK;
    bool g2 = h->arch == SW_ARCH_GEMMA2;
    h->embd_scale = sqrtf((float)h->dim);
    uint32_t v;
    float fv;
    h->swa_window = g2 ? 4096 : 0;
    if (key_u32(b, "attention.sliding_window", &v)) h->swa_window = v > INT32_MAX ? INT32_MAX : (int32_t)v;
    if (h->arch == SW_ARCH_GEMMA3 && h->swa_window == 0)
        return sw_diag_set(b->d, SWARM_EFORMAT, "missing metadata '%s.attention.sliding_window'",
                           b->arch);
    h->swa_pattern = g2 ? 2 : 6;
    if (key_u32(b, "attention.sliding_window_pattern", &v)) {
        if (v == 0 || v > MAX_LAYERS)
            return sw_diag_set(b->d, SWARM_EFORMAT,
                               "metadata '%s.attention.sliding_window_pattern' = %u is invalid",
                               b->arch, v);
        h->swa_pattern = (int32_t)v;
    }
    if (!g2) {
        h->rope_base_swa = 10000.0f;
        if (key_f32(b, "rope.freq_base_swa", &fv)) {
            if (!(fv > 1.0f) || !isfinite(fv))
                return sw_diag_set(b->d, SWARM_EFORMAT,
                                   "metadata '%s.rope.freq_base_swa' = %g is invalid", b->arch, fv);
            h->rope_base_swa = fv;
        }
    } else {
        h->attn_softcap = 50.0f;
        h->final_softcap = 30.0f;
        if (key_f32(b, "attn_logit_softcapping", &fv)) h->attn_softcap = fv;
        if (key_f32(b, "final_logit_softcapping", &fv)) h->final_softcap = fv;
        if (!(h->attn_softcap >= 0.0f) || !(h->final_softcap >= 0.0f) ||
            !isfinite(h->attn_softcap) || !isfinite(h->final_softcap))
            return sw_diag_set(b->d, SWARM_EFORMAT, "gemma2 soft-capping values %g / %g are invalid",
                               h->attn_softcap, h->final_softcap);
    }
    if ((g2 && h->n_layers == 46) || (!g2 && h->n_layers == 62))
        h->attn_scale = 1.0f / sqrtf((float)(h->dim / h->n_heads));
    return SWARM_OK;
}

const char *sw_arch_name(enum sw_arch a)
{
    static const char *const names[SW_ARCH_COUNT] = {"llama",  "qwen2", "qwen3",
                                                     "gemma3", "phi3",  "gemma2"};
    return a < SW_ARCH_COUNT ? names[a] : "?";
}

swarm_err sw_model_bind_gguf(const sw_gguf *g, sw_hparams *hp, sw_weights *w, swarm_diag *d)
{
    binder b = {.g = g, .d = d};
    sw_str arch;
    if (!sw_gguf_get_str(g, "general.architecture", &arch))
        return sw_diag_set(d, SWARM_EFORMAT, "missing metadata 'general.architecture'");
    sw_hparams h = {0};
    h.rope_style = SW_ROPE_NEOX;
    if (sw_str_eq(arch, "llama")) {
        h.arch = SW_ARCH_LLAMA;
        h.rope_style = SW_ROPE_NORMAL;
    } else if (sw_str_eq(arch, "qwen2")) {
        h.arch = SW_ARCH_QWEN2;
    } else if (sw_str_eq(arch, "qwen3")) {
        h.arch = SW_ARCH_QWEN3;
        h.qk_norm = true;
    } else if (sw_str_eq(arch, "gemma3")) {
        h.arch = SW_ARCH_GEMMA3;
        h.qk_norm = h.post_norms = h.geglu = true;
    } else if (sw_str_eq(arch, "gemma2")) {
        h.arch = SW_ARCH_GEMMA2;
        h.post_norms = h.geglu = true;
    } else if (sw_str_eq(arch, "phi3")) {
        h.arch = SW_ARCH_PHI3;
    } else {
        return sw_diag_set(d, SWARM_EUNSUPPORTED,
                           "architecture '%.*s' is not supported (llama, qwen2, qwen3, gemma2, "
                           "gemma3, phi3)",
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
    if ((rc = read_gemma_keys(&b, &h)) != SWARM_OK) return rc;
    if (h.arch == SW_ARCH_PHI3) {
        /* Phi-3.5 / Phi-4 long-context rope (per-dimension factors) is not implemented */
        const char *lr[] = {"rope_factors_long.weight", "rope_factors_short.weight"};
        for (int i = 0; i < 2; i++)
            if (sw_gguf_find_tensor(g, lr[i]) != NULL)
                return sw_diag_set(d, SWARM_EUNSUPPORTED,
                                   "phi3 long-context rope (tensor '%s') is not supported", lr[i]);
    }

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
