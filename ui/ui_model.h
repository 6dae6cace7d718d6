/* ui_model: what the front end knows about the current device and run, built only from the
 * backend's events (DESIGN.md §3). Curses-free, so it is unit-tested on its own; screens read
 * it and redraw only the parts whose dirty bits an event set. */
#ifndef ESPFAB_UI_MODEL_H
#define ESPFAB_UI_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "ui_deps.h"

#include <jansson.h>

#include "core/evq.h"

/* What changed since the screens last drew. */
enum ui_dirty {
	UI_DIRTY_CHIP = 1u << 0,
	UI_DIRTY_PLAN = 1u << 1,     /* the step list itself */
	UI_DIRTY_STEPS = 1u << 2,    /* a step's state */
	UI_DIRTY_PROGRESS = 1u << 3,
	UI_DIRTY_LOG = 1u << 4,
	UI_DIRTY_CONFIRM = 1u << 5,
	UI_DIRTY_PAYLOAD = 1u << 6,
	UI_DIRTY_DONE = 1u << 7,
	UI_DIRTY_ERROR = 1u << 8,
	UI_DIRTY_PARTITION = 1u << 9,
	UI_DIRTY_PRINT = 1u << 10,
	UI_DIRTY_ALL = 0xffffffffu,
};

#define UI_LOG_LINES 256
#define UI_ID_MAX 48
#define UI_TEXT_MAX 256

struct ui_step {
	char id[UI_ID_MAX];
	char text[UI_TEXT_MAX];
	char kind[32];
	int irreversible;
	enum evq_step_state state;
	int has_progress;
	uint64_t done, total;
	double bytes_per_s;
};

struct ui_log_line {
	int level; /* enum log_level */
	char text[UI_TEXT_MAX];
};

/* One "label: value" line of the device panel. */
struct ui_kv {
	char key[24];
	char value[96];
	int warn; /* shown highlighted: a security-relevant state the operator should notice */
};

/* The label job (PRINT command) of the current device. */
enum ui_print_state { UI_PRINT_NONE, UI_PRINT_PENDING, UI_PRINT_OK, UI_PRINT_FAILED };

struct ui_model {
	/* CHIP */
	int have_chip;
	json_t *chip; /* the event's info object, one reference */
	/* PLAN / STEP / PROGRESS */
	struct ui_step *steps;
	size_t n_steps;
	int running; /* RUN sent and no DONE yet */
	int planned; /* a PLAN finished (DONE "planned"): RUN may follow */
	/* NEED_CONFIRM */
	int need_confirm;
	char confirm_step[UI_ID_MAX];
	char confirm_text[UI_TEXT_MAX];
	/* PAYLOAD */
	char qr[UI_TEXT_MAX];
	char manual[32];
	/* DONE */
	int done;
	int result;
	json_t *summary;
	/* ERROR: the last one */
	int error_code;
	char error[UI_TEXT_MAX];
	/* PRINT: answered by a DONE whose summary's result is "printed" or "print-failed" */
	enum ui_print_state print_state;
	char print_text[UI_TEXT_MAX]; /* "printed to X" / "print failed: reason" */
	/* CHIP re-read after an eFuse step: that step's id ("" = as detected) */
	char chip_after[UI_ID_MAX];
	/* PARTITION: name → decoded view */
	json_t *partitions;
	/* LOG: a ring of the last UI_LOG_LINES lines */
	struct ui_log_line log[UI_LOG_LINES];
	size_t log_head, log_count;
	unsigned long log_total;
	unsigned dirty;
};

void ui_model_init(struct ui_model *m);
void ui_model_free(struct ui_model *m);
/* Applies one event (commands are ignored); returns the dirty bits it set, also ORed into
 * m->dirty. */
unsigned ui_model_apply(struct ui_model *m, const struct evq_msg *msg);
/* Forgets the device (chip, step states, payload, result, partitions), keeps the log and the
 * step list: what "next device" starts from. */
void ui_model_reset_device(struct ui_model *m);
/* A line of the front end's own (a command sent, a key refused) in the log pane. */
void ui_model_note(struct ui_model *m, int level, const char *text);
/* A PRINT command was sent: the label job is pending until its DONE. */
void ui_model_print_sent(struct ui_model *m);
/* Whether msg is the DONE that answers a PRINT (not the end of a run). */
int ui_model_is_print_answer(const struct evq_msg *msg);
/* Clears the confirmation request once answered. */
void ui_model_clear_confirm(struct ui_model *m);

const struct ui_step *ui_model_find_step(const struct ui_model *m, const char *id);
/* The i-th log line, 0 = oldest kept. */
const struct ui_log_line *ui_model_get_log(const struct ui_model *m, size_t i);
/* The step a transfer is running in (the running step with progress), or NULL. */
const struct ui_step *ui_model_active_step(const struct ui_model *m);

/* Device panel lines from the CHIP info (chip, revision, MAC, flash, crystal, key blocks and
 * purposes, flash-encryption counter, secure boot); returns how many were filled. */
size_t ui_model_describe_chip(const struct ui_model *m, struct ui_kv *out, size_t max);
/* Serial number and MAC for the result screen: from the DONE summary, else from the chip. */
void ui_model_get_serial(const struct ui_model *m, char *out, size_t n);
void ui_model_get_mac(const struct ui_model *m, char *out, size_t n);

/* ---- text helpers (no event queue needed) ---- */

/* Groups a manual code as the printed label does (11 digits 4-3-4; 21 digits on one line);
 * anything that is not a manual code is copied unchanged. */
void ui_format_manual(const char *digits, char *out, size_t n);
/* "1.2 MiB", "512 B", "115.2 KiB" */
void ui_format_bytes(double bytes, char *out, size_t n);
/* "0:42", "12:05", "1:02:03"; "--:--" when unknown (rate 0). */
void ui_format_eta(uint64_t done, uint64_t total, double bytes_per_s, char *out, size_t n);
/* Progress line: "[#######.......]  45%  115.2 KiB/s  ETA 0:12" fitting width columns. */
void ui_format_progress(uint64_t done, uint64_t total, double bytes_per_s, int width, char *out,
			size_t n);
/* Whether the operator typed the confirmation word (exact, case-sensitive, as espefuse asks). */
int ui_confirm_matches(const char *typed);
#define UI_CONFIRM_WORD "BURN"

#endif
