/* nvs_crypt: NVS encryption as ESP-IDF does it: AES-256-XTS over each 32-byte entry with the
 * entry's partition offset as tweak, keys held in an nvs_keys partition (flash-encryption scheme)
 * or derived from an eFuse HMAC key (HMAC scheme). Headers and bitmaps stay plaintext. */
#ifndef ESPFAB_CRYPTO_NVS_CRYPT_H
#define ESPFAB_CRYPTO_NVS_CRYPT_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

#define NVS_CRYPT_KEY_LEN 64u        /* XTS data key (32) then tweak key (32) */
#define NVS_CRYPT_KEYS_PART_LEN 4096u

/* Encrypts in place every entry the page bitmaps mark as used (written or erased), on pages
 * that have a header: exactly the entries the generator encrypts. len: a multiple of 4096. */
int nvs_crypt_encrypt_partition(uint8_t *img, size_t len, const uint8_t key[NVS_CRYPT_KEY_LEN],
				err_t *e);
/* Decrypts in place every entry that is not all 0xFF (as the generator's decrypt command). */
int nvs_crypt_decrypt_partition(uint8_t *img, size_t len, const uint8_t key[NVS_CRYPT_KEY_LEN],
				err_t *e);
/* One 32-byte entry at byte offset `offset` of the partition; decrypt when dec != 0. */
int nvs_crypt_crypt_entry(const uint8_t key[NVS_CRYPT_KEY_LEN], uint32_t offset, int dec,
			  const uint8_t in[32], uint8_t out[32], err_t *e);

/* nvs_keys partition: key, CRC32 of the key (LE), 0xFF up to 4096 bytes. */
void nvs_crypt_make_keys_partition(const uint8_t key[NVS_CRYPT_KEY_LEN],
				   uint8_t out[NVS_CRYPT_KEYS_PART_LEN]);
/* Takes the key from a keys partition or a bare 64-byte key file (as the generator reads the
 * first 64 bytes); *crc_ok tells whether the CRC after the key matches (NULL: not wanted). */
int nvs_crypt_parse_keys_partition(const uint8_t *p, size_t len, uint8_t key[NVS_CRYPT_KEY_LEN],
				   int *crc_ok, err_t *e);
/* HMAC scheme: key = HMAC-SHA256(hmac_key, 8 x 5A5ABEAE) || HMAC-SHA256(hmac_key, 8 x A5A5DECE). */
int nvs_crypt_derive_hmac_keys(const uint8_t *hmac_key, size_t n,
			       uint8_t key[NVS_CRYPT_KEY_LEN], err_t *e);
/* Fresh XTS keys (or an HMAC key with n = 32) from the project's random source. */
int nvs_crypt_generate_key(uint8_t *key, size_t n, err_t *e);

#endif
