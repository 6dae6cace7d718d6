/* Attestation certificates: a PAA → PAI → DAC chain generated through `espfab attest
 * gen-att-cert`, checked by openssl (x509 -text, verify -partial_chain) and field by field by
 * walking the DER here (not through the module's own parser); validate-att-cert on good and
 * broken chains (VID mismatch, key mismatch, expired PAI, CD for another PID). */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <mbedtls/asn1.h>
#include <mbedtls/pem.h>
#include <mbedtls/sha1.h>

#include "core/err.h"
#include "crypto/attest.h"

static char *g_dir;

static int run_in_dir(char *const *argv, buf_t *out, buf_t *err)
{
	out->len = err->len = 0;
	int rc = testutil_run_espfab(g_dir, argv, out, err);
	buf_terminate_str(out);
	buf_terminate_str(err);
	return rc;
}

static void run_ok(char *const *argv)
{
	buf_t o = BUF_INIT, r = BUF_INIT;
	int rc = run_in_dir(argv, &o, &r);
	if (rc)
		print_error("%s failed (%d): %s%s\n", argv[2], rc, (char *)o.data, (char *)r.data);
	assert_int_equal(rc, 0);
	buf_free_data(&o);
	buf_free_data(&r);
}

static int run_shell(const char *cmd, buf_t *out)
{
	char *argv[] = {"/bin/sh", "-c", (char *)cmd, NULL};
	buf_t err = BUF_INIT;
	out->len = 0;
	int rc = testutil_run_program(g_dir, argv, out, &err);
	buf_append_bytes(out, err.data, err.len);
	buf_terminate_str(out);
	buf_free_data(&err);
	return rc;
}

/* The standard chain every test starts from. */
static int setup_chain(void **state)
{
	(void)state;
	g_dir = testutil_make_tmpdir();
	char *paa[] = {"x", "attest", "gen-att-cert", "-t", "a", "-c", "Matter Test PAA", "-o", "paa.pem",
		       "-O", "paa_key.pem", "-l", "4294967295", "-f", "2024-01-01", NULL};
	run_ok(paa);
	char *pai[] = {"x", "attest", "gen-att-cert", "--type", "i", "--subject-cn", "Matter Test PAI",
		       "--subject-vid", "0xFFF2", "--subject-pid", "8001", "--ca-cert", "paa.pem", "--ca-key",
		       "paa_key.pem", "--out", "pai.der", "--out-key", "pai_key.der", "--lifetime", "7300",
		       "--valid-from", "2024-06-01 12:00:00", NULL};
	run_ok(pai);
	char *dac[] = {"x", "attest", "gen-att-cert", "-t", "d", "-c", "0a0b0c0d-0000-4000-8000-000000000001",
		       "-V", "FFF2", "-P", "8001", "-C", "pai.der", "-K", "pai_key.der", "-o", "dac.pem", "-O",
		       "dac_key.pem", "-l", "36500", "-f", "2024-07-01", NULL};
	run_ok(dac);
	return 0;
}

static int teardown_chain(void **state)
{
	(void)state;
	testutil_remove_tree(g_dir);
	free(g_dir);
	return 0;
}

static void load_der(const char *name, buf_t *der)
{
	char *path = testutil_join_path(g_dir, name);
	buf_t raw = BUF_INIT;
	testutil_read_file(path, &raw);
	free(path);
	if (raw.len && raw.data[0] == 0x30) {
		*der = raw;
		return;
	}
	buf_terminate_str(&raw);
	mbedtls_pem_context pem;
	mbedtls_pem_init(&pem);
	size_t used;
	assert_int_equal(mbedtls_pem_read_buffer(&pem, "-----BEGIN CERTIFICATE-----", "-----END CERTIFICATE-----",
						 raw.data, NULL, 0, &used), 0);
	der->len = 0;
	buf_append_bytes(der, pem.buf, pem.buflen);
	mbedtls_pem_free(&pem);
	buf_free_data(&raw);
}

/* ---- a small independent DER walker ---- */

struct tlv {
	int tag;
	const unsigned char *p; /* content */
	size_t len;
	const unsigned char *next;
};

