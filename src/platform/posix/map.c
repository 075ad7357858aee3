/*
 * map.c: files the engine reads whole: sw_map_file maps one read-only
 * (header parsing, inspect: nothing is read until touched), sw_load_file
 * reads one into private anonymous memory (model loads). Models are loaded,
 * not mapped: with a file mapping, another process truncating or rewriting
 * the file while the model is in use makes the next read of a lost page
 * raise SIGBUS and kill the process; a private copy cannot lose pages, so
 * the engine's reads of weights never touch the file after load. Sessions
 * of one model and forked children (copy-on-write, never written) still
 * share the copy; unrelated processes no longer share page-cache pages.
 * The copy asks for transparent huge pages. Messages name the path.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../core/platform.h"

/* Opens path for reading and checks it is a regular file that fits in
 * memory. *fd is -1 (and *size 0) for an empty file: nothing to map. */
static swarm_err open_regular(const char *path, int *fd_out, size_t *size, swarm_diag *d)
{
    SWARM_ASSERT(path != NULL);
    *fd_out = -1;
    *size = 0;
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
        return SWARM_OK;
    }
    if ((unsigned long long)st.st_size > (unsigned long long)SIZE_MAX) {
        close(fd);
        return sw_diag_set(d, SWARM_EFORMAT, "%s: file too large to map", path);
    }
    *fd_out = fd;
    *size = (size_t)st.st_size;
    return SWARM_OK;
}

swarm_err sw_map_file(const char *path, void **map, size_t *len, swarm_diag *d)
{
    SWARM_ASSERT(path != NULL && map != NULL && len != NULL);
    int fd;
    size_t size;
    swarm_err rc = open_regular(path, &fd, &size, d);
    if (rc != SWARM_OK) return rc;
    *map = NULL;
    *len = 0;
    if (fd < 0) return SWARM_OK;
    void *p = sw_io_fail() ? MAP_FAILED : mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    int e = errno;
    close(fd); /* the mapping keeps the file open */
    if (p == MAP_FAILED) return sw_diag_set(d, SWARM_ESYS, "%s: mmap: %s", path, strerror(e));
    *map = p;
    *len = size;
    return SWARM_OK;
}

swarm_err sw_load_file(const char *path, void **map, size_t *len, swarm_diag *d)
{
    SWARM_ASSERT(path != NULL && map != NULL && len != NULL);
    int fd;
    size_t size;
    swarm_err rc = open_regular(path, &fd, &size, d);
    if (rc != SWARM_OK) return rc;
    *map = NULL;
    *len = 0;
    if (fd < 0) return SWARM_OK;
    bool injected = sw_io_fail();
    void *p = injected ? MAP_FAILED
                       : mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
                              0);
    if (p == MAP_FAILED) {
        int e = errno;
        close(fd);
        return sw_diag_set(d, injected ? SWARM_ESYS : SWARM_ENOMEM,
                           "%s: cannot allocate %zu bytes for the file: %s", path, size,
                           strerror(e));
    }
#ifdef MADV_HUGEPAGE
    madvise(p, size, MADV_HUGEPAGE); /* a hint; failure is harmless */
#endif
    size_t got = 0;
    while (got < size) {
        size_t want = size - got < ((size_t)1 << 30) ? size - got : ((size_t)1 << 30);
        ssize_t r = sw_io_fail() ? -1 : read(fd, (char *)p + got, want);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {
            int e = errno;
            close(fd);
            munmap(p, size);
            if (r == 0)
                return sw_diag_set(d, SWARM_ESYS,
                                   "%s: file shrank while being read (%zu of %zu bytes)", path, got,
                                   size);
            return sw_diag_set(d, SWARM_ESYS, "%s: read: %s", path, strerror(e));
        }
        got += (size_t)r;
    }
    close(fd);
    mprotect(p, size, PROT_READ); /* weights are read-only; a stray write faults here */
    *map = p;
    *len = size;
    return SWARM_OK;
}

void sw_unmap_file(void *map, size_t len)
{
    if (map != NULL && len > 0) munmap(map, len);
}
