#include "flow/mfg.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <csv.h>
#include <mbedtls/pem.h>
#include <mbedtls/pk.h>
#include <mbedtls/platform_util.h>

#include "core/argscan.h"
#include "core/buf.h"
#include "core/fileio.h"
#include "core/hex.h"
#include "core/rng.h"
#include "crypto/attest.h"
#include "crypto/cd.h"
#include "crypto/spake2p.h"
#include "formats/payload.h"
#include "formats/seccert.h"

#include "crypto/nvs_crypt.h"
#include "formats/nvs.h"
#include "formats/nvs_csv.h"
#include "formats/nvs_write.h"

#include "label/label_image.h"
#include "label/label_png.h"
#include "label/qr.h"

#define MFG_SERIAL_RANDOM_BYTES 16 /* the tool's SERIAL_NUMBER_LEN, hex-encoded */
#define MFG_SALT_LEN 32
#define MFG_QR_SCALE 6             /* pyqrcode png(scale=6) */
#define MFG_MATTER_TLV_TYPE 201

static const char *const mfg_calendar_names[] = {
	"Buddhist", "Chinese", "Coptic", "Ethiopian", "Gregorian", "Hebrew",
	"Indian", "Islamic", "Japanese", "Korean", "Persian", "Taiwanese",
};
static const char *const mfg_finish_names[] = {"other", "matte", "satin", "polished", "rugged", "fabric"};
static const char *const mfg_color_names[] = {
	"black", "navy", "green", "teal", "maroon", "purple", "olive", "gray", "blue", "lime", "aqua",
	"red", "fuchsia", "yellow", "white", "nickel", "chrome", "brass", "copper", "silver", "gold",
};
static const uint32_t mfg_invalid_passcodes[] = {
	0, 11111111, 22222222, 33333333, 44444444, 55555555, 66666666, 77777777, 88888888, 99999999,
	12345678, 87654321,
};

#define MFG_COUNT(a) (sizeof(a) / sizeof((a)[0]))

static int mfg_lookup_name(const char *const *names, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(names[i], s))
			return (int)i;
	return -1;
}

void mfg_init_options(struct mfg_options *o)
{
	memset(o, 0, sizeof *o);
	o->count = 1;
	o->target = "esp32";
	o->size = 0x6000;
	o->outdir = "out";
	o->generate_bin = true;
	o->discovery_mode = 2;
	o->iteration_count = 10000;
	o->lifetime_days = 36500;
	o->cn_prefix = "ESP32";
	o->efuse_key_id = -1;
}

bool mfg_passcode_is_valid(uint32_t passcode)
{
	if (passcode < 1 || passcode > SPAKE2P_PASSCODE_MAX)
		return false;
	for (size_t i = 0; i < MFG_COUNT(mfg_invalid_passcodes); i++)
		if (passcode == mfg_invalid_passcodes[i])
			return false;
	return true;
}

/* Uniform in [0, bound) by rejection, so no value is favoured. */
static int mfg_draw_uniform(uint32_t bound, uint32_t *out, err_t *e)
{
	uint32_t limit = UINT32_MAX - UINT32_MAX % bound, v = 0;
	do {
		if (rng_fill_bytes(&v, sizeof v))
			return err_set_msg(e, ERR_CHECK, "random source failed");
	} while (v >= limit);
	*out = v % bound;
	return 0;
}

int mfg_draw_passcode(uint32_t *out, err_t *e)
{
	uint32_t v = 0;
	if (mfg_draw_uniform(SPAKE2P_PASSCODE_MAX, &v, e))
		return -1;
	v += 1;
	/* The tool's rule: a forbidden draw is moved down by one (never lands on another one). */
	if (!mfg_passcode_is_valid(v))
		v -= 1;
	*out = v;
	return 0;
}

int mfg_draw_discriminator(uint16_t *out, err_t *e)
{
	uint32_t v = 0;
	if (mfg_draw_uniform(0x1000, &v, e))
		return -1;
	*out = (uint16_t)v;
	return 0;
}

static int mfg_check_len(const char *s, size_t lo, size_t hi, const char *opt, err_t *e)
{
	if (s && (strlen(s) < lo || strlen(s) > hi))
		return err_set_msg(e, ERR_USAGE, "%s must be between %zu and %zu characters ('%s')", opt, lo,
				   hi, s);
	return 0;
}

/* ---- small CSV helpers (libcsv for reading, Python csv.writer rules for writing) ---- */

struct mfg_csv_rows {
	char ***rows;   /* rows[i][j], each row NULL-terminated */
	size_t count;
	size_t cap;
	char **cur;
	size_t cur_n;
};

static void mfg_csv_field_cb(void *s, size_t len, void *data)
{
	struct mfg_csv_rows *r = data;
	r->cur = realloc(r->cur, (r->cur_n + 2) * sizeof *r->cur);
	char *f = mem_alloc_zeroed(len + 1);
	memcpy(f, s, len);
	r->cur[r->cur_n++] = f;
	r->cur[r->cur_n] = NULL;
}

static void mfg_csv_row_cb(int c, void *data)
{
	(void)c;
	struct mfg_csv_rows *r = data;
	if (!r->cur)
		return;
	if (r->count == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 16;
		r->rows = realloc(r->rows, r->cap * sizeof *r->rows);
	}
	r->rows[r->count++] = r->cur;
	r->cur = NULL;
	r->cur_n = 0;
}

static void mfg_csv_free(struct mfg_csv_rows *r)
{
	for (size_t i = 0; i < r->count; i++) {
		for (char **f = r->rows[i]; *f; f++)
			free(*f);
		free(r->rows[i]);
	}
	free(r->rows);
	memset(r, 0, sizeof *r);
}

static int mfg_csv_read(const char *path, struct mfg_csv_rows *r, err_t *e)
{
	buf_t b = BUF_INIT;
	memset(r, 0, sizeof *r);
	if (fileio_read_file(path, &b, e))
		return -1;
	struct csv_parser p;
	csv_init(&p, CSV_APPEND_NULL);
	int rc = 0;
	if (csv_parse(&p, b.data, b.len, mfg_csv_field_cb, mfg_csv_row_cb, r) != b.len ||
	    csv_fini(&p, mfg_csv_field_cb, mfg_csv_row_cb, r) != 0) {
		rc = err_set_msg(e, ERR_CHECK, "%s: CSV syntax error (%s)", path, csv_strerror(csv_error(&p)));
		mfg_csv_free(r);
	}
	csv_free(&p);
	buf_free_data(&b);
	return rc;
}

static size_t mfg_csv_width(char **row)
{
	size_t n = 0;
	while (row[n])
		n++;
	return n;
}

static void mfg_csv_put_field(buf_t *b, const char *s, bool first)
{
	if (!first)
		buf_append_byte(b, ',');
	if (!strpbrk(s, ",\"\r\n")) {
		buf_append_str(b, s);
		return;
	}
	buf_append_byte(b, '"');
	for (const char *p = s; *p; p++) {
		if (*p == '"')
			buf_append_byte(b, '"');
		buf_append_byte(b, (uint8_t)*p);
	}
	buf_append_byte(b, '"');
}

/* ---- the chip-factory key map ---- */

enum mfg_src {
	MFG_SRC_FIXED,        /* value set once for the batch */
	MFG_SRC_DISCRIMINATOR,
	MFG_SRC_ITERATIONS,
	MFG_SRC_SALT,
	MFG_SRC_VERIFIER,
	MFG_SRC_DAC_CERT,
	MFG_SRC_DAC_KEY,
	MFG_SRC_DAC_PUB,
	MFG_SRC_PAI_CERT,
	MFG_SRC_SERIAL,
	MFG_SRC_RD_ID_UID,
	MFG_SRC_MCSV,         /* column of the user's master CSV */
	MFG_SRC_NONE,         /* the tool writes the string "None" */
};

struct mfg_kv {
	char ns[NVS_KEY_MAX + 1];
	char key[NVS_KEY_MAX + 1];
	char type[12];
	char enc[12];
	enum mfg_src src;
	char *value;
	int mcsv_col;
};

struct mfg_map {
	struct mfg_kv *kv;
	size_t count, cap;
};

static struct mfg_kv *mfg_map_find(struct mfg_map *m, const char *ns, const char *key)
{
	for (size_t i = 0; i < m->count; i++)
		if (!strcmp(m->kv[i].ns, ns) && !strcmp(m->kv[i].key, key))
			return &m->kv[i];
	return NULL;
}

/* Like a Python dict update: an existing key keeps its place. Namespaces stay grouped: a new key
 * goes after the last key of its namespace (or at the end for a new namespace). */
static int mfg_map_put(struct mfg_map *m, const char *ns, const char *key, const char *type,
		       const char *enc, enum mfg_src src, const char *value, err_t *e)
{
	if (strlen(key) > NVS_KEY_MAX || strlen(ns) > NVS_KEY_MAX || !*key)
		return err_set_msg(e, ERR_CHECK, "NVS key '%s' (namespace '%s') must be 1..%u characters", key,
				   ns, NVS_KEY_MAX);
	struct mfg_kv *kv = mfg_map_find(m, ns, key);
	if (!kv) {
		if (m->count == m->cap) {
			m->cap = m->cap ? m->cap * 2 : 32;
			m->kv = realloc(m->kv, m->cap * sizeof *m->kv);
		}
		size_t at = m->count;
		for (size_t i = m->count; i > 0; i--)
			if (!strcmp(m->kv[i - 1].ns, ns)) {
				at = i;
				break;
			}
		memmove(&m->kv[at + 1], &m->kv[at], (m->count - at) * sizeof *m->kv);
		m->count++;
		kv = &m->kv[at];
		memset(kv, 0, sizeof *kv);
		strcpy(kv->ns, ns);
		strcpy(kv->key, key);
	} else {
		free(kv->value);
		kv->value = NULL;
	}
	snprintf(kv->type, sizeof kv->type, "%s", type);
	snprintf(kv->enc, sizeof kv->enc, "%s", enc);
	kv->src = src;
	kv->mcsv_col = -1;
	if (value)
		kv->value = mem_strdup(value);
	return 0;
}

static int mfg_map_put_u32(struct mfg_map *m, const char *key, uint32_t v, err_t *e)
{
	char s[16];
	snprintf(s, sizeof s, "%u", v);
	return mfg_map_put(m, "chip-factory", key, "data", "u32", MFG_SRC_FIXED, s, e);
}

static int mfg_map_put_str(struct mfg_map *m, const char *key, const char *v, err_t *e)
{
	return mfg_map_put(m, "chip-factory", key, "data", "string", MFG_SRC_FIXED, v, e);
}

static void mfg_map_delete(struct mfg_map *m, const char *key)
{
	struct mfg_kv *kv = mfg_map_find(m, "chip-factory", key);
	if (!kv)
		return;
	free(kv->value);
	size_t i = (size_t)(kv - m->kv);
	memmove(&m->kv[i], &m->kv[i + 1], (m->count - i - 1) * sizeof *m->kv);
	m->count--;
}

static void mfg_map_free(struct mfg_map *m)
{
	for (size_t i = 0; i < m->count; i++)
		free(m->kv[i].value);
	free(m->kv);
	memset(m, 0, sizeof *m);
}

/* ---- option checks ---- */

static bool mfg_is_hex(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isxdigit((unsigned char)*s))
			return false;
	return true;
}

