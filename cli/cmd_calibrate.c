/*
 * cmd_calibrate.c: `swarm calibrate SWARM EVAL.jsonl`: runs every node of the
 * swarm on a labelled set (classification by label log-likelihood), and
 * writes the measured accuracy P_i and compatibility C_ik for the skill back
 * into the swarm file (atomic rewrite). Bad input exits 2.
 */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "swarm/runtime.h"

#define MAX_LINES 100000
#define MAX_LABELS 256

static void usage(FILE *f)
{
    fprintf(f,
            "usage: swarm calibrate SWARM.json EVAL.jsonl [--task TASK.json] [--skill NAME]\n"
            "                       [--json] [--dry-run] [--model PATH] [--tokenizer PATH]\n\n"
            "EVAL.jsonl holds one {\"input\": text, \"label\": text} per line. Each node\n"
            "classifies every input (label log-likelihood); its accuracy becomes P_i and its\n"
            "compatibility C_ik for the skill, written back into SWARM.json.\n"
            "  --task FILE   a classify task: its labels, prompt template and skill are used\n"
            "                (default: the labels seen in the file, the input as prompt)\n"
            "  --skill NAME  the skill to set (default: the task's, else \"classify\")\n"
            "  --dry-run     measure and print, do not rewrite the swarm file\n");
}

typedef struct eval_set {
    char **input, **label;
    size_t n;
    char *labels[MAX_LABELS];
    size_t n_labels;
    char skill[256]; /* the task's skill (--task), when --skill is not given */
} eval_set;

static void eval_free(eval_set *e)
{
    for (size_t i = 0; i < e->n; i++) {
        free(e->input[i]);
        free(e->label[i]);
    }
    free(e->input);
    free(e->label);
    for (size_t i = 0; i < e->n_labels; i++) free(e->labels[i]);
}

static int read_eval(const char *cmd, const char *path, eval_set *e)
{
    (void)cmd;
    FILE *f = fopen(path, "r");
    if (f == NULL) return cli_fail(CLI_EXIT_USAGE, "%s: cannot open: %s", path, strerror(errno));
    char *line = NULL;
    size_t cap = 0, lineno = 0;
    ssize_t len;
    int code = CLI_EXIT_OK;
    e->input = calloc(MAX_LINES, sizeof(char *));
    e->label = calloc(MAX_LINES, sizeof(char *));
    if (!e->input || !e->label) {
        fclose(f);
        return cli_fail(CLI_EXIT_FAIL, "out of memory");
    }
    while ((len = getline(&line, &cap, f)) >= 0) {
        lineno++;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = 0;
        if (len == 0) continue;
        if (e->n == MAX_LINES) {
            code = cli_fail(CLI_EXIT_USAGE, "%s:%zu: more than %d lines", path, lineno, MAX_LINES);
            break;
        }
        swarm_diag jd = {{0}};
        json_t *o = swarm_json_load(line, (size_t)len, &jd);
        json_t *in = o ? json_object_get(o, "input") : NULL, *lb = o ? json_object_get(o, "label") : NULL;
        if (o == NULL || !json_is_object(o) || json_object_size(o) != 2 || !json_is_string(in) ||
            !json_is_string(lb) || json_string_length(lb) == 0) {
            code = cli_fail(CLI_EXIT_USAGE, "%s:%zu: want {\"input\": text, \"label\": text}%s%s",
                            path, lineno, o ? "" : ": ", o ? "" : jd.msg);
            json_decref(o);
            break;
        }
        e->input[e->n] = strdup(json_string_value(in));
        e->label[e->n] = strdup(json_string_value(lb));
        json_decref(o);
        if (!e->input[e->n] || !e->label[e->n]) {
            code = cli_fail(CLI_EXIT_FAIL, "out of memory");
            break;
        }
        e->n++;
    }
    /* a directory opens but cannot be read (EISDIR) */
    if (code == CLI_EXIT_OK && ferror(f))
        code = cli_fail(CLI_EXIT_USAGE, "%s: cannot read: %s", path, strerror(errno));
    free(line);
    fclose(f);
    if (code == CLI_EXIT_OK && e->n == 0)
        code = cli_fail(CLI_EXIT_USAGE, "%s: no examples", path);
    return code;
}

/* The prompt and labels a task would give this input: the task file with
 * its input replaced and a single decomposition, through the planner. */
