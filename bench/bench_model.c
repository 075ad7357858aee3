/*
 * bench_model.c: `swarm bench-model` (see bench_model.h). Writes a GGUF file
 * with random weights in a real small-LM shape through our own GGUF writer,
 * loads it like any model, and times one prompt batch and greedy generation
 * against the measured memory bandwidth. Compiled into the swarm CLI; no main().
 */
#include "bench_model.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/engine_int.h"
#include "engine/forward.h"
#include "membw.h"
#include "swarm/engine.h"

// ----------------------------------------------------------------------------
// shapes

typedef struct shape_def {
    const char *name;
    const char *arch; /* GGUF general.architecture */
    int32_t dim, ffn_dim, n_layers, n_heads, n_kv_heads, n_vocab, n_ctx;
    float rope_base, norm_eps;
    bool qkv_bias; /* qwen2 */
} shape_def;

/* The published configurations of the models these shapes stand for; all
 * three tie the output head to the token embedding. */
static const shape_def shapes[] = {
    {"stories15m", "llama", 288, 768, 6, 6, 6, 32000, 256, 10000.0f, 1e-5f, false},
    {"smollm2-135m", "llama", 576, 1536, 30, 9, 3, 49152, 8192, 100000.0f, 1e-5f, false},
    {"qwen2.5-0.5b", "qwen2", 896, 4864, 24, 14, 2, 151936, 32768, 1000000.0f, 1e-6f, true},
};
#define N_SHAPES (sizeof(shapes) / sizeof(shapes[0]))

static const shape_def *shape_find(const char *name)
{
    for (size_t i = 0; name != NULL && i < N_SHAPES; i++)
        if (strcmp(shapes[i].name, name) == 0) return &shapes[i];
    return NULL;
}

bool sw_bench_model_type(const char *name, uint32_t *out)
{
    uint32_t t;
    if (!sw_type_from_name(name, &t) ||
        (t != SW_TYPE_F32 && t != SW_TYPE_Q8_0 && t != SW_TYPE_Q4_0 && t != SW_TYPE_Q4_K))
        return false;
    *out = t;
    return true;
}

bool sw_bench_shape_known(const char *name)
{
    return shape_find(name) != NULL;
}

const char *sw_bench_shape_names(void)
{
    return "stories15m|smollm2-135m|qwen2.5-0.5b";
}

sw_bench_model_opts sw_bench_model_opts_default(void)
{
    sw_bench_model_opts o = {0};
    o.shape = "stories15m";
    o.type = SW_TYPE_Q8_0;
    o.threads[0] = 1;
    o.threads[1] = 2;
    o.n_thread_counts = 2;
    o.prompt_tokens = 128;
    o.gen_tokens = 64;
    o.reps = 3;
    o.bw_bytes = (size_t)1 << 30;
    o.seed = 42;
    return o;
}

// ----------------------------------------------------------------------------
// synthetic model file

/* splitmix64: a tiny, well-mixed generator; quality is irrelevant here. */
static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static float rng_uniform(uint64_t *s) /* [-1, 1) */
{
    return (float)((double)(rng_next(s) >> 11) * (1.0 / 9007199254740992.0)) * 2.0f - 1.0f;
}

/* Slack between tensors' starting points in the shared random pool. */
#define POOL_SLACK ((size_t)1 << 20)
#define NAME_CAP 64

typedef struct synth {
    const shape_def *sh;
    uint32_t type;
    /* One pool of random floats that every matrix views at a different
     * offset: the writer needs each tensor's F32 data until it writes, and a
     * pool the size of the largest tensor keeps memory bounded (0.5B
     * parameters would otherwise need 2 GB of F32 at once). Values repeat
     * across tensors; speed does not depend on them. */
    float *pool;
    size_t pool_n;
    float *ones; /* norm weights (max(dim, ffn) ones) */
    char (*names)[NAME_CAP];
    size_t n_names, cap_names;
    bool text_vocab; /* text-like pieces instead of "tokN" (sw_bench_model_write) */
    /* token strings for the tokenizer metadata */
    char **tok_text;
    size_t *tok_len;
    float *tok_score;
    int32_t *tok_type;
    /* results */
    int64_t n_params;
    int64_t weight_bytes; /* read per generated token */
    int64_t tensor_bytes; /* stored */
    int type_count[SW_TYPE_COUNT];
} synth;

static void synth_free(synth *s)
{
    sw_free(s->pool);
    sw_free(s->ones);
    sw_free(s->names);
    if (s->tok_text != NULL)
        for (int32_t i = 0; i < s->sh->n_vocab; i++) sw_free(s->tok_text[i]);
    sw_free(s->tok_text);
    sw_free(s->tok_len);
    sw_free(s->tok_score);
    sw_free(s->tok_type);
}

/* The stored type of a matrix whose rows have `cols` elements. Rows that
 * are not a whole number of 256-element super-blocks cannot be Q4_K (576,
 * 896 and 288 are not); llama.cpp's quantizer falls back to Q5_0 there, so
 * real Q4_K_M downloads of these models are mostly Q5_0, and so are ours
 * (Q4_0 if the engine could not compute with Q5_0). */
