/*
 * swarmfile.c: the swarm file (docs/swarm-file.md): strict JSON parsing of
 * nodes, backends and their attributes, the ${VAR:-default} path rule, and
 * the atomic calibration write-back. Loading models is not done here (see
 * backend.c).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../core/json_int.h"
#include "runtime_int.h"

typedef struct node_store {
    swarm_node_spec spec;
    char *name, *model, *tokenizer, *base_url, *api_model, *api_key_env, *zone;
    char **skill_names;
    double *skill_compat;
} node_store;

struct swarm_swarm {
    size_t n;
    node_store *nodes;
};

/* ------------------------------------------------------------------------ */
/* path rule: ${VAR} and ${VAR:-default} expand from the environment, then a
 * relative result is taken relative to the swarm file's directory. */

static swarm_err expand_path(const char *in, const char *base_dir, char **out, swarm_diag *d,
                             const char *where)
{
    char buf[4096];
    size_t o = 0;
    for (const char *p = in; *p;) {
        if (p[0] == '$' && p[1] == '{') {
            const char *end = strchr(p, '}');
            if (end == NULL)
                return sw_diag_set(d, SWARM_EFORMAT, "%s: unterminated ${ in \"%s\"", where, in);
            char var[256];
            const char *dflt = NULL;
            size_t dlen = 0;
            /* ":-" inside this ${...} only: a strstr over the rest of the
             * string, once per variable, rescanned a long path ~800 times */
            const char *colon = NULL;
            for (const char *q = p + 2; q + 1 < end && colon == NULL; q++)
                if (q[0] == ':' && q[1] == '-') colon = q;
            size_t vlen = (colon && colon < end ? (size_t)(colon - p) : (size_t)(end - p)) - 2;
            if (colon && colon < end) {
                dflt = colon + 2;
                dlen = (size_t)(end - dflt);
            }
            if (vlen == 0 || vlen >= sizeof(var))
                return sw_diag_set(d, SWARM_EFORMAT, "%s: bad variable in \"%s\"", where, in);
            memcpy(var, p + 2, vlen);
            var[vlen] = 0;
            const char *val = getenv(var);
            size_t len;
            if (val && *val) {
                len = strlen(val);
            } else if (dflt) {
                val = dflt;
                len = dlen;
            } else {
                return sw_diag_set(d, SWARM_EINVAL, "%s: environment variable %s is not set", where,
                                   var);
            }
            if (o + len >= sizeof(buf)) goto toolong;
            memcpy(buf + o, val, len);
            o += len;
            p = end + 1;
        } else {
            if (o + 1 >= sizeof(buf)) goto toolong;
            buf[o++] = *p++;
        }
    }
    buf[o] = 0;
    if (buf[0] != '/' && base_dir && *base_dir && strcmp(base_dir, ".") != 0) {
        size_t bl = strlen(base_dir);
        if (bl + 1 + o + 1 > sizeof(buf)) goto toolong;
        /* base_dir "/" buf, NUL-terminated (memcpy: gcc's truncation
         * check cannot see that the size is exact and warned on snprintf) */
        char *joined = sw_malloc(bl + 1 + o + 1);
        if (joined == NULL) return SWARM_ENOMEM;
        memcpy(joined, base_dir, bl);
        joined[bl] = '/';
        memcpy(joined + bl + 1, buf, o + 1);
        *out = joined;
        return SWARM_OK;
    } else {
        *out = sw_strdup(buf);
    }
    return *out ? SWARM_OK : SWARM_ENOMEM;
toolong:
    return sw_diag_set(d, SWARM_EFORMAT, "%s: path too long", where);
}

/* ------------------------------------------------------------------------ */
/* strict field helpers */

static swarm_err check_keys(json_t *obj, const char *const *allowed, swarm_diag *d,
                            const char *where)
{
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v) {
        bool ok = false;
        for (size_t i = 0; allowed[i]; i++)
            if (strcmp(key, allowed[i]) == 0) ok = true;
        if (!ok) return sw_diag_set(d, SWARM_EFORMAT, "%s: unknown key \"%s\"", where, key);
    }
    return SWARM_OK;
}

