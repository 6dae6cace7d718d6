/* ui_script: a backend that replays events from JSON lines (the headless front end's output
 * format, evq_format_json) on a worker thread, so a recorded run can be reviewed in the TUI
 * (`espfab tui --replay FILE`) and the screens can be driven without hardware. Besides event
 * lines it understands two control lines: {"await":"run"} waits for that command from the
 * front end (any command name), {"sleep_ms":N} pauses. Curses-free. */
#ifndef ESPFAB_UI_SCRIPT_H
#define ESPFAB_UI_SCRIPT_H

#include "ui_deps.h"

#include <jansson.h>

#include "core/err.h"
#include "core/evq.h"

/* One JSON-lines object → an event message (NULL with e set when it is not an event). */
struct evq_msg *ui_script_parse_event(const json_t *o, err_t *e);

struct ui_script;

/* Reads the whole file and starts the thread: it pops commands from cmds and pushes events to
 * events. pace_ms: pause after each event. */
struct ui_script *ui_script_start(const char *path, evq_t *cmds, evq_t *events, int pace_ms,
				  err_t *e);
/* Stops the thread (the queues must still exist) and frees the script. */
void ui_script_stop(struct ui_script *s);

#endif
