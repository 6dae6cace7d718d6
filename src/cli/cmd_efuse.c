/* espfab efuse: show the eFuse state that matters for provisioning (key blocks with purpose and
 * protection, flash encryption, secure boot, download modes), and burn a key into a key block
 * or BLOCK0 fields (burn-field NAME VALUE …, like espefuse burn_efuse) after a typed
 * confirmation. On the ESP32-C2, burn-key --sb-digest FILE burns the derived flash-encryption
 * key and the secure-boot digest into the two halves of BLOCK_KEY0 in one operation. */
#include <jansson.h>
#include <mbedtls/platform_util.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/cli_port.h"
#include "core/buf.h"
#include "core/fileio.h"
#include "loader/loader.h"

static const enum efuse_field_id summary_fields[] = {
	EF_CRYPT_CNT, EF_SECURE_BOOT_EN, EF_ABS_DONE_0, EF_ABS_DONE_1,
	EF_SECURE_BOOT_AGGRESSIVE_REVOKE, EF_SECURE_BOOT_KEY_REVOKE0, EF_SECURE_BOOT_KEY_REVOKE1,
	EF_SECURE_BOOT_KEY_REVOKE2, EF_DIS_DOWNLOAD_MODE, EF_UART_DOWNLOAD_DIS,
	EF_ENABLE_SECURITY_DOWNLOAD, EF_DIS_USB_SERIAL_JTAG_DOWNLOAD_MODE,
	EF_DIS_DOWNLOAD_MANUAL_ENCRYPT, EF_DISABLE_DL_ENCRYPT, EF_DISABLE_DL_DECRYPT,
	EF_DISABLE_DL_CACHE, EF_DIS_DOWNLOAD_ICACHE, EF_DIS_DOWNLOAD_DCACHE, EF_SOFT_DIS_JTAG,
	EF_DIS_PAD_JTAG, EF_JTAG_DISABLE, EF_DIS_USB_JTAG, EF_DIS_USB_SERIAL_JTAG,
	EF_DIS_DIRECT_BOOT, EF_SECURE_VERSION, EF_XTS_KEY_LENGTH_256, EF_CODING_SCHEME,
	EF_FLASH_CRYPT_CONFIG, EF_CONSOLE_DEBUG_DISABLE, EF_RD_DIS, EF_WR_DIS,
};

