/*
 * engine_model_test.c: model loading under hostile input: llama2.c headers
 * that lie (negative, zero, absurd, inconsistent dimensions, sizes that do
 * not match the file), GGUF files with missing, mis-shaped or unsupported
 * tensors and bad metadata (built with our GGUF writer). Every case must
 * end in a clear error, never a crash. Allocation failures are swept in
 * engine_oom_test.c.
 */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "engine/forward.h"

/* ------------------------------------------------------------------------ */
/* llama2.c headers                                                         */

/* Bytes of a legacy checkpoint with this header (0 when the header is bad). */
static size_t l2c_size(const int32_t h[7])
{
    int64_t dim = h[0], ffn = h[1], L = h[2], nh = h[3], nkv = h[4], voc = h[5], seq = h[6];
    int64_t v = voc < 0 ? -voc : voc, hs = dim / nh, kvd = hs * nkv;
    int64_t n = v * dim + L * dim * 2 + L * dim * dim * 2 + L * kvd * dim * 2 + L * ffn * dim * 3 +
                dim + seq * hs + (voc < 0 ? v * dim : 0);
    return (size_t)(28 + 4 * n);
}

/* An aligned image: header then `size - 28` bytes of small floats. */
static void *l2c_image(const int32_t h[7], size_t size)
{
    float *buf = calloc(size / 4 + 8, 4);
    assert_non_null(buf);
    memcpy(buf, h, 28);
    for (size_t i = 7; i < size / 4; i++) buf[i] = 0.01f * (float)(i % 17);
    return buf;
}

static void expect_l2c_error(const int32_t h[7], size_t size, swarm_err want, const char *needle)
{
    void *img = l2c_image(h, size < 28 ? 28 : size);
    sw_hparams hp;
    sw_weights w = {0};
    swarm_diag d = {{0}};
    swarm_err rc = sw_llama2c_parse(img, size, &hp, &w, &d);
    if (rc != want || strstr(d.msg, needle) == NULL)
        print_error("header {%d %d %d %d %d %d %d} size %zu: %s (%s), want %s with '%s'\n", h[0],
                    h[1], h[2], h[3], h[4], h[5], h[6], size, swarm_err_name(rc), d.msg,
                    swarm_err_name(want), needle);
    assert_int_equal(rc, want);
    assert_non_null(strstr(d.msg, needle));
    assert_null(w.layers); /* out-params untouched on failure */
    free(img);
}

static void test_llama2c_valid_shared_and_separate_classifier(void **st)
{
    (void)st;
    int32_t h[7] = {16, 24, 2, 4, 2, 10, 8};
    size_t n = l2c_size(h);
    float *img = l2c_image(h, n);
    sw_hparams hp;
    sw_weights w;
    CHECK_OK(sw_llama2c_parse(img, n, &hp, &w, NULL));
    assert_true(hp.tied_output);
    assert_ptr_equal(w.output.data, w.tok_embd.data);
    assert_int_equal(hp.head_dim, 4);
    assert_int_equal(hp.n_kv_heads, 2);
    assert_int_equal(hp.n_ctx_train, 8);
    assert_int_equal(w.layers[1].wk.rows, 8);
    assert_int_equal(w.layers[1].w_down.cols, 24);
    sw_free(w.layers);
    free(img);

    h[5] = -10; /* separate classifier after the freq_cis tables */
    n = l2c_size(h);
    img = l2c_image(h, n);
    CHECK_OK(sw_llama2c_parse(img, n, &hp, &w, NULL));
    assert_false(hp.tied_output);
    assert_int_equal(hp.n_vocab, 10);
    assert_ptr_equal((const char *)w.output.data + 10 * 16 * 4, (const char *)img + n);
    sw_free(w.layers);
    free(img);
}

