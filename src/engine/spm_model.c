/*
 * spm_model.c: a reader for SentencePiece's ModelProto (the protobuf wire
 * format, decoded here by hand): the repeated pieces (text, score, type) and
 * the BOS/EOS/UNK piece names of the TrainerSpec. The file is hostile input:
 * every varint, tag and length is checked against the bytes that remain in
 * its enclosing message before use; malformed data is an error, never a skip.
 */
#include <stdlib.h>
#include <string.h>

#include "tokenizer_int.h"

/* ModelProto fields */
#define PB_MODEL_PIECES 1
#define PB_MODEL_TRAINER 2
/* ModelProto.SentencePiece fields */
#define PB_PIECE_TEXT 1
#define PB_PIECE_SCORE 2
#define PB_PIECE_TYPE 3
/* TrainerSpec fields (sentencepiece_model.proto) */
#define PB_TRAINER_UNK_PIECE 45
#define PB_TRAINER_BOS_PIECE 46
#define PB_TRAINER_EOS_PIECE 47

enum pb_wire { PB_VARINT = 0, PB_I64 = 1, PB_LEN = 2, PB_SGROUP = 3, PB_EGROUP = 4, PB_I32 = 5 };

#define PB_MAX_FIELD ((1u << 29) - 1) /* protobuf's largest field number */
#define SPM_MAX_PIECES (1u << 24)     /* as the other vocabulary readers */

/* A cursor over one message: [pos, end) inside base. */
typedef struct pb {
    const uint8_t *base;
    size_t pos, end;
} pb;

static const char *wire_name(unsigned wt)
{
    static const char *const names[] = {"varint",      "fixed64",   "length-delimited",
                                        "start-group", "end-group", "fixed32"};
    return wt < 6 ? names[wt] : "invalid";
}

/* Reads a varint of at most 10 bytes whose value fits 64 bits. */
static swarm_err pb_varint(pb *r, uint64_t *out, swarm_diag *d)
{
    uint64_t v = 0;
    size_t start = r->pos;
    for (unsigned i = 0;; i++) {
        if (r->pos >= r->end)
            return sw_diag_set(d, SWARM_EFORMAT,
                               "SentencePiece model: truncated varint at offset %zu (its message "
                               "ends at %zu)",
                               start, r->end);
        uint8_t b = r->base[r->pos++];
        /* the 10th byte holds bit 63 only */
        if (i == 9 && b > 1)
            return sw_diag_set(d, SWARM_EFORMAT,
                               "SentencePiece model: overlong varint at offset %zu (more than 64 "
                               "bits)",
                               start);
        v |= (uint64_t)(b & 0x7f) << (7 * i);
        if ((b & 0x80) == 0) break;
    }
    *out = v;
    return SWARM_OK;
}

/* Reads a tag: field number (1 .. 2^29-1) and wire type (0..5). */
static swarm_err pb_tag(pb *r, uint32_t *field, unsigned *wt, swarm_diag *d)
{
    size_t at = r->pos;
    uint64_t v = 0;
    swarm_err rc = pb_varint(r, &v, d);
    if (rc != SWARM_OK) return rc;
    uint64_t f = v >> 3;
    if (f == 0 || f > PB_MAX_FIELD)
        return sw_diag_set(d, SWARM_EFORMAT,
                           "SentencePiece model: invalid field number %llu at offset %zu",
                           (unsigned long long)f, at);
    if ((v & 7) > PB_I32)
        return sw_diag_set(d, SWARM_EFORMAT,
                           "SentencePiece model: invalid wire type %u for field %llu at offset %zu",
                           (unsigned)(v & 7), (unsigned long long)f, at);
    *field = (uint32_t)f;
    *wt = (unsigned)(v & 7);
    return SWARM_OK;
}

/* Reads a length-delimited payload's bounds; the length must fit what is
 * left of the enclosing message. */
static swarm_err pb_len(pb *r, uint32_t field, size_t *start, size_t *len, swarm_diag *d)
{
    size_t at = r->pos;
    uint64_t n = 0;
    swarm_err rc = pb_varint(r, &n, d);
    if (rc != SWARM_OK) return rc;
    if (n > r->end - r->pos)
        return sw_diag_set(d, SWARM_EFORMAT,
                           "SentencePiece model: field %u at offset %zu has length %llu but only "
                           "%zu bytes are left in its message",
                           (unsigned)field, at, (unsigned long long)n, r->end - r->pos);
    *start = r->pos;
    *len = (size_t)n;
    r->pos += (size_t)n;
    return SWARM_OK;
}

