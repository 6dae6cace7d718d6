/* sim_efuse: eFuse controller model (see sim_efuse.h). */
#include "sim/sim_efuse.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/buf.h"
#include "core/fileio.h"
#include "core/rng.h"
#include "loader/efuse_rs.h"

/* Chip revision and factory calibration markers the simulator burns into a fresh chip
 * (chips.md §5): ESP32 v3.0, S2 v1.0, S3 v0.2, C2 v1.0, C3 v0.4, C6 v0.1, H2 v0.1. */
struct efuse_factory_bits {
	enum chip_type type;
	uint8_t block; /* index into layout->blocks */
	uint8_t word;
	uint32_t bits;
};

static const struct efuse_factory_bits efuse_factory[] = {
	{CHIP_ESP32, 0, 3, 1u << 15}, /* major bit0; bit2 is APB_CTRL_DATE bit 31 (sim_regs) */
	{CHIP_ESP32, 0, 5, 1u << 20}, /* major bit1 */
	{CHIP_ESP32, 0, 4, 64u},      /* CK8M_FREQ, see SIM_ESP32_CK8M_FREQ */
	{CHIP_ESP32S2, 1, 3, 1u << 18},
	{CHIP_ESP32S3, 1, 3, 2u << 18},
	{CHIP_ESP32C2, 2, 1, 1u << 20},
	{CHIP_ESP32C3, 1, 3, 4u << 18},
	{CHIP_ESP32C6, 1, 3, 1u << 18},
	{CHIP_ESP32H2, 1, 3, 1u << 18},
};

static const struct efuse_block_desc *efuse_block(const sim_efuse_t *ef, int idx)
{
	return &ef->lay->blocks[idx];
}

static bool efuse_block_is_rs(const sim_efuse_t *ef, int idx)
{
	return efuse_block(ef, idx)->coding == EFUSE_CODING_RS;
}

size_t sim_efuse_file_size(const struct chip_desc *chip)
{
	const struct efuse_layout *lay = chip->efuse;
	size_t n = 0;
	for (int i = 0; i < lay->n_blocks; i++) {
		n += 4u * lay->blocks[i].words;
		if (lay->blocks[i].coding == EFUSE_CODING_RS)
			n += 12;
	}
	return n;
}

uint32_t sim_efuse_get_field(const sim_efuse_t *ef, enum efuse_field_id f)
{
	const struct efuse_field_desc *d = chip_efuse_field(ef->chip, f);
	if (!d || !d->width)
		return 0;
	uint64_t w = ef->raw[d->block][d->word];
	if (d->bit + d->width > 32 && d->word + 1 < 8)
		w |= (uint64_t)ef->raw[d->block][d->word + 1] << 32;
	uint64_t mask = d->width >= 64 ? ~0ull : ((1ull << d->width) - 1);
	return (uint32_t)((w >> d->bit) & mask);
}

static uint32_t efuse_wr_dis(const sim_efuse_t *ef)
{
	return sim_efuse_get_field(ef, EF_WR_DIS);
}

static bool efuse_rd_dis_bit(const sim_efuse_t *ef, int bit)
{
	if (bit < 0)
		return false;
	return (sim_efuse_get_field(ef, EF_RD_DIS) >> bit) & 1u;
}

bool sim_efuse_block_read_protected(const sim_efuse_t *ef, int idx)
{
	const struct efuse_block_desc *b = efuse_block(ef, idx);
	return efuse_rd_dis_bit(ef, b->rd_dis_bit) || efuse_rd_dis_bit(ef, b->rd_dis_bit2);
}

const uint32_t *sim_efuse_block_raw(const sim_efuse_t *ef, int idx)
{
	return ef->raw[idx];
}

int sim_efuse_key_purpose(const sim_efuse_t *ef, unsigned n)
{
	if (ef->lay->family != EFUSE_FAMILY_GEN2 || n > 5)
		return -1;
	return (int)sim_efuse_get_field(ef, chip_efuse_purpose_field(n));
}

