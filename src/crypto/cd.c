#include "crypto/cd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/asn1write.h>
#include <mbedtls/oid.h>
#include <mbedtls/sha256.h>

#include "core/fileio.h"
#include "core/hex.h"
#include "core/rng.h"
#include "crypto/x509util.h"

/* Matter TLV element types (low 5 bits of the control byte) and tag forms (high 3 bits). */
#define TLV_UINT8 0x04
#define TLV_UTF8_1 0x0C
#define TLV_BYTES_1 0x10
#define TLV_STRUCT 0x15
#define TLV_ARRAY 0x16
#define TLV_END 0x18
#define TLV_TAG_ANON 0x00
#define TLV_TAG_CONTEXT 0x20

enum {
	CD_TAG_FORMAT = 0, CD_TAG_VID, CD_TAG_PIDS, CD_TAG_DEVTYPE, CD_TAG_CERTID, CD_TAG_SECLEVEL,
	CD_TAG_SECINFO, CD_TAG_VERSION, CD_TAG_CERTTYPE, CD_TAG_ORIGIN_VID, CD_TAG_ORIGIN_PID,
	CD_TAG_PAA_LIST,
};

#define OID_PKCS7_DATA "\x2A\x86\x48\x86\xF7\x0D\x01\x07\x01"
#define OID_PKCS7_SIGNED "\x2A\x86\x48\x86\xF7\x0D\x01\x07\x02"

static void tlv_put_uint(buf_t *b, int tag, uint64_t v)
{
	uint8_t ctl = tag < 0 ? TLV_TAG_ANON : TLV_TAG_CONTEXT;
	int width = v <= 0xFF ? 0 : v <= 0xFFFF ? 1 : v <= 0xFFFFFFFFu ? 2 : 3;
	buf_append_byte(b, (uint8_t)(ctl | (TLV_UINT8 + width)));
	if (tag >= 0)
		buf_append_byte(b, (uint8_t)tag);
	for (int i = 0; i < (1 << width); i++)
		buf_append_byte(b, (uint8_t)(v >> (8 * i)));
}

static void tlv_put_head(buf_t *b, int tag, uint8_t type)
{
	buf_append_byte(b, (uint8_t)((tag < 0 ? TLV_TAG_ANON : TLV_TAG_CONTEXT) | type));
	if (tag >= 0)
		buf_append_byte(b, (uint8_t)tag);
}

int cd_encode_tlv(const struct cd_content *c, buf_t *out, err_t *e)
{
	if (c->product_id_count == 0 || c->product_id_count > CD_MAX_PIDS)
		return err_set_msg(e, ERR_CHECK, "CD: product_id_array needs 1..%d entries (has %zu)",
				   CD_MAX_PIDS, c->product_id_count);
	if (strlen(c->certificate_id) != CD_CERT_ID_LEN)
		return err_set_msg(e, ERR_CHECK, "CD: certificate_id '%s' must be exactly %d characters",
				   c->certificate_id, CD_CERT_ID_LEN);
	if (c->authorized_paa_count > CD_MAX_PAA)
		return err_set_msg(e, ERR_CHECK, "CD: at most %d authorized PAAs", CD_MAX_PAA);
	tlv_put_head(out, -1, TLV_STRUCT);
	tlv_put_uint(out, CD_TAG_FORMAT, c->format_version);
	tlv_put_uint(out, CD_TAG_VID, c->vendor_id);
	tlv_put_head(out, CD_TAG_PIDS, TLV_ARRAY);
	for (size_t i = 0; i < c->product_id_count; i++)
		tlv_put_uint(out, -1, c->product_ids[i]);
	buf_append_byte(out, TLV_END);
	tlv_put_uint(out, CD_TAG_DEVTYPE, c->device_type_id);
	tlv_put_head(out, CD_TAG_CERTID, TLV_UTF8_1);
	buf_append_byte(out, CD_CERT_ID_LEN);
	buf_append_bytes(out, c->certificate_id, CD_CERT_ID_LEN);
	tlv_put_uint(out, CD_TAG_SECLEVEL, c->security_level);
	tlv_put_uint(out, CD_TAG_SECINFO, c->security_information);
	tlv_put_uint(out, CD_TAG_VERSION, c->version_number);
	tlv_put_uint(out, CD_TAG_CERTTYPE, c->certification_type);
	if (c->has_dac_origin) {
		tlv_put_uint(out, CD_TAG_ORIGIN_VID, c->dac_origin_vid);
		tlv_put_uint(out, CD_TAG_ORIGIN_PID, c->dac_origin_pid);
	}
	if (c->authorized_paa_count) {
		tlv_put_head(out, CD_TAG_PAA_LIST, TLV_ARRAY);
		for (size_t i = 0; i < c->authorized_paa_count; i++) {
			tlv_put_head(out, -1, TLV_BYTES_1);
			buf_append_byte(out, 20);
			buf_append_bytes(out, c->authorized_paa[i], 20);
		}
		buf_append_byte(out, TLV_END);
	}
	buf_append_byte(out, TLV_END);
	return 0;
}

