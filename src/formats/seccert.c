#include "formats/seccert.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/platform_util.h>
#include <mbedtls/sha256.h>

#include "core/checksum.h"
#include "crypto/ds.h"

static const char *const seccert_type_names[] = {
	[0] = "CA_CERT",        [1] = "DEV_CERT",           [2] = "PRIV_KEY",
	[3] = "DS_DATA",        [4] = "DS_CONTEXT",         [5] = "ECDSA_KEY_SALT",
	[6] = "SEC_CFG",        [7] = "TEE_SEC_STORAGE_KEY", [8] = "SIGNATURE_BLOCK",
	[9] = "INTEGRITY",      [50] = "TLV_END",           [51] = "USER_DATA_1",
	[52] = "USER_DATA_2",   [53] = "USER_DATA_3",       [54] = "USER_DATA_4",
	[55] = "USER_DATA_5",   [201] = "MATTER_TLV_1",     [202] = "MATTER_TLV_2",
};

const char *seccert_name_type(unsigned type)
{
	if (type < sizeof seccert_type_names / sizeof seccert_type_names[0])
		return seccert_type_names[type];
	return NULL;
}

int seccert_lookup_type_name(const char *name, unsigned *type)
{
	static const char prefix[] = "ESP_SECURE_CERT_";
	static const char suffix[] = "_TLV";
	if (strcmp(name, "TLV_END") == 0) {
		*type = SECCERT_TYPE_TLV_END;
		return 0;
	}
	size_t n = strlen(name), pl = sizeof prefix - 1, sl = sizeof suffix - 1;
	if (n <= pl + sl || strncmp(name, prefix, pl) != 0 || strcmp(name + n - sl, suffix) != 0)
		return -1;
	for (unsigned t = 0; t < sizeof seccert_type_names / sizeof seccert_type_names[0]; t++) {
		const char *tn = seccert_type_names[t];
		/* Matter types are not members of the tool's enum. */
		if (!tn || t == SECCERT_TYPE_TLV_END || t >= SECCERT_TYPE_MATTER_TLV_1)
			continue;
		if (strlen(tn) == n - pl - sl && strncmp(name + pl, tn, n - pl - sl) == 0) {
			*type = t;
			return 0;
		}
	}
	return -1;
}

size_t seccert_pad_len(size_t len)
{
	return (SECCERT_TLV_ALIGN - len % SECCERT_TLV_ALIGN) % SECCERT_TLV_ALIGN;
}

/* ---- writer ---- */

void seccert_writer_init(struct seccert_writer *w, size_t limit)
{
	memset(w, 0, sizeof *w);
	w->limit = limit ? limit : SECCERT_TLV_PARTITION_SIZE;
}

void seccert_writer_free(struct seccert_writer *w)
{
	buf_wipe_data(&w->image);
}

static bool seccert_writer_has(const struct seccert_writer *w, unsigned type, unsigned subtype)
{
	size_t off = 0;
	while (off + SECCERT_TLV_HEADER_LEN <= w->image.len) {
		const uint8_t *h = w->image.data + off;
		size_t len = checksum_read_u16le(h + 10);
		if (h[8] == type && h[9] == subtype)
			return true;
		off += SECCERT_TLV_HEADER_LEN + len + seccert_pad_len(len) + SECCERT_TLV_FOOTER_LEN;
	}
	return false;
}

static const char *seccert_describe_type(unsigned type, char *buf, size_t n)
{
	const char *name = seccert_name_type(type);
	if (name)
		snprintf(buf, n, "%u (%s)", type, name);
	else
		snprintf(buf, n, "%u", type);
	return buf;
}

