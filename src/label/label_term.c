#include "label/label_term.h"

const char *label_term_get_glyph(int top, int bottom)
{
	if (top && bottom)
		return "\xe2\x96\x88"; /* U+2588 FULL BLOCK */
	if (top)
		return "\xe2\x96\x80"; /* U+2580 UPPER HALF BLOCK */
	if (bottom)
		return "\xe2\x96\x84"; /* U+2584 LOWER HALF BLOCK */
	return " ";
}

void label_term_render_qr(const struct qr_matrix *qr, int inverted, buf_t *out)
{
	int side = qr->width + 2 * QR_QUIET_ZONE;
	for (int y = 0; y < side; y += 2) {
		for (int x = 0; x < side; x++) {
			/* outside the symbol qr_get_module is light: the quiet zone and the padding row */
			int top = qr_get_module(qr, x - QR_QUIET_ZONE, y - QR_QUIET_ZONE);
			int bottom = y + 1 < side ? qr_get_module(qr, x - QR_QUIET_ZONE, y + 1 - QR_QUIET_ZONE) : 0;
			if (inverted) {
				top = !top;
				bottom = !bottom;
			}
			buf_append_str(out, label_term_get_glyph(top, bottom));
		}
		buf_append_byte(out, '\n');
	}
}
