/* espfab attest: the Matter certificate tool's gen-att-cert, validate-att-cert, gen-cd and
 * print-cd, with its option names. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <mbedtls/platform_util.h>

#include "cli/cli.h"
#include "core/argscan.h"
#include "core/buf.h"
#include "core/fileio.h"
#include "core/hex.h"
#include "crypto/attest.h"
#include "crypto/cd.h"

/* Matter tool numbers for VID/PID are hex digits, with or without 0x. */
static int attest_parse_hex16(const char *s, const char *what, uint16_t *out, err_t *e)
{
	const char *p = s;
	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
		p += 2;
	char *end;
	if (!*p)
		return err_set_msg(e, ERR_USAGE, "%s: '%s' is not a hex number", what, s);
	unsigned long v = strtoul(p, &end, 16);
	if (*end || v > 0xFFFF)
		return err_set_msg(e, ERR_USAGE, "%s: '%s' is not a 16-bit hex number", what, s);
	*out = (uint16_t)v;
	return 0;
}

/* Hex with or without 0x, as the Matter tool reads level/info/version/device type. */
static int attest_parse_hex32(const char *s, const char *what, uint32_t max, uint32_t *out, err_t *e)
{
	const char *p = s;
	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
		p += 2;
	char *end;
	if (!*p)
		return err_set_msg(e, ERR_USAGE, "%s: '%s' is not a hex number", what, s);
	unsigned long long v = strtoull(p, &end, 16);
	if (*end || v > max)
		return err_set_msg(e, ERR_USAGE, "%s: '%s' is not a hex number up to 0x%X", what, s, max);
	*out = (uint32_t)v;
	return 0;
}

/* "YYYY-MM-DD [HH:MM:SS]" (also with 'T'), UTC. */
static int attest_parse_date(const char *s, time_t *out, err_t *e)
{
	struct tm tm = {0};
	int y, mo, d, h = 0, mi = 0, se = 0, n = 0;
	char sep = 0;
	int k = sscanf(s, "%4d-%2d-%2d%n", &y, &mo, &d, &n);
	if (k != 3)
		return err_set_msg(e, ERR_USAGE, "--valid-from: '%s' is not YYYY-MM-DD [HH:MM:SS]", s);
	if (s[n]) {
		int m = 0;
		if (sscanf(s + n, "%c%2d:%2d:%2d%n", &sep, &h, &mi, &se, &m) != 4 || (sep != ' ' && sep != 'T') ||
		    s[n + m])
			return err_set_msg(e, ERR_USAGE, "--valid-from: '%s' is not YYYY-MM-DD [HH:MM:SS]", s);
	}
	if (y < 1950 || y > 9999 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 59)
		return err_set_msg(e, ERR_USAGE, "--valid-from: '%s' is out of range", s);
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = se;
	*out = timegm(&tm);
	return 0;
}

enum {
	GA_TYPE = 1, GA_CN, GA_VID, GA_PID, GA_KEY, GA_CA_CERT, GA_CA_KEY, GA_OUT, GA_OUT_KEY,
	GA_VALID_FROM, GA_LIFETIME, GA_HELP,
};

static const struct argscan_opt gen_att_opts[] = {
	{"t|type", ARGSCAN_VALUE, GA_TYPE},
	{"c|subject-cn", ARGSCAN_VALUE, GA_CN},
	{"V|subject-vid", ARGSCAN_VALUE, GA_VID},
	{"P|subject-pid", ARGSCAN_VALUE, GA_PID},
	{"k|key", ARGSCAN_VALUE, GA_KEY},
	{"C|ca-cert", ARGSCAN_VALUE, GA_CA_CERT},
	{"K|ca-key", ARGSCAN_VALUE, GA_CA_KEY},
	{"o|out", ARGSCAN_VALUE, GA_OUT},
	{"O|out-key", ARGSCAN_VALUE, GA_OUT_KEY},
	{"f|valid-from", ARGSCAN_VALUE, GA_VALID_FROM},
	{"l|lifetime", ARGSCAN_VALUE, GA_LIFETIME},
	{"h|help", ARGSCAN_FLAG, GA_HELP},
	{NULL, 0, 0},
};

