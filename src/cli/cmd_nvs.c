/* espfab nvs: the NVS partition generator's command line (generate, generate-key, encrypt,
 * decrypt with its options and output placement) plus `dump` to decode a partition. */
#include <errno.h>
#include <jansson.h>
#include <mbedtls/platform_util.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "core/buf.h"
#include "core/fileio.h"
#include "core/pyint.h"
#include "crypto/nvs_crypt.h"
#include "formats/nvs.h"
#include "formats/nvs_csv.h"
#include "formats/nvs_read.h"
#include "formats/nvs_write.h"

#define NVS_CLI_MAX_POS 64

struct nvs_cli_opt {
	const char *name; /* without the leading dashes */
	bool takes_value;
	const char *value;
	bool set;
};

struct nvs_cli_args {
	struct nvs_cli_opt *opts;
	size_t nopts;
	const char *pos[NVS_CLI_MAX_POS];
	size_t npos;
	bool help;
};

static struct nvs_cli_opt *nvs_cli_find_opt(struct nvs_cli_args *a, const char *name, size_t n,
					    err_t *e)
{
	struct nvs_cli_opt *hit = NULL;
	int matches = 0;
	for (size_t i = 0; i < a->nopts; i++) {
		const char *o = a->opts[i].name;
		if (strlen(o) == n && strncmp(o, name, n) == 0)
			return &a->opts[i];
		if (strncmp(o, name, n) == 0) {
			hit = &a->opts[i];
			matches++;
		}
	}
	/* argparse accepts any unambiguous prefix of a long option. */
	if (matches == 1)
		return hit;
	if (matches > 1)
		err_set_msg(e, ERR_USAGE, "ambiguous option: --%.*s", (int)n, name);
	else
		err_set_msg(e, ERR_USAGE, "unrecognized argument: --%.*s", (int)n, name);
	return NULL;
}

static int nvs_cli_parse_args(int argc, char **argv, struct nvs_cli_args *a, err_t *e)
{
	bool only_pos = false;
	for (int i = 0; i < argc; i++) {
		const char *s = argv[i];
		if (!only_pos && strcmp(s, "--") == 0) {
			only_pos = true;
			continue;
		}
		if (!only_pos && (strcmp(s, "-h") == 0 || strcmp(s, "--help") == 0)) {
			a->help = true;
			continue;
		}
		if (!only_pos && s[0] == '-' && s[1] == '-' && s[2]) {
			const char *eq = strchr(s + 2, '=');
			size_t n = eq ? (size_t)(eq - s - 2) : strlen(s + 2);
			struct nvs_cli_opt *o = nvs_cli_find_opt(a, s + 2, n, e);
			if (!o)
				return -1;
			if (!o->takes_value) {
				if (eq)
					return err_set_msg(e, ERR_USAGE,
							   "argument --%s: ignored explicit argument "
							   "'%s'", o->name, eq + 1);
				o->set = true;
				continue;
			}
			if (eq) {
				o->value = eq + 1;
			} else {
				if (i + 1 >= argc || (argv[i + 1][0] == '-' && argv[i + 1][1]))
					return err_set_msg(e, ERR_USAGE,
							   "argument --%s: expected one argument",
							   o->name);
				o->value = argv[++i];
			}
			o->set = true;
			continue;
		}
		if (!only_pos && s[0] == '-' && s[1] && !(s[1] >= '0' && s[1] <= '9'))
			return err_set_msg(e, ERR_USAGE, "unrecognized argument: %s", s);
		if (a->npos >= NVS_CLI_MAX_POS)
			return err_set_msg(e, ERR_USAGE, "too many arguments");
		a->pos[a->npos++] = s;
	}
	return 0;
}

static struct nvs_cli_opt *nvs_cli_opt(struct nvs_cli_args *a, const char *name)
{
	for (size_t i = 0; i < a->nopts; i++)
		if (strcmp(a->opts[i].name, name) == 0)
			return &a->opts[i];
	return NULL;
}

