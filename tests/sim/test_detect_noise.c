/* Identification and eFuse state under line faults, against espfab-sim: an ESP32 whose
 * GET_SECURITY_INFO reject burst is held up on the line is still an ESP32 (not an S2 in Secure
 * Download Mode); register values garbled on the line during connect (READ_REG has no checksum)
 * do not reach the run as a wrong MAC or a used key block; a link cut or chip reset while the
 * eFuses are read for a burn plan is recovered and the key burned once. */
#include "testutil.h"
#include "simrun.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "flow/device.h"
#include "flow/device_rom.h"
#include "loader/efuse.h"
#include "loader/loader.h"

struct dn {
	char *dir, *log;
	struct simrun s;
};

static int dn_setup(void **state)
{
	if (!getenv("ESPFAB_SIM_BIN"))
		return 0;
	struct dn *d = calloc(1, sizeof *d);
	d->dir = testutil_make_tmpdir();
	d->log = testutil_join_path(d->dir, "sim.log");
	*state = d;
	return 0;
}

static int dn_teardown(void **state)
{
	simrun_kill_leftover();
	struct dn *d = *state;
	if (d) {
		simrun_free(&d->s);
		testutil_remove_tree(d->dir);
		free(d->dir);
		free(d->log);
		free(d);
	}
	return 0;
}

/* A fresh chip (no flash or eFuse file), logging to d->log, with an optional fault. */
static void dn_start(struct dn *d, const char *chip, const char *fault)
{
	simrun_stop(&d->s);
	if (d->s.flash) {
		unlink(d->s.flash);
		unlink(d->s.efuse);
	}
	unlink(d->log);
	const char *extra[] = {"--no-throttle", "--log", d->log, fault ? "--fault" : NULL, fault, NULL};
	simrun_start(&d->s, d->dir, chip, extra);
}

static char *dn_url(const struct dn *d)
{
	static char url[64];
	snprintf(url, sizeof url, "socket://127.0.0.1:%d", d->s.port);
	return url;
}

static int dn_open(loader_t *l, const struct dn *d, err_t *e)
{
	struct loader_opts o;
	loader_opts_init(&o);
	o.port = dn_url(d);
	o.before = ROM_RESET_NONE;
	o.after = ROM_AFTER_NO_RESET;
	o.connect_attempts = 3;
	return loader_open(l, &o, e);
}

/* The first and last response frame of the first log line containing what. */
static bool dn_frames(const char *log, const char *what, unsigned long long *f0, unsigned long long *f1)
{
	buf_t b = BUF_INIT;
	testutil_read_file(log, &b);
	buf_terminate_str(&b);
	const char *p = strstr((const char *)b.data, what);
	const char *fr = p ? strstr(p, "frames=") : NULL;
	bool ok = fr && sscanf(fr, "frames=%llu-%llu", f0, f1) == 2;
	buf_free_data(&b);
	return ok;
}

static void test_esp32_reject_burst_held_up(void **state)
{
	struct dn *d = *state;
	if (!d)
		skip();
	loader_t l;
	err_t e = {0};
	dn_start(d, "esp32", NULL);
	assert_int_equal(dn_open(&l, d, &e), 0);
	loader_close(&l);
	unsigned long long f0, f1;
	assert_true(dn_frames(d->log, "GET_SECURITY_INFO (0x14) len=0 rejected", &f0, &f1));
	assert_true(f1 > f0 + 2);
	/* the line stalls in the middle of the burst, longer than a reply timeout */
	char fault[64];
	snprintf(fault, sizeof fault, "stall:3500@%llu", (f0 + f1) / 2);
	dn_start(d, "esp32", fault);
	if (dn_open(&l, d, &e))
		fail_msg("connect with --fault %s: %s", fault, e.msg);
	assert_int_equal(l.info.chip->type, CHIP_ESP32);
	assert_false(l.info.secure_download);
	loader_close(&l);
}

