/* Secrets audit: runs the host-side commands that make or handle secrets (esp_secure_cert with
 * DS, ECDSA-peripheral and plaintext keys, its dump and --parse_bin views, NVS key generation,
 * NVS encryption with both key schemes, NVS dump of secret values, SPAKE2+, Matter factory
 * batches, attestation key generation, flash encryption, `espfab run` against espfab-sim on the
 * ecdsa-efuse and ds paths) and searches every output that is not a 0600 key file - stdout,
 * stderr, JSON events, journal, manifest, partitions, CSVs, the simulated device's flash - for
 * the private keys, HMAC keys, NVS/XTS and flash-encryption keys and passcodes, as raw bytes (both
 * byte orders), hex (either case, any separators), base64 (any alignment, across line breaks and
 * JSON escapes) and decimal. Key files must be mode 0600. */
#include "testutil.h"

#include <dirent.h>
#include <ftw.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <mbedtls/ecp.h>
#include <mbedtls/pk.h>
#include <mbedtls/rsa.h>

#include "core/hex.h"
#include "crypto/keyfile.h"

#define AUDIT_MAX_NEEDLES 512
#define AUDIT_WINDOW 16

struct audit_needle {
	char secret[48];  /* which secret, for the failure message */
	char form[24];    /* raw, reversed, hex, base64+1, decimal ... */
	int view;         /* AUDIT_VIEW_* the needle is searched in */
	uint8_t bytes[64];
	size_t len;
};

enum { AUDIT_VIEW_RAW, AUDIT_VIEW_HEX, AUDIT_VIEW_B64 };

struct audit {
	struct audit_needle needles[AUDIT_MAX_NEEDLES];
	size_t count;
	size_t secrets;
	size_t outputs_scanned;  /* stdout/stderr/files searched */
	size_t key_files;        /* 0600 files allowed to hold secrets */
};

static struct audit audit;

static void audit_add_needle(const char *secret, const char *form, int view, const void *p, size_t n)
{
	assert_true(audit.count < AUDIT_MAX_NEEDLES);
	assert_true(n <= sizeof audit.needles[0].bytes);
	struct audit_needle *nd = &audit.needles[audit.count++];
	snprintf(nd->secret, sizeof nd->secret, "%s", secret);
	snprintf(nd->form, sizeof nd->form, "%s", form);
	nd->view = view;
	memcpy(nd->bytes, p, n);
	nd->len = n;
}

/* The forms of one 16-byte (or shorter) window of a secret. */
static void audit_add_window(const char *secret, const char *order, const uint8_t *w, size_t n)
{
	char hex[2 * AUDIT_WINDOW + 1], form[24];

	snprintf(form, sizeof form, "raw%s", order);
	audit_add_needle(secret, form, AUDIT_VIEW_RAW, w, n);
	hex_encode_bytes(w, n, hex);
	snprintf(form, sizeof form, "hex%s", order);
	audit_add_needle(secret, form, AUDIT_VIEW_HEX, hex, strlen(hex));
	/* base64 of a window that starts at any offset mod 3 of the encoded stream: skip s bytes
	 * so the rest starts on a 3-byte group, keep whole groups only (no padding). */
	for (size_t s = 0; s < 3 && n - s >= 6; s++) {
		size_t groups = (n - s) / 3;
		buf_t b64 = BUF_INIT;

		hex_encode_base64(w + s, groups * 3, &b64);
		snprintf(form, sizeof form, "base64+%zu%s", s, order);
		audit_add_needle(secret, form, AUDIT_VIEW_B64, b64.data, b64.len);
		buf_free_data(&b64);
	}
}

/* A binary secret: windows at its start, middle and end, in both byte orders (eFuse blocks and
 * DS parameters are stored little-endian). */
static void audit_add_secret(const char *name, const uint8_t *p, size_t n)
{
	uint8_t rev[1024];

	assert_true(n >= 8 && n <= sizeof rev);
	for (size_t i = 0; i < n; i++)
		rev[i] = p[n - 1 - i];
	size_t w = n < AUDIT_WINDOW ? n : AUDIT_WINDOW;
	size_t offs[3] = {0, (n - w) / 2, n - w};
	for (int k = 0; k < 3; k++) {
		if (k && offs[k] == offs[k - 1])
			continue;
		audit_add_window(name, "", p + offs[k], w);
		audit_add_window(name, " reversed", rev + offs[k], w);
	}
	audit.secrets++;
}

static void audit_add_passcode(const char *name, uint32_t passcode)
{
	char dec[16];
	uint8_t le[4] = {passcode & 0xFF, (passcode >> 8) & 0xFF, (passcode >> 16) & 0xFF,
			 passcode >> 24};

	snprintf(dec, sizeof dec, "%08u", passcode);
	audit_add_needle(name, "decimal", AUDIT_VIEW_RAW, dec, strlen(dec));
	audit_add_needle(name, "u32 little-endian", AUDIT_VIEW_RAW, le, sizeof le);
	audit.secrets++;
}

static void audit_clear(void)
{
	memset(&audit, 0, sizeof audit);
}

/* The hex view keeps hex digits only (lower case), so "AA:BB", "aa bb" and "0xaa, 0xbb" match;
 * the base64 view keeps the base64 alphabet only, after dropping JSON escapes, so PEM text
 * wrapped at 64 columns or inside a JSON string matches. */
static void audit_make_views(const uint8_t *p, size_t n, buf_t *hex, buf_t *b64)
{
	for (size_t i = 0; i < n; i++) {
		uint8_t c = p[i];

		if (c == '\\' && i + 1 < n && (p[i + 1] == 'n' || p[i + 1] == 'r' || p[i + 1] == 't')) {
			i++;
			continue;
		}
		if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))
			buf_append_byte(hex, c);
		else if (c >= 'A' && c <= 'F')
			buf_append_byte(hex, (uint8_t)(c - 'A' + 'a'));
		if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '+' ||
		    c == '/')
			buf_append_byte(b64, c);
	}
}

