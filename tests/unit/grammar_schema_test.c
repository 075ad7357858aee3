/*
 * grammar_schema_test.c: JSON Schema -> grammar: the JSON texts each
 * schema's grammar accepts and refuses, and schemas refused with the
 * keyword or problem named.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "swarm/grammar.h"

static swarm_grammar *compile(const char *schema)
{
    swarm_grammar *g = NULL;
    swarm_diag d = {{0}};
    swarm_err rc = swarm_grammar_from_schema(schema, strlen(schema), &g, &d);
    if (rc != SWARM_OK) print_error("schema refused: %s\n%s\n", d.msg, schema);
    assert_int_equal(rc, SWARM_OK);
    return g;
}

static bool matches(const swarm_grammar *g, const char *s)
{
    bool ok = false;
    CHECK_OK(swarm_grammar_match(g, s, strlen(s), &ok));
    return ok;
}

static void expect(const char *schema, const char *const *yes, const char *const *no)
{
    swarm_grammar *g = compile(schema);
    for (size_t i = 0; yes[i] != NULL; i++) {
        if (!matches(g, yes[i])) {
            char *text = NULL;
            swarm_grammar_schema_to_text(schema, strlen(schema), &text, NULL);
            print_error("should match: '%s'\nschema %s\ngrammar:\n%s\n", yes[i], schema, text);
            swarm_free(text);
        }
        assert_true(matches(g, yes[i]));
    }
    for (size_t i = 0; no[i] != NULL; i++) {
        if (matches(g, no[i])) print_error("should not match: '%s'\nschema %s\n", no[i], schema);
        assert_false(matches(g, no[i]));
    }
    swarm_grammar_destroy(g);
}

#define L(...) ((const char *const[]){__VA_ARGS__, NULL})

static void test_primitives(void **state)
{
    (void)state;
    expect("{\"type\": \"string\"}", L("\"\"", "\"abc\"", "\"a\\\"b\\\\c\\u00e9\\n\"", "\"\xc3\xa9\""),
           L("abc", "\"a", "\"a\nb\"", "\"\\x\"", "\"\\u12\"", "1"));
    expect("{\"type\": \"integer\"}", L("0", "-7", "1234567890123456"),
           L("01", "1.5", "-", "+1", "12345678901234567", "\"1\""));
    /* exponents of at most 2 digits: every number fits a double */
    expect("{\"type\": \"number\"}", L("0", "-0.5", "3.25e-3", "1E10", "42", "9.5e+99"),
           L(".5", "1.", "1e", "--1", "NaN", "1e100", "1e710"));
    expect("{\"type\": \"boolean\"}", L("true", "false"), L("True", "1", "null"));
    expect("{\"type\": \"null\"}", L("null"), L("nil", ""));
    expect("{\"type\": [\"string\", \"null\"]}", L("null", "\"x\""), L("1"));
    expect("{\"type\": \"string\", \"minLength\": 2, \"maxLength\": 3}",
           L("\"ab\"", "\"abc\"", "\"\\nb\""), L("\"a\"", "\"abcd\""));
}

static void test_enum_const(void **state)
{
    (void)state;
    expect("{\"enum\": [\"red\", \"green\", 3, null, {\"a\": [1]}]}",
           L("\"red\"", "\"green\"", "3", "null", "{\"a\":[1]}"), L("\"blue\"", "\"re\"", "4"));
    expect("{\"const\": \"fixed\"}", L("\"fixed\""), L("\"other\""));
}

