/* label_zpl: labels as ZPL II for Zebra printers. The printer draws the QR symbol itself
 * (^BQ, model 2, the template's error correction, automatic data mode), which prints sharper
 * than a bitmap at the printer's resolution; the text uses the printer's scalable font 0. */
#ifndef ESPFAB_LABEL_ZPL_H
#define ESPFAB_LABEL_ZPL_H

#include "core/buf.h"
#include "core/err.h"
#include "label/label_layout.h"

/* A label holding only the QR symbol: ^XA ^FO ^BQN,2,mag ^FD<ecc>A,payload^FS ^XZ. mag is the
 * module size in dots (1..10). */
int label_zpl_render_qr(const char *payload, enum qr_ecc ecc, int mag, buf_t *out, err_t *e);
/* The whole label laid out by the template (template dpi = the printer's dots per inch). */
int label_zpl_render_label(const struct label_template *t, const struct label_data *d, buf_t *out, err_t *e);

#endif
