/* Unit tests of crypto/flashenc beyond the vectors: the reference's worked examples, key-length
 * rules, alignment errors, random padding of a partial ESP32 block, and the CLI's option
 * spellings. */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#include "core/hex.h"
#include "crypto/flashenc.h"

static void flashenc_assert_hex(const uint8_t *p, size_t n, const char *want)
{
	char text[2 * 64 + 1];
	assert_true(n <= 64);
	hex_encode_bytes(p, n, text);
	assert_string_equal(text, want);
}

static void test_esp32_worked_example(void **state)
{
	(void)state;
	uint8_t key[32], plain[32];
	for (int i = 0; i < 32; i++)
		key[i] = plain[i] = (uint8_t)i;
	struct flashenc_params p = {FLASHENC_ESP32_LEGACY, key, 32, 0x10000, 0xF};
	buf_t out = BUF_INIT, back = BUF_INIT;
	err_t e = {0};
	assert_int_equal(flashenc_encrypt_data(&p, plain, 32, &out, &e), 0);
	assert_int_equal(out.len, 32);
	flashenc_assert_hex(out.data, 32,
			    "83630c7cfe5f7a97258302bbf469bbaad1ee15f32aa45a1b5a3239e452effdcd");
	assert_int_equal(flashenc_decrypt_data(&p, out.data, out.len, &back, &e), 0);
	testutil_assert_bytes_equal("round trip", back.data, back.len, plain, 32);
	buf_free_data(&out);
	buf_free_data(&back);
}

static void test_xts_worked_examples(void **state)
{
	(void)state;
	uint8_t key[64], plain[128];
	for (int i = 0; i < 64; i++)
		key[i] = (uint8_t)i;
	for (int i = 0; i < 128; i++)
		plain[i] = (uint8_t)i;
	struct flashenc_params p = {FLASHENC_AES_XTS, key, 32, 0x10000, 0};
	buf_t out = BUF_INIT;
	err_t e = {0};
	assert_int_equal(flashenc_encrypt_data(&p, plain, 128, &out, &e), 0);
	flashenc_assert_hex(out.data, 16, "2c2a288e9e96647587883012b81d1739");
	flashenc_assert_hex(out.data + 112, 16, "23cd8de5f72afcda58ee8fed7add2ae0");
	out.len = 0;
	p.key_len = 64;
	assert_int_equal(flashenc_encrypt_data(&p, plain, 128, &out, &e), 0);
	flashenc_assert_hex(out.data, 16, "ed032950be116e860729b191d93e3cc2");
	buf_free_data(&out);
}

static void test_key_length_rules(void **state)
{
	(void)state;
	uint8_t key[64] = {1, 2, 3}, exp[64];
	err_t e = {0};
	assert_int_equal(flashenc_expand_key(FLASHENC_ESP32_LEGACY, key, 24, exp, &e), 32);
	assert_memory_equal(exp + 24, key + 8, 8);
	assert_int_equal(flashenc_expand_key(FLASHENC_ESP32_LEGACY, key, 16, exp, &e), -1);
	assert_non_null(strstr(e.msg, "16 bytes"));
	assert_int_equal(flashenc_expand_key(FLASHENC_ESP32_LEGACY, key, 64, exp, &e), -1);
	assert_int_equal(flashenc_expand_key(FLASHENC_AES_XTS, key, 24, exp, &e), -1);
	assert_non_null(strstr(e.msg, "24 bytes"));
	assert_int_equal(flashenc_expand_key(FLASHENC_AES_XTS, key, 16, exp, &e), 32);
	assert_int_equal(flashenc_expand_key(FLASHENC_AES_XTS, key, 64, exp, &e), 64);
}

static void test_alignment_errors(void **state)
{
	(void)state;
	uint8_t key[32] = {0}, data[48] = {0};
	buf_t out = BUF_INIT;
	err_t e = {0};
	struct flashenc_params p = {FLASHENC_AES_XTS, key, 32, 0x1008, 0};
	assert_int_equal(flashenc_encrypt_data(&p, data, 32, &out, &e), -1);
	assert_non_null(strstr(e.msg, "0x1008"));
	p.address = 0x1000;
	assert_int_equal(flashenc_encrypt_data(&p, data, 20, &out, &e), -1);
	assert_non_null(strstr(e.msg, "20"));
	assert_int_equal(flashenc_encrypt_data(&p, data, 0, &out, &e), -1);
	p.scheme = FLASHENC_ESP32_LEGACY;
	assert_int_equal(flashenc_decrypt_data(&p, data, 20, &out, &e), -1);
	p.flash_crypt_conf = 0x1F;
	assert_int_equal(flashenc_encrypt_data(&p, data, 32, &out, &e), -1);
	assert_non_null(strstr(e.msg, "0x1f"));
	buf_free_data(&out);
}

