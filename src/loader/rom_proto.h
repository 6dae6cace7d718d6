/* rom_proto: packets of the Espressif ROM serial bootloader (rom-protocol.md §2-§6): opcodes,
 * request and response layout, the data checksum, status/error codes and their meaning for a
 * technician. Pure encoding/decoding without I/O, shared by the host client and the simulator. */
#ifndef ESPFAB_LOADER_ROM_PROTO_H
#define ESPFAB_LOADER_ROM_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

enum rom_opcode {
	ROM_OP_FLASH_BEGIN = 0x02,
	ROM_OP_FLASH_DATA = 0x03,
	ROM_OP_FLASH_END = 0x04,
	ROM_OP_MEM_BEGIN = 0x05,
	ROM_OP_MEM_END = 0x06,
	ROM_OP_MEM_DATA = 0x07,
	ROM_OP_SYNC = 0x08,
	ROM_OP_WRITE_REG = 0x09,
	ROM_OP_READ_REG = 0x0A,
	ROM_OP_SPI_SET_PARAMS = 0x0B,
	ROM_OP_SPI_ATTACH = 0x0D,
	ROM_OP_READ_FLASH_SLOW = 0x0E,
	ROM_OP_CHANGE_BAUDRATE = 0x0F,
	ROM_OP_FLASH_DEFL_BEGIN = 0x10,
	ROM_OP_FLASH_DEFL_DATA = 0x11,
	ROM_OP_FLASH_DEFL_END = 0x12,
	ROM_OP_SPI_FLASH_MD5 = 0x13,
	ROM_OP_GET_SECURITY_INFO = 0x14,
	/* stub-only commands: every ROM rejects them */
	ROM_OP_ERASE_FLASH = 0xD0,
	ROM_OP_ERASE_REGION = 0xD1,
	ROM_OP_READ_FLASH = 0xD2,
	ROM_OP_RUN_USER_CODE = 0xD3,
};

#define ROM_DIR_REQUEST 0x00
#define ROM_DIR_RESPONSE 0x01
#define ROM_HEADER_LEN 8
/* ROM replies end with 4 status bytes [status][error][0][0]; the stub's with 2. */
#define ROM_STATUS_LEN_ROM 4
#define ROM_STATUS_LEN_STUB 2
#define ROM_CHECKSUM_SEED 0xEF

#define ROM_SYNC_DATA_LEN 36
/* further identical replies the ROM sends to one SYNC (esptool reads seven after the first) */
#define ROM_SYNC_ECHOES 7
#define ROM_FLASH_BLOCK_SIZE 0x400   /* FLASH_DATA / FLASH_DEFL_DATA block, ROM loader */
#define ROM_FLASH_SECTOR_SIZE 0x1000 /* erase unit; ROM writes start on a sector */
#define ROM_READ_SLOW_MAX 64         /* READ_FLASH_SLOW: at most 64 bytes per request */
#define ROM_MD5_HEX_LEN 32           /* ROM MD5 reply: 32 ASCII hex chars */
#define ROM_SECINFO_LEN 20           /* GET_SECURITY_INFO payload; S2 ROM: 12 */
#define ROM_SECINFO_LEN_S2 12

/* ROM error byte (status = 1). */
enum rom_error {
	ROM_ERR_UNDEFINED = 0x00,
	ROM_ERR_INVALID_PARAM = 0x01,
	ROM_ERR_MALLOC = 0x02,
	ROM_ERR_SEND = 0x03,
	ROM_ERR_RECEIVE = 0x04,
	ROM_ERR_BAD_MESSAGE = 0x05, /* malformed message, also "unknown command" */
	ROM_ERR_FAILED = 0x06,
	ROM_ERR_CHECKSUM = 0x07,
	ROM_ERR_FLASH_WRITE = 0x08,
	ROM_ERR_FLASH_READ = 0x09,
	ROM_ERR_FLASH_READ_LEN = 0x0A,
	ROM_ERR_DEFLATE = 0x0B,
	ROM_ERR_DEFLATE_ADLER = 0x0C,
	ROM_ERR_DEFLATE_PARAM = 0x0D,
	ROM_ERR_RAM_SIZE = 0x0E,
	ROM_ERR_RAM_ADDR = 0x0F,
	ROM_ERR_PARAM = 0x64,
	ROM_ERR_FORMAT = 0x65,
	ROM_ERR_DESC_TOO_LONG = 0x66,
	ROM_ERR_BAD_ENCODING = 0x67,
	ROM_ERR_NO_STORAGE = 0x69,
};

