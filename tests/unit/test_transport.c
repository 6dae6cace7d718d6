/* Unit tests of src/link transports and the ROM command session over them: a socketpair, a
 * pty (opened by path as a user would), socket://HOST:PORT, and rom_cmd_* reply matching with
 * noise, stale frames, rejects and timeouts fed from the peer end. */
#include "testutil.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pty.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "link/port_list.h"
#include "link/slip.h"
#include "link/transport.h"
#include "loader/rom_conn.h"

static void test_socketpair_read_write_timeout(void **state)
{
	(void)state;
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	transport_t *t = transport_wrap_fd(sv[0], TRANSPORT_TCP, "pair");
	err_t e = {0};
	uint8_t buf[16];
	uint64_t t0 = transport_now_ms();
	assert_int_equal(transport_read(t, buf, sizeof buf, 50, &e), 0); /* timeout */
	assert_true(transport_now_ms() - t0 >= 45);
	assert_int_equal(transport_write(t, (const uint8_t *)"hello", 5, 1000, &e), 0);
	char got[8] = {0};
	assert_int_equal(read(sv[1], got, sizeof got), 5);
	assert_string_equal(got, "hello");
	assert_int_equal(write(sv[1], "abc", 3), 3);
	assert_int_equal(transport_read(t, buf, sizeof buf, 1000, &e), 3);
	assert_memory_equal(buf, "abc", 3);
	assert_int_equal(transport_set_lines(t, 1, 0, &e), 0); /* no lines: no-op */
	assert_int_equal(transport_set_baud(t, 921600, &e), 0);
	assert_int_equal(t->baud, 921600);
	/* flush drains pending input */
	assert_int_equal(write(sv[1], "zzz", 3), 3);
	transport_sleep_ms(10);
	assert_int_equal(transport_flush_input(t, &e), 0);
	assert_int_equal(transport_read(t, buf, sizeof buf, 20, &e), 0);
	/* peer gone: read reports the disconnect */
	close(sv[1]);
	assert_int_equal(transport_read(t, buf, sizeof buf, 1000, &e), -1);
	assert_non_null(strstr(e.msg, "closed"));
	assert_int_equal(t->bytes_written, 5);
	transport_close(t);
}

static void test_pty_by_path(void **state)
{
	(void)state;
	int master, slave;
	char name[256];
	assert_int_equal(openpty(&master, &slave, name, NULL, NULL), 0);
	transport_t *t = NULL;
	err_t e = {0};
	assert_int_equal(transport_open(name, 115200, &t, &e), 0);
	assert_int_equal(t->kind, TRANSPORT_PTY);
	assert_false(t->has_lines);
	assert_int_equal(write(master, "\xc0\x01\xc0", 3), 3);
	uint8_t buf[8];
	long n = transport_read(t, buf, sizeof buf, 1000, &e);
	assert_int_equal(n, 3);
	assert_int_equal(buf[1], 1);
	assert_int_equal(transport_write(t, (const uint8_t *)"\xc0\xdb\xdc", 3, 1000, &e), 0);
	uint8_t got[3];
	assert_int_equal(read(master, got, 3), 3);
	assert_memory_equal(got, "\xc0\xdb\xdc", 3); /* raw mode: bytes untouched */
	assert_int_equal(transport_set_lines(t, 1, 1, &e), 0);
	assert_int_equal(transport_set_baud(t, 460800, &e), 0);
	transport_close(t);
	close(master);
	close(slave);
}

static void test_socket_url(void **state)
{
	(void)state;
	int ls = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {0};
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(ls, (struct sockaddr *)&a, sizeof a), 0);
	assert_int_equal(listen(ls, 1), 0);
	socklen_t al = sizeof a;
	getsockname(ls, (struct sockaddr *)&a, &al);
	char url[64];
	snprintf(url, sizeof url, "socket://127.0.0.1:%u", ntohs(a.sin_port));
	transport_t *t = NULL;
	err_t e = {0};
	assert_int_equal(transport_open(url, 0, &t, &e), 0);
	assert_int_equal(t->kind, TRANSPORT_TCP);
	assert_string_equal(t->name, url);
	int c = accept(ls, NULL, NULL);
	assert_true(c >= 0);
	assert_int_equal(transport_write(t, (const uint8_t *)"x", 1, 1000, &e), 0);
	char ch;
	assert_int_equal(read(c, &ch, 1), 1);
	transport_close(t);
	close(c);
	close(ls);
	/* malformed specs and refused connections */
	assert_int_equal(transport_open("socket://nohostport", 0, &t, &e), -1);
	assert_int_equal(e.code, ERR_USAGE);
	assert_int_equal(transport_open("socket://127.0.0.1:1", 0, &t, &e), -1);
	assert_int_equal(e.code, ERR_DEVICE);
	assert_int_equal(transport_open("/dev/does-not-exist-espfab", 0, &t, &e), -1);
	assert_int_equal(e.code, ERR_DEVICE);
}

