#include "core/fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int fileio_read_file(const char *path, buf_t *out, err_t *e)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_set_msg(e, ERR_CHECK, "%s: cannot open: %s", path, strerror(errno));
	struct stat st;
	if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
		close(fd);
		return err_set_msg(e, ERR_CHECK, "%s: is a directory, not a file", path);
	}
	out->len = 0;
	for (;;) {
		buf_reserve_bytes(out, 65536);
		ssize_t n = read(fd, out->data + out->len, out->cap - out->len - 1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			int saved = errno;
			close(fd);
			return err_set_msg(e, ERR_CHECK, "%s: read failed: %s", path, strerror(saved));
		}
		if (n == 0)
			break;
		out->len += (size_t)n;
	}
	close(fd);
	buf_terminate_str(out);
	return 0;
}

int fileio_read_secret(const char *path, buf_t *out, err_t *e)
{
	struct stat st;
	if (stat(path, &st) == 0 && (st.st_mode & 077))
		fprintf(stderr, "espfab: warning: key file %s is readable by group or others (mode %03o)\n",
			path, (unsigned)(st.st_mode & 0777));
	return fileio_read_file(path, out, e);
}

static int fileio_sync_dir(const char *path)
{
	char *copy = mem_strdup(path);
	int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(copy);
	if (fd < 0)
		return -1;
	int rc = fsync(fd);
	close(fd);
	return rc;
}

int fileio_write_atomic(const char *path, const void *data, size_t len, mode_t mode, err_t *e)
{
	size_t n = strlen(path) + 32;
	char *tmp = mem_alloc_zeroed(n);
	snprintf(tmp, n, "%s.tmp.%ld", path, (long)getpid());
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0) {
		err_set_msg(e, ERR_CHECK, "%s: cannot create: %s", path, strerror(errno));
		free(tmp);
		return -1;
	}
	/* open() honours the umask; secrets must end up exactly 0600 whatever the umask. */
	if (fchmod(fd, mode) != 0)
		goto fail;
	const uint8_t *p = data;
	size_t left = len;
	while (left) {
		ssize_t w = write(fd, p, left);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		p += w;
		left -= (size_t)w;
	}
	if (fsync(fd) != 0)
		goto fail;
	if (close(fd) != 0) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) != 0)
		goto fail;
	fileio_sync_dir(path);
	free(tmp);
	return 0;
fail:
	err_set_msg(e, ERR_CHECK, "%s: write failed: %s", path, strerror(errno));
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	free(tmp);
	return -1;
}

int fileio_make_dirs(const char *path, mode_t mode, err_t *e)
{
	char *copy = mem_strdup(path);
	for (char *p = copy + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(copy, mode) != 0 && errno != EEXIST) {
			err_set_msg(e, ERR_CHECK, "%s: cannot create folder: %s", copy, strerror(errno));
			free(copy);
			return -1;
		}
		*p = '/';
	}
	int rc = 0;
	if (mkdir(copy, mode) != 0 && errno != EEXIST)
		rc = err_set_msg(e, ERR_CHECK, "%s: cannot create folder: %s", copy, strerror(errno));
	free(copy);
	return rc;
}

void fileio_join_path(char *out, size_t n, const char *dir, const char *name)
{
	if (!dir || !*dir || name[0] == '/')
		snprintf(out, n, "%s", name);
	else
		snprintf(out, n, "%s/%s", dir, name);
}
