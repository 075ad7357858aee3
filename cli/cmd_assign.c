/*
 * cmd_assign.c: `swarm assign PROBLEM.json`: solves the paper's bi-criteria
 * assignment problem given directly as JSON (docs/assign.md): one solution,
 * an epsilon-constraint solution, or the Pareto front; human or JSON output.
 * Exit 0 solved, 1 well-formed but infeasible, 2 malformed input or usage.
 */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "swarm/assign.h"

/* the largest instance we read (a file or stdin): 3000 x 3000 dense is ~400 MB */
#define INPUT_MAX ((size_t)512 << 20)

static void usage(FILE *f)
{
    fprintf(f,
            "usage: swarm assign PROBLEM.json|- [--method exact|fast|auto] [--pareto]\n"
            "                    [--time-limit S] [--solver cbc|glpk] [--json]\n\n"
            "Solves: x_ik in {0,1}, sum_i x_ik = r per subtask k (distinct SLMs, distinct zones\n"
            "when \"zones\" is given), sum x_ik C_ik >= p_min, sum_k c_ik x_ik <= B_i; minimises\n"
            "w_e * sum x_ik E_i + w_t * time (time = sum x_ik T_i, or the busiest SLM's load\n"
            "with \"makespan\": true); with \"eps_time\": min energy s.t. time <= eps_time.\n\n"
            "  --method M       exact (MIP: CBC or GLPK), fast (greedy + local search), auto\n"
            "                   (exact up to %d SLM x subtask pairs; default)\n"
            "  --pareto         the energy/time Pareto front instead of one solution\n"
            "  --time-limit S   exact solver time limit in seconds (default 10)\n"
            "  --solver S       MIP back end: cbc (default when built with it) or glpk\n"
            "  --json           one JSON object on stdout\n\n"
            "Exit status: 0 solved (optimal or feasible), 1 infeasible (the reason names the\n"
            "constraint), 2 malformed input or usage error. See docs/assign.md.\n",
            SWARM_ASSIGN_AUTO_EXACT_PAIRS);
}