static void test_llama2c_hostile_headers(void **st)
{
    (void)st;
    static const struct {
        int32_t h[7];
        const char *needle;
    } bad[] = {
        {{0, 24, 2, 4, 2, 10, 8}, "out of range"},
        {{-16, 24, 2, 4, 2, 10, 8}, "out of range"},
        {{16, -1, 2, 4, 2, 10, 8}, "out of range"},
        {{16, 24, 0, 4, 2, 10, 8}, "out of range"},
        {{16, 24, 2, 0, 2, 10, 8}, "out of range"},
        {{16, 24, 2, 4, 0, 10, 8}, "out of range"},
        {{16, 24, 2, 4, 8, 10, 8}, "out of range"},        /* kv heads > heads */
        {{16, 24, 2, 4, 2, 0, 8}, "out of range"},
        {{16, 24, 2, 4, 2, INT32_MIN, 8}, "out of range"},
        {{16, 24, 2, 4, 2, 10, -8}, "out of range"},
        {{1 << 30, 24, 2, 4, 2, 10, 8}, "out of range"},
        {{16, 24, INT32_MAX, 4, 2, 10, 8}, "out of range"},
        {{16, 24, 2, 4, 2, 10, INT32_MAX}, "out of range"},
        {{18, 24, 2, 4, 2, 10, 8}, "inconsistent"},          /* dim % heads */
        {{16, 24, 2, 4, 3, 10, 8}, "inconsistent"},          /* heads % kv */
        {{12, 24, 2, 4, 2, 10, 8}, "inconsistent"},          /* odd head size */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        expect_l2c_error(bad[i].h, 4096, SWARM_EFORMAT, bad[i].needle);

    /* a header that is fine but disagrees with the size, either way */
    int32_t h[7] = {16, 24, 2, 4, 2, 10, 8};
    size_t n = l2c_size(h);
    expect_l2c_error(h, n - 4, SWARM_EFORMAT, "needs");
    expect_l2c_error(h, n + 4, SWARM_EFORMAT, "needs");
    h[5] = -10; /* claims a classifier the file does not hold */
    expect_l2c_error(h, n, SWARM_EFORMAT, "needs");

    int32_t tiny[7] = {16, 24, 2, 4, 2, 10, 8};
    expect_l2c_error(tiny, 27, SWARM_EFORMAT, "too small");
    expect_l2c_error(tiny, 0, SWARM_EFORMAT, "too small");
    int32_t ak42[7] = {0x616b3432, 1, 0, 0, 0, 0, 0};
    expect_l2c_error(ak42, 256, SWARM_EUNSUPPORTED, "ak42");
    int32_t gguf[7] = {0};
    memcpy(gguf, "GGUF\3\0\0\0", 8);
    expect_l2c_error(gguf, 256, SWARM_EFORMAT, "GGUF");
}

/* Random headers: every one is either rejected or describes exactly the
 * buffer; nothing reads past it (run under ASan in `make asan`). */
static void test_llama2c_random_headers_never_crash(void **st)
{
    (void)st;
    const uint64_t seed = 88172645463325252ull; /* fixed: every run replays this one */
    uint64_t x = seed;
    size_t cap = 1 << 16;
    uint8_t *buf = malloc(cap);
    assert_non_null(buf);
    memset(buf, 0, cap);
    int accepted = 0;
    for (int it = 0; it < 20000; it++) {
        int32_t h[7];
        for (int k = 0; k < 7; k++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            /* mostly small values (valid-looking), sometimes anything */
            h[k] = (x & 7) == 0 ? (int32_t)(x >> 32) : (int32_t)((x >> 16) % 40) - 4;
        }
        size_t size = 28 + (size_t)((x >> 40) % (cap - 28));
        if ((x & 3) == 0) {
            /* a consistent header, then an exact fit or a near miss */
            int32_t nkv = 1 + (int32_t)((x >> 20) % 2), nh = nkv * (1 + (int32_t)((x >> 22) % 2));
            h[0] = nh * 2 * (1 + (int32_t)((x >> 24) % 3));
            h[1] = 1 + (int32_t)((x >> 26) % 20);
            h[2] = 1 + (int32_t)((x >> 30) % 3);
            h[3] = nh;
            h[4] = nkv;
            h[5] = ((x >> 33) & 1 ? -1 : 1) * (1 + (int32_t)((x >> 34) % 30));
            h[6] = 1 + (int32_t)((x >> 40) % 16);
            size = l2c_size(h) + (size_t)((x >> 50) % 3) * 4 - ((x >> 52) & 1 ? 4 : 0);
            if (size > cap) size = cap;
        }
        memcpy(buf, h, 28);
        sw_hparams hp;
        sw_weights w = {0};
        if (sw_llama2c_parse(buf, size, &hp, &w, NULL) == SWARM_OK) {
            accepted++;
            assert_true((const uint8_t *)w.output.data >= buf + 28);
            assert_true((const uint8_t *)w.output.data + 4 * w.output.rows * w.output.cols <=
                        buf + size);
            sw_free(w.layers);
        }
    }
    fprintf(stderr, "random llama2.c headers (seed %llu): %d of 20000 accepted (exact fits)\n",
            (unsigned long long)seed, accepted);
    free(buf);
}

static void test_llama2c_truncated_file_names_path(void **st)
{
    (void)st;
    char src[512];
    REQUIRE_SHARED(src, "models/stories260K.bin");
    char *data = NULL;
    size_t len = 0;
    CHECK_OK(sw_read_file(src, &data, &len, NULL));
    char path[] = "/tmp/swarm-l2c-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, len - 100), (ssize_t)(len - 100));
    close(fd);
    sw_hparams hp;
    sw_weights w;
    void *map = NULL;
    size_t ml = 0;
    swarm_diag d = {{0}};
    CHECK_ERR(sw_llama2c_open(path, &hp, &w, &map, &ml, &d), SWARM_EFORMAT);
    assert_true(strncmp(d.msg, path, strlen(path)) == 0);
    assert_non_null(strstr(d.msg, "needs 1056540 bytes"));
    /* the same through the public API */
    swarm_model_params mp = swarm_model_params_default();
    mp.path = path;
    swarm_model *m = NULL;
    CHECK_ERR(swarm_model_load(&mp, &m, &d), SWARM_EFORMAT);
    assert_null(m);
    assert_true(strncmp(d.msg, path, strlen(path)) == 0);
    unlink(path);
    sw_free(data);

    mp.path = "/nonexistent/model.bin";
    CHECK_ERR(swarm_model_load(&mp, &m, &d), SWARM_ENOTFOUND);
    assert_non_null(strstr(d.msg, "/nonexistent/model.bin"));
}

/* ------------------------------------------------------------------------ */
/* GGUF binding                                                             */

enum { S_DIM = 64, S_FFN = 128, S_HEADS = 4, S_KV = 2, S_VOCAB = 32, S_LAYERS = 2 };

typedef struct synth {
    const char *arch;      /* "llama" */
    const char *omit;      /* tensor left out */
    const char *bad_shape; /* tensor written with rows and cols swapped */
    const char *omit_key;  /* metadata left out (suffix after "<arch>.") */
    uint32_t head_count_kv;
    bool biases, output;
    const char *scaling; /* rope.scaling.type, with llama3-style parameters */
    bool rope_freqs;     /* add a rope_freqs.weight tensor */
} synth;

static float synth_data[S_FFN * S_DIM];

static void add(sw_gguf_writer *w, const synth *s, const char *name, int64_t cols, int64_t rows)
{
    if (s->omit && strcmp(s->omit, name) == 0) return;
    int64_t ne[2] = {cols, rows};
    if (s->bad_shape && strcmp(s->bad_shape, name) == 0) {
        ne[0] = rows;
        ne[1] = cols;
    }
    CHECK_OK(sw_gguf_writer_add_tensor(w, name, rows == 1 ? 1 : 2, ne, SW_TYPE_F32, synth_data));
}

static void key_u32(sw_gguf_writer *w, const synth *s, const char *suffix, uint32_t v)
{
    if (s->omit_key && strcmp(s->omit_key, suffix) == 0) return;
    char key[128];
    snprintf(key, sizeof(key), "%s.%s", s->arch, suffix);
    CHECK_OK(sw_gguf_writer_set_u32(w, key, v));
}

static void write_synth(const char *path, const synth *s)
{
    for (size_t i = 0; i < sizeof(synth_data) / sizeof(float); i++)
        synth_data[i] = 0.02f * (float)((int)(i * 7919 % 101) - 50) / 50.0f;
    sw_gguf_writer *w = NULL;
    CHECK_OK(sw_gguf_writer_create(&w));
    CHECK_OK(sw_gguf_writer_set_str(w, "general.architecture", s->arch));
    key_u32(w, s, "embedding_length", S_DIM);
    key_u32(w, s, "feed_forward_length", S_FFN);
    key_u32(w, s, "block_count", S_LAYERS);
    key_u32(w, s, "attention.head_count", S_HEADS);
    key_u32(w, s, "attention.head_count_kv", s->head_count_kv ? s->head_count_kv : S_KV);
    key_u32(w, s, "context_length", 128);
    char key[128];
    snprintf(key, sizeof(key), "%s.attention.layer_norm_rms_epsilon", s->arch);
    CHECK_OK(sw_gguf_writer_set_f32(w, key, 1e-5f));
    if (s->scaling != NULL) {
        snprintf(key, sizeof(key), "%s.rope.scaling.type", s->arch);
        CHECK_OK(sw_gguf_writer_set_str(w, key, s->scaling));
        snprintf(key, sizeof(key), "%s.rope.scaling.factor", s->arch);
        CHECK_OK(sw_gguf_writer_set_f32(w, key, 8.0f));
        snprintf(key, sizeof(key), "%s.rope.scaling.low_freq_factor", s->arch);
        CHECK_OK(sw_gguf_writer_set_f32(w, key, 1.0f));
        snprintf(key, sizeof(key), "%s.rope.scaling.high_freq_factor", s->arch);
        CHECK_OK(sw_gguf_writer_set_f32(w, key, 4.0f));
        key_u32(w, s, "rope.scaling.original_context_length", 8192);
    }
    int64_t hd = S_DIM / S_HEADS, kvd = hd * S_KV;
    if (s->rope_freqs) {
        static float factors[S_DIM / S_HEADS / 2];
        for (int i = 0; i < S_DIM / S_HEADS / 2; i++) factors[i] = 1.0f + (float)i;
        int64_t ne[1] = {S_DIM / S_HEADS / 2};
        CHECK_OK(sw_gguf_writer_add_tensor(w, "rope_freqs.weight", 1, ne, SW_TYPE_F32, factors));
    }
    add(w, s, "token_embd.weight", S_DIM, S_VOCAB);
    add(w, s, "output_norm.weight", S_DIM, 1);
    if (s->output) add(w, s, "output.weight", S_DIM, S_VOCAB);
    for (int l = 0; l < S_LAYERS; l++) {
        char n[64];
#define T(suffix, c, r)                                     \
    do {                                                    \
        snprintf(n, sizeof(n), "blk.%d.%s", l, suffix);     \
        add(w, s, n, c, r);                                 \
    } while (0)
        T("attn_norm.weight", S_DIM, 1);
        T("attn_q.weight", S_DIM, S_DIM);
        T("attn_k.weight", S_DIM, kvd);
        T("attn_v.weight", S_DIM, kvd);
        T("attn_output.weight", S_DIM, S_DIM);
        if (s->biases) {
            T("attn_q.bias", S_DIM, 1);
            T("attn_k.bias", kvd, 1);
            T("attn_v.bias", kvd, 1);
        }
        T("ffn_norm.weight", S_DIM, 1);
        T("ffn_gate.weight", S_DIM, S_FFN);
        T("ffn_up.weight", S_DIM, S_FFN);
        T("ffn_down.weight", S_FFN, S_DIM);
#undef T
    }
    swarm_diag d = {{0}};
    swarm_err rc = sw_gguf_writer_write(w, path, &d);
    if (rc != SWARM_OK) print_error("%s\n", d.msg);
    CHECK_OK(rc);
    sw_gguf_writer_destroy(w);
}

/* Writes, opens and binds; returns the bind result with the message in d.
 * mutate (may be NULL) edits the parsed file before binding. */
static swarm_err bind_synth(const synth *s, void (*mutate)(sw_gguf *), sw_hparams *hp,
                            swarm_diag *d)
{
    char path[] = "/tmp/swarm-synth-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    write_synth(path, s);
    sw_gguf g;
    CHECK_OK(sw_gguf_open(path, &g, d));
    if (mutate) mutate(&g);
    sw_weights w = {0};
    memset(d, 0, sizeof(*d));
    swarm_err rc = sw_model_bind_gguf(&g, hp, &w, d);
    if (rc == SWARM_OK) sw_free(w.layers);
    else assert_null(w.layers);
    sw_gguf_close(&g);
    unlink(path);
    return rc;
}

static void expect_bind(const synth *s, void (*mutate)(sw_gguf *), swarm_err want,
                        const char *needle1, const char *needle2)
{
    sw_hparams hp;
    swarm_diag d;
    swarm_err rc = bind_synth(s, mutate, &hp, &d);
    if (rc != want || strstr(d.msg, needle1) == NULL || (needle2 && !strstr(d.msg, needle2)))
        print_error("got %s '%s', want %s with '%s' '%s'\n", swarm_err_name(rc), d.msg,
                    swarm_err_name(want), needle1, needle2 ? needle2 : "");
    assert_int_equal(rc, want);
    assert_non_null(strstr(d.msg, needle1));
    if (needle2) assert_non_null(strstr(d.msg, needle2));
}

static void test_gguf_bind_valid_and_tied(void **st)
{
    (void)st;
    synth s = {.arch = "llama", .output = true};
    sw_hparams hp;
    swarm_diag d;
    CHECK_OK(bind_synth(&s, NULL, &hp, &d));
    assert_false(hp.tied_output);
    assert_int_equal(hp.n_vocab, S_VOCAB);
    assert_int_equal(hp.head_dim, S_DIM / S_HEADS);
    assert_int_equal(hp.rope_dim, S_DIM / S_HEADS);
    assert_int_equal(hp.n_ctx_train, 128);
    s.output = false;
    CHECK_OK(bind_synth(&s, NULL, &hp, &d));
    assert_true(hp.tied_output);
    s.arch = "qwen2";
    s.biases = true;
    CHECK_OK(bind_synth(&s, NULL, &hp, &d));
    assert_int_equal(hp.rope_style, SW_ROPE_NEOX);
    assert_true(hp.has_qkv_bias);
}

static void test_gguf_bind_every_missing_tensor_named(void **st)
{
    (void)st;
    static const char *const names[] = {
        "token_embd.weight",        "output_norm.weight",      "blk.1.attn_norm.weight",
        "blk.1.attn_q.weight",      "blk.1.attn_k.weight",     "blk.1.attn_v.weight",
        "blk.1.attn_output.weight", "blk.1.ffn_norm.weight",   "blk.1.ffn_gate.weight",
        "blk.1.ffn_up.weight",      "blk.1.ffn_down.weight",   "blk.0.attn_q.weight",
    };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        synth s = {.arch = "llama", .output = true, .omit = names[i]};
        expect_bind(&s, NULL, SWARM_EFORMAT, names[i], "missing");
    }
    /* qwen2 needs its q/k/v biases */
    synth q = {.arch = "qwen2", .output = true, .biases = true, .omit = "blk.1.attn_v.bias"};
    expect_bind(&q, NULL, SWARM_EFORMAT, "blk.1.attn_v.bias", "missing");
}