static const char *nvs_cli_value(struct nvs_cli_args *a, const char *name)
{
	struct nvs_cli_opt *o = nvs_cli_opt(a, name);
	return o && o->set ? o->value : NULL;
}

static bool nvs_cli_flag(struct nvs_cli_args *a, const char *name)
{
	struct nvs_cli_opt *o = nvs_cli_opt(a, name);
	return o && o->set;
}

/* os.path.splitext's extension: from the last dot of the last component, unless that dot only
 * starts the name. */
static const char *nvs_cli_extension(const char *path)
{
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	while (*base == '.')
		base++;
	const char *dot = strrchr(base, '.');
	return dot ? dot : "";
}

static int nvs_cli_check_bin(const char *path, err_t *e)
{
	if (!strstr(nvs_cli_extension(path), ".bin"))
		return err_set_msg(e, ERR_USAGE, "`%s`: only the `.bin` extension is allowed", path);
	return 0;
}

/* The generator's set_target_filepath: <outdir>/<file>, .bin added when there is no extension,
 * an absolute file ignores outdir. */
static int nvs_cli_target_path(const char *outdir, const char *file, char *out, size_t n,
			       err_t *e)
{
	char name[4096];
	const char *ext = nvs_cli_extension(file);
	if (!*ext)
		snprintf(name, sizeof name, "%s.bin", file);
	else if (!strstr(ext, ".bin"))
		return err_set_msg(e, ERR_USAGE, "`%s`: only the `.bin` extension is allowed", file);
	else
		snprintf(name, sizeof name, "%s", file);
	char dir[4096] = "";
	if (outdir && outdir[0] == '~' && (outdir[1] == '/' || !outdir[1]) && getenv("HOME"))
		snprintf(dir, sizeof dir, "%s%s", getenv("HOME"), outdir + 1);
	else if (outdir)
		snprintf(dir, sizeof dir, "%s", outdir);
	fileio_join_path(out, n, dir, name);
	return 0;
}

/* Creates the folder of path, then writes the file atomically. */
static int nvs_cli_write_output(const char *path, const void *data, size_t len, mode_t mode,
				err_t *e)
{
	char dir[4096];
	snprintf(dir, sizeof dir, "%s", path);
	char *slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		if (fileio_make_dirs(dir, 0755, e))
			return -1;
	}
	return fileio_write_atomic(path, data, len, mode, e);
}

static int nvs_cli_read_key_file(const char *path, uint8_t key[NVS_CRYPT_KEY_LEN], err_t *e)
{
	buf_t b = BUF_INIT;
	int rc = fileio_read_secret(path, &b, e);
	if (rc == 0)
		rc = nvs_crypt_parse_keys_partition(b.data, b.len, key, NULL, e);
	if (rc)
		err_prepend_context(e, "%s", path);
	buf_wipe_data(&b);
	return rc;
}

static void nvs_cli_print_help(const char *sub)
{
	if (!sub || !strcmp(sub, "nvs")) {
		printf("usage: espfab nvs {generate,generate-key,encrypt,decrypt,dump} ...\n"
		       "  generate INPUT.csv [INPUT.csv ...] OUTPUT.bin SIZE [--version {1,2}] "
		       "[--outdir DIR]\n"
		       "  generate-key [--keyfile F] [--outdir DIR] [--key_protect_hmac] "
		       "[--kp_hmac_keygen]\n"
		       "               [--kp_hmac_keyfile F] [--kp_hmac_inputkey F] "
		       "[--inputkey KEY.bin]\n"
		       "  encrypt INPUT.csv [...] OUTPUT.bin SIZE [--version {1,2}] "
		       "(--keygen | --inputkey KEYS.bin)\n"
		       "          [--keyfile F] [--outdir DIR] [--key_protect_hmac] "
		       "[--kp_hmac_keygen]\n"
		       "          [--kp_hmac_keyfile F] [--kp_hmac_inputkey F]\n"
		       "  decrypt INPUT.bin KEYS.bin OUTPUT.bin [--outdir DIR]\n"
		       "  dump PARTITION.bin [--json] [--keyfile KEYS.bin]\n");
		return;
	}
	printf("usage: espfab nvs %s ... (see `espfab nvs --help`)\n", sub);
}

