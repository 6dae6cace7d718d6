#include "flow/plan.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Per-chip facts (chips.md §3, efuse.md §3, §7, §8, flash-encryption.md §1). */
struct plan_caps {
	const char *name;
	bool ds, ecdsa, sdm;
	bool key5_quirk;     /* BLOCK_KEY5 may hold neither an XTS key nor (H2) the ECDSA key */
	enum plan_fe_scheme fe;
	int key_blocks;
	unsigned sb_min_rev; /* secure boot v2 from this major revision */
};

static const struct plan_caps plan_chips[] = {
	{"esp32", false, false, false, false, PLAN_FE_ESP32_AES, 3, 3},
	{"esp32s2", true, false, true, false, PLAN_FE_XTS_128, 6, 0},
	{"esp32s3", true, false, true, true, PLAN_FE_XTS_128, 6, 0},
	{"esp32c2", false, false, true, false, PLAN_FE_XTS_128, 1, 0},
	{"esp32c3", true, false, true, true, PLAN_FE_XTS_128, 6, 0},
	{"esp32c6", true, false, true, true, PLAN_FE_XTS_128, 6, 0},
	{"esp32h2", true, true, true, true, PLAN_FE_XTS_128, 6, 0},
};

/* ESP32-C2 key purposes of its single block (efuse.md §8). */
enum {
	PLAN_C2_XTS_128 = 1,
	PLAN_C2_XTS_128_DERIVED = 2,
	PLAN_C2_SB_DIGEST_HIGH = 3,
};

/* ESP32 partition types/subtypes (ESP-IDF partition table). */
enum {
	PT_APP = 0x00,
	PT_DATA = 0x01,
	PT_DATA_OTA = 0x00,
	PT_DATA_NVS = 0x02,
	PT_DATA_NVS_KEYS = 0x04,
};

static const struct plan_caps *plan_find_caps(const char *chip)
{
	for (size_t i = 0; i < sizeof plan_chips / sizeof *plan_chips; i++)
		if (!strcmp(plan_chips[i].name, chip))
			return &plan_chips[i];
	return NULL;
}

bool plan_chip_known(const char *chip)
{
	return plan_find_caps(chip) != NULL;
}

bool plan_chip_has_ds(const char *chip)
{
	const struct plan_caps *c = plan_find_caps(chip);
	return c && c->ds;
}

