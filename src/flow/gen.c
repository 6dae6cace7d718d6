#include "flow/gen.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <mbedtls/pk.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/rsa.h>
#include <mbedtls/x509_crt.h>

#include "core/fileio.h"
#include "core/hex.h"
#include "core/rng.h"
#include "crypto/attest.h"
#include "crypto/cd.h"
#include "crypto/flashenc.h"
#include "crypto/keyfile.h"
#include "crypto/nvs_crypt.h"
#include "crypto/spake2p.h"
#include "flow/journal.h"
#include "formats/nvs.h"
#include "formats/nvs_csv.h"
#include "formats/nvs_read.h"
#include "formats/nvs_write.h"
#include "formats/parttable.h"
#include "formats/payload.h"
#include "formats/seccert.h"
#include "formats/seccert_build.h"
#include "formats/seccert_describe.h"

#define GEN_DS_RSA_BITS 2048
#define GEN_DAC_LIFETIME_DAYS 36500 /* the mfg tool's default */

int gen_load_layout(const struct profile *p, struct plan_partition **parts, int *n, err_t *e)
{
	*parts = NULL;
	*n = 0;
	struct parttable_options o;
	parttable_default_options(&o);
	struct parttable *t = mem_alloc_zeroed(sizeof *t);
	if (parttable_load_csv_file(p->partition_table, &o, t, e)) {
		free(t);
		return -1;
	}
	*parts = mem_alloc_zeroed((t->count ? t->count : 1) * sizeof **parts);
	for (size_t i = 0; i < t->count; i++) {
		const struct parttable_entry *en = &t->entries[i];
		struct plan_partition *pp = &(*parts)[i];
		snprintf(pp->label, sizeof pp->label, "%s", en->name);
		pp->type = en->type;
		pp->subtype = en->subtype;
		pp->offset = en->offset;
		pp->size = en->size;
		pp->encrypted = (en->flags & PARTTABLE_FLAG_ENCRYPTED) != 0;
	}
	*n = (int)t->count;
	free(t);
	return 0;
}

/* ---- DAC ---- */

static int gen_make_dac_signed(struct identity *id, const struct profile *p, err_t *e)
{
	mbedtls_x509_crt pai;
	mbedtls_pk_context pai_key, key;
	mbedtls_x509_crt_init(&pai);
	mbedtls_pk_init(&pai_key);
	mbedtls_pk_init(&key);
	buf_t der = BUF_INIT;
	int rc = -1;
	if (attest_read_cert_file(p->pai_cert, &pai, e) || attest_read_key_file(p->pai_key, &pai_key, e) ||
	    attest_generate_key(&key, e))
		goto out;
	struct attest_cert_params cp = {
		.type = ATTEST_DAC,
		.subject_cn = id->uuid,
		.has_vid = true,
		.vid = p->vendor_id,
		.has_pid = true,
		.pid = p->product_id,
		.valid_from = time(NULL),
		.lifetime_days = GEN_DAC_LIFETIME_DAYS,
	};
	if (attest_make_cert(&cp, &key, &pai, &pai_key, &der, e))
		goto out;
	buf_free_data(&id->dac_cert);
	buf_append_bytes(&id->dac_cert, der.data, der.len);
	buf_free_data(&id->pai_cert);
	buf_append_bytes(&id->pai_cert, pai.raw.p, pai.raw.len);
	buf_wipe_data(&id->dac_key);
	if (attest_export_key_der(&key, &id->dac_key, e))
		goto out;
	rc = 0;
out:
	buf_free_data(&der);
	mbedtls_x509_crt_free(&pai);
	mbedtls_pk_free(&pai_key);
	mbedtls_pk_free(&key);
	return rc;
}

/* Reads the first of name.der / name.pem in dir. */
static int gen_read_either(const char *dir, const char *name, buf_t *out, char *used, size_t n, err_t *e)
{
	static const char *const exts[] = {".der", ".pem"};
	for (int i = 0; i < 2; i++) {
		char file[64], path[1024];
		snprintf(file, sizeof file, "%s%s", name, exts[i]);
		fileio_join_path(path, sizeof path, dir, file);
		if (access(path, R_OK) == 0) {
			snprintf(used, n, "%s", path);
			return fileio_read_file(path, out, e);
		}
	}
	return err_set_msg(e, ERR_CHECK, "%s: no %s.der or %s.pem", dir, name, name);
}

static int gen_compare_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Claims the first sub-folder of dac_dir without a .claimed mark; O_EXCL makes the claim atomic,
 * so two stations sharing the folder never give one DAC to two devices. */
