#include "formats/nvs_csv.h"

#include <csv.h>
#include <ctype.h>
#include <mbedtls/md.h>
#include <mbedtls/pkcs5.h>
#include <mbedtls/platform_util.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/fileio.h"
#include "core/pyb64.h"

/* Field columns as named by the header row (DictReader semantics: found by name). */
enum { COL_KEY, COL_TYPE, COL_ENCODING, COL_VALUE, COL_COUNT };
static const char *const nvs_csv_column_names[COL_COUNT] = {"key", "type", "encoding", "value"};

struct nvs_csv_row_state {
	struct nvs_csv_parser *p;
	const char *name;
	err_t *e;
	int failed;
	bool header_done;
	int col[COL_COUNT]; /* field index of each column, -1 when the header lacks it */
	char **fields;
	size_t *lens;
	size_t nfields, cap;
	unsigned line;     /* physical line being fed */
	unsigned row_line; /* line where the current row started */
	bool row_open;
};

void nvs_csv_init_parser(struct nvs_csv_parser *p, struct nvs_list *list, const char *base_dir)
{
	memset(p, 0, sizeof *p);
	p->list = list;
	p->base_dir = base_dir ? mem_strdup(base_dir) : NULL;
}

void nvs_csv_free_parser(struct nvs_csv_parser *p)
{
	free(p->base_dir);
	/* The ap.* values include a Wi-Fi passphrase. */
	if (p->ap_passwd)
		mbedtls_platform_zeroize(p->ap_passwd, strlen(p->ap_passwd));
	free(p->ap_ssid);
	free(p->ap_passwd);
	free(p->ap_authmode);
	memset(p, 0, sizeof *p);
}

static bool nvs_csv_is_pyspace(unsigned char c)
{
	return c == ' ' || (c >= '\t' && c <= '\r') || (c >= 0x1c && c <= 0x1f);
}

int nvs_csv_decode_hex(const char *s, size_t n, buf_t *out, err_t *e)
{
	while (n && nvs_csv_is_pyspace((unsigned char)s[0])) {
		s++;
		n--;
	}
	while (n && nvs_csv_is_pyspace((unsigned char)s[n - 1]))
		n--;
	if (n % 2)
		return err_set_msg(e, ERR_CHECK, "hex data has an odd number of digits (%zu)", n);
	for (size_t i = 0; i < n; i += 2) {
		int v[2];
		for (int k = 0; k < 2; k++) {
			char c = s[i + k];
			if (c >= '0' && c <= '9')
				v[k] = c - '0';
			else if (c >= 'a' && c <= 'f')
				v[k] = c - 'a' + 10;
			else if (c >= 'A' && c <= 'F')
				v[k] = c - 'A' + 10;
			else
				return err_set_msg(e, ERR_CHECK,
						   "character %zu of the hex data is not a hex digit",
						   i + k + 1);
		}
		buf_append_byte(out, (uint8_t)(v[0] << 4 | v[1]));
	}
	return 0;
}

int nvs_csv_decode_base64(const char *s, size_t n, buf_t *out, err_t *e)
{
	size_t data_chars = 0;
	switch (pyb64_decode_core(s, n, 1, out, &data_chars)) {
	case PYB64_OK:
		return 0;
	case PYB64_NON_ASCII:
		return err_set_msg(e, ERR_CHECK, "base64 data contains a non-ASCII character");
	case PYB64_DANGLING_ONE:
		return err_set_msg(e, ERR_CHECK,
				   "invalid base64: the number of data characters (%zu) cannot be 1 "
				   "more than a multiple of 4", data_chars);
	default:
		return err_set_msg(e, ERR_CHECK, "invalid base64: incorrect padding");
	}
}

int nvs_csv_parse_integer(const char *s, size_t n, bool *neg, uint64_t *mag, err_t *e)
{
	size_t i = 0;
	while (n && nvs_csv_is_pyspace((unsigned char)s[n - 1]))
		n--;
	while (i < n && nvs_csv_is_pyspace((unsigned char)s[i]))
		i++;
	*neg = false;
	if (i < n && (s[i] == '+' || s[i] == '-'))
		*neg = s[i++] == '-';
	uint64_t v = 0;
	bool digits = false, prev_digit = false, overflow = false;
	for (; i < n; i++) {
		char c = s[i];
		if (c == '_' && prev_digit && i + 1 < n && s[i + 1] >= '0' && s[i + 1] <= '9') {
			prev_digit = false;
			continue;
		}
		if (c < '0' || c > '9')
			return err_set_msg(e, ERR_CHECK, "'%.*s' is not a decimal integer", (int)n,
					   s);
		unsigned d = (unsigned)(c - '0');
		if (v > (UINT64_MAX - d) / 10)
			overflow = true;
		v = v * 10 + d;
		digits = prev_digit = true;
	}
	if (!digits)
		return err_set_msg(e, ERR_CHECK, "'%.*s' is not a decimal integer", (int)n, s);
	if (overflow)
		return err_set_msg(e, ERR_CHECK, "%.*s is out of range", (int)n, s);
	*mag = v;
	return 0;
}

