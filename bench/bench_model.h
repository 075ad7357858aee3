/*
 * bench_model.h: `swarm bench-model`: synthetic GGUF models with random
 * weights in real small-LM shapes, timed prompt processing and generation,
 * and the memory-bandwidth limit they are compared with. The CLI front end
 * (cli/cmd_bench_model.c) parses flags into sw_bench_model_opts.
 */
#ifndef SW_BENCH_MODEL_H
#define SW_BENCH_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "swarm/swarm.h"

#define SW_BENCH_MAX_THREAD_COUNTS 8

typedef struct sw_bench_model_opts {
    const char *shape;      /* "stories15m", "smollm2-135m", "qwen2.5-0.5b" */
    uint32_t type;          /* enum sw_type of the matrices: F32, Q8_0, Q4_0, Q4_K */
    int threads[SW_BENCH_MAX_THREAD_COUNTS]; /* thread counts to run, in order */
    int n_thread_counts;
    int32_t prompt_tokens;  /* P: one batch */
    int32_t gen_tokens;     /* G: one token per forward pass, greedy */
    int reps;               /* timed repetitions per thread count (mean and sd reported) */
    size_t bw_bytes;        /* bandwidth buffer size */
    const char *keep;       /* write the model here and keep it; NULL = temp file, removed */
    uint64_t seed;          /* weights and token ids */
    bool json;
    bool profile;           /* per-step timing of one more generation run */
    int batch;              /* > 1: also K sequences decoding together (sw_fwd_eval_multi) */
} sw_bench_model_opts;

/* Defaults: threads 1 and 2, P 128, G 64, 3 reps, 1 GiB bandwidth buffer. */
sw_bench_model_opts sw_bench_model_opts_default(void);
/* True when name is a shape bench-model knows. */
bool sw_bench_shape_known(const char *name);
/* "stories15m|smollm2-135m|qwen2.5-0.5b", for usage messages. */
const char *sw_bench_shape_names(void);
/* The matrix type named name (F32, Q8_0, Q4_0, Q4_K, any case) into *out;
 * false for any other name. */
bool sw_bench_model_type(const char *name, uint32_t *out);

/* Writes a synthetic model (random weights, shape and matrix type as for
 * the benchmark) to path. text_vocab: text-like distinct pieces (words,
 * digits, JSON punctuation) instead of "tokN" fillers, for benchmarks where
 * the vocabulary's bytes matter (constrained decoding). n_ctx <= 0: the
 * shape's own. */
swarm_err sw_bench_model_write(const char *shape, uint32_t type, bool text_vocab, int32_t n_ctx,
                               const char *path, uint64_t seed, swarm_diag *d);

/* Runs the benchmark and prints the table (or one JSON object) to out.
 * Progress lines go to stderr. On failure d says what went wrong. */
swarm_err sw_bench_model_run(const sw_bench_model_opts *o, FILE *out, swarm_diag *d);

#endif
