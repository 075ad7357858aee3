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
