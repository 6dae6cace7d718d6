/* espfab spake2p: the command line of connectedhomeip's spake2p.py (gen-verifier). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/argscan.h"
#include "core/buf.h"
#include "core/fileio.h"
#include "core/hex.h"
#include "core/pyb64.h"
#include "core/pyint.h"
#include "crypto/spake2p.h"

enum { SPAKE2P_OPT_HELP = 1, SPAKE2P_OPT_PASSCODE, SPAKE2P_OPT_SALT, SPAKE2P_OPT_ITERATIONS };

static const struct argscan_opt spake2p_opts[] = {
	{"h|help", ARGSCAN_FLAG, SPAKE2P_OPT_HELP},
	{"p|passcode", ARGSCAN_VALUE, SPAKE2P_OPT_PASSCODE},
	{"s|salt", ARGSCAN_VALUE, SPAKE2P_OPT_SALT},
	{"i|iteration-count", ARGSCAN_VALUE, SPAKE2P_OPT_ITERATIONS},
	{NULL, 0, 0},
};

static void spake2p_print_usage(FILE *f)
{
	fprintf(f, "usage: espfab spake2p gen-verifier -p PASSCODE -s SALT_BASE64 -i ITERATIONS\n"
		   "  -p, --passcode         8-digit passcode\n"
		   "  -s, --salt             salt of 16 to 32 bytes, base64\n"
		   "  -i, --iteration-count  PBKDF2 iterations, 1000 to 100000\n");
}

/* spake2p.py parses these options with int(s): decimal, with surrounding whitespace, a sign,
 * leading zeros and underscores between digits. */
static int spake2p_parse_decimal(const char *s, const char *what, uint32_t *out, err_t *e)
{
	int64_t v;
	if (pyint_parse(s, 10, &v))
		return err_set_msg(e, ERR_USAGE, "%s: '%s' is not a decimal number", what, s);
	if (v < 0 || v > UINT32_MAX)
		return err_set_msg(e, ERR_USAGE, "%s: %s is out of range", what, s);
	*out = (uint32_t)v;
	return 0;
}

static int spake2p_run_gen_verifier(int argc, char **argv, err_t *e)
{
	const char *passcode_s = NULL, *salt_s = NULL, *iter_s = NULL;
	struct argscan sc;
	argscan_init(&sc, argc, argv, spake2p_opts);
	sc.keep_unknown = 1;
	const char *v = NULL;
	int id;
	while ((id = argscan_next(&sc, &v, e)) != ARGSCAN_END) {
		switch (id) {
		case SPAKE2P_OPT_HELP:
			spake2p_print_usage(stdout);
			return 0;
		case SPAKE2P_OPT_PASSCODE:
			passcode_s = v;
			break;
		case SPAKE2P_OPT_SALT:
			salt_s = v;
			break;
		case SPAKE2P_OPT_ITERATIONS:
			iter_s = v;
			break;
		case -1:
			return ERR_USAGE;
		default:
			err_set_msg(e, ERR_USAGE, "gen-verifier: unrecognized argument '%s'", v);
			return ERR_USAGE;
		}
	}
	if (!passcode_s || !salt_s || !iter_s) {
		spake2p_print_usage(stderr);
		err_set_msg(e, ERR_USAGE, "gen-verifier: the following arguments are required:%s%s%s",
			    passcode_s ? "" : " -p/--passcode", salt_s ? "" : " -s/--salt",
			    iter_s ? "" : " -i/--iteration-count");
		return ERR_USAGE;
	}
	uint32_t passcode = 0, iterations = 0;
	if (spake2p_parse_decimal(passcode_s, "--passcode", &passcode, e) ||
	    spake2p_parse_decimal(iter_s, "--iteration-count", &iterations, e))
		return e->code;
	buf_t salt = BUF_INIT;
	/* base64.b64decode without validation: stray characters are skipped. */
	if (pyb64_decode(salt_s, strlen(salt_s), &salt, e)) {
		err_prepend_context(e, "--salt '%s'", salt_s);
		buf_free_data(&salt);
		return ERR_USAGE;
	}
	uint8_t verifier[SPAKE2P_VERIFIER_LEN];
	int rc = spake2p_compute_verifier(passcode, salt.data, salt.len, iterations, verifier, e);
	buf_free_data(&salt);
	if (rc)
		return e->code ? e->code : ERR_CHECK;
	buf_t out = BUF_INIT;
	hex_encode_base64(verifier, sizeof verifier, &out);
	printf("%s\n", (const char *)out.data);
	buf_free_data(&out);
	return 0;
}

/* spake2p.py reads arguments from "@FILE", one per line (argparse fromfile_prefix_chars). */
static int spake2p_expand_args(int argc, char **argv, int *out_argc, char ***out_argv, buf_t *store, err_t *e)
{
	int n = 0, cap = argc + 1;
	char **v = calloc((size_t)cap, sizeof *v);
	size_t *offsets = NULL;
	size_t noff = 0;
	for (int i = 0; i < argc; i++) {
		if (argv[i][0] != '@' || i == 0) {
			if (n + 2 > cap)
				v = realloc(v, (size_t)(cap *= 2) * sizeof *v);
			v[n++] = argv[i];
			continue;
		}
		buf_t f = BUF_INIT;
		if (fileio_read_file(argv[i] + 1, &f, e)) {
			free(v);
			free(offsets);
			return -1;
		}
		buf_terminate_str(&f);
		for (char *line = (char *)f.data, *next; line && *line; line = next) {
			next = strchr(line, '\n');
			if (next)
				*next++ = '\0';
			size_t len = strlen(line);
			if (len && line[len - 1] == '\r')
				line[--len] = '\0';
			offsets = realloc(offsets, (noff + 1) * sizeof *offsets);
			offsets[noff++] = store->len;
			buf_append_bytes(store, line, len + 1);
			if (n + 2 > cap)
				v = realloc(v, (size_t)(cap *= 2) * sizeof *v);
			v[n++] = NULL; /* filled once the store stops moving */
		}
		buf_free_data(&f);
	}
	/* Pointers into the store are set last: appending may have moved it. */
	size_t k = 0;
	for (int i = 0; i < n; i++)
		if (!v[i])
			v[i] = (char *)store->data + offsets[k++];
	free(offsets);
	v[n] = NULL;
	*out_argc = n;
	*out_argv = v;
	return 0;
}

static int cmd_spake2p_dispatch(int argc, char **argv, err_t *e);

static int cmd_spake2p_run(int argc, char **argv, err_t *e)
{
	buf_t store = BUF_INIT;
	char **args = NULL;
	int n = 0;
	if (spake2p_expand_args(argc, argv, &n, &args, &store, e))
		return ERR_USAGE;
	int rc = cmd_spake2p_dispatch(n, args, e);
	free(args);
	buf_wipe_data(&store);
	return rc;
}

static int cmd_spake2p_dispatch(int argc, char **argv, err_t *e)
{
	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		spake2p_print_usage(argc < 2 ? stderr : stdout);
		if (argc < 2) {
			err_set_msg(e, ERR_USAGE, "a subcommand is required (gen-verifier)");
			return ERR_USAGE;
		}
		return 0;
	}
	if (!strcmp(argv[1], "gen-verifier"))
		return spake2p_run_gen_verifier(argc - 1, argv + 1, e);
	err_set_msg(e, ERR_USAGE, "unknown subcommand '%s' (expected gen-verifier)", argv[1]);
	return ERR_USAGE;
}

CLI_COMMAND(spake2p, "spake2p", 55, "gen-verifier: SPAKE2+ verifier from passcode, salt, iterations",
	    cmd_spake2p_run)
