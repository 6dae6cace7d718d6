/* The TUI's model: events in, state out (no curses). The model's sources are compiled into this
 * test directly, since unit tests link only espfab_lib. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../ui/ui_model.c"

static void test_format_manual_groups(void **state)
{
	(void)state;
	char out[64];
	ui_format_manual("34970112332", out, sizeof out);
	assert_string_equal(out, "3497-011-2332");
	ui_format_manual("749701123365521327694", out, sizeof out);
	assert_string_equal(out, "7497-011-2336 5521-327-69-4");
	/* not a manual code: shown as it came */
	ui_format_manual("1234", out, sizeof out);
	assert_string_equal(out, "1234");
	ui_format_manual("", out, sizeof out);
	assert_string_equal(out, "");
}

static void test_format_rates_and_eta(void **state)
{
	(void)state;
	char out[96];
	ui_format_bytes(512, out, sizeof out);
	assert_string_equal(out, "512 B");
	ui_format_bytes(115200, out, sizeof out);
	assert_string_equal(out, "112.5 KiB");
	ui_format_bytes(3 * 1024 * 1024, out, sizeof out);
	assert_string_equal(out, "3.0 MiB");
	ui_format_eta(0, 1000, 10, out, sizeof out);
	assert_string_equal(out, "1:40");
	ui_format_eta(0, 100000, 10, out, sizeof out);
	assert_string_equal(out, "2:46:40");
	ui_format_eta(10, 1000, 0, out, sizeof out);
	assert_string_equal(out, "--:--");
	ui_format_eta(1000, 1000, 0, out, sizeof out);
	assert_string_equal(out, "0:00");
	ui_format_progress(50, 100, 1024, 60, out, sizeof out);
	assert_int_equal(strlen(out), 60);
	assert_non_null(strstr(out, " 50% 1.0 KiB/s ETA 0:01"));
	/* half the bar is filled */
	size_t hashes = 0, dots = 0;
	for (const char *p = out + 1; *p != ']'; p++)
		*p == '#' ? hashes++ : dots++;
	assert_true(hashes == dots || hashes + 1 == dots);
	/* too narrow for a bar: the numbers alone */
	ui_format_progress(50, 100, 1024, 10, out, sizeof out);
	assert_null(strchr(out, '['));
	assert_non_null(strstr(out, "50%"));
}

static void test_confirm_word(void **state)
{
	(void)state;
	assert_true(ui_confirm_matches("BURN"));
	assert_false(ui_confirm_matches("burn"));
	assert_false(ui_confirm_matches("BUR"));
	assert_false(ui_confirm_matches("BURN "));
	assert_false(ui_confirm_matches("y"));
	assert_false(ui_confirm_matches(NULL));
}


static unsigned apply_and_free(struct ui_model *m, struct evq_msg *msg)
{
	unsigned d = ui_model_apply(m, msg);
	evq_msg_free(msg);
	return d;
}

static json_t *load(const char *text)
{
	json_error_t je;
	json_t *v = json_loads(text, 0, &je);
	assert_non_null(v);
	return v;
}

static const char *kv_value(const struct ui_kv *kv, size_t n, const char *key)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(kv[i].key, key))
			return kv[i].value;
	return NULL;
}