static swarm_err pb_fixed(pb *r, uint32_t field, size_t n, const uint8_t **out, swarm_diag *d)
{
    if (r->end - r->pos < n) {
        sw_diag_set(d, SWARM_EFORMAT,
                    "SentencePiece model: field %u at offset %zu needs %zu bytes, only %zu are "
                    "left in its message",
                    (unsigned)field, r->pos, n, r->end - r->pos);
        return SWARM_EFORMAT; /* spelled out: *out is not set on this path */
    }
    *out = r->base + r->pos;
    r->pos += n;
    return SWARM_OK;
}

/* Skips a field we do not use. Groups are deprecated and never written by
 * SentencePiece: rejected rather than matched. */
static swarm_err pb_skip(pb *r, uint32_t field, unsigned wt, swarm_diag *d)
{
    uint64_t v = 0;
    size_t s = 0, n = 0;
    const uint8_t *p = NULL;
    switch (wt) {
    case PB_VARINT:
        return pb_varint(r, &v, d);
    case PB_I64:
        return pb_fixed(r, field, 8, &p, d);
    case PB_LEN:
        return pb_len(r, field, &s, &n, d);
    case PB_I32:
        return pb_fixed(r, field, 4, &p, d);
    default:
        return sw_diag_set(d, SWARM_EFORMAT,
                           "SentencePiece model: field %u at offset %zu uses %s wire type %u "
                           "(groups are not supported)",
                           (unsigned)field, r->pos, wire_name(wt), wt);
    }
}

static swarm_err want_wire(uint32_t field, unsigned wt, unsigned want, const char *what, size_t at,
                           swarm_diag *d)
{
    if (wt == want) return SWARM_OK;
    return sw_diag_set(d, SWARM_EFORMAT,
                       "SentencePiece model: %s (field %u) at offset %zu has wire type %u (%s), "
                       "expected %u (%s)",
                       what, (unsigned)field, at, wt, wire_name(wt), want, wire_name(want));
}

