/*
 * transport_proc.c: the child-process transport: each node runs in its own
 * forked process (the in-process workers for that one node, sharing the
 * parent's mmapped model), connected by a socketpair carrying length-
 * prefixed frames: dispatch and cancel down, results, progress and
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
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runtime_int.h"

#define FRAME_MAX (64u << 20) /* a larger frame means a broken peer */
#define MAX_CHILDREN 256

enum { F_DISPATCH = 1, F_CANCEL = 2, F_EVENT = 3, F_T0 = 4 };

/* ------------------------------------------------------------------------ */
/* a growable byte buffer with little-endian-agnostic (same host) fields     */

typedef struct buf {
    unsigned char *p;
    size_t n, cap, off; /* off: read position */
} buf;

static bool buf_put(buf *b, const void *src, size_t n)
{
    if (b->n + n > b->cap) {
        size_t nc = b->cap ? b->cap * 2 : 4096;
        while (nc < b->n + n) nc *= 2;
        unsigned char *np = sw_realloc(b->p, nc);
        if (np == NULL) return false;
        b->p = np;
        b->cap = nc;
    }
    memcpy(b->p + b->n, src, n);
    b->n += n;
    return true;
}

static bool buf_get(buf *b, void *dst, size_t n)
{
    if (b->off + n > b->n) return false;
    memcpy(dst, b->p + b->off, n);
    b->off += n;
    return true;
}

static void buf_consume(buf *b)
{
    if (b->off == 0) return;
    memmove(b->p, b->p + b->off, b->n - b->off);
    b->n -= b->off;
    b->off = 0;
}

#define PUT(b, v) buf_put((b), &(v), sizeof(v))
#define GET(b, v) buf_get((b), &(v), sizeof(v))

static bool put_str(buf *b, const char *s)
{
    uint32_t l = s ? (uint32_t)strlen(s) : 0;
    return PUT(b, l) && buf_put(b, s ? s : "", l);
}

/* Reads a string into a fresh sw_malloc'd buffer. */
static bool get_str(buf *b, char **out)
{
    uint32_t l;
    if (!GET(b, l) || l > FRAME_MAX || b->off + l > b->n) return false;
    char *s = sw_malloc((size_t)l + 1);
    if (s == NULL) return false;
    memcpy(s, b->p + b->off, l);
    s[l] = 0;
    b->off += l;
    *out = s;
    return true;
}

/* Frame = u32 type, u32 payload length, payload. */
static bool frame_begin(buf *b, uint32_t type, size_t *len_at)
{
    uint32_t zero = 0;
    if (!PUT(b, type)) return false;
    *len_at = b->n;
    return PUT(b, zero);
}

