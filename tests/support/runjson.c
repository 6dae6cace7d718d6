#include "runjson.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void runjson_free(struct run_out *r)
{
	json_decref(r->done);
	json_decref(r->payload);
	json_decref(r->plan);
	json_decref(r->views);
	free(r->folder);
	buf_free_data(&r->out);
	buf_free_data(&r->err);
	memset(r, 0, sizeof *r);
}

void runjson_espfab_run(const char *dir, const char *profile, int port, bool yes,
			struct run_out *r)
{
	memset(r, 0, sizeof *r);
	char portarg[64];
	snprintf(portarg, sizeof portarg, "socket://127.0.0.1:%d", port);
	char *out = testutil_join_path(dir, "out");
	char *argv[] = {"espfab", "run", "--profile", (char *)profile, "--port", portarg, "--out", out,
			"--json", yes ? "--yes" : NULL, NULL};
	r->rc = testutil_run_espfab(dir, argv, &r->out, &r->err);
	free(out);
	r->views = json_object();
	const char *text = buf_terminate_str(&r->out);
	for (const char *line = text; *line;) {
		const char *nl = strchr(line, '\n');
		size_t n = nl ? (size_t)(nl - line) : strlen(line);
		json_error_t je;
		json_t *ev = json_loadb(line, n, 0, &je);
		if (!ev)
			fail_msg("not a JSON line: %.*s", (int)n, line);
		const char *kind = json_string_value(json_object_get(ev, "event"));
		assert_non_null(kind);
		if (!strcmp(kind, "done"))
			r->done = json_incref(ev);
		else if (!strcmp(kind, "payload"))
			r->payload = json_incref(ev);
		else if (!strcmp(kind, "plan"))
			/* the plan object travels under "steps"; its step list is its own "steps" */
			r->plan = json_incref(json_object_get(json_object_get(ev, "steps"), "steps"));
		else if (!strcmp(kind, "partition"))
			json_object_set(r->views, json_string_value(json_object_get(ev, "name")),
					json_object_get(ev, "view"));
		json_decref(ev);
		line += n + (nl ? 1 : 0);
	}
	const char *f = runjson_summary(r, "folder");
	r->folder = f ? strdup(f) : NULL;
}

const char *runjson_summary(const struct run_out *r, const char *key)
{
	return json_string_value(json_object_get(json_object_get(r->done, "summary"), key));
}