static int mfg_check_fixed_label(const char *fl, err_t *e)
{
	/* <endpoint hex 1..4>/<label 1..15>/<value 1..15> */
	const char *a = strchr(fl, '/'), *b = a ? strchr(a + 1, '/') : NULL;
	size_t ep = a ? (size_t)(a - fl) : 0, kl = b ? (size_t)(b - a - 1) : 0, vl = b ? strlen(b + 1) : 0;
	bool ok = a && b && !strchr(b + 1, '/') && ep >= 1 && ep <= 4 && kl >= 1 && kl < 16 && vl >= 1 &&
		  vl < 16;
	for (size_t i = 0; ok && i < ep; i++)
		ok = isxdigit((unsigned char)fl[i]);
	if (!ok)
		return err_set_msg(e, ERR_USAGE, "--fixed-labels: invalid fixed label '%s' (endpoint/label/value)", fl);
	return 0;
}

int mfg_check_options(struct mfg_options *o, err_t *e)
{
	if ((o->csv != NULL) != (o->mcsv != NULL))
		return err_set_msg(e, ERR_USAGE, "--csv and --mcsv must be given together");
	if (o->mcsv) {
		struct mfg_csv_rows r;
		if (mfg_csv_read(o->mcsv, &r, e))
			return -1;
		o->count = r.count ? (uint32_t)(r.count - 1) : 0;
		mfg_csv_free(&r);
	}
	if (o->count == 0)
		return err_set_msg(e, ERR_USAGE, "--count must be at least 1");
	if (o->has_discriminator && o->discriminator > 0xFFF)
		return err_set_msg(e, ERR_USAGE, "--discriminator %u is out of range [0, 4095]", o->discriminator);
	if (o->discovery_mode != 2 && o->discovery_mode != 4 && o->discovery_mode != 6)
		return err_set_msg(e, ERR_USAGE, "--discovery-mode must be 2 (BLE), 4 (on-network) or 6 (both)");
	if (o->commissioning_flow > 2)
		return err_set_msg(e, ERR_USAGE, "--commissioning-flow must be 0, 1 or 2");
	if (o->has_passcode && !mfg_passcode_is_valid(o->passcode))
		return err_set_msg(e, ERR_USAGE, "--passcode: invalid passcode %u", o->passcode);
	if (o->has_hw_ver && o->hw_ver > 0xFFFF)
		return err_set_msg(e, ERR_USAGE, "--hw-ver %u is out of range [0, 65535]", o->hw_ver);
	if (mfg_check_len(o->serial_num, 1, 16, "--serial-num", e) ||
	    mfg_check_len(o->vendor_name, 1, 32, "--vendor-name", e) ||
	    mfg_check_len(o->product_name, 1, 32, "--product-name", e) ||
	    mfg_check_len(o->hw_ver_str, 1, 64, "--hw-ver-str", e) ||
	    mfg_check_len(o->mfg_date, 8, 16, "--mfg-date", e) ||
	    mfg_check_len(o->rd_id_uid, 32, 32, "--rd-id-uid", e) ||
	    mfg_check_len(o->part_number, 1, 32, "--part-number", e) ||
	    mfg_check_len(o->product_label, 1, 64, "--product-label", e) ||
	    mfg_check_len(o->product_url, 1, 256, "--product-url", e))
		return -1;
	if (o->mfg_date) {
		for (int i = 0; i < 8; i++)
			if (!isdigit((unsigned char)o->mfg_date[i]))
				return err_set_msg(e, ERR_USAGE,
						   "--mfg-date: the first 8 characters must be YYYYMMDD ('%s')", o->mfg_date);
	}
	if (o->rd_id_uid && !mfg_is_hex(o->rd_id_uid))
		return err_set_msg(e, ERR_USAGE, "--rd-id-uid: '%s' is not hex", o->rd_id_uid);
	for (size_t i = 0; i < o->calendar_type_count; i++)
		if (mfg_lookup_name(mfg_calendar_names, MFG_COUNT(mfg_calendar_names), o->calendar_types[i]) < 0)
			return err_set_msg(e, ERR_USAGE, "--calendar-types: unknown calendar type '%s'", o->calendar_types[i]);
	for (size_t i = 0; i < o->fixed_label_count; i++)
		if (mfg_check_fixed_label(o->fixed_labels[i], e))
			return -1;
	if (o->supported_mode_count)
		return err_set_msg(e, ERR_USAGE, "--supported-modes is not supported by espfab mfg");
	if (o->product_finish && mfg_lookup_name(mfg_finish_names, MFG_COUNT(mfg_finish_names), o->product_finish) < 0)
		return err_set_msg(e, ERR_USAGE, "--product-finish: unknown finish '%s'", o->product_finish);
	if (o->product_color && mfg_lookup_name(mfg_color_names, MFG_COUNT(mfg_color_names), o->product_color) < 0)
		return err_set_msg(e, ERR_USAGE, "--product-color: unknown color '%s'", o->product_color);
	if ((o->dac_key != NULL) != (o->dac_cert != NULL))
		return err_set_msg(e, ERR_USAGE, "--dac-key and --dac-cert must be given together");
	if (o->dac_key && !o->pai)
		return err_set_msg(e, ERR_USAGE, "--dac-cert/--dac-key need the PAI: --pai -c PAI_CERT -k PAI_KEY");
	if (o->paa && o->pai)
		return err_set_msg(e, ERR_USAGE, "--paa and --pai are mutually exclusive");
	if ((o->paa || o->pai) && (!o->cert || !o->key))
		return err_set_msg(e, ERR_USAGE, "-c/--cert and -k/--key are required with --%s", o->paa ? "paa" : "pai");
	if (o->ds_peripheral)
		return err_set_msg(e, ERR_USAGE,
				   "--ds-peripheral needs the ECDSA eFuse provisioning flow (espfab run), not mfg");
	if (o->iteration_count < 1000 || o->iteration_count > 100000)
		return err_set_msg(e, ERR_USAGE, "--iteration-count must be between 1000 and 100000");
	if (o->salt_b64 || o->verifier_b64) {
		if (!o->salt_b64 || !o->verifier_b64)
			return err_set_msg(e, ERR_USAGE, "--salt and --verifier must be provided together");
		if (!o->has_passcode)
			return err_set_msg(e, ERR_USAGE, "--passcode is required when --salt and --verifier are provided");
		if (o->enable_dynamic_passcode)
			return err_set_msg(e, ERR_USAGE, "--salt and --verifier cannot be used with --enable-dynamic-passcode");
	}
	if ((o->has_discriminator || o->has_passcode || o->dac_key || o->serial_num || o->rd_id_uid ||
	     o->salt_b64) && o->count != 1)
		return err_set_msg(e, ERR_USAGE,
				   "the number of partitions must be 1 when a discriminator, passcode, DAC, serial "
				   "number, rotating device id, salt or verifier is given");
	if ((o->commissionable_data_in_secure_cert || o->rd_id_uid_in_secure_cert) &&
	    !(o->dac_in_secure_cert && o->commissionable_data_in_secure_cert && o->rd_id_uid_in_secure_cert))
		return err_set_msg(e, ERR_USAGE,
				   "--commissionable-data-in-secure-cert and --rd-id-uid-in-secure-cert need "
				   "--dac-in-secure-cert and each other");
	if (o->dac_in_secure_cert && !(o->paa || o->pai) && !o->no_secure_cert_bin)
		return err_set_msg(e, ERR_USAGE, "--dac-in-secure-cert needs --paa or --pai");
	if (strlen(o->outdir) > 2000)
		return err_set_msg(e, ERR_USAGE, "--outdir is longer than 2000 characters");
	if (o->size % 4096 || o->size < 0x3000)
		return err_set_msg(e, ERR_USAGE, "--size 0x%x must be a multiple of 4096, at least 0x3000", o->size);
	if (o->lifetime_days == 0)
		return err_set_msg(e, ERR_USAGE, "--lifetime must be at least one day");
	return 0;
}

/* ---- batch context ---- */

#define MFG_COMMIT_QUEUE 256 /* devices built, waiting for the group commit */
#define MFG_COMMIT_GROUP 64  /* a group is committed when this many are waiting... */
#define MFG_COMMIT_WAIT_MS 100 /* ...or this long after its first device */

struct mfg_dev_data;
struct mfg_commit_job {
	struct mfg_dev_data *d;
	size_t index;
};

struct mfg_ctx {
	const struct mfg_options *o;
	char top[2100];
	char stage[2200];
	struct mfg_map map;
	/* attestation */
	bool have_ca;
	mbedtls_x509_crt pai;
	mbedtls_pk_context pai_key;
	buf_t pai_der;
	char pai_der_path[2300];
	time_t valid_from;
	bool have_dac;            /* --dac-cert/--dac-key, read once */
	mbedtls_x509_crt dac;
	mbedtls_pk_context dac_key;
	char top_abs[2100];       /* the tool names files by absolute paths in partition.csv */
	/* user's master CSV */
	struct mfg_csv_rows mcsv;
	/* threads */
	atomic_size_t next;
	atomic_int failed;
	pthread_mutex_t err_lock;
	/* mbedTLS 2.28 caches its fixed-point table inside the key's EC group on first use, so two
	 * threads signing with the one PAI key would race on it: DAC signing takes turns. */
	pthread_mutex_t pai_lock;
	err_t first_err;
	size_t first_err_index;
	/* devices waiting for the group commit (mfg_committer) */
	pthread_mutex_t q_lock;
	pthread_cond_t q_ready, q_space;
	struct mfg_commit_job q_jobs[MFG_COMMIT_QUEUE];
	size_t q_head, q_count;
	bool q_closing;
	bool committer;
	int top_fd;               /* the batch folder, for syncfs and its own fsync */
	/* per-device results, in order */
	struct mfg_device *dev;
	char **mcsv_rows;   /* master.csv value row per device */
	char **pin_rows;    /* pin_disc.csv row per device */
	char **cn_rows;     /* cn_dacs row per device (or NULL) */
};

