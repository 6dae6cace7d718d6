/* fuzz_seccert: the esp_secure_cert reader (TLV and legacy layouts) and the JSON view built from
 * what it decodes, the path `espfab seccert dump` and the inspector take on a partition read
 * from a device. */
#include <stdint.h>
#include <stdlib.h>

#include <jansson.h>

#include "core/buf.h"
#include "formats/seccert.h"
#include "formats/seccert_describe.h"

static void fuzz_decode_image(const uint8_t *data, size_t size, unsigned flags)
{
	struct seccert_image img;
	err_t e = {0};

	if (seccert_parse_image(data, size, flags, &img, &e) == 0) {
		json_t *desc = seccert_describe_image(&img);
		buf_t text = BUF_INIT;

		if (!desc)
			abort(); /* a decoded image always has a view */
		seccert_format_text(desc, &text);
		buf_free_data(&text);
		json_decref(desc);
		for (size_t i = 0; i < img.count; i++) {
			const struct seccert_entry *en = &img.entries[i];

			if (seccert_find_entry(&img, en->type, en->subtype) == NULL)
				abort();
		}
	}
	seccert_image_free(&img);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_decode_image(data, size, 0);
	fuzz_decode_image(data, size, SECCERT_PARSE_ALLOW_TRAILING);
	/* Readback check of the input against itself and a truncated copy: names an offset,
	 * never reads past either buffer. */
	err_t e = {0};
	if (seccert_verify_readback(data, size, data, size, &e) != 0)
		abort();
	if (size > 0)
		(void)seccert_verify_readback(data, size, data, size / 2, &e);
	return 0;
}