static void test_gguf_bind_bad_shapes_named(void **st)
{
    (void)st;
    static const char *const names[] = {"blk.0.attn_k.weight", "blk.1.ffn_down.weight",
                                        "output.weight", "token_embd.weight"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        synth s = {.arch = "llama", .output = true, .bad_shape = names[i]};
        /* token_embd sets the vocabulary; a transposed one makes output disagree */
        expect_bind(&s, NULL, SWARM_EFORMAT, i == 3 ? "tensor '" : names[i], "shape");
    }
}

static void test_gguf_bind_bad_metadata(void **st)
{
    (void)st;
    synth s = {.arch = "gpt2", .output = true};
    expect_bind(&s, NULL, SWARM_EUNSUPPORTED, "gpt2", "not supported");
    synth m = {.arch = "llama", .output = true, .omit_key = "embedding_length"};
    expect_bind(&m, NULL, SWARM_EFORMAT, "llama.embedding_length", NULL);
    synth b = {.arch = "llama", .output = true, .omit_key = "block_count"};
    expect_bind(&b, NULL, SWARM_EFORMAT, "llama.block_count", NULL);
    synth k = {.arch = "llama", .output = true, .head_count_kv = 3};
    expect_bind(&k, NULL, SWARM_EFORMAT, "head_count_kv", NULL);
}

