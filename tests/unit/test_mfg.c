/* mfg beyond the vectors: random commissioning data follows the Matter rules; a multi-threaded
 * batch from a PAA gives distinct devices whose DACs chain to the generated PAI, whose verifiers
 * match their passcodes, and whose batch rows come out in device order; option errors name the
 * option; user CSV/MCSV keys land in the partition CSV. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/err.h"
#include "core/hex.h"
#include "crypto/attest.h"
#include "crypto/spake2p.h"
#include "flow/mfg.h"
#include "crypto/nvs_crypt.h"
#include "formats/nvs_read.h"
#include "formats/seccert.h"
#include "formats/payload.h"

#include <sys/stat.h>

static void test_random_passcodes_and_discriminators(void **state)
{
	(void)state;
	err_t e = {0};
	uint32_t lo = UINT32_MAX, hi = 0;
	uint16_t dlo = 0xFFFF, dhi = 0;
	for (int i = 0; i < 20000; i++) {
		uint32_t p;
		uint16_t d;
		assert_int_equal(mfg_draw_passcode(&p, &e), 0);
		assert_true(mfg_passcode_is_valid(p));
		assert_int_equal(mfg_draw_discriminator(&d, &e), 0);
		assert_true(d <= 0xFFF);
		lo = p < lo ? p : lo;
		hi = p > hi ? p : hi;
		dlo = d < dlo ? d : dlo;
		dhi = d > dhi ? d : dhi;
	}
	/* Uniform draws over the whole range reach both ends' neighbourhoods. */
	assert_true(lo < 100000 && hi > 99900000);
	assert_true(dlo < 16 && dhi > 0xFF0);
	const uint32_t bad[] = {0, 11111111, 12345678, 87654321, 99999999, 100000000};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_false(mfg_passcode_is_valid(bad[i]));
	assert_true(mfg_passcode_is_valid(20202021));
}

static int parse_and_check(char **argv, int argc, struct mfg_options *o, err_t *e)
{
	bool help;
	if (mfg_parse_args(argc, argv, o, &help, e))
		return -1;
	return mfg_check_options(o, e);
}

static void test_option_errors_name_option(void **state)
{
	(void)state;
	struct mfg_options o;
	err_t e = {0};
	char *a1[] = {"mfg", "-v", "0xFFF1", "-p", "0x8000", "-n", "2", "--discriminator", "100", NULL};
	assert_int_equal(parse_and_check(a1, 9, &o, &e), -1);
	assert_non_null(strstr(e.msg, "must be 1"));
	char *a2[] = {"mfg", "-v", "0xFFF1", "-p", "0x8000", "--salt", "AAAA", "--passcode", "20202021", NULL};
	assert_int_equal(parse_and_check(a2, 9, &o, &e), -1);
	assert_non_null(strstr(e.msg, "--verifier"));
	char *a3[] = {"mfg", "-v", "0xFFF1", "-p", "0x8000", "--passcode", "12345678", NULL};
	assert_int_equal(parse_and_check(a3, 7, &o, &e), -1);
	assert_non_null(strstr(e.msg, "--passcode"));
	char *a4[] = {"mfg", "-v", "0xFFF1", "-p", "0x8000", "--product-color", "mauve", NULL};
	assert_int_equal(parse_and_check(a4, 7, &o, &e), -1);
	assert_non_null(strstr(e.msg, "mauve"));
	char *a5[] = {"mfg", "-p", "0x8000", NULL};
	assert_int_equal(parse_and_check(a5, 3, &o, &e), -1);
	assert_non_null(strstr(e.msg, "--vendor-id"));
	char *a6[] = {"mfg", "-v", "1", "-p", "2", "--fixed-labels", "0/room/bedroom", "zz/a/b", NULL};
	assert_int_equal(parse_and_check(a6, 8, &o, &e), -1);
	assert_non_null(strstr(e.msg, "zz/a/b"));
	char *a7[] = {"mfg", "-v", "1", "-p", "2", "--iteration-count", "999", NULL};
	assert_int_equal(parse_and_check(a7, 7, &o, &e), -1);
	assert_non_null(strstr(e.msg, "--iteration-count"));
	/* Spellings: single-dash long options, --opt=value, underscores, list options. */
	char *ok[] = {"mfg", "-v=0xFFF1", "-p", "32768", "-cf", "2", "-dm", "6", "--calendar_types", "Gregorian",
		      "Buddhist", "--locales", "en-US", "--hw-ver=3", NULL};
	assert_int_equal(parse_and_check(ok, 14, &o, &e), 0);
	assert_int_equal(o.vendor_id, 0xFFF1);
	assert_int_equal(o.product_id, 0x8000);
	assert_int_equal(o.commissioning_flow, 2);
	assert_int_equal(o.discovery_mode, 6);
	assert_int_equal(o.calendar_type_count, 2);
	assert_int_equal(o.locale_count, 1);
	assert_int_equal(o.hw_ver, 3);
}

