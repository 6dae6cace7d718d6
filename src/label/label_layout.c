#include "label/label_layout.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "label/label_font.h"

int label_format_manual(const char *code, const char *group, char *out, size_t n, err_t *e)
{
	char digits[32];
	size_t nd = 0;
	for (const char *s = code ? code : ""; *s; s++) {
		if (*s == '-' || *s == ' ' || *s == '\n' || *s == '\r')
			continue;
		if (*s < '0' || *s > '9')
			return err_set_msg(e, ERR_CHECK, "manual pairing code '%s': '%c' is not a digit", code, *s);
		if (nd + 1 >= sizeof digits)
			return err_set_msg(e, ERR_CHECK, "manual pairing code '%s' is too long", code);
		digits[nd++] = *s;
	}
	digits[nd] = 0;
	if (nd != 11 && nd != 21)
		return err_set_msg(e, ERR_CHECK, "manual pairing code '%s' has %zu digits, not 11 or 21",
				   code ? code : "", nd);
	const char *pattern = group;
	if (!group || !strcmp(group, "auto"))
		pattern = nd == 11 ? "4-3-4" : "4-3-4/4-3-2-1";
	char tmp[64];
	size_t o = 0;
	if (!strcmp(pattern, "none")) {
		snprintf(tmp, sizeof tmp, "%s", digits);
		o = nd;
	} else {
		size_t i = 0;
		const char *p = pattern;
		char sep = '-';
		while (i < nd) {
			size_t len = nd - i;
			char next_sep = '-';
			if (*p >= '1' && *p <= '9') {
				len = (size_t)(*p - '0');
				p++;
				if (*p == '-' || *p == '/')
					next_sep = *p++ == '/' ? '\n' : '-';
				if (!*p) /* last group of the pattern: the rest */
					len = len < nd - i ? nd - i : len;
			}
			if (len > nd - i)
				len = nd - i;
			if (o)
				tmp[o++] = sep;
			sep = next_sep;
			memcpy(tmp + o, digits + i, len);
			o += len;
			i += len;
		}
		tmp[o] = 0;
	}
	if (o + 1 > n)
		return err_set_msg(e, ERR_USAGE, "manual pairing code: output buffer too small");
	memcpy(out, tmp, o + 1);
	return 0;
}

int label_layout_convert_mm(const struct label_template *t, double mm)
{
	return (int)lround(mm * t->dpi / 25.4);
}

int label_layout_fit_module(const struct label_template *t, const struct qr_matrix *qr)
{
	return label_image_fit_module(qr, label_layout_convert_mm(t, t->qr_size_mm));
}

static void label_draw_field(struct label_image *img, const struct label_template *t,
			     const struct label_field *f, const char *value)
{
	if (!f->show || !value || !*value)
		return;
	/* the prefix goes on the first line; further lines (a 21-digit manual code) line up under
	 * the value */
	char lines[4][256];
	int n = 0;
	const char *s = value;
	while (n < 4 && *s) {
		const char *nl = strchr(s, '\n');
		int len = nl ? (int)(nl - s) : (int)strlen(s);
		snprintf(lines[n++], sizeof lines[0], "%.*s", len, s);
		s += len + (nl ? 1 : 0);
	}
	int x = label_layout_convert_mm(t, f->x_mm), y = label_layout_convert_mm(t, f->y_mm);
	int scale = (int)lround(label_layout_convert_mm(t, f->height_mm) / (double)LABEL_FONT_ROWS);
	if (scale < 1)
		scale = 1;
	/* a long product name shrinks rather than running off the label */
	for (;;) {
		int prefix_w = f->prefix[0] ? label_font_measure_text(f->prefix, scale) + scale : 0;
		int widest = 0;
		for (int i = 0; i < n; i++) {
			int w = prefix_w + label_font_measure_text(lines[i], scale);
			widest = w > widest ? w : widest;
		}
		if (scale == 1 || x + widest <= img->width) {
			if (f->prefix[0])
				label_image_draw_text(img, x, y, f->prefix, scale);
			for (int i = 0; i < n; i++)
				label_image_draw_text(img, x + prefix_w, y + i * LABEL_FONT_LINE * scale * 5 / 4,
						      lines[i], scale);
			return;
		}
		scale--;
	}
}

int label_render_image(const struct label_template *t, const struct label_data *d, struct label_image *out,
		       err_t *e)
{
	memset(out, 0, sizeof *out);
	char manual[64] = "";
	if (d->manual && label_format_manual(d->manual, t->manual_group, manual, sizeof manual, e))
		return -1;
	struct qr_matrix qr;
	if (qr_encode_text(d->qr, t->ecc, &qr, e))
		return -1;
	label_image_init(out, label_layout_convert_mm(t, t->width_mm), label_layout_convert_mm(t, t->height_mm));
	label_image_draw_qr(out, &qr, label_layout_convert_mm(t, t->qr_x_mm), label_layout_convert_mm(t, t->qr_y_mm),
			    label_layout_fit_module(t, &qr));
	qr_free_matrix(&qr);
	label_draw_field(out, t, &t->product, d->product);
	label_draw_field(out, t, &t->manual, manual);
	label_draw_field(out, t, &t->serial, d->serial);
	return 0;
}
