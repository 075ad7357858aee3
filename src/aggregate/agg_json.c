/*
 * agg_json.c: the JSON side of aggregation (loaded with core's strict
 * loader, json_int.h): the spec object shared with task files, the input of
 * `swarm aggregate`, and the --json rendering of a result.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agg_int.h"

// --- the spec object -----------------------------------------------------------

static const char *const spec_keys[] = {"method", "decide", "weighting", "top_k", "inner", "outer"};

bool sw_agg_spec_key(const char *key)
{
    for (size_t i = 0; i < sizeof(spec_keys) / sizeof(spec_keys[0]); i++)
        if (strcmp(key, spec_keys[i]) == 0) return true;
    return false;
}

static swarm_err read_method(const json_t *v, const char *where, const char *key,
                             swarm_agg_method *out, swarm_diag *d)
{
    if (!json_is_string(v))
        return sw_diag_set(d, SWARM_EFORMAT, "%s%s must be a string, got %s", where, key,
                           sw_json_type_name(v));
    if (swarm_agg_method_from_name(json_string_value(v), out) != SWARM_OK)
        return sw_diag_set(d, SWARM_EFORMAT,
                           "%s%s: unknown method '%s' (expected weighted-average, max-weight, "
                           "vote, weighted-vote, hybrid, consensus, hierarchical or judge)",
                           where, key, json_string_value(v));
    return SWARM_OK;
}

static swarm_err read_number(const json_t *v, const char *where, const char *key, double *out,
                             swarm_diag *d)
{
    if (!json_is_number(v))
        return sw_diag_set(d, SWARM_EFORMAT, "%s%s must be a number, got %s", where, key,
                           sw_json_type_name(v));
    double x = json_number_value(v);
    if (!isfinite(x)) return sw_diag_set(d, SWARM_EFORMAT, "%s%s must be finite", where, key);
    *out = x;
    return SWARM_OK;
}

swarm_err sw_agg_spec_from_json(const json_t *obj, bool require_method, const char *where,
                                swarm_agg_spec *out, swarm_diag *d)
{
    swarm_agg_spec s = swarm_agg_spec_default();
    char w[64];
    snprintf(w, sizeof(w), "%s%s", where ? where : "", where && where[0] ? "." : "");
    swarm_err rc;
    const json_t *v;

    if (!json_is_object(obj))
        return sw_diag_set(d, SWARM_EFORMAT, "%s must be an object, got %s",
                           where && where[0] ? where : "the input", sw_json_type_name(obj));
    if ((v = json_object_get(obj, "method")) != NULL) {
        if ((rc = read_method(v, w, "method", &s.method, d)) != SWARM_OK) return rc;
    } else if (require_method) {
        return sw_diag_set(d, SWARM_EFORMAT, "missing \"%smethod\"", w);
    }

    if ((v = json_object_get(obj, "decide")) != NULL) {
        if (json_is_string(v) && strcmp(json_string_value(v), "sign") == 0) {
            s.decide = SWARM_AGG_DECIDE_SIGN;
        } else if (json_is_string(v) && strcmp(json_string_value(v), "none") == 0) {
            s.decide = SWARM_AGG_DECIDE_NONE;
        } else if (json_is_object(v)) {
            const json_t *th = json_object_get(v, "threshold");
            if (th == NULL || json_object_size(v) != 1)
                return sw_diag_set(d, SWARM_EFORMAT,
                                   "%sdecide object must be exactly {\"threshold\": number}", w);
            if ((rc = read_number(th, w, "decide.threshold", &s.threshold, d)) != SWARM_OK)
                return rc;
            s.decide = SWARM_AGG_DECIDE_THRESHOLD;
        } else {
            return sw_diag_set(d, SWARM_EFORMAT,
                               "%sdecide must be \"sign\", \"none\" or {\"threshold\": number}",
                               w);
        }
    }

    if ((v = json_object_get(obj, "weighting")) != NULL) {
        const char *str = json_is_string(v) ? json_string_value(v) : NULL;
        if (str && strcmp(str, "product") == 0) {
            s.weighting = SWARM_AGG_F_PRODUCT;
        } else if (str && strcmp(str, "p") == 0) {
            s.weighting = SWARM_AGG_F_P;
        } else if (str && strcmp(str, "r") == 0) {
            s.weighting = SWARM_AGG_F_R;
        } else if (json_is_object(v)) {
            const json_t *a = json_object_get(v, "p"), *b = json_object_get(v, "r");
            if (a == NULL || b == NULL || json_object_size(v) != 2)
                return sw_diag_set(d, SWARM_EFORMAT,
                                   "%sweighting object must be exactly {\"p\": a, \"r\": b}", w);
            if ((rc = read_number(a, w, "weighting.p", &s.pow_a, d)) != SWARM_OK) return rc;
            if ((rc = read_number(b, w, "weighting.r", &s.pow_b, d)) != SWARM_OK) return rc;
            s.weighting = SWARM_AGG_F_POWER;
        } else {
            return sw_diag_set(d, SWARM_EFORMAT,
                               "%sweighting must be \"product\", \"p\", \"r\" or {\"p\": a, "
                               "\"r\": b}",
                               w);
        }
    }

    if ((v = json_object_get(obj, "top_k")) != NULL) {
        if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > INT32_MAX)
            return sw_diag_set(d, SWARM_EFORMAT, "%stop_k must be an integer >= 0", w);
        if (s.method != SWARM_AGG_HYBRID)
            return sw_diag_set(d, SWARM_EFORMAT, "%stop_k only applies to method hybrid", w);
        s.top_k = (int32_t)json_integer_value(v);
    }

    const char *stage[2] = {"inner", "outer"};
    swarm_agg_method *dst[2] = {&s.inner, &s.outer};
    for (int i = 0; i < 2; i++) {
        if ((v = json_object_get(obj, stage[i])) == NULL) continue;
        if (s.method != SWARM_AGG_HIERARCHICAL)
            return sw_diag_set(d, SWARM_EFORMAT, "%s%s only applies to method hierarchical", w,
                               stage[i]);
        if ((rc = read_method(v, w, stage[i], dst[i], d)) != SWARM_OK) return rc;
        if (*dst[i] == SWARM_AGG_HIERARCHICAL)
            return sw_diag_set(d, SWARM_EFORMAT, "%s%s cannot itself be hierarchical", w,
                               stage[i]);
    }
    *out = s;
    return SWARM_OK;
}

// --- the `swarm aggregate` input -------------------------------------------------

struct swarm_agg_input {
    json_t *root; /* owns every string the items borrow */
    swarm_agg_spec spec;
    swarm_agg_item *items;
    size_t n;
};