/* Writes the keys partition (and a generated HMAC key) as the generator's generate_key does:
 * under <keys_base>/keys/. Returns the XTS key in key (kept as given when have_key). */
static int nvs_cli_make_keys(struct nvs_cli_args *a, const char *keys_base, bool have_key,
			     uint8_t key[NVS_CRYPT_KEY_LEN], char *keys_path, size_t keys_path_n,
			     uint8_t *hmac_key, size_t *hmac_len, char *hmac_path, size_t hmac_path_n,
			     err_t *e)
{
	char keyfile[1024];
	const char *kf = nvs_cli_value(a, "keyfile");
	if (kf) {
		snprintf(keyfile, sizeof keyfile, "%s", kf);
	} else {
		time_t now = time(NULL);
		struct tm tm;
		localtime_r(&now, &tm);
		strftime(keyfile, sizeof keyfile, "keys-%m-%d_%H-%M.bin", &tm);
	}
	char keys_dir[4096], base[4096] = "";
	if (keys_base && keys_base[0] == '~' && (keys_base[1] == '/' || !keys_base[1]) &&
	    getenv("HOME"))
		snprintf(base, sizeof base, "%s%s", getenv("HOME"), keys_base + 1);
	else if (keys_base)
		snprintf(base, sizeof base, "%s", keys_base);
	fileio_join_path(keys_dir, sizeof keys_dir, base, "keys");
	if (nvs_cli_target_path(keys_dir, keyfile, keys_path, keys_path_n, e))
		return -1;
	*hmac_len = 0;
	hmac_path[0] = '\0';
	if (nvs_cli_flag(a, "key_protect_hmac")) {
		if (nvs_cli_flag(a, "kp_hmac_keygen")) {
			if (nvs_crypt_generate_key(hmac_key, 32, e))
				return -1;
			*hmac_len = 32;
			char hname[1100];
			const char *hk = nvs_cli_value(a, "kp_hmac_keyfile");
			snprintf(hname, sizeof hname, "%s%s", hk ? "" : "hmac-", hk ? hk : keyfile);
			if (nvs_cli_target_path(keys_dir, hname, hmac_path, hmac_path_n, e))
				return -1;
		} else {
			const char *in = nvs_cli_value(a, "kp_hmac_inputkey");
			if (!in)
				return err_set_msg(e, ERR_USAGE,
						   "HMAC key input file (HMAC-based encryption "
						   "scheme) missing: give --kp_hmac_inputkey or "
						   "--kp_hmac_keygen");
			buf_t b = BUF_INIT;
			if (fileio_read_secret(in, &b, e)) {
				buf_wipe_data(&b);
				return -1;
			}
			if (b.len > 256) {
				buf_wipe_data(&b);
				return err_set_msg(e, ERR_CHECK, "%s: an HMAC key file of %zu bytes "
						   "is not plausible", in, b.len);
			}
			if (b.len)
				memcpy(hmac_key, b.data, b.len);
			*hmac_len = b.len;
			buf_wipe_data(&b);
			int rc = nvs_crypt_derive_hmac_keys(hmac_key, *hmac_len, key, e);
			*hmac_len = 0; /* read, not generated: nothing to write */
			return rc;
		}
		return nvs_crypt_derive_hmac_keys(hmac_key, *hmac_len, key, e);
	}
	if (have_key)
		return 0;
	return nvs_crypt_generate_key(key, NVS_CRYPT_KEY_LEN, e);
}