static void test_garbled_registers_at_connect(void **state)
{
	struct dn *d = *state;
	if (!d)
		skip();
	err_t e = {0};
	struct flow_device *dev;
	struct plan_chip clean, got;
	dn_start(d, "esp32c2", NULL);
	assert_int_equal(device_rom_open_baud(dn_url(d), DEVICE_ROM_DEFAULT_BAUD, &dev, &e), 0);
	assert_int_equal(dev->ops->detect(dev, &clean, &e), 0);
	dev->ops->close(dev);
	for (int b = 0; b < PLAN_MAX_KEY_BLOCKS; b++)
		assert_false(clean.key[b].rd_dis || clean.key[b].wr_dis);
	/* the register reads right after the baud switch: revision, MAC, then the eFuse blocks */
	unsigned long long first, last;
	assert_true(dn_frames(d->log, "CHANGE_BAUDRATE", &first, &last));
	/* (the simulator launcher takes 20 extra arguments: 8 faults) */
	char faults[8][32];
	const char *extra[2 * 8 + 4] = {"--no-throttle", "--log", d->log};
	int n = 3;
	for (int i = 0; i < 8; i++) {
		snprintf(faults[i], sizeof faults[i], "corrupt:%llu", last + 1 + (unsigned long long)i);
		extra[n++] = "--fault";
		extra[n++] = faults[i];
	}
	extra[n] = NULL;
	/* the same chip (its eFuse file holds the MAC), nothing was burned */
	simrun_stop(&d->s);
	unlink(d->log);
	simrun_start(&d->s, d->dir, "esp32c2", extra);
	if (device_rom_open_baud(dn_url(d), DEVICE_ROM_DEFAULT_BAUD, &dev, &e))
		fail_msg("open with 8 garbled register replies: %s", e.msg);
	assert_int_equal(dev->ops->detect(dev, &got, &e), 0);
	dev->ops->close(dev);
	simrun_stop(&d->s);
	buf_t log = BUF_INIT;
	testutil_read_file(d->log, &log);
	assert_non_null(memmem(log.data, log.len, "fault corrupt", 13));
	buf_free_data(&log);
	/* the same MAC (the journal's key) and eFuse state as on a clean line */
	assert_memory_equal(got.mac, clean.mac, 6);
	assert_int_equal(got.rev_major, clean.rev_major);
	assert_int_equal(got.rev_minor, clean.rev_minor);
	assert_int_equal(got.crypt_cnt, clean.crypt_cnt);
	for (int b = 0; b < PLAN_MAX_KEY_BLOCKS; b++) {
		assert_int_equal(got.key[b].empty, clean.key[b].empty);
		assert_int_equal(got.key[b].purpose, clean.key[b].purpose);
	}
}

/* Plans and burns the ESP32 flash-encryption key; returns the loader's bytes sent before and
 * after planning through *b0 / *b1 (when not NULL). */
static void dn_plan_burn(struct dn *d, const uint8_t key[32], uint64_t *b0, uint64_t *b1, const char *what)
{
	loader_t l;
	err_t e = {0};
	if (dn_open(&l, d, &e))
		fail_msg("%s: connect: %s", what, e.msg);
	if (b0)
		*b0 = l.t->bytes_written;
	struct efuse_burn_req req = {.chip_name = "esp32", .block = "BLOCK1", .key = key, .key_len = 32,
				     .purpose = KP_ESP32_FLASH_ENCRYPTION};
	struct efuse_key_plan plan;
	if (loader_plan_key(&l, &req, &plan, &e))
		fail_msg("%s: plan: %s", what, e.msg);
	if (b1)
		*b1 = l.t->bytes_written;
	if (loader_burn_key(&l, &plan, &e))
		fail_msg("%s: burn: %s", what, e.msg);
	int idx = chip_efuse_find_block(l.info.chip, "BLOCK1");
	struct efuse_key_status ks;
	efuse_key_status(&l.info.efuse, idx, &ks);
	assert_false(ks.empty);
	assert_true(ks.write_protected);
	uint8_t want[32], have[32];
	size_t wl;
	assert_int_equal(efuse_key_block_bytes(l.info.chip, KP_ESP32_FLASH_ENCRYPTION, key, 32, want, &wl, &e), 0);
	for (int i = 0; i < 32; i++)
		have[i] = (uint8_t)(l.info.efuse.words[idx][i / 4] >> (8 * (i % 4)));
	if (!ks.read_protected)
		assert_memory_equal(have, want, wl);
	loader_close(&l);
}

static void test_link_lost_while_planning_burn(void **state)
{
	struct dn *d = *state;
	if (!d)
		skip();
	uint8_t key[32];
	for (int i = 0; i < 32; i++)
		key[i] = (uint8_t)(0x31 * i + 7);
	uint64_t b0, b1;
	dn_start(d, "esp32", NULL);
	dn_plan_burn(d, key, &b0, &b1, "clean");
	assert_true(b1 > b0 + 200);
	static const char *const kinds[] = {"disconnect-after", "reset-after"};
	for (int k = 0; k < 2; k++) {
		char fault[64];
		snprintf(fault, sizeof fault, "%s:%llu", kinds[k], (unsigned long long)(b0 + b1) / 2);
		dn_start(d, "esp32", fault);
		dn_plan_burn(d, key, NULL, NULL, fault);
		simrun_stop(&d->s);
		buf_t log = BUF_INIT;
		testutil_read_file(d->log, &log);
		assert_non_null(memmem(log.data, log.len, "fault ", 6));
		buf_free_data(&log);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_esp32_reject_burst_held_up, dn_setup, dn_teardown),
		cmocka_unit_test_setup_teardown(test_garbled_registers_at_connect, dn_setup, dn_teardown),
		cmocka_unit_test_setup_teardown(test_link_lost_while_planning_burn, dn_setup, dn_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
