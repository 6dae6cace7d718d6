#include "formats/seccert.h"

#include <stdarg.h>
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
	free(img->defects);
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

static void seccert_note_defect(struct seccert_image *img, size_t off, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void seccert_note_defect(struct seccert_image *img, size_t off, const char *fmt, ...)
{
	struct seccert_defect *d = realloc(img->defects, (img->defect_count + 1) * sizeof *d);
	if (!d)
		abort();
	img->defects = d;
	d = &img->defects[img->defect_count++];
	memset(d, 0, sizeof *d);
	d->offset = off;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(d->text, sizeof d->text, fmt, ap);
	va_end(ap);
}

static bool seccert_magic_at(const uint8_t *data, size_t len, size_t off)
{
	return off <= len && len - off >= 4 && checksum_read_u32le(data + off) == SECCERT_TLV_MAGIC;
}

/* The first 4-byte-aligned TLV magic at or after `from`; SIZE_MAX when there is none. */
static size_t seccert_next_magic(const uint8_t *data, size_t len, size_t from)
{
	for (size_t o = (from + 3) & ~(size_t)3; o < len; o += 4)
		if (seccert_magic_at(data, len, o))
			return o;
	return SIZE_MAX;
}

/* End of data: erased flash, the FF FF 00 00 end marker some generators add, or the end of the
 * buffer; with SECCERT_PARSE_ALLOW_TRAILING, anything that is not a magic. */
static bool seccert_is_end(const uint8_t *data, size_t len, size_t off, unsigned flags)
{
	if (off >= len)
		return true;
	if (seccert_magic_at(data, len, off))
		return false;
	size_t rest = len - off;
	bool end_marker = rest >= 4 && checksum_read_u32le(data + off) == 0x0000FFFFu &&
			  seccert_all_erased(data + off + 4, rest - 4);
	return seccert_all_erased(data + off, rest) || end_marker ||
	       (flags & SECCERT_PARSE_ALLOW_TRAILING);
}

static void seccert_parse_tlv(const uint8_t *data, size_t len, unsigned flags,
			      struct seccert_image *img, size_t off)
{
	char tn[40];
	img->layout = SECCERT_LAYOUT_TLV;
	while (off < len) {
		if (!seccert_magic_at(data, len, off)) {
			if (seccert_is_end(data, len, off, flags))
				break;
			/* A damaged header: the next entry, if any, starts at an aligned magic. */
			size_t next = seccert_next_magic(data, len, off + 1);
			if (next == SIZE_MAX) {
				seccert_note_defect(img, off,
						    "offset 0x%zx: bad TLV magic (expected 11 ba 5e ba) "
						    "and the rest is not erased flash",
						    off);
				break;
			}
			seccert_note_defect(img, off,
					    "offset 0x%zx: bad TLV magic (expected 11 ba 5e ba); "
					    "%zu bytes skipped to the next magic at 0x%zx",
					    off, next - off, next);
			off = next;
			continue;
		}
		if (len - off < SECCERT_TLV_HEADER_LEN) {
			seccert_note_defect(img, off,
					    "TLV at offset 0x%zx: header truncated (%zu of 12 bytes)",
					    off, len - off);
			off = len;
			break;
		}
		const uint8_t *h = data + off;
		unsigned type = h[8], subtype = h[9];
		size_t vlen = checksum_read_u16le(h + 10);
		size_t pad = seccert_pad_len(vlen);
		seccert_describe_type(type, tn, sizeof tn);
		if (vlen > len - off - SECCERT_TLV_HEADER_LEN) {
			size_t next = seccert_next_magic(data, len, off + 4);
			seccert_note_defect(img, off,
					    "TLV at offset 0x%zx (type %s subtype %u): length %zu runs "
					    "past the end of the image (%zu bytes left)%s",
					    off, tn, subtype, vlen, len - off - SECCERT_TLV_HEADER_LEN,
					    next == SIZE_MAX ? "" : "; resumed at the next magic");
			if (next == SIZE_MAX) {
				off = len;
				break;
			}
			off = next;
			continue;
		}
		size_t total = SECCERT_TLV_HEADER_LEN + vlen + pad + SECCERT_TLV_FOOTER_LEN;
		if (total > len - off) {
			seccert_note_defect(img, off,
					    "TLV at offset 0x%zx (type %s subtype %u): padding and CRC "
					    "truncated (entry needs %zu bytes, %zu left)",
					    off, tn, subtype, total, len - off);
			off = len;
			break;
		}
		uint32_t stored = checksum_read_u32le(h + total - SECCERT_TLV_FOOTER_LEN);
		uint32_t calc = checksum_crc32_esp(h, total - SECCERT_TLV_FOOTER_LEN);
		if (stored != calc) {
			/* Skip by the length when it leads to the next entry or the end. When it
			 * does not, a magic before that point means the length was damaged (go
			 * there); otherwise the next header is (go to it, and it is named). */
			size_t next = off + total;
			if (!seccert_is_end(data, len, next, flags) && !seccert_magic_at(data, len, next)) {
				size_t m = seccert_next_magic(data, len, off + 4);
				if (m < next)
					next = m;
			}
			seccert_note_defect(img, off,
					    "TLV at offset 0x%zx (type %s subtype %u): bad CRC (stored "
					    "0x%08x, computed 0x%08x; %zu-byte value not decoded)",
					    off, tn, subtype, stored, calc, vlen);
			off = next;
			continue;
		}
		if (type == SECCERT_TYPE_TLV_END || type == SECCERT_TYPE_INVALID ||
		    subtype == SECCERT_SUBTYPE_INVALID) {
			seccert_note_defect(img, off,
					    "TLV at offset 0x%zx: invalid type %u / subtype %u", off, type,
					    subtype);
			off += total;
			continue;
		}
		if (seccert_find_entry(img, type, subtype)) {
			seccert_note_defect(img, off,
					    "TLV at offset 0x%zx: duplicate type %s subtype %u", off, tn,
					    subtype);
			off += total;
			continue;
		}
		/* The CRC holds, so the entry is as written: decoded, with its flaws named. */
		if (h[5] || h[6] || h[7])
			seccert_note_defect(img, off,
					    "TLV at offset 0x%zx (type %s subtype %u): reserved header "
					    "bytes are not zero",
					    off, tn, subtype);
		for (size_t i = 0; i < pad; i++) {
			if (h[SECCERT_TLV_HEADER_LEN + vlen + i] != 0) {
				seccert_note_defect(img, off,
						    "TLV at offset 0x%zx (type %s subtype %u): padding "
						    "byte at 0x%zx is not zero",
						    off, tn, subtype,
						    off + SECCERT_TLV_HEADER_LEN + vlen + i);
				break;
			}
		}
		if (type == SECCERT_TYPE_INTEGRITY) {
			uint8_t digest[SECCERT_INTEGRITY_LEN];
			mbedtls_sha256_ret(data, off, digest, 0);
			if (vlen != SECCERT_INTEGRITY_LEN ||
			    memcmp(digest, h + SECCERT_TLV_HEADER_LEN, sizeof digest) != 0)
				seccert_note_defect(img, off,
						    "TLV at offset 0x%zx (type %s subtype %u): integrity "
						    "SHA-256 does not match the %zu bytes before it",
						    off, tn, subtype, off);
			else
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
	img->used_len = off < len ? off : len;
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
				struct seccert_image *img)
{
	uint32_t crc = checksum_read_u32le(data + meta_off);
	size_t flen = checksum_read_u16le(data + meta_off + 4);
	if (flen == 0 && optional)
		return 0;
	if (flen == 0) {
		seccert_note_defect(img, meta_off, "legacy metadata at 0x%zx: %s length is 0",
				    meta_off, what);
		return -1;
	}
	if (flen > slot || off + flen > len) {
		seccert_note_defect(img, off,
				    "legacy %s at offset 0x%zx: length %zu runs past its slot or the "
				    "image (%zu bytes)",
				    what, off, flen, len);
		return -1;
	}
	uint32_t calc = checksum_crc32_esp(data + off, flen);
	if (calc != crc) {
		seccert_note_defect(img, off,
				    "legacy %s at offset 0x%zx: bad CRC (stored 0x%08x, computed "
				    "0x%08x)",
				    what, off, crc, calc);
		return -1;
	}
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

/* The fields are independent: each is checked, and decoded when sound, whatever the others. */
static void seccert_parse_legacy(const uint8_t *data, size_t len, bool ds,
				 struct seccert_image *img)
{
	img->layout = ds ? SECCERT_LAYOUT_LEGACY_DS : SECCERT_LAYOUT_LEGACY;
	seccert_legacy_field(data, len, "device certificate", 0, LEGACY_DEV_CERT_OFFSET,
			     LEGACY_DEV_CERT_SIZE, false, SECCERT_TYPE_DEV_CERT, img);
	seccert_legacy_field(data, len, "CA certificate", 8, LEGACY_CA_CERT_OFFSET,
			     LEGACY_CA_CERT_SIZE, true, SECCERT_TYPE_CA_CERT, img);
	if (!ds) {
		seccert_legacy_field(data, len, "private key", 16, LEGACY_KEY_OFFSET,
				     LEGACY_KEY_SIZE, false, SECCERT_TYPE_PRIV_KEY, img);
		return;
	}
	size_t c_len = checksum_read_u16le(data + 20);
	if (c_len != 1200 && c_len != 1584) {
		seccert_note_defect(img, 0x14,
				    "legacy metadata at 0x14: DS ciphertext length %zu is neither "
				    "1200 nor 1584",
				    c_len);
		return;
	}
	/* Each slot is the ciphertext length + 16, so the IV's place follows from C's length. */
	size_t iv_off = LEGACY_KEY_OFFSET + c_len + 16;
	bool sound = true;
	if (seccert_legacy_field(data, len, "DS ciphertext", 16, LEGACY_KEY_OFFSET, c_len, false,
				 SECCERT_TYPE_INVALID, img))
		sound = false;
	if (seccert_legacy_field(data, len, "DS IV", 24, iv_off, DS_IV_LEN, false,
				 SECCERT_TYPE_INVALID, img))
		sound = false;
	if (checksum_read_u16le(data + 28) != DS_IV_LEN) {
		seccert_note_defect(img, 0x1c, "legacy metadata at 0x1c: IV length is not 16");
		sound = false;
	}
	unsigned bits = checksum_read_u16le(data + 30);
	unsigned key_id = data[32];
	if (bits < 1024 || bits > 4096 || bits % 1024 || key_id > 5) {
		seccert_note_defect(img, 0x1e,
				    "legacy metadata at 0x1e: RSA length %u bits / eFuse key id %u "
				    "out of range",
				    bits, key_id);
		sound = false;
	}
	if (!sound)
		return;
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
	mbedtls_platform_zeroize(&p, sizeof p);
	en = seccert_image_push(img);
	en->offset = 0x1e;
	en->type = SECCERT_TYPE_DS_CONTEXT;
	uint8_t ctx[DS_CONTEXT_LEN];
	ds_encode_context(key_id, bits, ctx);
	buf_append_bytes(&en->value, ctx, sizeof ctx);
	en->length = sizeof ctx;
}

/* The message starts with the first defect, as it did when the reader stopped there, then lists
 * the others as far as it holds them and gives the count. */
static int seccert_report_defects(const struct seccert_image *img, err_t *e)
{
	if (img->defect_count == 1)
		return err_set_msg(e, ERR_CHECK, "%s", img->defects[0].text);
	char msg[sizeof e->msg];
	size_t used = 0, shown = 0;
	msg[0] = 0;
	for (; shown < img->defect_count; shown++) {
		const char *t = img->defects[shown].text;
		if (shown && used + strlen(t) + 2 + 40 >= sizeof msg)
			break;
		used += (size_t)snprintf(msg + used, sizeof msg - used, "%s%s", shown ? "; " : "", t);
	}
	if (shown < img->defect_count)
		snprintf(msg + used, sizeof msg - used, "; ... (%zu defects, %zu not shown)",
			 img->defect_count, img->defect_count - shown);
	else
		snprintf(msg + used, sizeof msg - used, " (%zu defects)", img->defect_count);
	return err_set_msg(e, ERR_CHECK, "%s", msg);
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
		seccert_parse_tlv(data, len, flags, img, 0);
	else if (len >= 0x40 && checksum_read_u32le(data + 24) == SECCERT_LEGACY_MAGIC_WORD)
		seccert_parse_legacy(data, len, false, img);
	else if (len >= 0x40 && checksum_read_u32le(data + 36) == SECCERT_LEGACY_MAGIC_WORD)
		seccert_parse_legacy(data, len, true, img);
	else {
		/* The bytes found are not shown: a key file given by mistake must not leak. */
		size_t next = seccert_next_magic(data, len, 4);
		if (next != SIZE_MAX) {
			/* A damaged first header: the entries after it can still be found. */
			seccert_note_defect(img, 0,
					    "offset 0x0: bad TLV magic (expected 11 ba 5e ba); "
					    "%zu bytes skipped to the next magic at 0x%zx",
					    next, next);
			seccert_parse_tlv(data, len, flags, img, next);
		} else {
			seccert_note_defect(img, 0,
				    "offset 0x0: bad TLV magic (expected 11 ba 5e ba) and no "
				    "legacy cust_flash metadata (magic word 0x12345678)");
		}
	}
	if (img->defect_count)
		return seccert_report_defects(img, e);
	return 0;
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