static struct tlv der_read(const unsigned char *p, const unsigned char *end)
{
	struct tlv t;
	assert_true(p + 2 <= end);
	t.tag = p[0];
	size_t len = p[1], hl = 2;
	if (len & 0x80) {
		size_t n = len & 0x7F;
		assert_true(n >= 1 && n <= 2);
		len = 0;
		for (size_t i = 0; i < n; i++)
			len = (len << 8) | p[2 + i];
		hl += n;
	}
	t.p = p + hl;
	t.len = len;
	t.next = t.p + len;
	assert_true(t.next <= end);
	return t;
}

static const unsigned char OID_VID[] = {0x2B, 0x06, 0x01, 0x04, 0x01, 0x82, 0xA2, 0x7C, 0x02, 0x01};
static const unsigned char OID_PID[] = {0x2B, 0x06, 0x01, 0x04, 0x01, 0x82, 0xA2, 0x7C, 0x02, 0x02};
static const unsigned char OID_CN[] = {0x55, 0x04, 0x03};
static const unsigned char OID_ECDSA_SHA256[] = {0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x04, 0x03, 0x02};

struct cert_fields {
	const unsigned char *serial;
	size_t serial_len;
	char cn[80];
	char vid[8], pid[8];
	int vid_tag, pid_tag;
	int rdn_order[4]; /* 1 CN, 2 VID, 3 PID */
	int rdn_count;
	int not_after_tag;
	char not_after[20];
	const unsigned char *spk; /* EC point */
	size_t spk_len;
	int bc_crit, bc_ca, bc_pathlen, bc_present;
	int ku_crit, ku_present;
	unsigned char ku_bits[4];
	size_t ku_len;
	unsigned char skid[32], akid[32];
	size_t skid_len, akid_len;
	int ext_order[4]; /* 19 bc, 15 ku, 14 skid, 35 akid */
	int ext_count;
};

static void parse_alg_no_params(struct tlv a)
{
	assert_int_equal(a.tag, 0x30);
	struct tlv o = der_read(a.p, a.p + a.len);
	assert_int_equal(o.tag, 0x06);
	assert_int_equal(o.len, sizeof OID_ECDSA_SHA256);
	assert_memory_equal(o.p, OID_ECDSA_SHA256, o.len);
	assert_ptr_equal(o.next, a.p + a.len); /* parameters absent (RFC 5758) */
}

