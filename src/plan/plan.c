/*
 * plan.c: building the subtask DAG of a parsed task (one function per
 * strategy) and rendering a subtask's prompt from its dependencies'
 * outputs. The plan owns copies of everything, independent of the task.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plan_int.h"

struct swarm_plan {
    swarm_decomp decomp;
    swarm_subtask *subs;
    bool *tpl;   /* [cap] subs[i].prompt is a template to render (not final) */
    size_t n, cap;
    char *input;
    void **pool; /* every allocation the subtasks point into */
    size_t n_pool, cap_pool;
};

// --- ownership helpers ---------------------------------------------------------

/* Records p in the plan's pool; frees it and returns NULL when that fails. */
static void *keep(swarm_plan *pl, void *p)
{
    if (p == NULL) return NULL;
    if (pl->n_pool == pl->cap_pool) {
        size_t cap = pl->cap_pool ? pl->cap_pool * 2 : 64;
        void **v = sw_realloc(pl->pool, cap * sizeof(*v));
        if (v == NULL) {
            sw_free(p);
            return NULL;
        }
        pl->pool = v;
        pl->cap_pool = cap;
    }
    pl->pool[pl->n_pool++] = p;
    return p;
}

static const char *keep_str(swarm_plan *pl, const char *s)
{
    return keep(pl, sw_strdup(s));
}

static swarm_subtask *add_sub(swarm_plan *pl, const char *name)
{
    if (pl->n == pl->cap) {
        size_t cap = pl->cap ? pl->cap * 2 : 16;
        swarm_subtask *v = sw_realloc(pl->subs, cap * sizeof(*v));
        if (v == NULL) return NULL;
        pl->subs = v;
        bool *f = sw_realloc(pl->tpl, cap * sizeof(*f));
        if (f == NULL) return NULL;
        pl->tpl = f;
        pl->cap = cap;
    }
    swarm_subtask *s = &pl->subs[pl->n];
    memset(s, 0, sizeof(*s));
    s->id = (int32_t)pl->n;
    s->level = -1;
    pl->tpl[pl->n] = false;
    if ((s->name = keep_str(pl, name)) == NULL) return NULL;
    pl->n++;
    return s;
}

static swarm_err set_labels(swarm_plan *pl, swarm_subtask *s, const char *const *labels, size_t n)
{
    if (n == 0) return SWARM_OK;
    const char **l = keep(pl, sw_calloc(n, sizeof(*l)));
    if (l == NULL) return SWARM_ENOMEM;
    for (size_t i = 0; i < n; i++)
        if ((l[i] = keep_str(pl, labels[i])) == NULL) return SWARM_ENOMEM;
    s->labels = l;
    s->n_labels = n;
    return SWARM_OK;
}

static swarm_err set_deps(swarm_plan *pl, swarm_subtask *s, const int32_t *deps, size_t n)
{
    if (n == 0) return SWARM_OK;
    int32_t *v = keep(pl, sw_calloc(n, sizeof(*v)));
    if (v == NULL) return SWARM_ENOMEM;
    memcpy(v, deps, n * sizeof(*v));
    s->deps = v;
    s->n_deps = n;
    return SWARM_OK;
}

// --- rendering -----------------------------------------------------------------

/* A dependency by name, for {{steps.NAME}} lookups by binary search. */
typedef struct dep_ref {
    const char *name;
    size_t len;
    int32_t id;
} dep_ref;

typedef struct render_ctx {
    const swarm_plan *pl;
    const swarm_subtask *s;
    const char *const *outputs; /* by subtask id; NULL at build time */
    const char *chunk;
    char *results;              /* joined on first use */
    dep_ref *deps;              /* s's dependencies sorted by name, built on first use */
    bool oom;
} render_ctx;

static int cmp_dep_ref(const void *a, const void *b)
{
    const dep_ref *x = a, *y = b;
    size_t m = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->name, y->name, m);
    if (c != 0) return c;
    return x->len < y->len ? -1 : (x->len > y->len);
}

