/* Regression for the flash-encryption key-length error: it names the key file (not the data
 * file) with the actual and the expected lengths, for both schemes and both directions, and
 * leaves no output behind. */
#include "testutil.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void expect_key_error(const char *dir, char **argv, const char *want)
{
	buf_t out = BUF_INIT, err = BUF_INIT;
	int rc = testutil_run_espfab(dir, argv, &out, &err);
	buf_terminate_str(&err);
	const char *msg = (const char *)err.data;
	if (rc != 1 || !strstr(msg, want))
		fail_msg("%s: exit %d, stderr '%s' (want '%s')", argv[2], rc, msg, want);
	/* the data file is not the one at fault */
	if (strstr(msg, "data.bin"))
		fail_msg("%s: message names the data file: %s", argv[2], msg);
	char *o = testutil_join_path(dir, "o.bin");
	assert_int_equal(access(o, F_OK), -1);
	free(o);
	buf_free_data(&out);
	buf_free_data(&err);
}

static void test_key_length_names_key_file(void **state)
{
	(void)state;
	char *dir = testutil_make_tmpdir();
	uint8_t key[20], data[64];
	memset(key, 0x42, sizeof key);
	memset(data, 0x17, sizeof data);
	char *kp = testutil_join_path(dir, "short_key.bin");
	char *dp = testutil_join_path(dir, "data.bin");
	testutil_write_file(kp, key, sizeof key);
	chmod(kp, 0600);
	testutil_write_file(dp, data, sizeof data);

	char *xts_enc[] = {"espfab", "flashenc", "encrypt-flash-data", "--keyfile", "short_key.bin",
			   "--address", "0x10000", "--aes-xts", "--output", "o.bin", "data.bin", NULL};
	expect_key_error(dir, xts_enc,
			 "key file short_key.bin: key length 20 bytes, expected 16, 32 or 64 bytes");
	char *xts_dec[] = {"espfab", "flashenc", "decrypt-flash-data", "--keyfile", "short_key.bin",
			   "--address", "0x10000", "--aes-xts", "--output", "o.bin", "data.bin", NULL};
	expect_key_error(dir, xts_dec,
			 "key file short_key.bin: key length 20 bytes, expected 16, 32 or 64 bytes");
	char *esp32_enc[] = {"espfab", "flashenc", "encrypt-flash-data", "--keyfile", "short_key.bin",
			     "--address", "0x10000", "--output", "o.bin", "data.bin", NULL};
	expect_key_error(dir, esp32_enc,
			 "key file short_key.bin: key length 20 bytes, expected 24 or 32 bytes");

	free(kp);
	free(dp);
	testutil_remove_tree(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key_length_names_key_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
