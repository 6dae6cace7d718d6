/* Unit tests of the NVS modules: writer -> reader round trips over in-memory lists, the
 * reader's handling of damaged and erased entries, XTS and key-partition facts from
 * reference/nvs-format.md, and the generator's (Python's) value decoding rules. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/checksum.h"
#include "core/hex.h"
#include "crypto/nvs_crypt.h"
#include "formats/nvs.h"
#include "formats/nvs_csv.h"
#include "formats/nvs_read.h"
#include "formats/nvs_write.h"

static void fill_pattern(uint8_t *p, size_t n, unsigned seed)
{
	uint32_t x = seed * 2654435761u + 1;
	for (size_t i = 0; i < n; i++) {
		x = x * 1103515245u + 12345u;
		p[i] = (uint8_t)(x >> 16);
	}
}

/* A list with every kind of item, a blob spanning pages and a namespace named twice. */
static void build_sample_list(struct nvs_list *l, int version)
{
	err_t e = {0};
	static uint8_t big[6000], small[100];
	fill_pattern(big, sizeof big, 7);
	fill_pattern(small, sizeof small, 9);
	assert_int_equal(nvs_list_add_namespace(l, "chip-factory", &e), 0);
	assert_int_equal(nvs_list_add_u8(l, "u8", 200, &e), 0);
	assert_int_equal(nvs_list_add_int(l, "i8", NVS_TYPE_I8, (uint64_t)-5, &e), 0);
	assert_int_equal(nvs_list_add_u16(l, "u16", 65535, &e), 0);
	assert_int_equal(nvs_list_add_int(l, "i16", NVS_TYPE_I16, (uint64_t)-32768, &e), 0);
	assert_int_equal(nvs_list_add_u32(l, "discriminator", 3840, &e), 0);
	assert_int_equal(nvs_list_add_int(l, "i32", NVS_TYPE_I32, (uint64_t)-1, &e), 0);
	assert_int_equal(nvs_list_add_int(l, "u64", NVS_TYPE_U64, UINT64_MAX, &e), 0);
	assert_int_equal(nvs_list_add_int(l, "i64", NVS_TYPE_I64, (uint64_t)INT64_MIN, &e), 0);
	assert_int_equal(nvs_list_add_string(l, "serial-num", "SN-0001", &e), 0);
	assert_int_equal(nvs_list_add_string(l, "empty", "", &e), 0);
	assert_int_equal(nvs_list_add_blob(l, "small", small, sizeof small, &e), 0);
	assert_int_equal(nvs_list_add_blob(l, "none", "", 0, &e), 0);
	assert_int_equal(nvs_list_add_namespace(l, "other", &e), 0);
	assert_int_equal(nvs_list_add_blob(l, "big", big, version == 2 ? sizeof big : 1984, &e), 0);
	assert_int_equal(nvs_list_add_namespace(l, "chip-factory", &e), 0);
	assert_int_equal(nvs_list_add_u8(l, "last", 1, &e), 0);
}

static void assert_values_match(const struct nvs_list *l, const struct nvs_read_result *r)
{
	size_t v = 0;
	const char *ns = NULL;
	char seen[8][16];
	unsigned nseen = 0;
	for (size_t i = 0; i < l->count; i++) {
		const struct nvs_item *it = &l->items[i];
		if (it->kind == NVS_ITEM_NAMESPACE) {
			bool known = false;
			for (unsigned k = 0; k < nseen; k++)
				known |= !strcmp(seen[k], it->key);
			if (!known) {
				snprintf(seen[nseen], sizeof seen[0], "%s", it->key);
				ns = seen[nseen++];
			}
			continue;
		}
		assert_true(v < r->value_count);
		const struct nvs_read_value *rv = &r->values[v++];
		assert_string_equal(rv->key, it->key);
		assert_string_equal(rv->ns_name, ns);
		assert_int_equal(rv->type, it->type);
		if (nvs_type_is_int(it->type))
			assert_int_equal(rv->num, it->num);
		else
			testutil_assert_bytes_equal(it->key, rv->data.data, rv->data.len,
						    it->data.data, it->data.len);
	}
	assert_int_equal(v, r->value_count);
}

