/*
 * names.c: the option names of the runtime's enums (dispatch policy,
 * failure detector, transport), one table each, so the CLI and later a
 * server or a task file parse and print the same words (they lived in
 * cli/cmd_run.c before).
 */
#include <string.h>

#include "runtime_int.h"

static const char *const dispatch_names[SWARM_DISPATCH_COUNT] = {
    [SWARM_DISPATCH_ASSIGN] = "assign",
    [SWARM_DISPATCH_ROUND_ROBIN] = "round-robin",
    [SWARM_DISPATCH_LEAST_CONN] = "least-conn",
    [SWARM_DISPATCH_PRIORITY] = "priority",
};

static const char *const detector_names[SWARM_DETECT_COUNT] = {
    [SWARM_DETECT_PHI] = "phi",
    [SWARM_DETECT_TIMEOUT] = "timeout",
};

static const char *const transport_names[SWARM_TRANSPORT_COUNT] = {
    [SWARM_TRANSPORT_INPROC] = "inproc",
    [SWARM_TRANSPORT_PROCESS] = "process",
};

/* Index of name in table[n], or -1. */
static int lookup(const char *const *table, int n, const char *name)
{
    if (name == NULL) return -1;
    for (int i = 0; i < n; i++)
        if (table[i] && strcmp(table[i], name) == 0) return i;
    return -1;
}

const char *swarm_dispatch_policy_name(swarm_dispatch_policy p)
{
    return (unsigned)p < SWARM_DISPATCH_COUNT ? dispatch_names[p] : "unknown";
}

bool swarm_dispatch_policy_from_name(const char *name, swarm_dispatch_policy *out)
{
    int i = lookup(dispatch_names, SWARM_DISPATCH_COUNT, name);
    if (i < 0) return false;
    *out = (swarm_dispatch_policy)i;
    return true;
}

const char *swarm_detector_name(swarm_detector d)
{
    return (unsigned)d < SWARM_DETECT_COUNT ? detector_names[d] : "unknown";
}

bool swarm_detector_from_name(const char *name, swarm_detector *out)
{
    int i = lookup(detector_names, SWARM_DETECT_COUNT, name);
    if (i < 0) return false;
    *out = (swarm_detector)i;
    return true;
}

const char *swarm_transport_kind_name(swarm_transport_kind t)
{
    return (unsigned)t < SWARM_TRANSPORT_COUNT ? transport_names[t] : "unknown";
}

bool swarm_transport_kind_from_name(const char *name, swarm_transport_kind *out)
{
    int i = lookup(transport_names, SWARM_TRANSPORT_COUNT, name);
    if (i < 0) return false;
    *out = (swarm_transport_kind)i;
    return true;
}
