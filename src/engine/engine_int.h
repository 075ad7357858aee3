/*
 * engine_int.h: the engine's internal contract between the file readers
 * (gguf.c, llama2c.c), the tokenizer, the model binder and the forward pass.
 * Never installed.
 */
#ifndef SW_ENGINE_INT_H
#define SW_ENGINE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../core/core_int.h"
#include "../core/platform.h"
#include "kernels/kernels.h"
#include "swarm/engine.h"

/* ------------------------------------------------------------------------ */
/* GGUF reader (gguf.c)                                                     */

enum sw_gguf_vtype {
    SW_GGUF_UINT8 = 0,
    SW_GGUF_INT8 = 1,
    SW_GGUF_UINT16 = 2,
    SW_GGUF_INT16 = 3,
    SW_GGUF_UINT32 = 4,
    SW_GGUF_INT32 = 5,
    SW_GGUF_FLOAT32 = 6,
    SW_GGUF_BOOL = 7,
    SW_GGUF_STRING = 8,
    SW_GGUF_ARRAY = 9,
    SW_GGUF_UINT64 = 10,
    SW_GGUF_INT64 = 11,
    SW_GGUF_FLOAT64 = 12,
    SW_GGUF_VTYPE_COUNT
};

/* A string inside the file buffer: not NUL-terminated. */
typedef struct sw_str {
    const char *ptr;
    uint64_t len;
} sw_str;

typedef struct sw_gguf_kv {
    sw_str key;
    uint32_t type;       /* enum sw_gguf_vtype */
    uint32_t arr_type;   /* element type when type == ARRAY */
    uint64_t arr_n;      /* element count when type == ARRAY */
    const uint8_t *data; /* the value (or first array element) inside the buffer */
} sw_gguf_kv;

typedef struct sw_gguf_tensor {
    sw_str name;
    uint32_t n_dims;
    int64_t ne[4];   /* ne[0] = elements per row (contiguous); unused dims = 1 */
    uint32_t type;   /* enum sw_type */
    uint64_t offset; /* relative to the data section */
    const void *data;
    size_t nbytes;
} sw_gguf_tensor;

typedef struct sw_gguf {
    const uint8_t *base; /* whole file (mapped or caller's buffer) */
    size_t size;
    uint32_t version;
    uint64_t n_kv;
    sw_gguf_kv *kv;
    uint64_t n_tensors;
    sw_gguf_tensor *tensors;
    size_t alignment;
    size_t data_offset;
    void *map; /* non-NULL when sw_gguf_open mapped the file (owned) */
    size_t map_len;
    void *index; /* name hash tables built by the parser (owned; NULL: linear lookup) */
} sw_gguf;

/* Parses a GGUF image held in memory (not copied; must outlive g). Every
 * count, length, offset and size product is checked against the buffer; on
 * failure d says what is wrong (e.g. "tensor 'blk.3.attn_q.weight' extends
 * past end of file") and g is left zeroed. */
swarm_err sw_gguf_parse(const void *buf, size_t size, sw_gguf *g, swarm_diag *d);
/* Maps path read-only and parses it; messages are prefixed with the path. */
swarm_err sw_gguf_open(const char *path, sw_gguf *g, swarm_diag *d);
/* The same on a private copy of the file (sw_load_file): model loads. */
swarm_err sw_gguf_load(const char *path, sw_gguf *g, swarm_diag *d);
/* Releases the tables and the mapping; safe on a zeroed or failed g. */
void sw_gguf_close(sw_gguf *g);

const sw_gguf_kv *sw_gguf_find(const sw_gguf *g, const char *key);
const sw_gguf_tensor *sw_gguf_find_tensor(const sw_gguf *g, const char *name);
/* Typed getters: false when the key is missing or has an incompatible type
 * (integers of any width convert when in range; floats accept F32/F64). */
