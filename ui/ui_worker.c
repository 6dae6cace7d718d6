#include "ui_worker.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/buf.h"
#include "core/log.h"
#include "label/label_layout.h"
#include "label/label_png.h"
#include "label/label_print.h"
#include "label/label_template.h"
#include "ui_inspect.h"

#if UI_HAVE_ENGINE
#include "flow/device_rom.h"
#include "flow/engine.h"
#include "flow/profile.h"
#endif

#define UI_WORKER_WAIT_MS 100

struct ui_worker {
	evq_t *cmds, *events;
	struct ui_worker_opts opt;
	pthread_t thread;
	atomic_int stop;
	char port[256];
	char profile[1024];
	json_t *plan;     /* the last PLAN view (steps with offsets) */
	char qr[128], manual[32], serial[64];
	char mac[20];     /* from the last CHIP event: finds the device's manifest row */
	bool preview;     /* a dry run: only the chip and the plan go to the front end */
	bool aborted;
};

int ui_worker_available(void)
{
	return UI_HAVE_ENGINE;
}

static void ui_worker_push(struct ui_worker *w, struct evq_msg *m)
{
	evq_push(w->events, m, NULL);
}

static void ui_worker_log(struct ui_worker *w, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void ui_worker_log(struct ui_worker *w, int level, const char *fmt, ...)
{
	char line[1200];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	ui_worker_push(w, evq_make_log(level, line));
}

#if UI_HAVE_ENGINE
static enum evq_step_state ui_worker_state(enum engine_step_state s)
{
	switch (s) {
	case ENGINE_STEP_PENDING: return EVQ_STEP_PENDING;
	case ENGINE_STEP_RUNNING: return EVQ_STEP_RUNNING;
	case ENGINE_STEP_DONE: return EVQ_STEP_DONE;
	case ENGINE_STEP_FAILED: return EVQ_STEP_FAILED;
	case ENGINE_STEP_SKIPPED: return EVQ_STEP_SKIPPED;
	}
	return EVQ_STEP_PENDING;
}

static void ui_worker_emit(void *ctx, const struct engine_event *ev)
{
	struct ui_worker *w = ctx;
	struct evq_msg *m = NULL;
	switch (ev->type) {
	case ENGINE_EV_LOG:
		if (w->preview && ev->level < LOG_WARN)
			return;
		m = evq_make_log(ev->level, ev->text);
		break;
	case ENGINE_EV_CHIP:
		snprintf(w->mac, sizeof w->mac, "%s",
			 json_string_value(json_object_get(ev->data, "mac")) ? json_string_value(json_object_get(ev->data, "mac")) : "");
		m = evq_make_data(EVQ_EV_CHIP, NULL, ev->data);
		break;
	case ENGINE_EV_PLAN:
		json_decref(w->plan);
		w->plan = ev->data ? json_deep_copy(ev->data) : NULL;
		m = evq_make_data(EVQ_EV_PLAN, NULL, ev->data);
		break;
	case ENGINE_EV_STEP:
		/* the preview's own steps would look as if the run had started */
		if (w->preview)
			return;
		m = evq_make_step(ev->step, ui_worker_state(ev->state));
		break;
	case ENGINE_EV_PROGRESS:
		if (w->preview)
			return;
		m = evq_make_progress(ev->step, ev->done, ev->total, ev->bytes_per_s);
		break;
	case ENGINE_EV_NEED_CONFIRM:
		if (w->preview)
			return;
		m = evq_make_need_confirm(ev->step, ev->text);
		break;
	case ENGINE_EV_PARTITION:
		m = evq_make_data(EVQ_EV_PARTITION, ev->text, ev->data);
		break;
	case ENGINE_EV_PAYLOAD:
		/* a dry run draws an identity it does not keep: never show its code */
		if (w->preview)
			return;
		snprintf(w->qr, sizeof w->qr, "%s", ev->qr ? ev->qr : "");
		snprintf(w->manual, sizeof w->manual, "%s", ev->manual ? ev->manual : "");
		m = evq_make_payload(ev->qr, ev->manual);
		break;
	case ENGINE_EV_DONE: {
		const char *serial = json_string_value(json_object_get(ev->data, "serial"));
		if (w->preview) {
			/* a refused plan ends the device here; a good preview waits for RUN */
			if (ev->code == 0)
				return;
		} else if (serial) {
			snprintf(w->serial, sizeof w->serial, "%s", serial);
		}
		m = evq_make_done(ev->code, ev->data);
		break;
	}
	case ENGINE_EV_ERROR:
		m = evq_make_error(ev->code, ev->text);
		break;
	}
	if (m)
		ui_worker_push(w, m);
}

/* An ABORT waiting in the command queue stops the run between steps. */
static bool ui_worker_should_abort(void *ctx)
{
	struct ui_worker *w = ctx;
	if (w->aborted || atomic_load(&w->stop))
		return true;
	struct evq_msg *m;
	while ((m = evq_pop(w->cmds, 0))) {
		if (m->type == EVQ_CMD_ABORT)
			w->aborted = true;
		evq_msg_free(m);
	}
	return w->aborted;
}

/* Blocks until the operator confirms (CONFIRM) or refuses (ABORT, or the front end goes away). */
static bool ui_worker_confirm(void *ctx, const char *step, const char *text)
{
	struct ui_worker *w = ctx;
	(void)step;
	(void)text;
	while (!atomic_load(&w->stop)) {
		struct evq_msg *m = evq_pop(w->cmds, UI_WORKER_WAIT_MS);
		if (!m) {
			if (evq_is_closed(w->cmds))
				return false;
			continue;
		}
		enum evq_type t = m->type;
		evq_msg_free(m);
		if (t == EVQ_CMD_CONFIRM)
			return true;
		if (t == EVQ_CMD_ABORT) {
			w->aborted = true;
			return false;
		}
	}
	return false;
}

static void ui_worker_run_engine(struct ui_worker *w, bool dry_run)
{
	if (!w->port[0] || !w->profile[0]) {
		ui_worker_push(w, evq_make_error(ERR_USAGE, "choose a port and a profile first"));
		return;
	}
	err_t e = {0};
	struct flow_device *dev = NULL;
	w->preview = dry_run;
	w->aborted = false;
	if (device_rom_open(w->port, &dev, &e)) {
		ui_worker_push(w, evq_make_error(ERR_DEVICE, e.msg));
		ui_worker_push(w, evq_make_done(ERR_DEVICE, NULL));
		return;
	}
	struct engine_options o;
	memset(&o, 0, sizeof o);
	o.profile_path = w->profile;
	o.out_dir = w->opt.out_dir;
	o.dry_run = dry_run;
	struct engine_hooks h = {w, ui_worker_emit, ui_worker_confirm, ui_worker_should_abort};
	struct engine_result res;
	memset(&res, 0, sizeof res);
	engine_run_device(&o, dev, &h, &res, &e);
	dev->ops->close(dev);
	w->preview = false;
}

/* The factory data read back, compared with the device's row of the run's manifest. */
static void ui_worker_diff_manifest(struct ui_worker *w, json_t *part)
{
	if (!json_object_get(json_object_get(part, "decoded"), "namespaces"))
		return;
	char path[1100];
	if (w->opt.out_dir) {
		snprintf(path, sizeof path, "%s/manifest.csv", w->opt.out_dir);
	} else {
		struct profile p;
		err_t pe = {0};
		if (profile_load(w->profile, &p, &pe))
			return;
		snprintf(path, sizeof path, "%s/manifest.csv", p.output_dir ? p.output_dir : ".");
		profile_free(&p);
	}
	json_t *wrap = json_pack("{s:[O]}", "partitions", part);
	err_t e = {0};
	if (ui_inspect_diff_manifest(wrap, path, w->mac[0] ? w->mac : NULL, &e) == 0) {
		json_t *d = json_object_get(wrap, "manifest_diff");
		if (d)
			json_object_set(part, "manifest_diff", d);
		json_t *row = json_object_get(wrap, "manifest_row");
		if (row)
			json_object_set(part, "manifest_row", row);
	}
	json_decref(wrap);
}

/* READBACK: the partition the plan wrote, read from the device and decoded. */
static void ui_worker_readback(struct ui_worker *w, const char *label)
{
	json_t *steps = json_object_get(w->plan, "steps");
	if (!steps)
		steps = w->plan;
	char id[64];
	snprintf(id, sizeof id, "write-%s", label ? label : "");
	json_t *st = NULL, *v;
	size_t i;
	json_array_foreach(steps, i, v) {
		const char *sid = json_string_value(json_object_get(v, "id"));
		if (sid && !strcmp(sid, id))
			st = v;
	}
	if (!st) {
		ui_worker_push(w, evq_make_error(ERR_USAGE, "readback: the plan writes no such partition"));
		return;
	}
	uint32_t off = (uint32_t)json_integer_value(json_object_get(st, "offset"));
	size_t size = (size_t)json_integer_value(json_object_get(st, "size"));
	bool enc = json_is_true(json_object_get(st, "encrypted"));
	err_t e = {0};
	struct flow_device *dev = NULL;
	if (device_rom_open(w->port, &dev, &e)) {
		ui_worker_push(w, evq_make_error(ERR_DEVICE, e.msg));
		return;
	}
	buf_t data = BUF_INIT;
	json_t *view;
	if (dev->ops->read_flash(dev, off, size, &data, NULL, &e)) {
		view = json_pack("{s:s, s:s}", "status", "unreadable", "problem", e.msg);
	} else if (enc) {
		view = json_pack("{s:s, s:s, s:s}", "format", "encrypted", "status", "encrypted",
				 "problem", "encrypted on flash: the chip decrypts it, the host cannot");
	} else {
		const char *fmt = !strcmp(label, "esp_secure_cert") ? "esp_secure_cert" : NULL;
		view = ui_inspect_decode_partition(label, data.data, data.len, fmt);
	}
	json_object_set_new(view, "offset", json_integer(off));
	json_object_set_new(view, "size", json_integer((json_int_t)size));
	ui_worker_diff_manifest(w, view);
	ui_worker_push(w, evq_make_data(EVQ_EV_PARTITION, label, view));
	json_decref(view);
	buf_wipe_data(&data);
	dev->ops->close(dev);
}
#endif

/* PRINT: the device's label (the profile's template, else the built-in one) through CUPS. */
static void ui_worker_print(struct ui_worker *w, const char *target)
{
	if (!w->qr[0]) {
		ui_worker_push(w, evq_make_error(ERR_USAGE, "print: no provisioned device yet"));
		return;
	}
	struct label_template t;
	err_t e = {0};
	label_template_init_default(&t);
#if UI_HAVE_ENGINE
	struct profile p;
	if (profile_load(w->profile, &p, &e) == 0) {
		if (p.label_template && label_template_load_file(p.label_template, &t, &e))
			ui_worker_log(w, LOG_WARN, "label template: %s (using the built-in one)", e.msg);
		profile_free(&p);
	}
	err_clear_msg(&e);
#endif
	struct label_data d = {w->qr, w->manual[0] ? w->manual : NULL, w->serial[0] ? w->serial : NULL, NULL};
	struct label_image img;
	memset(&img, 0, sizeof img);
	buf_t png = BUF_INIT;
	int job = 0;
	struct label_print_job pj = {target ? target : w->opt.printer, "espfab label", LABEL_PRINT_PNG,
				     t.dpi, NULL};
	if (label_render_image(&t, &d, &img, &e) || label_png_encode(&img, t.dpi, &png, &e) ||
	    label_print_data(&pj, png.data, png.len, &job, &e))
		ui_worker_push(w, evq_make_error(ERR_DEVICE, e.msg));
	else
		ui_worker_log(w, LOG_INFO, "label for %s sent to %s (job %d)", w->serial[0] ? w->serial : w->qr,
			      pj.printer ? pj.printer : "the default printer", job);
	label_image_free(&img);
	buf_free_data(&png);
}

static void *ui_worker_thread(void *arg)
{
	struct ui_worker *w = arg;
	while (!atomic_load(&w->stop)) {
		struct evq_msg *m = evq_pop(w->cmds, UI_WORKER_WAIT_MS);
		if (!m) {
			if (evq_is_closed(w->cmds))
				break;
			continue;
		}
		switch (m->type) {
		case EVQ_CMD_DETECT:
			snprintf(w->port, sizeof w->port, "%s", m->text ? m->text : "");
			w->qr[0] = w->manual[0] = w->serial[0] = 0;
			break;
		case EVQ_CMD_PLAN:
			snprintf(w->profile, sizeof w->profile, "%s", m->text ? m->text : "");
#if UI_HAVE_ENGINE
			ui_worker_run_engine(w, true);
#endif
			break;
		case EVQ_CMD_RUN:
#if UI_HAVE_ENGINE
			ui_worker_run_engine(w, false);
#endif
			break;
		case EVQ_CMD_READBACK:
#if UI_HAVE_ENGINE
			ui_worker_readback(w, m->text ? m->text : "");
#endif
			break;
		case EVQ_CMD_PRINT:
			ui_worker_print(w, m->text);
			break;
		default:
			/* CONFIRM or ABORT outside a run: nothing waits for them */
			break;
		}
		evq_msg_free(m);
	}
	return NULL;
}

struct ui_worker *ui_worker_start(evq_t *cmds, evq_t *events, const struct ui_worker_opts *o,
				  err_t *e)
{
	if (!UI_HAVE_ENGINE) {
		err_set_msg(e, ERR_USAGE, "this build has no provisioning engine (src/flow) or device loader");
		return NULL;
	}
	struct ui_worker *w = calloc(1, sizeof *w);
	if (!w)
		abort();
	w->cmds = cmds;
	w->events = events;
	if (o)
		w->opt = *o;
	if (pthread_create(&w->thread, NULL, ui_worker_thread, w)) {
		free(w);
		err_set_msg(e, ERR_DEVICE, "cannot start the worker thread");
		return NULL;
	}
	return w;
}

void ui_worker_stop(struct ui_worker *w)
{
	if (!w)
		return;
	atomic_store(&w->stop, 1);
	pthread_join(w->thread, NULL);
	json_decref(w->plan);
	free(w);
}
