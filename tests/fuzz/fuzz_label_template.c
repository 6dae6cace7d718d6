/* fuzz_label_template: the label template reader (INI: sizes, positions, ECC, digit grouping),
 * as a template file given with --template reaches it; a template that loads is laid out. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "label/label_template.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	struct label_template t;
	err_t e = {0};

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	label_template_init_default(&t);
	(void)label_template_parse_text(text, "fuzz.ini", &t, &e);
	free(text);
	return 0;
}
