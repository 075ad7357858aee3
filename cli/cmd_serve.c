/*
 * cmd_serve.c: `swarm serve --swarm SWARM.json`: the swarm as a long-running
 * OpenAI-compatible HTTP service (docs/api.md). Prints exactly one line
 * "swarm: listening on http://HOST:PORT" on stderr once it answers; SIGTERM
 * (or SIGINT) drains: no new connections, running requests finish, exit 0.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "swarm/runtime.h"
#include "swarm/serve.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: swarm serve --swarm SWARM.json [options]\n\n"
            "Serves the swarm over HTTP with an OpenAI-compatible API (docs/api.md):\n"
            "POST /v1/chat/completions, POST /v1/completions, GET /v1/models, GET /healthz.\n"
            "  --swarm FILE          the swarm file (docs/swarm-file.md)\n"
            "  --listen HOST:PORT    address (default 127.0.0.1:8080; port 0 = any free port)\n"
            "  --routes FILE         routes file: model names -> task templates\n"
            "  --api-key-file FILE   Bearer API keys, one per line; every route but /healthz\n"
            "                        then needs one\n"
            "  --insecure            allow a non-loopback --listen without API keys\n"
            "  --echo                replace every backend by the instant echo stub\n"
            "  --queue-cap N         tasks in flight before 429 (default 64)\n"
            "  --max-body BYTES      request body limit (default 1048576)\n"
            "  --conn-limit N        concurrent connections (default 256)\n"
            "  --conn-timeout S      idle or slow connection limit in seconds (default 30)\n"
            "  --deadline-ms MS      per request task deadline (default 300000, 0 = none)\n"
            "  --drain-timeout S     on SIGTERM, wait this long for running requests (30)\n"
            "  --seed S              runtime seed (default from the clock)\n"
            "  --log                 one line per request on stderr (no keys, no bodies)\n");
}

int cmd_serve(int argc, char **argv)
{
    const char *cmd = "serve";
    const char *swarm_path = NULL;
    swarm_serve_opts so = swarm_serve_opts_default();
    swarm_runtime_params p = swarm_runtime_params_default();
    double drain_s = 30;
    for (int a = 1; a < argc; a++) {
        const char *s = argv[a];
        bool has = a + 1 < argc;
        long l = 0;
        double x = 0;
        if (cli_is_help(s)) {
            usage(stdout);
            return CLI_EXIT_OK;
        } else if (strcmp(s, "--swarm") == 0 && has) {
            swarm_path = argv[++a];
        } else if (strcmp(s, "--listen") == 0 && has) {
            so.listen = argv[++a];
        } else if (strcmp(s, "--routes") == 0 && has) {
            so.routes_path = argv[++a];
        } else if (strcmp(s, "--api-key-file") == 0 && has) {
            so.api_key_file = argv[++a];
        } else if (strcmp(s, "--insecure") == 0) {
            so.insecure = true;
        } else if (strcmp(s, "--echo") == 0) {
            p.force_echo = true;
        } else if (strcmp(s, "--log") == 0) {
            so.log_requests = true;
        } else if (strcmp(s, "--queue-cap") == 0 && has) {
            if (!cli_parse_int(argv[++a], 1, 1000000, &l))
                return cli_usage_error(cmd, "--queue-cap: want an integer in [1, 1000000]");
            p.queue_cap = (size_t)l;
        } else if (strcmp(s, "--max-body") == 0 && has) {
            if (!cli_parse_int(argv[++a], 1024, 1L << 30, &l))
                return cli_usage_error(cmd, "--max-body: want bytes in [1024, 2^30]");
            so.max_body = (size_t)l;
        } else if (strcmp(s, "--conn-limit") == 0 && has) {
            if (!cli_parse_int(argv[++a], 1, 65536, &l))
                return cli_usage_error(cmd, "--conn-limit: want an integer in [1, 65536]");
            so.conn_limit = (unsigned)l;
        } else if (strcmp(s, "--conn-timeout") == 0 && has) {
            if (!cli_parse_int(argv[++a], 1, 86400, &l))
                return cli_usage_error(cmd, "--conn-timeout: want seconds in [1, 86400]");
            so.conn_timeout_s = (unsigned)l;
        } else if (strcmp(s, "--deadline-ms") == 0 && has) {
            if (!cli_parse_double(argv[++a], 0, 86400000, &x))
                return cli_usage_error(cmd, "--deadline-ms: want a number in [0, 86400000]");
            so.deadline_ms = x;
        } else if (strcmp(s, "--drain-timeout") == 0 && has) {
            if (!cli_parse_double(argv[++a], 0, 86400, &drain_s))
                return cli_usage_error(cmd, "--drain-timeout: want seconds in [0, 86400]");
        } else if (strcmp(s, "--seed") == 0 && has) {
            if (!cli_parse_u64(argv[++a], &p.seed) || p.seed == 0)
                return cli_usage_error(cmd, "--seed: want a positive integer");
        } else if (s[0] == '-') {
            return cli_usage_error(cmd, "unknown or incomplete option '%s'", s);
        } else {
            return cli_usage_error(cmd, "unexpected argument '%s'", s);
        }
    }
    if (swarm_path == NULL) return cli_usage_error(cmd, "missing --swarm SWARM.json");

    /* Every thread started from here on inherits this mask: the signals
     * are taken by sigwait below, never delivered to a worker. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN); /* a client that leaves must not kill the server */

    swarm_diag d = {{0}};
    swarm_swarm *sw = NULL;
    swarm_runtime *rt = NULL;
    swarm_server *srv = NULL;
    int code = CLI_EXIT_OK;
    swarm_err rc = swarm_swarm_load(swarm_path, &sw, &d);
    if (rc) {
        code = cli_fail(CLI_EXIT_USAGE, "%s", d.msg);
        goto out;
    }
    /* options and routes are checked before any model is loaded */
    rc = swarm_server_create(NULL, sw, &so, &srv, &d);
    if (rc) {
        code = cli_fail(cli_exit_for_input_error(rc), "%s", d.msg);
        goto out;
    }
    swarm_server_destroy(srv);
    srv = NULL;
    rc = swarm_runtime_create(sw, &p, &rt, &d);
    if (rc) {
        code = cli_fail(cli_exit_for_input_error(rc), "%s", d.msg);
        goto out;
    }
    rc = swarm_server_create(rt, sw, &so, &srv, &d);
    if (rc == SWARM_OK) rc = swarm_server_start(srv, &d);
    if (rc) {
        code = cli_fail(rc == SWARM_ESYS ? CLI_EXIT_FAIL : cli_exit_for_input_error(rc), "%s: %s",
                        so.listen, d.msg);
        goto out;
    }
    fprintf(stderr, "swarm: listening on %s\n", swarm_server_url(srv));
    fflush(stderr);
    int sig = 0;
    sigwait(&sigs, &sig);
    size_t left = swarm_server_drain(srv, drain_s * 1000);
    if (left > 0) {
        fprintf(stderr, "swarm serve: %zu request(s) still running after %.0f s were canceled\n",
                left, drain_s);
        code = CLI_EXIT_FAIL;
    }
out:
    swarm_server_destroy(srv);
    swarm_runtime_destroy(rt);
    swarm_swarm_destroy(sw);
    return code;
}
