/* espfab-sim: a simulated ESP32-family chip sitting in its ROM serial download loader, served on a
 * pseudo-terminal or a TCP port, with persistent flash and eFuse state, UART pacing, realistic
 * flash timings and injected faults. See man/espfab-sim.1.
 *
 * Timing model (all off with --no-throttle):
 *   UART        10 bit times per byte at the rate in force, each direction (sim_uart)
 *   erase       45 ms per 4 KiB sector, 150 ms per aligned 64 KiB block (sim_flash)
 *   program     0.7 ms per 256-byte page touched (sim_flash)
 *   MD5         0.25 ms per KiB hashed (sim_flash)
 *   eFuse       4 ms per program command, 0.1 ms per shadow reload (sim_efuse)
 *   WRITE_REG   the delay_us of each group */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "core/err.h"
#include "link/slip.h"
#include "loader/chip.h"
#include "sim/sim_efuse.h"
#include "sim/sim_fault.h"
#include "sim/sim_flash.h"
#include "sim/sim_log.h"
#include "sim/sim_rom.h"
#include "sim/sim_uart.h"

#define SIM_DEFAULT_BAUD_LIMIT 921600u

static volatile sig_atomic_t sim_stop;
static volatile sig_atomic_t sim_reset_request;

static void sim_on_signal(int sig)
{
	if (sig == SIGUSR1)
		sim_reset_request = 1;
	else
		sim_stop = 1;
}

struct sim_opts {
	const char *chip;
	bool pty;
	int tcp_port; /* -1: not given */
	const char *flash_path, *efuse_path, *log_path;
	size_t flash_size;
	uint32_t baud_limit; /* 0: none */
	bool throttle;
	unsigned xtal_mhz;
	bool have_mac;
	uint8_t mac[6];
};

struct sim_server {
	struct sim_opts o;
	sim_flash_t flash;
	sim_efuse_t efuse;
	sim_rom_t rom;
	sim_uart_t uart;
	sim_faults_t faults;
	slip_decoder_t dec;
	struct sim_rom_out out;
	uint64_t rx_bytes;
	uint64_t tx_frames;
	bool answered_non_sync;
	bool garbled; /* UART rate beyond the bridge's limit: nothing gets through */
	int listen_fd;
	int fd;        /* connection (TCP) or pty master */
	int pty_slave; /* held open so the line stays up between host sessions */
};

static void sim_usage(FILE *f)
{
	fprintf(f, "usage: espfab-sim --chip CHIP (--pty | --tcp PORT) [--flash FILE] [--efuse FILE]\n"
		   "                  [--flash-size SIZE] [--baud-limit[=BAUD]] [--no-throttle]\n"
		   "                  [--fault SPEC]... [--log FILE] [--mac XX:XX:XX:XX:XX:XX] [--xtal 26|40]\n"
		   "chips: esp32 esp32s2 esp32s3 esp32c2 esp32c3 esp32c6 esp32h2\n"
		   "faults: drop:N corrupt:N disconnect-after:BYTES reset-after:BYTES stall:MS[@N]\n");
}

static int sim_parse_size(const char *s, size_t *out, err_t *e)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 0);
	if (errno || end == s)
		return err_set_msg(e, ERR_USAGE, "--flash-size %s: not a size", s);
	if (!strcasecmp(end, "MB") || !strcasecmp(end, "M"))
		v *= 1024 * 1024;
	else if (!strcasecmp(end, "KB") || !strcasecmp(end, "K"))
		v *= 1024;
	else if (*end)
		return err_set_msg(e, ERR_USAGE, "--flash-size %s: unknown unit '%s' (use KB or MB)", s, end);
	*out = (size_t)v;
	return 0;
}

static int sim_parse_u32(const char *opt, const char *s, uint32_t *out, err_t *e)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 0);
	if (errno || end == s || *end || v > 0xFFFFFFFFul)
		return err_set_msg(e, ERR_USAGE, "%s %s: not a number", opt, s);
	*out = (uint32_t)v;
	return 0;
}