/* Checks the value against the struct.pack range of the encoding. */
static int nvs_csv_make_integer(enum nvs_type t, bool neg, uint64_t mag, uint64_t *out,
				const char *text, err_t *e)
{
	unsigned bits = nvs_type_width(t) * 8;
	if (nvs_type_is_signed(t)) {
		uint64_t lim = (uint64_t)1 << (bits - 1); /* |min| */
		if ((neg && mag > lim) || (!neg && mag >= lim))
			return err_set_msg(e, ERR_CHECK,
					   "%s is out of range for %s (-%llu..%llu)", text,
					   nvs_type_name(t), (unsigned long long)lim,
					   (unsigned long long)(lim - 1));
		*out = neg ? (uint64_t)0 - mag : mag;
		return 0;
	}
	uint64_t max = bits == 64 ? UINT64_MAX : ((uint64_t)1 << bits) - 1;
	if ((neg && mag) || mag > max)
		return err_set_msg(e, ERR_CHECK, "%s is out of range for %s (0..%llu)", text,
				   nvs_type_name(t), (unsigned long long)max);
	*out = mag;
	return 0;
}

static size_t nvs_csv_count_chars(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		if (((unsigned char)*s & 0xC0) != 0x80)
			n++;
	return n;
}

static bool nvs_csv_is_utf8(const uint8_t *s, size_t n, size_t *bad)
{
	for (size_t i = 0; i < n;) {
		uint8_t c = s[i];
		size_t k;
		uint32_t cp;
		if (c < 0x80) {
			i++;
			continue;
		} else if ((c & 0xE0) == 0xC0) {
			k = 1;
			cp = c & 0x1F;
		} else if ((c & 0xF0) == 0xE0) {
			k = 2;
			cp = c & 0x0F;
		} else if ((c & 0xF8) == 0xF0) {
			k = 3;
			cp = c & 0x07;
		} else {
			*bad = i;
			return false;
		}
		for (size_t j = 1; j <= k; j++) {
			if (i + j >= n || (s[i + j] & 0xC0) != 0x80) {
				*bad = i;
				return false;
			}
			cp = cp << 6 | (s[i + j] & 0x3F);
		}
		if ((k == 1 && cp < 0x80) || (k == 2 && cp < 0x800) || (k == 3 && cp < 0x10000) ||
		    cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
			*bad = i;
			return false;
		}
		i += k + 1;
	}
	return true;
}

/* A value as the generator holds it: text from the CSV or bytes read from a file. */
struct nvs_csv_value {
	const char *p; /* NULL: the row has no such field (Python None) */
	size_t n;
	bool from_file;
};

static int nvs_csv_add_pmk_info(struct nvs_csv_parser *p, err_t *e)
{
	uint8_t info[132];
	memset(info, 0, sizeof info);
	mbedtls_md_context_t md;
	mbedtls_md_init(&md);
	int rc = mbedtls_md_setup(&md, mbedtls_md_info_from_type(MBEDTLS_MD_SHA1), 1);
	if (rc == 0)
		rc = mbedtls_pkcs5_pbkdf2_hmac(&md, (const unsigned char *)p->ap_passwd,
					       strlen(p->ap_passwd),
					       (const unsigned char *)p->ap_ssid, strlen(p->ap_ssid),
					       4096, 32, info + 100);
	mbedtls_md_free(&md);
	if (rc) {
		mbedtls_platform_zeroize(info, sizeof info);
		return err_set_msg(e, ERR_CHECK, "computing the ap.pmk_info PMK failed");
	}
	rc = nvs_list_add_blob(p->list, "ap.pmk_info", info, sizeof info, e);
	mbedtls_platform_zeroize(info, sizeof info);
	return rc;
}

