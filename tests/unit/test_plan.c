/* Unit tests of src/flow/plan: a table of chip states x profiles, each with the exact step list
 * expected (ids in order), the partitions written encrypted, and the refusals. No device. */
#include "testutil.h"

#include <stdio.h>
#include <string.h>

#include "flow/gen.h"
#include "flow/plan.h"

static const struct plan_partition layout_plain[] = {
	{"esp_secure_cert", 0x3F, 0x00, 0xd000, 0x2000, false},
	{"nvs", 0x01, 0x02, 0x10000, 0xC000, false},
	{"otadata", 0x01, 0x00, 0x1c000, 0x2000, false},
	{"phy_init", 0x01, 0x01, 0x1e000, 0x1000, false},
	{"ota_0", 0x00, 0x10, 0x20000, 0x1E0000, false},
	{"ota_1", 0x00, 0x11, 0x200000, 0x1E0000, false},
	{"fctry", 0x01, 0x02, 0x3E0000, 0x6000, false},
};

static const struct plan_partition layout_enc[] = {
	{"esp_secure_cert", 0x3F, 0x00, 0xd000, 0x2000, true},
	{"nvs", 0x01, 0x02, 0x10000, 0xC000, false},
	{"nvs_keys", 0x01, 0x04, 0x1c000, 0x1000, true},
	{"otadata", 0x01, 0x00, 0x1d000, 0x2000, false},
	{"phy_init", 0x01, 0x01, 0x1f000, 0x1000, false},
	{"ota_0", 0x00, 0x10, 0x20000, 0x1E0000, false},
	{"ota_1", 0x00, 0x11, 0x200000, 0x1E0000, false},
	{"fctry", 0x01, 0x02, 0x3E0000, 0x6000, false},
};

/* The same, but esp_secure_cert not flagged encrypted and nvs_keys missing. */
static const struct plan_partition layout_enc_bad[] = {
	{"esp_secure_cert", 0x3F, 0x00, 0xd000, 0x2000, false},
	{"nvs", 0x01, 0x02, 0x10000, 0xC000, false},
	{"ota_0", 0x00, 0x10, 0x20000, 0x1E0000, false},
	{"fctry", 0x01, 0x02, 0x3E0000, 0x6000, false},
};

static const struct plan_partition layout_no_fctry[] = {
	{"esp_secure_cert", 0x3F, 0x00, 0xd000, 0x2000, false},
	{"ota_0", 0x00, 0x10, 0x20000, 0x1E0000, false},
	{"factory", 0x01, 0x01, 0x3E0000, 0x6000, false}, /* wrong label */
};

static const struct plan_partition layout_big[] = {
	{"esp_secure_cert", 0x3F, 0x00, 0xd000, 0x2000, false},
	{"ota_0", 0x00, 0x10, 0x20000, 0x7E0000, false},
	{"fctry", 0x01, 0x02, 0x800000, 0x6000, false}, /* beyond 4 MB */
};

static const struct plan_image images_std[] = {
	{"partition_table/partition-table.bin", 0x8000, 0xC00},
	{"bootloader/bootloader.bin", 0x0, 0x5000},
	{"light.bin", 0x20000, 0x150000},
};

static const struct plan_image images_clash[] = {
	{"bootloader/bootloader.bin", 0x0, 0x5000},
	{"oops.bin", 0x3E0000, 0x1000}, /* lands on fctry */
};

static const struct plan_image images_too_big[] = {
	{"light.bin", 0x20000, 0x1F0000}, /* larger than ota_0 */
};

enum chip_tweak {
	TW_NONE = 0,
	TW_FE_ON = 1 << 0,       /* crypt counter 1 */
	TW_SB_ON = 1 << 1,
	TW_SDM = 1 << 2,
	TW_KEY0_XTS = 1 << 3,    /* BLOCK_KEY0 holds an XTS key */
	TW_KEYS_USED_0_4 = 1 << 4, /* KEY0..4 used for user data, KEY5 free */
	TW_ALL_KEYS_USED = 1 << 5,
	TW_RD_DIS_LOCK = 1 << 6,
	TW_KEY0_ECDSA = 1 << 7,
	TW_ESP32_BLOCK1 = 1 << 8, /* ESP32 BLOCK1 not empty */
	TW_FLASH_4MB = 1 << 9,
};

struct plan_case {
	const char *name;
	const char *chip;
	unsigned rev;
	unsigned tweak;
	bool resume;
	enum profile_path path;
	enum profile_mode mode;
	enum profile_switch fe;
	bool nvs_enc, sb;
	const char *chips; /* profile chips, one name or NULL */
	const struct plan_partition *layout;
	int n_layout;
	const struct plan_image *images;
	int n_images;
	/* expectations */
	const char *refusal; /* substring of one refusal; NULL = must be accepted */
	enum profile_path want_path;
	const char *want_steps; /* ids in order */
	const char *want_encrypted; /* ids of write steps that are encrypted */
	const char *want_done;      /* ids of steps marked done */
};

