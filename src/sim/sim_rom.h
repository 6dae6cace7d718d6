/* sim_rom: the mask-ROM serial download loader of one simulated chip. It takes one decoded request
 * at a time and produces the response packets the real ROM would send (SYNC's repeated replies,
 * the repeated reject frame for commands it does not know, 4 status bytes), the time the operation
 * takes on silicon (flash erase/program, MD5, WRITE_REG delays), and side effects on the link
 * (baud change, leaving the loader). Flash and eFuse live in sim_flash / sim_efuse. */
#ifndef ESPFAB_SIM_ROM_H
#define ESPFAB_SIM_ROM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <zlib.h>

#include "core/buf.h"
#include "core/err.h"
#include "loader/chip.h"
#include "loader/rom_proto.h"
#include "sim/sim_efuse.h"
#include "sim/sim_flash.h"
#include "sim/sim_regs.h"

/* Replies the ROM sends to one SYNC, and the repeats of its reject frame (rom-protocol.md §2). */
#define SIM_ROM_SYNC_REPLIES 8
#define SIM_ROM_REJECT_REPEATS 8
/* The "value" word of the ROM's SYNC reply (non-zero marks the ROM rather than the stub). */
#define SIM_ROM_SYNC_VALUE 0x20120707u
/* Flash size the ROM assumes until SPI_SET_PARAMS tells it otherwise. */
#define SIM_ROM_DEFAULT_FLASH_PARAM (2u * 1024u * 1024u)
/* Largest FLASH_DATA block the ROM's buffer takes, and the MEM_DATA one. */
#define SIM_ROM_MAX_FLASH_BLOCK 0x400u
#define SIM_ROM_MAX_MEM_BLOCK 0x1800u

enum sim_rom_mode {
	SIM_ROM_IDLE,
	SIM_ROM_FLASH,
	SIM_ROM_DEFL,
	SIM_ROM_MEM,
};

/* What handling one request produced. */
struct sim_rom_out {
	buf_t pkt[SIM_ROM_SYNC_REPLIES > SIM_ROM_REJECT_REPEATS ? SIM_ROM_SYNC_REPLIES : SIM_ROM_REJECT_REPEATS];
	size_t n_pkt;
	int64_t busy_us;     /* silicon time before the (first) reply leaves */
	uint32_t new_baud;   /* switch the UART to this rate after sending (0: no change) */
	bool left_loader;    /* the ROM jumped to user code after replying */
	uint8_t status, error; /* of the (first) reply, for the log */
	bool rejected;       /* answered with the unknown-command reject */
	bool ignored;        /* no reply at all */
};

typedef struct sim_rom {
	const struct chip_desc *chip;
	unsigned xtal_mhz;
	sim_flash_t *flash;
	sim_efuse_t *efuse;
	sim_regs_t regs;
	bool throttle;

	bool synced;
	bool running_app;   /* left the loader: nothing answers until a reset */
	bool spi_attached;
	uint32_t flash_param_size;
	uint8_t last_op;    /* last recognised command: echoed by the reject frame */

	enum sim_rom_mode mode;
	uint32_t dl_offset, dl_size, dl_blocks, dl_block_size, dl_seq;
	bool dl_encrypt;
	uint32_t dl_written; /* DEFL: uncompressed bytes written so far */
	uint8_t carry[16];   /* encrypted DEFL: inflated bytes short of a 16-byte AES block */
	size_t carry_len;
	z_stream zs;
	bool zs_live;
	bool zs_done;
	uint32_t mem_addr, mem_size;
} sim_rom_t;

void sim_rom_init(sim_rom_t *r, const struct chip_desc *chip, unsigned xtal_mhz, sim_flash_t *flash,
		  sim_efuse_t *efuse, bool throttle);
void sim_rom_free(sim_rom_t *r);
/* Power-on / chip reset: back to the ROM waiting for SYNC at 115200 baud. */
void sim_rom_reset(sim_rom_t *r);
/* Secure Download Mode, as the ROM evaluates it from the eFuse read registers. */
bool sim_rom_in_sdm(const sim_rom_t *r);
/* Whether eFuses forbid the download loader altogether (checked at boot). */
bool sim_rom_download_disabled(const sim_rom_t *r);
/* The text the ROM prints on the UART at boot (at 115200 baud) before it waits for SYNC. */
const char *sim_rom_boot_banner(const sim_rom_t *r);

/* Handles one request frame (unframed bytes). out must be zeroed by sim_rom_out_clear. */
void sim_rom_handle(sim_rom_t *r, const uint8_t *frame, size_t len, int64_t now_us,
		    struct sim_rom_out *out);
void sim_rom_out_clear(struct sim_rom_out *out);
void sim_rom_out_free(struct sim_rom_out *out);

#endif
