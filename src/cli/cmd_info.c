/* espfab info: connect to a chip in its ROM loader and show what it is: chip, revision, MAC,
 * crystal, flash, and its security state (flash encryption, secure boot, download modes, key
 * purposes in use). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/cli_port.h"
#include "loader/loader.h"

static void mac_text(const uint8_t *m, size_t n, char *out)
{
	out[0] = '\0';
	for (size_t i = 0; i < n; i++)
		sprintf(out + strlen(out), i ? ":%02x" : "%02x", m[i]);
}

static json_t *info_to_json(const loader_t *l)
{
	const struct loader_chip_info *in = &l->info;
	json_t *o = json_object();
	char buf[64];
	json_object_set_new(o, "chip", json_string(in->chip->name));
	json_object_set_new(o, "chip_id", json_string(in->chip->id));
	json_object_set_new(o, "secure_download_mode", json_boolean(in->secure_download));
	if (!in->secure_download) {
		snprintf(buf, sizeof buf, "v%u.%u", in->rev_major, in->rev_minor);
		json_object_set_new(o, "revision", json_string(buf));
		mac_text(in->mac, 6, buf);
		json_object_set_new(o, "mac", json_string(buf));
		if (in->has_mac_ext) {
			uint8_t eui[8] = {in->mac[0], in->mac[1], in->mac[2], in->mac_ext[0],
					  in->mac_ext[1], in->mac[3], in->mac[4], in->mac[5]};
			mac_text(eui, 8, buf);
			json_object_set_new(o, "eui64", json_string(buf));
		}
		snprintf(buf, sizeof buf, "0x%06x", in->flash_id);
		json_object_set_new(o, "flash_id", json_string(buf));
	}
	json_object_set_new(o, "crystal_mhz", json_integer(in->xtal_mhz));
	json_object_set_new(o, "flash_size", json_integer(in->flash_size));
	json_object_set_new(o, "flash_size_guessed", json_boolean(in->flash_size_guessed));
	json_t *sec = json_object();
	json_object_set_new(sec, "flash_crypt_cnt", json_integer(in->security.crypt_cnt));
	json_object_set_new(sec, "flash_encryption", json_boolean(in->security.flash_encryption));
	json_object_set_new(sec, "secure_boot", json_boolean(in->security.secure_boot));
	json_object_set_new(sec, "secure_download", json_boolean(in->security.secure_download));
	json_object_set_new(sec, "download_mode_disabled", json_boolean(in->security.download_disabled));
	json_object_set_new(sec, "manual_encrypt_disabled",
			    json_boolean(in->security.manual_encrypt_disabled));
	json_t *keys = json_array();
	if (in->has_efuse) {
		const struct efuse_layout *lay = in->chip->efuse;
		for (int b = lay->first_key_block; b < lay->first_key_block + lay->n_key_blocks; b++) {
			struct efuse_key_status ks;
			efuse_key_status(&in->efuse, b, &ks);
			if (ks.empty)
				continue;
			json_t *k = json_object();
			json_object_set_new(k, "block", json_string(ks.name));
			json_object_set_new(k, "purpose", json_string(chip_purpose_name(ks.purpose)));
			json_object_set_new(k, "read_protected", json_boolean(ks.read_protected));
			json_object_set_new(k, "write_protected", json_boolean(ks.write_protected));
			json_array_append_new(keys, k);
		}
	} else if (in->has_secinfo) {
		for (int i = 0; i < 7; i++)
			if (in->secinfo.key_purposes[i]) {
				json_t *k = json_object();
				snprintf(buf, sizeof buf, "BLOCK_KEY%d", i);
				json_object_set_new(k, "block", json_string(buf));
				json_object_set_new(k, "purpose",
						    json_string(chip_purpose_name(in->secinfo.key_purposes[i])));
				json_array_append_new(keys, k);
			}
	}
	json_object_set_new(sec, "keys_in_use", keys);
	json_object_set_new(o, "security", sec);
	json_object_set_new(o, "connect_ms", json_integer((json_int_t)in->connect_ms));
	return o;
}

static int cmd_info_run(int argc, char **argv, err_t *e)
{
	struct loader_opts opts;
	if (cli_port_take_options(&opts, &argc, argv, e))
		return ERR_USAGE;
	bool json = false;
	for (int i = 1; i < argc;) {
		if (!strcmp(argv[i], "--json") || !strcmp(argv[i], "-json")) {
			json = true;
			i++;
		} else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			printf("usage: espfab info --port P [--baud B] [--before MODE] [--after MODE] [--json]\n");
			return 0;
		} else {
			return err_set_msg(e, ERR_USAGE, "unknown argument '%s'", argv[i]), ERR_USAGE;
		}
	}
	loader_t l;
	int rc = cli_port_open_loader(&l, &opts, e);
	if (rc)
		return rc;
	json_t *o = info_to_json(&l);
	loader_close(&l);
	if (json) {
		char *s = json_dumps(o, JSON_INDENT(2));
		printf("%s\n", s);
		free(s);
	} else {
		const struct loader_chip_info *in = &l.info;
		char desc[128], mac[32];
		printf("Chip:            %s\n", loader_describe_chip(in, desc, sizeof desc));
		if (!in->secure_download) {
			mac_text(in->mac, 6, mac);
			printf("MAC:             %s\n", mac);
			json_t *eui = json_object_get(o, "eui64");
			if (eui)
				printf("EUI-64:          %s\n", json_string_value(eui));
		}
		printf("Crystal:         %u MHz\n", in->xtal_mhz);
		if (in->secure_download)
			printf("Flash:           unknown (Secure Download Mode)\n");
		else
			printf("Flash:           id 0x%06x, %u MB%s\n", in->flash_id, in->flash_size >> 20,
			       in->flash_size_guessed ? " (id not recognised: assumed)" : "");
		printf("Flash encryption: %s (counter %u)\n",
		       in->security.flash_encryption ? "ENABLED" : "off", in->security.crypt_cnt);
		printf("Secure boot:     %s\n", in->security.secure_boot ? "ENABLED" : "off");
		printf("Secure download: %s\n", in->security.secure_download ? "ENABLED" : "off");
		json_t *keys = json_object_get(json_object_get(o, "security"), "keys_in_use");
		if (json_array_size(keys) == 0)
			printf("Key blocks:      all free\n");
		size_t i;
		json_t *k;
		json_array_foreach(keys, i, k)
		{
			json_t *rp = json_object_get(k, "read_protected");
			printf("Key block:       %s = %s%s\n", json_string_value(json_object_get(k, "block")),
			       json_string_value(json_object_get(k, "purpose")),
			       rp && json_is_true(rp) ? " (read-protected)" : "");
		}
	}
	json_decref(o);
	return 0;
}

CLI_COMMAND(info, "info", 11, "--port P: chip, revision, MAC, flash, security state [--json]",
	    cmd_info_run)
