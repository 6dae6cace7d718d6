/* Unit tests of src/loader/chip and efuse_rs: identification lookups, MAC / revision / crystal /
 * flash-size decoding (chips.md §4-§7), purpose rules (efuse.md §3) and block coding (§5). */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#include "loader/chip.h"
#include "loader/efuse_rs.h"

struct fake_regs {
	uint32_t addr[16];
	uint32_t val[16];
	int n;
};

static void fake_set(struct fake_regs *f, uint32_t addr, uint32_t val)
{
	f->addr[f->n] = addr;
	f->val[f->n++] = val;
}

static int fake_read(void *ctx, uint32_t addr, uint32_t *value, err_t *e)
{
	struct fake_regs *f = ctx;
	for (int i = 0; i < f->n; i++)
		if (f->addr[i] == addr) {
			*value = f->val[i];
			return 0;
		}
	return err_set_msg(e, ERR_DEVICE, "unmapped register 0x%08x", addr);
}

static void test_lookup(void **state)
{
	(void)state;
	assert_int_equal(chip_find_by_secinfo_id(9)->type, CHIP_ESP32S3);
	assert_int_equal(chip_find_by_secinfo_id(5)->type, CHIP_ESP32C3);
	assert_int_equal(chip_find_by_secinfo_id(12)->type, CHIP_ESP32C2);
	assert_int_equal(chip_find_by_secinfo_id(13)->type, CHIP_ESP32C6);
	assert_int_equal(chip_find_by_secinfo_id(16)->type, CHIP_ESP32H2);
	assert_null(chip_find_by_secinfo_id(4)); /* S3 beta: unsupported */
	assert_int_equal(chip_find_by_magic(0x00F01D83)->type, CHIP_ESP32);
	assert_int_equal(chip_find_by_magic(0x000007C6)->type, CHIP_ESP32S2);
	assert_int_equal(chip_find_by_magic(0x4361606F)->type, CHIP_ESP32C3);
	assert_null(chip_find_by_magic(0xFFF0C101)); /* ESP8266 */
	assert_int_equal(chip_find_by_name("ESP32-C6")->type, CHIP_ESP32C6);
	assert_int_equal(chip_find_by_name("esp32h2")->type, CHIP_ESP32H2);
	assert_null(chip_find_by_name("esp8266"));
	for (int t = 0; t < CHIP_COUNT; t++) {
		const struct chip_desc *c = chip_get_desc(t);
		assert_int_equal(c->type, t);
		assert_non_null(c->efuse);
		assert_ptr_equal(chip_find_by_name(c->id), c);
	}
	assert_false(chip_get_desc(CHIP_ESP32)->rom_encrypt_flag);
	assert_int_equal(chip_get_desc(CHIP_ESP32)->secinfo_len, 0);
	assert_int_equal(chip_get_desc(CHIP_ESP32S2)->secinfo_len, 12);
}

static void test_rom_command_acceptance(void **state)
{
	(void)state;
	const struct chip_desc *esp32 = chip_get_desc(CHIP_ESP32), *c3 = chip_get_desc(CHIP_ESP32C3);
	assert_false(chip_rom_accepts_command(esp32, 0x14, false));
	assert_true(chip_rom_accepts_command(c3, 0x14, true));
	assert_true(chip_rom_accepts_command(c3, 0x13, false));
	assert_false(chip_rom_accepts_command(c3, 0x13, true));  /* MD5 refused in SDM */
	assert_false(chip_rom_accepts_command(c3, 0x0A, true));  /* READ_REG refused in SDM */
	assert_true(chip_rom_accepts_command(c3, 0x03, true));   /* FLASH_DATA allowed in SDM */
	assert_false(chip_rom_accepts_command(c3, 0xD2, false)); /* stub-only READ_FLASH */
}

