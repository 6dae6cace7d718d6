#include "flow/identity.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <jansson.h>
#include <mbedtls/platform_util.h>

#include "core/fileio.h"
#include "core/hex.h"
#include "core/rng.h"

#define IDENTITY_JSON "identity.json"
#define IDENTITY_FORMAT 1

void identity_init(struct identity *id)
{
	memset(id, 0, sizeof *id);
	id->ecdsa_block = -1;
}

void identity_free(struct identity *id)
{
	buf_free_data(&id->dac_cert);
	buf_free_data(&id->pai_cert);
	buf_wipe_data(&id->dac_key);
	buf_wipe_data(&id->ds_rsa_key);
	mbedtls_platform_zeroize(id, sizeof *id);
	id->ecdsa_block = -1;
}

/* Uniform in 0..n-1 (rejection sampling, so no modulo bias). */
static uint32_t identity_uniform(uint32_t n)
{
	uint32_t limit = UINT32_MAX - UINT32_MAX % n;
	for (;;) {
		uint32_t v;
		if (rng_fill_bytes(&v, sizeof v) != 0)
			abort(); /* the OS RNG failing is not recoverable */
		if (v < limit)
			return v % n;
	}
}

uint32_t identity_draw_passcode(void)
{
	/* The mfg tool's draw: uniform 1..99999998, an invalid value moved down by one. */
	uint32_t v = 1 + identity_uniform(99999998);
	if (profile_passcode_forbidden(v))
		v -= 1;
	return v;
}

uint16_t identity_draw_discriminator(void)
{
	return (uint16_t)identity_uniform(0x1000);
}

static void identity_draw_uuid(char out[37])
{
	uint8_t u[16];
	rng_fill_bytes(u, sizeof u);
	u[6] = (uint8_t)((u[6] & 0x0F) | 0x40); /* version 4 */
	u[8] = (uint8_t)((u[8] & 0x3F) | 0x80); /* RFC 4122 variant */
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", u[0],
		 u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13], u[14],
		 u[15]);
}

void identity_make_folder_name(const struct profile *p, const char *uuid, char *out, size_t n)
{
	char sub[96];
	snprintf(sub, sizeof sub, "%04x_%04x/%s", p->vendor_id, p->product_id, uuid);
	fileio_join_path(out, n, p->output_dir, sub);
}

int identity_draw(struct identity *id, const struct profile *p, const struct plan *plan, const char *chip,
		  const uint8_t mac[6], int64_t seq, err_t *e)
{
	identity_init(id);
	snprintf(id->chip, sizeof id->chip, "%s", chip);
	memcpy(id->mac, mac, 6);
	id->seq = seq;
	id->path = plan->path;
	if (profile_format_serial(p->serial_pattern, (uint64_t)seq, mac, id->serial, sizeof id->serial, e))
		return -1;
	identity_draw_uuid(id->uuid);
	if (p->mfg_date) {
		snprintf(id->mfg_date, sizeof id->mfg_date, "%s", p->mfg_date);
	} else {
		time_t now = time(NULL);
		struct tm tm;
		gmtime_r(&now, &tm);
		strftime(id->mfg_date, sizeof id->mfg_date, "%Y-%m-%d", &tm);
	}
	identity_make_folder_name(p, id->uuid, id->folder, sizeof id->folder);

	id->passcode = p->passcode_fixed ? p->passcode : identity_draw_passcode();
	id->discriminator = p->discriminator_fixed ? (uint16_t)p->discriminator : identity_draw_discriminator();
	id->iterations = p->iteration_count;
	id->salt_len = IDENTITY_SALT_LEN;
	rng_fill_bytes(id->salt, id->salt_len);
	if (p->rotating_id) {
		rng_fill_bytes(id->rd_id_uid, sizeof id->rd_id_uid);
		id->has_rd_id_uid = true;
	}

	switch (plan->fe_scheme) {
	case PLAN_FE_NONE: id->fe_key_len = 0; break;
	case PLAN_FE_XTS_128_DERIVED: id->fe_key_len = 16; break;
	default: id->fe_key_len = 32; break;
	}
	if (id->fe_key_len)
		rng_fill_bytes(id->fe_key, id->fe_key_len);
	if (plan->path == PROFILE_PATH_DS) {
		rng_fill_bytes(id->ds_hmac_key, sizeof id->ds_hmac_key);
		id->has_ds_hmac_key = true;
	}
	if (plan->nvs_encryption) {
		rng_fill_bytes(id->nvs_key, sizeof id->nvs_key);
		id->has_nvs_key = true;
	}
	const struct plan_step *s = plan_find_step(plan, "burn-ecdsa-key");
	id->ecdsa_block = s ? s->block : -1;
	return 0;
}

