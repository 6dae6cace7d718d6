/* loader: connect, identify, and keep a ROM loader session (see loader.h). */
#include "loader/loader.h"

#include <mbedtls/platform_util.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SPI_USR_COMMAND (1u << 31)
#define SPI_USR_MISO (1u << 28)
#define SPI_CMD_USR (1u << 18)

static void loader_note_recovery_failed(err_t *e, const err_t *re);

/* A dropped link, a chip reset or a lost reply: the chip is still there, so the session can be
 * recovered and a step that is safe to repeat done again. */
static bool loader_fail_recoverable(enum rom_fail f)
{
	return f == ROM_FAIL_LINK || f == ROM_FAIL_RESET || f == ROM_FAIL_TIMEOUT;
}

void loader_opts_init(struct loader_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->before = ROM_RESET_DEFAULT;
	o->after = ROM_AFTER_HARD_RESET;
}

static int loader_efuse_write(void *ctx, uint32_t addr, uint32_t value, uint32_t delay_us, err_t *e)
{
	return rom_cmd_write_reg(ctx, addr, value, 0xFFFFFFFFu, delay_us, e);
}

int loader_read_flash_id(rom_conn_t *c, const struct chip_desc *chip, uint32_t *id, err_t *e)
{
	const struct chip_spi_regs *s = &chip->spi;
	uint32_t user, user2, v = 0;
	if (rom_cmd_read_reg(c, s->base + s->user, &user, e) ||
	    rom_cmd_read_reg(c, s->base + s->user2, &user2, e))
		goto fail;
	/* set-up and start in one WRITE_REG: the ROM applies the groups in order, so the
	 * command register is written last, as with separate writes */
	const struct rom_reg_write setup[] = {
		{s->base + s->miso_dlen, 24 - 1, 0xFFFFFFFFu, 0},
		{s->base + s->user, SPI_USR_COMMAND | SPI_USR_MISO, 0xFFFFFFFFu, 0},
		{s->base + s->user2, (7u << 28) | 0x9F, 0xFFFFFFFFu, 0},
		{s->base + s->w0, 0, 0xFFFFFFFFu, 0},
		{s->base + s->cmd, SPI_CMD_USR, 0xFFFFFFFFu, 0},
	};
	if (rom_cmd_write_regs(c, setup, sizeof setup / sizeof setup[0], e))
		goto fail;
	int i;
	for (i = 0; i < 10; i++) {
		if (rom_cmd_read_reg(c, s->base + s->cmd, &v, e))
			goto fail;
		if (!(v & SPI_CMD_USR))
			break;
	}
	if (i == 10)
		return err_set_msg(e, ERR_DEVICE, "the SPI flash command did not complete (RDID)");
	const struct rom_reg_write restore[] = {
		{s->base + s->user, user, 0xFFFFFFFFu, 0},
		{s->base + s->user2, user2, 0xFFFFFFFFu, 0},
	};
	if (rom_cmd_read_reg(c, s->base + s->w0, &v, e) || rom_cmd_write_regs(c, restore, 2, e))
		goto fail;
	*id = v & 0xFFFFFF;
	return 0;
fail:
	return err_prepend_context(e, "reading the flash JEDEC id");
}

/* Over USB-Serial-JTAG the RTC watchdog keeps running in the ROM loader and would reset the
 * chip in the middle of a long write (chips.md §6). The writes before the read-modify-write
 * go out as one WRITE_REG, the two after it as another. */
static int loader_disable_watchdogs(rom_conn_t *c, const struct chip_desc *chip, err_t *e)
{
	const struct chip_wdt_regs *w = &chip->wdt;
	uint32_t conf;
	const struct rom_reg_write unlock[] = {
		{w->wdt_protect, CHIP_WDT_KEY, 0xFFFFFFFFu, 0},
		{w->wdt_config0, 0, 0xFFFFFFFFu, 0},
		{w->wdt_protect, 0, 0xFFFFFFFFu, 0},
		{w->swd_protect, w->swd_key, 0xFFFFFFFFu, 0},
	};
	if (rom_cmd_write_regs(c, unlock, 4, e) || rom_cmd_read_reg(c, w->swd_conf, &conf, e))
		return err_prepend_context(e, "disabling the RTC watchdog");
	const struct rom_reg_write feed[] = {
		{w->swd_conf, conf | (1u << w->swd_autofeed_bit), 0xFFFFFFFFu, 0},
		{w->swd_protect, 0, 0xFFFFFFFFu, 0},
	};
	if (rom_cmd_write_regs(c, feed, 2, e))
		return err_prepend_context(e, "disabling the RTC watchdog");
	return 0;
}

