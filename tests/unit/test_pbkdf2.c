/* Unit tests of src/crypto/pbkdf2: the RFC 7914 §11 PBKDF2-HMAC-SHA256 vector, and every
 * implementation (portable, SHA-NI when the CPU has it, automatic choice) equal byte for byte to
 * mbedtls_pkcs5_pbkdf2_hmac over password, salt, iteration and output lengths that cross the
 * block boundaries and the SHA-NI lane grouping. */
#include "testutil.h"

#include <stdio.h>
#include <string.h>

#include <mbedtls/md.h>
#include <mbedtls/pkcs5.h>

#include "core/hex.h"
#include "crypto/pbkdf2.h"

static void pbkdf2_reference(const uint8_t *pw, size_t pw_len, const uint8_t *salt, size_t salt_len,
			     uint32_t iterations, uint8_t *out, size_t out_len)
{
	mbedtls_md_context_t md;
	mbedtls_md_init(&md);
	assert_int_equal(mbedtls_md_setup(&md, mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), 1), 0);
	assert_int_equal(mbedtls_pkcs5_pbkdf2_hmac(&md, pw, pw_len, salt, salt_len, iterations, (uint32_t)out_len, out),
			 0);
	mbedtls_md_free(&md);
}

static void test_rfc7914_vector(void **state)
{
	(void)state;
	/* RFC 7914 §11: PBKDF2-HMAC-SHA256 (P="passwd", S="salt", c=1, dkLen=64). */
	const char *want_hex = "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc"
			       "49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783";
	buf_t want = BUF_INIT;
	err_t e = {0};
	assert_int_equal(hex_decode_string(want_hex, &want, &e), 0);
	const enum pbkdf2_impl impls[] = {PBKDF2_IMPL_AUTO, PBKDF2_IMPL_PORTABLE, PBKDF2_IMPL_SHA_NI};
	for (size_t i = 0; i < 3; i++) {
		if (impls[i] == PBKDF2_IMPL_SHA_NI && !pbkdf2_has_sha_ni())
			continue;
		uint8_t out[64];
		assert_int_equal(pbkdf2_hmac_sha256_with(impls[i], (const uint8_t *)"passwd", 6, (const uint8_t *)"salt",
							 4, 1, out, sizeof out, &e),
				 0);
		testutil_assert_bytes_equal("RFC 7914 PBKDF2", out, sizeof out, want.data, want.len);
	}
	buf_free_data(&want);
}

static void pbkdf2_compare_impl(enum pbkdf2_impl impl)
{
	static const size_t pw_lens[] = {0, 4, 63, 64, 65, 130};
	static const size_t salt_lens[] = {0, 16, 32, 55, 56, 64, 100};
	static const uint32_t iters[] = {1, 2, 3, 17, 1000};
	static const size_t out_lens[] = {1, 31, 32, 33, 64, 80, 96, 97, 128, 129, 200};
	uint8_t pw[130], salt[100], got[200], want[200];
	for (size_t i = 0; i < sizeof pw; i++)
		pw[i] = (uint8_t)(i * 7 + 1);
	for (size_t i = 0; i < sizeof salt; i++)
		salt[i] = (uint8_t)(i * 13 + 5);
	size_t n = 0;
	for (size_t a = 0; a < sizeof pw_lens / sizeof pw_lens[0]; a++)
		for (size_t b = 0; b < sizeof salt_lens / sizeof salt_lens[0]; b++)
			for (size_t c = 0; c < sizeof iters / sizeof iters[0]; c++)
				for (size_t d = 0; d < sizeof out_lens / sizeof out_lens[0]; d++) {
					/* The long iteration counts on a subset only, to keep the run short. */
					if (iters[c] > 17 && (a != 1 || (out_lens[d] != 80 && out_lens[d] != 129)))
						continue;
					err_t e = {0};
					memset(got, 0xA5, sizeof got);
					pbkdf2_reference(pw, pw_lens[a], salt, salt_lens[b], iters[c], want, out_lens[d]);
					assert_int_equal(pbkdf2_hmac_sha256_with(impl, pw, pw_lens[a], salt, salt_lens[b],
										 iters[c], got, out_lens[d], &e),
							 0);
					char what[128];
					snprintf(what, sizeof what, "impl %d pw %zu salt %zu iter %u out %zu", (int)impl,
						 pw_lens[a], salt_lens[b], iters[c], out_lens[d]);
					testutil_assert_bytes_equal(what, got, out_lens[d], want, out_lens[d]);
					/* Nothing written past the requested length. */
					for (size_t i = out_lens[d]; i < sizeof got; i++)
						assert_int_equal(got[i], 0xA5);
					n++;
				}
	assert_true(n > 1000);
}

