/* The inspector's decoded view and hex masks (no curses): partitions detected by content,
 * damage reported, and no private key byte ever visible, checked on the golden vectors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../ui/ui_inspect.c"
#include "testutil.h"

static int load_vector(const char *rel, buf_t *out)
{
	const char *dir = testutil_vectors_dir();
	if (!dir)
		return -1;
	char path[1024];
	snprintf(path, sizeof path, "%s/%s", dir, rel);
	err_t e = {0};
	return fileio_read_file(path, out, &e);
}

/* Where needle (n bytes) occurs in hay, or -1. */
static long find_bytes(const uint8_t *hay, size_t len, const uint8_t *needle, size_t n)
{
	for (size_t i = 0; i + n <= len; i++)
		if (!memcmp(hay + i, needle, n))
			return (long)i;
	return -1;
}

static void test_secret_key_names(void **state)
{
	(void)state;
	assert_true(ui_inspect_is_secret_key("dac-key"));
	assert_true(ui_inspect_is_secret_key("DAC-Key"));
	assert_true(ui_inspect_is_secret_key("priv_key"));
	assert_true(ui_inspect_is_secret_key("wifi.passwd"));
	assert_true(ui_inspect_is_secret_key("rd-id-uid"));
	assert_false(ui_inspect_is_secret_key("dac-pub-key"));
	assert_false(ui_inspect_is_secret_key("dac-cert"));
	assert_false(ui_inspect_is_secret_key("serial-num"));
	assert_false(ui_inspect_is_secret_key(NULL));
}

static void test_seccert_view_and_mask(void **state)
{
	(void)state;
	buf_t img = BUF_INIT, key = BUF_INIT;
	if (load_vector("secure_cert/s01_matter_dac_ecdsa_der/expected.bin", &img) ||
	    load_vector("secure_cert/s01_matter_dac_ecdsa_der/dac_key.der", &key))
		skip();
	/* the P-256 scalar inside the PKCS#8/SEC1 key: after 02 01 01 04 20 */
	static const uint8_t mark[] = {2, 1, 1, 4, 32};
	long k = find_bytes(key.data, key.len, mark, sizeof mark);
	assert_true(k >= 0);
	const uint8_t *scalar = key.data + k + sizeof mark;
	long at = find_bytes(img.data, img.len, scalar, 32);
	assert_true(at >= 0); /* the key is in the partition: masking it means something */

	json_t *p = ui_inspect_decode_partition(NULL, img.data, img.len, NULL);
	assert_string_equal(json_string_value(json_object_get(p, "format")), "esp_secure_cert");
	assert_string_equal(json_string_value(json_object_get(p, "status")), "ok");
	char *text = json_dumps(p, 0);
	char hex[65];
	hex_encode_bytes(scalar, 32, hex);
	assert_null(strstr(text, hex));
	free(text);
	json_decref(p);

	uint8_t *mask = malloc(img.len);
	ui_inspect_secret_mask(img.data, img.len, "esp_secure_cert", mask);
	for (int i = 0; i < 32; i++)
		assert_int_equal(mask[at + i], 1);
	assert_int_equal(mask[0], 0);   /* the first TLV header is not secret */
	assert_int_equal(mask[100], 0); /* nor the CA certificate */

	/* damaged: everything but the sound non-secret TLVs is hidden */
	img.data[40] ^= 1;
	p = ui_inspect_decode_partition(NULL, img.data, img.len, NULL);
	assert_string_equal(json_string_value(json_object_get(p, "status")), "corrupt");
	assert_non_null(strstr(json_string_value(json_object_get(p, "problem")), "offset 0x0"));
	json_decref(p);
	ui_inspect_secret_mask(img.data, img.len, "esp_secure_cert", mask);
	for (int i = 0; i < 32; i++)
		assert_int_equal(mask[at + i], 1);
	free(mask);
	buf_free_data(&img);
	buf_wipe_data(&key);
}