bool sw_gguf_get_u32(const sw_gguf *g, const char *key, uint32_t *out);
bool sw_gguf_get_f32(const sw_gguf *g, const char *key, float *out);
bool sw_gguf_get_bool(const sw_gguf *g, const char *key, bool *out);
bool sw_gguf_get_str(const sw_gguf *g, const char *key, sw_str *out);
/* String arrays: fills out[0..kv->arr_n) with views into the buffer. */
swarm_err sw_gguf_arr_strings(const sw_gguf_kv *kv, sw_str *out);
/* Scalar element i of a numeric array as double (false when out of range). */
bool sw_gguf_arr_num(const sw_gguf_kv *kv, uint64_t i, double *out);
bool sw_str_eq(sw_str s, const char *c);

/* ------------------------------------------------------------------------ */
/* GGUF writer (gguf_write.c)                                               */

typedef struct sw_gguf_writer sw_gguf_writer;
swarm_err sw_gguf_writer_create(sw_gguf_writer **out);
void sw_gguf_writer_destroy(sw_gguf_writer *w);
swarm_err sw_gguf_writer_set_u32(sw_gguf_writer *w, const char *key, uint32_t v);
swarm_err sw_gguf_writer_set_i32(sw_gguf_writer *w, const char *key, int32_t v);
swarm_err sw_gguf_writer_set_f32(sw_gguf_writer *w, const char *key, float v);
swarm_err sw_gguf_writer_set_bool(sw_gguf_writer *w, const char *key, bool v);
swarm_err sw_gguf_writer_set_str(sw_gguf_writer *w, const char *key, const char *v);
swarm_err sw_gguf_writer_set_arr_str(sw_gguf_writer *w, const char *key, const char *const *v,
                                     const size_t *lens, size_t n);
swarm_err sw_gguf_writer_set_arr_f32(sw_gguf_writer *w, const char *key, const float *v, size_t n);
swarm_err sw_gguf_writer_set_arr_i32(sw_gguf_writer *w, const char *key, const int32_t *v,
                                     size_t n);
/* Copies a key parsed by sw_gguf_parse (any value type, arrays included). */
swarm_err sw_gguf_writer_set_kv(sw_gguf_writer *w, const sw_gguf_kv *kv);
/* Adds a tensor of F32 data (rows = ne[1], cols = ne[0]) to be stored as
 * `type` (quantized at write time). data must stay valid until write. */
swarm_err sw_gguf_writer_add_tensor(sw_gguf_writer *w, const char *name, uint32_t n_dims,
                                    const int64_t *ne, uint32_t type, const float *data);
/* Writes a GGUF v3 file (alignment 32, or general.alignment when set). */
swarm_err sw_gguf_writer_write(sw_gguf_writer *w, const char *path, swarm_diag *d);

/* ------------------------------------------------------------------------ */
/* Model description shared by both file formats                            */

enum sw_arch {
    SW_ARCH_LLAMA,
    SW_ARCH_QWEN2,
    SW_ARCH_QWEN3,  /* + per-head RMSNorm of q and k before rope */
    SW_ARCH_GEMMA3, /* + GeGLU, scaled embeddings, post norms, q/k norms, sliding window */
    SW_ARCH_PHI3,   /* fused qkv and gate/up matrices */
    SW_ARCH_GEMMA2, /* gemma3 without q/k norms, with logit soft-capping */
    SW_ARCH_COUNT
};
/* The GGUF general.architecture name of an arch. */
const char *sw_arch_name(enum sw_arch a);
enum sw_rope_style { SW_ROPE_NORMAL, SW_ROPE_NEOX };

