/*
 * runtime_coordinator_test.c: many tasks at once on one runtime (issue 13,
 * item 1). 64 concurrent tasks of mixed strategies on shared echo nodes
 * with a kill and a pause give, task by task, the TESTPLAN A verdict (0
 * lost, 0 double-committed, 0 stuck) and the outputs of the same tasks run
 * one at a time; a huge task does not starve a small one; priority; cancel
 * frees the node slots; a task deadline; streamed tokens make the text;
 * submitters and execs on several threads at once.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "runtime_util.h"
#include "runtime/sched_int.h"

static swarm_swarm *echo_swarm(int n, int cap, double latency_ms)
{
    char buf[4096];
    size_t o = (size_t)snprintf(buf, sizeof(buf), "{\"nodes\": [");
    for (int i = 0; i < n; i++)
        o += (size_t)snprintf(buf + o, sizeof(buf) - o,
                              "%s{\"name\": \"node%d\", \"backend\": {\"type\": \"echo\","
                              " \"latency_ms\": %g}, \"capacity\": %d, \"zone\": \"z%d\","
                              " \"skills\": {\"*\": 0.9}, \"accuracy\": %g}",
                              i ? "," : "", i + 1, latency_ms, cap, i % 2, 0.9 - 0.05 * i);
    snprintf(buf + o, sizeof(buf) - o, "]}");
    swarm_swarm *s = NULL;
    swarm_diag d = {{0}};
    CHECK_OK(swarm_swarm_parse(buf, strlen(buf), NULL, &s, &d));
    return s;
}

/* A map-reduce over n chunks of two words each. */
static swarm_task *map_reduce_of(const char *name, int n, int redundancy)
{
    char *buf = malloc((size_t)n * 16 + 1024);
    assert_non_null(buf);
    size_t o = (size_t)sprintf(buf, "{\"name\": \"%s\", \"input\": \"", name);
    for (int i = 0; i < 2 * n; i++) o += (size_t)sprintf(buf + o, "%sw%d", i ? " " : "", i);
    sprintf(buf + o,
            "\", \"kind\": \"generate\", \"redundancy\": %d, \"decomposition\": {\"strategy\":"
            " \"map-reduce\", \"chunk\": {\"by\": \"tokens\", \"size\": 2, \"overlap\": 0},"
            " \"map_prompt\": \"map {{chunk}}\", \"reduce_prompt\": \"reduce {{results}}\"},"
            " \"aggregation\": {\"method\": \"max-weight\"}, \"limits\": {\"max_tokens\": 4,"
            " \"max_retries\": 3}}",
            redundancy);
    swarm_task *t = task_of(buf);
    free(buf);
    return t;
}

/* Task i of the mixed set: six strategies, each input its own. */
static swarm_task *mixed_task(int i)
{
    char buf[2048];
    switch (i % 6) {
    case 0:
        snprintf(buf, sizeof(buf),
                 "{\"name\": \"single%d\", \"input\": \"question %d\", \"kind\": \"generate\","
                 " \"prompt\": \"answer {{input}}\", \"limits\": {\"max_tokens\": 6,"
                 " \"max_retries\": 3}}", i, i);
        return task_of(buf);
    case 1: {
        char name[32];
        snprintf(name, sizeof(name), "mr%d", i);
        return map_reduce_of(name, 4 + i % 5, 1 + i % 2);
    }
    case 2:
        snprintf(buf, sizeof(buf),
                 "{\"name\": \"ens%d\", \"input\": \"tell %d\", \"kind\": \"generate\","
                 " \"prompt\": \"{{input}}\", \"decomposition\": {\"strategy\": \"ensemble\","
                 " \"k\": 3}, \"aggregation\": {\"method\": \"vote\"}, \"limits\":"
                 " {\"max_tokens\": 5, \"max_retries\": 3}}", i, i);
        return task_of(buf);
    case 3:
        snprintf(buf, sizeof(buf),
                 "{\"name\": \"cls%d\", \"input\": \"review %d\", \"kind\": \"classify\","
                 " \"labels\": [\" good\", \" bad\", \" meh\"], \"prompt\": \"{{input}} was\","
                 " \"decomposition\": {\"strategy\": \"ensemble\", \"k\": 3},"
                 " \"aggregation\": {\"method\": \"weighted-vote\"}, \"limits\":"
                 " {\"max_tokens\": 1, \"max_retries\": 3}}", i, i);
        return task_of(buf);
    case 4:
        snprintf(buf, sizeof(buf),
                 "{\"name\": \"pipe%d\", \"input\": \"cat %d\", \"decomposition\": {\"strategy\":"
                 " \"pipeline\", \"steps\": [{\"name\": \"a\", \"prompt\": \"begin {{input}}\"},"
                 " {\"name\": \"b\", \"prompt\": \"then {{steps.a}}\", \"depends_on\": [\"a\"]},"
                 " {\"name\": \"c\", \"prompt\": \"end {{steps.b}}\", \"depends_on\": [\"b\"]}]},"
                 " \"aggregation\": {\"method\": \"max-weight\"}, \"limits\": {\"max_tokens\": 4,"
                 " \"max_retries\": 3}}", i, i);
        return task_of(buf);
    default:
        snprintf(buf, sizeof(buf),
                 "{\"name\": \"cas%d\", \"input\": \"day %d\", \"kind\": \"classify\","
                 " \"labels\": [\" good\", \" bad\"], \"prompt\": \"{{input}} was very\","
                 " \"decomposition\": {\"strategy\": \"cascade\", \"levels\": 2, \"threshold\":"
                 " 0.95}, \"aggregation\": {\"method\": \"max-weight\"}, \"limits\":"
                 " {\"max_tokens\": 1, \"max_retries\": 3}}", i, i);
        return task_of(buf);
    }
}

