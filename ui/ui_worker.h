/* ui_worker: the TUI's backend thread. It turns the front end's commands (DETECT, PLAN, RUN,
 * CONFIRM, ABORT, READBACK, PRINT) into provisioning-engine runs on the device and the engine's
 * hooks into events (DESIGN.md §3): a dry run previews the chip and the plan, RUN provisions,
 * each irreversible step waits for a CONFIRM command, READBACK decodes a written partition for
 * the inspector, PRINT sends the device's label through CUPS. Curses-free. */
#ifndef ESPFAB_UI_WORKER_H
#define ESPFAB_UI_WORKER_H

#include "core/err.h"
#include "core/evq.h"
#include "ui_deps.h"

struct ui_worker_opts {
	const char *out_dir; /* overrides the profile's [output] dir; NULL: the profile's */
	const char *printer; /* CUPS queue for PRINT without a target; NULL: the default */
};

struct ui_worker;

/* Starts the thread; NULL with e set when this build has no engine. */
struct ui_worker *ui_worker_start(evq_t *cmds, evq_t *events, const struct ui_worker_opts *o,
				  err_t *e);
/* Close both queues first: the thread then leaves at its next wait. Joins and frees. */
void ui_worker_stop(struct ui_worker *w);
/* Whether this build can run the engine (flow + loader modules present). */
int ui_worker_available(void);

#endif
