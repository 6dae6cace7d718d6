#include "crypto/x509util.h"

#include <string.h>

#include <mbedtls/asn1write.h>
#include <mbedtls/oid.h>
#include <mbedtls/platform.h>

int x509util_find_ext(const mbedtls_x509_crt *crt, const char *oid, size_t oid_len,
		      struct x509util_ext *out)
{
	int found = 0;
	if (!crt->v3_ext.p || crt->v3_ext.len == 0)
		return 1;
	/* v3_ext points at the SEQUENCE OF Extension inside the [3] wrapper. */
	unsigned char *p = crt->v3_ext.p, *end = crt->v3_ext.p + crt->v3_ext.len;
	size_t len;
	if (mbedtls_asn1_get_tag(&p, end, &len, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE))
		return -1;
	end = p + len;
	while (p < end) {
		size_t elen, olen, vlen;
		if (mbedtls_asn1_get_tag(&p, end, &elen, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE))
			return -1;
		unsigned char *eend = p + elen;
		if (mbedtls_asn1_get_tag(&p, eend, &olen, MBEDTLS_ASN1_OID))
			return -1;
		const unsigned char *o = p;
		p += olen;
		int critical = 0;
		if (p < eend && *p == MBEDTLS_ASN1_BOOLEAN && mbedtls_asn1_get_bool(&p, eend, &critical))
			return -1;
		if (mbedtls_asn1_get_tag(&p, eend, &vlen, MBEDTLS_ASN1_OCTET_STRING) || p + vlen != eend)
			return -1;
		if (olen == oid_len && memcmp(o, oid, oid_len) == 0) {
			if (found)
				return -1;
			found = 1;
			out->value = p;
			out->len = vlen;
			out->critical = critical;
		}
		p = eend;
	}
	return found ? 0 : 1;
}

int x509util_get_skid(const mbedtls_x509_crt *crt, const uint8_t **id, size_t *len)
{
	struct x509util_ext x;
	int r = x509util_find_ext(crt, MBEDTLS_OID_SUBJECT_KEY_IDENTIFIER,
				  MBEDTLS_OID_SIZE(MBEDTLS_OID_SUBJECT_KEY_IDENTIFIER), &x);
	if (r)
		return r;
	unsigned char *p = (unsigned char *)x.value;
	if (mbedtls_asn1_get_tag(&p, p + x.len, len, MBEDTLS_ASN1_OCTET_STRING) || p + *len != x.value + x.len)
		return -1;
	*id = p;
	return 0;
}

int x509util_get_akid(const mbedtls_x509_crt *crt, const uint8_t **id, size_t *len)
{
	struct x509util_ext x;
	int r = x509util_find_ext(crt, MBEDTLS_OID_AUTHORITY_KEY_IDENTIFIER,
				  MBEDTLS_OID_SIZE(MBEDTLS_OID_AUTHORITY_KEY_IDENTIFIER), &x);
	if (r)
		return r;
	unsigned char *p = (unsigned char *)x.value, *end = p + x.len;
	size_t slen;
	if (mbedtls_asn1_get_tag(&p, end, &slen, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE))
		return -1;
	end = p + slen;
	/* keyIdentifier is [0] IMPLICIT OCTET STRING; issuer/serial alternatives are not used. */
	if (mbedtls_asn1_get_tag(&p, end, len, MBEDTLS_ASN1_CONTEXT_SPECIFIC | 0))
		return 1;
	*id = p;
	return 0;
}

int x509util_encode_akid(const uint8_t *id, size_t id_len, uint8_t *out, size_t n)
{
	unsigned char *c = out + n;
	int ret;
	size_t len = 0;
	MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_raw_buffer(&c, out, id, id_len));
	MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_len(&c, out, len));
	MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_tag(&c, out, MBEDTLS_ASN1_CONTEXT_SPECIFIC | 0));
	MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_len(&c, out, len));
	MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_tag(&c, out, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE));
	memmove(out, c, len);
	return (int)len;
}

int x509util_add_name_attr(mbedtls_asn1_named_data **list, const char *oid, size_t oid_len,
			   int tag, const void *val, size_t val_len)
{
	mbedtls_asn1_named_data *d = mbedtls_calloc(1, sizeof *d);
	if (!d)
		return -1;
	d->oid.p = mbedtls_calloc(1, oid_len);
	d->val.p = mbedtls_calloc(1, val_len ? val_len : 1);
	if (!d->oid.p || !d->val.p) {
		mbedtls_free(d->oid.p);
		mbedtls_free(d->val.p);
		mbedtls_free(d);
		return -1;
	}
	memcpy(d->oid.p, oid, oid_len);
	d->oid.len = oid_len;
	d->oid.tag = MBEDTLS_ASN1_OID;
	memcpy(d->val.p, val, val_len);
	d->val.len = val_len;
	d->val.tag = tag;
	d->next = *list;
	*list = d;
	return 0;
}

int x509util_copy_name(const mbedtls_x509_name *src, mbedtls_asn1_named_data **dst)
{
	/* The writer emits the list head last, so prepending in source order keeps the order. */
	for (const mbedtls_x509_name *n = src; n; n = n->next) {
		if (!n->oid.p)
			continue;
		if (x509util_add_name_attr(dst, (const char *)n->oid.p, n->oid.len, n->val.tag, n->val.p,
					   n->val.len))
			return -1;
	}
	return 0;
}
