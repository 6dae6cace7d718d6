/* pbkdf2: PBKDF2-HMAC-SHA256 (RFC 8018) with the HMAC pads hashed once, so each iteration costs two
 * SHA-256 compressions instead of the four mbedTLS 2.28's generic PBKDF2 spends; the SPAKE2+
 * verifier's cost is almost all here. Byte-identical to mbedtls_pkcs5_pbkdf2_hmac. On x86 CPUs
 * with the SHA extensions the compressions run on them, several output blocks side by side. */
#ifndef ESPFAB_CRYPTO_PBKDF2_H
#define ESPFAB_CRYPTO_PBKDF2_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

enum pbkdf2_impl {
	PBKDF2_IMPL_AUTO,     /* SHA-NI when the CPU has it, else portable */
	PBKDF2_IMPL_PORTABLE, /* mbedTLS's SHA-256 compression function */
	PBKDF2_IMPL_SHA_NI,   /* x86 SHA extensions; fails when the CPU lacks them */
};

/* True when this CPU (and this build) can run PBKDF2_IMPL_SHA_NI. */
bool pbkdf2_has_sha_ni(void);

/* The implementation PBKDF2_IMPL_AUTO stands for from now on, process-wide (benchmarks measure
 * the portable path this way); PBKDF2_IMPL_AUTO restores the CPU-based choice. */
void pbkdf2_set_default_impl(enum pbkdf2_impl impl);

/* out = PBKDF2-HMAC-SHA256(pw, salt, iterations, out_len) with the default implementation.
 * iterations >= 1. */
int pbkdf2_hmac_sha256(const uint8_t *pw, size_t pw_len, const uint8_t *salt, size_t salt_len,
		       uint32_t iterations, uint8_t *out, size_t out_len, err_t *e);
/* The same with a chosen implementation (tests and benchmarks compare them). */
int pbkdf2_hmac_sha256_with(enum pbkdf2_impl impl, const uint8_t *pw, size_t pw_len, const uint8_t *salt,
			    size_t salt_len, uint32_t iterations, uint8_t *out, size_t out_len, err_t *e);

#endif
