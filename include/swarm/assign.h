/*
 * assign.h: the bi-criteria assignment optimizer of the paper: choose which
 * SLMs run which subtasks (x_ik in {0,1}) under redundancy, compatibility and
 * capacity constraints, minimising energy and time (weighted sum, epsilon-
 * constraint, or the whole Pareto front). Exact (MIP via CBC or GLPK) and fast
 * (greedy by regret + local search) methods; the JSON problem format of
 * `swarm assign`.
 */
#ifndef SWARM_ASSIGN_H
#define SWARM_ASSIGN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "swarm/swarm.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    SWARM_ASSIGN_OPTIMAL,    /* proven optimal (exact solver, or LP bound met) */
    SWARM_ASSIGN_FEASIBLE,   /* feasible, optimality not proven */
    SWARM_ASSIGN_INFEASIBLE, /* no feasible assignment; reason says why */
    SWARM_ASSIGN_STATUS_COUNT
} swarm_assign_status;

/* AUTO uses the exact solver up to this many (SLM, subtask) pairs. */
#define SWARM_ASSIGN_AUTO_EXACT_PAIRS 20000

typedef enum {
    SWARM_ASSIGN_METHOD_AUTO,  /* exact below a size limit (n*m <= 20000), else fast */
    SWARM_ASSIGN_METHOD_EXACT, /* MIP: CBC when built with it, else GLPK */
    SWARM_ASSIGN_METHOD_FAST,  /* greedy by regret + local search */
    SWARM_ASSIGN_METHOD_COUNT
} swarm_assign_method;

typedef enum {
    SWARM_ASSIGN_OBJ_SUM,      /* time = sum_ik x_ik T_ik (default) */
    SWARM_ASSIGN_OBJ_MAKESPAN, /* time = max_i sum_k x_ik T_ik (busiest SLM's load) */
    SWARM_ASSIGN_OBJ_COUNT
} swarm_assign_time_obj;

/* One problem instance. All arrays are borrowed for the duration of a call. */
typedef struct swarm_assign_problem {
    int32_t n;                 /* SLMs (i) */
    int32_t m;                 /* subtasks (k) */
    const double *E;           /* [n] energy per subtask on SLM i */
    const double *T;           /* [n] time per subtask on SLM i */
    const double *E_ik;        /* optional [n*m] per-pair energy (row-major by i); overrides E */
    const double *T_ik;        /* optional [n*m] per-pair time; overrides T */
    const double *B;           /* [n] capacity */
    const double *C;           /* [n*m] compatibility C_ik in [0,1] (row-major by i) */
    const double *c;           /* optional [n*m] capacity use c_ik (NULL = all 1) */
    double p_min;              /* sum_i sum_k x_ik C_ik >= p_min */
    double c_min;              /* per-pair: x_ik = 1 only if C_ik >= c_min (0 = off) */
    int32_t redundancy;        /* r >= 1: each subtask on r distinct SLMs (0 = 1) */
    const int32_t *zone;       /* optional [n]; with distinct_zones the r copies use distinct zones */
    bool distinct_zones;
    const bool *available;     /* optional [n]; false = SLM removed (failed) */
    double w_energy, w_time;   /* weighted-sum objective weights (default 1,1 when both 0) */
    swarm_assign_time_obj time_obj; /* time criterion: sum (default) or makespan */
    double eps_time;           /* > 0: epsilon-constraint: min energy s.t. time <= eps_time */
} swarm_assign_problem;

typedef enum {
    SWARM_ASSIGN_SOLVER_AUTO, /* CBC when built with it, else GLPK */
    SWARM_ASSIGN_SOLVER_CBC,
    SWARM_ASSIGN_SOLVER_GLPK,
    SWARM_ASSIGN_SOLVER_COUNT
} swarm_assign_solver;

typedef struct swarm_assign_options {
    swarm_assign_method method; /* AUTO: exact below a size limit, else fast */
    double time_limit_s;        /* exact solver limit (default 10) */
    swarm_assign_solver solver; /* MIP back end for the exact method (default AUTO) */
} swarm_assign_options;

typedef struct swarm_assign_result {
    swarm_assign_status status;
    int32_t m, r;
    int32_t *assign;            /* [m*r]: SLM indices of subtask k at [k*r .. k*r+r); NULL if infeasible */
    double energy, time, compatibility, objective;
    double bound;               /* best proven lower bound of the objective (or LP bound); -inf if none */
    char reason[256];           /* for INFEASIBLE: which constraint fails and by how much */
    const char *method;         /* static string: "cbc", "glpk", "greedy+local", "presolve"
                                 * (infeasible before solving), "greedy+local, cbc fallback" */
    double solve_ms;            /* wall time of the solve */
} swarm_assign_result;

SWARM_API swarm_assign_options swarm_assign_options_default(void);

/* Solves p. On SWARM_OK *out holds a result (release with
 * swarm_assign_result_destroy); this includes a well-formed but infeasible
 * problem (status INFEASIBLE, reason filled). SWARM_EINVAL (d says why) for a
 * malformed problem: bad sizes, NULL required arrays, negative or NaN values. */
SWARM_API swarm_err swarm_assign_solve(const swarm_assign_problem *p,
                                       const swarm_assign_options *o,
                                       swarm_assign_result **out, swarm_diag *d);
SWARM_API void swarm_assign_result_destroy(swarm_assign_result *r);

/* Pareto front (energy vs time): non-dominated points sorted by increasing
 * time (decreasing energy). *out is an array of *out_n results owned by the
 * caller: destroy each with swarm_assign_result_destroy, then swarm_free the
 * array. An infeasible problem gives one INFEASIBLE result. */
SWARM_API swarm_err swarm_assign_pareto(const swarm_assign_problem *p,
                                        const swarm_assign_options *o,
                                        swarm_assign_result ***out, size_t *out_n,
                                        swarm_diag *d);

/* Objective value of a given assignment ([m*r] indices) under p, and whether
 * it satisfies every constraint (for tests and the runtime's re-checks). */
SWARM_API swarm_err swarm_assign_evaluate(const swarm_assign_problem *p, const int32_t *assign,
                                          double *out_energy, double *out_time,
                                          double *out_compat, bool *out_feasible);

/* JSON problem file format of `swarm assign` (see docs/assign.md). The input
 * owns every array the problem points to. */
typedef struct swarm_assign_input swarm_assign_input;
SWARM_API swarm_err swarm_assign_input_parse(const char *json, size_t len,
                                             swarm_assign_input **out, swarm_diag *d);
SWARM_API const swarm_assign_problem *swarm_assign_input_problem(const swarm_assign_input *in);
SWARM_API void swarm_assign_input_destroy(swarm_assign_input *in);

/* "optimal", "feasible", "infeasible"; never NULL. */
SWARM_API const char *swarm_assign_status_name(swarm_assign_status s);

/* Option names: methods "auto", "exact", "fast"; solvers "auto", "cbc",
 * "glpk". _name never returns NULL ("unknown" out of range); _from_name
 * returns false (and leaves *out) for any other word. Thread-safe. */
SWARM_API const char *swarm_assign_method_name(swarm_assign_method m);
SWARM_API bool swarm_assign_method_from_name(const char *name, swarm_assign_method *out);
SWARM_API const char *swarm_assign_solver_name(swarm_assign_solver s);
SWARM_API bool swarm_assign_solver_from_name(const char *name, swarm_assign_solver *out);

#ifdef __cplusplus
}
#endif
#endif /* SWARM_ASSIGN_H */