static bool matrix_type(uint32_t want, int64_t cols, uint32_t *out)
{
    size_t rb;
    if (sw_type_row_bytes(want, cols, &rb)) {
        *out = want;
        return true;
    }
    if (want == SW_TYPE_Q4_K) {
        const sw_type_traits *q5 = sw_type_get(SW_TYPE_Q5_0);
        uint32_t fb = q5 != NULL && q5->supported ? SW_TYPE_Q5_0 : SW_TYPE_Q4_0;
        if (sw_type_row_bytes(fb, cols, &rb)) {
            *out = fb;
            return true;
        }
    }
    if (want == SW_TYPE_Q6_K && sw_type_row_bytes(SW_TYPE_Q8_0, cols, &rb)) {
        *out = SW_TYPE_Q8_0;
        return true;
    }
    return false;
}

enum fill { FILL_RANDOM, FILL_ONES };

/*
 * Adds one tensor. rows == 0 means a vector of cols elements. read_rows is
 * how many of its rows one generated token reads (all for matrices, one for
 * the embedding table, all of it again when it doubles as the output head).
 */
static swarm_err synth_add(synth *s, sw_gguf_writer *w, const char *name, int64_t cols,
                           int64_t rows, enum fill fill, int64_t read_rows, swarm_diag *d)
{
    uint32_t type = SW_TYPE_F32;
    if (rows > 0 && !matrix_type(s->type, cols, &type))
        return sw_diag_set(d, SWARM_EINVAL, "%s: %lld columns cannot be stored as %s", name,
                           (long long)cols, sw_type_get(s->type)->name);
    int64_t nrows = rows > 0 ? rows : 1;
    size_t row_bytes;
    if (!sw_type_row_bytes(type, cols, &row_bytes))
        return sw_diag_set(d, SWARM_EINVAL, "%s: bad row size", name);
    size_t n_elem = (size_t)cols * (size_t)nrows;

    const float *data;
    if (fill == FILL_ONES) {
        data = s->ones;
    } else {
        size_t off = (s->n_names * 104729u) % POOL_SLACK;
        if (off + n_elem > s->pool_n)
            return sw_diag_set(d, SWARM_EINVAL, "%s: random pool too small", name);
        data = s->pool + off;
    }
    if (s->n_names == s->cap_names) return sw_diag_set(d, SWARM_EINVAL, "too many tensors");
    char *nm = s->names[s->n_names++];
    snprintf(nm, NAME_CAP, "%s", name);

    int64_t ne[2] = {cols, nrows};
    swarm_err rc = sw_gguf_writer_add_tensor(w, nm, rows > 0 ? 2 : 1, ne, type, data);
    if (rc != SWARM_OK) return sw_diag_set(d, rc, "adding tensor '%s' failed", name);

    s->n_params += (int64_t)n_elem;
    s->tensor_bytes += (int64_t)(row_bytes * (size_t)nrows);
    s->weight_bytes += (int64_t)row_bytes * read_rows;
    s->type_count[type]++;
    return SWARM_OK;
}

/* A text-like piece for token i: words with or without a leading space
 * (SentencePiece's U+2581), digits, JSON punctuation and mixes of them, as a
 * real 49k vocabulary has, so that a grammar's token masks meet a realistic
 * variety (the benchmark of constrained decoding). Deterministic in i. */
static void text_piece(int32_t i, int attempt, char *buf, size_t cap)
{
    static const char *const punct[] = {"\"", ":", ",", "{", "}", "[", "]", ".", "_", "-",
                                        "'", "(", ")", "\xe2\x96\x81", "!", "?", "/"};
    uint64_t st = (uint64_t)i * 0x9E3779B97F4A7C15ull + (uint64_t)attempt * 7919u;
    size_t n = 0;
    int kind = (int)(rng_next(&st) % 10);
    /* str is evaluated once: it is often punct[rng_next(...)], and a second
     * draw copied strlen(one piece) bytes of another (ASan: overflow) */
    #define PUT(str) do { const char *s_ = (str); size_t l_ = strlen(s_); if (n + l_ < cap) { memcpy(buf + n, s_, l_); n += l_; } } while (0)
    if (kind <= 5 || kind == 8) {
        if (rng_next(&st) % 2 == 0) PUT("\xe2\x96\x81");
        if (kind == 8) PUT(punct[rng_next(&st) % 13]);
        int len = 2 + (int)(rng_next(&st) % 7) + attempt / 4;
        for (int k = 0; k < len; k++) {
            char c[2] = {(char)('a' + rng_next(&st) % 26), 0};
            if (k == 0 && rng_next(&st) % 10 == 0) c[0] = (char)(c[0] - 'a' + 'A');
            PUT(c);
        }
    } else if (kind == 6) {
        int len = 1 + (int)(rng_next(&st) % 4) + attempt / 4;
        for (int k = 0; k < len; k++) {
            char c[2] = {(char)('0' + rng_next(&st) % 10), 0};
            PUT(c);
        }
    } else {
        int len = 1 + (int)(rng_next(&st) % 3) + attempt / 4;
        for (int k = 0; k < len; k++) {
            if (kind == 9 && k % 2 == 1) {
                char c[2] = {(char)('a' + rng_next(&st) % 26), 0};
                PUT(c);
            } else {
                PUT(punct[rng_next(&st) % (sizeof(punct) / sizeof(punct[0]))]);
            }
        }
    }
    #undef PUT
    buf[n] = '\0';
}

