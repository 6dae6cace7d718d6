#include "testutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

const char *testutil_vectors_dir(void)
{
	const char *d = getenv("ESPFAB_VECTORS");
	struct stat st;
	if (!d || stat(d, &st) != 0 || !S_ISDIR(st.st_mode))
		return NULL;
	return d;
}

char *testutil_join_path(const char *a, const char *b)
{
	size_t n = strlen(a) + strlen(b) + 2;
	char *p = malloc(n);
	assert_non_null(p);
	snprintf(p, n, "%s/%s", a, b);
	return p;
}

char *testutil_vector_path(const char *set, const char *name)
{
	const char *root = testutil_vectors_dir();
	assert_non_null(root);
	char *s = testutil_join_path(root, set);
	if (!name)
		return s;
	char *p = testutil_join_path(s, name);
	free(s);
	return p;
}

static int testutil_compare_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

char **testutil_list_cases(const char *set)
{
	char *dir = testutil_vector_path(set, NULL);
	DIR *d = opendir(dir);
	assert_non_null(d);
	size_t n = 0, cap = 16;
	char **list = calloc(cap, sizeof *list);
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		char *p = testutil_join_path(dir, de->d_name);
		struct stat st;
		int is_dir = stat(p, &st) == 0 && S_ISDIR(st.st_mode);
		free(p);
		if (!is_dir)
			continue;
		if (n + 2 > cap)
			list = realloc(list, (cap *= 2) * sizeof *list);
		list[n++] = strdup(de->d_name);
	}
	closedir(d);
	free(dir);
	list[n] = NULL;
	qsort(list, n, sizeof *list, testutil_compare_names);
	return list;
}

void testutil_free_list(char **list)
{
	for (char **p = list; p && *p; p++)
		free(*p);
	free(list);
}

json_t *testutil_load_json(const char *path)
{
	json_error_t je;
	json_t *j = json_load_file(path, 0, &je);
	if (!j)
		fail_msg("%s:%d: %s", path, je.line, je.text);
	return j;
}

static const char *testutil_env_path(const char *var)
{
	const char *p = getenv(var);
	if (!p)
		fail_msg("%s is not set; run the tests through ctest", var);
	return p;
}

const char *testutil_espfab_bin(void) { return testutil_env_path("ESPFAB_BIN"); }
const char *testutil_sim_bin(void) { return testutil_env_path("ESPFAB_SIM_BIN"); }
const char *testutil_source_dir(void) { return testutil_env_path("ESPFAB_SRC"); }

static void testutil_drain_fd(int fd, buf_t *into)
{
	char tmp[65536];
	ssize_t n = read(fd, tmp, sizeof tmp);
	if (n > 0 && into)
		buf_append_bytes(into, tmp, (size_t)n);
}

int testutil_run_program(const char *cwd, char *const argv[], buf_t *out, buf_t *errout)
{
	int po[2], pe[2];
	assert_int_equal(pipe(po), 0);
	assert_int_equal(pipe(pe), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(po[1], 1);
		dup2(pe[1], 2);
		close(po[0]);
		close(pe[0]);
		close(po[1]);
		close(pe[1]);
		int devnull = open("/dev/null", O_RDONLY);
		if (devnull >= 0)
			dup2(devnull, 0);
		if (cwd && chdir(cwd) != 0)
			_exit(126);
		execv(argv[0], argv);
		_exit(127);
	}
	close(po[1]);
	close(pe[1]);
	struct pollfd fds[2] = {{po[0], POLLIN, 0}, {pe[0], POLLIN, 0}};
	int open_fds = 2;
	while (open_fds) {
		if (poll(fds, 2, -1) < 0 && errno != EINTR)
			break;
		for (int i = 0; i < 2; i++) {
			if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			char tmp[65536];
			ssize_t n = read(fds[i].fd, tmp, sizeof tmp);
			if (n <= 0) {
				close(fds[i].fd);
				fds[i].fd = -1;
				open_fds--;
			} else if (i == 0 && out) {
				buf_append_bytes(out, tmp, (size_t)n);
			} else if (i == 1 && errout) {
				buf_append_bytes(errout, tmp, (size_t)n);
			}
		}
	}
	(void)testutil_drain_fd;
	int status = 0;
	waitpid(pid, &status, 0);
	if (out)
		buf_terminate_str(out);
	if (errout)
		buf_terminate_str(errout);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

int testutil_run_espfab(const char *cwd, char *const argv[], buf_t *out, buf_t *errout)
{
	size_t n = 0;
	while (argv[n])
		n++;
	char **args = calloc(n + 1, sizeof *args);
	args[0] = (char *)testutil_espfab_bin();
	for (size_t i = 1; i < n; i++)
		args[i] = argv[i];
	int rc = testutil_run_program(cwd, args, out, errout);
	free(args);
	return rc;
}

void testutil_read_file(const char *path, buf_t *out)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		fail_msg("cannot open %s: %s", path, strerror(errno));
	char tmp[65536];
	size_t n;
	while ((n = fread(tmp, 1, sizeof tmp, f)) > 0)
		buf_append_bytes(out, tmp, n);
	fclose(f);
	buf_terminate_str(out);
}

void testutil_write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	if (!f)
		fail_msg("cannot create %s: %s", path, strerror(errno));
	assert_int_equal(fwrite(data, 1, len, f), len);
	fclose(f);
}

void testutil_assert_bytes_equal(const char *what, const uint8_t *got, size_t got_len,
				 const uint8_t *want, size_t want_len)
{
	size_t n = got_len < want_len ? got_len : want_len;
	for (size_t i = 0; i < n; i++)
		if (got[i] != want[i])
			fail_msg("%s: first difference at offset 0x%zx: got 0x%02x, want 0x%02x", what, i,
				 got[i], want[i]);
	if (got_len != want_len)
		fail_msg("%s: length %zu, want %zu (equal up to the shorter)", what, got_len, want_len);
}

void testutil_assert_files_equal(const char *got_path, const char *want_path)
{
	buf_t got = BUF_INIT, want = BUF_INIT;
	testutil_read_file(got_path, &got);
	testutil_read_file(want_path, &want);
	testutil_assert_bytes_equal(got_path, got.data, got.len, want.data, want.len);
	buf_free_data(&got);
	buf_free_data(&want);
}

char *testutil_make_tmpdir(void)
{
	const char *base = getenv("TMPDIR");
	char tmpl[4096];
	snprintf(tmpl, sizeof tmpl, "%s/espfab-test-XXXXXX", base && *base ? base : "/tmp");
	char *d = mkdtemp(tmpl);
	assert_non_null(d);
	return strdup(d);
}

static int testutil_remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

void testutil_remove_tree(const char *dir)
{
	if (dir)
		nftw(dir, testutil_remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}
