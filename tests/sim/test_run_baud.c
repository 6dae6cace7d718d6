/* espfab run --baud against espfab-sim over TCP: the run ends verified and the simulator's log
 * shows the loader switched the link with CHANGE_BAUDRATE; a profile whose [device] baud the
 * loader would refuse is bad input naming the file and line, before any port is opened. */
#include "testutil.h"
#include "simrun.h"
#include "testpki.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <mbedtls/ecp.h>
#include <mbedtls/pk.h>
#include <mbedtls/x509_crt.h>

#include "core/rng.h"

static char *make_profile(const char *dir, const char *extra_device)
{
	char text[2048];
	char *tpath = testutil_join_path(testutil_source_dir(), "assets/partitions/h2-light.csv");
	snprintf(text, sizeof text,
		 "[product]\nvendor_id = 0xFFF1\nproduct_id = 0x8000\nvendor_name = Sim Vendor\n"
		 "product_name = Sim Light\nchips = esp32h2\n"
		 "[attestation]\npai_cert = pai_cert.pem\npai_key = pai_key.pem\ncd = cd.der\n"
		 "[partitions]\ntable = %s\n[security]\nmode = development\n[device]\nserial = SIM-{seq:03}\n%s",
		 tpath, extra_device);
	free(tpath);
	char *p = testutil_join_path(dir, "profile.ini");
	testutil_write_file(p, text, strlen(text));
	return p;
}

/* The "done" event's integer result, or -1 when there is none; 0 also needs the summary's
 * result "ok" (the device verified). */
static int done_result(buf_t *out)
{
	const char *text = buf_terminate_str(out);
	int result = -1;
	for (const char *line = text; *line;) {
		const char *nl = strchr(line, '\n');
		size_t n = nl ? (size_t)(nl - line) : strlen(line);
		json_error_t je;
		json_t *ev = json_loadb(line, n, 0, &je);
		if (!ev)
			fail_msg("not a JSON line: %.*s", (int)n, line);
		const char *kind = json_string_value(json_object_get(ev, "event"));
		if (kind && !strcmp(kind, "done")) {
			result = (int)json_integer_value(json_object_get(ev, "result"));
			const char *sum = json_string_value(
				json_object_get(json_object_get(ev, "summary"), "result"));
			if (result == 0 && (!sum || strcmp(sum, "ok")))
				result = -2;
		}
		json_decref(ev);
		line += n + (nl ? 1 : 0);
	}
	return result;
}

static int setup(void **state)
{
	if (!getenv("ESPFAB_SIM_BIN") || !testutil_source_dir())
		return 0;
	char *dir = testutil_make_tmpdir();
	testpki_write_material(dir);
	*state = dir;
	return 0;
}

static int teardown(void **state)
{
	simrun_kill_leftover();
	if (*state) {
		testutil_remove_tree(*state);
		free(*state);
	}
	return 0;
}

static void test_run_at_921600(void **state)
{
	if (!*state)
		skip();
	const char *dir = *state;
	char *log = testutil_join_path(dir, "sim.log");
	struct simrun s = {0};
	simrun_start(&s, dir, "esp32h2", (const char *const[]){"--no-throttle", "--log", log, NULL});
	char *profile = make_profile(dir, "");
	char portarg[64];
	snprintf(portarg, sizeof portarg, "socket://127.0.0.1:%d", s.port);
	char *out = testutil_join_path(dir, "out");
	char *argv[] = {"espfab", "run", "--profile", profile, "--port", portarg, "--out", out, "--json",
			"--yes", "--baud", "921600", NULL};
	buf_t o = BUF_INIT, err = BUF_INIT;
	int rc = testutil_run_espfab(dir, argv, &o, &err);
	if (rc != 0)
		fail_msg("exit %d: %s", rc, (char *)buf_terminate_str(&err));
	assert_int_equal(done_result(&o), 0);
	assert_non_null(strstr(buf_terminate_str(&o), "\"verify-flash\""));
	simrun_stop(&s);
	buf_t l = BUF_INIT;
	testutil_read_file(log, &l);
	const char *text = buf_terminate_str(&l);
	const char *cb = strstr(text, "CHANGE_BAUDRATE");
	if (!cb)
		fail_msg("no CHANGE_BAUDRATE in the simulator's log:\n%s", text);
	/* the switch is accepted, not refused, and to the rate asked for */
	const char *eol = strchr(cb, '\n');
	size_t n = eol ? (size_t)(eol - cb) : strlen(cb);
	char line[512];
	snprintf(line, sizeof line, "%.*s", (int)(n < 500 ? n : 500), cb);
	assert_null(strstr(line, "rejected"));
	assert_non_null(strstr(line, "status=0"));
	/* the simulator's UART now runs at the rate asked for, not the 460800 default */
	if (!strstr(cb, "baud now 921600\n"))
		fail_msg("the simulator's UART did not switch to 921600:\n%s", text);
	buf_free_data(&l);
	buf_free_data(&o);
	buf_free_data(&err);
	free(out);
	free(profile);
	free(log);
	simrun_free(&s);
}

static void test_profile_bad_baud(void **state)
{
	if (!*state)
		skip();
	const char *dir = *state;
	char *profile = make_profile(dir, "baud = 12345678\n");
	/* the baud key is the profile's last line */
	buf_t t = BUF_INIT;
	testutil_read_file(profile, &t);
	int line = 0;
	for (size_t i = 0; i < t.len; i++)
		line += t.data[i] == '\n';
	buf_free_data(&t);
	char *argv[] = {"espfab", "run", "--profile", profile, "--port", "socket://127.0.0.1:1", "--json",
			"--yes", NULL};
	buf_t o = BUF_INIT, err = BUF_INIT;
	int rc = testutil_run_espfab(dir, argv, &o, &err);
	assert_int_equal(rc, 1);
	const char *msg = buf_terminate_str(&err);
	char want[1024];
	snprintf(want, sizeof want, "%s:%d: [device] baud", profile, line);
	if (!strstr(msg, want) || !strstr(msg, "baud") || !strstr(msg, "12345678"))
		fail_msg("expected '%s ... 12345678' in: %s", want, msg);
	buf_free_data(&o);
	buf_free_data(&err);
	/* a rate below the loader's range is refused the same way */
	free(profile);
	profile = make_profile(dir, "baud = 300\n");
	argv[3] = profile;
	rc = testutil_run_espfab(dir, argv, &o, &err);
	assert_int_equal(rc, 1);
	snprintf(want, sizeof want, "%s:%d: [device] baud", profile, line);
	assert_non_null(strstr(buf_terminate_str(&err), want));
	buf_free_data(&o);
	buf_free_data(&err);
	free(profile);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_run_at_921600, setup, teardown),
		cmocka_unit_test_setup_teardown(test_profile_bad_baud, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