static void assert_same_answer(const swarm_run_result *a, const swarm_run_result *b)
{
    assert_int_equal(a->status, b->status);
    assert_int_equal(a->is_text, b->is_text);
    if (a->is_text) assert_string_equal(a->text ? a->text : "", b->text ? b->text : "");
    else assert_true(a->value == b->value);
    assert_int_equal(a->n_subtasks, b->n_subtasks);
}

/* ------------------------------------------------------------------------ */
/* 64 tasks at once                                                          */

#define N_TASKS 64

typedef struct overlap_meter {
    bool started[N_TASKS + 1], done[N_TASKS + 1];
    int running, max_running;
    uint64_t base; /* ticket of task 0 */
} overlap_meter;

/* Coordinator thread: how many tasks had made progress and were not yet
 * done at the same time. */
static void count_overlap(void *ud, const swarm_task_event *ev)
{
    overlap_meter *m = ud;
    size_t i = (size_t)(ev->ticket - m->base);
    if (i > N_TASKS) return;
    if (ev->type == SWARM_TASK_EVENT_PROGRESS && !m->started[i]) {
        m->started[i] = true;
        if (++m->running > m->max_running) m->max_running = m->running;
    } else if (ev->type == SWARM_TASK_EVENT_DONE && m->started[i] && !m->done[i]) {
        m->done[i] = true;
        m->running--;
    }
}