#define L(x) x, (int)(sizeof x / sizeof *x)
#define NOIMG NULL, 0
#define DEV PROFILE_MODE_DEVELOPMENT
#define PROD PROFILE_MODE_PRODUCTION
#define AUTO PROFILE_PATH_AUTO
#define ECDSA PROFILE_PATH_ECDSA_EFUSE
#define DS PROFILE_PATH_DS
#define FE PROFILE_PATH_FLASH_ENC
#define SW_AUTO PROFILE_SWITCH_AUTO
#define SW_ON PROFILE_SWITCH_ON
#define SW_OFF PROFILE_SWITCH_OFF

static const struct plan_case cases[] = {
	/* The three paths, chosen automatically. */
	{"h2 auto dev", "esp32h2", 1, 0, false, AUTO, DEV, SW_AUTO, false, false, "esp32h2", L(layout_plain), NOIMG,
	 NULL, ECDSA,
	 "detect generate confirm burn-ecdsa-key write-esp_secure_cert write-fctry verify-flash verify-efuse result",
	 "", "detect"},
	/* Production without flash encryption still ends locked: the ECDSA key in eFuse is usable
	 * by whoever can run code through JTAG or the ROM loader. */
	{"h2 auto prod", "esp32h2", 1, 0, false, AUTO, PROD, SW_AUTO, false, false, NULL, L(layout_plain), NOIMG,
	 NULL, ECDSA,
	 "detect generate confirm burn-ecdsa-key write-esp_secure_cert write-fctry verify-flash verify-efuse "
	 "lockdown result",
	 "", "detect"},
	{"c3 auto dev", "esp32c3", 0, 0, false, AUTO, DEV, SW_AUTO, true, false, "esp32c3", L(layout_enc), L(images_std),
	 NULL, DS,
	 "detect generate confirm burn-ds-hmac-key burn-fe-key burn-fe-enable write-fw-0x0 write-fw-0x8000 "
	 "write-fw-0x20000 write-esp_secure_cert write-fctry write-nvs_keys verify-flash verify-efuse result",
	 "write-fw-0x0 write-fw-0x8000 write-fw-0x20000 write-esp_secure_cert write-nvs_keys", "detect"},
	{"c6 auto prod", "esp32c6", 0, 0, false, AUTO, PROD, SW_AUTO, false, false, NULL, L(layout_enc), L(images_std),
	 NULL, DS,
	 "detect generate confirm burn-ds-hmac-key burn-fe-key burn-fe-enable write-fw-0x0 write-fw-0x8000 "
	 "write-fw-0x20000 write-esp_secure_cert write-fctry verify-flash verify-efuse lockdown result",
	 "write-fw-0x0 write-fw-0x8000 write-fw-0x20000 write-esp_secure_cert", "detect"},
	{"s3 auto dev", "esp32s3", 0, 0, false, AUTO, DEV, SW_AUTO, false, false, NULL, L(layout_enc), NOIMG,
	 NULL, DS,
	 "detect generate confirm burn-ds-hmac-key burn-fe-key burn-fe-enable write-esp_secure_cert write-fctry "
	 "verify-flash verify-efuse result",
	 "write-esp_secure_cert", "detect"},
	{"s2 auto dev", "esp32s2", 0, 0, false, AUTO, DEV, SW_AUTO, false, false, NULL, L(layout_enc), NOIMG,
	 NULL, DS, NULL, NULL, NULL},
	{"esp32 auto dev", "esp32", 3, 0, false, AUTO, DEV, SW_AUTO, true, false, "esp32", L(layout_enc), L(images_std),
	 NULL, FE,
	 "detect generate confirm burn-fe-key burn-fe-enable write-fw-0x0 write-fw-0x8000 write-fw-0x20000 "
	 "write-esp_secure_cert write-fctry write-nvs_keys verify-flash verify-efuse result",
	 "write-fw-0x0 write-fw-0x8000 write-fw-0x20000 write-esp_secure_cert write-nvs_keys", "detect"},
	{"esp32 prod with secure boot", "esp32", 3, 0, false, AUTO, PROD, SW_AUTO, false, true, NULL, L(layout_enc),
	 L(images_std), NULL, FE,
	 "detect generate confirm burn-fe-key burn-sb-digest burn-fe-enable burn-sb-enable write-fw-0x0 "
	 "write-fw-0x8000 write-fw-0x20000 write-esp_secure_cert write-fctry verify-flash verify-efuse lockdown result",
	 NULL, "detect"},
	/* Both keys share BLOCK_KEY0: one burn for both halves; secure boot is enabled before the
	 * release mode that locks SECURE_BOOT_EN with XTS_KEY_LENGTH_256. */
	{"c2 prod with secure boot", "esp32c2", 1, 0, false, AUTO, PROD, SW_AUTO, false, true, NULL, L(layout_enc),
	 L(images_std), NULL, FE,
	 "detect generate confirm burn-fe-key-sb-digest burn-sb-enable burn-fe-enable write-fw-0x0 "
	 "write-fw-0x8000 write-fw-0x20000 write-esp_secure_cert write-fctry verify-flash verify-efuse lockdown result",
	 "write-fw-0x0 write-fw-0x8000 write-fw-0x20000 write-esp_secure_cert", "detect"},
	/* Development with secure boot on a C2: still one burn (the block takes only one), the key
	 * half left readable, no lockdown. */
	{"c2 dev with secure boot", "esp32c2", 1, 0, false, FE, DEV, SW_AUTO, false, true, NULL, L(layout_enc),
	 L(images_std), NULL, FE,
	 "detect generate confirm burn-fe-key-sb-digest burn-sb-enable burn-fe-enable write-fw-0x0 "
	 "write-fw-0x8000 write-fw-0x20000 write-esp_secure_cert write-fctry verify-flash verify-efuse result",
	 NULL, "detect"},
	/* Explicit paths. */
	{"h2 forced ds", "esp32h2", 1, 0, false, DS, DEV, SW_AUTO, false, false, NULL, L(layout_enc), NOIMG,
	 NULL, DS, NULL, NULL, NULL},
	{"h2 forced fe", "esp32h2", 1, 0, false, FE, DEV, SW_AUTO, false, false, NULL, L(layout_enc), NOIMG,
	 NULL, FE,
	 "detect generate confirm burn-fe-key burn-fe-enable write-esp_secure_cert write-fctry verify-flash "
	 "verify-efuse result",
	 "write-esp_secure_cert", NULL},
	{"h2 ecdsa plus fe", "esp32h2", 1, 0, false, ECDSA, DEV, SW_ON, false, false, NULL, L(layout_enc), NOIMG,
	 NULL, ECDSA,
	 "detect generate confirm burn-ecdsa-key burn-fe-key burn-fe-enable write-esp_secure_cert write-fctry "
	 "verify-flash verify-efuse result",
	 "write-esp_secure_cert", NULL},
	{"c3 ds without fe, dev", "esp32c3", 0, 0, false, DS, DEV, SW_OFF, false, false, NULL, L(layout_plain), NOIMG,
	 NULL, DS,
	 "detect generate confirm burn-ds-hmac-key write-esp_secure_cert write-fctry verify-flash verify-efuse result",
	 "", NULL},
	{"c3 forced flash-encryption path", "esp32c3", 0, 0, false, FE, DEV, SW_AUTO, false, false, NULL,
	 L(layout_enc), NOIMG, NULL, FE,
	 "detect generate confirm burn-fe-key burn-fe-enable write-esp_secure_cert write-fctry verify-flash "
	 "verify-efuse result", NULL, NULL},
	{"h2 ecdsa prod with secure boot", "esp32h2", 1, 0, false, ECDSA, PROD, SW_OFF, false, true, NULL,
	 L(layout_plain), NOIMG, NULL, ECDSA,
	 "detect generate confirm burn-ecdsa-key burn-sb-digest burn-sb-enable write-esp_secure_cert write-fctry "
	 "verify-flash verify-efuse lockdown result",
	 "", "detect"},
	{"c3 ds prod with fe", "esp32c3", 0, 0, false, DS, PROD, SW_ON, true, false, NULL, L(layout_enc),
	 L(images_std), NULL, DS,
	 "detect generate confirm burn-ds-hmac-key burn-fe-key burn-fe-enable write-fw-0x0 write-fw-0x8000 "
	 "write-fw-0x20000 write-esp_secure_cert write-fctry write-nvs_keys verify-flash verify-efuse lockdown result",
	 NULL, "detect"},
	/* Resumed after every burn was done: the lockdown is still to do (a device that reached
	 * it is in Secure Download Mode and refused, see "secure download mode"). */
	{"h2 prod resumed", "esp32h2", 1, TW_KEY0_ECDSA, true, AUTO, PROD, SW_AUTO, false, false, NULL,
	 L(layout_plain), NOIMG, NULL, ECDSA,
	 "detect generate confirm burn-ecdsa-key write-esp_secure_cert write-fctry verify-flash verify-efuse "
	 "lockdown result",
	 "", "detect burn-ecdsa-key"},
	/* Refusals. */
	{"ecdsa on c3", "esp32c3", 0, 0, false, ECDSA, DEV, SW_AUTO, false, false, NULL, L(layout_plain), NOIMG,
	 "no ECDSA peripheral", ECDSA, NULL, NULL, NULL},
	{"ds on esp32", "esp32", 3, 0, false, DS, DEV, SW_AUTO, false, false, NULL, L(layout_enc), NOIMG,
	 "no Digital Signature", DS, NULL, NULL, NULL},
	{"ds on c2", "esp32c2", 1, 0, false, DS, DEV, SW_AUTO, false, false, NULL, L(layout_enc), NOIMG,
	 "no Digital Signature", DS, NULL, NULL, NULL},
	{"wrong chip", "esp32c3", 0, 0, false, AUTO, DEV, SW_AUTO, false, false, "esp32h2", L(layout_plain), NOIMG,
	 "wrong chip", DS, NULL, NULL, NULL},
	{"unknown chip", "esp8266", 0, 0, false, AUTO, DEV, SW_AUTO, false, false, NULL, L(layout_plain), NOIMG,
	 "not supported", AUTO, NULL, NULL, NULL},
	{"esp32 prod without secure boot", "esp32", 3, 0, false, AUTO, PROD, SW_AUTO, false, false, NULL,
	 L(layout_enc), L(images_std), "needs flash encryption and secure boot", FE, NULL, NULL, NULL},
	{"c2 prod without secure boot", "esp32c2", 1, 0, false, FE, PROD, SW_AUTO, false, false, NULL, L(layout_enc),
	 L(images_std), "needs flash encryption and secure boot", FE, NULL, NULL, NULL},
	{"esp32 v1 secure boot", "esp32", 1, 0, false, AUTO, PROD, SW_AUTO, false, true, NULL, L(layout_enc),
	 L(images_std), "revision v3.0", FE, NULL, NULL, NULL},
	{"prod fe without firmware", "esp32c3", 0, 0, false, AUTO, PROD, SW_AUTO, false, false, NULL, L(layout_enc),
	 NOIMG, "firmware images", DS, NULL, NULL, NULL},
	{"fe already on", "esp32c3", 0, TW_FE_ON, false, AUTO, DEV, SW_AUTO, false, false, NULL, L(layout_enc), NOIMG,
	 "flash-encryption counter", DS, NULL, NULL, NULL},
	{"fe already on, h2 ecdsa", "esp32h2", 1, TW_FE_ON, false, AUTO, DEV, SW_AUTO, false, false, NULL,
	 L(layout_plain), NOIMG, "flash-encryption counter", ECDSA, NULL, NULL, NULL},
	{"secure boot already on", "esp32c3", 0, TW_SB_ON, false, AUTO, DEV, SW_AUTO, false, false, NULL,
	 L(layout_enc), NOIMG, "secure boot is already enabled", DS, NULL, NULL, NULL},
	{"secure download mode", "esp32h2", 1, TW_SDM, false, AUTO, DEV, SW_AUTO, false, false, NULL, L(layout_plain),
	 NOIMG, "Secure Download Mode", ECDSA, NULL, NULL, NULL},
	{"xts key already burned", "esp32c3", 0, TW_KEY0_XTS, false, AUTO, DEV, SW_AUTO, false, false, NULL,
	 L(layout_enc), NOIMG, "BLOCK_KEY0 already holds a key with purpose 4", DS, NULL, NULL, NULL},
	{"ecdsa key already burned", "esp32h2", 1, TW_KEY0_ECDSA, false, AUTO, DEV, SW_AUTO, false, false, NULL,
	 L(layout_plain), NOIMG, "BLOCK_KEY0 already holds a key with purpose 1", ECDSA, NULL, NULL, NULL},
	{"only KEY5 free, h2 ecdsa", "esp32h2", 1, TW_KEYS_USED_0_4, false, AUTO, DEV, SW_AUTO, false, false, NULL,
	 L(layout_plain), NOIMG, "BLOCK_KEY5 not allowed", ECDSA, NULL, NULL, NULL},
	{"all key blocks used", "esp32c6", 0, TW_ALL_KEYS_USED, false, AUTO, DEV, SW_AUTO, false, false, NULL,
	 L(layout_enc), NOIMG, "no free key block", DS, NULL, NULL, NULL},
	{"rd_dis locked in production", "esp32h2", 1, TW_RD_DIS_LOCK, false, AUTO, PROD, SW_AUTO, false, false,
	 NULL, L(layout_plain), NOIMG, "RD_DIS is write-protected", ECDSA, NULL, NULL, NULL},
	{"esp32 block1 used", "esp32", 3, TW_ESP32_BLOCK1, false, AUTO, DEV, SW_AUTO, false, false, NULL,
	 L(layout_enc), NOIMG, "BLOCK1 is already used", FE, NULL, NULL, NULL},
	{"no factory partition", "esp32h2", 1, 0, false, AUTO, DEV, SW_AUTO, false, false, NULL, L(layout_no_fctry),
	 NOIMG, "no 'fctry' partition", ECDSA, NULL, NULL, NULL},
	{"nvs_keys missing", "esp32c3", 0, 0, false, AUTO, DEV, SW_AUTO, true, false, NULL, L(layout_enc_bad),
	 NOIMG, "needs a 'nvs_keys' partition", DS, NULL, NULL, NULL},
	{"nvs encryption without flash encryption, h2 ecdsa", "esp32h2", 1, 0, false, AUTO, DEV, SW_AUTO, true,
	 false, NULL, L(layout_enc), NOIMG, "the nvs_keys partition would hold the NVS key in the clear", ECDSA, NULL,
	 NULL, NULL},
	{"secure cert not flagged encrypted", "esp32c3", 0, 0, false, AUTO, DEV, SW_AUTO, false, false, NULL,
	 L(layout_enc_bad), NOIMG, "not flagged encrypted", DS, NULL, NULL, NULL},
	{"table beyond flash", "esp32h2", 1, TW_FLASH_4MB, false, AUTO, DEV, SW_AUTO, false, false, NULL,
	 L(layout_big), NOIMG, "beyond the chip's 4 MB flash", ECDSA, NULL, NULL, NULL},
	{"image over fctry", "esp32h2", 1, 0, false, AUTO, DEV, SW_AUTO, false, false, NULL, L(layout_plain),
	 L(images_clash), "would overwrite partition fctry", ECDSA, NULL, NULL, NULL},
	{"image larger than its partition", "esp32h2", 1, 0, false, AUTO, DEV, SW_AUTO, false, false, NULL,
	 L(layout_plain), L(images_too_big), "does not fit partition ota_0", ECDSA, NULL, NULL, NULL},
	/* Resume: the device's own burned state is taken as done. */
	{"resume h2 after burn", "esp32h2", 1, TW_KEY0_ECDSA, true, AUTO, DEV, SW_AUTO, false, false, NULL,
	 L(layout_plain), NOIMG, NULL, ECDSA,
	 "detect generate burn-ecdsa-key write-esp_secure_cert write-fctry verify-flash verify-efuse result", "",
	 "detect burn-ecdsa-key"},
	{"resume c3 after fe enable", "esp32c3", 0, TW_KEY0_XTS | TW_FE_ON, true, AUTO, DEV, SW_AUTO, false, false,
	 NULL, L(layout_enc), NOIMG, NULL, DS,
	 "detect generate confirm burn-ds-hmac-key burn-fe-key burn-fe-enable write-esp_secure_cert write-fctry "
	 "verify-flash verify-efuse result",
	 "write-esp_secure_cert", "detect burn-fe-key burn-fe-enable"},
};

