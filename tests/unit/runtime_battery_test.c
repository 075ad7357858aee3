/*
 * runtime_battery_test.c: the battery every transport must pass (in the
 * style of nng's transport tests), run here on inproc: and proc: and to be
 * run on nats: by the distributed issue. Each scenario injects one fault
 * through the fault wrapper (or the transport itself) into a map-reduce on
 * four echo nodes and checks what the runtime promises: the TESTPLAN A
 * verdict (0 lost, 0 double-committed, 0 stuck), the same answer as a
 * fault-free run, and the fault's own mark (a reassignment, a corrupt
 * attempt retried, a stuck attempt given up, a stale result fenced, members
 * canceled by early stop).
 */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "runtime_util.h"
#include "runtime/sched_int.h"

static const char *const urls[] = {"inproc:", "proc:"};

static swarm_swarm *battery_swarm(void)
{
    const char *sj = "{\"nodes\": ["
                     "{\"name\": \"n0\", \"backend\": {\"type\": \"echo\", \"latency_ms\": 15}, \"capacity\": 2,"
                     " \"skills\": {\"*\": 0.95}, \"accuracy\": 0.95},"
                     "{\"name\": \"n1\", \"backend\": {\"type\": \"echo\", \"latency_ms\": 15}, \"capacity\": 2,"
                     " \"skills\": {\"*\": 0.9}, \"accuracy\": 0.9},"
                     "{\"name\": \"n2\", \"backend\": {\"type\": \"echo\", \"latency_ms\": 15}, \"capacity\": 2,"
                     " \"skills\": {\"*\": 0.85}, \"accuracy\": 0.85},"
                     "{\"name\": \"n3\", \"backend\": {\"type\": \"echo\", \"latency_ms\": 15}, \"capacity\": 2,"
                     " \"skills\": {\"*\": 0.8}, \"accuracy\": 0.8}]}";
    swarm_swarm *s = NULL;
    swarm_diag d = {{0}};
    CHECK_OK(swarm_swarm_parse(sj, strlen(sj), NULL, &s, &d));
    return s;
}

static const char *mr_json =
    "{\"name\": \"battery\", \"input\": \"a b c d e f g h i j k l m n o p\", \"kind\": \"generate\","
    " \"decomposition\": {\"strategy\": \"map-reduce\", \"chunk\": {\"by\": \"tokens\", \"size\": 2,"
    " \"overlap\": 0}, \"map_prompt\": \"map {{chunk}}\", \"reduce_prompt\": \"reduce {{results}}\"},"
    " \"aggregation\": {\"method\": \"max-weight\"}, \"limits\": {\"max_tokens\": 6, \"max_retries\": 4}}";

static swarm_runtime_params battery_params(const char *url, const char *chaos)
{
    swarm_runtime_params p = swarm_runtime_params_default();
    p.transport_url = url;
    p.chaos = chaos;
    p.seed = 9;
    p.hedge = false;
    p.retry_budget = 1.0; /* the fault decides, not the run-wide budget */
    /* a stuck attempt is given up after 300 ms of no progress; the other
     * faults keep the default, so the detector judges silent nodes */
    if (chaos && strncmp(chaos, "stuck", 5) == 0) p.progress_timeout_ms = 300;
    return p;
}

static size_t rows_with(const swarm_run_result *r, swarm_outcome o, const char *node, const char *note)
{
    size_t n = 0;
    for (size_t q = 0; q < r->n_trace; q++) {
        const swarm_trace_row *t = &r->trace[q];
        if (t->outcome != o) continue;
        if (node && strcmp(t->node_name, node) != 0) continue;
        if (note && strstr(t->note ? t->note : "", note) == NULL) continue;
        n++;
    }
    return n;
}

/* The verdict and the answer every scenario must keep. */
static void assert_like_baseline(const char *what, const swarm_run_result *r,
                                 const swarm_run_result *base)
{
    swarm_run_check c;
    swarm_run_check_trace(r, &c);
    print_message("%-22s status %s, reassigned %d, convicted %d, retries %d, discarded %d, "
                  "canceled %d; lost %zu double %zu stuck %zu\n", what,
                  swarm_err_name(r->status), r->n_reassigned, r->n_convicted, r->n_retries,
                  r->n_discarded, r->n_canceled, c.lost, c.double_committed, c.stuck);
    assert_int_equal(c.lost, 0);
    assert_int_equal(c.double_committed, 0);
    assert_int_equal(c.stuck, 0);
    assert_int_equal(r->status, SWARM_OK);
    assert_string_equal(r->text ? r->text : "", base->text ? base->text : "");
}

