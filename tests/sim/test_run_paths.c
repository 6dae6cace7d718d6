/* `espfab run --profile P --port socket://… --json --yes` against espfab-sim, for every chip on the
 * security paths it supports: S2/S3/C6 on the ds path with flash encryption, C3 on the ds path
 * with its firmware written host-encrypted, ESP32/C2 on the flash-encryption path, production
 * mode on each path (H2 ecdsa-efuse without and with flash encryption, S2/S3/C3/C6 ds, ESP32
 * flash encryption + secure boot) with every BLOCK0 field the plan burns read back from the
 * simulated eFuses, each production run ending locked (JTAG off, Secure Download Mode on; ESP32:
 * UART download mode off) and a second run on a locked chip refused untouched, the confirmation a run without --yes and without a terminal must not get, a
 * dac_dir of DACs made with `espfab attest` (and bad ones refused), an extra NVS CSV, refusals
 * that leave chip and flash untouched, and the demo's profile per chip against the shipped
 * examples. After each run the device is checked from outside the engine: the flash image is
 * decrypted with the device's saved keys and decoded (TLV, DS parameters, NVS) and compared with
 * the saved identity, the eFuse file is decoded with the loader's field tables, the manifest has
 * the row, and neither flash, journal, manifest nor the run's output holds a private key in any
 * encoding. */
#include "testutil.h"
#include "runjson.h"
#include "secretscan.h"
#include "simefuse.h"
#include "simrun.h"
#include "testpki.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mbedtls/aes.h>
#include <mbedtls/pk.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/rsa.h>
#include <mbedtls/x509_crt.h>

#include "core/checksum.h"
#include "core/fileio.h"
#include "core/hex.h"
#include "crypto/ds.h"
#include "crypto/flashenc.h"
#include "crypto/nvs_crypt.h"
#include "crypto/spake2p.h"
#include "formats/nvs_read.h"
#include "formats/parttable.h"
#include "formats/payload.h"
#include "formats/seccert.h"
#include "flow/profile.h"
#include "loader/chip.h"
#include "loader/efuse.h"
#include "loader/loader.h"

/* ---- the run ---- */

static void sim_start(struct simrun *s, const char *dir, const char *chip)
{
	const char *extra[] = {"--no-throttle", NULL};
	simrun_start(s, dir, chip, extra);
}

static char *table_path(const char *name)
{
	char rel[128];
	snprintf(rel, sizeof rel, "assets/partitions/%s", name);
	return testutil_join_path(testutil_source_dir(), rel);
}

/* A profile in dir; security and more are whole INI lines. */
static char *make_profile(const char *dir, const char *name, const char *chips, const char *table,
			  const char *attestation, const char *security, const char *more)
{
	char text[4096];
	char *tpath = table_path(table);
	snprintf(text, sizeof text,
		 "[product]\nvendor_id = 0xFFF1\nproduct_id = 0x8000\nvendor_name = Sim Vendor\n"
		 "product_name = Sim Device\nchips = %s\n"
		 "[attestation]\n%s\ncd = cd.der\n"
		 "[partitions]\ntable = %s\n[security]\n%s\n[device]\nserial = SIM-{seq:03}-{mac}\n%s\n",
		 chips, attestation ? attestation : "pai_cert = pai_cert.pem\npai_key = pai_key.pem", tpath,
		 security, more ? more : "");
	free(tpath);
	char *p = testutil_join_path(dir, name);
	testutil_write_file(p, text, strlen(text));
	return p;
}

static bool has_state(const struct run_out *r, const char *step, const char *state)
{
	char want[128];
	snprintf(want, sizeof want, "\"step\":\"%s\",\"state\":\"%s\"", step, state);
	return strstr((const char *)r->out.data, want) != NULL;
}

static void assert_run_ok(const struct run_out *r, const char *what)
{
	if (r->rc != 0 || !r->done)
		fail_msg("%s: exit %d: %s", what, r->rc, (char *)buf_terminate_str((buf_t *)&r->err));
	assert_string_equal(runjson_summary(r, "result"), "ok");
	assert_non_null(r->folder);
	assert_true(has_state(r, "verify-flash", "done"));
}

/* The plan's step with this id (NULL when absent). */
static json_t *plan_step(const struct run_out *r, const char *id)
{
	size_t i;
	json_t *s;
	json_array_foreach(r->plan, i, s)
		if (!strcmp(json_string_value(json_object_get(s, "id")), id))
			return s;
	return NULL;
}

static void read_in(const char *folder, const char *name, buf_t *b)
{
	char *p = testutil_join_path(folder, name);
	b->len = 0;
	testutil_read_file(p, b);
	free(p);
}

static bool file_exists_in(const char *folder, const char *name)
{
	char *p = testutil_join_path(folder, name);
	bool ok = access(p, F_OK) == 0;
	free(p);
	return ok;
}

/* ---- what the device got, decoded from outside the engine ---- */

struct device_check {
	const char *chip;
	const char *path;     /* ecdsa-efuse, ds, flash-encryption */
	const char *table;    /* assets/partitions name */
	bool fe, nvs_enc;
};

static const struct parttable_entry *find_part(const struct parttable *t, const char *name)
{
	for (size_t i = 0; i < t->count; i++)
		if (!strcmp(t->entries[i].name, name))
			return &t->entries[i];
	fail_msg("partition %s missing from the table", name);
	return NULL;
}

/* The bytes of a partition as the firmware sees them: decrypted with the saved FE key. */
static void partition_plain(const struct device_check *dc, const char *folder, const buf_t *flash,
			    const struct parttable_entry *pe, bool encrypted, buf_t *out)
{
	out->len = 0;
	assert_true((size_t)pe->offset + pe->size <= flash->len);
	if (!encrypted) {
		buf_append_bytes(out, flash->data + pe->offset, pe->size);
		return;
	}
	buf_t key = BUF_INIT;
	read_in(folder, "keys/fe_key.bin", &key);
	struct flashenc_params fp = {
		.scheme = !strcmp(dc->chip, "esp32") ? FLASHENC_ESP32_LEGACY : FLASHENC_AES_XTS,
		.key = key.data,
		.key_len = key.len,
		.address = pe->offset,
		.flash_crypt_conf = 0xF,
	};
	err_t e = {0};
	if (flashenc_decrypt_data(&fp, flash->data + pe->offset, pe->size, out, &e))
		fail_msg("decrypt %s: %s", pe->name, e.msg);
	buf_wipe_data(&key);
	/* What is on flash is not the plaintext. */
	assert_true(memcmp(out->data, flash->data + pe->offset, 64) != 0);
}

static void expect_entry(const struct seccert_image *img, unsigned type, unsigned sub, const buf_t *want,
			 const char *what)
{
	const struct seccert_entry *en = seccert_find_entry(img, type, sub);
	if (!en)
		fail_msg("esp_secure_cert: %s missing", what);
	testutil_assert_bytes_equal(what, en->value.data, en->value.len, want->data, want->len);
}

/* DS_DATA decrypted with the AES key the HMAC peripheral derives from the saved HMAC key must
 * start with the saved RSA key's d and n, little-endian, padded to the chip's largest key. */
static void check_ds_params(const struct device_check *dc, const char *folder, const struct seccert_image *img,
			    int hmac_block)
{
	const struct seccert_entry *data = seccert_find_entry(img, SECCERT_TYPE_DS_DATA, 1);
	const struct seccert_entry *ctx = seccert_find_entry(img, SECCERT_TYPE_DS_CONTEXT, 1);
	assert_non_null(data);
	assert_non_null(ctx);
	assert_int_equal(ctx->value.len, DS_CONTEXT_LEN);
	assert_int_equal(ctx->value.data[4], hmac_block);
	assert_int_equal(ctx->value.data[6] | ctx->value.data[7] << 8, 2048);
	assert_int_equal(checksum_read_u32le(data->value.data), 2048 / 32 - 1);
	unsigned max_bits;
	err_t e = {0};
	assert_int_equal(ds_lookup_max_bits(dc->chip, &max_bits, &e), 0);
	size_t w = max_bits / 8, c_len = data->value.len - 20;
	assert_true(c_len >= 2 * w && c_len % 16 == 0);
	buf_t hmac = BUF_INIT, rsa_der = BUF_INIT;
	read_in(folder, "keys/ds_hmac_key.bin", &hmac);
	read_in(folder, "keys/ds_rsa_key.der", &rsa_der);
	assert_int_equal(hmac.len, DS_HMAC_KEY_LEN);
	uint8_t aes_key[32], iv[16];
	assert_int_equal(ds_derive_aes_key(hmac.data, aes_key), 0);
	memcpy(iv, data->value.data + 4, 16);
	uint8_t *p = malloc(c_len);
	mbedtls_aes_context aes;
	mbedtls_aes_init(&aes);
	assert_int_equal(mbedtls_aes_setkey_dec(&aes, aes_key, 256), 0);
	assert_int_equal(mbedtls_aes_crypt_cbc(&aes, MBEDTLS_AES_DECRYPT, c_len, iv, data->value.data + 20, p), 0);
	mbedtls_aes_free(&aes);
	mbedtls_pk_context pk;
	mbedtls_pk_init(&pk);
	assert_int_equal(mbedtls_pk_parse_key(&pk, rsa_der.data, rsa_der.len, NULL, 0), 0);
	mbedtls_rsa_context *rsa = mbedtls_pk_rsa(pk);
	uint8_t *want = calloc(1, w);
	assert_int_equal(mbedtls_mpi_write_binary_le(&rsa->D, want, w), 0);
	testutil_assert_bytes_equal("DS Y (private exponent)", p, w, want, w);
	assert_int_equal(mbedtls_mpi_write_binary_le(&rsa->N, want, w), 0);
	testutil_assert_bytes_equal("DS M (modulus)", p + w, w, want, w);
	mbedtls_platform_zeroize(p, c_len);
	mbedtls_platform_zeroize(want, w);
	mbedtls_platform_zeroize(aes_key, sizeof aes_key);
	free(p);
	free(want);
	mbedtls_pk_free(&pk);
	buf_wipe_data(&hmac);
	buf_wipe_data(&rsa_der);
}

static const struct nvs_read_value *nvs_value(const struct nvs_read_result *r, const char *ns, const char *key)
{
	const struct nvs_read_value *v = nvs_read_find_value(r, ns, key);
	if (!v)
		fail_msg("factory NVS: %s/%s missing", ns, key);
	return v;
}

static void expect_nvs_string(const struct nvs_read_result *r, const char *ns, const char *key, const char *want)
{
	const struct nvs_read_value *v = nvs_value(r, ns, key);
	assert_int_equal(v->type, NVS_TYPE_SZ);
	assert_string_equal((const char *)v->data.data, want);
}

static uint64_t nvs_number(const struct nvs_read_result *r, const char *ns, const char *key)
{
	return nvs_value(r, ns, key)->num;
}

/* The factory NVS read back, decrypted with the nvs_keys partition read back, against
 * identity.json, the profile's CD and the QR payload the run printed. */
