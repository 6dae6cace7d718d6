/* sim_efuse_defs: per-chip write-protect groups of BLOCK0 (which WR_DIS bit protects
 * which BLOCK0 bits), the one eFuse fact the simulator needs beyond the shared chip table. */
#ifndef ESPFAB_SIM_EFUSE_DEFS_H
#define ESPFAB_SIM_EFUSE_DEFS_H

#include <stddef.h>
#include <stdint.h>

/* BLOCK0 word `word` bits `mask` are write-protected by WR_DIS bit `wr_dis_bit`. */
struct sim_efuse_wrdis {
	uint8_t wr_dis_bit;
	uint8_t word;
	uint32_t mask;
};

struct sim_efuse_defs {
	const char *chip;
	const struct sim_efuse_wrdis *wrdis;
	size_t n_wrdis;
};

/* Terminated by an entry with chip NULL. */
extern const struct sim_efuse_defs sim_efuse_defs_table[];

#endif
