/* NVS vectors: every case under ../shared/vectors/nvs replayed from its case.json command through
 * `espfab nvs` (in a temporary copy of the case folder) and through the library (CSV parser,
 * writer, XTS encryption, keys partition, reader), compared byte for byte with the files the
 * reference generator produced. */
#include "testutil.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/hex.h"
#include "crypto/nvs_crypt.h"
#include "formats/nvs.h"
#include "formats/nvs_csv.h"
#include "formats/nvs_read.h"
#include "formats/nvs_write.h"

/* Copies a case folder, leaving out the reference outputs so a run cannot pass by finding them. */
static void copy_tree(const char *from, const char *to, int top)
{
	DIR *d = opendir(from);
	assert_non_null(d);
	mkdir(to, 0755);
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if (top && (!strcmp(de->d_name, "expected.bin") || !strcmp(de->d_name, "plain.bin")))
			continue;
		char *src = testutil_join_path(from, de->d_name);
		char *dst = testutil_join_path(to, de->d_name);
		struct stat st;
		assert_int_equal(stat(src, &st), 0);
		if (S_ISDIR(st.st_mode)) {
			copy_tree(src, dst, 0);
		} else {
			buf_t b = BUF_INIT;
			testutil_read_file(src, &b);
			testutil_write_file(dst, b.data, b.len);
			chmod(dst, 0600);
			buf_free_data(&b);
		}
		free(src);
		free(dst);
	}
	closedir(d);
}

