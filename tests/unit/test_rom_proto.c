/* Unit tests of src/loader/rom_proto: request/response layout (rom-protocol.md §2), checksum,
 * security-info decoding and error descriptions. */
#include "testutil.h"

#include <string.h>

#include "loader/rom_proto.h"

static void test_request_layout(void **state)
{
	(void)state;
	buf_t data = BUF_INIT, pkt = BUF_INIT;
	const uint8_t payload[] = {0xAA, 0xBB, 0xCC};
	rom_proto_build_data(&data, 7, payload, sizeof payload);
	uint8_t ck = rom_proto_checksum(payload, sizeof payload);
	assert_int_equal(ck, 0xEF ^ 0xAA ^ 0xBB ^ 0xCC);
	rom_proto_encode_request(&pkt, ROM_OP_FLASH_DATA, data.data, data.len, ck);
	const uint8_t want[] = {0x00, 0x03, 19, 0, ck, 0, 0, 0, 3, 0, 0, 0, 7, 0, 0, 0,
				0,    0,    0,  0, 0,  0, 0, 0, 0xAA, 0xBB, 0xCC};
	testutil_assert_bytes_equal("request", pkt.data, pkt.len, want, sizeof want);
	struct rom_request req;
	assert_int_equal(rom_proto_parse_request(pkt.data, pkt.len, &req), 0);
	assert_int_equal(req.op, ROM_OP_FLASH_DATA);
	assert_int_equal(req.data_len, 19);
	assert_int_equal(req.checksum, ck);
	assert_int_equal(rom_proto_get_u32(req.data + 4), 7);
	/* truncated and wrong-direction packets are not requests */
	assert_int_equal(rom_proto_parse_request(pkt.data, pkt.len - 1, &req), -1);
	pkt.data[0] = 1;
	assert_int_equal(rom_proto_parse_request(pkt.data, pkt.len, &req), -1);
	buf_free_data(&data);
	buf_free_data(&pkt);
}

static void test_sync_payload(void **state)
{
	(void)state;
	buf_t b = BUF_INIT;
	rom_proto_build_sync(&b);
	assert_int_equal(b.len, ROM_SYNC_DATA_LEN);
	assert_memory_equal(b.data, "\x07\x07\x12\x20", 4);
	for (size_t i = 4; i < b.len; i++)
		assert_int_equal(b.data[i], 0x55);
	buf_free_data(&b);
}

static void test_response_parse(void **state)
{
	(void)state;
	/* READ_REG reply from a ROM: value in the header, 4 status bytes */
	const uint8_t rr[] = {0x01, 0x0A, 4, 0, 0x83, 0x1D, 0xF0, 0x00, 0, 0, 0, 0};
	struct rom_response r;
	assert_int_equal(rom_proto_parse_response(rr, sizeof rr, ROM_STATUS_LEN_ROM, &r), 0);
	assert_int_equal(r.op, ROM_OP_READ_REG);
	assert_int_equal(r.value, 0x00F01D83);
	assert_int_equal(r.payload_len, 0);
	assert_int_equal(r.status, 0);
	/* MD5 reply: 32 hex chars then status; failure status with error 7 */
	buf_t b = BUF_INIT;
	rom_proto_encode_response(&b, ROM_OP_SPI_FLASH_MD5, 0,
				  (const uint8_t *)"0123456789abcdef0123456789abcdef", 32, 1, 7);
	assert_int_equal(b.len, 8 + 32 + 4);
	assert_int_equal(b.data[2], 36);
	assert_int_equal(rom_proto_parse_response(b.data, b.len, ROM_STATUS_LEN_ROM, &r), 0);
	assert_int_equal(r.payload_len, 32);
	assert_memory_equal(r.payload, "0123456789abcdef", 16);
	assert_int_equal(r.status, 1);
	assert_int_equal(r.error, 7);
	assert_false(rom_proto_is_unsupported(&r, ROM_OP_SPI_FLASH_MD5));
	/* stub-style 2-byte status on the same bytes gives a 34-byte payload */
	assert_int_equal(rom_proto_parse_response(b.data, b.len, ROM_STATUS_LEN_STUB, &r), 0);
	assert_int_equal(r.payload_len, 34);
	/* length field disagreeing with the frame: rejected */
	b.data[2] = 35;
	assert_int_equal(rom_proto_parse_response(b.data, b.len, ROM_STATUS_LEN_ROM, &r), -1);
	/* too short, or a request */
	assert_int_equal(rom_proto_parse_response(rr, 7, ROM_STATUS_LEN_ROM, &r), -1);
	const uint8_t req[] = {0x00, 0x0A, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0};
	assert_int_equal(rom_proto_parse_response(req, sizeof req, ROM_STATUS_LEN_ROM, &r), -1);
	/* the ROM's "unknown command" reply */
	const uint8_t rej[] = {0x01, 0x14, 4, 0, 0, 0, 0, 0, 1, 5, 0, 0};
	assert_int_equal(rom_proto_parse_response(rej, sizeof rej, ROM_STATUS_LEN_ROM, &r), 0);
	assert_true(rom_proto_is_unsupported(&r, ROM_OP_GET_SECURITY_INFO));
	buf_free_data(&b);
}