static void make_chip(const struct plan_case *c, struct plan_chip *chip)
{
	memset(chip, 0, sizeof *chip);
	snprintf(chip->name, sizeof chip->name, "%s", c->chip);
	chip->rev_major = c->rev;
	chip->mac[5] = 1;
	chip->flash_size = (c->tweak & TW_FLASH_4MB) ? 4u << 20 : 8u << 20;
	for (int b = 0; b < PLAN_MAX_KEY_BLOCKS; b++)
		chip->key[b].empty = true;
	if (c->tweak & TW_FE_ON)
		chip->crypt_cnt = 1;
	if (c->tweak & TW_SB_ON)
		chip->secure_boot = true;
	if (c->tweak & TW_SDM)
		chip->secure_download = true;
	if (c->tweak & TW_KEY0_XTS) {
		chip->key[0].purpose = PLAN_PURPOSE_XTS_AES_128_KEY;
		chip->key[0].empty = false;
		chip->key[0].rd_dis = true;
	}
	if (c->tweak & TW_KEY0_ECDSA) {
		chip->key[0].purpose = PLAN_PURPOSE_ECDSA_KEY;
		chip->key[0].empty = false;
	}
	if (c->tweak & (TW_KEYS_USED_0_4 | TW_ALL_KEYS_USED))
		for (int b = 0; b < ((c->tweak & TW_ALL_KEYS_USED) ? 6 : 5); b++)
			chip->key[b].empty = false;
	if (c->tweak & TW_RD_DIS_LOCK)
		chip->rd_dis_locked = true;
	if (c->tweak & TW_ESP32_BLOCK1)
		chip->key[0].empty = false;
}

