#include "crypto/keyfile.h"

#include <stdlib.h>
#include <string.h>

#include <mbedtls/asn1.h>
#include <mbedtls/error.h>
#include <mbedtls/oid.h>
#include <mbedtls/pem.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/x509_crt.h>

#define KEYFILE_PEM_CRT_BEGIN "-----BEGIN CERTIFICATE-----\n"
#define KEYFILE_PEM_CRT_END "-----END CERTIFICATE-----\n"
/* Largest traditional key we write: RSA-4096 PKCS#1 DER is about 2.4 KB, its PEM about 3.3 KB. */
#define KEYFILE_KEY_MAX 8192

const char *keyfile_describe_mbedtls_error(int rc, char *buf, size_t n)
{
	mbedtls_strerror(rc, buf, n);
	return buf;
}

bool keyfile_is_pem(const uint8_t *data, size_t len)
{
	static const char tag[] = "-----BEGIN";
	size_t t = sizeof tag - 1;
	for (size_t i = 0; i + t <= len; i++)
		if (memcmp(data + i, tag, t) == 0)
			return true;
	return false;
}

static bool keyfile_is_unsupported_alg(int rc)
{
	int high = -((-rc) & 0xFF80), low = -((-rc) & 0x007F);
	return high == MBEDTLS_ERR_X509_UNKNOWN_SIG_ALG || high == MBEDTLS_ERR_PK_UNKNOWN_PK_ALG ||
	       rc == MBEDTLS_ERR_PK_UNKNOWN_PK_ALG || low == MBEDTLS_ERR_OID_NOT_FOUND;
}

/* Certificate ::= SEQUENCE { tbsCertificate SEQUENCE, signatureAlgorithm SEQUENCE, signature
 * BIT STRING }; *outer = bytes the outer SEQUENCE spans. */
static int keyfile_check_cert_outline(const uint8_t *der, size_t len, size_t *outer)
{
	unsigned char *p = (unsigned char *)der, *end = p + len;
	size_t n;
	if (mbedtls_asn1_get_tag(&p, end, &n, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE))
		return -1;
	*outer = (size_t)(p - der) + n;
	end = p + n;
	if (mbedtls_asn1_get_tag(&p, end, &n, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE))
		return -1;
	p += n;
	if (mbedtls_asn1_get_tag(&p, end, &n, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE))
		return -1;
	p += n;
	if (mbedtls_asn1_get_tag(&p, end, &n, MBEDTLS_ASN1_BIT_STRING))
		return -1;
	p += n;
	return p == end ? 0 : -1;
}

int keyfile_load_cert(const uint8_t *data, size_t len, const char *source, buf_t *der_out,
		      enum keyfile_encoding *enc, err_t *e)
{
	char msg[128];
	int rc;
	if (keyfile_is_pem(data, len)) {
		buf_t text = BUF_INIT;
		buf_append_bytes(&text, data, len);
		buf_terminate_str(&text);
		mbedtls_pem_context pem;
		mbedtls_pem_init(&pem);
		size_t used = 0;
		rc = mbedtls_pem_read_buffer(&pem, "-----BEGIN CERTIFICATE-----",
					     "-----END CERTIFICATE-----", text.data, NULL, 0, &used);
		buf_free_data(&text);
		if (rc != 0) {
			mbedtls_pem_free(&pem);
			return err_set_msg(e, ERR_CHECK, "%s: no PEM certificate could be read (%s)", source,
					   keyfile_describe_mbedtls_error(rc, msg, sizeof msg));
		}
		der_out->len = 0;
		buf_append_bytes(der_out, pem.buf, pem.buflen);
		mbedtls_pem_free(&pem);
		*enc = KEYFILE_PEM;
	} else {
		der_out->len = 0;
		buf_append_bytes(der_out, data, len);
		*enc = KEYFILE_DER;
	}
	mbedtls_x509_crt crt;
	mbedtls_x509_crt_init(&crt);
	rc = mbedtls_x509_crt_parse_der(&crt, der_out->data, der_out->len);
	if (rc != 0 && keyfile_is_unsupported_alg(rc)) {
		/* Algorithms mbedTLS 2.28 lacks (Ed25519, Ed448) are fine for the tools, which store
		 * the certificate's bytes as they are: check the outer structure only. */
		mbedtls_x509_crt_free(&crt);
		size_t outer;
		if (keyfile_check_cert_outline(der_out->data, der_out->len, &outer) != 0)
			return err_set_msg(e, ERR_CHECK, "%s: not a %s X.509 certificate", source,
					   *enc == KEYFILE_PEM ? "PEM" : "DER");
		if (outer != der_out->len)
			return err_set_msg(e, ERR_CHECK, "%s: %zu bytes follow the %s certificate's DER encoding",
					   source, der_out->len - outer, *enc == KEYFILE_PEM ? "PEM" : "DER");
		return 0;
	}
	/* pyca/cryptography, which the reference tools load certificates with, refuses bytes after
	 * the certificate's DER (in a DER file or inside a PEM block); mbedTLS would ignore them. */
	size_t raw_len = rc == 0 ? crt.raw.len : 0;
	mbedtls_x509_crt_free(&crt);
	if (rc == 0 && raw_len != der_out->len)
		return err_set_msg(e, ERR_CHECK, "%s: %zu bytes follow the %s certificate's DER encoding", source,
				   der_out->len - raw_len, *enc == KEYFILE_PEM ? "PEM" : "DER");
	if (rc != 0)
		return err_set_msg(e, ERR_CHECK, "%s: not a %s X.509 certificate (%s)", source,
				   *enc == KEYFILE_PEM ? "PEM" : "DER",
				   keyfile_describe_mbedtls_error(rc, msg, sizeof msg));
	return 0;
}

