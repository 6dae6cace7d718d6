/* Partition table vectors (../shared/vectors/partition_table): every case folder, replaying
 * case.json's command and roundtrip_command through `espfab parttable` (outputs into a temporary
 * folder) and through the library; whole binary tables and CSV texts compared byte for byte. */
#include "testutil.h"
#include "casecmd.h"

#include <stdlib.h>
#include <string.h>

#include "formats/parttable.h"

/* Runs a reference command line from case.json with the tool replaced by `espfab parttable`
 * and its output file (the last word, named `output_name`) redirected to out_path. */
static void run_case_command(const char *case_dir, json_t *cmd, const char *output_name, const char *out_path)
{
	size_t n = json_array_size(cmd);
	assert_true(n >= 3);
	char **argv = calloc(n + 2, sizeof *argv);
	argv[0] = "espfab";
	argv[1] = "parttable";
	assert_string_equal(json_string_value(json_array_get(cmd, 0)), "gen_esp32part.py");
	size_t k = 2;
	for (size_t i = 1; i < n; i++) {
		const char *w = json_string_value(json_array_get(cmd, i));
		argv[k++] = (i == n - 1 && !strcmp(w, output_name)) ? (char *)out_path : (char *)w;
	}
	/* The output must have been redirected, never written into the vectors. */
	assert_string_equal(argv[k - 1], out_path);
	argv[k] = NULL;
	buf_t out = BUF_INIT, err = BUF_INIT;
	int rc = testutil_run_espfab(case_dir, argv, &out, &err);
	buf_terminate_str(&err);
	if (rc != 0)
		fail_msg("%s: exit %d: %s", case_dir, rc, (char *)err.data);
	buf_free_data(&out);
	buf_free_data(&err);
	free(argv);
}

static void case_options(json_t *c, struct parttable_options *o)
{
	parttable_default_options(o);
	json_t *opts = json_object_get(c, "options");
	assert_non_null(opts);
	o->table_offset = (uint32_t)strtoul(json_string_value(json_object_get(opts, "partition_table_offset")), NULL, 0);
	o->disable_md5 = json_is_true(json_object_get(opts, "disable_md5sum"));
	const char *fs = json_string_value(json_object_get(opts, "flash_size"));
	if (fs)
		o->flash_size = strtoull(fs, NULL, 10) * 1024 * 1024; /* "4MB" */
}

static void test_cli_every_case(void **state)
{
	(void)state;
	if (!testutil_vectors_dir())
		skip();
	char **cases = testutil_list_cases("partition_table");
	assert_non_null(cases[0]);
	char *tmp = testutil_make_tmpdir();
	int ran = 0;
	for (char **c = cases; *c; c++) {
		char *dir;
		json_t *meta = casecmd_load_case("partition_table", *c, &dir);
		assert_non_null(meta);
		json_t *outputs = json_object_get(meta, "outputs");
		const char *bin_name = json_string_value(json_object_get(outputs, "bin"));
		const char *csv_name = json_string_value(json_object_get(outputs, "roundtrip_csv"));

		char name[512];
		snprintf(name, sizeof name, "%s.bin", *c);
		char *got_bin = testutil_join_path(tmp, name);
		run_case_command(dir, json_object_get(meta, "command"), bin_name, got_bin);
		char *want_bin = testutil_join_path(dir, bin_name);
		testutil_assert_files_equal(got_bin, want_bin);

		snprintf(name, sizeof name, "%s.csv", *c);
		char *got_csv = testutil_join_path(tmp, name);
		run_case_command(dir, json_object_get(outputs, "roundtrip_command"), csv_name, got_csv);
		char *want_csv = testutil_join_path(dir, csv_name);
		testutil_assert_files_equal(got_csv, want_csv);

		/* OUTPUT '-' writes the same bytes to stdout. */
		char *argv[] = {"espfab", "parttable", "--offset",
				(char *)json_string_value(json_object_get(json_object_get(meta, "options"),
									  "partition_table_offset")),
				(char *)bin_name, "-", NULL};
		buf_t out = BUF_INIT, want = BUF_INIT;
		assert_int_equal(testutil_run_espfab(dir, argv, &out, NULL), 0);
		testutil_read_file(want_csv, &want);
		testutil_assert_bytes_equal("stdout csv", out.data, out.len, want.data, want.len);
		buf_free_data(&out);
		buf_free_data(&want);

		free(got_bin), free(want_bin), free(got_csv), free(want_csv), free(dir);
		json_decref(meta);
		ran++;
	}
	assert_true(ran > 0);
	testutil_remove_tree(tmp);
	free(tmp);
	testutil_free_list(cases);
}

