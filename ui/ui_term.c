/* ui_term: the terminal layer under the screens: colour roles with a monochrome fallback,
 * UTF-8-aware clipped text, boxes and centred overlays; also the two widgets several screens
 * share (device panel, help overlay) and the key-binding table the help overlay is made from. */
#include "ui_priv.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <wchar.h>

/* The key table: what each key does on which screens; the help overlay is generated from it,
 * so it cannot drift from the behaviour. */
const struct ui_binding ui_bindings[] = {
	{UI_ON_ALL, '?', "?/F1", UI_ACT_HELP, "show or hide this help"},
	{UI_ON_ALL, KEY_F(1), NULL, UI_ACT_HELP, NULL},
	{UI_ON_ALL, 'q', "q", UI_ACT_QUIT, "quit (twice while a run is going)"},
	{UI_ON_ALL, 12, "^L", UI_ACT_REDRAW, "redraw the screen"},
	{UI_ON_ALL, KEY_F(2), "F2", UI_ACT_GO_START, "start screen: port and profile"},
	{UI_ON_ALL, KEY_F(3), "F3", UI_ACT_GO_FLOW, "flow screen: device, plan, log"},
	{UI_ON_ALL, KEY_F(4), "F4", UI_ACT_GO_RESULT, "result screen: QR code"},
	{UI_ON_ALL, KEY_F(5), "F5", UI_ACT_GO_INSPECT, "inspector"},
	{UI_ON_ALL, KEY_UP, "Up/k", UI_ACT_UP, "move up"},
	{UI_ON_ALL, 'k', NULL, UI_ACT_UP, NULL},
	{UI_ON_ALL, KEY_DOWN, "Down/j", UI_ACT_DOWN, "move down"},
	{UI_ON_ALL, 'j', NULL, UI_ACT_DOWN, NULL},
	{UI_ON_ALL, KEY_PPAGE, "PgUp/PgDn", UI_ACT_PGUP, "page up / page down"},
	{UI_ON_ALL, KEY_NPAGE, NULL, UI_ACT_PGDN, NULL},
	{UI_ON_ALL, KEY_HOME, "Home/End", UI_ACT_HOME, "first / last line"},
	{UI_ON_ALL, KEY_END, NULL, UI_ACT_END, NULL},
	{UI_ON(UI_SCR_START) | UI_ON(UI_SCR_INSPECT), KEY_MOUSE, "click", UI_ACT_CLICK,
	 "select a row (inspector: a second click opens or closes it)"},
	{UI_ON(UI_SCR_START), '\t', "Tab", UI_ACT_TAB, "switch between port and profile lists"},
	{UI_ON(UI_SCR_START), 'r', "r", UI_ACT_REFRESH_PORTS, "rescan serial ports"},
	{UI_ON(UI_SCR_START), 'p', "p", UI_ACT_EDIT_PORT, "type a port path (/dev/..., socket://)"},
	{UI_ON(UI_SCR_START), 'f', "f", UI_ACT_EDIT_PROFILE, "type a profile path"},
	{UI_ON(UI_SCR_START), '\n', "Enter", UI_ACT_START, "detect the chip and plan with the profile"},
	{UI_ON(UI_SCR_START), KEY_ENTER, NULL, UI_ACT_START, NULL},
	{UI_ON(UI_SCR_FLOW), 'r', "r", UI_ACT_RUN, "run the plan"},
	{UI_ON(UI_SCR_FLOW), 'a', "a", UI_ACT_ABORT, "abort the run"},
	{UI_ON(UI_SCR_FLOW), 'c', "c", UI_ACT_CONFIRM, "answer the pending confirmation (type BURN)"},
	{UI_ON(UI_SCR_FLOW), 'l', "l", UI_ACT_LOG_SCROLL, "follow the log / stop following"},
	{UI_ON(UI_SCR_RESULT), 'p', "p", UI_ACT_PRINT, "print the label"},
	{UI_ON(UI_SCR_RESULT) | UI_ON(UI_SCR_FLOW), 'n', "n", UI_ACT_NEXT, "next device (same port and profile)"},
	{UI_ON(UI_SCR_RESULT), 'v', "v", UI_ACT_INVERT, "invert the QR colours"},
	{UI_ON(UI_SCR_RESULT) | UI_ON(UI_SCR_FLOW), 'i', "i", UI_ACT_GO_INSPECT, "inspect what was written"},
	{UI_ON(UI_SCR_INSPECT), '\n', "Enter/Right", UI_ACT_ENTER, "open or close a node"},
	{UI_ON(UI_SCR_INSPECT), KEY_ENTER, NULL, UI_ACT_ENTER, NULL},
	{UI_ON(UI_SCR_INSPECT), KEY_RIGHT, NULL, UI_ACT_RIGHT, NULL},
	{UI_ON(UI_SCR_INSPECT), 'l', NULL, UI_ACT_RIGHT, NULL},
	{UI_ON(UI_SCR_INSPECT), KEY_LEFT, "Left/h", UI_ACT_LEFT, "close the node / go to its parent"},
	{UI_ON(UI_SCR_INSPECT), 'h', NULL, UI_ACT_LEFT, NULL},
	{UI_ON(UI_SCR_INSPECT), 'x', "x", UI_ACT_HEX, "hex view of the partition (secrets masked)"},
	{UI_ON(UI_SCR_INSPECT), 'R', "R", UI_ACT_READBACK, "read the partitions back from the device"},
};
const size_t ui_binding_count = sizeof ui_bindings / sizeof ui_bindings[0];