static void make_profile(const struct plan_case *c, struct profile *p)
{
	memset(p, 0, sizeof *p);
	p->file = "test.ini";
	p->path = c->path;
	p->mode = c->mode;
	p->flash_encryption = c->fe;
	p->nvs_encryption = c->nvs_enc;
	p->secure_boot_digest = c->sb ? "sb_digest.bin" : NULL;
	p->secure_cert_label = "esp_secure_cert";
	p->factory_label = "fctry";
	p->nvs_keys_label = "nvs_keys";
	if (c->chips) {
		p->chips[0] = (char *)c->chips;
		p->n_chips = 1;
	}
}

static bool word_in(const char *list, const char *word)
{
	size_t n = strlen(word);
	for (const char *s = list; (s = strstr(s, word)); s += n)
		if ((s == list || s[-1] == ' ') && (s[n] == ' ' || s[n] == '\0'))
			return true;
	return false;
}

/* Production plans, and only they, end with the lockdown: irreversible, after both read-backs
 * (Secure Download Mode ends the register reads they need), right before the result. */
static void check_lockdown(const struct plan_case *c, const struct plan *p)
{
	int at = -1, vflash = -1, vefuse = -1;
	for (int k = 0; k < p->n_steps; k++) {
		if (p->steps[k].kind == PLAN_STEP_LOCKDOWN)
			at = k;
		if (p->steps[k].kind == PLAN_STEP_VERIFY_FLASH)
			vflash = k;
		if (p->steps[k].kind == PLAN_STEP_VERIFY_EFUSE)
			vefuse = k;
	}
	if (c->mode != PROD) {
		if (at >= 0)
			fail_msg("case '%s': a development plan has a lockdown step", c->name);
		return;
	}
	if (at < 0)
		fail_msg("case '%s': a production plan without the lockdown step", c->name);
	const struct plan_step *s = &p->steps[at];
	assert_string_equal(s->id, "lockdown");
	assert_int_equal(at, p->n_steps - 2);
	assert_int_equal(p->steps[p->n_steps - 1].kind, PLAN_STEP_RESULT);
	assert_true(vflash >= 0 && vflash < at);
	assert_true(vefuse >= 0 && vefuse < at);
	assert_true(s->irreversible);
	assert_false(s->done);
	assert_string_equal(s->text, !strcmp(c->chip, "esp32") ? "disable JTAG and UART download mode"
								: "disable JTAG and enable Secure Download Mode");
}

