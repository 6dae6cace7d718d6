#include "crypto/attest.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <mbedtls/asn1write.h>
#include <mbedtls/ecp.h>
#include <mbedtls/error.h>
#include <mbedtls/md.h>
#include <mbedtls/oid.h>
#include <mbedtls/pem.h>
#include <mbedtls/platform.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/sha1.h>
#include <mbedtls/sha256.h>
#include <mbedtls/x509.h>
#include <mbedtls/x509_crt.h>

#include "core/fileio.h"
#include "core/rng.h"
#include "crypto/x509util.h"

#define ATTEST_CN_MAX 64
#define ATTEST_CERT_MAX 2048

const char *attest_name_type(enum attest_cert_type t)
{
	return t == ATTEST_PAA ? "PAA" : t == ATTEST_PAI ? "PAI" : "DAC";
}

static int attest_mbed_error(err_t *e, const char *what, int ret)
{
	char text[128];
	mbedtls_strerror(ret, text, sizeof text);
	return err_set_msg(e, ERR_CHECK, "%s: %s (-0x%04x)", what, text, (unsigned)-ret);
}

static int attest_check_p256(mbedtls_pk_context *key, const char *what, err_t *e)
{
	if (mbedtls_pk_get_type(key) != MBEDTLS_PK_ECKEY ||
	    mbedtls_pk_ec(*key)->grp.id != MBEDTLS_ECP_DP_SECP256R1)
		return err_set_msg(e, ERR_CHECK, "%s: not a P-256 (prime256v1) EC key", what);
	return 0;
}

int attest_generate_key(mbedtls_pk_context *key, err_t *e)
{
	int ret = mbedtls_pk_setup(key, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY));
	if (ret)
		return attest_mbed_error(e, "key setup", ret);
	ret = mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1, mbedtls_pk_ec(*key), rng_mbedtls_callback, NULL);
	if (ret)
		return attest_mbed_error(e, "P-256 key generation", ret);
	return 0;
}

int attest_parse_key(const uint8_t *data, size_t len, const char *what, mbedtls_pk_context *key,
		     err_t *e)
{
	/* The PEM parser wants the terminating NUL counted in the length. */
	uint8_t *copy = mbedtls_calloc(1, len + 1);
	if (!copy)
		return err_set_msg(e, ERR_CHECK, "%s: out of memory", what);
	memcpy(copy, data, len);
	size_t n = (len && memmem(data, len, "-----BEGIN", 10)) ? len + 1 : len;
	int ret = mbedtls_pk_parse_key(key, copy, n, NULL, 0);
	mbedtls_platform_zeroize(copy, len + 1);
	mbedtls_free(copy);
	if (ret) {
		char ctx[300];
		snprintf(ctx, sizeof ctx, "%s: not a PEM or DER private key", what);
		return attest_mbed_error(e, ctx, ret);
	}
	return attest_check_p256(key, what, e);
}

int attest_parse_cert(const uint8_t *data, size_t len, const char *what, mbedtls_x509_crt *crt,
		      err_t *e)
{
	int ret;
	if (len && memmem(data, len, "-----BEGIN", 10)) {
		uint8_t *copy = mbedtls_calloc(1, len + 1);
		if (!copy)
			return err_set_msg(e, ERR_CHECK, "%s: out of memory", what);
		memcpy(copy, data, len);
		ret = mbedtls_x509_crt_parse(crt, copy, len + 1);
		mbedtls_free(copy);
	} else {
		ret = mbedtls_x509_crt_parse_der(crt, data, len);
	}
	if (ret) {
		char ctx[300];
		snprintf(ctx, sizeof ctx, "%s: not a PEM or DER X.509 certificate", what);
		return attest_mbed_error(e, ctx, ret);
	}
	return 0;
}

int attest_read_key_file(const char *path, mbedtls_pk_context *key, err_t *e)
{
	buf_t b = BUF_INIT;
	if (fileio_read_secret(path, &b, e))
		return -1;
	int r = attest_parse_key(b.data, b.len, path, key, e);
	buf_wipe_data(&b);
	return r;
}

int attest_read_cert_file(const char *path, mbedtls_x509_crt *crt, err_t *e)
{
	buf_t b = BUF_INIT;
	if (fileio_read_file(path, &b, e))
		return -1;
	int r = attest_parse_cert(b.data, b.len, path, crt, e);
	buf_free_data(&b);
	return r;
}

/* RFC 5280 method 1: SHA-1 of the subjectPublicKey BIT STRING content (the EC point). */
static int attest_key_id(mbedtls_pk_context *key, uint8_t id[20], err_t *e)
{
	uint8_t pub[65];
	size_t olen;
	mbedtls_ecp_keypair *ec = mbedtls_pk_ec(*key);
	int ret = mbedtls_ecp_point_write_binary(&ec->grp, &ec->Q, MBEDTLS_ECP_PF_UNCOMPRESSED, &olen,
						 pub, sizeof pub);
	if (ret)
		return attest_mbed_error(e, "public key", ret);
	if (mbedtls_sha1_ret(pub, olen, id))
		return err_set_msg(e, ERR_CHECK, "SHA-1 failed");
	return 0;
}

static void attest_hex4(uint16_t v, char out[4])
{
	static const char digits[] = "0123456789ABCDEF";
	for (int i = 0; i < 4; i++)
		out[i] = digits[(v >> (12 - 4 * i)) & 0xF];
}