struct identity_file_spec {
	const char *role, *name;
	bool secret;
};

static const struct identity_file_spec identity_files[] = {
	{"dac_cert", "internal/DAC_cert.der", false},
	{"pai_cert", "internal/PAI_cert.der", false},
	{"dac_key", "internal/DAC_key.der", true},
	{"fe_key", "keys/fe_key.bin", true},
	{"ds_hmac_key", "keys/ds_hmac_key.bin", true},
	{"ds_rsa_key", "keys/ds_rsa_key.der", true},
	{"nvs_key", "keys/nvs_key.bin", true},
};

/* The bytes a file role holds in an identity (NULL/0 when the identity has none). */
static void identity_file_data(const struct identity *id, const char *role, const uint8_t **data,
			       size_t *len)
{
	*data = NULL;
	*len = 0;
	if (!strcmp(role, "dac_cert")) {
		*data = id->dac_cert.data;
		*len = id->dac_cert.len;
	} else if (!strcmp(role, "pai_cert")) {
		*data = id->pai_cert.data;
		*len = id->pai_cert.len;
	} else if (!strcmp(role, "dac_key")) {
		*data = id->dac_key.data;
		*len = id->dac_key.len;
	} else if (!strcmp(role, "fe_key")) {
		*data = id->fe_key;
		*len = id->fe_key_len;
	} else if (!strcmp(role, "ds_hmac_key") && id->has_ds_hmac_key) {
		*data = id->ds_hmac_key;
		*len = sizeof id->ds_hmac_key;
	} else if (!strcmp(role, "ds_rsa_key")) {
		*data = id->ds_rsa_key.data;
		*len = id->ds_rsa_key.len;
	} else if (!strcmp(role, "nvs_key") && id->has_nvs_key) {
		*data = id->nvs_key;
		*len = sizeof id->nvs_key;
	}
}

static json_t *identity_b64(const uint8_t *p, size_t n)
{
	buf_t b = BUF_INIT;
	hex_encode_base64(p, n, &b);
	json_t *s = json_string(buf_terminate_str(&b));
	buf_free_data(&b);
	return s;
}

static json_t *identity_hex(const uint8_t *p, size_t n)
{
	char text[2 * 64 + 1];
	hex_encode_bytes(p, n, text);
	return json_string(text);
}

