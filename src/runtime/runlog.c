/*
 * runlog.c: fan-out of the run's state transitions to its sinks (runlog.h).
 * The rules that are the same for every sink live here once: nothing is
 * written after a failure, and a replayed subtask is not reported twice.
 */
#include "runlog.h"

swarm_err sw_runlog_add_sink(sw_runlog *L, const sw_runlog_sink_ops *ops, void *self)
{
    if (L->n_sinks == SW_RUNLOG_MAX_SINKS) return SWARM_EFULL;
    L->sinks[L->n_sinks].ops = ops;
    L->sinks[L->n_sinks].self = self;
    L->sinks[L->n_sinks].task = -1;
    L->n_sinks++;
    return SWARM_OK;
}

swarm_err sw_runlog_task_begin(sw_runlog *L, const char *name, const char *digest, size_t n,
                               const char *const *sub_names, bool resume, sw_journal_sub *subs,
                               bool *out_resumed)
{
    *out_resumed = false;
    size_t from = L->n_sinks; /* the sink the task was resumed from */
    for (size_t i = 0; resume && i < L->n_sinks && from == L->n_sinks; i++) {
        if (L->sinks[i].ops->task_resume == NULL) continue;
        swarm_err rc = L->sinks[i].ops->task_resume(L->sinks[i].self, name, digest, n,
                                                     &L->sinks[i].task, subs);
        if (rc == SWARM_OK) from = i;
        else if (rc != SWARM_ENOTFOUND) return rc;
    }
    for (size_t i = 0; i < L->n_sinks; i++) {
        if (i == from) continue;
        swarm_err rc = L->sinks[i].ops->task_begin(L->sinks[i].self, name, digest, n, sub_names,
                                                   &L->sinks[i].task);
        if (rc != SWARM_OK) return rc;
    }
    *out_resumed = from < L->n_sinks;
    return SWARM_OK;
}

/* Whether a subtask transition is written: not after a failure, and not
 * for a subtask the record already holds as finished while replaying. */
static bool writes(const sw_runlog *L, int32_t sub)
{
    if (L->broken || L->n_sinks == 0) return false;
    return L->replay == NULL || L->replay[sub].state == SW_J_OPEN;
}

void sw_runlog_sub_assigned(sw_runlog *L, int32_t sub, uint32_t epoch, int32_t node)
{
    if (!writes(L, sub)) return;
    for (size_t i = 0; i < L->n_sinks; i++)
        L->sinks[i].ops->sub_assigned(L->sinks[i].self, L->sinks[i].task, sub, epoch, node);
}

void sw_runlog_sub_done(sw_runlog *L, int32_t sub, uint32_t epoch, int32_t node,
                        const char *output, double value, double confidence)
{
    if (!writes(L, sub)) return;
    for (size_t i = 0; i < L->n_sinks; i++)
        L->sinks[i].ops->sub_done(L->sinks[i].self, L->sinks[i].task, sub, epoch, node, output,
                                  value, confidence);
}

void sw_runlog_sub_failed(sw_runlog *L, int32_t sub, uint32_t epoch, int32_t node,
                          const char *why)
{
    if (!writes(L, sub)) return;
    for (size_t i = 0; i < L->n_sinks; i++)
        L->sinks[i].ops->sub_failed(L->sinks[i].self, L->sinks[i].task, sub, epoch, node, why);
}

void sw_runlog_sub_canceled(sw_runlog *L, int32_t sub, uint32_t epoch, int32_t node,
                            const char *why)
{
    if (!writes(L, sub)) return;
    for (size_t i = 0; i < L->n_sinks; i++)
        L->sinks[i].ops->sub_canceled(L->sinks[i].self, L->sinks[i].task, sub, epoch, node, why);
}

void sw_runlog_task_end(sw_runlog *L, bool ok, const char *result)
{
    if (L->broken) return;
    for (size_t i = 0; i < L->n_sinks; i++)
        L->sinks[i].ops->task_end(L->sinks[i].self, L->sinks[i].task, ok, result ? result : "");
}

swarm_err sw_runlog_commit(sw_runlog *L)
{
    if (L->broken) return SWARM_ESYS;
    for (size_t i = 0; i < L->n_sinks; i++) {
        swarm_err rc = L->sinks[i].ops->commit(L->sinks[i].self);
        if (rc != SWARM_OK) {
            L->broken = true;
            return rc;
        }
    }
    return SWARM_OK;
}
