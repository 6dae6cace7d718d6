/* flasher: ROM-loader flash download, verify and read-back (see flasher.h). */
#include "loader/flasher.h"

#include <mbedtls/md5.h>
#include <stdio.h>
#include <string.h>
#include <zlib.h>

void flash_write_opts_init(struct flash_write_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->compress = true;
}

static unsigned timeout_for(uint32_t bytes, unsigned ms_per_mb)
{
	uint64_t t = (uint64_t)ms_per_mb * bytes / (1024 * 1024);
	if (t < ROM_TIMEOUT_DEFAULT_MS)
		return ROM_TIMEOUT_DEFAULT_MS;
	return t > ROM_TIMEOUT_MAX_MS ? ROM_TIMEOUT_MAX_MS : (unsigned)t;
}

static void report(const struct flash_write_opts *o, const char *stage, unsigned region,
		   uint32_t addr, size_t done, size_t total, uint64_t t0, unsigned retries)
{
	if (!o->progress)
		return;
	double secs = (double)(transport_now_ms() - t0) / 1000.0;
	struct flash_progress p = {stage, region, addr, done, total,
				   secs > 0 ? (double)done / secs : 0, retries};
	o->progress(o->progress_ctx, &p);
}

static bool retryable_block_failure(const rom_conn_t *c)
{
	return c->last_fail == ROM_FAIL_TIMEOUT ||
	       (c->last_fail == ROM_FAIL_STATUS &&
		(c->last_error == ROM_ERR_CHECKSUM || c->last_error == ROM_ERR_RECEIVE));
}

/* One pass of FLASH(_DEFL)_BEGIN + DATA blocks over an aligned image. */
static int write_image_once(loader_t *l, unsigned region, uint32_t user_addr, uint32_t start,
			    const uint8_t *img,
			    size_t img_len, const struct flash_write_opts *o, uint64_t t0,
			    struct flash_region_result *res, err_t *e)
{
	rom_conn_t *c = &l->conn;
	const struct chip_desc *chip = l->info.chip;
	const uint32_t bs = ROM_FLASH_BLOCK_SIZE;
	bool compress = o->compress && !l->info.secure_download;
	buf_t z = BUF_INIT, d = BUF_INIT;
	const uint8_t *stream = img;
	size_t stream_len = img_len;
	int rc = -1;
	if (compress) {
		uLongf zl = compressBound((uLong)img_len);
		buf_reserve_bytes(&z, zl);
		if (compress2(z.data, &zl, img, (uLong)img_len, 9) != Z_OK) {
			err_set_msg(e, ERR_DEVICE, "zlib compression failed");
			goto out;
		}
		z.len = zl;
		stream = z.data;
		stream_len = zl;
	}
	uint32_t nblocks = (uint32_t)((stream_len + bs - 1) / bs);
	/* ROM: the DEFL size word is the uncompressed size rounded up to whole blocks */
	uint32_t size_word = compress ? (uint32_t)((img_len + bs - 1) / bs * bs) : (uint32_t)img_len;
	rom_proto_build_begin(&d, size_word, nblocks, bs, start, chip->rom_encrypt_flag, 0);
	struct rom_response r;
	if (rom_cmd_execute(c, compress ? ROM_OP_FLASH_DEFL_BEGIN : ROM_OP_FLASH_BEGIN, d.data, d.len,
			    0, timeout_for((uint32_t)img_len, 40000), &r, e)) {
		err_prepend_context(e, "starting the write at 0x%x", start);
		goto out;
	}
	unsigned block_timeout = compress ? timeout_for((uint32_t)(img_len / nblocks + 1), 40000)
					  : ROM_TIMEOUT_DEFAULT_MS;
	uint8_t block[ROM_FLASH_BLOCK_SIZE];
	for (uint32_t seq = 0; seq < nblocks; seq++) {
		size_t off = (size_t)seq * bs;
		size_t n = stream_len - off < bs ? stream_len - off : bs;
		memcpy(block, stream + off, n);
		size_t send = n;
		if (!compress) {
			memset(block + n, 0xFF, bs - n); /* the ROM wants whole blocks */
			send = bs;
		}
		d.len = 0;
		rom_proto_build_data(&d, seq, block, send);
		uint8_t ck = rom_proto_checksum(block, send);
		for (int attempt = 0;; attempt++) {
			if (rom_cmd_execute(c, compress ? ROM_OP_FLASH_DEFL_DATA : ROM_OP_FLASH_DATA,
					    d.data, d.len, ck, block_timeout, &r, e) == 0)
				break;
			/* A timeout usually means a lost reply: resending the same block is then
			 * refused (sequence already taken), so only one quick retry before the
			 * region is restarted; checksum errors get three. */
			if (!retryable_block_failure(c) ||
			    attempt >= (c->last_fail == ROM_FAIL_TIMEOUT ? 1 : 2)) {
				err_prepend_context(e, "writing block %u of %u at 0x%x", seq + 1,
						    nblocks, start);
				goto out;
			}
			res->block_retries++;
			c->retries++;
		}
		size_t done = compress ? (size_t)((uint64_t)img_len * (seq + 1) / nblocks)
				       : (off + n > img_len ? img_len : off + n);
		report(o, "write", region, user_addr, done, img_len, t0,
		       res->block_retries + res->attempts - 1);
	}
	rc = 0;
out:
	buf_free_data(&z);
	buf_free_data(&d);
	return rc;
}

