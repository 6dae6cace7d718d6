/* Bad input for the NVS modules and `espfab nvs`: each row of the table must fail with a message
 * naming the input (file and line, or the size or key file at fault) and the field, through the
 * library and through the CLI, and the CLI must leave no output file behind. */
#include "testutil.h"

#include <dirent.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/checksum.h"
#include "formats/nvs.h"
#include "formats/nvs_csv.h"
#include "formats/nvs_read.h"
#include "formats/nvs_write.h"

struct bad_csv {
	const char *what;
	const char *rows; /* after the header line */
	const char *size;
	const char *version;
	const char *want[3]; /* substrings of the message */
	int exit_code;
	const char *header; /* NULL: the standard header line */
};

#define HDR "key,type,encoding,value\n"

static char *repeat(char c, size_t n)
{
	char *s = malloc(n + 1);
	memset(s, c, n);
	s[n] = '\0';
	return s;
}

static char *many_u32_rows(unsigned n)
{
	buf_t b = BUF_INIT;
	buf_append_str(&b, "ns,namespace,,\n");
	for (unsigned i = 0; i < n; i++) {
		char line[64];
		snprintf(line, sizeof line, "k%u,data,u32,%u\n", i, i);
		buf_append_str(&b, line);
	}
	buf_terminate_str(&b);
	return (char *)b.data;
}

