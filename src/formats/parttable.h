/* parttable: the ESP-IDF partition table as gen_esp32part.py (v1.5) handles it: partitions.csv to
 * the 0xC00-byte binary with its MD5 entry and back to the tool's CSV rendering, with the tool's
 * checks, plus the lookups (by name, by type/subtype) the provisioning engine needs. */
#ifndef ESPFAB_FORMATS_PARTTABLE_H
#define ESPFAB_FORMATS_PARTTABLE_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"

#define PARTTABLE_BIN_SIZE 0xC00     /* written table: entries, MD5 entry, 0xFF fill */
#define PARTTABLE_SECTOR_SIZE 0x1000 /* flash the table occupies */
#define PARTTABLE_DEFAULT_OFFSET 0x8000
#define PARTTABLE_ENTRY_SIZE 32
#define PARTTABLE_MAX_ENTRIES 95
#define PARTTABLE_NAME_LEN 16

#define PARTTABLE_TYPE_APP 0x00
#define PARTTABLE_TYPE_DATA 0x01
#define PARTTABLE_TYPE_BOOTLOADER 0x02
#define PARTTABLE_TYPE_PARTITION_TABLE 0x03
#define PARTTABLE_SUBTYPE_UNDEFINED 0x06

#define PARTTABLE_FLAG_ENCRYPTED 0x1u
#define PARTTABLE_FLAG_READONLY 0x2u

struct parttable_entry {
	char name[PARTTABLE_NAME_LEN + 1];
	uint8_t type;
	uint8_t subtype;
	uint32_t offset;
	uint32_t size;
	uint32_t flags; /* PARTTABLE_FLAG_* */
	int line;	/* CSV line number; 0 for entries read from a binary */
	/* FNV-1a of the name as written in the CSV, which may be longer than what is stored (0 when
	 * not from a CSV): the tool checks names for uniqueness before cutting them to 16 bytes. */
	uint64_t csv_name_hash;
};

struct parttable {
	size_t count;
	struct parttable_entry entries[PARTTABLE_MAX_ENTRIES];
};

enum parttable_secure { PARTTABLE_SECURE_NONE, PARTTABLE_SECURE_V1, PARTTABLE_SECURE_V2 };

#define PARTTABLE_EXTRA_SUBTYPES_MAX 16

/* A subtype name added with --extra-partition-subtypes ("data, my_subtype, 0x40"). */
struct parttable_extra_subtype {
	uint8_t type;
	uint8_t value;
	char name[32];
};

struct parttable_options {
	uint32_t table_offset;	 /* --offset, default 0x8000 */
	int disable_md5;	 /* --disable-md5sum */
	uint64_t flash_size;	 /* --flash-size in bytes; 0 = not checked */
	enum parttable_secure secure; /* --secure [v1|v2]: app size alignment */
	int has_primary_bootloader_offset;
	uint32_t primary_bootloader_offset;
	int has_recovery_bootloader_offset;
	uint32_t recovery_bootloader_offset;
	size_t extra_subtype_count;
	struct parttable_extra_subtype extra_subtypes[PARTTABLE_EXTRA_SUBTYPES_MAX];
};

void parttable_default_options(struct parttable_options *o);
/* Adds one "TYPE, NAME, HEXVALUE" entry as the tool's --extra-partition-subtypes does. */
int parttable_add_extra_subtype(struct parttable_options *o, const char *spec, err_t *e);

/* CSV text → table, offsets filled in (no verification). source names the input in messages. */
int parttable_parse_csv(const char *text, size_t len, const char *source, const struct parttable_options *o,
			struct parttable *t, err_t *e);
/* The tool's checks: alignment, sizes, flags, unique names, overlaps, otadata, flash size. */
int parttable_verify(const struct parttable *t, const struct parttable_options *o, err_t *e);
/* Reads, parses and verifies a partitions.csv file: what the provisioning engine calls. */
int parttable_load_csv_file(const char *path, const struct parttable_options *o, struct parttable *t, err_t *e);

/* Table → the 0xC00-byte image (MD5 entry unless o->disable_md5). */
int parttable_encode_binary(const struct parttable *t, const struct parttable_options *o,
			    uint8_t out[PARTTABLE_BIN_SIZE], err_t *e);
/* Binary image (any length, e.g. the 0x1000 sector read back) → table; checks magic, MD5 and the
 * end marker. No verification (call parttable_verify). */
int parttable_decode_binary(const uint8_t *data, size_t len, const struct parttable_options *o,
			    struct parttable *t, err_t *e);
/* 1 when data starts with the entry magic (how the tool tells binary from CSV input). */
int parttable_is_binary(const uint8_t *data, size_t len);

/* The tool's CSV rendering (header comment lines, keywords, K/M sizes, flags); o (may be NULL)
 * supplies extra subtype names. */
void parttable_render_csv(const struct parttable *t, const struct parttable_options *o, buf_t *out);
/* {"partitions":[{name,type,type_name,subtype,subtype_name,offset,size,encrypted,readonly}]} */
void parttable_render_json(const struct parttable *t, buf_t *out);

/* Any direction, as the CLI does: detect the input kind, parse, verify, render the other form
 * (or JSON when json is set). *out_is_binary tells how to write out. */
int parttable_convert(const uint8_t *in, size_t len, const char *source, const struct parttable_options *o,
		      int json, buf_t *out, int *out_is_binary, err_t *e);

const struct parttable_entry *parttable_find_by_name(const struct parttable *t, const char *name);
/* Next entry after `after` (NULL: from the start) with the type and subtype; subtype < 0 = any. */
const struct parttable_entry *parttable_find_by_type(const struct parttable *t, int type, int subtype,
						     const struct parttable_entry *after);

/* Built-in keyword names as the tool spells them; NULL when the value has no name. */
const char *parttable_type_name(uint8_t type);
const char *parttable_subtype_name(uint8_t type, uint8_t subtype);

#endif