static bool weights_optional(swarm_agg_method m)
{
    return m == SWARM_AGG_VOTE || m == SWARM_AGG_CONSENSUS || m == SWARM_AGG_JUDGE;
}

static swarm_err parse_item(const json_t *o, size_t i, const swarm_agg_spec *spec,
                            swarm_agg_item *it, swarm_diag *d)
{
    char w[48];
    snprintf(w, sizeof(w), "results[%zu].", i);
    if (!json_is_object(o))
        return sw_diag_set(d, SWARM_EFORMAT, "results[%zu] must be an object, got %s", i,
                           sw_json_type_name(o));
    const char *key;
    json_t *v;
    swarm_err rc;
    json_object_foreach((json_t *)o, key, v)
    {
        static const char *const known[] = {"node", "value", "weight", "p",
                                            "r",    "group", "hlc",    "score"};
        bool ok = false;
        for (size_t k = 0; k < sizeof(known) / sizeof(known[0]); k++) ok |= strcmp(key, known[k]) == 0;
        if (!ok)
            return sw_diag_set(d, SWARM_EFORMAT,
                               "%s%s: unknown key (expected node, value, weight, p, r, group, "
                               "hlc, score)",
                               w, key);
    }
    memset(it, 0, sizeof(*it));
    if ((v = json_object_get(o, "node")) == NULL)
        return sw_diag_set(d, SWARM_EFORMAT, "%snode is missing", w);
    if (!json_is_string(v))
        return sw_diag_set(d, SWARM_EFORMAT, "%snode must be a string, got %s", w,
                           sw_json_type_name(v));
    it->node = json_string_value(v);

    if ((v = json_object_get(o, "value")) == NULL)
        return sw_diag_set(d, SWARM_EFORMAT, "%svalue is missing", w);
    if (json_is_string(v)) {
        it->is_text = true;
        it->text = json_string_value(v);
    } else if (json_is_number(v)) {
        if ((rc = read_number(v, w, "value", &it->value, d)) != SWARM_OK) return rc;
    } else {
        return sw_diag_set(d, SWARM_EFORMAT, "%svalue must be a number or a string, got %s", w,
                           sw_json_type_name(v));
    }

    const json_t *wt = json_object_get(o, "weight");
    const json_t *p = json_object_get(o, "p"), *r = json_object_get(o, "r");
    if (wt != NULL && (p != NULL || r != NULL))
        return sw_diag_set(d, SWARM_EFORMAT, "%sgive either weight or p and r, not both", w);
    if (wt != NULL) {
        if ((rc = read_number(wt, w, "weight", &it->weight, d)) != SWARM_OK) return rc;
        if (it->weight < 0)
            return sw_diag_set(d, SWARM_EFORMAT, "%sweight must be >= 0 (got %g)", w, it->weight);
        it->has_weight = true;
    } else if (p != NULL || r != NULL) {
        if (p == NULL || r == NULL)
            return sw_diag_set(d, SWARM_EFORMAT, "%s%s is missing (p and r come together)", w,
                               p == NULL ? "p" : "r");
        if ((rc = read_number(p, w, "p", &it->p, d)) != SWARM_OK) return rc;
        if ((rc = read_number(r, w, "r", &it->r, d)) != SWARM_OK) return rc;
        if (it->p < 0 || it->r < 0)
            return sw_diag_set(d, SWARM_EFORMAT, "%sp and r must be >= 0", w);
    } else if (weights_optional(spec->method)) {
        it->has_weight = true;
        it->weight = 1.0;
    } else {
        return sw_diag_set(d, SWARM_EFORMAT, "%sweight (or p and r) is missing; method %s needs it",
                           w, swarm_agg_method_name(spec->method));
    }

    if ((v = json_object_get(o, "group")) != NULL) {
        if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > INT32_MAX)
            return sw_diag_set(d, SWARM_EFORMAT, "%sgroup must be an integer >= 0", w);
        it->group = (int32_t)json_integer_value(v);
    }
    if ((v = json_object_get(o, "hlc")) != NULL) {
        if (!json_is_integer(v) || json_integer_value(v) < 0)
            return sw_diag_set(d, SWARM_EFORMAT, "%shlc must be an integer >= 0", w);
        it->hlc = (uint64_t)json_integer_value(v);
    }
    if ((v = json_object_get(o, "score")) != NULL) {
        if ((rc = read_number(v, w, "score", &it->score, d)) != SWARM_OK) return rc;
        it->has_score = true;
    }
    return SWARM_OK;
}

