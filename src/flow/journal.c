#include "flow/journal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <csv.h>
#include <sqlite3.h>

#include "core/buf.h"
#include "core/fileio.h"

struct journal_sqlite {
	struct journal base;
	sqlite3 *db;
	char *path;
	void (*hook)(const char *where);
};

static const char journal_schema[] =
	"CREATE TABLE IF NOT EXISTS devices ("
	" mac TEXT PRIMARY KEY,"
	" seq INTEGER NOT NULL UNIQUE,"
	" chip TEXT NOT NULL, revision TEXT NOT NULL,"
	" serial TEXT NOT NULL DEFAULT '', folder TEXT NOT NULL,"
	" qr TEXT NOT NULL DEFAULT '', manual TEXT NOT NULL DEFAULT '',"
	" result TEXT NOT NULL DEFAULT '',"
	" created INTEGER NOT NULL, updated INTEGER NOT NULL,"
	" identity_saved INTEGER NOT NULL DEFAULT 0,"
	" efuse_touched INTEGER NOT NULL DEFAULT 0,"
	" step_count INTEGER NOT NULL DEFAULT 0);"
	"CREATE TABLE IF NOT EXISTS files ("
	" mac TEXT NOT NULL REFERENCES devices(mac), role TEXT NOT NULL, path TEXT NOT NULL,"
	" PRIMARY KEY (mac, role));"
	"CREATE TABLE IF NOT EXISTS steps ("
	" id INTEGER PRIMARY KEY AUTOINCREMENT,"
	" mac TEXT NOT NULL REFERENCES devices(mac), step TEXT NOT NULL, state INTEGER NOT NULL,"
	" irreversible INTEGER NOT NULL, detail TEXT NOT NULL, time INTEGER NOT NULL);"
	"CREATE INDEX IF NOT EXISTS steps_mac ON steps(mac, id);";

static struct journal_sqlite *journal_cast(struct journal *j)
{
	return (struct journal_sqlite *)j;
}

static int journal_db_error(struct journal_sqlite *js, err_t *e, const char *what)
{
	return err_set_msg(e, ERR_CHECK, "journal %s: %s: %s", js->path, what, sqlite3_errmsg(js->db));
}

static void journal_fault_point(struct journal_sqlite *js, const char *where)
{
	if (js->hook)
		js->hook(where);
}

