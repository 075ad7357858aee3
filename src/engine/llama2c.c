/*
 * llama2c.c: reader for llama2.c checkpoints (the legacy "v0" export: seven
 * int32 header fields, then float32 weights). It only points tensors into the
 * image (mapped by platform/posix/map.c); nothing is copied. The newer
 * llama2.c "ak42" versioned exports are rejected by name.
 */
#include <string.h>

#include "engine_int.h"

/* ------------------------------------------------------------------------ */
/* llama2.c checkpoint                                                      */

/* Limits far above any llama2.c model but small enough that every size
 * product below fits in 64 bits without overflow checks on each step. */
#define L2C_MAX_DIM (1 << 16)
#define L2C_MAX_FFN (1 << 18)
#define L2C_MAX_LAYERS 1024
#define L2C_MAX_HEADS 1024
#define L2C_MAX_VOCAB (1 << 22)
#define L2C_MAX_SEQ (1 << 20)

static sw_tensor f32_tensor(const float **cursor, int64_t rows, int64_t cols)
{
    sw_tensor t = {.type = SW_TYPE_F32, .cols = cols, .rows = rows, .data = *cursor};
    *cursor += rows * cols;
    return t;
}

swarm_err sw_llama2c_parse(const void *buf, size_t size, sw_hparams *hp, sw_weights *w,
                           swarm_diag *d)
{
    if (buf == NULL || size < 7 * sizeof(int32_t))
        return sw_diag_set(d, SWARM_EFORMAT,
                           "too small for a llama2.c checkpoint (%zu bytes, header is 28)", size);
    if (((uintptr_t)buf & 3u) != 0)
        return sw_diag_set(d, SWARM_EINVAL, "llama2.c image is not 4-byte aligned");
    int32_t h[7];
    memcpy(h, buf, sizeof(h));
    if (memcmp(buf, "GGUF", 4) == 0)
        return sw_diag_set(d, SWARM_EFORMAT, "this is a GGUF file, not a llama2.c checkpoint");
    if ((uint32_t)h[0] == 0x616b3432u) /* "ak42" magic of llama2.c export versions 1 and 2 */
        return sw_diag_set(d, SWARM_EUNSUPPORTED,
                           "llama2.c versioned export (magic ak42) is not supported; "
                           "use the legacy export or GGUF");
    int32_t dim = h[0], ffn = h[1], n_layers = h[2], n_heads = h[3], n_kv = h[4];
    int32_t vocab_raw = h[5], seq = h[6];
    if (dim <= 0 || dim > L2C_MAX_DIM || ffn <= 0 || ffn > L2C_MAX_FFN || n_layers <= 0 ||
        n_layers > L2C_MAX_LAYERS || n_heads <= 0 || n_heads > L2C_MAX_HEADS || n_kv <= 0 ||
        n_kv > n_heads || vocab_raw == 0 || vocab_raw < -L2C_MAX_VOCAB ||
        vocab_raw > L2C_MAX_VOCAB || seq <= 0 || seq > L2C_MAX_SEQ)
        return sw_diag_set(d, SWARM_EFORMAT,
                           "llama2.c header out of range (dim %d, hidden_dim %d, n_layers %d, "
                           "n_heads %d, n_kv_heads %d, vocab_size %d, seq_len %d)",
                           dim, ffn, n_layers, n_heads, n_kv, vocab_raw, seq);
    if (dim % n_heads != 0 || n_heads % n_kv != 0 || (dim / n_heads) % 2 != 0)
        return sw_diag_set(d, SWARM_EFORMAT,
                           "llama2.c header inconsistent: dim %d, n_heads %d, n_kv_heads %d "
                           "(need dim %% n_heads == 0, n_heads %% n_kv_heads == 0, even head size)",
                           dim, n_heads, n_kv);
    bool shared = vocab_raw > 0;
    int64_t vocab = shared ? vocab_raw : -(int64_t)vocab_raw;
    int64_t head = dim / n_heads, kv_dim = head * n_kv;
    int64_t L = n_layers;
    /* Every factor is bounded above, so these products cannot overflow int64. */
    uint64_t n_floats = (uint64_t)(vocab * dim)          /* token embedding */
                        + (uint64_t)(L * dim)            /* rms_att */
                        + (uint64_t)(L * dim * dim)      /* wq */
                        + (uint64_t)(2 * L * kv_dim * dim) /* wk, wv */
                        + (uint64_t)(L * dim * dim)      /* wo */
                        + (uint64_t)(L * dim)            /* rms_ffn */
                        + (uint64_t)(3 * L * ffn * dim)  /* w1, w2, w3 */
                        + (uint64_t)dim                  /* rms_final */
                        + (uint64_t)((int64_t)seq * head) /* freq_cis real + imag */
                        + (shared ? 0u : (uint64_t)(vocab * dim));
    uint64_t want = 28u + 4u * n_floats;
    if (want != (uint64_t)size)
        return sw_diag_set(d, SWARM_EFORMAT,
                           "llama2.c header (dim %d, hidden_dim %d, n_layers %d, n_heads %d, "
                           "n_kv_heads %d, vocab_size %d, seq_len %d) needs %llu bytes but the "
                           "file has %zu",
                           dim, ffn, n_layers, n_heads, n_kv, vocab_raw, seq,
                           (unsigned long long)want, size);

    sw_layer *layers = sw_calloc((size_t)n_layers, sizeof(*layers));
    if (layers == NULL) return sw_diag_set(d, SWARM_ENOMEM, "out of memory");
    const float *p = (const float *)((const uint8_t *)buf + 28);
    sw_weights ww = {0};
    ww.tok_embd = f32_tensor(&p, vocab, dim);
    /* llama2.c stores each weight kind for all layers together. */
    for (int l = 0; l < n_layers; l++) layers[l].attn_norm = f32_tensor(&p, 1, dim);
    for (int l = 0; l < n_layers; l++) layers[l].wq = f32_tensor(&p, dim, dim);
    for (int l = 0; l < n_layers; l++) layers[l].wk = f32_tensor(&p, kv_dim, dim);
    for (int l = 0; l < n_layers; l++) layers[l].wv = f32_tensor(&p, kv_dim, dim);
    for (int l = 0; l < n_layers; l++) layers[l].wo = f32_tensor(&p, dim, dim);
    for (int l = 0; l < n_layers; l++) layers[l].ffn_norm = f32_tensor(&p, 1, dim);
    for (int l = 0; l < n_layers; l++) layers[l].w_gate = f32_tensor(&p, ffn, dim);
    for (int l = 0; l < n_layers; l++) layers[l].w_down = f32_tensor(&p, dim, ffn);
    for (int l = 0; l < n_layers; l++) layers[l].w_up = f32_tensor(&p, ffn, dim);
    ww.out_norm = f32_tensor(&p, 1, dim);
    p += (int64_t)seq * head; /* legacy freq_cis_real and freq_cis_imag: recomputed instead */
    ww.output = shared ? ww.tok_embd : f32_tensor(&p, vocab, dim);
    SWARM_ASSERT((const uint8_t *)p == (const uint8_t *)buf + size);
    ww.layers = layers;

    sw_hparams hh = {0};
    hh.arch = SW_ARCH_LLAMA;
    hh.dim = dim;
    hh.ffn_dim = ffn;
    hh.n_layers = n_layers;
    hh.n_heads = n_heads;
    hh.n_kv_heads = n_kv;
    hh.head_dim = (int32_t)head;
    hh.rope_dim = (int32_t)head;
    hh.n_vocab = (int32_t)vocab;
    hh.n_ctx_train = seq;
    hh.rope_base = 10000.0f;
    hh.norm_eps = 1e-5f;
    hh.rope_style = SW_ROPE_NORMAL;
    hh.has_qkv_bias = false;
    hh.tied_output = shared;
    *hp = hh;
    *w = ww;
    return SWARM_OK;
}

swarm_err sw_llama2c_open(const char *path, sw_hparams *hp, sw_weights *w, void **map,
                          size_t *map_len, swarm_diag *d)
{
    void *m = NULL;
    size_t len = 0;
    swarm_err rc = sw_load_file(path, &m, &len, d); /* a private copy: no SIGBUS */
    if (rc != SWARM_OK) return rc;
    rc = sw_llama2c_parse(m, len, hp, w, d);
    if (rc != SWARM_OK) {
        sw_unmap_file(m, len);
        sw_diag_prefix(d, path);
        return rc;
    }
    *map = m;
    *map_len = len;
    return SWARM_OK;
}
