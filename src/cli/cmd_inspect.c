/* `espfab inspect (--port P | FILE) [--json]`: the partition table, esp_secure_cert and NVS
 * partitions of a flash image, a partition table or one partition file (detected by content),
 * decoded; --json prints the view, otherwise the TUI inspector browses it (text when the
 * output is not a terminal). Private key bytes are never shown. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "cli/cli.h"
#include "core/buf.h"
#include "core/checksum.h"
#include "core/fileio.h"
#include "formats/parttable.h"
#include "loader/loader.h"
#include "ui_app.h"
#include "ui_inspect.h"

#if __has_include("flow/device_rom.h")
#include "flow/device_rom.h"
#define INSPECT_HAVE_DEVICE 1
#else
#define INSPECT_HAVE_DEVICE 0
#endif

static void inspect_print_usage(FILE *f)
{
	fprintf(f, "usage: espfab inspect (--port PORT [--baud B] | FILE) [--json] [--offset TABLE_OFFSET]\n"
		   "                      [--manifest CSV] [--mac MAC]\n");
}

/* A plain-text listing for pipes: one line per partition, problems spelled out. */
static void inspect_print_text(const json_t *view)
{
	printf("%s: %s, %lld bytes\n", json_string_value(json_object_get(view, "source")),
	       json_string_value(json_object_get(view, "kind")),
	       (long long)json_integer_value(json_object_get(view, "size")));
	const char *te = json_string_value(json_object_get(view, "table_error"));
	if (te)
		printf("partition table: %s\n", te);
	size_t i;
	json_t *p;
	json_array_foreach(json_object_get(view, "partitions"), i, p) {
		const char *name = json_string_value(json_object_get(p, "name"));
		printf("%-16s 0x%06llx %7lld  %-16s %s\n", name ? name : "-",
		       (unsigned long long)json_integer_value(json_object_get(p, "offset")),
		       (long long)json_integer_value(json_object_get(p, "size")),
		       json_string_value(json_object_get(p, "format")),
		       json_string_value(json_object_get(p, "status")));
		const char *prob = json_string_value(json_object_get(p, "problem"));
		if (prob)
			printf("  problem: %s\n", prob);
		json_t *d = json_object_get(p, "decoded");
		if (d) {
			char *s = json_dumps(d, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
			if (s) {
				for (char *l = strtok(s, "\n"); l; l = strtok(NULL, "\n"))
					printf("  %s\n", l);
				free(s);
			}
		}
	}
}

/* Every problem of the view in one message for stderr (the view keeps them per partition). */
static void inspect_name_problems(const json_t *view, const char *source, err_t *e)
{
	buf_t m = BUF_INIT;
	char head[64];
	size_t n = 0, left = 0;
	snprintf(head, sizeof head, ": %lld damaged part(s): ",
		 (long long)json_integer_value(json_object_get(view, "problems")));
	buf_append_str(&m, source);
	buf_append_str(&m, head);
	const char *te = json_string_value(json_object_get(view, "table_error"));
	if (te) {
		buf_append_str(&m, "partition table: ");
		buf_append_str(&m, te);
		n++;
	}
	size_t i, k;
	json_t *p;
	json_array_foreach(json_object_get(view, "partitions"), i, p) {
		const char *st = json_string_value(json_object_get(p, "status"));
		if (!st || strcmp(st, "corrupt"))
			continue;
		const char *name = json_string_value(json_object_get(p, "name"));
		if (!name)
			name = json_string_value(json_object_get(p, "format"));
		const char *prob = json_string_value(json_object_get(p, "problem"));
		/* NVS: the first problem leads, the decoded list has the others */
		json_t *list = json_object_get(json_object_get(p, "decoded"), "problems");
		size_t count = 1 + json_array_size(list);
		for (k = 0; k < count; k++) {
			const char *t = k == 0 ? prob : json_string_value(json_array_get(list, k - 1));
			/* already said by the leading problem (which a cut prefixes with the cut) */
			if (!t || (k > 0 && prob && strstr(prob, t)))
				continue;
			if (m.len + strlen(t) + 40 >= sizeof e->msg) {
				left++;
				continue;
			}
			buf_append_str(&m, n ? "; " : "");
			buf_append_str(&m, name ? name : "partition");
			buf_append_str(&m, ": ");
			buf_append_str(&m, t);
			n++;
		}
	}
	if (left) {
		snprintf(head, sizeof head, "; (%zu more not shown)", left);
		buf_append_str(&m, head);
	}
	buf_terminate_str(&m);
	err_set_msg(e, ERR_CHECK, "%s", (const char *)m.data);
	buf_free_data(&m);
}

#if INSPECT_HAVE_DEVICE
/* Reads what the inspector decodes from a device: the partition table sector and every data
 * partition worth decoding, placed at their offsets in an image that is erased flash elsewhere,
 * so the file path of ui_inspect_decode applies unchanged. */
static int inspect_read_device(const char *port, unsigned baud, uint32_t toff, buf_t *img, char *mac,
			       size_t mac_n, err_t *e)
{
	struct flow_device *dev = NULL;
	if (device_rom_open_baud(port, baud, &dev, e))
		return -1;
	struct plan_chip chip;
	memset(&chip, 0, sizeof chip);
	int rc = -1;
	buf_t sector = BUF_INIT;
	struct parttable *t = calloc(1, sizeof *t);
	if (!t)
		abort();
	if (dev->ops->detect(dev, &chip, e))
		goto out;
	snprintf(mac, mac_n, "%02x:%02x:%02x:%02x:%02x:%02x", chip.mac[0], chip.mac[1], chip.mac[2],
		 chip.mac[3], chip.mac[4], chip.mac[5]);
	fprintf(stderr, "espfab inspect: %s, MAC %s: reading the partition table at 0x%x\n", chip.name, mac, toff);
	if (dev->ops->read_flash(dev, toff, PARTTABLE_SECTOR_SIZE, &sector, NULL, e))
		goto out;
	struct parttable_options po;
	parttable_default_options(&po);
	po.table_offset = toff;
	uint32_t end = toff + PARTTABLE_SECTOR_SIZE;
	int have_table = parttable_decode_binary(sector.data, sector.len, &po, t, e) == 0;
	err_clear_msg(e);
	for (size_t i = 0; have_table && i < t->count; i++) {
		const struct parttable_entry *pe = &t->entries[i];
		int want = (pe->type == PARTTABLE_TYPE_DATA && (pe->subtype == 0x02 || pe->subtype == 0x04)) ||
			   !strcmp(pe->name, "esp_secure_cert");
		if (want && pe->offset + pe->size > end)
			end = pe->offset + pe->size;
	}
	buf_append_fill(img, 0xFF, end);
	memcpy(img->data + toff, sector.data, sector.len < PARTTABLE_SECTOR_SIZE ? sector.len : PARTTABLE_SECTOR_SIZE);
	for (size_t i = 0; have_table && i < t->count; i++) {
		const struct parttable_entry *pe = &t->entries[i];
		int want = (pe->type == PARTTABLE_TYPE_DATA && (pe->subtype == 0x02 || pe->subtype == 0x04)) ||
			   !strcmp(pe->name, "esp_secure_cert");
		if (!want)
			continue;
		buf_t part = BUF_INIT;
		fprintf(stderr, "espfab inspect: reading %s (0x%x bytes at 0x%x)\n", pe->name, pe->size, pe->offset);
		if (dev->ops->read_flash(dev, pe->offset, pe->size, &part, NULL, e)) {
			buf_wipe_data(&part);
			goto out;
		}
		memcpy(img->data + pe->offset, part.data, part.len < pe->size ? part.len : pe->size);
		buf_wipe_data(&part);
	}
	rc = 0;
out:
	free(t);
	buf_free_data(&sector);
	dev->ops->close(dev);
	return rc;
}
#endif

static int cmd_inspect_run(int argc, char **argv, err_t *e)
{
	const char *file = NULL, *port = NULL, *manifest = NULL, *mac = NULL;
	int json = 0;
	unsigned baud = 0; /* 0: the ROM loader's 115200 */
	uint32_t offset = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *val = NULL;
		const char *eq = strchr(a, '=');
		char name[64];
		if (a[0] == '-' && eq && (size_t)(eq - a) < sizeof name) {
			memcpy(name, a, (size_t)(eq - a));
			name[eq - a] = 0;
			val = eq + 1;
			a = name;
		}
#define NEED_VALUE()                                                                          \
	do {                                                                                  \
		if (!val) {                                                                   \
			if (i + 1 >= argc) {                                                  \
				err_set_msg(e, ERR_USAGE, "%s needs a value", a);             \
				return ERR_USAGE;                                             \
			}                                                                     \
			val = argv[++i];                                                      \
		}                                                                             \
	} while (0)
		if (!strcmp(a, "--json")) {
			json = 1;
		} else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			inspect_print_usage(stdout);
			return 0;
		} else if (!strcmp(a, "--port") || !strcmp(a, "-p")) {
			NEED_VALUE();
			port = val;
		} else if (!strcmp(a, "--baud") || !strcmp(a, "-b")) {
			NEED_VALUE();
			/* the loader's own parser: --baud means the same for run, tui, inspect, flash */
			if (loader_parse_baud(val, &baud, e))
				return ERR_USAGE;
		} else if (!strcmp(a, "--offset")) {
			NEED_VALUE();
			if (cli_parse_u32(val, "--offset", &offset, e))
				return ERR_USAGE;
		} else if (!strcmp(a, "--manifest")) {
			NEED_VALUE();
			manifest = val;
		} else if (!strcmp(a, "--mac")) {
			NEED_VALUE();
			mac = val;
		} else if (a[0] == '-' && a[1]) {
			inspect_print_usage(stderr);
			err_set_msg(e, ERR_USAGE, "unknown option '%s'", a);
			return ERR_USAGE;
		} else if (!file) {
			file = a;
		} else {
			inspect_print_usage(stderr);
			err_set_msg(e, ERR_USAGE, "one FILE only ('%s' is extra)", a);
			return ERR_USAGE;
		}
#undef NEED_VALUE
	}
	if (!!file == !!port) {
		inspect_print_usage(stderr);
		err_set_msg(e, ERR_USAGE, "give either --port PORT or FILE");
		return ERR_USAGE;
	}
	if (baud && !port) {
		inspect_print_usage(stderr);
		err_set_msg(e, ERR_USAGE, "--baud applies to --port only");
		return ERR_USAGE;
	}
	buf_t data = BUF_INIT;
	char devmac[20] = "";
	if (port) {
#if INSPECT_HAVE_DEVICE
		if (inspect_read_device(port, baud, offset ? offset : PARTTABLE_DEFAULT_OFFSET, &data, devmac,
					sizeof devmac, e)) {
			buf_wipe_data(&data);
			return e->code ? e->code : ERR_DEVICE;
		}
		if (!mac && devmac[0])
			mac = devmac;
#else
		(void)devmac;
		err_set_msg(e, ERR_DEVICE, "--port: this build has no device loader; read the flash with "
			    "`espfab flash --port P read 0 SIZE FILE` and inspect the file");
		return ERR_DEVICE;
#endif
	} else if (fileio_read_file(file, &data, e)) {
		return ERR_CHECK;
	}
	struct ui_inspect_opts io = {file ? file : port, offset, mac ? NULL : manifest};
	json_t *view = ui_inspect_decode(data.data, data.len, &io, e);
	if (view && mac && manifest && ui_inspect_diff_manifest(view, manifest, mac, e)) {
		json_decref(view);
		view = NULL;
	}
	if (!view) {
		buf_wipe_data(&data);
		return e->code ? e->code : ERR_CHECK;
	}
	int rc = 0;
	if (json) {
		char *s = json_dumps(view, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		if (s) {
			printf("%s\n", s);
			free(s);
		}
	} else if (isatty(STDIN_FILENO) && isatty(STDOUT_FILENO)) {
		struct ui_options o;
		memset(&o, 0, sizeof o);
		o.inspect_view = view;
		o.inspect_data = data.data;
		o.inspect_len = data.len;
		o.backend_missing = "no device: this is a file";
		if (ui_app_run(&o, NULL, NULL, e))
			rc = e->code ? e->code : ERR_USAGE;
	} else {
		inspect_print_text(view);
	}
	/* the exit code says whether the content is sound, as a check */
	if (!rc && json_integer_value(json_object_get(view, "problems")) > 0) {
		rc = ERR_CHECK;
		inspect_name_problems(view, file ? file : port, e);
	}
	json_decref(view);
	/* a partition file may hold keys: do not leave them in freed memory */
	buf_wipe_data(&data);
	return rc;
}

CLI_COMMAND(inspect, "inspect", 40, "decode partition table, esp_secure_cert and NVS of a device or file",
	    cmd_inspect_run)
