/* Unit tests of src/core/evq: ordering under several producers, progress coalescing, the
 * overflow policy, shutdown waking blocked threads, the wake-up fd, and the JSON lines. */
#include "testutil.h"

#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/evq.h"

static int fd_readable(evq_t *q, int timeout_ms)
{
	struct pollfd p = {.fd = evq_get_fd(q), .events = POLLIN};
	int n = poll(&p, 1, timeout_ms);
	assert_true(n >= 0);
	return n == 1 && (p.revents & POLLIN);
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static evq_t *make_queue(unsigned cap, int block_ms)
{
	err_t e = {0};
	evq_t *q = evq_create(cap, block_ms, &e);
	assert_non_null(q);
	return q;
}

/* ---- several producers: every message arrives, in order per producer ---- */

#define PRODUCERS 4
#define PER_PRODUCER 3000

struct producer_arg {
	evq_t *q;
	int id;
	int failures;
};

static void *producer_main(void *p)
{
	struct producer_arg *a = p;
	for (int i = 0; i < PER_PRODUCER; i++) {
		char text[32];
		snprintf(text, sizeof text, "%d:%d", a->id, i);
		err_t e = {0};
		/* a STEP event too, so more than one type is interleaved */
		struct evq_msg *m = (i % 3) ? evq_make_log(LOG_INFO, text) : evq_make_need_confirm(text, "x");
		if (evq_push(a->q, m, &e))
			a->failures++;
	}
	return NULL;
}

static void test_producers_keep_order(void **state)
{
	(void)state;
	evq_t *q = make_queue(8, 20000); /* small, so producers really block and wake */
	pthread_t th[PRODUCERS];
	struct producer_arg args[PRODUCERS];
	for (int i = 0; i < PRODUCERS; i++) {
		args[i] = (struct producer_arg){q, i, 0};
		assert_int_equal(pthread_create(&th[i], NULL, producer_main, &args[i]), 0);
	}
	int next[PRODUCERS] = {0};
	int received = 0;
	while (received < PRODUCERS * PER_PRODUCER) {
		struct evq_msg *m = evq_pop(q, 5000);
		assert_non_null(m);
		const char *text = m->type == EVQ_EV_LOG ? m->text : m->step;
		int id = -1, seq = -1;
		assert_int_equal(sscanf(text, "%d:%d", &id, &seq), 2);
		assert_true(id >= 0 && id < PRODUCERS);
		assert_int_equal(seq, next[id]);
		assert_int_equal(m->type, (seq % 3) ? EVQ_EV_LOG : EVQ_EV_NEED_CONFIRM);
		next[id]++;
		received++;
		evq_msg_free(m);
	}
	for (int i = 0; i < PRODUCERS; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(args[i].failures, 0);
		assert_int_equal(next[i], PER_PRODUCER);
	}
	assert_null(evq_pop(q, 0));
	struct evq_stats st;
	evq_get_stats(q, &st);
	assert_int_equal(st.pushed, PRODUCERS * PER_PRODUCER);
	assert_int_equal(st.popped, PRODUCERS * PER_PRODUCER);
	evq_destroy(q);
}

/* ---- coalescing ---- */

static void test_progress_coalesces_to_tail(void **state)
{
	(void)state;
	evq_t *q = make_queue(16, 0);
	assert_int_equal(evq_push(q, evq_make_progress("write", 1, 100, 10.0), NULL), 0);
	assert_int_equal(evq_push(q, evq_make_log(LOG_INFO, "between"), NULL), 0);
	assert_int_equal(evq_push(q, evq_make_progress("write", 2, 100, 20.0), NULL), 0);
	assert_int_equal(evq_push(q, evq_make_progress("verify", 7, 50, 5.0), NULL), 0);
	assert_int_equal(evq_push(q, evq_make_progress("write", 3, 100, 30.0), NULL), 0);
	assert_int_equal(evq_count_pending(q), 3);

	/* what arrives is a subsequence of what was pushed: LOG, verify 7, write 3 */
	struct evq_msg *m = evq_pop(q, 0);
	assert_int_equal(m->type, EVQ_EV_LOG);
	assert_string_equal(m->text, "between");
	evq_msg_free(m);
	m = evq_pop(q, 0);
	assert_int_equal(m->type, EVQ_EV_PROGRESS);
	assert_string_equal(m->step, "verify");
	assert_int_equal(m->done, 7);
	evq_msg_free(m);
	m = evq_pop(q, 0);
	assert_string_equal(m->step, "write");
	assert_int_equal(m->done, 3);
	assert_int_equal(m->total, 100);
	assert_true(m->bytes_per_s == 30.0);
	evq_msg_free(m);
	assert_null(evq_pop(q, 0));

	struct evq_stats st;
	evq_get_stats(q, &st);
	assert_int_equal(st.coalesced, 2);
	/* a popped progress is not replaced: the next one is queued anew */
	assert_int_equal(evq_push(q, evq_make_progress("write", 4, 100, 1.0), NULL), 0);
	assert_int_equal(evq_count_pending(q), 1);
	evq_destroy(q);
}

struct flood_arg {
	evq_t *q;
	uint64_t n;
};

static void *flood_main(void *p)
{
	struct flood_arg *a = p;
	for (uint64_t i = 1; i <= a->n; i++)
		evq_push(a->q, evq_make_progress("flash", i, a->n, 1e6), NULL);
	evq_push(a->q, evq_make_step("flash", EVQ_STEP_DONE), NULL);
	return NULL;
}

static void test_fast_progress_cannot_flood(void **state)
{
	(void)state;
	evq_t *q = make_queue(4, 5000);
	struct flood_arg a = {q, 200000};
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, flood_main, &a), 0);
	uint64_t last = 0, seen = 0;
	for (;;) {
		struct evq_msg *m = evq_pop(q, 5000);
		assert_non_null(m);
		if (m->type == EVQ_EV_STEP) {
			evq_msg_free(m);
			break;
		}
		assert_int_equal(m->type, EVQ_EV_PROGRESS);
		assert_true(m->done > last); /* never goes backwards */
		last = m->done;
		seen++;
		evq_msg_free(m);
		usleep(200); /* a slow UI */
	}
	pthread_join(th, NULL);
	assert_int_equal(last, a.n); /* the final state always arrives */
	assert_true(seen < a.n);     /* and far fewer events than were produced */
	assert_true(evq_count_pending(q) == 0);
	evq_destroy(q);
}

