#include "flow/engine.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/buf.h"
#include "core/fileio.h"
#include "core/log.h"
#include "flow/fwargs.h"
#include "flow/gen.h"
#include "flow/identity.h"
#include "flow/journal.h"
#include "flow/plan.h"
#include "flow/profile.h"
#include "label/label_image.h"
#include "label/label_layout.h"
#include "label/label_png.h"
#include "label/label_template.h"
#include "label/qr.h"

struct engine_run {
	const struct engine_options *o;
	struct flow_device *dev;
	const struct engine_hooks *h;
	err_t *e;
	struct profile prof;
	bool prof_loaded;
	struct plan_partition *parts;
	int n_parts;
	struct fwargs fw;
	struct plan_chip chip;
	struct plan plan;
	struct identity id;
	struct gen_output gen;
	struct journal *j;
	char mac[18];
	bool resume_efuse;
	/* progress of the running step */
	const char *step;
	struct timespec started;
};

/* ---- events ---- */

static void engine_emit(struct engine_run *r, struct engine_event *ev)
{
	if (r->h && r->h->emit)
		r->h->emit(r->h->ctx, ev);
}

static void engine_log(struct engine_run *r, int level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void engine_log(struct engine_run *r, int level, const char *fmt, ...)
{
	char text[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	struct engine_event ev = {.type = ENGINE_EV_LOG, .level = level, .text = text};
	engine_emit(r, &ev);
}

static void engine_emit_step(struct engine_run *r, const char *step, enum engine_step_state state)
{
	struct engine_event ev = {.type = ENGINE_EV_STEP, .step = step, .state = state};
	engine_emit(r, &ev);
}

static double engine_elapsed(const struct timespec *since)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - since->tv_sec) + (double)(now.tv_nsec - since->tv_nsec) / 1e9;
}

static void engine_progress(void *ctx, uint64_t done, uint64_t total)
{
	struct engine_run *r = ctx;
	double t = engine_elapsed(&r->started);
	struct engine_event ev = {.type = ENGINE_EV_PROGRESS, .step = r->step, .done = done, .total = total,
				  .bytes_per_s = t > 0 ? (double)done / t : 0};
	engine_emit(r, &ev);
}

static bool engine_aborted(struct engine_run *r)
{
	return r->h && r->h->should_abort && r->h->should_abort(r->h->ctx);
}

/* ---- steps and journal ---- */

static int engine_begin_step(struct engine_run *r, const struct plan_step *s)
{
	if (engine_aborted(r))
		return err_set_msg(r->e, ERR_CHECK, "aborted by the operator before step %s", s->id);
	r->step = s->id;
	clock_gettime(CLOCK_MONOTONIC, &r->started);
	engine_emit_step(r, s->id, ENGINE_STEP_RUNNING);
	/* Journaled before the chip is touched: a burn that starts marks the identity as bound. */
	if (r->j && journal_record_step(r->j, r->mac, s->id, JOURNAL_STEP_STARTED, s->irreversible, s->text, r->e))
		return -1;
	return 0;
}

static int engine_end_step(struct engine_run *r, const struct plan_step *s, int rc)
{
	engine_emit_step(r, s->id, rc ? ENGINE_STEP_FAILED : ENGINE_STEP_DONE);
	if (r->j) {
		err_t je = {0};
		if (journal_record_step(r->j, r->mac, s->id, rc ? JOURNAL_STEP_FAILED : JOURNAL_STEP_DONE,
					s->irreversible, rc ? r->e->msg : "", &je) && rc == 0) {
			*r->e = je;
			return -1;
		}
	}
	if (rc)
		err_prepend_context(r->e, "step %s", s->id);
	return rc;
}

/* ---- JSON views ---- */

json_t *engine_describe_chip(const struct plan_chip *c)
{
	char mac[18];
	journal_format_mac(c->mac, mac);
	json_t *blocks = json_array();
	int n = !strcmp(c->name, "esp32") ? 3 : !strcmp(c->name, "esp32c2") ? 1 : PLAN_MAX_KEY_BLOCKS;
	for (int b = 0; b < n; b++)
		json_array_append_new(blocks, json_pack("{s:i, s:i, s:b, s:b, s:b}", "block", b, "purpose",
							c->key[b].purpose, "empty", c->key[b].empty, "rd_dis",
							c->key[b].rd_dis, "wr_dis", c->key[b].wr_dis));
	char rev[16];
	snprintf(rev, sizeof rev, "v%u.%u", c->rev_major, c->rev_minor);
	return json_pack("{s:s, s:s, s:s, s:I, s:b, s:I, s:b, s:b, s:o}", "chip", c->name, "revision", rev, "mac",
			 mac, "flash_size", (json_int_t)c->flash_size, "ecdsa", c->has_ecdsa, "crypt_cnt",
			 (json_int_t)c->crypt_cnt, "secure_boot", c->secure_boot, "secure_download",
			 c->secure_download, "key_blocks", blocks);
}