int identity_save(const struct identity *id, struct journal_file files[IDENTITY_MAX_FILES], int *n_files,
		  err_t *e)
{
	*n_files = 0;
	char path[1024], dir[1024];
	fileio_join_path(dir, sizeof dir, id->folder, "internal");
	if (fileio_make_dirs(dir, 0700, e))
		return -1;
	fileio_join_path(dir, sizeof dir, id->folder, "keys");
	if (fileio_make_dirs(dir, 0700, e))
		return -1;
	json_t *root = json_object();
	json_t *jfiles = json_object();
	for (size_t i = 0; i < sizeof identity_files / sizeof *identity_files; i++) {
		const struct identity_file_spec *f = &identity_files[i];
		const uint8_t *data;
		size_t len;
		identity_file_data(id, f->role, &data, &len);
		if (!len)
			continue;
		fileio_join_path(path, sizeof path, id->folder, f->name);
		if (fileio_write_atomic(path, data, len, f->secret ? FILEIO_MODE_SECRET : FILEIO_MODE_PUBLIC, e)) {
			json_decref(jfiles);
			json_decref(root);
			return -1;
		}
		json_object_set_new(jfiles, f->role, json_string(f->name));
		snprintf(files[*n_files].role, sizeof files[0].role, "%s", f->role);
		snprintf(files[*n_files].path, sizeof files[0].path, "%s", path);
		(*n_files)++;
	}
	char mac[18];
	journal_format_mac(id->mac, mac);
	json_object_set_new(root, "format", json_integer(IDENTITY_FORMAT));
	json_object_set_new(root, "chip", json_string(id->chip));
	json_object_set_new(root, "mac", json_string(mac));
	json_object_set_new(root, "seq", json_integer(id->seq));
	json_object_set_new(root, "serial", json_string(id->serial));
	json_object_set_new(root, "uuid", json_string(id->uuid));
	json_object_set_new(root, "mfg_date", json_string(id->mfg_date));
	json_object_set_new(root, "path", json_string(profile_name_path(id->path)));
	json_object_set_new(root, "passcode", json_integer(id->passcode));
	json_object_set_new(root, "discriminator", json_integer(id->discriminator));
	json_object_set_new(root, "iterations", json_integer(id->iterations));
	json_object_set_new(root, "salt", identity_b64(id->salt, id->salt_len));
	if (id->has_verifier)
		json_object_set_new(root, "verifier", identity_b64(id->verifier, sizeof id->verifier));
	if (id->has_rd_id_uid)
		json_object_set_new(root, "rd_id_uid", identity_hex(id->rd_id_uid, sizeof id->rd_id_uid));
	json_object_set_new(root, "qr", json_string(id->qr));
	json_object_set_new(root, "manual", json_string(id->manual));
	json_object_set_new(root, "ecdsa_block", json_integer(id->ecdsa_block));
	json_object_set_new(root, "files", jfiles);
	char *text = json_dumps(root, JSON_INDENT(2) | JSON_SORT_KEYS);
	json_decref(root);
	fileio_join_path(path, sizeof path, id->folder, IDENTITY_JSON);
	/* identity.json holds the passcode and is the commit mark: written last, 0600. */
	int rc = fileio_write_atomic(path, text, strlen(text), FILEIO_MODE_SECRET, e);
	mbedtls_platform_zeroize(text, strlen(text));
	free(text);
	if (rc)
		return -1;
	snprintf(files[*n_files].role, sizeof files[0].role, "identity");
	snprintf(files[*n_files].path, sizeof files[0].path, "%s", path);
	(*n_files)++;
	return 0;
}

bool identity_exists(const char *folder)
{
	char path[1024];
	fileio_join_path(path, sizeof path, folder, IDENTITY_JSON);
	struct stat st;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static int identity_get_text(json_t *root, const char *key, char *out, size_t n, bool required,
			     const char *path, err_t *e)
{
	json_t *v = json_object_get(root, key);
	if (!v) {
		if (!required)
			return 0;
		return err_set_msg(e, ERR_CHECK, "%s: '%s' missing", path, key);
	}
	if (!json_is_string(v) || strlen(json_string_value(v)) >= n)
		return err_set_msg(e, ERR_CHECK, "%s: '%s' is not a string of at most %zu characters", path,
				   key, n - 1);
	snprintf(out, n, "%s", json_string_value(v));
	return 0;
}

static int identity_get_int(json_t *root, const char *key, json_int_t min, json_int_t max, json_int_t *out,
			    const char *path, err_t *e)
{
	json_t *v = json_object_get(root, key);
	if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max)
		return err_set_msg(e, ERR_CHECK, "%s: '%s' missing or out of range", path, key);
	*out = json_integer_value(v);
	return 0;
}