static int nvs_csv_add_data(struct nvs_csv_parser *p, const char *key, const char *enc,
			    struct nvs_csv_value v, err_t *e)
{
	if (!enc)
		return err_set_msg(e, ERR_CHECK, "field 'encoding' is missing");
	if (!p->namespace_seen)
		return err_set_msg(e, ERR_CHECK,
				   "field 'key': '%s' comes before any namespace row", key);
	buf_t data = BUF_INIT;
	int rc = -1;
	bool decoded = false; /* data holds the final bytes */
	char encbuf[32];

	if (strncmp(enc, "blob_fill", 9) == 0 || strncmp(enc, "blob_sz_fill", 12) == 0) {
		/* blob_fill(N;0xNN) / blob_sz_fill(N;0xNN): value padded to N bytes. */
		bool sz = enc[5] == 's';
		const char *q = enc + (sz ? 12 : 9);
		char *end = NULL;
		unsigned long len = 0;
		unsigned pad = 0;
		if (*q == '(' && q[1] >= '0' && q[1] <= '9') {
			len = strtoul(q + 1, &end, 10);
			if (end && end[0] == ';' && end[1] == '0' && end[2] == 'x' &&
			    isxdigit((unsigned char)end[3]) && isxdigit((unsigned char)end[4]) &&
			    end[5] == ')' && len <= 0x100000) {
				pad = (unsigned)strtoul((char[]){end[3], end[4], 0}, NULL, 16);
				q = NULL;
			}
		}
		if (q) {
			err_set_msg(e, ERR_CHECK, "field 'encoding': '%s' is not a valid blob_fill "
				    "format (blob_fill(N;0xNN) up to N = 1048576)", enc);
			goto out;
		}
		if (v.from_file) {
			err_set_msg(e, ERR_CHECK, "field 'encoding': %s cannot take a file", enc);
			goto out;
		}
		size_t vn = v.p ? v.n : 0;
		if (vn > len) {
			err_set_msg(e, ERR_CHECK, "field 'value': %zu bytes exceed the %lu of %s", vn,
				    len, enc);
			goto out;
		}
		if (sz)
			buf_append_u32le(&data, (uint32_t)vn);
		if (vn)
			buf_append_bytes(&data, v.p, vn);
		buf_append_fill(&data, (uint8_t)pad, len - vn);
		decoded = true;
		enc = "hex2bin";
	} else if (strcmp(enc, "hex2bin") == 0 || strcmp(enc, "base64") == 0 ||
		   strcmp(enc, "string") == 0) {
		if (!v.p) {
			err_set_msg(e, ERR_CHECK, "field 'value' is missing");
			goto out;
		}
		if (enc[0] == 'h')
			rc = nvs_csv_decode_hex(v.p, v.n, &data, e);
		else if (enc[0] == 'b')
			rc = nvs_csv_decode_base64(v.p, v.n, &data, e);
		else {
			size_t bad;
			if (v.from_file && !nvs_csv_is_utf8((const uint8_t *)v.p, v.n, &bad)) {
				err_set_msg(e, ERR_CHECK, "field 'value': file is not UTF-8 text "
					    "(byte %zu)", bad);
				goto out;
			}
			buf_append_bytes(&data, v.p, v.n);
			buf_append_byte(&data, 0);
			rc = 0;
		}
		if (rc) {
			err_prepend_context(e, "field 'value'");
			goto out;
		}
		rc = -1;
		decoded = true;
	}

