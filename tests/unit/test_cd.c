/* Certification declaration: the SDK-made test CD of every mfg vector case decodes and re-encodes
 * byte for byte (TLV and CMS wrapper); gen-cd output verifies with `openssl cms -verify`, carries
 * exactly our TLV, and print-cd reports its fields; tampering and wrong signers are detected. */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "crypto/attest.h"
#include "crypto/cd.h"

static void test_vector_cd_roundtrip(void **state)
{
	(void)state;
	if (!testutil_vectors_dir())
		skip();
	char **cases = testutil_list_cases("mfg");
	int n = 0;
	for (char **c = cases; *c; c++, n++) {
		char *dir = testutil_vector_path("mfg", *c);
		char *path = testutil_join_path(dir, "inputs/CD.der");
		buf_t der = BUF_INIT, tlv = BUF_INIT, cms = BUF_INIT;
		testutil_read_file(path, &der);
		struct cd_cms_parts parts;
		struct cd_content cd;
		err_t e = {0};
		assert_int_equal(cd_split_cms(der.data, der.len, &parts, &e), 0);
		assert_int_equal(cd_decode_tlv(parts.tlv, parts.tlv_len, &cd, &e), 0);
		assert_int_equal(cd.format_version, 1);
		assert_int_equal(cd.product_id_count >= 1, 1);
		assert_int_equal(strlen(cd.certificate_id), 19);
		assert_int_equal(cd_encode_tlv(&cd, &tlv, &e), 0);
		testutil_assert_bytes_equal("CD TLV", tlv.data, tlv.len, parts.tlv, parts.tlv_len);
		assert_int_equal(cd_encode_cms(tlv.data, tlv.len, parts.skid, parts.skid_len, parts.sig,
					       parts.sig_len, &cms, &e), 0);
		testutil_assert_bytes_equal("CD CMS", cms.data, cms.len, der.data, der.len);
		buf_free_data(&der);
		buf_free_data(&tlv);
		buf_free_data(&cms);
		free(path);
		free(dir);
	}
	assert_true(n > 0);
	testutil_free_list(cases);
}

static void test_tlv_all_fields_roundtrip(void **state)
{
	(void)state;
	struct cd_content c, d;
	memset(&c, 0, sizeof c);
	c.format_version = 1;
	c.vendor_id = 0xFFF1;
	for (int i = 0; i < 100; i++)
		c.product_ids[c.product_id_count++] = (uint16_t)(0x8000 + i * 300);
	c.device_type_id = 0x12345678;
	strcpy(c.certificate_id, "CSA00000SWC00000-01");
	c.security_information = 0x100;
	c.version_number = 0x2694;
	c.certification_type = 2;
	c.has_dac_origin = true;
	c.dac_origin_vid = 0xFFF2;
	c.dac_origin_pid = 0x0001;
	c.authorized_paa_count = 2;
	memset(c.authorized_paa[0], 0xAB, 20);
	memset(c.authorized_paa[1], 0xCD, 20);
	buf_t tlv = BUF_INIT;
	err_t e = {0};
	assert_int_equal(cd_encode_tlv(&c, &tlv, &e), 0);
	/* Shortest integers: format version as u8 (0x24), VID as u16 (0x25), device type u32 (0x26). */
	assert_int_equal(tlv.data[0], 0x15);
	assert_memory_equal(tlv.data + 1, "\x24\x00\x01\x25\x01\xF1\xFF\x36\x02", 9);
	assert_int_equal(cd_decode_tlv(tlv.data, tlv.len, &d, &e), 0);
	assert_memory_equal(&c, &d, sizeof c);
	/* Errors name the field. */
	tlv.len--;
	assert_int_equal(cd_decode_tlv(tlv.data, tlv.len, &d, &e), -1);
	strcpy(c.certificate_id, "SHORT");
	buf_t t2 = BUF_INIT;
	assert_int_equal(cd_encode_tlv(&c, &t2, &e), -1);
	assert_non_null(strstr(e.msg, "certificate_id"));
	buf_free_data(&tlv);
	buf_free_data(&t2);
}