static int nvs_cli_write_keys(const uint8_t key[NVS_CRYPT_KEY_LEN], const char *keys_path,
			      const uint8_t *hmac_key, size_t hmac_len, const char *hmac_path,
			      err_t *e)
{
	if (hmac_len) {
		if (nvs_cli_write_output(hmac_path, hmac_key, hmac_len, FILEIO_MODE_SECRET, e))
			return -1;
		printf("Created HMAC key: ===> %s\n", hmac_path);
	}
	uint8_t part[NVS_CRYPT_KEYS_PART_LEN];
	nvs_crypt_make_keys_partition(key, part);
	int rc = nvs_cli_write_output(keys_path, part, sizeof part, FILEIO_MODE_SECRET, e);
	mbedtls_platform_zeroize(part, sizeof part);
	if (rc == 0)
		printf("Created encryption keys: ===> %s\n", keys_path);
	return rc;
}

static int nvs_cli_generate(int argc, char **argv, bool encrypt, err_t *e)
{
	struct nvs_cli_opt opts[] = {
		{"version", true, NULL, false},        {"outdir", true, NULL, false},
		{"keygen", false, NULL, false},        {"keyfile", true, NULL, false},
		{"inputkey", true, NULL, false},       {"key_protect_hmac", false, NULL, false},
		{"kp_hmac_keygen", false, NULL, false}, {"kp_hmac_keyfile", true, NULL, false},
		{"kp_hmac_inputkey", true, NULL, false},
	};
	struct nvs_cli_args a = {opts, encrypt ? sizeof opts / sizeof opts[0] : 2, {0}, 0, false};
	if (nvs_cli_parse_args(argc, argv, &a, e))
		return ERR_USAGE;
	if (a.help) {
		nvs_cli_print_help("nvs");
		return 0;
	}
	if (a.npos < 3)
		return err_set_msg(e, ERR_USAGE, "the following arguments are required: input, "
				   "output, size"), ERR_USAGE;
	const char *output = a.pos[a.npos - 2], *size_s = a.pos[a.npos - 1];
	size_t ninputs = a.npos - 2;
	int version = 2;
	const char *vs = nvs_cli_value(&a, "version");
	if (vs) {
		/* argparse type=int, choices=[1, 2]: int(s) forms such as " 2" or "02" count. */
		int64_t v;
		if (pyint_parse(vs, 10, &v) || (v != 1 && v != 2))
			return err_set_msg(e, ERR_USAGE, "argument --version: invalid choice: '%s' "
					   "(choose from 1, 2)", vs), ERR_USAGE;
		version = (int)v;
	}
	uint32_t size;
	bool read_only;
	/* The tool reads the size with int(s, 0). */
	int64_t size64;
	if (pyint_parse(size_s, 0, &size64) || size64 < 0 || size64 > UINT32_MAX) {
		err_set_msg(e, ERR_USAGE, "size: '%s' is not a partition size", size_s);
		return ERR_USAGE;
	}
	size = (uint32_t)size64;
	if (nvs_write_check_size(size, &read_only, e))
		return ERR_CHECK;

	uint8_t key[NVS_CRYPT_KEY_LEN], hmac_key[256];
	size_t hmac_len = 0;
	char keys_path[4096] = "", hmac_path[4096] = "";
	bool keygen = encrypt && nvs_cli_flag(&a, "keygen");
	const char *inputkey = encrypt ? nvs_cli_value(&a, "inputkey") : NULL;
	if (encrypt) {
		if (!keygen && !inputkey)
			return err_set_msg(e, ERR_USAGE, "--keygen or --inputkey argument needed"),
			       ERR_USAGE;
		if (keygen && inputkey)
			return err_set_msg(e, ERR_USAGE,
					   "--keygen and --inputkey both are not allowed"),
			       ERR_USAGE;
		if (!keygen && nvs_cli_value(&a, "keyfile"))
			fprintf(stderr, "espfab nvs: warning: --inputkey is given; --keyfile is "
				"ignored\n");
		if (inputkey) {
			if (nvs_cli_check_bin(inputkey, e))
				return ERR_USAGE;
			if (nvs_cli_read_key_file(inputkey, key, e))
				return ERR_CHECK;
		}
	}
	if (nvs_cli_check_bin(output, e))
		return ERR_USAGE;
	char out_path[4096];
	const char *outdir = nvs_cli_value(&a, "outdir");
	if (nvs_cli_target_path(outdir, output, out_path, sizeof out_path, e))
		return ERR_USAGE;
	int rc = ERR_CHECK;
	if (keygen) {
		/* The generator puts keys/ under the output folder, or under the working
		 * folder when the output path is absolute. */
		const char *keys_base = output[0] == '/' ? NULL : outdir;
		int r = nvs_cli_make_keys(&a, keys_base, false, key, keys_path, sizeof keys_path,
					  hmac_key, &hmac_len, hmac_path, sizeof hmac_path, e);
		if (r)
			goto out_wipe;
	}

	struct nvs_list list;
	nvs_list_init(&list);
	buf_t img = BUF_INIT;
	if (nvs_csv_parse_files((const char *const *)a.pos, ninputs, NULL, &list, e) ||
	    nvs_write_partition(&list, size, version, &img, e))
		goto out;
	if (read_only)
		printf("Minimum partition size for read/write NVS is 0x3000 bytes. Partitions "
		       "smaller than this must be flagged as \"readonly\" in the partition table "
		       "CSV.\n");
	printf("Creating NVS binary with version: %s\n",
	       version == 1 ? "V1 - Multipage Blob Support Disabled"
			    : "V2 - Multipage Blob Support Enabled");
	if (encrypt && nvs_crypt_encrypt_partition(img.data, img.len, key, e))
		goto out;
	if (keygen && nvs_cli_write_keys(key, keys_path, hmac_key, hmac_len, hmac_path, e))
		goto out;
	if (nvs_cli_write_output(out_path, img.data, img.len, FILEIO_MODE_PUBLIC, e))
		goto out;
	printf("Created NVS binary: ===> %s\n", out_path);
	rc = 0;
out:
	nvs_list_free(&list);
	buf_wipe_data(&img);
out_wipe:
	mbedtls_platform_zeroize(key, sizeof key);
	mbedtls_platform_zeroize(hmac_key, sizeof hmac_key);
	return rc;
}

