/* runtime_journal_test.c: the run's record as one interface (runlog.h) and
 * the journal behind it: every transition reaches every sink once, nothing
 * after a failed commit, no replayed subtask twice; a run's journal audits
 * as legal and the audit names states by their names (issue 13 defect 9:
 * it printed "after state 2"). */
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "runtime/runlog.h"

/* A sink that counts what it hears. */
typedef struct counter {
    int begin, resume, assigned, done, failed, canceled, end, commit;
    bool can_resume, fail_commit;
    int64_t id;
    char last_why[64];
} counter;

static swarm_err c_begin(void *self, const char *name, const char *digest, size_t n,
                         const char *const *names, int64_t *out)
{
    (void)name, (void)digest, (void)n, (void)names;
    counter *c = self;
    c->begin++;
    *out = c->id;
    return SWARM_OK;
}
static swarm_err c_resume(void *self, const char *name, const char *digest, size_t n,
                          int64_t *out, sw_journal_sub *subs)
{
    (void)name, (void)digest;
    counter *c = self;
    c->resume++;
    if (!c->can_resume) return SWARM_ENOTFOUND;
    for (size_t k = 0; k < n; k++) subs[k].state = k == 0 ? SW_J_DONE : SW_J_OPEN;
    *out = c->id;
    return SWARM_OK;
}
static void c_assigned(void *self, int64_t t, int32_t s, uint32_t e, int32_t n)
{
    (void)s, (void)e, (void)n;
    counter *c = self;
    assert_int_equal(t, c->id);
    c->assigned++;
}
static void c_done(void *self, int64_t t, int32_t s, uint32_t e, int32_t n, const char *o,
                   double v, double cf)
{
    (void)t, (void)s, (void)e, (void)n, (void)o, (void)v, (void)cf;
    ((counter *)self)->done++;
}
static void c_failed(void *self, int64_t t, int32_t s, uint32_t e, int32_t n, const char *why)
{
    (void)t, (void)s, (void)e, (void)n;
    counter *c = self;
    c->failed++;
    snprintf(c->last_why, sizeof(c->last_why), "%s", why);
}
static void c_canceled(void *self, int64_t t, int32_t s, uint32_t e, int32_t n, const char *why)
{
    (void)t, (void)s, (void)e, (void)n, (void)why;
    ((counter *)self)->canceled++;
}
static void c_end(void *self, int64_t t, bool ok, const char *r)
{
    (void)t, (void)ok, (void)r;
    ((counter *)self)->end++;
}
static swarm_err c_commit(void *self)
{
    counter *c = self;
    c->commit++;
    return c->fail_commit ? SWARM_ESYS : SWARM_OK;
}
static const sw_runlog_sink_ops counter_ops = {c_begin, c_resume, c_assigned, c_done, c_failed,
                                               c_canceled, c_end, c_commit};

static void test_runtime_runlog_fans_out_once(void **state)
{
    (void)state;
    sw_runlog L = {0};
    counter a = {.id = 7}, b = {.id = 9};
    CHECK_OK(sw_runlog_add_sink(&L, &counter_ops, &a));
    CHECK_OK(sw_runlog_add_sink(&L, &counter_ops, &b));
    bool resumed = true;
    CHECK_OK(sw_runlog_task_begin(&L, "t", "d", 3, NULL, false, NULL, &resumed));
    assert_false(resumed);
    sw_runlog_sub_assigned(&L, 0, 1, 0);
    sw_runlog_sub_done(&L, 0, 1, 0, "x", 1, 1);
    sw_runlog_sub_assigned(&L, 1, 1, 1);
    sw_runlog_sub_failed(&L, 1, 1, 1, "deadline");
    sw_runlog_sub_canceled(&L, 2, 0, -1, "dependency not done");
    sw_runlog_task_end(&L, false, "");
    CHECK_OK(sw_runlog_commit(&L));
    counter *cs[] = {&a, &b};
    for (int i = 0; i < 2; i++) {
        assert_int_equal(cs[i]->begin, 1);
        assert_int_equal(cs[i]->resume, 0);
        assert_int_equal(cs[i]->assigned, 2);
        assert_int_equal(cs[i]->done, 1);
        assert_int_equal(cs[i]->failed, 1);
        assert_int_equal(cs[i]->canceled, 1);
        assert_int_equal(cs[i]->end, 1);
        assert_int_equal(cs[i]->commit, 1);
        assert_string_equal(cs[i]->last_why, "deadline");
    }
    /* a failed commit breaks the record: nothing more is written */
    b.fail_commit = true;
    CHECK_ERR(sw_runlog_commit(&L), SWARM_ESYS);
    assert_true(L.broken);
    sw_runlog_sub_assigned(&L, 2, 2, 0);
    sw_runlog_task_end(&L, true, "");
    assert_int_equal(a.assigned, 2);
    assert_int_equal(a.end, 1);
    CHECK_ERR(sw_runlog_commit(&L), SWARM_ESYS);
    /* no room for a fifth sink */
    sw_runlog M = {0};
    for (int i = 0; i < SW_RUNLOG_MAX_SINKS; i++) CHECK_OK(sw_runlog_add_sink(&M, &counter_ops, &a));
    CHECK_ERR(sw_runlog_add_sink(&M, &counter_ops, &a), SWARM_EFULL);
}

