/*
 * fuzz_seeds.c: writes the small seed corpus for the fuzz smoke into a
 * directory: crafted GGUF images (every value type, nested arrays, tensors
 * of several types, a vocabulary-only v2 file) and tiny llama2.c
 * checkpoints. Crafted here so no shared file is ever copied.
 */
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

int main(int argc, char **argv)
{
    if (argc != 3 || (strcmp(argv[1], "gguf") != 0 && strcmp(argv[1], "llama2c") != 0)) {
        fprintf(stderr, "usage: fuzz_seeds gguf|llama2c DIR\n");
        return 2;
    }
    if (strcmp(argv[1], "gguf") == 0) {
        gguf_seeds(argv[2]);
    } else {
        llama2c_seed(argv[2], "shared.bin", 16, 1);
        llama2c_seed(argv[2], "separate.bin", 16, 0);
    }
    return 0;
}
