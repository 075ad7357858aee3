/*
 * cmd_bench_runtime.c: `swarm bench-runtime`: flag parsing for the runtime
 * benchmark (the work is in bench/bench_runtime.c). Bad flags exit 2.
 */
#include <stdio.h>
#include <string.h>

#include "../bench/bench_runtime.h"
#include "cli.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: swarm bench-runtime [--json] [--subtasks N] [--real N] [--detect N] [--tasks N]\n"
            "                           [--model PATH] [--tokenizer PATH]\n\n"
            "Subtasks per second through the embedded runtime (decompose, assign, dispatch,\n"
            "collect, aggregate) with the instant echo backend, and with the real tiny model.\n"
            "  --subtasks N   echo subtasks in total (default 100000)\n"
            "  --real N       real-model subtasks (default 64; 0 skips)\n"
            "  --detect N     kill -> reassignment latency trials (default 10; 0 skips)\n"
            "  --tasks N      tasks for tasks/s with 64 at once vs one at a time (default 2000;\n"
            "                 N/8 on 5 ms nodes; 0 skips)\n"
            "  --model PATH   real model (default $SWARM_SHARED_DIR or ../shared: models/stories260K.bin)\n");
}

int cmd_bench_runtime(int argc, char **argv)
{
    const char *cmd = argv[0];
    sw_bench_runtime_opts o = sw_bench_runtime_opts_default();
    for (int a = 1; a < argc; a++) {
        const char *s = argv[a];
        long v;
        if (cli_is_help(s)) {
            usage(stdout);
            return CLI_EXIT_OK;
        } else if (strcmp(s, "--json") == 0) {
            o.json = true;
        } else if (strcmp(s, "--subtasks") == 0 && a + 1 < argc) {
            if (!cli_parse_int(argv[++a], 1, 100000000, &v))
                return cli_usage_error(cmd, "--subtasks: want an integer in 1..100000000");
            o.subtasks = v;
        } else if (strcmp(s, "--real") == 0 && a + 1 < argc) {
            if (!cli_parse_int(argv[++a], 0, 100000, &v))
                return cli_usage_error(cmd, "--real: want an integer in 0..100000");
            o.real_subtasks = v;
        } else if (strcmp(s, "--detect") == 0 && a + 1 < argc) {
            if (!cli_parse_int(argv[++a], 0, 1000, &v))
                return cli_usage_error(cmd, "--detect: want an integer in 0..1000");
            o.detect_trials = (int)v;
        } else if (strcmp(s, "--tasks") == 0 && a + 1 < argc) {
            if (!cli_parse_int(argv[++a], 0, 1000000, &v))
                return cli_usage_error(cmd, "--tasks: want an integer in 0..1000000");
            o.concurrent_tasks = (int)v;
        } else if (strcmp(s, "--model") == 0 && a + 1 < argc) {
            o.model = argv[++a];
        } else if (strcmp(s, "--tokenizer") == 0 && a + 1 < argc) {
            o.tokenizer = argv[++a];
        } else {
            return cli_usage_error(cmd, "unknown or incomplete option '%s'", s);
        }
    }
    return sw_bench_runtime_run(&o, stdout) == 0 ? CLI_EXIT_OK : CLI_EXIT_FAIL;
}