static void test_round_trip_both_versions(void **state)
{
	(void)state;
	for (int version = 1; version <= 2; version++) {
		struct nvs_list l;
		nvs_list_init(&l);
		build_sample_list(&l, version);
		buf_t img = BUF_INIT;
		err_t e = {0};
		if (nvs_write_partition(&l, 0x6000, version, &img, &e))
			fail_msg("v%d: %s", version, e.msg);
		assert_int_equal(img.len, 0x6000);
		struct nvs_read_result r;
		assert_int_equal(nvs_read_partition(img.data, img.len, &r, &e), 0);
		if (r.problem_count)
			fail_msg("v%d: %s", version, r.first_problem);
		assert_values_match(&l, &r);
		/* The spare last page is never written. */
		assert_true(r.pages[5].blank);
		assert_int_equal(r.pages[0].version_byte, version == 1 ? 0xFF : 0xFE);
		const struct nvs_read_value *s = nvs_read_find_value(&r, "chip-factory", "serial-num");
		assert_non_null(s);
		buf_t txt = BUF_INIT;
		nvs_read_format_value(s, &txt);
		assert_string_equal((char *)txt.data, "SN-0001");
		buf_free_data(&txt);
		/* "last" is tagged with the newest namespace, as the generator does. */
		assert_null(nvs_read_find_value(&r, "chip-factory", "last"));
		assert_non_null(nvs_read_find_value(&r, "other", "last"));
		nvs_read_free(&r);
		buf_free_data(&img);
		nvs_list_free(&l);
	}
}

static void test_round_trip_encrypted(void **state)
{
	(void)state;
	struct nvs_list l;
	nvs_list_init(&l);
	build_sample_list(&l, 2);
	buf_t img = BUF_INIT;
	err_t e = {0};
	assert_int_equal(nvs_write_partition(&l, 0x5000, 2, &img, &e), 0);
	buf_t plain = BUF_INIT;
	buf_append_bytes(&plain, img.data, img.len);
	uint8_t key[NVS_CRYPT_KEY_LEN];
	assert_int_equal(nvs_crypt_generate_key(key, sizeof key, &e), 0);
	assert_int_equal(nvs_crypt_encrypt_partition(img.data, img.len, key, &e), 0);
	/* Headers and bitmaps stay readable, entries do not. */
	assert_memory_equal(img.data, plain.data, 64);
	assert_memory_not_equal(img.data + 64, plain.data + 64, 32);
	struct nvs_read_result r;
	assert_int_equal(nvs_read_partition(img.data, img.len, &r, &e), 0);
	assert_true(r.problem_count > 0); /* ciphertext fails the entry CRCs */
	nvs_read_free(&r);
	assert_int_equal(nvs_crypt_decrypt_partition(img.data, img.len, key, &e), 0);
	testutil_assert_bytes_equal("decrypted", img.data, img.len, plain.data, plain.len);
	assert_int_equal(nvs_read_partition(img.data, img.len, &r, &e), 0);
	assert_int_equal(r.problem_count, 0);
	assert_values_match(&l, &r);
	nvs_read_free(&r);
	buf_free_data(&img);
	buf_free_data(&plain);
	nvs_list_free(&l);
}

/* reference/nvs-format.md §10: eky = 32 x 0x11, tky = 32 x 0x22, entry at 0x40 = 00..1F. */
static void test_xts_known_vector(void **state)
{
	(void)state;
	uint8_t key[64], in[32], out[32], back[32];
	memset(key, 0x11, 32);
	memset(key + 32, 0x22, 32);
	for (int i = 0; i < 32; i++)
		in[i] = (uint8_t)i;
	err_t e = {0};
	assert_int_equal(nvs_crypt_crypt_entry(key, 0x40, 0, in, out, &e), 0);
	char hex[65];
	hex_encode_bytes(out, 32, hex);
	assert_string_equal(hex, "98bb86e96a965538dda3039d5309976c76692ea5b8867302aed14a362ed82391");
	assert_int_equal(nvs_crypt_crypt_entry(key, 0x40, 1, out, back, &e), 0);
	assert_memory_equal(back, in, 32);
	/* The same through the partition routine: entry 0 of page 0 sits at 0x40. */
	uint8_t page[4096];
	memset(page, 0xFF, sizeof page);
	page[0] = 0xFE;
	page[32] = 0xFE; /* entry 0 written */
	memcpy(page + 64, in, 32);
	assert_int_equal(nvs_crypt_encrypt_partition(page, sizeof page, key, &e), 0);
	assert_memory_equal(page + 64, out, 32);
	uint8_t blank[32];
	memset(blank, 0xFF, 32);
	assert_memory_equal(page + 96, blank, 32);
}