static void test_runtime_64_concurrent_tasks_like_one_at_a_time(void **state)
{
    (void)state;
    /* 20 ms per subtask: the tasks outlast the detector (~0.4 s), so the
     * kill is convicted while they run */
    swarm_swarm *s = echo_swarm(6, 2, 20);
    swarm_task *t[N_TASKS];
    for (int i = 0; i < N_TASKS; i++) t[i] = mixed_task(i);
    swarm_runtime_params p = swarm_runtime_params_default();
    p.seed = 11;
    p.hedge = false; /* a hedge could win over the killed node's attempt: no reassignment */
    /* the baseline: one at a time, no faults */
    swarm_run_result *one[N_TASKS];
    swarm_runtime *rt = NULL;
    swarm_diag d = {{0}};
    CHECK_OK(swarm_runtime_create(s, &p, &rt, &d));
    for (int i = 0; i < N_TASKS; i++) {
        CHECK_OK(swarm_runtime_run(rt, t[i], &one[i], &d));
        assert_int_equal(one[i]->status, SWARM_OK);
    }
    swarm_runtime_destroy(rt);
    /* all at once, node2 and node5 killed on their 2nd and 5th subtasks, node3
     * silent for a while */
    p.chaos = "kill=node2#2,kill=node5#5,pause=node3@20ms+300ms";
    p.queue_cap = N_TASKS;
    CHECK_OK(swarm_runtime_create(s, &p, &rt, &d));
    overlap_meter m = {0};
    swarm_submit_opts o = swarm_submit_opts_default();
    o.on_event = count_overlap;
    o.ud = &m;
    uint64_t tk[N_TASKS];
    sw_runtime_pause(rt); /* all submitted before any starts: m.base is set first */
    for (int i = 0; i < N_TASKS; i++) {
        swarm_err rc = swarm_runtime_submit(rt, t[i], &o, &tk[i], &d);
        if (rc) print_error("submit %d: %s\n", i, d.msg);
        CHECK_OK(rc);
        if (i == 0) m.base = tk[0];
        assert_int_equal(tk[i], m.base + (uint64_t)i);
    }
    CHECK_ERR(swarm_runtime_submit(rt, t[0], &o, NULL, &d), SWARM_EFULL);
    sw_runtime_resume(rt);
    int reassigned = 0, convicted = 0;
    for (int i = N_TASKS - 1; i >= 0; i--) { /* any order: each waits for its own */
        swarm_run_result *r = NULL;
        CHECK_OK(swarm_runtime_wait(rt, tk[i], -1, &r, &d));
        swarm_run_check c;
        swarm_run_check_trace(r, &c);
        if (c.lost || c.double_committed || c.stuck || r->status != SWARM_OK)
            print_error("task %d (%s): %s; lost %zu, double %zu, stuck %zu\n", i, r->task_name,
                        r->error, c.lost, c.double_committed, c.stuck);
        assert_int_equal(c.lost, 0);
        assert_int_equal(c.double_committed, 0);
        assert_int_equal(c.stuck, 0);
        assert_same_answer(r, one[i]);
        reassigned += r->n_reassigned;
        convicted += r->n_convicted;
        swarm_run_result_destroy(r);
        swarm_run_result_destroy(one[i]);
    }
    print_message("64 tasks at once: up to %d in progress together; %d reassignments, %d "
                  "convictions seen\n", m.max_running, reassigned, convicted);
    assert_true(m.max_running >= 4); /* they really ran together (one at a time: 1) */
    /* the kill fired mid-work and was convicted while tasks ran (its
     * attempt may have been a redundant copy whose twin won: then it was
     * canceled, not reassigned) */
    assert_true(convicted >= 1);
    assert_int_equal(swarm_runtime_active(rt), 0);
    swarm_runtime_destroy(rt);
    for (int i = 0; i < N_TASKS; i++) swarm_task_destroy(t[i]);
    swarm_swarm_destroy(s);
}

/* ------------------------------------------------------------------------ */
/* fairness                                                                  */

typedef struct starve_watch {
    uint64_t huge, small;
    _Atomic size_t huge_done;
    _Atomic size_t huge_done_when_small_done;
    _Atomic bool huge_started;
} starve_watch;

static void watch_starvation(void *ud, const swarm_task_event *ev)
{
    starve_watch *w = ud;
    if (ev->ticket == w->huge && ev->type == SWARM_TASK_EVENT_PROGRESS) {
        atomic_store(&w->huge_done, ev->done);
        atomic_store(&w->huge_started, true);
    }
    if (ev->ticket == w->small && ev->type == SWARM_TASK_EVENT_DONE)
        atomic_store(&w->huge_done_when_small_done, atomic_load(&w->huge_done));
}

/* A huge task holds every slot and always has more ready work; a small one
 * submitted after it must get the next free slot, not wait for the end
 * (one slot: the order of service alone decides). */
