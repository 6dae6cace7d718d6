/* fuzz_parttable_csv: the partitions.csv reader with the tool's checks and the binary encoder
 * behind it; a CSV that parses and verifies must encode, and its binary must decode to the
 * same entries. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "formats/parttable.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct parttable t, again;
	static uint8_t bin[PARTTABLE_BIN_SIZE];
	struct parttable_options o;
	buf_t out = BUF_INIT;
	err_t e = {0};
	int is_bin = 0;

	parttable_default_options(&o);
	if (parttable_parse_csv((const char *)data, size, "fuzz.csv", &o, &t, &e) == 0 &&
	    parttable_verify(&t, &o, &e) == 0) {
		if (parttable_encode_binary(&t, &o, bin, &e) == 0) {
			if (parttable_decode_binary(bin, sizeof bin, &o, &again, &e) != 0)
				abort();
			if (again.count != t.count)
				abort();
			for (size_t i = 0; i < t.count; i++)
				if (strcmp(t.entries[i].name, again.entries[i].name) ||
				    t.entries[i].offset != again.entries[i].offset ||
				    t.entries[i].size != again.entries[i].size)
					abort();
		}
		parttable_render_csv(&t, &o, &out);
		buf_free_data(&out);
	}
	if (parttable_convert(data, size, "fuzz.csv", &o, 1, &out, &is_bin, &e) == 0)
		buf_free_data(&out);
	buf_free_data(&out);
	return 0;
}
