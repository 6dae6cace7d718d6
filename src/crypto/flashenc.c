#include "crypto/flashenc.h"

#include <string.h>

#include <mbedtls/aes.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/sha256.h>

#include "core/rng.h"

#define FLASHENC_XTS_UNIT 0x80

int flashenc_expand_key(enum flashenc_scheme scheme, const uint8_t *key, size_t key_len,
			uint8_t out[64], err_t *e)
{
	if (scheme == FLASHENC_AES_XTS) {
		if (key_len == 16) {
			/* A 128-bit key (ESP32-C2) is widened the way the eFuse controller does. */
			if (mbedtls_sha256_ret(key, key_len, out, 0) != 0)
				return err_set_msg(e, ERR_CHECK, "key file: SHA-256 failed");
			return 32;
		}
		if (key_len == 32 || key_len == 64) {
			memcpy(out, key, key_len);
			return (int)key_len;
		}
		return err_set_msg(e, ERR_CHECK,
				   "key length %zu bytes, expected 16, 32 or 64 bytes for XTS-AES "
				   "(128, 256 or 512 bits)",
				   key_len);
	}
	if (key_len == 24) {
		/* ESP32 3/4 coding scheme: the hardware repeats key bytes 8..15. */
		memcpy(out, key, 24);
		memcpy(out + 24, key + 8, 8);
		return 32;
	}
	if (key_len == 32) {
		memcpy(out, key, 32);
		return 32;
	}
	return err_set_msg(e, ERR_CHECK,
			   "key length %zu bytes, expected 24 or 32 bytes for the ESP32 scheme "
			   "(use --aes-xts for other chips)",
			   key_len);
}

/* Bit n of the pattern (n = 0 is the most significant key bit) says which flash-address bit flips
 * that key bit. Four groups: three runs of address bits 23..5, then a shorter run ending at 5. */
static void flashenc_build_tweak_pattern(uint8_t pattern[256])
{
	static const uint8_t tail_top[4] = {14, 12, 10, 8};
	size_t n = 0;
	for (int g = 0; g < 4; g++) {
		for (int r = 0; r < 3; r++)
			for (int bit = 23; bit >= 5 && n < 256; bit--)
				pattern[n++] = (uint8_t)bit;
		for (int bit = tail_top[g]; bit >= 5 && n < 256; bit--)
			pattern[n++] = (uint8_t)bit;
	}
}

/* FLASH_CRYPT_CONFIG bit b enables the tweak on one range of pattern positions. */
static bool flashenc_tweak_enabled(uint32_t conf, int n)
{
	if (n < 67)
		return conf & 1;
	if (n < 132)
		return conf & 2;
	if (n < 195)
		return conf & 4;
	return conf & 8;
}

static void flashenc_tweak_key(const uint8_t key[32], const uint8_t pattern[256], uint32_t conf,
			       uint32_t offset, uint8_t out[32])
{
	memcpy(out, key, 32);
	for (int n = 0; n < 256; n++) {
		if (!flashenc_tweak_enabled(conf, n))
			continue;
		if (offset & (1u << pattern[n]))
			out[n / 8] ^= (uint8_t)(0x80u >> (n % 8));
	}
}

static void flashenc_reverse_bytes(uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n / 2; i++) {
		uint8_t t = p[i];
		p[i] = p[n - 1 - i];
		p[n - 1 - i] = t;
	}
}

static int flashenc_run_esp32(const struct flashenc_params *p, bool decrypt, const uint8_t *in,
			      size_t len, buf_t *out, err_t *e)
{
	uint8_t key[64], block_key[32], pattern[256], block[16];
	int rc = -1;
	if (flashenc_expand_key(FLASHENC_ESP32_LEGACY, p->key, p->key_len, key, e) < 0)
		return -1;
	if (decrypt && len % 16)
		return err_set_msg(e, ERR_CHECK, "input: %zu bytes is not a multiple of 16", len);
	flashenc_build_tweak_pattern(pattern);
	mbedtls_aes_context aes;
	mbedtls_aes_init(&aes);
	uint32_t offs = p->address;
	for (size_t pos = 0; pos < len; pos += 16, offs += 16) {
		size_t n = len - pos < 16 ? len - pos : 16;
		memcpy(block, in + pos, n);
		if (n < 16 && rng_fill_bytes(block + n, 16 - n) != 0) {
			err_set_msg(e, ERR_CHECK, "random padding: RNG failed");
			goto out;
		}
		if (pos == 0 || offs % 32 == 0) {
			flashenc_tweak_key(key, pattern, p->flash_crypt_conf, offs & ~31u, block_key);
			/* The flash controller runs AES backwards: encrypting for flash is an AES
			 * decryption and vice versa. */
			int r = decrypt ? mbedtls_aes_setkey_enc(&aes, block_key, 256)
					: mbedtls_aes_setkey_dec(&aes, block_key, 256);
			if (r != 0) {
				err_set_msg(e, ERR_CHECK, "AES key setup failed (-0x%04x)", (unsigned)-r);
				goto out;
			}
		}
		flashenc_reverse_bytes(block, 16);
		mbedtls_aes_crypt_ecb(&aes, decrypt ? MBEDTLS_AES_ENCRYPT : MBEDTLS_AES_DECRYPT, block,
				      block);
		flashenc_reverse_bytes(block, 16);
		buf_append_bytes(out, block, 16);
	}
	rc = 0;
out:
	mbedtls_aes_free(&aes);
	mbedtls_platform_zeroize(key, sizeof key);
	mbedtls_platform_zeroize(block_key, sizeof block_key);
	mbedtls_platform_zeroize(block, sizeof block);
	return rc;
}