static int mfg_parse_valid_from(const char *s, time_t *out, err_t *e)
{
	struct tm tm = {0};
	int y, mo, d, h = 0, mi = 0, se = 0, n = 0, m = 0;
	char sep;
	if (sscanf(s, "%4d-%2d-%2d%n", &y, &mo, &d, &n) != 3)
		return err_set_msg(e, ERR_USAGE, "--valid-from: '%s' is not YYYY-MM-DD [HH:MM:SS]", s);
	if (s[n] && (sscanf(s + n, "%c%2d:%2d:%2d%n", &sep, &h, &mi, &se, &m) != 4 ||
		     (sep != 'T' && sep != ' ') || s[n + m]))
		return err_set_msg(e, ERR_USAGE, "--valid-from: '%s' is not YYYY-MM-DD [HH:MM:SS]", s);
	if (y < 1950 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 59)
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

/* The tool's add_optional_KVs order. */
static int mfg_build_map(struct mfg_ctx *c, err_t *e)
{
	const struct mfg_options *o = c->o;
	struct mfg_map *m = &c->map;
	const char *cf = "chip-factory";
	if (mfg_map_put(m, cf, "discriminator", "data", "u32", MFG_SRC_DISCRIMINATOR, NULL, e) ||
	    mfg_map_put(m, cf, "iteration-count", "data", "u32", MFG_SRC_ITERATIONS, NULL, e) ||
	    mfg_map_put(m, cf, "salt", "data", "string", MFG_SRC_SALT, NULL, e) ||
	    mfg_map_put_u32(m, "vendor-id", o->vendor_id, e) ||
	    (o->vendor_name && mfg_map_put_str(m, "vendor-name", o->vendor_name, e)) ||
	    mfg_map_put_u32(m, "product-id", o->product_id, e) ||
	    (o->product_name && mfg_map_put_str(m, "product-name", o->product_name, e)) ||
	    (o->has_hw_ver && mfg_map_put_u32(m, "hardware-ver", o->hw_ver, e)) ||
	    (o->hw_ver_str && mfg_map_put_str(m, "hw-ver-str", o->hw_ver_str, e)) ||
	    (o->mfg_date && mfg_map_put_str(m, "mfg-date", o->mfg_date, e)))
		return -1;
	if (o->enable_rotating_device_id &&
	    mfg_map_put(m, cf, "rd-id-uid", "data", "hex2bin", MFG_SRC_RD_ID_UID, NULL, e))
		return -1;
	if (o->product_finish &&
	    mfg_map_put_u32(m, "product-finish",
			    (uint32_t)mfg_lookup_name(mfg_finish_names, MFG_COUNT(mfg_finish_names), o->product_finish), e))
		return -1;
	if (o->product_color &&
	    mfg_map_put_u32(m, "product-color",
			    (uint32_t)mfg_lookup_name(mfg_color_names, MFG_COUNT(mfg_color_names), o->product_color), e))
		return -1;
	if ((o->part_number && mfg_map_put_str(m, "part-number", o->part_number, e)) ||
	    mfg_map_put(m, cf, "serial-num", "data", "string", MFG_SRC_SERIAL, NULL, e))
		return -1;
	if ((o->paa || o->pai) && !o->dac_in_secure_cert) {
		if (mfg_map_put(m, cf, "dac-cert", "file", "binary", MFG_SRC_DAC_CERT, NULL, e) ||
		    mfg_map_put(m, cf, "dac-key", "file", "binary", MFG_SRC_DAC_KEY, NULL, e) ||
		    mfg_map_put(m, cf, "dac-pub-key", "file", "binary", MFG_SRC_DAC_PUB, NULL, e) ||
		    mfg_map_put(m, cf, "pai-cert", "file", "binary", MFG_SRC_PAI_CERT, NULL, e))
			return -1;
	}
	if (!o->enable_dynamic_passcode &&
	    mfg_map_put(m, cf, "verifier", "data", "string", MFG_SRC_VERIFIER, NULL, e))
		return -1;
	if (o->cert_dclrn && mfg_map_put(m, cf, "cert-dclrn", "file", "binary", MFG_SRC_FIXED, o->cert_dclrn, e))
		return -1;
	if (o->csv) {
		struct mfg_csv_rows r;
		if (mfg_csv_read(o->csv, &r, e))
			return -1;
		char ns[NVS_KEY_MAX + 1] = "chip-factory";
		int rc = 0;
		for (size_t i = 0; i < r.count && !rc; i++) {
			char **row = r.rows[i];
			size_t w = mfg_csv_width(row);
			if (w >= 2 && !strcmp(row[1], "namespace")) {
				snprintf(ns, sizeof ns, "%s", row[0]);
				continue;
			}
			if (w < 3) {
				rc = err_set_msg(e, ERR_CHECK, "%s:%zu: key,type,encoding expected", o->csv, i + 1);
				break;
			}
			rc = mfg_map_put(m, ns, row[0], row[1], row[2], MFG_SRC_MCSV, NULL, e);
			if (!rc) {
				struct mfg_kv *kv = mfg_map_find(m, ns, row[0]);
				char **hdr = c->mcsv.count ? c->mcsv.rows[0] : NULL;
				for (size_t j = 0; hdr && hdr[j]; j++)
					if (!strcmp(hdr[j], row[0]))
						kv->mcsv_col = (int)j;
				if (kv->mcsv_col < 0)
					rc = err_set_msg(e, ERR_CHECK, "%s: no column '%s' for the key in %s", o->mcsv,
							 row[0], o->csv);
			}
		}
		mfg_csv_free(&r);
		if (rc)
			return -1;
	}
	if (o->calendar_type_count) {
		uint32_t bits = 0;
		for (size_t i = 0; i < o->calendar_type_count; i++)
			bits |= 1u << mfg_lookup_name(mfg_calendar_names, MFG_COUNT(mfg_calendar_names), o->calendar_types[i]);
		if (mfg_map_put_u32(m, "cal-types", bits, e))
			return -1;
	}
	if (o->locale_count) {
		if (mfg_map_put_u32(m, "locale-sz", (uint32_t)o->locale_count, e))
			return -1;
		for (size_t i = 0; i < o->locale_count; i++) {
			char k[40];
			snprintf(k, sizeof k, "locale/%zx", i);
			if (mfg_map_put_str(m, k, o->locales[i], e))
				return -1;
		}
	}
	if (o->fixed_label_count) {
		/* Grouped per endpoint in order of first appearance (a dict of lists in the tool). */
		bool done[MFG_MAX_LIST] = {0};
		for (size_t i = 0; i < o->fixed_label_count; i++) {
			if (done[i])
				continue;
			const char *fl = o->fixed_labels[i];
			size_t eplen = (size_t)(strchr(fl, '/') - fl);
			unsigned long ep = strtoul(fl, NULL, 16);
			size_t n = 0;
			for (size_t j = i; j < o->fixed_label_count; j++)
				if (!strncmp(o->fixed_labels[j], fl, eplen + 1))
					n++;
			char k[40];
			snprintf(k, sizeof k, "fl-sz/%lx", ep);
			if (mfg_map_put_u32(m, k, (uint32_t)n, e))
				return -1;
			size_t idx = 0;
			for (size_t j = i; j < o->fixed_label_count; j++) {
				const char *f = o->fixed_labels[j];
				if (strncmp(f, fl, eplen + 1))
					continue;
				done[j] = true;
				const char *lab = f + eplen + 1, *val = strchr(lab, '/') + 1;
				char label[16];
				snprintf(label, sizeof label, "%.*s", (int)(val - 1 - lab), lab);
				snprintf(k, sizeof k, "fl-k/%lx/%zx", ep, idx);
				if (mfg_map_put_str(m, k, label, e))
					return -1;
				snprintf(k, sizeof k, "fl-v/%lx/%zx", ep, idx);
				if (mfg_map_put_str(m, k, val, e))
					return -1;
				idx++;
			}
		}
	}
	if ((o->product_label && mfg_map_put_str(m, "product-label", o->product_label, e)) ||
	    (o->product_url && mfg_map_put_str(m, "product-url", o->product_url, e)))
		return -1;
	if (o->commissionable_data_in_secure_cert) {
		mfg_map_delete(m, "discriminator");
		mfg_map_delete(m, "iteration-count");
		mfg_map_delete(m, "salt");
		mfg_map_delete(m, "verifier");
	}
	if (o->rd_id_uid_in_secure_cert)
		mfg_map_delete(m, "rd-id-uid");
	return 0;
}

static int mfg_setup_ca(struct mfg_ctx *c, err_t *e)
{
	const struct mfg_options *o = c->o;
	c->valid_from = time(NULL);
	if (o->valid_from && mfg_parse_valid_from(o->valid_from, &c->valid_from, e))
		return -1;
	if (!o->paa && !o->pai)
		return 0;
	mbedtls_x509_crt ca;
	mbedtls_pk_context ca_key;
	mbedtls_x509_crt_init(&ca);
	mbedtls_pk_init(&ca_key);
	int rc = -1;
	if (o->pai) {
		if (attest_read_cert_file(o->cert, &c->pai, e) || attest_read_key_file(o->key, &c->pai_key, e))
			goto done;
		if (mbedtls_pk_check_pair(&c->pai.pk, &c->pai_key) != 0) {
			err_set_msg(e, ERR_CHECK, "%s: the key does not match the PAI certificate %s", o->key, o->cert);
			goto done;
		}
	} else {
		if (attest_read_cert_file(o->cert, &ca, e) || attest_read_key_file(o->key, &ca_key, e))
			goto done;
		/* --paa: one PAI for the batch, kept in staging like the tool. */
		char cn[80];
		snprintf(cn, sizeof cn, "%s PAI 00", o->cn_prefix);
		struct attest_cert_params p = {
			.type = ATTEST_PAI, .subject_cn = cn, .has_vid = true, .vid = o->vendor_id,
			.has_pid = true, .pid = o->product_id, .valid_from = c->valid_from,
			.lifetime_days = o->lifetime_days, .lifetime_whole_days = true,
		};
		buf_t der = BUF_INIT;
		char path[4200];
		if (attest_generate_key(&c->pai_key, e) ||
		    attest_make_cert(&p, &c->pai_key, &ca, &ca_key, &der, e) ||
		    attest_parse_cert(der.data, der.len, "generated PAI", &c->pai, e)) {
			buf_free_data(&der);
			goto done;
		}
		snprintf(path, sizeof path, "%s/pai_cert.pem", c->stage);
		int w = attest_write_cert_file(path, der.data, der.len, e);
		snprintf(path, sizeof path, "%s/pai_key.pem", c->stage);
		w = w ? w : attest_write_key_file(path, &c->pai_key, e);
		buf_free_data(&der);
		if (w)
			goto done;
	}
	buf_append_bytes(&c->pai_der, c->pai.raw.p, c->pai.raw.len);
	snprintf(c->pai_der_path, sizeof c->pai_der_path, "%s/pai_cert.der", c->stage);
	if (fileio_write_atomic(c->pai_der_path, c->pai_der.data, c->pai_der.len, FILEIO_MODE_PUBLIC, e))
		goto done;
	c->have_ca = true;
	rc = 0;
done:
	mbedtls_x509_crt_free(&ca);
	mbedtls_pk_free(&ca_key);
	return rc;
}

/* The CD must cover the product, and a given DAC must chain to the PAI and match its key. */
static int mfg_check_inputs(struct mfg_ctx *c, err_t *e)
{
	const struct mfg_options *o = c->o;
	struct cd_content cd;
	struct attest_cd_facts facts;
	memset(&cd, 0, sizeof cd);
	memset(&facts, 0, sizeof facts);
	if (o->salt_b64) {
		/* The tool recomputes the verifier from passcode and salt and refuses a mismatch. */
		buf_t salt = BUF_INIT, ver = BUF_INIT;
		uint8_t v[SPAKE2P_VERIFIER_LEN];
		int r = hex_decode_base64(o->salt_b64, &salt, e) ? err_prepend_context(e, "--salt")
			: hex_decode_base64(o->verifier_b64, &ver, e) ? err_prepend_context(e, "--verifier")
			: spake2p_compute_verifier_unbounded(o->passcode, salt.data, salt.len, o->iteration_count, v, e);
		if (!r && (ver.len != sizeof v || memcmp(ver.data, v, sizeof v)))
			r = err_set_msg(e, ERR_CHECK,
					"--verifier does not match the verifier computed from --passcode, --salt and "
					"--iteration-count %u", o->iteration_count);
		buf_free_data(&salt);
		buf_free_data(&ver);
		if (r)
			return -1;
	}
	if (o->cert_dclrn) {
		buf_t b = BUF_INIT;
		int r = fileio_read_file(o->cert_dclrn, &b, e) || cd_parse_cms(b.data, b.len, &cd, NULL, e);
		buf_free_data(&b);
		if (r)
			return err_prepend_context(e, "%s", o->cert_dclrn);
		cd_get_facts(&cd, &facts);
		if (cd_check_product(&cd, o->vendor_id, o->product_id, o->cert_dclrn, e))
			return -1;
	}
	if (!o->dac_cert)
		return 0;
	mbedtls_x509_crt *dac = &c->dac;
	mbedtls_pk_context *key = &c->dac_key;
	buf_t report = BUF_INIT;
	int rc = -1;
	if (attest_read_cert_file(o->dac_cert, dac, e) || attest_read_key_file(o->dac_key, key, e))
		goto done;
	c->have_dac = true;
	struct attest_chain ch = {
		.dac = dac, .pai = &c->pai, .dac_key = key, .now = time(NULL),
		.cd = o->cert_dclrn && !cd.has_dac_origin ? &facts : NULL,
	};
	int n = attest_validate_chain(&ch, &report);
	if (n) {
		/* Only the first violation fits the message; all of them name their rule. */
		char *nl = strchr((char *)report.data, '\n');
		if (nl)
			*nl = 0;
		err_set_msg(e, ERR_CHECK, "%s: %d attestation rule%s broken, first: %s", o->dac_cert, n,
			    n == 1 ? "" : "s", (char *)report.data);
		goto done;
	}
	bool hv, hp;
	uint16_t vid, pid;
	if (attest_get_subject_ids(dac, &hv, &vid, &hp, &pid, e))
		goto done;
	if (vid != o->vendor_id || pid != o->product_id) {
		err_set_msg(e, ERR_CHECK, "%s: DAC VID/PID 0x%04X/0x%04X differ from -v/-p 0x%04X/0x%04X",
			    o->dac_cert, vid, pid, o->vendor_id, o->product_id);
		goto done;
	}
	rc = 0;
done:
	buf_free_data(&report);
	return rc;
}

/* ---- one device ---- */

/* A device's files are written into a private work folder beside the final one (".<uuid>.tmp"),
 * with write-back started at once. The commit thread then takes every device finished so far as
 * a group: one syncfs makes all their files and folders durable, each work folder is renamed into
 * place, and one fsync of the batch folder makes the renames durable. A device so appears whole
 * or not at all (DESIGN.md §5), for two disk flushes per group instead of two per file (temp
 * file fsync, folder fsync), and the workers never wait for the disk. */
#define MFG_MAX_FILES 16

struct mfg_file {
	char name[128];     /* relative to the device folder */
};

struct mfg_dev_data {
	struct mfg_file files[MFG_MAX_FILES];
	size_t file_count;
	char uuid[MFG_UUID_LEN + 1];
	char dir[2200];
	char work[2300];          /* <top>/.<uuid>.tmp until the commit renames it to dir */
	bool work_made;
	char internal[2300];
	char internal_abs[2300];
	uint32_t passcode;
	uint16_t discriminator;
	char salt_b64[64];
	char verifier_b64[160];
	char serial[64];
	char rd_id_uid[40];
	char dac_cert_path[2400], dac_key_path[2400], dac_pub_path[2400], pai_path[2400];
	buf_t dac_der, dac_key_der;
	bool have_dac;
};

static int mfg_make_uuid(char out[MFG_UUID_LEN + 1], err_t *e)
{
	uint8_t u[16];
	if (rng_fill_bytes(u, sizeof u))
		return err_set_msg(e, ERR_CHECK, "random source failed");
	u[6] = (uint8_t)((u[6] & 0x0F) | 0x40);
	u[8] = (uint8_t)((u[8] & 0x3F) | 0x80);
	snprintf(out, MFG_UUID_LEN + 1,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", u[0], u[1], u[2], u[3],
		 u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13], u[14], u[15]);
	return 0;
}