static char *g_dir;

static void run_ok(char *const *argv)
{
	buf_t o = BUF_INIT, r = BUF_INIT;
	int rc = testutil_run_espfab(g_dir, argv, &o, &r);
	buf_terminate_str(&r);
	if (rc)
		print_error("espfab %s failed (%d): %s\n", argv[1], rc, (char *)r.data);
	assert_int_equal(rc, 0);
	buf_free_data(&o);
	buf_free_data(&r);
}

static char *read_text(const char *path)
{
	buf_t b = BUF_INIT;
	testutil_read_file(path, &b);
	buf_terminate_str(&b);
	return (char *)b.data;
}

static void test_threaded_batch_from_paa(void **state)
{
	(void)state;
	g_dir = testutil_make_tmpdir();
	char *paa[] = {"x", "attest", "gen-att-cert", "-t", "a", "-c", "Batch PAA", "-o", "paa.pem", "-O",
		       "paa_key.pem", "-l", "4294967295", "-f", "2024-01-01", NULL};
	run_ok(paa);
	char cwd[4096];
	assert_non_null(getcwd(cwd, sizeof cwd));
	char *argv[] = {"mfg", "-v", "0xFFF1", "-p", "0x8000", "-n", "7", "--paa", "-c", "paa.pem", "-k",
			"paa_key.pem", "--iteration-count", "1000", "--vendor-name", "Batch", "-cf", "1",
			"--enable-rotating-device-id", NULL};
	int argc = 19;
	struct mfg_options o;
	err_t e = {0};
	assert_int_equal(parse_and_check(argv, argc, &o, &e), 0);
	o.threads = 3;
	assert_int_equal(chdir(g_dir), 0);
	struct mfg_batch b;
	int rc = mfg_run_batch(&o, &b, &e);
	assert_int_equal(chdir(cwd), 0);
	if (rc)
		print_error("%s\n", e.msg);
	assert_int_equal(rc, 0);
	assert_int_equal(b.count, 7);

	char *top = testutil_join_path(g_dir, "out/fff1_8000");
	char *pin_path = testutil_join_path(top, "staging/pin_disc.csv");
	char *pins = read_text(pin_path);
	char *line = strchr(pins, '\n') + 1;
	mbedtls_x509_crt paa_crt, pai_crt;
	mbedtls_x509_crt_init(&paa_crt);
	mbedtls_x509_crt_init(&pai_crt);
	char *paa_path = testutil_join_path(g_dir, "paa.pem");
	char *pai_path = testutil_join_path(top, "staging/pai_cert.der");
	assert_int_equal(attest_read_cert_file(paa_path, &paa_crt, &e), 0);
	assert_int_equal(attest_read_cert_file(pai_path, &pai_crt, &e), 0);
	for (size_t i = 0; i < b.count; i++) {
		struct mfg_device *d = &b.devices[i];
		for (size_t j = 0; j < i; j++)
			assert_string_not_equal(d->uuid, b.devices[j].uuid);
		assert_true(mfg_passcode_is_valid(d->passcode));
		assert_true(d->discriminator <= 0xFFF);
		/* pin_disc.csv row i belongs to device i: Index,PIN,Iterations,Salt,Verifier,Discriminator */
		unsigned idx, pin, it, disc;
		char salt[64], ver[160];
		assert_int_equal(sscanf(line, "%u,%u,%u,%63[^,],%159[^,],%u", &idx, &pin, &it, salt, ver, &disc), 6);
		assert_int_equal(idx, i);
		assert_int_equal(pin, d->passcode);
		assert_int_equal(disc, d->discriminator);
		buf_t s = BUF_INIT, v = BUF_INIT;
		assert_int_equal(hex_decode_base64(salt, &s, &e), 0);
		assert_int_equal(hex_decode_base64(ver, &v, &e), 0);
		assert_int_equal(s.len, 32);
		uint8_t want[SPAKE2P_VERIFIER_LEN];
		assert_int_equal(spake2p_compute_verifier(pin, s.data, s.len, it, want, &e), 0);
		testutil_assert_bytes_equal("verifier", v.data, v.len, want, sizeof want);
		buf_free_data(&s);
		buf_free_data(&v);
		line = strchr(line, '\n') + 1;
		/* The QR code carries this device's data and flow 1. */
		struct payload p;
		assert_int_equal(payload_parse_qr(d->qr, &p, &e), 0);
		assert_int_equal(p.passcode, d->passcode);
		assert_int_equal(p.discriminator, d->discriminator);
		assert_int_equal(p.flow, 1);
		assert_int_equal(strlen(d->manual), 21);
		/* Its DAC (CN = folder UUID) chains to the batch PAI and the PAA. */
		char rel[256];
		snprintf(rel, sizeof rel, "%s/internal/DAC_cert.der", d->uuid);
		char *dp = testutil_join_path(top, rel);
		snprintf(rel, sizeof rel, "%s/internal/DAC_key.pem", d->uuid);
		char *kp = testutil_join_path(top, rel);
		mbedtls_x509_crt dac;
		mbedtls_pk_context key;
		mbedtls_x509_crt_init(&dac);
		mbedtls_pk_init(&key);
		assert_int_equal(attest_read_cert_file(dp, &dac, &e), 0);
		assert_int_equal(attest_read_key_file(kp, &key, &e), 0);
		buf_t report = BUF_INIT;
		struct attest_chain ch = {&dac, &pai_crt, &paa_crt, NULL, &key, time(NULL)};
		int n = attest_validate_chain(&ch, &report);
		if (n)
			print_error("%s", (char *)report.data);
		assert_int_equal(n, 0);
		assert_non_null(memmem(dac.subject_raw.p, dac.subject_raw.len, d->uuid, 36));
		/* The QR image decodes to the QR string (when zbarimg is installed). */
		if (i == 0) {
			char cmd[4400];
			snprintf(cmd, sizeof cmd,
				 "command -v zbarimg >/dev/null || exit 77; zbarimg -q --raw %s/%s/%s-qrcode.png 2>/dev/null",
				 top, d->uuid, d->uuid);
			char *sh[] = {"/bin/sh", "-c", cmd, NULL};
			buf_t qo = BUF_INIT;
			int qrc = testutil_run_program(NULL, sh, &qo, NULL);
			if (qrc != 77) {
				assert_int_equal(qrc, 0);
				buf_terminate_str(&qo);
				assert_true(qo.len > 0 && qo.data[qo.len - 1] == '\n');
				qo.data[--qo.len] = 0;
				assert_string_equal((char *)qo.data, d->qr);
			}
			buf_free_data(&qo);
		}
		buf_free_data(&report);
		mbedtls_x509_crt_free(&dac);
		mbedtls_pk_free(&key);
		free(dp);
		free(kp);
	}
	mfg_free_batch(&b);
	mbedtls_x509_crt_free(&paa_crt);
	mbedtls_x509_crt_free(&pai_crt);
	free(paa_path);
	free(pai_path);
	free(pins);
	free(pin_path);
	free(top);
	testutil_remove_tree(g_dir);
	free(g_dir);
}