static void test_runtime_small_task_not_starved(void **state)
{
    (void)state;
    swarm_swarm *s = echo_swarm(1, 1, 2);
    swarm_task *huge = map_reduce_of("huge", 200, 1);
    swarm_task *small = task_of("{\"name\": \"small\", \"input\": \"q\", \"kind\": \"generate\","
                                " \"prompt\": \"{{input}}\", \"limits\": {\"max_tokens\": 2}}");
    swarm_runtime_params p = swarm_runtime_params_default();
    p.seed = 5;
    p.hedge = false;
    swarm_runtime *rt = NULL;
    swarm_diag d = {{0}};
    CHECK_OK(swarm_runtime_create(s, &p, &rt, &d));
    starve_watch w = {0};
    atomic_store(&w.huge_done_when_small_done, (size_t)-1);
    swarm_submit_opts o = swarm_submit_opts_default();
    o.on_event = watch_starvation;
    o.ud = &w;
    sw_runtime_pause(rt);
    CHECK_OK(swarm_runtime_submit(rt, huge, &o, &w.huge, &d));
    w.small = w.huge + 1; /* known before the callback can see it */
    sw_runtime_resume(rt);
    while (!atomic_load(&w.huge_started)) sw_sleep_ms(1);
    uint64_t st = 0;
    CHECK_OK(swarm_runtime_submit(rt, small, &o, &st, &d));
    assert_int_equal(st, w.small);
    swarm_run_result *r = NULL;
    CHECK_OK(swarm_runtime_wait(rt, st, -1, &r, &d));
    assert_int_equal(r->status, SWARM_OK);
    swarm_run_result_destroy(r);
    size_t at = atomic_load(&w.huge_done_when_small_done);
    print_message("the small task finished when the huge one had %zu of 201 subtasks done\n", at);
    assert_true(at < 100);
    CHECK_OK(swarm_runtime_wait(rt, w.huge, -1, &r, &d));
    assert_int_equal(r->status, SWARM_OK);
    swarm_run_result_destroy(r);
    swarm_runtime_destroy(rt);
    swarm_task_destroy(huge);
    swarm_task_destroy(small);
    swarm_swarm_destroy(s);
}

/* With capacity short, the higher priority runs first. */
static void test_runtime_priority_first(void **state)
{
    (void)state;
    swarm_swarm *s = echo_swarm(1, 1, 1);
    swarm_task *a = map_reduce_of("low", 20, 1);
    swarm_task *b = map_reduce_of("high", 20, 1);
    swarm_runtime *rt = NULL;
    swarm_diag d = {{0}};
    swarm_runtime_params p = swarm_runtime_params_default();
    p.hedge = false;
    CHECK_OK(swarm_runtime_create(s, &p, &rt, &d));
    swarm_submit_opts lo = swarm_submit_opts_default(), hi = lo;
    hi.priority = 5;
    uint64_t ta, tb, first = 0;
    sw_runtime_pause(rt); /* both waiting when the coordinator looks */
    CHECK_OK(swarm_runtime_submit(rt, a, &lo, &ta, &d));
    CHECK_OK(swarm_runtime_submit(rt, b, &hi, &tb, &d));
    sw_runtime_resume(rt);
    swarm_run_result *r = NULL;
    swarm_err rc;
    while ((rc = swarm_runtime_poll(rt, &first, &r, &d)) == SWARM_ENOTFOUND) sw_sleep_ms(1);
    CHECK_OK(rc);
    assert_int_equal(first, tb);
    swarm_run_result_destroy(r);
    CHECK_OK(swarm_runtime_wait(rt, ta, -1, &r, &d));
    assert_int_equal(r->status, SWARM_OK);
    swarm_run_result_destroy(r);
    swarm_runtime_destroy(rt);
    swarm_task_destroy(a);
    swarm_task_destroy(b);
    swarm_swarm_destroy(s);
}

/* ------------------------------------------------------------------------ */
/* cancel and deadline                                                       */

static int32_t slots_held(swarm_runtime *rt)
{
    sw_runtime_pause(rt);
    int32_t n = 0;
    for (size_t i = 0; i < rt->n; i++) n += rt->nodes[i].inflight;
    sw_runtime_resume(rt);
    return n;
}

static void test_runtime_cancel_frees_slots(void **state)
{
    (void)state;
    swarm_swarm *s = echo_swarm(2, 2, 2000);
    swarm_task *t = map_reduce_of("long", 8, 1);
    swarm_runtime *rt = NULL;
    swarm_diag d = {{0}};
    CHECK_OK(swarm_runtime_create(s, NULL, &rt, &d));
    uint64_t tk = 0;
    CHECK_OK(swarm_runtime_submit(rt, t, NULL, &tk, &d));
    double end = sw_now_ms() + 5000;
    while (slots_held(rt) < 4 && sw_now_ms() < end) sw_sleep_ms(1);
    assert_int_equal(slots_held(rt), 4); /* every slot busy with it */
    double t0 = sw_now_ms();
    CHECK_OK(swarm_runtime_cancel(rt, tk));
    swarm_run_result *r = NULL;
    CHECK_OK(swarm_runtime_wait(rt, tk, -1, &r, &d));
    assert_int_equal(r->status, SWARM_ECANCELED);
    assert_non_null(strstr(r->error, "canceled"));
    for (size_t k = 0; k < r->n_subtasks; k++)
        assert_int_equal(r->subtasks[k].state, SWARM_OUTCOME_CANCELED);
    swarm_run_check c;
    swarm_run_check_trace(r, &c);
    assert_int_equal(c.lost, 0);
    assert_int_equal(c.stuck, 0);
    swarm_run_result_destroy(r);
    /* the nodes answer the cancel within a few ms (echo checks every 2 ms) */
    while (slots_held(rt) > 0 && sw_now_ms() < end) sw_sleep_ms(1);
    print_message("cancel: slots free %.0f ms after the cancel (of a 2 s generation)\n",
                  sw_now_ms() - t0);
    assert_int_equal(slots_held(rt), 0);
    CHECK_ERR(swarm_runtime_cancel(rt, tk), SWARM_ENOTFOUND); /* collected */
    swarm_runtime_destroy(rt);
    swarm_task_destroy(t);
    swarm_swarm_destroy(s);
}