static json_t *engine_plan_json(const struct plan *p)
{
	json_t *steps = json_array(), *warnings = json_array(), *refusals = json_array();
	for (int i = 0; i < p->n_steps; i++) {
		const struct plan_step *s = &p->steps[i];
		json_t *o = json_pack("{s:s, s:s, s:s, s:b, s:b}", "id", s->id, "kind", plan_name_step_kind(s->kind),
				      "text", s->text, "irreversible", s->irreversible, "done", s->done);
		if (s->kind == PLAN_STEP_WRITE) {
			json_object_set_new(o, "offset", json_integer(s->offset));
			json_object_set_new(o, "size", json_integer(s->size));
			json_object_set_new(o, "encrypted", json_boolean(s->encrypted));
		}
		if (s->kind == PLAN_STEP_BURN_KEY) {
			json_object_set_new(o, "block", json_integer(s->block));
			json_object_set_new(o, "purpose", json_integer(s->purpose));
			json_object_set_new(o, "read_protect", json_boolean(s->read_protect));
		}
		json_array_append_new(steps, o);
	}
	for (int i = 0; i < p->n_warnings; i++)
		json_array_append_new(warnings, json_string(p->warnings[i]));
	for (int i = 0; i < p->n_refusals; i++)
		json_array_append_new(refusals, json_string(p->refusals[i]));
	return json_pack("{s:s, s:s, s:s, s:b, s:b, s:b, s:s, s:o, s:o, s:o}", "chip", p->chip, "path",
			 profile_name_path(p->path), "mode", profile_name_mode(p->mode), "flash_encryption",
			 p->flash_encryption, "secure_boot", p->secure_boot, "nvs_encryption", p->nvs_encryption,
			 "fe_scheme", plan_name_fe_scheme(p->fe_scheme), "steps", steps, "warnings", warnings,
			 "refusals", refusals);
}

/* ---- phases ---- */

static int engine_prepare(struct engine_run *r)
{
	err_t *e = r->e;
	if (profile_load(r->o->profile_path, &r->prof, e)) {
		e->code = ERR_CHECK;
		return -1;
	}
	r->prof_loaded = true;
	if (r->o->out_dir) {
		free(r->prof.output_dir);
		r->prof.output_dir = mem_strdup(r->o->out_dir);
	}
	if (profile_check_files(&r->prof, e) || gen_load_layout(&r->prof, &r->parts, &r->n_parts, e))
		return -1;
	if (r->prof.flasher_args && fwargs_load(r->prof.flasher_args, &r->fw, e))
		return -1;
	return 0;
}

static int engine_detect(struct engine_run *r)
{
	engine_emit_step(r, "detect", ENGINE_STEP_RUNNING);
	if (r->dev->ops->detect(r->dev, &r->chip, r->e)) {
		engine_emit_step(r, "detect", ENGINE_STEP_FAILED);
		return err_prepend_context(r->e, "step detect");
	}
	journal_format_mac(r->chip.mac, r->mac);
	json_t *c = engine_describe_chip(&r->chip);
	struct engine_event ev = {.type = ENGINE_EV_CHIP, .data = c};
	engine_emit(r, &ev);
	json_decref(c);
	engine_emit_step(r, "detect", ENGINE_STEP_DONE);
	engine_log(r, LOG_INFO, "%s v%u.%u, MAC %s, %u MB flash", r->chip.name, r->chip.rev_major,
		   r->chip.rev_minor, r->mac, r->chip.flash_size >> 20);
	return 0;
}

/* A chip in Secure Download Mode was locked by the last step of a production run (or before it
 * came here): its ROM refuses READ_REG, so neither its MAC nor its eFuses can be read. Without
 * the MAC the journal cannot say which device this is, and nothing could be verified: refused
 * before the journal is opened, so no row is made for an unknown MAC. */
static int engine_check_locked(struct engine_run *r)
{
	if (!r->chip.secure_download)
		return 0;
	return err_set_msg(r->e, ERR_CHECK,
			   "refused: the %s is in Secure Download Mode (locked, as the last step of a "
			   "production run leaves it): its ROM refuses the register reads that give its "
			   "MAC and eFuses, so it can be neither identified nor provisioned again; nothing "
			   "was done",
			   r->chip.name);
}

