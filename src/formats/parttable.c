#include "formats/parttable.h"


#include <ctype.h>
#include <inttypes.h>
#include <jansson.h>
#include <mbedtls/md5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/fileio.h"
#include "core/log.h"

static const uint8_t parttable_magic[2] = {0xAA, 0x50};
static const uint8_t parttable_md5_magic[2] = {0xEB, 0xEB};

#define PARTTABLE_NVS_RW_MIN_SIZE 0x3000
#define PARTTABLE_OTADATA_SIZE 0x2000

struct parttable_keyword {
	const char *name;
	int value;
};

/* The tool's keyword tables, in its dictionary order (which decides the rendering and the
 * "Known keywords" list). */
static const struct parttable_keyword parttable_types[] = {
	{"bootloader", PARTTABLE_TYPE_BOOTLOADER},
	{"partition_table", PARTTABLE_TYPE_PARTITION_TABLE},
	{"app", PARTTABLE_TYPE_APP},
	{"data", PARTTABLE_TYPE_DATA},
	{NULL, 0},
};

static const struct parttable_keyword parttable_bootloader_subtypes[] = {
	{"primary", 0x00}, {"ota", 0x01}, {"recovery", 0x02}, {NULL, 0},
};

static const struct parttable_keyword parttable_ptable_subtypes[] = {
	{"primary", 0x00}, {"ota", 0x01}, {NULL, 0},
};

static const struct parttable_keyword parttable_app_subtypes[] = {
	{"factory", 0x00}, {"test", 0x20},
	{"ota_0", 0x10},   {"ota_1", 0x11},  {"ota_2", 0x12},  {"ota_3", 0x13},	 {"ota_4", 0x14},
	{"ota_5", 0x15},   {"ota_6", 0x16},  {"ota_7", 0x17},  {"ota_8", 0x18},	 {"ota_9", 0x19},
	{"ota_10", 0x1A},  {"ota_11", 0x1B}, {"ota_12", 0x1C}, {"ota_13", 0x1D}, {"ota_14", 0x1E},
	{"ota_15", 0x1F},  {"tee_0", 0x30},  {"tee_1", 0x31},  {NULL, 0},
};

static const struct parttable_keyword parttable_data_subtypes[] = {
	{"ota", 0x00},	     {"phy", 0x01},	{"nvs", 0x02},	    {"coredump", 0x03},
	{"nvs_keys", 0x04},  {"efuse", 0x05},	{"undefined", 0x06}, {"esphttpd", 0x80},
	{"fat", 0x81},	     {"spiffs", 0x82},	{"littlefs", 0x83}, {"tee_ota", 0x90},
	{NULL, 0},
};

static const struct parttable_keyword parttable_no_keywords[] = {{NULL, 0}};

static const struct parttable_keyword *parttable_subtype_keywords(int type)
{
	switch (type) {
	case PARTTABLE_TYPE_APP:
		return parttable_app_subtypes;
	case PARTTABLE_TYPE_DATA:
		return parttable_data_subtypes;
	case PARTTABLE_TYPE_BOOTLOADER:
		return parttable_bootloader_subtypes;
	case PARTTABLE_TYPE_PARTITION_TABLE:
		return parttable_ptable_subtypes;
	default:
		return parttable_no_keywords;
	}
}

/* ---- text as Python's str sees it: the tool strips lines and fields with str.strip() and splits
 * lines with str.splitlines(), both of which know more than ASCII whitespace. s is valid UTF-8. ---- */

/* Bytes of the whitespace character starting at s (0: none). */
static size_t parttable_space_at(const unsigned char *s, size_t n)
{
	if (n >= 1 && (s[0] == ' ' || (s[0] >= '\t' && s[0] <= '\r') || (s[0] >= 0x1c && s[0] <= 0x1f)))
		return 1;
	if (n >= 2 && s[0] == 0xC2 && (s[1] == 0x85 || s[1] == 0xA0))
		return 2;
	if (n >= 3 && ((s[0] == 0xE1 && s[1] == 0x9A && s[2] == 0x80) ||
		       (s[0] == 0xE2 && s[1] == 0x80 && (s[2] <= 0x8A || s[2] == 0xA8 || s[2] == 0xA9 || s[2] == 0xAF)) ||
		       (s[0] == 0xE2 && s[1] == 0x81 && s[2] == 0x9F) || (s[0] == 0xE3 && s[1] == 0x80 && s[2] == 0x80)))
		return 3;
	return 0;
}

/* Bytes of the whitespace character ending at s[n-1] (0: none). */
static size_t parttable_space_before(const unsigned char *s, size_t n)
{
	for (size_t k = 1; k <= 3 && k <= n; k++)
		if (parttable_space_at(s + n - k, k) == k)
			return k;
	return 0;
}

/* Bytes of the line break starting at s (0: none); "\r\n" counts as one. */
static size_t parttable_break_at(const unsigned char *s, size_t n)
{
	if (n >= 2 && s[0] == '\r' && s[1] == '\n')
		return 2;
	if (n >= 1 && (s[0] == '\n' || s[0] == '\r' || s[0] == '\v' || s[0] == '\f' || (s[0] >= 0x1c && s[0] <= 0x1e)))
		return 1;
	if (n >= 2 && s[0] == 0xC2 && s[1] == 0x85)
		return 2;
	if (n >= 3 && s[0] == 0xE2 && s[1] == 0x80 && (s[2] == 0xA8 || s[2] == 0xA9))
		return 3;
	return 0;
}

static char *parttable_strip_spaces(char *s)
{
	size_t n = strlen(s), k;
	while ((k = parttable_space_at((const unsigned char *)s, n)) != 0)
		s += k, n -= k;
	while ((k = parttable_space_before((const unsigned char *)s, n)) != 0)
		s[n -= k] = '\0';
	return s;
}