static int gen_claim_dac_folder(const struct profile *p, const struct identity *id, bool claim, char *out,
				size_t n, err_t *e)
{
	DIR *d = opendir(p->dac_dir);
	if (!d)
		return err_set_msg(e, ERR_CHECK, "dac_dir %s: %s", p->dac_dir, strerror(errno));
	char **names = NULL;
	size_t count = 0, cap = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if (count == cap) {
			cap = cap ? 2 * cap : 64;
			names = realloc(names, cap * sizeof *names);
			if (!names)
				abort();
		}
		names[count++] = mem_strdup(de->d_name);
	}
	closedir(d);
	qsort(names, count, sizeof *names, gen_compare_names);
	int rc = err_set_msg(e, ERR_CHECK, "dac_dir %s: every DAC is already used", p->dac_dir);
	char mac[18];
	journal_format_mac(id->mac, mac);
	for (size_t i = 0; i < count && rc; i++) {
		char sub[1024], mark[1100];
		fileio_join_path(sub, sizeof sub, p->dac_dir, names[i]);
		snprintf(mark, sizeof mark, "%s/.claimed", sub);
		if (!claim) {
			/* A dry run shows the DAC the next run would take and leaves it unclaimed. */
			if (access(mark, F_OK) == 0)
				continue;
			snprintf(out, n, "%s", sub);
			rc = 0;
			break;
		}
		int fd = open(mark, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		if (fd < 0)
			continue;
		char line[64];
		int len = snprintf(line, sizeof line, "%s\n", mac);
		if (write(fd, line, (size_t)len) != len || fsync(fd) != 0) {
			close(fd);
			rc = err_set_msg(e, ERR_CHECK, "%s: cannot record the claim", mark);
			break;
		}
		close(fd);
		snprintf(out, n, "%s", sub);
		rc = 0;
	}
	for (size_t i = 0; i < count; i++)
		free(names[i]);
	free(names);
	return rc;
}

/* A pre-made DAC must be this product's, signed by the PAI beside it and paired with its key:
 * anything else gives a device that fails attestation, with its key already burned. */
static int gen_check_dac_folder(const char *dir, const struct identity *id, const struct profile *p,
				mbedtls_pk_context *key, err_t *e)
{
	mbedtls_x509_crt dac, pai;
	mbedtls_x509_crt_init(&dac);
	mbedtls_x509_crt_init(&pai);
	int rc = -1;
	bool has_vid = false, has_pid = false;
	uint16_t vid = 0, pid = 0;
	uint32_t flags = 0;
	if (mbedtls_x509_crt_parse_der(&dac, id->dac_cert.data, id->dac_cert.len) ||
	    mbedtls_x509_crt_parse_der(&pai, id->pai_cert.data, id->pai_cert.len)) {
		err_set_msg(e, ERR_CHECK, "dac_dir %s: DAC_cert or PAI_cert is not an X.509 certificate", dir);
		goto out;
	}
	if (mbedtls_pk_check_pair(&dac.pk, key) != 0) {
		err_set_msg(e, ERR_CHECK, "dac_dir %s: DAC_key does not belong to DAC_cert", dir);
		goto out;
	}
	if (mbedtls_x509_crt_verify(&dac, &pai, NULL, NULL, &flags, NULL, NULL) != 0 &&
	    (flags & MBEDTLS_X509_BADCERT_NOT_TRUSTED)) {
		err_set_msg(e, ERR_CHECK, "dac_dir %s: DAC_cert is not signed by PAI_cert", dir);
		goto out;
	}
	if (attest_get_subject_ids(&dac, &has_vid, &vid, &has_pid, &pid, e)) {
		err_prepend_context(e, "dac_dir %s: DAC_cert", dir);
		goto out;
	}
	if (!has_vid || !has_pid) {
		err_set_msg(e, ERR_CHECK, "dac_dir %s: DAC_cert carries no Matter %s in its subject", dir,
			    has_vid ? "product id" : "vendor id");
		goto out;
	}
	if (vid != p->vendor_id || pid != p->product_id) {
		err_set_msg(e, ERR_CHECK, "dac_dir %s: DAC_cert is for VID 0x%04X PID 0x%04X, the profile "
			    "makes 0x%04X/0x%04X", dir, vid, pid, p->vendor_id, p->product_id);
		goto out;
	}
	rc = 0;
out:
	mbedtls_x509_crt_free(&dac);
	mbedtls_x509_crt_free(&pai);
	return rc;
}

