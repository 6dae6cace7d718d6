/* chip: per-chip facts and decoders (see chip.h). Values from chips.md and efuse.md. */
#include "loader/chip.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "loader/rom_proto.h"

#define F(nm, blk, wd, bt, wdth, wr) {nm, blk, wd, bt, wdth, wr}

/* ---- eFuse blocks ---- */

static const struct efuse_block_desc esp32_blocks[] = {
	{"BLOCK0", "BLOCK0", 0, 0x000, 0x01C, 7, -1, -1, -1, EFUSE_CODING_NONE, -1},
	{"BLOCK1", "flash_encryption", 1, 0x038, 0x098, 8, 7, 0, -1, EFUSE_CODING_NONE, 1},
	{"BLOCK2", "secure_boot_v1", 2, 0x058, 0x0B8, 8, 8, 1, -1, EFUSE_CODING_NONE, 2},
	{"BLOCK3", "BLOCK3", 3, 0x078, 0x0D8, 8, 9, 2, -1, EFUSE_CODING_NONE, 3},
};

static const struct efuse_block_desc c2_blocks[] = {
	{"BLOCK0", "BLOCK0", 0, 0x02C, 0, 2, -1, -1, -1, EFUSE_CODING_NONE, -1},
	{"BLOCK1", "BLOCK_SYS_DATA1", 1, 0x034, 0, 3, 5, -1, -1, EFUSE_CODING_RS, -1},
	{"BLOCK2", "BLOCK_SYS_DATA2", 2, 0x040, 0, 8, 6, -1, -1, EFUSE_CODING_RS, -1},
	{"BLOCK_KEY0", "BLOCK3", 3, 0x060, 0, 8, 7, 0, 1, EFUSE_CODING_RS, 0},
};

static const struct efuse_block_desc gen2_blocks[] = {
	{"BLOCK0", "BLOCK0", 0, 0x02C, 0, 6, -1, -1, -1, EFUSE_CODING_NONE, -1},
	{"MAC_SPI_8M_0", "BLOCK1", 1, 0x044, 0, 6, 20, -1, -1, EFUSE_CODING_RS, -1},
	{"BLOCK_SYS_DATA", "BLOCK2", 2, 0x05C, 0, 8, 21, -1, -1, EFUSE_CODING_RS, -1},
	{"BLOCK_USR_DATA", "BLOCK3", 3, 0x07C, 0, 8, 22, -1, -1, EFUSE_CODING_RS, -1},
	{"BLOCK_KEY0", "BLOCK4", 4, 0x09C, 0, 8, 23, 0, -1, EFUSE_CODING_RS, 0},
	{"BLOCK_KEY1", "BLOCK5", 5, 0x0BC, 0, 8, 24, 1, -1, EFUSE_CODING_RS, 1},
	{"BLOCK_KEY2", "BLOCK6", 6, 0x0DC, 0, 8, 25, 2, -1, EFUSE_CODING_RS, 2},
	{"BLOCK_KEY3", "BLOCK7", 7, 0x0FC, 0, 8, 26, 3, -1, EFUSE_CODING_RS, 3},
	{"BLOCK_KEY4", "BLOCK8", 8, 0x11C, 0, 8, 27, 4, -1, EFUSE_CODING_RS, 4},
	{"BLOCK_KEY5", "BLOCK9", 9, 0x13C, 0, 8, 28, 5, -1, EFUSE_CODING_RS, 5},
	{"BLOCK_SYS_DATA2", "BLOCK10", 10, 0x15C, 0, 8, 29, 6, -1, EFUSE_CODING_RS, -1},
};

/* ---- BLOCK0 fields ---- */

static const struct efuse_field_desc esp32_fields[EF_COUNT] = {
	[EF_WR_DIS] = F("WR_DIS", 0, 0, 0, 16, -1),
	[EF_RD_DIS] = F("RD_DIS", 0, 0, 16, 4, 0),
	[EF_CRYPT_CNT] = F("FLASH_CRYPT_CNT", 0, 0, 20, 7, 2),
	[EF_UART_DOWNLOAD_DIS] = F("UART_DOWNLOAD_DIS", 0, 0, 27, 1, 2),
	[EF_FLASH_CRYPT_CONFIG] = F("FLASH_CRYPT_CONFIG", 0, 5, 28, 4, 10),
	[EF_CODING_SCHEME] = F("CODING_SCHEME", 0, 6, 0, 2, 10),
	[EF_ABS_DONE_0] = F("ABS_DONE_0", 0, 6, 4, 1, 12),
	[EF_ABS_DONE_1] = F("ABS_DONE_1", 0, 6, 5, 1, 13),
	[EF_JTAG_DISABLE] = F("JTAG_DISABLE", 0, 6, 6, 1, 14),
	[EF_DISABLE_DL_ENCRYPT] = F("DISABLE_DL_ENCRYPT", 0, 6, 7, 1, 15),
	[EF_DISABLE_DL_DECRYPT] = F("DISABLE_DL_DECRYPT", 0, 6, 8, 1, 15),
	[EF_DISABLE_DL_CACHE] = F("DISABLE_DL_CACHE", 0, 6, 9, 1, 15),
	/* w6 bit 2 (efuse.md §7); WR_DIS bit 15 as in espefuse esp32.yaml */
	[EF_CONSOLE_DEBUG_DISABLE] = F("CONSOLE_DEBUG_DISABLE", 0, 6, 2, 1, 15),
};

