/*
 * fuzz_seeds.c: writes the small seed corpus for the fuzz smoke into a
 * directory: crafted GGUF images (every value type, nested arrays, tensors
 * of several types, a vocabulary-only v2 file), tiny llama2.c
 * checkpoints, llama2.c tokenizer tables, SentencePiece ModelProto files,
 * texts to tokenize and GGUF vocabularies (SPM and BPE). Crafted here so no shared file is ever
 * copied. The JSON kinds (task, aggregate, swarmfile, assign) read the
 * examples/ files and the JSON blocks of docs/ from the source tree at run
 * time (SWARM_SOURCE_DIR, else the tree this was built from).
 */
#include <dirent.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct bytes {
    uint8_t *p;
    size_t len, cap;
} bytes;

static void put(bytes *b, const void *src, size_t n)
{
    if (b->len + n > b->cap) {
        b->cap = (b->len + n) * 2;
        b->p = realloc(b->p, b->cap);
        if (b->p == NULL) exit(1);
    }
    memcpy(b->p + b->len, src, n);
    b->len += n;
}
static void u8(bytes *b, uint8_t v)
{
    put(b, &v, 1);
}
static void u32(bytes *b, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        u8(b, (uint8_t)(v >> (8 * i)));
}
static void u64(bytes *b, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        u8(b, (uint8_t)(v >> (8 * i)));
}
static void str(bytes *b, const char *s)
{
    u64(b, strlen(s));
    put(b, s, strlen(s));
}
static void f32(bytes *b, float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    u32(b, u);
}
static void tinfo(bytes *b, const char *name, uint32_t n_dims, const uint64_t *ne, uint32_t type,
                  uint64_t off)
{
    str(b, name);
    u32(b, n_dims);
    for (uint32_t i = 0; i < n_dims; i++)
        u64(b, ne[i]);
    u32(b, type);
    u64(b, off);
}
static void pad(bytes *b, size_t a)
{
    while (b->len % a)
        u8(b, 0);
}

static void save(const char *dir, const char *name, bytes *b)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (f == NULL || fwrite(b->p, 1, b->len, f) != b->len || fclose(f) != 0) {
        perror(path);
        exit(1);
    }
    free(b->p);
    *b = (bytes){0};
}

static void gguf_seeds(const char *dir)
{
    bytes b = {0};
    /* a model-like file: metadata of every kind, tensors F32, F16, Q8_0, Q4_K */
    put(&b, "GGUF", 4), u32(&b, 3), u64(&b, 4), u64(&b, 9);
    str(&b, "general.architecture"), u32(&b, 8), str(&b, "llama");
    str(&b, "llama.block_count"), u32(&b, 4), u32(&b, 1);
    str(&b, "llama.rope.freq_base"), u32(&b, 6), f32(&b, 10000.0f);
    str(&b, "tokenizer.ggml.add_bos_token"), u32(&b, 7), u8(&b, 1);
    str(&b, "k.i64"), u32(&b, 11), u64(&b, (uint64_t)-3);
    str(&b, "tokenizer.ggml.tokens"), u32(&b, 9), u32(&b, 8), u64(&b, 3);
    str(&b, "<unk>"), str(&b, "<s>"),
        str(&b, "\xe2\x96\x81"
                "a");
    str(&b, "tokenizer.ggml.scores"), u32(&b, 9), u32(&b, 6), u64(&b, 3);
    f32(&b, 0), f32(&b, 0), f32(&b, -1.5f);
    str(&b, "k.nested"), u32(&b, 9), u32(&b, 9), u64(&b, 2);
    u32(&b, 0), u64(&b, 1), u8(&b, 7);
    u32(&b, 8), u64(&b, 1), str(&b, "x");
    str(&b, "general.alignment"), u32(&b, 4), u32(&b, 32);
    uint64_t ne1[1] = {8}, ne2[2] = {8, 2}, neq[2] = {32, 1}, nek[2] = {256, 1};
    tinfo(&b, "output_norm.weight", 1, ne1, 0, 0);
    tinfo(&b, "token_embd.weight", 2, ne2, 1, 32);
    tinfo(&b, "blk.0.attn_q.weight", 2, neq, 8, 64);
    tinfo(&b, "blk.0.ffn_up.weight", 2, nek, 12, 128);
    pad(&b, 32);
    for (int i = 0; i < 8; i++)
        f32(&b, (float)i);
    for (int i = 0; i < 16; i++)
        u8(&b, 0), u8(&b, 0x3c); /* F16 1.0 */
    u8(&b, 0), u8(&b, 0x3c);     /* Q8_0: d = 1.0 */
    for (int i = 0; i < 32; i++)
        u8(&b, (uint8_t)i);
    pad(&b, 32);
    for (int i = 0; i < 144; i++)
        u8(&b, (uint8_t)(i * 7));
    save(dir, "model.gguf", &b);

    /* vocabulary only, version 2, no tensors and no trailing padding */
    put(&b, "GGUF", 4), u32(&b, 2), u64(&b, 0), u64(&b, 2);
    str(&b, "tokenizer.ggml.model"), u32(&b, 8), str(&b, "gpt2");
    str(&b, "tokenizer.ggml.merges"), u32(&b, 9), u32(&b, 8), u64(&b, 2);
    str(&b, "a b"), str(&b, "ab c");
    save(dir, "vocab.gguf", &b);

    /* a 64-byte alignment, 3-D and 4-D shapes, an unsupported known type */
    put(&b, "GGUF", 4), u32(&b, 3), u64(&b, 2), u64(&b, 1);
    str(&b, "general.alignment"), u32(&b, 4), u32(&b, 64);
    uint64_t ne3[3] = {2, 2, 2}, ne4[4] = {256, 1, 1, 1};
    tinfo(&b, "a", 3, ne3, 0, 0);
    tinfo(&b, "b", 4, ne4, 13, 64);
    pad(&b, 64);
    for (int i = 0; i < 64 + 176; i++)
        u8(&b, 0);
    save(dir, "shapes.gguf", &b);
}

