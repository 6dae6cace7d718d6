/* ui_app: terminal set-up, the poll() loop over the keyboard and the event queue, key dispatch
 * through the binding table, screen switching, the line-entry overlay and the autopilot of
 * `espfab demo --auto`. */
#include "ui_app.h"

#include "ui_priv.h"

#include <errno.h>
#include <langinfo.h>
#include <locale.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define UI_MIN_ROWS 20
#define UI_MIN_COLS 60
#define UI_TICK_MS 200
#define UI_AUTO_PAUSE_MS 1200
#define UI_AUTO_KEY_MS 180

/* A closed terminal window or a kill must not end the program mid-step with the simulator and
 * the demo's files left behind: the loop sees the flag, aborts the run and unwinds normally. */
static volatile sig_atomic_t ui_app_hangup;

static void ui_app_on_hangup(int sig)
{
	ui_app_hangup = sig;
}

static void ui_app_catch_hangup(struct sigaction old[2])
{
	struct sigaction sa = {0};
	sa.sa_handler = ui_app_on_hangup;
	sigemptyset(&sa.sa_mask);
	/* no SA_RESTART: poll() returns EINTR at once */
	sigaction(SIGHUP, &sa, &old[0]);
	sigaction(SIGTERM, &sa, &old[1]);
}

long long ui_app_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void ui_app_set_status(struct ui_app *a, int is_error, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(a->status_msg, sizeof a->status_msg, fmt, ap);
	va_end(ap);
	a->status_is_error = is_error;
}

int ui_app_send(struct ui_app *a, struct evq_msg *m)
{
	char line[300];
	const char *arg = m->step ? m->step : m->text;
	snprintf(line, sizeof line, "> %s%s%s", evq_name_type(m->type), arg ? " " : "", arg ? arg : "");
	if (!a->cmds) {
		ui_app_set_status(a, 1, "no backend: %s",
				  a->opt->backend_missing ? a->opt->backend_missing : "none attached");
		ui_model_note(&a->model, LOG_WARN, line);
		evq_msg_free(m);
		return -1;
	}
	err_t e = {0};
	if (evq_push_timeout(a->cmds, m, 500, &e)) {
		ui_app_set_status(a, 1, "%s", e.msg);
		return -1;
	}
	ui_model_note(&a->model, LOG_DEBUG, line);
	return 0;
}

void ui_app_switch(struct ui_app *a, enum ui_screen_id s)
{
	if (a->screen == s)
		return;
	a->screen = s;
	a->full_redraw = 1;
}

void ui_app_start_device(struct ui_app *a)
{
	if (!a->port[0]) {
		ui_app_set_status(a, 1, "choose a port first (p types a path)");
		return;
	}
	if (!a->profile[0]) {
		ui_app_set_status(a, 1, "choose a profile first (f types a path)");
		return;
	}
	ui_model_reset_device(&a->model);
	a->started = 1;
	a->auto_stage = 0;
	ui_app_send(a, evq_make_text(EVQ_CMD_DETECT, a->port));
	ui_app_send(a, evq_make_text(EVQ_CMD_PLAN, a->profile));
	ui_app_switch(a, UI_SCR_FLOW);
	if (a->cmds)
		ui_app_set_status(a, 0, "detecting the chip on %s", a->port);
}

void ui_app_begin_input(struct ui_app *a, const char *prompt, enum ui_action purpose,
			const char *initial)
{
	a->input.active = 1;
	a->input.prompt = prompt;
	a->input.purpose = purpose;
	snprintf(a->input.buf, sizeof a->input.buf, "%s", initial ? initial : "");
	a->input.len = strlen(a->input.buf);
	a->full_redraw = 1;
}

/* ---- layout ---- */

