#include "testpki.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <mbedtls/ecp.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/x509_crt.h>

#include "testutil.h"

#include "crypto/attest.h"
#include "core/rng.h"
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

void testpki_write_pai(const char *dir)
{
	mbedtls_pk_context key;
	mbedtls_pk_init(&key);
	assert_int_equal(mbedtls_pk_setup(&key, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY)), 0);
	assert_int_equal(mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1, mbedtls_pk_ec(key), rng_mbedtls_callback,
					     NULL), 0);
	mbedtls_x509write_cert crt;
	mbedtls_x509write_crt_init(&crt);
	mbedtls_x509write_crt_set_version(&crt, MBEDTLS_X509_CRT_VERSION_3);
	mbedtls_x509write_crt_set_md_alg(&crt, MBEDTLS_MD_SHA256);
	mbedtls_x509write_crt_set_subject_key(&crt, &key);
	mbedtls_x509write_crt_set_issuer_key(&crt, &key);
	assert_int_equal(mbedtls_x509write_crt_set_subject_name(&crt, "CN=Test PAI"), 0);
	assert_int_equal(mbedtls_x509write_crt_set_issuer_name(&crt, "CN=Test PAI"), 0);
	mbedtls_mpi serial;
	mbedtls_mpi_init(&serial);
	mbedtls_mpi_lset(&serial, 3);
	assert_int_equal(mbedtls_x509write_crt_set_serial(&crt, &serial), 0);
	assert_int_equal(mbedtls_x509write_crt_set_validity(&crt, "20240101000000", "20991231235959"), 0);
	assert_int_equal(mbedtls_x509write_crt_set_basic_constraints(&crt, 1, 0), 0);
	assert_int_equal(mbedtls_x509write_crt_set_key_usage(&crt, MBEDTLS_X509_KU_KEY_CERT_SIGN |
								 MBEDTLS_X509_KU_CRL_SIGN), 0);
	assert_int_equal(mbedtls_x509write_crt_set_subject_key_identifier(&crt), 0);
	assert_int_equal(mbedtls_x509write_crt_set_authority_key_identifier(&crt), 0);
	unsigned char pem[4096];
	assert_int_equal(mbedtls_x509write_crt_pem(&crt, pem, sizeof pem, rng_mbedtls_callback, NULL), 0);
	char *path = testutil_join_path(dir, "pai_cert.pem");
	testutil_write_file(path, pem, strlen((char *)pem));
	free(path);
	assert_int_equal(mbedtls_pk_write_key_pem(&key, pem, sizeof pem), 0);
	path = testutil_join_path(dir, "pai_key.pem");
	testutil_write_file(path, pem, strlen((char *)pem));
	chmod(path, 0600);
	free(path);
	mbedtls_platform_zeroize(pem, sizeof pem);
	mbedtls_mpi_free(&serial);
	mbedtls_x509write_crt_free(&crt);
	mbedtls_pk_free(&key);
}

void testpki_write_material(const char *dir)
{
	testpki_write_pai(dir);
	testpki_write_cd(dir, "cd.der", 0xFFF1, 0x8000);
}
