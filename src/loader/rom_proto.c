/* rom_proto: ROM bootloader packet encoding and decoding (see rom_proto.h). */
#include "loader/rom_proto.h"

#include <string.h>

uint32_t rom_proto_get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

void rom_proto_put_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

uint8_t rom_proto_checksum(const uint8_t *data, size_t len)
{
	uint8_t c = ROM_CHECKSUM_SEED;
	for (size_t i = 0; i < len; i++)
		c ^= data[i];
	return c;
}

void rom_proto_encode_request(buf_t *out, uint8_t op, const uint8_t *data, size_t len,
			      uint32_t checksum)
{
	buf_append_byte(out, ROM_DIR_REQUEST);
	buf_append_byte(out, op);
	buf_append_u16le(out, (uint16_t)len);
	buf_append_u32le(out, checksum);
	if (len)
		buf_append_bytes(out, data, len);
}

void rom_proto_encode_response(buf_t *out, uint8_t op, uint32_t value, const uint8_t *payload,
			       size_t payload_len, uint8_t status, uint8_t error)
{
	buf_append_byte(out, ROM_DIR_RESPONSE);
	buf_append_byte(out, op);
	buf_append_u16le(out, (uint16_t)(payload_len + ROM_STATUS_LEN_ROM));
	buf_append_u32le(out, value);
	if (payload_len)
		buf_append_bytes(out, payload, payload_len);
	buf_append_byte(out, status);
	buf_append_byte(out, error);
	buf_append_byte(out, 0);
	buf_append_byte(out, 0);
}

int rom_proto_parse_request(const uint8_t *frame, size_t len, struct rom_request *req)
{
	if (len < ROM_HEADER_LEN || frame[0] != ROM_DIR_REQUEST)
		return -1;
	uint16_t dlen = (uint16_t)(frame[2] | frame[3] << 8);
	if ((size_t)dlen != len - ROM_HEADER_LEN)
		return -1;
	req->op = frame[1];
	req->data_len = dlen;
	req->checksum = rom_proto_get_u32(frame + 4);
	req->data = frame + ROM_HEADER_LEN;
	return 0;
}

int rom_proto_parse_response(const uint8_t *frame, size_t len, size_t status_len,
			     struct rom_response *resp)
{
	if (len < ROM_HEADER_LEN || frame[0] != ROM_DIR_RESPONSE)
		return -1;
	uint16_t dlen = (uint16_t)(frame[2] | frame[3] << 8);
	/* esptool trusts the frame length rather than the field; a disagreement means a corrupted
	 * frame, which we would rather drop and retry. */
	if ((size_t)dlen != len - ROM_HEADER_LEN || dlen < status_len)
		return -1;
	resp->op = frame[1];
	resp->data_len = dlen;
	resp->value = rom_proto_get_u32(frame + 4);
	resp->payload = frame + ROM_HEADER_LEN;
	resp->payload_len = dlen - status_len;
	resp->status = frame[ROM_HEADER_LEN + resp->payload_len];
	resp->error = frame[ROM_HEADER_LEN + resp->payload_len + 1];
	return 0;
}

bool rom_proto_is_unsupported(const struct rom_response *resp, uint8_t requested_op)
{
	(void)requested_op;
	return resp->status != 0 && resp->error == ROM_ERR_BAD_MESSAGE;
}

void rom_proto_build_sync(buf_t *out)
{
	static const uint8_t head[4] = {0x07, 0x07, 0x12, 0x20};
	buf_append_bytes(out, head, sizeof(head));
	buf_append_fill(out, 0x55, 32);
}

void rom_proto_build_begin(buf_t *out, uint32_t size, uint32_t num_blocks, uint32_t block_size,
			   uint32_t offset, bool with_encrypt_flag, uint32_t encrypt)
{
	buf_append_u32le(out, size);
	buf_append_u32le(out, num_blocks);
	buf_append_u32le(out, block_size);
	buf_append_u32le(out, offset);
	if (with_encrypt_flag)
		buf_append_u32le(out, encrypt);
}

void rom_proto_build_data(buf_t *out, uint32_t seq, const uint8_t *payload, size_t len)
{
	buf_append_u32le(out, (uint32_t)len);
	buf_append_u32le(out, seq);
	buf_append_u32le(out, 0);
	buf_append_u32le(out, 0);
	if (len)
		buf_append_bytes(out, payload, len);
}

void rom_proto_build_write_reg(buf_t *out, uint32_t addr, uint32_t value, uint32_t mask,
			       uint32_t delay_us)
{
	buf_append_u32le(out, addr);
	buf_append_u32le(out, value);
	buf_append_u32le(out, mask);
	buf_append_u32le(out, delay_us);
}

void rom_proto_build_u32s(buf_t *out, const uint32_t *words, size_t n)
{
	for (size_t i = 0; i < n; i++)
		buf_append_u32le(out, words[i]);
}

int rom_proto_parse_security_info(const uint8_t *p, size_t len, struct rom_security_info *si)
{
	memset(si, 0, sizeof(*si));
	if (len != ROM_SECINFO_LEN && len != ROM_SECINFO_LEN_S2)
		return -1;
	si->flags = rom_proto_get_u32(p);
	si->flash_crypt_cnt = p[4];
	memcpy(si->key_purposes, p + 5, 7);
	if (len == ROM_SECINFO_LEN) {
		si->has_chip_id = true;
		si->chip_id = rom_proto_get_u32(p + 12);
		si->api_version = rom_proto_get_u32(p + 16);
	}
	return 0;
}

void rom_proto_build_security_info(buf_t *out, const struct rom_security_info *si)
{
	buf_append_u32le(out, si->flags);
	buf_append_byte(out, si->flash_crypt_cnt);
	buf_append_bytes(out, si->key_purposes, 7);
	if (si->has_chip_id) {
		buf_append_u32le(out, si->chip_id);
		buf_append_u32le(out, si->api_version);
	}
}