static int nvs_cli_generate_key(int argc, char **argv, err_t *e)
{
	struct nvs_cli_opt opts[] = {
		{"keyfile", true, NULL, false},         {"outdir", true, NULL, false},
		{"key_protect_hmac", false, NULL, false}, {"kp_hmac_keygen", false, NULL, false},
		{"kp_hmac_keyfile", true, NULL, false}, {"kp_hmac_inputkey", true, NULL, false},
		/* espfab extension: wrap an existing 64-byte key (or keys partition) */
		{"inputkey", true, NULL, false},
	};
	struct nvs_cli_args a = {opts, sizeof opts / sizeof opts[0], {0}, 0, false};
	if (nvs_cli_parse_args(argc, argv, &a, e))
		return ERR_USAGE;
	if (a.help) {
		nvs_cli_print_help("nvs");
		return 0;
	}
	if (a.npos)
		return err_set_msg(e, ERR_USAGE, "unrecognized argument: %s", a.pos[0]), ERR_USAGE;
	uint8_t key[NVS_CRYPT_KEY_LEN], hmac_key[256];
	size_t hmac_len = 0;
	char keys_path[4096], hmac_path[4096];
	int rc = ERR_CHECK;
	const char *inputkey = nvs_cli_value(&a, "inputkey");
	if (inputkey && nvs_cli_flag(&a, "key_protect_hmac"))
		return err_set_msg(e, ERR_USAGE, "--inputkey and --key_protect_hmac exclude each "
				   "other"), ERR_USAGE;
	if (inputkey) {
		if (nvs_cli_read_key_file(inputkey, key, e))
			return ERR_CHECK;
		struct nvs_cli_opt *o = nvs_cli_opt(&a, "inputkey");
		o->set = false;
	}
	if (nvs_cli_make_keys(&a, nvs_cli_value(&a, "outdir"), inputkey != NULL, key, keys_path,
			      sizeof keys_path, hmac_key, &hmac_len, hmac_path, sizeof hmac_path,
			      e) == 0 &&
	    nvs_cli_write_keys(key, keys_path, hmac_key, hmac_len, hmac_path, e) == 0)
		rc = 0;
	mbedtls_platform_zeroize(key, sizeof key);
	mbedtls_platform_zeroize(hmac_key, sizeof hmac_key);
	return rc ? (e->code ? e->code : rc) : 0;
}

