#include "label/label_template.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ini.h>

#include "core/buf.h"
#include "core/fileio.h"

void label_template_init_default(struct label_template *t)
{
	memset(t, 0, sizeof *t);
	snprintf(t->source, sizeof t->source, "built-in");
	t->width_mm = 50;
	t->height_mm = 30;
	t->dpi = 300;
	t->qr_x_mm = 1;
	t->qr_y_mm = 3;
	t->qr_size_mm = 24;
	t->ecc = QR_ECC_DEFAULT;
	t->product = (struct label_field){1, 25, 5, 1.8, ""};
	t->manual = (struct label_field){1, 25, 12, 1.8, ""};
	t->serial = (struct label_field){1, 25, 19, 1.4, "S/N "};
	snprintf(t->manual_group, sizeof t->manual_group, "auto");
}

struct label_template_parse {
	struct label_template *t;
	int failed;
	char msg[400];
};

static int label_template_fail(struct label_template_parse *p, const char *fmt, const char *a, const char *b,
			       const char *c)
{
	if (!p->failed)
		snprintf(p->msg, sizeof p->msg, fmt, a, b, c);
	p->failed = 1;
	return 0; /* tells inih this line is in error; it reports the first such line */
}

static int label_template_number(struct label_template_parse *p, const char *section, const char *key,
				 const char *value, double max, double *out)
{
	char *end = NULL;
	errno = 0;
	double v = strtod(value, &end);
	if (errno || end == value || *end || !isfinite(v) || v < 0 || v > max)
		return label_template_fail(p, "[%s] %s = '%s' is not a number in range", section, key, value);
	*out = v;
	return 1;
}

static int label_template_bool(struct label_template_parse *p, const char *section, const char *key,
			       const char *value, int *out)
{
	if (!strcmp(value, "yes") || !strcmp(value, "true") || !strcmp(value, "1")) {
		*out = 1;
		return 1;
	}
	if (!strcmp(value, "no") || !strcmp(value, "false") || !strcmp(value, "0")) {
		*out = 0;
		return 1;
	}
	return label_template_fail(p, "[%s] %s = '%s' is not yes or no", section, key, value);
}

static int label_template_check_group(const char *g)
{
	if (!strcmp(g, "auto") || !strcmp(g, "none"))
		return 1;
	/* digits 1..9 separated by '-' (same line) or '/' (next line) */
	int expect_digit = 1;
	for (const char *s = g; *s; s++) {
		if (expect_digit && *s >= '1' && *s <= '9')
			expect_digit = 0;
		else if (!expect_digit && (*s == '-' || *s == '/'))
			expect_digit = 1;
		else
			return 0;
	}
	return !expect_digit;
}

static int label_template_field(struct label_template_parse *p, struct label_field *f, const char *section,
				const char *key, const char *value)
{
	if (!strcmp(key, "show"))
		return label_template_bool(p, section, key, value, &f->show);
	if (!strcmp(key, "x_mm"))
		return label_template_number(p, section, key, value, 1000, &f->x_mm);
	if (!strcmp(key, "y_mm"))
		return label_template_number(p, section, key, value, 1000, &f->y_mm);
	if (!strcmp(key, "height_mm"))
		return label_template_number(p, section, key, value, 100, &f->height_mm);
	if (!strcmp(key, "prefix")) {
		/* quotes keep trailing blanks, which INI parsing strips */
		size_t n = strlen(value);
		if (n >= 2 && value[0] == '"' && value[n - 1] == '"') {
			value++;
			n -= 2;
		}
		if (n >= sizeof f->prefix)
			return label_template_fail(p, "[%s] %s = '%s' is too long", section, key, value);
		memcpy(f->prefix, value, n);
		f->prefix[n] = 0;
		return 1;
	}
	return label_template_fail(p, "unknown key '%s' in [%s]%s", key, section, "");
}