static void ui_app_make_windows(struct ui_app *a)
{
	if (a->title)
		delwin(a->title);
	if (a->body)
		delwin(a->body);
	if (a->status)
		delwin(a->status);
	getmaxyx(stdscr, a->rows, a->cols);
	a->title = newwin(1, a->cols, 0, 0);
	a->body = newwin(a->rows > 2 ? a->rows - 2 : 1, a->cols, 1, 0);
	a->status = newwin(1, a->cols, a->rows - 1, 0);
	keypad(a->status, TRUE);
	nodelay(a->status, TRUE);
	for (int i = 0; i < UI_SCR_COUNT; i++)
		if (a->screens[i]->resize)
			a->screens[i]->resize(a);
	a->full_redraw = 1;
}

static void ui_app_draw_title(struct ui_app *a)
{
	char buf[512];
	const char *prof = strrchr(a->profile, '/');
	prof = prof ? prof + 1 : a->profile;
	if (a->opt->inspect_view)
		snprintf(buf, sizeof buf, " espfab | %s", a->screens[a->screen]->title);
	else
		snprintf(buf, sizeof buf, " espfab | %s | port %s | profile %s", a->screens[a->screen]->title,
			 a->port[0] ? a->port : "-", prof[0] ? prof : "-");
	wattrset(a->title, ui_term_attr(a, UI_C_TITLE));
	ui_term_put(a->title, 0, 0, a->cols, 1, buf);
	const char *tabs = "F2 start F3 flow F4 result F5 inspect";
	if (!a->opt->inspect_view && a->cols - ui_term_width(buf) > (int)strlen(tabs) + 2)
		ui_term_put(a->title, 0, a->cols - (int)strlen(tabs) - 1, (int)strlen(tabs), 0, tabs);
	wattrset(a->title, A_NORMAL);
	wnoutrefresh(a->title);
}

static void ui_app_draw_status(struct ui_app *a)
{
	werase(a->status);
	if (a->status_msg[0]) {
		int at = a->status_is_error ? ui_term_attr(a, UI_C_ERROR) : (int)A_BOLD;
		wattrset(a->status, at);
		ui_term_put(a->status, 0, 0, a->cols, 0, a->status_msg);
		wattrset(a->status, A_NORMAL);
	} else {
		/* the screen's own keys first: the line is a reminder, ? has them all */
		char hints[512];
		size_t o = 0;
		hints[0] = 0;
		for (size_t i = 0; i < ui_binding_count && o < sizeof hints - 40; i++) {
			const struct ui_binding *b = &ui_bindings[i];
			if (!b->keyname || b->screens == UI_ON_ALL || !(b->screens & UI_ON(a->screen)) ||
			    b->key == KEY_MOUSE)
				continue;
			const char *verb = b->help;
			char word[24];
			size_t k = 0;
			while (verb[k] && verb[k] != ' ' && k < sizeof word - 1) {
				word[k] = verb[k];
				k++;
			}
			word[k] = 0;
			o += (size_t)snprintf(hints + o, sizeof hints - o, "%s:%s  ", b->keyname, word);
		}
		snprintf(hints + o, sizeof hints - o, "?:help  q:quit");
		wattrset(a->status, ui_term_attr(a, UI_C_DIM));
		ui_term_put(a->status, 0, 0, a->cols, 0, hints);
		wattrset(a->status, A_NORMAL);
	}
	wnoutrefresh(a->status);
}

