/* fwargs: an ESP-IDF build's flasher_args.json, named by a profile's [firmware] flasher_args:
 * the images to write with their offsets (paths relative to the JSON's folder), and the flash
 * mode, frequency and size to put in the bootloader header, as esptool would. */
#ifndef ESPFAB_FLOW_FWARGS_H
#define ESPFAB_FLOW_FWARGS_H

#include <stdbool.h>

#include "core/buf.h"
#include "core/err.h"
#include "flow/plan.h"

#define FWARGS_MAX_IMAGES 16

struct fwargs {
	char flash_mode[8];  /* "dio", "qio", ... or "" */
	char flash_freq[8];  /* "80m", ... or "" */
	char flash_size[8];  /* "4MB", "detect", "keep" or "" */
	char chip[16];       /* extra_esptool_args.chip, or "" */
	struct plan_image images[FWARGS_MAX_IMAGES]; /* name = the file's path as given */
	char *paths[FWARGS_MAX_IMAGES];              /* resolved file paths */
	int n_images;
};

/* Reads and checks the file: offsets are hex strings, files exist (their sizes are taken now),
 * images do not overlap, settings are among esptool's choices. Errors name the file and key. */
int fwargs_load(const char *json_path, struct fwargs *out, err_t *e);
void fwargs_free(struct fwargs *f);
/* Bytes of a flash_size such as "4MB"; 0 for "detect"/"keep"/"". */
uint32_t fwargs_flash_size_bytes(const struct fwargs *f);

/* What esptool write_flash does to the bootloader image (the one at the chip's bootloader
 * offset, 0x1000 on ESP32/S2, 0x0 elsewhere): puts the flash mode, size and frequency into
 * header bytes 2 and 3 and, when the image carries an appended SHA-256 that matched, recomputes
 * it. Other images, "keep"/"detect" settings and non-images are left alone; *patched tells. */
int fwargs_patch_bootloader(const struct fwargs *f, const char *chip, uint32_t offset, buf_t *image,
			    bool *patched, err_t *e);

#endif
