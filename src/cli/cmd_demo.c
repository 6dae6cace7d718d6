/* `espfab demo [--chip C] [--auto]`: the TUI against an espfab-sim it starts itself, with fresh
 * flash (the application's partition table only) and eFuse files in a temporary folder and a
 * demo profile. The test attestation chain
 * (PAA, PAI, certification declaration) is generated at first use into the user's cache, never
 * shipped. --auto walks the whole flow by itself and stays on the result screen. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/evq.h"
#include "core/fileio.h"
#include "formats/parttable.h"
#include "ui_app.h"
#include "ui_deps.h"

#if UI_HAVE_ENGINE
#include "flow/worker.h"
#endif

#define DEMO_SIM_START_MS 5000
#define DEMO_FLASH_SIZE (4u * 1024u * 1024u)

static const char *const demo_chips[] = {"esp32", "esp32s2", "esp32s3", "esp32c2", "esp32c3",
					  "esp32c6", "esp32h2", NULL};

static void demo_print_usage(FILE *f)
{
	fprintf(f, "usage: espfab demo [--chip esp32|esp32s2|esp32s3|esp32c2|esp32c3|esp32c6|esp32h2] [--auto] [--keep]\n"
		   "       espfab demo [--chip C] --write-profile DIR   (the demo's profile and table, no TUI)\n");
}

#if UI_HAVE_ENGINE
/* 4 MB layouts as the example profiles use them: without flash encryption (H2, whose DAC key is
 * in eFuse: h2-light), and with it protecting esp_secure_cert and nvs_keys (the DS chips:
 * c3-plug; ESP32 and C2: esp32-bridge). */
static const char demo_table_h2[] =
	"# espfab demo (4 MB): no flash encryption\n"
	"esp_secure_cert, 0x3F, ,         0xd000,   0x2000,\n"
	"nvs,             data, nvs,      0x10000,  0xC000,\n"
	"otadata,         data, ota,      0x1c000,  0x2000,\n"
	"phy_init,        data, phy,      0x1e000,  0x1000,\n"
	"ota_0,           app,  ota_0,    0x20000,  0x1E0000,\n"
	"ota_1,           app,  ota_1,    0x200000, 0x1E0000,\n"
	"fctry,           data, nvs,      0x3E0000, 0x6000,\n";
static const char demo_table_fe[] =
	"# espfab demo (4 MB): flash encryption protects esp_secure_cert and nvs_keys\n"
	"esp_secure_cert, 0x3F, ,         0xd000,   0x2000,   encrypted\n"
	"nvs,             data, nvs,      0x10000,  0xC000,\n"
	"nvs_keys,        data, nvs_keys, 0x1c000,  0x1000,   encrypted\n"
	"otadata,         data, ota,      0x1d000,  0x2000,\n"
	"phy_init,        data, phy,      0x1f000,  0x1000,\n"
	"ota_0,           app,  ota_0,    0x20000,  0x1E0000,\n"
	"ota_1,           app,  ota_1,    0x200000, 0x1E0000,\n"
	"fctry,           data, nvs,      0x3E0000, 0x6000,\n";


/* Runs argv with stdout and stderr to log (appended); returns its exit status or -1. */
static int demo_run_program(char *const argv[], const char *log)
{
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			dup2(fd, STDOUT_FILENO);
			dup2(fd, STDERR_FILENO);
		}
		if (null >= 0)
			dup2(null, STDIN_FILENO);
		execv(argv[0], argv);
		_exit(127);
	}
	int st;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int demo_self_path(char *out, size_t n, err_t *e)
{
	ssize_t len = readlink("/proc/self/exe", out, n - 1);
	if (len <= 0)
		return err_set_msg(e, ERR_USAGE, "cannot find the espfab program (/proc/self/exe)");
	out[len] = 0;
	return 0;
}

static int demo_exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0;
}