static void test_plan_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		const struct plan_case *c = &cases[i];
		struct plan_chip chip;
		struct profile prof;
		make_chip(c, &chip);
		make_profile(c, &prof);
		struct plan_input in = {&prof, &chip, c->layout, c->n_layout, c->images, c->n_images, c->resume};
		struct plan p;
		err_t e = {0};
		int rc = plan_build(&in, &p, &e);
		if (c->refusal) {
			if (rc != -1)
				fail_msg("case '%s': accepted, expected refusal '%s'", c->name, c->refusal);
			assert_int_equal(e.code, ERR_CHECK);
			bool seen = false;
			for (int k = 0; k < p.n_refusals; k++)
				seen |= strstr(p.refusals[k], c->refusal) != NULL;
			if (!seen)
				fail_msg("case '%s': refusals lack '%s' (first: %s)", c->name, c->refusal, e.msg);
			continue;
		}
		if (rc != 0)
			fail_msg("case '%s': refused: %s", c->name, e.msg);
		if (p.path != c->want_path)
			fail_msg("case '%s': path %s, want %s", c->name, profile_name_path(p.path),
				 profile_name_path(c->want_path));
		if (c->want_steps) {
			char got[2048] = "";
			for (int k = 0; k < p.n_steps; k++) {
				if (k)
					strcat(got, " ");
				strcat(got, p.steps[k].id);
			}
			if (strcmp(got, c->want_steps))
				fail_msg("case '%s': steps\n  got  %s\n  want %s", c->name, got, c->want_steps);
		}
		for (int k = 0; k < p.n_steps; k++) {
			const struct plan_step *s = &p.steps[k];
			if (c->want_encrypted && s->kind == PLAN_STEP_WRITE &&
			    s->encrypted != word_in(c->want_encrypted, s->id))
				fail_msg("case '%s': step %s encrypted=%d", c->name, s->id, s->encrypted);
			if (c->want_done && s->done != word_in(c->want_done, s->id))
				fail_msg("case '%s': step %s done=%d", c->name, s->id, s->done);
			/* Irreversible steps are exactly the eFuse ones. */
			bool burn = s->kind == PLAN_STEP_BURN_KEY || s->kind == PLAN_STEP_BURN_FE_ENABLE ||
				    s->kind == PLAN_STEP_BURN_SECURE_BOOT || s->kind == PLAN_STEP_LOCKDOWN;
			assert_int_equal(s->irreversible, burn);
			/* Keys are read-protected in production only, digests never. */
			if (s->kind == PLAN_STEP_BURN_KEY)
				assert_int_equal(s->read_protect,
						 c->mode == PROD && s->key != PLAN_KEY_SB_DIGEST);
		}
		/* A confirmation step precedes the first irreversible step that is still to do. */
		int confirm = -1, first_burn = -1;
		for (int k = 0; k < p.n_steps; k++) {
			if (p.steps[k].kind == PLAN_STEP_CONFIRM)
				confirm = k;
			if (p.steps[k].irreversible && !p.steps[k].done && first_burn < 0)
				first_burn = k;
		}
		if (first_burn >= 0)
			assert_true(confirm >= 0 && confirm < first_burn);
		else
			assert_int_equal(confirm, -1);
		assert_int_equal(plan_has_irreversible(&p), first_burn >= 0);
		check_lockdown(c, &p);
	}
}

