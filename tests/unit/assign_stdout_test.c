/* assign_stdout_test.c: the exact solver leaves the process's stdout alone
 * (issue 13, item 4). It once pointed fd 1 at /dev/null while CBC ran, so
 * what another thread (a server's) printed meanwhile was lost. Here fd 1 is
 * a temporary file; a thread writes numbered lines to it for as long as
 * exact solves run; every line must arrive, and nothing else (CBC quiet
 * through its own settings). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "swarm/assign.h"

typedef struct writer {
    atomic_bool stop;
    int fd;
    long written;
} writer;

static void *write_lines(void *arg)
{
    writer *w = arg;
    char line[32];
    while (!atomic_load(&w->stop)) {
        int n = snprintf(line, sizeof(line), "line %ld\n", w->written);
        if (write(w->fd, line, (size_t)n) != n) break;
        w->written++;
        usleep(200);
    }
    return NULL;
}

/* A loose random instance that CBC needs a while for (n x m pairs). */
static void solve_some(int32_t n, int32_t m, uint64_t seed)
{
    double *E = calloc((size_t)n, sizeof(double)), *T = calloc((size_t)n, sizeof(double));
    double *B = calloc((size_t)n, sizeof(double));
    double *C = calloc((size_t)n * (size_t)m, sizeof(double));
    assert_true(E && T && B && C);
    uint64_t s = seed;
#define RND() ((s = s * 6364136223846793005ULL + 1442695040888963407ULL), (double)(s >> 11) / 9007199254740992.0)
    for (int32_t i = 0; i < n; i++) {
        E[i] = 1 + 9 * RND();
        T[i] = 1 + 9 * RND();
        B[i] = (double)m / n * 1.5 + 1;
    }
    for (size_t k = 0; k < (size_t)n * (size_t)m; k++)
        C[k] = RND();
#undef RND
    swarm_assign_problem p = {.n = n, .m = m, .E = E, .T = T, .B = B, .C = C,
                              .p_min = 0.5 * m, .redundancy = 1};
    swarm_assign_options o = swarm_assign_options_default();
    o.method = SWARM_ASSIGN_METHOD_EXACT;
    o.time_limit_s = 2;
    swarm_assign_result *r = NULL;
    swarm_diag d = {{0}};
    CHECK_OK(swarm_assign_solve(&p, &o, &r, &d));
    assert_true(r->status == SWARM_ASSIGN_OPTIMAL || r->status == SWARM_ASSIGN_FEASIBLE);
    swarm_assign_result_destroy(r);
    free(E);
    free(T);
    free(B);
    free(C);
}

static void test_assign_exact_leaves_stdout_alone(void **state)
{
    (void)state;
    char path[] = "/tmp/swarm_assign_stdout_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    fflush(stdout);
    int saved = dup(STDOUT_FILENO);
    assert_true(saved >= 0);
    assert_true(dup2(fd, STDOUT_FILENO) >= 0);
    /* the thread writes to fd 1 itself, as any other code of the process would */
    writer w = {.fd = STDOUT_FILENO};
    atomic_init(&w.stop, false);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, write_lines, &w), 0);
    for (uint64_t seed = 1; seed <= 3; seed++)
        solve_some(30, 300, seed);
    atomic_store(&w.stop, true);
    pthread_join(th, NULL);
    fflush(stdout);
    assert_true(dup2(saved, STDOUT_FILENO) >= 0);
    close(saved);
    /* every line arrived, in order, and nothing else */
    FILE *f = fdopen(fd, "r");
    assert_non_null(f);
    rewind(f);
    char buf[256];
    long want = 0;
    while (fgets(buf, sizeof(buf), f)) {
        char exp[32];
        snprintf(exp, sizeof(exp), "line %ld\n", want);
        if (strcmp(buf, exp) != 0) print_error("stdout line %ld: '%s', want '%s'", want, buf, exp);
        assert_string_equal(buf, exp);
        want++;
    }
    fclose(f);
    unlink(path);
    print_message("%ld lines written during the solves, %ld read back\n", w.written, want);
    assert_true(w.written > 0);
    assert_int_equal(want, w.written);
}

int main(void)
{
#ifndef SWARM_HAVE_CBC
    fprintf(stderr, "SKIP: built without CBC\n");
    return 77;
#endif
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_assign_exact_leaves_stdout_alone),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
