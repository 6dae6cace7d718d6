/* rom_conn: ROM bootloader command session (see rom_conn.h). */
#include "loader/rom_conn.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#define ROM_MAX_SKIPPED_FRAMES 100

void rom_conn_init(rom_conn_t *c, transport_t *t)
{
	memset(c, 0, sizeof(*c));
	c->t = t;
	slip_decoder_init(&c->dec, SLIP_DEFAULT_MAX_FRAME);
}

void rom_conn_free(rom_conn_t *c)
{
	slip_decoder_free(&c->dec);
	buf_free_data(&c->tx);
}

void rom_conn_discard_input(rom_conn_t *c)
{
	err_t fe = {0};
	transport_flush_input(c->t, &fe);
	c->rx_pos = c->rx_len = 0;
	slip_decoder_reset(&c->dec);
}

bool rom_conn_cancelled(const rom_conn_t *c)
{
	return c->cancel && atomic_load(c->cancel) != 0;
}

/* The ROM prints its boot banner after a reset; seeing it while waiting for a reply means the
 * chip lost all loader state (baud, attached flash, a download in progress). */
static bool rom_saw_reset(rom_conn_t *c)
{
	if (c->dec.noise_bytes == c->noise_checked)
		return false;
	c->noise_checked = c->dec.noise_bytes;
	char text[SLIP_NOISE_KEEP + 1];
	slip_decoder_noise_text(&c->dec, text, sizeof text);
	return strstr(text, "waiting for download") != NULL;
}

/* Next SLIP frame before the deadline: 1 with a frame, 0 on timeout, -1 on link error or
 * cancellation (last_fail says which). */
static int rom_read_frame(rom_conn_t *c, uint64_t deadline, const uint8_t **frame, size_t *flen,
			  err_t *e)
{
	for (;;) {
		if (c->rx_pos < c->rx_len) {
			size_t used = slip_decoder_feed(&c->dec, c->rx + c->rx_pos,
							c->rx_len - c->rx_pos, frame, flen);
			c->rx_pos += used;
			if (*frame)
				return 1;
		}
		if (c->watch_reset && rom_saw_reset(c)) {
			c->last_fail = ROM_FAIL_RESET;
			c->resets_seen++;
			return err_set_msg(e, ERR_DEVICE,
					   "the chip reset (its boot message appeared on the line: power "
					   "or cable problem?)");
		}
		if (rom_conn_cancelled(c)) {
			c->last_fail = ROM_FAIL_CANCELLED;
			return err_set_msg(e, ERR_DEVICE, "cancelled");
		}
		uint64_t now = transport_now_ms();
		if (now >= deadline)
			return 0;
		/* short slices so cancellation is noticed within 100 ms */
		uint64_t wait = deadline - now;
		if (wait > 100)
			wait = 100;
		long n = transport_read(c->t, c->rx, sizeof c->rx, (unsigned)wait, e);
		if (n < 0) {
			c->last_fail = ROM_FAIL_LINK;
			return -1;
		}
		c->rx_pos = 0;
		c->rx_len = (size_t)n;
	}
}

/* Reads and discards frames until `quiet_ms` pass without one (bounded by max_ms). */
static void rom_drain(rom_conn_t *c, unsigned quiet_ms, unsigned max_ms)
{
	uint64_t end = transport_now_ms() + max_ms;
	err_t e = {0};
	for (;;) {
		uint64_t now = transport_now_ms();
		if (now >= end)
			return;
		uint64_t dl = now + quiet_ms < end ? now + quiet_ms : end;
		const uint8_t *f;
		size_t fl;
		if (rom_read_frame(c, dl, &f, &fl, &e) <= 0)
			return;
		c->frames_skipped++;
	}
}

