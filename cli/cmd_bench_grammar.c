/*
 * cmd_bench_grammar.c: `swarm bench-grammar`: flag parsing for the
 * constrained-decoding benchmark (the work is in bench/bench_grammar.c).
 */
#include <stdio.h>
#include <string.h>

#include "../bench/bench_grammar.h"
#include "../bench/bench_model.h"
#include "cli.h"
#include "swarm/grammar.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: swarm bench-grammar [--shape %s] [--type F32|Q8_0|Q4_0|Q4_K]\n"
            "                           [--threads K] [--tokens G] [--rounds R] [--seed S]\n"
            "                           [--grammar FILE | --json-schema FILE] [--json]\n"
            "\n"
            "Writes a synthetic model (default smollm2-135m, 49152 tokens, Q8_0) with a\n"
            "text-like byte-level vocabulary, then alternates R rounds (default 6) of G\n"
            "generated tokens (default 64) unconstrained and constrained by a JSON Schema\n"
            "(default: a built-in list of records) at temperature 1, and prints the\n"
            "milliseconds per token of each and the overhead of the constraint.\n",
            sw_bench_shape_names());
}

int cmd_bench_grammar(int argc, char **argv)
{
    const char *cmd = argv[0];
    sw_bench_grammar_opts o = sw_bench_grammar_opts_default();
    const char *file = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (cli_is_help(a)) {
            usage(stdout);
            return CLI_EXIT_OK;
        }
        if (strcmp(a, "--json") == 0) {
            o.json = true;
            continue;
        }
        if (i + 1 >= argc) return cli_usage_error(cmd, "unknown option or missing value '%s'", a);
        const char *v = argv[++i];
        long n;
        bool ok = true;
        if (strcmp(a, "--shape") == 0) {
            ok = sw_bench_shape_known(v);
            o.shape = v;
        } else if (strcmp(a, "--type") == 0) {
            ok = sw_bench_model_type(v, &o.type);
        } else if (strcmp(a, "--threads") == 0) {
            ok = cli_parse_int(v, 1, 64, &n);
            o.threads = (int)n;
        } else if (strcmp(a, "--tokens") == 0) {
            ok = cli_parse_int(v, 1, 1500, &n);
            o.tokens = (int32_t)n;
        } else if (strcmp(a, "--rounds") == 0) {
            ok = cli_parse_int(v, 1, 100, &n);
            o.rounds = (int)n;
        } else if (strcmp(a, "--seed") == 0) {
            ok = cli_parse_u64(v, &o.seed);
        } else if (strcmp(a, "--grammar") == 0 || strcmp(a, "--json-schema") == 0) {
            file = v;
            o.grammar_is_schema = strcmp(a, "--json-schema") == 0;
        } else {
            return cli_usage_error(cmd, "unknown option '%s'", a);
        }
        if (!ok) return cli_usage_error(cmd, "bad value '%s' for %s", v, a);
    }
    char *text = NULL;
    size_t len = 0;
    swarm_diag d = {{0}};
    if (file != NULL) {
        swarm_err rc = swarm_file_read(file, SWARM_GRAMMAR_MAX_TEXT, &text, &len, &d);
        if (rc != SWARM_OK) return cli_fail(cli_exit_for_input_error(rc), "%s: %s", cmd, d.msg);
        o.grammar_text = text;
    }
    swarm_err rc = sw_bench_grammar_run(&o, stdout, &d);
    swarm_free(text);
    if (rc != SWARM_OK)
        return cli_fail(cli_exit_for_input_error(rc), "%s: %s", cmd,
                        d.msg[0] ? d.msg : swarm_strerror(rc));
    return CLI_EXIT_OK;
}