static void test_key_block_assignment(void **state)
{
	(void)state;
	/* C6 with KEY0..3 used: the FE key avoids KEY5, the HMAC key may take any free block. */
	struct plan_case c = cases[3];
	struct plan_chip chip;
	struct profile prof;
	make_chip(&c, &chip);
	make_profile(&c, &prof);
	chip.key[0].empty = false;
	chip.key[1].empty = false;
	chip.key[2].empty = false;
	chip.key[3].empty = false;
	struct plan_input in = {&prof, &chip, c.layout, c.n_layout, c.images, c.n_images, false};
	struct plan p;
	err_t e = {0};
	if (plan_build(&in, &p, &e))
		fail_msg("%s", e.msg);
	const struct plan_step *hmac = plan_find_step(&p, "burn-ds-hmac-key");
	const struct plan_step *fe = plan_find_step(&p, "burn-fe-key");
	assert_non_null(hmac);
	assert_non_null(fe);
	/* Only KEY4 and KEY5 are free: the FE key cannot live in KEY5, so it must get KEY4 even
	 * though the DS key comes first in the step list. */
	assert_int_equal(fe->block, 4);
	assert_int_equal(fe->purpose, PLAN_PURPOSE_XTS_AES_128_KEY);
	assert_int_equal(hmac->block, 5);
	assert_int_equal(hmac->purpose, PLAN_PURPOSE_HMAC_DOWN_DS);
	assert_true(fe->read_protect);

	/* ESP32: fixed blocks (BLOCK1 = index 0 for FE, BLOCK2 = index 1 for the digest). */
	c = cases[7];
	make_chip(&c, &chip);
	make_profile(&c, &prof);
	in = (struct plan_input){&prof, &chip, c.layout, c.n_layout, c.images, c.n_images, false};
	if (plan_build(&in, &p, &e))
		fail_msg("%s", e.msg);
	assert_int_equal(plan_find_step(&p, "burn-fe-key")->block, 0);
	assert_int_equal(plan_find_step(&p, "burn-sb-digest")->block, 1);
	assert_int_equal(p.fe_scheme, PLAN_FE_ESP32_AES);
	assert_true(p.secure_boot);

	/* C2 with secure boot: both share BLOCK_KEY0 and go in one step, the FE key is the
	 * 128-bit derived one (purpose 2), read-protected in production; no separate burns. */
	c = cases[8];
	make_chip(&c, &chip);
	make_profile(&c, &prof);
	in = (struct plan_input){&prof, &chip, c.layout, c.n_layout, c.images, c.n_images, false};
	if (plan_build(&in, &p, &e))
		fail_msg("%s", e.msg);
	assert_int_equal(p.fe_scheme, PLAN_FE_XTS_128_DERIVED);
	const struct plan_step *both = plan_find_step(&p, "burn-fe-key-sb-digest");
	assert_non_null(both);
	assert_int_equal(both->key, PLAN_KEY_FE_AND_SB_DIGEST);
	assert_int_equal(both->purpose, 2);
	assert_int_equal(both->block, 0);
	assert_true(both->read_protect);
	assert_true(both->irreversible);
	assert_non_null(strstr(both->text, "high 128 bits"));
	assert_string_equal(plan_name_key_role(both->key), "fe-key-and-sb-digest");
	assert_null(plan_find_step(&p, "burn-fe-key"));
	assert_null(plan_find_step(&p, "burn-sb-digest"));
	/* The block already used: refused (eFuse bits cannot be cleared) ... */
	chip.key[0].empty = false;
	assert_int_equal(plan_build(&in, &p, &e), -1);
	assert_non_null(strstr(e.msg, "BLOCK_KEY0 is already used"));
	/* ... unless it is this device's own interrupted run. */
	in.resume_efuse = true;
	if (plan_build(&in, &p, &e))
		fail_msg("%s", e.msg);
	assert_true(plan_find_step(&p, "burn-fe-key-sb-digest")->done);

	/* H2: the ECDSA key block number and the DAC-in-flash flag. */
	c = cases[0];
	make_chip(&c, &chip);
	make_profile(&c, &prof);
	chip.key[0].empty = false;
	in = (struct plan_input){&prof, &chip, c.layout, c.n_layout, NULL, 0, false};
	if (plan_build(&in, &p, &e))
		fail_msg("%s", e.msg);
	assert_int_equal(plan_find_step(&p, "burn-ecdsa-key")->block, 1);
	assert_false(p.dac_key_in_flash);
	assert_false(p.flash_encryption);
	assert_int_equal(p.fe_scheme, PLAN_FE_NONE);
}

