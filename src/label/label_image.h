/* label_image: a grey-level raster canvas for labels (0 = black, 255 = white) with the few
 * drawing operations a label needs: rectangles, a QR matrix with its quiet zone, built-in-font
 * text. PNG encoding and printing take it from here. */
#ifndef ESPFAB_LABEL_IMAGE_H
#define ESPFAB_LABEL_IMAGE_H

#include <stdint.h>

#include "label/qr.h"

struct label_image {
	int width, height;
	uint8_t *px; /* width × height, row-major */
};

#define LABEL_BLACK 0
#define LABEL_WHITE 255

/* A white canvas; sizes below 1 become 1. */
void label_image_init(struct label_image *img, int width, int height);
void label_image_free(struct label_image *img);
/* Clipped to the canvas. */
void label_image_fill_rect(struct label_image *img, int x, int y, int w, int h, uint8_t v);
/* Draws the symbol with its quiet zone as a square of (width + 2·QR_QUIET_ZONE)·module_px
 * pixels whose top-left corner is (x, y); the quiet zone is painted white. */
void label_image_draw_qr(struct label_image *img, const struct qr_matrix *qr, int x, int y, int module_px);
/* Draws one line of text with its top-left at (x, y), each font pixel scale×scale. Returns the
 * width drawn. */
int label_image_draw_text(struct label_image *img, int x, int y, const char *text, int scale);
/* The largest whole module size (at least 1) at which the symbol with its quiet zone fits in
 * total_px pixels: for "make the QR image about this big". */
int label_image_fit_module(const struct qr_matrix *qr, int total_px);
/* A new image of just the symbol and its quiet zone. */
void label_image_render_qr(const struct qr_matrix *qr, int module_px, struct label_image *out);

#endif