/* Looks the MAC up in the journal: an existing identity is reused, a chip whose eFuses were
 * burned without a saved identity is refused (it can never get a second one). */
static int engine_open_journal(struct engine_run *r, struct journal_device *dev, bool *found)
{
	err_t *e = r->e;
	char path[1024];
	if (fileio_make_dirs(r->prof.output_dir, 0700, e))
		return -1;
	fileio_join_path(path, sizeof path, r->prof.output_dir, "journal.db");
	if (journal_open_sqlite(path, &r->j, e))
		return -1;
	if (journal_find_device(r->j, r->mac, dev, found, e))
		return -1;
	if (*found && dev->efuse_touched && (!dev->identity_saved || !identity_exists(dev->folder)))
		return err_set_msg(e, ERR_CHECK, "device %s had eFuses burned, but its identity in %s is "
				   "gone: refusing to give it another one", r->mac, dev->folder);
	r->resume_efuse = *found && dev->efuse_touched;
	if (!*found) {
		/* Recorded now, so every later step (and a refusal) has a row to land in. */
		memset(dev, 0, sizeof *dev);
		snprintf(dev->mac, sizeof dev->mac, "%s", r->mac);
		snprintf(dev->chip, sizeof dev->chip, "%s", r->chip.name);
		snprintf(dev->revision, sizeof dev->revision, "v%u.%u", r->chip.rev_major, r->chip.rev_minor);
		if (journal_add_device(r->j, dev, (int64_t)r->prof.serial_start, e))
			return -1;
	}
	return 0;
}

static int engine_plan(struct engine_run *r)
{
	struct plan_input in = {&r->prof, &r->chip, r->parts, r->n_parts, r->fw.images, r->fw.n_images,
				r->resume_efuse};
	engine_emit_step(r, "plan", ENGINE_STEP_RUNNING);
	int rc = plan_build(&in, &r->plan, r->e);
	json_t *pj = engine_plan_json(&r->plan);
	struct engine_event ev = {.type = ENGINE_EV_PLAN, .data = pj};
	engine_emit(r, &ev);
	json_decref(pj);
	for (int i = 0; i < r->plan.n_warnings; i++)
		engine_log(r, LOG_WARN, "%s", r->plan.warnings[i]);
	engine_emit_step(r, "plan", rc ? ENGINE_STEP_FAILED : ENGINE_STEP_DONE);
	return rc;
}

/* A plan step the device cannot carry out is a refusal, found before anything is burned. */
static int engine_check_device(struct engine_run *r)
{
	const struct flow_device_ops *ops = r->dev->ops;
	for (int i = 0; i < r->plan.n_steps; i++) {
		const struct plan_step *s = &r->plan.steps[i];
		bool missing = !s->done && ((s->kind == PLAN_STEP_BURN_FE_ENABLE && !ops->burn_fe_enable) ||
					    (s->kind == PLAN_STEP_BURN_SECURE_BOOT && !ops->burn_secure_boot) ||
					    (s->kind == PLAN_STEP_LOCKDOWN && !ops->lockdown));
		if (missing)
			return err_set_msg(r->e, ERR_CHECK, "refused: this link cannot %s yet (step %s); nothing "
					   "was burned", s->text, s->id);
	}
	return 0;
}

static int engine_write_file(struct engine_run *r, const char *role, const char *name, const buf_t *b,
			     bool secret, struct journal_file *files, int *n)
{
	char path[1024];
	fileio_join_path(path, sizeof path, r->id.folder, name);
	if (fileio_write_atomic(path, b->data, b->len, secret ? FILEIO_MODE_SECRET : FILEIO_MODE_PUBLIC, r->e))
		return -1;
	if (files) {
		snprintf(files[*n].role, sizeof files[0].role, "%s", role);
		snprintf(files[*n].path, sizeof files[0].path, "%s", path);
		(*n)++;
	}
	return 0;
}

/* <uuid>-qrcode.png as the mfg tool writes it, and <uuid>-label.png laid out by the profile's
 * label template (or the built-in one), ready to print. */
