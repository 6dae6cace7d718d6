/* bench_run: where the time of one provisioning run goes, per phase, on the host side (no device
 * I/O): planning, drawing and persisting an identity, the DAC and the SPAKE2+ verifier, building
 * the images, and a whole engine run against an in-memory chip. Prints a table with each phase's
 * share of the whole run. Usage: bench_run [DEVICES]  (default 20). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <mbedtls/ecp.h>
#include <mbedtls/pk.h>
#include <mbedtls/x509_crt.h>

#include "core/fileio.h"
#include "core/rng.h"
#include "flow/engine.h"
#include "flow/gen.h"
#include "flow/identity.h"
#include "flow/plan.h"
#include "flow/profile.h"
#include "testutil.h"

static double bench_now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* ---- an in-memory H2 ---- */
struct mem_dev {
	struct flow_device base;
	struct plan_chip chip;
	uint8_t *flash;
};

static int mem_detect(struct flow_device *d, struct plan_chip *c, err_t *e)
{
	(void)e;
	*c = ((struct mem_dev *)d)->chip;
	return 0;
}
static int mem_burn_key(struct flow_device *d, int b, uint8_t purpose, const uint8_t *k, size_t n, bool rp, err_t *e)
{
	(void)k;
	(void)n;
	(void)e;
	struct mem_dev *m = (struct mem_dev *)d;
	m->chip.key[b].empty = false;
	m->chip.key[b].purpose = purpose;
	m->chip.key[b].rd_dis = rp;
	m->chip.key[b].wr_dis = true;
	return 0;
}
static int mem_fe(struct flow_device *d, bool release, err_t *e)
{
	(void)e;
	((struct mem_dev *)d)->chip.crypt_cnt = release ? 7 : 1;
	return 0;
}
static int mem_nop(struct flow_device *d, err_t *e)
{
	(void)d;
	(void)e;
	return 0;
}
static int mem_write(struct flow_device *d, uint32_t off, const uint8_t *p, size_t n, const struct flow_progress *pr,
		     err_t *e)
{
	(void)pr;
	(void)e;
	memcpy(((struct mem_dev *)d)->flash + off, p, n);
	return 0;
}
static int mem_read(struct flow_device *d, uint32_t off, size_t n, buf_t *out, const struct flow_progress *pr,
		    err_t *e)
{
	(void)pr;
	(void)e;
	out->len = 0;
	buf_append_bytes(out, ((struct mem_dev *)d)->flash + off, n);
	return 0;
}
static void mem_close(struct flow_device *d)
{
	(void)d;
}
static const struct flow_device_ops mem_ops = {mem_detect, mem_burn_key, mem_fe, mem_nop, mem_nop,
					       mem_write, mem_read, mem_close};

static void mem_init(struct mem_dev *m, unsigned n)
{
	memset(m, 0, sizeof *m);
	m->base.ops = &mem_ops;
	snprintf(m->chip.name, sizeof m->chip.name, "esp32h2");
	m->chip.rev_major = 1;
	m->chip.mac[0] = 0x60;
	m->chip.mac[4] = (uint8_t)(n >> 8);
	m->chip.mac[5] = (uint8_t)n;
	m->chip.flash_size = 4u << 20;
	m->chip.has_ecdsa = true;
	for (int b = 0; b < PLAN_MAX_KEY_BLOCKS; b++)
		m->chip.key[b].empty = true;
	m->flash = malloc(m->chip.flash_size);
	memset(m->flash, 0xFF, m->chip.flash_size);
}

static void bench_pki(const char *dir)
{
	mbedtls_pk_context key;
	mbedtls_pk_init(&key);
	mbedtls_pk_setup(&key, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY));
	mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1, mbedtls_pk_ec(key), rng_mbedtls_callback, NULL);
	mbedtls_x509write_cert crt;
	mbedtls_x509write_crt_init(&crt);
	mbedtls_x509write_crt_set_md_alg(&crt, MBEDTLS_MD_SHA256);
	mbedtls_x509write_crt_set_subject_key(&crt, &key);
	mbedtls_x509write_crt_set_issuer_key(&crt, &key);
	mbedtls_x509write_crt_set_subject_name(&crt, "CN=Bench PAI");
	mbedtls_x509write_crt_set_issuer_name(&crt, "CN=Bench PAI");
	mbedtls_mpi serial;
	mbedtls_mpi_init(&serial);
	mbedtls_mpi_lset(&serial, 1);
	mbedtls_x509write_crt_set_serial(&crt, &serial);
	mbedtls_x509write_crt_set_validity(&crt, "20240101000000", "20991231235959");
	mbedtls_x509write_crt_set_basic_constraints(&crt, 1, 0);
	mbedtls_x509write_crt_set_key_usage(&crt, MBEDTLS_X509_KU_KEY_CERT_SIGN | MBEDTLS_X509_KU_CRL_SIGN);
	mbedtls_x509write_crt_set_subject_key_identifier(&crt);
	mbedtls_x509write_crt_set_authority_key_identifier(&crt);
	unsigned char pem[4096];
	mbedtls_x509write_crt_pem(&crt, pem, sizeof pem, rng_mbedtls_callback, NULL);
	char *p = testutil_join_path(dir, "pai_cert.pem");
	testutil_write_file(p, pem, strlen((char *)pem));
	free(p);
	mbedtls_pk_write_key_pem(&key, pem, sizeof pem);
	p = testutil_join_path(dir, "pai_key.pem");
	testutil_write_file(p, pem, strlen((char *)pem));
	chmod(p, 0600);
	free(p);
	uint8_t cd[300] = {0x30};
	p = testutil_join_path(dir, "cd.der");
	testutil_write_file(p, cd, sizeof cd);
	free(p);
	const char *table = "esp_secure_cert, 0x3F, , 0xd000, 0x2000,\nnvs, data, nvs, 0x10000, 0xC000,\n"
			    "ota_0, app, ota_0, 0x20000, 0x1E0000,\nfctry, data, nvs, 0x3E0000, 0x6000,\n";
	p = testutil_join_path(dir, "parts.csv");
	testutil_write_file(p, table, strlen(table));
	free(p);
	const char *ini = "[product]\nvendor_id = 0xFFF1\nproduct_id = 0x8000\nvendor_name = Bench\n"
			  "product_name = Bench Light\nchips = esp32h2\n[attestation]\npai_cert = pai_cert.pem\n"
			  "pai_key = pai_key.pem\ncd = cd.der\n[partitions]\ntable = parts.csv\n"
			  "[security]\nmode = development\n[device]\nserial = B-{seq:05}\n";
	p = testutil_join_path(dir, "bench.ini");
	testutil_write_file(p, ini, strlen(ini));
	free(p);
	mbedtls_mpi_free(&serial);
	mbedtls_x509write_crt_free(&crt);
	mbedtls_pk_free(&key);
}

