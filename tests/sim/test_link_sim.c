/* Integration of the client side of the device link with espfab-sim: for each of the seven
 * chips, identification, flash write/verify/read-back (compressed and not, at 115200 and
 * 921600), eFuse key burning with protection and every refusal rule; then every fault kind the
 * simulator can inject, checking that an operation either recovers or fails with a clear error
 * and that a region reported verified really sits in the simulated flash (those runs go to child
 * processes of this program, in parallel, as most of their time is spent waiting on timeouts). */
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/rng.h"
#include "loader/flasher.h"
#include "loader/loader.h"

struct sim {
	pid_t pid;
	char url[80];
	char *dir;
	char *flash_path;
	char *efuse_path;
};

/* Starts espfab-sim on a free TCP port (first stdout line names it). dir NULL = new folder;
 * otherwise reuse its flash/eFuse files (a restarted chip). */
static bool sim_use_pty;

static void sim_start_in(struct sim *s, const char *chip, const char *fault, const char *dir)
{
	const char *bin = testutil_sim_bin();
	if (!bin || access(bin, X_OK) != 0)
		skip();
	memset(s, 0, sizeof(*s));
	s->dir = dir ? strdup(dir) : testutil_make_tmpdir();
	s->flash_path = testutil_join_path(s->dir, "flash.bin");
	s->efuse_path = testutil_join_path(s->dir, "efuse.bin");
	char *logp = testutil_join_path(s->dir, "sim.log");
	int p[2];
	assert_int_equal(pipe(p), 0);
	s->pid = fork();
	assert_true(s->pid >= 0);
	if (s->pid == 0) {
		dup2(p[1], 1);
		int dn = open("/dev/null", O_WRONLY);
		dup2(dn, 2);
		close(p[0]);
		const char *argv[16];
		int n = 0;
		argv[n++] = bin;
		argv[n++] = "--chip";
		argv[n++] = chip;
		if (sim_use_pty) {
			argv[n++] = "--pty";
		} else {
			argv[n++] = "--tcp";
			argv[n++] = "0";
		}
		argv[n++] = "--no-throttle";
		argv[n++] = "--flash";
		argv[n++] = s->flash_path;
		argv[n++] = "--efuse";
		argv[n++] = s->efuse_path;
		argv[n++] = "--log";
		argv[n++] = logp;
		if (fault) {
			argv[n++] = "--fault";
			argv[n++] = fault;
		}
		argv[n] = NULL;
		execv(bin, (char *const *)argv);
		_exit(127);
	}
	close(p[1]);
	free(logp);
	char line[200];
	size_t len = 0;
	struct pollfd pf = {p[0], POLLIN, 0};
	while (len < sizeof line - 1) {
		assert_true(poll(&pf, 1, 10000) > 0);
		ssize_t r = read(p[0], line + len, 1);
		assert_true(r == 1);
		if (line[len] == '\n')
			break;
		len++;
	}
	line[len] = '\0';
	close(p[0]);
	if (sim_use_pty) {
		const char *pp = strstr(line, "pty ");
		assert_non_null(pp);
		snprintf(s->url, sizeof s->url, "%s", pp + 4);
		return;
	}
	const char *hp = strstr(line, "tcp ");
	assert_non_null(hp);
	snprintf(s->url, sizeof s->url, "socket://%s", hp + 4);
}

static void sim_start(struct sim *s, const char *chip, const char *fault)
{
	sim_start_in(s, chip, fault, NULL);
}

static void sim_halt(struct sim *s)
{
	if (s->pid > 0) {
		kill(s->pid, SIGTERM);
		int st;
		waitpid(s->pid, &st, 0);
		s->pid = 0;
	}
}

static void sim_stop(struct sim *s)
{
	sim_halt(s);
	testutil_remove_tree(s->dir);
	free(s->dir);
	free(s->flash_path);
	free(s->efuse_path);
}

static int open_loader(loader_t *l, const char *url, unsigned baud, err_t *e)
{
	struct loader_opts o;
	loader_opts_init(&o);
	o.port = url;
	o.baud = baud;
	o.before = ROM_RESET_NONE;
	o.after = ROM_AFTER_NO_RESET;
	o.connect_attempts = 3;
	return loader_open(l, &o, e);
}

static void fill_random(buf_t *b, size_t n)
{
	buf_reserve_bytes(b, n);
	b->len = n;
	assert_int_equal(rng_fill_bytes(b->data, n), 0);
}

/* The simulated flash file holds data at addr. */
static bool sim_flash_holds(const struct sim *s, uint32_t addr, const uint8_t *data, size_t len)
{
	buf_t f = BUF_INIT;
	testutil_read_file(s->flash_path, &f);
	bool ok = f.len >= addr + len && memcmp(f.data + addr, data, len) == 0;
	buf_free_data(&f);
	return ok;
}

static const char *chips[] = {"esp32", "esp32s2", "esp32s3", "esp32c2", "esp32c3", "esp32c6", "esp32h2"};