/* ---- TLV reading ---- */

struct tlv_elem {
	int tag;          /* -1 anonymous, else the context tag */
	uint8_t type;     /* element type, low 5 bits */
	uint64_t uval;    /* unsigned integers */
	const uint8_t *data; /* strings */
	size_t len;
};

struct tlv_reader {
	const uint8_t *p, *end;
	size_t off0;
	const uint8_t *start;
};

static int tlv_next(struct tlv_reader *r, struct tlv_elem *el, err_t *e)
{
	size_t off = (size_t)(r->p - r->start);
	if (r->p >= r->end)
		return err_set_msg(e, ERR_CHECK, "CD TLV: truncated at offset %zu", off);
	uint8_t ctl = *r->p++;
	uint8_t tagform = ctl & 0xE0;
	el->type = ctl & 0x1F;
	el->tag = -1;
	if (tagform == TLV_TAG_CONTEXT) {
		if (r->p >= r->end)
			return err_set_msg(e, ERR_CHECK, "CD TLV: truncated tag at offset %zu", off);
		el->tag = *r->p++;
	} else if (tagform != TLV_TAG_ANON) {
		return err_set_msg(e, ERR_CHECK, "CD TLV: unsupported tag form 0x%02x at offset %zu", ctl, off);
	}
	if (el->type >= 0x04 && el->type <= 0x07) {
		size_t w = (size_t)1 << (el->type - 0x04);
		if ((size_t)(r->end - r->p) < w)
			return err_set_msg(e, ERR_CHECK, "CD TLV: truncated integer at offset %zu", off);
		el->uval = 0;
		for (size_t i = 0; i < w; i++)
			el->uval |= (uint64_t)r->p[i] << (8 * i);
		r->p += w;
	} else if ((el->type >= 0x0C && el->type <= 0x13)) {
		size_t w = (size_t)1 << ((el->type - 0x0C) & 3);
		if ((size_t)(r->end - r->p) < w || w > 4)
			return err_set_msg(e, ERR_CHECK, "CD TLV: bad string length at offset %zu", off);
		size_t len = 0;
		for (size_t i = 0; i < w; i++)
			len |= (size_t)r->p[i] << (8 * i);
		r->p += w;
		if ((size_t)(r->end - r->p) < len)
			return err_set_msg(e, ERR_CHECK, "CD TLV: string overruns the data at offset %zu", off);
		el->data = r->p;
		el->len = len;
		r->p += len;
	} else if (el->type != TLV_STRUCT && el->type != TLV_ARRAY && el->type != TLV_END &&
		   el->type != 0x17) {
		return err_set_msg(e, ERR_CHECK, "CD TLV: unexpected element type 0x%02x at offset %zu",
				   el->type, off);
	}
	return 0;
}

static int tlv_expect_uint(struct tlv_reader *r, int tag, const char *name, uint64_t max, uint64_t *v,
			   err_t *e)
{
	struct tlv_elem el = {0};
	if (tlv_next(r, &el, e))
		return -1;
	if (el.tag != tag || el.type < 0x04 || el.type > 0x07)
		return err_set_msg(e, ERR_CHECK, "CD TLV: expected %s (context tag %d, unsigned)", name, tag);
	if (el.uval > max)
		return err_set_msg(e, ERR_CHECK, "CD TLV: %s %llu is out of range", name,
				   (unsigned long long)el.uval);
	*v = el.uval;
	return 0;
}

