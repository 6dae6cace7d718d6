#include "label/label_zpl.h"

#include <stdio.h>
#include <string.h>

/* ^ and ~ start ZPL commands wherever they appear; a field holding one is sent hex-escaped
 * under ^FH (with \ as the escape character, so \ itself is escaped too). Control bytes are
 * escaped the same way so a field can never break the label's structure. */
static int label_zpl_needs_escape(const char *s)
{
	for (; *s; s++)
		if (*s == '^' || *s == '~' || *s == '\\' || (unsigned char)*s < 0x20)
			return 1;
	return 0;
}

static void label_zpl_append_escaped(buf_t *out, const char *s)
{
	char tmp[8];
	for (; *s; s++) {
		if (*s == '^' || *s == '~' || *s == '\\' || (unsigned char)*s < 0x20) {
			snprintf(tmp, sizeof tmp, "\\%02X", (unsigned char)*s);
			buf_append_str(out, tmp);
		} else {
			buf_append_byte(out, (uint8_t)*s);
		}
	}
}

static void label_zpl_append_field(buf_t *out, const char *prefix, const char *value)
{
	if (!label_zpl_needs_escape(prefix) && !label_zpl_needs_escape(value)) {
		buf_append_str(out, "^FD");
		buf_append_str(out, prefix);
		buf_append_str(out, value);
	} else {
		buf_append_str(out, "^FH\\^FD");
		label_zpl_append_escaped(out, prefix);
		label_zpl_append_escaped(out, value);
	}
	buf_append_str(out, "^FS\n");
}

static int label_zpl_check_payload(const char *payload, err_t *e)
{
	if (!payload || !*payload)
		return err_set_msg(e, ERR_CHECK, "ZPL: the QR payload is empty");
	if (label_zpl_needs_escape(payload))
		return err_set_msg(e, ERR_CHECK, "ZPL: QR payload '%s' holds a ^, ~, \\ or control character",
				   payload);
	return 0;
}

static void label_zpl_append_qr(buf_t *out, int x, int y, int mag, enum qr_ecc ecc, const char *payload)
{
	char tmp[96];
	snprintf(tmp, sizeof tmp, "^FO%d,%d^BQN,2,%d\n^FD%cA,", x, y, mag, qr_name_ecc(ecc));
	buf_append_str(out, tmp);
	buf_append_str(out, payload);
	buf_append_str(out, "^FS\n");
}

static int label_zpl_clamp_mag(int mag)
{
	return mag < 1 ? 1 : mag > 10 ? 10 : mag;
}

int label_zpl_render_qr(const char *payload, enum qr_ecc ecc, int mag, buf_t *out, err_t *e)
{
	if (label_zpl_check_payload(payload, e))
		return -1;
	mag = label_zpl_clamp_mag(mag);
	buf_append_str(out, "^XA\n^CI28\n");
	/* ^BQ draws no quiet zone: leave it as margin */
	label_zpl_append_qr(out, QR_QUIET_ZONE * mag, QR_QUIET_ZONE * mag, mag, ecc, payload);
	buf_append_str(out, "^XZ\n");
	return 0;
}

static void label_zpl_append_text(buf_t *out, const struct label_template *t, const struct label_field *f,
				  const char *value)
{
	if (!f->show || !value || !*value)
		return;
	char tmp[128];
	int x = label_layout_convert_mm(t, f->x_mm), y = label_layout_convert_mm(t, f->y_mm);
	/* font 0's height parameter is the character cell, about 1.4 × the capital height */
	int h = label_layout_convert_mm(t, f->height_mm * 1.4);
	int w = label_layout_convert_mm(t, t->width_mm) - x;
	if (h < 10)
		h = 10;
	if (w < 1)
		w = 1;
	/* ^FB keeps a long value inside the label (one line) instead of printing off its edge; a
	 * value of several lines (a 21-digit manual code) is one field per line */
	int line = 0;
	for (const char *s = value; *s; line++) {
		const char *nl = strchr(s, '\n');
		size_t len = nl ? (size_t)(nl - s) : strlen(s);
		char part[256];
		snprintf(part, sizeof part, "%.*s", (int)len, s);
		snprintf(tmp, sizeof tmp, "^FO%d,%d^A0N,%d^FB%d,1,0,L,0", x, y + line * (h * 6 / 5), h, w);
		buf_append_str(out, tmp);
		label_zpl_append_field(out, line == 0 ? f->prefix : "", part);
		s += len + (nl ? 1 : 0);
	}
}

int label_zpl_render_label(const struct label_template *t, const struct label_data *d, buf_t *out, err_t *e)
{
	if (label_zpl_check_payload(d->qr, e))
		return -1;
	char manual[64] = "";
	if (d->manual && label_format_manual(d->manual, t->manual_group, manual, sizeof manual, e))
		return -1;
	/* the printer makes the symbol, but its size comes from the same encoder's version choice */
	struct qr_matrix qr;
	if (qr_encode_text(d->qr, t->ecc, &qr, e))
		return -1;
	int mag = label_zpl_clamp_mag(label_layout_fit_module(t, &qr));
	qr_free_matrix(&qr);
	char tmp[128];
	snprintf(tmp, sizeof tmp, "^XA\n^CI28\n^PW%d\n^LL%d\n^LH0,0\n", label_layout_convert_mm(t, t->width_mm),
		 label_layout_convert_mm(t, t->height_mm));
	buf_append_str(out, tmp);
	label_zpl_append_qr(out, label_layout_convert_mm(t, t->qr_x_mm) + QR_QUIET_ZONE * mag,
			    label_layout_convert_mm(t, t->qr_y_mm) + QR_QUIET_ZONE * mag, mag, t->ecc, d->qr);
	label_zpl_append_text(out, t, &t->product, d->product);
	label_zpl_append_text(out, t, &t->manual, manual);
	label_zpl_append_text(out, t, &t->serial, d->serial);
	buf_append_str(out, "^XZ\n");
	return 0;
}
