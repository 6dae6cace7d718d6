#include "core/checksum.h"

#include <zlib.h>

uint32_t checksum_crc32_esp(const void *p, size_t n)
{
	/* zlib inverts the register on entry and exit, so seeding it with 0xFFFFFFFF starts the
	 * reflected CRC from zero, which is what the ROM variant does. */
	uLong crc = 0xFFFFFFFFul;
	const Bytef *b = p;
	while (n) {
		uInt chunk = n > 0x40000000u ? 0x40000000u : (uInt)n;
		crc = crc32(crc, b, chunk);
		b += chunk;
		n -= chunk;
	}
	return (uint32_t)crc;
}

uint32_t checksum_read_u32le(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

uint16_t checksum_read_u16le(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

void checksum_write_u32le(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

void checksum_write_u16le(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}