static int gen_take_dac_from_dir(struct identity *id, const struct profile *p, bool claim, err_t *e)
{
	char dir[1024], used[1024];
	if (gen_claim_dac_folder(p, id, claim, dir, sizeof dir, e))
		return -1;
	buf_t raw = BUF_INIT;
	int rc = -1;
	enum keyfile_encoding enc;
	mbedtls_pk_context pk;
	mbedtls_pk_init(&pk);
	buf_free_data(&id->dac_cert);
	buf_free_data(&id->pai_cert);
	buf_wipe_data(&id->dac_key);
	if (gen_read_either(dir, "DAC_cert", &raw, used, sizeof used, e) ||
	    keyfile_load_cert(raw.data, raw.len, used, &id->dac_cert, &enc, e))
		goto out;
	raw.len = 0;
	if (gen_read_either(dir, "PAI_cert", &raw, used, sizeof used, e) ||
	    keyfile_load_cert(raw.data, raw.len, used, &id->pai_cert, &enc, e))
		goto out;
	buf_wipe_data(&raw);
	if (gen_read_either(dir, "DAC_key", &raw, used, sizeof used, e) ||
	    keyfile_load_private_key(raw.data, raw.len, NULL, used, &pk, &enc, e) ||
	    gen_check_dac_folder(dir, id, p, &pk, e) ||
	    keyfile_encode_private_key(&pk, KEYFILE_DER, &id->dac_key, e))
		goto out;
	rc = 0;
out:
	buf_wipe_data(&raw);
	mbedtls_pk_free(&pk);
	if (rc && claim) {
		/* Unusable material stays unclaimed, so every run names it until it is replaced
		 * instead of quietly skipping to the next DAC. */
		char mark[1100];
		snprintf(mark, sizeof mark, "%s/.claimed", dir);
		unlink(mark);
	}
	return rc;
}

int gen_make_dac(struct identity *id, const struct profile *p, err_t *e)
{
	if (p->dac_dir)
		return gen_take_dac_from_dir(id, p, true, e);
	return gen_make_dac_signed(id, p, e);
}

int gen_preview_dac(struct identity *id, const struct profile *p, err_t *e)
{
	if (p->dac_dir)
		return gen_take_dac_from_dir(id, p, false, e);
	return gen_make_dac_signed(id, p, e);
}

int gen_make_verifier(struct identity *id, err_t *e)
{
	if (spake2p_compute_verifier(id->passcode, id->salt, id->salt_len, id->iterations, id->verifier, e))
		return -1;
	id->has_verifier = true;
	return 0;
}

int gen_make_payload(struct identity *id, const struct profile *p, err_t *e)
{
	struct payload pl;
	memset(&pl, 0, sizeof pl);
	pl.vid = p->vendor_id;
	pl.pid = p->product_id;
	pl.flow = (uint8_t)p->commissioning_flow;
	pl.discovery = (uint8_t)p->discovery;
	pl.discriminator = id->discriminator;
	pl.passcode = id->passcode;
	char qr[PAYLOAD_QR_MAX], manual[PAYLOAD_MANUAL_MAX];
	if (payload_encode_qr(&pl, qr, sizeof qr, e) ||
	    payload_encode_manual(&pl, pl.flow != PAYLOAD_FLOW_STANDARD, manual, e))
		return -1;
	snprintf(id->qr, sizeof id->qr, "%.63s", qr);
	snprintf(id->manual, sizeof id->manual, "%s", manual);
	mbedtls_platform_zeroize(&pl, sizeof pl);
	return 0;
}

int gen_make_ds_key(struct identity *id, err_t *e)
{
	mbedtls_pk_context pk;
	mbedtls_pk_init(&pk);
	int rc = mbedtls_pk_setup(&pk, mbedtls_pk_info_from_type(MBEDTLS_PK_RSA));
	if (rc == 0)
		rc = mbedtls_rsa_gen_key(mbedtls_pk_rsa(pk), rng_mbedtls_callback, NULL, GEN_DS_RSA_BITS, 65537);
	uint8_t *der = NULL;
	size_t cap = 4096;
	int len = 0;
	if (rc == 0) {
		der = mem_alloc_zeroed(cap);
		len = mbedtls_pk_write_key_der(&pk, der, cap);
		if (len <= 0)
			rc = len ? len : -1;
	}
	if (rc == 0) {
		buf_wipe_data(&id->ds_rsa_key);
		/* mbedtls writes DER at the end of the buffer. */
		buf_append_bytes(&id->ds_rsa_key, der + cap - (size_t)len, (size_t)len);
	}
	if (der) {
		mbedtls_platform_zeroize(der, cap);
		free(der);
	}
	mbedtls_pk_free(&pk);
	if (rc)
		return err_set_msg(e, ERR_CHECK, "DS RSA key generation failed (mbedTLS -0x%04x)", (unsigned)-rc);
	return 0;
}

