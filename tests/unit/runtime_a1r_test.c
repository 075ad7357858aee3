/*
 * runtime_a1r_test.c: TESTPLAN A1r scaled for CI: N map subtasks of 64
 * tokens on 4 real stories260K workers (greedy), 1 or 2 workers killed at
 * random times (SIGKILL of the worker process on the child-process
 * transport, or an injected kill in-process), over several seeds. Gates:
 * 0 lost, 0 stuck, 0 failed, every subtask committed exactly once (in the
 * trace and in the SQLite journal, whose history must audit as legal), and
 * every committed output byte-identical to the fault-free greedy run.
 * Env: SWARM_A1R_N (default 200), SWARM_A1R_SEEDS (default 6),
 * SWARM_A1R_SEED (first seed, default 1; printed for replay).
 */
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "runtime/runtime_int.h"

#define N_WORKERS 4

static long env_long(const char *name, long dflt, long lo, long hi)
{
    const char *s = getenv(name);
    if (s == NULL || *s == 0) return dflt;
    char *end;
    long v = strtol(s, &end, 10);
    return *end == 0 && v >= lo && v <= hi ? v : dflt;
}

/* N distinct one-sentence prompts, so every map subtask has its own text. */
static char *make_input(size_t n)
{
    static const char *const who[] = {"Tom", "Lily", "Max", "Sue", "Ben", "Mia", "Sam", "Anna",
                                      "Tim", "Lucy"};
    static const char *const what[] = {"a red ball", "a big dog", "a small cat", "a blue kite",
                                       "a toy car", "a green frog", "a happy bird",
                                       "a shiny box", "a soft bear", "a little boat"};
    static const char *const where[] = {"in the park", "at home", "by the sea", "in the garden",
                                        "at school", "in the forest", "on the hill",
                                        "near the lake", "in the town", "under a tree"};
    static const char *const when[] = {"One day", "At night", "In the morning", "Later",
                                       "On Monday", "After lunch", "In the spring",
                                       "Before bed", "Once", "Yesterday"};
    size_t cap = n * 80 + 1, o = 0;
    char *s = malloc(cap);
    assert_non_null(s);
    for (size_t i = 0; i < n; i++) /* distinct for n <= 10 000 */
        o += (size_t)snprintf(s + o, cap - o, "%s%s %s found %s %s.", i ? " " : "",
                              when[(i / 1000) % 10], who[i % 10], what[(i / 10) % 10],
                              where[(i / 100) % 10]);
    return s;
}

static swarm_swarm *real_swarm(const char *model, const char *tok)
{
    char js[16384];
    size_t o = (size_t)snprintf(js, sizeof(js), "{\"nodes\": [");
    for (int i = 0; i < N_WORKERS; i++)
        o += (size_t)snprintf(js + o, sizeof(js) - o,
                              "%s{\"name\": \"w%d\", \"backend\": {\"type\": \"local\", \"model\":"
                              " \"%s\", \"tokenizer\": \"%s\", \"sampling\": {\"temperature\": 0}},"
                              " \"capacity\": 1, \"skills\": {\"story\": 0.9}, \"power_watts\": %d}",
                              i ? "," : "", i + 1, model, tok, 10 + i);
    snprintf(js + o, sizeof(js) - o, "]}");
    swarm_swarm *s = NULL;
    swarm_diag d = {{0}};
    swarm_err rc = swarm_swarm_parse(js, strlen(js), NULL, &s, &d);
    if (rc) print_error("swarm: %s\n", d.msg);
    CHECK_OK(rc);
    return s;
}

static swarm_task *make_task(size_t n)
{
    char *input = make_input(n);
    size_t cap = strlen(input) + 1024;
    char *js = malloc(cap);
    assert_non_null(js);
    snprintf(js, cap,
             "{\"name\": \"a1r\", \"input\": \"%s\", \"skill\": \"story\", \"kind\": \"generate\","
             " \"decomposition\": {\"strategy\": \"map-reduce\", \"chunk\": {\"by\": \"sentences\","
             " \"size\": 1}, \"map_prompt\": \"{{chunk}}\"}, \"aggregation\": {\"method\":"
             " \"max-weight\"}, \"limits\": {\"max_tokens\": 64, \"max_retries\": 2}}",
             input);
    swarm_task *t = NULL;
    swarm_diag d = {{0}};
    swarm_err rc = swarm_task_parse(js, strlen(js), &t, &d);
    if (rc) print_error("task: %s\n", d.msg);
    CHECK_OK(rc);
    free(js);
    free(input);
    return t;
}

/* Kill points chosen from progress, not time: SIGKILL a worker process
 * once `at_done` subtasks have finished (a time picked from the in-process
 * baseline may fall after a faster run's end, so the run would be
 * fault-free). Called on the coordinator thread. */