static int sim_parse_mac(const char *s, uint8_t mac[6], err_t *e)
{
	unsigned v[6];
	char tail;
	if (sscanf(s, "%x:%x:%x:%x:%x:%x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &tail) != 6)
		return err_set_msg(e, ERR_USAGE, "--mac %s: expected XX:XX:XX:XX:XX:XX", s);
	for (int i = 0; i < 6; i++) {
		if (v[i] > 0xFF)
			return err_set_msg(e, ERR_USAGE, "--mac %s: byte %d out of range", s, i);
		mac[i] = (uint8_t)v[i];
	}
	return 0;
}

static int sim_parse_args(int argc, char **argv, struct sim_server *s, err_t *e)
{
	enum { O_CHIP = 256, O_PTY, O_TCP, O_FLASH, O_EFUSE, O_FLASH_SIZE, O_BAUD_LIMIT, O_NO_THROTTLE,
	       O_FAULT, O_LOG, O_MAC, O_XTAL, O_HELP };
	static const struct option longopts[] = {
		{"chip", required_argument, NULL, O_CHIP},
		{"pty", no_argument, NULL, O_PTY},
		{"tcp", required_argument, NULL, O_TCP},
		{"flash", required_argument, NULL, O_FLASH},
		{"efuse", required_argument, NULL, O_EFUSE},
		{"flash-size", required_argument, NULL, O_FLASH_SIZE},
		{"baud-limit", optional_argument, NULL, O_BAUD_LIMIT},
		{"no-throttle", no_argument, NULL, O_NO_THROTTLE},
		{"fault", required_argument, NULL, O_FAULT},
		{"log", required_argument, NULL, O_LOG},
		{"mac", required_argument, NULL, O_MAC},
		{"xtal", required_argument, NULL, O_XTAL},
		{"help", no_argument, NULL, O_HELP},
		{NULL, 0, NULL, 0},
	};
	struct sim_opts *o = &s->o;
	memset(o, 0, sizeof(*o));
	o->tcp_port = -1;
	o->throttle = true;
	int c;
	opterr = 0;
	while ((c = getopt_long_only(argc, argv, "", longopts, NULL)) != -1) {
		uint32_t v;
		switch (c) {
		case O_CHIP:
			o->chip = optarg;
			break;
		case O_PTY:
			o->pty = true;
			break;
		case O_TCP:
			if (sim_parse_u32("--tcp", optarg, &v, e))
				return -1;
			if (v > 65535)
				return err_set_msg(e, ERR_USAGE, "--tcp %s: port out of range", optarg);
			o->tcp_port = (int)v;
			break;
		case O_FLASH:
			o->flash_path = optarg;
			break;
		case O_EFUSE:
			o->efuse_path = optarg;
			break;
		case O_FLASH_SIZE:
			if (sim_parse_size(optarg, &o->flash_size, e))
				return -1;
			break;
		case O_BAUD_LIMIT:
			o->baud_limit = SIM_DEFAULT_BAUD_LIMIT;
			if (optarg && sim_parse_u32("--baud-limit", optarg, &o->baud_limit, e))
				return -1;
			break;
		case O_NO_THROTTLE:
			o->throttle = false;
			break;
		case O_FAULT:
			if (sim_fault_add(&s->faults, optarg, e))
				return -1;
			break;
		case O_LOG:
			o->log_path = optarg;
			break;
		case O_MAC:
			if (sim_parse_mac(optarg, o->mac, e))
				return -1;
			o->have_mac = true;
			break;
		case O_XTAL:
			if (sim_parse_u32("--xtal", optarg, &v, e))
				return -1;
			o->xtal_mhz = v;
			break;
		case O_HELP:
			sim_usage(stdout);
			exit(0);
		default:
			return err_set_msg(e, ERR_USAGE, "unknown or incomplete option '%s'",
					   argv[optind - 1]);
		}
	}
	if (optind < argc)
		return err_set_msg(e, ERR_USAGE, "unexpected argument '%s'", argv[optind]);
	if (!o->chip)
		return err_set_msg(e, ERR_USAGE, "--chip is required");
	if (o->pty == (o->tcp_port >= 0))
		return err_set_msg(e, ERR_USAGE, "give exactly one of --pty and --tcp PORT");
	return 0;
}

/* ---- transports ---- */

static int sim_open_tcp(struct sim_server *s, err_t *e)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return err_set_msg(e, ERR_DEVICE, "socket: %s", strerror(errno));
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	struct sockaddr_in a;
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.sin_port = htons((uint16_t)s->o.tcp_port);
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(fd, 1) != 0) {
		int saved = errno;
		close(fd);
		return err_set_msg(e, ERR_DEVICE, "--tcp %d: %s", s->o.tcp_port, strerror(saved));
	}
	socklen_t alen = sizeof(a);
	getsockname(fd, (struct sockaddr *)&a, &alen);
	s->listen_fd = fd;
	printf("tcp 127.0.0.1:%u\n", ntohs(a.sin_port));
	fflush(stdout);
	return 0;
}

