/*
 * fuzz_wire.c: libFuzzer target for the wire format (src/runtime/wire.c),
 * the bytes a worker process (later a remote node) sends: the input is a
 * stream of frames. Whatever decodes must encode back to a frame that
 * decodes to the same fields and the same bytes (the round trip), and no
 * input may crash, leak or read past its end.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Decodes the one frame in b and checks it equals f's encoding byte for byte. */
static void same_bytes(const sw_wire_frame *f, const sw_buf *b)
{
    if (b->oom) return; /* out of memory while re-encoding: nothing to compare */
    if (b->len != SW_WIRE_HEADER + f->len || memcmp((const uint8_t *)b->p + SW_WIRE_HEADER,
                                                     f->payload, f->len) != 0)
        abort();
}

static void round_trip(const sw_wire_frame *f)
{
    swarm_diag d;
    sw_buf b = {0};
    switch (f->type) {
    case SW_WIRE_DISPATCH: {
        sw_dispatch *m = NULL;
        uint64_t t0 = 0;
        if (sw_wire_get_dispatch(f, &m, &t0, &d) != SWARM_OK) break;
        if (m->n_labels > SW_RT_MAX_LABELS || m->prompt == NULL) abort();
        sw_wire_put_dispatch(&b, m, t0);
        same_bytes(f, &b);
        sw_dispatch_free(m);
        break;
    }
    case SW_WIRE_EVENT: {
        sw_event ev;
        if (sw_wire_get_event(f, &ev, &d) != SWARM_OK) break;
        if (ev.type >= SW_EV_TYPE_COUNT || ev.rc >= SWARM_ERR_COUNT) abort();
        sw_wire_put_event(&b, &ev);
        same_bytes(f, &b);
        sw_free(ev.text);
        break;
    }
    case SW_WIRE_CANCEL: {
        int32_t node, sub;
        uint32_t epoch;
        if (sw_wire_get_cancel(f, &node, &sub, &epoch, &d) != SWARM_OK) break;
        sw_wire_put_cancel(&b, node, sub, epoch);
        same_bytes(f, &b);
        break;
    }
    default: {
        uint64_t t0;
        if (sw_wire_get_t0(f, &t0, &d) != SWARM_OK) break;
        sw_wire_put_t0(&b, t0);
        same_bytes(f, &b);
        break;
    }
    }
    sw_free(b.p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t off = 0;
    while (off < size) {
        sw_wire_frame f;
        size_t used = 0;
        swarm_diag d;
        if (sw_wire_next(data + off, size - off, &f, &used, &d) != SWARM_OK || used == 0) break;
        if (used > size - off || f.payload != data + off + SW_WIRE_HEADER) abort();
        round_trip(&f);
        off += used;
    }
    return 0;
}
