/*
 * task.c: parsing and strict validation of the task file (docs/task-file.md,
 * docs/task.schema.json): every key known, every type checked, templates
 * checked against the variables their place allows, pipeline dependencies
 * resolved and checked for cycles. The DAG itself is built in plan.c.
 */
#include <libgen.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../aggregate/agg_int.h"
#include "plan_int.h"

// --- small JSON helpers ------------------------------------------------------

static swarm_err check_keys(const json_t *obj, const char *const *allowed, size_t n,
                            const char *where, swarm_diag *d)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)obj, key, v)
    {
        bool ok = false;
        for (size_t i = 0; i < n && !ok; i++) ok = strcmp(key, allowed[i]) == 0;
        if (!ok) {
            char list[256] = "";
            for (size_t i = 0; i < n; i++) {
                strncat(list, allowed[i], sizeof(list) - strlen(list) - 1);
                if (i + 1 < n) strncat(list, ", ", sizeof(list) - strlen(list) - 1);
            }
            return sw_diag_set(d, SWARM_EFORMAT, "%s%s\"%s\": unknown key (expected one of: %s)",
                               where, where[0] ? " " : "", key, list);
        }
    }
    return SWARM_OK;
}
#define CHECK_KEYS(obj, arr, where, d) \
    check_keys((obj), (arr), sizeof(arr) / sizeof((arr)[0]), (where), (d))

static swarm_err get_string(const json_t *obj, const char *key, const char *where, bool required,
                            const char **out, swarm_diag *d)
{
    const json_t *v = json_object_get(obj, key);
    if (v == NULL) {
        if (required) return sw_diag_set(d, SWARM_EFORMAT, "%s%s is missing", where, key);
        return SWARM_OK;
    }
    if (!json_is_string(v))
        return sw_diag_set(d, SWARM_EFORMAT, "%s%s must be a string, got %s", where, key,
                           sw_json_type_name(v));
    *out = json_string_value(v);
    return SWARM_OK;
}

static swarm_err get_int(const json_t *obj, const char *key, const char *where, long long min,
                         long long max, int32_t *out, swarm_diag *d)
{
    const json_t *v = json_object_get(obj, key);
    if (v == NULL) return SWARM_OK;
    if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max)
        return sw_diag_set(d, SWARM_EFORMAT, "%s%s must be an integer in [%lld, %lld]", where, key,
                           min, max);
    *out = (int32_t)json_integer_value(v);
    return SWARM_OK;
}

static swarm_err get_number(const json_t *obj, const char *key, const char *where, double min,
                            double max, double *out, swarm_diag *d)
{
    const json_t *v = json_object_get(obj, key);
    if (v == NULL) return SWARM_OK;
    if (!json_is_number(v))
        return sw_diag_set(d, SWARM_EFORMAT, "%s%s must be a number, got %s", where, key,
                           sw_json_type_name(v));
    double x = json_number_value(v);
    if (!isfinite(x) || x < min || x > max)
        return sw_diag_set(d, SWARM_EFORMAT, "%s%s must be in [%g, %g] (got %g)", where, key, min,
                           max, x);
    *out = x;
    return SWARM_OK;
}

static swarm_err parse_kind(const json_t *obj, const char *where, swarm_subtask_kind *out,
                            swarm_diag *d)
{
    const char *s = NULL;
    swarm_err rc = get_string(obj, "kind", where, false, &s, d);
    if (rc != SWARM_OK || s == NULL) return rc;
    for (int k = 0; k < SWARM_SUBTASK_KIND_COUNT; k++) {
        if (strcmp(s, swarm_subtask_kind_name((swarm_subtask_kind)k)) == 0) {
            *out = (swarm_subtask_kind)k;
            return SWARM_OK;
        }
    }
    return sw_diag_set(d, SWARM_EFORMAT,
                       "%skind: unknown kind '%s' (expected generate, classify or score)", where, s);
}

/* labels: required (>= 2, distinct, non-empty) for classify, refused otherwise. */
static swarm_err parse_labels(const json_t *obj, const char *where, swarm_subtask_kind kind,
                              const char ***out, size_t *out_n, swarm_diag *d)
{
    const json_t *v = json_object_get(obj, "labels");
    if (kind != SWARM_SUBTASK_CLASSIFY) {
        if (v != NULL)
            return sw_diag_set(d, SWARM_EFORMAT, "%slabels only apply to kind classify", where);
        return SWARM_OK;
    }
    if (v == NULL)
        return sw_diag_set(d, SWARM_EFORMAT, "%slabels is missing (kind classify needs them)",
                           where);
    if (!json_is_array(v))
        return sw_diag_set(d, SWARM_EFORMAT, "%slabels must be an array of strings, got %s",
                           where, sw_json_type_name(v));
    size_t n = json_array_size(v);
    if (n < 2 || n > SW_PLAN_MAX_LABELS)
        return sw_diag_set(d, SWARM_EFORMAT, "%slabels needs 2 to %d labels (got %zu)", where,
                           SW_PLAN_MAX_LABELS, n);
    const char **l = sw_calloc(n, sizeof(*l));
    if (l == NULL) return SWARM_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        const json_t *e = json_array_get(v, i);
        if (!json_is_string(e) || json_string_length(e) == 0) {
            sw_free(l);
            return sw_diag_set(d, SWARM_EFORMAT, "%slabels[%zu] must be a non-empty string", where,
                               i);
        }
        l[i] = json_string_value(e);
        for (size_t j = 0; j < i; j++) {
            if (strcmp(l[i], l[j]) == 0) {
                const char *dup = l[i]; /* owned by the JSON tree, not by l */
                sw_free(l);
                return sw_diag_set(d, SWARM_EFORMAT, "%slabels[%zu] repeats \"%s\"", where, i,
                                   dup);
            }
        }
    }
    *out = l;
    *out_n = n;
    return SWARM_OK;
}