/* Like rom_drain, but also stops as soon as `echoes` further SYNC replies have arrived. */
static void rom_drain_sync_echoes(rom_conn_t *c, unsigned echoes, unsigned quiet_ms,
				  unsigned max_ms)
{
	uint64_t end = transport_now_ms() + max_ms;
	err_t e = {0};
	unsigned seen = 0;
	while (seen < echoes) {
		uint64_t now = transport_now_ms();
		if (now >= end)
			return;
		uint64_t dl = now + quiet_ms < end ? now + quiet_ms : end;
		const uint8_t *f;
		size_t fl;
		if (rom_read_frame(c, dl, &f, &fl, &e) <= 0)
			return;
		c->frames_skipped++;
		struct rom_response rr;
		if (rom_proto_parse_response(f, fl, ROM_STATUS_LEN_ROM, &rr) == 0 &&
		    rr.op == ROM_OP_SYNC)
			seen++;
	}
}

int rom_cmd_execute(rom_conn_t *c, uint8_t op, const uint8_t *data, size_t len,
		    uint32_t checksum, unsigned timeout_ms, struct rom_response *resp, err_t *e)
{
	buf_t pkt = BUF_INIT;
	const char *name = rom_proto_opcode_name(op);
	c->commands++;
	c->last_fail = ROM_FAIL_NONE;
	c->last_status = c->last_error = 0;
	if (timeout_ms > ROM_TIMEOUT_MAX_MS)
		timeout_ms = ROM_TIMEOUT_MAX_MS;
	if (rom_conn_cancelled(c)) {
		c->last_fail = ROM_FAIL_CANCELLED;
		return err_set_msg(e, ERR_DEVICE, "cancelled");
	}
	rom_proto_encode_request(&pkt, op, data, len, checksum);
	c->tx.len = 0;
	slip_encode_frame(&c->tx, pkt.data, pkt.len);
	buf_free_data(&pkt);
	if (transport_write(c->t, c->tx.data, c->tx.len, 10000, e)) {
		c->last_fail = ROM_FAIL_LINK;
		err_prepend_context(e, "sending %s", name);
		goto out;
	}
	uint64_t deadline = transport_now_ms() + timeout_ms;
	slip_decoder_clear_noise(&c->dec);
	c->noise_checked = c->dec.noise_bytes;
	for (int skipped = 0; skipped < ROM_MAX_SKIPPED_FRAMES;) {
		const uint8_t *f;
		size_t fl;
		c->watch_reset = op != ROM_OP_SYNC;
		int r = rom_read_frame(c, deadline, &f, &fl, e);
		c->watch_reset = false;
		if (r < 0) {
			err_prepend_context(e, "waiting for the reply to %s", name);
			goto out;
		}
		if (r == 0) {
			c->last_fail = ROM_FAIL_TIMEOUT;
			err_set_msg(e, ERR_DEVICE, "no reply to %s within %u ms", name, timeout_ms);
			goto out;
		}
		struct rom_response rr;
		if (rom_proto_parse_response(f, fl, ROM_STATUS_LEN_ROM, &rr) != 0) {
			c->frames_skipped++;
			skipped++;
			continue;
		}
		if (rr.op != op) {
			if (rr.status != 0 && rr.error == ROM_ERR_BAD_MESSAGE) {
				/* The ROM answers an unknown command with a burst of rejects. */
				rom_drain(c, 50, 300);
				c->last_fail = ROM_FAIL_UNSUPPORTED;
				c->last_status = rr.status;
				c->last_error = rr.error;
				err_set_msg(e, ERR_DEVICE, "%s: %s", name,
					    rom_proto_describe_error(rr.status, rr.error));
				goto out;
			}
			c->frames_skipped++;
			skipped++;
			continue;
		}
		*resp = rr;
		if (rr.status != 0) {
			c->last_status = rr.status;
			c->last_error = rr.error;
			c->last_fail = rr.error == ROM_ERR_BAD_MESSAGE && rr.status == 1
					       ? ROM_FAIL_UNSUPPORTED
					       : ROM_FAIL_STATUS;
			err_set_msg(e, ERR_DEVICE, "%s failed: %s", name,
				    rom_proto_describe_error(rr.status, rr.error));
			goto out;
		}
		if (c->trace)
			c->trace(c->trace_ctx, op, ROM_FAIL_NONE);
		return 0;
	}
	c->last_fail = ROM_FAIL_TIMEOUT;
	err_set_msg(e, ERR_DEVICE, "no valid reply to %s among %d frames (line noise?)", name,
		    ROM_MAX_SKIPPED_FRAMES);
out:
	if (c->trace)
		c->trace(c->trace_ctx, op, c->last_fail);
	return -1;
}