static void parttable_put_utf8(buf_t *b, uint32_t c)
{
	if (c < 0x80) {
		buf_append_byte(b, (uint8_t)c);
	} else if (c < 0x800) {
		buf_append_byte(b, (uint8_t)(0xC0 | c >> 6));
		buf_append_byte(b, (uint8_t)(0x80 | (c & 0x3F)));
	} else if (c < 0x10000) {
		buf_append_byte(b, (uint8_t)(0xE0 | c >> 12));
		buf_append_byte(b, (uint8_t)(0x80 | ((c >> 6) & 0x3F)));
		buf_append_byte(b, (uint8_t)(0x80 | (c & 0x3F)));
	} else {
		buf_append_byte(b, (uint8_t)(0xF0 | c >> 18));
		buf_append_byte(b, (uint8_t)(0x80 | ((c >> 12) & 0x3F)));
		buf_append_byte(b, (uint8_t)(0x80 | ((c >> 6) & 0x3F)));
		buf_append_byte(b, (uint8_t)(0x80 | (c & 0x3F)));
	}
}

/* Length of the valid UTF-8 sequence at s (as Python's strict decoder accepts it), 0 if none. */
static size_t parttable_utf8_len(const unsigned char *s, size_t n)
{
	if (s[0] < 0x80)
		return 1;
	size_t need = s[0] >= 0xC2 && s[0] <= 0xDF ? 2 : s[0] >= 0xE0 && s[0] <= 0xEF ? 3 : s[0] >= 0xF0 && s[0] <= 0xF4 ? 4 : 0;
	if (!need || n < need)
		return 0;
	for (size_t i = 1; i < need; i++)
		if ((s[i] & 0xC0) != 0x80)
			return 0;
	if ((s[0] == 0xE0 && s[1] < 0xA0) || (s[0] == 0xED && s[1] >= 0xA0) || (s[0] == 0xF0 && s[1] < 0x90) ||
	    (s[0] == 0xF4 && s[1] >= 0x90))
		return 0; /* overlong, surrogate or beyond U+10FFFF */
	return need;
}

/* The tool decodes the file by its byte order mark (UTF-8, UTF-16 or UTF-32; plain UTF-8 without
 * one). out receives UTF-8 text. Note the tool tests the UTF-16 LE mark before the UTF-32 LE one,
 * so a UTF-32 LE file is read as UTF-16. */
static int parttable_decode_text(const uint8_t *in, size_t len, const char *src, buf_t *out, err_t *e)
{
	int unit = 1, big = 0;
	if (len >= 3 && !memcmp(in, "\xEF\xBB\xBF", 3)) {
		in += 3, len -= 3;
	} else if (len >= 2 && (!memcmp(in, "\xFF\xFE", 2) || !memcmp(in, "\xFE\xFF", 2))) {
		unit = 2, big = in[0] == 0xFE;
		in += 2, len -= 2;
	} else if (len >= 4 && !memcmp(in, "\x00\x00\xFE\xFF", 4)) {
		unit = 4, big = 1;
		in += 4, len -= 4;
	}
	if (unit == 1) {
		for (size_t i = 0; i < len;) {
			size_t k = parttable_utf8_len(in + i, len - i);
			if (!k)
				return err_set_msg(e, ERR_CHECK, "%s: byte 0x%02x at offset %zu is not valid UTF-8", src,
						   in[i], i);
			i += k;
		}
		buf_append_bytes(out, in, len);
		return 0;
	}
	if (len % (size_t)unit)
		return err_set_msg(e, ERR_CHECK, "%s: truncated UTF-%d text", src, unit * 8);
	for (size_t i = 0; i < len; i += (size_t)unit) {
		uint32_t c = 0;
		for (int k = 0; k < unit; k++)
			c |= (uint32_t)in[i + (size_t)(big ? unit - 1 - k : k)] << (8 * k);
		if (unit == 2 && c >= 0xD800 && c <= 0xDBFF && i + 4 <= len) {
			uint32_t lo = big ? (uint32_t)in[i + 2] << 8 | in[i + 3] : (uint32_t)in[i + 3] << 8 | in[i + 2];
			if (lo >= 0xDC00 && lo <= 0xDFFF) {
				c = 0x10000 + ((c - 0xD800) << 10) + (lo - 0xDC00);
				i += 2;
			}
		}
		if ((c >= 0xD800 && c <= 0xDFFF) || c > 0x10FFFF)
			return err_set_msg(e, ERR_CHECK, "%s: invalid UTF-%d text at offset %zu", src, unit * 8, i);
		parttable_put_utf8(out, c);
	}
	return 0;
}

static const char *parttable_keyword_name(const struct parttable_keyword *k, int v)
{
	for (; k->name; k++)
		if (k->value == v)
			return k->name;
	return NULL;
}

const char *parttable_type_name(uint8_t type)
{
	return parttable_keyword_name(parttable_types, type);
}

const char *parttable_subtype_name(uint8_t type, uint8_t subtype)
{
	return parttable_keyword_name(parttable_subtype_keywords(type), subtype);
}

#define PARTTABLE_KEYWORDS_MAX 64

/* The subtype keywords of a type with the extra ones merged in the way the tool's dictionary
 * update does: an existing name takes the new value in place, a new name goes at the end. */
static void parttable_merge_keywords(const struct parttable_options *o, int type, struct parttable_keyword *out)
{
	size_t n = 0;
	for (const struct parttable_keyword *k = parttable_subtype_keywords(type); k->name; k++)
		out[n++] = *k;
	for (size_t i = 0; o && i < o->extra_subtype_count; i++) {
		const struct parttable_extra_subtype *x = &o->extra_subtypes[i];
		if (x->type != type)
			continue;
		size_t k;
		for (k = 0; k < n; k++)
			if (!strcmp(out[k].name, x->name))
				break;
		if (k == n && n + 1 < PARTTABLE_KEYWORDS_MAX)
			n++;
		out[k].name = x->name;
		out[k].value = x->value;
	}
	out[n].name = NULL;
}