static void check_factory(const struct device_check *dc, const char *dir, const char *folder, const buf_t *flash,
			  const struct parttable *t, const struct run_out *r, struct nvs_read_result *nr)
{
	buf_t plain = BUF_INIT;
	err_t e = {0};
	partition_plain(dc, folder, flash, find_part(t, "fctry"), false, &plain);
	if (dc->nvs_enc) {
		const struct parttable_entry *nk = find_part(t, "nvs_keys");
		buf_t keys = BUF_INIT, saved = BUF_INIT;
		partition_plain(dc, folder, flash, nk, true, &keys);
		uint8_t key[NVS_CRYPT_KEY_LEN];
		int crc_ok = 0;
		assert_int_equal(nvs_crypt_parse_keys_partition(keys.data, keys.len, key, &crc_ok, &e), 0);
		assert_true(crc_ok);
		read_in(folder, "keys/nvs_key.bin", &saved);
		testutil_assert_bytes_equal("nvs_keys partition", key, sizeof key, saved.data, saved.len);
		/* Encrypted NVS: no namespace name in the clear. */
		assert_null(memmem(plain.data, plain.len, "chip-factory", 12));
		assert_int_equal(nvs_crypt_decrypt_partition(plain.data, plain.len, key, &e), 0);
		mbedtls_platform_zeroize(key, sizeof key);
		buf_wipe_data(&keys);
		buf_wipe_data(&saved);
	}
	memset(nr, 0, sizeof *nr);
	if (nvs_read_partition(plain.data, plain.len, nr, &e))
		fail_msg("factory NVS: %s", e.msg);
	assert_int_equal(nr->problem_count, 0);
	buf_wipe_data(&plain);

	buf_t idtext = BUF_INIT;
	read_in(folder, "identity.json", &idtext);
	json_t *id = json_loadb((const char *)idtext.data, idtext.len, 0, NULL);
	buf_wipe_data(&idtext);
	assert_non_null(id);
	uint32_t passcode = (uint32_t)json_integer_value(json_object_get(id, "passcode"));
	uint32_t disc = (uint32_t)json_integer_value(json_object_get(id, "discriminator"));
	uint32_t iter = (uint32_t)json_integer_value(json_object_get(id, "iterations"));
	assert_int_equal(nvs_number(nr, "chip-factory", "discriminator"), disc);
	assert_int_equal(nvs_number(nr, "chip-factory", "iteration-count"), iter);
	assert_int_equal(nvs_number(nr, "chip-factory", "vendor-id"), 0xFFF1);
	assert_int_equal(nvs_number(nr, "chip-factory", "product-id"), 0x8000);
	expect_nvs_string(nr, "chip-factory", "vendor-name", "Sim Vendor");
	expect_nvs_string(nr, "chip-factory", "product-name", "Sim Device");
	expect_nvs_string(nr, "chip-factory", "serial-num", json_string_value(json_object_get(id, "serial")));
	expect_nvs_string(nr, "chip-factory", "mfg-date", json_string_value(json_object_get(id, "mfg_date")));
	const char *salt_b64 = json_string_value(json_object_get(id, "salt"));
	expect_nvs_string(nr, "chip-factory", "salt", salt_b64);
	expect_nvs_string(nr, "chip-factory", "verifier", json_string_value(json_object_get(id, "verifier")));
	const char *uid = json_string_value(json_object_get(id, "rd_id_uid"));
	if (uid) {
		const struct nvs_read_value *v = nvs_value(nr, "chip-factory", "rd-id-uid");
		char hex[2 * 16 + 1];
		assert_int_equal(v->data.len, 16);
		hex_encode_bytes(v->data.data, 16, hex);
		assert_string_equal(hex, uid);
	}
	/* The verifier on the device is the passcode's: recompute it from the saved passcode. */
	buf_t salt = BUF_INIT, ver = BUF_INIT;
	assert_int_equal(hex_decode_base64(salt_b64, &salt, &e), 0);
	uint8_t w0l[97];
	assert_int_equal(spake2p_compute_verifier(passcode, salt.data, salt.len, iter, w0l, &e), 0);
	assert_int_equal(hex_decode_base64((const char *)nvs_value(nr, "chip-factory", "verifier")->data.data, &ver, &e), 0);
	testutil_assert_bytes_equal("SPAKE2+ verifier", ver.data, ver.len, w0l, sizeof w0l);
	buf_free_data(&salt);
	buf_free_data(&ver);
	/* The CD is the profile's. */
	char *cdp = testutil_join_path(dir, "cd.der");
	buf_t cd = BUF_INIT;
	testutil_read_file(cdp, &cd);
	const struct nvs_read_value *cv = nvs_value(nr, "chip-factory", "cert-dclrn");
	testutil_assert_bytes_equal("cert-dclrn", cv->data.data, cv->data.len, cd.data, cd.len);
	buf_free_data(&cd);
	free(cdp);
	/* The QR code the run printed carries this passcode and discriminator. */
	struct payload pl;
	assert_int_equal(payload_parse_qr(json_string_value(json_object_get(r->payload, "qr")), &pl, &e), 0);
	assert_int_equal(pl.passcode, passcode);
	assert_int_equal(pl.discriminator, disc);
	assert_int_equal(pl.vid, 0xFFF1);
	assert_int_equal(pl.pid, 0x8000);
	/* The engine's decoded readback (the partition event) names the same serial. */
	char *view = json_dumps(json_object_get(r->views, "fctry"), 0);
	assert_non_null(view);
	assert_non_null(strstr(view, json_string_value(json_object_get(id, "serial"))));
	free(view);
	json_object_set_new(id, "passcode", json_integer(0));
	json_decref(id);
}

static void check_secure_cert(const struct device_check *dc, const char *folder, const buf_t *flash,
			      const struct parttable *t, const struct run_out *r)
{
	const struct parttable_entry *pe = find_part(t, "esp_secure_cert");
	buf_t plain = BUF_INIT, want = BUF_INIT;
	/* Encrypted whenever the plan has flash encryption and the table flags it (the
	 * ecdsa-efuse path with flash_encryption = yes too); the key in it only off that path. */
	bool enc = json_is_true(json_object_get(plan_step(r, "write-esp_secure_cert"), "encrypted"));
	assert_int_equal(enc, dc->fe && (pe->flags & PARTTABLE_FLAG_ENCRYPTED));
	partition_plain(dc, folder, flash, pe, enc, &plain);
	struct seccert_image img;
	memset(&img, 0, sizeof img);
	err_t e = {0};
	if (seccert_parse_image(plain.data, plain.len, 0, &img, &e))
		fail_msg("esp_secure_cert read back: %s", e.msg);
	read_in(folder, "internal/PAI_cert.der", &want);
	expect_entry(&img, SECCERT_TYPE_CA_CERT, 0, &want, "PAI certificate");
	read_in(folder, "internal/DAC_cert.der", &want);
	expect_entry(&img, SECCERT_TYPE_DEV_CERT, 0, &want, "DAC certificate");
	const struct seccert_entry *key = seccert_find_entry(&img, SECCERT_TYPE_PRIV_KEY, 0);
	assert_non_null(key);
	if (!strcmp(dc->path, "ecdsa-efuse")) {
		/* The key is in eFuse: the entry names the block and carries no bytes. */
		assert_true(key->flags & SECCERT_FLAG_ECDSA_PERIPHERAL);
		assert_int_equal(key->length, 0);
		json_t *s = plan_step(r, "burn-ecdsa-key");
		const struct seccert_entry *cfg = seccert_find_entry(&img, SECCERT_TYPE_SEC_CFG, 0);
		assert_non_null(cfg);
		assert_int_equal(cfg->value.data[0], json_integer_value(json_object_get(s, "block")) + 4);
	} else {
		read_in(folder, "internal/DAC_key.der", &want);
		expect_entry(&img, SECCERT_TYPE_PRIV_KEY, 0, &want, "DAC key");
	}
	if (!strcmp(dc->path, "ds"))
		check_ds_params(dc, folder, &img,
				(int)json_integer_value(json_object_get(plan_step(r, "burn-ds-hmac-key"), "block")));
	/* The engine's decoded view of the same partition was emitted. */
	assert_non_null(json_object_get(r->views, "esp_secure_cert"));
	seccert_image_free(&img);
	buf_wipe_data(&plain);
	buf_wipe_data(&want);
}

/* The loader's purpose for a burn-key step of the plan. */
static int step_key_purpose(const char *chip, int block, int purpose)
{
	if (!strcmp(chip, "esp32"))
		return block == 0 ? KP_ESP32_FLASH_ENCRYPTION : KP_ESP32_SECURE_BOOT_V2;
	if (!strcmp(chip, "esp32c2")) /* the plan's C2 codes (plan.c) */
		return purpose == 1 ? KP_XTS_AES_128_KEY : purpose == 2 ? KP_C2_XTS_AES_128_KEY_DERIVED
									: KP_C2_SECURE_BOOT_DIGEST;
	return purpose;
}

/* Each burn-key step of the plan, read back from the eFuse file: the block holds exactly the
 * saved key (byte order of its purpose), with that purpose, write-protected, read-protected
 * when the plan said so. */
static void check_key_blocks(const struct device_check *dc, const char *folder, const struct run_out *r,
			     const struct efuse_dump *d, const char *sb_digest)
{
	size_t i;
	json_t *s;
	int checked = 0;
	json_array_foreach(r->plan, i, s) {
		if (strcmp(json_string_value(json_object_get(s, "kind")), "burn-key"))
			continue;
		const char *id = json_string_value(json_object_get(s, "id"));
		int block = (int)json_integer_value(json_object_get(s, "block"));
		int purpose = (int)json_integer_value(json_object_get(s, "purpose"));
		bool rd = json_is_true(json_object_get(s, "read_protect"));
		buf_t key = BUF_INIT;
		if (!strcmp(id, "burn-ecdsa-key")) {
			char *p = testutil_join_path(folder, "internal/DAC_key.der");
			mbedtls_pk_context pk;
			mbedtls_pk_init(&pk);
			assert_int_equal(mbedtls_pk_parse_keyfile(&pk, p, NULL), 0);
			uint8_t sc[32];
			assert_int_equal(mbedtls_mpi_write_binary(&mbedtls_pk_ec(pk)->d, sc, 32), 0);
			buf_append_bytes(&key, sc, 32);
			mbedtls_platform_zeroize(sc, 32);
			mbedtls_pk_free(&pk);
			free(p);
		} else if (!strcmp(id, "burn-ds-hmac-key")) {
			read_in(folder, "keys/ds_hmac_key.bin", &key);
		} else if (!strcmp(id, "burn-fe-key")) {
			read_in(folder, "keys/fe_key.bin", &key);
		} else if (!strcmp(id, "burn-sb-digest")) {
			testutil_read_file(sb_digest, &key);
		} else if (!strcmp(id, "burn-fe-key-sb-digest")) {
			read_in(folder, "keys/fe_key.bin", &key);
		} else {
			fail_msg("unexpected burn step %s", id);
		}
		int kp = step_key_purpose(dc->chip, block, purpose);
		uint8_t want[32], got[32];
		size_t wlen;
		err_t e = {0};
		if (efuse_key_block_bytes(d->chip, kp, key.data, key.len, want, &wlen, &e))
			fail_msg("%s: %s", id, e.msg);
		if (!strcmp(id, "burn-fe-key-sb-digest")) {
			/* C2: the upper half is the digest's, laid out as for a digest alone */
			buf_t dg = BUF_INIT;
			uint8_t hi[32];
			size_t hlen;
			testutil_read_file(sb_digest, &dg);
			if (efuse_key_block_bytes(d->chip, KP_C2_SECURE_BOOT_DIGEST, dg.data, dg.len, hi, &hlen, &e))
				fail_msg("%s: %s", id, e.msg);
			memcpy(want + 16, hi + 16, 16);
			buf_free_data(&dg);
		}
		simefuse_key_bytes(d, block, got);
		testutil_assert_bytes_equal(id, got, wlen, want, wlen);
		struct efuse_key_status ks;
		efuse_key_status(d, d->chip->efuse->first_key_block + block, &ks);
		if (strcmp(dc->chip, "esp32"))
			assert_int_equal(ks.purpose, kp);
		assert_true(ks.write_protected);
		if (rd != ks.read_protected)
			fail_msg("%s: key block %d read protection %d, the plan said %d", id, block, ks.read_protected, rd);
		buf_wipe_data(&key);
		mbedtls_platform_zeroize(want, sizeof want);
		checked++;
	}
	assert_true(checked > 0);
}