static void parse_cert(const buf_t *der, struct cert_fields *f)
{
	memset(f, 0, sizeof *f);
	f->bc_pathlen = -1;
	const unsigned char *end = der->data + der->len;
	struct tlv cert = der_read(der->data, end);
	assert_int_equal(cert.tag, 0x30);
	assert_ptr_equal(cert.next, end);
	struct tlv tbs = der_read(cert.p, cert.next);
	struct tlv sigalg = der_read(tbs.next, cert.next);
	parse_alg_no_params(sigalg);
	const unsigned char *te = tbs.p + tbs.len;
	struct tlv ver = der_read(tbs.p, te);
	assert_int_equal(ver.tag, 0xA0);
	assert_int_equal(ver.p[2], 2); /* v3 */
	struct tlv serial = der_read(ver.next, te);
	assert_int_equal(serial.tag, 0x02);
	f->serial = serial.p;
	f->serial_len = serial.len;
	struct tlv alg = der_read(serial.next, te);
	parse_alg_no_params(alg);
	struct tlv issuer = der_read(alg.next, te);
	struct tlv validity = der_read(issuer.next, te);
	struct tlv nb = der_read(validity.p, validity.next);
	struct tlv na = der_read(nb.next, validity.next);
	f->not_after_tag = na.tag;
	memcpy(f->not_after, na.p, na.len < 19 ? na.len : 19);
	struct tlv subject = der_read(validity.next, te);
	for (const unsigned char *p = subject.p; p < subject.next;) {
		struct tlv set = der_read(p, subject.next);
		assert_int_equal(set.tag, 0x31);
		struct tlv atv = der_read(set.p, set.next);
		struct tlv oid = der_read(atv.p, atv.next);
		struct tlv val = der_read(oid.next, atv.next);
		int which = 0;
		if (oid.len == sizeof OID_CN && !memcmp(oid.p, OID_CN, oid.len)) {
			which = 1;
			assert_int_equal(val.tag, 0x0C);
			memcpy(f->cn, val.p, val.len);
		} else if (oid.len == sizeof OID_VID && !memcmp(oid.p, OID_VID, oid.len)) {
			which = 2;
			f->vid_tag = val.tag;
			memcpy(f->vid, val.p, val.len < 7 ? val.len : 7);
		} else if (oid.len == sizeof OID_PID && !memcmp(oid.p, OID_PID, oid.len)) {
			which = 3;
			f->pid_tag = val.tag;
			memcpy(f->pid, val.p, val.len < 7 ? val.len : 7);
		}
		f->rdn_order[f->rdn_count++] = which;
		p = set.next;
	}
	struct tlv spki = der_read(subject.next, te);
	struct tlv spki_alg = der_read(spki.p, spki.next);
	struct tlv bits = der_read(spki_alg.next, spki.next);
	assert_int_equal(bits.tag, 0x03);
	f->spk = bits.p + 1;
	f->spk_len = bits.len - 1;
	struct tlv exts = der_read(spki.next, te);
	assert_int_equal(exts.tag, 0xA3);
	struct tlv seq = der_read(exts.p, exts.next);
	for (const unsigned char *p = seq.p; p < seq.next;) {
		struct tlv ext = der_read(p, seq.next);
		struct tlv oid = der_read(ext.p, ext.next);
		int critical = 0;
		struct tlv v = der_read(oid.next, ext.next);
		if (v.tag == 0x01) {
			critical = v.p[0] == 0xFF;
			v = der_read(v.next, ext.next);
		}
		assert_int_equal(v.tag, 0x04);
		assert_int_equal(oid.len, 3);
		int id = oid.p[2];
		f->ext_order[f->ext_count++] = id;
		struct tlv in = der_read(v.p, v.next);
		if (id == 19) {
			f->bc_present = 1;
			f->bc_crit = critical;
			const unsigned char *q = in.p;
			if (q < in.next && q[0] == 0x01) {
				struct tlv b = der_read(q, in.next);
				f->bc_ca = b.p[0] == 0xFF;
				q = b.next;
			}
			if (q < in.next) {
				struct tlv n = der_read(q, in.next);
				assert_int_equal(n.tag, 0x02);
				f->bc_pathlen = n.p[0];
			}
		} else if (id == 15) {
			f->ku_present = 1;
			f->ku_crit = critical;
			assert_int_equal(in.tag, 0x03);
			f->ku_len = in.len;
			memcpy(f->ku_bits, in.p, in.len);
		} else if (id == 14) {
			assert_int_equal(in.tag, 0x04);
			f->skid_len = in.len;
			memcpy(f->skid, in.p, in.len);
		} else if (id == 35) {
			struct tlv k = der_read(in.p, in.next);
			assert_int_equal(k.tag, 0x80);
			f->akid_len = k.len;
			memcpy(f->akid, k.p, k.len);
		}
		p = ext.next;
	}
}

static void assert_common(const struct cert_fields *f)
{
	assert_true(f->serial_len >= 1 && f->serial_len <= 20);
	assert_int_equal(f->serial[0] & 0x80, 0);
	assert_int_equal(f->spk_len, 65);
	assert_int_equal(f->spk[0], 0x04);
	unsigned char sha[20];
	mbedtls_sha1_ret(f->spk, f->spk_len, sha);
	assert_int_equal(f->skid_len, 20);
	assert_memory_equal(f->skid, sha, 20);
	assert_int_equal(f->akid_len, 20);
	assert_true(f->bc_present && f->bc_crit);
	assert_true(f->ku_present && f->ku_crit);
	int order[] = {19, 15, 14, 35};
	assert_int_equal(f->ext_count, 4);
	assert_memory_equal(f->ext_order, order, sizeof order);
}

