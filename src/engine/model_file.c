/*
 * model_file.c: model files as files, for `swarm models`: a report of a GGUF
 * file or a llama2.c checkpoint (architecture, size, quantization, context,
 * tokenizer, metadata, tensor table) and the converter of either to a GGUF
 * file that llama.cpp can load (llama2.c checkpoint + its tokenizer.bin, or
 * GGUF re-quantized). Moved here from cli/cmd_models.c so that the CLI only
 * parses arguments and any other caller (a server, a test) can convert.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine_int.h"

/* ---- one view of the tensors of either format ---- */

typedef struct mtensor {
    char name[96];
    uint32_t n_dims;
    int64_t ne[4];
    uint32_t type;
    const void *data;
} mtensor;

typedef struct model_file {
    void *map;
    size_t len;
    bool is_gguf;
    sw_gguf g;     /* is_gguf */
    sw_hparams hp; /* llama2.c */
    sw_weights w;  /* llama2.c (w.layers owned) */
    mtensor *t;
    size_t n_t;
} model_file;

static void model_close(model_file *m)
{
    if (m->is_gguf) {
        sw_gguf_close(&m->g); /* does not own the mapping: parsed from memory */
    } else {
        sw_free(m->w.layers);
    }
    sw_free(m->t);
    sw_unmap_file(m->map, m->len);
    memset(m, 0, sizeof(*m));
}

static void add_l2c(model_file *m, const char *name, const sw_tensor *t, bool vec)
{
    mtensor *o = &m->t[m->n_t++];
    snprintf(o->name, sizeof(o->name), "%s", name);
    o->n_dims = vec ? 1 : 2;
    o->ne[0] = t->cols;
    o->ne[1] = vec ? 1 : t->rows;
    o->ne[2] = o->ne[3] = 1;
    o->type = t->type;
    o->data = t->data;
}

/* llama2.c weights under the GGUF names llama.cpp uses for arch llama. */
static swarm_err list_l2c(model_file *m)
{
    size_t n = 3 + 9 * (size_t)m->hp.n_layers;
    m->t = sw_calloc(n, sizeof(mtensor));
    if (m->t == NULL) return SWARM_ENOMEM;
    char nm[96];
    add_l2c(m, "token_embd.weight", &m->w.tok_embd, false);
    for (int l = 0; l < m->hp.n_layers; l++) {
        const sw_layer *L = &m->w.layers[l];
        struct {
            const char *suffix;
            const sw_tensor *t;
            bool vec;
        } parts[] = {{"attn_norm", &L->attn_norm, true}, {"attn_q", &L->wq, false},
                     {"attn_k", &L->wk, false},          {"attn_v", &L->wv, false},
                     {"attn_output", &L->wo, false},     {"ffn_norm", &L->ffn_norm, true},
                     {"ffn_gate", &L->w_gate, false},    {"ffn_down", &L->w_down, false},
                     {"ffn_up", &L->w_up, false}};
        for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
            snprintf(nm, sizeof(nm), "blk.%d.%s.weight", l, parts[i].suffix);
            add_l2c(m, nm, parts[i].t, parts[i].vec);
        }
    }
    add_l2c(m, "output_norm.weight", &m->w.out_norm, true);
    if (!m->hp.tied_output) add_l2c(m, "output.weight", &m->w.output, false);
    return SWARM_OK;
}

static swarm_err list_gguf(model_file *m)
{
    m->t = sw_calloc(m->g.n_tensors ? (size_t)m->g.n_tensors : 1, sizeof(mtensor));
    if (m->t == NULL) return SWARM_ENOMEM;
    for (uint64_t i = 0; i < m->g.n_tensors; i++) {
        const sw_gguf_tensor *s = &m->g.tensors[i];
        mtensor *o = &m->t[m->n_t++];
        int n = s->name.len < sizeof(o->name) - 1 ? (int)s->name.len : (int)sizeof(o->name) - 1;
        memcpy(o->name, s->name.ptr, (size_t)n);
        o->name[n] = '\0';
        o->n_dims = s->n_dims;
        memcpy(o->ne, s->ne, sizeof(o->ne));
        o->type = s->type;
        o->data = s->data;
    }
    return SWARM_OK;
}