static uint32_t piece_hash(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++) h = (h ^ (uint8_t)*s) * 16777619u;
    return h;
}

/* A SentencePiece-style ("llama") vocabulary the loaders accept: <unk>, <s>,
 * </s>, the 256 byte tokens, then plain filler pieces up to n_vocab. The
 * benchmark feeds token ids directly, so the pieces only need to be valid. */
static swarm_err synth_vocab(synth *s, sw_gguf_writer *w, swarm_diag *d)
{
    int32_t n = s->sh->n_vocab;
    s->tok_text = sw_calloc((size_t)n, sizeof(char *));
    s->tok_len = sw_calloc((size_t)n, sizeof(size_t));
    s->tok_score = sw_calloc((size_t)n, sizeof(float));
    s->tok_type = sw_calloc((size_t)n, sizeof(int32_t));
    if (!s->tok_text || !s->tok_len || !s->tok_score || !s->tok_type) return SWARM_ENOMEM;
    /* text pieces must be distinct: a set of the ones taken so far */
    uint32_t ht_cap = 1;
    while (ht_cap < (uint32_t)n * 2) ht_cap *= 2;
    int32_t *ht = NULL;
    if (s->text_vocab) {
        ht = sw_malloc((size_t)ht_cap * sizeof(int32_t));
        if (ht == NULL) return SWARM_ENOMEM;
        for (uint32_t k = 0; k < ht_cap; k++) ht[k] = -1;
    }
    for (int32_t i = 0; i < n; i++) {
        char buf[64];
        int32_t type = 1; /* normal */
        if (i == 0) {
            snprintf(buf, sizeof(buf), "<unk>");
            type = 2;
        } else if (i == 1) {
            snprintf(buf, sizeof(buf), "<s>");
            type = 3;
        } else if (i == 2) {
            snprintf(buf, sizeof(buf), "</s>");
            type = 3;
        } else if (i < 3 + 256) {
            snprintf(buf, sizeof(buf), "<0x%02X>", (unsigned)(i - 3));
            type = 6;
        } else if (s->text_vocab) {
            for (int attempt = 0;; attempt++) {
                text_piece(i, attempt, buf, sizeof(buf));
                bool dup = buf[0] == '\0' || (buf[0] == '<' && buf[1] == '0');
                uint32_t h = piece_hash(buf) & (ht_cap - 1);
                for (; !dup && ht[h] >= 0; h = (h + 1) & (ht_cap - 1))
                    dup = strcmp(s->tok_text[ht[h]], buf) == 0;
                if (!dup) {
                    ht[h] = i;
                    break;
                }
            }
            s->tok_score[i] = -(float)i;
        } else {
            snprintf(buf, sizeof(buf), "tok%d", (int)i);
            s->tok_score[i] = -(float)i;
        }
        s->tok_text[i] = sw_strdup(buf);
        if (s->tok_text[i] == NULL) return SWARM_ENOMEM;
        s->tok_len[i] = strlen(buf);
        s->tok_type[i] = type;
    }
    sw_free(ht);
    swarm_err rc;
    if ((rc = sw_gguf_writer_set_str(w, "tokenizer.ggml.model", "llama")) != SWARM_OK ||
        (rc = sw_gguf_writer_set_arr_str(w, "tokenizer.ggml.tokens",
                                         (const char *const *)s->tok_text, s->tok_len,
                                         (size_t)n)) != SWARM_OK ||
        (rc = sw_gguf_writer_set_arr_f32(w, "tokenizer.ggml.scores", s->tok_score, (size_t)n)) !=
            SWARM_OK ||
        (rc = sw_gguf_writer_set_arr_i32(w, "tokenizer.ggml.token_type", s->tok_type,
                                         (size_t)n)) != SWARM_OK ||
        (rc = sw_gguf_writer_set_u32(w, "tokenizer.ggml.bos_token_id", 1)) != SWARM_OK ||
        (rc = sw_gguf_writer_set_u32(w, "tokenizer.ggml.eos_token_id", 2)) != SWARM_OK ||
        (rc = sw_gguf_writer_set_u32(w, "tokenizer.ggml.unknown_token_id", 0)) != SWARM_OK ||
        (rc = sw_gguf_writer_set_bool(w, "tokenizer.ggml.add_bos_token", true)) != SWARM_OK ||
        (rc = sw_gguf_writer_set_bool(w, "tokenizer.ggml.add_eos_token", false)) != SWARM_OK)
        return sw_diag_set(d, rc, "setting tokenizer metadata failed");
    return SWARM_OK;
}