static void ui_app_draw_input(struct ui_app *a)
{
	int w = a->cols > 72 ? 72 : a->cols;
	WINDOW *win = ui_term_center_window(a, 8, w);
	if (!win)
		return;
	int wd = getmaxx(win);
	werase(win);
	int irreversible = a->input.purpose == UI_ACT_CONFIRM;
	if (irreversible)
		wattron(win, ui_term_attr(a, UI_C_ERROR));
	ui_term_box(a, win, irreversible ? "IRREVERSIBLE - confirm" : "Enter a value");
	if (irreversible)
		wattroff(win, ui_term_attr(a, UI_C_ERROR));
	/* the prompt may be long (the step's own text): two lines, cut at a space */
	const char *prompt = a->input.prompt ? a->input.prompt : "";
	char first[256];
	snprintf(first, sizeof first, "%s", prompt);
	const char *rest = "";
	if (ui_term_width(prompt) > wd - 4 && (size_t)(wd - 4) < sizeof first) {
		int cut = wd - 4;
		while (cut > 0 && first[cut] != ' ')
			cut--;
		if (cut <= 0)
			cut = wd - 4;
		first[cut] = 0;
		rest = prompt + cut + (prompt[cut] == ' ');
	}
	ui_term_put(win, 1, 2, wd - 4, 0, first);
	ui_term_put(win, 2, 2, wd - 4, 0, rest);
	if (irreversible)
		ui_term_put(win, 3, 2, wd - 4, 0, "Type " UI_CONFIRM_WORD " and press Enter (Esc: not now)");
	else
		ui_term_put(win, 3, 2, wd - 4, 0, "Enter accepts, Esc cancels");
	wattron(win, A_REVERSE);
	/* the end of a long entry stays visible */
	const char *shown = a->input.buf;
	int room = wd - 6;
	while (ui_term_width(shown) > room)
		shown++;
	char line[300];
	snprintf(line, sizeof line, "%s_", shown);
	ui_term_put(win, 5, 3, wd - 6, 1, line);
	wattroff(win, A_REVERSE);
	wnoutrefresh(win);
	delwin(win);
}

static void ui_app_draw(struct ui_app *a)
{
	if (a->rows < UI_MIN_ROWS || a->cols < UI_MIN_COLS) {
		werase(stdscr);
		mvwprintw(stdscr, 0, 0, "terminal too small: %dx%d, espfab needs %dx%d", a->cols,
			  a->rows, UI_MIN_COLS, UI_MIN_ROWS);
		wnoutrefresh(stdscr);
		doupdate();
		a->full_redraw = 1;
		return;
	}
	unsigned dirty = a->model.dirty | a->pending_dirty;
	int overlay = a->help || a->input.active;
	if (a->full_redraw) {
		dirty = UI_DIRTY_ALL;
		werase(a->body);
		wnoutrefresh(a->body);
	}
	if (!dirty && !a->full_redraw && !overlay) {
		ui_app_draw_status(a);
		doupdate();
		return;
	}
	ui_app_draw_title(a);
	a->screens[a->screen]->draw(a, dirty);
	ui_app_draw_status(a);
	if (a->input.active)
		ui_app_draw_input(a);
	if (a->help)
		ui_draw_help(a);
	doupdate();
	a->model.dirty = 0;
	a->pending_dirty = 0;
	/* an overlay covers the screen's windows: they must be drawn whole when it goes */
	a->full_redraw = overlay;
}

/* ---- keys ---- */

static const struct ui_binding *ui_app_find_binding(const struct ui_app *a, int ch)
{
	for (size_t i = 0; i < ui_binding_count; i++)
		if (ui_bindings[i].key == ch && (ui_bindings[i].screens & UI_ON(a->screen)))
			return &ui_bindings[i];
	return NULL;
}

static void ui_app_finish_input(struct ui_app *a, int accept)
{
	enum ui_action purpose = a->input.purpose;
	if (!accept) {
		a->input.active = 0;
		a->full_redraw = 1;
		if (purpose == UI_ACT_CONFIRM)
			ui_app_set_status(a, 0, "not confirmed; c answers it, a aborts the run");
		return;
	}
	/* the screen decides; it closes the entry (input.active = 0) when the text is good */
	a->screens[a->screen]->key(a, purpose, '\n');
	a->full_redraw = 1;
}

static void ui_app_input_key(struct ui_app *a, int ch)
{
	struct ui_text_input *in = &a->input;
	if (ch == 27) {
		ui_app_finish_input(a, 0);
	} else if (ch == '\n' || ch == '\r' || ch == KEY_ENTER) {
		ui_app_finish_input(a, 1);
	} else if (ch == KEY_BACKSPACE || ch == 127 || ch == 8) {
		if (in->len) {
			/* drop a whole UTF-8 sequence */
			do
				in->len--;
			while (in->len && ((unsigned char)in->buf[in->len] & 0xC0) == 0x80);
			in->buf[in->len] = 0;
		}
	} else if (ch == 21) { /* ^U */
		in->len = 0;
		in->buf[0] = 0;
	} else if (ch >= 0x20 && ch < 0x100 && ch != 0x7f && in->len + 1 < sizeof in->buf) {
		in->buf[in->len++] = (char)ch;
		in->buf[in->len] = 0;
	}
}