static swarm_err get_num(json_t *obj, const char *key, double lo, double hi, double dflt,
                         double *out, swarm_diag *d, const char *where)
{
    json_t *v = json_object_get(obj, key);
    if (v == NULL) {
        *out = dflt;
        return SWARM_OK;
    }
    if (!json_is_number(v))
        return sw_diag_set(d, SWARM_EFORMAT, "%s.%s: must be a number", where, key);
    double x = json_number_value(v);
    if (!isfinite(x) || x < lo || x > hi)
        return sw_diag_set(d, SWARM_EFORMAT, "%s.%s: %g is out of range [%g, %g]", where, key, x,
                           lo, hi);
    *out = x;
    return SWARM_OK;
}

static swarm_err get_str(json_t *obj, const char *key, bool required, char **out, swarm_diag *d,
                         const char *where)
{
    json_t *v = json_object_get(obj, key);
    if (v == NULL) {
        if (required) return sw_diag_set(d, SWARM_EFORMAT, "%s: missing \"%s\"", where, key);
        *out = NULL;
        return SWARM_OK;
    }
    if (!json_is_string(v) || json_string_length(v) == 0 ||
        strlen(json_string_value(v)) != json_string_length(v))
        return sw_diag_set(d, SWARM_EFORMAT, "%s.%s: must be a non-empty string", where, key);
    *out = sw_strdup(json_string_value(v));
    return *out ? SWARM_OK : SWARM_ENOMEM;
}

/* ------------------------------------------------------------------------ */

static swarm_err parse_sampling(json_t *o, swarm_sampling *s, swarm_diag *d, const char *where)
{
    static const char *const keys[] = {"temperature", "top_k", "top_p", "min_p", "seed", NULL};
    swarm_err rc;
    if (!json_is_object(o)) return sw_diag_set(d, SWARM_EFORMAT, "%s: must be an object", where);
    if ((rc = check_keys(o, keys, d, where))) return rc;
    double t, k, p, mp, seed;
    if ((rc = get_num(o, "temperature", 0, 100, 0, &t, d, where))) return rc;
    if ((rc = get_num(o, "top_k", 0, 1e6, 0, &k, d, where))) return rc;
    if ((rc = get_num(o, "top_p", 0, 1, 1, &p, d, where))) return rc;
    if ((rc = get_num(o, "min_p", 0, 1, 0, &mp, d, where))) return rc;
    if ((rc = get_num(o, "seed", 0, 9007199254740992.0, 0, &seed, d, where))) return rc;
    if (k != floor(k)) return sw_diag_set(d, SWARM_EFORMAT, "%s.top_k: must be an integer", where);
    /* top_p 0 would keep no token; the engine refuses it, so say so here, by name. */
    if (p <= 0) return sw_diag_set(d, SWARM_EFORMAT, "%s.top_p: must be in (0, 1]", where);
    s->temperature = (float)t;
    s->top_k = (int32_t)k;
    s->top_p = (float)p;
    s->min_p = (float)mp;
    s->seed = (uint64_t)seed;
    return SWARM_OK;
}