/* Bytes per block and block size of the tensor types the model seeds use. */
static void type_size(uint32_t type, uint64_t *bs, uint64_t *ts)
{
    switch (type) {
    case 0: *bs = 1, *ts = 4; return;       /* F32 */
    case 3: *bs = 32, *ts = 20; return;     /* Q4_1 */
    case 6: *bs = 32, *ts = 22; return;     /* Q5_0 */
    case 7: *bs = 32, *ts = 24; return;     /* Q5_1 */
    case 8: *bs = 32, *ts = 34; return;     /* Q8_0 */
    case 10: *bs = 256, *ts = 84; return;   /* Q2_K */
    case 11: *bs = 256, *ts = 110; return;  /* Q3_K */
    case 12: *bs = 256, *ts = 144; return;  /* Q4_K */
    case 13: *bs = 256, *ts = 176; return;  /* Q5_K */
    case 20: *bs = 32, *ts = 18; return;    /* IQ4_NL */
    case 23: *bs = 256, *ts = 136; return;  /* IQ4_XS */
    default: *bs = 1, *ts = 2; return;      /* F16 */
    }
}

/* A complete tiny model of architecture arch (1 layer, dim x ffn, 2 heads,
 * 1 KV head, 8 tokens) whose matrices have type mt, with pseudo-random
 * bytes as weights (fp16 fields come out finite most of the time). */
static void model_seed(const char *dir, const char *name, const char *arch, uint64_t dim,
                       uint64_t ffn, uint32_t mt)
{
    bool phi3 = strcmp(arch, "phi3") == 0, gemma = strncmp(arch, "gemma", 5) == 0;
    bool qk = strcmp(arch, "qwen3") == 0 || strcmp(arch, "gemma3") == 0;
    uint64_t hd = dim / 2, kvd = hd, vocab = 8;
    struct { char name[64]; uint32_t nd; uint64_t ne[2]; uint32_t type; } t[24];
    int nt = 0;
#define T(nm, c, r, ty)                                                                            \
    do {                                                                                           \
        snprintf(t[nt].name, sizeof(t[nt].name), "%s", nm);                                        \
        t[nt].nd = (r) == 1 ? 1 : 2, t[nt].ne[0] = (c), t[nt].ne[1] = (r), t[nt].type = (ty);      \
        nt++;                                                                                      \
    } while (0)
    T("token_embd.weight", dim, vocab, mt);
    T("output_norm.weight", dim, 1, 0);
    T("blk.0.attn_norm.weight", dim, 1, 0);
    if (phi3) {
        T("blk.0.attn_qkv.weight", dim, dim + 2 * kvd, mt);
        T("blk.0.ffn_up.weight", dim, 2 * ffn, mt);
    } else {
        T("blk.0.attn_q.weight", dim, dim, mt);
        T("blk.0.attn_k.weight", dim, kvd, mt);
        T("blk.0.attn_v.weight", dim, kvd, mt);
        T("blk.0.ffn_gate.weight", dim, ffn, mt);
        T("blk.0.ffn_up.weight", dim, ffn, mt);
    }
    if (qk) {
        T("blk.0.attn_q_norm.weight", hd, 1, 0);
        T("blk.0.attn_k_norm.weight", hd, 1, 0);
    }
    if (gemma) {
        T("blk.0.post_attention_norm.weight", dim, 1, 0);
        T("blk.0.post_ffw_norm.weight", dim, 1, 0);
    }
    T("blk.0.attn_output.weight", dim, dim, mt);
    T("blk.0.ffn_norm.weight", dim, 1, 0);
    T("blk.0.ffn_down.weight", ffn, dim, mt);
#undef T
    char key[96];
    bytes b = {0};
    int n_kv = 8 + (gemma ? 2 : 0);
    put(&b, "GGUF", 4), u32(&b, 3), u64(&b, (uint64_t)nt), u64(&b, (uint64_t)n_kv);
    str(&b, "general.architecture"), u32(&b, 8), str(&b, arch);
    const char *u32keys[] = {"embedding_length", "feed_forward_length", "block_count",
                             "attention.head_count", "attention.head_count_kv", "context_length"};
    uint32_t u32vals[] = {(uint32_t)dim, (uint32_t)ffn, 1, 2, 1, 16};
    for (int i = 0; i < 6; i++) {
        snprintf(key, sizeof(key), "%s.%s", arch, u32keys[i]);
        str(&b, key), u32(&b, 4), u32(&b, u32vals[i]);
    }
    snprintf(key, sizeof(key), "%s.rope.freq_base", arch);
    str(&b, key), u32(&b, 6), f32(&b, 10000.0f);
    if (gemma) {
        snprintf(key, sizeof(key), "%s.attention.sliding_window", arch);
        str(&b, key), u32(&b, 4), u32(&b, 2);
        snprintf(key, sizeof(key), "%s.attention.sliding_window_pattern", arch);
        str(&b, key), u32(&b, 4), u32(&b, 2);
    }
    uint64_t off = 0, sizes[24];
    for (int i = 0; i < nt; i++) {
        uint64_t bs, ts;
        type_size(t[i].type, &bs, &ts);
        sizes[i] = t[i].ne[0] / bs * ts * (t[i].nd == 2 ? t[i].ne[1] : 1);
        tinfo(&b, t[i].name, t[i].nd, t[i].ne, t[i].type, off);
        off += (sizes[i] + 31) / 32 * 32;
    }
    pad(&b, 32);
    uint32_t x = 2463534242u;
    for (int i = 0; i < nt; i++) {
        for (uint64_t k = 0; k < sizes[i]; k++) {
            x ^= x << 13, x ^= x >> 17, x ^= x << 5;
            /* F32 norms near 1; quantized bytes random but with high bits of
             * every other byte cleared so fp16 scales stay small and finite */
            if (t[i].type == 0)
                u8(&b, k % 4 == 3 ? 0x3f : (k % 4 == 2 ? 0x80 : (uint8_t)x));
            else
                u8(&b, k % 2 ? (uint8_t)(x & 0x1f) : (uint8_t)x);
        }
        pad(&b, 32);
    }
    save(dir, name, &b);
}

