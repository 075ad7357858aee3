/* check.c: helpers for tests/check.h. */
#include <stdlib.h>
#include <unistd.h>

#include "check.h"

const char *shared_path(char *buf, size_t cap, const char *rel)
{
    const char *dir = getenv("SWARM_SHARED_DIR");
    if (dir == NULL || dir[0] == '\0') dir = "../shared";
    snprintf(buf, cap, "%s/%s", dir, rel);
    return access(buf, R_OK) == 0 ? buf : NULL;
}
