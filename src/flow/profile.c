#include "flow/profile.h"

#include <ctype.h>
#include <stdarg.h>
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ini.h>

#include "core/buf.h"
#include "core/fileio.h"

/* Values a key may take; each kind has one parser below. */
enum profile_kind {
	PK_U16,
	PK_U32,
	PK_NAME,     /* string with a length limit */
	PK_PATH,     /* resolved against the profile folder */
	PK_LABEL,    /* partition label, <= 16 chars */
	PK_CHIPS,
	PK_PATHSEL,
	PK_MODE,
	PK_SWITCH,
	PK_BOOL,
	PK_CODE,     /* "random" or a number */
	PK_SERIAL,
	PK_DATE,
};

struct profile_key {
	const char *section, *name;
	enum profile_kind kind;
	uint64_t min, max; /* numbers: range; strings: max length */
	bool required;
};

enum {
	K_VID, K_PID, K_VNAME, K_PNAME, K_HWVER, K_HWSTR, K_CHIPS,
	K_PAI_CERT, K_PAI_KEY, K_DAC_DIR, K_CD,
	K_TABLE, K_SECCERT, K_FACTORY, K_NVSKEYS,
	K_PATH, K_MODE, K_FE, K_NVSENC, K_SBDIGEST,
	K_ITER, K_PASSCODE, K_DISC, K_FLOW, K_DISCOVERY, K_ROTID,
	K_SERIAL, K_SERIAL_START, K_MFGDATE, K_EXTRA_NVS, K_BAUD,
	K_OUTDIR, K_LABEL,
	K_FLASHER_ARGS,
	K_COUNT
};

static const struct profile_key profile_keys[K_COUNT] = {
	[K_VID] = {"product", "vendor_id", PK_U16, 1, 0xFFFE, true},
	[K_PID] = {"product", "product_id", PK_U16, 1, 0xFFFF, true},
	[K_VNAME] = {"product", "vendor_name", PK_NAME, 1, PROFILE_NAME_MAX, true},
	[K_PNAME] = {"product", "product_name", PK_NAME, 1, PROFILE_NAME_MAX, true},
	[K_HWVER] = {"product", "hardware_version", PK_U32, 0, 0xFFFF, false},
	[K_HWSTR] = {"product", "hardware_version_string", PK_NAME, 1, PROFILE_HWSTR_MAX, false},
	[K_CHIPS] = {"product", "chips", PK_CHIPS, 0, 0, false},
	[K_PAI_CERT] = {"attestation", "pai_cert", PK_PATH, 0, 0, false},
	[K_PAI_KEY] = {"attestation", "pai_key", PK_PATH, 0, 0, false},
	[K_DAC_DIR] = {"attestation", "dac_dir", PK_PATH, 0, 0, false},
	[K_CD] = {"attestation", "cd", PK_PATH, 0, 0, true},
	[K_TABLE] = {"partitions", "table", PK_PATH, 0, 0, true},
	[K_SECCERT] = {"partitions", "secure_cert", PK_LABEL, 1, 16, false},
	[K_FACTORY] = {"partitions", "factory", PK_LABEL, 1, 16, false},
	[K_NVSKEYS] = {"partitions", "nvs_keys", PK_LABEL, 1, 16, false},
	[K_PATH] = {"security", "path", PK_PATHSEL, 0, 0, false},
	[K_MODE] = {"security", "mode", PK_MODE, 0, 0, true},
	[K_FE] = {"security", "flash_encryption", PK_SWITCH, 0, 0, false},
	[K_NVSENC] = {"security", "nvs_encryption", PK_BOOL, 0, 0, false},
	[K_SBDIGEST] = {"security", "secure_boot_digest", PK_PATH, 0, 0, false},
	[K_ITER] = {"commissioning", "iteration_count", PK_U32, 1000, 100000, false},
	[K_PASSCODE] = {"commissioning", "passcode", PK_CODE, 1, 99999998, false},
	[K_DISC] = {"commissioning", "discriminator", PK_CODE, 0, 0xFFF, false},
	[K_FLOW] = {"commissioning", "commissioning_flow", PK_U32, 0, 2, false},
	[K_DISCOVERY] = {"commissioning", "discovery", PK_U32, 0, 0xFF, false},
	[K_ROTID] = {"commissioning", "rotating_id", PK_BOOL, 0, 0, false},
	[K_SERIAL] = {"device", "serial", PK_SERIAL, 1, PROFILE_SERIAL_MAX, true},
	[K_SERIAL_START] = {"device", "serial_start", PK_U32, 0, 0xFFFFFFFF, false},
	[K_MFGDATE] = {"device", "mfg_date", PK_DATE, 0, 0, false},
	[K_EXTRA_NVS] = {"device", "extra_nvs", PK_PATH, 0, 0, false},
	/* the range the loader accepts for --baud */
	[K_BAUD] = {"device", "baud", PK_U32, 9600, 5000000, false},
	[K_OUTDIR] = {"output", "dir", PK_PATH, 0, 0, false},
	[K_LABEL] = {"output", "label", PK_PATH, 0, 0, false},
	[K_FLASHER_ARGS] = {"firmware", "flasher_args", PK_PATH, 0, 0, false},
};