static swarm_err synth_hparams(synth *s, sw_gguf_writer *w, int32_t n_ctx, swarm_diag *d)
{
    const shape_def *sh = s->sh;
    char key[128];
    swarm_err rc = SWARM_OK;
#define SET(fn, suffix, val)                                          \
    do {                                                              \
        snprintf(key, sizeof(key), "%s.%s", sh->arch, suffix);       \
        if (rc == SWARM_OK) rc = fn(w, key, val);                     \
    } while (0)
    char name[96];
    snprintf(name, sizeof(name), "swarm bench-model %s %s (random weights)", sh->name,
             sw_type_get(s->type)->name);
    rc = sw_gguf_writer_set_str(w, "general.architecture", sh->arch);
    if (rc == SWARM_OK) rc = sw_gguf_writer_set_str(w, "general.name", name);
    SET(sw_gguf_writer_set_u32, "context_length", (uint32_t)n_ctx);
    SET(sw_gguf_writer_set_u32, "embedding_length", (uint32_t)sh->dim);
    SET(sw_gguf_writer_set_u32, "feed_forward_length", (uint32_t)sh->ffn_dim);
    SET(sw_gguf_writer_set_u32, "block_count", (uint32_t)sh->n_layers);
    SET(sw_gguf_writer_set_u32, "attention.head_count", (uint32_t)sh->n_heads);
    SET(sw_gguf_writer_set_u32, "attention.head_count_kv", (uint32_t)sh->n_kv_heads);
    SET(sw_gguf_writer_set_u32, "rope.dimension_count", (uint32_t)(sh->dim / sh->n_heads));
    SET(sw_gguf_writer_set_u32, "vocab_size", (uint32_t)sh->n_vocab);
    SET(sw_gguf_writer_set_f32, "rope.freq_base", sh->rope_base);
    SET(sw_gguf_writer_set_f32, "attention.layer_norm_rms_epsilon", sh->norm_eps);
#undef SET
    if (rc != SWARM_OK) return sw_diag_set(d, rc, "setting model metadata failed");
    return SWARM_OK;
}

/* Writes the synthetic model to path; fills s's counters. */
static swarm_err synth_write(synth *s, const char *path, int32_t n_ctx, uint64_t seed,
                             swarm_diag *d)
{
    const shape_def *sh = s->sh;
    int64_t dim = sh->dim, ffn = sh->ffn_dim, vocab = sh->n_vocab;
    int64_t kv_dim = dim / sh->n_heads * sh->n_kv_heads;

    size_t largest = (size_t)(vocab * dim);
    if ((size_t)(ffn * dim) > largest) largest = (size_t)(ffn * dim);
    s->pool_n = largest + POOL_SLACK;
    s->pool = sw_malloc(s->pool_n * sizeof(float));
    size_t n_ones = (size_t)(dim > ffn ? dim : ffn);
    s->ones = sw_malloc(n_ones * sizeof(float));
    s->cap_names = 4 + (size_t)sh->n_layers * 16;
    s->names = sw_calloc(s->cap_names, NAME_CAP);
    if (s->pool == NULL || s->ones == NULL || s->names == NULL)
        return sw_diag_set(d, SWARM_ENOMEM, "out of memory for the random weights (%zu MB)",
                           s->pool_n * sizeof(float) >> 20);
    /* Uniform in +-1/sqrt(dim): activations stay of order one through the
     * layers (RMSNorm rescales each block input anyway). */
    float scale = 1.0f / sqrtf((float)dim);
    uint64_t st = seed;
    for (size_t i = 0; i < s->pool_n; i++) s->pool[i] = rng_uniform(&st) * scale;
    for (size_t i = 0; i < n_ones; i++) s->ones[i] = 1.0f;

    sw_gguf_writer *w = NULL;
    swarm_err rc = sw_gguf_writer_create(&w);
    if (rc != SWARM_OK) return sw_diag_set(d, rc, "cannot create the GGUF writer");
    if ((rc = synth_hparams(s, w, n_ctx, d)) != SWARM_OK) goto done;
    if ((rc = synth_vocab(s, w, d)) != SWARM_OK) goto done;

    /* Tied output head: one embedding row for the input, then the whole
     * table as the head (vocab rows). */
    if ((rc = synth_add(s, w, "token_embd.weight", dim, vocab, FILL_RANDOM, 1 + vocab, d)))
        goto done;
    for (int32_t l = 0; l < sh->n_layers; l++) {
        char nm[NAME_CAP];
        struct {
            const char *suffix;
            int64_t cols, rows;
            enum fill fill;
        } t[] = {
            {"attn_norm.weight", dim, 0, FILL_ONES},
            {"attn_q.weight", dim, dim, FILL_RANDOM},
            {"attn_k.weight", dim, kv_dim, FILL_RANDOM},
            {"attn_v.weight", dim, kv_dim, FILL_RANDOM},
            {"attn_q.bias", dim, 0, FILL_RANDOM},
            {"attn_k.bias", kv_dim, 0, FILL_RANDOM},
            {"attn_v.bias", kv_dim, 0, FILL_RANDOM},
            {"attn_output.weight", dim, dim, FILL_RANDOM},
            {"ffn_norm.weight", dim, 0, FILL_ONES},
            {"ffn_gate.weight", dim, ffn, FILL_RANDOM},
            {"ffn_up.weight", dim, ffn, FILL_RANDOM},
            {"ffn_down.weight", ffn, dim, FILL_RANDOM},
        };
        for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
            if (strstr(t[i].suffix, ".bias") != NULL && !sh->qkv_bias) continue;
            snprintf(nm, sizeof(nm), "blk.%d.%s", (int)l, t[i].suffix);
            int64_t read_rows = t[i].rows > 0 ? t[i].rows : 1;
            if ((rc = synth_add(s, w, nm, t[i].cols, t[i].rows, t[i].fill, read_rows, d)))
                goto done;
        }
    }
    if ((rc = synth_add(s, w, "output_norm.weight", dim, 0, FILL_ONES, 1, d))) goto done;
    rc = sw_gguf_writer_write(w, path, d);
