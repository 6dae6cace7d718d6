/* label_font: a small built-in bitmap font (5×7 glyphs, printable ASCII) for the text on printed
 * labels: no font library is among espfab's dependencies, and a label needs only a few legible
 * lines. Scaled by whole pixels, so edges stay sharp for thermal printers. */
#ifndef ESPFAB_LABEL_FONT_H
#define ESPFAB_LABEL_FONT_H

#include <stdint.h>

#define LABEL_FONT_COLS 5
#define LABEL_FONT_ROWS 7
#define LABEL_FONT_ADVANCE 6 /* glyph + one column of spacing */
#define LABEL_FONT_LINE 8    /* glyph + one row of spacing */

/* 1 where glyph c is inked at (col, row); characters outside printable ASCII draw as '?'. */
int label_font_get_pixel(unsigned char c, int col, int row);
/* Width in pixels of text drawn at the given scale. */
int label_font_measure_text(const char *text, int scale);

#endif
