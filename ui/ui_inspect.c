#include "ui_inspect.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <csv.h>
#include <mbedtls/sha256.h>

#include "core/buf.h"
#include "core/checksum.h"
#include "core/fileio.h"
#include "core/hex.h"
#include "formats/seccert.h"
#include "formats/seccert_describe.h"
#include "ui_deps.h"

#include "formats/parttable.h"
#include "formats/nvs.h"
#include "formats/nvs_read.h"
#include "formats/payload.h"

#define UI_NVS_PAGE 4096u
#define UI_TABLE_DEFAULT_OFFSET 0x8000u

int ui_inspect_is_secret_key(const char *key)
{
	if (!key)
		return 0;
	char low[64];
	size_t i;
	for (i = 0; key[i] && i + 1 < sizeof low; i++)
		low[i] = (char)tolower((unsigned char)key[i]);
	low[i] = 0;
	if (strstr(low, "priv") || strstr(low, "secret") || strstr(low, "passcode") ||
	    strstr(low, "passwd") || strstr(low, "password"))
		return 1;
	/* the rotating device ID's unique ID must never leave the device (Matter core spec) */
	if (strstr(low, "rd-id-uid") || strstr(low, "rotating"))
		return 1;
	/* "dac-key", "nvs_key", "hmac_key"... but not public keys nor key ids */
	size_t n = strlen(low);
	if (n >= 3 && !strcmp(low + n - 3, "key") && !strstr(low, "pub"))
		return 1;
	return 0;
}

static void ui_set_sha256(json_t *o, const uint8_t *p, size_t n)
{
	uint8_t d[32];
	char hex[65];
	mbedtls_sha256_ret(p, n, d, 0);
	hex_encode_bytes(d, sizeof d, hex);
	json_object_set_new(o, "sha256", json_string(hex));
}

static json_t *ui_hidden_value(const uint8_t *p, size_t n)
{
	json_t *o = json_object();
	json_object_set_new(o, "hidden", json_string("secret: value not shown"));
	json_object_set_new(o, "length", json_integer((json_int_t)n));
	ui_set_sha256(o, p, n);
	return o;
}

/* A DER certificate (starts with SEQUENCE, long form length) summarised like the secure
 * cert's: subject, issuer, validity. */
static int ui_looks_like_der_cert(const uint8_t *p, size_t n)
{
	return n > 64 && p[0] == 0x30 && (p[1] == 0x82 || p[1] == 0x81);
}

static json_t *ui_describe_cert(const uint8_t *p, size_t n)
{
	struct seccert_entry en;
	memset(&en, 0, sizeof en);
	en.type = SECCERT_TYPE_DEV_CERT;
	en.length = n;
	buf_append_bytes(&en.value, p, n);
	json_t *d = seccert_describe_entry(&en);
	buf_free_data(&en.value);
	/* the entry-level fields (offset, crc, tlv type) mean nothing for an NVS value */
	json_object_del(d, "offset");
	json_object_del(d, "crc");
	json_object_del(d, "flags");
	json_object_del(d, "type");
	json_object_del(d, "type_name");
	json_object_del(d, "subtype");
	return d;
}

/* ---- esp_secure_cert ---- */

static int ui_is_seccert(const uint8_t *p, size_t n)
{
	if (n < 4)
		return 0;
	uint32_t w = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
	return w == SECCERT_TLV_MAGIC || w == SECCERT_LEGACY_MAGIC_WORD;
}

static void ui_decode_seccert(json_t *part, const uint8_t *p, size_t n)
{
	struct seccert_image img;
	err_t e = {0};
	memset(&img, 0, sizeof img);
	int rc = seccert_parse_image(p, n, SECCERT_PARSE_ALLOW_TRAILING, &img, &e);
	if (rc == 0) {
		json_object_set_new(part, "decoded", seccert_describe_image(&img));
		json_object_set_new(part, "status",
				    json_string(img.layout == SECCERT_LAYOUT_EMPTY ? "empty" : "ok"));
	} else {
		json_object_set_new(part, "status", json_string("corrupt"));
		json_object_set_new(part, "problem", json_string(e.msg));
		/* what was sound before the damage is still worth showing */
		if (img.count)
			json_object_set_new(part, "decoded", seccert_describe_image(&img));
	}
	seccert_image_free(&img);
}

/* ---- NVS ---- */

/* Whole pages with a known page state; or a cut partition (not a whole number of pages) whose
 * first header is sound, so its whole pages are decoded and the cut named rather than passing
 * it over as unknown data. */
