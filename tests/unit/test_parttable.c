/* Unit tests of src/formats/parttable: the checks gen_esp32part makes on partitions.csv (each
 * message naming the line, partition or value), corrupted and truncated binary tables, the
 * offset-filling and parsing details, and the CLI. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "formats/parttable.h"

static int parse_and_verify(const char *csv, const struct parttable_options *o, struct parttable *t, err_t *e)
{
	if (parttable_parse_csv(csv, strlen(csv), "test.csv", o, t, e))
		return -1;
	return parttable_verify(t, o, e);
}

static void test_bad_csv_is_rejected(void **state)
{
	(void)state;
	static const struct {
		const char *csv;
		const char *flash; /* "" = no flash size check */
		const char *named[3];
	} cases[] = {
		/* overlapping partitions, caught while filling offsets */
		{"nvs,data,nvs,0x9000,0x6000\nphy,data,phy,0xa000,0x1000\n", "", {"line 2", "overlap", "0xa000"}},
		/* overlapping partitions in a different order, caught by the check */
		{"a,data,nvs,0x20000,0x10000\nb,data,nvs,0x30000,0x1000\nc,data,nvs,0x28000,0x4000\n", "",
		 {"line 3", "overlap", "0x28000"}},
		{"a,data,nvs,0x30000,0x10000\nb,data,nvs,0x10000,0x30000\n", "", {"line 2", "0x10000", "overlap"}},
		/* first partition inside the table's sector */
		{"nvs,data,nvs,0x8000,0x6000\n", "", {"line 1", "0x8000", "0x9000"}},
		/* misaligned app offset */
		{"factory,app,factory,0x11000,1M\n", "", {"factory", "0x11000", "0x10000"}},
		/* misaligned data offset */
		{"nvs,data,nvs,0x9800,0x6000\n", "", {"nvs", "0x9800", "0x1000"}},
		/* app size not a multiple of 4K */
		{"factory,app,factory,0x10000,0x1800\n", "", {"factory", "0x1800", "aligned"}},
		/* unknown type and subtype names */
		{"nvs,dta,nvs,,0x6000\n", "", {"line 1", "'dta'", "bootloader, partition_table, app, data"}},
		{"nvs,data,nvx,,0x6000\n", "", {"line 1", "'nvx'", "nvs_keys"}},
		{"ota_0,app,ota_16,,1M\n", "", {"line 1", "'ota_16'", "ota_15"}},
		{"custom,0x40,nvs,,0x1000\n", "", {"line 1", "Invalid field value nvs", NULL}},
		{"big,0x100,0,,0x1000\n", "", {"line 1", "type", "256"}},
		{"big,data,300,,0x1000\n", "", {"line 1", "subtype", "300"}},
		{",,nvs,,0x1000\n", "", {"line 1", "'type'", NULL}},
		{"factory,app,,,1M\n", "", {"line 1", "App partition cannot have an empty subtype", NULL}},
		/* (a name longer than 16 bytes is cut, as the tool does: see test_diff_regress) */
		/* bad sizes */
		{"nvs,data,nvs,,12Q\n", "", {"line 1", "12Q", NULL}},
		{"nvs,data,nvs,,\n", "", {"line 1", "Size", NULL}},
		{"nvs,data,nvs,,0x6000K0\n", "", {"line 1", "0x6000K0", NULL}},
		{"nvs,data,nvs,,010\n", "", {"line 1", "010", NULL}},
		{"nvs,data,nvs,0x9zz0,0x6000\n", "", {"line 1", "0x9zz0", NULL}},
		{"nvs,data,nvs,,8G\n", "", {"line 1", "8G", NULL}},
		{"nvs,data,nvs,,0x100000000\n", "", {"line 1", "size", "4294967296"}},
		/* table exceeding the flash size */
		{"factory,app,factory,,1M\nstorage,data,spiffs,,0x200000\n", "2MB", {"3.1MB", "3211264", "2MB"}},
		/* duplicate names, flags, NVS and otadata rules */
		{"nvs,data,nvs,,0x6000\nnvs,data,nvs,,0x6000\n", "", {"unique", "'nvs'", NULL}},
		{"nvs,data,nvs,,0x6000,secret\n", "", {"line 1", "'secret'", NULL}},
		{"nvs,data,nvs,,0x6000,encrypted: readonly\n", "", {"line 1", "' readonly'", NULL}},
		{"nvs,data,nvs,,0x2000\n", "", {"nvs", "0x2000", "readonly"}},
		{"otadata,data,ota,,0x2000,readonly\n", "", {"otadata", "read-write", NULL}},
		{"core,data,coredump,,64K,readonly\n", "", {"core", "read-write", NULL}},
		{"otadata,data,ota,,0x1000\n", "", {"otadata", "0x2000", NULL}},
		{"o1,data,ota,,0x2000\no2,data,ota,,0x2000\n", "", {"multiple otadata", NULL, NULL}},
		/* an unset variable at the start of a line */
		{"$ESPFAB_SURELY_UNSET_VAR,data,nvs,,0x6000\n", "", {"line 1", "ESPFAB_SURELY_UNSET_VAR", NULL}},
		/* bootloader rows need the bootloader offset */
		{"bootloader,bootloader,primary,N/A,N/A\n", "", {"line 1", "Primary bootloader offset", NULL}},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct parttable_options o;
		parttable_default_options(&o);
		if (!strcmp(cases[i].flash, "2MB"))
			o.flash_size = 2 * 1024 * 1024;
		struct parttable *t = calloc(1, sizeof *t);
		err_t e = {0};
		if (parse_and_verify(cases[i].csv, &o, t, &e) != -1)
			fail_msg("case %zu accepted: %s", i, cases[i].csv);
		assert_int_equal(e.code, ERR_CHECK);
		for (int k = 0; k < 3 && cases[i].named[k]; k++)
			if (!strstr(e.msg, cases[i].named[k]))
				fail_msg("case %zu: message does not name %s: %s", i, cases[i].named[k], e.msg);
		free(t);
	}
}