static int identity_get_bytes(json_t *root, const char *key, bool b64, uint8_t *out, size_t want,
			      size_t *got, const char *path, err_t *e)
{
	char text[256];
	if (identity_get_text(root, key, text, sizeof text, true, path, e))
		return -1;
	buf_t b = BUF_INIT;
	int rc = b64 ? hex_decode_base64(text, &b, e) : hex_decode_string(text, &b, e);
	if (rc == 0 && (got ? (b.len > want || b.len == 0) : b.len != want))
		rc = err_set_msg(e, ERR_CHECK, "%s: '%s' has %zu bytes", path, key, b.len);
	if (rc == 0) {
		memcpy(out, b.data, b.len);
		if (got)
			*got = b.len;
	} else {
		err_prepend_context(e, "%s: %s", path, key);
	}
	buf_wipe_data(&b);
	return rc;
}

static int identity_parse_mac(const char *s, uint8_t mac[6])
{
	unsigned v[6];
	char tail;
	if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &tail) != 6)
		return -1;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)v[i];
	return 0;
}

static int identity_load_file(struct identity *id, json_t *jfiles, const struct identity_file_spec *f,
			      const char *jpath, err_t *e)
{
	json_t *v = json_object_get(jfiles, f->role);
	if (!v)
		return 0;
	if (!json_is_string(v) || strcmp(json_string_value(v), f->name))
		return err_set_msg(e, ERR_CHECK, "%s: files.%s is not '%s'", jpath, f->role, f->name);
	char path[1024];
	fileio_join_path(path, sizeof path, id->folder, f->name);
	buf_t b = BUF_INIT;
	if (fileio_read_file(path, &b, e))
		return -1;
	int rc = 0;
	size_t fixed = 0;
	uint8_t *dst = NULL;
	if (!strcmp(f->role, "dac_cert"))
		buf_append_bytes(&id->dac_cert, b.data, b.len);
	else if (!strcmp(f->role, "pai_cert"))
		buf_append_bytes(&id->pai_cert, b.data, b.len);
	else if (!strcmp(f->role, "dac_key"))
		buf_append_bytes(&id->dac_key, b.data, b.len);
	else if (!strcmp(f->role, "ds_rsa_key"))
		buf_append_bytes(&id->ds_rsa_key, b.data, b.len);
	else if (!strcmp(f->role, "fe_key")) {
		if (b.len != 16 && b.len != 32)
			rc = err_set_msg(e, ERR_CHECK, "%s: %zu bytes, a flash-encryption key has 16 or 32",
					 path, b.len);
		else
			memcpy(id->fe_key, b.data, id->fe_key_len = b.len);
	} else if (!strcmp(f->role, "ds_hmac_key")) {
		fixed = sizeof id->ds_hmac_key;
		dst = id->ds_hmac_key;
		id->has_ds_hmac_key = true;
	} else if (!strcmp(f->role, "nvs_key")) {
		fixed = sizeof id->nvs_key;
		dst = id->nvs_key;
		id->has_nvs_key = true;
	}
	if (dst) {
		if (b.len != fixed)
			rc = err_set_msg(e, ERR_CHECK, "%s: %zu bytes, expected %zu", path, b.len, fixed);
		else
			memcpy(dst, b.data, fixed);
	}
	buf_wipe_data(&b);
	return rc;
}