static void test_mac_decoding(void **state)
{
	(void)state;
	/* chips.md §4: MAC = [m1>>8, m1, m0>>24, m0>>16, m0>>8, m0] */
	const struct chip_desc *c6 = chip_get_desc(CHIP_ESP32C6);
	struct fake_regs f = {0};
	fake_set(&f, 0x600B0844, 0x33445566);
	fake_set(&f, 0x600B0848, 0xFFFE1122);
	uint8_t mac[6];
	err_t e = {0};
	assert_int_equal(chip_read_mac(c6, fake_read, &f, mac, &e), 0);
	assert_memory_equal(mac, "\x11\x22\x33\x44\x55\x66", 6);
	uint8_t ext[2];
	assert_true(chip_decode_mac_ext(c6, 0xFFFE1122, ext));
	assert_memory_equal(ext, "\xff\xfe", 2);
	assert_false(chip_decode_mac_ext(chip_get_desc(CHIP_ESP32C3), 0, ext));
	/* ESP32: MAC words at base+4/base+8; the CRC byte (bits 23:16) is not part of the MAC */
	const struct chip_desc *esp32 = chip_get_desc(CHIP_ESP32);
	struct fake_regs g = {0};
	fake_set(&g, 0x3FF5A004, 0xA1B2C3D4);
	fake_set(&g, 0x3FF5A008, 0x00E93C71);
	assert_int_equal(chip_read_mac(esp32, fake_read, &g, mac, &e), 0);
	assert_memory_equal(mac, "\x3c\x71\xa1\xb2\xc3\xd4", 6);
	/* unreadable register: error names the chip */
	struct fake_regs none = {0};
	assert_int_equal(chip_read_mac(esp32, fake_read, &none, mac, &e), -1);
	assert_non_null(strstr(e.msg, "ESP32"));
}

static void test_revision_decoding(void **state)
{
	(void)state;
	unsigned maj, min;
	err_t e = {0};
	/* C3 v0.4: BLK1 w5 bits 25:24 = 0, bit 23 = 0; BLK1 w3 bits 20:18 = 4 */
	struct fake_regs f = {0};
	fake_set(&f, 0x60008844 + 20, 0x00000000);
	fake_set(&f, 0x60008844 + 12, 4u << 18);
	assert_int_equal(chip_read_revision(chip_get_desc(CHIP_ESP32C3), fake_read, &f, &maj, &min, &e), 0);
	assert_int_equal(maj, 0);
	assert_int_equal(min, 4);
	/* C3 v1.1 with the high minor bit: major 1, minor 8|1 = 9 */
	f.n = 0;
	fake_set(&f, 0x60008844 + 20, (1u << 24) | (1u << 23));
	fake_set(&f, 0x60008844 + 12, 1u << 18);
	assert_int_equal(chip_read_revision(chip_get_desc(CHIP_ESP32C3), fake_read, &f, &maj, &min, &e), 0);
	assert_int_equal(maj, 1);
	assert_int_equal(min, 9);
	/* C6 v0.1: BLK1 w3 bits 23:22 major, 21:18 minor */
	f.n = 0;
	fake_set(&f, 0x600B0844 + 12, (0u << 22) | (1u << 18));
	assert_int_equal(chip_read_revision(chip_get_desc(CHIP_ESP32C6), fake_read, &f, &maj, &min, &e), 0);
	assert_int_equal(maj, 0);
	assert_int_equal(min, 1);
	/* H2 v1.2: bits 22:21 major, 20:18 minor */
	f.n = 0;
	fake_set(&f, 0x600B0844 + 12, (1u << 21) | (2u << 18));
	assert_int_equal(chip_read_revision(chip_get_desc(CHIP_ESP32H2), fake_read, &f, &maj, &min, &e), 0);
	assert_int_equal(maj, 1);
	assert_int_equal(min, 2);
	/* C2 v1.0: BLOCK2 w1 bits 21:20 / 19:16 */
	f.n = 0;
	fake_set(&f, 0x60008840 + 4, 1u << 20);
	assert_int_equal(chip_read_revision(chip_get_desc(CHIP_ESP32C2), fake_read, &f, &maj, &min, &e), 0);
	assert_int_equal(maj, 1);
	assert_int_equal(min, 0);
	/* ESP32 v3.0: all three bits set (0b111 → 3); minor w5 bits 25:24 = 0 */
	f.n = 0;
	fake_set(&f, 0x3FF5A00C, 1u << 15);
	fake_set(&f, 0x3FF5A014, 1u << 20);
	fake_set(&f, 0x3FF6607C, 1u << 31);
	assert_int_equal(chip_read_revision(chip_get_desc(CHIP_ESP32), fake_read, &f, &maj, &min, &e), 0);
	assert_int_equal(maj, 3);
	assert_int_equal(min, 0);
	/* ESP32 v1.0: only bit0 */
	f.val[1] = 0;
	f.val[2] = 0;
	assert_int_equal(chip_read_revision(chip_get_desc(CHIP_ESP32), fake_read, &f, &maj, &min, &e), 0);
	assert_int_equal(maj, 1);
}

