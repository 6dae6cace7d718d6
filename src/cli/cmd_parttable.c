/* espfab parttable: the command line of ESP-IDF's gen_esp32part.py. The direction comes from the
 * input's content (binary magic or CSV text); OUTPUT '-' or omitted means stdout. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/argmatch.h"
#include "core/buf.h"
#include "core/fileio.h"
#include "core/pyint.h"
#include "formats/parttable.h"

static const char *const opt_offset[] = {"--offset", "-o", NULL};
static const char *const opt_flash[] = {"--flash-size", NULL};
static const char *const opt_secure_v[] = {"--secure", NULL};
static const char *const opt_pbl[] = {"--primary-bootloader-offset", NULL};
static const char *const opt_rbl[] = {"--recovery-bootloader-offset", NULL};

static void parttable_print_usage(FILE *f)
{
	fprintf(f, "usage: espfab parttable [--flash-size {1MB,2MB,4MB,8MB,16MB,32MB,64MB,128MB}] [--disable-md5sum]\n"
		   "                        [--no-verify] [--quiet] [--offset OFFSET] [--secure [{v1,v2}]]\n"
		   "                        [--primary-bootloader-offset OFF] [--recovery-bootloader-offset OFF]\n"
		   "                        [--extra-partition-subtypes 'TYPE, NAME, HEX' ...]\n"
		   "                        [--json] INPUT [OUTPUT]\n"
		   "  INPUT  partitions.csv or a binary table ('-' = stdin); the output is the other form\n"
		   "  OUTPUT file to write ('-' or omitted = stdout)\n"
		   "  --json prints the decoded table as JSON instead\n");
}

/* The tool's AnyIntType: int(s, 0). */
static int parttable_parse_any_int(const char *s, const char *what, uint32_t *out, err_t *e)
{
	int64_t v;
	if (pyint_parse(s, 0, &v) || v < 0 || v > UINT32_MAX)
		return err_set_msg(e, ERR_USAGE, "%s: '%s' is not a valid integer", what, s);
	*out = (uint32_t)v;
	return 0;
}

static int parttable_parse_flash_size(const char *s, uint64_t *out, err_t *e)
{
	static const char *const sizes[] = {"1MB", "2MB", "4MB", "8MB", "16MB", "32MB", "64MB", "128MB", NULL};
	for (int i = 0; sizes[i]; i++)
		if (!strcmp(s, sizes[i])) {
			*out = (uint64_t)1 << (20 + i);
			return 0;
		}
	return err_set_msg(e, ERR_USAGE,
			   "--flash-size: invalid choice '%s' (choose from 1MB, 2MB, 4MB, 8MB, 16MB, 32MB, 64MB, 128MB)", s);
}

static int parttable_read_input(const char *path, buf_t *b, err_t *e)
{
	if (strcmp(path, "-") != 0)
		return fileio_read_file(path, b, e);
	char tmp[4096];
	ssize_t n;
	while ((n = read(STDIN_FILENO, tmp, sizeof tmp)) > 0)
		buf_append_bytes(b, tmp, (size_t)n);
	if (n < 0)
		return err_set_msg(e, ERR_CHECK, "cannot read stdin");
	return 0;
}

