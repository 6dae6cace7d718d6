#include "core/rng.h"

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static pthread_mutex_t rng_lock = PTHREAD_MUTEX_INITIALIZER;
static mbedtls_entropy_context rng_entropy;
static mbedtls_ctr_drbg_context rng_drbg;
static int rng_ready;

int rng_fill_bytes(void *out, size_t n)
{
	int rc = 0;
	pthread_mutex_lock(&rng_lock);
	if (!rng_ready) {
		mbedtls_entropy_init(&rng_entropy);
		mbedtls_ctr_drbg_init(&rng_drbg);
		static const unsigned char pers[] = "espfab";
		if (mbedtls_ctr_drbg_seed(&rng_drbg, mbedtls_entropy_func, &rng_entropy, pers,
					  sizeof pers - 1) != 0) {
			/* Without entropy no key may be made; stopping is the only safe answer. */
			fprintf(stderr, "espfab: cannot seed the random generator from the OS\n");
			abort();
		}
		rng_ready = 1;
	}
	unsigned char *p = out;
	while (n && rc == 0) {
		size_t chunk = n > MBEDTLS_CTR_DRBG_MAX_REQUEST ? MBEDTLS_CTR_DRBG_MAX_REQUEST : n;
		rc = mbedtls_ctr_drbg_random(&rng_drbg, p, chunk);
		p += chunk;
		n -= chunk;
	}
	pthread_mutex_unlock(&rng_lock);
	return rc == 0 ? 0 : -1;
}

int rng_mbedtls_callback(void *ctx, unsigned char *out, size_t n)
{
	(void)ctx;
	return rng_fill_bytes(out, n);
}