/* After a retried command: discards a second answer to it (see rom_exec_retry). The reply is
 * copied first, as draining reuses the receive buffer its payload points into. */
static void rom_exec_drain_duplicate(rom_conn_t *c, struct rom_response *resp)
{
	if (resp->payload_len > sizeof c->reply_copy)
		return; /* no such command is retried; keep the reply rather than cut it */
	if (resp->payload_len)
		memmove(c->reply_copy, resp->payload, resp->payload_len);
	resp->payload = c->reply_copy;
	rom_drain(c, 50, 400);
}

/* Retries commands that are safe to repeat (reads, attach) on timeouts and corrupted replies.
 * A reply that was only late (a stalled line) arrives after the retry went out and is taken as
 * the retry's answer, which is the same; the retry's own answer then follows and would be taken
 * as the answer to the next command of the same opcode (the next register or flash block): so
 * after a retry that succeeds, the line is drained of such duplicates first. */
static int rom_exec_retry(rom_conn_t *c, uint8_t op, const uint8_t *data, size_t len,
			  unsigned timeout_ms, struct rom_response *resp, err_t *e)
{
	bool timed_out = false;
	for (int attempt = 0;; attempt++) {
		if (rom_cmd_execute(c, op, data, len, 0, timeout_ms, resp, e) == 0) {
			if (timed_out)
				rom_exec_drain_duplicate(c, resp);
			return 0;
		}
		/* The ROM rejects a command it does not know at once; a reject that only comes
		 * after a timeout is the tail of an earlier command's reject burst, held up on
		 * the line, not an answer to this one. */
		bool retryable = c->last_fail == ROM_FAIL_TIMEOUT ||
				 (c->last_fail == ROM_FAIL_UNSUPPORTED && timed_out) ||
				 (c->last_fail == ROM_FAIL_STATUS &&
				  (c->last_error == ROM_ERR_CHECKSUM ||
				   c->last_error == ROM_ERR_RECEIVE));
		timed_out |= c->last_fail == ROM_FAIL_TIMEOUT;
		if (!retryable || attempt >= 2)
			return -1;
		c->retries++;
		rom_conn_discard_input(c);
	}
}

int rom_cmd_sync(rom_conn_t *c, err_t *e)
{
	buf_t d = BUF_INIT;
	struct rom_response r;
	rom_proto_build_sync(&d);
	int rc = rom_cmd_execute(c, ROM_OP_SYNC, d.data, d.len, 0, ROM_TIMEOUT_SYNC_MS, &r, e);
	buf_free_data(&d);
	if (rc)
		return -1;
	/* The ROM answers one SYNC about eight times; swallow the echoes now so they cannot be
	 * mistaken for anything later. They follow the first reply back to back, so once the
	 * seven that esptool expects are in, waiting for a quiet line only loses time; a loader
	 * that sends fewer (the stub answers once) still ends the drain by the quiet timeout. */
	rom_drain_sync_echoes(c, ROM_SYNC_ECHOES, 30, 200);
	return 0;
}

int rom_cmd_read_reg(rom_conn_t *c, uint32_t addr, uint32_t *value, err_t *e)
{
	uint8_t d[4];
	struct rom_response r;
	rom_proto_put_u32(d, addr);
	if (rom_exec_retry(c, ROM_OP_READ_REG, d, 4, ROM_TIMEOUT_DEFAULT_MS, &r, e))
		return err_prepend_context(e, "reading register 0x%08x", addr);
	*value = r.value;
	return 0;
}

