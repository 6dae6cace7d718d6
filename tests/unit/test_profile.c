/* Unit tests of src/flow/profile: the shipped example profiles load, a table of bad profiles is
 * refused with file:line and key named, serial patterns expand as documented. */
#include "testutil.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <mbedtls/sha256.h>

#include "core/fileio.h"
#include "flow/fwargs.h"
#include "flow/profile.h"

#define PROFILE_REST                                                                              \
	"product_id = 0x8000\n"                                                                   \
	"vendor_name = Vendor\n"                                                                  \
	"product_name = Product\n"                                                                \
	"[attestation]\n"                                                                         \
	"pai_cert = pki/pai.pem\n"                                                                \
	"pai_key = pki/pai.key\n"                                                                 \
	"cd = pki/cd.der\n"                                                                       \
	"[partitions]\n"                                                                          \
	"table = parts.csv\n"                                                                     \
	"[security]\n"                                                                            \
	"mode = development\n"                                                                    \
	"[device]\n"                                                                              \
	"serial = SN-{seq:06}\n"

static const char *good_base =
	"[product]\n"
	"vendor_id = 0xFFF1\n"
	"product_id = 0x8000\n"
	"vendor_name = Vendor\n"
	"product_name = Product\n"
	"[attestation]\n"
	"pai_cert = pki/pai.pem\n"
	"pai_key = pki/pai.key\n"
	"cd = pki/cd.der\n"
	"[partitions]\n"
	"table = parts.csv\n"
	"[security]\n"
	"mode = development\n"
	"[device]\n"
	"serial = SN-{seq:06}\n";

static char *write_profile(const char *dir, const char *text)
{
	char *path = testutil_join_path(dir, "p.ini");
	testutil_write_file(path, text, strlen(text));
	return path;
}

static void test_minimal_profile_defaults(void **state)
{
	(void)state;
	char *dir = testutil_make_tmpdir();
	char *path = write_profile(dir, good_base);
	struct profile p;
	err_t e = {0};
	assert_int_equal(profile_load(path, &p, &e), 0);
	assert_int_equal(p.vendor_id, 0xFFF1);
	assert_int_equal(p.product_id, 0x8000);
	assert_string_equal(p.vendor_name, "Vendor");
	assert_int_equal(p.iteration_count, 10000);
	assert_false(p.passcode_fixed);
	assert_false(p.discriminator_fixed);
	assert_int_equal(p.path, PROFILE_PATH_AUTO);
	assert_int_equal(p.mode, PROFILE_MODE_DEVELOPMENT);
	assert_string_equal(p.secure_cert_label, "esp_secure_cert");
	assert_string_equal(p.factory_label, "fctry");
	assert_string_equal(p.nvs_keys_label, "nvs_keys");
	/* Relative paths are resolved against the profile's folder. */
	char *want = testutil_join_path(dir, "pki/pai.pem");
	assert_string_equal(p.pai_cert, want);
	free(want);
	want = testutil_join_path(dir, "out");
	assert_string_equal(p.output_dir, want);
	free(want);
	assert_true(profile_allows_chip(&p, "esp32c3"));
	/* The files do not exist: the separate file check names the key. */
	assert_int_equal(profile_check_files(&p, &e), -1);
	assert_non_null(strstr(e.msg, "pai_cert"));
	profile_free(&p);
	free(path);
	testutil_remove_tree(dir);
	free(dir);
}

struct bad_case {
	const char *append;  /* text appended to good_base (or a whole text if replace) */
	bool replace;
	const char *want[3]; /* substrings the message must contain */
};

