/* identity: everything that makes one device unique (serial, passcode, discriminator, SPAKE2+
 * salt and verifier, rotating-id UID, DAC and its key, per-path hardware keys: DS HMAC key and
 * RSA key, flash-encryption key, NVS encryption key), drawn from the one RNG and persisted to the
 * device folder (0600, atomic, fsynced; identity.json written last as the commit mark) BEFORE
 * anything touches the chip, so a crash never loses an identity a device may already carry. */
#ifndef ESPFAB_FLOW_IDENTITY_H
#define ESPFAB_FLOW_IDENTITY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"
#include "flow/journal.h"
#include "flow/plan.h"
#include "flow/profile.h"

#define IDENTITY_SALT_LEN 32
#define IDENTITY_VERIFIER_LEN 97
#define IDENTITY_RDID_LEN 16
#define IDENTITY_MAX_FILES 12

struct identity {
	/* who */
	char chip[16];
	uint8_t mac[6];
	int64_t seq;
	char serial[40];
	char uuid[37];      /* DAC subject CN and the device folder's name, as the mfg tool does */
	char mfg_date[11];  /* YYYY-MM-DD */
	char folder[512];

	/* commissioning (the passcode is a secret: only in the 0600 identity.json) */
	uint32_t passcode;
	uint16_t discriminator;
	uint32_t iterations;
	uint8_t salt[IDENTITY_SALT_LEN];
	size_t salt_len;
	uint8_t verifier[IDENTITY_VERIFIER_LEN];
	bool has_verifier;
	uint8_t rd_id_uid[IDENTITY_RDID_LEN];
	bool has_rd_id_uid;
	char qr[64];
	char manual[32];

	/* attestation */
	buf_t dac_cert;     /* DER */
	buf_t pai_cert;     /* DER */
	buf_t dac_key;      /* SEC1 DER: secret */

	/* path keys: secrets */
	enum profile_path path;
	uint8_t fe_key[32];
	size_t fe_key_len;  /* 0: no flash encryption; 32, or 16 (ESP32-C2 derived) */
	uint8_t ds_hmac_key[32];
	bool has_ds_hmac_key;
	buf_t ds_rsa_key;   /* DER of the RSA device key the DS peripheral uses */
	uint8_t nvs_key[64];
	bool has_nvs_key;
	int ecdsa_block;    /* BLOCK_KEYn of the ECDSA DAC key, -1 when none */
};

void identity_init(struct identity *id);
/* Wipes every secret and frees the buffers. */
void identity_free(struct identity *id);

/* Draws the identity's random parts for a device: passcode and discriminator (random, or the
 * profile's fixed development values), salt, rotating-id UID, UUID, serial from the profile's
 * pattern, mfg date (profile's, else today UTC), and the keys the plan needs (FE key sized for
 * the plan's scheme, DS HMAC key, NVS key). The DAC, verifier, RSA key and payload are added by
 * the engine with the crypto modules. */
int identity_draw(struct identity *id, const struct profile *p, const struct plan *plan,
		  const char *chip, const uint8_t mac[6], int64_t seq, err_t *e);

/* A uniformly drawn valid Matter passcode (1..99999998, not a forbidden one) as the mfg tool
 * draws it; and a discriminator 0..0xFFF. */
uint32_t identity_draw_passcode(void);
uint16_t identity_draw_discriminator(void);

/* The device folder: <output_dir>/<vid>_<pid>/<uuid> (the mfg tool's layout). */
void identity_make_folder_name(const struct profile *p, const char *uuid, char *out, size_t n);

/* Writes every file (key files 0600, certificates 0644) into id->folder, fsynced, then
 * identity.json (0600) last. files/n_files receive the list for the journal (paths, never
 * key material). */
int identity_save(const struct identity *id, struct journal_file files[IDENTITY_MAX_FILES],
		  int *n_files, err_t *e);
/* Reads an identity back from its folder (resume). Missing identity.json = not saved. */
int identity_load(const char *folder, struct identity *id, err_t *e);
/* True when the folder holds a committed identity. */
bool identity_exists(const char *folder);

#endif