/* ---- images ---- */

static const struct plan_step *gen_write_step(const struct plan *plan, enum plan_source src)
{
	for (int i = 0; i < plan->n_steps; i++)
		if (plan->steps[i].kind == PLAN_STEP_WRITE && plan->steps[i].source == src)
			return &plan->steps[i];
	return NULL;
}

static const struct plan_step *gen_burn_step(const struct plan *plan, enum plan_key_role role)
{
	for (int i = 0; i < plan->n_steps; i++)
		if (plan->steps[i].kind == PLAN_STEP_BURN_KEY && plan->steps[i].key == role)
			return &plan->steps[i];
	return NULL;
}

static struct gen_key *gen_add_key(struct gen_output *out, const struct plan_step *s, const uint8_t *bytes,
				   size_t len)
{
	struct gen_key *k = &out->keys[out->n_keys++];
	k->role = s->key;
	k->block = s->block;
	k->purpose = s->purpose;
	memcpy(k->bytes, bytes, len);
	k->len = len;
	return k;
}

static int gen_build_secure_cert(const struct identity *id, const struct plan *plan, const struct plan_step *s,
				 buf_t *image, struct gen_output *out, err_t *e)
{
	struct seccert_spec spec;
	seccert_spec_init(&spec, id->chip);
	spec.no_integrity = true; /* as the Matter mfg tool writes it */
	spec.ecdsa_key_placeholder = true;
	spec.partition_size = s->size;
	struct seccert_output so;
	memset(&so, 0, sizeof so);
	int rc = -1;
	struct seccert_item *it;
	if (!seccert_spec_add_item(&spec, SECCERT_TYPE_CA_CERT, 0, id->pai_cert.data, id->pai_cert.len,
				   "PAI certificate", e) ||
	    !seccert_spec_add_item(&spec, SECCERT_TYPE_DEV_CERT, 0, id->dac_cert.data, id->dac_cert.len,
				   "DAC certificate", e))
		goto out;
	it = seccert_spec_add_item(&spec, SECCERT_TYPE_PRIV_KEY, 0, id->dac_key.data, id->dac_key.len, "DAC key", e);
	if (!it)
		goto out;
	if (plan->path == PROFILE_PATH_ECDSA_EFUSE) {
		it->key_kind = SECCERT_KEY_ECDSA_PERIPHERAL;
		snprintf(it->algorithm, sizeof it->algorithm, "ECDSA");
		it->key_size = 256;
		it->efuse_key_id = id->ecdsa_block;
	}
	const struct plan_step *ds = gen_burn_step(plan, PLAN_KEY_DS_HMAC);
	if (plan->path == PROFILE_PATH_DS && ds) {
		it = seccert_spec_add_item(&spec, SECCERT_TYPE_PRIV_KEY, 1, id->ds_rsa_key.data, id->ds_rsa_key.len,
					   "DS RSA key", e);
		if (!it)
			goto out;
		it->key_kind = SECCERT_KEY_RSA_DS;
		snprintf(it->algorithm, sizeof it->algorithm, "RSA");
		it->key_size = GEN_DS_RSA_BITS;
		it->efuse_key_id = ds->block;
		buf_append_bytes(&it->hmac_key, id->ds_hmac_key, sizeof id->ds_hmac_key);
	}
	if (seccert_build_tlv(&spec, &so, e))
		goto out;
	buf_append_bytes(image, so.image.data, so.image.len);
	for (size_t i = 0; i < so.hw_count; i++) {
		const struct seccert_hw_key *hw = &so.hw[i];
		const struct plan_step *bs =
			gen_burn_step(plan, hw->kind == SECCERT_KEY_RSA_DS ? PLAN_KEY_DS_HMAC : PLAN_KEY_ECDSA_DAC);
		if (!bs)
			continue;
		/* Key-file bytes, as `efuse burn-key` takes them; the eFuse writer reverses per purpose. */
		if (hw->kind == SECCERT_KEY_RSA_DS)
			gen_add_key(out, bs, hw->efuse_block, DS_HMAC_KEY_LEN);
		else
			gen_add_key(out, bs, hw->ecdsa_scalar, hw->ecdsa_scalar_len);
	}
	rc = 0;
out:
	seccert_output_free(&so);
	seccert_spec_free(&spec);
	return rc;
}