static void test_portable_equals_mbedtls(void **state)
{
	(void)state;
	pbkdf2_compare_impl(PBKDF2_IMPL_PORTABLE);
}

static void test_sha_ni_equals_mbedtls(void **state)
{
	(void)state;
	if (!pbkdf2_has_sha_ni())
		skip();
	pbkdf2_compare_impl(PBKDF2_IMPL_SHA_NI);
}

static void test_auto_equals_mbedtls(void **state)
{
	(void)state;
	pbkdf2_compare_impl(PBKDF2_IMPL_AUTO);
}

static void test_matter_iteration_counts(void **state)
{
	(void)state;
	/* The verifier's own shape (4-byte passcode, 32-byte salt, 80 bytes) at the Matter bounds. */
	const uint8_t pw[4] = {0x25, 0x41, 0x34, 0x01};
	uint8_t salt[32], want[80], got[80];
	for (size_t i = 0; i < sizeof salt; i++)
		salt[i] = (uint8_t)(0xC3 ^ i);
	const uint32_t iters[] = {1000, 10000};
	for (size_t i = 0; i < 2; i++) {
		pbkdf2_reference(pw, sizeof pw, salt, sizeof salt, iters[i], want, sizeof want);
		err_t e = {0};
		assert_int_equal(pbkdf2_hmac_sha256_with(PBKDF2_IMPL_PORTABLE, pw, sizeof pw, salt, sizeof salt,
							 iters[i], got, sizeof got, &e),
				 0);
		testutil_assert_bytes_equal("portable", got, sizeof got, want, sizeof want);
		if (pbkdf2_has_sha_ni()) {
			assert_int_equal(pbkdf2_hmac_sha256_with(PBKDF2_IMPL_SHA_NI, pw, sizeof pw, salt, sizeof salt,
								 iters[i], got, sizeof got, &e),
					 0);
			testutil_assert_bytes_equal("SHA-NI", got, sizeof got, want, sizeof want);
		}
	}
}

static void test_default_impl_switch(void **state)
{
	(void)state;
	/* The process-wide choice reaches pbkdf2_hmac_sha256: forcing SHA-NI on a CPU without it
	 * fails, forcing portable still gives the reference bytes. */
	const uint8_t pw[4] = {1, 2, 3, 4}, salt[16] = {9};
	uint8_t want[80], got[80];
	pbkdf2_reference(pw, sizeof pw, salt, sizeof salt, 50, want, sizeof want);
	err_t e = {0};
	pbkdf2_set_default_impl(PBKDF2_IMPL_PORTABLE);
	assert_int_equal(pbkdf2_hmac_sha256(pw, sizeof pw, salt, sizeof salt, 50, got, sizeof got, &e), 0);
	testutil_assert_bytes_equal("portable default", got, sizeof got, want, sizeof want);
	pbkdf2_set_default_impl(PBKDF2_IMPL_SHA_NI);
	int rc = pbkdf2_hmac_sha256(pw, sizeof pw, salt, sizeof salt, 50, got, sizeof got, &e);
	pbkdf2_set_default_impl(PBKDF2_IMPL_AUTO);
	if (pbkdf2_has_sha_ni()) {
		assert_int_equal(rc, 0);
		testutil_assert_bytes_equal("SHA-NI default", got, sizeof got, want, sizeof want);
	} else {
		assert_int_equal(rc, -1);
	}
}

static void test_bad_arguments(void **state)
{
	(void)state;
	uint8_t out[32];
	err_t e = {0};
	assert_int_equal(pbkdf2_hmac_sha256((const uint8_t *)"pw", 2, (const uint8_t *)"salt", 4, 0, out, sizeof out, &e),
			 -1);
	assert_int_equal(e.code, ERR_CHECK);
	assert_non_null(strstr(e.msg, "iteration count 0"));
	if (!pbkdf2_has_sha_ni()) {
		err_t e2 = {0};
		assert_int_equal(pbkdf2_hmac_sha256_with(PBKDF2_IMPL_SHA_NI, (const uint8_t *)"pw", 2,
							 (const uint8_t *)"salt", 4, 1, out, sizeof out, &e2),
				 -1);
		assert_non_null(strstr(e2.msg, "SHA extensions"));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc7914_vector),
		cmocka_unit_test(test_portable_equals_mbedtls),
		cmocka_unit_test(test_sha_ni_equals_mbedtls),
		cmocka_unit_test(test_auto_equals_mbedtls),
		cmocka_unit_test(test_matter_iteration_counts),
		cmocka_unit_test(test_default_impl_switch),
		cmocka_unit_test(test_bad_arguments),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