int cd_decode_tlv(const uint8_t *p, size_t n, struct cd_content *c, err_t *e)
{
	memset(c, 0, sizeof *c);
	struct tlv_reader r = {p, p + n, 0, p};
	struct tlv_elem el = {0};
	uint64_t v = 0;
	if (tlv_next(&r, &el, e))
		return -1;
	if (el.type != TLV_STRUCT || el.tag != -1)
		return err_set_msg(e, ERR_CHECK, "CD TLV: must start with an anonymous structure");
	if (tlv_expect_uint(&r, CD_TAG_FORMAT, "format_version", 0xFF, &v, e))
		return -1;
	c->format_version = (uint8_t)v;
	if (tlv_expect_uint(&r, CD_TAG_VID, "vendor_id", 0xFFFF, &v, e))
		return -1;
	c->vendor_id = (uint16_t)v;
	if (tlv_next(&r, &el, e))
		return -1;
	if (el.tag != CD_TAG_PIDS || el.type != TLV_ARRAY)
		return err_set_msg(e, ERR_CHECK, "CD TLV: expected product_id_array (context tag 2, array)");
	for (;;) {
		if (tlv_next(&r, &el, e))
			return -1;
		if (el.type == TLV_END)
			break;
		if (el.tag != -1 || el.type < 0x04 || el.type > 0x07 || el.uval > 0xFFFF)
			return err_set_msg(e, ERR_CHECK, "CD TLV: product_id_array holds a non-uint16 element");
		if (c->product_id_count >= CD_MAX_PIDS)
			return err_set_msg(e, ERR_CHECK, "CD TLV: more than %d product ids", CD_MAX_PIDS);
		c->product_ids[c->product_id_count++] = (uint16_t)el.uval;
	}
	if (c->product_id_count == 0)
		return err_set_msg(e, ERR_CHECK, "CD TLV: product_id_array is empty");
	if (tlv_expect_uint(&r, CD_TAG_DEVTYPE, "device_type_id", 0xFFFFFFFFu, &v, e))
		return -1;
	c->device_type_id = (uint32_t)v;
	if (tlv_next(&r, &el, e))
		return -1;
	if (el.tag != CD_TAG_CERTID || el.type < 0x0C || el.type > 0x0F)
		return err_set_msg(e, ERR_CHECK, "CD TLV: expected certificate_id (context tag 4, UTF-8 string)");
	if (el.len != CD_CERT_ID_LEN)
		return err_set_msg(e, ERR_CHECK, "CD TLV: certificate_id is %zu characters, %d required", el.len,
				   CD_CERT_ID_LEN);
	memcpy(c->certificate_id, el.data, el.len);
	c->certificate_id[el.len] = 0;
	if (tlv_expect_uint(&r, CD_TAG_SECLEVEL, "security_level", 0xFF, &v, e))
		return -1;
	c->security_level = (uint8_t)v;
	if (tlv_expect_uint(&r, CD_TAG_SECINFO, "security_information", 0xFFFF, &v, e))
		return -1;
	c->security_information = (uint16_t)v;
	if (tlv_expect_uint(&r, CD_TAG_VERSION, "version_number", 0xFFFF, &v, e))
		return -1;
	c->version_number = (uint16_t)v;
	if (tlv_expect_uint(&r, CD_TAG_CERTTYPE, "certification_type", 0xFF, &v, e))
		return -1;
	c->certification_type = (uint8_t)v;
	if (tlv_next(&r, &el, e))
		return -1;
	if (el.tag == CD_TAG_ORIGIN_VID) {
		if (el.type < 0x04 || el.type > 0x07 || el.uval > 0xFFFF)
			return err_set_msg(e, ERR_CHECK, "CD TLV: dac_origin_vendor_id is not a uint16");
		c->dac_origin_vid = (uint16_t)el.uval;
		if (tlv_expect_uint(&r, CD_TAG_ORIGIN_PID, "dac_origin_product_id", 0xFFFF, &v, e))
			return -1;
		c->dac_origin_pid = (uint16_t)v;
		c->has_dac_origin = true;
		if (tlv_next(&r, &el, e))
			return -1;
	} else if (el.tag == CD_TAG_ORIGIN_PID) {
		return err_set_msg(e, ERR_CHECK, "CD TLV: dac_origin_product_id without dac_origin_vendor_id");
	}
	if (el.tag == CD_TAG_PAA_LIST) {
		if (el.type != TLV_ARRAY)
			return err_set_msg(e, ERR_CHECK, "CD TLV: authorized_paa_list is not an array");
		for (;;) {
			if (tlv_next(&r, &el, e))
				return -1;
			if (el.type == TLV_END)
				break;
			if (el.tag != -1 || el.type < 0x10 || el.type > 0x13 || el.len != 20)
				return err_set_msg(e, ERR_CHECK, "CD TLV: authorized_paa_list entry is not a 20-byte key id");
			if (c->authorized_paa_count >= CD_MAX_PAA)
				return err_set_msg(e, ERR_CHECK, "CD TLV: more than %d authorized PAAs", CD_MAX_PAA);
			memcpy(c->authorized_paa[c->authorized_paa_count++], el.data, 20);
		}
		if (tlv_next(&r, &el, e))
			return -1;
	}
	if (el.type != TLV_END || el.tag != -1)
		return err_set_msg(e, ERR_CHECK, "CD TLV: unexpected element (tag %d) before the end of the structure",
				   el.tag);
	if (r.p != r.end)
		return err_set_msg(e, ERR_CHECK, "CD TLV: %zu trailing bytes", (size_t)(r.end - r.p));
	return 0;
}