static int gen_fill_factory_list(const struct identity *id, const struct profile *p, struct nvs_list *l,
				 err_t *e)
{
	buf_t b64 = BUF_INIT, cd = BUF_INIT;
	int rc = -1;
	/* The mfg tool's order (--dac-in-secure-cert): commissionable data, device info, CD. */
	if (nvs_list_add_namespace(l, "chip-factory", e) ||
	    nvs_list_add_u32(l, "discriminator", id->discriminator, e) ||
	    nvs_list_add_u32(l, "iteration-count", id->iterations, e))
		goto out;
	hex_encode_base64(id->salt, id->salt_len, &b64);
	if (nvs_list_add_string(l, "salt", buf_terminate_str(&b64), e) ||
	    nvs_list_add_u32(l, "vendor-id", p->vendor_id, e) ||
	    nvs_list_add_string(l, "vendor-name", p->vendor_name, e) ||
	    nvs_list_add_u32(l, "product-id", p->product_id, e) ||
	    nvs_list_add_string(l, "product-name", p->product_name, e) ||
	    nvs_list_add_u32(l, "hardware-ver", p->hardware_version, e))
		goto out;
	if (p->hardware_version_string && nvs_list_add_string(l, "hw-ver-str", p->hardware_version_string, e))
		goto out;
	if (nvs_list_add_string(l, "mfg-date", id->mfg_date, e))
		goto out;
	if (id->has_rd_id_uid) {
		if (nvs_list_add_blob(l, "rd-id-uid", id->rd_id_uid, sizeof id->rd_id_uid, e))
			goto out;
	}
	if (nvs_list_add_string(l, "serial-num", id->serial, e))
		goto out;
	if (!id->has_verifier) {
		err_set_msg(e, ERR_CHECK, "the SPAKE2+ verifier was not computed");
		goto out;
	}
	b64.len = 0;
	hex_encode_base64(id->verifier, sizeof id->verifier, &b64);
	if (nvs_list_add_string(l, "verifier", buf_terminate_str(&b64), e))
		goto out;
	/* A CD for another product would pass every on-device check and fail only at commissioning. */
	if (cd_check_file(p->cd, p->vendor_id, p->product_id, e) || fileio_read_file(p->cd, &cd, e) ||
	    nvs_list_add_blob(l, "cert-dclrn", cd.data, cd.len, e))
		goto out;
	if (p->extra_nvs) {
		struct nvs_csv_parser cp;
		char *copy = mem_strdup(p->extra_nvs);
		char *slash = strrchr(copy, '/');
		if (slash)
			*slash = '\0';
		nvs_csv_init_parser(&cp, l, slash ? copy : NULL);
		int x = nvs_csv_parse_file(&cp, p->extra_nvs, e);
		nvs_csv_free_parser(&cp);
		free(copy);
		if (x)
			goto out;
	}
	rc = 0;
out:
	buf_free_data(&b64);
	buf_free_data(&cd);
	return rc;
}

static void gen_pad(buf_t *b, size_t size)
{
	if (b->len < size)
		buf_append_fill(b, 0xFF, size - b->len);
}

static struct gen_image *gen_new_image(struct gen_output *out, const struct plan_step *s)
{
	struct gen_image *img = &out->images[out->n_images++];
	memset(img, 0, sizeof *img);
	img->source = s->source;
	snprintf(img->label, sizeof img->label, "%s", s->label);
	img->offset = s->offset;
	img->encrypted = s->encrypted;
	return img;
}

static int gen_finish_image(const struct identity *id, const struct plan *plan, const struct plan_step *s,
			    struct gen_image *img, err_t *e)
{
	if (img->plain.len > s->size)
		return plan_check_fit(plan, s->source, img->plain.len, e);
	gen_pad(&img->plain, s->size);
	if (img->encrypted)
		return gen_encrypt_flash(id, plan, img->offset, img->plain.data, img->plain.len, &img->flash, e);
	if (!img->flash.len)
		buf_append_bytes(&img->flash, img->plain.data, img->plain.len);
	return 0;
}