static void check_manifest(const char *dir, const struct run_out *r)
{
	char *p = testutil_join_path(dir, "out/manifest.csv");
	buf_t b = BUF_INIT;
	testutil_read_file(p, &b);
	free(p);
	const char *text = buf_terminate_str(&b), *mac = runjson_summary(r, "mac");
	const char *row = strstr(text, mac);
	if (!row)
		fail_msg("manifest.csv has no row for %s:\n%s", mac, text);
	while (row > text && row[-1] != '\n')
		row--;
	char line[512];
	size_t n = strcspn(row, "\n");
	snprintf(line, sizeof line, "%.*s", (int)n, row);
	/* serial,mac,chip,revision,path,qr,result,time */
	char want[256];
	snprintf(want, sizeof want, "%s,%s,%s,", runjson_summary(r, "serial"), mac, runjson_summary(r, "chip"));
	if (strncmp(line, want, strlen(want)))
		fail_msg("manifest row '%s' does not start with '%s'", line, want);
	assert_non_null(strstr(line, json_string_value(json_object_get(r->payload, "qr"))));
	assert_non_null(strstr(line, ",ok,"));
	buf_free_data(&b);
}

/* Every private key this run generated, searched in the flash image and the run's output. */
static void check_no_secret(const struct device_check *dc, const char *folder, const char *flash_path,
			    const struct run_out *r)
{
	struct secretscan sc;
	secretscan_init(&sc);
	char *p = testutil_join_path(folder, "internal/DAC_key.der");
	secretscan_add_key_file(&sc, "DAC key", p);
	free(p);
	static const char *const raw[] = {"keys/fe_key.bin", "keys/ds_hmac_key.bin", "keys/nvs_key.bin"};
	for (size_t i = 0; i < sizeof raw / sizeof *raw; i++) {
		if (!file_exists_in(folder, raw[i]))
			continue;
		buf_t b = BUF_INIT;
		read_in(folder, raw[i], &b);
		secretscan_add(&sc, raw[i], b.data, b.len);
		buf_wipe_data(&b);
	}
	if (!strcmp(dc->path, "ds")) {
		p = testutil_join_path(folder, "keys/ds_rsa_key.der");
		secretscan_add_key_file(&sc, "DS RSA key", p);
		free(p);
	}
	secretscan_assert_file_clean(&sc, flash_path);
	/* The station's records: journal (and its WAL) and manifest, next to the device folders. */
	char *outdir = strdup(folder);
	for (int up = 0; up < 2; up++)
		*strrchr(outdir, '/') = '\0';
	static const char *const records[] = {"manifest.csv", "journal.db", "journal.db-wal"};
	for (size_t i = 0; i < sizeof records / sizeof *records; i++)
		if (file_exists_in(outdir, records[i])) {
			char *rp = testutil_join_path(outdir, records[i]);
			secretscan_assert_file_clean(&sc, rp);
			free(rp);
		} else if (i < 2) {
			fail_msg("%s/%s missing", outdir, records[i]);
		}
	free(outdir);
	secretscan_assert_clean(&sc, "the run's stdout", r->out.data, r->out.len);
	secretscan_assert_clean(&sc, "the run's stderr", r->err.data, r->err.len);
	secretscan_free(&sc);
}

/* The whole outside check of a verified device. The simulator must be stopped (files final). */
static void check_device(const struct device_check *dc, const char *dir, const struct simrun *s,
			 const struct run_out *r, const char *sb_digest, struct nvs_read_result *nr)
{
	assert_string_equal(runjson_summary(r, "chip"), dc->chip);
	char *tp = table_path(dc->table);
	struct parttable_options po;
	parttable_default_options(&po);
	struct parttable *t = calloc(1, sizeof *t);
	err_t e = {0};
	assert_int_equal(parttable_load_csv_file(tp, &po, t, &e), 0);
	free(tp);
	buf_t flash = BUF_INIT;
	testutil_read_file(s->flash, &flash);
	check_secure_cert(dc, r->folder, &flash, t, r);
	struct nvs_read_result local;
	check_factory(dc, dir, r->folder, &flash, t, r, nr ? nr : &local);
	if (!nr)
		nvs_read_free(&local);
	buf_free_data(&flash);
	free(t);
	struct efuse_dump d;
	simefuse_load(s->efuse, dc->chip, &d);
	check_key_blocks(dc, r->folder, r, &d, sb_digest);
	struct efuse_security sec;
	efuse_security_state(&d, &sec);
	assert_int_equal(sec.flash_encryption, dc->fe);
	if (dc->fe)
		assert_true(has_state(r, "burn-fe-enable", "done"));
	assert_true(has_state(r, "verify-efuse", "done"));
	check_manifest(dir, r);
	check_no_secret(dc, r->folder, s->flash, r);
}

/* ---- firmware ---- */

/* A small build: bootloader (image header, no appended digest), the partition table in its
 * binary form as `espfab parttable` writes it, and an app; flasher_args.json naming them. */
static void make_firmware(const char *dir, const char *chip, const char *table, uint32_t *boot_off)
{
	/* flash clocks the chip has (the ESP32-H2's are 48m/24m/16m/12m, C2's 60m/30m/...) */
	const char *freq = !strcmp(chip, "esp32h2") ? "48m" : !strcmp(chip, "esp32c2") ? "60m" : "80m";
	*boot_off = (!strcmp(chip, "esp32") || !strcmp(chip, "esp32s2")) ? 0x1000 : 0x0;
	uint8_t img[0x3000];
	for (size_t i = 0; i < sizeof img; i++)
		img[i] = (uint8_t)(i * 13 + 5);
	img[0] = 0xE9;
	img[1] = 3;
	img[2] = 2;    /* dio */
	img[3] = 0x2F; /* 4MB, the chip's 80m code is patched in if it differs */
	img[23] = 0;   /* no appended SHA-256 */
	char *p = testutil_join_path(dir, "bootloader.bin");
	testutil_write_file(p, img, 0x2000);
	free(p);
	img[0] = 0xE9;
	p = testutil_join_path(dir, "app.bin");
	testutil_write_file(p, img, sizeof img);
	free(p);
	char *tp = table_path(table);
	p = testutil_join_path(dir, "partition-table.bin");
	char *argv[] = {"espfab", "parttable", tp, p, NULL};
	buf_t out = BUF_INIT, err = BUF_INIT;
	if (testutil_run_espfab(dir, argv, &out, &err))
		fail_msg("parttable: %s", (char *)buf_terminate_str(&err));
	buf_free_data(&out);
	buf_free_data(&err);
	free(tp);
	free(p);
	char fa[512];
	snprintf(fa, sizeof fa,
		 "{\"flash_settings\": {\"flash_mode\": \"dio\", \"flash_size\": \"4MB\", \"flash_freq\": \"%s\"}, "
		 "\"flash_files\": {\"0x%x\": \"bootloader.bin\", \"0x8000\": \"partition-table.bin\", "
		 "\"0x20000\": \"app.bin\"}, \"extra_esptool_args\": {\"chip\": \"%s\"}}",
		 freq, *boot_off, chip);
	p = testutil_join_path(dir, "flasher_args.json");
	testutil_write_file(p, fa, strlen(fa));
	/* The same build with a clock of another chip, which this one does not have. */
	snprintf(fa, sizeof fa,
		 "{\"flash_settings\": {\"flash_mode\": \"dio\", \"flash_size\": \"4MB\", \"flash_freq\": \"%s\"}, "
		 "\"flash_files\": {\"0x%x\": \"bootloader.bin\", \"0x20000\": \"app.bin\"}}",
		 !strcmp(chip, "esp32h2") ? "80m" : "48m", *boot_off);
	free(p);
	p = testutil_join_path(dir, "flasher_args_badfreq.json");
	testutil_write_file(p, fa, strlen(fa));
	free(p);
}

/* The firmware on flash, decrypted with the device's key, is the build (the bootloader's header
 * bytes 2-3 are the flash settings the run may patch). */
static void check_firmware_encrypted(const char *chip, const char *dir, const char *folder, const char *flash_path,
				     uint32_t boot_off)
{
	buf_t flash = BUF_INIT, key = BUF_INIT, plain = BUF_INIT, want = BUF_INIT;
	testutil_read_file(flash_path, &flash);
	read_in(folder, "keys/fe_key.bin", &key);
	static const struct {
		const char *file;
		uint32_t off;
	} fw[] = {{"bootloader.bin", 0}, {"partition-table.bin", 0x8000}, {"app.bin", 0x20000}};
	for (size_t i = 0; i < 3; i++) {
		uint32_t off = i == 0 ? boot_off : fw[i].off;
		read_in(dir, fw[i].file, &want);
		size_t n = (want.len + 31) & ~(size_t)31;
		struct flashenc_params fp = {
			.scheme = !strcmp(chip, "esp32") ? FLASHENC_ESP32_LEGACY : FLASHENC_AES_XTS,
			.key = key.data, .key_len = key.len, .address = off, .flash_crypt_conf = 0xF,
		};
		err_t e = {0};
		plain.len = 0;
		assert_int_equal(flashenc_decrypt_data(&fp, flash.data + off, n, &plain, &e), 0);
		/* Written encrypted: the plaintext is not on flash. */
		assert_true(memcmp(flash.data + off, want.data, 32) != 0);
		if (i == 0) {
			assert_int_equal(plain.data[0], 0xE9);
			plain.data[2] = want.data[2];
			plain.data[3] = want.data[3];
		}
		testutil_assert_bytes_equal(fw[i].file, plain.data, want.len, want.data, want.len);
	}
	buf_free_data(&flash);
	buf_wipe_data(&key);
	buf_wipe_data(&plain);
	buf_free_data(&want);
}

/* ---- fixtures ---- */