static int md5_of_flash(loader_t *l, uint32_t addr, size_t len, const uint8_t *data, bool *match,
			err_t *e)
{
	uint8_t want[16], have[16];
	if (mbedtls_md5_ret(data, len, want) != 0)
		return err_set_msg(e, ERR_DEVICE, "MD5 computation failed");
	if (rom_cmd_flash_md5(&l->conn, addr, (uint32_t)len, have, e))
		return -1;
	*match = memcmp(want, have, 16) == 0;
	return 0;
}

int flasher_verify(loader_t *l, uint32_t addr, const uint8_t *data, size_t len, bool *match,
		   err_t *e)
{
	if (l->info.secure_download)
		return err_set_msg(e, ERR_DEVICE,
				   "the chip is in Secure Download Mode: flash contents cannot be "
				   "verified (SPI_FLASH_MD5 is refused)");
	return md5_of_flash(l, addr, len, data, match, e);
}

int flasher_write(loader_t *l, const struct flash_region *regions, size_t n,
		  const struct flash_write_opts *o, struct flash_region_result *results, err_t *e)
{
	const struct chip_desc *chip = l->info.chip;
	unsigned attempts = o->attempts ? o->attempts : 3;
	if (l->info.secure_download && !o->no_verify)
		return err_set_msg(e, ERR_DEVICE,
				   "the chip is in Secure Download Mode: writes cannot be verified "
				   "by MD5; refusing to write unverified");
	for (size_t i = 0; i < n; i++) {
		const struct flash_region *rg = &regions[i];
		if (rg->len == 0)
			return err_set_msg(e, ERR_USAGE, "region %zu at 0x%x is empty", i, rg->addr);
		if (l->info.flash_size && (uint64_t)rg->addr + rg->len > l->info.flash_size)
			return err_set_msg(e, ERR_USAGE,
					   "region at 0x%x (+%zu bytes) does not fit the %u MB flash",
					   rg->addr, rg->len, l->info.flash_size >> 20);
		if (o->encrypted_raw && (rg->addr % chip->encrypt_align || rg->len % chip->encrypt_align))
			return err_set_msg(e, ERR_USAGE,
					   "encrypted data at 0x%x (+%zu bytes) must be aligned to %u "
					   "bytes on the %s",
					   rg->addr, rg->len, chip->encrypt_align, chip->name);
		for (size_t k = 0; k < i; k++) {
			const struct flash_region *p = &regions[k];
			if (rg->addr < p->addr + p->len && p->addr < rg->addr + rg->len)
				return err_set_msg(e, ERR_USAGE, "regions at 0x%x and 0x%x overlap",
						   p->addr, rg->addr);
		}
	}
	for (size_t i = 0; i < n; i++) {
		const struct flash_region *rg = &regions[i];
		struct flash_region_result local, *res = results ? &results[i] : &local;
		memset(res, 0, sizeof(*res));
		/* the ROM cannot start mid-sector: move down and keep the gap erased (0xFF) */
		uint32_t start = rg->addr & ~(uint32_t)(ROM_FLASH_SECTOR_SIZE - 1);
		size_t pad = rg->addr - start;
		buf_t img = BUF_INIT;
		buf_append_fill(&img, 0xFF, pad);
		buf_append_bytes(&img, rg->data, rg->len);
		uint64_t t0 = transport_now_ms();
		err_t last = {0};
		int ok = -1;
		for (unsigned a = 1; a <= attempts; a++) {
			res->attempts = a;
			if (rom_conn_cancelled(&l->conn)) {
				err_set_msg(&last, ERR_DEVICE, "cancelled");
				break;
			}
			if (a > 1 && loader_recover(l, &last))
				break;
			if (write_image_once(l, (unsigned)i, rg->addr, start, img.data, img.len, o, t0, res, &last)) {
				if (l->conn.last_fail == ROM_FAIL_CANCELLED)
					break;
				continue;
			}
			if (o->no_verify) {
				ok = 0;
				break;
			}
			report(o, "verify", (unsigned)i, rg->addr, 0, rg->len, t0, a - 1);
			bool match = false;
			if (md5_of_flash(l, start, img.len, img.data, &match, &last)) {
				if (l->conn.last_fail == ROM_FAIL_CANCELLED)
					break;
				continue;
			}
			if (match) {
				res->verified = true;
				ok = 0;
				report(o, "verify", (unsigned)i, rg->addr, rg->len, rg->len, t0, a - 1);
				break;
			}
			err_set_msg(&last, ERR_CHECK,
				    "verification failed at 0x%x: the flash holds different data "
				    "than was sent (MD5 mismatch)",
				    rg->addr);
		}
		res->seconds = (double)(transport_now_ms() - t0) / 1000.0;
		buf_free_data(&img);
		if (ok) {
			*e = last;
			if (res->attempts > 1)
				err_prepend_context(e, "region 0x%x failed after %u attempts", rg->addr,
						    res->attempts);
			return -1;
		}
	}
	return 0;
}