/* ---- overflow ---- */

struct blocked_arg {
	evq_t *q;
	int block_ms;
	int rc;
	double waited_ms;
	char msg[1024];
};

static void *blocked_push_main(void *p)
{
	struct blocked_arg *a = p;
	err_t e = {0};
	double t0 = now_ms();
	a->rc = evq_push_timeout(a->q, evq_make_error(ERR_CHECK, "late"), a->block_ms, &e);
	a->waited_ms = now_ms() - t0;
	snprintf(a->msg, sizeof a->msg, "%s", e.msg);
	return NULL;
}

static void test_overflow_policy(void **state)
{
	(void)state;
	evq_t *q = make_queue(3, 100);
	for (int i = 0; i < 3; i++)
		assert_int_equal(evq_push(q, evq_make_log(LOG_INFO, "fill"), NULL), 0);

	/* an ordinary event waits the queue's timeout, then reports the overflow */
	err_t e = {0};
	double t0 = now_ms();
	assert_int_equal(evq_push(q, evq_make_step("s", EVQ_STEP_RUNNING), &e), -1);
	assert_true(now_ms() - t0 >= 95);
	assert_int_equal(e.code, ERR_DEVICE);
	assert_non_null(strstr(e.msg, "full"));
	assert_non_null(strstr(e.msg, "step"));
	/* with no wait it fails at once */
	t0 = now_ms();
	assert_int_equal(evq_push_timeout(q, evq_make_log(LOG_INFO, "x"), 0, &e), -1);
	assert_true(now_ms() - t0 < 50);

	/* progress never blocks: dropped when there is nothing to replace */
	t0 = now_ms();
	assert_int_equal(evq_push(q, evq_make_progress("w", 1, 2, 0), NULL), 0);
	assert_true(now_ms() - t0 < 50);
	assert_int_equal(evq_count_pending(q), 3);

	/* ABORT always gets in, once */
	assert_int_equal(evq_push(q, evq_msg_new(EVQ_CMD_ABORT), NULL), 0);
	assert_int_equal(evq_push(q, evq_msg_new(EVQ_CMD_ABORT), NULL), 0);
	assert_int_equal(evq_count_pending(q), 4);

	struct evq_stats st;
	evq_get_stats(q, &st);
	assert_int_equal(st.overflows, 2);
	assert_int_equal(st.dropped_progress, 1);

	/* a producer blocked on a full queue proceeds as soon as the consumer takes two */
	struct blocked_arg a = {.q = q, .block_ms = 10000};
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, blocked_push_main, &a), 0);
	usleep(50000);
	evq_msg_free(evq_pop(q, 0));
	evq_msg_free(evq_pop(q, 0));
	pthread_join(th, NULL);
	assert_int_equal(a.rc, 0);
	assert_true(a.waited_ms >= 40 && a.waited_ms < 5000);

	/* remaining: fill, ABORT, ERROR, in push order */
	enum evq_type want[] = {EVQ_EV_LOG, EVQ_CMD_ABORT, EVQ_EV_ERROR};
	for (int i = 0; i < 3; i++) {
		struct evq_msg *m = evq_pop(q, 0);
		assert_non_null(m);
		assert_int_equal(m->type, want[i]);
		evq_msg_free(m);
	}
	assert_null(evq_pop(q, 0));
	/* once the ABORT is consumed a new one is queued again */
	assert_int_equal(evq_push(q, evq_msg_new(EVQ_CMD_ABORT), NULL), 0);
	assert_int_equal(evq_count_pending(q), 1);
	evq_destroy(q);
}

