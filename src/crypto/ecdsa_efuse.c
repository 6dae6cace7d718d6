#include "crypto/ecdsa_efuse.h"

#include <string.h>

#include <mbedtls/ecp.h>
#include <mbedtls/platform_util.h>

struct ecdsa_chip {
	const char *name;
	unsigned sizes[2];
};

/* Chips with an ECDSA peripheral and the curve sizes configure_ds.py accepts; P-384 keys do not
 * fit one 256-bit key block and are left out here. */
static const struct ecdsa_chip ecdsa_chips[] = {
	{"esp32h2", {256, 0}},   {"esp32p4", {256, 0}},    {"esp32c5", {256, 0}},
	{"esp32c61", {192, 256}}, {"esp32s31", {256, 0}},
};

int ecdsa_efuse_check_target(const char *chip, unsigned key_bits, unsigned efuse_key_id, err_t *e)
{
	const struct ecdsa_chip *c = NULL;
	for (size_t i = 0; i < sizeof ecdsa_chips / sizeof ecdsa_chips[0]; i++)
		if (strcmp(ecdsa_chips[i].name, chip) == 0)
			c = &ecdsa_chips[i];
	if (!c)
		return err_set_msg(e, ERR_CHECK, "target %s has no ECDSA peripheral", chip);
	if (key_bits != c->sizes[0] && key_bits != c->sizes[1])
		return err_set_msg(e, ERR_CHECK, "target %s does not support ECDSA %u keys in eFuse", chip,
				   key_bits);
	if (efuse_key_id > 5)
		return err_set_msg(e, ERR_CHECK, "eFuse key id %u is out of range (0..5)", efuse_key_id);
	/* On the H2 the ECDSA peripheral cannot take its key from BLOCK_KEY5. */
	if (efuse_key_id == 5 && strcmp(chip, "esp32h2") == 0)
		return err_set_msg(e, ERR_CHECK, "BLOCK_KEY5 cannot hold an ECDSA key on esp32h2");
	return 0;
}

int ecdsa_efuse_prepare_key(mbedtls_pk_context *pk, const char *chip, unsigned key_bits,
			    unsigned efuse_key_id, struct ecdsa_efuse_key *out, err_t *e)
{
	memset(out, 0, sizeof *out);
	if (ecdsa_efuse_check_target(chip, key_bits, efuse_key_id, e))
		return -1;
	mbedtls_pk_type_t t = mbedtls_pk_get_type(pk);
	if (t != MBEDTLS_PK_ECKEY && t != MBEDTLS_PK_ECKEY_DH)
		return err_set_msg(e, ERR_CHECK, "the ECDSA peripheral needs an EC private key");
	mbedtls_ecp_keypair *kp = mbedtls_pk_ec(*pk);
	unsigned bits = (unsigned)kp->grp.pbits;
	if ((kp->grp.id != MBEDTLS_ECP_DP_SECP256R1 && kp->grp.id != MBEDTLS_ECP_DP_SECP192R1) ||
	    bits != key_bits)
		return err_set_msg(e, ERR_CHECK, "EC key of %u bits does not match the requested ECDSA %u",
				   bits, key_bits);
	size_t n = key_bits / 8;
	if (mbedtls_mpi_write_binary(&kp->d, out->scalar, n) != 0)
		return err_set_msg(e, ERR_CHECK, "EC private scalar does not fit %zu bytes", n);
	out->scalar_len = n;
	out->curve_bits = key_bits;
	out->efuse_key_id = efuse_key_id;
	/* espefuse pads a short key on the left to 32 bytes, then reverses the whole block. */
	uint8_t padded[ECDSA_EFUSE_BLOCK_LEN] = {0};
	memcpy(padded + ECDSA_EFUSE_BLOCK_LEN - n, out->scalar, n);
	for (size_t i = 0; i < ECDSA_EFUSE_BLOCK_LEN; i++)
		out->block[i] = padded[ECDSA_EFUSE_BLOCK_LEN - 1 - i];
	mbedtls_platform_zeroize(padded, sizeof padded);
	return 0;
}

void ecdsa_efuse_encode_sec_cfg(unsigned efuse_key_id, uint8_t out[ECDSA_EFUSE_SEC_CFG_LEN])
{
	memset(out, 0, ECDSA_EFUSE_SEC_CFG_LEN);
	out[0] = (uint8_t)(efuse_key_id + 4);
}
