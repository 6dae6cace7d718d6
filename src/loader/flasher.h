/* flasher: writing, verifying and reading SPI flash through the ROM loader, for provisioning:
 * 4 KiB-aligned regions, optional zlib (deflate) compression, per-block retries, region retries
 * after a reset/resync, MD5 verification of every region written, READ_FLASH_SLOW read-back,
 * raw writes of host-encrypted data, and progress reports with bytes/s. No printing. */
#ifndef ESPFAB_LOADER_FLASHER_H
#define ESPFAB_LOADER_FLASHER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"
#include "loader/loader.h"

struct flash_progress {
	const char *stage;   /* "write", "verify", "read" */
	unsigned region;     /* index of the region */
	uint32_t addr;       /* region start */
	size_t done, total;  /* bytes of this region (uncompressed) */
	double bytes_per_s;  /* payload rate so far in this region */
	unsigned retries;    /* retries so far in this region */
};

typedef void (*flash_progress_fn)(void *ctx, const struct flash_progress *p);

struct flash_region {
	uint32_t addr;
	const uint8_t *data;
	size_t len;
};

struct flash_write_opts {
	bool compress;       /* FLASH_DEFL_* (not in Secure Download Mode) */
	bool encrypted_raw;  /* data is already encrypted by the host: written as is, alignment checked */
	bool no_verify;      /* skip the MD5 check (required in Secure Download Mode) */
	unsigned attempts;   /* per region, 0 = 3 */
	flash_progress_fn progress;
	void *progress_ctx;
};

struct flash_region_result {
	bool verified;       /* MD5 of flash equals MD5 of the data */
	unsigned attempts;
	unsigned block_retries;
	double seconds;
};

void flash_write_opts_init(struct flash_write_opts *o);

/* Writes every region (in order) and verifies each; results (optional) has n entries. Regions
 * must not overlap and must fit the flash. */
int flasher_write(loader_t *l, const struct flash_region *regions, size_t n,
		  const struct flash_write_opts *o, struct flash_region_result *results, err_t *e);
/* MD5 comparison of flash against data; *match tells the outcome (returns 0 either way). */
int flasher_verify(loader_t *l, uint32_t addr, const uint8_t *data, size_t len, bool *match,
		   err_t *e);
/* Reads len bytes with READ_FLASH_SLOW (appends to out). */
int flasher_read(loader_t *l, uint32_t addr, size_t len, buf_t *out, flash_progress_fn progress,
		 void *progress_ctx, err_t *e);

#endif
