/* espfab-sim against raw ROM protocol frames, for every chip: SYNC and its repeated replies,
 * READ_REG of the chip-detect magic, GET_SECURITY_INFO per chip, commands the ROM rejects, the
 * data checksum, flash download (plain and deflated) with MD5 and READ_FLASH_SLOW read-back,
 * eFuse burning through WRITE_REG, persistence across a restart, faults, and one UART pacing
 * check. Frames are built and parsed with the shared SLIP and rom_proto modules. */
#include "testutil.h"
#include "simspawn.h"

#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <mbedtls/md5.h>
#include <zlib.h>

#include "core/checksum.h"
#include "core/hex.h"
#include "link/slip.h"
#include "loader/chip.h"
#include "loader/efuse_rs.h"
#include "loader/rom_proto.h"

struct simproc {
	pid_t pid;
	int out_fd;
	int port;
	int sock;
	slip_decoder_t dec;
	uint8_t frame[SLIP_DEFAULT_MAX_FRAME];
	size_t frame_len;
	uint64_t wire_tx, wire_rx; /* bytes on the wire each way */
};

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Starts espfab-sim --chip chip --tcp 0 plus extra arguments (NULL-terminated). */
static void sim_start(struct simproc *p, const char *chip, const char *const *extra)
{
	const char *bin = testutil_sim_bin();
	if (!bin)
		skip(); /* built without the simulator */
	memset(p, 0, sizeof(*p));
	p->sock = -1;
	const char *argv[32];
	int n = 0;
	argv[n++] = bin;
	argv[n++] = "--chip";
	argv[n++] = chip;
	argv[n++] = "--tcp";
	argv[n++] = "0";
	argv[n++] = "--log";
	argv[n++] = "/dev/null";
	for (int i = 0; extra && extra[i]; i++)
		argv[n++] = extra[i];
	argv[n] = NULL;
	p->pid = simspawn_start_child(argv, &p->out_fd);
	char line[128];
	simspawn_read_line(p->out_fd, line, sizeof(line));
	unsigned port = 0;
	if (sscanf(line, "tcp 127.0.0.1:%u", &port) != 1)
		fail_msg("espfab-sim printed '%s', not 'tcp 127.0.0.1:PORT'", line);
	p->port = (int)port;
}

static void sim_connect(struct simproc *p)
{
	p->sock = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(p->sock >= 0);
	struct sockaddr_in a;
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.sin_port = htons((uint16_t)p->port);
	assert_int_equal(connect(p->sock, (struct sockaddr *)&a, sizeof(a)), 0);
	slip_decoder_free(&p->dec);
	slip_decoder_init(&p->dec, 0);
}

static void sim_disconnect(struct simproc *p)
{
	if (p->sock >= 0)
		close(p->sock);
	p->sock = -1;
}

