/*
 * transport_proc.c: the child-process transport: each node runs in its own
 * forked process (the in-process workers for that one node, sharing the
 * parent's mmapped model), connected by a socketpair carrying the frames
 * of the wire format (wire.h: versioned, little-endian, explicit lengths):
 * dispatch, cancel and the run clock down, results, progress and
 * heartbeats up. A crashed or SIGKILLed child just goes silent: the
 * coordinator's failure detector handles it like any dead node. The
 * coordinator side uses poll() and never blocks on a slow child.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runtime_int.h"
#include "wire.h"

#define MAX_CHILDREN 256

/* ------------------------------------------------------------------------ */
/* byte streams: frames are encoded and decoded by wire.c; these buffers
 * only hold bytes in transit (an sw_buf plus how much of it is consumed). */

typedef struct stream {
    sw_buf b;
    size_t off; /* bytes already sent (out) or parsed (in) */
} stream;

/* Drops the consumed prefix. */
static void stream_consume(stream *s)
{
    if (s->off == 0) return;
    memmove(s->b.p, (char *)s->b.p + s->off, s->b.len - s->off);
    s->b.len -= s->off;
    s->off = 0;
}

static void stream_free(stream *s)
{
    sw_free(s->b.p);
    memset(s, 0, sizeof(*s));
}

/* Writes everything (blocking); false when the peer is gone. */
static bool write_all(int fd, const unsigned char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return false;
        p += w;
        n -= (size_t)w;
    }
    return true;
}

/* ------------------------------------------------------------------------ */
/* the child: in-process workers for one node, a reader thread for frames    */

typedef struct child_ctx {
    int fd;
    sw_transport *inner;
    sw_node_env *env;
    _Atomic bool eof;
} child_ctx;

/* Handles one frame from the coordinator; false when it is malformed (the
 * stream cannot be trusted after that: the child stops reading). */
static bool child_frame(child_ctx *c, const sw_wire_frame *f)
{
    swarm_diag d = {{0}};
    switch (f->type) {
    case SW_WIRE_DISPATCH: {
        sw_dispatch *m = NULL;
        uint64_t t0 = 0, zero = 0;
        swarm_err rc = sw_wire_get_dispatch(f, &m, &t0, &d);
        if (rc == SWARM_ENOMEM) return true; /* lost, as on a network: the coordinator retries */
        if (rc != SWARM_OK) break;
        atomic_compare_exchange_strong(&c->env->t0_ns, &zero, t0);
        /* the inner transport owns m from here, also when it refuses it */
        if (c->inner->ops->send(c->inner, m) != SWARM_OK)
            sw_log_warn("node worker: dispatch for another node refused");
        return true;
    }
    case SW_WIRE_T0: {
        /* the run clock fault times are relative to, even before this
         * node's first dispatch */
        uint64_t t0 = 0, zero = 0;
        if (sw_wire_get_t0(f, &t0, &d) != SWARM_OK) break;
        atomic_compare_exchange_strong(&c->env->t0_ns, &zero, t0);
        return true;
    }
    case SW_WIRE_CANCEL: {
        int32_t node, sub;
        uint32_t epoch;
        if (sw_wire_get_cancel(f, &node, &sub, &epoch, &d) != SWARM_OK) break;
        c->inner->ops->cancel(c->inner, node, sub, epoch);
        return true;
    }
    default: sw_diag_set(&d, SWARM_EFORMAT, "wire: unexpected frame type %d", (int)f->type); break;
    }
    sw_log_warn("node worker: %s; closing the connection", d.msg);
    return false;
}

static void *child_reader(void *arg)
{
    child_ctx *c = arg;
    stream in = {0};
    unsigned char tmp[65536];
    for (;;) {
        ssize_t r = recv(c->fd, tmp, sizeof(tmp), 0);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        sw_buf_put(&in.b, tmp, (size_t)r);
        if (in.b.oom) break;
        bool ok = true;
        while (ok) {
            sw_wire_frame f;
            size_t used = 0;
            swarm_diag d = {{0}};
            if (sw_wire_next((const uint8_t *)in.b.p + in.off, in.b.len - in.off, &f, &used, &d) !=
                SWARM_OK) {
                sw_log_warn("node worker: %s; closing the connection", d.msg);
                ok = false;
            } else if (used == 0) {
                break; /* the rest of the frame is still in flight */
            } else {
                ok = child_frame(c, &f);
                in.off += used;
            }
        }
        if (!ok) break;
        stream_consume(&in);
    }
    stream_free(&in);
    atomic_store(&c->eof, true);
    return NULL;
}

