/* sim_rom: ROM download loader model (see sim_rom.h). */
#include "sim/sim_rom.h"

#include <stdio.h>
#include <string.h>

#include <mbedtls/aes.h>
#include <mbedtls/md5.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/sha256.h>

#include "core/hex.h"

void sim_rom_out_clear(struct sim_rom_out *out)
{
	for (size_t i = 0; i < sizeof(out->pkt) / sizeof(out->pkt[0]); i++)
		out->pkt[i].len = 0;
	out->n_pkt = 0;
	out->busy_us = 0;
	out->new_baud = 0;
	out->left_loader = false;
	out->status = out->error = 0;
	out->rejected = out->ignored = false;
}

void sim_rom_out_free(struct sim_rom_out *out)
{
	for (size_t i = 0; i < sizeof(out->pkt) / sizeof(out->pkt[0]); i++)
		buf_free_data(&out->pkt[i]);
}

void sim_rom_init(sim_rom_t *r, const struct chip_desc *chip, unsigned xtal_mhz, sim_flash_t *flash,
		  sim_efuse_t *efuse, bool throttle)
{
	memset(r, 0, sizeof(*r));
	r->chip = chip;
	r->xtal_mhz = xtal_mhz;
	r->flash = flash;
	r->efuse = efuse;
	r->throttle = throttle;
	sim_regs_init(&r->regs, chip, efuse, flash, xtal_mhz);
	sim_rom_reset(r);
}

static void rom_end_inflate(sim_rom_t *r)
{
	if (r->zs_live)
		inflateEnd(&r->zs);
	r->zs_live = false;
	r->zs_done = false;
}

void sim_rom_free(sim_rom_t *r)
{
	rom_end_inflate(r);
	sim_regs_free(&r->regs);
}

void sim_rom_reset(sim_rom_t *r)
{
	rom_end_inflate(r);
	r->synced = false;
	r->running_app = false;
	r->spi_attached = false;
	r->flash_param_size = SIM_ROM_DEFAULT_FLASH_PARAM;
	r->last_op = 0;
	r->mode = SIM_ROM_IDLE;
	r->dl_seq = 0;
	sim_regs_reset(&r->regs);
	sim_efuse_reset(r->efuse);
}

/* The ROM reads its security configuration from the eFuse read registers. */
static uint32_t rom_shadow_field(const sim_rom_t *r, enum efuse_field_id f)
{
	const struct efuse_field_desc *d = chip_efuse_field(r->chip, f);
	if (!d || !d->width)
		return 0;
	uint64_t w = r->efuse->shadow[d->block][d->word];
	if (d->bit + d->width > 32 && d->word + 1 < 8)
		w |= (uint64_t)r->efuse->shadow[d->block][d->word + 1] << 32;
	return (uint32_t)((w >> d->bit) & ((1ull << d->width) - 1));
}

bool sim_rom_in_sdm(const sim_rom_t *r)
{
	return r->chip->type != CHIP_ESP32 && rom_shadow_field(r, EF_ENABLE_SECURITY_DOWNLOAD);
}

bool sim_rom_download_disabled(const sim_rom_t *r)
{
	if (r->chip->type == CHIP_ESP32)
		return rom_shadow_field(r, EF_UART_DOWNLOAD_DIS) != 0;
	return rom_shadow_field(r, EF_DIS_DOWNLOAD_MODE) != 0;
}

const char *sim_rom_boot_banner(const sim_rom_t *r)
{
	switch (r->chip->type) {
	case CHIP_ESP32:
		return "ets Jun  8 2016 00:22:57\r\n\r\nrst:0x1 (POWERON_RESET),boot:0x3 "
		       "(DOWNLOAD_BOOT(UART0/UART1/SDIO_REI_REO_V2))\r\nwaiting for download\r\n";
	case CHIP_ESP32S2:
		return "ESP-ROM:esp32s2-rc4-20191025\r\nBuild:Oct 25 2019\r\nrst:0x1 (POWERON),boot:0x0 "
		       "(DOWNLOAD(USB/UART0/1))\r\nwaiting for download\r\n";
	case CHIP_ESP32S3:
		return "ESP-ROM:esp32s3-20210327\r\nBuild:Mar 27 2021\r\nrst:0x1 (POWERON),boot:0x0 "
		       "(DOWNLOAD(USB/UART0))\r\nwaiting for download\r\n";
	case CHIP_ESP32C2:
		return "ESP-ROM:esp8684-api2-20220127\r\nBuild:Jan 27 2022\r\nrst:0x1 (POWERON),boot:0x4 "
		       "(DOWNLOAD(UART0))\r\nwaiting for download\r\n";
	case CHIP_ESP32C3:
		return "ESP-ROM:esp32c3-api1-20210207\r\nBuild:Feb  7 2021\r\nrst:0x1 (POWERON),boot:0x5 "
		       "(DOWNLOAD(USB/UART0/1))\r\nwaiting for download\r\n";
	case CHIP_ESP32C6:
		return "ESP-ROM:esp32c6-20220919\r\nBuild:Sep 19 2022\r\nrst:0x1 (POWERON),boot:0x4 "
		       "(DOWNLOAD(USB/UART0/SDIO_FEI_FEO))\r\nwaiting for download\r\n";
	case CHIP_ESP32H2:
		return "ESP-ROM:esp32h2-20221101\r\nBuild:Nov  1 2022\r\nrst:0x1 (POWERON),boot:0x4 "
		       "(DOWNLOAD(USB/UART0))\r\nwaiting for download\r\n";
	default:
		return "waiting for download\r\n";
	}
}

