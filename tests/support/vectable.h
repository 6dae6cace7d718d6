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
/* What a replayed row is checked with: the table, the row (0-based), espfab's stdout for it and
 * the temporary folder it ran in (for further commands). */
typedef void (*vectable_check_row_fn)(const struct vectable *t, int row, const buf_t *out,
				      const char *dir);
/* Replays set's command template for every row in a temporary folder, `tool` replaced by
 * `espfab subcommand` and <column> words filled from the row, failing the test (naming the row
 * and espfab's stderr) unless it exits 0, then calls check. Skips when the vectors are absent. */
void vectable_replay_rows(const char *set, const char *tool, const char *subcommand,
			  vectable_check_row_fn check);

#endif
