/*
 * bench_grammar.h: `swarm bench-grammar`: constrained against unconstrained
 * decoding on a synthetic SLM-shaped model with a text-like vocabulary,
 * side by side in one run. The CLI front end is cli/cmd_bench_grammar.c.
 */
#ifndef SW_BENCH_GRAMMAR_H
#define SW_BENCH_GRAMMAR_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "swarm/swarm.h"

typedef struct sw_bench_grammar_opts {
    const char *shape;       /* bench-model shape, default "smollm2-135m" (49152 tokens) */
    uint32_t type;           /* matrix type, default Q8_0 */
    int threads;             /* default 2 */
    int32_t tokens;          /* generated tokens per mode and round, default 64 */
    int rounds;              /* alternating rounds, default 6 */
    const char *grammar_text; /* NULL: the built-in JSON schema */
    bool grammar_is_schema;
    uint64_t seed;
    bool json;
} sw_bench_grammar_opts;

sw_bench_grammar_opts sw_bench_grammar_opts_default(void);
swarm_err sw_bench_grammar_run(const sw_bench_grammar_opts *o, FILE *out, swarm_diag *d);

#endif
