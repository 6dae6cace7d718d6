/* efuse: reading, decoding and burning the eFuses the provisioning paths use, through the
 * eFuse controller registers while the chip sits in the ROM loader (efuse.md). Burning a key
 * checks the chip, the block (must be empty), the purpose and the coding scheme first, then
 * burns data, purpose and protection in espefuse's order and verifies each step by reading
 * back. Register access goes through efuse_io so tests can drive a model controller. */
#ifndef ESPFAB_LOADER_EFUSE_H
#define ESPFAB_LOADER_EFUSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"
#include "loader/chip.h"

#define EFUSE_MAX_BLOCKS 11

struct efuse_io {
	chip_read_reg_fn read;
	int (*write)(void *ctx, uint32_t addr, uint32_t value, uint32_t delay_us, err_t *e);
	void *ctx;
};

/* Raw read registers of every block (words beyond a block's size stay 0). */
struct efuse_dump {
	const struct chip_desc *chip;
	uint32_t words[EFUSE_MAX_BLOCKS][8];
};

struct efuse_key_status {
	int block_idx;
	const char *name, *alias;
	int purpose;          /* KEY_PURPOSE code (GEN2), or the block's role (ESP32/C2) */
	bool purpose_locked;  /* KEY_PURPOSE write-protected */
	bool read_protected;
	bool write_protected;
	bool data_zero;       /* reads as all zero (always true when read-protected) */
	bool empty;           /* free for a new key: zero, USER, not protected */
};

struct efuse_security {
	unsigned crypt_cnt;     /* SPI_BOOT_CRYPT_CNT / FLASH_CRYPT_CNT raw value */
	bool flash_encryption;  /* odd number of bits set */
	bool secure_boot;       /* SECURE_BOOT_EN (ESP32: ABS_DONE_0/1) */
	bool secure_download;   /* ENABLE_SECURITY_DOWNLOAD */
	bool download_disabled; /* DIS_DOWNLOAD_MODE / UART_DOWNLOAD_DIS */
	bool manual_encrypt_disabled;
	bool rd_dis_locked;     /* WR_DIS bit 0: no further key can be read-protected */
	unsigned coding_scheme; /* ESP32 only */
};

int efuse_read_dump(const struct efuse_io *io, const struct chip_desc *chip,
		    struct efuse_dump *d, err_t *e);
/* Reads until two consecutive dumps agree (at most 4 reads): a burn decision must not rest on
 * a register value corrupted on the line. */
int efuse_read_dump_stable(const struct efuse_io *io, const struct chip_desc *chip,
			   struct efuse_dump *d, err_t *e);
/* The same for the blocks in block_mask only (bit b = block index b; other words stay 0): for
 * decisions that rest on a few blocks, such as BLOCK0 and one key block. */
int efuse_read_blocks_stable(const struct efuse_io *io, const struct chip_desc *chip,
			     unsigned block_mask, struct efuse_dump *d, err_t *e);
/* Reloads the shadow (read) registers from the fuses (CONF read + READ_CMD): after an
 * interrupted burn they may not show what was already programmed. */
int efuse_reload(const struct efuse_io *io, const struct chip_desc *chip, err_t *e);
/* Value of a field (0 when the chip lacks it). */
uint32_t efuse_field_value(const struct efuse_dump *d, enum efuse_field_id f);
bool efuse_field_present(const struct chip_desc *chip, enum efuse_field_id f);
void efuse_key_status(const struct efuse_dump *d, int block_idx, struct efuse_key_status *ks);
void efuse_security_state(const struct efuse_dump *d, struct efuse_security *s);

