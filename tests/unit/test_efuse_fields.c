/* BLOCK0 field table per chip against the positions written in efuse.md §2, §7, §8 (word, first
 * bit, width, WR_DIS bit), plus field lookup by name and the field-write planning rules on a
 * synthetic dump. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "loader/efuse.h"

struct expect {
	enum chip_type chip;
	const char *name;
	int word, bit, width, wr_dis; /* width 0: the chip must not have it */
};

/* Values typed from efuse.md, not from chip.c. */
static const struct expect table[] = {
	/* §2, C3 column */
	{CHIP_ESP32C3, "SPI_BOOT_CRYPT_CNT", 2, 18, 3, 4},
	{CHIP_ESP32C3, "SECURE_BOOT_KEY_REVOKE0", 2, 21, 1, 5},
	{CHIP_ESP32C3, "SECURE_BOOT_KEY_REVOKE1", 2, 22, 1, 6},
	{CHIP_ESP32C3, "SECURE_BOOT_KEY_REVOKE2", 2, 23, 1, 7},
	{CHIP_ESP32C3, "SECURE_BOOT_EN", 3, 20, 1, 15},
	{CHIP_ESP32C3, "SECURE_BOOT_AGGRESSIVE_REVOKE", 3, 21, 1, 16},
	{CHIP_ESP32C3, "DIS_DOWNLOAD_MODE", 4, 0, 1, 18},
	{CHIP_ESP32C3, "DIS_DIRECT_BOOT", 4, 1, 1, 18},
	{CHIP_ESP32C3, "ENABLE_SECURITY_DOWNLOAD", 4, 5, 1, 18},
	{CHIP_ESP32C3, "DIS_USB_SERIAL_JTAG_DOWNLOAD_MODE", 4, 4, 1, 18},
	{CHIP_ESP32C3, "DIS_DOWNLOAD_MANUAL_ENCRYPT", 1, 20, 1, 2},
	{CHIP_ESP32C3, "DIS_DOWNLOAD_ICACHE", 1, 10, 1, 2},
	{CHIP_ESP32C3, "DIS_PAD_JTAG", 1, 19, 1, 2},
	{CHIP_ESP32C3, "DIS_USB_JTAG", 1, 9, 1, 2},
	{CHIP_ESP32C3, "SOFT_DIS_JTAG", 1, 16, 3, 31},
	{CHIP_ESP32C3, "RD_DIS", 1, 0, 7, 0},
	{CHIP_ESP32C3, "DIS_DOWNLOAD_DCACHE", 0, 0, 0, 0},
	{CHIP_ESP32C3, "FLASH_CRYPT_CNT", 0, 0, 0, 0},
	/* C6 as C3 */
	{CHIP_ESP32C6, "SPI_BOOT_CRYPT_CNT", 2, 18, 3, 4},
	{CHIP_ESP32C6, "DIS_DOWNLOAD_MANUAL_ENCRYPT", 1, 20, 1, 2},
	{CHIP_ESP32C6, "ENABLE_SECURITY_DOWNLOAD", 4, 5, 1, 18},
	{CHIP_ESP32C6, "SECURE_BOOT_EN", 3, 20, 1, 15},
	/* H2: no DIS_DOWNLOAD_ICACHE */
	{CHIP_ESP32H2, "SPI_BOOT_CRYPT_CNT", 2, 18, 3, 4},
	{CHIP_ESP32H2, "DIS_DOWNLOAD_ICACHE", 0, 0, 0, 0},
	{CHIP_ESP32H2, "SECURE_VERSION", 4, 9, 16, 18},
	{CHIP_ESP32H2, "ENABLE_SECURITY_DOWNLOAD", 4, 5, 1, 18},
	/* S3 differences */
	{CHIP_ESP32S3, "DIS_USB_JTAG", 3, 22, 1, 2},
	{CHIP_ESP32S3, "DIS_USB_SERIAL_JTAG", 3, 23, 1, 2},
	{CHIP_ESP32S3, "DIS_DOWNLOAD_DCACHE", 1, 11, 1, 2},
	{CHIP_ESP32S3, "SPI_BOOT_CRYPT_CNT", 2, 18, 3, 4},
	/* S2 differences */
	{CHIP_ESP32S2, "DIS_DOWNLOAD_MANUAL_ENCRYPT", 1, 19, 1, 2},
	/* esp32s2.yaml: SOFT_DIS_JTAG and HARD_DIS_JTAG are in the WR_DIS 2 group */
	{CHIP_ESP32S2, "SOFT_DIS_JTAG", 1, 17, 1, 2},
	{CHIP_ESP32S2, "HARD_DIS_JTAG", 1, 18, 1, 2},
	{CHIP_ESP32S2, "DIS_PAD_JTAG", 0, 0, 0, 0},
	{CHIP_ESP32C3, "HARD_DIS_JTAG", 0, 0, 0, 0},
	{CHIP_ESP32S2, "SECURE_VERSION", 4, 11, 16, 18},
	{CHIP_ESP32S2, "DIS_DOWNLOAD_DCACHE", 1, 11, 1, 2},
	/* §7 ESP32 */
	{CHIP_ESP32, "FLASH_CRYPT_CNT", 0, 20, 7, 2},
	{CHIP_ESP32, "RD_DIS", 0, 16, 4, 0},
	{CHIP_ESP32, "UART_DOWNLOAD_DIS", 0, 27, 1, 2},
	{CHIP_ESP32, "FLASH_CRYPT_CONFIG", 5, 28, 4, 10},
	{CHIP_ESP32, "CODING_SCHEME", 6, 0, 2, 10},
	{CHIP_ESP32, "CONSOLE_DEBUG_DISABLE", 6, 2, 1, 15},
	{CHIP_ESP32, "ABS_DONE_1", 6, 5, 1, 13},
	{CHIP_ESP32, "JTAG_DISABLE", 6, 6, 1, 14},
	{CHIP_ESP32, "DISABLE_DL_ENCRYPT", 6, 7, 1, 15},
	{CHIP_ESP32, "DISABLE_DL_DECRYPT", 6, 8, 1, 15},
	{CHIP_ESP32, "DISABLE_DL_CACHE", 6, 9, 1, 15},
	{CHIP_ESP32, "SPI_BOOT_CRYPT_CNT", 0, 0, 0, 0},
	{CHIP_ESP32, "ENABLE_SECURITY_DOWNLOAD", 0, 0, 0, 0},
	/* §8 C2 */
	/* efuse.md gives no WR_DIS number for C2, only that these two share it; espefuse
	 * esp32c2.yaml: WR_DIS 2, shared with DIS_DOWNLOAD_MANUAL_ENCRYPT and SECURE_BOOT_EN */
	{CHIP_ESP32C2, "SPI_BOOT_CRYPT_CNT", 1, 7, 3, 2},
	{CHIP_ESP32C2, "XTS_KEY_LENGTH_256", 1, 10, 1, 2},
	{CHIP_ESP32C2, "SECURE_BOOT_EN", 1, 21, 1, 2},
	{CHIP_ESP32C2, "DIS_DOWNLOAD_MANUAL_ENCRYPT", 1, 6, 1, 2},
	{CHIP_ESP32C2, "RD_DIS", 1, 0, 2, 0},
};