static const char *const profile_known_chips[] = {
	"esp32", "esp32s2", "esp32s3", "esp32c2", "esp32c3", "esp32c6", "esp32h2",
};

/* Passcodes the Matter specification forbids (matter-provisioning.md §2). */
static const uint32_t profile_bad_passcodes[] = {
	0, 11111111, 22222222, 33333333, 44444444, 55555555, 66666666, 77777777, 88888888,
	99999999, 12345678, 87654321,
};

struct profile_parse {
	struct profile *p;
	int line[K_COUNT]; /* where each key was set; 0 = not given */
	char msg[768];     /* first error, without the file:line prefix */
	bool failed;
	char section[64];
};

static int profile_fail(struct profile_parse *st, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int profile_fail(struct profile_parse *st, const char *fmt, ...)
{
	if (!st->failed) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(st->msg, sizeof st->msg, fmt, ap);
		va_end(ap);
		st->failed = true;
	}
	return 0; /* inih: this line is in error */
}

static int profile_parse_number(const char *v, uint64_t min, uint64_t max, uint64_t *out)
{
	if (!*v || *v == '-' || *v == '+' || isspace((unsigned char)*v))
		return -1;
	int base = (v[0] == '0' && (v[1] == 'x' || v[1] == 'X')) ? 16 : 10;
	char *end = NULL;
	errno = 0;
	unsigned long long n = strtoull(v, &end, base);
	if (errno || end == v || *end || n < min || n > max)
		return -1;
	*out = n;
	return 0;
}

static char *profile_resolve_path(const struct profile *p, const char *v)
{
	if (v[0] == '/' || !p->dir || !*p->dir)
		return mem_strdup(v);
	size_t n = strlen(p->dir) + strlen(v) + 2;
	char *out = mem_alloc_zeroed(n);
	fileio_join_path(out, n, p->dir, v);
	return out;
}

/* The field a key stores into, for the kinds that store a string. */
static char **profile_string_slot(struct profile *p, int k)
{
	switch (k) {
	case K_VNAME: return &p->vendor_name;
	case K_PNAME: return &p->product_name;
	case K_HWSTR: return &p->hardware_version_string;
	case K_PAI_CERT: return &p->pai_cert;
	case K_PAI_KEY: return &p->pai_key;
	case K_DAC_DIR: return &p->dac_dir;
	case K_CD: return &p->cd;
	case K_TABLE: return &p->partition_table;
	case K_SECCERT: return &p->secure_cert_label;
	case K_FACTORY: return &p->factory_label;
	case K_NVSKEYS: return &p->nvs_keys_label;
	case K_SBDIGEST: return &p->secure_boot_digest;
	case K_SERIAL: return &p->serial_pattern;
	case K_MFGDATE: return &p->mfg_date;
	case K_EXTRA_NVS: return &p->extra_nvs;
	case K_OUTDIR: return &p->output_dir;
	case K_LABEL: return &p->label_template;
	case K_FLASHER_ARGS: return &p->flasher_args;
	default: return NULL;
	}
}