/* espfab-sim: $ESPFAB_SIM_BIN, next to this program, or on PATH. */
static int demo_find_sim(const char *self, char *out, size_t n, err_t *e)
{
	const char *env = getenv("ESPFAB_SIM_BIN");
	if (env && *env && access(env, X_OK) == 0) {
		snprintf(out, n, "%s", env);
		return 0;
	}
	char dir[PATH_MAX];
	snprintf(dir, sizeof dir, "%s", self);
	char *slash = strrchr(dir, '/');
	if (slash) {
		*slash = 0;
		snprintf(out, n, "%s/espfab-sim", dir);
		if (access(out, X_OK) == 0)
			return 0;
	}
	const char *path = getenv("PATH");
	while (path && *path) {
		const char *colon = strchr(path, ':');
		size_t len = colon ? (size_t)(colon - path) : strlen(path);
		snprintf(out, n, "%.*s/espfab-sim", (int)len, path);
		if (len && access(out, X_OK) == 0)
			return 0;
		path = colon ? colon + 1 : NULL;
	}
	return err_set_msg(e, ERR_USAGE, "espfab-sim not found (next to espfab, on PATH, or $ESPFAB_SIM_BIN)");
}

/* The test PKI, made once per user with `espfab attest` (as chip-cert would): a PAA, a PAI for
 * vendor 0xFFF1 and a certification declaration for product 0x8000. */
static int demo_make_pki(const char *self, char *dir, size_t n, err_t *e)
{
	const char *cache = getenv("XDG_CACHE_HOME");
	const char *home = getenv("HOME");
	if (cache && *cache)
		snprintf(dir, n, "%s/espfab/demo-pki", cache);
	else if (home && *home)
		snprintf(dir, n, "%s/.cache/espfab/demo-pki", home);
	else
		snprintf(dir, n, "/tmp/espfab-demo-pki-%ld", (long)getuid());
	char cd[PATH_MAX];
	snprintf(cd, sizeof cd, "%s/cd.der", dir);
	if (demo_exists(cd))
		return 0;
	if (fileio_make_dirs(dir, 0700, e))
		return -1;
	char p[8][PATH_MAX], log[PATH_MAX];
	const char *names[] = {"paa_cert.pem", "paa_key.pem", "pai_cert.pem", "pai_key.pem",
			       "cd_signer_cert.pem", "cd_signer_key.pem", "cd.der", "make.log"};
	for (int i = 0; i < 8; i++)
		snprintf(p[i], sizeof p[i], "%s/%s", dir, names[i]);
	snprintf(log, sizeof log, "%s", p[7]);
	char *paa[] = {(char *)self, "attest", "gen-att-cert", "-t", "a", "-c", "espfab demo PAA",
		       "-o", p[0], "-O", p[1], "-l", "3650", NULL};
	char *pai[] = {(char *)self, "attest", "gen-att-cert", "-t", "i", "-c", "espfab demo PAI",
		       "-V", "FFF1", "-C", p[0], "-K", p[1], "-o", p[2], "-O", p[3], "-l", "3650", NULL};
	char *cds[] = {(char *)self, "attest", "gen-att-cert", "-t", "a", "-c", "espfab demo CD signer",
		       "-o", p[4], "-O", p[5], "-l", "3650", NULL};
	char *cdg[] = {(char *)self, "attest", "gen-cd", "-K", p[5], "-C", p[4], "-O", p[6], "-f", "1",
		       "-V", "FFF1", "-p", "8000", "-d", "0x0100", "-c", "ZIG20141ZB330001-24",
		       "-l", "0", "-i", "0", "-n", "9876", "-t", "0", NULL};
	char **steps[] = {paa, pai, cds, cdg};
	for (int i = 0; i < 4; i++)
		if (demo_run_program(steps[i], log) != 0)
			return err_set_msg(e, ERR_CHECK, "making the demo PKI failed at `espfab %s %s` (see %s)",
					   steps[i][1], steps[i][2], log);
	return 0;
}

