/*
 * fuzz_tokenize.c: libFuzzer target for the encoders and decoders. The
 * first input byte picks a tokenizer and options, the rest is the text.
 * Tokenizers: a tiny llama2.c vocabulary built in memory (always), and,
 * when SWARM_SHARED_DIR holds them, tok512.bin and the GGUF vocabularies of
 * models/vocab/ (SentencePiece and byte-level BPE with their
 * pre-tokenizers). Checks: ids in range, pieces never decode longer than
 * their text, round trips where the format promises them, and the
 * pre-tokenizers' words tiling the text exactly.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/tokenizer_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

typedef struct ftok {
    const char *name;
    sw_tokenizer *t;
    sw_gguf g;
    /* decode(encode(x)) == x without special parsing, for any x without a
     * lossy byte (and, for SPM, without a literal U+2581, which decodes as a
     * space) */
    bool round_trip;
    bool lossy[256]; /* BPE: a byte without a token, or whose token is user-defined */
} ftok;

/* Harness state, built once before the first input. */
static ftok g_tok[16];
static size_t g_ntok;

static void put_u32(uint8_t **p, uint32_t v)
{
    memcpy(*p, &v, 4);
    *p += 4;
}

/* run.c-style table: <unk>, BOS, EOS, 256 byte tokens, a few merges. */
static void add_tiny(void)
{
    static const char *const merges[] = {" ", "e",  "t",  "h",   "th",  "the",      " the",
                                         "a", " a", "an", "in",  "ing", "\xc3\xa9", " Lily",
                                         ".", "o",  "on", " on", "ce",  "Once"};
    size_t nm = sizeof(merges) / sizeof(merges[0]);
    int32_t n = 259 + (int32_t)nm;
    uint8_t *img = malloc(4 + (size_t)n * (8 + 8)), *p = img;
    put_u32(&p, 7);
    for (int32_t id = 0; id < n; id++) {
        char tmp[8];
        const char *s = id == 0 ? "<unk>" : id == 1 ? "\n<s>\n" : id == 2 ? "\n</s>\n" : tmp;
        if (id >= 3 && id < 259) snprintf(tmp, sizeof(tmp), "<0x%02X>", id - 3);
        if (id >= 259) s = merges[id - 259];
        float score = id < 259 ? 0.0f : -(float)(id - 259);
        memcpy(p, &score, 4);
        p += 4;
        put_u32(&p, (uint32_t)strlen(s));
        memcpy(p, s, strlen(s));
        p += strlen(s);
    }
    swarm_diag d = {{0}};
    ftok *f = &g_tok[g_ntok];
    if (sw_tokenizer_from_llama2c_buf(img, (size_t)(p - img), n, &f->t, &d) != SWARM_OK) {
        fprintf(stderr, "fuzz_tokenize: tiny vocabulary: %s\n", d.msg);
        abort();
    }
    f->name = "tiny";
    f->round_trip = true;
    g_ntok++;
    free(img);
}

static void add_file(const char *dir, const char *rel, bool round_trip)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, rel);
    ftok *f = &g_tok[g_ntok];
    swarm_diag d = {{0}};
    f->name = rel;
    f->round_trip = round_trip;
    size_t l = strlen(rel);
    if (l > 5 && strcmp(rel + l - 5, ".gguf") == 0) {
        if (sw_gguf_open(path, &f->g, &d) != SWARM_OK) return; /* absent: skipped */
        if (sw_tokenizer_from_gguf(&f->g, &f->t, &d) != SWARM_OK) {
            fprintf(stderr, "fuzz_tokenize: %s: %s\n", path, d.msg);
            abort();
        }
    } else if (sw_tokenizer_from_llama2c(path, 512, &f->t, &d) != SWARM_OK) {
        return;
    }
    g_ntok++;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    add_tiny();
    const char *dir = getenv("SWARM_SHARED_DIR");
    if (dir != NULL && dir[0] != '\0') {
        add_file(dir, "models/tok512.bin", true);
        add_file(dir, "models/tok512.model", true);
        add_file(dir, "models/vocab/ggml-vocab-llama-spm.gguf", true);
        /* phi-3's added tokens swallow the whitespace after them */
        add_file(dir, "models/vocab/ggml-vocab-phi-3.gguf", false);
        add_file(dir, "models/vocab/ggml-vocab-gpt-2.gguf", true);
        add_file(dir, "models/vocab/ggml-vocab-deepseek-llm.gguf", true);
        add_file(dir, "models/vocab/ggml-vocab-deepseek-coder.gguf", true);
        add_file(dir, "models/vocab/ggml-vocab-starcoder.gguf", true);
        add_file(dir, "models/vocab/ggml-vocab-falcon.gguf", true);
    }
    /* byte-level BPE drops a byte without a token, and a user-defined
     * token decodes as its raw text (llama.cpp does both): the deepseek
     * vocabularies make bytes C0, C1, F5..FF user-defined tokens */
    for (size_t i = 0; i < g_ntok; i++) {
        sw_tokenizer *t = g_tok[i].t;
        if (t->kind != SW_TOK_BPE) continue;
        for (int b = 0; b < 256; b++)
            g_tok[i].lossy[b] = t->byte_tok[b] < 0 || t->type[t->byte_tok[b]] != SW_TOKT_NORMAL;
    }
    fprintf(stderr, "fuzz_tokenize: %zu tokenizers%s\n", g_ntok,
            g_ntok == 1 ? " (set SWARM_SHARED_DIR for tok512 and models/vocab)" : "");
    return 0;
}

