/* fuzz_parttable_bin: the binary partition-table decoder, as `espfab parttable`, the inspector and
 * the engine's readback see a table read from flash; a table that decodes and verifies must
 * encode back to a binary that decodes to the same entries. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "formats/parttable.h"

static void fuzz_check_roundtrip(const struct parttable *t, const struct parttable_options *o)
{
	static uint8_t bin[PARTTABLE_BIN_SIZE];
	static struct parttable again;
	err_t e = {0};

	if (parttable_encode_binary(t, o, bin, &e) != 0)
		return; /* the encoder has checks of its own (e.g. names) */
	if (parttable_decode_binary(bin, sizeof bin, o, &again, &e) != 0)
		abort();
	if (again.count != t->count)
		abort();
	for (size_t i = 0; i < t->count; i++) {
		const struct parttable_entry *a = &t->entries[i], *b = &again.entries[i];

		if (strcmp(a->name, b->name) || a->type != b->type || a->subtype != b->subtype ||
		    a->offset != b->offset || a->size != b->size || a->flags != b->flags)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct parttable t;
	struct parttable_options o;
	buf_t out = BUF_INIT;
	err_t e = {0};
	int is_bin = 0;

	parttable_default_options(&o);
	(void)parttable_is_binary(data, size);
	if (parttable_decode_binary(data, size, &o, &t, &e) == 0) {
		parttable_render_json(&t, &out);
		buf_free_data(&out);
		parttable_render_csv(&t, &o, &out);
		buf_free_data(&out);
		if (parttable_verify(&t, &o, &e) == 0)
			fuzz_check_roundtrip(&t, &o);
		(void)parttable_find_by_name(&t, "nvs");
		(void)parttable_find_by_type(&t, PARTTABLE_TYPE_DATA, -1, NULL);
	}
	/* The CLI's path: detect, parse, verify, render. */
	if (parttable_convert(data, size, "fuzz", &o, 0, &out, &is_bin, &e) == 0)
		buf_free_data(&out);
	buf_free_data(&out);
	return 0;
}
