#include "memdev.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int memdev_detect(struct flow_device *d, struct plan_chip *chip, err_t *e)
{
	(void)e;
	struct memdev *m = (struct memdev *)d;
	m->detects++;
	*chip = m->chip;
	return 0;
}

static int memdev_burn_key(struct flow_device *d, int block, uint8_t purpose, const uint8_t *key,
			   size_t len, bool read_protect, err_t *e)
{
	struct memdev *m = (struct memdev *)d;
	m->burns++;
	if (block < 0 || block >= PLAN_MAX_KEY_BLOCKS || !m->chip.key[block].empty || len > 32)
		return err_set_msg(e, ERR_DEVICE, "fake: block %d not burnable", block);
	memcpy(m->key_bytes[block], key, len);
	m->chip.key[block].empty = false;
	m->chip.key[block].purpose = purpose;
	m->chip.key[block].rd_dis = read_protect;
	m->chip.key[block].wr_dis = true;
	return 0;
}

static int memdev_burn_fe(struct flow_device *d, bool release, err_t *e)
{
	(void)e;
	struct memdev *m = (struct memdev *)d;
	m->burns++;
	m->chip.crypt_cnt = release ? 7 : 1;
	return 0;
}

static int memdev_burn_sb(struct flow_device *d, err_t *e)
{
	(void)e;
	struct memdev *m = (struct memdev *)d;
	m->burns++;
	m->chip.secure_boot = true;
	m->chip.rd_dis_locked = true;
	return 0;
}

static int memdev_lockdown(struct flow_device *d, err_t *e)
{
	(void)e;
	((struct memdev *)d)->chip.secure_download = true;
	return 0;
}

static int memdev_write(struct flow_device *d, uint32_t off, const uint8_t *data, size_t len,
			const struct flow_progress *p, err_t *e)
{
	struct memdev *m = (struct memdev *)d;
	m->writes++;
	if (m->fail_write_at && m->writes == m->fail_write_at)
		return err_set_msg(e, ERR_DEVICE, "fake: link lost during write");
	if ((uint64_t)off + len > m->chip.flash_size)
		return err_set_msg(e, ERR_DEVICE, "fake: write past the end");
	/* whole sectors are erased first, as the ROM does */
	uint32_t s = off & ~0xFFFu, end = (uint32_t)((off + len + 0xFFF) & ~0xFFFu);
	memset(m->flash + s, 0xFF, end - s);
	memcpy(m->flash + off, data, len);
	if (p && p->fn)
		p->fn(p->ctx, len, len);
	return 0;
}

static int memdev_read(struct flow_device *d, uint32_t off, size_t len, buf_t *out,
		       const struct flow_progress *p, err_t *e)
{
	struct memdev *m = (struct memdev *)d;
	m->reads++;
	if ((uint64_t)off + len > m->chip.flash_size)
		return err_set_msg(e, ERR_DEVICE, "fake: read past the end");
	out->len = 0;
	buf_append_bytes(out, m->flash + off, len);
	if (p && p->fn)
		p->fn(p->ctx, len, len);
	return 0;
}

static void memdev_close(struct flow_device *d)
{
	(void)d;
}

static const struct flow_device_ops memdev_ops = {
	memdev_detect, memdev_burn_key, memdev_burn_fe, memdev_burn_sb,
	memdev_lockdown, memdev_write, memdev_read, memdev_close,
};

void memdev_init(struct memdev *m, const char *chip, unsigned rev_major)
{
	memset(m, 0, sizeof *m);
	m->base.ops = &memdev_ops;
	snprintf(m->chip.name, sizeof m->chip.name, "%s", chip);
	m->chip.rev_major = rev_major;
	static const uint8_t mac[6] = {0x60, 0x55, 0xf9, 0x00, 0x00, 0x01};
	memcpy(m->chip.mac, mac, 6);
	m->chip.flash_size = 8u << 20;
	m->chip.has_ecdsa = !strcmp(chip, "esp32h2");
	for (int b = 0; b < PLAN_MAX_KEY_BLOCKS; b++)
		m->chip.key[b].empty = true;
	m->flash = malloc(m->chip.flash_size);
	if (!m->flash)
		abort();
	memset(m->flash, 0xFF, m->chip.flash_size);
}

void memdev_free(struct memdev *m)
{
	free(m->flash);
	m->flash = NULL;
}
