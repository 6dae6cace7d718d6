#include "flow/worker.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/buf.h"
#include "core/log.h"
#include "flow/device_rom.h"
#include "flow/gen.h"
#include "flow/plan.h"
#include "flow/profile.h"
#include "formats/nvs_read.h"
#include "formats/seccert.h"
#include "formats/seccert_describe.h"
#include "label/label_layout.h"
#include "label/label_png.h"
#include "label/label_print.h"
#include "label/label_template.h"
#include "label/label_zpl.h"

#define WORKER_MAX_BURN_STEPS 16

struct flow_worker {
	pthread_t thread;
	evq_t *cmd, *ev;
	struct flow_worker_options o;
	char *port, *profile;
	struct flow_device *dev;
	bool aborted;
	/* ids of the current plan's eFuse steps: the chip is re-read after each (CHIP event) */
	char burn_steps[WORKER_MAX_BURN_STEPS][48];
	int n_burn_steps;
	/* the last device provisioned and the profile it was made with: what PRINT puts on the
	 * label, even when another profile has been chosen since */
	struct engine_result last;
	char *last_profile;
	bool have_last;
};

struct evq_msg *flow_worker_make_msg(const struct engine_event *ev)
{
	switch (ev->type) {
	case ENGINE_EV_LOG: return evq_make_log(ev->level, ev->text);
	case ENGINE_EV_CHIP: return evq_make_data(EVQ_EV_CHIP, NULL, ev->data);
	case ENGINE_EV_PLAN: return evq_make_data(EVQ_EV_PLAN, NULL, ev->data);
	case ENGINE_EV_STEP: return evq_make_step(ev->step, (enum evq_step_state)ev->state);
	case ENGINE_EV_PROGRESS: return evq_make_progress(ev->step, ev->done, ev->total, ev->bytes_per_s);
	case ENGINE_EV_NEED_CONFIRM: return evq_make_need_confirm(ev->step, ev->text);
	case ENGINE_EV_PARTITION: return evq_make_data(EVQ_EV_PARTITION, ev->text, ev->data);
	case ENGINE_EV_PAYLOAD: return evq_make_payload(ev->qr, ev->manual);
	case ENGINE_EV_DONE: return evq_make_done(ev->code, ev->data);
	case ENGINE_EV_ERROR: return evq_make_error(ev->code, ev->text);
	}
	return evq_make_error(ERR_CHECK, "unknown engine event");
}

static void worker_push(struct flow_worker *w, struct evq_msg *m)
{
	/* A front end that stopped reading must not hang the device: the push times out and the
	 * message is dropped (evq.h policy). */
	evq_push(w->ev, m, NULL);
}

/* Remembers which steps of the plan burn eFuses (the PLAN event's steps carry their kind). */
static void worker_note_plan(struct flow_worker *w, const json_t *plan)
{
	w->n_burn_steps = 0;
	json_t *steps = json_object_get(plan, "steps"), *s;
	size_t i;
	json_array_foreach(steps, i, s) {
		const char *kind = json_string_value(json_object_get(s, "kind"));
		const char *id = json_string_value(json_object_get(s, "id"));
		if (!kind || !id || strncmp(kind, "burn-", 5) || w->n_burn_steps >= WORKER_MAX_BURN_STEPS)
			continue;
		snprintf(w->burn_steps[w->n_burn_steps++], sizeof w->burn_steps[0], "%s", id);
	}
}

static bool worker_is_burn_step(const struct flow_worker *w, const char *id)
{
	for (int i = 0; id && i < w->n_burn_steps; i++)
		if (!strcmp(w->burn_steps[i], id))
			return true;
	return false;
}

/* After an eFuse step the front end's view of the chip (key blocks, purposes, protection, FE
 * counter, secure boot) is stale: read the state back from the chip and send it as a new CHIP,
 * marked with the step it follows. The device re-reads its eFuses after every burn, so this is
 * the chip's state, not the plan's intent. */
static void worker_reread_chip(struct flow_worker *w, const char *step)
{
	struct plan_chip chip;
	err_t e = {0};
	if (!w->dev || w->dev->ops->detect(w->dev, &chip, &e)) {
		worker_push(w, evq_make_log(LOG_WARN, e.msg[0] ? e.msg : "eFuses not re-read after the burn"));
		return;
	}
	json_t *c = engine_describe_chip(&chip);
	json_object_set_new(c, "after_step", json_string(step));
	worker_push(w, evq_make_data(EVQ_EV_CHIP, NULL, c));
	json_decref(c);
}