/* ---- CMS ---- */

static int cd_write_alg(unsigned char **c, unsigned char *start, const char *oid, size_t oid_len)
{
	int ret;
	size_t len = 0;
	MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_oid(c, start, oid, oid_len));
	MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_len(c, start, len));
	MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_tag(c, start, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE));
	return (int)len;
}

static int cd_write_cms(unsigned char *buf, size_t size, const uint8_t *tlv, size_t tlv_len,
			const uint8_t *skid, size_t skid_len, const uint8_t *sig, size_t sig_len,
			unsigned char **outp)
{
	unsigned char *c = buf + size;
	int ret;
	size_t si = 0, all = 0, eci = 0, da = 0;
	/* SignerInfo, written backwards. */
	MBEDTLS_ASN1_CHK_ADD(si, mbedtls_asn1_write_octet_string(&c, buf, sig, sig_len));
	MBEDTLS_ASN1_CHK_ADD(si, cd_write_alg(&c, buf, MBEDTLS_OID_ECDSA_SHA256, MBEDTLS_OID_SIZE(MBEDTLS_OID_ECDSA_SHA256)));
	MBEDTLS_ASN1_CHK_ADD(si, cd_write_alg(&c, buf, MBEDTLS_OID_DIGEST_ALG_SHA256, MBEDTLS_OID_SIZE(MBEDTLS_OID_DIGEST_ALG_SHA256)));
	MBEDTLS_ASN1_CHK_ADD(si, mbedtls_asn1_write_raw_buffer(&c, buf, skid, skid_len));
	MBEDTLS_ASN1_CHK_ADD(si, mbedtls_asn1_write_len(&c, buf, skid_len));
	MBEDTLS_ASN1_CHK_ADD(si, mbedtls_asn1_write_tag(&c, buf, MBEDTLS_ASN1_CONTEXT_SPECIFIC | 0));
	MBEDTLS_ASN1_CHK_ADD(si, mbedtls_asn1_write_int(&c, buf, 3));
	MBEDTLS_ASN1_CHK_ADD(si, mbedtls_asn1_write_len(&c, buf, si));
	MBEDTLS_ASN1_CHK_ADD(si, mbedtls_asn1_write_tag(&c, buf, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE));
	MBEDTLS_ASN1_CHK_ADD(si, mbedtls_asn1_write_len(&c, buf, si));
	MBEDTLS_ASN1_CHK_ADD(si, mbedtls_asn1_write_tag(&c, buf, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SET));
	/* encapContentInfo { pkcs7-data, [0] EXPLICIT OCTET STRING tlv } */
	MBEDTLS_ASN1_CHK_ADD(eci, mbedtls_asn1_write_octet_string(&c, buf, tlv, tlv_len));
	MBEDTLS_ASN1_CHK_ADD(eci, mbedtls_asn1_write_len(&c, buf, eci));
	MBEDTLS_ASN1_CHK_ADD(eci, mbedtls_asn1_write_tag(&c, buf, MBEDTLS_ASN1_CONTEXT_SPECIFIC | MBEDTLS_ASN1_CONSTRUCTED | 0));
	MBEDTLS_ASN1_CHK_ADD(eci, mbedtls_asn1_write_oid(&c, buf, OID_PKCS7_DATA, MBEDTLS_OID_SIZE(OID_PKCS7_DATA)));
	MBEDTLS_ASN1_CHK_ADD(eci, mbedtls_asn1_write_len(&c, buf, eci));
	MBEDTLS_ASN1_CHK_ADD(eci, mbedtls_asn1_write_tag(&c, buf, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE));
	/* digestAlgorithms SET { sha256 } */
	MBEDTLS_ASN1_CHK_ADD(da, cd_write_alg(&c, buf, MBEDTLS_OID_DIGEST_ALG_SHA256, MBEDTLS_OID_SIZE(MBEDTLS_OID_DIGEST_ALG_SHA256)));
	MBEDTLS_ASN1_CHK_ADD(da, mbedtls_asn1_write_len(&c, buf, da));
	MBEDTLS_ASN1_CHK_ADD(da, mbedtls_asn1_write_tag(&c, buf, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SET));
	all = si + eci + da;
	MBEDTLS_ASN1_CHK_ADD(all, mbedtls_asn1_write_int(&c, buf, 3));
	MBEDTLS_ASN1_CHK_ADD(all, mbedtls_asn1_write_len(&c, buf, all));
	MBEDTLS_ASN1_CHK_ADD(all, mbedtls_asn1_write_tag(&c, buf, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE));
	MBEDTLS_ASN1_CHK_ADD(all, mbedtls_asn1_write_len(&c, buf, all));
	MBEDTLS_ASN1_CHK_ADD(all, mbedtls_asn1_write_tag(&c, buf, MBEDTLS_ASN1_CONTEXT_SPECIFIC | MBEDTLS_ASN1_CONSTRUCTED | 0));
	MBEDTLS_ASN1_CHK_ADD(all, mbedtls_asn1_write_oid(&c, buf, OID_PKCS7_SIGNED, MBEDTLS_OID_SIZE(OID_PKCS7_SIGNED)));
	MBEDTLS_ASN1_CHK_ADD(all, mbedtls_asn1_write_len(&c, buf, all));
	MBEDTLS_ASN1_CHK_ADD(all, mbedtls_asn1_write_tag(&c, buf, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE));
	*outp = c;
	return (int)all;
}