static int loader_attach_flash(rom_conn_t *c, struct loader_chip_info *info, err_t *e)
{
	uint32_t pins = 0;
	if (info->chip->type == CHIP_ESP32 && info->has_efuse)
		pins = chip_esp32_spi_attach_value(info->efuse.words[0][3], info->efuse.words[0][5]);
	if (rom_cmd_spi_attach(c, pins, e))
		return -1;
	if (!info->secure_download) {
		if (loader_read_flash_id(c, info->chip, &info->flash_id, e))
			return -1;
		info->flash_size = chip_flash_size_from_id(info->flash_id);
	}
	uint32_t size = info->flash_size;
	if (!size) {
		size = 4u << 20; /* what esptool assumes for an unknown id */
		info->flash_size_guessed = true;
	}
	return rom_cmd_spi_set_params(c, size, e);
}

/* Chip type, SDM and crystal: what a baud change needs. */
static int loader_identify(rom_conn_t *c, struct loader_chip_info *info, err_t *e)
{
	memset(info, 0, sizeof(*info));
	const struct chip_desc *chip = NULL;
	struct rom_security_info si;
	if (rom_cmd_get_security_info(c, &si, e) == 0) {
		info->has_secinfo = true;
		info->secinfo = si;
		info->secure_download = (si.flags & ROM_SECFLAG_SECURE_DOWNLOAD_ENABLE) != 0;
		if (si.has_chip_id) {
			chip = chip_find_by_secinfo_id(si.chip_id);
			if (!chip)
				return err_set_msg(e, ERR_DEVICE,
						   "unsupported chip (security-info chip id %u): espfab "
						   "handles ESP32, S2, S3, C2, C3, C6 and H2",
						   si.chip_id);
		} else {
			chip = chip_get_desc(CHIP_ESP32S2);
		}
	} else if (c->last_fail == ROM_FAIL_UNSUPPORTED) {
		uint32_t magic;
		int rc = rom_cmd_read_reg(c, CHIP_MAGIC_REG, &magic, e);
		/* The ESP32 ROM answers GET_SECURITY_INFO with a burst of rejects; frames of it
		 * held up on the line look like a reject of this READ_REG, which would make the
		 * chip an S2 in Secure Download Mode. Only a second reject, on a quiet line, is. */
		if (rc && c->last_fail == ROM_FAIL_UNSUPPORTED) {
			transport_sleep_ms(200);
			rom_conn_discard_input(c);
			rc = rom_cmd_read_reg(c, CHIP_MAGIC_REG, &magic, e);
		}
		if (rc == 0) {
			chip = chip_find_by_magic(magic);
			if (!chip)
				return err_set_msg(e, ERR_DEVICE,
						   "unknown chip (magic 0x%08x at 0x40001000; an ESP8266 "
						   "or an unsupported chip)",
						   magic);
		} else if (c->last_fail == ROM_FAIL_UNSUPPORTED) {
			chip = chip_get_desc(CHIP_ESP32S2);
			info->secure_download = true;
		} else {
			return err_prepend_context(e, "identifying the chip");
		}
	} else {
		return err_prepend_context(e, "identifying the chip");
	}
	info->chip = chip;
	c->chip = chip;
	c->secure_download = info->secure_download;
	if (info->secure_download)
		info->xtal_mhz = chip->xtal_mhz[0];
	else if (chip_read_crystal(chip, rom_conn_read_reg_cb, c, c->t->baud, &info->xtal_mhz, e))
		return -1;
	return 0;
}

