/* label_layout: what goes on one device's label (QR payload, manual pairing code, serial,
 * product name) placed by a label template onto a raster image. The ZPL output places the same
 * fields with the printer's own QR and fonts (label_zpl). */
#ifndef ESPFAB_LABEL_LAYOUT_H
#define ESPFAB_LABEL_LAYOUT_H

#include <stddef.h>

#include "core/err.h"
#include "label/label_image.h"
#include "label/label_template.h"

struct label_data {
	const char *qr;      /* "MT:..." (required) */
	const char *manual;  /* manual pairing code, 11 or 21 digits, dashes and blanks ignored; NULL: none */
	const char *serial;  /* NULL: none */
	const char *product; /* NULL: none */
};

/* Groups the digits of a manual pairing code for reading out, as esp-matter-mfg-tool writes them
 * for labels (onb_codes.csv): group "auto" gives 4-3-4 for 11 digits ("3497-011-2332") and, for
 * 21, two lines "dddd-ddd-dddd\ndddd-ddd-dd-d" (4-3-4/4-3-2-1). "none" gives the bare digits; a
 * pattern such as "4-3-4" is applied as given, '/' starting a new line (the last group takes
 * what remains). Dashes, blanks and line breaks in code are ignored. Fails unless the code is
 * 11 or 21 decimal digits. */
int label_format_manual(const char *code, const char *group, char *out, size_t n, err_t *e);

/* mm → dots at the template's resolution */
int label_layout_convert_mm(const struct label_template *t, double mm);

/* Module size in dots that makes the symbol with its quiet zone fit size_mm (at least 1). */
int label_layout_fit_module(const struct label_template *t, const struct qr_matrix *qr);

/* The whole label as an image of the template's size at its resolution. Text that would run
 * past the label's right edge is drawn at a smaller scale. */
int label_render_image(const struct label_template *t, const struct label_data *d, struct label_image *out,
		       err_t *e);

#endif