typedef struct scenario {
    const char *name, *chaos;
    /* the fault's own mark in the result */
    void (*mark)(const swarm_run_result *r);
} scenario;

static void mark_kill(const swarm_run_result *r)
{
    assert_true(r->n_convicted >= 1);
    assert_true(rows_with(r, SWARM_OUTCOME_REASSIGNED, "n1", NULL) >= 1);
}

static void mark_pause(const swarm_run_result *r)
{
    /* silent past the detector: convicted and its work moved on */
    assert_true(r->n_convicted >= 1);
    assert_true(rows_with(r, SWARM_OUTCOME_REASSIGNED, "n1", NULL) >= 1);
}

static void mark_corrupt(const swarm_run_result *r)
{
    assert_true(rows_with(r, SWARM_OUTCOME_FAILED, "n1", "corrupt") >= 1);
    assert_int_equal(rows_with(r, SWARM_OUTCOME_DONE, "n1", NULL), 0);
}

static void mark_stuck(const swarm_run_result *r)
{
    assert_true(rows_with(r, SWARM_OUTCOME_FAILED, "n1", "stuck") >= 1);
    assert_int_equal(rows_with(r, SWARM_OUTCOME_DONE, "n1", NULL), 0);
}

static size_t attempts_on(const swarm_run_result *r, const char *node)
{
    size_t n = 0;
    for (size_t q = 0; q < r->n_trace; q++) n += strcmp(r->trace[q].node_name, node) == 0;
    return n;
}

static void mark_slow(const swarm_run_result *r)
{
    /* slower, never wrong: n1 worked, and what it committed is the answer */
    assert_true(attempts_on(r, "n1") >= 1);
}

static const scenario scenarios[] = {
    {"kill", "kill=n1#1", mark_kill},
    {"pause", "pause=n1@0ms+900ms", mark_pause},
    {"corrupt", "corrupt=n1", mark_corrupt},
    {"stuck", "stuck=n1@0ms", mark_stuck},
    {"slow", "slow=n1x6", mark_slow},
};

static void test_battery_faults(void **state)
{
    (void)state;
    swarm_swarm *s = battery_swarm();
    swarm_task *t = task_of(mr_json);
    swarm_runtime_params p = battery_params("inproc:", NULL);
    swarm_run_result *base = run_task(s, &p, t);
    assert_int_equal(base->status, SWARM_OK);
    for (size_t u = 0; u < sizeof(urls) / sizeof(urls[0]); u++)
        for (size_t k = 0; k < sizeof(scenarios) / sizeof(scenarios[0]); k++) {
            char what[64];
            snprintf(what, sizeof(what), "%s %s", urls[u], scenarios[k].name);
            p = battery_params(urls[u], scenarios[k].chaos);
            swarm_run_result *r = run_task(s, &p, t);
            assert_like_baseline(what, r, base);
            scenarios[k].mark(r);
            swarm_run_result_destroy(r);
        }
    swarm_run_result_destroy(base);
    swarm_task_destroy(t);
    swarm_swarm_destroy(s);
}

/* Early stop: an ensemble whose members all agree stops once the majority
 * is certain; the members still running are canceled, on every transport. */