/* Queues an encoded ROM response on the peer end. */
static void peer_send_response(int fd, uint8_t op, uint32_t value, const uint8_t *payload,
			       size_t plen, uint8_t status, uint8_t error)
{
	buf_t pkt = BUF_INIT, wire = BUF_INIT;
	rom_proto_encode_response(&pkt, op, value, payload, plen, status, error);
	slip_encode_frame(&wire, pkt.data, pkt.len);
	assert_int_equal(write(fd, wire.data, wire.len), (ssize_t)wire.len);
	buf_free_data(&pkt);
	buf_free_data(&wire);
}

static void test_rom_reply_matching(void **state)
{
	(void)state;
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	transport_t *t = transport_wrap_fd(sv[0], TRANSPORT_TCP, "pair");
	rom_conn_t c;
	rom_conn_init(&c, t);
	err_t e = {0};
	/* boot noise, a stale SYNC echo, a corrupted frame, then the real READ_REG answer */
	assert_int_equal(write(sv[1], "rst:0x1 (POWERON)\r\n", 19), 19);
	peer_send_response(sv[1], ROM_OP_SYNC, 0x12345678, NULL, 0, 0, 0);
	assert_int_equal(write(sv[1], "\xc0\x01\x0a\x09\xc0", 5), 5); /* length field lies */
	peer_send_response(sv[1], ROM_OP_READ_REG, 0xDEADBEEF, NULL, 0, 0, 0);
	uint32_t v = 0;
	assert_int_equal(rom_cmd_read_reg(&c, 0x40001000, &v, &e), 0);
	assert_int_equal(v, 0xDEADBEEF);
	assert_true(c.frames_skipped >= 2);
	/* the request went out SLIP-framed with the address */
	uint8_t req[64];
	ssize_t rn = read(sv[1], req, sizeof req);
	assert_true(rn >= 14);
	assert_int_equal(req[0], 0xC0);
	assert_int_equal(req[2], ROM_OP_READ_REG);
	/* status error: message names the command and the cause */
	peer_send_response(sv[1], ROM_OP_SPI_ATTACH, 0, NULL, 0, 1, ROM_ERR_INVALID_PARAM);
	assert_int_equal(rom_cmd_spi_attach(&c, 0, &e), -1);
	assert_int_equal(c.last_fail, ROM_FAIL_STATUS);
	assert_non_null(strstr(e.msg, "SPI_ATTACH"));
	assert_non_null(strstr(e.msg, "parameter"));
	assert_int_equal(read(sv[1], req, sizeof req) > 0, 1);
	/* unknown command: reject burst with another opcode */
	for (int i = 0; i < 3; i++)
		peer_send_response(sv[1], 0x00, 0, NULL, 0, 1, ROM_ERR_BAD_MESSAGE);
	struct rom_security_info si;
	assert_int_equal(rom_cmd_get_security_info(&c, &si, &e), -1);
	assert_int_equal(c.last_fail, ROM_FAIL_UNSUPPORTED);
	/* security info with a 20-byte payload */
	uint8_t p20[20] = {0};
	p20[12] = 13;
	peer_send_response(sv[1], ROM_OP_GET_SECURITY_INFO, 0, p20, 20, 0, 0);
	assert_int_equal(rom_cmd_get_security_info(&c, &si, &e), 0);
	assert_int_equal(si.chip_id, 13);
	/* MD5 as 32 hex chars */
	peer_send_response(sv[1], ROM_OP_SPI_FLASH_MD5, 0,
			   (const uint8_t *)"d41d8cd98f00b204e9800998ecf8427e", 32, 0, 0);
	uint8_t md5[16];
	assert_int_equal(rom_cmd_flash_md5(&c, 0, 0, md5, &e), 0);
	assert_int_equal(md5[0], 0xd4);
	assert_int_equal(md5[15], 0x7e);
	/* no answer at all: SYNC times out quickly */
	uint64_t t0 = transport_now_ms();
	assert_int_equal(rom_cmd_sync(&c, &e), -1);
	assert_int_equal(c.last_fail, ROM_FAIL_TIMEOUT);
	assert_true(transport_now_ms() - t0 < 1000);
	/* cancellation is honoured at the next wait */
	atomic_int cancel = 1;
	c.cancel = &cancel;
	assert_int_equal(rom_cmd_read_reg(&c, 0, &v, &e), -1);
	assert_int_equal(c.last_fail, ROM_FAIL_CANCELLED);
	rom_conn_free(&c);
	transport_close(t);
	close(sv[1]);
}

/* A transport with modem lines that records every change and plays a boot log once. */
struct fake_line_transport {
	transport_t base;
	int log[64][2];
	int n;
	const char *bootlog;
	bool sent;
};

static int fl_write(transport_t *t, const uint8_t *d, size_t n, unsigned to, err_t *e)
{
	(void)t, (void)d, (void)n, (void)to, (void)e;
	return 0;
}