/* ---- shutdown ---- */

struct pop_arg {
	evq_t *q;
	struct evq_msg *got;
	int returned;
};

static void *blocked_pop_main(void *p)
{
	struct pop_arg *a = p;
	a->got = evq_pop(a->q, -1);
	a->returned = 1;
	return NULL;
}

static void test_close_wakes_everyone(void **state)
{
	(void)state;
	/* a consumer waiting forever on an empty queue */
	evq_t *q = make_queue(2, 60000);
	struct pop_arg pa = {q, NULL, 0};
	pthread_t consumer;
	assert_int_equal(pthread_create(&consumer, NULL, blocked_pop_main, &pa), 0);
	usleep(50000);
	assert_int_equal(pa.returned, 0);
	evq_close(q);
	pthread_join(consumer, NULL);
	assert_int_equal(pa.returned, 1);
	assert_null(pa.got);
	assert_true(evq_is_closed(q));
	evq_destroy(q);

	/* producers waiting (60 s) on a full queue */
	q = make_queue(2, 60000);
	assert_int_equal(evq_push(q, evq_make_log(LOG_INFO, "a"), NULL), 0);
	assert_int_equal(evq_push(q, evq_make_log(LOG_INFO, "b"), NULL), 0);
	struct blocked_arg ba[2] = {{.q = q, .block_ms = 60000}, {.q = q, .block_ms = 60000}};
	pthread_t prod[2];
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&prod[i], NULL, blocked_push_main, &ba[i]), 0);
	usleep(50000);
	double t0 = now_ms();
	evq_close(q);
	for (int i = 0; i < 2; i++) {
		pthread_join(prod[i], NULL);
		assert_int_equal(ba[i].rc, -1);
		assert_non_null(strstr(ba[i].msg, "closed"));
	}
	assert_true(now_ms() - t0 < 5000);
	/* what was queued before the close is still delivered, then NULL without waiting */
	struct evq_msg *m = evq_pop(q, -1);
	assert_string_equal(m->text, "a");
	evq_msg_free(m);
	m = evq_pop(q, -1);
	assert_string_equal(m->text, "b");
	evq_msg_free(m);
	assert_null(evq_pop(q, -1));
	/* pushes after the close fail, and the fd stays readable so poll loops notice */
	err_t e = {0};
	assert_int_equal(evq_push(q, evq_make_log(LOG_INFO, "c"), &e), -1);
	assert_non_null(strstr(e.msg, "closed"));
	assert_true(fd_readable(q, 0));
	evq_close(q); /* idempotent */
	evq_destroy(q);
}

