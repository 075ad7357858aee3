/* core_json_test.c: the one strict JSON loader (src/core/json.c) refuses
 * every input the policy names, with a message that says why, and accepts
 * ordinary JSON. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "core/json_int.h"

/* Loads s and expects a refusal whose message contains want. */
static void refused(const char *s, size_t len, const char *want)
{
    swarm_diag d = {{0}};
    json_t *v = sw_json_load_strict(s, len, &d);
    if (v != NULL || strstr(d.msg, want) == NULL)
        print_error("input '%.40s': got %s, message '%s', want '%s'\n", s,
                    v ? "a value" : "NULL", d.msg, want);
    assert_null(v);
    assert_non_null(strstr(d.msg, want));
}

static void test_core_json_accepts_plain_json(void **state)
{
    (void)state;
    const char *s = "{\"a\": [1, 2.5, -3e2, \"x\\\"]\"], \"b\": {\"c\": null}}";
    swarm_diag d = {{0}};
    json_t *v = sw_json_load_strict(s, strlen(s), &d);
    assert_non_null(v);
    assert_true(json_is_array(json_object_get(v, "a")));
    assert_int_equal(json_array_size(json_object_get(v, "a")), 4);
    json_decref(v);
    /* exactly the depth limit is fine */
    char deep[2 * SW_JSON_MAX_DEPTH + 1];
    for (int i = 0; i < SW_JSON_MAX_DEPTH; i++) {
        deep[i] = '[';
        deep[SW_JSON_MAX_DEPTH + i] = ']';
    }
    v = sw_json_load_strict(deep, 2 * SW_JSON_MAX_DEPTH, &d);
    assert_non_null(v);
    json_decref(v);
}

static void test_core_json_refuses_hostile_input(void **state)
{
    (void)state;
    refused("{\"a\": 1, \"a\": 2}", 16, "duplicate");
    refused("{\"a\": NaN}", 10, "line 1");
    refused("{\"a\": Infinity}", 15, "line 1");
    refused("{\"a\": -Infinity}", 16, "line 1");
    refused("{\"a\": 1e999}", 12, "overflow");
    refused("{\"a\": 99999999999999999999999}", 30, "too big");
    refused("{\"a\": \"x\\u0000y\"}", 17, "NUL");
    refused("{\"a\": \"x\0y\"}", 11, "line 1");
    refused("{\"a\": 1} trailing", 17, "end of file expected");
    refused("42", 2, "line 1");
    refused("", 0, "line 1");
    refused("{\"a\": [1, 2}", 12, "line 1");
    /* nested one level too deep: refused before jansson recurses, naming
     * the bracket that went too deep */
    char deep[2 * SW_JSON_MAX_DEPTH + 3];
    for (int i = 0; i <= SW_JSON_MAX_DEPTH; i++) {
        deep[i] = '[';
        deep[SW_JSON_MAX_DEPTH + 1 + i] = ']';
    }
    refused(deep, 2 * SW_JSON_MAX_DEPTH + 2, "column 65: JSON nested deeper than 64 levels");
    /* brackets inside strings do not count */
    char str[2 * SW_JSON_MAX_DEPTH + 16];
    int n = snprintf(str, sizeof(str), "[\"");
    for (int i = 0; i < 2 * SW_JSON_MAX_DEPTH; i++)
        str[n++] = '[';
    n += snprintf(str + n, sizeof(str) - (size_t)n, "\"]");
    swarm_diag d = {{0}};
    json_t *v = sw_json_load_strict(str, (size_t)n, &d);
    assert_non_null(v);
    json_decref(v);
    /* no text at all */
    assert_null(sw_json_load_strict(NULL, 0, &d));
    /* a NULL diagnostic is allowed */
    assert_null(sw_json_load_strict("{", 1, NULL));
}

static void test_core_json_size_limit(void **state)
{
    (void)state;
    const char *s = "{\"key\": \"a value of some length\"}";
    swarm_diag d = {{0}};
    json_t *v = sw_json_load_limited(s, strlen(s), strlen(s), &d);
    assert_non_null(v);
    json_decref(v);
    v = sw_json_load_limited(s, strlen(s), strlen(s) - 1, &d);
    assert_null(v);
    char want[64];
    snprintf(want, sizeof(want), "%zu bytes is larger than the limit of %zu bytes", strlen(s),
             strlen(s) - 1);
    assert_string_equal(d.msg + strlen("JSON text of "), want);
}

static void test_core_json_file_and_public_api(void **state)
{
    (void)state;
    char path[] = "/tmp/swarm_core_json_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char *bad = "{\"a\": 1,\n \"a\": 2}";
    assert_int_equal(write(fd, bad, strlen(bad)), (ssize_t)strlen(bad));
    close(fd);
    swarm_diag d = {{0}};
    assert_null(swarm_json_load_file(path, &d));
    /* the message names the file, the line and the reason */
    assert_non_null(strstr(d.msg, path));
    assert_non_null(strstr(d.msg, "line 2"));
    assert_non_null(strstr(d.msg, "duplicate"));
    char *text = NULL;
    size_t len = 0;
    CHECK_OK(swarm_file_read(path, 64, &text, &len, &d));
    assert_int_equal(len, strlen(bad));
    swarm_free(text);
    CHECK_ERR(swarm_file_read(path, 4, &text, &len, &d), SWARM_EINVAL);
    assert_non_null(strstr(d.msg, "limit"));
    unlink(path);
    assert_null(swarm_json_load_file(path, &d));
    assert_non_null(strstr(d.msg, path));
    json_t *v = swarm_json_load("[1]", 3, &d);
    assert_non_null(v);
    json_decref(v);
    assert_null(swarm_json_load("[1] [2]", 7, &d));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_core_json_accepts_plain_json),
        cmocka_unit_test(test_core_json_refuses_hostile_input),
        cmocka_unit_test(test_core_json_size_limit),
        cmocka_unit_test(test_core_json_file_and_public_api),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