/* A llama2.c checkpoint with small shapes, shared or separate classifier. */
static void llama2c_seed(const char *dir, const char *name, int32_t vocab, int shared)
{
    int32_t dim = 8, hidden = 16, layers = 2, heads = 2, kv = 1, seq = 4;
    int32_t hs = dim / heads, kvd = kv * hs;
    bytes b = {0};
    int32_t h[7] = {dim, hidden, layers, heads, kv, shared ? vocab : -vocab, seq};
    for (int i = 0; i < 7; i++)
        u32(&b, (uint32_t)h[i]);
    size_t n =
        (size_t)vocab * dim +
        (size_t)layers * (dim + dim * dim + 2 * dim * kvd + dim * dim + dim + 3 * hidden * dim) +
        dim + (size_t)seq * hs;
    if (!shared) n += (size_t)vocab * dim;
    for (size_t i = 0; i < n; i++)
        f32(&b, (float)(i % 13) / 13.0f);
    save(dir, name, &b);
}

/* ---- tokenizers --------------------------------------------------------- */

/* The pieces of a tiny stories-like vocabulary: <unk>, BOS, EOS, the 256
 * byte tokens, then a few merges (U+2581 written as a space, as llama2.c's
 * export does when `space` is set). */
static const char *const k_merges[] = {
    " ",    "e",  "t",  "h",   "a",  "o",   "n",     "th",       "he",           "the", " t",
    " the", " a", "an", " an", "in", "ing", " Lily", "\xc3\xa9", "\xe2\x80\x9c", "."};
#define N_MERGES (sizeof(k_merges) / sizeof(k_merges[0]))
#define TINY_VOCAB (3 + 256 + (int)N_MERGES)

static const char *tiny_piece(int id, char tmp[8], int space)
{
    static const char *const sp[3] = {"<unk>", "\n<s>\n", "\n</s>\n"};
    static const char *const sp_raw[3] = {"<unk>", "<s>", "</s>"};
    if (id < 3) return space ? sp[id] : sp_raw[id];
    if (id < 259) {
        snprintf(tmp, 8, "<0x%02X>", id - 3);
        return tmp;
    }
    return k_merges[id - 259];
}

/* tokenizer.bin image; prefix: the fuzz target's 2-byte vocabulary size */
static void tokbin_seed(const char *dir, const char *name, int n, int prefix)
{
    bytes b = {0};
    if (prefix) u8(&b, (uint8_t)(n - 1)), u8(&b, (uint8_t)((n - 1) >> 8));
    u32(&b, 7);
    for (int id = 0; id < n; id++) {
        char tmp[8];
        const char *t = tiny_piece(id, tmp, 1);
        f32(&b, id < 259 ? 0.0f : -(float)(id - 259));
        u32(&b, (uint32_t)strlen(t));
        put(&b, t, strlen(t));
    }
    save(dir, name, &b);
}

static void pb_var(bytes *b, uint64_t v)
{
    do {
        uint8_t c = (uint8_t)(v & 0x7f);
        v >>= 7;
        u8(b, (uint8_t)(c | (v ? 0x80 : 0)));
    } while (v);
}

static void pb_bytes(bytes *b, uint32_t field, const void *s, size_t n)
{
    pb_var(b, (uint64_t)field << 3 | 2);
    pb_var(b, n);
    put(b, s, n);
}

/* ModelProto with the tiny vocabulary (spaces as U+2581), a TrainerSpec and
 * a NormalizerSpec like the real files have. */
static void spm_seed(const char *dir, const char *name, int with_specs, int prefix)
{
    bytes b = {0};
    if (prefix) u8(&b, (uint8_t)(TINY_VOCAB - 1)), u8(&b, (uint8_t)((TINY_VOCAB - 1) >> 8));
    for (int id = 0; id < TINY_VOCAB; id++) {
        char tmp[8], text[32];
        const char *t = tiny_piece(id, tmp, 0);
        size_t k = 0;
        for (const char *c = t; *c && k + 3 < sizeof(text); c++) {
            if (*c == ' ') {
                memcpy(text + k, "\xe2\x96\x81", 3);
                k += 3;
            } else {
                text[k++] = *c;
            }
        }
        bytes pc = {0};
        pb_bytes(&pc, 1, text, k);
        u8(&pc, 2 << 3 | 5);
        f32(&pc, id < 259 ? 0.0f : -(float)(id - 259));
        int type = id == 0 ? 2 : id < 3 ? 3 : id < 259 ? 6 : 1;
        if (type != 1) u8(&pc, 3 << 3 | 0), u8(&pc, (uint8_t)type);
        pb_bytes(&b, 1, pc.p, pc.len);
        free(pc.p);
    }
    if (with_specs) {
        bytes ts = {0};
        pb_bytes(&ts, 1, "data/tiny.txt", 13);
        u8(&ts, 3 << 3 | 0), u8(&ts, 2); /* model_type BPE */
        u8(&ts, 4 << 3 | 0), pb_var(&ts, (uint64_t)TINY_VOCAB);
        pb_var(&ts, 41 << 3 | 0), u8(&ts, 1);              /* bos_id */
        pb_var(&ts, 40 << 3 | 0), pb_var(&ts, UINT64_MAX); /* a 10-byte varint */
        pb_var(&ts, 46 << 3 | 2), pb_var(&ts, 3), put(&ts, "<s>", 3);
        pb_var(&ts, 47 << 3 | 2), pb_var(&ts, 4), put(&ts, "</s>", 4);
        u8(&ts, 10 << 3 | 5), f32(&ts, 0.9995f);
        u8(&ts, 11 << 3 | 1), u64(&ts, 12345);
        pb_bytes(&b, 2, ts.p, ts.len);
        free(ts.p);
        bytes ns = {0};
        pb_bytes(&ns, 1, "identity", 8);
        u8(&ns, 3 << 3 | 0), u8(&ns, 1); /* add_dummy_prefix */
        pb_bytes(&b, 3, ns.p, ns.len);
        free(ns.p);
    }
    save(dir, name, &b);
}