static const struct bad_case bad_cases[] = {
	{"[bogus]\nx = 1\n", false, {":17:", "[bogus]", "unknown section"}},
	{"[product]\ncolour = red\n", false, {":17:", "colour", "unknown key"}},
	{"[product]\nvendor_id = 0xFFF2\n", false, {":17:", "vendor_id", "already set on line 2"}},
	{"[commissioning]\niteration_count = 999\n", false, {":17:", "iteration_count", "1000..100000"}},
	{"[commissioning]\niteration_count = 100001\n", false, {":17:", "iteration_count", "1000..100000"}},
	{"[commissioning]\niteration_count = 10k\n", false, {":17:", "iteration_count", "10k"}},
	{"[commissioning]\npasscode = 12345678\n", false, {":17:", "passcode", "forbids"}},
	{"[commissioning]\npasscode = 99999999\n", false, {":17:", "passcode", "99999999"}},
	{"[commissioning]\npasscode = -5\n", false, {":17:", "passcode", "random"}},
	{"[commissioning]\ndiscriminator = 4096\n", false, {":17:", "discriminator", "0..4095"}},
	{"[commissioning]\ncommissioning_flow = 3\n", false, {":17:", "commissioning_flow", "0..2"}},
	{"[commissioning]\ndiscovery = 0x100\n", false, {":17:", "discovery", "0..255"}},
	{"[commissioning]\nrotating_id = maybe\n", false, {":17:", "rotating_id", "yes, no"}},
	{"[security]\npath = tpm\n", false, {":17:", "path", "ecdsa-efuse"}},
	{"[security]\nflash_encryption = sometimes\n", false, {":17:", "flash_encryption", "auto, yes, no"}},
	{"[product]\nchips = esp8266\n", false, {":17:", "chips", "esp8266"}},
	{"[product]\nchips = ,\n", false, {":17:", "chips", "no chip"}},
	{"[device]\nmfg_date = 2025-13-01\n", false, {":17:", "mfg_date", "YYYY-MM-DD"}},
	{"[device]\nserial_start = x\n", false, {":17:", "serial_start", "'x'"}},
	{"[partitions]\nfactory = a_label_longer_than_16\n", false, {":17:", "factory", "1 to 16"}},
	{"[attestation]\ndac_dir = dacs\n", false, {":17:", "dac_dir", "not both"}},
	{"[device]\nextra_nvs =\n", false, {":17:", "extra_nvs", "empty path"}},
	{"[output]\ndir\n", false, {":17:", "syntax error", NULL}},
	{"[product]\nvendor_id = 0\n" PROFILE_REST, true, {":2:", "vendor_id", "1..65534"}},
	{"[product]\nvendor_id = 0x10000\n" PROFILE_REST, true, {":2:", "vendor_id", NULL}},
	{"[product]\nvendor_id = 1\nvendor_name = 0123456789012345678901234567890123\n" PROFILE_REST,
	 true, {":3:", "vendor_name", "1 to 32"}},
	/* Missing required keys: the message names the key. */
	{"[product]\nvendor_id = 1\n", true, {"[product] product_id", "missing", NULL}},
};

static const struct bad_case bad_serials[] = {
	{"SN-{seq", false, {"serial", "unclosed", NULL}},
	{"SN-{serial}", false, {"serial", "{serial}", "unknown field"}},
	{"SN-{seq:6}", false, {"serial", "unknown field", NULL}},
	{"SN}", false, {"serial", "unmatched", NULL}},
	{"{mac}{mac}{mac}", false, {"serial", "36 characters", NULL}},
};

static void check_bad(const char *dir, const char *text, const char *const want[3])
{
	char *path = write_profile(dir, text);
	struct profile p;
	err_t e = {0};
	int rc = profile_load(path, &p, &e);
	if (rc != -1)
		fail_msg("profile accepted:\n%s", text);
	assert_int_equal(e.code, ERR_CHECK);
	if (strncmp(e.msg, path, strlen(path)) != 0)
		fail_msg("message does not start with the file name: %s", e.msg);
	for (int i = 0; i < 3 && want[i]; i++)
		if (!strstr(e.msg, want[i]))
			fail_msg("message '%s' lacks '%s' (profile:\n%s)", e.msg, want[i], text);
	free(path);
}

static void test_bad_profiles_name_line_and_key(void **state)
{
	(void)state;
	char *dir = testutil_make_tmpdir();
	for (size_t i = 0; i < sizeof bad_cases / sizeof *bad_cases; i++) {
		const struct bad_case *c = &bad_cases[i];
		buf_t text = BUF_INIT;
		if (!c->replace)
			buf_append_str(&text, good_base);
		buf_append_str(&text, c->append);
		check_bad(dir, buf_terminate_str(&text), c->want);
		buf_free_data(&text);
	}
	for (size_t i = 0; i < sizeof bad_serials / sizeof *bad_serials; i++) {
		buf_t text = BUF_INIT;
		const char *cut = strstr(good_base, "serial =");
		buf_append_bytes(&text, good_base, (size_t)(cut - good_base));
		buf_append_str(&text, "serial = ");
		buf_append_str(&text, bad_serials[i].append);
		buf_append_str(&text, "\n");
		check_bad(dir, buf_terminate_str(&text), bad_serials[i].want);
		buf_free_data(&text);
	}
	testutil_remove_tree(dir);
	free(dir);
}