static int setup(void **state)
{
	/* A build without the simulator skips these tests. */
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

/* A fresh simulated chip in its own folder under dir (flash and eFuse files kept there). */
static char *chip_dir(const char *dir, const char *name)
{
	char *d = testutil_join_path(dir, name);
	mkdir(d, 0700);
	return d;
}

/* ---- tests ---- */

/* The scan finds what it is meant to find: a key as hex with separators, as PEM in a JSON
 * string, reversed in a binary blob. */
static void test_scan_finds_secrets(void **state)
{
	(void)state;
	uint8_t key[32];
	for (int i = 0; i < 32; i++)
		key[i] = (uint8_t)(0xA0 + i * 3);
	struct secretscan sc;
	secretscan_init(&sc);
	secretscan_add(&sc, "k", key, sizeof key);
	char text[256];
	int n = 0;
	for (int i = 0; i < 32; i++)
		n += snprintf(text + n, sizeof text - (size_t)n, "%02X:", key[i]);
	assert_non_null(secretscan_find(&sc, (uint8_t *)text, strlen(text)));
	buf_t b64 = BUF_INIT, doc = BUF_INIT;
	hex_encode_base64(key, sizeof key, &b64);
	buf_append_str(&doc, "{\"pem\":\"-----BEGIN-----\\nx");
	buf_append_bytes(&doc, b64.data, 20);
	buf_append_str(&doc, "\\n");
	buf_append_bytes(&doc, b64.data + 20, b64.len - 20);
	buf_append_str(&doc, "\"}");
	assert_non_null(secretscan_find(&sc, doc.data, doc.len));
	uint8_t blob[100];
	memset(blob, 0xFF, sizeof blob);
	for (int i = 0; i < 32; i++)
		blob[40 + i] = key[31 - i];
	assert_non_null(secretscan_find(&sc, blob, sizeof blob));
	blob[40 + 16] ^= 1; /* windows on both sides of the flip still match */
	assert_non_null(secretscan_find(&sc, blob, sizeof blob));
	memset(blob, 0xFF, sizeof blob);
	assert_null(secretscan_find(&sc, blob, sizeof blob));
	buf_free_data(&b64);
	buf_free_data(&doc);
	secretscan_free(&sc);
}

/* S2, S3 and C6 on the ds path as the shipped c3-plug example has it: development, flash
 * encryption and NVS encryption on. */
static void test_ds_chips(void **state)
{
	if (!*state)
		skip();
	const char *dir = *state;
	static const char *const chips[] = {"esp32s2", "esp32s3", "esp32c6"};
	for (size_t i = 0; i < sizeof chips / sizeof *chips; i++) {
		char *cd = chip_dir(dir, chips[i]);
		struct simrun s = {0};
		sim_start(&s, cd, chips[i]);
		char name[64];
		snprintf(name, sizeof name, "ds-%s.ini", chips[i]);
		char *profile = make_profile(dir, name, chips[i], "c3-plug.csv", NULL,
					     "path = ds\nmode = development\nflash_encryption = yes\nnvs_encryption = yes",
					     NULL);
		struct run_out r;
		runjson_espfab_run(dir, profile, s.port, true, &r);
		assert_run_ok(&r, chips[i]);
		assert_true(has_state(&r, "burn-ds-hmac-key", "done"));
		simrun_stop(&s);
		struct device_check dc = {chips[i], "ds", "c3-plug.csv", true, true};
		check_device(&dc, dir, &s, &r, NULL, NULL);
		/* Development: the keys stay readable, the counter is 1. */
		struct efuse_dump d;
		simefuse_load(s.efuse, chips[i], &d);
		assert_int_equal(efuse_field_value(&d, EF_CRYPT_CNT), 1);
		assert_int_equal(efuse_field_value(&d, EF_ENABLE_SECURITY_DOWNLOAD), 0);
		runjson_free(&r);
		free(profile);
		simrun_free(&s);
		free(cd);
	}
}

/* ESP32 and C2 on the flash-encryption path as the shipped esp32-bridge example has it
 * (development, NVS encryption): decoded from outside like the others. */
static void test_fe_chips_development(void **state)
{
	if (!*state)
		skip();
	const char *dir = *state;
	static const char *const chips[] = {"esp32", "esp32c2"};
	for (size_t i = 0; i < sizeof chips / sizeof *chips; i++) {
		char *cd = chip_dir(dir, chips[i]);
		struct simrun s = {0};
		sim_start(&s, cd, chips[i]);
		char name[64];
		snprintf(name, sizeof name, "fe-%s.ini", chips[i]);
		char *profile = make_profile(dir, name, chips[i], "esp32-bridge.csv", NULL,
					     "path = flash-encryption\nmode = development\nnvs_encryption = yes", NULL);
		struct run_out r;
		runjson_espfab_run(dir, profile, s.port, true, &r);
		assert_run_ok(&r, chips[i]);
		simrun_stop(&s);
		struct device_check dc = {chips[i], "flash-encryption", "esp32-bridge.csv", true, true};
		check_device(&dc, dir, &s, &r, NULL, NULL);
		runjson_free(&r);
		free(profile);
		simrun_free(&s);
		free(cd);
	}
}

/* C3 on the ds path with flash encryption and its firmware: bootloader, partition table and app
 * are encrypted on the host with the device's key, the counter is odd so the bootloader finds
 * encryption on and does not encrypt again, and the readback decrypts to the build. */
static void test_c3_ds_flash_encryption_firmware(void **state)
{
	if (!*state)
		skip();
	const char *dir = *state;
	uint32_t boot;
	make_firmware(dir, "esp32c3", "c3-plug.csv", &boot);
	struct simrun s = {0};
	sim_start(&s, dir, "esp32c3");
	char *profile = make_profile(dir, "c3.ini", "esp32c3", "c3-plug.csv", NULL,
				     "path = ds\nmode = development\nflash_encryption = yes\nnvs_encryption = yes",
				     "[firmware]\nflasher_args = flasher_args.json");
	struct run_out r;
	runjson_espfab_run(dir, profile, s.port, true, &r);
	assert_run_ok(&r, "c3");
	for (const char *const *id = (const char *const[]){"write-fw-0x0", "write-fw-0x8000", "write-fw-0x20000",
							   "write-esp_secure_cert", "write-nvs_keys", NULL};
	     *id; id++) {
		json_t *st = plan_step(&r, *id);
		if (!st)
			fail_msg("plan has no %s", *id);
		assert_true(json_is_true(json_object_get(st, "encrypted")));
	}
	/* The factory NVS is NVS-encrypted, not flash-encrypted (the firmware reads it with nvs_keys). */
	assert_false(json_is_true(json_object_get(plan_step(&r, "write-fctry"), "encrypted")));
	simrun_stop(&s);
	struct device_check dc = {"esp32c3", "ds", "c3-plug.csv", true, true};
	check_device(&dc, dir, &s, &r, NULL, NULL);
	check_firmware_encrypted("esp32c3", dir, r.folder, s.flash, boot);
	struct efuse_dump d;
	simefuse_load(s.efuse, "esp32c3", &d);
	struct efuse_security sec;
	efuse_security_state(&d, &sec);
	assert_int_equal(sec.crypt_cnt, 1);
	/* Development: downloads may still write plaintext; nothing else of release mode burned. */
	assert_int_equal(efuse_field_value(&d, EF_DIS_DOWNLOAD_MANUAL_ENCRYPT), 0);
	assert_int_equal(efuse_field_value(&d, EF_DIS_PAD_JTAG), 0);
	runjson_free(&r);
	free(profile);
	simrun_free(&s);
}

/* The lockdown every production run ends with, read back from the eFuse file: JTAG off by each
 * field the chip has (espefuse field lists: DIS_PAD_JTAG, DIS_USB_JTAG, SOFT_DIS_JTAG with all
 * bits, S2 HARD_DIS_JTAG, ESP32 JTAG_DISABLE), then Secure Download Mode (ESP32: UART download
 * mode off); download mode itself and the USB-Serial-JTAG port stay (SDM still flashes). */
static void check_lockdown_fields(const char *chip, const struct efuse_dump *d)
{
	static const enum efuse_field_id jtag[] = {EF_DIS_PAD_JTAG, EF_DIS_USB_JTAG, EF_HARD_DIS_JTAG,
						   EF_JTAG_DISABLE};
	int seen = 0;
	for (size_t i = 0; i < sizeof jtag / sizeof *jtag; i++) {
		if (!efuse_field_present(d->chip, jtag[i]))
			continue;
		seen++;
		if (efuse_field_value(d, jtag[i]) != 1)
			fail_msg("%s: %s reads %u after a production run", chip,
				 chip_efuse_field(d->chip, jtag[i])->name, efuse_field_value(d, jtag[i]));
	}
	assert_true(seen > 0);
	if (efuse_field_present(d->chip, EF_SOFT_DIS_JTAG)) {
		const struct efuse_field_desc *sj = chip_efuse_field(d->chip, EF_SOFT_DIS_JTAG);
		assert_int_equal(efuse_field_value(d, EF_SOFT_DIS_JTAG), (1u << sj->width) - 1);
	}
	if (!strcmp(chip, "esp32")) {
		assert_int_equal(efuse_field_value(d, EF_UART_DOWNLOAD_DIS), 1);
	} else {
		assert_int_equal(efuse_field_value(d, EF_ENABLE_SECURITY_DOWNLOAD), 1);
		assert_int_equal(efuse_field_value(d, EF_DIS_DOWNLOAD_MODE), 0);
	}
	assert_int_equal(efuse_field_value(d, EF_DIS_USB_SERIAL_JTAG), 0);
	assert_int_equal(efuse_field_value(d, EF_DIS_USB_SERIAL_JTAG_DOWNLOAD_MODE), 0);
}

/* The plan's lockdown step: last before the result, after both read-backs, irreversible, with
 * the text the operator confirms. */
static void check_lockdown_step(const struct run_out *r, const char *chip)
{
	size_t n = json_array_size(r->plan);
	assert_true(n >= 4);
	json_t *s = json_array_get(r->plan, n - 2);
	assert_string_equal(json_string_value(json_object_get(s, "id")), "lockdown");
	assert_string_equal(json_string_value(json_object_get(json_array_get(r->plan, n - 1), "id")), "result");
	assert_string_equal(json_string_value(json_object_get(json_array_get(r->plan, n - 3), "id")), "verify-efuse");
	assert_true(json_is_true(json_object_get(s, "irreversible")));
	assert_string_equal(json_string_value(json_object_get(s, "text")),
			    !strcmp(chip, "esp32") ? "disable JTAG and UART download mode"
						   : "disable JTAG and enable Secure Download Mode");
	assert_true(has_state(r, "lockdown", "done"));
	assert_true(has_state(r, "result", "done"));
}

/* Production on the ecdsa-efuse path (H2) without flash encryption: the DAC key read-protected
 * in its block, JTAG off and Secure Download Mode on; a run without --yes and without a terminal
 * is refused before anything is burned, and a run on the locked chip is refused too. */
static void test_h2_production(void **state)
{
	if (!*state)
		skip();
	const char *dir = *state;
	struct simrun s = {0};
	sim_start(&s, dir, "esp32h2");
	char *profile = make_profile(dir, "h2.ini", "esp32h2", "h2-light.csv", NULL,
				     "path = ecdsa-efuse\nmode = production", NULL);
	/* No --yes, stdin not a terminal: declined, chip untouched. */
	buf_t efuse0 = BUF_INIT, efuse1 = BUF_INIT, flash = BUF_INIT;
	struct run_out r;
	runjson_espfab_run(dir, profile, s.port, false, &r);
	simrun_stop(&s);
	assert_int_equal(r.rc, 1);
	assert_non_null(strstr((char *)buf_terminate_str(&r.err), "not confirmed"));
	assert_false(has_state(&r, "burn-ecdsa-key", "running"));
	testutil_read_file(s.efuse, &efuse0);
	testutil_read_file(s.flash, &flash);
	for (size_t i = 0; i < flash.len; i++)
		if (flash.data[i] != 0xFF)
			fail_msg("flash written at 0x%zx by a declined run", i);
	struct efuse_dump d;
	simefuse_load(s.efuse, "esp32h2", &d);
	for (int b = 0; b < 6; b++) {
		struct efuse_key_status ks;
		efuse_key_status(&d, d.chip->efuse->first_key_block + b, &ks);
		assert_true(ks.empty);
	}
	runjson_free(&r);
	/* Confirmed: the same device runs to the end. */
	sim_start(&s, dir, "esp32h2");
	runjson_espfab_run(dir, profile, s.port, true, &r);
	assert_run_ok(&r, "h2 production");
	simrun_stop(&s);
	assert_true(json_is_true(json_object_get(plan_step(&r, "burn-ecdsa-key"), "read_protect")));
	struct device_check dc = {"esp32h2", "ecdsa-efuse", "h2-light.csv", false, false};
	check_device(&dc, dir, &s, &r, NULL, NULL);
	simefuse_load(s.efuse, "esp32h2", &d);
	int block = (int)json_integer_value(json_object_get(plan_step(&r, "burn-ecdsa-key"), "block"));
	/* Read protection is what keeps the key from software: RD_DIS bit of the block. */
	assert_true(efuse_field_value(&d, EF_RD_DIS) & (1u << block));
	testutil_read_file(s.efuse, &efuse1);
	assert_true(efuse0.len == efuse1.len && memcmp(efuse0.data, efuse1.data, efuse0.len));
	/* No flash encryption in this plan, and still locked: JTAG off, Secure Download Mode on,
	 * so no code loaded through the ROM or JTAG can make the ECDSA peripheral sign with the
	 * DAC key. Nothing of flash encryption was burned on the way. */
	check_lockdown_step(&r, "esp32h2");
	check_lockdown_fields("esp32h2", &d);
	assert_int_equal(efuse_field_value(&d, EF_CRYPT_CNT), 0);
	assert_int_equal(efuse_field_value(&d, EF_DIS_DOWNLOAD_MANUAL_ENCRYPT), 0);
	assert_null(plan_step(&r, "burn-fe-enable"));

	/* A second run on the locked chip: the ROM refuses the register reads (MAC, eFuses), so
	 * the run cannot find the device's journal row. It stops at detection, naming Secure
	 * Download Mode, before the journal, leaving chip, flash and manifest as they were. */
	char *mp = testutil_join_path(dir, "out/manifest.csv");
	buf_t man0 = BUF_INIT, man1 = BUF_INIT, flash1 = BUF_INIT, flash2 = BUF_INIT;
	testutil_read_file(mp, &man0);
	testutil_read_file(s.flash, &flash1);
	runjson_free(&r);
	sim_start(&s, dir, "esp32h2");
	runjson_espfab_run(dir, profile, s.port, true, &r);
	simrun_stop(&s);
	assert_int_equal(r.rc, 1);
	assert_non_null(strstr((char *)buf_terminate_str(&r.err), "Secure Download Mode"));
	assert_non_null(r.done);
	assert_string_equal(runjson_summary(&r, "result"), "refused");
	assert_null(r.plan);
	assert_true(has_state(&r, "detect", "done"));
	assert_false(has_state(&r, "generate", "running"));
	testutil_read_file(mp, &man1);
	testutil_read_file(s.flash, &flash2);
	buf_t efuse2 = BUF_INIT;
	testutil_read_file(s.efuse, &efuse2);
	testutil_assert_bytes_equal("eFuses after the second run", efuse2.data, efuse2.len, efuse1.data, efuse1.len);
	testutil_assert_bytes_equal("flash after the second run", flash2.data, flash2.len, flash1.data, flash1.len);
	testutil_assert_bytes_equal("manifest after the second run", man1.data, man1.len, man0.data, man0.len);
	buf_free_data(&efuse2);
	buf_free_data(&man0);
	buf_free_data(&man1);
	buf_free_data(&flash1);
	buf_free_data(&flash2);
	free(mp);
	buf_free_data(&efuse0);
	buf_free_data(&efuse1);
	buf_free_data(&flash);
	runjson_free(&r);
	free(profile);
	simrun_free(&s);
}

/* Flash encryption in release mode and Secure Download Mode, from the eFuse file of a GEN2
 * chip: counter at its maximum, download-mode encryption and caches off, JTAG off, direct boot
 * off, the group write-protected, SDM on. */
static void check_release_mode(const char *chip, const struct efuse_dump *d)
{
	const struct efuse_field_desc *cf = chip_efuse_field(d->chip, EF_CRYPT_CNT);
	assert_int_equal(efuse_field_value(d, EF_CRYPT_CNT), (1u << cf->width) - 1);
	/* Every chip has these; the cache and JTAG fields where the chip has them. */
	static const enum efuse_field_id core[] = {EF_DIS_DOWNLOAD_MANUAL_ENCRYPT, EF_ENABLE_SECURITY_DOWNLOAD};
	static const enum efuse_field_id more[] = {EF_DIS_PAD_JTAG, EF_DIS_DOWNLOAD_ICACHE, EF_DIS_DOWNLOAD_DCACHE,
						   EF_DIS_USB_JTAG, EF_DIS_DIRECT_BOOT, EF_HARD_DIS_JTAG};
	for (size_t i = 0; i < sizeof core / sizeof *core + sizeof more / sizeof *more; i++) {
		bool is_core = i < sizeof core / sizeof *core;
		enum efuse_field_id f = is_core ? core[i] : more[i - sizeof core / sizeof *core];
		if (!efuse_field_present(d->chip, f)) {
			if (is_core)
				fail_msg("%s has no eFuse field %d", chip, (int)f);
			continue;
		}
		if (efuse_field_value(d, f) != 1)
			fail_msg("%s: %s reads %u after a production run", chip, chip_efuse_field(d->chip, f)->name,
				 efuse_field_value(d, f));
	}
	if (efuse_field_present(d->chip, EF_SOFT_DIS_JTAG)) {
		const struct efuse_field_desc *sj = chip_efuse_field(d->chip, EF_SOFT_DIS_JTAG);
		assert_int_equal(efuse_field_value(d, EF_SOFT_DIS_JTAG), (1u << sj->width) - 1);
	}
	/* The cache/encrypt group is write-protected. */
	const struct efuse_field_desc *ic = chip_efuse_field(d->chip, EF_DIS_DOWNLOAD_ICACHE);
	if (!efuse_field_present(d->chip, EF_DIS_DOWNLOAD_ICACHE))
		ic = chip_efuse_field(d->chip, EF_DIS_DOWNLOAD_MANUAL_ENCRYPT);
	assert_true(efuse_field_value(d, EF_WR_DIS) & (1u << ic->wr_dis_bit));
}

/* Production on the ds path (S2, S3, C3, C6): HMAC and XTS keys read-protected, flash
 * encryption in release mode (counter at its maximum, download-mode encryption and caches off,
 * JTAG off, direct boot off, the group locked) and Secure Download Mode last, each read back
 * field by field from the eFuse file. */
static void test_ds_production(void **state)
{
	if (!*state)
		skip();
	const char *dir = *state;
	static const char *const chips[] = {"esp32s2", "esp32s3", "esp32c3", "esp32c6"};
	for (size_t c = 0; c < sizeof chips / sizeof *chips; c++) {
		const char *chip = chips[c];
		uint32_t boot;
		make_firmware(dir, chip, "c3-plug.csv", &boot);
		char *cd = chip_dir(dir, chip);
		struct simrun s = {0};
		sim_start(&s, cd, chip);
		char name[64];
		snprintf(name, sizeof name, "prod-%s.ini", chip);
		char *profile = make_profile(dir, name, chip, "c3-plug.csv", NULL,
					     "path = ds\nmode = production\nnvs_encryption = yes",
					     "[firmware]\nflasher_args = flasher_args.json");
		struct run_out r;
		runjson_espfab_run(dir, profile, s.port, true, &r);
		assert_run_ok(&r, chip);
		assert_true(has_state(&r, "lockdown", "done"));
		simrun_stop(&s);
		struct device_check dc = {chip, "ds", "c3-plug.csv", true, true};
		check_device(&dc, dir, &s, &r, NULL, NULL);
		check_firmware_encrypted(chip, dir, r.folder, s.flash, boot);
		assert_true(json_is_true(json_object_get(plan_step(&r, "burn-ds-hmac-key"), "read_protect")));
		assert_true(json_is_true(json_object_get(plan_step(&r, "burn-fe-key"), "read_protect")));
		struct efuse_dump d;
		simefuse_load(s.efuse, chip, &d);
		check_release_mode(chip, &d);
		check_lockdown_step(&r, chip);
		check_lockdown_fields(chip, &d);
		/* No secure boot was asked for: none burned. */
		assert_int_equal(efuse_field_value(&d, EF_SECURE_BOOT_EN), 0);
		runjson_free(&r);
		free(profile);
		simrun_free(&s);
		free(cd);
	}
}

/* Production on the ecdsa-efuse path with flash encryption asked for (H2): the DAC key in its
 * block, the XTS key read-protected, firmware and esp_secure_cert host-encrypted, release mode
 * and Secure Download Mode read back. */
static void test_h2_production_flash_encryption(void **state)
{
	if (!*state)
		skip();
	const char *dir = *state;
	uint32_t boot;
	make_firmware(dir, "esp32h2", "c3-plug.csv", &boot);
	struct simrun s = {0};
	sim_start(&s, dir, "esp32h2");
	char *profile = make_profile(dir, "h2fe.ini", "esp32h2", "c3-plug.csv", NULL,
				     "path = ecdsa-efuse\nmode = production\nflash_encryption = yes\nnvs_encryption = yes",
				     "[firmware]\nflasher_args = flasher_args.json");
	struct run_out r;
	runjson_espfab_run(dir, profile, s.port, true, &r);
	assert_run_ok(&r, "h2 production with flash encryption");
	assert_true(has_state(&r, "lockdown", "done"));
	simrun_stop(&s);
	struct device_check dc = {"esp32h2", "ecdsa-efuse", "c3-plug.csv", true, true};
	check_device(&dc, dir, &s, &r, NULL, NULL);
	check_firmware_encrypted("esp32h2", dir, r.folder, s.flash, boot);
	struct efuse_dump d;
	simefuse_load(s.efuse, "esp32h2", &d);
	check_release_mode("esp32h2", &d);
	check_lockdown_step(&r, "esp32h2");
	check_lockdown_fields("esp32h2", &d);
	assert_int_equal(efuse_field_value(&d, EF_SECURE_BOOT_EN), 0);
	runjson_free(&r);
	free(profile);
	simrun_free(&s);
}

/* Production on the flash-encryption path (ESP32 v3): FE key and secure-boot digest burned,
 * flash encryption in release mode, secure boot v2 on, UART download mode off. */
static void test_esp32_production(void **state)
{
	if (!*state)
		skip();
	const char *dir = *state;
	uint32_t boot;
	make_firmware(dir, "esp32", "esp32-bridge.csv", &boot);
	uint8_t digest[32];
	for (int i = 0; i < 32; i++)
		digest[i] = (uint8_t)(0x31 + 7 * i);
	char *dp = testutil_join_path(dir, "sb_digest.bin");
	testutil_write_file(dp, digest, sizeof digest);
	struct simrun s = {0};
	sim_start(&s, dir, "esp32");
	char *profile = make_profile(dir, "esp32p.ini", "esp32", "esp32-bridge.csv", NULL,
				     "path = flash-encryption\nmode = production\nnvs_encryption = yes\n"
				     "secure_boot_digest = sb_digest.bin",
				     "[firmware]\nflasher_args = flasher_args.json");
	struct run_out r;
	runjson_espfab_run(dir, profile, s.port, true, &r);
	assert_run_ok(&r, "esp32 production");
	assert_true(has_state(&r, "burn-sb-enable", "done"));
	assert_true(has_state(&r, "lockdown", "done"));
	simrun_stop(&s);
	struct device_check dc = {"esp32", "flash-encryption", "esp32-bridge.csv", true, true};
	check_device(&dc, dir, &s, &r, dp, NULL);
	check_firmware_encrypted("esp32", dir, r.folder, s.flash, boot);
	struct efuse_dump d;
	simefuse_load(s.efuse, "esp32", &d);
	const struct efuse_field_desc *cf = chip_efuse_field(d.chip, EF_CRYPT_CNT);
	assert_int_equal(efuse_field_value(&d, EF_CRYPT_CNT), (1u << cf->width) - 1);
	assert_int_equal(efuse_field_value(&d, EF_FLASH_CRYPT_CONFIG), 0xF);
	static const enum efuse_field_id ones[] = {EF_DISABLE_DL_ENCRYPT, EF_DISABLE_DL_DECRYPT, EF_DISABLE_DL_CACHE,
						   EF_JTAG_DISABLE, EF_CONSOLE_DEBUG_DISABLE, EF_ABS_DONE_1,
						   EF_UART_DOWNLOAD_DIS};
	for (size_t i = 0; i < sizeof ones / sizeof *ones; i++)
		if (efuse_field_value(&d, ones[i]) != 1)
			fail_msg("%s reads %u after a production run", chip_efuse_field(d.chip, ones[i])->name,
				 efuse_field_value(&d, ones[i]));
	/* BLOCK1 (FE key) read- and write-protected; RD_DIS locked by WR_DIS bit 0; BLOCK2 (digest)
	 * readable for the ROM. */
	const struct efuse_block_desc *b1 = &d.chip->efuse->blocks[1], *b2 = &d.chip->efuse->blocks[2];
	uint32_t rd = efuse_field_value(&d, EF_RD_DIS), wr = efuse_field_value(&d, EF_WR_DIS);
	assert_true(rd & (1u << b1->rd_dis_bit));
	assert_false(rd & (1u << b2->rd_dis_bit));
	assert_true(wr & (1u << b1->wr_dis_bit));
	assert_true(wr & 1u);
	assert_int_equal(efuse_field_value(&d, EF_ABS_DONE_0), 0);
	check_lockdown_step(&r, "esp32");
	check_lockdown_fields("esp32", &d);
	runjson_free(&r);
	free(profile);
	free(dp);
	simrun_free(&s);
}

/* Production on the flash-encryption path (ESP32-C2): the 128-bit flash-encryption key and the
 * secure-boot digest share BLOCK_KEY0, burned in one operation (its Reed-Solomon code allows
 * one); secure boot on, flash encryption in release mode, Secure Download Mode last. Read back
 * field by field from the eFuse file, and the key block once more through the ROM's READ_REG
 * on a copy of the chip with Secure Download Mode cleared: the key half reads zero, the digest
 * half reads the digest, no RS error. */
static void test_c2_production(void **state)
{
	if (!*state)
		skip();
	const char *dir = *state;
	uint32_t boot;
	make_firmware(dir, "esp32c2", "esp32-bridge.csv", &boot);
	uint8_t digest[32];
	for (int i = 0; i < 32; i++)
		digest[i] = (uint8_t)(0xC3 ^ (11 * i));
	char *dp = testutil_join_path(dir, "sb_digest.bin");
	testutil_write_file(dp, digest, sizeof digest);
	char *cd = chip_dir(dir, "c2prod");
	struct simrun s = {0};
	sim_start(&s, cd, "esp32c2");
	char *profile = make_profile(dir, "c2p.ini", "esp32c2", "esp32-bridge.csv", NULL,
				     "path = flash-encryption\nmode = production\nnvs_encryption = yes\n"
				     "secure_boot_digest = sb_digest.bin",
				     "[firmware]\nflasher_args = flasher_args.json");
	struct run_out r;
	runjson_espfab_run(dir, profile, s.port, true, &r);
	assert_run_ok(&r, "c2 production");
	/* one key burn for both halves, shown as irreversible; no separate digest burn */
	json_t *kb = plan_step(&r, "burn-fe-key-sb-digest");
	assert_non_null(kb);
	assert_true(json_is_true(json_object_get(kb, "irreversible")));
	assert_true(json_is_true(json_object_get(kb, "read_protect")));
	assert_null(plan_step(&r, "burn-fe-key"));
	assert_null(plan_step(&r, "burn-sb-digest"));
	assert_true(has_state(&r, "burn-fe-key-sb-digest", "done"));
	assert_true(has_state(&r, "burn-sb-enable", "done"));
	assert_true(has_state(&r, "burn-fe-enable", "done"));
	assert_true(has_state(&r, "lockdown", "done"));
	simrun_stop(&s);
	struct device_check dc = {"esp32c2", "flash-encryption", "esp32-bridge.csv", true, true};
	check_device(&dc, dir, &s, &r, dp, NULL);
	check_firmware_encrypted("esp32c2", dir, r.folder, s.flash, boot);
	buf_t fek = BUF_INIT;
	read_in(r.folder, "keys/fe_key.bin", &fek);
	assert_int_equal(fek.len, 16); /* XTS-AES-128 derived from 128 eFuse bits */

	struct efuse_dump d;
	simefuse_load(s.efuse, "esp32c2", &d);
	const struct efuse_block_desc *kblk = &d.chip->efuse->blocks[d.chip->efuse->first_key_block];
	/* the block as burned: key reversed in the low half, digest bytes 0..15 as is in the high */
	uint8_t raw[32];
	simefuse_key_bytes(&d, 0, raw);
	for (int i = 0; i < 16; i++) {
		assert_int_equal(raw[i], fek.data[15 - i]);
		assert_int_equal(raw[16 + i], digest[i]);
	}
	/* RD_DIS: bit 0 (low half) only, the ROM reads the digest; WR_DIS: the block (7), RD_DIS
	 * (0, by secure boot), the JTAG/ICACHE group (1) and the counter group with
	 * XTS_KEY_LENGTH_256 and SECURE_BOOT_EN (2) */
	uint32_t rd = efuse_field_value(&d, EF_RD_DIS), wr = efuse_field_value(&d, EF_WR_DIS);
	assert_int_equal(rd, 1u << kblk->rd_dis_bit);
	assert_false(rd & (1u << kblk->rd_dis_bit2));
	assert_int_equal(wr & (1u << kblk->wr_dis_bit | 0x7u), 1u << kblk->wr_dis_bit | 0x7u);
	assert_true(wr & (1u << chip_efuse_field(d.chip, EF_XTS_KEY_LENGTH_256)->wr_dis_bit));
	assert_true(wr & (1u << chip_efuse_field(d.chip, EF_SECURE_BOOT_EN)->wr_dis_bit));
	struct efuse_key_status ks;
	efuse_key_status(&d, d.chip->efuse->first_key_block, &ks);
	assert_int_equal(ks.purpose, KP_C2_XTS_AES_128_KEY_DERIVED);
	assert_true(ks.read_protected && ks.write_protected);
	assert_int_equal(efuse_field_value(&d, EF_XTS_KEY_LENGTH_256), 0);
	/* secure boot on, counter at its maximum, release mode and SDM */
	assert_int_equal(efuse_field_value(&d, EF_SECURE_BOOT_EN), 1);
	const struct efuse_field_desc *cf = chip_efuse_field(d.chip, EF_CRYPT_CNT);
	assert_int_equal(efuse_field_value(&d, EF_CRYPT_CNT), (1u << cf->width) - 1);
	static const enum efuse_field_id ones[] = {EF_DIS_DOWNLOAD_MANUAL_ENCRYPT, EF_DIS_DOWNLOAD_ICACHE,
						   EF_DIS_PAD_JTAG, EF_DIS_DIRECT_BOOT,
						   EF_ENABLE_SECURITY_DOWNLOAD};
	for (size_t i = 0; i < sizeof ones / sizeof *ones; i++)
		if (efuse_field_value(&d, ones[i]) != 1)
			fail_msg("%s reads %u after a C2 production run", chip_efuse_field(d.chip, ones[i])->name,
				 efuse_field_value(&d, ones[i]));
	check_release_mode("esp32c2", &d);
	check_lockdown_step(&r, "esp32c2");
	check_lockdown_fields("esp32c2", &d);

	/* Through the ROM: a copy of the chip with SDM cleared (BLOCK0 has no RS code), so READ_REG
	 * answers; what software reads is what the ROM's secure-boot check reads. */
	char *cd2 = chip_dir(dir, "c2prod-readback");
	buf_t ef = BUF_INIT;
	testutil_read_file(s.efuse, &ef);
	const struct efuse_field_desc *sdm = chip_efuse_field(d.chip, EF_ENABLE_SECURITY_DOWNLOAD);
	ef.data[4 * sdm->word + sdm->bit / 8] &= (uint8_t)~(1u << (sdm->bit % 8));
	char *efp = testutil_join_path(cd2, "efuse.bin");
	testutil_write_file(efp, ef.data, ef.len);
	struct simrun s2 = {0};
	sim_start(&s2, cd2, "esp32c2");
	loader_t l;
	struct loader_opts o;
	loader_opts_init(&o);
	char portarg[64];
	snprintf(portarg, sizeof portarg, "socket://127.0.0.1:%d", s2.port);
	o.port = portarg;
	err_t e = {0};
	if (loader_open(&l, &o, &e))
		fail_msg("loader_open on the readback copy: %s", e.msg);
	assert_true(l.info.has_efuse);
	const uint32_t *kw = l.info.efuse.words[d.chip->efuse->first_key_block];
	for (int w = 0; w < 4; w++)
		assert_int_equal(kw[w], 0);
	for (int w = 4; w < 8; w++)
		assert_int_equal(kw[w], checksum_read_u32le(digest + 4 * (w - 4)));
	uint32_t rs;
	assert_int_equal(rom_cmd_read_reg(&l.conn, d.chip->efuse_base + d.chip->efuse->rs_err0_off, &rs, &e), 0);
	assert_int_equal(rs, 0); /* BLOCK_KEY0 programmed once: its parity matches (no fail bit 11) */
	loader_close(&l);
	simrun_stop(&s2);
	simrun_free(&s2);
	free(efp);
	buf_free_data(&ef);
	free(cd2);
	buf_wipe_data(&fek);
	runjson_free(&r);
	free(profile);
	free(dp);
	simrun_free(&s);
	free(cd);
}

/* dacs/sub: a DAC made with `espfab attest gen-att-cert -t d` for PID pid, signed by the CA
 * files (in dir) ca_cert/ca_key, and dir/pai_cert.pem beside it as its PAI. */
static void make_dac_folder(const char *dir, const char *dacs, const char *sub, const char *ca_cert,
			    const char *ca_key, const char *pid)
{
	char *d = testutil_join_path(dacs, sub);
	mkdir(d, 0700);
	char *ca = testutil_join_path(dir, ca_cert), *cak = testutil_join_path(dir, ca_key);
	char *argv[] = {"espfab", "attest", "gen-att-cert", "-t", "d", "-c", (char *)sub, "-V", "0xFFF1", "-P",
			(char *)pid, "-C", ca, "-K", cak, "-o", "DAC_cert.pem", "-O", "DAC_key.pem", "-l", "3650", NULL};
	buf_t out = BUF_INIT, err = BUF_INIT;
	if (testutil_run_espfab(d, argv, &out, &err))
		fail_msg("gen-att-cert -t d: %s", (char *)buf_terminate_str(&err));
	buf_t b = BUF_INIT;
	char *pai = testutil_join_path(dir, "pai_cert.pem");
	testutil_read_file(pai, &b);
	char *to = testutil_join_path(d, "PAI_cert.pem");
	testutil_write_file(to, b.data, b.len);
	buf_free_data(&b);
	buf_free_data(&out);
	buf_free_data(&err);
	free(to);
	free(pai);
	free(ca);
	free(cak);
	free(d);
}

/* DACs made beforehand with `espfab attest gen-att-cert -t d` in a dac_dir: each device claims
 * the next one (a dry run before them claims none), the third finds none left (nothing burned);
 * an extra NVS CSV's entries are on the device, decoded from the readback. */
static void test_dac_dir_and_extra_nvs(void **state)
{
	if (!*state)
		skip();
	const char *dir = *state;
	char *dacs = testutil_join_path(dir, "dacs");
	mkdir(dacs, 0700);
	for (int i = 0; i < 2; i++) {
		char sub[32];
		snprintf(sub, sizeof sub, "dac%d", i);
		make_dac_folder(dir, dacs, sub, "pai_cert.pem", "pai_key.pem", "0x8000");
	}
	const char *csv = "key,type,encoding,value\n"
			  "app-cfg,namespace,,\n"
			  "color,data,string,warm-white\n"
			  "max-lux,data,u32,1800\n"
			  "curve,data,hex2bin,00112233aabbccdd\n";
	char *cp = testutil_join_path(dir, "extra.csv");
	testutil_write_file(cp, csv, strlen(csv));
	free(cp);
	char *profile = make_profile(dir, "dacdir.ini", "esp32h2", "h2-light.csv", "dac_dir = dacs",
				     "path = ecdsa-efuse\nmode = development", "extra_nvs = extra.csv");
	char *macs[2] = {NULL, NULL};
	for (int i = 0; i < 3; i++) {
		char name[16];
		snprintf(name, sizeof name, "dev%d", i);
		char *cd = chip_dir(dir, name);
		struct simrun s = {0};
		sim_start(&s, cd, "esp32h2");
		if (i == 0) {
			/* A dry run shows the first DAC and does not use it up. */
			char portarg[64];
			snprintf(portarg, sizeof portarg, "socket://127.0.0.1:%d", s.port);
			char *argv[] = {"espfab", "run", "--profile", profile, "--port", portarg, "--dry-run", NULL};
			buf_t out = BUF_INIT, err = BUF_INIT;
			if (testutil_run_espfab(dir, argv, &out, &err))
				fail_msg("dry run: %s", (char *)buf_terminate_str(&err));
			assert_non_null(strstr((char *)buf_terminate_str(&out), "QR code: MT:"));
			for (int k = 0; k < 2; k++) {
				char mark[64];
				snprintf(mark, sizeof mark, "dac%d/.claimed", k);
				if (file_exists_in(dacs, mark))
					fail_msg("the dry run claimed %s", mark);
			}
			buf_free_data(&out);
			buf_free_data(&err);
			simrun_stop(&s);
			sim_start(&s, cd, "esp32h2");
		}
		struct run_out r;
		runjson_espfab_run(dir, profile, s.port, true, &r);
		simrun_stop(&s);
		if (i == 2) {
			/* No DAC left: refused before anything is burned or written. */
			assert_int_equal(r.rc, 1);
			assert_non_null(strstr((char *)buf_terminate_str(&r.err), "every DAC is already used"));
			assert_false(has_state(&r, "burn-ecdsa-key", "running"));
			struct efuse_dump d;
			simefuse_load(s.efuse, "esp32h2", &d);
			struct efuse_key_status ks;
			efuse_key_status(&d, d.chip->efuse->first_key_block, &ks);
			assert_true(ks.empty);
			runjson_free(&r);
			simrun_free(&s);
			free(cd);
			continue;
		}
		assert_run_ok(&r, name);
		struct device_check dc = {"esp32h2", "ecdsa-efuse", "h2-light.csv", false, false};
		struct nvs_read_result nr;
		check_device(&dc, dir, &s, &r, NULL, &nr);
		/* The device got dac<i>: its certificate and key are the pre-made ones. */
		char sub[64];
		snprintf(sub, sizeof sub, "dacs/dac%d", i);
		char *dd = testutil_join_path(dir, sub);
		buf_t pem = BUF_INIT, der = BUF_INIT, mark = BUF_INIT;
		read_in(dd, "DAC_cert.pem", &pem);
		read_in(r.folder, "internal/DAC_cert.der", &der);
		mbedtls_x509_crt crt;
		mbedtls_x509_crt_init(&crt);
		buf_terminate_str(&pem);
		assert_int_equal(mbedtls_x509_crt_parse(&crt, pem.data, pem.len + 1), 0);
		testutil_assert_bytes_equal("DAC from dac_dir", der.data, der.len, crt.raw.p, crt.raw.len);
		mbedtls_x509_crt_free(&crt);
		read_in(dd, ".claimed", &mark);
		assert_non_null(memmem(mark.data, mark.len, runjson_summary(&r, "mac"), strlen(runjson_summary(&r, "mac"))));
		macs[i] = strdup(runjson_summary(&r, "mac"));
		/* The pre-made key went to eFuse and is nowhere in flash. */
		struct secretscan sc;
		secretscan_init(&sc);
		char *kp = testutil_join_path(dd, "DAC_key.pem");
		secretscan_add_key_file(&sc, "dac_dir key", kp);
		secretscan_assert_file_clean(&sc, s.flash);
		secretscan_free(&sc);
		free(kp);
		/* The extra CSV's entries, decoded from the readback. */
		expect_nvs_string(&nr, "app-cfg", "color", "warm-white");
		assert_int_equal(nvs_number(&nr, "app-cfg", "max-lux"), 1800);
		const struct nvs_read_value *v = nvs_value(&nr, "app-cfg", "curve");
		testutil_assert_bytes_equal("curve", v->data.data, v->data.len,
					    (const uint8_t *)"\x00\x11\x22\x33\xaa\xbb\xcc\xdd", 8);
		nvs_read_free(&nr);
		buf_free_data(&pem);
		buf_free_data(&der);
		buf_free_data(&mark);
		free(dd);
		runjson_free(&r);
		simrun_free(&s);
		free(cd);
	}
	assert_string_not_equal(macs[0], macs[1]);
	free(macs[0]);
	free(macs[1]);
	free(profile);
	free(dacs);
}

/* A dac_dir folder whose DAC would make a device that fails attestation is refused before
 * anything is burned, and stays unclaimed: a key that is not the certificate's, a DAC for
 * another product, a DAC not signed by the PAI beside it. */
static void test_dac_dir_bad_material(void **state)
{
	if (!*state)
		skip();
	const char *dir = *state;
	/* Another CA (a PAA made with espfab attest) to sign the stray DAC. */
	char *argv[] = {"espfab", "attest", "gen-att-cert", "-t", "a", "-c", "Other CA", "-o", "other_cert.pem", "-O",
			"other_key.pem", "-l", "3650", NULL};
	buf_t out = BUF_INIT, err = BUF_INIT;
	if (testutil_run_espfab(dir, argv, &out, &err))
		fail_msg("gen-att-cert -t a: %s", (char *)buf_terminate_str(&err));
	buf_free_data(&out);
	buf_free_data(&err);
	static const struct {
		const char *why;
	} cases[] = {{"DAC_key does not belong to DAC_cert"}, {"the profile makes 0xFFF1/0x8000"},
		     {"not signed by PAI_cert"}};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		char name[32];
		snprintf(name, sizeof name, "bad%zu", i);
		char *dacs = testutil_join_path(dir, name);
		mkdir(dacs, 0700);
		if (i == 0) {
			make_dac_folder(dir, dacs, "a", "pai_cert.pem", "pai_key.pem", "0x8000");
			make_dac_folder(dir, dacs, "other", "pai_cert.pem", "pai_key.pem", "0x8000");
			/* a's key replaced by other's; other is then not a folder of its own */
			char *from = testutil_join_path(dacs, "other/DAC_key.pem"), *to = testutil_join_path(dacs, "a/DAC_key.pem");
			assert_int_equal(rename(from, to), 0);
			char *od = testutil_join_path(dacs, "other");
			testutil_remove_tree(od);
			free(od);
			free(from);
			free(to);
		} else if (i == 1) {
			make_dac_folder(dir, dacs, "a", "pai_cert.pem", "pai_key.pem", "0x8001");
		} else {
			make_dac_folder(dir, dacs, "a", "other_cert.pem", "other_key.pem", "0x8000");
		}
		char pname[48], attn[64];
		snprintf(pname, sizeof pname, "%s.ini", name);
		snprintf(attn, sizeof attn, "dac_dir = %s", name);
		char *profile = make_profile(dir, pname, "esp32h2", "h2-light.csv", attn, "mode = development", NULL);
		char *cd = chip_dir(dir, name);
		struct simrun s = {0};
		sim_start(&s, cd, "esp32h2");
		struct run_out r;
		runjson_espfab_run(dir, profile, s.port, true, &r);
		simrun_stop(&s);
		if (r.rc != 1 || !strstr((char *)buf_terminate_str(&r.err), cases[i].why))
			fail_msg("case %zu: exit %d, wanted '%s': %s", i, r.rc, cases[i].why, (char *)r.err.data);
		assert_false(has_state(&r, "burn-ecdsa-key", "running"));
		struct efuse_dump d;
		simefuse_load(s.efuse, "esp32h2", &d);
		struct efuse_key_status ks;
		efuse_key_status(&d, d.chip->efuse->first_key_block, &ks);
		assert_true(ks.empty);
		assert_false(file_exists_in(dacs, "a/.claimed"));
		runjson_free(&r);
		simrun_free(&s);
		free(cd);
		free(profile);
		free(dacs);
	}
}