// --- templates ---------------------------------------------------------------

enum { V_INPUT = 1, V_CHUNK = 2, V_RESULTS = 4, V_STEPS = 8 };

typedef struct step_ref {
    const char *name;
    int32_t idx;
} step_ref;

static int cmp_step_ref(const void *a, const void *b)
{
    return strcmp(((const step_ref *)a)->name, ((const step_ref *)b)->name);
}

typedef struct tpl_check {
    const char *where;
    unsigned allowed, used;
    const swarm_task *t;    /* for steps.NAME */
    const sw_step *self;
    /* steps.NAME in O(log n): the steps sorted by name, and mark[k] == stamp
     * when step k is in self's depends_on (NULL: scan self's deps) */
    const step_ref *index;
    const int32_t *mark;
    int32_t stamp;
} tpl_check;

static bool name_is(const char *s, size_t n, const char *want)
{
    return strlen(want) == n && memcmp(s, want, n) == 0;
}

static swarm_err check_var(void *ctx, const char *name, size_t n, swarm_diag *d)
{
    tpl_check *c = ctx;
    unsigned v = 0;
    if (name_is(name, n, "input")) v = V_INPUT;
    else if (name_is(name, n, "chunk")) v = V_CHUNK;
    else if (name_is(name, n, "results")) v = V_RESULTS;
    else if (n > 6 && memcmp(name, "steps.", 6) == 0) v = V_STEPS;
    if (v == 0 || !(c->allowed & v)) {
        const char *hint = c->allowed & V_STEPS    ? "{{input}}, {{results}}, {{steps.NAME}}"
                           : c->allowed & V_CHUNK  ? "{{chunk}}, {{input}}"
                           : c->allowed & V_RESULTS ? "{{results}}, {{input}}"
                                                    : "{{input}}";
        return sw_diag_set(d, SWARM_EFORMAT, "%s: unknown template variable {{%.*s}} here (allowed: %s)",
                           c->where, (int)n, name, hint);
    }
    if (v == V_STEPS) {
        const char *dep = name + 6;
        size_t dn = n - 6;
        bool found = false;
        if (c->index != NULL) {
            char key[SW_PLAN_MAX_NAME + 1];
            if (dn <= SW_PLAN_MAX_NAME) {
                memcpy(key, dep, dn);
                key[dn] = '\0';
                step_ref k = {key, 0};
                const step_ref *hit =
                    bsearch(&k, c->index, c->t->n_steps, sizeof(*c->index), cmp_step_ref);
                found = hit != NULL && c->mark[hit->idx] == c->stamp;
            }
        } else {
            for (size_t i = 0; i < c->self->n_deps && !found; i++)
                found = name_is(dep, dn, c->t->steps[c->self->deps[i]].name);
        }
        if (!found)
            return sw_diag_set(d, SWARM_EFORMAT,
                               "%s: uses {{%.*s}} but '%.*s' is not in its depends_on", c->where,
                               (int)n, name, (int)dn, dep);
    }
    if (v == V_RESULTS && c->self != NULL && c->self->n_deps == 0)
        return sw_diag_set(d, SWARM_EFORMAT, "%s: uses {{results}} but has no depends_on",
                           c->where);
    c->used |= v;
    return SWARM_OK;
}

/* Checks tpl; `need` lists variables that must appear. */
static swarm_err check_template_ex(const char *tpl, const char *where, unsigned allowed,
                                   unsigned need, const swarm_task *t, const sw_step *self,
                                   const step_ref *index, const int32_t *mark, int32_t stamp,
                                   swarm_diag *d)
{
    tpl_check c = {where, allowed, 0, t, self, index, mark, stamp};
    swarm_err rc = sw_tpl_scan(tpl, check_var, &c, d);
    if (rc != SWARM_OK) {
        if (rc == SWARM_EINVAL) {
            sw_diag_prefix(d, where);
            rc = SWARM_EFORMAT;
        }
        return rc;
    }
    const char *names[] = {"input", "chunk", "results"};
    for (int i = 0; i < 3; i++) {
        unsigned bit = 1u << i;
        if ((need & bit) && !(c.used & bit))
            return sw_diag_set(d, SWARM_EFORMAT, "%s must use {{%s}}", where, names[i]);
    }
    return SWARM_OK;
}

static swarm_err check_template(const char *tpl, const char *where, unsigned allowed,
                                unsigned need, const swarm_task *t, const sw_step *self,
                                swarm_diag *d)
{
    return check_template_ex(tpl, where, allowed, need, t, self, NULL, NULL, 0, d);
}

// --- pipeline steps ------------------------------------------------------------

static bool valid_step_name(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > SW_PLAN_MAX_NAME) return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-'))
            return false;
    }
    return true;
}

/* Kahn's algorithm with in-degrees and a queue, O(steps + edges): the old
 * rescan-until-stable loop was cubic for 1024 steps each depending on all
 * later ones. On a cycle, walks remaining dependencies to name one. */