static void text_seed(const char *dir, const char *name, uint8_t sel, const char *s, size_t n)
{
    bytes b = {0};
    u8(&b, sel);
    put(&b, s, n);
    save(dir, name, &b);
}

static void tokenize_seeds(const char *dir)
{
    static const char *const texts[] = {
        "Once upon a time, there was a little girl named Lily. She loved the sun.",
        "  two  spaces\tand\ttabs\n\nnew lines\r\n",
        /* one string split over two lines (parenthesised for clang's -Wstring-concatenation) */
        ("caf\xc3\xa9 na\xc3\xafve \xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82 "
         "\xe4\xbd\xa0\xe5\xa5\xbd \xf0\x9f\x91\xa9\xe2\x80\x8d\xf0\x9f\x92\xbb"),
        "<s>[INST] hi [/INST]</s><|im_start|>user\nhi<|im_end|><|endoftext|><unk>",
        "I'm sure we'll see 12345 or 3.14159, don't you think? 'S 'LL",
        "\xff\xfe\x80\xc3\x28\xe2\x82\xf0\x9f\x98 invalid \xed\xa0\x80 utf8",
        "<0x41><0x0A>\xe2\x96\x81\xe2\x96\x81 x",
        "int main(void) { return a->b[3] << 2; } // \xe2\x80\x9cquoted\xe2\x80\x9d",
    };
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        char name[32];
        snprintf(name, sizeof(name), "text%zu", i);
        text_seed(dir, name, (uint8_t)(i * 37), texts[i], strlen(texts[i]));
    }
    uint8_t all[256];
    for (int i = 0; i < 256; i++)
        all[i] = (uint8_t)i;
    text_seed(dir, "bytes", 3, (const char *)all, sizeof(all));
}

/* ---- GGUF vocabularies ---------------------------------------------------- */

static void kv_str(bytes *b, const char *key, const char *v)
{
    str(b, key), u32(b, 8), str(b, v);
}
static void kv_u32(bytes *b, const char *key, uint32_t v)
{
    str(b, key), u32(b, 4), u32(b, v);
}
static void kv_bool(bytes *b, const char *key, int v)
{
    str(b, key), u32(b, 7), u8(b, (uint8_t)v);
}
static void kv_strs(bytes *b, const char *key, const char *const *v, size_t n)
{
    str(b, key), u32(b, 9), u32(b, 8), u64(b, n);
    for (size_t i = 0; i < n; i++)
        str(b, v[i]);
}

/* SentencePiece: <unk>, <s>, </s>, a user token, 256 byte tokens, merges */
static void vocab_spm_seed(const char *dir)
{
    static const char *const merges[] = {"\xe2\x96\x81",
                                         "a",
                                         "b",
                                         "\xe2\x96\x81"
                                         "a",
                                         "ab",
                                         "\xe2\x96\x81"
                                         "ab",
                                         "<|user|>"};
    size_t nm = sizeof(merges) / sizeof(merges[0]), n = 3 + 256 + nm;
    bytes b = {0};
    put(&b, "GGUF", 4), u32(&b, 3), u64(&b, 0), u64(&b, 9);
    kv_str(&b, "general.name", "phi-3 tiny");
    kv_str(&b, "tokenizer.ggml.model", "llama");
    str(&b, "tokenizer.ggml.tokens"), u32(&b, 9), u32(&b, 8), u64(&b, n);
    str(&b, "<unk>"), str(&b, "<s>"), str(&b, "</s>");
    for (int i = 0; i < 256; i++) {
        char t[8];
        snprintf(t, sizeof(t), "<0x%02X>", i);
        str(&b, t);
    }
    for (size_t i = 0; i < nm; i++)
        str(&b, merges[i]);
    str(&b, "tokenizer.ggml.scores"), u32(&b, 9), u32(&b, 6), u64(&b, n);
    for (size_t i = 0; i < n; i++)
        f32(&b, i < 259 ? 0.0f : -(float)(i - 259));
    str(&b, "tokenizer.ggml.token_type"), u32(&b, 9), u32(&b, 5), u64(&b, n);
    for (size_t i = 0; i < n; i++)
        u32(&b, i == 0 ? 2 : i < 3 ? 3 : i < 259 ? 6 : i + 1 == n ? 4 : 1);
    kv_u32(&b, "tokenizer.ggml.bos_token_id", 1);
    kv_u32(&b, "tokenizer.ggml.eos_token_id", 2);
    kv_bool(&b, "tokenizer.ggml.add_bos_token", 1);
    kv_bool(&b, "tokenizer.ggml.add_space_prefix", 1);
    save(dir, "spm.gguf", &b);
}

