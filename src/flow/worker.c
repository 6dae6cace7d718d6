#include "flow/worker.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/log.h"
#include "flow/device_rom.h"
#include "flow/gen.h"
#include "flow/plan.h"
#include "flow/profile.h"
#include "formats/nvs_read.h"
#include "formats/seccert.h"
#include "formats/seccert_describe.h"

struct flow_worker {
	pthread_t thread;
	evq_t *cmd, *ev;
	struct flow_worker_options o;
	char *port, *profile;
	struct flow_device *dev;
	bool aborted;
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

static void worker_emit(void *ctx, const struct engine_event *ev)
{
	worker_push(ctx, flow_worker_make_msg(ev));
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
	engine_run_device(&o, w->dev, &h, &res, &e);
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
	free(w);
}
