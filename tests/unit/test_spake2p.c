/* Unit tests of src/crypto/spake2p: input rules (each failure names the value at fault), the
 * Matter default test verifier, and the CLI's option handling. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/hex.h"
#include "crypto/spake2p.h"

static const uint8_t salt16[16] = "SPAKE2P Key Salt";

static void test_default_test_verifier(void **state)
{
	(void)state;
	/* connectedhomeip's default commissioning values (matter-provisioning.md §2). */
	const char *want_b64 = "uWFwqugDNGiEck/po7KHwwMwwqZgN10XuyBajPGuyzUEV/iree4lOrao5GuwnlQ65CJz"
			       "beUB49s31EH+NEkg0JVI5MGCQGMMT/SRPFNRODm3wH/MBiehuFc6FJ/NH6Rmzw==";
	buf_t want = BUF_INIT;
	err_t e = {0};
	assert_int_equal(hex_decode_base64(want_b64, &want, &e), 0);
	uint8_t v[SPAKE2P_VERIFIER_LEN];
	assert_int_equal(spake2p_compute_verifier(20202021, salt16, sizeof salt16, 1000, v, &e), 0);
	testutil_assert_bytes_equal("verifier", v, sizeof v, want.data, want.len);
	assert_int_equal(v[32], 0x04);
	buf_free_data(&want);
}

static void test_invalid_passcodes_are_named(void **state)
{
	(void)state;
	static const struct {
		uint32_t passcode;
		const char *named;
	} bad[] = {
		{0, "00000000"},	{11111111, "11111111"}, {22222222, "22222222"},
		{33333333, "33333333"}, {44444444, "44444444"}, {55555555, "55555555"},
		{66666666, "66666666"}, {77777777, "77777777"}, {88888888, "88888888"},
		{99999999, "99999999"}, {12345678, "12345678"}, {87654321, "87654321"},
		{100000000, "100000000"}, {0xFFFFFFFFu, "4294967295"},
	};
	uint8_t v[SPAKE2P_VERIFIER_LEN];
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		err_t e = {0};
		assert_int_equal(spake2p_check_passcode(bad[i].passcode, &e), -1);
		if (!strstr(e.msg, bad[i].named))
			fail_msg("message for %u does not name it: %s", bad[i].passcode, e.msg);
		assert_int_equal(spake2p_compute_verifier(bad[i].passcode, salt16, 16, 1000, v, &e), -1);
		assert_int_equal(e.code, ERR_CHECK);
	}
	err_t e = {0};
	assert_int_equal(spake2p_check_passcode(1, &e), 0);
	assert_int_equal(spake2p_check_passcode(99999998, &e), 0);
	assert_int_equal(spake2p_check_passcode(12345679, &e), 0);
}

static void test_salt_and_iteration_bounds(void **state)
{
	(void)state;
	static const struct {
		size_t salt_len;
		uint32_t iterations;
		int ok;
		const char *named;
	} cases[] = {
		{15, 1000, 0, "15"},	 {33, 1000, 0, "33"},	  {0, 1000, 0, "length 0"},
		{16, 999, 0, "999"},	 {16, 100001, 0, "100001"}, {16, 0, 0, "count 0"},
		{16, 1000, 1, NULL},	 {32, 100000, 1, NULL},	   {24, 5000, 1, NULL},
	};
	uint8_t salt[40] = {0};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		err_t e = {0};
		int rc = spake2p_check_params(cases[i].salt_len, cases[i].iterations, &e);
		assert_int_equal(rc, cases[i].ok ? 0 : -1);
		if (!cases[i].ok) {
			if (!strstr(e.msg, cases[i].named))
				fail_msg("case %zu: message does not name %s: %s", i, cases[i].named, e.msg);
			uint8_t v[SPAKE2P_VERIFIER_LEN];
			assert_int_equal(spake2p_compute_verifier(20202021, salt, cases[i].salt_len,
								  cases[i].iterations, v, &e),
					 -1);
		}
	}
}