/* ---- per chip: info, flash ---- */

static void run_flash_round(const char *chip, unsigned baud, bool compress)
{
	struct sim s;
	sim_start(&s, chip, NULL);
	loader_t l;
	err_t e = {0};
	assert_int_equal(open_loader(&l, s.url, baud, &e), 0);
	assert_string_equal(l.info.chip->id, chip);
	assert_false(l.info.secure_download);
	assert_true(l.info.has_mac);
	uint8_t zero[6] = {0};
	assert_memory_not_equal(l.info.mac, zero, 6);
	assert_true(l.info.flash_size >= (1u << 20));
	assert_false(l.info.flash_size_guessed);
	assert_true(l.info.xtal_mhz == l.info.chip->xtal_mhz[0] || l.info.xtal_mhz == l.info.chip->xtal_mhz[1]);
	assert_int_equal(l.t->baud, baud);

	/* two provisioning-sized partitions, one not sector-aligned */
	buf_t a = BUF_INIT, b = BUF_INIT;
	fill_random(&a, 0x2000);
	fill_random(&b, 12345);
	struct flash_region rg[2] = {{0xD000, a.data, a.len}, {0x3E0100, b.data, b.len}};
	struct flash_write_opts wo;
	flash_write_opts_init(&wo);
	wo.compress = compress;
	struct flash_region_result res[2];
	assert_int_equal(flasher_write(&l, rg, 2, &wo, res, &e), 0);
	assert_true(res[0].verified);
	assert_true(res[1].verified);
	assert_true(sim_flash_holds(&s, 0xD000, a.data, a.len));
	assert_true(sim_flash_holds(&s, 0x3E0100, b.data, b.len));
	bool match = false;
	assert_int_equal(flasher_verify(&l, 0x3E0100, b.data, b.len, &match, &e), 0);
	assert_true(match);
	assert_int_equal(flasher_verify(&l, 0xD000, b.data, b.len, &match, &e), 0);
	assert_false(match);
	buf_t rb = BUF_INIT;
	assert_int_equal(flasher_read(&l, 0x3E0100, b.len, &rb, NULL, NULL, &e), 0);
	testutil_assert_bytes_equal("read-back", rb.data, rb.len, b.data, b.len);
	/* the sector gap before an unaligned region was erased, as esptool does */
	buf_t gap = BUF_INIT;
	assert_int_equal(flasher_read(&l, 0x3E0000, 0x100, &gap, NULL, NULL, &e), 0);
	for (size_t i = 0; i < gap.len; i++)
		assert_int_equal(gap.data[i], 0xFF);
	/* regions beyond the flash are refused before anything is sent */
	struct flash_region beyond = {l.info.flash_size - 16, a.data, 32};
	assert_int_equal(flasher_write(&l, &beyond, 1, &wo, NULL, &e), -1);
	assert_int_equal(e.code, ERR_USAGE);
	loader_close(&l);
	buf_free_data(&a);
	buf_free_data(&b);
	buf_free_data(&rb);
	buf_free_data(&gap);
	sim_stop(&s);
}

static void test_flash_all_chips(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof chips / sizeof chips[0]; i++) {
		run_flash_round(chips[i], 115200, true);
		run_flash_round(chips[i], 921600, false);
		run_flash_round(chips[i], 921600, true);
		run_flash_round(chips[i], 115200, false);
	}
}

/* The same over a pseudo-terminal (the simulator's --pty), as QEMU or a local bridge offers. */
static void test_flash_over_pty(void **state)
{
	(void)state;
	sim_use_pty = true;
	run_flash_round("esp32c6", 921600, true);
	run_flash_round("esp32", 460800, false);
	sim_use_pty = false;
}

/* ---- per chip: eFuse ---- */

struct efuse_case {
	const char *chip;
	const char *block;
	const char *purpose;
	bool read_protect;
	const char *bad_block;   /* block/purpose pair the chip must refuse */
	const char *bad_purpose;
	const char *bad_reason;  /* substring of the refusal */
};

static const struct efuse_case efuse_cases[] = {
	{"esp32", "BLOCK1", "FLASH_ENCRYPTION", true, "BLOCK1", "SECURE_BOOT_V2", "role"},
	{"esp32", "BLOCK2", "SECURE_BOOT_V2", false, "BLOCK3", "FLASH_ENCRYPTION", "role"},
	{"esp32s2", "BLOCK_KEY0", "HMAC_DOWN_DIGITAL_SIGNATURE", true, "BLOCK_KEY1", "ECDSA_KEY", "does not support"},
	{"esp32s3", "BLOCK_KEY2", "XTS_AES_256_KEY_1", true, "BLOCK_KEY5", "XTS_AES_128_KEY", "BLOCK_KEY5"},
	{"esp32c2", "BLOCK_KEY0", "XTS_AES_128_KEY", true, "BLOCK_KEY0", "HMAC_UP", "does not take"},
	{"esp32c3", "BLOCK_KEY1", "HMAC_DOWN_DIGITAL_SIGNATURE", false, "BLOCK_KEY5", "XTS_AES_128_KEY", "BLOCK_KEY5"},
	{"esp32c6", "BLOCK_KEY3", "HMAC_UP", true, "BLOCK_KEY0", "XTS_AES_256_KEY_2", "does not support"},
	{"esp32h2", "BLOCK_KEY1", "ECDSA_KEY", false, "BLOCK_KEY5", "ECDSA_KEY", "BLOCK_KEY5"},
};

