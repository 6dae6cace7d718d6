/* bench_provision: one full provisioning cycle (espfab run --json --yes, H2, ecdsa-efuse path,
 * the example profile's settings with a fresh PAI and CD, 10,000 PBKDF2 iterations) against the
 * THROTTLED espfab-sim at 115200 and at 921600, sliced by the JSON events as they arrive (each
 * line is flushed when the engine emits it). The slices are contiguous, from fork to exit, so
 * they add up to the whole run: the first covers process start-up, profile, port open, sync and
 * chip detection (done before the engine's detect step); a step's "running" event opens its
 * slice, which also holds what the engine does after that step's "done" (its journal record,
 * after detect the journal look-up of the MAC); need_confirm opens the confirmation's slice and
 * payload the result's (journal result, manifest, exit). Every slice with link traffic gets the
 * wire limit beside its time:
 *   wire bytes = per ROM command in the sim's --log falling inside the slice: request (2 SLIP ENDs +
 *                8-byte header + len) + reply (2 + 8 + data + 2 status; READ_FLASH_SLOW data = 64);
 *                SLIP escapes are not counted (about 2 in 256 bytes of random data)
 *   wire time  = wire bytes x 10 / baud (8N1)
 *   flash time = the sim's own model over the step's image bytes (progress "total"): 45 ms per
 *                4 KiB sector erased + 0.7 ms per 256-byte page programmed for a write; 0.25 ms per
 *                KiB hashed for a verify that uses MD5 (none when it reads back with READ_FLASH_SLOW).
 *                Not modelled: the sim's 4 ms per eFuse program command (a handful in a burn)
 *   limit      = wire time + flash time; ratio = measured / limit.
 * Below the tables: what the generate step's crypto costs in-process (PBKDF2 on the default and
 * the portable path, the DAC key pair and certificate), for reading the generate slice.
 * Usage: bench_provision   (needs build/espfab and build/espfab-sim; ESPFAB_BIN, ESPFAB_SIM_BIN
 * and ESPFAB_SRC as under ctest, or run from the build folder; BENCH_TRACE=1 prints each event
 * with its arrival time on stderr). Never run by ctest. */
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
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <mbedtls/ecp.h>
#include <mbedtls/pk.h>
#include <mbedtls/x509_crt.h>

#include "core/rng.h"
#include "crypto/attest.h"
#include "crypto/pbkdf2.h"
#include "simrun.h"
#include "testpki.h"
#include "testutil.h"

#define CHECK0(x) do { if ((x) != 0) { fprintf(stderr, "bench_provision: %s failed\n", #x); exit(1); } } while (0)


#define MAX_SEGS 48

/* One slice of the run. Slices are contiguous: each starts at the event that opens it and ends
 * where the next one starts, so together they cover the whole run from fork to exit. */
struct seg {
	char name[64];
	const char *kind;
	double t0, t1;      /* seconds of the UTC day (the sim's log uses the same clock) */
	double total;       /* largest progress total seen (image bytes) */
	double wire_bytes;  /* from the sim's log */
	int cmds, md5, reads; /* commands seen in the slice */
};

struct cycle {
	unsigned baud;
	double start, end;
	struct seg segs[MAX_SEGS];
	int n_segs;
	int result;
};

static double bench_day_seconds(void)
{
	struct timespec t;
	clock_gettime(CLOCK_REALTIME, &t);
	return (double)(t.tv_sec % 86400) + (double)t.tv_nsec / 1e9;
}

static const char *step_kind(const char *name)
{
	if (strstr(name, "verify"))
		return "verify";
	if (strstr(name, "detect") || strstr(name, "connect") || strstr(name, "start-up"))
		return "detect";
	if (strstr(name, "gen") || strstr(name, "identity") || strstr(name, "plan"))
		return "generate";
	if (strstr(name, "burn") || strstr(name, "efuse") || strstr(name, "key") || strstr(name, "confirm"))
		return "burn";
	if (strstr(name, "write") || strstr(name, "flash"))
		return "write";
	return "result";
}

/* Closes the open slice at t and opens one named name. */
static struct seg *cycle_open(struct cycle *c, const char *name, double t)
{
	if (c->n_segs)
		c->segs[c->n_segs - 1].t1 = t;
	if (c->n_segs == MAX_SEGS)
		return &c->segs[MAX_SEGS - 1];
	struct seg *s = &c->segs[c->n_segs++];
	memset(s, 0, sizeof *s);
	snprintf(s->name, sizeof s->name, "%s", name);
	s->kind = step_kind(name);
	s->t0 = t;
	return s;
}

