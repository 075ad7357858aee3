/*
 * result.c: what a run hands back: destroying it, its JSON form (result,
 * subtasks, trace, stats) and the TESTPLAN A checker that classifies every
 * subtask as done-once, duplicate-executed, double-committed, lost or stuck.
 */
#include <jansson.h>
#include <math.h>
#include <string.h>

#include "runtime_int.h"

const char *swarm_outcome_name(swarm_outcome o)
{
    static const char *const names[SWARM_OUTCOME_COUNT] = {
        "done", "failed", "discarded-late", "canceled", "reassigned", "running", "pending"};
    return (unsigned)o < SWARM_OUTCOME_COUNT ? names[o] : "?";
}

void swarm_run_result_destroy(swarm_run_result *r)
{
    if (r == NULL) return;
    for (size_t k = 0; r->subtasks && k < r->n_subtasks; k++) {
        sw_free((char *)r->subtasks[k].name);
        sw_free(r->subtasks[k].text);
    }
    sw_free(r->subtasks);
    sw_free(r->trace);
    sw_free(r->text);
    sw_free(r->winner);
    sw_free(r->task_name);
    sw_free(r->decomp);
    sw_free(r);
}

static json_t *num(double v) { return isfinite(v) ? json_real(v) : json_null(); }

swarm_err swarm_run_result_json(const swarm_run_result *r, char **out)
{
    json_t *o = json_object();
    if (o == NULL) return SWARM_ENOMEM;
    json_object_set_new(o, "task", json_string(r->task_name ? r->task_name : ""));
    json_object_set_new(o, "decomposition", json_string(r->decomp ? r->decomp : ""));
    json_object_set_new(o, "status", json_string(r->status == SWARM_OK ? "ok" : "failed"));
    if (r->status != SWARM_OK) json_object_set_new(o, "error", json_string(r->error));
    if (r->is_text) json_object_set_new(o, "text", json_string(r->text ? r->text : ""));
    else json_object_set_new(o, "value", num(r->value));
    json_object_set_new(o, "decision", r->decision ? json_string(r->decision) : json_null());
    json_object_set_new(o, "winner", r->winner ? json_string(r->winner) : json_null());
    json_object_set_new(o, "seed", json_integer((json_int_t)(r->seed & 0x7FFFFFFFFFFFFFFFull)));
    json_t *subs = json_array();
    for (size_t k = 0; k < r->n_subtasks; k++) {
        const swarm_subtask_result *s = &r->subtasks[k];
        json_t *j = json_object();
        json_object_set_new(j, "id", json_integer(s->id));
        json_object_set_new(j, "name", json_string(s->name ? s->name : ""));
        json_object_set_new(j, "state", json_string(swarm_outcome_name(s->state)));
        json_object_set_new(j, "output", s->text ? json_string(s->text) : json_null());
        json_object_set_new(j, "value", num(s->value));
        json_object_set_new(j, "confidence", num(s->confidence));
        json_object_set_new(j, "node", json_integer(s->node));
        json_object_set_new(j, "hlc", json_integer((json_int_t)(s->hlc & 0x7FFFFFFFFFFFFFFFull)));
        json_array_append_new(subs, j);
    }
    json_object_set_new(o, "subtasks", subs);
    json_t *tr = json_array();
    for (size_t q = 0; q < r->n_trace; q++) {
        const swarm_trace_row *t = &r->trace[q];
        json_t *j = json_object();
        json_object_set_new(j, "subtask", json_integer(t->subtask));
        json_object_set_new(j, "name", json_string(t->subtask_name ? t->subtask_name : ""));
        json_object_set_new(j, "node", json_string(t->node_name ? t->node_name : ""));
        json_object_set_new(j, "epoch", json_integer(t->epoch));
        json_object_set_new(j, "retry", json_integer(t->retry));
        json_object_set_new(j, "hedge", json_boolean(t->hedge));
        json_object_set_new(j, "start_ms", num(t->start_ms));
        json_object_set_new(j, "end_ms", t->end_ms >= 0 ? num(t->end_ms) : json_null());
        json_object_set_new(j, "tokens", json_integer(t->tokens));
        json_object_set_new(j, "energy_j", num(t->energy_j));
        json_object_set_new(j, "hlc", json_integer((json_int_t)(t->hlc & 0x7FFFFFFFFFFFFFFFull)));
        json_object_set_new(j, "outcome", json_string(swarm_outcome_name(t->outcome)));
        json_object_set_new(j, "note", json_string(t->note ? t->note : ""));
        json_array_append_new(tr, j);
    }
    json_object_set_new(o, "trace", tr);
    swarm_run_check c;
    swarm_run_check_trace(r, &c);
    json_t *st = json_object();
    json_object_set_new(st, "wall_ms", num(r->wall_ms));
    json_object_set_new(st, "energy_j", num(r->energy_j));
    json_object_set_new(st, "tokens", json_integer(r->tokens));
    json_object_set_new(st, "reassigned", json_integer(r->n_reassigned));
    json_object_set_new(st, "retries", json_integer(r->n_retries));
    json_object_set_new(st, "hedges", json_integer(r->n_hedges));
    json_object_set_new(st, "discarded_late", json_integer(r->n_discarded));
    json_object_set_new(st, "canceled", json_integer(r->n_canceled));
    json_object_set_new(st, "ejections", json_integer(r->n_ejections));
    json_object_set_new(st, "readmitted", json_integer(r->n_readmitted));
    json_object_set_new(st, "convicted", json_integer(r->n_convicted));
    json_object_set_new(st, "sum_c", json_real(r->sum_c));
    json_object_set_new(st, "p_min", json_real(r->p_min));
    json_t *ch = json_object();
    json_object_set_new(ch, "done_once", json_integer((json_int_t)c.done_once));
    json_object_set_new(ch, "duplicate_executed", json_integer((json_int_t)c.duplicate_executed));
    json_object_set_new(ch, "double_committed", json_integer((json_int_t)c.double_committed));
    json_object_set_new(ch, "lost", json_integer((json_int_t)c.lost));
    json_object_set_new(ch, "stuck", json_integer((json_int_t)c.stuck));
    json_object_set_new(ch, "failed", json_integer((json_int_t)c.failed));
    json_object_set_new(ch, "canceled", json_integer((json_int_t)c.canceled));
    json_object_set_new(st, "check", ch);
    json_object_set_new(o, "stats", st);
    char *s = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(12));
    json_decref(o);
    if (s == NULL) return SWARM_ENOMEM;
    *out = sw_strdup(s);
    free(s);
    return *out ? SWARM_OK : SWARM_ENOMEM;
}