static int attest_build_subject(const struct attest_cert_params *p, mbedtls_asn1_named_data **list)
{
	char hex[4];
	/* The writer emits the list head last: add CN, VID, PID in that order. */
	if (x509util_add_name_attr(list, MBEDTLS_OID_AT_CN, MBEDTLS_OID_SIZE(MBEDTLS_OID_AT_CN),
				   MBEDTLS_ASN1_UTF8_STRING, p->subject_cn, strlen(p->subject_cn)))
		return -1;
	if (p->has_vid) {
		attest_hex4(p->vid, hex);
		if (x509util_add_name_attr(list, ATTEST_OID_MATTER_VID, ATTEST_OID_MATTER_LEN,
					   MBEDTLS_ASN1_UTF8_STRING, hex, 4))
			return -1;
	}
	if (p->has_pid) {
		attest_hex4(p->pid, hex);
		if (x509util_add_name_attr(list, ATTEST_OID_MATTER_PID, ATTEST_OID_MATTER_LEN,
					   MBEDTLS_ASN1_UTF8_STRING, hex, 4))
			return -1;
	}
	return 0;
}

static int attest_format_time(time_t t, char out[32], err_t *e)
{
	struct tm tm;
	if (!gmtime_r(&t, &tm) || tm.tm_year + 1900 > 9999 || tm.tm_year + 1900 < 1950)
		return err_set_msg(e, ERR_CHECK, "validity: time %lld is outside 1950..9999", (long long)t);
	snprintf(out, 32, "%04d%02d%02d%02d%02d%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
		 tm.tm_hour, tm.tm_min, tm.tm_sec);
	return 0;
}

static int attest_check_params(const struct attest_cert_params *p, const mbedtls_x509_crt *ca_cert,
			       err_t *e)
{
	const char *t = attest_name_type(p->type);
	if (!p->subject_cn || !*p->subject_cn)
		return err_set_msg(e, ERR_USAGE, "%s: a subject CN is required", t);
	if (strlen(p->subject_cn) > ATTEST_CN_MAX)
		return err_set_msg(e, ERR_USAGE, "%s: subject CN is %zu bytes, at most %d allowed", t,
				   strlen(p->subject_cn), ATTEST_CN_MAX);
	if (p->type == ATTEST_DAC && (!p->has_vid || !p->has_pid))
		return err_set_msg(e, ERR_USAGE, "DAC: both VID and PID subject attributes are required");
	if (p->type == ATTEST_PAI && !p->has_vid)
		return err_set_msg(e, ERR_USAGE, "PAI: the VID subject attribute is required");
	if (p->type == ATTEST_PAA && p->has_pid)
		return err_set_msg(e, ERR_USAGE, "PAA: must not carry a PID subject attribute");
	if (p->lifetime_days == 0)
		return err_set_msg(e, ERR_USAGE, "%s: lifetime must be at least one day", t);
	if (p->type != ATTEST_PAA && !ca_cert)
		return err_set_msg(e, ERR_USAGE, "%s: a CA certificate and key are required", t);
	if (p->type == ATTEST_PAA && ca_cert)
		return err_set_msg(e, ERR_USAGE, "PAA: is self-signed, no CA certificate is used");
	return 0;
}

/* ecdsa-with-SHA256 (1.2.840.10045.4.3.2) with the parameters absent, as RFC 5758 §3.2 and the
 * Matter profile require. mbedTLS 2.28's certificate writer always adds a NULL here, so the TBS
 * is written and signed below instead of by mbedtls_x509write_crt_der (which would have to sign
 * a certificate that is then thrown away). */
static const uint8_t attest_sig_alg[] = {0x30, 0x0A, 0x06, 0x08, 0x2A, 0x86,
					  0x48, 0xCE, 0x3D, 0x04, 0x03, 0x02};

#define ATTEST_SEQUENCE (MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE)
#define ATTEST_EXPLICIT(n) (MBEDTLS_ASN1_CONTEXT_SPECIFIC | MBEDTLS_ASN1_CONSTRUCTED | (n))

/* Issuer key pairs already found consistent. mbedtls_pk_check_pair multiplies the private scalar
 * by the generator on a freshly loaded group, which costs as much as the signature itself, and a
 * batch signs every DAC with the same PAI key. An entry is an HMAC, under a key drawn once per
 * process, of the private scalar and the public point: nothing secret is kept, and a different
 * or altered key misses. */
#define ATTEST_PAIR_CACHE_SIZE 8
static pthread_mutex_t attest_pair_lock = PTHREAD_MUTEX_INITIALIZER;
static uint8_t attest_pair_mac_key[32];
static bool attest_pair_keyed;
static uint8_t attest_pair_cache[ATTEST_PAIR_CACHE_SIZE][32];
static unsigned attest_pair_used, attest_pair_next;

static int attest_pair_tag(const mbedtls_ecp_keypair *ec, uint8_t tag[32])
{
	uint8_t in[32 + 65];
	size_t olen;
	int rc = -1;
	pthread_mutex_lock(&attest_pair_lock);
	if (!attest_pair_keyed && rng_fill_bytes(attest_pair_mac_key, sizeof attest_pair_mac_key) == 0)
		attest_pair_keyed = true;
	pthread_mutex_unlock(&attest_pair_lock);
	if (attest_pair_keyed && mbedtls_mpi_write_binary(&ec->d, in, 32) == 0 &&
	    mbedtls_ecp_point_write_binary(&ec->grp, &ec->Q, MBEDTLS_ECP_PF_UNCOMPRESSED, &olen, in + 32,
					   65) == 0 &&
	    mbedtls_md_hmac(mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), attest_pair_mac_key,
			    sizeof attest_pair_mac_key, in, 32 + olen, tag) == 0)
		rc = 0;
	mbedtls_platform_zeroize(in, sizeof in);
	return rc;
}

/* As mbedtls_pk_check_pair(&ca_cert->pk, ca_key) == 0, with the private half of the check done
 * once per key. Both keys are P-256 (checked by the caller for ca_key). */
