/* chip: the table of supported ESP32-family chips (chips.md, efuse.md): identification (security
 * info chip id, magic register), register addresses, eFuse layout (blocks, fields, coding),
 * key purposes, ROM quirks and baud-rate corrections, plus decoders for MAC, revision, crystal
 * and flash size. Data only, no I/O: shared by the host loader and by the simulator. */
#ifndef ESPFAB_LOADER_CHIP_H
#define ESPFAB_LOADER_CHIP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

enum chip_type {
	CHIP_UNKNOWN = -1,
	CHIP_ESP32 = 0,
	CHIP_ESP32S2,
	CHIP_ESP32S3,
	CHIP_ESP32C2,
	CHIP_ESP32C3,
	CHIP_ESP32C6,
	CHIP_ESP32H2,
	CHIP_COUNT,
};

/* How the eFuse controller is driven (efuse.md §4, §7, §8). */
enum efuse_family {
	EFUSE_FAMILY_ESP32, /* classic: per-block write windows, no RS, optional 3/4 coding */
	EFUSE_FAMILY_C2,    /* one key block, RS, no KEY_PURPOSE fields */
	EFUSE_FAMILY_GEN2,  /* S2/S3/C3/C6/H2: 11 blocks, RS, KEY_PURPOSE_n */
};

enum efuse_coding {
	EFUSE_CODING_NONE, /* BLOCK0; ESP32 blocks with CODING_SCHEME 0/3 */
	EFUSE_CODING_RS,   /* Reed-Solomon (44,32) */
	EFUSE_CODING_34,   /* ESP32 3/4 coding (CODING_SCHEME = 1); chosen at run time */
};

struct efuse_block_desc {
	const char *name;  /* "BLOCK_KEY0" */
	const char *alias; /* "BLOCK4" */
	uint8_t num;       /* block number (GEN2/C2: CMD bits 5:2) */
	uint16_t read_off; /* read registers, offset from the eFuse base */
	uint16_t write_off; /* program window; GEN2/C2: PGM_DATA0 (0) for every block */
	uint8_t words;     /* data words (BLOCK1 of GEN2: 6, C2 BLOCK1: 3) */
	int8_t wr_dis_bit; /* WR_DIS bit protecting the block, -1 none */
	int8_t rd_dis_bit; /* RD_DIS bit, -1 none */
	int8_t rd_dis_bit2; /* C2 BLOCK_KEY0 upper half, else -1 */
	enum efuse_coding coding; /* ESP32 blocks 1-3 say NONE; 3/4 depends on CODING_SCHEME */
	int8_t key_index;  /* KEYn index for key blocks (GEN2 0-5, C2 0, ESP32 BLOCK1-3 → 1-3), -1 */
};

