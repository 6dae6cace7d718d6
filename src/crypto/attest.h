/* attest: Matter device attestation certificates (PAA, PAI, DAC) per the Matter certificate
 * profile: generation with mbedTLS's ASN.1 writers (P-256, ECDSA-SHA256, Matter VID/PID subject
 * attributes, critical basicConstraints and keyUsage, SKID/AKID), key and certificate I/O in PEM
 * or DER, and validation of a DAC → PAI (→ PAA) chain against the profile rules. */
#ifndef ESPFAB_CRYPTO_ATTEST_H
#define ESPFAB_CRYPTO_ATTEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <mbedtls/pk.h>
#include <mbedtls/x509_crt.h>

#include "core/buf.h"
#include "core/err.h"

enum attest_cert_type { ATTEST_PAA, ATTEST_PAI, ATTEST_DAC };

/* Lifetime meaning "no well-defined expiration": notAfter 99991231235959Z. */
#define ATTEST_LIFETIME_NO_EXPIRY 0xFFFFFFFFu

/* DER content of the Matter DN attribute OIDs 1.3.6.1.4.1.37244.2.1 / .2.2. */
#define ATTEST_OID_MATTER_VID "\x2B\x06\x01\x04\x01\x82\xA2\x7C\x02\x01"
#define ATTEST_OID_MATTER_PID "\x2B\x06\x01\x04\x01\x82\xA2\x7C\x02\x02"
#define ATTEST_OID_MATTER_LEN 10

struct attest_cert_params {
	enum attest_cert_type type;
	const char *subject_cn; /* UTF8String, at most 64 bytes */
	bool has_vid;
	uint16_t vid;
	bool has_pid;
	uint16_t pid;
	time_t valid_from;      /* notBefore (UTC) */
	uint32_t lifetime_days; /* notAfter = notBefore + days − 1 s, or ATTEST_LIFETIME_NO_EXPIRY */
	/* notAfter = notBefore + days exactly, as esp-matter-mfg-tool computes it (chip-cert
	 * takes one second off so the period is a whole number of days). */
	bool lifetime_whole_days;
};

const char *attest_name_type(enum attest_cert_type t);

/* A fresh P-256 key pair from the rng module. key must be initialised (mbedtls_pk_init). */
int attest_generate_key(mbedtls_pk_context *key, err_t *e);
/* Private key in PEM or DER, SEC1 or PKCS#8; must be P-256. what names the input in errors. */
int attest_parse_key(const uint8_t *data, size_t len, const char *what, mbedtls_pk_context *key,
		     err_t *e);
int attest_parse_cert(const uint8_t *data, size_t len, const char *what, mbedtls_x509_crt *crt,
		      err_t *e);
/* File wrappers; key files go through fileio_read_secret (warns when group/world-readable). */
int attest_read_key_file(const char *path, mbedtls_pk_context *key, err_t *e);
int attest_read_cert_file(const char *path, mbedtls_x509_crt *crt, err_t *e);

/* Builds and signs one certificate (one ECDSA signature). ca_cert/ca_key NULL: self-signed (PAA
 * only). The issuer name is copied from ca_cert's subject and the AKID from its SKID. der receives
 * the DER. ca_key must match ca_cert; the costly half of that check (private scalar against public
 * point) is done once per CA key in the process, so a batch signing with one PAI pays it once. */
int attest_make_cert(const struct attest_cert_params *p, mbedtls_pk_context *subject_key,
		     const mbedtls_x509_crt *ca_cert, mbedtls_pk_context *ca_key, buf_t *der,
		     err_t *e);

/* DER when path ends in ".der", PEM otherwise. Keys are written SEC1 with mode 0600. */
int attest_write_cert_file(const char *path, const uint8_t *der, size_t len, err_t *e);
int attest_write_key_file(const char *path, mbedtls_pk_context *key, err_t *e);
/* SEC1 DER of the key into out (a secret: wipe it). */
int attest_export_key_der(mbedtls_pk_context *key, buf_t *out, err_t *e);
/* Raw 32-byte big-endian private scalar and 65-byte uncompressed public point, as the Matter
 * factory partition stores them. priv may be NULL. Wipe priv after use. */
int attest_export_raw_key(mbedtls_pk_context *key, uint8_t priv[32], uint8_t pub[65], err_t *e);

/* Matter VID/PID of a certificate subject: the DN attributes (UTF8String of 4 uppercase hex
 * digits), or the legacy "Mvid:XXXX"/"Mpid:XXXX" in the CN. A malformed value is an error. */
int attest_get_subject_ids(const mbedtls_x509_crt *crt, bool *has_vid, uint16_t *vid,
			   bool *has_pid, uint16_t *pid, err_t *e);
/* The 20-byte subjectKeyIdentifier; -1 with e when absent or malformed. */
int attest_get_skid(const mbedtls_x509_crt *crt, const uint8_t **id, size_t *len, err_t *e);

/* Certification-declaration facts the chain check needs (filled by cd_parse_*). */
struct attest_cd_facts {
	uint16_t vendor_id;
	const uint16_t *product_ids;
	size_t product_id_count;
	bool has_dac_origin;
	uint16_t dac_origin_vid;
	uint16_t dac_origin_pid;
	const uint8_t (*authorized_paa)[20];
	size_t authorized_paa_count;
};

struct attest_chain {
	const mbedtls_x509_crt *dac;
	const mbedtls_x509_crt *pai;
	const mbedtls_x509_crt *paa;          /* optional */
	const struct attest_cd_facts *cd;     /* optional */
	mbedtls_pk_context *dac_key;          /* optional */
	time_t now;                           /* validity is checked at this instant */
};

/* Checks the chain against the Matter attestation rules. Each violation is appended to report
 * as one line "<CERT>: <rule>: <detail>". Returns the number of violations (0 = valid). */
int attest_validate_chain(const struct attest_chain *c, buf_t *report);
/* Checks one certificate against the profile for its type (used by the chain check and after
 * generation). Appends violations to report and returns their count. */
int attest_check_profile(const mbedtls_x509_crt *crt, enum attest_cert_type type, buf_t *report);

#endif
