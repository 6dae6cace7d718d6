/* scr_inspect: the inspector. Browses a decoded view (ui_inspect, or the PARTITION views read
 * back from the device) as a tree of partitions, TLVs, namespaces and keys with their decoded
 * values; damage is shown in the error colour; x shows a partition's bytes in hex with every
 * secret byte masked. */
#include "ui_priv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ui_inspect.h"

#if __has_include("flow/profile.h")
#include "flow/profile.h"
#define INSP_HAVE_PROFILE 1
#else
#define INSP_HAVE_PROFILE 0
#endif

struct insp_row {
	int depth;
	char label[128];
	char path[256];
	json_t *node; /* borrowed */
	int container;
};

struct insp_state {
	WINDOW *w;
	json_t *expanded;  /* path → true/false set by the operator */
	struct insp_row *rows;
	size_t n_rows, cap_rows;
	int sel, top;
	int hex;           /* hex view shown */
	int hex_top;       /* first hex line */
	json_t *hex_part;  /* partition object the hex view shows (borrowed) */
	json_t *device_root; /* {"partitions": model.partitions} when no file view */
};

static struct insp_state *insp_get(struct ui_app *a)
{
	return a->screen_state[UI_SCR_INSPECT];
}

static json_t *insp_root(struct ui_app *a)
{
	if (a->opt->inspect_view)
		return (json_t *)a->opt->inspect_view;
	struct insp_state *s = insp_get(a);
	if (!s->device_root)
		s->device_root = json_object();
	json_object_set(s->device_root, "device partitions", a->model.partitions);
	return s->device_root;
}

/* What is open before the operator touches anything: the partitions, their decoded content
 * and every problem; the raw table and single TLVs stay closed so damage shows on the first
 * screen. */
static int insp_default_open(const char *path, int depth, const char *key, const json_t *node)
{
	if (depth == 0)
		return !key || strcmp(key, "partition_table");
	if (depth == 1) {
		const char *st = json_string_value(json_object_get(node, "status"));
		return !st || (strcmp(st, "empty") && strcmp(st, "not decoded"));
	}
	if (key && (!strcmp(key, "decoded") || !strcmp(key, "namespaces") || !strcmp(key, "values") ||
		    !strcmp(key, "problems") || !strcmp(key, "manifest_diff") ||
		    !strcmp(key, "device partitions")))
		return 1;
	/* TLVs yes, the slot-by-slot NVS entry table no */
	if (key && !strcmp(key, "entries"))
		return json_array_size(node) <= 16;
	const char *ns = strstr(path, "/namespaces/");
	return ns && !strchr(ns + 12, '/');
}

static int insp_is_open(struct insp_state *s, const char *path, int depth, const char *key,
			const json_t *node)
{
	json_t *v = json_object_get(s->expanded, path);
	if (v)
		return json_is_true(v);
	return insp_default_open(path, depth, key, node);
}

/* An NVS value ({"type","value"} and maybe "length") reads best on one line. */
static int insp_is_diff(const json_t *node)
{
	return json_is_object(node) && json_object_get(node, "field") && json_object_get(node, "match");
}

/* An NVS value ({"type","value"}, or the reader's {"namespace","key","encoding","value"}) reads
 * best on one line; so does a manifest comparison. */
static const char *insp_compact_value(const json_t *node)
{
	if (insp_is_diff(node))
		return "";
	if (!json_is_object(node) || json_object_size(node) > 6 || !json_object_get(node, "value"))
		return NULL;
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)node, k, v)
		if (json_is_object(v) || json_is_array(v))
			return NULL;
	return "";
}

static void insp_add_row(struct insp_state *s, int depth, const char *label, const char *path,
			 json_t *node)
{
	if (s->n_rows == s->cap_rows) {
		s->cap_rows = s->cap_rows ? s->cap_rows * 2 : 256;
		s->rows = realloc(s->rows, s->cap_rows * sizeof *s->rows);
		if (!s->rows)
			abort();
	}
	struct insp_row *r = &s->rows[s->n_rows++];
	r->depth = depth;
	snprintf(r->label, sizeof r->label, "%s", label);
	snprintf(r->path, sizeof r->path, "%s", path);
	r->node = node;
	r->container = (json_is_object(node) || json_is_array(node)) && !insp_compact_value(node);
}

