/*
 * wire.h: the coordinator <-> node wire format, version 1. Everything a
 * transport that crosses a process or a network boundary sends is encoded
 * here (transport_proc.c today, a NATS transport later): explicit field
 * widths, little-endian whatever the host, explicit lengths, a version in
 * every frame, and decoders that trust nothing: a frame is refused when it
 * is truncated, longer than SW_WIRE_FRAME_MAX, of another version or an
 * unknown type, when a length points past its end, when a field is out of
 * range, or when bytes are left over. Never installed.
 *
 * Frame: u16 version (SW_WIRE_VERSION), u16 type (sw_wire_type),
 *        u32 payload length, payload.
 * Strings: u32 length, the bytes (no NUL; a NUL inside is refused).
 * Doubles: the IEEE-754 bits as u64. Booleans: u8 0 or 1.
 *
 * DISPATCH: i32 node, i32 sub, u32 epoch, u32 run, u8 probe, u8 stream,
 *           u32 kind, i32 max_tokens, u64 seed, u32 sampling set,
 *           f64 temperature, i32 top_k, f64 top_p, f64 min_p, u64 t0_ns,
 *           str prompt, u32 n_labels, str label...
 *           (version 2 added stream, seed and the sampling overrides)
 * CANCEL:   i32 node, i32 sub, u32 epoch
 * (EVENT types: sw_ev_type of transport.h, membership events included)
 * EVENT:    u32 type, i32 node, i32 sub, u32 epoch, u32 run, u8 probe,
 *           u8 canceled, u32 rc, f64 value, f64 confidence, i64 tokens,
 *           f64 busy_ms, u64 hlc, u32 crc, u8 has_text, str text
 * T0:       u64 t0_ns (the run clock that fault times are relative to)
 */
#ifndef SW_WIRE_H
#define SW_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "runtime_int.h"

#define SW_WIRE_VERSION 2
#define SW_WIRE_HEADER 8               /* version, type, length */
#define SW_WIRE_FRAME_MAX (64u << 20)  /* a larger payload means a broken peer */

typedef enum {
    SW_WIRE_DISPATCH = 1,
    SW_WIRE_CANCEL = 2,
    SW_WIRE_EVENT = 3,
    SW_WIRE_T0 = 4,
    SW_WIRE_TYPE_END /* one past the last type */
} sw_wire_type;

/* ---- encoding: appends one whole frame to b (b->oom on failure) ---- */
void sw_wire_put_dispatch(sw_buf *b, const sw_dispatch *m, uint64_t t0_ns);
void sw_wire_put_cancel(sw_buf *b, int32_t node, int32_t sub, uint32_t epoch);
void sw_wire_put_event(sw_buf *b, const sw_event *ev);
void sw_wire_put_t0(sw_buf *b, uint64_t t0_ns);

/* ---- framing ---- */
typedef struct sw_wire_frame {
    sw_wire_type type;
    const uint8_t *payload; /* points into the caller's bytes */
    size_t len;
} sw_wire_frame;

/* Looks at the start of p[0..n): SWARM_OK with *f and *used (header +
 * payload) when a whole frame is there, SWARM_OK with *used 0 when more
 * bytes are needed, SWARM_EFORMAT (d says why) for a header that can never
 * be valid (version, type, length): the stream is unusable after that. */
swarm_err sw_wire_next(const uint8_t *p, size_t n, sw_wire_frame *f, size_t *used,
                       swarm_diag *d);

/* ---- decoding one frame's payload; SWARM_EFORMAT (d says why) or
 * SWARM_ENOMEM, and nothing to free, on failure ---- */
/* *out: a message owned by the caller (free with sw_dispatch_free). */
swarm_err sw_wire_get_dispatch(const sw_wire_frame *f, sw_dispatch **out, uint64_t *t0_ns,
                               swarm_diag *d);
swarm_err sw_wire_get_cancel(const sw_wire_frame *f, int32_t *node, int32_t *sub,
                             uint32_t *epoch, swarm_diag *d);
/* ev->text is sw_malloc'd (or NULL); the caller frees it. */
swarm_err sw_wire_get_event(const sw_wire_frame *f, sw_event *ev, swarm_diag *d);
swarm_err sw_wire_get_t0(const sw_wire_frame *f, uint64_t *t0_ns, swarm_diag *d);

/* Frees a message built by sw_wire_get_dispatch (prompt and the message;
 * the labels live in the same allocation). */
void sw_dispatch_free(sw_dispatch *m);

#endif /* SW_WIRE_H */
