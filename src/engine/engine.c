/*
 * engine.c: the public engine API (engine.h): loading .gguf and llama2.c
 * models with their tokenizers, sessions, generation with llama2.c run.c
 * semantics, chat prompts, cancellation, log-probability scoring and model
 * info. The numeric work is in forward.c and sampler.c.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "constrain.h"
#include "forward.h"

#define MAX_N_CTX (1 << 20)

struct swarm_model {
    char *path;
    bool is_gguf;
    sw_gguf gguf;      /* GGUF: the parsed file (owns its mapping) */
    void *map;         /* llama2.c: the mapping */
    size_t map_len;
    sw_hparams hp;
    sw_weights w;
    sw_tokenizer *tok;
    enum sw_chat_template chat;
    float *rope_freq;  /* (rope_dim/2) angle per position of each rotated pair */
    size_t max_piece;  /* upper bound of one decoded piece's bytes */
    swarm_model_info info;
    char quant[16];
    char tok_name[80];
};

struct swarm_session {
    swarm_model *m;
    sw_fwd *fwd;
    int32_t n_ctx;
    sw_prob *cand;  /* (n_vocab) sampler candidates */
    char *piece;    /* (max_piece + 1) one decoded piece */
    /* The context tokens whose KV rows swarm_score left in the cache
     * (n_scored < 0: none). Scoring several continuations of one context
     * evaluates it once; it is reused only when it is exactly the same token
     * sequence, computed the same way, so results stay bit-identical. */
    int32_t *scored;  /* (n_ctx) */
    int32_t n_scored;
    /* grammar-constrained generation, built at its first use */
    sw_gvocab *gvocab; /* the vocabulary's token trie */
    float *masked;     /* (n_vocab) masked logits */
    /* the last grammar (a copy: the caller's may be freed) and its matcher,
     * whose cached masks serve the next generation with an equal grammar */
    swarm_grammar *gcopy;
    sw_gm *gm;
    /* Positions [0, n_filled) of the cache hold what swarm_session_eval put
     * there; swarm_generate and swarm_score overwrite the cache and reset it. */
    int32_t n_filled;
};

/* ------------------------------------------------------------------------ */
/* defaults                                                                 */

swarm_model_params swarm_model_params_default(void)
{
    swarm_model_params p = {.path = NULL, .tokenizer_path = NULL};
    return p;
}

swarm_session_params swarm_session_params_default(void)
{
    swarm_session_params p = {.n_ctx = 0, .n_threads = 0};
    return p;
}

swarm_sampling swarm_sampling_default(void)
{
    swarm_sampling s = {.temperature = 1.0f, .top_k = 0, .top_p = 0.9f, .min_p = 0.0f, .seed = 0};
    return s;
}

/* ------------------------------------------------------------------------ */
/* model loading                                                            */

static const char *chat_name(enum sw_chat_template t)
{
    switch (t) {
    case SW_CHAT_CHATML: return "chatml";
    case SW_CHAT_LLAMA3: return "llama3";
    case SW_CHAT_LLAMA2: return "llama2";
    default: return "none";
    }
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* The llama2.c tokenizer used when none is given: tokenizer.bin, then
 * tok512.bin, in the model's directory (run.c's default is tokenizer.bin). */
static char *default_tokenizer(const char *model_path)
{
    static const char *names[] = {"tokenizer.bin", "tok512.bin"};
    const char *slash = strrchr(model_path, '/');
    size_t dir = slash ? (size_t)(slash - model_path + 1) : 0;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        size_t n = dir + strlen(names[i]) + 1;
        char *p = sw_malloc(n);
        if (p == NULL) return NULL;
        memcpy(p, model_path, dir);
        strcpy(p + dir, names[i]);
        FILE *f = fopen(p, "rb");
        if (f != NULL) {
            fclose(f);
            return p;
        }
        if (i + 1 == sizeof(names) / sizeof(names[0])) return p; /* report this one */
        sw_free(p);
    }
    return NULL;
}

/* Reads the first bytes of a model file. Only regular files are models:
 * opening without blocking keeps a FIFO (or a device) from hanging the load,
 * and a directory gets a message of its own. */
