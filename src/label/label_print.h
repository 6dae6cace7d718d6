/* label_print: sending a rendered label to a printer through CUPS: a PNG to an ordinary queue
 * (CUPS converts it for the printer, at the label's resolution), or ZPL as-is to a raw queue
 * of a Zebra printer. For tests and for saving a reprint, the same bytes can go to a file. */
#ifndef ESPFAB_LABEL_PRINT_H
#define ESPFAB_LABEL_PRINT_H

#include <stddef.h>

#include "core/err.h"

enum label_print_format { LABEL_PRINT_PNG, LABEL_PRINT_ZPL };

struct label_print_job {
	const char *printer;   /* CUPS queue name; NULL: the default destination */
	const char *title;     /* job title; NULL: "espfab label" */
	enum label_print_format format;
	unsigned dpi;          /* PNG: resolution to print at (CUPS "ppi"); 0: CUPS decides */
	const char *to_file;   /* when set, write the data here instead of printing */
};

/* Prints data (the PNG or ZPL bytes). ZPL goes with the "raw" option, so CUPS passes it to the
 * printer untouched. Sets *job_id (0 when written to a file). The printer is found through the
 * usual CUPS client settings (CUPS_SERVER, client.conf). */
int label_print_data(const struct label_print_job *job, const void *data, size_t len, int *job_id, err_t *e);

/* Waits until the job has left the queue: 0 when it completed; -1 with e set when it was
 * stopped, cancelled or aborted, or is still pending or printing after timeout_ms. */
int label_print_wait_job(const char *printer, int job_id, int timeout_ms, err_t *e);

#endif
