/* Fault matrix: `espfab run` against espfab-sim for each security path (esp32h2 ecdsa-efuse,
 * esp32c3 ds, esp32 and esp32c2 flash-encryption), with each fault the simulator injects (drop,
 * corrupt, stall, disconnect, reset) at points inside each phase of a provisioning run (detect,
 * eFuse burn, flash write, verify), then a second run without the fault. Every cell must end
 * with the first run verified or failed with a clear error (exit 1 or 3, never a crash), the
 * second run verified (resumed from the journal when the first had made an identity), one device
 * folder (the same identity), and the eFuses exactly as a clean run leaves them (key blocks and
 * their protection, BLOCK0 fields such as FLASH_CRYPT_CNT / SPI_BOOT_CRYPT_CNT: nothing burned
 * twice). Plaintext paths: the device's certificate in its flash. Flash-encryption path: no
 * secure-cert TLV in the clear; the esp_secure_cert partition decrypted with the device folder's
 * key holds the folder's certificate, the eFuse key block holds that key, and the key file is the
 * one the first run made. A line noise fault (drop, corrupt, stall) in a verify phase must be
 * absorbed by retries. The matrix and a tally are printed per chip.
 * The phases and fault points come from a clean run's simulator log. By default (CI) the esp32h2
 * path is run with the middle of its first burn and write phases and of its read-back (the last
 * verify phase), and the esp32 flash-encryption path with the middle of its burn phase;
 * ESPFAB_FAULT_MATRIX=full runs all four chips at a quarter, half and three quarters of every
 * phase. */
#include "testutil.h"

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
#include <dirent.h>
#include <unistd.h>

#include "crypto/flashenc.h"
#include "loader/efuse.h"
#include "loader/loader.h"

#define FM_MAX_POINTS 40
#define FM_STALL_MS 3500 /* longer than the host's 3 s reply timeout: a retry must follow */

struct fm_chip {
	const char *chip, *table, *security;
	bool plaintext_flash; /* the esp_secure_cert is readable in flash */
	/* flash-encryption path: the key block and where esp_secure_cert lies (encrypted) */
	const char *fe_block;
	uint32_t cert_off, cert_len;
};

static const struct fm_chip fm_chips[] = {
	{"esp32h2", "h2-light.csv", "mode = development", true, NULL, 0, 0},
	{"esp32c3", "c3-plug.csv", "mode = development\npath = ds\nflash_encryption = no", true, NULL, 0, 0},
	{"esp32", "esp32-bridge.csv", "mode = development\npath = flash-encryption", false, "BLOCK1", 0xd000,
	 0x2000},
	{"esp32c2", "esp32-bridge.csv", "mode = development\npath = flash-encryption", false, "BLOCK_KEY0",
	 0xd000, 0x2000},
};

/* A phase of the clean run: the simulator's frames and received bytes it spans. */
struct fm_phase {
	char name[16];
	unsigned long long f0, f1; /* response frames */
	unsigned long long b0, b1; /* bytes received from the host (approximate: framing, no escapes) */
};

struct fm_point {
	char label[32];
	unsigned long long frame, byte;
	bool verify; /* in a verify phase: line noise there must be absorbed */
};

static pid_t fm_sim_pid;

static int fm_pick_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t n = sizeof a;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &n), 0);
	close(fd);
	return ntohs(a.sin_port);
}

static bool fm_sim_accepts(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	bool ok = connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
	close(fd);
	return ok;
}

