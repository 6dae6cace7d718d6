/* ui_inspect: the inspector's decoded view of what was read back from a device or a file: the
 * partition table, esp_secure_cert TLVs and NVS namespaces/keys with decoded values, as one
 * JSON document that both `espfab inspect --json` prints and the inspector screen browses.
 * Curses-free. Private keys and other secrets never appear, only their type, length and hash;
 * damaged data is described, never fatal. */
#ifndef ESPFAB_UI_INSPECT_H
#define ESPFAB_UI_INSPECT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "core/err.h"

struct ui_inspect_opts {
	const char *source;      /* shown as "source" */
	uint32_t table_offset;   /* where a full image's table is; 0 = 0x8000 */
	const char *manifest;    /* manifest CSV to diff against; NULL = none */
};

/* Decodes data (a full flash image, a partition table, or one partition detected by content).
 * Returns a new JSON object:
 *   {"source","size","kind", "table_offset"?, "partition_table"?: [...], "table_error"?,
 *    "partitions": [{"name","type","subtype","offset","size","format","status","problem"?,
 *                    "decoded"?}], "problems": n, "manifest_diff"?: [...]}
 * Fails (NULL, e set) only for an empty input. */
json_t *ui_inspect_decode(const uint8_t *data, size_t len, const struct ui_inspect_opts *o,
			  err_t *e);

/* Decodes one partition's bytes as format "esp_secure_cert", "nvs", "nvs_keys" or "" (by
 * content); returns the partition object described above (name may be NULL). */
json_t *ui_inspect_decode_partition(const char *name, const uint8_t *data, size_t len,
				    const char *format);

/* Whether an NVS key or TLV holds a secret that must be shown only as type/length/hash. */
int ui_inspect_is_secret_key(const char *key);

/* For the hex view: mask[i] = 1 where data holds a secret (private key and DS TLVs, secret NVS
 * values, all of nvs_keys; everything but the sound non-secret TLVs of a damaged secure cert). */
void ui_inspect_secret_mask(const uint8_t *data, size_t len, const char *format, uint8_t *mask);

/* Compares the decoded view with the manifest row for the same device (by serial or MAC):
 * adds "manifest_diff": [{"field","manifest","device","match"}] to view. */
int ui_inspect_diff_manifest(json_t *view, const char *manifest_csv, const char *mac, err_t *e);

#endif
