/* The TUI's backend commands end to end, without curses: the worker (src/flow/worker) drives an
 * in-memory ESP32 through the flash-encryption path and every event it sends is applied to the
 * TUI's model (ui/ui_model.c, compiled in). Checks that the chip is re-read after each eFuse
 * step (CHIP events with after_step, the panel's key blocks and FE counter follow), that the
 * ESP32's key blocks are named BLOCK1-3, and that PRINT renders the provisioned device's label
 * to a PNG or ZPL file or a CUPS queue, answering with DONE printed / print-failed. */
#include "testutil.h"
#include "memdev.h"
#include "testpki.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/fileio.h"
#include "flow/worker.h"

#include "../../ui/ui_model.c"

/* the in-memory chip the worker opens as port "fake" */
static struct memdev the_fake;

static int fake_open(const char *port, struct flow_device **out, err_t *e)
{
	if (strcmp(port, "fake"))
		return err_set_msg(e, ERR_DEVICE, "%s: no such port", port);
	*out = &the_fake.base;
	return 0;
}


/* ---- a product profile for the ESP32 flash-encryption path ---- */

static const char table_enc[] = "esp_secure_cert, 0x3F, , 0xd000, 0x2000, encrypted\n"
				"nvs, data, nvs, 0x10000, 0xC000,\n"
				"nvs_keys, data, nvs_keys, 0x1c000, 0x1000, encrypted\n"
				"ota_0, app, ota_0, 0x20000, 0x1E0000,\n"
				"fctry, data, nvs, 0x3E0000, 0x6000,\n";

static char *make_profile(const char *dir)
{
	testpki_write_material(dir);
	char *t = testutil_join_path(dir, "parts.csv");
	testutil_write_file(t, table_enc, strlen(table_enc));
	free(t);
	const char text[] = "[product]\nvendor_id = 0xFFF1\nproduct_id = 0x8000\nvendor_name = Test Vendor\n"
			    "product_name = Label Plug\nhardware_version = 1\nhardware_version_string = r1\n"
			    "chips = esp32\n"
			    "[attestation]\npai_cert = pai_cert.pem\npai_key = pai_key.pem\ncd = cd.der\n"
			    "[partitions]\ntable = parts.csv\n"
			    "[security]\nmode = development\nnvs_encryption = yes\n"
			    "[device]\nserial = LP-{seq:03}\nserial_start = 7\n"
			    "[output]\ndir = out\n";
	char *p = testutil_join_path(dir, "p.ini");
	testutil_write_file(p, text, strlen(text));
	return p;
}

/* ---- helpers ---- */

/* Pops the next event, applies it to the model and returns it (the caller frees). */
static struct evq_msg *next_event(evq_t *ev, struct ui_model *m)
{
	struct evq_msg *msg = evq_pop(ev, 20000);
	if (!msg)
		fail_msg("no event within 20 s");
	ui_model_apply(m, msg);
	return msg;
}

/* Applies events until a DONE; returns it. */
static struct evq_msg *until_done(evq_t *ev, struct ui_model *m)
{
	for (;;) {
		struct evq_msg *msg = next_event(ev, m);
		if (msg->type == EVQ_EV_DONE)
			return msg;
		evq_msg_free(msg);
	}
}

static const struct ui_kv *find_kv(const struct ui_kv *kv, size_t n, const char *key)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(kv[i].key, key))
			return &kv[i];
	return NULL;
}

/* The panel line's value; the test fails when the line is missing. */
static const char *kv_value(const struct ui_kv *kv, size_t n, const char *key)
{
	const struct ui_kv *k = find_kv(kv, n, key);
	if (!k)
		fail_msg("the device panel has no '%s' line", key);
	return k ? k->value : "";
}

static int kv_warn(const struct ui_kv *kv, size_t n, const char *key)
{
	const struct ui_kv *k = find_kv(kv, n, key);
	if (!k)
		fail_msg("the device panel has no '%s' line", key);
	return k ? k->warn : -1;
}

static bool file_starts_with(const char *path, const void *magic, size_t n)
{
	buf_t b = BUF_INIT;
	testutil_read_file(path, &b);
	bool ok = b.len > n && !memcmp(b.data, magic, n);
	buf_free_data(&b);
	return ok;
}

/* The device folder's <uuid>-label.png, which the engine wrote at the end of the run. */
static char *engine_label_path(const char *folder)
{
	const char *uuid = strrchr(folder, '/');
	assert_non_null(uuid);
	char name[200];
	snprintf(name, sizeof name, "%s-label.png", uuid + 1);
	return testutil_join_path(folder, name);
}

/* ---- tests ---- */

