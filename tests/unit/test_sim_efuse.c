/* Unit tests of the simulator's eFuse controller model, driven through its registers the way
 * espefuse drives the real controller: 0→1 only, RS check values, read and write protection,
 * shadow registers reloaded only by READ_CMD, busy time, persistence. */
#include "testutil.h"

#include <string.h>

#include "core/checksum.h"
#include "loader/chip.h"
#include "loader/efuse_rs.h"
/* The simulator is a program, not part of espfab_lib: its modules are compiled in here. */
#include "sim/sim_efuse.c"
#include "sim/sim_efuse_defs.c"

static const uint8_t test_mac[6] = {0x7c, 0xdf, 0xa1, 0x01, 0x02, 0x03};

static uint32_t rd(sim_efuse_t *ef, uint32_t off)
{
	return sim_efuse_read_reg(ef, ef->chip->efuse_base + off, -1);
}

static void wr(sim_efuse_t *ef, uint32_t off, uint32_t v)
{
	err_t e = {0};
	assert_int_equal(sim_efuse_write_reg(ef, ef->chip->efuse_base + off, v, -1, &e), 0);
}

static void reload(sim_efuse_t *ef)
{
	wr(ef, ef->lay->conf_off, EFUSE_CONF_READ);
	wr(ef, ef->lay->cmd_off, EFUSE_CMD_READ);
}

/* GEN2/C2 burn of one block through PGM_DATA/CHECK_VALUE (efuse.md §4), then a reload. */
static void burn(sim_efuse_t *ef, unsigned block, const uint32_t *words, size_t n, const uint32_t *check)
{
	const struct efuse_layout *lay = ef->lay;
	for (unsigned i = 0; i < 8; i++)
		wr(ef, lay->pgm_data_off + 4 * i, i < n ? words[i] : 0);
	for (unsigned i = 0; i < 3; i++)
		wr(ef, lay->check_value_off + 4 * i, check ? check[i] : 0);
	wr(ef, lay->conf_off, EFUSE_CONF_WRITE);
	wr(ef, lay->cmd_off, EFUSE_CMD_PGM | block << 2);
	reload(ef);
}

static void burn_key_block(sim_efuse_t *ef, unsigned block, const uint8_t key[32])
{
	uint32_t words[8], check[3];
	for (int i = 0; i < 8; i++)
		words[i] = checksum_read_u32le(key + 4 * i);
	efuse_rs_check_words(key, check);
	burn(ef, block, words, 8, check);
}

static void open_chip(sim_efuse_t *ef, enum chip_type t, const char *path)
{
	err_t e = {0};
	if (sim_efuse_open(ef, chip_get_desc(t), path, test_mac, &e))
		fail_msg("open: %s", e.msg);
}

static void test_factory_mac_and_rs(void **state)
{
	(void)state;
	for (int t = 0; t < CHIP_COUNT; t++) {
		sim_efuse_t ef;
		open_chip(&ef, (enum chip_type)t, NULL);
		const struct chip_desc *c = ef.chip;
		uint32_t w0 = sim_efuse_read_reg(&ef, c->mac_reg, -1);
		uint32_t w1 = sim_efuse_read_reg(&ef, c->mac_reg + 4, -1);
		uint8_t mac[6];
		chip_decode_mac(c, w0, w1, mac);
		testutil_assert_bytes_equal(c->id, mac, 6, test_mac, 6);
		/* The factory's own blocks carry valid check values. */
		if (ef.lay->rs_err0_off) {
			assert_int_equal(rd(&ef, ef.lay->rs_err0_off), 0);
		}
		sim_efuse_close(&ef);
	}
}

