/*
 * plan.h: tasks (the JSON task file of docs/task-file.md) and their
 * decomposition into a DAG of subtasks: single, ensemble, map-reduce,
 * pipeline and cascade, plus prompt rendering from dependency outputs.
 * Nothing here runs a model or picks nodes (see runtime.h and assign.h).
 */
#ifndef SWARM_PLAN_H
#define SWARM_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "swarm/aggregate.h"
#include "swarm/swarm.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    SWARM_SUBTASK_GENERATE, /* free text */
    SWARM_SUBTASK_CLASSIFY, /* pick one of labels by log-likelihood */
    SWARM_SUBTASK_SCORE,    /* a number */
    SWARM_SUBTASK_KIND_COUNT
} swarm_subtask_kind;

typedef enum {
    SWARM_DECOMP_SINGLE,
    SWARM_DECOMP_ENSEMBLE,
    SWARM_DECOMP_MAP_REDUCE,
    SWARM_DECOMP_PIPELINE,
    SWARM_DECOMP_CASCADE,
    SWARM_DECOMP_COUNT
} swarm_decomp;

typedef struct swarm_task swarm_task; /* parsed task file (opaque) */

typedef struct swarm_subtask {
    int32_t id;                 /* index in the plan (== position: plans are topological) */
    const char *name;           /* "map-3", "reduce", step name, "member-2", "level-0", "main" */
    swarm_subtask_kind kind;
    const char *skill;          /* required skill (for C_ik) */
    const char *prompt;         /* the final prompt, or (map-reduce's reduce and pipeline
                                 * steps with depends_on) the raw template: always get the
                                 * text to run from swarm_plan_render once deps are done */
    const char *const *labels;
    size_t n_labels;            /* classify: label continuations */
    int32_t max_tokens;
    int32_t redundancy;         /* r for this subtask */
    const int32_t *deps;
    size_t n_deps;              /* ids this subtask waits for (all smaller than id) */
    int32_t group;              /* aggregation group id (for hierarchical) */
    int64_t est_tokens;         /* prompt + output token estimate for cost/time models */
    int32_t level;              /* cascade: 0 = cheapest first; -1 for other strategies */
    bool is_output;             /* its result feeds the task's final aggregation */
} swarm_subtask;

typedef struct swarm_plan swarm_plan;

/*
 * Parses and validates a task file. An input given as {"file": path} is read
 * relative to the current directory (swarm_task_parse) or to base_dir
 * (swarm_task_parse_ex, NULL = current directory). On SWARM_OK *out holds a
 * task to release with swarm_task_destroy; SWARM_EFORMAT / SWARM_EINVAL with
 * a message naming the field otherwise.
 */
SWARM_API swarm_err swarm_task_parse(const char *json, size_t len, swarm_task **out,
                                     swarm_diag *d);
SWARM_API swarm_err swarm_task_parse_ex(const char *json, size_t len, const char *base_dir,
                                        swarm_task **out, swarm_diag *d);
/* Reads the file and parses it with base_dir = the file's directory. */
SWARM_API swarm_err swarm_task_parse_file(const char *path, swarm_task **out, swarm_diag *d);
SWARM_API void swarm_task_destroy(swarm_task *t);

/* Task accessors (borrowed strings live as long as the task). */
SWARM_API const char *swarm_task_name(const swarm_task *t);
SWARM_API const char *swarm_task_input(const swarm_task *t);
SWARM_API const char *swarm_task_skill(const swarm_task *t);
SWARM_API swarm_subtask_kind swarm_task_kind(const swarm_task *t);
SWARM_API swarm_decomp swarm_task_decomp(const swarm_task *t);
SWARM_API double swarm_task_p_min(const swarm_task *t);
/* "p_min_policy": "warn" (default: the run reports Σ C below P_min and
 * succeeds) or "fail" (the task fails when its committed results' Σ C is
 * below P_min). */
