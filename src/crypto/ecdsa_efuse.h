/* ecdsa_efuse: preparing an EC private key for the ECDSA peripheral (ESP32-H2 and newer): the
 * eFuse key-block bytes (byte-reversed scalar, as espefuse burns purpose ECDSA_KEY) and the
 * esp_secure_cert SEC_CFG value that tells the firmware which block holds the key. */
#ifndef ESPFAB_CRYPTO_ECDSA_EFUSE_H
#define ESPFAB_CRYPTO_ECDSA_EFUSE_H

#include <stddef.h>
#include <stdint.h>

#include <mbedtls/pk.h>

#include "core/err.h"

#define ECDSA_EFUSE_BLOCK_LEN 32
#define ECDSA_EFUSE_SEC_CFG_LEN 40

struct ecdsa_efuse_key {
	unsigned curve_bits;                     /* 192 or 256 */
	uint8_t scalar[32];                      /* private scalar, big-endian (ecdsa_key.bin) */
	size_t scalar_len;                       /* curve_bits / 8 */
	uint8_t block[ECDSA_EFUSE_BLOCK_LEN];    /* BLOCK_KEYk contents, byte 0 first */
	unsigned efuse_key_id;                   /* k of BLOCK_KEYk */
};

/* Fails unless the chip has an ECDSA peripheral taking keys of key_bits and key id k is usable
 * (0..5; not 5 on ESP32-H2). */
int ecdsa_efuse_check_target(const char *chip, unsigned key_bits, unsigned efuse_key_id, err_t *e);
/* From an EC private key whose curve matches key_bits: scalar and eFuse block bytes (a P-192
 * scalar is left-padded with 8 zero bytes before reversing). out holds a secret: wipe it. */
int ecdsa_efuse_prepare_key(mbedtls_pk_context *pk, const char *chip, unsigned key_bits,
			    unsigned efuse_key_id, struct ecdsa_efuse_key *out, err_t *e);
/* SEC_CFG TLV value: eFuse block number (BLOCK_KEYk = k + 4) then 39 zero bytes. */
void ecdsa_efuse_encode_sec_cfg(unsigned efuse_key_id, uint8_t out[ECDSA_EFUSE_SEC_CFG_LEN]);

#endif
