/* fuzz_attest_cert: Matter attestation certificate parsing (PEM or DER) and the profile and chain
 * checks run on a user's DAC/PAI/PAA files: subject VID/PID attributes (DN and legacy CN forms),
 * key identifiers, per-type profile rules, a chain of the input with itself. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/x509_crt.h>

#include "core/buf.h"
#include "crypto/attest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	mbedtls_x509_crt crt;
	err_t e = {0};

	mbedtls_x509_crt_init(&crt);
	if (attest_parse_cert(data, size, "fuzz", &crt, &e) == 0) {
		buf_t report = BUF_INIT;
		bool has_vid = false, has_pid = false;
		uint16_t vid = 0, pid = 0;
		const uint8_t *id;
		size_t id_len;

		(void)attest_get_subject_ids(&crt, &has_vid, &vid, &has_pid, &pid, &e);
		if (attest_get_skid(&crt, &id, &id_len, &e) == 0 &&
		    (id < crt.raw.p || id + id_len > crt.raw.p + crt.raw.len))
			abort();
		for (int t = ATTEST_PAA; t <= ATTEST_DAC; t++)
			(void)attest_check_profile(&crt, (enum attest_cert_type)t, &report);
		struct attest_chain chain = {.dac = &crt, .pai = &crt, .paa = &crt, .now = 1700000000};
		(void)attest_validate_chain(&chain, &report);
		buf_free_data(&report);
	}
	mbedtls_x509_crt_free(&crt);
	return 0;
}
