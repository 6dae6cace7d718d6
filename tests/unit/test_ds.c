/* Unit tests of the DS parameter computation: the ciphertext is decrypted with an AES key derived
 * here from the HMAC key and every field (Y, M, Rb, M', length, MD, padding) is checked against a
 * recomputation that uses other arithmetic than the module (exp_mod for Rb, 64-bit products for
 * M'); keys too large for a chip are refused with size and chip named. */
#include "testutil.h"

#include <string.h>

#include <mbedtls/aes.h>
#include <mbedtls/bignum.h>
#include <mbedtls/md.h>
#include <mbedtls/rsa.h>
#include <mbedtls/sha256.h>

#include "core/hex.h"
#include "core/rng.h"
#include "crypto/ds.h"

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void test_aes_key_known_value(void **state)
{
	(void)state;
	uint8_t k[32] = {0}, aes[32];
	char hex[65];
	assert_int_equal(ds_derive_aes_key(k, aes), 0);
	hex_encode_bytes(aes, 32, hex);
	/* ds-peripheral.md §5: K = 32 x 0x00 gives this AES key. */
	assert_string_equal(hex, "ce9ca061301c497175e5bf602699dde29786967f3c1d5740e2bdeed39ea62617");
}

static void check_ds_for_chip(mbedtls_rsa_context *rsa, const char *chip, unsigned max_bits)
{
	uint8_t hmac_key[32], iv[16];
	rng_fill_bytes(hmac_key, sizeof hmac_key);
	rng_fill_bytes(iv, sizeof iv);
	struct ds_params *p = calloc(1, sizeof *p);
	err_t e = {0};
	if (ds_compute_params(rsa, chip, hmac_key, iv, p, &e))
		fail_msg("%s: %s", chip, e.msg);
	size_t w = max_bits / 8;
	size_t bits = mbedtls_rsa_get_len(rsa) * 8;
	assert_int_equal(p->rsa_bits, bits);
	assert_int_equal(p->c_len, 3 * w + 48);
	assert_memory_equal(p->iv, iv, 16);

	/* Decrypt with an independently derived key: HMAC-SHA256(K, 32 x FF). */
	uint8_t ff[32], aes_key[32], iv_work[16];
	memset(ff, 0xFF, sizeof ff);
	assert_int_equal(mbedtls_md_hmac(mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), hmac_key, 32,
					 ff, 32, aes_key), 0);
	uint8_t *plain = calloc(1, p->c_len);
	mbedtls_aes_context aes;
	mbedtls_aes_init(&aes);
	memcpy(iv_work, iv, 16);
	assert_int_equal(mbedtls_aes_setkey_dec(&aes, aes_key, 256), 0);
	assert_int_equal(mbedtls_aes_crypt_cbc(&aes, MBEDTLS_AES_DECRYPT, p->c_len, iv_work, p->c, plain), 0);
	mbedtls_aes_free(&aes);

	mbedtls_mpi N, D, Y, M, Rb, want_rb, two, exp;
	mbedtls_mpi_init(&N); mbedtls_mpi_init(&D); mbedtls_mpi_init(&Y); mbedtls_mpi_init(&M);
	mbedtls_mpi_init(&Rb); mbedtls_mpi_init(&want_rb); mbedtls_mpi_init(&two); mbedtls_mpi_init(&exp);
	assert_int_equal(mbedtls_rsa_export(rsa, &N, NULL, NULL, &D, NULL), 0);
	assert_int_equal(mbedtls_mpi_read_binary_le(&Y, plain, w), 0);
	assert_int_equal(mbedtls_mpi_read_binary_le(&M, plain + w, w), 0);
	assert_int_equal(mbedtls_mpi_read_binary_le(&Rb, plain + 2 * w, w), 0);
	assert_int_equal(mbedtls_mpi_cmp_mpi(&Y, &D), 0);
	assert_int_equal(mbedtls_mpi_cmp_mpi(&M, &N), 0);
	/* Rb = 2^(2N) mod M, here by modular exponentiation. */
	mbedtls_mpi_lset(&two, 2);
	mbedtls_mpi_lset(&exp, (mbedtls_mpi_sint)(2 * bits));
	assert_int_equal(mbedtls_mpi_exp_mod(&want_rb, &two, &exp, &N, NULL), 0);
	assert_int_equal(mbedtls_mpi_cmp_mpi(&Rb, &want_rb), 0);

	const uint8_t *md = plain + 3 * w;
	uint32_t mprime = rd32(md + 32), length = rd32(md + 36);
	/* M' * M = -1 (mod 2^32): check with the low word of M. */
	uint32_t m0 = rd32(plain + w);
	assert_int_equal((uint32_t)((uint64_t)mprime * m0 + 1), 0);
	assert_int_equal(length, bits / 32 - 1);
	for (size_t i = 0; i < 8; i++)
		assert_int_equal(md[40 + i], 0x08);
	/* MD = SHA-256(Y || M || Rb || M' || length || IV) */
	uint8_t want_md[32], tail[8];
	memcpy(tail, md + 32, 8);
	mbedtls_sha256_context sha;
	mbedtls_sha256_init(&sha);
	mbedtls_sha256_starts_ret(&sha, 0);
	mbedtls_sha256_update_ret(&sha, plain, 3 * w);
	mbedtls_sha256_update_ret(&sha, tail, 8);
	mbedtls_sha256_update_ret(&sha, iv, 16);
	mbedtls_sha256_finish_ret(&sha, want_md);
	mbedtls_sha256_free(&sha);
	assert_memory_equal(md, want_md, 32);

	/* DS_DATA = rsa_length || IV || C, DS_CONTEXT = 0 || id || 0 || bits */
	buf_t data = BUF_INIT;
	ds_encode_data(p, &data);
	assert_int_equal(data.len, 20 + p->c_len);
	assert_int_equal(rd32(data.data), bits / 32 - 1);
	assert_memory_equal(data.data + 4, iv, 16);
	assert_memory_equal(data.data + 20, p->c, p->c_len);
	uint8_t ctx[8];
	ds_encode_context(3, (unsigned)bits, ctx);
	const uint8_t want_ctx[8] = {0, 0, 0, 0, 3, 0, (uint8_t)bits, (uint8_t)(bits >> 8)};
	assert_memory_equal(ctx, want_ctx, 8);

	buf_free_data(&data);
	mbedtls_mpi_free(&N); mbedtls_mpi_free(&D); mbedtls_mpi_free(&Y); mbedtls_mpi_free(&M);
	mbedtls_mpi_free(&Rb); mbedtls_mpi_free(&want_rb); mbedtls_mpi_free(&two); mbedtls_mpi_free(&exp);
	free(plain);
	free(p);
}