static bool attest_pair_matches(const mbedtls_x509_crt *ca_cert, mbedtls_pk_context *ca_key)
{
	if (mbedtls_pk_get_type(&ca_cert->pk) != MBEDTLS_PK_ECKEY)
		return mbedtls_pk_check_pair(&ca_cert->pk, ca_key) == 0;
	const mbedtls_ecp_keypair *pub = mbedtls_pk_ec(ca_cert->pk), *prv = mbedtls_pk_ec(*ca_key);
	if (pub->grp.id != prv->grp.id || mbedtls_ecp_point_cmp(&pub->Q, &prv->Q) != 0)
		return false;
	uint8_t tag[32];
	if (attest_pair_tag(prv, tag))
		return mbedtls_pk_check_pair(&ca_cert->pk, ca_key) == 0;
	bool seen = false;
	pthread_mutex_lock(&attest_pair_lock);
	for (unsigned i = 0; i < attest_pair_used && !seen; i++)
		seen = !memcmp(attest_pair_cache[i], tag, sizeof tag);
	pthread_mutex_unlock(&attest_pair_lock);
	if (seen)
		return true;
	/* Outside the lock: workers checking different keys need not wait for each other. */
	if (mbedtls_pk_check_pair(&ca_cert->pk, ca_key) != 0)
		return false;
	pthread_mutex_lock(&attest_pair_lock);
	memcpy(attest_pair_cache[attest_pair_next], tag, sizeof tag);
	attest_pair_next = (attest_pair_next + 1) % ATTEST_PAIR_CACHE_SIZE;
	if (attest_pair_used < ATTEST_PAIR_CACHE_SIZE)
		attest_pair_used++;
	pthread_mutex_unlock(&attest_pair_lock);
	return true;
}

/* Time from "YYYYMMDDHHMMSS": UTCTime before 2050, GeneralizedTime from then on (RFC 5280
 * §4.1.2.5), as mbedTLS writes it. */
static int attest_write_time(unsigned char **c, unsigned char *start, const char *t)
{
	bool utc = t[0] < '2' || (t[0] == '2' && t[1] == '0' && t[2] < '5');
	char z[16];
	snprintf(z, sizeof z, "%.14sZ", t);
	size_t len = 0;
	int ret;
	MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_raw_buffer(c, start, (const unsigned char *)z + (utc ? 2 : 0),
								 utc ? 13 : 15));
	MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_len(c, start, len));
	MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_tag(c, start,
							 utc ? MBEDTLS_ASN1_UTC_TIME : MBEDTLS_ASN1_GENERALIZED_TIME));
	return (int)len;
}

struct attest_tbs {
	const mbedtls_mpi *serial;
	mbedtls_asn1_named_data *issuer;
	mbedtls_asn1_named_data *subject;
	mbedtls_asn1_named_data *extensions; /* written in the reverse order of the list */
	const char *not_before;
	const char *not_after;
	mbedtls_pk_context *subject_key;
};

/* The TBSCertificate, written backwards so that it ends at buf + size; *tbs receives its start.
 * Returns its length or a negative mbedTLS error. */
static int attest_write_tbs(const struct attest_tbs *t, unsigned char *buf, size_t size, unsigned char **tbs)
{
	unsigned char *c = buf + size;
	size_t len = 0, sub = 0;
	int ret;
	MBEDTLS_ASN1_CHK_ADD(len, mbedtls_x509_write_extensions(&c, buf, t->extensions));
	MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_len(&c, buf, len));
	MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_tag(&c, buf, ATTEST_SEQUENCE));
	MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_len(&c, buf, len));
	MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_tag(&c, buf, ATTEST_EXPLICIT(3)));
	/* mbedtls_pk_write_pubkey_der writes at the end of the space it is given. */
	ret = mbedtls_pk_write_pubkey_der(t->subject_key, buf, (size_t)(c - buf));
	if (ret < 0)
		return ret;
	c -= ret;
	len += (size_t)ret;
	MBEDTLS_ASN1_CHK_ADD(len, mbedtls_x509_write_names(&c, buf, t->subject));
	MBEDTLS_ASN1_CHK_ADD(sub, attest_write_time(&c, buf, t->not_after));
	MBEDTLS_ASN1_CHK_ADD(sub, attest_write_time(&c, buf, t->not_before));
	len += sub;
	MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_len(&c, buf, sub));
	MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_tag(&c, buf, ATTEST_SEQUENCE));
	MBEDTLS_ASN1_CHK_ADD(len, mbedtls_x509_write_names(&c, buf, t->issuer));
	MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_raw_buffer(&c, buf, attest_sig_alg, sizeof attest_sig_alg));
	MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_mpi(&c, buf, t->serial));
	sub = 0;
	MBEDTLS_ASN1_CHK_ADD(sub, mbedtls_asn1_write_int(&c, buf, MBEDTLS_X509_CRT_VERSION_3));
	len += sub;
	MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_len(&c, buf, sub));
	MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_tag(&c, buf, ATTEST_EXPLICIT(0)));
	MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_len(&c, buf, len));
	MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_tag(&c, buf, ATTEST_SEQUENCE));
	*tbs = c;
	return (int)len;
}

/* Signs the TBS (ECDSA over its SHA-256) and appends the Certificate SEQUENCE to der. */
static int attest_sign_tbs(const unsigned char *tbs, size_t tbs_len, mbedtls_pk_context *key, buf_t *der,
			   err_t *e)
{
	uint8_t hash[32], sig[MBEDTLS_PK_SIGNATURE_MAX_SIZE];
	size_t sig_len = 0;
	int ret;
	if ((ret = mbedtls_sha256_ret(tbs, tbs_len, hash, 0)) ||
	    (ret = mbedtls_pk_sign(key, MBEDTLS_MD_SHA256, hash, sizeof hash, sig, &sig_len, rng_mbedtls_callback,
				   NULL)))
		return attest_mbed_error(e, "signing the certificate", ret);
	/* signatureAlgorithm and signatureValue, then the outer header, each written backwards. */
	unsigned char tail[sizeof attest_sig_alg + 8 + MBEDTLS_PK_SIGNATURE_MAX_SIZE], head[8];
	unsigned char *c = tail + sizeof tail, *h = head + sizeof head;
	size_t tail_len = 0, head_len = 0;
	MBEDTLS_ASN1_CHK_ADD(tail_len, mbedtls_asn1_write_bitstring(&c, tail, sig, sig_len * 8));
	MBEDTLS_ASN1_CHK_ADD(tail_len,
			     mbedtls_asn1_write_raw_buffer(&c, tail, attest_sig_alg, sizeof attest_sig_alg));
	MBEDTLS_ASN1_CHK_ADD(head_len, mbedtls_asn1_write_len(&h, head, tbs_len + tail_len));
	MBEDTLS_ASN1_CHK_ADD(head_len, mbedtls_asn1_write_tag(&h, head, ATTEST_SEQUENCE));
	buf_append_bytes(der, h, head_len);
	buf_append_bytes(der, tbs, tbs_len);
	buf_append_bytes(der, c, tail_len);
	return 0;
}

