/*
 * fuzz_serve_decode.c: libFuzzer target for swarm serve's request decoder
 * (src/serve/decode.c). The first byte picks the endpoint (even: chat, odd:
 * completions), the rest is the body. An accepted request must hold sane
 * values; a refused one must hold nothing and give a 400 (or 500 for memory)
 * whose error body is valid JSON in OpenAI's shape.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "swarm/serve.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) return 0;
    swarm_api_kind kind = (data[0] & 1) ? SWARM_API_COMPLETION : SWARM_API_CHAT;
    swarm_api_request r;
    swarm_api_error e;
    swarm_err rc = swarm_api_decode(kind, (const char *)data + 1, size - 1, &r, &e);
    if (rc == SWARM_OK) {
        if (r.model == NULL || r.model[0] == '\0' || r.prompt == NULL) abort();
        if (r.n != 1 || r.n_stop > SWARM_API_MAX_STOP) abort();
        if (r.max_tokens < 0 || r.max_tokens > 65536) abort();
        if (r.has_temperature && !(r.temperature >= 0 && r.temperature <= 2)) abort();
        if (r.has_top_p && !(r.top_p > 0 && r.top_p <= 1)) abort();
        for (size_t i = 0; i < r.n_stop; i++)
            if (r.stop[i] == NULL || r.stop[i][0] == '\0') abort();
        if (kind == SWARM_API_CHAT && strstr(r.prompt, "Assistant:") == NULL) abort();
    } else {
        if (r.model != NULL || r.prompt != NULL || r.n_stop != 0) abort();
        if (e.http != 400 && e.http != 500) abort();
        char *s = swarm_api_error_json(&e);
        if (s == NULL) abort();
        json_t *o = json_loads(s, 0, NULL);
        if (o == NULL || json_object_size(json_object_get(o, "error")) != 4) abort();
        json_decref(o);
        free(s);
    }
    swarm_api_request_clear(&r);
    return 0;
}
