/* `espfab seccert`: configure_esp_secure_cert.py's options on the host side (the partition image,
 * DS parameters, ECDSA eFuse key bytes; never a device), and `espfab seccert dump BIN` to decode
 * a partition without showing key material. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <mbedtls/platform_util.h>

#include "cli/cli.h"
#include "core/fileio.h"
#include "core/pyint.h"
#include "core/hex.h"
#include "formats/seccert.h"
#include "formats/seccert_build.h"
#include "formats/seccert_describe.h"

enum seccert_opt {
	OPT_PRIVKEY, OPT_PWD, OPT_DEVCERT, OPT_CACERT, OPT_TARGET, OPT_SUMMARY, OPT_TYPE,
	OPT_CONFIGURE_DS, OPT_SKIP_FLASH, OPT_EFUSE_KEY_ID, OPT_EFUSE_KEY_FILE, OPT_PORT,
	OPT_KEEP_DS, OPT_OFFSET, OPT_ALGO, OPT_CSV, OPT_PARSE_BIN, OPT_SECURE_SIGN,
	OPT_SIGN_SCHEME, OPT_SIGN_KEY, OPT_BIN_FILENAME, OPT_APPEND_INTEGRITY, OPT_OUTPUT,
	OPT_DS_IV, OPT_DATA_DIR, OPT_HELP, OPT_COUNT
};

struct seccert_optdef {
	const char *names[3];
	int nargs; /* 0 flag, 1 value, 2 two values, -1 one or more */
	enum seccert_opt id;
};

static const struct seccert_optdef seccert_opts[] = {
	{{"--private-key"}, 1, OPT_PRIVKEY},
	{{"--pwd", "--password"}, 1, OPT_PWD},
	{{"--device-cert"}, 1, OPT_DEVCERT},
	{{"--ca-cert"}, 1, OPT_CACERT},
	{{"--target_chip"}, 1, OPT_TARGET},
	{{"--summary"}, 0, OPT_SUMMARY},
	{{"--secure_cert_type"}, 1, OPT_TYPE},
	{{"--configure_ds"}, 0, OPT_CONFIGURE_DS},
	{{"--skip_flash"}, 0, OPT_SKIP_FLASH},
	{{"--efuse_key_id"}, 1, OPT_EFUSE_KEY_ID},
	{{"--efuse_key_file"}, 1, OPT_EFUSE_KEY_FILE},
	{{"--port", "-p"}, 1, OPT_PORT},
	{{"--keep_ds_data_on_host", "-keep_ds_data"}, 0, OPT_KEEP_DS},
	{{"--sec_cert_part_offset"}, 1, OPT_OFFSET},
	{{"--priv_key_algo"}, 2, OPT_ALGO},
	{{"--esp_secure_cert_csv", "--csv"}, 1, OPT_CSV},
	{{"--parse_bin"}, 1, OPT_PARSE_BIN},
	{{"--secure-sign"}, 0, OPT_SECURE_SIGN},
	{{"--signing-scheme"}, 1, OPT_SIGN_SCHEME},
	{{"--signing-key-file"}, -1, OPT_SIGN_KEY},
	{{"--esp-secure-cert-file"}, 1, OPT_BIN_FILENAME},
	{{"--append-integrity"}, 1, OPT_APPEND_INTEGRITY},
	{{"--output"}, 1, OPT_OUTPUT},
	{{"--ds-iv"}, 1, OPT_DS_IV},
	{{"--esp_secure_cert_data_dir", "--esp-secure-cert-data-dir"}, 1, OPT_DATA_DIR},
	{{"--help", "-h"}, 0, OPT_HELP},
};

struct seccert_args {
	bool set[OPT_COUNT];
	const char *val[OPT_COUNT];
	const char *val2[OPT_COUNT];
};

static const char *const seccert_targets[] = {
	"esp32", "esp32s2", "esp32c3", "esp32s3", "esp32c6", "esp32h2",
	"esp32p4", "esp32c5", "esp32c61", "esp32s31",
};