static float le_f32(const uint8_t *b)
{
    uint32_t u =
        (uint32_t)b[0] | ((uint32_t)b[1] << 8) | ((uint32_t)b[2] << 16) | ((uint32_t)b[3] << 24);
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/* One SentencePiece message in [start, start + len). */
static swarm_err parse_piece(const uint8_t *base, size_t start, size_t len, size_t idx,
                             sw_spm_piece *out, swarm_diag *d)
{
    pb r = {base, start, start + len};
    bool have_text = false;
    sw_spm_piece p = {.text = "", .len = 0, .score = 0.0f, .type = SW_TOKT_NORMAL};
    while (r.pos < r.end) {
        size_t at = r.pos;
        uint32_t f = 0;
        unsigned wt = 0;
        swarm_err rc = pb_tag(&r, &f, &wt, d);
        if (rc != SWARM_OK) return rc;
        if (f == PB_PIECE_TEXT) {
            size_t s = 0, n = 0;
            if ((rc = want_wire(f, wt, PB_LEN, "piece text", at, d)) != SWARM_OK ||
                (rc = pb_len(&r, f, &s, &n, d)) != SWARM_OK)
                return rc;
            p.text = (const char *)base + s;
            p.len = (uint32_t)n; /* n < file size, checked < 2^32 by the caller */
            have_text = true;
        } else if (f == PB_PIECE_SCORE) {
            const uint8_t *b = NULL;
            if ((rc = want_wire(f, wt, PB_I32, "piece score", at, d)) != SWARM_OK ||
                (rc = pb_fixed(&r, f, 4, &b, d)) != SWARM_OK)
                return rc;
            p.score = le_f32(b);
        } else if (f == PB_PIECE_TYPE) {
            uint64_t v = 0;
            if ((rc = want_wire(f, wt, PB_VARINT, "piece type", at, d)) != SWARM_OK ||
                (rc = pb_varint(&r, &v, d)) != SWARM_OK)
                return rc;
            /* SentencePiece's Type enum has the numbers of enum sw_tok_type */
            if (v < SW_TOKT_NORMAL || v >= SW_TOKT_COUNT)
                return sw_diag_set(d, SWARM_EFORMAT,
                                   "SentencePiece model: piece %zu has unknown type %llu "
                                   "(offset %zu)",
                                   idx, (unsigned long long)v, at);
            p.type = (uint8_t)v;
        } else if ((rc = pb_skip(&r, f, wt, d)) != SWARM_OK) {
            return rc;
        }
    }
    if (!have_text || p.len == 0)
        return sw_diag_set(d, SWARM_EFORMAT,
                           "SentencePiece model: piece %zu (offset %zu) has %s text", idx, start,
                           have_text ? "an empty" : "no");
    *out = p;
    return SWARM_OK;
}

/* TrainerSpec: only the special piece names matter here. */
static swarm_err parse_trainer(const uint8_t *base, size_t start, size_t len, sw_spm_model *m,
                               swarm_diag *d)
{
    pb r = {base, start, start + len};
    while (r.pos < r.end) {
        size_t at = r.pos;
        uint32_t f = 0;
        unsigned wt = 0;
        swarm_err rc = pb_tag(&r, &f, &wt, d);
        if (rc != SWARM_OK) return rc;
        sw_str *name = f == PB_TRAINER_UNK_PIECE   ? &m->unk_piece
                       : f == PB_TRAINER_BOS_PIECE ? &m->bos_piece
                       : f == PB_TRAINER_EOS_PIECE ? &m->eos_piece
                                                   : NULL;
        if (name == NULL) {
            if ((rc = pb_skip(&r, f, wt, d)) != SWARM_OK) return rc;
            continue;
        }
        size_t s = 0, n = 0;
        if ((rc = want_wire(f, wt, PB_LEN, "trainer_spec piece name", at, d)) != SWARM_OK ||
            (rc = pb_len(&r, f, &s, &n, d)) != SWARM_OK)
            return rc;
        name->ptr = (const char *)base + s;
        name->len = n;
    }
    return SWARM_OK;
}

bool sw_spm_model_sniff(const void *buf, size_t size)
{
    /* ModelProto starts with its first piece: tag 0x0A (field 1,
     * length-delimited) and a non-zero length. A llama2.c table starts with a
     * small int32 max_token_length (e.g. 07 00 00 00). */
    const uint8_t *b = buf;
    return size >= 2 && b[0] == 0x0A && b[1] != 0;
}

typedef struct dup_ctx {
    const sw_spm_piece *p;
} dup_ctx;

static int cmp_piece_idx(const void *a, const void *b, void *ctx)
{
    const sw_spm_piece *p = ((const dup_ctx *)ctx)->p;
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    size_t n = p[x].len < p[y].len ? p[x].len : p[y].len;
    int c = memcmp(p[x].text, p[y].text, n);
    if (c != 0) return c;
    if (p[x].len != p[y].len) return p[x].len < p[y].len ? -1 : 1;
    return x < y ? -1 : (x > y);
}

/* Resolves a special piece name as SentencePiece does: the id of the piece
 * with that text when it has the expected type, else none. */
static int32_t resolve(const sw_spm_model *m, const uint32_t *sorted, sw_str name, uint8_t type)
{
    size_t lo = 0, hi = m->n_pieces;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const sw_spm_piece *p = &m->pieces[sorted[mid]];
        size_t n = p->len < name.len ? p->len : (size_t)name.len;
        int c = memcmp(p->text, name.ptr, n);
        if (c == 0 && p->len != name.len) c = p->len < name.len ? -1 : 1;
        if (c == 0) return p->type == type ? (int32_t)sorted[mid] : -1;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

swarm_err sw_spm_model_parse(const void *buf, size_t size, sw_spm_model *m, swarm_diag *d)
{
    if (buf == NULL || m == NULL) return sw_diag_set(d, SWARM_EINVAL, "no SentencePiece model");
    memset(m, 0, sizeof(*m));
    if (size > UINT32_MAX)
        return sw_diag_set(d, SWARM_EFORMAT, "SentencePiece model: file too large (%zu bytes)",
                           size);
    const uint8_t *base = buf;
    sw_spm_model mm = {0};
    mm.unk_piece = (sw_str){"<unk>", 5};
    mm.bos_piece = (sw_str){"<s>", 3};
    mm.eos_piece = (sw_str){"</s>", 4};

    /* Pass 1: walk the top level (every field checked) and count pieces. */
    pb r = {base, 0, size};
    size_t n = 0;
    swarm_err rc = SWARM_OK;
    while (r.pos < r.end) {
        size_t at = r.pos;
        uint32_t f = 0;
        unsigned wt = 0;
        if ((rc = pb_tag(&r, &f, &wt, d)) != SWARM_OK) return rc;
        if (f == PB_MODEL_PIECES || f == PB_MODEL_TRAINER) {
            size_t s = 0, len = 0;
            if ((rc = want_wire(f, wt, PB_LEN, f == PB_MODEL_PIECES ? "piece" : "trainer_spec", at,
                                d)) != SWARM_OK ||
                (rc = pb_len(&r, f, &s, &len, d)) != SWARM_OK)
                return rc;
            if (f == PB_MODEL_PIECES)
                n++;
            else if ((rc = parse_trainer(base, s, len, &mm, d)) != SWARM_OK)
                return rc;
        } else if ((rc = pb_skip(&r, f, wt, d)) != SWARM_OK) {
            return rc;
        }
    }
    if (n == 0) return sw_diag_set(d, SWARM_EFORMAT, "SentencePiece model: no pieces");
    if (n > SPM_MAX_PIECES)
        return sw_diag_set(d, SWARM_EFORMAT, "SentencePiece model: %zu pieces (at most %u)", n,
                           SPM_MAX_PIECES);

    /* Pass 2: the pieces, in order (n <= size / 2: each takes two bytes). */
    mm.pieces = sw_malloc(n * sizeof(*mm.pieces));
    uint32_t *sorted = sw_malloc(n * sizeof(*sorted));
    if (mm.pieces == NULL || sorted == NULL) {
        rc = sw_diag_set(d, SWARM_ENOMEM, "SentencePiece model: out of memory for %zu pieces", n);
        goto fail;
    }
    r.pos = 0;
    while (r.pos < r.end) {
        uint32_t f = 0;
        unsigned wt = 0;
        size_t s = 0, len = 0;
        /* already validated by pass 1 */
        if ((rc = pb_tag(&r, &f, &wt, d)) != SWARM_OK) goto fail;
        if (f != PB_MODEL_PIECES) {
            if ((rc = pb_skip(&r, f, wt, d)) != SWARM_OK) goto fail;
            continue;
        }
        if ((rc = pb_len(&r, f, &s, &len, d)) != SWARM_OK ||
            (rc = parse_piece(base, s, len, mm.n_pieces, &mm.pieces[mm.n_pieces], d)) != SWARM_OK)
            goto fail;
        mm.n_pieces++;
    }
    SWARM_ASSERT(mm.n_pieces == n);

    /* SentencePiece refuses a model that defines a piece twice. */
    for (size_t i = 0; i < n; i++)
        sorted[i] = (uint32_t)i;
    dup_ctx dc = {mm.pieces};
    qsort_r(sorted, n, sizeof(*sorted), cmp_piece_idx, &dc);
    for (size_t i = 1; i < n; i++) {
        const sw_spm_piece *a = &mm.pieces[sorted[i - 1]], *b = &mm.pieces[sorted[i]];
        if (a->len == b->len && memcmp(a->text, b->text, a->len) == 0) {
            rc = sw_diag_set(d, SWARM_EFORMAT,
                             "SentencePiece model: piece '%.*s' is defined twice (ids %u and %u)",
                             (int)(a->len > 40 ? 40 : a->len), a->text, sorted[i - 1], sorted[i]);
            goto fail;
        }
    }
    mm.unk_id = resolve(&mm, sorted, mm.unk_piece, SW_TOKT_UNKNOWN);
    mm.bos_id = resolve(&mm, sorted, mm.bos_piece, SW_TOKT_CONTROL);
    mm.eos_id = resolve(&mm, sorted, mm.eos_piece, SW_TOKT_CONTROL);
    sw_free(sorted);
    *m = mm;
    return SWARM_OK;
fail:
    sw_free(sorted);
    sw_free(mm.pieces);
    return rc;
}

void sw_spm_model_free(sw_spm_model *m)
{
    if (m == NULL) return;
    sw_free(m->pieces);
    memset(m, 0, sizeof(*m));
}