static void insp_walk(struct insp_state *s, json_t *node, int depth, const char *key,
		      const char *path)
{
	if (depth > 0)
		insp_add_row(s, depth - 1, key, path, node);
	if (!(json_is_object(node) || json_is_array(node)) || insp_compact_value(node))
		return;
	if (depth > 0 && !insp_is_open(s, path, depth - 1, key, node))
		return;
	char sub[256], label[128];
	if (json_is_object(node)) {
		const char *k;
		json_t *v;
		json_object_foreach(node, k, v) {
			snprintf(sub, sizeof sub, "%s/%s", path, k);
			insp_walk(s, v, depth + 1, k, sub);
		}
	} else {
		size_t i;
		json_t *v;
		json_array_foreach(node, i, v) {
			snprintf(sub, sizeof sub, "%s/%zu", path, i);
			const char *name = json_string_value(json_object_get(v, "name"));
			const char *tname = json_string_value(json_object_get(v, "type_name"));
			const char *key = json_string_value(json_object_get(v, "key"));
			if (name)
				snprintf(label, sizeof label, "%s", name);
			else if (key)
				snprintf(label, sizeof label, "%s", key);
			else if (tname)
				snprintf(label, sizeof label, "[%zu] %s", i, tname);
			else
				snprintf(label, sizeof label, "[%zu]", i);
			insp_walk(s, v, depth + 1, label, sub);
		}
	}
}

static void insp_rebuild(struct ui_app *a)
{
	struct insp_state *s = insp_get(a);
	s->n_rows = 0;
	insp_walk(s, insp_root(a), 0, NULL, "");
	if (s->sel >= (int)s->n_rows)
		s->sel = s->n_rows ? (int)s->n_rows - 1 : 0;
}

static void insp_init(struct ui_app *a)
{
	struct insp_state *s = calloc(1, sizeof *s);
	if (!s)
		abort();
	s->expanded = json_object();
	a->screen_state[UI_SCR_INSPECT] = s;
}

static void insp_fini(struct ui_app *a)
{
	struct insp_state *s = insp_get(a);
	if (s->w)
		delwin(s->w);
	json_decref(s->expanded);
	json_decref(s->device_root);
	free(s->rows);
	free(s);
}

static void insp_resize(struct ui_app *a)
{
	struct insp_state *s = insp_get(a);
	if (s->w)
		delwin(s->w);
	s->w = ui_term_sub(a, a->rows - 2, a->cols, 0, 0);
}

/* The row's text: "key: value" for scalars, "key {n}" / "key [n]" for containers. */
static void insp_row_text(const struct insp_row *r, int open, char *out, size_t n)
{
	char val[400];
	json_t *v = r->node;
	if (insp_is_diff(v)) {
		const char *want = json_string_value(json_object_get(v, "manifest"));
		const char *have = json_string_value(json_object_get(v, "device"));
		snprintf(out, n, "%*s  %s: %s (manifest %s, device %s)", r->depth * 2, "",
			 json_string_value(json_object_get(v, "field")),
			 json_is_true(json_object_get(v, "match")) ? "same" : "DIFFERENT",
			 want ? want : "-", have ? have : "-");
		return;
	}
	if (insp_compact_value(v)) {
		const char *type = json_string_value(json_object_get(v, "type"));
		if (!type)
			type = json_string_value(json_object_get(v, "encoding"));
		json_t *x = json_object_get(v, "value");
		char vs[300];
		if (json_is_true(json_object_get(v, "redacted")) || json_object_get(v, "hidden"))
			snprintf(vs, sizeof vs, "(secret, not shown)");
		else if (json_is_string(x))
			snprintf(vs, sizeof vs, "%s", json_string_value(x));
		else if (json_is_integer(x))
			snprintf(vs, sizeof vs, "%lld", (long long)json_integer_value(x));
		else
			snprintf(vs, sizeof vs, "%s", json_is_null(x) ? "-" : "?");
		snprintf(out, n, "%*s  %s: %s%s%s%s", r->depth * 2, "", r->label, vs, type ? " (" : "",
			 type ? type : "", type ? ")" : "");
		return;
	}
	if (json_is_object(v) || json_is_array(v)) {
		size_t cnt = json_is_object(v) ? json_object_size(v) : json_array_size(v);
		const char *status = json_string_value(json_object_get(v, "status"));
		const char *fmt = json_string_value(json_object_get(v, "format"));
		if (status)
			snprintf(val, sizeof val, "%s%s%s", fmt ? fmt : "", fmt ? ", " : "", status);
		else
			snprintf(val, sizeof val, json_is_object(v) ? "{%zu}" : "[%zu]", cnt);
		snprintf(out, n, "%*s%s %s  %s", r->depth * 2, "", open ? "-" : "+", r->label, val);
		return;
	}
	if (json_is_string(v))
		snprintf(val, sizeof val, "%s", json_string_value(v));
	else if (json_is_integer(v)) {
		json_int_t i = json_integer_value(v);
		if (!strcmp(r->label, "offset") || !strcmp(r->label, "size") || !strcmp(r->label, "table_offset"))
			snprintf(val, sizeof val, "0x%llx (%lld)", (unsigned long long)i, (long long)i);
		else
			snprintf(val, sizeof val, "%lld", (long long)i);
	} else if (json_is_real(v))
		snprintf(val, sizeof val, "%g", json_real_value(v));
	else if (json_is_boolean(v))
		snprintf(val, sizeof val, "%s", json_is_true(v) ? "true" : "false");
	else
		snprintf(val, sizeof val, "null");
	snprintf(out, n, "%*s  %s: %s", r->depth * 2, "", r->label, val);
}

