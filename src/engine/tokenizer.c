/*
 * tokenizer.c: the tokenizer's common part (vocabulary, hash lookup, special
 * token partitioning, decoding) and the two SentencePiece-style encoders:
 * llama2.c's run.c (tokenizer.bin) and llama.cpp's SPM (GGUF model "llama").
 * Byte-level BPE lives in bpe.c. Every file value is checked before use.
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tokenizer_int.h"

#define MAX_VOCAB (1 << 24)

// ----------------------------------------------------------------------------
// small containers

swarm_err sw_idvec_push(sw_idvec *iv, int32_t id)
{
    if (iv->n == iv->cap) {
        size_t cap = iv->cap ? iv->cap * 2 : 64;
        int32_t *v = sw_realloc(iv->v, cap * sizeof(*v));
        if (v == NULL) return SWARM_ENOMEM;
        iv->v = v;
        iv->cap = cap;
    }
    iv->v[iv->n++] = id;
    return SWARM_OK;
}

static bool mheap_less(const sw_mheap_ent *a, const sw_mheap_ent *b)
{
    return a->key < b->key || (a->key == b->key && a->pos < b->pos);
}

swarm_err sw_mheap_push(sw_mheap *h, sw_mheap_ent e)
{
    if (h->n == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 64;
        sw_mheap_ent *v = sw_realloc(h->v, cap * sizeof(*v));
        if (v == NULL) return SWARM_ENOMEM;
        h->v = v;
        h->cap = cap;
    }
    size_t i = h->n++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!mheap_less(&e, &h->v[p])) break;
        h->v[i] = h->v[p];
        i = p;
    }
    h->v[i] = e;
    return SWARM_OK;
}

bool sw_mheap_pop(sw_mheap *h, sw_mheap_ent *out)
{
    if (h->n == 0) return false;
    *out = h->v[0];
    sw_mheap_ent last = h->v[--h->n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= h->n) break;
        if (c + 1 < h->n && mheap_less(&h->v[c + 1], &h->v[c])) c++;
        if (!mheap_less(&h->v[c], &last)) break;
        h->v[i] = h->v[c];
        i = c;
    }
    if (h->n > 0) h->v[i] = last;
    return true;
}

// ----------------------------------------------------------------------------
// vocabulary

static uint64_t hash_bytes(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; i < n; i++) {
        h ^= (uint8_t)s[i];
        h *= 1099511628211ull;
    }
    return h ^ (h >> 29);
}

int32_t sw_tok_lookup(const sw_tokenizer *t, const char *s, size_t n)
{
    if (t->ht == NULL) return -1;
    size_t i = (size_t)hash_bytes(s, n) & t->ht_mask;
    for (;;) {
        uint32_t slot = t->ht[i];
        if (slot == 0) return -1;
        int32_t id = (int32_t)(slot - 1);
        if (t->tok_len[id] == n && memcmp(sw_tok_text(t, id), s, n) == 0) return id;
        i = (i + 1) & t->ht_mask;
    }
}

/* Allocates the per-token tables for n tokens whose texts total `bytes`. */
static swarm_err vocab_alloc(sw_tokenizer *t, int32_t n, size_t bytes)
{
    t->n_vocab = n;
    t->blob = sw_malloc(bytes + (size_t)n + 1);
    t->tok_off = sw_calloc((size_t)n, sizeof(uint32_t));
    t->tok_len = sw_calloc((size_t)n, sizeof(uint32_t));
    t->scores = sw_calloc((size_t)n, sizeof(float));
    t->type = sw_calloc((size_t)n, 1);
    t->strip = sw_calloc((size_t)n, 1);
    if (!t->blob || !t->tok_off || !t->tok_len || !t->scores || !t->type || !t->strip)
        return SWARM_ENOMEM;
    return SWARM_OK;
}

/* Builds the text -> id table. Duplicates: the first id wins; *dup (when
 * non-NULL) receives the first duplicate's pair. Empty texts are not indexed. */
static swarm_err vocab_index(sw_tokenizer *t, int32_t *dup_a, int32_t *dup_b)
{
    size_t cap = 16;
    while (cap < (size_t)t->n_vocab * 2) cap *= 2;
    t->ht = sw_calloc(cap, sizeof(uint32_t));
    if (t->ht == NULL) return SWARM_ENOMEM;
    t->ht_mask = cap - 1;
    if (dup_a) *dup_a = -1;
    for (int32_t id = 0; id < t->n_vocab; id++) {
        size_t n = t->tok_len[id];
        if (n == 0) continue;
        const char *s = sw_tok_text(t, id);
        size_t i = (size_t)hash_bytes(s, n) & t->ht_mask;
        for (;;) {
            uint32_t slot = t->ht[i];
            if (slot == 0) {
                t->ht[i] = (uint32_t)id + 1;
                break;
            }
            int32_t o = (int32_t)(slot - 1);
            if (t->tok_len[o] == n && memcmp(sw_tok_text(t, o), s, n) == 0) {
                if (dup_a && *dup_a < 0) {
                    *dup_a = o;
                    *dup_b = id;
                }
                break;
            }
            i = (i + 1) & t->ht_mask;
        }
        if (n > t->max_token_len) t->max_token_len = (uint32_t)n;
    }
    return SWARM_OK;
}

static int cmp_special(const void *a, const void *b, void *ctx)
{
    const sw_tokenizer *t = ctx;
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    if (t->tok_len[x] != t->tok_len[y]) return t->tok_len[x] > t->tok_len[y] ? -1 : 1;
    return x < y ? -1 : (x > y);
}

/* Special tokens (control, user-defined, unknown) sorted by length, longest
 * first, as llama.cpp partitions text. */
