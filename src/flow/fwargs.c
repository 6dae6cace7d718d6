#include "flow/fwargs.h"

#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "core/buf.h"
#include "core/fileio.h"

static const char *const fwargs_modes[] = {"qio", "qout", "dio", "dout", "keep", NULL};
static const char *const fwargs_freqs[] = {"80m", "60m", "48m", "40m", "30m", "26m", "24m", "20m",
					   "16m", "15m", "12m", "keep", NULL};
static const char *const fwargs_sizes[] = {"1MB", "2MB", "4MB", "8MB", "16MB", "32MB", "64MB", "128MB",
					   "detect", "keep", NULL};

static int fwargs_setting(json_t *settings, const char *key, const char *const *allowed, char *out,
			  size_t n, const char *path, err_t *e)
{
	json_t *v = json_object_get(settings, key);
	if (!v)
		return 0;
	const char *s = json_string_value(v);
	if (s)
		for (int i = 0; allowed[i]; i++)
			if (!strcmp(s, allowed[i])) {
				snprintf(out, n, "%s", s);
				return 0;
			}
	return err_set_msg(e, ERR_CHECK, "%s: flash_settings.%s: '%s' is not a value esptool accepts", path,
			   key, s ? s : "(not a string)");
}

static int fwargs_compare(const void *a, const void *b)
{
	const struct plan_image *x = a, *y = b;
	return x->offset < y->offset ? -1 : x->offset > y->offset;
}

int fwargs_load(const char *json_path, struct fwargs *out, err_t *e)
{
	memset(out, 0, sizeof *out);
	json_error_t jerr;
	json_t *root = json_load_file(json_path, 0, &jerr);
	if (!root)
		return err_set_msg(e, ERR_CHECK, "%s:%d: %s", json_path, jerr.line, jerr.text);
	char *copy = mem_strdup(json_path);
	char *dir = mem_strdup(dirname(copy));
	free(copy);
	int rc = -1;
	json_t *settings = json_object_get(root, "flash_settings");
	if (settings && (fwargs_setting(settings, "flash_mode", fwargs_modes, out->flash_mode,
					sizeof out->flash_mode, json_path, e) ||
			 fwargs_setting(settings, "flash_freq", fwargs_freqs, out->flash_freq,
					sizeof out->flash_freq, json_path, e) ||
			 fwargs_setting(settings, "flash_size", fwargs_sizes, out->flash_size,
					sizeof out->flash_size, json_path, e)))
		goto out;
	json_t *extra = json_object_get(root, "extra_esptool_args");
	const char *chip = json_string_value(json_object_get(extra, "chip"));
	if (chip)
		snprintf(out->chip, sizeof out->chip, "%s", chip);
	json_t *files = json_object_get(root, "flash_files");
	if (!json_is_object(files) || json_object_size(files) == 0) {
		err_set_msg(e, ERR_CHECK, "%s: flash_files: missing or empty", json_path);
		goto out;
	}
	const char *key;
	json_t *val;
	json_object_foreach(files, key, val) {
		if (out->n_images == FWARGS_MAX_IMAGES) {
			err_set_msg(e, ERR_CHECK, "%s: flash_files: more than %d images", json_path,
				    FWARGS_MAX_IMAGES);
			goto out;
		}
		char *end = NULL;
		errno = 0;
		unsigned long off = strtoul(key, &end, 0);
		if (errno || end == key || *end || off > UINT32_MAX || (off & 0xFFF)) {
			err_set_msg(e, ERR_CHECK, "%s: flash_files: offset '%s' is not a 4 KB aligned number",
				    json_path, key);
			goto out;
		}
		const char *name = json_string_value(val);
		if (!name || !*name) {
			err_set_msg(e, ERR_CHECK, "%s: flash_files.%s: not a file name", json_path, key);
			goto out;
		}
		char full[1024];
		if (name[0] == '/')
			snprintf(full, sizeof full, "%s", name);
		else
			fileio_join_path(full, sizeof full, dir, name);
		struct stat st;
		errno = 0;
		if (stat(full, &st) != 0 || !S_ISREG(st.st_mode)) {
			err_set_msg(e, ERR_CHECK, "%s: flash_files.%s: %s: %s", json_path, key, full,
				    errno ? strerror(errno) : "not a file");
			goto out;
		}
		if (st.st_size == 0 || (uint64_t)st.st_size > UINT32_MAX) {
			err_set_msg(e, ERR_CHECK, "%s: flash_files.%s: %s is empty or too large", json_path,
				    key, full);
			goto out;
		}
		struct plan_image *im = &out->images[out->n_images];
		snprintf(im->name, sizeof im->name, "%s", name);
		im->offset = (uint32_t)off;
		im->size = (uint32_t)st.st_size;
		out->paths[out->n_images] = mem_strdup(full);
		out->n_images++;
	}
	/* Sort images and paths together, then refuse overlaps. */
	for (int i = 0; i < out->n_images; i++)
		for (int j = i + 1; j < out->n_images; j++)
			if (fwargs_compare(&out->images[j], &out->images[i]) < 0) {
				struct plan_image t = out->images[i];
				out->images[i] = out->images[j];
				out->images[j] = t;
				char *p = out->paths[i];
				out->paths[i] = out->paths[j];
				out->paths[j] = p;
			}
	for (int i = 1; i < out->n_images; i++) {
		const struct plan_image *a = &out->images[i - 1], *b = &out->images[i];
		if ((uint64_t)a->offset + a->size > b->offset) {
			err_set_msg(e, ERR_CHECK, "%s: flash_files: %s (0x%x, %u bytes) overlaps %s at 0x%x",
				    json_path, a->name, a->offset, a->size, b->name, b->offset);
			goto out;
		}
	}
	rc = 0;
out:
	json_decref(root);
	free(dir);
	if (rc)
		fwargs_free(out);
	return rc;
}

void fwargs_free(struct fwargs *f)
{
	for (int i = 0; i < f->n_images; i++)
		free(f->paths[i]);
	memset(f, 0, sizeof *f);
}

uint32_t fwargs_flash_size_bytes(const struct fwargs *f)
{
	unsigned mb;
	char tail[4];
	if (sscanf(f->flash_size, "%uMB%3s", &mb, tail) == 1 && mb <= 128)
		return mb << 20;
	return 0;
}
