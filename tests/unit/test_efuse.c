/* Unit tests of src/loader/efuse: key byte order against the secure_cert vectors (what espefuse
 * stored in the key block), refusal rules, and the burn sequence against a small model of the
 * eFuse controller (program window, CMD, RD_DIS masking, RS parity check). */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#include "core/hex.h"
#include "loader/efuse.h"
#include "loader/efuse_rs.h"

/* ---- a model eFuse controller ---- */

struct model {
	const struct chip_desc *chip;
	uint32_t regs[0x200 / 4 + 64]; /* controller registers by offset */
	uint32_t wdata[4][8];          /* ESP32 per-block write windows are inside regs */
	int programs;                  /* number of PGM commands */
	int writes;
	bool bad_parity_seen;
};

static uint32_t *mreg(struct model *m, uint32_t addr)
{
	uint32_t off = addr - m->chip->efuse_base;
	assert_true(off < sizeof m->regs);
	return &m->regs[off / 4];
}

static void model_program(struct model *m, int blk)
{
	const struct efuse_layout *l = m->chip->efuse;
	const struct efuse_block_desc *b = &l->blocks[blk];
	uint32_t *rd = &m->regs[b->read_off / 4];
	if (l->family == EFUSE_FAMILY_ESP32) {
		for (int w = 0; w < b->words; w++)
			rd[w] |= m->regs[b->write_off / 4 + w];
		return;
	}
	const uint32_t *pgm = &m->regs[l->pgm_data_off / 4];
	if (b->coding == EFUSE_CODING_RS) {
		uint8_t cw[44], syn[12];
		for (int i = 0; i < 32; i++)
			cw[i] = (uint8_t)(pgm[i / 4] >> (8 * (i % 4)));
		for (int i = 0; i < 12; i++)
			cw[32 + i] = (uint8_t)(m->regs[l->check_value_off / 4 + i / 4] >> (8 * (i % 4)));
		if (efuse_rs_syndromes(cw, syn) != 0) {
			m->bad_parity_seen = true;
			return; /* a real chip would flag an RS error: model burns nothing */
		}
	}
	for (int w = 0; w < b->words; w++)
		rd[w] |= pgm[w];
}

static int model_read(void *ctx, uint32_t addr, uint32_t *v, err_t *e)
{
	struct model *m = ctx;
	(void)e;
	if (addr - m->chip->efuse_base >= sizeof m->regs) {
		*v = 0; /* other peripherals (UART divider): unset */
		return 0;
	}
	*v = *mreg(m, addr);
	/* read-protected key blocks read as zero */
	const struct efuse_layout *l = m->chip->efuse;
	uint32_t off = addr - m->chip->efuse_base;
	const struct efuse_field_desc *rdf = chip_efuse_field(m->chip, EF_RD_DIS);
	uint32_t rd_dis = (m->regs[l->blocks[0].read_off / 4 + rdf->word] >> rdf->bit);
	for (int b = 1; b < l->n_blocks; b++) {
		const struct efuse_block_desc *bd = &l->blocks[b];
		if (off < bd->read_off || off >= bd->read_off + 4u * bd->words || bd->rd_dis_bit < 0)
			continue;
		/* C2 BLOCK_KEY0: RD_DIS bit 0 hides the lower half, bit 1 the upper (efuse.md §8) */
		int bit = bd->rd_dis_bit2 >= 0 && (off - bd->read_off) / 4 >= 4 ? bd->rd_dis_bit2
										 : bd->rd_dis_bit;
		if ((rd_dis >> bit) & 1)
			*v = 0;
	}
	return 0;
}