/* Rules that involve several keys. */
static void test_cross_key_rules(void **state)
{
	(void)state;
	static const struct bad_case cross[] = {
		{"[security]\nmode = production\n", false, {"mode", "already set", NULL}},
		{"[commissioning]\npasscode = 20202021\n", false, {"passcode", "development mode", NULL}},
		{"[commissioning]\ndiscriminator = 3840\n", false, {"discriminator", "development", NULL}},
		{"[security]\nflash_encryption = no\n", false, {"flash_encryption", "production", NULL}},
	};
	char *dir = testutil_make_tmpdir();
	for (size_t i = 0; i < sizeof cross / sizeof *cross; i++) {
		buf_t text = BUF_INIT;
		const char *cut = strstr(good_base, "mode = development");
		buf_append_bytes(&text, good_base, (size_t)(cut - good_base));
		buf_append_str(&text, i == 0 ? "mode = development\n" : "mode = production\n");
		buf_append_str(&text, cut + strlen("mode = development\n"));
		buf_append_str(&text, cross[i].append);
		check_bad(dir, buf_terminate_str(&text), cross[i].want);
		buf_free_data(&text);
	}
	/* flash_encryption = no contradicts the flash-encryption path even in development. */
	check_bad(dir, "[product]\nvendor_id = 1\nproduct_id = 2\nvendor_name = V\nproduct_name = P\n"
		       "[attestation]\npai_cert = a\npai_key = b\ncd = c\n[partitions]\ntable = t\n"
		       "[security]\nmode = development\npath = flash-encryption\nflash_encryption = no\n"
		       "[device]\nserial = {seq}\n",
		  (const char *const[3]){":15:", "flash_encryption", "contradicts"});
	check_bad(dir, "[product]\nvendor_id = 1\nproduct_id = 2\nvendor_name = V\nproduct_name = P\n"
		       "[attestation]\npai_cert = a\ncd = c\n[partitions]\ntable = t\n"
		       "[security]\nmode = development\n[device]\nserial = {seq}\n",
		  (const char *const[3]){":7:", "pai_key", "missing"});
	check_bad(dir, "[product]\nvendor_id = 1\nproduct_id = 2\nvendor_name = V\nproduct_name = P\n"
		       "[attestation]\ncd = c\n[partitions]\ntable = t\n"
		       "[security]\nmode = development\n[device]\nserial = {seq}\n",
		  (const char *const[3]){"[attestation]", "dac_dir", "required"});
	check_bad(dir, "[product]\nvendor_id = 1\nproduct_id = 2\nvendor_name = V\nproduct_name = P\n"
		       "[attestation]\ndac_dir = d\ncd = c\n[partitions]\ntable = t\n"
		       "[security]\nmode = development\nnvs_encryption = yes\nflash_encryption = no\n"
		       "[device]\nserial = {seq}\n",
		  (const char *const[3]){":13:", "nvs_encryption", "flash encryption"});
	testutil_remove_tree(dir);
	free(dir);
}

static void test_example_profiles_load(void **state)
{
	(void)state;
	const char *src = testutil_source_dir();
	if (!src)
		skip();
	static const struct {
		const char *name;
		enum profile_path path;
		uint16_t pid;
		const char *chip, *serial;
	} ex[] = {
		{"h2-light.ini", PROFILE_PATH_ECDSA_EFUSE, 0x8000, "esp32h2", "H2L-000007"},
		{"c3-plug.ini", PROFILE_PATH_DS, 0x8001, "esp32c6", "PLUG-A0B1C2D3E4F5"},
		{"esp32-bridge.ini", PROFILE_PATH_FLASH_ENC, 0x8002, "esp32", "BR-00007-a0b1c2d3e4f5"},
	};
	const uint8_t mac[6] = {0xA0, 0xB1, 0xC2, 0xD3, 0xE4, 0xF5};
	for (size_t i = 0; i < sizeof ex / sizeof *ex; i++) {
		char rel[128];
		snprintf(rel, sizeof rel, "assets/profiles/%s", ex[i].name);
		char *path = testutil_join_path(src, rel);
		struct profile p;
		err_t e = {0};
		if (profile_load(path, &p, &e))
			fail_msg("%s", e.msg);
		assert_int_equal(p.path, ex[i].path);
		assert_int_equal(p.product_id, ex[i].pid);
		assert_true(profile_allows_chip(&p, ex[i].chip));
		assert_false(profile_allows_chip(&p, "esp32s2"));
		char serial[64];
		assert_int_equal(profile_format_serial(p.serial_pattern, 7, mac, serial, sizeof serial, &e), 0);
		assert_string_equal(serial, ex[i].serial);
		/* The partition table the profile names ships with the repository. */
		assert_int_equal(access(p.partition_table, R_OK), 0);
		profile_free(&p);
		free(path);
	}
}