static bool mfg_is_uuid(const char *s, size_t n)
{
	if (n != 36)
		return false;
	for (size_t i = 0; i < 36; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;
		if (dash ? s[i] != '-' : !isxdigit((unsigned char)s[i]))
			return false;
	}
	return true;
}

/* Writes a file of the device (internal: in its internal/ folder) into the work folder. */
static int mfg_write(struct mfg_dev_data *d, bool internal, const char *name, const void *p, size_t n, bool secret,
		     err_t *e)
{
	char path[4400];
	if (d->file_count >= MFG_MAX_FILES)
		return err_set_msg(e, ERR_CHECK, "%s: more than %d files for one device", name, MFG_MAX_FILES);
	if (!d->work_made) {
		snprintf(path, sizeof path, "%s/internal", d->work);
		if (mkdir(d->work, 0700) != 0 || mkdir(path, 0700) != 0)
			return err_set_msg(e, ERR_CHECK, "%s: cannot create: %s", path, strerror(errno));
		d->work_made = true;
	}
	mode_t mode = secret ? FILEIO_MODE_SECRET : FILEIO_MODE_PUBLIC;
	struct mfg_file *f = &d->files[d->file_count];
	snprintf(f->name, sizeof f->name, "%s%s", internal ? "internal/" : "", name);
	snprintf(path, sizeof path, "%s/%s", d->work, f->name);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	if (fd < 0)
		return err_set_msg(e, ERR_CHECK, "%s/%s: cannot create: %s", d->dir, f->name, strerror(errno));
	d->file_count++;
	/* open() honours the umask; secrets must end up exactly 0600 whatever it is. */
	if (fchmod(fd, mode) != 0)
		goto fail;
	const uint8_t *q = p;
	while (n) {
		ssize_t w = write(fd, q, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			goto fail;
		q += w;
		n -= (size_t)w;
	}
	/* Start the write-back now, so the group's syncfs mostly finds it done. */
	sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE);
	if (close(fd) != 0) {
		fd = -1;
		goto fail;
	}
	return 0;
fail:
	err_set_msg(e, ERR_CHECK, "%s/%s: write failed: %s", d->dir, f->name, strerror(errno));
	if (fd >= 0)
		close(fd);
	return -1;
}

/* Closes the device's files and, unless committed, removes the work folder (only the files this
 * device made). */
static void mfg_free_files(struct mfg_dev_data *d)
{
	char path[4400];
	for (size_t i = 0; i < d->file_count && d->work_made; i++) {
		snprintf(path, sizeof path, "%s/%s", d->work, d->files[i].name);
		unlink(path);
	}
	if (d->work_made) {
		snprintf(path, sizeof path, "%s/internal", d->work);
		rmdir(path);
		rmdir(d->work);
	}
	d->file_count = 0;
	d->work_made = false;
}

static int mfg_remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return flag == FTW_DP ? rmdir(path) : unlink(path);
}

