/*
 * runtime_fence_test.c: the run-id fence. A result stamped with another
 * run's id (a worker answering a dispatch of an earlier run on the same
 * runtime) must never be counted, even when its subtask, epoch and node
 * match a running attempt of the current run. The stale results are
 * injected at the transport: a wrapper around the real transport's recv
 * places a forged copy, from another run, ahead of every genuine result.
 */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "runtime/runtime_int.h"

/* The wrapper needs the real ops; a test has one runtime at a time. */
typedef struct fence_wrap {
    const sw_transport_ops *real;
    sw_transport_ops ops;
    size_t injected;
} fence_wrap;
static fence_wrap wrap;

static size_t recv_with_stale(sw_transport *t, sw_event *evs, size_t max, double timeout_ms)
{
    size_t n = wrap.real->recv(t, evs, max / 2, timeout_ms);
    size_t out = n;
    for (size_t i = 0; i < n; i++) {
        if (evs[i].type != SW_EV_RESULT || evs[i].probe || evs[i].rc != SWARM_OK) continue;
        sw_event forged = evs[i];
        forged.run = evs[i].run - 1; /* the same subtask/epoch/node of another run */
        forged.text = sw_strdup("STALE");
        assert_non_null(forged.text);
        forged.crc = sw_crc32(forged.text, strlen(forged.text));
        /* ahead of the genuine result: without the fence it would win */
        evs[out++] = evs[i];
        evs[i] = forged;
        wrap.injected++;
    }
    return out;
}

static void test_runtime_stale_run_results_fenced(void **state)
{
    (void)state;
    const char *sj = "{\"nodes\": ["
                     "{\"name\": \"a\", \"backend\": {\"type\": \"echo\", \"latency_ms\": 1},"
                     " \"capacity\": 2, \"skills\": {\"*\": 0.9}},"
                     "{\"name\": \"b\", \"backend\": {\"type\": \"echo\", \"latency_ms\": 1},"
                     " \"capacity\": 2, \"skills\": {\"*\": 0.8}}]}";
    const char *tj = "{\"name\": \"e\", \"input\": \"q\", \"skill\": \"s\", \"kind\": \"generate\","
                     " \"prompt\": \"p {{input}}\", \"decomposition\": {\"strategy\": \"ensemble\","
                     " \"k\": 8}, \"aggregation\": {\"method\": \"vote\"},"
                     " \"limits\": {\"max_tokens\": 2}}";
    swarm_swarm *s = NULL;
    swarm_task *t = NULL;
    swarm_diag d = {{0}};
    CHECK_OK(swarm_swarm_parse(sj, strlen(sj), NULL, &s, &d));
    CHECK_OK(swarm_task_parse(tj, strlen(tj), &t, &d));
    swarm_runtime_params p = swarm_runtime_params_default();
    p.seed = 3;
    p.early_stop = false;
    p.hedge = false;
    swarm_runtime *rt = NULL;
    CHECK_OK(swarm_runtime_create(s, &p, &rt, &d));
    /* a first run, untouched: the second run's id differs from it */
    swarm_run_result *first = NULL;
    CHECK_OK(swarm_runtime_run(rt, t, &first, &d));
    assert_int_equal(first->status, SWARM_OK);

    /* the coordinator thread calls the transport: parked while its ops change */
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
    print_message("injected %zu stale results; status %s\n", wrap.injected,
                  r->status == SWARM_OK ? "ok" : r->error);
    assert_true(wrap.injected >= 8);
    assert_int_equal(r->status, SWARM_OK);
    for (size_t k = 0; k < r->n_subtasks; k++) {
        assert_int_equal(r->subtasks[k].state, SWARM_OUTCOME_DONE);
        assert_non_null(r->subtasks[k].text);
        assert_null(strstr(r->subtasks[k].text, "STALE"));
        assert_string_equal(r->subtasks[k].text, first->subtasks[k].text);
    }
    assert_null(strstr(r->text ? r->text : "", "STALE"));
    swarm_run_check c;
    swarm_run_check_trace(r, &c);
    assert_int_equal(c.double_committed, 0);
    assert_int_equal(c.lost, 0);
    swarm_run_result_destroy(first);
    swarm_run_result_destroy(r);
    swarm_runtime_destroy(rt);
    swarm_task_destroy(t);
    swarm_swarm_destroy(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_runtime_stale_run_results_fenced),
    };
    return CHECK_RUN(tests, NULL, NULL);
}
