/* `espfab tui` (and `espfab` with no arguments): the ncurses workstation. Makes the two queues
 * of DESIGN.md §3, attaches a backend (the provisioning engine, or a replayed JSON-lines run),
 * and hands the terminal to ui_app_run. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "ui_app.h"
#include "ui_deps.h"

#include "core/evq.h"
#include "loader/loader.h"
#include "ui_script.h"

#if UI_HAVE_ENGINE
#include "flow/worker.h"
#endif

#define TUI_QUEUE_CAPACITY 512
#define TUI_QUEUE_BLOCK_MS 2000

static void tui_print_usage(FILE *f)
{
	fprintf(f, "usage: espfab [tui] [--port PORT] [--baud B] [--profile FILE] [--profiles-dir DIR]\n"
		   "                  [--printer QUEUE | --label-file PNG|ZPL] [--replay JSONL [--pace MS]] [--mono]\n");
}

/* "--opt value" or "--opt=value"; *i advanced past a separate value. */
static const char *tui_option_value(int argc, char **argv, int *i, const char *name, err_t *e)
{
	size_t n = strlen(name);
	if (!strncmp(argv[*i], name, n) && argv[*i][n] == '=')
		return argv[*i] + n + 1;
	if (strcmp(argv[*i], name))
		return NULL;
	if (*i + 1 >= argc) {
		err_set_msg(e, ERR_USAGE, "%s needs a value", name);
		return NULL;
	}
	return argv[++*i];
}

static int cmd_tui_run(int argc, char **argv, err_t *e)
{
	struct ui_options o;
	memset(&o, 0, sizeof o);
	const char *replay = NULL;
	uint32_t pace = 0;
	unsigned baud = 0; /* 0: the profile's [device] baud, else the loader's default */
	for (int i = 1; i < argc; i++) {
		const char *v;
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			tui_print_usage(stdout);
			return 0;
		} else if (!strcmp(argv[i], "--mono")) {
			o.monochrome = 1;
		} else if ((v = tui_option_value(argc, argv, &i, "--port", e))) {
			o.port = v;
		} else if ((v = tui_option_value(argc, argv, &i, "--baud", e)) ||
			   (v = tui_option_value(argc, argv, &i, "-b", e))) {
			/* the loader's own parser: --baud means the same for run, tui, inspect, flash */
			if (loader_parse_baud(v, &baud, e))
				return ERR_USAGE;
		} else if ((v = tui_option_value(argc, argv, &i, "--profile", e))) {
			o.profile = v;
		} else if ((v = tui_option_value(argc, argv, &i, "--profiles-dir", e))) {
			o.profiles_dir = v;
		} else if ((v = tui_option_value(argc, argv, &i, "--replay", e))) {
			replay = v;
		} else if ((v = tui_option_value(argc, argv, &i, "--printer", e))) {
			o.printer = v;
		} else if ((v = tui_option_value(argc, argv, &i, "--label-file", e))) {
			o.label_file = v;
		} else if ((v = tui_option_value(argc, argv, &i, "--pace", e))) {
			if (cli_parse_u32(v, "--pace", &pace, e))
				return ERR_USAGE;
		} else {
			if (!e->msg[0])
				err_set_msg(e, ERR_USAGE, "unknown option '%s'", argv[i]);
			tui_print_usage(stderr);
			return ERR_USAGE;
		}
	}
	evq_t *cmds = evq_create(TUI_QUEUE_CAPACITY, TUI_QUEUE_BLOCK_MS, e);
	evq_t *events = cmds ? evq_create(TUI_QUEUE_CAPACITY, TUI_QUEUE_BLOCK_MS, e) : NULL;
	if (!events) {
		evq_destroy(cmds);
		return ERR_DEVICE;
	}
	struct ui_script *script = NULL;
#if UI_HAVE_ENGINE
	struct flow_worker *worker = NULL;
#else
	void *worker = NULL;
#endif
	int rc = 0;
	if (replay) {
		script = ui_script_start(replay, cmds, events, (int)pace, e);
		if (!script) {
			rc = e->code ? e->code : ERR_CHECK;
			goto out;
		}
	} else {
#if UI_HAVE_ENGINE
		struct flow_worker_options wo;
		memset(&wo, 0, sizeof wo);
		wo.baud = baud;
		if (flow_worker_start(cmds, events, &wo, &worker, e)) {
			rc = e->code ? e->code : ERR_DEVICE;
			goto out;
		}
#else
		(void)baud;
		o.backend_missing = "the provisioning engine is not in this build (espfab tui --replay FILE replays a run)";
#endif
	}
	if (ui_app_run(&o, script || worker ? cmds : NULL, events, e))
		rc = e->code ? e->code : ERR_USAGE;
out:
	evq_close(events);
	evq_close(cmds);
	ui_script_stop(script);
#if UI_HAVE_ENGINE
	flow_worker_stop(worker);
#endif
	evq_destroy(events);
	evq_destroy(cmds);
	return rc;
}

CLI_COMMAND(tui, "tui", 1, "the ncurses workstation (also: espfab with no arguments)", cmd_tui_run)