static void test_profile_fields(void **state)
{
	(void)state;
	buf_t paa = BUF_INIT, pai = BUF_INIT, dac = BUF_INIT;
	struct cert_fields fa, fi, fd;
	load_der("paa.pem", &paa);
	load_der("pai.der", &pai);
	load_der("dac.pem", &dac);
	parse_cert(&paa, &fa);
	parse_cert(&pai, &fi);
	parse_cert(&dac, &fd);
	assert_common(&fa);
	assert_common(&fi);
	assert_common(&fd);

	/* PAA: self-signed, CA with pathlen 1, keyCertSign|cRLSign, no VID/PID, no expiry. */
	assert_string_equal(fa.cn, "Matter Test PAA");
	assert_int_equal(fa.rdn_count, 1);
	assert_true(fa.bc_ca);
	assert_int_equal(fa.bc_pathlen, 1);
	assert_int_equal(fa.ku_len, 2);
	assert_int_equal(fa.ku_bits[0], 1);    /* one unused bit */
	assert_int_equal(fa.ku_bits[1], 0x06); /* keyCertSign (5) + cRLSign (6) */
	assert_memory_equal(fa.akid, fa.skid, 20);
	assert_int_equal(fa.not_after_tag, 0x18); /* GeneralizedTime */
	assert_string_equal(fa.not_after, "99991231235959Z");

	/* PAI: CN, VID, PID in that order, both UTF8String of 4 uppercase hex digits. */
	int order3[] = {1, 2, 3};
	assert_int_equal(fi.rdn_count, 3);
	assert_memory_equal(fi.rdn_order, order3, sizeof order3);
	assert_int_equal(fi.vid_tag, 0x0C);
	assert_string_equal(fi.vid, "FFF2");
	assert_int_equal(fi.pid_tag, 0x0C);
	assert_string_equal(fi.pid, "8001");
	assert_true(fi.bc_ca);
	assert_int_equal(fi.bc_pathlen, 0);
	assert_int_equal(fi.ku_bits[1], 0x06);
	assert_memory_equal(fi.akid, fa.skid, 20);
	assert_int_equal(fi.not_after_tag, 0x17); /* UTCTime before 2050 */
	/* 2024-06-01 12:00:00 + 7300 days - 1 s = 2044-05-27 11:59:59 */
	assert_string_equal(fi.not_after, "440527115959Z");

	/* DAC: cA FALSE encoded as an empty SEQUENCE, digitalSignature only. */
	assert_string_equal(fd.cn, "0a0b0c0d-0000-4000-8000-000000000001");
	assert_memory_equal(fd.rdn_order, order3, sizeof order3);
	assert_string_equal(fd.vid, "FFF2");
	assert_string_equal(fd.pid, "8001");
	assert_false(fd.bc_ca);
	assert_int_equal(fd.bc_pathlen, -1);
	assert_int_equal(fd.ku_len, 2);
	assert_int_equal(fd.ku_bits[0], 7);
	assert_int_equal(fd.ku_bits[1], 0x80);
	assert_memory_equal(fd.akid, fi.skid, 20);
	assert_int_equal(fd.not_after_tag, 0x18); /* 2124 needs GeneralizedTime */

	buf_free_data(&paa);
	buf_free_data(&pai);
	buf_free_data(&dac);
}

static void test_openssl_accepts_chain(void **state)
{
	(void)state;
	buf_t out = BUF_INIT;
	assert_int_equal(run_shell("openssl x509 -in dac.pem -text -noout", &out), 0);
	assert_non_null(strstr((char *)out.data, "CA:FALSE"));
	assert_non_null(strstr((char *)out.data, "Digital Signature"));
	assert_non_null(strstr((char *)out.data, "1.3.6.1.4.1.37244.2.1 = FFF2"));
	assert_int_equal(run_shell("openssl x509 -inform DER -in pai.der -text -noout", &out), 0);
	assert_non_null(strstr((char *)out.data, "CA:TRUE, pathlen:0"));
	assert_non_null(strstr((char *)out.data, "Certificate Sign, CRL Sign"));
	assert_int_equal(run_shell("openssl x509 -inform DER -in pai.der -out pai.pem && "
				   "openssl verify -partial_chain -CAfile paa.pem -untrusted pai.pem dac.pem", &out), 0);
	assert_non_null(strstr((char *)out.data, "dac.pem: OK"));
	/* PAI as the trust anchor alone (partial chain) also verifies. */
	assert_int_equal(run_shell("openssl verify -partial_chain -CAfile pai.pem dac.pem", &out), 0);
	/* The DAC key file is the key of the DAC certificate. */
	assert_int_equal(run_shell("test \"$(openssl pkey -in dac_key.pem -pubout)\" = "
				   "\"$(openssl x509 -in dac.pem -pubkey -noout)\"", &out), 0);
	buf_free_data(&out);
}