static void ui_app_quit_key(struct ui_app *a)
{
	if (a->model.running && !a->quit_armed) {
		a->quit_armed = 1;
		ui_app_set_status(a, 1, "a run is going: q again quits (the run is aborted)");
		return;
	}
	if (a->model.running)
		ui_app_send(a, evq_msg_new(EVQ_CMD_ABORT));
	a->quit = 1;
}

/* Mouse (optional): the title's screen names switch screens; elsewhere the screen decides. */
static void ui_app_mouse(struct ui_app *a)
{
	MEVENT ev;
	if (getmouse(&ev) != OK || !(ev.bstate & (BUTTON1_CLICKED | BUTTON1_PRESSED | BUTTON1_DOUBLE_CLICKED)))
		return;
	if (a->input.active || a->help) {
		if (a->help) {
			a->help = 0;
			a->full_redraw = 1;
		}
		return;
	}
	if (ev.y == 0 && !a->opt->inspect_view) {
		static const struct {
			const char *label;
			enum ui_screen_id s;
		} tabs[] = {{"F2 start", UI_SCR_START}, {"F3 flow", UI_SCR_FLOW},
			    {"F4 result", UI_SCR_RESULT}, {"F5 inspect", UI_SCR_INSPECT}};
		const char *all = "F2 start F3 flow F4 result F5 inspect";
		int x0 = a->cols - (int)strlen(all) - 1;
		for (size_t i = 0; i < sizeof tabs / sizeof tabs[0]; i++) {
			int at = x0 + (int)(strstr(all, tabs[i].label) - all);
			if (ev.x >= at && ev.x < at + (int)strlen(tabs[i].label))
				ui_app_switch(a, tabs[i].s);
		}
		return;
	}
	a->mouse_y = ev.y;
	a->mouse_x = ev.x;
	a->mouse_double = !!(ev.bstate & BUTTON1_DOUBLE_CLICKED);
	a->screens[a->screen]->key(a, UI_ACT_CLICK, KEY_MOUSE);
}

static void ui_app_key(struct ui_app *a, int ch)
{
	if (ch == KEY_RESIZE) {
		ui_app_make_windows(a);
		return;
	}
	if (ch == KEY_MOUSE) {
		ui_app_mouse(a);
		return;
	}
	if (a->input.active) {
		ui_app_input_key(a, ch);
		return;
	}
	if (a->help) {
		a->help = 0;
		a->full_redraw = 1;
		return;
	}
	if (ch != 'q')
		a->quit_armed = 0;
	a->status_msg[0] = 0;
	const struct ui_binding *b = ui_app_find_binding(a, ch);
	enum ui_action act = b ? b->action : UI_ACT_NONE;
	switch (act) {
	case UI_ACT_QUIT:
		ui_app_quit_key(a);
		return;
	case UI_ACT_HELP:
		a->help = 1;
		return;
	case UI_ACT_REDRAW:
		clearok(curscr, TRUE);
		a->full_redraw = 1;
		return;
	case UI_ACT_GO_START:
		ui_app_switch(a, UI_SCR_START);
		return;
	case UI_ACT_GO_FLOW:
		ui_app_switch(a, UI_SCR_FLOW);
		return;
	case UI_ACT_GO_RESULT:
		ui_app_switch(a, UI_SCR_RESULT);
		return;
	case UI_ACT_GO_INSPECT:
		ui_app_switch(a, UI_SCR_INSPECT);
		return;
	default:
		break;
	}
	if (!a->screens[a->screen]->key(a, act, ch) && act == UI_ACT_NONE && ch < 0x100 && ch > 0x20)
		ui_app_set_status(a, 0, "key '%c' does nothing here: ? lists the keys", ch);
}

