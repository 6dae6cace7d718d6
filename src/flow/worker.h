/* worker: the backend thread of the front ends (DESIGN.md §3). It consumes commands from one
 * event queue and answers on another, so the ncurses loop never blocks on the device:
 *   DETECT(port)       open the port, identify the chip          → CHIP, or ERROR
 *   PLAN(profile)      choose the profile, plan for the chip     → CHIP, PLAN, DONE("planned")
 *   RUN                provision the chip with the profile       → the engine's events, DONE
 *   CONFIRM(step)      answers the NEED_CONFIRM of a RUN
 *   ABORT              stops a RUN between steps (or declines the confirmation)
 *   READBACK(label)    reads a partition back and decodes it     → PARTITION
 *   PRINT(target)      prints the label of the device the last RUN provisioned, laid out by
 *                      the profile's label template → LOG, DONE {"result": "printed", ...};
 *                      on failure ERROR, DONE {"result": "print-failed", "error": ...}.
 *                      target: NULL/"" the CUPS default destination; a file path (has a '/'
 *                      or ends in .png/.zpl), ZPL when it ends in .zpl; "zpl:QUEUE" ZPL raw
 *                      to a Zebra queue; else a CUPS queue taking the PNG.
 * During a RUN, after each eFuse step is done the chip is read again and sent as a CHIP event
 * with "after_step", so the front end shows the eFuses as they now are.
 * The port stays open between commands; RUN closes it at the end (the chip may have been
 * locked down), so the next board starts with DETECT. */
#ifndef ESPFAB_FLOW_WORKER_H
#define ESPFAB_FLOW_WORKER_H

#include "core/err.h"
#include "core/evq.h"
#include "flow/device.h"
#include "flow/engine.h"

struct flow_worker;

struct flow_worker_options {
	const char *out_dir; /* overrides the profile's output folder; NULL: the profile's */
	bool assume_yes;     /* RUN does not wait for CONFIRM (tests, scripted stations) */
	/* Opens a port; NULL: the ROM loader (device_rom_open). Tests pass their own device. */
	int (*open_device)(const char *port, struct flow_device **out, err_t *e);
	unsigned baud;       /* ROM loader's working baud; 0: the profile's, else DEVICE_ROM_DEFAULT_BAUD */
};

/* Starts the thread. The queues stay the caller's; close `commands` (evq_close) or call
 * flow_worker_stop to end it. */
int flow_worker_start(evq_t *commands, evq_t *events, const struct flow_worker_options *o,
		      struct flow_worker **out, err_t *e);
/* Closes the command queue, waits for the thread and frees it. */
void flow_worker_stop(struct flow_worker *w);

/* The event-queue message for an engine event (what the worker pushes and what the headless
 * front end prints with evq_format_json). */
struct evq_msg *flow_worker_make_msg(const struct engine_event *ev);

#endif
