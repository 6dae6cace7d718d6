/* Regression: buf_reserve_bytes moves a growing buffer to a new block and wipes the old one
 * (keys must not stay behind in freed heap memory). Growing must still keep every byte of the
 * old allocation, as realloc did: the contents, and bytes written past len before the length is
 * bumped (fileio_read_file and buf_terminate_str rely on that). */
#include "testutil.h"

#include <string.h>

#include "core/buf.h"

static void test_growth_keeps_contents(void **state)
{
	(void)state;
	buf_t b = BUF_INIT;
	uint8_t pattern[5000];

	for (size_t i = 0; i < sizeof pattern; i++)
		pattern[i] = (uint8_t)(i * 131 + 7);
	/* one byte at a time crosses every doubling from 64 up */
	for (size_t i = 0; i < sizeof pattern; i++)
		buf_append_byte(&b, pattern[i]);
	testutil_assert_bytes_equal("grown buffer", b.data, b.len, pattern, sizeof pattern);
	buf_wipe_data(&b);
	assert_null(b.data);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.cap, 0);
}

static void test_growth_keeps_bytes_past_len(void **state)
{
	(void)state;
	buf_t b = BUF_INIT;

	buf_append_str(&b, "secret");
	buf_terminate_str(&b);
	/* bytes written into the reserve, then the buffer grows before len covers them */
	buf_reserve_bytes(&b, 10);
	memcpy(b.data + b.len, "0123456789", 10);
	size_t old_cap = b.cap;
	buf_reserve_bytes(&b, old_cap * 4);
	assert_true(b.cap > old_cap);
	assert_memory_equal(b.data, "secret0123456789", 16);
	b.len += 10;
	assert_string_equal(buf_terminate_str(&b), "secret0123456789");
	buf_wipe_data(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_growth_keeps_contents),
		cmocka_unit_test(test_growth_keeps_bytes_past_len),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