static int efuse_summary(loader_t *l, bool json)
{
	const struct loader_chip_info *in = &l->info;
	const struct chip_desc *chip = in->chip;
	const struct efuse_layout *lay = chip->efuse;
	json_t *root = json_object(), *keys = json_array(), *fields = json_object();
	json_object_set_new(root, "chip", json_string(chip->name));
	for (int b = lay->first_key_block; b < lay->first_key_block + lay->n_key_blocks; b++) {
		struct efuse_key_status ks;
		efuse_key_status(&in->efuse, b, &ks);
		json_t *k = json_object();
		json_object_set_new(k, "block", json_string(ks.name));
		json_object_set_new(k, "alias", json_string(ks.alias));
		json_object_set_new(k, "purpose", json_string(chip_purpose_name(ks.purpose)));
		json_object_set_new(k, "purpose_locked", json_boolean(ks.purpose_locked));
		json_object_set_new(k, "read_protected", json_boolean(ks.read_protected));
		json_object_set_new(k, "write_protected", json_boolean(ks.write_protected));
		json_object_set_new(k, "empty", json_boolean(ks.empty));
		json_array_append_new(keys, k);
	}
	for (size_t i = 0; i < sizeof summary_fields / sizeof summary_fields[0]; i++) {
		const struct efuse_field_desc *fd = chip_efuse_field(chip, summary_fields[i]);
		if (fd)
			json_object_set_new(fields, fd->name,
					    json_integer(efuse_field_value(&in->efuse, summary_fields[i])));
	}
	json_object_set_new(root, "key_blocks", keys);
	json_object_set_new(root, "fields", fields);
	json_object_set_new(root, "flash_encryption", json_boolean(in->security.flash_encryption));
	json_object_set_new(root, "secure_boot", json_boolean(in->security.secure_boot));
	if (json) {
		char *s = json_dumps(root, JSON_INDENT(2));
		printf("%s\n", s);
		free(s);
	} else {
		char desc[128];
		printf("%s eFuse summary\n\n", loader_describe_chip(in, desc, sizeof desc));
		printf("%-16s %-16s %-30s %-6s %-8s %s\n", "BLOCK", "ALIAS", "PURPOSE", "STATE",
		       "READ", "WRITE");
		size_t i;
		json_t *k;
		json_array_foreach(keys, i, k)
		{
			bool empty = json_is_true(json_object_get(k, "empty"));
			bool locked = json_is_true(json_object_get(k, "purpose_locked"));
			char purpose[64];
			snprintf(purpose, sizeof purpose, "%s%s",
				 json_string_value(json_object_get(k, "purpose")), locked ? " (locked)" : "");
			printf("%-16s %-16s %-30s %-6s %-8s %s\n",
			       json_string_value(json_object_get(k, "block")),
			       json_string_value(json_object_get(k, "alias")), purpose,
			       empty ? "free" : "used",
			       json_is_true(json_object_get(k, "read_protected")) ? "disabled" : "allowed",
			       json_is_true(json_object_get(k, "write_protected")) ? "disabled" : "allowed");
		}
		printf("\nFlash encryption: %s (%s = %u)\n",
		       in->security.flash_encryption ? "ENABLED" : "off",
		       chip_efuse_field(chip, EF_CRYPT_CNT)->name, in->security.crypt_cnt);
		printf("Secure boot:      %s\n", in->security.secure_boot ? "ENABLED" : "off");
		const char *fname;
		json_t *v;
		json_object_foreach(fields, fname, v)
		{
			if (!strcmp(fname, "WR_DIS") || !strcmp(fname, "RD_DIS"))
				printf("%-32s 0x%08llx\n", fname, (unsigned long long)json_integer_value(v));
			else
				printf("%-32s %lld\n", fname, (long long)json_integer_value(v));
		}
	}
	json_decref(root);
	return 0;
}

/* A typed word, not y/n: a burn cannot be undone. */
static int efuse_confirm(bool yes, err_t *e)
{
	if (yes)
		return 0;
	if (!isatty(STDIN_FILENO))
		return err_set_msg(e, ERR_USAGE,
				   "refusing to burn without confirmation: no terminal to ask on "
				   "(pass --yes in scripts)");
	fprintf(stderr, "Type BURN to continue: ");
	fflush(stderr);
	char line[64];
	if (!fgets(line, sizeof line, stdin))
		line[0] = '\0';
	line[strcspn(line, "\r\n")] = '\0';
	if (strcmp(line, "BURN") != 0)
		return err_set_msg(e, ERR_CHECK, "not confirmed: nothing was burned");
	return 0;
}

/* XTS_AES_256_KEY takes a 64-byte key: the first half goes to BLOCK with purpose
 * XTS_AES_256_KEY_1, the second to the next key block with XTS_AES_256_KEY_2 (each half
 * reversed on its own, efuse.md §3). Both halves are planned before anything is burned. */