int parttable_add_extra_subtype(struct parttable_options *o, const char *spec, err_t *e)
{
	char *copy = mem_strdup(spec), *fields[3] = {NULL, NULL, NULL};
	int nf = 0;
	for (char *s = copy; s && nf < 3;) {
		char *comma = strchr(s, ',');
		if (comma)
			*comma = '\0';
		fields[nf++] = parttable_strip_spaces(s);
		s = comma ? comma + 1 : NULL;
	}
	int rc = 0;
	int type = -1;
	for (const struct parttable_keyword *k = parttable_types; nf == 3 && k->name; k++)
		if (!strcmp(k->name, fields[0]))
			type = k->value;
	char *end = NULL;
	unsigned long v = nf == 3 ? strtoul(fields[2], &end, 16) : 0;
	if (nf != 3) {
		rc = err_set_msg(e, ERR_USAGE, "Error parsing custom subtypes: '%s' is not 'type, name, value'", spec);
	} else if (type < 0) {
		rc = err_set_msg(e, ERR_USAGE, "Error parsing custom subtypes: Invalid partition type '%s'", fields[0]);
	} else if (!fields[2][0] || *end || v > 0xFF) {
		rc = err_set_msg(e, ERR_USAGE, "Error parsing custom subtypes: value '%s' is not a hex byte", fields[2]);
	} else if (!fields[1][0] || strlen(fields[1]) >= sizeof o->extra_subtypes[0].name) {
		rc = err_set_msg(e, ERR_USAGE, "Error parsing custom subtypes: bad name '%s'", fields[1]);
	} else if (o->extra_subtype_count >= PARTTABLE_EXTRA_SUBTYPES_MAX) {
		rc = err_set_msg(e, ERR_USAGE, "Error parsing custom subtypes: more than %d", PARTTABLE_EXTRA_SUBTYPES_MAX);
	} else {
		struct parttable_keyword kw[PARTTABLE_KEYWORDS_MAX];
		parttable_merge_keywords(o, type, kw);
		for (size_t k = 0; kw[k].name && !rc; k++)
			if (kw[k].value == (int)v)
				rc = err_set_msg(e, ERR_USAGE,
						 "Error parsing custom subtypes: Found duplicate value in partition subtype "
						 "(0x%02lx is already '%s')", v, kw[k].name);
	}
	if (!rc) {
		struct parttable_extra_subtype *x = &o->extra_subtypes[o->extra_subtype_count++];
		x->type = (uint8_t)type;
		x->value = (uint8_t)v;
		strcpy(x->name, fields[1]);
	}
	free(copy);
	return rc;
}

void parttable_default_options(struct parttable_options *o)
{
	memset(o, 0, sizeof *o);
	o->table_offset = PARTTABLE_DEFAULT_OFFSET;
}

static uint32_t parttable_offset_alignment(int type)
{
	return type == PARTTABLE_TYPE_APP ? 0x10000 : 0x1000;
}

static int parttable_is_primary_fixed(int type, int subtype)
{
	return (type == PARTTABLE_TYPE_BOOTLOADER || type == PARTTABLE_TYPE_PARTITION_TABLE) && subtype == 0;
}

/* ---- numbers as Python's int(s, 0) reads them ---- */

static int parttable_digit_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)tolower((unsigned char)c);
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 10;
	return 99;
}

/* Returns 1 and *out (saturated at ±INT64_MAX) when s is a Python integer literal, else 0. */
static int parttable_python_int(const char *s, size_t n, int64_t *out)
{
	while (n && isspace((unsigned char)*s))
		s++, n--;
	while (n && isspace((unsigned char)s[n - 1]))
		n--;
	int neg = 0;
	if (n && (*s == '+' || *s == '-')) {
		neg = *s == '-';
		s++, n--;
	}
	int base = 10;
	if (n >= 2 && s[0] == '0' && strchr("xXoObB", s[1])) {
		base = (s[1] == 'x' || s[1] == 'X') ? 16 : (s[1] == 'o' || s[1] == 'O') ? 8 : 2;
		s += 2, n -= 2;
		if (n && *s == '_') /* "0x_1f" is valid */
			s++, n--;
	}
	if (!n || *s == '_' || s[n - 1] == '_')
		return 0;
	/* A decimal literal may not have leading zeros unless it is all zeros ("010" is refused). */
	if (base == 10 && s[0] == '0')
		for (size_t k = 1; k < n; k++)
			if (s[k] != '0' && s[k] != '_')
				return 0;
	uint64_t v = 0;
	int overflow = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '_') {
			if (s[i + 1] == '_')
				return 0;
			continue;
		}
		int d = parttable_digit_value(s[i]);
		if (d >= base)
			return 0;
		if (v > (UINT64_MAX - (uint64_t)d) / (uint64_t)base)
			overflow = 1;
		else
			v = v * (uint64_t)base + (uint64_t)d;
	}
	if (overflow || v > INT64_MAX)
		v = INT64_MAX;
	*out = neg ? -(int64_t)v : (int64_t)v;
	return 1;
}

