/*
 * ckpt.c: checkpoints as GGUF files: the llama.* metadata our engine and
 * llama.cpp read, the tokenizer.* metadata copied from a tokenizer GGUF,
 * the weights (F32, or Q8_0 matrices for export), and for resumable
 * training checkpoints the AdamW moments, step and loss curve as swarm.*
 * keys (other readers ignore unknown keys; an extra tensor would make
 * llama.cpp refuse the file). The GGUF writer writes beside the target and
 * renames, so a checkpoint is replaced atomically.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../engine/engine_int.h"
#include "train_int.h"

#define KEY_STEP "swarm.train.step"
#define KEY_M "swarm.train.adam_m"
#define KEY_V "swarm.train.adam_v"
#define KEY_SEED "swarm.train.data_seed"
#define KEY_SEEN "swarm.train.tokens_seen"
#define KEY_CURVE "swarm.train.loss_curve"
#define KEY_TOTAL "swarm.train.total_steps"

swarm_err swarm_trainer_save(swarm_trainer *t, const char *path, const swarm_train_save *s,
                             swarm_diag *d)
{
    if (t == NULL || path == NULL || s == NULL || s->tokenizer_gguf == NULL)
        return sw_diag_set(d, SWARM_EINVAL, "checkpoint: no path or no tokenizer");
    if (s->type != SW_TYPE_F32 && s->type != SW_TYPE_Q8_0)
        return sw_diag_set(d, SWARM_EINVAL, "checkpoint: weight type must be F32 or Q8_0");
    sw_gguf tg = {0};
    swarm_err rc = sw_gguf_open(s->tokenizer_gguf, &tg, d);
    if (rc) return rc;
    const swarm_train_hparams *hp = &t->hp;
    sw_gguf_writer *w = NULL;
    float *curve = NULL;
    if ((rc = sw_gguf_writer_create(&w)) != SWARM_OK) goto out;
    int n_tok_keys = 0;
    for (uint64_t i = 0; i < tg.n_kv; i++) {
        const sw_gguf_kv *kv = &tg.kv[i];
        if (kv->key.len > 10 && memcmp(kv->key.ptr, "tokenizer.", 10) == 0) {
            if ((rc = sw_gguf_writer_set_kv(w, kv)) != SWARM_OK) goto out;
            n_tok_keys++;
        }
    }
    if (n_tok_keys == 0) {
        rc = sw_diag_set(d, SWARM_EFORMAT, "%s: no tokenizer.* metadata to copy",
                         s->tokenizer_gguf);
        goto out;
    }
    char buf[64];
#define CK(x)                              \
    do {                                   \
        if ((rc = (x)) != SWARM_OK) goto out; \
    } while (0)
    CK(sw_gguf_writer_set_str(w, "general.architecture", "llama"));
    CK(sw_gguf_writer_set_str(w, "general.name", s->name ? s->name : "swarm-trained"));
    CK(sw_gguf_writer_set_u32(w, "general.file_type", s->type == SW_TYPE_Q8_0 ? 7 : 0));
    CK(sw_gguf_writer_set_u32(w, "llama.context_length", (uint32_t)hp->n_ctx));
    CK(sw_gguf_writer_set_u32(w, "llama.embedding_length", (uint32_t)hp->dim));
    CK(sw_gguf_writer_set_u32(w, "llama.feed_forward_length", (uint32_t)hp->ffn_dim));
    CK(sw_gguf_writer_set_u32(w, "llama.block_count", (uint32_t)hp->n_layers));
    CK(sw_gguf_writer_set_u32(w, "llama.attention.head_count", (uint32_t)hp->n_heads));
    CK(sw_gguf_writer_set_u32(w, "llama.attention.head_count_kv", (uint32_t)hp->n_kv_heads));
    CK(sw_gguf_writer_set_u32(w, "llama.rope.dimension_count", (uint32_t)t->head_dim));
    CK(sw_gguf_writer_set_f32(w, "llama.rope.freq_base", hp->rope_base));
    CK(sw_gguf_writer_set_f32(w, "llama.attention.layer_norm_rms_epsilon", hp->norm_eps));
    CK(sw_gguf_writer_set_u32(w, "llama.vocab_size", (uint32_t)hp->n_vocab));
    for (size_t i = 0; i < t->n_tensors; i++) {
        const sw_tparam *p = &t->tensors[i];
        int64_t ne[2] = {p->cols, p->rows};
        uint32_t type = SW_TYPE_F32;
        /* Q8_0 needs rows of whole 32-element blocks; others stay F32 */
        if (p->rows > 1 && s->type == SW_TYPE_Q8_0 && p->cols % 32 == 0) type = SW_TYPE_Q8_0;
        CK(sw_gguf_writer_add_tensor(w, p->name, p->rows > 1 ? 2 : 1, ne, type,
                                     t->params + p->off));
    }
    if (s->with_state) {
        CK(sw_gguf_writer_set_u32(w, KEY_STEP, (uint32_t)t->step));
        CK(sw_gguf_writer_set_u32(w, KEY_TOTAL, (uint32_t)s->st.total_steps));
        snprintf(buf, sizeof(buf), "%" PRIu64, s->st.data_seed);
        CK(sw_gguf_writer_set_str(w, KEY_SEED, buf));
        snprintf(buf, sizeof(buf), "%" PRId64, s->st.tokens_seen);
        CK(sw_gguf_writer_set_str(w, KEY_SEEN, buf));
        CK(sw_gguf_writer_set_arr_f32(w, KEY_M, t->adam_m, t->n_params));
        CK(sw_gguf_writer_set_arr_f32(w, KEY_V, t->adam_v, t->n_params));
        if (s->st.curve != NULL && s->st.n_curve > 0) {
            curve = sw_calloc(s->st.n_curve, sizeof(float));
            if (curve == NULL) {
                rc = SWARM_ENOMEM;
                goto out;
            }
            for (size_t i = 0; i < s->st.n_curve; i++) curve[i] = (float)s->st.curve[i];
            CK(sw_gguf_writer_set_arr_f32(w, KEY_CURVE, curve, s->st.n_curve));
        }
    }
