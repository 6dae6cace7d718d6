/* Unit tests of src/flow/journal: devices keyed by MAC, identity records, the eFuse lock against
 * a second identity, step history, manifest export, and crash consistency (a child process is
 * killed mid-transaction; the reopened journal must be consistent). */
#include "testutil.h"

#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "flow/journal.h"

static struct journal *open_in(const char *dir)
{
	char *path = testutil_join_path(dir, "journal.db");
	struct journal *j = NULL;
	err_t e = {0};
	if (journal_open_sqlite(path, &j, &e))
		fail_msg("%s", e.msg);
	free(path);
	return j;
}

static void add(struct journal *j, const char *mac, int64_t first, int64_t want_seq)
{
	struct journal_device d = {0};
	snprintf(d.mac, sizeof d.mac, "%s", mac);
	snprintf(d.chip, sizeof d.chip, "esp32h2");
	snprintf(d.revision, sizeof d.revision, "v1.2");
	snprintf(d.folder, sizeof d.folder, "/out/%s", mac);
	err_t e = {0};
	if (journal_add_device(j, &d, first, &e))
		fail_msg("%s", e.msg);
	assert_int_equal(d.seq, want_seq);
}

static void test_devices_and_sequence(void **state)
{
	(void)state;
	char *dir = testutil_make_tmpdir();
	struct journal *j = open_in(dir);
	err_t e = {0};
	add(j, "aa:00:00:00:00:01", 100, 100);
	add(j, "aa:00:00:00:00:02", 1, 101);
	add(j, "aa:00:00:00:00:03", 500, 500);
	struct journal_device d = {0};
	snprintf(d.mac, sizeof d.mac, "aa:00:00:00:00:02");
	assert_int_equal(journal_add_device(j, &d, 1, &e), -1);
	assert_non_null(strstr(e.msg, "already recorded"));
	bool found = true;
	assert_int_equal(journal_find_device(j, "bb:00:00:00:00:00", &d, &found, &e), 0);
	assert_false(found);
	assert_int_equal(journal_find_device(j, "aa:00:00:00:00:02", &d, &found, &e), 0);
	assert_true(found);
	assert_int_equal(d.seq, 101);
	assert_string_equal(d.chip, "esp32h2");
	assert_string_equal(d.folder, "/out/aa:00:00:00:00:02");
	assert_false(d.identity_saved);
	assert_false(d.efuse_touched);
	journal_close(j);

	/* Survives reopening; the journal runs in WAL mode. */
	j = open_in(dir);
	assert_int_equal(journal_find_device(j, "aa:00:00:00:00:03", &d, &found, &e), 0);
	assert_true(found);
	assert_int_equal(d.seq, 500);
	journal_close(j);
	char *path = testutil_join_path(dir, "journal.db");
	sqlite3 *db;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), "wal");
	sqlite3_finalize(st);
	sqlite3_close(db);
	free(path);
	testutil_remove_tree(dir);
	free(dir);
}

