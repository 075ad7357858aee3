/*
 * cmd_bench_train.c: `swarm bench-train`: flag parsing for the trainer
 * benchmark (bench/bench_train.c). Bad flags exit 2.
 */
#include <stdio.h>
#include <string.h>

#include "../bench/bench_train.h"
#include "cli.h"

int cmd_bench_train(int argc, char **argv)
{
    sw_bench_train_opts o = {.shapes = "1m,10m", .threads = {1, 2}, .n_threads = 2, .steps = 3};
    for (int a = 1; a < argc; a++) {
        const char *s = argv[a];
        bool has = a + 1 < argc;
        long v;
        if (cli_is_help(s)) {
            printf("usage: swarm bench-train [--shapes 1m,10m] [--threads 1,2] [--steps N] [--json]\n\n"
                   "Times optimizer steps of the trainer on a ~1M (dim 128, 4 layers, vocab 1024,\n"
                   "8 x 128 tokens per step) and a ~10M (dim 320, 8 layers, vocab 4096, 4 x 256)\n"
                   "parameter model at each thread count; prints tokens/s and the model FLOP\n"
                   "utilisation against the AVX2 FMA peak measured in the same run.\n");
            return CLI_EXIT_OK;
        } else if (strcmp(s, "--shapes") == 0 && has) {
            o.shapes = argv[++a];
            if (strcmp(o.shapes, "1m") && strcmp(o.shapes, "10m") && strcmp(o.shapes, "1m,10m") &&
                strcmp(o.shapes, "10m,1m"))
                return cli_usage_error(argv[0], "--shapes: 1m, 10m or 1m,10m");
        } else if (strcmp(s, "--steps") == 0 && has) {
            if (!cli_parse_int(argv[++a], 1, 10000, &v)) return cli_usage_error(argv[0], "bad --steps");
            o.steps = (int)v;
        } else if (strcmp(s, "--threads") == 0 && has) {
            char buf[64];
            snprintf(buf, sizeof(buf), "%s", argv[++a]);
            o.n_threads = 0;
            for (char *tk = strtok(buf, ","); tk; tk = strtok(NULL, ",")) {
                if (o.n_threads == SW_BENCH_TRAIN_MAX_THREADS || !cli_parse_int(tk, 1, 64, &v))
                    return cli_usage_error(argv[0], "bad --threads '%s'", argv[a]);
                o.threads[o.n_threads++] = (int)v;
            }
            if (o.n_threads == 0) return cli_usage_error(argv[0], "bad --threads");
        } else if (strcmp(s, "--json") == 0) {
            o.json = true;
        } else {
            return cli_usage_error(argv[0], "unknown or incomplete option '%s'", s);
        }
    }
    return sw_bench_train_run(&o, stdout) ? CLI_EXIT_FAIL : CLI_EXIT_OK;
}
