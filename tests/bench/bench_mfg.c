/* bench_mfg: devices per second of a whole mfg batch (-n N from a PAA: DAC generation, SPAKE2+
 * verifier, NVS image, onboarding codes, QR PNG, all files) at 1000 and 10000 PBKDF2 iterations,
 * beside the cost of the PBKDF2 step alone at the same count, single-threaded and scaled to the
 * worker count. Usage: bench_mfg [DEVICES] (default 1000). Never run by ctest. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <mbedtls/md.h>
#include <mbedtls/pkcs5.h>

#include "core/err.h"
#include "core/rng.h"
#include "crypto/attest.h"
#include "flow/mfg.h"
#include "testutil.h"

static double bench_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Seconds per PBKDF2-HMAC-SHA256 derivation of the verifier's 80 bytes. */
static double bench_pbkdf2(unsigned iterations, int reps)
{
	mbedtls_md_context_t md;
	mbedtls_md_init(&md);
	mbedtls_md_setup(&md, mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), 1);
	uint8_t pw[4] = {0x25, 0x41, 0x34, 0x01}, salt[32], out[80];
	rng_fill_bytes(salt, sizeof salt);
	double t0 = bench_now();
	for (int i = 0; i < reps; i++)
		mbedtls_pkcs5_pbkdf2_hmac(&md, pw, sizeof pw, salt, sizeof salt, iterations, sizeof out, out);
	double t = (bench_now() - t0) / reps;
	mbedtls_md_free(&md);
	return t;
}

static int bench_make_paa(const char *dir)
{
	mbedtls_pk_context key;
	mbedtls_pk_init(&key);
	buf_t der = BUF_INIT;
	err_t e = {0};
	struct attest_cert_params p = {.type = ATTEST_PAA, .subject_cn = "Bench PAA", .valid_from = time(NULL) - 86400,
				       .lifetime_days = ATTEST_LIFETIME_NO_EXPIRY};
	char cert[4200], keyp[4200];
	snprintf(cert, sizeof cert, "%s/paa.pem", dir);
	snprintf(keyp, sizeof keyp, "%s/paa_key.pem", dir);
	int rc = attest_generate_key(&key, &e) || attest_make_cert(&p, &key, NULL, NULL, &der, &e) ||
		 attest_write_cert_file(cert, der.data, der.len, &e) || attest_write_key_file(keyp, &key, &e);
	if (rc)
		fprintf(stderr, "PAA: %s\n", e.msg);
	buf_free_data(&der);
	mbedtls_pk_free(&key);
	return rc ? -1 : 0;
}

int main(int argc, char **argv)
{
	unsigned devices = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 1000;
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	if (cores < 1)
		cores = 1;
	char tmpl[] = "/tmp/bench_mfg.XXXXXX";
	char *dir = mkdtemp(tmpl);
	char cwd[4096];
	if (!dir || !getcwd(cwd, sizeof cwd) || bench_make_paa(dir) || chdir(dir))
		return 1;
	printf("mfg batch of %u devices from a PAA, %ld worker thread%s (one per core)\n\n", devices, cores,
	       cores == 1 ? "" : "s");
	printf("| iterations | mfg s | mfg devices/s | PBKDF2 ms/device (1 core) | PBKDF2 devices/s (%ld cores) | PBKDF2 share of batch time |\n",
	       cores);
	printf("|---:|---:|---:|---:|---:|---:|\n");
	const unsigned iters[] = {1000, 10000};
	for (size_t k = 0; k < 2; k++) {
		char out[64], n[16], it[16];
		snprintf(out, sizeof out, "out%u", iters[k]);
		snprintf(n, sizeof n, "%u", devices);
		snprintf(it, sizeof it, "%u", iters[k]);
		char *args[] = {"mfg", "-v", "0xFFF1", "-p", "0x8000", "-n", n, "--paa", "-c", "paa.pem", "-k",
				"paa_key.pem", "--iteration-count", it, "--outdir", out, "--vendor-name", "Bench",
				"--product-name", "Bench", NULL};
		struct mfg_options o;
		bool help;
		err_t e = {0};
		if (mfg_parse_args(20, args, &o, &help, &e) || mfg_check_options(&o, &e)) {
			fprintf(stderr, "options: %s\n", e.msg);
			return 1;
		}
		struct mfg_batch b;
		double t0 = bench_now();
		if (mfg_run_batch(&o, &b, &e)) {
			fprintf(stderr, "mfg: %s\n", e.msg);
			return 1;
		}
		double t = bench_now() - t0;
		mfg_free_batch(&b);
		double pb = bench_pbkdf2(iters[k], iters[k] >= 10000 ? 50 : 200);
		double pb_rate = (double)cores / pb;
		printf("| %u | %.2f | %.1f | %.3f | %.1f | %.0f %% |\n", iters[k], t, devices / t, pb * 1e3, pb_rate,
		       100.0 * (pb * devices / (double)cores) / t);
	}
	if (chdir(cwd))
		return 1;
	testutil_remove_tree(dir);
	return 0;
}
