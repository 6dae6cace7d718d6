/* How many READ_REG commands eFuse work costs against espfab-sim (the ROM loader has no
 * multi-word read: every eFuse word is one request/response round trip). A key burn through the
 * engine's device (esp32h2 ECDSA key, esp32c3 read-protected HMAC key, esp32 flash-encryption
 * key, esp32c2 XTS key) is counted from the simulator's command log and bounded by its structure:
 * the emptiness re-check (BLOCK0 and the key block, twice), the program operations' read-back
 * (the words each can change), the final state (the whole eFuse, twice) and the controller's
 * polling; a burn that reads the whole eFuse more often fails. The key must be in the simulated
 * eFuses afterwards, the device's own state must show it without another read, and a whole
 * `espfab run` of the H2 (ecdsa-efuse) and C3 (ds) paths is bounded the same way. */
#include "testutil.h"
#include "simefuse.h"
#include "simrun.h"
#include "testpki.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "flow/device.h"
#include "flow/device_rom.h"
#include "loader/chip.h"

/* Polls and error registers of one key burn beyond the eFuse words themselves: the reload's and
 * each program operation's idle polls (2 reads per wait, 3 waits per operation), the RS/BLOCK0
 * error registers, the timing registers' read-modify-writes, the crystal. Generous on purpose:
 * one extra whole-eFuse read (84 words on a GEN2 chip) must not fit. */
#define RD_POLL_SLACK 60

struct rd {
	char *dir, *log;
	struct simrun s;
};

static int rd_setup(void **state)
{
	if (!getenv("ESPFAB_SIM_BIN") || !testutil_source_dir())
		return 0;
	struct rd *d = calloc(1, sizeof *d);
	d->dir = testutil_make_tmpdir();
	d->log = testutil_join_path(d->dir, "sim.log");
	testpki_write_material(d->dir);
	*state = d;
	return 0;
}

static int rd_teardown(void **state)
{
	simrun_kill_leftover();
	struct rd *d = *state;
	if (d) {
		simrun_stop(&d->s);
		simrun_free(&d->s);
		testutil_remove_tree(d->dir);
		free(d->dir);
		free(d->log);
		free(d);
	}
	return 0;
}

/* A fresh chip (no flash or eFuse file), logging every command to d->log. */
static void rd_start(struct rd *d, const char *chip)
{
	simrun_stop(&d->s);
	if (d->s.flash) {
		unlink(d->s.flash);
		unlink(d->s.efuse);
	}
	simrun_free(&d->s);
	memset(&d->s, 0, sizeof d->s);
	unlink(d->log);
	const char *extra[] = {"--no-throttle", "--log", d->log, NULL};
	simrun_start(&d->s, d->dir, chip, extra);
}

static size_t rd_count_once(const struct rd *d, const char *op)
{
	buf_t b = BUF_INIT;
	if (access(d->log, F_OK) == 0)
		testutil_read_file(d->log, &b);
	buf_terminate_str(&b);
	size_t n = 0, ol = strlen(op);
	for (const char *p = (const char *)b.data; (p = strstr(p, op)); p += ol)
		n += p[-1] == ' ' && p[ol] == ' ';
	buf_free_data(&b);
	return n;
}

/* The simulator logs a command after it has sent the reply, so the host can be a line ahead of
 * the log: count once the log has been quiet for 50 ms (two equal counts in a row). */
static size_t rd_count(const struct rd *d, const char *op)
{
	size_t n = rd_count_once(d, op);
	for (int i = 0; i < 100; i++) {
		struct timespec ts = {0, 50 * 1000 * 1000};
		nanosleep(&ts, NULL);
		size_t m = rd_count_once(d, op);
		if (m == n)
			break;
		n = m;
	}
	return n;
}

/* Words of the whole eFuse dump and of BLOCK0 plus one key block. */
static unsigned rd_words(const struct chip_desc *chip, int key_block_idx, unsigned *decision)
{
	unsigned all = 0;
	for (int b = 0; b < chip->efuse->n_blocks; b++)
		all += chip->efuse->blocks[b].words;
	*decision = chip->efuse->blocks[0].words + chip->efuse->blocks[key_block_idx].words;
	return all;
}

struct rd_case {
	const char *chip;
	int block; /* key block number as the engine counts them */
	uint8_t purpose;
	size_t key_len;
	bool read_protect;
};