static int task_prompt(json_t *task, const char *input, char **out_prompt, eval_set *e,
                       bool set_labels, const char **skill)
{
    json_t *t = json_deep_copy(task);
    json_object_set_new(t, "input", json_string(input));
    json_object_del(t, "decomposition");
    json_object_del(t, "redundancy");
    char *js = json_dumps(t, JSON_COMPACT);
    json_decref(t);
    swarm_task *st = NULL;
    swarm_plan *pl = NULL;
    swarm_diag d = {{0}};
    int code = CLI_EXIT_OK;
    if (js == NULL || swarm_task_parse(js, strlen(js), &st, &d) != SWARM_OK ||
        swarm_plan_build(st, &pl, &d) != SWARM_OK) {
        code = cli_fail(CLI_EXIT_USAGE, "task: %s", d.msg);
        goto out;
    }
    const swarm_subtask *sub = swarm_plan_get(pl, 0);
    if (sub == NULL || sub->kind != SWARM_SUBTASK_CLASSIFY || sub->n_labels == 0) {
        code = cli_fail(CLI_EXIT_USAGE, "task: calibration needs a classify task with labels");
        goto out;
    }
    if (set_labels) {
        for (size_t j = 0; j < sub->n_labels && j < MAX_LABELS; j++)
            e->labels[e->n_labels++] = strdup(sub->labels[j]);
        snprintf(e->skill, sizeof(e->skill), "%s", sub->skill ? sub->skill : "classify");
        if (*skill == NULL) *skill = e->skill;
    }
    *out_prompt = strdup(sub->prompt ? sub->prompt : input);
out:
    free(js);
    swarm_plan_destroy(pl);
    swarm_task_destroy(st);
    return code;
}