/* Maps path and reads it as GGUF (magic) or as a llama2.c checkpoint. */
static swarm_err model_open(const char *path, model_file *m, swarm_diag *d)
{
    memset(m, 0, sizeof(*m));
    swarm_err rc = sw_map_file(path, &m->map, &m->len, d);
    if (rc != SWARM_OK) return rc;
    m->is_gguf = m->len >= 4 && memcmp(m->map, "GGUF", 4) == 0;
    if (m->is_gguf) {
        rc = sw_gguf_parse(m->map, m->len, &m->g, d);
        if (rc == SWARM_OK) rc = list_gguf(m);
    } else {
        rc = sw_llama2c_parse(m->map, m->len, &m->hp, &m->w, d);
        if (rc == SWARM_OK) rc = list_l2c(m);
    }
    if (rc != SWARM_OK) {
        if (rc == SWARM_ENOMEM) sw_diag_set(d, rc, "out of memory");
        sw_diag_prefix(d, path);
        model_close(m);
        return rc;
    }
    return SWARM_OK;
}

static int64_t nelements(const mtensor *t)
{
    return t->ne[0] * t->ne[1] * t->ne[2] * t->ne[3];
}

static const char *type_name(uint32_t type)
{
    const sw_type_traits *tt = sw_type_get(type);
    return tt ? tt->name : "?";
}

static size_t tensor_bytes(const mtensor *t)
{
    size_t rb = 0;
    if (!sw_type_row_bytes(t->type, t->ne[0], &rb)) return 0;
    return rb * (size_t)(t->ne[1] * t->ne[2] * t->ne[3]);
}

/* ---- inspect ---- */

static void print_escaped(FILE *out, const char *p, uint64_t n, uint64_t cap)
{
    fputc('"', out);
    for (uint64_t i = 0; i < n && i < cap; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c == '"' || c == '\\')
            fprintf(out, "\\%c", c);
        else if (c == '\n')
            fprintf(out, "\\n");
        else if (c < 0x20 || c == 0x7f)
            fprintf(out, "\\x%02x", c);
        else
            fputc(c, out);
    }
    fputc('"', out);
    if (n > cap) fprintf(out, "... (%llu bytes)", (unsigned long long)n);
}

static const char *vtype_name(uint32_t t)
{
    static const char *names[SW_GGUF_VTYPE_COUNT] = {
        "u8", "i8", "u16", "i16", "u32", "i32", "f32", "bool", "str", "arr", "u64", "i64", "f64"};
    return t < SW_GGUF_VTYPE_COUNT ? names[t] : "?";
}

static void print_scalar(FILE *out, uint32_t type, const uint8_t *p)
{
    sw_gguf_kv one = {.type = SW_GGUF_ARRAY, .arr_type = type, .arr_n = 1, .data = p};
    double v = 0;
    if (type == SW_GGUF_STRING) {
        uint64_t n = 0;
        for (int i = 7; i >= 0; i--)
            n = (n << 8) | p[i];
        print_escaped(out, (const char *)p + 8, n, 72);
    } else if (type == SW_GGUF_BOOL) {
        fprintf(out, "%s", p[0] ? "true" : "false");
    } else if (sw_gguf_arr_num(&one, 0, &v)) {
        if (type == SW_GGUF_FLOAT32 || type == SW_GGUF_FLOAT64)
            fprintf(out, "%g", v);
        else
            fprintf(out, "%.0f", v);
    }
}

static void print_kv(FILE *out, const sw_gguf_kv *kv)
{
    fprintf(out, "  %-44.*s ", (int)(kv->key.len > 200 ? 200 : kv->key.len), kv->key.ptr);
    if (kv->type != SW_GGUF_ARRAY) {
        print_scalar(out, kv->type, kv->data);
        fputc('\n', out);
        return;
    }
    fprintf(out, "[%llu x %s]", (unsigned long long)kv->arr_n, vtype_name(kv->arr_type));
    if (kv->arr_type == SW_GGUF_ARRAY) {
        fputc('\n', out);
        return;
    }
    /* the first few elements */
    const uint8_t *p = kv->data;
    static const uint8_t sz[SW_GGUF_VTYPE_COUNT] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};
    for (uint64_t i = 0; i < kv->arr_n && i < 4; i++) {
        fprintf(out, i == 0 ? " " : ", ");
        print_scalar(out, kv->arr_type, p);
        if (kv->arr_type == SW_GGUF_STRING) {
            uint64_t n = 0;
            for (int b = 7; b >= 0; b--)
                n = (n << 8) | p[b];
            p += 8 + n;
        } else {
            p += sz[kv->arr_type];
        }
    }
    if (kv->arr_n > 4) fprintf(out, ", ...");
    fputc('\n', out);
}