static swarm_err build_special(sw_tokenizer *t)
{
    size_t n = 0;
    for (int32_t id = 0; id < t->n_vocab; id++) {
        uint8_t ty = t->type[id];
        if ((ty == SW_TOKT_CONTROL || ty == SW_TOKT_USER || ty == SW_TOKT_UNKNOWN) &&
            t->tok_len[id] > 0)
            n++;
    }
    if (n == 0) return SWARM_OK;
    t->special = sw_malloc(n * sizeof(int32_t));
    if (t->special == NULL) return SWARM_ENOMEM;
    for (int32_t id = 0; id < t->n_vocab; id++) {
        uint8_t ty = t->type[id];
        if ((ty == SW_TOKT_CONTROL || ty == SW_TOKT_USER || ty == SW_TOKT_UNKNOWN) &&
            t->tok_len[id] > 0)
            t->special[t->n_special++] = id;
    }
    qsort_r(t->special, t->n_special, sizeof(int32_t), cmp_special, t);
    t->special_rank = sw_malloc((size_t)t->n_vocab * sizeof(uint32_t));
    t->special_lens = sw_malloc(t->n_special * sizeof(uint32_t));
    if (t->special_rank == NULL || t->special_lens == NULL) return SWARM_ENOMEM;
    for (int32_t id = 0; id < t->n_vocab; id++) t->special_rank[id] = UINT32_MAX;
    for (size_t i = 0; i < t->n_special; i++) {
        int32_t id = t->special[i];
        t->special_rank[id] = (uint32_t)i;
        t->special_first[(uint8_t)sw_tok_text(t, id)[0]] = true;
        /* sorted by length: a new length differs from the previous one */
        if (t->n_special_lens == 0 || t->special_lens[t->n_special_lens - 1] != t->tok_len[id])
            t->special_lens[t->n_special_lens++] = t->tok_len[id];
    }
    return SWARM_OK;
}

void sw_tokenizer_destroy(sw_tokenizer *t)
{
    if (t == NULL) return;
    sw_free(t->blob);
    sw_free(t->tok_off);
    sw_free(t->tok_len);
    sw_free(t->scores);
    sw_free(t->type);
    sw_free(t->strip);
    sw_free(t->ht);
    sw_free(t->eog);
    sw_free(t->special);
    sw_free(t->special_rank);
    sw_free(t->special_lens);
    sw_free(t->merges);
    sw_free(t);
}

static bool parse_byte_piece(const char *s, size_t n, uint8_t *out)
{
    /* "<0xHH>" */
    if (n != 6 || s[0] != '<' || s[1] != '0' || s[2] != 'x' || s[5] != '>') return false;
    if (!isxdigit((unsigned char)s[3]) || !isxdigit((unsigned char)s[4])) return false;
    char hex[3] = {s[3], s[4], 0};
    *out = (uint8_t)strtol(hex, NULL, 16);
    return true;
}

// ----------------------------------------------------------------------------
// llama2.c tokenizer.bin

static int32_t rd_i32(const uint8_t *p)
{
    int32_t v;
    memcpy(&v, p, 4);
    return v;
}

/* One table entry before it is copied into the tokenizer. */
typedef struct l2c_entry {
    const char *text;
    size_t len;
    float score;
} l2c_entry;

/* Walks the vocab_size records of a tokenizer.bin image, checking each
 * against the bytes left; fills e[] (when non-NULL) with views into p. */
static swarm_err l2c_scan(const uint8_t *p, size_t size, int32_t vocab_size, l2c_entry *e,
                          swarm_diag *d)
{
    if (size < 4)
        return sw_diag_set(d, SWARM_EFORMAT, "truncated tokenizer (no header: %zu bytes)", size);
    int32_t max_len = rd_i32(p);
    if (max_len < 0)
        return sw_diag_set(d, SWARM_EFORMAT, "negative max_token_length %d", (int)max_len);
    size_t off = 4;
    for (int32_t i = 0; i < vocab_size; i++) {
        if (size - off < 8)
            return sw_diag_set(d, SWARM_EFORMAT,
                               "truncated tokenizer: token %d of %d needs 8 header bytes at "
                               "offset %zu, file has %zu",
                               (int)i, (int)vocab_size, off, size);
        int32_t len = rd_i32(p + off + 4);
        if (len < 0 || (size_t)len > size - off - 8)
            return sw_diag_set(d, SWARM_EFORMAT,
                               "truncated tokenizer: token %d of %d has length %d at offset "
                               "%zu, file has %zu bytes",
                               (int)i, (int)vocab_size, (int)len, off, size);
        if (e != NULL) {
            memcpy(&e[i].score, p + off, 4);
            e[i].text = (const char *)p + off + 8;
            e[i].len = (size_t)len;
        }
        off += 8 + (size_t)len;
    }
    return SWARM_OK;
}

/* Builds run.c's tokenizer (fixed BOS 1, EOS 2, byte b = id b + 3) from n
 * entries; the texts are copied. */
static swarm_err l2c_build(const l2c_entry *e, int32_t n, sw_tokenizer **out, swarm_diag *d)
{
    size_t total = 0;
    for (int32_t i = 0; i < n; i++) {
        total += e[i].len;
        if (total > UINT32_MAX / 2)
            return sw_diag_set(d, SWARM_EFORMAT, "tokenizer texts too large");
    }
    swarm_err rc;
    sw_tokenizer *t = sw_calloc(1, sizeof(*t));
    if (t == NULL || vocab_alloc(t, n, total) != SWARM_OK) {
        rc = sw_diag_set(d, SWARM_ENOMEM, "out of memory for a %d-token vocabulary", (int)n);
        goto fail;
    }
    t->kind = SW_TOK_SPM;
    t->llama2c = true;
    size_t boff = 0;
    for (int32_t i = 0; i < n; i++) {
        t->scores[i] = e[i].score;
        t->tok_off[i] = (uint32_t)boff;
        t->tok_len[i] = (uint32_t)e[i].len;
        if (e[i].len > 0) memcpy(t->blob + boff, e[i].text, e[i].len);
        t->blob[boff + e[i].len] = '\0';
        boff += e[i].len + 1;
        t->type[i] = SW_TOKT_NORMAL;
    }
    if ((rc = vocab_index(t, NULL, NULL)) != SWARM_OK) {
        sw_diag_set(d, rc, "out of memory for a %d-token vocabulary", (int)n);
        goto fail;
    }
    /* run.c's fixed ids */
    t->bos = n > 1 ? 1 : -1;
    t->eos = n > 2 ? 2 : -1;
    t->unk = 0;
    t->eot = t->eom = -1;
    t->add_bos = true;
    t->add_space_prefix = true;
    t->space_id = sw_tok_lookup(t, " ", 1);
    for (int b = 0; b < 256; b++) t->byte_tok[b] = b + 3 < n ? b + 3 : -1;
    *out = t;
    return SWARM_OK;
fail:
    sw_tokenizer_destroy(t);
    return rc;
}