static void test_offset_filling_and_parsing(void **state)
{
	(void)state;
	setenv("ESPFAB_TEST_NVS_SIZE", "0x6000", 1);
	/* BOM, CRLF, a variable, spaces, an end address as negative size, keywords in any case,
	 * numeric types with suffix, extra columns ignored. */
	const char *csv = "\xEF\xBB\xBF# Name, Type, SubType, Offset, Size, Flags\r\n"
			  "nvs, DATA, NVS, , $ESPFAB_TEST_NVS_SIZE,\r\n"
			  "\r\n"
			  "  phy_init , data, phy, , 4k , , extra\r\n"
			  "factory, app, factory, , -0x110000\r\n"
			  "blob, 0x40, 0x1, , 1_024K, encrypted:readonly\r\n";
	struct parttable_options o;
	parttable_default_options(&o);
	struct parttable t;
	err_t e = {0};
	if (parse_and_verify(csv, &o, &t, &e))
		fail_msg("%s", e.msg);
	assert_int_equal(t.count, 4);
	assert_string_equal(t.entries[0].name, "nvs");
	assert_int_equal(t.entries[0].offset, 0x9000);
	assert_int_equal(t.entries[0].size, 0x6000);
	assert_int_equal(t.entries[0].line, 2);
	assert_string_equal(t.entries[1].name, "phy_init");
	assert_int_equal(t.entries[1].offset, 0xF000);
	assert_int_equal(t.entries[1].line, 4);
	assert_int_equal(t.entries[2].offset, 0x10000);
	assert_int_equal(t.entries[2].size, 0x100000); /* ends at 0x110000 */
	assert_int_equal(t.entries[3].type, 0x40);
	assert_int_equal(t.entries[3].subtype, 1);
	assert_int_equal(t.entries[3].offset, 0x110000);
	assert_int_equal(t.entries[3].size, 0x100000);
	assert_int_equal(t.entries[3].flags, PARTTABLE_FLAG_ENCRYPTED | PARTTABLE_FLAG_READONLY);

	buf_t out = BUF_INIT;
	parttable_render_csv(&t, &o, &out);
	assert_string_equal((char *)out.data, "# ESP-IDF Partition Table\n# Name, Type, SubType, Offset, Size, Flags\n"
					      "nvs,data,nvs,0x9000,24K,\n"
					      "phy_init,data,phy,0xf000,4K,\n"
					      "factory,app,factory,0x10000,1M,\n"
					      "blob,64,1,0x110000,1M,encrypted:readonly\n");
	buf_free_data(&out);

	/* Bootloader and table rows take their offsets from the options. */
	o.has_primary_bootloader_offset = 1;
	o.primary_bootloader_offset = 0x0;
	const char *boot = "bootloader,bootloader,primary,N/A,N/A\npartition_table,partition_table,primary,N/A,N/A\n"
			   "nvs,data,nvs,,0x6000\n";
	if (parse_and_verify(boot, &o, &t, &e))
		fail_msg("%s", e.msg);
	assert_int_equal(t.entries[0].offset, 0);
	assert_int_equal(t.entries[0].size, 0x8000);
	assert_int_equal(t.entries[1].offset, 0x8000);
	assert_int_equal(t.entries[1].size, 0x1000);
	assert_int_equal(t.entries[2].offset, 0x9000);
	assert_string_equal(parttable_subtype_name(2, 0), "primary");
	assert_null(parttable_subtype_name(0x40, 0));
}