static int profile_parse_bool(const char *v, bool *out)
{
	if (!strcmp(v, "yes") || !strcmp(v, "true") || !strcmp(v, "on") || !strcmp(v, "1")) {
		*out = true;
		return 0;
	}
	if (!strcmp(v, "no") || !strcmp(v, "false") || !strcmp(v, "off") || !strcmp(v, "0")) {
		*out = false;
		return 0;
	}
	return -1;
}

static int profile_parse_chips(struct profile_parse *st, const char *v)
{
	struct profile *p = st->p;
	char *copy = mem_strdup(v), *save = NULL;
	int rc = 1;
	for (char *tok = strtok_r(copy, ", \t", &save); tok; tok = strtok_r(NULL, ", \t", &save)) {
		bool known = false;
		for (size_t i = 0; i < sizeof profile_known_chips / sizeof *profile_known_chips; i++)
			known |= !strcmp(tok, profile_known_chips[i]);
		if (!known) {
			rc = profile_fail(st, "'%s' is not a supported chip (esp32, esp32s2, esp32s3, "
					  "esp32c2, esp32c3, esp32c6, esp32h2)", tok);
			break;
		}
		if (p->n_chips == PROFILE_MAX_CHIPS) {
			rc = profile_fail(st, "more than %d chips listed", PROFILE_MAX_CHIPS);
			break;
		}
		p->chips[p->n_chips++] = mem_strdup(tok);
	}
	free(copy);
	if (rc && p->n_chips == 0)
		rc = profile_fail(st, "no chip listed");
	return rc;
}

static int profile_check_serial_pattern(const char *pat, char *why, size_t n)
{
	uint8_t mac[6] = {0};
	char out[256];
	err_t e = {0};
	if (profile_format_serial(pat, 0, mac, out, sizeof out, &e)) {
		snprintf(why, n, "%.400s", e.msg);
		return -1;
	}
	return 0;
}