static void test_crystal_and_baud(void **state)
{
	(void)state;
	err_t e = {0};
	unsigned mhz;
	uint32_t wire;
	struct fake_regs f = {0};
	/* C2 at 115200 with a 26 MHz crystal: divider 26e6/115200 = 225 */
	fake_set(&f, 0x60000014, 225);
	const struct chip_desc *c2 = chip_get_desc(CHIP_ESP32C2);
	assert_int_equal(chip_read_crystal(c2, fake_read, &f, 115200, &mhz, &e), 0);
	assert_int_equal(mhz, 26);
	assert_int_equal(chip_rom_baud_value(c2, fake_read, &f, 26, 921600, &wire, &e), 0);
	assert_int_equal(wire, 921600u * 40 / 26);
	assert_int_equal(chip_rom_baud_value(c2, fake_read, &f, 40, 921600, &wire, &e), 0);
	assert_int_equal(wire, 921600);
	f.val[0] = 347; /* 40 MHz */
	assert_int_equal(chip_read_crystal(c2, fake_read, &f, 115200, &mhz, &e), 0);
	assert_int_equal(mhz, 40);
	assert_int_equal(chip_read_crystal(chip_get_desc(CHIP_ESP32H2), fake_read, &f, 115200, &mhz, &e), 0);
	assert_int_equal(mhz, 32);
	/* ESP32: ROM frequency = cali * 15625 * ck8m / 40 (rom-protocol.md §5.7) */
	struct fake_regs g = {0};
	fake_set(&g, 0x3FF5F06C, 839u << 7);
	fake_set(&g, 0x3FF5A010, 126);
	/* 839*15625*126/40 = 41,294,531.25 → valid 40 MHz; 921600 × 41294531.25/40e6 = 951426 */
	assert_int_equal(chip_rom_baud_value(chip_get_desc(CHIP_ESP32), fake_read, &g, 40, 921600, &wire, &e), 0);
	assert_int_equal(wire, 951426);
	/* no calibration: nominal */
	g.val[0] = 0;
	assert_int_equal(chip_rom_baud_value(chip_get_desc(CHIP_ESP32), fake_read, &g, 40, 921600, &wire, &e), 0);
	assert_int_equal(wire, 921600);
	assert_int_equal(chip_rom_baud_value(chip_get_desc(CHIP_ESP32C3), fake_read, &g, 40, 460800, &wire, &e), 0);
	assert_int_equal(wire, 460800);
}

static void test_flash_size(void **state)
{
	(void)state;
	assert_int_equal(chip_flash_size_from_id(0x1640EF), 4u << 20); /* W25Q32 */
	assert_int_equal(chip_flash_size_from_id(0x3870C2), 16u << 20);
	assert_int_equal(chip_flash_size_from_id(0x20 | 0x4000 | (0x1A << 16)), 64u << 20);
	/* Adesto: size code = (id >> 8) & 0x1F: 7 = 4 MB, 9 = 16 MB, 3 unknown */
	assert_int_equal(chip_flash_size_from_id(0x00471F), 4u << 20);
	assert_int_equal(chip_flash_size_from_id(0x00291F), 16u << 20);
	assert_int_equal(chip_flash_size_from_id(0x00231F), 0);
	assert_int_equal(chip_flash_size_from_id(0x7F40EF), 0);
}

