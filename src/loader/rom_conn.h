/* rom_conn: a command/response session with the ROM serial bootloader over a transport: SLIP
 * framing, matching replies to requests (skipping the ROM's repeated SYNC answers, boot noise
 * and corrupted frames), timeouts, cancellation, the reset sequences and the connect loop that
 * rotates them (rom-protocol.md §2, §7-§9). One command helper per ROM opcode. No printing. */
#ifndef ESPFAB_LOADER_ROM_CONN_H
#define ESPFAB_LOADER_ROM_CONN_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"
#include "link/slip.h"
#include "link/transport.h"
#include "loader/chip.h"
#include "loader/rom_proto.h"

#define ROM_TIMEOUT_DEFAULT_MS 3000u
#define ROM_TIMEOUT_SYNC_MS 100u
#define ROM_TIMEOUT_MAX_MS 240000u

/* How a failed command failed, for callers that retry or fall back. */
enum rom_fail {
	ROM_FAIL_NONE,
	ROM_FAIL_TIMEOUT,     /* no matching reply in time */
	ROM_FAIL_STATUS,      /* reply with status != 0 (see last_status / last_error) */
	ROM_FAIL_UNSUPPORTED, /* ROM does not know / refuses the command */
	ROM_FAIL_LINK,        /* transport error: device gone */
	ROM_FAIL_RESET,       /* the chip printed its boot banner: it reset under us */
	ROM_FAIL_CANCELLED,
	ROM_FAIL_BAD_REPLY,   /* a reply arrived but its payload is malformed (short, not hex): noise */
};

enum rom_reset_mode {
	ROM_RESET_DEFAULT,  /* DTR/RTS auto-reset circuit (tight + classic, rotating) */
	ROM_RESET_USB_JTAG, /* USB-Serial-JTAG sequence */
	ROM_RESET_NONE,     /* chip already in the loader */
};

enum rom_after {
	ROM_AFTER_HARD_RESET, /* RTS pulse: run the new firmware */
	ROM_AFTER_NO_RESET,   /* stay in the loader */
};

typedef struct rom_conn {
	transport_t *t;
	slip_decoder_t dec;
	uint8_t rx[4096];
	size_t rx_pos, rx_len;
	buf_t tx;
	const struct chip_desc *chip; /* set by detection */
	bool secure_download;         /* SDM: most commands refused */
	const atomic_int *cancel;     /* optional: non-zero aborts at the next wait */
	enum rom_fail last_fail;
	uint8_t last_status, last_error;
	/* statistics */
	unsigned long commands, retries, frames_skipped, resets_seen;
	unsigned long noise_checked; /* decoder noise count already scanned for a boot banner */
	bool watch_reset;            /* a boot banner aborts the current wait */
	uint8_t reply_copy[128];     /* a retried command's reply, kept while duplicates are drained */
	/* trace hook (tests/bench): called for each command with its opcode and outcome */
	void (*trace)(void *ctx, uint8_t op, enum rom_fail fail);
	void *trace_ctx;
} rom_conn_t;

void rom_conn_init(rom_conn_t *c, transport_t *t);
void rom_conn_free(rom_conn_t *c); /* does not close the transport */
/* Drops whatever has arrived and not been taken: the port's input, the receive buffer and a
 * half-decoded frame. */
void rom_conn_discard_input(rom_conn_t *c);
bool rom_conn_cancelled(const rom_conn_t *c);

/* Sends one request and waits for its reply. On success *resp describes it (pointers valid
 * until the next command). On failure sets last_fail and an err_t naming the command. */
int rom_cmd_execute(rom_conn_t *c, uint8_t op, const uint8_t *data, size_t len,
		    uint32_t checksum, unsigned timeout_ms, struct rom_response *resp, err_t *e);

int rom_cmd_sync(rom_conn_t *c, err_t *e);
int rom_cmd_read_reg(rom_conn_t *c, uint32_t addr, uint32_t *value, err_t *e);
int rom_cmd_write_reg(rom_conn_t *c, uint32_t addr, uint32_t value, uint32_t mask,
		      uint32_t delay_us, err_t *e);
/* One WRITE_REG carrying several 16-byte groups, which the ROM applies in order
 * (rom-protocol.md §5.3): one round trip instead of n. Safe to repeat, like a single write. */
struct rom_reg_write {
	uint32_t addr, value, mask, delay_us;
};
int rom_cmd_write_regs(rom_conn_t *c, const struct rom_reg_write *w, size_t n, err_t *e);
int rom_cmd_spi_attach(rom_conn_t *c, uint32_t pins, err_t *e);
int rom_cmd_spi_set_params(rom_conn_t *c, uint32_t flash_size, err_t *e);
/* 20- or 12-byte payload; ROM_FAIL_UNSUPPORTED on ESP32. */
int rom_cmd_get_security_info(rom_conn_t *c, struct rom_security_info *si, err_t *e);
int rom_cmd_flash_md5(rom_conn_t *c, uint32_t addr, uint32_t size, uint8_t md5[16], err_t *e);
/* len ≤ 64 */
int rom_cmd_read_flash_slow(rom_conn_t *c, uint32_t addr, uint32_t len, uint8_t *out, err_t *e);
/* FLASH_END / FLASH_DEFL_END: the ROM leaves the loader afterwards (reboot, or run the user
 * code); not needed to complete a ROM write, so the flasher does not send it. */
int rom_cmd_flash_end(rom_conn_t *c, bool compressed, bool run_user_code, err_t *e);
/* Sends CHANGE_BAUDRATE with the chip's clock correction, then switches the host side. On a
 * serial adapter it then waits 50 ms for the line to settle (esptool's pause); on a socket or
 * pty, which carry whole bytes, it only flushes. */
int rom_cmd_change_baud(rom_conn_t *c, unsigned xtal_mhz, unsigned baud, err_t *e);

/* Adapter for chip.h decoders: ctx = rom_conn_t*. */
int rom_conn_read_reg_cb(void *ctx, uint32_t addr, uint32_t *value, err_t *e);

/* Resets the chip into the loader (per mode) and SYNCs, rotating strategies as esptool does;
 * attempts 0 = 7. Per transport: a serial adapter gets the reference's DTR/RTS sequences and
 * delays unchanged (tight/classic 50 and 550 ms, USB-Serial-JTAG 3 x 100 ms, 100 ms boot-log
 * read); a socket or pty has no reset lines (has_lines false), so no sequence and no delay,
 * SYNC at once, as esptool forces no_reset on sockets. The error explains what was seen (boot log without download mode ⇒ strap;
 * download mode but no reply ⇒ TX line). */
int rom_connect(rom_conn_t *c, enum rom_reset_mode mode, unsigned attempts, err_t *e);
/* Leaves the loader per `after` (RTS pulse) */
int rom_reset_after(rom_conn_t *c, enum rom_after after, err_t *e);

const char *rom_reset_mode_name(enum rom_reset_mode m);
int rom_reset_mode_parse(const char *s, enum rom_reset_mode *m);
int rom_after_parse(const char *s, enum rom_after *a);

#endif