static int sim_open_pty(struct sim_server *s, err_t *e)
{
	int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (m < 0 || grantpt(m) != 0 || unlockpt(m) != 0) {
		int saved = errno;
		if (m >= 0)
			close(m);
		return err_set_msg(e, ERR_DEVICE, "pseudo-terminal: %s", strerror(saved));
	}
	const char *name = ptsname(m);
	int sl = name ? open(name, O_RDWR | O_NOCTTY | O_CLOEXEC) : -1;
	if (sl < 0) {
		int saved = errno;
		close(m);
		return err_set_msg(e, ERR_DEVICE, "pseudo-terminal slave: %s", strerror(saved));
	}
	/* Raw line discipline: the ROM protocol is binary (0xC0 frames, no echo, no CR mapping). */
	struct termios t;
	if (tcgetattr(sl, &t) == 0) {
		cfmakeraw(&t);
		tcsetattr(sl, TCSANOW, &t);
	}
	s->fd = m;
	s->pty_slave = sl;
	printf("pty %s\n", name);
	fflush(stdout);
	return 0;
}

static void sim_close_conn(struct sim_server *s)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	if (s->pty_slave >= 0)
		close(s->pty_slave);
	s->pty_slave = -1;
}

/* ---- chip life cycle ---- */

static void sim_chip_reset(struct sim_server *s, bool print_banner)
{
	sim_rom_reset(&s->rom);
	s->uart.baud = SIM_UART_ROM_BAUD;
	s->garbled = false;
	slip_decoder_reset(&s->dec);
	bool dl_off = sim_rom_download_disabled(&s->rom);
	if (dl_off)
		s->rom.running_app = true; /* eFuses forbid the download loader: boots the app */
	if (print_banner && s->fd >= 0) {
		err_t e = {0};
		const char *b = dl_off ? "rst:0x1 (POWERON),boot:0x8 (SPI_FAST_FLASH_BOOT)\r\n"
					 "download mode is disabled\r\n"
				       : sim_rom_boot_banner(&s->rom);
		sim_uart_send(&s->uart, s->fd, (const uint8_t *)b, strlen(b), &e);
	}
}

static int sim_send_packets(struct sim_server *s, const struct sim_rom_out *out, bool non_sync,
			    uint64_t *first, uint64_t *last)
{
	buf_t wire = BUF_INIT;
	int rc = 0;
	*first = s->tx_frames + 1;
	for (size_t i = 0; i < out->n_pkt; i++) {
		uint64_t no = ++s->tx_frames;
		uint64_t stall = sim_fault_take_stall(&s->faults, no, non_sync && !s->answered_non_sync);
		if (non_sync)
			s->answered_non_sync = true;
		if (stall) {
			sim_log_write("fault stall %llu ms before frame %llu", (unsigned long long)stall,
				      (unsigned long long)no);
			sim_uart_sleep_until(sim_uart_now_us() + (int64_t)stall * 1000);
		}
		if (sim_fault_take_frame(&s->faults, SIM_FAULT_DROP, no)) {
			sim_log_write("fault drop frame %llu", (unsigned long long)no);
			continue;
		}
		wire.len = 0;
		slip_encode_frame(&wire, out->pkt[i].data, out->pkt[i].len);
		if (sim_fault_take_frame(&s->faults, SIM_FAULT_CORRUPT, no)) {
			/* A bit error on the wire, in the middle of the frame. */
			wire.data[wire.len / 2] ^= 0x01;
			sim_log_write("fault corrupt frame %llu (byte %zu)", (unsigned long long)no,
				      wire.len / 2);
		}
		err_t e = {0};
		if (!s->garbled && sim_uart_send(&s->uart, s->fd, wire.data, wire.len, &e)) {
			rc = -1;
			break;
		}
	}
	*last = s->tx_frames;
	buf_free_data(&wire);
	return rc;
}

