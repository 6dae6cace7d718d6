/* espfab run against espfab-sim over TCP: a full H2 run (ecdsa-efuse) to a verified device with
 * its manifest row and the simulated flash image searched for private keys; a C3 run on the ds
 * path; a refusal with nothing burned or written; resume after a cut link with the same
 * identity and no second burn; a dry run that leaves the chip untouched. */
#include "testutil.h"
#include "runjson.h"
#include "simrun.h"
#include "testpki.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <mbedtls/ecp.h>
#include <mbedtls/pk.h>
#include <mbedtls/x509_crt.h>

#include "core/fileio.h"
#include "core/rng.h"

/* The run tests want a fast simulator, optionally with one fault. */
static void sim_start(struct simrun *s, const char *dir, const char *chip, const char *fault)
{
	const char *extra[] = {"--no-throttle", fault ? "--fault" : NULL, fault, NULL};
	simrun_start(s, dir, chip, extra);
}

/* A profile in dir using the shipped partition table of the example. */
static char *make_profile(const char *dir, const char *chips, const char *table, const char *security)
{
	char text[2048], *tpath;
	char rel[128];
	snprintf(rel, sizeof rel, "assets/partitions/%s", table);
	tpath = testutil_join_path(testutil_source_dir(), rel);
	snprintf(text, sizeof text,
		 "[product]\nvendor_id = 0xFFF1\nproduct_id = 0x8000\nvendor_name = Sim Vendor\n"
		 "product_name = Sim Light\nchips = %s\n"
		 "[attestation]\npai_cert = pai_cert.pem\npai_key = pai_key.pem\ncd = cd.der\n"
		 "[partitions]\ntable = %s\n[security]\n%s\n[device]\nserial = SIM-{seq:03}\n",
		 chips, tpath, security);
	free(tpath);
	char *p = testutil_join_path(dir, "profile.ini");
	testutil_write_file(p, text, strlen(text));
	return p;
}

static bool file_contains(const char *path, const void *p, size_t n)
{
	buf_t b = BUF_INIT;
	testutil_read_file(path, &b);
	bool found = memmem(b.data, b.len, p, n) != NULL;
	buf_free_data(&b);
	return found;
}

static bool file_all_ff(const char *path)
{
	buf_t b = BUF_INIT;
	testutil_read_file(path, &b);
	bool all = true;
	for (size_t i = 0; i < b.len && all; i++)
		all = b.data[i] == 0xFF;
	buf_free_data(&b);
	return all;
}

static void dac_scalar(const char *folder, uint8_t s[32])
{
	char *p = testutil_join_path(folder, "internal/DAC_key.der");
	mbedtls_pk_context pk;
	mbedtls_pk_init(&pk);
	assert_int_equal(mbedtls_pk_parse_keyfile(&pk, p, NULL), 0);
	assert_int_equal(mbedtls_mpi_write_binary(&mbedtls_pk_ec(pk)->d, s, 32), 0);
	mbedtls_pk_free(&pk);
	free(p);
}

static int setup(void **state)
{
	/* A build without the simulator skips the run tests. */
	if (!getenv("ESPFAB_SIM_BIN") || !testutil_source_dir())
		return 0;
	char *dir = testutil_make_tmpdir();
	testpki_write_material(dir);
	*state = dir;
	return 0;
}

static int teardown(void **state)
{
	simrun_kill_leftover();
	if (*state) {
		testutil_remove_tree(*state);
		free(*state);
	}
	return 0;
}