static int model_write(void *ctx, uint32_t addr, uint32_t v, uint32_t delay, err_t *e)
{
	struct model *m = ctx;
	(void)delay;
	(void)e;
	m->writes++;
	const struct efuse_layout *l = m->chip->efuse;
	uint32_t off = addr - m->chip->efuse_base;
	*mreg(m, addr) = v;
	if (off == l->cmd_off) {
		if (l->family == EFUSE_FAMILY_ESP32 && v == EFUSE_CMD_PGM) {
			assert_int_equal(m->regs[l->conf_off / 4], EFUSE_CONF_WRITE);
			for (int b = 0; b < l->n_blocks; b++)
				model_program(m, b);
			m->programs++;
		} else if (l->family != EFUSE_FAMILY_ESP32 && (v & 3) == EFUSE_CMD_PGM) {
			assert_int_equal(m->regs[l->conf_off / 4], EFUSE_CONF_WRITE);
			model_program(m, (int)((v >> 2) & 0xF));
			m->programs++;
		}
		*mreg(m, addr) = 0; /* done at once */
	}
	return 0;
}

static void model_init(struct model *m, enum chip_type t)
{
	memset(m, 0, sizeof(*m));
	m->chip = chip_get_desc(t);
}

static struct efuse_io model_io(struct model *m)
{
	struct efuse_io io = {model_read, model_write, m};
	return io;
}

/* ---- vectors: block bytes as espefuse stored them ---- */

static void test_vectors_key_block_bytes(void **state)
{
	(void)state;
	if (!testutil_vectors_dir())
		skip();
	char **cases = testutil_list_cases("secure_cert");
	int checked = 0;
	for (char **c = cases; c && *c; c++) {
		char *dir = testutil_vector_path("secure_cert", *c);
		char *cj = testutil_join_path(dir, "case.json");
		json_t *j = testutil_load_json(cj);
		json_t *ef = json_object_get(j, "efuse");
		if (ef) {
			const char *chip_id = json_string_value(json_object_get(j, "target_chip"));
			const char *purpose = json_string_value(json_object_get(ef, "key_purpose"));
			const char *keyfile = json_string_value(json_object_get(ef, "key_input_file"));
			const char *want_hex = json_string_value(json_object_get(ef, "efuse_block_bytes_hex"));
			const struct chip_desc *chip = chip_find_by_name(chip_id);
			assert_non_null(chip);
			int p = chip_purpose_parse(purpose);
			assert_int_not_equal(p, KP_INVALID);
			char *kp = testutil_join_path(dir, keyfile);
			buf_t key = BUF_INIT, want = BUF_INIT;
			err_t e = {0};
			assert_int_equal(efuse_load_key_file(kp, p, &key, &e), 0);
			uint8_t out[32];
			size_t olen;
			assert_int_equal(efuse_key_block_bytes(chip, p, key.data, key.len, out, &olen, &e), 0);
			assert_int_equal(hex_decode_string(want_hex, &want, &e), 0);
			testutil_assert_bytes_equal(*c, out, olen, want.data, want.len);
			/* the same through a planned burn on a model chip: block words read back */
			struct model m;
			model_init(&m, chip->type);
			struct efuse_io io = model_io(&m);
			struct efuse_dump d;
			assert_int_equal(efuse_read_dump(&io, chip, &d, &e), 0);
			const char *blk = json_string_value(json_object_get(ef, "key_block"));
			struct efuse_burn_req req = {.chip_name = chip_id, .block = blk, .key = key.data,
						     .key_len = key.len, .purpose = p};
			struct efuse_key_plan plan;
			assert_int_equal(efuse_plan_key(chip, &d, &req, &plan, &e), 0);
			assert_int_equal(efuse_burn_plan(&io, &plan, &e), 0);
			assert_false(m.bad_parity_seen);
			assert_int_equal(efuse_read_dump(&io, chip, &d, &e), 0);
			uint8_t got[32];
			for (int i = 0; i < 32; i++)
				got[i] = (uint8_t)(d.words[plan.block_idx][i / 4] >> (8 * (i % 4)));
			testutil_assert_bytes_equal(blk, got, 32, want.data, want.len);
			struct efuse_key_status ks;
			efuse_key_status(&d, plan.block_idx, &ks);
			assert_int_equal(ks.purpose, p);
			assert_true(ks.write_protected);
			assert_true(ks.purpose_locked);
			assert_false(ks.read_protected);
			buf_wipe_data(&key);
			buf_free_data(&want);
			free(kp);
			checked++;
		}
		json_decref(j);
		free(cj);
		free(dir);
	}
	testutil_free_list(cases);
	assert_true(checked >= 1);
}