static void test_nvs_view_and_mask(void **state)
{
	(void)state;
	buf_t img = BUF_INIT, key = BUF_INIT;
	if (load_vector("mfg/m01_basic_factory_nvs/factory_partition.bin", &img) ||
	    load_vector("mfg/m01_basic_factory_nvs/internal/DAC_private_key.bin", &key))
		skip();
	assert_int_equal(key.len, 32);
	long at = find_bytes(img.data, img.len, key.data, 32);
	assert_true(at >= 0);
	json_t *p = ui_inspect_decode_partition("fctry", img.data, img.len, NULL);
	assert_string_equal(json_string_value(json_object_get(p, "format")), "nvs");
	assert_string_equal(json_string_value(json_object_get(p, "status")), "ok");
	json_t *cf = json_object_get(json_object_get(json_object_get(p, "decoded"), "namespaces"), "chip-factory");
	assert_string_equal(json_string_value(json_object_get(json_object_get(cf, "serial-num"), "value")),
			    "SN-000001");
	json_t *dk = json_object_get(cf, "dac-key");
	assert_null(json_object_get(dk, "value"));
	assert_non_null(json_object_get(dk, "hidden"));
	char *text = json_dumps(p, 0);
	char hex[65];
	hex_encode_bytes(key.data, 32, hex);
	assert_null(strstr(text, hex));
	free(text);
	json_decref(p);

	uint8_t *mask = malloc(img.len);
	ui_inspect_secret_mask(img.data, img.len, "nvs", mask);
	for (int i = 0; i < 32; i++)
		assert_int_equal(mask[at + i], 1);
	assert_int_equal(mask[0], 0); /* page header */
	free(mask);

	/* a damaged entry is named, the rest still decoded */
	img.data[64 + 32 * 3 + 10] ^= 0x55;
	p = ui_inspect_decode_partition("fctry", img.data, img.len, NULL);
	assert_string_equal(json_string_value(json_object_get(p, "status")), "corrupt");
	assert_non_null(strstr(json_string_value(json_object_get(p, "problem")), "page 0 entry 3"));
	json_decref(p);
	buf_free_data(&img);
	buf_wipe_data(&key);
}

static void test_detection_and_empty(void **state)
{
	(void)state;
	uint8_t ff[4096];
	memset(ff, 0xFF, sizeof ff);
	json_t *p = ui_inspect_decode_partition("x", ff, sizeof ff, NULL);
	assert_string_equal(json_string_value(json_object_get(p, "status")), "empty");
	json_decref(p);
	uint8_t junk[300];
	for (size_t i = 0; i < sizeof junk; i++)
		junk[i] = (uint8_t)(i * 7 + 1);
	p = ui_inspect_decode_partition(NULL, junk, sizeof junk, NULL);
	assert_string_equal(json_string_value(json_object_get(p, "format")), "none");
	assert_string_equal(json_string_value(json_object_get(p, "status")), "not decoded");
	json_decref(p);
	/* nvs_keys: hidden whole, in the view and in the hex */
	p = ui_inspect_decode_partition("nvs_keys", junk, sizeof junk, "nvs_keys");
	assert_non_null(json_object_get(json_object_get(p, "decoded"), "hidden"));
	json_decref(p);
	uint8_t mask[300];
	ui_inspect_secret_mask(junk, sizeof junk, "nvs_keys", mask);
	for (size_t i = 0; i < sizeof mask; i++)
		assert_int_equal(mask[i], 1);
	err_t e = {0};
	struct ui_inspect_opts o = {"empty.bin", 0, NULL};
	assert_null(ui_inspect_decode(junk, 0, &o, &e));
	assert_non_null(strstr(e.msg, "empty.bin"));
	json_t *v = ui_inspect_decode(junk, sizeof junk, &o, &e);
	assert_string_equal(json_string_value(json_object_get(v, "kind")), "unknown");
	assert_int_equal(json_integer_value(json_object_get(v, "problems")), 0);
	json_decref(v);
}

/* Damage the TUI inspector must show as the CLI does: every problem the NVS reader names, a cut
 * NVS file decoded page by page, and a flash dump that ends inside a partition decoded as far as
 * it goes with the cut named (partitions wholly past the end are just not in the dump). */