done:
    sw_gguf_writer_destroy(w);
    return rc;
}

// ----------------------------------------------------------------------------
// timing

typedef struct run_stats {
    int threads;
    double bw_bytes_s;
    double prompt_tok_s, prompt_sd; /* mean and standard deviation over reps */
    double gen_tok_s, gen_sd;
    double prompt_ms, gen_ms;       /* mean per rep */
    sw_fwd_profile prof;            /* --profile: generation steps only */
    double batch_tok_s;             /* --batch K: aggregate generated tok/s of K sequences */
} run_stats;

static void mean_sd(const double *v, int n, double *mean, double *sd)
{
    double m = 0.0, q = 0.0;
    for (int i = 0; i < n; i++) m += v[i];
    m /= n;
    for (int i = 0; i < n; i++) q += (v[i] - m) * (v[i] - m);
    *mean = m;
    *sd = n > 1 ? sqrt(q / (n - 1)) : 0.0;
}

/* One prompt batch from position 0, then gen_tokens greedy single-token
 * steps; the first generated token comes from the prompt's logits. */
static void run_once(sw_fwd *f, const int32_t *prompt, int32_t P, int32_t G, int32_t n_vocab,
                     double *prompt_ms, double *gen_ms)
{
    double t0 = sw_now_ms();
    const float *logits = sw_fwd_eval(f, prompt, P, 0, SW_LOGITS_LAST);
    double t1 = sw_now_ms();
    int32_t tok = sw_argmax(logits, n_vocab);
    for (int32_t g = 0; g < G; g++) {
        logits = sw_fwd_eval(f, &tok, 1, P + g, SW_LOGITS_LAST);
        tok = sw_argmax(logits, n_vocab);
    }
    double t2 = sw_now_ms();
    *prompt_ms = t1 - t0;
    *gen_ms = t2 - t1;
}

static swarm_err run_threads(const sw_bench_model_opts *o, const sw_hparams *hp,
                             const sw_weights *w, const float *freqs, const int32_t *prompt,
                             int nth, run_stats *out, swarm_diag *d)
{
    int32_t P = o->prompt_tokens, G = o->gen_tokens;
    swarm_err rc = sw_bench_membw(o->bw_bytes, nth, 8, &out->bw_bytes_s);
    if (rc != SWARM_OK)
        return sw_diag_set(d, rc, "bandwidth measurement with %d threads failed", nth);

    sw_fwd *f = NULL;
    rc = sw_fwd_create(hp, w, freqs, P + G, P, nth, &f);
    if (rc != SWARM_OK) return sw_diag_set(d, rc, "cannot create a session with %d threads", nth);
    /* Warm-up: touches every weight page once and wakes the pool. */
    double pm, gm;
    run_once(f, prompt, P, G < 2 ? G : 2, hp->n_vocab, &pm, &gm);

    double pr[64], gr[64];
    int reps = o->reps < 64 ? o->reps : 64;
    double psum = 0, gsum = 0;
    for (int r = 0; r < reps; r++) {
        run_once(f, prompt, P, G, hp->n_vocab, &pm, &gm);
        pr[r] = pm > 0 ? P / (pm * 1e-3) : 0.0;
        gr[r] = gm > 0 ? G / (gm * 1e-3) : 0.0;
        psum += pm;
        gsum += gm;
    }
    out->batch_tok_s = 0.0;
    if (o->batch > 1) {
        /* K sequences with the same prompt, then G steps of one token each,
         * all K in one forward pass per step (f is sequence 0 and the workspace) */
        int K = o->batch;
        sw_fwd *seqs[64] = {f};
        int32_t toks[64], pos[64];
        if (K > sw_fwd_n_batch(f) || K > sw_fwd_n_logit_rows(f)) {
            int lim = sw_fwd_n_batch(f) < sw_fwd_n_logit_rows(f) ? sw_fwd_n_batch(f)
                                                                 : sw_fwd_n_logit_rows(f);
            sw_fwd_destroy(f);
            return sw_diag_set(d, SWARM_EINVAL,
                               "--batch %d is more than this shape and prompt allow (%d; "
                               "raise --prompt-tokens)",
                               K, lim);
        }
        for (int i = 1; i < K && rc == SWARM_OK; i++)
            rc = sw_fwd_create(hp, w, freqs, P + G, P, 1, &seqs[i]);
        if (rc == SWARM_OK) {
            for (int i = 0; i < K; i++) {
                const float *lg = sw_fwd_eval(seqs[i], prompt, P, 0, SW_LOGITS_LAST);
                toks[i] = sw_argmax(lg, hp->n_vocab);
                pos[i] = P;
            }
            double t0 = sw_now_ms();
            for (int32_t g = 0; g < G; g++) {
                const float *rows = sw_fwd_eval_multi(f, seqs, toks, pos, K);
                for (int i = 0; i < K; i++) {
                    toks[i] = sw_argmax(rows + (size_t)i * hp->n_vocab, hp->n_vocab);
                    pos[i]++;
                }
            }
            double ms = sw_now_ms() - t0;
            out->batch_tok_s = ms > 0 ? (double)K * G / (ms * 1e-3) : 0.0;
        }
        for (int i = 1; i < K; i++) sw_fwd_destroy(seqs[i]);
        if (rc != SWARM_OK) {
            sw_fwd_destroy(f);
            return sw_diag_set(d, rc, "cannot create %d sessions for --batch", K);
        }
    }
    memset(&out->prof, 0, sizeof(out->prof));
    if (o->profile) { /* the prompt untimed, then G profiled generation steps */
        const float *logits = sw_fwd_eval(f, prompt, P, 0, SW_LOGITS_LAST);
        int32_t tok = sw_argmax(logits, hp->n_vocab);
        sw_fwd_set_profile(f, &out->prof);
        for (int32_t g = 0; g < G; g++) {
            logits = sw_fwd_eval(f, &tok, 1, P + g, SW_LOGITS_LAST);
            tok = sw_argmax(logits, hp->n_vocab);
        }
        sw_fwd_set_profile(f, NULL);
    }
    sw_fwd_destroy(f);
    out->threads = nth;
    mean_sd(pr, reps, &out->prompt_tok_s, &out->prompt_sd);
    mean_sd(gr, reps, &out->gen_tok_s, &out->gen_sd);
    out->prompt_ms = psum / reps;
    out->gen_ms = gsum / reps;
    return SWARM_OK;
}

