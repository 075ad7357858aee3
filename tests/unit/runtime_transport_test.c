/* runtime_transport_test.c: the transport contract (transport.h) on every
 * transport, chosen by URL scheme: the same answers through inproc: and
 * proc: (the wire format on the way), unknown schemes refused with the
 * known ones named, and membership: a worker process that dies is reported
 * as SW_EV_NODE_DOWN, once. */
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
    swarm_runtime_destroy(rt);
    swarm_swarm_destroy(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_runtime_transport_same_answers_on_every_scheme),
        cmocka_unit_test(test_runtime_transport_unknown_scheme),
        cmocka_unit_test(test_runtime_transport_node_down_event),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