static int attest_gen_att_cert(int argc, char **argv, err_t *e)
{
	struct attest_cert_params p = {0};
	const char *type = NULL, *key_in = NULL, *ca_cert = NULL, *ca_key = NULL, *out = NULL,
		   *out_key = NULL, *valid_from = NULL;
	bool have_lifetime = false;
	struct argscan s;
	argscan_init(&s, argc, argv, gen_att_opts);
	const char *v;
	int id;
	while ((id = argscan_next(&s, &v, e)) != ARGSCAN_END) {
		switch (id) {
		case -1: return ERR_USAGE;
		case GA_TYPE: type = v; break;
		case GA_CN: p.subject_cn = v; break;
		case GA_VID:
			if (attest_parse_hex16(v, "--subject-vid", &p.vid, e))
				return ERR_USAGE;
			p.has_vid = true;
			break;
		case GA_PID:
			if (attest_parse_hex16(v, "--subject-pid", &p.pid, e))
				return ERR_USAGE;
			p.has_pid = true;
			break;
		case GA_KEY: key_in = v; break;
		case GA_CA_CERT: ca_cert = v; break;
		case GA_CA_KEY: ca_key = v; break;
		case GA_OUT: out = v; break;
		case GA_OUT_KEY: out_key = v; break;
		case GA_VALID_FROM: valid_from = v; break;
		case GA_LIFETIME:
			if (cli_parse_u32(v, "--lifetime", &p.lifetime_days, e))
				return ERR_USAGE;
			have_lifetime = true;
			break;
		case GA_HELP:
			printf("usage: espfab attest gen-att-cert -t a|i|d -c CN [-V VID] [-P PID] [-k KEY] "
			       "[-C CA_CERT -K CA_KEY] -o CERT_OUT [-O KEY_OUT] [-f 'YYYY-MM-DD [HH:MM:SS]'] -l DAYS\n"
			       "  -l 4294967295: no well-defined expiration; *.der outputs are DER, others PEM\n");
			return 0;
		case ARGSCAN_POSITIONAL:
			return err_set_msg(e, ERR_USAGE, "unexpected argument '%s'", v), ERR_USAGE;
		}
	}
	if (!type || strlen(type) != 1 || !strchr("aid", type[0]))
		return err_set_msg(e, ERR_USAGE, "--type: a (PAA), i (PAI) or d (DAC) is required"), ERR_USAGE;
	p.type = type[0] == 'a' ? ATTEST_PAA : type[0] == 'i' ? ATTEST_PAI : ATTEST_DAC;
	/* A VID/PID of 0 counts as not given, as in the Matter tool. */
	p.has_vid = p.has_vid && p.vid != 0;
	p.has_pid = p.has_pid && p.pid != 0;
	if (!out)
		return err_set_msg(e, ERR_USAGE, "--out is required"), ERR_USAGE;
	if (!key_in && !out_key)
		return err_set_msg(e, ERR_USAGE, "--out-key is required when no --key is given"), ERR_USAGE;
	if (!have_lifetime)
		return err_set_msg(e, ERR_USAGE, "--lifetime is required"), ERR_USAGE;
	if (p.type != ATTEST_PAA && (!ca_cert || !ca_key))
		return err_set_msg(e, ERR_USAGE, "--ca-cert and --ca-key are required for a %s",
				   attest_name_type(p.type)), ERR_USAGE;
	if (p.type == ATTEST_PAA && (ca_cert || ca_key))
		return err_set_msg(e, ERR_USAGE, "a PAA is self-signed: no --ca-cert/--ca-key"), ERR_USAGE;
	if (access(out, F_OK) == 0)
		return err_set_msg(e, ERR_USAGE, "%s already exists; remove it to replace it", out), ERR_USAGE;
	if (out_key && access(out_key, F_OK) == 0)
		return err_set_msg(e, ERR_USAGE, "%s already exists; remove it to replace it", out_key), ERR_USAGE;
	if (valid_from) {
		if (attest_parse_date(valid_from, &p.valid_from, e))
			return ERR_USAGE;
	} else {
		p.valid_from = time(NULL) / 86400 * 86400; /* today, 00:00:00 UTC */
	}

	mbedtls_pk_context key, cakey;
	mbedtls_x509_crt cacrt;
	mbedtls_pk_init(&key);
	mbedtls_pk_init(&cakey);
	mbedtls_x509_crt_init(&cacrt);
	buf_t der = BUF_INIT;
	int rc = ERR_CHECK;
	if (key_in ? attest_read_key_file(key_in, &key, e) : attest_generate_key(&key, e))
		goto done;
	if (ca_cert && (attest_read_cert_file(ca_cert, &cacrt, e) || attest_read_key_file(ca_key, &cakey, e)))
		goto done;
	if (attest_make_cert(&p, &key, ca_cert ? &cacrt : NULL, ca_cert ? &cakey : NULL, &der, e))
		goto done;
	if (out_key && attest_write_key_file(out_key, &key, e))
		goto done;
	if (attest_write_cert_file(out, der.data, der.len, e))
		goto done;
	rc = 0;
done:
	buf_free_data(&der);
	mbedtls_pk_free(&key);
	mbedtls_pk_free(&cakey);
	mbedtls_x509_crt_free(&cacrt);
	return rc && e->code ? e->code : rc;
}