int seccert_writer_add(struct seccert_writer *w, unsigned type, unsigned subtype, uint8_t flags,
		       const void *value, size_t len, err_t *e)
{
	char tn[40];
	if (type > 254 || type == SECCERT_TYPE_TLV_END)
		return err_set_msg(e, ERR_CHECK, "TLV type %u is reserved and cannot be stored", type);
	if (subtype > 254)
		return err_set_msg(e, ERR_CHECK, "TLV type %s: subtype %u is out of range (0..254)",
				   seccert_describe_type(type, tn, sizeof tn), subtype);
	if (len > 0xFFFF)
		return err_set_msg(e, ERR_CHECK, "TLV type %s subtype %u: value of %zu bytes exceeds 65535",
				   seccert_describe_type(type, tn, sizeof tn), subtype, len);
	if (seccert_writer_has(w, type, subtype))
		return err_set_msg(e, ERR_CHECK, "duplicate TLV: type %s subtype %u is already present",
				   seccert_describe_type(type, tn, sizeof tn), subtype);
	size_t pad = seccert_pad_len(len);
	size_t total = SECCERT_TLV_HEADER_LEN + len + pad + SECCERT_TLV_FOOTER_LEN;
	if (w->image.len + total > w->limit)
		return err_set_msg(e, ERR_CHECK,
				   "TLV type %s subtype %u: partition size exceeded (%zu > %zu bytes)",
				   seccert_describe_type(type, tn, sizeof tn), subtype,
				   w->image.len + total, w->limit);
	size_t start = w->image.len;
	buf_append_u32le(&w->image, SECCERT_TLV_MAGIC);
	buf_append_byte(&w->image, flags);
	buf_append_fill(&w->image, 0, 3);
	buf_append_byte(&w->image, (uint8_t)type);
	buf_append_byte(&w->image, (uint8_t)subtype);
	buf_append_u16le(&w->image, (uint16_t)len);
	buf_append_bytes(&w->image, value, len);
	buf_append_fill(&w->image, 0, pad);
	buf_append_u32le(&w->image, checksum_crc32_esp(w->image.data + start, w->image.len - start));
	return 0;
}

int seccert_writer_add_integrity(struct seccert_writer *w, unsigned subtype, err_t *e)
{
	uint8_t digest[SECCERT_INTEGRITY_LEN];
	mbedtls_sha256_ret(w->image.data, w->image.len, digest, 0);
	return seccert_writer_add(w, SECCERT_TYPE_INTEGRITY, subtype, 0, digest, sizeof digest, e);
}

/* ---- reader ---- */

void seccert_image_free(struct seccert_image *img)
{
	for (size_t i = 0; i < img->count; i++)
		buf_wipe_data(&img->entries[i].value);
	free(img->entries);
	memset(img, 0, sizeof *img);
}

static struct seccert_entry *seccert_image_push(struct seccert_image *img)
{
	struct seccert_entry *p = realloc(img->entries, (img->count + 1) * sizeof *p);
	if (!p)
		abort();
	img->entries = p;
	struct seccert_entry *en = &img->entries[img->count++];
	memset(en, 0, sizeof *en);
	return en;
}

const struct seccert_entry *seccert_find_entry(const struct seccert_image *img, unsigned type,
					       unsigned subtype)
{
	for (size_t i = 0; i < img->count; i++)
		if (img->entries[i].type == type && img->entries[i].subtype == subtype)
			return &img->entries[i];
	return NULL;
}

static bool seccert_all_erased(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != 0xFF)
			return false;
	return true;
}