/* GET_SECURITY_INFO flag bits (rom-protocol.md §5.11). */
#define ROM_SECFLAG_SECURE_BOOT_EN (1u << 0)
#define ROM_SECFLAG_SECURE_BOOT_AGGRESSIVE_REVOKE (1u << 1)
#define ROM_SECFLAG_SECURE_DOWNLOAD_ENABLE (1u << 2)
#define ROM_SECFLAG_SECURE_BOOT_KEY_REVOKE0 (1u << 3)
#define ROM_SECFLAG_SECURE_BOOT_KEY_REVOKE1 (1u << 4)
#define ROM_SECFLAG_SECURE_BOOT_KEY_REVOKE2 (1u << 5)
#define ROM_SECFLAG_SOFT_DIS_JTAG (1u << 6)
#define ROM_SECFLAG_HARD_DIS_JTAG (1u << 7)
#define ROM_SECFLAG_DIS_USB (1u << 8)
#define ROM_SECFLAG_DIS_DOWNLOAD_DCACHE (1u << 9)
#define ROM_SECFLAG_DIS_DOWNLOAD_ICACHE (1u << 10)

/* A decoded request (host → chip). data points into the parsed frame. */
struct rom_request {
	uint8_t op;
	uint16_t data_len;
	uint32_t checksum;
	const uint8_t *data;
};

/* A decoded response (chip → host). payload is the command-specific part before the status
 * bytes; status/error are the first two status bytes. Pointers point into the parsed frame. */
struct rom_response {
	uint8_t op;
	uint16_t data_len;
	uint32_t value;
	const uint8_t *payload;
	size_t payload_len;
	uint8_t status;
	uint8_t error;
};

/* GET_SECURITY_INFO payload, decoded. has_chip_id is false for the 12-byte (S2) form. */
struct rom_security_info {
	uint32_t flags;
	uint8_t flash_crypt_cnt;
	uint8_t key_purposes[7];
	bool has_chip_id;
	uint32_t chip_id;
	uint32_t api_version;
};

/* 0xEF XORed with every byte of data (the payload of *_DATA commands, not its 16-byte header). */
uint8_t rom_proto_checksum(const uint8_t *data, size_t len);

/* Appends an unframed request packet (header + data) to out. */
void rom_proto_encode_request(buf_t *out, uint8_t op, const uint8_t *data, size_t len,
			      uint32_t checksum);
/* Appends an unframed ROM response packet: header, payload, then the 4 ROM status bytes. */
void rom_proto_encode_response(buf_t *out, uint8_t op, uint32_t value, const uint8_t *payload,
			       size_t payload_len, uint8_t status, uint8_t error);

/* Decode one unframed packet. Return 0, or -1 when the frame is not a well-formed packet of that
 * direction (too short, wrong direction byte, length field disagreeing with the frame): such
 * frames are noise to be skipped, not errors. status_len is ROM_STATUS_LEN_ROM or _STUB. */
int rom_proto_parse_request(const uint8_t *frame, size_t len, struct rom_request *req);
int rom_proto_parse_response(const uint8_t *frame, size_t len, size_t status_len,
			     struct rom_response *resp);
/* True when a response is the ROM's "I do not know this command" answer. */
bool rom_proto_is_unsupported(const struct rom_response *resp, uint8_t requested_op);

/* Builders for request data (the simulator parses the same layouts with rom_proto_get_u32). */
void rom_proto_build_sync(buf_t *out);
/* FLASH_BEGIN / FLASH_DEFL_BEGIN / MEM_BEGIN data; with_encrypt_flag adds the 5th word. */
void rom_proto_build_begin(buf_t *out, uint32_t size, uint32_t num_blocks, uint32_t block_size,
			   uint32_t offset, bool with_encrypt_flag, uint32_t encrypt);
/* *_DATA data: 16-byte header (len, seq, 0, 0) then the payload. */
void rom_proto_build_data(buf_t *out, uint32_t seq, const uint8_t *payload, size_t len);
/* One 16-byte WRITE_REG group. */
void rom_proto_build_write_reg(buf_t *out, uint32_t addr, uint32_t value, uint32_t mask,
			       uint32_t delay_us);
void rom_proto_build_u32s(buf_t *out, const uint32_t *words, size_t n);

/* Decodes a 12- or 20-byte GET_SECURITY_INFO payload; -1 for any other length. */
int rom_proto_parse_security_info(const uint8_t *p, size_t len, struct rom_security_info *si);
/* Encodes it (20 bytes, or 12 when !has_chip_id) for the simulator. */
void rom_proto_build_security_info(buf_t *out, const struct rom_security_info *si);

uint32_t rom_proto_get_u32(const uint8_t *p);
void rom_proto_put_u32(uint8_t *p, uint32_t v);

/* Name of an opcode ("FLASH_DATA"), or "0x.." for unknown codes (static buffer-free: returns
 * "UNKNOWN" for those). */
const char *rom_proto_opcode_name(uint8_t op);
/* A sentence a bench technician can act on, for a failed ROM (status 1) or stub (status
 * 0xC0..0xFF) reply. Never NULL. */
const char *rom_proto_describe_error(uint8_t status, uint8_t error);

#endif
