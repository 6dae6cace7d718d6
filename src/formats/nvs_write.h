/* nvs_write: builds an NVS partition image from an item list, page by page and entry by entry in
 * exactly the order and with the page-filling rules of esp-idf-nvs-partition-gen 0.2.0, so the
 * bytes equal the generator's. The image is plaintext; nvs_crypt encrypts it. */
#ifndef ESPFAB_FORMATS_NVS_WRITE_H
#define ESPFAB_FORMATS_NVS_WRITE_H

#include <stdbool.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"
#include "formats/nvs.h"

/* Checks a partition size as the generator does: a multiple of 4096, at least 4096. Below
 * 0x3000 the partition is read-only: no spare page is reserved and the image holds only the
 * pages that received data (it can then be shorter than size). */
int nvs_write_check_size(uint32_t size, bool *read_only, err_t *e);

/* version is 1 (single-page blobs, header byte 0xFF) or 2 (multi-page blobs, 0xFE). out is
 * replaced by the image. Errors name the item (its origin when set) that did not fit or was
 * invalid. */
int nvs_write_partition(const struct nvs_list *l, uint32_t size, int version, buf_t *out,
			err_t *e);

#endif