/* The first needle found in the output, or NULL. */
static const struct audit_needle *audit_find(const uint8_t *p, size_t n)
{
	buf_t hex = BUF_INIT, b64 = BUF_INIT;
	const struct audit_needle *hit = NULL;

	audit_make_views(p, n, &hex, &b64);
	for (size_t i = 0; i < audit.count && !hit; i++) {
		const struct audit_needle *nd = &audit.needles[i];
		buf_t raw = {(uint8_t *)p, n, n};
		const buf_t *v = nd->view == AUDIT_VIEW_RAW ? &raw : nd->view == AUDIT_VIEW_HEX ? &hex : &b64;

		if (v->len >= nd->len && memmem(v->data, v->len, nd->bytes, nd->len))
			hit = nd;
	}
	buf_free_data(&hex);
	buf_free_data(&b64);
	return hit;
}

/* Fails the test when any needle occurs in the output. */
static void audit_scan(const char *what, const uint8_t *p, size_t n)
{
	const struct audit_needle *hit = audit_find(p, n);

	if (hit)
		fail_msg("%s contains the secret %s (%s form)", what, hit->secret, hit->form);
	audit.outputs_scanned++;
}

/* Runs espfab in dir and scans its stdout and stderr; returns the exit status. */
static int audit_run(const char *dir, char *const argv[])
{
	buf_t out = BUF_INIT, err = BUF_INIT;
	char what[256];

	int rc = testutil_run_espfab(dir, argv, &out, &err);
	if (rc != 0)
		print_message("espfab %s %s: exit %d\n%.*s\n", argv[1], argv[2] ? argv[2] : "", rc,
			      (int)err.len, (const char *)err.data);
	snprintf(what, sizeof what, "stdout of `espfab %s %s`", argv[1], argv[2] ? argv[2] : "");
	audit_scan(what, out.data, out.len);
	snprintf(what, sizeof what, "stderr of `espfab %s %s`", argv[1], argv[2] ? argv[2] : "");
	audit_scan(what, err.data, err.len);
	buf_free_data(&out);
	buf_free_data(&err);
	return rc;
}

/* ---- scanning a folder: every regular file; 0600 files are key files and are only counted */
static const char *audit_skip_prefix; /* folder of the test's own input copies */

static int audit_scan_file(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)ftw;
	if (type != FTW_F)
		return 0;
	if (audit_skip_prefix && strncmp(path, audit_skip_prefix, strlen(audit_skip_prefix)) == 0)
		return 0;
	if ((st->st_mode & 0777) == 0600) {
		audit.key_files++;
		return 0;
	}
	buf_t data = BUF_INIT;
	testutil_read_file(path, &data);
	audit_scan(path, data.data, data.len);
	buf_free_data(&data);
	return 0;
}

static void audit_scan_tree(const char *dir)
{
	assert_int_equal(nftw(dir, audit_scan_file, 16, FTW_PHYS), 0);
}

static void assert_mode_0600(const char *path)
{
	struct stat st;

	if (stat(path, &st) != 0)
		fail_msg("%s: missing", path);
	if ((st.st_mode & 0777) != 0600)
		fail_msg("%s: mode %03o, a key file must be 0600", path, (unsigned)(st.st_mode & 0777));
}

/* ---- fixtures */
struct fixture {
	char *dir;   /* work folder: outputs */
	char *in;    /* work/in: copies of the input keys and certificates */
};

static void fixture_copy(struct fixture *f, const char *set_case, const char *name, mode_t mode)
{
	char *src = testutil_vector_path("secure_cert", set_case);
	char *from = testutil_join_path(src, name);
	char *to = testutil_join_path(f->in, name);
	buf_t data = BUF_INIT;

	testutil_read_file(from, &data);
	testutil_write_file(to, data.data, data.len);
	assert_int_equal(chmod(to, mode), 0);
	buf_free_data(&data);
	free(src);
	free(from);
	free(to);
}

static int fixture_setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);

	f->dir = testutil_make_tmpdir();
	f->in = testutil_join_path(f->dir, "in");
	assert_int_equal(mkdir(f->in, 0755), 0);
	audit_skip_prefix = f->in;
	audit_clear();
	*state = f;
	return 0;
}

static int fixture_teardown(void **state)
{
	struct fixture *f = *state;

	print_message("secrets audit: %zu secrets, %zu needles, %zu outputs scanned, %zu key files\n",
		      audit.secrets, audit.count, audit.outputs_scanned, audit.key_files);
	testutil_remove_tree(f->dir);
	free(f->in);
	free(f->dir);
	free(f);
	audit_skip_prefix = NULL;
	return 0;
}

