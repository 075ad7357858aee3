/*
 * pq.c: the bounded priority queue behind task submission (back-pressure):
 * a binary heap over a fixed array that never grows; push on a full queue
 * returns SWARM_EFULL at once.
 */
#include "runtime_int.h"

swarm_err sw_pq_init(sw_pq *q, size_t cap)
{
    q->heap = sw_calloc(cap ? cap : 1, sizeof(*q->heap));
    if (q->heap == NULL) return SWARM_ENOMEM;
    q->n = 0;
    q->cap = cap;
    q->next_seq = 1;
    return SWARM_OK;
}

void sw_pq_fini(sw_pq *q)
{
    sw_free(q->heap);
    q->heap = NULL;
    q->n = q->cap = 0;
}

/* a before b: higher priority, then earlier submission. */
static bool before(const sw_pq_item *a, const sw_pq_item *b)
{
    return a->priority != b->priority ? a->priority > b->priority : a->seq < b->seq;
}

swarm_err sw_pq_push(sw_pq *q, int64_t priority, void *ptr, uint64_t *out_seq)
{
    if (q->n >= q->cap) return SWARM_EFULL;
    size_t i = q->n++;
    sw_pq_item it = {priority, q->next_seq++, ptr};
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!before(&it, &q->heap[parent])) break;
        q->heap[i] = q->heap[parent];
        i = parent;
    }
    q->heap[i] = it;
    if (out_seq) *out_seq = it.seq;
    return SWARM_OK;
}

bool sw_pq_pop(sw_pq *q, sw_pq_item *out)
{
    if (q->n == 0) return false;
    *out = q->heap[0];
    sw_pq_item last = q->heap[--q->n];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, best = i;
        const sw_pq_item *bi = &last;
        if (l < q->n && before(&q->heap[l], bi)) { best = l; bi = &q->heap[l]; }
        if (r < q->n && before(&q->heap[r], bi)) { best = r; }
        if (best == i) break;
        q->heap[i] = q->heap[best];
        i = best;
    }
    if (q->n > 0) q->heap[i] = last;
    return true;
}