static void test_entry_limit(void **state)
{
	(void)state;
	buf_t csv = BUF_INIT;
	for (int i = 0; i < 95; i++) {
		char line[64];
		snprintf(line, sizeof line, "p%d,data,0x40,,4K\n", i);
		buf_append_str(&csv, line);
	}
	buf_terminate_str(&csv);
	struct parttable_options o;
	parttable_default_options(&o);
	struct parttable *t = calloc(1, sizeof *t);
	err_t e = {0};
	assert_int_equal(parse_and_verify((char *)csv.data, &o, t, &e), 0);
	uint8_t bin[PARTTABLE_BIN_SIZE];
	/* 95 entries + MD5 = 0xC00 bytes: the tool's limit is exclusive. */
	assert_int_equal(parttable_encode_binary(t, &o, bin, &e), -1);
	assert_non_null(strstr(e.msg, "3072"));
	o.disable_md5 = 1;
	assert_int_equal(parttable_encode_binary(t, &o, bin, &e), 0);
	assert_int_equal(bin[95 * 32 - 32], 0xAA);
	assert_int_equal(bin[95 * 32], 0xFF);
	buf_append_str(&csv, "p95,data,0x40,,4K\n");
	buf_terminate_str(&csv);
	assert_int_equal(parse_and_verify((char *)csv.data, &o, t, &e), -1);
	assert_non_null(strstr(e.msg, "line 96"));
	free(t);
	buf_free_data(&csv);
}

static void make_binary(uint8_t bin[PARTTABLE_BIN_SIZE], int md5)
{
	const char *csv = "nvs,data,nvs,,0x6000\nphy_init,data,phy,,0x1000\nfactory,app,factory,,1M\n";
	struct parttable_options o;
	parttable_default_options(&o);
	o.disable_md5 = !md5;
	struct parttable t;
	err_t e = {0};
	assert_int_equal(parse_and_verify(csv, &o, &t, &e), 0);
	assert_int_equal(parttable_encode_binary(&t, &o, bin, &e), 0);
}

