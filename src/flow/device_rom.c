#include "flow/device_rom.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/platform_util.h>

#include "core/buf.h"
#include "loader/chip.h"
#include "loader/efuse.h"
#include "loader/flasher.h"
#include "loader/loader.h"

struct device_rom {
	struct flow_device base;
	loader_t l;
	const struct flow_progress *progress;
};

static struct device_rom *device_rom_cast(struct flow_device *d)
{
	return (struct device_rom *)d;
}

static int device_rom_detect(struct flow_device *d, struct plan_chip *chip, err_t *e)
{
	struct device_rom *r = device_rom_cast(d);
	const struct loader_chip_info *info = &r->l.info;
	memset(chip, 0, sizeof *chip);
	snprintf(chip->name, sizeof chip->name, "%s", info->chip->id);
	chip->rev_major = info->rev_major;
	chip->rev_minor = info->rev_minor;
	memcpy(chip->mac, info->mac, 6);
	chip->flash_size = info->flash_size;
	chip->has_ecdsa = info->chip->has_ecdsa;
	chip->secure_download = info->secure_download;
	if (!info->has_efuse) {
		/* Secure Download Mode: the plan refuses on secure_download. */
		return 0;
	}
	const struct efuse_layout *lay = info->chip->efuse;
	int n = lay->n_key_blocks < PLAN_MAX_KEY_BLOCKS ? lay->n_key_blocks : PLAN_MAX_KEY_BLOCKS;
	for (int b = 0; b < n; b++) {
		struct efuse_key_status ks;
		efuse_key_status(&info->efuse, lay->first_key_block + b, &ks);
		chip->key[b].empty = ks.empty;
		chip->key[b].rd_dis = ks.read_protected;
		chip->key[b].wr_dis = ks.write_protected;
		/* ESP32/C2 report pseudo purposes for their fixed blocks; only GEN2 codes compare. */
		chip->key[b].purpose = (lay->family == EFUSE_FAMILY_GEN2 && ks.purpose >= 0 && ks.purpose < 16)
					       ? (uint8_t)ks.purpose
					       : (ks.empty ? 0 : 0xFF);
		/* C2's one key block carries a pseudo purpose; map it back to the plan's purpose
		 * numbers, the inverse of device_rom_purpose, so the readback check compares. */
		if (lay->family == EFUSE_FAMILY_C2 && !ks.empty)
			chip->key[b].purpose = ks.purpose == KP_XTS_AES_128_KEY		 ? 1
					       : ks.purpose == KP_C2_XTS_AES_128_KEY_DERIVED ? 2
					       : ks.purpose == KP_C2_SECURE_BOOT_DIGEST	 ? 3
											 : 0xFF;
	}
	chip->crypt_cnt = info->security.crypt_cnt;
	chip->secure_boot = info->security.secure_boot;
	chip->secure_download = info->security.secure_download || info->secure_download;
	chip->rd_dis_locked = info->security.rd_dis_locked;
	(void)e;
	return 0;
}

/* The eFuse module's purpose for a plan step's purpose on this chip. */
static int device_rom_purpose(const struct chip_desc *chip, uint8_t purpose, int block, err_t *e)
{
	if (chip->type == CHIP_ESP32)
		return block == 0 ? KP_ESP32_FLASH_ENCRYPTION : KP_ESP32_SECURE_BOOT_V2;
	if (!strcmp(chip->id, "esp32c2")) {
		switch (purpose) {
		case 1: return KP_XTS_AES_128_KEY;
		case 2: return KP_C2_XTS_AES_128_KEY_DERIVED;
		case 3: return KP_C2_SECURE_BOOT_DIGEST;
		default: return err_set_msg(e, ERR_CHECK, "ESP32-C2 key purpose %u unknown", purpose);
		}
	}
	return purpose;
}

static int device_rom_burn_key(struct flow_device *d, int block, uint8_t purpose, const uint8_t *key, size_t len,
			       bool read_protect, err_t *e)
{
	struct device_rom *r = device_rom_cast(d);
	const struct chip_desc *chip = r->l.info.chip;
	const struct efuse_layout *lay = chip->efuse;
	if (block < 0 || block >= lay->n_key_blocks)
		return err_set_msg(e, ERR_CHECK, "key block %d does not exist on %s", block, chip->id);
	int kp = device_rom_purpose(chip, purpose, block, e);
	if (kp < 0)
		return -1;
	struct efuse_burn_req req;
	memset(&req, 0, sizeof req);
	req.chip_name = chip->id;
	req.block = lay->blocks[lay->first_key_block + block].name;
	req.key = key;
	req.key_len = len;
	req.purpose = kp;
	req.read_protect = read_protect;
	/* C2 shared block: the derived key's 16 bytes, then the secure-boot digest for the upper
	 * half, burned in the same Reed-Solomon-coded operation */
	if (kp == KP_C2_XTS_AES_128_KEY_DERIVED && len > 16) {
		req.key_len = 16;
		req.sb_digest = key + 16;
		req.sb_digest_len = len - 16;
	}
	struct efuse_key_plan plan;
	/* loader_burn_key leaves the verified final eFuse state in the session: no re-read */
	int rc = loader_plan_key(&r->l, &req, &plan, e) || loader_burn_key(&r->l, &plan, e) ? -1 : 0;
	mbedtls_platform_zeroize(&plan, sizeof plan);
	return rc;
}