static int insp_row_bad(const struct insp_row *r)
{
	if (!strcmp(r->label, "problem") || !strcmp(r->label, "error") || !strcmp(r->label, "table_error"))
		return 1;
	if (json_is_object(r->node)) {
		const char *st = json_string_value(json_object_get(r->node, "status"));
		if (st && !strcmp(st, "corrupt"))
			return 1;
		json_t *match = json_object_get(r->node, "match");
		if (json_is_false(match))
			return 1;
	}
	return 0;
}

/* The partition object a row belongs to: the nearest ancestor "/partitions/N" of a file view. */
static json_t *insp_row_partition(struct ui_app *a, const struct insp_row *r)
{
	unsigned idx;
	if (sscanf(r->path, "/partitions/%u", &idx) != 1)
		return NULL;
	return json_array_get(json_object_get(insp_root(a), "partitions"), idx);
}

static void insp_draw_hex(struct ui_app *a, struct insp_state *s)
{
	WINDOW *w = s->w;
	int h, wd;
	getmaxyx(w, h, wd);
	json_t *p = s->hex_part;
	const char *name = json_string_value(json_object_get(p, "name"));
	const char *fmt = json_string_value(json_object_get(p, "format"));
	json_int_t off = json_integer_value(json_object_get(p, "offset"));
	json_int_t size = json_integer_value(json_object_get(p, "size"));
	char title[160];
	snprintf(title, sizeof title, "Hex: %s at 0x%llx, %lld bytes (** = secret, not shown; x closes)",
		 name ? name : "partition", (unsigned long long)off, (long long)size);
	ui_term_box(a, w, title);
	if (off < 0 || size <= 0 || (size_t)(off + size) > a->opt->inspect_len) {
		ui_term_put(w, 1, 2, wd - 4, 0, "no bytes for this partition");
		return;
	}
	const uint8_t *d = a->opt->inspect_data + off;
	uint8_t *mask = malloc((size_t)size);
	if (!mask)
		abort();
	ui_inspect_secret_mask(d, (size_t)size, fmt, mask);
	long lines = (long)((size + 15) / 16);
	int rows = h - 2;
	if (s->hex_top > lines - rows)
		s->hex_top = (int)(lines - rows);
	if (s->hex_top < 0)
		s->hex_top = 0;
	for (int r = 0; r < rows && s->hex_top + r < lines; r++) {
		long base = (long)(s->hex_top + r) * 16;
		char line[128];
		int o = snprintf(line, sizeof line, "%08llx ", (unsigned long long)(off + base));
		char ascii[17];
		for (int i = 0; i < 16; i++) {
			long k = base + i;
			if (k >= size) {
				o += snprintf(line + o, sizeof line - (size_t)o, "   ");
				ascii[i] = ' ';
			} else if (mask[k]) {
				o += snprintf(line + o, sizeof line - (size_t)o, " **");
				ascii[i] = '*';
			} else {
				o += snprintf(line + o, sizeof line - (size_t)o, " %02x", d[k]);
				ascii[i] = d[k] >= 0x20 && d[k] < 0x7f ? (char)d[k] : '.';
			}
		}
		ascii[16] = 0;
		snprintf(line + o, sizeof line - (size_t)o, "  %s", ascii);
		ui_term_put(w, 1 + r, 1, wd - 2, 0, line);
	}
	free(mask);
}