// ----------------------------------------------------------------------------
// report

static json_t *run_json(const run_stats *r, int64_t weight_bytes)
{
    double limit = r->bw_bytes_s / (double)weight_bytes;
    return json_pack("{s:i, s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:f}", "threads", r->threads,
                     "prompt_tok_s", r->prompt_tok_s, "prompt_tok_s_sd", r->prompt_sd,
                     "gen_tok_s", r->gen_tok_s, "gen_tok_s_sd", r->gen_sd, "prompt_ms",
                     r->prompt_ms, "gen_ms", r->gen_ms, "bandwidth_gb_s", r->bw_bytes_s / 1e9,
                     "limit_tok_s", limit, "fraction_of_limit",
                     limit > 0 ? r->gen_tok_s / limit : 0.0);
}

/* Size of the written file in bytes (-1 when it cannot be read). */
static int64_t file_size(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) return -1;
    int64_t n = fseek(f, 0, SEEK_END) == 0 ? (int64_t)ftell(f) : -1;
    fclose(f);
    return n;
}

static swarm_err report_json(FILE *out, const sw_bench_model_opts *o, const synth *s,
                             const swarm_model_info *info, const char *path, double write_s,
                             const run_stats *runs, int n_runs)
{
    json_t *types = json_object();
    for (int t = 0; t < SW_TYPE_COUNT; t++)
        if (s->type_count[t] > 0)
            json_object_set_new(types, sw_type_get((uint32_t)t)->name,
                                json_integer(s->type_count[t]));
    json_t *arr = json_array();
    for (int i = 0; i < n_runs; i++) json_array_append_new(arr, run_json(&runs[i], s->weight_bytes));
    /* The top-level figures are those of the last thread count run. */
    json_t *top = run_json(&runs[n_runs - 1], s->weight_bytes);
    json_t *root = json_pack(
        "{s:s, s:s, s:s, s:o, s:I, s:I, s:I, s:I, s:I, s:f, s:i, s:i, s:i, s:I, s:s, s:s?, s:o}",
        "shape", s->sh->name, "arch", s->sh->arch, "type", sw_type_get(o->type)->name,
        "tensor_types", types, "n_params", (json_int_t)s->n_params, "weight_bytes",
        (json_int_t)s->weight_bytes, "engine_weight_bytes", (json_int_t)info->weight_bytes,
        "tensor_bytes", (json_int_t)s->tensor_bytes, "file_bytes", (json_int_t)file_size(path),
        "write_s", write_s, "prompt_tokens",
        (int)o->prompt_tokens, "gen_tokens", (int)o->gen_tokens, "reps", o->reps,
        "bw_buffer_bytes", (json_int_t)o->bw_bytes, "kernels", sw_kernels_selected(), "file",
        o->keep != NULL ? path : NULL, "runs", arr);
    if (root == NULL || top == NULL) {
        json_decref(root);
        json_decref(top);
        return SWARM_ENOMEM;
    }
    json_object_update(root, top);
    json_decref(top);
    char *txt = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6));
    json_decref(root);
    if (txt == NULL) return SWARM_ENOMEM;
    fprintf(out, "%s\n", txt);
    free(txt); /* jansson's allocator, not ours */
    return SWARM_OK;
}

