/* scr_start: the start screen. A port picker (serial ports with their USB ids, the likely ESP
 * device preselected, rescanned every second so a board plugged in appears by itself) and a
 * profile picker (the .ini files of assets/profiles, or a typed path). Enter sends DETECT and PLAN. */
#include "ui_priv.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "link/port_list.h"

#define START_MAX_PORTS 64
#define START_MAX_PROFILES 64

struct start_port {
	char name[256];
	char info[160];
	int score; /* how likely an ESP board: higher first */
	int typed;
};

struct start_state {
	struct start_port ports[START_MAX_PORTS];
	int n_ports, sel_port;
	char profiles[START_MAX_PROFILES][512];
	int n_profiles, sel_profile;
	int focus;       /* 0 ports, 1 profiles */
	int user_chose;  /* the operator moved the port selection: rescans keep it */
	char scan_error[160];
	char dir[512];
	WINDOW *wports, *wprofiles, *wsummary;
};

static struct start_state *start_get(struct ui_app *a)
{
	return a->screen_state[UI_SCR_START];
}

/* USB bridges ESP boards carry, and Espressif's own USB-Serial-JTAG. */
static int start_score_port(const struct port_info *p)
{
	if (!p->is_usb)
		return 0;
	if (p->usb_vid == 0x303A)
		return 3;
	if (p->adapter)
		return 2;
	return 1;
}

static void start_scan_ports(struct ui_app *a, struct start_state *s)
{
	char keep[256];
	snprintf(keep, sizeof keep, "%s", s->n_ports ? s->ports[s->sel_port].name : a->port);
	struct start_port typed[START_MAX_PORTS];
	int n_typed = 0;
	for (int i = 0; i < s->n_ports; i++)
		if (s->ports[i].typed)
			typed[n_typed++] = s->ports[i];
	s->n_ports = 0;
	s->scan_error[0] = 0;
	struct port_info *pl = NULL;
	size_t n = 0;
	err_t e = {0};
	if (port_list_enumerate(&pl, &n, &e) == 0) {
		for (size_t i = 0; i < n && s->n_ports < START_MAX_PORTS; i++) {
			struct start_port *p = &s->ports[s->n_ports++];
			memset(p, 0, sizeof *p);
			snprintf(p->name, sizeof p->name, "%s", pl[i].name);
			if (pl[i].is_usb)
				snprintf(p->info, sizeof p->info, "%04x:%04x %s %s", pl[i].usb_vid,
					 pl[i].usb_pid, pl[i].adapter ? pl[i].adapter : "",
					 pl[i].product[0] ? pl[i].product : pl[i].description);
			else
				snprintf(p->info, sizeof p->info, "%s", pl[i].description);
			p->score = start_score_port(&pl[i]);
		}
		free(pl);
	} else {
		snprintf(s->scan_error, sizeof s->scan_error, "%s", e.msg);
	}
	for (int i = 0; i < n_typed && s->n_ports < START_MAX_PORTS; i++)
		s->ports[s->n_ports++] = typed[i];
	/* keep the operator's choice; else preselect the likeliest board */
	int sel = -1, best = -1;
	for (int i = 0; i < s->n_ports; i++) {
		if (keep[0] && !strcmp(s->ports[i].name, keep))
			sel = i;
		if (best < 0 || s->ports[i].score > s->ports[best].score)
			best = i;
	}
	if (sel < 0 || (!s->user_chose && best >= 0 && s->ports[best].score > s->ports[sel].score))
		sel = best;
	s->sel_port = sel < 0 ? 0 : sel;
	if (s->n_ports)
		snprintf(a->port, sizeof a->port, "%s", s->ports[s->sel_port].name);
}

static int start_cmp_str(const void *x, const void *y)
{
	return strcmp((const char *)x, (const char *)y);
}

static void start_add_profile(struct start_state *s, const char *path)
{
	for (int i = 0; i < s->n_profiles; i++)
		if (!strcmp(s->profiles[i], path))
			return;
	if (s->n_profiles < START_MAX_PROFILES)
		snprintf(s->profiles[s->n_profiles++], sizeof s->profiles[0], "%s", path);
}

static void start_scan_profiles(struct ui_app *a, struct start_state *s)
{
	const char *dir = a->opt->profiles_dir;
	struct stat st;
	if (!dir) {
		dir = "assets/profiles";
		if (stat(dir, &st) && getenv("ESPFAB_SRC")) {
			static char alt[512];
			snprintf(alt, sizeof alt, "%s/assets/profiles", getenv("ESPFAB_SRC"));
			dir = alt;
		}
	}
	snprintf(s->dir, sizeof s->dir, "%s", dir);
	DIR *d = opendir(dir);
	int first = s->n_profiles;
	if (d) {
		struct dirent *de;
		while ((de = readdir(d))) {
			size_t n = strlen(de->d_name);
			if (n > 4 && !strcmp(de->d_name + n - 4, ".ini") && s->n_profiles < START_MAX_PROFILES) {
				char path[1024];
				snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
				start_add_profile(s, path);
			}
		}
		closedir(d);
	}
	qsort(s->profiles[first], (size_t)(s->n_profiles - first), sizeof s->profiles[0], start_cmp_str);
	s->sel_profile = 0;
	for (int i = 0; i < s->n_profiles; i++)
		if (a->profile[0] && !strcmp(s->profiles[i], a->profile))
			s->sel_profile = i;
	if (!a->profile[0] && s->n_profiles)
		snprintf(a->profile, sizeof a->profile, "%s", s->profiles[0]);
}

