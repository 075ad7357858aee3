/*
 * fuzz_tokbin.c: libFuzzer target for the llama2.c tokenizer loader
 * (TESTPLAN E5): the first two input bytes give the vocabulary size, the
 * rest is the tokenizer file (a llama2.c table or, told apart by content, a
 * SentencePiece model). A loaded tokenizer must encode and decode.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Encodes text and decodes every id; no piece may decode longer than its
 * stored text. */
static void exercise(const sw_tokenizer *t, const char *text, size_t len)
{
    int32_t *ids = NULL;
    size_t n = 0;
    if (sw_tokenizer_encode(t, text, len, true, true, false, &ids, &n) != SWARM_OK) return;
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
    if (size < 2) return 0;
    int32_t vocab = 1 + (int32_t)((data[0] | (data[1] << 8)) % 4096);
    /* a copy of exactly the file bytes, so ASan sees any read past the end */
    size_t n = size - 2;
    uint8_t *buf = malloc(n ? n : 1);
    if (buf == NULL) return 0;
    memcpy(buf, data + 2, n);
    sw_tokenizer *t = NULL;
    swarm_diag d = {{0}};
    swarm_err rc = sw_tokenizer_from_llama2c_buf(buf, n, vocab, &t, &d);
    if (rc == SWARM_OK) {
        SWARM_ASSERT(sw_tokenizer_n_vocab(t) == vocab);
        free(buf); /* the tokenizer must not keep pointers into the file */
        buf = NULL;
        static const char text[] = "Once upon a time, the little dog said \"caf\xc3\xa9\" "
                                   "\xe4\xbd\xa0\xff<0x41>\n<s>\n";
        exercise(t, text, sizeof(text) - 1);
        /* the file's own bytes as text: they often spell its pieces */
        exercise(t, (const char *)data + 2, n > 256 ? 256 : n);
        for (int32_t id = -1; id <= vocab && id < 600; id++) {
            char small[3];
            (void)sw_tokenizer_decode(t, 1, id, small, sizeof(small));
        }
        sw_tokenizer_destroy(t);
    } else {
        SWARM_ASSERT(rc == SWARM_EFORMAT && d.msg[0] != '\0');
        SWARM_ASSERT(t == NULL);
    }
    free(buf);
    return 0;
}