static void test_cli_csv_mcsv_and_refusals(void **state)
{
	(void)state;
	g_dir = testutil_make_tmpdir();
	char *csv = testutil_join_path(g_dir, "extra.csv"), *mcsv = testutil_join_path(g_dir, "extra_values.csv");
	const char *csv_text = "app-config,namespace,\nboard,data,string\nlevel,data,u8\n";
	const char *mcsv_text = "board,level\nrev-a,3\n\"rev,b\",4\n";
	testutil_write_file(csv, csv_text, strlen(csv_text));
	testutil_write_file(mcsv, mcsv_text, strlen(mcsv_text));
	char *argv[] = {"x", "mfg", "-v", "0x131B", "-p", "2", "--csv", "extra.csv", "--mcsv", "extra_values.csv",
			"--iteration-count", "1000", "--enable-dynamic-passcode", NULL};
	buf_t o = BUF_INIT, r = BUF_INIT;
	assert_int_equal(testutil_run_espfab(g_dir, argv, &o, &r), 0);
	buf_terminate_str(&o);
	/* Two devices from the two MCSV rows; the second device's CSV carries the quoted value. */
	char uuid[2][40];
	assert_int_equal(sscanf((char *)o.data, "%36s %*s\n%36s", uuid[0], uuid[1]), 2);
	char rel[256];
	snprintf(rel, sizeof rel, "out/131b_2/%s/internal/partition.csv", uuid[1]);
	char *pc = testutil_join_path(g_dir, rel);
	char *text = read_text(pc);
	assert_non_null(strstr(text, "app-config,namespace,,\r\nboard,data,string,\"rev,b\"\r\nlevel,data,u8,4\r\n"));
	assert_null(strstr(text, "verifier"));
	free(text);
	free(pc);
	/* A verifier that does not belong to the passcode is refused before anything is written. */
	char *bad[] = {"x", "mfg", "-v", "0xFFF1", "-p", "0x8000", "--passcode", "20202021", "--salt",
		       "U1BBS0UyUCBLZXkgU2FsdA==", "--verifier", "AAAA", "--iteration-count", "1000",
		       "--outdir", "bad", NULL};
	r.len = 0;
	assert_int_equal(testutil_run_espfab(g_dir, bad, &o, &r), 1);
	buf_terminate_str(&r);
	assert_non_null(strstr((char *)r.data, "--verifier does not match"));
	char *badout = testutil_join_path(g_dir, "bad/fff1_8000/staging/master.csv");
	assert_int_not_equal(access(badout, F_OK), 0);
	free(badout);
	buf_free_data(&o);
	buf_free_data(&r);
	free(csv);
	free(mcsv);
	testutil_remove_tree(g_dir);
	free(g_dir);
}

