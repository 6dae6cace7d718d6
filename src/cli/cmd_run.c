/* espfab run: headless provisioning of the board on one port with a product profile. With
 * --json every engine event is one JSON object per line on stdout (the same keys as the event
 * queue's JSON lines); otherwise a readable log. Irreversible steps need --yes, or "yes" typed
 * on stdin. Exit codes as DESIGN.md §4. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "cli/cli.h"
#include "core/log.h"
#include "flow/device_rom.h"
#include "flow/engine.h"

struct run_cli {
	bool json;
	bool yes;
};

static void run_put_text(json_t *o, const char *key, const char *v)
{
	if (v)
		json_object_set_new(o, key, json_string(v));
}

static void run_print_json(const struct engine_event *ev)
{
	json_t *o = json_object();
	json_object_set_new(o, "event", json_string(engine_name_event(ev->type)));
	switch (ev->type) {
	case ENGINE_EV_LOG:
		json_object_set_new(o, "level", json_string(log_name_level((enum log_level)ev->level)));
		run_put_text(o, "text", ev->text);
		break;
	case ENGINE_EV_CHIP:
		if (ev->data)
			json_object_set(o, "info", ev->data);
		break;
	case ENGINE_EV_PLAN:
		if (ev->data)
			json_object_set(o, "steps", ev->data);
		break;
	case ENGINE_EV_STEP:
		run_put_text(o, "step", ev->step);
		json_object_set_new(o, "state", json_string(engine_name_state(ev->state)));
		break;
	case ENGINE_EV_PROGRESS:
		run_put_text(o, "step", ev->step);
		json_object_set_new(o, "done", json_integer((json_int_t)ev->done));
		json_object_set_new(o, "total", json_integer((json_int_t)ev->total));
		json_object_set_new(o, "bytes_per_s", json_real(ev->bytes_per_s));
		break;
	case ENGINE_EV_NEED_CONFIRM:
		run_put_text(o, "step", ev->step);
		run_put_text(o, "text", ev->text);
		break;
	case ENGINE_EV_PARTITION:
		run_put_text(o, "name", ev->text);
		if (ev->data)
			json_object_set(o, "view", ev->data);
		break;
	case ENGINE_EV_PAYLOAD:
		run_put_text(o, "qr", ev->qr);
		run_put_text(o, "manual", ev->manual);
		break;
	case ENGINE_EV_DONE:
		json_object_set_new(o, "result", json_integer(ev->code));
		if (ev->data)
			json_object_set(o, "summary", ev->data);
		break;
	case ENGINE_EV_ERROR:
		json_object_set_new(o, "code", json_integer(ev->code));
		run_put_text(o, "text", ev->text);
		break;
	}
	char *line = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII);
	json_decref(o);
	if (line) {
		fputs(line, stdout);
		fputc('\n', stdout);
		fflush(stdout);
		free(line);
	}
}

static void run_print_text(const struct engine_event *ev)
{
	switch (ev->type) {
	case ENGINE_EV_LOG:
		printf("%s: %s\n", log_name_level((enum log_level)ev->level), ev->text);
		break;
	case ENGINE_EV_STEP:
		if (ev->state != ENGINE_STEP_PENDING)
			printf("[%-7s] %s\n", engine_name_state(ev->state), ev->step);
		break;
	case ENGINE_EV_PLAN: {
		json_t *steps = json_object_get(ev->data, "steps");
		size_t i;
		json_t *s;
		printf("plan: %s path, %s mode\n", json_string_value(json_object_get(ev->data, "path")),
		       json_string_value(json_object_get(ev->data, "mode")));
		json_array_foreach(steps, i, s)
			printf("  %s %s\n", json_is_true(json_object_get(s, "irreversible")) ? "!" : " ",
			       json_string_value(json_object_get(s, "text")));
		json_t *refusals = json_object_get(ev->data, "refusals");
		json_array_foreach(refusals, i, s)
			printf("  refused: %s\n", json_string_value(s));
		break;
	}
	case ENGINE_EV_NEED_CONFIRM:
		printf("%s\n", ev->text);
		break;
	case ENGINE_EV_PAYLOAD:
		printf("QR code: %s\nmanual code: %s\n", ev->qr, ev->manual);
		break;
	case ENGINE_EV_DONE:
		printf("result: %s\n", json_string_value(json_object_get(ev->data, "result")));
		break;
	default:
		break;
	}
	fflush(stdout);
}

static void run_emit(void *ctx, const struct engine_event *ev)
{
	const struct run_cli *c = ctx;
	if (c->json)
		run_print_json(ev);
	else
		run_print_text(ev);
}

/* Without --yes the operator types "yes" on stdin (a terminal, or the script driving --json). */
static bool run_confirm(void *ctx, const char *step, const char *text)
{
	(void)ctx;
	(void)step;
	(void)text;
	if (isatty(STDIN_FILENO))
		fprintf(stderr, "type yes to burn: ");
	char line[64];
	if (!fgets(line, sizeof line, stdin))
		return false;
	line[strcspn(line, "\r\n")] = '\0';
	return !strcmp(line, "yes") || strstr(line, "\"confirm\"") != NULL;
}

