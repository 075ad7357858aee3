/* runtime_estimates_test.c: the estimates of T_i and E_i (estimates.c),
 * tested directly now that they live outside sched.c: the swarm file's
 * time per token until measured, the EWMA of measurements per (node,
 * skill), bad measurements ignored, and energy from watts or J/token. */
#include <math.h>
#include <string.h>

#include "check.h"
#include "runtime/sched_int.h"

static const char *swarm_json =
    "{\"nodes\": [{\"name\": \"w\", \"backend\": {\"type\": \"echo\"}, \"time_per_token_ms\": 40,"
    " \"power_watts\": 10}, {\"name\": \"j\", \"backend\": {\"type\": \"echo\"},"
    " \"time_per_token_ms\": 20, \"energy_per_token_j\": 0.5}]}";

static void test_runtime_estimates_ewma_and_energy(void **state)
{
    (void)state;
    swarm_diag d = {{0}};
    swarm_swarm *s = NULL;
    CHECK_OK(swarm_swarm_parse(swarm_json, strlen(swarm_json), ".", &s, &d));
    swarm_runtime_params p = swarm_runtime_params_default();
    swarm_runtime *rt = NULL;
    CHECK_OK(swarm_runtime_create(s, &p, &rt, &d));
    /* unmeasured: the swarm file's figure */
    assert_true(sw_est_ms_per_token(rt, 0, "code") == 40);
    assert_true(sw_est_ms_per_token(rt, 1, NULL) == 20);
    /* the first measurement replaces it, later ones are averaged with alpha */
    sw_est_update(rt, 0, "code", 100, 10); /* 10 ms/token */
    assert_true(fabs(sw_est_ms_per_token(rt, 0, "code") - 10) < 1e-12);
    sw_est_update(rt, 0, "code", 300, 10); /* 30 ms/token */
    double want = (1 - SW_EWMA_ALPHA) * 10 + SW_EWMA_ALPHA * 30;
    assert_true(fabs(sw_est_ms_per_token(rt, 0, "code") - want) < 1e-12);
    /* per skill: another skill of the same node is untouched */
    assert_true(sw_est_ms_per_token(rt, 0, "story") == 40);
    /* measurements that cannot be right are ignored */
    sw_est_update(rt, 0, "code", 100, 0);
    sw_est_update(rt, 0, "code", NAN, 5);
    sw_est_update(rt, 0, "code", -1, 5);
    assert_true(fabs(sw_est_ms_per_token(rt, 0, "code") - want) < 1e-12);
    /* energy: watts x time on the first node, J/token on the second */
    assert_true(fabs(sw_est_energy(rt, 0, 1500, 7) - 15.0) < 1e-12);
    assert_true(fabs(sw_est_energy(rt, 1, 1500, 7) - 3.5) < 1e-12);
    swarm_runtime_destroy(rt);
    swarm_swarm_destroy(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_runtime_estimates_ewma_and_energy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