int rom_conn_read_reg_cb(void *ctx, uint32_t addr, uint32_t *value, err_t *e)
{
	return rom_cmd_read_reg(ctx, addr, value, e);
}

int rom_cmd_write_reg(rom_conn_t *c, uint32_t addr, uint32_t value, uint32_t mask,
		      uint32_t delay_us, err_t *e)
{
	buf_t d = BUF_INIT;
	struct rom_response r;
	rom_proto_build_write_reg(&d, addr, value, mask, delay_us);
	unsigned to = ROM_TIMEOUT_DEFAULT_MS + delay_us / 1000;
	int rc = rom_exec_retry(c, ROM_OP_WRITE_REG, d.data, d.len, to, &r, e);
	buf_free_data(&d);
	if (rc)
		return err_prepend_context(e, "writing register 0x%08x", addr);
	return 0;
}

int rom_cmd_write_regs(rom_conn_t *c, const struct rom_reg_write *w, size_t n, err_t *e)
{
	if (n == 0)
		return 0;
	buf_t d = BUF_INIT;
	struct rom_response r;
	unsigned delay_ms = 0;
	for (size_t i = 0; i < n; i++) {
		rom_proto_build_write_reg(&d, w[i].addr, w[i].value, w[i].mask, w[i].delay_us);
		delay_ms += w[i].delay_us / 1000;
	}
	int rc = rom_exec_retry(c, ROM_OP_WRITE_REG, d.data, d.len, ROM_TIMEOUT_DEFAULT_MS + delay_ms,
				&r, e);
	buf_free_data(&d);
	if (rc)
		return n == 1 ? err_prepend_context(e, "writing register 0x%08x", w[0].addr)
			      : err_prepend_context(e, "writing registers 0x%08x..0x%08x (%zu)",
						    w[0].addr, w[n - 1].addr, n);
	return 0;
}

int rom_cmd_spi_attach(rom_conn_t *c, uint32_t pins, err_t *e)
{
	uint8_t d[8] = {0};
	struct rom_response r;
	rom_proto_put_u32(d, pins);
	if (rom_exec_retry(c, ROM_OP_SPI_ATTACH, d, sizeof d, ROM_TIMEOUT_DEFAULT_MS, &r, e))
		return err_prepend_context(e, "attaching the SPI flash");
	return 0;
}

int rom_cmd_spi_set_params(rom_conn_t *c, uint32_t flash_size, err_t *e)
{
	uint32_t w[6] = {0, flash_size, 64 * 1024, 4 * 1024, 256, 0xFFFF};
	buf_t d = BUF_INIT;
	struct rom_response r;
	rom_proto_build_u32s(&d, w, 6);
	int rc = rom_exec_retry(c, ROM_OP_SPI_SET_PARAMS, d.data, d.len, ROM_TIMEOUT_DEFAULT_MS, &r, e);
	buf_free_data(&d);
	if (rc)
		return err_prepend_context(e, "setting the flash parameters");
	return 0;
}

int rom_cmd_get_security_info(rom_conn_t *c, struct rom_security_info *si, err_t *e)
{
	struct rom_response r;
	if (rom_exec_retry(c, ROM_OP_GET_SECURITY_INFO, NULL, 0, ROM_TIMEOUT_DEFAULT_MS, &r, e))
		return -1;
	if (rom_proto_parse_security_info(r.payload, r.payload_len, si))
		return err_set_msg(e, ERR_DEVICE,
				   "GET_SECURITY_INFO: unexpected reply length %zu (expected 20 or 12)",
				   r.payload_len);
	return 0;
}

static unsigned rom_timeout_per_mb(unsigned ms_per_mb, uint32_t size)
{
	uint64_t t = (uint64_t)ms_per_mb * size / (1024 * 1024);
	return t < ROM_TIMEOUT_DEFAULT_MS ? ROM_TIMEOUT_DEFAULT_MS
					  : (t > ROM_TIMEOUT_MAX_MS ? ROM_TIMEOUT_MAX_MS : (unsigned)t);
}

