/* fuzz_payload: the Matter onboarding-code parser (QR string with TLV extension data, 11/21-digit
 * manual code) and base38, as `espfab payload parse` sees a scanned or typed code. A code that
 * parses must pass the field checks and encode again. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "formats/payload.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	struct payload p;
	uint8_t raw[PAYLOAD_QR_MAX];
	size_t raw_len = 0;
	err_t e = {0};
	int is_qr = 0;

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	memset(&p, 0, sizeof p);
	if (payload_parse_string(s, &p, &is_qr, &e) == 0 && is_qr) {
		char qr[PAYLOAD_QR_MAX];
		char manual[PAYLOAD_MANUAL_MAX];

		if (payload_check_fields(&p, &e) != 0)
			abort();
		(void)payload_encode_qr(&p, qr, sizeof qr, &e);
		(void)payload_encode_manual(&p, 1, manual, &e);
	}
	memset(&p, 0, sizeof p);
	(void)payload_parse_qr(s, &p, &e);
	memset(&p, 0, sizeof p);
	if (payload_parse_manual(s, &p, &e) == 0) {
		char grouped[PAYLOAD_MANUAL_GROUPED_MAX];

		(void)payload_group_manual(s, grouped, &e);
	}
	(void)payload_decode_base38(s, raw, sizeof raw, &raw_len, &e);
	if (raw_len > sizeof raw)
		abort();
	free(s);
	return 0;
}
