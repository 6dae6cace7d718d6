/* Regression tests for inputs on which espfab once gave other bytes (or another verdict) than the
 * reference tools. Every expected file under tests/fixtures/diff was written by the reference tool
 * itself; the command that produced it is recorded next to each case. Inputs are copied into a
 * fresh folder and the espfab command line is run there, as the reference was. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define DIFF_MAX_ARGS 24
#define DIFF_MAX_INPUTS 6

struct diff_case {
	const char *what;
	const char *args[DIFF_MAX_ARGS];     /* after "espfab" */
	const char *inputs[DIFF_MAX_INPUTS]; /* fixtures copied into the working folder */
	const char *want_stdout;             /* fixture equal to stdout, or NULL */
	const char *out_file;                /* file the command writes, compared with want_file */
	const char *want_file;
	int want_fail;                       /* the reference refuses the input */
};

static const struct diff_case diff_cases[] = {
	/* generate_setup_payload.py -d 0o7777 -p 0x5f5e0fe -vid 0b1 -pid 1_000 -cf ' 2' -dm +3
	 * (connectedhomeip @ 0295ceb9; every number goes through int(s, 0)) */
	{"payload: numbers as Python int(s, 0)",
	 {"payload", "-d", "0o7777", "-p", "0x5f5e0fe", "-vid", "0b1", "-pid", "1_000", "-cf", " 2", "-dm", "+3"},
	 {NULL},
	 "payload_python_ints.txt", NULL, NULL, 0},
	/* generate_setup_payload.py -d=5 -p 20202021 -vid=65521 -pid=0X8000 */
	{"payload: -opt=value for short and single-dash long options",
	 {"payload", "-d=5", "-p", "20202021", "-vid=65521", "-pid=0X8000"},
	 {NULL},
	 "payload_equals_forms.txt", NULL, NULL, 0},
	/* generate_setup_payload.py -d 010 -p 20202021: int('010', 0) is an error */
	{"payload: a decimal with a leading zero is refused",
	 {"payload", "-d", "010", "-p", "20202021"},
	 {NULL},
	 NULL, NULL, NULL, 1},
	/* spake2p.py gen-verifier -p ' 20202021' -s 'U1BB S0Uy UCBL ZXkg U2Fs dA==' -i 1_000
	 * (connectedhomeip @ 4edeb0c4; int() and base64.b64decode() without validation) */
	{"spake2p: int() forms and a salt with spaces",
	 {"spake2p", "gen-verifier", "-p", " 20202021", "-s", "U1BB S0Uy UCBL ZXkg U2Fs dA==", "-i", "1_000"},
	 {NULL},
	 "spake2p_lenient_salt.txt", NULL, NULL, 0},
	/* spake2p.py gen-verifier -p 020202021 -s 'U1BBS0UyUCBLZXkgU2FsdA==trailing' -i ' 1000':
	 * the same verifier (decoding stops at the padding) */
	{"spake2p: text after the base64 padding is ignored",
	 {"spake2p", "gen-verifier", "-p", "020202021", "-s", "U1BBS0UyUCBLZXkgU2FsdA==trailing", "-i", " 1000"},
	 {NULL},
	 "spake2p_lenient_salt.txt", NULL, NULL, 0},
	/* spake2p.py gen-verifier -p 20202021 -s 'U1BBS0UyUC*BLZXkgU2Fsd=A=' -i 1000: bad padding */
	{"spake2p: a dangling base64 group is refused",
	 {"spake2p", "gen-verifier", "-p", "20202021", "-s", "U1BBS0UyUC*BLZXkgU2Fsd=A=", "-i", "1000"},
	 {NULL},
	 NULL, NULL, NULL, 1},
	/* gen_esp32part.py parttable_long_names.csv parttable_long_names.bin (esp-idf @ 10212290,
	 * run_gen()): names are packed with struct '16s', so longer ones are cut and two names that
	 * differ only after byte 16 pass the uniqueness check */
	{"parttable: names longer than 16 bytes",
	 {"parttable", "parttable_long_names.csv", "out.bin"},
	 {"parttable_long_names.csv", NULL},
	 NULL, "out.bin", "parttable_long_names.bin", 0},
	/* gen_esp32part.py --primary-bootloader-offset=0o10000 --recovery-bootloader-offset 0x40000
	 * --offset=0x9_000 parttable_bootloader_rows.csv parttable_bootloader_rows.bin (run_gen with
	 * offsets 0x1000, 0x40000, 0x9000): the tool's AnyIntType is int(s, 0) */
	{"parttable: offsets as Python int(s, 0)",
	 {"parttable", "--primary-bootloader-offset=0o10000", "--recovery-bootloader-offset", "0x40000",
	  "--offset=0x9_000", "parttable_bootloader_rows.csv", "out.bin"},
	 {"parttable_bootloader_rows.csv", NULL},
	 NULL, "out.bin", "parttable_bootloader_rows.bin", 0},
	/* gen_esp32part.py parttable_utf16.csv parttable_utf16.bin: the tool decodes by the byte
	 * order mark (here UTF-16 LE) */
	{"parttable: UTF-16 CSV",
	 {"parttable", "parttable_utf16.csv", "out.bin"},
	 {"parttable_utf16.csv", NULL},
	 NULL, "out.bin", "parttable_utf16.bin", 0},
	/* gen_esp32part.py parttable_unicode_space.csv parttable_unicode_space.bin: lines split by
	 * str.splitlines() (U+2028, U+0085, form feed, 0x1c) and fields cut with str.strip()
	 * (U+00A0, U+2003, U+3000, 0x1f) */
	{"parttable: Python line breaks and whitespace",
	 {"parttable", "parttable_unicode_space.csv", "out.bin"},
	 {"parttable_unicode_space.csv", NULL},
	 NULL, "out.bin", "parttable_unicode_space.bin", 0},
	/* gen_esp32part.py parttable_bad_utf8.csv: UnicodeDecodeError */
	{"parttable: CSV that is not UTF-8",
	 {"parttable", "parttable_bad_utf8.csv", "out.bin"},
	 {"parttable_bad_utf8.csv", NULL},
	 NULL, NULL, NULL, 1},
	/* gen_esp32part.py made parttable_cut_utf8_name.bin from a row named 15 x 'a' + U+00E9 (cut
	 * inside the character); reading it back, gen_esp32part.py parttable_cut_utf8_name.bin
	 * out.csv fails with UnicodeDecodeError */
	{"parttable: binary name cut inside a UTF-8 character",
	 {"parttable", "parttable_cut_utf8_name.bin", "out.csv"},
	 {"parttable_cut_utf8_name.bin", NULL},
	 NULL, NULL, NULL, 1},
	/* configure_esp_secure_cert.py --ca-cert seccert_ed25519_ca.der --device-cert
	 * seccert_p256_dev.pem --private-key seccert_p256_key_pkcs8.pem --target_chip esp32c3
	 * --skip_flash (esp_secure_cert_mgr @ 2296511a): an Ed25519 certificate is stored as is */
	{"seccert: Ed25519 CA certificate",
	 {"seccert", "--ca-cert", "seccert_ed25519_ca.der", "--device-cert", "seccert_p256_dev.pem", "--private-key",
	  "seccert_p256_key_pkcs8.pem", "--target_chip", "esp32c3", "--skip_flash"},
	 {"seccert_ed25519_ca.der", "seccert_p256_dev.pem", "seccert_p256_key_pkcs8.pem", NULL},
	 NULL, "esp_secure_cert_data/esp_secure_cert.bin", "seccert_ed25519_ca.bin", 0},
	/* configure_esp_secure_cert.py --ca-cert seccert_trailing_bytes.der --target_chip esp32c3
	 * --skip_flash exits with "Unsupported certificate encoding format": two bytes follow the DER */
	{"seccert: DER certificate followed by other bytes",
	 {"seccert", "--ca-cert", "seccert_trailing_bytes.der", "--target_chip", "esp32c3", "--skip_flash"},
	 {"seccert_trailing_bytes.der", NULL},
	 NULL, NULL, NULL, 1},
	/* configure_esp_secure_cert.py --private-key seccert_p256_key_pkcs8.pem --priv_key_algo ECDSA
	 * ' 2_56' --configure_ds --efuse_key_id ' +1' --target_chip esp32h2 --skip_flash: both
	 * numbers go through int(s) */
	{"seccert: key size and eFuse key id as Python int()",
	 {"seccert", "--private-key", "seccert_p256_key_pkcs8.pem", "--priv_key_algo", "ECDSA", " 2_56", "--configure_ds",
	  "--efuse_key_id", " +1", "--target_chip", "esp32h2", "--skip_flash"},
	 {"seccert_p256_key_pkcs8.pem", NULL},
	 NULL, "esp_secure_cert_data/esp_secure_cert.bin", "seccert_ecdsa_int_forms.bin", 0},
	/* nvs_partition_gen.py generate nvs_python_size.csv out.bin 0o10000 --version ' 2'
	 * (esp-idf-nvs-partition-gen @ 67113ed0): the size goes through int(s, 0), the version
	 * through int(s) */
	{"nvs: size and version as Python int()",
	 {"nvs", "generate", "nvs_python_size.csv", "out.bin", "0o10000", "--version", " 2"},
	 {"nvs_python_size.csv", NULL},
	 NULL, "out.bin", "nvs_python_size.bin", 0},
};