static void insp_draw(struct ui_app *a, unsigned dirty)
{
	struct insp_state *s = insp_get(a);
	if (!(dirty & ~(unsigned)(UI_DIRTY_LOG | UI_DIRTY_PROGRESS)))
		return;
	WINDOW *w = s->w;
	int h, wd;
	getmaxyx(w, h, wd);
	werase(w);
	if (s->hex && s->hex_part) {
		insp_draw_hex(a, s);
		wnoutrefresh(w);
		return;
	}
	insp_rebuild(a);
	json_t *root = insp_root(a);
	char title[300];
	const char *src = json_string_value(json_object_get(root, "source"));
	const char *kind = json_string_value(json_object_get(root, "kind"));
	json_int_t probs = json_integer_value(json_object_get(root, "problems"));
	if (src)
		snprintf(title, sizeof title, "Inspect %s (%s)%s", src, kind ? kind : "?",
			 probs ? " - DAMAGED" : "");
	else
		snprintf(title, sizeof title, "Inspect: read back from the device (R reads)");
	if (probs)
		wattron(w, ui_term_attr(a, UI_C_ERROR));
	ui_term_box(a, w, title);
	if (probs)
		wattroff(w, ui_term_attr(a, UI_C_ERROR));
	int rows = h - 2;
	if (!a->opt->inspect_view && !json_object_size(a->model.partitions)) {
		ui_term_put(w, 1, 2, wd - 4, 0, "nothing read back yet: R reads the written partitions");
		wnoutrefresh(w);
		return;
	}
	if (s->sel < s->top)
		s->top = s->sel;
	if (s->sel >= s->top + rows)
		s->top = s->sel - rows + 1;
	for (int r = 0; r < rows && s->top + r < (int)s->n_rows; r++) {
		const struct insp_row *row = &s->rows[s->top + r];
		char text[600];
		int open = row->container && insp_is_open(s, row->path, row->depth, row->label, row->node);
		insp_row_text(row, open, text, sizeof text);
		int at = s->top + r == s->sel ? ui_term_attr(a, UI_C_SELECT)
			 : insp_row_bad(row) ? ui_term_attr(a, UI_C_ERROR) : (int)A_NORMAL;
		wattron(w, at);
		ui_term_put(w, 1 + r, 1, wd - 2, 1, text);
		wattroff(w, at);
	}
	if ((int)s->n_rows > rows)
		ui_term_putf(w, h - 1, wd - 14, 12, " %d/%zu ", s->sel + 1, s->n_rows);
	wnoutrefresh(w);
}

static void insp_toggle(struct insp_state *s, const struct insp_row *r, int open)
{
	json_object_set_new(s->expanded, r->path, json_boolean(open));
}

static void insp_readback(struct ui_app *a)
{
	int sent = 0;
	for (size_t i = 0; i < a->model.n_steps; i++) {
		const char *id = a->model.steps[i].id;
		if (strncmp(id, "write-", 6) || !strncmp(id, "write-fw", 8))
			continue;
		ui_app_send(a, evq_make_text(EVQ_CMD_READBACK, id + 6));
		sent++;
	}
	if (!sent)
		ui_app_set_status(a, 1, "no written partition known: run a plan first");
	else
		ui_app_set_status(a, 0, "reading back %d partition(s)", sent);
}

