/*
 * parse.c: the grammar language (docs/grammar.md) -> swarm_grammar.
 *
 * Rules are parsed into alternatives of elements (byte sets and rule
 * references); groups and repetitions become anonymous rules, so the
 * compiled form has only sequences, alternation and recursion, which the
 * matcher follows with a stack per parse. Character classes are over code
 * points and are compiled to UTF-8 byte sequences, so that the matcher works
 * on bytes only. Before the grammar is accepted, checks that would
 * otherwise show up as hangs are made here: undefined rules, left recursion
 * (the matcher would expand it forever), rules that can never finish, and
 * the named limits of grammar.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "grammar_int.h"

typedef struct gseq {
    sw_gelem *v;
    uint32_t n, cap;
} gseq;

typedef struct brule {
    const char *name; /* points into the source; NULL for anonymous rules */
    uint32_t name_len;
    int line;          /* where defined (or first referenced) */
    int32_t origin;    /* anonymous: the named rule it was written in */
    bool defined;
    gseq *alts;
    uint32_t n_alts, cap_alts;
} brule;

typedef struct gb {
    const char *p, *end;
    int line;
    brule *rules;
    uint32_t n_rules, cap_rules;
    int32_t *name_ht; /* open addressing over rule ids, -1 empty */
    uint32_t ht_cap;
    uint32_t (*sets)[8];
    uint32_t n_sets, cap_sets;
    uint64_t n_elems; /* elements so far, for the limit */
    int depth;
    int32_t cur; /* the named rule being defined */
    swarm_diag *d;
    swarm_err err;
} gb;

static swarm_err fail(gb *b, swarm_err rc, const char *fmt, const char *a, const char *c)
{
    if (b->err != SWARM_OK) return b->err; /* keep the first message */
    char msg[400];
    snprintf(msg, sizeof(msg), fmt, a ? a : "", c ? c : "");
    sw_diag_set(b->d, rc, "grammar: line %d: %s", b->line, msg);
    b->err = rc;
    return rc;
}

static swarm_err oom(gb *b)
{
    if (b->err == SWARM_OK) {
        sw_diag_set(b->d, SWARM_ENOMEM, "grammar: out of memory");
        b->err = SWARM_ENOMEM;
    }
    return b->err;
}

/* ------------------------------------------------------------------------ */
/* building blocks                                                          */

static bool seq_push(gb *b, gseq *s, uint32_t type, uint32_t arg)
{
    if (b->err) return false;
    if (++b->n_elems > SWARM_GRAMMAR_MAX_ELEMS) {
        char lim[32];
        snprintf(lim, sizeof(lim), "%d", SWARM_GRAMMAR_MAX_ELEMS);
        fail(b, SWARM_EFORMAT, "the grammar expands to more than %s elements (repetitions "
                               "count once per copy)", lim, NULL);
        return false;
    }
    if (s->n == s->cap) {
        uint32_t cap = s->cap ? s->cap * 2 : 4;
        sw_gelem *v = sw_realloc(s->v, (size_t)cap * sizeof(*v));
        if (v == NULL) {
            oom(b);
            return false;
        }
        s->v = v;
        s->cap = cap;
    }
    s->v[s->n++] = (sw_gelem){type, arg};
    return true;
}

static bool seq_append(gb *b, gseq *dst, const gseq *src)
{
    for (uint32_t i = 0; i < src->n; i++)
        if (!seq_push(b, dst, src->v[i].type, src->v[i].arg)) return false;
    return true;
}

static void seq_free(gseq *s)
{
    sw_free(s->v);
    *s = (gseq){0};
}

static int32_t rule_new(gb *b, const char *name, uint32_t len)
{
    if (b->err) return -1;
    if (b->n_rules >= SWARM_GRAMMAR_MAX_RULES) {
        char lim[32];
        snprintf(lim, sizeof(lim), "%d", SWARM_GRAMMAR_MAX_RULES);
        fail(b, SWARM_EFORMAT, "more than %s rules (groups and repetitions count as rules)", lim,
             NULL);
        return -1;
    }
    if (b->n_rules == b->cap_rules) {
        uint32_t cap = b->cap_rules ? b->cap_rules * 2 : 32;
        brule *r = sw_realloc(b->rules, (size_t)cap * sizeof(*r));
        if (r == NULL) {
            oom(b);
            return -1;
        }
        b->rules = r;
        b->cap_rules = cap;
    }
    b->rules[b->n_rules] = (brule){.name = name, .name_len = len, .line = b->line,
                                   .origin = b->cur};
    return (int32_t)b->n_rules++;
}

/* A new alternative of rule r (empty), or NULL. */
static gseq *rule_alt(gb *b, int32_t r)
{
    if (b->err || r < 0) return NULL;
    brule *ru = &b->rules[r];
    if (ru->n_alts >= SWARM_GRAMMAR_MAX_ALTS) {
        char lim[32];
        snprintf(lim, sizeof(lim), "%d", SWARM_GRAMMAR_MAX_ALTS);
        fail(b, SWARM_EFORMAT, "more than %s alternatives in one rule or group", lim, NULL);
        return NULL;
    }
    if (ru->n_alts == ru->cap_alts) {
        uint32_t cap = ru->cap_alts ? ru->cap_alts * 2 : 2;
        gseq *a = sw_realloc(ru->alts, (size_t)cap * sizeof(*a));
        if (a == NULL) {
            oom(b);
            return NULL;
        }
        ru->alts = a;
        ru->cap_alts = cap;
    }
    ru->alts[ru->n_alts] = (gseq){0};
    return &ru->alts[ru->n_alts++];
}

