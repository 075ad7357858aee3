/*
 * chunk.c: splitting a task's input for map-reduce: units (whitespace words
 * as approximate tokens, sentences, paragraphs) grouped into overlapping
 * chunks. Byte-oriented and locale-free; it never copies the text.
 */
#include <string.h>

#include "plan_int.h"

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* Growable span list. */
typedef struct spans {
    sw_span *v;
    size_t n, cap;
} spans;

static swarm_err push(spans *s, size_t start, size_t end)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64, bytes;
        if (!sw_mul_ok(cap, sizeof(sw_span), &bytes)) return SWARM_ENOMEM;
        sw_span *v = sw_realloc(s->v, bytes);
        if (v == NULL) return SWARM_ENOMEM;
        s->v = v;
        s->cap = cap;
    }
    s->v[s->n++] = (sw_span){start, end};
    return SWARM_OK;
}

/* Offset just past a paragraph break (a newline, blank-only lines, newline)
 * starting at i, or i when there is none. */
static size_t para_break(const char *t, size_t len, size_t i)
{
    if (t[i] != '\n') return i;
    size_t j = i + 1;
    while (j < len && (t[j] == ' ' || t[j] == '\t' || t[j] == '\r')) j++;
    if (j < len && t[j] == '\n') return j + 1;
    return i;
}

static swarm_err split_words(const char *t, size_t len, spans *s)
{
    size_t i = 0;
    while (i < len) {
        while (i < len && is_space(t[i])) i++;
        if (i == len) break;
        size_t j = i;
        while (j < len && !is_space(t[j])) j++;
        swarm_err rc = push(s, i, j);
        if (rc != SWARM_OK) return rc;
        i = j;
    }
    return SWARM_OK;
}

static swarm_err split_paragraphs(const char *t, size_t len, spans *s)
{
    size_t i = 0;
    while (i < len) {
        while (i < len && is_space(t[i])) i++;
        if (i == len) break;
        size_t start = i, end = i;
        while (i < len) {
            if (t[i] == '\n' && para_break(t, len, i) != i) break;
            if (!is_space(t[i])) end = i + 1;
            i++;
        }
        swarm_err rc = push(s, start, end);
        if (rc != SWARM_OK) return rc;
    }
    return SWARM_OK;
}

/* A sentence ends after a run of . ! ? (plus closing quotes or brackets)
 * followed by whitespace or the end, or at a paragraph break. Abbreviations
 * ("Mr. Smith") do split: a deliberate, documented simplification. */
static swarm_err split_sentences(const char *t, size_t len, spans *s)
{
    size_t i = 0;
    while (i < len) {
        while (i < len && is_space(t[i])) i++;
        if (i == len) break;
        size_t start = i, end = i;
        while (i < len) {
            char c = t[i];
            if (c == '\n' && para_break(t, len, i) != i) break;
            if (c == '.' || c == '!' || c == '?') {
                size_t j = i;
                while (j < len && (t[j] == '.' || t[j] == '!' || t[j] == '?')) j++;
                while (j < len && (t[j] == '"' || t[j] == '\'' || t[j] == ')' || t[j] == ']'))
                    j++;
                if (j == len || is_space(t[j])) {
                    end = j;
                    i = j;
                    break;
                }
                i = j;
                end = j;
                continue;
            }
            if (!is_space(c)) end = i + 1;
            i++;
        }
        swarm_err rc = push(s, start, end);
        if (rc != SWARM_OK) return rc;
    }
    return SWARM_OK;
}

swarm_err sw_plan_units(const char *text, size_t len, sw_chunk_by by, sw_span **out,
                        size_t *out_n)
{
    spans s = {0};
    swarm_err rc;
    switch (by) {
    case SW_CHUNK_TOKENS: rc = split_words(text, len, &s); break;
    case SW_CHUNK_SENTENCES: rc = split_sentences(text, len, &s); break;
    case SW_CHUNK_PARAGRAPHS: rc = split_paragraphs(text, len, &s); break;
    default: rc = SWARM_EINVAL; break;
    }
    if (rc != SWARM_OK) {
        sw_free(s.v);
        return rc;
    }
    *out = s.v;
    *out_n = s.n;
    return SWARM_OK;
}

swarm_err sw_plan_chunk(const char *text, size_t len, sw_chunk_by by, size_t size, size_t overlap,
                        size_t max_chunks, sw_span **out, size_t *out_n, swarm_diag *d)
{
    if (size == 0 || overlap >= size)
        return sw_diag_set(d, SWARM_EINVAL, "chunk size (%zu) must be greater than overlap (%zu)",
                           size, overlap);
    sw_span *u = NULL;
    size_t nu = 0;
    swarm_err rc = sw_plan_units(text, len, by, &u, &nu);
    if (rc != SWARM_OK) return rc;
    if (nu == 0) {
        sw_free(u);
        *out = NULL;
        *out_n = 0;
        return SWARM_OK;
    }
    size_t step = size - overlap;
    /* Chunks start at 0, step, 2*step, ... until one reaches the last unit. */
    size_t nc = nu <= size ? 1 : 1 + (nu - size + step - 1) / step;
    if (nc > max_chunks) {
        sw_free(u);
        return sw_diag_set(d, SWARM_EINVAL,
                           "the input splits into %zu chunks, more than the limit of %zu; raise "
                           "chunk.size",
                           nc, max_chunks);
    }
    sw_span *c = sw_calloc(nc, sizeof(*c));
    if (c == NULL) {
        sw_free(u);
        return SWARM_ENOMEM;
    }
    for (size_t i = 0; i < nc; i++) {
        size_t first = i * step, last = first + size;
        if (last > nu) last = nu;
        c[i].start = u[first].start;
        c[i].end = u[last - 1].end;
    }
    sw_free(u);
    *out = c;
    *out_n = nc;
    return SWARM_OK;
}

int64_t sw_plan_count_words(const char *s)
{
    int64_t n = 0;
    bool in = false;
    for (; *s; s++) {
        bool sp = is_space(*s);
        if (!sp && !in) n++;
        in = !sp;
    }
    return n;
}