static const char *lookup(void *vctx, const char *name, size_t n)
{
    render_ctx *c = vctx;
    if (n == 5 && memcmp(name, "input", 5) == 0) return c->pl->input;
    if (n == 5 && memcmp(name, "chunk", 5) == 0) return c->chunk;
    if (c->outputs == NULL) return NULL;
    if (n == 7 && memcmp(name, "results", 7) == 0) {
        if (c->results != NULL) return c->results;
        size_t total = 1;
        for (size_t i = 0; i < c->s->n_deps; i++) {
            const char *o = c->outputs[c->s->deps[i]];
            if (o == NULL) return NULL;
            total += strlen(o) + 2;
        }
        char *r = sw_malloc(total);
        if (r == NULL) {
            c->oom = true;
            return NULL;
        }
        size_t at = 0;
        for (size_t i = 0; i < c->s->n_deps; i++) {
            const char *o = c->outputs[c->s->deps[i]];
            if (i > 0) {
                memcpy(r + at, "\n\n", 2);
                at += 2;
            }
            size_t l = strlen(o);
            memcpy(r + at, o, l);
            at += l;
        }
        r[at] = '\0';
        c->results = r;
        return r;
    }
    if (n > 6 && memcmp(name, "steps.", 6) == 0 && c->s->n_deps > 0) {
        /* sorted once per render: a prompt naming many steps, each looked up
         * by a scan of up to 1023 dependencies, cost O(uses x deps) */
        if (c->deps == NULL) {
            c->deps = sw_malloc(c->s->n_deps * sizeof(*c->deps));
            if (c->deps == NULL) {
                c->oom = true;
                return NULL;
            }
            for (size_t i = 0; i < c->s->n_deps; i++) {
                const char *dn = c->pl->subs[c->s->deps[i]].name;
                c->deps[i] = (dep_ref){dn, strlen(dn), c->s->deps[i]};
            }
            qsort(c->deps, c->s->n_deps, sizeof(*c->deps), cmp_dep_ref);
        }
        dep_ref key = {name + 6, n - 6, 0};
        const dep_ref *hit = bsearch(&key, c->deps, c->s->n_deps, sizeof(*c->deps), cmp_dep_ref);
        return hit ? c->outputs[hit->id] : NULL;
    }
    return NULL;
}

static swarm_err render(const swarm_plan *pl, const swarm_subtask *s, const char *tpl,
                        const char *chunk, const char *const *outputs, char **out, swarm_diag *d)
{
    render_ctx c = {pl, s, outputs, chunk, NULL, NULL, false};
    swarm_err rc = sw_tpl_render(tpl, lookup, &c, SW_PLAN_MAX_PROMPTS, out, d);
    sw_free(c.results);
    sw_free(c.deps);
    if (c.oom) {
        if (rc == SWARM_OK) swarm_free(*out);
        return SWARM_ENOMEM;
    }
    return rc;
}

swarm_err swarm_plan_render(const swarm_plan *p, size_t i, const char *const *outputs, char **out)
{
    SWARM_ASSERT(p != NULL && out != NULL);
    if (i >= p->n) return SWARM_EINVAL;
    const swarm_subtask *s = &p->subs[i];
    if (!p->tpl[i]) {
        char *c = sw_strdup(s->prompt);
        if (c == NULL) return SWARM_ENOMEM;
        *out = c;
        return SWARM_OK;
    }
    if (outputs == NULL) return SWARM_EINVAL;
    return render(p, s, s->prompt, NULL, outputs, out, NULL);
}

// --- estimates -----------------------------------------------------------------

/* Prompt words, plus the input when the template pulls it in, plus what the
 * dependencies can produce, plus the labels scored or the tokens generated. */
static void estimate(swarm_plan *pl, swarm_subtask *s, bool tpl)
{
    int64_t e = sw_plan_count_words(s->prompt);
    if (tpl) {
        if (strstr(s->prompt, "input") != NULL) e += sw_plan_count_words(pl->input);
        for (size_t i = 0; i < s->n_deps; i++) e += pl->subs[s->deps[i]].max_tokens;
    }
    if (s->kind == SWARM_SUBTASK_CLASSIFY) {
        for (size_t i = 0; i < s->n_labels; i++) e += sw_plan_count_words(s->labels[i]) + 1;
    } else {
        e += s->max_tokens;
    }
    s->est_tokens = e;
}

/* Fills a subtask whose prompt is final now (no dependencies). */
static swarm_err finish_leaf(swarm_plan *pl, swarm_subtask *s, const char *tpl, const char *chunk,
                             swarm_diag *d)
{
    char *pr = NULL;
    swarm_err rc = render(pl, s, tpl, chunk, NULL, &pr, d);
    if (rc != SWARM_OK) return rc;
    if ((s->prompt = keep(pl, pr)) == NULL) return SWARM_ENOMEM;
    estimate(pl, s, false);
    return SWARM_OK;
}

static void common(const swarm_task *t, swarm_subtask *s, const char *skill)
{
    s->kind = t->kind;
    s->skill = skill;
    s->max_tokens = t->max_tokens;
    s->redundancy = t->redundancy;
}

