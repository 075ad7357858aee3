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

/* The conviction point of phi-accrual with Akka's logistic tail, computed
 * here independently of clock.c: phi = -log10(e / (1 + e)) with
 * e = exp(-y (1.5976 + 0.070566 y^2)), y = (t - mean - pause) / sd, exceeds
 * `threshold` where y (1.5976 + 0.070566 y^2) = ln((1 - 10^-thr) / 10^-thr);
 * the left side is increasing, so bisection finds y. */
static double phi_conviction_ms(double mean, double sd, double pause, double threshold)
{
    double p = pow(10, -threshold), target = log((1 - p) / p);
    double lo = 0, hi = 100;
    for (int i = 0; i < 200; i++) {
        double y = (lo + hi) / 2;
        if (y * (1.5976 + 0.070566 * y * y) < target) lo = y;
        else hi = y;
    }
    return mean + pause + lo * sd;
}

/* First time (0.05 ms steps on the simulated clock) phi exceeds 8. */
static double first_conviction(const sw_phi *p, double last)
{
    for (double now = last; now < last + 5000; now += 0.05)
        if (sw_phi_value(p, now) > 8) return now - last;
    return -1;
}

/* The formula itself, in a tight window: regular 100 ms heartbeats (sd 0,
 * floored at 20 ms) convict 404.5 ms after the last one; intervals
 * alternating 60/140 ms (sd 40 ms, above the floor) at 509 ms. A wrong log
 * base (367 ms), a missing sd floor or the pause left out all miss. */
static void test_runtime_phi_formula(void **state)
{
    (void)state;
    sw_phi p;
    sw_phi_init(&p, 100, 200, 20);
    double t = 0;
    for (int b = 0; b < 30; b++) sw_phi_heartbeat(&p, t += 100);
    double want = phi_conviction_ms(100, 20, 200, 8), got = first_conviction(&p, t);
    print_message("regular beats: conviction after %.2f ms (formula %.2f ms)\n", got, want);
    assert_true(want > 404 && want < 405);
    assert_true(fabs(got - want) <= 0.1);
    /* at y = 0 the tail probability is 1/2 */
    assert_true(fabs(sw_phi_value(&p, t + 300) - log10(2)) < 1e-3);
    assert_true(sw_phi_value(&p, t + 50) < 0.01);

    /* the window: Akka's bootstrap samples (75 and 125 ms for a 100 ms
     * period), then 20 intervals of 140 ms and 19 of 60 ms */
    sw_phi_init(&p, 100, 200, 20);
    t = 0;
    double sum = 75 + 125, sumsq = 75 * 75 + 125 * 125;
    int n = 2;
    for (int b = 0; b < 40; b++) {
        double iv = b % 2 ? 140 : 60;
        if (b > 0) sum += iv, sumsq += iv * iv, n++;
        sw_phi_heartbeat(&p, t += iv);
    }
    double mean = sum / n, sd = sqrt(sumsq / n - mean * mean);
    want = phi_conviction_ms(mean, sd, 200, 8);
    got = first_conviction(&p, t);
    print_message("60/140 ms beats: conviction after %.2f ms (formula %.2f ms)\n", got, want);
    assert_true(sd > 35 && want > 500 && want < 510);
    assert_true(fabs(got - want) <= 0.1);
}

/* Re-admission on a simulated clock (B5): one conviction re-admits after 3
 * consecutive heartbeats; a gap restarts the count; the second conviction
 * keeps the node out for the back-off even while it heartbeats; the
 * back-off grows with convictions up to x10. */
static void test_runtime_readmission_backoff(void **state)
{
    (void)state;
    sw_readmit_rule r = {.heartbeat_ms = 100, .acceptable_pause_ms = 200,
                         .flap_backoff_ms = 1000, .heartbeats = 3};
    int32_t count = 0;
    double nb = sw_readmit_not_before(&r, 1000, 1); /* first conviction: no back-off */
    assert_true(nb == 1000);
    assert_false(sw_readmit_heartbeat(&r, &count, 1000, 1100, nb));
    assert_false(sw_readmit_heartbeat(&r, &count, 1100, 1200, nb));
    assert_true(sw_readmit_heartbeat(&r, &count, 1200, 1300, nb));

    /* a gap of more than 2 intervals + the pause (400 ms) restarts the count */
    count = 0;
    assert_false(sw_readmit_heartbeat(&r, &count, 1000, 1100, nb));
    assert_false(sw_readmit_heartbeat(&r, &count, 1100, 1501, nb));
    assert_int_equal(count, 1);
    assert_false(sw_readmit_heartbeat(&r, &count, 1501, 1600, nb));
    assert_true(sw_readmit_heartbeat(&r, &count, 1600, 1700, nb));
    /* exactly 400 ms is not a gap */
    count = 1;
    assert_false(sw_readmit_heartbeat(&r, &count, 1700, 2100, nb));
    assert_int_equal(count, 2);

    /* second conviction at 2000: out until 3000 despite steady heartbeats */
    count = 0;
    nb = sw_readmit_not_before(&r, 2000, 2);
    assert_true(nb == 3000);
    double last = 2000, back = -1;
    for (double now = 2100; now <= 4000; now += 100) {
        if (sw_readmit_heartbeat(&r, &count, last, now, nb)) {
            back = now;
            break;
        }
        last = now;
    }
    assert_true(back == 3000);
    /* third: 2 s; the multiplier stops at 10 */
    assert_true(sw_readmit_not_before(&r, 5000, 3) == 7000);
    assert_true(sw_readmit_not_before(&r, 5000, 11) == 15000);
    assert_true(sw_readmit_not_before(&r, 5000, 50) == 15000);
    /* no back-off configured: every conviction re-admits on heartbeats */
    r.flap_backoff_ms = 0;
    assert_true(sw_readmit_not_before(&r, 5000, 7) == 5000);
}

/* B1: heartbeat 100 ms with jitter, then silence: conviction (phi > 8) must
 * come 400..415 ms after the last heartbeat (formula 404.5 ms plus the
 * jitter's effect on the mean). 200 trials. */
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
    assert_true(best >= 395);
    assert_true(worst <= 415);
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
        cmocka_unit_test(test_runtime_phi_formula),
        cmocka_unit_test(test_runtime_readmission_backoff),
        cmocka_unit_test(test_runtime_phi_detection_latency),
        cmocka_unit_test(test_runtime_phi_bootstrap_and_forgive),
        cmocka_unit_test(test_runtime_hlc_monotonic),
        cmocka_unit_test(test_runtime_swarm_file),
        cmocka_unit_test(test_runtime_openai_refused),
        cmocka_unit_test(test_runtime_alloc_failure_sweep),
    };
    return CHECK_RUN(tests, NULL, NULL);
}
