/*
 * err.c: error names and messages (from SWARM_ERR_MAP) and diagnostics.
 */
#include <stdio.h>
#include <string.h>

#include "core_int.h"

const char *swarm_strerror(swarm_err e)
{
    switch (e) {
#define X(name, val, msg) \
    case SWARM_##name:    \
        return msg;
        SWARM_ERR_MAP(X)
#undef X
    default:
        return "unknown error";
    }
}

const char *swarm_err_name(swarm_err e)
{
    switch (e) {
#define X(name, val, msg) \
    case SWARM_##name:    \
        return "SWARM_" #name;
        SWARM_ERR_MAP(X)
#undef X
    default:
        return "SWARM_UNKNOWN";
    }
}

swarm_err sw_diag_set(swarm_diag *d, swarm_err rc, const char *fmt, ...)
{
    if (d == NULL) return rc;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->msg, sizeof(d->msg), fmt, ap);
    va_end(ap);
    return rc;
}

void sw_diag_prefix(swarm_diag *d, const char *prefix)
{
    if (d == NULL || prefix == NULL) return;
    /* "prefix: msg", cut to the buffer; built by hand because cutting is
     * intended here and snprintf of two full-size strings warns (gcc) */
    char tmp[sizeof(d->msg)];
    size_t cap = sizeof(tmp) - 1;
    size_t pl = strnlen(prefix, cap - 2);
    size_t ml = strnlen(d->msg, cap - pl - 2);
    memcpy(tmp, prefix, pl);
    tmp[pl] = ':';
    tmp[pl + 1] = ' ';
    memcpy(tmp + pl + 2, d->msg, ml);
    tmp[pl + 2 + ml] = '\0';
    memcpy(d->msg, tmp, pl + 3 + ml);
}

void sw_assert_fail(const char *expr, const char *file, int line)
{
    fprintf(stderr, "swarm: assertion failed: %s (%s:%d)\n", expr, file, line);
    fflush(stderr);
    __builtin_trap();
}
