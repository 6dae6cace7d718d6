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
		if (off >= bd->read_off && off < bd->read_off + 4u * bd->words && bd->rd_dis_bit >= 0 &&
		    ((rd_dis >> bd->rd_dis_bit) & 1))
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
		cmocka_unit_test(test_resume),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
