/* ui_priv: what the app and its screens share inside ui/: the app state, the screen vtable
 * (init, draw, key, resize, event), the actions keys are bound to, and the drawing helpers of
 * the terminal layer. Only the ui sources include it. */
#ifndef ESPFAB_UI_PRIV_H
#define ESPFAB_UI_PRIV_H

#include "ui_deps.h"

#include <curses.h>
#include <jansson.h>

#include "core/evq.h"
#include "ui_app.h"
#include "ui_model.h"

enum ui_screen_id { UI_SCR_START, UI_SCR_FLOW, UI_SCR_RESULT, UI_SCR_INSPECT, UI_SCR_COUNT };
#define UI_ON(s) (1u << (s))
#define UI_ON_ALL 0xffu

/* What a key does. Navigation actions go to the current screen's key handler. */
enum ui_action {
	UI_ACT_NONE,
	UI_ACT_QUIT,
	UI_ACT_HELP,
	UI_ACT_REDRAW,
	UI_ACT_GO_START,
	UI_ACT_GO_FLOW,
	UI_ACT_GO_RESULT,
	UI_ACT_GO_INSPECT,
	/* navigation, handled by screens */
	UI_ACT_UP,
	UI_ACT_DOWN,
	UI_ACT_PGUP,
	UI_ACT_PGDN,
	UI_ACT_HOME,
	UI_ACT_END,
	UI_ACT_LEFT,
	UI_ACT_RIGHT,
	UI_ACT_ENTER,
	UI_ACT_TAB,
	/* start screen */
	UI_ACT_REFRESH_PORTS,
	UI_ACT_EDIT_PORT,
	UI_ACT_EDIT_PROFILE,
	UI_ACT_START,
	/* flow screen */
	UI_ACT_RUN,
	UI_ACT_ABORT,
	UI_ACT_CONFIRM,
	UI_ACT_LOG_SCROLL,
	/* result screen */
	UI_ACT_PRINT,
	UI_ACT_NEXT,
	UI_ACT_INVERT,
	/* inspector */
	UI_ACT_HEX,
	UI_ACT_READBACK,
	UI_ACT_TICK, /* once a second to the current screen (port rescans, spinners) */
	UI_ACT_CLICK, /* mouse button 1 at (a->mouse_y, a->mouse_x), screen coordinates */
	UI_ACT_COUNT
};

struct ui_binding {
	unsigned screens; /* UI_ON(...) mask */
	int key;
	const char *keyname; /* as shown in the help overlay */
	enum ui_action action;
	const char *help;
};

extern const struct ui_binding ui_bindings[];
extern const size_t ui_binding_count;

struct ui_app;

struct ui_screen_ops {
	const char *name;
	const char *title;
	void (*init)(struct ui_app *a);
	/* dirty: model bits since last draw, or UI_DIRTY_ALL after a resize or a screen switch */
	void (*draw)(struct ui_app *a, unsigned dirty);
	/* An action (bound key) or, in text-entry mode, the raw key (action UI_ACT_NONE). Returns
	 * 1 when handled. */
	int (*key)(struct ui_app *a, enum ui_action act, int ch);
	void (*resize)(struct ui_app *a);
	void (*event)(struct ui_app *a, const struct evq_msg *m);
	void (*fini)(struct ui_app *a);
};

extern const struct ui_screen_ops ui_screen_start, ui_screen_flow, ui_screen_result,
	ui_screen_inspect;

/* Colour roles; monochrome maps them on attributes. */
enum ui_color {
	UI_C_NORMAL,
	UI_C_TITLE,
	UI_C_OK,
	UI_C_WARN,
	UI_C_ERROR,
	UI_C_RUNNING,
	UI_C_SELECT,
	UI_C_QR,
	UI_C_DIM,
	UI_C_COUNT
};

struct ui_text_input {
	int active;
	char buf[256];
	size_t len;
	const char *prompt;
	enum ui_action purpose; /* what Enter does with the text */
};

struct ui_app {
	const struct ui_options *opt;
	evq_t *cmds, *events;
	struct ui_model model;
	int quit;
	int quit_armed;          /* q pressed once during a run */
	int help;                /* help overlay shown */
	enum ui_screen_id screen;
	const struct ui_screen_ops *screens[UI_SCR_COUNT];
	void *screen_state[UI_SCR_COUNT];
	unsigned pending_dirty;  /* model bits not yet drawn by the current screen */
	int full_redraw;
	int has_colors;
	int utf8;
	int rows, cols;
	WINDOW *title, *body, *status;
	char status_msg[256];
	int status_is_error;
	/* selection made on the start screen */
	char port[256];
	char profile[512];
	int started;             /* DETECT + PLAN sent for the current device */
	struct ui_text_input input; /* a line being typed (port path, profile path, BURN) */
	long long print_sent_ms; /* when the pending PRINT was sent */
	int mouse_y, mouse_x, mouse_double; /* the last click */
	/* autopilot: an action to do once now_ms reaches at_ms */
	long long auto_at_ms;
	int auto_stage;
	long long now_ms;
};

/* ---- app services for screens ---- */
void ui_app_set_status(struct ui_app *a, int is_error, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Sends a command; says so on the status line when there is no backend. 0 when sent. */
int ui_app_send(struct ui_app *a, struct evq_msg *m);
void ui_app_switch(struct ui_app *a, enum ui_screen_id s);
void ui_app_start_device(struct ui_app *a);
void ui_app_begin_input(struct ui_app *a, const char *prompt, enum ui_action purpose,
			const char *initial);
long long ui_app_now_ms(void);

/* ---- drawing helpers (ui_term.c) ---- */
void ui_term_init_colors(struct ui_app *a);
int ui_term_attr(const struct ui_app *a, enum ui_color c);
/* Writes text at (y, x) clipped to width w (display columns; UTF-8 aware), padding with
 * spaces to w when pad is set. */
void ui_term_put(WINDOW *w, int y, int x, int width, int pad, const char *text);
void ui_term_putf(WINDOW *w, int y, int x, int width, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
void ui_term_box(const struct ui_app *a, WINDOW *w, const char *title);
/* A centred window of h×w over the body, or NULL if it cannot fit. */
WINDOW *ui_term_center_window(const struct ui_app *a, int h, int w);
/* A window at (y, x) of the body area (below the title line); never NULL (at least 1×1). */
WINDOW *ui_term_sub(const struct ui_app *a, int h, int w, int y, int x);
/* Display columns of a UTF-8 string. */
int ui_term_width(const char *s);
/* Draws the device panel (chip and security state) into w. */
void ui_draw_device_panel(struct ui_app *a, WINDOW *w);
/* Help overlay from the binding table. */
void ui_draw_help(struct ui_app *a);

#endif