static void set_q_q5k(sw_gguf *g)
{
    for (uint64_t i = 0; i < g->n_tensors; i++)
        if (sw_str_eq(g->tensors[i].name, "blk.1.attn_q.weight")) g->tensors[i].type = 16; /* IQ2_XXS */
}
static void set_q_unknown(sw_gguf *g)
{
    for (uint64_t i = 0; i < g->n_tensors; i++)
        if (sw_str_eq(g->tensors[i].name, "blk.0.ffn_up.weight")) g->tensors[i].type = 99;
}
static void set_norm_f16(sw_gguf *g)
{
    for (uint64_t i = 0; i < g->n_tensors; i++)
        if (sw_str_eq(g->tensors[i].name, "blk.0.ffn_norm.weight")) g->tensors[i].type = SW_TYPE_F16;
}
static void shrink_data(sw_gguf *g)
{
    for (uint64_t i = 0; i < g->n_tensors; i++)
        if (sw_str_eq(g->tensors[i].name, "blk.1.ffn_gate.weight")) g->tensors[i].nbytes /= 2;
}

static void test_gguf_bind_types_checked(void **st)
{
    (void)st;
    synth s = {.arch = "llama", .output = true};
    expect_bind(&s, set_q_q5k, SWARM_EUNSUPPORTED, "blk.1.attn_q.weight", "IQ2_XXS");
    expect_bind(&s, set_q_unknown, SWARM_EFORMAT, "blk.0.ffn_up.weight", "unknown type 99");
    expect_bind(&s, set_norm_f16, SWARM_EUNSUPPORTED, "blk.0.ffn_norm.weight", "F16");
    expect_bind(&s, shrink_data, SWARM_EFORMAT, "blk.1.ffn_gate.weight", "too short");
}

