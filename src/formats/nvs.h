/* nvs: the NVS item list shared by the CSV parser, the partition writer and the reader. A list is
 * the ordered sequence of namespace declarations and key/value items that the NVS partition
 * generator processes row by row, so a list built in memory gives the same bytes as its CSV. */
#ifndef ESPFAB_FORMATS_NVS_H
#define ESPFAB_FORMATS_NVS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"

#define NVS_PAGE_SIZE 4096u
#define NVS_ENTRY_SIZE 32u
#define NVS_ENTRIES_PER_PAGE 126u
#define NVS_FIRST_ENTRY_OFFSET 64u
#define NVS_KEY_MAX 15u          /* characters, without the NUL */
#define NVS_MAX_NAMESPACES 254u
#define NVS_STRING_MAX 4000u     /* bytes including the NUL */
#define NVS_BLOB_V1_MAX 1984u

#define NVS_PAGE_STATE_EMPTY 0xFFFFFFFFu
#define NVS_PAGE_STATE_ACTIVE 0xFFFFFFFEu
#define NVS_PAGE_STATE_FULL 0xFFFFFFFCu
#define NVS_PAGE_STATE_FREEING 0xFFFFFFF8u
#define NVS_PAGE_STATE_CORRUPT 0xFFFFFFF0u

#define NVS_VERSION_BYTE_V1 0xFFu
#define NVS_VERSION_BYTE_V2 0xFEu

enum nvs_type {
	NVS_TYPE_U8 = 0x01,
	NVS_TYPE_I8 = 0x11,
	NVS_TYPE_U16 = 0x02,
	NVS_TYPE_I16 = 0x12,
	NVS_TYPE_U32 = 0x04,
	NVS_TYPE_I32 = 0x14,
	NVS_TYPE_U64 = 0x08,
	NVS_TYPE_I64 = 0x18,
	NVS_TYPE_SZ = 0x21,
	NVS_TYPE_BLOB = 0x41,      /* format 1 blob; in a list: any binary value */
	NVS_TYPE_BLOB_DATA = 0x42, /* format 2 chunk */
	NVS_TYPE_BLOB_IDX = 0x48,  /* format 2 index */
	NVS_TYPE_ANY = 0xFF,
};

enum nvs_item_kind {
	NVS_ITEM_NAMESPACE, /* key = namespace name; later items use the newest namespace */
	NVS_ITEM_DATA,
};

struct nvs_item {
	enum nvs_item_kind kind;
	char key[NVS_KEY_MAX + 1];
	enum nvs_type type; /* data: an integer type, NVS_TYPE_SZ or NVS_TYPE_BLOB */
	uint64_t num;       /* integers: the value's two's-complement bits */
	buf_t data;         /* SZ: the stored bytes (normally ending in NUL); BLOB: the bytes */
	char *origin;       /* "file:line" for messages, or NULL */
};

struct nvs_list {
	struct nvs_item *items;
	size_t count;
	size_t cap;
};

void nvs_list_init(struct nvs_list *l);
/* Wipes the values (factory partitions carry private keys) and frees everything. */
void nvs_list_free(struct nvs_list *l);

/* Each add checks the key (1..15 bytes) and returns -1 with e set when it is bad. */
int nvs_list_add_namespace(struct nvs_list *l, const char *name, err_t *e);
/* type is one of the eight integer types; value is range-checked against it (signed types take
 * the value as int64_t bits). */
int nvs_list_add_int(struct nvs_list *l, const char *key, enum nvs_type type, uint64_t value,
		     err_t *e);
int nvs_list_add_u8(struct nvs_list *l, const char *key, uint8_t value, err_t *e);
int nvs_list_add_u16(struct nvs_list *l, const char *key, uint16_t value, err_t *e);
int nvs_list_add_u32(struct nvs_list *l, const char *key, uint32_t value, err_t *e);
/* Stores s with its NUL terminator, as the generator's "string" encoding does. */
int nvs_list_add_string(struct nvs_list *l, const char *key, const char *s, err_t *e);
/* Stores exactly n bytes as a string item (no NUL added). */
int nvs_list_add_raw_string(struct nvs_list *l, const char *key, const void *p, size_t n,
			    err_t *e);
int nvs_list_add_blob(struct nvs_list *l, const char *key, const void *p, size_t n, err_t *e);
/* Records where the last item came from ("input.csv:12"), used in writer error messages. */
void nvs_list_set_origin(struct nvs_list *l, const char *origin);

int nvs_check_key(const char *key, err_t *e);
bool nvs_type_is_int(enum nvs_type t);
bool nvs_type_is_signed(enum nvs_type t);
/* Byte width of an integer type (low nibble of the code). */
unsigned nvs_type_width(enum nvs_type t);
/* The generator's encoding names (u8 … i64, string, blob, blob_data, blob_index). */
const char *nvs_type_name(enum nvs_type t);
/* Parses u8, i8, …, i64 (case-insensitive, as the generator lowers encodings). */
int nvs_type_parse_int_name(const char *name, enum nvs_type *t);

#endif
