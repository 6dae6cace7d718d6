/* seccert_build: an esp_secure_cert image from a list of items, with the semantics of
 * configure_esp_secure_cert.py (esp_secure_cert_tool 2.6.1): certificates and keys re-encoded,
 * DS (RSA) keys replaced by DS_DATA/DS_CONTEXT, ECDSA-peripheral keys flagged and recorded in
 * SEC_CFG, entries in the tool's order, INTEGRITY last. The CLI fills the spec from options and
 * the tool's CSV; the provisioning engine fills it in memory. */
#ifndef ESPFAB_FORMATS_SECCERT_BUILD_H
#define ESPFAB_FORMATS_SECCERT_BUILD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"
#include "crypto/ds.h"
#include "crypto/ecdsa_efuse.h"

enum seccert_key_kind {
	SECCERT_KEY_PLAINTEXT = 0,     /* key stored in the partition (traditional PEM/DER) */
	SECCERT_KEY_RSA_DS,            /* RSA key kept only as DS ciphertext */
	SECCERT_KEY_ECDSA_PERIPHERAL,  /* EC key burned into eFuse, PRIV_KEY flagged 0x08 */
};

struct seccert_item {
	unsigned type;
	unsigned subtype;
	buf_t data;             /* cert/key file bytes (PEM or DER) or the raw value; owned */
	char source[256];       /* names the input in messages (file, CSV line) */
	enum seccert_key_kind key_kind;  /* PRIV_KEY only */
	char algorithm[8];      /* "RSA", "ECDSA" or "" */
	unsigned key_size;      /* declared key size in bits (0: not given) */
	int efuse_key_id;       /* -1: not given */
	buf_t hmac_key;         /* RSA DS: 32-byte HMAC key; empty: one is generated */
	bool hmac_key_given;    /* hmac_key was read from a file (then it must hold 32 bytes) */
};

struct seccert_spec {
	char chip[16];
	struct seccert_item *items;
	size_t count;
	const char *key_password;   /* for encrypted private keys, or NULL */
	bool ds_iv_fixed;           /* use ds_iv instead of drawing one per DS key */
	uint8_t ds_iv[DS_IV_LEN];
	bool no_integrity;          /* leave out the INTEGRITY TLV (older tool versions) */
	size_t partition_size;      /* 0: 0x2000 (TLV) / 0x6000 (legacy) */
	/* ECDSA-peripheral keys: store a zero-length PRIV_KEY value (flags 0x08) instead of the
	 * PEM copy of the key that configure_esp_secure_cert 2.6.1 writes into flash. */
	bool ecdsa_key_placeholder;
};

/* Key material the caller must burn into eFuse (and may keep as side files). Secret. */
struct seccert_hw_key {
	enum seccert_key_kind kind;       /* RSA_DS or ECDSA_PERIPHERAL */
	unsigned subtype;
	unsigned efuse_key_id;            /* BLOCK_KEYk */
	const char *purpose;              /* "HMAC_DOWN_DIGITAL_SIGNATURE" or "ECDSA_KEY" */
	uint8_t efuse_block[32];          /* bytes of BLOCK_KEYk, byte 0 first */
	bool hmac_generated;              /* RSA DS: the HMAC key was drawn here */
	uint8_t ecdsa_scalar[32];         /* ECDSA: big-endian private scalar (ecdsa_key.bin) */
	size_t ecdsa_scalar_len;
	unsigned rsa_bits;
};

#define SECCERT_MAX_HW_KEYS 6

struct seccert_output {
	buf_t image;
	struct seccert_hw_key hw[SECCERT_MAX_HW_KEYS];
	size_t hw_count;
};

void seccert_spec_init(struct seccert_spec *s, const char *chip);
void seccert_spec_free(struct seccert_spec *s);
/* Adds an item (data copied); refuses a (type, subtype) already in the spec. Returns the item
 * to fill in key fields, or NULL with e set. */
struct seccert_item *seccert_spec_add_item(struct seccert_spec *s, unsigned type, unsigned subtype,
					   const void *data, size_t len, const char *source,
					   err_t *e);
/* Reads the tool's CSV (tlv_type,tlv_subtype,data_value,data_type,priv_key_type,algorithm,
 * key_size,efuse_id,efuse_key); file names are relative to the current directory. */
int seccert_spec_add_csv(struct seccert_spec *s, const char *csv_path, err_t *e);

/* Builds the TLV image. out is overwritten (free a previous result first); on failure it holds
 * nothing that needs freeing. */
int seccert_build_tlv(const struct seccert_spec *s, struct seccert_output *out, err_t *e);
/* Builds the legacy 0x6000 cust_flash image (dev cert, CA cert, then key or DS ciphertext). */
int seccert_build_legacy(const struct seccert_spec *s, struct seccert_output *out, err_t *e);
void seccert_output_free(struct seccert_output *out);

#endif