/* A throttled simulator on fresh flash and eFuse files, logging every command to log. */
static void sim_start(struct simrun *s, const char *dir, const char *log)
{
	char *flash = testutil_join_path(dir, "flash.bin"), *efuse = testutil_join_path(dir, "efuse.bin");
	unlink(flash);
	unlink(efuse);
	free(flash);
	free(efuse);
	simrun_start(s, dir, "esp32h2", (const char *const[]){"--log", log, NULL});
}

/* Runs espfab and slices its time by the JSON lines as they arrive (each is flushed when the
 * engine emits it): a step's "running" opens its slice; need_confirm opens the confirmation's and
 * payload the result's. A step's slice therefore also holds what the engine does after that
 * step's "done" (its journal record) and before the next step starts. */
static void cycle_run(struct cycle *c, const char *dir, const char *profile, int port)
{
	char portarg[64], baud[16];
	snprintf(portarg, sizeof portarg, "socket://127.0.0.1:%d", port);
	snprintf(baud, sizeof baud, "%u", c->baud);
	char *out = testutil_join_path(dir, "out");
	int fd[2];
	CHECK0(pipe(fd));
	fflush(stdout);
	c->start = bench_day_seconds();
	pid_t pid = fork();
	if (pid == 0) {
		dup2(fd[1], 1);
		close(fd[0]);
		close(fd[1]);
		if (!freopen("/dev/null", "w", stderr))
			_exit(126);
		const char *bin = getenv("ESPFAB_BIN") ? getenv("ESPFAB_BIN") : "./espfab";
		const char *argv[] = {bin, "run", "--profile", profile, "--port", portarg, "--out", out, "--json",
				      "--yes", "--baud", baud, NULL};
		execv(bin, (char *const *)argv);
		_exit(127);
	}
	close(fd[1]);
	cycle_open(c, "(start-up, profile, port, sync, detect)", c->start);
	FILE *f = fdopen(fd[0], "r");
	char *line = NULL;
	size_t cap = 0;
	c->result = -1;
	while (getline(&line, &cap, f) > 0) {
		double now = bench_day_seconds();
		if (getenv("BENCH_TRACE"))
			fprintf(stderr, "%8.3f %.150s%s", now - c->start, line, strlen(line) > 150 ? "\n" : "");
		json_error_t je;
		json_t *ev = json_loads(line, 0, &je);
		if (!ev)
			continue;
		const char *kind = json_string_value(json_object_get(ev, "event"));
		const char *step = json_string_value(json_object_get(ev, "step"));
		const char *state = json_string_value(json_object_get(ev, "state"));
		struct seg *cur = &c->segs[c->n_segs - 1];
		if (kind && !strcmp(kind, "step") && step && state && !strcmp(state, "running")) {
			cycle_open(c, step, now);
		} else if (kind && !strcmp(kind, "need_confirm")) {
			cycle_open(c, "confirm", now);
		} else if (kind && !strcmp(kind, "payload")) {
			cycle_open(c, "result (journal, manifest, exit)", now);
		} else if (kind && !strcmp(kind, "progress") && step && !strcmp(step, cur->name)) {
			double tot = json_number_value(json_object_get(ev, "total"));
			if (tot > cur->total)
				cur->total = tot;
		} else if (kind && !strcmp(kind, "done")) {
			c->result = (int)json_integer_value(json_object_get(ev, "result"));
		}
		json_decref(ev);
	}
	free(line);
	fclose(f);
	int st;
	waitpid(pid, &st, 0);
	c->end = bench_day_seconds();
	c->segs[c->n_segs - 1].t1 = c->end;
	free(out);
}

/* Attributes each ROM command of the sim's log to the slice holding its time stamp. */
static void cycle_read_log(struct cycle *c, const char *log)
{
	FILE *f = fopen(log, "r");
	if (!f)
		return;
	char line[512];
	while (fgets(line, sizeof line, f)) {
		int hh, mm, ss, ms;
		char op[64];
		unsigned len;
		if (sscanf(line, "%d:%d:%d.%d %63s len=%u", &hh, &mm, &ss, &ms, op, &len) != 6)
			continue;
		/* The log stamps in whole milliseconds (truncated): take the middle of that one. */
		double t = hh * 3600 + mm * 60 + ss + (ms + 0.5) / 1000.0;
		if (t < c->start - 0.001)
			continue;
		for (int i = 0; i < c->n_segs; i++) {
			struct seg *s = &c->segs[i];
			if (t >= s->t1 && i + 1 < c->n_segs)
				continue;
			double reply = 2 + 8 + 2;
			if (!strcmp(op, "READ_FLASH_SLOW")) {
				reply += 64;
				s->reads++;
			}
			if (!strcmp(op, "SPI_FLASH_MD5")) {
				reply += 32;
				s->md5++;
			}
			s->wire_bytes += 2 + 8 + len + reply;
			s->cmds++;
			break;
		}
	}
	fclose(f);
}