static int ui_is_nvs(const uint8_t *p, size_t n)
{
	if (n < 32)
		return 0;
	uint32_t st = checksum_read_u32le(p);
	if (st != 0xFFFFFFFEu && st != 0xFFFFFFFCu && st != 0xFFFFFFF8u && st != 0xFFFFFFF0u)
		return 0;
	if (n >= UI_NVS_PAGE && n % UI_NVS_PAGE == 0)
		return 1;
	return checksum_read_u32le(p + 28) == checksum_crc32_esp(p + 4, 24);
}

static json_t *ui_nvs_value_json(const struct nvs_read_value *v)
{
	json_t *o = json_object();
	json_object_set_new(o, "type", json_string(nvs_type_name(v->type)));
	if (ui_inspect_is_secret_key(v->key)) {
		json_t *h = v->type == NVS_TYPE_SZ || v->type == NVS_TYPE_BLOB
				    ? ui_hidden_value(v->data.data, v->data.len)
				    : ui_hidden_value((const uint8_t *)&v->num, sizeof v->num);
		json_object_update(o, h);
		json_decref(h);
		return o;
	}
	if (v->type == NVS_TYPE_SZ) {
		size_t len = v->data.len && v->data.data[v->data.len - 1] == 0 ? v->data.len - 1 : v->data.len;
		json_t *s = json_stringn((const char *)v->data.data, len);
		json_object_set_new(o, "value", s ? s : json_string("(not UTF-8)"));
	} else if (v->type == NVS_TYPE_BLOB) {
		json_object_set_new(o, "length", json_integer((json_int_t)v->data.len));
		if (ui_looks_like_der_cert(v->data.data, v->data.len)) {
			json_object_set_new(o, "certificate", ui_describe_cert(v->data.data, v->data.len));
		} else {
			buf_t t = BUF_INIT;
			nvs_read_format_value(v, &t);
			json_object_set_new(o, "value", json_string(buf_terminate_str(&t)));
			buf_free_data(&t);
		}
	} else {
		buf_t t = BUF_INIT;
		nvs_read_format_value(v, &t);
		json_object_set_new(o, "value", json_string(buf_terminate_str(&t)));
		buf_free_data(&t);
	}
	return o;
}

static void ui_decode_nvs(json_t *part, const uint8_t *p, size_t n)
{
	struct nvs_read_result r;
	err_t e = {0};
	memset(&r, 0, sizeof r);
	if (nvs_read_partition(p, n, &r, &e)) {
		json_object_set_new(part, "status", json_string("corrupt"));
		json_object_set_new(part, "problem", json_string(e.msg));
		nvs_read_free(&r);
		return;
	}
	json_t *d = json_object();
	json_t *pages = json_array();
	json_t *problems = json_array();
	for (size_t i = 0; i < r.page_count; i++) {
		const struct nvs_read_page *pg = &r.pages[i];
		json_t *o = json_object();
		json_object_set_new(o, "index", json_integer(pg->index));
		json_object_set_new(o, "state", json_string(pg->blank ? "BLANK"
							     : nvs_read_name_page_state(pg->state)));
		if (!pg->blank) {
			json_object_set_new(o, "seq", json_integer(pg->seq));
			json_object_set_new(o, "header_crc_ok", json_boolean(pg->header_crc_ok));
		}
		json_object_set_new(o, "written", json_integer(pg->written));
		json_object_set_new(o, "erased", json_integer(pg->erased));
		json_object_set_new(o, "free", json_integer(pg->empty));
		json_array_append_new(pages, o);
	}
	/* the reader's own list: every page, entry, blob and truncation problem, in order */
	for (size_t i = 0; i < r.problem_count; i++)
		json_array_append_new(problems, json_string(r.problems[i]));
	json_t *nss = json_object();
	for (size_t i = 0; i < r.value_count; i++) {
		const struct nvs_read_value *v = &r.values[i];
		const char *nsn = v->ns_name[0] ? v->ns_name : "?";
		json_t *ns = json_object_get(nss, nsn);
		if (!ns) {
			ns = json_object();
			json_object_set_new(nss, nsn, ns);
		}
		json_object_set_new(ns, v->key, ui_nvs_value_json(v));
	}
	json_object_set_new(d, "namespaces", nss);
	json_object_set_new(d, "pages", pages);
	json_object_set_new(d, "problems", problems);
	json_object_set_new(part, "decoded", d);
	int bad = r.problem_count > 0;
	json_object_set_new(part, "status", json_string(bad ? "corrupt" : "ok"));
	if (bad)
		json_object_set_new(part, "problem", json_string(r.first_problem));
	nvs_read_free(&r);
}

