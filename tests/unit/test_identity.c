/* Unit tests of src/flow/identity: what is drawn per path and policy, the device folder layout,
 * persistence (modes, commit mark written last, round trip) and refusal of damaged records. */
#include "testutil.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/fileio.h"
#include "flow/identity.h"

static const uint8_t mac1[6] = {0x60, 0x55, 0xf9, 0x01, 0x02, 0x03};

static void make_profile(struct profile *p, const char *outdir)
{
	memset(p, 0, sizeof *p);
	p->vendor_id = 0xFFF1;
	p->product_id = 0x8000;
	p->serial_pattern = "SN-{seq:05}-{MAC}";
	p->iteration_count = 10000;
	p->rotating_id = true;
	p->output_dir = (char *)outdir;
	p->secure_cert_label = "esp_secure_cert";
	p->factory_label = "fctry";
	p->nvs_keys_label = "nvs_keys";
}

static void make_plan(struct plan *pl, enum profile_path path, enum plan_fe_scheme fe, bool nvs)
{
	memset(pl, 0, sizeof *pl);
	pl->path = path;
	pl->fe_scheme = fe;
	pl->flash_encryption = fe != PLAN_FE_NONE;
	pl->nvs_encryption = nvs;
	if (path == PROFILE_PATH_ECDSA_EFUSE) {
		pl->n_steps = 1;
		snprintf(pl->steps[0].id, sizeof pl->steps[0].id, "burn-ecdsa-key");
		pl->steps[0].block = 2;
	}
}

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

static void test_draw_per_path(void **state)
{
	(void)state;
	struct profile p;
	make_profile(&p, "/tmp/out");
	static const struct {
		enum profile_path path;
		enum plan_fe_scheme fe;
		bool nvs;
		size_t fe_len;
		bool ds;
		int ecdsa_block;
	} rows[] = {
		{PROFILE_PATH_ECDSA_EFUSE, PLAN_FE_NONE, false, 0, false, 2},
		{PROFILE_PATH_DS, PLAN_FE_XTS_128, true, 32, true, -1},
		{PROFILE_PATH_FLASH_ENC, PLAN_FE_ESP32_AES, true, 32, false, -1},
		{PROFILE_PATH_FLASH_ENC, PLAN_FE_XTS_128_DERIVED, false, 16, false, -1},
	};
	for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
		struct plan pl;
		make_plan(&pl, rows[i].path, rows[i].fe, rows[i].nvs);
		struct identity id;
		err_t e = {0};
		if (identity_draw(&id, &p, &pl, "esp32c3", mac1, 42, &e))
			fail_msg("%s", e.msg);
		assert_string_equal(id.serial, "SN-00042-6055F9010203");
		assert_int_equal(id.fe_key_len, rows[i].fe_len);
		if (id.fe_key_len)
			assert_false(all_zero(id.fe_key, id.fe_key_len));
		assert_true(all_zero(id.fe_key + id.fe_key_len, sizeof id.fe_key - id.fe_key_len));
		assert_int_equal(id.has_ds_hmac_key, rows[i].ds);
		assert_int_equal(all_zero(id.ds_hmac_key, 32), !rows[i].ds);
		assert_int_equal(id.has_nvs_key, rows[i].nvs);
		assert_int_equal(all_zero(id.nvs_key, 64), !rows[i].nvs);
		assert_int_equal(id.ecdsa_block, rows[i].ecdsa_block);
		assert_int_equal(id.salt_len, 32);
		assert_false(all_zero(id.salt, id.salt_len));
		assert_true(id.has_rd_id_uid);
		assert_int_equal(id.iterations, 10000);
		assert_true(id.passcode >= 1 && id.passcode <= 99999998);
		assert_false(profile_passcode_forbidden(id.passcode));
		assert_true(id.discriminator <= 0xFFF);
		/* UUID v4, and the folder <out>/<vid>_<pid>/<uuid>. */
		assert_int_equal(strlen(id.uuid), 36);
		assert_int_equal(id.uuid[14], '4');
		assert_non_null(strchr("89ab", id.uuid[19]));
		char want[600];
		snprintf(want, sizeof want, "/tmp/out/fff1_8000/%s", id.uuid);
		assert_string_equal(id.folder, want);
		assert_int_equal(strlen(id.mfg_date), 10);
		identity_free(&id);
		/* identity_free wipes the secrets. */
		assert_true(all_zero(id.fe_key, sizeof id.fe_key));
		assert_int_equal(id.passcode, 0);
	}
}