/* ---- burn flow on model chips ---- */

static const uint8_t key32[32] = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15, 16,
				  17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32};

static int plan_on(struct model *m, const char *named, const char *blk, int purpose, bool rp,
		   struct efuse_key_plan *plan, err_t *e)
{
	struct efuse_io io = model_io(m);
	struct efuse_dump d;
	assert_int_equal(efuse_read_dump(&io, m->chip, &d, e), 0);
	struct efuse_burn_req req = {.chip_name = named, .block = blk, .key = key32, .key_len = 32,
				     .purpose = purpose, .read_protect = rp, .rev_major = 3};
	return efuse_plan_key(m->chip, &d, &req, plan, e);
}

static void test_burn_read_protected_hmac_c3(void **state)
{
	(void)state;
	struct model m;
	model_init(&m, CHIP_ESP32C3);
	struct efuse_io io = model_io(&m);
	struct efuse_key_plan plan;
	err_t e = {0};
	assert_int_equal(plan_on(&m, "esp32c3", "BLOCK_KEY3", KP_HMAC_UP, true, &plan, &e), 0);
	assert_null(strstr(plan.summary, "0102")); /* never the key bytes */
	assert_non_null(strstr(plan.summary, "READ-PROTECTED"));
	assert_int_equal(efuse_burn_plan(&io, &plan, &e), 0);
	assert_int_equal(m.programs, 3); /* data, purpose, protection */
	struct efuse_dump d;
	assert_int_equal(efuse_read_dump(&io, m.chip, &d, &e), 0);
	struct efuse_key_status ks;
	efuse_key_status(&d, plan.block_idx, &ks);
	assert_true(ks.read_protected);
	assert_true(ks.write_protected);
	assert_true(ks.data_zero); /* reads as zero now */
	assert_int_equal(ks.purpose, KP_HMAC_UP);
	/* KEY_PURPOSE_3 = w3 bits 7:4; RD_DIS bit 3; WR_DIS 26 (block) and 11 (purpose) */
	assert_int_equal((d.words[0][3] >> 4) & 0xF, KP_HMAC_UP);
	assert_int_equal((d.words[0][1] >> 3) & 1, 1);
	assert_int_equal((d.words[0][0] >> 26) & 1, 1);
	assert_int_equal((d.words[0][0] >> 11) & 1, 1);
	/* raw model memory holds the key in file order (HMAC is not reversed) with valid parity */
	assert_int_equal(m.regs[0x0FC / 4], 0x04030201);
	assert_false(m.bad_parity_seen);
	/* second burn into the same block is refused */
	assert_int_equal(plan_on(&m, "esp32c3", "BLOCK_KEY3", KP_HMAC_UP, false, &plan, &e), -1);
	assert_non_null(strstr(e.msg, "not empty"));
}