static int sim_handle_frame(struct sim_server *s, const uint8_t *frame, size_t len)
{
	if (s->garbled)
		return 0;
	sim_uart_wait_rx(&s->uart);
	int64_t now = s->o.throttle ? sim_uart_now_us() : -1;
	/* On the chip's clock the command starts once its last byte is in and the previous reply
	 * has left the wire, not when this process happened to wake up (which on a loaded host
	 * adds a scheduler delay per command that no real chip has). */
	int64_t start = s->uart.rx_done_us > s->uart.tx_done_us ? s->uart.rx_done_us
								 : s->uart.tx_done_us;
	if (start <= 0 || start > now)
		start = now;
	sim_rom_out_clear(&s->out);
	sim_rom_handle(&s->rom, frame, len, now, &s->out);
	uint8_t op = len >= 2 ? frame[1] : 0;
	uint16_t dlen = len >= 4 ? (uint16_t)(frame[2] | frame[3] << 8) : 0;
	if (s->out.ignored) {
		sim_log_write("%s len=%u ignored%s", rom_proto_opcode_name(op), dlen,
			      s->rom.running_app ? " (not in the loader)" : s->rom.synced ? "" : " (not synced)");
		return 0;
	}
	if (s->out.busy_us > 0 && s->o.throttle)
		sim_uart_sleep_until(start + s->out.busy_us);
	if (s->o.throttle)
		s->uart.tx_ready_us = start + s->out.busy_us;
	uint64_t first, last;
	int rc = sim_send_packets(s, &s->out, op != ROM_OP_SYNC, &first, &last);
	s->uart.tx_ready_us = 0; /* unused when every frame was dropped */
	if (s->out.rejected)
		sim_log_write("%s (0x%02x) len=%u rejected: unknown to this ROM frames=%llu-%llu",
			      rom_proto_opcode_name(op), op, dlen, (unsigned long long)first,
			      (unsigned long long)last);
	else
		sim_log_write("%s len=%u status=%u error=0x%02x frames=%llu-%llu",
			      rom_proto_opcode_name(op), dlen, s->out.status, s->out.error,
			      (unsigned long long)first, (unsigned long long)last);
	if (s->out.new_baud) {
		s->uart.baud = s->out.new_baud;
		if (s->o.baud_limit && s->out.new_baud > s->o.baud_limit) {
			s->garbled = true;
			sim_log_write("baud %u is beyond the serial bridge's %u: link garbled until reset",
				      s->out.new_baud, s->o.baud_limit);
		} else {
			sim_log_write("baud now %u", s->out.new_baud);
		}
	}
	if (s->out.left_loader)
		sim_log_write("left the download loader: silent until reset");
	return rc;
}

/* Feeds received bytes through the fault thresholds, the wire clock and the SLIP decoder.
 * Returns 1 when the connection must be closed (fault or send error). */
static int sim_feed_bytes(struct sim_server *s, const uint8_t *p, size_t n)
{
	while (n > 0) {
		size_t k = sim_fault_bytes_before(&s->faults, SIM_FAULT_DISCONNECT_AFTER, s->rx_bytes, n);
		k = sim_fault_bytes_before(&s->faults, SIM_FAULT_RESET_AFTER, s->rx_bytes, k);
		sim_uart_note_rx(&s->uart, k, sim_uart_now_us());
		size_t off = 0;
		while (off < k) {
			const uint8_t *frame;
			size_t flen;
			off += slip_decoder_feed(&s->dec, p + off, k - off, &frame, &flen);
			if (frame && sim_handle_frame(s, frame, flen))
				return 1;
		}
		s->rx_bytes += k;
		p += k;
		n -= k;
		if (sim_fault_take_bytes(&s->faults, SIM_FAULT_DISCONNECT_AFTER, s->rx_bytes)) {
			sim_log_write("fault disconnect after %llu bytes", (unsigned long long)s->rx_bytes);
			return 1;
		}
		if (sim_fault_take_bytes(&s->faults, SIM_FAULT_RESET_AFTER, s->rx_bytes)) {
			sim_log_write("fault chip reset after %llu bytes", (unsigned long long)s->rx_bytes);
			sim_chip_reset(s, true);
		}
	}
	return 0;
}

/* Serves one connection until the peer leaves, a fault cuts it, or a signal arrives. */
static void sim_serve_conn(struct sim_server *s)
{
	uint8_t buf[4096];
	while (!sim_stop) {
		if (sim_reset_request) {
			/* The reset button, with the boot strap held: back into the loader. */
			sim_reset_request = 0;
			sim_log_write("reset (SIGUSR1)");
			sim_chip_reset(s, true);
		}
		struct pollfd pfd = {s->fd, POLLIN, 0};
		int pr = poll(&pfd, 1, 200);
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr <= 0)
			continue;
		ssize_t got = read(s->fd, buf, sizeof(buf));
		if (got < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (got < 0 && errno == EIO && s->o.pty) {
			usleep(50000); /* no host has the terminal open */
			continue;
		}
		if (got <= 0) {
			sim_log_write("host disconnected");
			return;
		}
		if (sim_feed_bytes(s, buf, (size_t)got))
			return;
	}
}

