/*
 * template.c: prompt templates: scanning {{name}} variables (for validation
 * at parse time) and substituting them in one pass (at build and render
 * time). No escapes, no conditionals: a lone "{{" without "}}" is an error.
 */
#include <string.h>

#include "plan_int.h"

/* Finds the next variable at or after p: *open at "{{", name span, *after
 * past "}}". Returns false when there is none; SWARM_EINVAL via *rc for an
 * unterminated or empty one. */
static bool next_var(const char *p, const char **open, const char **name, size_t *name_len,
                     const char **after, swarm_err *rc, swarm_diag *d)
{
    *rc = SWARM_OK;
    const char *o = strstr(p, "{{");
    if (o == NULL) return false;
    const char *c = strstr(o + 2, "}}");
    if (c == NULL) {
        *rc = sw_diag_set(d, SWARM_EINVAL, "unterminated \"{{\" in template near \"%.20s\"", o);
        return false;
    }
    const char *s = o + 2, *e = c;
    while (s < e && *s == ' ') s++;
    while (e > s && e[-1] == ' ') e--;
    if (s == e) {
        *rc = sw_diag_set(d, SWARM_EINVAL, "empty \"{{}}\" in template");
        return false;
    }
    *open = o;
    *name = s;
    *name_len = (size_t)(e - s);
    *after = c + 2;
    return true;
}

swarm_err sw_tpl_scan(const char *tpl, sw_tpl_var_fn fn, void *ctx, swarm_diag *d)
{
    const char *p = tpl, *open, *name, *after;
    size_t nlen;
    swarm_err rc;
    while (next_var(p, &open, &name, &nlen, &after, &rc, d)) {
        if ((rc = fn(ctx, name, nlen, d)) != SWARM_OK) return rc;
        p = after;
    }
    return rc;
}

/* Size of the rendered text, stopping once it passes max (a short template
 * repeating a large variable must be refused before anything is allocated). */
static swarm_err render_size(const char *tpl, sw_tpl_lookup_fn lookup, void *ctx, size_t max,
                             size_t *out, swarm_diag *d)
{
    const char *p = tpl, *open, *name, *after;
    size_t nlen, total = 0;
    swarm_err rc;
    while (next_var(p, &open, &name, &nlen, &after, &rc, d)) {
        const char *v = lookup(ctx, name, nlen);
        if (v == NULL)
            return sw_diag_set(d, SWARM_EINVAL, "template variable {{%.*s}} has no value",
                               (int)nlen, name);
        total += (size_t)(open - p);
        if (total > max || strlen(v) > max - total) {
            *out = SIZE_MAX;
            return SWARM_OK;
        }
        total += strlen(v);
        p = after;
    }
    if (rc != SWARM_OK) return rc;
    size_t tail = strlen(p);
    *out = tail > max - total ? SIZE_MAX : total + tail;
    return SWARM_OK;
}

swarm_err sw_tpl_render(const char *tpl, sw_tpl_lookup_fn lookup, void *ctx, size_t max_len,
                        char **out, swarm_diag *d)
{
    sw_buf b = {0};
    const char *p = tpl, *open, *name, *after;
    size_t nlen, size;
    swarm_err rc = render_size(tpl, lookup, ctx, max_len, &size, d);
    if (rc != SWARM_OK) return rc;
    if (size > max_len)
        return sw_diag_set(d, SWARM_EINVAL,
                           "the rendered prompt would be larger than the limit of %zu bytes "
                           "(a variable repeated too often, or too large an input)",
                           max_len);
    sw_buf_put(&b, "", 0);
    while (next_var(p, &open, &name, &nlen, &after, &rc, d)) {
        sw_buf_put(&b, p, (size_t)(open - p));
        const char *v = lookup(ctx, name, nlen);
        if (v == NULL) {
            sw_free(b.p);
            return sw_diag_set(d, SWARM_EINVAL, "template variable {{%.*s}} has no value",
                               (int)nlen, name);
        }
        sw_buf_put(&b, v, strlen(v));
        p = after;
    }
    if (rc != SWARM_OK) {
        sw_free(b.p);
        return rc;
    }
    sw_buf_put(&b, p, strlen(p));
    if (b.oom) {
        sw_free(b.p);
        return SWARM_ENOMEM;
    }
    *out = b.p;
    return SWARM_OK;
}
