/*
 * sampler.c: next-token choice from logits: greedy (ties -> lowest id) and
 * temperature sampling with top-k, top-p (nucleus) and min-p filters, driven
 * by a per-session seeded RNG so runs are reproducible. It never allocates:
 * the candidate buffer belongs to the session arena.
 */
#include <math.h>
#include <stdlib.h>

#include "forward.h"

/* ------------------------------------------------------------------------ */
/* RNG: xorshift64* seeded through splitmix64 (a zero seed is fine)         */

static uint64_t splitmix64(uint64_t x)
{
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

static uint32_t rng_u32(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return (uint32_t)((x * 0x2545F4914F6CDD1Dull) >> 32);
}

float sw_sampler_rand(sw_sampler *s)
{
    return (float)(rng_u32(&s->rng) >> 8) / 16777216.0f; /* 24 bits: exact in float */
}

void sw_sampler_init(sw_sampler *s, const swarm_sampling *cfg, int32_t n_vocab, sw_prob *cand)
{
    s->cfg = *cfg;
    s->n_vocab = n_vocab;
    s->cand = cand;
    s->rng = splitmix64(cfg->seed);
    if (s->rng == 0) s->rng = 0x9E3779B97F4A7C15ull; /* xorshift must not start at 0 */
}

/* ------------------------------------------------------------------------ */
/* greedy                                                                    */

int32_t sw_argmax(const float *x, int32_t n)
{
    int32_t best = 0;
    float bv = -INFINITY;
    bool found = false;
    for (int32_t i = 0; i < n; i++) {
        /* strict '>' keeps the lowest id on ties; NaN compares false */
        if (!found ? !isnan(x[i]) : x[i] > bv) {
            bv = x[i];
            best = i;
            found = true;
        }
    }
    return best;
}

/* ------------------------------------------------------------------------ */
/* sampling                                                                  */

/* Descending probability, then ascending id, so the order is deterministic. */
static int prob_cmp(const void *a, const void *b)
{
    const sw_prob *x = a, *y = b;
    if (x->p > y->p) return -1;
    if (x->p < y->p) return 1;
    return (x->id > y->id) - (x->id < y->id);
}

static bool prob_less(const sw_prob *a, const sw_prob *b) { return prob_cmp(a, b) > 0; }

/* Restores the min-heap c[0..k) (worst candidate on top) below slot j. */
static void sift_down(sw_prob *c, int32_t k, int32_t j)
{
    for (;;) {
        int32_t l = 2 * j + 1, r = l + 1, m = j;
        if (l < k && prob_less(&c[l], &c[m])) m = l;
        if (r < k && prob_less(&c[r], &c[m])) m = r;
        if (m == j) return;
        sw_prob t = c[j];
        c[j] = c[m];
        c[m] = t;
        j = m;
    }
}

/* Keeps the k best of c[0..n) in c[0..k) (a min-heap on top, then sorted):
 * O(n log k) instead of sorting the whole vocabulary. */
static int32_t keep_top_k(sw_prob *c, int32_t n, int32_t k)
{
    if (k >= n) {
        qsort(c, (size_t)n, sizeof(*c), prob_cmp);
        return n;
    }
    /* heap of the k best so far, the worst of them at c[0] */
    for (int32_t i = k / 2 - 1; i >= 0; i--) sift_down(c, k, i);
    for (int32_t i = k; i < n; i++) {
        if (!prob_less(&c[0], &c[i])) continue;
        c[0] = c[i];
        sift_down(c, k, 0);
    }
    qsort(c, (size_t)k, sizeof(*c), prob_cmp);
    return k;
}

int32_t sw_sampler_sample(sw_sampler *s, const float *logits)
{
    const swarm_sampling *cfg = &s->cfg;
    int32_t n = s->n_vocab;
    if (!(cfg->temperature > 0.0f) || cfg->top_k == 1) return sw_argmax(logits, n);

    /* softmax of logits / temperature, written into the candidate buffer */
    int32_t amax = sw_argmax(logits, n);
    float mx = logits[amax];
    float inv_t = 1.0f / cfg->temperature;
    /* A temperature so small that 1/T overflows is greedy in the limit; an
     * infinite (or all-NaN) top logit has no softmax. Both would otherwise
     * give 0 x inf = NaN probabilities and an arbitrary pick. */
    if (!isfinite(inv_t) || !isfinite(mx)) return amax;
    double sum = 0.0;
    sw_prob *c = s->cand;
    for (int32_t i = 0; i < n; i++) {
        float v = logits[i];
        float e = isnan(v) ? 0.0f : expf((v - mx) * inv_t);
        c[i].p = e;
        c[i].id = i;
        sum += e;
    }
    float inv_sum = (float)(1.0 / sum);
    float pmax = 0.0f;
    for (int32_t i = 0; i < n; i++) {
        c[i].p *= inv_sum;
        if (c[i].p > pmax) pmax = c[i].p;
    }

    bool use_k = cfg->top_k > 0 && cfg->top_k < n;
    bool use_p = cfg->top_p > 0.0f && cfg->top_p < 1.0f;
    bool use_min = cfg->min_p > 0.0f && cfg->min_p <= 1.0f;
    float coin = sw_sampler_rand(s);

    if (!use_k && !use_p && !use_min) {
        /* plain multinomial over ids in order (llama2.c sample_mult) */
        float cdf = 0.0f;
        for (int32_t i = 0; i < n; i++) {
            cdf += c[i].p;
            if (coin < cdf) return i;
        }
        return n - 1; /* rounding */
    }

    /* Drop tokens that cannot survive the filters before sorting: min-p's
     * threshold, and llama2.c's top-p bound (a token below (1-p)/(n-1) can
     * never be inside the nucleus). */
    float cutoff = 0.0f;
    if (use_min) cutoff = cfg->min_p * pmax;
    if (use_p && !use_k && n > 1) {
        float b = (1.0f - cfg->top_p) / (float)(n - 1);
        if (b > cutoff) cutoff = b;
    }
    int32_t m = 0;
    for (int32_t i = 0; i < n; i++)
        if (c[i].p >= cutoff) c[m++] = c[i];
    if (m == 0) return amax;

    m = keep_top_k(c, m, use_k ? cfg->top_k : m);
    float total = 0.0f;
    int32_t last = m - 1;
    for (int32_t i = 0; i < m; i++) {
        total += c[i].p;
        if (use_p && total > cfg->top_p) {
            last = i;
            break;
        }
    }
    float r = coin * total;
    float cdf = 0.0f;
    for (int32_t i = 0; i <= last; i++) {
        cdf += c[i].p;
        if (r < cdf) return c[i].id;
    }
    return c[last].id;
}
