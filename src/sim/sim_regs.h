/* sim_regs: the address space READ_REG/WRITE_REG reach: the chip-detect magic word, UART clock
 * divider, ESP32 calibration and date registers, the SPI flash controller's user-command engine
 * (RDID for flash id detection), the eFuse controller (sim_efuse), and a plain store for every
 * other register (watchdog keys and the like read back what was written, 0 otherwise). */
#ifndef ESPFAB_SIM_REGS_H
#define ESPFAB_SIM_REGS_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "loader/chip.h"
#include "sim/sim_efuse.h"
#include "sim/sim_flash.h"

/* ESP32: APB_CTRL_DATE (bit 31 = chip revision bit 2) and the RTC calibration register whose
 * value, with eFuse CK8M_FREQ, gives the ROM's crystal estimate (rom-protocol.md §5.7). */
#define SIM_ESP32_APB_CTRL_DATE 0x3FF6607Cu
#define SIM_ESP32_RTCCALICFG1 0x3FF5F06Cu
/* The ROM's estimate of the crystal is 0.5 % high on the simulated ESP32 (1608 × 15625 × 64 /
 * 40 = 40.2 MHz for a 40 MHz crystal), so CHANGE_BAUDRATE values need esptool's correction. */
#define SIM_ESP32_CK8M_FREQ 64u
#define SIM_ESP32_RTC_CALI_40 1608u
#define SIM_ESP32_RTC_CALI_26 1045u

struct sim_reg_entry {
	uint32_t addr;
	uint32_t value;
};

typedef struct sim_regs {
	const struct chip_desc *chip;
	sim_efuse_t *efuse;
	const sim_flash_t *flash;
	unsigned xtal_mhz;
	uint32_t uart_baud; /* the UART's current rate, for the clock divider register */
	struct sim_reg_entry *store;
	size_t n, cap;
} sim_regs_t;

void sim_regs_init(sim_regs_t *r, const struct chip_desc *chip, sim_efuse_t *efuse,
		   const sim_flash_t *flash, unsigned xtal_mhz);
void sim_regs_free(sim_regs_t *r);
/* Chip reset: every plain register back to 0. */
void sim_regs_reset(sim_regs_t *r);
uint32_t sim_regs_read(sim_regs_t *r, uint32_t addr, int64_t now_us);
int sim_regs_write(sim_regs_t *r, uint32_t addr, uint32_t value, int64_t now_us, err_t *e);

#endif
