/* sim_efuse: the eFuse array and its controller as the ROM loader sees them through READ_REG and
 * WRITE_REG: program window (PGM_DATA/CHECK_VALUE, or ESP32's per-block write registers), CONF
 * opcodes, CMD with a busy time, shadow read registers reloaded by READ_CMD, Reed-Solomon check
 * values stored as burned and verified on reload (RD_RS_ERR), WR_DIS/RD_DIS enforced. Bits only
 * go 0→1. The burned state is written to a file after every program command. */
#ifndef ESPFAB_SIM_EFUSE_H
#define ESPFAB_SIM_EFUSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "loader/chip.h"
#include "sim/sim_efuse_defs.h"

#define SIM_EFUSE_MAX_BLOCKS 11
#define SIM_EFUSE_WINDOW 0x200u /* controller register window scanned from the eFuse base */
/* A program command keeps CMD busy this long (the hardware times VDDQ pulses per bit group;
 * a few ms per block is typical); a read (shadow reload) is short. */
#define SIM_EFUSE_PGM_US 4000
#define SIM_EFUSE_READ_US 100

typedef struct sim_efuse {
	const struct chip_desc *chip;
	const struct efuse_layout *lay;
	const struct sim_efuse_defs *defs;
	uint32_t raw[SIM_EFUSE_MAX_BLOCKS][8];   /* burned bits */
	uint8_t check[SIM_EFUSE_MAX_BLOCKS][12]; /* burned RS parity bytes */
	uint32_t shadow[SIM_EFUSE_MAX_BLOCKS][8]; /* read registers, as of the last reload */
	uint32_t wr[SIM_EFUSE_MAX_BLOCKS][8];    /* ESP32: per-block write registers */
	uint32_t pgm[11];                        /* GEN2/C2: PGM_DATA0..7, CHECK_VALUE0..2 */
	uint32_t regs[SIM_EFUSE_WINDOW / 4];     /* every other controller register, as written */
	uint32_t conf;
	uint32_t cmd;
	int64_t busy_until_us;
	uint32_t rs_err[2];
	char *path; /* NULL: state lives in memory only */
} sim_efuse_t;

/* Loads the state from path, or creates a factory-fresh chip there (path NULL: in memory only):
 * all zero but the factory MAC (mac, or a random Espressif-OUI one when NULL) and the chip
 * revision the simulator reports. */
int sim_efuse_open(sim_efuse_t *ef, const struct chip_desc *chip, const char *path,
		   const uint8_t *mac, err_t *e);
void sim_efuse_close(sim_efuse_t *ef);
/* Size of the state file for this chip (block data, then the RS parity of RS-coded blocks). */
size_t sim_efuse_file_size(const struct chip_desc *chip);
int sim_efuse_save(sim_efuse_t *ef, err_t *e);

/* Whether addr belongs to the eFuse controller window. */
bool sim_efuse_owns(const sim_efuse_t *ef, uint32_t addr);
uint32_t sim_efuse_read_reg(sim_efuse_t *ef, uint32_t addr, int64_t now_us);
/* now_us < 0 means "no timing": commands complete at once. */
int sim_efuse_write_reg(sim_efuse_t *ef, uint32_t addr, uint32_t value, int64_t now_us, err_t *e);
/* Chip reset: the shadow registers are reloaded from the array, the controller is idle. */
void sim_efuse_reset(sim_efuse_t *ef);

/* A BLOCK0-or-other field read from the burned array (not the shadow), 0 when the chip lacks it. */
uint32_t sim_efuse_get_field(const sim_efuse_t *ef, enum efuse_field_id f);
/* Whether the block with this index (into layout->blocks) is read-protected (any half). */
bool sim_efuse_block_read_protected(const sim_efuse_t *ef, int idx);
/* Burned data of block idx (8 words; unused words zero), regardless of read protection: the
 * hardware's own view, for chip-side encryption. */
const uint32_t *sim_efuse_block_raw(const sim_efuse_t *ef, int idx);
/* Key purpose of key index n (GEN2), -1 on chips without purpose fields. */
int sim_efuse_key_purpose(const sim_efuse_t *ef, unsigned n);

#endif