static const struct efuse_field_desc c2_fields[EF_COUNT] = {
	[EF_WR_DIS] = F("WR_DIS", 0, 0, 0, 8, -1),
	[EF_RD_DIS] = F("RD_DIS", 0, 1, 0, 2, 0),
	[EF_DIS_PAD_JTAG] = F("DIS_PAD_JTAG", 0, 1, 4, 1, 1),
	[EF_DIS_DOWNLOAD_ICACHE] = F("DIS_DOWNLOAD_ICACHE", 0, 1, 5, 1, 1),
	[EF_DIS_DOWNLOAD_MANUAL_ENCRYPT] = F("DIS_DOWNLOAD_MANUAL_ENCRYPT", 0, 1, 6, 1, 2),
	[EF_CRYPT_CNT] = F("SPI_BOOT_CRYPT_CNT", 0, 1, 7, 3, 2),
	[EF_XTS_KEY_LENGTH_256] = F("XTS_KEY_LENGTH_256", 0, 1, 10, 1, 2),
	[EF_DIS_DOWNLOAD_MODE] = F("DIS_DOWNLOAD_MODE", 0, 1, 14, 1, 3),
	[EF_DIS_DIRECT_BOOT] = F("DIS_DIRECT_BOOT", 0, 1, 15, 1, 3),
	[EF_ENABLE_SECURITY_DOWNLOAD] = F("ENABLE_SECURITY_DOWNLOAD", 0, 1, 16, 1, 3),
	[EF_SECURE_BOOT_EN] = F("SECURE_BOOT_EN", 0, 1, 21, 1, 2),
	[EF_SECURE_VERSION] = F("SECURE_VERSION", 0, 1, 22, 4, 4),
};

/* Fields common to S2/S3/C3/C6/H2 (positions of C3; efuse.md §2). */
#define GEN2_COMMON_FIELDS                                                                        \
	[EF_WR_DIS] = F("WR_DIS", 0, 0, 0, 32, -1),                                               \
	[EF_RD_DIS] = F("RD_DIS", 0, 1, 0, 7, 0),                                                 \
	[EF_CRYPT_CNT] = F("SPI_BOOT_CRYPT_CNT", 0, 2, 18, 3, 4),                                 \
	[EF_SECURE_BOOT_KEY_REVOKE0] = F("SECURE_BOOT_KEY_REVOKE0", 0, 2, 21, 1, 5),              \
	[EF_SECURE_BOOT_KEY_REVOKE1] = F("SECURE_BOOT_KEY_REVOKE1", 0, 2, 22, 1, 6),              \
	[EF_SECURE_BOOT_KEY_REVOKE2] = F("SECURE_BOOT_KEY_REVOKE2", 0, 2, 23, 1, 7),              \
	[EF_KEY_PURPOSE_0] = F("KEY_PURPOSE_0", 0, 2, 24, 4, 8),                                  \
	[EF_KEY_PURPOSE_1] = F("KEY_PURPOSE_1", 0, 2, 28, 4, 9),                                  \
	[EF_KEY_PURPOSE_2] = F("KEY_PURPOSE_2", 0, 3, 0, 4, 10),                                  \
	[EF_KEY_PURPOSE_3] = F("KEY_PURPOSE_3", 0, 3, 4, 4, 11),                                  \
	[EF_KEY_PURPOSE_4] = F("KEY_PURPOSE_4", 0, 3, 8, 4, 12),                                  \
	[EF_KEY_PURPOSE_5] = F("KEY_PURPOSE_5", 0, 3, 12, 4, 13),                                 \
	[EF_SECURE_BOOT_EN] = F("SECURE_BOOT_EN", 0, 3, 20, 1, 15),                               \
	[EF_SECURE_BOOT_AGGRESSIVE_REVOKE] = F("SECURE_BOOT_AGGRESSIVE_REVOKE", 0, 3, 21, 1, 16), \
	[EF_DIS_DOWNLOAD_MODE] = F("DIS_DOWNLOAD_MODE", 0, 4, 0, 1, 18),                          \
	[EF_DIS_DIRECT_BOOT] = F("DIS_DIRECT_BOOT", 0, 4, 1, 1, 18),                              \
	[EF_ENABLE_SECURITY_DOWNLOAD] = F("ENABLE_SECURITY_DOWNLOAD", 0, 4, 5, 1, 18)

static const struct efuse_field_desc s2_fields[EF_COUNT] = {
	GEN2_COMMON_FIELDS,
	[EF_DIS_DOWNLOAD_ICACHE] = F("DIS_DOWNLOAD_ICACHE", 0, 1, 10, 1, 2),
	[EF_DIS_DOWNLOAD_DCACHE] = F("DIS_DOWNLOAD_DCACHE", 0, 1, 11, 1, 2),
	/* S2: both JTAG bits sit in the WR_DIS 2 group (espefuse esp32s2.yaml), not 31 */
	[EF_SOFT_DIS_JTAG] = F("SOFT_DIS_JTAG", 0, 1, 17, 1, 2),
	[EF_HARD_DIS_JTAG] = F("HARD_DIS_JTAG", 0, 1, 18, 1, 2),
	[EF_DIS_DOWNLOAD_MANUAL_ENCRYPT] = F("DIS_DOWNLOAD_MANUAL_ENCRYPT", 0, 1, 19, 1, 2),
	[EF_SECURE_VERSION] = F("SECURE_VERSION", 0, 4, 11, 16, 18),
};

