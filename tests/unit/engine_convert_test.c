/* engine_convert_test.c: swarm_model_convert and swarm_model_file_inspect
 * (src/engine/model_file.c) through the public API, on the shared
 * stories260K files: the report, the notes, the refusals. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "swarm/engine.h"

static void test_engine_convert_llama2c_to_q8(void **state)
{
    (void)state;
    char bin[4096], tok[4096];
    REQUIRE_SHARED(bin, "models/stories260K.bin");
    REQUIRE_SHARED(tok, "models/tok512.bin");
    char out[] = "/tmp/swarm_convert_XXXXXX";
    int fd = mkstemp(out);
    assert_true(fd >= 0);
    close(fd);
    swarm_model_convert_report rep;
    swarm_diag d = {{0}};
    /* no tokenizer: refused with the flag set, nothing written */
    swarm_model_convert_params p = {.in = bin, .out = out, .type = "Q8_0"};
    CHECK_ERR(swarm_model_convert(&p, &rep, &d), SWARM_EINVAL);
    assert_true(rep.needs_tokenizer);
    assert_false(rep.writing);
    /* an unknown type: refused before the input is read */
    p.tokenizer = tok;
    p.type = "Q5_K";
    CHECK_ERR(swarm_model_convert(&p, &rep, &d), SWARM_EINVAL);
    assert_non_null(strstr(d.msg, "Q5_K"));
    p.type = "q8_0";
    CHECK_OK(swarm_model_convert(&p, &rep, &d));
    assert_int_equal(rep.n_tensors, 47);
    assert_string_equal(rep.types, "F32 x 11, F16 x 5, Q8_0 x 31");
    assert_non_null(strstr(rep.notes, "stored as F16\n"));
    /* the written file loads as a model and inspects as Q8_0 */
    swarm_model_params mp = swarm_model_params_default();
    mp.path = out;
    swarm_model *m = NULL;
    CHECK_OK(swarm_model_load(&mp, &m, &d));
    assert_int_equal(swarm_model_get_info(m)->n_vocab, 512);
    swarm_model_destroy(m);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    assert_non_null(f);
    CHECK_OK(swarm_model_file_inspect(out, f, &d));
    fclose(f);
    assert_non_null(strstr(text, "quantization:   Q8_0"));
    assert_non_null(strstr(text, "context length: 512"));
    free(text);
    unlink(out);
    /* a missing input: the message names it */
    p.in = out;
    CHECK_ERR(swarm_model_convert(&p, &rep, &d), SWARM_ESYS);
    assert_non_null(strstr(d.msg, out));
    assert_false(rep.writing);
}

static void test_engine_convert_refuses_a_directory_output(void **state)
{
    (void)state;
    char gguf[4096];
    REQUIRE_SHARED(gguf, "models/stories260K.gguf");
    char dir[] = "/tmp/swarm_convert_dir_XXXXXX";
    assert_non_null(mkdtemp(dir));
    swarm_model_convert_params p = {.in = gguf, .out = dir, .tokenizer = "ignored.bin"};
    swarm_model_convert_report rep;
    swarm_diag d = {{0}};
    CHECK_ERR(swarm_model_convert(&p, &rep, &d), SWARM_EINVAL);
    assert_true(rep.writing);
    assert_non_null(strstr(rep.notes, "ignored"));
    assert_int_equal(rmdir(dir), 0); /* still a directory, still empty */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_engine_convert_llama2c_to_q8),
        cmocka_unit_test(test_engine_convert_refuses_a_directory_output),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
