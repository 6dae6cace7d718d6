#include "crypto/ds.h"

#include <stdlib.h>
#include <string.h>

#include <mbedtls/aes.h>
#include <mbedtls/bignum.h>
#include <mbedtls/md.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/sha256.h>

struct ds_chip {
	const char *name;
	unsigned max_bits;
};

/* Key sizes are 1024..max_bits in steps of 1024 on every DS chip (configure_ds.py's table). */
static const struct ds_chip ds_chips[] = {
	{"esp32s2", 4096}, {"esp32s3", 4096}, {"esp32c3", 3072}, {"esp32c6", 3072},
	{"esp32h2", 3072}, {"esp32p4", 4096}, {"esp32c5", 4096}, {"esp32s31", 4096},
};

int ds_lookup_max_bits(const char *chip, unsigned *max_bits, err_t *e)
{
	for (size_t i = 0; i < sizeof ds_chips / sizeof ds_chips[0]; i++)
		if (strcmp(ds_chips[i].name, chip) == 0) {
			*max_bits = ds_chips[i].max_bits;
			return 0;
		}
	return err_set_msg(e, ERR_CHECK, "target %s has no RSA Digital Signature peripheral", chip);
}

int ds_check_key_size(const char *chip, unsigned bits, err_t *e)
{
	unsigned max_bits = 0; /* err_set_msg returns -1 in another unit: -O3 cannot see it */
	if (ds_lookup_max_bits(chip, &max_bits, e))
		return -1;
	if (bits > max_bits)
		return err_set_msg(e, ERR_CHECK,
				   "RSA key of %u bits is too large for the %s DS peripheral (at most %u bits)",
				   bits, chip, max_bits);
	if (bits < 1024 || bits % 1024)
		return err_set_msg(e, ERR_CHECK,
				   "RSA key of %u bits is not supported by the %s DS peripheral "
				   "(sizes 1024 to %u in steps of 1024)",
				   bits, chip, max_bits);
	return 0;
}

int ds_derive_aes_key(const uint8_t hmac_key[DS_HMAC_KEY_LEN], uint8_t aes_key[32])
{
	uint8_t ff[32];
	memset(ff, 0xFF, sizeof ff);
	return mbedtls_md_hmac(mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), hmac_key,
			       DS_HMAC_KEY_LEN, ff, sizeof ff, aes_key);
}