static int ui_all_bytes(const uint8_t *p, size_t n, uint8_t v)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != v)
			return 0;
	return 1;
}

json_t *ui_inspect_decode_partition(const char *name, const uint8_t *data, size_t len,
				    const char *format)
{
	json_t *part = json_object();
	if (name)
		json_object_set_new(part, "name", json_string(name));
	const char *fmt = format && *format ? format : NULL;
	if (!fmt) {
		if (ui_is_seccert(data, len))
			fmt = "esp_secure_cert";
		else if (ui_is_nvs(data, len))
			fmt = "nvs";
		else if (name && !strcmp(name, "esp_secure_cert"))
			fmt = "esp_secure_cert";
	}
	if (len && ui_all_bytes(data, len, 0xFF) && (!fmt || strcmp(fmt, "nvs_keys"))) {
		json_object_set_new(part, "format", json_string(fmt ? fmt : "none"));
		json_object_set_new(part, "status", json_string("empty"));
		return part;
	}
	json_object_set_new(part, "format", json_string(fmt ? fmt : "none"));
	if (!fmt) {
		json_object_set_new(part, "status", json_string("not decoded"));
		return part;
	}
	if (!strcmp(fmt, "esp_secure_cert")) {
		ui_decode_seccert(part, data, len);
	} else if (!strcmp(fmt, "nvs")) {
		ui_decode_nvs(part, data, len);
	} else if (!strcmp(fmt, "nvs_keys")) {
		/* XTS keys for NVS encryption: secret by nature */
		json_object_set_new(part, "status", json_string(ui_all_bytes(data, len, 0xFF) ? "empty" : "ok"));
		json_object_set_new(part, "decoded", ui_hidden_value(data, len < 64 ? len : 64));
	} else {
		json_object_set_new(part, "status", json_string("not decoded"));
	}
	return part;
}

static int ui_count_problems(const json_t *parts)
{
	int n = 0;
	size_t i;
	json_t *p;
	json_array_foreach(parts, i, p) {
		const char *st = json_string_value(json_object_get(p, "status"));
		if (st && !strcmp(st, "corrupt"))
			n++;
	}
	return n;
}

static const char *ui_part_format(const struct parttable_entry *pe)
{
	if (pe->type == PARTTABLE_TYPE_DATA && pe->subtype == 0x02)
		return "nvs";
	if (pe->type == PARTTABLE_TYPE_DATA && pe->subtype == 0x04)
		return "nvs_keys";
	if (!strcmp(pe->name, "esp_secure_cert"))
		return "esp_secure_cert";
	return "";
}

/* A flash image that ends inside a partition: the part it holds is decoded and the cut named. */
static json_t *ui_decode_cut_partition(const struct parttable_entry *pe, const uint8_t *p,
				       size_t have)
{
	json_t *np = ui_inspect_decode_partition(pe->name, p, have, ui_part_format(pe));
	char msg[160];
	snprintf(msg, sizeof msg, "image truncated: the partition at 0x%x has only %zu of its %u bytes",
		 (unsigned)pe->offset, have, (unsigned)pe->size);
	const char *prob = json_string_value(json_object_get(np, "problem"));
	size_t n = strlen(msg) + (prob ? strlen(prob) + 2 : 0) + 1;
	char *joined = malloc(n);
	if (!joined)
		abort();
	snprintf(joined, n, "%s%s%s", msg, prob ? "; " : "", prob ? prob : "");
	json_object_set_new(np, "problem", json_string(joined));
	free(joined);
	json_object_set_new(np, "status", json_string("corrupt"));
	return np;
}

static json_t *ui_table_json(const struct parttable *t)
{
	buf_t out = BUF_INIT;
	parttable_render_json(t, &out);
	json_error_t je;
	json_t *v = json_loadb((const char *)out.data, out.len, 0, &je);
	buf_free_data(&out);
	json_t *arr = v ? json_incref(json_object_get(v, "partitions")) : NULL;
	json_decref(v);
	return arr ? arr : json_array();
}