/* The trace is the ground truth: committed = rows with outcome DONE;
 * executed = rows that produced a result (DONE or DISCARDED_LATE). */
void swarm_run_check_trace(const swarm_run_result *r, swarm_run_check *out)
{
    memset(out, 0, sizeof(*out));
    size_t m = r->n_subtasks;
    for (size_t k = 0; k < m; k++) {
        size_t committed = 0, executed = 0, running = 0;
        for (size_t q = 0; q < r->n_trace; q++) {
            const swarm_trace_row *t = &r->trace[q];
            if ((size_t)t->subtask != k) continue;
            if (t->outcome == SWARM_OUTCOME_DONE) committed++;
            if (t->outcome == SWARM_OUTCOME_DONE || t->outcome == SWARM_OUTCOME_DISCARDED_LATE)
                executed++;
            if (t->outcome == SWARM_OUTCOME_RUNNING) running++;
        }
        swarm_outcome st = r->subtasks[k].state;
        if (committed > 1) out->double_committed++;
        else if (running > 0 && st != SWARM_OUTCOME_DONE) out->stuck++;
        else if (st == SWARM_OUTCOME_DONE && committed == 1)
            *(executed > 1 ? &out->duplicate_executed : &out->done_once) += 1;
        else if (st == SWARM_OUTCOME_FAILED) out->failed++;
        else if (st == SWARM_OUTCOME_CANCELED) out->canceled++;
        else out->lost++;
    }
}
