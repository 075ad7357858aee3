/*
 * fuzz_llama2c.c: libFuzzer target for the llama2.c checkpoint reader
 * (TESTPLAN E5): a header that disagrees with the image size is rejected,
 * and no tensor view may reach past the end of the image.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void touch(const sw_tensor *t, const uint8_t *base, size_t size)
{
    if (t->data == NULL) return;
    size_t row;
    if (!sw_type_row_bytes(t->type, t->cols, &row)) return;
    size_t n = row * (size_t)t->rows;
    const uint8_t *p = t->data;
    SWARM_ASSERT(p >= base && n <= size && (size_t)(p - base) <= size - n);
    if (n > 0) {
        volatile uint8_t sink = p[0] ^ p[n - 1];
        (void)sink;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* the reader wants a 4-byte aligned image, as a mapping is */
    uint8_t *buf = malloc(size ? size : 1);
    if (buf == NULL) return 0;
    memcpy(buf, data, size);
    sw_hparams hp;
    sw_weights w;
    swarm_diag d = {{0}};
    if (sw_llama2c_parse(buf, size, &hp, &w, &d) == SWARM_OK) {
        touch(&w.tok_embd, buf, size);
        touch(&w.out_norm, buf, size);
        touch(&w.output, buf, size);
        for (int32_t l = 0; l < hp.n_layers; l++) {
            const sw_layer *L = &w.layers[l];
            const sw_tensor *ts[] = {&L->attn_norm, &L->wq,     &L->wk,   &L->wv,    &L->wo,
                                     &L->ffn_norm,  &L->w_gate, &L->w_up, &L->w_down};
            for (size_t i = 0; i < sizeof(ts) / sizeof(ts[0]); i++)
                touch(ts[i], buf, size);
        }
        sw_free(w.layers);
    } else {
        SWARM_ASSERT(d.msg[0] != '\0');
    }
    free(buf);
    return 0;
}