/* A SentencePiece tokenizer.model turned into the table llama2.c's
 * tokenizer.py exports from it: the BOS and EOS pieces become "\n<s>\n" and
 * "\n</s>\n", every U+2581 a space; scores as stored. */
static swarm_err l2c_from_spm(const void *buf, size_t size, int32_t vocab_size,
                              sw_tokenizer **out, swarm_diag *d)
{
    sw_spm_model m;
    swarm_err rc = sw_spm_model_parse(buf, size, &m, d);
    if (rc != SWARM_OK) return rc;
    if (m.n_pieces != (size_t)vocab_size) {
        rc = sw_diag_set(d, SWARM_EFORMAT,
                         "SentencePiece model has %zu pieces but the model's vocabulary has %d "
                         "tokens",
                         m.n_pieces, (int)vocab_size);
        sw_spm_model_free(&m);
        return rc;
    }
    static const char bos_txt[] = "\n<s>\n", eos_txt[] = "\n</s>\n";
    /* the rewrite only shrinks texts, except BOS/EOS (at most 6 bytes each) */
    size_t cap = 2 * sizeof(eos_txt);
    for (size_t i = 0; i < m.n_pieces; i++) cap += m.pieces[i].len;
    char *tx = sw_malloc(cap);
    l2c_entry *e = sw_malloc(m.n_pieces * sizeof(*e));
    if (tx == NULL || e == NULL) {
        rc = sw_diag_set(d, SWARM_ENOMEM, "out of memory for a %d-token vocabulary",
                         (int)vocab_size);
        goto done;
    }
    size_t k = 0;
    for (size_t i = 0; i < m.n_pieces; i++) {
        const char *s = m.pieces[i].text;
        size_t n = m.pieces[i].len;
        if ((int32_t)i == m.bos_id) {
            s = bos_txt;
            n = sizeof(bos_txt) - 1;
        } else if ((int32_t)i == m.eos_id) {
            s = eos_txt;
            n = sizeof(eos_txt) - 1;
        }
        e[i].text = tx + k;
        e[i].score = m.pieces[i].score;
        for (size_t j = 0; j < n;) {
            if (n - j >= 3 && memcmp(s + j, "\xe2\x96\x81", 3) == 0) {
                tx[k++] = ' ';
                j += 3;
            } else {
                tx[k++] = s[j++];
            }
        }
        e[i].len = (size_t)(tx + k - e[i].text);
    }
    SWARM_ASSERT(k <= cap);
    rc = l2c_build(e, vocab_size, out, d);
done:
    sw_free(e);
    sw_free(tx);
    sw_spm_model_free(&m);
    return rc;
}

swarm_err sw_tokenizer_from_llama2c_buf(const void *buf, size_t size, int32_t vocab_size,
                                        sw_tokenizer **out, swarm_diag *d)
{
    if ((buf == NULL && size > 0) || out == NULL)
        return sw_diag_set(d, SWARM_EINVAL, "no tokenizer data");
    if (vocab_size <= 0 || vocab_size > MAX_VOCAB)
        return sw_diag_set(d, SWARM_EFORMAT, "vocabulary size %d out of range", (int)vocab_size);
    const uint8_t *p = buf ? buf : (const uint8_t *)"";
    /* A valid llama2.c table wins; otherwise a file that starts like a
     * protobuf is read as a SentencePiece model (and its errors are the
     * protobuf reader's); anything else gets the table's error. */
    swarm_diag scan_d = {{0}};
    swarm_err rc = l2c_scan(p, size, vocab_size, NULL, &scan_d);
    if (rc != SWARM_OK) {
        if (sw_spm_model_sniff(p, size)) return l2c_from_spm(p, size, vocab_size, out, d);
        if (d != NULL) *d = scan_d;
        return rc;
    }
    /* the table holds vocab_size records of >= 8 bytes: e[] is bounded by the file */
    l2c_entry *e = sw_malloc((size_t)vocab_size * sizeof(*e));
    if (e == NULL)
        return sw_diag_set(d, SWARM_ENOMEM, "out of memory for a %d-token vocabulary",
                           (int)vocab_size);
    rc = l2c_scan(p, size, vocab_size, e, d);
    if (rc == SWARM_OK) rc = l2c_build(e, vocab_size, out, d);
    sw_free(e);
    return rc;
}

swarm_err sw_tokenizer_from_llama2c(const char *path, int32_t vocab_size, sw_tokenizer **out,
                                    swarm_diag *d)
{
    if (path == NULL || out == NULL) return sw_diag_set(d, SWARM_EINVAL, "no tokenizer path");
    if (vocab_size <= 0 || vocab_size > MAX_VOCAB)
        return sw_diag_set(d, SWARM_EFORMAT, "%s: vocabulary size %d out of range", path,
                           (int)vocab_size);
    char *buf = NULL;
    size_t size = 0;
    swarm_err rc = sw_read_file(path, &buf, &size, d);
    if (rc != SWARM_OK) return rc;
    rc = sw_tokenizer_from_llama2c_buf(buf, size, vocab_size, out, d);
    if (rc != SWARM_OK) sw_diag_prefix(d, path);
    sw_free(buf);
    return rc;
}

/* run.c's encode(): dummy prefix, codepoints (byte fallback id = byte + 3),
 * then merge the best-scoring adjacent pair (leftmost on ties) until none is
 * left. A heap over a linked list makes it O(n log n) instead of run.c's
 * O(n^2) scans; the order of merges is the same. */
typedef struct l2sym {
    int32_t id;
    int32_t prev, next;
} l2sym;