static int efuse_burn_key_cmd(loader_t *l, const char *block, const char *keyfile,
			      const char *purpose_name, const char *chip_name, bool read_protect,
			      bool no_write_protect, bool yes, bool resume, const buf_t *sb_digest,
			      const char *sb_digest_file, err_t *e)
{
	if (sb_digest && l->info.chip->type != CHIP_ESP32C2)
		return err_set_msg(e, ERR_USAGE,
				   "--sb-digest %s: the secure-boot digest shares BLOCK_KEY0 with the "
				   "flash-encryption key on the ESP32-C2 only; this is an %s (burn it "
				   "into a key block of its own with purpose SECURE_BOOT_DIGEST0)",
				   sb_digest_file, l->info.chip->name),
		       ERR_USAGE;
	bool xts256 = !strcasecmp(purpose_name, "XTS_AES_256_KEY");
	int purpose = xts256 ? KP_XTS_AES_256_KEY_1 : chip_purpose_parse(purpose_name);
	if (purpose == KP_INVALID)
		return err_set_msg(e, ERR_USAGE, "unknown key purpose '%s'", purpose_name), ERR_USAGE;
	buf_t key = BUF_INIT;
	if (efuse_load_key_file(keyfile, purpose, &key, e))
		return ERR_CHECK;
	struct efuse_key_plan plans[2];
	int nplans = xts256 ? 2 : 1;
	int rc = 0;
	char second[32] = "";
	if (xts256) {
		if (key.len != 64) {
			err_set_msg(e, ERR_CHECK, "XTS_AES_256_KEY needs a 64-byte key file (got %zu bytes)",
				    key.len);
			rc = ERR_CHECK;
			goto out;
		}
		int idx = chip_efuse_find_block(l->info.chip, block);
		const struct efuse_layout *lay = l->info.chip->efuse;
		if (idx < 0 || idx + 1 >= lay->first_key_block + lay->n_key_blocks) {
			err_set_msg(e, ERR_USAGE, "XTS_AES_256_KEY needs %s and the key block after it",
				    block);
			rc = ERR_USAGE;
			goto out;
		}
		snprintf(second, sizeof second, "%s", lay->blocks[idx + 1].name);
	}
	for (int i = 0; i < nplans; i++) {
		struct efuse_burn_req req = {
			.chip_name = chip_name ? chip_name : l->info.chip->id,
			.block = i ? second : block,
			.key = key.data + 32 * i,
			.key_len = xts256 ? 32 : key.len,
			.purpose = i ? KP_XTS_AES_256_KEY_2 : purpose,
			.read_protect = read_protect,
			.no_write_protect = no_write_protect,
			.resume = resume,
			.sb_digest = sb_digest ? sb_digest->data : NULL,
			.sb_digest_len = sb_digest ? sb_digest->len : 0,
		};
		if (loader_plan_key(l, &req, &plans[i], e)) {
			rc = e->code ? e->code : ERR_CHECK;
			goto out;
		}
	}
	fprintf(stderr, "About to burn eFuses (irreversible):\n");
	for (int i = 0; i < nplans; i++)
		fprintf(stderr, "  %s\n", plans[i].summary);
	if (efuse_confirm(yes, e)) {
		rc = e->code;
		goto out;
	}
	for (int i = 0; i < nplans; i++) {
		if (loader_burn_key(l, &plans[i], e)) {
			rc = e->code ? e->code : ERR_DEVICE;
			goto out;
		}
		struct efuse_key_status ks;
		efuse_key_status(&l->info.efuse, plans[i].block_idx, &ks);
		printf("burned %s: purpose %s, %s, %s%s (verified by read-back)\n", ks.name,
		       chip_purpose_name(ks.purpose), ks.read_protected ? "read-protected" : "readable",
		       ks.write_protected ? "write-protected" : "writable",
		       plans[i].with_digest ? "; upper half: the secure-boot digest, readable" : "");
	}
out:
	mbedtls_platform_zeroize(plans, sizeof plans);
	buf_wipe_data(&key);
	return rc;
}

static const char *args_name(const struct chip_desc *chip, enum efuse_field_id f)
{
	return chip_efuse_field(chip, f)->name;
}

