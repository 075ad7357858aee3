/*
 * runtime_core_test.c: the runtime's pure pieces: phi-accrual detection
 * latency on a simulated clock (TESTPLAN B1), the observer-pause rule (B3),
 * HLC ordering, the bounded queue, chaos specs and the swarm file parser.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "runtime/runtime_int.h"

/* B1: heartbeat 100 ms with jitter, then silence: conviction (phi > 8) must
 * come 400..600 ms after the last heartbeat (formula ~412 ms). 200 trials. */
static void test_runtime_phi_detection_latency(void **state)
{
    (void)state;
    uint64_t seed = 12345;
    double worst = 0, best = 1e9;
    for (int trial = 0; trial < 200; trial++) {
        sw_phi p;
        sw_phi_init(&p, 100, 200, 20);
        double t = 0;
        int beats = 20 + (int)(sw_rand64(&seed) % 200);
        for (int b = 0; b < beats; b++) {
            t += 100 + (sw_rand01(&seed) - 0.5) * 10; /* +-5 ms jitter */
            sw_phi_heartbeat(&p, t);
        }
        double last = t, conv = -1;
        for (double now = last; now < last + 2000; now += 1) {
            /* before the acceptable pause the node is never suspected */
            if (now - last < 250) assert_true(sw_phi_value(&p, now) < 8);
            if (sw_phi_value(&p, now) > 8) {
                conv = now - last;
                break;
            }
        }
        assert_true(conv > 0);
        if (conv > worst) worst = conv;
        if (conv < best) best = conv;
    }
    print_message("phi detection latency after last heartbeat: min %.0f ms, max %.0f ms\n", best,
                  worst);
    assert_true(best >= 350);
    assert_true(worst <= 600);
}

/* The first heartbeat bootstraps; before it phi is 0 (no conviction). */
static void test_runtime_phi_bootstrap_and_forgive(void **state)
{
    (void)state;
    sw_phi p;
    sw_phi_init(&p, 100, 200, 20);
    assert_true(sw_phi_value(&p, 1e6) == 0);
    sw_phi_heartbeat(&p, 1000);
    assert_true(sw_phi_value(&p, 1100) < 1);
    assert_true(sw_phi_value(&p, 1000 + 2000) > 8);
    /* B3: the observer stalled 2 s; forgiving resets the silence */
    sw_phi_forgive(&p, 3000);
    assert_true(sw_phi_value(&p, 3050) < 1);
}

static void test_runtime_hlc_monotonic(void **state)
{
    (void)state;
    sw_hlc a = {0}, b = {0};
    uint64_t t1 = sw_hlc_now(&a, 1000);
    uint64_t t2 = sw_hlc_now(&a, 1000); /* same physical ms: counter grows */
    assert_true(t2 > t1);
    uint64_t t3 = sw_hlc_now(&a, 900); /* clock went back: still grows */
    assert_true(t3 > t2);
    /* b's clock is behind; receiving a's stamp puts b after it */
    uint64_t r = sw_hlc_recv(&b, t3, 500);
    assert_true(r > t3);
    assert_true(sw_hlc_now(&b, 500) > r);
    assert_int_equal(sw_hlc_physical(t1), 1000);
}

static void test_runtime_queue_bound_and_priority(void **state)
{
    (void)state;
    sw_pq q;
    CHECK_OK(sw_pq_init(&q, 4));
    int v[6] = {0, 1, 2, 3, 4, 5};
    CHECK_OK(sw_pq_push(&q, 0, &v[0], NULL));
    CHECK_OK(sw_pq_push(&q, 5, &v[1], NULL));
    CHECK_OK(sw_pq_push(&q, 0, &v[2], NULL));
    CHECK_OK(sw_pq_push(&q, 5, &v[3], NULL));
    CHECK_ERR(sw_pq_push(&q, 9, &v[4], NULL), SWARM_EFULL); /* back-pressure, no growth */
    int order[4];
    sw_pq_item it;
    for (int i = 0; i < 4; i++) {
        assert_true(sw_pq_pop(&q, &it));
        order[i] = *(int *)it.ptr;
    }
    assert_false(sw_pq_pop(&q, &it));
    /* higher priority first, FIFO within a priority */
    assert_int_equal(order[0], 1);
    assert_int_equal(order[1], 3);
    assert_int_equal(order[2], 0);
    assert_int_equal(order[3], 2);
    sw_pq_fini(&q);
}

