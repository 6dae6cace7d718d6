/* efuse: eFuse decoding and key burning (see efuse.h; facts from efuse.md). */
#include "loader/efuse.h"

#include <mbedtls/ecp.h>
#include <mbedtls/pk.h>
#include <mbedtls/platform_util.h>
#include <stdio.h>
#include <string.h>

#include "core/fileio.h"
#include "loader/efuse_rs.h"

static uint32_t field_mask(unsigned width)
{
	return width >= 32 ? 0xFFFFFFFFu : ((1u << width) - 1);
}

bool efuse_field_present(const struct chip_desc *chip, enum efuse_field_id f)
{
	return chip_efuse_field(chip, f) != NULL;
}

uint32_t efuse_field_value(const struct efuse_dump *d, enum efuse_field_id f)
{
	const struct efuse_field_desc *fd = chip_efuse_field(d->chip, f);
	if (!fd)
		return 0;
	return (d->words[fd->block][fd->word] >> fd->bit) & field_mask(fd->width);
}

static bool wr_dis_set(const struct efuse_dump *d, int bit)
{
	return bit >= 0 && ((efuse_field_value(d, EF_WR_DIS) >> bit) & 1);
}

static bool rd_dis_set(const struct efuse_dump *d, int bit)
{
	return bit >= 0 && ((efuse_field_value(d, EF_RD_DIS) >> bit) & 1);
}

/* Reads the words of block idx selected by word_mask (bit w = word w) into d. */
static int read_block_words(const struct efuse_io *io, const struct chip_desc *chip,
			    struct efuse_dump *d, int idx, unsigned word_mask, err_t *e)
{
	const struct efuse_block_desc *bd = &chip->efuse->blocks[idx];
	for (int w = 0; w < bd->words; w++) {
		if (!((word_mask >> w) & 1))
			continue;
		uint32_t addr = chip->efuse_base + bd->read_off + 4u * (unsigned)w;
		if (io->read(io->ctx, addr, &d->words[idx][w], e))
			return err_prepend_context(e, "reading eFuse %s word %d", bd->name, w);
	}
	return 0;
}

int efuse_read_dump(const struct efuse_io *io, const struct chip_desc *chip,
		    struct efuse_dump *d, err_t *e)
{
	memset(d, 0, sizeof(*d));
	d->chip = chip;
	for (int b = 0; b < chip->efuse->n_blocks; b++)
		if (read_block_words(io, chip, d, b, 0xFFu, e))
			return -1;
	return 0;
}

int efuse_read_blocks_stable(const struct efuse_io *io, const struct chip_desc *chip,
			     unsigned block_mask, struct efuse_dump *d, err_t *e)
{
	struct efuse_dump prev;
	for (int pass = 0; pass < 4; pass++) {
		struct efuse_dump *cur = pass ? d : &prev;
		if (pass > 1)
			prev = *d;
		memset(cur, 0, sizeof *cur);
		cur->chip = chip;
		for (int b = 0; b < chip->efuse->n_blocks; b++)
			if (((block_mask >> b) & 1) && read_block_words(io, chip, cur, b, 0xFFu, e))
				return -1;
		if (pass && memcmp(prev.words, d->words, sizeof d->words) == 0)
			return 0;
	}
	return err_set_msg(e, ERR_DEVICE,
			   "the eFuse registers read differently on every pass: the link is "
			   "corrupting data; not burning");
}

int efuse_read_dump_stable(const struct efuse_io *io, const struct chip_desc *chip,
			   struct efuse_dump *d, err_t *e)
{
	return efuse_read_blocks_stable(io, chip, (1u << chip->efuse->n_blocks) - 1, d, e);
}

void efuse_key_status(const struct efuse_dump *d, int block_idx, struct efuse_key_status *ks)
{
	const struct chip_desc *chip = d->chip;
	const struct efuse_block_desc *b = &chip->efuse->blocks[block_idx];
	memset(ks, 0, sizeof(*ks));
	ks->block_idx = block_idx;
	ks->name = b->name;
	ks->alias = b->alias;
	ks->write_protected = wr_dis_set(d, b->wr_dis_bit);
	ks->read_protected = rd_dis_set(d, b->rd_dis_bit) || rd_dis_set(d, b->rd_dis_bit2);
	ks->data_zero = true;
	for (int w = 0; w < b->words; w++)
		if (d->words[block_idx][w])
			ks->data_zero = false;
	switch (chip->efuse->family) {
	case EFUSE_FAMILY_GEN2:
		if (b->key_index >= 0) {
			enum efuse_field_id pf = chip_efuse_purpose_field((unsigned)b->key_index);
			ks->purpose = (int)efuse_field_value(d, pf);
			ks->purpose_locked = wr_dis_set(d, chip_efuse_field(chip, pf)->wr_dis_bit);
		} else {
			ks->purpose = KP_USER;
		}
		break;
	case EFUSE_FAMILY_ESP32:
		if (b->num == 1)
			ks->purpose = KP_ESP32_FLASH_ENCRYPTION;
		else if (b->num == 2)
			ks->purpose = efuse_field_value(d, EF_ABS_DONE_0) ? KP_ESP32_SECURE_BOOT_V1
									   : KP_ESP32_SECURE_BOOT_V2;
		else
			ks->purpose = KP_USER;
		break;
	case EFUSE_FAMILY_C2:
		if (b->key_index < 0)
			ks->purpose = KP_USER;
		else if (efuse_field_value(d, EF_XTS_KEY_LENGTH_256))
			ks->purpose = KP_XTS_AES_128_KEY;
		else if (rd_dis_set(d, b->rd_dis_bit))
			ks->purpose = KP_C2_XTS_AES_128_KEY_DERIVED;
		else
			ks->purpose = KP_USER;
		break;
	}
	ks->empty = ks->data_zero && !ks->read_protected && !ks->write_protected &&
		    !ks->purpose_locked &&
		    (chip->efuse->family != EFUSE_FAMILY_GEN2 || ks->purpose == KP_USER) &&
		    (chip->efuse->family != EFUSE_FAMILY_C2 ||
		     !efuse_field_value(d, EF_XTS_KEY_LENGTH_256));
}

void efuse_security_state(const struct efuse_dump *d, struct efuse_security *s)
{
	memset(s, 0, sizeof(*s));
	s->crypt_cnt = efuse_field_value(d, EF_CRYPT_CNT);
	s->flash_encryption = __builtin_popcount(s->crypt_cnt) & 1;
	s->secure_boot = efuse_field_value(d, EF_SECURE_BOOT_EN) ||
			 efuse_field_value(d, EF_ABS_DONE_0) || efuse_field_value(d, EF_ABS_DONE_1);
	s->secure_download = efuse_field_value(d, EF_ENABLE_SECURITY_DOWNLOAD);
	s->download_disabled = efuse_field_value(d, EF_DIS_DOWNLOAD_MODE) ||
			       efuse_field_value(d, EF_UART_DOWNLOAD_DIS);
	s->manual_encrypt_disabled = efuse_field_value(d, EF_DIS_DOWNLOAD_MANUAL_ENCRYPT) ||
				     efuse_field_value(d, EF_DISABLE_DL_ENCRYPT);
	s->rd_dis_locked = wr_dis_set(d, 0);
	s->coding_scheme = efuse_field_value(d, EF_CODING_SCHEME);
}

/* ---- planning ---- */

static void reverse_into(uint8_t *dst, const uint8_t *src, size_t n)
{
	for (size_t i = 0; i < n; i++)
		dst[i] = src[n - 1 - i];
}