static void print_tensor_table(FILE *out, const model_file *m)
{
    int w = 4;
    for (size_t i = 0; i < m->n_t; i++)
        if ((int)strlen(m->t[i].name) > w) w = (int)strlen(m->t[i].name);
    fprintf(out, "tensors (%zu):\n  %-*s  %-6s  %-22s  %s\n", m->n_t, w, "name", "type", "shape",
           "bytes");
    for (size_t i = 0; i < m->n_t; i++) {
        const mtensor *t = &m->t[i];
        char shape[96];
        int n = snprintf(shape, sizeof(shape), "[%lld", (long long)t->ne[0]);
        for (uint32_t k = 1; k < t->n_dims && n < (int)sizeof(shape); k++)
            n += snprintf(shape + n, sizeof(shape) - (size_t)n, ", %lld", (long long)t->ne[k]);
        if (n < (int)sizeof(shape)) snprintf(shape + n, sizeof(shape) - (size_t)n, "]");
        fprintf(out, "  %-*s  %-6s  %-22s  %zu\n", w, t->name, type_name(t->type), shape,
               tensor_bytes(t));
    }
}

/* Parameter count and the histogram of matrix types (the "quantization"). */
static void print_quantization(FILE *out, const model_file *m)
{
    int64_t params = 0;
    size_t counts[SW_TYPE_COUNT] = {0};
    for (size_t i = 0; i < m->n_t; i++) {
        params += nelements(&m->t[i]);
        if (m->t[i].n_dims >= 2 && m->t[i].type < SW_TYPE_COUNT) counts[m->t[i].type]++;
    }
    fprintf(out, "parameters:     %lld (%.2f M)\n", (long long)params, (double)params / 1e6);
    uint32_t best = 0;
    for (uint32_t t = 0; t < SW_TYPE_COUNT; t++)
        if (counts[t] > counts[best]) best = t;
    if (counts[best] == 0) {
        fprintf(out, "quantization:   none (no matrices)\n");
    } else {
        fprintf(out, "quantization:   %s (matrices:", type_name(best));
        for (uint32_t t = 0; t < SW_TYPE_COUNT; t++)
            if (counts[t]) fprintf(out, " %s x %zu", type_name(t), counts[t]);
        fprintf(out, ")\n");
    }
    /* every type the engine cannot compute with, with a count and one example */
    for (uint32_t ty = 0; ty < SW_TYPE_COUNT; ty++) {
        const sw_type_traits *tt = sw_type_get(ty);
        size_t n = 0, first = 0;
        for (size_t i = 0; i < m->n_t; i++)
            if (m->t[i].type == ty && n++ == 0) first = i;
        if (tt && !tt->supported && n > 0)
            fprintf(out,
                    "note:           type %s (%zu tensor%s, e.g. '%s') is not supported by the "
                    "engine\n",
                    tt->name, n, n == 1 ? "" : "s", m->t[first].name);
    }
    for (size_t i = 0; i < m->n_t; i++)
        if (sw_type_get(m->t[i].type) == NULL)
            fprintf(out, "note:           tensor '%s' has unknown type %u\n", m->t[i].name,
                    m->t[i].type);
}

/* Whether the engine can run the file, and if not the first reason (the
 * binder's and tokenizer's messages name the key, tensor, type or feature). */
