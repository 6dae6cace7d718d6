#include "formats/seccert_build.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <strings.h>

#include <csv.h>
#include <mbedtls/pk.h>
#include <mbedtls/platform_util.h>

#include "core/checksum.h"
#include "core/fileio.h"
#include "core/hex.h"
#include "core/pyint.h"
#include "core/rng.h"
#include "crypto/keyfile.h"
#include "formats/seccert.h"

void seccert_spec_init(struct seccert_spec *s, const char *chip)
{
	memset(s, 0, sizeof *s);
	snprintf(s->chip, sizeof s->chip, "%s", chip ? chip : "esp32c3");
}

void seccert_spec_free(struct seccert_spec *s)
{
	for (size_t i = 0; i < s->count; i++) {
		buf_wipe_data(&s->items[i].data);
		buf_wipe_data(&s->items[i].hmac_key);
	}
	free(s->items);
	mbedtls_platform_zeroize(s->ds_iv, sizeof s->ds_iv);
	s->items = NULL;
	s->count = 0;
}

struct seccert_item *seccert_spec_add_item(struct seccert_spec *s, unsigned type, unsigned subtype,
					   const void *data, size_t len, const char *source,
					   err_t *e)
{
	for (size_t i = 0; i < s->count; i++)
		if (s->items[i].type == type && s->items[i].subtype == subtype) {
			err_set_msg(e, ERR_CHECK,
				    "%s: duplicate entry for TLV type %u subtype %u (already given by %s)",
				    source, type, subtype, s->items[i].source);
			return NULL;
		}
	struct seccert_item *p = realloc(s->items, (s->count + 1) * sizeof *p);
	if (!p)
		abort();
	s->items = p;
	struct seccert_item *it = &s->items[s->count++];
	memset(it, 0, sizeof *it);
	it->type = type;
	it->subtype = subtype;
	it->efuse_key_id = -1;
	buf_append_bytes(&it->data, data, len);
	snprintf(it->source, sizeof it->source, "%s", source ? source : "input");
	return it;
}

/* ---- CSV ---- */

#define CSV_COLS 9
static const char *const seccert_csv_columns[CSV_COLS] = {
	"tlv_type", "tlv_subtype", "data_value", "data_type", "priv_key_type",
	"algorithm", "key_size", "efuse_id", "efuse_key",
};
enum { COL_TYPE, COL_SUBTYPE, COL_VALUE, COL_DTYPE, COL_KTYPE, COL_ALGO, COL_KSIZE, COL_EFID, COL_EFKEY };

struct seccert_csv_state {
	char **fields;
	size_t nfields;
	char ***rows;
	size_t *row_lens;
	size_t nrows;
};

static char *seccert_csv_strip_copy(const char *p, size_t n)
{
	while (n && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')) {
		p++;
		n--;
	}
	while (n && (p[n - 1] == ' ' || p[n - 1] == '\t' || p[n - 1] == '\r' || p[n - 1] == '\n'))
		n--;
	char *s = mem_alloc_zeroed(n + 1);
	memcpy(s, p, n);
	return s;
}

static void seccert_csv_on_field(void *s, size_t n, void *ctx)
{
	struct seccert_csv_state *st = ctx;
	char **f = realloc(st->fields, (st->nfields + 1) * sizeof *f);
	if (!f)
		abort();
	st->fields = f;
	st->fields[st->nfields++] = seccert_csv_strip_copy(s ? s : "", s ? n : 0);
}

static void seccert_csv_on_row(int c, void *ctx)
{
	(void)c;
	struct seccert_csv_state *st = ctx;
	char ***r = realloc(st->rows, (st->nrows + 1) * sizeof *r);
	size_t *l = realloc(st->row_lens, (st->nrows + 1) * sizeof *l);
	if (!r || !l)
		abort();
	st->rows = r;
	st->row_lens = l;
	st->rows[st->nrows] = st->fields;
	st->row_lens[st->nrows++] = st->nfields;
	st->fields = NULL;
	st->nfields = 0;
}