/* Register words already read during this identification. The revision and MAC words sit
 * inside the eFuse blocks the dump reads next; at 115200 every READ_REG is ~2.5 ms of wire
 * time, so each word crosses the line once. Only used within one loader_read_details. */
struct loader_reg_cache {
	rom_conn_t *c;
	size_t n;
	struct {
		uint32_t addr, value;
	} w[16];
};

static int loader_cache_read(void *ctx, uint32_t addr, uint32_t *value, err_t *e)
{
	struct loader_reg_cache *rc = ctx;
	for (size_t i = 0; i < rc->n; i++)
		if (rc->w[i].addr == addr) {
			*value = rc->w[i].value;
			return 0;
		}
	if (rom_cmd_read_reg(rc->c, addr, value, e))
		return -1;
	if (rc->n < sizeof rc->w / sizeof rc->w[0]) {
		rc->w[rc->n].addr = addr;
		rc->w[rc->n].value = *value;
		rc->n++;
	}
	return 0;
}

/* What identification reads from the eFuse registers: revision, MAC and the dump. */
struct loader_fuse_pass {
	unsigned rev_major, rev_minor;
	uint8_t mac[6];
	bool has_mac_ext;
	uint8_t mac_ext[2];
	struct efuse_dump efuse;
};

static int loader_read_fuse_pass(rom_conn_t *c, const struct chip_desc *chip, struct loader_fuse_pass *p,
				 uint64_t t0, uint64_t *identified_ms, err_t *e)
{
	struct loader_reg_cache cache = {.c = c};
	memset(p, 0, sizeof *p);
	if (chip_read_revision(chip, loader_cache_read, &cache, &p->rev_major, &p->rev_minor, e) ||
	    chip_read_mac(chip, loader_cache_read, &cache, p->mac, e))
		return -1;
	uint32_t w1;
	if (loader_cache_read(&cache, chip->mac_reg + 4, &w1, e))
		return -1;
	p->has_mac_ext = chip_decode_mac_ext(chip, w1, p->mac_ext);
	if (identified_ms)
		*identified_ms = transport_now_ms() - t0;
	struct efuse_io io = {loader_cache_read, loader_efuse_write, &cache};
	return efuse_read_dump(&io, chip, &p->efuse, e);
}

static void loader_apply_fuse_pass(struct loader_chip_info *info, const struct loader_fuse_pass *p)
{
	info->rev_major = p->rev_major;
	info->rev_minor = p->rev_minor;
	memcpy(info->mac, p->mac, 6);
	info->has_mac = true;
	info->has_mac_ext = p->has_mac_ext;
	memcpy(info->mac_ext, p->mac_ext, 2);
	info->efuse = p->efuse;
	efuse_security_state(&info->efuse, &info->security);
	info->has_efuse = true;
	info->efuse_confirmed = false;
}

static bool loader_fuse_pass_equal(const struct loader_fuse_pass *a, const struct loader_fuse_pass *b)
{
	return a->rev_major == b->rev_major && a->rev_minor == b->rev_minor && !memcmp(a->mac, b->mac, 6) &&
	       a->has_mac_ext == b->has_mac_ext && !memcmp(a->mac_ext, b->mac_ext, 2) &&
	       !memcmp(a->efuse.words, b->efuse.words, sizeof a->efuse.words);
}

