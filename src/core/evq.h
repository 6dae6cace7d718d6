/* evq: the bounded, thread-safe queues between the backend worker thread and a front end
 * (DESIGN.md §3). One queue carries commands (front end → backend), another events (backend →
 * front end); both are the same type, made with evq_create. The consumer is woken through a file
 * descriptor so an ncurses loop can poll() the keyboard and the queue together:
 *     poll({stdin, evq_get_fd(events)}) → while ((m = evq_pop(events, 0))) { show(m); evq_msg_free(m); }
 * The worker blocks in evq_pop(commands, -1) or polls it between device operations.
 *
 * Policy (why):
 *  - Every message owns its payload: strings are duplicated, structured payloads (CHIP info,
 *    PLAN steps, PARTITION views, DONE summaries) are deep-copied jansson values, so nothing is
 *    shared between threads after a push.
 *  - PROGRESS never blocks a producer. A PROGRESS for a step replaces the one for the same step
 *    still waiting in the queue (the new one goes to the tail, the old one is dropped), so a fast
 *    flash cannot flood the UI and what the consumer sees is always a subsequence of what each
 *    producer pushed, in order. A PROGRESS that finds the queue full and nothing to replace is
 *    dropped and counted: a later PROGRESS or the STEP state supersedes it.
 *  - ABORT never blocks either and is never lost: at most one is queued and it may take one
 *    slot beyond the capacity, so the operator can always stop a run.
 *  - Any other message blocks its producer while the queue is full, up to the queue's timeout;
 *    then the push fails with ERR_DEVICE "event queue full" and the message is discarded. A
 *    worker that holds a device must never wait forever on a front end that stopped reading, and
 *    an error it can report (and abort on) is better than a silent loss.
 *  - evq_close wakes every waiter: blocked producers fail with "closed", a blocked consumer gets
 *    the messages still queued and then NULL, and the fd stays readable from then on.
 */
#ifndef ESPFAB_CORE_EVQ_H
#define ESPFAB_CORE_EVQ_H

#include <stdint.h>

#include <jansson.h>

#include "core/err.h"
#include "core/log.h"

enum evq_type {
	/* commands, front end → backend */
	EVQ_CMD_DETECT,   /* text = port */
	EVQ_CMD_PLAN,     /* text = profile path */
	EVQ_CMD_RUN,
	EVQ_CMD_CONFIRM,  /* step */
	EVQ_CMD_ABORT,
	EVQ_CMD_READBACK, /* text = partition name */
	EVQ_CMD_PRINT,    /* text = printer or output (NULL: configured default) */
	/* events, backend → front end */
	EVQ_EV_LOG,          /* level, text */
	EVQ_EV_CHIP,         /* data = chip info object */
	EVQ_EV_PLAN,         /* data = array of steps */
	EVQ_EV_STEP,         /* step, state */
	EVQ_EV_PROGRESS,     /* step, done, total, bytes_per_s */
	EVQ_EV_NEED_CONFIRM, /* step, text */
	EVQ_EV_PARTITION,    /* text = partition name, data = decoded view */
	EVQ_EV_PAYLOAD,      /* qr, manual */
	EVQ_EV_DONE,         /* code = result (exit code), data = summary or NULL */
	EVQ_EV_ERROR,        /* code (err class), text */
	EVQ_TYPE_COUNT
};

enum evq_step_state {
	EVQ_STEP_PENDING,
	EVQ_STEP_RUNNING,
	EVQ_STEP_DONE,
	EVQ_STEP_FAILED,
	EVQ_STEP_SKIPPED,
};

/* One command or event. Which fields mean something depends on type (see enum evq_type);
 * the others are 0/NULL. Every pointer is owned by the message. */
struct evq_msg {
	enum evq_type type;
	char *step;   /* step id */
	char *text;   /* log line, port, profile, partition, confirmation prompt, error text */
	char *qr;     /* PAYLOAD: "MT:..." */
	char *manual; /* PAYLOAD: manual pairing code, digits only */
	json_t *data; /* structured payload, one reference owned by the message */
	int level;    /* LOG: enum log_level */
	int code;     /* ERROR: err class; DONE: result */
	enum evq_step_state state;
	uint64_t done, total;
	double bytes_per_s;
	struct evq_msg *prev, *next; /* queue links, private */
};