/* burn-field NAME VALUE [NAME VALUE …]: every pair is checked before anything is burned. */
static int efuse_burn_field_cmd(loader_t *l, const char **args, int nargs, const char *chip_name,
				bool yes, err_t *e)
{
	const struct chip_desc *chip = l->info.chip;
	if (chip_name && chip_find_by_name(chip_name) != chip)
		return err_set_msg(e, ERR_CHECK, "refusing to burn: the connected chip is an %s, but %s "
						 "was named",
				   chip->name, chip_name),
		       ERR_CHECK;
	struct efuse_field_write w[EFUSE_MAX_FIELD_WRITES];
	size_t n = 0;
	for (int i = 0; i + 1 < nargs; i += 2) {
		if (n >= EFUSE_MAX_FIELD_WRITES)
			return err_set_msg(e, ERR_USAGE, "too many fields"), ERR_USAGE;
		if (efuse_field_parse(chip, args[i], &w[n].field, e))
			return ERR_USAGE;
		if (cli_parse_u32(args[i + 1], args[i], &w[n].value, e))
			return ERR_USAGE;
		n++;
	}
	struct efuse_field_plan plan;
	if (loader_plan_fields(l, w, n, &plan, e))
		return e->code ? e->code : ERR_CHECK;
	if (plan.nothing_to_do) {
		printf("%s: nothing to burn (%s)\n", chip->name, plan.summary);
		return 0;
	}
	fprintf(stderr, "About to burn eFuses (irreversible):\n  %s\n", plan.summary);
	for (size_t i = 0; i < n; i++)
		if (w[i].field == EF_ENABLE_SECURITY_DOWNLOAD || w[i].field == EF_DIS_DOWNLOAD_MODE ||
		    w[i].field == EF_UART_DOWNLOAD_DIS)
			fprintf(stderr, "  WARNING: %s restricts or removes the ROM download mode this "
					"link uses\n",
				args_name(chip, w[i].field));
	if (efuse_confirm(yes, e))
		return e->code;
	if (loader_burn_fields(l, &plan, e))
		return e->code ? e->code : ERR_DEVICE;
	printf("burned %s (verified by %s)\n", plan.summary,
	       l->info.secure_download ? "the ROM's security info" : "read-back");
	return 0;
}

/* --sb-digest FILE: only for burn-key with the C2's derived-key purpose, whose block has room
 * for the digest in its upper half; the file holds the SHA-256 of the secure-boot public key
 * (32 bytes, of which the first 16 are burned, as espefuse does) or those 16 bytes. */
static int efuse_take_sb_digest(const char *file, bool burn_key, const char *purpose_name,
				const char *chip_name, buf_t *digest, err_t *e)
{
	if (!file)
		return 0;
	if (!burn_key)
		return err_set_msg(e, ERR_USAGE, "--sb-digest %s: only with burn-key", file), ERR_USAGE;
	if (chip_purpose_parse(purpose_name) != KP_C2_XTS_AES_128_KEY_DERIVED)
		return err_set_msg(e, ERR_USAGE,
				   "--sb-digest %s: only with purpose "
				   "XTS_AES_128_KEY_DERIVED_FROM_128_EFUSE_BITS on an ESP32-C2, whose "
				   "BLOCK_KEY0 holds the key in its lower half and the digest in its "
				   "upper half (not with %s)",
				   file, purpose_name),
		       ERR_USAGE;
	if (chip_name && chip_find_by_name(chip_name) != chip_get_desc(CHIP_ESP32C2))
		return err_set_msg(e, ERR_USAGE,
				   "--sb-digest %s: the ESP32-C2 only (--chip %s was named)", file,
				   chip_name),
		       ERR_USAGE;
	if (fileio_read_file(file, digest, e))
		return err_prepend_context(e, "--sb-digest"), ERR_CHECK;
	if (digest->len != 32 && digest->len != 16) {
		err_set_msg(e, ERR_CHECK,
			    "--sb-digest %s: %zu bytes; a secure-boot digest file holds the 32-byte "
			    "SHA-256 of the public key (or its first 16 bytes)",
			    file, digest->len);
		buf_free_data(digest);
		return ERR_CHECK;
	}
	return 0;
}

