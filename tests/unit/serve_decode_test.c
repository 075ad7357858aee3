/* serve_decode_test.c: the request decoder of swarm serve (src/serve/
 * decode.c): what it accepts and how it renders chat messages, what it
 * refuses and with which parameter named, the error body's shape, the
 * routes built from a swarm, and the HTTP route table's access rules
 * (default deny: every route but /healthz needs a key). */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "swarm/runtime.h"
#include "swarm/serve.h"

static swarm_api_request decode_ok(swarm_api_kind kind, const char *body)
{
    swarm_api_request r;
    swarm_api_error e;
    swarm_err rc = swarm_api_decode(kind, body, strlen(body), &r, &e);
    if (rc != SWARM_OK) print_error("body %s: refused: %s\n", body, e.message);
    assert_int_equal(rc, SWARM_OK);
    return r;
}

/* Expects a 400 naming param (NULL: none) with msg_part in the message;
 * len SIZE_MAX: strlen(body). */
static void refused(swarm_api_kind kind, const char *body, size_t len, const char *param,
                    const char *msg_part)
{
    swarm_api_request r;
    swarm_api_error e;
    if (len == SIZE_MAX) len = strlen(body);
    swarm_err rc = swarm_api_decode(kind, body, len, &r, &e);
    if (rc == SWARM_OK || e.http != 400 || strcmp(e.param, param ? param : "") != 0 ||
        strstr(e.message, msg_part) == NULL)
        print_error("body %.60s: rc %s http %d param '%s' message '%s'; want param '%s', '%s'\n",
                    body, swarm_err_name(rc), e.http, e.param, e.message, param ? param : "",
                    msg_part);
    assert_int_not_equal(rc, SWARM_OK);
    assert_int_equal(e.http, 400);
    assert_string_equal(e.param, param ? param : "");
    assert_non_null(strstr(e.message, msg_part));
    /* a refused request holds nothing */
    assert_null(r.model);
    assert_null(r.prompt);
    assert_int_equal(r.n_stop, 0);
    swarm_api_request_clear(&r);
}

static void test_serve_decode_completion(void **state)
{
    (void)state;
    swarm_api_request r = decode_ok(
        SWARM_API_COMPLETION,
        "{\"model\": \"node/a\", \"prompt\": \"Once\", \"max_tokens\": 12, \"temperature\": 0,"
        " \"top_p\": 1, \"seed\": -3, \"stop\": [\"x\", \"yz\"], \"n\": 1, \"stream\": true,"
        " \"stream_options\": {\"include_usage\": true}, \"user\": \"u\","
        " \"frequency_penalty\": 0, \"logprobs\": null, \"echo\": false}");
    assert_int_equal(r.kind, SWARM_API_COMPLETION);
    assert_string_equal(r.model, "node/a");
    assert_string_equal(r.prompt, "Once");
    assert_int_equal(r.max_tokens, 12);
    assert_true(r.has_temperature && r.temperature == 0);
    assert_true(r.has_top_p && r.top_p == 1);
    assert_true(r.has_seed && r.seed == -3);
    assert_int_equal(r.n_stop, 2);
    assert_string_equal(r.stop[1], "yz");
    assert_true(r.stream && r.include_usage);
    swarm_api_request_clear(&r);
    assert_null(r.model);

    /* defaults; a prompt as an array of one string; stop as one string */
    r = decode_ok(SWARM_API_COMPLETION,
                  "{\"model\": \"m\", \"prompt\": [\"p\"], \"stop\": \"s\", \"max_tokens\": null}");
    assert_string_equal(r.prompt, "p");
    assert_int_equal(r.max_tokens, 0);
    assert_int_equal(r.n, 1);
    assert_false(r.stream || r.has_temperature || r.has_seed);
    assert_int_equal(r.n_stop, 1);
    swarm_api_request_clear(&r);
}

