/*
 * cmd_eval.c: `swarm eval SWARM.json EVAL.tsv [--task TASK.json] [--json]`:
 * every node of the swarm classifies every line of EVAL.tsv (label<TAB>text)
 * by label log-likelihood, through the runtime as `swarm calibrate` does
 * (the prompt rendered by the planner from the task), and the node answers
 * are combined per example with the aggregate module (weighted vote with
 * w_i = f(P_i, R_i) / sum f, plain majority vote, max-weight). Prints
 * accuracy, per-class precision / recall / F1 and the confusion matrix for
 * every node and every aggregation. `swarm train --labels` calls the same
 * code to measure P_i on the dev set.
 */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "swarm/aggregate.h"
#include "swarm/runtime.h"
#include "train_cli.h"

#define MAX_LABELS 256
#define MAX_LINES 1000000

static const char *const USAGE =
    "usage: swarm eval SWARM.json EVAL.tsv [--task TASK.json] [--json] [--limit N]\n"
    "\n"
    "EVAL.tsv holds label<TAB>text lines. Every node classifies every text (label\n"
    "log-likelihood, as the runtime's classify subtasks do); prints accuracy,\n"
    "per-class precision/recall/F1 and the confusion matrix per node and for the\n"
    "aggregated swarm: weighted vote (w_i = P_i R_i / sum), majority vote, max-weight,\n"
    "and a soft vote (sum of w_i x the node's label probability).\n"
    "  --task FILE  a classify task (labels, prompt template); default: the labels of\n"
    "               the file, the text as prompt\n"
    "  --json       one JSON object: {\"swarm\": {...}, \"nodes\": [...], \"aggregations\": {...}}\n"
    "  --limit N    only the first N lines\n";

void tsv_free(tsv_set *s)
{
    for (size_t i = 0; i < s->n; i++) {
        free(s->label[i]);
        free(s->text[i]);
    }
    free(s->label);
    free(s->text);
    memset(s, 0, sizeof(*s));
}

int tsv_read(const char *path, size_t limit, tsv_set *s)
{
    memset(s, 0, sizeof(*s));
    FILE *f = fopen(path, "r");
    if (f == NULL) return cli_fail(CLI_EXIT_USAGE, "%s: cannot open: %s", path, strerror(errno));
    char *line = NULL;
    size_t cap = 0, lineno = 0, acap = 0;
    ssize_t len;
    int code = CLI_EXIT_OK;
    while ((len = getline(&line, &cap, f)) >= 0) {
        lineno++;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = 0;
        if (len == 0) continue;
        if (limit && s->n == limit) break;
        char *tab = strchr(line, '\t');
        if (tab == NULL || tab == line || tab[1] == 0 || strchr(tab + 1, '\t') != NULL) {
            code = cli_fail(CLI_EXIT_USAGE, "%s:%zu: want label<TAB>text (one tab, both non-empty)",
                            path, lineno);
            break;
        }
        if (s->n == MAX_LINES) {
            code = cli_fail(CLI_EXIT_USAGE, "%s: more than %d lines", path, MAX_LINES);
            break;
        }
        if (s->n == acap) {
            acap = acap ? acap * 2 : 1024;
            char **a = realloc(s->label, acap * sizeof(char *)), **b;
            if (a) s->label = a;
            b = realloc(s->text, acap * sizeof(char *));
            if (b) s->text = b;
            if (!a || !b) {
                code = cli_fail(CLI_EXIT_FAIL, "out of memory");
                break;
            }
        }
        *tab = 0;
        s->label[s->n] = strdup(line);
        s->text[s->n] = strdup(tab + 1);
        if (!s->label[s->n] || !s->text[s->n]) {
            free(s->label[s->n]);
            free(s->text[s->n]);
            code = cli_fail(CLI_EXIT_FAIL, "out of memory");
            break;
        }
        s->n++;
    }
    if (code == CLI_EXIT_OK && ferror(f))
        code = cli_fail(CLI_EXIT_USAGE, "%s: cannot read: %s", path, strerror(errno));
    free(line);
    fclose(f);
    if (code == CLI_EXIT_OK && s->n == 0) code = cli_fail(CLI_EXIT_USAGE, "%s: no examples", path);
    if (code) tsv_free(s);
    return code;
}