int efuse_key_block_bytes(const struct chip_desc *chip, int purpose, const uint8_t *key,
			  size_t key_len, uint8_t out[32], size_t *out_len, err_t *e)
{
	memset(out, 0, 32);
	*out_len = 32;
	const char *pn = chip_purpose_name(purpose);
	if (chip->efuse->family == EFUSE_FAMILY_C2 && purpose == KP_C2_XTS_AES_128_KEY_DERIVED) {
		if (key_len != 16)
			return err_set_msg(e, ERR_CHECK, "%s needs a 16-byte key (got %zu bytes)", pn,
					   key_len);
		reverse_into(out, key, 16);
		return 0;
	}
	if (chip->efuse->family == EFUSE_FAMILY_C2 && purpose == KP_C2_SECURE_BOOT_DIGEST) {
		if (key_len != 16 && key_len != 32)
			return err_set_msg(e, ERR_CHECK,
					   "%s takes a 16- or 32-byte digest (got %zu bytes); its "
					   "first 16 bytes go to the upper half of BLOCK_KEY0",
					   pn, key_len);
		memcpy(out + 16, key, 16);
		return 0;
	}
	if (purpose == KP_USER) {
		if (key_len == 0 || key_len > 32)
			return err_set_msg(e, ERR_CHECK, "USER data must be 1..32 bytes (got %zu)",
					   key_len);
		memcpy(out, key, key_len);
		return 0;
	}
	if (key_len != 32)
		return err_set_msg(e, ERR_CHECK, "%s needs a 32-byte key (got %zu bytes)", pn, key_len);
	if (chip_purpose_is_reversed(purpose))
		reverse_into(out, key, 32);
	else
		memcpy(out, key, 32);
	return 0;
}

static void set_field_bits(const struct chip_desc *chip, uint32_t blk0[8], enum efuse_field_id f,
			   uint32_t value)
{
	const struct efuse_field_desc *fd = chip_efuse_field(chip, f);
	if (fd)
		blk0[fd->word] |= (value & field_mask(fd->width)) << fd->bit;
}

static void set_rd_dis_bit(const struct chip_desc *chip, uint32_t blk0[8], int bit)
{
	if (bit >= 0)
		set_field_bits(chip, blk0, EF_RD_DIS, 1u << bit);
}

static void set_wr_dis_bit(const struct chip_desc *chip, uint32_t blk0[8], int bit)
{
	if (bit >= 0)
		set_field_bits(chip, blk0, EF_WR_DIS, 1u << bit);
}

static int check_block_empty(const struct efuse_dump *d, int idx, err_t *e)
{
	struct efuse_key_status ks;
	efuse_key_status(d, idx, &ks);
	if (ks.empty)
		return 0;
	char why[200] = "";
	if (!ks.data_zero)
		strcat(why, " holds data;");
	if (ks.read_protected)
		strcat(why, " is read-protected;");
	if (ks.write_protected)
		strcat(why, " is write-protected;");
	if (ks.purpose_locked)
		strcat(why, " has its purpose locked;");
	if (ks.purpose != KP_USER && d->chip->efuse->family != EFUSE_FAMILY_ESP32)
		snprintf(why + strlen(why), sizeof why - strlen(why), " has purpose %s;",
			 chip_purpose_name(ks.purpose));
	size_t wl = strlen(why);
	if (wl && why[wl - 1] == ';')
		why[wl - 1] = '\0';
	return err_set_msg(e, ERR_CHECK,
			   "refusing to burn %s: the block is not empty (it%s); eFuse bits cannot "
			   "be cleared, choose a free block",
			   ks.name, why);
}