static void test_fixed_codes_and_distribution(void **state)
{
	(void)state;
	struct profile p;
	make_profile(&p, "/tmp/out");
	p.passcode_fixed = true;
	p.passcode = 20202021;
	p.discriminator_fixed = true;
	p.discriminator = 3840;
	p.rotating_id = false;
	p.mfg_date = "2025-01-15";
	struct plan pl;
	make_plan(&pl, PROFILE_PATH_ECDSA_EFUSE, PLAN_FE_NONE, false);
	struct identity a, b;
	err_t e = {0};
	assert_int_equal(identity_draw(&a, &p, &pl, "esp32h2", mac1, 1, &e), 0);
	assert_int_equal(identity_draw(&b, &p, &pl, "esp32h2", mac1, 2, &e), 0);
	assert_int_equal(a.passcode, 20202021);
	assert_int_equal(a.discriminator, 3840);
	assert_false(a.has_rd_id_uid);
	assert_string_equal(a.mfg_date, "2025-01-15");
	/* Salts and UUIDs still differ per device. */
	assert_memory_not_equal(a.salt, b.salt, 32);
	assert_string_not_equal(a.uuid, b.uuid);
	identity_free(&a);
	identity_free(&b);
	/* Random draws: always valid, and spread over the range. */
	uint32_t lo = UINT32_MAX, hi = 0;
	unsigned disc_hi = 0;
	for (int i = 0; i < 20000; i++) {
		uint32_t pc = identity_draw_passcode();
		assert_true(pc >= 1 && pc <= 99999998);
		assert_false(profile_passcode_forbidden(pc));
		lo = pc < lo ? pc : lo;
		hi = pc > hi ? pc : hi;
		uint16_t d = identity_draw_discriminator();
		assert_true(d <= 0xFFF);
		disc_hi += d >= 0x800;
	}
	assert_true(lo < 1000000 && hi > 99000000);
	assert_true(disc_hi > 9000 && disc_hi < 11000);
}

static void fill_identity(struct identity *id, const char *outdir)
{
	struct profile p;
	make_profile(&p, outdir);
	struct plan pl;
	make_plan(&pl, PROFILE_PATH_DS, PLAN_FE_XTS_128, true);
	err_t e = {0};
	if (identity_draw(id, &p, &pl, "esp32c3", mac1, 7, &e))
		fail_msg("%s", e.msg);
	buf_append_str(&id->dac_cert, "DAC-CERT-DER");
	buf_append_str(&id->pai_cert, "PAI-CERT-DER");
	buf_append_str(&id->dac_key, "DAC-KEY-SECRET");
	buf_append_str(&id->ds_rsa_key, "RSA-KEY-SECRET");
	memset(id->verifier, 0x5a, sizeof id->verifier);
	id->has_verifier = true;
	snprintf(id->qr, sizeof id->qr, "MT:Y.K9042C00KA0648G00");
	snprintf(id->manual, sizeof id->manual, "34970112332");
}

static unsigned file_mode(const char *path)
{
	struct stat st;
	if (stat(path, &st) != 0)
		fail_msg("%s missing", path);
	return st.st_mode & 0777;
}

