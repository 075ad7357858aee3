/*
 * pool.c: a fork-join thread pool for the kernels. Workers are persistent;
 * a run bumps a generation counter that workers spin on for a short while
 * (generation calls a matmul every few microseconds, and a condvar wakeup
 * costs tens of microseconds), then fall back to sleeping on a condvar.
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>

#include "kernels_int.h"

/* An idle worker spins on the state word for PURE_SPIN_NS, then keeps
 * polling with sched_yield() in between (so that, on an oversubscribed
 * machine, it hands its core to whoever is runnable: often another of our
 * own threads) until WORKER_SPIN_NS, then sleeps. The caller waiting for
 * stragglers does the same without the sleep. */
#define PURE_SPIN_NS 20000ull
#define WORKER_SPIN_NS 200000ull

/* When workers keep arriving late (their core is shared with another busy
 * process, so they get descheduled in the middle of their share), running
 * alone beats waiting for them: see sw_pool_run_optional. */
/* Measured on a quiet machine (qwen2.5-0.5b Q8_0/Q4_K, 2 threads): going solo
 * for 2000 runs after one late worker cost 10-15% of generation speed, with a
 * large run-to-run spread, because a single preemption is common; several
 * late runs in a row and 200 solo runs (about one token) keep the benefit on
 * a loaded machine without that cost. */
#define LATE_LIMIT 6.0f
#define LATE_MIN_NS 300000ull /* a lost time slice, not an interrupt */
#define SOLO_RUNS 200

typedef struct worker {
    struct sw_pool *pool;
    int ith;
    pthread_t th;
    /* full runs: the generation whose share ith was claimed (by this worker
     * or stolen by the caller), and the one whose share has finished */
    _Atomic uint32_t share_claimed, share_done;
} worker;

/* state word: run generation (high 32 bits) | CLOSED | FULL (a
 * sw_pool_run: every share ith runs once, claimed per worker, the word
 * itself untouched) | workers that entered this optional run (bits 16..29)
 * | workers inside it (bits 0..15). Workers touch it last when they leave,
 * and optional runs are closed before the caller returns, so a fresh store
 * at the next run never races with a late decrement. */
#define ST_GEN(s) ((uint32_t)((s) >> 32))
#define ST_CLOSED (1ull << 31)
#define ST_FULL (1ull << 30)
#define ST_ENTER (1ull << 16)
#define ST_ACTIVE(s) ((s)&0xffffull)

struct sw_pool {
    int n_threads;
    worker *workers; /* n_threads - 1 entries */
    int n_started;

    void (*fn)(void *arg, int ith, int nth);
    void *arg;
    _Atomic uint64_t state;
    _Atomic int stop;
    _Atomic int sleepers; /* workers blocked (or about to block) on cv */
    pthread_mutex_t mu;
    pthread_cond_t cv;

    void *scratch; /* activation buffers for sw_matmul, 64-byte aligned */
    void *scratch_raw;
    size_t scratch_cap;

    /* Straggler avoidance for optional runs (touched by the one caller only).
     * late_score decays by 1/8 per run and grows with each run in which the
     * caller waited for a worker more than LATE_MIN_NS and longer than its
     * own share took (by the ratio, capped at 4); above LATE_LIMIT, the next
     * SOLO_RUNS optional runs go to the caller alone. */
    float late_score;
    int solo_left;
};

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

/* Waits until the run generation differs from seen (spin, then sleep). */
static uint64_t wait_new_run(sw_pool *p, uint32_t seen)
{
    uint64_t s = atomic_load_explicit(&p->state, memory_order_acquire);
    if (ST_GEN(s) != seen || atomic_load_explicit(&p->stop, memory_order_relaxed)) return s;
    uint64_t t0 = sw_now_ns(), dt = 0;
    for (int i = 1;; i++) {
        if (dt > PURE_SPIN_NS)
            sched_yield();
        else
            cpu_relax();
        s = atomic_load_explicit(&p->state, memory_order_acquire);
        if (ST_GEN(s) != seen || atomic_load_explicit(&p->stop, memory_order_relaxed)) return s;
        if ((i & 15) == 0 || dt > PURE_SPIN_NS) {
            dt = sw_now_ns() - t0;
            if (dt > WORKER_SPIN_NS) break;
        }
    }
    pthread_mutex_lock(&p->mu);
    atomic_fetch_add(&p->sleepers, 1);
    /* seq_cst: either the runner sees sleepers > 0 and signals, or we see its state */
    while (ST_GEN(s = atomic_load(&p->state)) == seen && !atomic_load(&p->stop))
        pthread_cond_wait(&p->cv, &p->mu);
    atomic_fetch_sub(&p->sleepers, 1);
    pthread_mutex_unlock(&p->mu);
    return s;
}

