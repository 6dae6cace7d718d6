/* BLOCK0 field burns against espfab-sim for every chip: flash encryption (development and
 * release), secure boot, lockdown (Secure Download Mode, ESP32 UART_DOWNLOAD_DIS), the refusal
 * rules, an interrupted burn resumed without burning anything twice, the CLI burn-field, and the
 * CLI burn-key --sb-digest (ESP32-C2: derived key and secure-boot digest in one program), and the
 * lockdown alone on a fresh chip (JTAG off, then Secure Download Mode or UART download off). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "loader/efuse.h"
#include "loader/efuse_rs.h"
#include "loader/loader.h"
#include "simefuse.h"
#include "testutil.h"

static const char *const chips[] = {"esp32", "esp32s2", "esp32s3", "esp32c2",
				    "esp32c3", "esp32c6", "esp32h2"};
#define N_CHIPS (sizeof chips / sizeof chips[0])

static pid_t sim_pid;
static char *sim_dir;
static char sim_port[64];

static int pick_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
	socklen_t n = sizeof a;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &n), 0);
	close(fd);
	return ntohs(a.sin_port);
}

static bool sim_accepts(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	bool ok = connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
	close(fd);
	return ok;
}

static void sim_stop(void)
{
	if (sim_pid > 0) {
		kill(sim_pid, SIGTERM);
		waitpid(sim_pid, NULL, 0);
		sim_pid = 0;
	}
	if (sim_dir) {
		testutil_remove_tree(sim_dir);
		free(sim_dir);
		sim_dir = NULL;
	}
}

static void sim_start_fault(const char *chip, const char *fault);

/* A factory-fresh chip in its own directory. */
static void sim_start(const char *chip)
{
	sim_start_fault(chip, NULL);
}