static const struct efuse_field_desc s3_fields[EF_COUNT] = {
	GEN2_COMMON_FIELDS,
	[EF_DIS_DOWNLOAD_ICACHE] = F("DIS_DOWNLOAD_ICACHE", 0, 1, 10, 1, 2),
	[EF_DIS_DOWNLOAD_DCACHE] = F("DIS_DOWNLOAD_DCACHE", 0, 1, 11, 1, 2),
	[EF_SOFT_DIS_JTAG] = F("SOFT_DIS_JTAG", 0, 1, 16, 3, 31),
	[EF_DIS_PAD_JTAG] = F("DIS_PAD_JTAG", 0, 1, 19, 1, 2),
	[EF_DIS_DOWNLOAD_MANUAL_ENCRYPT] = F("DIS_DOWNLOAD_MANUAL_ENCRYPT", 0, 1, 20, 1, 2),
	[EF_DIS_USB_JTAG] = F("DIS_USB_JTAG", 0, 3, 22, 1, 2),
	[EF_DIS_USB_SERIAL_JTAG] = F("DIS_USB_SERIAL_JTAG", 0, 3, 23, 1, 2),
	[EF_DIS_USB_SERIAL_JTAG_DOWNLOAD_MODE] =
		F("DIS_USB_SERIAL_JTAG_DOWNLOAD_MODE", 0, 4, 4, 1, 18),
	[EF_SECURE_VERSION] = F("SECURE_VERSION", 0, 4, 14, 16, 18),
};

#define C3_STYLE_FIELDS                                                                           \
	GEN2_COMMON_FIELDS,                                                                       \
	[EF_DIS_USB_JTAG] = F("DIS_USB_JTAG", 0, 1, 9, 1, 2),                                     \
	[EF_DIS_USB_SERIAL_JTAG] = F("DIS_USB_SERIAL_JTAG", 0, 1, 11, 1, 2),                      \
	[EF_SOFT_DIS_JTAG] = F("SOFT_DIS_JTAG", 0, 1, 16, 3, 31),                                 \
	[EF_DIS_PAD_JTAG] = F("DIS_PAD_JTAG", 0, 1, 19, 1, 2),                                    \
	[EF_DIS_DOWNLOAD_MANUAL_ENCRYPT] = F("DIS_DOWNLOAD_MANUAL_ENCRYPT", 0, 1, 20, 1, 2),      \
	[EF_DIS_USB_SERIAL_JTAG_DOWNLOAD_MODE] =                                                  \
		F("DIS_USB_SERIAL_JTAG_DOWNLOAD_MODE", 0, 4, 4, 1, 18)

static const struct efuse_field_desc c3_fields[EF_COUNT] = {
	C3_STYLE_FIELDS,
	[EF_DIS_DOWNLOAD_ICACHE] = F("DIS_DOWNLOAD_ICACHE", 0, 1, 10, 1, 2),
	[EF_SECURE_VERSION] = F("SECURE_VERSION", 0, 4, 14, 16, 18),
};

static const struct efuse_field_desc h2_fields[EF_COUNT] = {
	C3_STYLE_FIELDS,
	[EF_SECURE_VERSION] = F("SECURE_VERSION", 0, 4, 9, 16, 18),
};

/* ---- controller layouts ---- */

static const struct efuse_layout esp32_layout = {
	.family = EFUSE_FAMILY_ESP32,
	.clk_off = 0x0F8, .conf_off = 0x0FC, .cmd_off = 0x104, .dac_conf_off = 0x118,
	.dec_status_off = 0x11C,
	.blocks = esp32_blocks, .n_blocks = 4, .first_key_block = 1, .n_key_blocks = 3,
	.fields = esp32_fields,
};

static const struct efuse_layout c2_layout = {
	.family = EFUSE_FAMILY_C2,
	.pgm_data_off = 0x000, .check_value_off = 0x020,
	.clk_off = 0x88, .conf_off = 0x8C, .status_off = 0x90, .cmd_off = 0x94,
	.dac_conf_off = 0x108, .wr_tim_conf1_off = 0x114, .wr_tim_conf2_off = 0x118,
	.rs_err0_off = 0x84, .repeat_err_off = 0x80, .repeat_err_words = 1,
	.blocks = c2_blocks, .n_blocks = 4, .first_key_block = 3, .n_key_blocks = 1,
	.fields = c2_fields,
};

#define GEN2_LAYOUT(nm, flds, rs0, rs1, tim1, tim2, late)                                         \
	static const struct efuse_layout nm = {                                                   \
		.family = EFUSE_FAMILY_GEN2,                                                      \
		.pgm_data_off = 0x000, .check_value_off = 0x020,                                  \
		.clk_off = 0x1C8, .conf_off = 0x1CC, .status_off = 0x1D0, .cmd_off = 0x1D4,      \
		.dac_conf_off = 0x1E8, .wr_tim_conf1_off = tim1, .wr_tim_conf2_off = tim2,       \
		.rs_err0_off = rs0, .rs_err1_off = rs1,                                           \
		.repeat_err_off = 0x17C, .repeat_err_words = 5,                                   \
		.rs_fail_bit_late = late,                                                         \
		.blocks = gen2_blocks, .n_blocks = 11, .first_key_block = 4, .n_key_blocks = 6,  \
		.fields = flds,                                                                   \
	}