/* BLOCK0 / system fields the provisioning paths use. */
enum efuse_field_id {
	EF_WR_DIS,
	EF_RD_DIS,
	EF_CRYPT_CNT, /* SPI_BOOT_CRYPT_CNT, or FLASH_CRYPT_CNT on ESP32 */
	EF_SECURE_BOOT_EN,
	EF_SECURE_BOOT_AGGRESSIVE_REVOKE,
	EF_SECURE_BOOT_KEY_REVOKE0,
	EF_SECURE_BOOT_KEY_REVOKE1,
	EF_SECURE_BOOT_KEY_REVOKE2,
	EF_KEY_PURPOSE_0,
	EF_KEY_PURPOSE_1,
	EF_KEY_PURPOSE_2,
	EF_KEY_PURPOSE_3,
	EF_KEY_PURPOSE_4,
	EF_KEY_PURPOSE_5,
	EF_DIS_DOWNLOAD_MODE,
	EF_ENABLE_SECURITY_DOWNLOAD,
	EF_DIS_DOWNLOAD_MANUAL_ENCRYPT,
	EF_SOFT_DIS_JTAG,
	EF_DIS_PAD_JTAG,
	EF_DIS_USB_JTAG,
	EF_DIS_USB_SERIAL_JTAG,
	EF_DIS_USB_SERIAL_JTAG_DOWNLOAD_MODE,
	EF_DIS_DOWNLOAD_ICACHE,
	EF_DIS_DOWNLOAD_DCACHE,
	EF_DIS_DIRECT_BOOT,
	EF_SECURE_VERSION,
	EF_XTS_KEY_LENGTH_256, /* C2 */
	EF_CODING_SCHEME,      /* ESP32 */
	EF_UART_DOWNLOAD_DIS,  /* ESP32 v3 */
	EF_ABS_DONE_0,         /* ESP32 secure boot v1 */
	EF_ABS_DONE_1,         /* ESP32 secure boot v2 */
	EF_JTAG_DISABLE,       /* ESP32 */
	EF_DISABLE_DL_ENCRYPT, /* ESP32 */
	EF_DISABLE_DL_DECRYPT, /* ESP32 */
	EF_DISABLE_DL_CACHE,   /* ESP32 */
	EF_FLASH_CRYPT_CONFIG, /* ESP32 */
	EF_CONSOLE_DEBUG_DISABLE, /* ESP32 */
	EF_HARD_DIS_JTAG,      /* S2: JTAG off for good (the others have DIS_PAD_JTAG) */
	EF_COUNT,
};

/* A field inside a block's read words. width 0 = the chip has no such field. */
struct efuse_field_desc {
	const char *name;
	uint8_t block;
	uint8_t word;
	uint8_t bit;
	uint8_t width;
	int8_t wr_dis_bit; /* -1 none */
};

struct efuse_layout {
	enum efuse_family family;
	uint16_t pgm_data_off;    /* GEN2/C2: PGM_DATA0 */
	uint16_t check_value_off; /* GEN2/C2: PGM_CHECK_VALUE0 */
	uint16_t clk_off, conf_off, status_off, cmd_off;
	uint16_t dac_conf_off, wr_tim_conf1_off, wr_tim_conf2_off;
	uint16_t rs_err0_off, rs_err1_off; /* GEN2: RD_RS_ERR0/1; C2: RD_RS_ERR (err1 unused) */
	uint16_t repeat_err_off;           /* BLOCK0 error bits (GEN2: RD_REPEAT_ERR0..4) */
	uint8_t repeat_err_words;
	uint16_t dec_status_off; /* ESP32 3/4 decode status */
	bool rs_fail_bit_late;   /* C3 erratum: fail bit reported one slot later */
	const struct efuse_block_desc *blocks;
	uint8_t n_blocks;
	uint8_t first_key_block; /* index into blocks[] of KEY0 (ESP32: BLOCK1) */
	uint8_t n_key_blocks;
	const struct efuse_field_desc *fields; /* indexed by enum efuse_field_id */
};

#define EFUSE_CONF_WRITE 0x5A5A
#define EFUSE_CONF_READ 0x5AA5
#define EFUSE_CMD_READ 0x1
#define EFUSE_CMD_PGM 0x2

/* Key purposes. 0..11 are the 4-bit KEY_PURPOSE codes of GEN2 chips (efuse.md §3); values from
 * 0x100 are roles of chips without a purpose field (ESP32 blocks, C2 key halves). */
