/* Unit tests of the connect fast paths of the device link, fed from the peer end of a
 * socketpair: no reset sequence where the medium has no reset lines, the SYNC echo drain
 * ending once the ROM's seven repeats are in (not after a quiet timeout that would also
 * swallow the next reply), several register writes in one WRITE_REG, and no 50 ms settling
 * pause after a baud change on a medium that carries bytes rather than UART symbols. */
#include "testutil.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/checksum.h"
#include "link/slip.h"
#include "link/transport.h"
#include "loader/rom_conn.h"

static void peer_send_response(int fd, uint8_t op, uint32_t value, int status)
{
	buf_t pkt = BUF_INIT, wire = BUF_INIT;
	rom_proto_encode_response(&pkt, op, value, NULL, 0, (uint8_t)status, 0);
	slip_encode_frame(&wire, pkt.data, pkt.len);
	assert_int_equal(write(fd, wire.data, wire.len), (ssize_t)wire.len);
	buf_free_data(&pkt);
	buf_free_data(&wire);
}

static void pair_open(int sv[2], transport_t **t, rom_conn_t *c)
{
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	*t = transport_wrap_fd(sv[0], TRANSPORT_TCP, "pair");
	rom_conn_init(c, *t);
}

static void pair_close(int sv[2], transport_t *t, rom_conn_t *c)
{
	rom_conn_free(c);
	transport_close(t);
	close(sv[1]);
}

/* The peer's view of what the host sent: every SLIP frame, concatenated with a length byte. */
static size_t peer_read_frames(int fd, uint8_t ops[8], size_t lens[8], buf_t *payloads)
{
	uint8_t raw[4096];
	ssize_t n = read(fd, raw, sizeof raw);
	assert_true(n > 0);
	slip_decoder_t d;
	slip_decoder_init(&d, SLIP_DEFAULT_MAX_FRAME);
	size_t off = 0, k = 0;
	while (off < (size_t)n && k < 8) {
		const uint8_t *f;
		size_t fl;
		off += slip_decoder_feed(&d, raw + off, (size_t)n - off, &f, &fl);
		if (!f)
			continue;
		assert_true(fl >= 8);
		ops[k] = f[1];
		lens[k] = (size_t)(f[2] | f[3] << 8);
		if (k == 0)
			buf_append_bytes(payloads, f + 8, fl - 8);
		k++;
	}
	slip_decoder_free(&d);
	return k;
}

/* A ROM on the peer end that answers the first request (rom_connect flushes input before
 * its SYNC, so replies cannot be queued in advance) with the eight SYNC replies. */
static void *peer_answer_sync(void *arg)
{
	int fd = *(int *)arg;
	uint8_t raw[256];
	if (read(fd, raw, sizeof raw) > 0)
		for (int i = 0; i < 8; i++)
			peer_send_response(fd, ROM_OP_SYNC, 0x20120707, 0);
	return NULL;
}

static void test_no_reset_without_lines(void **state)
{
	(void)state;
	int sv[2];
	transport_t *t;
	rom_conn_t c;
	pair_open(sv, &t, &c);
	assert_false(t->has_lines);
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, peer_answer_sync, &sv[1]), 0);
	err_t e = {0};
	uint64_t t0 = transport_now_ms();
	/* default-reset asked for, but a socket has no DTR/RTS: straight to SYNC. Any reset
	 * strategy sleeps at least 150 ms (rom-protocol.md §8). */
	assert_int_equal(rom_connect(&c, ROM_RESET_DEFAULT, 1, &e), 0);
	assert_true(transport_now_ms() - t0 < 150);
	assert_int_equal(c.commands, 1);
	pthread_join(th, NULL);
	pair_close(sv, t, &c);
}

static void test_sync_drain_stops_after_echoes(void **state)
{
	(void)state;
	int sv[2];
	transport_t *t;
	rom_conn_t c;
	pair_open(sv, &t, &c);
	/* eight SYNC replies, then at once the reply to the next command: a drain that waits
	 * for a quiet line would swallow it, and the READ_REG would then time out */
	for (int i = 0; i < 8; i++)
		peer_send_response(sv[1], ROM_OP_SYNC, 0x20120707, 0);
	peer_send_response(sv[1], ROM_OP_READ_REG, 0x1B31506F, 0);
	err_t e = {0};
	assert_int_equal(rom_cmd_sync(&c, &e), 0);
	assert_int_equal(c.frames_skipped, 7);
	uint32_t v = 0;
	uint64_t t0 = transport_now_ms();
	assert_int_equal(rom_cmd_read_reg(&c, 0x40001000, &v, &e), 0);
	assert_int_equal(v, 0x1B31506F);
	assert_true(transport_now_ms() - t0 < 1000);
	pair_close(sv, t, &c);
}

