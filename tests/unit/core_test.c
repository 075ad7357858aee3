/* core_test.c: errors, diagnostics and the allocator's failure injection. */
#include <string.h>

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_core_strerror_covers_every_code),
        cmocka_unit_test(test_core_alloc_fails_on_request),
        cmocka_unit_test(test_core_diag_prefix),
        cmocka_unit_test(test_core_buf),
    };
    return CHECK_RUN(tests, NULL, NULL);
}