int cd_encode_cms(const uint8_t *tlv, size_t tlv_len, const uint8_t *skid, size_t skid_len,
		  const uint8_t *sig, size_t sig_len, buf_t *out, err_t *e)
{
	size_t size = tlv_len + skid_len + sig_len + 256;
	unsigned char *buf = mem_alloc_zeroed(size), *start;
	int n = cd_write_cms(buf, size, tlv, tlv_len, skid, skid_len, sig, sig_len, &start);
	if (n < 0) {
		free(buf);
		return err_set_msg(e, ERR_CHECK, "CD: CMS encoding failed (-0x%04x)", (unsigned)-n);
	}
	buf_append_bytes(out, start, (size_t)n);
	free(buf);
	return 0;
}

static int cd_get(unsigned char **p, const unsigned char *end, size_t *len, int tag, const char *what,
		  err_t *e)
{
	if (mbedtls_asn1_get_tag(p, end, len, tag))
		return err_set_msg(e, ERR_CHECK, "CD CMS: %s missing or malformed", what);
	return 0;
}

static int cd_expect_alg(unsigned char **p, const unsigned char *end, const char *oid, size_t oid_len,
			 const char *what, err_t *e)
{
	size_t len, olen;
	if (cd_get(p, end, &len, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE, what, e))
		return -1;
	unsigned char *aend = *p + len;
	if (cd_get(p, aend, &olen, MBEDTLS_ASN1_OID, what, e))
		return -1;
	if (olen != oid_len || memcmp(*p, oid, oid_len))
		return err_set_msg(e, ERR_CHECK, "CD CMS: %s is not the required algorithm", what);
	*p = aend; /* absent or NULL parameters */
	return 0;
}