static void test_cut_and_multiple_damage(void **state)
{
	(void)state;
	buf_t img = BUF_INIT, table = BUF_INIT;
	if (load_vector("mfg/m01_basic_factory_nvs/factory_partition.bin", &img) ||
	    load_vector("partition_table/p01_esp_matter_factory/expected.bin", &table))
		skip();
	err_t e = {0};

	/* two damaged entries: each, and what the damage hides, named */
	buf_t two = BUF_INIT;
	buf_append_bytes(&two, img.data, img.len);
	two.data[64 + 32 * 3 + 10] ^= 0x55;
	two.data[64 + 32 * 6 + 10] ^= 0x55;
	struct nvs_read_result r;
	memset(&r, 0, sizeof r);
	assert_int_equal(nvs_read_partition(two.data, two.len, &r, &e), 0);
	assert_true(r.problem_count >= 2);
	json_t *p = ui_inspect_decode_partition("fctry", two.data, two.len, NULL);
	json_t *probs = json_object_get(json_object_get(p, "decoded"), "problems");
	assert_int_equal(json_array_size(probs), r.problem_count);
	int first = 0, second = 0;
	for (size_t i = 0; i < r.problem_count; i++) {
		const char *m = json_string_value(json_array_get(probs, i));
		assert_string_equal(m, r.problems[i]);
		first |= strstr(m, "page 0 entry 3:") != NULL;
		second |= strstr(m, "page 0 entry 6:") != NULL;
	}
	assert_true(first && second);
	nvs_read_free(&r);
	json_decref(p);
	buf_free_data(&two);

	/* a cut NVS file: detected as NVS, page 0 decoded, the cut named */
	struct ui_inspect_opts o = {"cut.bin", 0, NULL};
	size_t cut = 4096 + 1000;
	json_t *v = ui_inspect_decode(img.data, cut, &o, &e);
	assert_non_null(v);
	assert_string_equal(json_string_value(json_object_get(v, "kind")), "nvs");
	assert_int_equal(json_integer_value(json_object_get(v, "problems")), 1);
	p = json_array_get(json_object_get(v, "partitions"), 0);
	assert_string_equal(json_string_value(json_object_get(p, "status")), "corrupt");
	assert_non_null(strstr(json_string_value(json_object_get(p, "problem")), "1000 of 4096"));
	json_t *cf = json_object_get(json_object_get(json_object_get(p, "decoded"), "namespaces"),
				     "chip-factory");
	assert_string_equal(json_string_value(json_object_get(json_object_get(cf, "serial-num"), "value")),
			    "SN-000001");
	json_decref(v);

	/* a flash dump ending 0x3000 into the 0xC000-byte nvs partition at 0x10000 */
	size_t len = 0x13000;
	uint8_t *flash = malloc(len);
	assert_non_null(flash);
	memset(flash, 0xFF, len);
	memcpy(flash + 0x8000, table.data, table.len < 0x1000 ? table.len : 0x1000);
	memcpy(flash + 0x10000, img.data, 0x3000);
	o.source = "dump.bin";
	v = ui_inspect_decode(flash, len, &o, &e);
	assert_non_null(v);
	assert_string_equal(json_string_value(json_object_get(v, "kind")), "flash image");
	assert_int_equal(json_integer_value(json_object_get(v, "problems")), 1);
	size_t i;
	json_t *q;
	int seen_nvs = 0, outside = 0;
	json_array_foreach(json_object_get(v, "partitions"), i, q) {
		const char *name = json_string_value(json_object_get(q, "name"));
		const char *st = json_string_value(json_object_get(q, "status"));
		if (!strcmp(name, "nvs")) {
			seen_nvs = 1;
			assert_string_equal(st, "corrupt");
			assert_non_null(strstr(json_string_value(json_object_get(q, "problem")),
					       "image truncated: the partition at 0x10000 has only 12288 "
					       "of its 49152 bytes"));
			cf = json_object_get(json_object_get(json_object_get(q, "decoded"), "namespaces"),
					     "chip-factory");
			assert_non_null(json_object_get(cf, "serial-num"));
		} else if (json_integer_value(json_object_get(q, "offset")) >= (json_int_t)len) {
			outside++;
			assert_string_equal(st, "outside image");
		}
	}
	assert_true(seen_nvs);
	assert_true(outside >= 2); /* nvs_keys, otadata, phy_init, fctry */
	json_decref(v);
	free(flash);
	buf_free_data(&img);
	buf_free_data(&table);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_secret_key_names),
		cmocka_unit_test(test_seccert_view_and_mask),
		cmocka_unit_test(test_nvs_view_and_mask),
		cmocka_unit_test(test_detection_and_empty),
		cmocka_unit_test(test_cut_and_multiple_damage),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
