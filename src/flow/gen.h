/* gen: the generate and verify halves of a provisioning run, on top of the format and crypto
 * modules: a device's DAC, SPAKE2+ verifier, onboarding payload and DS RSA key; the images the
 * plan writes (esp_secure_cert, Matter factory NVS, nvs_keys), flash-encrypted where the plan
 * says; the app's partition table as plan rows; and the field-by-field readback comparison. */
#ifndef ESPFAB_FLOW_GEN_H
#define ESPFAB_FLOW_GEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "core/buf.h"
#include "core/err.h"
#include "flow/identity.h"
#include "flow/plan.h"
#include "flow/profile.h"

#define GEN_MAX_PARTS 95

/* The profile's partitions.csv as plan rows; *parts is malloc'd. */
int gen_load_layout(const struct profile *p, struct plan_partition **parts, int *n, err_t *e);

/* DAC: a fresh P-256 key and certificate (CN = id->uuid, VID/PID) signed by the profile's PAI,
 * or the next unused pre-made DAC of the profile's dac_dir (claimed for this device's MAC). */
int gen_make_dac(struct identity *id, const struct profile *p, err_t *e);
/* The same for a dry run: from a dac_dir, the DAC the next real run would claim, left unclaimed
 * (a dry run must not use up a pre-made DAC). */
int gen_preview_dac(struct identity *id, const struct profile *p, err_t *e);
int gen_make_verifier(struct identity *id, err_t *e);
/* QR string and 11/21-digit manual code into id->qr / id->manual. */
int gen_make_payload(struct identity *id, const struct profile *p, err_t *e);
/* The RSA device key the DS peripheral will hold (ds path only). */
int gen_make_ds_key(struct identity *id, err_t *e);

/* One image of the plan: the plaintext (what the firmware reads) and the bytes written to
 * flash (ciphertext when the step is encrypted, else equal to plain). */
struct gen_image {
	enum plan_source source;
	char label[17];
	uint32_t offset;
	bool encrypted;
	buf_t plain;
	buf_t flash;
};

/* The eFuse key bytes for a burn step, as they go into the block (already reversed where the
 * purpose wants it). Secret. */
struct gen_key {
	enum plan_key_role role;
	int block;
	uint8_t purpose;
	uint8_t bytes[32];
	size_t len;
};

struct gen_output {
	struct gen_image images[4]; /* secure cert, factory NVS, nvs_keys */
	int n_images;
	struct gen_key keys[4];
	int n_keys;
};

/* Builds every identity image the plan writes and the key bytes its burn steps need. */
int gen_build_images(const struct identity *id, const struct profile *p, const struct plan *plan,
		     struct gen_output *out, err_t *e);
void gen_output_free(struct gen_output *out);

/* Host-side flash encryption of data at a flash offset with the identity's key and the plan's
 * scheme (what the firmware images need too). */
int gen_encrypt_flash(const struct identity *id, const struct plan *plan, uint32_t offset,
		      const uint8_t *in, size_t len, buf_t *out, err_t *e);
int gen_decrypt_flash(const struct identity *id, const struct plan *plan, uint32_t offset,
		      const uint8_t *in, size_t len, buf_t *out, err_t *e);

/* Readback verification of one image: the flash bytes must equal what was written (the rest of
 * the partition erased); encrypted ones are decrypted with the host key; then the contents are
 * decoded (TLV entries, NVS values) and compared field by field with what was generated. view
 * receives the decoded readback for the front end (may be NULL). */
int gen_verify_image(const struct identity *id, const struct plan *plan, const struct gen_image *img,
		     const uint8_t *readback, size_t len, json_t **view, err_t *e);

#endif