static int sh(const char *dir, const char *cmd, buf_t *out)
{
	char *argv[] = {"/bin/sh", "-c", (char *)cmd, NULL};
	buf_t err = BUF_INIT;
	out->len = 0;
	int rc = testutil_run_program(dir, argv, out, &err);
	buf_append_bytes(out, err.data, err.len);
	buf_terminate_str(out);
	buf_free_data(&err);
	return rc;
}

static void test_gen_cd_openssl_verify(void **state)
{
	(void)state;
	char *dir = testutil_make_tmpdir();
	buf_t o = BUF_INIT, r = BUF_INIT;
	char *signer[] = {"x", "attest", "gen-att-cert", "-t", "a", "-c", "CD Signing", "-o", "cd_cert.pem", "-O",
			  "cd_key.pem", "-l", "365", NULL};
	assert_int_equal(testutil_run_espfab(dir, signer, &o, &r), 0);
	char *other[] = {"x", "attest", "gen-att-cert", "-t", "a", "-c", "Other", "-o", "other.pem", "-O",
			 "other_key.pem", "-l", "365", NULL};
	assert_int_equal(testutil_run_espfab(dir, other, &o, &r), 0);
	char *gen[] = {"x", "attest", "gen-cd", "-K", "cd_key.pem", "-C", "cd_cert.pem", "-O", "cd.der", "-f", "1",
		       "-V", "0xFFF1", "-p", "0x8000", "-p", "0x8001", "-d", "0x0016", "-c",
		       "CSA00000SWC00000-01", "-l", "0", "-i", "0", "-n", "2694", "-t", "1", "-o", "FFF2", "-r",
		       "8005", "-a", "other.pem", NULL};
	o.len = r.len = 0;
	int rc = testutil_run_espfab(dir, gen, &o, &r);
	buf_terminate_str(&r);
	if (rc)
		print_error("%s\n", (char *)r.data);
	assert_int_equal(rc, 0);
	buf_t out = BUF_INIT;
	assert_int_equal(sh(dir, "openssl cms -verify -inform DER -in cd.der -binary -noverify "
				 "-certfile cd_cert.pem -out content.bin", &out), 0);
	assert_non_null(strstr((char *)out.data, "Verification successful"));
	/* The signed content is exactly the TLV our encoder makes for these fields. */
	struct cd_content c;
	memset(&c, 0, sizeof c);
	c.format_version = 1;
	c.vendor_id = 0xFFF1;
	c.product_ids[0] = 0x8000;
	c.product_ids[1] = 0x8001;
	c.product_id_count = 2;
	c.device_type_id = 0x16;
	strcpy(c.certificate_id, "CSA00000SWC00000-01");
	c.version_number = 0x2694;
	c.certification_type = 1;
	c.has_dac_origin = true;
	c.dac_origin_vid = 0xFFF2;
	c.dac_origin_pid = 0x8005;
	buf_t want = BUF_INIT, got = BUF_INIT;
	err_t e = {0};
	char *content = testutil_join_path(dir, "content.bin");
	testutil_read_file(content, &got);
	assert_int_equal(cd_encode_tlv(&c, &want, &e), 0);
	/* Up to the authorized PAA list (the SKID of other.pem), the bytes must agree. */
	assert_int_equal(got.len, want.len + 2 + 22 + 1);
	assert_memory_equal(got.data, want.data, want.len - 1);
	assert_memory_equal(got.data + want.len - 1, "\x36\x0b\x10\x14", 4);

	/* print-cd with the signer verifies and lists the fields. */
	char *print[] = {"x", "attest", "print-cd", "--cert", "cd_cert.pem", "cd.der", NULL};
	o.len = 0;
	assert_int_equal(testutil_run_espfab(dir, print, &o, &r), 0);
	buf_terminate_str(&o);
	assert_non_null(strstr((char *)o.data, "vendor_id: 0xFFF1"));
	assert_non_null(strstr((char *)o.data, "product_id_array: 0x8000 0x8001"));
	assert_non_null(strstr((char *)o.data, "version_number: 9876 (0x2694)"));
	assert_non_null(strstr((char *)o.data, "dac_origin_product_id: 0x8005"));
	assert_non_null(strstr((char *)o.data, "signature: verified"));
	/* Another certificate as signer: refused, naming the key identifier. */
	char *wrong[] = {"x", "attest", "print-cd", "--cert", "other.pem", "cd.der", NULL};
	r.len = 0;
	assert_int_equal(testutil_run_espfab(dir, wrong, &o, &r), 1);
	buf_terminate_str(&r);
	assert_non_null(strstr((char *)r.data, "key identifier"));
	/* A flipped content byte breaks the signature for us and for openssl. */
	char *cdp = testutil_join_path(dir, "cd.der");
	buf_t der = BUF_INIT;
	testutil_read_file(cdp, &der);
	struct cd_cms_parts parts;
	assert_int_equal(cd_split_cms(der.data, der.len, &parts, &e), 0);
	der.data[parts.tlv - der.data + 3] ^= 0x01;
	testutil_write_file(cdp, der.data, der.len);
	r.len = 0;
	assert_int_equal(testutil_run_espfab(dir, print, &o, &r), 1);
	buf_terminate_str(&r);
	assert_non_null(strstr((char *)r.data, "signature does not verify"));
	assert_int_not_equal(sh(dir, "openssl cms -verify -inform DER -in cd.der -binary -noverify "
				     "-certfile cd_cert.pem -out /dev/null", &out), 0);
	buf_free_data(&der);
	free(cdp);
	free(content);
	buf_free_data(&want);
	buf_free_data(&got);
	buf_free_data(&out);
	buf_free_data(&o);
	buf_free_data(&r);
	testutil_remove_tree(dir);
	free(dir);
}

