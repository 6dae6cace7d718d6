/* nvs_read: decodes a plaintext NVS partition image: pages and their states, every entry with
 * its bitmap state, namespaces, and the key/value items with format-2 blobs reassembled. Every
 * CRC (page header, entry, payload) is checked; damage is reported per page or entry, never
 * fatal, so a partition read back from a device can always be shown. */
#ifndef ESPFAB_FORMATS_NVS_READ_H
#define ESPFAB_FORMATS_NVS_READ_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"
#include "formats/nvs.h"

enum nvs_read_entry_state {
	NVS_READ_ENTRY_ERASED = 0,  /* bitmap 0b00 */
	NVS_READ_ENTRY_ILLEGAL = 1, /* bitmap 0b01 */
	NVS_READ_ENTRY_WRITTEN = 2, /* bitmap 0b10 */
	NVS_READ_ENTRY_EMPTY = 3,   /* bitmap 0b11 */
};

struct nvs_read_page {
	uint32_t index;
	bool blank; /* all 0xFF: never initialised */
	uint32_t state;
	uint32_t seq;
	uint8_t version_byte;
	bool header_crc_ok;
	unsigned written, erased, empty; /* entry slots by bitmap state */
};

struct nvs_read_entry {
	uint32_t page;
	unsigned slot; /* 0..125 */
	enum nvs_read_entry_state state;
	uint8_t ns, type, span, chunk;
	char key[NVS_KEY_MAX + 2];
	bool crc_ok;      /* entry header CRC */
	bool data_crc_ok; /* payload CRC of SZ/BLOB/BLOB_DATA (true for other types) */
	uint64_t num;     /* integers: the value as 64-bit two's complement (sign-extended) */
	buf_t data;       /* SZ/BLOB/BLOB_DATA payload */
	uint32_t blob_size;             /* BLOB_IDX */
	uint8_t chunk_count, chunk_start; /* BLOB_IDX */
	char problem[160];              /* empty when the entry is sound */
};

/* One key/value item as an application sees it. */
struct nvs_read_value {
	uint8_t ns;
	char ns_name[NVS_KEY_MAX + 2];
	char key[NVS_KEY_MAX + 2];
	enum nvs_type type; /* an integer type, NVS_TYPE_SZ, or NVS_TYPE_BLOB (v1 or reassembled) */
	uint64_t num;
	buf_t data; /* SZ: including its NUL */
	uint32_t page, slot; /* where it starts (the BLOB_IDX entry for format-2 blobs) */
};

struct nvs_read_result {
	struct nvs_read_page *pages;
	size_t page_count;
	struct nvs_read_entry *entries;
	size_t entry_count;
	struct nvs_read_value *values;
	size_t value_count;
	bool ns_defined[256];
	char ns_names[256][NVS_KEY_MAX + 2];
	size_t problem_count;
	char first_problem[256];
	char **problems; /* every problem found, problem_count of them, in the order found */
};

/* Fails only when the image is empty. Damage is reported in r, never fatal: a truncated image
 * (not a whole number of pages) has its whole pages decoded and the cut named as a problem; a
 * format-2 blob is assembled from the data chunks of its own version (namespace, key, chunk
 * index in chunk_start .. chunk_start + count - 1, written before its index), so a key written
 * twice gives two items, and a missing chunk or a chunk no index claims is a problem. */
int nvs_read_partition(const uint8_t *p, size_t len, struct nvs_read_result *r, err_t *e);
void nvs_read_free(struct nvs_read_result *r);
/* Finds a value by namespace name and key; NULL when absent. */
const struct nvs_read_value *nvs_read_find_value(const struct nvs_read_result *r,
						 const char *ns, const char *key);
/* Text of a value: decimal for integers, the text of a string (without NUL), hex for blobs. */
void nvs_read_format_value(const struct nvs_read_value *v, buf_t *out);
const char *nvs_read_name_page_state(uint32_t state);
/* True for values that hold secrets (the Matter DAC private key, Wi-Fi passphrases and PMKs):
 * listings and JSON show their size only. */
bool nvs_read_is_secret(const struct nvs_read_value *v);
/* Human-readable listing and a JSON document of everything decoded, secrets withheld; control
 * characters in strings are escaped in the listing. */
void nvs_read_format_listing(const struct nvs_read_result *r, buf_t *out);
json_t *nvs_read_to_json(const struct nvs_read_result *r);

#endif
