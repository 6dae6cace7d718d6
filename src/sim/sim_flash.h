/* sim_flash: the simulated SPI NOR flash behind the ROM loader. Erase sets whole 4 KiB sectors to
 * 0xFF, programming can only clear bits (new = old AND data), as on real NOR flash. A backing file
 * is mapped shared, so every write is in the page cache at once and survives the simulator being
 * killed; the costs below let the ROM model charge realistic time for each operation. */
#ifndef ESPFAB_SIM_FLASH_H
#define ESPFAB_SIM_FLASH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

#define SIM_FLASH_SECTOR 0x1000u
#define SIM_FLASH_BLOCK 0x10000u
#define SIM_FLASH_PAGE 0x100u
#define SIM_FLASH_DEFAULT_SIZE (4u * 1024u * 1024u)

/* Typical datasheet figures of the 3.3 V quad-SPI NOR parts on ESP modules (GD25Q32/W25Q32 class):
 * sector erase tSE 45 ms, 64 KiB block erase tBE 150 ms, page program tPP 0.7 ms. The ROM's
 * erase routine uses block erase for whole aligned 64 KiB blocks and sector erase elsewhere. */
#define SIM_FLASH_SECTOR_ERASE_US 45000u
#define SIM_FLASH_BLOCK_ERASE_US 150000u
#define SIM_FLASH_PAGE_PROGRAM_US 700u
/* The ROM's SPI_FLASH_MD5 reads flash at 40 MHz DIO and hashes on the CPU: about 4 MB/s. */
#define SIM_FLASH_MD5_US_PER_KIB 250u

typedef struct sim_flash {
	uint8_t *mem;
	size_t size;
	int fd;      /* backing file, or -1 for a flash that lives in memory only */
	bool mapped; /* mem is an mmap of fd */
} sim_flash_t;

/* Opens (or creates, 0xFF-filled) the image at path; path NULL keeps it in memory. size 0 means
 * "the existing file's size, or 4 MB for a new one"; a non-zero size must match an existing file.
 * The size must be a power of two from 256 KB to 128 MB (a real flash part). */
int sim_flash_open(sim_flash_t *f, const char *path, size_t size, err_t *e);
void sim_flash_close(sim_flash_t *f);
/* Pushes the mapping to the file (msync); called on exit. */
int sim_flash_sync(sim_flash_t *f, err_t *e);

/* Erases every sector touched by [addr, addr+len) (the ROM rounds to sectors). Returns the time
 * the part would take in microseconds, or -1 (range outside the chip). */
int64_t sim_flash_erase(sim_flash_t *f, uint32_t addr, uint32_t len, err_t *e);
/* NOR programming: each byte becomes old & data. Returns the time in microseconds (per page
 * touched), or -1 (range outside the chip). */
int64_t sim_flash_program(sim_flash_t *f, uint32_t addr, const uint8_t *data, size_t len, err_t *e);
int sim_flash_read(const sim_flash_t *f, uint32_t addr, uint8_t *out, size_t len, err_t *e);
/* Time the ROM spends reading and hashing len bytes for SPI_FLASH_MD5. */
int64_t sim_flash_md5_cost(size_t len);
/* The JEDEC id (manufacturer 0xEF Winbond, type 0x40, capacity log2(size)) as RDID returns it:
 * byte 0 manufacturer, byte 1 type, byte 2 capacity, packed little-endian like SPI W0. */
uint32_t sim_flash_jedec_id(const sim_flash_t *f);

#endif
