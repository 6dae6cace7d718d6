#include "ui_script.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/buf.h"
#include "core/fileio.h"
#include "core/log.h"

struct ui_script {
	json_t *lines; /* array of objects */
	evq_t *cmds, *events;
	int pace_ms;
	atomic_int stop;
	pthread_t thread;
	int started;
};

static int ui_script_find_type(const char *name, int commands)
{
	for (int t = 0; t < EVQ_TYPE_COUNT; t++)
		if (!!evq_is_command((enum evq_type)t) == !!commands &&
		    !strcmp(evq_name_type((enum evq_type)t), name))
			return t;
	return -1;
}

static const char *ui_script_str(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static uint64_t ui_script_u64(const json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);
	if (json_is_integer(v) && json_integer_value(v) > 0)
		return (uint64_t)json_integer_value(v);
	return 0;
}

struct evq_msg *ui_script_parse_event(const json_t *o, err_t *e)
{
	const char *name = ui_script_str(o, "event");
	int t = name ? ui_script_find_type(name, 0) : -1;
	if (t < 0) {
		err_set_msg(e, ERR_CHECK, "not an event: \"event\" is %s", name ? name : "missing");
		return NULL;
	}
	switch ((enum evq_type)t) {
	case EVQ_EV_LOG: {
		int level = LOG_INFO;
		const char *ln = ui_script_str(o, "level");
		for (int l = LOG_DEBUG; ln && l <= LOG_ERROR; l++)
			if (!strcmp(ln, log_name_level((enum log_level)l)))
				level = l;
		return evq_make_log(level, ui_script_str(o, "text"));
	}
	case EVQ_EV_CHIP:
		return evq_make_data(EVQ_EV_CHIP, NULL, json_object_get(o, "info"));
	case EVQ_EV_PLAN:
		return evq_make_data(EVQ_EV_PLAN, NULL, json_object_get(o, "steps"));
	case EVQ_EV_STEP: {
		const char *st = ui_script_str(o, "state");
		enum evq_step_state s = EVQ_STEP_PENDING;
		for (int k = EVQ_STEP_PENDING; st && k <= EVQ_STEP_SKIPPED; k++)
			if (!strcmp(st, evq_name_state((enum evq_step_state)k)))
				s = (enum evq_step_state)k;
		return evq_make_step(ui_script_str(o, "step"), s);
	}
	case EVQ_EV_PROGRESS:
		return evq_make_progress(ui_script_str(o, "step"), ui_script_u64(o, "done"),
					 ui_script_u64(o, "total"),
					 json_number_value(json_object_get(o, "bytes_per_s")));
	case EVQ_EV_NEED_CONFIRM:
		return evq_make_need_confirm(ui_script_str(o, "step"), ui_script_str(o, "text"));
	case EVQ_EV_PARTITION:
		return evq_make_data(EVQ_EV_PARTITION, ui_script_str(o, "name"), json_object_get(o, "view"));
	case EVQ_EV_PAYLOAD:
		return evq_make_payload(ui_script_str(o, "qr"), ui_script_str(o, "manual"));
	case EVQ_EV_DONE:
		return evq_make_done((int)json_integer_value(json_object_get(o, "result")),
				     json_object_get(o, "summary"));
	case EVQ_EV_ERROR:
		return evq_make_error((int)json_integer_value(json_object_get(o, "code")),
				      ui_script_str(o, "text"));
	default:
		break;
	}
	err_set_msg(e, ERR_CHECK, "event %s cannot be replayed", name);
	return NULL;
}

static void ui_script_sleep(struct ui_script *s, long ms)
{
	while (ms > 0 && !atomic_load(&s->stop)) {
		long step = ms > 50 ? 50 : ms;
		struct timespec ts = {0, step * 1000000L};
		nanosleep(&ts, NULL);
		ms -= step;
	}
}

/* Waits for a command of the given type; other commands are acknowledged in the log. */
static int ui_script_await(struct ui_script *s, int type)
{
	while (!atomic_load(&s->stop)) {
		struct evq_msg *m = evq_pop(s->cmds, 100);
		if (!m) {
			if (evq_is_closed(s->cmds))
				return -1;
			continue;
		}
		int match = (int)m->type == type;
		int abort_cmd = m->type == EVQ_CMD_ABORT;
		evq_msg_free(m);
		if (match)
			return 0;
		if (abort_cmd) {
			evq_push(s->events, evq_make_log(LOG_WARN, "replay: aborted by the operator"), NULL);
			evq_push(s->events, evq_make_done(1, NULL), NULL);
			return -1;
		}
	}
	return -1;
}

static void *ui_script_thread(void *arg)
{
	struct ui_script *s = arg;
	size_t i;
	json_t *o;
	json_array_foreach(s->lines, i, o) {
		if (atomic_load(&s->stop))
			break;
		const char *await = ui_script_str(o, "await");
		if (await) {
			int t = ui_script_find_type(await, 1);
			if (t < 0 || ui_script_await(s, t))
				break;
			continue;
		}
		json_t *sl = json_object_get(o, "sleep_ms");
		if (json_is_integer(sl)) {
			ui_script_sleep(s, (long)json_integer_value(sl));
			continue;
		}
		err_t e = {0};
		struct evq_msg *m = ui_script_parse_event(o, &e);
		if (!m) {
			char line[1100];
			snprintf(line, sizeof line, "replay line %zu: %s", i + 1, e.msg);
			m = evq_make_log(LOG_WARN, line);
		}
		if (evq_push(s->events, m, NULL))
			break;
		ui_script_sleep(s, s->pace_ms);
	}
	return NULL;
}

struct ui_script *ui_script_start(const char *path, evq_t *cmds, evq_t *events, int pace_ms,
				  err_t *e)
{
	buf_t text = BUF_INIT;
	if (fileio_read_file(path, &text, e))
		return NULL;
	buf_terminate_str(&text);
	json_t *lines = json_array();
	char *p = (char *)text.data;
	int lineno = 0;
	while (p && *p) {
		char *nl = strchr(p, '\n');
		if (nl)
			*nl = 0;
		lineno++;
		while (*p == ' ' || *p == '\t' || *p == '\r')
			p++;
		if (*p && *p != '#') {
			json_error_t je;
			json_t *o = json_loads(p, 0, &je);
			if (!json_is_object(o)) {
				json_decref(o);
				json_decref(lines);
				buf_free_data(&text);
				err_set_msg(e, ERR_CHECK, "%s:%d: not a JSON object (%s)", path, lineno, je.text);
				return NULL;
			}
			json_array_append_new(lines, o);
		}
		p = nl ? nl + 1 : NULL;
	}
	buf_free_data(&text);
	struct ui_script *s = calloc(1, sizeof *s);
	if (!s)
		abort();
	s->lines = lines;
	s->cmds = cmds;
	s->events = events;
	s->pace_ms = pace_ms;
	if (pthread_create(&s->thread, NULL, ui_script_thread, s)) {
		json_decref(lines);
		free(s);
		err_set_msg(e, ERR_DEVICE, "cannot start the replay thread");
		return NULL;
	}
	s->started = 1;
	return s;
}

void ui_script_stop(struct ui_script *s)
{
	if (!s)
		return;
	atomic_store(&s->stop, 1);
	if (s->started)
		pthread_join(s->thread, NULL);
	json_decref(s->lines);
	free(s);
}