static void report_table(FILE *out, const sw_bench_model_opts *o, const synth *s,
                         const char *path, double write_s, const run_stats *runs, int n_runs)
{
    fprintf(out, "bench-model: %s, %s weights (%s, %.1fM parameters; tensors:", s->sh->name,
            sw_type_get(o->type)->name, s->sh->arch, (double)s->n_params / 1e6);
    for (int t = 0; t < SW_TYPE_COUNT; t++)
        if (s->type_count[t] > 0) fprintf(out, " %d %s", s->type_count[t], sw_type_get((uint32_t)t)->name);
    fprintf(out, ")\n");
    fprintf(out, "file: %s (%.1f MB, written in %.1f s)%s\n", path,
            (double)file_size(path) / 1e6, write_s, o->keep != NULL ? "" : ", removed");
    fprintf(out, "weights read per generated token: %.1f MB; kernels: %s; %d reps after a warm-up\n",
            (double)s->weight_bytes / 1e6, sw_kernels_selected(), o->reps);
    char ph[40], gh[40];
    snprintf(ph, sizeof(ph), "prompt tok/s (P=%d)", (int)o->prompt_tokens);
    snprintf(gh, sizeof(gh), "gen tok/s (G=%d)", (int)o->gen_tokens);
    fprintf(out, "%7s  %22s  %20s  %9s  %11s  %8s\n", "threads", ph, gh, "bw GB/s", "limit tok/s",
            "fraction");
    for (int i = 0; i < n_runs; i++) {
        const run_stats *r = &runs[i];
        double limit = r->bw_bytes_s / (double)s->weight_bytes;
        char p[40], g[40];
        snprintf(p, sizeof(p), "%.1f ± %.1f", r->prompt_tok_s, r->prompt_sd);
        snprintf(g, sizeof(g), "%.1f ± %.1f", r->gen_tok_s, r->gen_sd);
        fprintf(out, "%7d  %23s  %21s  %9.2f  %11.1f  %8.2f\n", r->threads, p, g,
                r->bw_bytes_s / 1e9, limit, limit > 0 ? r->gen_tok_s / limit : 0.0);
    }
    fprintf(out, "(prompt: one batch from position 0; gen: greedy, one token per step after the "
                 "prompt;\n limit = bandwidth / weights read per token; fraction = gen / limit)\n");
    if (o->batch > 1) {
        fprintf(out, "batched decoding, %d sequences in one forward pass per step (aggregate gen "
                     "tok/s, ratio to one sequence):\n", o->batch);
        for (int i = 0; i < n_runs; i++)
            fprintf(out, "%7d  %9.1f  %5.2fx\n", runs[i].threads, runs[i].batch_tok_s,
                    runs[i].gen_tok_s > 0 ? runs[i].batch_tok_s / runs[i].gen_tok_s : 0.0);
    }
    if (!o->profile) return;
    fprintf(out, "profile of generation (us per token; %% of the profiled total):\n%-14s", "step");
    for (int i = 0; i < n_runs; i++) fprintf(out, "  %9d thr", runs[i].threads);
    fprintf(out, "\n");
    double total[SW_BENCH_MAX_THREAD_COUNTS] = {0};
    for (int i = 0; i < n_runs; i++)
        for (int op = 0; op < SW_OP_COUNT; op++) total[i] += runs[i].prof.ms[op];
    for (int op = 0; op < SW_OP_COUNT; op++) {
        fprintf(out, "%-14s", sw_fwd_op_name((enum sw_fwd_op)op));
        for (int i = 0; i < n_runs; i++) {
            const sw_fwd_profile *p = &runs[i].prof;
            double us = p->evals > 0 ? 1e3 * p->ms[op] / (double)p->evals : 0.0;
            fprintf(out, "  %7.0f %3.0f%%", us, total[i] > 0 ? 100.0 * p->ms[op] / total[i] : 0.0);
        }
        fprintf(out, "\n");
    }
    fprintf(out, "%-14s", "total");
    for (int i = 0; i < n_runs; i++)
        fprintf(out, "  %7.0f     ",
                runs[i].prof.evals > 0 ? 1e3 * total[i] / (double)runs[i].prof.evals : 0.0);
    fprintf(out, "\n");
}

// ----------------------------------------------------------------------------
// driver

swarm_err sw_bench_model_write(const char *shape, uint32_t type, bool text_vocab, int32_t n_ctx,
                               const char *path, uint64_t seed, swarm_diag *d)
{
    const shape_def *sh = shape_find(shape);
    if (sh == NULL) return sw_diag_set(d, SWARM_EINVAL, "unknown shape '%s'", shape);
    synth s = {.sh = sh, .type = type, .text_vocab = text_vocab};
    if (n_ctx <= 0 || n_ctx > sh->n_ctx) n_ctx = sh->n_ctx;
    swarm_err rc = synth_write(&s, path, n_ctx, seed, d);
    synth_free(&s);
    return rc;
}