static void rom_reply(struct sim_rom_out *out, uint8_t op, uint32_t value, const uint8_t *payload,
		      size_t payload_len, uint8_t status, uint8_t error)
{
	if (out->n_pkt == 0) {
		out->status = status;
		out->error = error;
	}
	buf_t *b = &out->pkt[out->n_pkt++];
	b->len = 0;
	rom_proto_encode_response(b, op, value, payload, payload_len, status, error);
}

static void rom_fail(struct sim_rom_out *out, uint8_t op, uint8_t error)
{
	rom_reply(out, op, 0, NULL, 0, 1, error);
}

static void rom_ok(struct sim_rom_out *out, uint8_t op)
{
	rom_reply(out, op, 0, NULL, 0, 0, 0);
}

/* The unknown-command answer: echoes the last recognised command, not the rejected one, with
 * status 1 / error 0x05, and repeats it (rom-protocol.md §2). */
static void rom_reject(sim_rom_t *r, struct sim_rom_out *out)
{
	for (int i = 0; i < SIM_ROM_REJECT_REPEATS; i++)
		rom_reply(out, r->last_op, 0, NULL, 0, 1, ROM_ERR_BAD_MESSAGE);
	out->rejected = true;
}

static uint32_t rom_u32(const struct rom_request *q, size_t word)
{
	return rom_proto_get_u32(q->data + 4 * word);
}

/* Flash range check against what the ROM believes (SPI_SET_PARAMS) and the part itself. */
static bool rom_flash_range_ok(const sim_rom_t *r, uint32_t addr, uint64_t len)
{
	uint64_t limit = r->flash_param_size < r->flash->size ? r->flash_param_size : r->flash->size;
	return (uint64_t)addr + len <= limit;
}

static void rom_sync(sim_rom_t *r, const struct rom_request *q, struct sim_rom_out *out)
{
	static const uint8_t head[4] = {0x07, 0x07, 0x12, 0x20};
	bool ok = q->data_len == ROM_SYNC_DATA_LEN && memcmp(q->data, head, 4) == 0;
	for (size_t i = 4; ok && i < ROM_SYNC_DATA_LEN; i++)
		ok = q->data[i] == 0x55;
	if (!ok) {
		/* The auto-baud detector does not lock on anything but the sync pattern. */
		out->ignored = true;
		return;
	}
	r->synced = true;
	for (int i = 0; i < SIM_ROM_SYNC_REPLIES; i++)
		rom_reply(out, ROM_OP_SYNC, SIM_ROM_SYNC_VALUE, NULL, 0, 0, 0);
}

static void rom_read_reg(sim_rom_t *r, const struct rom_request *q, int64_t now_us,
			 struct sim_rom_out *out)
{
	if (q->data_len != 4) {
		rom_fail(out, q->op, ROM_ERR_BAD_MESSAGE);
		return;
	}
	uint32_t v = sim_regs_read(&r->regs, rom_u32(q, 0), now_us);
	rom_reply(out, q->op, v, NULL, 0, 0, 0);
}