static void test_refusals(void **state)
{
	(void)state;
	struct model m;
	struct efuse_key_plan plan;
	err_t e = {0};
	model_init(&m, CHIP_ESP32H2);
	/* wrong chip named */
	assert_int_equal(plan_on(&m, "esp32c6", "BLOCK_KEY0", KP_ECDSA_KEY, true, &plan, &e), -1);
	assert_non_null(strstr(e.msg, "ESP32-H2"));
	/* unsupported purpose / KEY5 quirk */
	assert_int_equal(plan_on(&m, "esp32h2", "BLOCK_KEY0", KP_XTS_AES_256_KEY_1, false, &plan, &e), -1);
	assert_int_equal(plan_on(&m, "esp32h2", "BLOCK_KEY5", KP_ECDSA_KEY, false, &plan, &e), -1);
	/* readable-only purpose with --read-protect */
	assert_int_equal(plan_on(&m, "esp32h2", "BLOCK_KEY0", KP_SECURE_BOOT_DIGEST0, true, &plan, &e), -1);
	assert_non_null(strstr(e.msg, "readable"));
	/* not a key block */
	assert_int_equal(plan_on(&m, "esp32h2", "BLOCK3", KP_USER, false, &plan, &e), -1);
	/* block with a purpose already set but no data is not empty either */
	m.regs[(0x02C + 8) / 4] |= (uint32_t)KP_HMAC_UP << 28; /* KEY_PURPOSE_1 */
	assert_int_equal(plan_on(&m, "esp32h2", "BLOCK_KEY1", KP_ECDSA_KEY, false, &plan, &e), -1);
	assert_non_null(strstr(e.msg, "HMAC_UP"));
	/* RD_DIS locked (WR_DIS bit 0) ⇒ read protection impossible */
	m.regs[0x02C / 4] |= 1;
	assert_int_equal(plan_on(&m, "esp32h2", "BLOCK_KEY2", KP_ECDSA_KEY, true, &plan, &e), -1);
	assert_non_null(strstr(e.msg, "RD_DIS"));
	/* wrong key length */
	struct efuse_io io = model_io(&m);
	struct efuse_dump d;
	assert_int_equal(efuse_read_dump(&io, m.chip, &d, &e), 0);
	struct efuse_burn_req req = {.chip_name = "esp32h2", .block = "BLOCK_KEY2", .key = key32,
				     .key_len = 16, .purpose = KP_HMAC_UP};
	assert_int_equal(efuse_plan_key(m.chip, &d, &req, &plan, &e), -1);
	assert_non_null(strstr(e.msg, "32-byte"));
	/* crystal check (H2 needs 32 MHz) */
	req.key_len = 32;
	req.xtal_mhz = 40;
	assert_int_equal(efuse_plan_key(m.chip, &d, &req, &plan, &e), -1);
	assert_non_null(strstr(e.msg, "32 MHz"));
	assert_int_equal(m.programs, 0);
}

static void test_burn_esp32_flash_encryption(void **state)
{
	(void)state;
	struct model m;
	model_init(&m, CHIP_ESP32);
	struct efuse_io io = model_io(&m);
	struct efuse_key_plan plan;
	err_t e = {0};
	/* the purpose names the role: SECURE_BOOT_V2 is for BLOCK2 */
	assert_int_equal(plan_on(&m, "esp32", "BLOCK1", KP_ESP32_SECURE_BOOT_V2, false, &plan, &e), -1);
	assert_int_equal(plan_on(&m, "esp32", "BLOCK1", KP_ESP32_FLASH_ENCRYPTION, true, &plan, &e), 0);
	assert_int_equal(efuse_burn_plan(&io, &plan, &e), 0);
	/* raw BLOCK1 holds the reversed key: first word = bytes 32,31,30,29 */
	assert_int_equal(m.regs[0x038 / 4], 0x1D1E1F20);
	/* RD_DIS bit 0 = BLOCK0 w0 bit 16, WR_DIS bit 7 */
	assert_int_equal((m.regs[0] >> 16) & 1, 1);
	assert_int_equal((m.regs[0] >> 7) & 1, 1);
	/* 3/4 coding: 24-byte keys */
	model_init(&m, CHIP_ESP32);
	m.regs[6] = 1; /* CODING_SCHEME = 1 */
	assert_int_equal(plan_on(&m, "esp32", "BLOCK1", KP_ESP32_FLASH_ENCRYPTION, false, &plan, &e), -1);
	assert_non_null(strstr(e.msg, "24-byte"));
	/* secure boot v2 on an old revision */
	model_init(&m, CHIP_ESP32);
	struct efuse_dump d;
	assert_int_equal(efuse_read_dump(&io, m.chip, &d, &e), 0);
	struct efuse_burn_req req = {.chip_name = "esp32", .block = "BLOCK2", .key = key32,
				     .key_len = 32, .purpose = KP_ESP32_SECURE_BOOT_V2, .rev_major = 1};
	assert_int_equal(efuse_plan_key(m.chip, &d, &req, &plan, &e), -1);
	assert_non_null(strstr(e.msg, "v3.0"));
}

