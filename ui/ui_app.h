/* ui_app: the ncurses workstation. Runs on the main thread: polls the keyboard and the event
 * queue together, turns events into the model (ui_model), draws the current screen where the
 * model changed, and sends the operator's choices to the backend as commands (DESIGN.md §3). */
#ifndef ESPFAB_UI_APP_H
#define ESPFAB_UI_APP_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "core/err.h"
#include "ui_deps.h"

#include "core/evq.h"

struct ui_options {
	const char *port;         /* preselected port (else the likely ESP device) */
	const char *profile;      /* preselected profile path */
	const char *profiles_dir; /* folder listed by the profile picker; NULL: assets/profiles */
	int start_run;            /* send DETECT + PLAN at once and open the flow screen */
	int autopilot;            /* answer every question by itself, with short pauses (demo --auto) */
	int monochrome;           /* no colours even where the terminal has them */
	const char *backend_missing; /* when set, why no backend runs (shown when a command is sent) */
	const char *printer;      /* CUPS queue for labels (NULL: the default destination) */
	const char *label_file;   /* labels are written to this PNG file instead of printed */
	const char *manifest;     /* manifest CSV read-back data is compared with; NULL: the profile's */
	/* Inspector on a decoded file: the view (ui_inspect_decode) and the bytes for the hex view.
	 * When set, the TUI opens in the inspector. */
	const json_t *inspect_view;
	const uint8_t *inspect_data;
	size_t inspect_len;
};

/* Runs until the operator quits. Commands go to cmds (NULL: no backend), events come from
 * events (NULL: none). Returns 0, or -1 with e set when the terminal cannot be used. */
int ui_app_run(const struct ui_options *o, evq_t *cmds, evq_t *events, err_t *e);

#endif