static void test_worker_rereads_efuses_and_prints(void **state)
{
	(void)state;
	char *dir = testutil_make_tmpdir();
	char *profile = make_profile(dir);
	memdev_init(&the_fake, "esp32", 3);
	err_t e = {0};
	evq_t *cmd = evq_create(16, 1000, &e), *ev = evq_create(512, 5000, &e);
	assert_non_null(cmd);
	assert_non_null(ev);
	struct flow_worker_options o = {.open_device = fake_open, .assume_yes = true};
	struct flow_worker *w;
	assert_int_equal(flow_worker_start(cmd, ev, &o, &w, &e), 0);
	struct ui_model m;
	ui_model_init(&m);

	/* PRINT before anything was provisioned: refused through the queue, not silently. */
	assert_int_equal(evq_push(cmd, evq_make_text(EVQ_CMD_PRINT, NULL), &e), 0);
	ui_model_print_sent(&m);
	assert_int_equal(m.print_state, UI_PRINT_PENDING);
	struct evq_msg *msg = next_event(ev, &m);
	assert_int_equal(msg->type, EVQ_EV_ERROR);
	assert_non_null(strstr(msg->text, "print failed: "));
	evq_msg_free(msg);
	msg = until_done(ev, &m);
	assert_int_not_equal(msg->code, 0);
	assert_true(ui_model_is_print_answer(msg));
	assert_string_equal(json_string_value(json_object_get(msg->data, "result")), "print-failed");
	evq_msg_free(msg);
	assert_int_equal(m.print_state, UI_PRINT_FAILED);
	assert_non_null(strstr(m.print_text, "print failed: no device provisioned"));
	assert_int_equal(m.done, 0); /* a print answer is not the end of a run */

	/* DETECT + PLAN: the panel as detected, ESP32 key blocks by their names and roles */
	assert_int_equal(evq_push(cmd, evq_make_text(EVQ_CMD_DETECT, "fake"), &e), 0);
	assert_int_equal(evq_push(cmd, evq_make_text(EVQ_CMD_PLAN, profile), &e), 0);
	msg = until_done(ev, &m);
	assert_int_equal(msg->code, 0);
	evq_msg_free(msg);
	assert_true(m.planned);
	struct ui_kv kv[40];
	size_t n = ui_model_describe_chip(&m, kv, 40);
	assert_null(find_kv(kv, n, "KEY0"));
	assert_string_equal(kv_value(kv, n, "BLOCK1"), "FLASH_ENC empty");
	assert_string_equal(kv_value(kv, n, "BLOCK2"), "SECURE_BOOT empty");
	assert_string_equal(kv_value(kv, n, "BLOCK3"), "USER empty");
	assert_non_null(strstr(kv_value(kv, n, "FE counter"), "FE off"));
	assert_string_equal(m.chip_after, "");

	/* RUN: after each eFuse step a CHIP read from the chip follows its STEP done */
	assert_int_equal(evq_push(cmd, evq_msg_new(EVQ_CMD_RUN), &e), 0);
	int detects_before = the_fake.detects;
	char last_done_step[64] = "";
	int rereads = 0, burn_steps = 0;
	bool saw_key_burned = false, saw_fe_on = false;
	char qr[UI_TEXT_MAX] = "";
	for (;;) {
		msg = next_event(ev, &m);
		if (msg->type == EVQ_EV_STEP && msg->state == EVQ_STEP_DONE) {
			snprintf(last_done_step, sizeof last_done_step, "%s", msg->step);
			if (!strncmp(msg->step, "burn-", 5))
				burn_steps++;
		}
		if (msg->type == EVQ_EV_PAYLOAD)
			snprintf(qr, sizeof qr, "%s", msg->qr);
		if (msg->type == EVQ_EV_CHIP && json_object_get(msg->data, "after_step")) {
			rereads++;
			/* the step it follows is the one just done */
			assert_string_equal(json_string_value(json_object_get(msg->data, "after_step")), last_done_step);
			json_t *b1 = json_array_get(json_object_get(msg->data, "key_blocks"), 0);
			if (json_is_false(json_object_get(b1, "empty")))
				saw_key_burned = true;
			if (json_integer_value(json_object_get(msg->data, "crypt_cnt")) == 1)
				saw_fe_on = true;
		}
		if (msg->type == EVQ_EV_DONE)
			break;
		evq_msg_free(msg);
	}
	assert_int_equal(msg->code, 0);
	char *engine_label = engine_label_path(json_string_value(json_object_get(msg->data, "folder")));
	evq_msg_free(msg);
	assert_int_equal(the_fake.burns, 2); /* FE key, FE enable */
	assert_int_equal(burn_steps, 2);
	assert_int_equal(rereads, 2);
	assert_true(saw_key_burned);
	assert_true(saw_fe_on);
	assert_true(the_fake.detects > detects_before);
	/* the model now holds the burned state: what the device panel draws */
	n = ui_model_describe_chip(&m, kv, 40);
	assert_non_null(strstr(kv_value(kv, n, "BLOCK1"), "FLASH_ENC"));
	assert_null(strstr(kv_value(kv, n, "BLOCK1"), "empty"));
	assert_non_null(strstr(kv_value(kv, n, "BLOCK1"), "WR"));
	assert_int_equal(kv_warn(kv, n, "BLOCK1"), 1);
	assert_non_null(strstr(kv_value(kv, n, "FE counter"), "FE ON"));
	assert_string_equal(kv_value(kv, n, "BLOCK2"), "SECURE_BOOT empty");
	assert_true(!strncmp(m.chip_after, "burn-", 5));
	assert_true(m.done);
	assert_int_equal(m.result, 0);
	assert_string_equal(m.qr, qr);

	/* PRINT to a PNG file: the same label the engine laid out for the device folder */
	char *png = testutil_join_path(dir, "label.png");
	assert_int_equal(evq_push(cmd, evq_make_text(EVQ_CMD_PRINT, png), &e), 0);
	ui_model_print_sent(&m);
	msg = next_event(ev, &m);
	assert_int_equal(msg->type, EVQ_EV_LOG);
	assert_non_null(strstr(msg->text, "label of LP-007 written to"));
	evq_msg_free(msg);
	msg = until_done(ev, &m);
	assert_int_equal(msg->code, 0);
	assert_string_equal(json_string_value(json_object_get(msg->data, "result")), "printed");
	assert_string_equal(json_string_value(json_object_get(msg->data, "format")), "png");
	evq_msg_free(msg);
	assert_true(file_starts_with(png, "\x89PNG\r\n\x1a\n", 8));
	testutil_assert_files_equal(png, engine_label);
	assert_int_equal(m.print_state, UI_PRINT_OK);
	char want[1200];
	snprintf(want, sizeof want, "printed to %s", png);
	assert_string_equal(m.print_text, want);
	assert_true(m.done); /* the run's result is untouched */
	assert_int_equal(m.result, 0);
	if (access("/usr/bin/zbarimg", X_OK) == 0) {
		char *argv[] = {"/usr/bin/zbarimg", "--raw", "-q", png, NULL};
		buf_t out = BUF_INIT;
		assert_int_equal(testutil_run_program(NULL, argv, &out, NULL), 0);
		assert_non_null(strstr(buf_terminate_str(&out), qr));
		buf_free_data(&out);
	}

	/* a .zpl file gets ZPL, the QR drawn by the printer from the device's payload */
	char *zpl = testutil_join_path(dir, "label.zpl");
	assert_int_equal(evq_push(cmd, evq_make_text(EVQ_CMD_PRINT, zpl), &e), 0);
	msg = until_done(ev, &m);
	assert_int_equal(msg->code, 0);
	assert_string_equal(json_string_value(json_object_get(msg->data, "format")), "zpl");
	evq_msg_free(msg);
	buf_t z = BUF_INIT;
	testutil_read_file(zpl, &z);
	const char *zt = buf_terminate_str(&z);
	assert_true(!strncmp(zt, "^XA", 3));
	assert_non_null(strstr(zt, qr));
	assert_non_null(strstr(zt, "LP-007"));
	buf_free_data(&z);

	/* a CUPS queue that cannot be reached: print failed, with the reason, through the queue */
	setenv("CUPS_SERVER", "127.0.0.1:1", 1);
	assert_int_equal(evq_push(cmd, evq_make_text(EVQ_CMD_PRINT, "espfab-no-such-queue"), &e), 0);
	ui_model_print_sent(&m);
	msg = next_event(ev, &m);
	assert_int_equal(msg->type, EVQ_EV_ERROR);
	assert_non_null(strstr(msg->text, "espfab-no-such-queue"));
	evq_msg_free(msg);
	msg = until_done(ev, &m);
	assert_int_equal(msg->code, ERR_DEVICE);
	assert_string_equal(json_string_value(json_object_get(msg->data, "target")), "espfab-no-such-queue");
	evq_msg_free(msg);
	unsetenv("CUPS_SERVER");
	assert_int_equal(m.print_state, UI_PRINT_FAILED);
	assert_true(!strncmp(m.print_text, "print failed: ", 14));
	assert_int_equal(m.result, 0);

	flow_worker_stop(w);
	evq_destroy(cmd);
	evq_destroy(ev);
	ui_model_free(&m);
	memdev_free(&the_fake);
	free(png);
	free(zpl);
	free(engine_label);
	free(profile);
	testutil_remove_tree(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_worker_rereads_efuses_and_prints),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