static void start_init(struct ui_app *a)
{
	struct start_state *s = calloc(1, sizeof *s);
	if (!s)
		abort();
	a->screen_state[UI_SCR_START] = s;
	if (a->port[0]) {
		struct start_port *p = &s->ports[s->n_ports++];
		snprintf(p->name, sizeof p->name, "%s", a->port);
		snprintf(p->info, sizeof p->info, "given on the command line");
		p->typed = 1;
		p->score = 10;
		s->user_chose = 1;
	}
	if (a->profile[0])
		start_add_profile(s, a->profile);
	start_scan_ports(a, s);
	start_scan_profiles(a, s);
}

static void start_fini(struct ui_app *a)
{
	struct start_state *s = start_get(a);
	if (s->wports)
		delwin(s->wports);
	if (s->wprofiles)
		delwin(s->wprofiles);
	if (s->wsummary)
		delwin(s->wsummary);
	free(s);
}

static void start_resize(struct ui_app *a)
{
	struct start_state *s = start_get(a);
	if (s->wports)
		delwin(s->wports);
	if (s->wprofiles)
		delwin(s->wprofiles);
	if (s->wsummary)
		delwin(s->wsummary);
	int bh = a->rows - 2;
	int sum_h = 4;
	int ph = (bh - sum_h) / 2;
	s->wports = ui_term_sub(a, ph, a->cols, 0, 0);
	s->wprofiles = ui_term_sub(a, bh - sum_h - ph, a->cols, ph, 0);
	s->wsummary = ui_term_sub(a, sum_h, a->cols, bh - sum_h, 0);
}

static void start_draw_list(struct ui_app *a, WINDOW *w, const char *title, int focused, int n,
			    int sel, const char *(*label)(struct start_state *, int, char *, size_t),
			    struct start_state *s, const char *empty)
{
	int h, wd;
	getmaxyx(w, h, wd);
	werase(w);
	if (focused)
		wattron(w, A_BOLD);
	ui_term_box(a, w, title);
	if (focused)
		wattroff(w, A_BOLD);
	int rows = h - 2;
	if (!n) {
		ui_term_put(w, 1, 2, wd - 4, 0, empty);
		return;
	}
	int top = sel >= rows ? sel - rows + 1 : 0;
	for (int i = top; i < n && i - top < rows; i++) {
		char buf[600];
		label(s, i, buf, sizeof buf);
		int at = i == sel ? (focused ? ui_term_attr(a, UI_C_SELECT) : (int)A_REVERSE) : (int)A_NORMAL;
		wattron(w, at);
		ui_term_put(w, 1 + i - top, 1, wd - 2, 1, buf);
		wattroff(w, at);
	}
}

static const char *start_port_label(struct start_state *s, int i, char *out, size_t n)
{
	snprintf(out, n, "%s %-20s %s", i == s->sel_port ? ">" : " ", s->ports[i].name, s->ports[i].info);
	return out;
}

static const char *start_profile_label(struct start_state *s, int i, char *out, size_t n)
{
	snprintf(out, n, "%s %s", i == s->sel_profile ? ">" : " ", s->profiles[i]);
	return out;
}

static void start_draw(struct ui_app *a, unsigned dirty)
{
	(void)dirty;
	struct start_state *s = start_get(a);
	char title[128];
	snprintf(title, sizeof title, "Serial port (%d found, rescanned every second)", s->n_ports);
	start_draw_list(a, s->wports, title, s->focus == 0, s->n_ports, s->sel_port, start_port_label,
			s, s->scan_error[0] ? s->scan_error : "no serial port: plug a board in, or p to type a path");
	snprintf(title, sizeof title, "Profile (%s)", s->dir);
	start_draw_list(a, s->wprofiles, title, s->focus == 1, s->n_profiles, s->sel_profile,
			start_profile_label, s, "no profile found: f types a path");
	WINDOW *w = s->wsummary;
	int wd = getmaxx(w);
	werase(w);
	ui_term_box(a, w, "Ready");
	ui_term_putf(w, 1, 2, wd - 4, "Port:    %s", a->port[0] ? a->port : "(none)");
	ui_term_putf(w, 2, 2, wd - 4, "Profile: %s   [Enter] detect and plan", a->profile[0] ? a->profile : "(none)");
	wnoutrefresh(s->wports);
	wnoutrefresh(s->wprofiles);
	wnoutrefresh(w);
}