static void test_key_burn_reads_back_with_valid_rs(void **state)
{
	(void)state;
	sim_efuse_t ef;
	open_chip(&ef, CHIP_ESP32C6, NULL);
	uint8_t key[32];
	for (int i = 0; i < 32; i++)
		key[i] = (uint8_t)(i + 1);
	burn_key_block(&ef, 5, key); /* BLOCK_KEY1 */
	const struct efuse_block_desc *b = &ef.lay->blocks[5];
	for (int i = 0; i < 8; i++)
		assert_int_equal(rd(&ef, b->read_off + 4 * i), checksum_read_u32le(key + 4 * i));
	assert_int_equal(rd(&ef, ef.lay->rs_err0_off), 0);
	assert_int_equal(rd(&ef, ef.lay->rs_err1_off), 0);
	sim_efuse_close(&ef);
}

static void test_bits_only_go_up_and_second_rs_burn_fails(void **state)
{
	(void)state;
	for (int late = 0; late < 2; late++) {
		sim_efuse_t ef;
		open_chip(&ef, late ? CHIP_ESP32C3 : CHIP_ESP32C6, NULL);
		uint8_t key[32] = {0};
		key[0] = 0x0F;
		burn_key_block(&ef, 4, key); /* BLOCK_KEY0 */
		uint32_t zero[8] = {0};
		burn(&ef, 4, zero, 8, NULL);
		assert_int_equal(rd(&ef, ef.lay->blocks[4].read_off), 0x0F); /* a 0 never clears */
		assert_int_equal(rd(&ef, ef.lay->rs_err0_off), 0);
		/* A second burn with other bits: data ORed, stored parity no longer matches. */
		uint8_t more[32] = {0};
		more[0] = 0xF0;
		burn_key_block(&ef, 4, more);
		assert_int_equal(rd(&ef, ef.lay->blocks[4].read_off), 0xFF);
		uint32_t err = rd(&ef, ef.lay->rs_err0_off);
		/* KEY0 is the 4th RS slot (bits 15:12); the C3 reports its fail bit one slot later. */
		assert_true(((err >> 12) & 7) != 0);
		if (late)
			assert_int_equal(err & (1u << 19), 1u << 19);
		else
			assert_int_equal(err & (1u << 15), 1u << 15);
		sim_efuse_close(&ef);
	}
}

static void test_shadow_changes_only_on_read_cmd(void **state)
{
	(void)state;
	sim_efuse_t ef;
	open_chip(&ef, CHIP_ESP32H2, NULL);
	const struct efuse_layout *lay = ef.lay;
	wr(&ef, lay->pgm_data_off + 12, 0x3); /* BLOCK0 w3: KEY_PURPOSE_2 = 3 */
	wr(&ef, lay->conf_off, EFUSE_CONF_WRITE);
	wr(&ef, lay->cmd_off, EFUSE_CMD_PGM);
	assert_int_equal(rd(&ef, lay->blocks[0].read_off + 12), 0);
	assert_int_equal(sim_efuse_get_field(&ef, EF_KEY_PURPOSE_2), 3);
	reload(&ef);
	assert_int_equal(rd(&ef, lay->blocks[0].read_off + 12), 3);
	/* A command with the wrong opcode in CONF does nothing. */
	wr(&ef, lay->pgm_data_off + 12, 0x30);
	wr(&ef, lay->conf_off, 0x1234);
	wr(&ef, lay->cmd_off, EFUSE_CMD_PGM);
	reload(&ef);
	assert_int_equal(rd(&ef, lay->blocks[0].read_off + 12), 3);
	sim_efuse_close(&ef);
}

