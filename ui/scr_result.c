/* scr_result: the provisioned device's Matter QR code, large enough to scan from the screen
 * (one module per column, two per row with half blocks, 4-module quiet zone), drawn dark on
 * light in its own colours whatever the terminal's theme (monochrome terminals get the glyphs
 * inverted for light-on-dark; v swaps), with the manual code grouped 4-3-4, serial and MAC. */
#include "ui_priv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"

#include "label/label_term.h"
#include "label/qr.h"

/* how long a PRINT may stay unanswered before p sends another */
#define UI_PRINT_PATIENCE_MS 20000

struct result_state {
	WINDOW *wqr, *winfo;
	int inverted;        /* glyph ink marks light modules */
	char rendered_for[UI_TEXT_MAX];
	int rendered_inverted;
	buf_t lines;         /* the rendering, '\n'-separated */
	int qr_cols, qr_rows;
	char error[200];
};

static struct result_state *result_get(struct ui_app *a)
{
	return a->screen_state[UI_SCR_RESULT];
}

static void result_init(struct ui_app *a)
{
	struct result_state *s = calloc(1, sizeof *s);
	if (!s)
		abort();
	/* without colours the terminal's ground decides: most are light text on dark */
	s->inverted = !a->has_colors;
	s->rendered_inverted = -1;
	a->screen_state[UI_SCR_RESULT] = s;
}

static void result_free_windows(struct result_state *s)
{
	if (s->wqr)
		delwin(s->wqr);
	if (s->winfo)
		delwin(s->winfo);
	s->wqr = s->winfo = NULL;
}

static void result_fini(struct ui_app *a)
{
	struct result_state *s = result_get(a);
	result_free_windows(s);
	buf_free_data(&s->lines);
	free(s);
}

static void result_render(struct ui_app *a, struct result_state *s)
{
	const char *qr = a->model.qr;
	if (!strcmp(s->rendered_for, qr) && s->rendered_inverted == s->inverted)
		return;
	snprintf(s->rendered_for, sizeof s->rendered_for, "%s", qr);
	s->rendered_inverted = s->inverted;
	s->lines.len = 0;
	s->qr_cols = s->qr_rows = 0;
	s->error[0] = 0;
	if (!qr[0])
		return;
	struct qr_matrix mat;
	err_t e = {0};
	memset(&mat, 0, sizeof mat);
	if (qr_encode_text(qr, QR_ECC_DEFAULT, &mat, &e)) {
		snprintf(s->error, sizeof s->error, "QR: %.180s", e.msg);
		return;
	}
	label_term_render_qr(&mat, s->inverted, &s->lines);
	buf_terminate_str(&s->lines);
	s->qr_cols = mat.width + 2 * QR_QUIET_ZONE;
	s->qr_rows = (s->qr_cols + 1) / 2;
	qr_free_matrix(&mat);
}

static void result_resize(struct ui_app *a)
{
	struct result_state *s = result_get(a);
	result_free_windows(s);
	int bh = a->rows - 2;
	int qw = a->cols >= 80 ? 41 : a->cols / 2;
	s->wqr = ui_term_sub(a, bh, qw, 0, 0);
	s->winfo = ui_term_sub(a, bh, a->cols - qw, 0, qw);
}

static void result_draw_qr(struct ui_app *a, struct result_state *s)
{
	WINDOW *w = s->wqr;
	int h, wd;
	getmaxyx(w, h, wd);
	werase(w);
	if (!a->model.qr[0]) {
		ui_term_put(w, 1, 1, wd - 2, 0, "no QR code yet");
		return;
	}
	if (s->error[0]) {
		ui_term_put(w, 1, 1, wd - 2, 0, s->error);
		return;
	}
	if (!a->utf8) {
		ui_term_put(w, 1, 1, wd - 2, 0, "the QR needs a UTF-8 locale (LANG=C.UTF-8)");
		return;
	}
	if (s->qr_cols > wd || s->qr_rows > h) {
		ui_term_putf(w, 1, 1, wd - 2, "enlarge the terminal to show the QR");
		ui_term_putf(w, 2, 1, wd - 2, "(needs %dx%d for the code)", s->qr_cols, s->qr_rows + 2);
		return;
	}
	int y0 = (h - s->qr_rows) / 2, x0 = (wd - s->qr_cols) / 2;
	int at = a->has_colors ? ui_term_attr(a, UI_C_QR) : (int)A_NORMAL;
	wattron(w, at);
	const char *p = (const char *)s->lines.data;
	for (int r = 0; p && *p && r < s->qr_rows; r++) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		char row[1024];
		if (n >= sizeof row)
			n = sizeof row - 1;
		memcpy(row, p, n);
		row[n] = 0;
		ui_term_put(w, y0 + r, x0, s->qr_cols, 1, row);
		p = nl ? nl + 1 : NULL;
	}
	wattroff(w, at);
}