typedef struct sw_hparams {
    enum sw_arch arch;
    int32_t dim;        /* n_embd */
    int32_t ffn_dim;    /* n_ff */
    int32_t n_layers;
    int32_t n_heads;
    int32_t n_kv_heads;
    int32_t head_dim;   /* dim / n_heads unless the file says otherwise */
    int32_t rope_dim;   /* rotated dims per head (<= head_dim) */
    int32_t n_vocab;
    int32_t n_ctx_train;
    float rope_base;
    float norm_eps;
    enum sw_rope_style rope_style;
    bool has_qkv_bias;
    bool tied_output; /* output head = token embedding */
    /* llama3 rope frequency scaling (rope_scale_factor == 0: none) */
    float rope_scale_factor, rope_low_freq_factor, rope_high_freq_factor;
    int32_t rope_orig_ctx;
    /* Gemma / Qwen3 features (all off for llama and qwen2) */
    bool qk_norm;        /* attn_q_norm / attn_k_norm per head before rope */
    bool post_norms;     /* post_attention_norm / post_ffw_norm before each residual add */
    bool geglu;          /* FFN activation gelu_tanh(gate) * up instead of silu */
    float embd_scale;    /* token embeddings multiplied by this (0: not scaled) */
    float attn_scale;    /* scores multiplied by this (0: 1/sqrt(head_dim)) */
    float attn_softcap;  /* scores s -> c tanh(s / c) before the mask (0: none) */
    float final_softcap; /* logits l -> c tanh(l / c) (0: none) */
    int32_t swa_window;  /* sliding layers: query i sees key j when i - j < window (0: none) */
    int32_t swa_pattern; /* layer l slides when l % pattern < pattern - 1 */
    float rope_base_swa; /* rope base of sliding layers (0: rope_base) */
} sw_hparams;

/* True when layer l of hp uses the sliding window. */
static inline bool sw_layer_swa(const sw_hparams *hp, int32_t l)
{
    return hp->swa_window > 0 && hp->swa_pattern > 0 && l % hp->swa_pattern < hp->swa_pattern - 1;
}

/* A weight: a read-only view (into the mapping when possible). */
typedef struct sw_tensor {
    uint32_t type;  /* enum sw_type */
    int64_t cols;   /* ne[0] */
    int64_t rows;   /* ne[1] (1 for vectors) */
    const void *data;
} sw_tensor;

typedef struct sw_layer {
    sw_tensor attn_norm, wq, wk, wv, wo;
    sw_tensor bq, bk, bv; /* data == NULL when absent */
    sw_tensor ffn_norm, w_gate, w_up, w_down;
    sw_tensor q_norm, k_norm;              /* (head_dim), data == NULL when absent */
    sw_tensor post_attn_norm, post_ffn_norm; /* (dim), data == NULL when absent */
} sw_layer;

typedef struct sw_weights {
    sw_tensor tok_embd; /* (n_vocab, dim) */
    sw_tensor out_norm; /* (dim) */
    sw_tensor output;   /* (n_vocab, dim); == tok_embd when tied */
    sw_layer *layers;   /* n_layers entries, owned */
} sw_weights;

/* llama2.c checkpoint (llama2c.c): the legacy 7-int32 header (negative
 * vocab_size = separate classifier), F32 weights in a private copy of the file
 * (sw_load_file). Fills hp
 * and w (w->layers is sw_malloc'd; the caller frees it) and keeps the mapping
 * in *map / *map_len for the caller to unmap with sw_unmap_file. Rejects any
 * header that disagrees with the file size. */
swarm_err sw_llama2c_open(const char *path, sw_hparams *hp, sw_weights *w, void **map,
                          size_t *map_len, swarm_diag *d);
/* Same from a memory image (fuzzing). */
swarm_err sw_llama2c_parse(const void *buf, size_t size, sw_hparams *hp, sw_weights *w,
                           swarm_diag *d);
/* sw_map_file / sw_load_file / sw_unmap_file: the platform layer's (core/platform.h) */

/* GGUF binder (model.c): hyperparameters and tensors from GGUF metadata, for
 * arch llama and qwen2. Missing or mis-shaped tensors are errors naming the tensor. */
swarm_err sw_model_bind_gguf(const sw_gguf *g, sw_hparams *hp, sw_weights *w, swarm_diag *d);

/* ------------------------------------------------------------------------ */
/* Tokenizer (tokenizer.c, bpe.c, unicode.c)                                */

