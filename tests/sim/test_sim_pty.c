/* espfab-sim on a pseudo-terminal: the announced device works as a raw serial line (SYNC,
 * READ_REG), SIGUSR1 resets the chip into the loader with its boot log, a disconnect fault
 * re-creates the terminal under a new name (as a USB bridge re-enumerates), SIGTERM exits 0. */
#include "testutil.h"
#include "simspawn.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "link/slip.h"
#include "loader/chip.h"
#include "loader/rom_proto.h"

struct ptysim {
	pid_t pid;
	int out_fd;
	int fd;
	slip_decoder_t dec;
};

static void open_announced(struct ptysim *s)
{
	char line[128], path[100];
	simspawn_read_line(s->out_fd, line, sizeof(line));
	if (sscanf(line, "pty %99s", path) != 1)
		fail_msg("espfab-sim printed '%s', not 'pty PATH'", line);
	s->fd = open(path, O_RDWR | O_NOCTTY);
	assert_true(s->fd >= 0);
	struct termios t;
	assert_int_equal(tcgetattr(s->fd, &t), 0);
	cfmakeraw(&t);
	assert_int_equal(tcsetattr(s->fd, TCSANOW, &t), 0);
	slip_decoder_reset(&s->dec);
}

static void start(struct ptysim *s, const char *const *extra)
{
	const char *bin = testutil_sim_bin();
	if (!bin)
		skip();
	const char *argv[16] = {bin, "--chip", "esp32h2", "--pty", "--no-throttle", "--log", "/dev/null"};
	int n = 7;
	for (int i = 0; extra && extra[i]; i++)
		argv[n++] = extra[i];
	argv[n] = NULL;
	s->pid = simspawn_start_child(argv, &s->out_fd);
	slip_decoder_init(&s->dec, 0);
	open_announced(s);
}

static int stop(struct ptysim *s)
{
	close(s->fd);
	kill(s->pid, SIGTERM);
	int st = 0;
	waitpid(s->pid, &st, 0);
	close(s->out_fd);
	slip_decoder_free(&s->dec);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void send_cmd(struct ptysim *s, uint8_t op, const uint8_t *d, size_t n)
{
	buf_t pkt = BUF_INIT, wire = BUF_INIT;
	rom_proto_encode_request(&pkt, op, d, n, 0);
	slip_encode_frame(&wire, pkt.data, pkt.len);
	assert_int_equal(write(s->fd, wire.data, wire.len), (ssize_t)wire.len);
	buf_free_data(&pkt);
	buf_free_data(&wire);
}

/* Counts reply frames with this op until quiet_ms of silence (the first reply may take up to
 * first_ms); -1 when the line hung up. */
static int count_replies(struct ptysim *s, uint8_t op, int first_ms, int quiet_ms, uint32_t *value)
{
	int n = 0;
	for (;;) {
		struct pollfd p = {s->fd, POLLIN, 0};
		if (poll(&p, 1, n ? quiet_ms : first_ms) <= 0)
			return n;
		uint8_t buf[256];
		ssize_t r = read(s->fd, buf, sizeof(buf));
		if (r <= 0)
			return -1;
		size_t off = 0;
		while (off < (size_t)r) {
			const uint8_t *f;
			size_t fl;
			off += slip_decoder_feed(&s->dec, buf + off, (size_t)r - off, &f, &fl);
			struct rom_response resp;
			if (f && rom_proto_parse_response(f, fl, ROM_STATUS_LEN_ROM, &resp) == 0 &&
			    resp.op == op && resp.status == 0) {
				n++;
				if (value)
					*value = resp.value;
			}
		}
	}
}

static void sync_chip(struct ptysim *s)
{
	buf_t b = BUF_INIT;
	rom_proto_build_sync(&b);
	send_cmd(s, ROM_OP_SYNC, b.data, b.len);
	buf_free_data(&b);
	assert_int_equal(count_replies(s, ROM_OP_SYNC, 3000, 150, NULL), 8);
}

static uint32_t read_magic(struct ptysim *s, int *replies, int first_ms)
{
	uint8_t d[4];
	rom_proto_put_u32(d, CHIP_MAGIC_REG);
	send_cmd(s, ROM_OP_READ_REG, d, 4);
	uint32_t v = 0;
	*replies = count_replies(s, ROM_OP_READ_REG, first_ms, 150, &v);
	return v;
}

static void test_pty_line_and_reset(void **state)
{
	(void)state;
	struct ptysim s;
	start(&s, NULL);
	sync_chip(&s);
	int n;
	assert_int_equal(read_magic(&s, &n, 3000), chip_find_by_name("esp32h2")->magic[0]);
	assert_int_equal(n, 1);
	/* The reset button: boot log, then the loader wants a new SYNC. */
	kill(s.pid, SIGUSR1);
	assert_int_equal(count_replies(&s, ROM_OP_READ_REG, 300, 300, NULL), 0); /* takes the boot log in */
	read_magic(&s, &n, 300);
	assert_int_equal(n, 0);
	char noise[SLIP_NOISE_KEEP + 1];
	slip_decoder_noise_text(&s.dec, noise, sizeof(noise));
	assert_non_null(strstr(noise, "ESP-ROM:esp32h2"));
	assert_non_null(strstr(noise, "waiting for download"));
	sync_chip(&s);
	assert_int_equal(read_magic(&s, &n, 3000), chip_find_by_name("esp32h2")->magic[0]);
	assert_int_equal(stop(&s), 0);
}

static void test_pty_disconnect_fault(void **state)
{
	(void)state;
	const char *extra[] = {"--fault", "disconnect-after:50", NULL};
	struct ptysim s;
	start(&s, extra);
	sync_chip(&s); /* 46 bytes */
	int n;
	read_magic(&s, &n, 3000); /* crosses 50: the line goes away */
	assert_int_equal(n, -1);
	close(s.fd);
	open_announced(&s); /* a new terminal is announced */
	sync_chip(&s);
	assert_int_equal(read_magic(&s, &n, 3000), chip_find_by_name("esp32h2")->magic[0]);
	assert_int_equal(stop(&s), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pty_line_and_reset),
		cmocka_unit_test(test_pty_disconnect_fault),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