static void rom_write_reg(sim_rom_t *r, const struct rom_request *q, int64_t now_us,
			  struct sim_rom_out *out)
{
	if (q->data_len == 0 || q->data_len % 16) {
		rom_fail(out, q->op, ROM_ERR_BAD_MESSAGE);
		return;
	}
	int64_t t = now_us;
	for (size_t g = 0; g < q->data_len / 16u; g++) {
		uint32_t addr = rom_u32(q, 4 * g), value = rom_u32(q, 4 * g + 1);
		uint32_t mask = rom_u32(q, 4 * g + 2), delay = rom_u32(q, 4 * g + 3);
		uint32_t old = sim_regs_read(&r->regs, addr, t);
		err_t e = {0};
		if (sim_regs_write(&r->regs, addr, (old & ~mask) | (value & mask), t, &e)) {
			rom_fail(out, q->op, ROM_ERR_FAILED);
			return;
		}
		if (delay) {
			out->busy_us += delay;
			if (t >= 0)
				t += delay;
		}
	}
	rom_ok(out, q->op);
}

/* ---- flash encryption for FLASH_BEGIN's encrypt flag (flash-encryption.md §3) ---- */

static void rom_reverse(uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n / 2; i++) {
		uint8_t t = p[i];
		p[i] = p[n - 1 - i];
		p[n - 1 - i] = t;
	}
}

static void rom_block_bytes_reversed(const sim_rom_t *r, int idx, uint8_t out[32])
{
	const uint32_t *w = sim_efuse_block_raw(r->efuse, idx);
	for (int i = 0; i < 8; i++) {
		out[4 * i] = (uint8_t)w[i];
		out[4 * i + 1] = (uint8_t)(w[i] >> 8);
		out[4 * i + 2] = (uint8_t)(w[i] >> 16);
		out[4 * i + 3] = (uint8_t)(w[i] >> 24);
	}
	rom_reverse(out, 32);
}

/* The XTS key the flash-encryption hardware takes from eFuse, as the host's key file holds it.
 * Returns the key length (32 or 64), or 0 when no key block carries an XTS purpose. */
static size_t rom_xts_key(const sim_rom_t *r, uint8_t key[64])
{
	const struct efuse_layout *lay = r->efuse->lay;
	if (lay->family == EFUSE_FAMILY_C2) {
		uint8_t blk[32];
		rom_block_bytes_reversed(r, lay->first_key_block, blk);
		if (sim_efuse_get_field(r->efuse, EF_XTS_KEY_LENGTH_256)) {
			memcpy(key, blk, 32);
		} else {
			/* Low 128 bits (the reversed block's last 16 bytes), expanded by SHA-256. */
			mbedtls_sha256_ret(blk + 16, 16, key, 0);
		}
		mbedtls_platform_zeroize(blk, sizeof(blk));
		return 32;
	}
	if (lay->family != EFUSE_FAMILY_GEN2)
		return 0;
	int k128 = -1, k256a = -1, k256b = -1;
	for (unsigned n = 0; n < lay->n_key_blocks; n++) {
		int p = sim_efuse_key_purpose(r->efuse, n);
		int idx = lay->first_key_block + (int)n;
		if (p == KP_XTS_AES_128_KEY && k128 < 0)
			k128 = idx;
		if (p == KP_XTS_AES_256_KEY_1 && k256a < 0)
			k256a = idx;
		if (p == KP_XTS_AES_256_KEY_2 && k256b < 0)
			k256b = idx;
	}
	if (k256a >= 0 && k256b >= 0) {
		rom_block_bytes_reversed(r, k256a, key);
		rom_block_bytes_reversed(r, k256b, key + 32);
		return 64;
	}
	if (k128 >= 0) {
		rom_block_bytes_reversed(r, k128, key);
		return 32;
	}
	return 0;
}

/* Encrypts len bytes (multiple of 16) destined for flash address addr (multiple of 16). */
static int rom_xts_encrypt(const sim_rom_t *r, uint32_t addr, uint8_t *data, size_t len)
{
	uint8_t key[64];
	size_t klen = rom_xts_key(r, key);
	if (!klen) {
		memset(key, 0, sizeof(key)); /* unprogrammed key block: all zero */
		klen = 32;
	}
	mbedtls_aes_xts_context ctx;
	mbedtls_aes_xts_init(&ctx);
	int rc = mbedtls_aes_xts_setkey_enc(&ctx, key, (unsigned)klen * 8);
	mbedtls_platform_zeroize(key, sizeof(key));
	size_t pos = 0;
	while (rc == 0 && pos < len) {
		uint32_t a = addr + (uint32_t)pos;
		uint32_t unit = a & ~0x7Fu;
		size_t in_unit = a - unit;
		size_t n = 128 - in_unit;
		if (n > len - pos)
			n = len - pos;
		uint8_t buf[128] = {0}, ct[128];
		memcpy(buf + in_unit, data + pos, n);
		uint8_t tweak[16] = {0};
		rom_proto_put_u32(tweak, unit);
		rom_reverse(buf, 128);
		rc = mbedtls_aes_crypt_xts(&ctx, MBEDTLS_AES_ENCRYPT, 128, tweak, buf, ct);
		rom_reverse(ct, 128);
		memcpy(data + pos, ct + in_unit, n);
		pos += n;
	}
	mbedtls_aes_xts_free(&ctx);
	return rc ? -1 : 0;
}