static void test_runtime_task_deadline(void **state)
{
    (void)state;
    swarm_swarm *s = echo_swarm(2, 1, 3000);
    swarm_task *t = map_reduce_of("slow", 4, 1);
    swarm_runtime *rt = NULL;
    swarm_diag d = {{0}};
    CHECK_OK(swarm_runtime_create(s, NULL, &rt, &d));
    swarm_submit_opts o = swarm_submit_opts_default();
    o.deadline_ms = 50;
    uint64_t tk = 0;
    CHECK_OK(swarm_runtime_submit(rt, t, &o, &tk, &d));
    swarm_run_result *r = NULL;
    CHECK_ERR(swarm_runtime_wait(rt, tk, 0, &r, &d), SWARM_ETIMEDOUT); /* still running */
    CHECK_OK(swarm_runtime_wait(rt, tk, -1, &r, &d));
    assert_int_equal(r->status, SWARM_ETIMEDOUT);
    assert_non_null(strstr(r->error, "deadline"));
    swarm_run_result_destroy(r);
    o.deadline_ms = -1;
    CHECK_ERR(swarm_runtime_submit(rt, t, &o, &tk, &d), SWARM_EINVAL);
    swarm_runtime_destroy(rt);
    swarm_task_destroy(t);
    swarm_swarm_destroy(s);
}

/* ------------------------------------------------------------------------ */
/* streaming                                                                 */

#define MAX_PIECES 4096
typedef struct stream_log {
    int32_t sub[MAX_PIECES];
    uint32_t epoch[MAX_PIECES];
    char *text[MAX_PIECES];
    size_t n, done_events;
} stream_log;

static void log_tokens(void *ud, const swarm_task_event *ev)
{
    stream_log *l = ud;
    if (ev->type == SWARM_TASK_EVENT_DONE) l->done_events++;
    if (ev->type != SWARM_TASK_EVENT_TOKEN || l->n == MAX_PIECES) return;
    l->sub[l->n] = ev->subtask;
    l->epoch[l->n] = ev->epoch;
    l->text[l->n] = strndup(ev->text, ev->len);
    l->n++;
}

static void check_stream(const char *url)
{
    swarm_swarm *s = echo_swarm(3, 2, 30);
    swarm_task *t = map_reduce_of("streamed", 5, 1);
    swarm_runtime_params p = swarm_runtime_params_default();
    p.transport_url = url;
    p.hedge = false;
    swarm_runtime *rt = NULL;
    swarm_diag d = {{0}};
    CHECK_OK(swarm_runtime_create(s, &p, &rt, &d));
    stream_log *l = calloc(1, sizeof(*l));
    assert_non_null(l);
    swarm_submit_opts o = swarm_submit_opts_default();
    o.stream = true;
    o.on_event = log_tokens;
    o.ud = l;
    uint64_t tk = 0;
    CHECK_OK(swarm_runtime_submit(rt, t, &o, &tk, &d));
    swarm_run_result *r = NULL;
    CHECK_OK(swarm_runtime_wait(rt, tk, -1, &r, &d));
    assert_int_equal(r->status, SWARM_OK);
    assert_int_equal(l->done_events, 1);
    /* the pieces of each accepted attempt, in order, make its subtask's text */
    size_t checked = 0;
    for (size_t q = 0; q < r->n_trace; q++) {
        const swarm_trace_row *row = &r->trace[q];
        if (row->outcome != SWARM_OUTCOME_DONE) continue;
        char joined[1024] = "";
        for (size_t k = 0; k < l->n; k++)
            if (l->sub[k] == row->subtask && l->epoch[k] == row->epoch)
                strncat(joined, l->text[k], sizeof(joined) - strlen(joined) - 1);
        assert_string_equal(joined, r->subtasks[row->subtask].text);
        checked++;
    }
    print_message("%s: %zu pieces streamed; %zu subtask texts equal their pieces\n", url, l->n,
                  checked);
    assert_int_equal(checked, r->n_subtasks);
    assert_true(l->n > r->n_subtasks); /* several pieces each: really streamed */
    for (size_t k = 0; k < l->n; k++) free(l->text[k]);
    free(l);
    swarm_run_result_destroy(r);
    swarm_runtime_destroy(rt);
    swarm_task_destroy(t);
    swarm_swarm_destroy(s);
}