// --- strategies ----------------------------------------------------------------

/* single, ensemble and cascade: n subtasks with the same prompt and labels,
 * shared (not copied n times: k may be 1024 and the input 64 MiB). */
static swarm_err build_copies(const swarm_task *t, swarm_plan *pl, const char *skill, int32_t n,
                              bool chained, swarm_diag *d)
{
    const char *prompt = NULL;
    const char *const *labels = NULL;
    for (int32_t i = 0; i < n; i++) {
        char name[32];
        if (t->decomp == SWARM_DECOMP_SINGLE) snprintf(name, sizeof(name), "main");
        else if (chained) snprintf(name, sizeof(name), "level-%d", (int)i);
        else snprintf(name, sizeof(name), "member-%d", (int)i);
        swarm_subtask *s = add_sub(pl, name);
        if (s == NULL) return SWARM_ENOMEM;
        common(t, s, skill);
        s->is_output = true;
        if (chained) s->level = i;
        swarm_err rc;
        if (i == 0) {
            char *pr = NULL;
            if ((rc = set_labels(pl, s, t->labels, t->n_labels)) != SWARM_OK) return rc;
            if ((rc = render(pl, s, t->prompt, NULL, NULL, &pr, d)) != SWARM_OK) return rc;
            if ((prompt = keep(pl, pr)) == NULL) return SWARM_ENOMEM;
            labels = s->labels;
        } else {
            s->labels = labels;
            s->n_labels = t->n_labels;
        }
        s->prompt = prompt;
        /* A cascade level waits for the one below it: the runtime runs it only
         * when that level's confidence is under the threshold. The prompt is
         * still final (it does not use the lower level's output). */
        if (chained && i > 0) {
            int32_t dep = i - 1;
            if ((rc = set_deps(pl, s, &dep, 1)) != SWARM_OK) return rc;
        }
        estimate(pl, s, false);
    }
    return SWARM_OK;
}

/* ctx: size_t[2], the number of {{input}} and of {{chunk}} uses. */
static swarm_err count_vars(void *ctx, const char *name, size_t n, swarm_diag *d)
{
    (void)d;
    size_t *uses = ctx;
    if (n == 5 && memcmp(name, "input", 5) == 0) uses[0]++;
    if (n == 5 && memcmp(name, "chunk", 5) == 0) uses[1]++;
    return SWARM_OK;
}

/* A tree reduction: while more than reduce_fanin results wait, reduce
 * them in rounds, reduce_fanin at a time, in input order (reduce-R-J is
 * round R's J-th). On return ids[0..*n) are the results the final reduce
 * takes (at most reduce_fanin of them). Intermediate reduces generate
 * text for the next round; their prompt is the task's reduce_prompt. */
static swarm_err build_reduce_rounds(const swarm_task *t, swarm_plan *pl, const char *skill,
                                     int32_t *ids, size_t *n)
{
    size_t f = (size_t)t->reduce_fanin;
    for (int round = 1; *n > f; round++) {
        size_t out = 0;
        for (size_t at = 0; at < *n; at += f) {
            size_t take = *n - at < f ? *n - at : f;
            char name[48];
            snprintf(name, sizeof(name), "reduce-%d-%zu", round, out);
            swarm_subtask *s = add_sub(pl, name);
            if (s == NULL) return SWARM_ENOMEM;
            common(t, s, skill);
            s->kind = SWARM_SUBTASK_GENERATE;
            s->is_output = false;
            swarm_err rc = set_deps(pl, s, ids + at, take);
            if (rc != SWARM_OK) return rc;
            if ((s->prompt = keep_str(pl, t->reduce_prompt)) == NULL) return SWARM_ENOMEM;
            estimate(pl, s, true);
            pl->tpl[s->id] = true;
            ids[out++] = s->id; /* out <= at: the slice read is never overwritten first */
        }
        *n = out;
    }
    return SWARM_OK;
}