GEN2_LAYOUT(s2_layout, s2_fields, 0x194, 0x198, 0x1F4, 0x1F8, false);
GEN2_LAYOUT(s3_layout, s3_fields, 0x1C0, 0x1C4, 0x1F4, 0x1F8, false);
GEN2_LAYOUT(c3_layout, c3_fields, 0x1C0, 0x1C4, 0x1F0, 0x1F4, true);
GEN2_LAYOUT(c6_layout, c3_fields, 0x1C0, 0x1C4, 0x1F0, 0x1F4, false);
GEN2_LAYOUT(h2_layout, h2_fields, 0x1C0, 0x1C4, 0x1F0, 0x1F4, false);

/* ---- purposes ---- */

#define P(x) (1u << (x))
#define GEN2_COMMON_PURPOSES                                                                      \
	(P(KP_USER) | P(KP_XTS_AES_128_KEY) | P(KP_HMAC_DOWN_ALL) | P(KP_HMAC_DOWN_JTAG) |        \
	 P(KP_HMAC_DOWN_DIGITAL_SIGNATURE) | P(KP_HMAC_UP) | P(KP_SECURE_BOOT_DIGEST0) |          \
	 P(KP_SECURE_BOOT_DIGEST1) | P(KP_SECURE_BOOT_DIGEST2))

static const int esp32_roles[] = {KP_USER, KP_ESP32_FLASH_ENCRYPTION, KP_ESP32_SECURE_BOOT_V1,
				  KP_ESP32_SECURE_BOOT_V2, KP_INVALID};
static const int c2_roles[] = {KP_USER, KP_XTS_AES_128_KEY, KP_C2_XTS_AES_128_KEY_DERIVED,
			       KP_C2_SECURE_BOOT_DIGEST, KP_INVALID};

#define SPI_GEN2(b) {b, 0x00, 0x04, 0x18, 0x1C, 0x20, 0x24, 0x28, 0x58}

static const struct chip_desc chips[CHIP_COUNT] = {
	[CHIP_ESP32] = {
		.type = CHIP_ESP32, .name = "ESP32", .id = "esp32",
		.secinfo_chip_id = -1, .secinfo_len = 0,
		.magic = {0x00F01D83}, .n_magic = 1,
		.uart_date_reg = 0x60000078, .uart_clkdiv_reg = 0x3FF40014,
		.efuse_base = 0x3FF5A000, .mac_reg = 0x3FF5A004,
		.spi = {0x3FF42000, 0x00, 0x04, 0x1C, 0x20, 0x24, 0x28, 0x2C, 0x80},
		.xtal_mhz = {40, 26},
		.rom_encrypt_flag = false, .encrypt_align = 32,
		.baud_fix = CHIP_BAUD_FIX_ESP32_RTC,
		.roles = esp32_roles,
		.efuse = &esp32_layout,
	},
	[CHIP_ESP32S2] = {
		.type = CHIP_ESP32S2, .name = "ESP32-S2", .id = "esp32s2",
		.secinfo_chip_id = -1, .secinfo_len = ROM_SECINFO_LEN_S2,
		.magic = {0x000007C6}, .n_magic = 1,
		.uart_date_reg = 0x60000078,
		.efuse_base = 0x3F41A000, .mac_reg = 0x3F41A044,
		.spi = SPI_GEN2(0x3F402000),
		.xtal_mhz = {40, 0},
		.rom_encrypt_flag = true, .encrypt_align = 16,
		.purposes = GEN2_COMMON_PURPOSES | P(KP_XTS_AES_256_KEY_1) | P(KP_XTS_AES_256_KEY_2),
		.has_hmac = true, .has_ds = true, .ds_max_bits = 4096,
		.efuse = &s2_layout,
	},
	[CHIP_ESP32S3] = {
		.type = CHIP_ESP32S3, .name = "ESP32-S3", .id = "esp32s3",
		.secinfo_chip_id = 9, .secinfo_len = ROM_SECINFO_LEN,
		.magic = {0x00000009}, .n_magic = 1,
		.uart_date_reg = 0x60000080,
		.efuse_base = 0x60007000, .mac_reg = 0x60007044,
		.spi = SPI_GEN2(0x60002000),
		.xtal_mhz = {40, 0},
		.usb_serial_jtag = true,
		.wdt = {0x600080B0, 0x60008098, 0x600080B8, 0x8F1D312A, 0x600080B4, 31},
		.rom_encrypt_flag = true, .encrypt_align = 16,
		.purposes = GEN2_COMMON_PURPOSES | P(KP_XTS_AES_256_KEY_1) | P(KP_XTS_AES_256_KEY_2),
		.key5_no_xts = true,
		.has_hmac = true, .has_ds = true, .ds_max_bits = 4096,
		.efuse = &s3_layout,
	},
	[CHIP_ESP32C2] = {
		.type = CHIP_ESP32C2, .name = "ESP32-C2", .id = "esp32c2",
		.secinfo_chip_id = 12, .secinfo_len = ROM_SECINFO_LEN,
		.magic = {0x6F51306F, 0x7C41A06F}, .n_magic = 2,
		.uart_date_reg = 0x6000007C, .uart_clkdiv_reg = 0x60000014,
		.efuse_base = 0x60008800, .mac_reg = 0x60008840,
		.spi = SPI_GEN2(0x60002000),
		.xtal_mhz = {40, 26},
		.rom_encrypt_flag = true, .encrypt_align = 16,
		.baud_fix = CHIP_BAUD_FIX_C2_XTAL26,
		.roles = c2_roles,
		.efuse = &c2_layout,
	},
	[CHIP_ESP32C3] = {
		.type = CHIP_ESP32C3, .name = "ESP32-C3", .id = "esp32c3",
		.secinfo_chip_id = 5, .secinfo_len = ROM_SECINFO_LEN,
		.magic = {0x6921506F, 0x1B31506F, 0x4881606F, 0x4361606F}, .n_magic = 4,
		.uart_date_reg = 0x6000007C,
		.efuse_base = 0x60008800, .mac_reg = 0x60008844,
		.spi = SPI_GEN2(0x60002000),
		.xtal_mhz = {40, 0},
		.usb_serial_jtag = true,
		.wdt = {0x600080A8, 0x60008090, 0x600080B0, 0x8F1D312A, 0x600080AC, 31},
		.rom_encrypt_flag = true, .encrypt_align = 16,
		.purposes = GEN2_COMMON_PURPOSES,
		.key5_no_xts = true,
		.has_hmac = true, .has_ds = true, .ds_max_bits = 3072,
		.efuse = &c3_layout,
	},
	[CHIP_ESP32C6] = {
		.type = CHIP_ESP32C6, .name = "ESP32-C6", .id = "esp32c6",
		.secinfo_chip_id = 13, .secinfo_len = ROM_SECINFO_LEN,
		.magic = {0x2CE0806F}, .n_magic = 1,
		.uart_date_reg = 0x6000007C,
		.efuse_base = 0x600B0800, .mac_reg = 0x600B0844,
		.spi = SPI_GEN2(0x60003000),
		.xtal_mhz = {40, 0},
		.usb_serial_jtag = true,
		.wdt = {0x600B1C18, 0x600B1C00, 0x600B1C20, CHIP_WDT_KEY, 0x600B1C1C, 18},
		.rom_encrypt_flag = true, .encrypt_align = 16,
		.purposes = GEN2_COMMON_PURPOSES,
		.key5_no_xts = true,
		.has_hmac = true, .has_ds = true, .ds_max_bits = 3072,
		.efuse = &c6_layout,
	},
	[CHIP_ESP32H2] = {
		.type = CHIP_ESP32H2, .name = "ESP32-H2", .id = "esp32h2",
		.secinfo_chip_id = 16, .secinfo_len = ROM_SECINFO_LEN,
		.magic = {0xD7B73E80}, .n_magic = 1,
		.uart_date_reg = 0x6000007C,
		.efuse_base = 0x600B0800, .mac_reg = 0x600B0844,
		.spi = SPI_GEN2(0x60003000),
		.xtal_mhz = {32, 0},
		.usb_serial_jtag = true,
		.wdt = {0x600B1C1C, 0x600B1C00, 0x600B1C24, CHIP_WDT_KEY, 0x600B1C20, 18},
		.rom_encrypt_flag = true, .encrypt_align = 16,
		.purposes = GEN2_COMMON_PURPOSES | P(KP_ECDSA_KEY),
		.key5_no_xts = true, .key5_no_ecdsa = true,
		.has_hmac = true, .has_ds = true, .has_ecdsa = true, .ds_max_bits = 3072,
		.efuse = &h2_layout,
	},
};