/* gen_esp32part's parse_int: K/M suffixes (applied recursively), int(v, 0), then a keyword. */
static int parttable_parse_int(const char *v, const struct parttable_keyword *kw, int64_t *out, err_t *e)
{
	size_t n = strlen(v);
	if (n && (tolower((unsigned char)v[n - 1]) == 'k' || tolower((unsigned char)v[n - 1]) == 'm')) {
		int64_t mult = tolower((unsigned char)v[n - 1]) == 'k' ? 1024 : 1024 * 1024;
		char *head = mem_strdup(v);
		head[n - 1] = '\0';
		int64_t x;
		int rc = parttable_parse_int(head, kw, &x, e);
		free(head);
		if (rc)
			return -1;
		if (x > INT64_MAX / mult || x < -INT64_MAX / mult)
			x = x < 0 ? -INT64_MAX : INT64_MAX;
		else
			x *= mult;
		*out = x;
		return 0;
	}
	if (parttable_python_int(v, n, out))
		return 0;
	if (!kw->name)
		return err_set_msg(e, ERR_CHECK, "Invalid field value %s", v);
	char *lower = mem_strdup(v);
	for (char *c = lower; *c; c++)
		*c = (char)tolower((unsigned char)*c);
	for (const struct parttable_keyword *k = kw; k->name; k++)
		if (!strcmp(k->name, lower)) {
			free(lower);
			*out = k->value;
			return 0;
		}
	free(lower);
	buf_t known = BUF_INIT;
	for (const struct parttable_keyword *k = kw; k->name; k++) {
		if (k != kw)
			buf_append_str(&known, ", ");
		buf_append_str(&known, k->name);
	}
	err_set_msg(e, ERR_CHECK, "Value '%s' is not valid. Known keywords: %s", v, buf_terminate_str(&known));
	buf_free_data(&known);
	return -1;
}

/* ---- CSV ---- */

/* os.path.expandvars: $NAME and ${NAME} are replaced when NAME is set, left as written otherwise. */
static char *parttable_expand_vars(const char *line)
{
	buf_t b = BUF_INIT;
	for (const char *p = line; *p;) {
		if (*p == '$') {
			const char *start = p + 1, *end;
			int braced = *start == '{';
			if (braced)
				start++;
			end = start;
			while (isalnum((unsigned char)*end) || *end == '_')
				end++;
			if (end > start && (!braced || *end == '}')) {
				char name[256];
				size_t n = (size_t)(end - start);
				if (n < sizeof name) {
					memcpy(name, start, n);
					name[n] = '\0';
					const char *val = getenv(name);
					if (val) {
						buf_append_str(&b, val);
						p = end + (braced ? 1 : 0);
						continue;
					}
				}
			}
		}
		buf_append_byte(&b, (uint8_t)*p++);
	}
	buf_terminate_str(&b);
	return (char *)b.data;
}

static int parttable_check_range(int64_t v, int64_t max, const char *what, err_t *e)
{
	if (v < 0 || v > max)
		return err_set_msg(e, ERR_CHECK, "%s %" PRId64 " is out of range (0..0x%" PRIx64 ")", what, v,
				   (uint64_t)max);
	return 0;
}

struct parttable_pending {
	int has_offset;
	int64_t size; /* negative: end address, resolved once the offset is known */
};

/* One non-comment line: name, type, subtype, offset, size, flags. */
static int parttable_parse_line(char *line, int line_no, const struct parttable_options *o,
				struct parttable_entry *p, struct parttable_pending *pend, err_t *e)
{
	char *fields[6] = {"", "", "", "", "", ""};
	int nf = 0;
	for (char *s = line; s && nf < 6;) {
		char *comma = strchr(s, ',');
		if (comma)
			*comma = '\0';
		fields[nf++] = parttable_strip_spaces(s);
		s = comma ? comma + 1 : NULL;
	}
	memset(p, 0, sizeof *p);
	p->line = line_no;
	/* The tool packs the name with struct '16s', which silently cuts a longer name to its first
	 * 16 bytes; the table (and the device) only ever sees that prefix. */
	memcpy(p->name, fields[0], strnlen(fields[0], PARTTABLE_NAME_LEN));
	/* Same bytes as the tool, but a technician should know the device will see another name. */
	if (strlen(fields[0]) > PARTTABLE_NAME_LEN)
		log_write_line(LOG_WARN, "line %d: partition name '%s' is longer than %d bytes; the table stores '%.*s'",
			       line_no, fields[0], PARTTABLE_NAME_LEN, PARTTABLE_NAME_LEN, fields[0]);
	p->csv_name_hash = 0xcbf29ce484222325ull;
	for (const char *c = fields[0]; *c; c++)
		p->csv_name_hash = (p->csv_name_hash ^ (uint8_t)*c) * 0x100000001b3ull;

	int64_t v;
	if (!fields[1][0])
		return err_set_msg(e, ERR_CHECK, "Field 'type' can't be left empty.");
	if (parttable_parse_int(fields[1], parttable_types, &v, e) || parttable_check_range(v, 0xFF, "type", e))
		return -1;
	p->type = (uint8_t)v;

	if (!fields[2][0]) {
		if (p->type == PARTTABLE_TYPE_APP)
			return err_set_msg(e, ERR_CHECK, "App partition cannot have an empty subtype");
		v = PARTTABLE_SUBTYPE_UNDEFINED;
	} else {
		struct parttable_keyword kw[PARTTABLE_KEYWORDS_MAX];
		parttable_merge_keywords(o, p->type, kw);
		if (parttable_parse_int(fields[2], kw, &v, e) || parttable_check_range(v, 0xFF, "subtype", e))
			return -1;
	}
	p->subtype = (uint8_t)v;

	/* Offsets of the primary bootloader and table come from the options, not the CSV. */
	pend->has_offset = 1;
	if (p->type == PARTTABLE_TYPE_BOOTLOADER && p->subtype == 0x00) {
		if (!o->has_primary_bootloader_offset)
			return err_set_msg(e, ERR_CHECK, "Primary bootloader offset is not provided");
		p->offset = o->primary_bootloader_offset;
	} else if (p->type == PARTTABLE_TYPE_BOOTLOADER && p->subtype == 0x02) {
		if (!o->has_recovery_bootloader_offset)
			return err_set_msg(e, ERR_CHECK, "Recovery bootloader offset is not provided");
		p->offset = o->recovery_bootloader_offset;
	} else if (p->type == PARTTABLE_TYPE_PARTITION_TABLE && p->subtype == 0x00) {
		p->offset = o->table_offset;
	} else if (!fields[3][0]) {
		pend->has_offset = 0;
	} else {
		if (parttable_parse_int(fields[3], parttable_no_keywords, &v, e) ||
		    parttable_check_range(v, UINT32_MAX, "offset", e))
			return -1;
		p->offset = (uint32_t)v;
	}

