/* bench_mfg: a whole mfg batch from a PAA (DAC generation, SPAKE2+ verifier, NVS image,
 * onboarding codes, QR PNG, all files durable) at 1000 and 10000 PBKDF2 iterations, beside the
 * cost of PBKDF2 alone (mbedTLS's mbedtls_pkcs5_pbkdf2_hmac and src/crypto/pbkdf2), with the
 * goals' ratios (PERFORMANCE.md): one worker's time per device / mbedTLS PBKDF2 (goal <= 1.1),
 * batch devices/s on every core / 64, the reference tool's rate (goal >= 1.5). CPU ms/device
 * (user+sys) is shown beside wall time, as the disk is shared with other work. A line before the
 * table gives the DAC's share alone (key pair, then certificate from a PAI). Usage:
 * bench_mfg [DEVICES] (default 1000; the one-worker run does a quarter); outputs go to a new folder
 * in $BENCH_MFG_DIR (default /var/tmp), removed at the end. Never run by ctest. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sys/resource.h>

#include <mbedtls/md.h>
#include <mbedtls/pkcs5.h>

#include "core/err.h"
#include "core/rng.h"
#include "crypto/attest.h"
#include "crypto/pbkdf2.h"
#include "flow/mfg.h"
#include "testutil.h"

static double bench_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double bench_cpu(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
	       (double)ru.ru_stime.tv_usec / 1e6;
}

/* Seconds per PBKDF2-HMAC-SHA256 derivation of the verifier's 80 bytes (best of 3 rounds);
 * espfab: src/crypto/pbkdf2 as spake2p uses it, else mbedTLS. */
static double bench_pbkdf2(bool espfab, unsigned iterations, int reps)
{
	mbedtls_md_context_t md;
	mbedtls_md_init(&md);
	mbedtls_md_setup(&md, mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), 1);
	uint8_t pw[4] = {0x25, 0x41, 0x34, 0x01}, salt[32], out[80];
	rng_fill_bytes(salt, sizeof salt);
	double best = 1e9;
	for (int round = 0; round < 3; round++) {
		double t0 = bench_now();
		for (int i = 0; i < reps; i++) {
			err_t e = {0};
			if (espfab)
				pbkdf2_hmac_sha256(pw, sizeof pw, salt, sizeof salt, iterations, out, sizeof out, &e);
			else
				mbedtls_pkcs5_pbkdf2_hmac(&md, pw, sizeof pw, salt, sizeof salt, iterations, sizeof out,
							  out);
		}
		double t = (bench_now() - t0) / reps;
		if (t < best)
			best = t;
	}
	mbedtls_md_free(&md);
	return best;
}

