#include "core/evq.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "core/buf.h"

struct evq {
	pthread_mutex_t lock;
	pthread_cond_t not_empty;
	pthread_cond_t not_full;
	struct evq_msg *head, *tail;
	unsigned count, capacity;
	int block_ms;
	int closed;
	int fd;
	int fd_signalled;   /* the eventfd counter is non-zero */
	int abort_queued;
	struct evq_stats stats;
};

static const char *const evq_type_names[EVQ_TYPE_COUNT] = {
	[EVQ_CMD_DETECT] = "detect",
	[EVQ_CMD_PLAN] = "plan",
	[EVQ_CMD_RUN] = "run",
	[EVQ_CMD_CONFIRM] = "confirm",
	[EVQ_CMD_ABORT] = "abort",
	[EVQ_CMD_READBACK] = "readback",
	[EVQ_CMD_PRINT] = "print",
	[EVQ_EV_LOG] = "log",
	[EVQ_EV_CHIP] = "chip",
	[EVQ_EV_PLAN] = "plan",
	[EVQ_EV_STEP] = "step",
	[EVQ_EV_PROGRESS] = "progress",
	[EVQ_EV_NEED_CONFIRM] = "need_confirm",
	[EVQ_EV_PARTITION] = "partition",
	[EVQ_EV_PAYLOAD] = "payload",
	[EVQ_EV_DONE] = "done",
	[EVQ_EV_ERROR] = "error",
};

const char *evq_name_type(enum evq_type type)
{
	if ((unsigned)type >= EVQ_TYPE_COUNT)
		return "?";
	return evq_type_names[type];
}

const char *evq_name_state(enum evq_step_state state)
{
	switch (state) {
	case EVQ_STEP_PENDING: return "pending";
	case EVQ_STEP_RUNNING: return "running";
	case EVQ_STEP_DONE: return "done";
	case EVQ_STEP_FAILED: return "failed";
	case EVQ_STEP_SKIPPED: return "skipped";
	}
	return "?";
}

int evq_is_command(enum evq_type type)
{
	return type <= EVQ_CMD_PRINT;
}

/* ---- messages ---- */

struct evq_msg *evq_msg_new(enum evq_type type)
{
	struct evq_msg *m = mem_alloc_zeroed(sizeof *m);
	m->type = type;
	return m;
}

void evq_msg_free(struct evq_msg *m)
{
	if (!m)
		return;
	free(m->step);
	free(m->text);
	free(m->qr);
	free(m->manual);
	json_decref(m->data);
	free(m);
}

static char *evq_dup(const char *s)
{
	return s ? mem_strdup(s) : NULL;
}

static json_t *evq_copy_json(const json_t *v)
{
	if (!v)
		return NULL;
	json_t *c = json_deep_copy(v);
	if (!c)
		abort(); /* out of memory, as buf.h does */
	return c;
}

struct evq_msg *evq_msg_copy(const struct evq_msg *m)
{
	struct evq_msg *c = evq_msg_new(m->type);
	c->step = evq_dup(m->step);
	c->text = evq_dup(m->text);
	c->qr = evq_dup(m->qr);
	c->manual = evq_dup(m->manual);
	c->data = evq_copy_json(m->data);
	c->level = m->level;
	c->code = m->code;
	c->state = m->state;
	c->done = m->done;
	c->total = m->total;
	c->bytes_per_s = m->bytes_per_s;
	return c;
}

struct evq_msg *evq_make_text(enum evq_type type, const char *text)
{
	struct evq_msg *m = evq_msg_new(type);
	m->text = evq_dup(text);
	return m;
}

struct evq_msg *evq_make_confirm(const char *step)
{
	struct evq_msg *m = evq_msg_new(EVQ_CMD_CONFIRM);
	m->step = evq_dup(step);
	return m;
}

