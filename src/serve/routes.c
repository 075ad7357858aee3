/*
 * routes.c: model names -> task templates. The built-in routes are derived
 * from the swarm (which skill most nodes have; node/NAME pins its node with
 * the task's "nodes" allow-list); a routes file adds or replaces routes. A template is
 * a task object without "input": the request's prompt becomes the input.
 */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "core/core_int.h"
#include "swarm/plan.h"
#include "swarm/serve.h"

#define MAX_ROUTES 1024

typedef struct route {
    char *name;
    json_t *tmpl; /* task object without "input" */
} route;

struct swarm_routes {
    route *v;
    size_t n, cap;
};

void swarm_routes_destroy(swarm_routes *r)
{
    if (r == NULL) return;
    for (size_t i = 0; i < r->n; i++) {
        free(r->v[i].name);
        json_decref(r->v[i].tmpl);
    }
    free(r->v);
    free(r);
}

size_t swarm_routes_count(const swarm_routes *r) { return r ? r->n : 0; }

const char *swarm_routes_name(const swarm_routes *r, size_t i)
{
    return r && i < r->n ? r->v[i].name : NULL;
}

int32_t swarm_routes_find(const swarm_routes *r, const char *model)
{
    if (r == NULL || model == NULL) return -1;
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->v[i].name, model) == 0) return (int32_t)i;
    return -1;
}

/* Adds or replaces route name; takes the reference to tmpl. */
static swarm_err put_route(swarm_routes *r, const char *name, json_t *tmpl)
{
    if (tmpl == NULL) return SWARM_ENOMEM;
    int32_t at = swarm_routes_find(r, name);
    if (at >= 0) {
        json_decref(r->v[at].tmpl);
        r->v[at].tmpl = tmpl;
        return SWARM_OK;
    }
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 8;
        route *v = realloc(r->v, cap * sizeof(*v));
        if (v == NULL) {
            json_decref(tmpl);
            return SWARM_ENOMEM;
        }
        r->v = v;
        r->cap = cap;
    }
    r->v[r->n].name = strdup(name);
    if (r->v[r->n].name == NULL) {
        json_decref(tmpl);
        return SWARM_ENOMEM;
    }
    r->v[r->n].tmpl = tmpl;
    r->n++;
    return SWARM_OK;
}

/* The skill the most nodes can serve (a "*" entry serves every skill);
 * "general" when no node names one. */
static const char *main_skill(const swarm_swarm *s)
{
    const char *best = "general";
    size_t best_n = 0;
    for (size_t i = 0; i < swarm_swarm_count(s); i++) {
        const swarm_node_spec *ni = swarm_swarm_node(s, i);
        for (size_t k = 0; k < ni->n_skills; k++) {
            const char *sk = ni->skill_names[k];
            if (strcmp(sk, "*") == 0) continue;
            size_t n = 0;
            for (size_t j = 0; j < swarm_swarm_count(s); j++)
                n += swarm_node_compat(swarm_swarm_node(s, j), sk) > 0;
            if (n > best_n) {
                best = sk;
                best_n = n;
            }
        }
    }
    return best;
}

/* The skill a node/NAME route asks for: the swarm's main skill when the
 * node can serve it, else the node's best skill (the route's allow-list
 * pins the node; the skill only has to give it C > 0). */
static const char *node_skill(const swarm_swarm *s, size_t i, const char *gen)
{
    const swarm_node_spec *ni = swarm_swarm_node(s, i);
    if (swarm_node_compat(ni, gen) > 0) return gen;
    const char *best = gen;
    double best_c = 0;
    for (size_t k = 0; k < ni->n_skills; k++)
        if (strcmp(ni->skill_names[k], "*") != 0 && ni->skill_compat[k] > best_c) {
            best = ni->skill_names[k];
            best_c = ni->skill_compat[k];
        }
    return best;
}

static bool any_can(const swarm_swarm *s, const char *skill)
{
    for (size_t j = 0; j < swarm_swarm_count(s); j++)
        if (swarm_node_compat(swarm_swarm_node(s, j), skill) > 0) return true;
    return false;
}