/* ---- the wake-up fd ---- */

struct delayed_arg {
	evq_t *q;
};

static void *delayed_push_main(void *p)
{
	struct delayed_arg *a = p;
	usleep(100000);
	evq_push(a->q, evq_make_payload("MT:Y.K9042C00KA0648G00", "34970112332"), NULL);
	return NULL;
}

static void test_fd_readable_exactly_when_pending(void **state)
{
	(void)state;
	evq_t *q = make_queue(8, 0);
	assert_false(fd_readable(q, 0));
	assert_int_equal(evq_push(q, evq_make_log(LOG_INFO, "1"), NULL), 0);
	assert_true(fd_readable(q, 0));
	assert_int_equal(evq_push(q, evq_make_progress("p", 1, 2, 0), NULL), 0);
	assert_int_equal(evq_push(q, evq_make_progress("p", 2, 2, 0), NULL), 0);
	assert_true(fd_readable(q, 0));
	evq_msg_free(evq_pop(q, 0));
	assert_true(fd_readable(q, 0)); /* one still queued */
	evq_msg_free(evq_pop(q, 0));
	assert_false(fd_readable(q, 0));
	assert_null(evq_pop(q, 0));
	assert_false(fd_readable(q, 0));
	/* repeated rounds: the state follows the queue every time */
	for (int round = 0; round < 50; round++) {
		int n = 1 + round % 5;
		for (int i = 0; i < n; i++)
			assert_int_equal(evq_push(q, evq_make_step("s", EVQ_STEP_DONE), NULL), 0);
		for (int i = 0; i < n; i++) {
			assert_true(fd_readable(q, 0));
			evq_msg_free(evq_pop(q, 0));
		}
		assert_false(fd_readable(q, 0));
	}

	/* a consumer sleeping in poll() is woken by a push from another thread */
	struct delayed_arg a = {q};
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, delayed_push_main, &a), 0);
	double t0 = now_ms();
	assert_true(fd_readable(q, 10000));
	assert_true(now_ms() - t0 >= 50);
	pthread_join(th, NULL);
	struct evq_msg *m = evq_pop(q, 0);
	assert_int_equal(m->type, EVQ_EV_PAYLOAD);
	assert_string_equal(m->qr, "MT:Y.K9042C00KA0648G00");
	evq_msg_free(m);
	assert_false(fd_readable(q, 0));
	evq_close(q);
	assert_true(fd_readable(q, 0));
	evq_destroy(q);
}

/* ---- payload ownership and JSON lines ---- */

static json_t *parse_line(const char *line)
{
	assert_null(strchr(line, '\n'));
	json_error_t je;
	json_t *v = json_loads(line, 0, &je);
	assert_non_null(v);
	assert_true(json_is_object(v));
	return v;
}

static void test_payloads_are_owned_copies(void **state)
{
	(void)state;
	evq_t *q = make_queue(8, 0);
	char text[16] = "original";
	json_t *info = json_pack("{s:s,s:i}", "chip", "esp32h2", "revision", 1);
	assert_int_equal(evq_push(q, evq_make_data(EVQ_EV_CHIP, NULL, info), NULL), 0);
	assert_int_equal(evq_push(q, evq_make_log(LOG_WARN, text), NULL), 0);
	json_object_set_new(info, "chip", json_string("changed"));
	strcpy(text, "changed");
	json_decref(info);

	struct evq_msg *m = evq_pop(q, 0);
	assert_string_equal(json_string_value(json_object_get(m->data, "chip")), "esp32h2");
	struct evq_msg *c = evq_msg_copy(m);
	evq_msg_free(m);
	assert_string_equal(json_string_value(json_object_get(c->data, "chip")), "esp32h2");
	evq_msg_free(c);
	m = evq_pop(q, 0);
	assert_string_equal(m->text, "original");
	evq_msg_free(m);
	evq_destroy(q); /* also frees what is still queued (ASan checks) */

	q = make_queue(4, 0);
	evq_push(q, evq_make_log(LOG_INFO, "left behind"), NULL);
	evq_push(q, evq_make_data(EVQ_EV_PLAN, NULL, NULL), NULL);
	evq_destroy(q);
}