static void print_engine_verdict(FILE *out, const sw_gguf *g)
{
    swarm_diag d = {{0}};
    sw_hparams hp;
    sw_weights w;
    swarm_err rc = sw_model_bind_gguf(g, &hp, &w, &d);
    if (rc != SWARM_OK) {
        fprintf(out, "engine:         cannot run it: %s\n", d.msg);
        return;
    }
    sw_free(w.layers);
    sw_tokenizer *tok = NULL;
    rc = sw_tokenizer_from_gguf(g, &tok, &d);
    if (rc != SWARM_OK) {
        fprintf(out, "engine:         cannot run it: tokenizer: %s\n", d.msg);
        return;
    }
    sw_tokenizer_destroy(tok);
    fprintf(out, "engine:         runs it (%s, %d layers, dim %d, %d heads / %d kv, head dim %d)\n",
            sw_arch_name(hp.arch), hp.n_layers, hp.dim, hp.n_heads, hp.n_kv_heads, hp.head_dim);
}

static void inspect_gguf(FILE *out, const char *path, const model_file *m)
{
    const sw_gguf *g = &m->g;
    fprintf(out, "file:           %s (%zu bytes)\n", path, m->len);
    fprintf(out, "format:         GGUF v%u, %llu keys, %llu tensors, alignment %zu, data at %zu\n",
           g->version, (unsigned long long)g->n_kv, (unsigned long long)g->n_tensors, g->alignment,
           g->data_offset);
    sw_str arch = {"", 0}, s;
    sw_gguf_get_str(g, "general.architecture", &arch);
    fprintf(out, "architecture:   %.*s\n", (int)arch.len, arch.ptr);
    if (sw_gguf_get_str(g, "general.name", &s)) fprintf(out, "name:           %.*s\n", (int)s.len, s.ptr);
    print_quantization(out, m);
    print_engine_verdict(out, g);
    char key[256];
    uint32_t u;
    snprintf(key, sizeof(key), "%.*s.context_length", (int)arch.len, arch.ptr);
    if (sw_gguf_get_u32(g, key, &u))
        fprintf(out, "context length: %u\n", u);
    else
        fprintf(out, "context length: (not set)\n");
    sw_str tm = {"none", 4}, pre = {"", 0};
    sw_gguf_get_str(g, "tokenizer.ggml.model", &tm);
    bool has_pre = sw_gguf_get_str(g, "tokenizer.ggml.pre", &pre);
    const sw_gguf_kv *toks = sw_gguf_find(g, "tokenizer.ggml.tokens");
    fprintf(out, "tokenizer:      %.*s", (int)tm.len, tm.ptr);
    if (has_pre) fprintf(out, " (pre: %.*s)", (int)pre.len, pre.ptr);
    if (toks) fprintf(out, ", %llu tokens", (unsigned long long)toks->arr_n);
    fprintf(out, "\n");
    if (sw_gguf_get_str(g, "tokenizer.chat_template", &s))
        fprintf(out, "chat template:  present (%llu bytes)\n", (unsigned long long)s.len);
    else
        fprintf(out, "chat template:  none\n");
    fprintf(out, "metadata:\n");
    for (uint64_t i = 0; i < g->n_kv; i++)
        print_kv(out, &g->kv[i]);
    print_tensor_table(out, m);
}

static void inspect_l2c(FILE *out, const char *path, const model_file *m)
{
    const sw_hparams *hp = &m->hp;
    fprintf(out, "file:           %s (%zu bytes)\n", path, m->len);
    fprintf(out, "format:         llama2.c checkpoint (legacy 7-int header, float32 weights)\n");
    fprintf(out, "architecture:   llama\n");
    fprintf(out, "header:         dim %d, hidden_dim %d, n_layers %d, n_heads %d, n_kv_heads %d, "
           "vocab_size %d, seq_len %d\n",
           hp->dim, hp->ffn_dim, hp->n_layers, hp->n_heads, hp->n_kv_heads,
           hp->tied_output ? hp->n_vocab : -hp->n_vocab, hp->n_ctx_train);
    fprintf(out, "classifier:     %s\n",
           hp->tied_output ? "shared with the token embedding" : "separate (wcls)");
    print_quantization(out, m);
    fprintf(out, "context length: %d\n", hp->n_ctx_train);
    fprintf(out, "tokenizer:      separate llama2.c tokenizer.bin (SentencePiece-style, %d tokens)\n",
           hp->n_vocab);
    print_tensor_table(out, m);
}

/* ---- convert ---- */

typedef struct l2c_vocab {
    int32_t n;
    char **piece; /* GGUF form: U+2581 for spaces, "<s>" / "</s>" */
    size_t *len;
    float *score;
    int32_t *type;
} l2c_vocab;