static void test_serve_decode_chat_transcript(void **state)
{
    (void)state;
    swarm_api_request r = decode_ok(
        SWARM_API_CHAT,
        "{\"model\": \"swarm/ensemble-3\", \"messages\": ["
        "{\"role\": \"system\", \"content\": \"Be brief.\"},"
        "{\"role\": \"user\", \"content\": [{\"type\": \"text\", \"text\": \"Hi \"},"
        " {\"type\": \"text\", \"text\": \"there\"}], \"name\": \"ann\"},"
        "{\"role\": \"assistant\", \"content\": null},"
        "{\"role\": \"developer\", \"content\": \"d\"}], \"max_completion_tokens\": 5}");
    assert_string_equal(r.prompt, "System: Be brief.\n\nUser: Hi there\n\nAssistant: \n\n"
                                  "System: d\n\nAssistant:");
    assert_int_equal(r.max_tokens, 5);
    swarm_api_request_clear(&r);
}

static void test_serve_decode_refusals(void **state)
{
    (void)state;
    const swarm_api_kind P = SWARM_API_COMPLETION, C = SWARM_API_CHAT;
    refused(P, "", SIZE_MAX, NULL, "JSON object");
    refused(P, "{\"model\": ", SIZE_MAX, NULL, "malformed JSON");
    refused(P, "[1]", SIZE_MAX, NULL, "JSON object");
    refused(P, "{\"model\": \"m\", \"model\": \"n\", \"prompt\": \"x\"}", SIZE_MAX, NULL, "malformed JSON");
    refused(P, "{\"prompt\": \"x\"}", SIZE_MAX, "model", "required");
    refused(P, "{\"model\": \"m\"}", SIZE_MAX, "prompt", "required");
    refused(C, "{\"model\": \"m\"}", SIZE_MAX, "messages", "required");
    refused(P, "{\"model\": \"\", \"prompt\": \"x\"}", SIZE_MAX, "model", "non-empty");
    refused(P, "{\"model\": \"m\", \"prompt\": 1}", SIZE_MAX, "prompt", "string");
    refused(P, "{\"model\": \"m\", \"prompt\": [1, 2]}", SIZE_MAX, "prompt", "string");
    refused(P, "{\"model\": \"m\", \"prompt\": \"x\", \"max_tokens\": 0}", SIZE_MAX, "max_tokens", "[1, 65536]");
    refused(P, "{\"model\": \"m\", \"prompt\": \"x\", \"max_tokens\": 2.0}", SIZE_MAX, "max_tokens", "integer");
    refused(P, "{\"model\": \"m\", \"prompt\": \"x\", \"temperature\": 3}", SIZE_MAX, "temperature", "[0, 2]");
    refused(P, "{\"model\": \"m\", \"prompt\": \"x\", \"top_p\": 0}", SIZE_MAX, "top_p", "(0, 1]");
    refused(P, "{\"model\": \"m\", \"prompt\": \"x\", \"seed\": 1.5}", SIZE_MAX, "seed", "integer");
    refused(P, "{\"model\": \"m\", \"prompt\": \"x\", \"n\": 2}", SIZE_MAX, "n", "not supported");
    refused(P, "{\"model\": \"m\", \"prompt\": \"x\", \"stream\": 1}", SIZE_MAX, "stream", "boolean");
    refused(P, "{\"model\": \"m\", \"prompt\": \"x\", \"stop\": [\"\"]}", SIZE_MAX, "stop", "non-empty");
    refused(P, "{\"model\": \"m\", \"prompt\": \"x\", \"stop\": [\"a\",\"b\",\"c\",\"d\",\"e\"]}", SIZE_MAX,
            "stop", "at most 4");
    refused(P, "{\"model\": \"m\", \"prompt\": \"x\", \"stream_options\": {\"include_usage\": true}}",
            72, "stream_options", "stream: true");
    refused(P, "{\"model\": \"m\", \"prompt\": \"x\", \"presence_penalty\": 1}", SIZE_MAX,
            "presence_penalty", "only 0");
    refused(P, "{\"model\": \"m\", \"prompt\": \"x\", \"tools\": []}", SIZE_MAX, "tools", "unrecognized");
    refused(C, "{\"model\": \"m\", \"prompt\": \"x\"}", SIZE_MAX, "prompt", "unrecognized");
    refused(C, "{\"model\": \"m\", \"messages\": []}", SIZE_MAX, "messages", "non-empty");
    refused(C, "{\"model\": \"m\", \"messages\": [{\"role\": \"tool\", \"content\": \"x\"}]}", SIZE_MAX,
            "messages[0]", "not supported");
    refused(C, "{\"model\": \"m\", \"messages\": [{\"role\": \"user\"}]}", SIZE_MAX, "messages[0]",
            "required");
    refused(C, "{\"model\": \"m\", \"messages\": [{\"role\": \"user\", \"content\": null}]}", SIZE_MAX,
            "messages[0].content", "string");
    refused(C, "{\"model\": \"m\", \"messages\": [{\"role\": \"user\", \"content\": \"x\", \"x\": 1}]}",
            70, "messages[0]", "unsupported key");
    /* NaN, overflow, invalid UTF-8, deep nesting: the strict loader */
    refused(P, "{\"model\": \"m\", \"prompt\": \"x\", \"top_p\": NaN}", SIZE_MAX, NULL, "malformed JSON");
    refused(P, "{\"model\": \"m\", \"prompt\": \"x\", \"seed\": 1e999}", SIZE_MAX, NULL, "malformed JSON");
    refused(P, "{\"model\": \"m\", \"prompt\": \"\xff\"}", SIZE_MAX, NULL, "malformed JSON");
    char deep[400];
    int n = snprintf(deep, sizeof(deep), "{\"model\": \"m\", \"prompt\": \"x\", \"user\": ");
    for (int i = 0; i < 100; i++) deep[n++] = '[';
    for (int i = 0; i < 100; i++) deep[n++] = ']';
    deep[n++] = '}';
    refused(P, deep, (size_t)n, NULL, "malformed JSON");
}