static int hexval(uint8_t ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

int rom_cmd_flash_md5(rom_conn_t *c, uint32_t addr, uint32_t size, uint8_t md5[16], err_t *e)
{
	uint32_t w[4] = {addr, size, 0, 0};
	uint8_t d[16];
	struct rom_response r;
	for (int i = 0; i < 4; i++)
		rom_proto_put_u32(d + 4 * i, w[i]);
	if (rom_exec_retry(c, ROM_OP_SPI_FLASH_MD5, d, sizeof d, rom_timeout_per_mb(8000, size), &r, e))
		return err_prepend_context(e, "computing the MD5 of flash 0x%x+0x%x", addr, size);
	if (r.payload_len == 16) { /* stub form */
		memcpy(md5, r.payload, 16);
		return 0;
	}
	if (r.payload_len != ROM_MD5_HEX_LEN) {
		c->last_fail = ROM_FAIL_BAD_REPLY;
		return err_set_msg(e, ERR_DEVICE, "SPI_FLASH_MD5: reply of %zu bytes, expected 32",
				   r.payload_len);
	}
	for (int i = 0; i < 16; i++) {
		int hi = hexval(r.payload[2 * i]), lo = hexval(r.payload[2 * i + 1]);
		if (hi < 0 || lo < 0) {
			c->last_fail = ROM_FAIL_BAD_REPLY;
			return err_set_msg(e, ERR_DEVICE, "SPI_FLASH_MD5: reply is not hex text");
		}
		md5[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

int rom_cmd_read_flash_slow(rom_conn_t *c, uint32_t addr, uint32_t len, uint8_t *out, err_t *e)
{
	uint8_t d[8];
	struct rom_response r;
	if (len > ROM_READ_SLOW_MAX)
		return err_set_msg(e, ERR_USAGE, "READ_FLASH_SLOW takes at most 64 bytes");
	rom_proto_put_u32(d, addr);
	rom_proto_put_u32(d + 4, len);
	if (rom_exec_retry(c, ROM_OP_READ_FLASH_SLOW, d, 8, ROM_TIMEOUT_DEFAULT_MS, &r, e))
		return err_prepend_context(e, "reading flash at 0x%x", addr);
	if (r.payload_len < len) {
		c->last_fail = ROM_FAIL_BAD_REPLY;
		return err_set_msg(e, ERR_DEVICE,
				   "READ_FLASH_SLOW at 0x%x: got %zu bytes, expected %u (serial errors?)",
				   addr, r.payload_len, len);
	}
	memcpy(out, r.payload, len);
	return 0;
}

int rom_cmd_flash_end(rom_conn_t *c, bool compressed, bool run_user_code, err_t *e)
{
	uint8_t d[4];
	struct rom_response r;
	rom_proto_put_u32(d, run_user_code ? 1 : 0);
	return rom_cmd_execute(c, compressed ? ROM_OP_FLASH_DEFL_END : ROM_OP_FLASH_END, d, 4, 0,
			       ROM_TIMEOUT_DEFAULT_MS, &r, e);
}

int rom_cmd_change_baud(rom_conn_t *c, unsigned xtal_mhz, unsigned baud, err_t *e)
{
	uint32_t wire = baud;
	if (c->chip && chip_rom_baud_value(c->chip, rom_conn_read_reg_cb, c, xtal_mhz, baud, &wire, e))
		return -1;
	uint8_t d[8];
	struct rom_response r;
	rom_proto_put_u32(d, wire);
	rom_proto_put_u32(d + 4, 0); /* ROM: 0; the stub wants the current rate */
	if (rom_cmd_execute(c, ROM_OP_CHANGE_BAUDRATE, d, 8, 0, ROM_TIMEOUT_DEFAULT_MS, &r, e))
		return err_prepend_context(e, "changing the baud rate to %u", baud);
	if (transport_set_baud(c->t, baud, e))
		return -1;
	/* On a real UART the line carries garbage while both sides switch (esptool waits 50 ms
	 * before flushing). A socket or pty carries bytes, not symbols: nothing to wait for. */
	if (transport_has_symbol_line(c->t))
		transport_sleep_ms(50);
	rom_conn_discard_input(c);
	return 0;
}

/* ---- reset sequences (rom-protocol.md §8) ---- */

static void lines(rom_conn_t *c, int dtr, int rts)
{
	err_t e = {0};
	transport_set_lines(c->t, dtr, rts, &e);
}

static void reset_classic(rom_conn_t *c, unsigned delay_ms)
{
	lines(c, 0, 1); /* boot pin high, EN low: in reset */
	transport_sleep_ms(100);
	lines(c, 1, 0); /* boot pin low, EN high: runs and samples the strap */
	transport_sleep_ms(delay_ms);
	lines(c, 0, -1);
}

static void reset_tight(rom_conn_t *c, unsigned delay_ms)
{
	lines(c, 0, 0);
	lines(c, 1, 1);
	lines(c, 0, 1);
	transport_sleep_ms(100);
	lines(c, 1, 0);
	transport_sleep_ms(delay_ms);
	lines(c, 0, 0);
	lines(c, 0, -1);
}

static void reset_usb_jtag(rom_conn_t *c)
{
	lines(c, 0, 0);
	transport_sleep_ms(100);
	lines(c, 1, 0);
	transport_sleep_ms(100);
	lines(c, 0, 1);
	lines(c, -1, 1); /* repeated RTS write propagates DTR on some drivers */
	transport_sleep_ms(100);
	lines(c, 0, 0);
}

enum rom_strategy { STRAT_NONE, STRAT_TIGHT_50, STRAT_TIGHT_550, STRAT_CLASSIC_50,
		    STRAT_CLASSIC_550, STRAT_USB_JTAG };

static void run_strategy(rom_conn_t *c, enum rom_strategy s)
{
	switch (s) {
	case STRAT_TIGHT_50: reset_tight(c, 50); break;
	case STRAT_TIGHT_550: reset_tight(c, 550); break;
	case STRAT_CLASSIC_50: reset_classic(c, 50); break;
	case STRAT_CLASSIC_550: reset_classic(c, 550); break;
	case STRAT_USB_JTAG: reset_usb_jtag(c); break;
	case STRAT_NONE: break;
	}
}

int rom_connect(rom_conn_t *c, enum rom_reset_mode mode, unsigned attempts, err_t *e)
{
	enum rom_strategy strats[4];
	size_t n = 0;
	if (!c->t->has_lines)
		mode = ROM_RESET_NONE; /* a socket or pty has no reset circuit (esptool: no_reset) */
	if (mode == ROM_RESET_DEFAULT && c->t->usb_vid == CHIP_USB_VID_ESPRESSIF &&
	    c->t->usb_pid == CHIP_USB_PID_SERIAL_JTAG)
		mode = ROM_RESET_USB_JTAG;
	switch (mode) {
	case ROM_RESET_NONE: strats[n++] = STRAT_NONE; break;
	case ROM_RESET_USB_JTAG: strats[n++] = STRAT_USB_JTAG; break;
	case ROM_RESET_DEFAULT:
		strats[n++] = STRAT_TIGHT_50;
		strats[n++] = STRAT_TIGHT_550;
		strats[n++] = STRAT_CLASSIC_50;
		strats[n++] = STRAT_CLASSIC_550;
		break;
	}
	if (attempts == 0)
		attempts = 7;
	bool saw_boot = false, saw_download = false;
	err_t last = {0};
	slip_decoder_clear_noise(&c->dec);
	for (unsigned a = 0; a < attempts; a++) {
		rom_conn_discard_input(c);
		if (strats[a % n] != STRAT_NONE) {
			run_strategy(c, strats[a % n]);
			/* collect the boot log the chip printed after reset (kept as SLIP noise) */
			const uint8_t *f;
			size_t fl;
			err_t re = {0};
			uint64_t dl = transport_now_ms() + 100;
			int rr;
			while ((rr = rom_read_frame(c, dl, &f, &fl, &re)) > 0)
				;
			if (rr < 0)
				return err_set_msg(e, ERR_DEVICE, "%s", re.msg);
			char noise[SLIP_NOISE_KEEP + 1];
			slip_decoder_noise_text(&c->dec, noise, sizeof noise);
			if (strstr(noise, "boot:0x") || strstr(noise, "rst:0x"))
				saw_boot = true;
			if (strstr(noise, "waiting for download") || strstr(noise, "DOWNLOAD"))
				saw_download = true;
		}
		for (int s = 0; s < 5; s++) {
			if (s) {
				err_t fe = {0};
				transport_flush_input(c->t, &fe);
				c->rx_pos = c->rx_len = 0;
			}
			if (rom_cmd_sync(c, &last) == 0)
				return 0;
			if (c->last_fail == ROM_FAIL_LINK || c->last_fail == ROM_FAIL_CANCELLED)
				return err_set_msg(e, ERR_DEVICE, "%s", last.msg);
			transport_sleep_ms(50);
		}
	}
	if (saw_download)
		return err_set_msg(e, ERR_DEVICE,
				   "%s: the chip is in download mode but does not answer SYNC: check "
				   "the chip-to-host (TX) line and the baud rate",
				   c->t->name);
	if (saw_boot)
		return err_set_msg(e, ERR_DEVICE,
				   "%s: the chip booted normally instead of entering download mode: "
				   "hold BOOT (GPIO0/GPIO9) low while resetting, or check the "
				   "auto-reset circuit",
				   c->t->name);
	return err_set_msg(e, ERR_DEVICE,
			   "%s: no answer from the chip after %u attempts (reset mode %s): check the "
			   "cable, the port, power, and that the board is in download mode",
			   c->t->name, attempts, rom_reset_mode_name(mode));
}

int rom_reset_after(rom_conn_t *c, enum rom_after after, err_t *e)
{
	(void)e;
	if (after == ROM_AFTER_NO_RESET || !c->t->has_lines)
		return 0;
	bool usb = c->t->usb_vid == CHIP_USB_VID_ESPRESSIF;
	lines(c, -1, 1);
	transport_sleep_ms(usb ? 200 : 100);
	lines(c, -1, 0);
	if (usb)
		transport_sleep_ms(200);
	return 0;
}

const char *rom_reset_mode_name(enum rom_reset_mode m)
{
	switch (m) {
	case ROM_RESET_DEFAULT: return "default-reset";
	case ROM_RESET_USB_JTAG: return "usb-reset";
	case ROM_RESET_NONE: return "no-reset";
	}
	return "?";
}

int rom_reset_mode_parse(const char *s, enum rom_reset_mode *m)
{
	if (!strcasecmp(s, "default-reset") || !strcasecmp(s, "default_reset"))
		*m = ROM_RESET_DEFAULT;
	else if (!strcasecmp(s, "usb-reset") || !strcasecmp(s, "usb_reset"))
		*m = ROM_RESET_USB_JTAG;
	else if (!strcasecmp(s, "no-reset") || !strcasecmp(s, "no_reset"))
		*m = ROM_RESET_NONE;
	else
		return -1;
	return 0;
}

int rom_after_parse(const char *s, enum rom_after *a)
{
	if (!strcasecmp(s, "hard-reset") || !strcasecmp(s, "hard_reset"))
		*a = ROM_AFTER_HARD_RESET;
	else if (!strcasecmp(s, "no-reset") || !strcasecmp(s, "no_reset") ||
		 !strcasecmp(s, "no-reset-stub") || !strcasecmp(s, "no_reset_stub"))
		*a = ROM_AFTER_NO_RESET;
	else
		return -1;
	return 0;
}
