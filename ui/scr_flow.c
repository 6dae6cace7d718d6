/* scr_flow: the run as it happens. Device panel on the left (as soon as CHIP arrives), the plan
 * on the right with each step's state, irreversible steps marked, a progress bar with rate and
 * ETA under the transfer that is running, and the log below. Irreversible steps go ahead only
 * after the operator types the confirmation word. */
#include "ui_priv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct flow_state {
	WINDOW *wdev, *wsteps, *wlog;
	int follow;     /* log pane follows new lines */
	size_t log_top; /* first line shown when not following */
	int step_top;
};

static struct flow_state *flow_get(struct ui_app *a)
{
	return a->screen_state[UI_SCR_FLOW];
}

static void flow_init(struct ui_app *a)
{
	struct flow_state *s = calloc(1, sizeof *s);
	if (!s)
		abort();
	s->follow = 1;
	a->screen_state[UI_SCR_FLOW] = s;
}

static void flow_free_windows(struct flow_state *s)
{
	if (s->wdev)
		delwin(s->wdev);
	if (s->wsteps)
		delwin(s->wsteps);
	if (s->wlog)
		delwin(s->wlog);
	s->wdev = s->wsteps = s->wlog = NULL;
}

static void flow_fini(struct ui_app *a)
{
	flow_free_windows(flow_get(a));
	free(flow_get(a));
}

static void flow_resize(struct ui_app *a)
{
	struct flow_state *s = flow_get(a);
	flow_free_windows(s);
	int bh = a->rows - 2;
	int log_h = bh / 3 < 5 ? 5 : bh / 3;
	int top_h = bh - log_h;
	int dev_w = a->cols * 2 / 5;
	if (dev_w > 40)
		dev_w = 40;
	if (dev_w < 26)
		dev_w = 26;
	s->wdev = ui_term_sub(a, top_h, dev_w, 0, 0);
	s->wsteps = ui_term_sub(a, top_h, a->cols - dev_w, 0, dev_w);
	s->wlog = ui_term_sub(a, log_h, a->cols, top_h, 0);
}

static const char *flow_state_tag(enum evq_step_state st)
{
	switch (st) {
	case EVQ_STEP_PENDING: return "  ";
	case EVQ_STEP_RUNNING: return "->";
	case EVQ_STEP_DONE: return "ok";
	case EVQ_STEP_FAILED: return "!!";
	case EVQ_STEP_SKIPPED: return "--";
	}
	return "??";
}

static int flow_state_attr(struct ui_app *a, enum evq_step_state st)
{
	switch (st) {
	case EVQ_STEP_RUNNING: return ui_term_attr(a, UI_C_RUNNING) | A_BOLD;
	case EVQ_STEP_DONE: return ui_term_attr(a, UI_C_OK);
	case EVQ_STEP_FAILED: return ui_term_attr(a, UI_C_ERROR);
	case EVQ_STEP_SKIPPED: return ui_term_attr(a, UI_C_DIM);
	default: return A_NORMAL;
	}
}

