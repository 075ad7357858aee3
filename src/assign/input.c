/*
 * input.c: the JSON problem format of `swarm assign` (docs/assign.md):
 * strict parsing into an owned swarm_assign_problem, with a message naming
 * the key and position of every malformed value.
 */
#include <stdio.h>
#include <string.h>

#include "../core/json_int.h"
#include "assign_int.h"

#define INPUT_MAX_N 1000000
#define INPUT_MAX_PAIRS ((size_t)100000000)

struct swarm_assign_input {
    swarm_assign_problem p;
    double *E, *T, *B, *C, *c, *E_ik, *T_ik;
    int32_t *zone;
    bool *available;
};

void swarm_assign_input_destroy(swarm_assign_input *in)
{
    if (in == NULL) return;
    sw_free(in->E);
    sw_free(in->T);
    sw_free(in->B);
    sw_free(in->C);
    sw_free(in->c);
    sw_free(in->E_ik);
    sw_free(in->T_ik);
    sw_free(in->zone);
    sw_free(in->available);
    sw_free(in);
}

const swarm_assign_problem *swarm_assign_input_problem(const swarm_assign_input *in)
{
    return in ? &in->p : NULL;
}

static swarm_err get_number(json_t *v, const char *what, double *out, swarm_diag *d)
{
    if (!json_is_number(v)) return sw_diag_set(d, SWARM_EINVAL, "%s must be a number", what);
    *out = json_number_value(v);
    return SWARM_OK;
}

/* A vector of n numbers (n < 0: any length, written to *n). */
static swarm_err get_vec(json_t *root, const char *key, int32_t *n, double **out, swarm_diag *d)
{
    json_t *v = json_object_get(root, key);
    if (!json_is_array(v)) return sw_diag_set(d, SWARM_EINVAL, "\"%s\" must be an array of numbers", key);
    size_t len = json_array_size(v);
    if (*n < 0) {
        if (len == 0 || len > INPUT_MAX_N)
            return sw_diag_set(d, SWARM_EINVAL, "\"%s\" has %zu entries (need 1..%d SLMs)", key, len,
                               INPUT_MAX_N);
        *n = (int32_t)len;
    } else if (len != (size_t)*n) {
        return sw_diag_set(d, SWARM_EINVAL, "\"%s\" has %zu entries, expected %d (one per SLM)", key,
                           len, (int)*n);
    }
    double *a = sw_malloc(len * sizeof(double));
    if (a == NULL) return sw_diag_set(d, SWARM_ENOMEM, "out of memory");
    for (size_t j = 0; j < len; j++) {
        json_t *e = json_array_get(v, j);
        if (!json_is_number(e)) {
            sw_free(a);
            return sw_diag_set(d, SWARM_EINVAL, "\"%s\"[%zu] must be a number", key, j);
        }
        a[j] = json_number_value(e);
    }
    *out = a;
    return SWARM_OK;
}

/* An n x m matrix (m < 0: taken from the first row, written to *m). */
static swarm_err get_mat(json_t *root, const char *key, int32_t n, int32_t *m, double **out,
                         swarm_diag *d)
{
    json_t *v = json_object_get(root, key);
    if (!json_is_array(v) || json_array_size(v) != (size_t)n)
        return sw_diag_set(d, SWARM_EINVAL, "\"%s\" must be an array of %d rows (one per SLM)", key,
                           (int)n);
    if (*m < 0) {
        json_t *r0 = json_array_get(v, 0);
        if (!json_is_array(r0))
            return sw_diag_set(d, SWARM_EINVAL, "\"%s\"[0] must be an array (one entry per subtask)", key);
        size_t len = json_array_size(r0);
        size_t nm;
        if (len > (size_t)INT32_MAX || !sw_mul_ok(len, (size_t)n, &nm) || nm > INPUT_MAX_PAIRS)
            return sw_diag_set(d, SWARM_EINVAL, "\"%s\" is too large (%d x %zu)", key, (int)n, len);
        *m = (int32_t)len;
    }
    /* Shapes first: n x m doubles are only allocated once the JSON really holds
     * n rows of m entries (else one long first row and many short ones, a few
     * hundred KiB of text, would ask for up to 800 MB). */
    for (int32_t i = 0; i < n; i++) {
        json_t *row = json_array_get(v, (size_t)i);
        if (!json_is_array(row) || json_array_size(row) != (size_t)*m)
            return sw_diag_set(d, SWARM_EINVAL, "\"%s\"[%d] must be an array of %d numbers (one per subtask)",
                               key, (int)i, (int)*m);
    }
    size_t nm = (size_t)n * (size_t)*m;
    double *a = sw_malloc((nm ? nm : 1) * sizeof(double));
    if (a == NULL) return sw_diag_set(d, SWARM_ENOMEM, "out of memory");
    for (int32_t i = 0; i < n; i++) {
        json_t *row = json_array_get(v, (size_t)i);
        for (int32_t k = 0; k < *m; k++) {
            json_t *e = json_array_get(row, (size_t)k);
            if (!json_is_number(e)) {
                sw_free(a);
                return sw_diag_set(d, SWARM_EINVAL, "\"%s\"[%d][%d] must be a number", key, (int)i, (int)k);
            }
            a[(size_t)i * *m + k] = json_number_value(e);
        }
    }
    *out = a;
    return SWARM_OK;
}