/* Adds the private parts of a key file: RSA D, P, Q or the EC scalar. */
static void audit_add_private_key(struct fixture *f, const char *name)
{
	char *path = testutil_join_path(f->in, name);
	buf_t data = BUF_INIT;
	mbedtls_pk_context pk;
	enum keyfile_encoding enc;
	err_t e = {0};
	uint8_t d[512], p[256], q[256];

	testutil_read_file(path, &data);
	mbedtls_pk_init(&pk);
	if (keyfile_load_private_key(data.data, data.len, NULL, name, &pk, &enc, &e) != 0)
		fail_msg("%s", e.msg);
	if (mbedtls_pk_get_type(&pk) == MBEDTLS_PK_RSA) {
		mbedtls_rsa_context *rsa = mbedtls_pk_rsa(pk);
		size_t n = mbedtls_rsa_get_len(rsa);
		assert_int_equal(mbedtls_rsa_export_raw(rsa, NULL, 0, p, n / 2, q, n / 2, d, n, NULL, 0), 0);
		char label[48];
		snprintf(label, sizeof label, "%s RSA D", name);
		audit_add_secret(label, d, n);
		snprintf(label, sizeof label, "%s RSA P", name);
		audit_add_secret(label, p, n / 2);
		snprintf(label, sizeof label, "%s RSA Q", name);
		audit_add_secret(label, q, n / 2);
	} else {
		mbedtls_ecp_keypair *ec = mbedtls_pk_ec(pk);
		size_t n = mbedtls_mpi_size(&ec->grp.P);
		assert_int_equal(mbedtls_mpi_write_binary(&ec->d, d, n), 0);
		char label[48];
		snprintf(label, sizeof label, "%s EC scalar", name);
		audit_add_secret(label, d, n);
	}
	mbedtls_platform_zeroize(d, sizeof d);
	mbedtls_pk_free(&pk);
	buf_wipe_data(&data);
	free(path);
}

static void audit_add_file_secret(const char *label, const char *path, size_t off, size_t n)
{
	buf_t data = BUF_INIT;

	testutil_read_file(path, &data);
	assert_true(data.len >= off + n);
	audit_add_secret(label, data.data + off, n);
	buf_wipe_data(&data);
}

static char *in_path(struct fixture *f, const char *name)
{
	return testutil_join_path(f->in, name);
}

/* dump, dump --json and --parse_bin of a generated esp_secure_cert.bin */
static void audit_seccert_views(struct fixture *f, const char *bin)
{
	char *a1[] = {"espfab", "seccert", "dump", (char *)bin, NULL};
	char *a2[] = {"espfab", "seccert", "dump", (char *)bin, "--json", NULL};
	char *a3[] = {"espfab", "seccert", "--parse_bin", (char *)bin, NULL};

	assert_int_equal(audit_run(f->dir, a1), 0);
	assert_int_equal(audit_run(f->dir, a2), 0);
	assert_int_equal(audit_run(f->dir, a3), 0);
}

/* ---- esp_secure_cert, DS path (RSA key kept as ciphertext), HMAC key given and generated */
static void test_seccert_ds(void **state)
{
	struct fixture *f = *state;
	const char *c = "s04_rsa2048_ds_esp32c3";

	if (!testutil_vectors_dir())
		skip();
	fixture_copy(f, c, "rsa_client_key.pem", 0600);
	fixture_copy(f, c, "rsa_client_cert.pem", 0644);
	fixture_copy(f, c, "rsa_ca_cert.pem", 0644);
	fixture_copy(f, c, "hmac_key.bin", 0600);
	audit_add_private_key(f, "rsa_client_key.pem");
	char *hmac_in = in_path(f, "hmac_key.bin");
	audit_add_file_secret("given HMAC key", hmac_in, 0, 32);

	char *key = in_path(f, "rsa_client_key.pem"), *cert = in_path(f, "rsa_client_cert.pem"),
	     *ca = in_path(f, "rsa_ca_cert.pem");
	char *given[] = {"espfab", "seccert", "--private-key", key, "--device-cert", cert,
			 "--ca-cert", ca, "--configure_ds", "--priv_key_algo", "RSA", "2048",
			 "--efuse_key_id", "1", "--efuse_key_file", hmac_in, "--target_chip",
			 "esp32c3", "--skip_flash", "--esp_secure_cert_data_dir", "ds_given", NULL};
	assert_int_equal(audit_run(f->dir, given), 0);
	char *generated[] = {"espfab", "seccert", "--private-key", key, "--device-cert", cert,
			     "--ca-cert", ca, "--configure_ds", "--priv_key_algo", "RSA", "2048",
			     "--efuse_key_id", "2", "--target_chip", "esp32s3", "--skip_flash",
			     "--esp_secure_cert_data_dir", "ds_gen", NULL};
	assert_int_equal(audit_run(f->dir, generated), 0);

	/* the generated HMAC key: a 0600 file, and a secret from now on */
	char *gen_key = testutil_join_path(f->dir, "ds_gen/hmac_key.bin");
	assert_mode_0600(gen_key);
	audit_add_file_secret("generated HMAC key", gen_key, 0, 32);
	audit_seccert_views(f, "ds_given/esp_secure_cert.bin");
	audit_seccert_views(f, "ds_gen/esp_secure_cert.bin");
	/* the DS partition holds only ciphertext: it is not a key file and is scanned */
	audit_scan_tree(f->dir);
	assert_true(audit.key_files >= 1);
	free(gen_key);
	free(hmac_in);
	free(key);
	free(cert);
	free(ca);
}

/* ---- esp_secure_cert, ECDSA peripheral (H2): the scalar goes to eFuse via ecdsa_key.bin */
static void test_seccert_ecdsa(void **state)
{
	struct fixture *f = *state;
	const char *c = "s06_ecdsa_peripheral_esp32h2";

	if (!testutil_vectors_dir())
		skip();
	fixture_copy(f, c, "h2dev_key.pem", 0600);
	fixture_copy(f, c, "h2dev_cert.der", 0644);
	fixture_copy(f, c, "pai_cert.der", 0644);
	audit_add_private_key(f, "h2dev_key.pem");
	char *key = in_path(f, "h2dev_key.pem"), *cert = in_path(f, "h2dev_cert.der"),
	     *ca = in_path(f, "pai_cert.der");
	char *argv[] = {"espfab", "seccert", "--private-key", key, "--device-cert", cert,
			"--ca-cert", ca, "--configure_ds", "--priv_key_algo", "ECDSA", "256",
			"--efuse_key_id", "1", "--target_chip", "esp32h2", "--skip_flash",
			"--esp_secure_cert_data_dir", "ec", NULL};
	assert_int_equal(audit_run(f->dir, argv), 0);
	char *scalar = testutil_join_path(f->dir, "ec/ecdsa_key.bin");
	char *bin = testutil_join_path(f->dir, "ec/esp_secure_cert.bin");
	assert_mode_0600(scalar);
	/* configure_esp_secure_cert 2.6.1 also keeps a PEM copy of the key in the partition */
	assert_mode_0600(bin);
	audit_seccert_views(f, "ec/esp_secure_cert.bin");
	audit_scan_tree(f->dir);
	free(scalar);
	free(bin);
	free(key);
	free(cert);
	free(ca);
}