static swarm_err check_acyclic(const swarm_task *t, swarm_diag *d)
{
    size_t n = t->n_steps, ne = 0;
    for (size_t i = 0; i < n; i++) ne += t->steps[i].n_deps;
    bool *done = sw_calloc(n, sizeof(*done));
    size_t *left = sw_calloc(n, sizeof(*left));      /* unfinished dependencies */
    size_t *first = sw_calloc(n + 1, sizeof(*first)); /* dependents of k: users[first[k]..first[k+1]) */
    size_t *users = sw_calloc(ne ? ne : 1, sizeof(*users));
    size_t *queue = sw_calloc(n, sizeof(*queue));
    if (done == NULL || left == NULL || first == NULL || users == NULL || queue == NULL) {
        sw_free(done);
        sw_free(left);
        sw_free(first);
        sw_free(users);
        sw_free(queue);
        return SWARM_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        left[i] = t->steps[i].n_deps;
        for (size_t j = 0; j < t->steps[i].n_deps; j++) first[t->steps[i].deps[j] + 1]++;
    }
    for (size_t k = 0; k < n; k++) first[k + 1] += first[k];
    for (size_t i = 0; i < n; i++) /* fill, using queue[] as per-k insertion counters */
        for (size_t j = 0; j < t->steps[i].n_deps; j++) {
            size_t k = (size_t)t->steps[i].deps[j];
            users[first[k] + queue[k]++] = i;
        }
    size_t head = 0, tail = 0, ndone = 0;
    for (size_t i = 0; i < n; i++)
        if (left[i] == 0) queue[tail++] = i;
    while (head < tail) {
        size_t k = queue[head++];
        done[k] = true;
        ndone++;
        for (size_t u = first[k]; u < first[k + 1]; u++)
            if (--left[users[u]] == 0) queue[tail++] = users[u];
    }
    sw_free(left);
    sw_free(first);
    sw_free(users);
    sw_free(queue);
    swarm_err rc = SWARM_OK;
    if (ndone < n) {
        /* Every remaining step waits on another remaining one: follow them. */
        size_t cur = 0;
        while (done[cur]) cur++;
        size_t *seen = sw_calloc(n, sizeof(*seen)); /* 1-based visit order */
        if (seen == NULL) {
            sw_free(done);
            return SWARM_ENOMEM;
        }
        size_t order = 1;
        while (seen[cur] == 0) {
            seen[cur] = order++;
            const sw_step *s = &t->steps[cur];
            for (size_t j = 0; j < s->n_deps; j++) {
                if (!done[s->deps[j]]) {
                    cur = (size_t)s->deps[j];
                    break;
                }
            }
        }
        /* cur starts the cycle; print it following the same edges. */
        char path[400] = "";
        size_t start = cur;
        do {
            strncat(path, t->steps[cur].name, sizeof(path) - strlen(path) - 1);
            strncat(path, " -> ", sizeof(path) - strlen(path) - 1);
            const sw_step *s = &t->steps[cur];
            for (size_t j = 0; j < s->n_deps; j++) {
                if (!done[s->deps[j]] && seen[s->deps[j]] != 0) {
                    cur = (size_t)s->deps[j];
                    break;
                }
            }
        } while (cur != start);
        strncat(path, t->steps[start].name, sizeof(path) - strlen(path) - 1);
        rc = sw_diag_set(d, SWARM_EFORMAT, "decomposition.steps: depends_on has a cycle: %s",
                         path);
        sw_free(seen);
    }
    sw_free(done);
    return rc;
}

/* Resolves every step's depends_on names to step indices (index: the steps
 * sorted by name; mark: n zeroed entries). */
static swarm_err resolve_deps(swarm_task *t, const json_t *arr, const step_ref *index,
                              int32_t *mark, swarm_diag *d)
{
    size_t n = t->n_steps;
    char w[128];
    for (size_t i = 0; i < n; i++) {
        const json_t *o = json_array_get(arr, i);
        sw_step *s = &t->steps[i];
        snprintf(w, sizeof(w), "decomposition.steps[%zu] (%s)", i, s->name);
        const json_t *deps = json_object_get(o, "depends_on");
        if (deps == NULL) continue;
        if (!json_is_array(deps))
            return sw_diag_set(d, SWARM_EFORMAT, "%s: depends_on must be an array of step names",
                               w);
        size_t nd = json_array_size(deps);
        if (nd == 0) continue;
        s->deps = sw_calloc(nd, sizeof(*s->deps));
        if (s->deps == NULL) return SWARM_ENOMEM;
        for (size_t j = 0; j < nd; j++) {
            const json_t *e = json_array_get(deps, j);
            if (!json_is_string(e))
                return sw_diag_set(d, SWARM_EFORMAT, "%s: depends_on[%zu] must be a string", w, j);
            const char *dn = json_string_value(e);
            step_ref key = {dn, 0};
            const step_ref *hit = bsearch(&key, index, n, sizeof(*index), cmp_step_ref);
            if (hit == NULL)
                return sw_diag_set(d, SWARM_EFORMAT, "%s: depends_on names unknown step \"%s\"",
                                   w, dn);
            size_t k = (size_t)hit->idx;
            if (k == i)
                return sw_diag_set(d, SWARM_EFORMAT, "%s: a step cannot depend on itself", w);
            if (mark[k] == (int32_t)i + 1)
                return sw_diag_set(d, SWARM_EFORMAT, "%s: depends_on lists \"%s\" twice", w,
                                   dn);
            mark[k] = (int32_t)i + 1;
            s->deps[s->n_deps++] = (int32_t)k;
        }
    }
    return SWARM_OK;
}

static const char *const step_keys[] = {"name",   "prompt",     "depends_on", "kind",
                                        "labels", "max_tokens", "skill"};