static swarm_err l2c_push_pair(const sw_tokenizer *t, l2sym *s, int32_t i, sw_mheap *h,
                               char **scratch, size_t *scap)
{
    if (i < 0) return SWARM_OK;
    int32_t j = s[i].next;
    if (j < 0) return SWARM_OK;
    int32_t a = s[i].id, b = s[j].id;
    if (a < 0 || b < 0) return SWARM_OK;
    size_t la = t->tok_len[a], lb = t->tok_len[b];
    if (la + lb == 0) return SWARM_OK; /* empty texts are never indexed */
    if (la + lb > *scap) {
        size_t cap = (la + lb) * 2 + 16;
        char *ns = sw_realloc(*scratch, cap);
        if (ns == NULL) return SWARM_ENOMEM;
        *scratch = ns;
        *scap = cap;
    }
    memcpy(*scratch, sw_tok_text(t, a), la);
    memcpy(*scratch + la, sw_tok_text(t, b), lb);
    int32_t id = sw_tok_lookup(t, *scratch, la + lb);
    if (id < 0) return SWARM_OK;
    float sc = t->scores[id];
    if (!(sc > -1e10f)) return SWARM_OK; /* run.c: best_score starts at -1e10 */
    sw_mheap_ent e = {.key = -(double)sc, .pos = i, .right = j, .a = a, .b = b, .result = id};
    return sw_mheap_push(h, e);
}

static swarm_err encode_llama2c(const sw_tokenizer *t, const uint8_t *text, size_t len,
                                sw_idvec *out)
{
    swarm_err rc = SWARM_OK;
    size_t n0 = out->n;
    if (len > 0 && t->space_id >= 0 && (rc = sw_idvec_push(out, t->space_id)) != SWARM_OK)
        return rc;
    /* codepoints: a lead byte starts a group; up to 3 continuation bytes follow */
    size_t i = 0;
    while (i < len) {
        size_t j = i + 1;
        while (j < len && (text[j] & 0xC0) == 0x80 && j - i < 4) j++;
        int32_t id = sw_tok_lookup(t, (const char *)text + i, j - i);
        if (id >= 0) {
            if ((rc = sw_idvec_push(out, id)) != SWARM_OK) return rc;
        } else {
            for (size_t k = i; k < j; k++) {
                int32_t b = t->byte_tok[text[k]];
                if (b < 0) b = t->unk;
                if ((rc = sw_idvec_push(out, b)) != SWARM_OK) return rc;
            }
        }
        i = j;
    }
    size_t n = out->n - n0;
    if (n < 2) return SWARM_OK;
    l2sym *s = sw_malloc(n * sizeof(*s));
    sw_mheap h = {0};
    char *scratch = NULL;
    size_t scap = 0;
    if (s == NULL) return SWARM_ENOMEM;
    for (size_t k = 0; k < n; k++) {
        s[k].id = out->v[n0 + k];
        s[k].prev = (int32_t)k - 1;
        s[k].next = k + 1 < n ? (int32_t)k + 1 : -1;
    }
    for (size_t k = 0; k + 1 < n && rc == SWARM_OK; k++)
        rc = l2c_push_pair(t, s, (int32_t)k, &h, &scratch, &scap);
    sw_mheap_ent e;
    while (rc == SWARM_OK && sw_mheap_pop(&h, &e)) {
        if (s[e.pos].id != e.a || s[e.pos].next != e.right || s[e.right].id != e.b) continue;
        s[e.pos].id = e.result;
        s[e.right].id = -2; /* gone */
        int32_t nx = s[e.right].next;
        s[e.pos].next = nx;
        if (nx >= 0) s[nx].prev = e.pos;
        rc = l2c_push_pair(t, s, s[e.pos].prev, &h, &scratch, &scap);
        if (rc == SWARM_OK) rc = l2c_push_pair(t, s, e.pos, &h, &scratch, &scap);
    }
    if (rc == SWARM_OK) {
        out->n = n0;
        for (int32_t k = 0; k >= 0; k = s[k].next) out->v[out->n++] = s[k].id;
    }
    sw_free(s);
    sw_free(h.v);
    sw_free(scratch);
    return rc;
}

// ----------------------------------------------------------------------------
// GGUF vocabulary

static const char *const k_eog_texts[] = {
    "<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>",
    "<|end_of_text|>", "<EOT>", "<|eom_id|>",
};

static swarm_err get_token_id(const sw_gguf *g, const char *key, int32_t n, int32_t *id,
                              swarm_diag *d)
{
    const sw_gguf_kv *kv = sw_gguf_find(g, key);
    if (kv == NULL) return SWARM_OK;
    uint32_t v;
    if (!sw_gguf_get_u32(g, key, &v)) {
        /* some converters write -1 (signed) for "none" */
        int64_t s = 0;
        if (kv->type == SW_GGUF_INT32) {
            int32_t s32;
            memcpy(&s32, kv->data, 4);
            s = s32;
        } else if (kv->type == SW_GGUF_INT64) {
            memcpy(&s, kv->data, 8);
        }
        if (s < 0) {
            *id = -1;
            return SWARM_OK;
        }
        return sw_diag_set(d, SWARM_EFORMAT, "%s has an invalid type or value", key);
    }
    if (v == UINT32_MAX) {
        *id = -1; /* "none" */
        return SWARM_OK;
    }
    if (v >= (uint32_t)n)
        return sw_diag_set(d, SWARM_EFORMAT, "%s = %u is out of range (vocabulary has %d tokens)",
                           key, v, (int)n);
    *id = (int32_t)v;
    return SWARM_OK;
}

static bool str_contains_ci(const char *s, size_t n, const char *needle)
{
    size_t m = strlen(needle);
    for (size_t i = 0; i + m <= n; i++) {
        size_t k = 0;
        while (k < m && tolower((unsigned char)s[i + k]) == needle[k]) k++;
        if (k == m) return true;
    }
    return false;
}