static long fl_read(transport_t *t, uint8_t *buf, size_t len, unsigned to, err_t *e)
{
	struct fake_line_transport *f = (struct fake_line_transport *)t;
	(void)e;
	if (f->bootlog && !f->sent && f->n > 0) {
		f->sent = true;
		size_t n = strlen(f->bootlog) < len ? strlen(f->bootlog) : len;
		memcpy(buf, f->bootlog, n);
		return (long)n;
	}
	transport_sleep_ms(to);
	return 0;
}

static int fl_baud(transport_t *t, unsigned b, err_t *e)
{
	(void)t, (void)b, (void)e;
	return 0;
}

static int fl_lines(transport_t *t, int dtr, int rts, err_t *e)
{
	struct fake_line_transport *f = (struct fake_line_transport *)t;
	(void)e;
	if (f->n < 64) {
		f->log[f->n][0] = dtr;
		f->log[f->n][1] = rts;
		f->n++;
	}
	return 0;
}

static int fl_flush(transport_t *t, err_t *e)
{
	(void)t, (void)e;
	return 0;
}

static void fl_close(transport_t *t)
{
	(void)t;
}

static const struct transport_ops fl_ops = {fl_write, fl_read, fl_baud, fl_lines, fl_flush, fl_close};

static void test_reset_sequences(void **state)
{
	(void)state;
	struct fake_line_transport f = {0};
	f.base.ops = &fl_ops;
	f.base.name = "fake";
	f.base.has_lines = true;
	f.bootlog = "rst:0x1 (POWERON_RESET),boot:0x13 (SPI_FAST_FLASH_BOOT)\r\n";
	rom_conn_t c;
	rom_conn_init(&c, &f.base);
	err_t e = {0};
	assert_int_equal(rom_connect(&c, ROM_RESET_DEFAULT, 1, &e), -1);
	/* rom-protocol.md §8 tight reset: (0,0) (1,1) (0,1) … (1,0) … (0,0), then DTR=0 */
	const int want[6][2] = {{0, 0}, {1, 1}, {0, 1}, {1, 0}, {0, 0}, {0, -1}};
	assert_int_equal(f.n, 6);
	for (int i = 0; i < 6; i++) {
		assert_int_equal(f.log[i][0], want[i][0]);
		assert_int_equal(f.log[i][1], want[i][1]);
	}
	/* the boot log shows a normal boot: the message points at the strap pin */
	assert_non_null(strstr(e.msg, "booted normally"));
	rom_conn_free(&c);

	/* USB-Serial-JTAG adapter: its own sequence */
	memset(f.log, 0, sizeof f.log);
	f.n = 0;
	f.sent = false;
	f.bootlog = "ESP-ROM:esp32c3\r\nwaiting for download\r\n";
	f.base.usb_vid = 0x303A;
	f.base.usb_pid = 0x1001;
	rom_conn_init(&c, &f.base);
	assert_int_equal(rom_connect(&c, ROM_RESET_DEFAULT, 1, &e), -1);
	const int usj[5][2] = {{0, 0}, {1, 0}, {0, 1}, {-1, 1}, {0, 0}};
	assert_int_equal(f.n, 5);
	for (int i = 0; i < 5; i++) {
		assert_int_equal(f.log[i][0], usj[i][0]);
		assert_int_equal(f.log[i][1], usj[i][1]);
	}
	assert_non_null(strstr(e.msg, "download mode but does not answer"));
	rom_conn_free(&c);

	/* no-reset: lines untouched */
	f.n = 0;
	rom_conn_init(&c, &f.base);
	assert_int_equal(rom_connect(&c, ROM_RESET_NONE, 1, &e), -1);
	assert_int_equal(f.n, 0);
	rom_conn_free(&c);
}

static void test_adapter_names(void **state)
{
	(void)state;
	assert_string_equal(port_list_adapter_name(0x10C4, 0xEA60), "CP210x");
	assert_string_equal(port_list_adapter_name(0x1A86, 0x7523), "CH340");
	assert_string_equal(port_list_adapter_name(0x1A86, 0x55D3), "CH343");
	assert_string_equal(port_list_adapter_name(0x0403, 0x6001), "FTDI");
	assert_string_equal(port_list_adapter_name(0x0403, 0x6015), "FTDI");
	assert_string_equal(port_list_adapter_name(0x303A, 0x1001), "USB-Serial-JTAG");
	assert_null(port_list_adapter_name(0x1234, 0x5678));
	/* enumeration works on a host without serial ports too */
	struct port_info *ports = NULL;
	size_t n = 99;
	err_t e = {0};
	assert_int_equal(port_list_enumerate(&ports, &n, &e), 0);
	assert_true(n < 99);
	free(ports);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_socketpair_read_write_timeout),
		cmocka_unit_test(test_pty_by_path),
		cmocka_unit_test(test_socket_url),
		cmocka_unit_test(test_rom_reply_matching),
		cmocka_unit_test(test_adapter_names),
		cmocka_unit_test(test_reset_sequences),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