static int plan_burn(loader_t *l, const char *named, const char *block, const char *purpose,
		     const uint8_t *key, size_t klen, bool rp, struct efuse_key_plan *plan, err_t *e)
{
	struct efuse_burn_req req = {.chip_name = named, .block = block, .key = key, .key_len = klen,
				     .purpose = chip_purpose_parse(purpose), .read_protect = rp};
	assert_int_not_equal(req.purpose, KP_INVALID);
	return loader_plan_key(l, &req, plan, e);
}

static void run_efuse_case(const struct efuse_case *c)
{
	struct sim s;
	sim_start(&s, c->chip, NULL);
	loader_t l;
	err_t e = {0};
	assert_int_equal(open_loader(&l, s.url, 460800, &e), 0);
	uint8_t key[32];
	for (int i = 0; i < 32; i++)
		key[i] = (uint8_t)(0xA0 + i);
	struct efuse_key_plan plan;
	/* refusals first: nothing may be burned by them */
	assert_int_equal(plan_burn(&l, c->bad_block, c->bad_block, c->bad_purpose, key, 32, false, &plan, &e), -1);
	assert_int_equal(plan_burn(&l, c->chip, c->bad_block, c->bad_purpose, key, 32, false, &plan, &e), -1);
	assert_non_null(strstr(e.msg, c->bad_reason));
	const char *other = strcmp(c->chip, "esp32h2") ? "esp32h2" : "esp32c6";
	assert_int_equal(plan_burn(&l, other, c->block, c->purpose, key, 32, c->read_protect, &plan, &e), -1);
	assert_non_null(strstr(e.msg, "was named"));
	assert_int_equal(plan_burn(&l, c->chip, c->block, c->purpose, key, 16, c->read_protect, &plan, &e), -1);
	if (l.info.chip->efuse->family == EFUSE_FAMILY_GEN2) {
		/* a digest must stay readable */
		assert_int_equal(plan_burn(&l, c->chip, "BLOCK_KEY4", "SECURE_BOOT_DIGEST0", key, 32, true, &plan, &e), -1);
		assert_non_null(strstr(e.msg, "readable"));
	}
	for (int b = l.info.chip->efuse->first_key_block;
	     b < l.info.chip->efuse->first_key_block + l.info.chip->efuse->n_key_blocks; b++) {
		struct efuse_key_status ks;
		efuse_key_status(&l.info.efuse, b, &ks);
		assert_true(ks.empty);
	}
	/* the burn */
	assert_int_equal(plan_burn(&l, c->chip, c->block, c->purpose, key, 32, c->read_protect, &plan, &e), 0);
	assert_int_equal(loader_burn_key(&l, &plan, &e), 0);
	struct efuse_key_status ks;
	efuse_key_status(&l.info.efuse, plan.block_idx, &ks);
	assert_int_equal(ks.purpose, chip_purpose_parse(c->purpose));
	assert_int_equal(ks.read_protected, c->read_protect);
	assert_true(ks.write_protected);
	assert_false(ks.empty);
	if (!c->read_protect) {
		uint8_t got[32];
		for (int i = 0; i < 32; i++)
			got[i] = (uint8_t)(l.info.efuse.words[plan.block_idx][i / 4] >> (8 * (i % 4)));
		bool rev = chip_purpose_is_reversed(chip_purpose_parse(c->purpose));
		for (int i = 0; i < 32; i++)
			assert_int_equal(got[i], key[rev ? 31 - i : i]);
	} else {
		assert_true(ks.data_zero);
	}
	/* burn-once: the same block is refused now */
	assert_int_equal(plan_burn(&l, c->chip, c->block, c->purpose, key, 32, false, &plan, &e), -1);
	assert_non_null(strstr(e.msg, "not empty"));
	loader_close(&l);
	/* the chip keeps it across a restart of the simulator */
	char *dir = strdup(s.dir);
	sim_halt(&s);
	struct sim s2;
	sim_start_in(&s2, c->chip, NULL, dir);
	assert_int_equal(open_loader(&l, s2.url, 0, &e), 0);
	struct efuse_key_status ks2;
	efuse_key_status(&l.info.efuse, chip_efuse_find_block(l.info.chip, c->block), &ks2);
	assert_int_equal(ks2.purpose, ks.purpose);
	assert_int_equal(ks2.read_protected, ks.read_protected);
	assert_int_equal(ks2.write_protected, ks.write_protected);
	loader_close(&l);
	free(dir);
	sim_stop(&s2);
	free(s.dir);
	free(s.flash_path);
	free(s.efuse_path);
}