	if (p->type == PARTTABLE_TYPE_BOOTLOADER) {
		if (!o->has_primary_bootloader_offset)
			return err_set_msg(e, ERR_CHECK, "Primary bootloader offset is not provided");
		pend->size = (int64_t)o->table_offset - (int64_t)o->primary_bootloader_offset;
	} else if (p->type == PARTTABLE_TYPE_PARTITION_TABLE) {
		pend->size = PARTTABLE_SECTOR_SIZE;
	} else if (!fields[4][0]) {
		return err_set_msg(e, ERR_CHECK, "Size field can't be empty");
	} else if (parttable_parse_int(fields[4], parttable_no_keywords, &pend->size, e)) {
		return -1;
	}

	/* Flags are ':'-separated and matched exactly (no spaces around the names). */
	for (char *f = fields[5]; f;) {
		char *colon = strchr(f, ':');
		if (colon)
			*colon = '\0';
		if (!strcmp(f, "encrypted"))
			p->flags |= PARTTABLE_FLAG_ENCRYPTED;
		else if (!strcmp(f, "readonly"))
			p->flags |= PARTTABLE_FLAG_READONLY;
		else if (*f)
			return err_set_msg(e, ERR_CHECK, "CSV flag column contains unknown flag '%s'", f);
		f = colon ? colon + 1 : NULL;
	}
	return 0;
}

int parttable_parse_csv(const char *text, size_t len, const char *source, const struct parttable_options *o,
			struct parttable *t, err_t *e)
{
	memset(t, 0, sizeof *t);
	struct parttable_pending *pend = mem_alloc_zeroed(sizeof *pend * PARTTABLE_MAX_ENTRIES);
	const char *src = source ? source : "partition table";
	buf_t utf8 = BUF_INIT;
	if (parttable_decode_text((const uint8_t *)text, len, src, &utf8, e)) {
		buf_free_data(&utf8);
		free(pend);
		return -1;
	}
	text = (const char *)utf8.data;
	len = utf8.len;
	if (len && memchr(text, '\0', len)) {
		buf_free_data(&utf8);
		free(pend);
		return err_set_msg(e, ERR_CHECK, "%s: not a text file (NUL byte) and not a binary table", src);
	}
	int line_no = 0, rc = 0;
	for (size_t pos = 0; pos < len && !rc;) {
		size_t end = pos, brk = 0;
		while (end < len && !(brk = parttable_break_at((const unsigned char *)text + end, len - end)))
			end++;
		line_no++;
		char *raw = mem_alloc_zeroed(end - pos + 1);
		memcpy(raw, text + pos, end - pos);
		pos = end + brk;
		char *expanded = parttable_expand_vars(raw);
		free(raw);
		/* Like the tool, only a variable left unexpanded at the very start of the line is an
		 * error (checked before stripping). */
		if (expanded[0] == '$' && (isalpha((unsigned char)expanded[1]) || expanded[1] == '_')) {
			size_t n = 1;
			while (isalnum((unsigned char)expanded[n]) || expanded[n] == '_')
				n++;
			rc = err_set_msg(e, ERR_CHECK, "%s: line %d: unknown variable '%.*s'", src, line_no,
					 (int)n - 1, expanded + 1);
			free(expanded);
			break;
		}
		char *line = parttable_strip_spaces(expanded);
		if (line[0] && line[0] != '#') {
			if (t->count >= PARTTABLE_MAX_ENTRIES)
				rc = err_set_msg(e, ERR_CHECK, "%s: line %d: more than %d partitions", src, line_no,
						 PARTTABLE_MAX_ENTRIES);
			else if (parttable_parse_line(line, line_no, o, &t->entries[t->count], &pend[t->count], e))
				rc = err_prepend_context(e, "%s: Error at line %d", src, line_no);
			else
				t->count++;
		}
		free(expanded);
	}
	buf_free_data(&utf8);
	if (rc) {
		free(pend);
		return -1;
	}

	/* Missing offsets continue from the previous partition, aligned for the type. */
	uint64_t last_end = (uint64_t)o->table_offset + PARTTABLE_SECTOR_SIZE;
	for (size_t i = 0; i < t->count; i++) {
		struct parttable_entry *p = &t->entries[i];
		if (parttable_is_primary_fixed(p->type, p->subtype)) {
			p->size = (uint32_t)pend[i].size;
			continue;
		}
		if (pend[i].has_offset && p->offset < last_end) {
			if (i == 0)
				rc = err_set_msg(e, ERR_CHECK,
						 "%s: CSV Error at line %d: Partitions overlap. Partition sets offset 0x%" PRIx32
						 ". But partition table occupies the whole sector 0x%" PRIx32
						 ". Use a free offset 0x%" PRIx64 " or higher.",
						 src, p->line, p->offset, o->table_offset, last_end);
			else
				rc = err_set_msg(e, ERR_CHECK,
						 "%s: CSV Error at line %d: Partitions overlap. Partition sets offset 0x%" PRIx32
						 ". Previous partition ends 0x%" PRIx64,
						 src, p->line, p->offset, last_end);
			break;
		}
		if (!pend[i].has_offset) {
			uint32_t pad = parttable_offset_alignment(p->type);
			if (last_end % pad)
				last_end += pad - last_end % pad;
			if (last_end > UINT32_MAX) {
				rc = err_set_msg(e, ERR_CHECK, "%s: line %d: offset 0x%" PRIx64 " is beyond 4 GiB", src,
						 p->line, last_end);
				break;
			}
			p->offset = (uint32_t)last_end;
		}
		int64_t size = pend[i].size;
		if (size < 0) /* "-END": the partition extends to that address */
			size = -size - (int64_t)p->offset;
		if (size < 0 || size > UINT32_MAX) {
			rc = err_set_msg(e, ERR_CHECK, "%s: Error at line %d: size %" PRId64 " is out of range", src,
					 p->line, size);
			break;
		}
		p->size = (uint32_t)size;
		last_end = (uint64_t)p->offset + p->size;
	}
	free(pend);
	return rc;
}