static void test_burn_c2_xts(void **state)
{
	(void)state;
	struct model m;
	model_init(&m, CHIP_ESP32C2);
	struct efuse_io io = model_io(&m);
	struct efuse_key_plan plan;
	err_t e = {0};
	assert_int_equal(plan_on(&m, "esp32c2", "BLOCK_KEY0", KP_XTS_AES_128_KEY, true, &plan, &e), 0);
	assert_int_equal(efuse_burn_plan(&io, &plan, &e), 0);
	assert_false(m.bad_parity_seen);
	struct efuse_dump d;
	assert_int_equal(efuse_read_dump(&io, m.chip, &d, &e), 0);
	assert_int_equal(efuse_field_value(&d, EF_XTS_KEY_LENGTH_256), 1);
	assert_int_equal(efuse_field_value(&d, EF_RD_DIS), 3);
	struct efuse_key_status ks;
	efuse_key_status(&d, plan.block_idx, &ks);
	assert_int_equal(ks.purpose, KP_XTS_AES_128_KEY);
	assert_false(ks.empty);
	struct efuse_security sec;
	efuse_security_state(&d, &sec);
	assert_false(sec.flash_encryption);
}

/* C2 BLOCK_KEY0 holding both halves, written in one program command (espefuse burn_key
 * BLOCK_KEY0 key XTS_AES_128_KEY_DERIVED_FROM_128_EFUSE_BITS BLOCK_KEY0 digest
 * SECURE_BOOT_DIGEST): the 16-byte key reversed in bytes 0..15, the first 16 digest bytes as
 * they are in bytes 16..31, one Reed-Solomon parity over all 32; RD_DIS bit 0 only (the ROM
 * reads the digest), WR_DIS bit 7, no XTS_KEY_LENGTH_256. Then the BLOCK0 writes that follow
 * it: secure boot, then flash-encryption release mode with XTS_KEY_LENGTH_256 locked. */