static swarm_err builtin_routes(const swarm_swarm *s, swarm_routes *r)
{
    const char *gen = main_skill(s);
    const char *senti = any_can(s, "sentiment") ? "sentiment" : gen;
    swarm_err rc = put_route(
        r, "swarm/ensemble-3",
        json_pack("{s:s, s:s, s:{s:s, s:i}, s:{s:s}}", "name", "ensemble-3", "skill", gen,
                  "decomposition", "strategy", "ensemble", "k", 3, "aggregation", "method",
                  "consensus"));
    if (rc) return rc;
    rc = put_route(r, "swarm/map-reduce",
                   json_pack("{s:s, s:s, s:{s:s, s:{s:s, s:i}, s:s, s:s}, s:{s:s}}", "name",
                             "map-reduce", "skill", gen, "decomposition", "strategy",
                             "map-reduce", "chunk", "by", "paragraphs", "size", 1, "map_prompt",
                             "{{chunk}}", "reduce_prompt", "{{results}}", "aggregation",
                             "method", "max-weight"));
    if (rc) return rc;
    rc = put_route(r, "swarm/classify-sentiment",
                   json_pack("{s:s, s:s, s:s, s:[s,s], s:s, s:{s:s, s:i}, s:{s:s}}", "name",
                             "classify-sentiment", "skill", senti, "kind", "classify", "labels",
                             " good", " bad", "prompt", "{{input}} It was a very",
                             "decomposition", "strategy", "ensemble", "k", 3, "aggregation",
                             "method", "weighted-vote"));
    if (rc) return rc;
    for (size_t i = 0; i < swarm_swarm_count(s); i++) {
        const swarm_node_spec *n = swarm_swarm_node(s, i);
        char name[300];
        snprintf(name, sizeof(name), "node/%s", n->name);
        /* one subtask on this node only: the task's "nodes" allow-list */
        rc = put_route(r, name,
                       json_pack("{s:s, s:s, s:[s], s:{s:s}}", "name", "node", "skill",
                                 node_skill(s, i, gen), "nodes", n->name, "decomposition",
                                 "strategy", "single"));
        if (rc) return rc;
    }
    return SWARM_OK;
}

/* The request's sampling as a task's "sampling" block, or NULL for none. */
static json_t *sampling_of(const swarm_api_request *rq)
{
    if (!rq->has_temperature && !rq->has_top_p && !rq->has_seed) return NULL;
    json_t *s = json_object();
    if (s == NULL) return NULL;
    if (rq->has_temperature) json_object_set_new(s, "temperature", json_real(rq->temperature));
    if (rq->has_top_p) json_object_set_new(s, "top_p", json_real(rq->top_p));
    if (rq->has_seed)
        json_object_set_new(s, "seed", json_integer((json_int_t)((uint64_t)rq->seed & ((1ull << 53) - 1))));
    return s;
}

/* The task JSON for a template and a request. */
static char *task_json(const json_t *tmpl, const swarm_api_request *rq)
{
    const char *prompt = rq->prompt;
    int32_t max_tokens = rq->max_tokens;
    json_t *t = json_deep_copy(tmpl);
    if (t == NULL) return NULL;
    json_object_set_new(t, "input", json_string(prompt));
    json_t *sm = sampling_of(rq);
    if (sm) json_object_set_new(t, "sampling", sm);
    if (max_tokens > 0) {
        json_t *lim = json_object_get(t, "limits");
        if (!json_is_object(lim)) {
            lim = json_object();
            json_object_set_new(t, "limits", lim);
        }
        json_object_set_new(lim, "max_tokens", json_integer(max_tokens));
    }
    char *s = json_dumps(t, JSON_COMPACT);
    json_decref(t);
    return s;
}

swarm_err swarm_routes_task_json(const swarm_routes *r, size_t i, const swarm_api_request *rq,
                                 char **out, swarm_diag *d)
{
    *out = NULL;
    if (r == NULL || i >= r->n || rq == NULL || rq->prompt == NULL)
        return sw_diag_set(d, SWARM_EINVAL, "no such route");
    *out = task_json(r->v[i].tmpl, rq);
    return *out ? SWARM_OK : sw_diag_set(d, SWARM_ENOMEM, "out of memory");
}