static void test_objects(void **state)
{
    (void)state;
    const char *s = "{\"type\": \"object\", \"properties\": {"
                    "\"name\": {\"type\": \"string\"}, \"age\": {\"type\": \"integer\"},"
                    "\"tags\": {\"type\": \"array\", \"items\": {\"type\": \"string\"}}},"
                    "\"required\": [\"name\"], \"additionalProperties\": false}";
    expect(s,
           L("{\"name\":\"a\"}", "{\"name\": \"a\", \"age\": 3}", "{\"name\":\"a\",\"tags\":[]}",
             "{\"name\":\"a\",\"age\":1,\"tags\":[\"x\", \"y\"]}",
             "{\n  \"name\": \"a\",\n  \"age\": 1\n}"),
           L("{}", "{\"age\":3}", "{\"age\":3,\"name\":\"a\"}", "{\"name\":\"a\",}",
             "{\"name\":\"a\",\"other\":1}", "{\"name\":1}"));
    /* all optional */
    expect("{\"properties\": {\"a\": {\"type\": \"integer\"}, \"b\": {\"type\": \"integer\"}}}",
           L("{}", "{\"a\":1}", "{\"b\":2}", "{\"a\":1,\"b\":2}"), L("{,\"b\":2}", "{\"b\":2,\"a\":1}"));
    /* nested */
    expect("{\"type\":\"object\",\"properties\":{\"p\":{\"type\":\"object\",\"properties\":"
           "{\"x\":{\"type\":\"number\"}},\"required\":[\"x\"]}},\"required\":[\"p\"]}",
           L("{\"p\":{\"x\":1.5}}"), L("{\"p\":{}}", "{\"p\":1}"));
    /* no properties: any object */
    expect("{\"type\": \"object\"}", L("{}", "{\"k\": [1, {\"z\": null}]}"), L("[]", "{1:2}"));
}

static void test_arrays(void **state)
{
    (void)state;
    expect("{\"type\":\"array\",\"items\":{\"type\":\"integer\"},\"minItems\":1,\"maxItems\":3}",
           L("[1]", "[1, 2]", "[1,2,3]"), L("[]", "[1,2,3,4]", "[1,]", "[\"a\"]"));
    expect("{\"type\":\"array\",\"items\":{\"type\":\"integer\"},\"minItems\":2}",
           L("[1,2]", "[1,2,3,4,5]"), L("[1]"));
    expect("{\"type\":\"array\",\"maxItems\":0}", L("[]"), L("[1]"));
    expect("{\"type\":\"array\"}", L("[]", "[1, \"a\", [true]]"), L("[,]"));
}

static void test_refs(void **state)
{
    (void)state;
    expect("{\"$defs\": {\"pt\": {\"type\":\"object\",\"properties\":{\"x\":{\"type\":\"integer\"}},"
           "\"required\":[\"x\"]}}, \"type\":\"array\", \"items\": {\"$ref\": \"#/$defs/pt\"}}",
           L("[{\"x\":1},{\"x\":2}]"), L("[{\"y\":1}]"));
    /* recursive definition: a tree */
    expect("{\"definitions\": {\"node\": {\"type\":\"object\",\"properties\":{"
           "\"v\":{\"type\":\"integer\"},\"kids\":{\"type\":\"array\",\"items\":"
           "{\"$ref\":\"#/definitions/node\"}}},\"required\":[\"v\"]}},"
           "\"$ref\": \"#/definitions/node\"}",
           L("{\"v\":1}", "{\"v\":1,\"kids\":[{\"v\":2,\"kids\":[{\"v\":3}]}]}"),
           L("{\"v\":1,\"kids\":[{}]}"));
    expect("{\"anyOf\": [{\"type\":\"integer\"}, {\"type\":\"string\",\"maxLength\":1}]}",
           L("1", "\"a\""), L("\"ab\"", "true"));
}

static void refused(const char *schema, swarm_err want, const char *what)
{
    swarm_grammar *g = NULL;
    swarm_diag d = {{0}};
    swarm_err rc = swarm_grammar_from_schema(schema, strlen(schema), &g, &d);
    if (rc != want || strstr(d.msg, what) == NULL)
        print_error("got %s '%s', want %s with '%s'\n", swarm_err_name(rc), d.msg,
                    swarm_err_name(want), what);
    assert_int_equal(rc, want);
    assert_null(g);
    assert_non_null(strstr(d.msg, what));
}