static void test_h2_full_run(void **state)
{
	if (!*state)
		skip();
	const char *dir = *state;
	struct simrun s = {0};
	sim_start(&s, dir, "esp32h2", NULL);
	char *profile = make_profile(dir, "esp32h2", "h2-light.csv", "mode = development");
	struct run_out r;
	runjson_espfab_run(dir, profile, s.port, true, &r);
	if (r.rc != 0)
		fail_msg("exit %d: %s%s", r.rc, (char *)buf_terminate_str(&r.err), (char *)r.out.data);
	assert_non_null(r.done);
	assert_int_equal(json_integer_value(json_object_get(r.done, "result")), 0);
	assert_string_equal(runjson_summary(&r, "result"), "ok");
	assert_string_equal(runjson_summary(&r, "serial"), "SIM-001");
	const char *qr = json_string_value(json_object_get(r.payload, "qr"));
	assert_true(qr && !strncmp(qr, "MT:", 3));
	assert_int_equal(json_object_size(r.views), 2);
	/* The manifest has the device's row. */
	char *manifest = testutil_join_path(dir, "out/manifest.csv");
	assert_true(file_contains(manifest, "SIM-001", 7));
	assert_true(file_contains(manifest, qr, strlen(qr)));
	free(manifest);
	/* No private key in the clear anywhere in flash: the DAC key went to eFuse. */
	simrun_stop(&s);
	uint8_t scalar[32];
	dac_scalar(runjson_summary(&r, "folder"), scalar);
	assert_false(file_contains(s.flash, scalar, 32));
	assert_false(file_contains(s.flash, "PRIVATE KEY", 11));
	assert_true(file_contains(s.flash, "\x11\xba\x5e\xba", 4)); /* esp_secure_cert TLV magic */
	runjson_free(&r);
	free(profile);
	unlink(s.flash);
	unlink(s.efuse);
	simrun_free(&s);
}

/* ESP32 and C2 have neither DS nor ECDSA: the flash-encryption path burns the XTS/AES key,
 * enables encryption through BLOCK0 and writes the secret-bearing partitions encrypted on the
 * host, so neither the DAC key nor its PEM armour may be found in the flash image. */
static void test_flash_encryption_path(void **state)
{
	if (!*state)
		skip();
	static const char *const chips[] = {"esp32", "esp32c2"};
	for (size_t i = 0; i < sizeof chips / sizeof chips[0]; i++) {
		char *dir = testutil_make_tmpdir();
		testpki_write_material(dir);
		struct simrun s = {0};
		sim_start(&s, dir, chips[i], NULL);
		char *profile = make_profile(dir, chips[i], "esp32-bridge.csv",
					     "mode = development\npath = flash-encryption");
		struct run_out r;
		runjson_espfab_run(dir, profile, s.port, true, &r);
		if (r.rc != 0)
			fail_msg("%s: exit %d: %s%s", chips[i], r.rc, (char *)buf_terminate_str(&r.err),
				 (char *)r.out.data);
		assert_string_equal(runjson_summary(&r, "result"), "ok");
		assert_non_null(strstr((char *)r.out.data, "\"step\":\"verify-efuse\",\"state\":\"done\""));
		simrun_stop(&s);
		uint8_t scalar[32];
		dac_scalar(runjson_summary(&r, "folder"), scalar);
		assert_false(file_contains(s.flash, scalar, 32));
		assert_false(file_contains(s.flash, "PRIVATE KEY", 11));
		/* Encrypted on the host: the TLV magic is not visible in the clear either. */
		assert_false(file_contains(s.flash, "\x11\xba\x5e\xba", 4));
		runjson_free(&r);
		free(profile);
		simrun_free(&s);
		testutil_remove_tree(dir);
		free(dir);
	}
}

static void test_refusal_burns_nothing(void **state)
{
	if (!*state)
		skip();
	const char *dir = *state;
	struct simrun s = {0};
	sim_start(&s, dir, "esp32h2", NULL);
	char *profile = make_profile(dir, "esp32c6", "h2-light.csv", "mode = development");
	struct run_out r;
	runjson_espfab_run(dir, profile, s.port, true, &r);
	assert_int_equal(r.rc, 1);
	assert_string_equal(runjson_summary(&r, "result"), "refused");
	assert_non_null(strstr((char *)buf_terminate_str(&r.err), "wrong chip"));
	simrun_stop(&s);
	assert_true(file_all_ff(s.flash));
	runjson_free(&r);
	free(profile);
	unlink(s.flash);
	unlink(s.efuse);
	simrun_free(&s);
}

