/*
 * cmd_models.c: `swarm models inspect FILE` (GGUF or llama2.c checkpoint:
 * architecture, size, quantization, context, tokenizer, metadata, tensor
 * table) and `swarm models convert IN OUT` (llama2.c checkpoint + its
 * tokenizer.bin, or GGUF, to a GGUF file that llama.cpp can load).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "swarm/engine.h"

static void models_usage(FILE *f)
{
    fprintf(f, "usage: swarm models inspect FILE\n"
               "       swarm models convert IN OUT [--type F32|F16|BF16|Q8_0|Q4_0|Q4_K|Q6_K]\n"
               "                                   [-z tokenizer.bin]\n\n"
               "inspect: architecture, parameter count, quantization, context length, tokenizer,\n"
               "  metadata and the tensor table of a GGUF file or a llama2.c checkpoint.\n"
               "convert: a llama2.c checkpoint (with its tokenizer.bin, -z) or a GGUF file to a\n"
               "  GGUF v3 file for arch llama. Matrices are stored as --type (default: F32 for\n"
               "  llama2.c, the source type for GGUF); 1-D tensors stay F32. A matrix whose row\n"
               "  length is not a multiple of the type's block size falls back to Q8_0 or F16.\n");
}

static int cmd_inspect(int argc, char **argv)
{
    const char *path = NULL;
    for (int i = 1; i < argc; i++) {
        if (cli_is_help(argv[i])) {
            models_usage(stdout);
            return CLI_EXIT_OK;
        }
        if (argv[i][0] == '-' && argv[i][1] != '\0')
            return cli_usage_error("models inspect", "unknown option '%s'", argv[i]);
        if (path != NULL) return cli_usage_error("models inspect", "one FILE only");
        path = argv[i];
    }
    if (path == NULL) return cli_usage_error("models inspect", "missing FILE");
    swarm_diag d = {{0}};
    swarm_err rc = swarm_model_file_inspect(path, stdout, &d);
    if (rc != SWARM_OK)
        return cli_fail(rc == SWARM_ENOMEM ? CLI_EXIT_FAIL : CLI_EXIT_USAGE, "%s", d.msg);
    return CLI_EXIT_OK;
}

static int cmd_convert(int argc, char **argv)
{
    const char *in = NULL, *out = NULL, *tok = NULL, *type_s = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (cli_is_help(a)) {
            models_usage(stdout);
            return CLI_EXIT_OK;
        }
        if (strcmp(a, "--type") == 0 || strcmp(a, "-t") == 0 || strcmp(a, "-z") == 0 ||
            strcmp(a, "--tokenizer") == 0) {
            if (i + 1 >= argc) return cli_usage_error("models convert", "%s needs a value", a);
            if (strcmp(a, "-z") == 0 || strcmp(a, "--tokenizer") == 0)
                tok = argv[++i];
            else
                type_s = argv[++i];
            continue;
        }
        if (a[0] == '-' && a[1] != '\0')
            return cli_usage_error("models convert", "unknown option '%s'", a);
        if (in == NULL)
            in = a;
        else if (out == NULL)
            out = a;
        else
            return cli_usage_error("models convert", "unexpected argument '%s'", a);
    }
    if (in == NULL || out == NULL) return cli_usage_error("models convert", "need IN and OUT");
    /* replacing the input (possibly a shared, read-only model) is refused */
    struct stat si, so;
    if (stat(in, &si) == 0 && stat(out, &so) == 0 && si.st_dev == so.st_dev &&
        si.st_ino == so.st_ino)
        return cli_usage_error("models convert", "OUT '%s' is the input file", out);
    swarm_model_convert_params p = {.in = in, .out = out, .tokenizer = tok, .type = type_s};
    swarm_model_convert_report rep;
    swarm_diag d = {{0}};
    swarm_err rc = swarm_model_convert(&p, &rep, &d);
    /* notes (fallback types, an ignored tokenizer) also after a failure */
    for (const char *s = rep.notes, *e; *s; s = e + 1) {
        e = strchr(s, '\n');
        if (e == NULL) break;
        fprintf(stderr, "swarm models convert: note: %.*s\n", (int)(e - s), s);
    }
    if (rep.needs_tokenizer)
        return cli_usage_error("models convert",
                               "%s is a llama2.c checkpoint: give its tokenizer.bin with -z", in);
    if (rc != SWARM_OK) {
        /* a bad input or a refused output path is the user's to fix (2); out
         * of memory and write failures are not (1) */
        bool user = rep.writing ? rc == SWARM_EINVAL : rc != SWARM_ENOMEM;
        return cli_fail(user ? CLI_EXIT_USAGE : CLI_EXIT_FAIL, "%s", d.msg);
    }
    printf("wrote %s: %zu tensors (%s)\n", out, rep.n_tensors, rep.types);
    return CLI_EXIT_OK;
}

int cmd_models(int argc, char **argv)
{
    if (argc < 2) {
        models_usage(stderr);
        return CLI_EXIT_USAGE;
    }
    if (cli_is_help(argv[1]) || strcmp(argv[1], "help") == 0) {
        models_usage(stdout);
        return CLI_EXIT_OK;
    }
    if (strcmp(argv[1], "inspect") == 0) return cmd_inspect(argc - 1, argv + 1);
    if (strcmp(argv[1], "convert") == 0) return cmd_convert(argc - 1, argv + 1);
    return cli_usage_error("models", "unknown subcommand '%s' (inspect or convert)", argv[1]);
}
