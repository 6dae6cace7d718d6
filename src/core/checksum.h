/* checksum: the CRC32 that ESP-IDF formats (NVS, esp_secure_cert, nvs_keys) store: the ROM's
 * esp_rom_crc32_le(0xFFFFFFFF, …), equal to Python's zlib.crc32(data, 0xFFFFFFFF). */
#ifndef ESPFAB_CORE_CHECKSUM_H
#define ESPFAB_CORE_CHECKSUM_H

#include <stddef.h>
#include <stdint.h>

uint32_t checksum_crc32_esp(const void *p, size_t n);
uint32_t checksum_read_u32le(const uint8_t *p);
uint16_t checksum_read_u16le(const uint8_t *p);
void checksum_write_u32le(uint8_t *p, uint32_t v);
void checksum_write_u16le(uint8_t *p, uint16_t v);

#endif