/* Trimmed equality (votes compare trimmed text, docs/aggregation.md). */
static bool same_label(const char *a, const char *b)
{
    while (*a == ' ' || *a == '\t' || *a == '\n' || *a == '\r') a++;
    while (*b == ' ' || *b == '\t' || *b == '\n' || *b == '\r') b++;
    size_t la = strlen(a), lb = strlen(b);
    while (la && (a[la - 1] == ' ' || a[la - 1] == '\t' || a[la - 1] == '\n' || a[la - 1] == '\r')) la--;
    while (lb && (b[lb - 1] == ' ' || b[lb - 1] == '\t' || b[lb - 1] == '\n' || b[lb - 1] == '\r')) lb--;
    return la == lb && memcmp(a, b, la) == 0;
}

/* The prompt and labels of a classify task for one input, through the planner
 * (as swarm calibrate renders them). */
static int task_render(json_t *task, const char *input, char **prompt, char ***labels,
                       size_t *n_labels, char **skill)
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
        code = cli_fail(CLI_EXIT_USAGE, "task: %s", d.msg[0] ? d.msg : "not a valid task");
        goto out;
    }
    const swarm_subtask *sub = swarm_plan_get(pl, 0);
    if (sub == NULL || sub->kind != SWARM_SUBTASK_CLASSIFY || sub->n_labels == 0) {
        code = cli_fail(CLI_EXIT_USAGE, "task: evaluation needs a classify task with labels");
        goto out;
    }
    if (labels != NULL) {
        *labels = calloc(sub->n_labels, sizeof(char *));
        *n_labels = sub->n_labels;
        for (size_t j = 0; *labels && j < sub->n_labels; j++) (*labels)[j] = strdup(sub->labels[j]);
        *skill = strdup(sub->skill ? sub->skill : "classify");
    }
    *prompt = strdup(sub->prompt ? sub->prompt : input);
out:
    free(js);
    swarm_plan_destroy(pl);
    swarm_task_destroy(st);
    return code;
}

typedef struct metrics {
    size_t correct, n;
    size_t *conf; /* [gold * L + pred] */
} metrics;

static json_t *metrics_json(const metrics *m, char **labels, size_t L, bool with_conf)
{
    json_t *o = json_object();
    json_object_set_new(o, "accuracy", json_real(m->n ? (double)m->correct / m->n : 0));
    json_object_set_new(o, "correct", json_integer((json_int_t)m->correct));
    json_t *pc = json_object();
    double f1_sum = 0;
    for (size_t c = 0; c < L; c++) {
        size_t tp = m->conf[c * L + c], pred = 0, gold = 0;
        for (size_t k = 0; k < L; k++) {
            pred += m->conf[k * L + c];
            gold += m->conf[c * L + k];
        }
        double p = pred ? (double)tp / pred : 0, r = gold ? (double)tp / gold : 0;
        double f1 = p + r > 0 ? 2 * p * r / (p + r) : 0;
        f1_sum += f1;
        json_t *e = json_object();
        json_object_set_new(e, "precision", json_real(p));
        json_object_set_new(e, "recall", json_real(r));
        json_object_set_new(e, "f1", json_real(f1));
        json_object_set_new(e, "support", json_integer((json_int_t)gold));
        char name[256];
        snprintf(name, sizeof(name), "%s", labels[c]);
        char *nm = name;
        while (*nm == ' ') nm++;
        json_object_set_new(pc, nm, e);
    }
    json_object_set_new(o, "macro_f1", json_real(L ? f1_sum / L : 0));
    json_object_set_new(o, "per_class", pc);
    if (with_conf) {
        json_t *cm = json_array();
        for (size_t g = 0; g < L; g++) {
            json_t *row = json_array();
            for (size_t p = 0; p < L; p++) json_array_append_new(row, json_integer((json_int_t)m->conf[g * L + p]));
            json_array_append_new(cm, row);
        }
        json_object_set_new(o, "confusion", cm);
    }
    return o;
}