static void test_battery_early_stop(void **state)
{
    (void)state;
    swarm_swarm *s = battery_swarm();
    swarm_task *t = task_of("{\"name\": \"vote\", \"input\": \"q\", \"kind\": \"generate\","
                            " \"prompt\": \"{{input}}\", \"decomposition\": {\"strategy\": \"ensemble\","
                            " \"k\": 4}, \"aggregation\": {\"method\": \"vote\"}, \"limits\":"
                            " {\"max_tokens\": 3}}");
    for (size_t u = 0; u < sizeof(urls) / sizeof(urls[0]); u++) {
        /* n3 slow: three agreeing members decide before it answers */
        swarm_runtime_params p = battery_params(urls[u], "slow=n3x40");
        swarm_run_result *r = run_task(s, &p, t);
        assert_int_equal(r->status, SWARM_OK);
        print_message("%s early stop: %zu members canceled\n", urls[u],
                      rows_with(r, SWARM_OUTCOME_CANCELED, NULL, "early-stop"));
        assert_true(rows_with(r, SWARM_OUTCOME_CANCELED, NULL, "early-stop") >= 1);
        swarm_run_check c;
        swarm_run_check_trace(r, &c);
        assert_int_equal(c.lost + c.double_committed + c.stuck, 0);
        swarm_run_result_destroy(r);
    }
    swarm_task_destroy(t);
    swarm_swarm_destroy(s);
}

/* Fencing: a result stamped with an earlier run's id (a worker answering a
 * dispatch of a run before, on the same runtime, with the same subtask,
 * epoch and node), injected at the transport ahead of every genuine result,
 * is never counted. */
typedef struct fence_wrap {
    const sw_transport_ops *real;
    sw_transport_ops ops;
    size_t injected;
} fence_wrap;
static fence_wrap wrap; /* one runtime at a time in this test */

static size_t recv_with_stale(sw_transport *t, sw_event *evs, size_t max, double timeout_ms)
{
    size_t n = wrap.real->recv(t, evs, max / 2, timeout_ms);
    size_t out = n;
    for (size_t i = 0; i < n; i++) {
        if (evs[i].type != SW_EV_RESULT || evs[i].probe || evs[i].rc != SWARM_OK || evs[i].sub < 0)
            continue;
        sw_event forged = evs[i];
        forged.run = evs[i].run - 1; /* the run before: same subtask, epoch and node */
        forged.text = sw_strdup("STALE");
        assert_non_null(forged.text);
        forged.crc = sw_crc32(forged.text, strlen(forged.text));
        evs[out++] = evs[i];
        evs[i] = forged;
        wrap.injected++;
    }
    return out;
}

static void test_battery_fencing(void **state)
{
    (void)state;
    swarm_swarm *s = battery_swarm();
    swarm_task *t = task_of(mr_json);
    swarm_runtime_params p = battery_params("inproc:", NULL);
    swarm_run_result *base = run_task(s, &p, t);
    for (size_t u = 0; u < sizeof(urls) / sizeof(urls[0]); u++) {
        p = battery_params(urls[u], NULL);
        swarm_runtime *rt = NULL;
        swarm_diag d = {{0}};
        CHECK_OK(swarm_runtime_create(s, &p, &rt, &d));
        swarm_run_result *first = NULL; /* untouched: its id is the one forged */
        CHECK_OK(swarm_runtime_run(rt, t, &first, &d));
        swarm_run_result_destroy(first);
        sw_transport *tp = sw_runtime_transport(rt);
        sw_runtime_pause(rt);
        wrap.real = tp->ops;
        wrap.ops = *tp->ops;
        wrap.ops.recv = recv_with_stale;
        wrap.injected = 0;
        tp->ops = &wrap.ops;
        sw_runtime_resume(rt);
        swarm_run_result *r = NULL;
        CHECK_OK(swarm_runtime_run(rt, t, &r, &d));
        sw_runtime_pause(rt);
        tp->ops = wrap.real;
        sw_runtime_resume(rt);
        char what[64];
        snprintf(what, sizeof(what), "%s fencing", urls[u]);
        assert_like_baseline(what, r, base);
        assert_true(wrap.injected >= r->n_subtasks);
        for (size_t k = 0; k < r->n_subtasks; k++)
            assert_null(strstr(r->subtasks[k].text ? r->subtasks[k].text : "", "STALE"));
        swarm_run_result_destroy(r);
        swarm_runtime_destroy(rt);
    }
    swarm_run_result_destroy(base);
    swarm_task_destroy(t);
    swarm_swarm_destroy(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_battery_faults),
        cmocka_unit_test(test_battery_early_stop),
        cmocka_unit_test(test_battery_fencing),
    };
    return CHECK_RUN(tests, NULL, NULL);
}