static swarm_err parse_steps(swarm_task *t, const json_t *arr, swarm_diag *d)
{
    if (!json_is_array(arr))
        return sw_diag_set(d, SWARM_EFORMAT, "decomposition.steps must be an array, got %s",
                           sw_json_type_name(arr));
    size_t n = json_array_size(arr);
    if (n == 0 || n > SW_PLAN_MAX_STEPS)
        return sw_diag_set(d, SWARM_EFORMAT, "decomposition.steps needs 1 to %d steps (got %zu)",
                           SW_PLAN_MAX_STEPS, n);
    t->steps = sw_calloc(n, sizeof(*t->steps));
    if (t->steps == NULL) return SWARM_ENOMEM;
    t->n_steps = n;
    swarm_err rc;
    char w[128];
    /* Pass 1: names, prompts, kinds. */
    for (size_t i = 0; i < n; i++) {
        const json_t *o = json_array_get(arr, i);
        sw_step *s = &t->steps[i];
        snprintf(w, sizeof(w), "decomposition.steps[%zu].", i);
        if (!json_is_object(o))
            return sw_diag_set(d, SWARM_EFORMAT, "decomposition.steps[%zu] must be an object", i);
        if ((rc = CHECK_KEYS(o, step_keys, w, d)) != SWARM_OK) return rc;
        if ((rc = get_string(o, "name", w, true, &s->name, d)) != SWARM_OK) return rc;
        if (!valid_step_name(s->name))
            return sw_diag_set(d, SWARM_EFORMAT,
                               "%sname \"%s\" must be 1-%d characters of A-Z a-z 0-9 _ -", w,
                               s->name, SW_PLAN_MAX_NAME);
        for (size_t j = 0; j < i; j++)
            if (strcmp(t->steps[j].name, s->name) == 0)
                return sw_diag_set(d, SWARM_EFORMAT, "%sname \"%s\" is used by steps[%zu] too",
                                   w, s->name, j);
        if ((rc = get_string(o, "prompt", w, true, &s->prompt, d)) != SWARM_OK) return rc;
        if ((rc = get_string(o, "skill", w, false, &s->skill, d)) != SWARM_OK) return rc;
        s->kind = SWARM_SUBTASK_GENERATE;
        if ((rc = parse_kind(o, w, &s->kind, d)) != SWARM_OK) return rc;
        if ((rc = parse_labels(o, w, s->kind, &s->labels, &s->n_labels, d)) != SWARM_OK)
            return rc;
        if ((rc = get_int(o, "max_tokens", w, 1, 65536, &s->max_tokens, d)) != SWARM_OK)
            return rc;
    }
    /* Pass 2: dependencies by name, through a sorted name index and a
     * per-step mark (a linear search per name and a scan for repeats made
     * 1024 steps depending on each other cost ~10^9 steps). */
    step_ref *index = sw_malloc(n * sizeof(*index));
    int32_t *mark = sw_calloc(n, sizeof(*mark)); /* mark[k] == i + 1: step i lists k */
    if (index == NULL || mark == NULL) {
        sw_free(index);
        sw_free(mark);
        return SWARM_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) index[i] = (step_ref){t->steps[i].name, (int32_t)i};
    qsort(index, n, sizeof(*index), cmp_step_ref);
    rc = resolve_deps(t, arr, index, mark, d);
    if (rc == SWARM_OK) rc = check_acyclic(t, d);
    /* Pass 3: templates (needs the resolved dependencies); stamps above n
     * never clash with pass 2's marks. */
    for (size_t i = 0; i < n && rc == SWARM_OK; i++) {
        sw_step *s = &t->steps[i];
        int32_t stamp = (int32_t)(n + 1 + i);
        for (size_t j = 0; j < s->n_deps; j++) mark[s->deps[j]] = stamp;
        snprintf(w, sizeof(w), "decomposition.steps[%zu] (%s) prompt", i, s->name);
        rc = check_template_ex(s->prompt, w, V_INPUT | V_RESULTS | V_STEPS, 0, t, s, index, mark,
                               stamp, d);
    }
    sw_free(index);
    sw_free(mark);
    return rc;
}

// --- the task ------------------------------------------------------------------

static const char *const task_keys[] = {"name",      "input",       "skill",     "kind",
                                        "labels",    "prompt",      "decomposition",
                                        "aggregation", "p_min",     "objective", "redundancy",
                                        "limits",    "nodes",       "p_min_policy", "sampling"};
static const char *const decomp_keys[] = {"strategy",      "k",     "chunk",  "map_prompt",
                                          "reduce_prompt", "steps", "levels", "threshold",
                                          "reduce_fanin"};
static const char *const chunk_keys[] = {"by", "size", "overlap"};
static const char *const limits_keys[] = {"max_tokens", "deadline_ms", "max_retries"};
static const char *const objective_keys[] = {"energy", "time"};

static const char *const decomp_names[SWARM_DECOMP_COUNT] = {
    [SWARM_DECOMP_SINGLE] = "single",       [SWARM_DECOMP_ENSEMBLE] = "ensemble",
    [SWARM_DECOMP_MAP_REDUCE] = "map-reduce", [SWARM_DECOMP_PIPELINE] = "pipeline",
    [SWARM_DECOMP_CASCADE] = "cascade",
};

const char *swarm_decomp_name(swarm_decomp s)
{
    if ((int)s < 0 || s >= SWARM_DECOMP_COUNT) return "?";
    return decomp_names[s];
}

const char *swarm_subtask_kind_name(swarm_subtask_kind k)
{
    switch (k) {
    case SWARM_SUBTASK_GENERATE: return "generate";
    case SWARM_SUBTASK_CLASSIFY: return "classify";
    case SWARM_SUBTASK_SCORE: return "score";
    default: return "?";
    }
}