static int engine_save_pictures(struct engine_run *r, struct journal_file *files, int *n)
{
	char name[128], path[1024];
	struct qr_matrix qr;
	memset(&qr, 0, sizeof qr);
	if (qr_encode_text(r->id.qr, QR_ECC_DEFAULT, &qr, r->e))
		return -1;
	struct label_image img;
	label_image_render_qr(&qr, 8, &img);
	qr_free_matrix(&qr);
	snprintf(name, sizeof name, "%s-qrcode.png", r->id.uuid);
	fileio_join_path(path, sizeof path, r->id.folder, name);
	int rc = label_png_write_file(path, &img, 0, r->e);
	label_image_free(&img);
	if (rc)
		return -1;
	snprintf(files[*n].role, sizeof files[0].role, "qrcode_png");
	snprintf(files[*n].path, sizeof files[0].path, "%s", path);
	(*n)++;
	struct label_template t;
	if (r->prof.label_template) {
		if (label_template_load_file(r->prof.label_template, &t, r->e))
			return -1;
	} else {
		label_template_init_default(&t);
	}
	struct label_data d = {r->id.qr, r->id.manual, r->id.serial, r->prof.product_name};
	if (label_render_image(&t, &d, &img, r->e))
		return -1;
	snprintf(name, sizeof name, "%s-label.png", r->id.uuid);
	fileio_join_path(path, sizeof path, r->id.folder, name);
	rc = label_png_write_file(path, &img, t.dpi, r->e);
	label_image_free(&img);
	if (rc)
		return -1;
	snprintf(files[*n].role, sizeof files[0].role, "label_png");
	snprintf(files[*n].path, sizeof files[0].path, "%s", path);
	(*n)++;
	return 0;
}

/* The mfg tool's per-device files next to the identity: the images and onb_codes.csv. */
static int engine_save_outputs(struct engine_run *r, struct journal_file *files, int *n)
{
	char name[128];
	for (int i = 0; i < r->gen.n_images; i++) {
		const struct gen_image *img = &r->gen.images[i];
		bool secret = img->source != PLAN_SRC_FACTORY_NVS;
		const char *role;
		if (img->source == PLAN_SRC_SECURE_CERT) {
			role = "secure_cert_image";
			snprintf(name, sizeof name, "%s_esp_secure_cert.bin", r->id.uuid);
		} else if (img->source == PLAN_SRC_FACTORY_NVS) {
			role = "factory_image";
			snprintf(name, sizeof name, "%s-partition.bin", r->id.uuid);
		} else {
			role = "nvs_keys_image";
			snprintf(name, sizeof name, "keys/nvs_keys.bin");
		}
		if (engine_write_file(r, role, name, &img->plain, secret, files, n))
			return -1;
	}
	buf_t csv = BUF_INIT;
	char line[256];
	const char *m = r->id.manual;
	if (strlen(m) == 11)
		snprintf(line, sizeof line, "%.4s-%.3s-%.4s", m, m + 4, m + 7);
	else
		snprintf(line, sizeof line, "%s", m);
	buf_append_str(&csv, "qrcode,manualcode,discriminator,passcode\n");
	char row[400];
	snprintf(row, sizeof row, "%s,%s,%u,%u\n", r->id.qr, line, r->id.discriminator, r->id.passcode);
	buf_append_str(&csv, row);
	snprintf(name, sizeof name, "%s-onb_codes.csv", r->id.uuid);
	/* Holds the passcode: 0600. */
	int rc = engine_write_file(r, "onb_codes", name, &csv, true, files, n);
	buf_wipe_data(&csv);
	return rc ? rc : engine_save_pictures(r, files, n);
}

