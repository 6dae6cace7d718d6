/* espfab run --baud against espfab-sim over TCP: the run ends verified and the simulator's log
 * shows the loader switched the link with CHANGE_BAUDRATE; a profile whose [device] baud the
 * loader would refuse is bad input naming the file and line, before any port is opened. */
#include "testutil.h"
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

/* The running simulator, so teardown can stop it when an assertion jumped out of a test. */
static pid_t sim_running;

struct sim {
	pid_t pid;
	int port;
	char *flash, *efuse;
};

static bool sim_accepts(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	bool ok = connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
	close(fd);
	return ok;
}

/* A port the OS just gave out (bound to port 0, then released): another test's simulator or a
 * lingering socket cannot be sitting on it. */
static int free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t n = sizeof a;
	int port = -1;
	if (bind(fd, (struct sockaddr *)&a, sizeof a) == 0 && getsockname(fd, (struct sockaddr *)&a, &n) == 0)
		port = ntohs(a.sin_port);
	close(fd);
	return port;
}

static bool sim_try_start(struct sim *s, const char *chip, const char *log)
{
	s->port = free_port();
	if (s->port <= 0)
		return false;
	char port[16];
	snprintf(port, sizeof port, "%d", s->port);
	s->pid = fork();
	assert_true(s->pid >= 0);
	if (s->pid == 0) {
		const char *argv[16] = {testutil_sim_bin(), "--chip", chip, "--tcp", port, "--flash", s->flash,
					"--efuse", s->efuse, "--flash-size", "8MB", "--no-throttle"};
		int n = 12;
		if (log) {
			argv[n++] = "--log";
			argv[n++] = log;
		}
		argv[n] = NULL;
		if (!freopen("/dev/null", "w", stderr) || !freopen("/dev/null", "w", stdout))
			_exit(126);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	sim_running = s->pid;
	/* The first connection is the readiness probe; the simulator serves the next one. */
	for (int i = 0; i < 150; i++) {
		if (waitpid(s->pid, NULL, WNOHANG) == s->pid) {
			s->pid = 0;
			sim_running = 0;
			return false; /* it could not listen there */
		}
		if (sim_accepts(s->port)) {
			usleep(50000);
			return true;
		}
		usleep(20000);
	}
	kill(s->pid, SIGKILL);
	waitpid(s->pid, NULL, 0);
	s->pid = 0;
	sim_running = 0;
	return false;
}

static void sim_start(struct sim *s, const char *dir, const char *chip, const char *log)
{
	if (!s->flash) {
		s->flash = testutil_join_path(dir, "flash.bin");
		s->efuse = testutil_join_path(dir, "efuse.bin");
	}
	for (int attempt = 0; attempt < 3; attempt++)
		if (sim_try_start(s, chip, log))
			return;
	fail_msg("espfab-sim did not come up");
}

static void sim_stop(struct sim *s)
{
	if (s->pid > 0) {
		kill(s->pid, SIGTERM);
		waitpid(s->pid, NULL, 0);
		s->pid = 0;
		sim_running = 0;
	}
}

static void sim_free(struct sim *s)
{
	sim_stop(s);
	free(s->flash);
	free(s->efuse);
}

static void make_pki(const char *dir)
{
	mbedtls_pk_context key;
	mbedtls_pk_init(&key);
	assert_int_equal(mbedtls_pk_setup(&key, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY)), 0);
	assert_int_equal(mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1, mbedtls_pk_ec(key), rng_mbedtls_callback,
					     NULL), 0);
	mbedtls_x509write_cert crt;
	mbedtls_x509write_crt_init(&crt);
	mbedtls_x509write_crt_set_version(&crt, MBEDTLS_X509_CRT_VERSION_3);
	mbedtls_x509write_crt_set_md_alg(&crt, MBEDTLS_MD_SHA256);
	mbedtls_x509write_crt_set_subject_key(&crt, &key);
	mbedtls_x509write_crt_set_issuer_key(&crt, &key);
	mbedtls_x509write_crt_set_subject_name(&crt, "CN=Sim PAI");
	mbedtls_x509write_crt_set_issuer_name(&crt, "CN=Sim PAI");
	mbedtls_mpi serial;
	mbedtls_mpi_init(&serial);
	mbedtls_mpi_lset(&serial, 3);
	mbedtls_x509write_crt_set_serial(&crt, &serial);
	mbedtls_x509write_crt_set_validity(&crt, "20240101000000", "20991231235959");
	mbedtls_x509write_crt_set_basic_constraints(&crt, 1, 0);
	mbedtls_x509write_crt_set_key_usage(&crt, MBEDTLS_X509_KU_KEY_CERT_SIGN | MBEDTLS_X509_KU_CRL_SIGN);
	mbedtls_x509write_crt_set_subject_key_identifier(&crt);
	mbedtls_x509write_crt_set_authority_key_identifier(&crt);
	unsigned char pem[4096];
	assert_int_equal(mbedtls_x509write_crt_pem(&crt, pem, sizeof pem, rng_mbedtls_callback, NULL), 0);
	char *p = testutil_join_path(dir, "pai_cert.pem");
	testutil_write_file(p, pem, strlen((char *)pem));
	free(p);
	assert_int_equal(mbedtls_pk_write_key_pem(&key, pem, sizeof pem), 0);
	p = testutil_join_path(dir, "pai_key.pem");
	testutil_write_file(p, pem, strlen((char *)pem));
	chmod(p, 0600);
	free(p);
	testpki_write_cd(dir, "cd.der", 0xFFF1, 0x8000);
	mbedtls_mpi_free(&serial);
	mbedtls_x509write_crt_free(&crt);
	mbedtls_pk_free(&key);
}

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
	make_pki(dir);
	*state = dir;
	return 0;
}

static int teardown(void **state)
{
	if (sim_running > 0) {
		kill(sim_running, SIGKILL);
		waitpid(sim_running, NULL, 0);
		sim_running = 0;
	}
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
	struct sim s = {0};
	sim_start(&s, dir, "esp32h2", log);
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
	sim_stop(&s);
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
	sim_free(&s);
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
