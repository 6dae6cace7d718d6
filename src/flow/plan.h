/* plan: from a detected chip (type, revision, MAC, flash size, eFuse state) and a product profile,
 * the list of steps a provisioning run will take: which security path, which key blocks get
 * which keys, which partitions are written (encrypted or not), which steps are irreversible, and
 * the reasons to refuse before anything touches the chip. Pure data, no I/O. */
#ifndef ESPFAB_FLOW_PLAN_H
#define ESPFAB_FLOW_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "flow/profile.h"

#define PLAN_MAX_KEY_BLOCKS 6
#define PLAN_MAX_STEPS 48
#define PLAN_MAX_NOTES 12

/* eFuse key purposes (efuse.md §3; ESP32-C2 has its own codes, see plan.c). */
enum {
	PLAN_PURPOSE_USER = 0,
	PLAN_PURPOSE_ECDSA_KEY = 1,
	PLAN_PURPOSE_XTS_AES_256_KEY_1 = 2,
	PLAN_PURPOSE_XTS_AES_256_KEY_2 = 3,
	PLAN_PURPOSE_XTS_AES_128_KEY = 4,
	PLAN_PURPOSE_HMAC_DOWN_ALL = 5,
	PLAN_PURPOSE_HMAC_DOWN_JTAG = 6,
	PLAN_PURPOSE_HMAC_DOWN_DS = 7,
	PLAN_PURPOSE_HMAC_UP = 8,
	PLAN_PURPOSE_SECURE_BOOT_DIGEST0 = 9,
};

/* What the detect step learned about the chip. */
struct plan_chip {
	char name[16]; /* "esp32h2" */
	unsigned rev_major, rev_minor;
	uint8_t mac[6];
	uint32_t flash_size; /* bytes; 0 = unknown */
	bool has_ecdsa;      /* the ROM reports an ECDSA peripheral */
	/* Key blocks: S2..H2 BLOCK_KEY0..5; ESP32 BLOCK1..3; C2 BLOCK_KEY0 only. */
	struct {
		uint8_t purpose;
		bool empty;   /* reads all zero and is readable */
		bool rd_dis;  /* read-protected */
		bool wr_dis;  /* write-protected */
	} key[PLAN_MAX_KEY_BLOCKS];
	uint32_t crypt_cnt;     /* SPI_BOOT_CRYPT_CNT (ESP32: FLASH_CRYPT_CNT) */
	bool secure_boot;       /* SECURE_BOOT_EN (ESP32: ABS_DONE_1) */
	bool secure_download;   /* Secure Download Mode on */
	bool rd_dis_locked;     /* WR_DIS bit 0: no further key can be read-protected */
};

/* One row of the app's partition table. */
struct plan_partition {
	char label[17];
	uint8_t type, subtype;
	uint32_t offset, size;
	bool encrypted; /* the table's "encrypted" flag */
};

/* A firmware image from flasher_args.json. */
struct plan_image {
	char name[128];
	uint32_t offset, size;
};

struct plan_input {
	const struct profile *profile;
	const struct plan_chip *chip;
	const struct plan_partition *parts;
	int n_parts;
	const struct plan_image *images;
	int n_images;
	/* The journal says this device's own identity was already (partly) burned: eFuse state that
	 * matches the plan is then taken as done instead of refused. */
	bool resume_efuse;
};

enum plan_step_kind {
	PLAN_STEP_DETECT,
	PLAN_STEP_GENERATE,
	PLAN_STEP_CONFIRM,
	PLAN_STEP_BURN_KEY,
	PLAN_STEP_BURN_FE_ENABLE,
	PLAN_STEP_BURN_SECURE_BOOT,
	PLAN_STEP_WRITE,
	PLAN_STEP_VERIFY_FLASH,
	PLAN_STEP_VERIFY_EFUSE,
	PLAN_STEP_LOCKDOWN,
	PLAN_STEP_RESULT,
};

enum plan_key_role {
	PLAN_KEY_NONE = 0,
	PLAN_KEY_ECDSA_DAC,  /* the Matter DAC private key, used by the ECDSA peripheral */
	PLAN_KEY_DS_HMAC,    /* HMAC key the DS peripheral decrypts its parameters with */
	PLAN_KEY_FLASH_ENC,  /* flash-encryption key */
	PLAN_KEY_SB_DIGEST,  /* secure-boot v2 public-key digest */
	/* ESP32-C2: the derived flash-encryption key (low 128 bits of BLOCK_KEY0) and the secure-boot
	 * digest (high 128 bits) in one burn; the key bytes are the 16-byte key, then the digest's
	 * first 16 bytes. The step's purpose is the key's (2): the digest half needs none. */
	PLAN_KEY_FE_AND_SB_DIGEST,
};

enum plan_source {
	PLAN_SRC_NONE = 0,
	PLAN_SRC_SECURE_CERT,
	PLAN_SRC_FACTORY_NVS,
	PLAN_SRC_NVS_KEYS,
	PLAN_SRC_FIRMWARE,
};

enum plan_fe_scheme {
	PLAN_FE_NONE = 0,
	PLAN_FE_ESP32_AES, /* ESP32 legacy AES-256 with the address tweak */
	PLAN_FE_XTS_128,   /* XTS-AES-128, 32-byte key */
	PLAN_FE_XTS_128_DERIVED, /* ESP32-C2: 16-byte key expanded by SHA-256 (shares the block) */
};

struct plan_step {
	enum plan_step_kind kind;
	char id[40];    /* stable: "burn-ecdsa-key", "write-fctry", "write-fw-0x10000" */
	char text[200]; /* shown to the operator */
	bool irreversible;
	bool done;      /* already done by an earlier run of the same device */
	/* PLAN_STEP_BURN_KEY */
	enum plan_key_role key;
	int block;      /* key-block index (KEYn; ESP32: BLOCKn) */
	uint8_t purpose;
	bool read_protect;
	/* PLAN_STEP_WRITE */
	enum plan_source source;
	int image;      /* index into plan_input.images for PLAN_SRC_FIRMWARE */
	char label[17];
	uint32_t offset, size; /* size: the partition's (room) or the image's */
	bool encrypted; /* host pre-encrypted with the flash-encryption key */
};

struct plan {
	char chip[16];
	enum profile_path path;
	enum profile_mode mode;
	bool flash_encryption, secure_boot, nvs_encryption;
	enum plan_fe_scheme fe_scheme;
	bool dac_key_in_flash; /* esp_secure_cert carries the DAC private key */
	struct plan_step steps[PLAN_MAX_STEPS];
	int n_steps;
	char refusals[PLAN_MAX_NOTES][256];
	int n_refusals;
	char warnings[PLAN_MAX_NOTES][256];
	int n_warnings;
};

/* Builds the plan. Every refusal found is listed in out->refusals; the call then returns -1
 * with the first one in e (ERR_CHECK) and the plan must not be run. */
int plan_build(const struct plan_input *in, struct plan *out, err_t *e);

/* After generation: refuses data larger than the room its write step has. */
int plan_check_fit(const struct plan *p, enum plan_source source, size_t size, err_t *e);

const struct plan_step *plan_find_step(const struct plan *p, const char *id);
bool plan_has_irreversible(const struct plan *p);
const char *plan_name_step_kind(enum plan_step_kind kind);
const char *plan_name_key_role(enum plan_key_role role);
const char *plan_name_fe_scheme(enum plan_fe_scheme scheme);

/* Chip facts the plan relies on (chips.md §3); false for an unknown chip name. */
bool plan_chip_has_ds(const char *chip);
bool plan_chip_known(const char *chip);

#endif