enum { VA_DAC = 1, VA_PAI, VA_PAA, VA_CD, VA_DAC_KEY, VA_HELP };

static const struct argscan_opt validate_opts[] = {
	{"d|dac", ARGSCAN_VALUE, VA_DAC},
	{"i|pai", ARGSCAN_VALUE, VA_PAI},
	{"a|paa", ARGSCAN_VALUE, VA_PAA},
	{"c|cd", ARGSCAN_VALUE, VA_CD},
	{"k|dac-key", ARGSCAN_VALUE, VA_DAC_KEY},
	{"h|help", ARGSCAN_FLAG, VA_HELP},
	{NULL, 0, 0},
};

static int attest_validate_att_cert(int argc, char **argv, err_t *e)
{
	const char *dac = NULL, *pai = NULL, *paa = NULL, *cd = NULL, *dac_key = NULL;
	struct argscan s;
	argscan_init(&s, argc, argv, validate_opts);
	const char *v;
	int id;
	while ((id = argscan_next(&s, &v, e)) != ARGSCAN_END) {
		switch (id) {
		case -1: return ERR_USAGE;
		case VA_DAC: dac = v; break;
		case VA_PAI: pai = v; break;
		case VA_PAA: paa = v; break;
		case VA_CD: cd = v; break;
		case VA_DAC_KEY: dac_key = v; break;
		case VA_HELP:
			printf("usage: espfab attest validate-att-cert --dac F --pai F [--paa F] [--cd F] [--dac-key F]\n");
			return 0;
		case ARGSCAN_POSITIONAL:
			return err_set_msg(e, ERR_USAGE, "unexpected argument '%s'", v), ERR_USAGE;
		}
	}
	if (!dac || !pai)
		return err_set_msg(e, ERR_USAGE, "--dac and --pai are required"), ERR_USAGE;
	mbedtls_x509_crt cdac, cpai, cpaa;
	mbedtls_pk_context key;
	mbedtls_x509_crt_init(&cdac);
	mbedtls_x509_crt_init(&cpai);
	mbedtls_x509_crt_init(&cpaa);
	mbedtls_pk_init(&key);
	struct cd_content cdc;
	struct attest_cd_facts facts;
	buf_t report = BUF_INIT, cdbuf = BUF_INIT;
	int rc = ERR_CHECK;
	if (attest_read_cert_file(dac, &cdac, e) || attest_read_cert_file(pai, &cpai, e) ||
	    (paa && attest_read_cert_file(paa, &cpaa, e)) || (dac_key && attest_read_key_file(dac_key, &key, e)))
		goto done;
	if (cd) {
		if (fileio_read_file(cd, &cdbuf, e) || cd_parse_cms(cdbuf.data, cdbuf.len, &cdc, NULL, e)) {
			err_prepend_context(e, "%s", cd);
			goto done;
		}
		cd_get_facts(&cdc, &facts);
	}
	struct attest_chain chain = {
		.dac = &cdac, .pai = &cpai, .paa = paa ? &cpaa : NULL, .cd = cd ? &facts : NULL,
		.dac_key = dac_key ? &key : NULL, .now = time(NULL),
	};
	int n = attest_validate_chain(&chain, &report);
	if (n) {
		fputs((char *)report.data, stdout);
		err_set_msg(e, ERR_CHECK, "%d attestation rule%s broken", n, n == 1 ? "" : "s");
		goto done;
	}
	printf("DAC -> PAI%s chain valid%s%s\n", paa ? " -> PAA" : "", cd ? ", CD consistent" : "",
	       dac_key ? ", DAC key matches" : "");
	rc = 0;
done:
	buf_free_data(&report);
	buf_free_data(&cdbuf);
	mbedtls_x509_crt_free(&cdac);
	mbedtls_x509_crt_free(&cpai);
	mbedtls_x509_crt_free(&cpaa);
	mbedtls_pk_free(&key);
	return rc;
}