json_t *ui_inspect_decode(const uint8_t *data, size_t len, const struct ui_inspect_opts *o,
			  err_t *e)
{
	if (!len) {
		err_set_msg(e, ERR_CHECK, "%s: empty input", o && o->source ? o->source : "input");
		return NULL;
	}
	json_t *view = json_object();
	json_t *parts = json_array();
	if (o && o->source)
		json_object_set_new(view, "source", json_string(o->source));
	json_object_set_new(view, "size", json_integer((json_int_t)len));
	/* set again below; first here so they lead the document */
	json_object_set_new(view, "kind", json_string("unknown"));
	json_object_set_new(view, "problems", json_integer(0));
	uint32_t toff = o && o->table_offset ? o->table_offset : UI_TABLE_DEFAULT_OFFSET;
	const char *kind = NULL;
	struct parttable *t = calloc(1, sizeof *t);
	if (!t)
		abort();
	struct parttable_options po;
	parttable_default_options(&po);
	po.table_offset = toff;
	int at_zero = parttable_is_binary(data, len);
	int at_off = len > toff && parttable_is_binary(data + toff, len - toff);
	if (at_off || at_zero) {
		const uint8_t *tp = at_off ? data + toff : data;
		size_t tl = at_off ? len - toff : len;
		err_t te = {0};
		kind = at_off ? "flash image" : "partition table";
		if (at_off)
			json_object_set_new(view, "table_offset", json_integer(toff));
		if (parttable_decode_binary(tp, tl < PARTTABLE_SECTOR_SIZE ? tl : PARTTABLE_SECTOR_SIZE,
					    &po, t, &te)) {
			json_object_set_new(view, "table_error", json_string(te.msg));
		} else {
			json_object_set_new(view, "partition_table", ui_table_json(t));
			for (size_t i = 0; at_off && i < t->count; i++) {
				const struct parttable_entry *pe = &t->entries[i];
				if (pe->type != PARTTABLE_TYPE_DATA && strcmp(pe->name, "esp_secure_cert"))
					continue;
				json_t *p;
				if (pe->offset >= len) {
					/* a partial dump: the partition is simply not in it */
					p = json_object();
					json_object_set_new(p, "name", json_string(pe->name));
					json_object_set_new(p, "status", json_string("outside image"));
				} else if ((uint64_t)pe->offset + pe->size > len) {
					p = ui_decode_cut_partition(pe, data + pe->offset,
								    len - pe->offset);
				} else if (pe->flags & PARTTABLE_FLAG_ENCRYPTED &&
					   !ui_is_seccert(data + pe->offset, pe->size) &&
					   !ui_is_nvs(data + pe->offset, pe->size) &&
					   !ui_all_bytes(data + pe->offset, pe->size, 0xFF)) {
					p = json_object();
					json_object_set_new(p, "name", json_string(pe->name));
					json_object_set_new(p, "format", json_string("encrypted"));
					json_object_set_new(p, "status", json_string("encrypted"));
					json_object_set_new(p, "problem", json_string("encrypted on flash: decoded only on the device"));
				} else {
					p = ui_inspect_decode_partition(pe->name, data + pe->offset, pe->size,
									ui_part_format(pe));
				}
				json_object_set_new(p, "type", json_integer(pe->type));
				json_object_set_new(p, "subtype", json_integer(pe->subtype));
				json_object_set_new(p, "offset", json_integer(pe->offset));
				json_object_set_new(p, "size", json_integer(pe->size));
				json_array_append_new(parts, p);
			}
		}
	}
	free(t);
	if (!kind) {
		json_t *p = ui_inspect_decode_partition(NULL, data, len, NULL);
		const char *fmt = json_string_value(json_object_get(p, "format"));
		kind = fmt && strcmp(fmt, "none") ? fmt : "unknown";
		json_object_set_new(p, "offset", json_integer(0));
		json_object_set_new(p, "size", json_integer((json_int_t)len));
		json_array_append_new(parts, p);
	}
	json_object_set_new(view, "kind", json_string(kind));
	json_object_set_new(view, "partitions", parts);
	int probs = ui_count_problems(parts) + (json_object_get(view, "table_error") ? 1 : 0);
	json_object_set_new(view, "problems", json_integer(probs));
	if (o && o->manifest && ui_inspect_diff_manifest(view, o->manifest, NULL, e)) {
		json_decref(view);
		return NULL;
	}
	return view;
}

/* ---- manifest diff ---- */

struct ui_csv_state {
	json_t *rows;   /* array of arrays of strings */
	json_t *row;
};