/* ---- verification ---- */

static int parttable_verify_entry(const struct parttable_entry *p, const struct parttable_options *o, err_t *e)
{
	uint32_t align = parttable_offset_alignment(p->type);
	if (p->offset % align)
		return err_set_msg(e, ERR_CHECK, "Partition %s invalid: Offset 0x%" PRIx32 " is not aligned to 0x%" PRIx32,
				   p->name, p->offset, align);
	if (p->type == PARTTABLE_TYPE_APP) {
		uint32_t salign = o->secure == PARTTABLE_SECURE_V1 ? 0x10000 : 0x1000;
		if (p->size % salign)
			return err_set_msg(e, ERR_CHECK, "Partition %s invalid: Size 0x%" PRIx32 " is not aligned to 0x%" PRIx32,
					   p->name, p->size, salign);
	}
	if (p->type == PARTTABLE_TYPE_DATA && (p->subtype == 0x00 || p->subtype == 0x03) &&
	    (p->flags & PARTTABLE_FLAG_READONLY))
		return err_set_msg(e, ERR_CHECK,
				   "Partition %s invalid: '%s' partition of type %u and subtype %u is always read-write "
				   "and cannot be read-only",
				   p->name, p->name, p->type, p->subtype);
	if (p->type == PARTTABLE_TYPE_DATA && p->subtype == 0x02 && p->size < PARTTABLE_NVS_RW_MIN_SIZE &&
	    !(p->flags & PARTTABLE_FLAG_READONLY))
		return err_set_msg(e, ERR_CHECK,
				   "Partition %s invalid: '%s' partition of type %u and subtype %u of this size (0x%" PRIx32
				   ") must be flagged as 'readonly' (the size of read/write NVS has to be at least 0x%x)",
				   p->name, p->name, p->type, p->subtype, p->size, PARTTABLE_NVS_RW_MIN_SIZE);
	return 0;
}

static int parttable_compare_offset(const void *a, const void *b)
{
	const struct parttable_entry *x = *(const struct parttable_entry *const *)a;
	const struct parttable_entry *y = *(const struct parttable_entry *const *)b;
	if (x->offset != y->offset)
		return x->offset < y->offset ? -1 : 1;
	return x < y ? -1 : x > y; /* stable, as Python's sorted() */
}

static uint64_t parttable_used_size(const struct parttable *t)
{
	/* The tool takes the end of the partition with the highest offset. */
	const struct parttable_entry *last = NULL;
	for (size_t i = 0; i < t->count; i++)
		if (!last || t->entries[i].offset > last->offset)
			last = &t->entries[i];
	return last ? (uint64_t)last->offset + last->size : 0;
}

int parttable_verify(const struct parttable *t, const struct parttable_options *o, err_t *e)
{
	for (size_t i = 0; i < t->count; i++)
		if (parttable_verify_entry(&t->entries[i], o, e))
			return -1;
	for (size_t i = 0; i < t->count; i++)
		for (size_t k = 0; k < i; k++)
			if (!strcmp(t->entries[i].name, t->entries[k].name) &&
			    t->entries[i].csv_name_hash == t->entries[k].csv_name_hash)
				return err_set_msg(e, ERR_CHECK, "Partition names must be unique ('%s' is used twice)",
						   t->entries[i].name);
	const struct parttable_entry *sorted[PARTTABLE_MAX_ENTRIES];
	for (size_t i = 0; i < t->count; i++)
		sorted[i] = &t->entries[i];
	qsort(sorted, t->count, sizeof sorted[0], parttable_compare_offset);
	const struct parttable_entry *last = NULL;
	uint64_t table_end = (uint64_t)o->table_offset + PARTTABLE_SECTOR_SIZE;
	for (size_t i = 0; i < t->count; i++) {
		const struct parttable_entry *p = sorted[i];
		if (p->offset < table_end && !parttable_is_primary_fixed(p->type, p->subtype))
			return err_set_msg(e, ERR_CHECK, "Partition offset 0x%" PRIx32 " is below 0x%" PRIx64 " (partition %s)",
					   p->offset, table_end, p->name);
		if (last && p->offset < (uint64_t)last->offset + last->size)
			return err_set_msg(e, ERR_CHECK,
					   "Partition at 0x%" PRIx32 " overlaps 0x%" PRIx32 "-0x%" PRIx64 " (%s overlaps %s)",
					   p->offset, last->offset, (uint64_t)last->offset + last->size - 1, p->name,
					   last->name);
		last = p;
	}
	static const struct {
		uint8_t subtype;
		const char *what, *spec;
	} otadata[] = {{0x00, "otadata", "subtype=\"ota\"(0)"}, {0x90, "TEE otadata", "subtype=\"tee_ota\"(0x90)"}};
	for (size_t k = 0; k < 2; k++) {
		const struct parttable_entry *found = NULL;
		for (size_t i = 0; i < t->count; i++) {
			const struct parttable_entry *p = &t->entries[i];
			if (p->type != PARTTABLE_TYPE_DATA || p->subtype != otadata[k].subtype)
				continue;
			if (found)
				return err_set_msg(e, ERR_CHECK,
						   "Found multiple %s partitions. Only one partition can be defined with "
						   "type=\"data\"(1) and %s.",
						   otadata[k].what, otadata[k].spec);
			found = p;
		}
		if (found && found->size != PARTTABLE_OTADATA_SIZE)
			return err_set_msg(e, ERR_CHECK, "%s partition must have size = 0x2000 (%s has 0x%" PRIx32 ")",
					   otadata[k].what, found->name, found->size);
	}
	if (o->flash_size) {
		uint64_t used = parttable_used_size(t);
		if (used > o->flash_size)
			return err_set_msg(e, ERR_CHECK,
					   "Partitions tables occupies %.1fMB of flash (%" PRIu64
					   " bytes) which does not fit in configured flash size %" PRIu64 "MB. Change the "
					   "flash size in menuconfig under the 'Serial Flasher Config' menu.",
					   (double)used / (1024.0 * 1024.0), used, o->flash_size / (1024 * 1024));
	}
	return 0;
}