enum key_purpose {
	KP_USER = 0,
	KP_ECDSA_KEY = 1, /* H2 (code 1 is RESERVED elsewhere) */
	KP_XTS_AES_256_KEY_1 = 2,
	KP_XTS_AES_256_KEY_2 = 3,
	KP_XTS_AES_128_KEY = 4,
	KP_HMAC_DOWN_ALL = 5,
	KP_HMAC_DOWN_JTAG = 6,
	KP_HMAC_DOWN_DIGITAL_SIGNATURE = 7,
	KP_HMAC_UP = 8,
	KP_SECURE_BOOT_DIGEST0 = 9,
	KP_SECURE_BOOT_DIGEST1 = 10,
	KP_SECURE_BOOT_DIGEST2 = 11,
	KP_ESP32_FLASH_ENCRYPTION = 0x100, /* ESP32 BLOCK1, reversed, read-protected */
	KP_ESP32_SECURE_BOOT_V1,           /* ESP32 BLOCK2, reversed, read-protected */
	KP_ESP32_SECURE_BOOT_V2,           /* ESP32 BLOCK2, SHA-256 digest as is, readable */
	KP_C2_XTS_AES_128_KEY_DERIVED,     /* C2 low 128 bits, reversed */
	KP_C2_SECURE_BOOT_DIGEST,          /* C2 high 128 bits, as is */
	KP_INVALID = -1,
};

const char *chip_purpose_name(int purpose);
/* Parses a purpose name as espefuse spells it (case-insensitive); KP_INVALID if unknown. */
int chip_purpose_parse(const char *name);
/* Whether burning this purpose reverses the key bytes, and whether it should be read-protected
 * by default. */
bool chip_purpose_is_reversed(int purpose);
bool chip_purpose_wants_read_protect(int purpose);

enum chip_baud_fix {
	CHIP_BAUD_FIX_NONE,
	CHIP_BAUD_FIX_ESP32_RTC, /* scale by the ROM's CK8M-derived crystal estimate */
	CHIP_BAUD_FIX_C2_XTAL26, /* ×40/26 when the crystal is 26 MHz */
};

struct chip_spi_regs {
	uint32_t base;
	uint8_t cmd, addr, user, user1, user2, mosi_dlen, miso_dlen, w0;
};

/* Registers esptool writes to stop the RTC watchdog over USB-Serial-JTAG (chips.md §6). */
struct chip_wdt_regs {
	uint32_t wdt_protect, wdt_config0, swd_protect, swd_key, swd_conf;
	uint8_t swd_autofeed_bit;
};

#define CHIP_WDT_KEY 0x50D83AA1u
#define CHIP_MAGIC_REG 0x40001000u
#define CHIP_USB_VID_ESPRESSIF 0x303A
#define CHIP_USB_PID_SERIAL_JTAG 0x1001

struct chip_desc {
	enum chip_type type;
	const char *name; /* "ESP32-C3" */
	const char *id;   /* "esp32c3" (as --chip / --target_chip spell it) */
	int32_t secinfo_chip_id;   /* chip_id in GET_SECURITY_INFO, -1 if none */
	uint8_t secinfo_len;       /* 20, 12 (S2), 0 = ROM rejects GET_SECURITY_INFO (ESP32) */
	uint32_t magic[4];         /* values of CHIP_MAGIC_REG (legacy on S3 and later) */
	uint8_t n_magic;
	uint32_t uart_date_reg;
	uint32_t uart_clkdiv_reg;  /* ESP32/C2 crystal estimate; 0 where the crystal is fixed */
	uint32_t efuse_base;
	uint32_t mac_reg;          /* address of MAC word 0 */
	struct chip_spi_regs spi;
	uint8_t xtal_mhz[2];       /* possible crystals; [1] = 0 if only one */
	bool usb_serial_jtag;
	struct chip_wdt_regs wdt;  /* zero when !usb_serial_jtag */
	bool rom_encrypt_flag;     /* FLASH_BEGIN carries the 5th (encrypt) word */
	uint8_t encrypt_align;     /* encrypted write alignment */
	enum chip_baud_fix baud_fix;
	uint32_t purposes;         /* bit p set ⇒ KEY_PURPOSE code p supported (GEN2) */
	const int *roles;          /* ESP32/C2 pseudo purposes, KP_INVALID terminated */
	bool key5_no_xts;          /* BLOCK_KEY5 must not hold an XTS key */
	bool key5_no_ecdsa;
	bool has_hmac, has_ds, has_ecdsa;
	uint16_t ds_max_bits;
	const struct efuse_layout *efuse;
};