static void test_format_json_lines(void **state)
{
	(void)state;
	json_t *steps = json_pack("[{s:s},{s:s}]", "id", "burn-key", "id", "write");
	struct evq_msg *msgs[] = {
		evq_make_log(LOG_WARN, "low \"voltage\"\nsecond line"),
		evq_make_data(EVQ_EV_PLAN, NULL, steps),
		evq_make_step("burn-key", EVQ_STEP_FAILED),
		evq_make_progress("write", 4096, 65536, 115200.0),
		evq_make_need_confirm("burn-key", "Burn key block 4?"),
		evq_make_payload("MT:Y.K9042C00KA0648G00", "34970112332"),
		evq_make_done(0, NULL),
		evq_make_error(ERR_DEVICE, "port /dev/ttyUSB0 vanished"),
		evq_make_confirm("burn-key"),
		evq_make_text(EVQ_CMD_DETECT, "/dev/ttyUSB0"),
		evq_msg_new(EVQ_CMD_ABORT),
		evq_make_log(LOG_INFO, "bad \xff byte"),
	};
	json_decref(steps);
	char *lines[sizeof msgs / sizeof msgs[0]];
	json_t *v[sizeof msgs / sizeof msgs[0]];
	for (size_t i = 0; i < sizeof msgs / sizeof msgs[0]; i++) {
		lines[i] = evq_format_json(msgs[i]);
		v[i] = parse_line(lines[i]);
	}
	assert_string_equal(json_string_value(json_object_get(v[0], "event")), "log");
	assert_string_equal(json_string_value(json_object_get(v[0], "level")), "warning");
	assert_string_equal(json_string_value(json_object_get(v[0], "text")), "low \"voltage\"\nsecond line");
	assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(v[1], "steps"), 1), "id")),
			    "write");
	assert_string_equal(json_string_value(json_object_get(v[2], "state")), "failed");
	assert_string_equal(json_string_value(json_object_get(v[3], "event")), "progress");
	assert_int_equal(json_integer_value(json_object_get(v[3], "done")), 4096);
	assert_int_equal(json_integer_value(json_object_get(v[3], "total")), 65536);
	assert_true(json_real_value(json_object_get(v[3], "bytes_per_s")) == 115200.0);
	assert_string_equal(json_string_value(json_object_get(v[4], "event")), "need_confirm");
	assert_string_equal(json_string_value(json_object_get(v[4], "text")), "Burn key block 4?");
	assert_string_equal(json_string_value(json_object_get(v[5], "qr")), "MT:Y.K9042C00KA0648G00");
	assert_string_equal(json_string_value(json_object_get(v[5], "manual")), "34970112332");
	assert_int_equal(json_integer_value(json_object_get(v[6], "result")), 0);
	assert_int_equal(json_integer_value(json_object_get(v[7], "code")), ERR_DEVICE);
	assert_string_equal(json_string_value(json_object_get(v[8], "command")), "confirm");
	assert_null(json_object_get(v[8], "event"));
	assert_string_equal(json_string_value(json_object_get(v[8], "step")), "burn-key");
	assert_string_equal(json_string_value(json_object_get(v[9], "port")), "/dev/ttyUSB0");
	assert_string_equal(json_string_value(json_object_get(v[10], "command")), "abort");
	assert_string_equal(json_string_value(json_object_get(v[11], "text")), "bad ? byte");
	/* the key comes first, so a reader can dispatch on the line's start */
	assert_true(strncmp(lines[3], "{\"event\":\"progress\"", 19) == 0);
	for (size_t i = 0; i < sizeof msgs / sizeof msgs[0]; i++) {
		free(lines[i]);
		json_decref(v[i]);
		evq_msg_free(msgs[i]);
	}
}