static void seccert_csv_state_free(struct seccert_csv_state *st)
{
	for (size_t r = 0; r < st->nrows; r++) {
		for (size_t i = 0; i < st->row_lens[r]; i++)
			free(st->rows[r][i]);
		free(st->rows[r]);
	}
	for (size_t i = 0; i < st->nfields; i++)
		free(st->fields[i]);
	free(st->fields);
	free(st->rows);
	free(st->row_lens);
}

/* The tool reads CSV numbers with int(s) (after stripping the field): decimal, optional sign,
 * underscores between digits. */
static int seccert_csv_parse_uint(const char *s, unsigned max, unsigned *out)
{
	int64_t v;
	if (pyint_parse(s, 10, &v) || v < 0 || v > (int64_t)max)
		return -1;
	*out = (unsigned)v;
	return 0;
}

/* The value of a CSV row as bytes: a file's contents, UTF-8 text, hex or base64. */
static int seccert_csv_decode_value(const char *value, const char *dtype, const char *where, buf_t *out,
			    err_t *e)
{
	if (strcmp(dtype, "file") == 0) {
		if (fileio_read_file(value, out, e))
			return err_prepend_context(e, "%s", where);
		return 0;
	}
	if (strcmp(dtype, "string") == 0) {
		buf_append_str(out, value);
		return 0;
	}
	if (strcmp(dtype, "hex") == 0) {
		/* The tool drops spaces before decoding. */
		char *compact = mem_alloc_zeroed(strlen(value) + 1);
		size_t n = 0;
		for (const char *p = value; *p; p++)
			if (*p != ' ')
				compact[n++] = *p;
		int rc = hex_decode_string(compact, out, e);
		free(compact);
		if (rc)
			return err_prepend_context(e, "%s: hex data_value", where);
		return 0;
	}
	if (strcmp(dtype, "base64") == 0) {
		if (hex_decode_base64(value, out, e))
			return err_prepend_context(e, "%s: base64 data_value", where);
		return 0;
	}
	return err_set_msg(e, ERR_CHECK,
			   "%s: unsupported data_type '%s' (file, string, hex or base64)", where, dtype);
}