static void efuse_block_bytes(const sim_efuse_t *ef, int idx, uint8_t out[32])
{
	memset(out, 0, 32);
	for (int w = 0; w < efuse_block(ef, idx)->words; w++) {
		uint32_t v = ef->raw[idx][w];
		out[4 * w] = (uint8_t)v;
		out[4 * w + 1] = (uint8_t)(v >> 8);
		out[4 * w + 2] = (uint8_t)(v >> 16);
		out[4 * w + 3] = (uint8_t)(v >> 24);
	}
}

/* Reload of the shadow registers, with the RS check the hardware does on the way: parity that
 * does not match the data marks the block failed (RS(44,32) corrects up to 6 byte errors, but a
 * block burned twice with different bits is normally beyond that; the model reports any
 * mismatch as a failure, with the count of differing parity bytes capped at 7). */
static void efuse_reload(sim_efuse_t *ef)
{
	uint64_t err = 0;
	int slot = 0;
	for (int i = 0; i < ef->lay->n_blocks; i++) {
		const struct efuse_block_desc *b = efuse_block(ef, i);
		memset(ef->shadow[i], 0, sizeof(ef->shadow[i]));
		bool lo = efuse_rd_dis_bit(ef, b->rd_dis_bit);
		bool hi = b->rd_dis_bit2 >= 0 ? efuse_rd_dis_bit(ef, b->rd_dis_bit2) : lo;
		for (int w = 0; w < b->words; w++) {
			bool hidden = w < b->words / 2 ? lo : hi;
			if (b->rd_dis_bit2 < 0)
				hidden = lo;
			ef->shadow[i][w] = hidden ? 0 : ef->raw[i][w];
		}
		if (i == 0) {
			/* ESP32 RD_DIS bit 3 hides BLK3_PART_RESERVE, FLASH_CRYPT_CONFIG, CODING_SCHEME
			 * and KEY_STATUS in BLOCK0 itself. */
			if (ef->lay->family == EFUSE_FAMILY_ESP32 && efuse_rd_dis_bit(ef, 3)) {
				ef->shadow[0][3] &= ~(1u << 14);
				ef->shadow[0][5] &= ~0xF0000000u;
				ef->shadow[0][6] &= ~(0x3u | 1u << 10);
			}
			continue;
		}
		if (efuse_block_is_rs(ef, i)) {
			uint8_t data[32], parity[12];
			efuse_block_bytes(ef, i, data);
			efuse_rs_encode(data, parity);
			unsigned diff = 0;
			for (int k = 0; k < 12; k++)
				diff += parity[k] != ef->check[i][k];
			if (diff) {
				unsigned fail_slot = slot + (ef->lay->rs_fail_bit_late ? 1 : 0);
				err |= (uint64_t)(diff > 7 ? 7 : diff) << (4 * slot);
				err |= 1ull << (4 * fail_slot + 3);
			}
		}
		slot++;
	}
	if (ef->lay->family == EFUSE_FAMILY_C2) {
		ef->rs_err[0] = (uint32_t)err;
		ef->rs_err[1] = 0;
	} else {
		/* GEN2: ERR0 holds BLOCK1..BLOCK_KEY4 (8 slots), ERR1 the rest. */
		ef->rs_err[0] = (uint32_t)err;
		ef->rs_err[1] = (uint32_t)(err >> 32);
	}
}

void sim_efuse_reset(sim_efuse_t *ef)
{
	ef->conf = 0;
	ef->cmd = 0;
	ef->busy_until_us = 0;
	memset(ef->pgm, 0, sizeof(ef->pgm));
	memset(ef->wr, 0, sizeof(ef->wr));
	efuse_reload(ef);
}