static swarm_err build_map_reduce(const swarm_task *t, swarm_plan *pl, const char *skill,
                                  swarm_diag *d)
{
    sw_span *c = NULL;
    size_t nc = 0;
    swarm_err rc = sw_plan_chunk(t->input, t->input_len, t->chunk_by, (size_t)t->chunk_size,
                                 (size_t)t->chunk_overlap, SW_PLAN_MAX_CHUNKS, &c, &nc, d);
    if (rc != SWARM_OK) return rc;
    if (nc == 0)
        return sw_diag_set(d, SWARM_EINVAL, "map-reduce: the input is empty, nothing to split");
    /* A large overlap copies the input many times over: bound the total. */
    /* Each {{chunk}} use copies the chunk, each {{input}} use the whole input. */
    size_t uses[2] = {0, 0};
    (void)sw_tpl_scan(t->map_prompt, count_vars, uses, NULL); /* checked at parse */
    double total = 0; /* double: cannot overflow, only compared with the limit */
    for (size_t i = 0; i < nc; i++)
        total += (double)uses[1] * (double)(c[i].end - c[i].start) +
                 (double)uses[0] * (double)t->input_len + (double)strlen(t->map_prompt);
    if (total > (double)SW_PLAN_MAX_PROMPTS) {
        sw_free(c);
        return sw_diag_set(d, SWARM_EINVAL,
                           "map-reduce: %zu map prompts would total %.0f bytes (limit %u); "
                           "lower chunk.overlap, raise chunk.size or drop {{input}} from "
                           "map_prompt",
                           nc, total, SW_PLAN_MAX_PROMPTS);
    }
    int32_t *deps = sw_calloc(nc, sizeof(*deps));
    if (deps == NULL) {
        sw_free(c);
        return SWARM_ENOMEM;
    }
    bool reduce = t->reduce_prompt != NULL;
    for (size_t i = 0; i < nc && rc == SWARM_OK; i++) {
        char name[32];
        snprintf(name, sizeof(name), "map-%zu", i);
        swarm_subtask *s = add_sub(pl, name);
        char *chunk = sw_strndup(t->input + c[i].start, c[i].end - c[i].start);
        if (s == NULL || chunk == NULL) {
            sw_free(chunk);
            rc = SWARM_ENOMEM;
            break;
        }
        common(t, s, skill);
        /* With a reduce step the maps produce text for it; without, the maps
         * are the task's results and carry its kind. */
        if (reduce) s->kind = SWARM_SUBTASK_GENERATE;
        else rc = set_labels(pl, s, t->labels, t->n_labels);
        s->is_output = !reduce;
        deps[i] = s->id;
        if (rc == SWARM_OK) rc = finish_leaf(pl, s, t->map_prompt, chunk, d);
        sw_free(chunk);
    }
    sw_free(c);
    size_t nd = nc;
    if (rc == SWARM_OK && reduce && t->reduce_fanin >= 2)
        rc = build_reduce_rounds(t, pl, skill, deps, &nd);
    if (rc == SWARM_OK && reduce) {
        swarm_subtask *s = add_sub(pl, "reduce");
        if (s == NULL) {
            rc = SWARM_ENOMEM;
        } else {
            common(t, s, skill);
            s->group = 1;
            s->is_output = true;
            if ((rc = set_labels(pl, s, t->labels, t->n_labels)) == SWARM_OK &&
                (rc = set_deps(pl, s, deps, nd)) == SWARM_OK) {
                if ((s->prompt = keep_str(pl, t->reduce_prompt)) == NULL) rc = SWARM_ENOMEM;
                else estimate(pl, s, true);
                pl->tpl[s->id] = true;
            }
        }
    }
    sw_free(deps);
    return rc;
}

