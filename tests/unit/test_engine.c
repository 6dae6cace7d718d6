/* Unit tests of src/flow/engine against an in-memory device (flash array, key blocks with
 * purposes and protection bits, fault injection): full runs per path, what lands on flash and in
 * eFuse, the manifest row, resume after a fault with no second burn, refusals and declined
 * confirmations with nothing burned, dry runs. The simulator tests (tests/sim) cover the same
 * flow through the ROM protocol. */
#include "testutil.h"
#include "memdev.h"
#include "testpki.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mbedtls/ecp.h>
#include <mbedtls/pk.h>
#include <mbedtls/x509_crt.h>

#include "core/fileio.h"
#include "core/rng.h"
#include "flow/engine.h"
#include "flow/journal.h"
#include "flow/worker.h"


static const char *table_plain =
	"esp_secure_cert, 0x3F, , 0xd000, 0x2000,\n"
	"nvs, data, nvs, 0x10000, 0xC000,\n"
	"otadata, data, ota, 0x1c000, 0x2000,\n"
	"ota_0, app, ota_0, 0x20000, 0x1E0000,\n"
	"fctry, data, nvs, 0x3E0000, 0x6000,\n";

static const char *table_enc =
	"esp_secure_cert, 0x3F, , 0xd000, 0x2000, encrypted\n"
	"nvs, data, nvs, 0x10000, 0xC000,\n"
	"nvs_keys, data, nvs_keys, 0x1c000, 0x1000, encrypted\n"
	"otadata, data, ota, 0x1d000, 0x2000,\n"
	"ota_0, app, ota_0, 0x20000, 0x1E0000,\n"
	"fctry, data, nvs, 0x3E0000, 0x6000,\n";

struct env {
	char *dir;
	char *profile;
	char *out;
};

static void env_make(struct env *v, const char *chip, const char *security, bool enc_table)
{
	v->dir = testutil_make_tmpdir();
	testpki_write_material(v->dir);
	char *t = testutil_join_path(v->dir, "parts.csv");
	const char *table = enc_table ? table_enc : table_plain;
	testutil_write_file(t, table, strlen(table));
	free(t);
	char text[2048];
	snprintf(text, sizeof text,
		 "[product]\nvendor_id = 0xFFF1\nproduct_id = 0x8000\nvendor_name = Test Vendor\n"
		 "product_name = Test Product\nhardware_version = 3\nhardware_version_string = rev-C\n"
		 "chips = %s\n"
		 "[attestation]\npai_cert = pai_cert.pem\npai_key = pai_key.pem\ncd = cd.der\n"
		 "[partitions]\ntable = parts.csv\n"
		 "[security]\n%s\n"
		 "[device]\nserial = T-{seq:04}\nserial_start = 10\n"
		 "[output]\ndir = out\n",
		 chip, security);
	v->profile = testutil_join_path(v->dir, "p.ini");
	testutil_write_file(v->profile, text, strlen(text));
	v->out = testutil_join_path(v->dir, "out");
}

static void env_free(struct env *v)
{
	testutil_remove_tree(v->dir);
	free(v->dir);
	free(v->profile);
	free(v->out);
}

struct recorder {
	buf_t kinds;   /* "chip plan step ..." */
	int confirms;
	bool answer;
	int partitions;
	char payload[64];
};

static void rec_emit(void *ctx, const struct engine_event *ev)
{
	struct recorder *r = ctx;
	buf_append_str(&r->kinds, engine_name_event(ev->type));
	buf_append_str(&r->kinds, " ");
	if (ev->type == ENGINE_EV_PARTITION)
		r->partitions++;
	if (ev->type == ENGINE_EV_PAYLOAD)
		snprintf(r->payload, sizeof r->payload, "%s", ev->qr);
	/* No event text may carry a passcode or key: spot-check the log and error lines. */
	if (ev->text)
		assert_null(strstr(ev->text, "BEGIN EC PRIVATE KEY"));
}