	snprintf(encbuf, sizeof encbuf, "%s", enc);
	for (char *c = encbuf; *c; c++)
		if (*c >= 'A' && *c <= 'Z')
			*c = (char)(*c - 'A' + 'a');
	enum nvs_type t;
	if (strlen(enc) < sizeof encbuf && nvs_type_parse_int_name(encbuf, &t) == 0) {
		bool neg;
		uint64_t mag = 0, num = 0;
		if (!v.p) {
			err_set_msg(e, ERR_CHECK, "field 'value' is missing");
			goto out;
		}
		char text[64];
		snprintf(text, sizeof text, "%.*s", (int)(v.n < 40 ? v.n : 40), v.p);
		if (nvs_csv_parse_integer(v.p, v.n, &neg, &mag, e) ||
		    nvs_csv_make_integer(t, neg, mag, &num, text, e)) {
			err_prepend_context(e, "field 'value'");
			goto out;
		}
		rc = nvs_list_add_int(p->list, key, t, num, e);
	} else if (strcmp(encbuf, "string") == 0 || strcmp(encbuf, "binary") == 0 ||
		   strcmp(encbuf, "hex2bin") == 0 || strcmp(encbuf, "base64") == 0) {
		/* Upper-case spellings are stored undecoded, as the generator lowers the
		 * encoding only after decoding. */
		if (!decoded) {
			if (!v.p) {
				err_set_msg(e, ERR_CHECK, "field 'value' is missing");
				goto out;
			}
			/* The generator sizes such a blob in characters but writes UTF-8 bytes,
			 * producing an entry whose CRC and size disagree: refuse it. */
			for (size_t k = 0; !v.from_file && k < v.n; k++) {
				if ((unsigned char)v.p[k] >= 0x80) {
					err_set_msg(e, ERR_CHECK, "field 'value': non-ASCII text cannot "
						    "be stored with encoding '%s'", enc);
					goto out;
				}
			}
			buf_append_bytes(&data, v.p, v.n);
		}
		if (strcmp(encbuf, "string") == 0)
			rc = nvs_list_add_raw_string(p->list, key, data.data, data.len, e);
		else
			rc = nvs_list_add_blob(p->list, key, data.data, data.len, e);
	} else {
		err_set_msg(e, ERR_CHECK, "field 'encoding': unsupported encoding '%s' (u8, i8, u16, "
			    "i16, u32, i32, u64, i64, string, hex2bin, base64, binary)", enc);
	}
out:
	buf_wipe_data(&data);
	return rc;
}

static int nvs_csv_add_hardcoded_blob(struct nvs_csv_parser *p, const char *key, uint8_t fill,
				      size_t n, err_t *e)
{
	uint8_t b[140];
	memset(b, fill, n);
	return nvs_list_add_blob(p->list, key, b, n, e);
}

static void nvs_csv_remember(char **slot, const char *v)
{
	free(*slot);
	*slot = v ? mem_strdup(v) : NULL;
}

/* One CSV row, in the generator's order of checks and side effects. */
static int nvs_csv_process_row(struct nvs_csv_parser *p, const char *key, const char *type,
			       const char *enc, const char *value, size_t value_len, err_t *e)
{
	if (!key)
		return err_set_msg(e, ERR_CHECK, "field 'key' is missing");
	if (nvs_csv_count_chars(key) > NVS_KEY_MAX)
		return err_set_msg(e, ERR_CHECK,
				   "field 'key': '%s' is longer than 15 characters", key);
	if (nvs_check_key(key, e))
		return err_prepend_context(e, "field 'key'");
	struct nvs_csv_value v = {value, value_len, false};

	if (!strcmp(key, "ap.ssid") || !strcmp(key, "ap.passwd") || !strcmp(key, "ap.authmode")) {
		if (!strcmp(key, "ap.ssid"))
			nvs_csv_remember(&p->ap_ssid, value);
		if (!strcmp(key, "ap.passwd"))
			nvs_csv_remember(&p->ap_passwd, value);
		if (!strcmp(key, "ap.authmode") && !(value && !strcmp(value, "0")))
			nvs_csv_remember(&p->ap_authmode, value);
		if (p->ap_ssid && *p->ap_ssid && p->ap_passwd && *p->ap_passwd && p->ap_authmode &&
		    *p->ap_authmode) {
			if (!p->namespace_seen)
				return err_set_msg(e, ERR_CHECK, "field 'key': '%s' comes before "
						   "any namespace row", key);
			if (nvs_csv_add_pmk_info(p, e))
				return -1;
		}
	}
	if (!strcmp(key, "sta.ssid") || !strcmp(key, "sta.pswd")) {
		/* The generator writes these as data whatever the type column says, and the
		 * first one also brings three fixed Wi-Fi entries. */
		if (nvs_csv_add_data(p, key, enc, v, e))
			return -1;
		if (!p->wifi_extras_written) {
			if (nvs_csv_add_hardcoded_blob(p, "sta.apinfo", 0xFF, 140, e) ||
			    nvs_csv_add_hardcoded_blob(p, "sta.pmk", 0x00, 32, e) ||
			    nvs_csv_add_hardcoded_blob(p, "sta.apsw", 0x00, 2, e))
				return -1;
			p->wifi_extras_written = true;
		}
		return 0;
	}
	if (!type)
		return err_set_msg(e, ERR_CHECK, "field 'type' is missing");
	if (!strcmp(type, "namespace")) {
		if (nvs_list_add_namespace(p->list, key, e))
			return err_prepend_context(e, "field 'key'");
		p->namespace_seen = true;
		return 0;
	}
	if (!strcmp(type, "data"))
		return nvs_csv_add_data(p, key, enc, v, e);
	if (strcmp(type, "file"))
		return err_set_msg(e, ERR_CHECK,
				   "field 'type': unknown type '%s' (namespace, data or file)", type);
	if (!value || !*value)
		return err_set_msg(e, ERR_CHECK, "field 'value': no file name given");
	char path[4096];
	if (value[0] == '/' || !p->base_dir)
		snprintf(path, sizeof path, "%s", value);
	else
		fileio_join_path(path, sizeof path, p->base_dir, value);
	buf_t content = BUF_INIT;
	if (fileio_read_file(path, &content, e)) {
		buf_free_data(&content);
		return err_prepend_context(e, "field 'value'");
	}
	v.p = content.data ? (const char *)content.data : "";
	v.n = content.len;
	v.from_file = true;
	int rc = nvs_csv_add_data(p, key, enc, v, e);
	buf_wipe_data(&content);
	return rc;
}

