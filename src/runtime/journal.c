/*
 * journal.c: the embedded SQLite journal: tasks and every subtask state
 * transition (pending -> assigned(epoch) -> done | failed | canceled), written
 * in one transaction per coordinator loop turn, and the audit that replays a
 * journal and checks every transition is legal (TESTPLAN A9).
 */
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "runlog.h"
#include "runtime_int.h"

struct sw_journal {
    sqlite3 *db;
    sqlite3_stmt *ins_tr, *upd_sub;
    bool in_tx;
    swarm_err err; /* first write error, reported by flush */
};

static const char *schema =
    "PRAGMA journal_mode=WAL;"
    "PRAGMA synchronous=FULL;"
    "CREATE TABLE IF NOT EXISTS task(id INTEGER PRIMARY KEY, name TEXT, digest TEXT,"
    " state TEXT NOT NULL, n_subtasks INTEGER, started_ms INTEGER, finished_ms INTEGER,"
    " result TEXT);"
    "CREATE TABLE IF NOT EXISTS subtask(task_id INTEGER, sub_id INTEGER, name TEXT,"
    " state TEXT NOT NULL, epoch INTEGER, node INTEGER, output TEXT, value REAL,"
    " confidence REAL, PRIMARY KEY(task_id, sub_id));"
    "CREATE TABLE IF NOT EXISTS transition(seq INTEGER PRIMARY KEY, task_id INTEGER,"
    " sub_id INTEGER, to_state TEXT NOT NULL, epoch INTEGER, node INTEGER, t_ms INTEGER);";