int efuse_plan_key(const struct chip_desc *chip, const struct efuse_dump *d,
		   const struct efuse_burn_req *req, struct efuse_key_plan *plan, err_t *e)
{
	memset(plan, 0, sizeof(*plan));
	plan->chip = chip;
	const struct chip_desc *named = chip_find_by_name(req->chip_name);
	if (!named)
		return err_set_msg(e, ERR_USAGE, "unknown chip '%s'", req->chip_name ? req->chip_name : "");
	if (named != chip)
		return err_set_msg(e, ERR_CHECK,
				   "refusing to burn: the connected chip is an %s, but %s was named",
				   chip->name, named->name);
	int idx = chip_efuse_find_block(chip, req->block);
	if (idx < 0)
		return err_set_msg(e, ERR_USAGE, "the %s has no eFuse block '%s'", chip->name, req->block);
	if (chip_check_purpose(chip, idx, req->purpose, e))
		return -1;
	const struct efuse_block_desc *b = &chip->efuse->blocks[idx];
	const char *pn = chip_purpose_name(req->purpose);
	struct efuse_security sec;
	efuse_security_state(d, &sec);
	bool with_digest = req->sb_digest != NULL;
	if (with_digest && (chip->efuse->family != EFUSE_FAMILY_C2 ||
			    req->purpose != KP_C2_XTS_AES_128_KEY_DERIVED))
		return err_set_msg(e, ERR_USAGE,
				   "a secure-boot digest shares its key block only on the ESP32-C2, "
				   "beside an XTS_AES_128_KEY_DERIVED_FROM_128_EFUSE_BITS key (not %s on "
				   "the %s)",
				   pn, chip->name);
	if (req->read_protect && !chip_purpose_wants_read_protect(req->purpose))
		return err_set_msg(e, ERR_USAGE,
				   "%s must stay readable (the ROM reads it); --read-protect refused", pn);
	if (req->read_protect && sec.rd_dis_locked)
		return err_set_msg(e, ERR_CHECK,
				   "cannot read-protect %s: RD_DIS is already write-protected (WR_DIS "
				   "bit 0)",
				   b->name);
	if (chip->type == CHIP_ESP32 && req->purpose == KP_ESP32_SECURE_BOOT_V2 && req->rev_major < 3)
		return err_set_msg(e, ERR_CHECK,
				   "secure boot v2 needs ESP32 revision v3.0 or later (this chip is v%u.x)",
				   req->rev_major);
	if (req->xtal_mhz && chip->efuse->family == EFUSE_FAMILY_GEN2 && chip->type != CHIP_ESP32S2) {
		unsigned want = chip->type == CHIP_ESP32H2 ? 32 : 40;
		if (req->xtal_mhz != want)
			return err_set_msg(e, ERR_CHECK,
					   "eFuse programming timings need a %u MHz crystal; this %s "
					   "reports %u MHz",
					   want, chip->name, req->xtal_mhz);
	}
	struct efuse_key_status cur;
	efuse_key_status(d, idx, &cur);
	if (!req->resume && check_block_empty(d, idx, e))
		return -1;

	uint8_t bytes[32];
	size_t blen;
	plan->coding = b->coding;
	if (chip->efuse->family == EFUSE_FAMILY_ESP32 && sec.coding_scheme == 1) {
		/* 3/4 coding: 192-bit keys */
		plan->coding = EFUSE_CODING_34;
		if (req->purpose == KP_ESP32_SECURE_BOOT_V2)
			return err_set_msg(e, ERR_CHECK,
					   "this ESP32 uses 3/4 eFuse coding (192-bit blocks): a "
					   "secure boot v2 digest does not fit");
		if (req->key_len != 24)
			return err_set_msg(e, ERR_CHECK,
					   "this ESP32 uses 3/4 eFuse coding: %s needs a 24-byte key "
					   "(got %zu bytes)",
					   pn, req->key_len);
		uint8_t k24[24];
		if (chip_purpose_is_reversed(req->purpose))
			reverse_into(k24, req->key, 24);
		else
			memcpy(k24, req->key, 24);
		efuse_34_encode(k24, bytes);
		mbedtls_platform_zeroize(k24, sizeof k24);
		blen = 32;
	} else if (chip->efuse->family == EFUSE_FAMILY_ESP32 && sec.coding_scheme == 2) {
		return err_set_msg(e, ERR_CHECK, "this ESP32 uses the repeat eFuse coding scheme, "
						 "which espfab does not support");
	} else if (efuse_key_block_bytes(chip, req->purpose, req->key, req->key_len, bytes, &blen, e)) {
		return -1;
	}
	if (with_digest) {
		/* the digest's own layout puts it in bytes 16..31, as is (not reversed) */
		uint8_t hi[32];
		size_t hlen;
		if (efuse_key_block_bytes(chip, KP_C2_SECURE_BOOT_DIGEST, req->sb_digest,
					  req->sb_digest_len, hi, &hlen, e)) {
			mbedtls_platform_zeroize(bytes, sizeof bytes);
			return err_prepend_context(e, "the digest for the upper half of %s", b->name);
		}
		bool zero = true;
		for (int i = 16; i < 32; i++) {
			bytes[i] = hi[i];
			zero &= hi[i] == 0;
		}
		if (zero) {
			mbedtls_platform_zeroize(bytes, sizeof bytes);
			return err_set_msg(e, ERR_CHECK, "refusing to burn an all-zero secure-boot digest "
							 "into the upper half of %s", b->name);
		}
	}
	for (int w = 0; w < 8; w++)
		plan->data[w] = (uint32_t)bytes[4 * w] | (uint32_t)bytes[4 * w + 1] << 8 |
				(uint32_t)bytes[4 * w + 2] << 16 | (uint32_t)bytes[4 * w + 3] << 24;
	if (plan->coding == EFUSE_CODING_RS)
		efuse_rs_check_words(bytes, plan->check);
	mbedtls_platform_zeroize(bytes, sizeof bytes);
	bool all_zero = true;
	for (int w = 0; w < 8; w++)
		all_zero &= plan->data[w] == 0;
	if (all_zero)
		return err_set_msg(e, ERR_CHECK, "refusing to burn an all-zero key into %s", b->name);

	if (req->resume && !cur.empty) {
		bool purpose_ok = cur.purpose == req->purpose ||
				  (chip->efuse->family == EFUSE_FAMILY_GEN2 && cur.purpose == KP_USER &&
				   !cur.purpose_locked);
		if (chip->efuse->family != EFUSE_FAMILY_GEN2)
			purpose_ok = true; /* role fixed by the block (ESP32) or by the data (C2) */
		if (!purpose_ok)
			return err_set_msg(e, ERR_CHECK,
					   "cannot resume on %s: it has purpose %s, not %s", b->name,
					   chip_purpose_name(cur.purpose), pn);
		if (cur.read_protected) {
			if (!req->read_protect || cur.purpose != req->purpose ||
			    (!req->no_write_protect && !cur.write_protected))
				return err_set_msg(e, ERR_CHECK,
						   "cannot resume on %s: it is read-protected, so its "
						   "content cannot be compared with the key",
						   b->name);
			/* the digest half stays readable: it must be this digest */
			for (int w = 4; w < 8 && with_digest; w++)
				if (d->words[idx][w] != plan->data[w])
					return err_set_msg(e, ERR_CHECK,
							   "cannot resume on %s: its upper half holds a "
							   "different secure-boot digest",
							   b->name);
			plan->nothing_to_do = true;
		} else {
			for (int w = 0; w < b->words; w++)
				if (d->words[idx][w] != plan->data[w])
					return err_set_msg(e, ERR_CHECK,
							   "cannot resume on %s: it holds a different "
							   "key; eFuse bits cannot be cleared",
							   b->name);
		}
		plan->skip_data = true;
	}
	plan->block_idx = idx;
	plan->block_num = b->num;
	plan->purpose = req->purpose;
	plan->reversed = chip_purpose_is_reversed(req->purpose);
	plan->read_protect = req->read_protect;
	plan->write_protect = !req->no_write_protect;
	plan->with_digest = with_digest;
	if (chip->efuse->family == EFUSE_FAMILY_GEN2 && req->purpose != KP_USER)
		set_field_bits(chip, plan->blk0_purpose,
			       chip_efuse_purpose_field((unsigned)b->key_index), (uint32_t)req->purpose);
	if (chip->efuse->family == EFUSE_FAMILY_C2 && req->purpose == KP_XTS_AES_128_KEY)
		set_field_bits(chip, plan->blk0_purpose, EF_XTS_KEY_LENGTH_256, 1);
	if (plan->write_protect) {
		set_wr_dis_bit(chip, plan->blk0_protect, b->wr_dis_bit);
		if (chip->efuse->family == EFUSE_FAMILY_GEN2) {
			const struct efuse_field_desc *pf =
				chip_efuse_field(chip, chip_efuse_purpose_field((unsigned)b->key_index));
			set_wr_dis_bit(chip, plan->blk0_protect, pf->wr_dis_bit);
			plan->purpose_lock = true;
		}
	}
	if (plan->read_protect) {
		if (chip->efuse->family == EFUSE_FAMILY_C2) {
			set_rd_dis_bit(chip, plan->blk0_protect, b->rd_dis_bit);
			if (req->purpose == KP_XTS_AES_128_KEY)
				set_rd_dis_bit(chip, plan->blk0_protect, b->rd_dis_bit2);
		} else {
			set_rd_dis_bit(chip, plan->blk0_protect, b->rd_dis_bit);
		}
	}
	snprintf(plan->summary, sizeof plan->summary,
		 "%s: %s a %zu-byte key into %s (%s) with purpose %s%s%s, %s, %s%s", chip->name,
		 plan->nothing_to_do ? "already burned:" : (plan->skip_data ? "finish burning" : "burn"),
		 req->key_len, b->name, b->alias, pn, plan->reversed ? " (byte-reversed)" : "",
		 plan->coding == EFUSE_CODING_RS ? ", Reed-Solomon coded"
						 : (plan->coding == EFUSE_CODING_34 ? ", 3/4 coded" : ""),
		 plan->read_protect ? "READ-PROTECTED (software can never read it back)"
				    : "left readable",
		 plan->write_protect ? "write-protected" : "left writable",
		 plan->purpose_lock ? ", purpose locked" : "");
	if (with_digest) {
		size_t sl = strlen(plan->summary);
		snprintf(plan->summary + sl, sizeof plan->summary - sl,
			 "; in the same burn its upper half takes the first 16 bytes of the "
			 "secure-boot digest (as is), left readable for the ROM");
	}
	return 0;
}

int efuse_plan_refresh(struct efuse_key_plan *plan, const struct efuse_dump *d, err_t *e)
{
	const struct efuse_block_desc *b = &plan->chip->efuse->blocks[plan->block_idx];
	struct efuse_key_status ks;
	efuse_key_status(d, plan->block_idx, &ks);
	plan->skip_data = plan->nothing_to_do = false;
	if (ks.empty)
		return 0;
	if (!ks.read_protected) {
		for (int w = 0; w < b->words; w++)
			if (d->words[plan->block_idx][w] != plan->data[w])
				return err_set_msg(e, ERR_CHECK,
						   "%s holds a different key; eFuse bits cannot be "
						   "cleared",
						   b->name);
		plan->skip_data = true;
		return 0;
	}
	if (plan->read_protect && ks.purpose == plan->purpose &&
	    ks.write_protected == plan->write_protect) {
		for (int w = 4; w < 8 && plan->with_digest; w++)
			if (d->words[plan->block_idx][w] != plan->data[w])
				return err_set_msg(e, ERR_CHECK,
						   "%s: its upper half holds a different secure-boot "
						   "digest",
						   b->name);
		plan->skip_data = plan->nothing_to_do = true;
		return 0;
	}
	return err_set_msg(e, ERR_CHECK,
			   "%s is read-protected but incomplete: its content cannot be compared "
			   "with the key",
			   b->name);
}