static void nvs_csv_on_field(void *s, size_t len, void *data)
{
	struct nvs_csv_row_state *st = data;
	if (st->failed)
		return;
	if (st->nfields == st->cap) {
		st->cap = st->cap ? st->cap * 2 : 8;
		st->fields = realloc(st->fields, st->cap * sizeof *st->fields);
		st->lens = realloc(st->lens, st->cap * sizeof *st->lens);
		if (!st->fields || !st->lens)
			abort();
	}
	char *f = malloc(len + 1);
	if (!f)
		abort();
	if (len)
		memcpy(f, s, len);
	f[len] = '\0';
	st->fields[st->nfields] = f;
	st->lens[st->nfields++] = len;
}

static void nvs_csv_clear_fields(struct nvs_csv_row_state *st)
{
	for (size_t i = 0; i < st->nfields; i++) {
		mbedtls_platform_zeroize(st->fields[i], st->lens[i]);
		free(st->fields[i]);
	}
	st->nfields = 0;
}

static void nvs_csv_on_row(int c, void *data)
{
	(void)c;
	struct nvs_csv_row_state *st = data;
	st->row_open = false;
	if (st->failed) {
		nvs_csv_clear_fields(st);
		return;
	}
	if (!st->header_done) {
		for (int k = 0; k < COL_COUNT; k++) {
			st->col[k] = -1;
			for (size_t i = 0; i < st->nfields; i++)
				if (!strcmp(st->fields[i], nvs_csv_column_names[k]))
					st->col[k] = (int)i;
		}
		st->header_done = true;
		nvs_csv_clear_fields(st);
		return;
	}
	for (int k = 0; k < COL_COUNT; k++) {
		if (st->col[k] < 0) {
			err_set_msg(st->e, ERR_CHECK, "%s: the header row has no '%s' column",
				    st->name, nvs_csv_column_names[k]);
			st->failed = 1;
			nvs_csv_clear_fields(st);
			return;
		}
	}
	const char *f[COL_COUNT];
	size_t value_len = 0;
	for (int k = 0; k < COL_COUNT; k++)
		f[k] = (size_t)st->col[k] < st->nfields ? st->fields[st->col[k]] : NULL;
	if (f[COL_VALUE])
		value_len = st->lens[st->col[COL_VALUE]];
	size_t before = st->p->list->count;
	if (nvs_csv_process_row(st->p, f[COL_KEY], f[COL_TYPE], f[COL_ENCODING], f[COL_VALUE],
				value_len, st->e)) {
		err_prepend_context(st->e, "%s:%u", st->name, st->row_line);
		st->failed = 1;
	} else {
		char origin[1200];
		snprintf(origin, sizeof origin, "%s:%u", st->name, st->row_line);
		for (size_t i = before; i < st->p->list->count; i++) {
			free(st->p->list->items[i].origin);
			st->p->list->items[i].origin = mem_strdup(origin);
		}
	}
	nvs_csv_clear_fields(st);
}

/* libcsv and Python's csv module agree on everything the generator's CSVs use except text
 * after a closing quote ("ab"cd): Python appends it, libcsv reopens the quoted field and swallows
 * the following rows. That input is refused rather than read differently. */
enum nvs_csv_quote_state { QS_FIELD_START, QS_UNQUOTED, QS_QUOTED, QS_QUOTE_IN_QUOTED };