static void flow_draw_steps(struct ui_app *a, struct flow_state *s)
{
	WINDOW *w = s->wsteps;
	const struct ui_model *m = &a->model;
	int h, wd;
	getmaxyx(w, h, wd);
	werase(w);
	char title[80];
	size_t ndone = 0;
	for (size_t i = 0; i < m->n_steps; i++)
		ndone += m->steps[i].state == EVQ_STEP_DONE || m->steps[i].state == EVQ_STEP_SKIPPED;
	if (m->n_steps)
		snprintf(title, sizeof title, "Plan: %zu/%zu steps%s", ndone, m->n_steps,
			 m->done ? (m->result ? " - FAILED" : " - done") : m->running ? " - running" : "");
	else
		snprintf(title, sizeof title, "Plan");
	ui_term_box(a, w, title);
	int rows = h - 2;
	if (!m->n_steps) {
		ui_term_put(w, 1, 2, wd - 4, 0, a->started ? "waiting for the plan..." :
			    "no plan: choose a port and a profile (F2), Enter");
		return;
	}
	/* lines: one per step, plus a progress line under the running transfer */
	const struct ui_step *act = ui_model_active_step(m);
	int focus = 0;
	for (size_t i = 0; i < m->n_steps; i++)
		if (m->steps[i].state == EVQ_STEP_RUNNING || m->steps[i].state == EVQ_STEP_FAILED)
			focus = (int)i;
	int total = (int)m->n_steps + (act ? 1 : 0);
	int top = s->step_top;
	if (focus < top)
		top = focus;
	if (focus + 2 > top + rows)
		top = focus + 2 - rows;
	if (top > total - rows)
		top = total - rows;
	if (top < 0)
		top = 0;
	s->step_top = top;
	int y = 1;
	for (size_t i = (size_t)top; i < m->n_steps && y <= rows; i++) {
		const struct ui_step *st = &m->steps[i];
		int at = flow_state_attr(a, st->state);
		wattron(w, at);
		ui_term_put(w, y, 1, 3, 0, flow_state_tag(st->state));
		wattroff(w, at);
		int tx = 4;
		if (st->irreversible) {
			wattron(w, ui_term_attr(a, UI_C_ERROR));
			ui_term_put(w, y, tx, 6, 0, "BURN!");
			wattroff(w, ui_term_attr(a, UI_C_ERROR));
			tx += 6;
		}
		if (st->state == EVQ_STEP_RUNNING)
			wattron(w, A_BOLD);
		ui_term_put(w, y, tx, wd - tx - 1, 0, st->text);
		if (st->state == EVQ_STEP_RUNNING)
			wattroff(w, A_BOLD);
		y++;
		if (act == st && y <= rows) {
			char bar[256];
			ui_format_progress(st->done, st->total, st->bytes_per_s, wd - 8, bar, sizeof bar);
			wattron(w, ui_term_attr(a, UI_C_RUNNING));
			ui_term_put(w, y, 6, wd - 7, 0, bar);
			wattroff(w, ui_term_attr(a, UI_C_RUNNING));
			y++;
		}
	}
	if (m->need_confirm && !a->input.active) {
		wattron(w, ui_term_attr(a, UI_C_WARN));
		ui_term_put(w, h - 1, 2, wd - 4, 0, " waiting for confirmation: press c ");
		wattroff(w, ui_term_attr(a, UI_C_WARN));
	}
}

static void flow_draw_log(struct ui_app *a, struct flow_state *s)
{
	WINDOW *w = s->wlog;
	const struct ui_model *m = &a->model;
	int h, wd;
	getmaxyx(w, h, wd);
	werase(w);
	ui_term_box(a, w, s->follow ? "Log" : "Log (scrolled: l follows)");
	int rows = h - 2;
	size_t n = m->log_count;
	size_t first = n > (size_t)rows ? n - (size_t)rows : 0;
	if (!s->follow && s->log_top < first)
		first = s->log_top;
	for (int r = 0; r < rows; r++) {
		const struct ui_log_line *l = ui_model_get_log(m, first + (size_t)r);
		if (!l)
			break;
		int at = l->level == LOG_ERROR ? ui_term_attr(a, UI_C_ERROR)
			 : l->level == LOG_WARN ? ui_term_attr(a, UI_C_WARN)
			 : l->level == LOG_DEBUG ? ui_term_attr(a, UI_C_DIM) : (int)A_NORMAL;
		wattron(w, at);
		ui_term_put(w, 1 + r, 1, wd - 2, 0, l->text);
		wattroff(w, at);
	}
}

static void flow_draw(struct ui_app *a, unsigned dirty)
{
	struct flow_state *s = flow_get(a);
	if (dirty & UI_DIRTY_CHIP) {
		ui_draw_device_panel(a, s->wdev);
		wnoutrefresh(s->wdev);
	}
	if (dirty & (UI_DIRTY_PLAN | UI_DIRTY_STEPS | UI_DIRTY_PROGRESS | UI_DIRTY_CONFIRM | UI_DIRTY_DONE)) {
		flow_draw_steps(a, s);
		wnoutrefresh(s->wsteps);
	}
	if (dirty & (UI_DIRTY_LOG | UI_DIRTY_ERROR)) {
		flow_draw_log(a, s);
		wnoutrefresh(s->wlog);
	}
}

