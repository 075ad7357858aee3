/*
 * matcher.c: following a compiled grammar byte by byte, and the token masks
 * built on it.
 *
 * A parse is a stack of grammar positions (the top is the byte set to match
 * next, the ones below are where to return when a rule ends), as in the
 * pushdown automaton of llama.cpp's grammar sampler. Stacks are stored as
 * interned (position, parent) nodes so that they share their tails, and
 * the set of stacks alive after some text -- a state -- is interned too:
 * equal states get one id, so a byte transition and a token mask are
 * computed once per state and then read from a cache. Inside a JSON string
 * every character leads back to the same state, so the mask of a long
 * string is computed once.
 *
 * The mask of a state walks a byte trie of the vocabulary: a prefix shared
 * by many tokens is matched once, and a subtree is dropped at the first
 * byte the grammar refuses.
 */
#include <stdlib.h>
#include <string.h>

#include "grammar_int.h"

/* Cache limits of one machine: a generation of a few thousand tokens stays
 * far below them; beyond them sw_gm_* fail with SWARM_EUNSUPPORTED rather
 * than grow without bound. */
#define GM_MAX_NODES (1u << 22)
#define GM_MAX_STATES (1u << 20)
#define GM_MAX_TRANS (1u << 23)
#define GM_MAX_POOL (1u << 25)
/* States with a dense 256-entry transition row (1 KiB each); the others
 * keep their transitions in the hash map. */
#define GM_MAX_ROWS (1u << 16)
#define GM_UNKNOWN (-2)
/* Closure steps per transition: enough for SWARM_GRAMMAR_MAX_STACKS parses
 * each reached through a few rules. */
#define GM_MAX_STEPS (64u * SWARM_GRAMMAR_MAX_STACKS)
/* Closure steps for one token mask: a grammar whose every transition is
 * near GM_MAX_STEPS would otherwise make one mask walk the vocabulary's
 * trie for minutes. Real grammars use a few thousand (JSON: ~10 steps per
 * new transition). */
#define GM_MAX_MASK_WORK (1l << 23)

/* ------------------------------------------------------------------------ */
/* u64 -> i32 hash map (open addressing; keys are stored + 1, 0 = empty)    */

typedef struct u64map {
    uint64_t *keys;
    int32_t *vals;
    uint32_t cap, n;
} u64map;

static uint32_t mix64(uint64_t k)
{
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdull;
    k ^= k >> 33;
    k *= 0xc4ceb9fe1a85ec53ull;
    k ^= k >> 33;
    return (uint32_t)k;
}

static bool map_get(const u64map *m, uint64_t key, int32_t *val)
{
    if (m->cap == 0) return false;
    key++;
    for (uint32_t h = mix64(key) & (m->cap - 1);; h = (h + 1) & (m->cap - 1)) {
        if (m->keys[h] == 0) return false;
        if (m->keys[h] == key) {
            *val = m->vals[h];
            return true;
        }
    }
}

static bool map_put(u64map *m, uint64_t key, int32_t val)
{
    if ((m->n + 1) * 2 > m->cap) {
        uint32_t cap = m->cap ? m->cap * 2 : 1024;
        uint64_t *k = sw_calloc(cap, sizeof(*k));
        int32_t *v = sw_malloc((size_t)cap * sizeof(*v));
        if (k == NULL || v == NULL) {
            sw_free(k);
            sw_free(v);
            return false;
        }
        for (uint32_t i = 0; i < m->cap; i++) {
            if (m->keys[i] == 0) continue;
            uint32_t h = mix64(m->keys[i]) & (cap - 1);
            while (k[h] != 0) h = (h + 1) & (cap - 1);
            k[h] = m->keys[i];
            v[h] = m->vals[i];
        }
        sw_free(m->keys);
        sw_free(m->vals);
        m->keys = k;
        m->vals = v;
        m->cap = cap;
    }
    key++;
    uint32_t h = mix64(key) & (m->cap - 1);
    while (m->keys[h] != 0 && m->keys[h] != key) h = (h + 1) & (m->cap - 1);
    if (m->keys[h] == 0) m->n++;
    m->keys[h] = key;
    m->vals[h] = val;
    return true;
}

static void map_free(u64map *m)
{
    sw_free(m->keys);
    sw_free(m->vals);
    *m = (u64map){0};
}

/* ------------------------------------------------------------------------ */
/* the machine                                                              */