static void bench_emit(void *ctx, const struct engine_event *ev)
{
	(void)ctx;
	(void)ev;
}

int main(int argc, char **argv)
{
	unsigned n = argc > 1 ? (unsigned)atoi(argv[1]) : 20;
	if (n == 0)
		n = 1;
	char *dir = testutil_make_tmpdir();
	bench_pki(dir);
	char *ini = testutil_join_path(dir, "bench.ini");
	err_t e = {0};
	struct profile prof;
	if (profile_load(ini, &prof, &e)) {
		fprintf(stderr, "%s\n", e.msg);
		return 1;
	}
	struct plan_partition *parts;
	int n_parts;
	if (gen_load_layout(&prof, &parts, &n_parts, &e)) {
		fprintf(stderr, "%s\n", e.msg);
		return 1;
	}
	struct mem_dev m;
	mem_init(&m, 0);
	struct plan_input in = {&prof, &m.chip, parts, n_parts, NULL, 0, false};
	struct plan plan;

	double t0 = bench_now();
	for (unsigned i = 0; i < n * 100; i++)
		plan_build(&in, &plan, &e);
	double t_plan = (bench_now() - t0) / (n * 100);

	double t_draw = 0, t_dac = 0, t_ver = 0, t_img = 0, t_save = 0;
	for (unsigned i = 0; i < n; i++) {
		struct identity id;
		struct gen_output g;
		struct journal_file files[IDENTITY_MAX_FILES];
		int nf;
		double a = bench_now();
		identity_draw(&id, &prof, &plan, "esp32h2", m.chip.mac, i, &e);
		double b = bench_now();
		gen_make_dac(&id, &prof, &e);
		double c = bench_now();
		gen_make_verifier(&id, &e);
		gen_make_payload(&id, &prof, &e);
		double d = bench_now();
		if (gen_build_images(&id, &prof, &plan, &g, &e))
			fprintf(stderr, "%s\n", e.msg);
		double f = bench_now();
		identity_save(&id, files, &nf, &e);
		double h = bench_now();
		t_draw += b - a;
		t_dac += c - b;
		t_ver += d - c;
		t_img += f - d;
		t_save += h - f;
		gen_output_free(&g);
		identity_free(&id);
	}
	t_draw /= n;
	t_dac /= n;
	t_ver /= n;
	t_img /= n;
	t_save /= n;

	double t_run = 0;
	for (unsigned i = 0; i < n; i++) {
		struct mem_dev dev;
		mem_init(&dev, i + 1);
		struct engine_options o = {.profile_path = ini, .assume_yes = true};
		struct engine_hooks h = {NULL, bench_emit, NULL, NULL};
		struct engine_result res;
		double a = bench_now();
		if (engine_run_device(&o, &dev.base, &h, &res, &e))
			fprintf(stderr, "run: %s\n", e.msg);
		t_run += bench_now() - a;
		free(dev.flash);
	}
	t_run /= n;

	printf("espfab provisioning, host side, ESP32-H2 ecdsa-efuse path, %u devices (10000 PBKDF2 iterations)\n\n", n);
	printf("%-58s %12s %10s\n", "phase", "ms/device", "of run");
	struct {
		const char *name;
		double t;
	} rows[] = {
		{"plan (chip state x profile)", t_plan},
		{"identity draw (codes, salt, keys)", t_draw},
		{"DAC key + certificate (signed by PAI)", t_dac},
		{"SPAKE2+ verifier + QR/manual code", t_ver},
		{"images (esp_secure_cert, factory NVS)", t_img},
		{"persist identity (fsync'd 0600 files)", t_save},
		{"rest: journal commits (synchronous=FULL), outputs, readback",
		 t_run - t_plan - t_draw - t_dac - t_ver - t_img - t_save},
		{"whole engine run, in-memory chip", t_run},
	};
	for (size_t i = 0; i < sizeof rows / sizeof *rows; i++)
		printf("%-58s %12.3f %9.1f%%\n", rows[i].name, rows[i].t * 1e3, 100.0 * rows[i].t / t_run);
	free(parts);
	profile_free(&prof);
	free(m.flash);
	free(ini);
	testutil_remove_tree(dir);
	free(dir);
	return 0;
}
