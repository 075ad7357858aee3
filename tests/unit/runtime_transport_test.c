/* runtime_transport_test.c: the transport contract (transport.h) on every
 * transport, chosen by URL scheme: the same answers through inproc: and
 * proc: (the wire format on the way), unknown schemes refused with the
 * known ones named, membership: a worker process that dies is reported as
 * SW_EV_NODE_DOWN, once; and faults (--chaos) acting alike on both. */
#include <signal.h>
#include <string.h>
#include <sys/types.h>

#include "check.h"
#include "runtime/runtime_int.h"

static swarm_swarm *echo_swarm(int n)
{
    char buf[2048];
    size_t o = (size_t)snprintf(buf, sizeof(buf), "{\"nodes\": [");
    for (int i = 0; i < n; i++)
        o += (size_t)snprintf(buf + o, sizeof(buf) - o,
                              "%s{\"name\": \"n%d\", \"backend\": {\"type\": \"echo\", "
                              "\"latency_ms\": 1}, \"skills\": {\"*\": 0.9}}",
                              i ? ", " : "", i);
    snprintf(buf + o, sizeof(buf) - o, "]}");
    swarm_swarm *s = NULL;
    swarm_diag d = {{0}};
    CHECK_OK(swarm_swarm_parse(buf, strlen(buf), ".", &s, &d));
    return s;
}

static swarm_runtime *open_rt(const swarm_swarm *s, const char *url)
{
    swarm_runtime_params p = swarm_runtime_params_default();
    p.transport_url = url;
    p.seed = 1;
    swarm_runtime *rt = NULL;
    swarm_diag d = {{0}};
    swarm_err rc = swarm_runtime_create(s, &p, &rt, &d);
    if (rc) print_error("%s: %s\n", url, d.msg);
    CHECK_OK(rc);
    return rt;
}

static void test_runtime_transport_same_answers_on_every_scheme(void **state)
{
    (void)state;
    swarm_swarm *s = echo_swarm(2);
    static const char *const urls[] = {"inproc:", "proc:"};
    static const char *const labels[] = {" yes", " no"};
    char *first_gen = NULL, *first_cls = NULL;
    for (size_t u = 0; u < 2; u++) {
        swarm_runtime *rt = open_rt(s, urls[u]);
        swarm_diag d = {{0}};
        for (size_t node = 0; node < 2; node++) {
            char *gen = NULL, *cls = NULL;
            double v, c;
            CHECK_OK(swarm_runtime_exec(rt, node, SWARM_SUBTASK_GENERATE, "tell \xe2\x80\x9cme\xe2\x80\x9d",
                                        NULL, 0, 8, 5000, &gen, &v, &c, &d));
            CHECK_OK(swarm_runtime_exec(rt, node, SWARM_SUBTASK_CLASSIFY, "is it?", labels, 2, 8,
                                        5000, &cls, &v, &c, &d));
            if (first_gen == NULL) {
                first_gen = gen;
                first_cls = cls;
                continue;
            }
            /* echo answers depend on the prompt only: equal on every transport */
            assert_string_equal(gen, first_gen);
            assert_string_equal(cls, first_cls);
            swarm_free(gen);
            swarm_free(cls);
        }
        swarm_runtime_destroy(rt);
    }
    swarm_free(first_gen);
    swarm_free(first_cls);
    swarm_swarm_destroy(s);
}

static void test_runtime_transport_unknown_scheme(void **state)
{
    (void)state;
    swarm_swarm *s = echo_swarm(1);
    static const char *const bad[] = {"nats://localhost:4222", "inproc:x", "proc", "", "INPROC:"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        swarm_runtime_params p = swarm_runtime_params_default();
        p.transport_url = bad[i];
        swarm_runtime *rt = NULL;
        swarm_diag d = {{0}};
        CHECK_ERR(swarm_runtime_create(s, &p, &rt, &d), SWARM_EINVAL);
        assert_null(rt);
        assert_non_null(strstr(d.msg, "transport '"));
    }
    swarm_swarm_destroy(s);
}

