/* fuzz_pytext: the Python-compatible text readers the CLI and CSV readers share: base64 as
 * base64.b64decode (lenient) and integers as int(s, base). Decoded base64 never exceeds 3/4 of
 * the input; an accepted integer re-parses from its decimal text to the same value. */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/pyb64.h"
#include "core/pyint.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	buf_t out = BUF_INIT;
	err_t e = {0};
	char *s = malloc(size + 1);

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (pyb64_decode(s, size, &out, &e) == 0 && out.len > size / 4 * 3 + 3)
		abort();
	buf_free_data(&out);

	static const int bases[] = {0, 2, 8, 10, 16};
	for (size_t i = 0; i < sizeof bases / sizeof bases[0]; i++) {
		int64_t v, again;

		if (pyint_parse(s, bases[i], &v) == 0) {
			char dec[32];

			snprintf(dec, sizeof dec, "%" PRId64, v);
			if (pyint_parse(dec, 10, &again) != 0 || again != v)
				abort();
		}
	}
	free(s);
	return 0;
}