static void seccert_print_usage(FILE *f)
{
	fprintf(f,
		"usage: espfab seccert [--private-key KEY] [--pwd PASSWORD] [--device-cert CERT]\n"
		"                      [--ca-cert CERT] [--target_chip CHIP]\n"
		"                      [--secure_cert_type cust_flash_tlv|cust_flash]\n"
		"                      [--configure_ds --priv_key_algo RSA|ECDSA BITS --efuse_key_id K]\n"
		"                      [--efuse_key_file HMAC_KEY] [--esp_secure_cert_csv CSV]\n"
		"                      [--append-integrity BIN] [--parse_bin BIN]\n"
		"                      [--esp_secure_cert_data_dir DIR] [--output FILE] [--ds-iv HEX]\n"
		"                      [--skip_flash] [--port P] [--keep_ds_data_on_host]\n"
		"                      [--sec_cert_part_offset OFF]\n"
		"       espfab seccert dump BIN [--json]\n"
		"Writes DIR/esp_secure_cert.bin (DIR defaults to esp_secure_cert_data) and the eFuse key\n"
		"files; never talks to a device.\n");
}

/* Exact name, --name=value, or an unambiguous prefix of a long option, as argparse allows. */
static const struct seccert_optdef *seccert_match_opt(const char *arg, size_t n, err_t *e)
{
	const struct seccert_optdef *hit = NULL;
	int hits = 0;
	for (size_t i = 0; i < sizeof seccert_opts / sizeof seccert_opts[0]; i++)
		for (int k = 0; k < 3 && seccert_opts[i].names[k]; k++) {
			const char *nm = seccert_opts[i].names[k];
			if (strlen(nm) == n && strncmp(nm, arg, n) == 0)
				return &seccert_opts[i];
			if (strncmp(arg, "--", 2) == 0 && n > 2 && strncmp(nm, arg, n) == 0 &&
			    hit != &seccert_opts[i]) {
				hit = &seccert_opts[i];
				hits++;
			}
		}
	if (hits == 1)
		return hit;
	err_set_msg(e, ERR_USAGE, hits ? "ambiguous option '%.*s'" : "unknown option '%.*s'", (int)n,
		    arg);
	return NULL;
}

static int seccert_parse_args(int argc, char **argv, struct seccert_args *a, err_t *e)
{
	memset(a, 0, sizeof *a);
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];
		if (arg[0] != '-' || arg[1] == 0)
			return err_set_msg(e, ERR_USAGE, "unexpected argument '%s'", arg);
		const char *eq = strchr(arg, '=');
		size_t n = eq ? (size_t)(eq - arg) : strlen(arg);
		const struct seccert_optdef *d = seccert_match_opt(arg, n, e);
		if (!d)
			return -1;
		a->set[d->id] = true;
		if (d->nargs == 0) {
			if (eq)
				return err_set_msg(e, ERR_USAGE, "%s takes no value", d->names[0]);
			continue;
		}
		if (eq) {
			if (d->nargs == 2)
				return err_set_msg(e, ERR_USAGE, "%s needs two values", d->names[0]);
			a->val[d->id] = eq + 1;
			continue;
		}
		if (i + 1 >= argc)
			return err_set_msg(e, ERR_USAGE, "%s needs a value", d->names[0]);
		a->val[d->id] = argv[++i];
		if (d->nargs == 2) {
			if (i + 1 >= argc)
				return err_set_msg(e, ERR_USAGE, "%s needs two values", d->names[0]);
			a->val2[d->id] = argv[++i];
		} else if (d->nargs < 0) {
			while (i + 1 < argc && argv[i + 1][0] != '-')
				i++; /* further signing keys: only the option's presence matters */
		}
	}
	return 0;
}

/* The tool converts these with int(s): decimal, optional sign, spaces and underscores. */
static int seccert_parse_int(const char *s, const char *what, unsigned *out, err_t *e)
{
	int64_t v;
	if (pyint_parse(s, 10, &v) || v < 0 || v > UINT32_MAX)
		return err_set_msg(e, ERR_USAGE, "%s: '%s' is not a decimal number", what, s);
	*out = (unsigned)v;
	return 0;
}