static void test_keys_partition_and_hmac(void **state)
{
	(void)state;
	uint8_t key[64], part[4096], back[64];
	memset(key, 0x11, 32);
	memset(key + 32, 0x22, 32);
	nvs_crypt_make_keys_partition(key, part);
	assert_memory_equal(part, key, 64);
	assert_int_equal(checksum_read_u32le(part + 64), 0x3CCFEF2Cu);
	for (size_t i = 68; i < sizeof part; i++)
		assert_int_equal(part[i], 0xFF);
	int crc_ok = 0;
	err_t e = {0};
	assert_int_equal(nvs_crypt_parse_keys_partition(part, sizeof part, back, &crc_ok, &e), 0);
	assert_true(crc_ok);
	assert_memory_equal(back, key, 64);
	part[3] ^= 1;
	assert_int_equal(nvs_crypt_parse_keys_partition(part, sizeof part, back, &crc_ok, &e), 0);
	assert_false(crc_ok);
	assert_int_equal(nvs_crypt_parse_keys_partition(part, 63, back, &crc_ok, &e), -1);
	assert_non_null(strstr(e.msg, "63 bytes"));

	uint8_t hmac[32] = {0}, derived[64];
	assert_int_equal(nvs_crypt_derive_hmac_keys(hmac, sizeof hmac, derived, &e), 0);
	char hex[129];
	hex_encode_bytes(derived, 64, hex);
	assert_string_equal(hex, "e7357e02676f3ba9fac853aaf71e5de27ce081b0ba073791202e3c43a9be9e1e"
				 "4c975eb8ce93b228395a3f886e078d70931bb8e7d83a90f13011d252f714fa46");
}

static void test_reader_reports_damage(void **state)
{
	(void)state;
	struct nvs_list l;
	nvs_list_init(&l);
	build_sample_list(&l, 2);
	buf_t img = BUF_INIT;
	err_t e = {0};
	assert_int_equal(nvs_write_partition(&l, 0x6000, 2, &img, &e), 0);
	struct nvs_read_result r;
	struct {
		size_t off;
		const char *want;
	} cases[] = {
		{64 + 32 * 1 + 9, "entry CRC mismatch"},       /* key byte of "u8" */
		{64 + 32 * 14 + 5, "data CRC mismatch"},       /* payload of "small" */
		{4, "header CRC mismatch"},                    /* sequence number of page 0 */
		{0, "invalid page state"},                     /* state word */
		{4096 + 64 + 32 * 1 + 3, "data CRC mismatch"}, /* page 1 chunk of "big" */
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		buf_t bad = BUF_INIT;
		buf_append_bytes(&bad, img.data, img.len);
		bad.data[cases[i].off] ^= 0x5A;
		assert_int_equal(nvs_read_partition(bad.data, bad.len, &r, &e), 0);
		if (!r.problem_count || !strstr(r.first_problem, cases[i].want))
			fail_msg("flip at 0x%zx: got '%s', want '%s'", cases[i].off,
				 r.problem_count ? r.first_problem : "(no problem)", cases[i].want);
		json_t *j = nvs_read_to_json(&r);
		assert_non_null(j);
		json_decref(j);
		if (i == 2) { /* a damaged page header: its entries are still decoded */
			assert_int_equal(r.problem_count, 1);
			assert_non_null(nvs_read_find_value(&r, "chip-factory", "u8"));
			assert_non_null(nvs_read_find_value(&r, "chip-factory", "u16"));
		}
		if (i == 4) { /* the blob with a damaged chunk is not reassembled */
			assert_null(nvs_read_find_value(&r, "other", "big"));
			assert_non_null(nvs_read_find_value(&r, "other", "last"));
		}
		nvs_read_free(&r);
		buf_free_data(&bad);
	}
	/* Erasing an entry (bitmap 0b00) is not damage: it is listed and its value dropped. */
	buf_t er = BUF_INIT;
	buf_append_bytes(&er, img.data, img.len);
	er.data[32] &= (uint8_t)~(3u << 2); /* entry 1 ("u8") */
	assert_int_equal(nvs_read_partition(er.data, er.len, &r, &e), 0);
	assert_int_equal(r.problem_count, 0);
	assert_null(nvs_read_find_value(&r, "chip-factory", "u8"));
	assert_non_null(nvs_read_find_value(&r, "chip-factory", "u16"));
	buf_t txt = BUF_INIT;
	nvs_read_format_listing(&r, &txt);
	assert_non_null(strstr((char *)txt.data, "erased: page 0 entry 1 key 'u8'"));
	buf_free_data(&txt);
	nvs_read_free(&r);
	buf_free_data(&er);

	/* A truncated image has its whole pages decoded and the cut named (tests in
	 * test_nvs_errors.c); an empty one is refused. None of these may crash. */
	assert_int_equal(nvs_read_partition(img.data, 4095, &r, &e), 0);
	assert_int_equal(r.page_count, 0);
	assert_non_null(strstr(r.first_problem, "4095 bytes"));
	nvs_read_free(&r);
	assert_int_equal(nvs_read_partition(img.data, 0, &r, &e), -1);
	for (unsigned seed = 0; seed < 200; seed++) {
		buf_t junk = BUF_INIT;
		buf_append_bytes(&junk, img.data, 0x3000);
		uint8_t noise[64];
		fill_pattern(noise, sizeof noise, seed);
		for (int k = 0; k < 16; k++)
			junk.data[(noise[k * 2] | noise[k * 2 + 1] << 8) % 0x3000] = noise[32 + k];
		if (seed % 10 == 0)
			fill_pattern(junk.data + 64, 4000, seed);
		assert_int_equal(nvs_read_partition(junk.data, junk.len, &r, &e), 0);
		json_t *j = nvs_read_to_json(&r);
		json_decref(j);
		buf_t t2 = BUF_INIT;
		nvs_read_format_listing(&r, &t2);
		buf_free_data(&t2);
		nvs_read_free(&r);
		buf_free_data(&junk);
	}
	buf_free_data(&img);
	nvs_list_free(&l);
}