static void test_positions_match_reference(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
		const struct expect *x = &table[i];
		const struct chip_desc *c = chip_get_desc(x->chip);
		enum efuse_field_id f = chip_efuse_field_by_name(c, x->name);
		if (!x->width) {
			if (f != EF_COUNT)
				fail_msg("%s should have no %s", c->name, x->name);
			continue;
		}
		if (f == EF_COUNT)
			fail_msg("%s lacks %s", c->name, x->name);
		const struct efuse_field_desc *d = chip_efuse_field(c, f);
		if (d->block != 0 || d->word != x->word || d->bit != x->bit || d->width != x->width ||
		    (x->wr_dis != -2 && d->wr_dis_bit != x->wr_dis))
			fail_msg("%s %s: table w%d:%d width %d WR_DIS %d, efuse.md w%d:%d width %d WR_DIS %d",
				 c->name, x->name, d->word, d->bit, d->width, d->wr_dis_bit, x->word,
				 x->bit, x->width, x->wr_dis);
	}
	const struct chip_desc *c2 = chip_get_desc(CHIP_ESP32C2);
	assert_int_equal(chip_efuse_field(c2, EF_CRYPT_CNT)->wr_dis_bit,
			 chip_efuse_field(c2, EF_XTS_KEY_LENGTH_256)->wr_dis_bit);
}

static void dump_init(struct efuse_dump *d, enum chip_type t)
{
	memset(d, 0, sizeof *d);
	d->chip = chip_get_desc(t);
}