static void test_esp32_spi_pads(void **state)
{
	(void)state;
	assert_int_equal(chip_esp32_spi_attach_value(0, 0), 0);
	assert_int_equal(chip_esp32_spi_attach_value(0xFFFFFFFF, 0xFFFFF), 0);
	/* CLK 6, Q 7, D 8, CS 11 in w5; HD 9 in w3 bits 8:4 */
	uint32_t w5 = 6 | 7 << 5 | 8 << 10 | 11 << 15, w3 = 9 << 4;
	assert_int_equal(chip_esp32_spi_attach_value(w3, w5), 9u << 24 | 11u << 18 | 8u << 12 | 7u << 6 | 6u);
	/* 30 stands for GPIO 32 */
	assert_int_equal(chip_esp32_spi_attach_value(0, 30) & 0x3F, 32);
}

static void test_purposes(void **state)
{
	(void)state;
	err_t e = {0};
	const struct chip_desc *c3 = chip_get_desc(CHIP_ESP32C3), *h2 = chip_get_desc(CHIP_ESP32H2),
			       *s2 = chip_get_desc(CHIP_ESP32S2), *esp32 = chip_get_desc(CHIP_ESP32),
			       *c2 = chip_get_desc(CHIP_ESP32C2);
	int k1 = chip_efuse_find_block(c3, "BLOCK_KEY1");
	assert_int_equal(k1, chip_efuse_find_block(c3, "BLOCK5"));
	assert_int_equal(k1, chip_efuse_find_block(c3, "key1"));
	int k5 = chip_efuse_find_block(c3, "BLOCK_KEY5");
	assert_int_equal(c3->efuse->blocks[k5].num, 9);
	assert_int_equal(chip_check_purpose(c3, k1, KP_HMAC_DOWN_DIGITAL_SIGNATURE, &e), 0);
	assert_int_equal(chip_check_purpose(c3, k1, KP_XTS_AES_256_KEY_1, &e), -1);
	assert_int_equal(chip_check_purpose(c3, k1, KP_ECDSA_KEY, &e), -1);
	assert_int_equal(chip_check_purpose(c3, k5, KP_XTS_AES_128_KEY, &e), -1);
	assert_non_null(strstr(e.msg, "BLOCK_KEY5"));
	assert_int_equal(chip_check_purpose(c3, chip_efuse_find_block(c3, "BLOCK3"), KP_USER, &e), -1);
	assert_int_equal(chip_check_purpose(h2, chip_efuse_find_block(h2, "BLOCK_KEY0"), KP_ECDSA_KEY, &e), 0);
	assert_int_equal(chip_check_purpose(h2, chip_efuse_find_block(h2, "BLOCK_KEY5"), KP_ECDSA_KEY, &e), -1);
	assert_int_equal(chip_check_purpose(s2, chip_efuse_find_block(s2, "BLOCK_KEY5"), KP_XTS_AES_256_KEY_2, &e), 0);
	assert_int_equal(chip_check_purpose(esp32, chip_efuse_find_block(esp32, "BLOCK1"), KP_ESP32_FLASH_ENCRYPTION, &e), 0);
	assert_int_equal(chip_check_purpose(esp32, chip_efuse_find_block(esp32, "BLOCK2"), KP_ESP32_SECURE_BOOT_V2, &e), 0);
	assert_int_equal(chip_check_purpose(esp32, chip_efuse_find_block(esp32, "BLOCK1"), KP_ESP32_SECURE_BOOT_V2, &e), -1);
	assert_non_null(strstr(e.msg, "role"));
	assert_int_equal(chip_check_purpose(c2, chip_efuse_find_block(c2, "BLOCK_KEY0"), KP_XTS_AES_128_KEY, &e), 0);
	assert_int_equal(chip_check_purpose(c2, chip_efuse_find_block(c2, "BLOCK_KEY0"), KP_HMAC_UP, &e), -1);
	assert_int_equal(chip_purpose_parse("hmac_down_digital_signature"), KP_HMAC_DOWN_DIGITAL_SIGNATURE);
	assert_int_equal(chip_purpose_parse("nonsense"), KP_INVALID);
	assert_true(chip_purpose_is_reversed(KP_ECDSA_KEY));
	assert_false(chip_purpose_is_reversed(KP_HMAC_UP));
	assert_false(chip_purpose_wants_read_protect(KP_SECURE_BOOT_DIGEST0));
	assert_true(chip_purpose_wants_read_protect(KP_HMAC_UP));
	/* field table: KEY_PURPOSE_1 of C3 sits in BLOCK0 w2 bits 31:28, protected by WR_DIS 9 */
	const struct efuse_field_desc *kp1 = chip_efuse_field(c3, EF_KEY_PURPOSE_1);
	assert_int_equal(kp1->word, 2);
	assert_int_equal(kp1->bit, 28);
	assert_int_equal(kp1->wr_dis_bit, 9);
	assert_null(chip_efuse_field(c3, EF_CODING_SCHEME));
	assert_non_null(chip_efuse_field(esp32, EF_CODING_SCHEME));
}