typedef struct progress_killer {
    int n;
    int pid[2];
    size_t at_done[2];
    bool fired[2];
} progress_killer;

static void kill_on_progress(void *ud, const swarm_task_event *ev)
{
    progress_killer *k = ud;
    size_t done = ev->done;
    if (ev->type != SWARM_TASK_EVENT_PROGRESS) return;
    for (int v = 0; v < k->n; v++) {
        if (k->fired[v] || done < k->at_done[v]) continue;
        kill(k->pid[v], SIGKILL);
        k->fired[v] = true;
    }
}

/* Committed 'done' transitions per subtask in the journal's newest task. */
static void journal_done_counts(const char *path, size_t m, int *counts)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "SELECT sub_id, count(*) FROM transition WHERE task_id ="
                                        " (SELECT max(id) FROM task) AND to_state = 'done'"
                                        " GROUP BY sub_id",
                                        -1, &st, NULL),
                     SQLITE_OK);
    memset(counts, 0, m * sizeof(int));
    while (sqlite3_step(st) == SQLITE_ROW) {
        int64_t k = sqlite3_column_int64(st, 0);
        assert_true(k >= 0 && (size_t)k < m);
        counts[k] = sqlite3_column_int(st, 1);
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
}

static void test_runtime_a1r_kills_identical_outputs(void **state)
{
    (void)state;
    char model[4096], tok[4096];
    REQUIRE_SHARED(model, "models/stories260K.bin");
    REQUIRE_SHARED(tok, "models/tok512.bin");
    size_t n = (size_t)env_long("SWARM_A1R_N", 200, 8, 10000);
    int seeds = (int)env_long("SWARM_A1R_SEEDS", 6, 1, 1000);
    uint64_t seed0 = (uint64_t)env_long("SWARM_A1R_SEED", 1, 1, 1L << 40);
    swarm_swarm *s = real_swarm(model, tok);
    swarm_task *t = make_task(n);

    /* the fault-free greedy reference */
    swarm_runtime_params p = swarm_runtime_params_default();
    p.seed = seed0;
    p.hedge = false; /* duplicates here come only from the kills */
    swarm_runtime *rt = NULL;
    swarm_diag d = {{0}};
    CHECK_OK(swarm_runtime_create(s, &p, &rt, &d));
    swarm_run_result *base = NULL;
    CHECK_OK(swarm_runtime_run(rt, t, &base, &d));
    swarm_runtime_destroy(rt);
    assert_int_equal(base->status, SWARM_OK);
    assert_int_equal(base->n_subtasks, n);
    int64_t base_tokens = base->tokens;
    print_message("A1r: %zu subtasks x 64 tokens on %d stories260K workers; fault-free %.0f ms, "
                  "%lld tokens\n",
                  n, N_WORKERS, base->wall_ms, (long long)base_tokens);

    char jpath[] = "/tmp/swarm-a1r-XXXXXX";
    int jfd = mkstemp(jpath);
    assert_true(jfd >= 0);
    close(jfd);
    int *counts = calloc(n, sizeof(int));
    assert_non_null(counts);
    size_t total_dup = 0, total_reassigned = 0;
    for (int q = 0; q < seeds; q++) {
        uint64_t seed = seed0 + (uint64_t)q, rng = seed;
        bool process = q % 2 == 0;
        int n_kill = 1 + (int)(sw_rand64(&rng) % 2);
        int victim[2];
        victim[0] = (int)(sw_rand64(&rng) % N_WORKERS);
        victim[1] = (victim[0] + 1 + (int)(sw_rand64(&rng) % (N_WORKERS - 1))) % N_WORKERS;
        /* kill points spread over the first 70 % of the work: in process,
         * the victim dies on receiving its j-th subtask; a process is
         * SIGKILLed once that many subtasks of the whole run are done */
        size_t span = n * 7 / 10 / N_WORKERS;
        size_t at[2] = {1 + (size_t)(sw_rand64(&rng) % span), 1 + (size_t)(sw_rand64(&rng) % span)};
        unlink(jpath);
        p = swarm_runtime_params_default();
        p.seed = seed;
        p.hedge = false;
        p.journal_path = jpath;
        p.transport = process ? SWARM_TRANSPORT_PROCESS : SWARM_TRANSPORT_INPROC;
        char chaos[128] = "";
        if (!process) {
            if (n_kill == 1) snprintf(chaos, sizeof(chaos), "kill=w%d#%zu", victim[0] + 1, at[0]);
            else
                snprintf(chaos, sizeof(chaos), "kill=w%d#%zu,kill=w%d#%zu", victim[0] + 1,
                         at[0], victim[1] + 1, at[1]);
            p.chaos = chaos;
        }
        progress_killer k = {0};
        swarm_submit_opts so = swarm_submit_opts_default();
        if (process) {
            k.n = n_kill;
            so.on_event = kill_on_progress;
            so.ud = &k;
        }
        CHECK_OK(swarm_runtime_create(s, &p, &rt, &d));
        for (int v = 0; process && v < n_kill; v++) {
            k.pid[v] = sw_transport_proc_pid(sw_runtime_transport(rt), (size_t)victim[v]);
            k.at_done[v] = at[v] * N_WORKERS;
            assert_true(k.pid[v] > 0);
        }
        swarm_run_result *r = NULL;
        uint64_t ticket = 0;
        swarm_err rc = swarm_runtime_submit(rt, t, &so, &ticket, &d);
        if (rc == SWARM_OK) rc = swarm_runtime_wait(rt, ticket, -1, &r, &d);
        swarm_runtime_destroy(rt);
        if (rc) print_error("seed %llu: %s\n", (unsigned long long)seed, d.msg);
        CHECK_OK(rc);
        swarm_run_check c;
        swarm_run_check_trace(r, &c);
        char victims[128];
        const char *unit = process ? "subtasks done" : "th subtask";
        size_t at_shown[2] = {process ? at[0] * N_WORKERS : at[0], process ? at[1] * N_WORKERS : at[1]};
        if (n_kill == 1) snprintf(victims, sizeof(victims), "w%d at %zu %s", victim[0] + 1, at_shown[0], unit);
        else
            snprintf(victims, sizeof(victims), "w%d at %zu, w%d at %zu %s", victim[0] + 1,
                     at_shown[0], victim[1] + 1, at_shown[1], unit);
        print_message("seed %llu (%s): killed %s: wall %.0f ms, reassigned %d, convicted %d, done-once %zu, "
                      "duplicate-executed %zu, double %zu, lost %zu, stuck %zu, failed %zu\n",
                      (unsigned long long)seed,
                      process ? "SIGKILL, process transport" : "in-process kill", victims,
                      r->wall_ms, r->n_reassigned, r->n_convicted, c.done_once, c.duplicate_executed,
                      c.double_committed, c.lost, c.stuck, c.failed);
        assert_int_equal(r->status, SWARM_OK);
        /* every planned fault fired: the kills happened mid-run, the detector
         * convicted each victim, and the work in flight there moved on */
        for (int v = 0; process && v < n_kill; v++) assert_true(k.fired[v]);
        /* (more convictions than kills: a live node suspected under load) */
        assert_true(r->n_convicted >= n_kill);
        assert_true(r->n_reassigned >= 1);
        assert_int_equal(c.lost, 0);
        assert_int_equal(c.stuck, 0);
        assert_int_equal(c.failed, 0);
        assert_int_equal(c.double_committed, 0);
        assert_int_equal(c.done_once + c.duplicate_executed, n);
        /* byte-identical to the fault-free greedy run */
        for (size_t i = 0; i < n; i++) {
            assert_int_equal(r->subtasks[i].state, SWARM_OUTCOME_DONE);
            if (strcmp(r->subtasks[i].text, base->subtasks[i].text) != 0) {
                print_error("seed %llu: subtask %zu differs from the fault-free run:\n  [%s]\n  [%s]\n",
                            (unsigned long long)seed, i, r->subtasks[i].text, base->subtasks[i].text);
                fail();
            }
        }
        /* the result log: exactly one commit per subtask, legal history */
        journal_done_counts(jpath, n, counts);
        for (size_t i = 0; i < n; i++) {
            if (counts[i] != 1) {
                print_error("seed %llu: subtask %zu has %d 'done' transitions in the journal\n",
                            (unsigned long long)seed, i, counts[i]);
                fail();
            }
        }
        int64_t tasks = 0, trans = 0;
        swarm_diag ad = {{0}};
        swarm_err arc = swarm_journal_audit(jpath, &tasks, &trans, &ad);
        if (arc) print_error("seed %llu: audit: %s\n", (unsigned long long)seed, ad.msg);
        CHECK_OK(arc);
        total_dup += c.duplicate_executed;
        total_reassigned += (size_t)r->n_reassigned;
        swarm_run_result_destroy(r);
    }
    print_message("A1r: %d seeds from %llu, %zu subtasks each: 0 lost, 0 stuck, 0 double commits, "
                  "outputs identical; duplicate executions %zu (%.2f %%), reassigned %zu\n",
                  seeds, (unsigned long long)seed0, n, total_dup,
                  100.0 * (double)total_dup / (double)(n * (size_t)seeds), total_reassigned);
    unlink(jpath);
    free(counts);
    swarm_run_result_destroy(base);
    swarm_task_destroy(t);
    swarm_swarm_destroy(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_runtime_a1r_kills_identical_outputs),
    };
    return CHECK_RUN(tests, NULL, NULL);
}
