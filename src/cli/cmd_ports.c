/* espfab ports: the host's serial ports with USB ids, serial numbers and adapter families. */
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "link/port_list.h"

static int cmd_ports_run(int argc, char **argv, err_t *e)
{
	bool json = false;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json") || !strcmp(argv[i], "-json"))
			json = true;
		else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			printf("usage: espfab ports [--json]\n");
			return 0;
		} else
			return err_set_msg(e, ERR_USAGE, "unknown argument '%s' (usage: ports [--json])",
					   argv[i]);
	}
	struct port_info *ports;
	size_t n;
	if (port_list_enumerate(&ports, &n, e))
		return ERR_DEVICE;
	if (json) {
		json_t *arr = json_array();
		for (size_t i = 0; i < n; i++) {
			struct port_info *p = &ports[i];
			json_t *o = json_object();
			json_object_set_new(o, "port", json_string(p->name));
			json_object_set_new(o, "description", json_string(p->description));
			if (p->is_usb) {
				char id[8];
				snprintf(id, sizeof id, "%04x", p->usb_vid);
				json_object_set_new(o, "vid", json_string(id));
				snprintf(id, sizeof id, "%04x", p->usb_pid);
				json_object_set_new(o, "pid", json_string(id));
				json_object_set_new(o, "serial", json_string(p->serial));
				json_object_set_new(o, "manufacturer", json_string(p->manufacturer));
				json_object_set_new(o, "product", json_string(p->product));
			}
			json_object_set_new(o, "adapter", p->adapter ? json_string(p->adapter) : json_null());
			json_array_append_new(arr, o);
		}
		char *s = json_dumps(arr, JSON_INDENT(2));
		printf("%s\n", s);
		free(s);
		json_decref(arr);
	} else if (n == 0) {
		printf("no serial ports found\n");
	} else {
		printf("%-24s %-9s %-16s %-20s %s\n", "PORT", "VID:PID", "ADAPTER", "SERIAL",
		       "DESCRIPTION");
		for (size_t i = 0; i < n; i++) {
			struct port_info *p = &ports[i];
			char id[16] = "-";
			if (p->is_usb)
				snprintf(id, sizeof id, "%04x:%04x", p->usb_vid, p->usb_pid);
			printf("%-24s %-9s %-16s %-20s %s\n", p->name, id, p->adapter ? p->adapter : "-",
			       p->serial[0] ? p->serial : "-", p->description);
		}
	}
	free(ports);
	return 0;
}

CLI_COMMAND(ports, "ports", 10, "list serial ports with USB vendor/product ids [--json]",
	    cmd_ports_run)