static void metrics_print(const char *name, const metrics *m, char **labels, size_t L)
{
    json_t *o = metrics_json(m, labels, L, false);
    printf("%-28s acc %.4f (%zu/%zu)  macro-F1 %.4f  ", name, m->n ? (double)m->correct / m->n : 0,
           m->correct, m->n, json_real_value(json_object_get(o, "macro_f1")));
    for (size_t c = 0; c < L; c++) {
        const char *nm = labels[c];
        while (*nm == ' ') nm++;
        json_t *e = json_object_get(json_object_get(o, "per_class"), nm);
        printf(" %s P %.3f R %.3f F1 %.3f;", nm, json_real_value(json_object_get(e, "precision")),
               json_real_value(json_object_get(e, "recall")),
               json_real_value(json_object_get(e, "f1")));
    }
    printf("  confusion (gold x pred):");
    for (size_t g = 0; g < L; g++) {
        printf(" [");
        for (size_t p = 0; p < L; p++) printf(p ? " %zu" : "%zu", m->conf[g * L + p]);
        printf("]");
    }
    printf("\n");
    json_decref(o);
}

int eval_swarm(const char *swarm_path, const char *tsv_path, const char *task_path, size_t limit,
               bool json, bool quiet, eval_out *res)
{
    tsv_set e = {0};
    int code = tsv_read(tsv_path, limit, &e);
    if (code) return code;
    json_t *task = NULL;
    char **prompts = NULL, **labels = NULL, *skill = NULL;
    size_t L = 0, n = 0;
    int32_t *gold = NULL, *pred = NULL; /* pred[node * e.n + k] */
    double *conf = NULL;                /* the node's probability of its answer */
    swarm_swarm *sw = NULL;
    swarm_runtime *rt = NULL;
    metrics *mt = NULL;
    swarm_diag d = {{0}};
    static const swarm_agg_method methods[3] = {SWARM_AGG_WEIGHTED_VOTE, SWARM_AGG_VOTE,
                                                SWARM_AGG_MAX_WEIGHT};
    /* the fourth is a soft vote: sum_i w_i p_i(label), with p_i the node's
     * label probability (its answer's; the rest shared by the other labels) */
    const char *method_names[4] = {"weighted-vote", "vote", "max-weight", "weighted-probability"};
    if (task_path) {
        json_error_t je;
        task = json_load_file(task_path, JSON_REJECT_DUPLICATES, &je);
        if (task == NULL || !json_is_object(task)) {
            code = cli_fail(CLI_EXIT_USAGE, "%s: %s", task_path,
                            task ? "must be a task object" : je.text);
            goto out;
        }
    }
    prompts = calloc(e.n, sizeof(char *));
    gold = calloc(e.n, sizeof(int32_t));
    if (!prompts || !gold) {
        code = cli_fail(CLI_EXIT_FAIL, "out of memory");
        goto out;
    }
    for (size_t k = 0; k < e.n; k++) {
        if (task) {
            if ((code = task_render(task, e.text[k], &prompts[k], k == 0 ? &labels : NULL, &L,
                                    &skill)))
                goto out;
        } else {
            prompts[k] = strdup(e.text[k]);
            bool seen = false;
            for (size_t j = 0; j < L; j++) seen |= strcmp(labels[j], e.label[k]) == 0;
            if (!seen) {
                if (L == MAX_LABELS) {
                    code = cli_fail(CLI_EXIT_USAGE, "%s: more than %d labels", tsv_path, MAX_LABELS);
                    goto out;
                }
                char **nl = realloc(labels, (L + 1) * sizeof(char *));
                if (nl == NULL) {
                    code = cli_fail(CLI_EXIT_FAIL, "out of memory");
                    goto out;
                }
                labels = nl;
                labels[L++] = strdup(e.label[k]);
            }
        }
        if (prompts[k] == NULL) {
            code = cli_fail(CLI_EXIT_FAIL, "out of memory");
            goto out;
        }
    }
    if (L < 2) {
        code = cli_fail(CLI_EXIT_USAGE, "%s: fewer than two labels", tsv_path);
        goto out;
    }
    for (size_t k = 0; k < e.n; k++) {
        gold[k] = -1;
        for (size_t j = 0; j < L; j++)
            if (same_label(labels[j], e.label[k])) gold[k] = (int32_t)j;
        if (gold[k] < 0) {
            code = cli_fail(CLI_EXIT_USAGE, "%s: line %zu: label \"%s\" is not one of the task's labels",
                            tsv_path, k + 1, e.label[k]);
            goto out;
        }
    }
    if (swarm_swarm_load(swarm_path, &sw, &d) != SWARM_OK) {
        code = cli_fail(CLI_EXIT_USAGE, "%s", d.msg);
        goto out;
    }
    swarm_runtime_params p = swarm_runtime_params_default();
    p.seed = 1;
    swarm_err rc = swarm_runtime_create(sw, &p, &rt, &d);
    if (rc) {
        code = cli_fail(cli_exit_for_input_error(rc), "%s", d.msg);
        goto out;
    }
    n = swarm_swarm_count(sw);
    pred = calloc(n * e.n, sizeof(int32_t));
    conf = calloc(n * e.n, sizeof(double));
    mt = calloc(n + 4, sizeof(metrics));
    if (!pred || !conf || !mt) {
        code = cli_fail(CLI_EXIT_FAIL, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n + 4; i++) {
        mt[i].conf = calloc(L * L, sizeof(size_t));
        if (!mt[i].conf) {
            code = cli_fail(CLI_EXIT_FAIL, "out of memory");
            goto out;
        }
    }
    for (size_t i = 0; i < n; i++) {
        for (size_t k = 0; k < e.n; k++) {
            char *got = NULL;
            rc = swarm_runtime_exec(rt, i, SWARM_SUBTASK_CLASSIFY, prompts[k],
                                    (const char *const *)labels, L, 1, 60000, &got, NULL,
                                    &conf[i * e.n + k], &d);
            if (rc) {
                code = cli_fail(CLI_EXIT_FAIL, "node %s: %s", swarm_swarm_node(sw, i)->name, d.msg);
                goto out;
            }
            int32_t pj = 0;
            for (size_t j = 0; j < L; j++)
                if (strcmp(labels[j], got) == 0) pj = (int32_t)j;
            swarm_free(got);
            pred[i * e.n + k] = pj;
            mt[i].n++;
            mt[i].correct += pj == gold[k];
            mt[i].conf[(size_t)gold[k] * L + (size_t)pj]++;
        }
        if (!quiet && !json)
            fprintf(stderr, "  %s: %zu/%zu\n", swarm_swarm_node(sw, i)->name, mt[i].correct, e.n);
    }
    /* aggregation per example with each method */
    swarm_agg_item *items = calloc(n, sizeof(swarm_agg_item));
    if (items == NULL) {
        code = cli_fail(CLI_EXIT_FAIL, "out of memory");
        goto out;
    }
    for (size_t k = 0; k < e.n; k++) {
        for (size_t i = 0; i < n; i++) {
            const swarm_node_spec *ns = swarm_swarm_node(sw, i);
            items[i] = (swarm_agg_item){.node = ns->name, .is_text = true,
                                        .text = labels[pred[i * e.n + k]], .p = ns->accuracy,
                                        .r = ns->relevance, .hlc = i};
        }
        for (int m = 0; m < 3; m++) {
            swarm_agg_spec spec = swarm_agg_spec_default();
            spec.method = methods[m];
            swarm_agg_result *r = NULL;
            if (swarm_aggregate(&spec, items, n, &r, &d) != SWARM_OK) {
                free(items);
                code = cli_fail(CLI_EXIT_USAGE, "aggregation: %s", d.msg);
                goto out;
            }
            int32_t pj = 0;
            for (size_t j = 0; j < L; j++)
                if (r->text && same_label(labels[j], r->text)) pj = (int32_t)j;
            swarm_agg_result_destroy(r);
            metrics *a = &mt[n + (size_t)m];
            a->n++;
            a->correct += pj == gold[k];
            a->conf[(size_t)gold[k] * L + (size_t)pj]++;
        }
        /* soft vote with the same normalised weights f(P, R) = P R */
        double score[MAX_LABELS] = {0}, wsum = 0;
        for (size_t i = 0; i < n; i++) wsum += items[i].p * items[i].r;
        for (size_t i = 0; i < n; i++) {
            double w = wsum > 0 ? items[i].p * items[i].r / wsum : 1.0 / (double)n;
            double c = conf[i * e.n + k];
            for (size_t j = 0; j < L; j++)
                score[j] += w * ((int32_t)j == pred[i * e.n + k] ? c : (1 - c) / (double)(L - 1));
        }
        int32_t pj = 0;
        for (size_t j = 1; j < L; j++)
            if (score[j] > score[pj]) pj = (int32_t)j;
        metrics *a = &mt[n + 3];
        a->n++;
        a->correct += pj == gold[k];
        a->conf[(size_t)gold[k] * L + (size_t)pj]++;
    }
    free(items);
    if (json) {
        json_t *o = json_object(), *nodes = json_array(), *aggs = json_object();
        json_t *jl = json_array();
        for (size_t j = 0; j < L; j++) json_array_append_new(jl, json_string(labels[j]));
        json_object_set_new(o, "examples", json_integer((json_int_t)e.n));
        json_object_set_new(o, "labels", jl);
        json_t *sj = metrics_json(&mt[n], labels, L, true);
        json_object_set_new(sj, "method", json_string("weighted-vote"));
        json_object_set_new(o, "swarm", sj);
        for (size_t i = 0; i < n; i++) {
            json_t *nj = metrics_json(&mt[i], labels, L, true);
            json_object_set_new(nj, "name", json_string(swarm_swarm_node(sw, i)->name));
            json_object_set_new(nj, "weight_p", json_real(swarm_swarm_node(sw, i)->accuracy));
            json_array_append_new(nodes, nj);
        }
        json_object_set_new(o, "nodes", nodes);
        for (int m = 0; m < 4; m++)
            json_object_set_new(aggs, method_names[m], metrics_json(&mt[n + (size_t)m], labels, L, true));
        json_object_set_new(o, "aggregations", aggs);
        char *js = json_dumps(o, JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6));
        json_decref(o);
        if (js) printf("%s\n", js);
        free(js);
    } else if (!quiet) {
        printf("%zu examples, %zu labels, %zu nodes\n", e.n, L, n);
        for (size_t i = 0; i < n; i++) metrics_print(swarm_swarm_node(sw, i)->name, &mt[i], labels, L);
        for (int m = 0; m < 4; m++) {
            char nm[64];
            snprintf(nm, sizeof(nm), "swarm %s", method_names[m]);
            metrics_print(nm, &mt[n + (size_t)m], labels, L);
        }
    }
    if (res) {
        res->n_nodes = n;
        res->node_acc = calloc(n ? n : 1, sizeof(double));
        for (size_t i = 0; res->node_acc && i < n; i++)
            res->node_acc[i] = (double)mt[i].correct / (double)e.n;
        for (int m = 0; m < 4; m++) res->agg_acc[m] = (double)mt[n + (size_t)m].correct / (double)e.n;
    }
out:
    swarm_runtime_destroy(rt);
    swarm_swarm_destroy(sw);
    json_decref(task);
    for (size_t k = 0; prompts && k < e.n; k++) free(prompts[k]);
    free(prompts);
    for (size_t j = 0; labels && j < L; j++) free(labels[j]);
    free(labels);
    free(skill);
    free(gold);
    free(pred);
    free(conf);
    for (size_t i = 0; mt && i < n + 4; i++) free(mt[i].conf);
    free(mt);
    tsv_free(&e);
    return code;
}