static int cmd_parttable_run(int argc, char **argv, err_t *e)
{
	struct parttable_options o;
	parttable_default_options(&o);
	const char *pos[2] = {NULL, NULL};
	int npos = 0, json = 0, no_verify = 0, only_positional = 0;
	for (int i = 1; i < argc;) {
		const char *v = NULL;
		int m = 0;
		uint32_t n;
		const char *a = argv[i];
		if (only_positional || a[0] != '-' || !strcmp(a, "-")) {
			if (npos >= 2)
				return err_set_msg(e, ERR_USAGE, "unrecognized argument '%s'", a), ERR_USAGE;
			pos[npos++] = a;
			i++;
			continue;
		}
		if (!strcmp(a, "--")) {
			only_positional = 1;
			i++;
			continue;
		}
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			parttable_print_usage(stdout);
			return 0;
		}
		if (!strcmp(a, "--disable-md5sum")) {
			o.disable_md5 = 1;
		} else if (!strcmp(a, "--json")) {
			json = 1;
		} else if (!strcmp(a, "--no-verify")) {
			no_verify = 1;
		} else if (!strcmp(a, "--verify") || !strcmp(a, "-v") || !strcmp(a, "--quiet") || !strcmp(a, "-q")) {
			/* accepted for compatibility: verification is the default and espfab prints no status */
		} else if (!strcmp(a, "--extra-partition-subtypes")) {
			/* nargs='*': the entries that follow; each has commas, which keeps INPUT/OUTPUT
			 * from being swallowed. */
			while (i + 1 < argc && argv[i + 1][0] != '-' && strchr(argv[i + 1], ',')) {
				if (parttable_add_extra_subtype(&o, argv[i + 1], e))
					return ERR_USAGE;
				i++;
			}
		} else if (!strncmp(a, "--extra-partition-subtypes=", 27)) {
			if (parttable_add_extra_subtype(&o, a + 27, e))
				return ERR_USAGE;
		} else if (!strcmp(a, "--secure")) {
			o.secure = PARTTABLE_SECURE_V1;
			if (i + 1 < argc && (!strcmp(argv[i + 1], "v1") || !strcmp(argv[i + 1], "v2"))) {
				o.secure = !strcmp(argv[i + 1], "v2") ? PARTTABLE_SECURE_V2 : PARTTABLE_SECURE_V1;
				i++;
			}
		} else if ((m = argmatch_take_value(argc, argv, &i, opt_secure_v, &v, e)) > 0) {
			if (strcmp(v, "v1") && strcmp(v, "v2"))
				return err_set_msg(e, ERR_USAGE, "--secure: invalid choice '%s' (v1 or v2)", v), ERR_USAGE;
			o.secure = !strcmp(v, "v2") ? PARTTABLE_SECURE_V2 : PARTTABLE_SECURE_V1;
			continue;
		} else if (m == 0 && (m = argmatch_take_value(argc, argv, &i, opt_offset, &v, e)) > 0) {
			if (parttable_parse_any_int(v, "--offset", &n, e))
				return ERR_USAGE;
			o.table_offset = n;
			continue;
		} else if (m == 0 && (m = argmatch_take_value(argc, argv, &i, opt_flash, &v, e)) > 0) {
			if (parttable_parse_flash_size(v, &o.flash_size, e))
				return ERR_USAGE;
			continue;
		} else if (m == 0 && (m = argmatch_take_value(argc, argv, &i, opt_pbl, &v, e)) > 0) {
			if (parttable_parse_any_int(v, "--primary-bootloader-offset", &n, e))
				return ERR_USAGE;
			o.primary_bootloader_offset = n;
			o.has_primary_bootloader_offset = 1;
			continue;
		} else if (m == 0 && (m = argmatch_take_value(argc, argv, &i, opt_rbl, &v, e)) > 0) {
			if (parttable_parse_any_int(v, "--recovery-bootloader-offset", &n, e))
				return ERR_USAGE;
			o.recovery_bootloader_offset = n;
			o.has_recovery_bootloader_offset = 1;
			continue;
		} else if (m < 0) {
			return ERR_USAGE;
		} else {
			parttable_print_usage(stderr);
			return err_set_msg(e, ERR_USAGE, "unrecognized argument '%s'", a), ERR_USAGE;
		}
		i++;
	}
	if (!pos[0]) {
		parttable_print_usage(stderr);
		return err_set_msg(e, ERR_USAGE, "the following arguments are required: input"), ERR_USAGE;
	}
	const char *in_path = pos[0], *out_path = pos[1] ? pos[1] : "-";
	buf_t in = BUF_INIT, out = BUF_INIT;
	int rc = 0, out_binary = 0;
	if (parttable_read_input(in_path, &in, e)) {
		rc = ERR_CHECK;
		goto done;
	}
	if (no_verify) {
		/* Parse and render without the table checks (the tool's --no-verify). */
		struct parttable t;
		int bin = parttable_is_binary(in.data, in.len);
		if (bin ? parttable_decode_binary(in.data, in.len, &o, &t, e)
			: parttable_parse_csv((const char *)in.data, in.len, in_path, &o, &t, e)) {
			rc = ERR_CHECK;
			goto done;
		}
		if (json) {
			parttable_render_json(&t, &out);
		} else if (bin) {
			parttable_render_csv(&t, &o, &out);
		} else {
			buf_reserve_bytes(&out, PARTTABLE_BIN_SIZE);
			if (parttable_encode_binary(&t, &o, out.data, e)) {
				rc = ERR_CHECK;
				goto done;
			}
			out.len = PARTTABLE_BIN_SIZE;
			out_binary = 1;
		}
	} else if (parttable_convert(in.data, in.len, in_path, &o, json, &out, &out_binary, e)) {
		rc = ERR_CHECK;
		goto done;
	}
	if (!strcmp(out_path, "-")) {
		if (fwrite(out.data, 1, out.len, stdout) != out.len || fflush(stdout) != 0) {
			err_set_msg(e, ERR_CHECK, "cannot write to stdout");
			rc = ERR_CHECK;
		}
	} else {
		/* The tool creates the output's folder when it is missing. */
		char *dir = mem_strdup(out_path);
		char *slash = strrchr(dir, '/');
		if (slash && slash != dir) {
			*slash = '\0';
			if (fileio_make_dirs(dir, 0755, e))
				rc = ERR_CHECK;
		}
		free(dir);
		if (!rc && fileio_write_atomic(out_path, out.data, out.len, FILEIO_MODE_PUBLIC, e))
			rc = ERR_CHECK;
	}
	(void)out_binary;
done:
	buf_free_data(&in);
	buf_free_data(&out);
	return rc;
}

CLI_COMMAND(parttable, "parttable", 35, "partitions.csv <-> binary partition table (gen_esp32part)",
	    cmd_parttable_run)
