/* Unit tests of src/link/slip: escapes, split frames, garbage between frames, oversized and
 * broken frames. */
#include "testutil.h"

#include <string.h>

#include "link/slip.h"

/* Feeds bytes in chunks of `chunk` and collects every frame yielded, each prefixed by its length
 * byte in `out`, so whole sequences can be compared. Returns the number of frames. */
static int feed_all(slip_decoder_t *d, const uint8_t *in, size_t n, size_t chunk, buf_t *out)
{
	int frames = 0;
	size_t pos = 0;
	while (pos < n) {
		size_t len = n - pos < chunk ? n - pos : chunk;
		size_t off = 0;
		while (off < len) {
			const uint8_t *f;
			size_t fl;
			size_t used = slip_decoder_feed(d, in + pos + off, len - off, &f, &fl);
			assert_true(used > 0);
			off += used;
			if (f) {
				frames++;
				buf_append_byte(out, (uint8_t)fl);
				buf_append_bytes(out, f, fl);
			}
		}
		pos += len;
	}
	return frames;
}

static void test_slip_encode_escapes(void **state)
{
	(void)state;
	const uint8_t data[] = {0x01, 0xC0, 0x02, 0xDB, 0x03};
	const uint8_t want[] = {0xC0, 0x01, 0xDB, 0xDC, 0x02, 0xDB, 0xDD, 0x03, 0xC0};
	buf_t b = BUF_INIT;
	slip_encode_frame(&b, data, sizeof data);
	testutil_assert_bytes_equal("slip", b.data, b.len, want, sizeof want);
	buf_free_data(&b);
}

static void test_slip_round_trip_every_chunk_size(void **state)
{
	(void)state;
	uint8_t payload[300];
	for (size_t i = 0; i < sizeof payload; i++)
		payload[i] = (uint8_t)(i * 37); /* includes 0xC0 and 0xDB */
	buf_t wire = BUF_INIT;
	slip_encode_frame(&wire, payload, 100);
	slip_encode_frame(&wire, payload + 100, 200);
	for (size_t chunk = 1; chunk <= wire.len; chunk += (chunk < 20 ? 1 : 37)) {
		slip_decoder_t d;
		slip_decoder_init(&d, 512);
		buf_t got = BUF_INIT;
		assert_int_equal(feed_all(&d, wire.data, wire.len, chunk, &got), 2);
		assert_int_equal(got.len, 302);
		assert_int_equal(got.data[0], 100);
		testutil_assert_bytes_equal("frame1", got.data + 1, 100, payload, 100);
		assert_int_equal(got.data[101], 200);
		testutil_assert_bytes_equal("frame2", got.data + 102, 200, payload + 100, 200);
		buf_free_data(&got);
		slip_decoder_free(&d);
	}
	buf_free_data(&wire);
}

static void test_slip_garbage_is_noise(void **state)
{
	(void)state;
	buf_t wire = BUF_INIT;
	buf_append_str(&wire, "ets Jun  8 2016 00:22:57\r\nwaiting for download\r\n");
	const uint8_t p[] = {1, 2, 3};
	slip_encode_frame(&wire, p, 3);
	buf_append_str(&wire, "xyz");
	slip_encode_frame(&wire, p, 2);
	slip_decoder_t d;
	slip_decoder_init(&d, 64);
	buf_t got = BUF_INIT;
	assert_int_equal(feed_all(&d, wire.data, wire.len, 7, &got), 2);
	const uint8_t want[] = {3, 1, 2, 3, 2, 1, 2};
	testutil_assert_bytes_equal("frames", got.data, got.len, want, sizeof want);
	char text[600];
	slip_decoder_noise_text(&d, text, sizeof text);
	assert_non_null(strstr(text, "waiting for download"));
	assert_non_null(strstr(text, "xyz"));
	buf_free_data(&got);
	buf_free_data(&wire);
	slip_decoder_free(&d);
}

static void test_slip_oversized_frame_dropped(void **state)
{
	(void)state;
	uint8_t big[100];
	memset(big, 0x11, sizeof big);
	const uint8_t small[] = {9, 8, 7};
	buf_t wire = BUF_INIT;
	slip_encode_frame(&wire, big, sizeof big);
	slip_encode_frame(&wire, small, sizeof small);
	slip_decoder_t d;
	slip_decoder_init(&d, 32);
	buf_t got = BUF_INIT;
	assert_int_equal(feed_all(&d, wire.data, wire.len, 5, &got), 1);
	const uint8_t want[] = {3, 9, 8, 7};
	testutil_assert_bytes_equal("frames", got.data, got.len, want, sizeof want);
	assert_int_equal(d.frames_oversized, 1);
	/* exactly at the bound is accepted */
	buf_t w2 = BUF_INIT;
	slip_encode_frame(&w2, big, 32);
	got.len = 0;
	assert_int_equal(feed_all(&d, w2.data, w2.len, 64, &got), 1);
	assert_int_equal(got.data[0], 32);
	buf_free_data(&w2);
	buf_free_data(&got);
	buf_free_data(&wire);
	slip_decoder_free(&d);
}

static void test_slip_bad_escape_and_lost_delimiter(void **state)
{
	(void)state;
	/* frame with DB 41 (invalid escape), then a good frame */
	const uint8_t wire[] = {0xC0, 1, 0xDB, 0x41, 2, 0xC0, 0xC0, 5, 6, 0xC0,
				/* escape right before a delimiter, then good frame */
				0xC0, 7, 0xDB, 0xC0, 8, 9, 0xC0};
	slip_decoder_t d;
	slip_decoder_init(&d, 64);
	buf_t got = BUF_INIT;
	assert_int_equal(feed_all(&d, wire, sizeof wire, 3, &got), 2);
	const uint8_t want[] = {2, 5, 6, 2, 8, 9};
	testutil_assert_bytes_equal("frames", got.data, got.len, want, sizeof want);
	assert_int_equal(d.frames_bad_escape, 2);
	buf_free_data(&got);
	slip_decoder_free(&d);
}

static void test_slip_reset_forgets_partial(void **state)
{
	(void)state;
	const uint8_t part[] = {0xC0, 1, 2};
	const uint8_t rest[] = {0xC0, 3, 0xC0};
	slip_decoder_t d;
	slip_decoder_init(&d, 0);
	buf_t got = BUF_INIT;
	assert_int_equal(feed_all(&d, part, sizeof part, 10, &got), 0);
	slip_decoder_reset(&d);
	assert_int_equal(feed_all(&d, rest, sizeof rest, 10, &got), 1);
	const uint8_t want[] = {1, 3};
	testutil_assert_bytes_equal("frames", got.data, got.len, want, sizeof want);
	buf_free_data(&got);
	slip_decoder_free(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_slip_encode_escapes),
		cmocka_unit_test(test_slip_round_trip_every_chunk_size),
		cmocka_unit_test(test_slip_garbage_is_noise),
		cmocka_unit_test(test_slip_oversized_frame_dropped),
		cmocka_unit_test(test_slip_bad_escape_and_lost_delimiter),
		cmocka_unit_test(test_slip_reset_forgets_partial),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