/* A template must parse as a task once an input is given. */
static swarm_err check_route(const route *rt, swarm_diag *d)
{
    if (json_object_get(rt->tmpl, "input") != NULL)
        return sw_diag_set(d, SWARM_EFORMAT,
                           "route %s: the task must not set \"input\" (the request's prompt is "
                           "the input)", rt->name);
    swarm_api_request probe = {0};
    probe.prompt = "a test input";
    char *js = task_json(rt->tmpl, &probe);
    if (js == NULL) return sw_diag_set(d, SWARM_ENOMEM, "out of memory");
    swarm_task *t = NULL;
    swarm_diag td = {{0}};
    swarm_err rc = swarm_task_parse(js, strlen(js), &t, &td);
    free(js);
    swarm_task_destroy(t);
    if (rc) return sw_diag_set(d, SWARM_EFORMAT, "route %s: task: %s", rt->name, td.msg);
    return SWARM_OK;
}

static swarm_err load_file(swarm_routes *r, const char *path, swarm_diag *d)
{
    json_t *root = swarm_json_load_file(path, d);
    if (root == NULL) return SWARM_EFORMAT;
    swarm_err rc = SWARM_OK;
    const char *key;
    json_t *v;
    if (!json_is_object(root)) {
        rc = sw_diag_set(d, SWARM_EFORMAT, "%s: want an object {\"routes\": {...}}", path);
        goto out;
    }
    json_object_foreach(root, key, v) {
        if (strcmp(key, "builtin") == 0) {
            if (!json_is_boolean(v)) {
                rc = sw_diag_set(d, SWARM_EFORMAT, "%s: builtin must be a boolean", path);
                goto out;
            }
        } else if (strcmp(key, "routes") != 0 && strcmp(key, "description") != 0) {
            rc = sw_diag_set(d, SWARM_EFORMAT,
                             "%s: unknown key '%.64s' (builtin, routes, description)", path, key);
            goto out;
        }
    }
    if (json_is_false(json_object_get(root, "builtin"))) {
        for (size_t i = 0; i < r->n; i++) {
            free(r->v[i].name);
            json_decref(r->v[i].tmpl);
        }
        r->n = 0;
    }
    json_t *routes = json_object_get(root, "routes");
    if (!json_is_object(routes)) {
        rc = sw_diag_set(d, SWARM_EFORMAT, "%s: routes must be an object {MODEL: TASK}", path);
        goto out;
    }
    if (json_object_size(routes) > MAX_ROUTES) {
        rc = sw_diag_set(d, SWARM_EFORMAT, "%s: at most %d routes", path, MAX_ROUTES);
        goto out;
    }
    json_object_foreach(routes, key, v) {
        size_t kl = strlen(key);
        bool ok = kl > 0 && kl <= 256;
        for (size_t i = 0; ok && i < kl; i++)
            ok = (unsigned char)key[i] > 0x20 && (unsigned char)key[i] < 0x7f;
        if (!ok) {
            rc = sw_diag_set(d, SWARM_EFORMAT,
                             "%s: route name '%.64s' must be 1-256 printable ASCII characters "
                             "without spaces", path, key);
            goto out;
        }
        if (!json_is_object(v)) {
            rc = sw_diag_set(d, SWARM_EFORMAT, "%s: route %s must be a task object", path, key);
            goto out;
        }
        rc = put_route(r, key, json_incref(v));
        if (rc) {
            sw_diag_set(d, rc, "out of memory");
            goto out;
        }
    }
out:
    json_decref(root);
    return rc;
}

swarm_err swarm_routes_load(const swarm_swarm *s, const char *path, swarm_routes **out,
                            swarm_diag *d)
{
    *out = NULL;
    swarm_routes *r = calloc(1, sizeof(*r));
    if (r == NULL) return sw_diag_set(d, SWARM_ENOMEM, "out of memory");
    swarm_err rc = builtin_routes(s, r);
    if (rc) sw_diag_set(d, rc, "out of memory");
    if (rc == SWARM_OK && path) rc = load_file(r, path, d);
    for (size_t i = 0; rc == SWARM_OK && i < r->n; i++) rc = check_route(&r->v[i], d);
    if (rc == SWARM_OK && r->n == 0)
        rc = sw_diag_set(d, SWARM_EFORMAT, "%s: no routes left", path ? path : "routes");
    if (rc) {
        if (path && rc == SWARM_EFORMAT && strstr(d->msg, path) == NULL) sw_diag_prefix(d, path);
        swarm_routes_destroy(r);
        return rc;
    }
    *out = r;
    return SWARM_OK;
}