enum sw_tok_kind { SW_TOK_SPM, SW_TOK_BPE, SW_TOK_KIND_COUNT };

typedef struct sw_tokenizer sw_tokenizer;

/* From GGUF tokenizer.ggml.* metadata (model "llama" = SentencePiece, "gpt2"
 * = byte-level BPE with tokenizer.ggml.pre selecting the pre-tokenizer). */
swarm_err sw_tokenizer_from_gguf(const sw_gguf *g, sw_tokenizer **out, swarm_diag *d);
/* From a llama2.c tokenizer.bin with vocab_size entries, or a SentencePiece
 * tokenizer.model (protobuf ModelProto) with vocab_size pieces, told apart
 * by content; a .model becomes the table llama2.c's tokenizer.py would
 * export from it. Messages are prefixed with the path. */
swarm_err sw_tokenizer_from_llama2c(const char *path, int32_t vocab_size, sw_tokenizer **out,
                                    swarm_diag *d);
/* Same from a memory image (copied: buf may be freed afterwards). */
swarm_err sw_tokenizer_from_llama2c_buf(const void *buf, size_t size, int32_t vocab_size,
                                        sw_tokenizer **out, swarm_diag *d);
void sw_tokenizer_destroy(sw_tokenizer *t);

enum sw_tok_kind sw_tokenizer_kind(const sw_tokenizer *t);
int32_t sw_tokenizer_n_vocab(const sw_tokenizer *t);
int32_t sw_tokenizer_bos(const sw_tokenizer *t); /* -1 when none */
int32_t sw_tokenizer_eos(const sw_tokenizer *t); /* -1 when none */
/* Extra end-of-generation ids (e.g. <|eot_id|>, <|im_end|>): true if id ends a turn. */
bool sw_tokenizer_is_eog(const sw_tokenizer *t, int32_t id);
bool sw_tokenizer_add_bos_default(const sw_tokenizer *t);
const char *sw_tokenizer_pre_name(const sw_tokenizer *t); /* "gpt-2", "llama-bpe", ... or "" */

/*
 * Encodes text (len bytes, any bytes; invalid UTF-8 is handled, never read
 * past len). SPM: a dummy-prefix space is added for non-empty text when the
 * tokenizer asks for it (llama2.c run.c and llama.cpp conventions).
 * parse_special: recognise special/control tokens written in the text
 * (needed for chat templates). *out_ids is sw_malloc'd.
 */
swarm_err sw_tokenizer_encode(const sw_tokenizer *t, const char *text, size_t len, bool add_bos,
                              bool add_eos, bool parse_special, int32_t **out_ids,
                              size_t *out_n);
/*
 * The bytes of token id as text would show it, given the previous token
 * (llama2.c: the piece after BOS loses its leading space; <0xXX> -> byte;
 * BPE: byte-level unicode mapping undone). Writes at most cap bytes; returns
 * the number of bytes of the piece (may be > cap: truncated). Control tokens
 * give 0 bytes.
 */
size_t sw_tokenizer_decode(const sw_tokenizer *t, int32_t prev, int32_t id, char *buf,
                           size_t cap);
/* Raw vocabulary text of id (as stored), for inspection. */
sw_str sw_tokenizer_piece(const sw_tokenizer *t, int32_t id);

/* Chat templates (chat.c) */
enum sw_chat_template {
    SW_CHAT_NONE,
    SW_CHAT_CHATML,
    SW_CHAT_LLAMA3,
    SW_CHAT_LLAMA2,
    SW_CHAT_TEMPLATE_COUNT
};
/* Recognises a template from the Jinja text of tokenizer.chat_template. */
enum sw_chat_template sw_chat_detect(const char *jinja, size_t len);
/* Renders messages into a prompt ending with the assistant turn opener.
 * *out is sw_malloc'd and NUL-terminated. */
swarm_err sw_chat_render(enum sw_chat_template t, const swarm_chat_msg *msgs, size_t n,
                         char **out);

#endif /* SW_ENGINE_INT_H */
