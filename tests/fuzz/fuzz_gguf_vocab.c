/*
 * fuzz_gguf_vocab.c: libFuzzer target for the tokenizer built from GGUF
 * metadata (tokenizer.ggml.*: tokens, scores, types, merges, special ids,
 * flags, pre-tokenizer name), TESTPLAN E5. A GGUF image that parses either
 * gives a tokenizer or a message; a tokenizer must encode (with and without
 * special-token parsing) and decode every id it produced.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void exercise(const sw_tokenizer *t, const char *text, size_t len, bool special)
{
    int32_t *ids = NULL;
    size_t n = 0;
    if (sw_tokenizer_encode(t, text, len, true, true, special, &ids, &n) != SWARM_OK) return;
    int32_t prev = -1;
    for (size_t i = 0; i < n; i++) {
        SWARM_ASSERT(ids[i] >= 0 && ids[i] < sw_tokenizer_n_vocab(t));
        char buf[16];
        size_t k = sw_tokenizer_decode(t, prev, ids[i], buf, sizeof(buf));
        SWARM_ASSERT(k <= sw_tokenizer_piece(t, ids[i]).len);
        prev = ids[i];
    }
    sw_free(ids);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *buf = malloc(size ? size : 1);
    if (buf == NULL) return 0;
    memcpy(buf, data, size);
    sw_gguf g;
    swarm_diag d = {{0}};
    if (sw_gguf_parse(buf, size, &g, &d) != SWARM_OK) {
        free(buf);
        return 0;
    }
    sw_tokenizer *t = NULL;
    swarm_err rc = sw_tokenizer_from_gguf(&g, &t, &d);
    if (rc == SWARM_OK) {
        sw_gguf_close(&g);
        free(buf); /* the tokenizer must not keep views into the file */
        buf = NULL;
        static const char text[] = "Hello world! I'm 123 <s></s><|endoftext|><|im_start|>"
                                   "caf\xc3\xa9 \xe4\xbd\xa0\xe5\xa5\xbd \xff\x80 a b ab abc\n\n";
        exercise(t, text, sizeof(text) - 1, false);
        exercise(t, text, sizeof(text) - 1, true);
        int32_t nv = sw_tokenizer_n_vocab(t);
        for (int32_t id = -1; id <= nv && id < 300; id++) {
            char small[3];
            (void)sw_tokenizer_decode(t, id - 1, id, small, sizeof(small));
            (void)sw_tokenizer_is_eog(t, id);
        }
        sw_tokenizer_destroy(t);
    } else {
        SWARM_ASSERT(d.msg[0] != '\0' && t == NULL);
        sw_gguf_close(&g);
    }
    free(buf);
    return 0;
}