swarm_err sw_tokenizer_from_gguf(const sw_gguf *g, sw_tokenizer **out, swarm_diag *d)
{
    if (g == NULL || out == NULL) return sw_diag_set(d, SWARM_EINVAL, "no GGUF file");
    sw_str model;
    if (!sw_gguf_get_str(g, "tokenizer.ggml.model", &model))
        return sw_diag_set(d, SWARM_EFORMAT, "no tokenizer.ggml.model (the file has no tokenizer)");
    enum sw_tok_kind kind;
    if (sw_str_eq(model, "llama")) {
        kind = SW_TOK_SPM;
    } else if (sw_str_eq(model, "gpt2")) {
        kind = SW_TOK_BPE;
    } else {
        return sw_diag_set(d, SWARM_EFORMAT,
                           "unsupported tokenizer.ggml.model '%.*s' (supported: llama, gpt2)",
                           (int)(model.len > 64 ? 64 : model.len), model.ptr);
    }
    const sw_gguf_kv *tk = sw_gguf_find(g, "tokenizer.ggml.tokens");
    if (tk == NULL) return sw_diag_set(d, SWARM_EFORMAT, "no tokenizer.ggml.tokens");
    if (tk->type != SW_GGUF_ARRAY || tk->arr_type != SW_GGUF_STRING)
        return sw_diag_set(d, SWARM_EFORMAT, "tokenizer.ggml.tokens is not an array of strings");
    if (tk->arr_n == 0 || tk->arr_n > MAX_VOCAB)
        return sw_diag_set(d, SWARM_EFORMAT, "tokenizer.ggml.tokens has %llu entries",
                           (unsigned long long)tk->arr_n);
    int32_t n = (int32_t)tk->arr_n;
    const sw_gguf_kv *sk = sw_gguf_find(g, "tokenizer.ggml.scores");
    if (sk != NULL) {
        if (sk->type != SW_GGUF_ARRAY ||
            (sk->arr_type != SW_GGUF_FLOAT32 && sk->arr_type != SW_GGUF_INT32))
            return sw_diag_set(d, SWARM_EFORMAT, "tokenizer.ggml.scores is not a numeric array");
        if (sk->arr_n != tk->arr_n)
            return sw_diag_set(d, SWARM_EFORMAT,
                               "tokenizer.ggml.scores has %llu entries but there are %d tokens",
                               (unsigned long long)sk->arr_n, (int)n);
    }
    const sw_gguf_kv *yk = sw_gguf_find(g, "tokenizer.ggml.token_type");
    if (yk != NULL) {
        if (yk->type != SW_GGUF_ARRAY || yk->arr_type != SW_GGUF_INT32)
            return sw_diag_set(d, SWARM_EFORMAT,
                               "tokenizer.ggml.token_type is not an array of int32");
        if (yk->arr_n != tk->arr_n)
            return sw_diag_set(d, SWARM_EFORMAT,
                               "tokenizer.ggml.token_type has %llu entries but there are %d tokens",
                               (unsigned long long)yk->arr_n, (int)n);
    }

    swarm_err rc;
    sw_str *strs = sw_calloc((size_t)n, sizeof(sw_str));
    sw_tokenizer *t = sw_calloc(1, sizeof(*t));
    if (strs == NULL || t == NULL) {
        rc = SWARM_ENOMEM;
        goto fail;
    }
    if ((rc = sw_gguf_arr_strings(tk, strs)) != SWARM_OK) {
        sw_diag_set(d, rc, "tokenizer.ggml.tokens: unreadable strings");
        goto fail;
    }
    size_t total = 0;
    for (int32_t i = 0; i < n; i++) total += (size_t)strs[i].len;
    if (total > UINT32_MAX / 2) {
        rc = sw_diag_set(d, SWARM_EFORMAT, "tokenizer.ggml.tokens: texts too large");
        goto fail;
    }
    if ((rc = vocab_alloc(t, n, total)) != SWARM_OK) goto fail;
    t->kind = kind;
    size_t boff = 0;
    for (int32_t i = 0; i < n; i++) {
        size_t len = (size_t)strs[i].len;
        t->tok_off[i] = (uint32_t)boff;
        t->tok_len[i] = (uint32_t)len;
        if (len) memcpy(t->blob + boff, strs[i].ptr, len);
        t->blob[boff + len] = '\0';
        boff += len + 1;
        double v = 0;
        if (sk != NULL) {
            if (!sw_gguf_arr_num(sk, (uint64_t)i, &v)) v = 0;
        }
        t->scores[i] = (float)v;
        double ty = SW_TOKT_NORMAL;
        if (yk != NULL && !sw_gguf_arr_num(yk, (uint64_t)i, &ty)) ty = SW_TOKT_UNDEFINED;
        t->type[i] = (ty >= 0 && ty < SW_TOKT_COUNT) ? (uint8_t)ty : SW_TOKT_UNDEFINED;
    }
    sw_free(strs);
    strs = NULL;
    int32_t da, db;
    if ((rc = vocab_index(t, &da, &db)) != SWARM_OK) goto fail;
    if (da >= 0) {
        rc = sw_diag_set(d, SWARM_EFORMAT,
                         "tokenizer.ggml.tokens: duplicate token '%.40s' (ids %d and %d)",
                         sw_tok_text(t, da), (int)da, (int)db);
        goto fail;
    }

    /* special ids: llama.cpp's defaults for SPM, none for BPE */
    t->bos = kind == SW_TOK_SPM && n > 1 ? 1 : -1;
    t->eos = kind == SW_TOK_SPM && n > 2 ? 2 : -1;
    t->unk = kind == SW_TOK_SPM ? 0 : -1;
    t->eot = t->eom = -1;
    if ((rc = get_token_id(g, "tokenizer.ggml.bos_token_id", n, &t->bos, d)) != SWARM_OK ||
        (rc = get_token_id(g, "tokenizer.ggml.eos_token_id", n, &t->eos, d)) != SWARM_OK ||
        (rc = get_token_id(g, "tokenizer.ggml.unknown_token_id", n, &t->unk, d)) != SWARM_OK ||
        (rc = get_token_id(g, "tokenizer.ggml.eot_token_id", n, &t->eot, d)) != SWARM_OK ||
        (rc = get_token_id(g, "tokenizer.ggml.eom_token_id", n, &t->eom, d)) != SWARM_OK)
        goto fail;
    t->add_bos = kind == SW_TOK_SPM;
    t->add_eos = false;
    t->add_space_prefix = kind == SW_TOK_SPM;
    for (int b = 0; b < 256; b++) t->byte_tok[b] = -1;
    t->space_id = -1;

    if (kind == SW_TOK_BPE) {
        if ((rc = sw_bpe_init(t, g, d)) != SWARM_OK) goto fail;
        if (t->ignore_merges) t->add_bos = true; /* llama.cpp: the llama3 family */
    } else {
        for (int b = 0; b < 256; b++) {
            char buf[8];
            snprintf(buf, sizeof(buf), "<0x%02X>", b);
            int32_t id = sw_tok_lookup(t, buf, 6);
            if (id < 0) {
                char c = (char)b;
                id = sw_tok_lookup(t, &c, 1);
            }
            t->byte_tok[b] = id;
        }
    }
    bool flag;
    if (sw_gguf_get_bool(g, "tokenizer.ggml.add_bos_token", &flag)) t->add_bos = flag;
    if (sw_gguf_get_bool(g, "tokenizer.ggml.add_eos_token", &flag)) t->add_eos = flag;
    if (sw_gguf_get_bool(g, "tokenizer.ggml.add_space_prefix", &flag)) t->add_space_prefix = flag;
    if (t->add_bos && t->bos < 0) {
        rc = sw_diag_set(d, SWARM_EFORMAT,
                         "tokenizer.ggml.add_bos_token is true but there is no BOS token id");
        goto fail;
    }
    if (t->add_eos && t->eos < 0) {
        rc = sw_diag_set(d, SWARM_EFORMAT,
                         "tokenizer.ggml.add_eos_token is true but there is no EOS token id");
        goto fail;
    }

    /* end-of-generation tokens, recognised by their text as llama.cpp does;
     * they become control tokens (hidden when decoded). */
    size_t n_txt = sizeof(k_eog_texts) / sizeof(k_eog_texts[0]);
    t->eog = sw_calloc(n_txt + 3, sizeof(int32_t));
    if (t->eog == NULL) {
        rc = SWARM_ENOMEM;
        goto fail;
    }
    for (size_t i = 0; i < n_txt; i++) {
        int32_t id = sw_tok_lookup(t, k_eog_texts[i], strlen(k_eog_texts[i]));
        if (id < 0) continue;
        t->eog[t->n_eog++] = id;
        if (t->type[id] != SW_TOKT_CONTROL && t->type[id] != SW_TOKT_USER)
            t->type[id] = SW_TOKT_CONTROL;
        if (t->eot < 0 && i < 4) t->eot = id;
    }
    if (t->eos >= 0) t->eog[t->n_eog++] = t->eos;
    if (t->eot >= 0) t->eog[t->n_eog++] = t->eot;
    if (t->eom >= 0) t->eog[t->n_eog++] = t->eom;

    if ((rc = build_special(t)) != SWARM_OK) goto fail;

    /* Phi-3's added tokens swallow the whitespace after them (llama.cpp sets
     * this by model name; the GGUF has no per-token flags). */
    sw_str name;
    if (sw_gguf_get_str(g, "general.name", &name) &&
        (str_contains_ci(name.ptr, (size_t)name.len, "phi-3") ||
         str_contains_ci(name.ptr, (size_t)name.len, "phi3"))) {
        for (size_t i = 0; i < t->n_special; i++) t->strip[t->special[i]] |= 2;
        int32_t id = sw_tok_lookup(t, "</s>", 4);
        if (id >= 0) t->strip[id] |= 2;
        const char *keep[] = {"<unk>", "<s>", "<|endoftext|>"};
        for (size_t i = 0; i < 3; i++) {
            id = sw_tok_lookup(t, keep[i], strlen(keep[i]));
            if (id >= 0) t->strip[id] &= (uint8_t)~2;
        }
    }
    *out = t;
    return SWARM_OK;
fail:
    sw_free(strs);
    sw_tokenizer_destroy(t);
    return rc;
}

