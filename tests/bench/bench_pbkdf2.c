/* bench_pbkdf2: milliseconds per SPAKE2+ PBKDF2-HMAC-SHA256 derivation (4-byte passcode, 32-byte
 * salt, 80 bytes out) at 1000 and 10000 iterations: mbedTLS's mbedtls_pkcs5_pbkdf2_hmac beside
 * src/crypto/pbkdf2 (portable and SHA-NI), with the speed-up ratio. Single thread. Usage:
 * bench_pbkdf2 [REPS at 10000] (default 40). Never run by ctest. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mbedtls/md.h>
#include <mbedtls/pkcs5.h>

#include "core/err.h"
#include "crypto/pbkdf2.h"

static double bench_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* impl < 0: mbedTLS. Best of three rounds, in seconds per derivation. */
static double bench_run(int impl, unsigned iterations, int reps)
{
	const uint8_t pw[4] = {0x25, 0x41, 0x34, 0x01};
	uint8_t salt[32], out[80];
	for (size_t i = 0; i < sizeof salt; i++)
		salt[i] = (uint8_t)i;
	mbedtls_md_context_t md;
	mbedtls_md_init(&md);
	mbedtls_md_setup(&md, mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), 1);
	double best = 1e9;
	for (int round = 0; round < 3; round++) {
		double t0 = bench_now();
		for (int i = 0; i < reps; i++) {
			err_t e = {0};
			if (impl < 0)
				mbedtls_pkcs5_pbkdf2_hmac(&md, pw, sizeof pw, salt, sizeof salt, iterations, sizeof out, out);
			else if (pbkdf2_hmac_sha256_with((enum pbkdf2_impl)impl, pw, sizeof pw, salt, sizeof salt, iterations,
							 out, sizeof out, &e))
				return -1;
		}
		double t = (bench_now() - t0) / reps;
		if (t < best)
			best = t;
	}
	mbedtls_md_free(&md);
	return best;
}

int main(int argc, char **argv)
{
	int reps = argc > 1 ? atoi(argv[1]) : 40;
	if (reps < 1)
		reps = 1;
	bool ni = pbkdf2_has_sha_ni();
	printf("PBKDF2-HMAC-SHA256, 4-byte password, 32-byte salt, 80 bytes out; one thread; best of 3\n");
	printf("SHA-NI on this CPU: %s\n\n", ni ? "yes" : "no");
	printf("| iterations | mbedTLS ms | pbkdf2 portable ms | portable speed-up | pbkdf2 SHA-NI ms | SHA-NI speed-up |\n");
	printf("|---:|---:|---:|---:|---:|---:|\n");
	const unsigned iters[] = {1000, 10000};
	for (size_t k = 0; k < 2; k++) {
		int r = iters[k] >= 10000 ? reps : reps * 10;
		double m = bench_run(-1, iters[k], r);
		double p = bench_run(PBKDF2_IMPL_PORTABLE, iters[k], r);
		if (ni) {
			double s = bench_run(PBKDF2_IMPL_SHA_NI, iters[k], r * 4);
			printf("| %u | %.3f | %.3f | %.2f | %.3f | %.2f |\n", iters[k], m * 1e3, p * 1e3, m / p, s * 1e3,
			       m / s);
		} else {
			printf("| %u | %.3f | %.3f | %.2f | - | - |\n", iters[k], m * 1e3, p * 1e3, m / p);
		}
	}
	return 0;
}
