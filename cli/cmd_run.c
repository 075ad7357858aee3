/*
 * cmd_run.c: `swarm run TASK.json --swarm SWARM.json`: decompose, assign,
 * execute, aggregate on the embedded runtime; prints the result and the
 * per-subtask trace (a table, or JSON with --json) and a progress bar on a
 * terminal. Bad input exits 2, a task that fails visibly exits 1.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "swarm/runtime.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: swarm run TASK.json --swarm SWARM.json [options]\n"
            "       swarm run --audit JOURNAL\n\n"
            "Decomposes the task, assigns subtasks to the swarm's nodes, runs them with\n"
            "failure detection and recovery, aggregates, and prints the result and trace.\n"
            "  --swarm FILE        the swarm file (docs/swarm-file.md)\n"
            "  --chaos SPEC        fault injection, e.g. kill=node2@150ms,p_kill=0.1,slow=node3x4,\n"
            "                      corrupt=node1,pause=node1@1s+500ms,stuck=node4@0ms\n"
            "  --seed S            seed for faults and sampling (printed; default from the clock)\n"
            "  --json              one JSON object with the result, subtasks, trace and stats\n"
            "  --journal FILE      record task and subtask transitions in a SQLite journal\n"
            "  --resume            with --journal: continue an interrupted run of the same\n"
            "                      task; subtasks the journal holds as done are not rerun\n"
            "  --audit FILE        check a journal's history (no task is run)\n"
            "  --dispatch POLICY   assign (default), round-robin, least-conn or priority\n"
            "  --assign METHOD     fast (default), exact or auto (per-wave solver)\n"
            "  --detector KIND     phi (default) or timeout\n"
            "  --transport KIND    inproc (worker threads, default) or process (a child\n"
            "                      process per node), or a transport URL: inproc:, proc:\n"
            "  --no-hedge          no hedged duplicates\n"
            "  --no-early-stop     votes wait for every member\n"
            "  --distinct-zones    the r copies of a subtask go to distinct zones\n"
            "  --comm-weight W     communication cost: W seconds per (distance x KiB) of\n"
            "                      dependency output moved between node coordinates (0)\n"
            "  --model PATH        use this model file on every local node (also $SWARM_MODEL)\n"
            "  --tokenizer PATH    its tokenizer (llama2.c .bin models)\n"
            "  --echo              replace every backend by the instant echo stub\n");
}

typedef struct progress {
    bool on;
    size_t shown;
} progress;

static void on_progress(void *ud, const swarm_task_event *ev)
{
    progress *p = ud;
    size_t done = ev->done, total = ev->total;
    if (!p->on || total == 0 || ev->type != SWARM_TASK_EVENT_PROGRESS) return;
    int w = 30, f = (int)((double)done / (double)total * w);
    fprintf(stderr, "\r[%.*s%*s] %zu/%zu subtasks", f, "##############################", w - f, "",
            done, total);
    if (done == total) fputc('\n', stderr);
    fflush(stderr);
    p->shown = done;
}

static void print_text(const swarm_run_result *r, const swarm_swarm *s)
{
    (void)s;
    printf("task %s (%s): %zu subtasks, seed %llu\n", r->task_name, r->decomp, r->n_subtasks,
           (unsigned long long)r->seed);
    if (r->status == SWARM_OK) {
        if (r->is_text) printf("result: %s\n", r->text ? r->text : "");
        else printf("result: %.12g\n", r->value);
        if (r->decision) printf("decision: %s\n", r->decision);
        if (r->winner) printf("winner: %s\n", r->winner);
    } else {
        printf("result: FAILED: %s\n", r->error);
    }
    /* columns as wide as the longest name (capped): a name cut short can
     * make two nodes look alike and hide a reassignment */
    int ws = 7, wn = 4;
    for (size_t q = 0; q < r->n_trace; q++) {
        int ls = (int)strlen(r->trace[q].subtask_name ? r->trace[q].subtask_name : "");
        int ln = (int)strlen(r->trace[q].node_name ? r->trace[q].node_name : "");
        if (ls > ws) ws = ls < 32 ? ls : 32;
        if (ln > wn) wn = ln < 32 ? ln : 32;
    }
    printf("\n%-4s %-*s %-*s %5s %5s %9s %9s %6s %9s  %-14s %s\n", "#", ws, "subtask", wn, "node",
           "epoch", "retry", "start_ms", "end_ms", "tokens", "energy_J", "outcome", "note");
    for (size_t q = 0; q < r->n_trace; q++) {
        const swarm_trace_row *t = &r->trace[q];
        char end[32];
        if (t->end_ms >= 0) snprintf(end, sizeof(end), "%.1f", t->end_ms);
        else snprintf(end, sizeof(end), "-");
        printf("%-4zu %-*.*s %-*.*s %5u %5d %9.1f %9s %6lld %9.4f  %-14s %s%s\n", q, ws, ws,
               t->subtask_name, wn, wn, t->node_name, t->epoch, t->retry, t->start_ms, end,
               (long long)t->tokens, t->energy_j, swarm_outcome_name(t->outcome),
               t->hedge ? "hedge " : "", t->note ? t->note : "");
    }
    swarm_run_check c;
    swarm_run_check_trace(r, &c);
    printf("\nwall %.1f ms, energy %.4f J, tokens %lld; reassigned %d, retries %d, hedges %d, "
           "discarded-late %d, canceled %d, ejections %d, readmitted %d, convicted %d\n",
           r->wall_ms, r->energy_j, (long long)r->tokens, r->n_reassigned, r->n_retries,
           r->n_hedges, r->n_discarded, r->n_canceled, r->n_ejections, r->n_readmitted,
           r->n_convicted);
    if (r->p_min > 0)
        printf("P_min %g: committed results total C = %g (%s)\n", r->p_min, r->sum_c,
               r->sum_c + 1e-9 >= r->p_min ? "met" : "NOT met");
    printf("check: done-once %zu, duplicate-executed %zu, double-committed %zu, lost %zu, "
           "stuck %zu, failed %zu, canceled %zu\n",
           c.done_once, c.duplicate_executed, c.double_committed, c.lost, c.stuck, c.failed,
           c.canceled);
}

