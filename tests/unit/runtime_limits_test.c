/* runtime_limits_test.c: the runtime's named limits (runtime_int.h) that
 * replaced silent caps (chosen[64], labels[256], zid[4096]) cover what the
 * task parser accepts, and the parser refuses what lies beyond them with a
 * message naming the limit, so no plan reaches a cap the runtime would
 * have to truncate. */
#include <string.h>

#include "check.h"
#include "plan/plan_int.h"
#include "runtime/runtime_int.h"

static void test_runtime_limits_cover_the_task_parser(void **state)
{
    (void)state;
    assert_true(SW_RT_MAX_REDUNDANCY >= SW_PLAN_MAX_REDUNDANCY);
    assert_true(SW_RT_MAX_LABELS >= SW_PLAN_MAX_LABELS);
}

static void test_runtime_limits_refused_beyond(void **state)
{
    (void)state;
    char json[256];
    swarm_task *t = NULL;
    swarm_diag d = {{0}};
    snprintf(json, sizeof(json), "{\"input\": \"x\", \"redundancy\": %d}", SW_RT_MAX_REDUNDANCY);
    CHECK_OK(swarm_task_parse(json, strlen(json), &t, &d));
    swarm_task_destroy(t);
    t = NULL;
    snprintf(json, sizeof(json), "{\"input\": \"x\", \"redundancy\": %d}", SW_RT_MAX_REDUNDANCY + 1);
    CHECK_ERR(swarm_task_parse(json, strlen(json), &t, &d), SWARM_EFORMAT);
    assert_null(t);
    char want[64];
    snprintf(want, sizeof(want), "[1, %d]", SW_RT_MAX_REDUNDANCY);
    assert_non_null(strstr(d.msg, want));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_runtime_limits_cover_the_task_parser),
        cmocka_unit_test(test_runtime_limits_refused_beyond),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
