/*
 * bpe_train.c: byte-level BPE tokenizer training (the GPT-2 recipe): the
 * corpus is split by the engine's own GPT-2 pre-tokenizer, every distinct
 * word starts as its bytes, and the most frequent adjacent pair is merged
 * until the vocabulary is full (ties: the lowest pair of ids, so the result
 * is deterministic). The tokenizer is written as GGUF tokenizer.ggml.*
 * metadata ("gpt2" model, "gpt-2" pre-tokenizer), which the engine's BPE
 * encoder and llama.cpp read; encoding with it reproduces the training
 * segmentation. Pair counts are recomputed per merge over the distinct
 * words: O(merges x symbols), seconds for a few MB of text and a few
 * thousand tokens.
 */
#include <string.h>

#include "../engine/tokenizer_int.h"
#include "train_int.h"

typedef struct word {
    int32_t *sym;
    int32_t n;
    int64_t count;
} word;

typedef struct wtab {
    word *w;
    size_t n, cap;
    /* hash of the word's bytes -> index + 1 */
    uint32_t *ht;
    size_t ht_mask;
    char **text; /* the bytes of each word (for hashing collisions) */
    size_t *len;
    const char *base; /* current chunk */
    swarm_err err;
} wtab;

static uint64_t hash_bytes(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) h = (h ^ (uint8_t)s[i]) * 1099511628211ull;
    return h;
}

static swarm_err wtab_grow(wtab *t)
{
    size_t cap = t->cap ? t->cap * 2 : 4096;
    word *w = sw_realloc(t->w, cap * sizeof(word));
    if (w == NULL) return SWARM_ENOMEM;
    t->w = w;
    char **tx = sw_realloc(t->text, cap * sizeof(char *));
    if (tx == NULL) return SWARM_ENOMEM;
    t->text = tx;
    size_t *ln = sw_realloc(t->len, cap * sizeof(size_t));
    if (ln == NULL) return SWARM_ENOMEM;
    t->len = ln;
    t->cap = cap;
    size_t hcap = cap * 2;
    uint32_t *ht = sw_calloc(hcap, sizeof(uint32_t));
    if (ht == NULL) return SWARM_ENOMEM;
    sw_free(t->ht);
    t->ht = ht;
    t->ht_mask = hcap - 1;
    for (size_t i = 0; i < t->n; i++) {
        size_t h = hash_bytes(t->text[i], t->len[i]) & t->ht_mask;
        while (t->ht[h]) h = (h + 1) & t->ht_mask;
        t->ht[h] = (uint32_t)(i + 1);
    }
    return SWARM_OK;
}

static swarm_err on_word(void *ud, size_t start, size_t len)
{
    wtab *t = ud;
    const char *s = t->base + start;
    if (len == 0) return SWARM_OK;
    if (len > 256) len = 256; /* very long runs: the tail adds nothing but cost */
    if (t->n + 1 > t->cap / 2 || t->ht == NULL) {
        swarm_err rc = wtab_grow(t);
        if (rc) return rc;
    }
    size_t h = hash_bytes(s, len) & t->ht_mask;
    while (t->ht[h]) {
        size_t i = t->ht[h] - 1;
        if (t->len[i] == len && memcmp(t->text[i], s, len) == 0) {
            t->w[i].count++;
            return SWARM_OK;
        }
        h = (h + 1) & t->ht_mask;
    }
    char *c = sw_strndup(s, len);
    int32_t *sym = sw_malloc(len * sizeof(int32_t));
    if (c == NULL || sym == NULL) {
        sw_free(c);
        sw_free(sym);
        return SWARM_ENOMEM;
    }
    for (size_t i = 0; i < len; i++) sym[i] = (uint8_t)s[i];
    t->text[t->n] = c;
    t->len[t->n] = len;
    t->w[t->n] = (word){sym, (int32_t)len, 1};
    t->ht[h] = (uint32_t)(t->n + 1);
    t->n++;
    return SWARM_OK;
}

typedef struct pslot {
    uint64_t key; /* (a << 32 | b) + 1; 0 = empty */
    int64_t count;
} pslot;