/* ---- esp_secure_cert with the DAC key stored in the partition (flash-encryption path) */
static void test_seccert_plain_key(void **state)
{
	struct fixture *f = *state;
	const char *c = "s01_matter_dac_ecdsa_der";

	if (!testutil_vectors_dir())
		skip();
	fixture_copy(f, c, "dac_key.der", 0600);
	fixture_copy(f, c, "dac_cert.der", 0644);
	fixture_copy(f, c, "pai_cert.der", 0644);
	audit_add_private_key(f, "dac_key.der");
	char *key = in_path(f, "dac_key.der"), *cert = in_path(f, "dac_cert.der"),
	     *ca = in_path(f, "pai_cert.der");
	char *argv[] = {"espfab", "seccert", "--private-key", key, "--device-cert", cert,
			"--ca-cert", ca, "--target_chip", "esp32c3", "--skip_flash",
			"--esp_secure_cert_data_dir", "pl", NULL};
	assert_int_equal(audit_run(f->dir, argv), 0);
	char *bin = testutil_join_path(f->dir, "pl/esp_secure_cert.bin");
	assert_mode_0600(bin);
	audit_seccert_views(f, "pl/esp_secure_cert.bin");
	audit_scan_tree(f->dir);
	free(bin);
	free(key);
	free(cert);
	free(ca);
}

/* The one file in dir/keys whose name starts with prefix. */
static char *find_key_file(const char *dir, const char *prefix)
{
	char *keys = testutil_join_path(dir, "keys");
	char pattern[64];
	snprintf(pattern, sizeof pattern, "%s", prefix);
	DIR *d = opendir(keys);
	struct dirent *de;
	char *found = NULL;

	assert_non_null(d);
	while ((de = readdir(d)))
		if (strncmp(de->d_name, pattern, strlen(pattern)) == 0) {
			assert_null(found);
			found = testutil_join_path(keys, de->d_name);
		}
	closedir(d);
	free(keys);
	if (!found)
		fail_msg("no %s* file in %s/keys", prefix, dir);
	return found;
}

/* ---- NVS: key generation, encryption with generated keys (both schemes), dump with the key,
 * dump of secret values */
static void test_nvs_keys(void **state)
{
	struct fixture *f = *state;
	char *csv = testutil_join_path(f->dir, "in/factory.csv");
	/* secret values by the names the inspector withholds */
	const char *rows = "key,type,encoding,value\n"
			   "chip-factory,namespace,,\n"
			   "dac-key,data,hex2bin,"
			   "5f3a91c2d47e08b6a1c9e3f7205d84be6c19a7f3e2d05b8c4a7136e9f0b2d8c5\n"
			   "discriminator,data,u32,3840\n"
			   "nvs.net80211,namespace,,\n"
			   "sta.pswd,data,string,Tr1cky-W1f1-Passphr4se-0042\n";
	testutil_write_file(csv, rows, strlen(rows));
	static const uint8_t dac[32] = {0x5f, 0x3a, 0x91, 0xc2, 0xd4, 0x7e, 0x08, 0xb6, 0xa1, 0xc9, 0xe3,
					0xf7, 0x20, 0x5d, 0x84, 0xbe, 0x6c, 0x19, 0xa7, 0xf3, 0xe2, 0xd0,
					0x5b, 0x8c, 0x4a, 0x71, 0x36, 0xe9, 0xf0, 0xb2, 0xd8, 0xc5};
	const char *pw = "Tr1cky-W1f1-Passphr4se-0042";

	char *gk[] = {"espfab", "nvs", "generate-key", "--outdir", "gk", NULL};
	assert_int_equal(audit_run(f->dir, gk), 0);
	char *enc1[] = {"espfab", "nvs", "encrypt", csv, "enc.bin", "0x3000", "--keygen",
			"--outdir", "ek", NULL};
	assert_int_equal(audit_run(f->dir, enc1), 0);
	char *enc2[] = {"espfab", "nvs", "encrypt", csv, "enc.bin", "0x3000", "--keygen",
			"--key_protect_hmac", "--kp_hmac_keygen", "--outdir", "hk", NULL};
	assert_int_equal(audit_run(f->dir, enc2), 0);

	char *gdir = testutil_join_path(f->dir, "gk"), *edir = testutil_join_path(f->dir, "ek"),
	     *hdir = testutil_join_path(f->dir, "hk");
	char *k1 = find_key_file(gdir, "keys-"), *k2 = find_key_file(edir, "keys-"),
	     *k3 = find_key_file(hdir, "keys-"), *h3 = find_key_file(hdir, "hmac-keys-");
	assert_mode_0600(k1);
	assert_mode_0600(k2);
	assert_mode_0600(k3);
	assert_mode_0600(h3);
	audit_add_file_secret("generated NVS XTS key (generate-key)", k1, 0, 64);
	audit_add_file_secret("generated NVS XTS key (encrypt --keygen)", k2, 0, 64);
	audit_add_file_secret("NVS XTS key derived from the HMAC key", k3, 0, 64);
	audit_add_file_secret("generated NVS HMAC key", h3, 0, 32);

	/* the views of the encrypted partitions, decrypted with their keys */
	char *d1[] = {"espfab", "nvs", "dump", "ek/enc.bin", "--keyfile", k2, NULL};
	char *d2[] = {"espfab", "nvs", "dump", "ek/enc.bin", "--keyfile", k2, "--json", NULL};
	char *d3[] = {"espfab", "nvs", "dump", "hk/enc.bin", "--keyfile", k3, NULL};
	/* The plaintext partition holds the values by design (it is what gets flashed); it is
	 * written among the inputs, which are not scanned, and only its views are. */
	char *g1[] = {"espfab", "nvs", "generate", csv, "in/plain.bin", "0x3000", NULL};
	assert_int_equal(audit_run(f->dir, g1), 0);
	audit_add_secret("DAC key in NVS", dac, sizeof dac);
	audit_add_secret("Wi-Fi passphrase in NVS", (const uint8_t *)pw, strlen(pw));
	char *d4[] = {"espfab", "nvs", "dump", "in/plain.bin", NULL};
	char *d5[] = {"espfab", "nvs", "dump", "in/plain.bin", "--json", NULL};
	assert_int_equal(audit_run(f->dir, d1), 0);
	assert_int_equal(audit_run(f->dir, d2), 0);
	assert_int_equal(audit_run(f->dir, d3), 0);
	assert_int_equal(audit_run(f->dir, d4), 0);
	assert_int_equal(audit_run(f->dir, d5), 0);
	/* the encrypted partitions are 0644 and scanned: neither the values nor a key in clear */
	audit_scan_tree(f->dir);
	free(k1);
	free(k2);
	free(k3);
	free(h3);
	free(gdir);
	free(edir);
	free(hdir);
	free(csv);
}