int gen_build_images(const struct identity *id, const struct profile *p, const struct plan *plan,
		     struct gen_output *out, err_t *e)
{
	memset(out, 0, sizeof *out);
	const struct plan_step *s = gen_write_step(plan, PLAN_SRC_SECURE_CERT);
	if (s) {
		struct gen_image *img = gen_new_image(out, s);
		if (gen_build_secure_cert(id, plan, s, &img->plain, out, e) || gen_finish_image(id, plan, s, img, e))
			goto fail;
	}
	s = gen_write_step(plan, PLAN_SRC_FACTORY_NVS);
	if (s) {
		struct gen_image *img = gen_new_image(out, s);
		struct nvs_list l;
		nvs_list_init(&l);
		int rc = gen_fill_factory_list(id, p, &l, e);
		if (rc == 0)
			rc = nvs_write_partition(&l, s->size, 2, &img->plain, e);
		nvs_list_free(&l);
		if (rc)
			goto fail;
		gen_pad(&img->plain, s->size);
		if (plan->nvs_encryption) {
			/* NVS encryption (not flash encryption): the firmware decrypts it with nvs_keys. */
			buf_append_bytes(&img->flash, img->plain.data, img->plain.len);
			if (nvs_crypt_encrypt_partition(img->flash.data, img->flash.len, id->nvs_key, e))
				goto fail;
		}
		if (gen_finish_image(id, plan, s, img, e))
			goto fail;
	}
	s = gen_write_step(plan, PLAN_SRC_NVS_KEYS);
	if (s) {
		struct gen_image *img = gen_new_image(out, s);
		uint8_t part[NVS_CRYPT_KEYS_PART_LEN];
		nvs_crypt_make_keys_partition(id->nvs_key, part);
		buf_append_bytes(&img->plain, part, sizeof part);
		mbedtls_platform_zeroize(part, sizeof part);
		if (gen_finish_image(id, plan, s, img, e))
			goto fail;
	}
	s = gen_burn_step(plan, PLAN_KEY_FLASH_ENC);
	if (s && out->n_keys < 4)
		gen_add_key(out, s, id->fe_key, id->fe_key_len);
	s = gen_burn_step(plan, PLAN_KEY_SB_DIGEST);
	if (s) {
		buf_t d = BUF_INIT;
		if (fileio_read_file(p->secure_boot_digest, &d, e))
			goto fail;
		if (d.len != 32) {
			err_set_msg(e, ERR_CHECK, "%s: %zu bytes, a secure-boot key digest has 32",
				    p->secure_boot_digest, d.len);
			buf_free_data(&d);
			goto fail;
		}
		gen_add_key(out, s, d.data, d.len);
		buf_free_data(&d);
	}
	return 0;
fail:
	gen_output_free(out);
	return -1;
}

void gen_output_free(struct gen_output *out)
{
	for (int i = 0; i < out->n_images; i++) {
		buf_wipe_data(&out->images[i].plain);
		buf_wipe_data(&out->images[i].flash);
	}
	mbedtls_platform_zeroize(out, sizeof *out);
}

/* ---- flash encryption ---- */

static int gen_crypt_flash(const struct identity *id, const struct plan *plan, uint32_t offset,
			   const uint8_t *in, size_t len, buf_t *out, bool decrypt, err_t *e)
{
	if (plan->fe_scheme == PLAN_FE_NONE || !id->fe_key_len)
		return err_set_msg(e, ERR_CHECK, "no flash-encryption key in this plan");
	struct flashenc_params fp = {
		.scheme = plan->fe_scheme == PLAN_FE_ESP32_AES ? FLASHENC_ESP32_LEGACY : FLASHENC_AES_XTS,
		.key = id->fe_key,
		.key_len = id->fe_key_len,
		.address = offset,
		.flash_crypt_conf = 0xF,
	};
	out->len = 0;
	return decrypt ? flashenc_decrypt_data(&fp, in, len, out, e) : flashenc_encrypt_data(&fp, in, len, out, e);
}

int gen_encrypt_flash(const struct identity *id, const struct plan *plan, uint32_t offset, const uint8_t *in,
		      size_t len, buf_t *out, err_t *e)
{
	return gen_crypt_flash(id, plan, offset, in, len, out, false, e);
}

int gen_decrypt_flash(const struct identity *id, const struct plan *plan, uint32_t offset, const uint8_t *in,
		      size_t len, buf_t *out, err_t *e)
{
	return gen_crypt_flash(id, plan, offset, in, len, out, true, e);
}

/* ---- readback verification ---- */

static int gen_first_difference(const uint8_t *a, const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (a[i] != b[i])
			return (int)i;
	return -1;
}