static void test_read_protection_hides_block(void **state)
{
	(void)state;
	sim_efuse_t ef;
	open_chip(&ef, CHIP_ESP32S3, NULL);
	uint8_t key[32];
	memset(key, 0xA5, sizeof(key));
	burn_key_block(&ef, 4, key);
	burn_key_block(&ef, 5, key);
	uint32_t w[6] = {0, 1u << 0}; /* RD_DIS bit 0: BLOCK_KEY0 */
	burn(&ef, 0, w, 6, NULL);
	for (int i = 0; i < 8; i++) {
		assert_int_equal(rd(&ef, ef.lay->blocks[4].read_off + 4 * i), 0);
		assert_int_equal(rd(&ef, ef.lay->blocks[5].read_off + 4 * i), 0xA5A5A5A5u);
	}
	assert_true(sim_efuse_block_read_protected(&ef, 4));
	assert_false(sim_efuse_block_read_protected(&ef, 5));
	/* The hardware itself still has the key. */
	assert_int_equal(sim_efuse_block_raw(&ef, 4)[0], 0xA5A5A5A5u);
	sim_efuse_close(&ef);
}

static void test_write_protection(void **state)
{
	(void)state;
	sim_efuse_t ef;
	open_chip(&ef, CHIP_ESP32C3, NULL);
	/* WR_DIS bit 23 protects BLOCK_KEY0, bit 8 protects KEY_PURPOSE_0 (BLOCK0 w2 bits 27:24). */
	uint32_t w[6] = {(1u << 23) | (1u << 8)};
	burn(&ef, 0, w, 6, NULL);
	uint8_t key[32];
	memset(key, 0x11, sizeof(key));
	burn_key_block(&ef, 4, key);
	assert_int_equal(rd(&ef, ef.lay->blocks[4].read_off), 0);
	uint32_t p[6] = {0, 0, (4u << 24) | (1u << 18)}; /* purpose 4, and one SPI_BOOT_CRYPT_CNT bit */
	burn(&ef, 0, p, 6, NULL);
	assert_int_equal(sim_efuse_get_field(&ef, EF_KEY_PURPOSE_0), 0);
	assert_int_equal(sim_efuse_get_field(&ef, EF_CRYPT_CNT), 1); /* WR_DIS 4 not set */
	/* Other key blocks are still writable. */
	burn_key_block(&ef, 6, key);
	assert_int_equal(rd(&ef, ef.lay->blocks[6].read_off), 0x11111111u);
	sim_efuse_close(&ef);
}

static void test_esp32_write_windows(void **state)
{
	(void)state;
	sim_efuse_t ef;
	open_chip(&ef, CHIP_ESP32, NULL);
	const struct efuse_block_desc *b1 = &ef.lay->blocks[1];
	for (int i = 0; i < 8; i++)
		wr(&ef, b1->write_off + 4 * i, 0x01010101u * (uint32_t)(i + 1));
	wr(&ef, ef.lay->conf_off, EFUSE_CONF_WRITE);
	wr(&ef, ef.lay->cmd_off, EFUSE_CMD_PGM);
	reload(&ef);
	assert_int_equal(rd(&ef, b1->read_off + 4), 0x02020202u);
	/* RD_DIS (BLOCK0 w0 bits 19:16) bit 0 read-protects BLOCK1. */
	for (int i = 0; i < 8; i++)
		wr(&ef, b1->write_off + 4 * i, 0);
	wr(&ef, ef.lay->blocks[0].write_off, 1u << 16);
	wr(&ef, ef.lay->conf_off, EFUSE_CONF_WRITE);
	wr(&ef, ef.lay->cmd_off, EFUSE_CMD_PGM);
	reload(&ef);
	assert_int_equal(rd(&ef, b1->read_off + 4), 0);
	assert_int_equal(rd(&ef, 0) & (1u << 16), 1u << 16);
	/* RD_DIS bit 3 (w0 bit 19) hides FLASH_CRYPT_CONFIG (w5 31:28) but not the rest of w5. */
	wr(&ef, ef.lay->blocks[0].write_off, 0);
	wr(&ef, ef.lay->blocks[0].write_off + 20, 0xF0000001u);
	wr(&ef, ef.lay->conf_off, EFUSE_CONF_WRITE);
	wr(&ef, ef.lay->cmd_off, EFUSE_CMD_PGM);
	reload(&ef);
	assert_int_equal(rd(&ef, 20) & 0xF0000001u, 0xF0000001u);
	wr(&ef, ef.lay->blocks[0].write_off + 20, 0);
	wr(&ef, ef.lay->blocks[0].write_off, 1u << 19);
	wr(&ef, ef.lay->conf_off, EFUSE_CONF_WRITE);
	wr(&ef, ef.lay->cmd_off, EFUSE_CMD_PGM);
	reload(&ef);
	assert_int_equal(rd(&ef, 20) & 0xF0000001u, 0x00000001u);
	sim_efuse_close(&ef);
}