typedef struct gstate {
    uint32_t off, n; /* its stack tops: pool[off .. off+n), sorted */
    bool accept;     /* the empty stack is among its parses: the text is complete */
    uint32_t *mask;  /* token bitmap, computed on demand */
    int32_t *row;    /* transitions by byte (GM_UNKNOWN until computed), or NULL */
} gstate;

struct sw_gm {
    const swarm_grammar *g;
    /* stack nodes: (pos, parent) */
    int32_t *npos, *npar;
    uint32_t *nstamp;
    uint32_t n_nodes, cap_nodes;
    u64map nodes;
    /* states */
    gstate *st;
    uint32_t n_st, cap_st;
    int32_t *pool;
    uint32_t n_pool, cap_pool;
    int32_t *st_ht; /* open addressing over state ids, -1 empty */
    uint32_t st_ht_cap;
    u64map trans; /* (state << 8 | byte) -> state or SW_GM_DEAD, for states without a row */
    uint32_t n_rows;
    /* scratch */
    int32_t *work, *res;
    uint32_t cap_work, cap_res, n_res;
    uint32_t stamp;
    long budget; /* closure steps left for the current mask (< 0: no limit) */
    uint32_t n_masks;
    const sw_gvocab *vocab; /* the one the masks are for */
    struct walk {
        uint32_t node;
        int32_t st;
    } *walk;
    uint32_t cap_walk;
};

swarm_err sw_gm_create(const swarm_grammar *g, sw_gm **out)
{
    if (g == NULL || out == NULL) return SWARM_EINVAL;
    sw_gm *m = sw_calloc(1, sizeof(*m));
    if (m == NULL) return SWARM_ENOMEM;
    m->g = g;
    m->budget = -1;
    *out = m;
    return SWARM_OK;
}

void sw_gm_destroy(sw_gm *m)
{
    if (m == NULL) return;
    sw_free(m->npos);
    sw_free(m->npar);
    sw_free(m->nstamp);
    map_free(&m->nodes);
    for (uint32_t i = 0; i < m->n_st; i++) {
        sw_free(m->st[i].mask);
        sw_free(m->st[i].row);
    }
    sw_free(m->st);
    sw_free(m->pool);
    sw_free(m->st_ht);
    map_free(&m->trans);
    sw_free(m->work);
    sw_free(m->res);
    sw_free(m->walk);
    sw_free(m);
}

static bool grow(void **p, uint32_t *cap, uint32_t need, size_t elem)
{
    if (need <= *cap) return true;
    uint32_t c = *cap ? *cap : 64;
    while (c < need) c *= 2;
    void *q = sw_realloc(*p, (size_t)c * elem);
    if (q == NULL) return false;
    *p = q;
    *cap = c;
    return true;
}

/* The node (pos, parent), created if new; -1 on a limit or ENOMEM (*rc). */
static int32_t node_get(sw_gm *m, int32_t pos, int32_t parent, swarm_err *rc)
{
    uint64_t key = ((uint64_t)(uint32_t)pos << 32) | (uint32_t)(parent + 1);
    int32_t id;
    if (map_get(&m->nodes, key, &id)) return id;
    if (m->n_nodes >= GM_MAX_NODES) {
        *rc = SWARM_EUNSUPPORTED;
        return -1;
    }
    uint32_t c1 = m->cap_nodes, c2 = m->cap_nodes, c3 = m->cap_nodes;
    if (!grow((void **)&m->npos, &c1, m->n_nodes + 1, sizeof(int32_t)) ||
        !grow((void **)&m->npar, &c2, m->n_nodes + 1, sizeof(int32_t)) ||
        !grow((void **)&m->nstamp, &c3, m->n_nodes + 1, sizeof(uint32_t))) {
        *rc = SWARM_ENOMEM;
        return -1;
    }
    if (c3 > m->cap_nodes) /* new stamps start at 0: never equal to a live stamp */
        memset(m->nstamp + m->cap_nodes, 0, (size_t)(c3 - m->cap_nodes) * sizeof(uint32_t));
    m->cap_nodes = c1 < c2 ? (c1 < c3 ? c1 : c3) : (c2 < c3 ? c2 : c3);
    id = (int32_t)m->n_nodes;
    if (!map_put(&m->nodes, key, id)) {
        *rc = SWARM_ENOMEM;
        return -1;
    }
    m->npos[id] = pos;
    m->npar[id] = parent;
    m->n_nodes++;
    return id;
}

