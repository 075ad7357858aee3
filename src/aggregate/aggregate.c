/*
 * aggregate.c: the aggregation methods over in-memory items: weights from
 * f(P, R), the deterministic (hlc, node) order, weighted average, max-weight,
 * votes, hybrid, consensus, judge and hierarchical, and the decision rule.
 * JSON reading and writing live in agg_json.c.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agg_int.h"

/* Candidates beyond this make consensus (quadratic) refuse rather than stall. */
#define CONSENSUS_MAX 2000
/* Consensus compares every pair of candidates' word sets, 2 (n-1) sum_i |words_i|
 * merge steps in all; past this (about half a second) it refuses instead of
 * stalling: 2000 candidates of 500 distinct words (5 MB of input) took 4 s. */
#define CONSENSUS_MAX_WORK 5e8

/* Relative size below which a weighted sum counts as exactly zero: it absorbs
 * the rounding noise of e.g. 0.3*-1 + 0.1*1 + 0.2*1 without hiding real values. */
#define NOISE_REL 1e-12

// --- names -----------------------------------------------------------------

static const char *const method_names[SWARM_AGG_METHOD_COUNT] = {
    [SWARM_AGG_WEIGHTED_AVERAGE] = "weighted-average",
    [SWARM_AGG_MAX_WEIGHT] = "max-weight",
    [SWARM_AGG_VOTE] = "vote",
    [SWARM_AGG_WEIGHTED_VOTE] = "weighted-vote",
    [SWARM_AGG_HYBRID] = "hybrid",
    [SWARM_AGG_CONSENSUS] = "consensus",
    [SWARM_AGG_HIERARCHICAL] = "hierarchical",
    [SWARM_AGG_JUDGE] = "judge",
};

swarm_err swarm_agg_method_from_name(const char *s, swarm_agg_method *out)
{
    if (s == NULL) return SWARM_EINVAL;
    for (int i = 0; i < SWARM_AGG_METHOD_COUNT; i++) {
        if (strcmp(s, method_names[i]) == 0) {
            *out = (swarm_agg_method)i;
            return SWARM_OK;
        }
    }
    return SWARM_EINVAL;
}

const char *swarm_agg_method_name(swarm_agg_method m)
{
    if ((int)m < 0 || m >= SWARM_AGG_METHOD_COUNT) return "?";
    return method_names[m];
}

swarm_agg_spec swarm_agg_spec_default(void)
{
    swarm_agg_spec s;
    memset(&s, 0, sizeof(s));
    s.method = SWARM_AGG_WEIGHTED_AVERAGE;
    s.weighting = SWARM_AGG_F_PRODUCT;
    s.pow_a = 1.0;
    s.pow_b = 1.0;
    s.decide = SWARM_AGG_DECIDE_NONE;
    s.threshold = 0.0;
    s.top_k = 0;
    s.inner = SWARM_AGG_WEIGHTED_AVERAGE;
    s.outer = SWARM_AGG_WEIGHTED_AVERAGE;
    return s;
}

// --- numbers ---------------------------------------------------------------

double swarm_agg_round(double v)
{
    if (!isfinite(v) || v == 0.0) return v == 0.0 ? 0.0 : v; /* also turns -0 into 0 */
    char buf[40];
    snprintf(buf, sizeof(buf), "%.12g", v);
    double r = strtod(buf, NULL);
    return r == 0.0 ? 0.0 : r;
}

const char *swarm_agg_format_number(double v, char *buf, size_t cap)
{
    SWARM_ASSERT(buf != NULL && cap >= 32);
    double r = swarm_agg_round(v);
    if (!isfinite(r)) {
        snprintf(buf, cap, "%s", isnan(r) ? "nan" : (r > 0 ? "inf" : "-inf"));
        return buf;
    }
    /* The shortest %.Ng that reads back as the same double. */
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, cap, "%.*g", prec, r);
        if (strtod(buf, NULL) == r) return buf;
    }
    return buf;
}

// --- internal items --------------------------------------------------------

