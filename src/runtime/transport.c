/*
 * transport.c: transports chosen by URL scheme (transport.h). A new
 * transport (nats: in the distributed issue) is one more row here.
 */
#include <string.h>

#include "runtime_int.h"

typedef struct scheme {
    const char *url; /* scheme with its colon */
    swarm_err (*open)(sw_node_env *env, sw_transport **out, swarm_diag *d);
} scheme;

static const scheme schemes[SWARM_TRANSPORT_COUNT] = {
    [SWARM_TRANSPORT_INPROC] = {"inproc:", sw_transport_inproc_create},
    [SWARM_TRANSPORT_PROCESS] = {"proc:", sw_transport_proc_create},
};

const char *sw_transport_url(swarm_transport_kind kind)
{
    return (unsigned)kind < SWARM_TRANSPORT_COUNT ? schemes[kind].url : NULL;
}

swarm_err sw_transport_open(const char *url, sw_node_env *env, sw_transport **out,
                            swarm_diag *d)
{
    if (url == NULL) return sw_diag_set(d, SWARM_EINVAL, "no transport URL");
    for (size_t i = 0; i < SWARM_TRANSPORT_COUNT; i++) {
        size_t n = strlen(schemes[i].url);
        if (strncmp(url, schemes[i].url, n) != 0) continue;
        if (url[n] != '\0')
            return sw_diag_set(d, SWARM_EINVAL,
                               "transport '%.200s': %s takes no address (nothing after the colon)",
                               url, schemes[i].url);
        return schemes[i].open(env, out, d);
    }
    return sw_diag_set(d, SWARM_EINVAL, "transport '%.200s': unknown scheme (inproc: or proc:)",
                       url);
}

sw_dispatch *sw_dispatch_new(int32_t node, int32_t sub, swarm_subtask_kind kind, const char *prompt,
                             const char *const *labels, size_t n_labels, int32_t max_tokens)
{
    size_t lbytes = 0;
    for (size_t j = 0; j < n_labels; j++) lbytes += strlen(labels[j]) + 1;
    sw_dispatch *msg = sw_calloc(1, sizeof(*msg) + n_labels * sizeof(char *) + lbytes);
    char *pc = sw_strdup(prompt ? prompt : "");
    if (msg == NULL || pc == NULL) {
        sw_free(msg);
        sw_free(pc);
        return NULL;
    }
    char **lab = (char **)(msg + 1);
    char *lp = (char *)(lab + n_labels);
    for (size_t j = 0; j < n_labels; j++) {
        size_t l = strlen(labels[j]) + 1;
        memcpy(lp, labels[j], l);
        lab[j] = lp;
        lp += l;
    }
    msg->node = node;
    msg->sub = sub;
    msg->kind = kind;
    msg->prompt = pc;
    msg->labels = (const char *const *)lab;
    msg->n_labels = n_labels;
    msg->max_tokens = max_tokens;
    return msg;
}