static swarm_err build_pipeline(const swarm_task *t, swarm_plan *pl, const char *skill,
                                swarm_diag *d)
{
    size_t n = t->n_steps;
    size_t ne = 0;
    for (size_t i = 0; i < n; i++) ne += t->steps[i].n_deps;
    int32_t *id = sw_malloc(n * sizeof(*id));   /* step index -> subtask id */
    int32_t *tmp = sw_malloc(n * sizeof(*tmp)); /* dependency ids of one step */
    bool *dependent = sw_calloc(n, sizeof(*dependent));
    size_t *left = sw_calloc(n, sizeof(*left));       /* unplaced dependencies */
    size_t *first = sw_calloc(n + 1, sizeof(*first)); /* dependents of k: users[first[k]..first[k+1]) */
    size_t *users = sw_calloc(ne ? ne : 1, sizeof(*users));
    swarm_err rc = SWARM_OK;
    if (id == NULL || tmp == NULL || dependent == NULL || left == NULL || first == NULL ||
        users == NULL) {
        rc = SWARM_ENOMEM;
        goto done;
    }
    for (size_t i = 0; i < n; i++) id[i] = -1;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < t->steps[i].n_deps; j++) dependent[t->steps[i].deps[j]] = true;
    /* Topological order, earliest declared ready step first (task.c already
     * proved there is no cycle). left[i] counts step i's unplaced dependencies,
     * so a pick costs O(steps) rather than a rescan of every dependency list. */
    for (size_t i = 0; i < n; i++) {
        left[i] = t->steps[i].n_deps;
        for (size_t j = 0; j < t->steps[i].n_deps; j++) first[t->steps[i].deps[j] + 1]++;
    }
    for (size_t k = 0; k < n; k++) first[k + 1] += first[k];
    for (size_t i = 0; i < n; i++) /* fill users[], with tmp[] as per-step counters */
        tmp[i] = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < t->steps[i].n_deps; j++) {
            size_t k = (size_t)t->steps[i].deps[j];
            users[first[k] + (size_t)tmp[k]++] = i;
        }
    for (size_t placed = 0; placed < n;) {
        size_t pick = n;
        for (size_t i = 0; i < n && pick == n; i++)
            if (id[i] < 0 && left[i] == 0) pick = i;
        SWARM_ASSERT(pick < n);
        for (size_t u = first[pick]; u < first[pick + 1]; u++) left[users[u]]--;
        const sw_step *st = &t->steps[pick];
        swarm_subtask *s = add_sub(pl, st->name);
        if (s == NULL) {
            rc = SWARM_ENOMEM;
            goto done;
        }
        common(t, s, st->skill ? keep_str(pl, st->skill) : skill);
        if (s->skill == NULL) {
            rc = SWARM_ENOMEM;
            goto done;
        }
        s->kind = st->kind;
        if (st->max_tokens > 0) s->max_tokens = st->max_tokens;
        s->is_output = !dependent[pick];
        id[pick] = s->id;
        for (size_t j = 0; j < st->n_deps; j++) tmp[j] = id[st->deps[j]];
        if ((rc = set_labels(pl, s, st->labels, st->n_labels)) != SWARM_OK) goto done;
        if ((rc = set_deps(pl, s, tmp, st->n_deps)) != SWARM_OK) goto done;
        if (st->n_deps == 0) {
            if ((rc = finish_leaf(pl, s, st->prompt, NULL, d)) != SWARM_OK) goto done;
        } else {
            if ((s->prompt = keep_str(pl, st->prompt)) == NULL) {
                rc = SWARM_ENOMEM;
                goto done;
            }
            estimate(pl, s, true);
            pl->tpl[s->id] = true;
        }
        placed++;
    }
done:
    sw_free(id);
    sw_free(tmp);
    sw_free(dependent);
    sw_free(left);
    sw_free(first);
    sw_free(users);
    return rc;
}

swarm_err swarm_plan_build(const swarm_task *t, swarm_plan **out, swarm_diag *d)
{
    SWARM_ASSERT(t != NULL && out != NULL);
    swarm_plan *pl = sw_calloc(1, sizeof(*pl));
    if (pl == NULL) return SWARM_ENOMEM;
    swarm_err rc = SWARM_ENOMEM;
    pl->decomp = t->decomp;
    if ((pl->input = sw_strndup(t->input, t->input_len)) == NULL) goto fail;
    const char *skill = keep_str(pl, t->skill);
    if (skill == NULL) goto fail;
    switch (t->decomp) {
    case SWARM_DECOMP_SINGLE: rc = build_copies(t, pl, skill, 1, false, d); break;
    case SWARM_DECOMP_ENSEMBLE: rc = build_copies(t, pl, skill, t->k, false, d); break;
    case SWARM_DECOMP_CASCADE: rc = build_copies(t, pl, skill, t->levels, true, d); break;
    case SWARM_DECOMP_MAP_REDUCE: rc = build_map_reduce(t, pl, skill, d); break;
    case SWARM_DECOMP_PIPELINE: rc = build_pipeline(t, pl, skill, d); break;
    default: rc = sw_diag_set(d, SWARM_EINVAL, "unknown decomposition %d", (int)t->decomp); break;
    }
    if (rc != SWARM_OK) goto fail;
    *out = pl;
    return SWARM_OK;
fail:
    swarm_plan_destroy(pl);
    return rc;
}

void swarm_plan_destroy(swarm_plan *p)
{
    if (p == NULL) return;
    for (size_t i = 0; i < p->n_pool; i++) sw_free(p->pool[i]);
    sw_free(p->pool);
    sw_free(p->subs);
    sw_free(p->tpl);
    sw_free(p->input);
    sw_free(p);
}

size_t swarm_plan_count(const swarm_plan *p) { return p->n; }

const swarm_subtask *swarm_plan_get(const swarm_plan *p, size_t i)
{
    return i < p->n ? &p->subs[i] : NULL;
}

swarm_decomp swarm_plan_decomp(const swarm_plan *p) { return p->decomp; }