static void test_runtime_stream_inproc(void **state)
{
    (void)state;
    check_stream("inproc:");
}

static void test_runtime_stream_proc(void **state)
{
    (void)state;
    check_stream("proc:");
}

/* ------------------------------------------------------------------------ */
/* several threads                                                           */

typedef struct submitter {
    swarm_runtime *rt;
    int id, ok;
} submitter;

static void *submit_and_wait(void *arg)
{
    submitter *sb = arg;
    for (int k = 0; k < 16; k++) {
        char buf[256];
        snprintf(buf, sizeof(buf),
                 "{\"name\": \"t%d-%d\", \"input\": \"x%d\", \"kind\": \"generate\","
                 " \"prompt\": \"say {{input}}\", \"limits\": {\"max_tokens\": 3}}",
                 sb->id, k, k);
        swarm_task *t = NULL;
        swarm_diag d = {{0}};
        if (swarm_task_parse(buf, strlen(buf), &t, &d) != SWARM_OK) continue;
        swarm_run_result *r = NULL;
        uint64_t tk = 0;
        swarm_err rc;
        while ((rc = swarm_runtime_submit(sb->rt, t, NULL, &tk, &d)) == SWARM_EFULL) sw_sleep_ms(1);
        if (rc == SWARM_OK && swarm_runtime_wait(sb->rt, tk, -1, &r, &d) == SWARM_OK &&
            r->status == SWARM_OK && r->text && strstr(r->text, "say x"))
            sb->ok++;
        swarm_run_result_destroy(r);
        swarm_task_destroy(t);
    }
    return NULL;
}

static void *exec_loop(void *arg)
{
    submitter *sb = arg;
    for (int k = 0; k < 16; k++) {
        char *text = NULL;
        swarm_diag d = {{0}};
        if (swarm_runtime_exec(sb->rt, (size_t)k % 3, SWARM_SUBTASK_GENERATE, "exec me", NULL, 0,
                               3, 10000, &text, NULL, NULL, &d) == SWARM_OK &&
            text && strstr(text, "exec me"))
            sb->ok++;
        swarm_free(text);
    }
    return NULL;
}

static void test_runtime_threads_submit_and_exec(void **state)
{
    (void)state;
    swarm_swarm *s = echo_swarm(3, 2, 1);
    swarm_runtime_params p = swarm_runtime_params_default();
    p.queue_cap = 8; /* smaller than the submitters' demand: EFULL is met and retried */
    swarm_runtime *rt = NULL;
    swarm_diag d = {{0}};
    CHECK_OK(swarm_runtime_create(s, &p, &rt, &d));
    submitter sb[5];
    pthread_t th[5];
    for (int i = 0; i < 5; i++) {
        sb[i] = (submitter){rt, i, 0};
        assert_int_equal(pthread_create(&th[i], NULL, i < 4 ? submit_and_wait : exec_loop, &sb[i]), 0);
    }
    for (int i = 0; i < 5; i++) pthread_join(th[i], NULL);
    for (int i = 0; i < 5; i++) assert_int_equal(sb[i].ok, 16);
    assert_int_equal(swarm_runtime_active(rt), 0);
    swarm_runtime_destroy(rt);
    swarm_swarm_destroy(s);
}

/* A task's "nodes" allow-list: only those nodes run it, even when others
 * are free and cheaper; a name the swarm lacks is refused at submit. */