/* ---- SPAKE2+: the passcode is an input; the output is the verifier only */
static void test_spake2p_passcode(void **state)
{
	struct fixture *f = *state;

	audit_add_passcode("passcode", 24681357);
	char *argv[] = {"espfab", "spake2p", "gen-verifier", "-p", "24681357", "-s",
			"U1BBS0UyUCBLZXkgU2FsdA==", "-i", "1000", NULL};
	assert_int_equal(audit_run(f->dir, argv), 0);
}

/* ---- the audit itself finds a secret in every form it claims to */
static void test_audit_finds_each_form(void **state)
{
	(void)state;
	uint8_t key[32];
	for (size_t i = 0; i < sizeof key; i++)
		key[i] = (uint8_t)(0xA5 ^ (i * 37));
	audit_clear();
	audit_add_secret("test key", key, sizeof key);
	audit_add_passcode("test passcode", 24681357);

	uint8_t clean[300];
	memset(clean, 0x5A, sizeof clean);
	assert_null(audit_find(clean, sizeof clean));

	for (size_t shift = 0; shift < 3; shift++) {
		/* raw, and reversed, at any offset */
		uint8_t raw[64] = {0};
		memcpy(raw + 7 + shift, key + 5, 20);
		assert_non_null(audit_find(raw, sizeof raw));
		for (size_t i = 0; i < 20; i++)
			raw[7 + shift + i] = key[31 - 5 - i];
		assert_non_null(audit_find(raw, sizeof raw));

		/* base64 of the key inside a longer stream, wrapped as PEM, then JSON-escaped */
		uint8_t stream[64];
		memset(stream, 0x11, sizeof stream);
		memcpy(stream + shift, key, sizeof key);
		buf_t b64 = BUF_INIT, pem = BUF_INIT;
		hex_encode_base64(stream, sizeof stream, &b64);
		for (size_t i = 0; i < b64.len; i++) {
			if (i && i % 64 == 0)
				buf_append_str(&pem, "\\n");
			buf_append_byte(&pem, b64.data[i]);
		}
		assert_non_null(audit_find(pem.data, pem.len));
		buf_free_data(&b64);
		buf_free_data(&pem);
	}
	/* hex in upper case with separators */
	buf_t hex = BUF_INIT;
	for (size_t i = 0; i < sizeof key; i++) {
		char two[8];
		snprintf(two, sizeof two, "%02X:", key[i]);
		buf_append_str(&hex, two);
	}
	assert_non_null(audit_find(hex.data, hex.len));
	buf_free_data(&hex);
	/* passcode in decimal */
	const char *line = "{\"passcode\": 24681357}";
	const struct audit_needle *hit = audit_find((const uint8_t *)line, strlen(line));
	assert_non_null(hit);
	assert_string_equal(hit->secret, "test passcode");
	audit_clear();
}

/* Copies a vector file into the fixture's input folder with the given mode. */
static char *fixture_copy_path(struct fixture *f, const char *from, const char *name, mode_t mode)
{
	char *to = testutil_join_path(f->in, name);
	buf_t data = BUF_INIT;

	testutil_read_file(from, &data);
	testutil_write_file(to, data.data, data.len);
	assert_int_equal(chmod(to, mode), 0);
	buf_free_data(&data);
	return to;
}

/* The value of column `col` in the second line of a small CSV file. */
static void csv_second_line_value(const char *path, const char *col, char *out, size_t n)
{
	buf_t data = BUF_INIT;
	testutil_read_file(path, &data);
	buf_terminate_str(&data);
	char *text = (char *)data.data, *nl = strchr(text, '\n');
	assert_non_null(nl);
	*nl = '\0';
	int idx = -1, i = 0;
	for (char *tok = strtok(text, ","); tok; tok = strtok(NULL, ","), i++)
		if (strcmp(tok, col) == 0)
			idx = i;
	assert_true(idx >= 0);
	char *row = nl + 1, *save = NULL;
	i = 0;
	for (char *tok = strtok_r(row, ",\n", &save); tok; tok = strtok_r(NULL, ",\n", &save), i++)
		if (i == idx)
			snprintf(out, n, "%s", tok);
	buf_wipe_data(&data);
}