typedef enum { SWARM_P_MIN_WARN, SWARM_P_MIN_FAIL, SWARM_P_MIN_POLICY_COUNT } swarm_p_min_policy;
SWARM_API swarm_p_min_policy swarm_task_p_min_policy(const swarm_task *t);
/* The task's "sampling" overrides: the fields it gives replace the node's
 * (set says which); the others stay the node's. A seed makes every
 * subtask's draw depend on it instead of the runtime's seed. */
enum {
    SWARM_SAMPLING_TEMPERATURE = 1,
    SWARM_SAMPLING_TOP_K = 2,
    SWARM_SAMPLING_TOP_P = 4,
    SWARM_SAMPLING_MIN_P = 8,
    SWARM_SAMPLING_SEED = 16
};
typedef struct swarm_task_sampling {
    uint32_t set;              /* SWARM_SAMPLING_* bits */
    double temperature;        /* [0, 100] */
    int32_t top_k;             /* >= 0 */
    double top_p;              /* (0, 1] */
    double min_p;              /* [0, 1] */
    uint64_t seed;
} swarm_task_sampling;
SWARM_API const swarm_task_sampling *swarm_task_sampling_of(const swarm_task *t);
/* The task's "nodes" allow-list (names; *n = 0 and NULL: every node may run
 * it). Borrowed from the task. */
SWARM_API const char *const *swarm_task_nodes(const swarm_task *t, size_t *n);
/* Objective weights of the assignment (energy, time); default 1, 1. */
SWARM_API void swarm_task_objective(const swarm_task *t, double *out_energy, double *out_time);
SWARM_API int32_t swarm_task_redundancy(const swarm_task *t);
SWARM_API const swarm_agg_spec *swarm_task_agg(const swarm_task *t);
SWARM_API double swarm_task_cascade_threshold(const swarm_task *t);
SWARM_API double swarm_task_deadline_ms(const swarm_task *t); /* per subtask; 0 = none */
SWARM_API int32_t swarm_task_max_retries(const swarm_task *t);
SWARM_API int32_t swarm_task_max_tokens(const swarm_task *t);

SWARM_API const char *swarm_decomp_name(swarm_decomp s);          /* never NULL */
SWARM_API const char *swarm_subtask_kind_name(swarm_subtask_kind k); /* never NULL */

/*
 * Builds the subtask DAG of a task. The plan copies what it needs, so the
 * task may be destroyed first. SWARM_EINVAL with a message when the input
 * cannot be split (e.g. map-reduce over an empty input).
 */
SWARM_API swarm_err swarm_plan_build(const swarm_task *t, swarm_plan **out, swarm_diag *d);
SWARM_API void swarm_plan_destroy(swarm_plan *p);
SWARM_API size_t swarm_plan_count(const swarm_plan *p);
/* Subtask i in topological order (deps always precede); NULL when out of range. */
SWARM_API const swarm_subtask *swarm_plan_get(const swarm_plan *p, size_t i);
SWARM_API swarm_decomp swarm_plan_decomp(const swarm_plan *p);

/*
 * Renders subtask i's prompt. outputs is indexed by subtask id: outputs[j] =
 * the text subtask j produced, NULL when not done. Subtasks that are not
 * templated (maps, ensemble members, cascade levels, steps without
 * depends_on) return their prompt as is and accept outputs == NULL. For a
 * templated one: one pass over the template substituting {{input}},
 * {{results}} (the dependencies' outputs in id order, joined by a blank line)
 * and {{steps.NAME}}; substituted text is never re-scanned. *out sw_malloc'd;
 * free with swarm_free. SWARM_EINVAL when a needed output is NULL or i is out
 * of range.
 */
SWARM_API swarm_err swarm_plan_render(const swarm_plan *p, size_t i, const char *const *outputs,
                                      char **out);

#ifdef __cplusplus
}
#endif
#endif /* SWARM_PLAN_H */