static void test_python_value_rules(void **state)
{
	(void)state;
	buf_t b = BUF_INIT;
	err_t e = {0};
	/* binascii.a2b_base64 skips junk and stops at complete padding. */
	assert_int_equal(nvs_csv_decode_base64("AQID\nBA==garbage", 16, &b, &e), 0);
	testutil_assert_bytes_equal("b64", b.data, b.len, (const uint8_t *)"\1\2\3\4", 4);
	b.len = 0;
	assert_int_equal(nvs_csv_decode_base64("AQIDBA", 6, &b, &e), -1);
	assert_non_null(strstr(e.msg, "padding"));
	assert_int_equal(nvs_csv_decode_base64("AQIDB", 5, &b, &e), -1);
	assert_non_null(strstr(e.msg, "1 more than a multiple of 4"));
	b.len = 0;
	assert_int_equal(nvs_csv_decode_hex("  DEADbeef\n", 11, &b, &e), 0);
	testutil_assert_bytes_equal("hex", b.data, b.len, (const uint8_t *)"\xde\xad\xbe\xef", 4);
	assert_int_equal(nvs_csv_decode_hex("0x12", 4, &b, &e), -1);
	assert_int_equal(nvs_csv_decode_hex("abc", 3, &b, &e), -1);
	assert_non_null(strstr(e.msg, "odd"));
	bool neg;
	uint64_t mag;
	assert_int_equal(nvs_csv_parse_integer(" -1_000 ", 8, &neg, &mag, &e), 0);
	assert_true(neg);
	assert_int_equal(mag, 1000);
	assert_int_equal(nvs_csv_parse_integer("18446744073709551615", 20, &neg, &mag, &e), 0);
	assert_int_equal(mag, UINT64_MAX);
	assert_int_equal(nvs_csv_parse_integer("18446744073709551616", 20, &neg, &mag, &e), -1);
	assert_int_equal(nvs_csv_parse_integer("0x10", 4, &neg, &mag, &e), -1);
	assert_int_equal(nvs_csv_parse_integer("1__0", 4, &neg, &mag, &e), -1);
	assert_int_equal(nvs_csv_parse_integer("", 0, &neg, &mag, &e), -1);
	buf_free_data(&b);
}

