#include "vectable.h"

#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#define VECTABLE_MAX_WORDS 32

/* vectors.csv has no quoted fields, so a split on ',' is a faithful reading. */
static void vectable_load_csv(const char *path, struct vectable *t)
{
	memset(t, 0, sizeof *t);
	testutil_read_file(path, &t->text);
	char *save = NULL;
	char *line = strtok_r((char *)t->text.data, "\r\n", &save);
	assert_non_null(line);
	for (char *p = line; p && t->ncols < VECTABLE_MAX_COLS;) {
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

const char *vectable_get_cell(const struct vectable *t, int row, const char *col)
{
	for (int i = 0; i < t->ncols; i++)
		if (!strcmp(t->cols[i], col))
			return t->rows[(size_t)row * (size_t)t->ncols + (size_t)i];
	fail_msg("no column %s", col);
	return NULL;
}

void vectable_free_table(struct vectable *t)
{
	buf_free_data(&t->text);
	free(t->rows);
}

int vectable_load_set(const char *set, struct vectable *t, json_t **meta)
{
	if (!testutil_vectors_dir())
		return 0;
	char *path = testutil_vector_path(set, "case.json");
	*meta = testutil_load_json(path);
	free(path);
	assert_non_null(*meta);
	path = testutil_vector_path(set, json_string_value(json_object_get(*meta, "file")));
	vectable_load_csv(path, t);
	free(path);
	assert_true(t->nrows > 0);
	assert_int_equal(t->nrows, json_integer_value(json_object_get(*meta, "rows")));
	return 1;
}

static void vectable_run_row(const struct vectable *t, int row, const char *tmpl, const char *tool,
			     const char *subcommand, const char *dir, buf_t *out)
{
	char *copy = strdup(tmpl), *save = NULL;
	char *argv[VECTABLE_MAX_WORDS + 2];
	int n = 0;
	argv[n++] = "espfab";
	for (char *w = strtok_r(copy, " ", &save); w && n < VECTABLE_MAX_WORDS; w = strtok_r(NULL, " ", &save)) {
		if (!strcmp(w, tool)) {
			argv[n++] = (char *)subcommand;
		} else if (w[0] == '<' && w[strlen(w) - 1] == '>') {
			w[strlen(w) - 1] = '\0';
			argv[n++] = (char *)vectable_get_cell(t, row, w + 1);
		} else {
			argv[n++] = w;
		}
	}
	argv[n] = NULL;
	buf_t err = BUF_INIT;
	int rc = testutil_run_espfab(dir, argv, out, &err);
	buf_terminate_str(&err);
	if (rc != 0)
		fail_msg("row %d: exit %d: %s", row + 1, rc, (char *)err.data);
	buf_free_data(&err);
	free(copy);
}

void vectable_replay_rows(const char *set, const char *tool, const char *subcommand,
			  vectable_check_row_fn check)
{
	struct vectable t;
	json_t *meta;
	if (!vectable_load_set(set, &t, &meta))
		skip();
	const char *tmpl = json_string_value(json_object_get(meta, "command"));
	assert_non_null(tmpl);
	char *dir = testutil_make_tmpdir();
	for (int r = 0; r < t.nrows; r++) {
		buf_t out = BUF_INIT;
		vectable_run_row(&t, r, tmpl, tool, subcommand, dir, &out);
		check(&t, r, &out, dir);
		buf_free_data(&out);
	}
	testutil_remove_tree(dir);
	free(dir);
	vectable_free_table(&t);
	json_decref(meta);
}