/* Token text in the byte-level alphabet (each byte as its printable char). */
static char *mapped_byte(uint8_t b)
{
    char buf[8];
    size_t n = sw_utf8_encode(sw_bpe_byte_to_cp(b), buf);
    return sw_strndup(buf, n);
}

swarm_err swarm_bpe_train(const char *text, size_t len, int32_t n_vocab, const char *out_path,
                          swarm_diag *d)
{
    if (text == NULL || out_path == NULL) return sw_diag_set(d, SWARM_EINVAL, "no corpus");
    if (n_vocab < 258 || n_vocab > 1 << 20)
        return sw_diag_set(d, SWARM_EINVAL, "vocabulary size %d out of range [258, 1048576]",
                           n_vocab);
    swarm_err rc = SWARM_OK;
    wtab wt = {0};
    char **tok = NULL;
    char **merges = NULL;
    size_t n_tok = 0, n_merges = 0;
    pslot *ps = NULL;
    size_t *used = NULL;
    int32_t *types = NULL;
    size_t *tlen = NULL, *mlen = NULL;
    /* pre-tokenize line by line (bounded scratch per call) */
    for (size_t i = 0; i < len;) {
        size_t e = i;
        while (e < len && text[e] != '\n') e++;
        if (e < len) e++; /* the newline belongs to the line */
        wt.base = text + i;
        if ((rc = sw_bpe_pretokenize(SW_PRE_GPT2, text + i, e - i, on_word, &wt)) != SWARM_OK)
            goto out;
        i = e;
    }
    if (wt.n == 0) {
        rc = sw_diag_set(d, SWARM_EINVAL, "the corpus is empty");
        goto out;
    }
    size_t cap_tok = (size_t)n_vocab;
    tok = sw_calloc(cap_tok, sizeof(char *));
    merges = sw_calloc(cap_tok, sizeof(char *));
    if (tok == NULL || merges == NULL) goto oom;
    for (int b = 0; b < 256; b++)
        if ((tok[n_tok++] = mapped_byte((uint8_t)b)) == NULL) goto oom;
    size_t total = 0;
    for (size_t i = 0; i < wt.n; i++) total += (size_t)wt.w[i].n;
    size_t pcap = 1024;
    while (pcap < total * 2) pcap *= 2;
    ps = sw_calloc(pcap, sizeof(pslot));
    used = sw_malloc(pcap * sizeof(size_t));
    if (ps == NULL || used == NULL) goto oom;
    while (n_tok < cap_tok - 1) {
        size_t n_used = 0;
        for (size_t i = 0; i < wt.n; i++) {
            const word *w = &wt.w[i];
            for (int32_t k = 0; k + 1 < w->n; k++) {
                uint64_t key = ((uint64_t)(uint32_t)w->sym[k] << 32 | (uint32_t)w->sym[k + 1]) + 1;
                size_t h = (size_t)((key * 0x9E3779B97F4A7C15ull) >> 20) & (pcap - 1);
                while (ps[h].key != 0 && ps[h].key != key) h = (h + 1) & (pcap - 1);
                if (ps[h].key == 0) {
                    ps[h].key = key;
                    used[n_used++] = h;
                }
                ps[h].count += w->count;
            }
        }
        uint64_t best = 0;
        int64_t best_n = 0;
        for (size_t u = 0; u < n_used; u++) {
            const pslot *p = &ps[used[u]];
            if (p->count > best_n || (p->count == best_n && p->key < best)) {
                best = p->key;
                best_n = p->count;
            }
        }
        for (size_t u = 0; u < n_used; u++) ps[used[u]] = (pslot){0, 0};
        if (best_n < 2) break; /* nothing repeats: a smaller vocabulary */
        int32_t a = (int32_t)((best - 1) >> 32), b = (int32_t)((best - 1) & 0xffffffffu);
        size_t la = strlen(tok[a]), lb = strlen(tok[b]);
        char *joined = sw_malloc(la + lb + 1), *m = sw_malloc(la + lb + 2);
        if (joined == NULL || m == NULL) {
            sw_free(joined);
            sw_free(m);
            goto oom;
        }
        memcpy(joined, tok[a], la);
        memcpy(joined + la, tok[b], lb);
        joined[la + lb] = 0;
        memcpy(m, tok[a], la);
        m[la] = ' ';
        memcpy(m + la + 1, tok[b], lb + 1);
        merges[n_merges++] = m;
        /* two pairs can spell the same text ("ab"+"c", "a"+"bc"): one token */
        int32_t id = -1;
        for (size_t i = 256; i < n_tok; i++)
            if (strcmp(tok[i], joined) == 0) id = (int32_t)i;
        if (id < 0) {
            id = (int32_t)n_tok;
            tok[n_tok++] = joined;
        } else {
            sw_free(joined);
        }
        for (size_t i = 0; i < wt.n; i++) {
            word *w = &wt.w[i];
            int32_t o = 0;
            for (int32_t k = 0; k < w->n; k++) {
                if (k + 1 < w->n && w->sym[k] == a && w->sym[k + 1] == b) {
                    w->sym[o++] = id;
                    k++;
                } else {
                    w->sym[o++] = w->sym[k];
                }
            }
            w->n = o;
        }
        if (n_merges >= cap_tok) break;
    }
    if ((tok[n_tok++] = sw_strdup("<|endoftext|>")) == NULL) goto oom;
    types = sw_malloc(n_tok * sizeof(int32_t));
    tlen = sw_malloc(n_tok * sizeof(size_t));
    mlen = sw_malloc((n_merges ? n_merges : 1) * sizeof(size_t));
    if (types == NULL || tlen == NULL || mlen == NULL) goto oom;
    for (size_t i = 0; i < n_tok; i++) {
        types[i] = i + 1 == n_tok ? SW_TOKT_CONTROL : SW_TOKT_NORMAL;
        tlen[i] = strlen(tok[i]);
    }
    for (size_t i = 0; i < n_merges; i++) mlen[i] = strlen(merges[i]);
    sw_gguf_writer *w = NULL;
    if ((rc = sw_gguf_writer_create(&w)) != SWARM_OK) goto out;
    int32_t eot = (int32_t)n_tok - 1;
    if ((rc = sw_gguf_writer_set_str(w, "tokenizer.ggml.model", "gpt2")) == SWARM_OK &&
        (rc = sw_gguf_writer_set_str(w, "tokenizer.ggml.pre", "gpt-2")) == SWARM_OK &&
        (rc = sw_gguf_writer_set_arr_str(w, "tokenizer.ggml.tokens", (const char *const *)tok,
                                         tlen, n_tok)) == SWARM_OK &&
        (rc = sw_gguf_writer_set_arr_i32(w, "tokenizer.ggml.token_type", types, n_tok)) ==
            SWARM_OK &&
        (rc = sw_gguf_writer_set_arr_str(w, "tokenizer.ggml.merges", (const char *const *)merges,
                                         mlen, n_merges)) == SWARM_OK &&
        (rc = sw_gguf_writer_set_u32(w, "tokenizer.ggml.bos_token_id", (uint32_t)eot)) ==
            SWARM_OK &&
        (rc = sw_gguf_writer_set_u32(w, "tokenizer.ggml.eos_token_id", (uint32_t)eot)) ==
            SWARM_OK &&
        (rc = sw_gguf_writer_set_bool(w, "tokenizer.ggml.add_bos_token", true)) == SWARM_OK)
        rc = sw_gguf_writer_write(w, out_path, d);
    sw_gguf_writer_destroy(w);
    goto out;
oom:
    rc = sw_diag_set(d, SWARM_ENOMEM, "out of memory training the tokenizer");
out:
    for (size_t i = 0; i < wt.n; i++) {
        sw_free(wt.w[i].sym);
        sw_free(wt.text[i]);
    }
    sw_free(wt.w);
    sw_free(wt.text);
    sw_free(wt.len);
    sw_free(wt.ht);
    for (size_t i = 0; tok && i < n_tok; i++) sw_free(tok[i]);
    for (size_t i = 0; merges && i < n_merges; i++) sw_free(merges[i]);
    sw_free(tok);
    sw_free(merges);
    sw_free(ps);
    sw_free(used);
    sw_free(types);
    sw_free(tlen);
    sw_free(mlen);
    return rc;
}