const struct chip_desc *chip_get_desc(enum chip_type type);
/* By id ("esp32c3"), accepting also "ESP32-C3" / "esp32-c3"; NULL if unknown. */
const struct chip_desc *chip_find_by_name(const char *name);
const struct chip_desc *chip_find_by_secinfo_id(uint32_t chip_id);
const struct chip_desc *chip_find_by_magic(uint32_t magic);

/* ROM (not stub) acceptance of a command; sdm = Secure Download Mode active. */
bool chip_rom_accepts_command(const struct chip_desc *c, uint8_t op, bool sdm);

/* Register reader for the decoders below: the loader passes READ_REG, tests a fake map. */
typedef int (*chip_read_reg_fn)(void *ctx, uint32_t addr, uint32_t *value, err_t *e);

/* Factory MAC (6 bytes). */
int chip_read_mac(const struct chip_desc *c, chip_read_reg_fn rd, void *ctx, uint8_t mac[6],
		  err_t *e);
/* MAC decoding from the two words, exposed for tests and the simulator. */
void chip_decode_mac(const struct chip_desc *c, uint32_t w0, uint32_t w1, uint8_t mac[6]);
/* C6/H2 MAC_EXT bytes (EUI-64 middle); returns false on other chips. */
bool chip_decode_mac_ext(const struct chip_desc *c, uint32_t w1, uint8_t ext[2]);
int chip_read_revision(const struct chip_desc *c, chip_read_reg_fn rd, void *ctx,
		       unsigned *major, unsigned *minor, err_t *e);
/* Crystal in MHz: fixed chips answer from the table; ESP32/C2 estimate from UART_CLKDIV and the
 * current baud (as esptool does). */
int chip_read_crystal(const struct chip_desc *c, chip_read_reg_fn rd, void *ctx, unsigned baud,
		      unsigned *mhz, err_t *e);
/* The baud value to put into CHANGE_BAUDRATE for the ROM. ESP32 needs the registers. */
int chip_rom_baud_value(const struct chip_desc *c, chip_read_reg_fn rd, void *ctx,
			unsigned xtal_mhz, uint32_t baud, uint32_t *wire_baud, err_t *e);
/* ESP32 only: the SPI_ATTACH pin word from BLOCK0 words 3 and 5 (SPI_PAD_CONFIG_* eFuses),
 * packed hd<<24 | cs<<18 | d<<12 | q<<6 | clk; 0 = default pins (nothing or all ones burned). */
uint32_t chip_esp32_spi_attach_value(uint32_t blk0_w3, uint32_t blk0_w5);
/* Flash size in bytes from a JEDEC id (manufacturer | type << 8 | capacity << 16); 0 if
 * the capacity code is unknown. */
uint32_t chip_flash_size_from_id(uint32_t flash_id);

/* eFuse helpers on the layout. */
const struct efuse_field_desc *chip_efuse_field(const struct chip_desc *c, enum efuse_field_id f);
/* Block by name or alias ("BLOCK_KEY1", "BLOCK5", "KEY1", on ESP32 "BLOCK1"/"flash_encryption");
 * index into layout->blocks or -1. */
int chip_efuse_find_block(const struct chip_desc *c, const char *name);
/* KEY_PURPOSE field of key index n, or NULL (ESP32, C2). */
enum efuse_field_id chip_efuse_purpose_field(unsigned key_index);
/* Field by its espefuse name (case-insensitive), EF_COUNT when the chip has no such field. */
enum efuse_field_id chip_efuse_field_by_name(const struct chip_desc *c, const char *name);
/* Whether purpose p may be burned into blocks[block_idx] of this chip; if not, why in e. */
int chip_check_purpose(const struct chip_desc *c, int block_idx, int purpose, err_t *e);

#endif