static void result_draw_info(struct ui_app *a, struct result_state *s)
{
	WINDOW *w = s->winfo;
	const struct ui_model *m = &a->model;
	int wd = getmaxx(w);
	werase(w);
	ui_term_box(a, w, m->done && m->result ? "Device FAILED" : "Device provisioned");
	int y = 2;
	char grouped[64], serial[96], mac[64];
	ui_format_manual(m->manual, grouped, sizeof grouped);
	ui_model_get_serial(m, serial, sizeof serial);
	ui_model_get_mac(m, mac, sizeof mac);
	ui_term_put(w, y++, 2, wd - 4, 0, "Manual pairing code");
	wattron(w, A_BOLD);
	ui_term_put(w, y++, 4, wd - 6, 0, grouped[0] ? grouped : "-");
	wattroff(w, A_BOLD);
	y++;
	ui_term_put(w, y++, 2, wd - 4, 0, "QR payload");
	ui_term_put(w, y++, 4, wd - 6, 0, m->qr[0] ? m->qr : "-");
	y++;
	ui_term_putf(w, y++, 2, wd - 4, "Serial  %s", serial);
	ui_term_putf(w, y++, 2, wd - 4, "MAC     %s", mac);
	if (m->done)
		ui_term_putf(w, y++, 2, wd - 4, "Result  %s", m->result ? "failed" : "ok");
	y++;
	if (m->print_state != UI_PRINT_NONE) {
		int at = ui_term_attr(a, m->print_state == UI_PRINT_FAILED ? UI_C_ERROR
					 : m->print_state == UI_PRINT_OK   ? UI_C_OK
									   : UI_C_RUNNING);
		wattron(w, at);
		ui_term_putf(w, y++, 2, wd - 4, "Label   %s", m->print_text);
		wattroff(w, at);
	}
	ui_term_putf(w, y++, 2, wd - 4, "QR: %s", s->inverted ? "light on dark (inverted)" : "dark on light");
	y++;
	ui_term_put(w, y++, 2, wd - 4, 0, "p  print the label");
	ui_term_put(w, y++, 2, wd - 4, 0, "n  next device");
	ui_term_put(w, y++, 2, wd - 4, 0, "i  inspect what was written");
	ui_term_put(w, y++, 2, wd - 4, 0, "v  invert the QR colours");
}

static void result_draw(struct ui_app *a, unsigned dirty)
{
	struct result_state *s = result_get(a);
	if (dirty & (UI_DIRTY_PAYLOAD | UI_DIRTY_DONE | UI_DIRTY_CHIP | UI_DIRTY_PRINT)) {
		result_render(a, s);
		result_draw_qr(a, s);
		result_draw_info(a, s);
		wnoutrefresh(s->wqr);
		wnoutrefresh(s->winfo);
	}
}

/* PRINT goes to the backend, which renders the label of the device it provisioned and sends it
 * to the printer or file; its DONE comes back through the event queue (the model's print
 * state, shown on the status line and here). */
static void result_print(struct ui_app *a)
{
	/* a backend busy with a run drops the command (it logs why): after a while p may send again */
	if (a->model.print_state == UI_PRINT_PENDING && ui_app_now_ms() - a->print_sent_ms < UI_PRINT_PATIENCE_MS) {
		ui_app_set_status(a, 0, "still printing the last label");
		return;
	}
	/* a file name without a '/' is made a path, so the backend cannot take it for a queue */
	char target[1100] = "";
	const char *f = a->opt->label_file;
	if (f && *f)
		snprintf(target, sizeof target, "%s%s", strchr(f, '/') ? "" : "./", f);
	else if (a->opt->printer && *a->opt->printer)
		snprintf(target, sizeof target, "%s", a->opt->printer);
	if (ui_app_send(a, evq_make_text(EVQ_CMD_PRINT, target[0] ? target : NULL)))
		return;
	ui_model_print_sent(&a->model);
	a->print_sent_ms = ui_app_now_ms();
	ui_app_set_status(a, 0, "printing the label...");
}

static int result_key(struct ui_app *a, enum ui_action act, int ch)
{
	(void)ch;
	struct result_state *s = result_get(a);
	switch (act) {
	case UI_ACT_PRINT:
		if (!a->model.qr[0]) {
			ui_app_set_status(a, 1, "no device result to print yet");
			return 1;
		}
		result_print(a);
		return 1;
	case UI_ACT_NEXT:
		if (a->model.running) {
			ui_app_set_status(a, 1, "a run is going");
			return 1;
		}
		ui_app_start_device(a);
		return 1;
	case UI_ACT_INVERT:
		s->inverted = !s->inverted;
		a->full_redraw = 1;
		return 1;
	case UI_ACT_TICK:
		return 1;
	default:
		return 0;
	}
}

const struct ui_screen_ops ui_screen_result = {
	.name = "result",
	.title = "Result",
	.init = result_init,
	.draw = result_draw,
	.key = result_key,
	.resize = result_resize,
	.event = NULL,
	.fini = result_fini,
};