static void worker_emit(void *ctx, const struct engine_event *ev)
{
	struct flow_worker *w = ctx;
	if (ev->type == ENGINE_EV_PLAN)
		worker_note_plan(w, ev->data);
	worker_push(w, flow_worker_make_msg(ev));
	if (ev->type == ENGINE_EV_STEP && ev->state == ENGINE_STEP_DONE && worker_is_burn_step(w, ev->step))
		worker_reread_chip(w, ev->step);
}

/* Waits for the operator's answer to NEED_CONFIRM; other commands meanwhile are refused. */
static bool worker_confirm(void *ctx, const char *step, const char *text)
{
	struct flow_worker *w = ctx;
	(void)text;
	if (w->o.assume_yes)
		return true;
	for (;;) {
		struct evq_msg *m = evq_pop(w->cmd, -1);
		if (!m) {
			w->aborted = true;
			return false; /* queue closed: the front end went away */
		}
		enum evq_type t = m->type;
		bool match = t == EVQ_CMD_CONFIRM && (!m->step || !strcmp(m->step, step));
		evq_msg_free(m);
		if (match)
			return true;
		if (t == EVQ_CMD_ABORT) {
			w->aborted = true;
			return false;
		}
		worker_push(w, evq_make_log(LOG_WARN, "busy: waiting for the confirmation (or ABORT)"));
	}
}

/* Between steps: an ABORT in the queue stops the run; anything else waits its turn. */
static bool worker_should_abort(void *ctx)
{
	struct flow_worker *w = ctx;
	if (w->aborted)
		return true;
	struct evq_msg *m = evq_pop(w->cmd, 0);
	if (!m)
		return evq_is_closed(w->cmd);
	if (m->type == EVQ_CMD_ABORT)
		w->aborted = true;
	else
		worker_push(w, evq_make_log(LOG_WARN, "busy: a run is in progress"));
	evq_msg_free(m);
	return w->aborted;
}

static void worker_error(struct flow_worker *w, const err_t *e)
{
	worker_push(w, evq_make_error(e->code ? e->code : ERR_CHECK, e->msg));
}

static int worker_open(struct flow_worker *w, err_t *e)
{
	if (w->dev)
		return 0;
	if (!w->port)
		return err_set_msg(e, ERR_USAGE, "no port chosen (DETECT first)");
	if (w->o.open_device)
		return w->o.open_device(w->port, &w->dev, e);
	/* the front end's choice, else the chosen profile's [device] baud, else the default; a
	 * profile that does not load is reported when it is planned or run, not here */
	unsigned baud = w->o.baud;
	if (!baud && w->profile) {
		struct profile p;
		err_t pe = {0};
		if (profile_load(w->profile, &p, &pe) == 0) {
			baud = p.baud;
			profile_free(&p);
		}
	}
	return device_rom_open_baud(w->port, baud ? baud : DEVICE_ROM_DEFAULT_BAUD, &w->dev, e);
}

static void worker_close(struct flow_worker *w)
{
	if (w->dev) {
		w->dev->ops->close(w->dev);
		w->dev = NULL;
	}
}

static void worker_detect(struct flow_worker *w, const char *port)
{
	err_t e = {0};
	worker_close(w);
	free(w->port);
	w->port = port ? mem_strdup(port) : NULL;
	struct plan_chip chip;
	if (worker_open(w, &e) || w->dev->ops->detect(w->dev, &chip, &e)) {
		worker_close(w);
		worker_error(w, &e);
		return;
	}
	json_t *c = engine_describe_chip(&chip);
	worker_push(w, evq_make_data(EVQ_EV_CHIP, NULL, c));
	json_decref(c);
}

static void worker_run(struct flow_worker *w, bool plan_only)
{
	err_t e = {0};
	if (!w->profile) {
		err_set_msg(&e, ERR_USAGE, "no profile chosen (PLAN first)");
		worker_error(w, &e);
		return;
	}
	if (worker_open(w, &e)) {
		worker_error(w, &e);
		return;
	}
	struct engine_options o = {.profile_path = w->profile, .out_dir = w->o.out_dir, .plan_only = plan_only,
				   .assume_yes = w->o.assume_yes};
	struct engine_hooks h = {w, worker_emit, worker_confirm, worker_should_abort};
	struct engine_result res;
	w->aborted = false;
	w->n_burn_steps = 0;
	if (!plan_only)
		w->have_last = false;
	engine_run_device(&o, w->dev, &h, &res, &e);
	if (!plan_only && res.code == 0 && res.qr[0]) {
		w->last = res;
		free(w->last_profile);
		w->last_profile = mem_strdup(w->profile);
		w->have_last = true;
	}
	if (!plan_only)
		worker_close(w);
}