/* llama3 rope scaling: from metadata keys or the rope_freqs tensor */
static void test_gguf_rope_scaling(void **st)
{
    (void)st;
    synth s = {.arch = "llama", .output = true, .scaling = "llama3"};
    sw_hparams hp;
    swarm_diag d;
    CHECK_OK(bind_synth(&s, NULL, &hp, &d));
    assert_true(hp.rope_scale_factor == 8.0f && hp.rope_low_freq_factor == 1.0f &&
                hp.rope_high_freq_factor == 4.0f && hp.rope_orig_ctx == 8192);
    s.scaling = "yarn";
    expect_bind(&s, NULL, SWARM_EUNSUPPORTED, "yarn", NULL);

    /* the llama3 formula on Llama-3's own numbers: short wavelengths kept,
     * long ones slowed 8x, a blend in between */
    sw_hparams h = {.rope_dim = 128, .rope_base = 500000.0f, .rope_scale_factor = 8.0f,
                    .rope_low_freq_factor = 1.0f, .rope_high_freq_factor = 4.0f,
                    .rope_orig_ctx = 8192};
    float scaled[64], plain[64];
    sw_rope_freqs(&h, NULL, scaled);
    h.rope_scale_factor = 0.0f;
    sw_rope_freqs(&h, NULL, plain);
    int kept = 0, slowed = 0, blended = 0;
    for (int j = 0; j < 64; j++) {
        double wl = 2.0 * 3.14159265358979 / plain[j];
        if (wl < 2048.0) {
            assert_true(scaled[j] == plain[j]);
            kept++;
        } else if (wl > 8192.0) {
            assert_true(fabsf(scaled[j] - plain[j] / 8.0f) <= 1e-6f * plain[j]);
            slowed++;
        } else {
            assert_true(scaled[j] < plain[j] && scaled[j] > plain[j] / 8.0f);
            blended++;
        }
    }
    assert_true(kept > 0 && slowed > 0 && blended > 0);

    /* rope_freqs.weight divides each pair's frequency */
    synth f = {.arch = "llama", .output = true, .rope_freqs = true};
    char path[] = "/tmp/swarm-synth-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    write_synth(path, &f);
    sw_gguf g;
    CHECK_OK(sw_gguf_open(path, &g, &d));
    sw_weights w;
    CHECK_OK(sw_model_bind_gguf(&g, &hp, &w, &d));
    const float *factors = NULL;
    CHECK_OK(sw_model_rope_factors(&g, &hp, &factors, &d));
    assert_non_null(factors);
    float with[8], without[8];
    sw_rope_freqs(&hp, factors, with);
    sw_rope_freqs(&hp, NULL, without);
    for (int j = 0; j < hp.rope_dim / 2; j++)
        assert_true(fabsf(with[j] - without[j] / (1.0f + (float)j)) <= 1e-7f);
    sw_free(w.layers);
    sw_gguf_close(&g);
    unlink(path);
}

