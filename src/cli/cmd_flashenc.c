/* espfab flashenc: espsecure's encrypt-flash-data / decrypt-flash-data. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <mbedtls/platform_util.h>

#include "cli/cli.h"
#include "core/argscan.h"
#include "core/buf.h"
#include "core/fileio.h"
#include "crypto/flashenc.h"

enum { OPT_KEYFILE = 1, OPT_OUTPUT, OPT_ADDRESS, OPT_CONF, OPT_XTS, OPT_HELP };

static const struct argscan_opt flashenc_opts[] = {
	{"k|keyfile", ARGSCAN_VALUE, OPT_KEYFILE},
	{"o|output", ARGSCAN_VALUE, OPT_OUTPUT},
	{"a|address", ARGSCAN_VALUE, OPT_ADDRESS},
	{"flash-crypt-conf", ARGSCAN_VALUE, OPT_CONF},
	{"x|aes-xts", ARGSCAN_FLAG, OPT_XTS},
	{"h|help", ARGSCAN_FLAG, OPT_HELP},
	{NULL, 0, 0},
};

static void flashenc_print_usage(FILE *f)
{
	fprintf(f, "usage: espfab flashenc encrypt-flash-data|decrypt-flash-data --keyfile KEY "
		   "--address ADDR [--flash-crypt-conf N] [--aes-xts] --output OUT INPUT\n");
}

static int cmd_flashenc_run(int argc, char **argv, err_t *e)
{
	if (argc < 2) {
		flashenc_print_usage(stderr);
		return ERR_USAGE;
	}
	bool decrypt;
	if (!strcmp(argv[1], "encrypt-flash-data") || !strcmp(argv[1], "encrypt_flash_data"))
		decrypt = false;
	else if (!strcmp(argv[1], "decrypt-flash-data") || !strcmp(argv[1], "decrypt_flash_data"))
		decrypt = true;
	else if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		flashenc_print_usage(stdout);
		return 0;
	} else {
		err_set_msg(e, ERR_USAGE, "unknown operation '%s'", argv[1]);
		return ERR_USAGE;
	}
	const char *keyfile = NULL, *output = NULL, *address = NULL, *input = NULL;
	uint32_t conf = 0xF, addr = 0;
	bool xts = false;
	struct argscan s;
	argscan_init(&s, argc - 1, argv + 1, flashenc_opts);
	const char *val;
	int id;
	while ((id = argscan_next(&s, &val, e)) != ARGSCAN_END) {
		switch (id) {
		case -1:
			return ERR_USAGE;
		case OPT_KEYFILE: keyfile = val; break;
		case OPT_OUTPUT: output = val; break;
		case OPT_ADDRESS: address = val; break;
		case OPT_CONF:
			if (cli_parse_u32(val, "--flash-crypt-conf", &conf, e))
				return ERR_USAGE;
			break;
		case OPT_XTS: xts = true; break;
		case OPT_HELP: flashenc_print_usage(stdout); return 0;
		case ARGSCAN_POSITIONAL:
			if (input) {
				err_set_msg(e, ERR_USAGE, "unexpected argument '%s'", val);
				return ERR_USAGE;
			}
			input = val;
			break;
		}
	}
	if (!keyfile || !output || !address || !input) {
		err_set_msg(e, ERR_USAGE, "missing %s", !keyfile ? "--keyfile" : !output ? "--output"
					: !address ? "--address" : "input file");
		return ERR_USAGE;
	}
	if (cli_parse_u32(address, "--address", &addr, e))
		return ERR_USAGE;
	if (!strcmp(input, output) || !strcmp(keyfile, output)) {
		err_set_msg(e, ERR_USAGE, "the input '%s' and output '%s' must not be the same",
			    !strcmp(input, output) ? input : keyfile, output);
		return ERR_USAGE;
	}
	buf_t key = BUF_INIT, in = BUF_INIT, out = BUF_INIT;
	int rc = ERR_CHECK;
	if (fileio_read_secret(keyfile, &key, e) || fileio_read_file(input, &in, e))
		goto done;
	/* Checked here, before the data, so a wrong length names the key file rather than the
	 * input that the library's later errors are about. */
	uint8_t expanded[64];
	int klen = flashenc_expand_key(xts ? FLASHENC_AES_XTS : FLASHENC_ESP32_LEGACY, key.data,
				       key.len, expanded, e);
	mbedtls_platform_zeroize(expanded, sizeof expanded);
	if (klen < 0) {
		err_prepend_context(e, "key file %s", keyfile);
		goto done;
	}
	struct flashenc_params p = {
		.scheme = xts ? FLASHENC_AES_XTS : FLASHENC_ESP32_LEGACY,
		.key = key.data, .key_len = key.len, .address = addr, .flash_crypt_conf = conf,
	};
	int r = decrypt ? flashenc_decrypt_data(&p, in.data, in.len, &out, e)
			: flashenc_encrypt_data(&p, in.data, in.len, &out, e);
	if (r) {
		err_prepend_context(e, "%s", input);
		goto done;
	}
	/* Decrypted flash content may hold secrets: keep it private. */
	if (fileio_write_atomic(output, out.data, out.len,
				decrypt ? FILEIO_MODE_SECRET : FILEIO_MODE_PUBLIC, e))
		goto done;
	printf("%s %zu bytes at 0x%x (%s) to %s\n", decrypt ? "Decrypted" : "Encrypted", in.len, addr,
	       xts ? "XTS-AES" : "ESP32 AES", output);
	rc = 0;
done:
	buf_wipe_data(&key);
	buf_wipe_data(&in);
	buf_wipe_data(&out);
	return rc;
}

CLI_COMMAND(flashenc, "flashenc", 70, "encrypt-flash-data|decrypt-flash-data (options of espsecure)",
	    cmd_flashenc_run)