const struct chip_desc *chip_get_desc(enum chip_type type)
{
	if (type < 0 || type >= CHIP_COUNT)
		return NULL;
	return &chips[type];
}

const struct chip_desc *chip_find_by_name(const char *name)
{
	char norm[32];
	size_t n = 0;
	if (!name)
		return NULL;
	for (const char *p = name; *p && n + 1 < sizeof(norm); p++) {
		if (*p == '-' || *p == '_')
			continue;
		norm[n++] = (char)tolower((unsigned char)*p);
	}
	norm[n] = '\0';
	for (int i = 0; i < CHIP_COUNT; i++)
		if (strcmp(norm, chips[i].id) == 0)
			return &chips[i];
	return NULL;
}

const struct chip_desc *chip_find_by_secinfo_id(uint32_t chip_id)
{
	for (int i = 0; i < CHIP_COUNT; i++)
		if (chips[i].secinfo_chip_id >= 0 && (uint32_t)chips[i].secinfo_chip_id == chip_id)
			return &chips[i];
	return NULL;
}

const struct chip_desc *chip_find_by_magic(uint32_t magic)
{
	for (int i = 0; i < CHIP_COUNT; i++)
		for (unsigned k = 0; k < chips[i].n_magic; k++)
			if (chips[i].magic[k] == magic)
				return &chips[i];
	return NULL;
}

bool chip_rom_accepts_command(const struct chip_desc *c, uint8_t op, bool sdm)
{
	switch (op) {
	case ROM_OP_SYNC:
	case ROM_OP_SPI_ATTACH:
	case ROM_OP_SPI_SET_PARAMS:
	case ROM_OP_CHANGE_BAUDRATE:
	case ROM_OP_FLASH_BEGIN:
	case ROM_OP_FLASH_DATA:
	case ROM_OP_FLASH_END:
		return true;
	case ROM_OP_GET_SECURITY_INFO:
		return c->secinfo_len != 0;
	case ROM_OP_MEM_BEGIN:
	case ROM_OP_MEM_END:
	case ROM_OP_MEM_DATA:
	case ROM_OP_WRITE_REG:
	case ROM_OP_READ_REG:
	case ROM_OP_READ_FLASH_SLOW:
	case ROM_OP_FLASH_DEFL_BEGIN:
	case ROM_OP_FLASH_DEFL_DATA:
	case ROM_OP_FLASH_DEFL_END:
	case ROM_OP_SPI_FLASH_MD5:
		return !sdm;
	default:
		return false; /* stub-only (0xD0..) and unknown codes */
	}
}