static char *diff_fixture_path(const char *name)
{
	char *dir = testutil_join_path(testutil_source_dir(), "tests/fixtures/diff");
	char *p = testutil_join_path(dir, name);
	free(dir);
	return p;
}

static void diff_run_case(const struct diff_case *c)
{
	char *work = testutil_make_tmpdir();
	for (int i = 0; i < DIFF_MAX_INPUTS && c->inputs[i]; i++) {
		char *src = diff_fixture_path(c->inputs[i]);
		char *dst = testutil_join_path(work, c->inputs[i]);
		buf_t b = BUF_INIT;
		testutil_read_file(src, &b);
		testutil_write_file(dst, b.data, b.len);
		chmod(dst, 0600); /* key files: no permission warning */
		buf_free_data(&b);
		free(src);
		free(dst);
	}
	char *argv[DIFF_MAX_ARGS + 2] = {"espfab"};
	int n = 1;
	for (int i = 0; i < DIFF_MAX_ARGS && c->args[i]; i++)
		argv[n++] = (char *)c->args[i];
	argv[n] = NULL;
	buf_t out = BUF_INIT, err = BUF_INIT;
	int rc = testutil_run_espfab(work, argv, &out, &err);
	buf_terminate_str(&err);
	if (c->want_fail) {
		if (rc == 0)
			fail_msg("%s: accepted, the reference refuses it", c->what);
	} else {
		if (rc != 0)
			fail_msg("%s: exit %d: %s", c->what, rc, (const char *)err.data);
		if (c->want_stdout) {
			char *p = diff_fixture_path(c->want_stdout);
			buf_t want = BUF_INIT;
			testutil_read_file(p, &want);
			testutil_assert_bytes_equal(c->what, out.data, out.len, want.data, want.len);
			buf_free_data(&want);
			free(p);
		}
		if (c->out_file) {
			char *got = testutil_join_path(work, c->out_file);
			char *want = diff_fixture_path(c->want_file);
			testutil_assert_files_equal(got, want);
			free(got);
			free(want);
		}
	}
	buf_free_data(&out);
	buf_free_data(&err);
	testutil_remove_tree(work);
	free(work);
}

static void test_reference_divergence(void **state)
{
	diff_run_case(*state);
}

int main(void)
{
	enum { N = sizeof diff_cases / sizeof diff_cases[0] };
	struct CMUnitTest tests[N];
	for (size_t i = 0; i < N; i++) {
		struct CMUnitTest t = {diff_cases[i].what, test_reference_divergence, NULL, NULL,
				       (void *)&diff_cases[i]};
		tests[i] = t;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
