/* cd: the Matter Certification Declaration: its TLV content (format version, VID, PID list,
 * device type, certificate id, security level/info, version, certification type, optional DAC
 * origin VID/PID and authorized PAA list) and the CMS SignedData wrapper signed ECDSA-SHA256 with
 * the signer identified by its subjectKeyIdentifier, as the Matter SDK encodes it. */
#ifndef ESPFAB_CRYPTO_CD_H
#define ESPFAB_CRYPTO_CD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <mbedtls/pk.h>
#include <mbedtls/x509_crt.h>

#include "core/buf.h"
#include "core/err.h"
#include "crypto/attest.h"

#define CD_MAX_PIDS 100
#define CD_MAX_PAA 10
#define CD_CERT_ID_LEN 19

struct cd_content {
	uint8_t format_version;
	uint16_t vendor_id;
	uint16_t product_ids[CD_MAX_PIDS];
	size_t product_id_count;
	uint32_t device_type_id;
	char certificate_id[CD_CERT_ID_LEN + 1];
	uint8_t security_level;
	uint16_t security_information;
	uint16_t version_number;
	uint8_t certification_type; /* 0 development/test, 1 provisional, 2 official */
	bool has_dac_origin;
	uint16_t dac_origin_vid;
	uint16_t dac_origin_pid;
	size_t authorized_paa_count;
	uint8_t authorized_paa[CD_MAX_PAA][20];
};

/* Matter TLV of the content, integers in their shortest width as the SDK writes them. */
int cd_encode_tlv(const struct cd_content *c, buf_t *out, err_t *e);
int cd_decode_tlv(const uint8_t *p, size_t n, struct cd_content *c, err_t *e);

/* CMS SignedData DER around tlv with the given signer key id and DER ECDSA signature. */
int cd_encode_cms(const uint8_t *tlv, size_t tlv_len, const uint8_t *skid, size_t skid_len,
		  const uint8_t *sig, size_t sig_len, buf_t *out, err_t *e);
/* Splits a CMS-wrapped CD into pointers into der: content TLV, signer key id, signature. */
struct cd_cms_parts {
	const uint8_t *tlv;
	size_t tlv_len;
	const uint8_t *skid;
	size_t skid_len;
	const uint8_t *sig;
	size_t sig_len;
};
int cd_split_cms(const uint8_t *der, size_t len, struct cd_cms_parts *parts, err_t *e);

/* Encodes c, signs it with key (whose certificate signer gives the SKID; key must match it). */
int cd_generate(const struct cd_content *c, mbedtls_pk_context *key, const mbedtls_x509_crt *signer,
		buf_t *out, err_t *e);
/* Parses a signed CD; when signer is given, checks the SKID and the signature against it. */
int cd_parse_cms(const uint8_t *der, size_t len, struct cd_content *c,
		 const mbedtls_x509_crt *signer, err_t *e);

/* Refuses a CD whose vendor id or product id list does not cover vid/pid; what names the CD. */
int cd_check_product(const struct cd_content *c, uint16_t vid, uint16_t pid, const char *what, err_t *e);
/* Reads and parses a CD file, then cd_check_product. */
int cd_check_file(const char *path, uint16_t vid, uint16_t pid, err_t *e);

/* The facts the attestation chain check compares (pointers into c). */
void cd_get_facts(const struct cd_content *c, struct attest_cd_facts *f);
/* One "field: value" line per content field. */
void cd_format_text(const struct cd_content *c, buf_t *out);

#endif