static void vocab_free(l2c_vocab *v)
{
    if (v->piece)
        for (int32_t i = 0; i < v->n; i++)
            sw_free(v->piece[i]);
    sw_free(v->piece);
    sw_free(v->len);
    sw_free(v->score);
    sw_free(v->type);
    memset(v, 0, sizeof(*v));
}

static bool is_byte_piece(const char *p, size_t n)
{
    const char *hex = "0123456789ABCDEFabcdef";
    return n == 6 && memcmp(p, "<0x", 3) == 0 && p[5] == '>' && p[3] && p[4] && strchr(hex, p[3]) &&
           strchr(hex, p[4]);
}

/* Reads a llama2.c tokenizer.bin (int32 max_token_length, then per id:
 * float score, int32 len, len bytes) and turns it into GGUF vocabulary form. */
static swarm_err read_l2c_vocab(const char *path, int32_t n_vocab, l2c_vocab *v, swarm_diag *d)
{
    char *buf;
    size_t size;
    swarm_err rc = sw_read_file(path, &buf, &size, d);
    if (rc != SWARM_OK) return rc;
    memset(v, 0, sizeof(*v));
    v->n = n_vocab;
    v->piece = sw_calloc((size_t)n_vocab, sizeof(char *));
    v->len = sw_calloc((size_t)n_vocab, sizeof(size_t));
    v->score = sw_calloc((size_t)n_vocab, sizeof(float));
    v->type = sw_calloc((size_t)n_vocab, sizeof(int32_t));
    if (!v->piece || !v->len || !v->score || !v->type) {
        rc = sw_diag_set(d, SWARM_ENOMEM, "out of memory");
        goto fail;
    }
    size_t pos = 4;
    if (size < 4) {
        rc = sw_diag_set(d, SWARM_EFORMAT, "%s: too small for a llama2.c tokenizer", path);
        goto fail;
    }
    for (int32_t i = 0; i < n_vocab; i++) {
        int32_t len;
        if (size - pos < 8) goto truncated;
        memcpy(&v->score[i], buf + pos, 4);
        memcpy(&len, buf + pos + 4, 4);
        pos += 8;
        if (len < 0 || (size_t)len > size - pos) goto truncated;
        const char *p = buf + pos;
        pos += (size_t)len;
        size_t n = (size_t)len;
        if (n == 5 && memcmp(p, "\n<s>\n", 5) == 0)
            p = "<s>", n = 3;
        else if (n == 6 && memcmp(p, "\n</s>\n", 6) == 0)
            p = "</s>", n = 4;
        size_t spaces = 0;
        for (size_t k = 0; k < n; k++)
            spaces += p[k] == ' ';
        char *out = sw_malloc(n + 2 * spaces + 1);
        if (out == NULL) {
            rc = sw_diag_set(d, SWARM_ENOMEM, "out of memory");
            goto fail;
        }
        size_t o = 0;
        for (size_t k = 0; k < n; k++) {
            if (p[k] == ' ') { /* llama2.c's export turned U+2581 into a space */
                memcpy(out + o, "\xe2\x96\x81", 3);
                o += 3;
            } else {
                out[o++] = p[k];
            }
        }
        out[o] = '\0';
        v->piece[i] = out;
        v->len[i] = o;
        if (i == 0)
            v->type[i] = 2; /* unknown */
        else if (strcmp(out, "<s>") == 0 || strcmp(out, "</s>") == 0)
            v->type[i] = 3; /* control */
        else if (is_byte_piece(out, o))
            v->type[i] = 6; /* byte */
        else
            v->type[i] = 1; /* normal */
    }
    sw_free(buf);
    return SWARM_OK;
truncated:
    rc = sw_diag_set(d, SWARM_EFORMAT,
                     "%s: truncated or malformed llama2.c tokenizer (want %d entries)", path,
                     n_vocab);
fail:
    sw_free(buf);
    vocab_free(v);
    return rc;
}