struct evq_msg *evq_make_log(int level, const char *text)
{
	struct evq_msg *m = evq_make_text(EVQ_EV_LOG, text);
	m->level = level;
	return m;
}

struct evq_msg *evq_make_data(enum evq_type type, const char *text, const json_t *data)
{
	struct evq_msg *m = evq_make_text(type, text);
	m->data = evq_copy_json(data);
	return m;
}

struct evq_msg *evq_make_step(const char *step, enum evq_step_state state)
{
	struct evq_msg *m = evq_msg_new(EVQ_EV_STEP);
	m->step = evq_dup(step);
	m->state = state;
	return m;
}

struct evq_msg *evq_make_progress(const char *step, uint64_t done, uint64_t total, double bytes_per_s)
{
	struct evq_msg *m = evq_msg_new(EVQ_EV_PROGRESS);
	m->step = evq_dup(step);
	m->done = done;
	m->total = total;
	m->bytes_per_s = bytes_per_s;
	return m;
}

struct evq_msg *evq_make_need_confirm(const char *step, const char *text)
{
	struct evq_msg *m = evq_make_text(EVQ_EV_NEED_CONFIRM, text);
	m->step = evq_dup(step);
	return m;
}

struct evq_msg *evq_make_payload(const char *qr, const char *manual)
{
	struct evq_msg *m = evq_msg_new(EVQ_EV_PAYLOAD);
	m->qr = evq_dup(qr);
	m->manual = evq_dup(manual);
	return m;
}

struct evq_msg *evq_make_done(int result, const json_t *summary)
{
	struct evq_msg *m = evq_msg_new(EVQ_EV_DONE);
	m->code = result;
	m->data = evq_copy_json(summary);
	return m;
}

struct evq_msg *evq_make_error(int code, const char *text)
{
	struct evq_msg *m = evq_make_text(EVQ_EV_ERROR, text);
	m->code = code;
	return m;
}

/* ---- the queue ---- */

evq_t *evq_create(unsigned capacity, int block_ms, err_t *e)
{
	if (capacity == 0)
		capacity = 1;
	int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (fd < 0) {
		err_set_msg(e, ERR_DEVICE, "event queue: eventfd: %s", strerror(errno));
		return NULL;
	}
	evq_t *q = mem_alloc_zeroed(sizeof *q);
	q->fd = fd;
	q->capacity = capacity;
	q->block_ms = block_ms < 0 ? 0 : block_ms;
	pthread_mutex_init(&q->lock, NULL);
	/* Timeouts on the monotonic clock, so a wall-clock step cannot stretch or cut a wait. */
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&q->not_empty, &ca);
	pthread_cond_init(&q->not_full, &ca);
	pthread_condattr_destroy(&ca);
	return q;
}

void evq_destroy(evq_t *q)
{
	if (!q)
		return;
	struct evq_msg *m = q->head;
	while (m) {
		struct evq_msg *next = m->next;
		evq_msg_free(m);
		m = next;
	}
	close(q->fd);
	pthread_cond_destroy(&q->not_empty);
	pthread_cond_destroy(&q->not_full);
	pthread_mutex_destroy(&q->lock);
	free(q);
}

/* The fd mirrors "something is queued": raised on empty → non-empty, lowered on → empty. Both
 * happen under the lock, so poll() never sees a stale state for long. */
static void evq_raise_fd(evq_t *q)
{
	if (q->fd_signalled)
		return;
	uint64_t one = 1;
	ssize_t n = write(q->fd, &one, sizeof one);
	(void)n; /* only fails when the counter would overflow, which one write cannot do */
	q->fd_signalled = 1;
}

static void evq_lower_fd(evq_t *q)
{
	if (!q->fd_signalled || q->closed)
		return;
	uint64_t v;
	ssize_t n = read(q->fd, &v, sizeof v);
	(void)n;
	q->fd_signalled = 0;
}