static bool rec_confirm(void *ctx, const char *step, const char *text)
{
	struct recorder *r = ctx;
	(void)step;
	assert_non_null(strstr(text, "cannot be undone"));
	r->confirms++;
	return r->answer;
}

static int run(struct env *v, struct memdev *f, struct recorder *rec, bool yes, bool dry, struct engine_result *res,
	       err_t *e)
{
	struct engine_options o = {.profile_path = v->profile, .assume_yes = yes, .dry_run = dry};
	struct engine_hooks h = {rec, rec_emit, rec_confirm, NULL};
	return engine_run_device(&o, &f->base, &h, res, e);
}

static bool flash_contains(const struct memdev *f, const uint8_t *p, size_t n)
{
	return memmem(f->flash, f->chip.flash_size, p, n) != NULL;
}

static void read_dac_scalar(const char *folder, uint8_t scalar[32])
{
	char *path = testutil_join_path(folder, "internal/DAC_key.der");
	mbedtls_pk_context pk;
	mbedtls_pk_init(&pk);
	assert_int_equal(mbedtls_pk_parse_keyfile(&pk, path, NULL), 0);
	assert_int_equal(mbedtls_mpi_write_binary(&mbedtls_pk_ec(pk)->d, scalar, 32), 0);
	mbedtls_pk_free(&pk);
	free(path);
}

static bool file_has_png(const char *path)
{
	buf_t b = BUF_INIT;
	testutil_read_file(path, &b);
	bool ok = b.len > 8 && !memcmp(b.data, "\x89PNG\r\n\x1a\n", 8);
	buf_free_data(&b);
	return ok;
}

static void check_manifest(const struct env *v, const char *serial, const char *result)
{
	char *path = testutil_join_path(v->out, "manifest.csv");
	buf_t b = BUF_INIT;
	testutil_read_file(path, &b);
	const char *t = buf_terminate_str(&b);
	if (!strstr(t, serial) || !strstr(t, result))
		fail_msg("manifest lacks %s/%s:\n%s", serial, result, t);
	buf_free_data(&b);
	free(path);
}