int parttable_load_csv_file(const char *path, const struct parttable_options *o, struct parttable *t, err_t *e)
{
	buf_t b = BUF_INIT;
	if (fileio_read_file(path, &b, e))
		return -1;
	int rc = parttable_parse_csv((const char *)b.data, b.len, path, o, t, e);
	buf_free_data(&b);
	if (!rc && parttable_verify(t, o, e))
		rc = err_prepend_context(e, "%s", path);
	return rc;
}

/* ---- binary ---- */

int parttable_is_binary(const uint8_t *data, size_t len)
{
	return len >= 2 && !memcmp(data, parttable_magic, 2);
}

static void parttable_put_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8), p[2] = (uint8_t)(v >> 16), p[3] = (uint8_t)(v >> 24);
}

static uint32_t parttable_get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

int parttable_encode_binary(const struct parttable *t, const struct parttable_options *o,
			    uint8_t out[PARTTABLE_BIN_SIZE], err_t *e)
{
	size_t len = t->count * PARTTABLE_ENTRY_SIZE + (o->disable_md5 ? 0 : PARTTABLE_ENTRY_SIZE);
	if (len >= PARTTABLE_BIN_SIZE)
		return err_set_msg(e, ERR_CHECK, "Binary partition table length (%zu) longer than max", len);
	memset(out, 0xFF, PARTTABLE_BIN_SIZE);
	for (size_t i = 0; i < t->count; i++) {
		const struct parttable_entry *p = &t->entries[i];
		uint8_t *d = out + i * PARTTABLE_ENTRY_SIZE;
		memcpy(d, parttable_magic, 2);
		d[2] = p->type;
		d[3] = p->subtype;
		parttable_put_u32(d + 4, p->offset);
		parttable_put_u32(d + 8, p->size);
		memset(d + 12, 0, PARTTABLE_NAME_LEN);
		memcpy(d + 12, p->name, strnlen(p->name, PARTTABLE_NAME_LEN));
		parttable_put_u32(d + 28, p->flags & (PARTTABLE_FLAG_ENCRYPTED | PARTTABLE_FLAG_READONLY));
	}
	if (!o->disable_md5) {
		uint8_t *d = out + t->count * PARTTABLE_ENTRY_SIZE;
		memcpy(d, parttable_md5_magic, 2);
		memset(d + 2, 0xFF, 14);
		if (mbedtls_md5_ret(out, t->count * PARTTABLE_ENTRY_SIZE, d + 16) != 0)
			return err_set_msg(e, ERR_CHECK, "MD5 computation failed");
	}
	return 0;
}

int parttable_decode_binary(const uint8_t *data, size_t len, const struct parttable_options *o,
			    struct parttable *t, err_t *e)
{
	memset(t, 0, sizeof *t);
	mbedtls_md5_context md5;
	mbedtls_md5_init(&md5);
	mbedtls_md5_starts_ret(&md5);
	int rc = -1;
	size_t off;
	for (off = 0; off < len; off += PARTTABLE_ENTRY_SIZE) {
		const uint8_t *d = data + off;
		if (len - off < PARTTABLE_ENTRY_SIZE) {
			err_set_msg(e, ERR_CHECK, "Partition table length must be a multiple of 32 bytes (%zu bytes)", len);
			goto out;
		}
		static const uint8_t ff[PARTTABLE_ENTRY_SIZE] = {
			0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
			0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
			0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF};
		if (!memcmp(d, ff, sizeof ff)) {
			rc = 0;
			goto out;
		}
		if (!o->disable_md5 && !memcmp(d, parttable_md5_magic, 2)) {
			uint8_t digest[16];
			mbedtls_md5_context copy;
			mbedtls_md5_init(&copy);
			mbedtls_md5_clone(&copy, &md5);
			mbedtls_md5_finish_ret(&copy, digest);
			mbedtls_md5_free(&copy);
			if (memcmp(digest, d + 16, 16)) {
				char want[33], got[33];
				for (int k = 0; k < 16; k++) {
					snprintf(want + 2 * k, 3, "%02x", digest[k]);
					snprintf(got + 2 * k, 3, "%02x", d[16 + k]);
				}
				err_set_msg(e, ERR_CHECK,
					    "MD5 checksums don't match! (computed: 0x%s, parsed: 0x%s) at offset 0x%zx",
					    want, got, off);
				goto out;
			}
			continue;
		}
		mbedtls_md5_update_ret(&md5, d, PARTTABLE_ENTRY_SIZE);
		if (memcmp(d, parttable_magic, 2)) {
			err_set_msg(e, ERR_CHECK, "Invalid magic bytes (%02x %02x) for partition definition at offset 0x%zx",
				    d[0], d[1], off);
			goto out;
		}
		if (t->count >= PARTTABLE_MAX_ENTRIES) {
			err_set_msg(e, ERR_CHECK, "more than %d partition entries", PARTTABLE_MAX_ENTRIES);
			goto out;
		}
		struct parttable_entry *p = &t->entries[t->count++];
		memset(p, 0, sizeof *p);
		p->type = d[2];
		p->subtype = d[3];
		p->offset = parttable_get_u32(d + 4);
		p->size = parttable_get_u32(d + 8);
		memcpy(p->name, d + 12, PARTTABLE_NAME_LEN);
		p->name[PARTTABLE_NAME_LEN] = '\0';
		/* The tool decodes the name as strict UTF-8; a long name cut inside a character
		 * cannot be read back. */
		for (size_t i = 0, n = strlen(p->name), k; i < n; i += k)
			if (!(k = parttable_utf8_len((const unsigned char *)p->name + i, n - i))) {
				err_set_msg(e, ERR_CHECK, "partition name at offset 0x%zx is not valid UTF-8", off);
				goto out;
			}
		/* Unknown flag bits are dropped, as the tool does. */
		p->flags = parttable_get_u32(d + 28) & (PARTTABLE_FLAG_ENCRYPTED | PARTTABLE_FLAG_READONLY);
	}
	err_set_msg(e, ERR_CHECK, "Partition table is missing an end-of-table marker");
out:
	mbedtls_md5_free(&md5);
	return rc;
}