static void test_efuse_all_chips(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof efuse_cases / sizeof efuse_cases[0]; i++)
		run_efuse_case(&efuse_cases[i]);
}

/* ---- faults ---- */

/* Most of a fault run is waiting (a dropped reply costs the loader's 3 s command timeout, a stall
 * its length, an unrecoverable stall every retry), and the runs are independent, each with its own
 * simulator. So the runs of each chip, each eFuse fault and the unrecoverable stall go to child
 * processes of this program, all at once (test_faults): a child is a cmocka run of its own with
 * the same assertions, and its exit code reports back. */
#define CHILDREN_MAX 24
#define CHILD_COMPLETED 0
#define CHILD_FAILED_CLEANLY 10 /* eFuse fault: the burn failed with a message, then finished */
#define CHILD_ASSERTION 1

static char self_exe[4096];

struct child {
	const char *mode; /* --faults-on, --efuse-fault or --unrecoverable */
	const char *arg;
	int code;         /* its exit code */
};

/* Runs "<this program> mode arg" for every child at the same time and collects the exit codes. */
static void run_children(struct child *c, size_t n)
{
	const char *bin = testutil_sim_bin();
	if (!bin || access(bin, X_OK) != 0)
		skip();
	assert_true(n <= CHILDREN_MAX);
	assert_true(self_exe[0] != '\0');
	pid_t pids[CHILDREN_MAX];
	fflush(stdout);
	fflush(stderr);
	for (size_t i = 0; i < n; i++) {
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0) {
			execl(self_exe, self_exe, c[i].mode, c[i].arg, (char *)NULL);
			_exit(127);
		}
	}
	for (size_t i = 0; i < n; i++) {
		int st;
		assert_int_equal(waitpid(pids[i], &st, 0), pids[i]);
		c[i].code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
	}
}

static void run_fault(const char *chip, const char *fault, int *recovered, int *failed)
{
	struct sim s;
	sim_start(&s, chip, fault);
	loader_t l;
	err_t e = {0};
	buf_t a = BUF_INIT, b = BUF_INIT;
	fill_random(&a, 0x4000);
	fill_random(&b, 0x3000);
	int rc = open_loader(&l, s.url, 921600, &e);
	if (rc != 0) {
		/* connect failed: the message must say why */
		assert_true(strlen(e.msg) > 10);
		assert_int_equal(e.code, ERR_DEVICE);
		(*failed)++;
		goto out;
	}
	struct flash_region rg[2] = {{0x9000, a.data, a.len}, {0x20000, b.data, b.len}};
	struct flash_write_opts wo;
	flash_write_opts_init(&wo);
	struct flash_region_result res[2];
	memset(res, 0, sizeof res);
	rc = flasher_write(&l, rg, 2, &wo, res, &e);
	/* never a region reported verified that the flash does not hold */
	for (int i = 0; i < 2; i++)
		if (res[i].verified)
			assert_true(sim_flash_holds(&s, rg[i].addr, rg[i].data, rg[i].len));
	if (rc == 0) {
		assert_true(res[0].verified && res[1].verified);
		(*recovered)++;
	} else {
		assert_true(e.code == ERR_DEVICE || e.code == ERR_CHECK);
		assert_true(strlen(e.msg) > 10);
		print_message("  %s --fault %s: failed cleanly: %s\n", chip, fault, e.msg);
		(*failed)++;
	}
	loader_close(&l);
out:
	buf_free_data(&a);
	buf_free_data(&b);
	sim_stop(&s);
}

static const char *const link_faults[] = {
	"drop:1",  "drop:5",   "drop:40",  "corrupt:3", "corrupt:30", "corrupt:45",
	"disconnect-after:600", "disconnect-after:9000", "reset-after:700",
	"reset-after:12000", "stall:500", "stall:4000@30",
};

/* Every fault kind on one chip (run in a child, see run_children). */
static void test_faults_on_chip(void **state)
{
	const char *chip = *state;
	int recovered = 0, failed = 0;
	for (size_t f = 0; f < sizeof link_faults / sizeof link_faults[0]; f++)
		run_fault(chip, link_faults[f], &recovered, &failed);
	print_message("  %s: %d fault runs recovered, %d failed with an error\n", chip, recovered, failed);
	/* retries must win in most cases: a fault-free retry path exists for each kind */
	assert_true(recovered >= 10);
}

/* eFuse burning through a faulty link: either the burn completes and reads back right, or it
 * fails with a message; a success is never reported for a block that does not hold the key.
 * Returns whether the burn completed. */