static void child_main(int fd, sw_node_env *env, size_t node)
{
    env->only = (int32_t)node;
    sw_transport *inner = NULL;
    if (sw_transport_inproc_create(env, &inner, NULL) != SWARM_OK) return;
    child_ctx c = {fd, inner, env, false};
    pthread_t rd;
    if (pthread_create(&rd, NULL, child_reader, &c) != 0) {
        inner->ops->destroy(inner);
        return;
    }
    sw_event evs[256];
    sw_buf out = {0};
    while (!atomic_load(&c.eof)) {
        size_t n = inner->ops->recv(inner, evs, 256, 50);
        out.len = 0;
        for (size_t i = 0; i < n; i++) {
            sw_wire_put_event(&out, &evs[i]);
            sw_free(evs[i].text);
        }
        if (n > 0 && (out.oom || !write_all(fd, out.p, out.len))) break;
    }
    /* The parent is gone or closed us: stop the workers and leave. */
    shutdown(fd, SHUT_RDWR);
    pthread_join(rd, NULL);
    inner->ops->destroy(inner);
    sw_free(out.p);
}

/* ------------------------------------------------------------------------ */
/* the coordinator side                                                      */

typedef struct child {
    pid_t pid;
    int fd; /* -1 once the child is gone */
    bool t0_sent;
    bool down_told; /* SW_EV_NODE_DOWN delivered for it */
    stream in, out;
} child;

typedef struct proc {
    sw_transport base;
    sw_node_env *env;
    size_t n;
    child *ch;
    sw_event *pend; /* decoded but not yet returned */
    size_t pend_n, pend_cap, pend_off;
    int wake_fd;    /* eventfd: wake() makes the poll in recv return */
} proc;

static void child_gone(child *c)
{
    if (c->fd >= 0) close(c->fd);
    c->fd = -1;
}