// ----------------------------------------------------------------------------
// accessors

enum sw_tok_kind sw_tokenizer_kind(const sw_tokenizer *t) { return t->kind; }
int32_t sw_tokenizer_n_vocab(const sw_tokenizer *t) { return t->n_vocab; }
int32_t sw_tokenizer_bos(const sw_tokenizer *t) { return t->bos; }
int32_t sw_tokenizer_eos(const sw_tokenizer *t) { return t->eos; }
bool sw_tokenizer_add_bos_default(const sw_tokenizer *t) { return t->add_bos; }

bool sw_tokenizer_is_eog(const sw_tokenizer *t, int32_t id)
{
    if (id < 0) return false;
    if (id == t->eos) return true;
    for (size_t i = 0; i < t->n_eog; i++)
        if (t->eog[i] == id) return true;
    return false;
}

const char *sw_tokenizer_pre_name(const sw_tokenizer *t)
{
    return t->kind == SW_TOK_BPE ? t->pre_name : "";
}

sw_str sw_tokenizer_piece(const sw_tokenizer *t, int32_t id)
{
    sw_str s = {"", 0};
    if (t == NULL || id < 0 || id >= t->n_vocab) return s;
    s.ptr = sw_tok_text(t, id);
    s.len = t->tok_len[id];
    return s;
}

// ----------------------------------------------------------------------------
// special-token partitioning

typedef struct frag {
    int32_t tok; /* >= 0: a special token; -1: raw text */
    size_t start, len;
} frag;

typedef struct cand {
    uint32_t order; /* index in t->special */
    size_t pos;
} cand;

static int cmp_cand(const void *a, const void *b)
{
    const cand *x = a, *y = b;
    if (x->order != y->order) return x->order < y->order ? -1 : 1;
    return x->pos < y->pos ? -1 : (x->pos > y->pos);
}