/* Starts the simulator on flash/efuse files in dir; returns its port. */
static int fm_sim_start(const char *dir, const char *chip, const char *fault, const char *log)
{
	int port = fm_pick_port();
	char portarg[16];
	char *flash = testutil_join_path(dir, "flash.bin"), *efuse = testutil_join_path(dir, "efuse.bin");

	snprintf(portarg, sizeof portarg, "%d", port);
	fm_sim_pid = fork();
	assert_true(fm_sim_pid >= 0);
	if (fm_sim_pid == 0) {
		const char *argv[20] = {testutil_sim_bin(), "--chip", chip, "--tcp", portarg, "--flash", flash,
					"--efuse", efuse, "--flash-size", "8MB", "--no-throttle"};
		int n = 12;
		if (fault) {
			argv[n++] = "--fault";
			argv[n++] = fault;
		}
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
	/* the first connection is the readiness probe; the simulator serves the next one */
	for (int i = 0; i < 200 && !fm_sim_accepts(port); i++)
		usleep(10000);
	usleep(30000);
	free(flash);
	free(efuse);
	return port;
}

static void fm_sim_stop(void)
{
	if (fm_sim_pid > 0) {
		kill(fm_sim_pid, SIGTERM);
		waitpid(fm_sim_pid, NULL, 0);
		fm_sim_pid = 0;
	}
}

struct fm_run {
	int rc;
	char result[16];  /* summary.result */
	char folder[512]; /* summary.folder */
	bool resumed;
	char failed_step[48]; /* first step not done, or "" */
	char err[256];        /* first line of stderr */
};

static const char *fm_str(const json_t *j)
{
	const char *s = json_string_value(j);
	return s ? s : "";
}

static void fm_run_espfab(const char *dir, const char *profile, int port, struct fm_run *r)
{
	char portarg[64];
	char *out = testutil_join_path(dir, "out");
	buf_t so = BUF_INIT, se = BUF_INIT;

	memset(r, 0, sizeof *r);
	snprintf(portarg, sizeof portarg, "socket://127.0.0.1:%d", port);
	char *argv[] = {"espfab", "run", "--profile", (char *)profile, "--port", portarg, "--out", out,
			"--json", "--yes", NULL};
	r->rc = testutil_run_espfab(dir, argv, &so, &se);
	const char *text = buf_terminate_str(&so);
	char running[48] = "";
	for (const char *line = text; *line;) {
		const char *nl = strchr(line, '\n');
		size_t n = nl ? (size_t)(nl - line) : strlen(line);
		json_error_t je;
		json_t *ev = json_loadb(line, n, 0, &je);

		if (!ev)
			fail_msg("run output is not JSON lines: %.*s", (int)n, line);
		const char *kind = json_string_value(json_object_get(ev, "event"));
		if (kind && !strcmp(kind, "step")) {
			const char *step = json_string_value(json_object_get(ev, "step"));
			const char *st = json_string_value(json_object_get(ev, "state"));
			if (step && st && !strcmp(st, "running"))
				snprintf(running, sizeof running, "%s", step);
			else if (step && st && !strcmp(step, running) && strcmp(st, "running"))
				running[0] = '\0';
			if (step && st && !strcmp(st, "failed") && !r->failed_step[0])
				snprintf(r->failed_step, sizeof r->failed_step, "%s", step);
		} else if (kind && !strcmp(kind, "done")) {
			json_t *s = json_object_get(ev, "summary");
			snprintf(r->result, sizeof r->result, "%s",
				 fm_str(json_object_get(s, "result")));
			snprintf(r->folder, sizeof r->folder, "%s",
				 fm_str(json_object_get(s, "folder")));
			r->resumed = json_is_true(json_object_get(s, "resumed"));
		}
		json_decref(ev);
		line += n + (nl ? 1 : 0);
	}
	if (!r->failed_step[0] && running[0])
		snprintf(r->failed_step, sizeof r->failed_step, "%s", running);
	const char *et = buf_terminate_str(&se);
	if (strstr(et, "Sanitizer") || strstr(et, "runtime error:"))
		fail_msg("espfab run reported a sanitizer error:\n%s", et);
	const char *nl = strchr(et, '\n');
	snprintf(r->err, sizeof r->err, "%.*s", (int)(nl ? nl - et : (long)strlen(et)), et);
	buf_free_data(&so);
	buf_free_data(&se);
	free(out);
}

/* The eFuse state a run leaves, from `espfab efuse summary --json` against the simulator: the
 * key blocks (empty, purpose, protection) and the BLOCK0 fields (FLASH_CRYPT_CNT, WR_DIS, ...).
 * A bit burned twice on a counter, or a second key block, shows as a difference from a clean
 * run. */
static json_t *fm_efuse_state(const char *dir, int port)
{
	char portarg[64];
	buf_t so = BUF_INIT, se = BUF_INIT;

	snprintf(portarg, sizeof portarg, "socket://127.0.0.1:%d", port);
	char *argv[] = {"espfab", "efuse", "--port", portarg, "summary", "--json", NULL};
	int rc = testutil_run_espfab(dir, argv, &so, &se);
	if (rc != 0)
		fail_msg("efuse summary: exit %d: %s", rc, buf_terminate_str(&se));
	json_error_t je;
	json_t *j = json_loadb((const char *)so.data, so.len, 0, &je);
	assert_non_null(j);
	json_t *state = json_pack("{sOsO}", "key_blocks", json_object_get(j, "key_blocks"), "fields",
				  json_object_get(j, "fields"));
	assert_non_null(state);
	assert_non_null(json_object_get(state, "fields"));
	json_decref(j);
	buf_free_data(&so);
	buf_free_data(&se);
	return state;
}

static int fm_used_key_blocks(const json_t *state)
{
	const json_t *blocks = json_object_get(state, "key_blocks");
	int used = 0;
	for (size_t i = 0; i < json_array_size(blocks); i++)
		used += json_is_false(json_object_get(json_array_get(blocks, i), "empty"));
	return used;
}

/* Names the first top-level entry of "fields" or the first key block that differs. */
static void fm_efuse_diff(const json_t *want, const json_t *have, char *why, size_t n)
{
	const char *k;
	json_t *v;
	json_object_foreach(json_object_get(want, "fields"), k, v) {
		json_t *h = json_object_get(json_object_get(have, "fields"), k);
		if (!json_equal(v, h)) {
			snprintf(why, n, "eFuse %s is %lld, a clean run leaves %lld", k,
				 (long long)json_integer_value(h), (long long)json_integer_value(v));
			return;
		}
	}
	const json_t *wb = json_object_get(want, "key_blocks"), *hb = json_object_get(have, "key_blocks");
	for (size_t i = 0; i < json_array_size(wb); i++)
		if (!json_equal(json_array_get(wb, i), json_array_get(hb, i))) {
			snprintf(why, n, "eFuse %s differs from a clean run's (%d key blocks used, clean %d)",
				 json_string_value(json_object_get(json_array_get(wb, i), "block")),
				 fm_used_key_blocks(have), fm_used_key_blocks(want));
			return;
		}
	snprintf(why, n, "eFuse summary differs from a clean run's");
}

static bool fm_read_folder_file(const char *dir, const char *folder, const char *rel, buf_t *b)
{
	char path[700];
	snprintf(path, sizeof path, "%s/%s", folder, rel);
	char *p = folder[0] == '/' ? strdup(path) : testutil_join_path(dir, path);
	bool ok = access(p, R_OK) == 0;
	if (ok)
		testutil_read_file(p, b);
	free(p);
	return ok;
}

/* The flash-encryption key block, read through the loader, against the folder's key file. */
static void fm_check_fe_efuse(int port, const struct fm_chip *c, const buf_t *key, char *why, size_t n)
{
	char url[64];
	snprintf(url, sizeof url, "socket://127.0.0.1:%d", port);
	struct loader_opts o;
	loader_opts_init(&o);
	o.port = url;
	o.before = ROM_RESET_NONE;
	o.after = ROM_AFTER_NO_RESET;
	o.connect_attempts = 3;
	loader_t l;
	err_t e = {0};
	if (loader_open(&l, &o, &e)) {
		snprintf(why, n, "reading the eFuses: %.120s", e.msg);
		return;
	}
	int idx = chip_efuse_find_block(l.info.chip, c->fe_block);
	assert_true(idx >= 0);
	struct efuse_key_status ks;
	efuse_key_status(&l.info.efuse, idx, &ks);
	int purpose = l.info.chip->type == CHIP_ESP32 ? KP_ESP32_FLASH_ENCRYPTION
		      : key->len == 16		 ? KP_C2_XTS_AES_128_KEY_DERIVED
						 : KP_XTS_AES_128_KEY;
	uint8_t want[32], have[32];
	size_t wl;
	if (efuse_key_block_bytes(l.info.chip, purpose, key->data, key->len, want, &wl, &e)) {
		snprintf(why, n, "the folder's key: %.120s", e.msg);
	} else if (ks.empty) {
		snprintf(why, n, "%s is empty", c->fe_block);
	} else if (!ks.read_protected) {
		for (int i = 0; i < 32; i++)
			have[i] = (uint8_t)(l.info.efuse.words[idx][i / 4] >> (8 * (i % 4)));
		if (memcmp(have, want, wl))
			snprintf(why, n, "%s does not hold the device folder's flash-encryption key", c->fe_block);
	}
	loader_close(&l);
}

/* The esp_secure_cert partition decrypted with the folder's key holds the folder's certificate,
 * and is not in the clear. */
static void fm_check_fe_flash(const char *dir, const struct fm_chip *c, const char *folder, const buf_t *key,
			      char *why, size_t n)
{
	buf_t cert = BUF_INIT, flash = BUF_INIT, plain = BUF_INIT;
	char *fp = testutil_join_path(dir, "flash.bin");
	testutil_read_file(fp, &flash);
	free(fp);
	err_t e = {0};
	struct flashenc_params p = {
		.scheme = !strcmp(c->chip, "esp32") ? FLASHENC_ESP32_LEGACY : FLASHENC_AES_XTS,
		.key = key->data,
		.key_len = key->len,
		.address = c->cert_off,
		.flash_crypt_conf = 0xF,
	};
	if (!fm_read_folder_file(dir, folder, "internal/DAC_cert.der", &cert) || cert.len < 100)
		snprintf(why, n, "the device folder has no DAC certificate");
	else if (flash.len < c->cert_off + c->cert_len)
		snprintf(why, n, "the flash image is short");
	else if (memmem(flash.data, flash.len, "\x11\xba\x5e\xba", 4))
		snprintf(why, n, "an esp_secure_cert TLV is in the clear in flash");
	else if (flashenc_decrypt_data(&p, flash.data + c->cert_off, c->cert_len, &plain, &e))
		snprintf(why, n, "decrypting esp_secure_cert: %.120s", e.msg);
	else if (!memmem(plain.data, plain.len, cert.data, cert.len))
		snprintf(why, n, "esp_secure_cert decrypted with the folder's key lacks the folder's certificate");
	buf_free_data(&cert);
	buf_free_data(&flash);
	buf_wipe_data(&plain);
}

static void fm_reset_device(const char *dir)
{
	char *p;

	p = testutil_join_path(dir, "flash.bin");
	unlink(p);
	free(p);
	p = testutil_join_path(dir, "efuse.bin");
	unlink(p);
	free(p);
	p = testutil_join_path(dir, "out");
	testutil_remove_tree(p);
	free(p);
}

/* Phases of the clean run from the simulator's command log. READ_REG belongs to whatever phase
 * it appears in (polling during burns, identification, eFuse checks). */
static size_t fm_read_phases(const char *log, struct fm_phase *ph, size_t max)
{
	buf_t text = BUF_INIT;
	size_t n = 0;
	unsigned long long bytes = 0;

	testutil_read_file(log, &text);
	buf_terminate_str(&text);
	for (char *line = (char *)text.data, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		char op[64];
		unsigned len = 0;
		unsigned long long f0, f1;
		const char *fr = strstr(line, "frames=");
		if (sscanf(line, "%*s %63s len=%u", op, &len) != 2 || !fr ||
		    sscanf(fr, "frames=%llu-%llu", &f0, &f1) != 2)
			continue;
		bytes += len + 10;
		const char *cls = NULL;
		if (!strcmp(op, "WRITE_REG"))
			cls = "burn";
		else if (!strncmp(op, "FLASH_", 6) || !strncmp(op, "MEM_", 4))
			cls = "write";
		else if (!strcmp(op, "SPI_FLASH_MD5") || !strncmp(op, "READ_FLASH", 10))
			cls = "verify";
		else if (n == 0)
			cls = "detect";
		if (cls && (n == 0 || strncmp(ph[n - 1].name, cls, strlen(cls)))) {
			/* a class seen before (the next partition's write) starts a new phase */
			int seen = 1;
			assert_true(n < max);
			for (size_t i = 0; i < n; i++)
				seen += !strncmp(ph[i].name, cls, strlen(cls));
			snprintf(ph[n].name, sizeof ph[n].name, "%.8s%d", cls, seen % 100);
			ph[n].f0 = f0;
			ph[n].b0 = bytes;
			n++;
		}
		ph[n - 1].f1 = f1;
		ph[n - 1].b1 = bytes;
	}
	buf_free_data(&text);
	return n;
}

static char *fm_profile(const char *dir, const struct fm_chip *c)
{
	char text[2048], rel[128];
	snprintf(rel, sizeof rel, "assets/partitions/%s", c->table);
	char *table = testutil_join_path(testutil_source_dir(), rel);
	snprintf(text, sizeof text,
		 "[product]\nvendor_id = 0xFFF2\nproduct_id = 0x8001\nvendor_name = Fault Matrix\n"
		 "product_name = FM Device\nchips = %s\n"
		 "[attestation]\npai_cert = pai_cert.pem\npai_key = pai_key.pem\ncd = cd.der\n"
		 "[partitions]\ntable = %s\n[security]\n%s\n[device]\nserial = FM-{seq:03}\n",
		 c->chip, table, c->security);
	free(table);
	char *p = testutil_join_path(dir, "profile.ini");
	testutil_write_file(p, text, strlen(text));
	return p;
}

static void fm_copy_input(const char *dir, const char *name, const char *as, mode_t mode)
{
	char rel[128];
	snprintf(rel, sizeof rel, "m01_basic_factory_nvs/inputs/%s", name);
	char *src = testutil_vector_path("mfg", rel), *dst = testutil_join_path(dir, as);
	buf_t b = BUF_INIT;
	testutil_read_file(src, &b);
	testutil_write_file(dst, b.data, b.len);
	chmod(dst, mode);
	buf_free_data(&b);
	free(src);
	free(dst);
}

static size_t fm_count_devices(const char *dir)
{
	char *top = testutil_join_path(dir, "out/fff2_8001");
	DIR *d = opendir(top);
	size_t n = 0;
	struct dirent *de;

	while (d && (de = readdir(d)))
		n += strlen(de->d_name) == 36;
	if (d)
		closedir(d);
	free(top);
	return n;
}

static bool fm_flash_has_cert(const char *dir, const char *folder)
{
	char rel[600];
	snprintf(rel, sizeof rel, "%s/internal/DAC_cert.der", folder);
	char *cert = folder[0] == '/' ? strdup(rel) : testutil_join_path(dir, rel);
	char *flash = testutil_join_path(dir, "flash.bin");
	buf_t c = BUF_INIT, f = BUF_INIT;
	testutil_read_file(cert, &c);
	testutil_read_file(flash, &f);
	bool found = c.len > 100 && memmem(f.data, f.len, c.data, c.len) != NULL;
	buf_free_data(&c);
	buf_free_data(&f);
	free(cert);
	free(flash);
	return found;
}

static int fm_setup(void **state)
{
	if (!getenv("ESPFAB_SIM_BIN") || !testutil_source_dir() || !testutil_vectors_dir())
		return 0;
	char *dir = testutil_make_tmpdir();
	fm_copy_input(dir, "PAI_cert.pem", "pai_cert.pem", 0644);
	fm_copy_input(dir, "PAI_key.pem", "pai_key.pem", 0600);
	fm_copy_input(dir, "CD.der", "cd.der", 0644);
	*state = dir;
	return 0;
}

static int fm_teardown(void **state)
{
	fm_sim_stop();
	if (*state) {
		testutil_remove_tree(*state);
		free(*state);
	}
	return 0;
}

static const char *const fm_faults[] = {"drop", "corrupt", "stall", "disconnect", "reset"};
#define FM_NFAULTS 5

/* slice: the phases of the quick matrix (their middle), "verify-last" naming the read-back;
 * NULL = the full matrix. */
static void fm_run_chip(const char *dir, const struct fm_chip *c, const char *const *slice)
{
	bool full = slice == NULL;
	char *profile = fm_profile(dir, c);
	char *log = testutil_join_path(dir, "sim.log");
	struct fm_run r1, r2;

	/* the clean run: phases, key blocks */
	fm_reset_device(dir);
	unlink(log);
	int port = fm_sim_start(dir, c->chip, NULL, log);
	fm_run_espfab(dir, profile, port, &r1);
	if (r1.rc != 0)
		fail_msg("%s: the clean run failed (exit %d): %s", c->chip, r1.rc, r1.err);
	json_t *clean_efuse = fm_efuse_state(dir, port);
	fm_sim_stop();
	struct fm_phase ph[12];
	size_t nph = fm_read_phases(log, ph, 12);
	assert_true(nph >= 3);
	size_t last_verify = nph;
	for (size_t i = 0; i < nph; i++)
		if (!strncmp(ph[i].name, "verify", 6))
			last_verify = i;
	assert_true(last_verify < nph);

	struct fm_point pts[FM_MAX_POINTS];
	size_t npt = 0;
	static const int quarters[] = {2, 1, 3};
	for (size_t i = 0; i < nph; i++)
		for (int q = 0; q < (full ? 3 : 1); q++) {
			/* the last few frames of a run (the eFuse touches at the very end) shift with
			 * the number of SYNC replies a run needs (8 per SYNC): not reliably hit */
			if (ph[i].f0 + 24 > ph[nph - 1].f1)
				continue;
			if (!full) {
				bool in = false;
				for (size_t k = 0; slice[k]; k++)
					in |= !strcmp(ph[i].name, slice[k]) ||
					      (!strcmp(slice[k], "verify-last") && i == last_verify);
				if (!in)
					continue;
			}
			struct fm_point *p = &pts[npt++];
			p->verify = !strncmp(ph[i].name, "verify", 6);
			assert_true(npt <= FM_MAX_POINTS);
			p->frame = ph[i].f0 + (ph[i].f1 - ph[i].f0) * quarters[q] / 4;
			p->byte = ph[i].b0 + (ph[i].b1 - ph[i].b0) * quarters[q] / 4;
			if (p->frame < 1)
				p->frame = 1;
			if (p->byte < 1)
				p->byte = 1;
			snprintf(p->label, sizeof p->label, "%.12s %d/4", ph[i].name, quarters[q]);
		}

	char table[FM_MAX_POINTS][FM_NFAULTS][40];
	char hit[FM_MAX_POINTS][FM_NFAULTS][40];
	char (*errs)[FM_NFAULTS][200] = calloc(FM_MAX_POINTS, sizeof *errs);
	int failures = 0, absorbed = 0, resumed = 0, fresh = 0;
	for (size_t i = 0; i < npt; i++) {
		for (int k = 0; k < FM_NFAULTS; k++) {
			char spec[64];
			switch (k) {
			case 0: snprintf(spec, sizeof spec, "drop:%llu", pts[i].frame); break;
			case 1: snprintf(spec, sizeof spec, "corrupt:%llu", pts[i].frame); break;
			case 2: snprintf(spec, sizeof spec, "stall:%d@%llu", FM_STALL_MS, pts[i].frame); break;
			case 3: snprintf(spec, sizeof spec, "disconnect-after:%llu", pts[i].byte); break;
			default: snprintf(spec, sizeof spec, "reset-after:%llu", pts[i].byte); break;
			}
			fm_reset_device(dir);
			char *flog = testutil_join_path(dir, "fault.log");
			unlink(flog);
			port = fm_sim_start(dir, c->chip, spec, flog);
			fm_run_espfab(dir, profile, port, &r1);
			fm_sim_stop();
			/* the simulator logs each fault it fires: a cell whose fault never fired proves nothing */
			buf_t fl = BUF_INIT;
			testutil_read_file(flog, &fl);
			bool fired = memmem(fl.data, fl.len, "fault ", 6) != NULL;
			buf_free_data(&fl);
			free(flog);
			/* the flash-encryption key the first run made, if it got that far */
			buf_t key1 = BUF_INIT, key2 = BUF_INIT;
			bool had_key = c->fe_block && r1.folder[0] &&
				       fm_read_folder_file(dir, r1.folder, "keys/fe_key.bin", &key1);
			port = fm_sim_start(dir, c->chip, NULL, NULL);
			fm_run_espfab(dir, profile, port, &r2);
			json_t *efuse = r2.rc == 0 ? fm_efuse_state(dir, port) : NULL;
			char fe_why[160] = "";
			bool has_key = c->fe_block && r2.rc == 0 &&
				       fm_read_folder_file(dir, r2.folder, "keys/fe_key.bin", &key2);
			if (has_key)
				fm_check_fe_efuse(port, c, &key2, fe_why, sizeof fe_why);
			fm_sim_stop();
			if (has_key && !fe_why[0])
				fm_check_fe_flash(dir, c, r2.folder, &key2, fe_why, sizeof fe_why);

			char why[160] = "";
			if (!fired)
				snprintf(why, sizeof why, "the fault did not fire");
			else if (r1.rc != 0 && r1.rc != 1 && r1.rc != 3)
				snprintf(why, sizeof why, "first run exit %d", r1.rc);
			else if (r1.rc != 0 && !r1.err[0])
				snprintf(why, sizeof why, "first run failed without a message");
			else if (r1.rc == 0 && strcmp(r1.result, "ok"))
				snprintf(why, sizeof why, "exit 0 but result '%s'", r1.result);
			else if (r2.rc != 0)
				snprintf(why, sizeof why, "second run exit %d: %.120s", r2.rc, r2.err);
			else if (strcmp(r2.result, "ok"))
				snprintf(why, sizeof why, "second run result '%s'", r2.result);
			else if (fm_count_devices(dir) != 1)
				snprintf(why, sizeof why, "%zu device folders", fm_count_devices(dir));
			else if (r1.folder[0] && strcmp(r1.folder, r2.folder))
				snprintf(why, sizeof why, "a second identity: %.60s then %.60s", r1.folder, r2.folder);
			else if (r1.rc != 0 && r1.folder[0] && !r2.resumed)
				snprintf(why, sizeof why, "second run did not resume from the journal");
			else if (!json_equal(efuse, clean_efuse))
				fm_efuse_diff(clean_efuse, efuse, why, sizeof why);
			else if (c->plaintext_flash && !fm_flash_has_cert(dir, r2.folder))
				snprintf(why, sizeof why, "the device's flash lacks the folder's DAC certificate");
			else if (c->fe_block && !has_key)
				snprintf(why, sizeof why, "the device folder has no flash-encryption key");
			else if (had_key && (key1.len != key2.len || memcmp(key1.data, key2.data, key1.len)))
				snprintf(why, sizeof why, "the second run changed the flash-encryption key");
			else if (fe_why[0])
				snprintf(why, sizeof why, "%s", fe_why);
			else if (pts[i].verify && k <= 2 && r1.rc != 0)
				snprintf(why, sizeof why, "line noise in a verify phase was not absorbed: %.100s",
					 r1.err);
			json_decref(efuse);
			buf_wipe_data(&key1);
			buf_wipe_data(&key2);
			if (why[0]) {
				failures++;
				print_message("FAIL %s %s at %s (%s): %s\n", c->chip, fm_faults[k], pts[i].label, spec,
					      why);
				snprintf(table[i][k], sizeof table[i][k], "FAIL");
			} else if (r1.rc == 0) {
				absorbed++;
				snprintf(table[i][k], sizeof table[i][k], "ok");
			} else {
				resumed += r2.resumed;
				fresh += !r2.resumed;
				snprintf(table[i][k], sizeof table[i][k], "err%d>%s", r1.rc,
					 r2.resumed ? "resumed" : "ok");
			}
			snprintf(hit[i][k], sizeof hit[i][k], "%.30s", r1.rc ? r1.failed_step : "");
			snprintf(errs[i][k], sizeof errs[i][k], "%.150s", r1.rc ? r1.err : "");
		}
	}
	print_message("\nfault matrix, %s: first run > second run; ok = fault absorbed by retries; "
		      "errN (step) = first run exit N at that step, then the second run resumed or ok\n",
		      c->chip);
	print_message("%-14s", "point");
	for (int k = 0; k < FM_NFAULTS; k++)
		print_message(" %-28s", fm_faults[k]);
	print_message("\n");
	for (size_t i = 0; i < npt; i++) {
		print_message("%-14s", pts[i].label);
		for (int k = 0; k < FM_NFAULTS; k++) {
			char cell[96];
			snprintf(cell, sizeof cell, "%s%s%s%s", table[i][k], hit[i][k][0] ? " (" : "", hit[i][k],
				 hit[i][k][0] ? ")" : "");
			print_message(" %-28s", cell);
		}
		print_message("\n");
	}
	for (size_t i = 0; i < npt; i++)
		for (int k = 0; k < FM_NFAULTS; k++)
			if (errs[i][k][0])
				print_message("  %s %s: %s\n", pts[i].label, fm_faults[k], errs[i][k]);
	free(errs);
	print_message("%s: %zu cells: %d absorbed by retries, %d failed then resumed, %d failed before an "
		      "identity then ok, %d FAIL\n",
		      c->chip, npt * FM_NFAULTS, absorbed, resumed, fresh, failures);
	json_decref(clean_efuse);
	free(profile);
	free(log);
	assert_int_equal(failures, 0);
}

static bool fm_full(void)
{
	const char *v = getenv("ESPFAB_FAULT_MATRIX");
	return v && !strcmp(v, "full");
}

static void test_matrix_ecdsa_efuse(void **state)
{
	static const char *const slice[] = {"burn1", "write1", "verify-last", NULL};
	if (!*state)
		skip();
	fm_run_chip(*state, &fm_chips[0], fm_full() ? NULL : slice);
}

/* The ds path only in the full matrix, to keep CI short. */
static void test_matrix_ds(void **state)
{
	if (!*state || !fm_full())
		skip();
	fm_run_chip(*state, &fm_chips[1], NULL);
}

/* ESP32 flash encryption: in CI the middle of its eFuse phase (key block, then the BLOCK0
 * flash-encryption fields), where a second burn would show. */
static void test_matrix_flash_encryption(void **state)
{
	static const char *const slice[] = {"burn1", NULL};
	if (!*state)
		skip();
	fm_run_chip(*state, &fm_chips[2], fm_full() ? NULL : slice);
}

static void test_matrix_flash_encryption_c2(void **state)
{
	if (!*state || !fm_full())
		skip();
	fm_run_chip(*state, &fm_chips[3], NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_matrix_ecdsa_efuse, fm_setup, fm_teardown),
		cmocka_unit_test_setup_teardown(test_matrix_ds, fm_setup, fm_teardown),
		cmocka_unit_test_setup_teardown(test_matrix_flash_encryption, fm_setup, fm_teardown),
		cmocka_unit_test_setup_teardown(test_matrix_flash_encryption_c2, fm_setup, fm_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