void ui_term_init_colors(struct ui_app *a)
{
	a->has_colors = !a->opt->monochrome && has_colors();
	if (!a->has_colors)
		return;
	start_color();
	use_default_colors();
	init_pair(UI_C_TITLE, COLOR_WHITE, COLOR_BLUE);
	init_pair(UI_C_OK, COLOR_GREEN, -1);
	init_pair(UI_C_WARN, COLOR_YELLOW, -1);
	init_pair(UI_C_ERROR, COLOR_RED, -1);
	init_pair(UI_C_RUNNING, COLOR_CYAN, -1);
	init_pair(UI_C_SELECT, COLOR_BLACK, COLOR_CYAN);
	/* dark ink on a light ground whatever the terminal's own colours: what phones scan best */
	init_pair(UI_C_QR, COLOR_BLACK, COLOR_WHITE);
	init_pair(UI_C_DIM, COLOR_BLUE, -1);
}

int ui_term_attr(const struct ui_app *a, enum ui_color c)
{
	if (a->has_colors) {
		switch (c) {
		case UI_C_NORMAL: return A_NORMAL;
		case UI_C_TITLE: return COLOR_PAIR(UI_C_TITLE) | A_BOLD;
		case UI_C_ERROR: return COLOR_PAIR(UI_C_ERROR) | A_BOLD;
		case UI_C_WARN: return COLOR_PAIR(UI_C_WARN) | A_BOLD;
		case UI_C_SELECT: return COLOR_PAIR(UI_C_SELECT);
		case UI_C_DIM: return COLOR_PAIR(UI_C_DIM);
		default: return COLOR_PAIR(c);
		}
	}
	switch (c) {
	case UI_C_TITLE:
	case UI_C_SELECT: return A_REVERSE;
	case UI_C_ERROR:
	case UI_C_WARN: return A_BOLD;
	case UI_C_DIM: return A_DIM;
	default: return A_NORMAL;
	}
}

int ui_term_width(const char *s)
{
	mbstate_t st;
	memset(&st, 0, sizeof st);
	int w = 0;
	const char *p = s;
	size_t left = strlen(s);
	while (left) {
		wchar_t wc;
		size_t n = mbrtowc(&wc, p, left, &st);
		if (n == (size_t)-1 || n == (size_t)-2) {
			memset(&st, 0, sizeof st);
			n = 1;
			wc = '?';
		} else if (n == 0) {
			break;
		}
		int cw = wcwidth(wc);
		w += cw > 0 ? cw : 0;
		p += n;
		left -= n;
	}
	return w;
}

void ui_term_put(WINDOW *w, int y, int x, int width, int pad, const char *text)
{
	if (!w || width <= 0)
		return;
	int maxy, maxx;
	getmaxyx(w, maxy, maxx);
	if (y < 0 || y >= maxy || x >= maxx)
		return;
	if (x + width > maxx)
		width = maxx - x;
	mbstate_t st;
	memset(&st, 0, sizeof st);
	int used = 0;
	const char *p = text ? text : "";
	size_t left = strlen(p);
	wmove(w, y, x);
	while (left) {
		wchar_t wc;
		size_t n = mbrtowc(&wc, p, left, &st);
		if (n == (size_t)-1 || n == (size_t)-2) {
			memset(&st, 0, sizeof st);
			n = 1;
			wc = '?';
		} else if (n == 0) {
			break;
		}
		if (wc < 0x20 || wc == 0x7f)
			wc = ' ';
		int cw = wcwidth(wc);
		if (cw < 0)
			cw = 1, wc = '?';
		if (used + cw > width)
			break;
		wchar_t ws[2] = {wc, 0};
		waddnwstr(w, ws, 1);
		used += cw;
		p += n;
		left -= n;
	}
	while (pad && used < width) {
		/* waddch at the last cell of a window would scroll it: stop one short there */
		if (y == maxy - 1 && x + used == maxx - 1) {
			mvwinsch(w, y, x + used, ' ');
			break;
		}
		waddch(w, ' ');
		used++;
	}
}

