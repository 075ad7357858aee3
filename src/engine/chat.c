/*
 * chat.c: the common chat templates (ChatML, Llama-3, Llama-2 [INST]),
 * recognised by a distinctive marker in the GGUF's Jinja text and rendered
 * by hand (no Jinja interpreter). The first BOS is not written: the encoder
 * adds it when the model wants one (sw_tokenizer_add_bos_default), so the
 * prompt never starts with two. Later BOS/EOS texts (Llama-2 turns) are
 * written and become tokens because chat prompts are encoded with
 * parse_special.
 */
#include <string.h>

#include "engine_int.h"

static bool has(const char *s, size_t n, const char *needle)
{
    size_t m = strlen(needle);
    if (m > n) return false;
    for (size_t i = 0; i + m <= n; i++)
        if (memcmp(s + i, needle, m) == 0) return true;
    return false;
}

enum sw_chat_template sw_chat_detect(const char *jinja, size_t len)
{
    if (jinja == NULL) return SW_CHAT_NONE;
    if (has(jinja, len, "<|im_start|>")) return SW_CHAT_CHATML;
    if (has(jinja, len, "<|start_header_id|>")) return SW_CHAT_LLAMA3;
    if (has(jinja, len, "[INST]")) return SW_CHAT_LLAMA2;
    return SW_CHAT_NONE;
}

static void puts_(sw_buf *b, const char *s) { sw_buf_put(b, s, strlen(s)); }

/* Jinja's `| trim`: strips ASCII whitespace at both ends. */
static void put_trimmed(sw_buf *b, const char *s)
{
    size_t n = strlen(s), a = 0;
    while (a < n && strchr(" \t\n\r\f\v", s[a]) != NULL) a++;
    while (n > a && strchr(" \t\n\r\f\v", s[n - 1]) != NULL) n--;
    sw_buf_put(b, s + a, n - a);
}

/* One Llama-2 user turn; the system prompt goes inside the first one. */
static void llama2_turn(sw_buf *b, bool first, const char *sys, const char *user)
{
    if (!first) puts_(b, "<s>");
    puts_(b, "[INST] ");
    if (first && sys != NULL) {
        puts_(b, "<<SYS>>\n");
        put_trimmed(b, sys);
        puts_(b, "\n<</SYS>>\n\n");
    }
    put_trimmed(b, user);
    puts_(b, " [/INST]");
}

static bool role_is(const swarm_chat_msg *m, const char *r) { return strcmp(m->role, r) == 0; }

swarm_err sw_chat_render(enum sw_chat_template t, const swarm_chat_msg *msgs, size_t n,
                         char **out)
{
    if (out == NULL || (msgs == NULL && n > 0) || (unsigned)t >= SW_CHAT_TEMPLATE_COUNT)
        return SWARM_EINVAL;
    for (size_t i = 0; i < n; i++)
        if (msgs[i].role == NULL || msgs[i].content == NULL) return SWARM_EINVAL;
    sw_buf b = {0};
    puts_(&b, ""); /* an empty conversation still gives a string */
    switch (t) {
    case SW_CHAT_CHATML:
        for (size_t i = 0; i < n; i++) {
            puts_(&b, "<|im_start|>");
            puts_(&b, msgs[i].role);
            puts_(&b, "\n");
            puts_(&b, msgs[i].content);
            puts_(&b, "<|im_end|>\n");
        }
        puts_(&b, "<|im_start|>assistant\n");
        break;
    case SW_CHAT_LLAMA3:
        for (size_t i = 0; i < n; i++) {
            puts_(&b, "<|start_header_id|>");
            puts_(&b, msgs[i].role);
            puts_(&b, "<|end_header_id|>\n\n");
            put_trimmed(&b, msgs[i].content);
            puts_(&b, "<|eot_id|>");
        }
        puts_(&b, "<|start_header_id|>assistant<|end_header_id|>\n\n");
        break;
    case SW_CHAT_LLAMA2: {
        /* [INST] <<SYS>>\nsys\n<</SYS>>\n\nuser [/INST] answer </s><s>[INST] ... */
        const char *sys = NULL;
        size_t i = 0;
        if (n > 0 && role_is(&msgs[0], "system")) {
            sys = msgs[0].content;
            i = 1;
        }
        bool first = true, open = false;
        for (; i < n; i++) {
            if (role_is(&msgs[i], "assistant")) {
                puts_(&b, " ");
                put_trimmed(&b, msgs[i].content);
                puts_(&b, " </s>");
                open = false;
                continue;
            }
            if (!role_is(&msgs[i], "user")) {
                sw_free(b.p);
                return SWARM_EINVAL; /* Llama-2 knows system (first), user, assistant */
            }
            llama2_turn(&b, first, sys, msgs[i].content);
            first = false;
            open = true;
        }
        if (!open) {
            /* no pending user turn (e.g. only a system message): open one */
            llama2_turn(&b, first, sys, "");
        }
        break;
    }
    case SW_CHAT_NONE:
    default:
        /* no known template: a plain transcript the base model can continue */
        for (size_t i = 0; i < n; i++) {
            puts_(&b, msgs[i].role);
            puts_(&b, ": ");
            puts_(&b, msgs[i].content);
            puts_(&b, "\n");
        }
        puts_(&b, "assistant:");
        break;
    }
    if (b.oom) {
        sw_free(b.p);
        return SWARM_ENOMEM;
    }
    *out = b.p;
    return SWARM_OK;
}