/* One candidate as the methods see it: already validated, with its f value. */
typedef struct pitem {
    const char *node;
    bool is_text;
    double value;
    const char *text; /* slice: text[0..text_len) */
    size_t text_len;
    double f;         /* unnormalised weight */
    bool has_score;
    double score;
    uint64_t hlc;
    int32_t group;
    int64_t idx;      /* input index, or -1 (a group result without a winner) */
} pitem;

/* What one method produces over a pitem array. */
typedef struct core_out {
    bool is_text;
    double value;
    const char *text;
    size_t text_len;
    int64_t winner; /* position in the pitem array, or -1 */
    double support;
} core_out;

static int cmp_pitem_order(const void *a, const void *b)
{
    const pitem *x = a, *y = b;
    if (x->hlc != y->hlc) return x->hlc < y->hlc ? -1 : 1;
    int c = strcmp(x->node, y->node);
    if (c != 0) return c;
    return x->idx < y->idx ? -1 : (x->idx > y->idx);
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static void trim(const char *s, size_t len, const char **out, size_t *out_len)
{
    while (len > 0 && is_space(s[0])) s++, len--;
    while (len > 0 && is_space(s[len - 1])) len--;
    *out = s;
    *out_len = len;
}

// --- weighted average and hybrid -------------------------------------------

/* sum_j w_j v_j / scale and its magnitude sum_j |w_j v_j| / scale. */
static void mean_sums(const pitem *it, const size_t *pos, size_t k, double s, double scale,
                      double *out_r, double *out_mag)
{
    double r = 0.0, mag = 0.0;
    for (size_t j = 0; j < k; j++) {
        double w = it[pos[j]].f / s;
        r += w * (it[pos[j]].value / scale);
        mag += fabs(w * (it[pos[j]].value / scale));
    }
    *out_r = r;
    *out_mag = mag;
}

/* sum f_i r_i / sum f_i over pos[0..k), with near-zero noise snapped to 0. */
static double weighted_mean(const pitem *it, const size_t *pos, size_t k)
{
    double s = 0.0;
    for (size_t j = 0; j < k; j++) s += it[pos[j]].f;
    double r, mag;
    mean_sums(it, pos, k, s, 1.0, &r, &mag);
    if (!isfinite(r) || !isfinite(mag)) {
        /* Values near DBL_MAX: the partial sums overflowed (and an infinite
         * magnitude would snap the mean to 0). Sum v / max|v| instead; a mean
         * never leaves [-max|v|, max|v|], so clamp the last rounding. */
        double m = 0.0;
        for (size_t j = 0; j < k; j++)
            if (fabs(it[pos[j]].value) > m) m = fabs(it[pos[j]].value);
        mean_sums(it, pos, k, s, m, &r, &mag);
        r = r > 1.0 ? 1.0 : (r < -1.0 ? -1.0 : r);
        if (fabs(r) <= NOISE_REL * mag) return 0.0;
        return r * m;
    }
    if (fabs(r) <= NOISE_REL * mag) r = 0.0;
    return r;
}

static swarm_err need_numbers(const pitem *it, size_t n, const char *what, swarm_diag *d)
{
    if (n > 0 && it[0].is_text)
        return sw_diag_set(d, SWARM_EINVAL,
                           "%s needs numeric results (got text); use max-weight, vote, "
                           "weighted-vote or consensus for text",
                           what);
    return SWARM_OK;
}

static swarm_err do_weighted_average(const pitem *it, size_t n, core_out *o, swarm_diag *d)
{
    swarm_err rc = need_numbers(it, n, "weighted-average", d);
    if (rc != SWARM_OK) return rc;
    size_t *pos = sw_malloc(n * sizeof(*pos));
    if (pos == NULL) return SWARM_ENOMEM;
    for (size_t i = 0; i < n; i++) pos[i] = i;
    o->is_text = false;
    o->value = weighted_mean(it, pos, n);
    o->winner = -1;
    o->support = 1.0;
    sw_free(pos);
    return SWARM_OK;
}

static swarm_err do_max_weight(const pitem *it, size_t n, core_out *o)
{
    size_t best = 0;
    for (size_t i = 1; i < n; i++)
        if (it[i].f > it[best].f) best = i; /* strict: ties keep the earliest */
    o->is_text = it[best].is_text;
    o->value = it[best].value;
    o->text = it[best].text;
    o->text_len = it[best].text_len;
    o->winner = (int64_t)best;
    o->support = 1.0;
    return SWARM_OK;
}

static swarm_err do_judge(const pitem *it, size_t n, core_out *o, swarm_diag *d)
{
    for (size_t i = 0; i < n; i++)
        if (!it[i].has_score)
            return sw_diag_set(d, SWARM_EINVAL, "judge needs a score for every result (%s has none)",
                               it[i].node);
    size_t best = 0;
    for (size_t i = 1; i < n; i++) {
        if (it[i].score > it[best].score || (it[i].score == it[best].score && it[i].f > it[best].f))
            best = i;
    }
    o->is_text = it[best].is_text;
    o->value = it[best].value;
    o->text = it[best].text;
    o->text_len = it[best].text_len;
    o->winner = (int64_t)best;
    o->support = 1.0;
    return SWARM_OK;
}

// --- votes -----------------------------------------------------------------

typedef struct vote_key {
    const pitem *it;
    const char *key; /* trimmed text */
    size_t key_len;
    size_t pos;
} vote_key;

static int cmp_vote_key(const void *a, const void *b)
{
    const vote_key *x = a, *y = b;
    if (x->it->is_text) {
        size_t m = x->key_len < y->key_len ? x->key_len : y->key_len;
        int c = memcmp(x->key, y->key, m);
        if (c != 0) return c;
        if (x->key_len != y->key_len) return x->key_len < y->key_len ? -1 : 1;
    } else if (x->it->value != y->it->value) {
        return x->it->value < y->it->value ? -1 : 1;
    }
    return x->pos < y->pos ? -1 : (x->pos > y->pos);
}

static bool same_key(const vote_key *x, const vote_key *y)
{
    if (x->it->is_text)
        return x->key_len == y->key_len && memcmp(x->key, y->key, x->key_len) == 0;
    return x->it->value == y->it->value;
}

/* Plurality (weighted = false) or weighted plurality. Ties: see docs. */
static swarm_err do_vote(const pitem *it, size_t n, bool weighted, core_out *o)
{
    vote_key *k = sw_malloc(n * sizeof(*k));
    if (k == NULL) return SWARM_ENOMEM;
    double total = 0.0;
    for (size_t i = 0; i < n; i++) {
        k[i].it = &it[i];
        k[i].pos = i;
        trim(it[i].text ? it[i].text : "", it[i].text_len, &k[i].key, &k[i].key_len);
        total += it[i].f;
    }
    qsort(k, n, sizeof(*k), cmp_vote_key);

    /* Best class so far: count, weight, first position, representative. */
    size_t b_count = 0, b_first = 0, b_rep = 0;
    double b_w = -1.0;
    size_t i = 0;
    while (i < n) {
        size_t j = i, count = 0, first = SIZE_MAX, rep = k[i].pos;
        double w = 0.0;
        while (j < n && same_key(&k[i], &k[j])) {
            size_t p = k[j].pos;
            count++;
            w += it[p].f;
            if (p < first) first = p;
            if (it[p].f > it[rep].f || (it[p].f == it[rep].f && p < rep)) rep = p;
            j++;
        }
        bool better;
        if (b_w < 0) {
            better = true;
        } else if (!weighted) {
            better = count > b_count || (count == b_count && (w > b_w || (w == b_w && first < b_first)));
        } else {
            better = w > b_w || (w == b_w && (count > b_count || (count == b_count && first < b_first)));
        }
        if (better) {
            b_count = count;
            b_w = w;
            b_first = first;
            b_rep = rep;
        }
        i = j;
    }
    o->is_text = it[b_rep].is_text;
    o->value = it[b_rep].value;
    if (o->is_text) trim(it[b_rep].text, it[b_rep].text_len, &o->text, &o->text_len);
    o->winner = (int64_t)b_rep;
    o->support = weighted ? (total > 0 ? b_w / total : 0.0) : (double)b_count / (double)n;
    sw_free(k);
    return SWARM_OK;
}

// --- consensus (text) --------------------------------------------------------

/* A text's distinct lower-cased word tokens, sorted, as slices of buf. */
typedef struct tokset {
    char *buf;
    size_t *off, *len;
    size_t n;
} tokset;

static bool word_byte(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= 0x80;
}

typedef struct tok_ref {
    const char *p;
    size_t len;
} tok_ref;

static int cmp_tok_ref(const void *a, const void *b)
{
    const tok_ref *x = a, *y = b;
    size_t m = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->p, y->p, m);
    if (c != 0) return c;
    return x->len < y->len ? -1 : (x->len > y->len);
}