static int seccert_csv_add_row(struct seccert_spec *s, const char *path, size_t line, char **f, err_t *e)
{
	char where[300];
	snprintf(where, sizeof where, "%s line %zu", path, line);
	unsigned type, subtype;
	if (seccert_lookup_type_name(f[COL_TYPE], &type) != 0 &&
	    seccert_csv_parse_uint(f[COL_TYPE], 255, &type) != 0)
		return err_set_msg(e, ERR_CHECK, "%s: unknown tlv_type '%s' (a tool name or 0..254)",
				   where, f[COL_TYPE]);
	if (type == SECCERT_TYPE_TLV_END || type == SECCERT_TYPE_INVALID)
		return err_set_msg(e, ERR_CHECK, "%s: tlv_type %u is reserved", where, type);
	if (seccert_csv_parse_uint(f[COL_SUBTYPE], 254, &subtype) != 0)
		return err_set_msg(e, ERR_CHECK, "%s: tlv_subtype '%s' is not a number in 0..254", where,
				   f[COL_SUBTYPE]);
	if (!*f[COL_VALUE])
		return err_set_msg(e, ERR_CHECK, "%s: missing required 'data_value'", where);
	if (!*f[COL_DTYPE])
		return err_set_msg(e, ERR_CHECK, "%s: missing required 'data_type'", where);
	buf_t data = BUF_INIT;
	if (seccert_csv_decode_value(f[COL_VALUE], f[COL_DTYPE], where, &data, e)) {
		buf_wipe_data(&data);
		return -1;
	}
	char source[sizeof where + 300];
	if (strcmp(f[COL_DTYPE], "file") == 0)
		snprintf(source, sizeof source, "%s (%s)", f[COL_VALUE], where);
	else
		snprintf(source, sizeof source, "%s", where);
	struct seccert_item *it = seccert_spec_add_item(s, type, subtype, data.data, data.len, source, e);
	buf_wipe_data(&data);
	if (!it)
		return -1;
	if (type != SECCERT_TYPE_PRIV_KEY)
		return 0;
	const char *kt = f[COL_KTYPE];
	if (strcasecmp(kt, "plaintext") == 0)
		it->key_kind = SECCERT_KEY_PLAINTEXT;
	else if (strcasecmp(kt, "rsa_ds") == 0)
		it->key_kind = SECCERT_KEY_RSA_DS;
	else if (strcasecmp(kt, "ecdsa_peripheral") == 0)
		it->key_kind = SECCERT_KEY_ECDSA_PERIPHERAL;
	else
		return err_set_msg(e, ERR_CHECK,
				   "%s: priv_key_type '%s' is not plaintext, rsa_ds or ecdsa_peripheral",
				   where, kt);
	snprintf(it->algorithm, sizeof it->algorithm, "%s", f[COL_ALGO]);
	for (char *p = it->algorithm; *p; p++)
		if (*p >= 'a' && *p <= 'z')
			*p = (char)(*p - 'a' + 'A');
	if (*f[COL_KSIZE] && seccert_csv_parse_uint(f[COL_KSIZE], 65535, &it->key_size) != 0)
		return err_set_msg(e, ERR_CHECK, "%s: key_size '%s' is not a number", where, f[COL_KSIZE]);
	unsigned id;
	if (*f[COL_EFID]) {
		if (seccert_csv_parse_uint(f[COL_EFID], 5, &id) != 0)
			return err_set_msg(e, ERR_CHECK, "%s: efuse_id '%s' is not in 0..5", where,
					   f[COL_EFID]);
		it->efuse_key_id = (int)id;
	}
	/* The tool falls back to a generated key when the named file does not exist. */
	if (*f[COL_EFKEY] && access(f[COL_EFKEY], F_OK) == 0) {
		if (fileio_read_secret(f[COL_EFKEY], &it->hmac_key, e))
			return err_prepend_context(e, "%s: efuse_key", where);
		it->hmac_key_given = true;
	}
	return 0;
}

int seccert_spec_add_csv(struct seccert_spec *s, const char *csv_path, err_t *e)
{
	buf_t text = BUF_INIT;
	if (fileio_read_file(csv_path, &text, e))
		return -1;
	struct seccert_csv_state st;
	memset(&st, 0, sizeof st);
	struct csv_parser p;
	int rc = -1;
	csv_init(&p, 0);
	if (csv_parse(&p, text.data, text.len, seccert_csv_on_field, seccert_csv_on_row, &st) != text.len ||
	    csv_fini(&p, seccert_csv_on_field, seccert_csv_on_row, &st) != 0) {
		err_set_msg(e, ERR_CHECK, "%s: CSV syntax error (%s)", csv_path,
			    csv_strerror(csv_error(&p)));
		goto done;
	}
	if (st.nrows == 0) {
		err_set_msg(e, ERR_CHECK, "%s: empty CSV (a header row is needed)", csv_path);
		goto done;
	}
	int colmap[CSV_COLS];
	for (int c = 0; c < CSV_COLS; c++) {
		colmap[c] = -1;
		for (size_t i = 0; i < st.row_lens[0]; i++)
			if (strcmp(st.rows[0][i], seccert_csv_columns[c]) == 0)
				colmap[c] = (int)i;
		if (colmap[c] < 0 && c <= COL_DTYPE) {
			err_set_msg(e, ERR_CHECK, "%s: header has no '%s' column", csv_path, seccert_csv_columns[c]);
			goto done;
		}
	}
	for (size_t r = 1; r < st.nrows; r++) {
		char *f[CSV_COLS];
		bool any = false;
		for (int c = 0; c < CSV_COLS; c++) {
			f[c] = (colmap[c] >= 0 && (size_t)colmap[c] < st.row_lens[r]) ? st.rows[r][colmap[c]]
										 : "";
			any = any || *f[c];
		}
		if (!any || f[COL_TYPE][0] == '#')
			continue;
		if (seccert_csv_add_row(s, csv_path, r + 1, f, e))
			goto done;
	}
	rc = 0;
done:
	csv_free(&p);
	seccert_csv_state_free(&st);
	buf_wipe_data(&text);
	return rc;
}