const char *rom_proto_opcode_name(uint8_t op)
{
	switch (op) {
	case ROM_OP_FLASH_BEGIN: return "FLASH_BEGIN";
	case ROM_OP_FLASH_DATA: return "FLASH_DATA";
	case ROM_OP_FLASH_END: return "FLASH_END";
	case ROM_OP_MEM_BEGIN: return "MEM_BEGIN";
	case ROM_OP_MEM_END: return "MEM_END";
	case ROM_OP_MEM_DATA: return "MEM_DATA";
	case ROM_OP_SYNC: return "SYNC";
	case ROM_OP_WRITE_REG: return "WRITE_REG";
	case ROM_OP_READ_REG: return "READ_REG";
	case ROM_OP_SPI_SET_PARAMS: return "SPI_SET_PARAMS";
	case ROM_OP_SPI_ATTACH: return "SPI_ATTACH";
	case ROM_OP_READ_FLASH_SLOW: return "READ_FLASH_SLOW";
	case ROM_OP_CHANGE_BAUDRATE: return "CHANGE_BAUDRATE";
	case ROM_OP_FLASH_DEFL_BEGIN: return "FLASH_DEFL_BEGIN";
	case ROM_OP_FLASH_DEFL_DATA: return "FLASH_DEFL_DATA";
	case ROM_OP_FLASH_DEFL_END: return "FLASH_DEFL_END";
	case ROM_OP_SPI_FLASH_MD5: return "SPI_FLASH_MD5";
	case ROM_OP_GET_SECURITY_INFO: return "GET_SECURITY_INFO";
	case ROM_OP_ERASE_FLASH: return "ERASE_FLASH";
	case ROM_OP_ERASE_REGION: return "ERASE_REGION";
	case ROM_OP_READ_FLASH: return "READ_FLASH";
	case ROM_OP_RUN_USER_CODE: return "RUN_USER_CODE";
	default: return "UNKNOWN";
	}
}

static const char *rom_describe_rom_error(uint8_t error)
{
	switch (error) {
	case ROM_ERR_UNDEFINED: return "the bootloader reported an undefined failure (0x00)";
	case ROM_ERR_INVALID_PARAM: return "the bootloader rejected a parameter (0x01: address or size out of range)";
	case ROM_ERR_MALLOC: return "the bootloader ran out of memory (0x02)";
	case ROM_ERR_SEND: return "the bootloader could not send its reply (0x03)";
	case ROM_ERR_RECEIVE: return "the bootloader did not receive the whole command (0x04: bytes lost on the cable?)";
	case ROM_ERR_BAD_MESSAGE: return "the bootloader does not accept this command (0x05: unsupported here, or refused in Secure Download Mode)";
	case ROM_ERR_FAILED: return "the command was understood but the operation failed (0x06)";
	case ROM_ERR_CHECKSUM: return "data checksum mismatch (0x07: bytes corrupted on the cable; the block is resent)";
	case ROM_ERR_FLASH_WRITE: return "flash write failed: the chip read back different data (0x08: flash worn, write-protected, or bad power)";
	case ROM_ERR_FLASH_READ: return "flash read failed (0x09: flash not answering; check the module)";
	case ROM_ERR_FLASH_READ_LEN: return "flash read length rejected (0x0A)";
	case ROM_ERR_DEFLATE: return "the chip could not decompress the data (0x0B: stream corrupted)";
	case ROM_ERR_DEFLATE_ADLER: return "decompressed data checksum mismatch (0x0C: stream corrupted)";
	case ROM_ERR_DEFLATE_PARAM: return "compressed download rejected (0x0D: bad parameters)";
	case ROM_ERR_RAM_SIZE: return "RAM download size rejected (0x0E)";
	case ROM_ERR_RAM_ADDR: return "RAM download address rejected (0x0F)";
	case ROM_ERR_PARAM: return "invalid parameter (0x64)";
	case ROM_ERR_FORMAT: return "invalid format (0x65)";
	case ROM_ERR_DESC_TOO_LONG: return "description too long (0x66)";
	case ROM_ERR_BAD_ENCODING: return "bad encoding description (0x67)";
	case ROM_ERR_NO_STORAGE: return "insufficient storage on the chip (0x69)";
	default: return "the bootloader reported an unknown error code";
	}
}

const char *rom_proto_describe_error(uint8_t status, uint8_t error)
{
	switch (status) {
	case 0x00: return "success";
	case 0x01: return rom_describe_rom_error(error);
	case 0xC0: return "flasher stub: bad data length (0xC000)";
	case 0xC1: return "flasher stub: data checksum mismatch (0xC100: bytes corrupted on the cable)";
	case 0xC2: return "flasher stub: bad block size (0xC200)";
	case 0xC3: return "flasher stub: invalid command (0xC300)";
	case 0xC4: return "flasher stub: SPI flash operation failed (0xC400: check the flash chip)";
	case 0xC5: return "flasher stub: could not unlock the flash (0xC500: flash write-protected?)";
	case 0xC6: return "flasher stub: not in flash mode (0xC600: FLASH_BEGIN missing)";
	case 0xC7: return "flasher stub: decompression failed (0xC700: stream corrupted)";
	case 0xC8: return "flasher stub: not enough data (0xC800)";
	case 0xC9: return "flasher stub: too much data (0xC900)";
	case 0xCA: return "flasher stub: NAND program failed (0xCA00)";
	case 0xCB: return "flasher stub: NAND erase failed (0xCB00)";
	case 0xFF: return "flasher stub: command not implemented (0xFF00)";
	default: return "the bootloader returned an unknown status";
	}
}
