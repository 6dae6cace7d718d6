/* sim_regs: register map of the simulated chip (see sim_regs.h). */
#include "sim/sim_regs.h"

#include <stdlib.h>
#include <string.h>

#include "core/buf.h"

#define SPI_CMD_USR (1u << 18)
#define SPIFLASH_RDID 0x9F

void sim_regs_init(sim_regs_t *r, const struct chip_desc *chip, sim_efuse_t *efuse,
		   const sim_flash_t *flash, unsigned xtal_mhz)
{
	memset(r, 0, sizeof(*r));
	r->chip = chip;
	r->efuse = efuse;
	r->flash = flash;
	r->xtal_mhz = xtal_mhz;
	r->uart_baud = 115200;
}

void sim_regs_free(sim_regs_t *r)
{
	free(r->store);
	r->store = NULL;
	r->n = r->cap = 0;
}

void sim_regs_reset(sim_regs_t *r)
{
	r->n = 0;
	r->uart_baud = 115200;
}

static struct sim_reg_entry *regs_find(sim_regs_t *r, uint32_t addr)
{
	for (size_t i = 0; i < r->n; i++)
		if (r->store[i].addr == addr)
			return &r->store[i];
	return NULL;
}

static uint32_t regs_plain(sim_regs_t *r, uint32_t addr)
{
	struct sim_reg_entry *x = regs_find(r, addr);
	return x ? x->value : 0;
}

static void regs_set_plain(sim_regs_t *r, uint32_t addr, uint32_t value)
{
	struct sim_reg_entry *x = regs_find(r, addr);
	if (!x) {
		if (r->n == r->cap) {
			r->cap = r->cap ? 2 * r->cap : 64;
			r->store = realloc(r->store, r->cap * sizeof(*r->store));
			if (!r->store)
				abort();
		}
		x = &r->store[r->n++];
		x->addr = addr;
	}
	x->value = value;
}

/* The SPI user-command engine: CMD.USR runs the command in USER2 and completes at once. Only
 * RDID returns data (the JEDEC id into W0); status reads return 0 (not busy, no protection). */
static void regs_spi_user_command(sim_regs_t *r)
{
	const struct chip_spi_regs *s = &r->chip->spi;
	uint32_t user2 = regs_plain(r, s->base + s->user2);
	uint8_t cmd = (uint8_t)(user2 & 0xFF);
	uint32_t w0 = 0;
	if (cmd == SPIFLASH_RDID)
		w0 = sim_flash_jedec_id(r->flash);
	regs_set_plain(r, s->base + s->w0, w0);
	regs_set_plain(r, s->base + s->cmd, 0);
}

uint32_t sim_regs_read(sim_regs_t *r, uint32_t addr, int64_t now_us)
{
	if (sim_efuse_owns(r->efuse, addr))
		return sim_efuse_read_reg(r->efuse, addr, now_us);
	if (addr == CHIP_MAGIC_REG)
		return r->chip->magic[0];
	if (r->chip->uart_clkdiv_reg && addr == r->chip->uart_clkdiv_reg)
		return (uint32_t)((uint64_t)r->xtal_mhz * 1000000u / r->uart_baud) & 0xFFFFF;
	if (r->chip->type == CHIP_ESP32) {
		if (addr == SIM_ESP32_APB_CTRL_DATE)
			return 0x80000000u | 0x16042000u; /* revision bit 2 set: ESP32 v3 */
		if (addr == SIM_ESP32_RTCCALICFG1)
			return (r->xtal_mhz == 26 ? SIM_ESP32_RTC_CALI_26 : SIM_ESP32_RTC_CALI_40) << 7;
	}
	return regs_plain(r, addr);
}

int sim_regs_write(sim_regs_t *r, uint32_t addr, uint32_t value, int64_t now_us, err_t *e)
{
	if (sim_efuse_owns(r->efuse, addr))
		return sim_efuse_write_reg(r->efuse, addr, value, now_us, e);
	if (addr == CHIP_MAGIC_REG)
		return 0; /* mask ROM */
	regs_set_plain(r, addr, value);
	const struct chip_spi_regs *s = &r->chip->spi;
	if (addr == s->base + s->cmd && (value & SPI_CMD_USR))
		regs_spi_user_command(r);
	return 0;
}