/* ---- decoders ---- */

void chip_decode_mac(const struct chip_desc *c, uint32_t w0, uint32_t w1, uint8_t mac[6])
{
	(void)c; /* every chip uses the same byte order; ESP32's w1 bits 23:16 hold the CRC */
	mac[0] = (uint8_t)(w1 >> 8);
	mac[1] = (uint8_t)w1;
	mac[2] = (uint8_t)(w0 >> 24);
	mac[3] = (uint8_t)(w0 >> 16);
	mac[4] = (uint8_t)(w0 >> 8);
	mac[5] = (uint8_t)w0;
}

bool chip_decode_mac_ext(const struct chip_desc *c, uint32_t w1, uint8_t ext[2])
{
	if (c->type != CHIP_ESP32C6 && c->type != CHIP_ESP32H2)
		return false;
	ext[0] = (uint8_t)(w1 >> 24);
	ext[1] = (uint8_t)(w1 >> 16);
	return true;
}

int chip_read_mac(const struct chip_desc *c, chip_read_reg_fn rd, void *ctx, uint8_t mac[6],
		  err_t *e)
{
	uint32_t w0, w1;
	if (rd(ctx, c->mac_reg, &w0, e) || rd(ctx, c->mac_reg + 4, &w1, e))
		return err_prepend_context(e, "reading the MAC address of the %s", c->name);
	chip_decode_mac(c, w0, w1, mac);
	return 0;
}

static uint32_t bits(uint32_t v, unsigned hi, unsigned lo)
{
	return (v >> lo) & ((1u << (hi - lo + 1)) - 1);
}

int chip_read_revision(const struct chip_desc *c, chip_read_reg_fn rd, void *ctx,
		       unsigned *major, unsigned *minor, err_t *e)
{
	uint32_t blk1 = c->efuse_base + 0x44;
	uint32_t a = 0, b = 0, x = 0;
	switch (c->type) {
	case CHIP_ESP32: {
		if (rd(ctx, c->efuse_base + 0x0C, &a, e) || rd(ctx, c->efuse_base + 0x14, &b, e) ||
		    rd(ctx, 0x3FF6607C, &x, e))
			goto fail;
		unsigned combo = bits(a, 15, 15) | bits(b, 20, 20) << 1 | bits(x, 31, 31) << 2;
		static const unsigned map[8] = {0, 1, 1, 2, 2, 2, 2, 3};
		/* esptool: 0→0, 1→1, 3→2, 7→3; other combinations do not occur on real parts. */
		*major = map[combo];
		*minor = bits(b, 25, 24);
		return 0;
	}
	case CHIP_ESP32S2:
		if (rd(ctx, blk1 + 12, &a, e) || rd(ctx, blk1 + 16, &b, e))
			goto fail;
		*major = bits(a, 19, 18);
		*minor = bits(a, 20, 20) << 3 | bits(b, 6, 4);
		return 0;
	case CHIP_ESP32S3:
	case CHIP_ESP32C3:
		if (rd(ctx, blk1 + 20, &a, e) || rd(ctx, blk1 + 12, &b, e))
			goto fail;
		*major = bits(a, 25, 24);
		*minor = bits(a, 23, 23) << 3 | bits(b, 20, 18);
		return 0;
	case CHIP_ESP32C2:
		if (rd(ctx, c->efuse_base + 0x40 + 4, &a, e))
			goto fail;
		*major = bits(a, 21, 20);
		*minor = bits(a, 19, 16);
		return 0;
	case CHIP_ESP32C6:
		if (rd(ctx, blk1 + 12, &a, e))
			goto fail;
		*major = bits(a, 23, 22);
		*minor = bits(a, 21, 18);
		return 0;
	case CHIP_ESP32H2:
		if (rd(ctx, blk1 + 12, &a, e))
			goto fail;
		*major = bits(a, 22, 21);
		*minor = bits(a, 20, 18);
		return 0;
	default:
		return err_set_msg(e, ERR_DEVICE, "no revision rule for this chip");
	}
fail:
	return err_prepend_context(e, "reading the revision of the %s", c->name);
}

int chip_read_crystal(const struct chip_desc *c, chip_read_reg_fn rd, void *ctx, unsigned baud,
		      unsigned *mhz, err_t *e)
{
	uint32_t div;
	if (!c->uart_clkdiv_reg || !c->xtal_mhz[1]) {
		*mhz = c->xtal_mhz[0];
		return 0;
	}
	if (rd(ctx, c->uart_clkdiv_reg, &div, e))
		return err_prepend_context(e, "reading the UART clock divider of the %s", c->name);
	div &= 0xFFFFF;
	if (div == 0) {
		*mhz = c->xtal_mhz[0];
		return 0;
	}
	/* The ROM sets its UART divider from the crystal; divider × baud recovers it. */
	double est = (double)baud * div / 1e6;
	*mhz = est > 33.0 ? 40 : 26;
	return 0;
}

