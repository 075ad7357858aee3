/*
 * runlog.h: the run's record as one interface. Every state transition of a
 * task and of its subtasks is reported through one function here, and the
 * scheduler calls each from exactly one place:
 *
 *   task:     begin (or resume) -> end
 *   subtask:  pending -> assigned(epoch) -> done | failed | canceled
 *             (assigned again with a higher epoch on reassignment or retry)
 *   commit:   once per coordinator loop turn (the durability point)
 *
 * What listens is a list of sinks (sw_runlog_sink_ops). The SQLite journal
 * is one (journal.c); the signed ledger of a later issue is added as
 * another sink, without touching the scheduler. Not thread-safe: one run's
 * coordinator owns its runlog. Never installed.
 */
#ifndef SW_RUNLOG_H
#define SW_RUNLOG_H

#include <stdbool.h>
#include <stdint.h>

#include "runtime_int.h"

/* The most sinks a run reports to (journal, ledger, and room to spare). */
#define SW_RUNLOG_MAX_SINKS 4

typedef struct sw_runlog_sink_ops {
    /* A new task with n subtasks (all pending); *out_task: the sink's id. */
    swarm_err (*task_begin)(void *self, const char *name, const char *digest, size_t n,
                            const char *const *sub_names, int64_t *out_task);
    /* The interrupted task with this name and digest: its id and what it
     * holds per subtask; SWARM_ENOTFOUND when there is none. Optional. */
    swarm_err (*task_resume)(void *self, const char *name, const char *digest, size_t n,
                             int64_t *out_task, sw_journal_sub *subs);
    void (*sub_assigned)(void *self, int64_t task, int32_t sub, uint32_t epoch, int32_t node);
    void (*sub_done)(void *self, int64_t task, int32_t sub, uint32_t epoch, int32_t node,
                     const char *output, double value, double confidence);
    void (*sub_failed)(void *self, int64_t task, int32_t sub, uint32_t epoch, int32_t node,
                       const char *why);
    void (*sub_canceled)(void *self, int64_t task, int32_t sub, uint32_t epoch, int32_t node,
                         const char *why);
    void (*task_end)(void *self, int64_t task, bool ok, const char *result);
    /* Makes everything reported so far durable; the first failure since
     * the last commit is returned. */
    swarm_err (*commit)(void *self);
} sw_runlog_sink_ops;

typedef struct sw_runlog {
    struct {
        const sw_runlog_sink_ops *ops;
        void *self;
        int64_t task; /* the sink's id of the current task */
    } sinks[SW_RUNLOG_MAX_SINKS];
    size_t n_sinks;
    bool broken;                    /* a sink failed: nothing more is written */
    const sw_journal_sub *replay;   /* while replaying: subtasks the record holds as
                                       finished are not reported again */
} sw_runlog;

/* Adds a sink; SWARM_EFULL beyond SW_RUNLOG_MAX_SINKS. */
swarm_err sw_runlog_add_sink(sw_runlog *L, const sw_runlog_sink_ops *ops, void *self);
/* True when some sink listens. */
static inline bool sw_runlog_active(const sw_runlog *L) { return L->n_sinks > 0; }

/* Task begin: with resume, the first sink that can resume finds the
 * interrupted task and fills subs (n entries); *out_resumed says whether it
 * did. Otherwise (or when there is none) every sink records a new task. */
swarm_err sw_runlog_task_begin(sw_runlog *L, const char *name, const char *digest, size_t n,
                               const char *const *sub_names, bool resume, sw_journal_sub *subs,
                               bool *out_resumed);
void sw_runlog_sub_assigned(sw_runlog *L, int32_t sub, uint32_t epoch, int32_t node);
void sw_runlog_sub_done(sw_runlog *L, int32_t sub, uint32_t epoch, int32_t node,
                        const char *output, double value, double confidence);
void sw_runlog_sub_failed(sw_runlog *L, int32_t sub, uint32_t epoch, int32_t node,
                          const char *why);
void sw_runlog_sub_canceled(sw_runlog *L, int32_t sub, uint32_t epoch, int32_t node,
                            const char *why);
void sw_runlog_task_end(sw_runlog *L, bool ok, const char *result);
/* Commits every sink; on the first failure the runlog is broken (no more
 * writes) and the error returned: the caller fails the open work visibly. */
swarm_err sw_runlog_commit(sw_runlog *L);

/* The SQLite journal as a sink (journal.c). */
extern const sw_runlog_sink_ops sw_journal_sink_ops;

#endif /* SW_RUNLOG_H */