static void flow_scroll_log(struct ui_app *a, struct flow_state *s, long delta)
{
	int rows = getmaxy(s->wlog) - 2;
	size_t n = a->model.log_count;
	size_t last_top = n > (size_t)rows ? n - (size_t)rows : 0;
	long top = s->follow ? (long)last_top : (long)s->log_top;
	top += delta;
	if (top < 0)
		top = 0;
	if ((size_t)top >= last_top) {
		top = (long)last_top;
		s->follow = 1;
	} else {
		s->follow = 0;
	}
	s->log_top = (size_t)top;
	a->pending_dirty |= UI_DIRTY_LOG;
}

static int flow_key(struct ui_app *a, enum ui_action act, int ch)
{
	struct flow_state *s = flow_get(a);
	struct ui_model *m = &a->model;
	if (act == UI_ACT_CONFIRM && ch == '\n' && a->input.active) {
		if (!m->need_confirm) {
			a->input.active = 0;
			return 1;
		}
		if (!ui_confirm_matches(a->input.buf)) {
			ui_app_set_status(a, 1, "'%s' is not %s: nothing was burned; type %s exactly",
					  a->input.buf, UI_CONFIRM_WORD, UI_CONFIRM_WORD);
			a->input.len = 0;
			a->input.buf[0] = 0;
			return 1;
		}
		char line[128];
		snprintf(line, sizeof line, "confirmed %s", m->confirm_step);
		ui_app_send(a, evq_make_confirm(m->confirm_step));
		ui_model_note(m, LOG_INFO, line);
		ui_model_clear_confirm(m);
		a->input.active = 0;
		ui_app_set_status(a, 0, "confirmed");
		return 1;
	}
	switch (act) {
	case UI_ACT_RUN:
		if (!m->n_steps) {
			ui_app_set_status(a, 1, "no plan yet: choose port and profile on the start screen (F2)");
		} else if (m->running) {
			ui_app_set_status(a, 0, "the run is going");
		} else if (m->done) {
			ui_app_set_status(a, 0, "this device is done: n for the next one");
		} else if (!ui_app_send(a, evq_msg_new(EVQ_CMD_RUN))) {
			m->running = 1;
			ui_app_set_status(a, 0, "running");
		}
		return 1;
	case UI_ACT_ABORT:
		if (!ui_app_send(a, evq_msg_new(EVQ_CMD_ABORT)))
			ui_app_set_status(a, 0, "abort sent: the run stops at the next safe point");
		return 1;
	case UI_ACT_CONFIRM:
		if (m->need_confirm)
			ui_app_begin_input(a, m->confirm_text, UI_ACT_CONFIRM, "");
		else
			ui_app_set_status(a, 0, "nothing to confirm");
		return 1;
	case UI_ACT_NEXT:
		if (m->running) {
			ui_app_set_status(a, 1, "a run is going: a aborts it first");
			return 1;
		}
		ui_app_start_device(a);
		return 1;
	case UI_ACT_LOG_SCROLL:
		s->follow = !s->follow;
		if (!s->follow) {
			int rows = getmaxy(s->wlog) - 2;
			s->log_top = m->log_count > (size_t)rows ? m->log_count - (size_t)rows : 0;
		}
		a->pending_dirty |= UI_DIRTY_LOG;
		return 1;
	case UI_ACT_UP: flow_scroll_log(a, s, -1); return 1;
	case UI_ACT_DOWN: flow_scroll_log(a, s, 1); return 1;
	case UI_ACT_PGUP: flow_scroll_log(a, s, -(getmaxy(s->wlog) - 2)); return 1;
	case UI_ACT_PGDN: flow_scroll_log(a, s, getmaxy(s->wlog) - 2); return 1;
	case UI_ACT_HOME: flow_scroll_log(a, s, -(long)UI_LOG_LINES); return 1;
	case UI_ACT_END: flow_scroll_log(a, s, (long)UI_LOG_LINES); return 1;
	case UI_ACT_TICK: return 1;
	default:
		return 0;
	}
}

const struct ui_screen_ops ui_screen_flow = {
	.name = "flow",
	.title = "Flow",
	.init = flow_init,
	.draw = flow_draw,
	.key = flow_key,
	.resize = flow_resize,
	.event = NULL,
	.fini = flow_fini,
};