static int engine_generate(struct engine_run *r, const struct journal_device *jd, bool found)
{
	err_t *e = r->e;
	const struct plan_step gen_step = {.kind = PLAN_STEP_GENERATE, .id = "generate", .text = "generate"};
	if (engine_begin_step(r, &gen_step))
		return -1;
	int rc = -1;
	bool resumed = found && jd->identity_saved && identity_exists(jd->folder);
	if (resumed) {
		if (identity_load(jd->folder, &r->id, e))
			goto out;
		if (memcmp(r->id.mac, r->chip.mac, 6) || strcmp(r->id.chip, r->chip.name)) {
			err_set_msg(e, ERR_CHECK, "the identity in %s belongs to another chip", jd->folder);
			goto out;
		}
		if (r->id.path != r->plan.path) {
			err_set_msg(e, ERR_CHECK, "device %s was provisioned on the %s path; the plan now says %s",
				    r->mac, profile_name_path(r->id.path), profile_name_path(r->plan.path));
			goto out;
		}
		const struct plan_step *ks = plan_find_step(&r->plan, "burn-ecdsa-key");
		if (ks && ks->block != r->id.ecdsa_block) {
			/* The identity's SEC_CFG names its block: never burn the key into a second one. */
			err_set_msg(e, ERR_CHECK, "device %s: its DAC key belongs in BLOCK_KEY%d, which now reads "
				    "back %s; refusing to burn it elsewhere", r->mac, r->id.ecdsa_block,
				    ks->done ? "with another key" : "partly written");
			goto out;
		}
		engine_log(r, LOG_INFO, "resuming device %s with its identity %s (serial %s)", r->mac, r->id.uuid,
			   r->id.serial);
	} else {
		int64_t seq = r->j ? jd->seq : (int64_t)r->prof.serial_start;
		if (identity_draw(&r->id, &r->prof, &r->plan, r->chip.name, r->chip.mac, seq, e) ||
		    (r->o->dry_run ? gen_preview_dac(&r->id, &r->prof, e) : gen_make_dac(&r->id, &r->prof, e)) ||
		    gen_make_verifier(&r->id, e) ||
		    gen_make_payload(&r->id, &r->prof, e))
			goto out;
		if (r->plan.path == PROFILE_PATH_DS && gen_make_ds_key(&r->id, e))
			goto out;
		if (found)
			engine_log(r, LOG_INFO, "device %s was seen before without a saved identity; it gets "
				   "identity %s", r->mac, r->id.uuid);
	}
	if (gen_build_images(&r->id, &r->prof, &r->plan, &r->gen, e))
		goto out;
	if (!r->o->dry_run && !resumed) {
		struct journal_file files[IDENTITY_MAX_FILES + 8];
		int n = 0;
		if (identity_save(&r->id, files, &n, e) || engine_save_outputs(r, files, &n))
			goto out;
		if (r->j && journal_save_identity(r->j, r->mac, r->id.serial, r->id.folder, files, n, e))
			goto out;
	}
	rc = 0;
out:
	if (engine_end_step(r, &gen_step, rc))
		return -1;
	return 0;
}

static int engine_confirm(struct engine_run *r)
{
	if (!plan_has_irreversible(&r->plan))
		return 0;
	const struct plan_step *s = plan_find_step(&r->plan, "confirm");
	buf_t text = BUF_INIT;
	buf_append_str(&text, "These steps cannot be undone on ");
	buf_append_str(&text, r->mac);
	buf_append_str(&text, ":");
	for (int i = 0; i < r->plan.n_steps; i++)
		if (r->plan.steps[i].irreversible && !r->plan.steps[i].done) {
			buf_append_str(&text, " ");
			buf_append_str(&text, r->plan.steps[i].text);
			buf_append_str(&text, ";");
		}
	struct engine_event ev = {.type = ENGINE_EV_NEED_CONFIRM, .step = "confirm", .text = buf_terminate_str(&text)};
	engine_emit(r, &ev);
	bool yes = r->o->assume_yes || (r->h && r->h->confirm && r->h->confirm(r->h->ctx, "confirm", ev.text));
	buf_free_data(&text);
	if (s) {
		engine_emit_step(r, "confirm", yes ? ENGINE_STEP_DONE : ENGINE_STEP_FAILED);
		if (r->j)
			journal_record_step(r->j, r->mac, "confirm", yes ? JOURNAL_STEP_DONE : JOURNAL_STEP_FAILED,
					    false, yes ? "confirmed" : "declined", r->e);
	}
	if (!yes)
		return err_set_msg(r->e, ERR_CHECK, "the irreversible steps were not confirmed; nothing was burned");
	return 0;
}

static const struct gen_key *engine_key_for(const struct engine_run *r, const struct plan_step *s)
{
	for (int i = 0; i < r->gen.n_keys; i++)
		if (r->gen.keys[i].role == s->key && r->gen.keys[i].block == s->block)
			return &r->gen.keys[i];
	return NULL;
}

static int engine_burn(struct engine_run *r)
{
	for (int i = 0; i < r->plan.n_steps; i++) {
		const struct plan_step *s = &r->plan.steps[i];
		if (s->kind != PLAN_STEP_BURN_KEY && s->kind != PLAN_STEP_BURN_FE_ENABLE &&
		    s->kind != PLAN_STEP_BURN_SECURE_BOOT)
			continue;
		if (s->done) {
			engine_emit_step(r, s->id, ENGINE_STEP_SKIPPED);
			continue;
		}
		if (engine_begin_step(r, s))
			return -1;
		int rc;
		if (s->kind == PLAN_STEP_BURN_KEY) {
			const struct gen_key *k = engine_key_for(r, s);
			rc = k ? r->dev->ops->burn_key(r->dev, s->block, s->purpose, k->bytes, k->len, s->read_protect, r->e)
			       : err_set_msg(r->e, ERR_CHECK, "no key was generated for %s", s->id);
		} else if (s->kind == PLAN_STEP_BURN_FE_ENABLE) {
			rc = r->dev->ops->burn_fe_enable(r->dev, r->plan.mode == PROFILE_MODE_PRODUCTION, r->e);
		} else {
			rc = r->dev->ops->burn_secure_boot(r->dev, r->e);
		}
		if (engine_end_step(r, s, rc))
			return -1;
	}
	return 0;
}

