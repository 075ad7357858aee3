/*
 * bench_runtime.c: the runtime benchmark: map-reduce tasks of up to 10,000
 * one-token chunks through swarm_runtime_run on 4 echo nodes (assignment on,
 * then round-robin), then a real stories260K swarm. Everything from plan
 * building to aggregation is inside the timed call.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench_runtime.h"
#include "swarm/runtime.h"

sw_bench_runtime_opts sw_bench_runtime_opts_default(void)
{
    sw_bench_runtime_opts o = {0};
    o.subtasks = 100000;
    o.real_subtasks = 64;
    o.detect_trials = 10;
    o.concurrent_tasks = 2000;
    return o;
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

typedef struct bench_res {
    int64_t subtasks;
    double wall_ms;
    int64_t tokens;
    int32_t hedges;
    bool ok;
} bench_res;

/* A map-reduce task of `chunks` one-word chunks (+1 reduce); NULL on error. */
static swarm_task *mr_task(int64_t chunks, int32_t max_tokens, const char *reduce, FILE *err)
{
    if (chunks > 10000) chunks = 10000;
    if (chunks < 1) chunks = 1;
    /* input: `chunks` distinct words; one chunk per word */
    size_t cap = (size_t)chunks * 12 + 1024;
    char *task = malloc(cap + 1024);
    char *input = malloc(cap);
    swarm_task *t = NULL;
    if (!task || !input) goto out;
    size_t o = 0;
    for (int64_t i = 0; i < chunks; i++) o += (size_t)snprintf(input + o, cap - o, "w%lld ", (long long)i);
    snprintf(task, cap + 1024,
             "{\"name\": \"bench\", \"input\": \"%s\", \"skill\": \"story\", \"kind\": \"generate\","
             " \"decomposition\": {\"strategy\": \"map-reduce\", \"chunk\": {\"by\": \"tokens\","
             " \"size\": 1, \"overlap\": 0}, \"map_prompt\": \"{{chunk}}\", \"reduce_prompt\":"
             " \"%s\"}, \"aggregation\": {\"method\": \"max-weight\"},"
             " \"limits\": {\"max_tokens\": %d, \"max_retries\": 2}}",
             input, reduce, (int)max_tokens);
    swarm_diag d = {{0}};
    if (swarm_task_parse(task, strlen(task), &t, &d) != SWARM_OK)
        fprintf(err, "bench-runtime: task: %s\n", d.msg);
out:
    free(task);
    free(input);
    return t;
}

/* Runs tasks of `chunks` map subtasks (+1 reduce) until `total` subtasks. */
static bench_res run_mr(const char *swarm_json, swarm_dispatch_policy pol,
                        swarm_transport_kind tk, int64_t total, int64_t chunks,
                        int32_t max_tokens, const char *reduce, FILE *err)
{
    bench_res br = {0};
    swarm_swarm *s = NULL;
    swarm_diag d = {{0}};
    if (swarm_swarm_parse(swarm_json, strlen(swarm_json), NULL, &s, &d) != SWARM_OK) {
        fprintf(err, "bench-runtime: swarm: %s\n", d.msg);
        return br;
    }
    swarm_runtime_params p = swarm_runtime_params_default();
    p.dispatch = pol;
    p.transport = tk;
    p.seed = 1;
    swarm_runtime *rt = NULL;
    if (swarm_runtime_create(s, &p, &rt, &d) != SWARM_OK) {
        fprintf(err, "bench-runtime: %s\n", d.msg);
        swarm_swarm_destroy(s);
        return br;
    }
    swarm_task *t = mr_task(chunks, max_tokens, reduce, err);
    if (t == NULL) goto out;
    br.ok = true;
    /* warm-up run (allocator, threads), not timed */
    swarm_run_result *r = NULL;
    if (swarm_runtime_run(rt, t, &r, &d) != SWARM_OK) br.ok = false;
    swarm_run_result_destroy(r);
    double t0 = now_ms();
    while (br.ok && br.subtasks < total) {
        r = NULL;
        if (swarm_runtime_run(rt, t, &r, &d) != SWARM_OK || r->status != SWARM_OK) {
            fprintf(err, "bench-runtime: run failed: %s\n", r ? r->error : d.msg);
            br.ok = false;
        } else {
            br.subtasks += (int64_t)r->n_subtasks;
            br.tokens += r->tokens;
            br.hedges += r->n_hedges;
        }
        swarm_run_result_destroy(r);
    }
    br.wall_ms = now_ms() - t0;
    swarm_task_destroy(t);
out:
    swarm_runtime_destroy(rt);
    swarm_swarm_destroy(s);
    return br;
}