static int demo_write_profile(const char *tmp, const char *chip, const char *pki, char *profile,
			      size_t n, err_t *e)
{
	int h2 = !strcmp(chip, "esp32h2");
	int fe_only = !strcmp(chip, "esp32") || !strcmp(chip, "esp32c2");
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/partitions.csv", tmp);
	/* The security settings of the shipped example for the chip's path: h2-light (ecdsa-efuse,
	 * no flash encryption), c3-plug for the DS chips and esp32-bridge for ESP32/C2 (flash and
	 * NVS encryption on, so the DAC key is never on flash in the clear). */
	const char *table = h2 ? demo_table_h2 : demo_table_fe;
	if (fileio_write_atomic(path, table, strlen(table), FILEIO_MODE_PUBLIC, e))
		return -1;
	char text[4096];
	snprintf(text, sizeof text,
		 "; espfab demo profile (written by espfab demo; test PKI from %s)\n"
		 "[product]\nvendor_id = 0xFFF1\nproduct_id = 0x8000\nvendor_name = Espfab Demo\n"
		 "product_name = Demo Light\nhardware_version = 1\nhardware_version_string = v1.0\n"
		 "chips = %s\n\n"
		 "[attestation]\npai_cert = %s/pai_cert.pem\npai_key = %s/pai_key.pem\ncd = %s/cd.der\n\n"
		 "[partitions]\ntable = partitions.csv\nsecure_cert = esp_secure_cert\nfactory = fctry\n%s\n"
		 "[security]\npath = %s\nmode = development\n%s\n"
		 "[commissioning]\niteration_count = 10000\npasscode = random\ndiscriminator = random\n"
		 "commissioning_flow = 0\ndiscovery = 0x02\n\n"
		 "[device]\nserial = DEMO-{seq:04}\nserial_start = 1\n\n"
		 "[output]\ndir = out\n",
		 pki, chip, pki, pki, pki, h2 ? "" : "nvs_keys = nvs_keys\n",
		 h2 ? "ecdsa-efuse" : fe_only ? "flash-encryption" : "ds",
		 h2 ? "" : fe_only ? "nvs_encryption = yes\n" : "flash_encryption = yes\nnvs_encryption = yes\n");
	snprintf(profile, n, "%s/demo.ini", tmp);
	return fileio_write_atomic(profile, text, strlen(text), FILEIO_MODE_PUBLIC, e);
}

/* A board as it leaves the firmware station: erased flash with the application's partition table
 * at 0x8000 (what `espfab inspect` finds the partitions through). */
static int demo_write_flash(const char *tmp, err_t *e)
{
	char csv[PATH_MAX], flash[PATH_MAX];
	snprintf(csv, sizeof csv, "%s/partitions.csv", tmp);
	snprintf(flash, sizeof flash, "%s/flash.bin", tmp);
	struct parttable_options po;
	parttable_default_options(&po);
	struct parttable *t = calloc(1, sizeof *t);
	uint8_t *img = malloc(DEMO_FLASH_SIZE);
	if (!t || !img)
		abort();
	memset(img, 0xFF, DEMO_FLASH_SIZE);
	int rc = parttable_load_csv_file(csv, &po, t, e);
	if (!rc)
		rc = parttable_encode_binary(t, &po, img + PARTTABLE_DEFAULT_OFFSET, e);
	if (!rc)
		rc = fileio_write_atomic(flash, img, DEMO_FLASH_SIZE, FILEIO_MODE_PUBLIC, e);
	free(img);
	free(t);
	return rc;
}

