/* SPAKE2+ verifier vectors (../shared/vectors/spake2p): every row of vectors.csv through the
 * library and through `espfab spake2p`, replaying case.json's command template. */
#include "testutil.h"
#include "vectable.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/hex.h"
#include "crypto/spake2p.h"

static void test_library_reproduces_every_row(void **state)
{
	(void)state;
	struct vectable t;
	json_t *meta;
	if (!vectable_load_set("spake2p", &t, &meta))
		skip();
	for (int r = 0; r < t.nrows; r++) {
		uint32_t passcode = (uint32_t)strtoul(vectable_get_cell(&t, r, "passcode"), NULL, 10);
		uint32_t iterations = (uint32_t)strtoul(vectable_get_cell(&t, r, "iterations"), NULL, 10);
		buf_t salt = BUF_INIT, want = BUF_INIT;
		err_t e = {0};
		assert_int_equal(hex_decode_base64(vectable_get_cell(&t, r, "salt_base64"), &salt, &e), 0);
		assert_int_equal(hex_decode_base64(vectable_get_cell(&t, r, "verifier_base64"), &want, &e), 0);
		uint8_t v[SPAKE2P_VERIFIER_LEN];
		if (spake2p_compute_verifier(passcode, salt.data, salt.len, iterations, v, &e))
			fail_msg("row %d: %s", r + 1, e.msg);
		char what[32];
		snprintf(what, sizeof what, "row %d verifier", r + 1);
		testutil_assert_bytes_equal(what, v, sizeof v, want.data, want.len);
		buf_free_data(&salt);
		buf_free_data(&want);
	}
	vectable_free_table(&t);
	json_decref(meta);
}

static void check_cli_row(const struct vectable *t, int r, const buf_t *out, const char *dir)
{
	(void)dir;
	buf_t want = BUF_INIT;
	buf_append_str(&want, vectable_get_cell(t, r, "verifier_base64"));
	buf_append_byte(&want, '\n');
	char what[32];
	snprintf(what, sizeof what, "row %d stdout", r + 1);
	testutil_assert_bytes_equal(what, out->data, out->len, want.data, want.len);
	buf_free_data(&want);
}

static void test_cli_reproduces_every_row(void **state)
{
	(void)state;
	vectable_replay_rows("spake2p", "spake2p.py", "spake2p", check_cli_row);
}

/* The Matter manufacturing tool's cases (../shared/vectors/mfg) record passcode, salt, iteration
 * count and the verifier they stored: further verifiers to reproduce. */
static void test_mfg_case_verifiers(void **state)
{
	(void)state;
	if (!testutil_vectors_dir())
		skip();
	char *set = testutil_vector_path("mfg", NULL);
	struct stat st;
	int have = stat(set, &st) == 0;
	free(set);
	if (!have)
		skip();
	char **cases = testutil_list_cases("mfg");
	int checked = 0;
	for (char **c = cases; *c; c++) {
		char *dir = testutil_vector_path("mfg", *c), *cj = testutil_join_path(dir, "case.json");
		json_t *meta = testutil_load_json(cj);
		json_t *sp = json_object_get(meta, "spake2p");
		if (sp) {
			buf_t salt = BUF_INIT, want = BUF_INIT;
			err_t e = {0};
			assert_int_equal(hex_decode_base64(json_string_value(json_object_get(sp, "salt_base64")), &salt, &e), 0);
			assert_int_equal(hex_decode_base64(json_string_value(json_object_get(sp, "verifier_base64")), &want, &e), 0);
			uint8_t v[SPAKE2P_VERIFIER_LEN];
			uint32_t passcode = (uint32_t)json_integer_value(json_object_get(meta, "passcode"));
			uint32_t iterations = (uint32_t)json_integer_value(json_object_get(sp, "iterations"));
			if (spake2p_check_params(salt.len, iterations, &e) == 0) {
				if (spake2p_compute_verifier(passcode, salt.data, salt.len, iterations, v, &e))
					fail_msg("%s: %s", *c, e.msg);
			} else {
				/* The tool took a verifier for a salt outside the Matter bounds: espfab
				 * refuses to make one, but can still check it. */
				char len[16];
				snprintf(len, sizeof len, "%zu", salt.len);
				assert_int_equal(spake2p_compute_verifier(passcode, salt.data, salt.len, iterations, v, &e), -1);
				assert_non_null(strstr(e.msg, len));
				if (spake2p_compute_verifier_unbounded(passcode, salt.data, salt.len, iterations, v, &e))
					fail_msg("%s: %s", *c, e.msg);
			}
			testutil_assert_bytes_equal(*c, v, sizeof v, want.data, want.len);
			buf_free_data(&salt);
			buf_free_data(&want);
			checked++;
		}
		json_decref(meta);
		free(cj), free(dir);
	}
	assert_true(checked > 0);
	testutil_free_list(cases);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_library_reproduces_every_row),
		cmocka_unit_test(test_cli_reproduces_every_row),
		cmocka_unit_test(test_mfg_case_verifiers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