/* SIGTERM; returns the exit status. */
static int sim_stop(struct simproc *p)
{
	sim_disconnect(p);
	kill(p->pid, SIGTERM);
	int st = 0;
	waitpid(p->pid, &st, 0);
	close(p->out_fd);
	slip_decoder_free(&p->dec);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void sim_send_raw(struct simproc *p, const uint8_t *d, size_t n)
{
	p->wire_tx += n;
	while (n) {
		ssize_t w = write(p->sock, d, n);
		assert_true(w > 0);
		d += w;
		n -= (size_t)w;
	}
}

static void sim_send(struct simproc *p, uint8_t op, const uint8_t *data, size_t len, uint32_t chk)
{
	buf_t pkt = BUF_INIT, wire = BUF_INIT;
	rom_proto_encode_request(&pkt, op, data, len, chk);
	slip_encode_frame(&wire, pkt.data, pkt.len);
	sim_send_raw(p, wire.data, wire.len);
	buf_free_data(&pkt);
	buf_free_data(&wire);
}

/* One frame into p->frame: 1, or 0 on timeout, -1 when the simulator closed the connection. */
static int sim_recv(struct simproc *p, int timeout_ms)
{
	int64_t deadline = now_ms() + timeout_ms;
	for (;;) {
		int64_t left = deadline - now_ms();
		if (left <= 0)
			return 0;
		struct pollfd pfd = {p->sock, POLLIN, 0};
		if (poll(&pfd, 1, (int)left) <= 0)
			continue;
		uint8_t c;
		ssize_t r = read(p->sock, &c, 1);
		if (r <= 0)
			return -1;
		p->wire_rx++;
		const uint8_t *f;
		size_t fl;
		slip_decoder_feed(&p->dec, &c, 1, &f, &fl);
		if (f) {
			memcpy(p->frame, f, fl);
			p->frame_len = fl;
			return 1;
		}
	}
}

static void sim_expect_reply(struct simproc *p, uint8_t op, struct rom_response *r)
{
	for (;;) {
		int got = sim_recv(p, 3000);
		if (got != 1)
			fail_msg("no reply to %s", rom_proto_opcode_name(op));
		if (rom_proto_parse_response(p->frame, p->frame_len, ROM_STATUS_LEN_ROM, r) == 0 &&
		    r->op == op)
			return;
	}
}

/* Counts frames until quiet for quiet_ms; the first may take up to 3 s (a loaded machine). */
static int sim_count_frames(struct simproc *p, int quiet_ms, struct rom_response *last)
{
	int n = 0;
	while (sim_recv(p, n ? quiet_ms : 3000) == 1) {
		if (last)
			assert_int_equal(rom_proto_parse_response(p->frame, p->frame_len, ROM_STATUS_LEN_ROM, last), 0);
		n++;
	}
	return n;
}

static void sim_sync(struct simproc *p)
{
	buf_t b = BUF_INIT;
	rom_proto_build_sync(&b);
	sim_send(p, ROM_OP_SYNC, b.data, b.len, 0);
	buf_free_data(&b);
	struct rom_response r;
	int n = sim_count_frames(p, 100, &r);
	assert_int_equal(n, 8); /* the ROM answers one SYNC eight times */
	assert_int_equal(r.op, ROM_OP_SYNC);
	assert_int_not_equal(r.value, 0); /* ROM, not stub */
	assert_int_equal(r.status, 0);
}

static uint32_t sim_read_reg(struct simproc *p, uint32_t addr)
{
	uint8_t d[4];
	rom_proto_put_u32(d, addr);
	sim_send(p, ROM_OP_READ_REG, d, 4, 0);
	struct rom_response r;
	sim_expect_reply(p, ROM_OP_READ_REG, &r);
	assert_int_equal(r.status, 0);
	return r.value;
}

static void sim_write_reg(struct simproc *p, uint32_t addr, uint32_t value)
{
	buf_t b = BUF_INIT;
	rom_proto_build_write_reg(&b, addr, value, 0xFFFFFFFF, 0);
	sim_send(p, ROM_OP_WRITE_REG, b.data, b.len, 0);
	buf_free_data(&b);
	struct rom_response r;
	sim_expect_reply(p, ROM_OP_WRITE_REG, &r);
	assert_int_equal(r.status, 0);
}

/* Sends a command and returns status<<8 | error of its reply. */
static unsigned sim_command(struct simproc *p, uint8_t op, const uint8_t *d, size_t n, uint32_t chk,
			    struct rom_response *out)
{
	sim_send(p, op, d, n, chk);
	struct rom_response r;
	sim_expect_reply(p, op, &r);
	if (out)
		*out = r;
	return (unsigned)r.status << 8 | r.error;
}

static void sim_attach(struct simproc *p, uint32_t flash_size)
{
	uint8_t att[8] = {0};
	assert_int_equal(sim_command(p, ROM_OP_SPI_ATTACH, att, 8, 0, NULL), 0);
	uint32_t params[6] = {0, flash_size, 0x10000, 0x1000, 0x100, 0xFFFF};
	buf_t b = BUF_INIT;
	rom_proto_build_u32s(&b, params, 6);
	assert_int_equal(sim_command(p, ROM_OP_SPI_SET_PARAMS, b.data, b.len, 0, NULL), 0);
	buf_free_data(&b);
}

/* Writes data at offset with FLASH_BEGIN/FLASH_DATA in 1 KiB ROM blocks, 0xFF padded. */
static void sim_flash_write(struct simproc *p, const struct chip_desc *c, uint32_t offset,
			    const uint8_t *data, size_t len)
{
	uint32_t blocks = (uint32_t)((len + ROM_FLASH_BLOCK_SIZE - 1) / ROM_FLASH_BLOCK_SIZE);
	buf_t b = BUF_INIT;
	rom_proto_build_begin(&b, (uint32_t)len, blocks, ROM_FLASH_BLOCK_SIZE, offset,
			      c->rom_encrypt_flag, 0);
	assert_int_equal(sim_command(p, ROM_OP_FLASH_BEGIN, b.data, b.len, 0, NULL), 0);
	for (uint32_t i = 0; i < blocks; i++) {
		uint8_t blk[ROM_FLASH_BLOCK_SIZE];
		memset(blk, 0xFF, sizeof(blk));
		size_t n = len - i * ROM_FLASH_BLOCK_SIZE;
		memcpy(blk, data + i * ROM_FLASH_BLOCK_SIZE, n < sizeof(blk) ? n : sizeof(blk));
		b.len = 0;
		rom_proto_build_data(&b, i, blk, sizeof(blk));
		assert_int_equal(sim_command(p, ROM_OP_FLASH_DATA, b.data, b.len,
					     rom_proto_checksum(blk, sizeof(blk)), NULL), 0);
	}
	buf_free_data(&b);
}

static void sim_md5(struct simproc *p, uint32_t addr, uint32_t size, char hex[33])
{
	uint32_t w[4] = {addr, size, 0, 0};
	buf_t b = BUF_INIT;
	rom_proto_build_u32s(&b, w, 4);
	struct rom_response r;
	assert_int_equal(sim_command(p, ROM_OP_SPI_FLASH_MD5, b.data, b.len, 0, &r), 0);
	assert_int_equal(r.payload_len, 32);
	memcpy(hex, r.payload, 32);
	hex[32] = 0;
	buf_free_data(&b);
}

static void md5_hex(const uint8_t *d, size_t n, char hex[33])
{
	uint8_t dig[16];
	mbedtls_md5_ret(d, n, dig);
	hex_encode_bytes(dig, 16, hex);
}

static void sim_read_slow(struct simproc *p, uint32_t addr, uint8_t *out, size_t n)
{
	while (n) {
		uint32_t k = n < 64 ? (uint32_t)n : 64;
		uint32_t w[2] = {addr, k};
		buf_t b = BUF_INIT;
		rom_proto_build_u32s(&b, w, 2);
		struct rom_response r;
		assert_int_equal(sim_command(p, ROM_OP_READ_FLASH_SLOW, b.data, b.len, 0, &r), 0);
		assert_int_equal(r.payload_len, 64); /* always 64 bytes */
		memcpy(out, r.payload, k);
		buf_free_data(&b);
		out += k;
		addr += k;
		n -= k;
	}
}

static void expect_rejected(struct simproc *p, uint8_t op)
{
	sim_send(p, op, NULL, 0, 0);
	struct rom_response r;
	int n = 0;
	while (sim_recv(p, n ? 100 : 3000) == 1) {
		assert_int_equal(rom_proto_parse_response(p->frame, p->frame_len, ROM_STATUS_LEN_ROM, &r), 0);
		assert_true(rom_proto_is_unsupported(&r, op));
		assert_int_not_equal(r.op, op);
		assert_int_equal(r.payload_len, 0);
		n++;
	}
	assert_int_equal(n, 8); /* the reject frame comes eight times */
}

static void test_every_chip_identifies(void **state)
{
	(void)state;
	for (int t = 0; t < CHIP_COUNT; t++) {
		const struct chip_desc *c = chip_get_desc((enum chip_type)t);
		const char *extra[] = {"--no-throttle", NULL};
		struct simproc p;
		sim_start(&p, c->id, extra);
		sim_connect(&p);
		/* Before SYNC the ROM's UART has not locked: nothing answers. */
		uint8_t d[4];
		rom_proto_put_u32(d, CHIP_MAGIC_REG);
		sim_send(&p, ROM_OP_READ_REG, d, 4, 0);
		assert_int_equal(sim_recv(&p, 200), 0);
		sim_sync(&p);
		assert_int_equal(sim_read_reg(&p, CHIP_MAGIC_REG), c->magic[0]);
		assert_ptr_equal(chip_find_by_magic(sim_read_reg(&p, CHIP_MAGIC_REG)), c);
		if (c->secinfo_len == 0) {
			expect_rejected(&p, ROM_OP_GET_SECURITY_INFO);
		} else {
			struct rom_response r;
			assert_int_equal(sim_command(&p, ROM_OP_GET_SECURITY_INFO, NULL, 0, 0, &r), 0);
			assert_int_equal(r.payload_len, c->secinfo_len);
			struct rom_security_info si;
			assert_int_equal(rom_proto_parse_security_info(r.payload, r.payload_len, &si), 0);
			assert_int_equal(si.has_chip_id, c->secinfo_chip_id >= 0);
			if (si.has_chip_id)
				assert_ptr_equal(chip_find_by_secinfo_id(si.chip_id), c);
			assert_int_equal(si.flags, 0);
		}
		/* Stub-only commands are unknown to every ROM. */
		expect_rejected(&p, ROM_OP_ERASE_FLASH);
		expect_rejected(&p, ROM_OP_READ_FLASH);
		expect_rejected(&p, 0x55);
		/* Factory MAC decodes with the host's decoder to an Espressif OUI. */
		uint8_t mac[6];
		chip_decode_mac(c, sim_read_reg(&p, c->mac_reg), sim_read_reg(&p, c->mac_reg + 4), mac);
		assert_int_equal(mac[0], 0x7C);
		assert_int_equal(mac[1], 0xDF);
		/* Flash id through the SPI user-command engine (chips.md §7). */
		sim_attach(&p, 4u << 20);
		const struct chip_spi_regs *s = &c->spi;
		sim_write_reg(&p, s->base + s->miso_dlen, 23);
		sim_write_reg(&p, s->base + s->user, (1u << 31) | (1u << 28));
		sim_write_reg(&p, s->base + s->user2, (7u << 28) | 0x9F);
		sim_write_reg(&p, s->base + s->w0, 0);
		sim_write_reg(&p, s->base + s->cmd, 1u << 18);
		assert_int_equal(sim_read_reg(&p, s->base + s->cmd) & (1u << 18), 0);
		assert_int_equal(chip_flash_size_from_id(sim_read_reg(&p, s->base + s->w0)), 4u << 20);
		assert_int_equal(sim_stop(&p), 0);
	}
}

static void test_flash_download_and_readback(void **state)
{
	(void)state;
	for (int t = 0; t < CHIP_COUNT; t++) {
		const struct chip_desc *c = chip_get_desc((enum chip_type)t);
		const char *extra[] = {"--no-throttle", NULL};
		struct simproc p;
		sim_start(&p, c->id, extra);
		sim_connect(&p);
		sim_sync(&p);
		/* Flash commands before SPI_ATTACH fail. */
		uint32_t md5req[4] = {0, 16, 0, 0};
		buf_t b = BUF_INIT;
		rom_proto_build_u32s(&b, md5req, 4);
		assert_int_equal(sim_command(&p, ROM_OP_SPI_FLASH_MD5, b.data, b.len, 0, NULL) >> 8, 1);
		sim_attach(&p, 4u << 20);

		uint8_t data[3000];
		for (size_t i = 0; i < sizeof(data); i++)
			data[i] = (uint8_t)(i * 7 + t);
		sim_flash_write(&p, c, 0x9000, data, sizeof(data));
		char want[33], got[33];
		md5_hex(data, sizeof(data), want);
		sim_md5(&p, 0x9000, sizeof(data), got);
		assert_string_equal(got, want);
		uint8_t back[200];
		sim_read_slow(&p, 0x9000 + 100, back, sizeof(back));
		testutil_assert_bytes_equal("READ_FLASH_SLOW", back, sizeof(back), data + 100, sizeof(back));
		/* The erase covered whole sectors: the padding and the rest of the sector are 0xFF. */
		sim_read_slow(&p, 0x9000 + 3000, back, 64);
		for (int i = 0; i < 64; i++)
			assert_int_equal(back[i], 0xFF);

		/* Bad data checksum: ROM error 0x07. */
		uint8_t blk[ROM_FLASH_BLOCK_SIZE];
		memset(blk, 0x12, sizeof(blk));
		b.len = 0;
		rom_proto_build_begin(&b, sizeof(blk), 1, ROM_FLASH_BLOCK_SIZE, 0xA000, c->rom_encrypt_flag, 0);
		assert_int_equal(sim_command(&p, ROM_OP_FLASH_BEGIN, b.data, b.len, 0, NULL), 0);
		b.len = 0;
		rom_proto_build_data(&b, 0, blk, sizeof(blk));
		uint8_t bad = rom_proto_checksum(blk, sizeof(blk)) ^ 0x5A;
		assert_int_equal(sim_command(&p, ROM_OP_FLASH_DATA, b.data, b.len, bad, NULL), 0x0107);
		/* The ESP32 ROM takes FLASH_BEGIN without the encrypt word only. */
		b.len = 0;
		rom_proto_build_begin(&b, 0x1000, 4, ROM_FLASH_BLOCK_SIZE, 0xA000, !c->rom_encrypt_flag, 0);
		if (!c->rom_encrypt_flag)
			assert_int_equal(sim_command(&p, ROM_OP_FLASH_BEGIN, b.data, b.len, 0, NULL), 0x0105);
		/* A write start that is not on a sector is refused. */
		b.len = 0;
		rom_proto_build_begin(&b, 0x400, 1, ROM_FLASH_BLOCK_SIZE, 0xA010, c->rom_encrypt_flag, 0);
		assert_int_equal(sim_command(&p, ROM_OP_FLASH_BEGIN, b.data, b.len, 0, NULL), 0x0101);
		/* READ_FLASH_SLOW above 64 bytes: flash read length error. */
		uint32_t rw[2] = {0, 65};
		b.len = 0;
		rom_proto_build_u32s(&b, rw, 2);
		assert_int_equal(sim_command(&p, ROM_OP_READ_FLASH_SLOW, b.data, b.len, 0, NULL), 0x010A);

		/* Compressed download: zlib stream with header, size rounded up to blocks (ROM). */
		uint8_t plain[6000];
		for (size_t i = 0; i < sizeof(plain); i++)
			plain[i] = (uint8_t)((i / 100) & 0xFF);
		uLongf clen = compressBound(sizeof(plain));
		uint8_t *comp = malloc(clen);
		assert_int_equal(compress2(comp, &clen, plain, sizeof(plain), 9), Z_OK);
		uint32_t nblk = (uint32_t)((clen + ROM_FLASH_BLOCK_SIZE - 1) / ROM_FLASH_BLOCK_SIZE);
		uint32_t usize = (sizeof(plain) + ROM_FLASH_BLOCK_SIZE - 1) / ROM_FLASH_BLOCK_SIZE * ROM_FLASH_BLOCK_SIZE;
		b.len = 0;
		rom_proto_build_begin(&b, usize, nblk, ROM_FLASH_BLOCK_SIZE, 0x20000, c->rom_encrypt_flag, 0);
		assert_int_equal(sim_command(&p, ROM_OP_FLASH_DEFL_BEGIN, b.data, b.len, 0, NULL), 0);
		for (uint32_t i = 0; i < nblk; i++) {
			size_t off = (size_t)i * ROM_FLASH_BLOCK_SIZE;
			size_t n = clen - off < ROM_FLASH_BLOCK_SIZE ? clen - off : ROM_FLASH_BLOCK_SIZE;
			b.len = 0;
			rom_proto_build_data(&b, i, comp + off, n);
			assert_int_equal(sim_command(&p, ROM_OP_FLASH_DEFL_DATA, b.data, b.len,
						     rom_proto_checksum(comp + off, n), NULL), 0);
		}
		free(comp);
		md5_hex(plain, sizeof(plain), want);
		sim_md5(&p, 0x20000, sizeof(plain), got);
		assert_string_equal(got, want);
		buf_free_data(&b);
		assert_int_equal(sim_stop(&p), 0);
	}
}

/* GEN2 key burn through WRITE_REG, as espefuse does it (efuse.md §4). */
static void burn_gen2_block(struct simproc *p, const struct chip_desc *c, unsigned block,
			    const uint32_t words[8], const uint32_t *check, bool poll_after_reload)
{
	const struct efuse_layout *lay = c->efuse;
	uint32_t base = c->efuse_base;
	for (unsigned i = 0; i < 8; i++)
		sim_write_reg(p, base + lay->pgm_data_off + 4 * i, words[i]);
	for (unsigned i = 0; i < 3; i++)
		sim_write_reg(p, base + lay->check_value_off + 4 * i, check ? check[i] : 0);
	sim_write_reg(p, base + lay->conf_off, EFUSE_CONF_WRITE);
	sim_write_reg(p, base + lay->cmd_off, EFUSE_CMD_PGM | block << 2);
	while (sim_read_reg(p, base + lay->cmd_off) & 3)
		;
	sim_write_reg(p, base + lay->conf_off, EFUSE_CONF_READ);
	sim_write_reg(p, base + lay->cmd_off, EFUSE_CMD_READ);
	while (poll_after_reload && (sim_read_reg(p, base + lay->cmd_off) & 3))
		;
}

static void test_persistence_across_restart(void **state)
{
	(void)state;
	char *dir = testutil_make_tmpdir();
	char *flash = testutil_join_path(dir, "flash.bin");
	char *efuse = testutil_join_path(dir, "efuse.bin");
	const struct chip_desc *c = chip_find_by_name("esp32h2");
	const char *extra[] = {"--no-throttle", "--flash", flash, "--efuse", efuse, "--flash-size", "2MB", NULL};
	struct simproc p;
	sim_start(&p, c->id, extra);
	sim_connect(&p);
	sim_sync(&p);
	sim_attach(&p, 2u << 20);
	uint8_t data[1024];
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(0xA0 ^ i);
	sim_flash_write(&p, c, 0x1F0000, data, sizeof(data));
	uint8_t key[32];
	uint32_t words[8], check[3];
	for (int i = 0; i < 32; i++)
		key[i] = (uint8_t)(32 - i);
	for (int i = 0; i < 8; i++)
		words[i] = checksum_read_u32le(key + 4 * i);
	efuse_rs_check_words(key, check);
	burn_gen2_block(&p, c, 4, words, check, true);
	uint32_t key0 = c->efuse_base + c->efuse->blocks[4].read_off;
	assert_int_equal(sim_read_reg(&p, key0), words[0]);
	uint8_t mac[6];
	chip_decode_mac(c, sim_read_reg(&p, c->mac_reg), sim_read_reg(&p, c->mac_reg + 4), mac);
	assert_int_equal(sim_stop(&p), 0); /* unplugged */

	sim_start(&p, c->id, extra);
	sim_connect(&p);
	sim_sync(&p);
	sim_attach(&p, 2u << 20);
	uint8_t back[sizeof(data)];
	sim_read_slow(&p, 0x1F0000, back, sizeof(back));
	testutil_assert_bytes_equal("flash after restart", back, sizeof(back), data, sizeof(data));
	assert_int_equal(sim_read_reg(&p, key0), words[0]);
	assert_int_equal(sim_read_reg(&p, key0 + 28), words[7]);
	assert_int_equal(sim_read_reg(&p, c->efuse_base + c->efuse->rs_err0_off), 0);
	uint8_t mac2[6];
	chip_decode_mac(c, sim_read_reg(&p, c->mac_reg), sim_read_reg(&p, c->mac_reg + 4), mac2);
	testutil_assert_bytes_equal("MAC after restart", mac2, 6, mac, 6);
	assert_int_equal(sim_stop(&p), 0);
	free(flash);
	free(efuse);
	testutil_remove_tree(dir);
	free(dir);
}

static void test_secure_download_mode(void **state)
{
	(void)state;
	const struct chip_desc *c = chip_find_by_name("esp32c3");
	const char *extra[] = {"--no-throttle", NULL};
	struct simproc p;
	sim_start(&p, c->id, extra);
	sim_connect(&p);
	sim_sync(&p);
	uint32_t w[8] = {0};
	const struct efuse_field_desc *f = chip_efuse_field(c, EF_ENABLE_SECURITY_DOWNLOAD);
	w[f->word] = 1u << f->bit;
	/* No polling after the reload: from then on READ_REG is refused (efuse.md §4 step 6). */
	burn_gen2_block(&p, c, 0, w, NULL, false);
	/* From the reload on, the ROM enforces SDM: register access is gone, flashing stays. */
	expect_rejected(&p, ROM_OP_READ_REG);
	struct rom_response r;
	assert_int_equal(sim_command(&p, ROM_OP_GET_SECURITY_INFO, NULL, 0, 0, &r), 0);
	struct rom_security_info si;
	assert_int_equal(rom_proto_parse_security_info(r.payload, r.payload_len, &si), 0);
	assert_int_equal(si.flags & ROM_SECFLAG_SECURE_DOWNLOAD_ENABLE, ROM_SECFLAG_SECURE_DOWNLOAD_ENABLE);
	uint8_t att[8] = {0};
	assert_int_equal(sim_command(&p, ROM_OP_SPI_ATTACH, att, 8, 0, NULL), 0);
	assert_int_equal(sim_stop(&p), 0);

	/* DIS_DOWNLOAD_MODE works from the next boot on: the loader never answers again. */
	sim_start(&p, "esp32c6", extra);
	sim_connect(&p);
	sim_sync(&p);
	c = chip_find_by_name("esp32c6");
	memset(w, 0, sizeof(w));
	f = chip_efuse_field(c, EF_DIS_DOWNLOAD_MODE);
	w[f->word] = 1u << f->bit;
	burn_gen2_block(&p, c, 0, w, NULL, true);
	assert_int_equal(sim_read_reg(&p, CHIP_MAGIC_REG), c->magic[0]); /* still in the loader */
	sim_disconnect(&p);
	sim_connect(&p);
	buf_t b = BUF_INIT;
	rom_proto_build_sync(&b);
	sim_send(&p, ROM_OP_SYNC, b.data, b.len, 0);
	assert_int_equal(sim_recv(&p, 300), 0);
	char noise[SLIP_NOISE_KEEP + 1];
	slip_decoder_noise_text(&p.dec, noise, sizeof(noise));
	assert_null(strstr(noise, "waiting for download"));
	buf_free_data(&b);
	assert_int_equal(sim_stop(&p), 0);
}

/* FLASH_BEGIN's encrypt word: the ROM encrypts with the XTS key burned in eFuse. Expected
 * ciphertext from flash-encryption.md §3 (key file 00..1F, address 0x10000, plaintext 00..7F). */
static void test_chip_side_encryption(void **state)
{
	(void)state;
	const struct chip_desc *c = chip_find_by_name("esp32c3");
	const char *extra[] = {"--no-throttle", NULL};
	struct simproc p;
	sim_start(&p, c->id, extra);
	sim_connect(&p);
	sim_sync(&p);
	sim_attach(&p, 4u << 20);
	uint8_t key[32], rev[32];
	uint32_t words[8], check[3];
	for (int i = 0; i < 32; i++)
		key[i] = (uint8_t)i;
	for (int i = 0; i < 32; i++)
		rev[i] = key[31 - i]; /* XTS keys are burned byte-reversed */
	for (int i = 0; i < 8; i++)
		words[i] = checksum_read_u32le(rev + 4 * i);
	efuse_rs_check_words(rev, check);
	burn_gen2_block(&p, c, 4, words, check, true);
	uint32_t b0[8] = {0};
	const struct efuse_field_desc *f = chip_efuse_field(c, EF_KEY_PURPOSE_0);
	b0[f->word] = (uint32_t)KP_XTS_AES_128_KEY << f->bit;
	burn_gen2_block(&p, c, 0, b0, NULL, true);

	/* 8 KiB: 00..7F, then bytes that deflate poorly, so inflated output splits at odd places. */
	enum { ENC_LEN = 8192 };
	uint8_t *plain = malloc(ENC_LEN);
	uint32_t lcg = 1;
	for (int i = 0; i < ENC_LEN; i++) {
		lcg = lcg * 1103515245u + 12345u;
		plain[i] = i < 128 ? (uint8_t)i : (uint8_t)(lcg >> 16);
	}
	buf_t b = BUF_INIT;
	rom_proto_build_begin(&b, ENC_LEN, ENC_LEN / ROM_FLASH_BLOCK_SIZE, ROM_FLASH_BLOCK_SIZE, 0x10000, true, 1);
	assert_int_equal(sim_command(&p, ROM_OP_FLASH_BEGIN, b.data, b.len, 0, NULL), 0);
	for (uint32_t i = 0; i < ENC_LEN / ROM_FLASH_BLOCK_SIZE; i++) {
		const uint8_t *blk = plain + i * ROM_FLASH_BLOCK_SIZE;
		b.len = 0;
		rom_proto_build_data(&b, i, blk, ROM_FLASH_BLOCK_SIZE);
		assert_int_equal(sim_command(&p, ROM_OP_FLASH_DATA, b.data, b.len,
					     rom_proto_checksum(blk, ROM_FLASH_BLOCK_SIZE), NULL), 0);
	}
	uint8_t ct[128];
	sim_read_slow(&p, 0x10000, ct, sizeof(ct));
	buf_t want = BUF_INIT;
	err_t e = {0};
	assert_int_equal(hex_decode_string("2c2a288e9e96647587883012b81d1739", &want, &e), 0);
	testutil_assert_bytes_equal("first 16 bytes", ct, 16, want.data, 16);
	want.len = 0;
	assert_int_equal(hex_decode_string("23cd8de5f72afcda58ee8fed7add2ae0", &want, &e), 0);
	testutil_assert_bytes_equal("last 16 bytes", ct + 112, 16, want.data, 16);
	buf_free_data(&want);
	char md5_plain_path[33], md5_defl_path[33];
	sim_md5(&p, 0x10000, ENC_LEN, md5_plain_path);

	/* The same image through FLASH_DEFL_* must give the same ciphertext. */
	uLongf clen = compressBound(ENC_LEN);
	uint8_t *comp = malloc(clen);
	assert_int_equal(compress2(comp, &clen, plain, ENC_LEN, 9), Z_OK);
	uint32_t nblk = (uint32_t)((clen + ROM_FLASH_BLOCK_SIZE - 1) / ROM_FLASH_BLOCK_SIZE);
	assert_true(nblk > 2);
	b.len = 0;
	rom_proto_build_begin(&b, ENC_LEN, nblk, ROM_FLASH_BLOCK_SIZE, 0x10000, true, 1);
	assert_int_equal(sim_command(&p, ROM_OP_FLASH_DEFL_BEGIN, b.data, b.len, 0, NULL), 0);
	for (uint32_t i = 0; i < nblk; i++) {
		size_t off = (size_t)i * ROM_FLASH_BLOCK_SIZE;
		size_t n = clen - off < ROM_FLASH_BLOCK_SIZE ? clen - off : ROM_FLASH_BLOCK_SIZE;
		b.len = 0;
		rom_proto_build_data(&b, i, comp + off, n);
		assert_int_equal(sim_command(&p, ROM_OP_FLASH_DEFL_DATA, b.data, b.len,
					     rom_proto_checksum(comp + off, n), NULL), 0);
	}
	sim_md5(&p, 0x10000, ENC_LEN, md5_defl_path);
	assert_string_equal(md5_defl_path, md5_plain_path);
	char md5_of_plain[33];
	md5_hex(plain, ENC_LEN, md5_of_plain);
	assert_string_not_equal(md5_defl_path, md5_of_plain);
	free(comp);
	free(plain);

	/* DIS_DOWNLOAD_MANUAL_ENCRYPT makes the ROM refuse encrypted writes. */
	memset(b0, 0, sizeof(b0));
	f = chip_efuse_field(c, EF_DIS_DOWNLOAD_MANUAL_ENCRYPT);
	b0[f->word] = 1u << f->bit;
	burn_gen2_block(&p, c, 0, b0, NULL, true);
	b.len = 0;
	rom_proto_build_begin(&b, ROM_FLASH_BLOCK_SIZE, 1, ROM_FLASH_BLOCK_SIZE, 0x11000, true, 1);
	assert_int_equal(sim_command(&p, ROM_OP_FLASH_BEGIN, b.data, b.len, 0, NULL), 0x0101);
	buf_free_data(&b);
	assert_int_equal(sim_stop(&p), 0);
}

static void test_faults(void **state)
{
	(void)state;
	/* drop:3 — the third SYNC reply never comes; corrupt:9 — the READ_REG reply is damaged. */
	const char *extra[] = {"--no-throttle", "--fault", "drop:3", "--fault", "corrupt:9", NULL};
	struct simproc p;
	sim_start(&p, "esp32c6", extra);
	sim_connect(&p);
	buf_t b = BUF_INIT;
	rom_proto_build_sync(&b);
	sim_send(&p, ROM_OP_SYNC, b.data, b.len, 0);
	assert_int_equal(sim_count_frames(&p, 100, NULL), 7);
	uint8_t d[4];
	rom_proto_put_u32(d, CHIP_MAGIC_REG);
	sim_send(&p, ROM_OP_READ_REG, d, 4, 0);
	struct rom_response r;
	int got = sim_recv(&p, 300);
	bool damaged = got != 1 ||
		       rom_proto_parse_response(p.frame, p.frame_len, ROM_STATUS_LEN_ROM, &r) != 0 ||
		       r.value != chip_find_by_name("esp32c6")->magic[0];
	assert_true(damaged);
	while (sim_recv(&p, 100) == 1) /* whatever is left of the damaged reply */
		;
	/* Faults fire once: the next read is clean. */
	assert_int_equal(sim_read_reg(&p, CHIP_MAGIC_REG), chip_find_by_name("esp32c6")->magic[0]);
	assert_int_equal(sim_stop(&p), 0);

	/* reset-after: the chip reboots, prints its boot log and wants a new SYNC. */
	const char *extra2[] = {"--no-throttle", "--fault", "reset-after:55", NULL};
	sim_start(&p, "esp32c3", extra2);
	sim_connect(&p);
	sim_sync(&p); /* 46 bytes on the wire */
	sim_send(&p, ROM_OP_READ_REG, d, 4, 0); /* bytes 47-60: reset after byte 55 */
	assert_int_equal(sim_recv(&p, 300), 0);
	char noise[SLIP_NOISE_KEEP + 1];
	slip_decoder_noise_text(&p.dec, noise, sizeof(noise));
	assert_non_null(strstr(noise, "waiting for download"));
	sim_send(&p, ROM_OP_READ_REG, d, 4, 0);
	assert_int_equal(sim_recv(&p, 200), 0);
	sim_sync(&p);
	assert_int_equal(sim_read_reg(&p, CHIP_MAGIC_REG), chip_find_by_name("esp32c3")->magic[0]);
	assert_int_equal(sim_stop(&p), 0);

	/* disconnect-after: the link drops; a new connection finds the chip in the loader again. */
	const char *extra3[] = {"--no-throttle", "--fault", "disconnect-after:50", "--fault", "stall:400", NULL};
	sim_start(&p, "esp32s3", extra3);
	sim_connect(&p);
	sim_sync(&p);
	sim_send(&p, ROM_OP_READ_REG, d, 4, 0);
	int rc;
	while ((rc = sim_recv(&p, 1000)) == 1)
		;
	assert_int_equal(rc, -1);
	sim_disconnect(&p);
	sim_connect(&p);
	sim_sync(&p);
	/* stall:400 — the first reply to a command other than SYNC comes 400 ms late. */
	int64_t t0 = now_ms();
	assert_int_equal(sim_read_reg(&p, CHIP_MAGIC_REG), chip_find_by_name("esp32s3")->magic[0]);
	assert_true(now_ms() - t0 >= 390);
	buf_free_data(&b);
	assert_int_equal(sim_stop(&p), 0);
}

static void test_leaving_the_loader(void **state)
{
	(void)state;
	const char *extra[] = {"--no-throttle", NULL};
	struct simproc p;
	sim_start(&p, "esp32", extra);
	sim_connect(&p);
	sim_sync(&p);
	uint8_t run[4];
	rom_proto_put_u32(run, 1);
	assert_int_equal(sim_command(&p, ROM_OP_FLASH_END, run, 4, 0, NULL), 0);
	uint8_t d[4];
	rom_proto_put_u32(d, CHIP_MAGIC_REG);
	sim_send(&p, ROM_OP_READ_REG, d, 4, 0);
	assert_int_equal(sim_recv(&p, 200), 0);
	buf_t b = BUF_INIT;
	rom_proto_build_sync(&b);
	sim_send(&p, ROM_OP_SYNC, b.data, b.len, 0);
	assert_int_equal(sim_recv(&p, 200), 0); /* the app does not speak the ROM protocol */
	buf_free_data(&b);
	sim_disconnect(&p);
	sim_connect(&p); /* plugged in again with the boot strap held */
	sim_sync(&p);
	assert_int_equal(sim_stop(&p), 0);
}

/* The one timing check: a paced sim cannot deliver replies faster than the UART's wire time. */
static void test_uart_pacing_lower_bound(void **state)
{
	(void)state;
	struct simproc p;
	sim_start(&p, "esp32c3", NULL);
	sim_connect(&p);
	sim_sync(&p);
	sim_attach(&p, 4u << 20);
	p.wire_tx = p.wire_rx = 0;
	int64_t t0 = now_ms();
	uint8_t buf[640];
	sim_read_slow(&p, 0, buf, sizeof(buf));
	int64_t elapsed = now_ms() - t0;
	/* 10 bits per byte at 115200 baud, both directions, strictly one after the other. */
	int64_t wire_ms = (int64_t)((p.wire_tx + p.wire_rx) * 10 * 1000 / 115200);
	assert_true(wire_ms > 50);
	if (elapsed < wire_ms)
		fail_msg("10 READ_FLASH_SLOW round trips took %lld ms, wire time is %lld ms",
			 (long long)elapsed, (long long)wire_ms);
	/* After CHANGE_BAUDRATE the wire runs at the new rate: still never faster than it. */
	uint32_t cb[2] = {460800, 0};
	buf_t b = BUF_INIT;
	rom_proto_build_u32s(&b, cb, 2);
	assert_int_equal(sim_command(&p, ROM_OP_CHANGE_BAUDRATE, b.data, b.len, 0, NULL), 0);
	buf_free_data(&b);
	p.wire_tx = p.wire_rx = 0;
	t0 = now_ms();
	sim_read_slow(&p, 0, buf, sizeof(buf));
	elapsed = now_ms() - t0;
	wire_ms = (int64_t)((p.wire_tx + p.wire_rx) * 10 * 1000 / 460800);
	if (elapsed < wire_ms)
		fail_msg("at 460800 baud: %lld ms, wire time %lld ms", (long long)elapsed, (long long)wire_ms);
	assert_int_equal(sim_stop(&p), 0);
}

/* --baud-limit: a rate beyond the serial bridge's leaves the link dead until reconnection. */
static void test_baud_limit(void **state)
{
	(void)state;
	const char *extra[] = {"--no-throttle", "--baud-limit=230400", NULL};
	struct simproc p;
	sim_start(&p, "esp32c6", extra);
	sim_connect(&p);
	sim_sync(&p);
	uint32_t cb[2] = {230400, 0};
	buf_t b = BUF_INIT;
	rom_proto_build_u32s(&b, cb, 2);
	assert_int_equal(sim_command(&p, ROM_OP_CHANGE_BAUDRATE, b.data, b.len, 0, NULL), 0);
	assert_int_equal(sim_read_reg(&p, CHIP_MAGIC_REG), chip_find_by_name("esp32c6")->magic[0]);
	cb[0] = 921600;
	b.len = 0;
	rom_proto_build_u32s(&b, cb, 2);
	/* The reply still leaves at the old rate; after it nothing gets through. */
	assert_int_equal(sim_command(&p, ROM_OP_CHANGE_BAUDRATE, b.data, b.len, 0, NULL), 0);
	uint8_t d[4];
	rom_proto_put_u32(d, CHIP_MAGIC_REG);
	sim_send(&p, ROM_OP_READ_REG, d, 4, 0);
	assert_int_equal(sim_recv(&p, 200), 0);
	sim_disconnect(&p);
	sim_connect(&p);
	sim_sync(&p);
	assert_int_equal(sim_read_reg(&p, CHIP_MAGIC_REG), chip_find_by_name("esp32c6")->magic[0]);
	buf_free_data(&b);
	assert_int_equal(sim_stop(&p), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_chip_identifies),
		cmocka_unit_test(test_flash_download_and_readback),
		cmocka_unit_test(test_persistence_across_restart),
		cmocka_unit_test(test_secure_download_mode),
		cmocka_unit_test(test_chip_side_encryption),
		cmocka_unit_test(test_faults),
		cmocka_unit_test(test_leaving_the_loader),
		cmocka_unit_test(test_uart_pacing_lower_bound),
		cmocka_unit_test(test_baud_limit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