static void sim_start_fault(const char *chip, const char *fault)
{
	sim_stop();
	sim_dir = testutil_make_tmpdir();
	int port = pick_port();
	char portarg[16];
	snprintf(portarg, sizeof portarg, "%d", port);
	snprintf(sim_port, sizeof sim_port, "socket://127.0.0.1:%d", port);
	char *flash = testutil_join_path(sim_dir, "flash.bin");
	char *efuse = testutil_join_path(sim_dir, "efuse.bin");
	sim_pid = fork();
	assert_true(sim_pid >= 0);
	if (sim_pid == 0) {
		const char *argv[] = {testutil_sim_bin(), "--chip", chip, "--tcp", portarg, "--flash",
				      flash, "--efuse", efuse, "--flash-size", "4MB", "--no-throttle",
				      fault ? "--fault" : NULL, fault, NULL};
		if (!freopen("/dev/null", "w", stderr) || !freopen("/dev/null", "w", stdout))
			_exit(126);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	for (int i = 0; i < 200 && !sim_accepts(port); i++)
		usleep(10000);
	usleep(30000);
	free(flash);
	free(efuse);
}

static void open_loader(loader_t *l)
{
	struct loader_opts o;
	err_t e = {0};
	loader_opts_init(&o);
	o.port = sim_port;
	if (loader_open(l, &o, &e))
		fail_msg("loader_open: %s", e.msg);
}

static uint32_t field(loader_t *l, enum efuse_field_id f)
{
	err_t e = {0};
	if (loader_refresh_efuse(l, &e))
		fail_msg("refresh: %s", e.msg);
	return efuse_field_value(&l->info.efuse, f);
}

static const struct efuse_field_desc *fdesc(loader_t *l, enum efuse_field_id f)
{
	return chip_efuse_field(l->info.chip, f);
}

/* Burns a set of writes through the loader; returns the error code (0 = ok). */
static int burn(loader_t *l, const struct efuse_field_write *w, size_t n, err_t *e)
{
	struct efuse_field_plan p;
	if (loader_plan_fields(l, w, n, &p, e))
		return e->code ? e->code : -1;
	if (loader_burn_fields(l, &p, e))
		return e->code ? e->code : -1;
	return 0;
}

static void burn_ok(loader_t *l, const struct efuse_field_write *w, size_t n)
{
	err_t e = {0};
	if (burn(l, w, n, &e))
		fail_msg("%s: burn failed: %s", l->info.chip->id, e.msg);
}

static void burn_digest(loader_t *l)
{
	const struct chip_desc *c = l->info.chip;
	uint8_t dig[32];
	for (int i = 0; i < 32; i++)
		dig[i] = (uint8_t)(0xA0 + i);
	struct efuse_burn_req req = {.chip_name = c->id, .key = dig, .key_len = 32};
	if (c->type == CHIP_ESP32) {
		req.block = "BLOCK2";
		req.purpose = KP_ESP32_SECURE_BOOT_V2;
	} else if (c->type == CHIP_ESP32C2) {
		req.block = "BLOCK_KEY0";
		req.purpose = KP_C2_SECURE_BOOT_DIGEST;
		req.no_write_protect = true;
	} else {
		req.block = "BLOCK_KEY1";
		req.purpose = KP_SECURE_BOOT_DIGEST0;
	}
	struct efuse_key_plan kp;
	err_t e = {0};
	if (loader_plan_key(l, &req, &kp, &e) || loader_burn_key(l, &kp, &e))
		fail_msg("%s: digest burn: %s", c->id, e.msg);
}

static void burn_fe_key(loader_t *l)
{
	const struct chip_desc *c = l->info.chip;
	uint8_t key[32];
	for (int i = 0; i < 32; i++)
		key[i] = (uint8_t)(0x11 * (i + 1));
	struct efuse_burn_req req = {.chip_name = c->id, .key = key, .key_len = 32,
				     .read_protect = true};
	if (c->type == CHIP_ESP32) {
		req.block = "BLOCK1";
		req.purpose = KP_ESP32_FLASH_ENCRYPTION;
	} else if (c->type == CHIP_ESP32C2) {
		req.block = "BLOCK_KEY0";
		req.purpose = KP_C2_XTS_AES_128_KEY_DERIVED;
		req.key_len = 16;
	} else {
		req.block = "BLOCK_KEY0";
		req.purpose = KP_XTS_AES_128_KEY;
	}
	struct efuse_key_plan kp;
	err_t e = {0};
	if (loader_plan_key(l, &req, &kp, &e) || loader_burn_key(l, &kp, &e))
		fail_msg("%s: FE key burn: %s", c->id, e.msg);
}

static void check_secure_boot(loader_t *l)
{
	const struct chip_desc *c = l->info.chip;
	bool esp32 = c->type == CHIP_ESP32;
	struct efuse_field_write w[EFUSE_MAX_FIELD_WRITES];
	size_t n;
	err_t e = {0};
	uint32_t cnt = field(l, EF_CRYPT_CNT);

	assert_int_equal(efuse_writes_secure_boot(&l->info.efuse, l->info.rev_major, w, &n, &e), -1);
	assert_int_equal(e.code, ERR_CHECK);
	e = (err_t){0};
	burn_digest(l);
	assert_int_equal(field(l, EF_CRYPT_CNT), cnt);
	assert_int_equal(efuse_writes_secure_boot(&l->info.efuse, l->info.rev_major, w, &n, &e), 0);
	burn_ok(l, w, n);
	if (esp32) {
		assert_int_equal(field(l, EF_ABS_DONE_1), 1);
	} else {
		assert_int_equal(field(l, EF_SECURE_BOOT_EN), 1);
	}
	if (c->efuse->family == EFUSE_FAMILY_GEN2) {
		/* digest in slot 0: slots 1 and 2 revoked, aggressive revocation on */
		assert_int_equal(field(l, EF_SECURE_BOOT_KEY_REVOKE0), 0);
		assert_int_equal(field(l, EF_SECURE_BOOT_KEY_REVOKE1), 1);
		assert_int_equal(field(l, EF_SECURE_BOOT_KEY_REVOKE2), 1);
		assert_int_equal(field(l, EF_SECURE_BOOT_AGGRESSIVE_REVOKE), 1);
	}
	assert_int_equal(field(l, EF_WR_DIS) & 1, 1); /* RD_DIS locked */
	assert_true(l->info.security.rd_dis_locked);
	/* RD_DIS is now write-protected: adding a read protection is refused */
	struct efuse_field_write rd = {EF_RD_DIS, 1u << 1};
	if (esp32)
		rd.value = 1u << 2;
	assert_int_not_equal(burn(l, &rd, 1, &e), 0);
	assert_int_equal(e.code, ERR_CHECK);
	assert_non_null(strstr(e.msg, "write-protected"));
	e = (err_t){0};

}

static void test_c2_secure_boot(void **state)
{
	(void)state;
	sim_start("esp32c2");
	loader_t l;
	open_loader(&l);
	check_secure_boot(&l);
	loader_close(&l);
	sim_stop();
}

static void raw_wr(loader_t *l, uint32_t off, uint32_t v)
{
	err_t e = {0};
	if (l->efuse_io.write(l->efuse_io.ctx, l->info.chip->efuse_base + off, v, 0, &e))
		fail_msg("write 0x%x: %s", off, e.msg);
}

static uint32_t raw_rd(loader_t *l, uint32_t off)
{
	uint32_t v = 0;
	err_t e = {0};
	if (l->efuse_io.read(l->efuse_io.ctx, l->info.chip->efuse_base + off, &v, &e))
		fail_msg("read 0x%x: %s", off, e.msg);
	return v;
}

static void raw_wait_idle(loader_t *l)
{
	for (int i = 0; i < 200 && (raw_rd(l, l->info.chip->efuse->cmd_off) & 3); i++)
		usleep(1000);
	assert_int_equal(raw_rd(l, l->info.chip->efuse->cmd_off) & 3, 0);
}

/* The C2's BLOCK_KEY0 is Reed-Solomon coded over all 256 bits, so it can be programmed once:
 * the simulator, like the chip, ORs a second program into the fuses (parity included) and its
 * reload reports the block failed in RD_RS_ERR (BLOCK3: count bits 10:8, fail bit 11). espfab
 * refuses that second burn; the combined one-shot burn of both halves reads back clean. */
static void test_c2_key_block_burns_once(void **state)
{
	(void)state;
	sim_start("esp32c2");
	loader_t l;
	open_loader(&l);
	const struct efuse_layout *lay = l.info.chip->efuse;
	/* the key half alone, left readable and writable (as a careless first burn would) */
	uint8_t key[16], dig[32];
	for (int i = 0; i < 16; i++)
		key[i] = (uint8_t)(0x5A + 3 * i);
	for (int i = 0; i < 32; i++)
		dig[i] = (uint8_t)(0xE0 - i);
	struct efuse_burn_req req = {.chip_name = "esp32c2", .block = "BLOCK_KEY0", .key = key,
				     .key_len = 16, .purpose = KP_C2_XTS_AES_128_KEY_DERIVED,
				     .no_write_protect = true};
	struct efuse_key_plan kp;
	err_t e = {0};
	if (loader_plan_key(&l, &req, &kp, &e) || loader_burn_key(&l, &kp, &e))
		fail_msg("key half: %s", e.msg);
	assert_int_equal(raw_rd(&l, lay->rs_err0_off), 0);
	/* espfab will not add the digest now */
	struct efuse_burn_req dreq = {.chip_name = "esp32c2", .block = "BLOCK_KEY0", .key = dig,
				      .key_len = 32, .purpose = KP_C2_SECURE_BOOT_DIGEST,
				      .no_write_protect = true};
	assert_int_equal(loader_plan_key(&l, &dreq, &kp, &e), -1);
	assert_non_null(strstr(e.msg, "not empty"));
	/* a raw second program of the upper half with its own parity, as a tool unaware of the
	 * coding would send it */
	uint8_t hi[32] = {0};
	memcpy(hi + 16, dig, 16);
	uint32_t check[3];
	efuse_rs_check_words(hi, check);
	raw_wait_idle(&l);
	for (int w = 0; w < 8; w++)
		raw_wr(&l, lay->pgm_data_off + 4u * (unsigned)w,
		       (uint32_t)hi[4 * w] | (uint32_t)hi[4 * w + 1] << 8 | (uint32_t)hi[4 * w + 2] << 16 |
			       (uint32_t)hi[4 * w + 3] << 24);
	for (int w = 0; w < 3; w++)
		raw_wr(&l, lay->check_value_off + 4u * (unsigned)w, check[w]);
	raw_wr(&l, lay->conf_off, EFUSE_CONF_WRITE);
	raw_wr(&l, lay->cmd_off, EFUSE_CMD_PGM | 3u << 2);
	raw_wait_idle(&l);
	raw_wr(&l, lay->conf_off, EFUSE_CONF_READ);
	raw_wr(&l, lay->cmd_off, EFUSE_CMD_READ);
	raw_wait_idle(&l);
	uint32_t err = raw_rd(&l, lay->rs_err0_off);
	assert_true(((err >> 8) & 7) != 0);
	assert_int_equal((err >> 11) & 1, 1);
	assert_int_equal(err & 0xFF, 0); /* BLOCK1, BLOCK2 untouched */
	loader_close(&l);

	/* the same two halves in one burn: no RS error, key hidden, digest readable */
	sim_start("esp32c2");
	open_loader(&l);
	req.no_write_protect = false;
	req.read_protect = true;
	req.sb_digest = dig;
	req.sb_digest_len = 32;
	if (loader_plan_key(&l, &req, &kp, &e) || loader_burn_key(&l, &kp, &e))
		fail_msg("both halves: %s", e.msg);
	assert_int_equal(raw_rd(&l, lay->rs_err0_off), 0);
	assert_int_equal(loader_refresh_efuse(&l, &e), 0);
	const uint32_t *kw = l.info.efuse.words[lay->first_key_block];
	for (int w = 0; w < 4; w++)
		assert_int_equal(kw[w], 0);
	for (int w = 4; w < 8; w++)
		assert_int_equal(kw[w], (uint32_t)dig[4 * (w - 4)] | (uint32_t)dig[4 * (w - 4) + 1] << 8 |
						(uint32_t)dig[4 * (w - 4) + 2] << 16 |
						(uint32_t)dig[4 * (w - 4) + 3] << 24);
	assert_int_equal(field(&l, EF_RD_DIS), 1);
	assert_int_equal(field(&l, EF_WR_DIS) & 0x80, 0x80);
	/* secure boot accepts the digest half; then release mode locks it with the counter */
	struct efuse_field_write w[EFUSE_MAX_FIELD_WRITES];
	size_t n;
	assert_int_equal(efuse_writes_fe_enable(&l.info.efuse, true, w, &n, &e), -1);
	assert_int_equal(efuse_writes_secure_boot(&l.info.efuse, l.info.rev_major, w, &n, &e), 0);
	burn_ok(&l, w, n);
	assert_int_equal(field(&l, EF_SECURE_BOOT_EN), 1);
	assert_int_equal(efuse_writes_fe_enable(&l.info.efuse, true, w, &n, &e), 0);
	burn_ok(&l, w, n);
	assert_int_equal(field(&l, EF_CRYPT_CNT), 7);
	assert_int_equal(field(&l, EF_WR_DIS) & 0x87, 0x87);
	assert_int_equal(field(&l, EF_XTS_KEY_LENGTH_256), 0);
	loader_close(&l);
	sim_stop();
}

/* The whole provisioning sequence on each chip, checking every field after every step. */
static void test_sequence_all_chips(void **state)
{
	(void)state;
	for (size_t ci = 0; ci < N_CHIPS; ci++) {
		sim_start(chips[ci]);
		loader_t l;
		open_loader(&l);
		const struct chip_desc *c = l.info.chip;
		bool esp32 = c->type == CHIP_ESP32;
		struct efuse_field_write w[EFUSE_MAX_FIELD_WRITES];
		size_t n;
		err_t e = {0};

		/* refused without a flash-encryption key in eFuse */
		assert_int_equal(efuse_writes_fe_enable(&l.info.efuse, false, w, &n, &e), -1);
		assert_int_equal(e.code, ERR_CHECK);
		e = (err_t){0};
		burn_fe_key(&l);
		/* development: counter 0 -> 1 */
		assert_int_equal(field(&l, EF_CRYPT_CNT), 0);
		assert_int_equal(efuse_writes_fe_enable(&l.info.efuse, false, w, &n, &e), 0);
		burn_ok(&l, w, n);
		assert_int_equal(field(&l, EF_CRYPT_CNT), 1);
		assert_true(l.info.security.flash_encryption);
		if (esp32)
			assert_int_equal(field(&l, EF_FLASH_CRYPT_CONFIG), 0xF);
		assert_int_equal(field(&l, EF_DIS_DOWNLOAD_MANUAL_ENCRYPT), 0);
		/* enabling again burns nothing */
		assert_int_equal(efuse_writes_fe_enable(&l.info.efuse, false, w, &n, &e), 0);
		struct efuse_field_plan p;
		assert_int_equal(loader_plan_fields(&l, w, n, &p, &e), 0);
		assert_true(p.nothing_to_do);

		/* release: counter at max (odd), download-mode encryption and cache off, JTAG off */
		assert_int_equal(efuse_writes_fe_enable(&l.info.efuse, true, w, &n, &e), 0);
		burn_ok(&l, w, n);
		unsigned cw = fdesc(&l, EF_CRYPT_CNT)->width;
		assert_int_equal(field(&l, EF_CRYPT_CNT), (1u << cw) - 1);
		assert_true(__builtin_popcount(field(&l, EF_CRYPT_CNT)) & 1);
		if (esp32) {
			assert_int_equal(field(&l, EF_DISABLE_DL_ENCRYPT), 1);
			assert_int_equal(field(&l, EF_DISABLE_DL_DECRYPT), 1);
			assert_int_equal(field(&l, EF_DISABLE_DL_CACHE), 1);
			assert_int_equal(field(&l, EF_JTAG_DISABLE), 1);
			assert_int_equal(field(&l, EF_CONSOLE_DEBUG_DISABLE), 1);
			assert_int_equal(field(&l, EF_RD_DIS) & 1, 1);      /* BLOCK1 */
			assert_int_equal(field(&l, EF_WR_DIS) & 0x88, 0x88); /* BLOCK1, DIS_CACHE */
		} else {
			assert_int_equal(field(&l, EF_DIS_DOWNLOAD_MANUAL_ENCRYPT), 1);
			if (fdesc(&l, EF_DIS_PAD_JTAG)) /* S2: HARD_DIS_JTAG instead */
				assert_int_equal(field(&l, EF_DIS_PAD_JTAG), 1);
			if (c->type == CHIP_ESP32S2)
				assert_int_equal(field(&l, EF_HARD_DIS_JTAG), 1);
			assert_int_equal(field(&l, EF_DIS_DIRECT_BOOT), 1);
			if (fdesc(&l, EF_SOFT_DIS_JTAG))
				assert_int_equal(field(&l, EF_SOFT_DIS_JTAG),
						 (1u << fdesc(&l, EF_SOFT_DIS_JTAG)->width) - 1);
			if (fdesc(&l, EF_DIS_DOWNLOAD_ICACHE))
				assert_int_equal(field(&l, EF_DIS_DOWNLOAD_ICACHE), 1);
			if (fdesc(&l, EF_DIS_DOWNLOAD_DCACHE))
				assert_int_equal(field(&l, EF_DIS_DOWNLOAD_DCACHE), 1);
			if (fdesc(&l, EF_DIS_USB_JTAG))
				assert_int_equal(field(&l, EF_DIS_USB_JTAG), 1);
			/* the cache/encrypt group is write-protected: C2 WR_DIS 1, others 2 */
			int lockbit = c->type == CHIP_ESP32C2 ? 1 : 2;
			assert_int_equal((field(&l, EF_WR_DIS) >> lockbit) & 1, 1);
		}
		assert_int_equal(field(&l, EF_SECURE_BOOT_EN) | field(&l, EF_ABS_DONE_1), 0);

		/* secure boot: refused without a digest, then enabled with one. The C2 digest
		 * shares BLOCK_KEY0 (RS, burned once) with the FE key: tested on its own below. */
		if (c->type != CHIP_ESP32C2)
			check_secure_boot(&l);
		/* lockdown */
		assert_int_equal(efuse_writes_lockdown(&l.info.efuse, l.info.rev_major, w, &n, &e), 0);
		burn_ok(&l, w, n);
		if (esp32) {
			assert_int_equal(field(&l, EF_UART_DOWNLOAD_DIS), 1);
			loader_close(&l);
			/* next boot: no download loader any more */
			loader_t l2;
			struct loader_opts o;
			loader_opts_init(&o);
			o.port = sim_port;
			o.connect_attempts = 2;
			err_t e2 = {0};
			assert_int_not_equal(loader_open(&l2, &o, &e2), 0);
		} else {
			assert_true(l.info.secure_download);
			uint32_t v;
			err_t e2 = {0};
			/* the ROM now refuses register reads */
			assert_int_not_equal(rom_cmd_read_reg(&l.conn, c->efuse_base, &v, &e2), 0);
			loader_close(&l);
			loader_t l2;
			open_loader(&l2);
			assert_true(l2.info.secure_download);
			assert_false(l2.info.has_efuse);
			loader_close(&l2);
		}
		sim_stop();
	}
}

/* Refusals leave the eFuses exactly as they were. */
static void test_refusals_all_chips(void **state)
{
	(void)state;
	for (size_t ci = 0; ci < N_CHIPS; ci++) {
		sim_start(chips[ci]);
		loader_t l;
		open_loader(&l);
		const struct chip_desc *c = l.info.chip;
		err_t e = {0};
		enum efuse_field_id f;
		/* unknown for this chip */
		const char *foreign = c->type == CHIP_ESP32 ? "SPI_BOOT_CRYPT_CNT" : "FLASH_CRYPT_CNT";
		assert_int_equal(efuse_field_parse(c, foreign, &f, &e), -1);
		assert_int_equal(e.code, ERR_USAGE);
		e = (err_t){0};
		assert_int_equal(efuse_field_parse(c, "NO_SUCH_FIELD", &f, &e), -1);
		e = (err_t){0};
		if (c->type != CHIP_ESP32S2 && c->type != CHIP_ESP32S3) {
			assert_int_equal(efuse_field_parse(c, "DIS_DOWNLOAD_DCACHE", &f, &e), -1);
			e = (err_t){0};
		}
		struct efuse_dump before = l.info.efuse;
		/* not representable */
		unsigned cw = fdesc(&l, EF_CRYPT_CNT)->width;
		struct efuse_field_write w = {EF_CRYPT_CNT, 1u << cw};
		assert_int_not_equal(burn(&l, &w, 1, &e), 0);
		assert_int_equal(e.code, ERR_USAGE);
		e = (err_t){0};
		/* a field named twice */
		struct efuse_field_write two[2] = {{EF_CRYPT_CNT, 1}, {EF_CRYPT_CNT, 3}};
		assert_int_not_equal(burn(&l, two, 2, &e), 0);
		e = (err_t){0};
		/* 1 -> 0 */
		w.value = 1;
		burn_ok(&l, &w, 1);
		w.value = 2;
		assert_int_not_equal(burn(&l, &w, 1, &e), 0);
		assert_int_equal(e.code, ERR_CHECK);
		assert_non_null(strstr(e.msg, "cleared"));
		e = (err_t){0};
		assert_int_equal(field(&l, EF_CRYPT_CNT), 1);
		/* write-protected field: protect SECURE_VERSION (ESP32: FLASH_CRYPT_CONFIG) */
		enum efuse_field_id victim = c->type == CHIP_ESP32 ? EF_FLASH_CRYPT_CONFIG : EF_SECURE_VERSION;
		struct efuse_field_write wp = {EF_WR_DIS, 1u << fdesc(&l, victim)->wr_dis_bit};
		burn_ok(&l, &wp, 1);
		struct efuse_dump mid;
		assert_int_equal(loader_refresh_efuse(&l, &e), 0);
		mid = l.info.efuse;
		struct efuse_field_write v = {victim, 1};
		assert_int_not_equal(burn(&l, &v, 1, &e), 0);
		assert_int_equal(e.code, ERR_CHECK);
		assert_non_null(strstr(e.msg, "write-protected"));
		e = (err_t){0};
		assert_int_equal(loader_refresh_efuse(&l, &e), 0);
		assert_memory_equal(mid.words[0], l.info.efuse.words[0], sizeof mid.words[0]);
		/* the burns above changed exactly the counter bit and the WR_DIS bit */
		const struct efuse_field_desc *cf = fdesc(&l, EF_CRYPT_CNT);
		before.words[0][cf->word] |= 1u << cf->bit;
		before.words[0][0] |= wp.value;
		assert_memory_equal(before.words[0], l.info.efuse.words[0], sizeof before.words[0]);
		loader_close(&l);
		sim_stop();
	}
}

/* An io that stops working after a number of register writes, counting program commands. */
struct cut_io {
	const struct efuse_io *inner;
	const struct chip_desc *chip;
	int writes_left; /* -1: never cut */
	int pgm_cmds;
};

static int cut_read(void *ctx, uint32_t addr, uint32_t *v, err_t *e)
{
	struct cut_io *c = ctx;
	if (c->writes_left == 0)
		return err_set_msg(e, ERR_DEVICE, "link cut (test)");
	return c->inner->read(c->inner->ctx, addr, v, e);
}

static int cut_write(void *ctx, uint32_t addr, uint32_t value, uint32_t delay, err_t *e)
{
	struct cut_io *c = ctx;
	if (c->writes_left == 0)
		return err_set_msg(e, ERR_DEVICE, "link cut (test)");
	if (c->writes_left > 0)
		c->writes_left--;
	if (addr == c->chip->efuse_base + c->chip->efuse->cmd_off && (value & EFUSE_CMD_PGM))
		c->pgm_cmds++;
	return c->inner->write(c->inner->ctx, addr, value, delay, e);
}

/* Interrupt the release burn after k register writes for many k, resume, compare the end state
 * with an uninterrupted burn, and check no program command was repeated. */
static void test_interrupted_burn_resumes(void **state)
{
	(void)state;
	const char *which[] = {"esp32", "esp32c3", "esp32c2"};
	for (size_t ci = 0; ci < 3; ci++) {
		/* reference: uninterrupted */
		sim_start(which[ci]);
		loader_t l;
		open_loader(&l);
		burn_fe_key(&l);
		struct efuse_field_write w[EFUSE_MAX_FIELD_WRITES];
		size_t n;
		err_t e = {0};
		assert_int_equal(efuse_writes_fe_enable(&l.info.efuse, true, w, &n, &e), 0);
		uint32_t start[8], got[8];
		memcpy(start, l.info.efuse.words[0], sizeof start);
		struct cut_io cio = {&l.efuse_io, l.info.chip, -1, 0};
		struct efuse_io io = {cut_read, cut_write, &cio};
		struct efuse_field_plan p;
		assert_int_equal(efuse_plan_fields(l.info.chip, &l.info.efuse, w, n, &p, &e), 0);
		assert_int_equal(efuse_burn_fields(&io, &p, NULL, &e), 0);
		int ref_pgm = cio.pgm_cmds;
		assert_true(ref_pgm >= 2);
		assert_int_equal(loader_refresh_efuse(&l, &e), 0);
		/* burned bits only: BLOCK0 also holds the (random) factory MAC on ESP32 */
		uint32_t ref[8];
		for (int k = 0; k < 8; k++)
			ref[k] = l.info.efuse.words[0][k] & ~start[k];
		loader_close(&l);
		int total_writes = 0;
		for (int k = 5; k < 200; k += 7) {
			sim_start(which[ci]);
			open_loader(&l);
			burn_fe_key(&l);
			memcpy(start, l.info.efuse.words[0], sizeof start);
			assert_int_equal(efuse_plan_fields(l.info.chip, &l.info.efuse, w, n, &p, &e), 0);
			cio = (struct cut_io){&l.efuse_io, l.info.chip, k, 0};
			err_t ie = {0};
			int rc = efuse_burn_fields(&io, &p, NULL, &ie);
			if (rc == 0) {
				total_writes = k;
				loader_close(&l);
				break; /* k beyond the whole burn */
			}
			int first = cio.pgm_cmds;
			cio.writes_left = -1;
			cio.pgm_cmds = 0;
			if (efuse_burn_fields(&io, &p, NULL, &e))
				fail_msg("%s: resume after %d writes: %s", which[ci], k, e.msg);
			assert_int_equal(first + cio.pgm_cmds, ref_pgm);
			assert_int_equal(loader_refresh_efuse(&l, &e), 0);
			for (int j = 0; j < 8; j++)
				got[j] = l.info.efuse.words[0][j] & ~start[j];
			assert_memory_equal(ref, got, sizeof ref);
			loader_close(&l);
		}
		assert_true(total_writes > 0);
		sim_stop();
	}
}

/* The CLI: confirmation required without a terminal, burn, summary, refusal, idempotence. */
static void test_cli_burn_field(void **state)
{
	(void)state;
	sim_start("esp32c6");
	buf_t so = BUF_INIT, se = BUF_INIT;
	char *argv_noyes[] = {"espfab", "efuse", "--port", sim_port, "burn-field", "SPI_BOOT_CRYPT_CNT",
			      "1", NULL};
	/* no terminal, no --yes: refused, nothing burned */
	int rc = testutil_run_espfab(sim_dir, argv_noyes, &so, &se);
	assert_int_not_equal(rc, 0);
	assert_non_null(strstr(buf_terminate_str(&se), "--yes"));
	so.len = se.len = 0;
	char *argv[] = {"espfab", "efuse", "--port", sim_port, "burn-field", "SPI_BOOT_CRYPT_CNT", "1",
			"DIS_DOWNLOAD_MANUAL_ENCRYPT", "1", "--yes", NULL};
	rc = testutil_run_espfab(sim_dir, argv, &so, &se);
	if (rc != 0)
		fail_msg("burn-field: %d %s", rc, buf_terminate_str(&se));
	so.len = se.len = 0;
	char *sum[] = {"espfab", "efuse", "--port", sim_port, "summary", "--json", NULL};
	assert_int_equal(testutil_run_espfab(sim_dir, sum, &so, &se), 0);
	const char *out = buf_terminate_str(&so);
	assert_non_null(strstr(out, "\"SPI_BOOT_CRYPT_CNT\": 1"));
	assert_non_null(strstr(out, "\"DIS_DOWNLOAD_MANUAL_ENCRYPT\": 1"));
	so.len = se.len = 0;
	char *bad[] = {"espfab", "efuse", "--port", sim_port, "burn-field", "FLASH_CRYPT_CONFIG", "15",
		       "--yes", NULL};
	assert_int_equal(testutil_run_espfab(sim_dir, bad, &so, &se), 2);
	so.len = se.len = 0;
	char *again[] = {"espfab", "efuse", "--port", sim_port, "burn-field", "SPI_BOOT_CRYPT_CNT", "1",
			 "--yes", NULL};
	assert_int_equal(testutil_run_espfab(sim_dir, again, &so, &se), 0);
	assert_non_null(strstr(buf_terminate_str(&so), "nothing to burn"));
	buf_free_data(&so);
	buf_free_data(&se);
	sim_stop();
}

/* The lockdown on a fresh chip (a production run without flash encryption, as on the H2
 * ecdsa-efuse path): JTAG off by every field the chip has (DIS_PAD_JTAG, DIS_USB_JTAG,
 * SOFT_DIS_JTAG all bits; S2 HARD_DIS_JTAG and its 1-bit SOFT_DIS_JTAG; ESP32 JTAG_DISABLE) in
 * a first burn read back over the link, then Secure Download Mode (ESP32: UART_DOWNLOAD_DIS).
 * Read back from the eFuse file; a new connection finds the ROM in SDM reporting JTAG
 * soft-disabled, refusing register reads. Nothing else of BLOCK0 changes. */
static void test_lockdown_fresh_all_chips(void **state)
{
	(void)state;
	static const enum efuse_field_id jtag[] = {EF_DIS_PAD_JTAG, EF_DIS_USB_JTAG, EF_HARD_DIS_JTAG,
						   EF_JTAG_DISABLE};
	for (size_t ci = 0; ci < N_CHIPS; ci++) {
		sim_start(chips[ci]);
		loader_t l;
		open_loader(&l);
		const struct chip_desc *c = l.info.chip;
		bool esp32 = c->type == CHIP_ESP32;
		uint32_t before[8];
		memcpy(before, l.info.efuse.words[0], sizeof before);
		struct efuse_field_write w[EFUSE_MAX_FIELD_WRITES];
		size_t n;
		err_t e = {0};
		if (efuse_writes_lockdown(&l.info.efuse, l.info.rev_major, w, &n, &e))
			fail_msg("%s: %s", chips[ci], e.msg);
		burn_ok(&l, w, n);
		assert_int_equal(l.info.secure_download, !esp32);
		loader_close(&l);
		char *efp = testutil_join_path(sim_dir, "efuse.bin");
		struct efuse_dump d;
		simefuse_load(efp, chips[ci], &d);
		free(efp);
		uint32_t expect[8];
		memcpy(expect, before, sizeof expect);
		int seen = 0;
		for (size_t i = 0; i < sizeof jtag / sizeof *jtag; i++) {
			const struct efuse_field_desc *fd = chip_efuse_field(c, jtag[i]);
			if (!fd || !fd->width)
				continue;
			seen++;
			expect[fd->word] |= 1u << fd->bit;
			if (efuse_field_value(&d, jtag[i]) != 1)
				fail_msg("%s: %s reads %u after the lockdown", chips[ci], fd->name,
					 efuse_field_value(&d, jtag[i]));
		}
		assert_true(seen > 0);
		const struct efuse_field_desc *sj = chip_efuse_field(c, EF_SOFT_DIS_JTAG);
		if (sj && sj->width) {
			expect[sj->word] |= ((1u << sj->width) - 1) << sj->bit;
			assert_int_equal(efuse_field_value(&d, EF_SOFT_DIS_JTAG), (1u << sj->width) - 1);
		}
		const struct efuse_field_desc *last =
			chip_efuse_field(c, esp32 ? EF_UART_DOWNLOAD_DIS : EF_ENABLE_SECURITY_DOWNLOAD);
		expect[last->word] |= 1u << last->bit;
		for (int k = 0; k < 8; k++)
			if (d.words[0][k] != expect[k])
				fail_msg("%s: BLOCK0 word %d reads 0x%08x after the lockdown, want 0x%08x",
					 chips[ci], k, d.words[0][k], expect[k]);
		if (!esp32) {
			/* the next connection: SDM, JTAG soft-disabled (odd count), no READ_REG */
			loader_t l2;
			open_loader(&l2);
			assert_true(l2.info.secure_download);
			assert_true(l2.info.has_secinfo);
			assert_true(l2.info.secinfo.flags & ROM_SECFLAG_SECURE_DOWNLOAD_ENABLE);
			if (sj && sj->width)
				assert_true(l2.info.secinfo.flags & ROM_SECFLAG_SOFT_DIS_JTAG);
			uint32_t v;
			assert_int_not_equal(rom_cmd_read_reg(&l2.conn, c->efuse_base, &v, &e), 0);
			loader_close(&l2);
		}
		sim_stop();
	}
}

static void write_file_mode(const char *dir, const char *name, const uint8_t *data, size_t len, mode_t mode)
{
	char *p = testutil_join_path(dir, name);
	testutil_write_file(p, data, len);
	assert_int_equal(chmod(p, mode), 0);
	free(p);
}

/* `espfab efuse burn-key ... --sb-digest FILE` on an ESP32-C2: the derived 128-bit key and the
 * secure-boot digest go into the two halves of BLOCK_KEY0 in one program (as `run` does), so the
 * block's Reed-Solomon check covers both; the key half read-protected, the digest half readable
 * and accepted by the secure-boot step. A 16-byte digest file, the key left readable: the key
 * reversed in the low half, the digest as is in the high half. On another chip the option is a
 * usage error naming it, with nothing burned; a second burn of the spent block is refused. */
static void test_cli_burn_key_sb_digest(void **state)
{
	(void)state;
	uint8_t key[16], dig[32];
	for (int i = 0; i < 16; i++)
		key[i] = (uint8_t)(0x11 * (i + 1));
	for (int i = 0; i < 32; i++)
		dig[i] = (uint8_t)(0xA0 + 5 * i);
	buf_t so = BUF_INIT, se = BUF_INIT;
	for (int variant = 0; variant < 2; variant++) {
		bool rp = variant == 0;
		sim_start("esp32c2");
		write_file_mode(sim_dir, "fe_key.bin", key, sizeof key, 0600);
		write_file_mode(sim_dir, "digest.bin", dig, rp ? 32 : 16, 0644);
		char *argv[] = {"espfab", "efuse", "--port", sim_port, "burn-key", "BLOCK_KEY0", "fe_key.bin",
				"XTS_AES_128_KEY_DERIVED_FROM_128_EFUSE_BITS", "--sb-digest", "digest.bin", "--yes",
				rp ? "--read-protect" : NULL, NULL};
		so.len = se.len = 0;
		int rc = testutil_run_espfab(sim_dir, argv, &so, &se);
		if (rc != 0)
			fail_msg("burn-key --sb-digest: exit %d: %s", rc, buf_terminate_str(&se));
		assert_non_null(strstr(buf_terminate_str(&so), "secure-boot digest"));
		loader_t l;
		open_loader(&l);
		const struct efuse_layout *lay = l.info.chip->efuse;
		/* one program: the block's parity matches (no RS fail bit 11, no error count) */
		assert_int_equal(raw_rd(&l, lay->rs_err0_off), 0);
		const uint32_t *kw = l.info.efuse.words[lay->first_key_block];
		for (int w = 0; w < 8; w++) {
			uint8_t b[4];
			for (int k = 0; k < 4; k++) {
				int i = 4 * w + k;
				b[k] = i >= 16 ? dig[i - 16] : rp ? 0 : key[15 - i];
			}
			uint32_t want = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
					(uint32_t)b[3] << 24;
			if (kw[w] != want)
				fail_msg("BLOCK_KEY0 word %d reads 0x%08x, want 0x%08x", w, kw[w], want);
		}
		/* RD_DIS bit 0 (low half) only when asked; the block write-protected (WR_DIS 7) */
		assert_int_equal(field(&l, EF_RD_DIS), rp ? 1 : 0);
		assert_int_equal(field(&l, EF_WR_DIS) & 0x80, 0x80);
		assert_int_equal(field(&l, EF_XTS_KEY_LENGTH_256), 0);
		/* the digest half is where the secure-boot step looks for it */
		struct efuse_field_write w[EFUSE_MAX_FIELD_WRITES];
		size_t n;
		err_t e = {0};
		if (efuse_writes_secure_boot(&l.info.efuse, l.info.rev_major, w, &n, &e))
			fail_msg("secure boot after burn-key --sb-digest: %s", e.msg);
		loader_close(&l);
		/* the block takes one program: a second burn is refused, nothing changes */
		char *efp = testutil_join_path(sim_dir, "efuse.bin");
		buf_t before = BUF_INIT, after = BUF_INIT;
		testutil_read_file(efp, &before);
		so.len = se.len = 0;
		assert_int_equal(testutil_run_espfab(sim_dir, argv, &so, &se), 1);
		assert_non_null(strstr(buf_terminate_str(&se), "BLOCK_KEY0"));
		testutil_read_file(efp, &after);
		testutil_assert_bytes_equal("eFuses after the refused second burn", after.data, after.len,
					    before.data, before.len);
		buf_free_data(&before);
		buf_free_data(&after);
		free(efp);
		sim_stop();
	}

	/* another chip: a usage error naming the option, the key block untouched */
	sim_start("esp32c3");
	write_file_mode(sim_dir, "fe_key.bin", key, sizeof key, 0600);
	write_file_mode(sim_dir, "digest.bin", dig, 32, 0644);
	char *c3[] = {"espfab", "efuse", "--port", sim_port, "burn-key", "BLOCK_KEY0", "fe_key.bin",
		      "XTS_AES_128_KEY_DERIVED_FROM_128_EFUSE_BITS", "--sb-digest", "digest.bin", "--yes", NULL};
	so.len = se.len = 0;
	assert_int_equal(testutil_run_espfab(sim_dir, c3, &so, &se), 2);
	assert_non_null(strstr(buf_terminate_str(&se), "--sb-digest digest.bin"));
	assert_non_null(strstr(buf_terminate_str(&se), "ESP32-C2"));
	loader_t l;
	open_loader(&l);
	struct efuse_key_status ks;
	efuse_key_status(&l.info.efuse, l.info.chip->efuse->first_key_block, &ks);
	assert_true(ks.empty);
	assert_int_equal(field(&l, EF_WR_DIS), 0);
	loader_close(&l);
	sim_stop();
	buf_free_data(&so);
	buf_free_data(&se);
}

/* The link drops or the chip resets at points through a three-pass BLOCK0 burn from the CLI:
 * the loader recovers and finishes, or fails with a device error and a second run finishes;
 * either way the fields end exactly as requested. */
static void test_link_fault_during_burn(void **state)
{
	(void)state;
	static const char *kinds[] = {"disconnect-after", "reset-after"};
	int finished_in_first = 0, finished_in_second = 0;
	for (int k = 0; k < 2; k++)
		for (int bytes = 400; bytes <= 4400; bytes += 500) {
			char fault[64];
			snprintf(fault, sizeof fault, "%s:%d", kinds[k], bytes);
			sim_start_fault("esp32c3", fault);
			buf_t so = BUF_INIT, se = BUF_INIT;
			char *argv[] = {"espfab", "efuse", "--port", sim_port, "burn-field",
					"SPI_BOOT_CRYPT_CNT", "7", "DIS_DOWNLOAD_MANUAL_ENCRYPT", "1",
					"WR_DIS", "4", "--yes", NULL};
			int rc = testutil_run_espfab(sim_dir, argv, &so, &se);
			assert_true(rc == 0 || rc == 3);
			so.len = se.len = 0;
			int rc2 = testutil_run_espfab(sim_dir, argv, &so, &se);
			if (rc2 != 0)
				fail_msg("%s: second run exit %d: %s", fault, rc2, buf_terminate_str(&se));
			if (rc == 0) {
				finished_in_first++;
				assert_non_null(strstr(buf_terminate_str(&so), "nothing to burn"));
			} else {
				finished_in_second++;
			}
			so.len = se.len = 0;
			char *sum[] = {"espfab", "efuse", "--port", sim_port, "summary", "--json", NULL};
			assert_int_equal(testutil_run_espfab(sim_dir, sum, &so, &se), 0);
			const char *out = buf_terminate_str(&so);
			assert_non_null(strstr(out, "\"SPI_BOOT_CRYPT_CNT\": 7"));
			assert_non_null(strstr(out, "\"DIS_DOWNLOAD_MANUAL_ENCRYPT\": 1"));
			assert_non_null(strstr(out, "\"WR_DIS\": 4"));
			buf_free_data(&so);
			buf_free_data(&se);
			sim_stop();
		}
	print_message("link faults: %d recovered within the run, %d finished by a second run\n",
		      finished_in_first, finished_in_second);
}

int main(void)
{
	if (!testutil_sim_bin()) {
		printf("espfab-sim not available\n");
		return 77;
	}
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sequence_all_chips),
		cmocka_unit_test(test_c2_secure_boot),
		cmocka_unit_test(test_c2_key_block_burns_once),
		cmocka_unit_test(test_refusals_all_chips),
		cmocka_unit_test(test_interrupted_burn_resumes),
		cmocka_unit_test(test_cli_burn_field),
		cmocka_unit_test(test_cli_burn_key_sb_digest),
		cmocka_unit_test(test_lockdown_fresh_all_chips),
		cmocka_unit_test(test_link_fault_during_burn),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	sim_stop();
	return rc;
}