static void test_key_files_private(void **state)
{
	(void)state;
	const char *keys[] = {"paa_key.pem", "pai_key.der", "dac_key.pem"};
	for (size_t i = 0; i < 3; i++) {
		char *p = testutil_join_path(g_dir, keys[i]);
		struct stat st;
		assert_int_equal(stat(p, &st), 0);
		assert_int_equal(st.st_mode & 0777, 0600);
		free(p);
	}
	buf_t o = BUF_INIT, r = BUF_INIT;
	/* Refuses to overwrite an existing output, like the Matter tool. */
	char *again[] = {"x", "attest", "gen-att-cert", "-t", "a", "-c", "X", "-o", "paa.pem", "-O", "k2.pem",
			 "-l", "10", NULL};
	assert_int_equal(run_in_dir(again, &o, &r), 2);
	assert_non_null(strstr((char *)r.data, "paa.pem"));
	/* A DAC needs VID and PID; a PAA must not get a PID. */
	char *nopid[] = {"x", "attest", "gen-att-cert", "-t", "d", "-c", "X", "-V", "FFF2", "-C", "pai.der",
			 "-K", "pai_key.der", "-o", "d2.pem", "-O", "d2k.pem", "-l", "10", NULL};
	assert_int_equal(run_in_dir(nopid, &o, &r), 2);
	assert_non_null(strstr((char *)r.data, "PID"));
	buf_free_data(&o);
	buf_free_data(&r);
}

static int validate(char *const *argv, buf_t *out)
{
	buf_t err = BUF_INIT;
	int rc = run_in_dir(argv, out, &err);
	buf_free_data(&err);
	return rc;
}

static void test_validate_good_chain(void **state)
{
	(void)state;
	buf_t out = BUF_INIT;
	char *argv[] = {"x", "attest", "validate-att-cert", "--dac", "dac.pem", "--pai", "pai.der", "--paa",
			"paa.pem", "--dac-key", "dac_key.pem", NULL};
	assert_int_equal(validate(argv, &out), 0);
	assert_non_null(strstr((char *)out.data, "valid"));
	buf_free_data(&out);
}

static void test_validate_wrong_vid(void **state)
{
	(void)state;
	char *dac[] = {"x", "attest", "gen-att-cert", "-t", "d", "-c", "bad vid", "-V", "FFF1", "-P", "8001",
		       "-C", "pai.der", "-K", "pai_key.der", "-o", "dac_vid.pem", "-O", "dac_vid_key.pem", "-l",
		       "100", "-f", "2024-07-01", NULL};
	run_ok(dac);
	buf_t out = BUF_INIT;
	char *argv[] = {"x", "attest", "validate-att-cert", "--dac", "dac_vid.pem", "--pai", "pai.der", NULL};
	assert_int_equal(validate(argv, &out), 1);
	assert_non_null(strstr((char *)out.data, "DAC: VID: DAC VID 0xFFF1 differs from PAI VID 0xFFF2"));
	buf_free_data(&out);
}

static void test_validate_key_mismatch(void **state)
{
	(void)state;
	buf_t out = BUF_INIT;
	char *argv[] = {"x", "attest", "validate-att-cert", "--dac", "dac.pem", "--pai", "pai.der",
			"--dac-key", "pai_key.der", NULL};
	assert_int_equal(validate(argv, &out), 1);
	assert_non_null(strstr((char *)out.data, "DAC: private key: "));
	buf_free_data(&out);
}

static void test_validate_expired_pai(void **state)
{
	(void)state;
	char *pai[] = {"x", "attest", "gen-att-cert", "-t", "i", "-c", "Old PAI", "-V", "FFF2", "-C", "paa.pem",
		       "-K", "paa_key.pem", "-o", "old_pai.pem", "-O", "old_pai_key.pem", "-l", "30", "-f",
		       "2024-01-01", NULL};
	run_ok(pai);
	char *dac[] = {"x", "attest", "gen-att-cert", "-t", "d", "-c", "late dac", "-V", "FFF2", "-P", "8001",
		       "-C", "old_pai.pem", "-K", "old_pai_key.pem", "-o", "late_dac.pem", "-O", "late_dac_key.pem",
		       "-l", "100", NULL};
	run_ok(dac);
	buf_t out = BUF_INIT;
	char *argv[] = {"x", "attest", "validate-att-cert", "--dac", "late_dac.pem", "--pai", "old_pai.pem",
			"--paa", "paa.pem", NULL};
	assert_int_equal(validate(argv, &out), 1);
	assert_non_null(strstr((char *)out.data, "PAI: validity: expired (notAfter 2024-01-30 23:59:59 UTC)"));
	assert_non_null(strstr((char *)out.data, "DAC: validity: notBefore is outside the PAI validity period"));
	buf_free_data(&out);
}