static bool push_work(sw_gm *m, uint32_t *nw, int32_t node)
{
    if (!grow((void **)&m->work, &m->cap_work, *nw + 1, sizeof(int32_t))) return false;
    m->work[(*nw)++] = node;
    return true;
}

static int int_cmp(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

static uint32_t state_hash(const int32_t *ids, uint32_t n, bool acc)
{
    uint64_t h = acc ? 0x9E3779B97F4A7C15ull : 0x51ED27;
    for (uint32_t i = 0; i < n; i++) h = (h ^ (uint32_t)ids[i]) * 0x100000001B3ull;
    return mix64(h);
}

/* The state of stacks res[0..n) (sorted) and acc, created if new. */
static swarm_err state_get(sw_gm *m, uint32_t n, bool acc, int32_t *out)
{
    const int32_t *ids = m->res;
    if ((m->n_st + 1) * 2 > m->st_ht_cap) {
        uint32_t cap = m->st_ht_cap ? m->st_ht_cap * 2 : 256;
        int32_t *ht = sw_malloc((size_t)cap * sizeof(*ht));
        if (ht == NULL) return SWARM_ENOMEM;
        for (uint32_t i = 0; i < cap; i++) ht[i] = -1;
        for (uint32_t s = 0; s < m->n_st; s++) {
            const int32_t *ids_s = m->st[s].n > 0 ? m->pool + m->st[s].off : NULL;
            uint32_t h = state_hash(ids_s, m->st[s].n, m->st[s].accept) & (cap - 1);
            while (ht[h] >= 0) h = (h + 1) & (cap - 1);
            ht[h] = (int32_t)s;
        }
        sw_free(m->st_ht);
        m->st_ht = ht;
        m->st_ht_cap = cap;
    }
    uint32_t h = state_hash(ids, n, acc) & (m->st_ht_cap - 1);
    for (; m->st_ht[h] >= 0; h = (h + 1) & (m->st_ht_cap - 1)) {
        const gstate *s = &m->st[m->st_ht[h]];
        if (s->n == n && s->accept == acc &&
            (n == 0 || memcmp(m->pool + s->off, ids, (size_t)n * sizeof(int32_t)) == 0)) {
            *out = m->st_ht[h];
            return SWARM_OK;
        }
    }
    if (m->n_st >= GM_MAX_STATES || m->n_pool + n > GM_MAX_POOL) return SWARM_EUNSUPPORTED;
    if (!grow((void **)&m->st, &m->cap_st, m->n_st + 1, sizeof(gstate)) ||
        !grow((void **)&m->pool, &m->cap_pool, m->n_pool + n, sizeof(int32_t)))
        return SWARM_ENOMEM;
    if (n > 0) memcpy(m->pool + m->n_pool, ids, (size_t)n * sizeof(int32_t));
    m->st[m->n_st] = (gstate){.off = m->n_pool, .n = n, .accept = acc, .row = NULL};
    m->n_pool += n;
    m->st_ht[h] = (int32_t)m->n_st;
    *out = (int32_t)m->n_st++;
    return SWARM_OK;
}

/* Expands the nodes work[0..nw) until every parse has a byte set on top
 * (or is complete), and interns the resulting state. */
static swarm_err closure(sw_gm *m, uint32_t nw, int32_t *out)
{
    const swarm_grammar *g = m->g;
    if (++m->stamp == 0) { /* wrapped: forget every old stamp */
        memset(m->nstamp, 0, (size_t)m->cap_nodes * sizeof(uint32_t));
        m->stamp = 1;
    }
    uint32_t nr = 0, steps = 0;
    bool acc = false;
    swarm_err rc = SWARM_OK;
    while (nw > 0) {
        int32_t n = m->work[--nw];
        if (m->nstamp[n] == m->stamp) continue;
        m->nstamp[n] = m->stamp;
        if (++steps > GM_MAX_STEPS) return SWARM_EUNSUPPORTED;
        int32_t pos = m->npos[n], par = m->npar[n];
        sw_gelem e = g->elems[pos];
        if (e.type == SW_GE_END || e.type == SW_GE_ALT) {
            if (par < 0)
                acc = true;
            else if (!push_work(m, &nw, par))
                return SWARM_ENOMEM;
        } else if (e.type == SW_GE_SET) {
            if (nr >= SWARM_GRAMMAR_MAX_STACKS) return SWARM_EUNSUPPORTED;
            if (!grow((void **)&m->res, &m->cap_res, nr + 1, sizeof(int32_t))) return SWARM_ENOMEM;
            m->res[nr++] = n;
        } else {
            /* a reference that ends its alternative returns straight to
             * the parent (tail call): right recursion such as x* then keeps
             * a constant stack depth, so its states recur and hit the caches */
            uint32_t after = g->elems[pos + 1].type;
            int32_t ret = par;
            if (after != SW_GE_END && after != SW_GE_ALT && (ret = node_get(m, pos + 1, par, &rc)) < 0)
                return rc;
            for (uint32_t a = g->alt_off[e.arg]; a < g->alt_off[e.arg + 1]; a++) {
                int32_t k = node_get(m, (int32_t)g->alts[a], ret, &rc);
                if (k < 0) return rc;
                if (!push_work(m, &nw, k)) return SWARM_ENOMEM;
            }
        }
    }
    if (m->budget >= 0 && (m->budget -= (long)steps) < 0) return SWARM_EUNSUPPORTED;
    if (nr > 1) qsort(m->res, nr, sizeof(int32_t), int_cmp);
    return state_get(m, nr, acc, out);
}

swarm_err sw_gm_start(sw_gm *m, int32_t *out)
{
    const swarm_grammar *g = m->g;
    uint32_t nw = 0;
    swarm_err rc = SWARM_OK;
    for (uint32_t a = g->alt_off[g->root]; a < g->alt_off[g->root + 1]; a++) {
        int32_t k = node_get(m, (int32_t)g->alts[a], -1, &rc);
        if (k < 0) return rc;
        if (!push_work(m, &nw, k)) return SWARM_ENOMEM;
    }
    return closure(m, nw, out);
}

/* The transition of (st, b) when known. */
static inline bool trans_get(const sw_gm *m, int32_t st, uint8_t b, int32_t *out)
{
    const int32_t *row = m->st[st].row;
    if (row != NULL) {
        *out = row[b];
        return *out != GM_UNKNOWN;
    }
    return map_get(&m->trans, ((uint64_t)(uint32_t)st << 8) | b, out);
}

swarm_err sw_gm_step(sw_gm *m, int32_t st, uint8_t b, int32_t *out)
{
    uint64_t key = ((uint64_t)(uint32_t)st << 8) | b;
    if (trans_get(m, st, b, out)) return SWARM_OK;
    const swarm_grammar *g = m->g;
    uint32_t nw = 0;
    swarm_err rc = SWARM_OK;
    const gstate *s = &m->st[st];
    for (uint32_t i = 0; i < s->n; i++) {
        int32_t n = m->pool[m->st[st].off + i]; /* (the pool may move below) */
        int32_t pos = m->npos[n];
        if (!sw_gset_has(g->sets[g->elems[pos].arg], b)) continue;
        int32_t k = node_get(m, pos + 1, m->npar[n], &rc);
        if (k < 0) return rc;
        if (!push_work(m, &nw, k)) return SWARM_ENOMEM;
        s = &m->st[st];
    }
    int32_t next = SW_GM_DEAD;
    if (nw > 0 && (rc = closure(m, nw, &next)) != SWARM_OK) return rc;
    gstate *gs = &m->st[st];
    if (gs->row == NULL && m->n_rows < GM_MAX_ROWS) {
        /* a state that is stepped gets a row: the trie walks of its masks
         * then look transitions up by index */
        gs->row = sw_malloc(256 * sizeof(int32_t));
        if (gs->row == NULL) return SWARM_ENOMEM;
        m->n_rows++;
        for (int c = 0; c < 256; c++) gs->row[c] = GM_UNKNOWN;
    }
    if (gs->row != NULL) {
        gs->row[b] = next;
    } else {
        if (m->trans.n >= GM_MAX_TRANS) return SWARM_EUNSUPPORTED;
        if (!map_put(&m->trans, key, next)) return SWARM_ENOMEM;
    }
    *out = next;
    return SWARM_OK;
}

bool sw_gm_accepting(const sw_gm *m, int32_t st)
{
    return st >= 0 && m->st[st].accept;
}

bool sw_gm_should_reset(const sw_gm *m)
{
    /* a quarter of any limit; masks: 4096 of them (24 MiB for 49k tokens) */
    return m->n_nodes > GM_MAX_NODES / 4 || m->n_st > GM_MAX_STATES / 4 ||
           m->n_pool > GM_MAX_POOL / 4 || m->trans.n > GM_MAX_TRANS / 4 ||
           m->n_rows >= GM_MAX_ROWS / 4 || m->n_masks > 4096;
}

bool sw_gm_has_next(const sw_gm *m, int32_t st)
{
    return st >= 0 && m->st[st].n > 0;
}

swarm_err sw_gm_walk(sw_gm *m, int32_t st, const char *bytes, size_t n, int32_t *out)
{
    for (size_t i = 0; i < n && st != SW_GM_DEAD; i++) {
        swarm_err rc = sw_gm_step(m, st, (uint8_t)bytes[i], &st);
        if (rc != SWARM_OK) return rc;
    }
    *out = st;
    return SWARM_OK;
}

/* ------------------------------------------------------------------------ */
/* vocabulary trie                                                          */

struct sw_gvocab {
    int32_t n;
    uint8_t *kind;
    /* trie: node 0 is the root; children are a sibling list */
    uint32_t *first, *next;
    uint8_t *byte;
    int32_t *tok; /* first token ending at the node, -1 none */
    uint32_t n_nodes;
    int32_t *tok_next; /* per token: next token with the same bytes */
    uint32_t root_child[256];
};

void sw_gvocab_destroy(sw_gvocab *v)
{
    if (v == NULL) return;
    sw_free(v->kind);
    sw_free(v->first);
    sw_free(v->next);
    sw_free(v->byte);
    sw_free(v->tok);
    sw_free(v->tok_next);
    sw_free(v);
}

int32_t sw_gvocab_size(const sw_gvocab *v)
{
    return v->n;
}

swarm_err sw_gvocab_create(int32_t n, const char *bytes, const uint32_t *off, const uint8_t *kind,
                           sw_gvocab **out)
{
    if (n <= 0 || bytes == NULL || off == NULL || kind == NULL || out == NULL) return SWARM_EINVAL;
    sw_gvocab *v = sw_calloc(1, sizeof(*v));
    if (v == NULL) return SWARM_ENOMEM;
    v->n = n;
    size_t max_nodes = (size_t)off[n] + 1;
    if (max_nodes > UINT32_MAX / 2) {
        sw_free(v);
        return SWARM_EINVAL;
    }
    v->kind = sw_malloc((size_t)n);
    v->first = sw_calloc(max_nodes, sizeof(uint32_t));
    v->next = sw_calloc(max_nodes, sizeof(uint32_t));
    v->byte = sw_calloc(max_nodes, 1);
    v->tok = sw_malloc(max_nodes * sizeof(int32_t));
    v->tok_next = sw_malloc((size_t)n * sizeof(int32_t));
    if (!v->kind || !v->first || !v->next || !v->byte || !v->tok || !v->tok_next) {
        sw_gvocab_destroy(v);
        return SWARM_ENOMEM;
    }
    memcpy(v->kind, kind, (size_t)n);
    v->tok[0] = -1;
    v->n_nodes = 1;
    for (int32_t t = 0; t < n; t++) {
        v->tok_next[t] = -1;
        uint32_t len = off[t + 1] - off[t];
        if (kind[t] != SW_GTOK_TEXT || len == 0) continue;
        uint32_t node = 0;
        for (uint32_t i = 0; i < len; i++) {
            uint8_t c = (uint8_t)bytes[off[t] + i];
            uint32_t child = 0;
            if (node == 0) {
                child = v->root_child[c];
            } else {
                for (uint32_t k = v->first[node]; k != 0; k = v->next[k])
                    if (v->byte[k] == c) {
                        child = k;
                        break;
                    }
            }
            if (child == 0) {
                child = v->n_nodes++;
                v->byte[child] = c;
                v->tok[child] = -1;
                v->first[child] = 0;
                v->next[child] = v->first[node];
                v->first[node] = child;
                if (node == 0) v->root_child[c] = child;
            }
            node = child;
        }
        v->tok_next[t] = v->tok[node];
        v->tok[node] = t;
    }
    *out = v;
    return SWARM_OK;
}

swarm_err sw_gm_mask(sw_gm *m, const sw_gvocab *v, int32_t st, const uint32_t **bits)
{
    if (st < 0 || (uint32_t)st >= m->n_st || v == NULL) return SWARM_EINVAL;
    if (m->vocab != NULL && m->vocab != v) return SWARM_EINVAL;
    m->vocab = v;
    if (m->st[st].mask != NULL) {
        *bits = m->st[st].mask;
        return SWARM_OK;
    }
    uint32_t *mask = sw_calloc(((size_t)v->n + 31) / 32, sizeof(uint32_t));
    if (mask == NULL) return SWARM_ENOMEM;
    if (m->st[st].accept)
        for (int32_t t = 0; t < v->n; t++)
            if (v->kind[t] == SW_GTOK_END) mask[t >> 5] |= 1u << (t & 31);
    swarm_err rc = SWARM_OK;
    uint32_t sp = 0;
    m->budget = GM_MAX_MASK_WORK;
    if (!grow((void **)&m->walk, &m->cap_walk, 1, sizeof(*m->walk))) {
        rc = SWARM_ENOMEM;
        goto done;
    }
    m->walk[sp++] = (struct walk){0, st};
    while (sp > 0) {
        struct walk w = m->walk[--sp];
        for (uint32_t c = v->first[w.node]; c != 0; c = v->next[c]) {
            int32_t s2;
            if (!trans_get(m, w.st, v->byte[c], &s2) &&
                (rc = sw_gm_step(m, w.st, v->byte[c], &s2)) != SWARM_OK)
                goto done;
            if (s2 == SW_GM_DEAD) continue;
            for (int32_t t = v->tok[c]; t >= 0; t = v->tok_next[t]) mask[t >> 5] |= 1u << (t & 31);
            if (v->first[c] == 0) continue;
            if (!grow((void **)&m->walk, &m->cap_walk, sp + 1, sizeof(*m->walk))) {
                rc = SWARM_ENOMEM;
                goto done;
            }
            m->walk[sp++] = (struct walk){c, s2};
        }
    }
done:
    m->budget = -1;
    if (rc != SWARM_OK) {
        sw_free(mask);
        return rc;
    }
    m->st[st].mask = mask;
    m->n_masks++;
    *bits = mask;
    return SWARM_OK;
}

/* ------------------------------------------------------------------------ */
/* public matcher                                                           */

struct swarm_grammar_matcher {
    sw_gm *gm;
    int32_t st;
};

swarm_err swarm_grammar_matcher_create(const swarm_grammar *g, swarm_grammar_matcher **out)
{
    if (g == NULL || out == NULL) return SWARM_EINVAL;
    swarm_grammar_matcher *mt = sw_calloc(1, sizeof(*mt));
    if (mt == NULL) return SWARM_ENOMEM;
    swarm_err rc = sw_gm_create(g, &mt->gm);
    if (rc == SWARM_OK) rc = sw_gm_start(mt->gm, &mt->st);
    if (rc != SWARM_OK) {
        swarm_grammar_matcher_destroy(mt);
        return rc;
    }
    *out = mt;
    return SWARM_OK;
}

void swarm_grammar_matcher_destroy(swarm_grammar_matcher *mt)
{
    if (mt == NULL) return;
    sw_gm_destroy(mt->gm);
    sw_free(mt);
}

swarm_err swarm_grammar_matcher_accept(swarm_grammar_matcher *mt, const char *bytes, size_t n)
{
    if (mt == NULL || (bytes == NULL && n > 0)) return SWARM_EINVAL;
    int32_t st;
    swarm_err rc = sw_gm_walk(mt->gm, mt->st, bytes, n, &st);
    if (rc != SWARM_OK) return rc;
    if (st == SW_GM_DEAD) return SWARM_EINVAL;
    mt->st = st;
    return SWARM_OK;
}

bool swarm_grammar_matcher_complete(const swarm_grammar_matcher *mt)
{
    return mt != NULL && sw_gm_accepting(mt->gm, mt->st);
}

bool swarm_grammar_matcher_can_continue(const swarm_grammar_matcher *mt)
{
    return mt != NULL && sw_gm_has_next(mt->gm, mt->st);
}

swarm_err swarm_grammar_match(const swarm_grammar *g, const char *text, size_t len, bool *ok)
{
    if (g == NULL || (text == NULL && len > 0) || ok == NULL) return SWARM_EINVAL;
    swarm_grammar_matcher *mt = NULL;
    swarm_err rc = swarm_grammar_matcher_create(g, &mt);
    if (rc != SWARM_OK) return rc;
    rc = swarm_grammar_matcher_accept(mt, text, len);
    if (rc == SWARM_OK || rc == SWARM_EINVAL) {
        *ok = rc == SWARM_OK && swarm_grammar_matcher_complete(mt);
        rc = SWARM_OK;
    }
    swarm_grammar_matcher_destroy(mt);
    return rc;
}
