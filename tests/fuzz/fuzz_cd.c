/* fuzz_cd: the Matter Certification Declaration readers: the CMS SignedData wrapper (split and
 * parse, unsigned check) and the content TLV, as a CD file given to `espfab attest`, `mfg` or a
 * profile reaches them. Decoded content must re-encode, and re-decode to the same bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "crypto/cd.h"

static void fuzz_check_content(const struct cd_content *c)
{
	static struct cd_content again;
	struct attest_cd_facts facts;
	buf_t a = BUF_INIT, b = BUF_INIT, text = BUF_INIT;
	err_t e = {0};

	cd_get_facts(c, &facts);
	if (facts.product_id_count > CD_MAX_PIDS || facts.authorized_paa_count > CD_MAX_PAA)
		abort();
	cd_format_text(c, &text);
	buf_free_data(&text);
	if (cd_encode_tlv(c, &a, &e) == 0) {
		if (cd_decode_tlv(a.data, a.len, &again, &e) != 0)
			abort(); /* what the encoder writes, the decoder reads */
		if (cd_encode_tlv(&again, &b, &e) != 0)
			abort();
		if (a.len != b.len || memcmp(a.data, b.data, a.len) != 0)
			abort();
	}
	buf_free_data(&a);
	buf_free_data(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct cd_content c;
	struct cd_cms_parts parts;
	err_t e = {0};

	memset(&c, 0, sizeof c);
	if (cd_parse_cms(data, size, &c, NULL, &e) == 0)
		fuzz_check_content(&c);
	if (cd_split_cms(data, size, &parts, &e) == 0) {
		if (parts.tlv < data || parts.tlv + parts.tlv_len > data + size)
			abort();
		if (parts.sig_len && (parts.sig < data || parts.sig + parts.sig_len > data + size))
			abort();
	}
	memset(&c, 0, sizeof c);
	if (cd_decode_tlv(data, size, &c, &e) == 0)
		fuzz_check_content(&c);
	return 0;
}