static void test_validate_swapped_roles(void **state)
{
	(void)state;
	/* A PAI passed as DAC breaks the DAC profile and the chain: each rule is named. */
	buf_t out = BUF_INIT;
	char *argv[] = {"x", "attest", "validate-att-cert", "--dac", "pai.der", "--pai", "paa.pem", NULL};
	assert_int_equal(validate(argv, &out), 1);
	assert_non_null(strstr((char *)out.data, "DAC: basicConstraints: cA must be FALSE for a DAC"));
	assert_non_null(strstr((char *)out.data, "DAC: keyUsage: a DAC must have digitalSignature only"));
	assert_non_null(strstr((char *)out.data, "PAI: subject VID: missing"));
	buf_free_data(&out);
}

static void test_validate_cd_other_pid(void **state)
{
	(void)state;
	/* Sign CDs with the PAA key (any P-256 certificate with a SKID can sign a test CD). */
	char *good[] = {"x", "attest", "gen-cd", "-K", "paa_key.pem", "-C", "paa.pem", "-O", "cd_ok.der", "-f",
			"1", "-V", "FFF2", "-p", "8000", "-p", "8001", "-d", "0016", "-c", "CSA00000SWC00000-01",
			"-l", "0", "-i", "0", "-n", "1", "-t", "0", NULL};
	run_ok(good);
	char *other[] = {"x", "attest", "gen-cd", "-K", "paa_key.pem", "-C", "paa.pem", "-O", "cd_other.der",
			 "-f", "1", "-V", "FFF2", "-p", "8002", "-d", "0016", "-c", "CSA00000SWC00000-01", "-l",
			 "0", "-i", "0", "-n", "1", "-t", "0", NULL};
	run_ok(other);
	buf_t out = BUF_INIT;
	char *ok[] = {"x", "attest", "validate-att-cert", "--dac", "dac.pem", "--pai", "pai.der", "--cd",
		      "cd_ok.der", NULL};
	assert_int_equal(validate(ok, &out), 0);
	char *bad[] = {"x", "attest", "validate-att-cert", "--dac", "dac.pem", "--pai", "pai.der", "--cd",
		       "cd_other.der", NULL};
	assert_int_equal(validate(bad, &out), 1);
	assert_non_null(strstr((char *)out.data, "CD: product_id_array: does not contain the DAC PID 0x8001"));
	buf_free_data(&out);
}