/* Detection + reassignment latency (TESTPLAN A2/B1 on the embedded
 * runtime): one long subtask on the cheapest of two echo nodes, that node
 * killed at a random time; measured from the kill to the reassignment. */
static int detect_trials(int n, double *out, FILE *err)
{
    static const char *js =
        "{\"nodes\": ["
        "{\"name\": \"k\", \"backend\": {\"type\": \"echo\", \"latency_ms\": 3000}, \"capacity\": 1, \"skills\": {\"*\": 1}, \"power_watts\": 1},"
        "{\"name\": \"s\", \"backend\": {\"type\": \"echo\", \"latency_ms\": 1}, \"capacity\": 1, \"skills\": {\"*\": 1}, \"power_watts\": 50}]}";
    static const char *tj = "{\"name\": \"d\", \"input\": \"x\", \"skill\": \"s\","
                            " \"kind\": \"generate\", \"prompt\": \"{{input}}\"}";
    swarm_diag d = {{0}};
    swarm_swarm *s = NULL;
    swarm_task *t = NULL;
    int done = 0;
    if (swarm_swarm_parse(js, strlen(js), NULL, &s, &d) || swarm_task_parse(tj, strlen(tj), &t, &d)) {
        fprintf(err, "bench-runtime: %s\n", d.msg);
        goto out;
    }
    uint64_t rng = 99;
    for (int i = 0; i < n; i++) {
        rng = rng * 6364136223846793005ull + 1442695040888963407ull;
        double kill = 50 + (double)(rng >> 40) / (double)(1ull << 24) * 150;
        char chaos[64];
        snprintf(chaos, sizeof(chaos), "kill=k@%.0fms", kill);
        swarm_runtime_params p = swarm_runtime_params_default();
        p.seed = (uint64_t)i + 1;
        p.chaos = chaos;
        p.hedge = false;
        swarm_runtime *rt = NULL;
        swarm_run_result *r = NULL;
        if (swarm_runtime_create(s, &p, &rt, &d) == SWARM_OK &&
            swarm_runtime_run(rt, t, &r, &d) == SWARM_OK) {
            for (size_t q = 0; q < r->n_trace; q++)
                if (r->trace[q].outcome == SWARM_OUTCOME_REASSIGNED) {
                    out[done++] = r->trace[q].end_ms - kill;
                    break;
                }
        }
        swarm_run_result_destroy(r);
        swarm_runtime_destroy(rt);
    }
out:
    swarm_task_destroy(t);
    swarm_swarm_destroy(s);
    return done;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Tasks per second for n_tasks map-reduce tasks of `chunks` chunks kept
 * `inflight` at a time on one runtime (inflight 1: one at a time). */
static double tasks_per_s(const char *swarm_json, int n_tasks, int chunks, int inflight, FILE *err)
{
    swarm_swarm *s = NULL;
    swarm_runtime *rt = NULL;
    swarm_diag d = {{0}};
    swarm_task *t = NULL;
    uint64_t *tk = malloc((size_t)inflight * sizeof(uint64_t));
    double rate = 0;
    if (tk == NULL || swarm_swarm_parse(swarm_json, strlen(swarm_json), NULL, &s, &d) != SWARM_OK)
        goto out;
    swarm_runtime_params p = swarm_runtime_params_default();
    p.seed = 1;
    p.queue_cap = (size_t)inflight;
    if (swarm_runtime_create(s, &p, &rt, &d) != SWARM_OK || (t = mr_task(chunks, 1, "{{results}}", err)) == NULL)
        goto out;
    double t0 = now_ms();
    int submitted = 0, done = 0;
    bool ok = true;
    while (ok && done < n_tasks) {
        while (ok && submitted < n_tasks && submitted - done < inflight)
            ok = swarm_runtime_submit(rt, t, NULL, &tk[submitted++ % inflight], &d) == SWARM_OK;
        swarm_run_result *r = NULL;
        /* the oldest first: the others finish meanwhile */
        if (ok && swarm_runtime_wait(rt, tk[done % inflight], -1, &r, &d) == SWARM_OK &&
            r->status == SWARM_OK)
            done++;
        else ok = false;
        swarm_run_result_destroy(r);
    }
    if (ok) rate = n_tasks / ((now_ms() - t0) / 1e3);
    else fprintf(err, "bench-runtime: concurrent tasks failed: %s\n", d.msg);
out:
    swarm_task_destroy(t);
    swarm_runtime_destroy(rt);
    swarm_swarm_destroy(s);
    free(tk);
    return rate;
}

/* Nodes that take 5 ms per subtask, 4 slots each: the case where tasks
 * at once fill slots one task alone leaves idle. */
static const char *echo5_swarm =
    "{\"nodes\": ["
    "{\"name\": \"e1\", \"backend\": {\"type\": \"echo\", \"latency_ms\": 5}, \"capacity\": 4, \"skills\": {\"*\": 1}},"
    "{\"name\": \"e2\", \"backend\": {\"type\": \"echo\", \"latency_ms\": 5}, \"capacity\": 4, \"skills\": {\"*\": 1}},"
    "{\"name\": \"e3\", \"backend\": {\"type\": \"echo\", \"latency_ms\": 5}, \"capacity\": 4, \"skills\": {\"*\": 1}},"
    "{\"name\": \"e4\", \"backend\": {\"type\": \"echo\", \"latency_ms\": 5}, \"capacity\": 4, \"skills\": {\"*\": 1}}]}";

static const char *echo_swarm =
    "{\"nodes\": ["
    "{\"name\": \"e1\", \"backend\": {\"type\": \"echo\"}, \"capacity\": 2048, \"skills\": {\"*\": 1}, \"power_watts\": 10},"
    "{\"name\": \"e2\", \"backend\": {\"type\": \"echo\"}, \"capacity\": 2048, \"skills\": {\"*\": 1}, \"power_watts\": 11},"
    "{\"name\": \"e3\", \"backend\": {\"type\": \"echo\"}, \"capacity\": 2048, \"skills\": {\"*\": 1}, \"power_watts\": 12},"
    "{\"name\": \"e4\", \"backend\": {\"type\": \"echo\"}, \"capacity\": 2048, \"skills\": {\"*\": 1}, \"power_watts\": 13}]}";

int sw_bench_runtime_run(const sw_bench_runtime_opts *o, FILE *out)
{
    int64_t per_task = o->subtasks < 10000 ? o->subtasks : 10000;
    bench_res a = run_mr(echo_swarm, SWARM_DISPATCH_ASSIGN, SWARM_TRANSPORT_INPROC, o->subtasks, per_task, 1, "{{results}}", stderr);
    bench_res b = run_mr(echo_swarm, SWARM_DISPATCH_ROUND_ROBIN, SWARM_TRANSPORT_INPROC, o->subtasks, per_task, 1, "{{results}}", stderr);
    bench_res e = run_mr(echo_swarm, SWARM_DISPATCH_ASSIGN, SWARM_TRANSPORT_PROCESS, o->subtasks,
                         per_task, 1, "{{results}}", stderr);
    double re = e.wall_ms > 0 ? (double)e.subtasks / (e.wall_ms / 1e3) : 0;
    /* many tasks at once vs one at a time: instant nodes (coordinator
     * overhead) and 5 ms nodes (slots a lone task leaves idle) */
    int nt = o->concurrent_tasks;
    double inst1 = nt ? tasks_per_s(echo_swarm, nt, 8, 1, stderr) : 0;
    double inst64 = nt ? tasks_per_s(echo_swarm, nt, 8, 64, stderr) : 0;
    double lat1 = nt ? tasks_per_s(echo5_swarm, nt / 8 > 0 ? nt / 8 : 1, 8, 1, stderr) : 0;
    double lat64 = nt ? tasks_per_s(echo5_swarm, nt / 8 > 0 ? nt / 8 : 1, 8, 64, stderr) : 0;
    bool conc_ok = nt == 0 || (inst1 > 0 && inst64 > 0 && lat1 > 0 && lat64 > 0);
    bench_res c = {0};
    char model[4096] = "", tok[4096] = "";
    bool have_real = false;
    if (o->real_subtasks > 0) {
        const char *shared = getenv("SWARM_SHARED_DIR");
        if (o->model) snprintf(model, sizeof(model), "%s", o->model);
        else snprintf(model, sizeof(model), "%s/models/stories260K.bin", shared ? shared : "../shared");
        if (o->tokenizer) snprintf(tok, sizeof(tok), "%s", o->tokenizer);
        else {
            snprintf(tok, sizeof(tok), "%s", model);
            char *slash = strrchr(tok, '/');
            snprintf(slash ? slash + 1 : tok, sizeof(tok) - (size_t)(slash ? slash + 1 - tok : 0),
                     "tok512.bin");
        }
        size_t ml = strlen(model);
        bool gguf = ml > 5 && strcmp(model + ml - 5, ".gguf") == 0;
        have_real = access(model, R_OK) == 0 && (gguf || access(tok, R_OK) == 0);
        if (have_real) {
            char js[20000];
            size_t w = (size_t)snprintf(js, sizeof(js), "{\"nodes\": [");
            for (int i = 0; i < 4; i++) {
                char tk[4200] = "";
                if (!gguf) snprintf(tk, sizeof(tk), ", \"tokenizer\": \"%s\"", tok);
                w += (size_t)snprintf(js + w, sizeof(js) - w,
                                      "%s{\"name\": \"m%d\", \"backend\": {\"type\": \"local\","
                                      " \"model\": \"%s\"%s}, \"capacity\": 1, \"skills\": {\"*\": 1}}",
                                      i ? "," : "", i + 1, model, tk);
            }
            snprintf(js + w, sizeof(js) - w, "]}");
            int64_t n = o->real_subtasks;
            /* tasks of 8 chunks: the reduce prompt holds every partial
             * result, and the tiny model's context is 512 tokens */
            c = run_mr(js, SWARM_DISPATCH_ASSIGN, SWARM_TRANSPORT_INPROC, n, 8, 16, "{{results}}", stderr);
        }
    }
    double lat[1000];
    int nd = detect_trials(o->detect_trials < 1000 ? o->detect_trials : 1000, lat, stderr);
    qsort(lat, (size_t)nd, sizeof(double), cmp_d);
    double p50 = nd ? lat[nd / 2] : 0, p99 = nd ? lat[(int)ceil(0.99 * nd) - 1] : 0,
           mx = nd ? lat[nd - 1] : 0;
    double ra = a.wall_ms > 0 ? (double)a.subtasks / (a.wall_ms / 1e3) : 0;
    double rb = b.wall_ms > 0 ? (double)b.subtasks / (b.wall_ms / 1e3) : 0;
    double rc = c.wall_ms > 0 ? (double)c.subtasks / (c.wall_ms / 1e3) : 0;
    if (o->json) {
        fprintf(out,
                "{\"echo_assign\": {\"subtasks\": %lld, \"wall_ms\": %.1f, \"subtasks_per_s\": %.0f,"
                " \"us_per_subtask\": %.2f, \"hedges\": %d},"
                " \"echo_round_robin\": {\"subtasks\": %lld, \"wall_ms\": %.1f, \"subtasks_per_s\": %.0f,"
                " \"us_per_subtask\": %.2f},"
                " \"echo_process\": {\"subtasks\": %lld, \"wall_ms\": %.1f, \"subtasks_per_s\": %.0f,"
                " \"us_per_subtask\": %.2f},"
                " \"real\": ",
                (long long)a.subtasks, a.wall_ms, ra, a.subtasks ? a.wall_ms * 1e3 / (double)a.subtasks : 0,
                a.hedges, (long long)b.subtasks, b.wall_ms, rb,
                b.subtasks ? b.wall_ms * 1e3 / (double)b.subtasks : 0, (long long)e.subtasks,
                e.wall_ms, re, e.subtasks ? e.wall_ms * 1e3 / (double)e.subtasks : 0);
        if (have_real && c.ok)
            fprintf(out,
                    "{\"model\": \"%s\", \"subtasks\": %lld, \"wall_ms\": %.1f, \"subtasks_per_s\": %.1f,"
                    " \"ms_per_subtask\": %.3f, \"tokens\": %lld",
                    model, (long long)c.subtasks, c.wall_ms, rc,
                    c.subtasks ? c.wall_ms / (double)c.subtasks : 0, (long long)c.tokens);
        if (have_real && c.ok) fprintf(out, "}");
        else fprintf(out, "null");
        fprintf(out, ", \"concurrent\": {\"tasks\": %d, \"subtasks_per_task\": 9,"
                     " \"instant_one_at_a_time_tasks_per_s\": %.0f, \"instant_64_at_once_tasks_per_s\": %.0f,"
                     " \"latency5ms_one_at_a_time_tasks_per_s\": %.1f, \"latency5ms_64_at_once_tasks_per_s\": %.1f}",
                nt, inst1, inst64, lat1, lat64);
        fprintf(out, ", \"detection\": {\"trials\": %d, \"p50_ms\": %.1f, \"p99_ms\": %.1f,"
                     " \"max_ms\": %.1f}}\n", nd, p50, p99, mx);
    } else {
        fprintf(out, "runtime benchmark (map-reduce tasks of 1-token chunks, 4 nodes)\n");
        fprintf(out, "  %-26s %10s %10s %14s %12s\n", "backend / dispatch", "subtasks", "wall ms",
                "subtasks/s", "us/subtask");
        fprintf(out, "  %-26s %10lld %10.1f %14.0f %12.2f\n", "echo / assign (fast)",
                (long long)a.subtasks, a.wall_ms, ra, a.subtasks ? a.wall_ms * 1e3 / (double)a.subtasks : 0);
        fprintf(out, "  %-26s %10lld %10.1f %14.0f %12.2f\n", "echo / round-robin",
                (long long)b.subtasks, b.wall_ms, rb, b.subtasks ? b.wall_ms * 1e3 / (double)b.subtasks : 0);
        fprintf(out, "  %-26s %10lld %10.1f %14.0f %12.2f\n", "echo / assign, processes",
                (long long)e.subtasks, e.wall_ms, re, e.subtasks ? e.wall_ms * 1e3 / (double)e.subtasks : 0);
        if (have_real && c.ok)
            fprintf(out, "  %-26s %10lld %10.1f %14.1f %12.1f  (16 tokens each, %s)\n",
                    "stories260K / assign", (long long)c.subtasks, c.wall_ms, rc,
                    c.subtasks ? c.wall_ms * 1e3 / (double)c.subtasks : 0, model);
        else if (o->real_subtasks > 0 && !have_real)
            fprintf(out, "  real model skipped: %s not found\n", model);
        else if (o->real_subtasks > 0)
            fprintf(out, "  real model run FAILED (%s)\n", model);
        if (nt)
            fprintf(out, "tasks/s (map-reduce of 8 chunks + reduce): instant nodes %.0f one at a time,"
                         " %.0f with 64 at once (x%.2f); 5 ms nodes, 16 slots: %.1f one at a time,"
                         " %.1f with 64 at once (x%.2f)\n",
                    inst1, inst64, inst1 > 0 ? inst64 / inst1 : 0, lat1, lat64, lat1 > 0 ? lat64 / lat1 : 0);
        if (nd)
            fprintf(out, "kill -> reassignment (phi 8, heartbeat 100 ms, %d trials): p50 %.0f ms,"
                         " p99 %.0f ms, max %.0f ms\n", nd, p50, p99, mx);
    }
    return a.ok && b.ok && e.ok && conc_ok && (!have_real || c.ok) ? 0 : 1;
}
