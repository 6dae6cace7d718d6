#include "formats/seccert_describe.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/oid.h>
#include <mbedtls/pk.h>
#include <mbedtls/sha256.h>
#include <mbedtls/x509_crt.h>

#include "core/checksum.h"
#include "core/hex.h"
#include "crypto/keyfile.h"

#define DESCRIBE_HEX_MAX 64

static void describe_set_sha256(json_t *o, const uint8_t *p, size_t n)
{
	uint8_t d[32];
	char hex[65];
	mbedtls_sha256_ret(p, n, d, 0);
	hex_encode_bytes(d, sizeof d, hex);
	json_object_set_new(o, "sha256", json_string(hex));
}

static void describe_set_hex(json_t *o, const char *key, const uint8_t *p, size_t n)
{
	char *hex = mem_alloc_zeroed(2 * n + 1);
	hex_encode_bytes(p, n, hex);
	json_object_set_new(o, key, json_string(hex));
	free(hex);
}

static void describe_set_time(json_t *o, const char *key, const mbedtls_x509_time *t)
{
	char s[32];
	snprintf(s, sizeof s, "%04d-%02d-%02d %02d:%02d:%02d", t->year, t->mon, t->day, t->hour,
		 t->min, t->sec);
	json_object_set_new(o, key, json_string(s));
}

/* Like mbedtls_x509_dn_gets, but names the Matter attributes (VID, PID, ...) and shows other
 * unknown attribute types as dotted OIDs instead of "??". */
static void describe_dn(const mbedtls_x509_name *name, char *out, size_t n)
{
	static const struct {
		const char *dotted;
		const char *label;
	} matter[] = {
		{"1.3.6.1.4.1.37244.1.1", "matter-node-id"}, {"1.3.6.1.4.1.37244.1.3", "matter-icac-id"},
		{"1.3.6.1.4.1.37244.1.4", "matter-rcac-id"}, {"1.3.6.1.4.1.37244.1.5", "matter-fabric-id"},
		{"1.3.6.1.4.1.37244.2.1", "VID"},            {"1.3.6.1.4.1.37244.2.2", "PID"},
	};
	size_t used = 0;
	out[0] = 0;
	for (; name; name = name->next) {
		if (!name->oid.p)
			continue;
		const char *label = NULL;
		char dotted[64] = "";
		if (mbedtls_oid_get_attr_short_name(&name->oid, &label) != 0) {
			mbedtls_oid_get_numeric_string(dotted, sizeof dotted, &name->oid);
			label = dotted;
			for (size_t i = 0; i < sizeof matter / sizeof matter[0]; i++)
				if (strcmp(dotted, matter[i].dotted) == 0)
					label = matter[i].label;
		}
		char val[256];
		size_t vl = name->val.len < sizeof val - 1 ? name->val.len : sizeof val - 1;
		for (size_t i = 0; i < vl; i++) {
			unsigned char c = name->val.p[i];
			val[i] = (c < 0x20 || c > 0x7e) ? '?' : (char)c;
		}
		val[vl] = 0;
		int w = snprintf(out + used, n - used, "%s%s=%s", used ? ", " : "", label, val);
		if (w < 0 || (size_t)w >= n - used)
			return;
		used += (size_t)w;
	}
}

static void describe_certificate(json_t *o, const buf_t *v)
{
	err_t e = {0};
	buf_t der = BUF_INIT;
	enum keyfile_encoding enc;
	json_object_set_new(o, "kind", json_string("certificate"));
	if (keyfile_load_cert(v->data, v->len, "value", &der, &enc, &e)) {
		json_object_set_new(o, "error", json_string(e.msg));
		buf_free_data(&der);
		return;
	}
	json_object_set_new(o, "encoding", json_string(enc == KEYFILE_PEM ? "pem" : "der"));
	mbedtls_x509_crt crt;
	mbedtls_x509_crt_init(&crt);
	if (mbedtls_x509_crt_parse_der(&crt, der.data, der.len) == 0) {
		char dn[512];
		describe_dn(&crt.subject, dn, sizeof dn);
		json_object_set_new(o, "subject", json_string(dn));
		describe_dn(&crt.issuer, dn, sizeof dn);
		json_object_set_new(o, "issuer", json_string(dn));
		describe_set_hex(o, "serial", crt.serial.p, crt.serial.len);
		describe_set_time(o, "not_before", &crt.valid_from);
		describe_set_time(o, "not_after", &crt.valid_to);
		describe_set_sha256(o, der.data, der.len);
	}
	mbedtls_x509_crt_free(&crt);
	buf_free_data(&der);
}