static void test_runtime_task_node_allow_list(void **state)
{
    (void)state;
    swarm_swarm *s = echo_swarm(4, 2, 1);
    swarm_task *t = task_of("{\"name\": \"pinned\", \"input\": \"a b c d e f g h\", \"nodes\":"
                            " [\"node2\", \"node4\"], \"decomposition\": {\"strategy\": \"map-reduce\","
                            " \"chunk\": {\"by\": \"tokens\", \"size\": 1, \"overlap\": 0},"
                            " \"map_prompt\": \"m {{chunk}}\", \"reduce_prompt\": \"r {{results}}\"},"
                            " \"limits\": {\"max_tokens\": 2}}");
    swarm_runtime *rt = NULL;
    swarm_diag d = {{0}};
    CHECK_OK(swarm_runtime_create(s, NULL, &rt, &d));
    swarm_run_result *r = NULL;
    CHECK_OK(swarm_runtime_run(rt, t, &r, &d));
    assert_int_equal(r->status, SWARM_OK);
    for (size_t q = 0; q < r->n_trace; q++)
        assert_true(strcmp(r->trace[q].node_name, "node2") == 0 ||
                    strcmp(r->trace[q].node_name, "node4") == 0);
    swarm_run_result_destroy(r);
    swarm_task *bad = task_of("{\"name\": \"typo\", \"input\": \"q\", \"nodes\": [\"node9\"]}");
    CHECK_ERR(swarm_runtime_run(rt, bad, &r, &d), SWARM_EINVAL);
    assert_non_null(strstr(d.msg, "node9"));
    const char *hostile[] = {"{\"input\": \"q\", \"nodes\": []}", "{\"input\": \"q\", \"nodes\": \"node1\"}",
                             "{\"input\": \"q\", \"nodes\": [\"\"]}", "{\"input\": \"q\", \"nodes\": [1]}",
                             "{\"input\": \"q\", \"nodes\": [\"a\", \"a\"]}"};
    for (size_t k = 0; k < sizeof(hostile) / sizeof(hostile[0]); k++) {
        swarm_task *h = NULL;
        CHECK_ERR(swarm_task_parse(hostile[k], strlen(hostile[k]), &h, &d), SWARM_EFORMAT);
        assert_non_null(strstr(d.msg, "nodes"));
    }
    swarm_task_destroy(bad);
    swarm_runtime_destroy(rt);
    swarm_task_destroy(t);
    swarm_swarm_destroy(s);
}

/* Membership while a task runs: node1 drained (it finishes what it runs,
 * starts nothing new), node2 removed (its running attempts move on at once,
 * never a conviction), node1 back to active; the answer is the fault-free
 * one and nothing is lost. */
typedef struct member_watch {
    swarm_runtime *rt;
    _Atomic size_t done;
} member_watch;

static void count_done(void *ud, const swarm_task_event *ev)
{
    member_watch *w = ud;
    if (ev->type == SWARM_TASK_EVENT_PROGRESS) atomic_store(&w->done, ev->done);
}

static double row_start_after(const swarm_run_result *r, const char *node, double t)
{
    size_t n = 0;
    for (size_t q = 0; q < r->n_trace; q++)
        n += strcmp(r->trace[q].node_name, node) == 0 && r->trace[q].start_ms > t;
    return (double)n;
}