static void ds_put_u32le(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

int ds_compute_params(mbedtls_rsa_context *rsa, const char *chip,
		      const uint8_t hmac_key[DS_HMAC_KEY_LEN], const uint8_t iv[DS_IV_LEN],
		      struct ds_params *out, err_t *e)
{
	unsigned max_bits = 0; /* err_set_msg returns -1 in another unit: -O3 cannot see it */
	if (ds_lookup_max_bits(chip, &max_bits, e))
		return -1;
	mbedtls_mpi n, d, rb, inv, two32;
	mbedtls_mpi_init(&n);
	mbedtls_mpi_init(&d);
	mbedtls_mpi_init(&rb);
	mbedtls_mpi_init(&inv);
	mbedtls_mpi_init(&two32);
	int rc = -1;
	size_t w = max_bits / 8;
	/* P = Y || M || Rb || MD || M' || length || 8 x 0x08; the digest input shares the first
	 * three fields, so they are laid out once and hashed in place. */
	size_t p_len = 3 * w + 32 + 8 + 8;
	uint8_t *p = mem_alloc_zeroed(p_len);
	uint8_t aes_key[32];
	memset(out, 0, sizeof *out);

	if (mbedtls_rsa_export(rsa, &n, NULL, NULL, &d, NULL) != 0 || mbedtls_mpi_cmp_int(&d, 0) == 0) {
		err_set_msg(e, ERR_CHECK, "the RSA key holds no private exponent");
		goto done;
	}
	unsigned bits = (unsigned)mbedtls_mpi_bitlen(&n);
	if (ds_check_key_size(chip, bits, e))
		goto done;
	/* Rb = 2^(2N) mod M, the Montgomery R^2 for an N-bit operand. */
	if (mbedtls_mpi_lset(&rb, 1) || mbedtls_mpi_shift_l(&rb, 2 * (size_t)bits) ||
	    mbedtls_mpi_mod_mpi(&rb, &rb, &n) || mbedtls_mpi_lset(&two32, 1) ||
	    mbedtls_mpi_shift_l(&two32, 32) || mbedtls_mpi_inv_mod(&inv, &n, &two32)) {
		err_set_msg(e, ERR_CHECK, "DS parameter arithmetic failed for the %u-bit key", bits);
		goto done;
	}
	uint8_t inv_le[4];
	mbedtls_mpi_write_binary_le(&inv, inv_le, sizeof inv_le);
	uint32_t inv32 = (uint32_t)inv_le[0] | (uint32_t)inv_le[1] << 8 | (uint32_t)inv_le[2] << 16 |
			 (uint32_t)inv_le[3] << 24;
	uint32_t mprime = (uint32_t)(0u - inv32);
	uint32_t length = bits / 32 - 1;

	if (mbedtls_mpi_write_binary_le(&d, p, w) || mbedtls_mpi_write_binary_le(&n, p + w, w) ||
	    mbedtls_mpi_write_binary_le(&rb, p + 2 * w, w)) {
		err_set_msg(e, ERR_CHECK, "DS parameters do not fit %u bits", max_bits);
		goto done;
	}
	/* MD = SHA-256(Y || M || Rb || M' || length || IV). */
	uint8_t tail[8];
	ds_put_u32le(tail, mprime);
	ds_put_u32le(tail + 4, length);
	mbedtls_sha256_context sha;
	mbedtls_sha256_init(&sha);
	mbedtls_sha256_starts_ret(&sha, 0);
	mbedtls_sha256_update_ret(&sha, p, 3 * w);
	mbedtls_sha256_update_ret(&sha, tail, sizeof tail);
	mbedtls_sha256_update_ret(&sha, iv, DS_IV_LEN);
	mbedtls_sha256_finish_ret(&sha, p + 3 * w);
	mbedtls_sha256_free(&sha);
	memcpy(p + 3 * w + 32, tail, sizeof tail);
	memset(p + 3 * w + 40, 0x08, 8);

	if (ds_derive_aes_key(hmac_key, aes_key)) {
		err_set_msg(e, ERR_CHECK, "HMAC-SHA256 failed");
		goto done;
	}
	mbedtls_aes_context aes;
	mbedtls_aes_init(&aes);
	uint8_t iv_work[DS_IV_LEN];
	memcpy(iv_work, iv, DS_IV_LEN);
	int arc = mbedtls_aes_setkey_enc(&aes, aes_key, 256) ||
		  mbedtls_aes_crypt_cbc(&aes, MBEDTLS_AES_ENCRYPT, p_len, iv_work, p, out->c);
	mbedtls_aes_free(&aes);
	if (arc) {
		err_set_msg(e, ERR_CHECK, "AES-256-CBC failed");
		goto done;
	}
	out->rsa_bits = bits;
	out->max_bits = max_bits;
	out->c_len = p_len;
	memcpy(out->iv, iv, DS_IV_LEN);
	rc = 0;
done:
	mbedtls_platform_zeroize(aes_key, sizeof aes_key);
	mbedtls_platform_zeroize(p, p_len);
	free(p);
	mbedtls_mpi_free(&n);
	mbedtls_mpi_free(&d);
	mbedtls_mpi_free(&rb);
	mbedtls_mpi_free(&inv);
	mbedtls_mpi_free(&two32);
	return rc;
}

void ds_encode_data(const struct ds_params *p, buf_t *out)
{
	buf_append_u32le(out, p->rsa_bits / 32 - 1);
	buf_append_bytes(out, p->iv, DS_IV_LEN);
	buf_append_bytes(out, p->c, p->c_len);
}

void ds_encode_context(unsigned efuse_key_id, unsigned rsa_bits, uint8_t out[DS_CONTEXT_LEN])
{
	memset(out, 0, DS_CONTEXT_LEN);
	out[4] = (uint8_t)efuse_key_id;
	out[6] = (uint8_t)rsa_bits;
	out[7] = (uint8_t)(rsa_bits >> 8);
}