/* ---- rendering ---- */

static void parttable_append_size(buf_t *b, uint32_t v)
{
	char s[32];
	if (v % 0x100000 == 0)
		snprintf(s, sizeof s, "%" PRIu32 "M", v / 0x100000);
	else if (v % 0x400 == 0)
		snprintf(s, sizeof s, "%" PRIu32 "K", v / 0x400);
	else
		snprintf(s, sizeof s, "0x%" PRIx32, v);
	buf_append_str(b, s);
}

void parttable_render_csv(const struct parttable *t, const struct parttable_options *o, buf_t *out)
{
	buf_append_str(out, "# ESP-IDF Partition Table\n# Name, Type, SubType, Offset, Size, Flags\n");
	for (size_t i = 0; i < t->count; i++) {
		const struct parttable_entry *p = &t->entries[i];
		char num[32];
		buf_append_str(out, p->name);
		buf_append_byte(out, ',');
		const char *tn = parttable_type_name(p->type);
		snprintf(num, sizeof num, "%u", p->type);
		buf_append_str(out, tn ? tn : num);
		buf_append_byte(out, ',');
		struct parttable_keyword kw[PARTTABLE_KEYWORDS_MAX];
		parttable_merge_keywords(o, p->type, kw);
		const char *sn = parttable_keyword_name(kw, p->subtype);
		snprintf(num, sizeof num, "%u", p->subtype);
		buf_append_str(out, sn ? sn : num);
		snprintf(num, sizeof num, ",0x%" PRIx32 ",", p->offset);
		buf_append_str(out, num);
		parttable_append_size(out, p->size);
		buf_append_byte(out, ',');
		if (p->flags & PARTTABLE_FLAG_ENCRYPTED)
			buf_append_str(out, "encrypted");
		if ((p->flags & PARTTABLE_FLAG_ENCRYPTED) && (p->flags & PARTTABLE_FLAG_READONLY))
			buf_append_byte(out, ':');
		if (p->flags & PARTTABLE_FLAG_READONLY)
			buf_append_str(out, "readonly");
		buf_append_byte(out, '\n');
	}
	buf_terminate_str(out);
}

void parttable_render_json(const struct parttable *t, buf_t *out)
{
	json_t *arr = json_array();
	for (size_t i = 0; i < t->count; i++) {
		const struct parttable_entry *p = &t->entries[i];
		const char *tn = parttable_type_name(p->type), *sn = parttable_subtype_name(p->type, p->subtype);
		json_t *o = json_object();
		json_object_set_new(o, "name", json_string(p->name));
		json_object_set_new(o, "type", json_integer(p->type));
		json_object_set_new(o, "type_name", tn ? json_string(tn) : json_null());
		json_object_set_new(o, "subtype", json_integer(p->subtype));
		json_object_set_new(o, "subtype_name", sn ? json_string(sn) : json_null());
		json_object_set_new(o, "offset", json_integer(p->offset));
		json_object_set_new(o, "size", json_integer(p->size));
		json_object_set_new(o, "encrypted", json_boolean(p->flags & PARTTABLE_FLAG_ENCRYPTED));
		json_object_set_new(o, "readonly", json_boolean(p->flags & PARTTABLE_FLAG_READONLY));
		json_array_append_new(arr, o);
	}
	json_t *root = json_pack("{s:o}", "partitions", arr);
	char *s = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	buf_append_str(out, s);
	buf_append_byte(out, '\n');
	buf_terminate_str(out);
	free(s);
	json_decref(root);
}

int parttable_convert(const uint8_t *in, size_t len, const char *source, const struct parttable_options *o,
		      int json, buf_t *out, int *out_is_binary, err_t *e)
{
	struct parttable *t = mem_alloc_zeroed(sizeof *t);
	int binary_in = parttable_is_binary(in, len);
	int rc;
	if (binary_in)
		rc = parttable_decode_binary(in, len, o, t, e) ? err_prepend_context(e, "%s", source) : 0;
	else
		rc = parttable_parse_csv((const char *)in, len, source, o, t, e);
	if (!rc && parttable_verify(t, o, e))
		rc = err_prepend_context(e, "%s", source);
	if (!rc) {
		*out_is_binary = 0;
		if (json) {
			parttable_render_json(t, out);
		} else if (binary_in) {
			parttable_render_csv(t, o, out);
		} else {
			buf_reserve_bytes(out, PARTTABLE_BIN_SIZE);
			if (parttable_encode_binary(t, o, out->data + out->len, e)) {
				rc = -1;
			} else {
				out->len += PARTTABLE_BIN_SIZE;
				*out_is_binary = 1;
			}
		}
	}
	free(t);
	return rc;
}

const struct parttable_entry *parttable_find_by_name(const struct parttable *t, const char *name)
{
	for (size_t i = 0; i < t->count; i++)
		if (!strcmp(t->entries[i].name, name))
			return &t->entries[i];
	return NULL;
}

const struct parttable_entry *parttable_find_by_type(const struct parttable *t, int type, int subtype,
						     const struct parttable_entry *after)
{
	size_t start = after ? (size_t)(after - t->entries) + 1 : 0;
	for (size_t i = start; i < t->count; i++)
		if (t->entries[i].type == type && (subtype < 0 || t->entries[i].subtype == subtype))
			return &t->entries[i];
	return NULL;
}
