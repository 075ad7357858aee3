/* core_test.c: errors, diagnostics and the allocator's failure injection. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "core/core_int.h"

static void test_core_strerror_covers_every_code(void **state)
{
    (void)state;
    for (int e = 0; e < SWARM_ERR_COUNT; e++) {
        assert_non_null(swarm_strerror((swarm_err)e));
        assert_string_not_equal(swarm_err_name((swarm_err)e), "SWARM_UNKNOWN");
    }
    assert_string_equal(swarm_err_name(SWARM_ETIMEDOUT), "SWARM_ETIMEDOUT");
    assert_string_equal(swarm_strerror((swarm_err)999), "unknown error");
}

static void test_core_alloc_fails_on_request(void **state)
{
    (void)state;
    sw_alloc_fail_after(1);
    void *a = sw_malloc(8);
    void *b = sw_malloc(8);
    void *c = sw_malloc(8);
    sw_alloc_fail_after(-1);
    assert_non_null(a);
    assert_null(b);
    assert_non_null(c);
    sw_free(a);
    sw_free(c);
    assert_null(sw_calloc(SIZE_MAX / 2, 4));
}

static void test_core_diag_prefix(void **state)
{
    (void)state;
    swarm_diag d;
    assert_int_equal(sw_diag_set(&d, SWARM_EFORMAT, "bad %d", 3), SWARM_EFORMAT);
    sw_diag_prefix(&d, "m.gguf");
    assert_string_equal(d.msg, "m.gguf: bad 3");
    /* a full message is cut, still NUL-terminated; a long prefix too */
    char big[sizeof(d.msg) + 100];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    sw_diag_set(&d, SWARM_EFORMAT, "%s", big);
    sw_diag_prefix(&d, "p");
    assert_int_equal(strlen(d.msg), sizeof(d.msg) - 1);
    assert_memory_equal(d.msg, "p: xxx", 6);
    sw_diag_prefix(&d, big);
    assert_int_equal(strlen(d.msg), sizeof(d.msg) - 1);
    assert_memory_equal(d.msg + sizeof(d.msg) - 3, ": ", 2);
    sw_diag_prefix(NULL, "x");
    sw_diag_prefix(&d, NULL);
}

static void test_core_buf(void **state)
{
    (void)state;
    sw_buf b = {0};
    for (int i = 0; i < 100; i++) sw_buf_put(&b, "abc", 3);
    sw_buf_put(&b, NULL, 0);
    assert_false(b.oom);
    assert_int_equal(b.len, 300);
    assert_int_equal(strlen(b.p), 300); /* kept NUL-terminated */
    assert_memory_equal((char *)b.p + 297, "abc", 3);
    /* a failed growth sticks: later appends are dropped, the bytes stay */
    sw_alloc_fail_after(0);
    char big[4096] = {0};
    sw_buf_put(&b, big, sizeof(big));
    sw_alloc_fail_after(-1);
    assert_true(b.oom);
    sw_buf_put(&b, "x", 1);
    assert_int_equal(b.len, 300);
    sw_free(b.p);
    /* a size that cannot be represented */
    sw_buf e = {0};
    sw_buf_put(&e, "a", 1);
    sw_buf_put(&e, "a", SIZE_MAX);
    assert_true(e.oom);
    assert_int_equal(e.len, 1);
    sw_free(e.p);
}

/* ---- sw_isolated_call ---- */

static size_t iso_echo(void *arg, void *out, size_t cap)
{
    size_t n = strlen(arg) + 1;
    if (n > cap) return 0;
    /* whatever the child prints must not reach the caller's streams */
    printf("child stdout noise\n");
    fprintf(stderr, "child stderr noise\n");
    memcpy(out, arg, n);
    return n;
}

static size_t iso_hang(void *arg, void *out, size_t cap)
{
    (void)arg, (void)out, (void)cap;
    for (;;) sleep(1);
    return 0;
}

static size_t iso_hog(void *arg, void *out, size_t cap)
{
    (void)arg;
    /* 1 GiB, touched, against a 64 MiB budget: malloc fails (or the child dies) */
    char *p = malloc((size_t)1 << 30);
    if (p == NULL) return 0;
    memset(p, 1, (size_t)1 << 30);
    memcpy(out, "ate", cap < 4 ? cap : 4);
    return 4;
}

static size_t iso_crash(void *arg, void *out, size_t cap)
{
    (void)arg, (void)out, (void)cap;
    abort();
}

static void test_core_isolated_call(void **state)
{
    (void)state;
    char out[64];
    size_t len = 0;
    sw_isolated_status st;
    char why[128];
    /* the result comes back, and nothing the child prints reaches the
     * caller's stdout (pointed at a pipe for the call) */
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    fflush(stdout);
    int saved = dup(STDOUT_FILENO);
    dup2(fds[1], STDOUT_FILENO);
    close(fds[1]);
    CHECK_OK(sw_isolated_call(iso_echo, "hello", out, sizeof(out), &len, 5000, 0, &st, why,
                              sizeof(why)));
    fflush(stdout);
    dup2(saved, STDOUT_FILENO);
    close(saved);
    char got[64];
    ssize_t n = read(fds[0], got, sizeof(got)); /* write end closed: EOF, not a block */
    close(fds[0]);
    assert_int_equal(n, 0);
    assert_int_equal(st, SW_ISOLATED_OK);
    assert_int_equal(len, 6);
    assert_string_equal(out, "hello");

    /* a hang is killed at the deadline (the bound here is 50x the limit) */
    double t0 = sw_now_ms();
    CHECK_OK(sw_isolated_call(iso_hang, NULL, out, sizeof(out), &len, 100, 0, &st, why, sizeof(why)));
    double ms = sw_now_ms() - t0;
    print_message("hang stopped after %.0f ms: %s\n", ms, why);
    assert_int_equal(st, SW_ISOLATED_TIMEOUT);
    assert_int_equal(len, 0);
    assert_true(ms < 5000);
    assert_non_null(strstr(why, "time limit"));

    /* the address-space budget holds (not enforced in sanitizer builds,
     * whose runtimes reserve terabytes of address space: see isolate.c) */
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
    CHECK_OK(sw_isolated_call(iso_hog, NULL, out, sizeof(out), &len, 20000, (size_t)64 << 20, &st,
                              why, sizeof(why)));
    print_message("1 GiB against a 64 MiB budget: status %d (%s)\n", (int)st, why);
    assert_int_equal(st, SW_ISOLATED_FAILED);
    assert_int_equal(len, 0);
#endif

    /* a crash is a failure of the call, not of the caller */
    CHECK_OK(sw_isolated_call(iso_crash, NULL, out, sizeof(out), &len, 5000, 0, &st, why,
                              sizeof(why)));
    print_message("crash: %s\n", why);
    assert_int_equal(st, SW_ISOLATED_FAILED);
    assert_non_null(strstr(why, "signal"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_core_strerror_covers_every_code),
        cmocka_unit_test(test_core_alloc_fails_on_request),
        cmocka_unit_test(test_core_diag_prefix),
        cmocka_unit_test(test_core_buf),
        cmocka_unit_test(test_core_isolated_call),
    };
    return CHECK_RUN(tests, NULL, NULL);
}