static int seccert_parse_tlv(const uint8_t *data, size_t len, unsigned flags,
			     struct seccert_image *img, err_t *e)
{
	size_t off = 0;
	char tn[40];
	img->layout = SECCERT_LAYOUT_TLV;
	while (off < len) {
		if (len - off < 4 || checksum_read_u32le(data + off) != SECCERT_TLV_MAGIC) {
			/* End of data: erased flash, the FF FF 00 00 end marker some generators add, or
			 * the end of the buffer. Anything else means a damaged header. */
			size_t rest = len - off;
			bool end_marker = rest >= 4 && checksum_read_u32le(data + off) == 0x0000FFFFu &&
					  seccert_all_erased(data + off + 4, rest - 4);
			if (seccert_all_erased(data + off, rest) || end_marker ||
			    (flags & SECCERT_PARSE_ALLOW_TRAILING))
				break;
			size_t show = rest < 4 ? rest : 4;
			char hex[16] = "";
			for (size_t i = 0; i < show; i++)
				snprintf(hex + 3 * i, sizeof hex - 3 * i, "%02x ", data[off + i]);
			if (show)
				hex[3 * show - 1] = 0;
			return err_set_msg(e, ERR_CHECK,
					   "offset 0x%zx: bad TLV magic (%s, expected 11 ba 5e ba) and the "
					   "rest is not erased flash",
					   off, hex);
		}
		if (len - off < SECCERT_TLV_HEADER_LEN)
			return err_set_msg(e, ERR_CHECK,
					   "TLV at offset 0x%zx: header truncated (%zu of 12 bytes)", off,
					   len - off);
		const uint8_t *h = data + off;
		unsigned type = h[8], subtype = h[9];
		size_t vlen = checksum_read_u16le(h + 10);
		size_t pad = seccert_pad_len(vlen);
		seccert_describe_type(type, tn, sizeof tn);
		if (vlen > len - off - SECCERT_TLV_HEADER_LEN)
			return err_set_msg(e, ERR_CHECK,
					   "TLV at offset 0x%zx (type %s subtype %u): length %zu runs past "
					   "the end of the image (%zu bytes left)",
					   off, tn, subtype, vlen, len - off - SECCERT_TLV_HEADER_LEN);
		size_t total = SECCERT_TLV_HEADER_LEN + vlen + pad + SECCERT_TLV_FOOTER_LEN;
		if (total > len - off)
			return err_set_msg(e, ERR_CHECK,
					   "TLV at offset 0x%zx (type %s subtype %u): padding and CRC "
					   "truncated (entry needs %zu bytes, %zu left)",
					   off, tn, subtype, total, len - off);
		uint32_t stored = checksum_read_u32le(h + total - SECCERT_TLV_FOOTER_LEN);
		uint32_t calc = checksum_crc32_esp(h, total - SECCERT_TLV_FOOTER_LEN);
		if (stored != calc)
			return err_set_msg(e, ERR_CHECK,
					   "TLV at offset 0x%zx (type %s subtype %u): bad CRC (stored "
					   "0x%08x, computed 0x%08x)",
					   off, tn, subtype, stored, calc);
		if (h[5] || h[6] || h[7])
			return err_set_msg(e, ERR_CHECK,
					   "TLV at offset 0x%zx (type %s subtype %u): reserved header bytes "
					   "are not zero",
					   off, tn, subtype);
		for (size_t i = 0; i < pad; i++)
			if (h[SECCERT_TLV_HEADER_LEN + vlen + i] != 0)
				return err_set_msg(e, ERR_CHECK,
						   "TLV at offset 0x%zx (type %s subtype %u): padding byte "
						   "at 0x%zx is not zero",
						   off, tn, subtype, off + SECCERT_TLV_HEADER_LEN + vlen + i);
		if (type == SECCERT_TYPE_TLV_END || type == SECCERT_TYPE_INVALID ||
		    subtype == SECCERT_SUBTYPE_INVALID)
			return err_set_msg(e, ERR_CHECK,
					   "TLV at offset 0x%zx: invalid type %u / subtype %u", off, type,
					   subtype);
		if (seccert_find_entry(img, type, subtype))
			return err_set_msg(e, ERR_CHECK,
					   "TLV at offset 0x%zx: duplicate type %s subtype %u", off, tn,
					   subtype);
		if (type == SECCERT_TYPE_INTEGRITY) {
			uint8_t digest[SECCERT_INTEGRITY_LEN];
			mbedtls_sha256_ret(data, off, digest, 0);
			if (vlen != SECCERT_INTEGRITY_LEN ||
			    memcmp(digest, h + SECCERT_TLV_HEADER_LEN, sizeof digest) != 0)
				return err_set_msg(e, ERR_CHECK,
						   "TLV at offset 0x%zx (type %s subtype %u): integrity "
						   "SHA-256 does not match the %zu bytes before it",
						   off, tn, subtype, off);
			img->integrity_checked = true;
		}
		struct seccert_entry *en = seccert_image_push(img);
		en->offset = off;
		en->flags = h[4];
		en->type = (uint8_t)type;
		en->subtype = (uint8_t)subtype;
		en->length = vlen;
		en->crc = stored;
		buf_append_bytes(&en->value, h + SECCERT_TLV_HEADER_LEN, vlen);
		off += total;
	}
	img->used_len = off;
	return 0;
}