static int journal_exec(struct journal_sqlite *js, const char *sql, err_t *e)
{
	char *msg = NULL;
	if (sqlite3_exec(js->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		err_set_msg(e, ERR_CHECK, "journal %s: %s: %s", js->path, sql, msg ? msg : "failed");
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

static int journal_begin(struct journal_sqlite *js, err_t *e)
{
	/* IMMEDIATE takes the write lock up front, so two stations sharing a file never deadlock
	 * on a read-to-write upgrade. */
	return journal_exec(js, "BEGIN IMMEDIATE", e);
}

static int journal_commit(struct journal_sqlite *js, err_t *e)
{
	return journal_exec(js, "COMMIT", e);
}

static void journal_rollback(struct journal_sqlite *js)
{
	sqlite3_exec(js->db, "ROLLBACK", NULL, NULL, NULL);
}

static int journal_prepare(struct journal_sqlite *js, const char *sql, sqlite3_stmt **st, err_t *e)
{
	if (sqlite3_prepare_v2(js->db, sql, -1, st, NULL) != SQLITE_OK)
		return journal_db_error(js, e, "prepare");
	return 0;
}

static void journal_copy_text(char *dst, size_t n, const unsigned char *src)
{
	snprintf(dst, n, "%s", src ? (const char *)src : "");
}

static const char journal_device_columns[] =
	"seq, mac, chip, revision, serial, folder, qr, manual, result, created, updated, "
	"identity_saved, efuse_touched, step_count";

static void journal_read_device(sqlite3_stmt *st, struct journal_device *d)
{
	memset(d, 0, sizeof *d);
	d->seq = sqlite3_column_int64(st, 0);
	journal_copy_text(d->mac, sizeof d->mac, sqlite3_column_text(st, 1));
	journal_copy_text(d->chip, sizeof d->chip, sqlite3_column_text(st, 2));
	journal_copy_text(d->revision, sizeof d->revision, sqlite3_column_text(st, 3));
	journal_copy_text(d->serial, sizeof d->serial, sqlite3_column_text(st, 4));
	journal_copy_text(d->folder, sizeof d->folder, sqlite3_column_text(st, 5));
	journal_copy_text(d->qr, sizeof d->qr, sqlite3_column_text(st, 6));
	journal_copy_text(d->manual, sizeof d->manual, sqlite3_column_text(st, 7));
	journal_copy_text(d->result, sizeof d->result, sqlite3_column_text(st, 8));
	d->created = sqlite3_column_int64(st, 9);
	d->updated = sqlite3_column_int64(st, 10);
	d->identity_saved = sqlite3_column_int(st, 11) != 0;
	d->efuse_touched = sqlite3_column_int(st, 12) != 0;
	d->step_count = sqlite3_column_int64(st, 13);
}

/* Steps st to its end, reading each row into a new element of a growing array of `size`-byte
 * rows: *rows (malloc'd, NULL when none) and *n, or -1 with nothing kept on a database error. */
static int journal_collect_rows(struct journal_sqlite *js, sqlite3_stmt *st, size_t size, int first_cap,
				void (*read_row)(sqlite3_stmt *st, void *row), const char *what, void **rows,
				int *n, err_t *e)
{
	char *a = NULL;
	int rc, cap = 0;
	*n = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (*n == cap) {
			cap = cap ? cap * 2 : first_cap;
			a = realloc(a, (size_t)cap * size);
			if (!a)
				abort();
		}
		read_row(st, a + (size_t)(*n)++ * size);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		free(a);
		*rows = NULL;
		*n = 0;
		return journal_db_error(js, e, what);
	}
	*rows = a;
	return 0;
}

static void journal_read_device_row(sqlite3_stmt *st, void *row)
{
	journal_read_device(st, row);
}

static void journal_read_file_row(sqlite3_stmt *st, void *row)
{
	struct journal_file *f = row;
	journal_copy_text(f->role, sizeof f->role, sqlite3_column_text(st, 0));
	journal_copy_text(f->path, sizeof f->path, sqlite3_column_text(st, 1));
}

static void journal_read_step_row(sqlite3_stmt *st, void *row)
{
	struct journal_step *s = row;
	journal_copy_text(s->step, sizeof s->step, sqlite3_column_text(st, 0));
	s->state = (enum journal_step_state)sqlite3_column_int(st, 1);
	s->irreversible = sqlite3_column_int(st, 2) != 0;
	journal_copy_text(s->detail, sizeof s->detail, sqlite3_column_text(st, 3));
	s->time = sqlite3_column_int64(st, 4);
}

static int journal_sqlite_find(struct journal *j, const char *mac, struct journal_device *out, bool *found,
			       err_t *e)
{
	struct journal_sqlite *js = journal_cast(j);
	char sql[256];
	snprintf(sql, sizeof sql, "SELECT %s FROM devices WHERE mac = ?1", journal_device_columns);
	sqlite3_stmt *st;
	if (journal_prepare(js, sql, &st, e))
		return -1;
	sqlite3_bind_text(st, 1, mac, -1, SQLITE_TRANSIENT);
	int rc = sqlite3_step(st);
	*found = rc == SQLITE_ROW;
	if (*found)
		journal_read_device(st, out);
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return journal_db_error(js, e, "find device");
	return 0;
}

static int journal_sqlite_add(struct journal *j, struct journal_device *dev, int64_t first_seq, err_t *e)
{
	struct journal_sqlite *js = journal_cast(j);
	if (journal_begin(js, e))
		return -1;
	sqlite3_stmt *st = NULL;
	int64_t seq = first_seq;
	if (journal_prepare(js, "SELECT MAX(seq) FROM devices", &st, e))
		goto fail;
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL) {
		int64_t last = sqlite3_column_int64(st, 0);
		if (last + 1 > seq)
			seq = last + 1;
	}
	sqlite3_finalize(st);
	st = NULL;
	if (journal_prepare(js, "INSERT INTO devices (mac, seq, chip, revision, folder, created, updated) "
				"VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)", &st, e))
		goto fail;
	int64_t now = (int64_t)time(NULL);
	sqlite3_bind_text(st, 1, dev->mac, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 2, seq);
	sqlite3_bind_text(st, 3, dev->chip, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 4, dev->revision, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 5, dev->folder, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 6, now);
	if (sqlite3_step(st) != SQLITE_DONE) {
		if (sqlite3_extended_errcode(js->db) == SQLITE_CONSTRAINT_PRIMARYKEY)
			err_set_msg(e, ERR_CHECK, "journal %s: device %s is already recorded", js->path,
				    dev->mac);
		else
			journal_db_error(js, e, "add device");
		goto fail;
	}
	sqlite3_finalize(st);
	st = NULL;
	journal_fault_point(js, "add_device");
	if (journal_commit(js, e))
		goto fail;
	dev->seq = seq;
	dev->created = dev->updated = now;
	return 0;
fail:
	sqlite3_finalize(st);
	journal_rollback(js);
	return -1;
}

/* Runs a one-row UPDATE/INSERT inside an open transaction. */
static int journal_step_stmt(struct journal_sqlite *js, sqlite3_stmt *st, const char *what, err_t *e)
{
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return journal_db_error(js, e, what);
	return 0;
}

static int journal_sqlite_save_identity(struct journal *j, const char *mac, const char *serial,
					const char *folder, const struct journal_file *files, int n_files,
					err_t *e)
{
	struct journal_sqlite *js = journal_cast(j);
	struct journal_device d;
	bool found;
	if (journal_begin(js, e))
		return -1;
	if (journal_sqlite_find(j, mac, &d, &found, e))
		goto fail;
	if (!found) {
		err_set_msg(e, ERR_CHECK, "journal %s: device %s is not recorded", js->path, mac);
		goto fail;
	}
	if (d.efuse_touched) {
		err_set_msg(e, ERR_CHECK, "journal %s: device %s already had eFuses burned with its "
			    "recorded identity; it can never get another one", js->path, mac);
		goto fail;
	}
	sqlite3_stmt *st;
	if (journal_prepare(js, "DELETE FROM files WHERE mac = ?1", &st, e))
		goto fail;
	sqlite3_bind_text(st, 1, mac, -1, SQLITE_TRANSIENT);
	if (journal_step_stmt(js, st, "clear files", e))
		goto fail;
	for (int i = 0; i < n_files; i++) {
		if (journal_prepare(js, "INSERT INTO files (mac, role, path) VALUES (?1, ?2, ?3)", &st, e))
			goto fail;
		sqlite3_bind_text(st, 1, mac, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 2, files[i].role, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 3, files[i].path, -1, SQLITE_TRANSIENT);
		if (journal_step_stmt(js, st, "add file", e))
			goto fail;
		journal_fault_point(js, "save_identity");
	}
	if (journal_prepare(js, "UPDATE devices SET serial = ?2, folder = ?4, identity_saved = 1, "
				"updated = ?3 WHERE mac = ?1", &st, e))
		goto fail;
	sqlite3_bind_text(st, 1, mac, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, serial, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 3, (int64_t)time(NULL));
	sqlite3_bind_text(st, 4, folder, -1, SQLITE_TRANSIENT);
	if (journal_step_stmt(js, st, "mark identity", e))
		goto fail;
	if (journal_commit(js, e))
		goto fail;
	return 0;
fail:
	journal_rollback(js);
	return -1;
}

static int journal_sqlite_list_files(struct journal *j, const char *mac, struct journal_file **files, int *n,
				     err_t *e)
{
	struct journal_sqlite *js = journal_cast(j);
	sqlite3_stmt *st;
	*files = NULL;
	*n = 0;
	if (journal_prepare(js, "SELECT role, path FROM files WHERE mac = ?1 ORDER BY role", &st, e))
		return -1;
	sqlite3_bind_text(st, 1, mac, -1, SQLITE_TRANSIENT);
	void *rows;
	int rc = journal_collect_rows(js, st, sizeof **files, 8, journal_read_file_row, "list files", &rows, n, e);
	*files = rows;
	return rc;
}

static int journal_sqlite_record_step(struct journal *j, const char *mac, const char *step,
				      enum journal_step_state state, bool irreversible, const char *detail,
				      err_t *e)
{
	struct journal_sqlite *js = journal_cast(j);
	if (journal_begin(js, e))
		return -1;
	int64_t now = (int64_t)time(NULL);
	sqlite3_stmt *st;
	if (journal_prepare(js, "INSERT INTO steps (mac, step, state, irreversible, detail, time) "
				"SELECT ?1, ?2, ?3, ?4, ?5, ?6 WHERE EXISTS "
				"(SELECT 1 FROM devices WHERE mac = ?1)", &st, e))
		goto fail;
	sqlite3_bind_text(st, 1, mac, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, step, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(st, 3, (int)state);
	sqlite3_bind_int(st, 4, irreversible ? 1 : 0);
	sqlite3_bind_text(st, 5, detail ? detail : "", -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 6, now);
	if (journal_step_stmt(js, st, "record step", e))
		goto fail;
	if (sqlite3_changes(js->db) != 1) {
		err_set_msg(e, ERR_CHECK, "journal %s: device %s is not recorded", js->path, mac);
		goto fail;
	}
	journal_fault_point(js, "record_step");
	if (journal_prepare(js, "UPDATE devices SET step_count = step_count + 1, updated = ?2, "
				"efuse_touched = efuse_touched OR ?3 WHERE mac = ?1", &st, e))
		goto fail;
	sqlite3_bind_text(st, 1, mac, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 2, now);
	sqlite3_bind_int(st, 3, irreversible && state == JOURNAL_STEP_STARTED ? 1 : 0);
	if (journal_step_stmt(js, st, "update device", e))
		goto fail;
	if (journal_commit(js, e))
		goto fail;
	return 0;
fail:
	journal_rollback(js);
	return -1;
}

static int journal_sqlite_list_steps(struct journal *j, const char *mac, struct journal_step **steps, int *n,
				     err_t *e)
{
	struct journal_sqlite *js = journal_cast(j);
	sqlite3_stmt *st;
	*steps = NULL;
	*n = 0;
	if (journal_prepare(js, "SELECT step, state, irreversible, detail, time FROM steps "
				"WHERE mac = ?1 ORDER BY id", &st, e))
		return -1;
	sqlite3_bind_text(st, 1, mac, -1, SQLITE_TRANSIENT);
	void *rows;
	int rc = journal_collect_rows(js, st, sizeof **steps, 16, journal_read_step_row, "list steps", &rows, n, e);
	*steps = rows;
	return rc;
}

static int journal_sqlite_set_result(struct journal *j, const char *mac, const char *result, const char *qr,
				     const char *manual, err_t *e)
{
	struct journal_sqlite *js = journal_cast(j);
	if (journal_begin(js, e))
		return -1;
	sqlite3_stmt *st;
	if (journal_prepare(js, "UPDATE devices SET result = ?2, qr = COALESCE(?3, qr), "
				"manual = COALESCE(?4, manual), updated = ?5 WHERE mac = ?1", &st, e))
		goto fail;
	sqlite3_bind_text(st, 1, mac, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, result, -1, SQLITE_TRANSIENT);
	if (qr)
		sqlite3_bind_text(st, 3, qr, -1, SQLITE_TRANSIENT);
	if (manual)
		sqlite3_bind_text(st, 4, manual, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 5, (int64_t)time(NULL));
	if (journal_step_stmt(js, st, "set result", e))
		goto fail;
	if (sqlite3_changes(js->db) != 1) {
		err_set_msg(e, ERR_CHECK, "journal %s: device %s is not recorded", js->path, mac);
		goto fail;
	}
	if (journal_commit(js, e))
		goto fail;
	return 0;
fail:
	journal_rollback(js);
	return -1;
}

static int journal_sqlite_list_devices(struct journal *j, struct journal_device **devs, int *n, err_t *e)
{
	struct journal_sqlite *js = journal_cast(j);
	char sql[256];
	snprintf(sql, sizeof sql, "SELECT %s FROM devices ORDER BY seq", journal_device_columns);
	sqlite3_stmt *st;
	*devs = NULL;
	*n = 0;
	if (journal_prepare(js, sql, &st, e))
		return -1;
	void *rows;
	int rc = journal_collect_rows(js, st, sizeof **devs, 16, journal_read_device_row, "list devices", &rows, n,
				      e);
	*devs = rows;
	return rc;
}

static void journal_sqlite_close(struct journal *j)
{
	struct journal_sqlite *js = journal_cast(j);
	sqlite3_close(js->db);
	free(js->path);
	free(js);
}

static const struct journal_ops journal_sqlite_ops = {
	.find_device = journal_sqlite_find,
	.add_device = journal_sqlite_add,
	.save_identity = journal_sqlite_save_identity,
	.list_files = journal_sqlite_list_files,
	.record_step = journal_sqlite_record_step,
	.list_steps = journal_sqlite_list_steps,
	.set_result = journal_sqlite_set_result,
	.list_devices = journal_sqlite_list_devices,
	.close = journal_sqlite_close,
};

int journal_open_sqlite(const char *path, struct journal **out, err_t *e)
{
	struct journal_sqlite *js = mem_alloc_zeroed(sizeof *js);
	js->base.ops = &journal_sqlite_ops;
	js->path = mem_strdup(path);
	*out = NULL;
	if (sqlite3_open_v2(path, &js->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
			    NULL) != SQLITE_OK) {
		err_set_msg(e, ERR_CHECK, "journal %s: cannot open: %s", path,
			    js->db ? sqlite3_errmsg(js->db) : "out of memory");
		journal_sqlite_close(&js->base);
		return -1;
	}
	sqlite3_busy_timeout(js->db, 5000);
	/* WAL keeps readers (a manifest export) off the writer's back; synchronous=FULL makes each
	 * committed step survive a power cut, not only a crash. */
	if (journal_exec(js, "PRAGMA journal_mode=WAL", e) || journal_exec(js, "PRAGMA synchronous=FULL", e) ||
	    journal_exec(js, "PRAGMA foreign_keys=ON", e) || journal_exec(js, journal_schema, e)) {
		journal_sqlite_close(&js->base);
		return -1;
	}
	*out = &js->base;
	return 0;
}

void journal_sqlite_set_fault_hook(struct journal *j, void (*hook)(const char *where))
{
	journal_cast(j)->hook = hook;
}

static void journal_csv_field(buf_t *b, const char *s, bool last)
{
	if (strpbrk(s, ",\"\r\n")) {
		size_t n = strlen(s);
		size_t cap = 2 * n + 3;
		char *q = mem_alloc_zeroed(cap);
		size_t w = csv_write(q, cap, s, n);
		buf_append_bytes(b, q, w);
		free(q);
	} else {
		buf_append_str(b, s);
	}
	buf_append_byte(b, last ? '\n' : ',');
}

int journal_export_manifest(struct journal *j, const char *csv_path, err_t *e)
{
	struct journal_device *devs;
	int n;
	if (journal_list_devices(j, &devs, &n, e))
		return -1;
	buf_t b = BUF_INIT;
	buf_append_str(&b, "serial,mac,chip,revision,path,qr,result,time\n");
	for (int i = 0; i < n; i++) {
		struct journal_device *d = &devs[i];
		char when[32];
		time_t t = (time_t)d->updated;
		struct tm tm;
		gmtime_r(&t, &tm);
		strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
		journal_csv_field(&b, d->serial, false);
		journal_csv_field(&b, d->mac, false);
		journal_csv_field(&b, d->chip, false);
		journal_csv_field(&b, d->revision, false);
		journal_csv_field(&b, d->folder, false);
		journal_csv_field(&b, d->qr, false);
		journal_csv_field(&b, d->result[0] ? d->result : "in-progress", false);
		journal_csv_field(&b, when, true);
	}
	free(devs);
	int rc = fileio_write_atomic(csv_path, b.data, b.len, FILEIO_MODE_PUBLIC, e);
	buf_free_data(&b);
	return rc;
}

const char *journal_name_state(enum journal_step_state state)
{
	switch (state) {
	case JOURNAL_STEP_STARTED: return "started";
	case JOURNAL_STEP_DONE: return "done";
	case JOURNAL_STEP_FAILED: return "failed";
	case JOURNAL_STEP_SKIPPED: return "skipped";
	}
	return "?";
}

void journal_format_mac(const uint8_t mac[6], char out[18])
{
	snprintf(out, 18, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
}