int identity_load(const char *folder, struct identity *id, err_t *e)
{
	identity_init(id);
	snprintf(id->folder, sizeof id->folder, "%s", folder);
	char jpath[1024];
	fileio_join_path(jpath, sizeof jpath, folder, IDENTITY_JSON);
	buf_t text = BUF_INIT;
	if (fileio_read_file(jpath, &text, e))
		return err_prepend_context(e, "identity not saved");
	json_error_t jerr;
	json_t *root = json_loadb((const char *)text.data, text.len, 0, &jerr);
	buf_wipe_data(&text);
	if (!root)
		return err_set_msg(e, ERR_CHECK, "%s:%d: %s", jpath, jerr.line, jerr.text);
	int rc = -1;
	json_int_t v;
	char mac[18], path_name[24];
	if (identity_get_int(root, "format", IDENTITY_FORMAT, IDENTITY_FORMAT, &v, jpath, e) ||
	    identity_get_text(root, "chip", id->chip, sizeof id->chip, true, jpath, e) ||
	    identity_get_text(root, "mac", mac, sizeof mac, true, jpath, e) ||
	    identity_get_text(root, "serial", id->serial, sizeof id->serial, true, jpath, e) ||
	    identity_get_text(root, "uuid", id->uuid, sizeof id->uuid, true, jpath, e) ||
	    identity_get_text(root, "mfg_date", id->mfg_date, sizeof id->mfg_date, true, jpath, e) ||
	    identity_get_text(root, "path", path_name, sizeof path_name, true, jpath, e) ||
	    identity_get_text(root, "qr", id->qr, sizeof id->qr, false, jpath, e) ||
	    identity_get_text(root, "manual", id->manual, sizeof id->manual, false, jpath, e))
		goto out;
	if (identity_parse_mac(mac, id->mac)) {
		err_set_msg(e, ERR_CHECK, "%s: mac '%s' is not aa:bb:cc:dd:ee:ff", jpath, mac);
		goto out;
	}
	if (!strcmp(path_name, "ecdsa-efuse"))
		id->path = PROFILE_PATH_ECDSA_EFUSE;
	else if (!strcmp(path_name, "ds"))
		id->path = PROFILE_PATH_DS;
	else if (!strcmp(path_name, "flash-encryption"))
		id->path = PROFILE_PATH_FLASH_ENC;
	else {
		err_set_msg(e, ERR_CHECK, "%s: path '%s' unknown", jpath, path_name);
		goto out;
	}
	if (identity_get_int(root, "seq", 0, INT64_MAX, &v, jpath, e))
		goto out;
	id->seq = v;
	if (identity_get_int(root, "passcode", 1, 99999998, &v, jpath, e))
		goto out;
	id->passcode = (uint32_t)v;
	if (identity_get_int(root, "discriminator", 0, 0xFFF, &v, jpath, e))
		goto out;
	id->discriminator = (uint16_t)v;
	if (identity_get_int(root, "iterations", 1000, 100000, &v, jpath, e))
		goto out;
	id->iterations = (uint32_t)v;
	if (identity_get_int(root, "ecdsa_block", -1, 5, &v, jpath, e))
		goto out;
	id->ecdsa_block = (int)v;
	if (identity_get_bytes(root, "salt", true, id->salt, sizeof id->salt, &id->salt_len, jpath, e))
		goto out;
	if (json_object_get(root, "verifier")) {
		if (identity_get_bytes(root, "verifier", true, id->verifier, sizeof id->verifier, NULL, jpath, e))
			goto out;
		id->has_verifier = true;
	}
	if (json_object_get(root, "rd_id_uid")) {
		if (identity_get_bytes(root, "rd_id_uid", false, id->rd_id_uid, sizeof id->rd_id_uid, NULL,
				       jpath, e))
			goto out;
		id->has_rd_id_uid = true;
	}
	json_t *jfiles = json_object_get(root, "files");
	if (!json_is_object(jfiles)) {
		err_set_msg(e, ERR_CHECK, "%s: 'files' missing", jpath);
		goto out;
	}
	for (size_t i = 0; i < sizeof identity_files / sizeof *identity_files; i++)
		if (identity_load_file(id, jfiles, &identity_files[i], jpath, e))
			goto out;
	rc = 0;
out:;
	/* The parsed tree held the passcode. */
	json_t *pc = json_object_get(root, "passcode");
	if (pc)
		json_integer_set(pc, 0);
	json_decref(root);
	if (rc)
		identity_free(id);
	return rc;
}