/* OR the requested bits of one block into the array, minus what WR_DIS protects. */
static void efuse_burn_block(sim_efuse_t *ef, int idx, const uint32_t *data, const uint8_t *check)
{
	const struct efuse_block_desc *b = efuse_block(ef, idx);
	uint32_t wr_dis = efuse_wr_dis(ef);
	if (idx == 0) {
		for (int w = 0; w < b->words; w++) {
			uint32_t bits = data[w];
			for (size_t k = 0; k < ef->defs->n_wrdis; k++) {
				const struct sim_efuse_wrdis *g = &ef->defs->wrdis[k];
				if (g->word == w && ((wr_dis >> g->wr_dis_bit) & 1u))
					bits &= ~g->mask;
			}
			ef->raw[0][w] |= bits;
		}
		return;
	}
	if (b->wr_dis_bit >= 0 && ((wr_dis >> b->wr_dis_bit) & 1u))
		return;
	for (int w = 0; w < b->words; w++)
		ef->raw[idx][w] |= data[w];
	if (check && efuse_block_is_rs(ef, idx))
		for (int k = 0; k < 12; k++)
			ef->check[idx][k] |= check[k];
}

static int efuse_program(sim_efuse_t *ef, uint32_t cmd, err_t *e)
{
	if (ef->lay->family == EFUSE_FAMILY_ESP32) {
		/* ESP32 has no block field: one program command burns every write window. */
		for (int i = 0; i < ef->lay->n_blocks; i++)
			efuse_burn_block(ef, i, ef->wr[i], NULL);
	} else {
		unsigned num = (cmd >> 2) & 0xF;
		int idx = -1;
		for (int i = 0; i < ef->lay->n_blocks; i++)
			if (ef->lay->blocks[i].num == num)
				idx = i;
		if (idx < 0)
			return 0; /* no such block: the hardware burns nothing */
		uint8_t check[12];
		for (int k = 0; k < 12; k++)
			check[k] = (uint8_t)(ef->pgm[8 + k / 4] >> (8 * (k % 4)));
		efuse_burn_block(ef, idx, ef->pgm, check);
	}
	return sim_efuse_save(ef, e);
}

bool sim_efuse_owns(const sim_efuse_t *ef, uint32_t addr)
{
	uint32_t base = ef->chip->efuse_base;
	return addr >= base && addr < base + SIM_EFUSE_WINDOW;
}

/* Which block's window (read or ESP32 write) holds off; -1 if none. */
static int efuse_find_window(const sim_efuse_t *ef, uint32_t off, bool write_window, int *word)
{
	for (int i = 0; i < ef->lay->n_blocks; i++) {
		const struct efuse_block_desc *b = efuse_block(ef, i);
		uint32_t start = write_window ? b->write_off : b->read_off;
		if (off >= start && off < start + 4u * b->words) {
			*word = (int)((off - start) / 4);
			return i;
		}
	}
	return -1;
}

static bool efuse_busy(const sim_efuse_t *ef, int64_t now_us)
{
	return now_us >= 0 && now_us < ef->busy_until_us;
}

uint32_t sim_efuse_read_reg(sim_efuse_t *ef, uint32_t addr, int64_t now_us)
{
	const struct efuse_layout *lay = ef->lay;
	uint32_t off = addr - ef->chip->efuse_base;
	int word;
	int idx = efuse_find_window(ef, off, false, &word);
	if (idx >= 0)
		return ef->shadow[idx][word];
	if (off == lay->cmd_off) {
		if (!efuse_busy(ef, now_us))
			ef->cmd = 0;
		return ef->cmd;
	}
	if (off == lay->conf_off)
		return ef->conf;
	if (lay->family == EFUSE_FAMILY_ESP32) {
		idx = efuse_find_window(ef, off, true, &word);
		if (idx >= 0)
			return ef->wr[idx][word];
		if (lay->dec_status_off && off == lay->dec_status_off)
			return 0;
	} else {
		if (off >= lay->pgm_data_off && off < lay->pgm_data_off + 32u)
			return ef->pgm[(off - lay->pgm_data_off) / 4];
		if (off >= lay->check_value_off && off < lay->check_value_off + 12u)
			return ef->pgm[8 + (off - lay->check_value_off) / 4];
		if (lay->rs_err0_off && off == lay->rs_err0_off)
			return ef->rs_err[0];
		if (lay->rs_err1_off && off == lay->rs_err1_off)
			return ef->rs_err[1];
		if (lay->repeat_err_off && off >= lay->repeat_err_off &&
		    off < lay->repeat_err_off + 4u * lay->repeat_err_words)
			return 0; /* BLOCK0's redundant copies always agree here */
	}
	if (lay->status_off && off == lay->status_off)
		return 0;
	return ef->regs[off / 4];
}

