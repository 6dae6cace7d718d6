/* label_png: label images as PNG (1-bit grey, which every label printer driver and image viewer
 * reads), with the resolution recorded in a pHYs chunk so a printer reproduces the physical
 * size the template asked for. */
#ifndef ESPFAB_LABEL_PNG_H
#define ESPFAB_LABEL_PNG_H

#include "core/buf.h"
#include "core/err.h"
#include "label/label_image.h"

/* Appends the PNG to out; dpi 0 leaves the pHYs chunk out. Pixels below 128 are black. */
int label_png_encode(const struct label_image *img, unsigned dpi, buf_t *out, err_t *e);
/* Encodes and writes atomically (never a half-written file). */
int label_png_write_file(const char *path, const struct label_image *img, unsigned dpi, err_t *e);

#endif