static const char *const known_keys[] = {
    "E", "T", "B", "C", "c", "E_ik", "T_ik", "p_min", "c_min", "redundancy", "weights", "zones",
    "distinct_zones", "available", "eps_time", "makespan", NULL,
};

static swarm_err parse_root(json_t *root, swarm_assign_input *in, swarm_diag *d)
{
    swarm_assign_problem *p = &in->p;
    if (!json_is_object(root)) return sw_diag_set(d, SWARM_EINVAL, "the problem must be a JSON object");
    const char *key;
    json_t *val;
    json_object_foreach(root, key, val) {
        bool ok = false;
        for (int j = 0; known_keys[j]; j++)
            if (strcmp(key, known_keys[j]) == 0) ok = true;
        if (!ok) return sw_diag_set(d, SWARM_EINVAL, "unknown key \"%s\"", key);
    }
    swarm_err rc;
    int32_t n = -1, m = -1;
    if (!json_object_get(root, "E") || !json_object_get(root, "T") || !json_object_get(root, "B") ||
        !json_object_get(root, "C"))
        return sw_diag_set(d, SWARM_EINVAL, "\"E\", \"T\", \"B\" and \"C\" are required");
    if ((rc = get_vec(root, "E", &n, &in->E, d)) != SWARM_OK) return rc;
    if ((rc = get_vec(root, "T", &n, &in->T, d)) != SWARM_OK) return rc;
    if ((rc = get_vec(root, "B", &n, &in->B, d)) != SWARM_OK) return rc;
    if ((rc = get_mat(root, "C", n, &m, &in->C, d)) != SWARM_OK) return rc;
    if (json_object_get(root, "c") && (rc = get_mat(root, "c", n, &m, &in->c, d)) != SWARM_OK) return rc;
    if (json_object_get(root, "E_ik") && (rc = get_mat(root, "E_ik", n, &m, &in->E_ik, d)) != SWARM_OK)
        return rc;
    if (json_object_get(root, "T_ik") && (rc = get_mat(root, "T_ik", n, &m, &in->T_ik, d)) != SWARM_OK)
        return rc;
    p->n = n;
    p->m = m;
    p->E = in->E;
    p->T = in->T;
    p->B = in->B;
    p->C = in->C;
    p->c = in->c;
    p->E_ik = in->E_ik;
    p->T_ik = in->T_ik;
    p->redundancy = 1;
    if ((val = json_object_get(root, "p_min")) && (rc = get_number(val, "\"p_min\"", &p->p_min, d)))
        return rc;
    if ((val = json_object_get(root, "c_min")) && (rc = get_number(val, "\"c_min\"", &p->c_min, d)))
        return rc;
    if ((val = json_object_get(root, "eps_time")) &&
        (rc = get_number(val, "\"eps_time\"", &p->eps_time, d)))
        return rc;
    if ((val = json_object_get(root, "redundancy"))) {
        if (!json_is_integer(val) || json_integer_value(val) < 1 || json_integer_value(val) > INPUT_MAX_N)
            return sw_diag_set(d, SWARM_EINVAL, "\"redundancy\" must be an integer >= 1");
        p->redundancy = (int32_t)json_integer_value(val);
    }
    if ((val = json_object_get(root, "makespan"))) {
        if (!json_is_boolean(val)) return sw_diag_set(d, SWARM_EINVAL, "\"makespan\" must be true or false");
        p->time_obj = json_is_true(val) ? SWARM_ASSIGN_OBJ_MAKESPAN : SWARM_ASSIGN_OBJ_SUM;
    }
    if ((val = json_object_get(root, "weights"))) {
        if (!json_is_object(val))
            return sw_diag_set(d, SWARM_EINVAL, "\"weights\" must be an object {\"energy\": a, \"time\": b}");
        json_t *wv;
        json_object_foreach(val, key, wv) {
            double *dst = strcmp(key, "energy") == 0 ? &p->w_energy
                          : strcmp(key, "time") == 0 ? &p->w_time
                                                     : NULL;
            if (dst == NULL) return sw_diag_set(d, SWARM_EINVAL, "unknown key \"weights.%s\"", key);
            if ((rc = get_number(wv, key, dst, d)) != SWARM_OK) return rc;
        }
    }
    if ((val = json_object_get(root, "zones"))) {
        if (!json_is_array(val) || json_array_size(val) != (size_t)n)
            return sw_diag_set(d, SWARM_EINVAL, "\"zones\" must be an array of %d integers (one per SLM)", (int)n);
        in->zone = sw_malloc((size_t)n * sizeof(int32_t));
        if (in->zone == NULL) return sw_diag_set(d, SWARM_ENOMEM, "out of memory");
        for (int32_t i = 0; i < n; i++) {
            json_t *e = json_array_get(val, (size_t)i);
            if (!json_is_integer(e) || json_integer_value(e) < INT32_MIN || json_integer_value(e) > INT32_MAX)
                return sw_diag_set(d, SWARM_EINVAL, "\"zones\"[%d] must be an integer", (int)i);
            in->zone[i] = (int32_t)json_integer_value(e);
        }
        p->zone = in->zone;
        p->distinct_zones = true; /* giving zones asks for distinct ones, unless said otherwise */
    }
    if ((val = json_object_get(root, "distinct_zones"))) {
        if (!json_is_boolean(val))
            return sw_diag_set(d, SWARM_EINVAL, "\"distinct_zones\" must be true or false");
        p->distinct_zones = json_is_true(val);
        if (p->distinct_zones && p->zone == NULL)
            return sw_diag_set(d, SWARM_EINVAL, "\"distinct_zones\" needs \"zones\"");
    }
    if ((val = json_object_get(root, "available"))) {
        if (!json_is_array(val) || json_array_size(val) != (size_t)n)
            return sw_diag_set(d, SWARM_EINVAL, "\"available\" must be an array of %d booleans", (int)n);
        in->available = sw_malloc((size_t)n * sizeof(bool));
        if (in->available == NULL) return sw_diag_set(d, SWARM_ENOMEM, "out of memory");
        for (int32_t i = 0; i < n; i++) {
            json_t *e = json_array_get(val, (size_t)i);
            if (!json_is_boolean(e))
                return sw_diag_set(d, SWARM_EINVAL, "\"available\"[%d] must be true or false", (int)i);
            in->available[i] = json_is_true(e);
        }
        p->available = in->available;
    }
    /* ranges (negative values, NaN) are checked by the solver's validation */
    return sw_asg_validate(p, d);
}

swarm_err swarm_assign_input_parse(const char *json, size_t len, swarm_assign_input **out,
                                   swarm_diag *d)
{
    if (json == NULL || out == NULL) return sw_diag_set(d, SWARM_EINVAL, "no input");
    json_t *root = sw_json_load_strict(json, len, d);
    if (root == NULL) {
        char why[sizeof(d->msg)];
        snprintf(why, sizeof(why), "%s", d ? d->msg : "");
        return sw_diag_set(d, SWARM_EINVAL, "invalid JSON: %s", why);
    }
    swarm_assign_input *in = sw_calloc(1, sizeof(*in));
    if (in == NULL) {
        json_decref(root);
        return sw_diag_set(d, SWARM_ENOMEM, "out of memory");
    }
    swarm_err rc = parse_root(root, in, d);
    json_decref(root);
    if (rc != SWARM_OK) {
        swarm_assign_input_destroy(in);
        return rc;
    }
    *out = in;
    return SWARM_OK;
}