static void test_runtime_transport_node_down_event(void **state)
{
    (void)state;
    swarm_swarm *s = echo_swarm(2);
    swarm_runtime *rt = open_rt(s, "proc:");
    sw_transport *tp = sw_runtime_transport(rt);
    sw_runtime_pause(rt); /* this test reads the transport's events itself */
    int pid = sw_transport_proc_pid(tp, 1);
    assert_true(pid > 0);
    assert_int_equal(kill((pid_t)pid, SIGKILL), 0);
    int down[2] = {0, 0};
    sw_event evs[64];
    double end = sw_now_ms() + 3000;
    while (sw_now_ms() < end && down[1] == 0) {
        size_t n = tp->ops->recv(tp, evs, 64, 20);
        for (size_t i = 0; i < n; i++) {
            if (evs[i].type == SW_EV_NODE_DOWN) down[evs[i].node]++;
            sw_free(evs[i].text);
        }
    }
    /* a little longer: it is told once */
    end = sw_now_ms() + 200;
    while (sw_now_ms() < end) {
        size_t n = tp->ops->recv(tp, evs, 64, 20);
        for (size_t i = 0; i < n; i++) {
            if (evs[i].type == SW_EV_NODE_DOWN) down[evs[i].node]++;
            sw_free(evs[i].text);
        }
    }
    assert_int_equal(down[1], 1);
    assert_int_equal(down[0], 0);
    sw_runtime_resume(rt);
    swarm_runtime_destroy(rt);
    swarm_swarm_destroy(s);
}

/* Faults are a wrapper around the transport (fault.c): the same --chaos
 * spec acts alike whether the nodes are threads or processes. */
static void test_runtime_transport_faults_on_every_scheme(void **state)
{
    (void)state;
    static const char *task_json =
        "{\"name\": \"f\", \"input\": \"a b c d e f g h i j k l\", \"kind\": \"generate\","
        " \"decomposition\": {\"strategy\": \"map-reduce\", \"chunk\": {\"by\": \"tokens\","
        " \"size\": 2, \"overlap\": 0}, \"map_prompt\": \"map {{chunk}}\","
        " \"reduce_prompt\": \"reduce {{results}}\"}, \"aggregation\": {\"method\": \"max-weight\"},"
        " \"limits\": {\"max_tokens\": 4, \"max_retries\": 3}}";
    swarm_swarm *s = echo_swarm(3);
    swarm_task *t = NULL;
    swarm_diag d = {{0}};
    CHECK_OK(swarm_task_parse(task_json, strlen(task_json), &t, &d));
    static const char *const urls[] = {"inproc:", "proc:"};
    char *text[2] = {NULL, NULL};
    for (size_t u = 0; u < 2; u++) {
        swarm_runtime_params p = swarm_runtime_params_default();
        p.transport_url = urls[u];
        p.seed = 5;
        p.hedge = false;
        p.chaos = "corrupt=n0,kill=n1#1";
        /* every copy placed on the corrupt node costs a retry: how many it
         * gets depends on timing, so the run-wide budget must not decide */
        p.retry_budget = 1.0;
        swarm_runtime *rt = NULL;
        CHECK_OK(swarm_runtime_create(s, &p, &rt, &d));
        swarm_run_result *r = NULL;
        CHECK_OK(swarm_runtime_run(rt, t, &r, &d));
        if (r->status != SWARM_OK) print_error("%s: %s\n", urls[u], r->error);
        assert_int_equal(r->status, SWARM_OK);
        size_t corrupt = 0, lost_on_n1 = 0, done_on_n2 = 0;
        for (size_t q = 0; q < r->n_trace; q++) {
            const swarm_trace_row *row = &r->trace[q];
            if (strcmp(row->node_name, "n0") == 0 && row->note &&
                strstr(row->note, "checksum mismatch"))
                corrupt++;
            if (strcmp(row->node_name, "n1") == 0 && row->outcome != SWARM_OUTCOME_DONE)
                lost_on_n1++;
            if (strcmp(row->node_name, "n2") == 0 && row->outcome == SWARM_OUTCOME_DONE)
                done_on_n2++;
        }
        print_message("%s: %zu corrupt answers from n0, %zu attempts lost on n1, %zu done on n2\n",
                      urls[u], corrupt, lost_on_n1, done_on_n2);
        assert_true(corrupt >= 1);     /* every n0 answer fails its checksum */
        assert_true(lost_on_n1 >= 1);  /* n1 died on its first subtask */
        assert_true(done_on_n2 >= 1);  /* the healthy node did the work */
        swarm_run_check c;
        swarm_run_check_trace(r, &c);
        assert_int_equal(c.lost + c.double_committed + c.stuck, 0);
        text[u] = r->text ? sw_strdup(r->text) : NULL;
        swarm_run_result_destroy(r);
        swarm_runtime_destroy(rt);
    }
    /* the same answer whatever the transport */
    assert_non_null(text[0]);
    assert_non_null(text[1]);
    assert_string_equal(text[0], text[1]);
    sw_free(text[0]);
    sw_free(text[1]);
    swarm_task_destroy(t);
    swarm_swarm_destroy(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_runtime_transport_same_answers_on_every_scheme),
        cmocka_unit_test(test_runtime_transport_unknown_scheme),
        cmocka_unit_test(test_runtime_transport_node_down_event),
        cmocka_unit_test(test_runtime_transport_faults_on_every_scheme),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