void evq_close(evq_t *q)
{
	pthread_mutex_lock(&q->lock);
	if (!q->closed) {
		evq_raise_fd(q);
		q->closed = 1;
	}
	pthread_cond_broadcast(&q->not_empty);
	pthread_cond_broadcast(&q->not_full);
	pthread_mutex_unlock(&q->lock);
}

int evq_is_closed(evq_t *q)
{
	pthread_mutex_lock(&q->lock);
	int c = q->closed;
	pthread_mutex_unlock(&q->lock);
	return c;
}

int evq_get_fd(evq_t *q)
{
	return q->fd;
}

static void evq_append_locked(evq_t *q, struct evq_msg *m)
{
	m->next = NULL;
	m->prev = q->tail;
	if (q->tail)
		q->tail->next = m;
	else
		q->head = m;
	q->tail = m;
	q->count++;
	q->stats.pushed++;
	if (m->type == EVQ_CMD_ABORT)
		q->abort_queued = 1;
	evq_raise_fd(q);
	pthread_cond_signal(&q->not_empty);
}

static void evq_unlink_locked(evq_t *q, struct evq_msg *m)
{
	if (m->prev)
		m->prev->next = m->next;
	else
		q->head = m->next;
	if (m->next)
		m->next->prev = m->prev;
	else
		q->tail = m->prev;
	m->prev = m->next = NULL;
	q->count--;
	if (m->type == EVQ_CMD_ABORT)
		q->abort_queued = 0;
}

static int evq_same_step(const char *a, const char *b)
{
	if (!a || !b)
		return a == b;
	return strcmp(a, b) == 0;
}

static struct evq_msg *evq_find_progress_locked(evq_t *q, const char *step)
{
	for (struct evq_msg *m = q->tail; m; m = m->prev)
		if (m->type == EVQ_EV_PROGRESS && evq_same_step(m->step, step))
			return m;
	return NULL;
}

