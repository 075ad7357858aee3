/*
 * check.h: shared test helpers on top of cmocka: CHECK_OK prints the error
 * name and message, and shared_path() finds ../shared (tests that need it
 * skip with a reason when it is absent).
 */
#ifndef SWARM_TESTS_CHECK_H
#define SWARM_TESTS_CHECK_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include "swarm/swarm.h"

#define CHECK_OK(expr)                                                                     \
    do {                                                                                   \
        swarm_err rc_ = (expr);                                                            \
        if (rc_ != SWARM_OK) {                                                             \
            print_error("%s:%d: %s -> %s (%s)\n", __FILE__, __LINE__, #expr,               \
                        swarm_err_name(rc_), swarm_strerror(rc_));                         \
            fail();                                                                        \
        }                                                                                  \
    } while (0)

#define CHECK_ERR(expr, want)                                                              \
    do {                                                                                   \
        swarm_err rc_ = (expr);                                                            \
        if (rc_ != (want)) {                                                               \
            print_error("%s:%d: %s -> %s, want %s\n", __FILE__, __LINE__, #expr,           \
                        swarm_err_name(rc_), swarm_err_name(want));                        \
            fail();                                                                        \
        }                                                                                  \
    } while (0)

/* Absolute path of a file under the shared folder (static buffer per call
 * site is not needed: the result is written into buf). Returns NULL when the
 * shared folder is not available. */
const char *shared_path(char *buf, size_t cap, const char *rel);

/* Skips must show. cmocka's skip() exits 0, so a binary whose every case
 * skipped would read "Passed" in CTest. Every skip goes through CHECK_SKIP,
 * which counts it, and main returns CHECK_RUN(tests, setup, teardown): 77
 * (CTest's SKIP_RETURN_CODE, "Not Run") when every case skipped, and a line
 * naming how many skipped otherwise. */
void check_count_skip(void);
int check_exit(int failed, size_t n_tests);
#define CHECK_SKIP(...)                                                                    \
    do {                                                                                   \
        fprintf(stderr, "SKIP: " __VA_ARGS__);                                             \
        fputc('\n', stderr);                                                               \
        check_count_skip();                                                                \
        skip();                                                                            \
    } while (0)
#define CHECK_RUN(tests, setup, teardown)                                                  \
    check_exit(cmocka_run_group_tests(tests, setup, teardown), sizeof(tests) / sizeof((tests)[0]))

/* True under CI (CI=true or 1), where ../shared always exists: a missing
 * shared file is then a failure, not a skip. */
int check_under_ci(void);
/* Skips the current test with a reason when the shared folder is absent
 * (fails under CI). */
#define REQUIRE_SHARED(buf, rel)                                                           \
    do {                                                                                   \
        if (shared_path((buf), sizeof(buf), (rel)) == NULL) {                              \
            if (check_under_ci()) {                                                        \
                print_error("../shared/%s not found under CI (set SWARM_SHARED_DIR)\n", rel); \
                fail();                                                                    \
            }                                                                              \
            CHECK_SKIP("../shared/%s not found (set SWARM_SHARED_DIR)", rel);              \
        }                                                                                  \
    } while (0)

/* The reference files' JSON (llama.cpp's logits): parses up to cap numbers
 * that follow "key": in text, skipping brackets and commas, up to the
 * closing bracket of the value. Returns how many there were. */
size_t check_json_numbers(const char *text, const char *key, double *out, size_t cap);

#endif
