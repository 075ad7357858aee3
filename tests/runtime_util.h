/*
 * runtime_util.h: helpers shared by the runtime tests: a task from JSON
 * text (the test fails with the parser's message otherwise) and one run of
 * a task on a runtime of its own.
 */
#ifndef SWARM_TESTS_RUNTIME_UTIL_H
#define SWARM_TESTS_RUNTIME_UTIL_H

#include <string.h>

#include "check.h"
#include "swarm/runtime.h"

static inline swarm_task *task_of(const char *json)
{
    swarm_task *t = NULL;
    swarm_diag d = {{0}};
    swarm_err rc = swarm_task_parse(json, strlen(json), &t, &d);
    if (rc) print_error("task: %s\n%s\n", d.msg, json);
    CHECK_OK(rc);
    return t;
}

/* Creates a runtime with p, runs t to the end, destroys the runtime. */
static inline swarm_run_result *run_task(const swarm_swarm *s, const swarm_runtime_params *p,
                                         const swarm_task *t)
{
    swarm_runtime *rt = NULL;
    swarm_diag d = {{0}};
    CHECK_OK(swarm_runtime_create(s, p, &rt, &d));
    swarm_run_result *r = NULL;
    swarm_err rc = swarm_runtime_run(rt, t, &r, &d);
    if (rc) print_error("run: %s\n", d.msg);
    CHECK_OK(rc);
    swarm_runtime_destroy(rt);
    return r;
}

#endif