static void test_runtime_membership_drain_remove(void **state)
{
    (void)state;
    swarm_swarm *s = echo_swarm(4, 2, 10);
    swarm_task *t = map_reduce_of("members", 150, 1);
    swarm_runtime_params p = swarm_runtime_params_default();
    p.seed = 3;
    p.hedge = false;
    swarm_runtime *rt = NULL;
    swarm_diag d = {{0}};
    CHECK_OK(swarm_runtime_create(s, &p, &rt, &d));
    swarm_run_result *base = NULL;
    CHECK_OK(swarm_runtime_run(rt, t, &base, &d));
    assert_int_equal(base->status, SWARM_OK);
    member_watch w = {rt, 0};
    swarm_submit_opts o = swarm_submit_opts_default();
    o.on_event = count_done;
    o.ud = &w;
    uint64_t tk = 0;
    double t0 = sw_now_ms();
    CHECK_OK(swarm_runtime_submit(rt, t, &o, &tk, &d));
    while (atomic_load(&w.done) < 8) sw_sleep_ms(1);
    CHECK_OK(swarm_runtime_node_set(rt, "node1", SWARM_NODE_DRAINING));
    CHECK_OK(swarm_runtime_node_set(rt, "node2", SWARM_NODE_REMOVED));
    double t_change = sw_now_ms() - t0;
    swarm_node_admin a;
    CHECK_OK(swarm_runtime_node_get(rt, "node2", &a));
    assert_int_equal(a, SWARM_NODE_REMOVED);
    CHECK_ERR(swarm_runtime_node_set(rt, "node2", SWARM_NODE_ACTIVE), SWARM_EINVAL);
    CHECK_ERR(swarm_runtime_node_set(rt, "node9", SWARM_NODE_DRAINING), SWARM_ENOTFOUND);
    while (atomic_load(&w.done) < 45) sw_sleep_ms(1);
    double t_back = sw_now_ms() - t0;
    CHECK_OK(swarm_runtime_node_set(rt, "node1", SWARM_NODE_ACTIVE));
    swarm_run_result *r = NULL;
    CHECK_OK(swarm_runtime_wait(rt, tk, -1, &r, &d));
    swarm_run_check c;
    swarm_run_check_trace(r, &c);
    assert_int_equal(c.lost + c.double_committed + c.stuck, 0);
    assert_int_equal(r->status, SWARM_OK);
    assert_string_equal(r->text, base->text);
    assert_int_equal(r->n_convicted, 0); /* removed, not dead */
    /* 50 ms of slack each way: a change is applied at the coordinator's next
     * loop, and the trace's clock starts when the coordinator takes the task */
    double n2_after = row_start_after(r, "node2", t_change + 50);
    double n1_between = 0;
    for (size_t q = 0; q < r->n_trace; q++)
        n1_between += strcmp(r->trace[q].node_name, "node1") == 0 &&
                      r->trace[q].start_ms > t_change + 50 && r->trace[q].start_ms < t_back - 50;
    size_t moved = 0, n1_later = (size_t)row_start_after(r, "node1", t_back + 50);
    for (size_t q = 0; q < r->n_trace; q++)
        moved += r->trace[q].outcome == SWARM_OUTCOME_REASSIGNED &&
                 strcmp(r->trace[q].note, "node removed") == 0;
    print_message("membership: changed at %.0f ms, node1 back at %.0f ms; node2 attempts after "
                  "removal %.0f, node1 while draining %.0f, node1 after %zu; %zu moved off node2\n",
                  t_change, t_back, n2_after, n1_between, n1_later, moved);
    assert_true(n2_after == 0);
    assert_true(n1_between == 0);
    assert_true(n1_later >= 1);
    swarm_run_result_destroy(r);
    swarm_run_result_destroy(base);
    swarm_runtime_destroy(rt);
    swarm_task_destroy(t);
    swarm_swarm_destroy(s);
}

/* Destroying a runtime with tasks still running (uncollected) frees them. */
static void test_runtime_destroy_with_tasks_running(void **state)
{
    (void)state;
    swarm_swarm *s = echo_swarm(2, 1, 500);
    swarm_task *t = map_reduce_of("left", 6, 1);
    swarm_runtime *rt = NULL;
    swarm_diag d = {{0}};
    CHECK_OK(swarm_runtime_create(s, NULL, &rt, &d));
    for (int i = 0; i < 3; i++) CHECK_OK(swarm_runtime_submit(rt, t, NULL, NULL, &d));
    sw_sleep_ms(20);
    swarm_runtime_destroy(rt); /* LSan and ASan watch this one */
    swarm_task_destroy(t);
    swarm_swarm_destroy(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_runtime_64_concurrent_tasks_like_one_at_a_time),
        cmocka_unit_test(test_runtime_small_task_not_starved),
        cmocka_unit_test(test_runtime_priority_first),
        cmocka_unit_test(test_runtime_cancel_frees_slots),
        cmocka_unit_test(test_runtime_task_deadline),
        cmocka_unit_test(test_runtime_stream_inproc),
        cmocka_unit_test(test_runtime_stream_proc),
        cmocka_unit_test(test_runtime_threads_submit_and_exec),
        cmocka_unit_test(test_runtime_task_node_allow_list),
        cmocka_unit_test(test_runtime_membership_drain_remove),
        cmocka_unit_test(test_runtime_destroy_with_tasks_running),
    };
    return CHECK_RUN(tests, NULL, NULL);
}
