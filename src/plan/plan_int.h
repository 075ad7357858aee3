/*
 * plan_int.h: plan internals shared by task.c (parsing), plan.c (the DAG),
 * chunk.c (splitting the input) and template.c ({{var}} scanning and
 * substitution). Unit tests include it to reach the chunker directly.
 */
#ifndef SW_PLAN_INT_H
#define SW_PLAN_INT_H

#include <jansson.h>
#include <stdbool.h>

#include "../core/core_int.h"
#include "swarm/plan.h"

// --- limits (docs/task-file.md lists them) ---
#define SW_PLAN_MAX_CHUNKS 10000
#define SW_PLAN_MAX_STEPS 1024
#define SW_PLAN_MAX_K 1024
#define SW_PLAN_MAX_LEVELS 16
#define SW_PLAN_MAX_REDUNDANCY 64
#define SW_PLAN_MAX_LABELS 256
#define SW_PLAN_MAX_NAME 64
#define SW_PLAN_MAX_FILE (64u << 20)    /* task file or input file bytes */
#define SW_PLAN_MAX_PROMPTS (256u << 20) /* all map prompts together (overlap multiplies) */

// --- chunking ---
typedef enum { SW_CHUNK_TOKENS, SW_CHUNK_SENTENCES, SW_CHUNK_PARAGRAPHS, SW_CHUNK_BY_COUNT } sw_chunk_by;

typedef struct sw_span {
    size_t start, end; /* byte offsets into the input: text[start..end) */
} sw_span;

/*
 * Splits text into units (whitespace words, sentences or paragraphs), then
 * groups `size` units per chunk, consecutive chunks sharing `overlap` units
 * (overlap < size). Each chunk is the input from its first unit's start to
 * its last unit's end, so original spacing survives. *out_n == 0 for input
 * with no units (empty or blank). *out sw_malloc'd (NULL when none).
 * SWARM_EINVAL when there would be more than max_chunks chunks.
 */
swarm_err sw_plan_chunk(const char *text, size_t len, sw_chunk_by by, size_t size, size_t overlap,
                        size_t max_chunks, sw_span **out, size_t *out_n, swarm_diag *d);
/* The units alone (for tests and docs): words, sentences or paragraphs. */
swarm_err sw_plan_units(const char *text, size_t len, sw_chunk_by by, sw_span **out,
                        size_t *out_n);

// --- templates ---
/* Calls fn for every {{name}} in tpl (name trimmed of spaces). Returns
 * SWARM_EINVAL with d->msg for an unterminated or empty "{{", or whatever fn
 * returns when it is not SWARM_OK. */
typedef swarm_err (*sw_tpl_var_fn)(void *ctx, const char *name, size_t len, swarm_diag *d);
swarm_err sw_tpl_scan(const char *tpl, sw_tpl_var_fn fn, void *ctx, swarm_diag *d);
/* Substitutes every {{name}} with lookup(ctx, name) in one pass (inserted text
 * is not re-scanned). lookup returns NULL to fail with SWARM_EINVAL, and may
 * be called twice per variable (sizing, then copying). A result longer than
 * max_len bytes is SWARM_EINVAL, refused before it is allocated. */
typedef const char *(*sw_tpl_lookup_fn)(void *ctx, const char *name, size_t len);
swarm_err sw_tpl_render(const char *tpl, sw_tpl_lookup_fn lookup, void *ctx, size_t max_len,
                        char **out, swarm_diag *d);

/* Approximate token count: whitespace-separated words (docs/task-file.md). */
int64_t sw_plan_count_words(const char *s);

// --- the parsed task ---
typedef struct sw_step {
    const char *name;
    const char *prompt;
    const char *skill;         /* NULL = the task's */
    swarm_subtask_kind kind;
    const char **labels;
    size_t n_labels;
    int32_t max_tokens;        /* 0 = the task's */
    int32_t *deps;             /* indices into steps[] */
    size_t n_deps;
} sw_step;

struct swarm_task {
    json_t *root;              /* owns every borrowed string below */
    char *input_owned;         /* input read from {"file": ...} */
    const char *name, *input, *skill, *prompt;
    size_t input_len;
    swarm_subtask_kind kind;
    const char **labels;
    size_t n_labels;
    swarm_decomp decomp;
    int32_t k;                 /* ensemble */
    sw_chunk_by chunk_by;      /* map-reduce */
    int32_t chunk_size, chunk_overlap;
    const char *map_prompt, *reduce_prompt; /* reduce_prompt NULL = no reduce subtask */
    sw_step *steps;            /* pipeline, declaration order */
    size_t n_steps;
    int32_t levels;            /* cascade */
    int32_t reduce_fanin;      /* map-reduce: results per reduce (0 = all in one) */
    double threshold;
    swarm_agg_spec agg;
    double p_min, w_energy, w_time;
    int32_t redundancy;
    int32_t max_tokens;
    double deadline_ms;
    int32_t max_retries;
    const char **nodes;        /* allow-list of node names (NULL: every node) */
    swarm_p_min_policy p_min_policy;
    swarm_task_sampling sampling;
    size_t n_nodes;
};

#endif /* SW_PLAN_INT_H */
