/*
 * names.c: the option names of the assignment enums (method, solver), one
 * table each, so the CLI, task files and a server parse and print the same
 * words (they lived in the CLI before).
 */
#include <string.h>

#include "assign_int.h"

static const char *const method_names[SWARM_ASSIGN_METHOD_COUNT] = {
    [SWARM_ASSIGN_METHOD_AUTO] = "auto",
    [SWARM_ASSIGN_METHOD_EXACT] = "exact",
    [SWARM_ASSIGN_METHOD_FAST] = "fast",
};

static const char *const solver_names[SWARM_ASSIGN_SOLVER_COUNT] = {
    [SWARM_ASSIGN_SOLVER_AUTO] = "auto",
    [SWARM_ASSIGN_SOLVER_CBC] = "cbc",
    [SWARM_ASSIGN_SOLVER_GLPK] = "glpk",
};

/* Index of name in table[n], or -1. */
static int lookup(const char *const *table, int n, const char *name)
{
    if (name == NULL) return -1;
    for (int i = 0; i < n; i++)
        if (table[i] && strcmp(table[i], name) == 0) return i;
    return -1;
}

const char *swarm_assign_method_name(swarm_assign_method m)
{
    return (unsigned)m < SWARM_ASSIGN_METHOD_COUNT ? method_names[m] : "unknown";
}

bool swarm_assign_method_from_name(const char *name, swarm_assign_method *out)
{
    int i = lookup(method_names, SWARM_ASSIGN_METHOD_COUNT, name);
    if (i < 0) return false;
    *out = (swarm_assign_method)i;
    return true;
}

const char *swarm_assign_solver_name(swarm_assign_solver s)
{
    return (unsigned)s < SWARM_ASSIGN_SOLVER_COUNT ? solver_names[s] : "unknown";
}

bool swarm_assign_solver_from_name(const char *name, swarm_assign_solver *out)
{
    int i = lookup(solver_names, SWARM_ASSIGN_SOLVER_COUNT, name);
    if (i < 0) return false;
    *out = (swarm_assign_solver)i;
    return true;
}