static void test_serve_error_body(void **state)
{
    (void)state;
    swarm_api_error e;
    swarm_api_error_set(&e, 404, "invalid_request_error", "model", "model_not_found", "no %s", "x");
    char *s = swarm_api_error_json(&e);
    assert_non_null(s);
    json_t *o = json_loads(s, 0, NULL);
    assert_non_null(o);
    json_t *in = json_object_get(o, "error");
    assert_int_equal(json_object_size(in), 4);
    assert_string_equal(json_string_value(json_object_get(in, "message")), "no x");
    assert_string_equal(json_string_value(json_object_get(in, "param")), "model");
    assert_string_equal(json_string_value(json_object_get(in, "code")), "model_not_found");
    json_decref(o);
    free(s);
    swarm_api_error_set(&e, 500, "server_error", NULL, NULL, "boom");
    s = swarm_api_error_json(&e);
    o = json_loads(s, 0, NULL);
    in = json_object_get(o, "error");
    assert_true(json_is_null(json_object_get(in, "param")));
    assert_true(json_is_null(json_object_get(in, "code")));
    json_decref(o);
    free(s);
    /* a message cut inside a UTF-8 character (or holding stray bytes)
     * still gives valid JSON, the bad bytes replaced by U+FFFD */
    swarm_api_error_set(&e, 400, NULL, NULL, NULL, "caf\xc3");
    s = swarm_api_error_json(&e);
    o = json_loads(s, 0, NULL);
    assert_non_null(o);
    assert_string_equal(json_string_value(json_object_get(json_object_get(o, "error"), "message")),
                        "caf\xef\xbf\xbd");
    json_decref(o);
    free(s);
}

/* The built-in routes follow the swarm: the skill most nodes have; node/NAME
 * pinned by the task's allow-list, with a skill the node can serve. */