/* ---- flash download ---- */

static bool rom_encrypt_allowed(const sim_rom_t *r)
{
	return r->chip->rom_encrypt_flag && !rom_shadow_field(r, EF_DIS_DOWNLOAD_MANUAL_ENCRYPT);
}

static void rom_flash_begin(sim_rom_t *r, const struct rom_request *q, struct sim_rom_out *out)
{
	size_t words = r->chip->rom_encrypt_flag ? 5 : 4;
	bool defl = q->op == ROM_OP_FLASH_DEFL_BEGIN;
	/* The chips whose ROM knows the encrypt word also take the short form (older hosts). */
	if (q->data_len != 4 * words && !(words == 5 && q->data_len == 16)) {
		rom_fail(out, q->op, ROM_ERR_BAD_MESSAGE);
		return;
	}
	uint32_t size = rom_u32(q, 0), blocks = rom_u32(q, 1), bsize = rom_u32(q, 2);
	uint32_t offset = rom_u32(q, 3);
	uint32_t encrypt = q->data_len >= 20 ? rom_u32(q, 4) : 0;
	rom_end_inflate(r);
	r->mode = SIM_ROM_IDLE;
	if (!r->spi_attached) {
		rom_fail(out, q->op, ROM_ERR_FAILED);
		return;
	}
	/* For FLASH_BEGIN the blocks must cover the size; for DEFL they count compressed bytes. */
	if (bsize == 0 || bsize > SIM_ROM_MAX_FLASH_BLOCK || offset % SIM_FLASH_SECTOR ||
	    (!defl && (uint64_t)blocks * bsize < size) || encrypt > 1) {
		rom_fail(out, q->op, ROM_ERR_INVALID_PARAM);
		return;
	}
	if (encrypt && !rom_encrypt_allowed(r)) {
		rom_fail(out, q->op, ROM_ERR_INVALID_PARAM);
		return;
	}
	if (!rom_flash_range_ok(r, offset, size)) {
		rom_fail(out, q->op, ROM_ERR_INVALID_PARAM);
		return;
	}
	err_t e = {0};
	int64_t cost = sim_flash_erase(r->flash, offset, size, &e);
	if (cost < 0) {
		rom_fail(out, q->op, ROM_ERR_FLASH_WRITE);
		return;
	}
	out->busy_us += cost;
	r->mode = defl ? SIM_ROM_DEFL : SIM_ROM_FLASH;
	r->dl_offset = offset;
	r->dl_size = size;
	r->dl_blocks = blocks;
	r->dl_block_size = bsize;
	r->dl_seq = 0;
	r->dl_encrypt = encrypt != 0;
	r->dl_written = 0;
	r->carry_len = 0;
	if (defl) {
		memset(&r->zs, 0, sizeof(r->zs));
		if (inflateInit(&r->zs) != Z_OK) {
			r->mode = SIM_ROM_IDLE;
			rom_fail(out, q->op, ROM_ERR_DEFLATE);
			return;
		}
		r->zs_live = true;
		r->zs_done = false;
	}
	rom_ok(out, q->op);
}

/* Programs data at addr as the ROM does: optional encryption, then a read-back compare. */
static uint8_t rom_flash_write(sim_rom_t *r, uint32_t addr, uint8_t *data, size_t len,
			       struct sim_rom_out *out)
{
	if (!rom_flash_range_ok(r, addr, len))
		return ROM_ERR_FLASH_WRITE;
	if (r->dl_encrypt) {
		if (addr % 16 || len % 16)
			return ROM_ERR_INVALID_PARAM;
		if (rom_xts_encrypt(r, addr, data, len))
			return ROM_ERR_FAILED;
	}
	err_t e = {0};
	int64_t cost = sim_flash_program(r->flash, addr, data, len, &e);
	if (cost < 0)
		return ROM_ERR_FLASH_WRITE;
	out->busy_us += cost;
	if (memcmp(r->flash->mem + addr, data, len) != 0)
		return ROM_ERR_FLASH_WRITE; /* bits that were not erased stay 0 */
	return 0;
}