static bool c_isspace(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

/* llama.cpp's tokenizer_st_partition: for each special token, longest first,
 * every non-overlapping occurrence inside a still-raw stretch becomes a token
 * fragment. Control and unknown tokens only count when parse_special; user-
 * defined tokens always do. Implemented by collecting candidate positions
 * once (hash lookups per distinct token length) instead of one string search
 * per token. */
static swarm_err partition(const sw_tokenizer *t, const char *text, size_t len,
                           bool parse_special, frag **out, size_t *n_out)
{
    swarm_err rc = SWARM_ENOMEM;
    int32_t *mark = NULL; /* per byte: -1 raw, -2 dropped/inside a token, >= 0 token start */
    cand *cs = NULL;
    size_t nc = 0, ccap = 0;
    frag *fr = NULL;
    size_t nf = 0;
    *out = NULL;
    *n_out = 0;

    bool any = false;
    for (size_t i = 0; i < t->n_special && !any; i++)
        any = parse_special || t->type[t->special[i]] == SW_TOKT_USER;
    if (any && len > 0) {
        for (size_t p = 0; p < len; p++) {
            if (!t->special_first[(uint8_t)text[p]]) continue;
            for (size_t k = 0; k < t->n_special_lens; k++) {
                if (t->special_lens[k] > len - p) continue;
                int32_t id = sw_tok_lookup(t, text + p, t->special_lens[k]);
                if (id < 0 || t->special_rank[id] == UINT32_MAX) continue;
                if (!parse_special && t->type[id] != SW_TOKT_USER) continue;
                if (nc == ccap) {
                    size_t cap = ccap ? ccap * 2 : 64;
                    cand *n2 = sw_realloc(cs, cap * sizeof(*cs));
                    if (n2 == NULL) goto done;
                    cs = n2;
                    ccap = cap;
                }
                cs[nc].order = t->special_rank[id];
                cs[nc].pos = p;
                nc++;
            }
        }
    }
    if (nc > 0) {
        qsort(cs, nc, sizeof(*cs), cmp_cand);
        mark = sw_malloc(len * sizeof(int32_t));
        if (mark == NULL) goto done;
        for (size_t i = 0; i < len; i++) mark[i] = -1;
        for (size_t c = 0; c < nc; c++) {
            int32_t id = t->special[cs[c].order];
            size_t p = cs[c].pos, l = t->tok_len[id];
            bool free_run = true;
            for (size_t k = 0; k < l && free_run; k++) free_run = mark[p + k] == -1;
            if (!free_run) continue;
            mark[p] = id;
            for (size_t k = 1; k < l; k++) mark[p + k] = -2;
            if (t->strip[id] & 1) {
                for (size_t q = p; q > 0 && mark[q - 1] == -1 && c_isspace(text[q - 1]); q--)
                    mark[q - 1] = -2;
            }
            if (t->strip[id] & 2) {
                for (size_t q = p + l; q < len && mark[q] == -1 && c_isspace(text[q]); q++)
                    mark[q] = -2;
            }
        }
    }
    /* fragments */
    size_t fcap = 8;
    fr = sw_malloc(fcap * sizeof(*fr));
    if (fr == NULL) goto done;
    size_t p = 0;
    while (p < len) {
        frag f;
        if (mark == NULL || mark[p] == -1) {
            size_t q = p;
            while (q < len && (mark == NULL || mark[q] == -1)) q++;
            f.tok = -1;
            f.start = p;
            f.len = q - p;
            p = q;
        } else if (mark[p] >= 0) {
            f.tok = mark[p];
            f.start = p;
            f.len = t->tok_len[mark[p]];
            p += f.len;
        } else {
            p++;
            continue;
        }
        if (nf == fcap) {
            fcap *= 2;
            frag *n2 = sw_realloc(fr, fcap * sizeof(*fr));
            if (n2 == NULL) goto done;
            fr = n2;
        }
        fr[nf++] = f;
    }
    *out = fr;
    *n_out = nf;
    fr = NULL;
    rc = SWARM_OK;
done:
    sw_free(fr);
    sw_free(mark);
    sw_free(cs);
    return rc;
}

// ----------------------------------------------------------------------------
// SentencePiece (llama.cpp's llm_tokenizer_spm)

typedef struct spsym {
    size_t start, n; /* span in the escaped text; n == 0: merged away */
    int32_t prev, next;
} spsym;

static swarm_err spm_push_pair(const sw_tokenizer *t, const char *s, spsym *sy, int32_t i,
                               int32_t j, sw_mheap *h)
{
    if (i < 0 || j < 0) return SWARM_OK;
    int32_t id = sw_tok_lookup(t, s + sy[i].start, sy[i].n + sy[j].n);
    if (id < 0) return SWARM_OK;
    float sc = t->scores[id];
    if (isnan(sc)) return SWARM_OK;
    sw_mheap_ent e = {.key = -(double)sc,
                      .pos = i,
                      .right = j,
                      .a = (int32_t)sy[i].n,
                      .b = (int32_t)sy[j].n,
                      .result = id};
    return sw_mheap_push(h, e);
}

static swarm_err spm_encode_fragment(const sw_tokenizer *t, const char *text, size_t len,
                                     bool prefix, sw_idvec *out)
{
    /* escape: ' ' -> U+2581 */
    size_t n_sp = prefix ? 1 : 0;
    for (size_t i = 0; i < len; i++) n_sp += text[i] == ' ';
    size_t elen = len + (prefix ? 1 : 0) + 2 * n_sp;
    char *s = sw_malloc(elen + 1);
    if (s == NULL) return SWARM_ENOMEM;
    size_t k = 0;
    if (prefix) {
        memcpy(s, "\xe2\x96\x81", 3);
        k = 3;
    }
    for (size_t i = 0; i < len; i++) {
        if (text[i] == ' ') {
            memcpy(s + k, "\xe2\x96\x81", 3);
            k += 3;
        } else {
            s[k++] = text[i];
        }
    }
    elen = k;
    swarm_err rc = SWARM_OK;
    size_t nsym = 0;
    for (size_t i = 0; i < elen;) {
        size_t l = sw_utf8_lead_len((uint8_t)s[i]);
        if (l > elen - i) l = elen - i;
        i += l;
        nsym++;
    }
    spsym *sy = sw_malloc((nsym ? nsym : 1) * sizeof(*sy));
    sw_mheap h = {0};
    if (sy == NULL) {
        sw_free(s);
        return SWARM_ENOMEM;
    }
    size_t idx = 0;
    for (size_t i = 0; i < elen; idx++) {
        size_t l = sw_utf8_lead_len((uint8_t)s[i]);
        if (l > elen - i) l = elen - i;
        sy[idx].start = i;
        sy[idx].n = l;
        sy[idx].prev = (int32_t)idx - 1;
        sy[idx].next = idx + 1 < nsym ? (int32_t)idx + 1 : -1;
        i += l;
    }
    for (size_t i = 1; i < nsym && rc == SWARM_OK; i++)
        rc = spm_push_pair(t, s, sy, (int32_t)i - 1, (int32_t)i, &h);
    sw_mheap_ent e;
    while (rc == SWARM_OK && sw_mheap_pop(&h, &e)) {
        spsym *l = &sy[e.pos], *r = &sy[e.right];
        if (l->n == 0 || r->n == 0 || (int32_t)l->n != e.a || (int32_t)r->n != e.b) continue;
        l->n += r->n;
        r->n = 0;
        l->next = r->next;
        if (r->next >= 0) sy[r->next].prev = e.pos;
        rc = spm_push_pair(t, s, sy, l->prev, e.pos, &h);
        if (rc == SWARM_OK) rc = spm_push_pair(t, s, sy, e.pos, l->next, &h);
    }
    for (int32_t i = nsym ? 0 : -1; i >= 0 && rc == SWARM_OK; i = sy[i].next) {
        int32_t id = sw_tok_lookup(t, s + sy[i].start, sy[i].n);
        if (id >= 0) {
            rc = sw_idvec_push(out, id);
            continue;
        }
        for (size_t b = 0; b < sy[i].n && rc == SWARM_OK; b++) {
            int32_t bt = t->byte_tok[(uint8_t)s[sy[i].start + b]];
            if (bt < 0) bt = t->unk;
            if (bt >= 0) rc = sw_idvec_push(out, bt);
        }
    }
    sw_free(sy);
    sw_free(h.v);
    sw_free(s);
    return rc;
}

// ----------------------------------------------------------------------------
// encode / decode

swarm_err sw_tokenizer_encode(const sw_tokenizer *t, const char *text, size_t len, bool add_bos,
                              bool add_eos, bool parse_special, int32_t **out_ids,
                              size_t *out_n)
{
    if (t == NULL || out_ids == NULL || out_n == NULL || (text == NULL && len > 0))
        return SWARM_EINVAL;
    sw_idvec iv = {0};
    swarm_err rc = SWARM_OK;
    frag *fr = NULL;
    size_t nf = 0;
    if (add_bos && t->bos >= 0 && (rc = sw_idvec_push(&iv, t->bos)) != SWARM_OK) goto fail;
    if (t->llama2c) {
        rc = encode_llama2c(t, (const uint8_t *)text, len, &iv);
        if (rc != SWARM_OK) goto fail;
    } else {
        if ((rc = partition(t, text, len, parse_special, &fr, &nf)) != SWARM_OK) goto fail;
        bool prev_special = true;
        for (size_t i = 0; i < nf && rc == SWARM_OK; i++) {
            if (fr[i].tok >= 0) {
                rc = sw_idvec_push(&iv, fr[i].tok);
                prev_special = true;
            } else if (t->kind == SW_TOK_SPM) {
                rc = spm_encode_fragment(t, text + fr[i].start, fr[i].len,
                                         t->add_space_prefix && prev_special, &iv);
                prev_special = false;
            } else {
                rc = sw_bpe_encode_fragment(t, text + fr[i].start, fr[i].len, &iv);
            }
        }
        if (rc != SWARM_OK) goto fail;
    }
    if (add_eos && t->eos >= 0 && (rc = sw_idvec_push(&iv, t->eos)) != SWARM_OK) goto fail;
    if (iv.v == NULL && (iv.v = sw_malloc(sizeof(int32_t))) == NULL) {
        rc = SWARM_ENOMEM;
        goto fail;
    }
    sw_free(fr);
    *out_ids = iv.v;
    *out_n = iv.n;
    return SWARM_OK;
fail:
    sw_free(fr);
    sw_free(iv.v);
    return rc;
}

/* Writes bytes into buf up to cap while counting all of them. */
typedef struct sink {
    char *buf;
    size_t cap, n;
} sink;

static void sink_put(sink *k, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (k->n < k->cap) k->buf[k->n] = s[i];
        k->n++;
    }
}