swarm_err swarm_agg_input_parse(const char *json, size_t len, swarm_agg_input **out, swarm_diag *d)
{
    SWARM_ASSERT(json != NULL && out != NULL);
    swarm_err rc;
    swarm_agg_input *in = sw_calloc(1, sizeof(*in));
    if (in == NULL) return SWARM_ENOMEM;
    in->root = sw_json_load_strict(json, len, d);
    if (in->root == NULL) {
        rc = SWARM_EFORMAT;
        goto fail;
    }
    if (!json_is_object(in->root)) {
        rc = sw_diag_set(d, SWARM_EFORMAT, "the input must be a JSON object, got %s",
                         sw_json_type_name(in->root));
        goto fail;
    }
    const char *key;
    json_t *v;
    json_object_foreach(in->root, key, v)
    {
        if (!sw_agg_spec_key(key) && strcmp(key, "results") != 0) {
            rc = sw_diag_set(d, SWARM_EFORMAT,
                             "unknown key \"%s\" (expected method, decide, weighting, top_k, "
                             "inner, outer, results)",
                             key);
            goto fail;
        }
    }
    if ((rc = sw_agg_spec_from_json(in->root, true, "", &in->spec, d)) != SWARM_OK) goto fail;
    const json_t *res = json_object_get(in->root, "results");
    if (res == NULL) {
        rc = sw_diag_set(d, SWARM_EFORMAT, "missing \"results\"");
        goto fail;
    }
    if (!json_is_array(res)) {
        rc = sw_diag_set(d, SWARM_EFORMAT, "results must be an array, got %s",
                         sw_json_type_name(res));
        goto fail;
    }
    in->n = json_array_size(res);
    if (in->n == 0) {
        rc = sw_diag_set(d, SWARM_EFORMAT, "results is empty: nothing to aggregate");
        goto fail;
    }
    in->items = sw_calloc(in->n, sizeof(*in->items));
    if (in->items == NULL) {
        rc = SWARM_ENOMEM;
        goto fail;
    }
    for (size_t i = 0; i < in->n; i++) {
        if ((rc = parse_item(json_array_get(res, i), i, &in->spec, &in->items[i], d)) != SWARM_OK)
            goto fail;
    }
    *out = in;
    return SWARM_OK;
fail:
    swarm_agg_input_destroy(in);
    return rc;
}

