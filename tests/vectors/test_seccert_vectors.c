/* Vector tests of the esp_secure_cert partition: every case of ../shared/vectors/secure_cert is
 * replayed through `espfab seccert` (its case.json command, inputs copied to a temp folder) and
 * through the library (seccert_spec + seccert_build_tlv); both outputs must equal expected.bin
 * byte for byte, eFuse key bytes must equal what espefuse reported, tool side files must match.
 * The reader must decode every vector and re-encode it to the same bytes. */
#include "testutil.h"

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/hex.h"
#include "formats/seccert.h"
#include "formats/seccert_build.h"
#include "formats/seccert_describe.h"

/* Copies every regular file of the case folder into a fresh temp folder. */
static char *copy_case(const char *case_dir)
{
	char *tmp = testutil_make_tmpdir();
	DIR *d = opendir(case_dir);
	assert_non_null(d);
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		char *src = testutil_join_path(case_dir, de->d_name);
		struct stat st;
		if (stat(src, &st) == 0 && S_ISREG(st.st_mode)) {
			buf_t b = BUF_INIT;
			testutil_read_file(src, &b);
			char *dst = testutil_join_path(tmp, de->d_name);
			testutil_write_file(dst, b.data, b.len);
			chmod(dst, 0600);
			free(dst);
			buf_free_data(&b);
		}
		free(src);
	}
	closedir(d);
	return tmp;
}

static const char *json_str_at(json_t *arr, size_t i)
{
	const char *s = json_string_value(json_array_get(arr, i));
	assert_non_null(s);
	return s;
}

/* The case's command as library input: the same options the CLI takes. Fails on an option this
 * replay does not know, so a new kind of case cannot pass unnoticed. */
static void spec_from_command(json_t *cmd, json_t *cs, struct seccert_spec *spec)
{
	const char *chip = "esp32c3";
	for (size_t i = 1; i < json_array_size(cmd); i++)
		if (strcmp(json_str_at(cmd, i), "--target_chip") == 0)
			chip = json_str_at(cmd, i + 1);
	seccert_spec_init(spec, chip);
	err_t e = {0};
	const char *ca = NULL, *dev = NULL, *key = NULL, *algo = NULL, *bits = NULL, *efile = NULL,
		   *csv = NULL;
	int key_id = -1;
	bool ds = false;
	for (size_t i = 1; i < json_array_size(cmd); i++) {
		const char *o = json_str_at(cmd, i);
		if (!strcmp(o, "--private-key"))
			key = json_str_at(cmd, ++i);
		else if (!strcmp(o, "--device-cert"))
			dev = json_str_at(cmd, ++i);
		else if (!strcmp(o, "--ca-cert"))
			ca = json_str_at(cmd, ++i);
		else if (!strcmp(o, "--target_chip"))
			i++;
		else if (!strcmp(o, "--configure_ds"))
			ds = true;
		else if (!strcmp(o, "--priv_key_algo")) {
			algo = json_str_at(cmd, ++i);
			bits = json_str_at(cmd, ++i);
		} else if (!strcmp(o, "--efuse_key_id"))
			key_id = atoi(json_str_at(cmd, ++i));
		else if (!strcmp(o, "--efuse_key_file"))
			efile = json_str_at(cmd, ++i);
		else if (!strcmp(o, "--esp_secure_cert_csv"))
			csv = json_str_at(cmd, ++i);
		else if (!strcmp(o, "--skip_flash"))
			continue;
		else
			fail_msg("library replay does not know option %s", o);
	}
	buf_t b = BUF_INIT;
	if (ca) {
		testutil_read_file(ca, &b);
		assert_non_null(seccert_spec_add_item(spec, SECCERT_TYPE_CA_CERT, 0, b.data, b.len, ca, &e));
	}
	if (dev) {
		b.len = 0;
		testutil_read_file(dev, &b);
		assert_non_null(seccert_spec_add_item(spec, SECCERT_TYPE_DEV_CERT, 0, b.data, b.len, dev, &e));
	}
	if (key) {
		b.len = 0;
		testutil_read_file(key, &b);
		struct seccert_item *it =
			seccert_spec_add_item(spec, SECCERT_TYPE_PRIV_KEY, 0, b.data, b.len, key, &e);
		assert_non_null(it);
		if (algo) {
			snprintf(it->algorithm, sizeof it->algorithm, "%s", algo);
			it->key_size = (unsigned)atoi(bits);
		}
		if (ds)
			it->key_kind = !strcmp(algo, "RSA") ? SECCERT_KEY_RSA_DS : SECCERT_KEY_ECDSA_PERIPHERAL;
		it->efuse_key_id = key_id;
		if (efile)
			testutil_read_file(efile, &it->hmac_key);
	}
	buf_free_data(&b);
	if (csv && seccert_spec_add_csv(spec, csv, &e))
		fail_msg("CSV %s: %s", csv, e.msg);
	json_t *dsj = json_object_get(cs, "ds");
	if (dsj) {
		buf_t iv = BUF_INIT;
		assert_int_equal(hex_decode_string(json_string_value(json_object_get(dsj, "iv_hex")), &iv, &e), 0);
		assert_int_equal(iv.len, DS_IV_LEN);
		memcpy(spec->ds_iv, iv.data, DS_IV_LEN);
		spec->ds_iv_fixed = true;
		buf_free_data(&iv);
	}
}