/* ---- building ---- */

void seccert_output_free(struct seccert_output *out)
{
	buf_wipe_data(&out->image);
	mbedtls_platform_zeroize(out->hw, sizeof out->hw);
	out->hw_count = 0;
}

static int seccert_encode_cert_item(const struct seccert_item *it, buf_t *value, err_t *e)
{
	buf_t der = BUF_INIT;
	enum keyfile_encoding enc;
	int rc = keyfile_load_cert(it->data.data, it->data.len, it->source, &der, &enc, e);
	if (rc == 0)
		rc = keyfile_encode_cert(der.data, der.len, enc, value, e);
	buf_free_data(&der);
	return rc;
}

static int seccert_encode_key_item(const struct seccert_spec *s, const struct seccert_item *it,
				   buf_t *value, err_t *e)
{
	mbedtls_pk_context pk;
	mbedtls_pk_init(&pk);
	enum keyfile_encoding enc;
	int rc = keyfile_load_private_key(it->data.data, it->data.len, s->key_password, it->source,
					  &pk, &enc, e);
	if (rc == 0 && keyfile_encode_private_key(&pk, enc, value, e))
		rc = err_prepend_context(e, "%s", it->source);
	mbedtls_pk_free(&pk);
	return rc;
}

/* Validates a DS / ECDSA-peripheral key item and computes what goes to eFuse and flash. */
static int seccert_prepare_hw_key(const struct seccert_spec *s, const struct seccert_item *it,
				  struct seccert_hw_key *hw, struct ds_params *ds, err_t *e)
{
	memset(hw, 0, sizeof *hw);
	hw->kind = it->key_kind;
	hw->subtype = it->subtype;
	if (it->efuse_key_id < 0)
		return err_set_msg(e, ERR_USAGE, "%s: an eFuse key id is required for %s", it->source,
				   it->key_kind == SECCERT_KEY_RSA_DS ? "the DS peripheral"
								      : "the ECDSA peripheral");
	if (it->efuse_key_id > 5)
		return err_set_msg(e, ERR_USAGE, "%s: eFuse key id %d is out of range (0..5)", it->source,
				   it->efuse_key_id);
	hw->efuse_key_id = (unsigned)it->efuse_key_id;
	const char *want = it->key_kind == SECCERT_KEY_RSA_DS ? "RSA" : "ECDSA";
	if (strcmp(it->algorithm, want) != 0)
		return err_set_msg(e, ERR_USAGE, "%s: %s needs algorithm %s (given '%s')", it->source,
				   it->key_kind == SECCERT_KEY_RSA_DS ? "rsa_ds" : "ecdsa_peripheral",
				   want, it->algorithm);
	mbedtls_pk_context pk;
	mbedtls_pk_init(&pk);
	enum keyfile_encoding enc;
	int rc = -1;
	if (it->key_kind == SECCERT_KEY_RSA_DS) {
		hw->purpose = "HMAC_DOWN_DIGITAL_SIGNATURE";
		/* The declared size is checked first, as the tool does, then the key's own size. */
		if (ds_check_key_size(s->chip, it->key_size, e))
			goto done;
		if (keyfile_load_private_key(it->data.data, it->data.len, s->key_password, it->source,
					     &pk, &enc, e))
			goto done;
		if (mbedtls_pk_get_type(&pk) != MBEDTLS_PK_RSA) {
			err_set_msg(e, ERR_CHECK, "%s: the DS peripheral needs an RSA private key",
				    it->source);
			goto done;
		}
		if (it->hmac_key_given || it->hmac_key.len) {
			/* The tool would HMAC with a key file of any length, giving DS data that no
			 * 256-bit eFuse block can match: refused here. */
			if (it->hmac_key.len != DS_HMAC_KEY_LEN) {
				err_set_msg(e, ERR_CHECK, "%s: the eFuse HMAC key file must hold 32 bytes (it has %zu)",
					    it->source, it->hmac_key.len);
				goto done;
			}
			memcpy(hw->efuse_block, it->hmac_key.data, DS_HMAC_KEY_LEN);
		} else {
			rng_fill_bytes(hw->efuse_block, DS_HMAC_KEY_LEN);
			hw->hmac_generated = true;
		}
		uint8_t iv[DS_IV_LEN];
		if (s->ds_iv_fixed)
			memcpy(iv, s->ds_iv, DS_IV_LEN);
		else
			rng_fill_bytes(iv, DS_IV_LEN);
		if (ds_compute_params(mbedtls_pk_rsa(pk), s->chip, hw->efuse_block, iv, ds, e)) {
			err_prepend_context(e, "%s", it->source);
			goto done;
		}
		hw->rsa_bits = ds->rsa_bits;
	} else {
		hw->purpose = "ECDSA_KEY";
		if (ecdsa_efuse_check_target(s->chip, it->key_size, hw->efuse_key_id, e))
			goto done;
		if (keyfile_load_private_key(it->data.data, it->data.len, s->key_password, it->source,
					     &pk, &enc, e))
			goto done;
		struct ecdsa_efuse_key k;
		if (ecdsa_efuse_prepare_key(&pk, s->chip, it->key_size, hw->efuse_key_id, &k, e)) {
			err_prepend_context(e, "%s", it->source);
			goto done;
		}
		memcpy(hw->efuse_block, k.block, sizeof hw->efuse_block);
		memcpy(hw->ecdsa_scalar, k.scalar, k.scalar_len);
		hw->ecdsa_scalar_len = k.scalar_len;
		mbedtls_platform_zeroize(&k, sizeof k);
	}
	rc = 0;
done:
	mbedtls_pk_free(&pk);
	return rc;
}

