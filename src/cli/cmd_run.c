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
#include "loader/loader.h"
#include "core/evq.h"
#include "flow/engine.h"
#include "flow/profile.h"
#include "flow/worker.h"

struct run_cli {
	bool json;
	bool yes;
};

/* The same JSON lines as the event queue's (evq_format_json), so scripts and the TUI tests read
 * one format. */
static void run_print_json(const struct engine_event *ev)
{
	struct evq_msg *m = flow_worker_make_msg(ev);
	char *line = evq_format_json(m);
	evq_msg_free(m);
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

/* Without --yes the operator types "yes" on stdin, or the script driving --json sends the
 * command line {"command":"confirm","step":"confirm"}; anything else declines. */
static bool run_confirm(void *ctx, const char *step, const char *text)
{
	(void)ctx;
	(void)text;
	if (isatty(STDIN_FILENO))
		fprintf(stderr, "type yes to burn: ");
	char line[512];
	if (!fgets(line, sizeof line, stdin))
		return false;
	line[strcspn(line, "\r\n")] = '\0';
	if (!strcmp(line, "yes"))
		return true;
	err_t e = {0};
	struct evq_msg *m = evq_parse_json(line, &e);
	bool yes = m && m->type == EVQ_CMD_CONFIRM && (!m->step || !strcmp(m->step, step));
	evq_msg_free(m);
	return yes;
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
	err_set_msg(e, ERR_USAGE, "%s (usage: espfab run --profile FILE --port PORT [--out DIR] [--baud N] [--json] "
		    "[--yes] [--dry-run])", what);
	return ERR_USAGE;
}

static int cmd_run_run(int argc, char **argv, err_t *e)
{
	struct run_cli c = {0};
	struct engine_options o = {0};
	const char *port = NULL;
	unsigned baud = 0;
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
		} else if ((v = run_option_value(argc, argv, &i, "baud", e, &rc)) ||
			   (v = run_option_value(argc, argv, &i, "b", e, &rc))) {
			/* the loader's own parser: --baud means the same for run, tui, inspect, flash */
			if (loader_parse_baud(v, &baud, e))
				return ERR_USAGE;
		} else if (rc) {
			return ERR_USAGE;
		} else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			printf("usage: espfab run --profile FILE --port PORT [--out DIR] [--baud N] [--json] [--yes] "
			       "[--dry-run]\n");
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
	/* A broken profile is bad input (exit 1), whatever state the port is in: check it before
	 * the port is opened. The engine loads it again for the run. */
	struct profile prof;
	if (profile_load(o.profile_path, &prof, e))
		return e->code ? e->code : ERR_CHECK;
	if (!baud)
		baud = prof.baud ? prof.baud : DEVICE_ROM_DEFAULT_BAUD;
	profile_free(&prof);
	struct flow_device *dev;
	if (device_rom_open_baud(port, baud, &dev, e)) {
		if (c.json) {
			struct engine_event ev = {.type = ENGINE_EV_ERROR, .code = ERR_DEVICE, .text = e->msg};
			run_print_json(&ev);
			json_t *sum = json_pack("{s:s}", "result", "failed");
			struct engine_event done = {.type = ENGINE_EV_DONE, .code = ERR_DEVICE, .data = sum};
			run_print_json(&done);
			json_decref(sum);
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