static json_t *num_or_null(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

static json_t *result_json(const swarm_assign_result *r)
{
    json_t *o = json_object();
    json_object_set_new(o, "status", json_string(swarm_assign_status_name(r->status)));
    if (r->status == SWARM_ASSIGN_INFEASIBLE) {
        json_object_set_new(o, "reason", json_string(r->reason));
    } else {
        json_t *as = json_array();
        for (int32_t k = 0; k < r->m; k++) {
            if (r->r == 1) {
                json_array_append_new(as, json_integer(r->assign[k]));
            } else {
                json_t *row = json_array();
                for (int32_t j = 0; j < r->r; j++)
                    json_array_append_new(row, json_integer(r->assign[(size_t)k * r->r + j]));
                json_array_append_new(as, row);
            }
        }
        json_object_set_new(o, "assign", as);
        json_object_set_new(o, "energy", num_or_null(r->energy));
        json_object_set_new(o, "time", num_or_null(r->time));
        json_object_set_new(o, "compatibility", num_or_null(r->compatibility));
        json_object_set_new(o, "objective", num_or_null(r->objective));
        json_object_set_new(o, "bound", num_or_null(r->bound));
    }
    json_object_set_new(o, "method", json_string(r->method ? r->method : "none"));
    json_object_set_new(o, "solve_ms", json_real(r->solve_ms));
    return o;
}

static void print_human(const swarm_assign_result *r, const swarm_assign_problem *p)
{
    printf("status: %s (%s, %.1f ms)\n", swarm_assign_status_name(r->status), r->method, r->solve_ms);
    if (r->status == SWARM_ASSIGN_INFEASIBLE) {
        printf("reason: %s\n", r->reason);
        return;
    }
    printf("objective %.6g (energy %.6g, time %.6g%s)", r->objective, r->energy, r->time,
           p->time_obj == SWARM_ASSIGN_OBJ_MAKESPAN ? " makespan" : "");
    if (isfinite(r->bound)) printf(", lower bound %.6g", r->bound);
    printf("\ncompatibility %.6g (p_min %.6g)\n", r->compatibility, p->p_min);
    int32_t show = r->m < 50 ? r->m : 50;
    for (int32_t k = 0; k < show; k++) {
        printf("  subtask %d -> SLM", (int)k);
        for (int32_t j = 0; j < r->r; j++) printf(" %d", (int)r->assign[(size_t)k * r->r + j]);
        printf("\n");
    }
    if (show < r->m) printf("  ... (%d more subtasks; use --json for all)\n", (int)(r->m - show));
}

int cmd_assign(int argc, char **argv)
{
    const char *cmd = argv[0], *path = NULL;
    bool json = false, pareto = false;
    swarm_assign_options opt = swarm_assign_options_default();
    for (int a = 1; a < argc; a++) {
        const char *s = argv[a];
        if (cli_is_help(s)) {
            usage(stdout);
            return CLI_EXIT_OK;
        } else if (strcmp(s, "--json") == 0) {
            json = true;
        } else if (strcmp(s, "--pareto") == 0) {
            pareto = true;
        } else if (strcmp(s, "--method") == 0) {
            if (++a >= argc) return cli_usage_error(cmd, "--method needs a value");
            if (!swarm_assign_method_from_name(argv[a], &opt.method))
                return cli_usage_error(cmd, "--method must be exact, fast or auto, not '%s'", argv[a]);
        } else if (strcmp(s, "--solver") == 0) {
            if (++a >= argc) return cli_usage_error(cmd, "--solver needs a value");
            /* "auto" is the default; the flag names a back end */
            if (!swarm_assign_solver_from_name(argv[a], &opt.solver) ||
                opt.solver == SWARM_ASSIGN_SOLVER_AUTO)
                return cli_usage_error(cmd, "--solver must be cbc or glpk, not '%s'", argv[a]);
        } else if (strcmp(s, "--time-limit") == 0) {
            if (++a >= argc) return cli_usage_error(cmd, "--time-limit needs a value");
            if (!cli_parse_double(argv[a], 0.001, 86400, &opt.time_limit_s))
                return cli_usage_error(cmd, "--time-limit must be seconds in [0.001, 86400], not '%s'", argv[a]);
        } else if (s[0] == '-' && s[1] != '\0') {
            return cli_usage_error(cmd, "unknown option '%s'", s);
        } else if (path == NULL) {
            path = s;
        } else {
            return cli_usage_error(cmd, "more than one problem file ('%s' and '%s')", path, s);
        }
    }
    if (path == NULL) return cli_usage_error(cmd, "missing PROBLEM.json (or - for stdin)");
    swarm_diag d = {{0}};
    char *buf = NULL;
    size_t len = 0;
    if (swarm_file_read(path, INPUT_MAX, &buf, &len, &d) != SWARM_OK) return cli_fail(CLI_EXIT_USAGE, "%s", d.msg);
    swarm_assign_input *in = NULL;
    swarm_err rc = swarm_assign_input_parse(buf, len, &in, &d);
    swarm_free(buf);
    if (rc != SWARM_OK) return cli_fail(CLI_EXIT_USAGE, "%s: %s", path, d.msg);
    const swarm_assign_problem *p = swarm_assign_input_problem(in);
    int code = CLI_EXIT_OK;
    if (pareto) {
        swarm_assign_result **pts = NULL;
        size_t np = 0;
        rc = swarm_assign_pareto(p, &opt, &pts, &np, &d);
        if (rc != SWARM_OK) {
            swarm_assign_input_destroy(in);
            return cli_fail(rc == SWARM_EINVAL ? CLI_EXIT_USAGE : CLI_EXIT_FAIL, "%s: %s", path, d.msg);
        }
        bool infeasible = np == 0 || pts[0]->status == SWARM_ASSIGN_INFEASIBLE;
        if (json) {
            json_t *o = json_object(), *arr = json_array();
            for (size_t j = 0; j < np; j++) json_array_append_new(arr, result_json(pts[j]));
            json_object_set_new(o, "pareto", arr);
            if (infeasible) {
                json_object_set_new(o, "status", json_string("infeasible"));
                json_object_set_new(o, "reason", json_string(np ? pts[0]->reason : "no solution"));
            }
            char *s = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(12));
            if (s) puts(s);
            free(s);
            json_decref(o);
        } else if (infeasible) {
            printf("status: infeasible\nreason: %s\n", np ? pts[0]->reason : "no solution");
        } else {
            printf("Pareto front: %zu non-dominated points (energy vs %s time)\n", np,
                   p->time_obj == SWARM_ASSIGN_OBJ_MAKESPAN ? "makespan" : "total");
            printf("  %12s %12s %12s %12s  %s\n", "time", "energy", "compat", "objective", "status");
            for (size_t j = 0; j < np; j++)
                printf("  %12.6g %12.6g %12.6g %12.6g  %s\n", pts[j]->time, pts[j]->energy,
                       pts[j]->compatibility, pts[j]->objective, swarm_assign_status_name(pts[j]->status));
        }
        if (infeasible) code = CLI_EXIT_FAIL;
        for (size_t j = 0; j < np; j++) swarm_assign_result_destroy(pts[j]);
        swarm_free(pts);
    } else {
        swarm_assign_result *res = NULL;
        rc = swarm_assign_solve(p, &opt, &res, &d);
        if (rc != SWARM_OK) {
            swarm_assign_input_destroy(in);
            return cli_fail(rc == SWARM_EINVAL ? CLI_EXIT_USAGE : CLI_EXIT_FAIL, "%s: %s", path, d.msg);
        }
        if (json) {
            json_t *o = result_json(res);
            char *s = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(12));
            if (s) puts(s);
            free(s);
            json_decref(o);
        } else {
            print_human(res, p);
        }
        if (res->status == SWARM_ASSIGN_INFEASIBLE) code = CLI_EXIT_FAIL;
        swarm_assign_result_destroy(res);
    }
    swarm_assign_input_destroy(in);
    return code;
}