int loader_confirm_details(loader_t *l, err_t *e)
{
	if (l->info.secure_download || !l->info.has_efuse)
		return 0;
	struct loader_fuse_pass prev, cur;
	memset(&prev, 0, sizeof prev);
	prev.rev_major = l->info.rev_major;
	prev.rev_minor = l->info.rev_minor;
	memcpy(prev.mac, l->info.mac, 6);
	prev.has_mac_ext = l->info.has_mac_ext;
	memcpy(prev.mac_ext, l->info.mac_ext, 2);
	prev.efuse = l->info.efuse;
	for (int i = 0, recoveries = 0; i < 3; i++) {
		if (loader_read_fuse_pass(&l->conn, l->info.chip, &cur, 0, NULL, e)) {
			enum rom_fail f = l->conn.last_fail;
			if (recoveries++ >= 2 || !loader_fail_recoverable(f))
				return err_prepend_context(e, "reading the MAC and eFuses again");
			err_t re = {0};
			if (loader_recover(l, &re)) {
				loader_note_recovery_failed(e, &re);
				return -1;
			}
			*e = (err_t){0};
			i--;
			continue;
		}
		if (loader_fuse_pass_equal(&prev, &cur)) {
			loader_apply_fuse_pass(&l->info, &cur);
			l->info.efuse_confirmed = true;
			return 0;
		}
		prev = cur;
	}
	return err_set_msg(e, ERR_DEVICE,
			   "the chip's MAC and eFuse registers read differently on every pass: the link "
			   "is corrupting data; not provisioning");
}

/* Revision, MAC, eFuses, flash: many register reads, done after the baud switch. */
static int loader_read_details(rom_conn_t *c, struct loader_chip_info *info, uint64_t t0,
			       err_t *e)
{
	const struct chip_desc *chip = info->chip;
	if (!info->secure_download) {
		struct loader_fuse_pass p;
		if (loader_read_fuse_pass(c, chip, &p, t0, &info->identified_ms, e))
			return -1;
		loader_apply_fuse_pass(info, &p);
		if (chip->usb_serial_jtag && c->t->usb_vid == CHIP_USB_VID_ESPRESSIF &&
		    c->t->usb_pid == CHIP_USB_PID_SERIAL_JTAG && loader_disable_watchdogs(c, chip, e))
			return -1;
	} else {
		info->security.crypt_cnt = info->secinfo.flash_crypt_cnt;
		info->security.flash_encryption = __builtin_popcount(info->secinfo.flash_crypt_cnt) & 1;
		info->security.secure_boot = info->secinfo.flags & ROM_SECFLAG_SECURE_BOOT_EN;
		info->security.secure_download = true;
		info->identified_ms = transport_now_ms() - t0;
	}
	return loader_attach_flash(c, info, e);
}

int loader_detect_chip(rom_conn_t *c, struct loader_chip_info *info, err_t *e)
{
	uint64_t t0 = transport_now_ms();
	if (loader_identify(c, info, e))
		return -1;
	return loader_read_details(c, info, t0, e);
}

static int loader_switch_baud(loader_t *l, err_t *e)
{
	/* esptool leaves C2 in SDM at 115200 */
	if (!l->opts.baud || l->opts.baud == l->t->baud ||
	    (l->info.secure_download && l->info.chip->type == CHIP_ESP32C2))
		return 0;
	return rom_cmd_change_baud(&l->conn, l->info.xtal_mhz, l->opts.baud, e);
}

int loader_open(loader_t *l, const struct loader_opts *opts, err_t *e)
{
	memset(l, 0, sizeof(*l));
	l->opts = *opts;
	uint64_t t0 = transport_now_ms();
	l->efuse_io.read = rom_conn_read_reg_cb;
	l->efuse_io.write = loader_efuse_write;
	l->efuse_io.ctx = &l->conn;
	bool reopening = false;
	for (int attempt = 0;; attempt++) {
		if (transport_open(opts->port, 115200, &l->t, e)) {
			/* a USB-Serial-JTAG chip re-enumerates after its reset: the port comes back */
			if (reopening && attempt < 4) {
				transport_sleep_ms(500);
				continue;
			}
			return -1;
		}
		rom_conn_init(&l->conn, l->t);
		l->conn.cancel = opts->cancel;
		if (rom_connect(&l->conn, opts->before, opts->connect_attempts, e)) {
			if (l->conn.last_fail != ROM_FAIL_LINK || attempt >= 3)
				goto fail;
			reopening = true;
			rom_conn_free(&l->conn);
			transport_close(l->t);
			l->t = NULL;
			transport_sleep_ms(500);
			continue;
		}
		/* switch to the working baud as soon as the crystal is known, so the many
		 * register reads of identification already run fast */
		if (loader_identify(&l->conn, &l->info, e) == 0 &&
		    loader_switch_baud(l, e) == 0 && loader_read_details(&l->conn, &l->info, t0, e) == 0)
			break;
		/* The chip answered SYNC, so it is there: a reset, a dropped link or a lost reply
		 * during identification is worth a fresh start. */
		enum rom_fail f = l->conn.last_fail;
		if (attempt >= 3 || !loader_fail_recoverable(f))
			goto fail;
		reopening = f == ROM_FAIL_LINK;
		rom_conn_free(&l->conn);
		transport_close(l->t);
		l->t = NULL;
		transport_sleep_ms(200);
	}
	l->info.connect_ms = transport_now_ms() - t0;
	return 0;
fail:
	rom_conn_free(&l->conn);
	transport_close(l->t);
	l->t = NULL;
	return -1;
}

