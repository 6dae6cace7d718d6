/* Identification traffic against espfab-sim, for each of the seven chips: what the host sends
 * is recorded below the ROM session (a transport that decodes its own outgoing SLIP frames), and
 * every register word is read once (revision and MAC words come out of the eFuse dump's reads,
 * not a second READ_REG), every eFuse word of the chip's layout is read, and the flash-id
 * set-up goes out as one multi-group WRITE_REG and its restore as another. */
#include "testutil.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/checksum.h"
#include "link/slip.h"
#include "loader/loader.h"

struct rec_transport {
	transport_t base;
	transport_t *inner;
	slip_decoder_t dec;
	uint32_t reads[512];
	size_t n_reads;
	size_t write_groups[16]; /* 16-byte groups of each WRITE_REG */
	size_t n_writes;
};

static int rec_write(transport_t *t, const uint8_t *data, size_t len, unsigned to, err_t *e)
{
	struct rec_transport *r = (struct rec_transport *)t;
	size_t off = 0;
	while (off < len) {
		const uint8_t *f;
		size_t fl;
		off += slip_decoder_feed(&r->dec, data + off, len - off, &f, &fl);
		if (!f || fl < 8)
			continue;
		size_t dlen = (size_t)(f[2] | f[3] << 8);
		if (f[1] == ROM_OP_READ_REG && dlen == 4 && r->n_reads < 512)
			r->reads[r->n_reads++] = checksum_read_u32le(f + 8);
		if (f[1] == ROM_OP_WRITE_REG && r->n_writes < 16)
			r->write_groups[r->n_writes++] = dlen / 16;
	}
	return r->inner->ops->write(r->inner, data, len, to, e);
}

static long rec_read(transport_t *t, uint8_t *buf, size_t len, unsigned to, err_t *e)
{
	struct rec_transport *r = (struct rec_transport *)t;
	return r->inner->ops->read(r->inner, buf, len, to, e);
}

static int rec_baud(transport_t *t, unsigned baud, err_t *e)
{
	struct rec_transport *r = (struct rec_transport *)t;
	return transport_set_baud(r->inner, baud, e);
}

static int rec_lines(transport_t *t, int dtr, int rts, err_t *e)
{
	struct rec_transport *r = (struct rec_transport *)t;
	return transport_set_lines(r->inner, dtr, rts, e);
}

static int rec_flush(transport_t *t, err_t *e)
{
	struct rec_transport *r = (struct rec_transport *)t;
	return transport_flush_input(r->inner, e);
}

static void rec_close(transport_t *t)
{
	struct rec_transport *r = (struct rec_transport *)t;
	transport_close(r->inner);
	slip_decoder_free(&r->dec);
}

static const struct transport_ops rec_ops = {rec_write, rec_read, rec_baud, rec_lines, rec_flush,
					     rec_close};

static pid_t sim_spawn(const char *chip, const char *dir, char *url, size_t n)
{
	const char *bin = testutil_sim_bin();
	if (!bin || access(bin, X_OK) != 0)
		return -1;
	char *flash = testutil_join_path(dir, "flash.bin"), *efuse = testutil_join_path(dir, "efuse.bin");
	int p[2];
	assert_int_equal(pipe(p), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(p[1], 1);
		int dn = open("/dev/null", O_WRONLY);
		dup2(dn, 2);
		close(p[0]);
		execl(bin, bin, "--chip", chip, "--tcp", "0", "--no-throttle", "--flash", flash,
		      "--efuse", efuse, (char *)NULL);
		_exit(127);
	}
	free(flash);
	free(efuse);
	close(p[1]);
	char line[200];
	size_t len = 0;
	struct pollfd pf = {p[0], POLLIN, 0};
	while (len < sizeof line - 1) {
		assert_true(poll(&pf, 1, 10000) > 0);
		assert_int_equal(read(p[0], line + len, 1), 1);
		if (line[len] == '\n')
			break;
		len++;
	}
	line[len] = '\0';
	close(p[0]);
	const char *hp = strstr(line, "tcp ");
	assert_non_null(hp);
	snprintf(url, n, "socket://%s", hp + 4);
	return pid;
}

static void sim_kill(pid_t pid)
{
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
}