static int seccert_read_input(const char *path, bool secret, buf_t *out, const char *what, err_t *e)
{
	int rc = secret ? fileio_read_secret(path, out, e) : fileio_read_file(path, out, e);
	if (rc)
		return err_prepend_context(e, "%s", what);
	return 0;
}

static int seccert_write_side_file(const char *dir, const char *name, const void *data, size_t len,
				   mode_t mode, char *path, size_t pathlen, err_t *e)
{
	fileio_join_path(path, pathlen, dir, name);
	return fileio_write_atomic(path, data, len, mode, e);
}

static bool seccert_image_has_key(const struct seccert_spec *s)
{
	for (size_t i = 0; i < s->count; i++)
		if (s->items[i].type == SECCERT_TYPE_PRIV_KEY &&
		    s->items[i].key_kind != SECCERT_KEY_RSA_DS)
			return true;
	return false;
}

static int seccert_fill_spec(const struct seccert_args *a, struct seccert_spec *s, err_t *e)
{
	buf_t data = BUF_INIT;
	int rc = -1;
	if (a->val[OPT_CACERT]) {
		if (seccert_read_input(a->val[OPT_CACERT], false, &data, "--ca-cert", e) ||
		    !seccert_spec_add_item(s, SECCERT_TYPE_CA_CERT, 0, data.data, data.len,
					   a->val[OPT_CACERT], e))
			goto done;
	}
	data.len = 0;
	if (a->val[OPT_DEVCERT]) {
		if (seccert_read_input(a->val[OPT_DEVCERT], false, &data, "--device-cert", e) ||
		    !seccert_spec_add_item(s, SECCERT_TYPE_DEV_CERT, 0, data.data, data.len,
					   a->val[OPT_DEVCERT], e))
			goto done;
	}
	if (a->set[OPT_CONFIGURE_DS] && !a->set[OPT_ALGO]) {
		err_set_msg(e, ERR_USAGE, "--configure_ds needs --priv_key_algo (RSA 2048, ECDSA 256, ...)");
		goto done;
	}
	if (a->val[OPT_PRIVKEY]) {
		buf_wipe_data(&data);
		if (seccert_read_input(a->val[OPT_PRIVKEY], true, &data, "--private-key", e))
			goto done;
		struct seccert_item *it = seccert_spec_add_item(s, SECCERT_TYPE_PRIV_KEY, 0, data.data,
								data.len, a->val[OPT_PRIVKEY], e);
		if (!it)
			goto done;
		if (a->set[OPT_ALGO]) {
			snprintf(it->algorithm, sizeof it->algorithm, "%s", a->val[OPT_ALGO]);
			for (char *p = it->algorithm; *p; p++)
				if (*p >= 'a' && *p <= 'z')
					*p = (char)(*p - 'a' + 'A');
			if (seccert_parse_int(a->val2[OPT_ALGO], "--priv_key_algo key size", &it->key_size, e))
				goto done;
		}
		if (a->set[OPT_CONFIGURE_DS]) {
			if (strcmp(it->algorithm, "RSA") == 0)
				it->key_kind = SECCERT_KEY_RSA_DS;
			else if (strcmp(it->algorithm, "ECDSA") == 0)
				it->key_kind = SECCERT_KEY_ECDSA_PERIPHERAL;
			else {
				err_set_msg(e, ERR_USAGE, "--priv_key_algo: '%s' is neither RSA nor ECDSA",
					    a->val[OPT_ALGO]);
				goto done;
			}
		}
		if (a->val[OPT_EFUSE_KEY_ID]) {
			unsigned id = 0;
			if (seccert_parse_int(a->val[OPT_EFUSE_KEY_ID], "--efuse_key_id", &id, e))
				goto done;
			if (id > 5) {
				err_set_msg(e, ERR_USAGE, "--efuse_key_id: %u is not in 0..5", id);
				goto done;
			}
			it->efuse_key_id = (int)id;
		}
		if (a->val[OPT_EFUSE_KEY_FILE]) {
			if (seccert_read_input(a->val[OPT_EFUSE_KEY_FILE], true, &it->hmac_key,
					       "--efuse_key_file", e))
				goto done;
			it->hmac_key_given = true;
			/* Checked here, where the file's name is known (the builder only knows the key's). */
			if (it->key_kind == SECCERT_KEY_RSA_DS && it->hmac_key.len != DS_HMAC_KEY_LEN) {
				err_set_msg(e, ERR_CHECK,
					    "--efuse_key_file %s: the eFuse HMAC key must be %d bytes (got %zu)",
					    a->val[OPT_EFUSE_KEY_FILE], DS_HMAC_KEY_LEN, it->hmac_key.len);
				goto done;
			}
		}
	}
	if (a->val[OPT_CSV] && seccert_spec_add_csv(s, a->val[OPT_CSV], e))
		goto done;
	rc = 0;
done:
	buf_wipe_data(&data);
	return rc;
}