int attest_make_cert(const struct attest_cert_params *p, mbedtls_pk_context *subject_key,
		     const mbedtls_x509_crt *ca_cert, mbedtls_pk_context *ca_key, buf_t *der,
		     err_t *e)
{
	if (attest_check_params(p, ca_cert, e))
		return -1;
	const char *t = attest_name_type(p->type);
	if (attest_check_p256(subject_key, "subject key", e) ||
	    (ca_key && attest_check_p256(ca_key, "CA key", e)))
		return -1;
	if (ca_cert) {
		if (ca_key && !attest_pair_matches(ca_cert, ca_key))
			return err_set_msg(e, ERR_CHECK, "%s: the CA key does not match the CA certificate", t);
		if (!ca_cert->ca_istrue)
			return err_set_msg(e, ERR_CHECK, "%s: the CA certificate is not a CA (basicConstraints cA FALSE)", t);
	}
	char not_before[32], not_after[32];
	if (attest_format_time(p->valid_from, not_before, e))
		return -1;
	if (p->lifetime_days == ATTEST_LIFETIME_NO_EXPIRY) {
		strcpy(not_after, "99991231235959");
	} else {
		time_t end = p->valid_from + (time_t)p->lifetime_days * 86400 - (p->lifetime_whole_days ? 0 : 1);
		if (attest_format_time(end, not_after, e))
			return -1;
	}

	uint8_t skid[20], akid[20], serial_bytes[8], ext[64];
	const uint8_t *ca_skid = NULL;
	size_t ca_skid_len = 0;
	if (attest_key_id(subject_key, skid, e))
		return -1;
	if (ca_cert) {
		if (x509util_get_skid(ca_cert, &ca_skid, &ca_skid_len) != 0 || ca_skid_len > 32)
			return err_set_msg(e, ERR_CHECK,
					   "%s: the CA certificate has no usable subjectKeyIdentifier for the AKID", t);
	} else {
		memcpy(akid, skid, sizeof akid);
		ca_skid = akid;
		ca_skid_len = sizeof akid;
	}

	mbedtls_mpi serial;
	mbedtls_mpi_init(&serial);
	struct attest_tbs tbs = {.serial = &serial, .not_before = not_before, .not_after = not_after,
				 .subject_key = subject_key};
	uint8_t *out = mbedtls_calloc(1, ATTEST_CERT_MAX);
	int rc = -1, ret;
	if (!out) {
		err_set_msg(e, ERR_CHECK, "out of memory");
		goto done;
	}
	/* A random positive 63-bit serial, like the Matter certificate tool. */
	do {
		if (rng_fill_bytes(serial_bytes, sizeof serial_bytes)) {
			err_set_msg(e, ERR_CHECK, "RNG failed");
			goto done;
		}
		serial_bytes[0] &= 0x7F;
	} while (serial_bytes[0] == 0 && !memcmp(serial_bytes, "\0\0\0\0\0\0\0\0", 8));
	if ((ret = mbedtls_mpi_read_binary(&serial, serial_bytes, sizeof serial_bytes))) {
		attest_mbed_error(e, "serial number", ret);
		goto done;
	}
	if (attest_build_subject(p, &tbs.subject) ||
	    (ca_cert ? x509util_copy_name(&ca_cert->subject, &tbs.issuer) : attest_build_subject(p, &tbs.issuer))) {
		err_set_msg(e, ERR_CHECK, "%s: building the subject/issuer names failed", t);
		goto done;
	}

	/* Extensions in the order the Matter tool writes them (the list is written last entry
	 * first, so each is prepended); all set by hand so that criticality and DER are exactly
	 * the profile's (mbedTLS marks basicConstraints critical only for CAs). */
	size_t n = 0;
	if (p->type == ATTEST_DAC) {
		memcpy(ext, "\x30\x00", 2);
		n = 2;
	} else {
		int pathlen = p->type == ATTEST_PAI ? 0 : 1;
		uint8_t bc[] = {0x30, 0x06, 0x01, 0x01, 0xFF, 0x02, 0x01, (uint8_t)pathlen};
		memcpy(ext, bc, sizeof bc);
		n = sizeof bc;
	}
	if ((ret = mbedtls_x509_set_extension(&tbs.extensions, MBEDTLS_OID_BASIC_CONSTRAINTS,
					      MBEDTLS_OID_SIZE(MBEDTLS_OID_BASIC_CONSTRAINTS), 1, ext, n))) {
		attest_mbed_error(e, "basicConstraints", ret);
		goto done;
	}
	/* keyUsage BIT STRING: digitalSignature = bit 0; keyCertSign | cRLSign = bits 5 and 6. */
	const uint8_t ku_dac[] = {0x03, 0x02, 0x07, 0x80};
	const uint8_t ku_ca[] = {0x03, 0x02, 0x01, 0x06};
	const uint8_t *ku = p->type == ATTEST_DAC ? ku_dac : ku_ca;
	if ((ret = mbedtls_x509_set_extension(&tbs.extensions, MBEDTLS_OID_KEY_USAGE,
					      MBEDTLS_OID_SIZE(MBEDTLS_OID_KEY_USAGE), 1, ku, 4))) {
		attest_mbed_error(e, "keyUsage", ret);
		goto done;
	}
	ext[0] = MBEDTLS_ASN1_OCTET_STRING;
	ext[1] = sizeof skid;
	memcpy(ext + 2, skid, sizeof skid);
	if ((ret = mbedtls_x509_set_extension(&tbs.extensions, MBEDTLS_OID_SUBJECT_KEY_IDENTIFIER,
					      MBEDTLS_OID_SIZE(MBEDTLS_OID_SUBJECT_KEY_IDENTIFIER), 0, ext,
					      2 + sizeof skid))) {
		attest_mbed_error(e, "subjectKeyIdentifier", ret);
		goto done;
	}
	int alen = x509util_encode_akid(ca_skid, ca_skid_len, ext, sizeof ext);
	if (alen < 0 || (ret = mbedtls_x509_set_extension(&tbs.extensions, MBEDTLS_OID_AUTHORITY_KEY_IDENTIFIER,
							  MBEDTLS_OID_SIZE(MBEDTLS_OID_AUTHORITY_KEY_IDENTIFIER), 0,
							  ext, (size_t)alen))) {
		attest_mbed_error(e, "authorityKeyIdentifier", alen < 0 ? alen : ret);
		goto done;
	}
	unsigned char *tbs_der;
	ret = attest_write_tbs(&tbs, out, ATTEST_CERT_MAX, &tbs_der);
	if (ret < 0) {
		attest_mbed_error(e, "encoding the certificate", ret);
		goto done;
	}
	if (attest_sign_tbs(tbs_der, (size_t)ret, ca_key ? ca_key : subject_key, der, e))
		goto done;
	rc = 0;
done:
	mbedtls_free(out);
	mbedtls_mpi_free(&serial);
	mbedtls_asn1_free_named_data_list(&tbs.subject);
	mbedtls_asn1_free_named_data_list(&tbs.issuer);
	mbedtls_asn1_free_named_data_list(&tbs.extensions);
	return rc;
}