swarm_err sw_bench_model_run(const sw_bench_model_opts *o, FILE *out, swarm_diag *d)
{
    const shape_def *sh = shape_find(o->shape);
    if (sh == NULL) return sw_diag_set(d, SWARM_EINVAL, "unknown shape '%s'", o->shape);
    const sw_type_traits *tt = sw_type_get(o->type);
    if (tt == NULL || !tt->supported)
        return sw_diag_set(d, SWARM_EINVAL, "unsupported weight type");
    if (o->n_thread_counts < 1 || o->n_thread_counts > SW_BENCH_MAX_THREAD_COUNTS ||
        o->prompt_tokens < 1 || o->gen_tokens < 1 || o->reps < 1)
        return sw_diag_set(d, SWARM_EINVAL, "bad benchmark options");

    /* Temp file next to other temp files unless the caller keeps it. */
    char tmp[4096];
    const char *path = o->keep;
    if (path == NULL) {
        const char *dir = getenv("TMPDIR");
        if (dir == NULL || *dir == '\0') dir = "/tmp";
        snprintf(tmp, sizeof(tmp), "%s/swarm-bench-XXXXXX.gguf", dir);
        int fd = mkstemps(tmp, 5);
        if (fd < 0) return sw_diag_set(d, SWARM_ESYS, "cannot create a temp file in %s", dir);
        close(fd);
        path = tmp;
    }

    synth s = {.sh = sh, .type = o->type};
    int32_t n_ctx = sh->n_ctx;
    if (n_ctx < o->prompt_tokens + o->gen_tokens) n_ctx = o->prompt_tokens + o->gen_tokens;
    swarm_model *model = NULL;
    sw_gguf g = {0};
    sw_weights w = {0};
    sw_hparams hp = {0};
    float *freqs = NULL;
    int32_t *prompt = NULL;
    run_stats runs[SW_BENCH_MAX_THREAD_COUNTS];
    swarm_err rc;

    fprintf(stderr, "bench-model: writing %s %s to %s ...\n", sh->name, tt->name, path);
    double t0 = sw_now_ms();
    rc = synth_write(&s, path, n_ctx, o->seed, d);
    double write_s = (sw_now_ms() - t0) * 1e-3;
    /* Flush the file now so that kernel write-back does not run during the
     * timed runs (it would take a core from them). */
    if (rc == SWARM_OK) {
        FILE *f = fopen(path, "rb");
        if (f != NULL) {
            (void)fsync(fileno(f));
            fclose(f);
        }
    }
    /* The F32 pool is only needed by the writer. */
    sw_free(s.pool);
    s.pool = NULL;
    if (rc != SWARM_OK) goto done;

    /* The engine's own loader must accept the file as any model file. */
    swarm_model_params mp = swarm_model_params_default();
    mp.path = path;
    rc = swarm_model_load(&mp, &model, d);
    if (rc != SWARM_OK) goto done;
    const swarm_model_info *info = swarm_model_get_info(model);

    /* The timed runs drive the forward pass directly with token ids (the
     * public API takes text), on the same file mapping the loader uses. */
    rc = sw_gguf_load(path, &g, d); /* as swarm_model_load does */
    if (rc != SWARM_OK) goto done;
    rc = sw_model_bind_gguf(&g, &hp, &w, d);
    if (rc != SWARM_OK) goto done;
    const float *factors = NULL;
    rc = sw_model_rope_factors(&g, &hp, &factors, d);
    if (rc != SWARM_OK) goto done;
    freqs = sw_calloc((size_t)(hp.rope_dim / 2 + 1), sizeof(float));
    prompt = sw_calloc((size_t)o->prompt_tokens, sizeof(int32_t));
    if (freqs == NULL || prompt == NULL) {
        rc = sw_diag_set(d, SWARM_ENOMEM, "out of memory");
        goto done;
    }
    sw_rope_freqs(&hp, factors, freqs);
    uint64_t st = o->seed ^ 0x5eedu;
    for (int32_t i = 0; i < o->prompt_tokens; i++)
        prompt[i] = (int32_t)(rng_next(&st) % (uint64_t)hp.n_vocab);

    for (int i = 0; i < o->n_thread_counts; i++) {
        fprintf(stderr, "bench-model: %d thread(s) ...\n", o->threads[i]);
        rc = run_threads(o, &hp, &w, freqs, prompt, o->threads[i], &runs[i], d);
        if (rc != SWARM_OK) goto done;
    }
    if (o->json)
        rc = report_json(out, o, &s, info, path, write_s, runs, o->n_thread_counts);
    else
        report_table(out, o, &s, path, write_s, runs, o->n_thread_counts);
    if (rc != SWARM_OK) sw_diag_set(d, rc, "cannot format the report");
done:
    sw_free(prompt);
    sw_free(freqs);
    sw_free(w.layers);
    sw_gguf_close(&g);
    swarm_model_destroy(model);
    synth_free(&s);
    if (o->keep == NULL) remove(path);
    return rc;
}
