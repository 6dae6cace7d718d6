/* engine: one provisioning run of one device, from detection to the manifest row: detect → plan
 * → generate (identity persisted before the chip is touched) → confirm → burn → write → verify
 * by readback → result. It reports through hooks (events for the front end, a blocking
 * confirmation, an abort check), which the event-queue worker and the headless front end
 * implement; it never prints. Every step is journaled, so a rerun of the same MAC resumes with
 * the identity it already has. */
#ifndef ESPFAB_FLOW_ENGINE_H
#define ESPFAB_FLOW_ENGINE_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "core/err.h"
#include "flow/device.h"

enum engine_event_type {
	ENGINE_EV_LOG,
	ENGINE_EV_CHIP,         /* data: chip object */
	ENGINE_EV_PLAN,         /* data: {path, mode, ..., steps: [...], warnings: [...]} */
	ENGINE_EV_STEP,         /* step, state */
	ENGINE_EV_PROGRESS,     /* step, done, total, bytes_per_s */
	ENGINE_EV_NEED_CONFIRM, /* step, text */
	ENGINE_EV_PARTITION,    /* text = label, data = decoded readback */
	ENGINE_EV_PAYLOAD,      /* qr, manual */
	ENGINE_EV_DONE,         /* code = exit code, data = summary */
	ENGINE_EV_ERROR,        /* code = err class, text */
};

enum engine_step_state {
	ENGINE_STEP_PENDING,
	ENGINE_STEP_RUNNING,
	ENGINE_STEP_DONE,
	ENGINE_STEP_FAILED,
	ENGINE_STEP_SKIPPED,
};

/* Everything borrowed: valid only during the emit call. */
struct engine_event {
	enum engine_event_type type;
	const char *step;
	const char *text;
	int level; /* LOG: enum log_level */
	int code;
	enum engine_step_state state;
	uint64_t done, total;
	double bytes_per_s;
	const char *qr, *manual;
	json_t *data;
};

struct engine_hooks {
	void *ctx;
	void (*emit)(void *ctx, const struct engine_event *ev);
	/* Blocks until the operator answers; true = go on. NULL: refuse unless assume_yes. */
	bool (*confirm)(void *ctx, const char *step, const char *text);
	/* Polled between steps and blocks; true = stop now. May be NULL. */
	bool (*should_abort)(void *ctx);
};

struct engine_options {
	const char *profile_path;
	const char *out_dir; /* overrides the profile's [output] dir when set */
	bool dry_run;        /* detect, plan and generate; touch neither chip nor journal */
	bool plan_only;      /* detect and plan, then stop (the TUI's PLAN command) */
	bool assume_yes;     /* confirm the irreversible steps without asking */
};

struct engine_result {
	int code;          /* exit code (DESIGN.md §4) */
	bool resumed;      /* the device's existing identity was used */
	char mac[18];
	char chip[16];
	char serial[40];
	char qr[64];
	char manual[32];
	char folder[512];
};

/* Runs the whole flow for the device. Returns the exit code (also in res->code); on failure e
 * names the step and cause. dev is not closed. */
int engine_run_device(const struct engine_options *o, struct flow_device *dev, const struct engine_hooks *h,
		      struct engine_result *res, err_t *e);

/* The CHIP event's object for a detected chip (also what the front ends show). */
json_t *engine_describe_chip(const struct plan_chip *chip);

const char *engine_name_event(enum engine_event_type t);
const char *engine_name_state(enum engine_step_state s);

#endif