static void test_security_info(void **state)
{
	(void)state;
	const uint8_t p20[20] = {0x05, 0x01, 0, 0, 0x01, 4, 7, 0, 0, 0, 0, 0, 16, 0, 0, 0, 3, 0, 0, 0};
	struct rom_security_info si;
	assert_int_equal(rom_proto_parse_security_info(p20, 20, &si), 0);
	assert_int_equal(si.flags, 0x105);
	assert_true(si.flags & ROM_SECFLAG_SECURE_DOWNLOAD_ENABLE);
	assert_true(si.flags & ROM_SECFLAG_DIS_USB);
	assert_int_equal(si.flash_crypt_cnt, 1);
	assert_int_equal(si.key_purposes[0], 4);
	assert_int_equal(si.key_purposes[1], 7);
	assert_true(si.has_chip_id);
	assert_int_equal(si.chip_id, 16);
	assert_int_equal(si.api_version, 3);
	buf_t b = BUF_INIT;
	rom_proto_build_security_info(&b, &si);
	testutil_assert_bytes_equal("secinfo", b.data, b.len, p20, 20);
	assert_int_equal(rom_proto_parse_security_info(p20, 12, &si), 0);
	assert_false(si.has_chip_id);
	assert_int_equal(rom_proto_parse_security_info(p20, 16, &si), -1);
	buf_free_data(&b);
}

static void test_begin_and_write_reg(void **state)
{
	(void)state;
	buf_t b = BUF_INIT;
	rom_proto_build_begin(&b, 0x2000, 8, 0x400, 0x10000, false, 0);
	assert_int_equal(b.len, 16);
	assert_int_equal(rom_proto_get_u32(b.data + 12), 0x10000);
	b.len = 0;
	rom_proto_build_begin(&b, 0x2000, 8, 0x400, 0x10000, true, 1);
	assert_int_equal(b.len, 20);
	assert_int_equal(rom_proto_get_u32(b.data + 16), 1);
	b.len = 0;
	rom_proto_build_write_reg(&b, 0x60008800, 0x12345678, 0xFFFFFFFF, 1000);
	const uint8_t want[] = {0x00, 0x88, 0x00, 0x60, 0x78, 0x56, 0x34, 0x12,
				0xFF, 0xFF, 0xFF, 0xFF, 0xE8, 0x03, 0x00, 0x00};
	testutil_assert_bytes_equal("write_reg", b.data, b.len, want, sizeof want);
	buf_free_data(&b);
}

static void test_error_messages(void **state)
{
	(void)state;
	assert_non_null(strstr(rom_proto_describe_error(1, 0x07), "checksum"));
	assert_non_null(strstr(rom_proto_describe_error(1, 0x08), "flash write"));
	assert_non_null(strstr(rom_proto_describe_error(1, 0x05), "does not accept"));
	assert_non_null(strstr(rom_proto_describe_error(0xC1, 0), "checksum"));
	assert_non_null(strstr(rom_proto_describe_error(1, 0x42), "unknown"));
	assert_string_equal(rom_proto_opcode_name(ROM_OP_SPI_FLASH_MD5), "SPI_FLASH_MD5");
	assert_string_equal(rom_proto_opcode_name(0x77), "UNKNOWN");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_request_layout),
		cmocka_unit_test(test_sync_payload),
		cmocka_unit_test(test_response_parse),
		cmocka_unit_test(test_security_info),
		cmocka_unit_test(test_begin_and_write_reg),
		cmocka_unit_test(test_error_messages),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