static void test_burn_c2_key_and_digest(void **state)
{
	(void)state;
	uint8_t key16[16], digest[32];
	for (int i = 0; i < 16; i++)
		key16[i] = (uint8_t)(0xA1 + i);
	for (int i = 0; i < 32; i++)
		digest[i] = (uint8_t)(0x30 + 5 * i);
	struct model m;
	model_init(&m, CHIP_ESP32C2);
	struct efuse_io io = model_io(&m);
	struct efuse_dump d;
	err_t e = {0};
	assert_int_equal(efuse_read_dump(&io, m.chip, &d, &e), 0);
	struct efuse_burn_req req = {.chip_name = "esp32c2", .block = "BLOCK_KEY0", .key = key16,
				     .key_len = 16, .purpose = KP_C2_XTS_AES_128_KEY_DERIVED,
				     .read_protect = true, .sb_digest = digest, .sb_digest_len = 32};
	struct efuse_key_plan plan;
	if (efuse_plan_key(m.chip, &d, &req, &plan, &e))
		fail_msg("%s", e.msg);
	assert_true(plan.with_digest);
	assert_non_null(strstr(plan.summary, "digest"));
	/* block words: key bytes reversed, then the digest's first half in file order */
	assert_int_equal(plan.data[0], 0xADAEAFB0); /* bytes 0..3 = key[15], key[14], ... */
	assert_int_equal(plan.data[3], 0xA1A2A3A4);
	assert_int_equal(plan.data[4], 0x3F3A3530); /* digest 30 35 3a 3f */
	assert_int_equal(plan.data[7], 0x7B76716C); /* digest bytes 12..15 */
	for (int w = 0; w < 8; w++)
		assert_int_equal(plan.blk0_purpose[w], 0); /* no purpose field, 128-bit key length */
	/* BLOCK0 w1 bits 1:0 = RD_DIS: only bit 0; w0 bit 7 = WR_DIS of BLOCK_KEY0 */
	assert_int_equal(plan.blk0_protect[1], 0x1);
	assert_int_equal(plan.blk0_protect[0], 0x80);
	assert_int_equal(efuse_burn_plan(&io, &plan, &e), 0);
	assert_false(m.bad_parity_seen);
	assert_int_equal(m.programs, 2); /* the whole block once, then the protection bits */
	/* raw fuses: both halves, written by that one program command */
	const struct efuse_block_desc *b = &m.chip->efuse->blocks[3];
	for (int w = 0; w < 8; w++)
		assert_int_equal(m.regs[b->read_off / 4 + w], plan.data[w]);
	assert_int_equal(efuse_read_dump(&io, m.chip, &d, &e), 0);
	for (int w = 0; w < 4; w++)
		assert_int_equal(d.words[3][w], 0); /* key hidden */
	for (int w = 4; w < 8; w++)
		assert_int_equal(d.words[3][w], plan.data[w]); /* digest readable */
	assert_int_equal(efuse_field_value(&d, EF_RD_DIS), 1);
	assert_int_equal(efuse_field_value(&d, EF_WR_DIS), 0x80);
	assert_int_equal(efuse_field_value(&d, EF_XTS_KEY_LENGTH_256), 0);
	struct efuse_key_status ks;
	efuse_key_status(&d, 3, &ks);
	assert_int_equal(ks.purpose, KP_C2_XTS_AES_128_KEY_DERIVED);
	assert_true(ks.read_protected && ks.write_protected && !ks.empty);

	/* the block is spent: a second combined burn is refused; a resume with the same digest has
	 * nothing to do, with another digest it is refused */
	assert_int_equal(efuse_plan_key(m.chip, &d, &req, &plan, &e), -1);
	assert_non_null(strstr(e.msg, "not empty"));
	req.resume = true;
	assert_int_equal(efuse_plan_key(m.chip, &d, &req, &plan, &e), 0);
	assert_true(plan.nothing_to_do);
	uint8_t other[32];
	memcpy(other, digest, 32);
	other[9] ^= 0x40;
	req.sb_digest = other;
	assert_int_equal(efuse_plan_key(m.chip, &d, &req, &plan, &e), -1);
	assert_non_null(strstr(e.msg, "different secure-boot digest"));

	/* release mode before secure boot would lock SECURE_BOOT_EN off (shared WR_DIS bit 2) */
	struct efuse_field_write w[EFUSE_MAX_FIELD_WRITES];
	size_t n;
	assert_int_equal(efuse_writes_fe_enable(&d, true, w, &n, &e), -1);
	assert_non_null(strstr(e.msg, "SECURE_BOOT_EN"));
	/* secure boot: SECURE_BOOT_EN and the RD_DIS lock (WR_DIS bit 0) */
	assert_int_equal(efuse_writes_secure_boot(&d, 1, w, &n, &e), 0);
	struct efuse_field_plan fp;
	assert_int_equal(efuse_plan_fields(m.chip, &d, w, n, &fp, &e), 0);
	assert_int_equal(efuse_burn_fields(&io, &fp, NULL, &e), 0);
	assert_int_equal(efuse_read_dump(&io, m.chip, &d, &e), 0);
	assert_int_equal(efuse_field_value(&d, EF_SECURE_BOOT_EN), 1);
	assert_int_equal(efuse_field_value(&d, EF_WR_DIS), 0x81);
	/* release mode: counter 0b111, download encryption/cache off, pad JTAG off, direct boot
	 * off; WR_DIS 1 (JTAG/ICACHE group) and 2 (counter, XTS_KEY_LENGTH_256, SECURE_BOOT_EN) */
	assert_int_equal(efuse_writes_fe_enable(&d, true, w, &n, &e), 0);
	assert_int_equal(efuse_plan_fields(m.chip, &d, w, n, &fp, &e), 0);
	assert_int_equal(efuse_burn_fields(&io, &fp, NULL, &e), 0);
	assert_int_equal(efuse_read_dump(&io, m.chip, &d, &e), 0);
	/* C2 BLOCK0 w1: CRYPT_CNT 9:7, DIS_PAD_JTAG 4, DIS_DOWNLOAD_ICACHE 5,
	 * DIS_DOWNLOAD_MANUAL_ENCRYPT 6, DIS_DIRECT_BOOT 15, SECURE_BOOT_EN 21 (esp32c2.yaml) */
	assert_int_equal(d.words[0][1] & 0x7 << 7, 0x7 << 7);
	assert_int_equal(d.words[0][1] & (1u << 4 | 1u << 5 | 1u << 6 | 1u << 15 | 1u << 21),
			 1u << 4 | 1u << 5 | 1u << 6 | 1u << 15 | 1u << 21);
	assert_int_equal((d.words[0][1] >> 10) & 1, 0); /* the key stays 128-bit derived */
	assert_int_equal(d.words[0][0], 0x87);
	assert_false(m.bad_parity_seen);
}