static void evq_deadline_after(struct timespec *ts, int ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

int evq_push_timeout(evq_t *q, struct evq_msg *m, int block_ms, err_t *e)
{
	err_t scratch;
	if (!e)
		e = &scratch;
	if (!m)
		return err_set_msg(e, ERR_USAGE, "event queue: no message");
	pthread_mutex_lock(&q->lock);
	if (q->closed)
		goto closed;
	if (m->type == EVQ_EV_PROGRESS) {
		struct evq_msg *old = evq_find_progress_locked(q, m->step);
		if (old) {
			evq_unlink_locked(q, old);
			evq_msg_free(old);
			q->stats.coalesced++;
			q->stats.pushed--; /* the replaced one was counted already */
		} else if (q->count >= q->capacity) {
			q->stats.dropped_progress++;
			pthread_mutex_unlock(&q->lock);
			evq_msg_free(m);
			return 0;
		}
		evq_append_locked(q, m);
		pthread_mutex_unlock(&q->lock);
		return 0;
	}
	if (m->type == EVQ_CMD_ABORT) {
		if (q->abort_queued)
			evq_msg_free(m);
		else
			evq_append_locked(q, m);
		pthread_mutex_unlock(&q->lock);
		return 0;
	}
	if (q->count >= q->capacity && block_ms > 0) {
		struct timespec deadline;
		evq_deadline_after(&deadline, block_ms);
		while (q->count >= q->capacity && !q->closed) {
			if (pthread_cond_timedwait(&q->not_full, &q->lock, &deadline) == ETIMEDOUT)
				break;
		}
		if (q->closed)
			goto closed;
	}
	if (q->count >= q->capacity) {
		q->stats.overflows++;
		unsigned cap = q->capacity;
		pthread_mutex_unlock(&q->lock);
		err_set_msg(e, ERR_DEVICE,
			    "event queue full (%u messages, nobody read for %d ms): %s dropped", cap,
			    block_ms, evq_name_type(m->type));
		evq_msg_free(m);
		return -1;
	}
	evq_append_locked(q, m);
	pthread_mutex_unlock(&q->lock);
	return 0;

closed:
	pthread_mutex_unlock(&q->lock);
	err_set_msg(e, ERR_DEVICE, "event queue closed: %s dropped", evq_name_type(m->type));
	evq_msg_free(m);
	return -1;
}

int evq_push(evq_t *q, struct evq_msg *m, err_t *e)
{
	return evq_push_timeout(q, m, q->block_ms, e);
}

struct evq_msg *evq_pop(evq_t *q, int timeout_ms)
{
	pthread_mutex_lock(&q->lock);
	if (!q->head && !q->closed && timeout_ms != 0) {
		struct timespec deadline;
		if (timeout_ms > 0)
			evq_deadline_after(&deadline, timeout_ms);
		while (!q->head && !q->closed) {
			if (timeout_ms < 0)
				pthread_cond_wait(&q->not_empty, &q->lock);
			else if (pthread_cond_timedwait(&q->not_empty, &q->lock, &deadline) == ETIMEDOUT)
				break;
		}
	}
	struct evq_msg *m = q->head;
	if (m) {
		evq_unlink_locked(q, m);
		q->stats.popped++;
		if (!q->head)
			evq_lower_fd(q);
		pthread_cond_broadcast(&q->not_full);
	}
	pthread_mutex_unlock(&q->lock);
	return m;
}

unsigned evq_count_pending(evq_t *q)
{
	pthread_mutex_lock(&q->lock);
	unsigned n = q->count;
	pthread_mutex_unlock(&q->lock);
	return n;
}

void evq_get_stats(evq_t *q, struct evq_stats *out)
{
	pthread_mutex_lock(&q->lock);
	*out = q->stats;
	pthread_mutex_unlock(&q->lock);
}

void evq_sink_log(void *ctx, enum log_level level, const char *line)
{
	evq_push_timeout(ctx, evq_make_log(level, line), 0, NULL);
}

/* ---- JSON lines ---- */

/* jansson refuses invalid UTF-8; a log line from a device may carry stray bytes. */
static json_t *evq_json_text(const char *s)
{
	json_t *v = json_string(s ? s : "");
	if (v)
		return v;
	char *c = mem_strdup(s);
	for (char *p = c; *p; p++)
		if ((unsigned char)*p >= 0x80)
			*p = '?';
	v = json_string(c);
	free(c);
	return v;
}

static void evq_put_text(json_t *o, const char *key, const char *s)
{
	json_object_set_new(o, key, s ? evq_json_text(s) : json_null());
}

static void evq_put_data(json_t *o, const char *key, const json_t *d)
{
	json_object_set_new(o, key, d ? json_deep_copy(d) : json_null());
}

char *evq_format_json(const struct evq_msg *m)
{
	json_t *o = json_object();
	json_object_set_new(o, evq_is_command(m->type) ? "command" : "event",
			    json_string(evq_name_type(m->type)));
	switch (m->type) {
	case EVQ_CMD_DETECT:
		evq_put_text(o, "port", m->text);
		break;
	case EVQ_CMD_PLAN:
		evq_put_text(o, "profile", m->text);
		break;
	case EVQ_CMD_RUN:
	case EVQ_CMD_ABORT:
	case EVQ_TYPE_COUNT:
		break;
	case EVQ_CMD_CONFIRM:
		evq_put_text(o, "step", m->step);
		break;
	case EVQ_CMD_READBACK:
		evq_put_text(o, "partition", m->text);
		break;
	case EVQ_CMD_PRINT:
		evq_put_text(o, "target", m->text);
		break;
	case EVQ_EV_LOG:
		json_object_set_new(o, "level", json_string(log_name_level((enum log_level)m->level)));
		evq_put_text(o, "text", m->text);
		break;
	case EVQ_EV_CHIP:
		evq_put_data(o, "info", m->data);
		break;
	case EVQ_EV_PLAN:
		evq_put_data(o, "steps", m->data);
		break;
	case EVQ_EV_STEP:
		evq_put_text(o, "step", m->step);
		json_object_set_new(o, "state", json_string(evq_name_state(m->state)));
		break;
	case EVQ_EV_PROGRESS:
		evq_put_text(o, "step", m->step);
		json_object_set_new(o, "done", json_integer((json_int_t)m->done));
		json_object_set_new(o, "total", json_integer((json_int_t)m->total));
		json_object_set_new(o, "bytes_per_s", json_real(m->bytes_per_s));
		break;
	case EVQ_EV_NEED_CONFIRM:
		evq_put_text(o, "step", m->step);
		evq_put_text(o, "text", m->text);
		break;
	case EVQ_EV_PARTITION:
		evq_put_text(o, "name", m->text);
		evq_put_data(o, "view", m->data);
		break;
	case EVQ_EV_PAYLOAD:
		evq_put_text(o, "qr", m->qr);
		evq_put_text(o, "manual", m->manual);
		break;
	case EVQ_EV_DONE:
		json_object_set_new(o, "result", json_integer(m->code));
		if (m->data)
			evq_put_data(o, "summary", m->data);
		break;
	case EVQ_EV_ERROR:
		json_object_set_new(o, "code", json_integer(m->code));
		evq_put_text(o, "text", m->text);
		break;
	}
	char *s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (!s)
		abort();
	return s;
}

static int evq_get_text(json_t *o, const char *key, int required, char **out, err_t *e)
{
	json_t *v = json_object_get(o, key);
	if (!v || json_is_null(v)) {
		if (required)
			return err_set_msg(e, ERR_USAGE, "JSON line: \"%s\" is missing", key);
		return 0;
	}
	if (!json_is_string(v))
		return err_set_msg(e, ERR_USAGE, "JSON line: \"%s\" is not a string", key);
	*out = mem_strdup(json_string_value(v));
	return 0;
}

static int evq_get_int(json_t *o, const char *key, json_int_t *out, err_t *e)
{
	json_t *v = json_object_get(o, key);
	if (!json_is_integer(v))
		return err_set_msg(e, ERR_USAGE, "JSON line: \"%s\" is missing or not an integer", key);
	*out = json_integer_value(v);
	return 0;
}

static int evq_get_data(json_t *o, const char *key, json_t **out)
{
	json_t *v = json_object_get(o, key);
	if (v && !json_is_null(v))
		*out = json_deep_copy(v);
	return 0;
}

static int evq_parse_fields(json_t *o, struct evq_msg *m, err_t *e)
{
	json_int_t n = 0;
	const char *s;
	switch (m->type) {
	case EVQ_CMD_DETECT:
		return evq_get_text(o, "port", 1, &m->text, e);
	case EVQ_CMD_PLAN:
		return evq_get_text(o, "profile", 1, &m->text, e);
	case EVQ_CMD_RUN:
	case EVQ_CMD_ABORT:
	case EVQ_TYPE_COUNT:
		return 0;
	case EVQ_CMD_CONFIRM:
		return evq_get_text(o, "step", 1, &m->step, e);
	case EVQ_CMD_READBACK:
		return evq_get_text(o, "partition", 1, &m->text, e);
	case EVQ_CMD_PRINT:
		return evq_get_text(o, "target", 0, &m->text, e);
	case EVQ_EV_LOG:
		s = json_string_value(json_object_get(o, "level"));
		m->level = -1;
		for (int l = LOG_DEBUG; s && l <= LOG_ERROR; l++)
			if (!strcmp(s, log_name_level((enum log_level)l)))
				m->level = l;
		if (m->level < 0)
			return err_set_msg(e, ERR_USAGE, "JSON line: \"level\" is not debug, info, warning or error");
		return evq_get_text(o, "text", 1, &m->text, e);
	case EVQ_EV_CHIP:
		return evq_get_data(o, "info", &m->data);
	case EVQ_EV_PLAN:
		return evq_get_data(o, "steps", &m->data);
	case EVQ_EV_STEP:
		s = json_string_value(json_object_get(o, "state"));
		for (int st = EVQ_STEP_PENDING; s && st <= EVQ_STEP_SKIPPED; st++)
			if (!strcmp(s, evq_name_state((enum evq_step_state)st))) {
				m->state = (enum evq_step_state)st;
				return evq_get_text(o, "step", 1, &m->step, e);
			}
		return err_set_msg(e, ERR_USAGE, "JSON line: \"state\" is not a step state");
	case EVQ_EV_PROGRESS:
		if (evq_get_text(o, "step", 1, &m->step, e) || evq_get_int(o, "done", &n, e))
			return -1;
		m->done = (uint64_t)n;
		if (evq_get_int(o, "total", &n, e))
			return -1;
		m->total = (uint64_t)n;
		if (!json_is_number(json_object_get(o, "bytes_per_s")))
			return err_set_msg(e, ERR_USAGE, "JSON line: \"bytes_per_s\" is missing or not a number");
		m->bytes_per_s = json_number_value(json_object_get(o, "bytes_per_s"));
		return 0;
	case EVQ_EV_NEED_CONFIRM:
		if (evq_get_text(o, "step", 1, &m->step, e))
			return -1;
		return evq_get_text(o, "text", 1, &m->text, e);
	case EVQ_EV_PARTITION:
		if (evq_get_text(o, "name", 1, &m->text, e))
			return -1;
		return evq_get_data(o, "view", &m->data);
	case EVQ_EV_PAYLOAD:
		if (evq_get_text(o, "qr", 1, &m->qr, e))
			return -1;
		return evq_get_text(o, "manual", 1, &m->manual, e);
	case EVQ_EV_DONE:
		if (evq_get_int(o, "result", &n, e))
			return -1;
		m->code = (int)n;
		return evq_get_data(o, "summary", &m->data);
	case EVQ_EV_ERROR:
		if (evq_get_int(o, "code", &n, e))
			return -1;
		m->code = (int)n;
		return evq_get_text(o, "text", 1, &m->text, e);
	}
	return 0;
}

struct evq_msg *evq_parse_json(const char *line, err_t *e)
{
	json_error_t je;
	json_t *o = json_loads(line, JSON_REJECT_DUPLICATES, &je);
	if (!o) {
		err_set_msg(e, ERR_USAGE, "JSON line, column %d: %s", je.column, je.text);
		return NULL;
	}
	struct evq_msg *m = NULL;
	const char *name = NULL;
	int command = 0;
	if (!json_is_object(o)) {
		err_set_msg(e, ERR_USAGE, "JSON line: not an object");
		goto out;
	}
	if (json_is_string(json_object_get(o, "command"))) {
		name = json_string_value(json_object_get(o, "command"));
		command = 1;
	} else if (json_is_string(json_object_get(o, "event"))) {
		name = json_string_value(json_object_get(o, "event"));
	} else {
		err_set_msg(e, ERR_USAGE, "JSON line: neither \"command\" nor \"event\" is given");
		goto out;
	}
	for (int t = 0; t < EVQ_TYPE_COUNT; t++) {
		if (evq_is_command((enum evq_type)t) == command && !strcmp(name, evq_type_names[t])) {
			m = evq_msg_new((enum evq_type)t);
			break;
		}
	}
	if (!m) {
		err_set_msg(e, ERR_USAGE, "JSON line: unknown %s \"%s\"", command ? "command" : "event", name);
		goto out;
	}
	if (evq_parse_fields(o, m, e)) {
		err_prepend_context(e, "%s \"%s\"", command ? "command" : "event", name);
		evq_msg_free(m);
		m = NULL;
	}
out:
	json_decref(o);
	return m;
}