/* Starts the simulator on an ephemeral TCP port; *port gets "socket://127.0.0.1:N". */
static int demo_start_sim(const char *sim, const char *chip, const char *tmp, pid_t *pid, char *port,
			  size_t n, err_t *e)
{
	char flash[PATH_MAX], efuse[PATH_MAX], log[PATH_MAX];
	snprintf(flash, sizeof flash, "%s/flash.bin", tmp);
	snprintf(efuse, sizeof efuse, "%s/efuse.bin", tmp);
	snprintf(log, sizeof log, "%s/sim.log", tmp);
	int pfd[2];
	if (pipe2(pfd, O_CLOEXEC))
		return err_set_msg(e, ERR_DEVICE, "pipe: %s", strerror(errno));
	pid_t parent = getpid();
	*pid = fork();
	if (*pid < 0) {
		close(pfd[0]);
		close(pfd[1]);
		return err_set_msg(e, ERR_DEVICE, "fork: %s", strerror(errno));
	}
	if (*pid == 0) {
		int lfd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
		dup2(pfd[1], STDOUT_FILENO);
		if (lfd >= 0)
			dup2(lfd, STDERR_FILENO);
		if (null >= 0)
			dup2(null, STDIN_FILENO);
		/* its own process group: the terminal's ^C goes to the TUI only */
		setpgid(0, 0);
		/* but it must not outlive the demo when a hangup or kill ends it without cleanup */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() != parent)
			_exit(0);
		execl(sim, sim, "--chip", chip, "--tcp", "0", "--flash", flash, "--efuse", efuse,
		      (char *)NULL);
		_exit(127);
	}
	close(pfd[1]);
	char line[256];
	size_t got = 0;
	long waited = 0;
	while (waited < DEMO_SIM_START_MS && got < sizeof line - 1) {
		struct pollfd p = {pfd[0], POLLIN, 0};
		int r = poll(&p, 1, 100);
		waited += 100;
		if (r <= 0)
			continue;
		ssize_t k = read(pfd[0], line + got, sizeof line - 1 - got);
		if (k <= 0)
			break;
		got += (size_t)k;
		line[got] = 0;
		if (strchr(line, '\n'))
			break;
	}
	close(pfd[0]);
	line[got] = 0;
	unsigned tcp = 0;
	char host[64];
	if (sscanf(line, "tcp %63[0-9.]:%u", host, &tcp) != 2 || !tcp) {
		kill(*pid, SIGTERM);
		waitpid(*pid, NULL, 0);
		*pid = -1;
		return err_set_msg(e, ERR_DEVICE, "espfab-sim did not start (see %s)", log);
	}
	snprintf(port, n, "socket://%s:%u", host, tcp);
	return 0;
}

static int demo_remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path) ? -1 : 0;
}

/* Only what demo itself made: its own temporary folder, depth first, links not followed. */
static void demo_remove_tree(const char *dir)
{
	if (!dir[0] || !strstr(dir, "espfab-demo-"))
		return;
	if (nftw(dir, demo_remove_entry, 16, FTW_DEPTH | FTW_PHYS))
		fprintf(stderr, "espfab demo: could not remove %s\n", dir);
}
#endif

static int cmd_demo_run(int argc, char **argv, err_t *e)
{
	const char *chip = "esp32h2", *write_dir = NULL;
	int autopilot = 0, keep = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--auto")) {
			autopilot = 1;
		} else if (!strcmp(a, "--keep")) {
			keep = 1;
		} else if (!strcmp(a, "--chip") || !strncmp(a, "--chip=", 7)) {
			if (a[6] == '=')
				chip = a + 7;
			else if (i + 1 < argc)
				chip = argv[++i];
			else
				return err_set_msg(e, ERR_USAGE, "--chip needs a value"), ERR_USAGE;
		} else if (!strcmp(a, "--write-profile") || !strncmp(a, "--write-profile=", 16)) {
			if (a[15] == '=')
				write_dir = a + 16;
			else if (i + 1 < argc)
				write_dir = argv[++i];
			else
				return err_set_msg(e, ERR_USAGE, "--write-profile needs a folder"), ERR_USAGE;
		} else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			demo_print_usage(stdout);
			return 0;
		} else {
			demo_print_usage(stderr);
			err_set_msg(e, ERR_USAGE, "unknown option '%s'", a);
			return ERR_USAGE;
		}
	}
	int known = 0;
	for (int i = 0; demo_chips[i]; i++)
		known |= !strcmp(demo_chips[i], chip);
	if (!known) {
		err_set_msg(e, ERR_USAGE, "--chip %s: not one of esp32, esp32s2, esp32s3, esp32c2, esp32c3, esp32c6, esp32h2", chip);
		return ERR_USAGE;
	}