static void *worker_main(void *varg)
{
    worker *w = varg;
    sw_pool *p = w->pool;
    uint32_t seen = 0;
    for (;;) {
        uint64_t s = wait_new_run(p, seen);
        if (atomic_load(&p->stop)) break;
        seen = ST_GEN(s);
        if (s & ST_FULL) {
            /* A full run: claim this worker's share unless the caller took it
             * over (or the run is long gone: claims only move forward). The
             * caller waits for every share, so fn and arg stay put until ours
             * is done; the state word is not touched. */
            uint32_t prev = atomic_load(&w->share_claimed);
            if ((int32_t)(seen - prev) > 0 &&
                atomic_compare_exchange_strong(&w->share_claimed, &prev, seen)) {
                p->fn(p->arg, w->ith, p->n_threads);
                atomic_store_explicit(&w->share_done, seen, memory_order_release);
            }
            continue;
        }
        /* an optional run: enter unless the caller already closed it (it
         * finished all the work while we were descheduled) */
        bool entered = false;
        while (ST_GEN(s) == seen && !(s & ST_CLOSED)) {
            if (atomic_compare_exchange_weak(&p->state, &s, s + ST_ENTER + 1)) {
                entered = true;
                break;
            }
        }
        if (!entered) continue;
        p->fn(p->arg, w->ith, p->n_threads);
        atomic_fetch_sub(&p->state, 1); /* release: fn's writes before the caller returns */
    }
    return NULL;
}

swarm_err sw_pool_create(int n_threads, sw_pool **out)
{
    if (n_threads < 1 || n_threads > 1024) return SWARM_EINVAL; /* fits the state word */
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
    for (int i = 0; i < p->n_started; i++)
        pthread_join(p->workers[i].th, NULL);
    sw_free(p->workers);
    sw_free(p->scratch_raw);
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    sw_free(p);
}

int sw_pool_threads(const sw_pool *p)
{
    return p->n_threads;
}

/* Starts a run; returns after fn ran on the caller. */
static void run_start(sw_pool *p, void (*fn)(void *arg, int ith, int nth), void *arg, bool full)
{
    p->fn = fn;
    p->arg = arg;
    uint64_t s = atomic_load_explicit(&p->state, memory_order_relaxed);
    /* previous run fully drained: active == 0; new generation, open */
    atomic_store(&p->state, ((uint64_t)(ST_GEN(s) + 1) << 32) |
                                (full ? ST_FULL : 0)); /* seq_cst: publishes fn/arg */
    if (atomic_load(&p->sleepers) > 0) {
        pthread_mutex_lock(&p->mu);
        pthread_cond_broadcast(&p->cv);
        pthread_mutex_unlock(&p->mu);
    }
    fn(arg, 0, p->n_threads);
}

/* Spins, then yields, until cond holds (a descheduled worker on a busy
 * machine: stop burning the core it may need). */
#define WAIT_UNTIL(p, cond)                                                                        \
    do {                                                                                           \
        uint64_t t0_ = 0;                                                                          \
        bool yield_ = false;                                                                       \
        for (int i_ = 1; !(cond); i_++) {                                                          \
            if (yield_) {                                                                          \
                sched_yield();                                                                     \
                continue;                                                                          \
            }                                                                                      \
            cpu_relax();                                                                           \
            if ((i_ & 15) == 0) {                                                                  \
                if (t0_ == 0)                                                                      \
                    t0_ = sw_now_ns();                                                             \
                else if (sw_now_ns() - t0_ > PURE_SPIN_NS)                                         \
                    yield_ = true;                                                                 \
            }                                                                                      \
        }                                                                                          \
    } while (0)

void sw_pool_run(sw_pool *p, void (*fn)(void *arg, int ith, int nth), void *arg)
{
    if (p->n_threads == 1) {
        fn(arg, 0, 1);
        return;
    }
    run_start(p, fn, arg, true);
    uint32_t gen = ST_GEN(atomic_load(&p->state));
    /* A share whose worker has not claimed it by the time the caller is
     * done with its own is run here: the worker is asleep or, on a shared
     * core, descheduled, and waiting for it would cost more. */
    for (int i = 0; i < p->n_threads - 1; i++) {
        worker *w = &p->workers[i];
        uint32_t prev = atomic_load(&w->share_claimed);
        if (prev != gen && atomic_compare_exchange_strong(&w->share_claimed, &prev, gen)) {
            fn(arg, w->ith, p->n_threads);
            atomic_store_explicit(&w->share_done, gen, memory_order_relaxed);
        }
    }
    for (int i = 0; i < p->n_threads - 1; i++)
        WAIT_UNTIL(p, atomic_load_explicit(&p->workers[i].share_done, memory_order_acquire) == gen);
}

void sw_pool_run_optional(sw_pool *p, void (*fn)(void *arg, int ith, int nth), void *arg)
{
    if (p->n_threads == 1) {
        fn(arg, 0, 1);
        return;
    }
    if (p->solo_left > 0) { /* workers have been late lately: do it alone */
        p->solo_left--;
        fn(arg, 0, p->n_threads);
        return;
    }
    uint64_t t0 = sw_now_ns();
    run_start(p, fn, arg, false);
    uint64_t t1 = sw_now_ns();
    /* close the run to late workers, then wait for those inside fn */
    uint64_t s = atomic_fetch_or(&p->state, ST_CLOSED);
    s |= ST_CLOSED;
    float late = 0.0f; /* how much longer the caller waited than it worked, capped */
    if (ST_ACTIVE(s) != 0) {
        WAIT_UNTIL(p, ST_ACTIVE(atomic_load_explicit(&p->state, memory_order_acquire)) == 0);
        uint64_t waited = sw_now_ns() - t1, own = t1 - t0 + 1;
        if (waited > LATE_MIN_NS && waited > own)
            late = waited >= 4 * own ? 4.0f : (float)waited / (float)own;
    }
    p->late_score = p->late_score * 0.875f + late;
    if (p->late_score > LATE_LIMIT) {
        p->solo_left = SOLO_RUNS;
        p->late_score = 0.0f;
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

int sw_pool_solo_runs_left(const sw_pool *p)
{
    return p->solo_left;
}