static int seccert_collect_hw_keys(const struct seccert_spec *s, struct seccert_output *out,
				   struct ds_params *ds, err_t *e)
{
	for (size_t i = 0; i < s->count; i++) {
		const struct seccert_item *it = &s->items[i];
		if (it->type != SECCERT_TYPE_PRIV_KEY || it->key_kind == SECCERT_KEY_PLAINTEXT)
			continue;
		if (out->hw_count == SECCERT_MAX_HW_KEYS)
			return err_set_msg(e, ERR_CHECK, "more than %d hardware keys requested",
					   SECCERT_MAX_HW_KEYS);
		struct seccert_hw_key *hw = &out->hw[out->hw_count];
		if (seccert_prepare_hw_key(s, it, hw, &ds[out->hw_count], e))
			return -1;
		for (size_t j = 0; j < out->hw_count; j++)
			if (out->hw[j].efuse_key_id == hw->efuse_key_id)
				return err_set_msg(e, ERR_CHECK, "%s: eFuse BLOCK_KEY%u is already used by "
						   "another key", it->source, hw->efuse_key_id);
		out->hw_count++;
	}
	return 0;
}

int seccert_build_tlv(const struct seccert_spec *s, struct seccert_output *out, err_t *e)
{
	memset(out, 0, sizeof *out);
	struct ds_params *ds = mem_alloc_zeroed(SECCERT_MAX_HW_KEYS * sizeof *ds);
	struct seccert_writer w;
	seccert_writer_init(&w, s->partition_size);
	buf_t value = BUF_INIT;
	int rc = -1;
	if (seccert_collect_hw_keys(s, out, ds, e))
		goto done;
	/* The tool writes the DS/SEC_CFG entries first, in the order of their keys. */
	for (size_t i = 0; i < out->hw_count; i++) {
		const struct seccert_hw_key *hw = &out->hw[i];
		if (hw->kind == SECCERT_KEY_RSA_DS) {
			uint8_t ctx[DS_CONTEXT_LEN];
			value.len = 0;
			ds_encode_data(&ds[i], &value);
			ds_encode_context(hw->efuse_key_id, hw->rsa_bits, ctx);
			if (seccert_writer_add(&w, SECCERT_TYPE_DS_DATA, hw->subtype, 0, value.data,
					       value.len, e) ||
			    seccert_writer_add(&w, SECCERT_TYPE_DS_CONTEXT, hw->subtype, 0, ctx, sizeof ctx,
					       e))
				goto done;
		} else {
			uint8_t cfg[ECDSA_EFUSE_SEC_CFG_LEN];
			ecdsa_efuse_encode_sec_cfg(hw->efuse_key_id, cfg);
			if (seccert_writer_add(&w, SECCERT_TYPE_SEC_CFG, hw->subtype, 0, cfg, sizeof cfg, e))
				goto done;
		}
	}
	for (size_t i = 0; i < s->count; i++) {
		const struct seccert_item *it = &s->items[i];
		uint8_t flags = 0;
		value.len = 0;
		if (it->type == SECCERT_TYPE_CA_CERT || it->type == SECCERT_TYPE_DEV_CERT) {
			if (seccert_encode_cert_item(it, &value, e))
				goto done;
		} else if (it->type == SECCERT_TYPE_PRIV_KEY) {
			if (it->key_kind == SECCERT_KEY_RSA_DS)
				continue; /* represented by DS_DATA + DS_CONTEXT */
			if (it->key_kind == SECCERT_KEY_ECDSA_PERIPHERAL)
				flags = SECCERT_FLAG_ECDSA_PERIPHERAL;
			if (flags && s->ecdsa_key_placeholder) {
				/* Firmware reads only the flags; the key itself stays in eFuse. */
			} else if (seccert_encode_key_item(s, it, &value, e))
				goto done;
		} else {
			buf_append_bytes(&value, it->data.data, it->data.len);
		}
		if (seccert_writer_add(&w, it->type, it->subtype, flags, value.data, value.len, e)) {
			err_prepend_context(e, "%s", it->source);
			goto done;
		}
	}
	if (!s->no_integrity && seccert_writer_add_integrity(&w, 0, e))
		goto done;
	out->image = w.image;
	memset(&w.image, 0, sizeof w.image);
	rc = 0;
done:
	if (rc)
		seccert_output_free(out);
	buf_wipe_data(&value);
	seccert_writer_free(&w);
	mbedtls_platform_zeroize(ds, SECCERT_MAX_HW_KEYS * sizeof *ds);
	free(ds);
	return rc;
}