/* Refusals, each on a fresh chip: the eFuse file and the flash image are byte for byte what
 * they were before the run. */
static void test_refusals_touch_nothing(void **state)
{
	if (!*state)
		skip();
	const char *dir = *state;
	/* A table without the factory partition. */
	char *tp = table_path("h2-light.csv");
	buf_t t = BUF_INIT;
	testutil_read_file(tp, &t);
	free(tp);
	char *nofctry = testutil_join_path(dir, "nofctry.csv");
	const char *text = buf_terminate_str(&t);
	const char *row = strstr(text, "\nfctry");
	assert_non_null(row);
	testutil_write_file(nofctry, text, (size_t)(row - text) + 1);
	buf_free_data(&t);
	char tablekey[1100];
	snprintf(tablekey, sizeof tablekey, "%s", nofctry);
	static const struct {
		const char *sim, *chips, *table, *security, *why;
		bool preburn;
		const char *more;
	} cases[] = {
		{"esp32c3", "esp32h2", "h2-light.csv", "mode = development", "wrong chip", false, NULL},
		{"esp32h2", "esp32h2", "h2-light.csv", "path = ecdsa-efuse\nmode = development",
		 "already holds a key with purpose 1", true, NULL},
		{"esp32", "esp32", "esp32-bridge.csv", "path = flash-encryption\nmode = production",
		 "needs flash encryption and secure boot", false, NULL},
		{"esp32h2", "esp32h2", NULL, "mode = development", "no 'fctry' partition", false, NULL},
		/* C2's two keys share one Reed-Solomon block, burnable once: a block that already
		 * holds something (here another secure-boot digest) is refused, nothing burned. */
		{"esp32c2", "esp32c2", "esp32-bridge.csv",
		 "path = flash-encryption\nmode = production\nsecure_boot_digest = sb_digest.bin",
		 "BLOCK_KEY0 is already used", true, "[firmware]\nflasher_args = flasher_args.json"},
		/* Firmware the chip cannot take (a flash clock it does not have): found before the
		 * ECDSA key is burned, not at the write step after it. */
		{"esp32h2", "esp32h2", "h2-light.csv", "path = ecdsa-efuse\nmode = development",
		 "'80m' is not a frequency of esp32h2", false, "[firmware]\nflasher_args = flasher_args_badfreq.json"},
	};
	uint32_t boot;
	make_firmware(dir, "esp32h2", "h2-light.csv", &boot);
	uint8_t digest[32];
	memset(digest, 0x5A, sizeof digest);
	char *dp = testutil_join_path(dir, "sb_digest.bin");
	testutil_write_file(dp, digest, sizeof digest);
	free(dp);
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		char name[16];
		snprintf(name, sizeof name, "refuse%zu", i);
		char *cd = chip_dir(dir, name);
		struct simrun s = {0};
		sim_start(&s, cd, cases[i].sim);
		if (cases[i].preburn) {
			/* Someone else's ECDSA key (C2: secure-boot digest) already in BLOCK_KEY0. */
			bool c2 = !strcmp(cases[i].sim, "esp32c2");
			uint8_t k[32];
			for (int j = 0; j < 32; j++)
				k[j] = (uint8_t)(j + 1);
			char *kp = testutil_join_path(cd, "other.bin");
			testutil_write_file(kp, k, sizeof k);
			char portarg[64];
			snprintf(portarg, sizeof portarg, "socket://127.0.0.1:%d", s.port);
			char *argv[] = {"espfab", "efuse", "--port", portarg, "burn-key", "BLOCK_KEY0", kp,
					c2 ? "SECURE_BOOT_DIGEST" : "ECDSA_KEY", "--do-not-confirm", NULL};
			buf_t out = BUF_INIT, err = BUF_INIT;
			int rc = testutil_run_espfab(cd, argv, &out, &err);
			if (rc)
				fail_msg("efuse burn-key: %s", (char *)buf_terminate_str(&err));
			buf_free_data(&out);
			buf_free_data(&err);
			free(kp);
			/* the simulator serves one host session per start */
			simrun_stop(&s);
			sim_start(&s, cd, cases[i].sim);
		}
		buf_t ef0 = BUF_INIT, fl0 = BUF_INIT, ef1 = BUF_INIT, fl1 = BUF_INIT;
		testutil_read_file(s.efuse, &ef0);
		testutil_read_file(s.flash, &fl0);
		char pname[32];
		snprintf(pname, sizeof pname, "refuse%zu.ini", i);
		char *profile;
		if (cases[i].table) {
			profile = make_profile(dir, pname, cases[i].chips, cases[i].table, NULL, cases[i].security,
					       cases[i].more);
		} else {
			/* make_profile resolves tables under assets/: write this one by hand */
			char body[2048];
			snprintf(body, sizeof body,
				 "[product]\nvendor_id = 0xFFF1\nproduct_id = 0x8000\nvendor_name = V\nproduct_name = P\n"
				 "chips = %s\n[attestation]\npai_cert = pai_cert.pem\npai_key = pai_key.pem\ncd = cd.der\n"
				 "[partitions]\ntable = %s\n[security]\n%s\n[device]\nserial = R-{seq}\n",
				 cases[i].chips, tablekey, cases[i].security);
			profile = testutil_join_path(dir, pname);
			testutil_write_file(profile, body, strlen(body));
		}
		struct run_out r;
		runjson_espfab_run(dir, profile, s.port, true, &r);
		simrun_stop(&s);
		if (r.rc != 1 || !strstr((char *)buf_terminate_str(&r.err), cases[i].why))
			fail_msg("case %zu: exit %d, wanted a refusal naming '%s': %s", i, r.rc, cases[i].why,
				 (char *)r.err.data);
		assert_string_equal(runjson_summary(&r, "result"), "refused");
		testutil_read_file(s.efuse, &ef1);
		testutil_read_file(s.flash, &fl1);
		testutil_assert_bytes_equal("eFuses after a refusal", ef1.data, ef1.len, ef0.data, ef0.len);
		testutil_assert_bytes_equal("flash after a refusal", fl1.data, fl1.len, fl0.data, fl0.len);
		/* The manifest records the refusal. */
		char *mp = testutil_join_path(dir, "out/manifest.csv");
		buf_t m = BUF_INIT;
		testutil_read_file(mp, &m);
		const char *at = strstr(buf_terminate_str(&m), runjson_summary(&r, "mac"));
		assert_non_null(at);
		assert_non_null(strstr(at, ",refused,"));
		buf_free_data(&m);
		free(mp);
		buf_free_data(&ef0);
		buf_free_data(&fl0);
		buf_free_data(&ef1);
		buf_free_data(&fl1);
		runjson_free(&r);
		free(profile);
		simrun_free(&s);
		free(cd);
	}
	free(nofctry);
}

