/* Unit tests of src/label: every rendering of the QR symbol (PNG, whole label, terminal half
 * blocks) is decoded by an independent reader (zbarimg) back to the exact payload; ZPL structure
 * and escaping; the template parser and its errors; manual code grouping; the label CLI. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <csv.h>

#include "formats/payload.h"
#include "label/label_font.h"
#include "label/label_layout.h"
#include "label/label_png.h"
#include "label/label_template.h"
#include "label/label_term.h"
#include "label/label_zpl.h"
#include "label/qr.h"

#define ZBARIMG "/usr/bin/zbarimg"

/* Matter payloads (the SDK's test device: disc 3840, passcode 20202021, VID 0xFFF1, PID 0x8000)
 * plus strings that exercise the non-alphanumeric path. */
static const char *const payloads[] = {
	"MT:Y.K9042C00KA0648G00",
	"MT:-24J0AFN00KA0648G00",
	"MT:Y3.13OTB00KA0648G00",
	"Hello, espfab! lower case & symbols",
};

static void require_zbarimg(void)
{
	if (access(ZBARIMG, X_OK) != 0)
		skip(); /* zbar-tools is in .ci/install-deps.sh */
}

/* The text zbarimg decodes from a PNG, without the trailing newline; NULL when nothing. */
static char *decode_png_file(const char *path)
{
	char *argv[] = {ZBARIMG, "--raw", "-q", (char *)path, NULL};
	buf_t out = BUF_INIT, err = BUF_INIT;
	int rc = testutil_run_program(NULL, argv, &out, &err);
	buf_free_data(&err);
	if (rc != 0 || out.len == 0) {
		buf_free_data(&out);
		return NULL;
	}
	if (out.data[out.len - 1] == '\n')
		out.data[--out.len] = 0;
	return (char *)out.data;
}

static char *decode_image(const struct label_image *img, unsigned dpi, const char *dir, const char *name)
{
	char *path = testutil_join_path(dir, name);
	err_t e = {0};
	assert_int_equal(label_png_write_file(path, img, dpi, &e), 0);
	char *text = decode_png_file(path);
	free(path);
	return text;
}

static void assert_decodes_to(char *decoded, const char *want)
{
	if (!decoded)
		fail_msg("zbarimg found no symbol (wanted '%s')", want);
	assert_string_equal(decoded, want);
	free(decoded);
}

/* ---- QR PNG ---- */