static void test_cli_rejects_bad_input(void **state)
{
	(void)state;
	static const struct {
		const char *args[10];
		int rc;
		const char *named;
	} cases[] = {
		{{"spake2p", "gen-verifier", "-p", "11111111", "-s", "U1BBS0UyUCBLZXkgU2FsdA==", "-i", "1000"},
		 1, "11111111"},
		{{"spake2p", "gen-verifier", "-p", "20202021", "-s", "AAECAwQFBgcICQoLDA0O", "-i", "1000"},
		 1, "15"},
		{{"spake2p", "gen-verifier", "-p", "20202021", "-s", "U1BBS0UyUCBLZXkgU2FsdA==", "-i", "999"},
		 1, "999"},
		{{"spake2p", "gen-verifier", "-p", "20202021", "-s", "U1BBS0UyUCBLZXkgU2FsdA=="}, 2,
		 "--iteration-count"},
		{{"spake2p", "gen-verifier", "-p", "2020x", "-s", "U1BBS0UyUCBLZXkgU2FsdA==", "-i", "1000"},
		 2, "2020x"},
		{{"spake2p", "gen-verifier", "--bogus"}, 2, "--bogus"},
		{{"spake2p", "make-verifier"}, 2, "make-verifier"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *argv[12] = {"espfab"};
		int n = 1;
		for (int k = 0; cases[i].args[k]; k++)
			argv[n++] = (char *)cases[i].args[k];
		argv[n] = NULL;
		buf_t out = BUF_INIT, err = BUF_INIT;
		int rc = testutil_run_espfab(NULL, argv, &out, &err);
		buf_terminate_str(&err);
		assert_int_equal(rc, cases[i].rc);
		assert_int_equal(out.len, 0);
		if (!strstr((char *)err.data, cases[i].named))
			fail_msg("case %zu: stderr does not name %s: %s", i, cases[i].named, (char *)err.data);
		buf_free_data(&out);
		buf_free_data(&err);
	}
}

static void test_cli_long_and_glued_options(void **state)
{
	(void)state;
	char *argv[] = {"espfab", "spake2p", "gen-verifier", "--passcode=20202021", "-sU1BBS0UyUCBLZXkgU2FsdA==",
			"--iteration-count", "1000", NULL};
	buf_t out = BUF_INIT;
	assert_int_equal(testutil_run_espfab(NULL, argv, &out, NULL), 0);
	buf_terminate_str(&out);
	assert_string_equal((char *)out.data,
			    "uWFwqugDNGiEck/po7KHwwMwwqZgN10XuyBajPGuyzUEV/iree4lOrao5GuwnlQ65CJzbeUB49s31EH+NEkg0"
			    "JVI5MGCQGMMT/SRPFNRODm3wH/MBiehuFc6FJ/NH6Rmzw==\n");
	buf_free_data(&out);

	/* Arguments from an @file, one per line, as argparse's fromfile_prefix_chars. */
	char *dir = testutil_make_tmpdir();
	const char *args = "-p\n20202021\n-s\nU1BBS0UyUCBLZXkgU2FsdA==\n";
	char *path = testutil_join_path(dir, "args.txt");
	testutil_write_file(path, args, strlen(args));
	char *at = malloc(strlen(path) + 2);
	at[0] = '@';
	strcpy(at + 1, path);
	char *argv2[] = {"espfab", "spake2p", "gen-verifier", at, "-i", "1000", NULL};
	buf_t out2 = BUF_INIT;
	assert_int_equal(testutil_run_espfab(NULL, argv2, &out2, NULL), 0);
	buf_terminate_str(&out2);
	assert_non_null(strstr((char *)out2.data, "uWFwqugDNGiEck/po7KHwwMwwqZgN10"));
	buf_free_data(&out2);
	free(at);
	free(path);
	testutil_remove_tree(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_test_verifier),
		cmocka_unit_test(test_invalid_passcodes_are_named),
		cmocka_unit_test(test_salt_and_iteration_bounds),
		cmocka_unit_test(test_cli_rejects_bad_input),
		cmocka_unit_test(test_cli_long_and_glued_options),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