static void test_esp32_partial_block_padded(void **state)
{
	(void)state;
	uint8_t key[32], data[20];
	for (int i = 0; i < 32; i++)
		key[i] = (uint8_t)(0xA0 + i);
	memset(data, 0x5A, sizeof data);
	struct flashenc_params p = {FLASHENC_ESP32_LEGACY, key, 32, 0x2000, 0xF};
	buf_t out = BUF_INIT, back = BUF_INIT;
	err_t e = {0};
	assert_int_equal(flashenc_encrypt_data(&p, data, sizeof data, &out, &e), 0);
	assert_int_equal(out.len, 32);
	assert_int_equal(flashenc_decrypt_data(&p, out.data, out.len, &back, &e), 0);
	testutil_assert_bytes_equal("prefix", back.data, 20, data, 20);
	buf_free_data(&out);
	buf_free_data(&back);
}

static void test_cli_spellings_and_errors(void **state)
{
	(void)state;
	char *dir = testutil_make_tmpdir();
	char *kp = testutil_join_path(dir, "k.bin"), *ip = testutil_join_path(dir, "in.bin");
	uint8_t key[64], data[256];
	for (int i = 0; i < 64; i++)
		key[i] = (uint8_t)(i * 7);
	for (int i = 0; i < 256; i++)
		data[i] = (uint8_t)(i ^ 0x33);
	testutil_write_file(kp, key, 64);
	testutil_write_file(ip, data, sizeof data);
	buf_t o = BUF_INIT, r = BUF_INIT;
	char *a1[] = {"x", "flashenc", "encrypt_flash_data", "--keyfile=k.bin", "-a", "0x3000",
		      "--aes_xts", "-o", "a.bin", "in.bin", NULL};
	assert_int_equal(testutil_run_espfab(dir, a1, &o, &r), 0);
	char *a2[] = {"x", "flashenc", "encrypt-flash-data", "in.bin", "-k", "k.bin", "-x",
		      "--address", "12288", "--output", "b.bin", NULL};
	assert_int_equal(testutil_run_espfab(dir, a2, &o, &r), 0);
	char *pa = testutil_join_path(dir, "a.bin"), *pb = testutil_join_path(dir, "b.bin");
	testutil_assert_files_equal(pa, pb);
	buf_t a = BUF_INIT, want = BUF_INIT;
	testutil_read_file(pa, &a);
	struct flashenc_params p = {FLASHENC_AES_XTS, key, 64, 0x3000, 0};
	err_t e = {0};
	assert_int_equal(flashenc_encrypt_data(&p, data, sizeof data, &want, &e), 0);
	testutil_assert_bytes_equal("cli vs library", a.data, a.len, want.data, want.len);
	/* A 64-byte key without --aes-xts is refused with a message naming the length. */
	r.len = 0;
	char *a3[] = {"x", "flashenc", "encrypt-flash-data", "-k", "k.bin", "-a", "0", "-o", "c.bin",
		      "in.bin", NULL};
	assert_int_equal(testutil_run_espfab(dir, a3, &o, &r), 1);
	buf_terminate_str(&r);
	assert_non_null(strstr((char *)r.data, "64 bytes"));
	char *a4[] = {"x", "flashenc", "encrypt-flash-data", "-k", "k.bin", "-o", "c.bin", "in.bin", NULL};
	assert_int_equal(testutil_run_espfab(dir, a4, &o, &r), 2);
	buf_free_data(&a);
	buf_free_data(&want);
	buf_free_data(&o);
	buf_free_data(&r);
	testutil_remove_tree(dir);
	free(pa);
	free(pb);
	free(kp);
	free(ip);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_esp32_worked_example),
		cmocka_unit_test(test_xts_worked_examples),
		cmocka_unit_test(test_key_length_rules),
		cmocka_unit_test(test_alignment_errors),
		cmocka_unit_test(test_esp32_partial_block_padded),
		cmocka_unit_test(test_cli_spellings_and_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