static void test_serve_routes_from_swarm(void **state)
{
    (void)state;
    const char *sw =
        "{\"nodes\": ["
        "{\"name\": \"a\", \"backend\": {\"type\": \"echo\"}, \"skills\": {\"a-only\": 1}},"
        "{\"name\": \"b\", \"backend\": {\"type\": \"echo\"}, \"skills\": {\"story\": 0.8, \"sentiment\": 0.7}},"
        "{\"name\": \"c\", \"backend\": {\"type\": \"echo\"}, \"skills\": {\"story\": 0.8}}]}";
    swarm_swarm *s = NULL;
    swarm_diag d = {{0}};
    CHECK_OK(swarm_swarm_parse(sw, strlen(sw), NULL, &s, &d));
    swarm_routes *r = NULL;
    CHECK_OK(swarm_routes_load(s, NULL, &r, &d));
    assert_int_equal(swarm_routes_count(r), 6);
    assert_true(swarm_routes_find(r, "swarm/ensemble-3") >= 0);
    assert_true(swarm_routes_find(r, "swarm/map-reduce") >= 0);
    assert_true(swarm_routes_find(r, "swarm/classify-sentiment") >= 0);
    assert_int_equal(swarm_routes_find(r, "gpt-4"), -1);
    char *js = NULL;
    int32_t i = swarm_routes_find(r, "node/a");
    assert_true(i >= 0);
    swarm_api_request rq = {0};
    rq.prompt = "hello";
    rq.max_tokens = 7;
    rq.has_temperature = rq.has_seed = true;
    rq.temperature = 0.8;
    rq.seed = -1; /* OpenAI allows any int64: taken modulo 2^53 */
    CHECK_OK(swarm_routes_task_json(r, (size_t)i, &rq, &js, &d));
    json_t *t = json_loads(js, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(t, "input")), "hello");
    /* story is the main skill (b and c), a cannot serve it: its best one */
    assert_string_equal(json_string_value(json_object_get(t, "skill")), "a-only");
    assert_int_equal(json_array_size(json_object_get(t, "nodes")), 1);
    assert_string_equal(json_string_value(json_array_get(json_object_get(t, "nodes"), 0)), "a");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(t, "limits"), "max_tokens")), 7);
    json_t *sm = json_object_get(t, "sampling");
    assert_true(json_real_value(json_object_get(sm, "temperature")) == 0.8);
    assert_true(json_integer_value(json_object_get(sm, "seed")) == (json_int_t)((1ull << 53) - 1));
    assert_null(json_object_get(sm, "top_p"));
    swarm_task *task = NULL; /* and the runtime's parser takes it */
    CHECK_OK(swarm_task_parse(js, strlen(js), &task, &d));
    swarm_task_destroy(task);
    json_decref(t);
    free(js);
    i = swarm_routes_find(r, "node/b");
    swarm_api_request plain = {0};
    plain.prompt = "x";
    CHECK_OK(swarm_routes_task_json(r, (size_t)i, &plain, &js, &d));
    t = json_loads(js, 0, NULL);
    assert_null(json_object_get(t, "sampling"));
    assert_string_equal(json_string_value(json_object_get(t, "skill")), "story");
    assert_string_equal(json_string_value(json_array_get(json_object_get(t, "nodes"), 0)), "b");
    assert_null(json_object_get(t, "limits"));
    json_decref(t);
    free(js);
    i = swarm_routes_find(r, "swarm/classify-sentiment");
    CHECK_OK(swarm_routes_task_json(r, (size_t)i, &plain, &js, &d));
    t = json_loads(js, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(t, "skill")), "sentiment");
    json_decref(t);
    free(js);
    swarm_routes_destroy(r);
    swarm_swarm_destroy(s);
}

/* Default deny: every HTTP route states its access rule, and only the
 * health check is open. A route added without a decision, or open by
 * mistake, fails here. */
static void test_serve_route_table_needs_keys(void **state)
{
    (void)state;
    size_t n = 0, open = 0;
    const char *method, *path, *access;
    for (; swarm_server_route_info(n, &method, &path, &access); n++) {
        assert_non_null(method);
        assert_true(path[0] == '/');
        if (strcmp(access, "open") == 0) {
            open++;
            assert_string_equal(path, "/healthz");
        } else {
            assert_string_equal(access, "key");
        }
    }
    assert_true(n >= 4);
    assert_int_equal(open, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_serve_decode_completion),
        cmocka_unit_test(test_serve_decode_chat_transcript),
        cmocka_unit_test(test_serve_decode_refusals),
        cmocka_unit_test(test_serve_error_body),
        cmocka_unit_test(test_serve_routes_from_swarm),
        cmocka_unit_test(test_serve_route_table_needs_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