/* Device folders of an mfg batch: OUT/VID_PID/<uuid>/ */
static char **mfg_device_dirs(const char *top, size_t *count)
{
	DIR *d = opendir(top);
	struct dirent *de;
	char **list = calloc(64, sizeof *list);
	size_t n = 0;

	assert_non_null(d);
	while ((de = readdir(d)) && n < 63)
		if (strlen(de->d_name) == 36 && de->d_name[8] == '-')
			list[n++] = testutil_join_path(top, de->d_name);
	closedir(d);
	*count = n;
	return list;
}

/* ---- Matter factory batch: generated DAC keys, passcodes, NVS encryption keys; DAC kept in
 * NVS (encrypted with -e) and in esp_secure_cert */
static void test_mfg_batch(void **state)
{
	struct fixture *f = *state;

	if (!testutil_vectors_dir())
		skip();
	char *mi = testutil_vector_path("mfg", "m01_basic_factory_nvs/inputs");
	char *src_cert = testutil_join_path(mi, "PAI_cert.pem"), *src_key = testutil_join_path(mi, "PAI_key.pem"),
	     *src_cd = testutil_join_path(mi, "CD.der");
	char *cert = fixture_copy_path(f, src_cert, "PAI_cert.pem", 0644);
	char *key = fixture_copy_path(f, src_key, "PAI_key.pem", 0600);
	char *cd = fixture_copy_path(f, src_cd, "CD.der", 0644);
	audit_add_private_key(f, "PAI_key.pem");

	char *enc[] = {"espfab", "mfg", "-v", "0xFFF2", "-p", "0x8001", "--pai", "-c", cert, "-k", key,
		       "-cd", cd, "-n", "2", "-e", "--outdir", "enc", NULL};
	assert_int_equal(audit_run(f->dir, enc), 0);
	char *sc[] = {"espfab", "mfg", "-v", "0xFFF2", "-p", "0x8001", "--pai", "-c", cert, "-k", key,
		      "-cd", cd, "-n", "2", "--dac-in-secure-cert", "--target", "esp32c3", "--outdir", "sc",
		      NULL};
	assert_int_equal(audit_run(f->dir, sc), 0);

	const char *tops[] = {"enc/fff2_8001", "sc/fff2_8001"};
	size_t devices = 0;
	for (int t = 0; t < 2; t++) {
		char *top = testutil_join_path(f->dir, tops[t]);
		size_t n;
		char **dirs = mfg_device_dirs(top, &n);
		assert_int_equal(n, 2);
		for (size_t i = 0; i < n; i++) {
			const char *uuid = strrchr(dirs[i], '/') + 1;
			char rel[512], label[48], passcode[16] = "";

			snprintf(rel, sizeof rel, "%s/internal/DAC_private_key.bin", dirs[i]);
			assert_mode_0600(rel);
			snprintf(label, sizeof label, "DAC key of device %zu", devices);
			audit_add_file_secret(label, rel, 0, 32);
			snprintf(rel, sizeof rel, "%s/internal/DAC_key.der", dirs[i]);
			assert_mode_0600(rel);
			snprintf(rel, sizeof rel, "%s/%s-onb_codes.csv", dirs[i], uuid);
			assert_mode_0600(rel);
			csv_second_line_value(rel, "passcode", passcode, sizeof passcode);
			snprintf(label, sizeof label, "passcode of device %zu", devices);
			audit_add_passcode(label, (uint32_t)strtoul(passcode, NULL, 10));
			if (t == 0) {
				snprintf(rel, sizeof rel, "%s/%s-keys-partition.bin", dirs[i], uuid);
				assert_mode_0600(rel);
				snprintf(label, sizeof label, "NVS key of device %zu", devices);
				audit_add_file_secret(label, rel, 0, 64);
			} else {
				snprintf(rel, sizeof rel, "%s/%s_esp_secure_cert.bin", dirs[i], uuid);
				struct stat st;
				if (stat(rel, &st) == 0)
					assert_mode_0600(rel);
			}
			devices++;
			free(dirs[i]);
		}
		free(dirs);
		free(top);
	}
	/* summaries and the staging CSVs hold passcodes: 0600 */
	audit_scan_tree(f->dir);
	free(mi);
	free(src_cert);
	free(src_key);
	free(src_cd);
	free(cert);
	free(key);
	free(cd);
}

/* ---- Matter attestation: generated PAA/PAI/DAC keys */
static void test_attest_keys(void **state)
{
	struct fixture *f = *state;

	char *paa[] = {"espfab", "attest", "gen-att-cert", "-t", "a", "-c", "Audit PAA", "-V", "FFF1",
		       "-o", "paa_cert.pem", "-O", "paa_key.pem", "-l", "3650", NULL};
	assert_int_equal(audit_run(f->dir, paa), 0);
	char *pai[] = {"espfab", "attest", "gen-att-cert", "-t", "i", "-c", "Audit PAI", "-V", "FFF1",
		       "-P", "8000", "-C", "paa_cert.pem", "-K", "paa_key.pem", "-o", "pai_cert.der",
		       "-O", "pai_key.der", "-l", "3650", NULL};
	assert_int_equal(audit_run(f->dir, pai), 0);
	char *dac[] = {"espfab", "attest", "gen-att-cert", "-t", "d", "-c", "Audit DAC", "-V", "FFF1",
		       "-P", "8000", "-C", "pai_cert.der", "-K", "pai_key.der", "-o", "dac_cert.pem",
		       "-O", "dac_key.pem", "-l", "365", NULL};
	assert_int_equal(audit_run(f->dir, dac), 0);
	const char *keys[] = {"paa_key.pem", "pai_key.der", "dac_key.pem"};
	for (int i = 0; i < 3; i++) {
		char *path = testutil_join_path(f->dir, keys[i]);
		assert_mode_0600(path);
		/* move it among the inputs so its scalar can be taken out */
		char *to = testutil_join_path(f->in, keys[i]);
		assert_int_equal(rename(path, to), 0);
		audit_add_private_key(f, keys[i]);
		free(path);
		free(to);
	}
	char *val[] = {"espfab", "attest", "validate-att-cert", "--dac", "dac_cert.pem", "--pai",
		       "pai_cert.der", "--paa", "paa_cert.pem", "--dac-key", "in/dac_key.pem", NULL};
	assert_int_equal(audit_run(f->dir, val), 0);
	audit_scan_tree(f->dir);
}