static void rd_burn_one(struct rd *d, const struct rd_case *c)
{
	const struct chip_desc *chip = chip_find_by_name(c->chip);
	assert_non_null(chip);
	int idx = chip->efuse->first_key_block + c->block;
	unsigned decision, all = rd_words(chip, idx, &decision);
	rd_start(d, c->chip);
	char url[64];
	snprintf(url, sizeof url, "socket://127.0.0.1:%d", d->s.port);
	struct flow_device *dev = NULL;
	err_t e = {0};
	if (device_rom_open_baud(url, DEVICE_ROM_DEFAULT_BAUD, &dev, &e))
		fail_msg("%s: open: %s", c->chip, e.msg);
	size_t at_open = rd_count(d, "READ_REG");
	/* connect reads everything twice (identity and eFuse state confirmed) plus the flash id */
	assert_true(at_open >= 2 * all);
	assert_true(at_open <= 2 * all + 20);

	uint8_t key[32];
	for (size_t i = 0; i < sizeof key; i++)
		key[i] = (uint8_t)(0x5A ^ (i * 29 + 3));
	if (dev->ops->burn_key(dev, c->block, c->purpose, key, c->key_len, c->read_protect, &e))
		fail_msg("%s: burn: %s", c->chip, e.msg);
	size_t burn = rd_count(d, "READ_REG") - at_open;
	/* the decision re-check (twice), the data read back once, the final state twice */
	size_t bound = 2 * decision + chip->efuse->blocks[idx].words + 2 * all + RD_POLL_SLACK;
	print_message("%s: key burn: %zu READ_REG (bound %zu; whole eFuse %u words)\n", c->chip, burn,
		      bound, all);
	assert_true(burn <= bound);
	assert_true(burn >= 2 * all); /* the final state is read twice alike */

	/* the device's state is the burn's verified state: no further read */
	struct plan_chip pc;
	assert_int_equal(dev->ops->detect(dev, &pc, &e), 0);
	assert_int_equal(rd_count(d, "READ_REG"), at_open + burn);
	assert_false(pc.key[c->block].empty);
	assert_true(pc.key[c->block].wr_dis);
	assert_int_equal(pc.key[c->block].rd_dis, c->read_protect);
	/* a second burn of the same block is refused (the block is taken) */
	err_t e2 = {0};
	assert_int_not_equal(dev->ops->burn_key(dev, c->block, c->purpose, key, c->key_len,
						c->read_protect, &e2), 0);
	assert_non_null(strstr(e2.msg, "not empty"));
	dev->ops->close(dev);
	simrun_stop(&d->s);

	/* what the simulator holds */
	struct efuse_dump sd;
	simefuse_load(d->s.efuse, c->chip, &sd);
	struct efuse_key_status ks;
	efuse_key_status(&sd, idx, &ks);
	assert_false(ks.empty);
	assert_true(ks.write_protected);
	assert_int_equal(ks.read_protected, c->read_protect);
	assert_false(ks.data_zero);
}

static void test_key_burn_reads(void **state)
{
	struct rd *d = *state;
	if (!d)
		skip();
	static const struct rd_case cases[] = {
		{"esp32h2", 1, KP_ECDSA_KEY, 32, true},
		{"esp32c3", 2, KP_HMAC_DOWN_DIGITAL_SIGNATURE, 32, true},
		{"esp32", 0, 0, 32, true},  /* BLOCK1, flash encryption */
		{"esp32c2", 0, 1, 32, true}, /* BLOCK_KEY0, XTS_AES_128_KEY (256 bits) */
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		rd_burn_one(d, &cases[i]);
}

/* READ_REG of a whole `espfab run` (no flash read-back uses it): connect, the key burn. */
static void rd_run(struct rd *d, const char *chip, const char *table, const char *security,
		   int key_block)
{
	const struct chip_desc *cd = chip_find_by_name(chip);
	unsigned decision, all = rd_words(cd, cd->efuse->first_key_block + key_block, &decision);
	rd_start(d, chip);
	char rel[128], text[2048], portarg[64];
	snprintf(rel, sizeof rel, "assets/partitions/%s", table);
	char *tpath = testutil_join_path(testutil_source_dir(), rel);
	snprintf(text, sizeof text,
		 "[product]\nvendor_id = 0xFFF1\nproduct_id = 0x8000\nvendor_name = Sim Vendor\n"
		 "product_name = Sim Light\nchips = %s\n"
		 "[attestation]\npai_cert = pai_cert.pem\npai_key = pai_key.pem\ncd = cd.der\n"
		 "[partitions]\ntable = %s\n[security]\n%s\n[device]\nserial = RD-{seq:03}\n",
		 chip, tpath, security);
	free(tpath);
	char *profile = testutil_join_path(d->dir, "profile.ini");
	testutil_write_file(profile, text, strlen(text));
	char *out = testutil_join_path(d->dir, "out");
	testutil_remove_tree(out);
	snprintf(portarg, sizeof portarg, "socket://127.0.0.1:%d", d->s.port);
	char *argv[] = {"espfab", "run", "--profile", profile, "--port", portarg, "--out", out, "--json",
			"--yes", NULL};
	buf_t so = BUF_INIT, se = BUF_INIT;
	int rc = testutil_run_espfab(d->dir, argv, &so, &se);
	simrun_stop(&d->s);
	if (rc != 0)
		fail_msg("%s run: exit %d: %s", chip, rc, buf_terminate_str(&se));
	size_t n = rd_count(d, "READ_REG");
	size_t bound = 2 * all + 20 + 2 * decision + 8 + 2 * all + RD_POLL_SLACK;
	print_message("%s run: %zu READ_REG (bound %zu)\n", chip, n, bound);
	assert_true(n <= bound);
	buf_free_data(&so);
	buf_free_data(&se);
	free(out);
	free(profile);
}

static void test_run_reads(void **state)
{
	struct rd *d = *state;
	if (!d)
		skip();
	rd_run(d, "esp32h2", "h2-light.csv", "mode = development", 0);
	rd_run(d, "esp32c3", "c3-plug.csv", "mode = development\npath = ds\nflash_encryption = no", 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_key_burn_reads, rd_setup, rd_teardown),
		cmocka_unit_test_setup_teardown(test_run_reads, rd_setup, rd_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
