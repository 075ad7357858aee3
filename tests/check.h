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
/* Skips the current test with a reason when the shared folder is absent. */
#define REQUIRE_SHARED(buf, rel)                                                           \
    do {                                                                                   \
        if (shared_path((buf), sizeof(buf), (rel)) == NULL) {                              \
            fprintf(stderr, "SKIP: ../shared/%s not found (set SWARM_SHARED_DIR)\n", rel); \
            skip();                                                                        \
        }                                                                                  \
    } while (0)

#endif
