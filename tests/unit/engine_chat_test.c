/*
 * engine_chat_test.c: chat template detection from real-looking Jinja texts
 * and the exact prompt each template renders (ChatML, Llama-3, Llama-2),
 * plus what the chat prompt becomes as tokens on a vocabulary with the
 * template's special tokens.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "engine/engine_int.h"
#include "engine/tokenizer_int.h"

static const char *k_chatml_jinja =
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + "
    "message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}"
    "{{ '<|im_start|>assistant\\n' }}{% endif %}";
static const char *k_llama3_jinja =
    "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = "
    "'<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'+ "
    "message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = "
    "bos_token + content %}{% endif %}{{ content }}{% endfor %}{% if add_generation_prompt %}"
    "{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif %}";
static const char *k_llama2_jinja =
    "{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}"
    "{% set system_message = messages[0]['content'] %}{% else %}{% set loop_messages = "
    "messages %}{% set system_message = false %}{% endif %}{% for message in loop_messages %}"
    "{% if loop.index0 == 0 and system_message != false %}{% set content = '<<SYS>>\\n' + "
    "system_message + '\\n<</SYS>>\\n\\n' + message['content'] %}{% else %}{% set content = "
    "message['content'] %}{% endif %}{% if message['role'] == 'user' %}{{ bos_token + "
    "'[INST] ' + content.strip() + ' [/INST]' }}{% elif message['role'] == 'assistant' %}"
    "{{ ' '  + content.strip() + ' ' + eos_token }}{% endif %}{% endfor %}";

static void test_detect(void **state)
{
    (void)state;
    assert_int_equal(sw_chat_detect(k_chatml_jinja, strlen(k_chatml_jinja)), SW_CHAT_CHATML);
    assert_int_equal(sw_chat_detect(k_llama3_jinja, strlen(k_llama3_jinja)), SW_CHAT_LLAMA3);
    assert_int_equal(sw_chat_detect(k_llama2_jinja, strlen(k_llama2_jinja)), SW_CHAT_LLAMA2);
    const char *other = "{{ bos_token }}{% for m in messages %}<|user|>{{ m.content }}{% endfor %}";
    assert_int_equal(sw_chat_detect(other, strlen(other)), SW_CHAT_NONE);
    assert_int_equal(sw_chat_detect("", 0), SW_CHAT_NONE);
    assert_int_equal(sw_chat_detect(NULL, 0), SW_CHAT_NONE);
    /* the length bounds the search: a marker past len is not seen */
    assert_int_equal(sw_chat_detect(k_chatml_jinja, 20), SW_CHAT_NONE);
}

static const swarm_chat_msg k_conv[] = {
    {"system", "You are terse."},
    {"user", "Hi!"},
    {"assistant", " Hello. "},
    {"user", "2+2?\n"},
};

static void expect_render(enum sw_chat_template t, const swarm_chat_msg *m, size_t n,
                          const char *want)
{
    char *out = NULL;
    CHECK_OK(sw_chat_render(t, m, n, &out));
    if (strcmp(out, want) != 0) fail_msg("template %d rendered:\n[%s]\nwant:\n[%s]", t, out, want);
    sw_free(out);
}

static void test_render(void **state)
{
    (void)state;
    expect_render(SW_CHAT_CHATML, k_conv, 4,
                  "<|im_start|>system\nYou are terse.<|im_end|>\n"
                  "<|im_start|>user\nHi!<|im_end|>\n"
                  "<|im_start|>assistant\n Hello. <|im_end|>\n"
                  "<|im_start|>user\n2+2?\n<|im_end|>\n"
                  "<|im_start|>assistant\n");
    expect_render(SW_CHAT_LLAMA3, k_conv, 4,
                  "<|start_header_id|>system<|end_header_id|>\n\nYou are terse.<|eot_id|>"
                  "<|start_header_id|>user<|end_header_id|>\n\nHi!<|eot_id|>"
                  "<|start_header_id|>assistant<|end_header_id|>\n\nHello.<|eot_id|>"
                  "<|start_header_id|>user<|end_header_id|>\n\n2+2?<|eot_id|>"
                  "<|start_header_id|>assistant<|end_header_id|>\n\n");
    expect_render(SW_CHAT_LLAMA2, k_conv, 4,
                  "[INST] <<SYS>>\nYou are terse.\n<</SYS>>\n\nHi! [/INST] Hello. </s>"
                  "<s>[INST] 2+2? [/INST]");
    /* one user message, no system */
    expect_render(SW_CHAT_LLAMA2, k_conv + 1, 1, "[INST] Hi! [/INST]");
    expect_render(SW_CHAT_CHATML, k_conv + 1, 1,
                  "<|im_start|>user\nHi!<|im_end|>\n<|im_start|>assistant\n");
    /* nothing at all still opens the assistant turn */
    expect_render(SW_CHAT_CHATML, NULL, 0, "<|im_start|>assistant\n");
    expect_render(SW_CHAT_NONE, k_conv + 1, 1, "user: Hi!\nassistant:");
    /* bad input */
    char *out = NULL;
    swarm_chat_msg bad = {"tool", "x"};
    CHECK_ERR(sw_chat_render(SW_CHAT_LLAMA2, &bad, 1, &out), SWARM_EINVAL);
    swarm_chat_msg null_content = {"user", NULL};
    CHECK_ERR(sw_chat_render(SW_CHAT_CHATML, &null_content, 1, &out), SWARM_EINVAL);
    CHECK_ERR(sw_chat_render(SW_CHAT_TEMPLATE_COUNT, k_conv, 1, &out), SWARM_EINVAL);
    assert_null(out);
}

