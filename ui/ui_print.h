/* ui_print: the result screen's label printing. The label module renders the device's label
 * (the profile's template, else the built-in one) and sends it through CUPS on a short-lived
 * thread, so the screen never waits on a printer; the outcome comes back as a LOG or ERROR
 * event on the event queue. Curses-free. */
#ifndef ESPFAB_UI_PRINT_H
#define ESPFAB_UI_PRINT_H

#include "core/err.h"
#include "core/evq.h"

struct ui_print_job {
	char qr[256];
	char manual[32];
	char serial[96];
	char profile[1024]; /* for the label template and product name; "" = built-in layout */
	char printer[128];  /* CUPS queue; "" = the default destination */
	char to_file[1024]; /* write the PNG here instead of printing ("" = print) */
};

struct ui_print;

/* Starts the job; its result is pushed to events. NULL with e set when it cannot start. */
struct ui_print *ui_print_start(evq_t *events, const struct ui_print_job *job, err_t *e);
/* Whether the job has finished (its event is pushed). */
int ui_print_is_done(struct ui_print *p);
/* Waits for the job and frees it; NULL is allowed. The queue must outlive this call. */
void ui_print_finish(struct ui_print *p);

#endif