/* `espfab demo` provisions each chip with the security settings of the shipped example for its
 * path (h2-light, c3-plug for the DS chips, esp32-bridge for ESP32 and C2); its profile, run
 * through `espfab run`, ends verified with no private key in the clear on flash. */
static void test_demo_profiles_follow_examples(void **state)
{
	if (!*state)
		skip();
	const char *dir = *state;
	char *cache = testutil_join_path(dir, "cache");
	setenv("XDG_CACHE_HOME", cache, 1);
	static const struct {
		const char *chip, *example, *path;
	} cases[] = {
		{"esp32h2", "h2-light.ini", "ecdsa-efuse"}, {"esp32s2", "c3-plug.ini", "ds"},
		{"esp32s3", "c3-plug.ini", "ds"},	    {"esp32c3", "c3-plug.ini", "ds"},
		{"esp32c6", "c3-plug.ini", "ds"},	    {"esp32", "esp32-bridge.ini", "flash-encryption"},
		{"esp32c2", "esp32-bridge.ini", "flash-encryption"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		char name[32];
		snprintf(name, sizeof name, "demo-%s", cases[i].chip);
		char *cd = chip_dir(dir, name);
		char *pd = testutil_join_path(cd, "profile");
		char *argv[] = {"espfab", "demo", "--chip", (char *)cases[i].chip, "--write-profile", pd, NULL};
		buf_t out = BUF_INIT, err = BUF_INIT;
		if (testutil_run_espfab(cd, argv, &out, &err))
			fail_msg("demo --write-profile: %s", (char *)buf_terminate_str(&err));
		char *profile = testutil_join_path(pd, "demo.ini");
		char rel[64];
		snprintf(rel, sizeof rel, "assets/profiles/%s", cases[i].example);
		char *ex = testutil_join_path(testutil_source_dir(), rel);
		struct profile dp, xp;
		err_t e = {0};
		if (profile_load(profile, &dp, &e) || profile_load(ex, &xp, &e))
			fail_msg("%s", e.msg);
		if (dp.path != xp.path || dp.mode != xp.mode || dp.flash_encryption != xp.flash_encryption ||
		    dp.nvs_encryption != xp.nvs_encryption)
			fail_msg("demo --chip %s: [security] differs from %s", cases[i].chip, cases[i].example);
		profile_free(&dp);
		profile_free(&xp);
		struct simrun s = {0};
		sim_start(&s, cd, cases[i].chip);
		struct run_out r;
		runjson_espfab_run(cd, profile, s.port, true, &r);
		assert_run_ok(&r, cases[i].chip);
		assert_true(has_state(&r, "verify-efuse", "done"));
		simrun_stop(&s);
		struct device_check dc = {cases[i].chip, cases[i].path, NULL, false, false};
		check_no_secret(&dc, r.folder, s.flash, &r);
		runjson_free(&r);
		simrun_free(&s);
		buf_free_data(&out);
		buf_free_data(&err);
		free(ex);
		free(profile);
		free(pd);
		free(cd);
	}
	unsetenv("XDG_CACHE_HOME");
	free(cache);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scan_finds_secrets),
		cmocka_unit_test_setup_teardown(test_ds_chips, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fe_chips_development, setup, teardown),
		cmocka_unit_test_setup_teardown(test_c3_ds_flash_encryption_firmware, setup, teardown),
		cmocka_unit_test_setup_teardown(test_h2_production, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ds_production, setup, teardown),
		cmocka_unit_test_setup_teardown(test_h2_production_flash_encryption, setup, teardown),
		cmocka_unit_test_setup_teardown(test_esp32_production, setup, teardown),
		cmocka_unit_test_setup_teardown(test_c2_production, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dac_dir_and_extra_nvs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dac_dir_bad_material, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refusals_touch_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_demo_profiles_follow_examples, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
