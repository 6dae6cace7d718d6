/* label_template: the layout of a printed device label, read from an INI file
 * (assets/labels/default.ini documents every key): label size and resolution, where the QR
 * symbol goes and how big, and where the product name, manual pairing code and serial number
 * go. Unknown sections or keys are errors naming the line, so a typo cannot silently print a
 * wrong label on a whole batch. */
#ifndef ESPFAB_LABEL_TEMPLATE_H
#define ESPFAB_LABEL_TEMPLATE_H

#include "core/err.h"
#include "label/qr.h"

struct label_field {
	int show;
	double x_mm, y_mm;  /* top-left of the text */
	double height_mm;   /* height of a capital letter */
	char prefix[64];    /* put in front of the value, e.g. "S/N " */
};

struct label_template {
	char source[256];   /* the file it came from, or "built-in" */
	double width_mm, height_mm;
	unsigned dpi;
	double qr_x_mm, qr_y_mm;
	double qr_size_mm;  /* side of the symbol INCLUDING its quiet zone */
	enum qr_ecc ecc;
	struct label_field product, manual, serial;
	/* manual code digit groups: "auto" (as esp-matter-mfg-tool writes them: 4-3-4 for 11 digits,
	 * 4-3-4/4-3-2-1 on two lines for 21), "none", or a pattern such as "4-3-4" ('/' = new line) */
	char manual_group[32];
};

/* The layout of assets/labels/default.ini, built in so espfab works without its assets. */
void label_template_init_default(struct label_template *t);
/* Starts from the defaults and applies the file's keys. Errors name the file and line. */
int label_template_load_file(const char *path, struct label_template *t, err_t *e);
/* Same for INI text held in memory; name is used in messages. */
int label_template_parse_text(const char *text, const char *name, struct label_template *t, err_t *e);

#endif