/* llama.cpp's general.file_type for a whole-model type (LLAMA_FTYPE_*). */
static bool file_type_of(uint32_t type, uint32_t *out)
{
    switch (type) {
    case SW_TYPE_F32:
        *out = 0;
        return true;
    case SW_TYPE_F16:
        *out = 1;
        return true;
    case SW_TYPE_Q4_0:
        *out = 2;
        return true;
    case SW_TYPE_Q8_0:
        *out = 7;
        return true;
    case SW_TYPE_Q4_K:
        *out = 14;
        return true; /* Q4_K_S: every matrix Q4_K */
    case SW_TYPE_Q6_K:
        *out = 18;
        return true;
    case SW_TYPE_BF16:
        *out = 32;
        return true;
    default:
        return false;
    }
}

/* The type a matrix of row length cols is stored as, when `want` cannot
 * hold it: Q8_0 when its 32-blocks fit, else F16 (F32 for an F32 request). */
static uint32_t fit_type(uint32_t want, int64_t cols)
{
    size_t rb;
    if (sw_type_row_bytes(want, cols, &rb)) return want;
    if (sw_type_row_bytes(SW_TYPE_Q8_0, cols, &rb) && want != SW_TYPE_Q8_0) return SW_TYPE_Q8_0;
    return SW_TYPE_F16;
}

typedef struct conv {
    uint32_t want; /* requested matrix type, or UINT32_MAX: keep */
    float **owned; /* dequantized copies, freed after the write */
    size_t n_owned;
    size_t fallbacks[SW_TYPE_COUNT];
    const char *fallback_example[SW_TYPE_COUNT];
    size_t by_type[SW_TYPE_COUNT];
} conv;

/* F32 data of t: the mapped bytes when already F32, else a dequantized copy. */
static swarm_err f32_of(conv *c, const mtensor *t, const float **out, swarm_diag *d)
{
    if (t->type == SW_TYPE_F32) {
        *out = t->data;
        return SWARM_OK;
    }
    const sw_type_traits *tt = sw_type_get(t->type);
    if (tt == NULL || !tt->supported)
        return sw_diag_set(d, SWARM_EFORMAT, "tensor '%s' has type %s, which cannot be converted",
                           t->name, type_name(t->type));
    size_t n = (size_t)nelements(t), rb;
    float *buf = sw_malloc(n ? n * sizeof(float) : 1);
    if (buf == NULL) return sw_diag_set(d, SWARM_ENOMEM, "out of memory");
    sw_type_row_bytes(t->type, t->ne[0], &rb);
    int64_t rows = t->ne[1] * t->ne[2] * t->ne[3];
    for (int64_t r = 0; r < rows && t->ne[0] > 0; r++)
        sw_dequantize_row(t->type, (const uint8_t *)t->data + (size_t)r * rb, buf + r * t->ne[0],
                          t->ne[0]);
    c->owned[c->n_owned++] = buf;
    *out = buf;
    return SWARM_OK;
}

static swarm_err add_tensors(conv *c, sw_gguf_writer *w, const model_file *m, swarm_diag *d)
{
    for (size_t i = 0; i < m->n_t; i++) {
        const mtensor *t = &m->t[i];
        uint32_t type;
        if (t->n_dims < 2) {
            type = SW_TYPE_F32;
        } else {
            uint32_t want = c->want != UINT32_MAX ? c->want : t->type;
            const sw_type_traits *tt = sw_type_get(want);
            if (tt == NULL || !tt->supported) want = SW_TYPE_F16; /* source type we cannot write */
            type = fit_type(want, t->ne[0]);
            if (type != want) {
                c->fallbacks[type]++;
                if (!c->fallback_example[type]) c->fallback_example[type] = t->name;
            }
        }
        const float *data = NULL; /* set by f32_of on success */
        swarm_err rc = f32_of(c, t, &data, d);
        if (rc != SWARM_OK) return rc;
        rc = sw_gguf_writer_add_tensor(w, t->name, t->n_dims, t->ne, type, data);
        if (rc != SWARM_OK)
            return sw_diag_set(d, rc, "tensor '%s': cannot be stored as %s", t->name,
                               type_name(type));
        c->by_type[type]++;
    }
    return SWARM_OK;
}

#define TRY(x)                                                                 \
    do {                                                                       \
        if ((rc = (x)) != SWARM_OK)                                            \
            return sw_diag_set(d, rc, "cannot set metadata: %s", swarm_strerror(rc)); \
    } while (0)