static void plan_refuse(struct plan *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void plan_refuse(struct plan *p, const char *fmt, ...)
{
	if (p->n_refusals == PLAN_MAX_NOTES)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(p->refusals[p->n_refusals++], sizeof p->refusals[0], fmt, ap);
	va_end(ap);
}

static void plan_warn(struct plan *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void plan_warn(struct plan *p, const char *fmt, ...)
{
	if (p->n_warnings == PLAN_MAX_NOTES)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(p->warnings[p->n_warnings++], sizeof p->warnings[0], fmt, ap);
	va_end(ap);
}

static struct plan_step *plan_add_step(struct plan *p, enum plan_step_kind kind, const char *id,
				       const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static struct plan_step *plan_add_step(struct plan *p, enum plan_step_kind kind, const char *id,
				       const char *fmt, ...)
{
	static struct plan_step overflow;
	if (p->n_steps == PLAN_MAX_STEPS) {
		plan_refuse(p, "more than %d steps", PLAN_MAX_STEPS);
		memset(&overflow, 0, sizeof overflow);
		return &overflow;
	}
	struct plan_step *s = &p->steps[p->n_steps++];
	memset(s, 0, sizeof *s);
	s->kind = kind;
	snprintf(s->id, sizeof s->id, "%s", id);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(s->text, sizeof s->text, fmt, ap);
	va_end(ap);
	s->irreversible = kind == PLAN_STEP_BURN_KEY || kind == PLAN_STEP_BURN_FE_ENABLE ||
			  kind == PLAN_STEP_BURN_SECURE_BOOT || kind == PLAN_STEP_LOCKDOWN;
	return s;
}

static const struct plan_partition *plan_find_part(const struct plan_input *in, const char *label)
{
	for (int i = 0; i < in->n_parts; i++)
		if (!strcmp(in->parts[i].label, label))
			return &in->parts[i];
	return NULL;
}

static enum profile_path plan_choose_path(const struct plan_input *in, const struct plan_caps *caps,
					  struct plan *p)
{
	bool ecdsa = caps->ecdsa || in->chip->has_ecdsa;
	enum profile_path path = in->profile->path;
	if (path == PROFILE_PATH_AUTO)
		return ecdsa ? PROFILE_PATH_ECDSA_EFUSE : caps->ds ? PROFILE_PATH_DS : PROFILE_PATH_FLASH_ENC;
	if (path == PROFILE_PATH_ECDSA_EFUSE && !ecdsa)
		plan_refuse(p, "path ecdsa-efuse: %s has no ECDSA peripheral", caps->name);
	if (path == PROFILE_PATH_DS && !caps->ds)
		plan_refuse(p, "path ds: %s has no Digital Signature peripheral", caps->name);
	return path;
}

static const char *plan_block_name(const struct plan_caps *caps, int block, char *buf, size_t n)
{
	if (!strcmp(caps->name, "esp32"))
		snprintf(buf, n, "BLOCK%d", block + 1);
	else
		snprintf(buf, n, "BLOCK_KEY%d", block);
	return buf;
}

static bool plan_block_free(const struct plan_chip *chip, int b)
{
	return chip->key[b].empty && chip->key[b].purpose == PLAN_PURPOSE_USER && !chip->key[b].rd_dis &&
	       !chip->key[b].wr_dis;
}

struct plan_key_need {
	enum plan_key_role role;
	uint8_t purpose;
	bool restricted; /* not allowed in BLOCK_KEY5 on chips with the quirk */
	bool read_protect;
	const char *id, *what;
	const char *text; /* the step's text when the generic "burn the <what> into ..." does not fit */
};

/* Picks a block for each key. A purpose already present on the chip is refused (this chip was
 * provisioned before) unless the journal says it was this device's own earlier run. */
static void plan_assign_keys(const struct plan_input *in, const struct plan_caps *caps,
			     struct plan_key_need *needs, int n_needs, struct plan *p)
{
	const struct plan_chip *chip = in->chip;
	bool taken[PLAN_MAX_KEY_BLOCKS] = {false};
	char bname[24];
	int blocks[8];
	bool dones[8];
	for (int i = 0; i < 8; i++) {
		blocks[i] = -1;
		dones[i] = false;
	}
	/* Keys that BLOCK_KEY5 cannot hold are placed first, so a free KEY5 goes to a key that may
	 * live there; the steps keep the order of needs. */
	for (int pass = 0; pass < 2; pass++) {
		for (int i = 0; i < n_needs; i++) {
			struct plan_key_need *k = &needs[i];
			if (k->restricted != (pass == 0))
				continue;
			int block = -1;
			bool done = false;
			if (!strcmp(caps->name, "esp32")) {
				/* Fixed blocks: BLOCK1 flash encryption, BLOCK2 secure boot. */
				block = k->role == PLAN_KEY_FLASH_ENC ? 0 : 1;
				if (!plan_block_free(chip, block)) {
					if (in->resume_efuse)
						done = true;
					else
						plan_refuse(p, "%s is already used: the %s cannot be burned",
							    plan_block_name(caps, block, bname, sizeof bname), k->what);
				}
			} else if (!strcmp(caps->name, "esp32c2")) {
				block = 0;
				if (!plan_block_free(chip, 0) || taken[0]) {
					if (taken[0])
						; /* the second half of the shared block */
					else if (in->resume_efuse)
						done = true;
					else
						plan_refuse(p, "BLOCK_KEY0 is already used: the %s cannot be burned",
							    k->what);
				}
			} else {
				for (int b = 0; b < caps->key_blocks; b++) {
					if (chip->key[b].purpose == k->purpose && !plan_block_free(chip, b)) {
						if (in->resume_efuse) {
							block = b;
							done = true;
						} else {
							plan_refuse(p, "%s already holds a key with purpose %u (%s): this "
								    "chip was provisioned before",
								    plan_block_name(caps, b, bname, sizeof bname),
								    k->purpose, plan_name_key_role(k->role));
						}
						break;
					}
				}
				if (block < 0 && !done) {
					for (int b = 0; b < caps->key_blocks; b++) {
						if (taken[b] || !plan_block_free(chip, b))
							continue;
						if (k->restricted && caps->key5_quirk && b == 5)
							continue;
						block = b;
						break;
					}
					if (block < 0) {
						int free_blocks = 0;
						for (int b = 0; b < caps->key_blocks; b++)
							free_blocks += plan_block_free(chip, b) && !taken[b];
						plan_refuse(p, "no free key block for the %s (%d free%s)", k->what,
							    free_blocks,
							    k->restricted && caps->key5_quirk ? ", BLOCK_KEY5 not allowed" : "");
						continue;
					}
				}
			}
			if (block >= 0)
				taken[block] = true;
			blocks[i] = block;
			dones[i] = done;
		}
	}
	for (int i = 0; i < n_needs; i++) {
		struct plan_key_need *k = &needs[i];
		int block = blocks[i];
		bool done = dones[i];
		if (k->read_protect && chip->rd_dis_locked && !done)
			plan_refuse(p, "the %s must be read-protected, but RD_DIS is write-protected on this "
				    "chip", k->what);
		struct plan_step *s =
			k->text ? plan_add_step(p, PLAN_STEP_BURN_KEY, k->id, "%s", k->text)
				: plan_add_step(p, PLAN_STEP_BURN_KEY, k->id, "burn the %s into %s (purpose %u%s)",
						k->what, plan_block_name(caps, block < 0 ? 0 : block, bname, sizeof bname),
						k->purpose, k->read_protect ? ", read-protected" : "");
		s->key = k->role;
		s->block = block;
		s->purpose = k->purpose;
		s->read_protect = k->read_protect;
		s->done = done;
	}
}

/* Does flash encryption apply to data written at [offset, offset+size)? ESP-IDF encrypts the
 * bootloader and partition table (below the first partition), app partitions, otadata and
 * partitions flagged "encrypted" (flash-encryption.md §4). */
static bool plan_region_encrypted(const struct plan_input *in, uint32_t offset)
{
	uint32_t first = UINT32_MAX;
	for (int i = 0; i < in->n_parts; i++) {
		const struct plan_partition *pt = &in->parts[i];
		if (pt->offset < first)
			first = pt->offset;
		if (offset >= pt->offset && offset < pt->offset + pt->size)
			return pt->encrypted || pt->type == PT_APP ||
			       (pt->type == PT_DATA && pt->subtype == PT_DATA_OTA);
	}
	return offset < first;
}

static void plan_check_layout(const struct plan_input *in, struct plan *p)
{
	const struct plan_chip *chip = in->chip;
	for (int i = 0; i < in->n_parts; i++) {
		const struct plan_partition *a = &in->parts[i];
		if (chip->flash_size && (uint64_t)a->offset + a->size > chip->flash_size)
			plan_refuse(p, "partition %s (0x%x + 0x%x) ends beyond the chip's %u MB flash",
				    a->label, a->offset, a->size, chip->flash_size >> 20);
	}
	for (int i = 0; i < in->n_images; i++) {
		const struct plan_image *im = &in->images[i];
		uint64_t end = (uint64_t)im->offset + im->size;
		if (chip->flash_size && end > chip->flash_size)
			plan_refuse(p, "image %s (0x%x, %u bytes) ends beyond the chip's flash", im->name,
				    im->offset, im->size);
		for (int k = 0; k < in->n_parts; k++) {
			const struct plan_partition *pt = &in->parts[k];
			uint64_t pend = (uint64_t)pt->offset + pt->size;
			if (im->offset >= pend || end <= pt->offset)
				continue;
			if (im->offset < pt->offset || end > pend) {
				plan_refuse(p, "image %s (0x%x, %u bytes) does not fit partition %s (0x%x, "
					    "0x%x)", im->name, im->offset, im->size, pt->label, pt->offset,
					    pt->size);
				continue;
			}
			const struct profile *pr = in->profile;
			if (!strcmp(pt->label, pr->secure_cert_label) || !strcmp(pt->label, pr->factory_label) ||
			    (p->nvs_encryption && !strcmp(pt->label, pr->nvs_keys_label)))
				plan_refuse(p, "image %s would overwrite partition %s, which this run writes",
					    im->name, pt->label);
		}
	}
}

static void plan_add_write(struct plan *p, enum plan_source src, const struct plan_partition *pt,
			   bool encrypted, const char *what)
{
	char id[40];
	snprintf(id, sizeof id, "write-%s", pt->label);
	struct plan_step *s = plan_add_step(p, PLAN_STEP_WRITE, id, "write %s to %s at 0x%x%s", what,
					    pt->label, pt->offset, encrypted ? " (encrypted)" : "");
	s->source = src;
	s->image = -1;
	snprintf(s->label, sizeof s->label, "%s", pt->label);
	s->offset = pt->offset;
	s->size = pt->size;
	s->encrypted = encrypted;
}

static int plan_compare_images(const void *a, const void *b)
{
	const struct plan_image *x = *(const struct plan_image *const *)a;
	const struct plan_image *y = *(const struct plan_image *const *)b;
	return x->offset < y->offset ? -1 : x->offset > y->offset;
}

static void plan_add_fe_enable(struct plan *p, bool production, bool done)
{
	struct plan_step *s = plan_add_step(p, PLAN_STEP_BURN_FE_ENABLE, "burn-fe-enable",
					    production ? "enable flash encryption in release mode (counter, "
							 "download-mode encryption and cache off, JTAG off)"
						       : "enable flash encryption in development mode (counter = 1)");
	s->done = done;
}

static void plan_add_sb_enable(struct plan *p, bool done)
{
	struct plan_step *s = plan_add_step(p, PLAN_STEP_BURN_SECURE_BOOT, "burn-sb-enable",
					    "enable secure boot v2 and write-protect RD_DIS");
	s->done = done;
}

int plan_build(const struct plan_input *in, struct plan *p, err_t *e)
{
	memset(p, 0, sizeof *p);
	const struct profile *pr = in->profile;
	const struct plan_chip *chip = in->chip;
	snprintf(p->chip, sizeof p->chip, "%s", chip->name);
	p->mode = pr->mode;
	bool production = pr->mode == PROFILE_MODE_PRODUCTION;

	const struct plan_caps *caps = plan_find_caps(chip->name);
	if (!caps) {
		plan_refuse(p, "chip '%s' is not supported", chip->name);
		goto out;
	}
	if (!profile_allows_chip(pr, chip->name))
		plan_refuse(p, "wrong chip: the profile %s is for %s%s, this board has an %s", pr->file,
			    pr->chips[0], pr->n_chips > 1 ? " (and others)" : "", chip->name);

	p->path = plan_choose_path(in, caps, p);
	p->flash_encryption = pr->flash_encryption == PROFILE_SWITCH_ON ||
			      (pr->flash_encryption == PROFILE_SWITCH_AUTO &&
			       p->path != PROFILE_PATH_ECDSA_EFUSE);
	if (p->path == PROFILE_PATH_FLASH_ENC)
		p->flash_encryption = true;
	p->secure_boot = pr->secure_boot_digest != NULL;
	p->nvs_encryption = pr->nvs_encryption;
	p->dac_key_in_flash = p->path != PROFILE_PATH_ECDSA_EFUSE;
	if (p->flash_encryption)
		p->fe_scheme = (caps->fe == PLAN_FE_XTS_128 && !strcmp(caps->name, "esp32c2") && p->secure_boot)
				       ? PLAN_FE_XTS_128_DERIVED
				       : caps->fe;

	/* Production on a chip whose DAC key cannot live in hardware. */
	if (production && !caps->ds && !(caps->ecdsa || chip->has_ecdsa) &&
	    !(p->flash_encryption && p->secure_boot))
		plan_refuse(p, "production mode on %s (no DS or ECDSA peripheral) needs flash encryption "
			    "and secure boot (secure_boot_digest in the profile)", chip->name);
	if (production && p->dac_key_in_flash && !p->flash_encryption)
		plan_refuse(p, "production mode with the DAC key in flash needs flash encryption");
	if (p->secure_boot && chip->rev_major < caps->sb_min_rev)
		plan_refuse(p, "secure boot v2 needs %s revision v%u.0 or later (this is v%u.%u)",
			    chip->name, caps->sb_min_rev, chip->rev_major, chip->rev_minor);
	if (p->flash_encryption && !production && p->dac_key_in_flash)
		plan_warn(p, "development mode: flash encryption stays in development usage");
	if (!p->flash_encryption && p->dac_key_in_flash)
		plan_warn(p, "the DAC private key is written to flash in the clear (development only)");

	/* eFuse state that makes the run impossible or unsafe. */
	if (chip->secure_download)
		plan_refuse(p, "Secure Download Mode is on: this chip is locked and cannot be read back");
	bool fe_on = __builtin_popcount(chip->crypt_cnt) & 1;
	bool fe_done = false, sb_done = false;
	if (chip->crypt_cnt) {
		if (in->resume_efuse && fe_on && p->flash_encryption)
			fe_done = true;
		else
			plan_refuse(p, "the flash-encryption counter is 0x%x (%s): flash was encrypted with "
				    "a key this station does not know", chip->crypt_cnt,
				    fe_on ? "enabled" : "was enabled before");
	}
	if (chip->secure_boot) {
		if (in->resume_efuse && p->secure_boot)
			sb_done = true;
		else
			plan_refuse(p, "secure boot is already enabled on this chip");
	}

	/* Partitions the plan writes must exist, with the right kind. */
	const struct plan_partition *sc = plan_find_part(in, pr->secure_cert_label);
	const struct plan_partition *fc = plan_find_part(in, pr->factory_label);
	const struct plan_partition *nk = p->nvs_encryption ? plan_find_part(in, pr->nvs_keys_label) : NULL;
	if (!sc)
		plan_refuse(p, "the partition table has no '%s' partition (esp_secure_cert)", pr->secure_cert_label);
	if (!fc)
		plan_refuse(p, "the partition table has no '%s' partition (Matter factory data)",
			    pr->factory_label);
	else if (fc->type != PT_DATA || fc->subtype != PT_DATA_NVS)
		plan_refuse(p, "partition '%s' is not of type data/nvs", fc->label);
	/* The NVS key protects the factory data only while nvs_keys itself is flash-encrypted; on
	 * the ecdsa-efuse path flash encryption is off unless the profile turns it on. */
	if (p->nvs_encryption && !p->flash_encryption)
		plan_refuse(p, "nvs_encryption needs flash encryption: the nvs_keys partition would hold "
			    "the NVS key in the clear (set flash_encryption = yes)");
	if (p->nvs_encryption) {
		if (!nk)
			plan_refuse(p, "nvs_encryption needs a '%s' partition in the partition table",
				    pr->nvs_keys_label);
		else if (nk->type != PT_DATA || nk->subtype != PT_DATA_NVS_KEYS || !nk->encrypted)
			plan_refuse(p, "partition '%s' must be data/nvs_keys flagged encrypted", nk->label);
	}
	if (sc && p->flash_encryption && p->dac_key_in_flash && !sc->encrypted)
		plan_refuse(p, "partition '%s' holds the DAC private key but is not flagged encrypted in "
			    "the partition table", sc->label);
	if (p->flash_encryption && in->n_images == 0) {
		if (production)
			plan_refuse(p, "flash encryption with a per-device key needs the firmware images "
				    "(flasher_args) to write them encrypted");
		else
			plan_warn(p, "no firmware images in the profile: the bootloader and app must be "
				  "written encrypted with this device's key before it can boot");
	}
	plan_check_layout(in, p);

	/* The steps. */
	struct plan_step *s = plan_add_step(p, PLAN_STEP_DETECT, "detect", "detect the chip: %s v%u.%u",
					    chip->name, chip->rev_major, chip->rev_minor);
	s->done = true;
	plan_add_step(p, PLAN_STEP_GENERATE, "generate", "generate the device identity (%s path) and "
		      "save it to the device folder", profile_name_path(p->path));
	int confirm_at = p->n_steps;
	plan_add_step(p, PLAN_STEP_CONFIRM, "confirm", "confirm the irreversible steps");

	struct plan_key_need needs[4];
	int n_needs = 0;
	bool c2 = !strcmp(caps->name, "esp32c2"), esp32 = !strcmp(caps->name, "esp32");
	if (p->path == PROFILE_PATH_ECDSA_EFUSE)
		needs[n_needs++] = (struct plan_key_need){PLAN_KEY_ECDSA_DAC, PLAN_PURPOSE_ECDSA_KEY, true,
							  production, "burn-ecdsa-key", "DAC private key", NULL};
	if (p->path == PROFILE_PATH_DS)
		needs[n_needs++] = (struct plan_key_need){PLAN_KEY_DS_HMAC, PLAN_PURPOSE_HMAC_DOWN_DS, false,
							  production, "burn-ds-hmac-key", "DS HMAC key", NULL};
	/* ESP32-C2: both keys live in the halves of BLOCK_KEY0, whose Reed-Solomon check bits cover
	 * the whole block, so they are burned together in one step; one at a time, the second
	 * could never follow. */
	bool c2_shared = c2 && p->flash_encryption && p->secure_boot;
	char c2_shared_text[sizeof p->steps[0].text];
	snprintf(c2_shared_text, sizeof c2_shared_text,
		 "burn BLOCK_KEY0 once, both halves (Reed-Solomon coded): flash-encryption key in the "
		 "low 128 bits (purpose 2%s), secure-boot digest in the high 128 bits (purpose 3, "
		 "readable)", production ? ", read-protected" : "");
	if (c2_shared)
		needs[n_needs++] = (struct plan_key_need){
			PLAN_KEY_FE_AND_SB_DIGEST, PLAN_C2_XTS_128_DERIVED, true, production,
			"burn-fe-key-sb-digest", "flash-encryption key and secure-boot digest", c2_shared_text};
	if (p->flash_encryption && !c2_shared) {
		uint8_t purpose = esp32 ? 0
				  : c2  ? (p->fe_scheme == PLAN_FE_XTS_128_DERIVED ? PLAN_C2_XTS_128_DERIVED
										   : PLAN_C2_XTS_128)
					: PLAN_PURPOSE_XTS_AES_128_KEY;
		needs[n_needs++] = (struct plan_key_need){PLAN_KEY_FLASH_ENC, purpose, true, production,
							  "burn-fe-key", "flash-encryption key", NULL};
	}
	if (p->secure_boot && !c2_shared)
		needs[n_needs++] = (struct plan_key_need){
			PLAN_KEY_SB_DIGEST,
			esp32 ? 0 : c2 ? PLAN_C2_SB_DIGEST_HIGH : PLAN_PURPOSE_SECURE_BOOT_DIGEST0, false, false,
			"burn-sb-digest", "secure-boot key digest", NULL};
	plan_assign_keys(in, caps, needs, n_needs, p);
	/* C2 release mode write-protects XTS_KEY_LENGTH_256, and with it SECURE_BOOT_EN (one WR_DIS
	 * bit): secure boot goes first there. Elsewhere flash encryption goes first: on the ESP32
	 * its release mode read-protects BLOCK1, which secure boot's RD_DIS lock would forbid. */
	if (c2_shared) {
		plan_add_sb_enable(p, sb_done);
		plan_add_fe_enable(p, production, fe_done);
	} else {
		if (p->flash_encryption)
			plan_add_fe_enable(p, production, fe_done);
		if (p->secure_boot)
			plan_add_sb_enable(p, sb_done);
	}

	/* Firmware first (ascending offsets), then the identity partitions. */
	const struct plan_image *order[64];
	int n_order = in->n_images < 64 ? in->n_images : 64;
	for (int i = 0; i < n_order; i++)
		order[i] = &in->images[i];
	qsort(order, (size_t)n_order, sizeof *order, plan_compare_images);
	for (int i = 0; i < n_order; i++) {
		const struct plan_image *im = order[i];
		bool enc = p->flash_encryption && plan_region_encrypted(in, im->offset);
		char id[40];
		snprintf(id, sizeof id, "write-fw-0x%x", im->offset);
		s = plan_add_step(p, PLAN_STEP_WRITE, id, "write %s at 0x%x%s", im->name, im->offset,
				  enc ? " (encrypted)" : "");
		s->source = PLAN_SRC_FIRMWARE;
		s->image = (int)(im - in->images);
		s->offset = im->offset;
		s->size = im->size;
		s->encrypted = enc;
	}
	if (sc)
		plan_add_write(p, PLAN_SRC_SECURE_CERT, sc, p->flash_encryption && sc->encrypted,
			       p->dac_key_in_flash ? "DAC, PAI and DAC key" : "DAC, PAI and the eFuse key reference");
	if (fc)
		plan_add_write(p, PLAN_SRC_FACTORY_NVS, fc, false,
			       p->nvs_encryption ? "Matter factory data (NVS-encrypted)" : "Matter factory data");
	if (nk)
		plan_add_write(p, PLAN_SRC_NVS_KEYS, nk, p->flash_encryption, "the NVS encryption keys");

	plan_add_step(p, PLAN_STEP_VERIFY_FLASH, "verify-flash", "read back every written partition and "
		      "compare it field by field");
	bool burns = false;
	for (int i = 0; i < p->n_steps; i++)
		burns |= p->steps[i].irreversible;
	if (burns)
		plan_add_step(p, PLAN_STEP_VERIFY_EFUSE, "verify-efuse", "read back the eFuses and compare");
	/* Every production device is locked, whatever its path: with JTAG or the full ROM loader
	 * left open, anyone holding the board can run code that makes the ECDSA or DS peripheral
	 * use the key in eFuse, which read protection does not prevent. Last of the chip steps:
	 * Secure Download Mode ends the RAM and register commands the steps above need. */
	if (production)
		plan_add_step(p, PLAN_STEP_LOCKDOWN, "lockdown",
			      caps->sdm ? "disable JTAG and enable Secure Download Mode"
					: "disable JTAG and UART download mode");
	plan_add_step(p, PLAN_STEP_RESULT, "result", "show the QR code and record the manifest row");

	if (!plan_has_irreversible(p)) {
		/* Nothing irreversible: no confirmation needed. */
		memmove(&p->steps[confirm_at], &p->steps[confirm_at + 1],
			(size_t)(p->n_steps - confirm_at - 1) * sizeof p->steps[0]);
		p->n_steps--;
	}
out:
	if (p->n_refusals)
		return err_set_msg(e, ERR_CHECK, "refused: %s", p->refusals[0]);
	return 0;
}

int plan_check_fit(const struct plan *p, enum plan_source source, size_t size, err_t *e)
{
	for (int i = 0; i < p->n_steps; i++) {
		const struct plan_step *s = &p->steps[i];
		if (s->kind != PLAN_STEP_WRITE || s->source != source)
			continue;
		if (size > s->size)
			return err_set_msg(e, ERR_CHECK, "refused: the data for %s is %zu bytes, the partition "
					   "holds 0x%x", s->label, size, s->size);
		return 0;
	}
	return err_set_msg(e, ERR_CHECK, "the plan writes no such data");
}

const struct plan_step *plan_find_step(const struct plan *p, const char *id)
{
	for (int i = 0; i < p->n_steps; i++)
		if (!strcmp(p->steps[i].id, id))
			return &p->steps[i];
	return NULL;
}

bool plan_has_irreversible(const struct plan *p)
{
	for (int i = 0; i < p->n_steps; i++)
		if (p->steps[i].irreversible && !p->steps[i].done)
			return true;
	return false;
}

const char *plan_name_step_kind(enum plan_step_kind kind)
{
	static const char *const names[] = {
		[PLAN_STEP_DETECT] = "detect", [PLAN_STEP_GENERATE] = "generate",
		[PLAN_STEP_CONFIRM] = "confirm", [PLAN_STEP_BURN_KEY] = "burn-key",
		[PLAN_STEP_BURN_FE_ENABLE] = "burn-fe-enable", [PLAN_STEP_BURN_SECURE_BOOT] = "burn-secure-boot",
		[PLAN_STEP_WRITE] = "write", [PLAN_STEP_VERIFY_FLASH] = "verify-flash",
		[PLAN_STEP_VERIFY_EFUSE] = "verify-efuse", [PLAN_STEP_LOCKDOWN] = "lockdown",
		[PLAN_STEP_RESULT] = "result",
	};
	return (unsigned)kind < sizeof names / sizeof *names ? names[kind] : "?";
}

const char *plan_name_key_role(enum plan_key_role role)
{
	switch (role) {
	case PLAN_KEY_ECDSA_DAC: return "ecdsa-dac-key";
	case PLAN_KEY_DS_HMAC: return "ds-hmac-key";
	case PLAN_KEY_FLASH_ENC: return "flash-encryption-key";
	case PLAN_KEY_SB_DIGEST: return "secure-boot-digest";
	case PLAN_KEY_FE_AND_SB_DIGEST: return "fe-key-and-sb-digest";
	default: return "none";
	}
}

const char *plan_name_fe_scheme(enum plan_fe_scheme scheme)
{
	switch (scheme) {
	case PLAN_FE_ESP32_AES: return "esp32-aes256";
	case PLAN_FE_XTS_128: return "xts-aes-128";
	case PLAN_FE_XTS_128_DERIVED: return "xts-aes-128-derived";
	default: return "none";
	}
}