static bool run_efuse_fault(const char *fault)
{
	struct sim s;
	sim_start(&s, "esp32c3", fault);
	loader_t l;
	err_t e = {0};
	if (open_loader(&l, s.url, 115200, &e)) {
		sim_stop(&s);
		return false;
	}
	uint8_t key[32];
	for (int i = 0; i < 32; i++)
		key[i] = (uint8_t)(0x11 * (i + 1));
	struct efuse_key_plan plan;
	int rc = plan_burn(&l, "esp32c3", "BLOCK_KEY2", "HMAC_UP", key, 32, false, &plan, &e);
	if (rc == 0)
		rc = loader_burn_key(&l, &plan, &e);
	loader_close(&l);
	/* judge by a fresh, fault-free look at the persisted eFuses */
	char *dir = strdup(s.dir);
	sim_halt(&s);
	struct sim s2;
	sim_start_in(&s2, "esp32c3", NULL, dir);
	err_t e2 = {0};
	assert_int_equal(open_loader(&l, s2.url, 0, &e2), 0);
	int idx = chip_efuse_find_block(l.info.chip, "BLOCK_KEY2");
	struct efuse_key_status ks;
	efuse_key_status(&l.info.efuse, idx, &ks);
	if (rc == 0) {
		assert_int_equal(ks.purpose, KP_HMAC_UP);
		assert_true(ks.write_protected);
		for (int i = 0; i < 32; i++)
			assert_int_equal((uint8_t)(l.info.efuse.words[idx][i / 4] >> (8 * (i % 4))), key[i]);
	} else {
		assert_true(strlen(e.msg) > 10);
		print_message("  burn with --fault %s failed cleanly: %s\n", fault, e.msg);
		/* the engine finishes the interrupted burn on the healthy link */
		struct efuse_burn_req req = {.chip_name = "esp32c3", .block = "BLOCK_KEY2",
					     .key = key, .key_len = 32, .purpose = KP_HMAC_UP,
					     .resume = true};
		assert_int_equal(loader_plan_key(&l, &req, &plan, &e2), 0);
		assert_int_equal(loader_burn_key(&l, &plan, &e2), 0);
		efuse_key_status(&l.info.efuse, idx, &ks);
		assert_int_equal(ks.purpose, KP_HMAC_UP);
		assert_true(ks.write_protected);
		for (int i = 0; i < 32; i++)
			assert_int_equal((uint8_t)(l.info.efuse.words[idx][i / 4] >> (8 * (i % 4))), key[i]);
	}
	loader_close(&l);
	free(dir);
	sim_stop(&s2);
	free(s.dir);
	free(s.flash_path);
	free(s.efuse_path);
	return rc == 0;
}

/* Frames 95-120 fall in the plan's eFuse read; at 115200 byte 5500 falls in the read-back of the
 * key data's program operation and byte 6000 in the purpose's program writes. */
static const char *const efuse_faults[] = {"drop:95", "drop:110", "corrupt:100", "corrupt:120",
					  "reset-after:6000", "disconnect-after:5500", "stall:500@105"};

/* One eFuse fault (run in a child): the exit code says whether the burn completed; at least four
 * of them must (test_faults). */
static bool efuse_fault_completed;

static void test_efuse_fault_one(void **state)
{
	efuse_fault_completed = run_efuse_fault(*state);
	print_message("  eFuse burn with --fault %s: %s\n", (const char *)*state,
		      efuse_fault_completed ? "completed and verified" : "failed cleanly, finished afterwards");
}

/* A chip in Secure Download Mode: identified through GET_SECURITY_INFO, writes go out
 * uncompressed and only when the caller accepts that they cannot be verified; reads, MD5 and
 * eFuse access are refused with a reason. */
static void test_secure_download_mode(void **state)
{
	(void)state;
	const struct chip_desc *chip = chip_get_desc(CHIP_ESP32C3);
	char *dir = testutil_make_tmpdir();
	/* the simulator's eFuse file: every block's words (+12 parity bytes for RS blocks) */
	size_t size = 0;
	for (int i = 0; i < chip->efuse->n_blocks; i++)
		size += 4u * chip->efuse->blocks[i].words + (chip->efuse->blocks[i].coding == EFUSE_CODING_RS ? 12 : 0);
	uint8_t *img = calloc(1, size);
	const struct efuse_field_desc *f = chip_efuse_field(chip, EF_ENABLE_SECURITY_DOWNLOAD);
	img[4 * f->word + f->bit / 8] |= (uint8_t)(1u << (f->bit % 8));
	char *ep = testutil_join_path(dir, "efuse.bin");
	testutil_write_file(ep, img, size);
	free(img);
	struct sim s;
	sim_start_in(&s, "esp32c3", NULL, dir);
	loader_t l;
	err_t e = {0};
	assert_int_equal(open_loader(&l, s.url, 921600, &e), 0);
	assert_int_equal(l.info.chip->type, CHIP_ESP32C3);
	assert_true(l.info.secure_download);
	assert_true(l.info.security.secure_download);
	assert_false(l.info.has_efuse);
	buf_t a = BUF_INIT, rb = BUF_INIT;
	fill_random(&a, 3000);
	struct flash_region rg = {0x20000, a.data, a.len};
	struct flash_write_opts wo;
	flash_write_opts_init(&wo);
	assert_int_equal(flasher_write(&l, &rg, 1, &wo, NULL, &e), -1);
	assert_non_null(strstr(e.msg, "Secure Download Mode"));
	wo.no_verify = true;
	struct flash_region_result res;
	assert_int_equal(flasher_write(&l, &rg, 1, &wo, &res, &e), 0);
	assert_false(res.verified);
	assert_true(sim_flash_holds(&s, 0x20000, a.data, a.len));
	bool match;
	assert_int_equal(flasher_verify(&l, 0x20000, a.data, a.len, &match, &e), -1);
	assert_int_equal(flasher_read(&l, 0x20000, 64, &rb, NULL, NULL, &e), -1);
	struct efuse_burn_req req = {.chip_name = "esp32c3", .block = "BLOCK_KEY0", .key = a.data,
				     .key_len = 32, .purpose = KP_HMAC_UP};
	struct efuse_key_plan plan;
	assert_int_equal(loader_plan_key(&l, &req, &plan, &e), -1);
	assert_non_null(strstr(e.msg, "Secure Download Mode"));
	loader_close(&l);
	buf_free_data(&a);
	buf_free_data(&rb);
	free(ep);
	free(dir);
	sim_stop(&s);
}