static int gen_expect_entry(const struct seccert_image *img, unsigned type, unsigned subtype, const buf_t *want,
			    const char *what, err_t *e)
{
	const struct seccert_entry *en = seccert_find_entry(img, type, subtype);
	if (!en)
		return err_set_msg(e, ERR_CHECK, "verify esp_secure_cert: %s (type %u) missing", what, type);
	if (want && (en->value.len != want->len || memcmp(en->value.data, want->data, want->len)))
		return err_set_msg(e, ERR_CHECK, "verify esp_secure_cert: %s differs from the generated one "
				   "(%zu bytes read, %zu generated)", what, en->value.len, want->len);
	return 0;
}

static int gen_verify_secure_cert(const struct identity *id, const struct plan *plan, const uint8_t *plain,
				  size_t len, json_t **view, err_t *e)
{
	struct seccert_image img;
	memset(&img, 0, sizeof img);
	int rc = -1;
	if (seccert_parse_image(plain, len, 0, &img, e)) {
		err_prepend_context(e, "verify esp_secure_cert");
		goto out;
	}
	if (gen_expect_entry(&img, SECCERT_TYPE_CA_CERT, 0, &id->pai_cert, "PAI certificate", e) ||
	    gen_expect_entry(&img, SECCERT_TYPE_DEV_CERT, 0, &id->dac_cert, "DAC certificate", e))
		goto out;
	const struct seccert_entry *key = seccert_find_entry(&img, SECCERT_TYPE_PRIV_KEY, 0);
	if (!key) {
		err_set_msg(e, ERR_CHECK, "verify esp_secure_cert: the DAC key entry is missing");
		goto out;
	}
	if (plan->path == PROFILE_PATH_ECDSA_EFUSE) {
		const struct seccert_entry *cfg = seccert_find_entry(&img, SECCERT_TYPE_SEC_CFG, 0);
		if (!(key->flags & SECCERT_FLAG_ECDSA_PERIPHERAL) || key->length != 0) {
			err_set_msg(e, ERR_CHECK, "verify esp_secure_cert: the DAC key entry must carry the "
				    "eFuse flag and no key bytes (flags 0x%02x, %zu bytes)", key->flags, key->length);
			goto out;
		}
		if (!cfg || cfg->value.len < 1 || cfg->value.data[0] != (uint8_t)(id->ecdsa_block + 4)) {
			err_set_msg(e, ERR_CHECK, "verify esp_secure_cert: SEC_CFG does not name eFuse block %d",
				    id->ecdsa_block + 4);
			goto out;
		}
	} else if (gen_expect_entry(&img, SECCERT_TYPE_PRIV_KEY, 0, &id->dac_key, "DAC key", e)) {
		goto out;
	}
	if (plan->path == PROFILE_PATH_DS && id->ds_rsa_key.len &&
	    (gen_expect_entry(&img, SECCERT_TYPE_DS_DATA, 1, NULL, "DS data", e) ||
	     gen_expect_entry(&img, SECCERT_TYPE_DS_CONTEXT, 1, NULL, "DS context", e)))
		goto out;
	if (view)
		*view = seccert_describe_image(&img);
	rc = 0;
out:
	seccert_image_free(&img);
	return rc;
}

static int gen_expect_u32(const struct nvs_read_result *r, const char *key, uint32_t want, err_t *e)
{
	const struct nvs_read_value *v = nvs_read_find_value(r, "chip-factory", key);
	if (!v || v->type != NVS_TYPE_U32 || v->num != want)
		return err_set_msg(e, ERR_CHECK, "verify factory data: '%s' %s (expected %u)", key,
				   v ? "differs" : "missing", want);
	return 0;
}

static int gen_expect_bytes(const struct nvs_read_result *r, const char *key, enum nvs_type type,
			    const void *want, size_t n, err_t *e)
{
	const struct nvs_read_value *v = nvs_read_find_value(r, "chip-factory", key);
	if (!v || v->type != type || v->data.len != n || memcmp(v->data.data, want, n))
		return err_set_msg(e, ERR_CHECK, "verify factory data: '%s' %s", key, v ? "differs" : "missing");
	return 0;
}