static void test_bad_binary_is_rejected(void **state)
{
	(void)state;
	uint8_t good[PARTTABLE_BIN_SIZE], bin[PARTTABLE_BIN_SIZE];
	make_binary(good, 1);
	static const struct {
		size_t len;
		int patch_at; /* -1: none */
		uint8_t value;
		int disable_md5;
		const char *named;
	} cases[] = {
		{70, -1, 0, 0, "multiple of 32"},
		{64, -1, 0, 0, "end-of-table marker"},
		{128, -1, 0, 0, "end-of-table marker"},
		{PARTTABLE_BIN_SIZE, 32 + 12, 'P', 0, "MD5 checksums don't match"},	  /* name byte */
		{PARTTABLE_BIN_SIZE, 64 + 8, 0x11, 0, "MD5 checksums don't match"},	  /* size byte */
		{PARTTABLE_BIN_SIZE, 96 + 20, 0x00, 0, "MD5 checksums don't match"},  /* digest byte */
		{PARTTABLE_BIN_SIZE, 32, 0xAB, 0, "Invalid magic bytes (ab 50)"},
		{PARTTABLE_BIN_SIZE, -1, 0, 1, "Invalid magic bytes (eb eb)"},   /* MD5 entry not expected */
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		memcpy(bin, good, sizeof bin);
		if (cases[i].patch_at >= 0)
			bin[cases[i].patch_at] = cases[i].value;
		struct parttable_options o;
		parttable_default_options(&o);
		o.disable_md5 = cases[i].disable_md5;
		struct parttable t;
		err_t e = {0};
		assert_int_equal(parttable_decode_binary(bin, cases[i].len, &o, &t, &e), -1);
		if (!strstr(e.msg, cases[i].named))
			fail_msg("case %zu: message does not name %s: %s", i, cases[i].named, e.msg);
	}
	/* The untouched table decodes, also from a whole 0x1000 sector read back from flash. */
	uint8_t sector[PARTTABLE_SECTOR_SIZE];
	memset(sector, 0xFF, sizeof sector);
	memcpy(sector, good, sizeof good);
	struct parttable_options o;
	parttable_default_options(&o);
	struct parttable t;
	err_t e = {0};
	assert_int_equal(parttable_decode_binary(sector, sizeof sector, &o, &t, &e), 0);
	assert_int_equal(t.count, 3);
	const struct parttable_entry *f = parttable_find_by_name(&t, "factory");
	assert_non_null(f);
	assert_int_equal(f->offset, 0x10000);
	assert_ptr_equal(parttable_find_by_type(&t, PARTTABLE_TYPE_DATA, -1, NULL), &t.entries[0]);
	assert_ptr_equal(parttable_find_by_type(&t, PARTTABLE_TYPE_DATA, -1, &t.entries[0]), &t.entries[1]);
	assert_null(parttable_find_by_type(&t, PARTTABLE_TYPE_DATA, -1, &t.entries[1]));
	assert_null(parttable_find_by_name(&t, "fctry"));
	/* A table without MD5 entry decodes with or without --disable-md5sum. */
	make_binary(bin, 0);
	assert_int_equal(parttable_decode_binary(bin, sizeof bin, &o, &t, &e), 0);
	assert_int_equal(t.count, 3);
}

static void test_sixteen_char_name(void **state)
{
	(void)state;
	struct parttable_options o;
	parttable_default_options(&o);
	struct parttable t, back;
	err_t e = {0};
	assert_int_equal(parse_and_verify("sixteen_chars_ab,data,nvs,,0x6000\n", &o, &t, &e), 0);
	uint8_t bin[PARTTABLE_BIN_SIZE];
	assert_int_equal(parttable_encode_binary(&t, &o, bin, &e), 0);
	assert_memory_equal(bin + 12, "sixteen_chars_ab", 16);
	assert_int_equal(bin[28], 0); /* flags follow directly, no terminator */
	assert_int_equal(parttable_decode_binary(bin, sizeof bin, &o, &back, &e), 0);
	assert_string_equal(back.entries[0].name, "sixteen_chars_ab");
}