static void test_busy_time(void **state)
{
	(void)state;
	sim_efuse_t ef;
	open_chip(&ef, CHIP_ESP32C3, NULL);
	err_t e = {0};
	uint32_t base = ef.chip->efuse_base;
	assert_int_equal(sim_efuse_write_reg(&ef, base + ef.lay->conf_off, EFUSE_CONF_WRITE, 1000, &e), 0);
	assert_int_equal(sim_efuse_write_reg(&ef, base + ef.lay->cmd_off, EFUSE_CMD_PGM | 4 << 2, 1000, &e), 0);
	assert_int_not_equal(sim_efuse_read_reg(&ef, base + ef.lay->cmd_off, 1100) & 3, 0);
	assert_int_equal(sim_efuse_read_reg(&ef, base + ef.lay->cmd_off, 1000 + SIM_EFUSE_PGM_US), 0);
	sim_efuse_close(&ef);
}

static void test_persistence(void **state)
{
	(void)state;
	char *dir = testutil_make_tmpdir();
	char *path = testutil_join_path(dir, "efuse.bin");
	sim_efuse_t ef;
	open_chip(&ef, CHIP_ESP32H2, path);
	uint8_t key[32];
	for (int i = 0; i < 32; i++)
		key[i] = (uint8_t)(0x20 - i);
	burn_key_block(&ef, 7, key);
	sim_efuse_close(&ef);

	buf_t raw = BUF_INIT;
	testutil_read_file(path, &raw);
	assert_int_equal(raw.len, sim_efuse_file_size(chip_get_desc(CHIP_ESP32H2)));
	buf_free_data(&raw);

	/* A new instance (another MAC asked for) keeps the burned state, MAC included. */
	err_t e = {0};
	static const uint8_t other[6] = {1, 2, 3, 4, 5, 6};
	assert_int_equal(sim_efuse_open(&ef, chip_get_desc(CHIP_ESP32H2), path, other, &e), 0);
	assert_int_equal(rd(&ef, ef.lay->blocks[7].read_off), checksum_read_u32le(key));
	assert_int_equal(rd(&ef, ef.lay->rs_err0_off), 0);
	uint8_t mac[6];
	chip_decode_mac(ef.chip, sim_efuse_read_reg(&ef, ef.chip->mac_reg, -1),
			sim_efuse_read_reg(&ef, ef.chip->mac_reg + 4, -1), mac);
	testutil_assert_bytes_equal("mac", mac, 6, test_mac, 6);
	sim_efuse_close(&ef);

	/* A file of another chip's size is refused, not overwritten. */
	assert_int_equal(sim_efuse_open(&ef, chip_get_desc(CHIP_ESP32), path, NULL, &e), -1);
	assert_non_null(strstr(e.msg, "eFuse file holds"));
	free(path);
	testutil_remove_tree(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_factory_mac_and_rs),
		cmocka_unit_test(test_key_burn_reads_back_with_valid_rs),
		cmocka_unit_test(test_bits_only_go_up_and_second_rs_burn_fails),
		cmocka_unit_test(test_shadow_changes_only_on_read_cmd),
		cmocka_unit_test(test_read_protection_hides_block),
		cmocka_unit_test(test_write_protection),
		cmocka_unit_test(test_esp32_write_windows),
		cmocka_unit_test(test_busy_time),
		cmocka_unit_test(test_persistence),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