static void device_rom_progress(void *ctx, const struct flash_progress *p)
{
	struct device_rom *r = ctx;
	if (r->progress && r->progress->fn)
		r->progress->fn(r->progress->ctx, p->done, p->total);
}

static int device_rom_write(struct flow_device *d, uint32_t offset, const uint8_t *data, size_t len,
			    const struct flow_progress *p, err_t *e)
{
	struct device_rom *r = device_rom_cast(d);
	struct flash_write_opts o;
	flash_write_opts_init(&o);
	o.progress = device_rom_progress;
	o.progress_ctx = r;
	r->progress = p;
	struct flash_region reg = {offset, data, len};
	int rc = flasher_write(&r->l, &reg, 1, &o, NULL, e);
	r->progress = NULL;
	return rc;
}

static int device_rom_read(struct flow_device *d, uint32_t offset, size_t len, buf_t *out,
			   const struct flow_progress *p, err_t *e)
{
	struct device_rom *r = device_rom_cast(d);
	r->progress = p;
	out->len = 0;
	int rc = flasher_read(&r->l, offset, len, out, device_rom_progress, r, e);
	r->progress = NULL;
	return rc;
}

static void device_rom_close(struct flow_device *d)
{
	struct device_rom *r = device_rom_cast(d);
	loader_close(&r->l);
	free(r);
}

/* BLOCK0 field steps: the writes are computed from a fresh read of the eFuses, so a step that
 * was already (partly) burned only burns what is missing. */
static int device_rom_burn_fields(struct device_rom *r,
				  int (*writes)(struct device_rom *, bool, struct efuse_field_write *,
						size_t *, err_t *),
				  bool release, err_t *e)
{
	struct efuse_field_write w[EFUSE_MAX_FIELD_WRITES];
	size_t n = 0;
	struct efuse_field_plan plan;
	if (loader_confirm_efuse(&r->l, e) || writes(r, release, w, &n, e) ||
	    loader_plan_fields(&r->l, w, n, &plan, e))
		return -1;
	if (plan.nothing_to_do)
		return 0;
	return loader_burn_fields(&r->l, &plan, e);
}

static int device_rom_fe_writes(struct device_rom *r, bool release, struct efuse_field_write *w,
				size_t *n, err_t *e)
{
	return efuse_writes_fe_enable(&r->l.info.efuse, release, w, n, e);
}

static int device_rom_sb_writes(struct device_rom *r, bool release, struct efuse_field_write *w,
				size_t *n, err_t *e)
{
	(void)release;
	return efuse_writes_secure_boot(&r->l.info.efuse, r->l.info.rev_major, w, n, e);
}

static int device_rom_lock_writes(struct device_rom *r, bool release, struct efuse_field_write *w,
				size_t *n, err_t *e)
{
	(void)release;
	return efuse_writes_lockdown(&r->l.info.efuse, r->l.info.rev_major, w, n, e);
}

static int device_rom_burn_fe_enable(struct flow_device *d, bool release, err_t *e)
{
	return device_rom_burn_fields(device_rom_cast(d), device_rom_fe_writes, release, e);
}

static int device_rom_burn_secure_boot(struct flow_device *d, err_t *e)
{
	return device_rom_burn_fields(device_rom_cast(d), device_rom_sb_writes, false, e);
}

static int device_rom_lockdown(struct flow_device *d, err_t *e)
{
	struct device_rom *r = device_rom_cast(d);
	if (r->l.info.secure_download)
		return 0; /* already in Secure Download Mode: nothing left to burn */
	return device_rom_burn_fields(r, device_rom_lock_writes, false, e);
}

static const struct flow_device_ops device_rom_ops = {
	.detect = device_rom_detect,
	.burn_key = device_rom_burn_key,
	.burn_fe_enable = device_rom_burn_fe_enable,
	.burn_secure_boot = device_rom_burn_secure_boot,
	.lockdown = device_rom_lockdown,
	.write_flash = device_rom_write,
	.read_flash = device_rom_read,
	.close = device_rom_close,
};

int device_rom_open(const char *port, struct flow_device **out, err_t *e)
{
	return device_rom_open_baud(port, 0, out, e);
}

int device_rom_open_baud(const char *port, unsigned baud, struct flow_device **out, err_t *e)
{
	struct device_rom *r = mem_alloc_zeroed(sizeof *r);
	r->base.ops = &device_rom_ops;
	struct loader_opts o;
	loader_opts_init(&o);
	o.port = port;
	o.baud = baud;
	bool opened = loader_open(&r->l, &o, e) == 0;
	/* the run keys the journal on the MAC and plans burns on the eFuse state: confirmed */
	if (!opened || loader_confirm_details(&r->l, e)) {
		if (opened)
			loader_close(&r->l);
		free(r);
		*out = NULL;
		if (e->code == ERR_OK)
			e->code = ERR_DEVICE;
		return -1;
	}
	*out = &r->base;
	return 0;
}