/* One mfg batch; wall and CPU seconds. */
static int bench_run_mfg(unsigned devices, unsigned iterations, unsigned threads, double *wall, double *cpu)
{
	static unsigned run;
	char out[64], n[16], it[16], th[16];
	snprintf(out, sizeof out, "out%u", run++);
	snprintf(n, sizeof n, "%u", devices);
	snprintf(it, sizeof it, "%u", iterations);
	snprintf(th, sizeof th, "%u", threads);
	char *args[] = {"mfg", "-v", "0xFFF1", "-p", "0x8000", "-n", n, "--paa", "-c", "paa.pem", "-k",
			"paa_key.pem", "--iteration-count", it, "--outdir", out, "--vendor-name", "Bench",
			"--product-name", "Bench", "--threads", th, NULL};
	struct mfg_options o;
	bool help;
	err_t e = {0};
	if (mfg_parse_args(22, args, &o, &help, &e) || mfg_check_options(&o, &e)) {
		fprintf(stderr, "options: %s\n", e.msg);
		return -1;
	}
	struct mfg_batch b;
	double t0 = bench_now(), c0 = bench_cpu();
	if (mfg_run_batch(&o, &b, &e)) {
		fprintf(stderr, "mfg: %s\n", e.msg);
		return -1;
	}
	*wall = bench_now() - t0;
	*cpu = bench_cpu() - c0;
	mfg_free_batch(&b);
	return 0;
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

static double bench_thread_cpu(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The certificate part of a device on its own: a DAC key pair and attest_make_cert from a PAI
 * (PAA -> PAI made first), CPU ms each, best of 3 rounds of 200. */
static int bench_print_dac_cost(void)
{
	mbedtls_pk_context paa, pai;
	mbedtls_x509_crt paa_crt, pai_crt;
	mbedtls_pk_init(&paa);
	mbedtls_pk_init(&pai);
	mbedtls_x509_crt_init(&paa_crt);
	mbedtls_x509_crt_init(&pai_crt);
	buf_t der = BUF_INIT;
	err_t e = {0};
	time_t from = time(NULL) - 86400;
	struct attest_cert_params pa = {.type = ATTEST_PAA, .subject_cn = "Bench PAA", .valid_from = from,
					.lifetime_days = ATTEST_LIFETIME_NO_EXPIRY};
	struct attest_cert_params pi = {.type = ATTEST_PAI, .subject_cn = "Bench PAI", .has_vid = true, .vid = 0xFFF1,
					.valid_from = from, .lifetime_days = 3650};
	struct attest_cert_params pd = {.type = ATTEST_DAC, .subject_cn = "00112233445566778899aabbccddeeff",
					.has_vid = true, .vid = 0xFFF1, .has_pid = true, .pid = 0x8000,
					.valid_from = from, .lifetime_days = 3650};
	int rc = attest_generate_key(&paa, &e) || attest_make_cert(&pa, &paa, NULL, NULL, &der, &e) ||
		 attest_parse_cert(der.data, der.len, "PAA", &paa_crt, &e);
	der.len = 0;
	rc = rc || attest_generate_key(&pai, &e) || attest_make_cert(&pi, &pai, &paa_crt, &paa, &der, &e) ||
	     attest_parse_cert(der.data, der.len, "PAI", &pai_crt, &e);
	double best_key = 1e9, best_cert = 1e9;
	const int n = 200;
	for (int round = 0; !rc && round < 3; round++) {
		double tk = 0, tc = 0;
		for (int i = 0; !rc && i < n; i++) {
			mbedtls_pk_context key;
			mbedtls_pk_init(&key);
			der.len = 0;
			double t0 = bench_thread_cpu();
			rc = attest_generate_key(&key, &e);
			double t1 = bench_thread_cpu();
			rc = rc || attest_make_cert(&pd, &key, &pai_crt, &pai, &der, &e);
			tc += bench_thread_cpu() - t1;
			tk += t1 - t0;
			mbedtls_pk_free(&key);
		}
		if (tk / n < best_key)
			best_key = tk / n;
		if (tc / n < best_cert)
			best_cert = tc / n;
	}
	if (rc)
		fprintf(stderr, "DAC: %s\n", e.msg);
	else
		printf("DAC per device (CPU, one thread): key pair %.3f ms, attest_make_cert %.3f ms (%zu bytes)\n\n",
		       best_key * 1e3, best_cert * 1e3, der.len);
	buf_free_data(&der);
	mbedtls_x509_crt_free(&paa_crt);
	mbedtls_x509_crt_free(&pai_crt);
	mbedtls_pk_free(&paa);
	mbedtls_pk_free(&pai);
	return rc ? -1 : 0;
}

/* One table row: mfg with the given PBKDF2 implementation, one worker then every core. */
static int bench_print_row(enum pbkdf2_impl impl, unsigned iterations, unsigned devices, unsigned cores)
{
	pbkdf2_set_default_impl(impl);
	const char *path = impl == PBKDF2_IMPL_PORTABLE || !pbkdf2_has_sha_ni() ? "portable" : "SHA-NI";
	double w1, c1, wb, cb;
	if (bench_run_mfg(devices / 4, iterations, 1, &w1, &c1) || bench_run_mfg(devices, iterations, cores, &wb, &cb))
		return -1;
	int reps = iterations >= 10000 ? 20 : 200;
	double pm = bench_pbkdf2(false, iterations, reps);
	double pe = bench_pbkdf2(true, iterations, reps * 4);
	double per = w1 / (devices / 4);
	printf("| %s | %u | %.3f | %.3f | %.2f (%.2f) | %.2f | %.2f | %.1f (%.2f) | %.2f |\n", path, iterations,
	       pm * 1e3, pe * 1e3, per * 1e3, c1 / (devices / 4) * 1e3, per / pm, per / pe, devices / wb,
	       cb / devices * 1e3, devices / wb / 64.0);
	fflush(stdout);
	return 0;
}

int main(int argc, char **argv)
{
	unsigned devices = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 1000;
	if (devices < 4)
		devices = 4;
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	if (cores < 1)
		cores = 1;
	/* Outputs are kept until the end: ext4 allocates inodes slowly next to many freshly deleted
	 * ones, which would charge one run's clean-up to the next run. */
	const char *base = getenv("BENCH_MFG_DIR");
	char tmpl[4096];
	snprintf(tmpl, sizeof tmpl, "%s/bench_mfg.XXXXXX", base ? base : "/var/tmp");
	char *dir = mkdtemp(tmpl);
	char cwd[4096];
	if (!dir || !getcwd(cwd, sizeof cwd) || bench_make_paa(dir) || chdir(dir))
		return 1;
	printf("mfg from a PAA: batch of %u devices on %ld worker%s (one per core), one-worker run of %u; "
	       "PBKDF2 SHA-NI path: %s\n\n",
	       devices, cores, cores == 1 ? "" : "s", devices / 4, pbkdf2_has_sha_ni() ? "yes" : "no");
	if (bench_print_dac_cost())
		return 1;
	printf("| PBKDF2 path | iterations | PBKDF2 mbedTLS ms | PBKDF2 espfab ms | 1 worker ms/device (CPU ms) "
	       "| / mbedTLS PBKDF2 (goal <= 1.1) | / espfab PBKDF2 | batch devices/s (CPU ms/device) "
	       "| batch / 64 (goal >= 1.5) |\n");
	printf("|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
	const unsigned iters[] = {1000, 10000};
	/* The CPU's own path first, then the portable one (what a CPU without SHA-NI gets). */
	for (size_t k = 0; k < 2; k++)
		if (bench_print_row(PBKDF2_IMPL_AUTO, iters[k], devices, (unsigned)cores))
			return 1;
	for (size_t k = 0; pbkdf2_has_sha_ni() && k < 2; k++)
		if (bench_print_row(PBKDF2_IMPL_PORTABLE, iters[k], devices, (unsigned)cores))
			return 1;
	pbkdf2_set_default_impl(PBKDF2_IMPL_AUTO);
	if (chdir(cwd))
		return 1;
	testutil_remove_tree(dir);
	return 0;
}
