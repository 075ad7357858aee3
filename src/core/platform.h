/*
 * platform.h: what the platform layer (src/platform/<os>/) offers the
 * modules above it, declared here so the platform includes no module's
 * header: arrows run from the modules down to core and the platform, never
 * back up. core_int.h declares the rest the platform implements (clocks,
 * file reading, logging). Never installed.
 */
#ifndef SW_PLATFORM_H
#define SW_PLATFORM_H

#include <stddef.h>

#include "core_int.h"

/* Maps a regular file read-only (model weights stay in the page cache,
 * shared between processes). An empty file gives *map NULL, *len 0. A
 * directory, a FIFO or a device is SWARM_EINVAL; messages name the path.
 * Subject to sw_io_fail injection. */
swarm_err sw_map_file(const char *path, void **map, size_t *len, swarm_diag *d);
/* Like sw_map_file but reads the file into private anonymous memory
 * (released with sw_unmap_file too): model loads, so that truncating or
 * rewriting the file later cannot fault the reader with SIGBUS. */
swarm_err sw_load_file(const char *path, void **map, size_t *len, swarm_diag *d);
/* Releases a mapping from sw_map_file or sw_load_file; a NULL map or a 0
 * length is a no-op. */
void sw_unmap_file(void *map, size_t len);

#endif /* SW_PLATFORM_H */