/* byte-level BPE: the 256 mapped bytes (as their GPT-2 characters), merges,
 * control tokens, a named pre-tokenizer */
static void vocab_bpe_seed(const char *dir, const char *name, const char *pre)
{
    static const char *const extra[] = {"he",           "ll",        "hell",        "hello",
                                        "\xc4\xa0w",    "or",        "\xc4\xa0wor", "<|endoftext|>",
                                        "<|im_start|>", "<|im_end|>"};
    static const char *const merges[] = {"h e",        "l l", "he ll",       "hell o",
                                         "\xc4\xa0 w", "o r", "\xc4\xa0w or"};
    size_t ne = sizeof(extra) / sizeof(extra[0]), n = 256 + ne;
    bytes b = {0};
    put(&b, "GGUF", 4), u32(&b, 3), u64(&b, 0), u64(&b, 7);
    kv_str(&b, "tokenizer.ggml.model", "gpt2");
    kv_str(&b, "tokenizer.ggml.pre", pre);
    str(&b, "tokenizer.ggml.tokens"), u32(&b, 9), u32(&b, 8), u64(&b, n);
    int next = 0;
    for (int i = 0; i < 256; i++) {
        /* GPT-2's byte table: printable Latin-1 stays, the rest from U+0100 */
        int cp = (i >= 33 && i <= 126) || (i >= 161 && i <= 172) || (i >= 174) ? i : 256 + next++;
        char t[4];
        if (cp < 0x80) {
            t[0] = (char)cp, t[1] = 0;
        } else {
            t[0] = (char)(0xC0 | (cp >> 6)), t[1] = (char)(0x80 | (cp & 0x3F)), t[2] = 0;
        }
        str(&b, t);
    }
    for (size_t i = 0; i < ne; i++)
        str(&b, extra[i]);
    kv_strs(&b, "tokenizer.ggml.merges", merges, sizeof(merges) / sizeof(merges[0]));
    str(&b, "tokenizer.ggml.token_type"), u32(&b, 9), u32(&b, 5), u64(&b, n);
    for (size_t i = 0; i < n; i++)
        u32(&b, i >= 256 + 7 ? 3 : 1);
    kv_u32(&b, "tokenizer.ggml.eos_token_id", (uint32_t)(256 + 7));
    kv_u32(&b, "tokenizer.ggml.bos_token_id", (uint32_t)(256 + 7));
    save(dir, name, &b);
}

/* ---- JSON inputs from the source tree ----------------------------------- */

#ifndef FUZZ_SOURCE_DIR
#define FUZZ_SOURCE_DIR "."
#endif

static const char *src_dir(void)
{
    const char *s = getenv("SWARM_SOURCE_DIR");
    return s && *s ? s : FUZZ_SOURCE_DIR;
}

static void save_text(const char *dir, const char *name, const char *text, size_t n)
{
    bytes b = {0};
    put(&b, text, n);
    save(dir, name, &b);
}

/* Reads a whole file (NULL when missing: the seeds are a help, not a must). */
static char *slurp(const char *path, size_t *out_n)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) return NULL;
    bytes b = {0};
    char buf[4096];
    size_t got;
    while ((got = fread(buf, 1, sizeof(buf), f)) > 0)
        put(&b, buf, got);
    fclose(f);
    u8(&b, 0);
    *out_n = b.len - 1;
    return (char *)b.p;
}

/* Every *.json file of SRC/sub, saved as PREFIX-NAME. */
static int json_dir_seeds(const char *dir, const char *sub, const char *prefix)
{
    char path[4096], name[512];
    snprintf(path, sizeof(path), "%s/%s", src_dir(), sub);
    DIR *dp = opendir(path);
    if (dp == NULL) return 0;
    int count = 0;
    struct dirent *e;
    while ((e = readdir(dp)) != NULL) {
        size_t l = strlen(e->d_name);
        if (l < 6 || strcmp(e->d_name + l - 5, ".json") != 0) continue;
        if (strncmp(e->d_name, prefix, strlen(prefix)) != 0 && prefix[0] != '\0') continue;
        char file[8192];
        snprintf(file, sizeof(file), "%s/%s", path, e->d_name);
        size_t n;
        char *t = slurp(file, &n);
        if (t == NULL) continue;
        snprintf(name, sizeof(name), "ex-%s", e->d_name);
        save_text(dir, name, t, n);
        free(t);
        count++;
    }
    closedir(dp);
    return count;
}

/* The JSON objects in a doc's fenced blocks: from a line starting with '{'
 * to the block's end or to a shell line ("$ ..."). */
static int doc_seeds(const char *dir, const char *doc)
{
    char file[4096];
    snprintf(file, sizeof(file), "%s/docs/%s", src_dir(), doc);
    size_t n;
    char *t = slurp(file, &n);
    if (t == NULL) return 0;
    int count = 0, in_block = 0;
    const char *start = NULL;
    for (char *line = t; line < t + n;) {
        char *nl = strchr(line, '\n');
        char *next = nl ? nl + 1 : t + n;
        int fence = strncmp(line, "```", 3) == 0;
        if ((fence || (start && line[0] == '$')) && start) {
            char name[256];
            snprintf(name, sizeof(name), "doc-%s-%d.json", doc, count++);
            save_text(dir, name, start, (size_t)(line - start));
            start = NULL;
        }
        if (fence) {
            in_block = !in_block;
        } else if (in_block && !start && line[0] == '{') {
            start = line;
        }
        line = next;
    }
    free(t);
    return count;
}