static void check_efuse_bytes(json_t *cs, const struct seccert_output *out)
{
	json_t *ef = json_object_get(cs, "efuse");
	if (!ef) {
		assert_int_equal(out->hw_count, 0);
		return;
	}
	const char *block = json_string_value(json_object_get(ef, "key_block"));
	assert_non_null(block);
	unsigned k = (unsigned)atoi(block + strlen("BLOCK_KEY"));
	assert_int_equal(out->hw_count, 1);
	assert_int_equal(out->hw[0].efuse_key_id, k);
	assert_string_equal(out->hw[0].purpose, json_string_value(json_object_get(ef, "key_purpose")));
	buf_t want = BUF_INIT;
	err_t e = {0};
	assert_int_equal(hex_decode_string(json_string_value(json_object_get(ef, "efuse_block_bytes_hex")),
					   &want, &e), 0);
	testutil_assert_bytes_equal("eFuse block", out->hw[0].efuse_block, sizeof out->hw[0].efuse_block,
				    want.data, want.len);
	buf_free_data(&want);
}

/* Decodes expected.bin, checks every entry, and re-encodes it entry by entry. */
static void check_reader_round_trip(const char *case_name, const uint8_t *img, size_t len)
{
	struct seccert_image im;
	err_t e = {0};
	if (seccert_parse_image(img, len, 0, &im, &e))
		fail_msg("%s: reader: %s", case_name, e.msg);
	assert_int_equal(im.layout, SECCERT_LAYOUT_TLV);
	assert_true(im.integrity_checked);
	assert_int_equal(im.used_len, len);
	assert_true(im.count >= 2);
	struct seccert_writer w;
	seccert_writer_init(&w, 0);
	for (size_t i = 0; i < im.count; i++) {
		const struct seccert_entry *en = &im.entries[i];
		json_t *d = seccert_describe_entry(en);
		if (json_object_get(d, "error"))
			fail_msg("%s: entry %zu: %s", case_name, i, json_string_value(json_object_get(d, "error")));
		json_decref(d);
		if (en->type == SECCERT_TYPE_INTEGRITY) {
			assert_int_equal(i, im.count - 1);
			assert_int_equal(seccert_writer_add_integrity(&w, en->subtype, &e), 0);
		} else {
			assert_int_equal(seccert_writer_add(&w, en->type, en->subtype, en->flags, en->value.data,
							    en->value.len, &e), 0);
		}
	}
	testutil_assert_bytes_equal("re-encoded image", w.image.data, w.image.len, img, len);
	seccert_writer_free(&w);
	seccert_image_free(&im);
}

