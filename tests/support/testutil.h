/* testutil: what every espfab test needs: where the vectors, the espfab binaries and the source
 * tree are (from the environment ctest sets), running the CLI as a child process with its output
 * captured, whole-file comparison with the first differing offset, and temporary folders. */
#ifndef ESPFAB_TESTUTIL_H
#define ESPFAB_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <jansson.h>

#include "core/buf.h"

/* The vectors folder, or NULL when absent (a user's clone): tests then call skip(). */
const char *testutil_vectors_dir(void);
/* Path to a file or folder of a vector set, e.g. testutil_vector_path("nvs", "n01_…"). */
char *testutil_vector_path(const char *set, const char *name);
/* Names of the case folders of a set, sorted, NULL-terminated; free with testutil_free_list. */
char **testutil_list_cases(const char *set);
void testutil_free_list(char **list);
json_t *testutil_load_json(const char *path);

const char *testutil_espfab_bin(void);
const char *testutil_sim_bin(void);
const char *testutil_source_dir(void);

/* Runs argv (argv[0] a program path) in cwd (NULL: inherit); captures stdout and stderr into
 * out/errout when not NULL; returns the exit status, or 128+signal. */
int testutil_run_program(const char *cwd, char *const argv[], buf_t *out, buf_t *errout);
/* Same, with argv[0] replaced by the espfab binary. */
int testutil_run_espfab(const char *cwd, char *const argv[], buf_t *out, buf_t *errout);

void testutil_read_file(const char *path, buf_t *out);
void testutil_write_file(const char *path, const void *data, size_t len);
/* Fails the test, naming the first differing offset, unless the two byte strings are equal. */
void testutil_assert_bytes_equal(const char *what, const uint8_t *got, size_t got_len,
				 const uint8_t *want, size_t want_len);
void testutil_assert_files_equal(const char *got_path, const char *want_path);

char *testutil_make_tmpdir(void);
void testutil_remove_tree(const char *dir);
char *testutil_join_path(const char *a, const char *b);

#endif