/* ---- burning ---- */

static int reg_rd(const struct efuse_io *io, uint32_t addr, uint32_t *v, err_t *e)
{
	return io->read(io->ctx, addr, v, e);
}

static int reg_wr(const struct efuse_io *io, uint32_t addr, uint32_t v, uint32_t delay, err_t *e)
{
	return io->write(io->ctx, addr, v, delay, e);
}

static int reg_rmw(const struct efuse_io *io, uint32_t addr, uint32_t mask, uint32_t v, err_t *e)
{
	uint32_t old;
	if (reg_rd(io, addr, &old, e))
		return -1;
	return reg_wr(io, addr, (old & ~mask) | (v & mask), 0, e);
}

static int wait_idle(const struct efuse_io *io, const struct chip_desc *chip, err_t *e)
{
	const struct efuse_layout *l = chip->efuse;
	uint32_t addr = chip->efuse_base + l->cmd_off;
	uint32_t busy_mask = l->family == EFUSE_FAMILY_ESP32 ? 0xFFFFFFFFu : 0x3u;
	int idle_reads = 0;
	for (int i = 0; i < 100; i++) {
		uint32_t v;
		if (reg_rd(io, addr, &v, e))
			return -1;
		/* read twice: READ_CMD can look done one read early (hardware erratum) */
		if ((v & busy_mask) == 0) {
			if (++idle_reads == 2)
				return 0;
		} else {
			idle_reads = 0;
		}
	}
	return err_set_msg(e, ERR_DEVICE, "the eFuse controller stays busy (CMD register)");
}

static int set_timing(const struct efuse_io *io, const struct chip_desc *chip, unsigned xtal,
		      err_t *e)
{
	const struct efuse_layout *l = chip->efuse;
	uint32_t base = chip->efuse_base;
	if (l->family == EFUSE_FAMILY_ESP32) {
		uint32_t sel0 = 160, sel1 = 255, div = 80;
		if (xtal == 26) {
			sel0 = 250;
			div = 52;
		}
		if (reg_rmw(io, base + l->clk_off, 0xFFFF, sel0 | sel1 << 8, e) ||
		    reg_rmw(io, base + l->dac_conf_off, 0xFF, div, e))
			return -1;
		return 0;
	}
	if (reg_rmw(io, base + l->dac_conf_off, (0xFFu << 9) | 0xFFu, (0xFFu << 9) | 0x28u, e) ||
	    reg_rmw(io, base + l->wr_tim_conf1_off, 0xFFFFu << 8, 0x3000u << 8, e) ||
	    reg_rmw(io, base + l->wr_tim_conf2_off, 0xFFFF, 0x190, e))
		return -1;
	return 0;
}

/* Programs one block: data words (and RS parity) into the write window, program, reload. */
static int burn_block(const struct efuse_io *io, const struct chip_desc *chip, int idx,
		      const uint32_t data[8], const uint32_t check[3], err_t *e)
{
	const struct efuse_layout *l = chip->efuse;
	const struct efuse_block_desc *b = &l->blocks[idx];
	uint32_t base = chip->efuse_base;
	if (l->family == EFUSE_FAMILY_ESP32) {
		int words = b->num == 0 ? 7 : 8;
		for (int w = 0; w < words; w++)
			if (reg_wr(io, base + b->write_off + 4u * (unsigned)w, data[w], 0, e))
				return -1;
		if (reg_wr(io, base + l->conf_off, EFUSE_CONF_WRITE, 0, e) ||
		    reg_wr(io, base + l->cmd_off, EFUSE_CMD_PGM, 0, e) || wait_idle(io, chip, e))
			return -1;
		for (int w = 0; w < words; w++)
			if (reg_wr(io, base + b->write_off + 4u * (unsigned)w, 0, 0, e))
				return -1;
		if (reg_wr(io, base + l->conf_off, EFUSE_CONF_READ, 0, e) ||
		    reg_wr(io, base + l->cmd_off, EFUSE_CMD_READ, 1000, e) || wait_idle(io, chip, e))
			return -1;
		return 0;
	}
	if (wait_idle(io, chip, e))
		return -1;
	for (int w = 0; w < 8; w++)
		if (reg_wr(io, base + l->pgm_data_off + 4u * (unsigned)w, 0, 0, e))
			return -1;
	if (wait_idle(io, chip, e))
		return -1;
	for (int w = 0; w < 8; w++)
		if (reg_wr(io, base + l->pgm_data_off + 4u * (unsigned)w, data[w], 0, e))
			return -1;
	for (int w = 0; w < 3; w++)
		if (reg_wr(io, base + l->check_value_off + 4u * (unsigned)w, check ? check[w] : 0, 0, e))
			return -1;
	if (reg_wr(io, base + l->conf_off, EFUSE_CONF_WRITE, 0, e) ||
	    reg_wr(io, base + l->cmd_off, EFUSE_CMD_PGM | (uint32_t)b->num << 2, 0, e) ||
	    wait_idle(io, chip, e))
		return -1;
	for (int w = 0; w < 8; w++)
		if (reg_wr(io, base + l->pgm_data_off + 4u * (unsigned)w, 0, 0, e))
			return -1;
	for (int w = 0; w < 3; w++)
		if (reg_wr(io, base + l->check_value_off + 4u * (unsigned)w, 0, 0, e))
			return -1;
	if (reg_wr(io, base + l->conf_off, EFUSE_CONF_READ, 0, e) ||
	    reg_wr(io, base + l->cmd_off, EFUSE_CMD_READ, 1000, e) || wait_idle(io, chip, e))
		return -1;
	return 0;
}

/* Error registers after a burn: uncorrectable RS errors / BLOCK0 copy mismatches. */
static int check_errors(const struct efuse_io *io, const struct chip_desc *chip, int idx, err_t *e)
{
	const struct efuse_layout *l = chip->efuse;
	const struct efuse_block_desc *b = &l->blocks[idx];
	uint32_t base = chip->efuse_base, v0 = 0, v1 = 0;
	if (l->family == EFUSE_FAMILY_ESP32) {
		if (b->num == 0 || !l->dec_status_off)
			return 0;
		if (reg_rd(io, base + l->dec_status_off, &v0, e))
			return -1;
		if (v0 & 0xFFF)
			return err_set_msg(e, ERR_DEVICE, "eFuse 3/4 decode errors after burning %s "
							  "(DEC_STATUS 0x%03x)",
					   b->name, v0 & 0xFFF);
		return 0;
	}
	if (b->num == 0) {
		for (int w = 0; w < l->repeat_err_words; w++) {
			if (reg_rd(io, base + l->repeat_err_off + 4u * (unsigned)w, &v0, e))
				return -1;
			if (v0)
				return err_set_msg(e, ERR_DEVICE,
						   "BLOCK0 copies disagree after the burn (RD_REPEAT_ERR%d "
						   "= 0x%08x)",
						   w, v0);
		}
		return 0;
	}
	if (reg_rd(io, base + l->rs_err0_off, &v0, e))
		return -1;
	if (l->rs_err1_off && reg_rd(io, base + l->rs_err1_off, &v1, e))
		return -1;
	uint64_t all = (uint64_t)v1 << 32 | v0;
	unsigned slot = (unsigned)b->num - 1;
	unsigned fail_bit = 4 * slot + (l->rs_fail_bit_late ? 7 : 3);
	if ((all >> fail_bit) & 1)
		return err_set_msg(e, ERR_DEVICE,
				   "%s reports an uncorrectable Reed-Solomon error after the burn",
				   b->name);
	return 0;
}