/* ------------------------------------------------------------------------ */
/* weights are a private copy: no heap copy, no file mapping left, and the  */
/* file can be truncated or rewritten under a loaded model (no SIGBUS)      */

/* Resident bytes of the whole process and of the mappings of path. */
static size_t rss_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    if (f == NULL) return 0;
    unsigned long size = 0, res = 0;
    int n = fscanf(f, "%lu %lu", &size, &res);
    fclose(f);
    return n == 2 ? (size_t)res * (size_t)sysconf(_SC_PAGESIZE) : 0;
}

static size_t mapping_rss(const char *path)
{
    FILE *f = fopen("/proc/self/smaps", "r");
    if (f == NULL) return 0;
    char line[4096];
    bool in = false;
    size_t kb_total = 0;
    while (fgets(line, sizeof(line), f) != NULL) {
        size_t kb;
        /* a mapping's first line starts with its (lower-case hex) address;
         * the field lines that follow start with an upper-case name */
        if ((line[0] >= '0' && line[0] <= '9') || (line[0] >= 'a' && line[0] <= 'f')) {
            char *nl = strchr(line, '\n');
            if (nl) *nl = '\0';
            size_t n = strlen(line), k = strlen(path);
            in = n >= k && strcmp(line + n - k, path) == 0;
        } else if (in && sscanf(line, "Rss: %zu kB", &kb) == 1) {
            kb_total += kb;
        }
    }
    fclose(f);
    return kb_total * 1024;
}

/* Loads path and checks that the heap grew by less than `limit` bytes (the
 * weights are not in sw_malloc memory), that the resident set grew by about
 * the file (one private copy, not two) and that no mapping of the file is
 * left (nothing can fault when it is truncated). */