static int seccert_append_integrity(const char *path, err_t *e)
{
	buf_t data = BUF_INIT;
	struct seccert_image img;
	struct seccert_writer w;
	seccert_writer_init(&w, SECCERT_TLV_PARTITION_SIZE);
	int rc = ERR_CHECK;
	if (fileio_read_file(path, &data, e))
		goto done;
	if (seccert_parse_image(data.data, data.len, SECCERT_PARSE_ALLOW_TRAILING, &img, e)) {
		err_prepend_context(e, "%s", path);
		seccert_image_free(&img);
		goto done;
	}
	int next = 0;
	for (size_t i = 0; i < img.count; i++)
		if (img.entries[i].type == SECCERT_TYPE_INTEGRITY && img.entries[i].subtype >= next)
			next = img.entries[i].subtype + 1;
	bool tlv = img.layout == SECCERT_LAYOUT_TLV && img.count > 0;
	size_t used = img.used_len;
	seccert_image_free(&img);
	if (!tlv) {
		err_set_msg(e, ERR_CHECK, "%s: no valid TLV entries found", path);
		goto done;
	}
	buf_append_bytes(&w.image, data.data, used);
	if (seccert_writer_add_integrity(&w, (unsigned)next, e))
		goto done;
	/* The tool overwrites in place and adds the FF FF 00 00 end marker when it still fits. */
	if (w.image.len + 4 <= SECCERT_TLV_PARTITION_SIZE)
		buf_append_u32le(&w.image, 0x0000FFFFu);
	if (data.len > w.image.len)
		buf_append_bytes(&w.image, data.data + w.image.len, data.len - w.image.len);
	if (fileio_write_atomic(path, w.image.data, w.image.len, FILEIO_MODE_SECRET, e))
		goto done;
	printf("Appended integrity TLV (subtype %d) to %s\n", next, path);
	rc = 0;
done:
	seccert_writer_free(&w);
	buf_wipe_data(&data);
	return rc;
}

static int seccert_run_dump(int argc, char **argv, err_t *e)
{
	const char *path = NULL;
	bool json = false;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			json = true;
		else if (argv[i][0] == '-' && argv[i][1])
			return err_set_msg(e, ERR_USAGE, "dump: unknown option '%s'", argv[i]);
		else if (!path)
			path = argv[i];
		else
			return err_set_msg(e, ERR_USAGE, "dump: only one file can be decoded");
	}
	if (!path)
		return err_set_msg(e, ERR_USAGE, "dump: usage: espfab seccert dump BIN [--json]");
	buf_t data = BUF_INIT;
	if (fileio_read_file(path, &data, e))
		return ERR_CHECK;
	struct seccert_image img;
	int rc = seccert_parse_image(data.data, data.len, 0, &img, e);
	buf_wipe_data(&data);
	/* A damaged partition still shows every entry that decodes, and lists each defect. */
	if (rc)
		err_prepend_context(e, "%s", path);
	json_t *desc = seccert_describe_image(&img);
	seccert_image_free(&img);
	if (json) {
		char *s = json_dumps(desc, JSON_INDENT(2));
		printf("%s\n", s);
		free(s);
	} else {
		buf_t text = BUF_INIT;
		seccert_format_text(desc, &text);
		fwrite(text.data, 1, text.len, stdout);
		buf_free_data(&text);
	}
	json_decref(desc);
	return rc ? ERR_CHECK : 0;
}