int cmd_calibrate(int argc, char **argv)
{
    const char *cmd = argv[0];
    const char *swarm_path = NULL, *eval_path = NULL, *task_path = NULL, *skill = NULL;
    const char *model = NULL, *tokenizer = NULL;
    bool json = false, dry = false;
    for (int a = 1; a < argc; a++) {
        const char *s = argv[a];
        bool has = a + 1 < argc;
        if (cli_is_help(s)) {
            usage(stdout);
            return CLI_EXIT_OK;
        } else if (strcmp(s, "--task") == 0 && has) task_path = argv[++a];
        else if (strcmp(s, "--skill") == 0 && has) skill = argv[++a];
        else if (strcmp(s, "--model") == 0 && has) model = argv[++a];
        else if (strcmp(s, "--tokenizer") == 0 && has) tokenizer = argv[++a];
        else if (strcmp(s, "--json") == 0) json = true;
        else if (strcmp(s, "--dry-run") == 0) dry = true;
        else if (s[0] == '-') return cli_usage_error(cmd, "unknown or incomplete option '%s'", s);
        else if (swarm_path == NULL) swarm_path = s;
        else if (eval_path == NULL) eval_path = s;
        else return cli_usage_error(cmd, "unexpected argument '%s'", s);
    }
    if (swarm_path == NULL || eval_path == NULL)
        return cli_usage_error(cmd, "want SWARM.json and EVAL.jsonl");
    eval_set e = {0};
    int code = read_eval(cmd, eval_path, &e);
    swarm_swarm *sw = NULL;
    swarm_runtime *rt = NULL;
    json_t *task = NULL;
    char **prompts = NULL;
    double *acc = NULL, *compat = NULL, *speed = NULL;
    swarm_diag d = {{0}};
    if (code) goto out;
    if (task_path) {
        swarm_diag jd = {{0}};
        task = swarm_json_load_file(task_path, &jd);
        if (task == NULL || !json_is_object(task)) {
            if (task == NULL) /* the message names the file */
                code = cli_fail(CLI_EXIT_USAGE, "%s", jd.msg);
            else
                code = cli_fail(CLI_EXIT_USAGE, "%s: must be a task object", task_path);
            goto out;
        }
    }
    prompts = calloc(e.n, sizeof(char *));
    if (prompts == NULL) {
        code = cli_fail(CLI_EXIT_FAIL, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < e.n; i++) {
        if (task) {
            if ((code = task_prompt(task, e.input[i], &prompts[i], &e, i == 0, &skill))) goto out;
        } else {
            prompts[i] = strdup(e.input[i]);
            bool seen = false;
            for (size_t j = 0; j < e.n_labels; j++) seen |= strcmp(e.labels[j], e.label[i]) == 0;
            if (!seen) {
                if (e.n_labels == MAX_LABELS) {
                    code = cli_fail(CLI_EXIT_USAGE, "%s: more than %d labels", eval_path, MAX_LABELS);
                    goto out;
                }
                e.labels[e.n_labels++] = strdup(e.label[i]);
            }
        }
    }
    if (skill == NULL) skill = "classify";
    for (size_t i = 0; i < e.n; i++) {
        bool ok = false;
        for (size_t j = 0; j < e.n_labels; j++) ok |= strcmp(e.labels[j], e.label[i]) == 0;
        if (!ok) {
            code = cli_fail(CLI_EXIT_USAGE, "%s: example %zu: label \"%s\" is not one of the task's labels",
                            eval_path, i + 1, e.label[i]);
            goto out;
        }
    }
    if (swarm_swarm_load(swarm_path, &sw, &d) != SWARM_OK) {
        code = cli_fail(CLI_EXIT_USAGE, "%s", d.msg);
        goto out;
    }
    if (model && swarm_swarm_override_model(sw, model, tokenizer) != SWARM_OK) {
        code = cli_fail(CLI_EXIT_FAIL, "out of memory");
        goto out;
    }
    swarm_runtime_params p = swarm_runtime_params_default();
    p.seed = 1;
    swarm_err rc = swarm_runtime_create(sw, &p, &rt, &d);
    if (rc) {
        code = cli_fail(cli_exit_for_input_error(rc), "%s", d.msg);
        goto out;
    }
    size_t n = swarm_swarm_count(sw);
    acc = calloc(n, sizeof(double));
    compat = calloc(n, sizeof(double));
    speed = calloc(n, sizeof(double));
    if (!acc || !compat || !speed) {
        code = cli_fail(CLI_EXIT_FAIL, "out of memory");
        goto out;
    }
    if (!json) printf("%-12s %8s %8s %10s   (skill \"%s\", %zu examples, %zu labels)\n", "node", "correct",
                      "accuracy", "ms/token", skill, e.n, e.n_labels);
    for (size_t i = 0; i < n; i++) {
        size_t correct = 0;
        for (size_t k = 0; k < e.n; k++) {
            char *got = NULL;
            rc = swarm_runtime_exec(rt, i, SWARM_SUBTASK_CLASSIFY, prompts[k],
                                    (const char *const *)e.labels, e.n_labels, 1, 60000, &got,
                                    NULL, NULL, &d);
            if (rc) {
                code = cli_fail(CLI_EXIT_FAIL, "%s", d.msg);
                goto out;
            }
            correct += strcmp(got, e.label[k]) == 0;
            swarm_free(got);
        }
        acc[i] = compat[i] = (double)correct / (double)e.n;
        /* T_i measured on this workload; kept in the swarm file, the next
         * run's assignment starts from it (E follows from its watts) */
        swarm_runtime_node_speed(rt, i, &speed[i], NULL);
        if (!json)
            printf("%-12s %8zu %8.4f %10.4f\n", swarm_swarm_node(sw, i)->name, correct, acc[i], speed[i]);
    }
    if (json) {
        /* built with jansson: skill and node names are escaped */
        json_t *o = json_object(), *nodes = json_object();
        for (size_t i = 0; i < n; i++)
            json_object_set_new(nodes, swarm_swarm_node(sw, i)->name, json_real(acc[i]));
        json_object_set_new(o, "skill", json_string(skill));
        json_object_set_new(o, "examples", json_integer((json_int_t)e.n));
        json_object_set_new(o, "nodes", nodes);
        json_t *sp = json_object();
        for (size_t i = 0; i < n; i++)
            json_object_set_new(sp, swarm_swarm_node(sw, i)->name,
                                isfinite(speed[i]) ? json_real(speed[i]) : json_null());
        json_object_set_new(o, "ms_per_token", sp);
        json_object_set_new(o, "written", json_boolean(!dry));
        char *js = json_dumps(o, JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6));
        json_decref(o);
        if (js == NULL) {
            code = cli_fail(CLI_EXIT_FAIL, "out of memory");
            goto out;
        }
        printf("%s\n", js);
        free(js);
    }
    if (!dry) {
        swarm_calibration cal = {n, skill, acc, compat, speed};
        if (swarm_swarm_write_calibration(swarm_path, &cal, &d) != SWARM_OK) {
            code = cli_fail(CLI_EXIT_FAIL, "%s", d.msg);
            goto out;
        }
        if (!json) printf("wrote accuracy, skills.%s and time_per_token_ms into %s\n", skill, swarm_path);
    }
out:
    swarm_runtime_destroy(rt);
    swarm_swarm_destroy(sw);
    json_decref(task);
    for (size_t i = 0; prompts && i < e.n; i++) free(prompts[i]);
    free(prompts);
    free(acc);
    free(compat);
    free(speed);
    eval_free(&e);
    return code;
}