static int gen_verify_factory(const struct identity *id, const uint8_t *plain, size_t len, json_t **view,
			      err_t *e)
{
	struct nvs_read_result r;
	memset(&r, 0, sizeof r);
	int rc = -1;
	buf_t b64 = BUF_INIT;
	if (nvs_read_partition(plain, len, &r, e))
		goto out;
	if (r.problem_count) {
		err_set_msg(e, ERR_CHECK, "verify factory data: %s", r.first_problem);
		goto out;
	}
	if (gen_expect_u32(&r, "discriminator", id->discriminator, e) ||
	    gen_expect_u32(&r, "iteration-count", id->iterations, e))
		goto out;
	hex_encode_base64(id->salt, id->salt_len, &b64);
	if (gen_expect_bytes(&r, "salt", NVS_TYPE_SZ, b64.data, b64.len + 1, e))
		goto out;
	b64.len = 0;
	hex_encode_base64(id->verifier, sizeof id->verifier, &b64);
	if (gen_expect_bytes(&r, "verifier", NVS_TYPE_SZ, b64.data, b64.len + 1, e) ||
	    gen_expect_bytes(&r, "serial-num", NVS_TYPE_SZ, id->serial, strlen(id->serial) + 1, e) ||
	    gen_expect_bytes(&r, "mfg-date", NVS_TYPE_SZ, id->mfg_date, strlen(id->mfg_date) + 1, e))
		goto out;
	if (id->has_rd_id_uid &&
	    gen_expect_bytes(&r, "rd-id-uid", NVS_TYPE_BLOB, id->rd_id_uid, sizeof id->rd_id_uid, e))
		goto out;
	if (!nvs_read_find_value(&r, "chip-factory", "cert-dclrn")) {
		err_set_msg(e, ERR_CHECK, "verify factory data: 'cert-dclrn' missing");
		goto out;
	}
	if (view)
		*view = nvs_read_to_json(&r);
	rc = 0;
out:
	buf_free_data(&b64);
	nvs_read_free(&r);
	return rc;
}

int gen_verify_image(const struct identity *id, const struct plan *plan, const struct gen_image *img,
		     const uint8_t *readback, size_t len, json_t **view, err_t *e)
{
	if (view)
		*view = NULL;
	size_t n = img->flash.len;
	if (len < n)
		return err_set_msg(e, ERR_CHECK, "verify %s: %zu bytes read back, %zu written", img->label, len, n);
	int at = gen_first_difference(readback, img->flash.data, n);
	if (at >= 0)
		return err_set_msg(e, ERR_CHECK, "verify %s: flash differs from what was written at 0x%x "
				   "(partition offset 0x%x)", img->label, img->offset + (unsigned)at, (unsigned)at);
	for (size_t i = n; i < len; i++)
		if (readback[i] != 0xFF)
			return err_set_msg(e, ERR_CHECK, "verify %s: byte 0x%zx after the image is not erased",
					   img->label, i);
	/* The device's view: decrypt what is on flash with the host's keys. */
	buf_t plain = BUF_INIT;
	int rc = -1;
	if (img->encrypted) {
		if (gen_decrypt_flash(id, plan, img->offset, readback, n, &plain, e))
			goto out;
	} else {
		buf_append_bytes(&plain, readback, n);
	}
	if (img->source == PLAN_SRC_FACTORY_NVS && plan->nvs_encryption &&
	    nvs_crypt_decrypt_partition(plain.data, plain.len, id->nvs_key, e))
		goto out;
	if (plain.len != img->plain.len || (at = gen_first_difference(plain.data, img->plain.data, plain.len)) >= 0) {
		err_set_msg(e, ERR_CHECK, "verify %s: decrypted content differs from the generated image at "
			    "offset 0x%x", img->label, at < 0 ? 0 : (unsigned)at);
		goto out;
	}
	switch (img->source) {
	case PLAN_SRC_SECURE_CERT:
		rc = gen_verify_secure_cert(id, plan, plain.data, plain.len, view, e);
		break;
	case PLAN_SRC_FACTORY_NVS:
		rc = gen_verify_factory(id, plain.data, plain.len, view, e);
		break;
	case PLAN_SRC_NVS_KEYS: {
		uint8_t key[NVS_CRYPT_KEY_LEN];
		int crc_ok = 0;
		rc = nvs_crypt_parse_keys_partition(plain.data, plain.len, key, &crc_ok, e);
		if (rc == 0 && (!crc_ok || memcmp(key, id->nvs_key, sizeof key)))
			rc = err_set_msg(e, ERR_CHECK, "verify %s: the NVS key %s", img->label,
					 crc_ok ? "differs from the generated one" : "has a bad CRC");
		mbedtls_platform_zeroize(key, sizeof key);
		if (rc == 0 && view)
			*view = json_pack("{s:s, s:b}", "nvs_keys", "64-byte XTS key (not shown)", "crc_ok", crc_ok);
		break;
	}
	default:
		rc = 0;
		break;
	}
out:
	buf_wipe_data(&plain);
	return rc;
}