struct efuse_burn_req {
	const char *chip_name; /* the chip the caller expects ("esp32h2"); required */
	const char *block;     /* "BLOCK_KEY1", "BLOCK5", "KEY1"; ESP32 "BLOCK1" */
	const uint8_t *key;    /* key bytes as in the key file */
	size_t key_len;
	int purpose;           /* enum key_purpose */
	bool read_protect;     /* also set RD_DIS (refused for purposes that must stay readable) */
	bool no_write_protect; /* leave the block writable (default: write-protect it) */
	unsigned xtal_mhz;     /* from detection; 0 = unknown (then not checked) */
	unsigned rev_major;    /* ESP32 secure boot v2 needs ≥ 3 */
	/* Finish an interrupted burn of this same key: accept a block that already holds exactly
	 * this key (readable) and do only the missing steps (purpose, protection). A read-protected
	 * block is accepted only when purpose and protection are already complete. */
	bool resume;
	/* ESP32-C2 only, with purpose XTS_AES_128_KEY_DERIVED_FROM_128_EFUSE_BITS: the secure-boot
	 * v2 digest for the upper half of BLOCK_KEY0, burned in the same operation as the key in the
	 * lower half (espefuse burn_key with two BLOCK_KEY0 groups). The block is Reed-Solomon
	 * coded, so its 256 bits can be programmed once only: burned one at a time, the second half
	 * could never follow. 32 bytes (the SHA-256 of the public key; its first 16 are burned, as
	 * is) or 16. The digest stays readable for the ROM: read_protect sets RD_DIS bit 0 (the
	 * lower half) only. NULL: the upper half stays empty. */
	const uint8_t *sb_digest;
	size_t sb_digest_len;
};

/* What a burn will do, prepared and checked without touching the chip. */
struct efuse_key_plan {
	const struct chip_desc *chip;
	int block_idx;
	uint8_t block_num;
	uint32_t data[8];       /* block words as burned (reversed/encoded) */
	uint32_t check[3];      /* RS parity words (RS blocks) */
	enum efuse_coding coding;
	uint32_t blk0_purpose[8]; /* first BLOCK0 burn: purpose, XTS_KEY_LENGTH_256 */
	uint32_t blk0_protect[8]; /* second BLOCK0 burn: WR_DIS / RD_DIS bits */
	bool read_protect, write_protect, purpose_lock;
	bool reversed;
	int purpose;
	bool with_digest;       /* C2: the upper half holds the secure-boot digest (readable) */
	bool skip_data;         /* resume: the key data is already in the block */
	bool nothing_to_do;     /* resume: everything was already burned */
	char summary[512];      /* human description, never the key bytes */
};

/* Checks the request against the chip and its current eFuses: right chip, key block, empty,
 * supported purpose and key length, readability rules. ERR_USAGE / ERR_CHECK on refusal. */
int efuse_plan_key(const struct chip_desc *chip, const struct efuse_dump *d,
		   const struct efuse_burn_req *req, struct efuse_key_plan *plan, err_t *e);
/* Re-checks a plan against fresh eFuses after an interrupted burn: an empty block is burned
 * from the start, a block holding exactly the planned data continues with purpose and
 * protection, a complete read-protected block needs nothing; anything else is refused. */
int efuse_plan_refresh(struct efuse_key_plan *plan, const struct efuse_dump *d, err_t *e);
/* Burns a plan and verifies it; re-reads the eFuses first and re-checks emptiness. */
int efuse_burn_plan(const struct efuse_io *io, const struct efuse_key_plan *plan, err_t *e);
/* The same, handing back the final eFuse state it verified (read twice alike), so the caller
 * need not read it again. Each program operation is verified by reading back the words it can
 * change; the emptiness re-check reads BLOCK0 and the key block twice. */
int efuse_burn_plan_dump(const struct efuse_io *io, const struct efuse_key_plan *plan,
			 struct efuse_dump *after, err_t *e);

/* The block bytes a key occupies after burning (byte order applied, 32 bytes; 3/4 coding not
 * applied): what `espefuse summary` shows for a readable block. */
int efuse_key_block_bytes(const struct chip_desc *chip, int purpose, const uint8_t *key,
			  size_t key_len, uint8_t out[32], size_t *out_len, err_t *e);

/* ---- BLOCK0 fields (efuse.md §2, §7, §8; flash-encryption.md §5) ----
 * A field write names the value the field must hold afterwards, as espefuse burn_efuse does;
 * bits already burned are not burned again, and a value that would need a 1 cleared is refused.
 * For WR_DIS and RD_DIS the value is the set of bits to add. */