static int burn_and_verify(const struct efuse_io *io, const struct chip_desc *chip, int idx,
			   const uint32_t data[8], const uint32_t check[3], bool compare_exact,
			   struct efuse_dump *d, err_t *e)
{
	const struct efuse_block_desc *b = &chip->efuse->blocks[idx];
	/* A program operation changes the target block only: its read-back covers the words that
	 * are compared (every word for an exact compare, else those with bits to set); the whole
	 * state is read, twice, once the burn is over. */
	unsigned words = 0;
	for (int w = 0; w < b->words; w++)
		if (compare_exact || data[w])
			words |= 1u << w;
	for (int attempt = 0;; attempt++) {
		if (burn_block(io, chip, idx, data, check, e) || check_errors(io, chip, idx, e) ||
		    read_block_words(io, chip, d, idx, words, e))
			return err_prepend_context(e, "burning %s", b->name);
		bool ok = true;
		for (int w = 0; w < b->words; w++) {
			uint32_t have = d->words[idx][w];
			if (compare_exact ? have != data[w] : (have & data[w]) != data[w])
				ok = false;
		}
		if (ok)
			return 0;
		if (attempt >= 2)
			return err_set_msg(e, ERR_DEVICE,
					   "%s does not read back what was burned after 3 attempts: "
					   "the eFuse may be partially written; do not retry on this "
					   "board without checking `espfab efuse summary`",
					   b->name);
	}
}

/* Reload the shadow registers before deciding what to burn: a burn interrupted between its
 * program command and its reload would otherwise look unburned and be burned a second time. */
int efuse_reload(const struct efuse_io *io, const struct chip_desc *chip, err_t *e)
{
	const struct efuse_layout *l = chip->efuse;
	if (wait_idle(io, chip, e) ||
	    reg_wr(io, chip->efuse_base + l->conf_off, EFUSE_CONF_READ, 0, e) ||
	    reg_wr(io, chip->efuse_base + l->cmd_off, EFUSE_CMD_READ, 1000, e) ||
	    wait_idle(io, chip, e))
		return err_prepend_context(e, "reloading the eFuse registers");
	return 0;
}

int efuse_burn_plan(const struct efuse_io *io, const struct efuse_key_plan *plan, err_t *e)
{
	struct efuse_dump after;
	return efuse_burn_plan_dump(io, plan, &after, e);
}

int efuse_burn_plan_dump(const struct efuse_io *io, const struct efuse_key_plan *plan,
			 struct efuse_dump *after, err_t *e)
{
	const struct chip_desc *chip = plan->chip;
	struct efuse_dump d;
	/* whether the block is still free rests on BLOCK0 (purpose, protection) and the block
	 * itself, read twice alike after the reload */
	if (efuse_reload(io, chip, e))
		return -1;
	if (plan->nothing_to_do)
		return efuse_read_dump_stable(io, chip, after, e);
	if (efuse_read_blocks_stable(io, chip, 1u | 1u << plan->block_idx, &d, e))
		return -1;
	if (!plan->skip_data && check_block_empty(&d, plan->block_idx, e))
		return -1;
	unsigned xtal = chip->xtal_mhz[0];
	if (chip->xtal_mhz[1] && chip_read_crystal(chip, io->read, io->ctx, 115200, &xtal, e))
		return -1;
	if (set_timing(io, chip, xtal, e))
		return err_prepend_context(e, "setting the eFuse programming timing");
	/* 1. key data, read back exactly (3/4-coded ESP32 blocks read back raw as well) */
	if (!plan->skip_data && burn_and_verify(io, chip, plan->block_idx, plan->data,
			    plan->coding == EFUSE_CODING_RS ? plan->check : NULL, true, &d, e))
		return -1;
	/* 2. purpose (BLOCK0, first burn) */
	bool any = false;
	for (int w = 0; w < 8; w++)
		any |= plan->blk0_purpose[w] != 0;
	if (any && burn_and_verify(io, chip, 0, plan->blk0_purpose, NULL, false, &d, e))
		return err_prepend_context(e, "setting the key purpose");
	/* 3. protection bits last, so a failure above leaves the block inspectable */
	any = false;
	for (int w = 0; w < 8; w++)
		any |= plan->blk0_protect[w] != 0;
	if (any && burn_and_verify(io, chip, 0, plan->blk0_protect, NULL, false, &d, e))
		return err_prepend_context(e, "setting the protection bits");
	/* the final state, read twice alike: verified here and handed to the caller */
	if (efuse_read_dump_stable(io, chip, after, e))
		return -1;
	d = *after;
	struct efuse_key_status ks;
	efuse_key_status(&d, plan->block_idx, &ks);
	/* what stays readable must read back exactly: the whole block, or the digest half */
	for (int w = plan->read_protect ? (plan->with_digest ? 4 : 8) : 0; w < 8; w++)
		if (d.words[plan->block_idx][w] != plan->data[w])
			return err_set_msg(e, ERR_DEVICE, "%s does not hold the %s after the burn",
					   ks.name, w >= 4 && plan->with_digest ? "digest" : "key");
	if (plan->read_protect != ks.read_protected || plan->write_protect != ks.write_protected)
		return err_set_msg(e, ERR_DEVICE, "%s protection bits did not take (read-protected %s, "
						  "write-protected %s)",
				   ks.name, ks.read_protected ? "yes" : "no",
				   ks.write_protected ? "yes" : "no");
	return 0;
}

int efuse_load_key_file(const char *path, int purpose, buf_t *key, err_t *e)
{
	buf_t raw = BUF_INIT;
	if (fileio_read_secret(path, &raw, e))
		return -1;
	bool pem = raw.len > 10 && memcmp(raw.data, "-----BEGIN", 10) == 0;
	if (purpose != KP_ECDSA_KEY || (!pem && raw.len <= 32)) {
		buf_append_bytes(key, raw.data, raw.len);
		buf_wipe_data(&raw);
		return 0;
	}
	/* mbedtls wants PEM NUL-terminated, with the NUL counted */
	if (pem)
		buf_append_byte(&raw, 0);
	mbedtls_pk_context pk;
	mbedtls_pk_init(&pk);
	int rc = mbedtls_pk_parse_key(&pk, raw.data, raw.len, NULL, 0);
	buf_wipe_data(&raw);
	if (rc != 0 || mbedtls_pk_get_type(&pk) != MBEDTLS_PK_ECKEY) {
		mbedtls_pk_free(&pk);
		return err_set_msg(e, ERR_CHECK, "%s: not an EC private key (PEM or DER)", path);
	}
	mbedtls_ecp_keypair *ec = mbedtls_pk_ec(pk);
	size_t n = mbedtls_mpi_size(&ec->grp.P);
	if (ec->grp.id != MBEDTLS_ECP_DP_SECP256R1 || n != 32) {
		mbedtls_pk_free(&pk);
		return err_set_msg(e, ERR_CHECK, "%s: the ECDSA eFuse key must be a P-256 key", path);
	}
	uint8_t d[32];
	rc = mbedtls_mpi_write_binary(&ec->d, d, sizeof d);
	mbedtls_pk_free(&pk);
	if (rc != 0)
		return err_set_msg(e, ERR_CHECK, "%s: cannot extract the private scalar", path);
	buf_append_bytes(key, d, sizeof d);
	mbedtls_platform_zeroize(d, sizeof d);
	return 0;
}