typedef struct evq evq_t;

struct evq_stats {
	unsigned long pushed, popped;
	unsigned long coalesced;        /* PROGRESS replaced by a newer one */
	unsigned long dropped_progress; /* PROGRESS dropped on a full queue */
	unsigned long overflows;        /* pushes that timed out on a full queue */
};

/* capacity ≥ 1; block_ms: how long a push of an ordinary message waits on a full queue
 * (0: fail at once). Returns NULL with e set when the eventfd cannot be made. */
evq_t *evq_create(unsigned capacity, int block_ms, err_t *e);
/* Frees the queue and every message still in it. No thread may use it any more. */
void evq_destroy(evq_t *q);
/* Wakes every waiter and refuses further pushes. Idempotent. */
void evq_close(evq_t *q);
int evq_is_closed(evq_t *q);

/* Readable (POLLIN) exactly while at least one message is queued, and always after evq_close.
 * Never read it: evq_pop keeps it in step with the queue. */
int evq_get_fd(evq_t *q);

/* Takes ownership of m (freed on failure too). Returns 0, or -1 with e set: ERR_DEVICE "event
 * queue full" after the timeout, or "event queue closed". e may be NULL. */
int evq_push(evq_t *q, struct evq_msg *m, err_t *e);
/* As evq_push with a timeout for this push instead of the queue's (ms; 0 = no waiting). */
int evq_push_timeout(evq_t *q, struct evq_msg *m, int block_ms, err_t *e);

/* Oldest message, or NULL when none came within timeout_ms (0: don't wait, <0: wait forever)
 * or when the queue is closed and empty. Free the result with evq_msg_free. */
struct evq_msg *evq_pop(evq_t *q, int timeout_ms);
unsigned evq_count_pending(evq_t *q);
void evq_get_stats(evq_t *q, struct evq_stats *out);

/* Messages. evq_msg_new copies nothing; the make_* helpers copy their arguments (json values are
 * deep-copied, so the caller keeps its own). They abort on out-of-memory like buf.h. */
struct evq_msg *evq_msg_new(enum evq_type type);
void evq_msg_free(struct evq_msg *m);
struct evq_msg *evq_msg_copy(const struct evq_msg *m);
struct evq_msg *evq_make_text(enum evq_type type, const char *text); /* DETECT, PLAN, READBACK, PRINT */
struct evq_msg *evq_make_confirm(const char *step);
struct evq_msg *evq_make_log(int level, const char *text);
struct evq_msg *evq_make_data(enum evq_type type, const char *text, const json_t *data); /* CHIP, PLAN, PARTITION */
struct evq_msg *evq_make_step(const char *step, enum evq_step_state state);
struct evq_msg *evq_make_progress(const char *step, uint64_t done, uint64_t total, double bytes_per_s);
struct evq_msg *evq_make_need_confirm(const char *step, const char *text);
struct evq_msg *evq_make_payload(const char *qr, const char *manual);
struct evq_msg *evq_make_done(int result, const json_t *summary);
struct evq_msg *evq_make_error(int code, const char *text);

const char *evq_name_type(enum evq_type type);       /* "progress", "need_confirm", "abort" … */
const char *evq_name_state(enum evq_step_state state); /* "pending", "running" … */
int evq_is_command(enum evq_type type);

/* One JSON object on one line, without the newline, for the headless front end:
 *   {"event":"progress","step":"write","done":4096,"total":65536,"bytes_per_s":115200.0}
 *   {"command":"confirm","step":"burn-key"}
 * Bytes that are not UTF-8 are replaced by '?'. Returns a malloc'd string (free()). */
char *evq_format_json(const struct evq_msg *m);

/* The reverse of evq_format_json: one JSON line (a command from a script driving the headless
 * front end, or an event line a test reads back) into a new message. Unknown names, missing or
 * mistyped fields are errors naming the field. */
struct evq_msg *evq_parse_json(const char *line, err_t *e);

/* A log.h sink that turns each log line into a LOG event on the queue (ctx = evq_t *). It
 * never blocks: a line that finds the queue full is dropped and counted as an overflow. */
void evq_sink_log(void *ctx, enum log_level level, const char *line);

#endif