static int label_template_handler(void *user, const char *section, const char *key, const char *value)
{
	struct label_template_parse *p = user;
	struct label_template *t = p->t;
	double v;
	if (!key) /* a section header alone; checked with its keys */
		return 1;
	if (!strcmp(section, "label")) {
		if (!strcmp(key, "width_mm"))
			return label_template_number(p, section, key, value, 1000, &t->width_mm);
		if (!strcmp(key, "height_mm"))
			return label_template_number(p, section, key, value, 1000, &t->height_mm);
		if (!strcmp(key, "dpi")) {
			if (!label_template_number(p, section, key, value, 2400, &v))
				return 0;
			if (v < 72 || v != floor(v))
				return label_template_fail(p, "[%s] %s = '%s' must be a whole number from 72 to 2400",
							   section, key, value);
			t->dpi = (unsigned)v;
			return 1;
		}
	} else if (!strcmp(section, "qr")) {
		if (!strcmp(key, "x_mm"))
			return label_template_number(p, section, key, value, 1000, &t->qr_x_mm);
		if (!strcmp(key, "y_mm"))
			return label_template_number(p, section, key, value, 1000, &t->qr_y_mm);
		if (!strcmp(key, "size_mm"))
			return label_template_number(p, section, key, value, 1000, &t->qr_size_mm);
		if (!strcmp(key, "ecc")) {
			err_t e = {0};
			if (qr_parse_ecc(value, &t->ecc, &e))
				return label_template_fail(p, "[%s] %s = '%s' is not one of L, M, Q, H", section, key,
							   value);
			return 1;
		}
	} else if (!strcmp(section, "product")) {
		return label_template_field(p, &t->product, section, key, value);
	} else if (!strcmp(section, "serial")) {
		return label_template_field(p, &t->serial, section, key, value);
	} else if (!strcmp(section, "manual")) {
		if (!strcmp(key, "group")) {
			if (strlen(value) >= sizeof t->manual_group || !label_template_check_group(value))
				return label_template_fail(p, "[%s] %s = '%s' is not auto, none or digit groups like 4-3-4 or 4-3-4/4-3-2-1",
							   section, key, value);
			snprintf(t->manual_group, sizeof t->manual_group, "%s", value);
			return 1;
		}
		return label_template_field(p, &t->manual, section, key, value);
	} else {
		return label_template_fail(p, "unknown section [%s] (key '%s')%s", section, key, "");
	}
	return label_template_fail(p, "unknown key '%s' in [%s]%s", key, section, "");
}

static int label_template_check_layout(const struct label_template *t, const char *name, err_t *e)
{
	if (t->width_mm <= 0 || t->height_mm <= 0)
		return err_set_msg(e, ERR_CHECK, "label template %s: the label size must not be zero", name);
	if (t->qr_size_mm <= 0)
		return err_set_msg(e, ERR_CHECK, "label template %s: [qr] size_mm must not be zero", name);
	if (t->qr_x_mm + t->qr_size_mm > t->width_mm + 1e-9 || t->qr_y_mm + t->qr_size_mm > t->height_mm + 1e-9)
		return err_set_msg(e, ERR_CHECK,
				   "label template %s: the QR symbol (%.1f mm at %.1f,%.1f) does not fit the %.1f x %.1f mm label",
				   name, t->qr_size_mm, t->qr_x_mm, t->qr_y_mm, t->width_mm, t->height_mm);
	return 0;
}

int label_template_parse_text(const char *text, const char *name, struct label_template *t, err_t *e)
{
	label_template_init_default(t);
	snprintf(t->source, sizeof t->source, "%s", name);
	struct label_template_parse p = {t, 0, ""};
	int rc = ini_parse_string(text, label_template_handler, &p);
	if (rc > 0) {
		if (p.failed)
			return err_set_msg(e, ERR_CHECK, "label template %s line %d: %s", name, rc, p.msg);
		return err_set_msg(e, ERR_CHECK, "label template %s line %d: not a [section] or key = value line",
				   name, rc);
	}
	if (rc < 0)
		return err_set_msg(e, ERR_CHECK, "label template %s: cannot be parsed (out of memory)", name);
	return label_template_check_layout(t, name, e);
}

int label_template_load_file(const char *path, struct label_template *t, err_t *e)
{
	buf_t b = BUF_INIT;
	if (fileio_read_file(path, &b, e)) {
		buf_free_data(&b);
		return err_prepend_context(e, "label template");
	}
	int rc = label_template_parse_text(buf_terminate_str(&b), path, t, e);
	buf_free_data(&b);
	return rc;
}
