/* cmd_bench_assign.c: placeholder until its issue lands; it says so and exits 2. */
#include "cli.h"

int cmd_bench_assign(int argc, char **argv)
{
    (void)argc;
    return cli_fail(CLI_EXIT_USAGE, "%s: not implemented yet", argv[0]);
}