static void start_move(struct ui_app *a, struct start_state *s, int delta)
{
	if (s->focus == 0 && s->n_ports) {
		s->sel_port += delta;
		if (s->sel_port < 0)
			s->sel_port = 0;
		if (s->sel_port >= s->n_ports)
			s->sel_port = s->n_ports - 1;
		snprintf(a->port, sizeof a->port, "%s", s->ports[s->sel_port].name);
		s->user_chose = 1;
	} else if (s->focus == 1 && s->n_profiles) {
		s->sel_profile += delta;
		if (s->sel_profile < 0)
			s->sel_profile = 0;
		if (s->sel_profile >= s->n_profiles)
			s->sel_profile = s->n_profiles - 1;
		snprintf(a->profile, sizeof a->profile, "%s", s->profiles[s->sel_profile]);
	}
	a->full_redraw = 1;
}

/* A click on a list row selects it (and focuses its list). */
static void start_click(struct ui_app *a, struct start_state *s)
{
	WINDOW *lists[2] = {s->wports, s->wprofiles};
	for (int l = 0; l < 2; l++) {
		int y = a->mouse_y, x = a->mouse_x;
		if (!wmouse_trafo(lists[l], &y, &x, FALSE))
			continue;
		int rows = getmaxy(lists[l]) - 2;
		int n = l == 0 ? s->n_ports : s->n_profiles;
		int sel = l == 0 ? s->sel_port : s->sel_profile;
		int top = sel >= rows ? sel - rows + 1 : 0;
		int row = top + y - 1;
		if (y < 1 || y > rows || row >= n)
			return;
		s->focus = l;
		start_move(a, s, row - sel);
		return;
	}
}

static int start_key(struct ui_app *a, enum ui_action act, int ch)
{
	(void)ch;
	struct start_state *s = start_get(a);
	switch (act) {
	case UI_ACT_UP: start_move(a, s, -1); return 1;
	case UI_ACT_DOWN: start_move(a, s, 1); return 1;
	case UI_ACT_PGUP: start_move(a, s, -10); return 1;
	case UI_ACT_PGDN: start_move(a, s, 10); return 1;
	case UI_ACT_HOME: start_move(a, s, -1000); return 1;
	case UI_ACT_END: start_move(a, s, 1000); return 1;
	case UI_ACT_TAB:
		s->focus = !s->focus;
		a->full_redraw = 1;
		return 1;
	case UI_ACT_REFRESH_PORTS:
	case UI_ACT_TICK: {
		int before = s->n_ports;
		char sel[256];
		snprintf(sel, sizeof sel, "%s", a->port);
		start_scan_ports(a, s);
		if (act == UI_ACT_REFRESH_PORTS || before != s->n_ports || strcmp(sel, a->port))
			a->full_redraw = a->screen == UI_SCR_START;
		return 1;
	}
	case UI_ACT_EDIT_PORT:
		ui_app_begin_input(a, "Serial port (/dev/ttyUSB0, a pty, socket://HOST:PORT):", UI_ACT_EDIT_PORT, a->port);
		return 1;
	case UI_ACT_EDIT_PROFILE:
		ui_app_begin_input(a, "Profile file (.ini):", UI_ACT_EDIT_PROFILE, a->profile);
		return 1;
	case UI_ACT_START:
		ui_app_start_device(a);
		return 1;
	case UI_ACT_CLICK:
		start_click(a, s);
		return 1;
	default:
		break;
	}
	if (ch == '\n' && act == UI_ACT_EDIT_PORT) {
		if (!a->input.len)
			return 1;
		int i;
		for (i = 0; i < s->n_ports; i++)
			if (!strcmp(s->ports[i].name, a->input.buf))
				break;
		if (i == s->n_ports && s->n_ports < START_MAX_PORTS) {
			struct start_port *p = &s->ports[s->n_ports++];
			memset(p, 0, sizeof *p);
			snprintf(p->name, sizeof p->name, "%s", a->input.buf);
			snprintf(p->info, sizeof p->info, "typed");
			p->typed = 1;
		}
		s->sel_port = i < s->n_ports ? i : s->n_ports - 1;
		s->user_chose = 1;
		snprintf(a->port, sizeof a->port, "%s", s->ports[s->sel_port].name);
		a->input.active = 0;
		return 1;
	}
	if (ch == '\n' && act == UI_ACT_EDIT_PROFILE) {
		struct stat st;
		if (stat(a->input.buf, &st) || !S_ISREG(st.st_mode)) {
			ui_app_set_status(a, 1, "%s: no such file", a->input.buf);
			return 1;
		}
		start_add_profile(s, a->input.buf);
		for (int i = 0; i < s->n_profiles; i++)
			if (!strcmp(s->profiles[i], a->input.buf))
				s->sel_profile = i;
		snprintf(a->profile, sizeof a->profile, "%s", a->input.buf);
		a->input.active = 0;
		return 1;
	}
	return 0;
}

const struct ui_screen_ops ui_screen_start = {
	.name = "start",
	.title = "Start",
	.init = start_init,
	.draw = start_draw,
	.key = start_key,
	.resize = start_resize,
	.event = NULL,
	.fini = start_fini,
};