static swarm_err parse_backend(json_t *b, node_store *ns, const char *base_dir, swarm_diag *d,
                               const char *where)
{
    swarm_err rc;
    char w[300];
    snprintf(w, sizeof(w), "%s.backend", where);
    if (!json_is_object(b)) return sw_diag_set(d, SWARM_EFORMAT, "%s: must be an object", w);
    char *type = NULL;
    if ((rc = get_str(b, "type", true, &type, d, w))) return rc;
    swarm_node_spec *s = &ns->spec;
    if (strcmp(type, "local") == 0) {
        static const char *const keys[] = {"type", "model", "tokenizer", "threads", "n_ctx",
                                           "sampling", NULL};
        s->backend = SWARM_BACKEND_LOCAL;
        char *m = NULL, *t = NULL;
        double th, nctx;
        if ((rc = check_keys(b, keys, d, w))) goto out;
        if ((rc = get_str(b, "model", true, &m, d, w))) goto out;
        rc = expand_path(m, base_dir, &ns->model, d, w);
        sw_free(m);
        if (rc) goto out;
        if ((rc = get_str(b, "tokenizer", false, &t, d, w))) goto out;
        if (t) {
            rc = expand_path(t, base_dir, &ns->tokenizer, d, w);
            sw_free(t);
            if (rc) goto out;
        }
        if ((rc = get_num(b, "threads", 1, 256, 1, &th, d, w))) goto out;
        if ((rc = get_num(b, "n_ctx", 0, 1 << 20, 0, &nctx, d, w))) goto out;
        s->threads = (int32_t)th;
        s->n_ctx = (int32_t)nctx;
        s->sampling = swarm_sampling_default();
        s->sampling.temperature = 0; /* greedy unless the file says otherwise */
        s->sampling.top_p = 1;
        json_t *smp = json_object_get(b, "sampling");
        if (smp) {
            char ws[320];
            snprintf(ws, sizeof(ws), "%s.sampling", w);
            if ((rc = parse_sampling(smp, &s->sampling, d, ws))) goto out;
        }
    } else if (strcmp(type, "openai") == 0) {
        static const char *const keys[] = {"type", "base_url", "model", "api_key_env", NULL};
        s->backend = SWARM_BACKEND_OPENAI;
        if ((rc = check_keys(b, keys, d, w))) goto out;
        if ((rc = get_str(b, "base_url", true, &ns->base_url, d, w))) goto out;
        if ((rc = get_str(b, "model", true, &ns->api_model, d, w))) goto out;
        if ((rc = get_str(b, "api_key_env", false, &ns->api_key_env, d, w))) goto out;
        if (strncmp(ns->base_url, "http://", 7) != 0 && strncmp(ns->base_url, "https://", 8) != 0) {
            rc = sw_diag_set(d, SWARM_EFORMAT, "%s.base_url: must start with http:// or https://",
                             w);
            goto out;
        }
    } else if (strcmp(type, "echo") == 0) {
        static const char *const keys[] = {"type", "latency_ms", NULL};
        s->backend = SWARM_BACKEND_ECHO;
        if ((rc = check_keys(b, keys, d, w))) goto out;
        if ((rc = get_num(b, "latency_ms", 0, 3600e3, 0, &s->echo_latency_ms, d, w))) goto out;
    } else {
        rc = sw_diag_set(d, SWARM_EFORMAT,
                         "%s.type: unknown backend \"%s\" (want local, openai or echo)", w, type);
    }
out:
    sw_free(type);
    return rc;
}

