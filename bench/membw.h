/*
 * membw.h: measures the machine's memory read bandwidth the way a
 * bandwidth-bound generation step uses it: several threads each streaming
 * read-only over their share of a buffer much larger than the last-level cache.
 */
#ifndef SW_BENCH_MEMBW_H
#define SW_BENCH_MEMBW_H

#include <stddef.h>

#include "swarm/swarm.h"

/*
 * Best read bandwidth (bytes per second) over `passes` passes on a buffer of
 * `bytes` bytes read by `n_threads` threads (the sw_pool the matrix kernels
 * use, so the threads are the same kind). The buffer is allocated, touched
 * and freed inside. SWARM_ENOMEM when it cannot be allocated.
 */
swarm_err sw_bench_membw(size_t bytes, int n_threads, int passes, double *out_bytes_per_s);

#endif
