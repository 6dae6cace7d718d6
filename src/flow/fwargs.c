#include "flow/fwargs.h"

#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>
#include <mbedtls/sha256.h>

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

/* esptool's tables (its per-chip targets): mode codes; size code in the high nibble; frequency codes,
 * which differ for the chips with a 60 MHz (C2) or 48 MHz (H2) top flash clock. */
static int fwargs_mode_code(const char *m)
{
	static const char *const modes[] = {"qio", "qout", "dio", "dout"};
	for (int i = 0; i < 4; i++)
		if (!strcmp(m, modes[i]))
			return i;
	return -1;
}

static int fwargs_size_code(const char *s)
{
	static const char *const sizes[] = {"1MB", "2MB", "4MB", "8MB", "16MB", "32MB", "64MB", "128MB"};
	for (int i = 0; i < 8; i++)
		if (!strcmp(s, sizes[i]))
			return i;
	return -1;
}

static int fwargs_freq_code(const char *chip, const char *f)
{
	static const struct fwargs_freq {
		const char *freq;
		int code;
	} generic[] = {{"80m", 0xF}, {"40m", 0x0}, {"26m", 0x1}, {"20m", 0x2}},
	  c2[] = {{"60m", 0xF}, {"30m", 0x0}, {"20m", 0x1}, {"15m", 0x2}},
	  c6[] = {{"80m", 0x0}, {"40m", 0x0}, {"20m", 0x2}, {"", -1}},
	  h2[] = {{"48m", 0xF}, {"24m", 0x0}, {"16m", 0x1}, {"12m", 0x2}};
	const struct fwargs_freq *t = !strcmp(chip, "esp32c2")	 ? c2
				      : !strcmp(chip, "esp32c6") ? c6
				      : !strcmp(chip, "esp32h2") ? h2
								 : generic;
	for (int i = 0; i < 4; i++)
		if (!strcmp(t[i].freq, f))
			return t[i].code;
	return -1;
}

/* End of the image data (segments, padding, checksum byte): where an appended digest starts. */
static size_t fwargs_image_data_len(const uint8_t *p, size_t len)
{
	size_t off = 24;
	unsigned segs = p[1];
	for (unsigned i = 0; i < segs; i++) {
		if (off + 8 > len)
			return 0;
		uint32_t n = (uint32_t)p[off + 4] | (uint32_t)p[off + 5] << 8 | (uint32_t)p[off + 6] << 16 |
			     (uint32_t)p[off + 7] << 24;
		off += 8 + (size_t)n;
		if (off > len)
			return 0;
	}
	/* Zero padding so that the checksum byte ends a 16-byte line. */
	off += 15 - (off % 16);
	off += 1;
	return off <= len ? off : 0;
}

int fwargs_patch_bootloader(const struct fwargs *f, const char *chip, uint32_t offset, buf_t *image,
			    bool *patched, err_t *e)
{
	*patched = false;
	uint32_t boot = (!strcmp(chip, "esp32") || !strcmp(chip, "esp32s2")) ? 0x1000 : 0x0;
	if (offset != boot || image->len < 24 || image->data[0] != 0xE9)
		return 0;
	uint8_t *p = image->data;
	uint8_t b2 = p[2], b3 = p[3];
	if (f->flash_mode[0] && strcmp(f->flash_mode, "keep")) {
		int m = fwargs_mode_code(f->flash_mode);
		if (m < 0)
			return err_set_msg(e, ERR_CHECK, "flash_mode '%s' unknown", f->flash_mode);
		b2 = (uint8_t)m;
	}
	if (f->flash_size[0] && strcmp(f->flash_size, "keep") && strcmp(f->flash_size, "detect")) {
		int s = fwargs_size_code(f->flash_size);
		if (s < 0)
			return err_set_msg(e, ERR_CHECK, "flash_size '%s' unknown", f->flash_size);
		b3 = (uint8_t)((b3 & 0x0F) | s << 4);
	}
	if (f->flash_freq[0] && strcmp(f->flash_freq, "keep")) {
		int q = fwargs_freq_code(chip, f->flash_freq);
		if (q < 0)
			return err_set_msg(e, ERR_CHECK, "flash_freq '%s' is not a frequency of %s", f->flash_freq,
					   chip);
		b3 = (uint8_t)((b3 & 0xF0) | q);
	}
	if (b2 == p[2] && b3 == p[3])
		return 0;
	/* An appended SHA-256 (header byte 23) is recomputed only when it matched before: a digest
	 * that did not match is the image's own business, as esptool leaves it. */
	size_t dlen = p[23] == 1 ? fwargs_image_data_len(p, image->len) : 0;
	bool digest_ok = false;
	if (dlen && dlen + 32 <= image->len) {
		uint8_t sum[32];
		mbedtls_sha256_ret(p, dlen, sum, 0);
		digest_ok = !memcmp(sum, p + dlen, 32);
	}
	p[2] = b2;
	p[3] = b3;
	if (digest_ok)
		mbedtls_sha256_ret(p, dlen, p + dlen, 0);
	*patched = true;
	return 0;
}