/* Common header of *_DATA: u32 len, u32 seq, 0, 0, then len bytes, with the XOR checksum. */
static int rom_data_header(const struct rom_request *q, uint32_t *len, uint32_t *seq, uint8_t *err)
{
	if (q->data_len < 16) {
		*err = ROM_ERR_BAD_MESSAGE;
		return -1;
	}
	*len = rom_u32(q, 0);
	*seq = rom_u32(q, 1);
	if (*len != (uint32_t)q->data_len - 16) {
		*err = ROM_ERR_BAD_MESSAGE;
		return -1;
	}
	if (rom_proto_checksum(q->data + 16, *len) != (q->checksum & 0xFF)) {
		*err = ROM_ERR_CHECKSUM;
		return -1;
	}
	return 0;
}

static void rom_flash_data(sim_rom_t *r, const struct rom_request *q, struct sim_rom_out *out)
{
	uint32_t len, seq;
	uint8_t err;
	if (rom_data_header(q, &len, &seq, &err)) {
		rom_fail(out, q->op, err);
		return;
	}
	if (r->mode != SIM_ROM_FLASH || seq != r->dl_seq || len > r->dl_block_size ||
	    seq >= r->dl_blocks) {
		rom_fail(out, q->op, ROM_ERR_INVALID_PARAM);
		return;
	}
	uint8_t block[SIM_ROM_MAX_FLASH_BLOCK];
	memcpy(block, q->data + 16, len);
	err = rom_flash_write(r, r->dl_offset + seq * r->dl_block_size, block, len, out);
	mbedtls_platform_zeroize(block, sizeof(block));
	if (err) {
		rom_fail(out, q->op, err);
		return;
	}
	r->dl_seq++;
	rom_ok(out, q->op);
}

/* Writes inflated bytes. Encrypted writes go in whole 16-byte AES blocks: a tail that does not
 * fill one waits in carry for the next inflated bytes. */
static uint8_t rom_defl_write(sim_rom_t *r, const uint8_t *p, size_t n, struct sim_rom_out *out)
{
	uint8_t buf[4096 + 16];
	size_t len = 0;
	if (r->carry_len) {
		memcpy(buf, r->carry, r->carry_len);
		len = r->carry_len;
		r->carry_len = 0;
	}
	memcpy(buf + len, p, n);
	len += n;
	size_t whole = r->dl_encrypt ? len / 16 * 16 : len;
	uint8_t err = 0;
	if (whole) {
		err = rom_flash_write(r, r->dl_offset + r->dl_written, buf, whole, out);
		if (!err)
			r->dl_written += (uint32_t)whole;
	}
	if (!err && whole < len) {
		r->carry_len = len - whole;
		memcpy(r->carry, buf + whole, r->carry_len);
	}
	mbedtls_platform_zeroize(buf, sizeof(buf));
	return err;
}

static void rom_defl_data(sim_rom_t *r, const struct rom_request *q, struct sim_rom_out *out)
{
	uint32_t len, seq;
	uint8_t err;
	if (rom_data_header(q, &len, &seq, &err)) {
		rom_fail(out, q->op, err);
		return;
	}
	if (r->mode != SIM_ROM_DEFL || seq != r->dl_seq || len > r->dl_block_size ||
	    seq >= r->dl_blocks) {
		rom_fail(out, q->op, ROM_ERR_INVALID_PARAM);
		return;
	}
	if (r->zs_done) {
		rom_fail(out, q->op, ROM_ERR_DEFLATE_PARAM);
		return;
	}
	r->zs.next_in = (Bytef *)(q->data + 16);
	r->zs.avail_in = len;
	uint8_t chunk[4096];
	while (r->zs.avail_in > 0 && !r->zs_done) {
		r->zs.next_out = chunk;
		r->zs.avail_out = sizeof(chunk);
		int zr = inflate(&r->zs, Z_NO_FLUSH);
		if (zr == Z_DATA_ERROR) {
			bool adler = r->zs.msg && strstr(r->zs.msg, "check") != NULL;
			r->mode = SIM_ROM_IDLE;
			rom_fail(out, q->op, adler ? ROM_ERR_DEFLATE_ADLER : ROM_ERR_DEFLATE);
			return;
		}
		if (zr != Z_OK && zr != Z_STREAM_END && zr != Z_BUF_ERROR) {
			r->mode = SIM_ROM_IDLE;
			rom_fail(out, q->op, ROM_ERR_DEFLATE);
			return;
		}
		size_t got = sizeof(chunk) - r->zs.avail_out;
		if (got) {
			if ((uint64_t)r->dl_written + r->carry_len + got > r->dl_size) {
				r->mode = SIM_ROM_IDLE;
				rom_fail(out, q->op, ROM_ERR_DEFLATE_PARAM);
				return;
			}
			err = rom_defl_write(r, chunk, got, out);
			if (err) {
				rom_fail(out, q->op, err);
				return;
			}
		}
		if (zr == Z_STREAM_END) {
			r->zs_done = true;
			if (r->carry_len) {
				/* An encrypted image must be a multiple of 16 bytes long. */
				r->carry_len = 0;
				r->mode = SIM_ROM_IDLE;
				rom_fail(out, q->op, ROM_ERR_INVALID_PARAM);
				return;
			}
		}
		if (zr == Z_BUF_ERROR && got == 0)
			break;
	}
	r->dl_seq++;
	rom_ok(out, q->op);
}