static void test_serial_patterns(void **state)
{
	(void)state;
	const uint8_t mac[6] = {0x0a, 0x1b, 0x2c, 0x3d, 0x4e, 0x5f};
	char out[40];
	err_t e = {0};
	assert_int_equal(profile_format_serial("SN-{seq:06}", 42, mac, out, sizeof out, &e), 0);
	assert_string_equal(out, "SN-000042");
	assert_int_equal(profile_format_serial("{seq}", 1234567, mac, out, sizeof out, &e), 0);
	assert_string_equal(out, "1234567");
	assert_int_equal(profile_format_serial("{{x}}-{MAC}", 0, mac, out, sizeof out, &e), 0);
	assert_string_equal(out, "{x}-0A1B2C3D4E5F");
	/* A sequence wider than the pad keeps all its digits. */
	assert_int_equal(profile_format_serial("{seq:02}", 1234, mac, out, sizeof out, &e), 0);
	assert_string_equal(out, "1234");
	/* Too small an output buffer is an error, not a truncation. */
	assert_int_equal(profile_format_serial("SN-{seq:06}", 1, mac, out, 5, &e), -1);
	assert_int_equal(profile_format_serial("", 1, mac, out, sizeof out, &e), -1);
}

static void write_in(const char *dir, const char *name, const char *text, size_t len)
{
	char *path = testutil_join_path(dir, name);
	testutil_write_file(path, text, len);
	free(path);
}