static int nvs_csv_check_quotes(enum nvs_csv_quote_state *qs, const uint8_t *line, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint8_t c = line[i];
		switch (*qs) {
		case QS_FIELD_START:
			*qs = c == '"' ? QS_QUOTED : (c == ',' || c == '\n') ? QS_FIELD_START
									    : QS_UNQUOTED;
			break;
		case QS_UNQUOTED:
			if (c == ',' || c == '\n')
				*qs = QS_FIELD_START;
			break;
		case QS_QUOTED:
			if (c == '"')
				*qs = QS_QUOTE_IN_QUOTED;
			break;
		case QS_QUOTE_IN_QUOTED:
			if (c == '"')
				*qs = QS_QUOTED;
			else if (c == ',' || c == '\n')
				*qs = QS_FIELD_START;
			else
				return -1;
			break;
		}
	}
	return 0;
}

static int nvs_csv_space_none(unsigned char c)
{
	(void)c;
	return 0;
}

int nvs_csv_parse_text(struct nvs_csv_parser *p, const char *name, const char *text, size_t len,
		       err_t *e)
{
	size_t bad;
	if (memchr(text, '\0', len))
		return err_set_msg(e, ERR_CHECK, "%s: contains a NUL byte", name);
	if (!nvs_csv_is_utf8((const uint8_t *)text, len, &bad)) {
		unsigned line = 1;
		for (size_t i = 0; i < bad; i++)
			line += text[i] == '\n';
		return err_set_msg(e, ERR_CHECK, "%s:%u: not valid UTF-8 text", name, line);
	}
	struct csv_parser cp;
	if (csv_init(&cp, 0))
		return err_set_msg(e, ERR_CHECK, "%s: CSV parser initialisation failed", name);
	csv_set_space_func(&cp, nvs_csv_space_none);
	struct nvs_csv_row_state st;
	memset(&st, 0, sizeof st);
	st.p = p;
	st.name = name;
	st.e = e;

	/* Python reads the file with universal newlines and drops every physical line that starts
	 * with '#' before the CSV reader sees it; the lines are fed one by one for the same
	 * effect and to know the line number of each row. */
	buf_t line = BUF_INIT;
	size_t i = 0;
	unsigned lineno = 0;
	enum nvs_csv_quote_state qs = QS_FIELD_START;
	while (i < len && !st.failed) {
		line.len = 0;
		lineno++;
		while (i < len) {
			char c = text[i++];
			if (c == '\r') {
				if (i < len && text[i] == '\n')
					i++;
				c = '\n';
			}
			buf_append_byte(&line, (uint8_t)c);
			if (c == '\n')
				break;
		}
		if (line.data[0] == '#')
			continue;
		st.line = lineno;
		if (!st.row_open && !(line.len == 1 && line.data[0] == '\n')) {
			st.row_line = lineno;
			st.row_open = true;
		}
		if (nvs_csv_check_quotes(&qs, line.data, line.len)) {
			err_set_msg(e, ERR_CHECK, "%s:%u: CSV syntax error: text after the closing "
				    "quote of a field", name, lineno);
			st.failed = 1;
			break;
		}
		if (csv_parse(&cp, line.data, line.len, nvs_csv_on_field, nvs_csv_on_row, &st) !=
		    line.len) {
			if (!st.failed)
				err_set_msg(e, ERR_CHECK, "%s:%u: CSV syntax error: %s", name, lineno,
					    csv_strerror(csv_error(&cp)));
			st.failed = 1;
		}
	}
	if (!st.failed)
		csv_fini(&cp, nvs_csv_on_field, nvs_csv_on_row, &st);
	nvs_csv_clear_fields(&st);
	free(st.fields);
	free(st.lens);
	csv_free(&cp);
	buf_wipe_data(&line);
	return st.failed ? -1 : 0;
}

int nvs_csv_parse_file(struct nvs_csv_parser *p, const char *path, err_t *e)
{
	buf_t text = BUF_INIT;
	if (fileio_read_file(path, &text, e)) {
		buf_free_data(&text);
		return -1;
	}
	int rc = nvs_csv_parse_text(p, path, text.data ? (const char *)text.data : "", text.len,
				    e);
	buf_wipe_data(&text);
	return rc;
}

int nvs_csv_parse_files(const char *const *paths, size_t n, const char *base_dir,
			struct nvs_list *list, err_t *e)
{
	struct nvs_csv_parser p;
	nvs_csv_init_parser(&p, list, base_dir);
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = nvs_csv_parse_file(&p, paths[i], e);
	nvs_csv_free_parser(&p);
	return rc;
}