static swarm_err l2c_metadata(sw_gguf_writer *w, const model_file *m, const char *in,
                              const l2c_vocab *v, uint32_t matrix_type, swarm_diag *d)
{
    swarm_err rc;
    const sw_hparams *hp = &m->hp;
    /* general.name: the input's base name without its extension */
    const char *base = strrchr(in, '/') ? strrchr(in, '/') + 1 : in;
    char name[128];
    snprintf(name, sizeof(name), "%s", base);
    char *dot = strrchr(name, '.');
    if (dot && dot != name) *dot = '\0';
    TRY(sw_gguf_writer_set_str(w, "general.architecture", "llama"));
    TRY(sw_gguf_writer_set_str(w, "general.name", name));
    uint32_t ft;
    if (file_type_of(matrix_type, &ft)) TRY(sw_gguf_writer_set_u32(w, "general.file_type", ft));
    TRY(sw_gguf_writer_set_u32(w, "llama.vocab_size", (uint32_t)hp->n_vocab));
    TRY(sw_gguf_writer_set_u32(w, "llama.context_length", (uint32_t)hp->n_ctx_train));
    TRY(sw_gguf_writer_set_u32(w, "llama.embedding_length", (uint32_t)hp->dim));
    TRY(sw_gguf_writer_set_u32(w, "llama.block_count", (uint32_t)hp->n_layers));
    TRY(sw_gguf_writer_set_u32(w, "llama.feed_forward_length", (uint32_t)hp->ffn_dim));
    TRY(sw_gguf_writer_set_u32(w, "llama.attention.head_count", (uint32_t)hp->n_heads));
    TRY(sw_gguf_writer_set_u32(w, "llama.attention.head_count_kv", (uint32_t)hp->n_kv_heads));
    TRY(sw_gguf_writer_set_u32(w, "llama.rope.dimension_count", (uint32_t)hp->rope_dim));
    TRY(sw_gguf_writer_set_f32(w, "llama.attention.layer_norm_rms_epsilon", hp->norm_eps));
    TRY(sw_gguf_writer_set_f32(w, "llama.rope.freq_base", hp->rope_base));
    TRY(sw_gguf_writer_set_str(w, "tokenizer.ggml.model", "llama"));
    TRY(sw_gguf_writer_set_arr_str(w, "tokenizer.ggml.tokens", (const char *const *)v->piece,
                                   v->len, (size_t)v->n));
    TRY(sw_gguf_writer_set_arr_f32(w, "tokenizer.ggml.scores", v->score, (size_t)v->n));
    TRY(sw_gguf_writer_set_arr_i32(w, "tokenizer.ggml.token_type", v->type, (size_t)v->n));
    /* llama2.c ids: 0 <unk>, 1 BOS, 2 EOS */
    TRY(sw_gguf_writer_set_u32(w, "tokenizer.ggml.unknown_token_id", 0));
    TRY(sw_gguf_writer_set_u32(w, "tokenizer.ggml.bos_token_id", 1));
    TRY(sw_gguf_writer_set_u32(w, "tokenizer.ggml.eos_token_id", 2));
    return SWARM_OK;
}

static swarm_err gguf_metadata(sw_gguf_writer *w, const model_file *m, uint32_t want,
                               swarm_diag *d)
{
    swarm_err rc;
    for (uint64_t i = 0; i < m->g.n_kv; i++)
        TRY(sw_gguf_writer_set_kv(w, &m->g.kv[i]));
    uint32_t ft;
    if (want != UINT32_MAX && file_type_of(want, &ft))
        TRY(sw_gguf_writer_set_u32(w, "general.file_type", ft));
    return SWARM_OK;
}


// --- public entry points (engine.h) ---------------------------------------------

swarm_err swarm_model_file_inspect(const char *path, FILE *out, swarm_diag *d)
{
    if (path == NULL || out == NULL) return sw_diag_set(d, SWARM_EINVAL, "no path or output");
    model_file m;
    swarm_err rc = model_open(path, &m, d);
    if (rc != SWARM_OK) return rc;
    if (m.is_gguf)
        inspect_gguf(out, path, &m);
    else
        inspect_l2c(out, path, &m);
    model_close(&m);
    return SWARM_OK;
}