static void test_parse_json_round_trip(void **state)
{
	(void)state;
	json_t *view = json_pack("{s:s,s:[i,i]}", "type", "nvs", "pages", 1, 2);
	struct evq_msg *msgs[] = {
		evq_make_text(EVQ_CMD_DETECT, "/dev/ttyACM0"),
		evq_make_text(EVQ_CMD_PLAN, "profiles/h2.ini"),
		evq_msg_new(EVQ_CMD_RUN),
		evq_make_confirm("burn-key"),
		evq_msg_new(EVQ_CMD_ABORT),
		evq_make_text(EVQ_CMD_READBACK, "fctry"),
		evq_make_text(EVQ_CMD_PRINT, "zebra1"),
		evq_make_log(LOG_ERROR, "x"),
		evq_make_data(EVQ_EV_CHIP, NULL, view),
		evq_make_data(EVQ_EV_PLAN, NULL, view),
		evq_make_step("write", EVQ_STEP_SKIPPED),
		evq_make_progress("write", 1, 3, 2.5),
		evq_make_need_confirm("burn", "sure?"),
		evq_make_data(EVQ_EV_PARTITION, "fctry", view),
		evq_make_payload("MT:Y.K9042C00KA0648G00", "34970112332"),
		evq_make_done(1, view),
		evq_make_error(ERR_CHECK, "verify mismatch at 0x3e0010"),
	};
	json_decref(view);
	for (size_t i = 0; i < sizeof msgs / sizeof msgs[0]; i++) {
		char *line = evq_format_json(msgs[i]);
		err_t e = {0};
		struct evq_msg *back = evq_parse_json(line, &e);
		if (!back)
			fail_msg("%s: %s", line, e.msg);
		assert_int_equal(back->type, msgs[i]->type);
		char *again = evq_format_json(back);
		assert_string_equal(again, line);
		free(again);
		free(line);
		evq_msg_free(back);
		evq_msg_free(msgs[i]);
	}
	/* "plan" is both a command and an event: the key decides */
	err_t e = {0};
	struct evq_msg *m = evq_parse_json("{\"command\":\"plan\",\"profile\":\"p.ini\"}", &e);
	assert_int_equal(m->type, EVQ_CMD_PLAN);
	evq_msg_free(m);
	static const struct {
		const char *line, *want;
	} bad[] = {
		{"{\"command\":\"confirm\"}", "\"step\" is missing"},
		{"{\"command\":\"reboot\"}", "unknown command \"reboot\""},
		{"{\"event\":\"progress\",\"step\":\"w\",\"done\":\"1\"}", "\"done\""},
		{"{\"event\":\"log\",\"level\":\"loud\",\"text\":\"x\"}", "\"level\""},
		{"{\"step\":\"x\"}", "neither"},
		{"[1]", "not an object"},
		{"{\"command\":", "column"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		memset(&e, 0, sizeof e);
		assert_null(evq_parse_json(bad[i].line, &e));
		if (!strstr(e.msg, bad[i].want))
			fail_msg("%s: '%s' lacks '%s'", bad[i].line, e.msg, bad[i].want);
	}
}

static void test_log_sink_never_blocks(void **state)
{
	(void)state;
	evq_t *q = make_queue(2, 60000);
	double t0 = now_ms();
	for (int i = 0; i < 5; i++)
		evq_sink_log(q, LOG_INFO, "line");
	assert_true(now_ms() - t0 < 1000);
	assert_int_equal(evq_count_pending(q), 2);
	struct evq_stats st;
	evq_get_stats(q, &st);
	assert_int_equal(st.overflows, 3);
	evq_destroy(q);
}

int main(void)
{
	alarm(120); /* a wake-up bug must fail the test, not hang it */
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_producers_keep_order),
		cmocka_unit_test(test_progress_coalesces_to_tail),
		cmocka_unit_test(test_fast_progress_cannot_flood),
		cmocka_unit_test(test_overflow_policy),
		cmocka_unit_test(test_close_wakes_everyone),
		cmocka_unit_test(test_fd_readable_exactly_when_pending),
		cmocka_unit_test(test_payloads_are_owned_copies),
		cmocka_unit_test(test_format_json_lines),
		cmocka_unit_test(test_parse_json_round_trip),
		cmocka_unit_test(test_log_sink_never_blocks),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