static double seg_flash_time(const struct seg *s)
{
	if (!strcmp(s->kind, "write"))
		return ((double)((long)(s->total + 4095) / 4096) * 45.0 + (double)((long)(s->total + 255) / 256) * 0.7) /
		       1000.0;
	if (!strcmp(s->kind, "verify") && s->md5)
		return s->total / 1024.0 * 0.25 / 1000.0;
	return 0;
}

static const char *const bench_kinds[] = {"detect", "generate", "burn", "write", "verify", "result"};

static void cycle_print(const struct cycle *c)
{
	double whole = c->end - c->start;
	printf("\n== espfab run at %u baud (throttled espfab-sim), result %d, total %.3f s ==\n", c->baud,
	       c->result, whole);
	printf("| slice | kind | time s | %% of run | ROM cmds | wire bytes | wire s | flash s | limit s | "
	       "time / limit |\n");
	printf("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
	double sums[6] = {0}, wire_sums[6] = {0}, limit_sums[6] = {0}, sum = 0;
	for (int i = 0; i < c->n_segs; i++) {
		const struct seg *s = &c->segs[i];
		double dt = s->t1 - s->t0;
		sum += dt;
		double wire = s->wire_bytes * 10.0 / c->baud, fl = seg_flash_time(s);
		for (int k = 0; k < 6; k++)
			if (!strcmp(bench_kinds[k], s->kind)) {
				sums[k] += dt;
				wire_sums[k] += wire;
				limit_sums[k] += wire + fl;
			}
		printf("| %s | %s | %.3f | %.1f |", s->name, s->kind, dt, 100.0 * dt / whole);
		if (s->cmds)
			printf(" %d | %.0f | %.3f | %.3f | %.3f | %.2f |\n", s->cmds, s->wire_bytes, wire, fl, wire + fl,
			       dt / (wire + fl));
		else
			printf(" | | | | | |\n");
	}
	printf("\n| kind | time s | %% of run | limit s (wire + flash) | time / limit |\n|---|---:|---:|---:|---:|\n");
	for (int k = 0; k < 6; k++) {
		printf("| %s | %.3f | %.1f |", bench_kinds[k], sums[k], 100.0 * sums[k] / whole);
		if (limit_sums[k] > 0)
			printf(" %.3f | %.2f |\n", limit_sums[k], sums[k] / limit_sums[k]);
		else
			printf(" | |\n");
	}
	printf("| sum of kinds | %.3f | %.1f | | |\n", sum, 100.0 * sum / whole);
}

static double bench_mono(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Milliseconds per 10,000-iteration PBKDF2 of the verifier's 80 bytes, best of 5. */
static double bench_pbkdf2_ms(enum pbkdf2_impl impl)
{
	uint8_t pw[4] = {1, 2, 3, 4}, salt[32] = {0}, out[80];
	double best = 1e9;
	for (int i = 0; i < 5; i++) {
		err_t e = {0};
		double t0 = bench_mono();
		if (pbkdf2_hmac_sha256_with(impl, pw, sizeof pw, salt, sizeof salt, 10000, out, sizeof out, &e))
			return -1;
		double t = bench_mono() - t0;
		if (t < best)
			best = t;
	}
	return best * 1e3;
}

/* Milliseconds for one DAC key pair and its certificate from a PAI, best of 20. */
static double bench_dac_ms(void)
{
	mbedtls_pk_context paa, pai;
	mbedtls_x509_crt paa_crt, pai_crt;
	mbedtls_pk_init(&paa);
	mbedtls_pk_init(&pai);
	mbedtls_x509_crt_init(&paa_crt);
	mbedtls_x509_crt_init(&pai_crt);
	buf_t der = BUF_INIT;
	err_t e = {0};
	time_t from = time(NULL) - 86400;
	struct attest_cert_params pa = {.type = ATTEST_PAA, .subject_cn = "Bench PAA", .valid_from = from,
					.lifetime_days = 3650};
	struct attest_cert_params pi = {.type = ATTEST_PAI, .subject_cn = "Bench PAI", .has_vid = true,
					.vid = 0xFFF1, .valid_from = from, .lifetime_days = 3650};
	struct attest_cert_params pd = {.type = ATTEST_DAC, .subject_cn = "00112233445566778899aabbccddeeff",
					.has_vid = true, .vid = 0xFFF1, .has_pid = true, .pid = 0x8000,
					.valid_from = from, .lifetime_days = 3650};
	int rc = attest_generate_key(&paa, &e) || attest_make_cert(&pa, &paa, NULL, NULL, &der, &e) ||
		 attest_parse_cert(der.data, der.len, "PAA", &paa_crt, &e);
	der.len = 0;
	rc = rc || attest_generate_key(&pai, &e) || attest_make_cert(&pi, &pai, &paa_crt, &paa, &der, &e) ||
	     attest_parse_cert(der.data, der.len, "PAI", &pai_crt, &e);
	double best = 1e9;
	for (int i = 0; !rc && i < 20; i++) {
		mbedtls_pk_context key;
		mbedtls_pk_init(&key);
		der.len = 0;
		double t0 = bench_mono();
		rc = attest_generate_key(&key, &e) || attest_make_cert(&pd, &key, &pai_crt, &pai, &der, &e);
		double t = bench_mono() - t0;
		if (t < best)
			best = t;
		mbedtls_pk_free(&key);
	}
	buf_free_data(&der);
	mbedtls_x509_crt_free(&paa_crt);
	mbedtls_x509_crt_free(&pai_crt);
	mbedtls_pk_free(&paa);
	mbedtls_pk_free(&pai);
	return rc ? -1 : best * 1e3;
}

int main(void)
{
	if (!getenv("ESPFAB_SIM_BIN"))
		setenv("ESPFAB_SIM_BIN", "./espfab-sim", 0);
	const char *srcdir = testutil_source_dir();
	if (!srcdir) {
		fprintf(stderr, "bench_provision: set ESPFAB_SRC to the source tree\n");
		return 1;
	}
	unsigned bauds[] = {115200, 921600};
	static struct cycle cycles[2];
	for (int b = 0; b < 2; b++) {
		char *dir = testutil_make_tmpdir();
		testpki_write_material(dir);
		char *table = testutil_join_path(srcdir, "assets/partitions/h2-light.csv");
		char text[2048];
		snprintf(text, sizeof text,
			 "[product]\nvendor_id = 0xFFF1\nproduct_id = 0x8000\nvendor_name = Espfab Test Vendor\n"
			 "product_name = H2 Light\nhardware_version = 1\nhardware_version_string = v1.0\n"
			 "chips = esp32h2\n[attestation]\npai_cert = pai_cert.pem\npai_key = pai_key.pem\n"
			 "cd = cd.der\n[partitions]\ntable = %s\nsecure_cert = esp_secure_cert\nfactory = fctry\n"
			 "[security]\npath = ecdsa-efuse\nmode = development\n[commissioning]\n"
			 "iteration_count = 10000\n[device]\nserial = H2L-{seq:06}\n",
			 table);
		free(table);
		char *profile = testutil_join_path(dir, "profile.ini");
		testutil_write_file(profile, text, strlen(text));
		char *log = testutil_join_path(dir, "sim.log");
		int port = 0;
		struct simrun sim = {0};
		sim_start(&sim, dir, log);
		port = sim.port;
		memset(&cycles[b], 0, sizeof cycles[b]);
		cycles[b].baud = bauds[b];
		cycle_run(&cycles[b], dir, profile, port);
		simrun_free(&sim);
		cycle_read_log(&cycles[b], log);
		cycle_print(&cycles[b]);
		free(log);
		free(profile);
		testutil_remove_tree(dir);
		free(dir);
	}
	printf("\nwhole run: %.3f s at 115200, %.3f s at 921600: %.2fx\n", cycles[0].end - cycles[0].start,
	       cycles[1].end - cycles[1].start,
	       (cycles[0].end - cycles[0].start) / (cycles[1].end - cycles[1].start));
	printf("in-process cost of the generate step's crypto: PBKDF2 10,000 iterations %.2f ms (%s path, as "
	       "espfab runs it), %.2f ms portable; DAC key pair + certificate %.2f ms\n",
	       bench_pbkdf2_ms(PBKDF2_IMPL_AUTO), pbkdf2_has_sha_ni() ? "SHA-NI" : "portable",
	       bench_pbkdf2_ms(PBKDF2_IMPL_PORTABLE), bench_dac_ms());
	return 0;
}