static uint32_t name_hash(const char *s, uint32_t n)
{
    uint32_t h = 2166136261u;
    for (uint32_t i = 0; i < n; i++) h = (h ^ (uint8_t)s[i]) * 16777619u;
    return h;
}

/* The rule called name, declared (undefined) if new. */
static int32_t rule_named(gb *b, const char *name, uint32_t len)
{
    if (b->err) return -1;
    if (b->ht_cap == 0 || (b->n_rules + 1) * 2 > b->ht_cap) {
        uint32_t cap = b->ht_cap ? b->ht_cap * 2 : 256;
        int32_t *ht = sw_malloc((size_t)cap * sizeof(*ht));
        if (ht == NULL) {
            oom(b);
            return -1;
        }
        for (uint32_t i = 0; i < cap; i++) ht[i] = -1;
        for (uint32_t r = 0; r < b->n_rules; r++) {
            if (b->rules[r].name == NULL) continue;
            uint32_t h = name_hash(b->rules[r].name, b->rules[r].name_len) & (cap - 1);
            while (ht[h] >= 0) h = (h + 1) & (cap - 1);
            ht[h] = (int32_t)r;
        }
        sw_free(b->name_ht);
        b->name_ht = ht;
        b->ht_cap = cap;
    }
    uint32_t h = name_hash(name, len) & (b->ht_cap - 1);
    while (b->name_ht[h] >= 0) {
        brule *r = &b->rules[b->name_ht[h]];
        if (r->name_len == len && memcmp(r->name, name, len) == 0) return b->name_ht[h];
        h = (h + 1) & (b->ht_cap - 1);
    }
    int32_t r = rule_new(b, name, len);
    if (r < 0) return -1;
    b->rules[r].origin = -1;
    b->name_ht[h] = r;
    return r;
}

/* Index of a byte set; single bytes use the first 256 sets. */
static int32_t set_add(gb *b, const uint32_t *bits)
{
    if (b->err) return -1;
    if (b->n_sets == b->cap_sets) {
        uint32_t cap = b->cap_sets * 2;
        uint32_t(*s)[8] = sw_realloc(b->sets, (size_t)cap * sizeof(*s));
        if (s == NULL) {
            oom(b);
            return -1;
        }
        b->sets = s;
        b->cap_sets = cap;
    }
    memcpy(b->sets[b->n_sets], bits, 32);
    return (int32_t)b->n_sets++;
}

/* ------------------------------------------------------------------------ */
/* lexing                                                                   */

static void skip_space(gb *b)
{
    while (b->p < b->end) {
        char c = *b->p;
        if (c == '\n') {
            b->line++;
            b->p++;
        } else if (c == ' ' || c == '\t' || c == '\r') {
            b->p++;
        } else if (c == '#') {
            while (b->p < b->end && *b->p != '\n') b->p++;
        } else {
            break;
        }
    }
}

static bool is_name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '-';
}

static uint32_t name_len_at(const gb *b, const char *p)
{
    const char *q = p;
    while (q < b->end && is_name_char(*q)) q++;
    return (uint32_t)(q - p);
}

/* True when p starts `name ::=` (the next rule's head). */
static bool at_rule_head(const gb *b, const char *p)
{
    uint32_t n = name_len_at(b, p);
    if (n == 0) return false;
    p += n;
    while (p < b->end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')) p++;
    return b->end - p >= 3 && memcmp(p, "::=", 3) == 0;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* One character of a literal or class: an escape or a UTF-8 code point.
 * Returns false (error set) on a bad escape or bad UTF-8. */
static bool read_char(gb *b, uint32_t *cp)
{
    const unsigned char *p = (const unsigned char *)b->p;
    size_t left = (size_t)(b->end - b->p);
    if (left == 0) {
        fail(b, SWARM_EFORMAT, "unexpected end of text", NULL, NULL);
        return false;
    }
    if (p[0] == '\\') {
        if (left < 2) {
            fail(b, SWARM_EFORMAT, "unexpected end of text after '\\'", NULL, NULL);
            return false;
        }
        int digits = 0;
        switch (p[1]) {
        case 'n': *cp = '\n'; break;
        case 'r': *cp = '\r'; break;
        case 't': *cp = '\t'; break;
        case '0': *cp = 0; break;
        case '\\': case '"': case '\'': case '[': case ']': case '-': case '^': *cp = p[1]; break;
        case 'x': digits = 2; break;
        case 'u': digits = 4; break;
        case 'U': digits = 8; break;
        default: {
            char e[2] = {(char)p[1], 0};
            fail(b, SWARM_EFORMAT, "unknown escape '\\%s'", e, NULL);
            return false;
        }
        }
        b->p += 2;
        if (digits) {
            uint32_t v = 0;
            for (int i = 0; i < digits; i++) {
                int h = b->p < b->end ? hexval(*b->p) : -1;
                if (h < 0) {
                    fail(b, SWARM_EFORMAT, "escape needs hex digits", NULL, NULL);
                    return false;
                }
                v = v * 16 + (uint32_t)h;
                b->p++;
            }
            if (v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) {
                fail(b, SWARM_EFORMAT, "escape is not a Unicode scalar value", NULL, NULL);
                return false;
            }
            *cp = v;
        }
        return true;
    }
    if (p[0] < 0x80) {
        if (p[0] == '\n') b->line++;
        *cp = p[0];
        b->p++;
        return true;
    }
    size_t n = p[0] >= 0xF0 && p[0] <= 0xF4 ? 4 : p[0] >= 0xE0 && p[0] < 0xF0 ? 3
             : p[0] >= 0xC2 && p[0] < 0xE0 ? 2 : 0;
    if (n == 0 || n > left) goto bad;
    uint32_t v = p[0] & (0x7F >> n);
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xC0) != 0x80) goto bad;
        v = (v << 6) | (p[i] & 0x3F);
    }
    if ((n == 3 && v < 0x800) || (n == 4 && (v < 0x10000 || v > 0x10FFFF)) ||
        (v >= 0xD800 && v <= 0xDFFF))
        goto bad;
    *cp = v;
    b->p += n;
    return true;