int sim_efuse_write_reg(sim_efuse_t *ef, uint32_t addr, uint32_t value, int64_t now_us, err_t *e)
{
	const struct efuse_layout *lay = ef->lay;
	uint32_t off = addr - ef->chip->efuse_base;
	int word;
	if (efuse_find_window(ef, off, false, &word) >= 0 && lay->family != EFUSE_FAMILY_ESP32)
		return 0; /* read registers are read-only */
	if (off == lay->conf_off) {
		ef->conf = value & 0xFFFF;
		return 0;
	}
	if (off == lay->cmd_off) {
		if (efuse_busy(ef, now_us))
			return 0; /* a command is still running: the write is lost */
		int64_t cost = 0;
		ef->cmd = 0;
		if ((value & EFUSE_CMD_PGM) && ef->conf == EFUSE_CONF_WRITE) {
			ef->cmd = value & 0x3F;
			cost = SIM_EFUSE_PGM_US;
			if (efuse_program(ef, value, e))
				return -1;
		} else if ((value & EFUSE_CMD_READ) && ef->conf == EFUSE_CONF_READ) {
			ef->cmd = value & 0x3F;
			cost = SIM_EFUSE_READ_US;
			efuse_reload(ef);
		}
		if (now_us >= 0 && cost)
			ef->busy_until_us = now_us + cost;
		else
			ef->cmd = 0;
		return 0;
	}
	if (lay->family == EFUSE_FAMILY_ESP32) {
		int idx = efuse_find_window(ef, off, true, &word);
		if (idx >= 0) {
			ef->wr[idx][word] = value;
			return 0;
		}
	} else {
		if (off >= lay->pgm_data_off && off < lay->pgm_data_off + 32u) {
			ef->pgm[(off - lay->pgm_data_off) / 4] = value;
			return 0;
		}
		if (off >= lay->check_value_off && off < lay->check_value_off + 12u) {
			ef->pgm[8 + (off - lay->check_value_off) / 4] = value;
			return 0;
		}
	}
	ef->regs[off / 4] = value;
	return 0;
}

int sim_efuse_save(sim_efuse_t *ef, err_t *e)
{
	if (!ef->path)
		return 0;
	buf_t b = BUF_INIT;
	for (int i = 0; i < ef->lay->n_blocks; i++)
		for (int w = 0; w < ef->lay->blocks[i].words; w++)
			buf_append_u32le(&b, ef->raw[i][w]);
	for (int i = 0; i < ef->lay->n_blocks; i++)
		if (efuse_block_is_rs(ef, i))
			buf_append_bytes(&b, ef->check[i], 12);
	int rc = fileio_write_atomic(ef->path, b.data, b.len, FILEIO_MODE_SECRET, e);
	buf_wipe_data(&b);
	return rc;
}

static int efuse_load(sim_efuse_t *ef, const uint8_t *p, size_t len, err_t *e)
{
	size_t want = sim_efuse_file_size(ef->chip);
	if (len != want)
		return err_set_msg(e, ERR_USAGE, "%s: %zu bytes, but an %s eFuse file holds %zu",
				   ef->path, len, ef->chip->id, want);
	size_t pos = 0;
	for (int i = 0; i < ef->lay->n_blocks; i++)
		for (int w = 0; w < ef->lay->blocks[i].words; w++, pos += 4)
			ef->raw[i][w] = (uint32_t)p[pos] | (uint32_t)p[pos + 1] << 8 |
					(uint32_t)p[pos + 2] << 16 | (uint32_t)p[pos + 3] << 24;
	for (int i = 0; i < ef->lay->n_blocks; i++)
		if (efuse_block_is_rs(ef, i)) {
			memcpy(ef->check[i], p + pos, 12);
			pos += 12;
		}
	return 0;
}