/* ---- events ---- */

static void ui_app_event(struct ui_app *a, const struct evq_msg *m)
{
	a->pending_dirty |= ui_model_apply(&a->model, m);
	for (int i = 0; i < UI_SCR_COUNT; i++)
		if (a->screens[i]->event)
			a->screens[i]->event(a, m);
	switch (m->type) {
	case EVQ_EV_CHIP:
	case EVQ_EV_PLAN:
		if (a->screen == UI_SCR_START)
			ui_app_switch(a, UI_SCR_FLOW);
		break;
	case EVQ_EV_NEED_CONFIRM:
		ui_app_switch(a, UI_SCR_FLOW);
		ui_app_begin_input(a, a->model.confirm_text, UI_ACT_CONFIRM, "");
		a->auto_at_ms = a->now_ms + UI_AUTO_PAUSE_MS;
		break;
	case EVQ_EV_DONE:
		if (ui_model_is_print_answer(m)) {
			ui_app_set_status(a, a->model.print_state == UI_PRINT_FAILED, "%s", a->model.print_text);
			break;
		}
		if (a->input.active && a->input.purpose == UI_ACT_CONFIRM)
			a->input.active = 0;
		if (!a->model.done && a->model.planned) {
			ui_app_set_status(a, 0, "plan ready: r runs it");
		} else if (m->code == 0 && a->model.qr[0]) {
			ui_app_switch(a, UI_SCR_RESULT);
			ui_app_set_status(a, 0, "device done: p prints the label, n goes to the next device");
		} else if (m->code == 0) {
			ui_app_set_status(a, 0, "run finished");
		} else {
			ui_app_set_status(a, 1, "run failed (exit code %d): %s", m->code,
					  a->model.error[0] ? a->model.error : "see the log");
		}
		break;
	case EVQ_EV_ERROR:
		ui_app_set_status(a, 1, "%s", m->text ? m->text : "error");
		break;
	case EVQ_EV_LOG:
		/* screens without the log pane show the latest line on the status line */
		if (a->screen != UI_SCR_FLOW && m->text && m->level >= LOG_INFO)
			ui_app_set_status(a, m->level >= LOG_WARN, "%s", m->text);
		break;
	default:
		break;
	}
}

/* ---- autopilot: the demo walks itself, at a pace a viewer can follow ---- */

static void ui_app_autopilot(struct ui_app *a)
{
	if (!a->opt->autopilot || a->now_ms < a->auto_at_ms)
		return;
	struct ui_model *m = &a->model;
	if (a->input.active && a->input.purpose == UI_ACT_CONFIRM) {
		const char *word = UI_CONFIRM_WORD;
		if (a->input.len < strlen(word) && !strncmp(a->input.buf, word, a->input.len)) {
			ui_app_input_key(a, word[a->input.len]);
			a->auto_at_ms = a->now_ms + UI_AUTO_KEY_MS;
		} else {
			ui_app_input_key(a, '\n');
			a->auto_at_ms = a->now_ms + UI_AUTO_PAUSE_MS / 2;
		}
		a->full_redraw = 1;
		return;
	}
	if (a->auto_stage == 0 && m->n_steps && m->have_chip && !m->running && !m->done) {
		a->auto_stage = 1;
		ui_app_set_status(a, 0, "demo: running the plan");
		ui_app_send(a, evq_msg_new(EVQ_CMD_RUN));
		a->auto_at_ms = a->now_ms + UI_AUTO_PAUSE_MS;
	}
}

