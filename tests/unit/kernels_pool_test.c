/*
 * kernels_pool_test.c: the fork-join pool: every thread runs every job
 * exactly once, runs after idle periods (workers asleep) still wake, the
 * scratch reservation grows, and the per-run latency is printed.
 */
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "core/core_int.h"
#include "engine/kernels/kernels.h"
#include "engine/kernels/kernels_int.h"

typedef struct {
    _Atomic long hits[8];
    _Atomic long total;
    _Atomic int nth_seen;
} counter;

static void count_fn(void *arg, int ith, int nth)
{
    counter *c = arg;
    atomic_fetch_add(&c->hits[ith], 1);
    atomic_fetch_add(&c->total, ith + 1);
    c->nth_seen = nth;
}

static void test_runs(void **state)
{
    (void)state;
    for (int n = 1; n <= 4; n++) {
        sw_pool *p = NULL;
        CHECK_OK(sw_pool_create(n, &p));
        assert_int_equal(sw_pool_threads(p), n);
        counter c;
        memset(&c, 0, sizeof(c));
        /* more threads than cores: every run may wait for a descheduled one */
        const long runs = n <= 2 ? 20000 : 2000;
        double t0 = sw_now_ms();
        for (long r = 0; r < runs; r++)
            sw_pool_run(p, count_fn, &c);
        print_message("pool(%d): %.2f us per run\n", n, (sw_now_ms() - t0) * 1000.0 / runs);
        for (int i = 0; i < n; i++)
            assert_int_equal(atomic_load(&c.hits[i]), runs);
        assert_int_equal(atomic_load(&c.total), runs * n * (n + 1) / 2);
        assert_int_equal(c.nth_seen, n);
        sw_pool_destroy(p);
    }
    sw_pool_destroy(NULL);
}

static void test_wake_after_sleep(void **state)
{
    (void)state;
    sw_pool *p = NULL;
    CHECK_OK(sw_pool_create(3, &p));
    counter c;
    memset(&c, 0, sizeof(c));
    for (int r = 0; r < 5; r++) {
        usleep(5000); /* longer than the spin: workers go to sleep */
        sw_pool_run(p, count_fn, &c);
    }
    for (int i = 0; i < 3; i++)
        assert_int_equal(atomic_load(&c.hits[i]), 5);
    sw_pool_destroy(p);
}

static void noop(void *arg, int ith, int nth)
{
    (void)arg;
    (void)ith;
    (void)nth;
}

static void test_latency(void **state)
{
    (void)state;
    sw_pool *p = NULL;
    CHECK_OK(sw_pool_create(2, &p));
    const int runs = 20000;
    for (int i = 0; i < 100; i++)
        sw_pool_run(p, noop, NULL);
    double t0 = sw_now_ms();
    for (int i = 0; i < runs; i++)
        sw_pool_run(p, noop, NULL);
    double us = (sw_now_ms() - t0) * 1000.0 / runs;
    print_message("pool(2) fork-join round trip: %.2f us\n", us);
    sw_pool_destroy(p);
}

/* A worker that is always slow (as if descheduled mid-share): after a few
 * optional runs the caller stops waiting for it and runs alone. The caller's
 * share waits (up to 50 ms) until the worker has entered, so that the worker
 * joins every run however loaded the machine is (a run closed before the
 * worker wakes is rightly not counted as late, and under load that was most
 * runs); the worker then takes 20 ms, far longer than the caller's share. */
static void slow_worker_fn(void *arg, int ith, int nth)
{
    (void)nth;
    _Atomic long *calls = arg;
    if (ith != 0) {
        atomic_fetch_add(&calls[1], 1);
        atomic_store(&calls[2], 1);
        usleep(20000);
    } else {
        atomic_fetch_add(&calls[0], 1);
        double t0 = sw_now_ms();
        while (atomic_load(&calls[2]) == 0 && sw_now_ms() - t0 < 50) {
        }
        atomic_store(&calls[2], 0);
    }
}

