/*
 * fuzz_task.c: libFuzzer target for task files: swarm_task_parse, then
 * swarm_plan_build, then swarm_plan_render of every subtask in order with
 * fake outputs for the finished ones. Checks the plan's invariants (ids in
 * order, dependencies earlier) and that rendering never fails once every
 * dependency has an output.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "swarm/plan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Outputs that look like templates: substituted text must not be re-scanned. */
static const char *const k_fake[] = {"ok", "{{input}}", "", "{{results}} {{steps.a}}",
                                     "positive", "0.5"};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    swarm_diag d = {0};
    swarm_task *t = NULL;
    if (swarm_task_parse((const char *)data, size, &t, &d) != SWARM_OK) return 0;
    /* the accessors must hold sane values for whatever parsed */
    if (swarm_task_name(t) == NULL || swarm_task_input(t) == NULL || swarm_task_skill(t) == NULL)
        abort();
    swarm_plan *p = NULL;
    swarm_err rc = swarm_plan_build(t, &p, &d);
    swarm_task_destroy(t); /* the plan must not borrow from the task */
    if (rc != SWARM_OK) return 0;
    size_t n = swarm_plan_count(p);
    if (n == 0) abort();
    const char **outs = calloc(n, sizeof(*outs));
    if (outs == NULL) abort();
    for (size_t i = 0; i < n; i++) {
        const swarm_subtask *s = swarm_plan_get(p, i);
        if (s == NULL || s->id != (int32_t)i || s->name == NULL || s->prompt == NULL) abort();
        for (size_t j = 0; j < s->n_deps; j++)
            if (s->deps[j] < 0 || s->deps[j] >= s->id) abort();
        for (size_t j = 0; j < s->n_labels; j++)
            if (s->labels[j] == NULL) abort();
        char *text = NULL;
        if (swarm_plan_render(p, i, outs, &text) != SWARM_OK || text == NULL) abort();
        swarm_free(text);
        outs[i] = k_fake[i % (sizeof(k_fake) / sizeof(k_fake[0]))];
    }
    if (swarm_plan_get(p, n) != NULL) abort();
    char *text = NULL;
    if (swarm_plan_render(p, n, outs, &text) == SWARM_OK) abort();
    free(outs);
    swarm_plan_destroy(p);
    return 0;
}