static swarm_err parse_input(swarm_task *t, const json_t *v, const char *base_dir, swarm_diag *d)
{
    if (v == NULL) return sw_diag_set(d, SWARM_EFORMAT, "input is missing");
    if (json_is_string(v)) {
        t->input = json_string_value(v);
        t->input_len = json_string_length(v);
        return SWARM_OK;
    }
    if (!json_is_object(v))
        return sw_diag_set(d, SWARM_EFORMAT, "input must be a string or {\"file\": path}, got %s",
                           sw_json_type_name(v));
    static const char *const keys[] = {"file"};
    swarm_err rc = CHECK_KEYS(v, keys, "input", d);
    if (rc != SWARM_OK) return rc;
    const char *path = NULL;
    if ((rc = get_string(v, "file", "input.", true, &path, d)) != SWARM_OK) return rc;
    if (path[0] == '\0') return sw_diag_set(d, SWARM_EFORMAT, "input.file is empty");
    char full[4096];
    int w = path[0] == '/' || base_dir == NULL || base_dir[0] == '\0'
                ? snprintf(full, sizeof(full), "%s", path)
                : snprintf(full, sizeof(full), "%s/%s", base_dir, path);
    if (w < 0 || (size_t)w >= sizeof(full))
        return sw_diag_set(d, SWARM_EFORMAT, "input.file: path too long");
    size_t len = 0;
    if ((rc = sw_read_file_max(full, SW_PLAN_MAX_FILE, &t->input_owned, &len, d)) != SWARM_OK) {
        sw_diag_prefix(d, "input.file");
        return rc;
    }
    if (memchr(t->input_owned, '\0', len) != NULL)
        return sw_diag_set(d, SWARM_EFORMAT, "input.file %s contains NUL bytes (not text)", full);
    t->input = t->input_owned;
    t->input_len = len;
    return SWARM_OK;
}

/* Decomposition keys that belong to each strategy (others are refused). */
static bool decomp_key_ok(swarm_decomp s, const char *key)
{
    if (strcmp(key, "strategy") == 0) return true;
    switch (s) {
    case SWARM_DECOMP_ENSEMBLE: return strcmp(key, "k") == 0;
    case SWARM_DECOMP_MAP_REDUCE:
        return strcmp(key, "chunk") == 0 || strcmp(key, "map_prompt") == 0 ||
               strcmp(key, "reduce_prompt") == 0 || strcmp(key, "reduce_fanin") == 0;
    case SWARM_DECOMP_PIPELINE: return strcmp(key, "steps") == 0;
    case SWARM_DECOMP_CASCADE: return strcmp(key, "levels") == 0 || strcmp(key, "threshold") == 0;
    default: return false;
    }
}

static swarm_err parse_decomposition(swarm_task *t, const json_t *o, swarm_diag *d)
{
    swarm_err rc;
    t->decomp = SWARM_DECOMP_SINGLE;
    t->k = 3;
    t->levels = 2;
    t->threshold = 0.8;
    if (o == NULL) return SWARM_OK;
    if (!json_is_object(o))
        return sw_diag_set(d, SWARM_EFORMAT, "decomposition must be an object, got %s",
                           sw_json_type_name(o));
    if ((rc = CHECK_KEYS(o, decomp_keys, "decomposition", d)) != SWARM_OK) return rc;
    const char *s = NULL;
    if ((rc = get_string(o, "strategy", "decomposition.", true, &s, d)) != SWARM_OK) return rc;
    int found = -1;
    for (int i = 0; i < SWARM_DECOMP_COUNT; i++)
        if (strcmp(s, decomp_names[i]) == 0) found = i;
    if (found < 0)
        return sw_diag_set(d, SWARM_EFORMAT,
                           "decomposition.strategy: unknown strategy '%s' (expected single, "
                           "ensemble, map-reduce, pipeline or cascade)",
                           s);
    t->decomp = (swarm_decomp)found;
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)o, key, v)
    {
        if (!decomp_key_ok(t->decomp, key))
            return sw_diag_set(d, SWARM_EFORMAT,
                               "decomposition.%s does not apply to strategy %s", key, s);
    }
    if ((rc = get_int(o, "k", "decomposition.", 1, SW_PLAN_MAX_K, &t->k, d)) != SWARM_OK) return rc;
    if ((rc = get_int(o, "levels", "decomposition.", 1, SW_PLAN_MAX_LEVELS, &t->levels, d)) !=
        SWARM_OK)
        return rc;
    if ((rc = get_number(o, "threshold", "decomposition.", 0.0, 1.0, &t->threshold, d)) !=
        SWARM_OK)
        return rc;
    /* 0: one reduce over every map result; F >= 2: a tree of reduces over
     * at most F results each, so each reduce prompt stays small */
    if ((rc = get_int(o, "reduce_fanin", "decomposition.", 2, SW_PLAN_MAX_CHUNKS, &t->reduce_fanin,
                      d)) != SWARM_OK)
        return rc;
    if (t->reduce_fanin > 0 && json_object_get(o, "reduce_prompt") == NULL)
        return sw_diag_set(d, SWARM_EFORMAT, "decomposition.reduce_fanin needs a reduce_prompt");

    if (t->decomp == SWARM_DECOMP_MAP_REDUCE) {
        const json_t *c = json_object_get(o, "chunk");
        if (c == NULL) return sw_diag_set(d, SWARM_EFORMAT, "decomposition.chunk is missing");
        if (!json_is_object(c))
            return sw_diag_set(d, SWARM_EFORMAT, "decomposition.chunk must be an object");
        if ((rc = CHECK_KEYS(c, chunk_keys, "decomposition.chunk", d)) != SWARM_OK) return rc;
        const char *by = NULL;
        if ((rc = get_string(c, "by", "decomposition.chunk.", true, &by, d)) != SWARM_OK)
            return rc;
        if (strcmp(by, "tokens") == 0) t->chunk_by = SW_CHUNK_TOKENS;
        else if (strcmp(by, "sentences") == 0) t->chunk_by = SW_CHUNK_SENTENCES;
        else if (strcmp(by, "paragraphs") == 0) t->chunk_by = SW_CHUNK_PARAGRAPHS;
        else
            return sw_diag_set(d, SWARM_EFORMAT,
                               "decomposition.chunk.by: unknown unit '%s' (expected tokens, "
                               "sentences or paragraphs)",
                               by);
        if (json_object_get(c, "size") == NULL)
            return sw_diag_set(d, SWARM_EFORMAT, "decomposition.chunk.size is missing");
        if ((rc = get_int(c, "size", "decomposition.chunk.", 1, 1000000, &t->chunk_size, d)) !=
            SWARM_OK)
            return rc;
        if ((rc = get_int(c, "overlap", "decomposition.chunk.", 0, 1000000, &t->chunk_overlap,
                          d)) != SWARM_OK)
            return rc;
        if (t->chunk_overlap >= t->chunk_size)
            return sw_diag_set(d, SWARM_EFORMAT,
                               "decomposition.chunk: size (%d) must be greater than overlap (%d)",
                               (int)t->chunk_size, (int)t->chunk_overlap);
        if ((rc = get_string(o, "map_prompt", "decomposition.", true, &t->map_prompt, d)) !=
            SWARM_OK)
            return rc;
        if ((rc = check_template(t->map_prompt, "decomposition.map_prompt", V_CHUNK | V_INPUT,
                                 V_CHUNK, t, NULL, d)) != SWARM_OK)
            return rc;
        if ((rc = get_string(o, "reduce_prompt", "decomposition.", false, &t->reduce_prompt, d)) !=
            SWARM_OK)
            return rc;
        if (t->reduce_prompt != NULL &&
            (rc = check_template(t->reduce_prompt, "decomposition.reduce_prompt",
                                 V_RESULTS | V_INPUT, V_RESULTS, t, NULL, d)) != SWARM_OK)
            return rc;
    }
    if (t->decomp == SWARM_DECOMP_PIPELINE) {
        const json_t *st = json_object_get(o, "steps");
        if (st == NULL) return sw_diag_set(d, SWARM_EFORMAT, "decomposition.steps is missing");
        if ((rc = parse_steps(t, st, d)) != SWARM_OK) return rc;
    }
    return SWARM_OK;
}