static void rom_flash_end(sim_rom_t *r, const struct rom_request *q, struct sim_rom_out *out)
{
	if (q->data_len != 4) {
		rom_fail(out, q->op, ROM_ERR_BAD_MESSAGE);
		return;
	}
	bool defl = q->op == ROM_OP_FLASH_DEFL_END;
	if (r->mode != (defl ? SIM_ROM_DEFL : SIM_ROM_FLASH) && r->mode != SIM_ROM_IDLE) {
		rom_fail(out, q->op, ROM_ERR_INVALID_PARAM);
		return;
	}
	rom_end_inflate(r);
	r->mode = SIM_ROM_IDLE;
	rom_ok(out, q->op);
	/* 0 = reboot, 1 = run user code: either way the loader is gone (a reboot lands in the app
	 * because the boot strap is released by then). */
	out->left_loader = true;
}

static void rom_spi_attach(sim_rom_t *r, const struct rom_request *q, struct sim_rom_out *out)
{
	if (q->data_len != 8) {
		rom_fail(out, q->op, ROM_ERR_BAD_MESSAGE);
		return;
	}
	r->spi_attached = true;
	rom_ok(out, q->op);
}

static void rom_spi_set_params(sim_rom_t *r, const struct rom_request *q, struct sim_rom_out *out)
{
	if (q->data_len != 24) {
		rom_fail(out, q->op, ROM_ERR_BAD_MESSAGE);
		return;
	}
	uint32_t total = rom_u32(q, 1);
	if (total == 0) {
		rom_fail(out, q->op, ROM_ERR_INVALID_PARAM);
		return;
	}
	r->flash_param_size = total;
	rom_ok(out, q->op);
}

static void rom_md5(sim_rom_t *r, const struct rom_request *q, struct sim_rom_out *out)
{
	if (q->data_len != 16) {
		rom_fail(out, q->op, ROM_ERR_BAD_MESSAGE);
		return;
	}
	uint32_t addr = rom_u32(q, 0), size = rom_u32(q, 1);
	if (!r->spi_attached) {
		rom_fail(out, q->op, ROM_ERR_FAILED);
		return;
	}
	if (!rom_flash_range_ok(r, addr, size)) {
		rom_fail(out, q->op, ROM_ERR_FLASH_READ);
		return;
	}
	uint8_t digest[16];
	mbedtls_md5_ret(r->flash->mem + addr, size, digest);
	char hex[33];
	hex_encode_bytes(digest, 16, hex);
	out->busy_us += sim_flash_md5_cost(size);
	rom_reply(out, q->op, 0, (const uint8_t *)hex, 32, 0, 0);
}

static void rom_read_flash_slow(sim_rom_t *r, const struct rom_request *q, struct sim_rom_out *out)
{
	if (q->data_len != 8) {
		rom_fail(out, q->op, ROM_ERR_BAD_MESSAGE);
		return;
	}
	uint32_t addr = rom_u32(q, 0), len = rom_u32(q, 1);
	if (!r->spi_attached) {
		rom_fail(out, q->op, ROM_ERR_FAILED);
		return;
	}
	if (len > ROM_READ_SLOW_MAX) {
		rom_fail(out, q->op, ROM_ERR_FLASH_READ_LEN);
		return;
	}
	if (!rom_flash_range_ok(r, addr, len)) {
		rom_fail(out, q->op, ROM_ERR_FLASH_READ);
		return;
	}
	uint8_t data[ROM_READ_SLOW_MAX];
	memset(data, 0, sizeof(data));
	memcpy(data, r->flash->mem + addr, len);
	rom_reply(out, q->op, 0, data, sizeof(data), 0, 0);
}