static const char *json_str(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

static bool command_has(json_t *cmd, const char *opt)
{
	size_t i;
	json_t *v;
	json_array_foreach(cmd, i, v)
		if (!strcmp(json_string_value(v), opt))
			return true;
	return false;
}

/* The reference's random key generation cannot be replayed: such cases use the saved keys
 * partition as --inputkey instead (HMAC-derived keys are deterministic and stay as they are). */
static char **build_argv(json_t *cmd, const char *keys_file, bool *keygen_kept)
{
	size_t n = json_array_size(cmd);
	char **argv = calloc(n + 4, sizeof *argv);
	size_t k = 0;
	argv[k++] = strdup("espfab");
	argv[k++] = strdup("nvs");
	bool deterministic = command_has(cmd, "--key_protect_hmac") &&
			     command_has(cmd, "--kp_hmac_inputkey");
	*keygen_kept = command_has(cmd, "--keygen") && deterministic;
	for (size_t i = 1; i < n; i++) {
		const char *a = json_string_value(json_array_get(cmd, i));
		if (!deterministic && !strcmp(a, "--keygen")) {
			argv[k++] = strdup("--inputkey");
			argv[k++] = strdup(keys_file);
			continue;
		}
		if (!deterministic && !strcmp(a, "--keyfile")) {
			i++;
			continue;
		}
		argv[k++] = strdup(a);
	}
	argv[k] = NULL;
	return argv;
}

static void free_argv(char **argv)
{
	for (char **p = argv; *p; p++)
		free(*p);
	free(argv);
}

static const char *keyfile_of(json_t *cmd)
{
	for (size_t i = 1; i + 1 < json_array_size(cmd); i++)
		if (!strcmp(json_string_value(json_array_get(cmd, i)), "--keyfile"))
			return json_string_value(json_array_get(cmd, i + 1));
	return NULL;
}

static void test_case_cli(void **state)
{
	const char *name = *state;
	char *dir = testutil_vector_path("nvs", name);
	char *case_json = testutil_join_path(dir, "case.json");
	json_t *c = testutil_load_json(case_json);
	json_t *cmd = json_object_get(c, "command");
	json_t *outputs = json_object_get(c, "outputs");
	bool encrypted = json_is_true(json_object_get(c, "encrypted"));
	const char *out_name = json_str(outputs, "bin");
	assert_non_null(out_name);
	/* The output is the positional before the size; the case names it outputs.bin. */
	assert_string_equal(json_string_value(json_array_get(cmd, 3 + json_array_size(
		json_object_get(json_object_get(c, "inputs"), "csv")) - 1)), out_name);

	char *tmp = testutil_make_tmpdir();
	char *work = testutil_join_path(tmp, "case");
	copy_tree(dir, work, 1);
	const char *keys_name = encrypted ? json_str(outputs, "keys_partition") : NULL;
	bool keygen_kept = false;
	char **argv = build_argv(cmd, keys_name ? keys_name : "", &keygen_kept);
	buf_t out = BUF_INIT, err = BUF_INIT;
	int rc = testutil_run_espfab(work, argv, &out, &err);
	if (rc != 0)
		fail_msg("%s: espfab nvs exited %d: %s", name, rc, (char *)err.data);
	char *got = testutil_join_path(work, out_name);
	char *want = testutil_join_path(dir, out_name);
	testutil_assert_files_equal(got, want);

	if (encrypted) {
		char *want_keys = testutil_join_path(dir, keys_name);
		if (keygen_kept) {
			char *keys_dir = testutil_join_path(work, "keys");
			char *got_keys = testutil_join_path(keys_dir, keyfile_of(cmd));
			testutil_assert_files_equal(got_keys, want_keys);
			free(got_keys);
			free(keys_dir);
		}
		/* decrypt_roundtrip: the tool's decrypt command on our output gives plain.bin. */
		json_t *dcmd = json_object_get(json_object_get(c, "decrypt_roundtrip"), "command");
		assert_non_null(dcmd);
		bool unused;
		char **dargv = build_argv(dcmd, "", &unused);
		buf_t o2 = BUF_INIT, e2 = BUF_INIT;
		rc = testutil_run_espfab(work, dargv, &o2, &e2);
		if (rc != 0)
			fail_msg("%s: espfab nvs decrypt exited %d: %s", name, rc, (char *)e2.data);
		const char *dec_name =
			json_string_value(json_array_get(dcmd, json_array_size(dcmd) - 1));
		char *got_dec = testutil_join_path(work, dec_name);
		char *plain = testutil_join_path(dir, json_str(outputs, "plain_bin"));
		testutil_assert_files_equal(got_dec, plain);
		free(got_dec);
		free(plain);
		free_argv(dargv);
		/* generate-key --inputkey wraps the bare 64-byte key into the same partition. */
		buf_t kb = BUF_INIT;
		testutil_read_file(want_keys, &kb);
		char *raw = testutil_join_path(work, "raw_key.bin");
		testutil_write_file(raw, kb.data, 64);
		char *gargv[] = {"espfab", "nvs", "generate-key", "--inputkey", "raw_key.bin",
				 "--keyfile", "wrapped.bin", "--outdir", "wrap", NULL};
		rc = testutil_run_espfab(work, gargv, &o2, &e2);
		if (rc != 0)
			fail_msg("%s: espfab nvs generate-key exited %d: %s", name, rc,
				 (char *)e2.data);
		char *wrapped = testutil_join_path(work, "wrap/keys/wrapped.bin");
		testutil_assert_files_equal(wrapped, want_keys);
		free(wrapped);
		free(raw);
		buf_free_data(&kb);
		buf_free_data(&o2);
		buf_free_data(&e2);
		free(want_keys);
	}

	/* dump reads our output back without complaint. */
	char *dump_argv[] = {"espfab", "nvs", "dump", (char *)out_name, "--json",
			     encrypted ? "--keyfile" : NULL, (char *)keys_name, NULL};
	buf_t o3 = BUF_INIT, e3 = BUF_INIT;
	rc = testutil_run_espfab(work, dump_argv, &o3, &e3);
	if (rc != 0)
		fail_msg("%s: espfab nvs dump exited %d: %s", name, rc, (char *)e3.data);
	json_error_t je;
	json_t *dump = json_loads((char *)o3.data, 0, &je);
	assert_non_null(dump);
	assert_int_equal(json_integer_value(json_object_get(dump, "problem_count")), 0);
	assert_true(json_array_size(json_object_get(dump, "values")) > 0);
	json_decref(dump);
	buf_free_data(&o3);
	buf_free_data(&e3);

	free(got);
	free(want);
	free_argv(argv);
	buf_free_data(&out);
	buf_free_data(&err);
	testutil_remove_tree(tmp);
	free(tmp);
	free(work);
	json_decref(c);
	free(case_json);
	free(dir);
}

static void read_case_file(const char *dir, const char *name, buf_t *b)
{
	char *p = testutil_join_path(dir, name);
	testutil_read_file(p, b);
	free(p);
}

/* Every data item of the list comes back from the reader, in order, with its value and the
 * namespace the generator assigns (the newest declared one). */
static void check_reader_values(const char *name, const struct nvs_list *l, const uint8_t *img,
				size_t len)
{
	struct nvs_read_result r;
	err_t e = {0};
	if (nvs_read_partition(img, len, &r, &e))
		fail_msg("%s: reader: %s", name, e.msg);
	if (r.problem_count)
		fail_msg("%s: reader reports %zu problems: %s", name, r.problem_count,
			 r.first_problem);
	char ns[NVS_MAX_NAMESPACES + 1][NVS_KEY_MAX + 1];
	unsigned ns_count = 0;
	size_t v = 0;
	for (size_t i = 0; i < l->count; i++) {
		const struct nvs_item *it = &l->items[i];
		if (it->kind == NVS_ITEM_NAMESPACE) {
			bool known = false;
			for (unsigned k = 0; k < ns_count; k++)
				known |= !strcmp(ns[k], it->key);
			if (!known)
				snprintf(ns[ns_count++], sizeof ns[0], "%s", it->key);
			continue;
		}
		if (v >= r.value_count)
			fail_msg("%s: reader lost key '%s'", name, it->key);
		const struct nvs_read_value *rv = &r.values[v++];
		assert_string_equal(rv->key, it->key);
		assert_string_equal(rv->ns_name, ns[ns_count - 1]);
		assert_int_equal(rv->type, it->type);
		if (nvs_type_is_int(it->type))
			assert_int_equal(rv->num, it->num);
		else
			testutil_assert_bytes_equal(it->key, rv->data.data, rv->data.len,
						    it->data.data, it->data.len);
	}
	assert_int_equal(v, r.value_count);
	nvs_read_free(&r);
}

static void test_case_library(void **state)
{
	const char *name = *state;
	char *dir = testutil_vector_path("nvs", name);
	char *case_json = testutil_join_path(dir, "case.json");
	json_t *c = testutil_load_json(case_json);
	json_t *outputs = json_object_get(c, "outputs");
	json_t *csvs = json_object_get(json_object_get(c, "inputs"), "csv");
	bool encrypted = json_is_true(json_object_get(c, "encrypted"));
	size_t n = json_array_size(csvs);
	char **paths = calloc(n, sizeof *paths);
	for (size_t i = 0; i < n; i++)
		paths[i] = testutil_join_path(dir, json_string_value(json_array_get(csvs, i)));

	struct nvs_list l;
	nvs_list_init(&l);
	err_t e = {0};
	if (nvs_csv_parse_files((const char *const *)paths, n, dir, &l, &e))
		fail_msg("%s: parse: %s", name, e.msg);
	buf_t img = BUF_INIT;
	uint32_t size = (uint32_t)json_integer_value(json_object_get(c, "partition_size_int"));
	int version = (int)json_integer_value(json_object_get(c, "format_version"));
	if (nvs_write_partition(&l, size, version, &img, &e))
		fail_msg("%s: write: %s", name, e.msg);
	buf_t want = BUF_INIT, plain = BUF_INIT;
	read_case_file(dir, json_str(outputs, "bin"), &want);
	if (!encrypted) {
		testutil_assert_bytes_equal(name, img.data, img.len, want.data, want.len);
		check_reader_values(name, &l, img.data, img.len);
	} else {
		read_case_file(dir, json_str(outputs, "plain_bin"), &plain);
		testutil_assert_bytes_equal(name, img.data, img.len, plain.data, plain.len);
		buf_t keys = BUF_INIT;
		read_case_file(dir, json_str(outputs, "keys_partition"), &keys);
		uint8_t key[NVS_CRYPT_KEY_LEN];
		int crc_ok = 0;
		assert_int_equal(nvs_crypt_parse_keys_partition(keys.data, keys.len, key, &crc_ok, &e),
				 0);
		assert_true(crc_ok);
		buf_t hexkey = BUF_INIT;
		assert_int_equal(hex_decode_string(json_str(json_object_get(c, "key"), "xts_key_hex"),
						   &hexkey, &e), 0);
		testutil_assert_bytes_equal("xts key", key, sizeof key, hexkey.data, hexkey.len);
		uint8_t part[NVS_CRYPT_KEYS_PART_LEN];
		nvs_crypt_make_keys_partition(key, part);
		testutil_assert_bytes_equal("nvs_keys partition", part, sizeof part, keys.data,
					    keys.len);
		const char *hmac_file = json_str(c, "hmac_key_file");
		if (hmac_file) {
			buf_t hk = BUF_INIT;
			uint8_t derived[NVS_CRYPT_KEY_LEN];
			read_case_file(dir, hmac_file, &hk);
			assert_int_equal(nvs_crypt_derive_hmac_keys(hk.data, hk.len, derived, &e), 0);
			testutil_assert_bytes_equal("hmac-derived key", derived, sizeof derived, key,
						    sizeof key);
			buf_free_data(&hk);
		}
		assert_int_equal(nvs_crypt_encrypt_partition(img.data, img.len, key, &e), 0);
		testutil_assert_bytes_equal(name, img.data, img.len, want.data, want.len);
		assert_int_equal(nvs_crypt_decrypt_partition(want.data, want.len, key, &e), 0);
		testutil_assert_bytes_equal("decrypted", want.data, want.len, plain.data, plain.len);
		check_reader_values(name, &l, plain.data, plain.len);
		buf_free_data(&keys);
		buf_free_data(&hexkey);
	}
	buf_free_data(&want);
	buf_free_data(&plain);
	buf_free_data(&img);
	nvs_list_free(&l);
	for (size_t i = 0; i < n; i++)
		free(paths[i]);
	free(paths);
	json_decref(c);
	free(case_json);
	free(dir);
}

/* The mfg set records that the NVS generator, run on partition_portable.csv, reproduces the
 * factory partition: the same through `espfab nvs generate` and through the library. */
static void test_mfg_portable_csv(void **state)
{
	const char *name = *state;
	char *dir = testutil_vector_path("mfg", name);
	char *case_json = testutil_join_path(dir, "case.json");
	json_t *c = testutil_load_json(case_json);
	const char *size_s = json_str(c, "partition_size");
	const char *bin = json_str(json_object_get(c, "outputs"), "partition_bin");
	assert_non_null(size_s);
	assert_non_null(bin);
	char *csv = testutil_join_path(dir, "partition_portable.csv");
	struct nvs_list l;
	nvs_list_init(&l);
	err_t e = {0};
	const char *paths[] = {csv};
	if (nvs_csv_parse_files(paths, 1, dir, &l, &e))
		fail_msg("%s: %s", name, e.msg);
	buf_t img = BUF_INIT, want = BUF_INIT;
	assert_int_equal(nvs_write_partition(&l, (uint32_t)strtoul(size_s, NULL, 0), 2, &img, &e),
			 0);
	read_case_file(dir, bin, &want);
	testutil_assert_bytes_equal(name, img.data, img.len, want.data, want.len);
	check_reader_values(name, &l, want.data, want.len);

	char *tmp = testutil_make_tmpdir();
	char *work = testutil_join_path(tmp, "case");
	copy_tree(dir, work, 1);
	char *argv[] = {"espfab", "nvs", "generate", "partition_portable.csv", "out.bin",
			(char *)size_s, NULL};
	buf_t out = BUF_INIT, err = BUF_INIT;
	int rc = testutil_run_espfab(work, argv, &out, &err);
	if (rc)
		fail_msg("%s: exit %d: %s", name, rc, (char *)err.data);
	char *got = testutil_join_path(work, "out.bin");
	char *wantp = testutil_join_path(dir, bin);
	testutil_assert_files_equal(got, wantp);
	free(got);
	free(wantp);
	buf_free_data(&out);
	buf_free_data(&err);
	testutil_remove_tree(tmp);
	free(tmp);
	free(work);
	buf_free_data(&img);
	buf_free_data(&want);
	nvs_list_free(&l);
	free(csv);
	json_decref(c);
	free(case_json);
	free(dir);
}

static void test_vectors_present(void **state)
{
	(void)state;
	if (!testutil_vectors_dir())
		skip();
	char **cases = testutil_list_cases("nvs");
	assert_non_null(cases[0]);
	testutil_free_list(cases);
}

int main(void)
{
	if (!testutil_vectors_dir()) {
		const struct CMUnitTest only[] = {cmocka_unit_test(test_vectors_present)};
		return cmocka_run_group_tests(only, NULL, NULL);
	}
	char **cases = testutil_list_cases("nvs");
	size_t n = 0;
	while (cases[n])
		n++;
	/* mfg cases that carry a portable NVS CSV */
	char **mfg = NULL;
	size_t m = 0;
	char *mfg_dir = testutil_vector_path("mfg", NULL);
	struct stat st;
	if (stat(mfg_dir, &st) == 0 && S_ISDIR(st.st_mode)) {
		mfg = testutil_list_cases("mfg");
		for (size_t i = 0; mfg[i]; i++) {
			char *d = testutil_vector_path("mfg", mfg[i]);
			char *f = testutil_join_path(d, "partition_portable.csv");
			if (stat(f, &st) == 0) {
				char *keep = mfg[i];
				mfg[i] = mfg[m];
				mfg[m++] = keep;
			}
			free(f);
			free(d);
		}
	}
	free(mfg_dir);
	struct CMUnitTest *tests = calloc(2 * n + m + 1, sizeof *tests);
	char **names = calloc(2 * n + m, sizeof *names);
	for (size_t i = 0; i < n; i++) {
		for (int k = 0; k < 2; k++) {
			size_t j = 2 * i + (size_t)k;
			size_t len = strlen(cases[i]) + 16;
			names[j] = malloc(len);
			snprintf(names[j], len, "%s/%s", k ? "library" : "cli", cases[i]);
			tests[j].name = names[j];
			tests[j].test_func = k ? test_case_library : test_case_cli;
			tests[j].initial_state = cases[i];
		}
	}
	for (size_t i = 0; i < m; i++) {
		size_t len = strlen(mfg[i]) + 16;
		names[2 * n + i] = malloc(len);
		snprintf(names[2 * n + i], len, "mfg-csv/%s", mfg[i]);
		tests[2 * n + i].name = names[2 * n + i];
		tests[2 * n + i].test_func = test_mfg_portable_csv;
		tests[2 * n + i].initial_state = mfg[i];
	}
	tests[2 * n + m].name = "vectors_present";
	tests[2 * n + m].test_func = test_vectors_present;
	int rc = _cmocka_run_group_tests("nvs_vectors", tests, 2 * n + m + 1, NULL, NULL);
	for (size_t i = 0; i < 2 * n + m; i++)
		free(names[i]);
	testutil_free_list(mfg);
	free(names);
	free(tests);
	testutil_free_list(cases);
	return rc;
}