void ui_term_putf(WINDOW *w, int y, int x, int width, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	ui_term_put(w, y, x, width, 0, buf);
}

void ui_term_box(const struct ui_app *a, WINDOW *w, const char *title)
{
	(void)a;
	box(w, 0, 0);
	if (title && *title) {
		int maxx = getmaxx(w);
		wattron(w, A_BOLD);
		mvwaddch(w, 0, 2, ' ');
		ui_term_put(w, 0, 3, maxx - 6, 0, title);
		waddch(w, ' ');
		wattroff(w, A_BOLD);
	}
}

WINDOW *ui_term_sub(const struct ui_app *a, int h, int w, int y, int x)
{
	(void)a;
	if (h < 1)
		h = 1;
	if (w < 1)
		w = 1;
	if (y < 0)
		y = 0;
	if (x < 0)
		x = 0;
	WINDOW *win = newwin(h, w, 1 + y, x);
	if (!win)
		win = newwin(1, 1, 1, 0);
	return win;
}

WINDOW *ui_term_center_window(const struct ui_app *a, int h, int w)
{
	if (h > a->rows - 2)
		h = a->rows - 2;
	if (w > a->cols)
		w = a->cols;
	if (h < 3 || w < 10)
		return NULL;
	return newwin(h, w, 1 + (a->rows - 2 - h) / 2, (a->cols - w) / 2);
}

void ui_draw_device_panel(struct ui_app *a, WINDOW *w)
{
	struct ui_kv kv[40];
	int h, wd;
	getmaxyx(w, h, wd);
	werase(w);
	char title[UI_ID_MAX + 16];
	if (a->model.have_chip && a->model.chip_after[0])
		/* the eFuses as read back after that burn step, not the state at detection */
		snprintf(title, sizeof title, "Device (after %s)", a->model.chip_after);
	else
		snprintf(title, sizeof title, "%s", a->model.have_chip ? "Device (as detected)" : "Device");
	ui_term_box(a, w, title);
	size_t n = ui_model_describe_chip(&a->model, kv, 40);
	if (!n) {
		ui_term_put(w, 1, 2, wd - 3, 0, a->started ? "waiting for the chip..." : "no device yet");
		if (a->port[0]) {
			ui_term_put(w, 2, 2, wd - 3, 0, "port:");
			ui_term_put(w, 3, 3, wd - 4, 0, a->port);
		}
		return;
	}
	int kw = 12;
	for (size_t i = 0; i < n && (int)i + 1 < h - 1; i++) {
		wattron(w, A_BOLD);
		ui_term_put(w, (int)i + 1, 1, kw, 0, kv[i].key);
		wattroff(w, A_BOLD);
		int at = kv[i].warn ? ui_term_attr(a, UI_C_WARN) : (int)A_NORMAL;
		wattron(w, at);
		ui_term_put(w, (int)i + 1, 1 + kw, wd - kw - 2, 0, kv[i].value);
		wattroff(w, at);
	}
	if ((int)n + 1 >= h - 1)
		ui_term_putf(w, h - 2, wd - 6, 5, "+%d", (int)n - (h - 3));
}

void ui_draw_help(struct ui_app *a)
{
	size_t n = 0;
	for (size_t i = 0; i < ui_binding_count; i++)
		if (ui_bindings[i].keyname && (ui_bindings[i].screens & UI_ON(a->screen)))
			n++;
	WINDOW *w = ui_term_center_window(a, (int)n + 4, 70);
	if (!w)
		return;
	int h, wd;
	getmaxyx(w, h, wd);
	werase(w);
	char title[64];
	snprintf(title, sizeof title, "Help: %s", a->screens[a->screen]->title);
	ui_term_box(a, w, title);
	int y = 1;
	for (size_t i = 0; i < ui_binding_count && y < h - 2; i++) {
		const struct ui_binding *b = &ui_bindings[i];
		if (!b->keyname || !(b->screens & UI_ON(a->screen)))
			continue;
		wattron(w, A_BOLD);
		ui_term_put(w, y, 2, 12, 0, b->keyname);
		wattroff(w, A_BOLD);
		ui_term_put(w, y, 15, wd - 17, 0, b->help);
		y++;
	}
	if (y < h - 1)
		ui_term_put(w, h - 2, 2, wd - 4, 0, "any key closes this help");
	wnoutrefresh(w);
	delwin(w);
}