/* The rate the UART really runs at after CHANGE_BAUDRATE(wire): the ESP32 ROM derives its
 * divider from a CK8M-based crystal estimate; the C2 ROM assumes a 40 MHz crystal. */
static uint32_t rom_effective_baud(const sim_rom_t *r, uint32_t wire)
{
	if (r->chip->type == CHIP_ESP32) {
		uint64_t cali = r->xtal_mhz == 26 ? SIM_ESP32_RTC_CALI_26 : SIM_ESP32_RTC_CALI_40;
		uint64_t est_hz = cali * 15625u * SIM_ESP32_CK8M_FREQ / 40u;
		return (uint32_t)((uint64_t)wire * r->xtal_mhz * 1000000u / est_hz);
	}
	if (r->chip->type == CHIP_ESP32C2 && r->xtal_mhz == 26)
		return (uint32_t)((uint64_t)wire * 26u / 40u);
	return wire;
}

static void rom_change_baud(sim_rom_t *r, const struct rom_request *q, struct sim_rom_out *out)
{
	if (q->data_len != 8) {
		rom_fail(out, q->op, ROM_ERR_BAD_MESSAGE);
		return;
	}
	uint32_t wire = rom_u32(q, 0);
	uint32_t eff = rom_effective_baud(r, wire);
	if (wire == 0 || eff < 300 || eff > 5000000) {
		rom_fail(out, q->op, ROM_ERR_INVALID_PARAM);
		return;
	}
	rom_ok(out, q->op);
	out->new_baud = eff;
	r->regs.uart_baud = eff;
}

static uint32_t rom_popcount(uint32_t v)
{
	uint32_t n = 0;
	for (; v; v &= v - 1)
		n++;
	return n;
}

static void rom_security_info(sim_rom_t *r, const struct rom_request *q, struct sim_rom_out *out)
{
	struct rom_security_info si;
	memset(&si, 0, sizeof(si));
	static const struct {
		enum efuse_field_id f;
		uint32_t flag;
	} map[] = {
		{EF_SECURE_BOOT_EN, ROM_SECFLAG_SECURE_BOOT_EN},
		{EF_SECURE_BOOT_AGGRESSIVE_REVOKE, ROM_SECFLAG_SECURE_BOOT_AGGRESSIVE_REVOKE},
		{EF_ENABLE_SECURITY_DOWNLOAD, ROM_SECFLAG_SECURE_DOWNLOAD_ENABLE},
		{EF_SECURE_BOOT_KEY_REVOKE0, ROM_SECFLAG_SECURE_BOOT_KEY_REVOKE0},
		{EF_SECURE_BOOT_KEY_REVOKE1, ROM_SECFLAG_SECURE_BOOT_KEY_REVOKE1},
		{EF_SECURE_BOOT_KEY_REVOKE2, ROM_SECFLAG_SECURE_BOOT_KEY_REVOKE2},
		{EF_DIS_PAD_JTAG, ROM_SECFLAG_HARD_DIS_JTAG},
		{EF_DIS_DOWNLOAD_DCACHE, ROM_SECFLAG_DIS_DOWNLOAD_DCACHE},
		{EF_DIS_DOWNLOAD_ICACHE, ROM_SECFLAG_DIS_DOWNLOAD_ICACHE},
	};
	(void)q;
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (rom_shadow_field(r, map[i].f))
			si.flags |= map[i].flag;
	if (rom_popcount(rom_shadow_field(r, EF_SOFT_DIS_JTAG)) & 1)
		si.flags |= ROM_SECFLAG_SOFT_DIS_JTAG;
	si.flash_crypt_cnt = (uint8_t)rom_shadow_field(r, EF_CRYPT_CNT);
	if (r->efuse->lay->family == EFUSE_FAMILY_GEN2)
		for (unsigned n = 0; n < 6; n++)
			si.key_purposes[n] = (uint8_t)rom_shadow_field(r, chip_efuse_purpose_field(n));
	si.has_chip_id = r->chip->secinfo_len == ROM_SECINFO_LEN;
	si.chip_id = si.has_chip_id ? (uint32_t)r->chip->secinfo_chip_id : 0;
	si.api_version = 0;
	buf_t p = BUF_INIT;
	rom_proto_build_security_info(&p, &si);
	rom_reply(out, q->op, 0, p.data, p.len, 0, 0);
	buf_free_data(&p);
}

