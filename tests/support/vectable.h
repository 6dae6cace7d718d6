/* vectable: the vectors.csv table of the CSV-driven vector sets (onboarding, spake2p) and the
 * replay of their case.json command template through espfab, one table row at a time (the
 * reference tool's name replaced by the subcommand, <column> words filled from the row). */
#ifndef ESPFAB_TESTS_VECTABLE_H
#define ESPFAB_TESTS_VECTABLE_H

#include <jansson.h>

#include "core/buf.h"

#define VECTABLE_MAX_COLS 16

struct vectable {
	buf_t text;
	char *cols[VECTABLE_MAX_COLS];
	int ncols;
	char **rows; /* each row: ncols pointers into text */
	int nrows;
};

/* Loads set/case.json into *meta and the CSV file it names into t, checking the row count it
 * records. Returns 0 when the vectors are absent (the caller skips), 1 when loaded. */
int vectable_load_set(const char *set, struct vectable *t, json_t **meta);
/* The cell of column col in row (0-based); fails the test when there is no such column. */
const char *vectable_get_cell(const struct vectable *t, int row, const char *col);
void vectable_free_table(struct vectable *t);
/* Runs the command template for one row in dir with `tool` replaced by `espfab subcommand`,
 * failing the test (naming the row and espfab's stderr) unless it exits 0. */
void vectable_run_row(const struct vectable *t, int row, const char *tmpl, const char *tool,
		      const char *subcommand, const char *dir, buf_t *out);

#endif