static void test_flasher_args(void **state)
{
	(void)state;
	char *dir = testutil_make_tmpdir();
	char *sub = testutil_join_path(dir, "bootloader");
	err_t e = {0};
	assert_int_equal(fileio_make_dirs(sub, 0755, &e), 0);
	free(sub);
	char blob[0x1234];
	memset(blob, 0xA5, sizeof blob);
	write_in(dir, "bootloader/bootloader.bin", blob, 0x5000 > sizeof blob ? sizeof blob : 0x5000);
	write_in(dir, "app.bin", blob, sizeof blob);
	write_in(dir, "pt.bin", blob, 0xC00);
	const char *json =
		"{\"write_flash_args\": [\"--flash_mode\", \"dio\"],"
		" \"flash_settings\": {\"flash_mode\": \"dio\", \"flash_size\": \"4MB\", \"flash_freq\": \"80m\"},"
		" \"flash_files\": {\"0x10000\": \"app.bin\", \"0x0\": \"bootloader/bootloader.bin\","
		" \"0x8000\": \"pt.bin\"},"
		" \"extra_esptool_args\": {\"chip\": \"esp32c3\", \"stub\": true}}";
	write_in(dir, "flasher_args.json", json, strlen(json));
	char *path = testutil_join_path(dir, "flasher_args.json");
	struct fwargs f;
	if (fwargs_load(path, &f, &e))
		fail_msg("%s", e.msg);
	assert_int_equal(f.n_images, 3);
	assert_int_equal(f.images[0].offset, 0);
	assert_string_equal(f.images[0].name, "bootloader/bootloader.bin");
	assert_int_equal(f.images[1].offset, 0x8000);
	assert_int_equal(f.images[1].size, 0xC00);
	assert_int_equal(f.images[2].offset, 0x10000);
	assert_int_equal(f.images[2].size, sizeof blob);
	char *want = testutil_join_path(dir, "app.bin");
	assert_string_equal(f.paths[2], want);
	free(want);
	assert_string_equal(f.flash_mode, "dio");
	assert_string_equal(f.flash_freq, "80m");
	assert_string_equal(f.chip, "esp32c3");
	assert_int_equal(fwargs_flash_size_bytes(&f), 4u << 20);
	fwargs_free(&f);

	static const struct {
		const char *json, *want;
	} bad[] = {
		{"{\"flash_files\": {\"0x1001\": \"app.bin\"}}", "0x1001"},
		{"{\"flash_files\": {\"zz\": \"app.bin\"}}", "'zz'"},
		{"{\"flash_files\": {\"0x0\": \"missing.bin\"}}", "missing.bin"},
		{"{\"flash_files\": {}}", "flash_files"},
		{"{\"flash_files\": {\"0x0\": 5}}", "flash_files.0x0"},
		{"{\"flash_files\": {\"0x0\": \"app.bin\", \"0x1000\": \"pt.bin\"}}", "overlaps"},
		{"{\"flash_settings\": {\"flash_mode\": \"fast\"}, \"flash_files\": {\"0x0\": \"app.bin\"}}",
		 "flash_mode"},
		{"{\"flash_files\": ", "flasher_args.json:1"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		write_in(dir, "flasher_args.json", bad[i].json, strlen(bad[i].json));
		assert_int_equal(fwargs_load(path, &f, &e), -1);
		if (!strstr(e.msg, bad[i].want))
			fail_msg("'%s' lacks '%s'", e.msg, bad[i].want);
	}
	free(path);
	testutil_remove_tree(dir);
	free(dir);
}

/* A minimal ESP image: header, one segment, padding and checksum, appended SHA-256. */
static void make_image(buf_t *b, bool digest)
{
	uint8_t hdr[24] = {0xE9, 1, 0x00 /* qio */, 0x10 /* 2MB, 40m */};
	hdr[23] = digest ? 1 : 0;
	buf_append_bytes(b, hdr, sizeof hdr);
	buf_append_u32le(b, 0x40380000);
	buf_append_u32le(b, 20);
	for (int i = 0; i < 20; i++)
		buf_append_byte(b, (uint8_t)i);
	while ((b->len + 1) % 16)
		buf_append_byte(b, 0);
	buf_append_byte(b, 0xEF);
	if (digest) {
		uint8_t sum[32];
		mbedtls_sha256_ret(b->data, b->len, sum, 0);
		buf_append_bytes(b, sum, 32);
	}
}

static void test_bootloader_header(void **state)
{
	(void)state;
	struct fwargs f;
	memset(&f, 0, sizeof f);
	snprintf(f.flash_mode, sizeof f.flash_mode, "dio");
	snprintf(f.flash_size, sizeof f.flash_size, "4MB");
	snprintf(f.flash_freq, sizeof f.flash_freq, "80m");
	err_t e = {0};
	bool patched;
	buf_t img = BUF_INIT;
	make_image(&img, true);
	size_t dlen = img.len - 32;
	/* ESP32-C3: bootloader at 0x0; dio = 2, 4MB = 2 << 4, 80m = 0xF. */
	assert_int_equal(fwargs_patch_bootloader(&f, "esp32c3", 0x0, &img, &patched, &e), 0);
	assert_true(patched);
	assert_int_equal(img.data[2], 0x02);
	assert_int_equal(img.data[3], 0x2F);
	uint8_t sum[32];
	mbedtls_sha256_ret(img.data, dlen, sum, 0);
	assert_memory_equal(img.data + dlen, sum, 32); /* digest follows the new header */
	/* Not the bootloader offset of this chip (ESP32 boots from 0x1000): untouched. */
	buf_t other = BUF_INIT;
	make_image(&other, false);
	assert_int_equal(fwargs_patch_bootloader(&f, "esp32", 0x0, &other, &patched, &e), 0);
	assert_false(patched);
	assert_int_equal(other.data[3], 0x10);
	/* H2 frequencies: 48m = 0xF, 16m = 1; 80m is not an H2 frequency. */
	snprintf(f.flash_freq, sizeof f.flash_freq, "16m");
	assert_int_equal(fwargs_patch_bootloader(&f, "esp32h2", 0x0, &other, &patched, &e), 0);
	assert_true(patched);
	assert_int_equal(other.data[3], 0x21);
	snprintf(f.flash_freq, sizeof f.flash_freq, "80m");
	assert_int_equal(fwargs_patch_bootloader(&f, "esp32h2", 0x0, &other, &patched, &e), -1);
	assert_non_null(strstr(e.msg, "esp32h2"));
	/* "keep" leaves everything as it is. */
	snprintf(f.flash_mode, sizeof f.flash_mode, "keep");
	snprintf(f.flash_size, sizeof f.flash_size, "keep");
	snprintf(f.flash_freq, sizeof f.flash_freq, "keep");
	assert_int_equal(fwargs_patch_bootloader(&f, "esp32s2", 0x1000, &other, &patched, &e), 0);
	assert_false(patched);
	buf_free_data(&img);
	buf_free_data(&other);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_minimal_profile_defaults),
		cmocka_unit_test(test_bad_profiles_name_line_and_key),
		cmocka_unit_test(test_cross_key_rules),
		cmocka_unit_test(test_example_profiles_load),
		cmocka_unit_test(test_serial_patterns),
		cmocka_unit_test(test_flasher_args),
		cmocka_unit_test(test_bootloader_header),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
