/*
 * assign_int.h: internals of the assignment optimizer shared by its files:
 * a normalised view of a problem (weights, caps, eligibility, per-pair data
 * accessors), the MIP back ends, the fast heuristic and result helpers.
 */
#ifndef SW_ASSIGN_INT_H
#define SW_ASSIGN_INT_H

#include <math.h>
#include <stdbool.h>
#include <stdint.h>

#include "../core/core_int.h"
#include "swarm/assign.h"

#define SW_ASSIGN_AUTO_EXACT_PAIRS SWARM_ASSIGN_AUTO_EXACT_PAIRS
/* Below this much time left after the fast method the MIP is not started. */
#define SW_ASSIGN_MIN_MIP_S 0.02

/*
 * One solve's view of a problem: the objective is we*energy + wt*time where
 * time is a sum or a makespan, optionally with caps on time and on energy
 * (the epsilon-constraint and the lexicographic second stage of a Pareto
 * point). A cap <= 0 is off... except that a cap is signalled by has_*.
 */
typedef struct sw_asg {
    const swarm_assign_problem *p;
    int32_t n, m, r;
    double we, wt;
    bool makespan;
    bool has_time_cap;
    double time_cap;   /* sum time (or every SLM's load for makespan) <= time_cap */
    bool has_energy_cap;
    double energy_cap; /* energy <= energy_cap */
    bool presolve_late; /* fast method: the presolve has not run; run it at the first failure */
} sw_asg;

static inline double sw_asg_E(const sw_asg *a, int32_t i, int32_t k)
{
    return a->p->E_ik ? a->p->E_ik[(size_t)i * (size_t)a->m + (size_t)k] : a->p->E[i];
}
static inline double sw_asg_T(const sw_asg *a, int32_t i, int32_t k)
{
    return a->p->T_ik ? a->p->T_ik[(size_t)i * (size_t)a->m + (size_t)k] : a->p->T[i];
}
static inline double sw_asg_C(const sw_asg *a, int32_t i, int32_t k)
{
    return a->p->C[(size_t)i * (size_t)a->m + (size_t)k];
}
static inline double sw_asg_cu(const sw_asg *a, int32_t i, int32_t k)
{
    return a->p->c ? a->p->c[(size_t)i * (size_t)a->m + (size_t)k] : 1.0;
}
static inline int32_t sw_asg_zone(const sw_asg *a, int32_t i)
{
    return a->p->zone ? a->p->zone[i] : i;
}
static inline bool sw_asg_zones_on(const sw_asg *a)
{
    return a->p->distinct_zones && a->p->zone != NULL && a->r > 1;
}
/* Whether SLM i may take subtask k at all (alive, compatible enough, fits). */
static inline bool sw_asg_eligible(const sw_asg *a, int32_t i, int32_t k)
{
    if (a->p->available && !a->p->available[i]) return false;
    if (a->p->c_min > 0 && sw_asg_C(a, i, k) < a->p->c_min) return false;
    if (sw_asg_cu(a, i, k) > a->p->B[i] + 1e-9) return false;
    if (a->makespan && a->has_time_cap && sw_asg_T(a, i, k) > a->time_cap + 1e-9) return false;
    return true;
}

/* Tolerance for constraint checks on solutions (solver round-off). */
#define SW_ASG_TOL 1e-6
/* Tighter, relative, for the time and energy caps: the Pareto walk moves the
 * cap just below the last point's time (by 1e-4 of the span) and a looser
 * check would let the last point through again. */
#define SW_ASG_CAP_TOL 1e-9

/* Checks a problem for malformed input (EINVAL + message). */
swarm_err sw_asg_validate(const swarm_assign_problem *p, swarm_diag *d);
/* Presolve + method dispatch on a validated view (used by solve and pareto). */
swarm_err sw_asg_solve_view(const sw_asg *a, const swarm_assign_options *o,
                            swarm_assign_result **out, swarm_diag *d);

/* View with the problem's own objective (weights defaults, eps_time cap). */
void sw_asg_init(sw_asg *a, const swarm_assign_problem *p);
/* Energy, time (sum or makespan per a->makespan), compatibility of an
 * assignment [m*r]; *feasible checks every constraint incl. a's caps. */
void sw_asg_eval(const sw_asg *a, const int32_t *assign, double *energy, double *time,
                 double *compat, bool *feasible);
double sw_asg_objective(const sw_asg *a, double energy, double time);

/* With the fast method above this many pairs the presolve runs only when the
 * heuristic found nothing (a feasible assignment settles it). */
#define SW_ASG_PRESOLVE_LATE_PAIRS 2e6
/* Checks necessary conditions; on a certain infeasibility writes a reason and
 * returns true. */
bool sw_asg_presolve_infeasible(const sw_asg *a, char *reason, size_t cap);

/* Allocates a result with assign[m*r] (filled with -1). NULL on ENOMEM. */
swarm_assign_result *sw_asg_result_new(const sw_asg *a);
/* Fills energy/time/compat/objective/status from res->assign. */
void sw_asg_result_fill(const sw_asg *a, swarm_assign_result *res);

/*
 * Fast heuristic. On return *res has status FEASIBLE with an assignment, or
 * INFEASIBLE when none was found (reason says whether proven). bound is a
 * Lagrangian lower bound of the objective (or -inf).
 */
swarm_err sw_asg_fast(const sw_asg *a, swarm_assign_result *res);

/*
 * Exact MIP (CBC preferred, GLPK otherwise). warm: an optional feasible
 * assignment [m*r] given to the solver as a start. Returns EUNSUPPORTED when
 * built without any MIP solver.
 */
swarm_err sw_asg_mip(const sw_asg *a, swarm_assign_solver solver, double time_limit_s,
                     const int32_t *warm, swarm_assign_result *res);
/* LP relaxation bound of the objective (GLPK simplex, or CBC when no GLPK).
 * *out_bound = +inf when the relaxation is infeasible. */
swarm_err sw_asg_lp_bound(const sw_asg *a, double time_limit_s, double *out_bound);

#endif /* SW_ASSIGN_INT_H */