enum {
	CD_KEY = 1, CD_CERT, CD_OUT, CD_FORMAT, CD_VID, CD_PID, CD_DEVTYPE, CD_CERTID, CD_SECLEVEL,
	CD_SECINFO, CD_VERSION, CD_CERTTYPE, CD_ORIGIN_VID, CD_ORIGIN_PID, CD_PAA, CD_HELP,
};

static const struct argscan_opt gen_cd_opts[] = {
	{"K|key", ARGSCAN_VALUE, CD_KEY},
	{"C|cert", ARGSCAN_VALUE, CD_CERT},
	{"O|out", ARGSCAN_VALUE, CD_OUT},
	{"f|format-version", ARGSCAN_VALUE, CD_FORMAT},
	{"V|vendor-id", ARGSCAN_VALUE, CD_VID},
	{"p|product-id", ARGSCAN_VALUE, CD_PID},
	{"d|device-type-id", ARGSCAN_VALUE, CD_DEVTYPE},
	{"c|certificate-id", ARGSCAN_VALUE, CD_CERTID},
	{"l|security-level", ARGSCAN_VALUE, CD_SECLEVEL},
	{"i|security-info", ARGSCAN_VALUE, CD_SECINFO},
	{"n|version-number", ARGSCAN_VALUE, CD_VERSION},
	{"t|certification-type", ARGSCAN_VALUE, CD_CERTTYPE},
	{"o|dac-origin-vendor-id", ARGSCAN_VALUE, CD_ORIGIN_VID},
	{"r|dac-origin-product-id", ARGSCAN_VALUE, CD_ORIGIN_PID},
	{"a|authorized-paa-cert", ARGSCAN_VALUE, CD_PAA},
	{"h|help", ARGSCAN_FLAG, CD_HELP},
	{NULL, 0, 0},
};