void loader_close(loader_t *l)
{
	if (!l->t)
		return;
	err_t e = {0};
	rom_reset_after(&l->conn, l->opts.after, &e);
	rom_conn_free(&l->conn);
	transport_close(l->t);
	l->t = NULL;
}

int loader_resync(loader_t *l, err_t *e)
{
	/* after a reset the ROM listens at 115200 again */
	if (l->t->baud != 115200 && transport_set_baud(l->t, 115200, e))
		return -1;
	enum rom_reset_mode mode = l->opts.before;
	if (rom_connect(&l->conn, mode == ROM_RESET_USB_JTAG ? ROM_RESET_USB_JTAG : ROM_RESET_NONE, 3, e))
		return err_prepend_context(e, "reconnecting");
	if (loader_attach_flash(&l->conn, &l->info, e))
		return -1;
	if (l->opts.baud && l->opts.baud != 115200 &&
	    !(l->info.secure_download && l->info.chip->type == CHIP_ESP32C2) &&
	    rom_cmd_change_baud(&l->conn, l->info.xtal_mhz, l->opts.baud, e))
		return -1;
	return 0;
}

/* Appends "(then recovery failed: ...)" to the first failure's message. */
static void loader_note_recovery_failed(err_t *e, const err_t *re)
{
	char first[400];
	size_t fl = strnlen(e->msg, sizeof first - 1);
	memcpy(first, e->msg, fl);
	first[fl] = '\0';
	err_set_msg(e, e->code ? e->code : ERR_DEVICE, "%s (then recovery failed: %.500s)", first, re->msg);
}

/* Reading the eFuses is safe to repeat: when the link drops, the chip resets or stops answering
 * in the middle, the session is recovered and the read done again (at most twice, as a burn). */
static int loader_read_efuse(loader_t *l, struct efuse_dump *d, bool stable, err_t *e)
{
	for (int attempt = 0;; attempt++) {
		int rc = stable ? efuse_read_dump_stable(&l->efuse_io, l->info.chip, d, e)
				: efuse_read_dump(&l->efuse_io, l->info.chip, d, e);
		enum rom_fail f = l->conn.last_fail;
		if (rc == 0 || attempt >= 2 || !loader_fail_recoverable(f))
			return rc;
		err_t re = {0};
		if (loader_recover(l, &re)) {
			loader_note_recovery_failed(e, &re);
			return -1;
		}
		*e = (err_t){0};
	}
}

int loader_refresh_efuse(loader_t *l, err_t *e)
{
	if (l->info.secure_download)
		return err_set_msg(e, ERR_DEVICE,
				   "the chip is in Secure Download Mode: eFuses cannot be read");
	l->info.efuse_confirmed = false;
	if (loader_read_efuse(l, &l->info.efuse, false, e))
		return -1;
	efuse_security_state(&l->info.efuse, &l->info.security);
	l->info.has_efuse = true;
	return 0;
}

int loader_confirm_efuse(loader_t *l, err_t *e)
{
	if (l->info.secure_download)
		return err_set_msg(e, ERR_DEVICE,
				   "the chip is in Secure Download Mode: eFuses cannot be read");
	if (l->info.has_efuse && l->info.efuse_confirmed)
		return 0;
	l->info.efuse_confirmed = false;
	if (loader_read_efuse(l, &l->info.efuse, true, e))
		return -1;
	efuse_security_state(&l->info.efuse, &l->info.security);
	l->info.has_efuse = true;
	l->info.efuse_confirmed = true;
	return 0;
}