static void test_runtime_runlog_resume_and_replay(void **state)
{
    (void)state;
    sw_runlog L = {0};
    counter a = {.id = 1, .can_resume = true}, b = {.id = 2};
    CHECK_OK(sw_runlog_add_sink(&L, &counter_ops, &a));
    CHECK_OK(sw_runlog_add_sink(&L, &counter_ops, &b));
    sw_journal_sub subs[2] = {{0}};
    bool resumed = false;
    CHECK_OK(sw_runlog_task_begin(&L, "t", "d", 2, NULL, true, subs, &resumed));
    assert_true(resumed);
    /* the sink that resumed does not begin again; the other records a new task */
    assert_int_equal(a.begin, 0);
    assert_int_equal(b.begin, 1);
    L.replay = subs;
    sw_runlog_sub_done(&L, 0, 1, 0, "from the record", 0, 0); /* already finished: skipped */
    sw_runlog_sub_assigned(&L, 1, 2, 0);                      /* still open: written */
    L.replay = NULL;
    assert_int_equal(a.done, 0);
    assert_int_equal(a.assigned, 1);
    assert_int_equal(b.assigned, 1);
}

/* An illegal history is refused, and the message names the states. */
static void test_runtime_journal_audit_names_states(void **state)
{
    (void)state;
    char path[] = "/tmp/swarm-audit-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    sw_journal *j = NULL;
    swarm_diag d = {{0}};
    CHECK_OK(sw_journal_open(path, &j, &d));
    sw_runlog L = {0};
    CHECK_OK(sw_runlog_add_sink(&L, &sw_journal_sink_ops, j));
    const char *names[] = {"a", "b"};
    bool resumed;
    CHECK_OK(sw_runlog_task_begin(&L, "t", "d", 2, names, false, NULL, &resumed));
    sw_runlog_sub_assigned(&L, 0, 1, 0);
    sw_runlog_sub_done(&L, 0, 1, 0, "out", 1, 1);
    sw_runlog_sub_assigned(&L, 1, 1, 1);
    sw_runlog_sub_done(&L, 1, 1, 1, "out", 1, 1);
    sw_runlog_task_end(&L, true, "out");
    CHECK_OK(sw_runlog_commit(&L));
    int64_t tasks = 0, trans = 0;
    CHECK_OK(swarm_journal_audit(path, &tasks, &trans, &d));
    assert_int_equal(tasks, 1);
    assert_int_equal(trans, 4);
    /* a second "done" for subtask 1 without a new assignment is illegal */
    sw_runlog_sub_done(&L, 1, 1, 1, "again", 1, 1);
    CHECK_OK(sw_runlog_commit(&L));
    sw_journal_close(j);
    CHECK_ERR(swarm_journal_audit(path, &tasks, &trans, &d), SWARM_EFORMAT);
    print_message("audit: %s\n", d.msg);
    assert_non_null(strstr(d.msg, "-> done (epoch 1) after done (epoch 1)"));
    assert_null(strstr(d.msg, "state 2"));
    unlink(path);
    char side[64];
    snprintf(side, sizeof(side), "%s-wal", path);
    unlink(side);
    snprintf(side, sizeof(side), "%s-shm", path);
    unlink(side);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_runtime_runlog_fans_out_once),
        cmocka_unit_test(test_runtime_runlog_resume_and_replay),
        cmocka_unit_test(test_runtime_journal_audit_names_states),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
