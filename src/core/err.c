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
    char tmp[sizeof(d->msg)];
    snprintf(tmp, sizeof(tmp), "%s: %s", prefix, d->msg);
    memcpy(d->msg, tmp, sizeof(tmp));
}

void sw_assert_fail(const char *expr, const char *file, int line)
{
    fprintf(stderr, "swarm: assertion failed: %s (%s:%d)\n", expr, file, line);
    fflush(stderr);
    __builtin_trap();
}