/* A burn's verified final state (two agreeing reads) becomes the session's eFuse state. */
static void loader_take_efuse(loader_t *l, const struct efuse_dump *d)
{
	l->info.efuse = *d;
	efuse_security_state(&l->info.efuse, &l->info.security);
	l->info.has_efuse = true;
	l->info.efuse_confirmed = true;
}

const char *loader_describe_chip(const struct loader_chip_info *info, char *out, size_t n)
{
	if (info->secure_download)
		snprintf(out, n, "%s (Secure Download Mode)", info->chip->name);
	else
		snprintf(out, n, "%s (revision v%u.%u)", info->chip->name, info->rev_major,
			 info->rev_minor);
	return out;
}

int loader_plan_key(loader_t *l, struct efuse_burn_req *req, struct efuse_key_plan *plan,
		    err_t *e)
{
	if (l->info.secure_download)
		return err_set_msg(e, ERR_DEVICE,
				   "the chip is in Secure Download Mode: eFuses cannot be burned "
				   "from the ROM loader");
	req->xtal_mhz = l->info.xtal_mhz;
	req->rev_major = l->info.rev_major;
	if (loader_confirm_efuse(l, e))
		return -1;
	return efuse_plan_key(l->info.chip, &l->info.efuse, req, plan, e);
}

int loader_recover(loader_t *l, err_t *e)
{
	if (l->conn.last_fail == ROM_FAIL_LINK) {
		transport_t *nt = NULL;
		transport_sleep_ms(200);
		if (transport_open(l->opts.port, 115200, &nt, e))
			return err_prepend_context(e, "the link dropped and could not be reopened");
		transport_close(l->t);
		l->t = nt;
		l->conn.t = nt;
	}
	l->conn.rx_pos = l->conn.rx_len = 0;
	slip_decoder_reset(&l->conn.dec);
	return loader_resync(l, e);
}

int loader_burn_key(loader_t *l, const struct efuse_key_plan *plan, err_t *e)
{
	if (plan->chip != l->info.chip)
		return err_set_msg(e, ERR_CHECK, "the plan was made for another chip");
	struct efuse_key_plan p = *plan;
	struct efuse_dump after;
	int rc;
	l->info.efuse_confirmed = false;
	for (int attempt = 0;; attempt++) {
		rc = efuse_burn_plan_dump(&l->efuse_io, &p, &after, e);
		enum rom_fail f = l->conn.last_fail;
		if (rc == 0 || attempt >= 2 || !loader_fail_recoverable(f))
			break;
		err_t re = {0};
		struct efuse_dump d;
		if (loader_recover(l, &re) || efuse_reload(&l->efuse_io, l->info.chip, &re) ||
		    efuse_read_dump_stable(&l->efuse_io, l->info.chip, &d, &re) ||
		    efuse_plan_refresh(&p, &d, &re)) {
			loader_note_recovery_failed(e, &re);
			break;
		}
	}
	mbedtls_platform_zeroize(&p, sizeof p);
	if (rc == 0) {
		loader_take_efuse(l, &after);
		return 0;
	}
	/* a failed burn: the session's eFuse state is whatever reads back now */
	err_t e2 = {0};
	loader_refresh_efuse(l, &e2);
	return rc;
}

int loader_plan_fields(loader_t *l, const struct efuse_field_write *w, size_t n,
		       struct efuse_field_plan *plan, err_t *e)
{
	if (l->info.secure_download)
		return err_set_msg(e, ERR_DEVICE,
				   "the chip is in Secure Download Mode: eFuses cannot be burned "
				   "from the ROM loader");
	if (loader_confirm_efuse(l, e))
		return -1;
	return efuse_plan_fields(l->info.chip, &l->info.efuse, w, n, plan, e);
}