static swarm_err parse_node(json_t *o, size_t idx, node_store *ns, const char *base_dir,
                            swarm_diag *d)
{
    static const char *const keys[] = {
        "name", "backend", "capacity", "zone", "coordinates", "power_watts", "skills",
        "accuracy", "relevance", "time_per_token_ms", "energy_per_token_j", NULL};
    char where[256];
    snprintf(where, sizeof(where), "nodes[%zu]", idx);
    swarm_err rc;
    if (!json_is_object(o)) return sw_diag_set(d, SWARM_EFORMAT, "%s: must be an object", where);
    if ((rc = check_keys(o, keys, d, where))) return rc;
    if ((rc = get_str(o, "name", true, &ns->name, d, where))) return rc;
    snprintf(where, sizeof(where), "node \"%s\"", ns->name);
    swarm_node_spec *s = &ns->spec;
    s->name = ns->name;
    json_t *b = json_object_get(o, "backend");
    if (b == NULL) return sw_diag_set(d, SWARM_EFORMAT, "%s: missing \"backend\"", where);
    if ((rc = parse_backend(b, ns, base_dir, d, where))) return rc;
    s->model_path = ns->model;
    s->tokenizer_path = ns->tokenizer;
    s->base_url = ns->base_url;
    s->api_model = ns->api_model;
    s->api_key_env = ns->api_key_env;
    double cap;
    if ((rc = get_num(o, "capacity", 1, 100000, 1, &cap, d, where))) return rc;
    if (cap != floor(cap))
        return sw_diag_set(d, SWARM_EFORMAT, "%s.capacity: must be an integer", where);
    s->capacity = (int32_t)cap;
    if ((rc = get_str(o, "zone", false, &ns->zone, d, where))) return rc;
    s->zone = ns->zone ? ns->zone : "";
    json_t *c = json_object_get(o, "coordinates");
    if (c) {
        if (!json_is_array(c) || json_array_size(c) != 2 || !json_is_number(json_array_get(c, 0)) ||
            !json_is_number(json_array_get(c, 1)))
            return sw_diag_set(d, SWARM_EFORMAT, "%s.coordinates: must be [x, y]", where);
        s->x = json_number_value(json_array_get(c, 0));
        s->y = json_number_value(json_array_get(c, 1));
        if (!isfinite(s->x) || !isfinite(s->y))
            return sw_diag_set(d, SWARM_EFORMAT, "%s.coordinates: must be finite", where);
    }
    if ((rc = get_num(o, "power_watts", 0, 1e6, 0, &s->power_watts, d, where))) return rc;
    if ((rc = get_num(o, "accuracy", 0, 1, 1, &s->accuracy, d, where))) return rc;
    if ((rc = get_num(o, "relevance", 0, 1, 1, &s->relevance, d, where))) return rc;
    if ((rc = get_num(o, "time_per_token_ms", 0, 1e6, 1, &s->time_per_token_ms, d, where)))
        return rc;
    if ((rc = get_num(o, "energy_per_token_j", 0, 1e6, 0, &s->energy_per_token_j, d, where)))
        return rc;
    json_t *sk = json_object_get(o, "skills");
    if (sk) {
        if (!json_is_object(sk))
            return sw_diag_set(d, SWARM_EFORMAT, "%s.skills: must be an object {skill: C}", where);
        size_t n = json_object_size(sk);
        ns->skill_names = sw_calloc(n ? n : 1, sizeof(char *));
        ns->skill_compat = sw_calloc(n ? n : 1, sizeof(double));
        if (!ns->skill_names || !ns->skill_compat) return SWARM_ENOMEM;
        const char *key;
        json_t *v;
        size_t i = 0;
        json_object_foreach(sk, key, v) {
            if (!json_is_number(v) || !(json_number_value(v) >= 0 && json_number_value(v) <= 1))
                return sw_diag_set(d, SWARM_EFORMAT, "%s.skills.%s: must be a number in [0, 1]",
                                   where, key);
            if ((ns->skill_names[i] = sw_strdup(key)) == NULL) return SWARM_ENOMEM;
            ns->skill_compat[i] = json_number_value(v);
            i++;
            s->n_skills = i;
        }
    }
    s->skill_names = (const char *const *)ns->skill_names;
    s->skill_compat = ns->skill_compat;
    return SWARM_OK;
}

static void node_free(node_store *ns)
{
    sw_free(ns->name);
    sw_free(ns->model);
    sw_free(ns->tokenizer);
    sw_free(ns->base_url);
    sw_free(ns->api_model);
    sw_free(ns->api_key_env);
    sw_free(ns->zone);
    for (size_t i = 0; i < ns->spec.n_skills; i++) sw_free(ns->skill_names[i]);
    sw_free(ns->skill_names);
    sw_free(ns->skill_compat);
}

void swarm_swarm_destroy(swarm_swarm *s)
{
    if (s == NULL) return;
    for (size_t i = 0; i < s->n; i++) node_free(&s->nodes[i]);
    sw_free(s->nodes);
    sw_free(s);
}

