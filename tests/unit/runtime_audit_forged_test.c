/*
 * runtime_audit_forged_test.c: swarm_journal_audit on forged journals. Each
 * history breaks one rule of the subtask state machine (pending ->
 * assigned(epoch) -> done | failed | canceled, re-assignment only with a
 * higher epoch) or of task completion; the audit must refuse it and name
 * the failure. A legal history beside them passes, so an audit that always
 * refuses fails too.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "runtime/runtime_int.h"

typedef struct forged {
    const char *what;
    const char *task_state;  /* state of task 1 */
    const char *sub_state;   /* state of subtask (1, 0) */
    const char *transitions; /* "to:epoch" items, in sequence order, for subtask (1, 0) */
    const char *want;        /* substring of the audit's message; NULL: legal */
} forged;

static const forged cases[] = {
    {"legal: re-assigned with a higher epoch, then done", "done", "done",
     "assigned:1 assigned:2 done:2", NULL},
    {"legal: failed for good", "failed", "failed", "assigned:1 failed:1", NULL},
    {"legal: still running", "running", "assigned", "assigned:1", NULL},
    {"done without assignment", "done", "done", "done:1", "-> done (epoch 1)"},
    {"done at an epoch never assigned", "done", "done", "assigned:1 done:2", "-> done (epoch 2)"},
    {"re-assignment with the same epoch", "running", "assigned", "assigned:2 assigned:2",
     "-> assigned (epoch 2)"},
    {"re-assignment with a lower epoch", "running", "assigned", "assigned:3 assigned:1",
     "-> assigned (epoch 1)"},
    {"assignment after done", "done", "done", "assigned:1 done:1 assigned:2",
     "-> assigned (epoch 2)"},
    {"done twice", "done", "done", "assigned:1 done:1 done:1", "-> done (epoch 1)"},
    {"failed after canceled", "canceled", "failed", "assigned:1 canceled:1 failed:1",
     "-> failed (epoch 1)"},
    {"unknown state", "running", "assigned", "assigned:1 exploded:1", "-> exploded"},
    {"finished task with an open subtask", "done", "assigned", "assigned:1",
     "finished task 1 has subtask 0 in state assigned"},
    {"failed task with a pending subtask", "failed", "pending", "", "has subtask 0 in state pending"},
};

static void exec_sql(sqlite3 *db, const char *sql)
{
    char *err = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) {
        print_error("sql: %s: %s\n", sql, err ? err : "?");
        sqlite3_free(err);
        fail();
    }
}

/* Writes the journal schema (through the journal itself) and the forged rows. */
static void forge(const char *path, const forged *c)
{
    sw_journal *j = NULL;
    swarm_diag d = {{0}};
    CHECK_OK(sw_journal_open(path, &j, &d));
    sw_journal_close(j);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    char sql[512];
    snprintf(sql, sizeof(sql),
             "INSERT INTO task(id, name, digest, state, n_subtasks) VALUES(1, 'forged', 'x', '%s', 1);"
             "INSERT INTO subtask(task_id, sub_id, name, state, epoch, node) VALUES(1, 0, 's', '%s', 1, 0);",
             c->task_state, c->sub_state);
    exec_sql(db, sql);
    char items[256];
    snprintf(items, sizeof(items), "%s", c->transitions);
    char *save = NULL;
    int seq = 1;
    for (char *it = strtok_r(items, " ", &save); it; it = strtok_r(NULL, " ", &save)) {
        char *colon = strchr(it, ':');
        assert_non_null(colon);
        *colon = '\0';
        snprintf(sql, sizeof(sql),
                 "INSERT INTO transition(seq, task_id, sub_id, to_state, epoch, node, t_ms)"
                 " VALUES(%d, 1, 0, '%s', %s, 0, %d);",
                 seq, it, colon + 1, seq);
        exec_sql(db, sql);
        seq++;
    }
    sqlite3_close(db);
}

static void remove_journal(const char *path)
{
    char side[96];
    unlink(path);
    snprintf(side, sizeof(side), "%s-wal", path);
    unlink(side);
    snprintf(side, sizeof(side), "%s-shm", path);
    unlink(side);
}

static void test_audit_forged_histories(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const forged *c = &cases[i];
        char path[] = "/tmp/swarm-forged-XXXXXX";
        int fd = mkstemp(path);
        assert_true(fd >= 0);
        close(fd);
        unlink(path);
        forge(path, c);
        int64_t tasks = -1, trans = -1;
        swarm_diag d = {{0}};
        swarm_err rc = swarm_journal_audit(path, &tasks, &trans, &d);
        print_message("%-45s -> %s %s\n", c->what, swarm_err_name(rc), rc ? d.msg : "");
        if (c->want == NULL) {
            assert_int_equal(rc, SWARM_OK);
            assert_int_equal(tasks, 1);
        } else {
            assert_int_equal(rc, SWARM_EFORMAT);
            if (strstr(d.msg, c->want) == NULL) {
                print_error("%s: message \"%s\" does not name \"%s\"\n", c->what, d.msg, c->want);
                fail();
            }
        }
        remove_journal(path);
    }
}

/* A file that is not a journal is refused, not audited as empty. */
static void test_audit_not_a_journal(void **state)
{
    (void)state;
    char path[] = "/tmp/swarm-notjournal-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "hello, not sqlite at all\n", 25), 25);
    close(fd);
    swarm_diag d = {{0}};
    swarm_err rc = swarm_journal_audit(path, NULL, NULL, &d);
    assert_int_not_equal(rc, SWARM_OK);
    print_message("not a journal -> %s %s\n", swarm_err_name(rc), d.msg);
    remove_journal(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_audit_forged_histories),
        cmocka_unit_test(test_audit_not_a_journal),
    };
    return CHECK_RUN(tests, NULL, NULL);
}
