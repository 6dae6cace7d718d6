/* flashenc: host-side flash encryption, byte-exact with espsecure encrypt-flash-data /
 * decrypt-flash-data: the ESP32 legacy scheme (AES-256 with a per-32-byte key tweak controlled by
 * FLASH_CRYPT_CONFIG) and XTS-AES-128/256 of the newer chips. Used to pre-encrypt images that the
 * host writes in plain mode to an encrypted flash region. */
#ifndef ESPFAB_CRYPTO_FLASHENC_H
#define ESPFAB_CRYPTO_FLASHENC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"

enum flashenc_scheme {
	FLASHENC_ESP32_LEGACY, /* ESP32: key file of 24 or 32 bytes */
	FLASHENC_AES_XTS,      /* S2/S3/C2/C3/C6/H2: key file of 16, 32 or 64 bytes */
};

struct flashenc_params {
	enum flashenc_scheme scheme;
	const uint8_t *key; /* the key file content, as espsecure reads it */
	size_t key_len;
	uint32_t address;          /* flash offset of the first byte; multiple of 16 */
	uint32_t flash_crypt_conf; /* ESP32 only; 4 bits, normally 0xF */
};

/* Turns a key file into the key the algorithm uses: 24 bytes → key || key[8:16] (ESP32 3/4
 * coding), 16 bytes → SHA-256(key) (XTS). out must hold 64 bytes; returns the length (32 or 64),
 * or -1 with e naming the wrong length. */
int flashenc_expand_key(enum flashenc_scheme scheme, const uint8_t *key, size_t key_len,
			uint8_t out[64], err_t *e);

/* Encrypts len bytes of plaintext as they would lie in flash at p->address; out receives the
 * ciphertext (appended). ESP32 legacy pads a trailing partial block with random bytes, as
 * espsecure does; XTS requires len to be a non-zero multiple of 16. */
int flashenc_encrypt_data(const struct flashenc_params *p, const uint8_t *in, size_t len,
			  buf_t *out, err_t *e);
/* The inverse; len must be a multiple of 16. */
int flashenc_decrypt_data(const struct flashenc_params *p, const uint8_t *in, size_t len,
			  buf_t *out, err_t *e);

#endif
