/*
 * clock.c: the hybrid logical clock every result carries, the phi-accrual
 * failure detector, and small hashes (CRC-32 for in-transit corruption,
 * FNV-1a for deterministic stubs). Pure functions: tests drive them with a
 * simulated clock.
 */
#include <math.h>
#include <string.h>

#include "runtime_int.h"

/* ------------------------------------------------------------------------ */
/* hybrid logical clock (Kulkarni et al.): l = max physical seen, c breaks ties */

uint64_t sw_hlc_now(sw_hlc *c, uint64_t pt_ms)
{
    uint64_t old = atomic_load(&c->last), next;
    do {
        uint64_t l = sw_hlc_physical(old);
        next = pt_ms > l ? pt_ms << 16 : old + 1;
    } while (!atomic_compare_exchange_weak(&c->last, &old, next));
    return next;
}

uint64_t sw_hlc_recv(sw_hlc *c, uint64_t msg, uint64_t pt_ms)
{
    uint64_t old = atomic_load(&c->last), next;
    do {
        uint64_t hi = old > msg ? old : msg;
        next = pt_ms > sw_hlc_physical(hi) ? pt_ms << 16 : hi + 1;
    } while (!atomic_compare_exchange_weak(&c->last, &old, next));
    return next;
}

/* ------------------------------------------------------------------------ */
/* phi-accrual (Hayashibara et al.; the Akka/Cassandra form): the suspicion is
 * -log10 of the probability that a heartbeat is still to come, under a normal
 * model of inter-arrival times whose mean is padded by the acceptable pause
 * and whose deviation never drops below min_std (so a perfectly regular
 * stream does not make the detector hair-triggered). */

void sw_phi_init(sw_phi *p, double heartbeat_ms, double acceptable_pause_ms, double min_std_ms)
{
    memset(p, 0, sizeof(*p));
    p->last_ms = -1;
    p->first_ms = heartbeat_ms;
    p->pause_ms = acceptable_pause_ms;
    p->min_std_ms = min_std_ms;
}

static void phi_add(sw_phi *p, double iv)
{
    if (p->n == SW_PHI_WINDOW) {
        double old = p->iv[p->head];
        p->sum -= old;
        p->sumsq -= old * old;
    } else {
        p->n++;
    }
    p->iv[p->head] = iv;
    p->head = (p->head + 1) % SW_PHI_WINDOW;
    p->sum += iv;
    p->sumsq += iv * iv;
}

void sw_phi_heartbeat(sw_phi *p, double now_ms)
{
    if (p->last_ms < 0) {
        /* Bootstrap as Akka does: two samples around the expected interval,
         * so the first conviction is not made on a single observation. */
        phi_add(p, p->first_ms - p->first_ms / 4);
        phi_add(p, p->first_ms + p->first_ms / 4);
    } else if (now_ms > p->last_ms) {
        phi_add(p, now_ms - p->last_ms);
    }
    p->last_ms = now_ms;
}

double sw_phi_value(const sw_phi *p, double now_ms)
{
    if (p->last_ms < 0 || p->n == 0) return 0;
    double mean = p->sum / p->n;
    double var = p->sumsq / p->n - mean * mean;
    double sd = var > 0 ? sqrt(var) : 0;
    if (sd < p->min_std_ms) sd = p->min_std_ms;
    double t = now_ms - p->last_ms;
    double y = (t - (mean + p->pause_ms)) / sd;
    /* Logistic approximation of the normal CDF tail (Akka's). */
    double e = exp(-y * (1.5976 + 0.070566 * y * y));
    double v;
    if (t > mean + p->pause_ms) v = -log10(e / (1.0 + e));
    else v = -log10(1.0 - 1.0 / (1.0 + e));
    return v < 0 ? 0 : v;
}

void sw_phi_forgive(sw_phi *p, double now_ms)
{
    if (p->last_ms >= 0) p->last_ms = now_ms;
}

double sw_readmit_not_before(const sw_readmit_rule *r, double convicted_ms, int32_t n_convictions)
{
    int32_t mult = n_convictions - 1 < 10 ? n_convictions - 1 : 10;
    if (mult < 0) mult = 0;
    return convicted_ms + r->flap_backoff_ms * mult;
}

bool sw_readmit_heartbeat(const sw_readmit_rule *r, int32_t *count, double last_hb_ms,
                          double now_ms, double not_before_ms)
{
    if (*count > 0 && now_ms - last_hb_ms > 2 * r->heartbeat_ms + r->acceptable_pause_ms)
        *count = 0;
    return ++*count >= r->heartbeats && now_ms >= not_before_ms;
}

/* ------------------------------------------------------------------------ */
/* hashes */

uint32_t sw_crc32(const void *data, size_t n)
{
    const unsigned char *b = data;
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        c ^= b[i];
        for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
    }
    return c ^ 0xFFFFFFFFu;
}

uint64_t sw_fnv1a(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; s && *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ull;
    }
    return h;
}
