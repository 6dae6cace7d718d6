#include "testpki.h"

#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#include "crypto/attest.h"
#include "crypto/cd.h"

void testpki_write_cd(const char *dir, const char *name, uint16_t vid, uint16_t pid)
{
	err_t e = {0};
	mbedtls_pk_context key;
	mbedtls_pk_init(&key);
	assert_int_equal(attest_generate_key(&key, &e), 0);
	struct attest_cert_params cp = {.type = ATTEST_PAA, .subject_cn = "Test CD signer",
					.valid_from = 1704067200, .lifetime_days = 3650};
	buf_t der = BUF_INIT, cd = BUF_INIT;
	if (attest_make_cert(&cp, &key, NULL, NULL, &der, &e))
		fail_msg("CD signer: %s", e.msg);
	mbedtls_x509_crt signer;
	mbedtls_x509_crt_init(&signer);
	assert_int_equal(mbedtls_x509_crt_parse_der(&signer, der.data, der.len), 0);
	struct cd_content c;
	memset(&c, 0, sizeof c);
	c.format_version = 1;
	c.vendor_id = vid;
	c.product_ids[0] = pid;
	c.product_id_count = 1;
	c.device_type_id = 0x0100;
	strcpy(c.certificate_id, "ZIG20141ZB330001-24");
	c.version_number = 1;
	if (cd_generate(&c, &key, &signer, &cd, &e))
		fail_msg("CD: %s", e.msg);
	char *path = testutil_join_path(dir, name);
	testutil_write_file(path, cd.data, cd.len);
	free(path);
	buf_free_data(&cd);
	buf_free_data(&der);
	mbedtls_x509_crt_free(&signer);
	mbedtls_pk_free(&key);
}