/* Randomly mutated and truncated CDs: the parser either accepts or names a defect, never reads
 * out of bounds (the ASan build checks that). Deterministic: a fixed xorshift seed. */
static void test_mutated_cd_robust(void **state)
{
	(void)state;
	if (!testutil_vectors_dir())
		skip();
	char **cases = testutil_list_cases("mfg");
	char *dir = testutil_vector_path("mfg", cases[0]);
	char *path = testutil_join_path(dir, "inputs/CD.der");
	buf_t der = BUF_INIT;
	testutil_read_file(path, &der);
	uint32_t x = 0x12345678;
	int accepted = 0, refused = 0;
	for (int round = 0; round < 20000; round++) {
		uint8_t *m = malloc(der.len);
		memcpy(m, der.data, der.len);
		int flips = 1 + (int)(round % 4);
		for (int k = 0; k < flips; k++) {
			x ^= x << 13;
			x ^= x >> 17;
			x ^= x << 5;
			m[x % der.len] ^= (uint8_t)(1u << ((x >> 8) % 8));
		}
		size_t len = round % 7 == 0 ? x % der.len : der.len;
		struct cd_content c;
		err_t e = {0};
		if (cd_parse_cms(m, len, &c, NULL, &e) == 0) {
			accepted++;
		} else {
			assert_true(strlen(e.msg) > 0);
			refused++;
		}
		free(m);
	}
	assert_true(refused > 0);
	assert_true(accepted > 0); /* flips inside the signature or a value keep the structure */
	buf_free_data(&der);
	free(path);
	free(dir);
	testutil_free_list(cases);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vector_cd_roundtrip),
		cmocka_unit_test(test_tlv_all_fields_roundtrip),
		cmocka_unit_test(test_gen_cd_openssl_verify),
		cmocka_unit_test(test_mutated_cd_robust),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