static void test_h2_ecdsa_full_run(void **state)
{
	(void)state;
	struct env v;
	env_make(&v, "esp32h2", "mode = development", false);
	struct memdev f;
	memdev_init(&f, "esp32h2", 1);
	struct recorder rec = {.answer = true};
	struct engine_result res;
	err_t e = {0};
	if (run(&v, &f, &rec, false, false, &res, &e))
		fail_msg("%s", e.msg);
	assert_int_equal(rec.confirms, 1);
	assert_string_equal(res.serial, "T-0010");
	assert_string_equal(res.mac, "60:55:f9:00:00:01");
	assert_true(strncmp(res.qr, "MT:", 3) == 0);
	assert_string_equal(rec.payload, res.qr);
	assert_int_equal(rec.partitions, 2);
	/* One ECDSA key burned, purpose 1, into KEY0, readable in development mode. */
	assert_int_equal(f.burns, 1);
	assert_int_equal(f.chip.key[0].purpose, PLAN_PURPOSE_ECDSA_KEY);
	assert_false(f.chip.key[0].rd_dis);
	uint8_t scalar[32];
	read_dac_scalar(res.folder, scalar);
	assert_memory_equal(f.key_bytes[0], scalar, 32);
	/* The esp_secure_cert partition holds the TLV magic and no private key anywhere in flash. */
	assert_int_equal(f.flash[0xd000], 0x11);
	assert_false(flash_contains(&f, scalar, 32));
	assert_false(flash_contains(&f, (const uint8_t *)"PRIVATE KEY", 11));
	check_manifest(&v, "T-0010", ",ok,");
	/* Identity files are private. */
	char *key = testutil_join_path(res.folder, "internal/DAC_key.der");
	struct stat st;
	assert_int_equal(stat(key, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	free(key);
	/* The mfg tool's QR picture and a printable label are in the device folder. */
	char png[700];
	const char *uuid = strrchr(res.folder, '/') + 1;
	snprintf(png, sizeof png, "%s/%s-qrcode.png", res.folder, uuid);
	assert_true(file_has_png(png));
	if (access("/usr/bin/zbarimg", X_OK) == 0) {
		/* It decodes to the device's payload. */
		char *argv[] = {"/usr/bin/zbarimg", "--raw", "-q", png, NULL};
		buf_t out = BUF_INIT;
		assert_int_equal(testutil_run_program(NULL, argv, &out, NULL), 0);
		assert_non_null(strstr(buf_terminate_str(&out), res.qr));
		buf_free_data(&out);
	}
	snprintf(png, sizeof png, "%s/%s-label.png", res.folder, uuid);
	assert_true(file_has_png(png));
	buf_free_data(&rec.kinds);
	memdev_free(&f);
	env_free(&v);
}

static void test_c3_ds_with_flash_encryption(void **state)
{
	(void)state;
	struct env v;
	env_make(&v, "esp32c3", "mode = development\npath = ds\nnvs_encryption = yes", true);
	struct memdev f;
	memdev_init(&f, "esp32c3", 0);
	struct recorder rec = {.answer = true};
	struct engine_result res;
	err_t e = {0};
	if (run(&v, &f, &rec, true, false, &res, &e))
		fail_msg("%s", e.msg);
	assert_int_equal(rec.confirms, 0); /* --yes */
	/* DS HMAC key (7), FE key (4, not in KEY5), FE enabled. */
	bool ds = false, fe = false;
	for (int b = 0; b < 6; b++) {
		ds |= f.chip.key[b].purpose == PLAN_PURPOSE_HMAC_DOWN_DS;
		fe |= f.chip.key[b].purpose == PLAN_PURPOSE_XTS_AES_128_KEY;
	}
	assert_true(ds && fe);
	assert_int_equal(f.chip.crypt_cnt, 1);
	/* The DAC key is in esp_secure_cert, which is flash-encrypted: its scalar never in clear. */
	uint8_t scalar[32];
	read_dac_scalar(res.folder, scalar);
	assert_false(flash_contains(&f, scalar, 32));
	assert_true(f.flash[0xd000] != 0x11 || f.flash[0xd001] != 0xBA);
	/* nvs_keys is encrypted too: the NVS key file's bytes are not in flash. */
	char *nk = testutil_join_path(res.folder, "keys/nvs_key.bin");
	buf_t key = BUF_INIT;
	testutil_read_file(nk, &key);
	assert_int_equal(key.len, 64);
	assert_false(flash_contains(&f, key.data, 32));
	buf_wipe_data(&key);
	free(nk);
	check_manifest(&v, "T-0010", ",ok,");
	buf_free_data(&rec.kinds);
	memdev_free(&f);
	env_free(&v);
}

/* ESP32 in production: legacy AES flash encryption, secure boot v2 digest, firmware images
 * written encrypted, release-mode burn and lockdown last. */
static void test_esp32_production(void **state)
{
	(void)state;
	struct env v;
	env_make(&v, "esp32", "mode = production\nnvs_encryption = yes\nsecure_boot_digest = sb.bin\n"
		 "[firmware]\nflasher_args = fw/flasher_args.json", true);
	uint8_t digest[32], app[0x1800];
	rng_fill_bytes(digest, sizeof digest);
	for (size_t i = 0; i < sizeof app; i++)
		app[i] = (uint8_t)(i * 13 + 5);
	char *p = testutil_join_path(v.dir, "sb.bin");
	testutil_write_file(p, digest, sizeof digest);
	free(p);
	char *fw = testutil_join_path(v.dir, "fw");
	err_t e = {0};
	assert_int_equal(fileio_make_dirs(fw, 0755, &e), 0);
	p = testutil_join_path(fw, "app.bin");
	testutil_write_file(p, app, sizeof app);
	free(p);
	p = testutil_join_path(fw, "boot.bin");
	testutil_write_file(p, app, 0x1000);
	free(p);
	const char *fa = "{\"flash_files\": {\"0x1000\": \"boot.bin\", \"0x20000\": \"app.bin\"}}";
	p = testutil_join_path(fw, "flasher_args.json");
	testutil_write_file(p, fa, strlen(fa));
	free(p);
	free(fw);
	struct memdev f;
	memdev_init(&f, "esp32", 3);
	struct recorder rec = {.answer = true};
	struct engine_result res;
	if (run(&v, &f, &rec, true, false, &res, &e))
		fail_msg("%s", e.msg);
	/* FE key into BLOCK1 (index 0), read-protected; digest into BLOCK2, readable. */
	assert_false(f.chip.key[0].empty);
	assert_true(f.chip.key[0].rd_dis);
	assert_memory_equal(f.key_bytes[1], digest, 32);
	assert_false(f.chip.key[1].rd_dis);
	assert_int_equal(f.chip.crypt_cnt, 7); /* release mode */
	assert_true(f.chip.secure_boot);
	assert_true(f.chip.secure_download); /* lockdown ran last */
	/* The firmware went on flash encrypted: its plaintext is nowhere. */
	assert_false(flash_contains(&f, app, 64));
	assert_false(flash_contains(&f, app + 0x1000, 64));
	uint8_t scalar[32];
	read_dac_scalar(res.folder, scalar);
	assert_false(flash_contains(&f, scalar, 32));
	buf_free_data(&rec.kinds);
	memdev_free(&f);
	env_free(&v);
}

static void test_resume_after_fault(void **state)
{
	(void)state;
	struct env v;
	env_make(&v, "esp32h2", "mode = development", false);
	struct memdev f;
	memdev_init(&f, "esp32h2", 1);
	f.fail_write_at = 2; /* the cable goes after the ECDSA burn, during the second write */
	struct recorder rec = {.answer = true};
	struct engine_result res1, res2;
	err_t e = {0};
	assert_int_equal(run(&v, &f, &rec, true, false, &res1, &e), ERR_DEVICE);
	assert_non_null(strstr(e.msg, "link lost"));
	assert_int_equal(f.burns, 1);
	check_manifest(&v, "T-0010", ",failed,");
	/* Same board again: same identity, the burned key is not burned again. */
	f.fail_write_at = 0;
	f.writes = 0;
	memset(&e, 0, sizeof e);
	if (run(&v, &f, &rec, true, false, &res2, &e))
		fail_msg("%s", e.msg);
	assert_true(res2.resumed);
	assert_int_equal(f.burns, 1);
	assert_string_equal(res1.serial, res2.serial);
	assert_string_equal(res2.folder, res1.folder[0] ? res1.folder : res2.folder);
	check_manifest(&v, "T-0010", ",ok,");
	/* A different board gets the next sequence number. */
	struct memdev g;
	memdev_init(&g, "esp32h2", 1);
	g.chip.mac[5] = 2;
	struct engine_result res3;
	if (run(&v, &g, &rec, true, false, &res3, &e))
		fail_msg("%s", e.msg);
	assert_string_equal(res3.serial, "T-0011");
	assert_false(res3.resumed);
	/* The first board's identity files are lost: it is refused, never given another identity. */
	char *json = testutil_join_path(res2.folder, "identity.json");
	assert_int_equal(unlink(json), 0);
	free(json);
	int burns = f.burns;
	assert_int_equal(run(&v, &f, &rec, true, false, &res2, &e), ERR_CHECK);
	assert_non_null(strstr(e.msg, "refusing to give it another one"));
	assert_int_equal(f.burns, burns);
	buf_free_data(&rec.kinds);
	memdev_free(&f);
	memdev_free(&g);
	env_free(&v);
}

static void test_refusals_burn_nothing(void **state)
{
	(void)state;
	struct env v;
	env_make(&v, "esp32h2", "mode = development", false);
	struct recorder rec = {.answer = true};
	struct engine_result res;
	err_t e = {0};
	/* A chip whose ECDSA purpose is already used by someone else. */
	struct memdev f;
	memdev_init(&f, "esp32h2", 1);
	f.chip.key[0].empty = false;
	f.chip.key[0].purpose = PLAN_PURPOSE_ECDSA_KEY;
	assert_int_equal(run(&v, &f, &rec, true, false, &res, &e), ERR_CHECK);
	assert_non_null(strstr(e.msg, "provisioned before"));
	assert_int_equal(f.burns + f.writes, 0);
	check_manifest(&v, "60:55:f9:00:00:01", ",refused,");
	/* Wrong chip for the profile. */
	struct memdev g;
	memdev_init(&g, "esp32c6", 0);
	assert_int_equal(run(&v, &g, &rec, true, false, &res, &e), ERR_CHECK);
	assert_non_null(strstr(e.msg, "wrong chip"));
	assert_int_equal(g.burns + g.writes, 0);
	/* Declined confirmation. */
	struct memdev h;
	memdev_init(&h, "esp32h2", 1);
	h.chip.mac[5] = 9;
	rec.answer = false;
	int rc = run(&v, &h, &rec, false, false, &res, &e);
	assert_int_equal(rc, ERR_CHECK);
	assert_non_null(strstr(e.msg, "not confirmed"));
	assert_int_equal(h.burns + h.writes, 0);
	buf_free_data(&rec.kinds);
	memdev_free(&f);
	memdev_free(&g);
	memdev_free(&h);
	env_free(&v);
}

/* Firmware the chip cannot take (a flash frequency the ESP32-H2 does not have) is refused before
 * the confirmation, with nothing burned, not at its write step after the burns. */
static void test_bad_firmware_refused_before_burn(void **state)
{
	(void)state;
	struct env v;
	env_make(&v, "esp32h2", "mode = development", false);
	uint8_t boot[0x100];
	memset(boot, 0x11, sizeof boot);
	boot[0] = 0xE9;
	boot[23] = 0;
	char *p = testutil_join_path(v.dir, "bootloader.bin");
	testutil_write_file(p, boot, sizeof boot);
	free(p);
	const char *fa = "{\"flash_settings\": {\"flash_mode\": \"dio\", \"flash_size\": \"4MB\", "
			 "\"flash_freq\": \"80m\"}, \"flash_files\": {\"0x0\": \"bootloader.bin\"}}";
	p = testutil_join_path(v.dir, "fa.json");
	testutil_write_file(p, fa, strlen(fa));
	free(p);
	buf_t prof = BUF_INIT;
	testutil_read_file(v.profile, &prof);
	buf_append_str(&prof, "[firmware]\nflasher_args = fa.json\n");
	testutil_write_file(v.profile, prof.data, prof.len);
	buf_free_data(&prof);
	struct memdev f;
	memdev_init(&f, "esp32h2", 1);
	struct recorder rec = {.answer = true};
	struct engine_result res;
	err_t e = {0};
	assert_int_equal(run(&v, &f, &rec, true, false, &res, &e), ERR_CHECK);
	assert_non_null(strstr(e.msg, "not a frequency of esp32h2"));
	assert_non_null(strstr(e.msg, "before anything was burned"));
	assert_int_equal(f.burns + f.writes, 0);
	assert_int_equal(rec.confirms, 0);
	check_manifest(&v, "60:55:f9:00:00:01", ",refused,");
	buf_free_data(&rec.kinds);
	memdev_free(&f);
	env_free(&v);
}

/* A link that cannot burn BLOCK0 fields: a plan that enables flash encryption is refused before
 * any key is burned. */
static void test_device_without_block0_burns(void **state)
{
	(void)state;
	struct env v;
	env_make(&v, "esp32c3", "mode = development\npath = ds", true);
	struct memdev f;
	memdev_init(&f, "esp32c3", 0);
	struct flow_device_ops ops = *f.base.ops;
	ops.burn_fe_enable = NULL;
	f.base.ops = &ops;
	struct recorder rec = {.answer = true};
	struct engine_result res;
	err_t e = {0};
	assert_int_equal(run(&v, &f, &rec, true, false, &res, &e), ERR_CHECK);
	assert_non_null(strstr(e.msg, "burn-fe-enable"));
	assert_int_equal(f.burns + f.writes, 0);
	check_manifest(&v, "60:55:f9:00:00:01", ",refused,");
	buf_free_data(&rec.kinds);
	memdev_free(&f);
	env_free(&v);
}

static void test_dry_run_touches_nothing(void **state)
{
	(void)state;
	struct env v;
	env_make(&v, "esp32h2", "mode = development", false);
	struct memdev f;
	memdev_init(&f, "esp32h2", 1);
	struct recorder rec = {.answer = true};
	struct engine_result res;
	err_t e = {0};
	if (run(&v, &f, &rec, false, true, &res, &e))
		fail_msg("%s", e.msg);
	assert_int_equal(f.burns + f.writes, 0);
	assert_int_equal(rec.confirms, 0);
	assert_true(strncmp(res.qr, "MT:", 3) == 0);
	assert_int_equal(access(v.out, F_OK), -1); /* no journal, no device folder */
	const char *kinds = buf_terminate_str(&rec.kinds);
	assert_non_null(strstr(kinds, "chip "));
	assert_non_null(strstr(kinds, "plan "));
	assert_non_null(strstr(kinds, "payload "));
	assert_null(strstr(kinds, "need_confirm"));
	buf_free_data(&rec.kinds);
	memdev_free(&f);
	env_free(&v);
}

/* ---- the worker thread behind the event queues ---- */

static struct memdev *worker_fake;

static int worker_open_fake(const char *port, struct flow_device **out, err_t *e)
{
	if (strcmp(port, "fake"))
		return err_set_msg(e, ERR_DEVICE, "%s: no such port", port);
	*out = &worker_fake->base;
	return 0;
}

/* Pops events until one of type t arrives (failing on ERROR unless t is ERROR). */
static struct evq_msg *wait_for(evq_t *ev, enum evq_type t)
{
	for (;;) {
		struct evq_msg *m = evq_pop(ev, 10000);
		if (!m)
			fail_msg("no %s event within 10 s", evq_name_type(t));
		if (m->type == t)
			return m;
		if (m->type == EVQ_EV_ERROR && t != EVQ_EV_DONE)
			fail_msg("error event: %s", m->text);
		evq_msg_free(m);
	}
}

static void test_worker_commands(void **state)
{
	(void)state;
	struct env v;
	env_make(&v, "esp32h2", "mode = development", false);
	struct memdev f;
	memdev_init(&f, "esp32h2", 1);
	worker_fake = &f;
	err_t e = {0};
	evq_t *cmd = evq_create(16, 1000, &e), *ev = evq_create(256, 5000, &e);
	assert_non_null(cmd);
	assert_non_null(ev);
	struct flow_worker_options o = {.open_device = worker_open_fake};
	struct flow_worker *w;
	assert_int_equal(flow_worker_start(cmd, ev, &o, &w, &e), 0);

	/* A port that does not answer: an ERROR event. */
	assert_int_equal(evq_push(cmd, evq_make_text(EVQ_CMD_DETECT, "nowhere"), &e), 0);
	struct evq_msg *m = wait_for(ev, EVQ_EV_ERROR);
	assert_non_null(strstr(m->text, "no such port"));
	evq_msg_free(m);

	assert_int_equal(evq_push(cmd, evq_make_text(EVQ_CMD_DETECT, "fake"), &e), 0);
	m = wait_for(ev, EVQ_EV_CHIP);
	assert_string_equal(json_string_value(json_object_get(m->data, "chip")), "esp32h2");
	evq_msg_free(m);

	assert_int_equal(evq_push(cmd, evq_make_text(EVQ_CMD_PLAN, v.profile), &e), 0);
	m = wait_for(ev, EVQ_EV_PLAN);
	assert_string_equal(json_string_value(json_object_get(m->data, "path")), "ecdsa-efuse");
	evq_msg_free(m);
	m = wait_for(ev, EVQ_EV_DONE);
	assert_int_equal(m->code, 0);
	assert_string_equal(json_string_value(json_object_get(m->data, "result")), "planned");
	evq_msg_free(m);
	assert_int_equal(f.burns + f.writes, 0);

	/* RUN, then ABORT at the confirmation: nothing burned. */
	assert_int_equal(evq_push(cmd, evq_msg_new(EVQ_CMD_RUN), &e), 0);
	m = wait_for(ev, EVQ_EV_NEED_CONFIRM);
	assert_string_equal(m->step, "confirm");
	evq_msg_free(m);
	assert_int_equal(evq_push(cmd, evq_msg_new(EVQ_CMD_ABORT), &e), 0);
	m = wait_for(ev, EVQ_EV_DONE);
	assert_int_equal(m->code, ERR_CHECK);
	evq_msg_free(m);
	assert_int_equal(f.burns + f.writes, 0);
	/* RUN again (same board, same identity) and CONFIRM: provisioned. */
	assert_int_equal(evq_push(cmd, evq_make_text(EVQ_CMD_DETECT, "fake"), &e), 0);
	evq_msg_free(wait_for(ev, EVQ_EV_CHIP));
	assert_int_equal(evq_push(cmd, evq_msg_new(EVQ_CMD_RUN), &e), 0);
	evq_msg_free(wait_for(ev, EVQ_EV_NEED_CONFIRM));
	assert_int_equal(evq_push(cmd, evq_make_confirm("confirm"), &e), 0);
	m = wait_for(ev, EVQ_EV_PAYLOAD);
	assert_true(strncmp(m->qr, "MT:", 3) == 0);
	evq_msg_free(m);
	m = wait_for(ev, EVQ_EV_DONE);
	assert_int_equal(m->code, 0);
	assert_true(json_is_true(json_object_get(m->data, "resumed")));
	evq_msg_free(m);
	assert_int_equal(f.burns, 1);
	/* READBACK decodes what is on the chip now. */
	assert_int_equal(evq_push(cmd, evq_make_text(EVQ_CMD_DETECT, "fake"), &e), 0);
	evq_msg_free(wait_for(ev, EVQ_EV_CHIP));
	assert_int_equal(evq_push(cmd, evq_make_text(EVQ_CMD_READBACK, "esp_secure_cert"), &e), 0);
	m = wait_for(ev, EVQ_EV_PARTITION);
	assert_string_equal(m->text, "esp_secure_cert");
	assert_string_equal(json_string_value(json_object_get(m->data, "layout")), "tlv");
	evq_msg_free(m);
	flow_worker_stop(w);
	evq_destroy(cmd);
	evq_destroy(ev);
	memdev_free(&f);
	env_free(&v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_h2_ecdsa_full_run),
		cmocka_unit_test(test_c3_ds_with_flash_encryption),
		cmocka_unit_test(test_esp32_production),
		cmocka_unit_test(test_resume_after_fault),
		cmocka_unit_test(test_refusals_burn_nothing),
		cmocka_unit_test(test_bad_firmware_refused_before_burn),
		cmocka_unit_test(test_device_without_block0_burns),
		cmocka_unit_test(test_dry_run_touches_nothing),
		cmocka_unit_test(test_worker_commands),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