/* READBACK(label): the partition as the chip holds it now, decoded where the format is known. */
static void worker_readback(struct flow_worker *w, const char *label)
{
	err_t e = {0};
	struct profile p;
	struct plan_partition *parts = NULL;
	int n = 0;
	if (!w->profile || !label) {
		err_set_msg(&e, ERR_USAGE, "READBACK needs a profile (PLAN) and a partition name");
		worker_error(w, &e);
		return;
	}
	if (profile_load(w->profile, &p, &e)) {
		worker_error(w, &e);
		return;
	}
	buf_t data = BUF_INIT;
	const struct plan_partition *pt = NULL;
	if (gen_load_layout(&p, &parts, &n, &e) || worker_open(w, &e))
		goto out;
	for (int i = 0; i < n; i++)
		if (!strcmp(parts[i].label, label))
			pt = &parts[i];
	if (!pt) {
		err_set_msg(&e, ERR_USAGE, "partition '%s' is not in %s", label, p.partition_table);
		goto out;
	}
	if (w->dev->ops->read_flash(w->dev, pt->offset, pt->size, &data, NULL, &e))
		goto out;
	json_t *view = NULL;
	if (pt->type == 0x3F) {
		struct seccert_image img;
		memset(&img, 0, sizeof img);
		if (seccert_parse_image(data.data, data.len, 0, &img, &e) == 0)
			view = seccert_describe_image(&img);
		seccert_image_free(&img);
	}
	else if (pt->type == 0x01 && pt->subtype == 0x02) {
		struct nvs_read_result r;
		memset(&r, 0, sizeof r);
		if (nvs_read_partition(data.data, data.len, &r, &e) == 0)
			view = nvs_read_to_json(&r);
		nvs_read_free(&r);
	}
	if (!view)
		/* Encrypted or unknown content: only its size; the bytes may be secret. */
		view = json_pack("{s:s, s:I, s:s}", "partition", label, "size", (json_int_t)data.len, "note",
				 e.msg[0] ? e.msg : "not decoded");
	worker_push(w, evq_make_data(EVQ_EV_PARTITION, label, view));
	json_decref(view);
	memset(&e, 0, sizeof e);
out:
	if (e.msg[0])
		worker_error(w, &e);
	buf_wipe_data(&data);
	free(parts);
	profile_free(&p);
}

/* Where PRINT sends the label. target: NULL or "" the CUPS default destination; a path (it has
 * a '/' or ends in .png or .zpl) a file, ZPL when it ends in .zpl, else PNG; "zpl:QUEUE" ZPL
 * sent raw to a Zebra queue; anything else a CUPS queue taking the PNG. */
static void worker_parse_target(const char *target, struct label_print_job *pj)
{
	memset(pj, 0, sizeof *pj);
	pj->title = "espfab label";
	pj->format = LABEL_PRINT_PNG;
	if (!target || !*target)
		return;
	size_t n = strlen(target);
	bool zpl_ext = n > 4 && !strcasecmp(target + n - 4, ".zpl");
	bool png_ext = n > 4 && !strcasecmp(target + n - 4, ".png");
	if (!strncmp(target, "zpl:", 4) && target[4]) {
		pj->printer = target + 4;
		pj->format = LABEL_PRINT_ZPL;
	} else if (strchr(target, '/') || zpl_ext || png_ext) {
		pj->to_file = target;
		pj->format = zpl_ext ? LABEL_PRINT_ZPL : LABEL_PRINT_PNG;
	} else {
		pj->printer = target;
	}
}

/* Renders the label of the last device provisioned, laid out by the profile's label template
 * (else the built-in one), in the format of the target. */
static int worker_render_label(struct flow_worker *w, enum label_print_format format, buf_t *out, unsigned *dpi,
			       err_t *e)
{
	struct profile p;
	bool have_p = false;
	struct label_template t;
	label_template_init_default(&t);
	if (w->last_profile) {
		if (profile_load(w->last_profile, &p, e))
			return -1;
		have_p = true;
		if (p.label_template && label_template_load_file(p.label_template, &t, e)) {
			profile_free(&p);
			return -1;
		}
	}
	const struct engine_result *r = &w->last;
	struct label_data d = {r->qr, r->manual[0] ? r->manual : NULL, r->serial[0] ? r->serial : NULL,
			       have_p ? p.product_name : NULL};
	int rc;
	*dpi = t.dpi;
	if (format == LABEL_PRINT_ZPL) {
		rc = label_zpl_render_label(&t, &d, out, e);
	} else {
		struct label_image img;
		memset(&img, 0, sizeof img);
		rc = label_render_image(&t, &d, &img, e);
		if (rc == 0)
			rc = label_png_encode(&img, t.dpi, out, e);
		label_image_free(&img);
	}
	if (have_p)
		profile_free(&p);
	return rc;
}

