/* Read-back under line noise. flasher_read against a scripted ROM peer (a child process on a
 * socketpair that serves READ_FLASH_SLOW, SPI_FLASH_MD5 and READ_REG from memory and garbles
 * chosen replies): bit errors in read data, malformed, dropped, late and checksum-rejected
 * replies are absorbed by re-reading only the affected block, a late duplicate reply does not
 * shift later answers, persistent garbling fails within a bound, and a ROM flash-read error is
 * not retried. Then `espfab run` against espfab-sim with a corrupted and a dropped reply in the
 * middle of its verify read-back: the first run ends verified. */
#include "testutil.h"
#include "simrun.h"
#include "testpki.h"

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <mbedtls/md5.h>

#include "core/hex.h"
#include "core/rng.h"
#include "link/slip.h"
#include "link/transport.h"
#include "loader/flasher.h"
#include "loader/loader.h"

#define PEER_FLASH_SIZE 0x10000u
#define PEER_BASE 0x8000u /* flash address of peer_flash[0] */

enum peer_act {
	PEER_FLIP,     /* one bit of the reply's data flipped (SLIP framing intact) */
	PEER_DROP,     /* no reply */
	PEER_LATE,     /* the reply after 3.3 s: the host has timed out and asked again */
	PEER_SHORT,    /* a READ_FLASH_SLOW reply with 10 data bytes */
	PEER_BADHEX,   /* an MD5 reply with a non-hex character */
	PEER_CHECKSUM, /* status 1, error 0x07: the ROM saw a corrupted request */
	PEER_FLASHERR, /* status 1, error 0x09 (flash read error): not the line's fault */
};

/* Replies to garble: the n-th request of opcode op (counted from 0) gets act. */
struct peer_rule {
	uint8_t op;
	unsigned nth;
	enum peer_act act;
};

struct peer_script {
	const struct peer_rule *rules;
	size_t n_rules;
	uint32_t always_flip_addr; /* every read of this block garbled; 0 = none */
};

static uint8_t peer_flash[PEER_FLASH_SIZE];

static void peer_send(int fd, uint8_t op, uint32_t value, const uint8_t *payload, size_t plen,
		      uint8_t status, uint8_t error, bool flip)
{
	buf_t pkt = BUF_INIT, wire = BUF_INIT;
	rom_proto_encode_response(&pkt, op, value, payload, plen, status, error);
	if (flip && plen)
		pkt.data[8 + plen / 2] ^= 0x10; /* inside the payload, after the 8-byte header */
	slip_encode_frame(&wire, pkt.data, pkt.len);
	if (write(fd, wire.data, wire.len) != (ssize_t)wire.len)
		_exit(3);
	buf_free_data(&pkt);
	buf_free_data(&wire);
}

static void peer_answer(int fd, const struct peer_script *s, const struct rom_request *q, unsigned nth)
{
	enum peer_act act = (enum peer_act)-1;
	for (size_t i = 0; i < s->n_rules; i++)
		if (s->rules[i].op == q->op && s->rules[i].nth == nth)
			act = s->rules[i].act;
	if (act == PEER_DROP)
		return;
	if (act == PEER_LATE)
		usleep(3300 * 1000);
	if (act == PEER_CHECKSUM || act == PEER_FLASHERR) {
		peer_send(fd, q->op, 0, NULL, 0, 1, act == PEER_CHECKSUM ? ROM_ERR_CHECKSUM : 0x09, false);
		return;
	}
	uint32_t a0 = q->data_len >= 4 ? rom_proto_get_u32(q->data) : 0;
	uint32_t a1 = q->data_len >= 8 ? rom_proto_get_u32(q->data + 4) : 0;
	if (q->op == ROM_OP_READ_REG) {
		peer_send(fd, q->op, a0 ^ 0x5A5A5A5Au, NULL, 0, 0, 0, act == PEER_FLIP);
	} else if (q->op == ROM_OP_READ_FLASH_SLOW) {
		uint8_t d[64];
		memset(d, 0xFF, sizeof d);
		if (a0 >= PEER_BASE && a0 - PEER_BASE + a1 <= PEER_FLASH_SIZE && a1 <= 64)
			memcpy(d, peer_flash + (a0 - PEER_BASE), a1);
		bool flip = act == PEER_FLIP || (s->always_flip_addr && a0 == s->always_flip_addr);
		peer_send(fd, q->op, 0, d, act == PEER_SHORT ? 10 : 64, 0, 0, flip);
	} else if (q->op == ROM_OP_SPI_FLASH_MD5) {
		uint8_t md5[16];
		char hex[33];
		if (a0 < PEER_BASE || a0 - PEER_BASE + a1 > PEER_FLASH_SIZE) {
			peer_send(fd, q->op, 0, NULL, 0, 1, 0x09, false);
			return;
		}
		mbedtls_md5_ret(peer_flash + (a0 - PEER_BASE), a1, md5);
		hex_encode_bytes(md5, 16, hex);
		if (act == PEER_BADHEX)
			hex[7] = 'z';
		peer_send(fd, q->op, 0, (const uint8_t *)hex, 32, 0, 0, act == PEER_FLIP);
	} else {
		peer_send(fd, q->op, 0, NULL, 0, 1, ROM_ERR_BAD_MESSAGE, false);
	}
}