static int cd_expect_int(unsigned char **p, const unsigned char *end, int want, const char *what, err_t *e)
{
	int v;
	if (mbedtls_asn1_get_int(p, end, &v))
		return err_set_msg(e, ERR_CHECK, "CD CMS: %s missing", what);
	if (v != want)
		return err_set_msg(e, ERR_CHECK, "CD CMS: %s is %d, %d required", what, v, want);
	return 0;
}

int cd_split_cms(const uint8_t *der, size_t n, struct cd_cms_parts *parts, err_t *e)
{
	unsigned char *p = (unsigned char *)der, *end = p + n;
	size_t len;
	const int SEQ = MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE;
	const int SET = MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SET;
	const int CTX0 = MBEDTLS_ASN1_CONTEXT_SPECIFIC | MBEDTLS_ASN1_CONSTRUCTED | 0;
	if (cd_get(&p, end, &len, SEQ, "ContentInfo", e))
		return -1;
	if (p + len != end)
		return err_set_msg(e, ERR_CHECK, "CD CMS: %zu bytes after the ContentInfo", (size_t)(end - p - len));
	if (cd_get(&p, end, &len, MBEDTLS_ASN1_OID, "contentType", e))
		return -1;
	if (len != MBEDTLS_OID_SIZE(OID_PKCS7_SIGNED) || memcmp(p, OID_PKCS7_SIGNED, len))
		return err_set_msg(e, ERR_CHECK, "CD CMS: contentType is not signedData");
	p += len;
	if (cd_get(&p, end, &len, CTX0, "[0] content", e) || cd_get(&p, end, &len, SEQ, "SignedData", e))
		return -1;
	end = p + len;
	if (cd_expect_int(&p, end, 3, "SignedData version", e))
		return -1;
	if (cd_get(&p, end, &len, SET, "digestAlgorithms", e))
		return -1;
	unsigned char *dend = p + len;
	if (cd_expect_alg(&p, dend, MBEDTLS_OID_DIGEST_ALG_SHA256, MBEDTLS_OID_SIZE(MBEDTLS_OID_DIGEST_ALG_SHA256),
			  "digestAlgorithm", e))
		return -1;
	if (p != dend)
		return err_set_msg(e, ERR_CHECK, "CD CMS: more than one digestAlgorithm");
	if (cd_get(&p, end, &len, SEQ, "encapContentInfo", e))
		return -1;
	unsigned char *eend = p + len;
	if (cd_get(&p, eend, &len, MBEDTLS_ASN1_OID, "eContentType", e))
		return -1;
	if (len != MBEDTLS_OID_SIZE(OID_PKCS7_DATA) || memcmp(p, OID_PKCS7_DATA, len))
		return err_set_msg(e, ERR_CHECK, "CD CMS: eContentType is not pkcs7-data");
	p += len;
	if (cd_get(&p, eend, &len, CTX0, "eContent", e) ||
	    cd_get(&p, eend, &len, MBEDTLS_ASN1_OCTET_STRING, "eContent OCTET STRING", e))
		return -1;
	parts->tlv = p;
	parts->tlv_len = len;
	p = eend;
	/* The Matter CD carries no certificates or CRLs; skip them if present. */
	while (p < end && (*p == (MBEDTLS_ASN1_CONTEXT_SPECIFIC | MBEDTLS_ASN1_CONSTRUCTED | 0) ||
			   *p == (MBEDTLS_ASN1_CONTEXT_SPECIFIC | MBEDTLS_ASN1_CONSTRUCTED | 1))) {
		if (mbedtls_asn1_get_tag(&p, end, &len, *p))
			return err_set_msg(e, ERR_CHECK, "CD CMS: malformed certificates/crls");
		p += len;
	}
	if (cd_get(&p, end, &len, SET, "signerInfos", e))
		return -1;
	unsigned char *send = p + len;
	if (cd_get(&p, send, &len, SEQ, "SignerInfo", e))
		return -1;
	if (p + len != send)
		return err_set_msg(e, ERR_CHECK, "CD CMS: exactly one SignerInfo required");
	if (cd_expect_int(&p, send, 3, "SignerInfo version", e))
		return -1;
	if (cd_get(&p, send, &len, MBEDTLS_ASN1_CONTEXT_SPECIFIC | 0, "signer subjectKeyIdentifier", e))
		return -1;
	parts->skid = p;
	parts->skid_len = len;
	p += len;
	if (cd_expect_alg(&p, send, MBEDTLS_OID_DIGEST_ALG_SHA256, MBEDTLS_OID_SIZE(MBEDTLS_OID_DIGEST_ALG_SHA256),
			  "SignerInfo digestAlgorithm", e))
		return -1;
	if (p < send && *p == (MBEDTLS_ASN1_CONTEXT_SPECIFIC | MBEDTLS_ASN1_CONSTRUCTED | 0))
		return err_set_msg(e, ERR_CHECK, "CD CMS: signed attributes are not allowed");
	if (cd_expect_alg(&p, send, MBEDTLS_OID_ECDSA_SHA256, MBEDTLS_OID_SIZE(MBEDTLS_OID_ECDSA_SHA256),
			  "signatureAlgorithm", e))
		return -1;
	if (cd_get(&p, send, &len, MBEDTLS_ASN1_OCTET_STRING, "signature", e))
		return -1;
	parts->sig = p;
	parts->sig_len = len;
	return 0;
}