/* The bytes a write step puts on flash (firmware read from its file and encrypted if needed). */
static int engine_step_data(struct engine_run *r, const struct plan_step *s, buf_t *out)
{
	if (s->source != PLAN_SRC_FIRMWARE) {
		for (int i = 0; i < r->gen.n_images; i++)
			if (r->gen.images[i].source == s->source) {
				buf_append_bytes(out, r->gen.images[i].flash.data, r->gen.images[i].flash.len);
				return 0;
			}
		return err_set_msg(r->e, ERR_CHECK, "no image was generated for %s", s->id);
	}
	buf_t raw = BUF_INIT;
	if (fileio_read_file(r->fw.paths[s->image], &raw, r->e))
		return -1;
	int rc = 0;
	bool patched;
	/* A signed bootloader must stay as signed: with secure boot the header is left alone. */
	if (!r->plan.secure_boot &&
	    fwargs_patch_bootloader(&r->fw, r->chip.name, s->offset, &raw, &patched, r->e)) {
		buf_free_data(&raw);
		return -1;
	}
	if (s->encrypted) {
		/* Encrypted writes cover whole 32-byte blocks (ESP32), 16 elsewhere: pad as esptool does. */
		while (raw.len % 32)
			buf_append_byte(&raw, 0xFF);
		rc = gen_encrypt_flash(&r->id, &r->plan, s->offset, raw.data, raw.len, out, r->e);
	} else {
		buf_append_bytes(out, raw.data, raw.len);
	}
	buf_free_data(&raw);
	return rc;
}

/* Every firmware image is read, patched and encrypted once before the confirmation: a missing
 * file or a flash setting the chip does not have, found only at its write step, would come after
 * the eFuses were burned. */
static int engine_check_firmware(struct engine_run *r)
{
	for (int i = 0; i < r->plan.n_steps; i++) {
		const struct plan_step *s = &r->plan.steps[i];
		if (s->kind != PLAN_STEP_WRITE || s->source != PLAN_SRC_FIRMWARE)
			continue;
		buf_t data = BUF_INIT;
		int rc = engine_step_data(r, s, &data);
		buf_wipe_data(&data);
		if (rc)
			return err_prepend_context(r->e, "refused before anything was burned: step %s", s->id);
	}
	return 0;
}

static int engine_write(struct engine_run *r)
{
	struct flow_progress pr = {engine_progress, r};
	for (int i = 0; i < r->plan.n_steps; i++) {
		const struct plan_step *s = &r->plan.steps[i];
		if (s->kind != PLAN_STEP_WRITE)
			continue;
		if (engine_begin_step(r, s))
			return -1;
		buf_t data = BUF_INIT;
		int rc = engine_step_data(r, s, &data);
		if (rc == 0)
			rc = r->dev->ops->write_flash(r->dev, s->offset, data.data, data.len, &pr, r->e);
		buf_wipe_data(&data);
		if (engine_end_step(r, s, rc))
			return -1;
	}
	return 0;
}

static int engine_verify_flash(struct engine_run *r)
{
	const struct plan_step *vs = plan_find_step(&r->plan, "verify-flash");
	if (!vs || engine_begin_step(r, vs))
		return vs ? -1 : 0;
	struct flow_progress pr = {engine_progress, r};
	int rc = 0;
	for (int i = 0; i < r->plan.n_steps && rc == 0; i++) {
		const struct plan_step *s = &r->plan.steps[i];
		if (s->kind != PLAN_STEP_WRITE)
			continue;
		buf_t want = BUF_INIT, got = BUF_INIT;
		rc = engine_step_data(r, s, &want);
		if (rc == 0)
			rc = r->dev->ops->read_flash(r->dev, s->offset, want.len, &got, &pr, r->e);
		if (rc == 0 && s->source == PLAN_SRC_FIRMWARE) {
			if (got.len != want.len || memcmp(got.data, want.data, want.len))
				rc = err_set_msg(r->e, ERR_CHECK, "%s at 0x%x reads back different from what was "
						 "written", r->fw.images[s->image].name, s->offset);
		} else if (rc == 0) {
			const struct gen_image *img = NULL;
			for (int k = 0; k < r->gen.n_images; k++)
				if (r->gen.images[k].source == s->source)
					img = &r->gen.images[k];
			json_t *view = NULL;
			rc = img ? gen_verify_image(&r->id, &r->plan, img, got.data, got.len, &view, r->e) : -1;
			if (rc == 0 && view) {
				struct engine_event ev = {.type = ENGINE_EV_PARTITION, .text = s->label, .data = view};
				engine_emit(r, &ev);
			}
			json_decref(view);
		}
		buf_wipe_data(&want);
		buf_wipe_data(&got);
	}
	return engine_end_step(r, vs, rc);
}