static void frame_end(buf *b, size_t len_at)
{
    uint32_t len = (uint32_t)(b->n - len_at - 4);
    memcpy(b->p + len_at, &len, 4);
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

static bool encode_event(buf *b, const sw_event *ev)
{
    size_t at;
    uint32_t type = (uint32_t)ev->type, rc = (uint32_t)ev->rc;
    uint8_t probe = ev->probe, canceled = ev->canceled;
    bool ok = frame_begin(b, F_EVENT, &at) && PUT(b, type) && PUT(b, ev->node) && PUT(b, ev->sub) &&
              PUT(b, ev->epoch) && PUT(b, ev->run) && PUT(b, probe) && PUT(b, canceled) && PUT(b, rc) &&
              PUT(b, ev->value) && PUT(b, ev->confidence) && PUT(b, ev->tokens) &&
              PUT(b, ev->busy_ms) && PUT(b, ev->hlc) && PUT(b, ev->crc) && put_str(b, ev->text);
    uint8_t has_text = ev->text != NULL;
    ok = ok && PUT(b, has_text);
    if (ok) frame_end(b, at);
    return ok;
}

static bool decode_event(buf *b, sw_event *ev)
{
    uint32_t type, rc;
    uint8_t probe, canceled, has_text;
    char *text = NULL;
    memset(ev, 0, sizeof(*ev));
    if (!(GET(b, type) && GET(b, ev->node) && GET(b, ev->sub) && GET(b, ev->epoch) && GET(b, ev->run) &&
          GET(b, probe) && GET(b, canceled) && GET(b, rc) && GET(b, ev->value) &&
          GET(b, ev->confidence) && GET(b, ev->tokens) && GET(b, ev->busy_ms) && GET(b, ev->hlc) &&
          GET(b, ev->crc) && get_str(b, &text) && GET(b, has_text)) ||
        type > SW_EV_PROGRESS || rc >= SWARM_ERR_COUNT) {
        sw_free(text);
        return false;
    }
    ev->type = (sw_ev_type)type;
    ev->rc = (swarm_err)rc;
    ev->probe = probe;
    ev->canceled = canceled;
    if (has_text) ev->text = text;
    else sw_free(text);
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

static void *child_reader(void *arg)
{
    child_ctx *c = arg;
    buf in = {0};
    unsigned char tmp[65536];
    for (;;) {
        ssize_t r = recv(c->fd, tmp, sizeof(tmp), 0);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0 || !buf_put(&in, tmp, (size_t)r)) break;
        for (;;) {
            uint32_t type, len;
            size_t start = in.off;
            if (!GET(&in, type) || !GET(&in, len)) {
                in.off = start;
                break;
            }
            if (len > FRAME_MAX) goto done;
            if (in.off + len > in.n) {
                in.off = start;
                break;
            }
            size_t end = in.off + len;
            if (type == F_DISPATCH) {
                sw_dispatch hdr = {0};
                uint8_t probe;
                uint32_t kind, nl;
                uint64_t t0;
                char *prompt = NULL;
                if (!(GET(&in, hdr.node) && GET(&in, hdr.sub) && GET(&in, hdr.epoch) && GET(&in, hdr.run) &&
                      GET(&in, probe) && GET(&in, kind) && GET(&in, hdr.max_tokens) &&
                      GET(&in, t0) && get_str(&in, &prompt) && GET(&in, nl)) ||
                    nl > SW_RT_MAX_LABELS) {
                    sw_free(prompt);
                    goto done;
                }
                char *labels[SW_RT_MAX_LABELS];
                size_t lbytes = 0;
                bool ok = true;
                for (uint32_t j = 0; j < nl; j++) {
                    if (!get_str(&in, &labels[j])) {
                        for (uint32_t q = 0; q < j; q++) sw_free(labels[q]);
                        ok = false;
                        break;
                    }
                    lbytes += strlen(labels[j]) + 1;
                }
                if (!ok) {
                    sw_free(prompt);
                    goto done;
                }
                sw_dispatch *m = sw_calloc(1, sizeof(*m) + nl * sizeof(char *) + lbytes);
                if (m) {
                    char **lab = (char **)(m + 1);
                    char *lp = (char *)(lab + nl);
                    for (uint32_t j = 0; j < nl; j++) {
                        size_t l = strlen(labels[j]) + 1;
                        memcpy(lp, labels[j], l);
                        lab[j] = lp;
                        lp += l;
                    }
                    m->node = hdr.node;
                    m->sub = hdr.sub;
                    m->epoch = hdr.epoch;
                    m->run = hdr.run;
                    m->probe = probe;
                    m->kind = (swarm_subtask_kind)kind;
                    m->max_tokens = hdr.max_tokens;
                    m->prompt = prompt;
                    m->labels = (const char *const *)lab;
                    m->n_labels = nl;
                    prompt = NULL;
                    uint64_t zero = 0;
                    atomic_compare_exchange_strong(&c->env->t0_ns, &zero, t0);
                    c->inner->ops->send(c->inner, m);
                }
                sw_free(prompt);
                for (uint32_t j = 0; j < nl; j++) sw_free(labels[j]);
            } else if (type == F_T0) {
                /* the run clock fault times are relative to, even before
                 * this node's first dispatch */
                uint64_t t0, zero = 0;
                if (GET(&in, t0)) atomic_compare_exchange_strong(&c->env->t0_ns, &zero, t0);
            } else if (type == F_CANCEL) {
                int32_t node, sub;
                uint32_t epoch;
                if (GET(&in, node) && GET(&in, sub) && GET(&in, epoch))
                    c->inner->ops->cancel(c->inner, node, sub, epoch);
            }
            in.off = end;
            buf_consume(&in);
        }
    }
done:
    sw_free(in.p);
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
    buf out = {0};
    while (!atomic_load(&c.eof)) {
        size_t n = inner->ops->recv(inner, evs, 256, 50);
        out.n = 0;
        bool ok = true;
        for (size_t i = 0; i < n; i++) {
            ok = ok && encode_event(&out, &evs[i]);
            sw_free(evs[i].text);
        }
        if (n > 0 && (!ok || !write_all(fd, out.p, out.n))) break;
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
    buf in, out;
} child;

typedef struct proc {
    sw_transport base;
    sw_node_env *env;
    size_t n;
    child *ch;
    sw_event *pend; /* decoded but not yet returned */
    size_t pend_n, pend_cap, pend_off;
} proc;

static void child_gone(child *c)
{
    if (c->fd >= 0) close(c->fd);
    c->fd = -1;
}

static void flush_out(child *c)
{
    while (c->fd >= 0 && c->out.off < c->out.n) {
        ssize_t w = send(c->fd, c->out.p + c->out.off, c->out.n - c->out.off,
                         MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break; /* later */
        if (w <= 0) {
            child_gone(c);
            break;
        }
        c->out.off += (size_t)w;
    }
    buf_consume(&c->out);
    if (c->fd < 0) c->out.n = c->out.off = 0;
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
    size_t at;
    uint8_t probe = m->probe;
    uint32_t kind = (uint32_t)m->kind, nl = (uint32_t)m->n_labels;
    uint64_t t0 = atomic_load(&P->env->t0_ns);
    bool ok = frame_begin(&c->out, F_DISPATCH, &at) && PUT(&c->out, m->node) &&
              PUT(&c->out, m->sub) && PUT(&c->out, m->epoch) && PUT(&c->out, m->run) && PUT(&c->out, probe) &&
              PUT(&c->out, kind) && PUT(&c->out, m->max_tokens) && PUT(&c->out, t0) &&
              put_str(&c->out, m->prompt) && PUT(&c->out, nl);
    for (uint32_t j = 0; ok && j < nl; j++) ok = put_str(&c->out, m->labels[j]);
    if (!ok) {
        rc = SWARM_ENOMEM;
        goto out;
    }
    frame_end(&c->out, at);
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
    size_t at;
    if (frame_begin(&c->out, F_CANCEL, &at) && PUT(&c->out, node) && PUT(&c->out, sub) &&
        PUT(&c->out, epoch)) {
        frame_end(&c->out, at);
        flush_out(c);
    }
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

/* Decodes every complete frame in c->in; a malformed one ends the child. */
static void parse_in(proc *P, child *c, size_t idx)
{
    for (;;) {
        uint32_t type, len;
        size_t start = c->in.off;
        if (!GET(&c->in, type) || !GET(&c->in, len)) {
            c->in.off = start;
            break;
        }
        if (len > FRAME_MAX || type != F_EVENT) goto broken;
        if (c->in.off + len > c->in.n) {
            c->in.off = start;
            break;
        }
        size_t end = c->in.off + len;
        sw_event ev;
        if (!decode_event(&c->in, &ev) || c->in.off != end || (size_t)ev.node != idx) {
            sw_free(ev.text); /* NULL when decoding failed */
            goto broken;
        }
        if (!pend_push(P, &ev)) sw_free(ev.text);
    }
    buf_consume(&c->in);
    return;
broken:
    sw_log_warn("node %zu: malformed frame from its worker process; dropping it", idx);
    kill(c->pid, SIGKILL);
    child_gone(c);
    c->in.n = c->in.off = 0;
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
    struct pollfd pf[MAX_CHILDREN];
    size_t map[MAX_CHILDREN], np = 0;
    uint64_t t0 = atomic_load(&P->env->t0_ns);
    for (size_t i = 0; i < P->n && np < MAX_CHILDREN; i++) {
        child *c = &P->ch[i];
        if (c->fd < 0) continue;
        size_t at;
        if (t0 && !c->t0_sent && frame_begin(&c->out, F_T0, &at) && PUT(&c->out, t0)) {
            frame_end(&c->out, at);
            c->t0_sent = true;
        }
        flush_out(c);
        if (c->fd < 0) continue;
        pf[np].fd = c->fd;
        pf[np].events = POLLIN | (c->out.n > 0 ? POLLOUT : 0);
        pf[np].revents = 0;
        map[np++] = i;
    }
    int pr = poll(pf, (nfds_t)np, timeout_ms > 0 ? (int)(timeout_ms + 0.999) : 0);
    for (size_t k = 0; pr > 0 && k < np; k++) {
        child *c = &P->ch[map[k]];
        if (pf[k].revents & POLLOUT) flush_out(c);
        if (!(pf[k].revents & (POLLIN | POLLHUP | POLLERR)) || c->fd < 0) continue;
        unsigned char tmp[65536];
        ssize_t r = recv(c->fd, tmp, sizeof(tmp), MSG_DONTWAIT);
        if (r > 0) {
            if (!buf_put(&c->in, tmp, (size_t)r)) continue;
            parse_in(P, c, map[k]);
        } else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
            child_gone(c); /* EOF: it crashed or was killed; it is now silent */
        }
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
        sw_free(c->in.p);
        sw_free(c->out.p);
    }
    for (size_t i = P->pend_off; i < P->pend_n; i++) sw_free(P->pend[i].text);
    sw_free(P->pend);
    sw_free(P->ch);
    sw_free(P);
}

static const sw_transport_ops proc_ops = {proc_send, proc_cancel, proc_recv, proc_destroy};

int sw_transport_proc_pid(sw_transport *t, size_t i)
{
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
    *out = &P->base;
    return SWARM_OK;
}