static int attest_gen_cd(int argc, char **argv, err_t *e)
{
	struct cd_content c;
	memset(&c, 0, sizeof c);
	c.format_version = 1;
	const char *key_path = NULL, *cert_path = NULL, *out = NULL;
	const char *paa_paths[CD_MAX_PAA];
	size_t paa_count = 0;
	bool have_vid = false, have_dt = false, have_cid = false, have_ver = false, have_type = false,
	     have_ovid = false, have_opid = false;
	struct argscan s;
	argscan_init(&s, argc, argv, gen_cd_opts);
	const char *v;
	int id;
	uint16_t h16;
	uint32_t u32 = 0;
	while ((id = argscan_next(&s, &v, e)) != ARGSCAN_END) {
		switch (id) {
		case -1: return ERR_USAGE;
		case CD_KEY: key_path = v; break;
		case CD_CERT: cert_path = v; break;
		case CD_OUT: out = v; break;
		case CD_FORMAT:
			if (cli_parse_u32(v, "--format-version", &u32, e) || u32 > 255)
				return err_set_msg(e, ERR_USAGE, "--format-version: '%s' is not 0..255", v), ERR_USAGE;
			c.format_version = (uint8_t)u32;
			break;
		case CD_VID:
			if (attest_parse_hex16(v, "--vendor-id", &c.vendor_id, e))
				return ERR_USAGE;
			have_vid = true;
			break;
		case CD_PID:
			if (c.product_id_count >= CD_MAX_PIDS)
				return err_set_msg(e, ERR_USAGE, "--product-id: at most %d", CD_MAX_PIDS), ERR_USAGE;
			if (attest_parse_hex16(v, "--product-id", &h16, e))
				return ERR_USAGE;
			c.product_ids[c.product_id_count++] = h16;
			break;
		case CD_DEVTYPE:
			if (attest_parse_hex32(v, "--device-type-id", 0xFFFFFFFFu, &c.device_type_id, e))
				return ERR_USAGE;
			have_dt = true;
			break;
		case CD_CERTID:
			if (strlen(v) >= sizeof c.certificate_id)
				return err_set_msg(e, ERR_USAGE, "--certificate-id: '%s' is longer than %d", v, CD_CERT_ID_LEN), ERR_USAGE;
			strcpy(c.certificate_id, v);
			have_cid = true;
			break;
		case CD_SECLEVEL:
			if (attest_parse_hex32(v, "--security-level", 0xFF, &u32, e))
				return ERR_USAGE;
			c.security_level = (uint8_t)u32;
			break;
		case CD_SECINFO:
			if (attest_parse_hex32(v, "--security-info", 0xFFFF, &u32, e))
				return ERR_USAGE;
			c.security_information = (uint16_t)u32;
			break;
		case CD_VERSION:
			if (attest_parse_hex32(v, "--version-number", 0xFFFF, &u32, e))
				return ERR_USAGE;
			c.version_number = (uint16_t)u32;
			have_ver = true;
			break;
		case CD_CERTTYPE:
			if (cli_parse_u32(v, "--certification-type", &u32, e) || u32 > 2)
				return err_set_msg(e, ERR_USAGE, "--certification-type: '%s' is not 0, 1 or 2", v), ERR_USAGE;
			c.certification_type = (uint8_t)u32;
			have_type = true;
			break;
		case CD_ORIGIN_VID:
			if (attest_parse_hex16(v, "--dac-origin-vendor-id", &c.dac_origin_vid, e))
				return ERR_USAGE;
			have_ovid = true;
			break;
		case CD_ORIGIN_PID:
			if (attest_parse_hex16(v, "--dac-origin-product-id", &c.dac_origin_pid, e))
				return ERR_USAGE;
			have_opid = true;
			break;
		case CD_PAA:
			if (paa_count >= CD_MAX_PAA)
				return err_set_msg(e, ERR_USAGE, "--authorized-paa-cert: at most %d", CD_MAX_PAA), ERR_USAGE;
			paa_paths[paa_count++] = v;
			break;
		case CD_HELP:
			printf("usage: espfab attest gen-cd -K KEY -C CERT -O OUT -f FORMAT -V VID -p PID [-p PID ...] "
			       "-d DEVICE_TYPE -c CERT_ID -l SECURITY_LEVEL -i SECURITY_INFO -n VERSION -t CERT_TYPE "
			       "[-o DAC_ORIGIN_VID -r DAC_ORIGIN_PID] [-a PAA_CERT ...]\n");
			return 0;
		case ARGSCAN_POSITIONAL:
			return err_set_msg(e, ERR_USAGE, "unexpected argument '%s'", v), ERR_USAGE;
		}
	}
	if (!key_path || !cert_path || !out)
		return err_set_msg(e, ERR_USAGE, "--key, --cert and --out are required"), ERR_USAGE;
	if (!have_vid || !c.product_id_count || !have_dt || !have_cid || !have_ver || !have_type)
		return err_set_msg(e, ERR_USAGE, "missing %s", !have_vid ? "--vendor-id" : !c.product_id_count ? "--product-id"
				   : !have_dt ? "--device-type-id" : !have_cid ? "--certificate-id"
				   : !have_ver ? "--version-number" : "--certification-type"), ERR_USAGE;
	if (have_ovid != have_opid)
		return err_set_msg(e, ERR_USAGE, "--dac-origin-vendor-id and --dac-origin-product-id go together"), ERR_USAGE;
	c.has_dac_origin = have_ovid;

	mbedtls_pk_context key;
	mbedtls_x509_crt crt, paa;
	mbedtls_pk_init(&key);
	mbedtls_x509_crt_init(&crt);
	buf_t der = BUF_INIT;
	int rc = ERR_CHECK;
	for (size_t i = 0; i < paa_count; i++) {
		const uint8_t *skid;
		size_t len;
		mbedtls_x509_crt_init(&paa);
		int bad = attest_read_cert_file(paa_paths[i], &paa, e) || attest_get_skid(&paa, &skid, &len, e);
		if (!bad && len != 20)
			bad = err_set_msg(e, ERR_CHECK, "subjectKeyIdentifier is %zu bytes, 20 expected", len);
		if (!bad)
			memcpy(c.authorized_paa[c.authorized_paa_count++], skid, 20);
		mbedtls_x509_crt_free(&paa);
		if (bad) {
			err_prepend_context(e, "%s", paa_paths[i]);
			goto done;
		}
	}
	if (attest_read_key_file(key_path, &key, e) || attest_read_cert_file(cert_path, &crt, e))
		goto done;
	if (cd_generate(&c, &key, &crt, &der, e))
		goto done;
	if (!strcmp(out, "-")) {
		/* As the Matter tool: "-" writes the CMS message to stdout. */
		if (fwrite(der.data, 1, der.len, stdout) != der.len || fflush(stdout)) {
			err_set_msg(e, ERR_CHECK, "writing the CD to stdout failed");
			goto done;
		}
	} else if (fileio_write_atomic(out, der.data, der.len, FILEIO_MODE_PUBLIC, e)) {
		goto done;
	}
	rc = 0;
done:
	buf_free_data(&der);
	mbedtls_pk_free(&key);
	mbedtls_x509_crt_free(&crt);
	return rc && e->code ? e->code : rc;
}