static void test_library_every_case(void **state)
{
	(void)state;
	if (!testutil_vectors_dir())
		skip();
	char **cases = testutil_list_cases("partition_table");
	assert_non_null(cases[0]);
	for (char **c = cases; *c; c++) {
		char *dir;
		json_t *meta = casecmd_load_case("partition_table", *c, &dir);
		json_t *outputs = json_object_get(meta, "outputs");
		char *csv_in = testutil_join_path(dir, json_string_value(json_object_get(json_object_get(meta, "inputs"), "csv")));
		char *bin_path = testutil_join_path(dir, json_string_value(json_object_get(outputs, "bin")));
		char *rt_path = testutil_join_path(dir, json_string_value(json_object_get(outputs, "roundtrip_csv")));
		struct parttable_options o;
		case_options(meta, &o);

		struct parttable *t = calloc(1, sizeof *t), *back = calloc(1, sizeof *back);
		err_t e = {0};
		if (parttable_load_csv_file(csv_in, &o, t, &e))
			fail_msg("%s: %s", *c, e.msg);
		uint8_t bin[PARTTABLE_BIN_SIZE];
		assert_int_equal(parttable_encode_binary(t, &o, bin, &e), 0);
		buf_t want = BUF_INIT, rt = BUF_INIT, csv = BUF_INIT;
		testutil_read_file(bin_path, &want);
		assert_int_equal(want.len, json_integer_value(json_object_get(outputs, "size")));
		testutil_assert_bytes_equal(*c, bin, sizeof bin, want.data, want.len);

		/* Binary back to the tool's CSV, and the decoded table encodes to the same bytes. */
		if (parttable_decode_binary(want.data, want.len, &o, back, &e))
			fail_msg("%s: decode: %s", *c, e.msg);
		assert_int_equal(parttable_verify(back, &o, &e), 0);
		parttable_render_csv(back, &o, &csv);
		testutil_read_file(rt_path, &rt);
		testutil_assert_bytes_equal("roundtrip.csv", csv.data, csv.len, rt.data, rt.len);
		assert_int_equal(parttable_encode_binary(back, &o, bin, &e), 0);
		testutil_assert_bytes_equal("re-encoded", bin, sizeof bin, want.data, want.len);
		assert_int_equal(back->count, t->count);
		for (size_t i = 0; i < t->count; i++) {
			assert_string_equal(back->entries[i].name, t->entries[i].name);
			/* Every partition is found again by name and by type/subtype. */
			assert_ptr_equal(parttable_find_by_name(back, t->entries[i].name), &back->entries[i]);
			const struct parttable_entry *f = NULL;
			int found = 0;
			while ((f = parttable_find_by_type(back, t->entries[i].type, t->entries[i].subtype, f)))
				found |= f == &back->entries[i];
			assert_true(found);
		}
		/* The reading of the written roundtrip.csv gives the same binary again. */
		struct parttable *again = calloc(1, sizeof *again);
		if (parttable_parse_csv((const char *)rt.data, rt.len, "roundtrip.csv", &o, again, &e))
			fail_msg("%s: roundtrip.csv: %s", *c, e.msg);
		assert_int_equal(parttable_encode_binary(again, &o, bin, &e), 0);
		testutil_assert_bytes_equal("roundtrip.csv re-encoded", bin, sizeof bin, want.data, want.len);

		free(again), free(t), free(back);
		buf_free_data(&want), buf_free_data(&rt), buf_free_data(&csv);
		free(csv_in), free(bin_path), free(rt_path), free(dir);
		json_decref(meta);
	}
	testutil_free_list(cases);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cli_every_case),
		cmocka_unit_test(test_library_every_case),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
