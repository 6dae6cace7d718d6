/* loader: a provisioning-grade session with a chip in its ROM loader: open the port, connect
 * (reset + SYNC), identify the chip (security info / magic register, revision, MAC, crystal,
 * flash id and size, eFuse security state), switch baud, and hand out register access for the
 * eFuse module. Runs on a worker thread: never prints, reports through err_t, cancellable. */
#ifndef ESPFAB_LOADER_LOADER_H
#define ESPFAB_LOADER_LOADER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"
#include "link/transport.h"
#include "loader/chip.h"
#include "loader/efuse.h"
#include "loader/rom_conn.h"

struct loader_opts {
	const char *port;          /* device path, pty path or socket://HOST:PORT */
	unsigned baud;             /* working baud after connect; 0 = stay at 115200 */
	enum rom_reset_mode before;
	enum rom_after after;
	unsigned connect_attempts; /* 0 = 7 */
	const atomic_int *cancel;  /* optional */
};

void loader_opts_init(struct loader_opts *o);
/* Consumes a connection option at argv[*i] (--port/-p, --baud/-b, --before, --after,
 * --connect-attempts; also --opt=value and single-dash spellings) for the CLI front ends.
 * Returns 1 when consumed (*i advanced past any value), 0 when argv[*i] is not one, -1 on a
 * bad value (ERR_USAGE). */
int loader_opts_parse_arg(struct loader_opts *o, int argc, char **argv, int *i, err_t *e);
/* A --baud value (decimal, 9600..5000000), for front ends that take --baud among options of
 * their own: 0, or -1 with ERR_USAGE naming the value. */
int loader_parse_baud(const char *val, unsigned *baud, err_t *e);

struct loader_chip_info {
	const struct chip_desc *chip;
	unsigned rev_major, rev_minor;
	uint8_t mac[6];
	bool has_mac;
	bool has_mac_ext;
	uint8_t mac_ext[2];
	unsigned xtal_mhz;
	uint32_t flash_id;      /* JEDEC: manufacturer | type << 8 | capacity << 16 */
	uint32_t flash_size;    /* bytes; 0 = unknown */
	bool flash_size_guessed; /* flash id not recognised: 4 MB assumed */
	bool secure_download;   /* SDM: no register access, no MD5, no read-back */
	bool has_secinfo;
	struct rom_security_info secinfo;
	bool has_efuse;         /* eFuse state below is valid (not in SDM) */
	struct efuse_security security;
	struct efuse_dump efuse;
	/* efuse above is two agreeing reads of the current eFuses (confirmed at connect, or the
	 * state a burn verified): a burn decision may rest on it without reading again. Whoever
	 * burns through efuse_io directly, not through loader_burn_*, must loader_refresh_efuse. */
	bool efuse_confirmed;
	uint64_t identified_ms; /* port open → chip type, revision and MAC known */
	uint64_t connect_ms;    /* port open → session ready (eFuses read, flash attached) */
};

typedef struct loader {
	transport_t *t;
	rom_conn_t conn;
	struct loader_opts opts;
	struct loader_chip_info info;
	struct efuse_io efuse_io;
} loader_t;

/* Opens the port, connects, identifies the chip and switches to opts->baud. On failure nothing
 * stays open. */
int loader_open(loader_t *l, const struct loader_opts *opts, err_t *e);
/* Runs opts.after (hard reset or not) and closes the port. Safe on a failed/closed loader. */
void loader_close(loader_t *l);

/* Re-establishes the session after a chip reset or a lost reply stream: SYNC at 115200 again,
 * re-attach the flash, restore the baud. */
int loader_resync(loader_t *l, err_t *e);
/* A READ_REG reply carries no checksum: a bit error on the line changes a register value
 * unnoticed. Before decisions that rest on the MAC (the device's identity) and the eFuse state
 * (what may be burned), this reads them again until two passes agree (at most three more) and
 * keeps that result; ERR_DEVICE when they never agree. No-op in Secure Download Mode. */
int loader_confirm_details(loader_t *l, err_t *e);
/* Re-reads the eFuses into l->info (after a burn). */
int loader_refresh_efuse(loader_t *l, err_t *e);
/* Makes l->info.efuse two agreeing reads of the current eFuses: no read when it already is
 * (info.efuse_confirmed), else reads until two passes agree. Refused in SDM. */
int loader_confirm_efuse(loader_t *l, err_t *e);

/* Identification alone, on an already connected rom_conn (exposed for tests). */
int loader_detect_chip(rom_conn_t *c, struct loader_chip_info *info, err_t *e);
/* Reads the SPI flash JEDEC id through the SPI user-command registers (chips.md §7). */
int loader_read_flash_id(rom_conn_t *c, const struct chip_desc *chip, uint32_t *id, err_t *e);

/* "ESP32-C3 (revision v0.4)" etc. into out. */
const char *loader_describe_chip(const struct loader_chip_info *info, char *out, size_t n);

/* eFuse key burning on the connected chip: plan (fills xtal and revision from the session,
 * checks against the eFuses read at connect) then burn + re-read. Refused in SDM. */
int loader_plan_key(loader_t *l, struct efuse_burn_req *req, struct efuse_key_plan *plan,
		    err_t *e);
/* Burns; if the link drops or the chip resets midway, reconnects and finishes the same plan
 * (efuse_plan_refresh) — at most two recoveries. */
int loader_burn_key(loader_t *l, const struct efuse_key_plan *plan, err_t *e);
/* BLOCK0 field burning on the connected chip (refused in SDM): efuse_plan_fields on a fresh
 * read, then efuse_burn_fields; a dropped link or reset midway is recovered and the same writes
 * re-planned, so only missing bits are burned (at most two recoveries). A burn that enables
 * Secure Download Mode is verified through GET_SECURITY_INFO. */
int loader_plan_fields(loader_t *l, const struct efuse_field_write *w, size_t n,
		       struct efuse_field_plan *plan, err_t *e);
int loader_burn_fields(loader_t *l, struct efuse_field_plan *plan, err_t *e);

/* Reconnects after a dropped link or a chip reset: reopens the port if needed, SYNCs, re-attaches
 * the flash and restores the baud. */
int loader_recover(loader_t *l, err_t *e);

#endif
