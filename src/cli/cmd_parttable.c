/* espfab parttable: the command line of ESP-IDF's gen_esp32part.py. The direction comes from the
 * input's content (binary magic or CSV text); OUTPUT '-' or omitted means stdout. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/argscan.h"
#include "core/buf.h"
#include "core/fileio.h"
#include "core/pyint.h"
#include "formats/parttable.h"

enum {
	PT_OPT_HELP = 1,
	PT_OPT_DISABLE_MD5,
	PT_OPT_JSON,
	PT_OPT_NO_VERIFY,
	PT_OPT_COMPAT,
	PT_OPT_EXTRA_SUBTYPES,
	PT_OPT_SECURE,
	PT_OPT_OFFSET,
	PT_OPT_FLASH_SIZE,
	PT_OPT_PBL,
	PT_OPT_RBL,
};

static const struct argscan_opt parttable_opts[] = {
	{"h|help", ARGSCAN_FLAG, PT_OPT_HELP},
	{"disable-md5sum", ARGSCAN_FLAG, PT_OPT_DISABLE_MD5},
	{"json", ARGSCAN_FLAG, PT_OPT_JSON},
	{"no-verify", ARGSCAN_FLAG, PT_OPT_NO_VERIFY},
	{"verify|v|quiet|q", ARGSCAN_FLAG, PT_OPT_COMPAT},
	{"extra-partition-subtypes", ARGSCAN_OPTIONAL, PT_OPT_EXTRA_SUBTYPES},
	{"secure", ARGSCAN_OPTIONAL, PT_OPT_SECURE},
	{"offset|o", ARGSCAN_VALUE, PT_OPT_OFFSET},
	{"flash-size", ARGSCAN_VALUE, PT_OPT_FLASH_SIZE},
	{"primary-bootloader-offset", ARGSCAN_VALUE, PT_OPT_PBL},
	{"recovery-bootloader-offset", ARGSCAN_VALUE, PT_OPT_RBL},
	{NULL, 0, 0},
};

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
	int npos = 0, json = 0, no_verify = 0;
	struct argscan sc;
	argscan_init(&sc, argc, argv, parttable_opts);
	sc.keep_unknown = 1;
	const char *v = NULL, *next = NULL;
	int id;
	while ((id = argscan_next(&sc, &v, e)) != ARGSCAN_END) {
		uint32_t n = 0;
		switch (id) {
		case ARGSCAN_POSITIONAL:
			if (npos >= 2)
				return err_set_msg(e, ERR_USAGE, "unrecognized argument '%s'", v), ERR_USAGE;
			pos[npos++] = v;
			break;
		case PT_OPT_HELP:
			parttable_print_usage(stdout);
			return 0;
		case PT_OPT_DISABLE_MD5:
			o.disable_md5 = 1;
			break;
		case PT_OPT_JSON:
			json = 1;
			break;
		case PT_OPT_NO_VERIFY:
			no_verify = 1;
			break;
		case PT_OPT_COMPAT:
			/* accepted for compatibility: verification is the default and espfab prints no status */
			break;
		case PT_OPT_EXTRA_SUBTYPES:
			if (v) {
				if (parttable_add_extra_subtype(&o, v, e))
					return ERR_USAGE;
				break;
			}
			/* nargs='*': the entries that follow; each has commas, which keeps INPUT/OUTPUT
			 * from being swallowed. */
			while ((next = argscan_peek_word(&sc)) && next[0] != '-' && strchr(next, ',')) {
				if (parttable_add_extra_subtype(&o, next, e))
					return ERR_USAGE;
				argscan_skip_word(&sc);
			}
			break;
		case PT_OPT_SECURE:
			if (v) {
				if (strcmp(v, "v1") && strcmp(v, "v2"))
					return err_set_msg(e, ERR_USAGE, "--secure: invalid choice '%s' (v1 or v2)", v),
					       ERR_USAGE;
				o.secure = !strcmp(v, "v2") ? PARTTABLE_SECURE_V2 : PARTTABLE_SECURE_V1;
				break;
			}
			o.secure = PARTTABLE_SECURE_V1;
			if ((next = argscan_peek_word(&sc)) && (!strcmp(next, "v1") || !strcmp(next, "v2"))) {
				o.secure = !strcmp(next, "v2") ? PARTTABLE_SECURE_V2 : PARTTABLE_SECURE_V1;
				argscan_skip_word(&sc);
			}
			break;
		case PT_OPT_OFFSET:
			if (parttable_parse_any_int(v, "--offset", &n, e))
				return ERR_USAGE;
			o.table_offset = n;
			break;
		case PT_OPT_FLASH_SIZE:
			if (parttable_parse_flash_size(v, &o.flash_size, e))
				return ERR_USAGE;
			break;
		case PT_OPT_PBL:
			if (parttable_parse_any_int(v, "--primary-bootloader-offset", &n, e))
				return ERR_USAGE;
			o.primary_bootloader_offset = n;
			o.has_primary_bootloader_offset = 1;
			break;
		case PT_OPT_RBL:
			if (parttable_parse_any_int(v, "--recovery-bootloader-offset", &n, e))
				return ERR_USAGE;
			o.recovery_bootloader_offset = n;
			o.has_recovery_bootloader_offset = 1;
			break;
		case -1:
			return ERR_USAGE;
		default:
			parttable_print_usage(stderr);
			return err_set_msg(e, ERR_USAGE, "unrecognized argument '%s'", v), ERR_USAGE;
		}
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