int cmd_eval(int argc, char **argv)
{
    const char *cmd = argv[0], *swarm_path = NULL, *tsv = NULL, *task = NULL;
    bool json = false;
    long limit = 0;
    for (int a = 1; a < argc; a++) {
        const char *s = argv[a];
        bool has = a + 1 < argc;
        if (cli_is_help(s)) {
            fputs(USAGE, stdout);
            return CLI_EXIT_OK;
        } else if (strcmp(s, "--task") == 0 && has) task = argv[++a];
        else if (strcmp(s, "--json") == 0) json = true;
        else if (strcmp(s, "--limit") == 0 && has) {
            if (!cli_parse_int(argv[++a], 1, MAX_LINES, &limit))
                return cli_usage_error(cmd, "invalid --limit '%s'", argv[a]);
        } else if (s[0] == '-') return cli_usage_error(cmd, "unknown or incomplete option '%s'", s);
        else if (swarm_path == NULL) swarm_path = s;
        else if (tsv == NULL) tsv = s;
        else return cli_usage_error(cmd, "unexpected argument '%s'", s);
    }
    if (swarm_path == NULL || tsv == NULL) return cli_usage_error(cmd, "want SWARM.json and EVAL.tsv");
    return eval_swarm(swarm_path, tsv, task, (size_t)limit, json, false, NULL);
}