static bool attest_path_is_der(const char *path)
{
	size_t n = strlen(path);
	return n >= 4 && !strcasecmp(path + n - 4, ".der");
}

int attest_write_cert_file(const char *path, const uint8_t *der, size_t len, err_t *e)
{
	if (attest_path_is_der(path))
		return fileio_write_atomic(path, der, len, FILEIO_MODE_PUBLIC, e);
	size_t cap = len * 2 + 128, olen = 0;
	uint8_t *pem = mbedtls_calloc(1, cap);
	if (!pem)
		return err_set_msg(e, ERR_CHECK, "out of memory");
	int ret = mbedtls_pem_write_buffer("-----BEGIN CERTIFICATE-----\n", "-----END CERTIFICATE-----\n",
					   der, len, pem, cap, &olen);
	int rc = ret ? attest_mbed_error(e, path, ret)
		     : fileio_write_atomic(path, pem, strlen((char *)pem), FILEIO_MODE_PUBLIC, e);
	mbedtls_free(pem);
	return rc;
}

int attest_export_key_der(mbedtls_pk_context *key, buf_t *out, err_t *e)
{
	uint8_t tmp[256];
	int ret = mbedtls_pk_write_key_der(key, tmp, sizeof tmp);
	if (ret < 0)
		return attest_mbed_error(e, "private key encoding", ret);
	buf_append_bytes(out, tmp + sizeof tmp - ret, (size_t)ret);
	mbedtls_platform_zeroize(tmp, sizeof tmp);
	return 0;
}

int attest_write_key_file(const char *path, mbedtls_pk_context *key, err_t *e)
{
	uint8_t tmp[512];
	int rc;
	if (attest_path_is_der(path)) {
		buf_t der = BUF_INIT;
		rc = attest_export_key_der(key, &der, e);
		if (!rc)
			rc = fileio_write_atomic(path, der.data, der.len, FILEIO_MODE_SECRET, e);
		buf_wipe_data(&der);
		return rc;
	}
	int ret = mbedtls_pk_write_key_pem(key, tmp, sizeof tmp);
	rc = ret ? attest_mbed_error(e, "private key encoding", ret)
		 : fileio_write_atomic(path, tmp, strlen((char *)tmp), FILEIO_MODE_SECRET, e);
	mbedtls_platform_zeroize(tmp, sizeof tmp);
	return rc;
}

int attest_export_raw_key(mbedtls_pk_context *key, uint8_t priv[32], uint8_t pub[65], err_t *e)
{
	if (attest_check_p256(key, "key", e))
		return -1;
	mbedtls_ecp_keypair *ec = mbedtls_pk_ec(*key);
	size_t olen;
	int ret;
	if (priv && (ret = mbedtls_mpi_write_binary(&ec->d, priv, 32)))
		return attest_mbed_error(e, "private scalar", ret);
	if ((ret = mbedtls_ecp_point_write_binary(&ec->grp, &ec->Q, MBEDTLS_ECP_PF_UNCOMPRESSED, &olen,
						  pub, 65)))
		return attest_mbed_error(e, "public point", ret);
	return 0;
}

static int attest_parse_hex4(const uint8_t *p, size_t n, uint16_t *out)
{
	if (n != 4)
		return -1;
	unsigned v = 0;
	for (size_t i = 0; i < 4; i++) {
		uint8_t c = p[i];
		if (c >= '0' && c <= '9')
			v = v * 16 + (c - '0');
		else if (c >= 'A' && c <= 'F')
			v = v * 16 + (c - 'A' + 10);
		else
			return -1;
	}
	*out = (uint16_t)v;
	return 0;
}

static const mbedtls_x509_name *attest_find_attr(const mbedtls_x509_name *n, const char *oid, size_t len,
						 int *count)
{
	const mbedtls_x509_name *found = NULL;
	*count = 0;
	for (; n; n = n->next)
		if (n->oid.p && n->oid.len == len && !memcmp(n->oid.p, oid, len)) {
			found = found ? found : n;
			(*count)++;
		}
	return found;
}

