/* seccert: the esp_secure_cert partition. Writes the TLV ("cust_flash_tlv") format entry by
 * entry (header, value, zero padding to 16 bytes, ESP CRC32 footer; optional INTEGRITY TLV) and
 * reads it back, validating magic, lengths, padding, CRCs and the integrity digest; also reads
 * the legacy fixed-offset "cust_flash" layout. Decoded entries feed the inspector and the
 * engine's readback verification (secure-cert-tlv.md). */
#ifndef ESPFAB_FORMATS_SECCERT_H
#define ESPFAB_FORMATS_SECCERT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"

#define SECCERT_TLV_MAGIC 0xBA5EBA11u
#define SECCERT_TLV_HEADER_LEN 12
#define SECCERT_TLV_FOOTER_LEN 4
#define SECCERT_TLV_ALIGN 16
#define SECCERT_TLV_PARTITION_SIZE 0x2000    /* what configure_esp_secure_cert allows */
#define SECCERT_LEGACY_PARTITION_SIZE 0x6000
#define SECCERT_LEGACY_MAGIC_WORD 0x12345678u
#define SECCERT_INTEGRITY_LEN 32

enum seccert_type {
	SECCERT_TYPE_CA_CERT = 0,
	SECCERT_TYPE_DEV_CERT = 1,
	SECCERT_TYPE_PRIV_KEY = 2,
	SECCERT_TYPE_DS_DATA = 3,
	SECCERT_TYPE_DS_CONTEXT = 4,
	SECCERT_TYPE_ECDSA_KEY_SALT = 5,
	SECCERT_TYPE_SEC_CFG = 6,
	SECCERT_TYPE_TEE_SEC_STORAGE_KEY = 7,
	SECCERT_TYPE_SIGNATURE_BLOCK = 8,
	SECCERT_TYPE_INTEGRITY = 9,
	SECCERT_TYPE_TLV_END = 50, /* reader-API pseudo type, never stored */
	SECCERT_TYPE_USER_DATA_1 = 51,
	SECCERT_TYPE_USER_DATA_5 = 55,
	SECCERT_TYPE_MATTER_TLV_1 = 201,
	SECCERT_TYPE_MATTER_TLV_2 = 202,
	SECCERT_TYPE_INVALID = 255,
};
#define SECCERT_SUBTYPE_INVALID 255

/* PRIV_KEY header flags */
#define SECCERT_FLAG_HMAC_ENCRYPTED 0x80
#define SECCERT_FLAG_HMAC_DERIVED_ECDSA 0x40
#define SECCERT_FLAG_ECDSA_PERIPHERAL 0x08

/* "CA_CERT", "USER_DATA_3", "MATTER_TLV_1", ... or NULL for an unnamed type. */
const char *seccert_name_type(unsigned type);
/* The tool's CSV names (ESP_SECURE_CERT_CA_CERT_TLV, ...); 0 when found. */
int seccert_lookup_type_name(const char *name, unsigned *type);
/* Zero padding after a value of len bytes. */
size_t seccert_pad_len(size_t len);

/* ---- writer ---- */
struct seccert_writer {
	buf_t image;  /* may hold private keys: seccert_writer_free wipes it */
	size_t limit; /* partition size the entries must fit */
};

void seccert_writer_init(struct seccert_writer *w, size_t limit);
/* Appends one TLV; refuses a (type, subtype) already present, type 50/255, subtype 255, a value
 * over 65535 bytes and overflowing the partition. */
int seccert_writer_add(struct seccert_writer *w, unsigned type, unsigned subtype, uint8_t flags,
		       const void *value, size_t len, err_t *e);
/* Appends INTEGRITY (type 9; subtype 0 normally, the next free one when appending to an image
 * that already has one): SHA-256 of every byte written so far. */
int seccert_writer_add_integrity(struct seccert_writer *w, unsigned subtype, err_t *e);
void seccert_writer_free(struct seccert_writer *w);

/* ---- reader ---- */
enum seccert_layout {
	SECCERT_LAYOUT_EMPTY = 0,     /* erased flash, no entry */
	SECCERT_LAYOUT_TLV,
	SECCERT_LAYOUT_LEGACY,        /* cust_flash, plaintext key */
	SECCERT_LAYOUT_LEGACY_DS,     /* cust_flash, DS ciphertext + IV */
};

struct seccert_entry {
	size_t offset;     /* TLV: header offset; legacy: value offset */
	uint8_t flags;
	uint8_t type;
	uint8_t subtype;
	size_t length;     /* value length, padding excluded */
	uint32_t crc;      /* stored CRC (legacy DS_CONTEXT: 0) */
	buf_t value;       /* a copy; legacy DS data is rebuilt as the TLV DS_DATA/DS_CONTEXT values */
};

struct seccert_defect {
	size_t offset; /* where the defect is (TLV header, legacy field or metadata) */
	char text[320]; /* names the offset and the defect */
};

struct seccert_image {
	enum seccert_layout layout;
	struct seccert_entry *entries;
	size_t count;
	size_t used_len;        /* bytes of TLV data before the end (TLV layout) */
	bool integrity_checked; /* an INTEGRITY TLV was present and matched */
	struct seccert_defect *defects; /* every defect found, in the order found */
	size_t defect_count;
};

/* Bytes after the last TLV need not be erased flash (0xFF) - for images that carry other data. */
#define SECCERT_PARSE_ALLOW_TRAILING 1u

/* Decodes a TLV or legacy image. Any defect (bad magic followed by data, CRC, length past the
 * end, truncated padding or footer, non-zero padding, duplicate entry, integrity mismatch) fails
 * with a message naming the entry's offset and the defect. The reader goes on past a defect
 * where it can (a bad CRC is skipped by its length, a bad magic or impossible length by looking
 * for the next 4-byte-aligned magic, legacy fields are independent), so img holds every sound
 * entry and img->defects every defect; the message names them all (the first alone when there
 * is one). Entries whose CRC fails are not in img. img must be freed in every case. */
int seccert_parse_image(const uint8_t *data, size_t len, unsigned flags, struct seccert_image *img,
			err_t *e);
void seccert_image_free(struct seccert_image *img);
const struct seccert_entry *seccert_find_entry(const struct seccert_image *img, unsigned type,
					       unsigned subtype);

/* Readback check: the partition read from flash must start with the expected image and hold
 * only erased bytes (0xFF) after it. Names the first differing offset. */
int seccert_verify_readback(const uint8_t *expected, size_t expected_len, const uint8_t *readback,
			    size_t readback_len, err_t *e);

#endif