static void test_ds_ciphertext_decrypts_to_parameters(void **state)
{
	(void)state;
	static const struct { const char *chip; unsigned max_bits; } chips[] = {
		{"esp32s2", 4096}, {"esp32s3", 4096}, {"esp32c3", 3072}, {"esp32c6", 3072}, {"esp32h2", 3072},
	};
	static const unsigned sizes[] = {1024, 2048};
	for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
		mbedtls_rsa_context rsa;
		mbedtls_rsa_init(&rsa, MBEDTLS_RSA_PKCS_V15, 0);
		assert_int_equal(mbedtls_rsa_gen_key(&rsa, rng_mbedtls_callback, NULL, sizes[s], 65537), 0);
		for (size_t i = 0; i < sizeof chips / sizeof chips[0]; i++)
			check_ds_for_chip(&rsa, chips[i].chip, chips[i].max_bits);
		mbedtls_rsa_free(&rsa);
	}
}

/* A 4096-bit private key context without the cost of generating one: only N and D are read. */
static void make_fake_rsa(mbedtls_rsa_context *rsa, unsigned bits)
{
	mbedtls_mpi N, P, Q, D, E;
	mbedtls_mpi_init(&N); mbedtls_mpi_init(&P); mbedtls_mpi_init(&Q); mbedtls_mpi_init(&D);
	mbedtls_mpi_init(&E);
	mbedtls_mpi_lset(&N, 1);
	mbedtls_mpi_shift_l(&N, bits - 1);
	mbedtls_mpi_add_int(&N, &N, 1);
	mbedtls_mpi_lset(&P, 3);
	mbedtls_mpi_lset(&Q, 5);
	mbedtls_mpi_lset(&D, 7);
	mbedtls_mpi_lset(&E, 65537);
	mbedtls_rsa_init(rsa, MBEDTLS_RSA_PKCS_V15, 0);
	assert_int_equal(mbedtls_rsa_import(rsa, &N, &P, &Q, &D, &E), 0);
	mbedtls_mpi_free(&N); mbedtls_mpi_free(&P); mbedtls_mpi_free(&Q); mbedtls_mpi_free(&D);
	mbedtls_mpi_free(&E);
}

static void test_ds_refuses_key_too_large(void **state)
{
	(void)state;
	static const char *const small_chips[] = {"esp32c3", "esp32c6", "esp32h2"};
	uint8_t k[32] = {0}, iv[16] = {0};
	mbedtls_rsa_context rsa;
	make_fake_rsa(&rsa, 4096);
	struct ds_params *p = calloc(1, sizeof *p);
	for (size_t i = 0; i < 3; i++) {
		err_t e = {0};
		assert_int_equal(ds_compute_params(&rsa, small_chips[i], k, iv, p, &e), -1);
		assert_non_null(strstr(e.msg, "4096"));
		assert_non_null(strstr(e.msg, small_chips[i]));
		assert_non_null(strstr(e.msg, "too large"));
		assert_int_equal(p->c_len, 0);
	}
	mbedtls_rsa_free(&rsa);
	free(p);

	err_t e = {0};
	assert_int_equal(ds_check_key_size("esp32s3", 4096, &e), 0);
	assert_int_equal(ds_check_key_size("esp32s2", 4096, &e), 0);
	assert_int_equal(ds_check_key_size("esp32s3", 8192, &e), -1);
	assert_non_null(strstr(e.msg, "8192"));
	assert_int_equal(ds_check_key_size("esp32c3", 1536, &e), -1);
	assert_non_null(strstr(e.msg, "1536"));
	assert_int_equal(ds_check_key_size("esp32", 2048, &e), -1);
	assert_non_null(strstr(e.msg, "esp32 has no RSA Digital Signature"));
	assert_int_equal(ds_check_key_size("esp32c2", 2048, &e), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_aes_key_known_value),
		cmocka_unit_test(test_ds_ciphertext_decrypts_to_parameters),
		cmocka_unit_test(test_ds_refuses_key_too_large),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