static void ui_csv_field(void *s, size_t n, void *ctx)
{
	struct ui_csv_state *st = ctx;
	if (!st->row)
		st->row = json_array();
	json_t *v = json_stringn(s ? (const char *)s : "", s ? n : 0);
	json_array_append_new(st->row, v ? v : json_string(""));
}

static void ui_csv_row(int c, void *ctx)
{
	(void)c;
	struct ui_csv_state *st = ctx;
	if (st->row)
		json_array_append_new(st->rows, st->row);
	st->row = NULL;
}

/* An NVS value as text, in this module's view ({"namespaces": {ns: {key: {"value"}}}}) or in the
 * NVS reader's ({"values": [{"key", "value"}]}) that the engine's readback sends. */
static const char *ui_nvs_text(const json_t *view, const char *key, char *buf, size_t n)
{
	size_t i, k;
	json_t *p, *v;
	json_array_foreach(json_object_get(view, "partitions"), i, p) {
		json_t *dec = json_object_get(p, "decoded");
		if (!dec)
			dec = p;
		json_t *nss = json_object_get(dec, "namespaces");
		const char *nsname;
		json_t *ns;
		if (json_is_object(nss)) {
			json_object_foreach(nss, nsname, ns) {
				json_t *x = json_object_get(json_object_get(ns, key), "value");
				if (json_is_string(x))
					return json_string_value(x);
			}
		}
		json_array_foreach(json_object_get(dec, "values"), k, v) {
			const char *vk = json_string_value(json_object_get(v, "key"));
			json_t *x = json_object_get(v, "value");
			if (!vk || strcmp(vk, key))
				continue;
			if (json_is_string(x))
				return json_string_value(x);
			if (json_is_integer(x)) {
				snprintf(buf, n, "%lld", (long long)json_integer_value(x));
				return buf;
			}
		}
	}
	return NULL;
}

static void ui_diff_add(json_t *diff, const char *field, const char *want, const char *have)
{
	json_t *o = json_object();
	json_object_set_new(o, "field", json_string(field));
	json_object_set_new(o, "manifest", want ? json_string(want) : json_null());
	json_object_set_new(o, "device", have ? json_string(have) : json_null());
	json_object_set_new(o, "match", json_boolean(want && have && !strcasecmp(want, have)));
	json_array_append_new(diff, o);
}

int ui_inspect_diff_manifest(json_t *view, const char *manifest_csv, const char *mac, err_t *e)
{
	buf_t text = BUF_INIT;
	if (fileio_read_file(manifest_csv, &text, e))
		return -1;
	struct csv_parser p;
	struct ui_csv_state st = {json_array(), NULL};
	csv_init(&p, CSV_APPEND_NULL);
	csv_parse(&p, text.data, text.len, ui_csv_field, ui_csv_row, &st);
	csv_fini(&p, ui_csv_field, ui_csv_row, &st);
	csv_free(&p);
	buf_free_data(&text);
	json_t *hdr = json_array_get(st.rows, 0);
	int c_serial = -1, c_mac = -1, c_qr = -1;
	for (size_t i = 0; i < json_array_size(hdr); i++) {
		const char *h = json_string_value(json_array_get(hdr, i));
		if (!strcmp(h, "serial"))
			c_serial = (int)i;
		else if (!strcmp(h, "mac"))
			c_mac = (int)i;
		else if (!strcmp(h, "qr"))
			c_qr = (int)i;
	}
	if (c_serial < 0 && c_mac < 0) {
		json_decref(st.rows);
		return err_set_msg(e, ERR_CHECK, "%s: no serial or mac column in the header", manifest_csv);
	}
	char sbuf[32], dbuf[32], vbuf[32], pbuf[32];
	const char *serial = ui_nvs_text(view, "serial-num", sbuf, sizeof sbuf);
	json_t *row = NULL;
	for (size_t r = json_array_size(st.rows); r-- > 1;) {
		json_t *x = json_array_get(st.rows, r);
		const char *s = c_serial >= 0 ? json_string_value(json_array_get(x, (size_t)c_serial)) : NULL;
		const char *m = c_mac >= 0 ? json_string_value(json_array_get(x, (size_t)c_mac)) : NULL;
		if ((serial && s && !strcmp(s, serial)) || (mac && m && !strcasecmp(m, mac))) {
			row = x;
			break;
		}
	}
	json_t *diff = json_array();
	if (!row) {
		json_object_set_new(view, "manifest_diff", diff);
		json_object_set_new(view, "manifest_row", json_string("no row for this device"));
		json_decref(st.rows);
		return 0;
	}
	if (c_serial >= 0)
		ui_diff_add(diff, "serial", json_string_value(json_array_get(row, (size_t)c_serial)), serial);
	if (c_mac >= 0 && mac)
		ui_diff_add(diff, "mac", json_string_value(json_array_get(row, (size_t)c_mac)), mac);
	const char *qr = c_qr >= 0 ? json_string_value(json_array_get(row, (size_t)c_qr)) : NULL;
	struct payload pl;
	err_t pe = {0};
	if (qr && *qr && !payload_parse_qr(qr, &pl, &pe)) {
		char want[32];
		snprintf(want, sizeof want, "%u", pl.discriminator);
		ui_diff_add(diff, "discriminator", want, ui_nvs_text(view, "discriminator", dbuf, sizeof dbuf));
		snprintf(want, sizeof want, "%u", pl.vid);
		ui_diff_add(diff, "vendor-id", want, ui_nvs_text(view, "vendor-id", vbuf, sizeof vbuf));
		snprintf(want, sizeof want, "%u", pl.pid);
		ui_diff_add(diff, "product-id", want, ui_nvs_text(view, "product-id", pbuf, sizeof pbuf));
	}
	json_object_set_new(view, "manifest_diff", diff);
	json_decref(st.rows);
	return 0;
}