static void test_all_refusals_listed(void **state)
{
	(void)state;
	/* Several problems at once are all reported, not just the first. */
	struct plan_case c = cases[0];
	struct plan_chip chip;
	struct profile prof;
	make_chip(&c, &chip);
	make_profile(&c, &prof);
	chip.secure_download = true;
	chip.crypt_cnt = 3;
	prof.chips[0] = "esp32c6";
	struct plan_input in = {&prof, &chip, layout_no_fctry, 3, NULL, 0, false};
	struct plan p;
	err_t e = {0};
	assert_int_equal(plan_build(&in, &p, &e), -1);
	assert_true(p.n_refusals >= 4);
	assert_non_null(strstr(e.msg, "wrong chip"));
	/* A resumed run does not excuse an even (disabled) counter. */
	in.resume_efuse = true;
	chip.secure_download = false;
	prof.chips[0] = "esp32h2";
	in.parts = layout_plain;
	in.n_parts = 7;
	assert_int_equal(plan_build(&in, &p, &e), -1);
	assert_non_null(strstr(e.msg, "was enabled before"));
}

static void test_check_fit(void **state)
{
	(void)state;
	struct plan_case c = cases[0];
	struct plan_chip chip;
	struct profile prof;
	make_chip(&c, &chip);
	make_profile(&c, &prof);
	struct plan_input in = {&prof, &chip, c.layout, c.n_layout, NULL, 0, false};
	struct plan p;
	err_t e = {0};
	assert_int_equal(plan_build(&in, &p, &e), 0);
	assert_int_equal(plan_check_fit(&p, PLAN_SRC_SECURE_CERT, 0x2000, &e), 0);
	assert_int_equal(plan_check_fit(&p, PLAN_SRC_SECURE_CERT, 0x2001, &e), -1);
	assert_non_null(strstr(e.msg, "esp_secure_cert"));
	assert_int_equal(plan_check_fit(&p, PLAN_SRC_FACTORY_NVS, 0x6000, &e), 0);
	assert_int_equal(plan_check_fit(&p, PLAN_SRC_FACTORY_NVS, 0x7000, &e), -1);
	/* The plain h2 plan writes no nvs_keys. */
	assert_int_equal(plan_check_fit(&p, PLAN_SRC_NVS_KEYS, 10, &e), -1);
}