static void check_chip(const char *chip_id)
{
	char *dir = testutil_make_tmpdir();
	char url[128];
	pid_t pid = sim_spawn(chip_id, dir, url, sizeof url);
	if (pid < 0) {
		testutil_remove_tree(dir);
		free(dir);
		skip();
	}
	struct rec_transport r;
	memset(&r, 0, sizeof r);
	err_t e = {0};
	assert_int_equal(transport_open(url, 115200, &r.inner, &e), 0);
	r.base.ops = &rec_ops;
	r.base.kind = r.inner->kind;
	r.base.name = r.inner->name;
	r.base.baud = r.inner->baud;
	r.base.has_lines = r.inner->has_lines;
	slip_decoder_init(&r.dec, SLIP_DEFAULT_MAX_FRAME);
	rom_conn_t c;
	rom_conn_init(&c, &r.base);
	assert_int_equal(rom_connect(&c, ROM_RESET_NONE, 3, &e), 0);
	struct loader_chip_info info;
	if (loader_detect_chip(&c, &info, &e))
		fail_msg("%s: %s", chip_id, e.msg);
	assert_string_equal(info.chip->id, chip_id);
	assert_true(info.has_mac && info.has_efuse);
	const struct chip_desc *chip = info.chip;
	const struct efuse_layout *lay = chip->efuse;
	/* every eFuse word of the layout is read exactly once */
	for (int b = 0; b < lay->n_blocks; b++)
		for (int w = 0; w < lay->blocks[b].words; w++) {
			uint32_t a = chip->efuse_base + lay->blocks[b].read_off + 4u * (unsigned)w;
			int seen = 0;
			for (size_t i = 0; i < r.n_reads; i++)
				seen += r.reads[i] == a;
			if (seen != 1)
				fail_msg("%s: eFuse %s word %d read %d times", chip_id,
					 lay->blocks[b].name, w, seen);
		}
	/* no register read twice (the SPI command register may be polled) */
	uint32_t poll_reg = chip->spi.base + chip->spi.cmd;
	for (size_t i = 0; i < r.n_reads; i++)
		for (size_t k = i + 1; k < r.n_reads; k++)
			if (r.reads[i] == r.reads[k] && r.reads[i] != poll_reg)
				fail_msg("%s: register 0x%08x read twice", chip_id, r.reads[i]);
	/* RDID: set-up and start in one WRITE_REG, restore in one */
	assert_int_equal(r.n_writes, 2);
	assert_int_equal(r.write_groups[0], 5);
	assert_int_equal(r.write_groups[1], 2);
	assert_int_not_equal(info.flash_id, 0);
	rom_conn_free(&c);
	transport_close(&r.base);
	sim_kill(pid);
	testutil_remove_tree(dir);
	free(dir);
}

static void test_identify_reads_once(void **state)
{
	(void)state;
	static const char *chips[] = {"esp32",   "esp32s2", "esp32s3", "esp32c2",
				      "esp32c3", "esp32c6", "esp32h2"};
	for (size_t i = 0; i < sizeof chips / sizeof chips[0]; i++)
		check_chip(chips[i]);
}

static void test_open_times(void **state)
{
	(void)state;
	char *dir = testutil_make_tmpdir();
	char url[128];
	pid_t pid = sim_spawn("esp32c6", dir, url, sizeof url);
	if (pid < 0) {
		testutil_remove_tree(dir);
		free(dir);
		skip();
	}
	struct loader_opts o;
	loader_opts_init(&o);
	o.port = url;
	o.baud = 921600;
	o.before = ROM_RESET_DEFAULT; /* a socket: no reset lines, so no reset is tried */
	o.after = ROM_AFTER_NO_RESET;
	loader_t l;
	err_t e = {0};
	assert_int_equal(loader_open(&l, &o, &e), 0);
	/* the chip is known before the eFuse dump and flash attach that complete the open */
	assert_true(l.info.identified_ms <= l.info.connect_ms);
	assert_int_equal(l.t->baud, 921600);
	loader_close(&l);
	sim_kill(pid);
	testutil_remove_tree(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_identify_reads_once),
		cmocka_unit_test(test_open_times),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