static size_t count_dir_entries(const char *dir)
{
	DIR *d = opendir(dir);
	assert_non_null(d);
	size_t n = 0;
	struct dirent *de;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static void run_bad_csv(const struct bad_csv *c)
{
	/* Library: parse then write. */
	buf_t text = BUF_INIT;
	buf_append_str(&text, c->header ? c->header : HDR);
	buf_append_str(&text, c->rows);
	struct nvs_list l;
	nvs_list_init(&l);
	struct nvs_csv_parser p;
	err_t e = {0};
	char *tmp = testutil_make_tmpdir();
	nvs_csv_init_parser(&p, &l, tmp);
	int rc = nvs_csv_parse_text(&p, "in.csv", (char *)text.data, text.len, &e);
	nvs_csv_free_parser(&p);
	if (rc == 0) {
		uint32_t size = (uint32_t)strtoul(c->size, NULL, 0);
		buf_t img = BUF_INIT;
		rc = nvs_write_partition(&l, size, c->version ? atoi(c->version) : 2, &img, &e);
		assert_int_equal(img.len, 0);
	}
	if (rc != -1)
		fail_msg("%s: the library accepted it", c->what);
	for (int k = 0; k < 3 && c->want[k]; k++)
		if (!strstr(e.msg, c->want[k]))
			fail_msg("%s: library message '%s' lacks '%s'", c->what, e.msg, c->want[k]);
	nvs_list_free(&l);

	/* CLI: same CSV as a file. */
	char *csv = testutil_join_path(tmp, "in.csv");
	testutil_write_file(csv, text.data, text.len);
	char *argv[] = {"espfab", "nvs", "generate", "in.csv", "out.bin", (char *)c->size,
			"--version", (char *)(c->version ? c->version : "2"), NULL};
	buf_t out = BUF_INIT, err = BUF_INIT;
	rc = testutil_run_espfab(tmp, argv, &out, &err);
	if (rc != c->exit_code)
		fail_msg("%s: exit %d, want %d; stderr: %s", c->what, rc, c->exit_code,
			 (char *)err.data);
	for (int k = 0; k < 3 && c->want[k]; k++)
		if (!strstr((char *)err.data, c->want[k]))
			fail_msg("%s: CLI message '%s' lacks '%s'", c->what, (char *)err.data,
				 c->want[k]);
	assert_non_null(strstr((char *)err.data, "espfab nvs"));
	/* Only the input is there: no output, no temporary file. */
	assert_int_equal(count_dir_entries(tmp), 1);
	buf_free_data(&out);
	buf_free_data(&err);
	buf_free_data(&text);
	free(csv);
	testutil_remove_tree(tmp);
	free(tmp);
}

static void test_bad_csv_table(void **state)
{
	(void)state;
	char *long_string = repeat('s', 4000);
	char *page_string = repeat('p', 3968);
	char *v1_blob = repeat('a', 2 * 1985);
	char *many = many_u32_rows(300);
	char rows_long[4200], rows_page[4100], rows_v1[4100];
	snprintf(rows_long, sizeof rows_long, "ns,namespace,,\nbig,data,string,%s\n", long_string);
	snprintf(rows_page, sizeof rows_page, "ns,namespace,,\nbig,data,string,%s\n", page_string);
	snprintf(rows_v1, sizeof rows_v1, "ns,namespace,,\nbig,data,hex2bin,%s\n", v1_blob);
	const struct bad_csv table[] = {
		{"unknown type", "ns,namespace,,\nk,blob,u8,1\n", "0x3000", NULL,
		 {"in.csv:3", "field 'type'", "blob"}, 1, NULL},
		{"unknown encoding", "ns,namespace,,\nk,data,u9,1\n", "0x3000", NULL,
		 {"in.csv:3", "field 'encoding'", "u9"}, 1, NULL},
		{"key too long", "ns,namespace,,\nabcdefghijklmnop,data,u8,1\n", "0x3000", NULL,
		 {"in.csv:3", "field 'key'", "abcdefghijklmnop"}, 1, NULL},
		{"namespace name too long", "namespace_is_16c,namespace,,\n", "0x3000", NULL,
		 {"in.csv:2", "field 'key'"}, 1, NULL},
		{"u8 too big", "ns,namespace,,\nk,data,u8,256\n", "0x3000", NULL,
		 {"in.csv:3", "field 'value'", "out of range for u8"}, 1, NULL},
		{"u8 negative", "ns,namespace,,\nk,data,u8,-1\n", "0x3000", NULL,
		 {"in.csv:3", "field 'value'", "out of range"}, 1, NULL},
		{"i8 too small", "ns,namespace,,\nk,data,i8,-129\n", "0x3000", NULL,
		 {"in.csv:3", "out of range for i8"}, 1, NULL},
		{"u16 too big", "ns,namespace,,\nk,data,u16,65536\n", "0x3000", NULL,
		 {"in.csv:3", "out of range for u16"}, 1, NULL},
		{"i16 too big", "ns,namespace,,\nk,data,i16,32768\n", "0x3000", NULL,
		 {"in.csv:3", "out of range for i16"}, 1, NULL},
		{"u32 too big", "ns,namespace,,\nk,data,u32,4294967296\n", "0x3000", NULL,
		 {"in.csv:3", "out of range for u32"}, 1, NULL},
		{"i32 too small", "ns,namespace,,\nk,data,i32,-2147483649\n", "0x3000", NULL,
		 {"in.csv:3", "out of range for i32"}, 1, NULL},
		{"u64 too big", "ns,namespace,,\nk,data,u64,18446744073709551616\n", "0x3000", NULL,
		 {"in.csv:3", "field 'value'", "out of range"}, 1, NULL},
		{"i64 too big", "ns,namespace,,\nk,data,i64,9223372036854775808\n", "0x3000", NULL,
		 {"in.csv:3", "out of range for i64"}, 1, NULL},
		{"not a number", "ns,namespace,,\nk,data,u32,0x10\n", "0x3000", NULL,
		 {"in.csv:3", "field 'value'", "not a decimal integer"}, 1, NULL},
		{"bad hex digit", "ns,namespace,,\nk,data,hex2bin,12zz\n", "0x3000", NULL,
		 {"in.csv:3", "field 'value'", "not a hex digit"}, 1, NULL},
		{"odd hex", "ns,namespace,,\nk,data,hex2bin,abc\n", "0x3000", NULL,
		 {"in.csv:3", "field 'value'", "odd"}, 1, NULL},
		{"bad base64", "ns,namespace,,\nk,data,base64,abcde\n", "0x3000", NULL,
		 {"in.csv:3", "field 'value'", "base64"}, 1, NULL},
		{"bad base64 padding", "ns,namespace,,\nk,data,base64,abcdef\n", "0x3000", NULL,
		 {"in.csv:3", "padding"}, 1, NULL},
		{"missing file", "ns,namespace,,\nk,file,binary,files/nope.bin\n", "0x3000", NULL,
		 {"in.csv:3", "field 'value'", "files/nope.bin"}, 1, NULL},
		{"no namespace first", "k,data,u8,1\nns,namespace,,\n", "0x3000", NULL,
		 {"in.csv:2", "namespace"}, 1, NULL},
		{"missing value field", "ns,namespace,,\nk,data,u8\n", "0x3000", NULL,
		 {"in.csv:3", "field 'value'", "missing"}, 1, NULL},
		{"bad blob_fill", "ns,namespace,,\nk,data,blob_fill(4;0xZZ),a\n", "0x3000", NULL,
		 {"in.csv:3", "field 'encoding'"}, 1, NULL},
		{"blob_fill overflow", "ns,namespace,,\nk,data,blob_fill(2;0x00),abc\n", "0x3000",
		 NULL, {"in.csv:3", "field 'value'"}, 1, NULL},
		{"string over 4000 bytes", rows_long, "0x3000", NULL,
		 {"in.csv:3", "big", "4001 bytes exceed"}, 1, NULL},
		{"string over one page", rows_page, "0x3000", NULL,
		 {"in.csv:3", "big", "does not fit in one page"}, 1, NULL},
		{"v1 blob over 1984 bytes", rows_v1, "0x3000", "1",
		 {"in.csv:3", "big", "1985 bytes exceed"}, 1, NULL},
		{"partition too small", many, "0x3000", NULL,
		 {"in.csv:", "k25", "does not fit in the partition size"}, 1, NULL},
		{"size not a multiple of 4096", "ns,namespace,,\n", "0x3001", NULL,
		 {"0x3001", "multiple of 4096"}, 1, NULL},
		{"size zero", "ns,namespace,,\n", "0", NULL, {"too small"}, 1, NULL},
		{"text after a closing quote", "ns,namespace,,\nk,data,string,\"ab\"cd\nz,data,u8,1\n",
		 "0x3000", NULL, {"in.csv:3", "closing quote"}, 1, NULL},
		{"header without value column", "ns,namespace,,\n", "0x3000", NULL,
		 {"in.csv", "'value' column"}, 1, "key,type,encoding,val\n"},
		{"non-ASCII binary text", "ns,namespace,,\nk,data,binary,h\xc3\xa9\n", "0x3000", NULL,
		 {"in.csv:3", "non-ASCII"}, 1, NULL},
		{"non-UTF-8 text", "ns,namespace,,\nk,data,string,\xff\xfe\n", "0x3000", NULL,
		 {"in.csv:3", "UTF-8"}, 1, NULL},
	};
	for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
		run_bad_csv(&table[i]);
	free(long_string);
	free(page_string);
	free(v1_blob);
	free(many);
}

/* CSV that is fine, for the CLI option and reader checks. */
static char *make_good_case(buf_t *img_path_out)
{
	char *tmp = testutil_make_tmpdir();
	char *csv = testutil_join_path(tmp, "in.csv");
	const char *text = HDR "ns,namespace,,\nk,data,u8,1\ns,data,string,hello\n";
	testutil_write_file(csv, text, strlen(text));
	free(csv);
	char *argv[] = {"espfab", "nvs", "generate", "in.csv", "good.bin", "0x3000", NULL};
	buf_t out = BUF_INIT, err = BUF_INIT;
	assert_int_equal(testutil_run_espfab(tmp, argv, &out, &err), 0);
	buf_free_data(&out);
	buf_free_data(&err);
	if (img_path_out) {
		char *p = testutil_join_path(tmp, "good.bin");
		buf_append_str(img_path_out, p);
		buf_terminate_str(img_path_out);
		free(p);
	}
	return tmp;
}

static void expect_cli_failure(const char *tmp, char **argv, int code, const char *w1,
			       const char *w2)
{
	buf_t out = BUF_INIT, err = BUF_INIT;
	int rc = testutil_run_espfab(tmp, argv, &out, &err);
	if (rc != code)
		fail_msg("%s %s: exit %d, want %d; stderr: %s", argv[2], argv[3] ? argv[3] : "", rc,
			 code, (char *)err.data);
	if (w1 && !strstr((char *)err.data, w1))
		fail_msg("%s: message '%s' lacks '%s'", argv[2], (char *)err.data, w1);
	if (w2 && !strstr((char *)err.data, w2))
		fail_msg("%s: message '%s' lacks '%s'", argv[2], (char *)err.data, w2);
	buf_free_data(&out);
	buf_free_data(&err);
}

static void test_bad_binaries_for_reader(void **state)
{
	(void)state;
	buf_t img_path = BUF_INIT;
	char *tmp = make_good_case(&img_path);
	buf_t img = BUF_INIT;
	testutil_read_file((char *)img_path.data, &img);

	char *trunc = testutil_join_path(tmp, "trunc.bin");
	testutil_write_file(trunc, img.data, 4096 + 100);
	char *a1[] = {"espfab", "nvs", "dump", "trunc.bin", NULL};
	expect_cli_failure(tmp, a1, 1, "trunc.bin", "4196 bytes");

	char *bad = testutil_join_path(tmp, "bad.bin");
	img.data[64 + 32 + 9] ^= 1; /* key of entry 1 */
	testutil_write_file(bad, img.data, img.len);
	char *a2[] = {"espfab", "nvs", "dump", "bad.bin", NULL};
	expect_cli_failure(tmp, a2, 1, "bad.bin", "entry CRC mismatch");
	char *a3[] = {"espfab", "nvs", "dump", "bad.bin", "--json", NULL};
	expect_cli_failure(tmp, a3, 1, "bad.bin", "page 0 entry 1");

	char *a4[] = {"espfab", "nvs", "dump", "missing.bin", NULL};
	expect_cli_failure(tmp, a4, 1, "missing.bin", NULL);

	/* decrypt with a key file that is too short, and with a truncated partition */
	char *shortkey = testutil_join_path(tmp, "short.bin");
	testutil_write_file(shortkey, "0123456789", 10);
	char *a5[] = {"espfab", "nvs", "decrypt", "good.bin", "short.bin", "dec.bin", NULL};
	expect_cli_failure(tmp, a5, 1, "short.bin", "64");
	char *a6[] = {"espfab", "nvs", "encrypt", "in.csv", "enc.bin", "0x3000", "--inputkey",
		      "short.bin", NULL};
	expect_cli_failure(tmp, a6, 1, "short.bin", "64");
	char key[4096];
	memset(key, 0x42, sizeof key);
	char *keyf = testutil_join_path(tmp, "key.bin");
	testutil_write_file(keyf, key, sizeof key);
	char *a7[] = {"espfab", "nvs", "decrypt", "trunc.bin", "key.bin", "dec.bin", NULL};
	expect_cli_failure(tmp, a7, 1, "trunc.bin", "4096");

	/* usage errors: the generator's own argument rules */
	char *u1[] = {"espfab", "nvs", "generate", "in.csv", "out.txt", "0x3000", NULL};
	expect_cli_failure(tmp, u1, 2, "out.txt", ".bin");
	char *u2[] = {"espfab", "nvs", "generate", "in.csv", "out.bin", "0x3000", "--version",
		      "3", NULL};
	expect_cli_failure(tmp, u2, 2, "--version", NULL);
	char *u3[] = {"espfab", "nvs", "encrypt", "in.csv", "out.bin", "0x3000", NULL};
	expect_cli_failure(tmp, u3, 2, "--keygen or --inputkey", NULL);
	char *u4[] = {"espfab", "nvs", "encrypt", "in.csv", "out.bin", "0x3000", "--keygen",
		      "--inputkey", "key.bin", NULL};
	expect_cli_failure(tmp, u4, 2, "both", NULL);
	char *u5[] = {"espfab", "nvs", "generate", "in.csv", "out.bin", "0x3000", "--bogus", NULL};
	expect_cli_failure(tmp, u5, 2, "--bogus", NULL);
	char *u6[] = {"espfab", "nvs", "generate-key", "--key_protect_hmac", NULL};
	expect_cli_failure(tmp, u6, 2, "HMAC", NULL);
	char *u7[] = {"espfab", "nvs", "generate", "in.csv", NULL};
	expect_cli_failure(tmp, u7, 2, "required", NULL);

	/* Nothing but the inputs written above is left in the folder. */
	DIR *d = opendir(tmp);
	struct dirent *de;
	while ((de = readdir(d))) {
		const char *n = de->d_name;
		if (n[0] == '.')
			continue;
		if (strcmp(n, "in.csv") && strcmp(n, "good.bin") && strcmp(n, "trunc.bin") &&
		    strcmp(n, "bad.bin") && strcmp(n, "short.bin") && strcmp(n, "key.bin"))
			fail_msg("unexpected file left behind: %s", n);
	}
	closedir(d);
	free(trunc);
	free(bad);
	free(shortkey);
	free(keyf);
	buf_free_data(&img);
	buf_free_data(&img_path);
	testutil_remove_tree(tmp);
	free(tmp);
}

/* ---- hand-built pages, for layouts the generator does not write (an older blob version left
 * beside a newer one, a lost index), laid out as nvs-format.md §2-§7 says ---- */

struct tpage {
	uint8_t b[NVS_PAGE_SIZE];
	unsigned next; /* next free entry slot */
};

static void tpage_init(struct tpage *p, uint32_t seq)
{
	memset(p->b, 0xFF, sizeof p->b);
	checksum_write_u32le(p->b, NVS_PAGE_STATE_ACTIVE);
	checksum_write_u32le(p->b + 4, seq);
	p->b[8] = NVS_VERSION_BYTE_V2;
	checksum_write_u32le(p->b + 28, checksum_crc32_esp(p->b + 4, 24));
	p->next = 0;
}

/* One item: header entry with data8 as bytes 24..31, then the payload entries. */
static void tpage_put(struct tpage *p, uint8_t ns, uint8_t type, uint8_t chunk, const char *key,
		      const uint8_t data8[8], const uint8_t *payload, size_t plen)
{
	unsigned span = 1 + (unsigned)((plen + 31) / 32);
	assert_true(p->next + span <= NVS_ENTRIES_PER_PAGE);
	uint8_t *en = p->b + NVS_FIRST_ENTRY_OFFSET + 32 * p->next;
	en[0] = ns;
	en[1] = type;
	en[2] = (uint8_t)span;
	en[3] = chunk;
	memset(en + 8, 0, 16);
	memcpy(en + 8, key, strlen(key));
	memcpy(en + 24, data8, 8);
	uint8_t tmp[28];
	memcpy(tmp, en, 4);
	memcpy(tmp + 4, en + 8, 24);
	checksum_write_u32le(en + 4, checksum_crc32_esp(tmp, sizeof tmp));
	if (plen)
		memcpy(en + 32, payload, plen);
	for (unsigned k = 0; k < span; k++) {
		unsigned i = p->next + k;
		p->b[32 + 2 * i / 8] &= (uint8_t)~(1u << (2 * i % 8)); /* 0b11 -> 0b10 */
	}
	p->next += span;
}

static void tpage_namespace(struct tpage *p, const char *name, uint8_t index)
{
	uint8_t d[8];
	memset(d, 0xFF, sizeof d);
	d[0] = index;
	tpage_put(p, 0, NVS_TYPE_U8, 0xFF, name, d, NULL, 0);
}

static void tpage_chunk(struct tpage *p, uint8_t ns, const char *key, uint8_t chunk,
			const uint8_t *data, size_t n)
{
	uint8_t d[8];
	checksum_write_u16le(d, (uint16_t)n);
	d[2] = d[3] = 0xFF;
	checksum_write_u32le(d + 4, checksum_crc32_esp(data, n));
	tpage_put(p, ns, NVS_TYPE_BLOB_DATA, chunk, key, d, data, n);
}

static void tpage_index(struct tpage *p, uint8_t ns, const char *key, uint32_t size,
			uint8_t count, uint8_t start)
{
	uint8_t d[8];
	checksum_write_u32le(d, size);
	d[4] = count;
	d[5] = start;
	d[6] = d[7] = 0xFF;
	tpage_put(p, ns, NVS_TYPE_BLOB_IDX, 0xFF, key, d, NULL, 0);
}

static void pattern(uint8_t *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(seed * 31 + i * 7);
}

static size_t count_values(const struct nvs_read_result *r, const char *ns, const char *key)
{
	size_t n = 0;
	for (size_t i = 0; i < r->value_count; i++)
		n += !strcmp(r->values[i].ns_name, ns) && !strcmp(r->values[i].key, key);
	return n;
}

static bool has_problem(const struct nvs_read_result *r, const char *a, const char *b)
{
	for (size_t i = 0; i < r->problem_count; i++)
		if (strstr(r->problems[i], a) && (!b || strstr(r->problems[i], b)))
			return true;
	return false;
}

/* A blob key written twice is two items, each assembled from the chunks of its own version. */
static void test_repeated_blob_key(void **state)
{
	(void)state;
	err_t e = {0};
	/* As the generator writes a key given twice: both versions start at chunk 0; the first
	 * spans two pages (two chunks), the second is small. */
	uint8_t big[5000], small[3] = {0xCC, 0xDD, 0xEE};
	pattern(big, sizeof big, 1);
	struct nvs_list l;
	nvs_list_init(&l);
	assert_int_equal(nvs_list_add_namespace(&l, "ns", &e), 0);
	assert_int_equal(nvs_list_add_blob(&l, "b", big, sizeof big, &e), 0);
	assert_int_equal(nvs_list_add_blob(&l, "b", small, sizeof small, &e), 0);
	assert_int_equal(nvs_list_add_u8(&l, "after", 9, &e), 0);
	buf_t img = BUF_INIT;
	assert_int_equal(nvs_write_partition(&l, 0x3000, 2, &img, &e), 0);
	struct nvs_read_result r;
	assert_int_equal(nvs_read_partition(img.data, img.len, &r, &e), 0);
	if (r.problem_count)
		fail_msg("repeated key: %s", r.first_problem);
	assert_int_equal(count_values(&r, "ns", "b"), 2);
	const struct nvs_read_value *v = NULL;
	for (size_t i = 0; i < r.value_count; i++)
		if (!strcmp(r.values[i].key, "b") && !v)
			v = &r.values[i];
	testutil_assert_bytes_equal("first version", v->data.data, v->data.len, big, sizeof big);
	v = nvs_read_find_value(&r, "ns", "b"); /* the last write wins */
	testutil_assert_bytes_equal("second version", v->data.data, v->data.len, small, sizeof small);
	nvs_read_free(&r);
	buf_free_data(&img);
	nvs_list_free(&l);

	/* As the IDF writer rewrites a blob: the new version at chunk_start 128, the old one (0)
	 * not yet erased. Both decode, each from its own chunk range. */
	uint8_t a0[64], a1[40], b0[50];
	pattern(a0, sizeof a0, 2);
	pattern(a1, sizeof a1, 3);
	pattern(b0, sizeof b0, 4);
	static struct tpage pg[2];
	tpage_init(&pg[0], 0);
	tpage_namespace(&pg[0], "ns", 1);
	tpage_chunk(&pg[0], 1, "k", 0, a0, sizeof a0);
	tpage_chunk(&pg[0], 1, "k", 1, a1, sizeof a1);
	tpage_index(&pg[0], 1, "k", sizeof a0 + sizeof a1, 2, 0);
	tpage_chunk(&pg[0], 1, "k", 128, b0, sizeof b0);
	tpage_index(&pg[0], 1, "k", sizeof b0, 1, 128);
	tpage_init(&pg[1], 1);
	static uint8_t two[2 * NVS_PAGE_SIZE];
	memcpy(two, pg[0].b, NVS_PAGE_SIZE);
	memcpy(two + NVS_PAGE_SIZE, pg[1].b, NVS_PAGE_SIZE);
	assert_int_equal(nvs_read_partition(two, sizeof two, &r, &e), 0);
	if (r.problem_count)
		fail_msg("two versions: %s", r.first_problem);
	assert_int_equal(count_values(&r, "ns", "k"), 2);
	assert_int_equal(r.values[0].data.len, sizeof a0 + sizeof a1);
	testutil_assert_bytes_equal("old version", r.values[0].data.data, sizeof a0, a0, sizeof a0);
	testutil_assert_bytes_equal("old version tail", r.values[0].data.data + sizeof a0,
				    sizeof a1, a1, sizeof a1);
	v = nvs_read_find_value(&r, "ns", "k");
	testutil_assert_bytes_equal("new version", v->data.data, v->data.len, b0, sizeof b0);
	nvs_read_free(&r);
}

/* A chunk no index claims, and an index whose chunk is missing, are named; the rest decodes. */
static void test_orphan_and_missing_chunks(void **state)
{
	(void)state;
	err_t e = {0};
	uint8_t a0[64], b0[50], c0[20], c2[20];
	pattern(a0, sizeof a0, 5);
	pattern(b0, sizeof b0, 6);
	pattern(c0, sizeof c0, 7);
	pattern(c2, sizeof c2, 8);
	static struct tpage pg;
	tpage_init(&pg, 0);
	tpage_namespace(&pg, "ns", 1);
	tpage_chunk(&pg, 1, "k", 0, a0, sizeof a0);        /* entry 1 */
	tpage_index(&pg, 1, "k", sizeof a0, 1, 0);         /* entry 4 */
	tpage_chunk(&pg, 1, "k", 128, b0, sizeof b0);      /* entry 5: its index was lost */
	tpage_chunk(&pg, 1, "m", 0, c0, sizeof c0);        /* entry 8 */
	tpage_chunk(&pg, 1, "m", 2, c2, sizeof c2);        /* entry 10: chunk 1 never written */
	tpage_index(&pg, 1, "m", 60, 3, 0);                /* entry 12 */
	uint8_t u8d[8];
	memset(u8d, 0xFF, sizeof u8d);
	u8d[0] = 42;
	tpage_put(&pg, 1, NVS_TYPE_U8, 0xFF, "after", u8d, NULL, 0);
	struct nvs_read_result r;
	assert_int_equal(nvs_read_partition(pg.b, sizeof pg.b, &r, &e), 0);
	assert_int_equal(r.problem_count, 2);
	if (!has_problem(&r, "page 0 entry 5: blob 'k' data chunk 128", "orphan chunk"))
		fail_msg("orphan not named: %s", r.problems[0]);
	if (!has_problem(&r, "page 0 entry 12: blob 'm'", "chunk 1 is missing"))
		fail_msg("missing chunk not named: %s / %s", r.problems[0], r.problems[1]);
	assert_int_equal(count_values(&r, "ns", "k"), 1);
	testutil_assert_bytes_equal("k", nvs_read_find_value(&r, "ns", "k")->data.data,
				    sizeof a0, a0, sizeof a0);
	assert_null(nvs_read_find_value(&r, "ns", "m"));
	assert_int_equal(nvs_read_find_value(&r, "ns", "after")->num, 42);
	/* the listing names both */
	buf_t txt = BUF_INIT;
	nvs_read_format_listing(&r, &txt);
	assert_non_null(strstr((char *)txt.data, "problem: page 0 entry 5: blob 'k' data chunk 128"));
	assert_non_null(strstr((char *)txt.data, "chunk 1 is missing"));
	buf_free_data(&txt);
	nvs_read_free(&r);

	/* the CLI: what decodes on stdout, both problems on stderr, exit 1 */
	char *dir = testutil_make_tmpdir();
	char *path = testutil_join_path(dir, "orphan.bin");
	testutil_write_file(path, pg.b, sizeof pg.b);
	char *a[] = {"espfab", "nvs", "dump", "orphan.bin", NULL};
	buf_t out = BUF_INIT, err = BUF_INIT;
	assert_int_equal(testutil_run_espfab(dir, a, &out, &err), 1);
	buf_terminate_str(&out);
	buf_terminate_str(&err);
	assert_non_null(strstr((char *)out.data, "ns:after u8 (1 bytes) = 42"));
	assert_non_null(strstr((char *)out.data, "ns:k blob (64 bytes) = "));
	assert_non_null(strstr((char *)err.data, "orphan.bin: 2 problem(s)"));
	assert_non_null(strstr((char *)err.data, "orphan chunk"));
	assert_non_null(strstr((char *)err.data, "chunk 1 is missing"));
	buf_free_data(&out);
	buf_free_data(&err);
	testutil_remove_tree(dir);
	free(path);
	free(dir);
}

/* A truncated image: every whole page decoded, the cut named with its offset and size; with
 * --keyfile the whole pages are decrypted first. Several problems are all named. */
static void test_truncated_image_decodes_whole_pages(void **state)
{
	(void)state;
	char *tmp = make_good_case(NULL);
	char *a1[] = {"espfab", "nvs", "dump", "good.bin", NULL};
	buf_t out = BUF_INIT, err = BUF_INIT;
	assert_int_equal(testutil_run_espfab(tmp, a1, &out, &err), 0);
	char *gp = testutil_join_path(tmp, "good.bin");
	buf_t img = BUF_INIT;
	testutil_read_file(gp, &img);

	struct nvs_read_result r;
	err_t e = {0};
	assert_int_equal(nvs_read_partition(img.data, 4096 + 100, &r, &e), 0);
	assert_int_equal(r.page_count, 1);
	assert_int_equal(r.problem_count, 1);
	assert_non_null(strstr(r.first_problem, "4196 bytes"));
	assert_non_null(strstr(r.first_problem, "page 1 at offset 0x1000 has only 100 of 4096 bytes"));
	assert_non_null(nvs_read_find_value(&r, "ns", "s"));
	nvs_read_free(&r);

	char *tp = testutil_join_path(tmp, "cut.bin");
	testutil_write_file(tp, img.data, 4096 + 100);
	char *a2[] = {"espfab", "nvs", "dump", "cut.bin", NULL};
	out.len = err.len = 0;
	assert_int_equal(testutil_run_espfab(tmp, a2, &out, &err), 1);
	buf_terminate_str(&out);
	buf_terminate_str(&err);
	assert_non_null(strstr((char *)out.data, "ns:s string (6 bytes) = hello"));
	assert_non_null(strstr((char *)err.data, "cut.bin"));
	assert_non_null(strstr((char *)err.data, "offset 0x1000 has only 100 of 4096 bytes"));
	char *a3[] = {"espfab", "nvs", "dump", "cut.bin", "--json", NULL};
	out.len = 0;
	assert_int_equal(testutil_run_espfab(tmp, a3, &out, &err), 1);
	buf_terminate_str(&out);
	json_error_t je;
	json_t *j = json_loads((char *)out.data, 0, &je);
	assert_non_null(j);
	assert_int_equal(json_array_size(json_object_get(j, "problems")), 1);
	assert_true(json_array_size(json_object_get(j, "values")) >= 2);
	json_decref(j);

	/* two problems: a damaged entry on page 0 and the cut; both are named */
	img.data[64 + 32 + 9] ^= 1;
	testutil_write_file(tp, img.data, 4096 + 100);
	out.len = err.len = 0;
	assert_int_equal(testutil_run_espfab(tmp, a2, &out, &err), 1);
	buf_terminate_str(&out);
	buf_terminate_str(&err);
	assert_non_null(strstr((char *)err.data, "cut.bin: 2 problem(s)"));
	assert_non_null(strstr((char *)err.data, "image truncated"));
	assert_non_null(strstr((char *)err.data, "page 0 entry 1: entry CRC mismatch"));
	assert_non_null(strstr((char *)out.data, "problem: image truncated"));
	assert_non_null(strstr((char *)out.data, "problem: page 0 entry 1: entry CRC mismatch"));

	/* encrypted and cut: the whole pages are decrypted and decoded */
	char *a4[] = {"espfab", "nvs", "encrypt", "in.csv", "enc.bin", "0x3000", "--keygen",
		      "--keyfile", "k.bin", NULL};
	assert_int_equal(testutil_run_espfab(tmp, a4, &out, &err), 0);
	char *ep = testutil_join_path(tmp, "enc.bin");
	buf_t enc = BUF_INIT;
	testutil_read_file(ep, &enc);
	char *ecut = testutil_join_path(tmp, "enc_cut.bin");
	testutil_write_file(ecut, enc.data, 2 * 4096 + 7);
	char *a5[] = {"espfab", "nvs", "dump", "enc_cut.bin", "--keyfile", "keys/k.bin", NULL};
	out.len = err.len = 0;
	assert_int_equal(testutil_run_espfab(tmp, a5, &out, &err), 1);
	buf_terminate_str(&out);
	buf_terminate_str(&err);
	assert_non_null(strstr((char *)out.data, "ns:s string (6 bytes) = hello"));
	assert_non_null(strstr((char *)err.data, "enc_cut.bin: 1 problem(s): image truncated"));
	assert_non_null(strstr((char *)err.data, "offset 0x2000 has only 7 of 4096 bytes"));

	buf_free_data(&enc);
	buf_free_data(&img);
	buf_free_data(&out);
	buf_free_data(&err);
	free(ep);
	free(ecut);
	free(tp);
	free(gp);
	testutil_remove_tree(tmp);
	free(tmp);
}

/* A payload that fails its CRC under a sound header is one problem: the header's span is still
 * trusted, so the payload entries are not read as (damaged) items of their own. */
static void test_payload_damage_is_one_problem(void **state)
{
	(void)state;
	err_t e = {0};
	struct nvs_list l;
	nvs_list_init(&l);
	assert_int_equal(nvs_list_add_namespace(&l, "ns", &e), 0);
	assert_int_equal(nvs_list_add_string(&l, "s", "a string that spans several entries, "
					      "one hundred bytes or so, to be damaged in its middle",
					      &e), 0);
	assert_int_equal(nvs_list_add_u8(&l, "after", 7, &e), 0);
	buf_t img = BUF_INIT;
	assert_int_equal(nvs_write_partition(&l, 0x3000, 2, &img, &e), 0);
	img.data[64 + 32 * 2 + 32 + 40] ^= 0x20; /* entry 1 is "s"; its second payload entry */
	struct nvs_read_result r;
	assert_int_equal(nvs_read_partition(img.data, img.len, &r, &e), 0);
	if (r.problem_count != 1)
		fail_msg("%zu problems, first: %s", r.problem_count, r.first_problem);
	assert_non_null(strstr(r.problems[0], "page 0 entry 1: key 's': data CRC mismatch"));
	assert_null(nvs_read_find_value(&r, "ns", "s"));
	assert_int_equal(nvs_read_find_value(&r, "ns", "after")->num, 7);
	nvs_read_free(&r);
	buf_free_data(&img);
	nvs_list_free(&l);
}

/* Option spellings argparse accepts: --opt=value, unique prefixes, options before positionals;
 * and the generator's output placement (<outdir>/<output>, keys under <outdir>/keys/). */
static void test_cli_option_forms_and_placement(void **state)
{
	(void)state;
	char *tmp = make_good_case(NULL);
	buf_t good = BUF_INIT;
	char *gp = testutil_join_path(tmp, "good.bin");
	testutil_read_file(gp, &good);
	char *a1[] = {"espfab", "nvs", "generate", "--ver=2", "--outdir", "sub/dir", "in.csv",
		      "o.bin", "12288", NULL};
	buf_t out = BUF_INIT, err = BUF_INIT;
	assert_int_equal(testutil_run_espfab(tmp, a1, &out, &err), 0);
	char *op = testutil_join_path(tmp, "sub/dir/o.bin");
	testutil_assert_files_equal(op, gp);

	char *a2[] = {"espfab", "nvs", "encrypt", "in.csv", "e.bin", "0x3000", "--keygen",
		      "--keyfile", "k", "--outdir", "enc", NULL};
	assert_int_equal(testutil_run_espfab(tmp, a2, &out, &err), 0);
	char *kp = testutil_join_path(tmp, "enc/keys/k.bin");
	char *ep = testutil_join_path(tmp, "enc/e.bin");
	buf_t keys = BUF_INIT;
	testutil_read_file(kp, &keys);
	assert_int_equal(keys.len, 4096);
	char *a3[] = {"espfab", "nvs", "decrypt", "enc/e.bin", "enc/keys/k.bin", "d.bin",
		      "--outdir", "dec", NULL};
	assert_int_equal(testutil_run_espfab(tmp, a3, &out, &err), 0);
	char *dp = testutil_join_path(tmp, "dec/d.bin");
	testutil_assert_files_equal(dp, gp);
	buf_t enc = BUF_INIT;
	testutil_read_file(ep, &enc);
	assert_memory_not_equal(enc.data + 64, good.data + 64, 32);

	char *a4[] = {"espfab", "nvs", "generate-key", "--key_protect_hmac", "--kp_hmac_keygen",
		      "--keyfile", "x.bin", NULL};
	assert_int_equal(testutil_run_espfab(tmp, a4, &out, &err), 0);
	char *hp = testutil_join_path(tmp, "keys/hmac-x.bin");
	buf_t hk = BUF_INIT;
	testutil_read_file(hp, &hk);
	assert_int_equal(hk.len, 32);
	char *xp = testutil_join_path(tmp, "keys/x.bin");
	buf_t xk = BUF_INIT;
	testutil_read_file(xp, &xk);
	assert_int_equal(xk.len, 4096);
	/* dump decrypts with the keys partition and shows the values */
	char *a5[] = {"espfab", "nvs", "dump", "enc/e.bin", "--keyfile", "enc/keys/k.bin", NULL};
	out.len = 0;
	assert_int_equal(testutil_run_espfab(tmp, a5, &out, &err), 0);
	assert_non_null(strstr((char *)out.data, "ns:s string (6 bytes) = hello"));

	free(gp);
	free(op);
	free(kp);
	free(ep);
	free(dp);
	free(hp);
	free(xp);
	buf_free_data(&good);
	buf_free_data(&keys);
	buf_free_data(&enc);
	buf_free_data(&hk);
	buf_free_data(&xk);
	buf_free_data(&out);
	buf_free_data(&err);
	testutil_remove_tree(tmp);
	free(tmp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_csv_table),
		cmocka_unit_test(test_bad_binaries_for_reader),
		cmocka_unit_test(test_cli_option_forms_and_placement),
		cmocka_unit_test(test_repeated_blob_key),
		cmocka_unit_test(test_orphan_and_missing_chunks),
		cmocka_unit_test(test_truncated_image_decodes_whole_pages),
		cmocka_unit_test(test_payload_damage_is_one_problem),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