static int flashenc_run_xts(const struct flashenc_params *p, bool decrypt, const uint8_t *in,
			    size_t len, buf_t *out, err_t *e)
{
	uint8_t key[64], unit[FLASHENC_XTS_UNIT], tweak[16];
	int klen = flashenc_expand_key(FLASHENC_AES_XTS, p->key, p->key_len, key, e);
	if (klen < 0)
		return -1;
	int rc = -1;
	mbedtls_aes_xts_context xts;
	mbedtls_aes_xts_init(&xts);
	if (len == 0 || len % 16) {
		err_set_msg(e, ERR_CHECK, "input: length %zu must be a non-zero multiple of 16", len);
		goto out;
	}
	int r = decrypt ? mbedtls_aes_xts_setkey_dec(&xts, key, (unsigned)klen * 8)
			: mbedtls_aes_xts_setkey_enc(&xts, key, (unsigned)klen * 8);
	if (r != 0) {
		err_set_msg(e, ERR_CHECK, "XTS key setup failed (-0x%04x)", (unsigned)-r);
		goto out;
	}
	/* Units are 128-byte aligned in flash; partial ones are zero padded and the padding is
	 * dropped again, which is harmless because each 16-byte block only depends on its place. */
	uint64_t start = p->address, end = start + len;
	for (uint64_t ua = start & ~(uint64_t)(FLASHENC_XTS_UNIT - 1); ua < end; ua += FLASHENC_XTS_UNIT) {
		memset(unit, 0, sizeof unit);
		uint64_t lo = ua > start ? ua : start;
		uint64_t hi = ua + FLASHENC_XTS_UNIT < end ? ua + FLASHENC_XTS_UNIT : end;
		memcpy(unit + (lo - ua), in + (lo - start), (size_t)(hi - lo));
		memset(tweak, 0, sizeof tweak);
		uint32_t ta = (uint32_t)ua;
		tweak[0] = (uint8_t)ta;
		tweak[1] = (uint8_t)(ta >> 8);
		tweak[2] = (uint8_t)(ta >> 16);
		tweak[3] = (uint8_t)(ta >> 24);
		flashenc_reverse_bytes(unit, sizeof unit);
		r = mbedtls_aes_crypt_xts(&xts, decrypt ? MBEDTLS_AES_DECRYPT : MBEDTLS_AES_ENCRYPT,
					  sizeof unit, tweak, unit, unit);
		if (r != 0) {
			err_set_msg(e, ERR_CHECK, "XTS operation failed at 0x%llx (-0x%04x)",
				    (unsigned long long)ua, (unsigned)-r);
			goto out;
		}
		flashenc_reverse_bytes(unit, sizeof unit);
		buf_append_bytes(out, unit + (lo - ua), (size_t)(hi - lo));
	}
	rc = 0;
out:
	mbedtls_aes_xts_free(&xts);
	mbedtls_platform_zeroize(key, sizeof key);
	mbedtls_platform_zeroize(unit, sizeof unit);
	return rc;
}

static int flashenc_run(const struct flashenc_params *p, bool decrypt, const uint8_t *in,
			size_t len, buf_t *out, err_t *e)
{
	if (p->address % 16)
		return err_set_msg(e, ERR_CHECK, "address 0x%x must be a multiple of 16", p->address);
	if ((uint64_t)p->address + len > 0x100000000ull)
		return err_set_msg(e, ERR_CHECK, "address 0x%x + %zu bytes is beyond 4 GiB of flash",
				   p->address, len);
	if (p->scheme == FLASHENC_AES_XTS)
		return flashenc_run_xts(p, decrypt, in, len, out, e);
	if (p->flash_crypt_conf > 0xF)
		return err_set_msg(e, ERR_CHECK, "flash-crypt-conf 0x%x: only 4 bits exist",
				   p->flash_crypt_conf);
	return flashenc_run_esp32(p, decrypt, in, len, out, e);
}

int flashenc_encrypt_data(const struct flashenc_params *p, const uint8_t *in, size_t len,
			  buf_t *out, err_t *e)
{
	return flashenc_run(p, false, in, len, out, e);
}

int flashenc_decrypt_data(const struct flashenc_params *p, const uint8_t *in, size_t len,
			  buf_t *out, err_t *e)
{
	return flashenc_run(p, true, in, len, out, e);
}
