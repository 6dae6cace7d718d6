/* ds: host-side parameters of the Digital Signature peripheral (ESP32-S2/S3/C3/C6/H2 and newer).
 * From an RSA private key, the HMAC key that will sit in eFuse (purpose
 * HMAC_DOWN_DIGITAL_SIGNATURE) and an IV, computes the ciphertext C the peripheral decrypts on
 * chip, and the esp_secure_cert DS_DATA / DS_CONTEXT values (ds-peripheral.md). */
#ifndef ESPFAB_CRYPTO_DS_H
#define ESPFAB_CRYPTO_DS_H

#include <stddef.h>
#include <stdint.h>

#include <mbedtls/rsa.h>

#include "core/buf.h"
#include "core/err.h"

#define DS_IV_LEN 16
#define DS_HMAC_KEY_LEN 32
#define DS_C_LEN_MAX 1584 /* chips whose largest RSA key is 4096 bits */
#define DS_CONTEXT_LEN 8

struct ds_params {
	unsigned rsa_bits;        /* actual key size N */
	unsigned max_bits;        /* the chip's largest key: sets the padding of Y, M, Rb */
	uint8_t iv[DS_IV_LEN];
	uint8_t c[DS_C_LEN_MAX];
	size_t c_len;             /* 1200 (max 3072) or 1584 (max 4096) */
};

/* The chip's largest DS key in bits; fails (naming the chip) for chips without DS. */
int ds_lookup_max_bits(const char *chip, unsigned *max_bits, err_t *e);
/* Fails unless bits is a key size the chip's DS accepts; the message names size and chip. */
int ds_check_key_size(const char *chip, unsigned bits, err_t *e);
/* AES-256 key = HMAC-SHA256(hmac_key, 32 x 0xFF): what the HMAC peripheral hands the DS. */
int ds_derive_aes_key(const uint8_t hmac_key[DS_HMAC_KEY_LEN], uint8_t aes_key[32]);
/* Computes C for the key on the given chip. The RSA context must hold a private key. */
int ds_compute_params(mbedtls_rsa_context *rsa, const char *chip,
		      const uint8_t hmac_key[DS_HMAC_KEY_LEN], const uint8_t iv[DS_IV_LEN],
		      struct ds_params *out, err_t *e);
/* DS_DATA TLV value (esp_ds_data_t): rsa_length = N/32-1 (u32 LE) || IV || C. */
void ds_encode_data(const struct ds_params *p, buf_t *out);
/* DS_CONTEXT TLV value: 0 (u32) || key id (u8) || 0 || N bits (u16 LE). */
void ds_encode_context(unsigned efuse_key_id, unsigned rsa_bits, uint8_t out[DS_CONTEXT_LEN]);

#endif
