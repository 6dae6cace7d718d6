/* mfg vectors: every case's esp-matter-mfg-tool command replayed through `espfab mfg` and through
 * mfg_parse_args/mfg_run_batch in a temporary copy of the case inputs; the factory partition,
 * onb_codes.csv, esp_secure_cert.bin (when the case has one), every internal/ file and the
 * intermediate partition.csv are compared whole with the tool's. */
#include "testutil.h"
#include "casecmd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/err.h"
#include "flow/mfg.h"

/* The whole case folder is copied, so any input a command names (certificates, keys, CD, user
 * CSVs) is found where the tool found it; outputs go to <tmp>/out. */
static void copy_case(const char *case_dir, const char *tmp)
{
	char src[4200];
	snprintf(src, sizeof src, "%s/.", case_dir);
	char *argv[] = {"/bin/cp", "-R", src, (char *)tmp, NULL};
	assert_int_equal(testutil_run_program(NULL, argv, NULL, NULL), 0);
	char *sh[] = {"/bin/sh", "-c", "chmod 600 inputs/*key* 2>/dev/null; true", NULL};
	assert_int_equal(testutil_run_program(tmp, sh, NULL, NULL), 0);
}

/* The one device folder of the run (named after the DAC's CN when it is a UUID). */
static char *find_device_dir(const char *top)
{
	DIR *d = opendir(top);
	assert_non_null(d);
	char *found = NULL;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' || !strcmp(de->d_name, "staging"))
			continue;
		char *p = testutil_join_path(top, de->d_name);
		struct stat st;
		if (stat(p, &st) == 0 && S_ISDIR(st.st_mode)) {
			assert_null(found);
			found = p;
		} else {
			free(p);
		}
	}
	closedir(d);
	assert_non_null(found);
	return found;
}

/* partition.csv names files by absolute paths and ends lines with CRLF (csv.writer); the
 * portable copy in the case has paths relative to the case folder and LF. */
static void normalise_csv(buf_t *b, const char *prefix)
{
	buf_t out = BUF_INIT;
	size_t plen = strlen(prefix);
	for (size_t i = 0; i < b->len;) {
		if (b->data[i] == '\r') {
			i++;
			continue;
		}
		if (b->len - i >= plen && !memcmp(b->data + i, prefix, plen)) {
			i += plen;
			continue;
		}
		buf_append_byte(&out, b->data[i++]);
	}
	buf_free_data(b);
	*b = out;
}

static void compare_case_output(const char *case_dir, const char *tmp, json_t *j)
{
	unsigned vid = (unsigned)strtoul(json_string_value(json_object_get(j, "vendor_id")), NULL, 0);
	unsigned pid = (unsigned)strtoul(json_string_value(json_object_get(j, "product_id")), NULL, 0);
	char rel[256], path[4096];
	snprintf(rel, sizeof rel, "out/%x_%x", vid, pid);
	char *top = testutil_join_path(tmp, rel);
	char *dev = find_device_dir(top);
	const char *uuid = strrchr(dev, '/') + 1;
	json_t *want_uuid = json_object_get(j, "device_uuid");
	if (want_uuid)
		assert_string_equal(uuid, json_string_value(want_uuid));
	json_t *outs = json_object_get(j, "outputs");

	char *want = testutil_join_path(case_dir, json_string_value(json_object_get(outs, "partition_bin")));
	snprintf(path, sizeof path, "%s/%s-partition.bin", dev, uuid);
	testutil_assert_files_equal(path, want);
	free(want);

	want = testutil_join_path(case_dir, json_string_value(json_object_get(outs, "onb_codes_csv")));
	snprintf(path, sizeof path, "%s/%s-onb_codes.csv", dev, uuid);
	testutil_assert_files_equal(path, want);
	free(want);

	json_t *sc = json_object_get(outs, "esp_secure_cert_bin");
	snprintf(path, sizeof path, "%s/%s_esp_secure_cert.bin", dev, uuid);
	if (sc) {
		want = testutil_join_path(case_dir, json_string_value(sc));
		testutil_assert_files_equal(path, want);
		free(want);
	} else {
		assert_int_not_equal(access(path, F_OK), 0);
	}
	snprintf(path, sizeof path, "%s/%s-qrcode.png", dev, uuid);
	assert_int_equal(access(path, F_OK), 0);

	const char *internal[] = {"DAC_cert.der", "DAC_key.der", "DAC_private_key.bin", "DAC_public_key.bin",
				  "PAI_cert.der"};
	for (size_t i = 0; i < sizeof internal / sizeof internal[0]; i++) {
		char name[64];
		snprintf(name, sizeof name, "internal/%s", internal[i]);
		want = testutil_join_path(case_dir, name);
		snprintf(path, sizeof path, "%s/%s", dev, name);
		testutil_assert_files_equal(path, want);
		free(want);
	}
	/* Private key material is written 0600. */
	struct stat st;
	snprintf(path, sizeof path, "%s/internal/DAC_private_key.bin", dev);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);

	buf_t got = BUF_INIT, port = BUF_INIT;
	snprintf(path, sizeof path, "%s/internal/partition.csv", dev);
	testutil_read_file(path, &got);
	char prefix[4200];
	snprintf(prefix, sizeof prefix, "%s/", dev);
	normalise_csv(&got, prefix);
	want = testutil_join_path(case_dir, "partition_portable.csv");
	testutil_read_file(want, &port);
	testutil_assert_bytes_equal("partition.csv", got.data, got.len, port.data, port.len);
	buf_free_data(&got);
	buf_free_data(&port);
	free(want);
	free(dev);
	free(top);
}