static void test_chip_event_fills_device_panel(void **state)
{
	(void)state;
	struct ui_model m;
	ui_model_init(&m);
	m.dirty = 0;
	struct ui_kv kv[32];
	assert_int_equal(ui_model_describe_chip(&m, kv, 32), 0);
	json_t *info = load("{\"chip\":\"esp32h2\",\"rev_major\":0,"
			    "\"rev_minor\":1,\"mac\":\"60:55:f9:00:00:01\",\"flash_size\":4194304,"
			    "\"crystal_mhz\":32,\"security\":{\"crypt_cnt\":1,\"secure_boot\":false,"
			    "\"key_blocks\":[{\"block\":\"KEY0\",\"purpose\":\"ECDSA_KEY\",\"empty\":false,"
			    "\"rd_dis\":true},{\"block\":1,\"purpose\":0,\"empty\":true},"
			    "{\"block\":2,\"purpose\":7,\"empty\":false,\"wr_dis\":true}]}}");
	unsigned d = apply_and_free(&m, evq_make_data(EVQ_EV_CHIP, NULL, info));
	json_decref(info);
	assert_int_equal(d, UI_DIRTY_CHIP);
	assert_int_equal(m.dirty, UI_DIRTY_CHIP);
	size_t n = ui_model_describe_chip(&m, kv, 32);
	assert_string_equal(kv_value(kv, n, "Chip"), "ESP32-H2");
	assert_string_equal(kv_value(kv, n, "Revision"), "v0.1");
	assert_string_equal(kv_value(kv, n, "MAC"), "60:55:f9:00:00:01");
	assert_string_equal(kv_value(kv, n, "Flash"), "4 MB");
	assert_string_equal(kv_value(kv, n, "Crystal"), "32 MHz");
	assert_string_equal(kv_value(kv, n, "FE counter"), "0x1 (FE ON)");
	assert_string_equal(kv_value(kv, n, "Secure boot"), "off");
	assert_string_equal(kv_value(kv, n, "KEY0"), "ECDSA_KEY RD");
	assert_string_equal(kv_value(kv, n, "KEY1"), "USER empty");
	assert_string_equal(kv_value(kv, n, "KEY2"), "HMAC_DOWN_DIGITAL_SIGNATURE WR");
	/* the MAC of the result screen falls back on the chip's */
	char mac[32];
	ui_model_get_mac(&m, mac, sizeof mac);
	assert_string_equal(mac, "60:55:f9:00:00:01");
	ui_model_free(&m);
}

static void test_chip_alternative_fields(void **state)
{
	(void)state;
	struct ui_model m;
	ui_model_init(&m);
	json_t *info = load("{\"name\":\"esp32-c3\",\"revision\":104,\"mac\":[96,85,249,0,0,2],"
			    "\"flash_size\":\"8MB\",\"efuse\":{\"flash_crypt_cnt\":3,\"secure_boot\":1}}");
	apply_and_free(&m, evq_make_data(EVQ_EV_CHIP, NULL, info));
	json_decref(info);
	struct ui_kv kv[32];
	size_t n = ui_model_describe_chip(&m, kv, 32);
	assert_string_equal(kv_value(kv, n, "Chip"), "ESP32-C3");
	assert_string_equal(kv_value(kv, n, "Revision"), "v1.4");
	assert_string_equal(kv_value(kv, n, "MAC"), "60:55:f9:00:00:02");
	assert_string_equal(kv_value(kv, n, "Flash"), "8MB");
	assert_string_equal(kv_value(kv, n, "FE counter"), "0x3 (FE off)");
	assert_string_equal(kv_value(kv, n, "Secure boot"), "ON");
	ui_model_free(&m);
}

/* Key blocks carry the chip's own names (from the chip table's eFuse layout): BLOCK1-3 with
 * their fixed roles on the ESP32, KEY0 with the C2's pseudo purposes, KEY0-5 with KEY_PURPOSE
 * names on the newer chips. The CHIP info is shaped as engine_describe_chip makes it. */
