/*
 * cli.h: shared pieces of the command-line tool: the subcommand signature,
 * strict number parsing, and usage errors. Only cli/ may exit().
 */
#ifndef SWARM_CLI_H
#define SWARM_CLI_H

#include <stdbool.h>
#include <stdint.h>

#include "swarm/swarm.h"

/* Exit codes: 0 success, 1 runtime failure, 2 usage or input error. */
enum { CLI_EXIT_OK = 0, CLI_EXIT_FAIL = 1, CLI_EXIT_USAGE = 2 };

/* Every subcommand: argv[0] is the subcommand name. Returns the exit code. */
typedef int (*cli_cmd_fn)(int argc, char **argv);

int cmd_generate(int argc, char **argv);
int cmd_models(int argc, char **argv);
int cmd_bench_model(int argc, char **argv);
int cmd_assign(int argc, char **argv);
int cmd_aggregate(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_calibrate(int argc, char **argv);
int cmd_bench_assign(int argc, char **argv);
int cmd_bench_runtime(int argc, char **argv);
int cmd_bench_grammar(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_bench_train(int argc, char **argv);
int cmd_serve(int argc, char **argv);

/* Prints "swarm CMD: <message>" and a hint to stderr; returns CLI_EXIT_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints "swarm: <message>" to stderr; returns code. */
int cli_fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The exit code for a library error met while loading user input: the
 * errors the user can fix in a file or a flag (EINVAL, EFORMAT, ENOTFOUND,
 * EUNSUPPORTED) are CLI_EXIT_USAGE, anything else CLI_EXIT_FAIL. */
int cli_exit_for_input_error(swarm_err rc);

/* Strict parsers: the whole string must be a number in range. */
bool cli_parse_int(const char *s, long min, long max, long *out);
bool cli_parse_u64(const char *s, uint64_t *out);
bool cli_parse_double(const char *s, double min, double max, double *out);
/* True when argv[i] is -h or --help. */
bool cli_is_help(const char *arg);

#endif