#undef CK
    rc = sw_gguf_writer_write(w, path, d);
    sw_gguf_writer_destroy(w);
    w = NULL;
out:
    if (rc != SWARM_OK && d != NULL && d->msg[0] == '\0')
        sw_diag_set(d, rc, "%s: cannot build the checkpoint: %s", path, swarm_strerror(rc));
    sw_gguf_writer_destroy(w);
    sw_free(curve);
    sw_gguf_close(&tg);
    return rc;
}

static bool read_f32_array(const sw_gguf *g, const char *key, float *dst, size_t n)
{
    const sw_gguf_kv *kv = sw_gguf_find(g, key);
    if (kv == NULL || kv->type != SW_GGUF_ARRAY || kv->arr_type != SW_GGUF_FLOAT32 ||
        kv->arr_n != n)
        return false;
    memcpy(dst, kv->data, n * sizeof(float)); /* may be unaligned inside the file */
    return true;
}

swarm_err swarm_trainer_load(const char *path, int32_t n_ctx, int n_threads, swarm_trainer **out,
                             swarm_diag *d)
{
    if (path == NULL || out == NULL) return sw_diag_set(d, SWARM_EINVAL, "no checkpoint path");
    sw_gguf g = {0};
    swarm_err rc = sw_gguf_open(path, &g, d);
    if (rc) return rc;
    sw_hparams hp;
    sw_weights w = {0};
    swarm_trainer *t = NULL;
    if ((rc = sw_model_bind_gguf(&g, &hp, &w, d)) != SWARM_OK) goto out;
    if (hp.arch != SW_ARCH_LLAMA || hp.has_qkv_bias || hp.rope_dim != hp.head_dim ||
        hp.head_dim * hp.n_heads != hp.dim || hp.rope_scale_factor > 0.0f ||
        sw_gguf_find_tensor(&g, "rope_freqs.weight") != NULL) {
        rc = sw_diag_set(d, SWARM_EUNSUPPORTED,
                         "the trainer handles plain llama models (no biases, full rope, "
                         "head size = dim / heads, no rope scaling)");
        goto out;
    }
    swarm_train_hparams th = {.dim = hp.dim, .ffn_dim = hp.ffn_dim, .n_layers = hp.n_layers,
                              .n_heads = hp.n_heads, .n_kv_heads = hp.n_kv_heads,
                              .n_vocab = hp.n_vocab,
                              .n_ctx = n_ctx > 0 ? n_ctx : (hp.n_ctx_train < 65536 ? hp.n_ctx_train : 65536),
                              .rope_base = hp.rope_base, .norm_eps = hp.norm_eps,
                              .tied = hp.tied_output};
    if ((rc = sw_train_alloc(&th, n_threads, &t, d)) != SWARM_OK) goto out;
    for (size_t i = 0; i < t->n_tensors; i++) {
        const sw_tparam *p = &t->tensors[i];
        const sw_gguf_tensor *gt = sw_gguf_find_tensor(&g, p->name);
        if (gt == NULL) { /* bind checked every tensor; this is a bug */
            rc = sw_diag_set(d, SWARM_EFORMAT, "tensor '%s' is missing", p->name);
            goto out;
        }
        size_t row_bytes;
        if (!sw_type_row_bytes(gt->type, p->cols, &row_bytes)) {
            rc = sw_diag_set(d, SWARM_EFORMAT, "tensor '%s': bad row length", p->name);
            goto out;
        }
        for (int64_t r = 0; r < p->rows; r++)
            sw_dequantize_row(gt->type, (const uint8_t *)gt->data + (size_t)r * row_bytes,
                              t->params + p->off + (size_t)r * p->cols, p->cols);
    }
    uint32_t step;
    if (sw_gguf_get_u32(&g, KEY_STEP, &step) && read_f32_array(&g, KEY_M, t->adam_m, t->n_params) &&
        read_f32_array(&g, KEY_V, t->adam_v, t->n_params))
        t->step = step;
    else {
        memset(t->adam_m, 0, t->n_params * sizeof(float));
        memset(t->adam_v, 0, t->n_params * sizeof(float));
    }
    *out = t;
    t = NULL;
out:
    if (rc) sw_diag_prefix(d, path);
    swarm_trainer_destroy(t);
    sw_free(w.layers);
    sw_gguf_close(&g);
    return rc;
}