static void test_identity_locked_after_efuse(void **state)
{
	(void)state;
	char *dir = testutil_make_tmpdir();
	struct journal *j = open_in(dir);
	err_t e = {0};
	const char *mac = "aa:00:00:00:00:09";
	add(j, mac, 1, 1);
	struct journal_file files[2] = {{"dac_cert", "/out/x/dac_cert.der"}, {"ecdsa_key", "/out/x/key.bin"}};
	assert_int_equal(journal_save_identity(j, mac, "SN-1", "/out/x", files, 2, &e), 0);
	/* Identity may be replaced while nothing irreversible happened... */
	assert_int_equal(journal_save_identity(j, mac, "SN-1", "/out/x", files, 1, &e), 0);
	struct journal_file *got;
	int n;
	assert_int_equal(journal_list_files(j, mac, &got, &n, &e), 0);
	assert_int_equal(n, 1);
	assert_string_equal(got[0].role, "dac_cert");
	free(got);
	assert_int_equal(journal_save_identity(j, mac, "SN-1", "/out/x", files, 2, &e), 0);
	assert_int_equal(journal_record_step(j, mac, "detect", JOURNAL_STEP_DONE, false, "", &e), 0);
	/* A completed reversible step does not lock the identity. */
	struct journal_device d;
	bool found;
	assert_int_equal(journal_find_device(j, mac, &d, &found, &e), 0);
	assert_false(d.efuse_touched);
	assert_true(d.identity_saved);
	assert_string_equal(d.serial, "SN-1");
	assert_string_equal(d.folder, "/out/x"); /* the identity's folder replaces the first one */
	assert_int_equal(journal_record_step(j, mac, "burn-key", JOURNAL_STEP_STARTED, true, "BLOCK_KEY0", &e), 0);
	assert_int_equal(journal_find_device(j, mac, &d, &found, &e), 0);
	assert_true(d.efuse_touched);
	/* ...but never once a burn began, even if it then failed. */
	assert_int_equal(journal_record_step(j, mac, "burn-key", JOURNAL_STEP_FAILED, true, "timeout", &e), 0);
	assert_int_equal(journal_save_identity(j, mac, "SN-2", "/out/x", files, 2, &e), -1);
	assert_non_null(strstr(e.msg, "never get another"));
	assert_int_equal(journal_list_files(j, mac, &got, &n, &e), 0);
	assert_int_equal(n, 2);
	free(got);
	struct journal_step *steps;
	assert_int_equal(journal_list_steps(j, mac, &steps, &n, &e), 0);
	assert_int_equal(n, 3);
	assert_string_equal(steps[0].step, "detect");
	assert_int_equal(steps[1].state, JOURNAL_STEP_STARTED);
	assert_true(steps[1].irreversible);
	assert_string_equal(steps[2].detail, "timeout");
	assert_int_equal(steps[2].state, JOURNAL_STEP_FAILED);
	assert_true(steps[2].time >= (int64_t)time(NULL) - 60);
	free(steps);
	/* Steps of an unknown device are refused, not silently dropped. */
	assert_int_equal(journal_record_step(j, "ff:ff:ff:ff:ff:ff", "detect", JOURNAL_STEP_DONE, false, "",
					     &e), -1);
	assert_int_equal(journal_save_identity(j, "ff:ff:ff:ff:ff:ff", "x", "/out/x", files, 1, &e), -1);
	assert_int_equal(journal_set_result(j, "ff:ff:ff:ff:ff:ff", "ok", NULL, NULL, &e), -1);
	journal_close(j);
	testutil_remove_tree(dir);
	free(dir);
}

static void test_manifest_export(void **state)
{
	(void)state;
	char *dir = testutil_make_tmpdir();
	struct journal *j = open_in(dir);
	err_t e = {0};
	add(j, "aa:00:00:00:00:01", 1, 1);
	add(j, "aa:00:00:00:00:02", 1, 2);
	struct journal_file f = {"dac_cert", "/x"};
	assert_int_equal(journal_save_identity(j, "aa:00:00:00:00:01", "SN,\"1\"", "/out/aa:00:00:00:00:01", &f, 1, &e), 0);
	assert_int_equal(journal_save_identity(j, "aa:00:00:00:00:02", "SN-2", "/out/aa:00:00:00:00:02", &f, 1, &e), 0);
	assert_int_equal(journal_set_result(j, "aa:00:00:00:00:01", "ok", "MT:Y.K9042C00KA0648G00",
					    "34970112332", &e), 0);
	char *csv = testutil_join_path(dir, "manifest.csv");
	assert_int_equal(journal_export_manifest(j, csv, &e), 0);
	buf_t b = BUF_INIT;
	testutil_read_file(csv, &b);
	const char *text = buf_terminate_str(&b);
	assert_true(strncmp(text, "serial,mac,chip,revision,path,qr,result,time\n", 45) == 0);
	const char *row1 = strchr(text, '\n') + 1;
	assert_true(strncmp(row1, "\"SN,\"\"1\"\"\",aa:00:00:00:00:01,esp32h2,v1.2,/out/aa:00:00:00:00:01,"
				 "MT:Y.K9042C00KA0648G00,ok,", 88) == 0);
	const char *row2 = strchr(row1, '\n') + 1;
	assert_non_null(strstr(row2, "SN-2,aa:00:00:00:00:02,esp32h2,v1.2,/out/aa:00:00:00:00:02,,in-progress,"));
	/* The manual code and the passcode never appear. */
	assert_null(strstr(text, "34970112332"));
	assert_null(strstr(text, "20202021"));
	/* Three lines exactly. */
	int lines = 0;
	for (size_t i = 0; i < b.len; i++)
		lines += text[i] == '\n';
	assert_int_equal(lines, 3);
	buf_free_data(&b);
	free(csv);
	journal_close(j);
	testutil_remove_tree(dir);
	free(dir);
}