int attest_get_subject_ids(const mbedtls_x509_crt *crt, bool *has_vid, uint16_t *vid,
			   bool *has_pid, uint16_t *pid, err_t *e)
{
	static const struct {
		const char *oid;
		const char *name;
		const char *legacy;
	} attrs[2] = {{ATTEST_OID_MATTER_VID, "VID", "Mvid:"}, {ATTEST_OID_MATTER_PID, "PID", "Mpid:"}};
	bool *has[2] = {has_vid, has_pid};
	uint16_t *val[2] = {vid, pid};
	int cn_count;
	const mbedtls_x509_name *cn = attest_find_attr(&crt->subject, MBEDTLS_OID_AT_CN,
						       MBEDTLS_OID_SIZE(MBEDTLS_OID_AT_CN), &cn_count);
	for (int i = 0; i < 2; i++) {
		int count;
		*has[i] = false;
		const mbedtls_x509_name *a = attest_find_attr(&crt->subject, attrs[i].oid,
							      ATTEST_OID_MATTER_LEN, &count);
		if (count > 1)
			return err_set_msg(e, ERR_CHECK, "subject has %d Matter %s attributes", count, attrs[i].name);
		if (a) {
			if (a->val.tag != MBEDTLS_ASN1_UTF8_STRING)
				return err_set_msg(e, ERR_CHECK, "subject Matter %s is not a UTF8String (tag 0x%02x)",
						   attrs[i].name, a->val.tag);
			if (attest_parse_hex4(a->val.p, a->val.len, val[i]))
				return err_set_msg(e, ERR_CHECK,
						   "subject Matter %s '%.*s' is not 4 uppercase hex digits",
						   attrs[i].name, (int)(a->val.len > 16 ? 16 : a->val.len), a->val.p);
			*has[i] = true;
			continue;
		}
		/* Legacy encoding inside the CN, still accepted by verifiers. */
		if (cn) {
			const uint8_t *m = memmem(cn->val.p, cn->val.len, attrs[i].legacy, 5);
			if (m) {
				size_t left = cn->val.len - (size_t)(m - cn->val.p) - 5;
				if (left < 4 || attest_parse_hex4(m + 5, 4, val[i]))
					return err_set_msg(e, ERR_CHECK, "CN %s value is not 4 uppercase hex digits",
							   attrs[i].legacy);
				*has[i] = true;
			}
		}
	}
	return 0;
}

int attest_get_skid(const mbedtls_x509_crt *crt, const uint8_t **id, size_t *len, err_t *e)
{
	int r = x509util_get_skid(crt, id, len);
	if (r == 1)
		return err_set_msg(e, ERR_CHECK, "certificate has no subjectKeyIdentifier");
	if (r < 0)
		return err_set_msg(e, ERR_CHECK, "certificate subjectKeyIdentifier is malformed");
	return 0;
}

/* ---- validation ---- */