static void describe_private_key(json_t *o, const struct seccert_entry *en)
{
	json_object_set_new(o, "kind", json_string("private_key"));
	const char *storage = "plaintext";
	if (en->flags & SECCERT_FLAG_HMAC_ENCRYPTED)
		storage = "hmac_encrypted";
	else if (en->flags & SECCERT_FLAG_HMAC_DERIVED_ECDSA)
		storage = "hmac_derived_ecdsa";
	else if (en->flags & SECCERT_FLAG_ECDSA_PERIPHERAL)
		storage = "ecdsa_peripheral";
	json_object_set_new(o, "storage", json_string(storage));
	if (en->length == 0)
		return;
	describe_set_sha256(o, en->value.data, en->value.len);
	if (en->flags & (SECCERT_FLAG_HMAC_ENCRYPTED | SECCERT_FLAG_HMAC_DERIVED_ECDSA))
		return;
	mbedtls_pk_context pk;
	mbedtls_pk_init(&pk);
	err_t e = {0};
	enum keyfile_encoding enc;
	if (keyfile_load_private_key(en->value.data, en->value.len, NULL, "value", &pk, &enc, &e) == 0) {
		char kt[32];
		json_object_set_new(o, "encoding", json_string(enc == KEYFILE_PEM ? "pem" : "der"));
		if (mbedtls_pk_get_type(&pk) == MBEDTLS_PK_RSA)
			snprintf(kt, sizeof kt, "RSA %zu", mbedtls_pk_get_bitlen(&pk));
		else
			snprintf(kt, sizeof kt, "EC P-%zu", mbedtls_pk_get_bitlen(&pk));
		json_object_set_new(o, "key_type", json_string(kt));
	} else {
		json_object_set_new(o, "error", json_string("value is not a readable private key"));
	}
	mbedtls_pk_free(&pk);
}

static void describe_raw(json_t *o, const struct seccert_entry *en, bool secret)
{
	json_object_set_new(o, "kind", json_string(secret ? "secret" : "data"));
	if (secret || en->length > DESCRIBE_HEX_MAX) {
		describe_set_sha256(o, en->value.data, en->value.len);
		return;
	}
	describe_set_hex(o, "hex", en->value.data, en->value.len);
	bool printable = en->length > 0;
	for (size_t i = 0; i < en->length; i++)
		if (en->value.data[i] < 0x20 || en->value.data[i] > 0x7e)
			printable = false;
	if (printable)
		json_object_set_new(o, "text", json_stringn((const char *)en->value.data, en->length));
}

