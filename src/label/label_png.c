#include "label/label_png.h"

#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include <png.h>

#include "core/fileio.h"

struct label_png_sink {
	buf_t *out;
	char msg[200];
};

static void label_png_write_data(png_structp png, png_bytep data, png_size_t len)
{
	struct label_png_sink *s = png_get_io_ptr(png);
	buf_append_bytes(s->out, data, len);
}

static void label_png_flush(png_structp png)
{
	(void)png;
}

static void label_png_error(png_structp png, png_const_charp msg)
{
	struct label_png_sink *s = png_get_error_ptr(png);
	snprintf(s->msg, sizeof s->msg, "%s", msg);
	png_longjmp(png, 1);
}

static void label_png_warning(png_structp png, png_const_charp msg)
{
	(void)png;
	(void)msg;
}

int label_png_encode(const struct label_image *img, unsigned dpi, buf_t *out, err_t *e)
{
	struct label_png_sink sink = {out, ""};
	size_t start = out->len;
	size_t row_bytes = ((size_t)img->width + 7) / 8;
	png_bytep row = mem_alloc_zeroed(row_bytes);
	png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &sink, label_png_error, label_png_warning);
	png_infop info = png ? png_create_info_struct(png) : NULL;
	if (!png || !info) {
		png_destroy_write_struct(&png, NULL);
		free(row);
		return err_set_msg(e, ERR_CHECK, "PNG: cannot create the encoder");
	}
	if (setjmp(png_jmpbuf(png))) {
		png_destroy_write_struct(&png, &info);
		free(row);
		out->len = start;
		return err_set_msg(e, ERR_CHECK, "PNG encoding of a %dx%d image failed: %s", img->width,
				   img->height, sink.msg);
	}
	png_set_write_fn(png, &sink, label_png_write_data, label_png_flush);
	png_set_IHDR(png, info, (png_uint_32)img->width, (png_uint_32)img->height, 1, PNG_COLOR_TYPE_GRAY,
		     PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
	if (dpi) {
		/* pHYs counts pixels per metre; round to nearest */
		png_uint_32 ppm = (png_uint_32)(dpi / 0.0254 + 0.5);
		png_set_pHYs(png, info, ppm, ppm, PNG_RESOLUTION_METER);
	}
	png_write_info(png, info);
	for (int y = 0; y < img->height; y++) {
		memset(row, 0, row_bytes);
		const uint8_t *src = img->px + (size_t)y * (size_t)img->width;
		for (int x = 0; x < img->width; x++)
			if (src[x] >= 128)
				row[x / 8] |= (png_byte)(0x80 >> (x % 8));
		png_write_row(png, row);
	}
	png_write_end(png, NULL);
	png_destroy_write_struct(&png, &info);
	free(row);
	return 0;
}

int label_png_write_file(const char *path, const struct label_image *img, unsigned dpi, err_t *e)
{
	buf_t b = BUF_INIT;
	int rc = label_png_encode(img, dpi, &b, e);
	if (rc == 0)
		rc = fileio_write_atomic(path, b.data, b.len, FILEIO_MODE_PUBLIC, e);
	buf_free_data(&b);
	return rc;
}