/* ---- flash encryption: the key is an input; the ciphertext and the messages must not hold it */
static void test_flashenc_key(void **state)
{
	struct fixture *f = *state;

	if (!testutil_vectors_dir())
		skip();
	const char *cases[] = {"f02_xts_aes128_esp32c3", "f03_xts_aes256_esp32s3", "f01_esp32_aes256_conf_f"};
	for (int i = 0; i < 3; i++) {
		char *dir = testutil_vector_path("flash_encryption", cases[i]);
		char *k = testutil_join_path(dir, "key.bin"), *pt = testutil_join_path(dir, "plaintext.bin");
		char name[64], out[64];
		snprintf(name, sizeof name, "key%d.bin", i);
		char *key = fixture_copy_path(f, k, name, 0600);
		buf_t kb = BUF_INIT;
		testutil_read_file(key, &kb);
		char label[48];
		snprintf(label, sizeof label, "flash-encryption key of %s", cases[i]);
		audit_add_secret(label, kb.data, kb.len);
		buf_wipe_data(&kb);
		snprintf(out, sizeof out, "enc%d.bin", i);
		char *xts[] = {"espfab", "flashenc", "encrypt-flash-data", "--keyfile", key, "--address",
			       "0x20000", "--aes-xts", "--output", out, pt, NULL};
		char *esp32[] = {"espfab", "flashenc", "encrypt-flash-data", "--keyfile", key, "--address",
				 "0x10000", "--flash-crypt-conf", "0xf", "--output", out, pt, NULL};
		assert_int_equal(audit_run(f->dir, i < 2 ? xts : esp32), 0);
		free(dir);
		free(k);
		free(pt);
		free(key);
	}
	audit_scan_tree(f->dir);
}

/* ---- espfab run against espfab-sim: JSON events, journal, manifest and device folder */
static pid_t audit_sim_pid;

static int audit_sim_start(const char *flash, const char *efuse, const char *chip)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t n = sizeof a;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &n), 0);
	close(fd);
	int port = ntohs(a.sin_port);
	char portarg[16];
	snprintf(portarg, sizeof portarg, "%d", port);
	audit_sim_pid = fork();
	assert_true(audit_sim_pid >= 0);
	if (audit_sim_pid == 0) {
		const char *argv[] = {testutil_sim_bin(), "--chip", chip, "--tcp", portarg, "--flash", flash,
				      "--efuse", efuse, "--flash-size", "8MB", "--no-throttle", NULL};
		if (!freopen("/dev/null", "w", stderr) || !freopen("/dev/null", "w", stdout))
			_exit(126);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	for (int i = 0; i < 200; i++) {
		fd = socket(AF_INET, SOCK_STREAM, 0);
		a.sin_port = htons((uint16_t)port);
		int ok = connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
		close(fd);
		if (ok)
			break;
		usleep(10000);
	}
	usleep(30000);
	return port;
}

static void audit_sim_stop(void)
{
	if (audit_sim_pid > 0) {
		kill(audit_sim_pid, SIGTERM);
		waitpid(audit_sim_pid, NULL, 0);
		audit_sim_pid = 0;
	}
}

/* The private scalar or RSA parts of a key file anywhere (not only among the inputs). */
static void audit_add_key_file(const char *path, const char *label)
{
	buf_t data = BUF_INIT;
	mbedtls_pk_context pk;
	enum keyfile_encoding enc;
	err_t e = {0};
	uint8_t d[512], p[256], q[256];
	char name[48];

	testutil_read_file(path, &data);
	mbedtls_pk_init(&pk);
	if (keyfile_load_private_key(data.data, data.len, NULL, path, &pk, &enc, &e) != 0)
		fail_msg("%s", e.msg);
	if (mbedtls_pk_get_type(&pk) == MBEDTLS_PK_RSA) {
		mbedtls_rsa_context *rsa = mbedtls_pk_rsa(pk);
		size_t n = mbedtls_rsa_get_len(rsa);
		assert_int_equal(mbedtls_rsa_export_raw(rsa, NULL, 0, p, n / 2, q, n / 2, d, n, NULL, 0), 0);
		snprintf(name, sizeof name, "%s D", label);
		audit_add_secret(name, d, n);
		snprintf(name, sizeof name, "%s P", label);
		audit_add_secret(name, p, n / 2);
		snprintf(name, sizeof name, "%s Q", label);
		audit_add_secret(name, q, n / 2);
	} else {
		mbedtls_ecp_keypair *ec = mbedtls_pk_ec(pk);
		size_t n = mbedtls_mpi_size(&ec->grp.P);
		assert_int_equal(mbedtls_mpi_write_binary(&ec->d, d, n), 0);
		audit_add_secret(label, d, n);
	}
	mbedtls_platform_zeroize(d, sizeof d);
	mbedtls_pk_free(&pk);
	buf_wipe_data(&data);
}