static int nvs_cli_decrypt(int argc, char **argv, err_t *e)
{
	struct nvs_cli_opt opts[] = {{"outdir", true, NULL, false}};
	struct nvs_cli_args a = {opts, 1, {0}, 0, false};
	if (nvs_cli_parse_args(argc, argv, &a, e))
		return ERR_USAGE;
	if (a.help) {
		nvs_cli_print_help("nvs");
		return 0;
	}
	if (a.npos != 3)
		return err_set_msg(e, ERR_USAGE, "decrypt takes INPUT KEY OUTPUT (%zu given)",
				   a.npos), ERR_USAGE;
	for (int i = 0; i < 3; i++)
		if (nvs_cli_check_bin(a.pos[i], e))
			return ERR_USAGE;
	uint8_t key[NVS_CRYPT_KEY_LEN];
	if (nvs_cli_read_key_file(a.pos[1], key, e))
		return ERR_CHECK;
	char out_path[4096];
	buf_t img = BUF_INIT;
	int rc = ERR_CHECK;
	if (nvs_cli_target_path(nvs_cli_value(&a, "outdir"), a.pos[2], out_path, sizeof out_path,
				e)) {
		rc = ERR_USAGE;
		goto out;
	}
	if (fileio_read_file(a.pos[0], &img, e))
		goto out;
	if (img.len % NVS_PAGE_SIZE || img.len == 0) {
		err_set_msg(e, ERR_CHECK, "%s: %zu bytes is not a whole number of 4096-byte pages",
			    a.pos[0], img.len);
		goto out;
	}
	if (nvs_crypt_decrypt_partition(img.data, img.len, key, e)) {
		err_prepend_context(e, "%s", a.pos[0]);
		goto out;
	}
	if (nvs_cli_write_output(out_path, img.data, img.len, FILEIO_MODE_PUBLIC, e))
		goto out;
	printf("Created NVS decrypted binary: ===> %s\n", out_path);
	rc = 0;
out:
	buf_wipe_data(&img);
	mbedtls_platform_zeroize(key, sizeof key);
	return rc;
}

/* Every problem in the message, as far as it holds them: the count says if some are cut. */
static void nvs_cli_name_problems(const char *path, const struct nvs_read_result *res, err_t *e)
{
	buf_t msg = BUF_INIT;
	char head[64];
	snprintf(head, sizeof head, ": %zu problem(s): ", res->problem_count);
	buf_append_str(&msg, path);
	buf_append_str(&msg, head);
	size_t room = sizeof e->msg - 48;
	size_t shown = 0;
	for (; shown < res->problem_count; shown++) {
		const char *p = res->problems[shown];
		if (msg.len + strlen(p) + 2 > room)
			break;
		if (shown)
			buf_append_str(&msg, "; ");
		buf_append_str(&msg, p);
	}
	if (shown < res->problem_count) {
		snprintf(head, sizeof head, "%s(and %zu more)", shown ? "; " : "",
			 res->problem_count - shown);
		buf_append_str(&msg, head);
	}
	buf_terminate_str(&msg);
	err_set_msg(e, ERR_CHECK, "%s", (const char *)msg.data);
	buf_free_data(&msg);
}