#if !UI_HAVE_ENGINE
	(void)autopilot;
	(void)keep;
	(void)write_dir;
	err_set_msg(e, ERR_USAGE, "this build has no provisioning engine (src/flow/worker.h): the demo "
		    "cannot run; `espfab tui --replay FILE` replays a recorded run instead");
	return ERR_USAGE;
#else
	char self[PATH_MAX], sim[PATH_MAX], pki[PATH_MAX], profile[PATH_MAX], port[128];
	if (write_dir) {
		/* What the demo would run, for `espfab run` and for checking it against the examples. */
		if (demo_self_path(self, sizeof self, e) || fileio_make_dirs(write_dir, 0700, e))
			return ERR_USAGE;
		if (demo_make_pki(self, pki, sizeof pki, e))
			return ERR_CHECK;
		if (demo_write_profile(write_dir, chip, pki, profile, sizeof profile, e))
			return ERR_USAGE;
		printf("%s\n", profile);
		return 0;
	}
	if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
		err_set_msg(e, ERR_USAGE, "the demo needs a terminal");
		return ERR_USAGE;
	}
	if (demo_self_path(self, sizeof self, e) || demo_find_sim(self, sim, sizeof sim, e))
		return ERR_USAGE;
	if (demo_make_pki(self, pki, sizeof pki, e))
		return ERR_CHECK;
	const char *tdir = getenv("TMPDIR");
	char tmp[PATH_MAX];
	snprintf(tmp, sizeof tmp, "%s/espfab-demo-XXXXXX", tdir && *tdir ? tdir : "/tmp");
	if (!mkdtemp(tmp)) {
		err_set_msg(e, ERR_USAGE, "%s: %s", tmp, strerror(errno));
		return ERR_USAGE;
	}
	int rc = 0;
	pid_t sim_pid = -1;
	evq_t *cmds = NULL, *events = NULL;
	struct flow_worker *worker = NULL;
	char out_dir[PATH_MAX];
	snprintf(out_dir, sizeof out_dir, "%s/out", tmp);
	if (demo_write_profile(tmp, chip, pki, profile, sizeof profile, e) || demo_write_flash(tmp, e) ||
	    demo_start_sim(sim, chip, tmp, &sim_pid, port, sizeof port, e)) {
		rc = e->code ? e->code : ERR_DEVICE;
		goto out;
	}
	cmds = evq_create(256, 2000, e);
	events = cmds ? evq_create(512, 2000, e) : NULL;
	struct flow_worker_options wo;
	memset(&wo, 0, sizeof wo);
	wo.out_dir = out_dir;
	wo.baud = 921600; /* the simulator keeps up with the fastest common bridge rate */
	if (!events || flow_worker_start(cmds, events, &wo, &worker, e)) {
		rc = ERR_DEVICE;
		goto out;
	}
	struct ui_options o;
	memset(&o, 0, sizeof o);
	o.port = port;
	o.profile = profile;
	o.profiles_dir = tmp;
	o.start_run = 1;
	o.autopilot = autopilot;
	char manifest[PATH_MAX + 16];
	snprintf(manifest, sizeof manifest, "%s/manifest.csv", out_dir);
	o.manifest = manifest;
	/* labels of the demo go to a file next to the rest: no printer is needed */
	char label[PATH_MAX + 16];
	snprintf(label, sizeof label, "%s/label.png", tmp);
	o.label_file = label;
	if (ui_app_run(&o, cmds, events, e))
		rc = e->code ? e->code : ERR_USAGE;
out:
	if (events)
		evq_close(events);
	if (cmds)
		evq_close(cmds);
	flow_worker_stop(worker);
	evq_destroy(events);
	evq_destroy(cmds);
	if (sim_pid > 0) {
		kill(sim_pid, SIGTERM);
		waitpid(sim_pid, NULL, 0);
	}
	if (keep)
		fprintf(stderr, "espfab demo: files kept in %s\n", tmp);
	else
		demo_remove_tree(tmp);
	return rc;
#endif
}

CLI_COMMAND(demo, "demo", 2, "the TUI against a simulated chip it starts itself [--chip C] [--auto]", cmd_demo_run)
