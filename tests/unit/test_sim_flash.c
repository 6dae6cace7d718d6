/* Unit tests of the simulator's NOR flash model: erase granularity, AND-only programming, range
 * checks, the timing figures charged, and persistence through the backing file. */
#include "testutil.h"

#include <string.h>
#include <sys/stat.h>

/* The simulator is a program, not part of espfab_lib: its modules are compiled in here. */
#include "sim/sim_flash.c"

static void test_erase_rounds_to_sectors(void **state)
{
	(void)state;
	sim_flash_t f;
	err_t e = {0};
	assert_int_equal(sim_flash_open(&f, NULL, 256 * 1024, &e), 0);
	memset(f.mem, 0x00, f.size);
	/* 1 byte at 0x1FFF and 1 byte at 0x2000 touch two sectors: 0x1000..0x2FFF. */
	int64_t cost = sim_flash_erase(&f, 0x1FFF, 2, &e);
	assert_int_equal(cost, 2 * SIM_FLASH_SECTOR_ERASE_US);
	assert_int_equal(f.mem[0x0FFF], 0x00);
	assert_int_equal(f.mem[0x1000], 0xFF);
	assert_int_equal(f.mem[0x2FFF], 0xFF);
	assert_int_equal(f.mem[0x3000], 0x00);
	/* An aligned 64 KiB run costs one block erase, the rest sectors. */
	cost = sim_flash_erase(&f, 0x10000, 0x11000, &e);
	assert_int_equal(cost, SIM_FLASH_BLOCK_ERASE_US + SIM_FLASH_SECTOR_ERASE_US);
	assert_int_equal(f.mem[0x20FFF], 0xFF);
	assert_int_equal(f.mem[0x21000], 0x00);
	/* Past the end of the part. */
	assert_int_equal(sim_flash_erase(&f, 0x3F000, 0x2000, &e), -1);
	assert_non_null(strstr(e.msg, "outside"));
	sim_flash_close(&f);
}

static void test_program_only_clears_bits(void **state)
{
	(void)state;
	sim_flash_t f;
	err_t e = {0};
	assert_int_equal(sim_flash_open(&f, NULL, 256 * 1024, &e), 0);
	assert_int_equal(f.mem[0], 0xFF); /* a fresh part is erased */
	uint8_t a[2] = {0xF0, 0x0F}, b[2] = {0x3C, 0xFF};
	assert_int_equal(sim_flash_program(&f, 0x100, a, 2, &e), SIM_FLASH_PAGE_PROGRAM_US);
	assert_int_equal(sim_flash_program(&f, 0x100, b, 2, &e), SIM_FLASH_PAGE_PROGRAM_US);
	assert_int_equal(f.mem[0x100], 0x30);
	assert_int_equal(f.mem[0x101], 0x0F);
	/* Crossing a page boundary costs two page programs. */
	assert_int_equal(sim_flash_program(&f, 0x1FF, a, 2, &e), 2 * SIM_FLASH_PAGE_PROGRAM_US);
	assert_int_equal(sim_flash_program(&f, 0x3FFFF, a, 2, &e), -1);
	uint8_t out[2] = {0};
	assert_int_equal(sim_flash_read(&f, 0x100, out, 2, &e), 0);
	assert_int_equal(out[0], 0x30);
	assert_int_equal(sim_flash_read(&f, 0x3FFFF, out, 2, &e), -1);
	sim_flash_close(&f);
}

static void test_jedec_id_and_sizes(void **state)
{
	(void)state;
	sim_flash_t f;
	err_t e = {0};
	assert_int_equal(sim_flash_open(&f, NULL, 0, &e), 0);
	assert_int_equal(f.size, 4u * 1024 * 1024);
	assert_int_equal(sim_flash_jedec_id(&f), 0x1640EFu); /* capacity 0x16 = 4 MB */
	sim_flash_close(&f);
	assert_int_equal(sim_flash_open(&f, NULL, 3 * 1024 * 1024, &e), -1);
	assert_non_null(strstr(e.msg, "power of two"));
	assert_int_equal(sim_flash_md5_cost(1024 * 1024), 1024 * SIM_FLASH_MD5_US_PER_KIB);
}

static void test_file_persistence(void **state)
{
	(void)state;
	char *dir = testutil_make_tmpdir();
	char *path = testutil_join_path(dir, "flash.bin");
	sim_flash_t f;
	err_t e = {0};
	assert_int_equal(sim_flash_open(&f, path, 512 * 1024, &e), 0);
	uint8_t data[4] = {0xDE, 0xAD, 0xBE, 0xEF};
	assert_true(sim_flash_program(&f, 0x8000, data, 4, &e) > 0);
	/* Shared mapping: the bytes are in the file without an explicit save. */
	buf_t raw = BUF_INIT;
	testutil_read_file(path, &raw);
	assert_int_equal(raw.len, 512 * 1024);
	testutil_assert_bytes_equal("flash file", raw.data + 0x8000, 4, data, 4);
	assert_int_equal(raw.data[0], 0xFF);
	buf_free_data(&raw);
	sim_flash_close(&f);

	/* Reopened without a size: takes the file's. A different size is refused. */
	assert_int_equal(sim_flash_open(&f, path, 0, &e), 0);
	assert_int_equal(f.size, 512 * 1024);
	testutil_assert_bytes_equal("reopened", f.mem + 0x8000, 4, data, 4);
	sim_flash_close(&f);
	assert_int_equal(sim_flash_open(&f, path, 1024 * 1024, &e), -1);
	assert_non_null(strstr(e.msg, "--flash-size"));

	free(path);
	testutil_remove_tree(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_erase_rounds_to_sectors),
		cmocka_unit_test(test_program_only_clears_bits),
		cmocka_unit_test(test_jedec_id_and_sizes),
		cmocka_unit_test(test_file_persistence),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