int chip_rom_baud_value(const struct chip_desc *c, chip_read_reg_fn rd, void *ctx,
			unsigned xtal_mhz, uint32_t baud, uint32_t *wire_baud, err_t *e)
{
	*wire_baud = baud;
	if (c->baud_fix == CHIP_BAUD_FIX_C2_XTAL26) {
		if (xtal_mhz == 26)
			*wire_baud = (uint32_t)((uint64_t)baud * 40 / 26);
		return 0;
	}
	if (c->baud_fix != CHIP_BAUD_FIX_ESP32_RTC)
		return 0;
	uint32_t cali, ck8m;
	if (rd(ctx, 0x3FF5F06C, &cali, e) || rd(ctx, c->efuse_base + 4 * 4, &ck8m, e))
		return err_prepend_context(e, "reading the ESP32 clock calibration");
	cali = (cali >> 7) & 0x1FFFFFF;
	ck8m &= 0xFF;
	double rom_freq = (double)cali * 15625.0 * ck8m / 40.0;
	if (rom_freq < 1e6)
		return 0; /* no calibration recorded: the ROM uses the nominal clock */
	double valid = rom_freq > 33e6 ? 40e6 : 26e6;
	*wire_baud = (uint32_t)((double)baud * rom_freq / valid);
	return 0;
}

uint32_t chip_esp32_spi_attach_value(uint32_t blk0_w3, uint32_t blk0_w5)
{
	uint32_t pins = blk0_w5 & 0xFFFFF;
	if (pins == 0 || pins == 0xFFFFF)
		return 0;
	/* 5-bit eFuse fields cannot hold GPIO 32/33: values 30, 31 stand for 32, 33 */
	uint32_t f[5] = {pins & 0x1F, (pins >> 5) & 0x1F, (pins >> 10) & 0x1F, (pins >> 15) & 0x1F,
			 (blk0_w3 >> 4) & 0x1F};
	for (int i = 0; i < 5; i++)
		if (f[i] >= 30)
			f[i] += 2;
	uint32_t clk = f[0], q = f[1], d = f[2], cs = f[3], hd = f[4];
	return hd << 24 | cs << 18 | d << 12 | q << 6 | clk;
}

uint32_t chip_flash_size_from_id(uint32_t flash_id)
{
	uint8_t manuf = flash_id & 0xFF;
	uint8_t cap = (flash_id >> 16) & 0xFF;
	if (manuf == 0x1F) {
		unsigned code = (flash_id >> 8) & 0x1F;
		if (code >= 4 && code <= 9)
			return (512u * 1024u) << (code - 4);
		return 0;
	}
	switch (cap) {
	case 0x12: case 0x32: return 256u * 1024;
	case 0x13: case 0x33: return 512u * 1024;
	case 0x14: case 0x34: return 1u << 20;
	case 0x15: case 0x35: return 2u << 20;
	case 0x16: case 0x36: return 4u << 20;
	case 0x17: case 0x37: return 8u << 20;
	case 0x18: case 0x38: return 16u << 20;
	case 0x19: case 0x39: return 32u << 20;
	case 0x1A: case 0x3A: case 0x20: return 64u << 20;
	case 0x1B: case 0x21: return 128u << 20;
	case 0x1C: case 0x22: return 256u << 20;
	default: return 0;
	}
}

/* ---- eFuse helpers ---- */

const struct efuse_field_desc *chip_efuse_field(const struct chip_desc *c, enum efuse_field_id f)
{
	if (f < 0 || f >= EF_COUNT)
		return NULL;
	const struct efuse_field_desc *d = &c->efuse->fields[f];
	return d->width ? d : NULL;
}

enum efuse_field_id chip_efuse_field_by_name(const struct chip_desc *c, const char *name)
{
	for (int f = 0; f < EF_COUNT; f++) {
		const struct efuse_field_desc *d = chip_efuse_field(c, (enum efuse_field_id)f);
		if (d && name && !strcasecmp(d->name, name))
			return (enum efuse_field_id)f;
	}
	return EF_COUNT;
}

int chip_efuse_find_block(const struct chip_desc *c, const char *name)
{
	const struct efuse_layout *l = c->efuse;
	for (int i = 0; i < l->n_blocks; i++) {
		const struct efuse_block_desc *b = &l->blocks[i];
		if (strcasecmp(name, b->name) == 0 || strcasecmp(name, b->alias) == 0)
			return i;
		/* "KEY3" for BLOCK_KEY3 */
		if (b->key_index >= 0 && c->efuse->family != EFUSE_FAMILY_ESP32 &&
		    strncasecmp(name, "KEY", 3) == 0 && name[3] - '0' == b->key_index && !name[4])
			return i;
	}
	if (c->efuse->family == EFUSE_FAMILY_ESP32 && strcasecmp(name, "secure_boot_v2") == 0)
		return 2;
	return -1;
}

enum efuse_field_id chip_efuse_purpose_field(unsigned key_index)
{
	return (enum efuse_field_id)(EF_KEY_PURPOSE_0 + key_index);
}