static void test_library_existing_pai(void **state)
{
	(void)state;
	/* A DAC made through the library from the vector's PAI (PEM, SEC1 key) chains to it and the
	 * raw key export gives the 32/65-byte forms the factory partition stores. */
	if (!testutil_vectors_dir())
		skip();
	char **cases = testutil_list_cases("mfg");
	assert_non_null(cases[0]);
	char *dir = testutil_vector_path("mfg", cases[0]);
	char *pai_path = testutil_join_path(dir, "inputs/PAI_cert.pem");
	char *key_path = testutil_join_path(dir, "inputs/PAI_key.pem");
	mbedtls_x509_crt pai, dac;
	mbedtls_pk_context pai_key, dac_key;
	mbedtls_x509_crt_init(&pai);
	mbedtls_x509_crt_init(&dac);
	mbedtls_pk_init(&pai_key);
	mbedtls_pk_init(&dac_key);
	err_t e = {0};
	assert_int_equal(attest_read_cert_file(pai_path, &pai, &e), 0);
	assert_int_equal(attest_read_key_file(key_path, &pai_key, &e), 0);
	assert_int_equal(attest_generate_key(&dac_key, &e), 0);
	struct attest_cert_params p = {
		.type = ATTEST_DAC, .subject_cn = "lib dac", .has_vid = true, .vid = 0xFFF2, .has_pid = true,
		.pid = 0x8001, .valid_from = time(NULL) - 3600, .lifetime_days = ATTEST_LIFETIME_NO_EXPIRY,
	};
	buf_t der = BUF_INIT, report = BUF_INIT;
	assert_int_equal(attest_make_cert(&p, &dac_key, &pai, &pai_key, &der, &e), 0);
	assert_int_equal(attest_parse_cert(der.data, der.len, "dac", &dac, &e), 0);
	struct attest_chain c = {&dac, &pai, NULL, NULL, &dac_key, time(NULL)};
	int n = attest_validate_chain(&c, &report);
	if (n)
		print_error("%s", (char *)report.data);
	assert_int_equal(n, 0);
	uint8_t priv[32], pub[65];
	assert_int_equal(attest_export_raw_key(&dac_key, priv, pub, &e), 0);
	assert_int_equal(pub[0], 0x04);
	/* The exported point is the one in the certificate. */
	struct cert_fields f;
	parse_cert(&der, &f);
	assert_memory_equal(f.spk, pub, 65);
	/* The PAI's issuer is the test PAA: its AKID carries over to nothing here, but the DAC's
	 * AKID must be the PAI's own SKID. */
	const uint8_t *skid;
	size_t slen;
	assert_int_equal(attest_get_skid(&pai, &skid, &slen, &e), 0);
	assert_memory_equal(f.akid, skid, 20);
	/* A CA key that is not the CA certificate's is refused. */
	buf_t der2 = BUF_INIT;
	assert_int_equal(attest_make_cert(&p, &dac_key, &pai, &dac_key, &der2, &e), -1);
	assert_non_null(strstr(e.msg, "does not match"));
	buf_free_data(&der2);
	buf_free_data(&der);
	buf_free_data(&report);
	mbedtls_x509_crt_free(&pai);
	mbedtls_x509_crt_free(&dac);
	mbedtls_pk_free(&pai_key);
	mbedtls_pk_free(&dac_key);
	free(pai_path);
	free(key_path);
	free(dir);
	testutil_free_list(cases);
}

/* Mutated DACs: whatever mbedTLS still parses goes through the profile and chain checks, which
 * must report rather than crash or read out of bounds (checked under ASan). */
static void test_mutated_certs_robust(void **state)
{
	(void)state;
	buf_t dac = BUF_INIT;
	load_der("dac.pem", &dac);
	mbedtls_x509_crt pai;
	mbedtls_x509_crt_init(&pai);
	char *pai_path = testutil_join_path(g_dir, "pai.der");
	err_t e = {0};
	assert_int_equal(attest_read_cert_file(pai_path, &pai, &e), 0);
	uint32_t x = 0xC0FFEE11;
	int parsed = 0;
	for (int round = 0; round < 5000; round++) {
		uint8_t *m = malloc(dac.len);
		memcpy(m, dac.data, dac.len);
		for (int k = 0; k < 1 + round % 3; k++) {
			x ^= x << 13;
			x ^= x >> 17;
			x ^= x << 5;
			m[x % dac.len] ^= (uint8_t)(1u << ((x >> 8) % 8));
		}
		mbedtls_x509_crt crt;
		mbedtls_x509_crt_init(&crt);
		if (attest_parse_cert(m, dac.len, "mutant", &crt, &e) == 0) {
			parsed++;
			buf_t report = BUF_INIT;
			struct attest_chain c = {&crt, &pai, NULL, NULL, NULL, time(NULL)};
			attest_validate_chain(&c, &report);
			bool hv, hp;
			uint16_t v, p;
			attest_get_subject_ids(&crt, &hv, &v, &hp, &p, &e);
			buf_free_data(&report);
		}
		mbedtls_x509_crt_free(&crt);
		free(m);
	}
	assert_true(parsed > 0);
	mbedtls_x509_crt_free(&pai);
	free(pai_path);
	buf_free_data(&dac);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_profile_fields),
		cmocka_unit_test(test_openssl_accepts_chain),
		cmocka_unit_test(test_key_files_private),
		cmocka_unit_test(test_validate_good_chain),
		cmocka_unit_test(test_validate_wrong_vid),
		cmocka_unit_test(test_validate_key_mismatch),
		cmocka_unit_test(test_validate_expired_pai),
		cmocka_unit_test(test_validate_swapped_roles),
		cmocka_unit_test(test_validate_cd_other_pid),
		cmocka_unit_test(test_library_existing_pai),
		cmocka_unit_test(test_mutated_certs_robust),
	};
	return cmocka_run_group_tests(tests, setup_chain, teardown_chain);
}