size_t sw_tokenizer_decode(const sw_tokenizer *t, int32_t prev, int32_t id, char *buf,
                           size_t cap)
{
    sink k = {buf, buf ? cap : 0, 0};
    if (t == NULL || id < 0 || id >= t->n_vocab) return 0;
    const char *s = sw_tok_text(t, id);
    size_t n = t->tok_len[id];
    bool at_start = prev < 0 || (t->bos >= 0 && prev == t->bos);
    uint8_t byte;
    if (t->llama2c) {
        /* run.c decode(): strip the space after BOS; <0xXX> -> raw byte */
        if (at_start && n > 0 && s[0] == ' ') {
            s++;
            n--;
        }
        if (parse_byte_piece(s, n, &byte)) {
            sink_put(&k, (const char *)&byte, 1);
        } else {
            sink_put(&k, s, n);
        }
        return k.n;
    }
    switch (t->type[id]) {
    case SW_TOKT_CONTROL:
    case SW_TOKT_UNKNOWN:
    case SW_TOKT_UNUSED:
    case SW_TOKT_UNDEFINED:
        return 0;
    case SW_TOKT_USER:
        sink_put(&k, s, n);
        return k.n;
    case SW_TOKT_BYTE:
        if (parse_byte_piece(s, n, &byte)) sink_put(&k, (const char *)&byte, 1);
        return k.n;
    default:
        break;
    }
    if (t->kind == SW_TOK_SPM) {
        bool strip = t->add_space_prefix && at_start;
        for (size_t i = 0; i < n;) {
            if (n - i >= 3 && memcmp(s + i, "\xe2\x96\x81", 3) == 0) {
                if (!strip) sink_put(&k, " ", 1);
                i += 3;
            } else {
                sink_put(&k, s + i, 1);
                i++;
            }
            strip = false;
        }
        return k.n;
    }
    /* byte-level BPE: undo the byte -> codepoint mapping */
    for (size_t i = 0; i < n;) {
        size_t l;
        uint32_t cp = sw_utf8_decode((const uint8_t *)s + i, n - i, &l);
        int b = cp == SW_UCP_INVALID ? -1 : sw_bpe_cp_to_byte(cp);
        if (b >= 0) {
            char c = (char)b;
            sink_put(&k, &c, 1);
        } else {
            sink_put(&k, s + i, l);
        }
        i += l;
    }
    return k.n;
}