static const struct {
	int purpose;
	const char *name;
} purpose_names[] = {
	{KP_USER, "USER"},
	{KP_ECDSA_KEY, "ECDSA_KEY"},
	{KP_XTS_AES_256_KEY_1, "XTS_AES_256_KEY_1"},
	{KP_XTS_AES_256_KEY_2, "XTS_AES_256_KEY_2"},
	{KP_XTS_AES_128_KEY, "XTS_AES_128_KEY"},
	{KP_HMAC_DOWN_ALL, "HMAC_DOWN_ALL"},
	{KP_HMAC_DOWN_JTAG, "HMAC_DOWN_JTAG"},
	{KP_HMAC_DOWN_DIGITAL_SIGNATURE, "HMAC_DOWN_DIGITAL_SIGNATURE"},
	{KP_HMAC_UP, "HMAC_UP"},
	{KP_SECURE_BOOT_DIGEST0, "SECURE_BOOT_DIGEST0"},
	{KP_SECURE_BOOT_DIGEST1, "SECURE_BOOT_DIGEST1"},
	{KP_SECURE_BOOT_DIGEST2, "SECURE_BOOT_DIGEST2"},
	{KP_ESP32_FLASH_ENCRYPTION, "FLASH_ENCRYPTION"},
	{KP_ESP32_SECURE_BOOT_V1, "SECURE_BOOT_V1"},
	{KP_ESP32_SECURE_BOOT_V2, "SECURE_BOOT_V2"},
	{KP_C2_XTS_AES_128_KEY_DERIVED, "XTS_AES_128_KEY_DERIVED_FROM_128_EFUSE_BITS"},
	{KP_C2_SECURE_BOOT_DIGEST, "SECURE_BOOT_DIGEST"},
};

const char *chip_purpose_name(int purpose)
{
	for (size_t i = 0; i < sizeof(purpose_names) / sizeof(purpose_names[0]); i++)
		if (purpose_names[i].purpose == purpose)
			return purpose_names[i].name;
	return purpose == 1 ? "RESERVED" : "UNKNOWN";
}

int chip_purpose_parse(const char *name)
{
	for (size_t i = 0; i < sizeof(purpose_names) / sizeof(purpose_names[0]); i++)
		if (strcasecmp(purpose_names[i].name, name) == 0)
			return purpose_names[i].purpose;
	return KP_INVALID;
}

bool chip_purpose_is_reversed(int purpose)
{
	switch (purpose) {
	case KP_ECDSA_KEY:
	case KP_XTS_AES_256_KEY_1:
	case KP_XTS_AES_256_KEY_2:
	case KP_XTS_AES_128_KEY:
	case KP_ESP32_FLASH_ENCRYPTION:
	case KP_ESP32_SECURE_BOOT_V1:
	case KP_C2_XTS_AES_128_KEY_DERIVED:
		return true;
	default:
		return false;
	}
}

bool chip_purpose_wants_read_protect(int purpose)
{
	switch (purpose) {
	case KP_USER:
	case KP_SECURE_BOOT_DIGEST0:
	case KP_SECURE_BOOT_DIGEST1:
	case KP_SECURE_BOOT_DIGEST2:
	case KP_ESP32_SECURE_BOOT_V2:
	case KP_C2_SECURE_BOOT_DIGEST:
		return false;
	default:
		return true;
	}
}

int chip_check_purpose(const struct chip_desc *c, int block_idx, int purpose, err_t *e)
{
	const struct efuse_layout *l = c->efuse;
	if (block_idx < 0 || block_idx >= l->n_blocks)
		return err_set_msg(e, ERR_USAGE, "no such eFuse block on the %s", c->name);
	const struct efuse_block_desc *b = &l->blocks[block_idx];
	const char *pn = chip_purpose_name(purpose);
	if (b->key_index < 0)
		return err_set_msg(e, ERR_USAGE, "%s is not a key block on the %s", b->name, c->name);
	if (l->family == EFUSE_FAMILY_ESP32) {
		bool ok = (b->num == 1 && purpose == KP_ESP32_FLASH_ENCRYPTION) ||
			  (b->num == 2 && (purpose == KP_ESP32_SECURE_BOOT_V1 ||
					   purpose == KP_ESP32_SECURE_BOOT_V2)) ||
			  (b->num == 3 && purpose == KP_USER);
		if (!ok)
			return err_set_msg(e, ERR_USAGE,
					   "on the ESP32 the block names the role: BLOCK1 takes "
					   "FLASH_ENCRYPTION, BLOCK2 SECURE_BOOT_V1 or SECURE_BOOT_V2, "
					   "BLOCK3 USER (got %s for %s)",
					   pn, b->name);
		return 0;
	}
	if (l->family == EFUSE_FAMILY_C2) {
		for (const int *r = c->roles; *r != KP_INVALID; r++)
			if (*r == purpose)
				return 0;
		return err_set_msg(e, ERR_USAGE,
				   "the ESP32-C2 key block does not take purpose %s (use "
				   "XTS_AES_128_KEY, XTS_AES_128_KEY_DERIVED_FROM_128_EFUSE_BITS, "
				   "SECURE_BOOT_DIGEST or USER)",
				   pn);
	}
	if (purpose < 0 || purpose > 15 || !(c->purposes & P(purpose)))
		return err_set_msg(e, ERR_USAGE, "the %s does not support key purpose %s", c->name,
				   pn);
	if (b->key_index == 5 && c->key5_no_xts &&
	    (purpose == KP_XTS_AES_128_KEY || purpose == KP_XTS_AES_256_KEY_1 ||
	     purpose == KP_XTS_AES_256_KEY_2))
		return err_set_msg(e, ERR_USAGE,
				   "the %s cannot use BLOCK_KEY5 for an XTS-AES key (hardware "
				   "limitation); choose BLOCK_KEY0..4",
				   c->name);
	if (b->key_index == 5 && c->key5_no_ecdsa && purpose == KP_ECDSA_KEY)
		return err_set_msg(e, ERR_USAGE,
				   "the %s cannot use BLOCK_KEY5 for an ECDSA key (hardware "
				   "limitation); choose BLOCK_KEY0..4",
				   c->name);
	return 0;
}