static int engine_verify_efuse(struct engine_run *r)
{
	const struct plan_step *vs = plan_find_step(&r->plan, "verify-efuse");
	if (!vs)
		return 0;
	if (engine_begin_step(r, vs))
		return -1;
	struct plan_chip now;
	int rc = r->dev->ops->detect(r->dev, &now, r->e);
	bool esp32 = !strcmp(now.name, "esp32");
	for (int i = 0; i < r->plan.n_steps && rc == 0; i++) {
		const struct plan_step *s = &r->plan.steps[i];
		if (s->kind == PLAN_STEP_BURN_KEY) {
			int b = s->block;
			if (b < 0 || b >= PLAN_MAX_KEY_BLOCKS)
				rc = err_set_msg(r->e, ERR_CHECK, "%s: no block", s->id);
			else if (!esp32 && now.key[b].purpose != s->purpose)
				rc = err_set_msg(r->e, ERR_CHECK, "key block %d has purpose %u, %u was burned", b,
						 now.key[b].purpose, s->purpose);
			else if (s->read_protect && !now.key[b].rd_dis)
				rc = err_set_msg(r->e, ERR_CHECK, "key block %d is not read-protected", b);
			else if (!s->read_protect && now.key[b].empty)
				rc = err_set_msg(r->e, ERR_CHECK, "key block %d reads back empty", b);
			else if (!now.key[b].wr_dis)
				rc = err_set_msg(r->e, ERR_CHECK, "key block %d is not write-protected", b);
		} else if (s->kind == PLAN_STEP_BURN_FE_ENABLE && !(__builtin_popcount(now.crypt_cnt) & 1)) {
			rc = err_set_msg(r->e, ERR_CHECK, "flash encryption reads back disabled (counter 0x%x)",
					 now.crypt_cnt);
		} else if (s->kind == PLAN_STEP_BURN_SECURE_BOOT && !now.secure_boot) {
			rc = err_set_msg(r->e, ERR_CHECK, "secure boot reads back disabled");
		}
	}
	return engine_end_step(r, vs, rc);
}

static int engine_lockdown(struct engine_run *r)
{
	const struct plan_step *s = plan_find_step(&r->plan, "lockdown");
	if (!s)
		return 0;
	if (engine_begin_step(r, s))
		return -1;
	return engine_end_step(r, s, r->dev->ops->lockdown(r->dev, r->e));
}

static void engine_skip_rest(struct engine_run *r)
{
	for (int i = 0; i < r->plan.n_steps; i++) {
		enum plan_step_kind k = r->plan.steps[i].kind;
		if (k != PLAN_STEP_DETECT && k != PLAN_STEP_GENERATE && k != PLAN_STEP_RESULT)
			engine_emit_step(r, r->plan.steps[i].id, ENGINE_STEP_SKIPPED);
	}
}

static int engine_finish(struct engine_run *r, struct engine_result *res)
{
	struct engine_event pe = {.type = ENGINE_EV_PAYLOAD, .qr = r->id.qr, .manual = r->id.manual};
	engine_emit(r, &pe);
	if (r->j) {
		char path[1024];
		fileio_join_path(path, sizeof path, r->prof.output_dir, "manifest.csv");
		if (journal_set_result(r->j, r->mac, "ok", r->id.qr, r->id.manual, r->e) ||
		    journal_export_manifest(r->j, path, r->e))
			return -1;
	}
	engine_emit_step(r, "result", ENGINE_STEP_DONE);
	snprintf(res->serial, sizeof res->serial, "%s", r->id.serial);
	snprintf(res->qr, sizeof res->qr, "%s", r->id.qr);
	snprintf(res->manual, sizeof res->manual, "%s", r->id.manual);
	snprintf(res->folder, sizeof res->folder, "%s", r->o->dry_run ? "" : r->id.folder);
	return 0;
}