const swarm_agg_spec *swarm_agg_input_spec(const swarm_agg_input *in)
{
    return &in->spec;
}

const swarm_agg_item *swarm_agg_input_items(const swarm_agg_input *in, size_t *out_n)
{
    *out_n = in->n;
    return in->items;
}

void swarm_agg_input_destroy(swarm_agg_input *in)
{
    if (in == NULL) return;
    json_decref(in->root);
    sw_free(in->items);
    sw_free(in);
}

// --- the --json result ---------------------------------------------------------

/* A real rounded to 12 significant digits; dumped with precision 12 it prints
 * the shortest text that reads back as that double (0.4, not 0.40000000000000002). */
static json_t *num(double v)
{
    return json_real(swarm_agg_round(v));
}

/* Model output may hold invalid UTF-8 (a token split mid-character); JSON
 * cannot, so such bytes become '?' rather than failing the whole report. */
static json_t *str(const char *s)
{
    json_t *j = json_string(s);
    if (j != NULL || s == NULL) return j;
    char *c = sw_strdup(s);
    if (c == NULL) return NULL;
    for (char *p = c; *p; p++)
        if ((unsigned char)*p >= 0x80) *p = '?';
    j = json_string(c);
    sw_free(c);
    return j;
}

swarm_err swarm_agg_result_json(const swarm_agg_result *r, const swarm_agg_item *items, char **out)
{
    SWARM_ASSERT(r != NULL && out != NULL);
    json_t *o = json_object();
    json_t *ws = json_array();
    if (o == NULL || ws == NULL) goto oom;
    int bad = 0;
    bad |= json_object_set_new(o, "value", r->is_text ? str(r->text) : num(r->value));
    bad |= json_object_set_new(o, "decision", r->decision ? json_string(r->decision) : json_null());
    bad |= json_object_set_new(o, "winner", r->winner ? str(r->winner) : json_null());
    bad |= json_object_set_new(o, "support", num(r->support));
    for (size_t i = 0; i < r->n; i++) {
        json_t *e = json_object();
        if (e == NULL) goto oom;
        const char *node = items && items[i].node ? items[i].node : "";
        bad |= json_object_set_new(e, "node", str(node));
        bad |= json_object_set_new(e, "weight", num(r->weights[i]));
        bad |= json_array_append_new(ws, e);
    }
    bad |= json_object_set_new(o, "weights", ws);
    ws = NULL;
    if (bad) goto oom;
    char *s = json_dumps(o, JSON_REAL_PRECISION(12));
    json_decref(o);
    if (s == NULL) return SWARM_ENOMEM;
    /* jansson allocates with malloc; hand out sw_ memory as documented. */
    *out = sw_strdup(s);
    free(s);
    return *out ? SWARM_OK : SWARM_ENOMEM;
oom:
    json_decref(o);
    json_decref(ws);
    return SWARM_ENOMEM;
}
