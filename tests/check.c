/* check.c: helpers for tests/check.h. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"

/* Skips counted in this test binary (cmocka runs the cases in one thread). */
static size_t n_skipped;

void check_count_skip(void) { n_skipped++; }

int check_under_ci(void)
{
    const char *ci = getenv("CI");
    return ci != NULL && (strcmp(ci, "true") == 0 || strcmp(ci, "1") == 0);
}

int check_exit(int failed, size_t n_tests)
{
    if (failed != 0) return failed;
    if (n_skipped > 0 && n_skipped >= n_tests) {
        fprintf(stderr, "SKIPPED: all %zu cases of this binary skipped (CTest: Not Run)\n", n_tests);
        return 77;
    }
    if (n_skipped > 0) fprintf(stderr, "SKIPPED: %zu of %zu cases\n", n_skipped, n_tests);
    return 0;
}

const char *shared_path(char *buf, size_t cap, const char *rel)
{
    const char *dir = getenv("SWARM_SHARED_DIR");
    if (dir == NULL || dir[0] == '\0') dir = "../shared";
    snprintf(buf, cap, "%s/%s", dir, rel);
    return access(buf, R_OK) == 0 ? buf : NULL;
}

size_t check_json_numbers(const char *text, const char *key, double *out, size_t cap)
{
    char pat[64];
    snprintf(pat, sizeof(pat), "\"%s\":", key);
    const char *p = strstr(text, pat);
    if (p == NULL) return 0;
    p += strlen(pat);
    int depth = 0;
    size_t n = 0;
    for (;;) {
        while (*p == ' ' || *p == '\n' || *p == ',' || *p == '\r') p++;
        if (*p == '[') {
            depth++;
            p++;
            continue;
        }
        if (*p == ']') {
            depth--;
            p++;
            if (depth <= 0) return n;
            continue;
        }
        char *end;
        double v = strtod(p, &end);
        if (end == p) return n;
        if (n < cap) out[n] = v;
        n++;
        p = end;
    }
}