/* The engine cancels from another thread; here from the progress callback. */
static void cancel_after_first(void *ctx, const struct flash_progress *p)
{
	if (p->done > 0)
		atomic_store((atomic_int *)ctx, 1);
}

static void test_cancel(void **state)
{
	(void)state;
	struct sim s;
	sim_start(&s, "esp32s3", NULL);
	atomic_int cancel = 0;
	struct loader_opts o;
	loader_opts_init(&o);
	o.port = s.url;
	o.before = ROM_RESET_NONE;
	o.cancel = &cancel;
	loader_t l;
	err_t e = {0};
	assert_int_equal(loader_open(&l, &o, &e), 0);
	buf_t a = BUF_INIT;
	fill_random(&a, 0x10000);
	struct flash_region rg = {0x40000, a.data, a.len};
	struct flash_write_opts wo;
	flash_write_opts_init(&wo);
	wo.compress = false;
	wo.progress = cancel_after_first;
	wo.progress_ctx = &cancel;
	struct flash_region_result res;
	assert_int_equal(flasher_write(&l, &rg, 1, &wo, &res, &e), -1);
	assert_non_null(strstr(e.msg, "cancelled"));
	assert_false(res.verified);
	assert_int_equal(res.attempts, 1);
	loader_close(&l);
	buf_free_data(&a);
	sim_stop(&s);
}

/* A chip that stops answering for longer than every retry: a clear error, nothing reported
 * verified (run in a child). */
static void test_fault_unrecoverable(void **state)
{
	(void)state;
	struct sim s;
	sim_start(&s, "esp32c3", "stall:30000@120");
	loader_t l;
	err_t e = {0};
	assert_int_equal(open_loader(&l, s.url, 115200, &e), 0);
	buf_t a = BUF_INIT;
	fill_random(&a, 0x8000);
	struct flash_region rg = {0x9000, a.data, a.len};
	struct flash_write_opts wo;
	flash_write_opts_init(&wo);
	wo.compress = false;
	struct flash_region_result res;
	assert_int_equal(flasher_write(&l, &rg, 1, &wo, &res, &e), -1);
	assert_false(res.verified);
	assert_int_equal(e.code, ERR_DEVICE);
	print_message("  stalled chip: %s\n", e.msg);
	assert_non_null(strstr(e.msg, "0x9000"));
	loader_close(&l);
	buf_free_data(&a);
	sim_stop(&s);
}

/* The parent of the fault runs: every chip under every link fault, every eFuse fault and the
 * unrecoverable stall, each in its own child, all at once. */
static void test_faults(void **state)
{
	(void)state;
	struct child c[CHILDREN_MAX];
	size_t n = 0, n_chips = sizeof chips / sizeof chips[0], n_efuse = sizeof efuse_faults / sizeof efuse_faults[0];
	for (size_t i = 0; i < n_chips; i++)
		c[n++] = (struct child){"--faults-on", chips[i], -1};
	for (size_t i = 0; i < n_efuse; i++)
		c[n++] = (struct child){"--efuse-fault", efuse_faults[i], -1};
	c[n++] = (struct child){"--unrecoverable", "esp32c3", -1};
	run_children(c, n);
	int ok = 0, failed = 0;
	for (size_t i = 0; i < n; i++) {
		bool efuse = !strcmp(c[i].mode, "--efuse-fault");
		if (efuse && c[i].code == CHILD_COMPLETED)
			ok++;
		else if (efuse && c[i].code == CHILD_FAILED_CLEANLY)
			failed++;
		else if (c[i].code != CHILD_COMPLETED)
			fail_msg("%s %s: the child exited with %d (its failed assertion is printed above)", c[i].mode,
				 c[i].arg, c[i].code);
	}
	print_message("  eFuse burns under faults: %d completed and verified, %d failed with an error\n", ok, failed);
	assert_true(ok >= 4);
}