json_t *seccert_describe_entry(const struct seccert_entry *en)
{
	json_t *o = json_object();
	const char *name = seccert_name_type(en->type);
	json_object_set_new(o, "offset", json_integer((json_int_t)en->offset));
	json_object_set_new(o, "type", json_integer(en->type));
	json_object_set_new(o, "type_name", name ? json_string(name) : json_null());
	json_object_set_new(o, "subtype", json_integer(en->subtype));
	json_object_set_new(o, "flags", json_integer(en->flags));
	json_object_set_new(o, "length", json_integer((json_int_t)en->length));
	json_object_set_new(o, "crc", json_integer(en->crc));
	const uint8_t *v = en->value.data;
	if (en->flags & SECCERT_FLAG_HMAC_ENCRYPTED && en->type != SECCERT_TYPE_PRIV_KEY) {
		describe_raw(o, en, true);
		return o;
	}
	switch (en->type) {
	case SECCERT_TYPE_CA_CERT:
	case SECCERT_TYPE_DEV_CERT:
		describe_certificate(o, &en->value);
		break;
	case SECCERT_TYPE_PRIV_KEY:
		describe_private_key(o, en);
		break;
	case SECCERT_TYPE_DS_DATA:
		json_object_set_new(o, "kind", json_string("ds_data"));
		if (en->length >= 20) {
			json_object_set_new(o, "rsa_bits",
					    json_integer(((json_int_t)checksum_read_u32le(v) + 1) * 32));
			describe_set_hex(o, "iv", v + 4, 16);
			json_object_set_new(o, "ciphertext_length", json_integer((json_int_t)en->length - 20));
		}
		describe_set_sha256(o, v, en->length);
		break;
	case SECCERT_TYPE_DS_CONTEXT:
		json_object_set_new(o, "kind", json_string("ds_context"));
		if (en->length >= 8) {
			json_object_set_new(o, "efuse_key_id", json_integer(v[4]));
			json_object_set_new(o, "rsa_bits", json_integer(checksum_read_u16le(v + 6)));
		}
		break;
	case SECCERT_TYPE_SEC_CFG:
		json_object_set_new(o, "kind", json_string("sec_cfg"));
		if (en->length >= 1) {
			json_object_set_new(o, "efuse_block", json_integer(v[0]));
			if (v[0] >= 4 && v[0] <= 9) {
				char blk[16];
				snprintf(blk, sizeof blk, "BLOCK_KEY%u", v[0] - 4u);
				json_object_set_new(o, "efuse_key_block", json_string(blk));
			}
		}
		break;
	case SECCERT_TYPE_INTEGRITY:
		json_object_set_new(o, "kind", json_string("integrity"));
		describe_set_hex(o, "hex", v, en->length);
		break;
	case SECCERT_TYPE_TEE_SEC_STORAGE_KEY:
		describe_raw(o, en, true);
		break;
	default:
		describe_raw(o, en, false);
		break;
	}
	return o;
}

json_t *seccert_describe_image(const struct seccert_image *img)
{
	static const char *const layouts[] = {"empty", "tlv", "legacy", "legacy_ds"};
	json_t *o = json_object();
	/* Nothing recognisable but not erased either: not "empty". */
	bool unknown = img->layout == SECCERT_LAYOUT_EMPTY && img->defect_count;
	json_object_set_new(o, "layout", json_string(unknown ? "unknown" : layouts[img->layout]));
	json_object_set_new(o, "used_bytes", json_integer((json_int_t)img->used_len));
	json_object_set_new(o, "integrity_checked", json_boolean(img->integrity_checked));
	json_t *arr = json_array();
	for (size_t i = 0; i < img->count; i++)
		json_array_append_new(arr, seccert_describe_entry(&img->entries[i]));
	json_object_set_new(o, "entries", arr);
	if (img->defect_count) { /* only when damaged: a sound image's document stays as it was */
		json_t *defs = json_array();
		for (size_t i = 0; i < img->defect_count; i++) {
			json_t *d = json_object();
			json_object_set_new(d, "offset", json_integer((json_int_t)img->defects[i].offset));
			json_object_set_new(d, "defect", json_string(img->defects[i].text));
			json_array_append_new(defs, d);
		}
		json_object_set_new(o, "defects", defs);
	}
	return o;
}