/* PRINT(target): the label of the device the last RUN provisioned. Answers with a LOG line and
 * DONE {"result": "printed", target, format, job}, or with ERROR and DONE {"result":
 * "print-failed", target, error}; a DONE of PRINT never stands for a run. */
static void worker_print(struct flow_worker *w, const char *target)
{
	err_t e = {0};
	struct label_print_job pj;
	worker_parse_target(target, &pj);
	const char *where = pj.to_file ? pj.to_file : pj.printer ? pj.printer : "the default printer";
	const char *format = pj.format == LABEL_PRINT_ZPL ? "zpl" : "png";
	buf_t data = BUF_INIT;
	int job = 0;
	if (!w->have_last)
		err_set_msg(&e, ERR_USAGE, "no device provisioned to print a label for (RUN first)");
	else if (worker_render_label(w, pj.format, &data, &pj.dpi, &e) == 0)
		label_print_data(&pj, data.data, data.len, &job, &e);
	buf_free_data(&data);
	json_t *sum;
	if (e.msg[0]) {
		int code = e.code ? e.code : ERR_DEVICE;
		char line[sizeof e.msg + 32];
		snprintf(line, sizeof line, "print failed: %s", e.msg);
		worker_push(w, evq_make_error(code, line));
		sum = json_pack("{s:s, s:s, s:s, s:s}", "result", "print-failed", "target", where, "format", format,
				"error", e.msg);
		worker_push(w, evq_make_done(code, sum));
	} else {
		const char *who = w->last.serial[0] ? w->last.serial : w->last.qr;
		char line[1400];
		if (pj.to_file)
			snprintf(line, sizeof line, "label of %s written to %s (%s)", who, where, format);
		else
			snprintf(line, sizeof line, "label of %s sent to %s (job %d)", who, where, job);
		worker_push(w, evq_make_log(LOG_INFO, line));
		sum = json_pack("{s:s, s:s, s:s, s:s, s:i}", "result", "printed", "target", where, "format", format,
				"serial", w->last.serial, "job", job);
		worker_push(w, evq_make_done(0, sum));
	}
	json_decref(sum);
}

static void *worker_main(void *arg)
{
	struct flow_worker *w = arg;
	struct evq_msg *m;
	while ((m = evq_pop(w->cmd, -1))) {
		switch (m->type) {
		case EVQ_CMD_DETECT:
			worker_detect(w, m->text);
			break;
		case EVQ_CMD_PLAN:
			free(w->profile);
			w->profile = m->text ? mem_strdup(m->text) : NULL;
			worker_run(w, true);
			break;
		case EVQ_CMD_RUN:
			worker_run(w, false);
			break;
		case EVQ_CMD_READBACK:
			worker_readback(w, m->text);
			break;
		case EVQ_CMD_PRINT:
			worker_print(w, m->text);
			break;
		case EVQ_CMD_CONFIRM:
		case EVQ_CMD_ABORT:
			break; /* nothing to confirm or abort while idle */
		default:
			worker_push(w, evq_make_log(LOG_WARN, "the backend does not handle this command"));
			break;
		}
		evq_msg_free(m);
	}
	worker_close(w);
	return NULL;
}

int flow_worker_start(evq_t *commands, evq_t *events, const struct flow_worker_options *o,
		      struct flow_worker **out, err_t *e)
{
	struct flow_worker *w = mem_alloc_zeroed(sizeof *w);
	w->cmd = commands;
	w->ev = events;
	if (o)
		w->o = *o;
	if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
		free(w);
		*out = NULL;
		return err_set_msg(e, ERR_DEVICE, "cannot start the backend thread");
	}
	*out = w;
	return 0;
}

void flow_worker_stop(struct flow_worker *w)
{
	if (!w)
		return;
	evq_close(w->cmd);
	pthread_join(w->thread, NULL);
	free(w->port);
	free(w->profile);
	free(w->last_profile);
	free(w);
}