/* ---- BLOCK0 fields ---- */

int efuse_field_parse(const struct chip_desc *chip, const char *name, enum efuse_field_id *f,
		      err_t *e)
{
	*f = chip_efuse_field_by_name(chip, name);
	if (*f == EF_COUNT)
		return err_set_msg(e, ERR_USAGE, "the %s has no eFuse field '%s' that espfab can burn",
				   chip->name, name ? name : "");
	return 0;
}

/* Which BLOCK0 burn a field goes into (efuse.md §6 ordering, link-cutting bits last). */
static int field_stage(enum efuse_field_id f)
{
	switch (f) {
	case EF_ENABLE_SECURITY_DOWNLOAD:
	case EF_DIS_DOWNLOAD_MODE:
	case EF_UART_DOWNLOAD_DIS:
	case EF_DIS_USB_SERIAL_JTAG_DOWNLOAD_MODE:
		return 2;
	case EF_WR_DIS:
	case EF_RD_DIS:
	case EF_CRYPT_CNT:
	case EF_SECURE_BOOT_EN:
	case EF_ABS_DONE_0:
	case EF_ABS_DONE_1:
		return 1;
	default:
		return 0;
	}
}

static bool field_is_mask(enum efuse_field_id f)
{
	return f == EF_WR_DIS || f == EF_RD_DIS;
}

int efuse_plan_fields(const struct chip_desc *chip, const struct efuse_dump *d,
		      const struct efuse_field_write *w, size_t n, struct efuse_field_plan *p,
		      err_t *e)
{
	struct efuse_field_write saved[EFUSE_MAX_FIELD_WRITES];
	if (n > EFUSE_MAX_FIELD_WRITES)
		return err_set_msg(e, ERR_USAGE, "at most %d fields per burn", EFUSE_MAX_FIELD_WRITES);
	if (n == 0)
		return err_set_msg(e, ERR_USAGE, "no eFuse field to burn");
	if (d->chip != chip)
		return err_set_msg(e, ERR_CHECK, "the eFuse dump is from another chip");
	memcpy(saved, w, n * sizeof *w);
	memset(p, 0, sizeof(*p));
	p->chip = chip;
	memcpy(p->w, saved, n * sizeof *w);
	p->n = n;
	for (int k = 0; k < 8; k++)
		p->want[k] = d->words[0][k];
	size_t sl = 0;
	uint32_t new_wr_dis = 0;
	sl += (size_t)snprintf(p->summary, sizeof p->summary, "%s BLOCK0:", chip->name);
	for (size_t i = 0; i < n; i++) {
		const struct efuse_field_desc *fd = chip_efuse_field(chip, p->w[i].field);
		if (!fd || fd->block != 0)
			return err_set_msg(e, ERR_USAGE, "the %s has no such BLOCK0 field (id %d)",
					   chip->name, (int)p->w[i].field);
		for (size_t j = 0; j < i; j++)
			if (p->w[j].field == p->w[i].field)
				return err_set_msg(e, ERR_USAGE, "%s is named twice", fd->name);
		uint32_t mask = field_mask(fd->width), v = p->w[i].value;
		if (v & ~mask)
			return err_set_msg(e, ERR_USAGE,
					   "%s is %u bit%s wide: 0x%x does not fit (at most 0x%x)",
					   fd->name, fd->width, fd->width == 1 ? "" : "s", v, mask);
		uint32_t cur = efuse_field_value(d, p->w[i].field);
		if (field_is_mask(p->w[i].field))
			v |= cur;
		if (cur & ~v)
			return err_set_msg(e, ERR_CHECK,
					   "%s holds 0x%x; 0x%x would need a burned bit cleared "
					   "(eFuse bits only go 0->1)",
					   fd->name, cur, p->w[i].value);
		uint32_t add = v & ~cur;
		if (!add)
			continue;
		if (fd->wr_dis_bit >= 0 && wr_dis_set(d, fd->wr_dis_bit))
			return err_set_msg(e, ERR_CHECK,
					   "%s is write-protected (WR_DIS bit %d): it cannot change "
					   "from 0x%x to 0x%x",
					   fd->name, fd->wr_dis_bit, cur, v);
		int st = field_stage(p->w[i].field);
		p->burn[st][fd->word] |= add << fd->bit;
		p->want[fd->word] |= add << fd->bit;
		if (p->w[i].field == EF_WR_DIS)
			new_wr_dis = add;
		if (st == 2 && chip->type != CHIP_ESP32)
			p->cuts_link = true;
		if (sl < sizeof p->summary)
			sl += (size_t)snprintf(p->summary + sl, sizeof p->summary - sl,
					       " %s 0x%x -> 0x%x%s;", fd->name, cur, v,
					       st == 2 ? " (cuts download mode)" : "");
	}
	/* a WR_DIS bit burned in the second pass must not lock a field of the third */
	for (size_t i = 0; i < n; i++) {
		const struct efuse_field_desc *fd = chip_efuse_field(chip, p->w[i].field);
		if (field_stage(p->w[i].field) == 2 && fd->wr_dis_bit >= 0 &&
		    ((new_wr_dis >> fd->wr_dis_bit) & 1) &&
		    (p->burn[2][fd->word] >> fd->bit) & field_mask(fd->width))
			return err_set_msg(e, ERR_USAGE,
					   "WR_DIS bit %d would lock %s before it is burned; burn "
					   "them separately",
					   fd->wr_dis_bit, fd->name);
	}
	bool any = false;
	for (int s = 0; s < 3; s++)
		for (int k = 0; k < 8; k++)
			any |= p->burn[s][k] != 0;
	p->nothing_to_do = !any;
	if (!any && sl < sizeof p->summary)
		snprintf(p->summary + sl, sizeof p->summary - sl, " every field already holds its value");
	return 0;
}

int efuse_burn_fields(const struct efuse_io *io, struct efuse_field_plan *p, bool *link_cut,
		      err_t *e)
{
	struct efuse_dump after;
	return efuse_burn_fields_dump(io, p, link_cut, &after, NULL, e);
}

