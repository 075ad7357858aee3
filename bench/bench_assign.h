/*
 * bench_assign.h: `swarm bench-assign`: random loose and tight assignment
 * instances; the fast method's gap to the proven optimum (exact MIP) or to
 * the LP-relaxation bound, and its time at 1000 SLMs x 10,000 subtasks.
 * The CLI front end (cli/cmd_bench_assign.c) parses flags.
 */
#ifndef SW_BENCH_ASSIGN_H
#define SW_BENCH_ASSIGN_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

typedef struct sw_bench_assign_opts {
    bool quick;           /* small sizes only, short limits (seconds, for CI) */
    bool json;            /* one JSON object instead of the table */
    bool timing_only;     /* only the large fast-method timing (no exact or LP references) */
    double time_limit_s;  /* exact solver limit per instance */
    int seeds;            /* instances per size and family */
    uint64_t seed;        /* first seed */
} sw_bench_assign_opts;

sw_bench_assign_opts sw_bench_assign_opts_default(void);
/* Runs the benchmark, prints to out. Returns 0, or 1 when a solver failed. */
int sw_bench_assign_run(const sw_bench_assign_opts *o, FILE *out);

#endif