static void expect_copied_load(const char *path, const char *tok, size_t file_size, size_t limit)
{
    swarm_model_params mp = swarm_model_params_default();
    mp.path = path;
    mp.tokenizer_path = tok;
    long live0 = sw_alloc_live_bytes();
    size_t rss0 = rss_bytes();
    swarm_model *m = NULL;
    swarm_diag d = {{0}};
    swarm_err rc = swarm_model_load(&mp, &m, &d);
    if (rc != SWARM_OK) print_error("%s\n", d.msg);
    CHECK_OK(rc);
    size_t rss1 = rss_bytes(), mapped = mapping_rss(path);
    long heap = sw_alloc_live_bytes() - live0;
    size_t grew = rss1 > rss0 ? rss1 - rss0 : 0;
    fprintf(stderr, "load %s: file %.1f MB, heap +%.2f MB, RSS +%.2f MB, mapping resident %.2f MB\n",
            path, (double)file_size / 1e6, (double)heap / 1e6, (double)grew / 1e6,
            (double)mapped / 1e6);
    assert_true(heap >= 0 && (size_t)heap < limit);
#if defined(__SANITIZE_THREAD__)
    /* TSan's shadow memory grows RSS with every page touched: the heap
     * bound above still holds, the RSS bound does not apply */
    fprintf(stderr, "RSS bound not checked under ThreadSanitizer\n");
#else
    assert_true(grew < file_size + file_size / 8 + ((size_t)1 << 20));
#endif
    assert_true(mapped == 0);
    /* the mapped weights are real: a session runs on them */
    swarm_session_params sp = {.n_ctx = 8, .n_threads = 1};
    swarm_session *s = NULL;
    CHECK_OK(swarm_session_create(m, &sp, &s));
    swarm_gen_params gp = {.prompt = "Once", .steps = 4};
    gp.sampling = swarm_sampling_default();
    gp.sampling.temperature = 0.0f;
    swarm_gen_result *r = NULL;
    CHECK_OK(swarm_generate(s, &gp, &r));
    swarm_gen_result_destroy(r);
    swarm_session_destroy(s);
    swarm_model_destroy(m);
}

/* A 100+ MB llama GGUF (F32, so writing it costs no quantization) with
 * stories260K's tokenizer keys. */
static size_t write_big_gguf(const char *path, const sw_gguf *tok_src)
{
    enum { DIM = 1024, FFN = 2816, LAYERS = 3, HEADS = 8 };
    float *data = calloc((size_t)DIM * FFN, sizeof(float));
    assert_non_null(data);
    for (size_t i = 0; i < (size_t)DIM * FFN; i++) data[i] = 0.01f * (float)((int)(i % 13) - 6);
    sw_gguf_writer *w = NULL;
    CHECK_OK(sw_gguf_writer_create(&w));
    CHECK_OK(sw_gguf_writer_set_str(w, "general.architecture", "llama"));
    CHECK_OK(sw_gguf_writer_set_u32(w, "llama.embedding_length", DIM));
    CHECK_OK(sw_gguf_writer_set_u32(w, "llama.feed_forward_length", FFN));
    CHECK_OK(sw_gguf_writer_set_u32(w, "llama.block_count", LAYERS));
    CHECK_OK(sw_gguf_writer_set_u32(w, "llama.attention.head_count", HEADS));
    CHECK_OK(sw_gguf_writer_set_u32(w, "llama.context_length", 64));
    for (uint64_t i = 0; i < tok_src->n_kv; i++)
        if (strncmp(tok_src->kv[i].key.ptr, "tokenizer.", 10) == 0)
            CHECK_OK(sw_gguf_writer_set_kv(w, &tok_src->kv[i]));
    int64_t vocab = 512;
    size_t params = 0;
#define W(name, c, r)                                                                    \
    do {                                                                                 \
        int64_t ne_[2] = {(c), (r)};                                                     \
        CHECK_OK(sw_gguf_writer_add_tensor(w, name, (r) == 1 ? 1 : 2, ne_, SW_TYPE_F32, data)); \
        params += (size_t)(c) * (size_t)(r);                                             \
    } while (0)
    W("token_embd.weight", DIM, vocab);
    W("output_norm.weight", DIM, 1);
    for (int l = 0; l < LAYERS; l++) {
        char n[64];
        const struct { const char *s; int64_t c, r; } t[] = {
            {"attn_norm.weight", DIM, 1}, {"attn_q.weight", DIM, DIM},
            {"attn_k.weight", DIM, DIM},  {"attn_v.weight", DIM, DIM},
            {"attn_output.weight", DIM, DIM}, {"ffn_norm.weight", DIM, 1},
            {"ffn_gate.weight", DIM, FFN}, {"ffn_up.weight", DIM, FFN},
            {"ffn_down.weight", FFN, DIM}};
        for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
            snprintf(n, sizeof(n), "blk.%d.%s", l, t[i].s);
            W(n, t[i].c, t[i].r);
        }
    }
#undef W
    swarm_diag d = {{0}};
    swarm_err rc = sw_gguf_writer_write(w, path, &d);
    if (rc != SWARM_OK) print_error("%s\n", d.msg);
    CHECK_OK(rc);
    sw_gguf_writer_destroy(w);
    free(data);
    return params * sizeof(float);
}