int engine_run_device(const struct engine_options *o, struct flow_device *dev, const struct engine_hooks *h,
		      struct engine_result *res, err_t *e)
{
	struct engine_run r;
	memset(&r, 0, sizeof r);
	memset(res, 0, sizeof *res);
	r.o = o;
	r.dev = dev;
	r.h = h;
	r.e = e;
	identity_init(&r.id);
	struct journal_device jd;
	memset(&jd, 0, sizeof jd);
	bool found = false, refused = false;
	int rc = engine_prepare(&r);
	if (rc == 0)
		rc = engine_detect(&r);
	if (rc == 0 && (rc = engine_check_locked(&r)) != 0)
		refused = true;
	if (rc == 0 && !o->dry_run && !o->plan_only)
		rc = engine_open_journal(&r, &jd, &found);
	if (rc == 0 && ((rc = engine_plan(&r)) != 0 || (rc = engine_check_device(&r)) != 0))
		refused = true;
	if (rc == 0 && o->plan_only)
		goto report;
	if (rc == 0)
		rc = engine_generate(&r, &jd, found);
	if (rc == 0)
		res->resumed = found && jd.identity_saved;
	if (rc == 0 && (rc = engine_check_firmware(&r)) != 0)
		refused = true;
	if (rc == 0 && o->dry_run) {
		engine_skip_rest(&r);
		rc = engine_finish(&r, res);
		engine_log(&r, LOG_INFO, "dry run: nothing was written to the chip");
	} else if (rc == 0) {
		rc = engine_confirm(&r);
		if (rc == 0)
			rc = engine_burn(&r);
		if (rc == 0)
			rc = engine_write(&r);
		if (rc == 0)
			rc = engine_verify_flash(&r);
		if (rc == 0)
			rc = engine_verify_efuse(&r);
		if (rc == 0)
			rc = engine_lockdown(&r);
		if (rc == 0)
			rc = engine_finish(&r, res);
	}
report:
	snprintf(res->mac, sizeof res->mac, "%s", r.mac);
	snprintf(res->chip, sizeof res->chip, "%s", r.chip.name);
	snprintf(res->serial, sizeof res->serial, "%s", r.id.serial);
	if (!o->dry_run)
		snprintf(res->folder, sizeof res->folder, "%s", r.id.folder);
	if (rc) {
		if (e->code == ERR_OK)
			e->code = ERR_CHECK;
		if (r.j && r.mac[0]) {
			err_t je = {0};
			char path[1024];
			fileio_join_path(path, sizeof path, r.prof.output_dir, "manifest.csv");
			if (journal_set_result(r.j, r.mac, refused ? "refused" : "failed", NULL, NULL, &je) == 0)
				journal_export_manifest(r.j, path, &je);
		}
		struct engine_event ev = {.type = ENGINE_EV_ERROR, .code = e->code, .text = e->msg};
		engine_emit(&r, &ev);
	}
	res->code = rc ? e->code : 0;
	json_t *summary = json_pack("{s:s, s:s, s:s, s:s, s:b, s:s}", "mac", res->mac, "chip", res->chip,
				    "serial", res->serial, "folder", res->folder, "resumed", res->resumed,
				    "result", rc ? (refused ? "refused" : "failed") : o->plan_only ? "planned" : "ok");
	struct engine_event done = {.type = ENGINE_EV_DONE, .code = res->code, .data = summary};
	engine_emit(&r, &done);
	json_decref(summary);

	journal_close(r.j);
	gen_output_free(&r.gen);
	identity_free(&r.id);
	fwargs_free(&r.fw);
	free(r.parts);
	if (r.prof_loaded)
		profile_free(&r.prof);
	return res->code;
}

const char *engine_name_event(enum engine_event_type t)
{
	static const char *const names[] = {
		[ENGINE_EV_LOG] = "log", [ENGINE_EV_CHIP] = "chip", [ENGINE_EV_PLAN] = "plan",
		[ENGINE_EV_STEP] = "step", [ENGINE_EV_PROGRESS] = "progress",
		[ENGINE_EV_NEED_CONFIRM] = "need_confirm", [ENGINE_EV_PARTITION] = "partition",
		[ENGINE_EV_PAYLOAD] = "payload", [ENGINE_EV_DONE] = "done", [ENGINE_EV_ERROR] = "error",
	};
	return (unsigned)t < sizeof names / sizeof *names ? names[t] : "?";
}

const char *engine_name_state(enum engine_step_state s)
{
	static const char *const names[] = {"pending", "running", "done", "failed", "skipped"};
	return (unsigned)s < sizeof names / sizeof *names ? names[s] : "?";
}
