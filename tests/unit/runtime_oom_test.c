/* runtime_oom_test.c: the allocation-failure sweep through a whole run
 * (issue 13, item 4): the n-th allocation after the run starts fails, for
 * every n up to the run's total; the run either fails with SWARM_ENOMEM or
 * returns a result the TESTPLAN A checker accepts (nothing lost, nothing
 * committed twice, nothing stuck), and never crashes or hangs. Dispatch
 * failures take the paths whose return values are now checked. */
#include <string.h>

#include "check.h"
#include "core/core_int.h"
#include "swarm/runtime.h"

static const char *task_json =
    "{\"name\": \"oom\", \"input\": \"a b c d e f g h\", \"kind\": \"generate\","
    " \"decomposition\": {\"strategy\": \"map-reduce\", \"chunk\": {\"by\": \"tokens\", \"size\": 2,"
    " \"overlap\": 0}, \"map_prompt\": \"map {{chunk}}\", \"reduce_prompt\": \"reduce {{results}}\"},"
    " \"aggregation\": {\"method\": \"max-weight\"}, \"limits\": {\"max_tokens\": 4}}";

static const char *swarm_json =
    "{\"nodes\": [{\"name\": \"a\", \"backend\": {\"type\": \"echo\", \"latency_ms\": 0},"
    " \"capacity\": 2, \"skills\": {\"*\": 0.9}}, {\"name\": \"b\", \"backend\": {\"type\": "
    "\"echo\", \"latency_ms\": 0}, \"capacity\": 2, \"skills\": {\"*\": 0.8}}]}";

static void test_runtime_oom_sweep_through_a_run(void **state)
{
    (void)state;
    swarm_diag d = {{0}};
    swarm_swarm *s = NULL;
    swarm_task *t = NULL;
    CHECK_OK(swarm_swarm_parse(swarm_json, strlen(swarm_json), ".", &s, &d));
    CHECK_OK(swarm_task_parse(task_json, strlen(task_json), &t, &d));
    swarm_runtime_params p = swarm_runtime_params_default();
    p.seed = 3;
    p.hedge = false;
    /* a lost result fails visibly soon instead of after 10 s */
    p.progress_timeout_ms = 300;
    p.unavailable_timeout_ms = 300;
    int ok = 0, enomem = 0, failed_visibly = 0;
    for (long n = 0; n < 300; n++) {
        swarm_runtime *rt = NULL;
        CHECK_OK(swarm_runtime_create(s, &p, &rt, &d));
        swarm_run_result *r = NULL;
        sw_alloc_fail_after(n);
        swarm_err rc = swarm_runtime_run(rt, t, &r, &d);
        sw_alloc_fail_after(-1);
        if (rc == SWARM_ENOMEM) {
            enomem++;
            assert_null(r);
        } else {
            CHECK_OK(rc);
            swarm_run_check c;
            swarm_run_check_trace(r, &c);
            if (c.lost || c.double_committed || c.stuck)
                print_error("n %ld: lost %zu, double-committed %zu, stuck %zu\n", n, c.lost,
                            c.double_committed, c.stuck);
            assert_int_equal(c.lost, 0);
            assert_int_equal(c.double_committed, 0);
            assert_int_equal(c.stuck, 0);
            if (r->status == SWARM_OK) ok++;
            else failed_visibly++;
            swarm_run_result_destroy(r);
        }
        swarm_runtime_destroy(rt);
    }
    print_message("oom sweep: %d ok, %d failed visibly, %d ENOMEM\n", ok, failed_visibly, enomem);
    assert_true(enomem > 0); /* the sweep reached the run's own allocations */
    assert_true(ok > 0);     /* and went past them */
    swarm_task_destroy(t);
    swarm_swarm_destroy(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_runtime_oom_sweep_through_a_run),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