static void test_key_block_names_per_chip(void **state)
{
	(void)state;
	struct ui_model m;
	ui_model_init(&m);
	struct ui_kv kv[32];
	json_t *info = load("{\"chip\":\"esp32\",\"crypt_cnt\":0,\"secure_boot\":false,\"key_blocks\":["
			    "{\"block\":0,\"purpose\":255,\"empty\":false,\"rd_dis\":true,\"wr_dis\":true},"
			    "{\"block\":1,\"purpose\":0,\"empty\":true,\"rd_dis\":false,\"wr_dis\":false},"
			    "{\"block\":2,\"purpose\":0,\"empty\":true,\"rd_dis\":false,\"wr_dis\":false}]}");
	apply_and_free(&m, evq_make_data(EVQ_EV_CHIP, NULL, info));
	json_decref(info);
	size_t n = ui_model_describe_chip(&m, kv, 32);
	assert_null(kv_value(kv, n, "KEY0"));
	assert_string_equal(kv_value(kv, n, "BLOCK1"), "FLASH_ENC RD WR");
	assert_string_equal(kv_value(kv, n, "BLOCK2"), "SECURE_BOOT empty");
	assert_string_equal(kv_value(kv, n, "BLOCK3"), "USER empty");
	assert_string_equal(m.chip_after, "");

	/* C2: its one key block, the plan's C2 purpose 2 = XTS key derived from 128 eFuse bits */
	info = load("{\"chip\":\"esp32c2\",\"key_blocks\":[{\"block\":0,\"purpose\":2,\"empty\":false,"
		    "\"rd_dis\":true,\"wr_dis\":true}],\"after_step\":\"burn-fe-key\"}");
	apply_and_free(&m, evq_make_data(EVQ_EV_CHIP, NULL, info));
	json_decref(info);
	n = ui_model_describe_chip(&m, kv, 32);
	assert_string_equal(kv_value(kv, n, "KEY0"), "XTS_AES_128_KEY_DERIVED_FROM_128_EFUSE_BITS RD WR");
	assert_null(kv_value(kv, n, "BLOCK1"));
	assert_string_equal(m.chip_after, "burn-fe-key");

	/* S3: KEY0-KEY5 with KEY_PURPOSE names */
	info = load("{\"chip\":\"esp32s3\",\"key_blocks\":[{\"block\":0,\"purpose\":0,\"empty\":true},"
		    "{\"block\":1,\"purpose\":0,\"empty\":true},{\"block\":2,\"purpose\":0,\"empty\":true},"
		    "{\"block\":3,\"purpose\":0,\"empty\":true},{\"block\":4,\"purpose\":0,\"empty\":true},"
		    "{\"block\":5,\"purpose\":7,\"empty\":false,\"rd_dis\":true,\"wr_dis\":true}]}");
	apply_and_free(&m, evq_make_data(EVQ_EV_CHIP, NULL, info));
	json_decref(info);
	n = ui_model_describe_chip(&m, kv, 32);
	assert_string_equal(kv_value(kv, n, "KEY0"), "USER empty");
	assert_string_equal(kv_value(kv, n, "KEY5"), "HMAC_DOWN_DIGITAL_SIGNATURE RD WR");
	assert_string_equal(m.chip_after, "");
	ui_model_free(&m);
}

/* PRINT's answer (a DONE whose summary is printed / print-failed) sets the label state and
 * leaves the run's result alone. */
static void test_print_answers(void **state)
{
	(void)state;
	struct ui_model m;
	ui_model_init(&m);
	apply_and_free(&m, evq_make_payload("MT:Y.K9042C00KA0648G00", "34970112332"));
	json_t *sum = load("{\"serial\":\"S-1\",\"result\":\"ok\"}");
	apply_and_free(&m, evq_make_done(0, sum));
	json_decref(sum);
	assert_true(m.done);
	assert_int_equal(m.print_state, UI_PRINT_NONE);
	ui_model_print_sent(&m);
	assert_int_equal(m.print_state, UI_PRINT_PENDING);
	sum = load("{\"result\":\"print-failed\",\"target\":\"zebra\",\"error\":\"print to 'zebra': not found\"}");
	struct evq_msg *msg = evq_make_done(3, sum);
	json_decref(sum);
	assert_true(ui_model_is_print_answer(msg));
	unsigned d = apply_and_free(&m, msg);
	assert_int_equal(d, UI_DIRTY_PRINT);
	assert_int_equal(m.print_state, UI_PRINT_FAILED);
	assert_string_equal(m.print_text, "print failed: print to 'zebra': not found");
	assert_true(m.done);
	assert_int_equal(m.result, 0);
	sum = load("{\"result\":\"printed\",\"target\":\"zebra\",\"format\":\"png\",\"job\":12}");
	apply_and_free(&m, evq_make_done(0, sum));
	json_decref(sum);
	assert_int_equal(m.print_state, UI_PRINT_OK);
	assert_string_equal(m.print_text, "printed to zebra (job 12)");
	assert_string_equal(json_string_value(json_object_get(m.summary, "serial")), "S-1");
	/* a run's DONE is not a print answer; the next device forgets the label state */
	sum = load("{\"result\":\"ok\"}");
	msg = evq_make_done(0, sum);
	json_decref(sum);
	assert_false(ui_model_is_print_answer(msg));
	evq_msg_free(msg);
	ui_model_reset_device(&m);
	assert_int_equal(m.print_state, UI_PRINT_NONE);
	assert_string_equal(m.print_text, "");
	ui_model_free(&m);
}