static void test_resume_after_cut_link(void **state)
{
	if (!*state)
		skip();
	const char *dir = *state;
	struct simrun s = {0};
	/* Cut the link once the ECDSA key is burned and the partitions written (during readback). */
	sim_start(&s, dir, "esp32h2", "disconnect-after:15000");
	char *profile = make_profile(dir, "esp32h2", "h2-light.csv", "mode = development");
	char *outdir = testutil_join_path(dir, "out");
	testutil_remove_tree(outdir);
	struct run_out r1, r2;
	runjson_espfab_run(dir, profile, s.port, true, &r1);
	assert_int_equal(r1.rc, 3);
	assert_string_equal(runjson_summary(&r1, "result"), "failed");
	simrun_stop(&s);
	sim_start(&s, dir, "esp32h2", NULL);
	runjson_espfab_run(dir, profile, s.port, true, &r2);
	if (r2.rc != 0)
		fail_msg("exit %d: %s", r2.rc, (char *)buf_terminate_str(&r2.err));
	assert_true(json_is_true(json_object_get(json_object_get(r2.done, "summary"), "resumed")));
	assert_string_equal(runjson_summary(&r1, "serial"), runjson_summary(&r2, "serial"));
	assert_string_equal(runjson_summary(&r1, "folder"), runjson_summary(&r2, "folder"));
	/* The key was not burned a second time: no burn step ran in the second run. */
	assert_null(strstr((char *)r2.out.data, "\"step\":\"burn-ecdsa-key\",\"state\":\"running\""));
	runjson_free(&r1);
	runjson_free(&r2);
	free(profile);
	free(outdir);
	unlink(s.flash);
	unlink(s.efuse);
	simrun_free(&s);
}

static void test_dry_run(void **state)
{
	if (!*state)
		skip();
	const char *dir = *state;
	struct simrun s = {0};
	sim_start(&s, dir, "esp32h2", NULL);
	char *profile = make_profile(dir, "esp32h2", "h2-light.csv", "mode = development");
	char *outdir = testutil_join_path(dir, "out-dry");
	struct run_out r;
	memset(&r, 0, sizeof r);
	char portarg[64];
	snprintf(portarg, sizeof portarg, "socket://127.0.0.1:%d", s.port);
	char *argv[] = {"espfab", "run", "--profile", profile, "--port", portarg, "--out", outdir, "--dry-run", NULL};
	int rc = testutil_run_espfab(dir, argv, &r.out, &r.err);
	assert_int_equal(rc, 0);
	assert_non_null(strstr((char *)buf_terminate_str(&r.out), "QR code: MT:"));
	assert_int_equal(access(outdir, F_OK), -1);
	simrun_stop(&s);
	assert_true(file_all_ff(s.flash));
	runjson_free(&r);
	free(profile);
	free(outdir);
	unlink(s.flash);
	unlink(s.efuse);
	simrun_free(&s);
}

/* ESP32-C3 on the ds path (development, flash encryption off): the DS HMAC key goes to eFuse
 * with purpose 7 and never to flash, the RSA device key is in flash only as DS ciphertext; the
 * app's images from flasher_args.json are written and read back too. */
