#include "ui_model.h"

#include "label/label_layout.h"
#include "loader/chip.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- text helpers ---- */

static void ui_copy_str(char *dst, size_t n, const char *src)
{
	if (!n)
		return;
	snprintf(dst, n, "%s", src ? src : "");
}

void ui_format_manual(const char *digits, char *out, size_t n)
{
	/* the label module's grouping, so the screen and the printed label read the same */
	err_t e = {0};
	if (!digits || label_format_manual(digits, "auto", out, n, &e)) {
		ui_copy_str(out, n, digits);
		return;
	}
	for (char *p = out; *p; p++)
		if (*p == '\n')
			*p = ' ';
}

void ui_format_bytes(double bytes, char *out, size_t n)
{
	static const char *const units[] = {"B", "KiB", "MiB", "GiB"};
	int u = 0;
	while (bytes >= 1024.0 && u < 3) {
		bytes /= 1024.0;
		u++;
	}
	if (u == 0)
		snprintf(out, n, "%.0f %s", bytes, units[u]);
	else
		snprintf(out, n, "%.1f %s", bytes, units[u]);
}

void ui_format_eta(uint64_t done, uint64_t total, double bytes_per_s, char *out, size_t n)
{
	if (total <= done) {
		ui_copy_str(out, n, "0:00");
		return;
	}
	if (!(bytes_per_s > 0.0) || !isfinite(bytes_per_s)) {
		ui_copy_str(out, n, "--:--");
		return;
	}
	double secs = ceil((double)(total - done) / bytes_per_s);
	if (secs > 359999.0)
		secs = 359999.0;
	unsigned long s = (unsigned long)secs;
	if (s >= 3600)
		snprintf(out, n, "%lu:%02lu:%02lu", s / 3600, s / 60 % 60, s % 60);
	else
		snprintf(out, n, "%lu:%02lu", s / 60, s % 60);
}

void ui_format_progress(uint64_t done, uint64_t total, double bytes_per_s, int width, char *out,
			size_t n)
{
	char rate[32], eta[32], tail[96];
	ui_format_bytes(bytes_per_s, rate, sizeof rate);
	ui_format_eta(done, total, bytes_per_s, eta, sizeof eta);
	unsigned pct = total ? (unsigned)(done >= total ? 100 : done * 100 / total) : 0;
	snprintf(tail, sizeof tail, " %3u%% %s/s ETA %s", pct, rate, eta);
	int bar = width - 2 - (int)strlen(tail);
	if (bar < 4) {
		ui_copy_str(out, n, tail + 1);
		return;
	}
	if ((size_t)width + 1 > n)
		bar = (int)n - 3 - (int)strlen(tail);
	if (bar < 4) {
		ui_copy_str(out, n, tail + 1);
		return;
	}
	int fill = total ? (int)((double)bar * (double)(done > total ? total : done) / (double)total) : 0;
	size_t o = 0;
	out[o++] = '[';
	for (int i = 0; i < bar; i++)
		out[o++] = i < fill ? '#' : '.';
	out[o++] = ']';
	out[o] = 0;
	snprintf(out + o, n - o, "%s", tail);
}

int ui_confirm_matches(const char *typed)
{
	return typed && strcmp(typed, UI_CONFIRM_WORD) == 0;
}


/* ---- JSON lookups tolerant of the field names a chip description may use ---- */

static json_t *ui_json_get_any(const json_t *o, const char *const *names)
{
	if (!json_is_object(o))
		return NULL;
	for (int i = 0; names[i]; i++) {
		json_t *v = json_object_get(o, names[i]);
		if (v && !json_is_null(v))
			return v;
	}
	return NULL;
}