/* Legacy metadata: {crc u32, len u16, pad} per field, natural alignment, magic word last. */
#define LEGACY_DEV_CERT_OFFSET 0x40
#define LEGACY_DEV_CERT_SIZE 2048
#define LEGACY_CA_CERT_OFFSET 0x840
#define LEGACY_CA_CERT_SIZE 4096
#define LEGACY_KEY_OFFSET 0x1840
#define LEGACY_KEY_SIZE 4096

static int seccert_legacy_field(const uint8_t *data, size_t len, const char *what, size_t meta_off,
				size_t off, size_t slot, bool optional, unsigned type,
				struct seccert_image *img, err_t *e)
{
	uint32_t crc = checksum_read_u32le(data + meta_off);
	size_t flen = checksum_read_u16le(data + meta_off + 4);
	if (flen == 0 && optional)
		return 0;
	if (flen == 0)
		return err_set_msg(e, ERR_CHECK, "legacy metadata at 0x%zx: %s length is 0", meta_off,
				   what);
	if (flen > slot || off + flen > len)
		return err_set_msg(e, ERR_CHECK,
				   "legacy %s at offset 0x%zx: length %zu runs past its slot or the "
				   "image (%zu bytes)",
				   what, off, flen, len);
	uint32_t calc = checksum_crc32_esp(data + off, flen);
	if (calc != crc)
		return err_set_msg(e, ERR_CHECK,
				   "legacy %s at offset 0x%zx: bad CRC (stored 0x%08x, computed 0x%08x)",
				   what, off, crc, calc);
	if (type != SECCERT_TYPE_INVALID) {
		struct seccert_entry *en = seccert_image_push(img);
		en->offset = off;
		en->type = (uint8_t)type;
		en->length = flen;
		en->crc = crc;
		buf_append_bytes(&en->value, data + off, flen);
	}
	return 0;
}