/* Read-back under line noise. A READ_FLASH_SLOW reply carries no checksum of its data, so a bit
 * error on the line hands over wrong bytes that look like a flash that differs from what was
 * written. Every segment read is therefore checked against the chip's own MD5 of that flash
 * range; a mismatch is narrowed down by MD5s of halves to the 64-byte blocks that came over
 * garbled, and only those are read again. A read or MD5 that the line lost or garbled
 * (timeout, a rejected frame, a malformed reply) is re-issued. All bounded; the bytes handed back are always what the flash holds, so a real difference
 * from the expected contents still shows, to the caller that compares. */
#define FLASHER_READ_SEGMENT 4096u   /* bytes per MD5 check: ~1.5 % more traffic */
#define FLASHER_READ_ATTEMPTS 3u     /* reads (or MD5s) of one block or range */
#define FLASHER_READ_MAX_RETRIES 48u /* re-issued commands in one read-back */

struct read_ctx {
	loader_t *l;
	uint32_t addr;  /* flash address of data[0] */
	uint8_t *data;
	unsigned retries;
};

/* After a failed read or MD5: true when the line garbled or lost the exchange (timeout, a
 * rejected frame, a malformed reply) and the budget allows another try. A dropped link or a
 * chip reset is not retried here: the run fails and the next run resumes from its journal. */
static bool read_may_retry(struct read_ctx *rc)
{
	rom_conn_t *c = &rc->l->conn;
	enum rom_fail f = c->last_fail;
	bool noise = f == ROM_FAIL_TIMEOUT || f == ROM_FAIL_BAD_REPLY || retryable_block_failure(c);
	if (!noise || rc->retries >= FLASHER_READ_MAX_RETRIES)
		return false;
	rc->retries++;
	c->retries++;
	return true;
}

