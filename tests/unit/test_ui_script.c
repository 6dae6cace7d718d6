/* The replay backend: every event the headless front end prints (evq_format_json) is read back
 * into the same message, and a script waits for the commands it names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../ui/ui_script.c"
#include "testutil.h"

static struct evq_msg *round_trip(struct evq_msg *m)
{
	char *line = evq_format_json(m);
	json_error_t je;
	json_t *o = json_loads(line, 0, &je);
	assert_non_null(o);
	err_t e = {0};
	struct evq_msg *back = ui_script_parse_event(o, &e);
	assert_non_null(back);
	/* printed again, the copy reads the same as the original */
	char *again = evq_format_json(back);
	assert_string_equal(line, again);
	free(again);
	free(line);
	json_decref(o);
	evq_msg_free(m);
	return back;
}

static void test_every_event_round_trips(void **state)
{
	(void)state;
	json_t *chip = json_pack("{s:s, s:i}", "chip", "esp32h2", "flash_size", 4194304);
	json_t *steps = json_pack("[{s:s, s:b}]", "id", "burn-ecdsa-key", "irreversible", 1);
	json_t *sum = json_pack("{s:s}", "serial", "H2L-000001");
	struct evq_msg *msgs[] = {
		evq_make_log(LOG_WARN, "careful"),
		evq_make_data(EVQ_EV_CHIP, NULL, chip),
		evq_make_data(EVQ_EV_PLAN, NULL, steps),
		evq_make_step("write-fctry", EVQ_STEP_FAILED),
		evq_make_progress("write-fctry", 4096, 24576, 11520.5),
		evq_make_need_confirm("confirm", "burn KEY0"),
		evq_make_data(EVQ_EV_PARTITION, "fctry", chip),
		evq_make_payload("MT:Y.K9042C00KA0648G00", "34970112332"),
		evq_make_done(0, sum),
		evq_make_error(3, "no answer"),
	};
	for (size_t i = 0; i < sizeof msgs / sizeof msgs[0]; i++) {
		enum evq_type t = msgs[i]->type;
		struct evq_msg *b = round_trip(msgs[i]);
		assert_int_equal(b->type, t);
		evq_msg_free(b);
	}
	json_decref(chip);
	json_decref(steps);
	json_decref(sum);
}

static void test_not_events_are_refused(void **state)
{
	(void)state;
	err_t e = {0};
	json_t *o = json_pack("{s:s}", "command", "run");
	assert_null(ui_script_parse_event(o, &e));
	assert_non_null(strstr(e.msg, "\"event\" is missing"));
	json_decref(o);
	o = json_pack("{s:s}", "event", "teleport");
	assert_null(ui_script_parse_event(o, &e));
	assert_non_null(strstr(e.msg, "teleport"));
	json_decref(o);
}

static void test_script_waits_for_commands(void **state)
{
	(void)state;
	char *dir = testutil_make_tmpdir();
	char *path = testutil_join_path(dir, "run.jsonl");
	const char *text = "# a comment\n"
			   "{\"event\":\"log\",\"level\":\"info\",\"text\":\"first\"}\n"
			   "{\"await\":\"run\"}\n"
			   "{\"event\":\"done\",\"result\":0}\n";
	testutil_write_file(path, text, strlen(text));
	err_t e = {0};
	evq_t *cmds = evq_create(16, 100, &e), *events = evq_create(16, 100, &e);
	struct ui_script *s = ui_script_start(path, cmds, events, 0, &e);
	assert_non_null(s);
	struct evq_msg *m = evq_pop(events, 2000);
	assert_non_null(m);
	assert_int_equal(m->type, EVQ_EV_LOG);
	assert_string_equal(m->text, "first");
	evq_msg_free(m);
	/* nothing more until RUN: another command does not release it */
	evq_push(cmds, evq_make_text(EVQ_CMD_DETECT, "/dev/x"), NULL);
	assert_null(evq_pop(events, 300));
	evq_push(cmds, evq_msg_new(EVQ_CMD_RUN), NULL);
	m = evq_pop(events, 2000);
	assert_non_null(m);
	assert_int_equal(m->type, EVQ_EV_DONE);
	evq_msg_free(m);
	evq_close(events);
	evq_close(cmds);
	ui_script_stop(s);
	evq_destroy(events);
	evq_destroy(cmds);

	/* a line that is not JSON names the file and line */
	testutil_write_file(path, "{\"event\":\"log\"}\nnot json\n", 24);
	cmds = evq_create(4, 10, &e);
	events = evq_create(4, 10, &e);
	err_clear_msg(&e);
	assert_null(ui_script_start(path, cmds, events, 0, &e));
	assert_non_null(strstr(e.msg, "run.jsonl:2"));
	evq_destroy(events);
	evq_destroy(cmds);
	testutil_remove_tree(dir);
	free(path);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_event_round_trips),
		cmocka_unit_test(test_not_events_are_refused),
		cmocka_unit_test(test_script_waits_for_commands),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