static swarm_err sniff_magic(const char *path, char magic[4], size_t *got, swarm_diag *d)
{
    int fd = sw_io_fail() ? -1 : open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return sw_diag_set(d, errno == ENOENT ? SWARM_ENOTFOUND : SWARM_ESYS,
                           "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    swarm_err rc = SWARM_OK;
    if (fstat(fd, &st) != 0)
        rc = sw_diag_set(d, SWARM_ESYS, "%s: %s", path, strerror(errno));
    else if (S_ISDIR(st.st_mode))
        rc = sw_diag_set(d, SWARM_EINVAL, "%s: is a directory, not a model file", path);
    else if (!S_ISREG(st.st_mode))
        rc = sw_diag_set(d, SWARM_EINVAL, "%s: not a regular file", path);
    else {
        ssize_t n;
        do {
            n = sw_io_fail() ? -1 : read(fd, magic, 4);
        } while (n < 0 && errno == EINTR);
        if (n < 0)
            rc = sw_diag_set(d, SWARM_ESYS, "%s: read error: %s", path, strerror(errno));
        *got = n > 0 ? (size_t)n : 0;
    }
    close(fd);
    return rc;
}

/* Makes sure a message names the file it is about. */
static void diag_name(swarm_diag *d, const char *path, swarm_err rc)
{
    if (d == NULL) return;
    if (d->msg[0] == '\0')
        sw_diag_set(d, rc, "%s: %s", path, swarm_strerror(rc));
    else if (strncmp(d->msg, path, strlen(path)) != 0)
        sw_diag_prefix(d, path);
}

static void fill_info(swarm_model *m)
{
    const sw_hparams *hp = &m->hp;
    swarm_model_info *in = &m->info;
    in->arch = sw_arch_name(hp->arch);
    in->format = m->is_gguf ? "gguf" : "llama2c";
    in->chat_template = chat_name(m->chat);
    in->dim = hp->dim;
    in->ffn_dim = hp->ffn_dim;
    in->n_layers = hp->n_layers;
    in->n_heads = hp->n_heads;
    in->n_kv_heads = hp->n_kv_heads;
    in->n_vocab = hp->n_vocab;
    in->n_ctx_train = hp->n_ctx_train;
    in->rope_base = hp->rope_base;
    in->norm_eps = hp->norm_eps;

    /* bytes touched per generated token and the most common matrix type */
    int64_t bytes = 0, params = 0;
    int64_t count[SW_TYPE_COUNT] = {0};
    const sw_weights *w = &m->w;
    for (int32_t l = 0; l < hp->n_layers; l++) {
        const sw_layer *L = &w->layers[l];
        const sw_tensor *ts[] = {&L->attn_norm, &L->wq, &L->wk,     &L->wv,   &L->wo,
                                 &L->bq,        &L->bk, &L->bv,     &L->ffn_norm,
                                 &L->w_gate,    &L->w_up, &L->w_down};
        for (size_t i = 0; i < sizeof(ts) / sizeof(ts[0]); i++) {
            if (ts[i]->data == NULL) continue;
            size_t rb = 0;
            sw_type_row_bytes(ts[i]->type, ts[i]->cols, &rb);
            bytes += (int64_t)rb * ts[i]->rows;
            params += ts[i]->cols * ts[i]->rows;
            if (ts[i]->rows > 1 && ts[i]->type < SW_TYPE_COUNT) count[ts[i]->type]++;
        }
    }
    size_t rb = 0;
    sw_type_row_bytes(w->output.type, w->output.cols, &rb);
    bytes += (int64_t)rb * w->output.rows + (int64_t)hp->dim * 4;
    params += (int64_t)hp->dim; /* out_norm */
    params += w->tok_embd.cols * w->tok_embd.rows;
    if (!hp->tied_output) params += w->output.cols * w->output.rows;
    if (w->output.type < SW_TYPE_COUNT) count[w->output.type]++;
    int best = 0;
    for (int t = 1; t < SW_TYPE_COUNT; t++)
        if (count[t] > count[best]) best = t;
    const sw_type_traits *tr = sw_type_get((uint32_t)best);
    snprintf(m->quant, sizeof(m->quant), "%s", tr ? tr->name : "?");
    in->quant = m->quant;
    in->n_params = params;
    in->weight_bytes = bytes;

    if (sw_tokenizer_kind(m->tok) == SW_TOK_BPE)
        snprintf(m->tok_name, sizeof(m->tok_name), "bpe:%s", sw_tokenizer_pre_name(m->tok));
    else
        snprintf(m->tok_name, sizeof(m->tok_name), "spm");
    in->tokenizer = m->tok_name;
}

static swarm_err load_gguf(swarm_model *m, swarm_diag *d)
{
    swarm_err rc = sw_gguf_load(m->path, &m->gguf, d); /* a private copy: no SIGBUS */
    if (rc != SWARM_OK) return rc;
    if ((rc = sw_model_bind_gguf(&m->gguf, &m->hp, &m->w, d)) != SWARM_OK) {
        diag_name(d, m->path, rc);
        return rc;
    }
    const float *factors = NULL;
    if ((rc = sw_model_rope_factors(&m->gguf, &m->hp, &factors, d)) != SWARM_OK) {
        diag_name(d, m->path, rc);
        return rc;
    }
    m->rope_freq = sw_calloc((size_t)m->hp.rope_dim / 2, sizeof(float));
    if (m->rope_freq == NULL) return SWARM_ENOMEM;
    sw_rope_freqs(&m->hp, factors, m->rope_freq);
    if ((rc = sw_tokenizer_from_gguf(&m->gguf, &m->tok, d)) != SWARM_OK) {
        diag_name(d, m->path, rc);
        return rc;
    }
    sw_str tmpl;
    m->chat = SW_CHAT_NONE;
    if (sw_gguf_get_str(&m->gguf, "tokenizer.chat_template", &tmpl))
        m->chat = sw_chat_detect(tmpl.ptr, (size_t)tmpl.len);
    return SWARM_OK;
}

static swarm_err load_llama2c(swarm_model *m, const char *tok_path, swarm_diag *d)
{
    swarm_err rc = sw_llama2c_open(m->path, &m->hp, &m->w, &m->map, &m->map_len, d);
    if (rc != SWARM_OK) {
        diag_name(d, m->path, rc);
        return rc;
    }
    m->rope_freq = sw_calloc((size_t)m->hp.rope_dim / 2, sizeof(float));
    if (m->rope_freq == NULL) return SWARM_ENOMEM;
    sw_rope_freqs(&m->hp, NULL, m->rope_freq);
    char *owned = NULL;
    if (tok_path == NULL) {
        owned = default_tokenizer(m->path);
        if (owned == NULL) return SWARM_ENOMEM;
        tok_path = owned;
    }
    rc = sw_tokenizer_from_llama2c(tok_path, m->hp.n_vocab, &m->tok, d);
    if (rc != SWARM_OK) diag_name(d, tok_path, rc);
    sw_free(owned);
    m->chat = SW_CHAT_NONE;
    return rc;
}

swarm_err swarm_model_load(const swarm_model_params *p, swarm_model **out, swarm_diag *d)
{
    if (p == NULL || p->path == NULL || out == NULL)
        return sw_diag_set(d, SWARM_EINVAL, "no model path given");
    if (d != NULL) d->msg[0] = '\0';
    swarm_model *m = sw_calloc(1, sizeof(*m));
    if (m == NULL) return sw_diag_set(d, SWARM_ENOMEM, "%s: out of memory", p->path);
    swarm_err rc;
    if ((m->path = sw_strdup(p->path)) == NULL) {
        rc = SWARM_ENOMEM;
        goto fail;
    }

    /* The magic decides the format; a .gguf name always goes to the GGUF
     * reader so that a damaged GGUF gets GGUF's messages. */
    char magic[4] = {0};
    size_t got = 0;
    if ((rc = sniff_magic(m->path, magic, &got, d)) != SWARM_OK) goto fail;
    m->is_gguf = (got == 4 && memcmp(magic, "GGUF", 4) == 0) || ends_with(m->path, ".gguf");
    rc = m->is_gguf ? load_gguf(m, d) : load_llama2c(m, p->tokenizer_path, d);
    if (rc != SWARM_OK) goto fail;

    int32_t tv = sw_tokenizer_n_vocab(m->tok);
    if (tv <= 0 || tv > m->hp.n_vocab) {
        rc = sw_diag_set(d, SWARM_EFORMAT, "%s: tokenizer has %d tokens but the model has %d",
                         m->path, tv, m->hp.n_vocab);
        goto fail;
    }
    /* Bound of one decoded piece: decoding never expands a stored piece
     * (U+2581 -> ' ', <0xXX> -> one byte, byte-level BPE -> fewer bytes). */
    size_t mx = 16;
    for (int32_t i = 0; i < tv; i++) {
        sw_str s = sw_tokenizer_piece(m->tok, i);
        if (s.len + 8 > mx) mx = (size_t)s.len + 8;
    }
    m->max_piece = mx;
    fill_info(m);
    *out = m;
    return SWARM_OK;
fail:
    if (rc == SWARM_ENOMEM && d != NULL && d->msg[0] == '\0')
        sw_diag_set(d, rc, "%s: out of memory", p->path);
    swarm_model_destroy(m);
    return rc;
}

void swarm_model_destroy(swarm_model *m)
{
    if (m == NULL) return;
    sw_tokenizer_destroy(m->tok);
    sw_free(m->w.layers);
    sw_free(m->rope_freq);
    if (m->is_gguf) sw_gguf_close(&m->gguf);
    sw_unmap_file(m->map, m->map_len);
    sw_free(m->path);
    sw_free(m);
}

const swarm_model_info *swarm_model_get_info(const swarm_model *m)
{
    return m != NULL ? &m->info : NULL;
}

/* llama2.c's safe_printf: a piece that is one control byte is not shown.
 * Bytes >= 0x80 are kept (run.c drops them too, in the C locale), so that
 * UTF-8 split over byte tokens survives; for the goldens this is the same. */
static size_t token_text(const swarm_model *m, int32_t prev, int32_t id, char *buf, size_t cap)
{
    char one[8];
    size_t n = sw_tokenizer_decode(m->tok, prev, id, buf, cap);
    if (n == 1) {
        if (cap == 0) sw_tokenizer_decode(m->tok, prev, id, one, sizeof(one));
        unsigned char c = (unsigned char)(cap == 0 ? one[0] : buf[0]);
        if (c < 0x80 && !(isprint(c) || isspace(c))) return 0;
    }
    return n;
}

static bool add_bos(const swarm_model *m)
{
    /* llama2.c checkpoints always start with BOS (run.c encode(..., 1, 0)) */
    return !m->is_gguf || sw_tokenizer_add_bos_default(m->tok);
}

size_t swarm_model_token_text(const swarm_model *m, int32_t prev, int32_t id, char *buf,
                              size_t cap)
{
    /* BOS is never printed (run.c starts printing after it), so a prompt
     * can be echoed from its first token whether or not it has a BOS */
    if (m == NULL || id < 0 || id >= sw_tokenizer_n_vocab(m->tok) || id == sw_tokenizer_bos(m->tok))
        return 0;
    return token_text(m, prev, id, buf, cap);
}

swarm_err swarm_model_tokenize(const swarm_model *m, const char *text, int32_t **out,
                               size_t *out_n)
{
    if (m == NULL || text == NULL || out == NULL || out_n == NULL) return SWARM_EINVAL;
    return sw_tokenizer_encode(m->tok, text, strlen(text), add_bos(m), false, false, out, out_n);
}

/* ------------------------------------------------------------------------ */
/* sessions                                                                 */

swarm_err swarm_session_create(swarm_model *m, const swarm_session_params *p,
                               swarm_session **out)
{
    if (m == NULL || out == NULL) return SWARM_EINVAL;
    swarm_session_params sp = p ? *p : swarm_session_params_default();
    int32_t n_ctx = sp.n_ctx;
    /* Beyond the trained context the model has never seen the positions,
     * and the KV cache (zeroed at creation) would grow with a number the
     * caller made up: both are refused rather than clamped silently. */
    if (n_ctx < 0 || n_ctx > MAX_N_CTX || n_ctx > m->hp.n_ctx_train || sp.n_threads < 0 ||
        sp.n_threads > 1024)
        return SWARM_EINVAL;
    if (n_ctx == 0) n_ctx = m->hp.n_ctx_train < 2048 ? m->hp.n_ctx_train : 2048;
    int n_threads = sp.n_threads > 0 ? sp.n_threads : sw_cpu_count();
    int32_t n_batch = n_ctx < 64 ? n_ctx : 64; /* prompt tokens per forward call */

    swarm_session *s = sw_calloc(1, sizeof(*s));
    if (s == NULL) return SWARM_ENOMEM;
    swarm_err rc;
    s->m = m;
    s->n_ctx = n_ctx;
    s->cand = sw_calloc((size_t)m->hp.n_vocab, sizeof(sw_prob));
    s->piece = sw_malloc(m->max_piece + 1);
    s->scored = sw_calloc((size_t)n_ctx, sizeof(int32_t));
    s->n_scored = -1;
    if (s->cand == NULL || s->piece == NULL || s->scored == NULL) {
        rc = SWARM_ENOMEM;
        goto fail;
    }
    rc = sw_fwd_create(&m->hp, &m->w, m->rope_freq, n_ctx, n_batch, n_threads, &s->fwd);
    if (rc != SWARM_OK) goto fail;
    *out = s;
    return SWARM_OK;
fail:
    swarm_session_destroy(s);
    return rc;
}

void swarm_session_destroy(swarm_session *s)
{
    if (s == NULL) return;
    sw_fwd_destroy(s->fwd);
    sw_free(s->cand);
    sw_free(s->piece);
    sw_free(s->scored);
    sw_gvocab_destroy(s->gvocab);
    sw_free(s->masked);
    sw_gm_destroy(s->gm);
    swarm_grammar_destroy(s->gcopy);
    sw_free(s);
}

swarm_err swarm_session_eval(swarm_session *s, const int32_t *ids, int32_t n, int32_t pos)
{
    if (s == NULL || ids == NULL || n <= 0 || pos < 0 || pos > s->n_filled || n > s->n_ctx - pos)
        return SWARM_EINVAL;
    for (int32_t i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= s->m->hp.n_vocab) return SWARM_EINVAL;
    s->n_scored = -1; /* swarm_score's cached context is overwritten */
    sw_fwd_eval_all(s->fwd, ids, n, pos);
    s->n_filled = pos + n;
    return SWARM_OK;
}

swarm_err swarm_sessions_eval_next(swarm_session *const *ss, const int32_t *ids, int32_t n)
{
    enum { MAX_SEQ = 64 };
    if (ss == NULL || ids == NULL || n <= 0 || n > MAX_SEQ || ss[0] == NULL) return SWARM_EINVAL;
    sw_fwd *fwds[MAX_SEQ];
    int32_t pos[MAX_SEQ];
    const swarm_model *m = ss[0]->m;
    sw_fwd *lead = ss[0]->fwd;
    if (n > sw_fwd_n_batch(lead) || n > sw_fwd_n_logit_rows(lead)) return SWARM_EINVAL;
    /* the K/V rows are staged in the FFN buffers (true of every real model) */
    if ((int64_t)m->hp.n_kv_heads * m->hp.head_dim > m->hp.ffn_dim) return SWARM_EUNSUPPORTED;
    for (int32_t i = 0; i < n; i++) {
        const swarm_session *s = ss[i];
        if (s == NULL || s->m != m || s->n_ctx != ss[0]->n_ctx || s->n_filled >= s->n_ctx ||
            ids[i] < 0 || ids[i] >= m->hp.n_vocab)
            return SWARM_EINVAL;
        for (int32_t k = 0; k < i; k++)
            if (ss[k] == s) return SWARM_EINVAL; /* one token per session per call */
        fwds[i] = s->fwd;
        pos[i] = s->n_filled;
    }
    const float *rows = sw_fwd_eval_multi(lead, fwds, ids, pos, n);
    /* each session's logits into its own state; the lead's row 0 is already there */
    for (int32_t i = n - 1; i >= 0; i--) {
        sw_fwd_set_last_logits(fwds[i], rows + (size_t)i * (size_t)m->hp.n_vocab);
        ss[i]->n_filled++;
        ss[i]->n_scored = -1;
    }
    return SWARM_OK;
}

int32_t swarm_session_n_filled(const swarm_session *s)
{
    return s != NULL ? s->n_filled : 0;
}

const float *swarm_session_logits(const swarm_session *s, int32_t *n_vocab)
{
    if (s == NULL) return NULL;
    if (n_vocab != NULL) *n_vocab = s->m->hp.n_vocab;
    return sw_fwd_last_logits(s->fwd);
}

/* ------------------------------------------------------------------------ */
/* generation                                                               */

/* Written so that NaN fails every test. top_p is a mass in (0, 1] (1 = off):
 * 0 would keep no token at all. */
static bool bad_sampling(const swarm_sampling *s)
{
    return !(s->temperature >= 0.0f) || !isfinite(s->temperature) || s->top_k < 0 ||
           !(s->top_p > 0.0f && s->top_p <= 1.0f) || !(s->min_p >= 0.0f && s->min_p <= 1.0f);
}

static bool ends_turn(const swarm_model *m, int32_t id)
{
    return id == sw_tokenizer_bos(m->tok) || id == sw_tokenizer_eos(m->tok) ||
           sw_tokenizer_is_eog(m->tok, id);
}

/* The prompt's token ids: raw text, or chat messages in the model's template. */
static swarm_err encode_prompt(swarm_session *s, const swarm_gen_params *p, int32_t **ids,
                               size_t *n)
{
    const swarm_model *m = s->m;
    if (p->chat != NULL && p->n_chat > 0) {
        char *text = NULL;
        swarm_err rc = sw_chat_render(m->chat, p->chat, p->n_chat, &text);
        if (rc != SWARM_OK) return rc;
        rc = sw_tokenizer_encode(m->tok, text, strlen(text), add_bos(m), false, true, ids, n);
        sw_free(text);
        return rc;
    }
    const char *text = p->prompt ? p->prompt : "";
    return sw_tokenizer_encode(m->tok, text, strlen(text), add_bos(m), false, false, ids, n);
}

/* Drops the session's grammar matcher (after an error, or for another
 * grammar). */
static void constrain_forget(swarm_session *s)
{
    sw_gm_destroy(s->gm);
    swarm_grammar_destroy(s->gcopy);
    s->gm = NULL;
    s->gcopy = NULL;
}

/* Sets up grammar-constrained generation; the vocabulary trie, the
 * masked-logits buffer and the grammar's matcher are kept in the session
 * for later generations. */
static swarm_err constrain_start(swarm_session *s, const swarm_grammar *g, sw_constrain *con)
{
    const swarm_model *m = s->m;
    if (s->gvocab == NULL) {
        swarm_err rc = sw_constrain_vocab(m, m->tok, m->max_piece, &s->gvocab);
        if (rc != SWARM_OK) return rc;
    }
    if (s->masked == NULL && (s->masked = sw_calloc((size_t)m->hp.n_vocab, sizeof(float))) == NULL)
        return SWARM_ENOMEM;
    if (s->gm == NULL || !sw_grammar_equal(s->gcopy, g) || sw_gm_should_reset(s->gm)) {
        constrain_forget(s);
        swarm_err rc = sw_grammar_clone(g, &s->gcopy);
        if (rc == SWARM_OK) rc = sw_gm_create(s->gcopy, &s->gm);
        if (rc != SWARM_OK) {
            constrain_forget(s);
            return rc;
        }
    }
    return sw_constrain_begin(con, m, m->tok, s->gm, s->gvocab, s->masked);
}

void swarm_gen_result_destroy(swarm_gen_result *r)
{
    if (r == NULL) return;
    sw_free(r->text);
    sw_free(r->tokens);
    sw_free(r);
}

swarm_err swarm_generate(swarm_session *s, const swarm_gen_params *p, swarm_gen_result **out)
{
    if (s == NULL || p == NULL || out == NULL || bad_sampling(&p->sampling) || p->steps < 0 ||
        p->max_tokens < 0)
        return SWARM_EINVAL;
    const swarm_model *m = s->m;
    double t0 = sw_now_ms();
    int32_t *ids = NULL;
    size_t n_ids = 0;
    swarm_err rc = encode_prompt(s, p, &ids, &n_ids);
    if (rc != SWARM_OK) return rc;
    if (n_ids == 0 || n_ids > (size_t)s->n_ctx) {
        sw_free(ids);
        /* nothing to start from, or longer than the context: a caller that
         * can shorten the prompt (map-reduce's reduce_fanin) needs to know */
        return n_ids == 0 ? SWARM_EINVAL : SWARM_ETOOLONG;
    }
    int32_t n_prompt = (int32_t)n_ids;
    /* run.c: `steps` positions including the prompt, at most the context */
    int64_t total;
    if (p->steps > 0)
        total = p->steps;
    else if (p->max_tokens > 0)
        total = (int64_t)n_prompt - 1 + p->max_tokens;
    else
        total = s->n_ctx;
    if (total > s->n_ctx) total = s->n_ctx;
    int32_t max_gen = total >= n_prompt ? (int32_t)(total - n_prompt + 1) : 0;

    /* everything the loop writes is allocated here, so the loop does not */
    swarm_gen_result *r = sw_calloc(1, sizeof(*r));
    size_t text_cap = 0, tok_cap = (size_t)n_prompt + (size_t)max_gen;
    if (r == NULL || !sw_mul_ok((size_t)max_gen, m->max_piece, &text_cap) ||
        !sw_add_ok(text_cap, 1, &text_cap) || (r->text = sw_malloc(text_cap)) == NULL ||
        (r->tokens = sw_calloc(tok_cap, sizeof(int32_t))) == NULL) {
        swarm_gen_result_destroy(r);
        sw_free(ids);
        return SWARM_ENOMEM;
    }
    memcpy(r->tokens, ids, (size_t)n_prompt * sizeof(int32_t));
    r->n_prompt = (size_t)n_prompt;
    r->n_tokens = (size_t)n_prompt;
    r->stop = "length";
    sw_free(ids);
    ids = NULL;

    sw_constrain con = {0};
    if (p->grammar != NULL) {
        rc = constrain_start(s, p->grammar, &con);
        if (rc != SWARM_OK) {
            swarm_gen_result_destroy(r);
            return rc;
        }
    }

    s->n_scored = -1; /* the cache is about to be overwritten */
    s->n_filled = 0;
    sw_sampler smp;
    /* only ids the tokenizer knows can be picked: some GGUF files pad the
     * embedding matrix beyond the vocabulary (Qwen2: 151936 rows, 151665 tokens) */
    sw_sampler_init(&smp, &p->sampling, sw_tokenizer_n_vocab(m->tok), s->cand);
    const float *logits = NULL;
    if (max_gen > 0) logits = sw_fwd_eval_all(s->fwd, r->tokens, n_prompt, 0);
    double t1 = sw_now_ms();
    r->prompt_ms = t1 - t0;

    int32_t pos = n_prompt - 1, token = r->tokens[n_prompt - 1];
    size_t text_len = 0;
    while (max_gen > 0 && pos < total) {
        int32_t next;
        if (p->grammar != NULL) {
            const float *lg = NULL;
            bool complete = false;
            double tg = sw_now_ms();
            rc = sw_constrain_logits(&con, token, logits, m->hp.n_vocab, &lg, &complete);
            r->grammar_ms += sw_now_ms() - tg;
            if (rc == SWARM_OK && lg == NULL && !complete) rc = SWARM_EINFEASIBLE;
            if (rc != SWARM_OK) break;
            if (lg == NULL) { /* complete, and the model has no end token to say so */
                r->stop = "eos";
                break;
            }
            next = sw_sampler_sample(&smp, lg);
            /* the sampler's rounding fallback may land on a masked id */
            if (!sw_constrain_allowed(&con, next)) next = sw_argmax(lg, m->hp.n_vocab);
        } else {
            next = sw_sampler_sample(&smp, logits);
        }
        pos++;
        if (ends_turn(m, next)) {
            r->stop = "eos";
            break;
        }
        r->tokens[r->n_tokens++] = next;
        size_t n = token_text(m, token, next, s->piece, m->max_piece);
        if (n > m->max_piece) n = m->max_piece; /* cannot happen: max_piece bounds it */
        s->piece[n] = '\0'; /* callers may treat the piece as a string */
        memcpy(r->text + text_len, s->piece, n);
        text_len += n;
        token = next;
        if (p->grammar != NULL) {
            double tg = sw_now_ms();
            rc = sw_constrain_accept(&con, s->piece, n);
            r->grammar_ms += sw_now_ms() - tg;
            if (rc != SWARM_OK) break;
        }
        if (p->on_token != NULL && p->on_token(p->ud, next, s->piece, n) != 0) {
            r->stop = "canceled";
            break;
        }
        if (p->grammar != NULL && sw_constrain_finished(&con)) {
            r->stop = "eos"; /* nothing may follow: no need to ask the model */
            break;
        }
        if (pos < total) logits = sw_fwd_eval(s->fwd, &token, 1, pos, SW_LOGITS_LAST);
    }
    if (p->grammar != NULL) {
        sw_constrain_end(&con);
        /* a limit met halfway: the next generation starts afresh */
        if (rc != SWARM_OK) constrain_forget(s);
    }
    if (rc != SWARM_OK) {
        swarm_gen_result_destroy(r);
        return rc;
    }
    r->text[text_len] = '\0';
    r->text_len = text_len;
    r->gen_ms = sw_now_ms() - t1;
    *out = r;
    return SWARM_OK;
}

/* ------------------------------------------------------------------------ */
/* scoring                                                                  */

swarm_err swarm_score(swarm_session *s, const char *context, const char *continuation,
                      double *out_logprob, int32_t *out_n_tokens)
{
    if (s == NULL || context == NULL || continuation == NULL || out_logprob == NULL)
        return SWARM_EINVAL;
    const swarm_model *m = s->m;
    size_t lc = strlen(context), lk = strlen(continuation);
    sw_buf jb = {0}; /* context + continuation */
    sw_buf_put(&jb, context, lc);
    sw_buf_put(&jb, continuation, lk);
    if (jb.oom) {
        sw_free(jb.p);
        return SWARM_ENOMEM;
    }
    char *joined = jb.p;
    int32_t *ctx = NULL, *all = NULL;
    size_t n_ctx_tok = 0, n_all = 0;
    swarm_err rc = sw_tokenizer_encode(m->tok, context, lc, add_bos(m), false, false, &ctx,
                                       &n_ctx_tok);
    if (rc == SWARM_OK)
        rc = sw_tokenizer_encode(m->tok, joined, lc + lk, add_bos(m), false, false, &all, &n_all);
    sw_free(joined);
    if (rc != SWARM_OK) goto done;
    /* The continuation's tokens are those of context+continuation after the
     * prefix they share with the context alone: the continuation gets no
     * dummy-prefix space, and a merge across the boundary counts for it. */
    size_t k = 0;
    while (k < n_ctx_tok && k < n_all && ctx[k] == all[k]) k++;
    if (k == n_all) { /* empty continuation */
        *out_logprob = 0.0;
        if (out_n_tokens) *out_n_tokens = 0;
        goto done;
    }
    if (k == 0 || n_all > (size_t)s->n_ctx) { /* no BOS to predict from, or too long */
        rc = k == 0 ? SWARM_EINVAL : SWARM_ETOOLONG;
        goto done;
    }
    /* the context: KV cache only, skipped when the cache already holds it */
    int32_t n_head = (int32_t)(k - 1);
    bool cached = n_head == s->n_scored &&
                  memcmp(all, s->scored, (size_t)n_head * sizeof(int32_t)) == 0;
    s->n_scored = -1;
    s->n_filled = 0;
    if (n_head > 0 && !cached) sw_fwd_eval_all(s->fwd, all, n_head, 0);
    double lp = 0.0;
    int32_t nb = sw_fwd_n_logit_rows(s->fwd), nv = m->hp.n_vocab;
    /* rows predicting all[k..n_all): inputs all[k-1..n_all-1) */
    for (size_t i = k - 1; i + 1 < n_all;) {
        int32_t n = (int32_t)(n_all - 1 - i < (size_t)nb ? n_all - 1 - i : (size_t)nb);
        const float *lg = sw_fwd_eval(s->fwd, all + i, n, (int32_t)i, SW_LOGITS_ALL);
        for (int32_t t = 0; t < n; t++) {
            const float *row = lg + (size_t)t * nv;
            float mx = row[sw_argmax(row, nv)];
            double sum = 0.0;
            for (int32_t v = 0; v < nv; v++) sum += exp((double)row[v] - mx);
            lp += (double)row[all[i + t + 1]] - mx - log(sum);
        }
        i += (size_t)n;
    }
    memcpy(s->scored, all, (size_t)n_head * sizeof(int32_t));
    s->n_scored = n_head;
    *out_logprob = lp;
    if (out_n_tokens) *out_n_tokens = (int32_t)(n_all - k);
done:
    sw_free(ctx);
    sw_free(all);
    return rc;
}