static void flush_out(child *c)
{
    while (c->fd >= 0 && c->out.off < c->out.b.len) {
        ssize_t w = send(c->fd, (char *)c->out.b.p + c->out.off, c->out.b.len - c->out.off,
                         MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break; /* later */
        if (w <= 0) {
            child_gone(c);
            break;
        }
        c->out.off += (size_t)w;
    }
    stream_consume(&c->out);
    if (c->fd < 0) c->out.b.len = c->out.off = 0;
}

/* Called after appending one frame to c's output at mark: an encoding
 * failure (out of memory) drops that frame only, never leaves half of it
 * queued. True when the frame is queued. */
static bool frame_queued(child *c, size_t mark)
{
    if (!c->out.b.oom) return true;
    c->out.b.oom = false;
    c->out.b.len = mark;
    return false;
}

static swarm_err proc_send(sw_transport *t, sw_dispatch *m)
{
    proc *P = (proc *)t;
    swarm_err rc = SWARM_OK;
    if (m->node < 0 || (size_t)m->node >= P->n) {
        rc = SWARM_EINVAL;
        goto out;
    }
    child *c = &P->ch[m->node];
    if (c->fd < 0) goto out; /* a dead child: the message is lost, as on a network */
    size_t mark = c->out.b.len;
    sw_wire_put_dispatch(&c->out.b, m, atomic_load(&P->env->t0_ns));
    if (!frame_queued(c, mark)) {
        rc = SWARM_ENOMEM;
        goto out;
    }
    flush_out(c);
out:
    sw_free(m->prompt);
    sw_free(m);
    return rc;
}

static void proc_cancel(sw_transport *t, int32_t node, int32_t sub, uint32_t epoch)
{
    proc *P = (proc *)t;
    if (node < 0 || (size_t)node >= P->n) return;
    child *c = &P->ch[node];
    if (c->fd < 0) return;
    size_t mark = c->out.b.len;
    sw_wire_put_cancel(&c->out.b, node, sub, epoch);
    /* a cancel lost to out-of-memory is harmless: epochs fence the result */
    if (frame_queued(c, mark)) flush_out(c);
}

static bool pend_push(proc *P, const sw_event *ev)
{
    if (P->pend_n == P->pend_cap) {
        size_t nc = P->pend_cap ? P->pend_cap * 2 : 256;
        sw_event *np = sw_realloc(P->pend, nc * sizeof(*np));
        if (np == NULL) return false;
        P->pend = np;
        P->pend_cap = nc;
    }
    P->pend[P->pend_n++] = *ev;
    return true;
}

/* Decodes every complete frame in c->in; a malformed one ends the child:
 * nothing it sends is trusted after that. */
static void parse_in(proc *P, child *c, size_t idx)
{
    swarm_diag d = {{0}};
    for (;;) {
        sw_wire_frame f;
        size_t used = 0;
        if (sw_wire_next((const uint8_t *)c->in.b.p + c->in.off, c->in.b.len - c->in.off, &f,
                         &used, &d) != SWARM_OK)
            goto broken;
        if (used == 0) break;
        sw_event ev;
        swarm_err rc = sw_wire_get_event(&f, &ev, &d);
        c->in.off += used;
        if (rc == SWARM_ENOMEM) continue; /* this event is lost; the detector covers it */
        if (rc != SWARM_OK) goto broken;
        if (ev.node < 0 || (size_t)ev.node != idx) {
            sw_free(ev.text);
            sw_diag_set(&d, SWARM_EFORMAT, "event for node %d on node %zu's connection",
                        (int)ev.node, idx);
            goto broken;
        }
        if (!pend_push(P, &ev)) sw_free(ev.text);
    }
    stream_consume(&c->in);
    return;
broken:
    sw_log_warn("node %zu: malformed frame from its worker process (%s); dropping it", idx, d.msg);
    kill(c->pid, SIGKILL);
    child_gone(c);
    c->in.b.len = c->in.off = 0;
}

static size_t take_pending(proc *P, sw_event *evs, size_t max)
{
    size_t n = 0;
    while (n < max && P->pend_off < P->pend_n) evs[n++] = P->pend[P->pend_off++];
    if (P->pend_off == P->pend_n) P->pend_off = P->pend_n = 0;
    return n;
}

static size_t proc_recv(sw_transport *t, sw_event *evs, size_t max, double timeout_ms)
{
    proc *P = (proc *)t;
    if (P->pend_off < P->pend_n) timeout_ms = 0;
    struct pollfd pf[MAX_CHILDREN + 1];
    size_t map[MAX_CHILDREN], np = 0;
    uint64_t t0 = atomic_load(&P->env->t0_ns);
    for (size_t i = 0; i < P->n && np < MAX_CHILDREN; i++) {
        child *c = &P->ch[i];
        if (c->fd < 0) continue;
        if (t0 && !c->t0_sent) {
            size_t mark = c->out.b.len;
            sw_wire_put_t0(&c->out.b, t0);
            c->t0_sent = frame_queued(c, mark);
        }
        flush_out(c);
        if (c->fd < 0) continue;
        pf[np].fd = c->fd;
        pf[np].events = POLLIN | (c->out.b.len > 0 ? POLLOUT : 0);
        pf[np].revents = 0;
        map[np++] = i;
    }
    pf[np].fd = P->wake_fd; /* last: map[] covers the children only */
    pf[np].events = POLLIN;
    pf[np].revents = 0;
    int pr = poll(pf, (nfds_t)np + 1, timeout_ms > 0 ? (int)(timeout_ms + 0.999) : 0);
    if (pr > 0 && (pf[np].revents & POLLIN)) {
        uint64_t v;
        if (read(P->wake_fd, &v, sizeof(v)) < 0) { /* EAGAIN: another read took it */ }
    }
    for (size_t k = 0; pr > 0 && k < np; k++) {
        child *c = &P->ch[map[k]];
        if (pf[k].revents & POLLOUT) flush_out(c);
        if (!(pf[k].revents & (POLLIN | POLLHUP | POLLERR)) || c->fd < 0) continue;
        unsigned char tmp[65536];
        ssize_t r = recv(c->fd, tmp, sizeof(tmp), MSG_DONTWAIT);
        if (r > 0) {
            sw_buf_put(&c->in.b, tmp, (size_t)r);
            if (c->in.b.oom) { /* bytes lost: the stream cannot be parsed any more */
                sw_log_warn("node %zu: out of memory reading its worker; dropping it", map[k]);
                kill(c->pid, SIGKILL);
                child_gone(c);
                stream_free(&c->in);
                continue;
            }
            parse_in(P, c, map[k]);
        } else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
            child_gone(c); /* EOF: it crashed or was killed; it is now silent */
        }
    }
    /* membership: a child whose connection ended is gone for good */
    for (size_t i = 0; i < P->n; i++) {
        child *c = &P->ch[i];
        if (c->fd >= 0 || c->pid <= 0 || c->down_told) continue;
        sw_event ev = {.type = SW_EV_NODE_DOWN, .node = (int32_t)i};
        if (pend_push(P, &ev)) c->down_told = true;
    }
    return take_pending(P, evs, max);
}

