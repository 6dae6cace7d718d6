/* Unit tests of src/core: CRC variant, hex/base64, buffers, atomic writes. */
#include "testutil.h"

#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/checksum.h"
#include "core/fileio.h"
#include "core/hex.h"
#include "core/rng.h"

static void test_crc32_matches_rom_variant(void **state)
{
	(void)state;
	uint8_t zeros[32] = {0};
	/* The vectors README: 32 zero bytes give 0xFFFFFFFF under zlib.crc32(data, 0xFFFFFFFF). */
	assert_int_equal(checksum_crc32_esp(zeros, sizeof zeros), 0xFFFFFFFFu);
	/* Plain CRC-32 of "123456789" is 0xCBF43926; Python zlib.crc32(b"123456789", 0xFFFFFFFF) gives 0xD202D277. */
	assert_int_equal(checksum_crc32_esp("123456789", 9), 0xD202D277u);
}

static void test_hex_round_trip(void **state)
{
	(void)state;
	const uint8_t data[] = {0x00, 0x7f, 0xa5, 0xff};
	char text[9];
	hex_encode_bytes(data, sizeof data, text);
	assert_string_equal(text, "007fa5ff");
	buf_t b = BUF_INIT;
	err_t e = {0};
	assert_int_equal(hex_decode_string("0x007FA5ff", &b, &e), 0);
	testutil_assert_bytes_equal("hex", b.data, b.len, data, sizeof data);
	b.len = 0;
	assert_int_equal(hex_decode_string("0g", &b, &e), -1);
	assert_non_null(strstr(e.msg, "'g'"));
	assert_int_equal(hex_decode_string("abc", &b, &e), -1);
	buf_free_data(&b);
}

static void test_base64_round_trip(void **state)
{
	(void)state;
	buf_t b = BUF_INIT, d = BUF_INIT;
	err_t e = {0};
	hex_encode_base64((const uint8_t *)"SPAKE2P Key Salt", 16, &b);
	assert_string_equal((char *)b.data, "U1BBS0UyUCBLZXkgU2FsdA==");
	assert_int_equal(hex_decode_base64((char *)b.data, &d, &e), 0);
	testutil_assert_bytes_equal("b64", d.data, d.len, (const uint8_t *)"SPAKE2P Key Salt", 16);
	assert_int_equal(hex_decode_base64("!!!!", &d, &e), -1);
	buf_free_data(&b);
	buf_free_data(&d);
}

static void test_atomic_write_mode_and_content(void **state)
{
	(void)state;
	char *dir = testutil_make_tmpdir();
	char *sub = testutil_join_path(dir, "a/b");
	err_t e = {0};
	assert_int_equal(fileio_make_dirs(sub, 0700, &e), 0);
	char *path = testutil_join_path(sub, "key.bin");
	mode_t old = umask(0);
	assert_int_equal(fileio_write_atomic(path, "secret", 6, FILEIO_MODE_SECRET, &e), 0);
	umask(old);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	buf_t b = BUF_INIT;
	assert_int_equal(fileio_read_file(path, &b, &e), 0);
	testutil_assert_bytes_equal("content", b.data, b.len, (const uint8_t *)"secret", 6);
	buf_wipe_data(&b);
	assert_int_equal(fileio_read_file(sub, &b, &e), -1);
	assert_non_null(strstr(e.msg, "directory"));
	char *missing = testutil_join_path(dir, "nope/x.bin");
	assert_int_equal(fileio_write_atomic(missing, "x", 1, 0644, &e), -1);
	assert_non_null(strstr(e.msg, missing));
	testutil_remove_tree(dir);
	free(missing);
	free(path);
	free(sub);
	free(dir);
}

static void test_rng_differs(void **state)
{
	(void)state;
	uint8_t a[32], b[32];
	assert_int_equal(rng_fill_bytes(a, sizeof a), 0);
	assert_int_equal(rng_fill_bytes(b, sizeof b), 0);
	assert_memory_not_equal(a, b, sizeof a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crc32_matches_rom_variant),
		cmocka_unit_test(test_hex_round_trip),
		cmocka_unit_test(test_base64_round_trip),
		cmocka_unit_test(test_atomic_write_mode_and_content),
		cmocka_unit_test(test_rng_differs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