static void json_seed_str(const char *dir, const char *name, const char *text)
{
    save_text(dir, name, text, strlen(text));
}

static void task_seeds(const char *dir)
{
    json_dir_seeds(dir, "examples/tasks", "");
    doc_seeds(dir, "task-file.md");
    /* the shapes the examples may not show */
    json_seed_str(dir, "mr-overlap.json",
                  "{\"input\": \"One. Two two. Three three three.\\n\\nFour.\", \"decomposition\":"
                  " {\"strategy\": \"map-reduce\", \"chunk\": {\"by\": \"sentences\", \"size\": 2,"
                  " \"overlap\": 1}, \"map_prompt\": \"{{chunk}} of {{input}}\", \"reduce_prompt\":"
                  " \"{{ results }}\"}}");
    json_seed_str(dir, "pipe-classify.json",
                  "{\"input\": \"x\", \"decomposition\": {\"strategy\": \"pipeline\", \"steps\": ["
                  "{\"name\": \"a\", \"prompt\": \"{{input}}\"}, {\"name\": \"b\", \"prompt\": "
                  "\"{{steps.a}} {{results}}\", \"depends_on\": [\"a\"], \"kind\": \"classify\","
                  " \"labels\": [\"yes\", \"no\"]}]}, \"aggregation\": {\"method\": \"vote\"}}");
    json_seed_str(dir, "cascade.json",
                  "{\"input\": \"q\", \"kind\": \"score\", \"decomposition\": {\"strategy\": "
                  "\"cascade\", \"levels\": 3, \"threshold\": 0.5}, \"aggregation\": {\"method\": "
                  "\"hybrid\", \"top_k\": 2, \"decide\": {\"threshold\": 0.2}}, \"redundancy\": 2,"
                  " \"objective\": {\"energy\": 0, \"time\": 1}, \"limits\": {\"max_tokens\": 8,"
                  " \"deadline_ms\": 100, \"max_retries\": 0}, \"p_min\": 0.5}");
}

static void aggregate_seeds(const char *dir)
{
    json_dir_seeds(dir, "examples/aggregate", "");
    doc_seeds(dir, "aggregation.md");
    json_seed_str(dir, "hier.json",
                  "{\"method\": \"hierarchical\", \"inner\": \"weighted-vote\", \"outer\": "
                  "\"max-weight\", \"results\": [{\"node\": \"a\", \"value\": \"x\", \"p\": 0.9, "
                  "\"r\": 0.5, \"group\": 0, \"hlc\": 7}, {\"node\": \"b\", \"value\": \"y\", "
                  "\"weight\": 2, \"group\": 1, \"score\": -1.5}]}");
    json_seed_str(dir, "power.json",
                  "{\"method\": \"weighted-average\", \"weighting\": {\"p\": 2, \"r\": 0.5}, "
                  "\"decide\": \"sign\", \"results\": [{\"node\": \"a\", \"value\": -1, \"p\": 1, "
                  "\"r\": 1}, {\"node\": \"b\", \"value\": 1e-300, \"p\": 0, \"r\": 1}]}");
}

static void swarmfile_seeds(const char *dir)
{
    json_dir_seeds(dir, "examples", "swarm-");
    doc_seeds(dir, "swarm-file.md");
    json_seed_str(dir, "mixed.json",
                  "{\"name\": \"m\", \"nodes\": [{\"name\": \"l\", \"backend\": {\"type\": "
                  "\"local\", \"model\": \"${HOME}/m-${NOPE:-x}.gguf\", \"tokenizer\": \"t.bin\", "
                  "\"threads\": 2, \"n_ctx\": 64, \"sampling\": {\"temperature\": 0.7, \"top_k\": "
                  "40, \"top_p\": 0.9, \"min_p\": 0.05, \"seed\": 1}}, \"zone\": \"z\", "
                  "\"coordinates\": [1, 2.5], \"skills\": {\"*\": 0.5, \"code\": 1}}, {\"name\": "
                  "\"o\", \"backend\": {\"type\": \"openai\", \"base_url\": \"http://h\", "
                  "\"model\": \"m\", \"api_key_env\": \"K\"}, \"capacity\": 3}, {\"name\": \"e\", "
                  "\"backend\": {\"type\": \"echo\", \"latency_ms\": 1}, \"power_watts\": 5}]}");
}

static void assign_seeds(const char *dir)
{
    doc_seeds(dir, "assign.md");
    json_seed_str(dir, "full.json",
                  "{\"E\": [1, 2, 3], \"T\": [3, 2, 1], \"B\": [2, 2, 2], \"C\": [[1, 0.5], [0.2, "
                  "1], [1, 1]], \"c\": [[1, 1], [1, 2], [1, 1]], \"E_ik\": [[1, 2], [3, 4], [5, "
                  "6]], \"T_ik\": [[1, 1], [1, 1], [2, 2]], \"p_min\": 1, \"c_min\": 0.1, "
                  "\"redundancy\": 2, \"weights\": {\"energy\": 1, \"time\": 0.5}, \"zones\": [0, "
                  "1, 1], \"available\": [true, true, false], \"eps_time\": 10, \"makespan\": "
                  "true}");
    json_seed_str(dir, "nozones.json",
                  "{\"E\": [1, 1], \"T\": [1, 1], \"B\": [1, 1], \"C\": [[1, 1, 1], [1, 1, 1]], "
                  "\"zones\": [4, 4], \"distinct_zones\": false}");
}