typedef struct tiling {
    size_t end;
} tiling;

static swarm_err tile_cb(void *ud, size_t start, size_t len)
{
    tiling *c = ud;
    SWARM_ASSERT(start == c->end && len > 0);
    c->end = start + len;
    return SWARM_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || g_ntok == 0) return 0;
    uint8_t sel = data[0];
    size_t len = size - 1;
    /* an exact-size copy: ASan catches any read past the text */
    char *text = malloc(len ? len : 1);
    if (text == NULL) return 0;
    memcpy(text, data + 1, len);

    /* the pre-tokenizers on their own: words cover the text, in order */
    enum sw_bpe_pre pre = (enum sw_bpe_pre)(sel % SW_PRE_COUNT);
    tiling c = {0};
    if (sw_bpe_pretokenize(pre, text, len, tile_cb, &c) == SWARM_OK) SWARM_ASSERT(c.end == len);

    const ftok *f = &g_tok[(sel >> 1) % g_ntok];
    const sw_tokenizer *t = f->t;
    bool special = (sel & 1) != 0;
    int32_t *ids = NULL;
    size_t n = 0;
    if (sw_tokenizer_encode(t, text, len, true, false, special, &ids, &n) == SWARM_OK) {
        size_t cap = 4 * len + 64, out_len = 0;
        char *out = malloc(cap);
        int32_t prev = -1;
        size_t first = 0;
        if (n > 0 && ids[0] == sw_tokenizer_bos(t)) { /* BOS is no text */
            prev = ids[0];
            first = 1;
        }
        for (size_t i = first; i < n && out != NULL; i++) {
            SWARM_ASSERT(ids[i] >= 0 && ids[i] < sw_tokenizer_n_vocab(t));
            char piece[256];
            size_t k = sw_tokenizer_decode(t, prev, ids[i], piece, sizeof(piece));
            SWARM_ASSERT(k <= sw_tokenizer_piece(t, ids[i]).len);
            if (k > sizeof(piece)) k = sizeof(piece);
            if (out_len + k <= cap) memcpy(out + out_len, piece, k);
            out_len += k;
            prev = ids[i];
        }
        bool promise = f->round_trip && !special;
        for (size_t i = 0; i < len && promise; i++) {
            promise = !f->lossy[(uint8_t)text[i]];
            if (t->kind != SW_TOK_SPM || t->llama2c) continue;
            if (i + 2 < len && memcmp(text + i, "\xe2\x96\x81", 3) == 0) promise = false;
            /* llama.cpp's SPM cuts symbols by the lead byte alone: a cut-short
             * sequence swallows the next bytes, and an escaped space among
             * them falls back to the bytes of U+2581 */
            size_t l = sw_utf8_lead_len((uint8_t)text[i]);
            for (size_t k = 1; k < l && i + k < len && promise; k++)
                promise = ((uint8_t)text[i + k] & 0xC0) == 0x80;
        }
        if (out != NULL && promise) {
            if (out_len != len || memcmp(out, text, len) != 0) {
                fprintf(stderr, "fuzz_tokenize: %s: round trip lost: %zu bytes in, %zu out\n",
                        f->name, len, out_len);
                abort();
            }
        }
        free(out);
        sw_free(ids);
    }
    free(text);
    return 0;
}
