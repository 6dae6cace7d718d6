/* label_term: a QR symbol as text for a terminal, two modules per character cell stacked
 * vertically with the Unicode half blocks (▀ ▄ █), so a symbol fits a normal terminal and the
 * cells come out roughly square. Used by the TUI and by `espfab label --terminal`. */
#ifndef ESPFAB_LABEL_TERM_H
#define ESPFAB_LABEL_TERM_H

#include "core/buf.h"
#include "label/qr.h"

/* Appends the rendering (UTF-8, one line per two module rows, each ending in "\n") to out.
 * The glyphs' ink is the terminal's foreground colour. inverted = 0: ink marks dark modules,
 * for dark text on a light background; the quiet zone is blank cells. inverted = 1: ink marks
 * light modules and the quiet zone, for light text on a dark background. An odd last module
 * row is completed with a light row. Every line is (width + 2·QR_QUIET_ZONE) cells wide. */
void label_term_render_qr(const struct qr_matrix *qr, int inverted, buf_t *out);

/* The UTF-8 glyph for a cell: top/bottom = 1 where the cell's half is inked. */
const char *label_term_get_glyph(int top, int bottom);

#endif