static void test_csv_quirks(void **state)
{
	(void)state;
	const char *csv = "key,type,encoding,value\n"
			  "# a comment line\n"
			  "ns,namespace,,\n"
			  "\n"
			  "\"q\",data,string,\"a,\"\"b\"\"\"\n"
			  "pad,data,blob_sz_fill(6;0xAA),hi\n"
			  "up,data,STRING,raw\n"
			  "sta.ssid,data,string,net\r\n"
			  "sta.pswd,data,string,pw\n"
			  "sp,data,string, lead and trail \n";
	struct nvs_list l;
	nvs_list_init(&l);
	struct nvs_csv_parser p;
	nvs_csv_init_parser(&p, &l, NULL);
	err_t e = {0};
	if (nvs_csv_parse_text(&p, "t.csv", csv, strlen(csv), &e))
		fail_msg("%s", e.msg);
	nvs_csv_free_parser(&p);
	const char *keys[] = {"ns", "q", "pad", "up", "sta.ssid", "sta.apinfo", "sta.pmk",
			      "sta.apsw", "sta.pswd", "sp"};
	assert_int_equal(l.count, sizeof keys / sizeof keys[0]);
	for (size_t i = 0; i < l.count; i++)
		assert_string_equal(l.items[i].key, keys[i]);
	testutil_assert_bytes_equal("q", l.items[1].data.data, l.items[1].data.len,
				    (const uint8_t *)"a,\"b\"", 6);
	testutil_assert_bytes_equal("pad", l.items[2].data.data, l.items[2].data.len,
				    (const uint8_t *)"\2\0\0\0hi\xaa\xaa\xaa\xaa", 10);
	/* An upper-case encoding is not decoded: no NUL is appended. */
	testutil_assert_bytes_equal("up", l.items[3].data.data, l.items[3].data.len,
				    (const uint8_t *)"raw", 3);
	assert_int_equal(l.items[5].data.len, 140);
	assert_int_equal(l.items[5].data.data[139], 0xFF);
	testutil_assert_bytes_equal("sp", l.items[9].data.data, l.items[9].data.len,
				    (const uint8_t *)" lead and trail ", 17);
	assert_string_equal(l.items[9].origin, "t.csv:10");
	nvs_list_free(&l);
}

static void test_list_api_checks(void **state)
{
	(void)state;
	struct nvs_list l;
	nvs_list_init(&l);
	err_t e = {0};
	assert_int_equal(nvs_list_add_u32(&l, "sixteen-chars-xx", 1, &e), -1);
	assert_non_null(strstr(e.msg, "sixteen-chars-xx"));
	assert_int_equal(nvs_list_add_int(&l, "k", NVS_TYPE_U8, 256, &e), -1);
	assert_int_equal(nvs_list_add_int(&l, "k", NVS_TYPE_I8, (uint64_t)-129, &e), -1);
	assert_int_equal(nvs_list_add_int(&l, "k", NVS_TYPE_SZ, 1, &e), -1);
	assert_int_equal(nvs_list_add_namespace(&l, "", &e), -1);
	assert_int_equal(l.count, 0);
	/* A data item before any namespace is refused by the writer too. */
	assert_int_equal(nvs_list_add_u8(&l, "k", 1, &e), 0);
	nvs_list_set_origin(&l, "mem:1");
	buf_t img = BUF_INIT;
	assert_int_equal(nvs_write_partition(&l, 0x3000, 2, &img, &e), -1);
	assert_non_null(strstr(e.msg, "mem:1"));
	assert_non_null(strstr(e.msg, "namespace"));
	assert_int_equal(img.len, 0);
	nvs_list_free(&l);
}

/* A key written again on a later page wins even when that page sits first in flash. */
static void test_reader_uses_sequence_order(void **state)
{
	(void)state;
	struct nvs_list l;
	nvs_list_init(&l);
	err_t e = {0};
	assert_int_equal(nvs_list_add_namespace(&l, "ns", &e), 0);
	assert_int_equal(nvs_list_add_u8(&l, "k", 1, &e), 0);
	for (int i = 0; i < 130; i++) {
		char key[8];
		snprintf(key, sizeof key, "f%d", i);
		assert_int_equal(nvs_list_add_u8(&l, key, (uint8_t)i, &e), 0);
	}
	assert_int_equal(nvs_list_add_u8(&l, "k", 2, &e), 0);
	buf_t img = BUF_INIT;
	assert_int_equal(nvs_write_partition(&l, 0x4000, 2, &img, &e), 0);
	uint8_t tmp[4096];
	memcpy(tmp, img.data, 4096);
	memcpy(img.data, img.data + 4096, 4096);
	memcpy(img.data + 4096, tmp, 4096);
	struct nvs_read_result r;
	assert_int_equal(nvs_read_partition(img.data, img.len, &r, &e), 0);
	assert_int_equal(r.problem_count, 0);
	const struct nvs_read_value *v = nvs_read_find_value(&r, "ns", "k");
	assert_non_null(v);
	assert_int_equal(v->num, 2);
	assert_int_equal(r.pages[0].seq, 1);
	nvs_read_free(&r);
	buf_free_data(&img);
	nvs_list_free(&l);
}