static void test_plan_steps_progress_and_confirm(void **state)
{
	(void)state;
	struct ui_model m;
	ui_model_init(&m);
	json_t *steps = load("[{\"id\":\"detect\",\"text\":\"Detect chip\"},"
			     "{\"id\":\"burn-ecdsa-key\",\"text\":\"Burn DAC key into KEY0\",\"irreversible\":true},"
			     "{\"id\":\"write-fctry\",\"text\":\"Write fctry\",\"kind\":\"write\"}]");
	unsigned d = apply_and_free(&m, evq_make_data(EVQ_EV_PLAN, NULL, steps));
	json_decref(steps);
	assert_true(d & UI_DIRTY_PLAN);
	assert_int_equal(m.n_steps, 3);
	assert_string_equal(m.steps[1].id, "burn-ecdsa-key");
	assert_true(m.steps[1].irreversible);
	assert_false(m.steps[2].irreversible);
	assert_string_equal(m.steps[2].kind, "write");
	assert_int_equal(m.steps[0].state, EVQ_STEP_PENDING);

	m.dirty = 0;
	d = apply_and_free(&m, evq_make_step("write-fctry", EVQ_STEP_RUNNING));
	assert_true(d & UI_DIRTY_STEPS);
	assert_true(m.running);
	assert_null(ui_model_active_step(&m));
	d = apply_and_free(&m, evq_make_progress("write-fctry", 4096, 24576, 11520.0));
	assert_int_equal(d, UI_DIRTY_PROGRESS);
	const struct ui_step *s = ui_model_active_step(&m);
	assert_non_null(s);
	assert_string_equal(s->id, "write-fctry");
	assert_int_equal(s->done, 4096);
	assert_int_equal(s->total, 24576);
	/* progress for an unknown step changes nothing */
	m.dirty = 0;
	assert_int_equal(apply_and_free(&m, evq_make_progress("nope", 1, 2, 3)), 0);
	assert_int_equal(m.dirty, 0);
	apply_and_free(&m, evq_make_step("write-fctry", EVQ_STEP_DONE));
	assert_int_equal(ui_model_find_step(&m, "write-fctry")->done, 24576);
	assert_null(ui_model_active_step(&m));

	/* a step the plan did not list gets a row, before the steps still to come */
	d = apply_and_free(&m, evq_make_step("lockdown", EVQ_STEP_FAILED));
	assert_true(d & UI_DIRTY_PLAN);
	assert_int_equal(m.n_steps, 4);
	assert_int_equal(ui_model_find_step(&m, "lockdown")->state, EVQ_STEP_FAILED);
	assert_string_equal(m.steps[0].id, "lockdown");
	assert_string_equal(m.steps[1].id, "detect");
	assert_string_equal(m.steps[3].id, "write-fctry");

	d = apply_and_free(&m, evq_make_need_confirm("burn-ecdsa-key", "Burn KEY0 (irreversible)"));
	assert_int_equal(d, UI_DIRTY_CONFIRM);
	assert_true(m.need_confirm);
	assert_string_equal(m.confirm_step, "burn-ecdsa-key");
	ui_model_clear_confirm(&m);
	assert_false(m.need_confirm);
	ui_model_free(&m);
}