static void test_qr_png_decodes(void **state)
{
	(void)state;
	require_zbarimg();
	char *dir = testutil_make_tmpdir();
	for (size_t i = 0; i < sizeof payloads / sizeof payloads[0]; i++) {
		for (int ecc = QR_ECC_L; ecc <= QR_ECC_H; ecc++) {
			struct qr_matrix qr;
			err_t e = {0};
			assert_int_equal(qr_encode_text(payloads[i], (enum qr_ecc)ecc, &qr, &e), 0);
			assert_int_equal(qr.width, 17 + 4 * qr.version);
			struct label_image img;
			label_image_render_qr(&qr, 3 + ecc, &img);
			assert_int_equal(img.width, (qr.width + 8) * (3 + ecc));
			assert_decodes_to(decode_image(&img, 300, dir, "qr.png"), payloads[i]);
			label_image_free(&img);
			qr_free_matrix(&qr);
		}
	}
	/* a 22-character "MT:" payload in one alphanumeric segment needs version 2 at ECC M (134
	 * bits > version 1-M's 128), the size esp-matter prints */
	struct qr_matrix qr;
	err_t e = {0};
	assert_int_equal(qr_encode_text(payloads[0], QR_ECC_M, &qr, &e), 0);
	assert_int_equal(qr.version, 2);
	assert_int_equal(qr.width, 25);
	qr_free_matrix(&qr);
	assert_int_equal(qr_encode_text("", QR_ECC_M, &qr, &e), -1);
	testutil_remove_tree(dir);
	free(dir);
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void test_png_records_dpi(void **state)
{
	(void)state;
	struct label_image img;
	label_image_init(&img, 13, 5);
	label_image_fill_rect(&img, 2, 1, 3, 2, LABEL_BLACK);
	buf_t png = BUF_INIT;
	err_t e = {0};
	assert_int_equal(label_png_encode(&img, 300, &png, &e), 0);
	assert_memory_equal(png.data, "\x89PNG\r\n\x1a\n", 8);
	/* IHDR: 13 x 5, bit depth 1, grey */
	assert_memory_equal(png.data + 12, "IHDR", 4);
	assert_int_equal(be32(png.data + 16), 13);
	assert_int_equal(be32(png.data + 20), 5);
	assert_int_equal(png.data[24], 1);
	assert_int_equal(png.data[25], 0);
	/* pHYs: 300 dpi = 11811 pixels per metre, unit metre */
	uint8_t *p = memmem(png.data, png.len, "pHYs", 4);
	assert_non_null(p);
	assert_int_equal(be32(p + 4), 11811);
	assert_int_equal(be32(p + 8), 11811);
	assert_int_equal(p[12], 1);
	buf_free_data(&png);
	assert_int_equal(label_png_encode(&img, 0, &png, &e), 0);
	assert_null(memmem(png.data, png.len, "pHYs", 4));
	buf_free_data(&png);
	label_image_free(&img);
}

/* ---- the whole label ---- */

static void test_label_png_decodes(void **state)
{
	(void)state;
	require_zbarimg();
	char *dir = testutil_make_tmpdir();
	struct label_template t;
	label_template_init_default(&t);
	const char *manuals[] = {"34970112332", "749701123365521327687"};
	unsigned dpis[] = {203, 300, 600};
	for (size_t i = 0; i < 3; i++) {
		for (size_t k = 0; k < 3; k++) {
			t.dpi = dpis[k];
			struct label_data d = {payloads[i], manuals[i % 2], "SN-0001234", "Smart Plug Mini"};
			struct label_image img;
			err_t e = {0};
			assert_int_equal(label_render_image(&t, &d, &img, &e), 0);
			assert_int_equal(img.width, (int)(50 * dpis[k] / 25.4 + 0.5));
			assert_int_equal(img.height, (int)(30 * dpis[k] / 25.4 + 0.5));
			assert_decodes_to(decode_image(&img, t.dpi, dir, "label.png"), payloads[i]);
			label_image_free(&img);
		}
	}
	/* the text is really drawn: the text area is not blank */
	t.dpi = 300;
	struct label_data d = {payloads[0], "34970112332", "SN1", "P"};
	struct label_image img;
	err_t e = {0};
	assert_int_equal(label_render_image(&t, &d, &img, &e), 0);
	int x0 = label_layout_convert_mm(&t, t.manual.x_mm), y0 = label_layout_convert_mm(&t, t.manual.y_mm);
	int ink = 0;
	for (int y = y0; y < y0 + 30; y++)
		for (int x = x0; x < img.width; x++)
			ink += img.px[y * img.width + x] == LABEL_BLACK;
	assert_true(ink > 100);
	label_image_free(&img);
	/* a bad manual code is refused before anything is drawn */
	d.manual = "1234";
	assert_int_equal(label_render_image(&t, &d, &img, &e), -1);
	assert_non_null(strstr(e.msg, "1234"));
	testutil_remove_tree(dir);
	free(dir);
}

/* ---- terminal ---- */

/* Turns the half-block text back into modules: 1 = ink in the given cell half. */
static int parse_terminal(const char *text, uint8_t *ink, int max_w, int max_h, int *w, int *h)
{
	int row = 0, col = 0, width = -1;
	for (const char *s = text; *s;) {
		if (*s == '\n') {
			if (width < 0)
				width = col;
			assert_int_equal(col, width);
			col = 0;
			row += 2;
			s++;
			continue;
		}
		int top, bottom;
		if (*s == ' ') {
			top = bottom = 0;
			s++;
		} else if (!strncmp(s, "\xe2\x96\x80", 3)) {
			top = 1, bottom = 0;
			s += 3;
		} else if (!strncmp(s, "\xe2\x96\x84", 3)) {
			top = 0, bottom = 1;
			s += 3;
		} else if (!strncmp(s, "\xe2\x96\x88", 3)) {
			top = bottom = 1;
			s += 3;
		} else {
			fail_msg("unexpected byte 0x%02x in the terminal rendering", (unsigned char)*s);
			return -1;
		}
		assert_true(col < max_w && row + 1 < max_h);
		ink[row * max_w + col] = (uint8_t)top;
		ink[(row + 1) * max_w + col] = (uint8_t)bottom;
		col++;
	}
	*w = width;
	*h = row;
	return 0;
}

static void test_terminal_rendering_decodes(void **state)
{
	(void)state;
	require_zbarimg();
	char *dir = testutil_make_tmpdir();
	enum { MAXW = 200 };
	static uint8_t ink[MAXW * MAXW];
	for (size_t i = 0; i < sizeof payloads / sizeof payloads[0]; i++) {
		for (int inverted = 0; inverted <= 1; inverted++) {
			struct qr_matrix qr;
			err_t e = {0};
			assert_int_equal(qr_encode_text(payloads[i], QR_ECC_M, &qr, &e), 0);
			buf_t text = BUF_INIT;
			label_term_render_qr(&qr, inverted, &text);
			memset(ink, 0, sizeof ink);
			int w = 0, h = 0;
			assert_int_equal(parse_terminal(buf_terminate_str(&text), ink, MAXW, MAXW, &w, &h), 0);
			int side = qr.width + 2 * QR_QUIET_ZONE;
			assert_int_equal(w, side);
			assert_int_equal(h, side + (side & 1));
			/* the 4-module quiet zone: light all round (ink only when inverted) */
			for (int y = 0; y < h; y++)
				for (int x = 0; x < w; x++)
					if (x < QR_QUIET_ZONE || y < QR_QUIET_ZONE || x >= side - QR_QUIET_ZONE ||
					    y >= side - QR_QUIET_ZONE)
						assert_int_equal(ink[y * MAXW + x], inverted);
			/* the bitmap a viewer would see: dark = ink, or the opposite when inverted; a
			 * white frame stands for the terminal's own background */
			int scale = 6, frame = 4;
			struct label_image img;
			label_image_init(&img, (w + 2 * frame) * scale, (h + 2 * frame) * scale);
			for (int y = 0; y < h; y++)
				for (int x = 0; x < w; x++)
					if (ink[y * MAXW + x] != inverted)
						label_image_fill_rect(&img, (x + frame) * scale, (y + frame) * scale,
								      scale, scale, LABEL_BLACK);
			assert_decodes_to(decode_image(&img, 0, dir, "term.png"), payloads[i]);
			label_image_free(&img);
			buf_free_data(&text);
			qr_free_matrix(&qr);
		}
	}
	testutil_remove_tree(dir);
	free(dir);
}

/* ---- ZPL ---- */

static int count_substr(const char *s, const char *sub)
{
	int n = 0;
	for (const char *p = s; (p = strstr(p, sub)); p += strlen(sub))
		n++;
	return n;
}

static void assert_zpl_well_formed(const char *z)
{
	assert_true(!strncmp(z, "^XA", 3));
	size_t n = strlen(z);
	assert_true(n >= 4 && !strcmp(z + n - 4, "^XZ\n"));
	assert_int_equal(count_substr(z, "^XA"), 1);
	assert_int_equal(count_substr(z, "^XZ"), 1);
	/* every field is closed */
	assert_int_equal(count_substr(z, "^FD"), count_substr(z, "^FS"));
}

static void test_zpl_output(void **state)
{
	(void)state;
	buf_t z = BUF_INIT;
	err_t e = {0};
	assert_int_equal(label_zpl_render_qr("MT:Y.K9042C00KA0648G00", QR_ECC_M, 5, &z, &e), 0);
	const char *s = buf_terminate_str(&z);
	assert_zpl_well_formed(s);
	assert_non_null(strstr(s, "^BQN,2,5\n"));
	assert_non_null(strstr(s, "^FDMA,MT:Y.K9042C00KA0648G00^FS"));
	buf_free_data(&z);

	struct label_template t;
	label_template_init_default(&t);
	t.ecc = QR_ECC_Q;
	struct label_data d = {"MT:-24J0AFN00KA0648G00", "749701123365521327687", "A^B~C\\D", "Plug"};
	assert_int_equal(label_zpl_render_label(&t, &d, &z, &e), 0);
	s = buf_terminate_str(&z);
	assert_zpl_well_formed(s);
	assert_non_null(strstr(s, "^FDQA,MT:-24J0AFN00KA0648G00^FS"));
	assert_non_null(strstr(s, "^PW591\n"));
	assert_non_null(strstr(s, "^LL354\n"));
	/* a 21-digit code: one field per line, the second line below the first */
	assert_non_null(strstr(s, "^FD7497-011-2336^FS"));
	assert_non_null(strstr(s, "^FD5521-327-68-7^FS"));
	assert_true(strstr(s, "^FD7497-011-2336^FS") < strstr(s, "^FD5521-327-68-7^FS"));
	assert_non_null(strstr(s, "^FDPlug^FS"));
	/* command characters in a field are hex-escaped, never sent raw */
	assert_non_null(strstr(s, "^FH\\^FDS/N A\\5EB\\7EC\\5CD^FS"));
	assert_null(strstr(s, "A^B"));
	assert_null(strstr(s, "~C"));
	buf_free_data(&z);

	/* a payload with a command character is refused */
	assert_int_equal(label_zpl_render_qr("MT:^XZ", QR_ECC_M, 5, &z, &e), -1);
	t.serial.show = 0;
	d.serial = "hidden";
	assert_int_equal(label_zpl_render_label(&t, &d, &z, &e), 0);
	assert_null(strstr(buf_terminate_str(&z), "hidden"));
	buf_free_data(&z);
}

/* ---- template ---- */

static void test_template_default_file_matches_builtin(void **state)
{
	(void)state;
	char *path = testutil_join_path(testutil_source_dir(), "assets/labels/default.ini");
	struct label_template f, b;
	err_t e = {0};
	if (label_template_load_file(path, &f, &e))
		fail_msg("%s", e.msg);
	label_template_init_default(&b);
	assert_string_equal(f.source, path);
	memset(f.source, 0, sizeof f.source);
	memset(b.source, 0, sizeof b.source);
	assert_true(f.width_mm == b.width_mm && f.height_mm == b.height_mm && f.dpi == b.dpi);
	assert_true(f.qr_x_mm == b.qr_x_mm && f.qr_y_mm == b.qr_y_mm && f.qr_size_mm == b.qr_size_mm);
	assert_int_equal(f.ecc, b.ecc);
	const struct label_field *ff[] = {&f.product, &f.manual, &f.serial};
	const struct label_field *bf[] = {&b.product, &b.manual, &b.serial};
	for (int i = 0; i < 3; i++) {
		assert_int_equal(ff[i]->show, bf[i]->show);
		assert_true(ff[i]->x_mm == bf[i]->x_mm && ff[i]->y_mm == bf[i]->y_mm);
		assert_true(ff[i]->height_mm == bf[i]->height_mm);
		assert_string_equal(ff[i]->prefix, bf[i]->prefix);
	}
	assert_string_equal(f.serial.prefix, "S/N ");
	assert_string_equal(f.manual_group, b.manual_group);
	free(path);
}

static void test_template_values_and_errors(void **state)
{
	(void)state;
	struct label_template t;
	err_t e = {0};
	assert_int_equal(label_template_parse_text("[label]\nwidth_mm = 60\ndpi = 203\n"
						   "[qr]\nsize_mm = 20.5\necc = h\n"
						   "[serial]\nshow = no\nprefix = \"SN: \"\n"
						   "[manual]\ngroup = 3-4/4\n",
						   "t.ini", &t, &e),
			 0);
	assert_true(t.width_mm == 60 && t.height_mm == 30 && t.qr_size_mm == 20.5);
	assert_int_equal(t.dpi, 203);
	assert_int_equal(t.ecc, QR_ECC_H);
	assert_int_equal(t.serial.show, 0);
	assert_string_equal(t.serial.prefix, "SN: ");
	assert_string_equal(t.manual_group, "3-4/4");

	static const struct {
		const char *text;
		const char *want[3];
	} bad[] = {
		{"[label]\nwidth_mm = 50\n\n[qr]\ncolour = red\n", {"t.ini line 5", "unknown key 'colour'", "[qr]"}},
		{"; c\n[labels]\nwidth_mm = 50\n", {"line 3", "unknown section [labels]", NULL}},
		{"[label]\ndpi = fast\n", {"line 2", "dpi = 'fast'", NULL}},
		{"[label]\ndpi = 20\n", {"line 2", "72 to 2400", NULL}},
		{"[qr]\necc = X\n", {"line 2", "ecc = 'X'", NULL}},
		{"[manual]\ngroup = 4--3\n", {"line 2", "group", NULL}},
		{"[product]\nshow = maybe\n", {"line 2", "yes or no", NULL}},
		{"[product]\nx_mm = -3\n", {"line 2", "x_mm", NULL}},
		{"[label]\nthis is not ini\n", {"line 2", NULL, NULL}},
		{"[qr]\nsize_mm = 40\n", {"does not fit", NULL, NULL}},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		memset(&e, 0, sizeof e);
		assert_int_equal(label_template_parse_text(bad[i].text, "t.ini", &t, &e), -1);
		for (int k = 0; k < 3 && bad[i].want[k]; k++)
			if (!strstr(e.msg, bad[i].want[k]))
				fail_msg("case %zu: '%s' lacks '%s'", i, e.msg, bad[i].want[k]);
	}
	assert_int_equal(label_template_load_file("/nonexistent/x.ini", &t, &e), -1);
	assert_non_null(strstr(e.msg, "/nonexistent/x.ini"));
}

/* ---- manual code ---- */

static void test_manual_code_grouping(void **state)
{
	(void)state;
	char out[64];
	err_t e = {0};
	assert_int_equal(label_format_manual("34970112332", "auto", out, sizeof out, &e), 0);
	assert_string_equal(out, "3497-011-2332");
	assert_int_equal(label_format_manual("3497-011-2332", NULL, out, sizeof out, &e), 0);
	assert_string_equal(out, "3497-011-2332");
	assert_int_equal(label_format_manual("749701123365521327687", "auto", out, sizeof out, &e), 0);
	assert_string_equal(out, "7497-011-2336\n5521-327-68-7");
	assert_int_equal(label_format_manual("7497-011-2336\n5521-327-68-7", "4-3-4-5-5", out, sizeof out, &e), 0);
	assert_string_equal(out, "7497-011-2336-55213-27687");
	assert_int_equal(label_format_manual("7497 011 2336 55213 27687", "none", out, sizeof out, &e), 0);
	assert_string_equal(out, "749701123365521327687");
	assert_int_equal(label_format_manual("749701123365521327687", "4-3-4", out, sizeof out, &e), 0);
	assert_string_equal(out, "7497-011-23365521327687");
	assert_int_equal(label_format_manual("34970112332", "5-6", out, sizeof out, &e), 0);
	assert_string_equal(out, "34970-112332");
	assert_int_equal(label_format_manual("34970112332", "4/3-4", out, sizeof out, &e), 0);
	assert_string_equal(out, "3497\n011-2332");
	assert_int_equal(label_format_manual("3497011233", "auto", out, sizeof out, &e), -1);
	assert_non_null(strstr(e.msg, "10 digits"));
	assert_int_equal(label_format_manual("3497O112332", "auto", out, sizeof out, &e), -1);
	assert_non_null(strstr(e.msg, "'O'"));
	assert_int_equal(label_format_manual("34970112332", "auto", out, 5, &e), -1);
}

/* The grouping must be the one esp-matter-mfg-tool writes in onb_codes.csv (every mfg case). */
struct csv_rows {
	char fields[8][64];
	int nfields;
	int row;
	char manual[64];
};

static void csv_field(void *s, size_t len, void *ctx)
{
	struct csv_rows *r = ctx;
	if (r->nfields < 8)
		snprintf(r->fields[r->nfields++], sizeof r->fields[0], "%.*s", (int)len, (const char *)s);
}

static void csv_row(int c, void *ctx)
{
	(void)c;
	struct csv_rows *r = ctx;
	/* header: qrcode,manualcode,...; first data row holds the device's codes */
	if (r->row == 0)
		assert_string_equal(r->fields[1], "manualcode");
	else if (r->row == 1)
		snprintf(r->manual, sizeof r->manual, "%s", r->fields[1]);
	r->row++;
	r->nfields = 0;
}

static void test_manual_grouping_matches_mfg_tool(void **state)
{
	(void)state;
	char **cases = testutil_list_cases("mfg");
	if (!cases)
		skip();
	int checked = 0, long_codes = 0;
	for (char **c = cases; *c; c++) {
		char *dir = testutil_vector_path("mfg", *c);
		char *path = testutil_join_path(dir, "onb_codes.csv");
		free(dir);
		if (access(path, R_OK) != 0) {
			free(path);
			continue;
		}
		buf_t b = BUF_INIT;
		testutil_read_file(path, &b);
		struct csv_parser p;
		struct csv_rows rows = {0};
		assert_int_equal(csv_init(&p, CSV_STRICT | CSV_APPEND_NULL), 0);
		assert_int_equal(csv_parse(&p, b.data, b.len, csv_field, csv_row, &rows), b.len);
		csv_fini(&p, csv_field, csv_row, &rows);
		csv_free(&p);
		assert_true(rows.manual[0]);
		char out[64];
		err_t e = {0};
		if (label_format_manual(rows.manual, "auto", out, sizeof out, &e))
			fail_msg("%s: %s", path, e.msg);
		if (strcmp(out, rows.manual))
			fail_msg("%s: grouped '%s', the tool wrote '%s'", path, out, rows.manual);
		long_codes += strchr(rows.manual, '\n') != NULL;
		checked++;
		buf_free_data(&b);
		free(path);
	}
	testutil_free_list(cases);
	assert_true(checked > 0);
	print_message("manual code grouping: %d mfg cases (%d with 21 digits) match the tool\n", checked,
		      long_codes);
}

/* Every onboarding vector (the Matter SDK's own QR strings and manual codes) through the whole
 * label: the PNG decodes to the tool's QR string, the ZPL carries it, both manual codes format. */
struct onb_rows {
	char fields[12][64];
	int nfields;
	int row;
	int checked;
	const char *dir;
	int qr_col, short_col, long_col;
};

static void onb_field(void *s, size_t len, void *ctx)
{
	struct onb_rows *r = ctx;
	if (r->nfields < 12)
		snprintf(r->fields[r->nfields++], sizeof r->fields[0], "%.*s", (int)len, (const char *)s);
}

static void onb_row(int c, void *ctx)
{
	(void)c;
	struct onb_rows *r = ctx;
	if (r->row++ == 0) {
		for (int i = 0; i < r->nfields; i++) {
			if (!strcmp(r->fields[i], "qr"))
				r->qr_col = i;
			if (!strcmp(r->fields[i], "manual_short"))
				r->short_col = i;
			if (!strcmp(r->fields[i], "manual_long"))
				r->long_col = i;
		}
		assert_true(r->qr_col >= 0 && r->short_col >= 0 && r->long_col >= 0);
		r->nfields = 0;
		return;
	}
	const char *qr = r->fields[r->qr_col];
	struct label_template t;
	label_template_init_default(&t);
	for (int which = 0; which < 2; which++) {
		const char *manual = r->fields[which ? r->long_col : r->short_col];
		/* the label groups the code exactly as the payload module (the mfg tool's form) does */
		char mine[64], theirs[PAYLOAD_MANUAL_GROUPED_MAX];
		err_t ge = {0};
		assert_int_equal(label_format_manual(manual, "auto", mine, sizeof mine, &ge), 0);
		assert_int_equal(payload_group_manual(manual, theirs, &ge), 0);
		assert_string_equal(mine, theirs);
		struct label_data d = {qr, manual, "SN", "Product"};
		struct label_image img;
		err_t e = {0};
		if (label_render_image(&t, &d, &img, &e))
			fail_msg("row %d: %s", r->row, e.msg);
		assert_decodes_to(decode_image(&img, t.dpi, r->dir, "onb.png"), qr);
		label_image_free(&img);
		buf_t z = BUF_INIT;
		assert_int_equal(label_zpl_render_label(&t, &d, &z, &e), 0);
		char field[96];
		snprintf(field, sizeof field, "^FDMA,%s^FS", qr);
		assert_non_null(strstr(buf_terminate_str(&z), field));
		buf_free_data(&z);
	}
	r->checked++;
	r->nfields = 0;
}

static void test_onboarding_vectors_on_labels(void **state)
{
	(void)state;
	require_zbarimg();
	if (!testutil_vectors_dir())
		skip();
	char *path = testutil_vector_path("onboarding", "vectors.csv");
	if (access(path, R_OK) != 0) {
		free(path);
		skip();
	}
	char *dir = testutil_make_tmpdir();
	buf_t b = BUF_INIT;
	testutil_read_file(path, &b);
	struct csv_parser p;
	struct onb_rows rows = {.dir = dir, .qr_col = -1, .short_col = -1, .long_col = -1};
	assert_int_equal(csv_init(&p, CSV_STRICT | CSV_APPEND_NULL), 0);
	assert_int_equal(csv_parse(&p, b.data, b.len, onb_field, onb_row, &rows), b.len);
	csv_fini(&p, onb_field, onb_row, &rows);
	csv_free(&p);
	assert_true(rows.checked > 0);
	print_message("onboarding vectors: %d rows rendered and decoded\n", rows.checked);
	buf_free_data(&b);
	testutil_remove_tree(dir);
	free(dir);
	free(path);
}

static void test_font_glyphs(void **state)
{
	(void)state;
	/* every printable character but the space has ink, and no two glyphs are the same */
	static uint64_t bits[95];
	for (int c = 0x20; c <= 0x7e; c++) {
		uint64_t b = 0;
		for (int r = 0; r < LABEL_FONT_ROWS; r++)
			for (int k = 0; k < LABEL_FONT_COLS; k++)
				b = b << 1 | (uint64_t)label_font_get_pixel((unsigned char)c, k, r);
		bits[c - 0x20] = b;
		assert_true(c == ' ' ? b == 0 : b != 0);
		for (int o = 0x20; o < c; o++)
			if (bits[o - 0x20] == b)
				fail_msg("glyphs '%c' and '%c' are identical", o, c);
	}
	assert_int_equal(label_font_measure_text("ab", 3), (2 * LABEL_FONT_ADVANCE - 1) * 3);
	assert_int_equal(label_font_measure_text("", 3), 0);
	/* a byte outside ASCII draws as '?' */
	for (int r = 0; r < LABEL_FONT_ROWS; r++)
		for (int k = 0; k < LABEL_FONT_COLS; k++)
			assert_int_equal(label_font_get_pixel(0xc3, k, r), label_font_get_pixel('?', k, r));
}

/* ---- CLI ---- */

static void test_cli_label(void **state)
{
	(void)state;
	require_zbarimg();
	char *dir = testutil_make_tmpdir();
	buf_t out = BUF_INIT, err = BUF_INIT;
	char *png[] = {"espfab", "label", "--qr", "MT:Y.K9042C00KA0648G00", "--manual", "34970112332",
		       "--serial=SN42", "-product", "Plug", "--png", "l.png", NULL};
	assert_int_equal(testutil_run_espfab(dir, png, &out, &err), 0);
	char *path = testutil_join_path(dir, "l.png");
	assert_decodes_to(decode_png_file(path), "MT:Y.K9042C00KA0648G00");
	free(path);

	char *zpl[] = {"espfab", "label", "--qr", "MT:Y.K9042C00KA0648G00", "--manual", "34970112332",
		       "--print-to", "l.zpl", "--raw", NULL};
	assert_int_equal(testutil_run_espfab(dir, zpl, &out, &err), 0);
	path = testutil_join_path(dir, "l.zpl");
	buf_t z = BUF_INIT;
	testutil_read_file(path, &z);
	assert_zpl_well_formed(buf_terminate_str(&z));
	assert_non_null(strstr((char *)z.data, "^FDMA,MT:Y.K9042C00KA0648G00^FS"));
	buf_free_data(&z);
	free(path);

	out.len = 0;
	char *term[] = {"espfab", "label", "--qr", "MT:Y.K9042C00KA0648G00", "--manual", "34970112332",
			"--terminal", NULL};
	assert_int_equal(testutil_run_espfab(dir, term, &out, &err), 0);
	assert_non_null(strstr((char *)out.data, "\xe2\x96\x88"));
	assert_non_null(strstr((char *)out.data, "3497-011-2332"));

	/* a Matter QR code alone: the manual code is derived from it (the SDK's code for the row) */
	out.len = 0;
	char *derive[] = {"espfab", "label", "--qr", "MT:Y.K9042C00KA0648G00", "--terminal", NULL};
	assert_int_equal(testutil_run_espfab(dir, derive, &out, &err), 0);
	assert_non_null(strstr((char *)out.data, "3497-011-2332"));
	/* a manual code of another device is refused: that label would commission the wrong one */
	char *mismatch[] = {"espfab", "label", "--qr", "MT:Y.K9042C00KA0648G00", "--manual", "00000100007",
			    "--png", "m.png", NULL};
	err.len = 0;
	assert_int_equal(testutil_run_espfab(dir, mismatch, &out, &err), 1);
	assert_non_null(strstr((char *)err.data, "does not belong"));
	/* the 21-digit form of the same device's code is accepted */
	char *long_code[] = {"espfab", "label", "--qr", "MT:Y.K9042C00KA0648G00", "--manual",
			     "749701123365521327687", "--png", "m.png", NULL};
	assert_int_equal(testutil_run_espfab(dir, long_code, &out, &err), 0);
	/* a non-Matter string still needs its manual code */
	char *other[] = {"espfab", "label", "--qr", "HELLO", "--png", "m.png", NULL};
	assert_int_equal(testutil_run_espfab(dir, other, &out, &err), 2);

	char *usage[] = {"espfab", "label", "--qr", "MT:Y.K9042C00KA0648G00", "--manual", "34970112332", NULL};
	assert_int_equal(testutil_run_espfab(dir, usage, &out, &err), 2);
	char *bad_manual[] = {"espfab", "label", "--qr", "MT:Y.K9042C00KA0648G00", "--manual", "123", "--png", "x.png", NULL};
	err.len = 0;
	assert_int_equal(testutil_run_espfab(dir, bad_manual, &out, &err), 1); /* invalid input */
	assert_non_null(strstr((char *)err.data, "'123'"));

	path = testutil_join_path(dir, "bad.ini");
	const char *ini = "[label]\ndpi = 300\nfont = big\n";
	testutil_write_file(path, ini, strlen(ini));
	char *bad_tpl[] = {"espfab", "label", "--qr", "MT:Y.K9042C00KA0648G00", "--manual", "34970112332", "--template", path,
			   "--png", "x.png", NULL};
	err.len = 0;
	assert_int_equal(testutil_run_espfab(dir, bad_tpl, &out, &err), 1);
	assert_non_null(strstr((char *)err.data, "line 3"));
	assert_non_null(strstr((char *)err.data, "unknown key 'font'"));
	free(path);
	path = testutil_join_path(dir, "x.png");
	assert_int_not_equal(access(path, F_OK), 0); /* no output on error */
	free(path);

	/* QR alone, sized in dots: the largest whole module that fits */
	char *sized[] = {"espfab", "label", "--qr", "MT:Y.K9042C00KA0648G00", "--qr-only", "--size", "300",
			 "--png", "q.png", NULL};
	assert_int_equal(testutil_run_espfab(dir, sized, &out, &err), 0);
	path = testutil_join_path(dir, "q.png");
	buf_t q = BUF_INIT;
	testutil_read_file(path, &q);
	assert_int_equal(be32(q.data + 16), 300 / 33 * 33); /* version 2: 25 + 8 modules */
	buf_free_data(&q);
	assert_decodes_to(decode_png_file(path), "MT:Y.K9042C00KA0648G00");
	free(path);
	char *sized_label[] = {"espfab", "label", "--qr", "MT:Y.K9042C00KA0648G00", "--manual", "34970112332", "--size", "300",
			       "--png", "q.png", NULL};
	assert_int_equal(testutil_run_espfab(dir, sized_label, &out, &err), 2);

	/* no scheduler to talk to: a device/link error naming the printer */
	setenv("CUPS_SERVER", "127.0.0.1:1", 1);
	char *print[] = {"espfab", "label", "--qr", "MT:Y.K9042C00KA0648G00", "--manual", "34970112332", "--print", "nosuchq", NULL};
	err.len = 0;
	assert_int_equal(testutil_run_espfab(dir, print, &out, &err), 3);
	unsetenv("CUPS_SERVER");
	assert_non_null(strstr((char *)err.data, "nosuchq"));

	buf_free_data(&out);
	buf_free_data(&err);
	testutil_remove_tree(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_qr_png_decodes),
		cmocka_unit_test(test_png_records_dpi),
		cmocka_unit_test(test_label_png_decodes),
		cmocka_unit_test(test_terminal_rendering_decodes),
		cmocka_unit_test(test_zpl_output),
		cmocka_unit_test(test_template_default_file_matches_builtin),
		cmocka_unit_test(test_template_values_and_errors),
		cmocka_unit_test(test_manual_code_grouping),
		cmocka_unit_test(test_manual_grouping_matches_mfg_tool),
		cmocka_unit_test(test_onboarding_vectors_on_labels),
		cmocka_unit_test(test_font_glyphs),
		cmocka_unit_test(test_cli_label),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
