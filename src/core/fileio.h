/* fileio: whole-file reads and crash-safe writes. Outputs are written to a temporary file in the
 * same folder, fsynced and renamed, so a fault never leaves a half-written file behind
 * (DESIGN.md §5); secret files get mode 0600. */
#ifndef ESPFAB_CORE_FILEIO_H
#define ESPFAB_CORE_FILEIO_H

#include <stddef.h>
#include <sys/types.h>

#include "core/buf.h"
#include "core/err.h"

#define FILEIO_MODE_PUBLIC 0644
#define FILEIO_MODE_SECRET 0600

int fileio_read_file(const char *path, buf_t *out, err_t *e);
int fileio_write_atomic(const char *path, const void *data, size_t len, mode_t mode, err_t *e);
/* Reads a key file and warns on stderr when it is group- or world-readable. */
int fileio_read_secret(const char *path, buf_t *out, err_t *e);
/* mkdir -p with the given mode for the folders it creates. */
int fileio_make_dirs(const char *path, mode_t mode, err_t *e);
/* Joins dir and name into out (size n); a NULL or empty dir leaves name as it is. */
void fileio_join_path(char *out, size_t n, const char *dir, const char *name);

#endif
