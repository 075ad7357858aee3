/*
 * fuzz_gguf.c: libFuzzer target for the GGUF reader (TESTPLAN E1): any
 * buffer must parse or be rejected with a message, with no crash, leak,
 * undefined behaviour or unbounded allocation. Parsed files are walked
 * through the lookups so their views are touched too.
 */
#include <stdint.h>
#include <string.h>

#include "engine/engine_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sw_gguf g;
    swarm_diag d = {{0}};
    if (sw_gguf_parse(data, size, &g, &d) != SWARM_OK) {
        SWARM_ASSERT(d.msg[0] != '\0');
        return 0;
    }
    uint32_t u;
    float f;
    bool b;
    sw_str s;
    (void)sw_gguf_get_u32(&g, "general.alignment", &u);
    (void)sw_gguf_get_f32(&g, "llama.rope.freq_base", &f);
    (void)sw_gguf_get_bool(&g, "tokenizer.ggml.add_bos_token", &b);
    (void)sw_gguf_get_str(&g, "general.architecture", &s);
    for (uint64_t i = 0; i < g.n_kv; i++) {
        const sw_gguf_kv *kv = &g.kv[i];
        SWARM_ASSERT(sw_gguf_find(&g, "") == NULL);
        if (kv->type == SW_GGUF_ARRAY && kv->arr_type == SW_GGUF_STRING && kv->arr_n <= 4096) {
            sw_str *out = sw_calloc((size_t)kv->arr_n + 1, sizeof(sw_str));
            if (out != NULL) {
                SWARM_ASSERT(sw_gguf_arr_strings(kv, out) == SWARM_OK);
                sw_free(out);
            }
        }
        double x;
        if (kv->type == SW_GGUF_ARRAY && kv->arr_n > 0)
            (void)sw_gguf_arr_num(kv, kv->arr_n - 1, &x);
    }
    volatile uint8_t sink = 0;
    for (uint64_t i = 0; i < g.n_tensors; i++) {
        const sw_gguf_tensor *t = &g.tensors[i];
        char name[128];
        size_t n = t->name.len < sizeof(name) - 1 ? (size_t)t->name.len : sizeof(name) - 1;
        memcpy(name, t->name.ptr, n);
        name[n] = '\0';
        if (t->name.len == n) SWARM_ASSERT(sw_gguf_find_tensor(&g, name) == t);
        if (t->nbytes > 0) /* first and last byte must be inside the buffer */
            sink ^= ((const uint8_t *)t->data)[0] ^ ((const uint8_t *)t->data)[t->nbytes - 1];
    }
    (void)sink;
    sw_gguf_close(&g);
    return 0;
}