static void proc_destroy(sw_transport *t)
{
    proc *P = (proc *)t;
    if (P == NULL) return;
    for (size_t i = 0; i < P->n; i++) child_gone(&P->ch[i]); /* EOF: children exit */
    for (size_t i = 0; i < P->n; i++) {
        child *c = &P->ch[i];
        if (c->pid <= 0) continue;
        int st;
        bool reaped = false;
        for (int k = 0; k < 100 && !reaped; k++) {
            if (waitpid(c->pid, &st, WNOHANG) == c->pid) reaped = true;
            else sw_sleep_ms(10);
        }
        if (!reaped) {
            kill(c->pid, SIGKILL);
            waitpid(c->pid, &st, 0);
        }
        stream_free(&c->in);
        stream_free(&c->out);
    }
    for (size_t i = P->pend_off; i < P->pend_n; i++) sw_free(P->pend[i].text);
    if (P->wake_fd >= 0) close(P->wake_fd);
    sw_free(P->pend);
    sw_free(P->ch);
    sw_free(P);
}

static void proc_wake(sw_transport *t)
{
    proc *P = (proc *)t;
    uint64_t one = 1;
    if (write(P->wake_fd, &one, sizeof(one)) < 0) { /* EAGAIN: a wake is pending already */ }
}

static const sw_transport_ops proc_ops = {proc_send, proc_cancel, proc_recv, proc_wake,
                                          proc_destroy};

int sw_transport_proc_pid(sw_transport *t, size_t i)
{
    t = sw_transport_unwrap(t);
    if (t == NULL || t->ops != &proc_ops) return -1;
    proc *P = (proc *)t;
    return i < P->n ? (int)P->ch[i].pid : -1;
}

swarm_err sw_transport_proc_create(sw_node_env *env, sw_transport **out, swarm_diag *d)
{
    /* one process and one polled socket per node: proc_recv polls at most
     * MAX_CHILDREN sockets */
    if (env->n > MAX_CHILDREN)
        return sw_diag_set(d, SWARM_EINVAL,
                           "--transport process: at most %d nodes (the swarm has %zu)",
                           MAX_CHILDREN, env->n);
    proc *P = sw_calloc(1, sizeof(*P));
    if (P == NULL) return SWARM_ENOMEM;
    P->base.ops = &proc_ops;
    P->env = env;
    P->ch = sw_calloc(env->n ? env->n : 1, sizeof(child));
    if (P->ch == NULL) {
        sw_free(P);
        return SWARM_ENOMEM;
    }
    P->n = env->n;
    P->wake_fd = -1;
    for (size_t i = 0; i < P->n; i++) P->ch[i].fd = -1;
    for (size_t i = 0; i < P->n; i++) {
        int sv[2];
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
            proc_destroy(&P->base);
            return sw_diag_set(d, SWARM_ESYS, "socketpair: %s", strerror(errno));
        }
        fflush(NULL);
        pid_t pid = fork();
        if (pid < 0) {
            close(sv[0]);
            close(sv[1]);
            proc_destroy(&P->base);
            return sw_diag_set(d, SWARM_ESYS, "fork: %s", strerror(errno));
        }
        if (pid == 0) {
            /* The child keeps only its own end; the other children's
             * sockets stay with the parent. It never returns: _exit is how a
             * forked worker ends without running the parent's atexit code. */
            close(sv[0]);
            for (size_t j = 0; j < i; j++)
                if (P->ch[j].fd >= 0) close(P->ch[j].fd);
            child_main(sv[1], env, i);
            _exit(0);
        }
        close(sv[1]);
        P->ch[i].pid = pid;
        P->ch[i].fd = sv[0];
    }
    /* after the forks: no child holds it */
    if ((P->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0) {
        int e = errno;
        proc_destroy(&P->base);
        return sw_diag_set(d, SWARM_ESYS, "eventfd: %s", strerror(e));
    }
    *out = &P->base;
    return SWARM_OK;
}