/* ---- the CLI on top ---- */

static void test_cli(void **state)
{
	(void)state;
	struct sim s;
	sim_start(&s, "esp32c6", NULL);
	buf_t out = BUF_INIT, err = BUF_INIT;
	char *argv1[] = {"espfab", "info", "--port", s.url, "--json", NULL};
	assert_int_equal(testutil_run_espfab(NULL, argv1, &out, &err), 0);
	json_error_t je;
	json_t *j = json_loadb((const char *)out.data, out.len, 0, &je);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "chip")), "ESP32-C6");
	assert_non_null(json_object_get(j, "eui64"));
	json_decref(j);
	/* write + verify through files */
	char *f1 = testutil_join_path(s.dir, "p1.bin"), *f2 = testutil_join_path(s.dir, "p2.bin");
	char *rd = testutil_join_path(s.dir, "rd.bin");
	buf_t a = BUF_INIT, b = BUF_INIT;
	fill_random(&a, 5000);
	fill_random(&b, 7000);
	testutil_write_file(f1, a.data, a.len);
	testutil_write_file(f2, b.data, b.len);
	char *argv2[] = {"espfab", "flash", "--port", s.url, "--baud", "921600", "write", "0x10000", f1, "0x12000", f2, "--no-compress", NULL};
	out.len = err.len = 0;
	assert_int_equal(testutil_run_espfab(NULL, argv2, &out, &err), 0);
	assert_true(sim_flash_holds(&s, 0x10000, a.data, a.len));
	char *argv3[] = {"espfab", "flash", "--port", s.url, "verify", "0x12000", f1, NULL};
	assert_int_equal(testutil_run_espfab(NULL, argv3, &out, &err), 1);
	char *argv4[] = {"espfab", "flash", "--port", s.url, "read", "0x12000", "7000", rd, NULL};
	assert_int_equal(testutil_run_espfab(NULL, argv4, &out, &err), 0);
	testutil_assert_files_equal(rd, f2);
	/* host-encrypted data: written as is, 16-byte alignment enforced */
	char *argv2b[] = {"espfab", "flash", "--port", s.url, "write", "0x30000", f1, "--encrypted-raw", NULL};
	err.len = 0;
	assert_int_equal(testutil_run_espfab(NULL, argv2b, &out, &err), 2); /* 5000 % 16 != 0 */
	char *fe = testutil_join_path(s.dir, "enc.bin");
	testutil_write_file(fe, b.data, 4096);
	char *argv2c[] = {"espfab", "flash", "--port", s.url, "write", "0x30000", fe, "--encrypted-raw", NULL};
	assert_int_equal(testutil_run_espfab(NULL, argv2c, &out, &err), 0);
	assert_true(sim_flash_holds(&s, 0x30000, b.data, 4096));
	free(fe);
	/* burn-key without a terminal and without --yes: refused, nothing burned */
	char *kf = testutil_join_path(s.dir, "k.bin");
	testutil_write_file(kf, a.data, 32);
	chmod(kf, 0600);
	char *argv5[] = {"espfab", "efuse", "--port", s.url, "burn-key", "BLOCK_KEY0", kf, "HMAC_UP", NULL};
	err.len = 0;
	assert_int_equal(testutil_run_espfab(NULL, argv5, &out, &err), 2);
	buf_terminate_str(&err);
	assert_non_null(strstr((char *)err.data, "--yes"));
	char *argv6[] = {"espfab", "efuse", "--port", s.url, "summary", "--json", NULL};
	out.len = 0;
	assert_int_equal(testutil_run_espfab(NULL, argv6, &out, &err), 0);
	j = json_loadb((const char *)out.data, out.len, 0, &je);
	assert_non_null(j);
	json_t *k0 = json_array_get(json_object_get(j, "key_blocks"), 0);
	assert_true(json_is_true(json_object_get(k0, "empty")));
	json_decref(j);
	char *argv7[] = {"espfab", "efuse", "--port", s.url, "burn-key", "BLOCK_KEY0", kf, "HMAC_UP", "--yes", "--read-protect", NULL};
	assert_int_equal(testutil_run_espfab(NULL, argv7, &out, &err), 0);
	out.len = 0;
	assert_int_equal(testutil_run_espfab(NULL, argv6, &out, &err), 0);
	buf_terminate_str(&out);
	assert_null(strstr((char *)out.data, "a0a1")); /* no key material in output */
	j = json_loadb((const char *)out.data, out.len, 0, &je);
	k0 = json_array_get(json_object_get(j, "key_blocks"), 0);
	assert_string_equal(json_string_value(json_object_get(k0, "purpose")), "HMAC_UP");
	assert_true(json_is_true(json_object_get(k0, "read_protected")));
	json_decref(j);
	sim_stop(&s);
	/* ports: a JSON array even when the host has no serial port */
	char *argv9[] = {"espfab", "ports", "--json", NULL};
	out.len = 0;
	assert_int_equal(testutil_run_espfab(NULL, argv9, &out, &err), 0);
	j = json_loadb((const char *)out.data, out.len, 0, &je);
	assert_true(json_is_array(j));
	json_decref(j);
	/* a dead port: exit 3 */
	char *argv8[] = {"espfab", "info", "--port", "socket://127.0.0.1:1", NULL};
	assert_int_equal(testutil_run_espfab(NULL, argv8, &out, &err), 3);
	buf_free_data(&out);
	buf_free_data(&err);
	buf_free_data(&a);
	buf_free_data(&b);
	free(f1);
	free(f2);
	free(rd);
	free(kf);
}

