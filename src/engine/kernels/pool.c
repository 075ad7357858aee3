/*
 * pool.c: a fork-join thread pool for the kernels. Workers are persistent;
 * a run bumps a generation counter that workers spin on for a short while
 * (generation calls a matmul every few microseconds, and a condvar wakeup
 * costs tens of microseconds), then fall back to sleeping on a condvar.
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <string.h>

#include "kernels_int.h"

/* How long an idle worker spins before sleeping, and how long the caller
 * spins for stragglers before yielding the CPU (the cores are shared). */
#define WORKER_SPIN_NS 200000ull
#define CALLER_SPIN_NS 50000ull

typedef struct worker {
    struct sw_pool *pool;
    int ith;
    pthread_t th;
} worker;

struct sw_pool {
    int n_threads;
    worker *workers; /* n_threads - 1 entries */
    int n_started;

    void (*fn)(void *arg, int ith, int nth);
    void *arg;
    _Atomic uint32_t gen;     /* bumped once per run */
    _Atomic int pending;      /* workers that have not finished the current run */
    _Atomic int stop;
    _Atomic int sleepers;     /* workers blocked (or about to block) on cv */
    pthread_mutex_t mu;
    pthread_cond_t cv;

    void *scratch; /* activation buffers for sw_matmul, 64-byte aligned */
    void *scratch_raw;
    size_t scratch_cap;
};

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

static void *worker_main(void *varg)
{
    worker *w = varg;
    sw_pool *p = w->pool;
    uint32_t seen = 0;
    for (;;) {
        uint32_t g = atomic_load_explicit(&p->gen, memory_order_acquire);
        if (g == seen && !atomic_load(&p->stop)) {
            uint64_t t0 = sw_now_ns();
            for (int i = 1;; i++) {
                cpu_relax();
                g = atomic_load_explicit(&p->gen, memory_order_acquire);
                if (g != seen || atomic_load_explicit(&p->stop, memory_order_relaxed)) break;
                if ((i & 63) == 0 && sw_now_ns() - t0 > WORKER_SPIN_NS) break;
            }
        }
        if (g == seen && !atomic_load(&p->stop)) {
            pthread_mutex_lock(&p->mu);
            atomic_fetch_add(&p->sleepers, 1);
            /* seq_cst: either the runner sees sleepers > 0 and signals, or we see its gen */
            while ((g = atomic_load(&p->gen)) == seen && !atomic_load(&p->stop))
                pthread_cond_wait(&p->cv, &p->mu);
            atomic_fetch_sub(&p->sleepers, 1);
            pthread_mutex_unlock(&p->mu);
        }
        if (atomic_load(&p->stop)) break;
        seen = g;
        p->fn(p->arg, w->ith, p->n_threads);
        atomic_fetch_sub_explicit(&p->pending, 1, memory_order_acq_rel);
    }
    return NULL;
}

swarm_err sw_pool_create(int n_threads, sw_pool **out)
{
    if (n_threads < 1 || n_threads > 1024) return SWARM_EINVAL;
    sw_pool *p = sw_calloc(1, sizeof(*p));
    if (p == NULL) return SWARM_ENOMEM;
    p->n_threads = n_threads;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    if (n_threads > 1) {
        p->workers = sw_calloc((size_t)n_threads - 1, sizeof(worker));
        if (p->workers == NULL) goto fail;
        for (int i = 0; i < n_threads - 1; i++) {
            p->workers[i].pool = p;
            p->workers[i].ith = i + 1;
            if (pthread_create(&p->workers[i].th, NULL, worker_main, &p->workers[i]) != 0) {
                sw_pool_destroy(p);
                return SWARM_ESYS;
            }
            p->n_started++;
        }
    }
    *out = p;
    return SWARM_OK;
fail:
    sw_pool_destroy(p);
    return SWARM_ENOMEM;
}

void sw_pool_destroy(sw_pool *p)
{
    if (p == NULL) return;
    pthread_mutex_lock(&p->mu);
    atomic_store(&p->stop, 1);
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < p->n_started; i++) pthread_join(p->workers[i].th, NULL);
    sw_free(p->workers);
    sw_free(p->scratch_raw);
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    sw_free(p);
}

int sw_pool_threads(const sw_pool *p) { return p->n_threads; }

void sw_pool_run(sw_pool *p, void (*fn)(void *arg, int ith, int nth), void *arg)
{
    if (p->n_threads == 1) {
        fn(arg, 0, 1);
        return;
    }
    p->fn = fn;
    p->arg = arg;
    atomic_store_explicit(&p->pending, p->n_threads - 1, memory_order_relaxed);
    atomic_fetch_add(&p->gen, 1); /* seq_cst: publishes fn/arg, orders with sleepers */
    if (atomic_load(&p->sleepers) > 0) {
        pthread_mutex_lock(&p->mu);
        pthread_cond_broadcast(&p->cv);
        pthread_mutex_unlock(&p->mu);
    }
    fn(arg, 0, p->n_threads);
    if (atomic_load_explicit(&p->pending, memory_order_acquire) == 0) return;
    uint64_t t0 = sw_now_ns();
    for (int i = 1; atomic_load_explicit(&p->pending, memory_order_acquire) != 0; i++) {
        cpu_relax();
        /* a descheduled worker on a busy machine: stop burning its core */
        if ((i & 63) == 0 && sw_now_ns() - t0 > CALLER_SPIN_NS) sched_yield();
    }
}

swarm_err sw_pool_reserve(sw_pool *p, size_t bytes)
{
    if (bytes <= p->scratch_cap) return SWARM_OK;
    size_t total;
    if (!sw_add_ok(bytes, 64, &total)) return SWARM_ENOMEM;
    void *raw = sw_malloc(total);
    if (raw == NULL) return SWARM_ENOMEM;
    sw_free(p->scratch_raw);
    p->scratch_raw = raw;
    p->scratch = (void *)(((uintptr_t)raw + 63) & ~(uintptr_t)63);
    p->scratch_cap = bytes;
    return SWARM_OK;
}

void *sw_pool_scratch(sw_pool *p, size_t *cap)
{
    *cap = p->scratch_cap;
    return p->scratch;
}
