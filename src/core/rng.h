/* rng: the one cryptographic random source, mbedTLS CTR_DRBG seeded from the OS, shared by every
 * thread behind a lock. Keys, salts, passcodes and IVs come only from here. */
#ifndef ESPFAB_CORE_RNG_H
#define ESPFAB_CORE_RNG_H

#include <stddef.h>

int rng_fill_bytes(void *out, size_t n);
/* An mbedTLS f_rng callback (ctx is ignored) for key generation and ECDSA signing. */
int rng_mbedtls_callback(void *ctx, unsigned char *out, size_t n);

#endif