static void describe_append_text(buf_t *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void describe_append_text(buf_t *out, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	buf_append_str(out, line);
}

static const char *describe_get_str(const json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s ? s : "";
}

void seccert_format_text(const json_t *desc, buf_t *out)
{
	json_t *entries = json_object_get(desc, "entries");
	describe_append_text(out, "esp_secure_cert: %s layout, %zu entries", describe_get_str(desc, "layout"),
		    json_array_size(entries));
	size_t i;
	json_t *en;
	bool has_integrity = false;
	json_array_foreach(entries, i, en)
		has_integrity = has_integrity || !strcmp(describe_get_str(en, "kind"), "integrity");
	if (strcmp(describe_get_str(desc, "layout"), "tlv") == 0)
		describe_append_text(out, ", %lld bytes used, integrity %s",
			    (long long)json_integer_value(json_object_get(desc, "used_bytes")),
			    json_is_true(json_object_get(desc, "integrity_checked")) ? "verified"
			    : has_integrity ? "MISMATCH" : "not present");
	buf_append_str(out, "\n");
	json_array_foreach(entries, i, en)
	{
		const char *name = describe_get_str(en, "type_name");
		char tn[24];
		if (!*name) {
			snprintf(tn, sizeof tn, "TYPE_%lld", (long long)json_integer_value(json_object_get(en, "type")));
			name = tn;
		}
		describe_append_text(out, "  0x%04llx  %-16s sub %-3lld flags 0x%02llx %5lld bytes  ",
			    (long long)json_integer_value(json_object_get(en, "offset")), name,
			    (long long)json_integer_value(json_object_get(en, "subtype")),
			    (long long)json_integer_value(json_object_get(en, "flags")),
			    (long long)json_integer_value(json_object_get(en, "length")));
		const char *kind = describe_get_str(en, "kind");
		if (strcmp(kind, "certificate") == 0)
			describe_append_text(out, "%s certificate, subject \"%s\", issuer \"%s\", valid %s .. %s",
				    describe_get_str(en, "encoding"), describe_get_str(en, "subject"), describe_get_str(en, "issuer"),
				    describe_get_str(en, "not_before"), describe_get_str(en, "not_after"));
		else if (strcmp(kind, "private_key") == 0)
			describe_append_text(out, "private key (%s%s%s%s), sha256 %s", describe_get_str(en, "storage"),
				    *describe_get_str(en, "key_type") ? ", " : "", describe_get_str(en, "key_type"),
				    *describe_get_str(en, "encoding") ? (strcmp(describe_get_str(en, "encoding"), "pem") ? ", DER" : ", PEM") : "",
				    *describe_get_str(en, "sha256") ? describe_get_str(en, "sha256") : "-");
		else if (strcmp(kind, "ds_data") == 0)
			describe_append_text(out, "DS data, RSA %lld, ciphertext %lld bytes, sha256 %s",
				    (long long)json_integer_value(json_object_get(en, "rsa_bits")),
				    (long long)json_integer_value(json_object_get(en, "ciphertext_length")),
				    describe_get_str(en, "sha256"));
		else if (strcmp(kind, "ds_context") == 0)
			describe_append_text(out, "DS context, eFuse key id %lld, RSA %lld",
				    (long long)json_integer_value(json_object_get(en, "efuse_key_id")),
				    (long long)json_integer_value(json_object_get(en, "rsa_bits")));
		else if (strcmp(kind, "sec_cfg") == 0)
			describe_append_text(out, "security config, key in eFuse block %lld (%s)",
				    (long long)json_integer_value(json_object_get(en, "efuse_block")),
				    describe_get_str(en, "efuse_key_block"));
		else if (strcmp(kind, "integrity") == 0)
			describe_append_text(out, "integrity sha256 %s", describe_get_str(en, "hex"));
		else if (*describe_get_str(en, "text"))
			describe_append_text(out, "\"%s\"", describe_get_str(en, "text"));
		else if (*describe_get_str(en, "hex"))
			describe_append_text(out, "%s", describe_get_str(en, "hex"));
		else
			describe_append_text(out, "%s, sha256 %s", strcmp(kind, "secret") ? "data" : "secret",
				    describe_get_str(en, "sha256"));
		if (*describe_get_str(en, "error"))
			describe_append_text(out, " [%s]", describe_get_str(en, "error"));
		buf_append_str(out, "\n");
	}
	json_array_foreach(json_object_get(desc, "defects"), i, en)
		describe_append_text(out, "  defect: %s\n", describe_get_str(en, "defect"));
}