/* ESP32 MAC_CRC: CRC-8, reflected polynomial 0x8C, initial 0, over the MAC in display order. */
static uint8_t efuse_mac_crc8(const uint8_t mac[6])
{
	uint8_t crc = 0;
	for (int i = 0; i < 6; i++) {
		crc ^= mac[i];
		for (int k = 0; k < 8; k++)
			crc = (crc & 1) ? (uint8_t)((crc >> 1) ^ 0x8C) : (uint8_t)(crc >> 1);
	}
	return crc;
}

static void efuse_factory_fill(sim_efuse_t *ef, const uint8_t *mac_in)
{
	uint8_t mac[6];
	if (mac_in) {
		memcpy(mac, mac_in, 6);
	} else {
		/* An Espressif OUI and a random NIC part, as each module leaves the factory. */
		mac[0] = 0x7C;
		mac[1] = 0xDF;
		mac[2] = 0xA1;
		rng_fill_bytes(mac + 3, 3);
	}
	uint32_t off = ef->chip->mac_reg - ef->chip->efuse_base;
	int word;
	int idx = efuse_find_window(ef, off, false, &word);
	if (idx >= 0 && word + 1 < 8) {
		uint32_t m0 = (uint32_t)mac[2] << 24 | (uint32_t)mac[3] << 16 | (uint32_t)mac[4] << 8 | mac[5];
		uint32_t m1 = (uint32_t)mac[0] << 8 | mac[1];
		if (ef->chip->type == CHIP_ESP32)
			m1 |= (uint32_t)efuse_mac_crc8(mac) << 16;
		if (ef->chip->type == CHIP_ESP32C6 || ef->chip->type == CHIP_ESP32H2)
			m1 |= 0xFFFEu << 16; /* MAC_EXT: the EUI-64 filler ff:fe */
		ef->raw[idx][word] = m0;
		ef->raw[idx][word + 1] = m1;
	}
	for (size_t i = 0; i < sizeof(efuse_factory) / sizeof(efuse_factory[0]); i++)
		if (efuse_factory[i].type == ef->chip->type)
			ef->raw[efuse_factory[i].block][efuse_factory[i].word] |= efuse_factory[i].bits;
	/* The factory burns its blocks with valid check values. */
	for (int i = 1; i < ef->lay->n_blocks; i++) {
		if (!efuse_block_is_rs(ef, i))
			continue;
		uint8_t data[32];
		efuse_block_bytes(ef, i, data);
		efuse_rs_encode(data, ef->check[i]);
	}
}

int sim_efuse_open(sim_efuse_t *ef, const struct chip_desc *chip, const char *path,
		   const uint8_t *mac, err_t *e)
{
	memset(ef, 0, sizeof(*ef));
	ef->chip = chip;
	ef->lay = chip->efuse;
	for (const struct sim_efuse_defs *d = sim_efuse_defs_table; d->chip; d++)
		if (strcmp(d->chip, chip->id) == 0)
			ef->defs = d;
	if (!ef->defs || !ef->lay || ef->lay->n_blocks > SIM_EFUSE_MAX_BLOCKS)
		return err_set_msg(e, ERR_USAGE, "no eFuse model for chip %s", chip->id);
	if (path)
		ef->path = mem_strdup(path);
	buf_t b = BUF_INIT;
	struct stat st;
	bool exists = path && stat(path, &st) == 0 && st.st_size > 0;
	if (exists && fileio_read_file(path, &b, e)) {
		sim_efuse_close(ef);
		return -1;
	}
	if (exists) {
		int rc = efuse_load(ef, b.data, b.len, e);
		buf_wipe_data(&b);
		if (rc) {
			sim_efuse_close(ef);
			return -1;
		}
	} else {
		buf_free_data(&b);
		efuse_factory_fill(ef, mac);
		if (sim_efuse_save(ef, e)) {
			sim_efuse_close(ef);
			return -1;
		}
	}
	sim_efuse_reset(ef);
	return 0;
}

void sim_efuse_close(sim_efuse_t *ef)
{
	free(ef->path);
	ef->path = NULL;
	memset(ef->raw, 0, sizeof(ef->raw));
	memset(ef->shadow, 0, sizeof(ef->shadow));
}
