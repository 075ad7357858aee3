/*
 * map.c: read-only file mappings for model weights (GGUF, llama2.c). The
 * weights stay in the page cache and are shared between processes; nothing
 * is copied. Messages name the path.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../core/platform.h"

swarm_err sw_map_file(const char *path, void **map, size_t *len, swarm_diag *d)
{
    SWARM_ASSERT(path != NULL && map != NULL && len != NULL);
    /* O_NONBLOCK: opening a FIFO must not wait for a writer; it is then
     * rejected as not a regular file (no effect on regular files) */
    int fd = sw_io_fail() ? -1 : open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return sw_diag_set(d, SWARM_ESYS, "%s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return sw_diag_set(d, SWARM_ESYS, "%s: %s", path, strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return sw_diag_set(d, SWARM_EINVAL, "%s: %s", path,
                           S_ISDIR(st.st_mode) ? "is a directory" : "not a regular file");
    }
    if (st.st_size == 0) { /* mmap cannot map nothing; parsers reject the empty image */
        close(fd);
        *map = NULL;
        *len = 0;
        return SWARM_OK;
    }
    if ((unsigned long long)st.st_size > (unsigned long long)SIZE_MAX) {
        close(fd);
        return sw_diag_set(d, SWARM_EFORMAT, "%s: file too large to map", path);
    }
    void *p =
        sw_io_fail() ? MAP_FAILED : mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    int e = errno;
    close(fd); /* the mapping keeps the file open */
    if (p == MAP_FAILED) return sw_diag_set(d, SWARM_ESYS, "%s: mmap: %s", path, strerror(e));
    *map = p;
    *len = (size_t)st.st_size;
    return SWARM_OK;
}

void sw_unmap_file(void *map, size_t len)
{
    if (map != NULL && len > 0) munmap(map, len);
}
