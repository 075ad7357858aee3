/*
 * cmd_bench_assign.c: `swarm bench-assign`: flag parsing for the assignment
 * benchmark (the work is in bench/bench_assign.c). Bad flags exit 2.
 */
#include <stdio.h>
#include <string.h>

#include "../bench/bench_assign.h"
#include "cli.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: swarm bench-assign [--quick] [--json] [--timing-only] [--time-limit S] [--seeds N]\n"
            "                          [--seed S]\n\n"
            "Random loose and tight instance families: the fast method's gap to the proven\n"
            "optimum (exact MIP, small and medium sizes), to the LP-relaxation bound at 200 x 1000,\n"
            "and its time at 1000 SLMs x 10,000 subtasks (one thread).\n"
            "  --quick          small sizes and short limits only (a few seconds)\n"
            "  --timing-only    only the fast method's time at the large size (median of 5)\n"
            "  --time-limit S   exact solver limit per instance (default 10)\n"
            "  --seeds N        instances per size and family (default 3)\n");
}

int cmd_bench_assign(int argc, char **argv)
{
    const char *cmd = argv[0];
    sw_bench_assign_opts o = sw_bench_assign_opts_default();
    for (int a = 1; a < argc; a++) {
        const char *s = argv[a];
        long v;
        if (cli_is_help(s)) {
            usage(stdout);
            return CLI_EXIT_OK;
        } else if (strcmp(s, "--quick") == 0) {
            o.quick = true;
        } else if (strcmp(s, "--json") == 0) {
            o.json = true;
        } else if (strcmp(s, "--timing-only") == 0) {
            o.timing_only = true;
        } else if (strcmp(s, "--time-limit") == 0) {
            if (++a >= argc || !cli_parse_double(argv[a], 0.01, 3600, &o.time_limit_s))
                return cli_usage_error(cmd, "--time-limit needs seconds in [0.01, 3600]");
        } else if (strcmp(s, "--seeds") == 0) {
            if (++a >= argc || !cli_parse_int(argv[a], 1, 100, &v))
                return cli_usage_error(cmd, "--seeds needs an integer in [1, 100]");
            o.seeds = (int)v;
        } else if (strcmp(s, "--seed") == 0) {
            if (++a >= argc || !cli_parse_u64(argv[a], &o.seed))
                return cli_usage_error(cmd, "--seed needs a non-negative integer");
        } else {
            return cli_usage_error(cmd, "unknown argument '%s'", s);
        }
    }
    return sw_bench_assign_run(&o, stdout);
}