/* ---- secret masks for the hex view ---- */

static int ui_seccert_type_secret(unsigned type)
{
	return type == SECCERT_TYPE_PRIV_KEY || type == SECCERT_TYPE_DS_DATA ||
	       type == SECCERT_TYPE_ECDSA_KEY_SALT || type == SECCERT_TYPE_TEE_SEC_STORAGE_KEY;
}

static void ui_mask_range(uint8_t *mask, size_t len, size_t from, size_t n)
{
	if (from >= len)
		return;
	if (n > len - from)
		n = len - from;
	memset(mask + from, 1, n);
}

void ui_inspect_secret_mask(const uint8_t *data, size_t len, const char *format, uint8_t *mask)
{
	memset(mask, 0, len);
	if (!format)
		return;
	if (!strcmp(format, "nvs_keys")) {
		memset(mask, 1, len);
	} else if (!strcmp(format, "esp_secure_cert")) {
		struct seccert_image img;
		err_t e = {0};
		memset(&img, 0, sizeof img);
		int bad = seccert_parse_image(data, len, SECCERT_PARSE_ALLOW_TRAILING, &img, &e) != 0;
		if (bad) {
			/* a damaged TLV may be a key: show only what decoded as non-secret */
			memset(mask, 1, len);
			for (size_t i = 0; i < img.count; i++) {
				const struct seccert_entry *en = &img.entries[i];
				if (img.layout != SECCERT_LAYOUT_TLV || ui_seccert_type_secret(en->type))
					continue;
				size_t total = SECCERT_TLV_HEADER_LEN + en->length + seccert_pad_len(en->length) +
					       SECCERT_TLV_FOOTER_LEN;
				if (en->offset < len)
					memset(mask + en->offset, 0, total > len - en->offset ? len - en->offset : total);
			}
		} else {
			for (size_t i = 0; i < img.count; i++) {
				const struct seccert_entry *en = &img.entries[i];
				if (!ui_seccert_type_secret(en->type))
					continue;
				size_t at = img.layout == SECCERT_LAYOUT_TLV ? en->offset + SECCERT_TLV_HEADER_LEN
									     : en->offset;
				ui_mask_range(mask, len, at, en->length);
			}
		}
		seccert_image_free(&img);
	} else if (!strcmp(format, "nvs")) {
		struct nvs_read_result r;
		err_t e = {0};
		memset(&r, 0, sizeof r);
		if (nvs_read_partition(data, len, &r, &e) == 0) {
			for (size_t i = 0; i < r.entry_count; i++) {
				const struct nvs_read_entry *en = &r.entries[i];
				if (!ui_inspect_is_secret_key(en->key))
					continue;
				size_t at = (size_t)en->page * UI_NVS_PAGE + 64 + (size_t)en->slot * 32;
				/* the key itself stays readable: the value is what is hidden */
				ui_mask_range(mask, len, at + 24, 8);
				ui_mask_range(mask, len, at + 32, (size_t)(en->span ? en->span - 1 : 0) * 32);
			}
		}
		nvs_read_free(&r);
	}
}