static void attest_report(buf_t *report, int *count, const char *cert, const char *rule,
			  const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void attest_report(buf_t *report, int *count, const char *cert, const char *rule,
			  const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int n = snprintf(line, sizeof line, "%s: %s: ", cert, rule);
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
	va_end(ap);
	buf_append_str(report, line);
	buf_append_byte(report, '\n');
	buf_terminate_str(report);
	(*count)++;
}

static int64_t attest_days_from_civil(int y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static int64_t attest_x509_time(const mbedtls_x509_time *t)
{
	return attest_days_from_civil(t->year, (unsigned)t->mon, (unsigned)t->day) * 86400 +
	       t->hour * 3600 + t->min * 60 + t->sec;
}

static void attest_format_x509_time(const mbedtls_x509_time *t, char out[24])
{
	snprintf(out, 24, "%04d-%02d-%02d %02d:%02d:%02d", t->year, t->mon, t->day, t->hour, t->min,
		 t->sec);
}

/* basicConstraints value: SEQUENCE { cA BOOLEAN DEFAULT FALSE, pathLen INTEGER OPTIONAL } */
static int attest_parse_bc(const struct x509util_ext *x, int *ca, int *pathlen)
{
	unsigned char *p = (unsigned char *)x->value, *end = p + x->len;
	size_t len;
	*ca = 0;
	*pathlen = -1;
	if (mbedtls_asn1_get_tag(&p, end, &len, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE) ||
	    p + len != end)
		return -1;
	if (p < end && *p == MBEDTLS_ASN1_BOOLEAN && mbedtls_asn1_get_bool(&p, end, ca))
		return -1;
	if (p < end && (mbedtls_asn1_get_int(&p, end, pathlen) || *pathlen < 0))
		return -1;
	return p == end ? 0 : -1;
}

int attest_check_profile(const mbedtls_x509_crt *crt, enum attest_cert_type type, buf_t *report)
{
	const char *t = attest_name_type(type);
	int count = 0;
	if (crt->version != 3)
		attest_report(report, &count, t, "version", "X.509 v%d, v3 required", crt->version);
	if (crt->sig_md != MBEDTLS_MD_SHA256 || crt->sig_pk != MBEDTLS_PK_ECDSA)
		attest_report(report, &count, t, "signature algorithm", "must be ecdsa-with-SHA256");
	if (mbedtls_pk_get_type(&crt->pk) != MBEDTLS_PK_ECKEY ||
	    mbedtls_pk_ec(crt->pk)->grp.id != MBEDTLS_ECP_DP_SECP256R1)
		attest_report(report, &count, t, "public key", "must be id-ecPublicKey on prime256v1");
	if (crt->serial.len == 0 || crt->serial.len > 20 || (crt->serial.p[0] & 0x80))
		attest_report(report, &count, t, "serial number", "must be positive and at most 20 octets (%zu)",
			      crt->serial.len);

	struct x509util_ext x;
	int r = x509util_find_ext(crt, MBEDTLS_OID_BASIC_CONSTRAINTS,
				  MBEDTLS_OID_SIZE(MBEDTLS_OID_BASIC_CONSTRAINTS), &x);
	if (r != 0) {
		attest_report(report, &count, t, "basicConstraints", r < 0 ? "malformed" : "missing");
	} else {
		int ca, pathlen;
		if (!x.critical)
			attest_report(report, &count, t, "basicConstraints", "must be critical");
		if (attest_parse_bc(&x, &ca, &pathlen)) {
			attest_report(report, &count, t, "basicConstraints", "malformed value");
		} else if (type == ATTEST_DAC) {
			if (ca)
				attest_report(report, &count, t, "basicConstraints", "cA must be FALSE for a DAC");
			if (pathlen >= 0)
				attest_report(report, &count, t, "basicConstraints", "a DAC must not have pathLenConstraint");
		} else {
			if (!ca)
				attest_report(report, &count, t, "basicConstraints", "cA must be TRUE for a %s", t);
			if (type == ATTEST_PAI && pathlen != 0)
				attest_report(report, &count, t, "basicConstraints", "PAI pathLenConstraint must be 0 (is %s%d)",
					      pathlen < 0 ? "absent " : "", pathlen < 0 ? 0 : pathlen);
			if (type == ATTEST_PAA && pathlen > 1)
				attest_report(report, &count, t, "basicConstraints", "PAA pathLenConstraint must be absent or 1 (is %d)",
					      pathlen);
		}
	}

	r = x509util_find_ext(crt, MBEDTLS_OID_KEY_USAGE, MBEDTLS_OID_SIZE(MBEDTLS_OID_KEY_USAGE), &x);
	if (r != 0) {
		attest_report(report, &count, t, "keyUsage", r < 0 ? "malformed" : "missing");
	} else {
		unsigned ku = crt->key_usage;
		if (!x.critical)
			attest_report(report, &count, t, "keyUsage", "must be critical");
		if (type == ATTEST_DAC) {
			if (ku != MBEDTLS_X509_KU_DIGITAL_SIGNATURE)
				attest_report(report, &count, t, "keyUsage", "a DAC must have digitalSignature only (0x%x)", ku);
		} else {
			unsigned need = MBEDTLS_X509_KU_KEY_CERT_SIGN | MBEDTLS_X509_KU_CRL_SIGN;
			if ((ku & need) != need)
				attest_report(report, &count, t, "keyUsage", "a %s needs keyCertSign and cRLSign", t);
			if (ku & ~(need | MBEDTLS_X509_KU_DIGITAL_SIGNATURE))
				attest_report(report, &count, t, "keyUsage", "a %s may only add digitalSignature (0x%x)", t, ku);
		}
	}

	const uint8_t *id;
	size_t idlen;
	r = x509util_get_skid(crt, &id, &idlen);
	if (r != 0)
		attest_report(report, &count, t, "subjectKeyIdentifier", r < 0 ? "malformed" : "missing");
	else if (idlen != 20)
		attest_report(report, &count, t, "subjectKeyIdentifier", "must be 20 bytes (is %zu)", idlen);
	r = x509util_get_akid(crt, &id, &idlen);
	if (r < 0)
		attest_report(report, &count, t, "authorityKeyIdentifier", "malformed");
	else if (r == 1 && type != ATTEST_PAA)
		attest_report(report, &count, t, "authorityKeyIdentifier", "missing (keyIdentifier required)");
	else if (r == 0 && idlen != 20)
		attest_report(report, &count, t, "authorityKeyIdentifier", "must be 20 bytes (is %zu)", idlen);

	bool hv, hp;
	uint16_t vid, pid;
	err_t e = {0};
	if (attest_get_subject_ids(crt, &hv, &vid, &hp, &pid, &e)) {
		attest_report(report, &count, t, "subject VID/PID", "%s", e.msg);
	} else {
		if (type != ATTEST_PAA && !hv)
			attest_report(report, &count, t, "subject VID", "missing (required for a %s)", t);
		if (type == ATTEST_DAC && !hp)
			attest_report(report, &count, t, "subject PID", "missing (required for a DAC)");
		if (type == ATTEST_PAA && hp)
			attest_report(report, &count, t, "subject PID", "a PAA must not carry a PID");
	}
	return count;
}

static void attest_check_issued(const mbedtls_x509_crt *child, const char *cn,
				const mbedtls_x509_crt *parent, const char *pn, buf_t *report, int *count)
{
	if (child->issuer_raw.len != parent->subject_raw.len ||
	    memcmp(child->issuer_raw.p, parent->subject_raw.p, child->issuer_raw.len))
		attest_report(report, count, cn, "issuer", "does not match the %s subject", pn);
	const uint8_t *akid, *skid;
	size_t alen, slen;
	if (x509util_get_akid(child, &akid, &alen) == 0 && x509util_get_skid(parent, &skid, &slen) == 0 &&
	    (alen != slen || memcmp(akid, skid, alen)))
		attest_report(report, count, cn, "authorityKeyIdentifier", "does not match the %s subjectKeyIdentifier", pn);
	uint8_t hash[32];
	if (child->sig_md != MBEDTLS_MD_SHA256 || mbedtls_sha256_ret(child->tbs.p, child->tbs.len, hash, 0) ||
	    mbedtls_pk_verify((mbedtls_pk_context *)&parent->pk, MBEDTLS_MD_SHA256, hash, sizeof hash,
			      child->sig.p, child->sig.len) != 0)
		attest_report(report, count, cn, "signature", "not signed by the %s key", pn);
}

static void attest_check_validity(const mbedtls_x509_crt *crt, const char *name, time_t now,
				  buf_t *report, int *count)
{
	char a[24], b[24];
	attest_format_x509_time(&crt->valid_from, a);
	attest_format_x509_time(&crt->valid_to, b);
	if (attest_x509_time(&crt->valid_from) > attest_x509_time(&crt->valid_to))
		attest_report(report, count, name, "validity", "notBefore %s is after notAfter %s", a, b);
	else if ((int64_t)now < attest_x509_time(&crt->valid_from))
		attest_report(report, count, name, "validity", "not yet valid (notBefore %s UTC)", a);
	else if ((int64_t)now > attest_x509_time(&crt->valid_to))
		attest_report(report, count, name, "validity", "expired (notAfter %s UTC)", b);
}

int attest_validate_chain(const struct attest_chain *c, buf_t *report)
{
	int count = 0;
	buf_terminate_str(report);
	count += attest_check_profile(c->dac, ATTEST_DAC, report);
	count += attest_check_profile(c->pai, ATTEST_PAI, report);
	if (c->paa)
		count += attest_check_profile(c->paa, ATTEST_PAA, report);

	attest_check_issued(c->dac, "DAC", c->pai, "PAI", report, &count);
	if (c->paa) {
		attest_check_issued(c->pai, "PAI", c->paa, "PAA", report, &count);
		attest_check_issued(c->paa, "PAA", c->paa, "PAA (self-signed)", report, &count);
	}

	attest_check_validity(c->dac, "DAC", c->now, report, &count);
	attest_check_validity(c->pai, "PAI", c->now, report, &count);
	if (c->paa)
		attest_check_validity(c->paa, "PAA", c->now, report, &count);
	int64_t dac_from = attest_x509_time(&c->dac->valid_from);
	const mbedtls_x509_crt *issuers[2] = {c->pai, c->paa};
	for (int i = 0; i < 2; i++) {
		const mbedtls_x509_crt *is = issuers[i];
		if (is && (dac_from < attest_x509_time(&is->valid_from) || dac_from > attest_x509_time(&is->valid_to)))
			attest_report(report, &count, "DAC", "validity",
				      "notBefore is outside the %s validity period", i ? "PAA" : "PAI");
	}

	bool dhv, dhp, ihv, ihp, ahv = false, ahp;
	uint16_t dvid = 0, dpid = 0, ivid = 0, ipid = 0, avid = 0, apid;
	err_t e = {0};
	bool ids_ok = !attest_get_subject_ids(c->dac, &dhv, &dvid, &dhp, &dpid, &e) &&
		      !attest_get_subject_ids(c->pai, &ihv, &ivid, &ihp, &ipid, &e) &&
		      (!c->paa || !attest_get_subject_ids(c->paa, &ahv, &avid, &ahp, &apid, &e));
	if (ids_ok && dhv && ihv) {
		if (dvid != ivid)
			attest_report(report, &count, "DAC", "VID", "DAC VID 0x%04X differs from PAI VID 0x%04X", dvid, ivid);
		if (ihp && dhp && dpid != ipid)
			attest_report(report, &count, "DAC", "PID", "DAC PID 0x%04X differs from PAI PID 0x%04X", dpid, ipid);
		if (ahv && avid != ivid)
			attest_report(report, &count, "PAI", "VID", "PAI VID 0x%04X differs from PAA VID 0x%04X", ivid, avid);
	}
	if (c->cd && ids_ok && dhv && dhp) {
		const struct attest_cd_facts *cd = c->cd;
		if (cd->has_dac_origin) {
			if (dvid != cd->dac_origin_vid)
				attest_report(report, &count, "CD", "dac_origin_vendor_id",
					      "0x%04X differs from the DAC VID 0x%04X", cd->dac_origin_vid, dvid);
			if (dpid != cd->dac_origin_pid)
				attest_report(report, &count, "CD", "dac_origin_product_id",
					      "0x%04X differs from the DAC PID 0x%04X", cd->dac_origin_pid, dpid);
			if (ihv && ivid != cd->dac_origin_vid)
				attest_report(report, &count, "CD", "dac_origin_vendor_id",
					      "0x%04X differs from the PAI VID 0x%04X", cd->dac_origin_vid, ivid);
			if (ihp && ipid != cd->dac_origin_pid)
				attest_report(report, &count, "CD", "dac_origin_product_id",
					      "0x%04X differs from the PAI PID 0x%04X", cd->dac_origin_pid, ipid);
		} else {
			if (dvid != cd->vendor_id)
				attest_report(report, &count, "CD", "vendor_id",
					      "0x%04X differs from the DAC VID 0x%04X", cd->vendor_id, dvid);
			if (ihv && ivid != cd->vendor_id)
				attest_report(report, &count, "CD", "vendor_id",
					      "0x%04X differs from the PAI VID 0x%04X", cd->vendor_id, ivid);
			bool listed = false;
			for (size_t i = 0; i < cd->product_id_count; i++)
				listed |= cd->product_ids[i] == dpid;
			if (!listed)
				attest_report(report, &count, "CD", "product_id_array",
					      "does not contain the DAC PID 0x%04X", dpid);
			bool pai_listed = !ihp;
			for (size_t i = 0; ihp && i < cd->product_id_count; i++)
				pai_listed |= cd->product_ids[i] == ipid;
			if (!pai_listed)
				attest_report(report, &count, "CD", "product_id_array",
					      "does not contain the PAI PID 0x%04X", ipid);
		}
		if (cd->authorized_paa_count) {
			const uint8_t *id = NULL;
			size_t len = 0;
			int r = c->paa ? x509util_get_skid(c->paa, &id, &len) : x509util_get_akid(c->pai, &id, &len);
			bool ok = false;
			for (size_t i = 0; r == 0 && len == 20 && i < cd->authorized_paa_count; i++)
				ok |= !memcmp(cd->authorized_paa[i], id, 20);
			if (!ok)
				attest_report(report, &count, "CD", "authorized_paa_list",
					      "does not list the PAA key identifier");
		}
	}

	if (c->dac_key) {
		if (mbedtls_pk_check_pair(&c->dac->pk, c->dac_key) != 0)
			attest_report(report, &count, "DAC", "private key",
				      "the DAC private key does not match the DAC public key");
	}
	return count;
}