static int cd_signer_skid(const mbedtls_x509_crt *signer, const uint8_t **skid, size_t *len, err_t *e)
{
	int r = x509util_get_skid(signer, skid, len);
	if (r)
		return err_set_msg(e, ERR_CHECK, "CD signing certificate: subjectKeyIdentifier %s",
				   r < 0 ? "malformed" : "missing");
	return 0;
}

int cd_generate(const struct cd_content *c, mbedtls_pk_context *key, const mbedtls_x509_crt *signer,
		buf_t *out, err_t *e)
{
	const uint8_t *skid;
	size_t skid_len;
	if (cd_signer_skid(signer, &skid, &skid_len, e))
		return -1;
	if (mbedtls_pk_check_pair(&signer->pk, key) != 0)
		return err_set_msg(e, ERR_CHECK, "CD: the signing key does not match the signing certificate");
	buf_t tlv = BUF_INIT;
	uint8_t hash[32], sig[MBEDTLS_PK_SIGNATURE_MAX_SIZE];
	size_t sig_len = 0;
	int rc = -1;
	if (cd_encode_tlv(c, &tlv, e))
		goto done;
	if (mbedtls_sha256_ret(tlv.data, tlv.len, hash, 0)) {
		err_set_msg(e, ERR_CHECK, "CD: SHA-256 failed");
		goto done;
	}
	int ret = mbedtls_pk_sign(key, MBEDTLS_MD_SHA256, hash, sizeof hash, sig, &sig_len,
				  rng_mbedtls_callback, NULL);
	if (ret) {
		err_set_msg(e, ERR_CHECK, "CD: signing failed (-0x%04x)", (unsigned)-ret);
		goto done;
	}
	rc = cd_encode_cms(tlv.data, tlv.len, skid, skid_len, sig, sig_len, out, e);
done:
	buf_free_data(&tlv);
	return rc;
}

