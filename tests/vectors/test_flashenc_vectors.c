/* flash_encryption vectors: every case replayed through `espfab flashenc` (encrypt, then the
 * recorded decrypt round trip) and through flashenc_encrypt_data/flashenc_decrypt_data, comparing
 * whole outputs with the espsecure results. Outputs go to a temporary folder, never to the set. */
#include "testutil.h"
#include "casecmd.h"

#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "crypto/flashenc.h"

static void flashenc_copy_file(const char *from_dir, const char *to_dir, const char *name)
{
	char *src = testutil_join_path(from_dir, name), *dst = testutil_join_path(to_dir, name);
	buf_t b = BUF_INIT;
	testutil_read_file(src, &b);
	testutil_write_file(dst, b.data, b.len);
	buf_free_data(&b);
	free(src);
	free(dst);
}

static void flashenc_run_cli(const char *dir, json_t *cmd)
{
	char **argv = casecmd_build_argv(cmd, "flashenc", NULL);
	buf_t out = BUF_INIT, err = BUF_INIT;
	int rc = testutil_run_espfab(dir, argv, &out, &err);
	if (rc != 0)
		print_error("espfab failed (%d): %.*s\n", rc, (int)err.len, (char *)err.data);
	assert_int_equal(rc, 0);
	buf_free_data(&out);
	buf_free_data(&err);
	casecmd_free_argv(argv);
}

static void test_flashenc_every_case_cli(void **state)
{
	(void)state;
	if (!testutil_vectors_dir())
		skip();
	char **cases = testutil_list_cases("flash_encryption");
	int count = 0;
	for (char **c = cases; *c; c++, count++) {
		char *dir;
		json_t *j = casecmd_load_case("flash_encryption", *c, &dir);
		char *tmp = testutil_make_tmpdir();
		flashenc_copy_file(dir, tmp, json_string_value(json_object_get(j, "key_file")));
		flashenc_copy_file(dir, tmp, json_string_value(json_object_get(j, "plaintext")));
		flashenc_run_cli(tmp, json_object_get(j, "command"));
		const char *ct = json_string_value(json_object_get(json_object_get(j, "outputs"), "ciphertext"));
		char *got = testutil_join_path(tmp, ct), *want = testutil_join_path(dir, ct);
		testutil_assert_files_equal(got, want);
		json_t *rt = json_object_get(j, "decrypt_roundtrip");
		flashenc_run_cli(tmp, json_object_get(rt, "command"));
		char *dec = testutil_join_path(tmp, "decrypted.bin");
		char *plain = testutil_join_path(dir, json_string_value(json_object_get(j, "plaintext")));
		testutil_assert_files_equal(dec, plain);
		free(dec);
		free(plain);
		free(got);
		free(want);
		testutil_remove_tree(tmp);
		free(tmp);
		json_decref(j);
		free(dir);
	}
	assert_true(count >= 6);
	testutil_free_list(cases);
}

static void test_flashenc_every_case_library(void **state)
{
	(void)state;
	if (!testutil_vectors_dir())
		skip();
	char **cases = testutil_list_cases("flash_encryption");
	for (char **c = cases; *c; c++) {
		char *dir;
		json_t *j = casecmd_load_case("flash_encryption", *c, &dir);
		char *kp = testutil_join_path(dir, json_string_value(json_object_get(j, "key_file")));
		char *pp = testutil_join_path(dir, json_string_value(json_object_get(j, "plaintext")));
		char *ep = testutil_join_path(dir, json_string_value(json_object_get(json_object_get(j, "outputs"), "ciphertext")));
		buf_t key = BUF_INIT, plain = BUF_INIT, want = BUF_INIT, got = BUF_INIT, back = BUF_INIT;
		testutil_read_file(kp, &key);
		testutil_read_file(pp, &plain);
		testutil_read_file(ep, &want);
		const char *scheme = json_string_value(json_object_get(j, "scheme"));
		const char *conf = json_string_value(json_object_get(j, "flash_crypt_conf"));
		struct flashenc_params p = {
			.scheme = !strcmp(scheme, "aes_xts") ? FLASHENC_AES_XTS : FLASHENC_ESP32_LEGACY,
			.key = key.data,
			.key_len = key.len,
			.address = (uint32_t)json_integer_value(json_object_get(j, "address_int")),
			.flash_crypt_conf = conf ? (uint32_t)strtoul(conf, NULL, 0) : 0xF,
		};
		err_t e = {0};
		assert_int_equal(flashenc_encrypt_data(&p, plain.data, plain.len, &got, &e), 0);
		testutil_assert_bytes_equal(*c, got.data, got.len, want.data, want.len);
		assert_int_equal(flashenc_decrypt_data(&p, want.data, want.len, &back, &e), 0);
		testutil_assert_bytes_equal(*c, back.data, back.len, plain.data, plain.len);

		/* Any 16-byte-aligned slice encrypts to the matching slice at its own address. */
		size_t off = 0x230, n = 0x1a0;
		buf_t part = BUF_INIT;
		struct flashenc_params q = p;
		q.address = p.address + (uint32_t)off;
		assert_int_equal(flashenc_encrypt_data(&q, plain.data + off, n, &part, &e), 0);
		testutil_assert_bytes_equal("slice", part.data, part.len, want.data + off, n);
		buf_free_data(&part);

		buf_free_data(&key);
		buf_free_data(&plain);
		buf_free_data(&want);
		buf_free_data(&got);
		buf_free_data(&back);
		free(kp);
		free(pp);
		free(ep);
		json_decref(j);
		free(dir);
	}
	testutil_free_list(cases);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_flashenc_every_case_cli),
		cmocka_unit_test(test_flashenc_every_case_library),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