static void audit_run_chip(struct fixture *f, const char *chip, const char *table, const char *security,
			   bool dac_in_hw)
{
	char *mi = testutil_vector_path("mfg", "m01_basic_factory_nvs/inputs");
	char *sc = testutil_join_path(mi, "PAI_cert.pem"), *sk = testutil_join_path(mi, "PAI_key.pem"),
	     *scd = testutil_join_path(mi, "CD.der");
	char *cert = fixture_copy_path(f, sc, "pai_cert.pem", 0644);
	char *key = fixture_copy_path(f, sk, "pai_key.pem", 0600);
	char *cd = fixture_copy_path(f, scd, "cd.der", 0644);
	char rel[128], text[2048];
	snprintf(rel, sizeof rel, "assets/partitions/%s", table);
	char *tpath = testutil_join_path(testutil_source_dir(), rel);
	snprintf(text, sizeof text,
		 "[product]\nvendor_id = 0xFFF2\nproduct_id = 0x8001\nvendor_name = Audit\nproduct_name = Audit\n"
		 "chips = %s\n[attestation]\npai_cert = %s\npai_key = %s\ncd = %s\n[partitions]\ntable = %s\n"
		 "[security]\n%s\n[device]\nserial = AU-{seq:03}\n",
		 chip, cert, key, cd, tpath, security);
	char *profile = testutil_join_path(f->in, "profile.ini");
	testutil_write_file(profile, text, strlen(text));
	audit_add_private_key(f, "pai_key.pem");
	/* the simulated chip's flash and eFuses live among the inputs: scanned on purpose below */
	char *flash = testutil_join_path(f->in, "flash.bin"), *efuse = testutil_join_path(f->in, "efuse.bin");
	int port = audit_sim_start(flash, efuse, chip);
	char portarg[64];
	snprintf(portarg, sizeof portarg, "socket://127.0.0.1:%d", port);
	buf_t out = BUF_INIT, err = BUF_INIT;
	char *argv[] = {"espfab", "run", "--profile", profile, "--port", portarg, "--out", "out", "--json", "--yes",
			NULL};
	int rc = testutil_run_espfab(f->dir, argv, &out, &err);
	audit_sim_stop();
	if (rc != 0)
		fail_msg("espfab run: exit %d: %s", rc, buf_terminate_str(&err));
	/* the device folder, from the done event */
	const char *t = buf_terminate_str(&out), *fo = strstr(t, "\"folder\":\"");
	assert_non_null(fo);
	fo += 10;
	char folder[512];
	snprintf(folder, sizeof folder, "%.*s", (int)(strchr(fo, '"') - fo), fo);
	char path[1200];
	snprintf(path, sizeof path, "%s/%s/internal/DAC_key.der", f->dir, folder);
	assert_mode_0600(path);
	audit_add_key_file(path, "device DAC key");
	snprintf(path, sizeof path, "%s/%s/keys/ds_hmac_key.bin", f->dir, folder);
	struct stat st;
	if (stat(path, &st) == 0) {
		assert_mode_0600(path);
		audit_add_file_secret("DS HMAC key", path, 0, 32);
		snprintf(path, sizeof path, "%s/%s/keys/ds_rsa_key.der", f->dir, folder);
		assert_mode_0600(path);
		audit_add_key_file(path, "DS RSA key");
	}
	/* flash: no key in the clear where the path keeps it in hardware */
	buf_t fl = BUF_INIT;
	testutil_read_file(flash, &fl);
	if (dac_in_hw) {
		audit_scan("the simulated device's flash", fl.data, fl.len);
	} else {
		/* the DAC key is in flash by design on this path (development): only the DS keys
		 * are searched for */
		struct audit saved = audit;
		size_t keep = 0;
		for (size_t i = 0; i < audit.count; i++)
			if (strncmp(audit.needles[i].secret, "device DAC key", 14))
				audit.needles[keep++] = audit.needles[i];
		audit.count = keep;
		audit_scan("the simulated device's flash", fl.data, fl.len);
		audit = saved;
	}
	buf_free_data(&fl);
	/* the passcode, from the 0600 identity record */
	snprintf(path, sizeof path, "%s/%s/identity.json", f->dir, folder);
	assert_mode_0600(path);
	json_t *id = testutil_load_json(path);
	audit_add_passcode("device passcode", (uint32_t)json_integer_value(json_object_get(id, "passcode")));
	json_decref(id);
	audit_scan("stdout of `espfab run --json`", out.data, out.len);
	audit_scan("stderr of `espfab run`", err.data, err.len);
	/* journal.db, manifest.csv, the factory partition, certificates */
	audit_scan_tree(f->dir);
	buf_free_data(&out);
	buf_free_data(&err);
	free(flash);
	free(efuse);
	free(profile);
	free(tpath);
	free(mi);
	free(sc);
	free(sk);
	free(scd);
	free(cert);
	free(key);
	free(cd);
}

static void test_run_ecdsa_efuse(void **state)
{
	if (!testutil_vectors_dir() || !getenv("ESPFAB_SIM_BIN") || !testutil_source_dir())
		skip();
	audit_run_chip(*state, "esp32h2", "h2-light.csv", "mode = development", true);
}

static void test_run_ds(void **state)
{
	if (!testutil_vectors_dir() || !getenv("ESPFAB_SIM_BIN") || !testutil_source_dir())
		skip();
	audit_run_chip(*state, "esp32c3", "c3-plug.csv", "mode = development\npath = ds\nflash_encryption = no",
		       false);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_audit_finds_each_form),
		cmocka_unit_test_setup_teardown(test_seccert_ds, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_seccert_ecdsa, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_seccert_plain_key, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_nvs_keys, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_spake2p_passcode, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_mfg_batch, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_attest_keys, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_flashenc_key, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_run_ecdsa_efuse, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_run_ds, fixture_setup, fixture_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