enum { PC_CERT = 1, PC_HELP };

static const struct argscan_opt print_cd_opts[] = {
	{"C|c|cert", ARGSCAN_VALUE, PC_CERT},
	{"h|help", ARGSCAN_FLAG, PC_HELP},
	{NULL, 0, 0},
};

static int attest_print_cd(int argc, char **argv, err_t *e)
{
	const char *file = NULL, *cert = NULL;
	struct argscan s;
	argscan_init(&s, argc, argv, print_cd_opts);
	const char *v;
	int id;
	while ((id = argscan_next(&s, &v, e)) != ARGSCAN_END) {
		switch (id) {
		case -1: return ERR_USAGE;
		case PC_CERT: cert = v; break;
		case PC_HELP:
			printf("usage: espfab attest print-cd [--cert SIGNER_CERT] FILE\n");
			return 0;
		case ARGSCAN_POSITIONAL:
			if (file)
				return err_set_msg(e, ERR_USAGE, "unexpected argument '%s'", v), ERR_USAGE;
			file = v;
			break;
		}
	}
	if (!file)
		return err_set_msg(e, ERR_USAGE, "a CD file is required"), ERR_USAGE;
	buf_t der = BUF_INIT, text = BUF_INIT;
	mbedtls_x509_crt crt;
	mbedtls_x509_crt_init(&crt);
	struct cd_content c;
	int rc = ERR_CHECK;
	if (fileio_read_file(file, &der, e))
		goto done;
	if (cert && attest_read_cert_file(cert, &crt, e))
		goto done;
	if (cd_parse_cms(der.data, der.len, &c, cert ? &crt : NULL, e)) {
		err_prepend_context(e, "%s", file);
		goto done;
	}
	cd_format_text(&c, &text);
	fputs((char *)text.data, stdout);
	if (cert)
		printf("signature: verified with %s\n", cert);
	rc = 0;
done:
	buf_free_data(&der);
	buf_free_data(&text);
	mbedtls_x509_crt_free(&crt);
	return rc;
}

static int cmd_attest_run(int argc, char **argv, err_t *e)
{
	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		FILE *f = argc < 2 ? stderr : stdout;
		fprintf(f, "usage: espfab attest gen-att-cert|validate-att-cert|gen-cd|print-cd [options]\n");
		return argc < 2 ? ERR_USAGE : 0;
	}
	const char *sub = argv[1];
	if (!strcmp(sub, "gen-att-cert"))
		return attest_gen_att_cert(argc - 1, argv + 1, e);
	if (!strcmp(sub, "validate-att-cert"))
		return attest_validate_att_cert(argc - 1, argv + 1, e);
	if (!strcmp(sub, "gen-cd"))
		return attest_gen_cd(argc - 1, argv + 1, e);
	if (!strcmp(sub, "print-cd"))
		return attest_print_cd(argc - 1, argv + 1, e);
	err_set_msg(e, ERR_USAGE, "unknown operation '%s'", sub);
	return ERR_USAGE;
}

CLI_COMMAND(attest, "attest", 80, "gen-att-cert|validate-att-cert|gen-cd|print-cd (Matter certificate tool)",
	    cmd_attest_run)
