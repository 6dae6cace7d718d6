#include "label/label_image.h"

#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "label/label_font.h"

void label_image_init(struct label_image *img, int width, int height)
{
	img->width = width < 1 ? 1 : width;
	img->height = height < 1 ? 1 : height;
	img->px = mem_alloc_zeroed((size_t)img->width * (size_t)img->height);
	memset(img->px, LABEL_WHITE, (size_t)img->width * (size_t)img->height);
}

void label_image_free(struct label_image *img)
{
	free(img->px);
	memset(img, 0, sizeof *img);
}

void label_image_fill_rect(struct label_image *img, int x, int y, int w, int h, uint8_t v)
{
	int x0 = x < 0 ? 0 : x, y0 = y < 0 ? 0 : y;
	int x1 = x + w > img->width ? img->width : x + w;
	int y1 = y + h > img->height ? img->height : y + h;
	for (int yy = y0; yy < y1; yy++)
		if (x1 > x0)
			memset(img->px + (size_t)yy * (size_t)img->width + (size_t)x0, v, (size_t)(x1 - x0));
}

void label_image_draw_qr(struct label_image *img, const struct qr_matrix *qr, int x, int y, int module_px)
{
	int side = qr->width + 2 * QR_QUIET_ZONE;
	label_image_fill_rect(img, x, y, side * module_px, side * module_px, LABEL_WHITE);
	for (int my = 0; my < qr->width; my++)
		for (int mx = 0; mx < qr->width; mx++)
			if (qr_get_module(qr, mx, my))
				label_image_fill_rect(img, x + (mx + QR_QUIET_ZONE) * module_px,
						      y + (my + QR_QUIET_ZONE) * module_px, module_px, module_px,
						      LABEL_BLACK);
}

int label_image_draw_text(struct label_image *img, int x, int y, const char *text, int scale)
{
	if (scale < 1)
		scale = 1;
	int cx = x;
	for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
		for (int row = 0; row < LABEL_FONT_ROWS; row++)
			for (int col = 0; col < LABEL_FONT_COLS; col++)
				if (label_font_get_pixel(*p, col, row))
					label_image_fill_rect(img, cx + col * scale, y + row * scale, scale, scale,
							      LABEL_BLACK);
		cx += LABEL_FONT_ADVANCE * scale;
	}
	return label_font_measure_text(text, scale);
}

int label_image_fit_module(const struct qr_matrix *qr, int total_px)
{
	int m = total_px / (qr->width + 2 * QR_QUIET_ZONE);
	return m < 1 ? 1 : m;
}

void label_image_render_qr(const struct qr_matrix *qr, int module_px, struct label_image *out)
{
	if (module_px < 1)
		module_px = 1;
	int side = (qr->width + 2 * QR_QUIET_ZONE) * module_px;
	label_image_init(out, side, side);
	label_image_draw_qr(out, qr, 0, 0, module_px);
}