static void test_c3_ds_with_firmware(void **state)
{
	if (!*state)
		skip();
	const char *dir = *state;
	/* A small "build": bootloader, partition table and app images. */
	uint8_t img[0x3000];
	for (size_t i = 0; i < sizeof img; i++)
		img[i] = (uint8_t)(i * 7 + 1);
	char *p = testutil_join_path(dir, "bootloader.bin");
	testutil_write_file(p, img, 0x2000);
	free(p);
	p = testutil_join_path(dir, "app.bin");
	testutil_write_file(p, img, sizeof img);
	free(p);
	const char *fa = "{\"flash_settings\": {\"flash_mode\": \"dio\", \"flash_size\": \"4MB\", "
			 "\"flash_freq\": \"80m\"}, \"flash_files\": {\"0x0\": \"bootloader.bin\", "
			 "\"0x20000\": \"app.bin\"}}";
	p = testutil_join_path(dir, "flasher_args.json");
	testutil_write_file(p, fa, strlen(fa));
	free(p);
	struct simrun s = {0};
	sim_start(&s, dir, "esp32c3", NULL);
	char *profile = make_profile(dir, "esp32c3", "c3-plug.csv",
				     "mode = development\npath = ds\nflash_encryption = no\n"
				     "[firmware]\nflasher_args = flasher_args.json");
	struct run_out r;
	runjson_espfab_run(dir, profile, s.port, true, &r);
	if (r.rc != 0)
		fail_msg("exit %d: %s", r.rc, (char *)buf_terminate_str(&r.err));
	/* The plan said the DAC key is in the clear (development). */
	assert_non_null(strstr((char *)r.out.data, "in the clear (development only)"));
	assert_non_null(strstr((char *)r.out.data, "\"step\":\"burn-ds-hmac-key\",\"state\":\"done\""));
	assert_non_null(strstr((char *)r.out.data, "\"step\":\"write-fw-0x20000\",\"state\":\"done\""));
	simrun_stop(&s);
	const char *folder = runjson_summary(&r, "folder");
	char *hk = testutil_join_path(folder, "keys/ds_hmac_key.bin");
	char *rk = testutil_join_path(folder, "keys/ds_rsa_key.der");
	buf_t hmac = BUF_INIT, rsa = BUF_INIT, flash = BUF_INIT;
	testutil_read_file(hk, &hmac);
	testutil_read_file(rk, &rsa);
	testutil_read_file(s.flash, &flash);
	assert_int_equal(hmac.len, 32);
	assert_true(rsa.len > 600);
	assert_null(memmem(flash.data, flash.len, hmac.data, hmac.len));
	/* No 64-byte window of the RSA key's DER (its primes and exponents) is in flash. */
	for (size_t off = 0; off + 64 <= rsa.len; off += 64)
		assert_null(memmem(flash.data, flash.len, rsa.data + off, 64));
	/* The firmware images sit at their offsets. */
	testutil_assert_bytes_equal("bootloader", flash.data, 0x2000, img, 0x2000);
	testutil_assert_bytes_equal("app", flash.data + 0x20000, sizeof img, img, sizeof img);
	buf_wipe_data(&hmac);
	buf_wipe_data(&rsa);
	buf_free_data(&flash);
	free(hk);
	free(rk);
	runjson_free(&r);
	free(profile);
	unlink(s.flash);
	unlink(s.efuse);
	simrun_free(&s);
}

/* The shipped h2-light example, with test material made by the commands espfab-profile(5)
 * documents, provisions a simulated H2. */