/* The default aggregation follows what the results are: text -> consensus,
 * classify -> weighted vote over labels, score -> weighted average. */
static swarm_agg_method default_method(swarm_subtask_kind k)
{
    switch (k) {
    case SWARM_SUBTASK_CLASSIFY: return SWARM_AGG_WEIGHTED_VOTE;
    case SWARM_SUBTASK_SCORE: return SWARM_AGG_WEIGHTED_AVERAGE;
    default: return SWARM_AGG_CONSENSUS;
    }
}

static swarm_err parse_aggregation(swarm_task *t, const json_t *o, swarm_diag *d)
{
    t->agg = swarm_agg_spec_default();
    /* The kind of the results that get aggregated: a pipeline's sinks are
     * steps with their own kind; use the task's otherwise. */
    swarm_subtask_kind k = t->kind;
    for (size_t i = 0; i < t->n_steps; i++) {
        bool sink = true;
        for (size_t j = 0; j < t->n_steps && sink; j++)
            for (size_t m = 0; m < t->steps[j].n_deps && sink; m++)
                sink = t->steps[j].deps[m] != (int32_t)i;
        if (sink) k = t->steps[i].kind; /* the last declared sink's kind */
    }
    t->agg.method = default_method(k);
    if (o == NULL) return SWARM_OK;
    if (!json_is_object(o))
        return sw_diag_set(d, SWARM_EFORMAT, "aggregation must be an object, got %s",
                           sw_json_type_name(o));
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)o, key, v)
    {
        if (!sw_agg_spec_key(key))
            return sw_diag_set(d, SWARM_EFORMAT,
                               "aggregation \"%s\": unknown key (expected method, decide, "
                               "weighting, top_k, inner, outer)",
                               key);
    }
    swarm_err rc = sw_agg_spec_from_json(o, false, "aggregation", &t->agg, d);
    if (rc != SWARM_OK) return rc;
    if (json_object_get(o, "method") == NULL) t->agg.method = default_method(k);
    if (k == SWARM_SUBTASK_GENERATE) {
        if (t->agg.method == SWARM_AGG_WEIGHTED_AVERAGE)
            return sw_diag_set(d, SWARM_EFORMAT,
                               "aggregation.method weighted-average needs numbers, but kind "
                               "generate gives text (use consensus, max-weight, vote or judge)");
        if (t->agg.decide != SWARM_AGG_DECIDE_NONE)
            return sw_diag_set(d, SWARM_EFORMAT,
                               "aggregation.decide needs numbers, but kind generate gives text");
    }
    if (k == SWARM_SUBTASK_SCORE && t->agg.method == SWARM_AGG_CONSENSUS)
        return sw_diag_set(d, SWARM_EFORMAT,
                           "aggregation.method consensus needs text, but kind score gives numbers");
    return SWARM_OK;
}

/* sampling: optional overrides of the nodes' sampling, field by field. */
static swarm_err parse_sampling(swarm_task *t, const json_t *o, swarm_diag *d)
{
    static const char *const keys[] = {"temperature", "top_k", "top_p", "min_p", "seed"};
    if (o == NULL) return SWARM_OK;
    if (!json_is_object(o))
        return sw_diag_set(d, SWARM_EFORMAT, "sampling must be an object, got %s", sw_json_type_name(o));
    swarm_err rc;
    if ((rc = CHECK_KEYS(o, keys, "sampling", d)) != SWARM_OK) return rc;
    swarm_task_sampling *s = &t->sampling;
    double k = 0, seed = 0;
    s->top_p = 1;
    if ((rc = get_number(o, "temperature", "sampling.", 0, 100, &s->temperature, d))) return rc;
    if ((rc = get_number(o, "top_k", "sampling.", 0, 1e6, &k, d))) return rc;
    if ((rc = get_number(o, "top_p", "sampling.", 1e-9, 1, &s->top_p, d))) return rc;
    if ((rc = get_number(o, "min_p", "sampling.", 0, 1, &s->min_p, d))) return rc;
    if ((rc = get_number(o, "seed", "sampling.", 0, 9007199254740992.0, &seed, d))) return rc;
    if (k != floor(k)) return sw_diag_set(d, SWARM_EFORMAT, "sampling.top_k must be an integer");
    if (seed != floor(seed)) return sw_diag_set(d, SWARM_EFORMAT, "sampling.seed must be an integer");
    s->top_k = (int32_t)k;
    s->seed = (uint64_t)seed;
    static const uint32_t bit[] = {SWARM_SAMPLING_TEMPERATURE, SWARM_SAMPLING_TOP_K,
                                   SWARM_SAMPLING_TOP_P, SWARM_SAMPLING_MIN_P, SWARM_SAMPLING_SEED};
    for (size_t i = 0; i < 5; i++)
        if (json_object_get(o, keys[i]) != NULL) s->set |= bit[i];
    return SWARM_OK;
}