static void test_refused(void **state)
{
    (void)state;
    refused("{\"type\":\"object\",\"properties\":{\"age\":{\"type\":\"integer\",\"minimum\":0}}}",
            SWARM_EUNSUPPORTED, "#/properties/age: unsupported keyword 'minimum'");
    refused("{\"type\":\"string\",\"pattern\":\"^a\"}", SWARM_EUNSUPPORTED,
            "unsupported keyword 'pattern'");
    refused("{\"oneOf\":[{\"type\":\"string\"}]}", SWARM_EUNSUPPORTED, "unsupported keyword 'oneOf'");
    refused("{\"type\":\"array\",\"items\":[{\"type\":\"string\"}]}", SWARM_EUNSUPPORTED,
            "tuple");
    refused("{\"type\":\"object\",\"additionalProperties\":{\"type\":\"string\"}}",
            SWARM_EUNSUPPORTED, "additionalProperties");
    refused("{\"$ref\":\"http://example.com/s.json\"}", SWARM_EUNSUPPORTED, "unsupported $ref");
    refused("{\"$ref\":\"#/definitions/missing\"}", SWARM_EFORMAT, "points to nothing");
    refused("{\"$ref\":\"#/definitions/a\",\"type\":\"string\",\"definitions\":{\"a\":{}}}",
            SWARM_EUNSUPPORTED, "beside '$ref'");
    refused("{\"type\":\"object\",\"properties\":{},\"required\":[\"x\"]}", SWARM_EUNSUPPORTED,
            "required property 'x'");
    refused("{\"type\":\"strnig\"}", SWARM_EFORMAT, "unknown type 'strnig'");
    refused("{\"type\":\"string\",\"maxLength\":-1}", SWARM_EFORMAT, "non-negative");
    refused("{\"type\":\"string\",\"minLength\":5,\"maxLength\":2}", SWARM_EFORMAT,
            "below minLength");
    refused("{\"enum\":[]}", SWARM_EFORMAT, "non-empty");
    refused("false", SWARM_EUNSUPPORTED, "accepts no value");
    refused("[1]", SWARM_EFORMAT, "must be an object");
    refused("{\"type\": ", SWARM_EFORMAT, "json schema: line 1");
    refused("{\"a\":1,\"a\":2}", SWARM_EFORMAT, "duplicate");
    refused("{\"type\":\"array\",\"maxItems\":100000}", SWARM_EFORMAT, "above the limit");
    /* deep nesting: schema levels, and raw JSON depth */
    char buf[4096];
    size_t n = 0;
    for (int i = 0; i < 70; i++) n += (size_t)snprintf(buf + n, sizeof(buf) - n, "{\"items\":");
    n += (size_t)snprintf(buf + n, sizeof(buf) - n, "{}");
    for (int i = 0; i < 70; i++) buf[n++] = '}';
    buf[n] = '\0';
    refused(buf, SWARM_EFORMAT, "nested deeper than 64");
    char *deep = malloc(200002);
    assert_non_null(deep);
    memset(deep, '[', 100000);
    memset(deep + 100000, ']', 100000);
    deep[200000] = '\0';
    refused(deep, SWARM_EFORMAT, "nested deeper than 128");
    free(deep);
}

static void test_text(void **state)
{
    (void)state;
    const char *s = "{\"type\":\"object\",\"properties\":{\"ok\":{\"type\":\"boolean\"}},"
                    "\"required\":[\"ok\"]}";
    char *text = NULL;
    CHECK_OK(swarm_grammar_schema_to_text(s, strlen(s), &text, NULL));
    assert_non_null(strstr(text, "root ::= "));
    assert_non_null(strstr(text, "\"\\\"ok\\\"\""));
    /* the text is itself a grammar */
    swarm_grammar *g = NULL;
    CHECK_OK(swarm_grammar_parse(text, strlen(text), &g, NULL));
    assert_true(matches(g, "{\"ok\": true}"));
    swarm_grammar_destroy(g);
    swarm_free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_primitives), cmocka_unit_test(test_enum_const),
        cmocka_unit_test(test_objects),    cmocka_unit_test(test_arrays),
        cmocka_unit_test(test_refs),       cmocka_unit_test(test_refused),
        cmocka_unit_test(test_text),
    };
    return CHECK_RUN(tests, NULL, NULL);
}