static int insp_key(struct ui_app *a, enum ui_action act, int ch)
{
	(void)ch;
	struct insp_state *s = insp_get(a);
	int rows = getmaxy(s->w) - 2;
	struct insp_row *r = s->n_rows ? &s->rows[s->sel] : NULL;
	if (s->hex) {
		switch (act) {
		case UI_ACT_UP: s->hex_top--; break;
		case UI_ACT_DOWN: s->hex_top++; break;
		case UI_ACT_PGUP: s->hex_top -= rows; break;
		case UI_ACT_PGDN: s->hex_top += rows; break;
		case UI_ACT_HOME: s->hex_top = 0; break;
		case UI_ACT_END: s->hex_top = 1 << 30; break;
		case UI_ACT_HEX:
		case UI_ACT_LEFT: s->hex = 0; break;
		case UI_ACT_TICK: return 1;
		default: return 0;
		}
		a->full_redraw = 1;
		return 1;
	}
	switch (act) {
	case UI_ACT_UP: s->sel--; break;
	case UI_ACT_DOWN: s->sel++; break;
	case UI_ACT_PGUP: s->sel -= rows; break;
	case UI_ACT_PGDN: s->sel += rows; break;
	case UI_ACT_HOME: s->sel = 0; break;
	case UI_ACT_END: s->sel = (int)s->n_rows - 1; break;
	case UI_ACT_ENTER:
		if (r && r->container)
			insp_toggle(s, r, !insp_is_open(s, r->path, r->depth, r->label, r->node));
		break;
	case UI_ACT_RIGHT:
		if (r && r->container)
			insp_toggle(s, r, 1);
		break;
	case UI_ACT_LEFT:
		if (r && r->container && insp_is_open(s, r->path, r->depth, r->label, r->node)) {
			insp_toggle(s, r, 0);
		} else if (r) {
			for (int i = s->sel - 1; i >= 0; i--)
				if (s->rows[i].depth < r->depth) {
					s->sel = i;
					break;
				}
		}
		break;
	case UI_ACT_HEX:
		if (!a->opt->inspect_data) {
			ui_app_set_status(a, 1, "no raw bytes here: the hex view is for files (espfab inspect FILE)");
			return 1;
		}
		s->hex_part = r ? insp_row_partition(a, r) : NULL;
		if (!s->hex_part) {
			ui_app_set_status(a, 1, "move to a partition first");
			return 1;
		}
		s->hex = 1;
		s->hex_top = 0;
		break;
	case UI_ACT_READBACK:
		insp_readback(a);
		return 1;
	case UI_ACT_CLICK: {
		/* a click selects the row, a click on the selected container opens or closes it */
		int y = a->mouse_y, x = a->mouse_x;
		if (!wmouse_trafo(s->w, &y, &x, FALSE) || y < 1 || y > rows)
			return 1;
		int row = s->top + y - 1;
		if (row >= (int)s->n_rows)
			return 1;
		if (row == s->sel && s->rows[row].container)
			insp_toggle(s, &s->rows[row],
				    !insp_is_open(s, s->rows[row].path, s->rows[row].depth, s->rows[row].label,
						  s->rows[row].node));
		s->sel = row;
		break;
	}
	case UI_ACT_TICK:
		return 1;
	default:
		return 0;
	}
	if (s->sel >= (int)s->n_rows)
		s->sel = (int)s->n_rows - 1;
	if (s->sel < 0)
		s->sel = 0;
	a->full_redraw = 1;
	return 1;
}

/* The manifest this device's row is in: given (demo), else the profile's output folder. */
static int insp_manifest_path(struct ui_app *a, char *out, size_t n)
{
	if (a->opt->manifest) {
		snprintf(out, n, "%s", a->opt->manifest);
		return 0;
	}
#if INSP_HAVE_PROFILE
	struct profile p;
	err_t e = {0};
	if (!a->profile[0] || profile_load(a->profile, &p, &e))
		return -1;
	snprintf(out, n, "%s/manifest.csv", p.output_dir ? p.output_dir : ".");
	profile_free(&p);
	return 0;
#else
	(void)out;
	(void)n;
	return -1;
#endif
}

/* Read-back factory data next to the device's manifest row, field by field. */
static void insp_diff_partition(struct ui_app *a, const struct evq_msg *m)
{
	char path[1100];
	if (!json_is_object(m->data) || insp_manifest_path(a, path, sizeof path) || access(path, R_OK))
		return;
	const char *mac = json_string_value(json_object_get(a->model.chip, "mac"));
	json_t *wrap = json_pack("{s:[O]}", "partitions", m->data);
	err_t e = {0};
	if (ui_inspect_diff_manifest(wrap, path, mac, &e) == 0) {
		json_t *d = json_object_get(wrap, "manifest_diff");
		/* only where there was something to compare: the factory data */
		if (json_array_size(d) > (mac ? 1u : 0u))
			json_object_set(m->data, "manifest_diff", d);
	}
	json_decref(wrap);
}

static void insp_event(struct ui_app *a, const struct evq_msg *m)
{
	if (m->type != EVQ_EV_PARTITION)
		return;
	insp_diff_partition(a, m);
	if (a->screen == UI_SCR_INSPECT)
		a->full_redraw = 1;
}

const struct ui_screen_ops ui_screen_inspect = {
	.name = "inspect",
	.title = "Inspector",
	.init = insp_init,
	.draw = insp_draw,
	.key = insp_key,
	.resize = insp_resize,
	.event = insp_event,
	.fini = insp_fini,
};