/* XTS_AES_256_KEY: a 64-byte key over two blocks, both planned before either is burned. */
static void test_cli_xts256(void **state)
{
	(void)state;
	struct sim s;
	sim_start(&s, "esp32s3", NULL);
	char *kf = testutil_join_path(s.dir, "k64.bin");
	buf_t k = BUF_INIT, out = BUF_INIT, err = BUF_INIT;
	fill_random(&k, 64);
	testutil_write_file(kf, k.data, k.len);
	chmod(kf, 0600);
	/* KEY4 + KEY5: the second half would land in BLOCK_KEY5, which cannot hold XTS keys */
	char *a1[] = {"espfab", "efuse", "--port", s.url, "burn-key", "BLOCK_KEY4", kf, "XTS_AES_256_KEY", "--yes", NULL};
	assert_int_equal(testutil_run_espfab(NULL, a1, &out, &err), 2);
	char *a2[] = {"espfab", "efuse", "--port", s.url, "burn-key", "BLOCK_KEY2", kf, "XTS_AES_256_KEY", "--yes", NULL};
	assert_int_equal(testutil_run_espfab(NULL, a2, &out, &err), 0);
	loader_t l;
	err_t e = {0};
	assert_int_equal(open_loader(&l, s.url, 0, &e), 0);
	struct efuse_key_status ks;
	efuse_key_status(&l.info.efuse, chip_efuse_find_block(l.info.chip, "BLOCK_KEY4"), &ks);
	assert_true(ks.empty);
	efuse_key_status(&l.info.efuse, chip_efuse_find_block(l.info.chip, "BLOCK_KEY2"), &ks);
	assert_int_equal(ks.purpose, KP_XTS_AES_256_KEY_1);
	int k3 = chip_efuse_find_block(l.info.chip, "BLOCK_KEY3");
	efuse_key_status(&l.info.efuse, k3, &ks);
	assert_int_equal(ks.purpose, KP_XTS_AES_256_KEY_2);
	/* second half, reversed on its own: block byte 0 = key byte 63 */
	assert_int_equal(l.info.efuse.words[k3][0] & 0xFF, k.data[63]);
	loader_close(&l);
	buf_free_data(&k);
	buf_free_data(&out);
	buf_free_data(&err);
	free(kf);
	sim_stop(&s);
}

/* A child of run_children: one chip's fault runs, or one eFuse fault. */
static int run_child(const char *mode, const char *arg)
{
	char name[96];
	snprintf(name, sizeof name, "%s %s", mode + 2, arg);
	if (!strcmp(mode, "--faults-on")) {
		const struct CMUnitTest t[] = {cmocka_unit_test_prestate(test_faults_on_chip, (void *)arg)};
		return cmocka_run_group_tests_name(name, t, NULL, NULL) ? CHILD_ASSERTION : CHILD_COMPLETED;
	}
	if (!strcmp(mode, "--unrecoverable")) {
		const struct CMUnitTest t[] = {cmocka_unit_test(test_fault_unrecoverable)};
		return cmocka_run_group_tests_name(name, t, NULL, NULL) ? CHILD_ASSERTION : CHILD_COMPLETED;
	}
	const struct CMUnitTest t[] = {cmocka_unit_test_prestate(test_efuse_fault_one, (void *)arg)};
	if (cmocka_run_group_tests_name(name, t, NULL, NULL))
		return CHILD_ASSERTION;
	return efuse_fault_completed ? CHILD_COMPLETED : CHILD_FAILED_CLEANLY;
}

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	if (argc == 3 && (!strcmp(argv[1], "--faults-on") || !strcmp(argv[1], "--efuse-fault") ||
			  !strcmp(argv[1], "--unrecoverable")))
		return run_child(argv[1], argv[2]);
	ssize_t n = readlink("/proc/self/exe", self_exe, sizeof self_exe - 1);
	self_exe[n > 0 ? n : 0] = '\0';
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_flash_all_chips),
		cmocka_unit_test(test_flash_over_pty),
		cmocka_unit_test(test_efuse_all_chips),
		cmocka_unit_test(test_faults),
		cmocka_unit_test(test_secure_download_mode),
		cmocka_unit_test(test_cancel),
		cmocka_unit_test(test_cli),
		cmocka_unit_test(test_cli_xts256),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