static void test_plan_rules(void **state)
{
	(void)state;
	struct efuse_dump d;
	struct efuse_field_plan p;
	err_t e = {0};
	dump_init(&d, CHIP_ESP32C3);
	const struct chip_desc *c = d.chip;
	/* counter set in the second pass, manual-encrypt in the first, SDM in the third */
	struct efuse_field_write w[] = {{EF_CRYPT_CNT, 1},
					{EF_DIS_DOWNLOAD_MANUAL_ENCRYPT, 1},
					{EF_ENABLE_SECURITY_DOWNLOAD, 1}};
	assert_int_equal(efuse_plan_fields(c, &d, w, 3, &p, &e), 0);
	assert_int_equal(p.burn[0][1], 1u << 20);
	assert_int_equal(p.burn[1][2], 1u << 18);
	assert_int_equal(p.burn[2][4], 1u << 5);
	assert_true(p.cuts_link);
	/* bits already there are not planned again */
	d.words[0][2] = 1u << 18;
	assert_int_equal(efuse_plan_fields(c, &d, w, 1, &p, &e), 0);
	assert_true(p.nothing_to_do);
	/* next odd counter value from 0b001 is refused as 1->0 when asked for 0b010 */
	struct efuse_field_write two = {EF_CRYPT_CNT, 2};
	assert_int_equal(efuse_plan_fields(c, &d, &two, 1, &p, &e), -1);
	assert_int_equal(e.code, ERR_CHECK);
	/* WR_DIS 4 protects the counter */
	e = (err_t){0};
	d.words[0][0] = 1u << 4;
	two.value = 3;
	assert_int_equal(efuse_plan_fields(c, &d, &two, 1, &p, &e), -1);
	assert_non_null(strstr(e.msg, "WR_DIS bit 4"));
	/* a WR_DIS bit that would lock a link-cutting field burned later */
	e = (err_t){0};
	dump_init(&d, CHIP_ESP32C3);
	struct efuse_field_write lk[] = {{EF_WR_DIS, 1u << 18}, {EF_ENABLE_SECURITY_DOWNLOAD, 1}};
	assert_int_equal(efuse_plan_fields(c, &d, lk, 2, &p, &e), -1);
}

static void test_fe_writes(void **state)
{
	(void)state;
	struct efuse_dump d;
	struct efuse_field_write w[EFUSE_MAX_FIELD_WRITES];
	size_t n;
	err_t e = {0};
	/* counter 0b011 (disabled twice over) -> 0b111 */
	dump_init(&d, CHIP_ESP32S3);
	d.words[0][2] = 3u << 18;
	/* no XTS key yet: refused */
	assert_int_equal(efuse_writes_fe_enable(&d, false, w, &n, &e), -1);
	e = (err_t){0};
	d.words[4][0] = 0x1234;   /* BLOCK_KEY0 data */
	d.words[0][2] |= 4u << 24; /* KEY_PURPOSE_0 = XTS_AES_128_KEY */
	assert_int_equal(efuse_writes_fe_enable(&d, false, w, &n, &e), 0);
	assert_int_equal(n, 1);
	assert_int_equal(w[0].field, EF_CRYPT_CNT);
	assert_int_equal(w[0].value, 7);
	/* S2 release: JTAG off both ways, SOFT_DIS_JTAG (w1:17) and HARD_DIS_JTAG (w1:18), and
	 * their group locked with the counter's (WR_DIS 2) */
	dump_init(&d, CHIP_ESP32S2);
	d.words[4][0] = 0x1234;
	d.words[0][2] |= 4u << 24;
	assert_int_equal(efuse_writes_fe_enable(&d, true, w, &n, &e), 0);
	bool hard = false, soft = false;
	for (size_t i = 0; i < n; i++) {
		hard |= w[i].field == EF_HARD_DIS_JTAG && w[i].value == 1;
		soft |= w[i].field == EF_SOFT_DIS_JTAG && w[i].value == 1;
		assert_int_not_equal(w[i].field, EF_DIS_PAD_JTAG);
	}
	assert_true(hard && soft);
	struct efuse_field_plan fp;
	assert_int_equal(efuse_plan_fields(d.chip, &d, w, n, &fp, &e), 0);
	assert_int_equal(fp.want[1] & (3u << 17), 3u << 17);
	assert_int_equal(fp.want[0] & (1u << 2), 1u << 2);
	/* ESP32: FLASH_CRYPT_CNT 0 -> 1 and FLASH_CRYPT_CONFIG 0xF */
	dump_init(&d, CHIP_ESP32);
	d.words[1][0] = 0x1234; /* BLOCK1: the flash-encryption key */
	assert_int_equal(efuse_writes_fe_enable(&d, false, w, &n, &e), 0);
	assert_int_equal(n, 2);
	assert_int_equal(w[0].value, 1);
	assert_int_equal(w[1].field, EF_FLASH_CRYPT_CONFIG);
	assert_int_equal(w[1].value, 0xF);
	/* ESP32 v1 cannot take secure boot v2 nor UART_DOWNLOAD_DIS */
	assert_int_equal(efuse_writes_secure_boot(&d, 1, w, &n, &e), -1);
	assert_int_equal(efuse_writes_lockdown(&d, 1, w, &n, &e), -1);
}