bad:
    fail(b, SWARM_EFORMAT, "invalid UTF-8 in the grammar text", NULL, NULL);
    return false;
}

static size_t utf8_put(uint32_t cp, uint8_t *out)
{
    if (cp < 0x80) {
        out[0] = (uint8_t)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (uint8_t)(0xC0 | (cp >> 6));
        out[1] = (uint8_t)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (uint8_t)(0xE0 | (cp >> 12));
        out[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (uint8_t)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (uint8_t)(0xF0 | (cp >> 18));
    out[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (uint8_t)(0x80 | (cp & 0x3F));
    return 4;
}

/* ------------------------------------------------------------------------ */
/* character classes -> byte sequences                                      */

typedef struct cprange {
    uint32_t lo, hi;
} cprange;

static int cprange_cmp(const void *a, const void *b)
{
    const cprange *x = a, *y = b;
    return (x->lo > y->lo) - (x->lo < y->lo);
}

/* Adds the byte sequences of code points lo..hi (same UTF-8 length, no
 * surrogates) to class rule r, splitting so that each sequence is a
 * product of byte ranges (the construction of RE2 and Rust's utf8-ranges). */
static void class_seq(gb *b, int32_t r, uint32_t lo, uint32_t hi)
{
    static const uint32_t bounds[] = {0x7F, 0x7FF, 0xFFFF};
    for (int i = 0; i < 3; i++)
        if (lo <= bounds[i] && hi > bounds[i]) {
            class_seq(b, r, lo, bounds[i]);
            class_seq(b, r, bounds[i] + 1, hi);
            return;
        }
    uint8_t el[4], eh[4];
    size_t n = utf8_put(lo, el);
    for (size_t i = 1; i < n; i++) {
        uint32_t m = (1u << (6 * i)) - 1;
        if ((lo & ~m) != (hi & ~m)) {
            if ((lo & m) != 0) {
                class_seq(b, r, lo, lo | m);
                class_seq(b, r, (lo | m) + 1, hi);
                return;
            }
            if ((hi & m) != m) {
                class_seq(b, r, lo, (hi & ~m) - 1);
                class_seq(b, r, hi & ~m, hi);
                return;
            }
        }
    }
    utf8_put(hi, eh);
    gseq *alt = rule_alt(b, r);
    if (alt == NULL) return;
    for (size_t i = 0; i < n; i++) {
        uint32_t bits[8] = {0};
        for (uint32_t c = el[i]; c <= eh[i]; c++) bits[c >> 5] |= 1u << (c & 31);
        int32_t s = set_add(b, bits);
        if (s < 0 || !seq_push(b, alt, SW_GE_SET, (uint32_t)s)) return;
    }
}

/* Ranges (sorted, merged, complemented if neg, minus surrogates) -> one
 * element in out: a byte set when all are ASCII, else a class rule. */
static void class_emit(gb *b, cprange *rg, size_t n, bool neg, gseq *out)
{
    if (n > 1) qsort(rg, n, sizeof(*rg), cprange_cmp);
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (m > 0 && rg[i].lo <= rg[m - 1].hi + 1) {
            if (rg[i].hi > rg[m - 1].hi) rg[m - 1].hi = rg[i].hi;
        } else {
            rg[m++] = rg[i];
        }
    }
    /* complement into at most m + 1 ranges, then drop surrogates (+1 range) */
    cprange *fin = sw_malloc((m + 3) * sizeof(*fin));
    if (fin == NULL) {
        oom(b);
        return;
    }
    size_t k = 0;
    if (neg) {
        uint32_t next = 0;
        for (size_t i = 0; i < m; i++) {
            if (rg[i].lo > next) fin[k++] = (cprange){next, rg[i].lo - 1};
            next = rg[i].hi + 1;
        }
        if (next <= 0x10FFFF) fin[k++] = (cprange){next, 0x10FFFF};
    } else if (m > 0) {
        memcpy(fin, rg, m * sizeof(*fin));
        k = m;
    }
    size_t k2 = 0;
    cprange *cut = sw_malloc((k * 2 + 1) * sizeof(*cut));
    if (cut == NULL) {
        sw_free(fin);
        oom(b);
        return;
    }
    for (size_t i = 0; i < k; i++) {
        cprange x = fin[i];
        if (x.hi < 0xD800 || x.lo > 0xDFFF) {
            cut[k2++] = x;
            continue;
        }
        if (x.lo < 0xD800) cut[k2++] = (cprange){x.lo, 0xD7FF};
        if (x.hi > 0xDFFF) cut[k2++] = (cprange){0xE000, x.hi};
    }
    sw_free(fin);
    uint32_t ascii[8] = {0};
    bool have_ascii = false, wide = false;
    for (size_t i = 0; i < k2; i++) {
        for (uint32_t c = cut[i].lo; c <= cut[i].hi && c < 0x80; c++) {
            ascii[c >> 5] |= 1u << (c & 31);
            have_ascii = true;
        }
        if (cut[i].hi >= 0x80) wide = true;
    }
    if (!wide) {
        /* an empty class is a set that matches nothing: its rule can then
         * never finish, which the productivity check reports */
        int32_t s = set_add(b, ascii);
        if (s >= 0) seq_push(b, out, SW_GE_SET, (uint32_t)s);
        sw_free(cut);
        return;
    }
    int32_t r = rule_new(b, NULL, 0);
    if (r >= 0) {
        b->rules[r].defined = true;
        if (have_ascii) {
            gseq *alt = rule_alt(b, r);
            int32_t s = set_add(b, ascii);
            if (alt != NULL && s >= 0) seq_push(b, alt, SW_GE_SET, (uint32_t)s);
        }
        for (size_t i = 0; i < k2 && !b->err; i++) {
            uint32_t lo = cut[i].lo < 0x80 ? 0x80 : cut[i].lo;
            if (cut[i].hi >= lo) class_seq(b, r, lo, cut[i].hi);
        }
        seq_push(b, out, SW_GE_REF, (uint32_t)r);
    }
    sw_free(cut);
}

/* [...] or [^...]; b->p is after '['. */
static void parse_class(gb *b, gseq *out)
{
    bool neg = false;
    if (b->p < b->end && *b->p == '^') {
        neg = true;
        b->p++;
    }
    cprange *rg = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (b->p >= b->end) {
            fail(b, SWARM_EFORMAT, "unterminated character class (missing ']')", NULL, NULL);
            break;
        }
        if (*b->p == ']') {
            b->p++;
            break;
        }
        uint32_t lo, hi;
        if (!read_char(b, &lo)) break;
        hi = lo;
        if (b->end - b->p >= 2 && b->p[0] == '-' && b->p[1] != ']') {
            b->p++;
            if (!read_char(b, &hi)) break;
            if (hi < lo) {
                fail(b, SWARM_EFORMAT, "character range is reversed", NULL, NULL);
                break;
            }
        }
        if (n == cap) {
            cap = cap ? cap * 2 : 8;
            cprange *t = sw_realloc(rg, cap * sizeof(*rg));
            if (t == NULL) {
                oom(b);
                break;
            }
            rg = t;
        }
        rg[n++] = (cprange){lo, hi};
    }
    if (!b->err) class_emit(b, rg, n, neg, out);
    sw_free(rg);
}

/* ------------------------------------------------------------------------ */
/* expressions                                                              */

static void parse_alts(gb *b, int32_t r);

/* Wraps a sequence of several elements (or none) into a rule, so that a
 * postfix operator applies to all of it. */
static void as_one(gb *b, gseq *x)
{
    if (x->n == 1) return;
    int32_t r = rule_new(b, NULL, 0);
    gseq *alt = rule_alt(b, r);
    if (alt == NULL) return;
    b->rules[r].defined = true;
    *alt = *x;
    *x = (gseq){0};
    seq_push(b, x, SW_GE_REF, (uint32_t)r);
}

/* x*: S ::= x S | (empty) */
static int32_t star_rule(gb *b, const gseq *x)
{
    int32_t r = rule_new(b, NULL, 0);
    gseq *a = rule_alt(b, r);
    if (a == NULL || !seq_append(b, a, x) || !seq_push(b, a, SW_GE_REF, (uint32_t)r)) return -1;
    if (rule_alt(b, r) == NULL) return -1;
    b->rules[r].defined = true;
    return r;
}

static bool parse_uint(gb *b, uint32_t *out)
{
    const char *s = b->p;
    uint64_t v = 0;
    while (b->p < b->end && *b->p >= '0' && *b->p <= '9') {
        v = v * 10 + (uint64_t)(*b->p - '0');
        if (v > SWARM_GRAMMAR_MAX_REPEAT) {
            char lim[32];
            snprintf(lim, sizeof(lim), "%d", SWARM_GRAMMAR_MAX_REPEAT);
            fail(b, SWARM_EFORMAT, "repetition count above the limit of %s", lim, NULL);
            return false;
        }
        b->p++;
    }
    *out = (uint32_t)v;
    return b->p > s;
}

/* Applies {m,n} (n == UINT32_MAX: unbounded) to x. */
static void repeat(gb *b, gseq *x, uint32_t m, uint32_t n)
{
    gseq out = {0};
    for (uint32_t i = 0; i < m && !b->err; i++) seq_append(b, &out, x);
    if (n == UINT32_MAX) {
        int32_t s = star_rule(b, x);
        if (s >= 0) seq_push(b, &out, SW_GE_REF, (uint32_t)s);
    } else if (n > m) {
        /* O1 ::= x | ()   Ok ::= x O(k-1) | () : one rule per optional copy */
        int32_t prev = -1;
        for (uint32_t k = 0; k < n - m && !b->err; k++) {
            int32_t r = rule_new(b, NULL, 0);
            gseq *a = rule_alt(b, r);
            if (a == NULL || !seq_append(b, a, x)) break;
            if (prev >= 0 && !seq_push(b, a, SW_GE_REF, (uint32_t)prev)) break;
            if (rule_alt(b, r) == NULL) break;
            b->rules[r].defined = true;
            prev = r;
        }
        if (prev >= 0) seq_push(b, &out, SW_GE_REF, (uint32_t)prev);
    }
    seq_free(x);
    *x = out;
}

/* One primary with its postfix operators, appended to s. */
static void parse_item(gb *b, gseq *s)
{
    gseq x = {0};
    char c = *b->p;
    if (c == '"') {
        b->p++;
        for (;;) {
            if (b->p >= b->end) {
                fail(b, SWARM_EFORMAT, "unterminated string literal (missing '\"')", NULL, NULL);
                break;
            }
            if (*b->p == '"') {
                b->p++;
                break;
            }
            uint32_t cp;
            if (!read_char(b, &cp)) break;
            uint8_t u[4];
            size_t k = utf8_put(cp, u);
            for (size_t i = 0; i < k; i++) seq_push(b, &x, SW_GE_SET, u[i]);
        }
    } else if (c == '[') {
        b->p++;
        parse_class(b, &x);
    } else if (c == '.') {
        b->p++;
        class_emit(b, NULL, 0, true, &x);
    } else if (c == '(') {
        b->p++;
        if (++b->depth > SWARM_GRAMMAR_MAX_NESTING) {
            char lim[32];
            snprintf(lim, sizeof(lim), "%d", SWARM_GRAMMAR_MAX_NESTING);
            fail(b, SWARM_EFORMAT, "groups nested deeper than %s", lim, NULL);
        } else {
            int32_t r = rule_new(b, NULL, 0);
            if (r >= 0) {
                b->rules[r].defined = true;
                parse_alts(b, r);
                skip_space(b);
                if (!b->err && (b->p >= b->end || *b->p != ')'))
                    fail(b, SWARM_EFORMAT, "missing ')'", NULL, NULL);
                b->p++;
                seq_push(b, &x, SW_GE_REF, (uint32_t)r);
            }
        }
        b->depth--;
    } else if (is_name_char(c)) {
        uint32_t n = name_len_at(b, b->p);
        int32_t r = rule_named(b, b->p, n);
        b->p += n;
        if (r >= 0) seq_push(b, &x, SW_GE_REF, (uint32_t)r);
    } else {
        char e[2] = {c, 0};
        fail(b, SWARM_EFORMAT, "unexpected character '%s'", e, NULL);
    }
    /* postfix operators, which may follow each other: x?* */
    while (!b->err && b->p < b->end) {
        c = *b->p;
        if (c != '?' && c != '*' && c != '+' && c != '{') break;
        b->p++;
        as_one(b, &x);
        if (b->err) break;
        if (c == '?') {
            repeat(b, &x, 0, 1);
        } else if (c == '*') {
            repeat(b, &x, 0, UINT32_MAX);
        } else if (c == '+') {
            repeat(b, &x, 1, UINT32_MAX);
        } else {
            uint32_t m = 0, n;
            skip_space(b);
            bool have_m = parse_uint(b, &m);
            skip_space(b);
            if (b->err) break;
            if (b->p < b->end && *b->p == '}') {
                if (!have_m) {
                    fail(b, SWARM_EFORMAT, "empty repetition '{}'", NULL, NULL);
                    break;
                }
                n = m;
            } else if (b->p < b->end && *b->p == ',') {
                b->p++;
                skip_space(b);
                if (!parse_uint(b, &n)) {
                    if (b->err) break;
                    n = UINT32_MAX;
                }
                skip_space(b);
            } else {
                fail(b, SWARM_EFORMAT, "bad repetition: want {m}, {m,}, {m,n} or {,n}", NULL,
                     NULL);
                break;
            }
            if (b->p >= b->end || *b->p != '}') {
                fail(b, SWARM_EFORMAT, "missing '}' after a repetition", NULL, NULL);
                break;
            }
            b->p++;
            if (n < m) {
                fail(b, SWARM_EFORMAT, "repetition {m,n} with n < m", NULL, NULL);
                break;
            }
            repeat(b, &x, m, n);
        }
    }
    seq_append(b, s, &x);
    seq_free(&x);
}

static void parse_seq(gb *b, gseq *s)
{
    for (;;) {
        skip_space(b);
        if (b->err || b->p >= b->end || *b->p == '|' || *b->p == ')') return;
        if (at_rule_head(b, b->p)) return;
        parse_item(b, s);
    }
}

static void parse_alts(gb *b, int32_t r)
{
    for (;;) {
        gseq *a = rule_alt(b, r);
        if (a == NULL) return;
        gseq tmp = {0}; /* rule_alt may move the alternatives */
        parse_seq(b, &tmp);
        b->rules[r].alts[b->rules[r].n_alts - 1] = tmp;
        skip_space(b);
        if (b->err || b->p >= b->end || *b->p != '|') return;
        b->p++;
    }
}

/* ------------------------------------------------------------------------ */
/* checks                                                                   */

/* "rule 'x'" or "a group or repetition in rule 'x'". */
static void rule_desc(const gb *b, uint32_t r, char *buf, size_t cap)
{
    const brule *ru = &b->rules[r];
    if (ru->name != NULL) {
        snprintf(buf, cap, "rule '%.*s'", (int)(ru->name_len > 64 ? 64 : ru->name_len), ru->name);
        return;
    }
    const brule *o = ru->origin >= 0 ? &b->rules[ru->origin] : NULL;
    if (o != NULL)
        snprintf(buf, cap, "a group or repetition in rule '%.*s'",
                 (int)(o->name_len > 64 ? 64 : o->name_len), o->name);
    else
        snprintf(buf, cap, "a group or repetition");
}

/* Nullable and productive rules by the usual worklist: an alternative
 * counts its references not yet known to be X; when a rule becomes X, the
 * alternatives that reference it count down. */
static swarm_err fixpoint(gb *b, bool productive, uint8_t *flag)
{
    uint32_t n_alts = 0;
    for (uint32_t r = 0; r < b->n_rules; r++) n_alts += b->rules[r].n_alts;
    uint32_t *alt_rule = sw_calloc(n_alts + 1, sizeof(uint32_t));
    int32_t *cnt = sw_calloc(n_alts + 1, sizeof(int32_t));
    uint32_t *occ_off = sw_calloc(b->n_rules + 2, sizeof(uint32_t));
    uint32_t *occ = sw_calloc(b->n_elems + 1, sizeof(uint32_t));
    uint32_t *work = sw_calloc(b->n_rules + 1, sizeof(uint32_t));
    swarm_err rc = SWARM_OK;
    if (!alt_rule || !cnt || !occ_off || !occ || !work) {
        rc = oom(b);
        goto done;
    }
    uint32_t a = 0;
    for (uint32_t r = 0; r < b->n_rules; r++)
        for (uint32_t i = 0; i < b->rules[r].n_alts; i++, a++) {
            const gseq *s = &b->rules[r].alts[i];
            alt_rule[a] = r;
            for (uint32_t e = 0; e < s->n; e++) {
                if (s->v[e].type == SW_GE_REF) {
                    cnt[a]++;
                    occ_off[s->v[e].arg + 1]++;
                } else {
                    const uint32_t *set = b->sets[s->v[e].arg];
                    bool empty = true;
                    for (int w = 0; w < 8; w++) empty = empty && set[w] == 0;
                    /* a byte is never empty; a byte set is productive unless empty */
                    if (!productive || empty) cnt[a] = INT32_MIN / 2;
                }
            }
        }
    for (uint32_t r = 0; r < b->n_rules; r++) occ_off[r + 1] += occ_off[r];
    uint32_t *fill = work; /* reuse as cursor while filling occ */
    for (uint32_t r = 0; r < b->n_rules; r++) fill[r] = occ_off[r];
    a = 0;
    for (uint32_t r = 0; r < b->n_rules; r++)
        for (uint32_t i = 0; i < b->rules[r].n_alts; i++, a++) {
            const gseq *s = &b->rules[r].alts[i];
            for (uint32_t e = 0; e < s->n; e++)
                if (s->v[e].type == SW_GE_REF) occ[fill[s->v[e].arg]++] = a;
        }
    uint32_t nw = 0;
    for (uint32_t i = 0; i < n_alts; i++)
        if (cnt[i] == 0 && !flag[alt_rule[i]]) {
            flag[alt_rule[i]] = 1;
            work[nw++] = alt_rule[i];
        }
    while (nw > 0) {
        uint32_t r = work[--nw];
        for (uint32_t k = occ_off[r]; k < occ_off[r + 1]; k++) {
            uint32_t alt = occ[k];
            if (--cnt[alt] == 0 && !flag[alt_rule[alt]]) {
                flag[alt_rule[alt]] = 1;
                work[nw++] = alt_rule[alt];
            }
        }
    }
done:
    sw_free(alt_rule);
    sw_free(cnt);
    sw_free(occ_off);
    sw_free(occ);
    sw_free(work);
    return rc;
}

/* Left recursion: rule A can start with rule B when B follows a nullable
 * prefix of one of A's alternatives; a cycle in that relation would make
 * the matcher expand forever. Iterative DFS (rules may be many). */
static swarm_err check_left_recursion(gb *b, const uint8_t *nullable)
{
    uint32_t n = b->n_rules;
    uint8_t *color = sw_calloc(n + 1, 1); /* 0 new, 1 on the path, 2 done */
    struct frame {
        uint32_t r, alt, el;
    } *st = sw_calloc(n + 1, sizeof(*st));
    swarm_err rc = SWARM_OK;
    if (color == NULL || st == NULL) {
        rc = oom(b);
        goto done;
    }
    for (uint32_t root = 0; root < n && rc == SWARM_OK; root++) {
        if (color[root]) continue;
        uint32_t sp = 0;
        st[sp++] = (struct frame){root, 0, 0};
        color[root] = 1;
        while (sp > 0 && rc == SWARM_OK) {
            struct frame *f = &st[sp - 1];
            const brule *ru = &b->rules[f->r];
            if (f->alt >= ru->n_alts) {
                color[f->r] = 2;
                sp--;
                continue;
            }
            const gseq *s = &ru->alts[f->alt];
            if (f->el >= s->n) {
                f->alt++;
                f->el = 0;
                continue;
            }
            sw_gelem e = s->v[f->el];
            /* past this element only if it can match nothing */
            bool stop = e.type != SW_GE_REF || !nullable[e.arg];
            if (stop) {
                f->alt++;
                f->el = 0;
            } else {
                f->el++;
            }
            if (e.type != SW_GE_REF) continue;
            if (color[e.arg] == 1) {
                /* the cycle: from e.arg's frame to the top */
                char path[320] = "", one[96];
                size_t len = 0;
                uint32_t from = 0;
                while (st[from].r != e.arg) from++;
                for (uint32_t k = from; k < sp && len < sizeof(path) - 100; k++) {
                    rule_desc(b, st[k].r, one, sizeof(one));
                    len += (size_t)snprintf(path + len, sizeof(path) - len, "%s -> ", one);
                }
                rule_desc(b, e.arg, one, sizeof(one));
                snprintf(path + len, sizeof(path) - len, "%s", one);
                int line = b->rules[e.arg].line;
                b->line = line;
                rc = fail(b, SWARM_EFORMAT,
                          "left recursion: %s (a rule must not start with itself, also not "
                          "through parts that can match nothing, e.g. (\"\")*)",
                          path, NULL);
                break;
            }
            if (color[e.arg] == 0) {
                color[e.arg] = 1;
                st[sp++] = (struct frame){e.arg, 0, 0};
            }
        }
    }
done:
    sw_free(color);
    sw_free(st);
    return rc;
}

static swarm_err check(gb *b, uint32_t root)
{
    for (uint32_t r = 0; r < b->n_rules; r++)
        if (!b->rules[r].defined) {
            char name[80];
            snprintf(name, sizeof(name), "%.*s", (int)(b->rules[r].name_len > 64 ? 64 :
                                                       b->rules[r].name_len), b->rules[r].name);
            b->line = b->rules[r].line;
            return fail(b, SWARM_EFORMAT, "undefined rule '%s'", name, NULL);
        }
    uint8_t *nullable = sw_calloc(b->n_rules + 1, 1);
    uint8_t *prod = sw_calloc(b->n_rules + 1, 1);
    swarm_err rc = SWARM_OK;
    if (nullable == NULL || prod == NULL) {
        rc = oom(b);
        goto done;
    }
    if ((rc = fixpoint(b, false, nullable)) != SWARM_OK) goto done;
    if ((rc = fixpoint(b, true, prod)) != SWARM_OK) goto done;
    if ((rc = check_left_recursion(b, nullable)) != SWARM_OK) goto done;
    /* every rule reachable from root must be able to finish, or generation
     * could be led into a part that never ends */
    uint8_t *seen = nullable; /* reuse */
    memset(seen, 0, b->n_rules);
    uint32_t *work = sw_calloc(b->n_rules + 1, sizeof(uint32_t));
    if (work == NULL) {
        rc = oom(b);
        goto done;
    }
    uint32_t nw = 0;
    work[nw++] = root;
    seen[root] = 1;
    while (nw > 0 && rc == SWARM_OK) {
        uint32_t r = work[--nw];
        if (!prod[r]) {
            char desc[128];
            rule_desc(b, r, desc, sizeof(desc));
            b->line = b->rules[r].line;
            rc = fail(b, SWARM_EFORMAT,
                      "%s can never finish (each alternative needs itself again or an empty "
                      "character class)", desc, NULL);
            break;
        }
        const brule *ru = &b->rules[r];
        for (uint32_t i = 0; i < ru->n_alts; i++)
            for (uint32_t e = 0; e < ru->alts[i].n; e++) {
                sw_gelem x = ru->alts[i].v[e];
                if (x.type == SW_GE_REF && !seen[x.arg]) {
                    seen[x.arg] = 1;
                    work[nw++] = x.arg;
                }
            }
    }
    sw_free(work);
done:
    sw_free(nullable);
    sw_free(prod);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* compiled form                                                            */

static swarm_err flatten(gb *b, uint32_t root, swarm_grammar **out)
{
    swarm_grammar *g = sw_calloc(1, sizeof(*g));
    if (g == NULL) return oom(b);
    uint32_t n_alts = 0;
    uint64_t n_el = 0;
    for (uint32_t r = 0; r < b->n_rules; r++) {
        n_alts += b->rules[r].n_alts;
        for (uint32_t i = 0; i < b->rules[r].n_alts; i++) n_el += b->rules[r].alts[i].n + 1;
    }
    g->elems = sw_calloc(n_el + 1, sizeof(sw_gelem));
    g->alt_off = sw_calloc(b->n_rules + 1, sizeof(uint32_t));
    g->alts = sw_calloc(n_alts + 1, sizeof(uint32_t));
    g->sets = sw_malloc((size_t)b->n_sets * 32);
    if (!g->elems || !g->alt_off || !g->alts || !g->sets) {
        swarm_grammar_destroy(g);
        return oom(b);
    }
    memcpy(g->sets, b->sets, (size_t)b->n_sets * 32);
    g->n_sets = b->n_sets;
    uint32_t e = 0, a = 0;
    for (uint32_t r = 0; r < b->n_rules; r++) {
        g->alt_off[r] = a;
        const brule *ru = &b->rules[r];
        for (uint32_t i = 0; i < ru->n_alts; i++) {
            g->alts[a++] = e;
            if (ru->alts[i].n > 0)
                memcpy(g->elems + e, ru->alts[i].v, (size_t)ru->alts[i].n * sizeof(sw_gelem));
            e += ru->alts[i].n;
            g->elems[e++] = (sw_gelem){i + 1 == ru->n_alts ? SW_GE_END : SW_GE_ALT, 0};
        }
    }
    g->alt_off[b->n_rules] = a;
    g->n_elems = e;
    g->n_rules = b->n_rules;
    g->root = root;
    *out = g;
    return SWARM_OK;
}

swarm_err sw_grammar_clone(const swarm_grammar *g, swarm_grammar **out)
{
    swarm_grammar *c = sw_calloc(1, sizeof(*c));
    if (c == NULL) return SWARM_ENOMEM;
    *c = *g;
    c->elems = sw_malloc(((size_t)g->n_elems + 1) * sizeof(sw_gelem));
    c->sets = sw_malloc(((size_t)g->n_sets + 1) * 32);
    c->alt_off = sw_malloc(((size_t)g->n_rules + 1) * sizeof(uint32_t));
    c->alts = sw_malloc(((size_t)g->alt_off[g->n_rules] + 1) * sizeof(uint32_t));
    if (!c->elems || !c->sets || !c->alt_off || !c->alts) {
        swarm_grammar_destroy(c);
        return SWARM_ENOMEM;
    }
    memcpy(c->elems, g->elems, (size_t)g->n_elems * sizeof(sw_gelem));
    memcpy(c->sets, g->sets, (size_t)g->n_sets * 32);
    memcpy(c->alt_off, g->alt_off, ((size_t)g->n_rules + 1) * sizeof(uint32_t));
    memcpy(c->alts, g->alts, (size_t)g->alt_off[g->n_rules] * sizeof(uint32_t));
    *out = c;
    return SWARM_OK;
}

bool sw_grammar_equal(const swarm_grammar *a, const swarm_grammar *b)
{
    return a->n_elems == b->n_elems && a->n_sets == b->n_sets && a->n_rules == b->n_rules &&
           a->root == b->root && a->alt_off[a->n_rules] == b->alt_off[b->n_rules] &&
           memcmp(a->elems, b->elems, (size_t)a->n_elems * sizeof(sw_gelem)) == 0 &&
           memcmp(a->sets, b->sets, (size_t)a->n_sets * 32) == 0 &&
           memcmp(a->alt_off, b->alt_off, ((size_t)a->n_rules + 1) * sizeof(uint32_t)) == 0 &&
           memcmp(a->alts, b->alts, (size_t)a->alt_off[a->n_rules] * sizeof(uint32_t)) == 0;
}

void swarm_grammar_destroy(swarm_grammar *g)
{
    if (g == NULL) return;
    sw_free(g->elems);
    sw_free(g->alt_off);
    sw_free(g->alts);
    sw_free(g->sets);
    sw_free(g);
}

swarm_err swarm_grammar_parse(const char *text, size_t len, swarm_grammar **out, swarm_diag *d)
{
    if (text == NULL || out == NULL) return sw_diag_set(d, SWARM_EINVAL, "grammar: no text");
    if (len > SWARM_GRAMMAR_MAX_TEXT)
        return sw_diag_set(d, SWARM_EFORMAT, "grammar: %zu bytes, above the limit of %d", len,
                           SWARM_GRAMMAR_MAX_TEXT);
    gb b = {.p = text, .end = text + len, .line = 1, .cur = -1, .d = d};
    b.cap_sets = 512;
    b.sets = sw_calloc(b.cap_sets, 32);
    if (b.sets == NULL) return sw_diag_set(d, SWARM_ENOMEM, "grammar: out of memory");
    for (uint32_t c = 0; c < 256; c++) b.sets[c][c >> 5] = 1u << (c & 31);
    b.n_sets = 256;

    int32_t root = -1;
    for (;;) {
        skip_space(&b);
        if (b.err || b.p >= b.end) break;
        uint32_t n = name_len_at(&b, b.p);
        if (n == 0 || !at_rule_head(&b, b.p)) {
            fail(&b, SWARM_EFORMAT, "expected a rule: name ::= ...", NULL, NULL);
            break;
        }
        int32_t r = rule_named(&b, b.p, n);
        if (r < 0) break;
        if (b.rules[r].defined) {
            char name[80];
            snprintf(name, sizeof(name), "%.*s", (int)(n > 64 ? 64 : n), b.p);
            fail(&b, SWARM_EFORMAT, "rule '%s' is defined twice", name, NULL);
            break;
        }
        b.rules[r].defined = true;
        b.rules[r].line = b.line;
        b.cur = r;
        b.p += n;
        skip_space(&b);
        b.p += 3; /* "::=" (at_rule_head checked it) */
        parse_alts(&b, r);
        skip_space(&b);
        if (!b.err && b.p < b.end && *b.p == ')')
            fail(&b, SWARM_EFORMAT, "unbalanced ')'", NULL, NULL);
        if (n == 4 && memcmp(b.rules[r].name, "root", 4) == 0) root = r;
    }
    if (!b.err && root < 0) {
        b.line = 1;
        fail(&b, SWARM_EFORMAT, "no rule 'root' (the start rule)", NULL, NULL);
    }
    swarm_err rc = b.err;
    if (rc == SWARM_OK) rc = check(&b, (uint32_t)root);
    if (rc == SWARM_OK) rc = flatten(&b, (uint32_t)root, out);
    for (uint32_t r = 0; r < b.n_rules; r++) {
        for (uint32_t i = 0; i < b.rules[r].n_alts; i++) seq_free(&b.rules[r].alts[i]);
        sw_free(b.rules[r].alts);
    }
    sw_free(b.rules);
    sw_free(b.name_ht);
    sw_free(b.sets);
    return rc;
}
