/* spake2p: the Matter SPAKE2+ verifier (w0 || L) a device stores instead of its setup passcode,
 * computed as connectedhomeip's spake2p.py does, plus the passcode/salt/iteration rules the
 * Matter specification puts on its inputs. */
#ifndef ESPFAB_CRYPTO_SPAKE2P_H
#define ESPFAB_CRYPTO_SPAKE2P_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

#define SPAKE2P_VERIFIER_LEN 97 /* w0 (32, big-endian) || L (65, uncompressed P-256 point) */
#define SPAKE2P_ITERATIONS_MIN 1000
#define SPAKE2P_ITERATIONS_MAX 100000
#define SPAKE2P_SALT_MIN 16
#define SPAKE2P_SALT_MAX 32
#define SPAKE2P_PASSCODE_MAX 99999998u

/* 0 when passcode is a valid setup passcode (1..99999998, not one of the spec's forbidden
 * values); otherwise -1 with a message naming the value. */
int spake2p_check_passcode(uint32_t passcode, err_t *e);
/* Checks the salt length and the iteration count against the bounds above. */
int spake2p_check_params(size_t salt_len, uint32_t iterations, err_t *e);
/* verifier = w0 || w1·G from PBKDF2-HMAC-SHA256(LE32(passcode), salt, iterations, 80). Checks
 * passcode, salt and iterations first. */
int spake2p_compute_verifier(uint32_t passcode, const uint8_t *salt, size_t salt_len,
			     uint32_t iterations, uint8_t verifier[SPAKE2P_VERIFIER_LEN], err_t *e);

/* The same computation without the salt and iteration bounds (the passcode is still checked):
 * for checking verifiers that other tools made from out-of-spec parameters. */
int spake2p_compute_verifier_unbounded(uint32_t passcode, const uint8_t *salt, size_t salt_len,
				       uint32_t iterations, uint8_t verifier[SPAKE2P_VERIFIER_LEN], err_t *e);

#endif
