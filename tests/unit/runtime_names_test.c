/* runtime_names_test.c: the option-name tables of the runtime and assign
 * enums (src/runtime/names.c, src/assign/names.c): every value has a name
 * that parses back to it, names are distinct, other words are refused. */
#include <string.h>

#include "check.h"
#include "swarm/runtime.h"

#define ROUND_TRIP(T, COUNT, NAME, FROM)                                                   \
    do {                                                                                   \
        for (int i = 0; i < (COUNT); i++) {                                                \
            const char *n = NAME((T)i);                                                    \
            assert_non_null(n);                                                            \
            assert_string_not_equal(n, "unknown");                                         \
            T back = (T)(COUNT);                                                           \
            assert_true(FROM(n, &back));                                                   \
            assert_int_equal(back, i);                                                     \
            for (int j = 0; j < i; j++) assert_string_not_equal(n, NAME((T)j));            \
        }                                                                                  \
        T keep = (T)0;                                                                     \
        assert_false(FROM("nats", &keep));                                                 \
        assert_false(FROM("", &keep));                                                     \
        assert_false(FROM(NULL, &keep));                                                   \
        assert_int_equal(keep, 0);                                                         \
        assert_string_equal(NAME((T)(COUNT)), "unknown");                                  \
    } while (0)

static void test_runtime_names_round_trip(void **state)
{
    (void)state;
    ROUND_TRIP(swarm_dispatch_policy, SWARM_DISPATCH_COUNT, swarm_dispatch_policy_name,
               swarm_dispatch_policy_from_name);
    ROUND_TRIP(swarm_detector, SWARM_DETECT_COUNT, swarm_detector_name, swarm_detector_from_name);
    ROUND_TRIP(swarm_transport_kind, SWARM_TRANSPORT_COUNT, swarm_transport_kind_name,
               swarm_transport_kind_from_name);
    ROUND_TRIP(swarm_assign_method, SWARM_ASSIGN_METHOD_COUNT, swarm_assign_method_name,
               swarm_assign_method_from_name);
    ROUND_TRIP(swarm_assign_solver, SWARM_ASSIGN_SOLVER_COUNT, swarm_assign_solver_name,
               swarm_assign_solver_from_name);
}

static void test_runtime_names_are_the_documented_words(void **state)
{
    (void)state;
    swarm_dispatch_policy p;
    assert_true(swarm_dispatch_policy_from_name("least-conn", &p));
    assert_int_equal(p, SWARM_DISPATCH_LEAST_CONN);
    swarm_transport_kind t;
    assert_true(swarm_transport_kind_from_name("process", &t));
    assert_int_equal(t, SWARM_TRANSPORT_PROCESS);
    assert_false(swarm_transport_kind_from_name("Process", &t)); /* exact words only */
    swarm_assign_method m;
    assert_true(swarm_assign_method_from_name("exact", &m));
    assert_int_equal(m, SWARM_ASSIGN_METHOD_EXACT);
    assert_string_equal(swarm_detector_name(SWARM_DETECT_TIMEOUT), "timeout");
    assert_string_equal(swarm_assign_solver_name(SWARM_ASSIGN_SOLVER_GLPK), "glpk");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_runtime_names_round_trip),
        cmocka_unit_test(test_runtime_names_are_the_documented_words),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