static int seccert_run_generate(const struct seccert_args *a, err_t *e)
{
	const char *chip = a->val[OPT_TARGET] ? a->val[OPT_TARGET] : "esp32c3";
	bool known = false;
	for (size_t i = 0; i < sizeof seccert_targets / sizeof seccert_targets[0]; i++)
		known = known || strcmp(chip, seccert_targets[i]) == 0;
	if (!known)
		return err_set_msg(e, ERR_USAGE, "--target_chip: '%s' is not a supported target", chip);
	const char *type = a->val[OPT_TYPE] ? a->val[OPT_TYPE] : "cust_flash_tlv";
	bool legacy = strcmp(type, "cust_flash") == 0;
	if (strcmp(type, "nvs") == 0)
		return err_set_msg(e, ERR_USAGE,
				   "--secure_cert_type nvs is not generated here; build the NVS form "
				   "with `espfab nvs generate`");
	if (!legacy && strcmp(type, "cust_flash_tlv") != 0)
		return err_set_msg(e, ERR_USAGE, "--secure_cert_type: '%s' is not cust_flash_tlv, "
				   "cust_flash or nvs", type);
	if (a->set[OPT_SECURE_SIGN])
		return err_set_msg(e, ERR_USAGE, "--secure-sign (signature block TLVs) is not supported");

	struct seccert_spec spec;
	seccert_spec_init(&spec, chip);
	spec.key_password = a->val[OPT_PWD];
	struct seccert_output out;
	memset(&out, 0, sizeof out);
	int rc = ERR_CHECK;
	if (a->val[OPT_DS_IV]) {
		buf_t iv = BUF_INIT;
		if (hex_decode_string(a->val[OPT_DS_IV], &iv, e) || iv.len != DS_IV_LEN) {
			if (iv.len != DS_IV_LEN)
				err_set_msg(e, ERR_USAGE, "--ds-iv: 16 bytes (32 hex digits) are needed");
			else
				err_prepend_context(e, "--ds-iv");
			buf_free_data(&iv);
			rc = ERR_USAGE;
			goto done;
		}
		memcpy(spec.ds_iv, iv.data, DS_IV_LEN);
		spec.ds_iv_fixed = true;
		buf_free_data(&iv);
	}
	if (seccert_fill_spec(a, &spec, e)) {
		rc = e->code ? e->code : ERR_CHECK;
		goto done;
	}
	if (spec.count == 0) {
		err_set_msg(e, ERR_USAGE, "nothing to write: give certificates and keys or a CSV");
		rc = ERR_USAGE;
		goto done;
	}
	if ((legacy ? seccert_build_legacy(&spec, &out, e) : seccert_build_tlv(&spec, &out, e))) {
		rc = e->code ? e->code : ERR_CHECK;
		goto done;
	}
	const char *dir = a->val[OPT_DATA_DIR] ? a->val[OPT_DATA_DIR] : "esp_secure_cert_data";
	if (fileio_make_dirs(dir, 0700, e))
		goto done;
	char path[4096];
	/* eFuse key material goes to disk before anything else, so no image exists without it. */
	bool hmac_written = false, ecdsa_written = false;
	for (size_t i = 0; i < out.hw_count; i++) {
		const struct seccert_hw_key *hw = &out.hw[i];
		char name[64];
		const char *keyfile = NULL;
		if (hw->kind == SECCERT_KEY_RSA_DS) {
			if (hw->hmac_generated) {
				if (hmac_written)
					snprintf(name, sizeof name, "hmac_key_BLOCK_KEY%u.bin", hw->efuse_key_id);
				else
					snprintf(name, sizeof name, "hmac_key.bin");
				if (seccert_write_side_file(dir, name, hw->efuse_block, 32, FILEIO_MODE_SECRET,
							    path, sizeof path, e))
					goto done;
				hmac_written = true;
				keyfile = path;
			} else {
				keyfile = a->val[OPT_EFUSE_KEY_FILE] ? a->val[OPT_EFUSE_KEY_FILE] : "<hmac key file>";
			}
		} else {
			if (ecdsa_written)
				snprintf(name, sizeof name, "ecdsa_key_BLOCK_KEY%u.bin", hw->efuse_key_id);
			else
				snprintf(name, sizeof name, "ecdsa_key.bin");
			if (seccert_write_side_file(dir, name, hw->ecdsa_scalar, hw->ecdsa_scalar_len,
						    FILEIO_MODE_SECRET, path, sizeof path, e))
				goto done;
			ecdsa_written = true;
			keyfile = path;
		}
		printf("eFuse: burn %s into BLOCK_KEY%u with purpose %s, e.g.\n"
		       "  espfab efuse --port PORT burn-key BLOCK_KEY%u %s %s --read-protect\n",
		       keyfile, hw->efuse_key_id, hw->purpose, hw->efuse_key_id, keyfile, hw->purpose);
	}
	mode_t mode = seccert_image_has_key(&spec) ? FILEIO_MODE_SECRET : FILEIO_MODE_PUBLIC;
	if (seccert_write_side_file(dir, "esp_secure_cert.bin", out.image.data, out.image.len, mode,
				    path, sizeof path, e))
		goto done;
	printf("Partition generated: %s (%zu bytes)\n", path, out.image.len);
	if (a->val[OPT_OUTPUT]) {
		if (fileio_write_atomic(a->val[OPT_OUTPUT], out.image.data, out.image.len, mode, e))
			goto done;
		printf("Partition written to %s\n", a->val[OPT_OUTPUT]);
	}
	if (a->set[OPT_PORT])
		printf("note: --port is ignored: espfab seccert never flashes; use espfab flash\n");
	printf("To flash: espfab flash --port PORT write %s %s\n",
	       a->val[OPT_OFFSET] ? a->val[OPT_OFFSET] : "0xD000", a->val[OPT_OUTPUT] ? a->val[OPT_OUTPUT] : path);
	rc = 0;
done:
	seccert_output_free(&out);
	seccert_spec_free(&spec);
	return rc;
}