static const char *swarm3 =
    "{\"nodes\": ["
    "{\"name\": \"a\", \"backend\": {\"type\": \"echo\"}, \"capacity\": 2, \"zone\": \"z1\","
    " \"coordinates\": [0, 0], \"skills\": {\"story\": 0.9}},"
    "{\"name\": \"b\", \"backend\": {\"type\": \"echo\"}, \"capacity\": 2, \"coordinates\": [3, 4],"
    " \"skills\": {\"*\": 0.5}},"
    "{\"name\": \"c\", \"backend\": {\"type\": \"local\", \"model\": \"${SWARM_NO_SUCH_VAR:-../m}/x.bin\","
    " \"sampling\": {\"temperature\": 0}}}]}";

static void test_runtime_swarm_file(void **state)
{
    (void)state;
    swarm_swarm *s = NULL;
    swarm_diag d = {{0}};
    CHECK_OK(swarm_swarm_parse(swarm3, strlen(swarm3), "/base/dir", &s, &d));
    assert_int_equal(swarm_swarm_count(s), 3);
    assert_int_equal(swarm_swarm_find(s, "b"), 1);
    assert_true(fabs(swarm_swarm_distance(s, 0, 1) - 5) < 1e-12);
    assert_true(swarm_node_compat(swarm_swarm_node(s, 0), "story") == 0.9);
    assert_true(swarm_node_compat(swarm_swarm_node(s, 0), "math") == 0);
    assert_true(swarm_node_compat(swarm_swarm_node(s, 1), "math") == 0.5);
    assert_string_equal(swarm_swarm_node(s, 2)->model_path, "/base/dir/../m/x.bin");
    assert_int_equal(swarm_swarm_node(s, 2)->capacity, 1);
    sw_chaos c;
    CHECK_OK(sw_chaos_parse("kill=b@150ms,p_kill=0.1,slow=ax4,corrupt=a,pause=a@1s+200ms", s, &c, &d));
    assert_true(c.nodes[1].kill_at_ms == 150);
    assert_true(c.nodes[0].slow == 4);
    assert_true(c.nodes[0].corrupt);
    assert_true(c.nodes[0].n_pauses == 1 && c.nodes[0].pause_at_ms[0] == 1000 &&
                c.nodes[0].pause_ms[0] == 200);
    assert_true(c.p_kill == 0.1);
    sw_chaos_fini(&c);
    CHECK_ERR(sw_chaos_parse("kill=zz@1ms", s, &c, &d), SWARM_EINVAL);
    assert_non_null(strstr(d.msg, "zz"));
    CHECK_ERR(sw_chaos_parse("slow=ax0", s, &c, &d), SWARM_EINVAL);
    CHECK_ERR(sw_chaos_parse("boom=a", s, &c, &d), SWARM_EINVAL);
    /* flapping: several pause windows, in order; duplicates are refused */
    CHECK_OK(sw_chaos_parse("pause=a@100ms+50ms,pause=a@200ms+50ms,pause=a@1s+1s", s, &c, &d));
    assert_int_equal(c.nodes[0].n_pauses, 3);
    assert_true(c.nodes[0].pause_at_ms[2] == 1000 && c.nodes[0].pause_ms[2] == 1000);
    sw_chaos_fini(&c);
    CHECK_ERR(sw_chaos_parse("pause=a@100ms+200ms,pause=a@200ms+50ms", s, &c, &d), SWARM_EINVAL);
    CHECK_ERR(sw_chaos_parse("kill=a@1ms,kill=a@2ms", s, &c, &d), SWARM_EINVAL);
    assert_non_null(strstr(d.msg, "twice"));
    CHECK_ERR(sw_chaos_parse("slow=ax2,slow=ax3", s, &c, &d), SWARM_EINVAL);
    swarm_swarm_destroy(s);

    static const char *bad[][2] = {
        {"{\"nodes\": []}", "non-empty"},
        {"{\"nodes\": [{\"name\": \"a\"}]}", "backend"},
        {"{\"nodes\": [{\"name\": \"a\", \"backend\": {\"type\": \"gpu\"}}]}", "unknown backend"},
        {"{\"nodes\": [{\"name\": \"a\", \"backend\": {\"type\": \"echo\"}, \"capacity\": 0}]}", "capacity"},
        {"{\"nodes\": [{\"name\": \"a\", \"backend\": {\"type\": \"echo\"}, \"skills\": {\"x\": 2}}]}", "skills.x"},
        {"{\"nodes\": [{\"name\": \"a\", \"backend\": {\"type\": \"echo\"}, \"colour\": 1}]}", "colour"},
        {"{\"nodes\": [{\"name\": \"a\", \"backend\": {\"type\": \"echo\"}},"
         " {\"name\": \"a\", \"backend\": {\"type\": \"echo\"}}]}", "duplicate"},
        {"{\"nodes\": [{\"name\": \"a\", \"backend\": {\"type\": \"local\"}}]}", "model"},
        {"{\"nodes\": [{\"name\": \"a\", \"backend\": {\"type\": \"openai\", \"model\": \"m\","
         " \"base_url\": \"ftp://x\"}}]}", "base_url"},
        {"{\"nodes\": [{\"name\": \"a\", \"backend\": {\"type\": \"echo\"}, \"accuracy\": 1.5}]}", "accuracy"},
        {"[1, 2]", "object"},
        {"{\"nodes\": [", "line"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        memset(&d, 0, sizeof(d));
        swarm_swarm *t = NULL;
        swarm_err rc = swarm_swarm_parse(bad[i][0], strlen(bad[i][0]), NULL, &t, &d);
        if (rc == SWARM_OK || strstr(d.msg, bad[i][1]) == NULL)
            print_error("case %zu: rc %d msg '%s' (want '%s')\n", i, rc, d.msg, bad[i][1]);
        assert_int_not_equal(rc, SWARM_OK);
        assert_null(t);
        assert_non_null(strstr(d.msg, bad[i][1]));
    }
}

static void test_runtime_openai_refused(void **state)
{
    (void)state;
    const char *j = "{\"nodes\": [{\"name\": \"o\", \"backend\": {\"type\": \"openai\","
                    " \"base_url\": \"http://127.0.0.1:8080/v1\", \"model\": \"m\","
                    " \"api_key_env\": \"KEY\"}}]}";
    swarm_swarm *s = NULL;
    swarm_diag d = {{0}};
    CHECK_OK(swarm_swarm_parse(j, strlen(j), NULL, &s, &d));
    assert_int_equal(swarm_swarm_node(s, 0)->backend, SWARM_BACKEND_OPENAI);
    swarm_runtime *rt = NULL;
    CHECK_ERR(swarm_runtime_create(s, NULL, &rt, &d), SWARM_EUNSUPPORTED);
    assert_non_null(strstr(d.msg, "openai backend not available in this build"));
    assert_null(rt);
    swarm_swarm_destroy(s);
}

/* H5: fail the n-th allocation of the constructors until they succeed:
 * always SWARM_ENOMEM (or success), never a crash or a leak (ASan). */
static void test_runtime_alloc_failure_sweep(void **state)
{
    (void)state;
    const char *js = "{\"nodes\": [{\"name\": \"a\", \"backend\": {\"type\": \"echo\"},"
                     " \"capacity\": 2, \"zone\": \"z\", \"skills\": {\"x\": 0.5, \"y\": 1}},"
                     " {\"name\": \"b\", \"backend\": {\"type\": \"echo\"}}]}";
    int n;
    for (n = 0; n < 1000; n++) {
        swarm_swarm *s = NULL;
        sw_alloc_fail_after(n);
        swarm_err rc = swarm_swarm_parse(js, strlen(js), "/d", &s, NULL);
        sw_alloc_fail_after(-1);
        if (rc == SWARM_OK) {
            swarm_swarm_destroy(s);
            break;
        }
        assert_int_equal(rc, SWARM_ENOMEM);
        assert_null(s);
    }
    assert_true(n > 3 && n < 1000);
    swarm_swarm *s = NULL;
    CHECK_OK(swarm_swarm_parse(js, strlen(js), NULL, &s, NULL));
    swarm_runtime_params p = swarm_runtime_params_default();
    p.chaos = "slow=ax2";
    p.seed = 1;
    for (n = 0; n < 1000; n++) {
        swarm_runtime *rt = NULL;
        sw_alloc_fail_after(n);
        swarm_err rc = swarm_runtime_create(s, &p, &rt, NULL);
        sw_alloc_fail_after(-1);
        if (rc == SWARM_OK) {
            swarm_runtime_destroy(rt);
            break;
        }
        assert_int_equal(rc, SWARM_ENOMEM);
        assert_null(rt);
    }
    assert_true(n > 3 && n < 1000);
    swarm_swarm_destroy(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_runtime_phi_detection_latency),
        cmocka_unit_test(test_runtime_phi_bootstrap_and_forgive),
        cmocka_unit_test(test_runtime_hlc_monotonic),
        cmocka_unit_test(test_runtime_queue_bound_and_priority),
        cmocka_unit_test(test_runtime_swarm_file),
        cmocka_unit_test(test_runtime_openai_refused),
        cmocka_unit_test(test_runtime_alloc_failure_sweep),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
