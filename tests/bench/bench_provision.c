/* bench_provision: one full provisioning cycle (espfab run --json --yes, H2, ecdsa-efuse path,
 * the example profile's settings with a fresh PAI and CD) against the THROTTLED espfab-sim at
 * 921600 and at 115200, split by step by timestamping the JSON step events as they arrive. For
 * the steps that move flash over the link (write, verify) it prints the wire limit beside the time:
 *   wire bytes = per ROM command in the sim's --log falling inside the step: request (2 SLIP ENDs +
 *                8-byte header + len) + reply (2 + 8 + data + 2 status; READ_FLASH_SLOW data = 64);
 *                SLIP escapes are not counted (about 2 in 256 bytes of random data)
 *   wire time  = wire bytes x 10 / baud (8N1)
 *   flash time = the sim's own model over the step's image bytes (progress "total"): 45 ms per
 *                4 KiB sector erased + 0.7 ms per 256-byte page programmed for a write; 0.25 ms per
 *                KiB hashed for a verify that uses MD5 (none when it reads back with READ_FLASH_SLOW)
 *   limit      = wire time + flash time; ratio = measured / limit.
 * Usage: bench_provision   (needs build/espfab and build/espfab-sim; ESPFAB_BIN, ESPFAB_SIM_BIN
 * and ESPFAB_SRC as under ctest, or run from the build folder). Never run by ctest. */
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
#include "simrun.h"
#include "testpki.h"
#include "testutil.h"

#define CHECK0(x) do { if ((x) != 0) { fprintf(stderr, "bench_provision: %s failed\n", #x); exit(1); } } while (0)


#define MAX_STEPS 32

struct step_rec {
	char name[64];
	double t0, t1;      /* seconds of the UTC day, when "running" and "done" arrived */
	double total;       /* largest progress total seen (image bytes) */
	double wire_bytes;  /* from the sim's log */
	int md5, reads;     /* commands seen in the step */
};

struct cycle {
	unsigned baud;
	double start, first_line, end;
	struct step_rec steps[MAX_STEPS];
	int n_steps;
	int result;
};

static double bench_day_seconds(void)
{
	struct timespec t;
	clock_gettime(CLOCK_REALTIME, &t);
	return (double)(t.tv_sec % 86400) + (double)t.tv_nsec / 1e9;
}

static struct step_rec *cycle_step(struct cycle *c, const char *name)
{
	for (int i = 0; i < c->n_steps; i++)
		if (!strcmp(c->steps[i].name, name))
			return &c->steps[i];
	if (c->n_steps == MAX_STEPS)
		return NULL;
	struct step_rec *s = &c->steps[c->n_steps++];
	memset(s, 0, sizeof *s);
	snprintf(s->name, sizeof s->name, "%s", name);
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
	FILE *f = fdopen(fd[0], "r");
	char *line = NULL;
	size_t cap = 0;
	c->result = -1;
	while (getline(&line, &cap, f) > 0) {
		double now = bench_day_seconds();
		if (!c->first_line)
			c->first_line = now;
		json_error_t je;
		json_t *ev = json_loads(line, 0, &je);
		if (!ev)
			continue;
		const char *kind = json_string_value(json_object_get(ev, "event"));
		const char *step = json_string_value(json_object_get(ev, "step"));
		const char *state = json_string_value(json_object_get(ev, "state"));
		struct step_rec *s;
		if (kind && !strcmp(kind, "step") && step && state && (s = cycle_step(c, step))) {
			if (!strcmp(state, "running"))
				s->t0 = now;
			else if (!strcmp(state, "done") || !strcmp(state, "failed") || !strcmp(state, "skipped"))
				s->t1 = now;
		} else if (kind && !strcmp(kind, "progress") && step && (s = cycle_step(c, step))) {
			double tot = json_number_value(json_object_get(ev, "total"));
			if (tot > s->total)
				s->total = tot;
		} else if (kind && !strcmp(kind, "done")) {
			c->result = (int)json_integer_value(json_object_get(ev, "result"));
		}
		json_decref(ev);
	}
	c->end = bench_day_seconds();
	free(line);
	fclose(f);
	int st;
	waitpid(pid, &st, 0);
	free(out);
}

/* Attributes each ROM command of the sim's log to the step whose window holds its time stamp. */
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
		double t = hh * 3600 + mm * 60 + ss + ms / 1000.0;
		for (int i = 0; i < c->n_steps; i++) {
			struct step_rec *s = &c->steps[i];
			/* the log has millisecond stamps: widen the window by one */
			if (!s->t0 || !s->t1 || t < s->t0 - 0.001 || t > s->t1 + 0.001)
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
			break;
		}
	}
	fclose(f);
}

static const char *step_kind(const char *name)
{
	if (strstr(name, "verify"))
		return "verify";
	if (strstr(name, "detect") || strstr(name, "connect"))
		return "detect";
	if (strstr(name, "gen") || strstr(name, "identity") || strstr(name, "plan"))
		return "generate";
	if (strstr(name, "burn") || strstr(name, "efuse") || strstr(name, "key"))
		return "burn";
	if (strstr(name, "write") || strstr(name, "flash"))
		return "write";
	return "result";
}

static double step_flash_time(const struct step_rec *s, const char *kind)
{
	if (!strcmp(kind, "write"))
		return ((double)((long)(s->total + 4095) / 4096) * 45.0 + (double)((long)(s->total + 255) / 256) * 0.7) /
		       1000.0;
	if (!strcmp(kind, "verify") && s->md5)
		return s->total / 1024.0 * 0.25 / 1000.0;
	return 0;
}

static void cycle_print(const struct cycle *c)
{
	printf("\n== espfab run at %u baud (throttled espfab-sim), result %d, total %.3f s ==\n", c->baud,
	       c->result, c->end - c->start);
	printf("%-28s %-9s %9s %10s %9s %9s %9s %7s\n", "step", "kind", "time s", "bytes", "wire s", "flash s",
	       "limit s", "ratio");
	printf("%-28s %-9s %9.3f\n", "(start, connect, detect)", "detect", c->first_line - c->start);
	double sums[6] = {0};
	static const char *kinds[] = {"detect", "generate", "burn", "write", "verify", "result"};
	sums[0] += c->first_line - c->start;
	double last = c->first_line;
	for (int i = 0; i < c->n_steps; i++) {
		const struct step_rec *s = &c->steps[i];
		if (!s->t0 || !s->t1)
			continue;
		const char *kind = step_kind(s->name);
		double dt = s->t1 - s->t0;
		for (int k = 0; k < 6; k++)
			if (!strcmp(kinds[k], kind))
				sums[k] += dt;
		if (s->t1 > last)
			last = s->t1;
		if ((!strcmp(kind, "write") || !strcmp(kind, "verify")) && s->wire_bytes > 0) {
			double wire = s->wire_bytes * 10.0 / c->baud, fl = step_flash_time(s, kind);
			printf("%-28s %-9s %9.3f %10.0f %9.3f %9.3f %9.3f %7.2f\n", s->name, kind, dt, s->wire_bytes,
			       wire, fl, wire + fl, dt / (wire + fl));
		} else {
			printf("%-28s %-9s %9.3f\n", s->name, kind, dt);
		}
	}
	sums[5] += c->end - last;
	printf("%-28s %-9s %9.3f\n", "(after the last step)", "result", c->end - last);
	printf("by kind:");
	for (int k = 0; k < 6; k++)
		printf("  %s %.3f s", kinds[k], sums[k]);
	printf("\n");
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
	struct cycle cycles[2];
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
	return 0;
}