static int profile_set_value(struct profile_parse *st, int k, const char *v)
{
	struct profile *p = st->p;
	const struct profile_key *key = &profile_keys[k];
	uint64_t num = 0;
	switch (key->kind) {
	case PK_U16:
	case PK_U32:
		if (profile_parse_number(v, key->min, key->max, &num))
			return profile_fail(st, "'%s' is not a number in %llu..%llu (0x prefix for hex)",
					    v, (unsigned long long)key->min, (unsigned long long)key->max);
		switch (k) {
		case K_VID: p->vendor_id = (uint16_t)num; break;
		case K_PID: p->product_id = (uint16_t)num; break;
		case K_HWVER: p->hardware_version = (uint32_t)num; break;
		case K_ITER: p->iteration_count = (uint32_t)num; break;
		case K_FLOW: p->commissioning_flow = (uint32_t)num; break;
		case K_DISCOVERY: p->discovery = (uint32_t)num; break;
		case K_SERIAL_START: p->serial_start = num; break;
		case K_BAUD: p->baud = (uint32_t)num; break;
		}
		return 1;
	case PK_CODE:
		if (!strcmp(v, "random")) {
			if (k == K_PASSCODE)
				p->passcode_fixed = false;
			else
				p->discriminator_fixed = false;
			return 1;
		}
		if (profile_parse_number(v, key->min, key->max, &num))
			return profile_fail(st, "'%s' is neither 'random' nor a number in %llu..%llu", v,
					    (unsigned long long)key->min, (unsigned long long)key->max);
		if (k == K_PASSCODE) {
			if (profile_passcode_forbidden((uint32_t)num))
				return profile_fail(st, "%s is a passcode the Matter specification forbids", v);
			p->passcode_fixed = true;
			p->passcode = (uint32_t)num;
		} else {
			p->discriminator_fixed = true;
			p->discriminator = (uint32_t)num;
		}
		return 1;
	case PK_NAME:
	case PK_LABEL:
	case PK_SERIAL:
		if (strlen(v) < key->min || strlen(v) > key->max)
			return profile_fail(st, "'%s' must be %llu to %llu characters long", v,
					    (unsigned long long)key->min, (unsigned long long)key->max);
		if (key->kind == PK_SERIAL) {
			char why[512];
			if (profile_check_serial_pattern(v, why, sizeof why))
				return profile_fail(st, "%s", why);
		}
		*profile_string_slot(p, k) = mem_strdup(v);
		return 1;
	case PK_PATH:
		if (!*v)
			return profile_fail(st, "an empty path");
		*profile_string_slot(p, k) = profile_resolve_path(p, v);
		return 1;
	case PK_DATE: {
		int y, m, d;
		char tail;
		if (!strcmp(v, "today"))
			return 1;
		if (strlen(v) != 10 || sscanf(v, "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3 || m < 1 ||
		    m > 12 || d < 1 || d > 31 || y < 2000)
			return profile_fail(st, "'%s' is not a date YYYY-MM-DD or 'today'", v);
		p->mfg_date = mem_strdup(v);
		return 1;
	}
	case PK_CHIPS:
		return profile_parse_chips(st, v);
	case PK_PATHSEL:
		if (!strcmp(v, "auto"))
			p->path = PROFILE_PATH_AUTO;
		else if (!strcmp(v, "ecdsa-efuse"))
			p->path = PROFILE_PATH_ECDSA_EFUSE;
		else if (!strcmp(v, "ds"))
			p->path = PROFILE_PATH_DS;
		else if (!strcmp(v, "flash-encryption"))
			p->path = PROFILE_PATH_FLASH_ENC;
		else
			return profile_fail(st, "'%s' is not one of auto, ecdsa-efuse, ds, flash-encryption", v);
		return 1;
	case PK_MODE:
		if (!strcmp(v, "development"))
			p->mode = PROFILE_MODE_DEVELOPMENT;
		else if (!strcmp(v, "production"))
			p->mode = PROFILE_MODE_PRODUCTION;
		else
			return profile_fail(st, "'%s' is not one of development, production", v);
		return 1;
	case PK_SWITCH:
		if (!strcmp(v, "auto")) {
			p->flash_encryption = PROFILE_SWITCH_AUTO;
			return 1;
		}
		bool b;
		if (profile_parse_bool(v, &b))
			return profile_fail(st, "'%s' is not one of auto, yes, no", v);
		p->flash_encryption = b ? PROFILE_SWITCH_ON : PROFILE_SWITCH_OFF;
		return 1;
	case PK_BOOL: {
		bool b2;
		if (profile_parse_bool(v, &b2))
			return profile_fail(st, "'%s' is not one of yes, no", v);
		if (k == K_NVSENC)
			p->nvs_encryption = b2;
		else
			p->rotating_id = b2;
		return 1;
	}
	}
	return profile_fail(st, "internal: unhandled key kind");
}

static int profile_handle_line(void *user, const char *section, const char *name, const char *value,
			       int lineno)
{
	struct profile_parse *st = user;
	snprintf(st->section, sizeof st->section, "%s", section);
	int k;
	bool section_known = false;
	for (k = 0; k < K_COUNT; k++) {
		if (strcmp(profile_keys[k].section, section))
			continue;
		section_known = true;
		if (!strcmp(profile_keys[k].name, name))
			break;
	}
	if (!section_known)
		return profile_fail(st, "[%s]: unknown section", section);
	if (k == K_COUNT)
		return profile_fail(st, "[%s] %s: unknown key", section, name);
	if (st->line[k])
		return profile_fail(st, "[%s] %s: already set on line %d", section, name, st->line[k]);
	st->line[k] = lineno;
	if (st->failed)
		return 0;
	int ok = profile_set_value(st, k, value);
	if (!ok) {
		char tmp[sizeof st->msg];
		snprintf(tmp, sizeof tmp, "%s", st->msg);
		snprintf(st->msg, sizeof st->msg, "[%s] %s: %.700s", section, name, tmp);
	}
	return ok;
}

/* inih passes line numbers only through its return value; this wrapper counts lines itself so
 * every handler call knows where it is. */
struct profile_reader {
	FILE *f;
	int lineno;
	struct profile_parse *st;
};

static char *profile_read_line(char *str, int num, void *stream)
{
	struct profile_reader *r = stream;
	char *s = fgets(str, num, r->f);
	if (s)
		r->lineno++;
	return s;
}

static int profile_handle_counted(void *user, const char *section, const char *name, const char *value)
{
	struct profile_reader *r = user;
	return profile_handle_line(r->st, section, name, value, r->lineno);
}

static void profile_set_defaults(struct profile *p)
{
	p->iteration_count = 10000;
	p->discovery = 0x02;
	p->rotating_id = true;
	p->serial_start = 1;
}

static int profile_check_whole(struct profile_parse *st, const char *file, err_t *e)
{
	struct profile *p = st->p;
	for (int k = 0; k < K_COUNT; k++)
		if (profile_keys[k].required && !st->line[k])
			return err_set_msg(e, ERR_CHECK, "%s: [%s] %s: missing (required)", file,
					   profile_keys[k].section, profile_keys[k].name);
	bool have_pai = p->pai_cert || p->pai_key;
	if (have_pai && p->dac_dir)
		return err_set_msg(e, ERR_CHECK, "%s:%d: [attestation] dac_dir: give either pai_cert + "
				   "pai_key or dac_dir, not both", file, st->line[K_DAC_DIR]);
	if (!have_pai && !p->dac_dir)
		return err_set_msg(e, ERR_CHECK, "%s: [attestation]: pai_cert + pai_key or dac_dir is "
				   "required", file);
	if (have_pai && (!p->pai_cert || !p->pai_key))
		return err_set_msg(e, ERR_CHECK, "%s:%d: [attestation] %s: missing (pai_cert and pai_key "
				   "go together)", file, st->line[p->pai_cert ? K_PAI_CERT : K_PAI_KEY],
				   p->pai_cert ? "pai_key" : "pai_cert");
	if (p->mode == PROFILE_MODE_PRODUCTION) {
		if (p->passcode_fixed)
			return err_set_msg(e, ERR_CHECK, "%s:%d: [commissioning] passcode: a fixed passcode "
					   "is only allowed in development mode", file, st->line[K_PASSCODE]);
		if (p->discriminator_fixed)
			return err_set_msg(e, ERR_CHECK, "%s:%d: [commissioning] discriminator: a fixed "
					   "discriminator is only allowed in development mode", file,
					   st->line[K_DISC]);
		if (p->flash_encryption == PROFILE_SWITCH_OFF && p->path != PROFILE_PATH_ECDSA_EFUSE)
			return err_set_msg(e, ERR_CHECK, "%s:%d: [security] flash_encryption: production "
					   "mode keeps the DAC key in flash only with flash encryption on "
					   "(or path = ecdsa-efuse)", file, st->line[K_FE]);
	}
	if (p->flash_encryption == PROFILE_SWITCH_OFF && p->path == PROFILE_PATH_FLASH_ENC)
		return err_set_msg(e, ERR_CHECK, "%s:%d: [security] flash_encryption: 'no' contradicts "
				   "path = flash-encryption", file, st->line[K_FE]);
	if (p->nvs_encryption && p->flash_encryption == PROFILE_SWITCH_OFF)
		return err_set_msg(e, ERR_CHECK, "%s:%d: [security] nvs_encryption: the nvs_keys "
				   "partition is only protected with flash encryption on", file,
				   st->line[K_NVSENC]);
	if (!p->secure_cert_label)
		p->secure_cert_label = mem_strdup("esp_secure_cert");
	if (!p->factory_label)
		p->factory_label = mem_strdup("fctry");
	if (!p->nvs_keys_label)
		p->nvs_keys_label = mem_strdup("nvs_keys");
	if (!p->output_dir)
		p->output_dir = profile_resolve_path(p, "out");
	return 0;
}

int profile_load(const char *file, struct profile *p, err_t *e)
{
	memset(p, 0, sizeof *p);
	profile_set_defaults(p);
	p->file = mem_strdup(file);
	char *copy = mem_strdup(file);
	/* Absolute, so paths recorded in the journal and manifest do not depend on the cwd. */
	const char *d = dirname(copy);
	char *abs = realpath(d, NULL);
	p->dir = abs ? abs : mem_strdup(d);
	free(copy);

	struct profile_parse st = {.p = p};
	struct profile_reader r = {.st = &st};
	r.f = fopen(file, "r");
	if (!r.f) {
		err_set_msg(e, ERR_CHECK, "%s: cannot open profile: %s", file, strerror(errno));
		profile_free(p);
		return -1;
	}
	int rc = ini_parse_stream(profile_read_line, &r, profile_handle_counted, &r);
	fclose(r.f);
	if (rc != 0) {
		if (rc > 0 && st.failed)
			err_set_msg(e, ERR_CHECK, "%s:%d: %s", file, rc, st.msg);
		else if (rc > 0)
			err_set_msg(e, ERR_CHECK, "%s:%d: syntax error (expected [section] or key = value)",
				    file, rc);
		else
			err_set_msg(e, ERR_CHECK, "%s: cannot read profile", file);
		profile_free(p);
		return -1;
	}
	if (profile_check_whole(&st, file, e)) {
		profile_free(p);
		return -1;
	}
	return 0;
}

static int profile_check_one(const char *what, const char *path, bool dir, err_t *e)
{
	if (!path)
		return 0;
	if (access(path, dir ? (R_OK | X_OK) : R_OK) != 0)
		return err_set_msg(e, ERR_CHECK, "profile %s: %s: %s", what, path, strerror(errno));
	return 0;
}

int profile_check_files(const struct profile *p, err_t *e)
{
	if (profile_check_one("pai_cert", p->pai_cert, false, e) ||
	    profile_check_one("pai_key", p->pai_key, false, e) ||
	    profile_check_one("dac_dir", p->dac_dir, true, e) || profile_check_one("cd", p->cd, false, e) ||
	    profile_check_one("table", p->partition_table, false, e) ||
	    profile_check_one("secure_boot_digest", p->secure_boot_digest, false, e) ||
	    profile_check_one("extra_nvs", p->extra_nvs, false, e) ||
	    profile_check_one("label", p->label_template, false, e) ||
	    profile_check_one("flasher_args", p->flasher_args, false, e))
		return -1;
	return 0;
}

void profile_free(struct profile *p)
{
	char **strings[] = {
		&p->file, &p->dir, &p->vendor_name, &p->product_name, &p->hardware_version_string,
		&p->pai_cert, &p->pai_key, &p->dac_dir, &p->cd, &p->partition_table,
		&p->secure_cert_label, &p->factory_label, &p->nvs_keys_label, &p->secure_boot_digest,
		&p->serial_pattern, &p->mfg_date, &p->extra_nvs, &p->output_dir, &p->label_template,
		&p->flasher_args,
	};
	for (size_t i = 0; i < sizeof strings / sizeof *strings; i++)
		free(*strings[i]);
	for (int i = 0; i < p->n_chips; i++)
		free(p->chips[i]);
	memset(p, 0, sizeof *p);
}

int profile_format_serial(const char *pattern, uint64_t seq, const uint8_t mac[6], char *out, size_t n,
			  err_t *e)
{
	buf_t b = BUF_INIT;
	for (const char *s = pattern; *s;) {
		if (s[0] == '{' && s[1] == '{') {
			buf_append_byte(&b, '{');
			s += 2;
			continue;
		}
		if (s[0] == '}' && s[1] == '}') {
			buf_append_byte(&b, '}');
			s += 2;
			continue;
		}
		if (*s == '}') {
			buf_free_data(&b);
			return err_set_msg(e, ERR_CHECK, "serial pattern '%s': unmatched '}'", pattern);
		}
		if (*s != '{') {
			buf_append_byte(&b, (uint8_t)*s++);
			continue;
		}
		const char *end = strchr(s, '}');
		if (!end) {
			buf_free_data(&b);
			return err_set_msg(e, ERR_CHECK, "serial pattern '%s': unclosed '{'", pattern);
		}
		char field[32];
		size_t flen = (size_t)(end - s - 1);
		if (flen >= sizeof field)
			flen = sizeof field - 1;
		memcpy(field, s + 1, flen);
		field[flen] = '\0';
		char text[40];
		unsigned width = 0;
		char tail;
		if (!strcmp(field, "seq")) {
			snprintf(text, sizeof text, "%llu", (unsigned long long)seq);
		} else if (sscanf(field, "seq:0%u%c", &width, &tail) == 1 && width >= 1 && width <= 20 &&
			   field[4] == '0' && isdigit((unsigned char)field[5])) {
			snprintf(text, sizeof text, "%0*llu", (int)width, (unsigned long long)seq);
		} else if (!strcmp(field, "mac") || !strcmp(field, "MAC")) {
			const char *fmt = field[0] == 'm' ? "%02x%02x%02x%02x%02x%02x"
							   : "%02X%02X%02X%02X%02X%02X";
			snprintf(text, sizeof text, fmt, mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
		} else {
			buf_free_data(&b);
			return err_set_msg(e, ERR_CHECK, "serial pattern '%s': unknown field '{%s}' (use {seq}, "
					   "{seq:0N}, {mac}, {MAC})", pattern, field);
		}
		buf_append_str(&b, text);
		s = end + 1;
	}
	if (b.len == 0 || b.len > PROFILE_SERIAL_MAX || b.len >= n) {
		size_t len = b.len;
		buf_free_data(&b);
		return err_set_msg(e, ERR_CHECK, "serial pattern '%s' gives %zu characters (1..%d allowed)",
				   pattern, len, PROFILE_SERIAL_MAX);
	}
	memcpy(out, b.data, b.len);
	out[b.len] = '\0';
	buf_free_data(&b);
	return 0;
}

bool profile_passcode_forbidden(uint32_t passcode)
{
	for (size_t i = 0; i < sizeof profile_bad_passcodes / sizeof *profile_bad_passcodes; i++)
		if (passcode == profile_bad_passcodes[i])
			return true;
	return passcode > 99999998;
}

bool profile_allows_chip(const struct profile *p, const char *chip)
{
	if (p->n_chips == 0)
		return true;
	for (int i = 0; i < p->n_chips; i++)
		if (!strcmp(p->chips[i], chip))
			return true;
	return false;
}

const char *profile_name_path(enum profile_path path)
{
	switch (path) {
	case PROFILE_PATH_ECDSA_EFUSE: return "ecdsa-efuse";
	case PROFILE_PATH_DS: return "ds";
	case PROFILE_PATH_FLASH_ENC: return "flash-encryption";
	default: return "auto";
	}
}

const char *profile_name_mode(enum profile_mode mode)
{
	return mode == PROFILE_MODE_PRODUCTION ? "production" : "development";
}