/* Listings and JSON never show a private key; strings are escaped for the terminal. */
static void test_reader_withholds_secrets(void **state)
{
	(void)state;
	struct nvs_list l;
	nvs_list_init(&l);
	err_t e = {0};
	uint8_t dac[32];
	memset(dac, 0xA7, sizeof dac);
	assert_int_equal(nvs_list_add_namespace(&l, "chip-factory", &e), 0);
	assert_int_equal(nvs_list_add_blob(&l, "dac-key", dac, sizeof dac, &e), 0);
	assert_int_equal(nvs_list_add_string(&l, "esc", "a\x1b[2Jb", &e), 0);
	buf_t img = BUF_INIT;
	assert_int_equal(nvs_write_partition(&l, 0x3000, 2, &img, &e), 0);
	struct nvs_read_result r;
	assert_int_equal(nvs_read_partition(img.data, img.len, &r, &e), 0);
	const struct nvs_read_value *v = nvs_read_find_value(&r, "chip-factory", "dac-key");
	assert_non_null(v);
	assert_true(nvs_read_is_secret(v));
	testutil_assert_bytes_equal("dac-key", v->data.data, v->data.len, dac, sizeof dac);
	buf_t txt = BUF_INIT;
	nvs_read_format_listing(&r, &txt);
	assert_null(strstr((char *)txt.data, "a7a7a7a7"));
	assert_non_null(strstr((char *)txt.data, "dac-key blob (32 bytes) = (secret, not shown)"));
	assert_non_null(strstr((char *)txt.data, "a\\x1b[2Jb"));
	json_t *j = nvs_read_to_json(&r);
	char *dump = json_dumps(j, 0);
	assert_null(strstr(dump, "a7a7a7a7"));
	assert_non_null(strstr(dump, "\"redacted\": true"));
	free(dump);
	json_decref(j);
	buf_free_data(&txt);
	nvs_read_free(&r);
	buf_free_data(&img);
	nvs_list_free(&l);
}

/* Mutated CSV text never crashes the parser or the writer (run under ASan/UBSan in CI). */
static void test_csv_mutations_do_not_crash(void **state)
{
	(void)state;
	const char *base = "key,type,encoding,value\n# c\nns,namespace,,\na,data,u8,7\n"
			   "b,data,string,\"x,\"\"y\"\"\"\nc,data,hex2bin,00ff\nd,data,base64,AQID\n"
			   "e,data,blob_fill(8;0x00),hi\nsta.ssid,data,string,n\n"
			   "ap.ssid,data,string,s\nap.passwd,data,string,p\nap.authmode,data,u8,3\n"
			   "f,data,i64,-5\n";
	static const char alphabet[] = ",\"\n\r#x0_-=()9;\xc3\xa9 ";
	size_t n = strlen(base);
	char *text = malloc(n + 1);
	for (unsigned seed = 0; seed < 400; seed++) {
		memcpy(text, base, n + 1);
		uint8_t noise[16];
		fill_pattern(noise, sizeof noise, seed + 1);
		for (int k = 0; k < 4; k++)
			text[(noise[2 * k] | noise[2 * k + 1] << 8) % n] =
				alphabet[noise[8 + k] % (sizeof alphabet - 1)];
		struct nvs_list l;
		nvs_list_init(&l);
		struct nvs_csv_parser p;
		nvs_csv_init_parser(&p, &l, "/nonexistent");
		err_t e = {0};
		if (nvs_csv_parse_text(&p, "m.csv", text, n, &e) == 0) {
			buf_t img = BUF_INIT;
			if (nvs_write_partition(&l, 0x3000, 1 + seed % 2, &img, &e) == 0)
				assert_int_equal(img.len, 0x3000);
			else
				assert_true(e.msg[0] != '\0');
			buf_free_data(&img);
		} else {
			assert_non_null(strstr(e.msg, "m.csv"));
		}
		nvs_csv_free_parser(&p);
		nvs_list_free(&l);
	}
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip_both_versions),
		cmocka_unit_test(test_round_trip_encrypted),
		cmocka_unit_test(test_xts_known_vector),
		cmocka_unit_test(test_keys_partition_and_hmac),
		cmocka_unit_test(test_reader_reports_damage),
		cmocka_unit_test(test_python_value_rules),
		cmocka_unit_test(test_csv_quirks),
		cmocka_unit_test(test_list_api_checks),
		cmocka_unit_test(test_reader_uses_sequence_order),
		cmocka_unit_test(test_reader_withholds_secrets),
		cmocka_unit_test(test_csv_mutations_do_not_crash),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