swarm_err swarm_swarm_parse(const char *json, size_t len, const char *base_dir, swarm_swarm **out,
                            swarm_diag *d)
{
    static const char *const keys[] = {"name", "description", "nodes", NULL};
    json_t *root = sw_json_load_strict(json, len, d);
    if (root == NULL) return SWARM_EFORMAT;
    swarm_err rc = SWARM_OK;
    swarm_swarm *s = NULL;
    if (!json_is_object(root)) {
        rc = sw_diag_set(d, SWARM_EFORMAT, "top level: must be an object with \"nodes\"");
        goto fail;
    }
    if ((rc = check_keys(root, keys, d, "top level"))) goto fail;
    json_t *nodes = json_object_get(root, "nodes");
    if (!json_is_array(nodes) || json_array_size(nodes) == 0) {
        rc = sw_diag_set(d, SWARM_EFORMAT, "\"nodes\": must be a non-empty array");
        goto fail;
    }
    if (json_array_size(nodes) > 4096) {
        rc = sw_diag_set(d, SWARM_EFORMAT, "\"nodes\": at most 4096 nodes");
        goto fail;
    }
    s = sw_calloc(1, sizeof(*s));
    if (s == NULL) { rc = SWARM_ENOMEM; goto fail; }
    s->nodes = sw_calloc(json_array_size(nodes), sizeof(node_store));
    if (s->nodes == NULL) { rc = SWARM_ENOMEM; goto fail; }
    for (size_t i = 0; i < json_array_size(nodes); i++) {
        s->n = i + 1;
        if ((rc = parse_node(json_array_get(nodes, i), i, &s->nodes[i], base_dir, d))) goto fail;
        for (size_t j = 0; j < i; j++)
            if (strcmp(s->nodes[j].name, s->nodes[i].name) == 0) {
                rc = sw_diag_set(d, SWARM_EFORMAT, "nodes[%zu]: duplicate node name \"%s\"", i,
                                 s->nodes[i].name);
                goto fail;
            }
    }
    json_decref(root);
    *out = s;
    return SWARM_OK;
fail:
    json_decref(root);
    swarm_swarm_destroy(s);
    return rc;
}

static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (slash == NULL) return sw_strdup(".");
    if (slash == path) return sw_strdup("/");
    return sw_strndup(path, (size_t)(slash - path));
}

swarm_err swarm_swarm_load(const char *path, swarm_swarm **out, swarm_diag *d)
{
    char *buf = NULL;
    size_t len = 0;
    swarm_err rc = sw_read_file(path, &buf, &len, d);
    if (rc) return rc;
    char *dir = dir_of(path);
    if (dir == NULL) {
        sw_free(buf);
        return SWARM_ENOMEM;
    }
    rc = swarm_swarm_parse(buf, len, dir, out, d);
    if (rc) sw_diag_prefix(d, path);
    sw_free(dir);
    sw_free(buf);
    return rc;
}

size_t swarm_swarm_count(const swarm_swarm *s) { return s ? s->n : 0; }

const swarm_node_spec *swarm_swarm_node(const swarm_swarm *s, size_t i)
{
    return s && i < s->n ? &s->nodes[i].spec : NULL;
}

int32_t swarm_swarm_find(const swarm_swarm *s, const char *name)
{
    for (size_t i = 0; s && name && i < s->n; i++)
        if (strcmp(s->nodes[i].name, name) == 0) return (int32_t)i;
    return -1;
}

double swarm_node_compat(const swarm_node_spec *n, const char *skill)
{
    double star = 0;
    for (size_t i = 0; i < n->n_skills; i++) {
        if (skill && strcmp(n->skill_names[i], skill) == 0) return n->skill_compat[i];
        if (strcmp(n->skill_names[i], "*") == 0) star = n->skill_compat[i];
    }
    return star;
}

double swarm_swarm_distance(const swarm_swarm *s, size_t i, size_t j)
{
    const swarm_node_spec *a = swarm_swarm_node(s, i), *b = swarm_swarm_node(s, j);
    if (!a || !b) return 0;
    return hypot(a->x - b->x, a->y - b->y);
}