/* Legacy layout (esp_secure_cert_config.h): metadata at 0, dev cert at 0x40 (2048), CA cert at
 * 0x840 (4096), key at 0x1840 (4096) or DS ciphertext there with the IV one slot (C + 16) later. */
static int seccert_legacy_put(buf_t *img, size_t off, size_t slot, const buf_t *v, const char *what,
			      err_t *e)
{
	if (v->len > slot)
		return err_set_msg(e, ERR_CHECK, "%s of %zu bytes does not fit its %zu-byte legacy slot",
				   what, v->len, slot);
	memcpy(img->data + off, v->data, v->len);
	return 0;
}

int seccert_build_legacy(const struct seccert_spec *s, struct seccert_output *out, err_t *e)
{
	memset(out, 0, sizeof *out);
	const struct seccert_item *dev = NULL, *ca = NULL, *key = NULL;
	for (size_t i = 0; i < s->count; i++) {
		const struct seccert_item *it = &s->items[i];
		if (it->subtype == 0 && it->type == SECCERT_TYPE_DEV_CERT)
			dev = it;
		else if (it->subtype == 0 && it->type == SECCERT_TYPE_CA_CERT)
			ca = it;
		else if (it->subtype == 0 && it->type == SECCERT_TYPE_PRIV_KEY)
			key = it;
		else
			return err_set_msg(e, ERR_USAGE,
					   "%s: the legacy cust_flash format holds only a device "
					   "certificate, a CA certificate and one private key",
					   it->source);
	}
	if (!dev || !key)
		return err_set_msg(e, ERR_USAGE,
				   "the legacy cust_flash format needs a device certificate and a private key");
	if (key->key_kind == SECCERT_KEY_ECDSA_PERIPHERAL)
		return err_set_msg(e, ERR_USAGE,
				   "the legacy cust_flash format has no ECDSA-peripheral key; use cust_flash_tlv");
	size_t size = s->partition_size ? s->partition_size : SECCERT_LEGACY_PARTITION_SIZE;
	if (size < SECCERT_LEGACY_PARTITION_SIZE)
		return err_set_msg(e, ERR_CHECK, "the legacy format needs a 0x6000-byte partition");
	buf_t v = BUF_INIT;
	struct ds_params *ds = mem_alloc_zeroed(sizeof *ds);
	int rc = -1;
	buf_append_fill(&out->image, 0xFF, size);
	uint8_t *m = out->image.data;
	memset(m, 0, 64);
	if (seccert_encode_cert_item(dev, &v, e) ||
	    seccert_legacy_put(&out->image, 0x40, 2048, &v, "device certificate", e))
		goto done;
	checksum_write_u32le(m, checksum_crc32_esp(v.data, v.len));
	checksum_write_u16le(m + 4, (uint16_t)v.len);
	if (ca) {
		if (seccert_encode_cert_item(ca, &v, e) ||
		    seccert_legacy_put(&out->image, 0x840, 4096, &v, "CA certificate", e))
			goto done;
		checksum_write_u32le(m + 8, checksum_crc32_esp(v.data, v.len));
		checksum_write_u16le(m + 12, (uint16_t)v.len);
	}
	if (key->key_kind == SECCERT_KEY_PLAINTEXT) {
		if (seccert_encode_key_item(s, key, &v, e) ||
		    seccert_legacy_put(&out->image, 0x1840, 4096, &v, "private key", e))
			goto done;
		checksum_write_u32le(m + 16, checksum_crc32_esp(v.data, v.len));
		checksum_write_u16le(m + 20, (uint16_t)v.len);
		checksum_write_u32le(m + 24, SECCERT_LEGACY_MAGIC_WORD);
	} else {
		struct seccert_hw_key *hw = &out->hw[0];
		if (seccert_prepare_hw_key(s, key, hw, ds, e))
			goto done;
		out->hw_count = 1;
		memcpy(m + 0x1840, ds->c, ds->c_len);
		memcpy(m + 0x1840 + ds->c_len + 16, ds->iv, DS_IV_LEN);
		checksum_write_u32le(m + 16, checksum_crc32_esp(ds->c, ds->c_len));
		checksum_write_u16le(m + 20, (uint16_t)ds->c_len);
		checksum_write_u32le(m + 24, checksum_crc32_esp(ds->iv, DS_IV_LEN));
		checksum_write_u16le(m + 28, DS_IV_LEN);
		checksum_write_u16le(m + 30, (uint16_t)ds->rsa_bits);
		m[32] = (uint8_t)hw->efuse_key_id;
		checksum_write_u32le(m + 36, SECCERT_LEGACY_MAGIC_WORD);
	}
	rc = 0;
done:
	if (rc)
		seccert_output_free(out);
	buf_wipe_data(&v);
	mbedtls_platform_zeroize(ds, sizeof *ds);
	free(ds);
	return rc;
}
