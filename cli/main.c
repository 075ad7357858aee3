/*
 * main.c: the `swarm` command: dispatches to one subcommand per file
 * (cmd_*.c). Argument errors exit with 2 and a message the user can act on.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "swarm/swarm.h"

static const struct {
    const char *name;
    cli_cmd_fn fn;
    const char *summary;
} commands[] = {
    {"generate", cmd_generate, "generate text with a local model"},
    {"models", cmd_models, "inspect or convert model files (models inspect|convert)"},
    {"bench-model", cmd_bench_model, "benchmark the engine on synthetic SLM-shaped models"},
    {"run", cmd_run, "run a task on a swarm (decompose, assign, execute, aggregate)"},
    {"serve", cmd_serve, "serve a swarm over HTTP (OpenAI-compatible API)"},
    {"assign", cmd_assign, "solve a bi-criteria assignment problem"},
    {"aggregate", cmd_aggregate, "aggregate node results (weighted average, votes, ...)"},
    {"calibrate", cmd_calibrate, "measure node accuracy on a labelled set"},
    {"bench-assign", cmd_bench_assign, "benchmark the assignment solvers (gap, time)"},
    {"bench-runtime", cmd_bench_runtime, "benchmark the embedded runtime (subtasks/s)"},
    {"bench-grammar", cmd_bench_grammar, "benchmark constrained against unconstrained decoding"},
    {"train", cmd_train, "train a small language model or classifier specialists"},
    {"bench-train", cmd_bench_train, "benchmark the trainer (tokens/s, MFU)"},
    {"eval", cmd_eval, "evaluate a swarm of classifiers on a labelled TSV"},
};

static void print_help(FILE *f)
{
    fprintf(f, "swarm %s: a resilient swarm of small language models\n\n", SWARM_VERSION_STRING);
    fprintf(f, "usage: swarm COMMAND [options]   (swarm COMMAND --help for details)\n\ncommands:\n");
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        fprintf(f, "  %-12s %s\n", commands[i].name, commands[i].summary);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        print_help(stderr);
        return CLI_EXIT_USAGE;
    }
    if (cli_is_help(argv[1]) || strcmp(argv[1], "help") == 0) {
        print_help(stdout);
        return CLI_EXIT_OK;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("swarm %s\n", SWARM_VERSION_STRING);
        return CLI_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (strcmp(argv[1], commands[i].name) == 0) return commands[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "swarm: unknown command '%s' (see swarm --help)\n", argv[1]);
    return CLI_EXIT_USAGE;
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "swarm %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, " (see swarm %s --help)\n", cmd);
    va_end(ap);
    return CLI_EXIT_USAGE;
}

int cli_fail(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "swarm: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    return code;
}

int cli_exit_for_input_error(swarm_err rc)
{
    return rc == SWARM_EINVAL || rc == SWARM_EFORMAT || rc == SWARM_ENOTFOUND ||
                   rc == SWARM_EUNSUPPORTED
               ? CLI_EXIT_USAGE
               : CLI_EXIT_FAIL;
}

bool cli_is_help(const char *arg)
{
    return strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0;
}

bool cli_parse_int(const char *s, long min, long max, long *out)
{
    if (s == NULL || *s == '\0') return false;
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < min || v > max) return false;
    *out = v;
    return true;
}

bool cli_parse_u64(const char *s, uint64_t *out)
{
    if (s == NULL || *s == '\0' || *s == '-') return false;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0') return false;
    *out = (uint64_t)v;
    return true;
}

bool cli_parse_double(const char *s, double min, double max, double *out)
{
    if (s == NULL || *s == '\0') return false;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno != 0 || *end != '\0' || !isfinite(v) || v < min || v > max) return false;
    *out = v;
    return true;
}