static void tokset_free(tokset *t)
{
    sw_free(t->buf);
    sw_free(t->off); /* off and len share one block (see tokset_build) */
    memset(t, 0, sizeof(*t));
}

static swarm_err tokset_build(const char *s, size_t len, tokset *t)
{
    memset(t, 0, sizeof(*t));
    t->buf = sw_malloc(len + 1);
    tok_ref *refs = sw_malloc((len / 2 + 1) * sizeof(*refs)); /* at most one token per 2 bytes */
    if (t->buf == NULL || refs == NULL) {
        sw_free(refs);
        tokset_free(t);
        return SWARM_ENOMEM;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        t->buf[i] = (char)((c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : c);
    }
    t->buf[len] = '\0';
    size_t nr = 0, i = 0;
    while (i < len) {
        if (!word_byte((unsigned char)t->buf[i])) {
            i++;
            continue;
        }
        size_t j = i;
        while (j < len && word_byte((unsigned char)t->buf[j])) j++;
        refs[nr].p = t->buf + i;
        refs[nr].len = j - i;
        nr++;
        i = j;
    }
    qsort(refs, nr, sizeof(*refs), cmp_tok_ref);
    t->off = sw_malloc((2 * nr + 1) * sizeof(size_t));
    if (t->off == NULL) {
        sw_free(refs);
        tokset_free(t);
        return SWARM_ENOMEM;
    }
    t->len = t->off + nr;
    for (size_t r = 0; r < nr; r++) {
        if (t->n > 0 && cmp_tok_ref(&refs[r], &refs[r - 1]) == 0) continue;
        t->off[t->n] = (size_t)(refs[r].p - t->buf);
        t->len[t->n] = refs[r].len;
        t->n++;
    }
    sw_free(refs);
    return SWARM_OK;
}

/* |A ∩ B| / |A ∪ B| over distinct tokens; two empty sets are identical (1). */
static double jaccard(const tokset *a, const tokset *b)
{
    if (a->n == 0 && b->n == 0) return 1.0;
    size_t i = 0, j = 0, inter = 0;
    while (i < a->n && j < b->n) {
        tok_ref x = {a->buf + a->off[i], a->len[i]}, y = {b->buf + b->off[j], b->len[j]};
        int c = cmp_tok_ref(&x, &y);
        if (c == 0) {
            inter++, i++, j++;
        } else if (c < 0) {
            i++;
        } else {
            j++;
        }
    }
    size_t uni = a->n + b->n - inter;
    return (double)inter / (double)uni;
}

/* Weighted medoid: maximise sum_j w_j sim(i, j) with sim(i, i) = 1. */
static swarm_err do_consensus(const pitem *it, size_t n, core_out *o, swarm_diag *d)
{
    if (!it[0].is_text)
        return sw_diag_set(d, SWARM_EINVAL,
                           "consensus needs text results (got numbers); use vote or "
                           "weighted-average for numbers");
    if (n > CONSENSUS_MAX)
        return sw_diag_set(d, SWARM_EINVAL, "consensus supports at most %d candidates (got %zu)",
                           CONSENSUS_MAX, n);
    tokset *ts = sw_calloc(n, sizeof(*ts));
    if (ts == NULL) return SWARM_ENOMEM;
    swarm_err rc = SWARM_OK;
    double words = 0.0;
    for (size_t i = 0; i < n; i++) {
        if ((rc = tokset_build(it[i].text, it[i].text_len, &ts[i])) != SWARM_OK) goto done;
        words += (double)ts[i].n;
    }
    if (2.0 * (double)(n - 1) * words > CONSENSUS_MAX_WORK) {
        rc = sw_diag_set(d, SWARM_EINVAL,
                         "consensus over %zu candidates with %.0f distinct words in all is too "
                         "much work (limit: 2 (n-1) words <= %.0f); use vote or max-weight, or "
                         "fewer or shorter results",
                         n, words, CONSENSUS_MAX_WORK);
        goto done;
    }
    double total = 0.0;
    for (size_t i = 0; i < n; i++) total += it[i].f;
    size_t best = 0;
    double best_s = -1.0;
    for (size_t i = 0; i < n; i++) {
        double s = 0.0;
        for (size_t j = 0; j < n; j++) s += it[j].f * (i == j ? 1.0 : jaccard(&ts[i], &ts[j]));
        if (s > best_s || (s == best_s && it[i].f > it[best].f)) {
            best = i;
            best_s = s;
        }
    }
    o->is_text = true;
    o->text = it[best].text;
    o->text_len = it[best].text_len;
    o->value = 0.0;
    o->winner = (int64_t)best;
    o->support = total > 0 ? best_s / total : 0.0;
done:
    for (size_t i = 0; i < n; i++) tokset_free(&ts[i]);
    sw_free(ts);
    return rc;
}

/* Positions sorted by weight, heaviest first; ties keep the (hlc, node) order. */
typedef struct rank_ref {
    double f;
    size_t pos;
} rank_ref;

static int cmp_rank(const void *a, const void *b)
{
    const rank_ref *x = a, *y = b;
    if (x->f != y->f) return x->f > y->f ? -1 : 1;
    return x->pos < y->pos ? -1 : (x->pos > y->pos);
}

static swarm_err run_method(swarm_agg_method m, const swarm_agg_spec *spec, const pitem *it,
                            size_t n, core_out *o, swarm_diag *d);

static int cmp_size(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return x < y ? -1 : (x > y);
}

/* Hybrid: rank by weight; numbers: weighted mean of the top k; texts:
 * consensus among the top k. */
static swarm_err do_hybrid(const swarm_agg_spec *spec, const pitem *it, size_t n, core_out *o,
                           swarm_diag *d)
{
    size_t k = spec->top_k > 0 ? (size_t)spec->top_k : (n + 1) / 2;
    if (k > n) k = n;
    rank_ref *rk = sw_malloc(n * sizeof(*rk));
    size_t *pos = sw_malloc(k * sizeof(*pos));
    pitem *sub = sw_malloc(k * sizeof(*sub));
    swarm_err rc = SWARM_OK;
    if (rk == NULL || pos == NULL || sub == NULL) {
        rc = SWARM_ENOMEM;
        goto done;
    }
    for (size_t i = 0; i < n; i++) rk[i] = (rank_ref){it[i].f, i};
    qsort(rk, n, sizeof(*rk), cmp_rank);
    /* Back to (hlc, node) order inside the top k, so sums run in a fixed order. */
    for (size_t j = 0; j < k; j++) pos[j] = rk[j].pos;
    qsort(pos, k, sizeof(*pos), cmp_size);
    double top = 0.0, total = 0.0;
    for (size_t j = 0; j < k; j++) top += it[pos[j]].f;
    for (size_t i = 0; i < n; i++) total += it[i].f;
    if (!it[0].is_text) {
        o->is_text = false;
        o->value = weighted_mean(it, pos, k);
        o->winner = -1;
        o->support = top / total;
    } else {
        for (size_t j = 0; j < k; j++) sub[j] = it[pos[j]];
        rc = do_consensus(sub, k, o, d);
        if (rc == SWARM_OK) o->winner = (int64_t)pos[o->winner];
    }
done:
    sw_free(rk);
    sw_free(pos);
    sw_free(sub);
    return rc;
}

/* Members in (group id, position) order, so each group is one contiguous run. */
typedef struct gref {
    int32_t group;
    size_t pos;
} gref;

static int cmp_gref(const void *a, const void *b)
{
    const gref *x = a, *y = b;
    if (x->group != y->group) return x->group < y->group ? -1 : 1;
    return x->pos < y->pos ? -1 : (x->pos > y->pos);
}

/* Per group (ascending group id) with spec->inner, then across groups with
 * spec->outer; a group's weight is the sum of its members' weights. */
static swarm_err do_hierarchical(const swarm_agg_spec *spec, const pitem *it, size_t n,
                                 core_out *o, swarm_diag *d)
{
    swarm_err rc = SWARM_OK;
    gref *refs = sw_malloc(n * sizeof(*refs));
    pitem *members = sw_malloc(n * sizeof(*members));
    pitem *groups = sw_calloc(n, sizeof(*groups));
    if (refs == NULL || members == NULL || groups == NULL) {
        rc = SWARM_ENOMEM;
        goto done;
    }
    for (size_t i = 0; i < n; i++) refs[i] = (gref){it[i].group, i};
    qsort(refs, n, sizeof(*refs), cmp_gref);
    size_t ng = 0;
    for (size_t i = 0; i < n;) {
        int32_t g = refs[i].group;
        size_t nm = 0;
        double wsum = 0.0;
        for (; i < n && refs[i].group == g; i++) {
            members[nm++] = it[refs[i].pos];
            wsum += it[refs[i].pos].f;
        }
        if (wsum == 0.0) continue; /* a group with no weight cannot move the result */
        swarm_agg_method m = spec->inner;
        if (m == SWARM_AGG_WEIGHTED_AVERAGE && it[0].is_text) m = SWARM_AGG_MAX_WEIGHT;
        core_out go = {0};
        if ((rc = run_method(m, spec, members, nm, &go, d)) != SWARM_OK) {
            char pre[48];
            snprintf(pre, sizeof(pre), "group %d", (int)g);
            sw_diag_prefix(d, pre);
            goto done;
        }
        /* members[k] is refs[i - nm + k]: map the inner winner back to it[]. */
        int64_t wpos = go.winner >= 0 ? (int64_t)refs[i - nm + (size_t)go.winner].pos : -1;
        pitem *gi = &groups[ng++];
        gi->node = wpos >= 0 ? it[wpos].node : "";
        gi->is_text = go.is_text;
        gi->value = go.value;
        gi->text = go.text;
        gi->text_len = go.text_len;
        gi->f = wsum;
        gi->hlc = (uint64_t)ng;
        gi->group = g;
        gi->idx = wpos; /* position in it[], not an input index */
    }
    swarm_agg_method m = spec->outer;
    if (m == SWARM_AGG_WEIGHTED_AVERAGE && it[0].is_text) m = SWARM_AGG_MAX_WEIGHT;
    if ((rc = run_method(m, spec, groups, ng, o, d)) != SWARM_OK) {
        sw_diag_prefix(d, "across groups");
        goto done;
    }
    o->winner = o->winner >= 0 ? groups[o->winner].idx : -1;
done:
    sw_free(refs);
    sw_free(members);
    sw_free(groups);
    return rc;
}

static swarm_err run_method(swarm_agg_method m, const swarm_agg_spec *spec, const pitem *it,
                            size_t n, core_out *o, swarm_diag *d)
{
    SWARM_ASSERT(n > 0);
    switch (m) {
    case SWARM_AGG_WEIGHTED_AVERAGE: return do_weighted_average(it, n, o, d);
    case SWARM_AGG_MAX_WEIGHT: return do_max_weight(it, n, o);
    case SWARM_AGG_VOTE: return do_vote(it, n, false, o);
    case SWARM_AGG_WEIGHTED_VOTE: return do_vote(it, n, true, o);
    case SWARM_AGG_HYBRID: return do_hybrid(spec, it, n, o, d);
    case SWARM_AGG_CONSENSUS: return do_consensus(it, n, o, d);
    case SWARM_AGG_JUDGE: return do_judge(it, n, o, d);
    case SWARM_AGG_HIERARCHICAL: return do_hierarchical(spec, it, n, o, d);
    default: return sw_diag_set(d, SWARM_EINVAL, "unknown aggregation method %d", (int)m);
    }
}

// --- entry point -------------------------------------------------------------

static swarm_err check_spec(const swarm_agg_spec *s, swarm_diag *d)
{
    if ((int)s->method < 0 || s->method >= SWARM_AGG_METHOD_COUNT)
        return sw_diag_set(d, SWARM_EINVAL, "unknown aggregation method %d", (int)s->method);
    if ((int)s->weighting < 0 || s->weighting >= SWARM_AGG_F_COUNT)
        return sw_diag_set(d, SWARM_EINVAL, "unknown weighting %d", (int)s->weighting);
    if (s->weighting == SWARM_AGG_F_POWER && (!isfinite(s->pow_a) || !isfinite(s->pow_b)))
        return sw_diag_set(d, SWARM_EINVAL, "weighting exponents must be finite numbers");
    if ((int)s->decide < 0 || s->decide >= SWARM_AGG_DECIDE_COUNT)
        return sw_diag_set(d, SWARM_EINVAL, "unknown decision rule %d", (int)s->decide);
    if (s->decide == SWARM_AGG_DECIDE_THRESHOLD && !isfinite(s->threshold))
        return sw_diag_set(d, SWARM_EINVAL, "decision threshold must be a finite number");
    if (s->top_k < 0) return sw_diag_set(d, SWARM_EINVAL, "top_k must be >= 0 (got %d)", (int)s->top_k);
    if (s->method == SWARM_AGG_HIERARCHICAL) {
        swarm_agg_method st[2] = {s->inner, s->outer};
        for (int i = 0; i < 2; i++) {
            if ((int)st[i] < 0 || st[i] >= SWARM_AGG_METHOD_COUNT || st[i] == SWARM_AGG_HIERARCHICAL)
                return sw_diag_set(d, SWARM_EINVAL,
                                   "hierarchical %s method must be a non-hierarchical method",
                                   i == 0 ? "inner" : "outer");
        }
    }
    return SWARM_OK;
}

static swarm_err item_weight(const swarm_agg_spec *s, const swarm_agg_item *x, size_t i,
                             double *out, swarm_diag *d)
{
    const char *node = x->node ? x->node : "";
    double f;
    if (x->has_weight) {
        f = x->weight;
        if (!isfinite(f) || f < 0)
            return sw_diag_set(d, SWARM_EINVAL,
                               "result %zu (%s): weight must be a finite number >= 0 (got %g)", i,
                               node, f);
    } else {
        if (!isfinite(x->p) || x->p < 0 || !isfinite(x->r) || x->r < 0)
            return sw_diag_set(d, SWARM_EINVAL,
                               "result %zu (%s): p and r must be finite numbers >= 0 (got %g, %g)",
                               i, node, x->p, x->r);
        switch (s->weighting) {
        case SWARM_AGG_F_P: f = x->p; break;
        case SWARM_AGG_F_R: f = x->r; break;
        case SWARM_AGG_F_POWER: f = pow(x->p, s->pow_a) * pow(x->r, s->pow_b); break;
        default: f = x->p * x->r; break;
        }
        if (!isfinite(f))
            return sw_diag_set(d, SWARM_EINVAL, "result %zu (%s): weight f(P, R) is not finite", i,
                               node);
    }
    *out = f;
    return SWARM_OK;
}

static const char *decide(const swarm_agg_spec *s, double v)
{
    switch (s->decide) {
    case SWARM_AGG_DECIDE_SIGN: return v > 0 ? "positive" : (v < 0 ? "negative" : "neutral");
    case SWARM_AGG_DECIDE_THRESHOLD: return v >= s->threshold ? "alert" : "normal";
    default: return NULL;
    }
}

swarm_err swarm_aggregate(const swarm_agg_spec *spec, const swarm_agg_item *items, size_t n,
                          swarm_agg_result **out, swarm_diag *d)
{
    SWARM_ASSERT(spec != NULL && out != NULL && (items != NULL || n == 0));
    swarm_err rc = check_spec(spec, d);
    if (rc != SWARM_OK) return rc;
    if (n == 0) return sw_diag_set(d, SWARM_EINVAL, "no results to aggregate");

    pitem *it = sw_calloc(n, sizeof(*it));
    swarm_agg_result *res = sw_calloc(1, sizeof(*res));
    if (it == NULL || res == NULL) {
        rc = SWARM_ENOMEM;
        goto fail;
    }
    res->weights = sw_calloc(n, sizeof(double));
    if (res->weights == NULL) {
        rc = SWARM_ENOMEM;
        goto fail;
    }
    res->n = n;
    for (size_t i = 0; i < n; i++) {
        const swarm_agg_item *x = &items[i];
        pitem *p = &it[i];
        p->node = x->node ? x->node : "";
        p->is_text = x->is_text;
        if (x->is_text != items[0].is_text) {
            rc = sw_diag_set(d, SWARM_EINVAL,
                             "result %zu (%s) is %s but result 0 is %s: results must all be "
                             "numbers or all be text",
                             i, p->node, x->is_text ? "text" : "a number",
                             items[0].is_text ? "text" : "a number");
            goto fail;
        }
        if (x->is_text) {
            if (x->text == NULL) {
                rc = sw_diag_set(d, SWARM_EINVAL, "result %zu (%s) has no text", i, p->node);
                goto fail;
            }
            p->text = x->text;
            p->text_len = strlen(x->text);
        } else if (!isfinite(x->value)) {
            rc = sw_diag_set(d, SWARM_EINVAL, "result %zu (%s): value is not a finite number", i,
                             p->node);
            goto fail;
        }
        p->value = x->is_text ? 0.0 : x->value;
        if (x->has_score && !isfinite(x->score)) {
            rc = sw_diag_set(d, SWARM_EINVAL, "result %zu (%s): score is not a finite number", i,
                             p->node);
            goto fail;
        }
        p->has_score = x->has_score;
        p->score = x->score;
        p->hlc = x->hlc;
        p->group = x->group;
        p->idx = (int64_t)i;
        if ((rc = item_weight(spec, x, i, &p->f, d)) != SWARM_OK) goto fail;
    }
    qsort(it, n, sizeof(*it), cmp_pitem_order);

    double total = 0.0;
    for (size_t i = 0; i < n; i++) total += it[i].f;
    if (!isfinite(total)) {
        rc = sw_diag_set(d, SWARM_EINVAL, "the sum of the weights overflows");
        goto fail;
    }
    if (total <= 0.0) {
        rc = sw_diag_set(d, SWARM_EINVAL, "all %zu weights are zero: nothing to normalise by", n);
        goto fail;
    }
    for (size_t i = 0; i < n; i++) res->weights[it[i].idx] = it[i].f / total;

    core_out o = {0};
    if ((rc = run_method(spec->method, spec, it, n, &o, d)) != SWARM_OK) goto fail;

    res->is_text = o.is_text;
    res->winner_index = -1;
    res->support = o.support;
    if (o.is_text) {
        res->text = sw_strndup(o.text, o.text_len);
        if (res->text == NULL) {
            rc = SWARM_ENOMEM;
            goto fail;
        }
    } else {
        res->value = swarm_agg_round(o.value);
    }
    if (o.winner >= 0) {
        /* o.winner is a position in the sorted array; report the input index. */
        int64_t in = it[o.winner].idx;
        res->winner_index = in;
        res->winner = sw_strdup(items[in].node ? items[in].node : "");
        if (res->winner == NULL) {
            rc = SWARM_ENOMEM;
            goto fail;
        }
    }
    if (spec->decide != SWARM_AGG_DECIDE_NONE) {
        if (o.is_text) {
            rc = sw_diag_set(d, SWARM_EINVAL,
                             "a decision (sign or threshold) needs a numeric result, not text");
            goto fail;
        }
        res->decision = decide(spec, res->value);
    }
    sw_free(it);
    *out = res;
    return SWARM_OK;
fail:
    sw_free(it);
    swarm_agg_result_destroy(res);
    return rc;
}

void swarm_agg_result_destroy(swarm_agg_result *r)
{
    if (r == NULL) return;
    sw_free(r->text);
    sw_free(r->winner);
    sw_free(r->weights);
    sw_free(r);
}