static void run_case(const char *name)
{
	char *case_dir = testutil_vector_path("secure_cert", name);
	char *cj = testutil_join_path(case_dir, "case.json");
	json_t *cs = testutil_load_json(cj);
	assert_non_null(cs);
	json_t *cmd = json_object_get(cs, "command");
	assert_true(json_array_size(cmd) > 1);
	const char *expected_name = json_string_value(json_object_get(json_object_get(cs, "outputs"), "bin"));
	assert_non_null(expected_name);
	char *tmp = copy_case(case_dir);
	char *expected_path = testutil_join_path(tmp, expected_name);
	buf_t expected = BUF_INIT;
	testutil_read_file(expected_path, &expected);

	/* CLI: the reference tool's name replaced by `espfab seccert`, plus --ds-iv for DS cases. */
	size_t n = json_array_size(cmd);
	char **argv = calloc(n + 5, sizeof *argv);
	size_t k = 0;
	argv[k++] = "espfab";
	argv[k++] = "seccert";
	for (size_t i = 1; i < n; i++)
		argv[k++] = (char *)json_str_at(cmd, i);
	json_t *dsj = json_object_get(cs, "ds");
	if (dsj) {
		argv[k++] = "--ds-iv";
		argv[k++] = (char *)json_string_value(json_object_get(dsj, "iv_hex"));
	}
	buf_t out = BUF_INIT, err = BUF_INIT;
	int rc = testutil_run_espfab(tmp, argv, &out, &err);
	buf_terminate_str(&err);
	if (rc != 0)
		fail_msg("%s: espfab seccert exited %d: %s", name, rc, (char *)err.data);
	char *got = testutil_join_path(tmp, "esp_secure_cert_data/esp_secure_cert.bin");
	testutil_assert_files_equal(got, expected_path);
	json_t *side = json_object_get(json_object_get(cs, "outputs"), "tool_written_files");
	const char *fname;
	json_t *v;
	json_object_foreach(side, fname, v)
	{
		char rel[256];
		snprintf(rel, sizeof rel, "esp_secure_cert_data/%s", fname);
		char *gp = testutil_join_path(tmp, rel);
		char *wp = testutil_join_path(tmp, fname);
		testutil_assert_files_equal(gp, wp);
		struct stat st;
		assert_int_equal(stat(gp, &st), 0);
		assert_int_equal(st.st_mode & 0777, 0600);
		free(gp);
		free(wp);
	}

	/* Library: the same inputs as a spec, built in memory (files read relative to the copy). */
	char cwd[PATH_MAX];
	assert_non_null(getcwd(cwd, sizeof cwd));
	assert_int_equal(chdir(tmp), 0);
	struct seccert_spec spec;
	spec_from_command(cmd, cs, &spec);
	struct seccert_output lo;
	err_t e = {0};
	if (seccert_build_tlv(&spec, &lo, &e))
		fail_msg("%s: library: %s", name, e.msg);
	assert_int_equal(chdir(cwd), 0);
	testutil_assert_bytes_equal("library image", lo.image.data, lo.image.len, expected.data,
				    expected.len);
	check_efuse_bytes(cs, &lo);
	if (lo.hw_count && lo.hw[0].kind == SECCERT_KEY_ECDSA_PERIPHERAL) {
		/* ecdsa_key.bin is the big-endian scalar; the eFuse block holds it reversed. */
		for (size_t i = 0; i < lo.hw[0].ecdsa_scalar_len; i++)
			assert_int_equal(lo.hw[0].ecdsa_scalar[i], lo.hw[0].efuse_block[31 - i]);
		if (json_object_get(side, "ecdsa_key.bin")) {
			char *kp = testutil_join_path(tmp, "ecdsa_key.bin");
			buf_t want = BUF_INIT;
			testutil_read_file(kp, &want);
			testutil_assert_bytes_equal("library ecdsa_key.bin", lo.hw[0].ecdsa_scalar,
						    lo.hw[0].ecdsa_scalar_len, want.data, want.len);
			buf_free_data(&want);
			free(kp);
		}
	}
	seccert_output_free(&lo);
	seccert_spec_free(&spec);

	check_reader_round_trip(name, expected.data, expected.len);

	/* dump decodes the vector and never shows private key or ciphertext bytes. */
	char *dump_argv[] = {"espfab", "seccert", "dump", expected_path, "--json", NULL};
	buf_t dout = BUF_INIT, derr = BUF_INIT;
	assert_int_equal(testutil_run_espfab(tmp, dump_argv, &dout, &derr), 0);
	buf_terminate_str(&dout);
	struct seccert_image im;
	assert_int_equal(seccert_parse_image(expected.data, expected.len, 0, &im, &e), 0);
	size_t entry_count = im.count;
	for (size_t i = 0; i < im.count; i++) {
		const struct seccert_entry *en = &im.entries[i];
		if (en->type != SECCERT_TYPE_PRIV_KEY && en->type != SECCERT_TYPE_DS_DATA)
			continue;
		/* Any 16-byte window of the secret, in hex, would betray it. */
		for (size_t off = 20; off + 16 <= en->length; off += 16) {
			char hex[33];
			hex_encode_bytes(en->value.data + off, 16, hex);
			assert_null(strstr((char *)dout.data, hex));
		}
		if (en->type == SECCERT_TYPE_PRIV_KEY && en->length > 40 &&
		    memcmp(en->value.data, "-----", 5) == 0)
			assert_null(strstr((char *)dout.data, "PRIVATE KEY-----"));
	}
	seccert_image_free(&im);
	json_error_t jerr;
	json_t *dj = json_loads((char *)dout.data, 0, &jerr);
	assert_non_null(dj);
	assert_int_equal(json_array_size(json_object_get(dj, "entries")), entry_count);
	json_decref(dj);

	buf_free_data(&dout);
	buf_free_data(&derr);
	buf_free_data(&out);
	buf_free_data(&err);
	buf_free_data(&expected);
	free(argv);
	free(got);
	free(expected_path);
	testutil_remove_tree(tmp);
	free(tmp);
	json_decref(cs);
	free(cj);
	free(case_dir);
}

static void test_secure_cert_vectors(void **state)
{
	(void)state;
	if (!testutil_vectors_dir())
		skip();
	char **cases = testutil_list_cases("secure_cert");
	size_t n = 0;
	for (char **c = cases; *c; c++, n++) {
		print_message("secure_cert/%s\n", *c);
		run_case(*c);
	}
	assert_true(n > 0);
	testutil_free_list(cases);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_secure_cert_vectors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