int efuse_burn_fields_dump(const struct efuse_io *io, struct efuse_field_plan *p, bool *link_cut,
			   struct efuse_dump *after, bool *have_after, err_t *e)
{
	const struct chip_desc *chip = p->chip;
	struct efuse_dump d;
	if (link_cut)
		*link_cut = false;
	if (have_after)
		*have_after = false;
	/* the fields all live in BLOCK0: the re-plan rests on it, read twice alike */
	if (efuse_reload(io, chip, e) || efuse_read_blocks_stable(io, chip, 1u, &d, e))
		return -1;
	/* fresh plan: after an interrupted burn only the missing bits are burned */
	struct efuse_field_write w[EFUSE_MAX_FIELD_WRITES];
	size_t n = p->n;
	memcpy(w, p->w, n * sizeof *w);
	if (efuse_plan_fields(chip, &d, w, n, p, e))
		return -1;
	if (p->nothing_to_do)
		return 0;
	unsigned xtal = chip->xtal_mhz[0];
	if (chip->xtal_mhz[1] && chip_read_crystal(chip, io->read, io->ctx, 115200, &xtal, e))
		return -1;
	if (set_timing(io, chip, xtal, e))
		return err_prepend_context(e, "setting the eFuse programming timing");
	for (int s = 0; s < 3; s++) {
		bool any = false;
		for (int k = 0; k < 8; k++)
			any |= p->burn[s][k] != 0;
		if (!any)
			continue;
		if (s == 2 && p->cuts_link) {
			/* the reload after programming switches the ROM to Secure Download Mode:
			 * the controller can no longer be read, the caller verifies via the ROM */
			err_t ie = {0};
			if (burn_block(io, chip, 0, p->burn[s], NULL, &ie) == 0 &&
			    read_block_words(io, chip, &d, 0, 0xFFu, &ie) == 0) {
				for (int k = 0; k < 8; k++)
					if ((d.words[0][k] & p->burn[s][k]) != p->burn[s][k])
						return err_set_msg(e, ERR_DEVICE,
								   "BLOCK0 word %d lacks bits 0x%08x "
								   "after the burn",
								   k, p->burn[s][k] & ~d.words[0][k]);
				return 0;
			}
			if (link_cut)
				*link_cut = true;
			return 0;
		}
		if (burn_and_verify(io, chip, 0, p->burn[s], NULL, false, &d, e))
			return err_prepend_context(e, "burning BLOCK0 fields (pass %d)", s + 1);
	}
	/* the final state, read twice alike: verified here and handed to the caller */
	if (efuse_read_dump_stable(io, chip, after, e))
		return -1;
	for (int k = 0; k < 8; k++)
		if ((after->words[0][k] & p->want[k]) != p->want[k])
			return err_set_msg(e, ERR_DEVICE, "BLOCK0 word %d reads 0x%08x, lacking 0x%08x",
					   k, after->words[0][k], p->want[k] & ~after->words[0][k]);
	if (have_after)
		*have_after = true;
	return 0;
}

static void writes_add(struct efuse_field_write *w, size_t *n, const struct chip_desc *chip,
		       enum efuse_field_id f, uint32_t v)
{
	if (!efuse_field_present(chip, f) || *n >= EFUSE_MAX_FIELD_WRITES)
		return;
	for (size_t i = 0; i < *n; i++)
		if (w[i].field == f) {
			w[i].value |= v;
			return;
		}
	w[*n].field = f;
	w[*n].value = v;
	(*n)++;
}

/* Enabling the counter without an XTS key in eFuse leaves a chip that cannot decrypt its flash. */
static bool fe_key_present(const struct efuse_dump *d)
{
	const struct efuse_layout *l = d->chip->efuse;
	for (int b = 0; b < l->n_key_blocks; b++) {
		struct efuse_key_status ks;
		efuse_key_status(d, l->first_key_block + b, &ks);
		if (ks.data_zero && !ks.read_protected)
			continue;
		switch (l->family) {
		case EFUSE_FAMILY_ESP32:
			if (ks.purpose == KP_ESP32_FLASH_ENCRYPTION)
				return true;
			break;
		case EFUSE_FAMILY_C2:
			if (ks.purpose == KP_XTS_AES_128_KEY ||
			    ks.purpose == KP_C2_XTS_AES_128_KEY_DERIVED)
				return true;
			break;
		case EFUSE_FAMILY_GEN2:
			if (ks.purpose == KP_XTS_AES_128_KEY || ks.purpose == KP_XTS_AES_256_KEY_1 ||
			    ks.purpose == KP_XTS_AES_256_KEY_2)
				return true;
			break;
		}
	}
	return false;
}

int efuse_writes_fe_enable(const struct efuse_dump *d, bool release, struct efuse_field_write *w,
			   size_t *n, err_t *e)
{
	const struct chip_desc *chip = d->chip;
	const struct efuse_field_desc *cf = chip_efuse_field(chip, EF_CRYPT_CNT);
	*n = 0;
	if (!cf)
		return err_set_msg(e, ERR_CHECK, "the %s has no flash-encryption counter", chip->name);
	uint32_t mask = field_mask(cf->width), c = efuse_field_value(d, EF_CRYPT_CNT);
	uint32_t v = c;
	if (!(__builtin_popcount(c) & 1))
		v = (c | (c + 1)) & mask; /* next odd popcount: one more bit from the bottom */
	if (release)
		v = mask; /* all bits: flash encryption can never be turned off again */
	if (v == c && !(__builtin_popcount(c) & 1))
		return err_set_msg(e, ERR_CHECK, "%s is exhausted (0x%x): flash encryption cannot be "
						 "enabled again",
				   cf->name, c);
	if (!fe_key_present(d))
		return err_set_msg(e, ERR_CHECK,
				   "refusing to enable flash encryption on the %s: no key block holds "
				   "a flash-encryption key (burn the key first)",
				   chip->name);
	writes_add(w, n, chip, EF_CRYPT_CNT, v);
	/* ESP32: the key tweak the host-side encryption assumes (espsecure default 0xF) */
	writes_add(w, n, chip, EF_FLASH_CRYPT_CONFIG, 0xF);
	if (!release)
		return 0;
	if (chip->type == CHIP_ESP32) {
		writes_add(w, n, chip, EF_DISABLE_DL_ENCRYPT, 1);
		writes_add(w, n, chip, EF_DISABLE_DL_DECRYPT, 1);
		writes_add(w, n, chip, EF_DISABLE_DL_CACHE, 1);
		writes_add(w, n, chip, EF_JTAG_DISABLE, 1);
		writes_add(w, n, chip, EF_CONSOLE_DEBUG_DISABLE, 1);
		/* BLOCK1 (the FE key) read- and write-protected; DIS_CACHE locked via WR_DIS 3 */
		writes_add(w, n, chip, EF_RD_DIS, 1u << chip->efuse->blocks[1].rd_dis_bit);
		writes_add(w, n, chip, EF_WR_DIS,
			   1u << chip->efuse->blocks[1].wr_dis_bit | 1u << 3);
		return 0;
	}
	writes_add(w, n, chip, EF_DIS_DOWNLOAD_MANUAL_ENCRYPT, 1);
	writes_add(w, n, chip, EF_DIS_DOWNLOAD_ICACHE, 1);
	writes_add(w, n, chip, EF_DIS_DOWNLOAD_DCACHE, 1);
	writes_add(w, n, chip, EF_DIS_PAD_JTAG, 1);
	writes_add(w, n, chip, EF_HARD_DIS_JTAG, 1); /* S2's DIS_PAD_JTAG */
	writes_add(w, n, chip, EF_DIS_USB_JTAG, 1);
	const struct efuse_field_desc *sj = chip_efuse_field(chip, EF_SOFT_DIS_JTAG);
	if (sj)
		writes_add(w, n, chip, EF_SOFT_DIS_JTAG, field_mask(sj->width));
	writes_add(w, n, chip, EF_DIS_DIRECT_BOOT, 1);
	/* lock the cache/encrypt group so it cannot be undone by a later write-enable trick;
	 * on C2 this is WR_DIS 1 (JTAG + ICACHE), on the others WR_DIS 2 */
	const struct efuse_field_desc *ic = chip_efuse_field(chip, EF_DIS_DOWNLOAD_ICACHE);
	if (!ic)
		ic = chip_efuse_field(chip, EF_DIS_DOWNLOAD_MANUAL_ENCRYPT);
	if (ic && ic->wr_dis_bit >= 0)
		writes_add(w, n, chip, EF_WR_DIS, 1u << ic->wr_dis_bit);
	/* C2 (flash-encryption.md §5; ESP-IDF counts it for release mode): write-protect
	 * XTS_KEY_LENGTH_256, so a derived 128-bit key can never be switched to a 256-bit one. Its
	 * WR_DIS bit also locks the counter, DIS_DOWNLOAD_MANUAL_ENCRYPT and SECURE_BOOT_EN: with
	 * a secure-boot digest in the key block, secure boot must be enabled first or never. */
	const struct efuse_field_desc *xl = chip_efuse_field(chip, EF_XTS_KEY_LENGTH_256);
	if (xl && xl->wr_dis_bit >= 0) {
		const struct efuse_field_desc *sb = chip_efuse_field(chip, EF_SECURE_BOOT_EN);
		int kb = chip->efuse->first_key_block;
		bool digest = false; /* upper half readable, beside a 128-bit key (not a 256-bit key's) */
		for (int k = 4; k < 8 && !efuse_field_value(d, EF_XTS_KEY_LENGTH_256); k++)
			digest |= d->words[kb][k] != 0;
		if (sb && sb->wr_dis_bit == xl->wr_dis_bit && digest &&
		    !efuse_field_value(d, EF_SECURE_BOOT_EN) && !wr_dis_set(d, xl->wr_dis_bit))
			return err_set_msg(e, ERR_CHECK,
					   "refusing flash-encryption release mode on the %s before secure "
					   "boot: WR_DIS bit %d (XTS_KEY_LENGTH_256) would also lock "
					   "SECURE_BOOT_EN off while BLOCK_KEY0 holds a secure-boot digest; "
					   "enable secure boot first",
					   chip->name, xl->wr_dis_bit);
		writes_add(w, n, chip, EF_WR_DIS, 1u << xl->wr_dis_bit);
	}
	return 0;
}