/* Grammars and schemas: the docs' examples, and the constructs each uses. */
static void grammar_seeds(const char *dir)
{
    doc_seeds(dir, "grammar.md"); /* its JSON blocks: schemas */
    json_seed_str(dir, "g-json.gbnf",
                  "root ::= value\nvalue ::= obj | arr | str | num | \"true\" | \"null\"\n"
                  "obj ::= \"{\" ws ( str ws \":\" ws value ( \",\" ws str ws \":\" ws value )* )? \"}\"\n"
                  "arr ::= \"[\" ws ( value ( \",\" ws value )* )? \"]\"\n"
                  "str ::= \"\\\"\" [^\"\\\\]* \"\\\"\"\nnum ::= \"-\"? [0-9]+ (\".\" [0-9]+)?\n"
                  "ws ::= [ \\t\\n]{0,4}\n");
    json_seed_str(dir, "g-story.gbnf",
                  "# comment\nroot ::= \"Once \" (\"a\" | \"b\")? name{1,3} \".\"\n"
                  "name ::= [A-Z] [a-z\\u00e0-\\u00ff]{2,8} | . \"\\x41\\U0001F600\"\n");
    json_seed_str(dir, "g-rep.gbnf", "root ::= (\"ab\" | [^a-c])* \"x\"{2,} [0-9]{,3}\n");
    json_seed_str(dir, "s-person.json",
                  "{\"$defs\": {\"p\": {\"type\": \"object\", \"properties\": {\"x\": {\"type\": "
                  "\"number\"}}, \"required\": [\"x\"]}}, \"type\": \"object\", \"properties\": "
                  "{\"name\": {\"type\": \"string\", \"maxLength\": 4}, \"n\": {\"type\": "
                  "[\"integer\", \"null\"]}, \"e\": {\"enum\": [\"a\", 1, null]}, \"c\": {\"const\": "
                  "{\"k\": [true]}}, \"l\": {\"type\": \"array\", \"items\": {\"$ref\": "
                  "\"#/$defs/p\"}, \"minItems\": 1, \"maxItems\": 2}, \"any\": {\"anyOf\": "
                  "[{\"type\": \"boolean\"}, {}]}}, \"required\": [\"name\"], "
                  "\"additionalProperties\": false}");
}

/* ---- wire frames (src/runtime/wire.h), encoded here by hand: the seed
 * tool links no library, and an independent encoding checks the format ---- */
typedef struct wbytes {
    unsigned char p[512];
    size_t n;
} wbytes;

static void w_u8(wbytes *w, unsigned v) { w->p[w->n++] = (unsigned char)v; }
static void w_u32(wbytes *w, uint32_t v)
{
    for (int i = 0; i < 4; i++) w_u8(w, (v >> (8 * i)) & 0xff);
}
static void w_u64(wbytes *w, uint64_t v)
{
    for (int i = 0; i < 8; i++) w_u8(w, (unsigned)((v >> (8 * i)) & 0xff));
}
static void w_str(wbytes *w, const char *s)
{
    w_u32(w, (uint32_t)strlen(s));
    for (const char *c = s; *c; c++) w_u8(w, (unsigned char)*c);
}
/* Starts a frame of type t: version 1, the length patched by w_end. */
static size_t w_begin(wbytes *w, unsigned t)
{
    w_u8(w, 1);
    w_u8(w, 0);
    w_u8(w, t);
    w_u8(w, 0);
    size_t at = w->n;
    w_u32(w, 0);
    return at;
}
static void w_end(wbytes *w, size_t at)
{
    uint32_t len = (uint32_t)(w->n - at - 4);
    for (int i = 0; i < 4; i++) w->p[at + i] = (unsigned char)(len >> (8 * i));
}

static void w_save(const char *dir, const char *name, const wbytes *w)
{
    bytes b = {0};
    put(&b, w->p, w->n);
    save(dir, name, &b);
}

static void wire_seeds(const char *dir)
{
    wbytes all = {{0}, 0}, w;
    /* t0 */
    w.n = 0;
    size_t at = w_begin(&w, 4);
    w_u64(&w, 123456789);
    w_end(&w, at);
    w_save(dir, "t0.bin", &w);
    memcpy(all.p + all.n, w.p, w.n);
    all.n += w.n;
    /* cancel */
    w.n = 0;
    at = w_begin(&w, 2);
    w_u32(&w, 1);
    w_u32(&w, 0xfffffffe);
    w_u32(&w, 3);
    w_end(&w, at);
    w_save(dir, "cancel.bin", &w);
    memcpy(all.p + all.n, w.p, w.n);
    all.n += w.n;
    /* dispatch: a classify with two labels */
    w.n = 0;
    at = w_begin(&w, 1);
    w_u32(&w, 0);
    w_u32(&w, 4);
    w_u32(&w, 2);
    w_u32(&w, 1);
    w_u8(&w, 0);
    w_u32(&w, 1);
    w_u32(&w, 16);
    w_u64(&w, 99);
    w_str(&w, "Review: great. Sentiment:");
    w_u32(&w, 2);
    w_str(&w, " positive");
    w_str(&w, " negative");
    w_end(&w, at);
    w_save(dir, "dispatch.bin", &w);
    memcpy(all.p + all.n, w.p, w.n);
    all.n += w.n;
    /* event: a result with text */
    w.n = 0;
    at = w_begin(&w, 3);
    w_u32(&w, 0);
    w_u32(&w, 0);
    w_u32(&w, 4);
    w_u32(&w, 2);
    w_u32(&w, 1);
    w_u8(&w, 0);
    w_u8(&w, 0);
    w_u32(&w, 0);
    w_u64(&w, 0x3ff0000000000000ull); /* 1.0 */
    w_u64(&w, 0x3fe0000000000000ull); /* 0.5 */
    w_u64(&w, 7);
    w_u64(&w, 0x4024000000000000ull); /* 10.0 */
    w_u64(&w, 1);
    w_u32(&w, 0x12345678);
    w_u8(&w, 1);
    w_str(&w, " positive");
    w_end(&w, at);
    w_save(dir, "event.bin", &w);
    memcpy(all.p + all.n, w.p, w.n);
    all.n += w.n;
    w_save(dir, "stream.bin", &all);
}