int ui_app_run(const struct ui_options *o, evq_t *cmds, evq_t *events, err_t *e)
{
	if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO))
		return err_set_msg(e, ERR_USAGE, "the TUI needs a terminal (use --json or `espfab run` for scripts)");
	setlocale(LC_ALL, "");
	SCREEN *scr = newterm(NULL, stdout, stdin);
	if (!scr)
		return err_set_msg(e, ERR_USAGE, "cannot use terminal type '%s'",
				   getenv("TERM") ? getenv("TERM") : "(unset)");
	set_term(scr);
	struct ui_app *a = calloc(1, sizeof *a);
	if (!a)
		abort();
	a->opt = o;
	a->cmds = cmds;
	a->events = events;
	a->utf8 = !strcmp(nl_langinfo(CODESET), "UTF-8");
	ui_model_init(&a->model);
	a->screens[UI_SCR_START] = &ui_screen_start;
	a->screens[UI_SCR_FLOW] = &ui_screen_flow;
	a->screens[UI_SCR_RESULT] = &ui_screen_result;
	a->screens[UI_SCR_INSPECT] = &ui_screen_inspect;
	if (o->port)
		snprintf(a->port, sizeof a->port, "%s", o->port);
	if (o->profile)
		snprintf(a->profile, sizeof a->profile, "%s", o->profile);

	cbreak();
	noecho();
	keypad(stdscr, TRUE);
	nodelay(stdscr, TRUE);
	set_escdelay(25);
	curs_set(0);
	/* optional: clicks select rows and switch screens; every action also has a key */
	mousemask(BUTTON1_PRESSED | BUTTON1_CLICKED | BUTTON1_DOUBLE_CLICKED, NULL);
	mouseinterval(0);
	ui_term_init_colors(a);
	/* ncurses' own SIGWINCH handler interrupts poll() and queues KEY_RESIZE */

	for (int i = 0; i < UI_SCR_COUNT; i++)
		if (a->screens[i]->init)
			a->screens[i]->init(a);
	a->screen = o->inspect_view ? UI_SCR_INSPECT : UI_SCR_START;
	ui_app_make_windows(a);
	if (o->start_run && !o->inspect_view)
		ui_app_start_device(a);
	a->auto_at_ms = ui_app_now_ms() + UI_AUTO_PAUSE_MS;

	long long last_tick = 0;
	struct sigaction old_sa[2];
	ui_app_hangup = 0;
	ui_app_catch_hangup(old_sa);
	while (!a->quit) {
		a->now_ms = ui_app_now_ms();
		ui_app_draw(a);
		struct pollfd fds[2] = {{STDIN_FILENO, POLLIN, 0}, {events ? evq_get_fd(events) : -1, POLLIN, 0}};
		int rc = poll(fds, events ? 2 : 1, UI_TICK_MS);
		if (ui_app_hangup || (rc < 0 && errno != EINTR) ||
		    (fds[0].revents & (POLLHUP | POLLERR | POLLNVAL))) {
			/* the terminal is gone: nobody can confirm or watch, so the run stops at the
			 * next step boundary and the journal keeps what was done */
			if (a->model.running)
				ui_app_send(a, evq_msg_new(EVQ_CMD_ABORT));
			break;
		}
		a->now_ms = ui_app_now_ms();
		int ch;
		/* wgetch on our own window: a getch() would refresh the untouched stdscr over
		 * the screen */
		while ((ch = wgetch(a->status)) != ERR)
			ui_app_key(a, ch);
		if (events && (fds[1].revents & POLLIN)) {
			struct evq_msg *m;
			int budget = 256; /* keep the keyboard responsive under an event flood */
			while (budget-- > 0 && (m = evq_pop(events, 0))) {
				ui_app_event(a, m);
				evq_msg_free(m);
			}
		}
		if (a->now_ms - last_tick >= 1000) {
			last_tick = a->now_ms;
			for (int i = 0; i < UI_SCR_COUNT; i++)
				if (i == (int)a->screen && a->screens[i]->key)
					a->screens[i]->key(a, UI_ACT_TICK, 0);
		}
		ui_app_autopilot(a);
	}
	for (int i = 0; i < UI_SCR_COUNT; i++)
		if (a->screens[i]->fini)
			a->screens[i]->fini(a);
	delwin(a->title);
	delwin(a->body);
	delwin(a->status);
	endwin();
	delscreen(scr);
	ui_model_free(&a->model);
	free(a);
	sigaction(SIGHUP, &old_sa[0], NULL);
	sigaction(SIGTERM, &old_sa[1], NULL);
	return 0;
}