swarm_err sw_journal_open(const char *path, sw_journal **out, swarm_diag *d)
{
    sw_journal *j = sw_calloc(1, sizeof(*j));
    if (j == NULL) return SWARM_ENOMEM;
    char *err = NULL;
    int src = SQLITE_OK;
    if ((src = sqlite3_open(path, &j->db)) != SQLITE_OK ||
        (src = sqlite3_exec(j->db, schema, NULL, NULL, &err)) != SQLITE_OK ||
        sqlite3_prepare_v2(j->db,
                           "INSERT INTO transition(task_id, sub_id, to_state, epoch, node, t_ms)"
                           " VALUES(?,?,?,?,?,?)",
                           -1, &j->ins_tr, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(j->db,
                           "UPDATE subtask SET state=?, epoch=?, node=?, output=COALESCE(?, output),"
                           " value=COALESCE(?, value), confidence=COALESCE(?, confidence)"
                           " WHERE task_id=? AND sub_id=?",
                           -1, &j->upd_sub, NULL) != SQLITE_OK) {
        /* A path that cannot be opened or is not SQLite is the caller's
         * input error; anything else (I/O, locking) is a runtime failure. */
        swarm_err rc = (src & 0xff) == SQLITE_CANTOPEN || (src & 0xff) == SQLITE_NOTADB
                           ? SWARM_EINVAL
                           : SWARM_ESYS;
        sw_diag_set(d, rc, "journal %s: %s", path, err ? err : sqlite3_errmsg(j->db));
        sqlite3_free(err);
        sw_journal_close(j);
        return rc;
    }
    *out = j;
    return SWARM_OK;
}

void sw_journal_close(sw_journal *j)
{
    if (j == NULL) return;
    if (j->in_tx) sqlite3_exec(j->db, "COMMIT", NULL, NULL, NULL);
    sqlite3_finalize(j->ins_tr);
    sqlite3_finalize(j->upd_sub);
    sqlite3_close(j->db);
    sw_free(j);
}

static void begin(sw_journal *j)
{
    if (!j->in_tx && sqlite3_exec(j->db, "BEGIN", NULL, NULL, NULL) == SQLITE_OK) j->in_tx = true;
}

swarm_err sw_journal_task_begin(sw_journal *j, const char *name, const char *digest,
                                size_t n_subtasks, const char *const *sub_names,
                                int64_t *out_task_id)
{
    begin(j);
    sqlite3_stmt *st = NULL;
    swarm_err rc = SWARM_ESYS;
    if (sqlite3_prepare_v2(j->db,
                           "INSERT INTO task(name, digest, state, n_subtasks, started_ms)"
                           " VALUES(?,?,'running',?,?)",
                           -1, &st, NULL) != SQLITE_OK)
        goto out;
    sqlite3_bind_text(st, 1, name ? name : "", -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, digest ? digest : "", -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 3, (sqlite3_int64)n_subtasks);
    sqlite3_bind_int64(st, 4, (sqlite3_int64)sw_wall_ms());
    if (sqlite3_step(st) != SQLITE_DONE) goto out;
    sqlite3_finalize(st);
    st = NULL;
    int64_t id = sqlite3_last_insert_rowid(j->db);
    if (sqlite3_prepare_v2(j->db,
                           "INSERT INTO subtask(task_id, sub_id, name, state, epoch, node)"
                           " VALUES(?,?,?,'pending',0,-1)",
                           -1, &st, NULL) != SQLITE_OK)
        goto out;
    for (size_t i = 0; i < n_subtasks; i++) {
        sqlite3_reset(st);
        sqlite3_bind_int64(st, 1, id);
        sqlite3_bind_int64(st, 2, (sqlite3_int64)i);
        sqlite3_bind_text(st, 3, sub_names ? sub_names[i] : "", -1, SQLITE_TRANSIENT);
        if (sqlite3_step(st) != SQLITE_DONE) goto out;
    }
    *out_task_id = id;
    rc = SWARM_OK;
out:
    sqlite3_finalize(st);
    if (rc) j->err = rc;
    return rc;
}

void sw_journal_transition(sw_journal *j, int64_t task, int32_t sub, const char *to,
                           uint32_t epoch, int32_t node, const char *output, double value,
                           double confidence)
{
    begin(j);
    sqlite3_stmt *a = j->ins_tr, *b = j->upd_sub;
    sqlite3_reset(a);
    sqlite3_bind_int64(a, 1, task);
    sqlite3_bind_int(a, 2, sub);
    sqlite3_bind_text(a, 3, to, -1, SQLITE_STATIC);
    sqlite3_bind_int64(a, 4, epoch);
    sqlite3_bind_int(a, 5, node);
    sqlite3_bind_int64(a, 6, (sqlite3_int64)sw_wall_ms());
    if (sqlite3_step(a) != SQLITE_DONE) j->err = SWARM_ESYS;
    sqlite3_reset(b);
    sqlite3_bind_text(b, 1, to, -1, SQLITE_STATIC);
    sqlite3_bind_int64(b, 2, epoch);
    sqlite3_bind_int(b, 3, node);
    if (output) {
        sqlite3_bind_text(b, 4, output, -1, SQLITE_TRANSIENT);
        sqlite3_bind_double(b, 5, value);
        sqlite3_bind_double(b, 6, confidence);
    } else {
        sqlite3_bind_null(b, 4);
        sqlite3_bind_null(b, 5);
        sqlite3_bind_null(b, 6);
    }
    sqlite3_bind_int64(b, 7, task);
    sqlite3_bind_int(b, 8, sub);
    if (sqlite3_step(b) != SQLITE_DONE) j->err = SWARM_ESYS;
}

void sw_journal_task_end(sw_journal *j, int64_t task, const char *state, const char *result)
{
    begin(j);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(j->db, "UPDATE task SET state=?, finished_ms=?, result=? WHERE id=?",
                           -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, state, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(st, 2, (sqlite3_int64)sw_wall_ms());
        sqlite3_bind_text(st, 3, result ? result : "", -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(st, 4, task);
        if (sqlite3_step(st) != SQLITE_DONE) j->err = SWARM_ESYS;
    } else {
        j->err = SWARM_ESYS;
    }
    sqlite3_finalize(st);
}

swarm_err sw_journal_flush(sw_journal *j)
{
    if (j->in_tx) {
        if (sqlite3_exec(j->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) j->err = SWARM_ESYS;
        j->in_tx = false;
    }
    swarm_err rc = j->err;
    j->err = SWARM_OK;
    return rc;
}

swarm_err sw_journal_resume(sw_journal *j, const char *name, const char *digest, size_t n,
                            int64_t *out_task, sw_journal_sub *subs)
{
    sqlite3_stmt *st = NULL;
    swarm_err rc = SWARM_ENOTFOUND;
    int64_t id = -1;
    if (sqlite3_prepare_v2(j->db,
                           "SELECT id FROM task WHERE name=? AND digest=? AND n_subtasks=? AND"
                           " state='running' ORDER BY id DESC LIMIT 1",
                           -1, &st, NULL) != SQLITE_OK)
        return SWARM_ESYS;
    sqlite3_bind_text(st, 1, name ? name : "", -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, digest ? digest : "", -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 3, (sqlite3_int64)n);
    if (sqlite3_step(st) == SQLITE_ROW) id = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    st = NULL;
    if (id < 0) return SWARM_ENOTFOUND;
    /* epoch: the highest ever assigned (from the transitions), so new
     * dispatches continue above it and the history stays legal */
    if (sqlite3_prepare_v2(j->db,
                           "SELECT s.sub_id, s.state, s.node, s.output, (SELECT max(epoch) FROM"
                           " transition t WHERE t.task_id=s.task_id AND t.sub_id=s.sub_id),"
                           " s.value, s.confidence FROM subtask s WHERE s.task_id=?",
                           -1, &st, NULL) != SQLITE_OK)
        return SWARM_ESYS;
    sqlite3_bind_int64(st, 1, id);
    rc = SWARM_OK;
    while (sqlite3_step(st) == SQLITE_ROW) {
        int64_t k = sqlite3_column_int64(st, 0);
        if (k < 0 || (size_t)k >= n) continue;
        sw_journal_sub *o = &subs[k];
        const char *state = (const char *)sqlite3_column_text(st, 1);
        o->node = sqlite3_column_int(st, 2);
        o->epoch = (uint32_t)sqlite3_column_int64(st, 4);
        o->state = SW_J_OPEN;
        if (state && strcmp(state, "done") == 0) {
            const char *out = (const char *)sqlite3_column_text(st, 3);
            o->output = sw_strdup(out ? out : "");
            if (o->output == NULL) rc = SWARM_ENOMEM;
            o->value = sqlite3_column_double(st, 5);
            o->confidence = sqlite3_column_double(st, 6);
            o->state = SW_J_DONE;
        } else if (state && strcmp(state, "failed") == 0) {
            o->state = SW_J_FAILED;
        } else if (state && strcmp(state, "canceled") == 0) {
            o->state = SW_J_CANCELED;
        }
    }
    sqlite3_finalize(st);
    if (rc == SWARM_OK) *out_task = id;
    return rc;
}

/* ------------------------------------------------------------------------ */
/* the journal as a runlog sink (runlog.h): one adapter per transition */

static swarm_err js_task_begin(void *self, const char *name, const char *digest, size_t n,
                               const char *const *sub_names, int64_t *out_task)
{
    return sw_journal_task_begin(self, name, digest, n, sub_names, out_task);
}

static swarm_err js_task_resume(void *self, const char *name, const char *digest, size_t n,
                                int64_t *out_task, sw_journal_sub *subs)
{
    return sw_journal_resume(self, name, digest, n, out_task, subs);
}

static void js_assigned(void *self, int64_t task, int32_t sub, uint32_t epoch, int32_t node)
{
    sw_journal_transition(self, task, sub, "assigned", epoch, node, NULL, 0, 0);
}

static void js_done(void *self, int64_t task, int32_t sub, uint32_t epoch, int32_t node,
                    const char *output, double value, double confidence)
{
    sw_journal_transition(self, task, sub, "done", epoch, node, output, value, confidence);
}

/* The journal keeps no reason for failed and canceled (the trace does). */
static void js_failed(void *self, int64_t task, int32_t sub, uint32_t epoch, int32_t node,
                      const char *why)
{
    (void)why;
    sw_journal_transition(self, task, sub, "failed", epoch, node, NULL, 0, 0);
}

static void js_canceled(void *self, int64_t task, int32_t sub, uint32_t epoch, int32_t node,
                        const char *why)
{
    (void)why;
    sw_journal_transition(self, task, sub, "canceled", epoch, node, NULL, 0, 0);
}

static void js_task_end(void *self, int64_t task, bool ok, const char *result)
{
    sw_journal_task_end(self, task, ok ? "done" : "failed", result);
}

static swarm_err js_commit(void *self) { return sw_journal_flush(self); }

const sw_runlog_sink_ops sw_journal_sink_ops = {
    .task_begin = js_task_begin,
    .task_resume = js_task_resume,
    .sub_assigned = js_assigned,
    .sub_done = js_done,
    .sub_failed = js_failed,
    .sub_canceled = js_canceled,
    .task_end = js_task_end,
    .commit = js_commit,
};

/* ------------------------------------------------------------------------ */
/* audit: replay transitions per (task, subtask) in sequence order */

enum { ST_PENDING, ST_ASSIGNED, ST_DONE, ST_FAILED, ST_CANCELED, ST_BAD };

/* The journal's word for a state, as the audit's messages print it. */
static const char *state_name(int s)
{
    static const char *const names[] = {"pending", "assigned", "done", "failed", "canceled"};
    return s >= ST_PENDING && s < ST_BAD ? names[s] : "unknown";
}

static int state_of(const char *s)
{
    if (strcmp(s, "pending") == 0) return ST_PENDING;
    if (strcmp(s, "assigned") == 0) return ST_ASSIGNED;
    if (strcmp(s, "done") == 0) return ST_DONE;
    if (strcmp(s, "failed") == 0) return ST_FAILED;
    if (strcmp(s, "canceled") == 0) return ST_CANCELED;
    return ST_BAD;
}

swarm_err swarm_journal_audit(const char *path, int64_t *out_tasks, int64_t *out_transitions,
                              swarm_diag *d)
{
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        swarm_err rc = sw_diag_set(d, SWARM_ESYS, "%s: %s", path, db ? sqlite3_errmsg(db) : "open");
        sqlite3_close(db);
        return rc;
    }
    swarm_err rc = SWARM_OK;
    sqlite3_stmt *st = NULL;
    int64_t n_tr = 0, n_tasks = 0;
    int64_t cur_task = -1, cur_sub = -1;
    int state = ST_PENDING;
    int64_t epoch = 0;
    if (sqlite3_prepare_v2(db,
                           "SELECT task_id, sub_id, to_state, epoch, seq FROM transition"
                           " ORDER BY task_id, sub_id, seq",
                           -1, &st, NULL) != SQLITE_OK) {
        rc = sw_diag_set(d, SWARM_EFORMAT, "%s: not a swarm journal: %s", path, sqlite3_errmsg(db));
        goto out;
    }
    while (sqlite3_step(st) == SQLITE_ROW) {
        int64_t t = sqlite3_column_int64(st, 0), s = sqlite3_column_int64(st, 1);
        const char *to = (const char *)sqlite3_column_text(st, 2);
        int64_t e = sqlite3_column_int64(st, 3), seq = sqlite3_column_int64(st, 4);
        int ns = to ? state_of(to) : ST_BAD;
        n_tr++;
        if (t != cur_task || s != cur_sub) {
            cur_task = t;
            cur_sub = s;
            state = ST_PENDING;
            epoch = 0;
        }
        bool ok;
        switch (ns) {
        case ST_ASSIGNED: ok = (state == ST_PENDING || state == ST_ASSIGNED) && e > epoch; break;
        case ST_DONE: ok = state == ST_ASSIGNED && e >= 1 && e <= epoch; break;
        case ST_FAILED: ok = state == ST_ASSIGNED || state == ST_PENDING; break;
        case ST_CANCELED: ok = state == ST_ASSIGNED || state == ST_PENDING; break;
        default: ok = false;
        }
        if (!ok) {
            rc = sw_diag_set(d, SWARM_EFORMAT,
                             "%s: illegal transition #%lld: task %lld subtask %lld -> %s (epoch "
                             "%lld) after %s (epoch %lld)",
                             path, (long long)seq, (long long)t, (long long)s, to ? to : "?",
                             (long long)e, state_name(state), (long long)epoch);
            goto out;
        }
        state = ns;
        if (ns == ST_ASSIGNED) epoch = e;
    }
    sqlite3_finalize(st);
    st = NULL;
    /* A finished task has only terminal subtasks. */
    if (sqlite3_prepare_v2(db,
                           "SELECT t.id, s.sub_id, s.state FROM task t JOIN subtask s ON"
                           " s.task_id = t.id WHERE t.state <> 'running' AND s.state NOT IN"
                           " ('done','failed','canceled') LIMIT 1",
                           -1, &st, NULL) != SQLITE_OK) {
        rc = sw_diag_set(d, SWARM_EFORMAT, "%s: %s", path, sqlite3_errmsg(db));
        goto out;
    }
    if (sqlite3_step(st) == SQLITE_ROW) {
        rc = sw_diag_set(d, SWARM_EFORMAT, "%s: finished task %lld has subtask %lld in state %s",
                         path, (long long)sqlite3_column_int64(st, 0),
                         (long long)sqlite3_column_int64(st, 1), sqlite3_column_text(st, 2));
        goto out;
    }
    sqlite3_finalize(st);
    st = NULL;
    if (sqlite3_prepare_v2(db, "SELECT count(*) FROM task", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        n_tasks = sqlite3_column_int64(st, 0);
    if (out_tasks) *out_tasks = n_tasks;
    if (out_transitions) *out_transitions = n_tr;
out:
    sqlite3_finalize(st);
    sqlite3_close(db);
    return rc;
}