static void test_extra_subtypes(void **state)
{
	(void)state;
	struct parttable_options o;
	parttable_default_options(&o);
	err_t e = {0};
	assert_int_equal(parttable_add_extra_subtype(&o, "data, my_sub, 40", &e), 0);
	assert_int_equal(parttable_add_extra_subtype(&o, " app , my_app , 0x2a", &e), 0);
	static const struct {
		const char *spec, *named;
	} bad[] = {
		{"data, again, 0x40", "duplicate"},
		{"data, nvs2, 2", "duplicate"},
		{"0x40, x, 0x41", "'0x40'"},
		{"data, x", "not 'type, name, value'"},
		{"data, x, 0x1zz", "0x1zz"},
		{"data, x, 0x100", "0x100"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		assert_int_equal(parttable_add_extra_subtype(&o, bad[i].spec, &e), -1);
		if (!strstr(e.msg, bad[i].named))
			fail_msg("'%s': message does not name %s: %s", bad[i].spec, bad[i].named, e.msg);
	}
	struct parttable t;
	assert_int_equal(parse_and_verify("x,data,my_sub,,0x1000\ny,app,MY_APP,,64K\n", &o, &t, &e), 0);
	assert_int_equal(t.entries[0].subtype, 0x40);
	assert_int_equal(t.entries[1].subtype, 0x2a);
	buf_t out = BUF_INIT;
	parttable_render_csv(&t, &o, &out);
	assert_non_null(strstr((char *)out.data, "x,data,my_sub,0x9000,4K,\ny,app,my_app,0x10000,64K,\n"));
	out.len = 0;
	parttable_render_csv(&t, NULL, &out);
	assert_non_null(strstr((char *)out.data, "x,data,64,0x9000,4K,\ny,app,42,0x10000,64K,\n"));
	buf_free_data(&out);
	/* Without the extra entry the name is unknown and the message lists the known ones. */
	parttable_default_options(&o);
	assert_int_equal(parse_and_verify("x,data,my_sub,,0x1000\n", &o, &t, &e), -1);
	assert_non_null(strstr(e.msg, "'my_sub'"));
}

/* Garbage and mutated tables: every input is either decoded or refused with a message, never a
 * crash or an out-of-bounds read (this test matters most under ASan). */
static void test_random_inputs_are_handled(void **state)
{
	(void)state;
	uint8_t good[PARTTABLE_BIN_SIZE], bin[PARTTABLE_BIN_SIZE];
	make_binary(good, 1);
	srand(12345);
	struct parttable_options o;
	parttable_default_options(&o);
	struct parttable *t = calloc(1, sizeof *t);
	int accepted = 0, refused = 0;
	for (int round = 0; round < 2000; round++) {
		memcpy(bin, good, sizeof bin);
		int flips = 1 + rand() % 4;
		for (int k = 0; k < flips; k++)
			bin[rand() % 160] = (uint8_t)rand();
		size_t len = (size_t)(rand() % (int)sizeof bin);
		err_t e = {0};
		if (parttable_decode_binary(bin, len, &o, t, &e) == 0) {
			accepted++;
			buf_t out = BUF_INIT;
			parttable_render_csv(t, &o, &out);
			parttable_render_json(t, &out);
			buf_free_data(&out);
			(void)parttable_verify(t, &o, &e);
		} else {
			refused++;
			assert_true(e.msg[0] != '\0');
		}
	}
	assert_true(refused > 0);
	/* Random printable text as CSV. */
	static const char alphabet[] = "abcdefxXkKmM0123456789,,,:: \n#$_-";
	char text[256];
	for (int round = 0; round < 2000; round++) {
		size_t n = (size_t)(rand() % (int)(sizeof text - 1));
		for (size_t i = 0; i < n; i++)
			text[i] = alphabet[rand() % (int)(sizeof alphabet - 1)];
		text[n] = '\0';
		err_t e = {0};
		if (parttable_parse_csv(text, n, "random.csv", &o, t, &e) == 0 && parttable_verify(t, &o, &e) == 0) {
			uint8_t out[PARTTABLE_BIN_SIZE];
			(void)parttable_encode_binary(t, &o, out, &e);
			accepted++;
		} else {
			assert_true(e.msg[0] != '\0');
		}
	}
	assert_true(accepted > 0);
	free(t);
}

static void test_cli(void **state)
{
	(void)state;
	char *dir = testutil_make_tmpdir();
	char *csv = testutil_join_path(dir, "partitions.csv");
	char *bad = testutil_join_path(dir, "bad.csv");
	char *bin = testutil_join_path(dir, "out.bin");
	const char *good_text = "nvs,data,nvs,,0x6000\nphy_init,data,phy,,0x1000\nfactory,app,factory,,3M\n";
	testutil_write_file(csv, good_text, strlen(good_text));
	const char *bad_text = "nvs,data,nvs,,0x6000\nfactory,app,factory,0x11000,1M\n";
	testutil_write_file(bad, bad_text, strlen(bad_text));

	/* An error names the file and leaves no output behind. */
	char *a1[] = {"espfab", "parttable", bad, bin, NULL};
	buf_t out = BUF_INIT, err = BUF_INIT;
	assert_int_equal(testutil_run_espfab(dir, a1, &out, &err), 1);
	buf_terminate_str(&err);
	assert_non_null(strstr((char *)err.data, "bad.csv"));
	assert_non_null(strstr((char *)err.data, "0x11000"));
	struct stat st;
	assert_int_not_equal(stat(bin, &st), 0);

	/* Flash size overrun through the CLI. */
	char *a2[] = {"espfab", "parttable", "--flash-size", "2MB", csv, bin, NULL};
	err.len = 0;
	assert_int_equal(testutil_run_espfab(dir, a2, &out, &err), 1);
	buf_terminate_str(&err);
	assert_non_null(strstr((char *)err.data, "does not fit"));
	char *a3[] = {"espfab", "parttable", "--flash-size", "3MB", csv, bin, NULL};
	err.len = 0;
	assert_int_equal(testutil_run_espfab(dir, a3, &out, &err), 2);
	buf_terminate_str(&err);
	assert_non_null(strstr((char *)err.data, "3MB"));
	char *a4[] = {"espfab", "parttable", NULL};
	assert_int_equal(testutil_run_espfab(dir, a4, &out, &err), 2);

	/* CSV -> binary file -> CSV on stdout -> JSON. */
	char *a5[] = {"espfab", "parttable", "--offset=0x8000", "--flash-size=4MB", "--", csv, bin, NULL};
	assert_int_equal(testutil_run_espfab(dir, a5, &out, &err), 0);
	assert_int_equal(stat(bin, &st), 0);
	assert_int_equal(st.st_size, PARTTABLE_BIN_SIZE);
	char *a6[] = {"espfab", "parttable", bin, NULL};
	out.len = 0;
	assert_int_equal(testutil_run_espfab(dir, a6, &out, &err), 0);
	buf_terminate_str(&out);
	assert_string_equal((char *)out.data, "# ESP-IDF Partition Table\n# Name, Type, SubType, Offset, Size, Flags\n"
					      "nvs,data,nvs,0x9000,24K,\nphy_init,data,phy,0xf000,4K,\n"
					      "factory,app,factory,0x10000,3M,\n");
	char *a7[] = {"espfab", "parttable", "--json", bin, NULL};
	out.len = 0;
	assert_int_equal(testutil_run_espfab(dir, a7, &out, &err), 0);
	buf_terminate_str(&out);
	json_error_t je;
	json_t *j = json_loads((char *)out.data, 0, &je);
	assert_non_null(j);
	json_t *parts = json_object_get(j, "partitions");
	assert_int_equal(json_array_size(parts), 3);
	json_t *f = json_array_get(parts, 2);
	assert_string_equal(json_string_value(json_object_get(f, "name")), "factory");
	assert_int_equal(json_integer_value(json_object_get(f, "offset")), 0x10000);
	assert_int_equal(json_integer_value(json_object_get(f, "size")), 3 * 1024 * 1024);
	assert_string_equal(json_string_value(json_object_get(f, "type_name")), "app");
	json_decref(j);

	/* --extra-partition-subtypes before the positional arguments. */
	const char *custom = "x,data,my_sub,,0x1000\n";
	char *ccsv = testutil_join_path(dir, "custom.csv");
	testutil_write_file(ccsv, custom, strlen(custom));
	char *a8[] = {"espfab", "parttable", "--extra-partition-subtypes", "data, my_sub, 0x40", ccsv, bin, NULL};
	assert_int_equal(testutil_run_espfab(dir, a8, &out, &err), 0);
	char *a9[] = {"espfab", "parttable", "--extra-partition-subtypes", "data, my_sub, 0x40", bin, NULL};
	out.len = 0;
	assert_int_equal(testutil_run_espfab(dir, a9, &out, &err), 0);
	buf_terminate_str(&out);
	assert_non_null(strstr((char *)out.data, "\nx,data,my_sub,0x9000,4K,\n"));
	free(ccsv);

	buf_free_data(&out);
	buf_free_data(&err);
	testutil_remove_tree(dir);
	free(dir), free(csv), free(bad), free(bin);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_csv_is_rejected),
		cmocka_unit_test(test_offset_filling_and_parsing),
		cmocka_unit_test(test_entry_limit),
		cmocka_unit_test(test_bad_binary_is_rejected),
		cmocka_unit_test(test_sixteen_char_name),
		cmocka_unit_test(test_extra_subtypes),
		cmocka_unit_test(test_random_inputs_are_handled),
		cmocka_unit_test(test_cli),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
