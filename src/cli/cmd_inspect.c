/* `espfab inspect (--port P | FILE) [--json]`: the partition table, esp_secure_cert and NVS
 * partitions of a flash image, a partition table or one partition file (detected by content),
 * decoded; --json prints the view, otherwise the TUI inspector browses it (text when the
 * output is not a terminal). Private key bytes are never shown. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "cli/cli.h"
#include "core/buf.h"
#include "core/fileio.h"
#include "ui_app.h"
#include "ui_inspect.h"

static void inspect_print_usage(FILE *f)
{
	fprintf(f, "usage: espfab inspect (--port PORT | FILE) [--json] [--offset TABLE_OFFSET]\n"
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

static int cmd_inspect_run(int argc, char **argv, err_t *e)
{
	const char *file = NULL, *port = NULL, *manifest = NULL, *mac = NULL;
	int json = 0;
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
	if (port) {
		err_set_msg(e, ERR_DEVICE, "--port: reading partitions from a device needs the provisioning engine, "
			    "which this build does not have; read the flash with `espfab flash --port P read` "
			    "and inspect the file");
		return ERR_DEVICE;
	}
	buf_t data = BUF_INIT;
	if (fileio_read_file(file, &data, e))
		return ERR_CHECK;
	struct ui_inspect_opts io = {file, offset, manifest};
	json_t *view = ui_inspect_decode(data.data, data.len, &io, e);
	if (view && mac && manifest)
		ui_inspect_diff_manifest(view, manifest, mac, e);
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
	if (!rc && json_integer_value(json_object_get(view, "problems")) > 0)
		rc = ERR_CHECK;
	json_decref(view);
	/* a partition file may hold keys: do not leave them in freed memory */
	buf_wipe_data(&data);
	return rc;
}

CLI_COMMAND(inspect, "inspect", 40, "decode partition table, esp_secure_cert and NVS of a device or file",
	    cmd_inspect_run)