static void test_save_load_round_trip(void **state)
{
	(void)state;
	char *out = testutil_make_tmpdir();
	struct identity id, back;
	fill_identity(&id, out);
	struct journal_file files[IDENTITY_MAX_FILES];
	int n = 0;
	err_t e = {0};
	assert_false(identity_exists(id.folder));
	if (identity_save(&id, files, &n, &e))
		fail_msg("%s", e.msg);
	assert_true(identity_exists(id.folder));
	/* dac_cert pai_cert dac_key fe_key ds_hmac_key ds_rsa_key nvs_key identity */
	assert_int_equal(n, 8);
	assert_string_equal(files[n - 1].role, "identity");
	for (int i = 0; i < n; i++) {
		bool pub = !strcmp(files[i].role, "dac_cert") || !strcmp(files[i].role, "pai_cert");
		assert_int_equal(file_mode(files[i].path), pub ? 0644 : 0600);
		assert_true(strncmp(files[i].path, id.folder, strlen(id.folder)) == 0);
	}
	char *internal = testutil_join_path(id.folder, "internal");
	assert_int_equal(file_mode(internal), 0700);
	free(internal);
	/* The public record never holds a key. */
	char *json = testutil_join_path(id.folder, "identity.json");
	buf_t text = BUF_INIT;
	testutil_read_file(json, &text);
	assert_null(memmem(text.data, text.len, "SECRET", 6));
	assert_null(memmem(text.data, text.len, id.fe_key, 8));

	if (identity_load(id.folder, &back, &e))
		fail_msg("%s", e.msg);
	assert_string_equal(back.serial, id.serial);
	assert_string_equal(back.uuid, id.uuid);
	assert_string_equal(back.chip, "esp32c3");
	assert_memory_equal(back.mac, mac1, 6);
	assert_int_equal(back.seq, 7);
	assert_int_equal(back.path, PROFILE_PATH_DS);
	assert_int_equal(back.passcode, id.passcode);
	assert_int_equal(back.discriminator, id.discriminator);
	assert_int_equal(back.iterations, id.iterations);
	assert_int_equal(back.salt_len, id.salt_len);
	assert_memory_equal(back.salt, id.salt, id.salt_len);
	assert_true(back.has_verifier);
	assert_memory_equal(back.verifier, id.verifier, sizeof id.verifier);
	assert_true(back.has_rd_id_uid);
	assert_memory_equal(back.rd_id_uid, id.rd_id_uid, 16);
	assert_int_equal(back.fe_key_len, 32);
	assert_memory_equal(back.fe_key, id.fe_key, 32);
	assert_true(back.has_ds_hmac_key);
	assert_memory_equal(back.ds_hmac_key, id.ds_hmac_key, 32);
	assert_true(back.has_nvs_key);
	assert_memory_equal(back.nvs_key, id.nvs_key, 64);
	testutil_assert_bytes_equal("dac", back.dac_cert.data, back.dac_cert.len, id.dac_cert.data, id.dac_cert.len);
	testutil_assert_bytes_equal("pai", back.pai_cert.data, back.pai_cert.len, id.pai_cert.data, id.pai_cert.len);
	testutil_assert_bytes_equal("key", back.dac_key.data, back.dac_key.len, id.dac_key.data, id.dac_key.len);
	testutil_assert_bytes_equal("rsa", back.ds_rsa_key.data, back.ds_rsa_key.len, id.ds_rsa_key.data,
				    id.ds_rsa_key.len);
	assert_string_equal(back.qr, id.qr);
	assert_string_equal(back.manual, id.manual);
	assert_string_equal(back.folder, id.folder);
	identity_free(&back);

	/* Damage: a key file of the wrong size, then a broken identity.json. */
	char *hmac = testutil_join_path(id.folder, "keys/ds_hmac_key.bin");
	testutil_write_file(hmac, "short", 5);
	assert_int_equal(identity_load(id.folder, &back, &e), -1);
	assert_non_null(strstr(e.msg, "ds_hmac_key.bin"));
	testutil_write_file(json, "{\"format\": 1, \"chip\": \"esp32c3\"}", 32);
	assert_int_equal(identity_load(id.folder, &back, &e), -1);
	assert_non_null(strstr(e.msg, "'mac' missing"));
	testutil_write_file(json, "{", 1);
	assert_int_equal(identity_load(id.folder, &back, &e), -1);
	assert_non_null(strstr(e.msg, "identity.json"));
	unlink(json);
	assert_false(identity_exists(id.folder));
	assert_int_equal(identity_load(id.folder, &back, &e), -1);
	assert_non_null(strstr(e.msg, "identity not saved"));
	free(hmac);
	buf_free_data(&text);
	free(json);
	identity_free(&id);
	testutil_remove_tree(out);
	free(out);
}

/* A key file that cannot be written: identity.json (the commit mark) must not appear. */
static void test_failed_save_leaves_no_commit_mark(void **state)
{
	(void)state;
	char *out = testutil_make_tmpdir();
	struct identity id;
	fill_identity(&id, out);
	char *blocker = testutil_join_path(id.folder, "keys/nvs_key.bin");
	char *keys = testutil_join_path(id.folder, "keys");
	err_t e = {0};
	assert_int_equal(fileio_make_dirs(blocker, 0700, &e), 0); /* a folder where the file goes */
	struct journal_file files[IDENTITY_MAX_FILES];
	int n = 0;
	assert_int_equal(identity_save(&id, files, &n, &e), -1);
	assert_non_null(strstr(e.msg, "nvs_key.bin"));
	assert_false(identity_exists(id.folder));
	free(blocker);
	free(keys);
	identity_free(&id);
	testutil_remove_tree(out);
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_draw_per_path),
		cmocka_unit_test(test_fixed_codes_and_distribution),
		cmocka_unit_test(test_save_load_round_trip),
		cmocka_unit_test(test_failed_save_leaves_no_commit_mark),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