static void test_shipped_example(void **state)
{
	if (!*state)
		skip();
	const char *dir = *state;
	char *profiles = testutil_join_path(dir, "profiles"), *parts = testutil_join_path(dir, "partitions");
	char *pki = testutil_join_path(dir, "profiles/test-pki");
	err_t e = {0};
	assert_int_equal(fileio_make_dirs(pki, 0700, &e), 0);
	assert_int_equal(fileio_make_dirs(parts, 0755, &e), 0);
	const char *copies[][2] = {{"assets/profiles/h2-light.ini", "profiles/h2-light.ini"},
				   {"assets/partitions/h2-light.csv", "partitions/h2-light.csv"}};
	for (int i = 0; i < 2; i++) {
		char *from = testutil_join_path(testutil_source_dir(), copies[i][0]);
		char *to = testutil_join_path(dir, copies[i][1]);
		buf_t b = BUF_INIT;
		testutil_read_file(from, &b);
		testutil_write_file(to, b.data, b.len);
		buf_free_data(&b);
		free(from);
		free(to);
	}
	char *cmds[][32] = {
		{"espfab", "attest", "gen-att-cert", "-t", "a", "-c", "Test PAA", "-V", "0xFFF1", "-o", "paa_cert.pem",
		 "-O", "paa_key.pem", "-l", "3650", NULL},
		{"espfab", "attest", "gen-att-cert", "-t", "i", "-c", "Test PAI", "-V", "0xFFF1", "-C", "paa_cert.pem",
		 "-K", "paa_key.pem", "-o", "pai_cert.pem", "-O", "pai_key.pem", "-l", "3650", NULL},
		{"espfab", "attest", "gen-att-cert", "-t", "a", "-c", "Test CD signer", "-o", "cd_cert.pem", "-O",
		 "cd_key.pem", "-l", "3650", NULL},
		{"espfab", "attest", "gen-cd", "-K", "cd_key.pem", "-C", "cd_cert.pem", "-O", "cd.der", "-f", "1", "-V",
		 "0xFFF1", "-p", "0x8000", "-p", "0x8001", "-p", "0x8002", "-d", "0x0100", "-c", "ZIG20141ZB330001-24",
		 "-l", "0", "-i", "0", "-n", "1", "-t", "0", NULL},
	};
	for (size_t i = 0; i < sizeof cmds / sizeof *cmds; i++) {
		buf_t out = BUF_INIT, err = BUF_INIT;
		int rc = testutil_run_espfab(pki, cmds[i], &out, &err);
		if (rc)
			fail_msg("%s %s: %s", cmds[i][1], cmds[i][2], (char *)buf_terminate_str(&err));
		buf_free_data(&out);
		buf_free_data(&err);
	}
	struct simrun s = {0};
	sim_start(&s, dir, "esp32h2", NULL);
	char *profile = testutil_join_path(profiles, "h2-light.ini");
	struct run_out r;
	runjson_espfab_run(dir, profile, s.port, true, &r);
	if (r.rc != 0)
		fail_msg("exit %d: %s", r.rc, (char *)buf_terminate_str(&r.err));
	assert_string_equal(runjson_summary(&r, "serial"), "H2L-000001");
	runjson_free(&r);
	free(profile);
	free(profiles);
	free(parts);
	free(pki);
	unlink(s.flash);
	unlink(s.efuse);
	simrun_free(&s);
}

static void test_usage_errors(void **state)
{
	(void)state;
	buf_t out = BUF_INIT, err = BUF_INIT;
	char *a1[] = {"espfab", "run", "--port", "socket://127.0.0.1:1", NULL};
	assert_int_equal(testutil_run_espfab(NULL, a1, &out, &err), 2);
	assert_non_null(strstr((char *)buf_terminate_str(&err), "--profile"));
	char *a2[] = {"espfab", "run", "--profile", "x.ini", "--bogus", NULL};
	err.len = 0;
	assert_int_equal(testutil_run_espfab(NULL, a2, &out, &err), 2);
	assert_non_null(strstr((char *)buf_terminate_str(&err), "--bogus"));
	/* A profile that does not load is bad input, checked before the port is touched. */
	char *a3[] = {"espfab", "run", "--profile", "x.ini", "--port", "socket://127.0.0.1:1", NULL};
	err.len = 0;
	assert_int_equal(testutil_run_espfab(NULL, a3, &out, &err), 1);
	assert_non_null(strstr((char *)buf_terminate_str(&err), "x.ini"));
	/* A good profile and nobody listening on the port: a device error. */
	char *dir = testutil_make_tmpdir();
	testpki_write_material(dir);
	char *profile = make_profile(dir, "esp32h2", "h2-light.csv", "mode = development");
	char *a4[] = {"espfab", "run", "--profile", profile, "--port", "socket://127.0.0.1:1", NULL};
	assert_int_equal(testutil_run_espfab(dir, a4, &out, &err), 3);
	free(profile);
	testutil_remove_tree(dir);
	free(dir);
	buf_free_data(&out);
	buf_free_data(&err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_h2_full_run, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refusal_burns_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resume_after_cut_link, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dry_run, setup, teardown),
		cmocka_unit_test_setup_teardown(test_c3_ds_with_firmware, setup, teardown),
		cmocka_unit_test_setup_teardown(test_shipped_example, setup, teardown),
		cmocka_unit_test(test_usage_errors),
		cmocka_unit_test_setup_teardown(test_flash_encryption_path, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