/* The replaced folder of an earlier run, after the exchange (its files are not ours to keep). */
static void mfg_remove_old_tree(const char *path)
{
	nftw(path, mfg_remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Moves a device whose files are durable into place; the caller syncs the batch folder. */
static int mfg_rename_device(struct mfg_dev_data *d, err_t *e)
{
	if (!d->work_made)
		return err_set_msg(e, ERR_CHECK, "%s: no files were written", d->dir);
	if (rename(d->work, d->dir) != 0) {
		/* A folder named by a given DAC's UUID in an earlier run: swap the new one in
		 * atomically, then drop the old one. */
		if ((errno != ENOTEMPTY && errno != EEXIST) ||
		    renameat2(AT_FDCWD, d->work, AT_FDCWD, d->dir, RENAME_EXCHANGE) != 0)
			return err_set_msg(e, ERR_CHECK, "%s: cannot rename into place: %s", d->dir, strerror(errno));
		mfg_remove_old_tree(d->work);
	}
	d->work_made = false;
	d->file_count = 0;
	return 0;
}

/* DAC files in internal/: DER cert, SEC1 DER key, raw scalar and point (and PEMs when made
 * here). */
static int mfg_write_dac(struct mfg_dev_data *d, mbedtls_pk_context *key, const uint8_t *der, size_t der_len,
			 bool generated, err_t *e)
{
	uint8_t priv[32], pub[65];
	int rc = -1;
	if (attest_export_raw_key(key, priv, pub, e) || attest_export_key_der(key, &d->dac_key_der, e))
		goto done;
	buf_append_bytes(&d->dac_der, der, der_len);
	if (generated) {
		/* The PEM forms, as attest_write_cert_file / attest_write_key_file make them. */
		uint8_t pem[1600];
		size_t olen = 0;
		int ret = mbedtls_pem_write_buffer("-----BEGIN CERTIFICATE-----\n", "-----END CERTIFICATE-----\n", der,
						   der_len, pem, sizeof pem, &olen);
		if (ret == 0)
			ret = mfg_write(d, true, "DAC_cert.pem", pem, strlen((char *)pem), false, e);
		else
			err_set_msg(e, ERR_CHECK, "DAC certificate PEM encoding failed (mbedTLS -0x%04x)", -ret);
		if (ret == 0) {
			ret = mbedtls_pk_write_key_pem(key, pem, sizeof pem);
			if (ret == 0)
				ret = mfg_write(d, true, "DAC_key.pem", pem, strlen((char *)pem), true, e);
			else
				err_set_msg(e, ERR_CHECK, "DAC key PEM encoding failed (mbedTLS -0x%04x)", -ret);
		}
		mbedtls_platform_zeroize(pem, sizeof pem);
		if (ret)
			goto done;
	}
	if (mfg_write(d, true, "DAC_cert.der", der, der_len, false, e) ||
	    mfg_write(d, true, "DAC_key.der", d->dac_key_der.data, d->dac_key_der.len, true, e) ||
	    mfg_write(d, true, "DAC_private_key.bin", priv, sizeof priv, true, e) ||
	    mfg_write(d, true, "DAC_public_key.bin", pub, sizeof pub, false, e))
		goto done;
	snprintf(d->dac_cert_path, sizeof d->dac_cert_path, "%s/DAC_cert.der", d->internal_abs);
	snprintf(d->dac_key_path, sizeof d->dac_key_path, "%s/DAC_private_key.bin", d->internal_abs);
	snprintf(d->dac_pub_path, sizeof d->dac_pub_path, "%s/DAC_public_key.bin", d->internal_abs);
	d->have_dac = true;
	rc = 0;
done:
	mbedtls_platform_zeroize(priv, sizeof priv);
	return rc;
}

/* ca_key: the worker's own copy of the PAI key, or NULL to sign with the shared one in turn. */
static int mfg_make_dac(struct mfg_ctx *c, struct mfg_dev_data *d, mbedtls_pk_context *ca_key, err_t *e)
{
	const struct mfg_options *o = c->o;
	mbedtls_pk_context key;
	mbedtls_pk_init(&key);
	buf_t der = BUF_INIT;
	int rc = -1;
	if (c->have_dac) {
		if (mfg_write_dac(d, &c->dac_key, c->dac.raw.p, c->dac.raw.len, false, e))
			goto done;
	} else {
		struct attest_cert_params p = {
			.type = ATTEST_DAC, .subject_cn = d->uuid, .has_vid = true, .vid = o->vendor_id,
			.has_pid = true, .pid = o->product_id, .valid_from = c->valid_from,
			.lifetime_days = o->lifetime_days, .lifetime_whole_days = true,
		};
		if (attest_generate_key(&key, e))
			goto done;
		int r;
		if (ca_key) {
			r = attest_make_cert(&p, &key, &c->pai, ca_key, &der, e);
		} else {
			pthread_mutex_lock(&c->pai_lock);
			r = attest_make_cert(&p, &key, &c->pai, &c->pai_key, &der, e);
			pthread_mutex_unlock(&c->pai_lock);
		}
		if (r || mfg_write_dac(d, &key, der.data, der.len, true, e))
			goto done;
	}
	if (mfg_write(d, true, "PAI_cert.der", c->pai_der.data, c->pai_der.len, false, e))
		goto done;
	snprintf(d->pai_path, sizeof d->pai_path, "%s/PAI_cert.der", d->internal_abs);
	rc = 0;
done:
	buf_free_data(&der);
	mbedtls_pk_free(&key);
	return rc;
}

static const char *mfg_kv_value(const struct mfg_ctx *c, const struct mfg_kv *kv, const struct mfg_dev_data *d,
				size_t index, char *tmp, size_t tmp_n)
{
	switch (kv->src) {
	case MFG_SRC_FIXED: return kv->value;
	case MFG_SRC_DISCRIMINATOR: snprintf(tmp, tmp_n, "%u", d->discriminator); return tmp;
	case MFG_SRC_ITERATIONS: snprintf(tmp, tmp_n, "%u", c->o->iteration_count); return tmp;
	case MFG_SRC_SALT: return d->salt_b64;
	case MFG_SRC_VERIFIER: return d->verifier_b64;
	case MFG_SRC_DAC_CERT: return d->dac_cert_path;
	case MFG_SRC_DAC_KEY: return d->dac_key_path;
	case MFG_SRC_DAC_PUB: return d->dac_pub_path;
	case MFG_SRC_PAI_CERT: return d->pai_path;
	case MFG_SRC_SERIAL: return d->serial;
	case MFG_SRC_RD_ID_UID: return d->rd_id_uid;
	case MFG_SRC_MCSV: {
		char **row = c->mcsv.rows[index + 1];
		return kv->mcsv_col < (int)mfg_csv_width(row) ? row[kv->mcsv_col] : "";
	}
	case MFG_SRC_NONE: break;
	}
	return "None";
}

/* The intermediate NVS CSV the tool writes to internal/partition.csv (csv.writer: CRLF). */
static void mfg_make_partition_csv(const struct mfg_ctx *c, const struct mfg_dev_data *d, size_t index,
				   buf_t *out)
{
	char tmp[32];
	const char *ns = NULL;
	buf_append_str(out, "key,type,encoding,value\r\n");
	for (size_t i = 0; i < c->map.count; i++) {
		const struct mfg_kv *kv = &c->map.kv[i];
		if (!ns || strcmp(ns, kv->ns)) {
			ns = kv->ns;
			mfg_csv_put_field(out, ns, true);
			buf_append_str(out, ",namespace,,\r\n");
		}
		mfg_csv_put_field(out, kv->key, true);
		mfg_csv_put_field(out, kv->type, false);
		mfg_csv_put_field(out, kv->enc, false);
		mfg_csv_put_field(out, mfg_kv_value(c, kv, d, index, tmp, sizeof tmp), false);
		buf_append_str(out, "\r\n");
	}
	buf_terminate_str(out);
}

/* The manual code as the tool writes it in CSV files: grouped, and quoted when it spans two
 * lines (21 digits) in onb_codes.csv. */
static int mfg_format_manual(const char *code, char *out, size_t n, bool quoted, err_t *e)
{
	char grouped[PAYLOAD_MANUAL_GROUPED_MAX];
	if (payload_group_manual(code, grouped, e))
		return -1;
	bool two_lines = strchr(grouped, '\n') != NULL;
	snprintf(out, n, "%s%s%s", quoted && two_lines ? "\"" : "", grouped, quoted && two_lines ? "\"" : "");
	return 0;
}

static int mfg_write_onboarding(struct mfg_ctx *c, struct mfg_dev_data *d, struct mfg_device *res, err_t *e)
{
	const struct mfg_options *o = c->o;
	struct payload p;
	memset(&p, 0, sizeof p);
	p.vid = o->vendor_id;
	p.pid = o->product_id;
	p.flow = o->commissioning_flow;
	p.discovery = o->discovery_mode;
	p.discriminator = d->discriminator;
	p.passcode = d->passcode;
	if (payload_encode_qr(&p, res->qr, sizeof res->qr, e) ||
	    payload_encode_manual(&p, o->commissioning_flow != PAYLOAD_FLOW_STANDARD, res->manual, e))
		return -1;
	char manual[64], line[512], name[128];
	if (mfg_format_manual(res->manual, manual, sizeof manual, true, e))
		return -1;
	snprintf(line, sizeof line, "qrcode,manualcode,discriminator,passcode\n%s,%s,%u,%u\n", res->qr, manual,
		 d->discriminator, d->passcode);
	snprintf(name, sizeof name, "%s-onb_codes.csv", d->uuid);
	/* The passcode column is a per-device secret (DESIGN.md §5), as in summary and pin_disc. */
	int w = mfg_write(d, false, name, line, strlen(line), true, e);
	mbedtls_platform_zeroize(line, sizeof line);
	if (w)
		return -1;
	struct qr_matrix m;
	struct label_image img;
	if (qr_encode_text(res->qr, QR_ECC_M, &m, e))
		return -1;
	label_image_render_qr(&m, MFG_QR_SCALE, &img);
	buf_t png = BUF_INIT;
	snprintf(name, sizeof name, "%s-qrcode.png", d->uuid);
	int rc = label_png_encode(&img, 0, &png, e) || mfg_write(d, false, name, png.data, png.len, false, e) ? -1 : 0;
	buf_free_data(&png);
	label_image_free(&img);
	qr_free_matrix(&m);
	return rc;
}

static int mfg_write_secure_cert(struct mfg_ctx *c, struct mfg_dev_data *d, err_t *e)
{
	const struct mfg_options *o = c->o;
	if (!(o->dac_in_secure_cert || o->commissionable_data_in_secure_cert || o->rd_id_uid_in_secure_cert) ||
	    o->no_secure_cert_bin)
		return 0;
	struct seccert_writer w;
	seccert_writer_init(&w, SECCERT_TLV_PARTITION_SIZE);
	buf_t tmp = BUF_INIT;
	int rc = -1;
	/* The Matter tool's order: DAC, PAI, key (DER, no integrity TLV). */
	if (seccert_writer_add(&w, SECCERT_TYPE_DEV_CERT, 0, 0, d->dac_der.data, d->dac_der.len, e) ||
	    seccert_writer_add(&w, SECCERT_TYPE_CA_CERT, 0, 0, c->pai_der.data, c->pai_der.len, e) ||
	    seccert_writer_add(&w, SECCERT_TYPE_PRIV_KEY, 0, 0, d->dac_key_der.data, d->dac_key_der.len, e))
		goto done;
	if (o->commissionable_data_in_secure_cert) {
		uint8_t disc[2] = {(uint8_t)d->discriminator, (uint8_t)(d->discriminator >> 8)};
		uint8_t it[4] = {(uint8_t)o->iteration_count, (uint8_t)(o->iteration_count >> 8),
				 (uint8_t)(o->iteration_count >> 16), (uint8_t)(o->iteration_count >> 24)};
		uint8_t rnd[32];
		buf_t v = BUF_INIT, s = BUF_INIT, u = BUF_INIT;
		int r = hex_decode_base64(d->verifier_b64, &v, e) || hex_decode_base64(d->salt_b64, &s, e) ||
			hex_decode_string(d->rd_id_uid, &u, e) ||
			seccert_writer_add(&w, MFG_MATTER_TLV_TYPE, 0, 0, disc, 2, e) ||
			seccert_writer_add(&w, MFG_MATTER_TLV_TYPE, 1, 0, v.data, v.len, e) ||
			seccert_writer_add(&w, MFG_MATTER_TLV_TYPE, 2, 0, s.data, s.len, e) ||
			seccert_writer_add(&w, MFG_MATTER_TLV_TYPE, 3, 0, it, 4, e) ||
			seccert_writer_add(&w, MFG_MATTER_TLV_TYPE, 4, 0, u.data, u.len, e);
		for (unsigned sub = 128; !r && sub <= 129; sub++)
			r = rng_fill_bytes(rnd, sizeof rnd) ||
			    seccert_writer_add(&w, MFG_MATTER_TLV_TYPE, sub, 0, rnd, sizeof rnd, e);
		buf_free_data(&v);
		buf_free_data(&s);
		buf_free_data(&u);
		if (r)
			goto done;
	}
	char name[128];
	snprintf(name, sizeof name, "%s_esp_secure_cert.bin", d->uuid);
	rc = mfg_write(d, false, name, w.image.data, w.image.len, true, e);
done:
	buf_free_data(&tmp);
	seccert_writer_free(&w);
	return rc;
}

static int mfg_write_nvs(struct mfg_ctx *c, struct mfg_dev_data *d, const buf_t *csv, err_t *e)
{
	const struct mfg_options *o = c->o;
	struct nvs_list list;
	struct nvs_csv_parser parser;
	nvs_list_init(&list);
	nvs_csv_init_parser(&parser, &list, NULL);
	buf_t img = BUF_INIT;
	uint8_t key[NVS_CRYPT_KEY_LEN], keys_part[NVS_CRYPT_KEYS_PART_LEN];
	int rc = -1;
	char name[128];
	if (nvs_csv_parse_text(&parser, "partition.csv", (const char *)csv->data, csv->len, e) ||
	    nvs_write_partition(&list, o->size, 2, &img, e))
		goto done;
	if (o->encrypt) {
		if (nvs_crypt_generate_key(key, sizeof key, e) ||
		    nvs_crypt_encrypt_partition(img.data, img.len, key, e))
			goto done;
		nvs_crypt_make_keys_partition(key, keys_part);
		snprintf(name, sizeof name, "%s-keys-partition.bin", d->uuid);
		if (mfg_write(d, false, name, keys_part, sizeof keys_part, true, e))
			goto done;
	}
	snprintf(name, sizeof name, "%s-partition.bin", d->uuid);
	/* The plain image holds the DAC private key: private like the key files. */
	rc = mfg_write(d, false, name, img.data, img.len, !o->encrypt && d->have_dac && !o->dac_in_secure_cert, e);
done:
	mbedtls_platform_zeroize(key, sizeof key);
	mbedtls_platform_zeroize(keys_part, sizeof keys_part);
	buf_wipe_data(&img);
	nvs_csv_free_parser(&parser);
	nvs_list_free(&list);
	return rc;
}

static char *mfg_row_text(const char *const *fields, size_t n)
{
	buf_t b = BUF_INIT;
	for (size_t i = 0; i < n; i++)
		mfg_csv_put_field(&b, fields[i], i == 0);
	buf_terminate_str(&b);
	return (char *)b.data;
}

static void mfg_free_device(struct mfg_dev_data *d)
{
	mfg_free_files(d);
	buf_wipe_data(&d->dac_key_der);
	buf_free_data(&d->dac_der);
	mbedtls_platform_zeroize(d, sizeof *d);
	free(d);
}

static bool mfg_queue_commit(struct mfg_ctx *c, struct mfg_dev_data *d, size_t index);
static void mfg_commit_group(struct mfg_ctx *c, struct mfg_commit_job *jobs, size_t n);

static int mfg_build_device(struct mfg_ctx *c, size_t index, mbedtls_pk_context *ca_key, err_t *e)
{
	const struct mfg_options *o = c->o;
	struct mfg_device *res = &c->dev[index];
	struct mfg_dev_data *d = mem_alloc_zeroed(sizeof *d);
	buf_t csv = BUF_INIT, salt = BUF_INIT;
	int rc = -1;

	/* A given DAC whose CN is a UUID names the folder, as in the tool. */
	bool named = false;
	if (c->have_dac) {
		for (const mbedtls_x509_name *n = &c->dac.subject; n; n = n->next)
			if (n->oid.len == 3 && !memcmp(n->oid.p, "\x55\x04\x03", 3) &&
			    mfg_is_uuid((const char *)n->val.p, n->val.len)) {
				memcpy(d->uuid, n->val.p, 36);
				named = true;
			}
	}
	if (!named && mfg_make_uuid(d->uuid, e))
		goto done;
	snprintf(d->dir, sizeof d->dir, "%s/%s", c->top, d->uuid);
	snprintf(d->internal, sizeof d->internal, "%s/internal", d->dir);
	snprintf(d->work, sizeof d->work, "%s/.%s.tmp", c->top, d->uuid);
	snprintf(d->internal_abs, sizeof d->internal_abs, "%s/%s/internal", c->top_abs, d->uuid);

	/* Commissioning data. */
	if (o->has_discriminator && o->discriminator != 0)
		d->discriminator = o->discriminator;
	else if (mfg_draw_discriminator(&d->discriminator, e))
		goto done;
	if (o->salt_b64) {
		d->passcode = o->passcode;
		snprintf(d->salt_b64, sizeof d->salt_b64, "%s", o->salt_b64);
		snprintf(d->verifier_b64, sizeof d->verifier_b64, "%s", o->verifier_b64);
	} else {
		uint8_t s[MFG_SALT_LEN], v[SPAKE2P_VERIFIER_LEN];
		if (rng_fill_bytes(s, sizeof s)) {
			err_set_msg(e, ERR_CHECK, "random source failed");
			goto done;
		}
		hex_encode_base64(s, sizeof s, &salt);
		snprintf(d->salt_b64, sizeof d->salt_b64, "%s", (char *)salt.data);
		if (!o->enable_dynamic_passcode) {
			if (o->has_passcode)
				d->passcode = o->passcode;
			else if (mfg_draw_passcode(&d->passcode, e))
				goto done;
			if (spake2p_compute_verifier(d->passcode, s, sizeof s, o->iteration_count, v, e))
				goto done;
			buf_t vb = BUF_INIT;
			hex_encode_base64(v, sizeof v, &vb);
			snprintf(d->verifier_b64, sizeof d->verifier_b64, "%s", (char *)vb.data);
			buf_free_data(&vb);
		}
	}

	if (c->have_ca && mfg_make_dac(c, d, ca_key, e))
		goto done;

	if (o->serial_num) {
		snprintf(d->serial, sizeof d->serial, "%s", o->serial_num);
	} else {
		uint8_t sn[MFG_SERIAL_RANDOM_BYTES];
		if (rng_fill_bytes(sn, sizeof sn)) {
			err_set_msg(e, ERR_CHECK, "random source failed");
			goto done;
		}
		hex_encode_bytes(sn, sizeof sn, d->serial);
	}
	if (o->rd_id_uid) {
		snprintf(d->rd_id_uid, sizeof d->rd_id_uid, "%s", o->rd_id_uid);
	} else if (o->enable_rotating_device_id || o->rd_id_uid_in_secure_cert) {
		uint8_t u[16];
		if (rng_fill_bytes(u, sizeof u)) {
			err_set_msg(e, ERR_CHECK, "random source failed");
			goto done;
		}
		hex_encode_bytes(u, sizeof u, d->rd_id_uid);
	}

	if (mfg_write_secure_cert(c, d, e))
		goto done;
	mfg_make_partition_csv(c, d, index, &csv);
	if (mfg_write(d, true, "partition.csv", csv.data, csv.len, false, e))
		goto done;
	if (o->generate_bin) {
		/* The generator reads the files the CSV names, which are still in the work folder. */
		char *paths[] = {d->dac_cert_path, d->dac_key_path, d->dac_pub_path, d->pai_path};
		char saved[4][2400], work_internal[2400];
		size_t plen = strlen(d->internal_abs);
		snprintf(work_internal, sizeof work_internal, "%s/internal", d->work);
		for (size_t i = 0; i < 4; i++) {
			memcpy(saved[i], paths[i], sizeof saved[i]);
			if (!strncmp(paths[i], d->internal_abs, plen))
				snprintf(paths[i], sizeof saved[i], "%s%s", work_internal, saved[i] + plen);
		}
		buf_t wcsv = BUF_INIT;
		mfg_make_partition_csv(c, d, index, &wcsv);
		for (size_t i = 0; i < 4; i++)
			memcpy(paths[i], saved[i], sizeof saved[i]);
		int r = mfg_write_nvs(c, d, &wcsv, e);
		buf_free_data(&wcsv);
		if (r)
			goto done;
	}
	if (!o->enable_dynamic_passcode && mfg_write_onboarding(c, d, res, e))
		goto done;
	/* Rows for the batch files, written in device order once every worker is done. */
	{
		char tmp[32];
		const char **vals = calloc(c->map.count + 1, sizeof *vals);
		char (*bufs)[32] = calloc(c->map.count + 1, sizeof *bufs);
		for (size_t i = 0; i < c->map.count; i++) {
			const char *v = mfg_kv_value(c, &c->map.kv[i], d, index, tmp, sizeof tmp);
			if (v == tmp) {
				snprintf(bufs[i], sizeof bufs[i], "%s", tmp);
				v = bufs[i];
			}
			vals[i] = v ? v : "None";
		}
		c->mcsv_rows[index] = mfg_row_text(vals, c->map.count);
		free(vals);
		free(bufs);
		char idx[16], pin[16], it[16], disc[16];
		snprintf(idx, sizeof idx, "%zu", index);
		snprintf(pin, sizeof pin, "%u", d->passcode);
		snprintf(it, sizeof it, "%u", o->iteration_count);
		snprintf(disc, sizeof disc, "%u", d->discriminator);
		const char *prow[] = {idx, pin, it, d->salt_b64, d->verifier_b64, disc};
		const char *drow[] = {idx, it, d->salt_b64, disc};
		c->pin_rows[index] = o->enable_dynamic_passcode ? mfg_row_text(drow, 4) : mfg_row_text(prow, 6);
		if (d->have_dac) {
			buf_t pem = BUF_INIT;
			char path[4400];
			snprintf(path, sizeof path, "%s/DAC_cert.der", d->internal);
			/* CN,PEM of the DAC, for registering devices with a cloud service. */
			size_t cap = d->dac_der.len * 2 + 128, olen;
			buf_reserve_bytes(&pem, cap);
			if (mbedtls_pem_write_buffer("-----BEGIN CERTIFICATE-----\n", "-----END CERTIFICATE-----\n",
						     d->dac_der.data, d->dac_der.len, pem.data, cap, &olen) == 0) {
				const char *row[] = {d->uuid, (char *)pem.data};
				c->cn_rows[index] = mfg_row_text(row, 2);
			}
			buf_free_data(&pem);
		}
	}
	memcpy(res->uuid, d->uuid, sizeof res->uuid);
	res->passcode = d->passcode;
	res->discriminator = d->discriminator;
	snprintf(res->dir, sizeof res->dir, "%s", d->dir);
	rc = 0;
done:
	if (rc)
		err_prepend_context(e, "device %zu", index + 1);
	buf_free_data(&csv);
	buf_free_data(&salt);
	if (rc == 0) {
		/* Commit errors are recorded by the commit itself. */
		if (!mfg_queue_commit(c, d, index))
			mfg_commit_group(c, &(struct mfg_commit_job){d, index}, 1);
		return 0;
	}
	mfg_free_device(d);
	return rc;
}

static void mfg_record_failure(struct mfg_ctx *c, size_t index, const err_t *e)
{
	pthread_mutex_lock(&c->err_lock);
	if (!atomic_load(&c->failed) || index < c->first_err_index) {
		c->first_err = *e;
		c->first_err_index = index;
	}
	atomic_store(&c->failed, 1);
	pthread_mutex_unlock(&c->err_lock);
}

/* The group commit described above struct mfg_file; frees the devices. Devices finished before
 * another one failed are still committed, as each device stands on its own. */
static void mfg_commit_group(struct mfg_ctx *c, struct mfg_commit_job *jobs, size_t n)
{
	err_t e = {0};
	bool ok = true, renamed = false;
	if (syncfs(c->top_fd) != 0) {
		err_set_msg(&e, ERR_CHECK, "device %zu: %s: sync failed: %s", jobs[0].index + 1, c->top, strerror(errno));
		mfg_record_failure(c, jobs[0].index, &e);
		ok = false;
	}
	for (size_t i = 0; ok && i < n; i++) {
		if (mfg_rename_device(jobs[i].d, &e)) {
			err_prepend_context(&e, "device %zu", jobs[i].index + 1);
			mfg_record_failure(c, jobs[i].index, &e);
		} else {
			renamed = true;
		}
	}
	if (renamed && fsync(c->top_fd) != 0) {
		err_set_msg(&e, ERR_CHECK, "device %zu: %s: sync failed: %s", jobs[0].index + 1, c->top, strerror(errno));
		mfg_record_failure(c, jobs[0].index, &e);
	}
	for (size_t i = 0; i < n; i++)
		mfg_free_device(jobs[i].d);
}

/* The commit thread: takes every device queued so far as one group, so the flushes are shared
 * by as many devices as the workers finished during the previous group's commit. */
static void *mfg_committer(void *arg)
{
	struct mfg_ctx *c = arg;
	struct mfg_commit_job jobs[MFG_COMMIT_QUEUE];
	for (;;) {
		pthread_mutex_lock(&c->q_lock);
		while (!c->q_count && !c->q_closing)
			pthread_cond_wait(&c->q_ready, &c->q_lock);
		/* Let a group grow for a moment: every commit of the file system's journal also
		 * stalls the workers' file creation while it runs. */
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += MFG_COMMIT_WAIT_MS * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		while (!c->q_closing && c->q_count < MFG_COMMIT_GROUP)
			if (pthread_cond_timedwait(&c->q_ready, &c->q_lock, &until))
				break;
		size_t n = 0;
		while (c->q_count) {
			jobs[n++] = c->q_jobs[c->q_head];
			c->q_head = (c->q_head + 1) % MFG_COMMIT_QUEUE;
			c->q_count--;
		}
		pthread_cond_broadcast(&c->q_space);
		pthread_mutex_unlock(&c->q_lock);
		if (!n)
			return NULL;
		mfg_commit_group(c, jobs, n);
	}
}

/* Hands d to the commit thread (false when there is none: the caller commits). */
static bool mfg_queue_commit(struct mfg_ctx *c, struct mfg_dev_data *d, size_t index)
{
	if (!c->committer)
		return false;
	pthread_mutex_lock(&c->q_lock);
	while (c->q_count == MFG_COMMIT_QUEUE)
		pthread_cond_wait(&c->q_space, &c->q_lock);
	c->q_jobs[(c->q_head + c->q_count) % MFG_COMMIT_QUEUE] = (struct mfg_commit_job){d, index};
	c->q_count++;
	pthread_cond_signal(&c->q_ready);
	pthread_mutex_unlock(&c->q_lock);
	return true;
}

struct mfg_worker_arg {
	struct mfg_ctx *c;
	mbedtls_pk_context key;
	bool own_key;
};

/* A worker's own copy of the PAI key: mbedTLS caches a table in the key's EC group when signing,
 * so workers sharing one key would have to take turns (the signing is ~half a device's CPU time
 * apart from PBKDF2). */
static int mfg_copy_key(mbedtls_pk_context *src, mbedtls_pk_context *dst)
{
	uint8_t der[512];
	int len = mbedtls_pk_write_key_der(src, der, sizeof der);
	int rc = len <= 0 ? -1 : mbedtls_pk_parse_key(dst, der + sizeof der - len, (size_t)len, NULL, 0);
	mbedtls_platform_zeroize(der, sizeof der);
	return rc ? -1 : 0;
}

static void *mfg_worker(void *arg)
{
	struct mfg_worker_arg *w = arg;
	struct mfg_ctx *c = w->c;
	for (;;) {
		if (atomic_load(&c->failed))
			break;
		size_t i = atomic_fetch_add(&c->next, 1);
		if (i >= c->o->count)
			break;
		err_t e = {0};
		if (mfg_build_device(c, i, w->own_key ? &w->key : NULL, &e))
			mfg_record_failure(c, i, &e);
	}
	return NULL;
}

static int mfg_write_batch_files(struct mfg_ctx *c, err_t *e)
{
	const struct mfg_options *o = c->o;
	buf_t b = BUF_INIT;
	char path[4400], stamp[64];
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof stamp, "%Y-%m-%d-%H-%M-%S", &tm);
	int rc = -1;

	/* staging/config.csv: the NVS schema (key,type,encoding per namespace). */
	const char *ns = NULL;
	for (size_t i = 0; i < c->map.count; i++) {
		const struct mfg_kv *kv = &c->map.kv[i];
		if (!ns || strcmp(ns, kv->ns)) {
			ns = kv->ns;
			buf_append_str(&b, ns);
			buf_append_str(&b, ",namespace,\n");
		}
		buf_append_str(&b, kv->key);
		buf_append_byte(&b, ',');
		buf_append_str(&b, kv->type);
		buf_append_byte(&b, ',');
		buf_append_str(&b, kv->enc);
		buf_append_byte(&b, '\n');
	}
	snprintf(path, sizeof path, "%s/config.csv", c->stage);
	if (fileio_write_atomic(path, b.data, b.len, FILEIO_MODE_PUBLIC, e))
		goto done;

	/* staging/master.csv: keys, then one row of values per device. */
	b.len = 0;
	for (size_t i = 0; i < c->map.count; i++)
		mfg_csv_put_field(&b, c->map.kv[i].key, i == 0);
	buf_append_byte(&b, '\n');
	size_t header_len = b.len;
	for (size_t i = 0; i < o->count; i++) {
		buf_append_str(&b, c->mcsv_rows[i]);
		buf_append_byte(&b, '\n');
	}
	snprintf(path, sizeof path, "%s/master.csv", c->stage);
	if (fileio_write_atomic(path, b.data, b.len, FILEIO_MODE_SECRET, e))
		goto done;

	/* staging/pin_disc.csv (passcodes: private). */
	buf_t p = BUF_INIT;
	buf_append_str(&p, o->enable_dynamic_passcode ? "Index,Iteration Count,Salt,Discriminator\n"
						      : "Index,PIN Code,Iteration Count,Salt,Verifier,Discriminator\n");
	for (size_t i = 0; i < o->count; i++) {
		buf_append_str(&p, c->pin_rows[i]);
		buf_append_byte(&p, '\n');
	}
	snprintf(path, sizeof path, "%s/pin_disc.csv", c->stage);
	int r = fileio_write_atomic(path, p.data, p.len, FILEIO_MODE_SECRET, e);
	buf_wipe_data(&p);
	if (r)
		goto done;

	/* summary-<time>.csv: master columns, then pincode, qrcode, manualcode per device. */
	buf_t s = BUF_INIT;
	buf_append_bytes(&s, b.data, header_len - 1);
	if (!o->enable_dynamic_passcode)
		buf_append_str(&s, ",pincode,qrcode,manualcode");
	buf_append_str(&s, "\r\n");
	for (size_t i = 0; i < o->count; i++) {
		buf_append_str(&s, c->mcsv_rows[i]);
		if (!o->enable_dynamic_passcode) {
			char pin[16], manual[64];
			snprintf(pin, sizeof pin, "%u", c->dev[i].passcode);
			if (mfg_format_manual(c->dev[i].manual, manual, sizeof manual, false, e)) {
				buf_wipe_data(&s);
				goto done;
			}
			mfg_csv_put_field(&s, pin, false);
			mfg_csv_put_field(&s, c->dev[i].qr, false);
			mfg_csv_put_field(&s, manual, false);
		}
		buf_append_str(&s, "\r\n");
	}
	snprintf(path, sizeof path, "%s/summary-%s.csv", c->top, stamp);
	r = fileio_write_atomic(path, s.data, s.len, FILEIO_MODE_SECRET, e);
	buf_wipe_data(&s);
	if (r)
		goto done;

	if (c->have_ca) {
		buf_t cn = BUF_INIT;
		buf_append_str(&cn, "CN,certs\r\n");
		for (size_t i = 0; i < o->count; i++)
			if (c->cn_rows[i]) {
				buf_append_str(&cn, c->cn_rows[i]);
				buf_append_str(&cn, "\r\n");
			}
		snprintf(path, sizeof path, "%s/cn_dacs-%s.csv", c->top, stamp);
		r = fileio_write_atomic(path, cn.data, cn.len, FILEIO_MODE_PUBLIC, e);
		buf_free_data(&cn);
		if (r)
			goto done;
	}
	rc = 0;
done:
	buf_wipe_data(&b);
	return rc;
}

int mfg_run_batch(const struct mfg_options *o, struct mfg_batch *out, err_t *e)
{
	memset(out, 0, sizeof *out);
	struct mfg_ctx *c = mem_alloc_zeroed(sizeof *c);
	c->o = o;
	mbedtls_x509_crt_init(&c->pai);
	mbedtls_pk_init(&c->pai_key);
	mbedtls_x509_crt_init(&c->dac);
	mbedtls_pk_init(&c->dac_key);
	pthread_mutex_init(&c->err_lock, NULL);
	pthread_mutex_init(&c->pai_lock, NULL);
	pthread_mutex_init(&c->q_lock, NULL);
	c->top_fd = -1;
	pthread_cond_init(&c->q_ready, NULL);
	pthread_cond_init(&c->q_space, NULL);
	int rc = -1;
	bool top_existed = true, stage_existed = true, inputs_checked = false;
	snprintf(c->top, sizeof c->top, "%s/%x_%x", o->outdir, o->vendor_id, o->product_id);
	snprintf(c->stage, sizeof c->stage, "%s/staging", c->top);
	if (o->outdir[0] == '/') {
		snprintf(c->top_abs, sizeof c->top_abs, "%s", c->top);
	} else {
		char cwd[1024];
		if (!getcwd(cwd, sizeof cwd)) {
			err_set_msg(e, ERR_CHECK, "cannot get the working directory");
			goto done;
		}
		snprintf(c->top_abs, sizeof c->top_abs, "%s/%.*s", cwd, 1000, c->top);
	}
	/* Refused inputs must leave nothing behind: remember what this run creates. */
	top_existed = access(c->top, F_OK) == 0;
	stage_existed = access(c->stage, F_OK) == 0;
	if (fileio_make_dirs(c->stage, 0700, e))
		goto done;
	c->top_fd = open(c->top, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (c->top_fd < 0) {
		err_set_msg(e, ERR_CHECK, "%s: cannot open: %s", c->top, strerror(errno));
		goto done;
	}
	if (o->mcsv && mfg_csv_read(o->mcsv, &c->mcsv, e))
		goto done;
	if (o->mcsv && c->mcsv.count < o->count + 1) {
		err_set_msg(e, ERR_CHECK, "%s: %zu value rows for %u devices", o->mcsv,
			    c->mcsv.count ? c->mcsv.count - 1 : 0, o->count);
		goto done;
	}
	if (mfg_build_map(c, e) || mfg_setup_ca(c, e) || mfg_check_inputs(c, e))
		goto done;
	inputs_checked = true;
	c->dev = calloc(o->count, sizeof *c->dev);
	c->mcsv_rows = calloc(o->count, sizeof *c->mcsv_rows);
	c->pin_rows = calloc(o->count, sizeof *c->pin_rows);
	c->cn_rows = calloc(o->count, sizeof *c->cn_rows);
	if (!c->dev || !c->mcsv_rows || !c->pin_rows || !c->cn_rows) {
		err_set_msg(e, ERR_CHECK, "out of memory for %u devices", o->count);
		goto done;
	}
	unsigned nthreads = o->threads;
	if (!nthreads) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		nthreads = n > 0 ? (unsigned)n : 1;
	}
	if (nthreads > o->count)
		nthreads = o->count;
	if (!nthreads)
		nthreads = 1;
	pthread_t *th = calloc(nthreads, sizeof *th);
	struct mfg_worker_arg *wa = calloc(nthreads, sizeof *wa);
	if (!th || !wa) {
		free(th);
		free(wa);
		err_set_msg(e, ERR_CHECK, "out of memory for %u workers", nthreads);
		goto done;
	}
	for (unsigned i = 0; i < nthreads; i++) {
		wa[i].c = c;
		mbedtls_pk_init(&wa[i].key);
		wa[i].own_key = c->have_ca && !c->have_dac && mfg_copy_key(&c->pai_key, &wa[i].key) == 0;
	}
	pthread_t cth;
	c->committer = pthread_create(&cth, NULL, mfg_committer, c) == 0;
	unsigned started = 0;
	for (; started < nthreads; started++)
		if (pthread_create(&th[started], NULL, mfg_worker, &wa[started]))
			break;
	if (started == 0)
		mfg_worker(&wa[0]);
	for (unsigned i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	for (unsigned i = 0; i < nthreads; i++)
		mbedtls_pk_free(&wa[i].key);
	free(wa);
	free(th);
	pthread_mutex_lock(&c->q_lock);
	c->q_closing = true;
	pthread_cond_broadcast(&c->q_ready);
	pthread_mutex_unlock(&c->q_lock);
	if (c->committer)
		pthread_join(cth, NULL);
	if (atomic_load(&c->failed)) {
		*e = c->first_err;
		goto done;
	}
	if (mfg_write_batch_files(c, e))
		goto done;
	snprintf(out->top_dir, sizeof out->top_dir, "%s", c->top);
	out->devices = c->dev;
	out->count = o->count;
	c->dev = NULL;
	rc = 0;
done:
	if (rc != 0 && !inputs_checked && !stage_existed) {
		mfg_remove_old_tree(c->stage);
		if (!top_existed)
			rmdir(c->top);
	}
	for (size_t i = 0; c->mcsv_rows && i < o->count; i++)
		free(c->mcsv_rows[i]);
	for (size_t i = 0; c->pin_rows && i < o->count; i++)
		if (c->pin_rows[i]) {
			mbedtls_platform_zeroize(c->pin_rows[i], strlen(c->pin_rows[i]));
			free(c->pin_rows[i]);
		}
	for (size_t i = 0; c->cn_rows && i < o->count; i++)
		free(c->cn_rows[i]);
	free(c->mcsv_rows);
	free(c->pin_rows);
	free(c->cn_rows);
	free(c->dev);
	mfg_map_free(&c->map);
	mfg_csv_free(&c->mcsv);
	buf_free_data(&c->pai_der);
	mbedtls_x509_crt_free(&c->pai);
	mbedtls_pk_free(&c->pai_key);
	mbedtls_x509_crt_free(&c->dac);
	mbedtls_pk_free(&c->dac_key);
	pthread_mutex_destroy(&c->err_lock);
	pthread_mutex_destroy(&c->pai_lock);
	pthread_mutex_destroy(&c->q_lock);
	if (c->top_fd >= 0)
		close(c->top_fd);
	pthread_cond_destroy(&c->q_ready);
	pthread_cond_destroy(&c->q_space);
	free(c);
	return rc;
}

void mfg_free_batch(struct mfg_batch *b)
{
	if (b->devices)
		mbedtls_platform_zeroize(b->devices, b->count * sizeof *b->devices);
	free(b->devices);
	memset(b, 0, sizeof *b);
}

/* ---- command line (esp-matter-mfg-tool spellings) ---- */

/* Python int(s, 0), as the tool's any_base_int: decimal, 0x, 0o or 0b. */
static int mfg_parse_u32_text(const char *s, const char *what, uint32_t *out, err_t *e)
{
	const char *p = s;
	int base = 10;
	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
		base = 16, p += 2;
	else if (p[0] == '0' && (p[1] == 'o' || p[1] == 'O'))
		base = 8, p += 2;
	else if (p[0] == '0' && (p[1] == 'b' || p[1] == 'B'))
		base = 2, p += 2;
	char *end = NULL;
	if (!*p || *p == '-' || *p == '+')
		return err_set_msg(e, ERR_USAGE, "%s: '%s' is not a number", what, s);
	unsigned long long v = strtoull(p, &end, base);
	if (*end || v > UINT32_MAX)
		return err_set_msg(e, ERR_USAGE, "%s: '%s' is not a number up to %u", what, s, UINT32_MAX);
	*out = (uint32_t)v;
	return 0;
}

enum {
	O_COUNT = 1, O_TARGET, O_SIZE, O_ENCRYPT, O_LOG_LEVEL, O_OUTDIR, O_NO_BIN, O_NO_SC_BIN,
	O_PASSCODE, O_DISCRIMINATOR, O_CF, O_DM, O_DYN, O_SALT, O_VERIFIER, O_ITER, O_CD_IN_SC,
	O_DAC_IN_SC, O_LIFETIME, O_VALID_FROM, O_CN_PREFIX, O_CERT, O_KEY, O_CD, O_DAC_CERT,
	O_DAC_KEY, O_DS, O_EFUSE_KEY_ID, O_PORT, O_PWD, O_PAA, O_PAI, O_VID, O_VENDOR_NAME, O_PID,
	O_PRODUCT_NAME, O_HW_VER, O_HW_VER_STR, O_MFG_DATE, O_SERIAL, O_RDID, O_RDID_UID,
	O_FINISH, O_RDID_IN_SC, O_COLOR, O_PART, O_CAL, O_LOCALES, O_FIXED, O_MODES, O_LABEL,
	O_URL, O_CSV, O_MCSV, O_THREADS, O_HELP,
};

static const struct argscan_opt mfg_opts[] = {
	{"n|count", ARGSCAN_VALUE, O_COUNT},
	{"target", ARGSCAN_VALUE, O_TARGET},
	{"s|size", ARGSCAN_VALUE, O_SIZE},
	{"e|encrypt", ARGSCAN_FLAG, O_ENCRYPT},
	{"log-level", ARGSCAN_VALUE, O_LOG_LEVEL},
	{"outdir", ARGSCAN_VALUE, O_OUTDIR},
	{"no-bin", ARGSCAN_FLAG, O_NO_BIN},
	{"no-secure-cert-bin", ARGSCAN_FLAG, O_NO_SC_BIN},
	{"passcode", ARGSCAN_VALUE, O_PASSCODE},
	{"discriminator", ARGSCAN_VALUE, O_DISCRIMINATOR},
	{"cf|commissioning-flow", ARGSCAN_VALUE, O_CF},
	{"dm|discovery-mode", ARGSCAN_VALUE, O_DM},
	{"enable-dynamic-passcode", ARGSCAN_FLAG, O_DYN},
	{"salt", ARGSCAN_VALUE, O_SALT},
	{"verifier", ARGSCAN_VALUE, O_VERIFIER},
	{"iteration-count", ARGSCAN_VALUE, O_ITER},
	{"commissionable-data-in-secure-cert", ARGSCAN_FLAG, O_CD_IN_SC},
	{"dac-in-secure-cert", ARGSCAN_FLAG, O_DAC_IN_SC},
	{"lt|lifetime", ARGSCAN_VALUE, O_LIFETIME},
	{"vf|valid-from", ARGSCAN_VALUE, O_VALID_FROM},
	{"cn|cn-prefix", ARGSCAN_VALUE, O_CN_PREFIX},
	{"c|cert", ARGSCAN_VALUE, O_CERT},
	{"k|key", ARGSCAN_VALUE, O_KEY},
	{"cd|cert-dclrn", ARGSCAN_VALUE, O_CD},
	{"dac-cert", ARGSCAN_VALUE, O_DAC_CERT},
	{"dac-key", ARGSCAN_VALUE, O_DAC_KEY},
	{"ds|ds-peripheral", ARGSCAN_FLAG, O_DS},
	{"efuse-key-id", ARGSCAN_VALUE, O_EFUSE_KEY_ID},
	{"port", ARGSCAN_VALUE, O_PORT},
	{"pwd|password", ARGSCAN_VALUE, O_PWD},
	{"paa", ARGSCAN_FLAG, O_PAA},
	{"pai", ARGSCAN_FLAG, O_PAI},
	{"v|vendor-id", ARGSCAN_VALUE, O_VID},
	{"vendor-name", ARGSCAN_VALUE, O_VENDOR_NAME},
	{"p|product-id", ARGSCAN_VALUE, O_PID},
	{"product-name", ARGSCAN_VALUE, O_PRODUCT_NAME},
	{"hw-ver", ARGSCAN_VALUE, O_HW_VER},
	{"hw-ver-str", ARGSCAN_VALUE, O_HW_VER_STR},
	{"mfg-date", ARGSCAN_VALUE, O_MFG_DATE},
	{"serial-num", ARGSCAN_VALUE, O_SERIAL},
	{"enable-rotating-device-id", ARGSCAN_FLAG, O_RDID},
	{"rd-id-uid", ARGSCAN_VALUE, O_RDID_UID},
	{"product-finish", ARGSCAN_VALUE, O_FINISH},
	{"rd-id-uid-in-secure-cert", ARGSCAN_FLAG, O_RDID_IN_SC},
	{"product-color", ARGSCAN_VALUE, O_COLOR},
	{"part-number", ARGSCAN_VALUE, O_PART},
	{"calendar-types", ARGSCAN_LIST, O_CAL},
	{"locales", ARGSCAN_LIST, O_LOCALES},
	{"fixed-labels", ARGSCAN_LIST, O_FIXED},
	{"supported-modes", ARGSCAN_LIST, O_MODES},
	{"product-label", ARGSCAN_VALUE, O_LABEL},
	{"product-url", ARGSCAN_VALUE, O_URL},
	{"csv", ARGSCAN_VALUE, O_CSV},
	{"mcsv", ARGSCAN_VALUE, O_MCSV},
	{"threads", ARGSCAN_VALUE, O_THREADS},
	{"h|help", ARGSCAN_FLAG, O_HELP},
	{NULL, 0, 0},
};

static int mfg_u32(const char *v, const char *what, uint32_t max, uint32_t *out, err_t *e)
{
	if (mfg_parse_u32_text(v, what, out, e))
		return -1;
	if (*out > max)
		return err_set_msg(e, ERR_USAGE, "%s: %s is out of range (at most %u)", what, v, max);
	return 0;
}

int mfg_parse_args(int argc, char **argv, struct mfg_options *op, bool *help, err_t *e)
{
	struct mfg_options o;
	mfg_init_options(&o);
	*help = false;
	bool have_vid = false, have_pid = false;
	uint32_t u;
	struct argscan s;
	argscan_init(&s, argc, argv, mfg_opts);
	const char *v;
	int id;
	while ((id = argscan_next(&s, &v, e)) != ARGSCAN_END) {
		int bad = 0;
		switch (id) {
		case -1: return -1;
		case O_COUNT: bad = mfg_u32(v, "--count", 1000000, &o.count, e); break;
		case O_TARGET: o.target = v; break;
		case O_SIZE: bad = mfg_u32(v, "--size", 0x10000000, &o.size, e); break;
		case O_ENCRYPT: o.encrypt = true; break;
		case O_LOG_LEVEL:
			if (strcmp(v, "debug") && strcmp(v, "info") && strcmp(v, "error"))
				bad = err_set_msg(e, ERR_USAGE, "--log-level: debug, info or error");
			break;
		case O_OUTDIR: o.outdir = v; break;
		case O_NO_BIN: o.generate_bin = false; break;
		case O_NO_SC_BIN: o.no_secure_cert_bin = true; break;
		case O_PASSCODE: bad = mfg_u32(v, "--passcode", UINT32_MAX, &o.passcode, e); o.has_passcode = true; break;
		case O_DISCRIMINATOR:
			bad = mfg_u32(v, "--discriminator", 0xFFF, &u, e);
			o.discriminator = (uint16_t)u;
			o.has_discriminator = true;
			break;
		case O_CF: bad = mfg_u32(v, "--commissioning-flow", 2, &u, e); o.commissioning_flow = (uint8_t)u; break;
		case O_DM: bad = mfg_u32(v, "--discovery-mode", 255, &u, e); o.discovery_mode = (uint8_t)u; break;
		case O_DYN: o.enable_dynamic_passcode = true; break;
		case O_SALT: o.salt_b64 = v; break;
		case O_VERIFIER: o.verifier_b64 = v; break;
		case O_ITER: bad = mfg_u32(v, "--iteration-count", UINT32_MAX, &o.iteration_count, e); break;
		case O_CD_IN_SC: o.commissionable_data_in_secure_cert = true; break;
		case O_DAC_IN_SC: o.dac_in_secure_cert = true; break;
		case O_LIFETIME: bad = mfg_u32(v, "--lifetime", UINT32_MAX, &o.lifetime_days, e); break;
		case O_VALID_FROM: o.valid_from = v; break;
		case O_CN_PREFIX: o.cn_prefix = v; break;
		case O_CERT: o.cert = v; break;
		case O_KEY: o.key = v; break;
		case O_CD: o.cert_dclrn = v; break;
		case O_DAC_CERT: o.dac_cert = v; break;
		case O_DAC_KEY: o.dac_key = v; break;
		case O_DS: o.ds_peripheral = true; break;
		case O_EFUSE_KEY_ID: bad = mfg_u32(v, "--efuse-key-id", 5, &u, e); o.efuse_key_id = (int)u; break;
		case O_PORT: break; /* only used by the tool for the DS peripheral */
		case O_PWD:
			bad = err_set_msg(e, ERR_USAGE, "--password: encrypted private keys are not supported");
			break;
		case O_PAA: o.paa = true; break;
		case O_PAI: o.pai = true; break;
		case O_VID: bad = mfg_u32(v, "--vendor-id", 0xFFFF, &u, e); o.vendor_id = (uint16_t)u; have_vid = true; break;
		case O_VENDOR_NAME: o.vendor_name = v; break;
		case O_PID: bad = mfg_u32(v, "--product-id", 0xFFFF, &u, e); o.product_id = (uint16_t)u; have_pid = true; break;
		case O_PRODUCT_NAME: o.product_name = v; break;
		case O_HW_VER: bad = mfg_u32(v, "--hw-ver", 0xFFFF, &o.hw_ver, e); o.has_hw_ver = true; break;
		case O_HW_VER_STR: o.hw_ver_str = v; break;
		case O_MFG_DATE: o.mfg_date = v; break;
		case O_SERIAL: o.serial_num = v; break;
		case O_RDID: o.enable_rotating_device_id = true; break;
		case O_RDID_UID: o.rd_id_uid = v; break;
		case O_FINISH: o.product_finish = v; break;
		case O_RDID_IN_SC: o.rd_id_uid_in_secure_cert = true; break;
		case O_COLOR: o.product_color = v; break;
		case O_PART: o.part_number = v; break;
		case O_CAL:
		case O_LOCALES:
		case O_FIXED: {
			const char **list = id == O_CAL ? o.calendar_types : id == O_LOCALES ? o.locales : o.fixed_labels;
			size_t *n = id == O_CAL ? &o.calendar_type_count : id == O_LOCALES ? &o.locale_count
										  : &o.fixed_label_count;
			if (*n >= MFG_MAX_LIST)
				bad = err_set_msg(e, ERR_USAGE, "too many values (at most %d)", MFG_MAX_LIST);
			else
				list[(*n)++] = v;
			break;
		}
		case O_MODES: o.supported_mode_count++; break;
		case O_LABEL: o.product_label = v; break;
		case O_URL: o.product_url = v; break;
		case O_CSV: o.csv = v; break;
		case O_MCSV: o.mcsv = v; break;
		case O_THREADS: bad = mfg_u32(v, "--threads", 1024, &u, e); o.threads = u; break;
		case O_HELP: *help = true; return 0;
		case ARGSCAN_POSITIONAL:
			bad = err_set_msg(e, ERR_USAGE, "unexpected argument '%s'", v);
			break;
		}
		if (bad) {
			if (!e->code)
				e->code = ERR_USAGE;
			return -1;
		}
	}
	if (!have_vid || !have_pid)
		return err_set_msg(e, ERR_USAGE, "-v/--vendor-id and -p/--product-id are required");
	*op = o;
	return 0;
}