static void test_reed_solomon(void **state)
{
	(void)state;
	uint8_t data[32], parity[12];
	for (int i = 0; i < 32; i++)
		data[i] = (uint8_t)i;
	efuse_rs_encode(data, parity);
	/* efuse.md §5.1 */
	const uint8_t want[12] = {0xa0, 0x4c, 0x47, 0x0d, 0x3f, 0xfc, 0xb2, 0x03, 0xda, 0xe9, 0xf4, 0x13};
	testutil_assert_bytes_equal("parity", parity, 12, want, 12);
	uint32_t words[3];
	efuse_rs_check_words(data, words);
	assert_int_equal(words[0], 0x0d474ca0);
	/* Independent property: every codeword evaluates to zero at α^0..α^11, and a flipped bit
	 * breaks it. */
	uint8_t cw[44], syn[12];
	srand(7);
	for (int round = 0; round < 50; round++) {
		for (int i = 0; i < 32; i++)
			cw[i] = (uint8_t)rand();
		efuse_rs_encode(cw, cw + 32);
		assert_int_equal(efuse_rs_syndromes(cw, syn), 0);
		cw[round % 44] ^= (uint8_t)(1u << (round % 8));
		assert_true(efuse_rs_syndromes(cw, syn) > 0);
	}
	/* all-zero block has zero parity (an empty block reads back all zero) */
	memset(data, 0, sizeof data);
	efuse_rs_encode(data, parity);
	for (int i = 0; i < 12; i++)
		assert_int_equal(parity[i], 0);
}

static void test_34_coding(void **state)
{
	(void)state;
	uint8_t key[24], out[32];
	for (int i = 0; i < 24; i++)
		key[i] = (uint8_t)(i + 1);
	efuse_34_encode(key, out);
	/* group 0 = 01..06: xor 07, weighted popcounts 1·1+2·1+3·2+4·1+5·2+6·2 = 35 */
	const uint8_t g0[8] = {1, 2, 3, 4, 5, 6, 0x07, 35};
	testutil_assert_bytes_equal("group0", out, 8, g0, 8);
	assert_memory_equal(out + 8, key + 6, 6);
	assert_memory_equal(out + 24, key + 18, 6);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lookup),
		cmocka_unit_test(test_rom_command_acceptance),
		cmocka_unit_test(test_mac_decoding),
		cmocka_unit_test(test_revision_decoding),
		cmocka_unit_test(test_crystal_and_baud),
		cmocka_unit_test(test_flash_size),
		cmocka_unit_test(test_esp32_spi_pads),
		cmocka_unit_test(test_purposes),
		cmocka_unit_test(test_reed_solomon),
		cmocka_unit_test(test_34_coding),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