static void test_sync_single_reply(void **state)
{
	(void)state;
	int sv[2];
	transport_t *t;
	rom_conn_t c;
	pair_open(sv, &t, &c);
	/* a loader that answers once (the stub): the drain ends on the quiet line */
	peer_send_response(sv[1], ROM_OP_SYNC, 0, 0);
	err_t e = {0};
	assert_int_equal(rom_cmd_sync(&c, &e), 0);
	assert_int_equal(c.frames_skipped, 0);
	pair_close(sv, t, &c);
}

static void test_write_regs_one_command(void **state)
{
	(void)state;
	int sv[2];
	transport_t *t;
	rom_conn_t c;
	pair_open(sv, &t, &c);
	peer_send_response(sv[1], ROM_OP_WRITE_REG, 0, 0);
	const struct rom_reg_write w[3] = {
		{0x60002024, 23, 0xFFFFFFFFu, 0},
		{0x60002018, 0x90000000u, 0xFFFFFFFFu, 0},
		{0x60002000, 1u << 18, 0xFFFFFFFFu, 5},
	};
	err_t e = {0};
	assert_int_equal(rom_cmd_write_regs(&c, w, 3, &e), 0);
	assert_int_equal(c.commands, 1);
	uint8_t ops[8];
	size_t lens[8];
	buf_t pl = BUF_INIT;
	assert_int_equal(peer_read_frames(sv[1], ops, lens, &pl), 1);
	assert_int_equal(ops[0], ROM_OP_WRITE_REG);
	/* rom-protocol.md §5.3: 16-byte groups addr, value, mask, delay_us, in order */
	assert_int_equal(lens[0], 48);
	assert_int_equal(pl.len, 48);
	for (int g = 0; g < 3; g++) {
		assert_int_equal(checksum_read_u32le(pl.data + 16 * g), w[g].addr);
		assert_int_equal(checksum_read_u32le(pl.data + 16 * g + 4), w[g].value);
		assert_int_equal(checksum_read_u32le(pl.data + 16 * g + 8), w[g].mask);
		assert_int_equal(checksum_read_u32le(pl.data + 16 * g + 12), w[g].delay_us);
	}
	buf_free_data(&pl);
	/* a failure names the range */
	peer_send_response(sv[1], ROM_OP_WRITE_REG, 0, 1);
	assert_int_equal(rom_cmd_write_regs(&c, w, 3, &e), -1);
	assert_non_null(strstr(e.msg, "0x60002024..0x60002000"));
	pair_close(sv, t, &c);
}

static void test_baud_change_without_symbol_line(void **state)
{
	(void)state;
	int sv[2];
	transport_t *t;
	rom_conn_t c;
	pair_open(sv, &t, &c);
	assert_false(transport_has_symbol_line(t));
	peer_send_response(sv[1], ROM_OP_CHANGE_BAUDRATE, 0, 0);
	err_t e = {0};
	uint64_t t0 = transport_now_ms();
	assert_int_equal(rom_cmd_change_baud(&c, 40, 921600, &e), 0);
	/* a UART waits 50 ms for the garbled line to settle; a socket has none */
	assert_true(transport_now_ms() - t0 < 40);
	assert_int_equal(t->baud, 921600);
	pair_close(sv, t, &c);
	/* a serial adapter keeps the pause */
	transport_t fake = {0};
	fake.kind = TRANSPORT_SERIAL;
	assert_true(transport_has_symbol_line(&fake));
	fake.kind = TRANSPORT_PTY;
	assert_false(transport_has_symbol_line(&fake));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_reset_without_lines),
		cmocka_unit_test(test_sync_drain_stops_after_echoes),
		cmocka_unit_test(test_sync_single_reply),
		cmocka_unit_test(test_write_regs_one_command),
		cmocka_unit_test(test_baud_change_without_symbol_line),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