/* The peer: answers until the host closes its end. */
static void peer_serve(int fd, const struct peer_script *s)
{
	slip_decoder_t dec;
	slip_decoder_init(&dec, 0);
	unsigned count[256] = {0};
	uint8_t in[4096];
	ssize_t n;
	while ((n = read(fd, in, sizeof in)) > 0) {
		size_t pos = 0;
		while (pos < (size_t)n) {
			const uint8_t *f;
			size_t fl;
			pos += slip_decoder_feed(&dec, in + pos, (size_t)n - pos, &f, &fl);
			struct rom_request q;
			if (f && rom_proto_parse_request(f, fl, &q) == 0)
				peer_answer(fd, s, &q, count[q.op]++);
		}
	}
	_exit(0);
}

struct peer {
	pid_t pid;
	loader_t l;
};

static void peer_start(struct peer *p, const struct peer_script *s)
{
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	fflush(stdout);
	p->pid = fork();
	assert_true(p->pid >= 0);
	if (p->pid == 0) {
		close(sv[0]);
		peer_serve(sv[1], s);
	}
	close(sv[1]);
	memset(&p->l, 0, sizeof p->l);
	p->l.t = transport_wrap_fd(sv[0], TRANSPORT_TCP, "peer");
	rom_conn_init(&p->l.conn, p->l.t);
	p->l.info.flash_size = 4u << 20;
}

