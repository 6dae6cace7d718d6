/* SPAKE2+ verifier vectors (../shared/vectors/spake2p): every row of vectors.csv through the
 * library and through `espfab spake2p`, replaying case.json's command template. */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/hex.h"
#include "crypto/spake2p.h"

#define MAX_COLS 16
#define MAX_WORDS 32

struct table {
	buf_t text;
	char *cols[MAX_COLS];
	int ncols;
	char **rows; /* each row: ncols pointers into text */
	int nrows;
};

/* vectors.csv has no quoted fields, so a split on ',' is a faithful reading. */
static void table_load(const char *path, struct table *t)
{
	memset(t, 0, sizeof *t);
	testutil_read_file(path, &t->text);
	char *save = NULL;
	char *line = strtok_r((char *)t->text.data, "\r\n", &save);
	assert_non_null(line);
	for (char *p = line; p && t->ncols < MAX_COLS;) {
		t->cols[t->ncols++] = p;
		p = strchr(p, ',');
		if (p)
			*p++ = '\0';
	}
	while ((line = strtok_r(NULL, "\r\n", &save))) {
		t->rows = realloc(t->rows, (size_t)(t->nrows + 1) * (size_t)t->ncols * sizeof(char *));
		char **r = t->rows + (size_t)t->nrows * (size_t)t->ncols;
		int n = 0;
		for (char *p = line; p && n < t->ncols;) {
			r[n++] = p;
			p = strchr(p, ',');
			if (p)
				*p++ = '\0';
		}
		assert_int_equal(n, t->ncols);
		t->nrows++;
	}
}

static const char *table_get(const struct table *t, int row, const char *col)
{
	for (int i = 0; i < t->ncols; i++)
		if (!strcmp(t->cols[i], col))
			return t->rows[(size_t)row * (size_t)t->ncols + (size_t)i];
	fail_msg("no column %s", col);
	return NULL;
}

static void table_free(struct table *t)
{
	buf_free_data(&t->text);
	free(t->rows);
}

static int load_set(struct table *t, json_t **meta)
{
	if (!testutil_vectors_dir())
		return 0;
	char *path = testutil_vector_path("spake2p", "case.json");
	*meta = testutil_load_json(path);
	free(path);
	assert_non_null(*meta);
	path = testutil_vector_path("spake2p", json_string_value(json_object_get(*meta, "file")));
	table_load(path, t);
	free(path);
	assert_true(t->nrows > 0);
	assert_int_equal(t->nrows, json_integer_value(json_object_get(*meta, "rows")));
	return 1;
}

static void test_library_reproduces_every_row(void **state)
{
	(void)state;
	struct table t;
	json_t *meta;
	if (!load_set(&t, &meta))
		skip();
	for (int r = 0; r < t.nrows; r++) {
		uint32_t passcode = (uint32_t)strtoul(table_get(&t, r, "passcode"), NULL, 10);
		uint32_t iterations = (uint32_t)strtoul(table_get(&t, r, "iterations"), NULL, 10);
		buf_t salt = BUF_INIT, want = BUF_INIT;
		err_t e = {0};
		assert_int_equal(hex_decode_base64(table_get(&t, r, "salt_base64"), &salt, &e), 0);
		assert_int_equal(hex_decode_base64(table_get(&t, r, "verifier_base64"), &want, &e), 0);
		uint8_t v[SPAKE2P_VERIFIER_LEN];
		if (spake2p_compute_verifier(passcode, salt.data, salt.len, iterations, v, &e))
			fail_msg("row %d: %s", r + 1, e.msg);
		char what[32];
		snprintf(what, sizeof what, "row %d verifier", r + 1);
		testutil_assert_bytes_equal(what, v, sizeof v, want.data, want.len);
		buf_free_data(&salt);
		buf_free_data(&want);
	}
	table_free(&t);
	json_decref(meta);
}

static void test_cli_reproduces_every_row(void **state)
{
	(void)state;
	struct table t;
	json_t *meta;
	if (!load_set(&t, &meta))
		skip();
	const char *tmpl = json_string_value(json_object_get(meta, "command"));
	assert_non_null(tmpl);
	char *dir = testutil_make_tmpdir();
	for (int r = 0; r < t.nrows; r++) {
		/* The reference command with its tool name replaced and <column> filled from the row. */
		char *copy = strdup(tmpl), *save = NULL;
		char *argv[MAX_WORDS + 2];
		int n = 0;
		argv[n++] = "espfab";
		for (char *w = strtok_r(copy, " ", &save); w && n < MAX_WORDS; w = strtok_r(NULL, " ", &save)) {
			if (!strcmp(w, "spake2p.py")) {
				argv[n++] = "spake2p";
			} else if (w[0] == '<' && w[strlen(w) - 1] == '>') {
				w[strlen(w) - 1] = '\0';
				argv[n++] = (char *)table_get(&t, r, w + 1);
			} else {
				argv[n++] = w;
			}
		}
		argv[n] = NULL;
		buf_t out = BUF_INIT, err = BUF_INIT;
		int rc = testutil_run_espfab(dir, argv, &out, &err);
		buf_terminate_str(&err);
		if (rc != 0)
			fail_msg("row %d: exit %d: %s", r + 1, rc, (char *)err.data);
		buf_t want = BUF_INIT;
		buf_append_str(&want, table_get(&t, r, "verifier_base64"));
		buf_append_byte(&want, '\n');
		char what[32];
		snprintf(what, sizeof what, "row %d stdout", r + 1);
		testutil_assert_bytes_equal(what, out.data, out.len, want.data, want.len);
		buf_free_data(&out);
		buf_free_data(&err);
		buf_free_data(&want);
		free(copy);
	}
	testutil_remove_tree(dir);
	free(dir);
	table_free(&t);
	json_decref(meta);
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