static void rom_mem_begin(sim_rom_t *r, const struct rom_request *q, struct sim_rom_out *out)
{
	if (q->data_len != 16) {
		rom_fail(out, q->op, ROM_ERR_BAD_MESSAGE);
		return;
	}
	uint32_t size = rom_u32(q, 0), blocks = rom_u32(q, 1), bsize = rom_u32(q, 2);
	uint32_t addr = rom_u32(q, 3);
	r->mode = SIM_ROM_IDLE;
	rom_end_inflate(r);
	if (bsize == 0 || bsize > SIM_ROM_MAX_MEM_BLOCK || (uint64_t)blocks * bsize < size) {
		rom_fail(out, q->op, ROM_ERR_RAM_SIZE);
		return;
	}
	r->mode = SIM_ROM_MEM;
	r->mem_addr = addr;
	r->mem_size = size;
	r->dl_blocks = blocks;
	r->dl_block_size = bsize;
	r->dl_seq = 0;
	rom_ok(out, q->op);
}

static void rom_mem_data(sim_rom_t *r, const struct rom_request *q, struct sim_rom_out *out)
{
	uint32_t len, seq;
	uint8_t err;
	if (rom_data_header(q, &len, &seq, &err)) {
		rom_fail(out, q->op, err);
		return;
	}
	if (r->mode != SIM_ROM_MEM || seq != r->dl_seq || len > r->dl_block_size) {
		rom_fail(out, q->op, ROM_ERR_INVALID_PARAM);
		return;
	}
	/* RAM contents are not kept: there is no CPU to run them. */
	r->dl_seq++;
	rom_ok(out, q->op);
}

static void rom_mem_end(sim_rom_t *r, const struct rom_request *q, struct sim_rom_out *out)
{
	if (q->data_len != 8) {
		rom_fail(out, q->op, ROM_ERR_BAD_MESSAGE);
		return;
	}
	uint32_t flag = rom_u32(q, 0);
	r->mode = SIM_ROM_IDLE;
	rom_ok(out, q->op);
	if (flag == 0)
		out->left_loader = true; /* jumped to the uploaded code, which never answers here */
}

void sim_rom_handle(sim_rom_t *r, const uint8_t *frame, size_t len, int64_t now_us,
		    struct sim_rom_out *out)
{
	struct rom_request q;
	if (r->running_app || rom_proto_parse_request(frame, len, &q) != 0) {
		out->ignored = true;
		return;
	}
	if (q.op == ROM_OP_SYNC) {
		rom_sync(r, &q, out);
		if (!out->ignored)
			r->last_op = q.op;
		return;
	}
	if (!r->synced) {
		out->ignored = true; /* the UART has not locked on the host's rate yet */
		return;
	}
	if (!chip_rom_accepts_command(r->chip, q.op, sim_rom_in_sdm(r))) {
		rom_reject(r, out);
		return;
	}
	switch (q.op) {
	case ROM_OP_READ_REG:
		rom_read_reg(r, &q, now_us, out);
		break;
	case ROM_OP_WRITE_REG:
		rom_write_reg(r, &q, now_us, out);
		break;
	case ROM_OP_SPI_ATTACH:
		rom_spi_attach(r, &q, out);
		break;
	case ROM_OP_SPI_SET_PARAMS:
		rom_spi_set_params(r, &q, out);
		break;
	case ROM_OP_FLASH_BEGIN:
	case ROM_OP_FLASH_DEFL_BEGIN:
		rom_flash_begin(r, &q, out);
		break;
	case ROM_OP_FLASH_DATA:
		rom_flash_data(r, &q, out);
		break;
	case ROM_OP_FLASH_DEFL_DATA:
		rom_defl_data(r, &q, out);
		break;
	case ROM_OP_FLASH_END:
	case ROM_OP_FLASH_DEFL_END:
		rom_flash_end(r, &q, out);
		break;
	case ROM_OP_SPI_FLASH_MD5:
		rom_md5(r, &q, out);
		break;
	case ROM_OP_READ_FLASH_SLOW:
		rom_read_flash_slow(r, &q, out);
		break;
	case ROM_OP_CHANGE_BAUDRATE:
		rom_change_baud(r, &q, out);
		break;
	case ROM_OP_GET_SECURITY_INFO:
		rom_security_info(r, &q, out);
		break;
	case ROM_OP_MEM_BEGIN:
		rom_mem_begin(r, &q, out);
		break;
	case ROM_OP_MEM_DATA:
		rom_mem_data(r, &q, out);
		break;
	case ROM_OP_MEM_END:
		rom_mem_end(r, &q, out);
		break;
	default:
		rom_reject(r, out);
		return;
	}
	r->last_op = q.op;
	if (out->left_loader)
		r->running_app = true;
}