static void test_payload_done_and_reset(void **state)
{
	(void)state;
	struct ui_model m;
	ui_model_init(&m);
	json_t *steps = load("[\"detect\",\"write\"]");
	apply_and_free(&m, evq_make_data(EVQ_EV_PLAN, NULL, steps));
	json_decref(steps);
	assert_string_equal(m.steps[1].text, "write");
	apply_and_free(&m, evq_make_step("detect", EVQ_STEP_RUNNING));
	assert_true(m.running);
	apply_and_free(&m, evq_make_step("detect", EVQ_STEP_DONE));
	/* the end of a PLAN command is not the end of the device */
	json_t *planned = load("{\"result\":\"planned\",\"mac\":\"60:55:f9:00:00:01\"}");
	apply_and_free(&m, evq_make_done(0, planned));
	json_decref(planned);
	assert_true(m.planned);
	assert_false(m.done);
	assert_false(m.running);
	apply_and_free(&m, evq_make_payload("MT:Y.K9042C00KA0648G00", "34970112332"));
	assert_string_equal(m.qr, "MT:Y.K9042C00KA0648G00");
	assert_string_equal(m.manual, "34970112332");
	json_t *sum = load("{\"serial\":\"H2L-000001\",\"mac\":\"60:55:f9:00:00:01\"}");
	unsigned d = apply_and_free(&m, evq_make_done(0, sum));
	json_decref(sum);
	assert_true(d & UI_DIRTY_DONE);
	assert_true(m.done);
	assert_int_equal(m.result, 0);
	char serial[64];
	ui_model_get_serial(&m, serial, sizeof serial);
	assert_string_equal(serial, "H2L-000001");
	json_t *view = load("{\"entries\":[]}");
	apply_and_free(&m, evq_make_data(EVQ_EV_PARTITION, "esp_secure_cert", view));
	json_decref(view);
	assert_non_null(json_object_get(m.partitions, "esp_secure_cert"));

	ui_model_reset_device(&m);
	assert_false(m.done);
	assert_false(m.have_chip);
	assert_string_equal(m.qr, "");
	assert_int_equal(json_object_size(m.partitions), 0);
	assert_int_equal(m.n_steps, 2);
	assert_int_equal(m.steps[0].state, EVQ_STEP_PENDING);
	ui_model_get_serial(&m, serial, sizeof serial);
	assert_string_equal(serial, "-");
	ui_model_free(&m);
}

static void test_log_ring_and_errors(void **state)
{
	(void)state;
	struct ui_model m;
	ui_model_init(&m);
	char line[64];
	for (int i = 0; i < UI_LOG_LINES + 10; i++) {
		snprintf(line, sizeof line, "line %d", i);
		apply_and_free(&m, evq_make_log(LOG_INFO, line));
	}
	assert_int_equal(m.log_count, UI_LOG_LINES);
	assert_string_equal(ui_model_get_log(&m, 0)->text, "line 10");
	snprintf(line, sizeof line, "line %d", UI_LOG_LINES + 9);
	assert_string_equal(ui_model_get_log(&m, UI_LOG_LINES - 1)->text, line);
	assert_null(ui_model_get_log(&m, UI_LOG_LINES));
	/* one event with two lines and a tab: two clean lines */
	apply_and_free(&m, evq_make_log(LOG_WARN, "first\tpart\nsecond"));
	assert_string_equal(ui_model_get_log(&m, UI_LOG_LINES - 2)->text, "first part");
	assert_string_equal(ui_model_get_log(&m, UI_LOG_LINES - 1)->text, "second");
	assert_int_equal(ui_model_get_log(&m, UI_LOG_LINES - 1)->level, LOG_WARN);
	unsigned d = apply_and_free(&m, evq_make_error(3, "port /dev/ttyUSB0: no answer to SYNC"));
	assert_true(d & UI_DIRTY_ERROR);
	assert_int_equal(m.error_code, 3);
	assert_string_equal(ui_model_get_log(&m, UI_LOG_LINES - 1)->text,
			    "port /dev/ttyUSB0: no answer to SYNC");
	/* commands are not events */
	m.dirty = 0;
	assert_int_equal(apply_and_free(&m, evq_make_text(EVQ_CMD_DETECT, "/dev/x")), 0);
	ui_model_free(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format_manual_groups),
		cmocka_unit_test(test_format_rates_and_eta),
		cmocka_unit_test(test_confirm_word),
		cmocka_unit_test(test_chip_event_fills_device_panel),
		cmocka_unit_test(test_chip_alternative_fields),
		cmocka_unit_test(test_key_block_names_per_chip),
		cmocka_unit_test(test_print_answers),
		cmocka_unit_test(test_plan_steps_progress_and_confirm),
		cmocka_unit_test(test_payload_done_and_reset),
		cmocka_unit_test(test_log_ring_and_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
