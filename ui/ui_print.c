#include "ui_print.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/log.h"
#include "label/label_layout.h"
#include "label/label_png.h"
#include "label/label_print.h"
#include "label/label_template.h"

#if __has_include("flow/profile.h")
#include "flow/profile.h"
#define UI_PRINT_HAVE_PROFILE 1
#else
#define UI_PRINT_HAVE_PROFILE 0
#endif

struct ui_print {
	evq_t *events;
	struct ui_print_job job;
	pthread_t thread;
	atomic_int done;
};

static void ui_print_run(struct ui_print *c)
{
	const struct ui_print_job *j = &c->job;
	struct label_template t;
	err_t e = {0};
	char product[96] = "";
	label_template_init_default(&t);
#if UI_PRINT_HAVE_PROFILE
	struct profile p;
	if (j->profile[0] && profile_load(j->profile, &p, &e) == 0) {
		if (p.product_name)
			snprintf(product, sizeof product, "%s", p.product_name);
		if (p.label_template && label_template_load_file(p.label_template, &t, &e))
			evq_push(c->events, evq_make_log(LOG_WARN, e.msg), NULL);
		profile_free(&p);
	}
	err_clear_msg(&e);
#endif
	struct label_data d = {j->qr, j->manual[0] ? j->manual : NULL, j->serial[0] ? j->serial : NULL,
			       product[0] ? product : NULL};
	struct label_image img;
	memset(&img, 0, sizeof img);
	buf_t png = BUF_INIT;
	int id = 0;
	struct label_print_job pj = {j->printer[0] ? j->printer : NULL, "espfab label", LABEL_PRINT_PNG, t.dpi,
				     j->to_file[0] ? j->to_file : NULL};
	char line[1200];
	if (label_render_image(&t, &d, &img, &e) || label_png_encode(&img, t.dpi, &png, &e) ||
	    label_print_data(&pj, png.data, png.len, &id, &e)) {
		snprintf(line, sizeof line, "label not printed: %s", e.msg);
		evq_push(c->events, evq_make_error(ERR_DEVICE, line), NULL);
	} else {
		if (pj.to_file)
			snprintf(line, sizeof line, "label of %s written to %s", j->serial[0] ? j->serial : j->qr,
				 pj.to_file);
		else
			snprintf(line, sizeof line, "label of %s sent to %s (job %d)", j->serial[0] ? j->serial : j->qr,
				 pj.printer ? pj.printer : "the default printer", id);
		evq_push(c->events, evq_make_log(LOG_INFO, line), NULL);
	}
	label_image_free(&img);
	buf_free_data(&png);
}

static void *ui_print_thread(void *arg)
{
	struct ui_print *c = arg;
	ui_print_run(c);
	atomic_store(&c->done, 1);
	return NULL;
}

struct ui_print *ui_print_start(evq_t *events, const struct ui_print_job *job, err_t *e)
{
	struct ui_print *c = calloc(1, sizeof *c);
	if (!c)
		abort();
	c->events = events;
	c->job = *job;
	if (pthread_create(&c->thread, NULL, ui_print_thread, c)) {
		free(c);
		err_set_msg(e, ERR_DEVICE, "cannot start the print thread");
		return NULL;
	}
	return c;
}

int ui_print_is_done(struct ui_print *p)
{
	return !p || atomic_load(&p->done);
}

void ui_print_finish(struct ui_print *p)
{
	if (!p)
		return;
	pthread_join(p->thread, NULL);
	free(p);
}
