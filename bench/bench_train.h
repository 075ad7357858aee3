/*
 * bench_train.h: `swarm bench-train`: training throughput (tokens/s) of the
 * trainer on ~1M and ~10M parameter llama shapes at given thread counts,
 * and model FLOP utilisation against the peak FMA rate measured in the
 * same run with the same threads.
 */
#ifndef SW_BENCH_TRAIN_H
#define SW_BENCH_TRAIN_H

#include <stdbool.h>
#include <stdio.h>

#define SW_BENCH_TRAIN_MAX_THREADS 8

typedef struct sw_bench_train_opts {
    const char *shapes; /* "1m,10m" */
    int threads[SW_BENCH_TRAIN_MAX_THREADS];
    int n_threads;
    int steps; /* timed steps per configuration (after one warm-up step) */
    bool json;
} sw_bench_train_opts;

int sw_bench_train_run(const sw_bench_train_opts *o, FILE *out);

#endif