/* nodes: optional allow-list of node names (distinct, non-empty); the
 * runtime checks them against the swarm. */
static swarm_err parse_nodes(swarm_task *t, const json_t *v, swarm_diag *d)
{
    if (v == NULL) return SWARM_OK;
    if (!json_is_array(v) || json_array_size(v) == 0 || json_array_size(v) > 4096)
        return sw_diag_set(d, SWARM_EFORMAT, "nodes must be an array of 1 to 4096 node names");
    size_t n = json_array_size(v);
    t->nodes = sw_calloc(n, sizeof(char *));
    if (t->nodes == NULL) return SWARM_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        const json_t *e = json_array_get(v, i);
        if (!json_is_string(e) || json_string_length(e) == 0)
            return sw_diag_set(d, SWARM_EFORMAT, "nodes[%zu] must be a non-empty string", i);
        t->nodes[i] = json_string_value(e);
        for (size_t j = 0; j < i; j++)
            if (strcmp(t->nodes[j], t->nodes[i]) == 0)
                return sw_diag_set(d, SWARM_EFORMAT, "nodes[%zu] repeats \"%.64s\"", i, t->nodes[i]);
    }
    t->n_nodes = n;
    return SWARM_OK;
}

static swarm_err parse_task(swarm_task *t, const char *base_dir, swarm_diag *d)
{
    const json_t *root = t->root;
    swarm_err rc;
    if (!json_is_object(root))
        return sw_diag_set(d, SWARM_EFORMAT, "a task file must be a JSON object, got %s",
                           sw_json_type_name(root));
    if ((rc = CHECK_KEYS(root, task_keys, "", d)) != SWARM_OK) return rc;
    t->name = "task";
    if ((rc = get_string(root, "name", "", false, &t->name, d)) != SWARM_OK) return rc;
    if (strlen(t->name) == 0 || strlen(t->name) > 256)
        return sw_diag_set(d, SWARM_EFORMAT, "name must be 1 to 256 characters");
    if ((rc = parse_input(t, json_object_get(root, "input"), base_dir, d)) != SWARM_OK) return rc;
    t->skill = "general";
    if ((rc = get_string(root, "skill", "", false, &t->skill, d)) != SWARM_OK) return rc;
    if (t->skill[0] == '\0') return sw_diag_set(d, SWARM_EFORMAT, "skill is empty");
    t->kind = SWARM_SUBTASK_GENERATE;
    if ((rc = parse_kind(root, "", &t->kind, d)) != SWARM_OK) return rc;
    if ((rc = parse_labels(root, "", t->kind, &t->labels, &t->n_labels, d)) != SWARM_OK) return rc;

    if ((rc = parse_decomposition(t, json_object_get(root, "decomposition"), d)) != SWARM_OK)
        return rc;
    if (t->decomp == SWARM_DECOMP_PIPELINE && (json_object_get(root, "kind") != NULL ||
                                               json_object_get(root, "labels") != NULL))
        return sw_diag_set(d, SWARM_EFORMAT,
                           "kind and labels do not apply to strategy pipeline (set them per step)");
    /* The task-level prompt serves single, ensemble and cascade. */
    const json_t *pr = json_object_get(root, "prompt");
    if (pr != NULL && (t->decomp == SWARM_DECOMP_MAP_REDUCE || t->decomp == SWARM_DECOMP_PIPELINE))
        return sw_diag_set(d, SWARM_EFORMAT,
                           "prompt does not apply to strategy %s (use %s)", swarm_decomp_name(t->decomp),
                           t->decomp == SWARM_DECOMP_PIPELINE ? "decomposition.steps[].prompt"
                                                              : "decomposition.map_prompt");
    t->prompt = "{{input}}";
    if ((rc = get_string(root, "prompt", "", false, &t->prompt, d)) != SWARM_OK) return rc;
    if (t->decomp != SWARM_DECOMP_MAP_REDUCE && t->decomp != SWARM_DECOMP_PIPELINE &&
        (rc = check_template(t->prompt, "prompt", V_INPUT, V_INPUT, t, NULL, d)) != SWARM_OK)
        return rc;

    if ((rc = parse_aggregation(t, json_object_get(root, "aggregation"), d)) != SWARM_OK)
        return rc;
    if ((rc = get_number(root, "p_min", "", 0.0, 1e12, &t->p_min, d)) != SWARM_OK) return rc;
    if ((rc = parse_nodes(t, json_object_get(root, "nodes"), d)) != SWARM_OK) return rc;
    if ((rc = parse_sampling(t, json_object_get(root, "sampling"), d)) != SWARM_OK) return rc;
    const char *pol = "warn";
    if ((rc = get_string(root, "p_min_policy", "", false, &pol, d)) != SWARM_OK) return rc;
    if (strcmp(pol, "warn") == 0) t->p_min_policy = SWARM_P_MIN_WARN;
    else if (strcmp(pol, "fail") == 0) t->p_min_policy = SWARM_P_MIN_FAIL;
    else return sw_diag_set(d, SWARM_EFORMAT, "p_min_policy must be \"warn\" or \"fail\", got \"%.32s\"", pol);

    t->w_energy = 1.0;
    t->w_time = 1.0;
    const json_t *obj = json_object_get(root, "objective");
    if (obj != NULL) {
        if (!json_is_object(obj))
            return sw_diag_set(d, SWARM_EFORMAT, "objective must be an object {\"energy\": a, "
                                                 "\"time\": b}");
        if ((rc = CHECK_KEYS(obj, objective_keys, "objective", d)) != SWARM_OK) return rc;
        t->w_energy = 0.0;
        t->w_time = 0.0;
        if ((rc = get_number(obj, "energy", "objective.", 0.0, 1e12, &t->w_energy, d)) != SWARM_OK)
            return rc;
        if ((rc = get_number(obj, "time", "objective.", 0.0, 1e12, &t->w_time, d)) != SWARM_OK)
            return rc;
        if (t->w_energy == 0.0 && t->w_time == 0.0)
            return sw_diag_set(d, SWARM_EFORMAT, "objective: energy and time cannot both be 0");
    }
    t->redundancy = 1;
    if ((rc = get_int(root, "redundancy", "", 1, SW_PLAN_MAX_REDUNDANCY, &t->redundancy, d)) !=
        SWARM_OK)
        return rc;

    t->max_tokens = 64;
    t->max_retries = 2;
    t->deadline_ms = 0.0;
    const json_t *lim = json_object_get(root, "limits");
    if (lim != NULL) {
        if (!json_is_object(lim)) return sw_diag_set(d, SWARM_EFORMAT, "limits must be an object");
        if ((rc = CHECK_KEYS(lim, limits_keys, "limits", d)) != SWARM_OK) return rc;
        if ((rc = get_int(lim, "max_tokens", "limits.", 1, 65536, &t->max_tokens, d)) != SWARM_OK)
            return rc;
        if ((rc = get_int(lim, "max_retries", "limits.", 0, 100, &t->max_retries, d)) != SWARM_OK)
            return rc;
        if ((rc = get_number(lim, "deadline_ms", "limits.", 0.0, 86400000.0, &t->deadline_ms, d)) !=
            SWARM_OK)
            return rc;
    }
    return SWARM_OK;
}

