#include "crypto/spake2p.h"

#include <mbedtls/bignum.h>
#include <mbedtls/ecp.h>
#include <mbedtls/platform_util.h>

#include "core/rng.h"
#include "crypto/pbkdf2.h"

/* Matter specification 5.1.7.1: trivially guessable codes are forbidden. */
static const uint32_t spake2p_invalid_passcodes[] = {
	0,	  11111111, 22222222, 33333333, 44444444, 55555555,
	66666666, 77777777, 88888888, 99999999, 12345678, 87654321,
};

#define SPAKE2P_WS_HALF 40 /* P-256 base length + 8, so the mod-n reduction is nearly uniform */

int spake2p_check_passcode(uint32_t passcode, err_t *e)
{
	for (size_t i = 0; i < sizeof spake2p_invalid_passcodes / sizeof spake2p_invalid_passcodes[0]; i++)
		if (passcode == spake2p_invalid_passcodes[i])
			return err_set_msg(e, ERR_CHECK,
					   "passcode %08u is not allowed (forbidden by the Matter specification)",
					   (unsigned)passcode);
	if (passcode > SPAKE2P_PASSCODE_MAX)
		return err_set_msg(e, ERR_CHECK, "passcode %u is out of range (1..%u)", (unsigned)passcode,
				   SPAKE2P_PASSCODE_MAX);
	return 0;
}

int spake2p_check_params(size_t salt_len, uint32_t iterations, err_t *e)
{
	if (salt_len < SPAKE2P_SALT_MIN || salt_len > SPAKE2P_SALT_MAX)
		return err_set_msg(e, ERR_CHECK, "salt length %zu bytes is out of range (%d..%d bytes)",
				   salt_len, SPAKE2P_SALT_MIN, SPAKE2P_SALT_MAX);
	if (iterations < SPAKE2P_ITERATIONS_MIN || iterations > SPAKE2P_ITERATIONS_MAX)
		return err_set_msg(e, ERR_CHECK, "iteration count %u is out of range (%d..%d)",
				   (unsigned)iterations, SPAKE2P_ITERATIONS_MIN, SPAKE2P_ITERATIONS_MAX);
	return 0;
}

/* One PBKDF2 call for both halves (pbkdf2.c: two compressions per iteration, SHA-NI when the CPU
 * has it; byte-identical to mbedtls_pkcs5_pbkdf2_hmac). */
static int spake2p_derive_ws(uint32_t passcode, const uint8_t *salt, size_t salt_len,
			     uint32_t iterations, uint8_t ws[2 * SPAKE2P_WS_HALF], err_t *e)
{
	uint8_t pw[4] = {(uint8_t)passcode, (uint8_t)(passcode >> 8), (uint8_t)(passcode >> 16),
			 (uint8_t)(passcode >> 24)};
	int rc = pbkdf2_hmac_sha256(pw, sizeof pw, salt, salt_len, iterations, ws, 2 * SPAKE2P_WS_HALF, e);
	mbedtls_platform_zeroize(pw, sizeof pw);
	return rc;
}

int spake2p_compute_verifier(uint32_t passcode, const uint8_t *salt, size_t salt_len,
			     uint32_t iterations, uint8_t verifier[SPAKE2P_VERIFIER_LEN], err_t *e)
{
	if (spake2p_check_params(salt_len, iterations, e))
		return -1;
	return spake2p_compute_verifier_unbounded(passcode, salt, salt_len, iterations, verifier, e);
}

int spake2p_compute_verifier_unbounded(uint32_t passcode, const uint8_t *salt, size_t salt_len,
				       uint32_t iterations, uint8_t verifier[SPAKE2P_VERIFIER_LEN], err_t *e)
{
	if (spake2p_check_passcode(passcode, e))
		return -1;
	if (iterations == 0)
		return err_set_msg(e, ERR_CHECK, "iteration count 0 is out of range");
	uint8_t ws[2 * SPAKE2P_WS_HALF];
	if (spake2p_derive_ws(passcode, salt, salt_len, iterations, ws, e))
		return -1;

	mbedtls_ecp_group grp;
	mbedtls_ecp_point L;
	mbedtls_mpi w0, w1, t;
	mbedtls_ecp_group_init(&grp);
	mbedtls_ecp_point_init(&L);
	mbedtls_mpi_init(&w0);
	mbedtls_mpi_init(&w1);
	mbedtls_mpi_init(&t);
	size_t olen = 0;
	int rc = mbedtls_ecp_group_load(&grp, MBEDTLS_ECP_DP_SECP256R1);
	if (!rc)
		rc = mbedtls_mpi_read_binary(&t, ws, SPAKE2P_WS_HALF);
	if (!rc)
		rc = mbedtls_mpi_mod_mpi(&w0, &t, &grp.N);
	if (!rc)
		rc = mbedtls_mpi_read_binary(&t, ws + SPAKE2P_WS_HALF, SPAKE2P_WS_HALF);
	if (!rc)
		rc = mbedtls_mpi_mod_mpi(&w1, &t, &grp.N);
	if (!rc)
		rc = mbedtls_mpi_write_binary(&w0, verifier, 32);
	/* The RNG only blinds the scalar multiplication; the result does not depend on it. */
	if (!rc)
		rc = mbedtls_ecp_mul(&grp, &L, &w1, &grp.G, rng_mbedtls_callback, NULL);
	if (!rc)
		rc = mbedtls_ecp_point_write_binary(&grp, &L, MBEDTLS_ECP_PF_UNCOMPRESSED, &olen,
						    verifier + 32, SPAKE2P_VERIFIER_LEN - 32);
	if (!rc && olen != SPAKE2P_VERIFIER_LEN - 32)
		rc = MBEDTLS_ERR_ECP_BAD_INPUT_DATA;
	mbedtls_platform_zeroize(ws, sizeof ws);
	mbedtls_mpi_free(&w0);
	mbedtls_mpi_free(&w1);
	mbedtls_mpi_free(&t);
	mbedtls_ecp_point_free(&L);
	mbedtls_ecp_group_free(&grp);
	if (rc != 0)
		return err_set_msg(e, ERR_CHECK, "SPAKE2+ verifier computation failed (mbedTLS -0x%04x)", -rc);
	return 0;
}