static int seccert_dispatch(int argc, char **argv, err_t *e)
{
	if (argc > 1 && strcmp(argv[1], "dump") == 0)
		return seccert_run_dump(argc - 1, argv + 1, e);
	struct seccert_args a;
	if (seccert_parse_args(argc, argv, &a, e)) {
		seccert_print_usage(stderr);
		return ERR_USAGE;
	}
	if (a.set[OPT_HELP]) {
		seccert_print_usage(stdout);
		return 0;
	}
	if (a.set[OPT_SUMMARY])
		return err_set_msg(e, ERR_USAGE, "--summary needs a device: use `espfab efuse --port P summary`"),
		       ERR_USAGE;
	if (a.val[OPT_PARSE_BIN]) {
		char *dump_argv[] = {"dump", (char *)a.val[OPT_PARSE_BIN], NULL};
		return seccert_run_dump(2, dump_argv, e);
	}
	if (a.val[OPT_APPEND_INTEGRITY])
		return seccert_append_integrity(a.val[OPT_APPEND_INTEGRITY], e);
	return seccert_run_generate(&a, e);
}

static int cmd_seccert_run(int argc, char **argv, err_t *e)
{
	int rc = seccert_dispatch(argc, argv, e);
	/* Helpers return -1 with the exit class in e->code. */
	if (rc < 0)
		rc = e->code ? e->code : ERR_CHECK;
	return rc;
}

CLI_COMMAND(seccert, "seccert", 40, "esp_secure_cert partition (configure_esp_secure_cert options) | dump BIN",
	    cmd_seccert_run)