static void test_optional_runs_go_solo(void **state)
{
    (void)state;
    sw_pool *p = NULL;
    _Atomic long calls[3] = {0, 0, 0}; /* caller runs, worker runs, worker entered */
    int runs = 0;
    long worker_first = 0;
    /* Bounded retries with a fresh pool: on a busy machine a round may see
     * no late worker; after 3 rounds of 100 runs the solo mode is broken,
     * not the machine (a skip here hid a disabled solo mode). */
    for (int attempt = 1; attempt <= 3; attempt++) {
        CHECK_OK(sw_pool_create(2, &p));
        atomic_store(&calls[0], 0);
        atomic_store(&calls[1], 0);
        runs = 0;
        while (sw_pool_solo_runs_left(p) == 0 && runs < 100) {
            sw_pool_run_optional(p, slow_worker_fn, (void *)calls);
            runs++;
        }
        worker_first = atomic_load(&calls[1]);
        if (sw_pool_solo_runs_left(p) > 0) break;
        print_message("attempt %d: no solo mode after %d runs (the worker joined %ld)\n", attempt,
                      runs, worker_first);
        sw_pool_destroy(p);
        p = NULL;
    }
    if (p == NULL) fail_msg("the pool never went solo in 3 x 100 runs with a late worker");
    assert_true(worker_first >= 1); /* solo only after a worker was late */
    for (int r = 0; r < 10; r++)
        sw_pool_run_optional(p, slow_worker_fn, (void *)calls);
    print_message("slow worker joined %ld of the first %d runs, %ld of the next 10\n", worker_first,
                  runs, atomic_load(&calls[1]) - worker_first);
    assert_int_equal(atomic_load(&calls[0]), runs + 10);    /* the caller runs every time */
    assert_int_equal(atomic_load(&calls[1]), worker_first); /* then never waited for */
    sw_pool_destroy(p);
}

static void test_reserve_and_errors(void **state)
{
    (void)state;
    sw_pool *p = NULL;
    CHECK_ERR(sw_pool_create(0, &p), SWARM_EINVAL);
    assert_null(p);
    CHECK_OK(sw_pool_create(1, &p));
    CHECK_OK(sw_pool_reserve(p, 100));
    CHECK_OK(sw_pool_reserve(p, 10)); /* never shrinks */
    CHECK_OK(sw_pool_reserve(p, 1 << 20));
    CHECK_ERR(sw_pool_reserve(p, SIZE_MAX - 8), SWARM_ENOMEM);
    sw_alloc_fail_after(0);
    CHECK_ERR(sw_pool_reserve(p, 2 << 20), SWARM_ENOMEM);
    sw_alloc_fail_after(-1);
    sw_pool_destroy(p);
    sw_alloc_fail_after(0);
    CHECK_ERR(sw_pool_create(2, &p), SWARM_ENOMEM);
    sw_alloc_fail_after(1);
    CHECK_ERR(sw_pool_create(2, &p), SWARM_ENOMEM);
    sw_alloc_fail_after(-1);
    /* scratch sizes */
    assert_int_equal(sw_matmul_scratch_bytes(SW_TYPE_F32, 512, 4), 0);
    assert_int_equal(sw_matmul_scratch_bytes(SW_TYPE_Q4_0, 512, 4), 4 * 16 * 34);
    assert_int_equal(sw_matmul_scratch_bytes(SW_TYPE_Q6_K, 512, 2), 2 * 2 * 292);
    assert_int_equal(sw_matmul_scratch_bytes(SW_TYPE_BF16, 512, 3), 3 * 512 * 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_runs),
        cmocka_unit_test(test_wake_after_sleep),
        cmocka_unit_test(test_latency),
        cmocka_unit_test(test_optional_runs_go_solo),
        cmocka_unit_test(test_reserve_and_errors),
    };
    return CHECK_RUN(tests, NULL, NULL);
}