/* The refusals of a combined C2 burn. */
static void test_c2_key_and_digest_refusals(void **state)
{
	(void)state;
	uint8_t key16[16], digest[32], zero[32] = {0};
	memset(key16, 0x42, sizeof key16);
	memset(digest, 0x24, sizeof digest);
	struct model m;
	struct efuse_dump d;
	struct efuse_key_plan plan;
	err_t e = {0};
	model_init(&m, CHIP_ESP32C2);
	struct efuse_io io = model_io(&m);
	assert_int_equal(efuse_read_dump(&io, m.chip, &d, &e), 0);
	struct efuse_burn_req req = {.chip_name = "esp32c2", .block = "BLOCK_KEY0", .key = key16,
				     .key_len = 16, .purpose = KP_C2_XTS_AES_128_KEY_DERIVED,
				     .read_protect = true, .sb_digest = digest, .sb_digest_len = 20};
	assert_int_equal(efuse_plan_key(m.chip, &d, &req, &plan, &e), -1);
	assert_non_null(strstr(e.msg, "digest"));
	req.sb_digest = zero;
	req.sb_digest_len = 32;
	assert_int_equal(efuse_plan_key(m.chip, &d, &req, &plan, &e), -1);
	assert_non_null(strstr(e.msg, "all-zero"));
	/* a 256-bit XTS key fills the whole block: no room for a digest */
	req.sb_digest = digest;
	req.purpose = KP_XTS_AES_128_KEY;
	assert_int_equal(efuse_plan_key(m.chip, &d, &req, &plan, &e), -1);
	assert_int_equal(e.code, ERR_USAGE);
	/* no other chip shares a block this way */
	model_init(&m, CHIP_ESP32C3);
	assert_int_equal(efuse_read_dump(&io, m.chip, &d, &e), 0);
	uint8_t k32[32];
	memset(k32, 0x42, sizeof k32);
	struct efuse_burn_req r3 = {.chip_name = "esp32c3", .block = "BLOCK_KEY0", .key = k32,
				    .key_len = 32, .purpose = KP_XTS_AES_128_KEY, .read_protect = true,
				    .sb_digest = digest, .sb_digest_len = 32};
	assert_int_equal(efuse_plan_key(m.chip, &d, &r3, &plan, &e), -1);
	assert_non_null(strstr(e.msg, "ESP32-C2"));
	/* the digest half already burned (a digest-only burn left writable): not empty */
	model_init(&m, CHIP_ESP32C2);
	m.regs[(0x060 + 16) / 4] = 0x24242424;
	assert_int_equal(efuse_read_dump(&io, m.chip, &d, &e), 0);
	req.purpose = KP_C2_XTS_AES_128_KEY_DERIVED;
	assert_int_equal(efuse_plan_key(m.chip, &d, &req, &plan, &e), -1);
	assert_non_null(strstr(e.msg, "not empty"));
	assert_int_equal(m.programs, 0);
}