static int seccert_parse_legacy(const uint8_t *data, size_t len, bool ds,
				struct seccert_image *img, err_t *e)
{
	img->layout = ds ? SECCERT_LAYOUT_LEGACY_DS : SECCERT_LAYOUT_LEGACY;
	if (seccert_legacy_field(data, len, "device certificate", 0, LEGACY_DEV_CERT_OFFSET,
				 LEGACY_DEV_CERT_SIZE, false, SECCERT_TYPE_DEV_CERT, img, e) ||
	    seccert_legacy_field(data, len, "CA certificate", 8, LEGACY_CA_CERT_OFFSET,
				 LEGACY_CA_CERT_SIZE, true, SECCERT_TYPE_CA_CERT, img, e))
		return -1;
	if (!ds)
		return seccert_legacy_field(data, len, "private key", 16, LEGACY_KEY_OFFSET,
					    LEGACY_KEY_SIZE, false, SECCERT_TYPE_PRIV_KEY, img, e);
	size_t c_len = checksum_read_u16le(data + 20);
	if (c_len != 1200 && c_len != 1584)
		return err_set_msg(e, ERR_CHECK,
				   "legacy metadata at 0x14: DS ciphertext length %zu is neither 1200 "
				   "nor 1584",
				   c_len);
	/* Each slot is the ciphertext length + 16, so the IV's place follows from C's length. */
	size_t iv_off = LEGACY_KEY_OFFSET + c_len + 16;
	if (seccert_legacy_field(data, len, "DS ciphertext", 16, LEGACY_KEY_OFFSET, c_len, false,
				 SECCERT_TYPE_INVALID, img, e) ||
	    seccert_legacy_field(data, len, "DS IV", 24, iv_off, DS_IV_LEN, false,
				 SECCERT_TYPE_INVALID, img, e))
		return -1;
	if (checksum_read_u16le(data + 28) != DS_IV_LEN)
		return err_set_msg(e, ERR_CHECK, "legacy metadata at 0x1c: IV length is not 16");
	unsigned bits = checksum_read_u16le(data + 30);
	unsigned key_id = data[32];
	if (bits < 1024 || bits > 4096 || bits % 1024 || key_id > 5)
		return err_set_msg(e, ERR_CHECK,
				   "legacy metadata at 0x1e: RSA length %u bits / eFuse key id %u out "
				   "of range",
				   bits, key_id);
	struct ds_params p;
	memset(&p, 0, sizeof p);
	p.rsa_bits = bits;
	memcpy(p.iv, data + iv_off, DS_IV_LEN);
	memcpy(p.c, data + LEGACY_KEY_OFFSET, c_len);
	p.c_len = c_len;
	struct seccert_entry *en = seccert_image_push(img);
	en->offset = LEGACY_KEY_OFFSET;
	en->type = SECCERT_TYPE_DS_DATA;
	en->crc = checksum_read_u32le(data + 16);
	ds_encode_data(&p, &en->value);
	en->length = en->value.len;
	en = seccert_image_push(img);
	en->offset = 0x1e;
	en->type = SECCERT_TYPE_DS_CONTEXT;
	uint8_t ctx[DS_CONTEXT_LEN];
	ds_encode_context(key_id, bits, ctx);
	buf_append_bytes(&en->value, ctx, sizeof ctx);
	en->length = sizeof ctx;
	return 0;
}

int seccert_parse_image(const uint8_t *data, size_t len, unsigned flags, struct seccert_image *img,
			err_t *e)
{
	memset(img, 0, sizeof *img);
	if (len == 0 || seccert_all_erased(data, len)) {
		img->layout = SECCERT_LAYOUT_EMPTY;
		return 0;
	}
	if (len >= 4 && checksum_read_u32le(data) == SECCERT_TLV_MAGIC)
		return seccert_parse_tlv(data, len, flags, img, e);
	if (len >= 0x40 && checksum_read_u32le(data + 24) == SECCERT_LEGACY_MAGIC_WORD)
		return seccert_parse_legacy(data, len, false, img, e);
	if (len >= 0x40 && checksum_read_u32le(data + 36) == SECCERT_LEGACY_MAGIC_WORD)
		return seccert_parse_legacy(data, len, true, img, e);
	char hex[16];
	snprintf(hex, sizeof hex, "%02x %02x %02x %02x", data[0], len > 1 ? data[1] : 0,
		 len > 2 ? data[2] : 0, len > 3 ? data[3] : 0);
	return err_set_msg(e, ERR_CHECK,
			   "offset 0x0: bad TLV magic (%s, expected 11 ba 5e ba) and no legacy "
			   "cust_flash metadata (magic word 0x12345678)",
			   hex);
}

int seccert_verify_readback(const uint8_t *expected, size_t expected_len, const uint8_t *readback,
			    size_t readback_len, err_t *e)
{
	if (readback_len < expected_len)
		return err_set_msg(e, ERR_CHECK, "readback of %zu bytes is shorter than the %zu-byte image",
				   readback_len, expected_len);
	for (size_t i = 0; i < expected_len; i++)
		if (expected[i] != readback[i])
			return err_set_msg(e, ERR_CHECK,
					   "readback differs at offset 0x%zx (wrote 0x%02x, read 0x%02x)", i,
					   expected[i], readback[i]);
	for (size_t i = expected_len; i < readback_len; i++)
		if (readback[i] != 0xFF)
			return err_set_msg(e, ERR_CHECK,
					   "readback offset 0x%zx holds 0x%02x after the image (expected "
					   "erased 0xff)",
					   i, readback[i]);
	return 0;
}