int cmd_run(int argc, char **argv)
{
    const char *cmd = argv[0];
    const char *task_path = NULL, *swarm_path = NULL, *model = getenv("SWARM_MODEL"),
               *tokenizer = NULL;
    bool json = false;
    swarm_runtime_params p = swarm_runtime_params_default();
    for (int a = 1; a < argc; a++) {
        const char *s = argv[a];
        bool has = a + 1 < argc;
        if (cli_is_help(s)) {
            usage(stdout);
            return CLI_EXIT_OK;
        } else if (strcmp(s, "--swarm") == 0 && has) {
            swarm_path = argv[++a];
        } else if (strcmp(s, "--chaos") == 0 && has) {
            p.chaos = argv[++a];
        } else if (strcmp(s, "--seed") == 0 && has) {
            if (!cli_parse_u64(argv[++a], &p.seed) || p.seed == 0)
                return cli_usage_error(cmd, "--seed: want a positive integer");
        } else if (strcmp(s, "--json") == 0) {
            json = true;
        } else if (strcmp(s, "--journal") == 0 && has) {
            p.journal_path = argv[++a];
        } else if (strcmp(s, "--resume") == 0) {
            p.resume = true;
        } else if (strcmp(s, "--audit") == 0 && has) {
            /* audit a journal instead of running: legal transitions only */
            const char *path = argv[++a];
            int64_t tasks = 0, trans = 0;
            swarm_diag ad = {{0}};
            if (swarm_journal_audit(path, &tasks, &trans, &ad) != SWARM_OK)
                return cli_fail(CLI_EXIT_FAIL, "%s", ad.msg);
            printf("journal %s: %lld tasks, %lld transitions, every transition legal\n", path,
                   (long long)tasks, (long long)trans);
            return CLI_EXIT_OK;
        } else if (strcmp(s, "--dispatch") == 0 && has) {
            const char *v = argv[++a];
            if (!swarm_dispatch_policy_from_name(v, &p.dispatch))
                return cli_usage_error(cmd, "--dispatch: '%s' (want assign, round-robin, "
                                            "least-conn or priority)", v);
        } else if (strcmp(s, "--assign") == 0 && has) {
            const char *v = argv[++a];
            if (!swarm_assign_method_from_name(v, &p.assign_method))
                return cli_usage_error(cmd, "--assign: '%s' (want fast, exact or auto)", v);
        } else if (strcmp(s, "--detector") == 0 && has) {
            const char *v = argv[++a];
            if (!swarm_detector_from_name(v, &p.detector))
                return cli_usage_error(cmd, "--detector: '%s' (want phi or timeout)", v);
        } else if (strcmp(s, "--transport") == 0 && has) {
            const char *v = argv[++a];
            if (strchr(v, ':') != NULL)
                p.transport_url = v; /* a URL: checked when the runtime opens it */
            else if (!swarm_transport_kind_from_name(v, &p.transport))
                return cli_usage_error(cmd, "--transport: '%s' (want inproc, process or a URL "
                                            "such as proc:)", v);
        } else if (strcmp(s, "--no-hedge") == 0) {
            p.hedge = false;
        } else if (strcmp(s, "--distinct-zones") == 0) {
            p.distinct_zones = true;
        } else if (strcmp(s, "--comm-weight") == 0 && has) {
            if (!cli_parse_double(argv[++a], 0, 1e9, &p.comm_weight))
                return cli_usage_error(cmd, "--comm-weight: want a number in [0, 1e9]");
        } else if (strcmp(s, "--no-early-stop") == 0) {
            p.early_stop = false;
        } else if (strcmp(s, "--model") == 0 && has) {
            model = argv[++a];
        } else if (strcmp(s, "--tokenizer") == 0 && has) {
            tokenizer = argv[++a];
        } else if (strcmp(s, "--echo") == 0) {
            p.force_echo = true;
        } else if (s[0] == '-') {
            return cli_usage_error(cmd, "unknown or incomplete option '%s'", s);
        } else if (task_path == NULL) {
            task_path = s;
        } else {
            return cli_usage_error(cmd, "unexpected argument '%s'", s);
        }
    }
    if (task_path == NULL) return cli_usage_error(cmd, "missing TASK.json");
    if (swarm_path == NULL) return cli_usage_error(cmd, "missing --swarm SWARM.json");
    if (p.resume && p.journal_path == NULL) return cli_usage_error(cmd, "--resume needs --journal FILE");
    if (model && *model == 0) model = NULL;

    swarm_diag d = {{0}};
    swarm_swarm *sw = NULL;
    swarm_task *task = NULL;
    swarm_runtime *rt = NULL;
    swarm_run_result *res = NULL;
    int code = CLI_EXIT_OK;
    if (swarm_swarm_load(swarm_path, &sw, &d) != SWARM_OK) {
        code = cli_fail(CLI_EXIT_USAGE, "%s", d.msg);
        goto out;
    }
    if (model && swarm_swarm_override_model(sw, model, tokenizer) != SWARM_OK) {
        code = cli_fail(CLI_EXIT_FAIL, "out of memory");
        goto out;
    }
    if (swarm_task_parse_file(task_path, &task, &d) != SWARM_OK) {
        /* d already names the file */
        code = cli_fail(CLI_EXIT_USAGE, "%s", d.msg);
        goto out;
    }
    /* A task that cannot be planned is refused before any model is loaded
     * or worker started (the runtime builds the same plan again). */
    swarm_plan *plan = NULL;
    if (swarm_plan_build(task, &plan, &d) != SWARM_OK) {
        code = cli_fail(CLI_EXIT_USAGE, "%s: %s", task_path, d.msg);
        goto out;
    }
    swarm_plan_destroy(plan);
    progress pr = {!json && isatty(2), 0};
    swarm_err rc = swarm_runtime_create(sw, &p, &rt, &d);
    if (rc) {
        /* bad input named by the swarm file or a flag: a missing, truncated
         * or non-regular model file, an unusable journal path, a bad chaos
         * spec, a backend this build lacks */
        code = cli_fail(cli_exit_for_input_error(rc), "%s", d.msg);
        goto out;
    }
    /* The seed is in the result (text and JSON); a terminal also sees it
     * up front. Scripts get exactly one line on stderr for a refused task. */
    if (pr.on) fprintf(stderr, "swarm run: seed %llu\n", (unsigned long long)swarm_runtime_seed(rt));
    swarm_submit_opts so = swarm_submit_opts_default();
    so.on_event = on_progress;
    so.ud = &pr;
    uint64_t ticket = 0;
    rc = swarm_runtime_submit(rt, task, &so, &ticket, &d);
    if (rc == SWARM_OK) rc = swarm_runtime_wait(rt, ticket, -1, &res, &d);
    if (rc == SWARM_EINVAL || rc == SWARM_EINFEASIBLE || rc == SWARM_EFORMAT) {
        code = cli_fail(CLI_EXIT_USAGE, "%s: %s", task_path, d.msg);
        goto out;
    } else if (rc) {
        code = cli_fail(CLI_EXIT_FAIL, "%s: %s (seed %llu)", task_path, d.msg,
                        (unsigned long long)swarm_runtime_seed(rt));
        goto out;
    }
    if (json) {
        char *js = NULL;
        if (swarm_run_result_json(res, &js) != SWARM_OK) {
            code = cli_fail(CLI_EXIT_FAIL, "out of memory");
            goto out;
        }
        printf("%s\n", js);
        swarm_free(js);
    } else {
        print_text(res, sw);
    }
    if (res->status != SWARM_OK) code = CLI_EXIT_FAIL;
out:
    swarm_run_result_destroy(res);
    swarm_runtime_destroy(rt);
    swarm_task_destroy(task);
    swarm_swarm_destroy(sw);
    return code;
}