static void sim_run(struct sim_server *s)
{
	while (!sim_stop) {
		if (s->o.pty) {
			if (s->fd < 0) {
				err_t e = {0};
				if (sim_open_pty(s, &e)) {
					sim_log_write("%s", e.msg);
					return;
				}
			}
			sim_log_write("serving %s on a pseudo-terminal", s->o.chip);
			sim_chip_reset(s, false);
			sim_serve_conn(s);
			/* A fault cut the line: like a USB bridge re-enumerating, a new terminal. */
			sim_close_conn(s);
			continue;
		}
		struct pollfd pfd = {s->listen_fd, POLLIN, 0};
		int pr = poll(&pfd, 1, 200);
		if (pr <= 0)
			continue;
		int c = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (c < 0)
			continue;
		/* Paced replies go out in small slices: without NODELAY, Nagle plus the host's
		 * delayed ACK would add tens of milliseconds a wire never has. */
		int one = 1;
		setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		s->fd = c;
		sim_log_write("host connected: chip %s in download mode", s->o.chip);
		/* Plugging in with the boot strap held: the chip starts in the ROM loader. */
		sim_reset_request = 0;
		sim_chip_reset(s, false);
		sim_serve_conn(s);
		sim_close_conn(s);
	}
}

int main(int argc, char **argv)
{
	static struct sim_server s;
	s.fd = -1;
	s.pty_slave = -1;
	s.listen_fd = -1;
	err_t e = {0};
	if (sim_parse_args(argc, argv, &s, &e)) {
		fprintf(stderr, "espfab-sim: %s\n", e.msg);
		sim_usage(stderr);
		return 2;
	}
	const struct chip_desc *chip = chip_find_by_name(s.o.chip);
	if (!chip) {
		fprintf(stderr, "espfab-sim: unknown chip '%s'\n", s.o.chip);
		sim_usage(stderr);
		return 2;
	}
	if (!s.o.xtal_mhz)
		s.o.xtal_mhz = chip->xtal_mhz[0];
	if (s.o.xtal_mhz != chip->xtal_mhz[0] && s.o.xtal_mhz != chip->xtal_mhz[1]) {
		fprintf(stderr, "espfab-sim: --xtal %u: %s runs on %u MHz%s\n", s.o.xtal_mhz, chip->name,
			chip->xtal_mhz[0], chip->xtal_mhz[1] ? " or the other listed crystal" : "");
		return 2;
	}
	if (sim_log_open(s.o.log_path, &e) ||
	    sim_flash_open(&s.flash, s.o.flash_path, s.o.flash_size, &e) ||
	    sim_efuse_open(&s.efuse, chip, s.o.efuse_path, s.o.have_mac ? s.o.mac : NULL, &e)) {
		fprintf(stderr, "espfab-sim: %s\n", e.msg);
		return 2;
	}
	sim_rom_init(&s.rom, chip, s.o.xtal_mhz, &s.flash, &s.efuse, s.o.throttle);
	sim_uart_init(&s.uart, s.o.throttle);
	slip_decoder_init(&s.dec, 0);

	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = sim_on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	int rc = 0;
	if (!s.o.pty && sim_open_tcp(&s, &e)) {
		fprintf(stderr, "espfab-sim: %s\n", e.msg);
		rc = 2;
	} else {
		sim_run(&s);
	}
	sim_close_conn(&s);
	if (s.listen_fd >= 0)
		close(s.listen_fd);
	if (sim_flash_sync(&s.flash, &e) || sim_efuse_save(&s.efuse, &e)) {
		fprintf(stderr, "espfab-sim: %s\n", e.msg);
		rc = 1;
	}
	sim_rom_out_free(&s.out);
	slip_decoder_free(&s.dec);
	sim_rom_free(&s.rom);
	sim_efuse_close(&s.efuse);
	sim_flash_close(&s.flash);
	sim_log_write("stopped");
	sim_log_close();
	return rc;
}