int loader_burn_fields(loader_t *l, struct efuse_field_plan *plan, err_t *e)
{
	if (plan->chip != l->info.chip)
		return err_set_msg(e, ERR_CHECK, "the plan was made for another chip");
	bool cut = false, have_after = false;
	struct efuse_dump after;
	int rc;
	l->info.efuse_confirmed = false;
	for (int attempt = 0;; attempt++) {
		rc = efuse_burn_fields_dump(&l->efuse_io, plan, &cut, &after, &have_after, e);
		enum rom_fail f = l->conn.last_fail;
		if (rc == 0 || attempt >= 2 || !loader_fail_recoverable(f))
			break;
		err_t re = {0};
		if (loader_recover(l, &re)) {
			loader_note_recovery_failed(e, &re);
			break;
		}
		*e = (err_t){0};
	}
	if (rc)
		return -1;
	if (cut) {
		struct rom_security_info si;
		if (rom_cmd_get_security_info(&l->conn, &si, e))
			return err_prepend_context(e, "checking Secure Download Mode after the burn");
		if (!(si.flags & ROM_SECFLAG_SECURE_DOWNLOAD_ENABLE))
			return err_set_msg(e, ERR_DEVICE, "the ROM does not report Secure Download "
							  "Mode after burning ENABLE_SECURITY_DOWNLOAD");
		l->info.secure_download = true;
		l->info.has_efuse = false;
		l->conn.secure_download = true;
		return 0;
	}
	if (have_after) {
		loader_take_efuse(l, &after);
		return 0;
	}
	return loader_refresh_efuse(l, e);
}

/* Matches "--name", "-name", "--name=value"; returns the inline value or "" when matched. */
static const char *opt_match(const char *arg, const char *name)
{
	const char *a = arg;
	if (a[0] != '-')
		return NULL;
	a += a[1] == '-' ? 2 : 1;
	size_t n = strlen(name);
	if (strncmp(a, name, n) != 0)
		return NULL;
	if (a[n] == '\0')
		return "";
	if (a[n] == '=')
		return a + n + 1;
	return NULL;
}

int loader_parse_baud(const char *val, unsigned *baud, err_t *e)
{
	char *end;
	unsigned long b = strtoul(val, &end, 10);
	if (*end || b < 9600 || b > 5000000)
		return err_set_msg(e, ERR_USAGE, "--baud %s: not a baud rate", val);
	*baud = (unsigned)b;
	return 0;
}

int loader_opts_parse_arg(struct loader_opts *o, int argc, char **argv, int *i, err_t *e)
{
	static const char *names[] = {"port", "p", "baud", "b", "before", "after",
				      "connect-attempts"};
	const char *arg = argv[*i], *val = NULL;
	size_t k;
	for (k = 0; k < sizeof names / sizeof names[0]; k++)
		if ((val = opt_match(arg, names[k])))
			break;
	if (!val)
		return 0;
	if (!*val) {
		if (*i + 1 >= argc)
			return err_set_msg(e, ERR_USAGE, "%s needs a value", arg);
		val = argv[++*i];
	}
	(*i)++;
	const char *name = names[k];
	if (!strcmp(name, "port") || !strcmp(name, "p")) {
		o->port = val;
	} else if (!strcmp(name, "baud") || !strcmp(name, "b")) {
		if (loader_parse_baud(val, &o->baud, e))
			return -1;
	} else if (!strcmp(name, "before")) {
		if (rom_reset_mode_parse(val, &o->before))
			return err_set_msg(e, ERR_USAGE,
					   "--before %s: expected default-reset, usb-reset or no-reset", val);
	} else if (!strcmp(name, "after")) {
		if (rom_after_parse(val, &o->after))
			return err_set_msg(e, ERR_USAGE, "--after %s: expected hard-reset or no-reset", val);
	} else {
		char *end;
		unsigned long n = strtoul(val, &end, 10);
		if (*end || n == 0 || n > 100)
			return err_set_msg(e, ERR_USAGE, "--connect-attempts %s: 1..100", val);
		o->connect_attempts = (unsigned)n;
	}
	return 1;
}