/* Request bodies of swarm serve: the first byte picks the endpoint (even:
 * chat/completions, odd: completions), the rest is the body. */
static void api_seeds(const char *dir)
{
    static const char *const bodies[] = {
        "\x00{\"model\": \"swarm/ensemble-3\", \"messages\": [{\"role\": \"system\", "
        "\"content\": \"Be brief.\"}, {\"role\": \"user\", \"content\": [{\"type\": \"text\", "
        "\"text\": \"Hi\"}], \"name\": \"a\"}, {\"role\": \"assistant\", \"content\": null}], "
        "\"max_completion_tokens\": 5, \"stream\": true, \"stream_options\": "
        "{\"include_usage\": true}, \"stop\": [\"x\", \"yz\"]}",
        "\x01{\"model\": \"node/a\", \"prompt\": \"Once\", \"max_tokens\": 12, \"temperature\": "
        "0.5, \"top_p\": 1, \"seed\": -3, \"stop\": \"s\", \"n\": 1, \"user\": \"u\", "
        "\"frequency_penalty\": 0, \"presence_penalty\": 0, \"logprobs\": null, \"echo\": false, "
        "\"response_format\": {\"type\": \"text\"}}",
        "\x01{\"model\": \"m\", \"prompt\": [\"p\"], \"max_tokens\": null}",
        "\x00{\"model\": \"m\", \"messages\": [{\"role\": \"developer\", \"content\": \"d\"}]}",
    };
    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        char name[32];
        snprintf(name, sizeof(name), "body%zu.bin", i);
        save_text(dir, name, bodies[i], 1 + strlen(bodies[i] + 1));
    }
}

int main(int argc, char **argv)
{
    static const char *const kinds[] = {"gguf",     "llama2c",    "tokbin", "spm",
                                        "tokenize", "gguf_vocab", "task",   "aggregate",
                                        "swarmfile", "assign",    "grammar", "wire",
                                        "model",    "api"};
    int k = -1;
    for (int i = 0; argc == 3 && i < (int)(sizeof(kinds) / sizeof(kinds[0])); i++)
        if (strcmp(argv[1], kinds[i]) == 0) k = i;
    if (k < 0) {
        fprintf(stderr, "usage: fuzz_seeds gguf|llama2c|tokbin|spm|tokenize|gguf_vocab|task|"
                        "aggregate|swarmfile|assign|grammar|wire|model|api DIR\n");
        return 2;
    }
    if (k == 13) {
        api_seeds(argv[2]);
    } else if (k == 10) {
        grammar_seeds(argv[2]);
    } else if (k == 12) {
        /* every architecture, and every weight type (blocks of 32 at dim 64,
         * K-quants and IQ4_XS at dim 256) */
        model_seed(argv[2], "llama-q8_0.gguf", "llama", 64, 128, 8);
        model_seed(argv[2], "qwen3-q4_1.gguf", "qwen3", 64, 128, 3);
        model_seed(argv[2], "gemma3-q5_0.gguf", "gemma3", 64, 128, 6);
        model_seed(argv[2], "gemma2-q5_1.gguf", "gemma2", 64, 128, 7);
        model_seed(argv[2], "phi3-iq4_nl.gguf", "phi3", 64, 128, 20);
        model_seed(argv[2], "llama-q2_k.gguf", "llama", 256, 256, 10);
        model_seed(argv[2], "qwen3-q3_k.gguf", "qwen3", 256, 256, 11);
        model_seed(argv[2], "gemma3-q5_k.gguf", "gemma3", 256, 256, 13);
        model_seed(argv[2], "phi3-iq4_xs.gguf", "phi3", 256, 256, 23);
        model_seed(argv[2], "gemma2-f32.gguf", "gemma2", 64, 128, 0);
    } else if (k == 6) {
        task_seeds(argv[2]);
    } else if (k == 7) {
        aggregate_seeds(argv[2]);
    } else if (k == 8) {
        swarmfile_seeds(argv[2]);
    } else if (k == 9) {
        assign_seeds(argv[2]);
    } else if (k == 11) {
        wire_seeds(argv[2]);
    } else if (k == 0) {
        gguf_seeds(argv[2]);
    } else if (k == 1) {
        llama2c_seed(argv[2], "shared.bin", 16, 1);
        llama2c_seed(argv[2], "separate.bin", 16, 0);
    } else if (k == 2) {
        tokbin_seed(argv[2], "tiny.bin", TINY_VOCAB, 1);
        tokbin_seed(argv[2], "short.bin", 5, 1);
        spm_seed(argv[2], "tiny.model", 1, 1); /* told apart by content */
    } else if (k == 3) {
        spm_seed(argv[2], "tiny.model", 1, 0);
        spm_seed(argv[2], "pieces.model", 0, 0);
    } else if (k == 4) {
        tokenize_seeds(argv[2]);
    } else {
        vocab_spm_seed(argv[2]);
        vocab_bpe_seed(argv[2], "llama3.gguf", "llama-bpe");
        vocab_bpe_seed(argv[2], "qwen2.gguf", "qwen2");
        vocab_bpe_seed(argv[2], "deepseek.gguf", "deepseek-llm");
        vocab_bpe_seed(argv[2], "gpt2.gguf", "gpt-2");
    }
    return 0;
}