/* Appends a line to the report's notes (truncated when they are full). */
static void note(swarm_model_convert_report *rep, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void note(swarm_model_convert_report *rep, const char *fmt, ...)
{
    size_t n = strlen(rep->notes);
    if (n + 1 >= sizeof(rep->notes)) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(rep->notes + n, sizeof(rep->notes) - n, fmt, ap);
    va_end(ap);
}

swarm_err swarm_model_convert(const swarm_model_convert_params *p,
                              swarm_model_convert_report *rep, swarm_diag *d)
{
    swarm_model_convert_report local;
    if (rep == NULL) rep = &local;
    memset(rep, 0, sizeof(*rep));
    if (p == NULL || p->in == NULL || p->out == NULL)
        return sw_diag_set(d, SWARM_EINVAL, "need an input and an output path");
    uint32_t want = UINT32_MAX;
    if (p->type != NULL) {
        const sw_type_traits *tt = NULL;
        uint32_t ft = 0;
        if (sw_type_from_name(p->type, &want)) tt = sw_type_get(want);
        /* the engine runs more types than convert writes: its quantizers for
         * Q2_K/Q3_K/Q5_K/IQ4_* exist for tests, not tuned as llama-quantize's */
        if (tt == NULL || !tt->supported || !file_type_of(want, &ft))
            return sw_diag_set(d, SWARM_EINVAL,
                               "type '%s' is not one of F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q6_K",
                               p->type);
    }
    model_file m;
    swarm_err rc = model_open(p->in, &m, d);
    if (rc != SWARM_OK) return rc;
    l2c_vocab v = {0};
    sw_gguf_writer *w = NULL;
    conv c = {.want = want};
    if (!m.is_gguf) {
        if (p->tokenizer == NULL) {
            rep->needs_tokenizer = true;
            rc = sw_diag_set(d, SWARM_EINVAL, "%s is a llama2.c checkpoint: its tokenizer.bin is needed",
                             p->in);
            goto out;
        }
        if (c.want == UINT32_MAX) c.want = SW_TYPE_F32;
        if ((rc = read_l2c_vocab(p->tokenizer, m.hp.n_vocab, &v, d)) != SWARM_OK) goto out;
    } else if (p->tokenizer != NULL) {
        note(rep, "tokenizer %s ignored: %s has its own tokenizer\n", p->tokenizer, p->in);
    }
    c.owned = sw_calloc(m.n_t ? m.n_t : 1, sizeof(float *));
    if (c.owned == NULL || sw_gguf_writer_create(&w) != SWARM_OK) {
        rc = sw_diag_set(d, SWARM_ENOMEM, "out of memory");
        goto out;
    }
    rc = m.is_gguf ? gguf_metadata(w, &m, want, d) : l2c_metadata(w, &m, p->in, &v, c.want, d);
    if (rc == SWARM_OK) rc = add_tensors(&c, w, &m, d);
    if (rc != SWARM_OK) {
        sw_diag_prefix(d, p->in);
        goto out;
    }
    for (uint32_t t = 0; t < SW_TYPE_COUNT; t++)
        if (c.fallbacks[t])
            note(rep,
                 "%zu matrices (e.g. '%s') have rows that are not a multiple of the %s block "
                 "size; stored as %s\n",
                 c.fallbacks[t], c.fallback_example[t],
                 type_name(want != UINT32_MAX ? want : SW_TYPE_F32), type_name(t));
    rep->writing = true;
    if ((rc = sw_gguf_writer_write(w, p->out, d)) != SWARM_OK) goto out;
    rep->writing = false;
    rep->n_tensors = m.n_t;
    size_t n = 0;
    for (uint32_t t = 0; t < SW_TYPE_COUNT; t++) {
        if (!c.by_type[t] || n >= sizeof(rep->types)) continue;
        n += (size_t)snprintf(rep->types + n, sizeof(rep->types) - n, "%s%s x %zu",
                              n ? ", " : "", type_name(t), c.by_type[t]);
    }
out:
    for (size_t i = 0; i < c.n_owned; i++)
        sw_free(c.owned[i]);
    sw_free(c.owned);
    sw_gguf_writer_destroy(w);
    vocab_free(&v);
    model_close(&m);
    return rc;
}