int keyfile_encode_cert(const uint8_t *der, size_t der_len, enum keyfile_encoding enc, buf_t *out,
			err_t *e)
{
	out->len = 0;
	if (enc == KEYFILE_DER) {
		buf_append_bytes(out, der, der_len);
		return 0;
	}
	size_t cap = der_len * 2 + 128, olen = 0;
	buf_reserve_bytes(out, cap);
	int rc = mbedtls_pem_write_buffer(KEYFILE_PEM_CRT_BEGIN, KEYFILE_PEM_CRT_END, der, der_len,
					  out->data, cap, &olen);
	if (rc != 0)
		return err_set_msg(e, ERR_CHECK, "cannot PEM-encode a certificate of %zu bytes", der_len);
	/* olen counts the terminating NUL, which the stored value keeps. */
	out->len = olen;
	return 0;
}

int keyfile_load_private_key(const uint8_t *data, size_t len, const char *password,
			     const char *source, mbedtls_pk_context *pk, enum keyfile_encoding *enc,
			     err_t *e)
{
	char msg[128];
	int rc;
	const unsigned char *pwd = (const unsigned char *)password;
	size_t pwdlen = password ? strlen(password) : 0;
	if (keyfile_is_pem(data, len)) {
		buf_t text = BUF_INIT;
		buf_append_bytes(&text, data, len);
		buf_append_byte(&text, 0);
		rc = mbedtls_pk_parse_key(pk, text.data, text.len, pwd, pwdlen);
		buf_wipe_data(&text);
		*enc = KEYFILE_PEM;
	} else {
		rc = mbedtls_pk_parse_key(pk, data, len, pwd, pwdlen);
		*enc = KEYFILE_DER;
	}
	if (rc != 0)
		return err_set_msg(e, ERR_CHECK, "%s: not a usable %s private key (%s)", source,
				   *enc == KEYFILE_PEM ? "PEM" : "DER",
				   keyfile_describe_mbedtls_error(rc, msg, sizeof msg));
	mbedtls_pk_type_t t = mbedtls_pk_get_type(pk);
	if (t != MBEDTLS_PK_RSA && t != MBEDTLS_PK_ECKEY && t != MBEDTLS_PK_ECKEY_DH)
		return err_set_msg(e, ERR_CHECK, "%s: only RSA and EC private keys are supported", source);
	return 0;
}

int keyfile_encode_private_key(mbedtls_pk_context *pk, enum keyfile_encoding enc, buf_t *out,
			       err_t *e)
{
	unsigned char *tmp = mem_alloc_zeroed(KEYFILE_KEY_MAX);
	int rc;
	out->len = 0;
	if (enc == KEYFILE_PEM) {
		rc = mbedtls_pk_write_key_pem(pk, tmp, KEYFILE_KEY_MAX);
		if (rc == 0)
			buf_append_bytes(out, tmp, strlen((const char *)tmp) + 1);
	} else {
		rc = mbedtls_pk_write_key_der(pk, tmp, KEYFILE_KEY_MAX);
		if (rc > 0) {
			buf_append_bytes(out, tmp + KEYFILE_KEY_MAX - rc, (size_t)rc);
			rc = 0;
		}
	}
	mbedtls_platform_zeroize(tmp, KEYFILE_KEY_MAX);
	free(tmp);
	if (rc != 0) {
		char msg[128];
		return err_set_msg(e, ERR_CHECK, "cannot encode the private key (%s)",
				   keyfile_describe_mbedtls_error(rc, msg, sizeof msg));
	}
	return 0;
}
