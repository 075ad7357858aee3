/*
 * bench_runtime.h: `swarm bench-runtime`: subtasks per second through the
 * embedded runtime (decompose, assign, dispatch, collect, aggregate) with
 * the instant echo backend, the overhead per subtask, and the same count
 * with the real tiny model. The CLI front end is cli/cmd_bench_runtime.c.
 */
#ifndef SW_BENCH_RUNTIME_H
#define SW_BENCH_RUNTIME_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

typedef struct sw_bench_runtime_opts {
    bool json;
    int64_t subtasks;      /* echo subtasks in total (default 100000) */
    int64_t real_subtasks; /* real-model subtasks (default 64; 0 = skip) */
    const char *model;     /* real model (default ../shared/models/stories260K.bin) */
    const char *tokenizer; /* its tokenizer (default tok512.bin beside it) */
    int detect_trials;     /* kill -> reassignment latency trials (default 10; 0 = skip) */
    int concurrent_tasks;  /* tasks for the 64-at-once vs one-at-a-time figure (2000; 0 = skip) */
} sw_bench_runtime_opts;

sw_bench_runtime_opts sw_bench_runtime_opts_default(void);
/* Runs the benchmark and prints a table or JSON to out. 0 ok, 1 failure. */
int sw_bench_runtime_run(const sw_bench_runtime_opts *o, FILE *out);

#endif