/* Options as the Python tools accept them: --opt value, --opt=value, -opt. */
static const char *run_option_value(int argc, char **argv, int *i, const char *name, err_t *e, int *rc)
{
	const char *a = argv[*i];
	if (a[0] == '-' && a[1] == '-')
		a += 2;
	else if (a[0] == '-')
		a += 1;
	size_t n = strlen(name);
	if (strncmp(a, name, n))
		return NULL;
	if (a[n] == '=')
		return a + n + 1;
	if (a[n] != '\0')
		return NULL;
	if (*i + 1 >= argc) {
		*rc = err_set_msg(e, ERR_USAGE, "--%s needs a value", name);
		return NULL;
	}
	return argv[++*i];
}

static int run_usage(err_t *e, const char *what)
{
	err_set_msg(e, ERR_USAGE, "%s (usage: espfab run --profile FILE --port PORT [--out DIR] [--json] [--yes] "
		    "[--dry-run])", what);
	return ERR_USAGE;
}

static int cmd_run_run(int argc, char **argv, err_t *e)
{
	struct run_cli c = {0};
	struct engine_options o = {0};
	const char *port = NULL;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v;
		int rc = 0;
		if (!strcmp(a, "--json") || !strcmp(a, "-json")) {
			c.json = true;
		} else if (!strcmp(a, "--yes") || !strcmp(a, "-y") || !strcmp(a, "-yes")) {
			c.yes = true;
		} else if (!strcmp(a, "--dry-run") || !strcmp(a, "-dry-run")) {
			o.dry_run = true;
		} else if ((v = run_option_value(argc, argv, &i, "profile", e, &rc))) {
			o.profile_path = v;
		} else if ((v = run_option_value(argc, argv, &i, "port", e, &rc))) {
			port = v;
		} else if ((v = run_option_value(argc, argv, &i, "out", e, &rc))) {
			o.out_dir = v;
		} else if (rc) {
			return ERR_USAGE;
		} else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			printf("usage: espfab run --profile FILE --port PORT [--out DIR] [--json] [--yes] [--dry-run]\n");
			return 0;
		} else {
			char msg[256];
			snprintf(msg, sizeof msg, "unknown option '%s'", a);
			return run_usage(e, msg);
		}
	}
	if (!o.profile_path)
		return run_usage(e, "--profile is required");
	if (!port)
		return run_usage(e, "--port is required");
	o.assume_yes = c.yes;
	struct flow_device *dev;
	if (device_rom_open(port, &dev, e)) {
		if (c.json) {
			struct engine_event ev = {.type = ENGINE_EV_ERROR, .code = ERR_DEVICE, .text = e->msg};
			run_print_json(&ev);
		}
		return ERR_DEVICE;
	}
	struct engine_hooks h = {&c, run_emit, run_confirm, NULL};
	struct engine_result res;
	int code = engine_run_device(&o, dev, &h, &res, e);
	dev->ops->close(dev);
	return code;
}

CLI_COMMAND(run, "run", 5, "provision the board on --port with a product profile (headless)", cmd_run_run)