/* The shipped example profiles with their partition tables (read by the partition-table
 * module) plan cleanly on their chips, with the partitions at the offsets of the tables. */
static void test_example_profiles(void **state)
{
	(void)state;
	const char *src = testutil_source_dir();
	if (!src)
		skip();
	static const struct {
		const char *profile, *chip;
		enum profile_path path;
		uint32_t fctry;
		const char *steps;
	} ex[] = {
		{"h2-light.ini", "esp32h2", PROFILE_PATH_ECDSA_EFUSE, 0x3E0000,
		 "detect generate confirm burn-ecdsa-key write-esp_secure_cert write-fctry verify-flash "
		 "verify-efuse result"},
		{"c3-plug.ini", "esp32c3", PROFILE_PATH_DS, 0x3E0000,
		 "detect generate confirm burn-ds-hmac-key burn-fe-key burn-fe-enable write-esp_secure_cert "
		 "write-fctry write-nvs_keys verify-flash verify-efuse result"},
		{"esp32-bridge.ini", "esp32", PROFILE_PATH_FLASH_ENC, 0x7A0000,
		 "detect generate confirm burn-fe-key burn-fe-enable write-esp_secure_cert write-fctry "
		 "write-nvs_keys verify-flash verify-efuse result"},
	};
	for (size_t i = 0; i < sizeof ex / sizeof *ex; i++) {
		char rel[128];
		snprintf(rel, sizeof rel, "assets/profiles/%s", ex[i].profile);
		char *path = testutil_join_path(src, rel);
		struct profile prof;
		err_t e = {0};
		if (profile_load(path, &prof, &e))
			fail_msg("%s", e.msg);
		struct plan_partition *parts;
		int n;
		if (gen_load_layout(&prof, &parts, &n, &e))
			fail_msg("%s", e.msg);
		struct plan_case c = {0};
		c.chip = ex[i].chip;
		c.rev = 3;
		struct plan_chip chip;
		make_chip(&c, &chip);
		struct plan_input in = {&prof, &chip, parts, n, NULL, 0, false};
		struct plan p;
		if (plan_build(&in, &p, &e))
			fail_msg("%s: %s", ex[i].profile, e.msg);
		assert_int_equal(p.path, ex[i].path);
		assert_int_equal(plan_find_step(&p, "write-fctry")->offset, ex[i].fctry);
		assert_int_equal(plan_find_step(&p, "write-esp_secure_cert")->offset, 0xd000);
		char got[1024] = "";
		for (int k = 0; k < p.n_steps; k++) {
			if (k)
				strcat(got, " ");
			strcat(got, p.steps[k].id);
		}
		assert_string_equal(got, ex[i].steps);
		/* A 4 MB chip cannot take the 8 MB bridge layout. */
		chip.flash_size = 4u << 20;
		assert_int_equal(plan_build(&in, &p, &e), !strcmp(ex[i].chip, "esp32") ? -1 : 0);
		free(parts);
		profile_free(&prof);
		free(path);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plan_table),
		cmocka_unit_test(test_key_block_assignment),
		cmocka_unit_test(test_all_refusals_listed),
		cmocka_unit_test(test_check_fit),
		cmocka_unit_test(test_example_profiles),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