static void test_mfg_every_case_cli(void **state)
{
	(void)state;
	if (!testutil_vectors_dir())
		skip();
	char **cases = testutil_list_cases("mfg");
	int n = 0;
	for (char **c = cases; *c; c++, n++) {
		char *dir;
		json_t *j = casecmd_load_case("mfg", *c, &dir);
		char *tmp = testutil_make_tmpdir();
		copy_case(dir, tmp);
		int argc;
		char **argv = casecmd_build_argv(json_object_get(j, "command"), "mfg", &argc);
		buf_t out = BUF_INIT, err = BUF_INIT;
		int rc = testutil_run_espfab(tmp, argv, &out, &err);
		if (rc)
			print_error("%s: espfab mfg failed (%d): %.*s\n", *c, rc, (int)err.len, (char *)err.data);
		assert_int_equal(rc, 0);
		compare_case_output(dir, tmp, j);
		buf_free_data(&out);
		buf_free_data(&err);
		casecmd_free_argv(argv);
		testutil_remove_tree(tmp);
		free(tmp);
		json_decref(j);
		free(dir);
	}
	assert_true(n >= 3);
	testutil_free_list(cases);
}

static void test_mfg_every_case_library(void **state)
{
	(void)state;
	if (!testutil_vectors_dir())
		skip();
	char cwd[4096];
	assert_non_null(getcwd(cwd, sizeof cwd));
	char **cases = testutil_list_cases("mfg");
	for (char **c = cases; *c; c++) {
		char *dir;
		json_t *j = casecmd_load_case("mfg", *c, &dir);
		char *tmp = testutil_make_tmpdir();
		copy_case(dir, tmp);
		int argc;
		char **argv = casecmd_build_argv(json_object_get(j, "command"), "mfg", &argc);
		struct mfg_options o;
		bool help;
		err_t e = {0};
		/* argv[1] ("mfg") plays the program name the parser skips. */
		assert_int_equal(mfg_parse_args(argc - 1, argv + 1, &o, &help, &e), 0);
		assert_false(help);
		assert_int_equal(mfg_check_options(&o, &e), 0);
		o.threads = 2;
		assert_int_equal(chdir(tmp), 0);
		struct mfg_batch b;
		int rc = mfg_run_batch(&o, &b, &e);
		assert_int_equal(chdir(cwd), 0);
		if (rc)
			print_error("%s: %s\n", *c, e.msg);
		assert_int_equal(rc, 0);
		assert_int_equal(b.count, 1);
		assert_int_equal(b.devices[0].passcode, json_integer_value(json_object_get(j, "passcode")));
		assert_int_equal(b.devices[0].discriminator, json_integer_value(json_object_get(j, "discriminator")));
		compare_case_output(dir, tmp, j);
		mfg_free_batch(&b);
		casecmd_free_argv(argv);
		testutil_remove_tree(tmp);
		free(tmp);
		json_decref(j);
		free(dir);
	}
	testutil_free_list(cases);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mfg_every_case_cli),
		cmocka_unit_test(test_mfg_every_case_library),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