/* The lockdown's writes per chip, typed from efuse.md §2, §7, §8 and espefuse's field lists
 * (efuse_defs/esp32*.yaml): JTAG off wherever the chip can turn it off, then Secure Download
 * Mode (ESP32: UART download mode off), alone in the last BLOCK0 burn. */
struct lockdown_expect {
	enum chip_type chip;
	const char *fields;          /* "NAME=value ..." in any order */
	uint32_t jtag_bits[8];       /* first burn: BLOCK0 words */
	int last_word;               /* the last burn: one bit */
	uint32_t last_bit;
	bool cuts_link;
};

static const struct lockdown_expect lockdowns[] = {
	{CHIP_ESP32C3, "DIS_PAD_JTAG=1 DIS_USB_JTAG=1 SOFT_DIS_JTAG=7 ENABLE_SECURITY_DOWNLOAD=1",
	 {[1] = 1u << 9 | 7u << 16 | 1u << 19}, 4, 1u << 5, true},
	{CHIP_ESP32C6, "DIS_PAD_JTAG=1 DIS_USB_JTAG=1 SOFT_DIS_JTAG=7 ENABLE_SECURITY_DOWNLOAD=1",
	 {[1] = 1u << 9 | 7u << 16 | 1u << 19}, 4, 1u << 5, true},
	{CHIP_ESP32H2, "DIS_PAD_JTAG=1 DIS_USB_JTAG=1 SOFT_DIS_JTAG=7 ENABLE_SECURITY_DOWNLOAD=1",
	 {[1] = 1u << 9 | 7u << 16 | 1u << 19}, 4, 1u << 5, true},
	{CHIP_ESP32S3, "DIS_PAD_JTAG=1 DIS_USB_JTAG=1 SOFT_DIS_JTAG=7 ENABLE_SECURITY_DOWNLOAD=1",
	 {[1] = 7u << 16 | 1u << 19, [3] = 1u << 22}, 4, 1u << 5, true},
	{CHIP_ESP32S2, "HARD_DIS_JTAG=1 SOFT_DIS_JTAG=1 ENABLE_SECURITY_DOWNLOAD=1",
	 {[1] = 1u << 17 | 1u << 18}, 4, 1u << 5, true},
	{CHIP_ESP32C2, "DIS_PAD_JTAG=1 ENABLE_SECURITY_DOWNLOAD=1", {[1] = 1u << 4}, 1, 1u << 16, true},
	/* the ESP32's UART_DOWNLOAD_DIS takes effect at the next reset: the link stays */
	{CHIP_ESP32, "JTAG_DISABLE=1 UART_DOWNLOAD_DIS=1", {[6] = 1u << 6}, 0, 1u << 27, false},
};

static void expect_writes(const struct chip_desc *c, const struct efuse_field_write *w, size_t n,
			  const char *fields)
{
	size_t want = 0;
	for (const char *f = fields; *f;) {
		const char *sp = strchr(f, ' ');
		size_t len = sp ? (size_t)(sp - f) : strlen(f);
		want++;
		bool found = false;
		for (size_t i = 0; i < n; i++) {
			char got[64];
			snprintf(got, sizeof got, "%s=%u", chip_efuse_field(c, w[i].field)->name, w[i].value);
			found |= strlen(got) == len && !strncmp(got, f, len);
		}
		if (!found)
			fail_msg("%s lockdown: no write %.*s", c->name, (int)len, f);
		f += len + (sp ? 1 : 0);
	}
	if (n != want)
		fail_msg("%s lockdown: %zu writes, want %zu (%s)", c->name, n, want, fields);
}