swarm_err swarm_swarm_override_model(swarm_swarm *s, const char *model_path,
                                     const char *tokenizer_path)
{
    for (size_t i = 0; i < s->n; i++) {
        node_store *ns = &s->nodes[i];
        if (ns->spec.backend != SWARM_BACKEND_LOCAL) continue;
        char *m = sw_strdup(model_path);
        char *t = tokenizer_path ? sw_strdup(tokenizer_path) : NULL;
        if (!m || (tokenizer_path && !t)) {
            sw_free(m);
            sw_free(t);
            return SWARM_ENOMEM;
        }
        sw_free(ns->model);
        ns->model = m;
        size_t ml = strlen(m);
        if (t == NULL && ml > 5 && strcmp(m + ml - 5, ".gguf") == 0) {
            sw_free(ns->tokenizer);
            ns->tokenizer = NULL;
        } else if (t) {
            sw_free(ns->tokenizer);
            ns->tokenizer = t;
        }
        ns->spec.model_path = ns->model;
        ns->spec.tokenizer_path = ns->tokenizer;
    }
    return SWARM_OK;
}

/* ------------------------------------------------------------------------ */
/* calibration write-back: edit the JSON tree, write a temp file beside the
 * original, fsync, rename (atomic on POSIX). */

swarm_err swarm_swarm_write_calibration(const char *path, const swarm_calibration *c,
                                        swarm_diag *d)
{
    size_t n = c->n;
    const char *skill = c->skill;
    const double *accuracy = c->accuracy, *compat = c->compat;
    json_t *root = sw_json_load_file(path, d); /* keeps key order: jansson >= 2.8 */
    if (root == NULL) return SWARM_EFORMAT;
    swarm_err rc = SWARM_OK;
    json_t *nodes = json_object_get(root, "nodes");
    if (!json_is_array(nodes) || json_array_size(nodes) != n) {
        rc = sw_diag_set(d, SWARM_EFORMAT, "%s: node count changed since it was loaded", path);
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        json_t *node = json_array_get(nodes, i);
        /* json_object_set_new takes the value even when it fails (and a
         * NULL value from a failed json_real makes it fail): -1 is ENOMEM */
        int bad = 0;
        if (accuracy && isfinite(accuracy[i]))
            bad |= json_object_set_new(node, "accuracy", json_real(accuracy[i]));
        if (c->ms_per_token && isfinite(c->ms_per_token[i]) && c->ms_per_token[i] > 0)
            bad |= json_object_set_new(node, "time_per_token_ms", json_real(c->ms_per_token[i]));
        if (compat && skill && isfinite(compat[i])) {
            json_t *sk = json_object_get(node, "skills");
            if (sk == NULL) {
                sk = json_object();
                bad |= json_object_set_new(node, "skills", sk);
            }
            if (bad == 0) bad |= json_object_set_new(sk, skill, json_real(compat[i]));
        }
        if (bad != 0) {
            rc = sw_diag_set(d, SWARM_ENOMEM, "%s: out of memory", path);
            goto out;
        }
    }
    char tmp[SW_SWARMFILE_MAX_PATH + 32];
    int tl = snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid());
    if (tl < 0 || (size_t)tl >= sizeof(tmp)) {
        /* a truncated temp name could be another file: refuse, loudly */
        rc = sw_diag_set(d, SWARM_EINVAL, "%.64s...: path longer than %d bytes", path,
                         SW_SWARMFILE_MAX_PATH);
        goto out;
    }
    FILE *f = fopen(tmp, "w");
    if (f == NULL) {
        rc = sw_diag_set(d, SWARM_ESYS, "%s: %s", tmp, strerror(errno));
        goto out;
    }
    int wr = json_dumpf(root, f, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(12));
    bool ok = wr == 0 && fputc('\n', f) != EOF && fflush(f) == 0 && fsync(fileno(f)) == 0;
    /* fclose also reports a late write error: the original is only
     * replaced by a file known to be whole */
    if (fclose(f) != 0) ok = false;
    if (!ok) {
        unlink(tmp);
        rc = sw_diag_set(d, SWARM_ESYS, "%s: write failed", tmp);
        goto out;
    }
    if (rename(tmp, path) != 0) {
        unlink(tmp);
        rc = sw_diag_set(d, SWARM_ESYS, "%s: rename failed: %s", path, strerror(errno));
    }
out:
    json_decref(root);
    return rc;
}