#define EFUSE_MAX_FIELD_WRITES 24

struct efuse_field_write {
	enum efuse_field_id field;
	uint32_t value;
};

struct efuse_field_plan {
	const struct chip_desc *chip;
	struct efuse_field_write w[EFUSE_MAX_FIELD_WRITES];
	size_t n;
	/* espefuse's order (efuse.md §6): plain fields first; WR_DIS, RD_DIS, the crypt counter
	 * and secure-boot enable in a second burn; the bits that cut the link (SDM, download
	 * mode off) in a third burn of their own, last. Only bits not yet burned. */
	uint32_t burn[3][8];
	uint32_t want[8];       /* BLOCK0 words as they must read afterwards (all bits ⊇) */
	bool cuts_link;         /* the last burn ends READ_REG access (SDM) */
	bool nothing_to_do;
	char summary[1024];
};

/* Field by name for this chip; ERR_USAGE naming the chip when it has no such field. */
int efuse_field_parse(const struct chip_desc *chip, const char *name, enum efuse_field_id *f,
		      err_t *e);
/* Checks writes against the chip and the current eFuses: field exists on the chip, value fits,
 * no 1→0, field not write-protected (unless already at the value), RD_DIS not locked. */
int efuse_plan_fields(const struct chip_desc *chip, const struct efuse_dump *d,
		      const struct efuse_field_write *w, size_t n, struct efuse_field_plan *p,
		      err_t *e);
/* Burns a field plan, re-planning from a fresh read first (so an interrupted burn resumes with
 * the missing bits only), verifies every burn by reading BLOCK0 back. When the plan cuts the
 * link, the final read-back is not possible: *link_cut is set and the caller checks through the
 * ROM (GET_SECURITY_INFO). link_cut may be NULL. */
int efuse_burn_fields(const struct efuse_io *io, struct efuse_field_plan *p, bool *link_cut,
		      err_t *e);
/* The same, handing back the final eFuse state it verified (read twice alike) in *after, with
 * *have_after set, when there is one (not when nothing was burned or the link was cut). */
int efuse_burn_fields_dump(const struct efuse_io *io, struct efuse_field_plan *p, bool *link_cut,
			   struct efuse_dump *after, bool *have_after, err_t *e);

/* The field writes of the provisioning steps, computed from the current eFuses (flash-
 * encryption.md §5-6): FE enable (counter to the next odd value, ESP32 FLASH_CRYPT_CONFIG=0xF;
 * release: counter at its maximum, download-mode encryption/cache off, JTAG off, direct boot
 * off, the lock bits), secure boot (enable, revoke unused digest slots, aggressive revoke,
 * lock RD_DIS), lockdown (JTAG off where the chip has the fields: DIS_PAD_JTAG, DIS_USB_JTAG,
 * every SOFT_DIS_JTAG bit, S2 HARD_DIS_JTAG, ESP32 JTAG_DISABLE, each only when not yet burned;
 * then Secure Download Mode, ESP32: UART_DOWNLOAD_DIS, revision ≥ 3). */
int efuse_writes_fe_enable(const struct efuse_dump *d, bool release, struct efuse_field_write *w,
			   size_t *n, err_t *e);
int efuse_writes_secure_boot(const struct efuse_dump *d, unsigned rev_major,
			     struct efuse_field_write *w, size_t *n, err_t *e);
int efuse_writes_lockdown(const struct efuse_dump *d, unsigned rev_major,
			  struct efuse_field_write *w, size_t *n, err_t *e);

#endif

/* Loads a key file for burn-key: raw bytes, or for ECDSA_KEY a PEM/DER EC private key whose
 * scalar is extracted (32 bytes big-endian, as espefuse takes it). key must be wiped by the
 * caller (buf_wipe_data). */
int efuse_load_key_file(const char *path, int purpose, buf_t *key, err_t *e);