int efuse_writes_secure_boot(const struct efuse_dump *d, unsigned rev_major,
			     struct efuse_field_write *w, size_t *n, err_t *e)
{
	const struct chip_desc *chip = d->chip;
	const struct efuse_layout *l = chip->efuse;
	*n = 0;
	if (l->family == EFUSE_FAMILY_ESP32) {
		if (rev_major < 3)
			return err_set_msg(e, ERR_CHECK, "secure boot v2 needs ESP32 revision v3.0 or "
							 "later (this chip is v%u.x)",
					   rev_major);
		struct efuse_key_status ks;
		efuse_key_status(d, 2, &ks);
		if (ks.data_zero || ks.read_protected)
			return err_set_msg(e, ERR_CHECK, "refusing SECURE_BOOT_EN: BLOCK2 holds no "
							 "readable secure-boot digest (the chip would "
							 "not boot)");
		writes_add(w, n, chip, EF_ABS_DONE_1, 1);
		writes_add(w, n, chip, EF_WR_DIS, 1u << 0);
		return 0;
	}
	if (l->family == EFUSE_FAMILY_C2) {
		int kb = l->first_key_block;
		bool digest = false;
		for (int k = 4; k < 8; k++)
			digest |= d->words[kb][k] != 0;
		if (!digest || rd_dis_set(d, l->blocks[kb].rd_dis_bit2))
			return err_set_msg(e, ERR_CHECK, "refusing SECURE_BOOT_EN: the upper half of "
							 "BLOCK_KEY0 holds no readable secure-boot "
							 "digest (the chip would not boot)");
		writes_add(w, n, chip, EF_SECURE_BOOT_EN, 1);
		writes_add(w, n, chip, EF_WR_DIS, 1u << 0);
		return 0;
	}
	bool slot[3] = {false, false, false};
	for (int b = 0; b < l->n_key_blocks; b++) {
		struct efuse_key_status ks;
		efuse_key_status(d, l->first_key_block + b, &ks);
		if (ks.purpose >= KP_SECURE_BOOT_DIGEST0 && ks.purpose <= KP_SECURE_BOOT_DIGEST0 + 2 &&
		    !ks.data_zero && !ks.read_protected)
			slot[ks.purpose - KP_SECURE_BOOT_DIGEST0] = true;
	}
	if (!slot[0] && !slot[1] && !slot[2])
		return err_set_msg(e, ERR_CHECK, "refusing SECURE_BOOT_EN: no key block holds a "
						 "readable SECURE_BOOT_DIGESTn (the chip would not boot)");
	static const enum efuse_field_id revoke[3] = {EF_SECURE_BOOT_KEY_REVOKE0,
						      EF_SECURE_BOOT_KEY_REVOKE1,
						      EF_SECURE_BOOT_KEY_REVOKE2};
	for (int i = 0; i < 3; i++)
		if (!slot[i])
			writes_add(w, n, chip, revoke[i], 1);
	writes_add(w, n, chip, EF_SECURE_BOOT_AGGRESSIVE_REVOKE, 1);
	writes_add(w, n, chip, EF_SECURE_BOOT_EN, 1);
	writes_add(w, n, chip, EF_WR_DIS, 1u << 0);
	return 0;
}

/* Adds a write only when the field lacks some of the bits: a lockdown after a release-mode FE
 * step (which turned JTAG off already) burns nothing twice and leaves the same eFuses. */
static void writes_add_missing(struct efuse_field_write *w, size_t *n, const struct efuse_dump *d,
			       enum efuse_field_id f, uint32_t v)
{
	if (efuse_field_present(d->chip, f) && (efuse_field_value(d, f) & v) != v)
		writes_add(w, n, d->chip, f, v);
}

int efuse_writes_lockdown(const struct efuse_dump *d, unsigned rev_major,
			  struct efuse_field_write *w, size_t *n, err_t *e)
{
	const struct chip_desc *chip = d->chip;
	*n = 0;
	if (chip->type == CHIP_ESP32 && rev_major < 3)
		return err_set_msg(e, ERR_CHECK, "UART_DOWNLOAD_DIS needs ESP32 revision v3.0 "
						 "or later (this chip is v%u.x)",
				   rev_major);
	/* JTAG off for good where the chip has the field (espefuse field lists): pads (S2:
	 * HARD_DIS_JTAG, ESP32: JTAG_DISABLE), the USB-Serial-JTAG bridge, and every bit of the soft
	 * disable, since an odd count could otherwise be made even again by burning one more bit. */
	writes_add_missing(w, n, d, EF_JTAG_DISABLE, 1);
	writes_add_missing(w, n, d, EF_DIS_PAD_JTAG, 1);
	writes_add_missing(w, n, d, EF_HARD_DIS_JTAG, 1);
	writes_add_missing(w, n, d, EF_DIS_USB_JTAG, 1);
	const struct efuse_field_desc *sj = chip_efuse_field(chip, EF_SOFT_DIS_JTAG);
	if (sj && sj->width)
		writes_add_missing(w, n, d, EF_SOFT_DIS_JTAG, field_mask(sj->width));
	/* Last, in a burn of its own (field_stage): the ROM loader restricted (SDM) or, on the
	 * ESP32, UART download mode off. Always in the list (so it is never empty); a bit already
	 * burned is not burned again by efuse_plan_fields. */
	writes_add(w, n, chip, chip->type == CHIP_ESP32 ? EF_UART_DOWNLOAD_DIS : EF_ENABLE_SECURITY_DOWNLOAD,
		   1);
	return 0;
}