swarm_err swarm_task_parse_ex(const char *json, size_t len, const char *base_dir,
                              swarm_task **out, swarm_diag *d)
{
    SWARM_ASSERT(json != NULL && out != NULL);
    swarm_task *t = sw_calloc(1, sizeof(*t));
    if (t == NULL) return SWARM_ENOMEM;
    swarm_err rc;
    t->root = sw_json_load_strict(json, len, d);
    if (t->root == NULL) {
        rc = SWARM_EFORMAT;
        goto fail;
    }
    if ((rc = parse_task(t, base_dir, d)) != SWARM_OK) goto fail;
    *out = t;
    return SWARM_OK;
fail:
    swarm_task_destroy(t);
    return rc;
}

swarm_err swarm_task_parse(const char *json, size_t len, swarm_task **out, swarm_diag *d)
{
    return swarm_task_parse_ex(json, len, NULL, out, d);
}

swarm_err swarm_task_parse_file(const char *path, swarm_task **out, swarm_diag *d)
{
    SWARM_ASSERT(path != NULL && out != NULL);
    char *text = NULL;
    size_t len = 0;
    swarm_err rc = sw_read_file_max(path, SW_PLAN_MAX_FILE, &text, &len, d);
    if (rc != SWARM_OK) return rc;
    char *dir = sw_strdup(path);
    if (dir == NULL) {
        sw_free(text);
        return SWARM_ENOMEM;
    }
    rc = swarm_task_parse_ex(text, len, dirname(dir), out, d);
    if (rc != SWARM_OK) sw_diag_prefix(d, path);
    sw_free(dir);
    sw_free(text);
    return rc;
}

void swarm_task_destroy(swarm_task *t)
{
    if (t == NULL) return;
    for (size_t i = 0; i < t->n_steps; i++) {
        sw_free(t->steps[i].labels);
        sw_free(t->steps[i].deps);
    }
    sw_free(t->steps);
    sw_free(t->labels);
    sw_free(t->nodes);
    sw_free(t->input_owned);
    json_decref(t->root);
    sw_free(t);
}

// --- accessors -------------------------------------------------------------------

const char *swarm_task_name(const swarm_task *t) { return t->name; }
const char *swarm_task_input(const swarm_task *t) { return t->input; }
const char *swarm_task_skill(const swarm_task *t) { return t->skill; }
swarm_subtask_kind swarm_task_kind(const swarm_task *t) { return t->kind; }
swarm_decomp swarm_task_decomp(const swarm_task *t) { return t->decomp; }
double swarm_task_p_min(const swarm_task *t) { return t->p_min; }
swarm_p_min_policy swarm_task_p_min_policy(const swarm_task *t) { return t->p_min_policy; }
const swarm_task_sampling *swarm_task_sampling_of(const swarm_task *t) { return &t->sampling; }

const char *const *swarm_task_nodes(const swarm_task *t, size_t *n)
{
    *n = t->n_nodes;
    return t->nodes;
}
void swarm_task_objective(const swarm_task *t, double *out_energy, double *out_time)
{
    if (out_energy) *out_energy = t->w_energy;
    if (out_time) *out_time = t->w_time;
}
int32_t swarm_task_redundancy(const swarm_task *t) { return t->redundancy; }
const swarm_agg_spec *swarm_task_agg(const swarm_task *t) { return &t->agg; }
double swarm_task_cascade_threshold(const swarm_task *t) { return t->threshold; }
double swarm_task_deadline_ms(const swarm_task *t) { return t->deadline_ms; }
int32_t swarm_task_max_retries(const swarm_task *t) { return t->max_retries; }
int32_t swarm_task_max_tokens(const swarm_task *t) { return t->max_tokens; }