static void peer_stop(struct peer *p)
{
	rom_conn_free(&p->l.conn);
	transport_close(p->l.t);
	int st;
	assert_int_equal(waitpid(p->pid, &st, 0), p->pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

static int setup_flash(void **state)
{
	(void)state;
	assert_int_equal(rng_fill_bytes(peer_flash, sizeof peer_flash), 0);
	return 0;
}

/* Reads len bytes at PEER_BASE + off through the scripted peer; returns flasher_read's result. */
static int peer_read(const struct peer_script *s, uint32_t off, size_t len, buf_t *out,
		     unsigned long *commands, err_t *e)
{
	struct peer p;
	peer_start(&p, s);
	out->len = 0;
	int rc = flasher_read(&p.l, PEER_BASE + off, len, out, NULL, NULL, e);
	*commands = p.l.conn.commands;
	peer_stop(&p);
	return rc;
}

/* Commands a clean read of len bytes takes: one per 64-byte block, one MD5 per 4 KiB. */
static unsigned long clean_commands(size_t len)
{
	return (len + 63) / 64 + (len + 4095) / 4096;
}

static void test_clean_read(void **state)
{
	(void)state;
	struct peer_script s = {0};
	buf_t b = BUF_INIT;
	err_t e = {0};
	unsigned long cmds;
	assert_int_equal(peer_read(&s, 0x100, 0x2345, &b, &cmds, &e), 0);
	testutil_assert_bytes_equal("read-back", b.data, b.len, peer_flash + 0x100, 0x2345);
	assert_int_equal(cmds, clean_commands(0x2345));
	buf_free_data(&b);
}

/* Bit errors in read data reach the host as different bytes; the MD5 check finds and re-reads
 * exactly those blocks. Also a garbled MD5 reply (bit error, non-hex) and a short read reply. */
static void test_garbled_replies_absorbed(void **state)
{
	(void)state;
	static const struct peer_rule rules[] = {
		{ROM_OP_READ_FLASH_SLOW, 5, PEER_FLIP},
		{ROM_OP_READ_FLASH_SLOW, 70, PEER_FLIP},
		{ROM_OP_READ_FLASH_SLOW, 71, PEER_FLIP},
		{ROM_OP_READ_FLASH_SLOW, 130, PEER_SHORT},
		{ROM_OP_SPI_FLASH_MD5, 0, PEER_FLIP},
		{ROM_OP_SPI_FLASH_MD5, 1, PEER_BADHEX},
		{ROM_OP_READ_FLASH_SLOW, 140, PEER_CHECKSUM},
	};
	struct peer_script s = {rules, sizeof rules / sizeof rules[0], 0};
	buf_t b = BUF_INIT;
	err_t e = {0};
	unsigned long cmds;
	const size_t len = 3 * 4096;
	if (peer_read(&s, 0, len, &b, &cmds, &e))
		fail_msg("read failed: %s", e.msg);
	testutil_assert_bytes_equal("read-back", b.data, b.len, peer_flash, len);
	/* retries happened, but the garbled blocks were re-read alone, not whole segments: a
	 * bisection costs ~2 MD5s per level (6 levels for 64 blocks) plus one read per block */
	assert_true(cmds > clean_commands(len));
	assert_true(cmds < clean_commands(len) + 60);
	buf_free_data(&b);
}

/* A dropped reply (timeout) is asked for again. */
static void test_dropped_reply(void **state)
{
	(void)state;
	static const struct peer_rule rules[] = {{ROM_OP_READ_FLASH_SLOW, 9, PEER_DROP}};
	struct peer_script s = {rules, 1, 0};
	buf_t b = BUF_INIT;
	err_t e = {0};
	unsigned long cmds;
	if (peer_read(&s, 0x40, 2048, &b, &cmds, &e))
		fail_msg("read failed: %s", e.msg);
	testutil_assert_bytes_equal("read-back", b.data, b.len, peer_flash + 0x40, 2048);
	assert_int_equal(cmds, clean_commands(2048) + 1);
	buf_free_data(&b);
}

/* A reply that comes late arrives after the host asked again; the second answer must not be
 * taken as the answer to the next command (a register read would return the previous value). */
static void test_late_reply_does_not_shift(void **state)
{
	(void)state;
	static const struct peer_rule rules[] = {{ROM_OP_READ_REG, 1, PEER_LATE}};
	struct peer_script s = {rules, 1, 0};
	struct peer p;
	peer_start(&p, &s);
	err_t e = {0};
	for (uint32_t a = 0x60008000; a < 0x60008000 + 6 * 4; a += 4) {
		uint32_t v = 0;
		if (rom_cmd_read_reg(&p.l.conn, a, &v, &e))
			fail_msg("READ_REG 0x%08x: %s", a, e.msg);
		assert_int_equal(v, a ^ 0x5A5A5A5Au);
	}
	assert_int_equal(p.l.conn.retries, 1);
	peer_stop(&p);
}

/* A block that comes over garbled every time: an error naming the address, after a bounded
 * number of re-reads, never bytes that differ from the flash. */
static void test_persistent_noise_fails_bounded(void **state)
{
	(void)state;
	struct peer_script s = {NULL, 0, PEER_BASE + 0x1C0};
	buf_t b = BUF_INIT;
	err_t e = {0};
	unsigned long cmds;
	assert_int_equal(peer_read(&s, 0, 4096, &b, &cmds, &e), -1);
	assert_int_equal(e.code, ERR_DEVICE);
	assert_non_null(strstr(e.msg, "0x81c0"));
	assert_non_null(strstr(e.msg, "MD5"));
	assert_true(cmds < clean_commands(4096) + 30);
	buf_free_data(&b);
}

/* The ROM reporting a flash read error is the chip's answer, not line noise: no retry. */
static void test_flash_error_not_retried(void **state)
{
	(void)state;
	static const struct peer_rule rules[] = {{ROM_OP_READ_FLASH_SLOW, 3, PEER_FLASHERR}};
	struct peer_script s = {rules, 1, 0};
	buf_t b = BUF_INIT;
	err_t e = {0};
	unsigned long cmds;
	assert_int_equal(peer_read(&s, 0, 1024, &b, &cmds, &e), -1);
	assert_non_null(strstr(e.msg, "0x80c0"));
	assert_int_equal(cmds, 4);
	buf_free_data(&b);
}

/* ---- espfab run against espfab-sim ---- */

struct sim_case {
	char *dir, *profile;
};

static int run_espfab(const char *dir, const char *profile, int port, buf_t *out, buf_t *err)
{
	char portarg[64];
	snprintf(portarg, sizeof portarg, "socket://127.0.0.1:%d", port);
	char *outdir = testutil_join_path(dir, "out");
	char *argv[] = {"espfab", "run", "--profile", (char *)profile, "--port", portarg, "--out", outdir,
			"--json", "--yes", NULL};
	int rc = testutil_run_espfab(dir, argv, out, err);
	free(outdir);
	return rc;
}

static size_t count_in_file(const char *path, const char *needle)
{
	buf_t b = BUF_INIT;
	testutil_read_file(path, &b);
	size_t n = 0;
	for (const uint8_t *p = b.data, *end = b.data + b.len;
	     (p = memmem(p, (size_t)(end - p), needle, strlen(needle))); p++)
		n++;
	buf_free_data(&b);
	return n;
}

/* The frames=N-M of the middle READ_FLASH_SLOW in a simulator log. */
static unsigned long long middle_read_frame(const char *log)
{
	buf_t b = BUF_INIT;
	testutil_read_file(log, &b);
	buf_terminate_str(&b);
	unsigned long long frames[4096];
	size_t n = 0;
	for (const char *p = (const char *)b.data; (p = strstr(p, "READ_FLASH_SLOW ")) && n < 4096; p++) {
		const char *f = strstr(p, "frames=");
		const char *nl = strchr(p, '\n');
		if (f && (!nl || f < nl))
			frames[n++] = strtoull(f + 7, NULL, 10);
	}
	buf_free_data(&b);
	assert_true(n > 64);
	return frames[n / 2];
}

static void test_run_absorbs_verify_noise(void **state)
{
	(void)state;
	if (!getenv("ESPFAB_SIM_BIN") || !testutil_source_dir())
		skip();
	char *dir = testutil_make_tmpdir();
	testpki_write_material(dir);
	char text[1024];
	char *table = testutil_join_path(testutil_source_dir(), "assets/partitions/h2-light.csv");
	snprintf(text, sizeof text,
		 "[product]\nvendor_id = 0xFFF1\nproduct_id = 0x8000\nvendor_name = Noise Vendor\n"
		 "product_name = Noise Light\nchips = esp32h2\n"
		 "[attestation]\npai_cert = pai_cert.pem\npai_key = pai_key.pem\ncd = cd.der\n"
		 "[partitions]\ntable = %s\n[security]\nmode = development\n[device]\nserial = RB-{seq:03}\n",
		 table);
	free(table);
	char *profile = testutil_join_path(dir, "profile.ini");
	testutil_write_file(profile, text, strlen(text));
	char *log = testutil_join_path(dir, "sim.log");
	char *outdir = testutil_join_path(dir, "out");

	/* a clean run finds the read-back frames */
	struct simrun s = {0};
	const char *clean[] = {"--no-throttle", "--log", log, NULL};
	simrun_start(&s, dir, "esp32h2", clean);
	buf_t out = BUF_INIT, err = BUF_INIT;
	int rc = run_espfab(dir, profile, s.port, &out, &err);
	if (rc != 0)
		fail_msg("clean run: exit %d: %s", rc, buf_terminate_str(&err));
	simrun_stop(&s);
	unsigned long long mid = middle_read_frame(log);
	size_t clean_reads = count_in_file(log, "READ_FLASH_SLOW ");

	static const char *const kinds[] = {"corrupt", "drop"};
	for (size_t k = 0; k < 2; k++) {
		unlink(s.flash);
		unlink(s.efuse);
		unlink(log);
		testutil_remove_tree(outdir);
		char fault[64];
		snprintf(fault, sizeof fault, "%s:%llu", kinds[k], mid);
		const char *extra[] = {"--no-throttle", "--log", log, "--fault", fault, NULL};
		simrun_start(&s, dir, "esp32h2", extra);
		out.len = err.len = 0;
		rc = run_espfab(dir, profile, s.port, &out, &err);
		simrun_stop(&s);
		assert_int_equal(count_in_file(log, "fault "), 1);
		if (rc != 0)
			fail_msg("--fault %s in the read-back: exit %d: %s", fault, rc, buf_terminate_str(&err));
		const char *o = buf_terminate_str(&out);
		assert_non_null(strstr(o, "\"step\":\"verify-flash\",\"state\":\"done\""));
		assert_non_null(strstr(o, "\"result\":\"ok\""));
		/* absorbed by reading the garbled block again, not by luck */
		assert_true(count_in_file(log, "READ_FLASH_SLOW ") > clean_reads);
	}
	buf_free_data(&out);
	buf_free_data(&err);
	simrun_free(&s);
	testutil_remove_tree(dir);
	free(dir);
	free(profile);
	free(log);
	free(outdir);
}

static int teardown_sim(void **state)
{
	(void)state;
	simrun_kill_leftover();
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_clean_read),
		cmocka_unit_test(test_garbled_replies_absorbed),
		cmocka_unit_test(test_dropped_reply),
		cmocka_unit_test(test_late_reply_does_not_shift),
		cmocka_unit_test(test_persistent_noise_fails_bounded),
		cmocka_unit_test(test_flash_error_not_retried),
		cmocka_unit_test_teardown(test_run_absorbs_verify_noise, teardown_sim),
	};
	return cmocka_run_group_tests(tests, setup_flash, NULL);
}