static void kill_self(const char *where)
{
	if (!strcmp(where, "record_step"))
		raise(SIGKILL);
}

/* The step row is inserted, then the process dies before the device row is updated and before
 * COMMIT: after reopening neither change may be visible. */
static void test_killed_mid_transaction(void **state)
{
	(void)state;
	char *dir = testutil_make_tmpdir();
	const char *mac = "aa:00:00:00:00:07";
	struct journal *j = open_in(dir);
	err_t e = {0};
	add(j, mac, 1, 1);
	journal_close(j);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct journal *cj = NULL;
		char *path = testutil_join_path(dir, "journal.db");
		if (journal_open_sqlite(path, &cj, &e))
			_exit(10);
		if (journal_record_step(cj, mac, "detect", JOURNAL_STEP_DONE, false, "", &e))
			_exit(11);
		journal_sqlite_set_fault_hook(cj, kill_self);
		journal_record_step(cj, mac, "burn-key", JOURNAL_STEP_STARTED, true, "", &e);
		_exit(12); /* not reached */
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGKILL);
	j = open_in(dir);
	struct journal_device d;
	bool found;
	assert_int_equal(journal_find_device(j, mac, &d, &found, &e), 0);
	assert_true(found);
	assert_int_equal(d.step_count, 1);
	assert_false(d.efuse_touched);
	struct journal_step *steps;
	int n;
	assert_int_equal(journal_list_steps(j, mac, &steps, &n, &e), 0);
	assert_int_equal(n, 1);
	assert_string_equal(steps[0].step, "detect");
	free(steps);
	/* The journal is still writable after the crash. */
	assert_int_equal(journal_record_step(j, mac, "burn-key", JOURNAL_STEP_STARTED, true, "", &e), 0);
	assert_int_equal(journal_find_device(j, mac, &d, &found, &e), 0);
	assert_true(d.efuse_touched);
	assert_int_equal(d.step_count, 2);
	journal_close(j);
	testutil_remove_tree(dir);
	free(dir);
}

/* A child records steps as fast as it can and is killed at an arbitrary instant, several times:
 * every time, each device's step counter must equal its number of step rows. */
static void test_killed_at_random_instants(void **state)
{
	(void)state;
	char *dir = testutil_make_tmpdir();
	struct journal *j = open_in(dir);
	err_t e = {0};
	add(j, "aa:00:00:00:00:01", 1, 1);
	add(j, "aa:00:00:00:00:02", 1, 2);
	journal_close(j);
	srand((unsigned)time(NULL));
	int64_t last_total = 0;
	for (int round = 0; round < 6; round++) {
		pid_t pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			struct journal *cj = NULL;
			char *path = testutil_join_path(dir, "journal.db");
			if (journal_open_sqlite(path, &cj, &e))
				_exit(10);
			for (unsigned i = 0;; i++) {
				const char *mac = (i & 1) ? "aa:00:00:00:00:01" : "aa:00:00:00:00:02";
				if (journal_record_step(cj, mac, "write", JOURNAL_STEP_DONE, (i % 5) == 0, "x", &e))
					_exit(11);
			}
		}
		usleep(150000 + (useconds_t)(rand() % 100000));
		kill(pid, SIGKILL);
		int status;
		assert_int_equal(waitpid(pid, &status, 0), pid);
		if (!WIFSIGNALED(status))
			fail_msg("child exited by itself with %d", WEXITSTATUS(status));
		j = open_in(dir);
		int64_t total = 0;
		for (int k = 0; k < 2; k++) {
			const char *mac = k ? "aa:00:00:00:00:01" : "aa:00:00:00:00:02";
			struct journal_device d;
			bool found;
			assert_int_equal(journal_find_device(j, mac, &d, &found, &e), 0);
			struct journal_step *steps;
			int n;
			assert_int_equal(journal_list_steps(j, mac, &steps, &n, &e), 0);
			assert_int_equal(d.step_count, n);
			total += n;
			free(steps);
		}
		/* Committed work is never lost, and the child did commit something. */
		assert_true(total > last_total);
		last_total = total;
		journal_close(j);
	}
	testutil_remove_tree(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_devices_and_sequence),
		cmocka_unit_test(test_identity_locked_after_efuse),
		cmocka_unit_test(test_manifest_export),
		cmocka_unit_test(test_killed_mid_transaction),
		cmocka_unit_test(test_killed_at_random_instants),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