/* The rendered ChatML prompt, encoded with parse_special, keeps its markers
 * as single control tokens (tiny byte-level vocabulary, qwen2 rules). */
static void test_chatml_tokens(void **state)
{
    (void)state;
    char path[] = "/tmp/swarm_chat_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    const char *toks[260];
    size_t lens[260];
    static char store[256][4];
    for (int b = 0; b < 256; b++) {
        lens[b] = sw_utf8_encode(sw_bpe_byte_to_cp((uint8_t)b), store[b]);
        toks[b] = store[b];
    }
    toks[256] = "<|im_start|>";
    toks[257] = "<|im_end|>";
    for (int i = 256; i < 258; i++) lens[i] = strlen(toks[i]);
    int32_t types[258];
    for (int i = 0; i < 258; i++) types[i] = i >= 256 ? 3 : 1;
    sw_gguf_writer *w = NULL;
    swarm_diag d = {{0}};
    CHECK_OK(sw_gguf_writer_create(&w));
    CHECK_OK(sw_gguf_writer_set_str(w, "tokenizer.ggml.model", "gpt2"));
    CHECK_OK(sw_gguf_writer_set_str(w, "tokenizer.ggml.pre", "qwen2"));
    CHECK_OK(sw_gguf_writer_set_arr_str(w, "tokenizer.ggml.tokens", toks, lens, 258));
    CHECK_OK(sw_gguf_writer_set_arr_str(w, "tokenizer.ggml.merges", NULL, NULL, 0));
    CHECK_OK(sw_gguf_writer_set_arr_i32(w, "tokenizer.ggml.token_type", types, 258));
    CHECK_OK(sw_gguf_writer_set_u32(w, "tokenizer.ggml.eos_token_id", 257));
    CHECK_OK(sw_gguf_writer_set_str(w, "tokenizer.chat_template", k_chatml_jinja));
    CHECK_OK(sw_gguf_writer_write(w, path, &d));
    sw_gguf_writer_destroy(w);
    sw_gguf g;
    memset(&g, 0, sizeof(g));
    CHECK_OK(sw_gguf_open(path, &g, &d));
    sw_str tmpl;
    assert_true(sw_gguf_get_str(&g, "tokenizer.chat_template", &tmpl));
    assert_int_equal(sw_chat_detect(tmpl.ptr, (size_t)tmpl.len), SW_CHAT_CHATML);
    sw_tokenizer *t = NULL;
    CHECK_OK(sw_tokenizer_from_gguf(&g, &t, &d));
    assert_false(sw_tokenizer_add_bos_default(t));
    assert_true(sw_tokenizer_is_eog(t, 257));
    char *text = NULL;
    CHECK_OK(sw_chat_render(SW_CHAT_CHATML, k_conv + 1, 1, &text));
    int32_t *ids = NULL;
    size_t n = 0;
    CHECK_OK(sw_tokenizer_encode(t, text, strlen(text), false, false, true, &ids, &n));
    /* <|im_start|> u s e r \n H i ! <|im_end|> \n <|im_start|> a s s i s t a n t \n */
    assert_int_equal(n, 1 + 4 + 1 + 3 + 1 + 1 + 1 + 9 + 1);
    assert_int_equal(ids[0], 256);
    assert_int_equal(ids[9], 257);
    assert_int_equal(ids[11], 256);
    sw_free(ids);
    sw_free(text);
    sw_tokenizer_destroy(t);
    sw_gguf_close(&g);
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_detect),
        cmocka_unit_test(test_render),
        cmocka_unit_test(test_chatml_tokens),
    };
    return CHECK_RUN(tests, NULL, NULL);
}