static int read_block(struct read_ctx *rc, uint32_t off, uint32_t n, err_t *e)
{
	for (unsigned a = 1;; a++) {
		if (rom_cmd_read_flash_slow(&rc->l->conn, rc->addr + off, n, rc->data + off, e) == 0)
			return 0;
		if (a >= FLASHER_READ_ATTEMPTS || !read_may_retry(rc))
			return -1;
	}
}

/* Compares the chip's MD5 of [off, off+len) with that of the bytes received. */
static int read_md5_check(struct read_ctx *rc, uint32_t off, uint32_t len, bool *match, err_t *e)
{
	uint8_t want[16], have[16];
	if (mbedtls_md5_ret(rc->data + off, len, have) != 0)
		return err_set_msg(e, ERR_DEVICE, "MD5 computation failed");
	for (unsigned a = 1;; a++) {
		if (rom_cmd_flash_md5(&rc->l->conn, rc->addr + off, len, want, e) == 0)
			break;
		if (a >= FLASHER_READ_ATTEMPTS || !read_may_retry(rc))
			return -1;
	}
	*match = memcmp(want, have, 16) == 0;
	return 0;
}

/* Makes [off, off+len) agree with the chip's MD5, re-reading only the blocks that disagree. */
static int read_settle_range(struct read_ctx *rc, uint32_t off, uint32_t len, err_t *e)
{
	bool match;
	if (read_md5_check(rc, off, len, &match, e))
		return -1;
	if (match)
		return 0;
	if (len > ROM_READ_SLOW_MAX) {
		uint32_t half = (len / ROM_READ_SLOW_MAX + 1) / 2 * ROM_READ_SLOW_MAX;
		if (read_settle_range(rc, off, half, e) || read_settle_range(rc, off + half, len - half, e))
			return -1;
		return 0;
	}
	for (unsigned a = 1; a <= FLASHER_READ_ATTEMPTS; a++) {
		if (rc->retries >= FLASHER_READ_MAX_RETRIES)
			break;
		rc->retries++;
		rc->l->conn.retries++;
		if (read_block(rc, off, len, e) || read_md5_check(rc, off, len, &match, e))
			return -1;
		if (match)
			return 0;
	}
	return err_set_msg(e, ERR_DEVICE,
			   "reading back flash at 0x%x: the bytes received keep differing from the "
			   "chip's own MD5 of that flash (%u retries; line noise?)",
			   rc->addr + off, rc->retries);
}

int flasher_read(loader_t *l, uint32_t addr, size_t len, buf_t *out, flash_progress_fn progress,
		 void *progress_ctx, err_t *e)
{
	if (l->info.secure_download)
		return err_set_msg(e, ERR_DEVICE,
				   "the chip is in Secure Download Mode: flash cannot be read back");
	if (l->info.flash_size && (uint64_t)addr + len > l->info.flash_size)
		return err_set_msg(e, ERR_USAGE, "0x%x+%zu is beyond the end of the %u MB flash", addr,
				   len, l->info.flash_size >> 20);
	uint64_t t0 = transport_now_ms();
	size_t base = out->len;
	buf_reserve_bytes(out, len);
	struct read_ctx rc = {l, addr, out->data + base, 0};
	size_t done = 0;
	while (done < len) {
		size_t seg = len - done < FLASHER_READ_SEGMENT ? len - done : FLASHER_READ_SEGMENT;
		for (size_t k = 0; k < seg; k += ROM_READ_SLOW_MAX) {
			uint32_t n = seg - k < ROM_READ_SLOW_MAX ? (uint32_t)(seg - k) : ROM_READ_SLOW_MAX;
			if (read_block(&rc, (uint32_t)(done + k), n, e))
				goto fail;
			size_t now = done + k + n;
			if (progress && (now % 1024 == 0 || now == len)) {
				double secs = (double)(transport_now_ms() - t0) / 1000.0;
				struct flash_progress p = {"read", 0, addr, now, len,
							   secs > 0 ? (double)now / secs : 0, rc.retries};
				progress(progress_ctx, &p);
			}
		}
		if (read_settle_range(&rc, (uint32_t)done, (uint32_t)seg, e))
			goto fail;
		done += seg;
	}
	out->len = base + len;
	return 0;
fail:
	return err_prepend_context(e, "reading back 0x%x+0x%zx", addr, len);
}