static int cmd_efuse_run(int argc, char **argv, err_t *e)
{
	struct loader_opts opts;
	if (cli_port_take_options(&opts, &argc, argv, e))
		return ERR_USAGE;
	bool json = false, read_protect = false, yes = false, no_wp = false, resume = false;
	const char *chip_name = NULL, *sb_digest_file = NULL;
	const char *pos[2 * EFUSE_MAX_FIELD_WRITES + 1];
	int npos = 0;
	for (int i = 1; i < argc;) {
		const char *a = argv[i++];
		if (!strcmp(a, "--json") || !strcmp(a, "-json"))
			json = true;
		else if (!strcmp(a, "--read-protect"))
			read_protect = true;
		else if (!strcmp(a, "--no-read-protect"))
			read_protect = false;
		else if (!strcmp(a, "--no-write-protect"))
			no_wp = true;
		else if (!strcmp(a, "--resume"))
			resume = true;
		else if (!strcmp(a, "--yes") || !strcmp(a, "-y") || !strcmp(a, "--do-not-confirm"))
			yes = true;
		else if (!strcmp(a, "--chip") || !strcmp(a, "-c")) {
			if (i >= argc)
				return err_set_msg(e, ERR_USAGE, "--chip needs a value"), ERR_USAGE;
			chip_name = argv[i++];
		} else if (!strncmp(a, "--chip=", 7)) {
			chip_name = a + 7;
		} else if (!strcmp(a, "--sb-digest")) {
			if (i >= argc)
				return err_set_msg(e, ERR_USAGE, "--sb-digest needs a file"), ERR_USAGE;
			sb_digest_file = argv[i++];
		} else if (!strncmp(a, "--sb-digest=", 12))
			sb_digest_file = a + 12;
		else if (a[0] == '-' && a[1])
			return err_set_msg(e, ERR_USAGE, "unknown option '%s'", a), ERR_USAGE;
		else if (npos < (int)(sizeof pos / sizeof pos[0]))
			pos[npos++] = a;
		else
			return err_set_msg(e, ERR_USAGE, "too many arguments"), ERR_USAGE;
	}
	bool summary = npos == 1 && !strcmp(pos[0], "summary");
	bool burn = npos == 4 && (!strcmp(pos[0], "burn-key") || !strcmp(pos[0], "burn_key"));
	bool burn_field = npos >= 3 && npos % 2 == 1 &&
			  (!strcmp(pos[0], "burn-field") || !strcmp(pos[0], "burn_efuse"));
	if (!summary && !burn && !burn_field)
		return err_set_msg(e, ERR_USAGE,
				   "usage: efuse --port P summary [--json] | burn-key BLOCK KEYFILE "
				   "PURPOSE [--read-protect] [--sb-digest FILE] [--yes] [--chip C] | "
				   "burn-field NAME VALUE [NAME VALUE...] [--yes]"),
		       ERR_USAGE;
	if (chip_name && !chip_find_by_name(chip_name))
		return err_set_msg(e, ERR_USAGE, "--chip %s: unknown chip", chip_name), ERR_USAGE;
	/* Everything --sb-digest depends on is checked before the port is opened. */
	buf_t digest = BUF_INIT;
	int rc = efuse_take_sb_digest(sb_digest_file, burn, burn ? pos[3] : NULL, chip_name, &digest, e);
	if (rc)
		return rc;
	loader_t l;
	rc = cli_port_open_loader(&l, &opts, e);
	if (rc) {
		buf_free_data(&digest);
		return rc;
	}
	if (l.info.secure_download) {
		err_set_msg(e, ERR_DEVICE,
			    "the %s is in Secure Download Mode: its eFuses cannot be read or burned "
			    "over the ROM loader",
			    l.info.chip->name);
		rc = ERR_DEVICE;
	} else if (summary) {
		rc = efuse_summary(&l, json);
	} else if (burn_field) {
		rc = efuse_burn_field_cmd(&l, pos + 1, npos - 1, chip_name, yes, e);
	} else {
		rc = efuse_burn_key_cmd(&l, pos[1], pos[2], pos[3], chip_name, read_protect, no_wp, yes,
					resume, sb_digest_file ? &digest : NULL, sb_digest_file, e);
	}
	loader_close(&l);
	buf_free_data(&digest);
	return rc;
}

CLI_COMMAND(efuse, "efuse", 13,
	    "--port P summary [--json] | burn-key BLOCK KEYFILE PURPOSE [--read-protect] "
	    "[--sb-digest FILE] [--yes] | "
	    "burn-field NAME VALUE... [--yes]",
	    cmd_efuse_run)