/* An interrupted burn (data in, purpose and protection missing) is finished with resume;
 * a block holding another key is not. */
static void test_resume(void **state)
{
	(void)state;
	struct model m;
	model_init(&m, CHIP_ESP32C6);
	struct efuse_io io = model_io(&m);
	err_t e = {0};
	/* the key data alone, as if the link dropped after step 1 (HMAC: file order) */
	const struct efuse_block_desc *b = &m.chip->efuse->blocks[chip_efuse_find_block(m.chip, "BLOCK_KEY2")];
	for (int w = 0; w < 8; w++)
		m.regs[b->read_off / 4 + w] = (uint32_t)key32[4 * w] | (uint32_t)key32[4 * w + 1] << 8 |
					     (uint32_t)key32[4 * w + 2] << 16 | (uint32_t)key32[4 * w + 3] << 24;
	struct efuse_dump d;
	assert_int_equal(efuse_read_dump(&io, m.chip, &d, &e), 0);
	struct efuse_burn_req req = {.chip_name = "esp32c6", .block = "BLOCK_KEY2", .key = key32,
				     .key_len = 32, .purpose = KP_HMAC_UP, .read_protect = true};
	struct efuse_key_plan plan;
	assert_int_equal(efuse_plan_key(m.chip, &d, &req, &plan, &e), -1); /* not empty */
	req.resume = true;
	assert_int_equal(efuse_plan_key(m.chip, &d, &req, &plan, &e), 0);
	assert_true(plan.skip_data);
	assert_non_null(strstr(plan.summary, "finish"));
	assert_int_equal(efuse_burn_plan(&io, &plan, &e), 0);
	assert_int_equal(m.programs, 2); /* purpose + protection, no second data burn */
	assert_int_equal(efuse_read_dump(&io, m.chip, &d, &e), 0);
	struct efuse_key_status ks;
	efuse_key_status(&d, plan.block_idx, &ks);
	assert_int_equal(ks.purpose, KP_HMAC_UP);
	assert_true(ks.read_protected && ks.write_protected && ks.purpose_locked);
	/* resuming again: nothing left to do, nothing programmed */
	assert_int_equal(efuse_plan_key(m.chip, &d, &req, &plan, &e), 0);
	assert_true(plan.nothing_to_do);
	assert_int_equal(efuse_burn_plan(&io, &plan, &e), 0);
	assert_int_equal(m.programs, 2);
	/* another key in the block: refused even with resume */
	uint8_t other[32];
	memcpy(other, key32, 32);
	other[5] ^= 1;
	model_init(&m, CHIP_ESP32C6);
	for (int w = 0; w < 8; w++)
		m.regs[b->read_off / 4 + w] = (uint32_t)key32[4 * w] | (uint32_t)key32[4 * w + 1] << 8 |
					     (uint32_t)key32[4 * w + 2] << 16 | (uint32_t)key32[4 * w + 3] << 24;
	assert_int_equal(efuse_read_dump(&io, m.chip, &d, &e), 0);
	req.key = other;
	assert_int_equal(efuse_plan_key(m.chip, &d, &req, &plan, &e), -1);
	assert_non_null(strstr(e.msg, "different key"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors_key_block_bytes),
		cmocka_unit_test(test_burn_read_protected_hmac_c3),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_burn_esp32_flash_encryption),
		cmocka_unit_test(test_burn_c2_xts),
		cmocka_unit_test(test_burn_c2_key_and_digest),
		cmocka_unit_test(test_c2_key_and_digest_refusals),
		cmocka_unit_test(test_resume),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
