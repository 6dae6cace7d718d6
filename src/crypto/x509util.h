/* x509util: what mbedTLS 2.28 does not expose about a parsed certificate: each v3 extension's raw
 * value and criticality, the subject and authority key identifiers, and copying a parsed name
 * into an x509write name list without going through a lossy string form. */
#ifndef ESPFAB_CRYPTO_X509UTIL_H
#define ESPFAB_CRYPTO_X509UTIL_H

#include <stddef.h>
#include <stdint.h>

#include <mbedtls/asn1.h>
#include <mbedtls/x509_crt.h>

#include "core/err.h"

struct x509util_ext {
	const uint8_t *value; /* content of the extnValue OCTET STRING */
	size_t len;
	int critical;
};

/* oid is the DER content of the OID (e.g. MBEDTLS_OID_KEY_USAGE). Returns 0 when found, 1 when
 * absent, -1 when the extensions are malformed or the OID occurs twice. */
int x509util_find_ext(const mbedtls_x509_crt *crt, const char *oid, size_t oid_len,
		      struct x509util_ext *out);
/* Returns 0 with id and len pointing into crt, 1 when absent, -1 when malformed. */
int x509util_get_skid(const mbedtls_x509_crt *crt, const uint8_t **id, size_t *len);
int x509util_get_akid(const mbedtls_x509_crt *crt, const uint8_t **id, size_t *len);
/* The ready-to-set extnValue of an AuthorityKeyIdentifier holding only keyIdentifier. Writes
 * into out (size n), returns the length or -1. */
int x509util_encode_akid(const uint8_t *id, size_t id_len, uint8_t *out, size_t n);
/* Copies a parsed name into a fresh x509write list that writes the same RDNs, tags and values
 * in the same order (the issuer of a certificate must equal its CA's subject byte for byte). */
int x509util_copy_name(const mbedtls_x509_name *src, mbedtls_asn1_named_data **dst);
/* Prepends one attribute to an x509write name list (which writes the list head as the last
 * RDN), with the given string tag. */
int x509util_add_name_attr(mbedtls_asn1_named_data **list, const char *oid, size_t oid_len,
			   int tag, const void *val, size_t val_len);

#endif
