/*
 * cmd_aggregate.c: `swarm aggregate [--json] FILE|-`: reads a spec and
 * results (docs/aggregation.md), aggregates them and prints R (plus the
 * decision and winner), or one JSON object with --json.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "swarm/aggregate.h"

/* Inputs are a few results; a bigger file is a mistake (or /dev/zero). */
#define MAX_INPUT (64u << 20)

static void usage(FILE *f)
{
    fprintf(f,
            "usage: swarm aggregate [--json] FILE|-\n"
            "  Aggregates model results as the JSON in FILE (- = stdin) asks:\n"
            "  {\"method\": \"weighted-average\"|\"max-weight\"|\"vote\"|\"weighted-vote\"|\n"
            "              \"hybrid\"|\"consensus\"|\"hierarchical\"|\"judge\",\n"
            "   \"decide\": \"sign\"|{\"threshold\": t}, \"weighting\": \"product\"|\"p\"|\"r\"|\n"
            "   {\"p\": a, \"r\": b}, \"top_k\": k,\n"
            "   \"results\": [{\"node\": name, \"value\": number|text, \"weight\": w | \"p\": P, "
            "\"r\": R,\n"
            "                \"group\": g, \"hlc\": t, \"score\": s}, ...]}\n"
            "  Prints R on the first line, then \"decision: D\" and \"winner: NODE\" when set.\n"
            "  --json  one object: value, decision, winner, support, weights [{node, weight}]\n"
            "  Exit: 0 ok, 2 bad input (message on stderr). See docs/aggregation.md.\n");
}

int cmd_aggregate(int argc, char **argv)
{
    bool json = false;
    const char *path = NULL;
    for (int i = 1; i < argc; i++) {
        if (cli_is_help(argv[i])) {
            usage(stdout);
            return CLI_EXIT_OK;
        }
        if (strcmp(argv[i], "--json") == 0) {
            json = true;
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            return cli_usage_error(argv[0], "unknown option '%s'", argv[i]);
        } else if (path != NULL) {
            return cli_usage_error(argv[0], "only one input file, got '%s' and '%s'", path,
                                   argv[i]);
        } else {
            path = argv[i];
        }
    }
    if (path == NULL) return cli_usage_error(argv[0], "missing input FILE (or - for stdin)");

    const char *name = strcmp(path, "-") == 0 ? "<stdin>" : path;
    swarm_diag d = {{0}};
    char *text = NULL;
    size_t len = 0;
    swarm_err rc = swarm_file_read(path, MAX_INPUT, &text, &len, &d);
    if (rc != SWARM_OK) return cli_fail(CLI_EXIT_USAGE, "aggregate: %s", d.msg);

    swarm_agg_input *in = NULL;
    rc = swarm_agg_input_parse(text, len, &in, &d);
    swarm_free(text);
    if (rc != SWARM_OK) return cli_fail(CLI_EXIT_USAGE, "aggregate: %s: %s", name, d.msg);

    size_t n = 0;
    const swarm_agg_item *items = swarm_agg_input_items(in, &n);
    swarm_agg_result *res = NULL;
    rc = swarm_aggregate(swarm_agg_input_spec(in), items, n, &res, &d);
    if (rc != SWARM_OK) {
        int code = rc == SWARM_ENOMEM ? CLI_EXIT_FAIL : CLI_EXIT_USAGE;
        swarm_agg_input_destroy(in);
        return cli_fail(code, "aggregate: %s: %s", name,
                        d.msg[0] ? d.msg : swarm_strerror(rc));
    }

    int code = CLI_EXIT_OK;
    if (json) {
        char *s = NULL;
        if (swarm_agg_result_json(res, items, &s) != SWARM_OK) {
            code = cli_fail(CLI_EXIT_FAIL, "aggregate: out of memory");
        } else {
            printf("%s\n", s);
            swarm_free(s);
        }
    } else {
        char buf[40];
        if (res->is_text)
            printf("%s\n", res->text);
        else
            printf("%s\n", swarm_agg_format_number(res->value, buf, sizeof(buf)));
        if (res->decision) printf("decision: %s\n", res->decision);
        if (res->winner) printf("winner: %s\n", res->winner);
    }
    swarm_agg_result_destroy(res);
    swarm_agg_input_destroy(in);
    if (fflush(stdout) != 0) code = cli_fail(CLI_EXIT_FAIL, "aggregate: cannot write output");
    return code;
}