swarm_err swarm_train_read_state(const char *path, swarm_train_state *st, swarm_diag *d)
{
    sw_gguf g = {0};
    swarm_err rc = sw_gguf_open(path, &g, d);
    if (rc) return rc;
    sw_str s;
    uint32_t step, total = 0;
    memset(st, 0, sizeof(*st));
    if (!sw_gguf_get_u32(&g, KEY_STEP, &step) || !sw_gguf_get_str(&g, KEY_SEED, &s)) {
        sw_gguf_close(&g);
        return sw_diag_set(d, SWARM_EFORMAT, "%s: not a training checkpoint (no %s)", path,
                           KEY_STEP);
    }
    char buf[64];
    snprintf(buf, sizeof(buf), "%.*s", (int)(s.len < 40 ? s.len : 40), s.ptr);
    st->data_seed = strtoull(buf, NULL, 10);
    if (sw_gguf_get_str(&g, KEY_SEEN, &s)) {
        snprintf(buf, sizeof(buf), "%.*s", (int)(s.len < 40 ? s.len : 40), s.ptr);
        st->tokens_seen = strtoll(buf, NULL, 10);
    }
    if (sw_gguf_get_u32(&g, KEY_TOTAL, &total) && total <= INT32_MAX) st->total_steps = (int32_t)total;
    const sw_gguf_kv *kv = sw_gguf_find(&g, KEY_CURVE);
    if (kv != NULL && kv->type == SW_GGUF_ARRAY && kv->arr_type == SW_GGUF_FLOAT32 &&
        kv->arr_n > 0 && kv->arr_n < (1u << 28)) {
        st->curve = sw_calloc((size_t)kv->arr_n, sizeof(double));
        if (st->curve == NULL) {
            sw_gguf_close(&g);
            return sw_diag_set(d, SWARM_ENOMEM, "out of memory");
        }
        for (uint64_t i = 0; i < kv->arr_n; i++) {
            double v = 0;
            sw_gguf_arr_num(kv, i, &v);
            st->curve[i] = v;
        }
        st->n_curve = (size_t)kv->arr_n;
    }
    sw_gguf_close(&g);
    return SWARM_OK;
}