static int nvs_cli_dump(int argc, char **argv, err_t *e)
{
	struct nvs_cli_opt opts[] = {{"json", false, NULL, false}, {"keyfile", true, NULL, false}};
	struct nvs_cli_args a = {opts, 2, {0}, 0, false};
	if (nvs_cli_parse_args(argc, argv, &a, e))
		return ERR_USAGE;
	if (a.help) {
		nvs_cli_print_help("nvs");
		return 0;
	}
	if (a.npos != 1)
		return err_set_msg(e, ERR_USAGE, "dump takes one partition file"), ERR_USAGE;
	const char *path = a.pos[0];
	buf_t img = BUF_INIT;
	uint8_t key[NVS_CRYPT_KEY_LEN];
	bool have_key = false;
	int rc = ERR_CHECK;
	struct nvs_read_result res;
	memset(&res, 0, sizeof res);
	const char *kf = nvs_cli_value(&a, "keyfile");
	if (kf) {
		if (nvs_cli_read_key_file(kf, key, e))
			goto out;
		have_key = true;
	}
	if (fileio_read_file(path, &img, e))
		goto out;
	/* A truncated image still has its whole pages decrypted and decoded. */
	size_t whole = img.len - img.len % NVS_PAGE_SIZE;
	if (have_key && whole && nvs_crypt_decrypt_partition(img.data, whole, key, e)) {
		err_prepend_context(e, "%s", path);
		goto out;
	}
	if (nvs_read_partition(img.data, img.len, &res, e)) {
		err_prepend_context(e, "%s", path);
		goto out;
	}
	if (nvs_cli_flag(&a, "json")) {
		json_t *j = nvs_read_to_json(&res);
		char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		if (s)
			printf("%s\n", s);
		free(s);
		json_decref(j);
	} else {
		buf_t txt = BUF_INIT;
		nvs_read_format_listing(&res, &txt);
		fwrite(txt.data, 1, txt.len, stdout);
		buf_wipe_data(&txt);
	}
	if (res.problem_count) {
		nvs_cli_name_problems(path, &res, e);
		goto out;
	}
	rc = 0;
out:
	nvs_read_free(&res);
	buf_wipe_data(&img);
	mbedtls_platform_zeroize(key, sizeof key);
	return rc;
}

static int cmd_nvs_run(int argc, char **argv, err_t *e)
{
	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		nvs_cli_print_help("nvs");
		if (argc < 2)
			return err_set_msg(e, ERR_USAGE, "a command is needed"), ERR_USAGE;
		return 0;
	}
	const char *sub = argv[1];
	int rc;
	if (!strcmp(sub, "generate"))
		rc = nvs_cli_generate(argc - 2, argv + 2, false, e);
	else if (!strcmp(sub, "encrypt"))
		rc = nvs_cli_generate(argc - 2, argv + 2, true, e);
	else if (!strcmp(sub, "generate-key"))
		rc = nvs_cli_generate_key(argc - 2, argv + 2, e);
	else if (!strcmp(sub, "decrypt"))
		rc = nvs_cli_decrypt(argc - 2, argv + 2, e);
	else if (!strcmp(sub, "dump"))
		rc = nvs_cli_dump(argc - 2, argv + 2, e);
	else
		return err_set_msg(e, ERR_USAGE, "unknown command '%s' (generate, generate-key, "
				   "encrypt, decrypt, dump)", sub), ERR_USAGE;
	if (rc && e->code && e->code != rc)
		rc = e->code;
	return rc;
}

CLI_COMMAND(nvs, "nvs", 30, "generate|generate-key|encrypt|decrypt|dump NVS partitions",
	    cmd_nvs_run)