/* A scalar as text: strings as they are, integers in decimal, booleans yes/no. */
static int ui_json_to_text(const json_t *v, char *out, size_t n)
{
	if (json_is_string(v))
		snprintf(out, n, "%s", json_string_value(v));
	else if (json_is_integer(v))
		snprintf(out, n, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
	else if (json_is_real(v))
		snprintf(out, n, "%g", json_real_value(v));
	else if (json_is_boolean(v))
		snprintf(out, n, "%s", json_is_true(v) ? "yes" : "no");
	else
		return -1;
	return 0;
}

static int ui_json_truth(const json_t *v)
{
	if (json_is_boolean(v))
		return json_is_true(v);
	if (json_is_integer(v))
		return json_integer_value(v) != 0;
	if (json_is_string(v))
		return !strcmp(json_string_value(v), "yes") || !strcmp(json_string_value(v), "true") ||
		       !strcmp(json_string_value(v), "on") || !strcmp(json_string_value(v), "enabled");
	return 0;
}

/* ---- model ---- */

void ui_model_init(struct ui_model *m)
{
	memset(m, 0, sizeof *m);
	m->partitions = json_object();
	m->dirty = UI_DIRTY_ALL;
}

static void ui_model_free_steps(struct ui_model *m)
{
	free(m->steps);
	m->steps = NULL;
	m->n_steps = 0;
}

void ui_model_free(struct ui_model *m)
{
	ui_model_free_steps(m);
	json_decref(m->chip);
	json_decref(m->summary);
	json_decref(m->partitions);
	memset(m, 0, sizeof *m);
}

void ui_model_reset_device(struct ui_model *m)
{
	json_decref(m->chip);
	m->chip = NULL;
	m->have_chip = 0;
	for (size_t i = 0; i < m->n_steps; i++) {
		m->steps[i].state = EVQ_STEP_PENDING;
		m->steps[i].has_progress = 0;
		m->steps[i].done = m->steps[i].total = 0;
		m->steps[i].bytes_per_s = 0;
	}
	m->running = 0;
	m->planned = 0;
	ui_model_clear_confirm(m);
	m->qr[0] = m->manual[0] = 0;
	m->done = 0;
	m->result = 0;
	json_decref(m->summary);
	m->summary = NULL;
	m->error_code = 0;
	m->error[0] = 0;
	json_object_clear(m->partitions);
	m->print_state = UI_PRINT_NONE;
	m->print_text[0] = 0;
	m->chip_after[0] = 0;
	m->dirty = UI_DIRTY_ALL;
}

void ui_model_print_sent(struct ui_model *m)
{
	m->print_state = UI_PRINT_PENDING;
	ui_copy_str(m->print_text, sizeof m->print_text, "printing the label...");
	m->dirty |= UI_DIRTY_PRINT;
}

/* The DONE that answers PRINT: its summary says "printed" or "print-failed". Returns the dirty
 * bits, 0 when msg is not such a DONE. */
int ui_model_is_print_answer(const struct evq_msg *msg)
{
	const char *r = msg->type == EVQ_EV_DONE ? json_string_value(json_object_get(msg->data, "result")) : NULL;
	return r && (!strcmp(r, "printed") || !strcmp(r, "print-failed"));
}

static unsigned ui_model_apply_print(struct ui_model *m, const struct evq_msg *msg)
{
	if (!ui_model_is_print_answer(msg))
		return 0;
	const char *r = json_string_value(json_object_get(msg->data, "result"));
	const char *target = json_string_value(json_object_get(msg->data, "target"));
	const char *err = json_string_value(json_object_get(msg->data, "error"));
	json_int_t job = json_integer_value(json_object_get(msg->data, "job"));
	if (!strcmp(r, "printed") && msg->code == 0) {
		m->print_state = UI_PRINT_OK;
		if (job > 0)
			snprintf(m->print_text, sizeof m->print_text, "printed to %s (job %lld)",
				 target ? target : "the printer", (long long)job);
		else
			snprintf(m->print_text, sizeof m->print_text, "printed to %s", target ? target : "the printer");
	} else {
		m->print_state = UI_PRINT_FAILED;
		snprintf(m->print_text, sizeof m->print_text, "print failed: %s", err ? err : "no reason given");
	}
	return UI_DIRTY_PRINT;
}

void ui_model_clear_confirm(struct ui_model *m)
{
	m->need_confirm = 0;
	m->confirm_step[0] = m->confirm_text[0] = 0;
	m->dirty |= UI_DIRTY_CONFIRM;
}

static struct ui_step *ui_model_step_mut(struct ui_model *m, const char *id)
{
	if (!id)
		return NULL;
	for (size_t i = 0; i < m->n_steps; i++)
		if (!strcmp(m->steps[i].id, id))
			return &m->steps[i];
	return NULL;
}

const struct ui_step *ui_model_find_step(const struct ui_model *m, const char *id)
{
	return ui_model_step_mut((struct ui_model *)m, id);
}

const struct ui_step *ui_model_active_step(const struct ui_model *m)
{
	for (size_t i = 0; i < m->n_steps; i++)
		if (m->steps[i].state == EVQ_STEP_RUNNING && m->steps[i].has_progress)
			return &m->steps[i];
	return NULL;
}

/* A step from the PLAN array: an object with id and text (or a bare string id). */
static void ui_model_load_step(struct ui_step *s, const json_t *v, size_t index)
{
	static const char *const id_names[] = {"id", "step", "name", NULL};
	static const char *const text_names[] = {"text", "title", "description", "label", NULL};
	static const char *const kind_names[] = {"kind", "type", NULL};
	static const char *const irr_names[] = {"irreversible", "burn", NULL};
	static const char *const state_names[] = {"state", NULL};
	memset(s, 0, sizeof *s);
	if (json_is_string(v)) {
		ui_copy_str(s->id, sizeof s->id, json_string_value(v));
		ui_copy_str(s->text, sizeof s->text, json_string_value(v));
		return;
	}
	json_t *x = ui_json_get_any(v, id_names);
	if (!x || ui_json_to_text(x, s->id, sizeof s->id))
		snprintf(s->id, sizeof s->id, "step-%zu", index + 1);
	x = ui_json_get_any(v, text_names);
	if (!x || ui_json_to_text(x, s->text, sizeof s->text))
		ui_copy_str(s->text, sizeof s->text, s->id);
	x = ui_json_get_any(v, kind_names);
	if (x)
		ui_json_to_text(x, s->kind, sizeof s->kind);
	x = ui_json_get_any(v, irr_names);
	s->irreversible = x ? ui_json_truth(x) : 0;
	x = ui_json_get_any(v, state_names);
	if (json_is_string(x)) {
		const char *st = json_string_value(x);
		for (int k = EVQ_STEP_PENDING; k <= EVQ_STEP_SKIPPED; k++)
			if (!strcmp(st, evq_name_state((enum evq_step_state)k)))
				s->state = (enum evq_step_state)k;
	}
	x = json_object_get(v, "done");
	if (json_is_true(x))
		s->state = EVQ_STEP_DONE;
}

static unsigned ui_model_apply_plan(struct ui_model *m, const json_t *data)
{
	const json_t *arr = data;
	if (json_is_object(data))
		arr = json_object_get(data, "steps");
	ui_model_free_steps(m);
	if (!json_is_array(arr))
		return UI_DIRTY_PLAN;
	size_t n = json_array_size(arr);
	m->steps = n ? calloc(n, sizeof *m->steps) : NULL;
	if (n && !m->steps)
		abort();
	for (size_t i = 0; i < n; i++)
		ui_model_load_step(&m->steps[i], json_array_get(arr, i), i);
	m->n_steps = n;
	return UI_DIRTY_PLAN | UI_DIRTY_STEPS;
}

static void ui_model_add_log(struct ui_model *m, int level, const char *text)
{
	/* multi-line text becomes several lines, so the pane never draws a control character */
	const char *p = text ? text : "";
	do {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		size_t slot = (m->log_head + m->log_count) % UI_LOG_LINES;
		if (m->log_count == UI_LOG_LINES) {
			slot = m->log_head;
			m->log_head = (m->log_head + 1) % UI_LOG_LINES;
		} else {
			m->log_count++;
		}
		struct ui_log_line *l = &m->log[slot];
		l->level = level;
		if (len >= sizeof l->text)
			len = sizeof l->text - 1;
		memcpy(l->text, p, len);
		l->text[len] = 0;
		for (size_t i = 0; i < len; i++)
			if ((unsigned char)l->text[i] < 0x20)
				l->text[i] = ' ';
		m->log_total++;
		p = nl ? nl + 1 : NULL;
	} while (p && *p);
}

void ui_model_note(struct ui_model *m, int level, const char *text)
{
	ui_model_add_log(m, level, text);
	m->dirty |= UI_DIRTY_LOG;
}

const struct ui_log_line *ui_model_get_log(const struct ui_model *m, size_t i)
{
	if (i >= m->log_count)
		return NULL;
	return &m->log[(m->log_head + i) % UI_LOG_LINES];
}

unsigned ui_model_apply(struct ui_model *m, const struct evq_msg *msg)
{
	unsigned d = 0;
	struct ui_step *s;
	switch (msg->type) {
	case EVQ_EV_LOG:
		ui_model_add_log(m, msg->level, msg->text);
		d = UI_DIRTY_LOG;
		break;
	case EVQ_EV_CHIP:
		json_decref(m->chip);
		m->chip = msg->data ? json_incref(msg->data) : json_object();
		m->have_chip = 1;
		ui_copy_str(m->chip_after, sizeof m->chip_after,
			    json_string_value(json_object_get(m->chip, "after_step")));
		d = UI_DIRTY_CHIP;
		break;
	case EVQ_EV_PLAN:
		d = ui_model_apply_plan(m, msg->data);
		break;
	case EVQ_EV_STEP:
		s = ui_model_step_mut(m, msg->step);
		if (!s) {
			/* a step the plan did not list still gets a row: nothing is hidden */
			struct ui_step *n = realloc(m->steps, (m->n_steps + 1) * sizeof *n);
			if (!n)
				abort();
			m->steps = n;
			/* it is happening now: before the first step still to come */
			size_t at = 0;
			while (at < m->n_steps && m->steps[at].state != EVQ_STEP_PENDING)
				at++;
			memmove(&m->steps[at + 1], &m->steps[at], (m->n_steps - at) * sizeof *n);
			m->n_steps++;
			s = &m->steps[at];
			memset(s, 0, sizeof *s);
			ui_copy_str(s->id, sizeof s->id, msg->step ? msg->step : "?");
			ui_copy_str(s->text, sizeof s->text, s->id);
			d |= UI_DIRTY_PLAN;
		}
		s->state = msg->state;
		if (msg->state == EVQ_STEP_RUNNING)
			m->running = 1;
		if (msg->state == EVQ_STEP_DONE && s->has_progress && s->total)
			s->done = s->total;
		d |= UI_DIRTY_STEPS | UI_DIRTY_PROGRESS;
		break;
	case EVQ_EV_PROGRESS:
		s = ui_model_step_mut(m, msg->step);
		if (s) {
			s->has_progress = 1;
			s->done = msg->done;
			s->total = msg->total;
			s->bytes_per_s = msg->bytes_per_s;
			d = UI_DIRTY_PROGRESS;
		}
		break;
	case EVQ_EV_NEED_CONFIRM:
		m->need_confirm = 1;
		ui_copy_str(m->confirm_step, sizeof m->confirm_step, msg->step);
		ui_copy_str(m->confirm_text, sizeof m->confirm_text, msg->text);
		d = UI_DIRTY_CONFIRM;
		break;
	case EVQ_EV_PARTITION:
		if (msg->text)
			json_object_set(m->partitions, msg->text, msg->data ? msg->data : json_null());
		d = UI_DIRTY_PARTITION;
		break;
	case EVQ_EV_PAYLOAD:
		ui_copy_str(m->qr, sizeof m->qr, msg->qr);
		ui_copy_str(m->manual, sizeof m->manual, msg->manual);
		d = UI_DIRTY_PAYLOAD;
		break;
	case EVQ_EV_DONE:
		/* a label job's answer: the run's state stays as it is */
		if ((d = ui_model_apply_print(m, msg)) != 0)
			break;
		m->running = 0;
		/* the end of a PLAN (detect and plan only): the device is ready to run, not done */
		if (msg->code == 0 && msg->data &&
		    json_is_string(json_object_get(msg->data, "result")) &&
		    !strcmp(json_string_value(json_object_get(msg->data, "result")), "planned")) {
			m->planned = 1;
			d = UI_DIRTY_STEPS;
			break;
		}
		m->done = 1;
		m->result = msg->code;
		json_decref(m->summary);
		m->summary = msg->data ? json_incref(msg->data) : NULL;
		if (m->need_confirm)
			ui_model_clear_confirm(m);
		d = UI_DIRTY_DONE | UI_DIRTY_CONFIRM;
		break;
	case EVQ_EV_ERROR:
		m->error_code = msg->code;
		ui_copy_str(m->error, sizeof m->error, msg->text);
		ui_model_add_log(m, LOG_ERROR, msg->text);
		d = UI_DIRTY_ERROR | UI_DIRTY_LOG;
		break;
	default:
		break;
	}
	m->dirty |= d;
	return d;
}

/* ---- device panel ---- */

static size_t ui_kv_add(struct ui_kv *out, size_t i, size_t max, const char *key, const char *value,
			int warn)
{
	if (i >= max)
		return i;
	ui_copy_str(out[i].key, sizeof out[i].key, key);
	ui_copy_str(out[i].value, sizeof out[i].value, value);
	out[i].warn = warn;
	return i + 1;
}

static void ui_format_mac_value(const json_t *v, char *out, size_t n)
{
	if (json_is_array(v)) {
		size_t o = 0;
		out[0] = 0;
		for (size_t i = 0; i < json_array_size(v) && o + 4 < n; i++)
			o += (size_t)snprintf(out + o, n - o, "%s%02x", i ? ":" : "",
					      (unsigned)json_integer_value(json_array_get(v, i)) & 0xff);
		return;
	}
	if (ui_json_to_text(v, out, n))
		out[0] = 0;
}

static void ui_format_revision(const json_t *chip, char *out, size_t n)
{
	static const char *const rev_names[] = {"revision", "rev", "chip_revision", NULL};
	static const char *const major_names[] = {"rev_major", "revision_major", "major", NULL};
	static const char *const minor_names[] = {"rev_minor", "revision_minor", "minor", NULL};
	out[0] = 0;
	json_t *r = ui_json_get_any(chip, rev_names);
	json_t *maj = ui_json_get_any(r && json_is_object(r) ? r : chip, major_names);
	json_t *min = ui_json_get_any(r && json_is_object(r) ? r : chip, minor_names);
	if (json_is_integer(maj)) {
		snprintf(out, n, "v%d.%d", (int)json_integer_value(maj),
			 json_is_integer(min) ? (int)json_integer_value(min) : 0);
		return;
	}
	if (r && !json_is_object(r) && !ui_json_to_text(r, out, n) && json_is_integer(r)) {
		/* esptool's single number: major * 100 + minor */
		int v = (int)json_integer_value(r);
		snprintf(out, n, "v%d.%d", v / 100, v % 100);
	}
}

static void ui_format_size_value(const json_t *v, char *out, size_t n)
{
	if (json_is_integer(v)) {
		json_int_t b = json_integer_value(v);
		if (b >= 1024 * 1024 && b % (1024 * 1024) == 0)
			snprintf(out, n, "%" JSON_INTEGER_FORMAT " MB", b / (1024 * 1024));
		else if (b == 0)
			snprintf(out, n, "unknown");
		else
			ui_format_bytes((double)b, out, n);
		return;
	}
	if (ui_json_to_text(v, out, n))
		out[0] = 0;
}

static const char *ui_purpose_name(int p)
{
	const char *n = chip_purpose_name(p);
	return strcmp(n, "UNKNOWN") ? n : NULL;
}

/* The name an operator knows a key block by, from the chip table's eFuse layout: GEN2 chips and
 * the C2 call theirs BLOCK_KEYn, shown as espefuse's short alias KEYn; the ESP32's are BLOCK1-3.
 * idx counts key blocks (the CHIP event's "block"). */
static void ui_key_block_name(const struct chip_desc *cd, int idx, char *out, size_t n)
{
	const struct efuse_layout *lay = cd ? cd->efuse : NULL;
	if (lay && idx >= 0 && idx < lay->n_key_blocks && lay->first_key_block + idx < lay->n_blocks) {
		const char *name = lay->blocks[lay->first_key_block + idx].name;
		if (!strncmp(name, "BLOCK_KEY", 9))
			name += 6;
		ui_copy_str(out, n, name);
		return;
	}
	snprintf(out, n, "KEY%d", idx);
}

/* What a key block holds where the chip has no KEY_PURPOSE field. The ESP32's blocks have fixed
 * roles (BLOCK1 flash encryption, BLOCK2 secure boot, BLOCK3 user); the C2's single block is
 * described by the plan's C2 codes (1 XTS-AES-128 key, 2 the same derived, 3 secure boot digest
 * in the upper half). NULL: the purpose number is the KEY_PURPOSE code. */
static const char *ui_key_role(const struct chip_desc *cd, int idx, json_int_t purpose)
{
	static const char *const esp32_roles[] = {"FLASH_ENC", "SECURE_BOOT", "USER"};
	if (!cd || !cd->efuse)
		return NULL;
	if (cd->efuse->family == EFUSE_FAMILY_ESP32)
		return idx >= 0 && idx < 3 ? esp32_roles[idx] : "-";
	if (cd->efuse->family == EFUSE_FAMILY_C2) {
		switch (purpose) {
		case 1: return chip_purpose_name(KP_XTS_AES_128_KEY);
		case 2: return chip_purpose_name(KP_C2_XTS_AES_128_KEY_DERIVED);
		case 3: return chip_purpose_name(KP_C2_SECURE_BOOT_DIGEST);
		default: return "-";
		}
	}
	return NULL;
}

static size_t ui_describe_keys(const struct chip_desc *cd, const json_t *sec, struct ui_kv *out, size_t i,
			       size_t max)
{
	static const char *const keys_names[] = {"key_blocks", "keys", "key", "blocks", NULL};
	static const char *const blk_names[] = {"block", "name", "index", NULL};
	static const char *const purp_names[] = {"purpose", "purpose_name", NULL};
	static const char *const rd_names[] = {"rd_dis", "read_protected", "read_protect", NULL};
	static const char *const wr_names[] = {"wr_dis", "write_protected", NULL};
	json_t *arr = ui_json_get_any(sec, keys_names);
	if (!json_is_array(arr))
		return i;
	for (size_t k = 0; k < json_array_size(arr); k++) {
		json_t *b = json_array_get(arr, k);
		char purpose[48] = "", flags[48] = "";
		json_t *x = ui_json_get_any(b, blk_names);
		char bname[24] = "";
		int idx = (int)(k % 1000);
		if (x && json_is_integer(x))
			idx = (int)json_integer_value(x);
		if (x && !json_is_integer(x))
			ui_json_to_text(x, bname, sizeof bname);
		if (!bname[0])
			ui_key_block_name(cd, idx, bname, sizeof bname);
		x = ui_json_get_any(b, purp_names);
		const char *role = ui_key_role(cd, idx, json_is_integer(x) ? json_integer_value(x) : -1);
		if (role)
			ui_copy_str(purpose, sizeof purpose, role);
		else if (json_is_integer(x) && ui_purpose_name((int)json_integer_value(x)))
			snprintf(purpose, sizeof purpose, "%s", ui_purpose_name((int)json_integer_value(x)));
		else if (x)
			ui_json_to_text(x, purpose, sizeof purpose);
		json_t *empty = json_object_get(b, "empty");
		int is_empty = empty ? ui_json_truth(empty) : 0;
		int rd = ui_json_truth(ui_json_get_any(b, rd_names));
		int wr = ui_json_truth(ui_json_get_any(b, wr_names));
		snprintf(flags, sizeof flags, "%s%s%s", is_empty ? " empty" : "", rd ? " RD" : "",
			 wr ? " WR" : "");
		char value[96];
		snprintf(value, sizeof value, "%s%s", purpose[0] ? purpose : "-", flags);
		i = ui_kv_add(out, i, max, bname, value, !is_empty);
	}
	return i;
}

size_t ui_model_describe_chip(const struct ui_model *m, struct ui_kv *out, size_t max)
{
	static const char *const name_names[] = {"description", "chip_name", "name", "chip", "type", NULL};
	static const char *const mac_names[] = {"mac", "mac_address", NULL};
	static const char *const flash_names[] = {"flash_size", "flash", NULL};
	static const char *const xtal_names[] = {"crystal_mhz", "crystal", "xtal_mhz", "xtal", NULL};
	static const char *const sec_names[] = {"security", "efuse", "efuses", NULL};
	static const char *const fe_names[] = {"crypt_cnt", "spi_boot_crypt_cnt", "flash_crypt_cnt",
					       "fe_counter", NULL};
	static const char *const sb_names[] = {"secure_boot", "secure_boot_en", NULL};
	static const char *const sdm_names[] = {"secure_download", "secure_download_mode", NULL};
	static const char *const feon_names[] = {"flash_encryption", NULL};
	size_t i = 0;
	char v[96];
	if (!m->have_chip || !m->chip)
		return 0;
	const json_t *c = m->chip;
	const struct chip_desc *cd = NULL;
	json_t *x = ui_json_get_any(c, name_names);
	if (x && !ui_json_to_text(x, v, sizeof v)) {
		/* the chip table's spelling: "esp32h2" reads as ESP32-H2 */
		cd = chip_find_by_name(v);
		i = ui_kv_add(out, i, max, "Chip", cd ? cd->name : v, 0);
	}
	ui_format_revision(c, v, sizeof v);
	if (v[0])
		i = ui_kv_add(out, i, max, "Revision", v, 0);
	x = ui_json_get_any(c, mac_names);
	if (x) {
		ui_format_mac_value(x, v, sizeof v);
		i = ui_kv_add(out, i, max, "MAC", v, 0);
	}
	x = ui_json_get_any(c, flash_names);
	if (x) {
		ui_format_size_value(x, v, sizeof v);
		i = ui_kv_add(out, i, max, "Flash", v, 0);
	}
	x = ui_json_get_any(c, xtal_names);
	if (x && !ui_json_to_text(x, v, sizeof v)) {
		if (json_is_integer(x))
			strncat(v, " MHz", sizeof v - strlen(v) - 1);
		i = ui_kv_add(out, i, max, "Crystal", v, 0);
	}
	const json_t *sec = ui_json_get_any(c, sec_names);
	if (!json_is_object(sec))
		sec = c;
	x = ui_json_get_any(sec, fe_names);
	if (json_is_integer(x)) {
		json_int_t cnt = json_integer_value(x);
		int bits = __builtin_popcountll((unsigned long long)cnt);
		snprintf(v, sizeof v, "0x%llx (%s)", (unsigned long long)cnt,
			 bits % 2 ? "FE ON" : "FE off");
		i = ui_kv_add(out, i, max, "FE counter", v, bits % 2);
	} else if ((x = ui_json_get_any(sec, feon_names))) {
		i = ui_kv_add(out, i, max, "Flash enc", ui_json_truth(x) ? "ON" : "off", ui_json_truth(x));
	}
	x = ui_json_get_any(sec, sb_names);
	if (x)
		i = ui_kv_add(out, i, max, "Secure boot", ui_json_truth(x) ? "ON" : "off", ui_json_truth(x));
	x = ui_json_get_any(sec, sdm_names);
	if (x && ui_json_truth(x))
		i = ui_kv_add(out, i, max, "Secure DL", "ON", 1);
	return ui_describe_keys(cd, sec, out, i, max);
}

static int ui_model_summary_text(const struct ui_model *m, const char *const *names, char *out,
				 size_t n)
{
	json_t *x = ui_json_get_any(m->summary, names);
	if (x && json_is_array(x)) {
		ui_format_mac_value(x, out, n);
		return 0;
	}
	return x ? ui_json_to_text(x, out, n) : -1;
}

void ui_model_get_serial(const struct ui_model *m, char *out, size_t n)
{
	static const char *const names[] = {"serial", "serial_number", "serial_num", NULL};
	if (ui_model_summary_text(m, names, out, n) == 0)
		return;
	json_t *x = m->chip ? ui_json_get_any(m->chip, names) : NULL;
	if (!x || ui_json_to_text(x, out, n))
		ui_copy_str(out, n, "-");
}

void ui_model_get_mac(const struct ui_model *m, char *out, size_t n)
{
	static const char *const names[] = {"mac", "mac_address", NULL};
	if (ui_model_summary_text(m, names, out, n) == 0)
		return;
	json_t *x = m->chip ? ui_json_get_any(m->chip, names) : NULL;
	if (x)
		ui_format_mac_value(x, out, n);
	else
		ui_copy_str(out, n, "-");
}