static void test_load_copies_weights(void **st)
{
    (void)st;
    char g[512], b[512], t[512];
    REQUIRE_SHARED(g, "models/stories260K.gguf");
    REQUIRE_SHARED(b, "models/stories260K.bin");
    REQUIRE_SHARED(t, "models/tok512.bin");
    /* the real files are small (about 1 MB): the bound is their size */
    expect_copied_load(g, NULL, 1185376, 1185376);
    expect_copied_load(b, t, 1056540, 1056540);

    sw_gguf src;
    swarm_diag d = {{0}};
    CHECK_OK(sw_gguf_open(g, &src, &d));
    char path[] = "/tmp/swarm-big-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    double t0 = sw_now_ms();
    size_t weights = write_big_gguf(path, &src);
    sw_gguf_close(&src);
    fprintf(stderr, "wrote %.0f MB of F32 weights in %.0f ms\n", (double)weights / 1e6,
            sw_now_ms() - t0);
    assert_true(weights > 100000000u);
    /* the heap holds the header, metadata and tokenizer tables, not the
     * weights: under 1/16 of the file */
    expect_copied_load(path, NULL, weights, weights / 16);
    unlink(path);
}

/* Greedy text of a fresh session on m. */
static char *greedy_text(swarm_model *m)
{
    swarm_session_params sp = {.n_ctx = 64, .n_threads = 2};
    swarm_session *s = NULL;
    CHECK_OK(swarm_session_create(m, &sp, &s));
    swarm_gen_params gp = {.prompt = "Once upon a time", .max_tokens = 24};
    gp.sampling = swarm_sampling_default();
    gp.sampling.temperature = 0.0f;
    swarm_gen_result *r = NULL;
    CHECK_OK(swarm_generate(s, &gp, &r));
    char *text = strdup(r->text);
    swarm_gen_result_destroy(r);
    swarm_session_destroy(s);
    return text;
}

/* A model file truncated, then overwritten with zeros, while loaded: with a
 * file mapping the next generation died of SIGBUS; the loaded copy keeps
 * generating the same text. Both formats. */
static void test_file_truncated_while_loaded(void **st)
{
    (void)st;
    const char *rels[2] = {"models/stories260K.gguf", "models/stories260K.bin"};
    for (int k = 0; k < 2; k++) {
        char src[512], tok[512];
        REQUIRE_SHARED(src, rels[k]);
        REQUIRE_SHARED(tok, "models/tok512.bin");
        char *buf = NULL;
        size_t len = 0;
        CHECK_OK(sw_read_file(src, &buf, &len, NULL));
        char path[] = "/tmp/swarm-trunc-XXXXXX";
        int fd = mkstemp(path);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, buf, len), (ssize_t)len);
        close(fd);
        sw_free(buf);
        swarm_model_params mp = swarm_model_params_default();
        mp.path = path;
        mp.tokenizer_path = k == 1 ? tok : NULL;
        swarm_model *m = NULL;
        swarm_diag d = {{0}};
        CHECK_OK(swarm_model_load(&mp, &m, &d));
        char *before = greedy_text(m);
        assert_int_equal(truncate(path, 4096), 0);
        char *after_trunc = greedy_text(m);
        assert_int_equal(truncate(path, 0), 0);
        assert_int_equal(truncate(path, (off_t)len), 0); /* zeros where the weights were */
        char *after_zero = greedy_text(m);
        fprintf(stderr, "%s: '%s' before, same after truncation and after zeroing: %d %d\n",
                rels[k], before, strcmp(before, after_trunc) == 0,
                strcmp(before, after_zero) == 0);
        assert_true(strlen(before) > 10);
        assert_string_equal(before, after_trunc);
        assert_string_equal(before, after_zero);
        free(before);
        free(after_trunc);
        free(after_zero);
        swarm_model_destroy(m);
        unlink(path);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_llama2c_valid_shared_and_separate_classifier),
        cmocka_unit_test(test_llama2c_hostile_headers),
        cmocka_unit_test(test_llama2c_random_headers_never_crash),
        cmocka_unit_test(test_llama2c_truncated_file_names_path),
        cmocka_unit_test(test_gguf_bind_valid_and_tied),
        cmocka_unit_test(test_gguf_bind_every_missing_tensor_named),
        cmocka_unit_test(test_gguf_bind_bad_shapes_named),
        cmocka_unit_test(test_gguf_bind_bad_metadata),
        cmocka_unit_test(test_gguf_bind_types_checked),
        cmocka_unit_test(test_gguf_rope_scaling),
        cmocka_unit_test(test_load_copies_weights),
        cmocka_unit_test(test_file_truncated_while_loaded),
    };
    return CHECK_RUN(tests, NULL, NULL);
}
