/* keyfile: certificates and private keys given as PEM or DER, loaded and re-encoded the way the
 * Espressif provisioning tools do: a PEM input stays PEM (canonical 64-column text, NUL added by
 * the caller's format), DER stays DER, and private keys come out in the traditional SEC1/PKCS#1
 * form even when the input was PKCS#8. */
#ifndef ESPFAB_CRYPTO_KEYFILE_H
#define ESPFAB_CRYPTO_KEYFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <mbedtls/pk.h>

#include "core/buf.h"
#include "core/err.h"

enum keyfile_encoding {
	KEYFILE_DER = 0,
	KEYFILE_PEM = 1,
};

/* True when the bytes hold a PEM block ("-----BEGIN"). */
bool keyfile_is_pem(const uint8_t *data, size_t len);

/* Parses the first certificate of data (PEM or DER); der_out receives its DER bytes.
 * source names the input in errors. */
int keyfile_load_cert(const uint8_t *data, size_t len, const char *source, buf_t *der_out,
		      enum keyfile_encoding *enc, err_t *e);
/* PEM: "-----BEGIN CERTIFICATE-----\n", 64-column base64, footer, '\n' and a terminating NUL
 * (counted in out->len); DER: the DER bytes. */
int keyfile_encode_cert(const uint8_t *der, size_t der_len, enum keyfile_encoding enc, buf_t *out,
			err_t *e);

/* Parses a private key (PEM or DER; PKCS#8, SEC1 or PKCS#1; password may be NULL).
 * pk must be initialised by the caller and freed with mbedtls_pk_free. */
int keyfile_load_private_key(const uint8_t *data, size_t len, const char *password,
			     const char *source, mbedtls_pk_context *pk, enum keyfile_encoding *enc,
			     err_t *e);
/* Traditional form (SEC1 for EC, PKCS#1 for RSA). PEM text gets a terminating NUL counted in
 * out->len. out holds a secret: release it with buf_wipe_data. */
int keyfile_encode_private_key(mbedtls_pk_context *pk, enum keyfile_encoding enc, buf_t *out,
			       err_t *e);

/* Short text for an mbedTLS error code, for messages. */
const char *keyfile_describe_mbedtls_error(int rc, char *buf, size_t n);

#endif