/* A dump with a flash-encryption key in the first key block (so release mode can be planned). */
static void dump_with_fe_key(struct efuse_dump *d, enum chip_type t)
{
	dump_init(d, t);
	int kb = d->chip->efuse->first_key_block;
	d->words[kb][0] = 0x1234;
	if (d->chip->efuse->family == EFUSE_FAMILY_GEN2)
		d->words[0][2] |= 4u << 24; /* KEY_PURPOSE_0 = XTS_AES_128_KEY */
	else if (t == CHIP_ESP32C2)
		d->words[0][1] |= 1u << 0;  /* RD_DIS bit 0: the low half holds a derived XTS key */
}

static void test_lockdown_writes(void **state)
{
	(void)state;
	for (size_t k = 0; k < sizeof lockdowns / sizeof *lockdowns; k++) {
		const struct lockdown_expect *x = &lockdowns[k];
		struct efuse_dump d;
		struct efuse_field_write w[EFUSE_MAX_FIELD_WRITES];
		struct efuse_field_plan fp;
		size_t n = 0;
		err_t e = {0};
		/* a fresh chip: every JTAG field and the download-mode bit */
		dump_init(&d, x->chip);
		if (efuse_writes_lockdown(&d, 3, w, &n, &e))
			fail_msg("%s: %s", d.chip->name, e.msg);
		expect_writes(d.chip, w, n, x->fields);
		assert_int_equal(efuse_plan_fields(d.chip, &d, w, n, &fp, &e), 0);
		for (int i = 0; i < 8; i++) {
			if (fp.burn[0][i] != x->jtag_bits[i])
				fail_msg("%s: first burn word %d 0x%08x, want 0x%08x", d.chip->name, i,
					 fp.burn[0][i], x->jtag_bits[i]);
			assert_int_equal(fp.burn[1][i], 0);
			assert_int_equal(fp.burn[2][i], i == x->last_word ? x->last_bit : 0);
		}
		assert_int_equal(fp.cuts_link, x->cuts_link);

		/* SOFT_DIS_JTAG with one bit already burned (JTAG soft-disabled) is still taken to
		 * all bits: one more would make the count even and JTAG usable again */
		const struct efuse_field_desc *sj = chip_efuse_field(d.chip, EF_SOFT_DIS_JTAG);
		if (sj && sj->width > 1) {
			dump_init(&d, x->chip);
			d.words[0][sj->word] |= 1u << sj->bit;
			assert_int_equal(efuse_writes_lockdown(&d, 3, w, &n, &e), 0);
			assert_int_equal(efuse_plan_fields(d.chip, &d, w, n, &fp, &e), 0);
			assert_int_equal(fp.burn[0][sj->word] & (7u << sj->bit), 6u << sj->bit);
		}

		/* after release-mode flash encryption (which turned JTAG off and, on the C2,
		 * write-protected DIS_PAD_JTAG): only the download-mode bit is left, and planning
		 * it does not trip over the lock */
		dump_with_fe_key(&d, x->chip);
		if (efuse_writes_fe_enable(&d, true, w, &n, &e) ||
		    efuse_plan_fields(d.chip, &d, w, n, &fp, &e))
			fail_msg("%s release mode: %s", d.chip->name, e.msg);
		for (int i = 0; i < 8; i++)
			d.words[0][i] = fp.want[i];
		assert_int_equal(efuse_writes_lockdown(&d, 3, w, &n, &e), 0);
		assert_int_equal(n, 1);
		expect_writes(d.chip, w, n, strstr(x->fields, x->chip == CHIP_ESP32 ? "UART_DOWNLOAD_DIS"
										    : "ENABLE_SECURITY_DOWNLOAD"));
		if (efuse_plan_fields(d.chip, &d, w, n, &fp, &e))
			fail_msg("%s lockdown after release mode: %s", d.chip->name, e.msg);
		for (int i = 0; i < 8; i++)
			assert_int_equal(fp.burn[0][i], 0);

		/* all of it burned already: nothing to do */
		d.words[0][x->last_word] |= x->last_bit;
		assert_int_equal(efuse_writes_lockdown(&d, 3, w, &n, &e), 0);
		assert_int_equal(efuse_plan_fields(d.chip, &d, w, n, &fp, &e), 0);
		assert_true(fp.nothing_to_do);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_positions_match_reference),
		cmocka_unit_test(test_plan_rules),
		cmocka_unit_test(test_fe_writes),
		cmocka_unit_test(test_lockdown_writes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