int cd_parse_cms(const uint8_t *der, size_t len, struct cd_content *c,
		 const mbedtls_x509_crt *signer, err_t *e)
{
	struct cd_cms_parts parts;
	if (cd_split_cms(der, len, &parts, e) || cd_decode_tlv(parts.tlv, parts.tlv_len, c, e))
		return -1;
	if (!signer)
		return 0;
	const uint8_t *skid;
	size_t skid_len;
	if (cd_signer_skid(signer, &skid, &skid_len, e))
		return -1;
	if (skid_len != parts.skid_len || memcmp(skid, parts.skid, skid_len))
		return err_set_msg(e, ERR_CHECK,
				   "CD: signer key identifier does not match the certificate's subjectKeyIdentifier");
	uint8_t hash[32];
	if (mbedtls_sha256_ret(parts.tlv, parts.tlv_len, hash, 0) ||
	    mbedtls_pk_verify((mbedtls_pk_context *)&signer->pk, MBEDTLS_MD_SHA256, hash, sizeof hash,
			      parts.sig, parts.sig_len) != 0)
		return err_set_msg(e, ERR_CHECK, "CD: signature does not verify with the signing certificate");
	return 0;
}

void cd_get_facts(const struct cd_content *c, struct attest_cd_facts *f)
{
	f->vendor_id = c->vendor_id;
	f->product_ids = c->product_ids;
	f->product_id_count = c->product_id_count;
	f->has_dac_origin = c->has_dac_origin;
	f->dac_origin_vid = c->dac_origin_vid;
	f->dac_origin_pid = c->dac_origin_pid;
	f->authorized_paa = (const uint8_t(*)[20])c->authorized_paa;
	f->authorized_paa_count = c->authorized_paa_count;
}

void cd_format_text(const struct cd_content *c, buf_t *out)
{
	char line[512];
	snprintf(line, sizeof line, "format_version: %u\nvendor_id: 0x%04X\nproduct_id_array:",
		 c->format_version, c->vendor_id);
	buf_append_str(out, line);
	for (size_t i = 0; i < c->product_id_count; i++) {
		snprintf(line, sizeof line, " 0x%04X", c->product_ids[i]);
		buf_append_str(out, line);
	}
	snprintf(line, sizeof line,
		 "\ndevice_type_id: 0x%04X\ncertificate_id: %s\nsecurity_level: %u\n"
		 "security_information: %u\nversion_number: %u (0x%04X)\ncertification_type: %u (%s)\n",
		 c->device_type_id, c->certificate_id, c->security_level, c->security_information,
		 c->version_number, c->version_number, c->certification_type,
		 c->certification_type == 0 ? "development and test" :
		 c->certification_type == 1 ? "provisional" : c->certification_type == 2 ? "official" : "invalid");
	buf_append_str(out, line);
	if (c->has_dac_origin) {
		snprintf(line, sizeof line, "dac_origin_vendor_id: 0x%04X\ndac_origin_product_id: 0x%04X\n",
			 c->dac_origin_vid, c->dac_origin_pid);
		buf_append_str(out, line);
	}
	for (size_t i = 0; i < c->authorized_paa_count; i++) {
		char hex[41];
		hex_encode_bytes(c->authorized_paa[i], 20, hex);
		snprintf(line, sizeof line, "authorized_paa: %s\n", hex);
		buf_append_str(out, line);
	}
	buf_terminate_str(out);
}

int cd_check_product(const struct cd_content *c, uint16_t vid, uint16_t pid, const char *what, err_t *e)
{
	bool listed = false;
	for (size_t i = 0; i < c->product_id_count; i++)
		listed |= c->product_ids[i] == pid;
	if (c->vendor_id != vid || !listed)
		return err_set_msg(e, ERR_CHECK, "%s: the CD (VID 0x%04X) does not cover VID 0x%04X PID 0x%04X",
				   what, c->vendor_id, vid, pid);
	return 0;
}

int cd_check_file(const char *path, uint16_t vid, uint16_t pid, err_t *e)
{
	buf_t b = BUF_INIT;
	struct cd_content c;
	int rc = fileio_read_file(path, &b, e) || cd_parse_cms(b.data, b.len, &c, NULL, e)
			 ? err_prepend_context(e, "%s", path)
			 : cd_check_product(&c, vid, pid, path, e);
	buf_free_data(&b);
	return rc;
}