static void test_encrypted_partition_decrypts(void **state)
{
	(void)state;
	g_dir = testutil_make_tmpdir();
	char *paa[] = {"x", "attest", "gen-att-cert", "-t", "a", "-c", "Enc PAA", "-o", "paa.pem", "-O",
		       "paa_key.pem", "-l", "3650", NULL};
	run_ok(paa);
	char *argv[] = {"x", "mfg", "-v", "0xFFF1", "-p", "0x8001", "--paa", "-c", "paa.pem", "-k", "paa_key.pem",
			"-e", "--iteration-count", "1000", "--passcode", "34567890", "--hw-ver", "7", NULL};
	buf_t o = BUF_INIT, r = BUF_INIT;
	assert_int_equal(testutil_run_espfab(g_dir, argv, &o, &r), 0);
	buf_terminate_str(&o);
	char uuid[40], rel[256];
	assert_int_equal(sscanf((char *)o.data, "%36s", uuid), 1);
	buf_t img = BUF_INIT, keys = BUF_INIT, priv = BUF_INIT;
	snprintf(rel, sizeof rel, "out/fff1_8001/%s/%s-partition.bin", uuid, uuid);
	char *ip = testutil_join_path(g_dir, rel);
	snprintf(rel, sizeof rel, "out/fff1_8001/%s/%s-keys-partition.bin", uuid, uuid);
	char *kp = testutil_join_path(g_dir, rel);
	snprintf(rel, sizeof rel, "out/fff1_8001/%s/internal/DAC_private_key.bin", uuid);
	char *pp = testutil_join_path(g_dir, rel);
	testutil_read_file(ip, &img);
	testutil_read_file(kp, &keys);
	testutil_read_file(pp, &priv);
	struct stat st;
	assert_int_equal(stat(kp, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(keys.len, NVS_CRYPT_KEYS_PART_LEN);
	/* The DAC key must not be readable in the encrypted image. */
	assert_null(memmem(img.data, img.len, priv.data, priv.len));
	uint8_t key[NVS_CRYPT_KEY_LEN];
	int crc_ok = 0;
	err_t e = {0};
	assert_int_equal(nvs_crypt_parse_keys_partition(keys.data, keys.len, key, &crc_ok, &e), 0);
	assert_true(crc_ok);
	assert_int_equal(nvs_crypt_decrypt_partition(img.data, img.len, key, &e), 0);
	struct nvs_read_result res;
	assert_int_equal(nvs_read_partition(img.data, img.len, &res, &e), 0);
	assert_int_equal(res.problem_count, 0);
	const struct nvs_read_value *v = nvs_read_find_value(&res, "chip-factory", "vendor-id");
	assert_non_null(v);
	assert_int_equal(v->num, 0xFFF1);
	v = nvs_read_find_value(&res, "chip-factory", "hardware-ver");
	assert_non_null(v);
	assert_int_equal(v->num, 7);
	v = nvs_read_find_value(&res, "chip-factory", "dac-key");
	assert_non_null(v);
	testutil_assert_bytes_equal("dac-key", v->data.data, v->data.len, priv.data, priv.len);
	assert_non_null(nvs_read_find_value(&res, "chip-factory", "verifier"));
	nvs_read_free(&res);
	buf_free_data(&img);
	buf_free_data(&keys);
	buf_wipe_data(&priv);
	buf_free_data(&o);
	buf_free_data(&r);
	free(ip);
	free(kp);
	free(pp);
	testutil_remove_tree(g_dir);
	free(g_dir);
}

/* --pai with generated DACs in esp_secure_cert: each device's TLV partition holds its DAC, the
 * PAI and its SEC1 key exactly as internal/ has them, and the NVS image has no DAC entries. */
static void test_pai_batch_secure_cert(void **state)
{
	(void)state;
	if (!testutil_vectors_dir())
		skip();
	char **cases = testutil_list_cases("mfg");
	char *dir = testutil_vector_path("mfg", cases[0]);
	char *pai = testutil_join_path(dir, "inputs/PAI_cert.pem");
	char *pai_key_src = testutil_join_path(dir, "inputs/PAI_key.pem");
	g_dir = testutil_make_tmpdir();
	char *pai_key = testutil_join_path(g_dir, "pai_key.pem");
	buf_t k = BUF_INIT;
	testutil_read_file(pai_key_src, &k);
	testutil_write_file(pai_key, k.data, k.len);
	buf_wipe_data(&k);
	chmod(pai_key, 0600);
	char *argv[] = {"x", "mfg", "-v", "0xFFF2", "-p", "0x8001", "-n", "3", "--pai", "-c", pai, "-k", pai_key,
			"--dac-in-secure-cert", "--iteration-count", "1000", "--threads", "2", NULL};
	buf_t o = BUF_INIT, r = BUF_INIT;
	int rc = testutil_run_espfab(g_dir, argv, &o, &r);
	buf_terminate_str(&o);
	buf_terminate_str(&r);
	if (rc)
		print_error("%s\n", (char *)r.data);
	assert_int_equal(rc, 0);
	const char *line = (char *)o.data;
	for (int i = 0; i < 3; i++) {
		char uuid[40], rel[256];
		assert_int_equal(sscanf(line, "%36s", uuid), 1);
		line = strchr(line, '\n') + 1;
		buf_t img = BUF_INIT, f = BUF_INIT, nvs = BUF_INIT;
		snprintf(rel, sizeof rel, "out/fff2_8001/%s/%s_esp_secure_cert.bin", uuid, uuid);
		char *sp = testutil_join_path(g_dir, rel);
		testutil_read_file(sp, &img);
		struct seccert_image si;
		err_t e = {0};
		assert_int_equal(seccert_parse_image(img.data, img.len, 0, &si, &e), 0);
		assert_int_equal(si.count, 3);
		const char *files[] = {"DAC_cert.der", "PAI_cert.der", "DAC_key.der"};
		const unsigned types[] = {SECCERT_TYPE_DEV_CERT, SECCERT_TYPE_CA_CERT, SECCERT_TYPE_PRIV_KEY};
		for (int t = 0; t < 3; t++) {
			assert_int_equal(si.entries[t].type, types[t]);
			snprintf(rel, sizeof rel, "out/fff2_8001/%s/internal/%s", uuid, files[t]);
			char *fp = testutil_join_path(g_dir, rel);
			f.len = 0;
			testutil_read_file(fp, &f);
			testutil_assert_bytes_equal(files[t], si.entries[t].value.data, si.entries[t].value.len,
						    f.data, f.len);
			free(fp);
		}
		seccert_image_free(&si);
		snprintf(rel, sizeof rel, "out/fff2_8001/%s/%s-partition.bin", uuid, uuid);
		char *np = testutil_join_path(g_dir, rel);
		testutil_read_file(np, &nvs);
		struct nvs_read_result res;
		assert_int_equal(nvs_read_partition(nvs.data, nvs.len, &res, &e), 0);
		assert_null(nvs_read_find_value(&res, "chip-factory", "dac-key"));
		assert_null(nvs_read_find_value(&res, "chip-factory", "dac-cert"));
		assert_non_null(nvs_read_find_value(&res, "chip-factory", "verifier"));
		nvs_read_free(&res);
		buf_free_data(&nvs);
		buf_wipe_data(&img);
		buf_free_data(&f);
		free(sp);
		free(np);
	}
	buf_free_data(&o);
	buf_free_data(&r);
	testutil_remove_tree(g_dir);
	free(g_dir);
	free(pai_key);
	free(pai_key_src);
	free(pai);
	free(dir);
	testutil_free_list(cases);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_random_passcodes_and_discriminators),
		cmocka_unit_test(test_option_errors_name_option),
		cmocka_unit_test(test_threaded_batch_from_paa),
		cmocka_unit_test(test_cli_csv_mcsv_and_refusals),
		cmocka_unit_test(test_encrypted_partition_decrypts),
		cmocka_unit_test(test_pai_batch_secure_cert),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
