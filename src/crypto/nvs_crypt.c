#include "crypto/nvs_crypt.h"

#include <mbedtls/aes.h>
#include <mbedtls/md.h>
#include <mbedtls/platform_util.h>
#include <stdbool.h>
#include <string.h>

#include "core/checksum.h"
#include "core/rng.h"

#define NVS_CRYPT_PAGE 4096u
#define NVS_CRYPT_ENTRIES 126u

static int nvs_crypt_run_entries(uint8_t *img, size_t len, const uint8_t key[NVS_CRYPT_KEY_LEN],
				 int dec, err_t *e)
{
	if (len % NVS_CRYPT_PAGE)
		return err_set_msg(e, ERR_CHECK, "partition length %zu is not a multiple of 4096",
				   len);
	mbedtls_aes_xts_context ctx;
	mbedtls_aes_xts_init(&ctx);
	int rc = dec ? mbedtls_aes_xts_setkey_dec(&ctx, key, 512)
		     : mbedtls_aes_xts_setkey_enc(&ctx, key, 512);
	if (rc) {
		mbedtls_aes_xts_free(&ctx);
		return err_set_msg(e, ERR_CHECK, "XTS key setup failed (-0x%04x)", (unsigned)-rc);
	}
	static const uint8_t blank[32] = {
		0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
		0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
		0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF};
	for (size_t page = 0; page < len / NVS_CRYPT_PAGE && rc == 0; page++) {
		uint8_t *pg = img + page * NVS_CRYPT_PAGE;
		bool has_header = memcmp(pg, blank, 32) != 0;
		for (unsigned i = 0; i < NVS_CRYPT_ENTRIES && rc == 0; i++) {
			uint8_t *ent = pg + 64 + 32 * i;
			if (dec) {
				if (memcmp(ent, blank, 32) == 0)
					continue;
			} else {
				unsigned state = (pg[32 + (2 * i) / 8] >> ((2 * i) % 8)) & 3;
				if (!has_header || state == 3)
					continue;
			}
			uint8_t tweak[16] = {0};
			uint64_t off = page * NVS_CRYPT_PAGE + 64 + 32 * i;
			for (int k = 0; k < 8; k++)
				tweak[k] = (uint8_t)(off >> (8 * k));
			uint8_t out[32];
			rc = mbedtls_aes_crypt_xts(&ctx, dec ? MBEDTLS_AES_DECRYPT : MBEDTLS_AES_ENCRYPT,
						   32, tweak, ent, out);
			memcpy(ent, out, 32);
			mbedtls_platform_zeroize(out, sizeof out);
		}
	}
	mbedtls_aes_xts_free(&ctx);
	if (rc)
		return err_set_msg(e, ERR_CHECK, "XTS operation failed (-0x%04x)", (unsigned)-rc);
	return 0;
}

int nvs_crypt_encrypt_partition(uint8_t *img, size_t len, const uint8_t key[NVS_CRYPT_KEY_LEN],
				err_t *e)
{
	return nvs_crypt_run_entries(img, len, key, 0, e);
}

int nvs_crypt_decrypt_partition(uint8_t *img, size_t len, const uint8_t key[NVS_CRYPT_KEY_LEN],
				err_t *e)
{
	return nvs_crypt_run_entries(img, len, key, 1, e);
}

int nvs_crypt_crypt_entry(const uint8_t key[NVS_CRYPT_KEY_LEN], uint32_t offset, int dec,
			  const uint8_t in[32], uint8_t out[32], err_t *e)
{
	mbedtls_aes_xts_context ctx;
	mbedtls_aes_xts_init(&ctx);
	int rc = dec ? mbedtls_aes_xts_setkey_dec(&ctx, key, 512)
		     : mbedtls_aes_xts_setkey_enc(&ctx, key, 512);
	uint8_t tweak[16] = {0};
	checksum_write_u32le(tweak, offset);
	if (rc == 0)
		rc = mbedtls_aes_crypt_xts(&ctx, dec ? MBEDTLS_AES_DECRYPT : MBEDTLS_AES_ENCRYPT, 32,
					   tweak, in, out);
	mbedtls_aes_xts_free(&ctx);
	if (rc)
		return err_set_msg(e, ERR_CHECK, "XTS operation failed (-0x%04x)", (unsigned)-rc);
	return 0;
}

void nvs_crypt_make_keys_partition(const uint8_t key[NVS_CRYPT_KEY_LEN],
				   uint8_t out[NVS_CRYPT_KEYS_PART_LEN])
{
	memset(out, 0xFF, NVS_CRYPT_KEYS_PART_LEN);
	memcpy(out, key, NVS_CRYPT_KEY_LEN);
	checksum_write_u32le(out + NVS_CRYPT_KEY_LEN, checksum_crc32_esp(key, NVS_CRYPT_KEY_LEN));
}

int nvs_crypt_parse_keys_partition(const uint8_t *p, size_t len, uint8_t key[NVS_CRYPT_KEY_LEN],
				   int *crc_ok, err_t *e)
{
	if (len < NVS_CRYPT_KEY_LEN)
		return err_set_msg(e, ERR_CHECK,
				   "key file holds %zu bytes; an NVS key needs 64", len);
	memcpy(key, p, NVS_CRYPT_KEY_LEN);
	if (crc_ok)
		*crc_ok = len >= NVS_CRYPT_KEY_LEN + 4 &&
			  checksum_read_u32le(p + NVS_CRYPT_KEY_LEN) ==
				  checksum_crc32_esp(p, NVS_CRYPT_KEY_LEN);
	return 0;
}

int nvs_crypt_derive_hmac_keys(const uint8_t *hmac_key, size_t n,
			       uint8_t key[NVS_CRYPT_KEY_LEN], err_t *e)
{
	static const uint8_t seeds[2][4] = {{0x5A, 0x5A, 0xBE, 0xAE}, {0xA5, 0xA5, 0xDE, 0xCE}};
	const mbedtls_md_info_t *md = mbedtls_md_info_from_type(MBEDTLS_MD_SHA256);
	for (int k = 0; k < 2; k++) {
		uint8_t msg[32];
		for (int i = 0; i < 8; i++)
			memcpy(msg + 4 * i, seeds[k], 4);
		if (mbedtls_md_hmac(md, hmac_key, n, msg, sizeof msg, key + 32 * k))
			return err_set_msg(e, ERR_CHECK, "HMAC-SHA256 key derivation failed");
	}
	return 0;
}

int nvs_crypt_generate_key(uint8_t *key, size_t n, err_t *e)
{
	if (rng_fill_bytes(key, n))
		return err_set_msg(e, ERR_CHECK, "the random generator failed");
	return 0;
}
