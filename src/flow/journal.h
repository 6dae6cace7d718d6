/* journal: the record of every device a station provisions, keyed by MAC: its identity (paths to
 * the 0600 files in the device folder, never key material), every step with its state and time,
 * and the result row the manifest CSV is exported from. Behind a store interface (vtable) so a
 * shared PostgreSQL store can replace the embedded SQLite one; each call is one transaction. */
#ifndef ESPFAB_FLOW_JOURNAL_H
#define ESPFAB_FLOW_JOURNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"

enum journal_step_state {
	JOURNAL_STEP_STARTED = 0,
	JOURNAL_STEP_DONE,
	JOURNAL_STEP_FAILED,
	JOURNAL_STEP_SKIPPED,
};

struct journal_device {
	int64_t seq;          /* the device's sequence number ({seq} of the serial pattern) */
	char mac[18];         /* "aa:bb:cc:dd:ee:ff", the key */
	char chip[16];        /* "esp32h2" */
	char revision[16];    /* "v1.2" */
	char serial[40];
	char folder[512];     /* the per-device output folder */
	char qr[64];
	char manual[32];
	char result[16];      /* "" while in progress, then "ok", "failed", "refused" */
	int64_t created, updated; /* unix time, seconds */
	bool identity_saved;  /* the identity files are on disk (fsynced) */
	bool efuse_touched;   /* an irreversible step started: this identity is the chip's forever */
	int64_t step_count;   /* rows in the step history */
};

/* One file of a device's identity: role ("dac_cert", "fe_key", ...) and where it is. */
struct journal_file {
	char role[32];
	char path[1024];
};

struct journal_step {
	char step[32];
	enum journal_step_state state;
	bool irreversible;
	char detail[256];
	int64_t time;
};

struct journal;

struct journal_ops {
	/* found = false and 0 returned when no device has that MAC. */
	int (*find_device)(struct journal *j, const char *mac, struct journal_device *out, bool *found,
			   err_t *e);
	/* Inserts dev (mac, chip, revision, folder) and assigns dev->seq = max(first_seq, last + 1).
	 * A MAC already present is an error. */
	int (*add_device)(struct journal *j, struct journal_device *dev, int64_t first_seq, err_t *e);
	/* Records the identity's folder, files and serial; sets identity_saved. Refused once eFuses
	 * were touched, so a burned chip can never be given a second identity. */
	int (*save_identity)(struct journal *j, const char *mac, const char *serial, const char *folder,
			     const struct journal_file *files, int n_files, err_t *e);
	int (*list_files)(struct journal *j, const char *mac, struct journal_file **files, int *n,
			  err_t *e);
	/* Appends a step row; an irreversible step marks the device efuse_touched in the same
	 * transaction, before the step can begin on the chip. */
	int (*record_step)(struct journal *j, const char *mac, const char *step,
			   enum journal_step_state state, bool irreversible, const char *detail, err_t *e);
	int (*list_steps)(struct journal *j, const char *mac, struct journal_step **steps, int *n,
			  err_t *e);
	int (*set_result)(struct journal *j, const char *mac, const char *result, const char *qr,
			  const char *manual, err_t *e);
	/* Every device, in sequence order. */
	int (*list_devices)(struct journal *j, struct journal_device **devs, int *n, err_t *e);
	void (*close)(struct journal *j);
};

struct journal {
	const struct journal_ops *ops;
};

/* Opens (creating if needed) the SQLite journal at path, in WAL mode with full sync. */
int journal_open_sqlite(const char *path, struct journal **out, err_t *e);
/* Test hook: called inside a transaction between its statements ("record_step", ...), so a
 * test can kill the process mid-transaction. NULL to remove. */
void journal_sqlite_set_fault_hook(struct journal *j, void (*hook)(const char *where));

static inline int journal_find_device(struct journal *j, const char *mac, struct journal_device *out,
				      bool *found, err_t *e)
{
	return j->ops->find_device(j, mac, out, found, e);
}
static inline int journal_add_device(struct journal *j, struct journal_device *dev, int64_t first_seq,
				     err_t *e)
{
	return j->ops->add_device(j, dev, first_seq, e);
}
static inline int journal_save_identity(struct journal *j, const char *mac, const char *serial,
					const char *folder, const struct journal_file *files, int n,
					err_t *e)
{
	return j->ops->save_identity(j, mac, serial, folder, files, n, e);
}
static inline int journal_list_files(struct journal *j, const char *mac, struct journal_file **files,
				     int *n, err_t *e)
{
	return j->ops->list_files(j, mac, files, n, e);
}
static inline int journal_record_step(struct journal *j, const char *mac, const char *step,
				      enum journal_step_state state, bool irreversible,
				      const char *detail, err_t *e)
{
	return j->ops->record_step(j, mac, step, state, irreversible, detail, e);
}
static inline int journal_list_steps(struct journal *j, const char *mac, struct journal_step **steps,
				     int *n, err_t *e)
{
	return j->ops->list_steps(j, mac, steps, n, e);
}
static inline int journal_set_result(struct journal *j, const char *mac, const char *result,
				     const char *qr, const char *manual, err_t *e)
{
	return j->ops->set_result(j, mac, result, qr, manual, e);
}
static inline int journal_list_devices(struct journal *j, struct journal_device **devs, int *n,
				       err_t *e)
{
	return j->ops->list_devices(j, devs, n, e);
}
static inline void journal_close(struct journal *j)
{
	if (j)
		j->ops->close(j);
}

/* Writes the manifest CSV (serial, mac, chip, revision, path, qr, result, time) from the
 * store, atomically. It never contains a private key or a passcode. */
int journal_export_manifest(struct journal *j, const char *csv_path, err_t *e);

const char *journal_name_state(enum journal_step_state state);
/* "aa:bb:cc:dd:ee:ff" from 6 bytes (out: 18 chars). */
void journal_format_mac(const uint8_t mac[6], char out[18]);

#endif
